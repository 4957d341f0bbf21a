// test_cli_synth.cc - 'mcapkit synth': determinism, profiles, compression,
// variants, stdout output, and the --json statistics.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "run.h"
#include "tmpdir.h"

using mcapkit_test::Json;
using mcapkit_test::read_file_or_throw;
using mcapkit_test::run_mcapkit;
using mcapkit_test::run_program;
using mcapkit_test::RunResult;
using mcapkit_test::TempDir;

namespace {

// Run synth with --json and return the parsed statistics.
Json synth(const std::string &out, std::vector<std::string> extra) {
  std::vector<std::string> args{"synth", "-o", out, "--json"};
  args.insert(args.end(), extra.begin(), extra.end());
  RunResult r = run_mcapkit(args);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  return Json::parse(r.out);
}

Json info(const std::string &path) {
  RunResult r = run_mcapkit({"info", "--json", path});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return Json::parse(r.out);
}

const Json *find_topic(const Json &stats, const std::string &topic) {
  for (size_t i = 0; i < stats["topics"].size(); i++)
    if (stats["topics"][i]["topic"].str() == topic) return &stats["topics"][i];
  return nullptr;
}

}  // namespace

TEST(CliSynth, SameSeedSameBytesDifferentSeedDifferentBytes) {
  TempDir tmp;
  for (const char *profile : {"tiny", "robot"}) {
    std::string d = std::string(profile) == "robot" ? "0.5" : "5";
    synth(tmp.file("a.mcap"), {"-p", profile, "-d", d, "--seed", "42"});
    synth(tmp.file("b.mcap"), {"-p", profile, "-d", d, "--seed", "42"});
    synth(tmp.file("c.mcap"), {"-p", profile, "-d", d, "--seed", "43"});
    std::string a = read_file_or_throw(tmp.file("a.mcap"));
    std::string b = read_file_or_throw(tmp.file("b.mcap"));
    std::string c = read_file_or_throw(tmp.file("c.mcap"));
    EXPECT_GT(a.size(), 1000u) << profile;
    EXPECT_TRUE(a == b) << profile << ": same seed gave different bytes";
    EXPECT_FALSE(a == c) << profile << ": different seeds gave the same bytes";
  }
}

