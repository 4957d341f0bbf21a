// test_agent.cc - pl_agent without a server: the state journal's parser (last line
// per id wins, a torn last line, every kind of bad field skipped, no NUL or
// relative paths), reading a state folder (missing, journal only), option checks,
// one agent per state folder, the CLI's usage errors, and the dist/ unit and example.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <sstream>
#include <string>

#include "fake_http.h"
#include "pipeline/agent.h"
#include "run.h"
#include "tmpdir.h"

using namespace mcapkit_test;

namespace {

std::string line(const std::string &id, const std::string &state, const std::string &extra = "") {
  return "{\"id\":" + id + ",\"path\":\"/r/a" + id + ".mcap\",\"kind\":\"mcap\",\"state\":\"" +
         state + "\",\"size\":10,\"mtime_ns\":\"-5\",\"next_retry_ns\":\"0\"" + extra + "}\n";
}

pl_agent_snapshot *parse(const std::string &text) {
  pl_agent_snapshot *s = nullptr;
  pl_error_info err;
  EXPECT_EQ(pl_agent_journal_parse(text.data(), text.size(), &s, &err), PL_AGENT_OK) << err.msg;
  return s;
}

}  // namespace

TEST(AgentJournal, LastLinePerIdWinsInIdOrder) {
  std::string t = line("2", "queued") + line("1", "queued") + line("1", "uploading") +
                  line("2", "verified", ",\"key\":\"k\",\"recording_id\":\"rec_1\"") +
                  line("1", "failed", ",\"attempts\":3,\"reason\":\"503\"");
  pl_agent_snapshot *s = parse(t);
  ASSERT_NE(s, nullptr);
  ASSERT_EQ(s->n_entries, 2u);
  EXPECT_EQ(s->entries[0].id, 1u);
  EXPECT_STREQ(s->entries[0].state, "failed");
  EXPECT_EQ(s->entries[0].attempts, 3);
  EXPECT_STREQ(s->entries[0].reason, "503");
  EXPECT_EQ(s->entries[1].id, 2u);
  EXPECT_STREQ(s->entries[1].state, "verified");
  EXPECT_STREQ(s->entries[1].recording_id, "rec_1");
  EXPECT_EQ(s->skipped_lines, 0u);
  EXPECT_EQ(s->counts.verified, 1u);
  EXPECT_EQ(s->counts.failed, 1u);
  pl_agent_snapshot_free(s);
}

TEST(AgentJournal, TornLastLineIsSkippedAndEarlierStateKept) {
  std::string full = line("1", "queued") + line("1", "uploading");
  std::string torn = line("1", "verified");
  torn = torn.substr(0, torn.size() / 2);  // a power loss in the middle of the write
  pl_agent_snapshot *s = parse(full + torn);
  ASSERT_NE(s, nullptr);
  ASSERT_EQ(s->n_entries, 1u);
  EXPECT_STREQ(s->entries[0].state, "uploading");
  EXPECT_EQ(s->skipped_lines, 1u);
  pl_agent_snapshot_free(s);
}

