// test_agent_e2e.cc - 'mcapkit agent' end to end against 'mcapkit serve' started on a
// free loopback port: a writer process that writes recordings slowly in pieces and
// splits them (each arrives exactly once and reconciles clean), a file cut mid-chunk
// and left (recovered after --stale-after, the loss reported, the original untouched),
// the agent killed with SIGKILL during an upload and restarted (no duplicate: the
// server's own count of received uploads), 20 % server faults and 429s,
// --delete-after-verify deleting only verified files, a disk short of room (paused,
// not failed), SIGTERM (clean stop, the transfer checkpointed), NOTIFY_SOCKET
// readiness seen by a test socket, and --max-rate.
//
// Files are tiny and --settle/--rescan small, so each test takes a few seconds;
// waits poll 'mcapkit agent status --json' against generous deadlines.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "fake_http.h"
#include "ros_writers.h"
#include "run.h"
#include "tmpdir.h"

using namespace mcapkit_test;

namespace {

const std::string kKey = "fox_sk_agent_test_key_7a7a7a7a";

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

struct AgentSite {
  TempDir tmp;
  std::unique_ptr<ServeProcess> serve;
  std::string key_file, rec, state;
  int agents = 0;

  explicit AgentSite(const std::vector<std::string> &serve_extra = {}) {
    serve = std::make_unique<ServeProcess>(tmp.file("data"), serve_extra, kKey);
    key_file = tmp.file("api.key");
    write_file_or_throw(key_file, kKey + "\n");
    chmod(key_file.c_str(), 0600);
    rec = tmp.file("rec");
    mkdir(rec.c_str(), 0755);
    state = rec + "/.mcapkit";
  }

  std::vector<std::string> agent_argv(const std::vector<std::string> &extra) const {
    std::vector<std::string> v = {mcapkit_path(), "agent",       "--watch", rec,
                                  "--device-name", "robot-1",    "--api-url", serve->url(),
                                  "--api-key-file", key_file,    "--settle", "0.3",
                                  "--rescan",      "1",          "--retry-delay", "0.5",
                                  "--json"};
    v.insert(v.end(), extra.begin(), extra.end());
    return v;
  }

  // Start the agent in the background; its stderr (the NDJSON log) goes to *log_path.
  std::unique_ptr<BackgroundProcess> start(const std::vector<std::string> &extra = {},
                                           std::string *log_path = nullptr,
                                           const std::vector<std::string> &env = {}) {
    agents++;
    std::string out = tmp.file("agent" + std::to_string(agents) + ".out");
    std::string err = tmp.file("agent" + std::to_string(agents) + ".log");
    if (log_path) *log_path = err;
    std::vector<std::string> e = {"MCAPKIT_HTTP_BACKOFF=0.05"};
    e.insert(e.end(), env.begin(), env.end());
    return std::make_unique<BackgroundProcess>(agent_argv(extra), out, err, e);
  }

  Json status() const {
    RunResult r = run_mcapkit({"agent", "status", "--state", state, "--json"});
    if (r.exit_code != 0 && r.exit_code != 3) throw std::runtime_error("agent status: " + r.err);
    return Json::parse(r.out);
  }

