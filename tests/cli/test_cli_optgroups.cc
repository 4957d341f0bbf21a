// test_cli_optgroups.cc - the shared option groups (cli/optgroups.h): every command that has
// a group lists its options in --help and its man page, and checks them the same way
// (compression, time range, topic selection, API access). All usage errors: nothing is read,
// written or sent, so these runs are quick.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "run.h"
#include "tmpdir.h"

using namespace mcapkit_test;

namespace {

bool contains(const std::string &s, const std::string &part) {
  return s.find(part) != std::string::npos;
}

std::string joined(const std::vector<std::string> &args) {
  std::string s;
  for (const std::string &a : args) s += a + " ";
  return s;
}

void expect_usage(const std::vector<std::string> &args, const std::string &message) {
  RunResult r = run_mcapkit(args);
  EXPECT_EQ(r.exit_code, 2) << joined(args) << "\n" << r.err;
  EXPECT_TRUE(contains(r.err, message)) << joined(args) << "\n" << r.err;
}

// The options of a group show in the --help and the man page of each command that has it.
TEST(CliOptGroups, ListedInHelpAndManPages) {
  const std::vector<std::pair<std::vector<std::string>, std::vector<std::string>>> groups = {
      {{"filter", "compress", "sort", "merge", "recover", "convert", "lake", "synth"},
       {"--compression", "--compression-level", "--chunk-size"}},
      {{"filter", "compress", "sort", "merge", "synth"}, {"--no-chunks"}},
      {{"filter", "export", "remote"}, {"-S, --start", "-E, --end"}},
      {{"filter"}, {"-y, --include-topic", "--exclude-topic"}},
      {{"agent"}, {"--exclude-topic"}},
      {{"upload", "reconcile", "export", "remote", "agent"}, {"--api-url", "--api-key-file"}},
  };
  std::map<std::string, std::pair<std::string, std::string>> pages;  // command: help, man
  for (const auto &g : groups) {
    for (const std::string &cmd : g.first) {
      if (!pages.count(cmd)) {
        RunResult help = run_mcapkit({"help", cmd});
        ASSERT_EQ(help.exit_code, 0) << cmd << "\n" << help.err;
        RunResult man = run_mcapkit({"man", cmd});
        ASSERT_EQ(man.exit_code, 0) << cmd << "\n" << man.err;
        pages[cmd] = {help.out, man.out};
      }
      const std::string &help = pages[cmd].first, &man = pages[cmd].second;
      for (const std::string &opt : g.second) {
        EXPECT_TRUE(contains(help, opt)) << cmd << " --help lacks " << opt << "\n" << help;
        // roff: "\fB\-\-chunk\-size\fR"
        std::string roff = "\\fB";
        for (char ch : opt.substr(opt.rfind("--")))
          roff += ch == '-' ? std::string("\\-") : std::string(1, ch);
        EXPECT_TRUE(contains(man, roff + "\\fR")) << cmd << " man page lacks " << roff;
      }
    }
  }
}

// One codec check for every MCAP-writing command.
TEST(CliOptGroups, CompressionCheckedTheSameEverywhere) {
  TempDir tmp;
  std::string in = tmp.file("absent.mcap"), o = tmp.file("o.mcap"), lake = tmp.file("lake");
  const std::vector<std::vector<std::string>> cmds = {
      {"filter", in, "-o", o},      {"compress", in, "-o", o}, {"sort", in, "-o", o},
      {"merge", in, "-o", o},       {"recover", in, "-o", o},  {"convert", in, "-o", o},
      {"lake", "--lake", lake, in}, {"synth", "-o", o},
  };
  for (std::vector<std::string> c : cmds) {
    std::vector<std::string> bad = c;
    bad.insert(bad.end(), {"-c", "brotli"});
    // lake used to say only "unknown compression 'brotli'"
    expect_usage(bad, "unknown compression 'brotli' (expected zstd, lz4");
    std::vector<std::string> level = c;
    level.insert(level.end(), {"-c", "lz4", "--compression-level", "40"});
    expect_usage(level, "'--compression-level 40' is out of range for lz4");
  }
  // the commands that keep the input's codec name 'preserve' among the choices
  expect_usage({"filter", in, "-o", o, "-c", "brotli"}, "none or preserve)");
  expect_usage({"compress", in, "-o", o, "-c", "preserve"},
               "unknown compression 'preserve' (expected zstd, lz4 or none)");
  // convert writes zstd by default: a level is checked against zstd at once, before any input
  // is opened (it used to go unchecked until the writer refused it)
  expect_usage({"convert", in, "-o", o, "--compression-level", "99"}, "out of range for zstd");
  expect_usage({"convert", in, "-o", o, "-c", "none", "--compression-level", "3"},
               "needs a compression");
}

// One time syntax, one message and the same inclusive range for every --start/--end.
TEST(CliOptGroups, TimeRangeCheckedTheSameEverywhere) {
  TempDir tmp;
  std::string in = tmp.file("absent.mcap"), o = tmp.file("o.mcap");
  const std::vector<std::vector<std::string>> cmds = {
      {"filter", in, "-o", o},
      {"extract", "topic", in, "/t", "-o", o},
      {"export", "--recording", "r1", "-o", o},
      {"remote", "recordings"},
      {"cat", in},
  };
  for (const std::vector<std::string> &c : cmds) {
    std::vector<std::string> bad = c;
    bad.insert(bad.end(), {"--start", "yesterday"});
    expect_usage(bad, "bad '--start': ");
    std::vector<std::string> frac = c;
    frac.insert(frac.end(), {"-E", "12.5"});  // a number without a unit names no time
    expect_usage(frac, "bad '--end': ");
    std::vector<std::string> rev = c;
    rev.insert(rev.end(), {"-S", "2026-01-02", "-E", "2026-01-01T23:59:59Z"});
    expect_usage(rev, "the start (--start) is after the end (--end)");
  }
}

// Topic patterns are checked before anything else is done; agent used to find a bad one only
// after reading the API key and opening the watched folders.
TEST(CliOptGroups, TopicPatternsCheckedFirst) {
  TempDir tmp;
  std::string in = tmp.file("absent.mcap"), o = tmp.file("o.mcap");
  expect_usage({"filter", in, "-o", o, "--include-topic", "/a("}, "/a(");
  expect_usage({"filter", in, "-o", o, "--exclude-topic", "[z-a]"}, "[z-a]");
  RunResult r =
      run_program({"/usr/bin/env", "-u", "FOXGLOVE_API_KEY", mcapkit_path(), "agent", "--watch",
                   tmp.file("nowhere"), "--device-name", "d", "--exclude-topic", "/a(", "--once"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_TRUE(contains(r.err, "/a(")) << r.err;
  EXPECT_FALSE(contains(r.err, "API key")) << r.err;
}

// API access: the same key rules for every network command, before any connection.
TEST(CliOptGroups, ApiKeyCheckedTheSameEverywhere) {
  TempDir tmp;
  std::string key = tmp.file("key");
  write_file_or_throw(key, "secret\n");
  std::string in = tmp.file("t.mcap"), o = tmp.file("o.mcap");
  ASSERT_EQ(run_mcapkit({"synth", "-p", "tiny", "-d", "1", "-o", in}).exit_code, 0);
  const std::vector<std::vector<std::string>> cmds = {
      {"export", "--recording", "r1", "-o", o},
      {"remote", "recordings"},
      {"reconcile", "--recording", "r1", in},
      {"upload", "--no-journal", in},
  };
  RunResult chmod = run_program({"/bin/chmod", "644", key});
  ASSERT_EQ(chmod.exit_code, 0);
  for (std::vector<std::string> c : cmds) {
    c.insert(c.end(), {"--api-url", "http://127.0.0.1:9", "--api-key-file", key});
    RunResult r = run_mcapkit(c);
    EXPECT_EQ(r.exit_code, 1) << joined(c) << "\n" << r.err;
    EXPECT_TRUE(contains(r.err, "is readable by others (mode 0644)")) << joined(c) << "\n" << r.err;
    EXPECT_FALSE(contains(r.err, "secret")) << r.err;
  }
}

}  // namespace
