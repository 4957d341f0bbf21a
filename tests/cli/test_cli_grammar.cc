// test_cli_grammar.cc - one grammar across commands: standard input as '-' whether a pipe
// or a redirected file, /dev/fd/N and <(cmd) paths read like '-'; one meaning per short
// option in every command's help; --no-crc spelled so everywhere (synth's old --no-crcs
// kept hidden); options validated (compression levels per codec, --no-chunks conflicts,
// --max-open, --threads); a reader that closes the pipe ends the run quietly with exit 0.
#include <gtest/gtest.h>

#include <stdlib.h>

#include <algorithm>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "run.h"
#include "tmpdir.h"

using mcapkit_test::mcapkit_path;
using mcapkit_test::read_file_or_throw;
using mcapkit_test::run_mcapkit;
using mcapkit_test::run_program;
using mcapkit_test::RunOptions;
using mcapkit_test::RunResult;
using mcapkit_test::TempDir;

namespace {

bool contains(const std::string &s, const std::string &part) {
  return s.find(part) != std::string::npos;
}

std::string quote(const std::string &s) {
  return "'" + s + "'";
}

// Run a shell line (for redirections and process substitution).
RunResult sh(const std::string &line) {
  return run_program({"/bin/bash", "-c", line});
}

std::string synth_tiny(const TempDir &tmp, const std::string &name = "t.mcap") {
  std::string p = tmp.file(name);
  RunResult r = run_mcapkit({"synth", "-p", "tiny", "-d", "3", "-o", p});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return p;
}

// The visible commands, from 'mcapkit help'.
std::vector<std::string> commands() {
  RunResult r = run_mcapkit({"help"});
  std::vector<std::string> out;
  std::istringstream in(r.out);
  std::string line;
  bool in_list = false;
  while (std::getline(in, line)) {
    if (line == "commands:") {
      in_list = true;
      continue;
    }
    if (in_list && line.empty()) break;
    if (in_list) {
      std::istringstream w(line);
      std::string name;
      w >> name;
      out.push_back(name);
    }
  }
  return out;
}

}  // namespace

// Standard input as '-' works the same from a pipe and redirected from a file; /dev/fd/N
// and <(cmd) paths are read like it. (filter/compress/decompress said "cannot open '-'"
// when standard input was a redirected file with a summary; info and cat refused /dev/fd
// paths as "not seekable".)
TEST(CliGrammar, StandardInputAndPipePathsEverywhere) {
  TempDir tmp;
  std::string in = synth_tiny(tmp);
  std::string m = quote(mcapkit_path()), q = quote(in), o = quote(tmp.file("o.mcap"));
  RunResult ref = run_mcapkit({"cat", in});
  ASSERT_EQ(ref.exit_code, 0);
  struct Case {
    std::string args;  // with {} where the input goes
    bool writes;       // -o o.mcap (then checked with cat)
  };
  std::vector<Case> cases = {{"cat {}", false},
                             {"info {}", false},
                             {"list channels {}", false},
                             {"du {}", false},
                             {"doctor {}", false},
                             {"index {}", false},
                             {"coverage {}", false},
                             {"get attachment --name calibration.yaml -o /dev/null {}", false},
                             {"filter {} -o " + o, true},
                             {"filter --order log-time {} -o " + o, true},
                             {"compress {} -o " + o, true},
                             {"decompress {} -o " + o, true},
                             {"sort {} -o " + o, true},
                             {"merge {} -o " + o, true},
                             {"recover {} -o " + o, true}};
  for (const Case &c : cases) {
    for (const std::string &form : {std::string("- < ") + q, std::string("cat ") + q + " | ",
                                    std::string("<(cat ") + q + ")", std::string("/dev/fd/3 3< ") + q}) {
      std::string line;
      std::string args = c.args;
      size_t at = args.find("{}");
      if (form.rfind("cat ", 0) == 0) {
        line = form + m + " " + args.replace(at, 2, "-");
      } else if (form.rfind("- < ", 0) == 0) {
        line = m + " " + args.replace(at, 2, "-") + " " + form.substr(2);
      } else if (form.rfind("/dev/fd/3", 0) == 0) {
        line = m + " " + args.replace(at, 2, "/dev/fd/3") + " " + form.substr(10);
      } else {
        line = m + " " + args.replace(at, 2, form);
      }
      RunResult r = sh(line);
      EXPECT_EQ(r.exit_code, 0) << line << "\n" << r.err;
      EXPECT_FALSE(contains(r.err, "cannot open '-'")) << line << "\n" << r.err;
      if (c.writes && r.exit_code == 0) {
        RunResult back = run_mcapkit({"cat", tmp.file("o.mcap")});
        EXPECT_EQ(back.out, ref.out) << line;
      }
    }
  }
  // upload sends named files: '-' is refused with the reason (exit 2)
  RunResult r = sh(m + " upload - < " + q);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_TRUE(contains(r.err, "named files")) << r.err;
  for (const std::string &form : {"<(cat " + q + ")", "/dev/fd/3 3< " + q}) {
    r = sh(m + " upload --no-journal " + form);
    EXPECT_EQ(r.exit_code, 2) << form << "\n" << r.err;
    EXPECT_TRUE(contains(r.err, "named files")) << form << "\n" << r.err;
  }
  EXPECT_TRUE(contains(run_mcapkit({"help", "upload"}).out, "Only named files are sent"));
}