TEST(AgentJournal, BadLinesAreSkipped) {
  const char *bad[] = {
      "{\"id\":0,\"path\":\"/a\",\"kind\":\"mcap\",\"state\":\"queued\"}",          // id 0
      "{\"id\":-1,\"path\":\"/a\",\"kind\":\"mcap\",\"state\":\"queued\"}",         // negative
      "{\"id\":\"1\",\"path\":\"/a\",\"kind\":\"mcap\",\"state\":\"queued\"}",      // id string
      "{\"id\":1,\"path\":\"a\",\"kind\":\"mcap\",\"state\":\"queued\"}",           // relative path
      "{\"id\":1,\"path\":\"/a\\u0000b\",\"kind\":\"mcap\",\"state\":\"queued\"}",  // NUL in path
      "{\"id\":1,\"path\":\"/a\",\"kind\":\"zip\",\"state\":\"queued\"}",           // kind
      "{\"id\":1,\"path\":\"/a\",\"kind\":\"mcap\",\"state\":\"flying\"}",          // state
      "{\"id\":1,\"path\":\"/a\",\"kind\":\"mcap\",\"state\":\"writing\"}",         // live only
      "{\"id\":1,\"path\":\"/a\",\"kind\":\"mcap\",\"state\":\"queued\",\"size\":-3}",
      "{\"id\":1,\"path\":\"/a\",\"kind\":\"mcap\",\"state\":\"queued\",\"mtime_ns\":\"12x\"}",
      "{\"id\":1,\"path\":\"/a\",\"kind\":\"mcap\",\"state\":\"queued\",\"next_retry_ns\":\"-1\"}",
      "{\"id\":1,\"path\":\"/a\",\"kind\":\"mcap\",\"state\":\"queued\",\"copy\":\"rel\"}",
      "{\"id\":1,\"path\":\"/a\",\"kind\":\"mcap\",\"state\":\"queued\",\"stale\":1}",
      "{\"id\":1,\"path\":\"/a\",\"kind\":\"mcap\",\"state\":\"queued\",\"attempts\":99999999999}",
      "{\"id\":1,\"path\":\"/a\",\"kind\":\"mcap\",\"state\":\"queued\"} trailing",
      "[1,2,3]",
      "{\"id\":1",
      "\x89MCAP0\r\n",
  };
  std::string t;
  for (const char *b : bad) t += std::string(b) + "\n";
  t += line("7", "prepared");
  pl_agent_snapshot *s = parse(t);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->skipped_lines, sizeof bad / sizeof bad[0]);
  ASSERT_EQ(s->n_entries, 1u);
  EXPECT_EQ(s->entries[0].id, 7u);
  pl_agent_snapshot_free(s);
}

TEST(AgentJournal, EmptyAndOverlongInput) {
  pl_agent_snapshot *s = parse("");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->n_entries, 0u);
  pl_agent_snapshot_free(s);
  std::string huge = "{\"id\":1,\"path\":\"/" + std::string(200000, 'a') +
                     "\",\"kind\":\"mcap\",\"state\":\"queued\"}\n" + line("2", "queued");
  s = parse(huge);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->n_entries, 1u);
  EXPECT_EQ(s->skipped_lines, 1u);
  pl_agent_snapshot_free(s);
}

TEST(AgentState, ReadMissingAndJournalOnlyFolders) {
  TempDir t;
  pl_agent_snapshot *s = nullptr;
  pl_error_info err;
  EXPECT_EQ(pl_agent_snapshot_read(t.file("nope").c_str(), &s, &err), PL_AGENT_EIO);
  EXPECT_NE(std::string(err.msg).find("nope"), std::string::npos) << err.msg;
  EXPECT_EQ(s, nullptr);
  // an empty folder: nothing yet, not running
  ASSERT_EQ(pl_agent_snapshot_read(t.path().c_str(), &s, &err), PL_AGENT_OK) << err.msg;
  EXPECT_FALSE(s->running);
  EXPECT_EQ(s->n_entries, 0u);
  pl_agent_snapshot_free(s);
  write_file_or_throw(t.file("agent-journal.jsonl"), line("1", "queued") + line("1", "verified"));
  ASSERT_EQ(pl_agent_snapshot_read(t.path().c_str(), &s, &err), PL_AGENT_OK) << err.msg;
  EXPECT_TRUE(s->from_journal);
  ASSERT_EQ(s->n_entries, 1u);
  EXPECT_STREQ(s->entries[0].state, "verified");
  pl_agent_snapshot_free(s);
}