  // Poll the status until pred holds or timeout; returns the last status.
  bool wait_status(const std::function<bool(const Json &)> &pred, double timeout_s,
                   Json *last = nullptr) const {
    double until = now_s() + timeout_s;
    for (;;) {
      Json j;
      bool have = false;
      try {
        j = status();
        have = true;
      } catch (const std::exception &) {
        // the state folder may not exist yet
      }
      if (have && last) *last = j;
      if (have && pred(j)) return true;
      if (now_s() > until) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }

  uint64_t remote_count(const std::vector<std::string> &what) const {
    std::vector<std::string> args = {"remote"};
    args.insert(args.end(), what.begin(), what.end());
    args.insert(args.end(), {"--json", "--api-url", serve->url(), "--api-key-file", key_file});
    RunResult r = run_mcapkit(args);
    if (r.exit_code != 0) throw std::runtime_error("remote: " + r.err);
    return Json::parse(r.out)["count"].u64();
  }
  // Uploads the server received (each PUT that went through is one pending import).
  uint64_t uploads_received() const {
    return remote_count({"pending-imports", "--show-completed", "--show-quarantined"});
  }
  uint64_t recordings() const { return remote_count({"recordings"}); }

  // A recording made outside the watched folder.
  std::string synth(const std::string &name, int seed, const std::vector<std::string> &extra = {},
                    const std::string &duration = "2") const {
    std::string f = tmp.file(name);
    std::vector<std::string> args = {"synth", "-o", f, "--profile", "tiny", "--duration", duration,
                                     "--seed", std::to_string(seed)};
    args.insert(args.end(), extra.begin(), extra.end());
    RunResult r = run_mcapkit(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return f;
  }
};

const Json *find_entry(const Json &st, const std::string &path) {
  const Json &recs = st["recordings"];
  for (size_t i = 0; i < recs.size(); i++)
    if (recs[i]["path"].str() == path) return &recs[i];
  return nullptr;
}

std::string entry_state(const Json &st, const std::string &path) {
  const Json *e = find_entry(st, path);
  return e ? (*e)["state"].str() : "";
}

uint64_t count(const Json &st, const std::string &what) { return st["counts"][what].u64(); }

int count_events(const std::string &log, const std::string &event) {
  std::istringstream ss(log);
  std::string line;
  int n = 0;
  while (std::getline(ss, line)) {
    if (line.empty() || line[0] != '{') continue;
    try {
      if (Json::parse(line)["event"].str() == event) n++;
    } catch (const std::exception &) {
    }
  }
  return n;
}

// Copy `srcs` into `dir` one after another, each in `pieces` appends with `pause_ms`
// between them (open, write, close: every piece is an IN_CLOSE_WRITE), in a child
// process, as a recorder that splits its recording would. Returns the child's pid.
pid_t writer_process(const std::vector<std::pair<std::string, std::string>> &files, int pieces,
                     int pause_ms) {
  std::vector<std::string> data;
  for (const auto &f : files) data.push_back(read_file_or_throw(f.first));
  pid_t pid = fork();
  if (pid != 0) return pid;
  for (size_t i = 0; i < files.size(); i++) {
    const std::string &d = data[i];
    size_t step = d.size() / static_cast<size_t>(pieces) + 1;
    for (size_t off = 0; off < d.size(); off += step) {
      int fd = open(files[i].second.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (fd < 0) _exit(1);
      size_t n = std::min(step, d.size() - off);
      if (write(fd, d.data() + off, n) != static_cast<ssize_t>(n)) _exit(1);
      close(fd);
      usleep(static_cast<useconds_t>(pause_ms) * 1000);
    }
  }
  _exit(0);
}

int wait_child(pid_t pid) {
  int st = 0;
  waitpid(pid, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

}  // namespace

TEST(AgentE2E, WriterInPiecesEachRecordingArrivesOnceAndReconciles) {
  AgentSite s;
  ASSERT_TRUE(s.serve->ok()) << s.serve->log();
  std::vector<std::pair<std::string, std::string>> files;
  for (int i = 0; i < 3; i++) {
    std::string src = s.synth("part" + std::to_string(i) + ".mcap", 10 + i, {"--chunk-size", "1K"});
    files.emplace_back(src, s.rec + "/rec_" + std::to_string(i) + ".mcap");
  }
  std::string log;
  auto agent = s.start({}, &log);
  pid_t writer = writer_process(files, 4, 60);
  EXPECT_EQ(wait_child(writer), 0);
  Json st;
  ASSERT_TRUE(s.wait_status([](const Json &j) { return count(j, "verified") == 3; }, 90, &st))
      << read_file_or_throw(log);
  for (const auto &f : files) {
    const Json *e = find_entry(st, f.second);
    ASSERT_NE(e, nullptr) << f.second;
    EXPECT_EQ((*e)["state"].str(), "verified");
    EXPECT_FALSE((*e)["lost"].boolean());
    // the platform's copy reconciles clean against the file (done by the agent; again here)
    RunResult rc = run_mcapkit({"reconcile", f.second, "--recording", (*e)["key"].str(),
                                "--device-name", "robot-1", "--api-url", s.serve->url(),
                                "--api-key-file", s.key_file});
    EXPECT_EQ(rc.exit_code, 0) << rc.out << rc.err;
  }
  EXPECT_EQ(s.recordings(), 3u);
  EXPECT_EQ(s.uploads_received(), 3u);  // exactly one upload per recording
  agent->kill_now(SIGTERM);
  EXPECT_EQ(agent->wait(60), 0);
  std::string text = read_file_or_throw(log);
  EXPECT_EQ(count_events(text, "verified"), 3) << text;
  EXPECT_EQ(count_events(text, "failed"), 0) << text;
  EXPECT_EQ(count_events(text, "stale"), 0) << text;  // half-written files were waited for
  EXPECT_EQ(count_events(text, "stopped"), 1) << text;

  // a restart finds everything verified: nothing is sent again
  RunResult again = run_program(s.agent_argv({"--once"}));
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(count_events(again.err, "uploading"), 0) << again.err;
  EXPECT_EQ(s.uploads_received(), 3u);
}

// With no rescan in the test's time (--rescan 600), inotify alone finds a file renamed into
// the folder (IN_MOVED_TO, from a hidden name, which is skipped), a file in a subfolder made
// after the start and a ROS 1 bag (--convert); --exclude-topic drops a topic from what the
// platform gets.
TEST(AgentE2E, InotifyFindsMovesNewSubfoldersAndBagsAndExcludesTopics) {
  AgentSite s;
  ASSERT_TRUE(s.serve->ok()) << s.serve->log();
  std::string moved_src = s.synth("m.mcap", 51), sub_src = s.synth("n.mcap", 52);
  std::string log;
  auto agent = s.start({"--rescan", "600", "--convert", "--exclude-topic", "^/chatter$"}, &log);
  // the folders are watched once 'started' is logged
  for (double until = now_s() + 30; count_events(read_file_or_throw(log), "started") == 0;) {
    ASSERT_LT(now_s(), until) << read_file_or_throw(log);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::string hidden = s.rec + "/.moved.mcap.part", moved = s.rec + "/moved.mcap";
  write_file_or_throw(hidden, read_file_or_throw(moved_src));
  ASSERT_EQ(rename(hidden.c_str(), moved.c_str()), 0);
  ASSERT_EQ(mkdir((s.rec + "/day2").c_str(), 0755), 0);
  std::string sub = s.rec + "/day2/late.mcap";
  write_file_or_throw(sub, read_file_or_throw(sub_src));
  std::string other = s.rec + "/other.mcap.tmp";  // matches no --pattern: never looked at
  write_file_or_throw(other, read_file_or_throw(sub_src));
  std::string bag = s.rec + "/run.bag";
  {
    Ros1BagWriter w(bag);
    w.add_connection({1, "/chatter", "std_msgs/String", "992ce8a1687cec8c8bd883ec73ca41d1",
                      "string data\n", "", ""});
    w.add_connection({2, "/odom", "std_msgs/String", "992ce8a1687cec8c8bd883ec73ca41d1",
                      "string data\n", "", ""});
    for (uint32_t i = 0; i < 20; i++) {
      std::string text = "msg " + std::to_string(i);
      std::string d(4, '\0');
      d[0] = static_cast<char>(text.size());
      w.write(1 + i % 2, 1000000000ull + i * 100000000ull, d + text);
    }
    w.close();
  }
  Json st;
  ASSERT_TRUE(s.wait_status(
      [&](const Json &j) {
        return entry_state(j, moved) == "verified" && entry_state(j, sub) == "verified" &&
               entry_state(j, bag) == "verified";
      },
      60, &st))
      << read_file_or_throw(log);
  EXPECT_EQ(find_entry(st, hidden), nullptr);
  EXPECT_EQ(find_entry(st, other), nullptr);
  EXPECT_EQ(s.uploads_received(), 3u);
  agent->kill_now(SIGTERM);
  EXPECT_EQ(agent->wait(60), 0);
  std::string text = read_file_or_throw(log);
  EXPECT_EQ(count_events(text, "converted"), 1) << text;
  // the platform has /pose of the moved file, not /chatter; the bag's /odom only
  for (const std::string &p : {moved, bag}) {
    RunResult t = run_mcapkit({"remote", "topics", "--recording-key", (*find_entry(st, p))["key"].str(),
                               "--json", "--api-url", s.serve->url(), "--api-key-file", s.key_file});
    ASSERT_EQ(t.exit_code, 0) << t.err;
    EXPECT_EQ(t.out.find("/chatter"), std::string::npos) << t.out;
    EXPECT_NE(t.out.find(p == bag ? "/odom" : "/pose"), std::string::npos) << t.out;
  }
}

TEST(AgentE2E, FileCutMidChunkIsRecoveredAfterStaleAfter) {
  AgentSite s;
  ASSERT_TRUE(s.serve->ok()) << s.serve->log();
  std::string src = s.synth("long.mcap", 3, {"--chunk-size", "4K", "-c", "none"}, "10");
  std::string data = read_file_or_throw(src);
  // cut in the middle of a chunk, about 60 % in
  std::string cut = data.substr(0, data.size() * 6 / 10);
  std::string path = s.rec + "/killed.mcap";
  write_file_or_throw(path, cut);
  std::string log;
  auto agent = s.start({"--stale-after", "0.6"}, &log);
  Json st;
  ASSERT_TRUE(s.wait_status([&](const Json &j) { return entry_state(j, path) == "verified"; }, 90,
                            &st))
      << read_file_or_throw(log);
  const Json *e = find_entry(st, path);
  ASSERT_NE(e, nullptr);
  EXPECT_TRUE((*e)["stale"].boolean());
  EXPECT_TRUE((*e)["lost"].boolean());
  EXPECT_NE((*e)["reason"].str().find("lost"), std::string::npos) << (*e)["reason"].str();
  EXPECT_EQ(read_file_or_throw(path), cut);  // the original is left alone
  EXPECT_EQ(s.recordings(), 1u);
  EXPECT_EQ(s.uploads_received(), 1u);
  agent->kill_now(SIGTERM);
  EXPECT_EQ(agent->wait(60), 0);
  std::string text = read_file_or_throw(log);
  EXPECT_EQ(count_events(text, "stale"), 1) << text;
  EXPECT_EQ(count_events(text, "recovered"), 1) << text;
  // the recovered copy was removed once verified
  struct stat sb;
  EXPECT_NE(stat((s.state + "/work/1").c_str(), &sb), 0);
}

TEST(AgentE2E, KilledDuringUploadRestartsWithoutDuplicate) {
  AgentSite s;
  ASSERT_TRUE(s.serve->ok()) << s.serve->log();
  std::string src = s.synth("big.mcap", 4, {"--chunk-size", "8K"}, "2000");
  std::string path = s.rec + "/big.mcap";
  write_file_or_throw(path, read_file_or_throw(src));
  uint64_t size = read_file_or_throw(path).size();
  ASSERT_GT(size, 1500000u);
  std::string log;
  auto agent = s.start({"--max-rate", "400K"}, &log);  // about 4 s for the upload
  Json st;
  ASSERT_TRUE(s.wait_status(
      [&](const Json &j) {
        const Json *e = find_entry(j, path);
        return e && (*e)["state"].str() == "uploading" && (*e)["bytes_sent"].u64() > 0;
      },
      60, &st))
      << read_file_or_throw(log);
  // --max-rate holds (loopback alone would send the file in milliseconds): the agent's
  // own rate of the upload, taken over its first whole second (curl's first burst in it)
  ASSERT_TRUE(s.wait_status(
      [&](const Json &j) {
        const Json *e = find_entry(j, path);
        return e && (*e)["rate"].num() > 0;
      },
      60, &st))
      << read_file_or_throw(log);
  const Json *e = find_entry(st, path);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ((*e)["state"].str(), "uploading");
  EXPECT_LT((*e)["bytes_sent"].u64(), size);
  EXPECT_LE((*e)["rate"].num(), 600000.0);
  agent->kill_now(SIGKILL);
  EXPECT_EQ(agent->wait(30), 128 + SIGKILL);
  EXPECT_EQ(s.uploads_received(), 0u);  // the cut transfer did not count
  // the journal says it was uploading
  Json after = s.status();
  EXPECT_FALSE(after["running"].boolean());
  EXPECT_EQ(entry_state(after, path), "uploading");
  auto again = s.start({}, &log);
  ASSERT_TRUE(s.wait_status([&](const Json &j) { return entry_state(j, path) == "verified"; }, 90))
      << read_file_or_throw(log);
  EXPECT_EQ(s.uploads_received(), 1u);
  EXPECT_EQ(s.recordings(), 1u);
  // killed once more after it was verified and restarted: still one upload
  again->kill_now(SIGKILL);
  again->wait(30);
  RunResult third = run_program(s.agent_argv({"--once"}));
  EXPECT_EQ(third.exit_code, 0) << third.err;
  EXPECT_EQ(s.uploads_received(), 1u);
}

TEST(AgentE2E, ServerFaultsAnd429sStillExactlyOnce) {
  // 20 % faults; 429s both from the rate limit and from the throttle fault, which answers 429
  // whatever the agent's pace (a slowed machine never reaches the rate limit)
  AgentSite s({"--faults", "error=0.15,reset=0.05,throttle=0.05", "--fault-seed", "7",
               "--rate-limit", "15"});
  ASSERT_TRUE(s.serve->ok()) << s.serve->log();
  const int n = 5;
  for (int i = 0; i < n; i++) {
    std::string src = s.synth("f" + std::to_string(i) + ".mcap", 40 + i);
    write_file_or_throw(s.rec + "/f" + std::to_string(i) + ".mcap", read_file_or_throw(src));
  }
  std::string log;
  auto agent = s.start({"--parallel", "2"}, &log);
  ASSERT_TRUE(s.wait_status([&](const Json &j) { return count(j, "verified") == n; }, 180))
      << read_file_or_throw(log);
  agent->kill_now(SIGTERM);
  EXPECT_EQ(agent->wait(60), 0);
  // the remote lists go through the same faults: the client retries them
  EXPECT_EQ(s.recordings(), static_cast<uint64_t>(n));
  EXPECT_EQ(s.uploads_received(), static_cast<uint64_t>(n));
}

TEST(AgentE2E, DeleteAfterVerifyDeletesOnlyVerifiedFiles) {
  AgentSite s;
  ASSERT_TRUE(s.serve->ok()) << s.serve->log();
  std::string good1 = s.rec + "/good1.mcap", good2 = s.rec + "/sub/good2.mcap";
  mkdir((s.rec + "/sub").c_str(), 0755);
  write_file_or_throw(good1, read_file_or_throw(s.synth("g1.mcap", 21)));
  write_file_or_throw(good2, read_file_or_throw(s.synth("g2.mcap", 22)));
  // a damaged file with a valid end: the doctor refuses it
  std::string bad = s.rec + "/bad.mcap";
  std::string b = read_file_or_throw(s.synth("b.mcap", 23, {"-c", "none"}, "10"));
  for (size_t i = b.size() / 3; i < b.size() / 3 + 64; i++) b[i] = static_cast<char>(b[i] ^ 0x5a);
  write_file_or_throw(bad, b);
  RunResult doc = run_mcapkit({"doctor", bad});
  ASSERT_EQ(doc.exit_code, 3) << doc.out;
  // a stale file: recovered and uploaded, its original kept
  std::string stale = s.rec + "/stale.mcap";
  std::string sd = read_file_or_throw(s.synth("s.mcap", 24, {"--chunk-size", "2K"}, "20"));
  write_file_or_throw(stale, sd.substr(0, sd.size() / 2));
  std::string log;
  auto agent = s.start({"--delete-after-verify", "--stale-after", "0.6"}, &log);
  Json st;
  ASSERT_TRUE(s.wait_status(
      [&](const Json &j) {
        return entry_state(j, good1) == "deleted" && entry_state(j, good2) == "deleted" &&
               entry_state(j, bad) == "refused" && entry_state(j, stale) == "verified";
      },
      90, &st))
      << read_file_or_throw(log);
  agent->kill_now(SIGTERM);
  EXPECT_EQ(agent->wait(60), 0);
  struct stat sb;
  EXPECT_NE(stat(good1.c_str(), &sb), 0);
  EXPECT_NE(stat(good2.c_str(), &sb), 0);
  EXPECT_EQ(read_file_or_throw(bad), b);  // refused: kept as it was
  EXPECT_EQ(read_file_or_throw(stale).size(), sd.size() / 2);  // stale original: kept
  EXPECT_EQ(s.recordings(), 3u);
  EXPECT_EQ(s.uploads_received(), 3u);
  std::string text = read_file_or_throw(log);
  EXPECT_EQ(count_events(text, "deleted"), 2) << text;
  EXPECT_EQ(count_events(text, "refused"), 1) << text;
  RunResult table = run_mcapkit({"agent", "status", "--state", s.state});
  EXPECT_EQ(table.exit_code, 3) << table.out;  // a refused recording is a problem to see
  EXPECT_NE(table.out.find("refused"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("the doctor found"), std::string::npos) << table.out;
}

TEST(AgentE2E, DiskShortOfRoomPausesInsteadOfFailing) {
  AgentSite s;
  ASSERT_TRUE(s.serve->ok()) << s.serve->log();
  // an uncompressed recording to compress: the copy needs room that --min-free denies
  std::string plain = s.rec + "/plain.mcap";
  write_file_or_throw(plain, read_file_or_throw(s.synth("p.mcap", 31, {"-c", "none"}, "10")));
  std::string direct_src = s.synth("d.mcap", 32);
  std::string log;
  auto agent = s.start({"--compress", "zstd", "--min-free", "1000000T"}, &log);
  ASSERT_TRUE(s.wait_status([&](const Json &j) { return entry_state(j, plain) == "paused"; }, 60))
      << read_file_or_throw(log);
  // then one that needs no copy: it goes through while the other stays paused (looked at
  // again every --retry-delay, 0.5 s here, meanwhile), never failed, nothing of it uploaded
  std::string direct = s.rec + "/direct.mcap";
  write_file_or_throw(direct, read_file_or_throw(direct_src));
  Json st;
  ASSERT_TRUE(s.wait_status([&](const Json &j) { return entry_state(j, direct) == "verified"; },
                            60, &st))
      << read_file_or_throw(log);
  EXPECT_EQ(entry_state(st, plain), "paused");
  EXPECT_NE((*find_entry(st, plain))["reason"].str().find("free"), std::string::npos);
  EXPECT_EQ(count(st, "failed"), 0u);
  EXPECT_EQ(s.uploads_received(), 1u);
  agent->kill_now(SIGTERM);
  EXPECT_EQ(agent->wait(60), 0);
  // with room, the restarted agent compresses and uploads it
  auto again = s.start({"--compress", "zstd"}, &log);
  ASSERT_TRUE(s.wait_status([&](const Json &j) { return entry_state(j, plain) == "verified"; }, 60))
      << read_file_or_throw(log);
  again->kill_now(SIGTERM);
  EXPECT_EQ(again->wait(60), 0);
  EXPECT_EQ(s.uploads_received(), 2u);
  std::string text = read_file_or_throw(log);
  EXPECT_EQ(count_events(text, "compressed"), 1) << text;
  // the platform got the compressed copy; the original is as it was
  RunResult info = run_mcapkit({"info", plain});
  EXPECT_NE(info.out.find("none"), std::string::npos) << info.out;
}

// A file system the test mounts (a 4 MiB tmpfs, 2 MiB of it taken by a filler) holds the
// state folder: a copy that cannot fit pauses, and goes on in the same run once the filler
// is removed. Needs the right to mount; skipped (with the reason) without it.
TEST(AgentE2E, SmallTmpfsPausesInsteadOfFailingAndResumes) {
  AgentSite s;
  ASSERT_TRUE(s.serve->ok()) << s.serve->log();
  std::string mnt = s.tmp.file("small");
  mkdir(mnt.c_str(), 0755);
  std::string cmd = "mount -t tmpfs -o size=4m tmpfs '" + mnt + "' 2>/dev/null";
  if (geteuid() != 0 || system(cmd.c_str()) != 0) GTEST_SKIP() << "cannot mount a tmpfs here";
  struct Unmount {
    std::string m;
    ~Unmount() { system(("umount '" + m + "' 2>/dev/null").c_str()); }
  } unmount{mnt};
  std::string filler = mnt + "/filler";
  write_file_or_throw(filler, std::string(2u << 20, 'x'));
  std::string plain = s.rec + "/plain.mcap";
  RunResult made = run_mcapkit({"synth", "-o", plain, "--profile", "robot", "--duration", "0.12",
                                "-c", "none", "--seed", "33"});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  uint64_t size = read_file_or_throw(plain).size();
  ASSERT_GT(size, (2u << 20) + (256u << 10));  // more than is free beside the filler
  ASSERT_LT(size, (4u << 20) - (512u << 10));  // less than is free without it
  std::string log;
  s.state = mnt + "/state";
  auto agent = s.start({"--compress", "zstd", "--state", s.state}, &log);
  Json j;
  ASSERT_TRUE(s.wait_status([&](const Json &st) { return entry_state(st, plain) == "paused"; }, 60,
                            &j))
      << read_file_or_throw(log);
  EXPECT_NE((*find_entry(j, plain))["reason"].str().find("bytes free"), std::string::npos);
  EXPECT_EQ(count(j, "failed"), 0u);
  EXPECT_EQ(s.uploads_received(), 0u);
  // room again: the same run compresses and uploads it
  ASSERT_EQ(unlink(filler.c_str()), 0);
  ASSERT_TRUE(s.wait_status([&](const Json &st) { return entry_state(st, plain) == "verified"; }, 60,
                            &j))
      << read_file_or_throw(log);
  agent->kill_now(SIGTERM);
  EXPECT_EQ(agent->wait(60), 0);
  EXPECT_EQ(s.uploads_received(), 1u);
  std::string text = read_file_or_throw(log);
  EXPECT_EQ(count_events(text, "failed"), 0) << text;
  EXPECT_EQ(count_events(text, "resumed"), 1) << text;
  EXPECT_EQ(count_events(text, "compressed"), 1) << text;
}

TEST(AgentE2E, SigtermStopsCleanlyAndCheckpointsTheTransfer) {
  AgentSite s;
  ASSERT_TRUE(s.serve->ok()) << s.serve->log();
  std::string path = s.rec + "/slow.mcap";
  write_file_or_throw(path, read_file_or_throw(s.synth("slow.mcap", 5, {}, "200")));
  std::string log;
  auto agent = s.start({"--max-rate", "10K", "--stop-timeout", "0.3"}, &log);
  ASSERT_TRUE(s.wait_status([&](const Json &j) { return entry_state(j, path) == "uploading"; }, 60))
      << read_file_or_throw(log);
  double t0 = now_s();
  agent->kill_now(SIGTERM);
  EXPECT_EQ(agent->wait(30), 0) << read_file_or_throw(log);
  EXPECT_LT(now_s() - t0, 10.0);
  std::string text = read_file_or_throw(log);
  EXPECT_EQ(count_events(text, "stopping"), 1) << text;
  EXPECT_EQ(count_events(text, "stopped"), 1) << text;
  EXPECT_EQ(count_events(text, "failed"), 0) << text;
  Json st = s.status();
  EXPECT_FALSE(st["running"].boolean());
  EXPECT_EQ(entry_state(st, path), "prepared");  // checkpointed, not failed
  EXPECT_EQ(s.uploads_received(), 0u);
  RunResult again = run_program(s.agent_argv({"--once"}));
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(s.uploads_received(), 1u);
}

TEST(AgentE2E, NotifySocketSeesReadyStatusWatchdogAndStopping) {
  AgentSite s;
  ASSERT_TRUE(s.serve->ok()) << s.serve->log();
  std::string sock_path = s.tmp.file("notify.sock");
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un addr;
  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  ASSERT_LT(sock_path.size(), sizeof addr.sun_path);
  memcpy(addr.sun_path, sock_path.c_str(), sock_path.size());
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr), 0);
  write_file_or_throw(s.rec + "/n.mcap", read_file_or_throw(s.synth("n.mcap", 6)));
  std::string log;
  // a watchdog of 0.3 s: the agent pings at a third of it
  auto agent = s.start({}, &log, {"NOTIFY_SOCKET=" + sock_path, "WATCHDOG_USEC=300000"});
  std::vector<std::string> got;
  auto recv_until = [&](const std::string &want, double timeout) {
    double until = now_s() + timeout;
    while (now_s() < until) {
      pollfd p{fd, POLLIN, 0};
      if (poll(&p, 1, 100) <= 0) continue;
      char buf[1024];
      ssize_t n = recv(fd, buf, sizeof buf - 1, 0);
      if (n <= 0) continue;
      got.emplace_back(buf, static_cast<size_t>(n));
      if (got.back().find(want) != std::string::npos) return true;
    }
    return false;
  };
  EXPECT_TRUE(recv_until("READY=1", 30)) << read_file_or_throw(log);
  EXPECT_TRUE(recv_until("STATUS=1 verified", 60)) << read_file_or_throw(log);
  EXPECT_TRUE(recv_until("WATCHDOG=1", 30)) << read_file_or_throw(log);
  agent->kill_now(SIGTERM);
  EXPECT_TRUE(recv_until("STOPPING=1", 30));
  EXPECT_EQ(agent->wait(60), 0);
  close(fd);
  // READY came before any status
  ASSERT_FALSE(got.empty());
  EXPECT_NE(got[0].find("READY=1"), std::string::npos) << got[0];
}

// Custom --pattern (only what it names is taken, a .db3 among them with --convert) and
// --on-error warn (a recording with doctor errors is uploaded, with a warning, not refused),
// in one --once run.
TEST(AgentE2E, CustomPatternsDb3AndOnErrorWarn) {
  AgentSite s;
  ASSERT_TRUE(s.serve->ok()) << s.serve->log();
  std::string keep = s.rec + "/keep-1.mcap", skip = s.rec + "/other.mcap";
  write_file_or_throw(keep, read_file_or_throw(s.synth("k.mcap", 31)));
  write_file_or_throw(skip, read_file_or_throw(s.synth("o.mcap", 32)));
  std::string db3 = s.rec + "/run.db3";
  {
    Db3Writer w(db3);
    int64_t t = w.add_topic("/chatter", "std_msgs/msg/String");
    w.add_definition("std_msgs/msg/String", "ros2msg", "string data\n");
    for (uint32_t i = 0; i < 10; i++) {
      std::string text = "hello " + std::to_string(i);
      std::string cdr = std::string("\x00\x01\x00\x00", 4);
      uint32_t n = static_cast<uint32_t>(text.size() + 1);
      cdr.append(reinterpret_cast<const char *>(&n), 4);
      cdr += text;
      cdr.push_back('\0');
      w.write(t, 1000000000ull + i * 100000000ull, cdr);
    }
    w.close();
  }
  // a doctor error the import does not mind (the DataEnd's data section CRC is wrong):
  // uploaded anyway with --on-error warn
  std::string bad = s.rec + "/keep-bad.mcap";
  std::string b = read_file_or_throw(s.synth("b.mcap", 33));
  size_t data_end = b.find(std::string("\x0f\x04\0\0\0\0\0\0\0", 9));
  ASSERT_NE(data_end, std::string::npos);
  b[data_end + 9] = static_cast<char>(b[data_end + 9] ^ 0x5a);
  write_file_or_throw(bad, b);
  ASSERT_EQ(run_mcapkit({"doctor", bad}).exit_code, 3);
  std::vector<std::string> argv = {"/usr/bin/env", "MCAPKIT_HTTP_BACKOFF=0.05"};
  for (const std::string &a :
       s.agent_argv({"--once", "--convert", "--pattern", "keep-*.mcap", "--pattern", "*.db3",
                     "--on-error", "warn", "--no-notify"}))
    argv.push_back(a);
  RunOptions ro;
  ro.timeout_seconds = 120;
  RunResult r = run_program(argv, ro);
  std::string text = r.err;
  EXPECT_EQ(r.exit_code, 0) << text;
  Json st = s.status();
  EXPECT_EQ(find_entry(st, skip), nullptr) << text;  // matches no --pattern
  EXPECT_EQ(entry_state(st, bad), "verified") << text;
  ASSERT_NE(find_entry(st, keep), nullptr) << text;
  ASSERT_NE(find_entry(st, db3), nullptr) << text;
  ASSERT_NE(find_entry(st, bad), nullptr) << text;
  EXPECT_EQ(entry_state(st, keep), "verified") << text;
  EXPECT_EQ(entry_state(st, db3), "verified") << text;
  EXPECT_EQ(count_events(text, "refused"), 0) << text;
  EXPECT_EQ(count_events(text, "converted"), 1) << text;
  EXPECT_GE(s.uploads_received(), 3u);
  EXPECT_NE(text.find("the doctor found 1 error (crc-data"), std::string::npos) << text;
  EXPECT_NE(text.find("uploading anyway (--on-error warn)"), std::string::npos) << text;
}