// One meaning per short option across every command: -n is --limit, -j is --threads, -S/-E
// are --start/--end, ... (-n used to mean --limit, --exclude-topic or --name; -j threads or
// files; -s start, start-secs or seed). New commands are covered from 'mcapkit help'.
TEST(CliGrammar, OneMeaningPerShortOption) {
  std::map<char, std::set<std::string>> meaning;
  std::map<char, std::set<std::string>> where;
  std::vector<std::string> cmds = commands();
  ASSERT_GT(cmds.size(), 20u);
  for (const std::string &c : cmds) {
    RunResult r = run_mcapkit({"help", c});
    ASSERT_EQ(r.exit_code, 0) << c;
    std::istringstream in(r.out);
    std::string line;
    while (std::getline(in, line)) {
      // "  -x, --long VALUE  help"
      if (line.size() < 9 || line.compare(0, 3, "  -") != 0 || line[4] != ',') continue;
      char s = line[3];
      size_t b = line.find("--", 5);
      size_t e = line.find_first_of(" \n", b);
      std::string name = line.substr(b + 2, e == std::string::npos ? e : e - b - 2);
      meaning[s].insert(name);
      where[s].insert(c);
    }
  }
  for (const auto &m : meaning) {
    std::string all, cs;
    for (const std::string &n : m.second) all += " --" + n;
    for (const std::string &c : where[m.first]) cs += " " + c;
    EXPECT_EQ(m.second.size(), 1u) << "-" << m.first << " means" << all << " (in" << cs << ")";
  }
  EXPECT_EQ(*meaning['n'].begin(), "limit");
  EXPECT_EQ(*meaning['j'].begin(), "threads");
  EXPECT_EQ(*meaning['S'].begin(), "start");
  EXPECT_EQ(*meaning['E'].begin(), "end");
  EXPECT_EQ(*meaning['o'].begin(), "output");
}

// --no-crc everywhere; synth's old --no-crcs still works but is no longer listed.
TEST(CliGrammar, NoCrcEverywhere) {
  TempDir tmp;
  for (const char *c : {"synth", "filter", "compress", "decompress", "sort", "merge", "recover"}) {
    RunResult r = run_mcapkit({"help", c});
    EXPECT_TRUE(contains(r.out, "--no-crc ")) << c << "\n" << r.out;
    EXPECT_FALSE(contains(r.out, "--no-crcs")) << c;
  }
  std::string p = tmp.file("n.mcap");
  RunResult r = run_mcapkit({"synth", "-p", "tiny", "-d", "1", "--no-crcs", "--json", "-o", p});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  r = run_mcapkit({"synth", "-p", "tiny", "-d", "1", "--no-crc", "-o", p});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  r = run_mcapkit({"completion", "bash"});
  EXPECT_FALSE(contains(r.out, "--no-crcs")) << "hidden aliases are not completed";
}

