// test_cli_index.cc - 'mcapkit index' and 'mcapkit coverage': the JSON document
// and its keys, several files and directories (NDJSON, skipping unfinished
// files), --tolerance, exit codes for damaged and unreadable files, human
// output, and coverage grouped by device across recordings.
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

Json synth(const std::string &out, std::vector<std::string> extra) {
  std::vector<std::string> args{"synth", "-o", out, "--json"};
  args.insert(args.end(), extra.begin(), extra.end());
  RunResult r = run_mcapkit(args);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return Json::parse(r.out);
}

std::vector<std::string> lines(const std::string &s) {
  std::vector<std::string> v;
  size_t p = 0;
  while (p < s.size()) {
    size_t e = s.find('\n', p);
    if (e == std::string::npos) e = s.size();
    if (e > p) v.push_back(s.substr(p, e - p));
    p = e + 1;
  }
  return v;
}

}  // namespace

TEST(CliIndex, JsonDocumentOfOneRecording) {
  TempDir tmp;
  std::string p = tmp.file("r.mcap");
  Json st = synth(p, {"-p", "robot", "-d", "1", "--seed", "3"});
  RunResult r = run_mcapkit({"index", "--json", p});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Json d = Json::parse(r.out);
  std::vector<std::string> want = {"format_version", "recording",   "topics",   "coverage",
                                   "topic_coverage", "attachments", "metadata", "problems"};
  EXPECT_EQ(d.keys(), want);
  EXPECT_EQ(d["format_version"].u64(), 1u);
  EXPECT_EQ(d["recording"]["path"].str(), p);
  EXPECT_EQ(d["recording"]["messageCount"].u64(), st["message_count"].u64());
  EXPECT_EQ(d["recording"]["size"].u64(), st["file_bytes"].u64());
  EXPECT_EQ(d["recording"]["start"].str(), st["start_time"].str());
  EXPECT_EQ(d["recording"]["contentHash"].str().size(), 32u);
  EXPECT_EQ(d["recording"]["device"]["name"].str(), "robot-04");
  EXPECT_TRUE(d["recording"]["key"].is_null());
  EXPECT_EQ(d["topics"].size(), st["topics"].size());
  for (size_t i = 0; i < d["topics"].size(); i++) {
    const Json &t = d["topics"][i];
    for (const char *k : {"topic", "encoding", "schemaName", "schemaEncoding", "schema", "version"})
      EXPECT_EQ(t[k].type(), Json::kString) << k;
    EXPECT_EQ(t["messageCount"].type(), Json::kNumber);
  }
  ASSERT_EQ(d["coverage"].size(), 1u);
  EXPECT_EQ(d["coverage"][0]["start"].str(), st["start_time"].str());
  EXPECT_EQ(d["attachments"].size(), st["attachment_count"].u64());
  EXPECT_EQ(d["attachments"][0]["crc"].type(), Json::kNumber);
  EXPECT_EQ(d["attachments"][0]["fingerprint"].str().size(), 32u);
  EXPECT_EQ(d["metadata"][0]["name"].str(), "foxglove");
  EXPECT_EQ(d["problems"].size(), 0u);
  // the content hash does not depend on how the file is read
  RunResult r2 = run_mcapkit({"index", "--json", "--no-doctor", p});
  EXPECT_EQ(Json::parse(r2.out)["recording"]["contentHash"].str(),
            d["recording"]["contentHash"].str());
}

