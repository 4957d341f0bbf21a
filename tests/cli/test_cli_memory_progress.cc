// test_cli_memory_progress.cc - long commands on a large file: 'du
// --approximate' keeps its peak RSS bounded (it read the message indexes
// through a whole-file mapping, which kept whatever the page cache mapped
// around them resident), and 'doctor', 'check' and 'lake' show a progress line
// on stderr when, and only when, stderr is a terminal.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "run.h"
#include "tmpdir.h"

using namespace mcapkit_test;

namespace {

// A robot recording of `seconds` (about 11 MB a second with lz4).
std::string big_file(TempDir &tmp, const std::string &name, const std::string &seconds) {
  std::string p = tmp.file(name);
  RunResult r = run_mcapkit({"synth", "-o", p, "-d", seconds, "-c", "lz4"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return p;
}

// Drop the file from the page cache, then read it back the way mcapkit reads files: the
// page cache then holds it in large folios, as after any cold read by mcapkit (a mapping
// faults in a whole folio around each byte it touches).
void cold_then_read_by_mcapkit(const std::string &path) {
  int fd = open(path.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  fsync(fd);
  posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  close(fd);
  ASSERT_EQ(run_mcapkit({"cat", path, "--data", "none"}).exit_code, 0);
}

}  // namespace

TEST(CliDu, ApproximateMemoryDoesNotGrowWithTheFile) {
  TempDir tmp;
  std::string f = big_file(tmp, "big.mcap", "8");
  cold_then_read_by_mcapkit(f);
  RunResult a = run_mcapkit({"du", "--approximate", "--json", f});
  ASSERT_EQ(a.exit_code, 0) << a.err;
  // 92 MB of lz4: the whole-file mapping peaked at 73 MiB here (241 MiB on 447 MB)
  EXPECT_LT(a.max_rss_kib, 48 * 1024) << "du --approximate peak RSS";
  RunResult e = run_mcapkit({"du", "--json", f});
  ASSERT_EQ(e.exit_code, 0) << e.err;
  EXPECT_LT(e.max_rss_kib, 64 * 1024) << "du peak RSS";
  EXPECT_EQ(Json::parse(a.out)["message_count"].u64(), Json::parse(e.out)["message_count"].u64());
}

TEST(CliProgress, OnATerminalOnly) {
  TempDir tmp;
  std::string f = big_file(tmp, "p.mcap", "1");  // > 4 MiB: at least one progress step
  std::string lake = tmp.file("lake");
  struct Cmd {
    std::vector<std::string> args;
    std::string prefix;  // of the progress line
  };
  const Cmd cmds[] = {
      {{"doctor", f}, "\rdoctor " + f + ": "},
      {{"check", f}, "\rcheck " + f + ": "},
      {{"lake", "--lake", lake, f}, "\rlake " + f + ": "},
  };
  for (const Cmd &c : cmds) {
    SCOPED_TRACE(c.args[0]);
    RunOptions tty;
    tty.stderr_tty = true;
    RunResult r = run_mcapkit(c.args, tty);
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_NE(r.err.find(c.prefix), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("%)"), std::string::npos) << r.err;
    // the line is erased at the end: nothing is left on it
    EXPECT_EQ(r.err.substr(r.err.size() - 4), "\r\033[K") << r.err;
    EXPECT_EQ(r.out.find('\r'), std::string::npos) << "progress on stdout";
    if (c.args[0] == "lake") run_program({"/bin/rm", "-rf", lake});
    RunResult plain = run_mcapkit(c.args);
    EXPECT_EQ(plain.exit_code, 0) << plain.err;
    EXPECT_EQ(plain.err, "") << "no progress when stderr is not a terminal";
    if (c.args[0] == "lake") run_program({"/bin/rm", "-rf", lake});
  }
}
