// test_cli_rewrite.cc - the rewrite commands from the command line: filter,
// compress, decompress, sort, merge and recover. Outputs are read back with
// 'mcapkit info --json' and checked with 'mcapkit doctor'; exit codes, usage
// errors, refusing to write over an input, --in-place, standard input and
// output, and the --json reports.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <thread>

#include <sstream>
#include <string>
#include <vector>

#include "run.h"
#include "tmpdir.h"

extern char **environ;

using mcapkit_test::Json;
using mcapkit_test::read_file_or_throw;
using mcapkit_test::run_mcapkit;
using mcapkit_test::RunOptions;
using mcapkit_test::RunResult;
using mcapkit_test::TempDir;
using mcapkit_test::write_file_or_throw;

namespace {

void synth(const std::string &out, std::vector<std::string> extra) {
  std::vector<std::string> args{"synth", "-o", out};
  args.insert(args.end(), extra.begin(), extra.end());
  RunResult r = run_mcapkit(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
}

Json info(const std::string &path) {
  RunResult r = run_mcapkit({"info", "--json", path});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return Json::parse(r.out);
}

uint64_t topic_count(const Json &in, const std::string &topic) {
  for (size_t i = 0; i < in["channels"].size(); i++)
    if (in["channels"][i]["topic"].str() == topic) return in["channels"][i]["message_count"].u64();
  return 0;
}

void expect_doctor_clean(const std::string &path) {
  RunResult r = run_mcapkit({"doctor", path});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
}

bool exists(const std::string &p) {
  struct stat st;
  return stat(p.c_str(), &st) == 0;
}

}  // namespace

TEST(CliRewrite, FilterByTopicAndTime) {
  TempDir tmp;
  std::string in = tmp.file("in.mcap"), out = tmp.file("out.mcap");
  synth(in, {"-p", "robot", "-d", "2"});
  Json before = info(in);
  RunResult r = run_mcapkit({"filter", in, "-o", out, "--exclude-topic", "/camera.*", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Json st = Json::parse(r.out);
  EXPECT_EQ(st["format_version"].u64(), 1u);
  EXPECT_GT(st["chunks_copied"].u64(), 0u);
  Json after = info(out);
  EXPECT_EQ(topic_count(after, "/camera/front/image"), 0u);
  EXPECT_EQ(after["message_count"].u64(),
            before["message_count"].u64() - topic_count(before, "/camera/front/image"));
  EXPECT_EQ(st["message_count"].u64(), after["message_count"].u64());
  EXPECT_EQ(after["channel_count"].u64(), 6u);
  expect_doctor_clean(out);

  // The official CLI's spellings work too; --end is inclusive.
  std::string start = before["start_time_ns"].str();
  uint64_t s = std::stoull(start);
  r = run_mcapkit({"filter", in, "-o", out, "-y", "/imu", "-S", std::to_string(s + 500000000), "-E",
                   std::to_string(s + 999999999)});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Json w = info(out);
  EXPECT_EQ(w["channel_count"].u64(), 1u);
  EXPECT_GE(w["message_count"].u64(), 498u);
  EXPECT_LE(w["message_count"].u64(), 502u);
  EXPECT_GE(w["start_time_ns"].u64(), s + 500000000);
  EXPECT_LE(w["end_time_ns"].u64(), s + 999999999);
  expect_doctor_clean(out);

  // RFC 3339 times.
  r = run_mcapkit({"filter", in, "-o", out, "--include-topic-regex", "/tf", "--start",
                   before["start_time"].str(), "--no-attachments", "--no-metadata"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Json t = info(out);
  EXPECT_EQ(t["message_count"].u64(), topic_count(before, "/tf"));
  EXPECT_EQ(t["attachment_count"].u64(), 0u);
  EXPECT_EQ(t["metadata_count"].u64(), 0u);
}

TEST(CliRewrite, UsageErrors) {
  TempDir tmp;
  std::string in = tmp.file("in.mcap");
  synth(in, {"-p", "tiny", "-d", "2"});
  struct {
    std::vector<std::string> args;
    const char *want;
  } cases[] = {
      {{"filter", in}, "-o OUT"},
      {{"filter", in, "-o", tmp.file("o.mcap"), "--exclude-topic", "(bad"}, "(bad"},
      {{"filter", in, "-o", tmp.file("o.mcap"), "--order", "sideways"}, "sideways"},
      {{"filter", in, "-o", tmp.file("o.mcap"), "--start", "yesterday"}, "--start"},
      {{"filter", in, "-o", tmp.file("o.mcap"), "-S", "20", "-E", "10"}, "after the end"},
      {{"compress", in, "-o", tmp.file("o.mcap"), "-c", "brotli"}, "brotli"},
      {{"sort", in, "-o", "-", "--json"}, "--json"},
      {{"merge", in, in, "-o", tmp.file("o.mcap"), "--coalesce-channels", "maybe"}, "maybe"},
      {{"recover", in, "-o", tmp.file("o.mcap"), "-c", "bogus"}, "bogus"},
      {{"filter", "-", "--in-place"}, "standard input"},
  };
  for (const auto &c : cases) {
    RunResult r = run_mcapkit(c.args);
    EXPECT_EQ(r.exit_code, 2) << c.args[0] << " " << r.err;
    EXPECT_NE(r.err.find(c.want), std::string::npos) << r.err;
  }
  EXPECT_FALSE(exists(tmp.file("o.mcap")));
}

TEST(CliRewrite, RefusesToOverwriteInputInPlaceIsSafe) {
  TempDir tmp;
  std::string in = tmp.file("in.mcap");
  synth(in, {"-p", "tiny", "-d", "5", "-c", "zstd"});
  std::string before = read_file_or_throw(in);
  RunResult r = run_mcapkit({"compress", in, "-o", in, "-c", "lz4"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--in-place"), std::string::npos) << r.err;
  EXPECT_EQ(read_file_or_throw(in), before);

  Json b = info(in);
  r = run_mcapkit({"compress", in, "--in-place", "-c", "lz4"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Json a = info(in);
  EXPECT_EQ(a["message_count"].u64(), b["message_count"].u64());
  EXPECT_EQ(a["compression"][0]["compression"].str(), "lz4");
  expect_doctor_clean(in);

  // A failing rewrite leaves the input and no temporary file behind.
  std::string bad = tmp.file("bad.mcap");
  std::string d = read_file_or_throw(in);
  write_file_or_throw(bad, d.substr(0, d.size() / 2));
  std::string bad_before = read_file_or_throw(bad);
  r = run_mcapkit({"filter", bad, "--in-place"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("recover"), std::string::npos) << r.err;
  EXPECT_EQ(read_file_or_throw(bad), bad_before);
  RunResult ls = mcapkit_test::run_program({"/bin/ls", "-A", tmp.path()});
  EXPECT_EQ(ls.out, "bad.mcap\nin.mcap\n");
}

TEST(CliRewrite, AFifoOrDeviceOutputIsWrittenNotReplaced) {
  // `-o /dev/null` (or a FIFO) is written to, as a shell redirection would; the atomic
  // temporary file and rename used to replace it with a regular file (as root: /dev/null).
  TempDir tmp;
  std::string in = tmp.file("in.mcap"), fifo = tmp.file("fifo"), ref = tmp.file("ref.mcap");
  synth(in, {"-p", "tiny", "-d", "2"});
  ASSERT_EQ(run_mcapkit({"filter", in, "-o", ref}).exit_code, 0);
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  int keep = open(fifo.c_str(), O_RDWR | O_CLOEXEC);  // the reader below never blocks
  ASSERT_GE(keep, 0);
  std::string got;
  std::thread reader([&] {
    int fd = open(fifo.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    char buf[65536];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0) got.append(buf, static_cast<size_t>(n));
    close(fd);
  });
  RunResult r = run_mcapkit({"filter", in, "-o", fifo});
  close(keep);
  reader.join();
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(got == read_file_or_throw(ref)) << got.size() << " bytes through the FIFO";
  struct stat st;
  ASSERT_EQ(lstat(fifo.c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode)) << "the FIFO was replaced";
}

// `-o LINK` writes the file LINK points at, as a shell redirection would, and LINK stays a
// link; `get` and `synth` used to replace the link itself with a regular file.
TEST(CliRewrite, ASymlinkOutputIsFollowed) {
  TempDir tmp;
  std::string in = tmp.file("in.mcap"), ref = tmp.file("ref.mcap");
  synth(in, {"-p", "robot", "-d", "1"});
  ASSERT_EQ(run_mcapkit({"filter", in, "-o", ref}).exit_code, 0);
  RunResult att = run_mcapkit({"get", "attachment", in, "--name", "calibration.yaml", "-o", "-"});
  ASSERT_EQ(att.exit_code, 0) << att.err;
  ASSERT_FALSE(att.out.empty());
  struct Case {
    const char *name;
    std::vector<std::string> args;  // the output path is appended
    std::string want;               // the target's bytes afterwards, or
    std::string prefix;             // how they start ("\x89MCAP0" = also a clean recording)
  };
  std::vector<Case> cases = {
      {"filter", {"filter", in, "-o"}, read_file_or_throw(ref), ""},
      {"get", {"get", "attachment", in, "--name", "calibration.yaml", "-o"}, att.out, ""},
      {"synth", {"synth", "-p", "tiny", "-d", "1", "-o"}, "", "\x89MCAP0\r\n"},
      {"report", {"report", in, "-o"}, "", "<!DOCTYPE html>"},
      {"extract", {"extract", "topic", in, "/imu", "-o"}, "", "{\"topic\":\"/imu\""},
  };
  for (const Case &c : cases) {
    std::string dir = tmp.file(std::string("d-") + c.name);
    ASSERT_EQ(mkdir(dir.c_str(), 0700), 0);
    std::string target = dir + "/real.out", link = dir + "/link.out";
    write_file_or_throw(target, "old contents");
    ASSERT_EQ(symlink("real.out", link.c_str()), 0);
    std::vector<std::string> args = c.args;
    args.push_back(link);
    RunResult r = run_mcapkit(args);
    ASSERT_EQ(r.exit_code, 0) << c.name << ": " << r.err;
    struct stat st;
    ASSERT_EQ(lstat(link.c_str(), &st), 0);
    EXPECT_TRUE(S_ISLNK(st.st_mode)) << c.name << ": the link was replaced";
    std::string got = read_file_or_throw(target);
    if (c.want.empty()) {
      EXPECT_EQ(got.compare(0, c.prefix.size(), c.prefix), 0) << c.name;
      if (c.prefix.compare(0, 5, "\x89MCAP") == 0) expect_doctor_clean(target);
    } else {
      EXPECT_TRUE(got == c.want) << c.name << ": " << got.size() << " bytes in the target";
    }
    int entries = 0;
    for (const auto &e : std::filesystem::directory_iterator(dir)) {
      (void)e;
      entries++;
    }
    EXPECT_EQ(entries, 2) << c.name << ": no temporary file left";
  }
}

// The per-topic CSV files of `extract topic ... -o DIR` are named after topics the recording
// chose: a symlink in DIR with such a name is replaced, never written through.
TEST(CliRewrite, ExtractTopicFilesInADirectoryDoNotFollowLinks) {
  TempDir tmp;
  std::string in = tmp.file("in.mcap"), dir = tmp.file("csv"), outside = tmp.file("outside");
  synth(in, {"-p", "robot", "-d", "1"});
  ASSERT_EQ(mkdir(dir.c_str(), 0700), 0);
  write_file_or_throw(outside, "keep me");
  ASSERT_EQ(symlink(outside.c_str(), (dir + "/imu.csv").c_str()), 0);
  RunResult r = run_mcapkit({"extract", "topic", in, "/imu", "/odom", "-o", dir, "--format", "csv"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(read_file_or_throw(outside), "keep me");
  struct stat st;
  ASSERT_EQ(lstat((dir + "/imu.csv").c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
}

TEST(CliRewrite, StdinToStdout) {
  TempDir tmp;
  std::string in = tmp.file("in.mcap");
  synth(in, {"-p", "robot", "-d", "1"});
  Json b = info(in);
  RunOptions ro;
  ro.stdin_data = read_file_or_throw(in);
  // File order runs on the stream itself; sorting spools it first.
  for (const char *cmd : {"filter", "sort", "compress"}) {
    RunResult r = run_mcapkit({cmd, "-", "-o", "-"}, ro);
    ASSERT_EQ(r.exit_code, 0) << cmd << ": " << r.err;
    std::string out = tmp.file(std::string(cmd) + ".mcap");
    write_file_or_throw(out, r.out);
    Json a = info(out);
    EXPECT_EQ(a["message_count"].u64(), b["message_count"].u64()) << cmd;
    expect_doctor_clean(out);
  }
}

TEST(CliRewrite, CompressDecompressSort) {
  TempDir tmp;
  std::string in = tmp.file("in.mcap"), c = tmp.file("c.mcap"), d = tmp.file("d.mcap"),
              s = tmp.file("s.mcap");
  synth(in, {"-p", "robot", "-d", "1", "-c", "lz4"});
  Json b = info(in);
  RunResult r = run_mcapkit({"compress", in, "-o", c, "-j", "2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("wrote"), std::string::npos);
  Json ci = info(c);
  EXPECT_EQ(ci["message_count"].u64(), b["message_count"].u64());
  for (size_t i = 0; i < ci["compression"].size(); i++)
    EXPECT_NE(ci["compression"][i]["compression"].str(), "lz4");
  expect_doctor_clean(c);

  r = run_mcapkit({"decompress", c, "-o", d});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Json di = info(d);
  EXPECT_EQ(di["message_count"].u64(), b["message_count"].u64());
  ASSERT_EQ(di["compression"].size(), 1u);
  expect_doctor_clean(d);

  r = run_mcapkit({"sort", d, "-o", s, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Json st = Json::parse(r.out);
  EXPECT_EQ(st["message_count"].u64(), b["message_count"].u64());
  expect_doctor_clean(s);
  r = run_mcapkit({"sort", d, "-o", s, "--order", "topic"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(info(s)["message_count"].u64(), b["message_count"].u64());
}

TEST(CliRewrite, Merge) {
  TempDir tmp;
  std::string a = tmp.file("a.mcap"), b = tmp.file("b.mcap"), m = tmp.file("m.mcap");
  synth(a, {"-p", "tiny", "-d", "5", "--seed", "1", "--metadata", "0"});
  synth(b, {"-p", "tiny", "-d", "5", "--seed", "2", "--metadata", "0"});
  RunResult r = run_mcapkit({"merge", a, b, "-o", m, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Json st = Json::parse(r.out);
  uint64_t want = info(a)["message_count"].u64() + info(b)["message_count"].u64();
  EXPECT_EQ(st["message_count"].u64(), want);
  EXPECT_EQ(st["channel_count"].u64(), 2u);
  EXPECT_EQ(info(m)["message_count"].u64(), want);
  expect_doctor_clean(m);
  r = run_mcapkit({"merge", a, b, "-o", m, "--coalesce-channels", "none", "--max-open", "2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(info(m)["channel_count"].u64(), 4u);
  // The output may not be one of the inputs.
  r = run_mcapkit({"merge", a, b, "-o", b});
  EXPECT_EQ(r.exit_code, 2);
}

TEST(CliRewrite, RecoverExitCodes) {
  TempDir tmp;
  std::string in = tmp.file("in.mcap"), out = tmp.file("out.mcap");
  synth(in, {"-p", "robot", "-d", "1"});
  Json b = info(in);
  RunResult r = run_mcapkit({"recover", in, "-o", out});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("nothing was lost"), std::string::npos) << r.out;
  EXPECT_EQ(info(out)["message_count"].u64(), b["message_count"].u64());

  std::string data = read_file_or_throw(in);
  std::string cut = tmp.file("cut.mcap");
  write_file_or_throw(cut, data.substr(0, data.size() * 2 / 3));
  r = run_mcapkit({"recover", cut, "-o", out, "--json"});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  Json rep = Json::parse(r.out);
  EXPECT_TRUE(rep["lost"]["any"].boolean());
  EXPECT_TRUE(rep["lost"]["truncated"].boolean());
  EXPECT_EQ(rep["exit_status"].u64(), 3u);
  EXPECT_GT(rep["recovered"]["message_count"].u64(), 0u);
  EXPECT_EQ(info(out)["message_count"].u64(), rep["recovered"]["message_count"].u64());
  expect_doctor_clean(out);

  std::string junk = tmp.file("junk.mcap");
  std::string j(50000, '\0');
  for (size_t i = 0; i < j.size(); i++) j[i] = (char)(i * 2654435761u >> 13);
  write_file_or_throw(junk, j);
  std::string none = tmp.file("none.mcap");
  r = run_mcapkit({"recover", junk, "-o", none});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("nothing could be recovered"), std::string::npos) << r.out;
  EXPECT_FALSE(exists(none));
}

// Start mcapkit with args (stdout and stderr to /dev/null, stdin from stdin_fd or
// /dev/null, TMPDIR=tmpdir), wait until it holds a file open in `watched` (other than
// `ignore`, an input there), then SIGKILL it; true if it was killed that way (false: it
// ended first, or never opened one).
bool kill_while_writing(const std::vector<std::string> &args, const std::string &watched,
                        int stdin_fd, const std::string &tmpdir, const std::string &ignore = "") {
  namespace fs = std::filesystem;
  std::vector<std::string> full{mcapkit_test::mcapkit_path()};
  full.insert(full.end(), args.begin(), args.end());
  std::vector<char *> argv;
  for (auto &a : full) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_s;
  for (char **e = environ; *e; e++)
    if (strncmp(*e, "TMPDIR=", 7) != 0) env_s.push_back(*e);
  env_s.push_back("TMPDIR=" + tmpdir);
  std::vector<char *> envp;
  for (auto &e : env_s) envp.push_back(e.data());
  envp.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  if (stdin_fd >= 0) posix_spawn_file_actions_adddup2(&fa, stdin_fd, 0);
  else posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid;
  int src = posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  if (src != 0) return false;
  std::string fds = "/proc/" + std::to_string(pid) + "/fd";
  bool writing = false;
  for (int i = 0; i < 3000 && !writing; i++) {
    std::error_code ec;
    for (const auto &e : fs::directory_iterator(fds, ec)) {
      std::error_code ec2;
      std::string to = fs::read_symlink(e.path(), ec2).string();
      if (to.rfind(watched + "/", 0) == 0 && to != ignore) writing = true;
    }
    if (!writing) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // some bytes written
  kill(pid, SIGKILL);
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) return false;
  return writing && WIFSIGNALED(status);
}

std::vector<std::string> names_in(const std::string &dir) {
  std::vector<std::string> out;
  for (const auto &e : std::filesystem::directory_iterator(dir)) out.push_back(e.path().filename());
  return out;
}

// Killed mid-write (SIGKILL: no handler runs), compress and synth leave nothing in the
// output directory: their outputs are unnamed temporary files until the rename (they
// used to leave ".OUT.tmp-XXXXXX" behind, a 186 MB one for a compress stopped after 1 s).
TEST(CliRewrite, KilledMidWriteLeavesNothingBehind) {
  namespace fs = std::filesystem;
  TempDir tmp;
  std::string in = tmp.file("in.mcap");
  synth(in, {"-d", "6", "-c", "lz4"});
  const std::vector<std::vector<std::string>> commands = {
      {"compress", in, "-o", "OUT", "--compression", "zstd", "--compression-level", "9", "-j", "1"},
      {"synth", "-o", "OUT", "-d", "600", "-c", "none"},
  };
  for (const auto &cmd : commands) {
    SCOPED_TRACE(cmd[0]);
    std::string outdir = tmp.file("out-" + cmd[0]);
    fs::create_directory(outdir);
    std::vector<std::string> args;
    for (const auto &a : cmd) args.push_back(a == "OUT" ? outdir + "/out.mcap" : a);
    ASSERT_TRUE(kill_while_writing(args, outdir, -1, tmp.path()));
    auto left = names_in(outdir);
    EXPECT_TRUE(left.empty()) << left[0];
  }
}

// `add` builds the amended file beside the original: killed meanwhile, it leaves the
// original as it was and nothing else (it used to leave ".NAME.add-XXXXXX").
TEST(CliRewrite, KilledAddLeavesTheOriginalAlone) {
  namespace fs = std::filesystem;
  TempDir tmp;
  std::string dir = tmp.file("target");
  fs::create_directory(dir);
  std::string target = dir + "/rec.mcap";
  synth(target, {"-d", "6", "-c", "lz4"});
  std::string before = read_file_or_throw(target);
  std::string big = tmp.file("big.bin");  // sparse: fast to read, slow enough to copy
  {
    int fd = open(big.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0644);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(ftruncate(fd, (off_t)1 << 30), 0);
    close(fd);
  }
  ASSERT_TRUE(kill_while_writing({"add", "attachment", target, "--file", big}, dir, -1,
                                 tmp.path(), target));
  EXPECT_EQ(names_in(dir), std::vector<std::string>{"rec.mcap"});
  EXPECT_TRUE(read_file_or_throw(target) == before);
}

// The copies of standard input that `cat -` (the CLI's spool, in $TMPDIR) and `merge -`
// (the pipeline's, beside the output) make have no name either: killed while copying,
// they leave none.
TEST(CliRewrite, KilledWhileSpoolingStdinLeavesNoCopy) {
  namespace fs = std::filesystem;
  TempDir tmp;
  std::string in = tmp.file("in.mcap");
  synth(in, {"-d", "2", "-c", "lz4"});
  std::string head = read_file_or_throw(in).substr(0, 1 << 20);
  const std::vector<std::vector<std::string>> commands = {
      {"cat", "-", "--data", "none", "--order", "log-time"},
      {"merge", "-", in, "-o", "SPOOL/merged.mcap"},  // merge spools beside its output
  };
  for (const auto &cmd : commands) {
    SCOPED_TRACE(cmd[0]);
    std::string spooldir = tmp.file("spool-" + cmd[0]);
    fs::create_directory(spooldir);
    int p[2];
    ASSERT_EQ(pipe(p), 0);
    // Part of a file, and the pipe kept open: the copy is never finished.
    ASSERT_EQ(write(p[1], head.data(), head.size() < 60000 ? head.size() : 60000),
              (ssize_t)(head.size() < 60000 ? head.size() : 60000));
    std::vector<std::string> args;
    for (const auto &a : cmd) args.push_back(a.rfind("SPOOL", 0) == 0 ? spooldir + a.substr(5) : a);
    bool killed = kill_while_writing(args, spooldir, p[0], spooldir);
    close(p[0]);
    close(p[1]);
    ASSERT_TRUE(killed);
    auto left = names_in(spooldir);
    EXPECT_TRUE(left.empty()) << left[0];
  }
}

// merge writes a new file: refusing to write over an input, it does not advise --in-place,
// an option merge does not have.
TEST(CliRewrite, MergeOverAnInputNamesNoOptionItLacks) {
  TempDir tmp;
  std::string in = tmp.file("in.mcap");
  synth(in, {"-p", "tiny", "-d", "1"});
  RunResult r = run_mcapkit({"merge", in, "-o", in});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("refusing to write over the input"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("--in-place"), std::string::npos) << r.err;
  r = run_mcapkit({"filter", in, "-o", in});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--in-place"), std::string::npos) << r.err;
}

// A rosbag2 file (two Metadata records named 'rosbag2') merges alone; read in place.
TEST(CliRewrite, MergeOfOneRosbag2File) {
  std::string real = std::string(MCAPKIT_SOURCE_DIR) + "/../shared/realworld/mcap/only_topics.mcap";
  if (!std::filesystem::exists(real)) GTEST_SKIP() << "no " << real;
  TempDir tmp;
  RunResult r = run_mcapkit({"merge", real, "-o", tmp.file("m.mcap")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err.find("differs"), std::string::npos) << r.err;
}

// recover: the report's lines on stderr carry the 'mcapkit recover:' prefix when the data
// goes to stdout, and a chunk without message indexes never claims "at least 0 messages".
TEST(CliRewrite, RecoverReportWording) {
  TempDir tmp;
  std::string in = tmp.file("in.mcap"), bad = tmp.file("bad.mcap");
  synth(in, {"-p", "tiny", "-d", "10", "-c", "none", "--no-message-index", "--chunk-size", "4K"});
  std::string b = read_file_or_throw(in);
  for (size_t i = b.size() / 2; i < b.size() / 2 + 64; i++) b[i] = (char)(b[i] ^ 0x55);
  write_file_or_throw(bad, b);
  RunResult r = run_mcapkit({"recover", bad, "-o", tmp.file("r.mcap")});
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
  EXPECT_EQ(r.out.find("at least 0 "), std::string::npos) << r.out;
  EXPECT_EQ(r.err.find("at least 0 "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("'" + bad + "': incomplete: "), std::string::npos) << r.err;
  // cut inside a chunk: its messages cannot be counted ('an unknown number', not 'at least 0')
  std::string cut = tmp.file("cut.mcap");
  write_file_or_throw(cut, b.substr(0, b.size() / 2));
  r = run_mcapkit({"recover", cut, "-o", tmp.file("c.mcap")});
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
  EXPECT_EQ(r.out.find("at least 0 "), std::string::npos) << r.out;
  EXPECT_EQ(r.err.find("at least 0 "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("'" + cut + "': incomplete: "), std::string::npos) << r.err;
  r = run_mcapkit({"recover", bad, "-o", "-"});
  std::istringstream lines(r.err);
  std::string line;
  size_t n = 0;
  while (std::getline(lines, line)) {
    EXPECT_EQ(line.rfind("mcapkit recover: ", 0), 0u) << line;
    n++;
  }
  EXPECT_GT(n, 2u) << r.err;
}