TEST(CliIndex, DirectoryNdjsonAndTolerance) {
  TempDir tmp;
  std::string d = tmp.path();
  mkdir((d + "/in").c_str(), 0777);
  synth(d + "/in/a.mcap", {"-p", "tiny", "-d", "2", "--seed", "1"});
  synth(d + "/in/b.mcap", {"-p", "tiny", "-d", "2", "--seed", "2"});
  std::string bytes = read_file_or_throw(d + "/in/a.mcap");
  write_file_or_throw(d + "/in/c.mcap", bytes.substr(0, bytes.size() / 2));  // still being written
  write_file_or_throw(d + "/in/d.mcap.active", bytes);
  RunResult r = run_mcapkit({"index", "--json", "--tolerance", "0.5", d + "/in"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto ls = lines(r.out);
  ASSERT_EQ(ls.size(), 2u) << r.out;
  EXPECT_EQ(Json::parse(ls[0])["recording"]["path"].str(), d + "/in/a.mcap");
  EXPECT_EQ(Json::parse(ls[1])["recording"]["path"].str(), d + "/in/b.mcap");
  EXPECT_EQ(Json::parse(ls[0])["recording"]["coverageToleranceNs"].u64(), 500000000u);
  // human output names the file and its topics
  r = run_mcapkit({"index", d + "/in/a.mcap"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.rfind(d + "/in/a.mcap\n", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("topics:"), std::string::npos);
  // bad option values
  EXPECT_EQ(run_mcapkit({"index", "--tolerance", "-1", d + "/in/a.mcap"}).exit_code, 2);
  EXPECT_EQ(run_mcapkit({"index", "--tolerance", "x", d + "/in/a.mcap"}).exit_code, 2);
}

TEST(CliIndex, FullCheckOnlyWhereTheFileIsReadWholeUnlessAsked) {
  // A bad chunk in a file whose summary and message indexes are intact: the default index
  // reads no chunk, so it cannot see it (and exits 0); --doctor decompresses every chunk and
  // reports it (exit 3); --no-doctor and --doctor together are a usage error.
  TempDir tmp;
  std::string p = tmp.file("r.mcap"), bad = tmp.file("bad.mcap");
  synth(p, {"-p", "robot", "-d", "1"});
  RunResult l = run_mcapkit({"list", "chunks", "--json", p});
  ASSERT_EQ(l.exit_code, 0) << l.err;
  Json first = Json::parse(lines(l.out).at(0));
  uint64_t at = first["offset"].u64() + first["length"].u64() / 2;
  std::string bytes = read_file_or_throw(p);
  bytes[at] = static_cast<char>(bytes[at] ^ 0x5a);
  write_file_or_throw(bad, bytes);

  RunResult r = run_mcapkit({"index", "--json", bad});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  Json d = Json::parse(r.out);
  EXPECT_EQ(d["problems"].size(), 0u) << r.out;

  r = run_mcapkit({"index", "--json", "--doctor", bad});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  d = Json::parse(r.out);
  bool names_chunk = false;
  for (size_t i = 0; i < d["problems"].size(); i++) {
    const Json &off = d["problems"][i]["offset"];
    names_chunk |= off.type() == Json::kNumber && off.u64() == first["offset"].u64();
  }
  EXPECT_TRUE(names_chunk) << r.out;

  EXPECT_EQ(run_mcapkit({"index", "--doctor", "--no-doctor", bad}).exit_code, 2);
}

TEST(CliIndex, DamagedFileExits3UnreadableExits1) {
  TempDir tmp;
  std::string p = tmp.file("r.mcap"), t = tmp.file("t.mcap"), g = tmp.file("g.mcap");
  synth(p, {"-p", "robot", "-d", "1"});
  std::string bytes = read_file_or_throw(p);
  write_file_or_throw(t, bytes.substr(0, bytes.size() / 2));
  write_file_or_throw(g, "not an mcap file");
  RunResult r = run_mcapkit({"index", "--json", t});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  Json d = Json::parse(r.out);
  EXPECT_TRUE(d["recording"]["partial"].boolean());
  ASSERT_GE(d["problems"].size(), 1u);
  bool truncated = false;
  for (size_t i = 0; i < d["problems"].size(); i++) {
    EXPECT_EQ(d["problems"][i]["severity"].type(), Json::kString);
    truncated |= d["problems"][i]["code"].str() == "truncated";
  }
  EXPECT_TRUE(truncated) << r.out;
  r = run_mcapkit({"index", g});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("not an MCAP file"), std::string::npos) << r.err;
  EXPECT_EQ(run_mcapkit({"index", tmp.file("missing.mcap")}).exit_code, 1);
}

TEST(CliCoverage, GroupedByDeviceAcrossRecordings) {
  TempDir tmp;
  // seeds 1 and 9 are the same device (robot-02), seed 2 another (robot-03)
  Json a = synth(tmp.file("a.mcap"), {"-p", "tiny", "-d", "3", "--seed", "1"});
  Json b = synth(tmp.file("b.mcap"), {"-p", "tiny", "-d", "3", "--seed", "9"});
  Json c = synth(tmp.file("c.mcap"), {"-p", "tiny", "-d", "3", "--seed", "2"});
  RunResult r = run_mcapkit({"coverage", "--json", "--by-topic", tmp.path()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Json d = Json::parse(r.out);
  EXPECT_EQ(d["format_version"].u64(), 1u);
  const Json &cov = d["coverage"];
  size_t dev2 = 0, dev3 = 0;
  for (size_t i = 0; i < cov.size(); i++) {
    std::string name = cov[i]["device"]["name"].str();
    if (name == "robot-02") dev2++;
    if (name == "robot-03") dev3++;
    EXPECT_EQ(cov[i]["start"].type(), Json::kString);
  }
  EXPECT_EQ(dev3, 1u);
  // two recordings of one device: one range if they touch within 14 s, else two
  EXPECT_GE(dev2, 1u);
  EXPECT_LE(dev2, 2u);
  EXPECT_GE(d["topic_coverage"].size(), 3u);
  // with a huge tolerance each device is one range
  r = run_mcapkit({"coverage", "--json", "--tolerance", "1000000", tmp.path()});
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_EQ(Json::parse(r.out)["coverage"].size(), 2u);
  r = run_mcapkit({"coverage", tmp.path()});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("robot-03"), std::string::npos) << r.out;
}