TEST(AgentOptions, RunChecksOptions) {
  TempDir t;
  const char *w[] = {t.path().c_str()};
  const char *missing[] = {"/no/such/folder/at/all"};
  struct Case {
    const char *const *watch;
    size_t n;
    const char *url, *device;
    double settle;
    int parallel;
    int rc;
    const char *msg;
  } cases[] = {
      {nullptr, 0, "http://127.0.0.1:1", "d", 0, 0, PL_AGENT_EINVAL, "no folder"},
      {w, 1, nullptr, "d", 0, 0, PL_AGENT_EINVAL, "API URL"},
      {w, 1, "http://127.0.0.1:1", nullptr, 0, 0, PL_AGENT_EINVAL, "device"},
      {w, 1, "http://127.0.0.1:1", "d", -1, 0, PL_AGENT_EINVAL, "settle"},
      {w, 1, "http://127.0.0.1:1", "d", 0, 65, PL_AGENT_EINVAL, "parallel"},
      {missing, 1, "http://127.0.0.1:1", "d", 0, 0, PL_AGENT_EIO, "/no/such/folder"},
  };
  for (const Case &c : cases) {
    pl_agent_options o;
    memset(&o, 0, sizeof o);
    o.watch = c.watch;
    o.n_watch = c.n;
    o.api_url = c.url;
    o.device_name = c.device;
    o.settle_s = c.settle;
    o.parallel = c.parallel;
    pl_agent *a = nullptr;
    ASSERT_EQ(pl_agent_new(&a, &o), PL_AGENT_OK);
    EXPECT_EQ(pl_agent_run(a), c.rc) << c.msg;
    EXPECT_NE(std::string(pl_agent_errmsg(a)).find(c.msg), std::string::npos)
        << pl_agent_errmsg(a);
    EXPECT_EQ(pl_agent_run(a), PL_AGENT_ESTATE);  // once only
    pl_agent_free(a);
  }
  pl_agent_free(nullptr);
}

TEST(AgentOptions, BadExcludePatternIsRefused) {
  TempDir t;
  const char *w[] = {t.path().c_str()};
  const char *pat[] = {"/camera(["};
  pl_agent_options o;
  memset(&o, 0, sizeof o);
  o.watch = w;
  o.n_watch = 1;
  o.api_url = "http://127.0.0.1:1";
  o.device_name = "d";
  o.exclude_topics = pat;
  o.n_exclude_topics = 1;
  pl_agent *a = nullptr;
  ASSERT_EQ(pl_agent_new(&a, &o), PL_AGENT_OK);
  EXPECT_EQ(pl_agent_run(a), PL_AGENT_EINVAL);
  EXPECT_NE(std::string(pl_agent_errmsg(a)).find("/camera(["), std::string::npos)
      << pl_agent_errmsg(a);
  pl_agent_free(a);
}