// Options that would do nothing, or contradict each other, are usage errors (exit 2).
TEST(CliGrammar, OptionsAreValidated) {
  TempDir tmp;
  std::string in = synth_tiny(tmp), o = tmp.file("o.mcap");
  const std::vector<std::pair<std::vector<std::string>, std::string>> bad = {
      {{"compress", in, "-o", o, "--compression-level", "100"}, "out of range for zstd"},
      {{"compress", in, "-o", o, "-c", "lz4", "--compression-level", "13"}, "out of range for lz4"},
      {{"filter", in, "-o", o, "-c", "none", "--compression-level", "3"}, "needs a compression"},
      {{"synth", "-o", o, "--compression-level", "23"}, "out of range"},
      {{"merge", in, "-o", o, "--compression-level", "99"}, "out of range"},
      {{"lake", "--lake", tmp.file("l"), "--compression-level", "99", in}, "out of range"},
      {{"recover", in, "-o", o, "-c", "zstd", "--compression-level", "99"}, "out of range"},
      // the input decides the codec (preserve): checked once it is known
      {{"filter", in, "-o", o, "--compression-level", "30"}, "out of range for zstd"},
      {{"filter", in, "-o", o, "--no-chunks", "--chunk-size", "4K"}, "exclude each other"},
      {{"filter", in, "-o", o, "--no-chunks", "-c", "lz4"}, "exclude each other"},
      {{"compress", in, "-o", o, "--no-chunks"}, "exclude each other"},
      {{"synth", "-o", o, "--no-chunks", "--chunk-size", "1M"}, "exclude each other"},
      {{"merge", in, "-o", o, "--no-chunks", "--compression-level", "3"}, "exclude each other"},
      {{"merge", in, "-o", o, "--max-open", "0"}, "between 2 and 4096"},
      {{"merge", in, "-o", o, "--max-open", "1"}, "between 2 and 4096"},
      {{"compress", in, "-o", o, "-j", "-1"}, "between 0 and 256"},
      {{"lake", "--lake", tmp.file("l"), "-j", "300", in}, "between 0 and 256"},
      {{"upload", "--jobs", "65", in}, "1 to 64"},
  };
  for (const auto &b : bad) {
    RunResult r = run_mcapkit(b.first);
    std::string what;
    for (const std::string &a : b.first) what += a + " ";
    EXPECT_EQ(r.exit_code, 2) << what << "\n" << r.err;
    EXPECT_TRUE(contains(r.err, b.second)) << what << "\n" << r.err;
    EXPECT_FALSE(contains(r.err, "invalid argument")) << r.err;
  }
  // 0 is the documented default for --threads / --jobs; valid levels pass
  for (const std::vector<std::string> &ok :
       {std::vector<std::string>{"compress", in, "-o", o, "-j", "0", "--compression-level", "19"},
        std::vector<std::string>{"compress", in, "-o", o, "-c", "lz4", "--compression-level", "9"},
        std::vector<std::string>{"index", "--jobs", "0", in},
        std::vector<std::string>{"merge", in, "-o", o, "--max-open", "2"}}) {
    RunResult r = run_mcapkit(ok);
    EXPECT_EQ(r.exit_code, 0) << ok[0] << "\n" << r.err;
  }
  for (const char *c : {"compress", "index", "coverage", "lake", "upload"}) {
    RunResult r = run_mcapkit({"help", c});
    EXPECT_TRUE(contains(r.out, "0 or default")) << c << ": what 0 means is said\n" << r.out;
  }
}

// A reader that goes away (mcapkit cat f | head -1) ends the run quietly with exit 0, like
// 'git log | head'; a full disk is still an error.
TEST(CliGrammar, ClosedPipeEndsQuietly) {
  TempDir tmp;
  std::string in = tmp.file("r.mcap");
  ASSERT_EQ(run_mcapkit({"synth", "-p", "robot", "-d", "3", "-o", in}).exit_code, 0);
  std::string m = quote(mcapkit_path()), q = quote(in);
  for (const std::string &cmd : {std::string("cat ") + q, std::string("cat --json ") + q,
                                 std::string("list chunks ") + q, std::string("cat ") + q + " " + q}) {
    RunResult r = sh("set -o pipefail; " + m + " " + cmd + " | head -c 10 > /dev/null");
    EXPECT_EQ(r.exit_code, 0) << cmd << "\n" << r.err;
    EXPECT_EQ(r.err, "") << cmd;
  }
  RunResult r = sh(m + " cat " + q + " > /dev/full");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "error writing to standard output")) << r.err;
}

