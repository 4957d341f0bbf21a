// test_cli_lake.cc - 'mcapkit lake' and 'mcapkit lake verify': the layout and
// lake.json, a re-run reporting the recording complete, a directory of
// recordings, options, verify passing and failing, damaged files refused
// (exit 3) unless --allow-partial.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <string>
#include <vector>

#include "run.h"
#include "tmpdir.h"

using mcapkit_test::Json;
using mcapkit_test::read_file_or_throw;
using mcapkit_test::run_mcapkit;
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

bool exists(const std::string &p) {
  struct stat st;
  return stat(p.c_str(), &st) == 0;
}

}  // namespace

TEST(CliLake, WritesVerifiesAndSkipsWhenComplete) {
  TempDir tmp;
  std::string in = tmp.file("r.mcap"), lake = tmp.file("lake");
  synth(in, {"-p", "robot", "-d", "1", "--seed", "5"});
  RunResult r = run_mcapkit({"lake", "--json", "--lake", lake, "--jobs", "2", in});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Json d = Json::parse(r.out);
  const Json &rec = d["recordings"][0];
  EXPECT_FALSE(rec["skipped"].boolean());
  std::string dir = rec["recording_dir"].str();
  EXPECT_EQ(dir.rfind("robot-06/", 0), 0u) << dir;
  EXPECT_EQ(rec["files"].size(), 7u);
  EXPECT_TRUE(exists(lake + "/" + dir + "/_recording.mcap"));
  // lake.json is the lake-files endpoint's list
  Json lj = Json::parse(read_file_or_throw(lake + "/" + dir + "/lake.json"));
  ASSERT_EQ(lj.size(), 7u);
  for (size_t i = 0; i < lj.size(); i++) {
    EXPECT_EQ(lj[i].keys(), (std::vector<std::string>{"path", "topics"}));
    EXPECT_TRUE(exists(lake + "/" + lj[i]["path"].str()));
    EXPECT_EQ(lj[i]["topics"].size(), 1u);
  }
  Json ix = Json::parse(read_file_or_throw(lake + "/" + dir + "/index.json"));
  EXPECT_EQ(ix["format_version"].u64(), 1u);
  // index.json is exactly what 'mcapkit index --json' prints (the doctor's findings included)
  RunResult idx = run_mcapkit({"index", "--json", in});
  EXPECT_EQ(idx.exit_code, 0);
  EXPECT_EQ(idx.out, read_file_or_throw(lake + "/" + dir + "/index.json"));
  // each topic file passes the doctor
  for (size_t i = 0; i < lj.size(); i++) {
    RunResult doc = run_mcapkit({"doctor", lake + "/" + lj[i]["path"].str()});
    EXPECT_EQ(doc.exit_code, 0) << doc.out << doc.err;
  }

  r = run_mcapkit({"lake", "verify", "--lake", lake, in});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(r.out.rfind("OK " + in, 0), 0u) << r.out;

  r = run_mcapkit({"lake", "--lake", lake, in});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("complete " + in, 0), 0u) << r.out;

  // verify catches a damaged lake file
  std::string victim = lake + "/" + lj[0]["path"].str();
  std::string bytes = read_file_or_throw(victim);
  write_file_or_throw(victim, bytes.substr(0, bytes.size() - 100));
  r = run_mcapkit({"lake", "verify", "--json", "--lake", lake, in});
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
  Json v = Json::parse(r.out);
  EXPECT_FALSE(v["ok"].boolean());
  EXPECT_GE(v["files"][0]["differences"].size(), 1u);
}

TEST(CliLake, DirectoryOfRecordingsAndOptions) {
  TempDir tmp;
  std::string d = tmp.path(), lake = tmp.file("lake");
  mkdir((d + "/in").c_str(), 0777);
  synth(d + "/in/a.mcap", {"-p", "tiny", "-d", "2", "--seed", "1"});
  synth(d + "/in/b.mcap", {"-p", "tiny", "-d", "2", "--seed", "2"});
  RunResult r = run_mcapkit({"lake", "--lake", lake, "--compression", "lz4", "--chunk-size", "64K",
                             "--device", "bench", "--key", "k1", d + "/in/a.mcap"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(exists(lake + "/bench/k1/lake.json"));
  r = run_mcapkit({"lake", "--json", "--lake", lake, d + "/in"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Json j = Json::parse(r.out);
  ASSERT_EQ(j["recordings"].size(), 2u);
  r = run_mcapkit({"lake", "verify", "--lake", lake, d + "/in/a.mcap", d + "/in/b.mcap"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  // usage errors
  EXPECT_EQ(run_mcapkit({"lake", d + "/in/a.mcap"}).exit_code, 2);
  EXPECT_EQ(
      run_mcapkit({"lake", "--lake", lake, "--compression", "gzip", d + "/in/a.mcap"}).exit_code,
      2);
  EXPECT_EQ(run_mcapkit({"lake", "verify", "--lake", lake}).exit_code, 2);
}

TEST(CliLake, DamagedFileRefusedUnlessAllowPartial) {
  TempDir tmp;
  std::string in = tmp.file("r.mcap"), t = tmp.file("t.mcap"), lake = tmp.file("lake");
  synth(in, {"-p", "robot", "-d", "1"});
  std::string bytes = read_file_or_throw(in);
  write_file_or_throw(t, bytes.substr(0, bytes.size() / 2));
  RunResult r = run_mcapkit({"lake", "--lake", lake, t});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.err.find("cannot be read completely"), std::string::npos) << r.err;
  // What can be read is written, and what could not is said (exit 3: it is not all there).
  r = run_mcapkit({"lake", "--lake", lake, "--allow-partial", t});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.err.find("incomplete"), std::string::npos) << r.err;
  r = run_mcapkit({"lake", "verify", "--lake", lake, t});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
}