TEST(AgentCli, UsageErrorsAndOneAgentPerStateFolder) {
  TempDir t;
  mkdir(t.file("rec").c_str(), 0755);
  std::string key = t.file("key");
  write_file_or_throw(key, "fox_sk_x\n");
  chmod(key.c_str(), 0600);
  EXPECT_EQ(run_mcapkit({"agent", "--device-name", "d"}).exit_code, 2);
  EXPECT_EQ(run_mcapkit({"agent", "--watch", t.file("rec")}).exit_code, 2);
  EXPECT_EQ(run_mcapkit({"agent", "--watch", t.file("rec"), "--device-name", "d", "--on-error",
                         "maybe"})
                .exit_code,
            2);
  EXPECT_EQ(run_mcapkit({"agent", "--watch", t.file("rec"), "--device-name", "d", "--compress",
                         "bz2"})
                .exit_code,
            2);
  EXPECT_EQ(run_mcapkit({"agent", "status"}).exit_code, 2);
  RunResult help = run_mcapkit({"agent", "--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("--delete-after-verify"), std::string::npos);
  RunResult shelp = run_mcapkit({"agent", "status", "--help"});
  EXPECT_EQ(shelp.exit_code, 0);
  EXPECT_NE(shelp.out.find("--state"), std::string::npos) << shelp.out;
  RunResult none = run_mcapkit({"agent", "status", "--state", t.file("nope")});
  EXPECT_EQ(none.exit_code, 1);
  // a second agent on the same state folder is refused while the first runs
  std::vector<std::string> argv = {mcapkit_path(), "agent",  "--watch", t.file("rec"),
                                   "--device-name", "d",     "--api-url", "http://127.0.0.1:9",
                                   "--api-key-file", key,    "--no-notify"};
  BackgroundProcess first(argv, t.file("a1.out"), t.file("a1.err"));
  bool running = false;
  for (int i = 0; i < 300 && !running; i++) {
    pl_agent_snapshot *s = nullptr;
    pl_error_info err;
    if (pl_agent_snapshot_read(t.file("rec/.mcapkit").c_str(), &s, &err) == PL_AGENT_OK) {
      running = s->running;
      pl_agent_snapshot_free(s);
    }
    if (!running) usleep(20000);
  }
  ASSERT_TRUE(running) << read_file_or_throw(t.file("a1.err"));
  RunResult second = run_program(argv);
  EXPECT_EQ(second.exit_code, 1);
  EXPECT_NE(second.err.find("another agent"), std::string::npos) << second.err;
  RunResult st = run_mcapkit({"agent", "status", "--watch", t.file("rec")});
  EXPECT_EQ(st.exit_code, 0) << st.err;
  EXPECT_NE(st.out.find("agent running (pid"), std::string::npos) << st.out;
  first.kill_now(SIGTERM);
  EXPECT_EQ(first.wait(30), 0) << read_file_or_throw(t.file("a1.err"));
}

// dist/: the example configuration's options are all accepted by the agent (a run with
// --once on an empty folder exits 0 without reaching any server), and the unit file passes
// 'systemd-analyze verify' (with the binary and environment file pointed at this tree;
// skipped where systemd-analyze is missing).
TEST(AgentDist, ExampleConfigurationRunsAndUnitFileVerifies) {
  TempDir t;
  std::string env = read_file_or_throw(std::string(MCAPKIT_SOURCE_DIR) + "/dist/mcapkit-agent.env");
  std::string options;
  for (size_t at = 0; at < env.size();) {
    size_t nl = env.find('\n', at);
    std::string ln = env.substr(at, nl == std::string::npos ? std::string::npos : nl - at);
    at = nl == std::string::npos ? env.size() : nl + 1;
    if (ln.rfind("MCAPKIT_AGENT_OPTIONS=", 0) == 0) options = ln.substr(22);
  }
  ASSERT_FALSE(options.empty()) << env;
  EXPECT_NE(env.find("MCAPKIT_WATCH="), std::string::npos);
  EXPECT_NE(env.find("MCAPKIT_DEVICE_NAME="), std::string::npos);
  mkdir(t.file("rec").c_str(), 0755);
  std::string key = t.file("key");
  write_file_or_throw(key, "fox_sk_x\n");
  chmod(key.c_str(), 0600);
  std::vector<std::string> argv = {mcapkit_path(), "agent", "--watch", t.file("rec"),
                                   "--device-name", "d", "--api-url", "http://127.0.0.1:9",
                                   "--api-key-file", key, "--once", "--no-notify"};
  std::istringstream words(options);
  for (std::string w; words >> w;) argv.push_back(w);
  RunResult r = run_program(argv);
  EXPECT_EQ(r.exit_code, 0) << options << "\n" << r.err;

  std::string unit =
      read_file_or_throw(std::string(MCAPKIT_SOURCE_DIR) + "/dist/mcapkit-agent.service");
  EXPECT_NE(unit.find("Type=notify"), std::string::npos);
  EXPECT_NE(unit.find("ExecStart=/usr/bin/mcapkit agent"), std::string::npos);
  if (system("command -v systemd-analyze >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "no systemd-analyze here";
  auto replace = [&](const std::string &from, const std::string &to) {
    size_t p = unit.find(from);
    ASSERT_NE(p, std::string::npos) << from;
    unit.replace(p, from.size(), to);
  };
  replace("/usr/bin/mcapkit", mcapkit_path());
  replace("/etc/mcapkit/agent.env", std::string(MCAPKIT_SOURCE_DIR) + "/dist/mcapkit-agent.env");
  write_file_or_throw(t.file("mcapkit-agent.service"), unit);
  RunResult v = run_program({"/bin/sh", "-c",
                             "systemd-analyze verify '" + t.file("mcapkit-agent.service") + "'"});
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
  EXPECT_EQ(v.err, "") << v.err;
}
