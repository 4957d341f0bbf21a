// test_cli_man.cc - 'mcapkit man' (hidden): the manual pages generated from the command and
// option tables. Every option --help lists is on the page, roff special characters are
// escaped, -o writes one page per listed command, and wrong uses exit 1 or 2. (The install
// test, tests/install/check_install.sh, renders every installed page with man -l.)
#include <gtest/gtest.h>

#include <dirent.h>
#include <sys/stat.h>

#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "run.h"
#include "tmpdir.h"

using mcapkit_test::read_file_or_throw;
using mcapkit_test::run_mcapkit;
using mcapkit_test::RunResult;
using mcapkit_test::TempDir;

namespace {

bool contains(const std::string &s, const std::string &sub) {
  return s.find(sub) != std::string::npos;
}

// The long options "mcapkit CMD --help" lists, as they appear in roff ("\-\-name").
std::set<std::string> help_options(const std::string &cmd) {
  RunResult h = run_mcapkit({cmd, "--help"});
  EXPECT_EQ(h.exit_code, 0) << h.err;
  std::set<std::string> out;
  std::regex opt("--([a-z0-9][a-z0-9-]*)");
  for (std::sregex_iterator it(h.out.begin(), h.out.end(), opt), end; it != end; ++it) {
    std::string name = (*it)[1];
    std::string roff = "\\-\\-";
    for (char c : name) roff += c == '-' ? std::string("\\-") : std::string(1, c);
    out.insert(roff);
  }
  return out;
}

TEST(CliMan, CommandPageHasEveryHelpOption) {
  for (const char *cmd : {"filter", "doctor", "upload", "synth", "remote"}) {
    RunResult r = run_mcapkit({"man", cmd});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    std::string upper = cmd;
    for (char &c : upper) c = (char)toupper((unsigned char)c);
    EXPECT_TRUE(contains(r.out, ".TH MCAPKIT\\-" + upper + " 1 ")) << r.out.substr(0, 200);
    EXPECT_TRUE(contains(r.out, ".SH NAME\nmcapkit\\-" + std::string(cmd) + " \\- "));
    EXPECT_TRUE(contains(r.out, ".SH OPTIONS\n"));
    EXPECT_TRUE(contains(r.out, ".SH \"EXIT STATUS\"\n"));
    std::set<std::string> opts = help_options(cmd);
    EXPECT_GE(opts.size(), 2u) << cmd;
    for (const std::string &o : opts) EXPECT_TRUE(contains(r.out, o)) << cmd << ": " << o;
    // No line may start a roff request by accident: every line is a request we wrote
    // (.XX), or text that does not start with ' or a stray '.'.
    std::istringstream lines(r.out);
    std::string line;
    std::regex request("^\\.(TH|SH|PP|TP|RS|RE|nf|fi|nh|ad|B|BR)( |$)");
    while (std::getline(lines, line)) {
      if (line.empty()) continue;
      if (line[0] == '.') {
        EXPECT_TRUE(std::regex_search(line, request)) << cmd << ": " << line;
      }
      EXPECT_NE(line[0], '\'') << cmd << ": " << line;
    }
  }
}

TEST(CliMan, MainPageListsCommandsNotHiddenOnes) {
  RunResult r = run_mcapkit({"man"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, ".TH MCAPKIT 1 "));
  for (const char *cmd : {"doctor", "filter", "upload", "serve", "convert", "completion"})
    EXPECT_TRUE(contains(r.out, "\\fBmcapkit\\-" + std::string(cmd) + "\\fR(1)")) << cmd;
  EXPECT_FALSE(contains(r.out, "mcapkit\\-man")) << "the hidden command is listed";
}

TEST(CliMan, DescriptionEscapesAndExamples) {
  // completion's description has an indented example line: it is kept as a literal block.
  RunResult r = run_mcapkit({"man", "completion"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, ".RS 4\n.nf\nsource <(mcapkit completion bash)\n.fi\n.RE\n"))
      << r.out;
}

TEST(CliMan, OutputDirWritesOnePagePerListedCommand) {
  TempDir dir;
  RunResult r = run_mcapkit({"man", "-o", dir.path()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::set<std::string> files;
  DIR *d = opendir(dir.path().c_str());
  ASSERT_NE(d, nullptr);
  while (struct dirent *e = readdir(d))
    if (e->d_name[0] != '.') files.insert(e->d_name);
  closedir(d);
  RunResult help = run_mcapkit({"help"});
  std::istringstream lines(help.out.substr(help.out.find("commands:\n") + 10));
  std::string line;
  size_t commands = 0;
  while (std::getline(lines, line) && !line.empty()) {
    std::string name = line.substr(2, line.find(' ', 2) - 2);
    EXPECT_TRUE(files.count("mcapkit-" + name + ".1")) << name;
    commands++;
  }
  EXPECT_GE(commands, 20u);
  EXPECT_TRUE(files.count("mcapkit.1"));
  EXPECT_EQ(files.size(), commands + 1) << "no temporary files left, no page for hidden ones";
  // The written page is the one printed.
  EXPECT_EQ(read_file_or_throw(dir.file("mcapkit-info.1")), run_mcapkit({"man", "info"}).out);
}

TEST(CliMan, WrongUses) {
  EXPECT_EQ(run_mcapkit({"man", "nosuch"}).exit_code, 2);
  EXPECT_EQ(run_mcapkit({"man", "man"}).exit_code, 2);  // hidden: no page
  TempDir dir;
  EXPECT_EQ(run_mcapkit({"man", "-o", dir.path(), "info"}).exit_code, 2);
  RunResult missing = run_mcapkit({"man", "-o", dir.file("no/such/dir")});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_TRUE(contains(missing.err, "no/such/dir")) << missing.err;
}

}  // namespace
