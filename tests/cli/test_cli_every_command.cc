// test_cli_every_command.cc - every command of 'mcapkit help' (so a new command is covered
// as soon as it is listed) run on the inputs users get wrong: an empty file, a text file, a
// directory, a missing path, a 7-byte file and a truncated recording. Each must exit as the
// README's table says (1: unreadable input; 3: a recording it could read only in part) and
// say why on stderr in exactly one line that names the file. Commands that take no input
// file are listed below with the reason.
#include <gtest/gtest.h>

#include <stdlib.h>
#include <sys/stat.h>

#include <algorithm>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "run.h"
#include "tmpdir.h"

using mcapkit_test::read_file_or_throw;
using mcapkit_test::run_mcapkit;
using mcapkit_test::RunResult;
using mcapkit_test::TempDir;
using mcapkit_test::write_file_or_throw;

namespace {

// Commands without an input file, and why they are not run here.
const std::map<std::string, std::string> kNoInputFile = {
    {"agent", "a daemon on watched folders (tests/pipeline/test_agent_e2e.cc runs it)"},
    {"completion", "prints a shell script; takes a shell name"},
    {"help", "prints help; takes a command name"},
    {"remote", "talks to the API only; takes no local file"},
    {"serve", "runs a server on a data directory it creates"},
    {"synth", "writes a recording; reads none"},
    {"version", "prints versions"},
};

// How to run each command on FILE ("{}"); OUT is a fresh output path in the test directory.
// The second member is the exit code for a truncated recording (3 unless said).
struct Form {
  std::vector<std::string> args;
  int truncated_exit = 3;
};

std::map<std::string, Form> forms(const std::string &dir) {
  std::string out = dir + "/out.mcap";
  return {
      // add refuses to amend a damaged file: nothing is done, a failure
      {"add", {{"add", "metadata", "--name", "m", "--key", "a=b", "{}"}, 1}},
      {"cat", {{"cat", "{}"}}},
      {"check", {{"check", "{}"}}},
      {"compress", {{"compress", "{}", "-o", out}}},
      // convert takes bags: an MCAP input, whole or not, is refused (nothing to convert)
      {"convert", {{"convert", "{}", "-o", out}, 1}},
      {"coverage", {{"coverage", "{}"}}},
      {"decompress", {{"decompress", "{}", "-o", out}}},
      {"doctor", {{"doctor", "{}"}}},
      {"du", {{"du", "{}"}}},
      // events add reads the whole file before any request, and refuses a damaged one
      {"events",
       {{"events", "add", "{}", "--from-topic", "/chatter", "--device-name", "d"}, 1}},
      {"export", {{"export", "-r", "x", "-o", out, "--verify-against", "{}"}}},
      {"extract", {{"extract", "attachments", "{}", "-o", dir + "/extracted"}}},
      {"filter", {{"filter", "{}", "-o", out}}},
      {"get", {{"get", "attachment", "--name", "calibration.yaml", "-o", dir + "/att", "{}"}}},
      {"index", {{"index", "{}"}}},
      {"info", {{"info", "{}"}}},
      {"lake", {{"lake", "--lake", dir + "/lake", "{}"}}},
      {"list", {{"list", "channels", "{}"}}},
      {"merge", {{"merge", "{}", "-o", out}}},
      {"reconcile", {{"reconcile", "-r", "x", "{}"}}},
      {"report", {{"report", "{}", "-o", dir + "/report.html"}}},
      {"recover", {{"recover", "{}", "-o", out}}},
      {"sort", {{"sort", "{}", "-o", out}}},
      {"upload", {{"upload", "--no-wait", "{}"}}},
  };
}

std::vector<std::string> listed_commands() {
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

size_t count_lines(const std::string &s) {
  size_t n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

}  // namespace

TEST(CliEveryCommand, BadInputsGiveTheRightExitAndOneLine) {
  TempDir tmp;
  // The network commands must not reach any network: an address nothing listens on (they
  // read their local file first, and stop there on these inputs).
  setenv("MCAPKIT_API_URL", "http://127.0.0.1:1", 1);
  setenv("FOXGLOVE_API_KEY", "fox_sk_test", 1);
  std::string good = tmp.file("good.mcap");
  ASSERT_EQ(
      run_mcapkit({"synth", "-p", "tiny", "-d", "20", "--chunk-size", "4K", "-o", good}).exit_code,
      0);
  std::string bytes = read_file_or_throw(good);
  struct Input {
    std::string name, path;
    int exit;  // expected, 0 = the command's truncated_exit
  };
  std::vector<Input> inputs = {
      {"empty", tmp.file("empty.mcap"), 1},   {"text", tmp.file("text.mcap"), 1},
      {"directory", tmp.file("dir"), 1},      {"missing", tmp.file("missing.mcap"), 1},
      {"7 bytes", tmp.file("seven.mcap"), 1}, {"truncated", tmp.file("trunc.mcap"), 0},
  };
  write_file_or_throw(inputs[0].path, "");
  write_file_or_throw(inputs[1].path, "robot log of Tuesday: all fine\n");
  ASSERT_EQ(mkdir(inputs[2].path.c_str(), 0777), 0);
  write_file_or_throw(inputs[4].path, bytes.substr(0, 7));
  write_file_or_throw(inputs[5].path, bytes.substr(0, bytes.size() / 2));

  std::vector<std::string> cmds = listed_commands();
  ASSERT_GT(cmds.size(), 20u);
  std::map<std::string, Form> table = forms(tmp.path());
  for (const std::string &cmd : cmds) {
    if (kNoInputFile.count(cmd)) continue;
    ASSERT_TRUE(table.count(cmd)) << "'" << cmd
                                  << "' is a new command: add how to run it on a file here, or "
                                     "list it with the reason it takes none";
    for (const Input &in : inputs) {
      std::vector<std::string> args = table[cmd].args;
      for (std::string &a : args)
        if (a == "{}") a = in.path;
      RunResult r = run_mcapkit(args);
      int want = in.exit ? in.exit : table[cmd].truncated_exit;
      std::string what = cmd + " on " + in.name + " (" + in.path + ")";
      EXPECT_EQ(r.exit_code, want) << what << "\n" << r.err;
      EXPECT_EQ(count_lines(r.err), 1u) << what << "\n" << r.err;
      EXPECT_EQ(r.err.rfind("mcapkit " + cmd + ": ", 0), 0u) << what << "\n" << r.err;
      EXPECT_NE(r.err.find(in.path), std::string::npos) << what << ": the file is named\n" << r.err;
      // named once ("cannot open 'x': cannot open 'x': ..." repeated it)
      EXPECT_EQ(r.err.find(in.path, r.err.find(in.path) + 1), std::string::npos) << what << "\n"
                                                                                 << r.err;
    }
  }
  unsetenv("MCAPKIT_API_URL");
  unsetenv("FOXGLOVE_API_KEY");
  for (const auto &e : kNoInputFile)
    EXPECT_NE(std::find(cmds.begin(), cmds.end(), e.first), cmds.end())
        << e.first << " is listed as an exception but is no command";
}
