// test_cli_several_files.cc - 'info' and 'doctor' take several files, as
// 'check' and 'index' do: per-file output in the order given (a blank line
// between text blocks, one JSON document per line with --json), the files
// after a bad one still looked at, and an exit status that is the worst of
// them (1 for a file that cannot be read, before 3 for problems found).
#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "broken_files.h"
#include "run.h"
#include "tmpdir.h"

using namespace mcapkit_test;

namespace {

std::vector<std::string> lines_of(const std::string &s) {
  std::vector<std::string> v;
  std::istringstream in(s);
  std::string l;
  while (std::getline(in, l)) v.push_back(l);
  return v;
}

size_t count(const std::string &s, const std::string &what) {
  size_t n = 0;
  for (size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + 1)) n++;
  return n;
}

struct Files {
  TempDir tmp;
  std::string good, warn, bad, missing;
  Files() {
    good = tmp.file("good.mcap");
    EXPECT_EQ(run_mcapkit({"synth", "-o", good, "-p", "tiny", "-d", "1"}).exit_code, 0);
    DoctorFileTweaks w;
    w.library = "";  // header-library-empty: a warning
    warn = tmp.file("warn.mcap");
    Bytes wb = doctor_file(w);
    write_file_or_throw(warn, std::string(wb.begin(), wb.end()));
    DoctorFileTweaks e;
    e.edit_statistics = [](Statistics &s) { s.message_count += 1; };  // an error
    bad = tmp.file("bad.mcap");
    Bytes eb = doctor_file(e);
    write_file_or_throw(bad, std::string(eb.begin(), eb.end()));
    missing = tmp.file("missing.mcap");
  }
};

}  // namespace

TEST(CliSeveralFiles, DoctorReportsEachFileAndExitsWithTheWorst) {
  Files f;
  RunResult r = run_mcapkit({"doctor", f.good, f.warn});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("OK " + f.good + ": "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("OK " + f.warn + ": 0 errors, 1 warning"), std::string::npos) << r.out;
  EXPECT_LT(r.out.find("OK " + f.good), r.out.find("OK " + f.warn)) << "in the order given";
  EXPECT_EQ(lines_of(r.out).back(), "2 of 2 files OK") << r.out;

  EXPECT_EQ(run_mcapkit({"doctor", "--strict", f.good, f.warn}).exit_code, 3);

  r = run_mcapkit({"doctor", f.bad, f.good});
  EXPECT_EQ(r.exit_code, 3) << r.out;
  EXPECT_NE(r.out.find("FAIL " + f.bad + ": 1 error"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("OK " + f.good), std::string::npos) << "kept going after a bad file";
  EXPECT_EQ(lines_of(r.out).back(), "1 of 2 files OK");

  r = run_mcapkit({"doctor", f.good, f.missing, f.bad});
  EXPECT_EQ(r.exit_code, 1) << "a file that cannot be read wins over one with errors";
  EXPECT_NE(r.err.find(f.missing), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("FAIL " + f.bad), std::string::npos) << r.out;
  EXPECT_EQ(lines_of(r.out).back(), "1 of 3 files OK");

  // --json: one compact document per file read, in order
  r = run_mcapkit({"doctor", "--json", f.good, f.bad, f.missing, f.warn});
  EXPECT_EQ(r.exit_code, 1);
  std::vector<std::string> ls = lines_of(r.out);
  ASSERT_EQ(ls.size(), 3u) << r.out;
  const std::string order[] = {f.good, f.bad, f.warn};
  for (size_t i = 0; i < ls.size(); i++) {
    Json j = Json::parse(ls[i]);
    EXPECT_EQ(j["format_version"].u64(), 1u);
    EXPECT_EQ(j["file"].str(), order[i]);
    EXPECT_EQ(j["ok"].boolean(), i != 1);
  }
  // one file: the pretty document as before
  r = run_mcapkit({"doctor", "--json", f.good});
  EXPECT_GT(lines_of(r.out).size(), 3u);
  EXPECT_EQ(Json::parse(r.out)["file"].str(), f.good);

  EXPECT_EQ(run_mcapkit({"doctor", "-", "-"}).exit_code, 2);
}

TEST(CliSeveralFiles, InfoDescribesEachFileAndExitsWithTheWorst) {
  Files f;
  RunResult r = run_mcapkit({"info", f.good, f.warn});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(count(r.out, "file:         "), 2u) << r.out;
  EXPECT_NE(r.out.find("file:         " + f.good), std::string::npos);
  EXPECT_NE(r.out.find("\n\nfile:         " + f.warn), std::string::npos) << r.out;

  r = run_mcapkit({"info", f.good, f.missing, f.warn});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(f.missing), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("file:         " + f.warn), std::string::npos) << "kept going";

  r = run_mcapkit({"info", "--json", f.good, f.warn});
  EXPECT_EQ(r.exit_code, 0);
  std::vector<std::string> ls = lines_of(r.out);
  ASSERT_EQ(ls.size(), 2u) << r.out;
  EXPECT_EQ(Json::parse(ls[0])["file"].str(), f.good);
  EXPECT_EQ(Json::parse(ls[1])["file"].str(), f.warn);
  EXPECT_EQ(Json::parse(ls[1])["message_count"].u64(), 6u);

  // standard input among files
  RunOptions o;
  o.stdin_data = read_file_or_throw(f.good);
  r = run_mcapkit({"info", "--json", f.warn, "-"}, o);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  ls = lines_of(r.out);
  ASSERT_EQ(ls.size(), 2u);
  EXPECT_EQ(Json::parse(ls[1])["file"].str(), "-");
  EXPECT_EQ(Json::parse(ls[1])["source"].str(), "scan");

  EXPECT_EQ(run_mcapkit({"info", "-", "-"}).exit_code, 2);
}
