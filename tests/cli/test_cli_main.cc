// test_cli_main.cc - the mcapkit dispatcher and framework: global options,
// unknown commands, usage errors (exit 2), help rendering, version, completion.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "run.h"
#include "tmpdir.h"

using mcapkit_test::Json;
using mcapkit_test::run_mcapkit;
using mcapkit_test::run_program;
using mcapkit_test::RunOptions;
using mcapkit_test::RunResult;
using mcapkit_test::TempDir;

namespace {

bool starts_with(const std::string &s, const std::string &prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

bool contains(const std::string &s, const std::string &part) {
  return s.find(part) != std::string::npos;
}

}  // namespace

TEST(CliMain, NoCommandIsUsageError) {
  RunResult r = run_mcapkit({});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, "usage: mcapkit")) << r.err;
  EXPECT_EQ(r.out, "");
}

TEST(CliMain, UnknownCommand) {
  RunResult r = run_mcapkit({"frobnicate", "x"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "mcapkit: 'frobnicate' is not a mcapkit command. See 'mcapkit help'.\n");
  EXPECT_EQ(r.out, "");
}

TEST(CliMain, UnknownGlobalOption) {
  RunResult r = run_mcapkit({"--frob", "version"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(starts_with(r.err, "mcapkit: unknown option '--frob'")) << r.err;
}

TEST(CliMain, GlobalOptionsBeforeCommand) {
  RunResult r = run_mcapkit({"-v", "--json", "version"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Json j = Json::parse(r.out);
  EXPECT_EQ(j["format_version"].u64(), 1u);
}

TEST(CliMain, HelpListsVisibleCommands) {
  for (const std::vector<std::string> &args :
       {std::vector<std::string>{"help"}, std::vector<std::string>{"--help"},
        std::vector<std::string>{"-h"}}) {
    RunResult r = run_mcapkit(args);
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_TRUE(starts_with(r.out, "usage: mcapkit")) << r.out;
    for (const char *cmd : {"check", "help", "info", "synth", "version"})
      EXPECT_TRUE(contains(r.out, std::string("\n  ") + cmd + " ")) << cmd << "\n" << r.out;
    // every command is listed ('completion' used to be left out)
    EXPECT_TRUE(contains(r.out, "\n  completion ")) << r.out;
  }
}

TEST(CliMain, HelpCommandEqualsCommandHelp) {
  for (const char *cmd : {"check", "info", "synth", "version", "help", "completion"}) {
    RunResult a = run_mcapkit({"help", cmd});
    RunResult b = run_mcapkit({cmd, "--help"});
    RunResult c = run_mcapkit({cmd, "-h"});
    EXPECT_EQ(a.exit_code, 0) << cmd;
    EXPECT_EQ(b.exit_code, 0) << cmd;
    EXPECT_EQ(a.out, b.out) << cmd;
    EXPECT_EQ(b.out, c.out) << cmd;
    EXPECT_TRUE(starts_with(a.out, std::string("usage: mcapkit ") + cmd)) << a.out;
    EXPECT_TRUE(contains(a.out, "-h, --help")) << a.out;
    EXPECT_EQ(a.err, "");
  }
}

TEST(CliMain, HelpOfUnknownCommand) {
  RunResult r = run_mcapkit({"help", "frobnicate"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "mcapkit: 'frobnicate' is not a mcapkit command. See 'mcapkit help'.\n");
}

TEST(CliMain, HelpShowsEveryOption) {
  RunResult r = run_mcapkit({"synth", "--help"});
  ASSERT_EQ(r.exit_code, 0);
  for (const char *opt :
       {"-o, --output OUT.mcap", "--duration SECONDS", "--profile tiny|robot",
        "--compression zstd|lz4|none", "--compression-level N", "--chunk-size BYTES", "--seed N",
        "--attachments N", "--metadata N", "--no-summary", "--no-chunks", "--json"})
    EXPECT_TRUE(contains(r.out, opt)) << opt << "\n" << r.out;
}

TEST(CliMain, UsageErrorsExit2) {
  TempDir tmp;
  std::string out = tmp.file("x.mcap");
  const std::vector<std::vector<std::string>> cases = {
      {"synth"},                                      // missing -o
      {"synth", "-o"},                                // missing value
      {"synth", "-o", out, "--bogus"},                // unknown long option
      {"synth", "-o", out, "-Z"},                     // unknown short option
      {"synth", "-o", out, "--duration", "abc"},      // not a number
      {"synth", "-o", out, "--duration", "-1"},       // out of range
      {"synth", "-o", out, "--duration", "nan"},      // not finite
      {"synth", "-o", out, "--seed", "-3"},           // negative
      {"synth", "-o", out, "--seed", "12x"},          // garbage
      {"synth", "-o", out, "--chunk-size", "4Q"},     // bad suffix
      {"synth", "-o", out, "--profile", "boat"},      // unknown choice
      {"synth", "-o", out, "--compression", "gzip"},  // unknown choice
      {"synth", "-o", out, "extra"},                  // unexpected argument
      {"synth", "-o", "-", "--json"},                 // conflicting
      {"info"},                                       // missing file
      {"info", "-", "-"},                             // standard input twice
      {"check"},                                      // missing file
      {"version", "extra"},                           // too many
      {"completion"},                                 // missing shell
      {"completion", "tcsh"},                         // unsupported shell
  };
  for (const auto &args : cases) {
    RunResult r = run_mcapkit(args);
    std::string shown;
    for (const auto &a : args) shown += a + " ";
    EXPECT_EQ(r.exit_code, 2) << shown << "\n" << r.err;
    EXPECT_TRUE(starts_with(r.err, "mcapkit " + args[0] + ": ")) << shown << "\n" << r.err;
    EXPECT_TRUE(contains(r.err, "usage: mcapkit " + args[0])) << shown << "\n" << r.err;
    EXPECT_EQ(r.out, "") << shown;
  }
  // Nothing was written by any of the failed invocations.
  EXPECT_EQ(run_program({"/bin/sh", "-c", "ls -A '" + tmp.path() + "'"}).out, "");
}

TEST(CliMain, UsageErrorMessages) {
  RunResult r = run_mcapkit({"synth", "-o", "x.mcap", "--duration", "abc"});
  EXPECT_TRUE(
      starts_with(r.err, "mcapkit synth: option '--duration' expects a number, got 'abc'\n"))
      << r.err;
  r = run_mcapkit({"synth", "--bogus"});
  EXPECT_TRUE(starts_with(r.err, "mcapkit synth: unknown option '--bogus'\n")) << r.err;
  r = run_mcapkit({"synth", "-o"});
  EXPECT_TRUE(starts_with(r.err, "mcapkit synth: option '-o' needs a value\n")) << r.err;
  r = run_mcapkit({"synth", "--output"});
  EXPECT_TRUE(starts_with(r.err, "mcapkit synth: option '--output' needs a value\n")) << r.err;
}

TEST(CliMain, Version) {
  RunResult r = run_mcapkit({"version"});
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_TRUE(starts_with(r.out, "mcapkit ")) << r.out;
  EXPECT_TRUE(contains(r.out, "\nlibmcap ")) << r.out;
  RunResult g = run_mcapkit({"--version"});
  EXPECT_EQ(g.exit_code, 0);
  EXPECT_EQ(g.out, r.out);

  RunResult j = run_mcapkit({"version", "--json"});
  ASSERT_EQ(j.exit_code, 0);
  Json doc = Json::parse(j.out);
  EXPECT_EQ(doc["format_version"].u64(), 1u);
  EXPECT_FALSE(doc["mcapkit"].str().empty());
  EXPECT_FALSE(doc["libmcap"].str().empty());
  EXPECT_TRUE(contains(r.out, doc["libmcap"].str()));
}

TEST(CliMain, BashCompletionScript) {
  RunResult r = run_mcapkit({"completion", "bash"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "complete -o filenames -F _mcapkit mcapkit")) << r.out;
  for (const char *word : {"synth", "info", "check", "--compression-level", "--no-summary"})
    EXPECT_TRUE(contains(r.out, word)) << word;

  RunOptions syntax;
  syntax.stdin_data = r.out;
  RunResult n = run_program({"/bin/bash", "-n"}, syntax);
  EXPECT_EQ(n.exit_code, 0) << n.err;

  // Drive the completion function the way bash would.
  auto complete = [&](const std::string &words, int cword) {
    std::string script = r.out + "\nCOMP_WORDS=(" + words +
                         "); COMP_CWORD=" + std::to_string(cword) +
                         "; _mcapkit; echo \"${COMPREPLY[*]}\"\n";
    RunOptions o;
    o.stdin_data = script;
    RunResult c = run_program({"/bin/bash"}, o);
    EXPECT_EQ(c.exit_code, 0) << c.err;
    return c.out;
  };
  EXPECT_EQ(complete("mcapkit sy", 1), "synth\n");
  EXPECT_EQ(complete("mcapkit synth --prof", 2), "--profile\n");
  EXPECT_EQ(complete("mcapkit synth --profile r", 3), "robot\n");
  EXPECT_EQ(complete("mcapkit -v synth --compression ''", 4), "zstd lz4 none\n");
  EXPECT_EQ(complete("mcapkit help sy", 2), "synth\n");
  EXPECT_EQ(complete("mcapkit completion ''", 2), "bash\n");
}

// Start-up: libcurl and libmicrohttpd (and their ~30 TLS/LDAP/Kerberos dependencies) are not
// linked; the pipeline opens them when a network command or the local site needs them. The
// dynamic loader's own trace (LD_DEBUG=files) lists every object a run loaded, dlopen
// included.
namespace {

std::string loaded_objects(const std::vector<std::string> &args) {
  std::vector<std::string> argv = {"/usr/bin/env", "LD_DEBUG=files", mcapkit_test::mcapkit_path()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_program(argv).err;
}

}  // namespace

TEST(CliMain, CommandsWithoutNetworkDoNotLoadNetworkLibraries) {
  RunResult linked = run_program({"/usr/bin/env", "LD_TRACE_LOADED_OBJECTS=1",
                                  mcapkit_test::mcapkit_path(), "version"});
  ASSERT_TRUE(contains(linked.out, "libzstd")) << linked.out;  // the trace did run
  for (const char *lib : {"libcurl", "libmicrohttpd", "libsqlite3", "libyaml", "libbz2", "libsystemd"})
    EXPECT_FALSE(contains(linked.out, lib)) << linked.out;

  TempDir dir;
  const std::string f = dir.path() + "/t.mcap";
  ASSERT_EQ(run_mcapkit({"synth", "--profile", "tiny", "--duration", "1", "-o", f}).exit_code, 0);
  for (const std::vector<std::string> &args :
       {std::vector<std::string>{"version"}, std::vector<std::string>{"info", f},
        std::vector<std::string>{"doctor", f}}) {
    std::string trace = loaded_objects(args);
    ASSERT_TRUE(contains(trace, "file=libzstd")) << trace;
    EXPECT_FALSE(contains(trace, "libcurl")) << args[0];
    EXPECT_FALSE(contains(trace, "libmicrohttpd")) << args[0];
    // nor what only bag conversion (SQLite, libyaml, libbz2) or the agent under systemd needs
    for (const char *lib : {"libsqlite3", "libyaml", "libbz2", "libsystemd"})
      EXPECT_FALSE(contains(trace, lib)) << args[0] << " loads " << lib;
  }
  // A network command loads libcurl when it starts (and still not the server's library).
  std::string trace = loaded_objects({"remote", "--help"});
  EXPECT_TRUE(contains(trace, "file=libcurl.so.4")) << trace;
  EXPECT_FALSE(contains(trace, "libmicrohttpd"));
}