// "1 messages", "1 chunks": counts agree with their nouns.
TEST(CliGrammar, Plurals) {
  TempDir tmp;
  std::string p = tmp.file("one.mcap"), o = tmp.file("o.mcap");
  RunResult r = run_mcapkit(
      {"synth", "-p", "tiny", "-d", "1", "--attachments", "1", "--metadata", "1", "-o", p});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, " 1 attachment, 1 metadata record, ")) << r.out;
  r = run_mcapkit({"filter", p, "-y", "/chatter", "-o", o});
  EXPECT_TRUE(contains(r.out, " on 1 channel, 1 attachment, 1 metadata record;")) << r.out;
  r = run_mcapkit({"check", o});
  EXPECT_TRUE(contains(r.out, " 1 chunk, ")) << r.out;
  r = run_mcapkit({"merge", o, "-o", tmp.file("m.mcap")});
  EXPECT_TRUE(contains(r.out, "(0 duplicates dropped)")) << r.out;
}

// The human table of 'list' shows the start of a long value (rosbag2's QoS profiles run to
// kilobytes); --json has it whole.
TEST(CliGrammar, ListCutsLongCellsInTablesOnly) {
  TempDir tmp;
  std::string p = synth_tiny(tmp);
  RunResult t = run_mcapkit({"list", "channels", p});
  RunResult j = run_mcapkit({"list", "channels", "--json", p});
  ASSERT_EQ(t.exit_code, 0);
  std::istringstream in(t.out);
  std::string line;
  size_t longest = 0;
  while (std::getline(in, line)) longest = std::max(longest, line.size());
  EXPECT_LT(longest, 200u) << t.out;
  EXPECT_TRUE(contains(t.out, "...")) << t.out;
  EXPECT_TRUE(contains(j.out, "avoid_ros_namespace_conventions")) << "whole in --json";
}

// --end is inclusive everywhere and a start after the end is a usage error everywhere
// ('cat -s X -e X' printed nothing while 'filter -S X -E X' kept one message).
TEST(CliGrammar, InclusiveEndAndOrderedRangeEverywhere) {
  TempDir tmp;
  std::string p = synth_tiny(tmp), o = tmp.file("o.mcap");
  RunResult r = run_mcapkit({"cat", "--json", "-n", "1", p});
  ASSERT_EQ(r.exit_code, 0);
  size_t at = r.out.find("\"log_time\":\"") + 12;
  std::string t = r.out.substr(at, r.out.find('"', at) - at);
  r = run_mcapkit({"cat", "-S", t, "-E", t, p});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
  r = run_mcapkit({"filter", "-S", t, "-E", t + "ns", p, "-o", o, "--json"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "\"message_count\": 1,")) << r.out;
  setenv("MCAPKIT_API_URL", "http://127.0.0.1:1", 1);
  setenv("FOXGLOVE_API_KEY", "fox_sk_test", 1);
  for (const std::vector<std::string> &bad :
       {std::vector<std::string>{"cat", p, "-S", "2s", "-E", "1s"},
        std::vector<std::string>{"filter", p, "-o", o, "-S", "2s", "-E", "1s"},
        std::vector<std::string>{"export", "--device-name", "d", "--start", "2s", "--end", "1s",
                                 "-o", o},
        std::vector<std::string>{"remote", "recordings", "--start", "2s", "--end", "1s"}}) {
    r = run_mcapkit(bad);
    EXPECT_EQ(r.exit_code, 2) << bad[0] << "\n" << r.err;
  }
  unsetenv("MCAPKIT_API_URL");
  unsetenv("FOXGLOVE_API_KEY");
}