TEST(CliSynth, StdoutMatchesFile) {
  TempDir tmp;
  synth(tmp.file("f.mcap"), {"-p", "tiny", "-d", "3", "--seed", "9"});
  RunResult r = run_mcapkit({"synth", "-o", "-", "-p", "tiny", "-d", "3", "--seed", "9"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_TRUE(r.out == read_file_or_throw(tmp.file("f.mcap")));
}

TEST(CliSynth, RobotProfileTopicsAndRates) {
  TempDir tmp;
  Json st = synth(tmp.file("r.mcap"), {"-p", "robot", "-d", "2"});
  EXPECT_EQ(st["format_version"].u64(), 1u);
  EXPECT_EQ(st["profile"].str(), "robot");
  struct Want {
    const char *topic;
    uint64_t per_2s;
    uint64_t min_bytes, max_bytes;  // per message
  };
  const Want want[] = {
      {"/camera/front/image", 60, 150000, 300000},
      {"/lidar/points", 20, 800000, 1300000},
      {"/imu", 2000, 50, 400},
      {"/tf", 200, 100, 400},
      {"/odom", 100, 400, 1000},
      {"/diagnostics", 2, 100, 5000},
      {"/rosout", 8, 30, 1000},
  };
  uint64_t total = 0;
  for (const Want &w : want) {
    const Json *t = find_topic(st, w.topic);
    ASSERT_NE(t, nullptr) << w.topic;
    uint64_t n = (*t)["message_count"].u64();
    EXPECT_GE(n + 1, w.per_2s) << w.topic;
    EXPECT_LE(n, w.per_2s + 1) << w.topic;
    uint64_t avg = (*t)["message_bytes"].u64() / (n ? n : 1);
    EXPECT_GE(avg, w.min_bytes) << w.topic;
    EXPECT_LE(avg, w.max_bytes) << w.topic;
    total += n;
  }
  EXPECT_EQ(st["message_count"].u64(), total);
  EXPECT_EQ(st["attachment_count"].u64(), 2u);
  EXPECT_EQ(st["metadata_count"].u64(), 2u);
  // The recording starts on 2026-01-01 (UTC) and lasts about two seconds.
  EXPECT_EQ(st["start_time"].str().substr(0, 10), "2026-01-01");
  uint64_t dur = st["end_time_ns"].u64() - st["start_time_ns"].u64();
  EXPECT_GT(dur, 1900000000u);
  EXPECT_LT(dur, 2000000001u);
}

TEST(CliSynth, RobotCompressesBetween1_5xAnd6xWithZstd) {
  TempDir tmp;
  Json st = synth(tmp.file("r.mcap"), {"-p", "robot", "-d", "2", "-c", "zstd"});
  Json in = info(tmp.file("r.mcap"));
  uint64_t comp = 0, uncomp = 0;
  for (size_t i = 0; i < in["compression"].size(); i++) {
    comp += in["compression"][i]["compressed_size"].u64();
    uncomp += in["compression"][i]["uncompressed_size"].u64();
  }
  ASSERT_GT(comp, 0u);
  double ratio = static_cast<double>(uncomp) / static_cast<double>(comp);
  EXPECT_GE(ratio, 1.5);
  EXPECT_LE(ratio, 6.0);
  // And on the file as a whole, against the message payload.
  double file_ratio =
      static_cast<double>(st["message_bytes"].u64()) / static_cast<double>(st["file_bytes"].u64());
  EXPECT_GE(file_ratio, 1.5);
  EXPECT_LE(file_ratio, 6.0);
  EXPECT_EQ(st["file_bytes"].u64(), read_file_or_throw(tmp.file("r.mcap")).size());
}

TEST(CliSynth, CompressionsProduceValidFiles) {
  TempDir tmp;
  for (const char *c : {"zstd", "lz4", "none"}) {
    std::string path = tmp.file(std::string("t_") + c + ".mcap");
    Json st = synth(path, {"-p", "tiny", "-d", "4", "-c", c});
    EXPECT_EQ(st["compression"].str(), c);
    RunResult r = run_mcapkit({"check", path});
    EXPECT_EQ(r.exit_code, 0) << c << ": " << r.out << r.err;
    Json in = info(path);
    EXPECT_EQ(in["message_count"].u64(), st["message_count"].u64()) << c;
  }
}

TEST(CliSynth, AttachmentAndMetadataCounts) {
  TempDir tmp;
  std::string p = tmp.file("a.mcap");
  synth(p, {"-p", "tiny", "-d", "2", "--attachments", "3", "--metadata", "5"});
  Json in = info(p);
  EXPECT_EQ(in["attachment_count"].u64(), 3u);
  EXPECT_EQ(in["metadata_count"].u64(), 5u);
  synth(p, {"-p", "tiny", "-d", "2", "--attachments", "0", "--metadata", "0"});
  in = info(p);
  EXPECT_EQ(in["attachment_count"].u64(), 0u);
  EXPECT_EQ(in["metadata_count"].u64(), 0u);
}

TEST(CliSynth, Variants) {
  TempDir tmp;
  std::string p = tmp.file("v.mcap");

  Json st = synth(p, {"-p", "tiny", "-d", "3", "--no-summary"});
  Json in = info(p);
  EXPECT_FALSE(in["has_summary"].boolean());
  EXPECT_EQ(in["message_count"].u64(), st["message_count"].u64());
  EXPECT_EQ(run_mcapkit({"check", p}).exit_code, 0);

  st = synth(p, {"-p", "tiny", "-d", "3", "--no-chunks"});
  in = info(p);
  EXPECT_EQ(in["chunk_count"].u64(), 0u);
  EXPECT_EQ(in["message_count"].u64(), st["message_count"].u64());
  EXPECT_EQ(run_mcapkit({"check", p}).exit_code, 0);

  synth(p, {"-p", "tiny", "-d", "3", "--no-crcs"});
  RunResult r = run_mcapkit({"check", p});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("no CRCs to verify"), std::string::npos) << r.out;

  st = synth(p, {"-p", "robot", "-d", "0.5", "--chunk-size", "64K", "--no-message-index"});
  in = info(p);
  EXPECT_EQ(in["message_count"].u64(), st["message_count"].u64());
  EXPECT_GT(in["chunk_count"].u64(), 10u);
  EXPECT_EQ(run_mcapkit({"check", p}).exit_code, 0);
}

TEST(CliSynth, PlainOutputNamesTheFile) {
  TempDir tmp;
  RunResult r = run_mcapkit({"synth", "-o", tmp.file("x.mcap"), "-p", "tiny", "-d", "1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("wrote '" + tmp.file("x.mcap") + "': ", 0), 0u) << r.out;
  EXPECT_EQ(r.err, "");  // no progress output when stderr is not a terminal
}

TEST(CliSynth, UnwritableOutputFailsAndLeavesNothing) {
  TempDir tmp;
  std::string bad = tmp.file("no/such/dir/x.mcap");
  RunResult r = run_mcapkit({"synth", "-o", bad, "-p", "tiny", "-d", "1"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err.rfind("mcapkit synth: ", 0), 0u) << r.err;
  EXPECT_EQ(run_program({"/bin/sh", "-c", "ls -A '" + tmp.path() + "'"}).out, "");
}
