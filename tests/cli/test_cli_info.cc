// test_cli_info.cc - 'mcapkit info': the scan results against what synth
// reports having written, human and JSON output, standard input, errors.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "mcap_builder.h"
#include "run.h"
#include "tmpdir.h"

using mcapkit_test::ChunkBuilder;
using mcapkit_test::Json;
using mcapkit_test::McapBuilder;
using mcapkit_test::read_file_or_throw;
using mcapkit_test::run_mcapkit;
using mcapkit_test::RunOptions;
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

}  // namespace

TEST(CliInfo, JsonMatchesSynthStats) {
  TempDir tmp;
  std::string p = tmp.file("r.mcap");
  Json st = synth(p, {"-p", "robot", "-d", "1", "--seed", "5"});
  RunResult r = run_mcapkit({"info", "--json", p});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Json in = Json::parse(r.out);
  EXPECT_EQ(in["format_version"].u64(), 1u);
  EXPECT_EQ(in["source"].str(), "summary");  // read from the footer and summary only
  EXPECT_EQ(in["file_size"].u64(), st["file_bytes"].u64());
  EXPECT_EQ(in["message_count"].u64(), st["message_count"].u64());
  EXPECT_EQ(in["start_time_ns"].str(), st["start_time_ns"].str());
  EXPECT_EQ(in["end_time_ns"].str(), st["end_time_ns"].str());
  EXPECT_EQ(in["start_time"].str(), st["start_time"].str());
  EXPECT_EQ(in["attachment_count"].u64(), st["attachment_count"].u64());
  EXPECT_EQ(in["metadata_count"].u64(), st["metadata_count"].u64());
  EXPECT_EQ(in["channel_count"].u64(), st["channel_count"].u64());
  EXPECT_EQ(in["schema_count"].u64(), st["schema_count"].u64());
  EXPECT_TRUE(in["has_summary"].boolean());
  EXPECT_TRUE(in["has_statistics"].boolean());
  EXPECT_EQ(in["library"].str().rfind("mcapkit/", 0), 0u);
  EXPECT_EQ(in["max_overlapping_chunks"].u64(), 1u);
  ASSERT_EQ(in["channels"].size(), st["topics"].size());
  for (size_t i = 0; i < st["topics"].size(); i++) {
    const Json &t = st["topics"][i];
    const Json &c = in["channels"][i];  // both ordered by channel id
    EXPECT_EQ(c["id"].u64(), t["channel_id"].u64());
    EXPECT_EQ(c["topic"].str(), t["topic"].str());
    EXPECT_EQ(c["message_count"].u64(), t["message_count"].u64()) << t["topic"].str();
  }
  EXPECT_EQ(in["channels"][0]["schema_name"].str(), "sensor_msgs/msg/Image");
  EXPECT_EQ(in["channels"][0]["schema_encoding"].str(), "ros2msg");
  EXPECT_EQ(in["channels"][0]["message_encoding"].str(), "cdr");
  // 1 kHz IMU: (count - 1) / duration of the file.
  EXPECT_NEAR(in["channels"][2]["frequency_hz"].num(), 1000.0, 15.0);
  uint64_t chunks = 0;
  for (size_t i = 0; i < in["compression"].size(); i++)
    chunks += in["compression"][i]["chunk_count"].u64();
  EXPECT_EQ(chunks, in["chunk_count"].u64());
  EXPECT_GE(in["largest_chunk"]["uncompressed_size"].u64(), 1000000u);  // a lidar scan
}

// The summary-only description equals the one a full scan computes (stdin forces a scan).
TEST(CliInfo, SummaryAgreesWithScan) {
  TempDir tmp;
  std::string p = tmp.file("r.mcap");
  synth(p, {"-p", "robot", "-d", "1", "--seed", "9", "--compression", "lz4"});
  RunResult fast = run_mcapkit({"info", "--json", p});
  RunOptions in;
  in.stdin_data = read_file_or_throw(p);
  RunResult slow = run_mcapkit({"info", "--json", "-"}, in);
  ASSERT_EQ(fast.exit_code, 0) << fast.err;
  ASSERT_EQ(slow.exit_code, 0) << slow.err;
  Json a = Json::parse(fast.out), b = Json::parse(slow.out);
  EXPECT_EQ(a["source"].str(), "summary");
  EXPECT_EQ(b["source"].str(), "scan");
  for (const char *k : {"message_count", "chunk_count", "schema_count", "channel_count",
                        "attachment_count", "metadata_count", "max_overlapping_chunks"}) {
    EXPECT_EQ(a[k].u64(), b[k].u64()) << k;
  }
  EXPECT_EQ(a["start_time_ns"].str(), b["start_time_ns"].str());
  EXPECT_EQ(a["end_time_ns"].str(), b["end_time_ns"].str());
  ASSERT_EQ(a["channels"].size(), b["channels"].size());
  for (size_t i = 0; i < a["channels"].size(); i++) {
    EXPECT_EQ(a["channels"][i]["message_count"].u64(), b["channels"][i]["message_count"].u64());
    EXPECT_EQ(a["channels"][i]["topic"].str(), b["channels"][i]["topic"].str());
  }
  EXPECT_EQ(a["compression"][0]["compressed_size"].u64(), b["compression"][0]["compressed_size"].u64());
  EXPECT_EQ(a["largest_chunk"]["offset"].u64(), b["largest_chunk"]["offset"].u64());
}

TEST(CliInfo, HumanOutput) {
  TempDir tmp;
  std::string p = tmp.file("t.mcap");
  Json st = synth(p, {"-p", "tiny", "-d", "4"});
  RunResult r = run_mcapkit({"info", p});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("messages:     " + std::to_string(st["message_count"].u64()) + "\n"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("start:        " + st["start_time"].str() + "\n"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("/chatter"), std::string::npos);
  EXPECT_NE(r.out.find("std_msgs/msg/String [ros2msg]"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("read from the summary section"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("profile:      ros2\n"), std::string::npos) << r.out;
  // the global --json works too
  RunResult j = run_mcapkit({"--json", "info", p});
  ASSERT_EQ(j.exit_code, 0);
  EXPECT_EQ(Json::parse(j.out)["message_count"].u64(), st["message_count"].u64());
}

TEST(CliInfo, StandardInput) {
  TempDir tmp;
  std::string p = tmp.file("t.mcap");
  Json st = synth(p, {"-p", "robot", "-d", "0.5", "-c", "lz4"});
  RunOptions o;
  o.stdin_data = read_file_or_throw(p);
  RunResult r = run_mcapkit({"info", "--json", "-"}, o);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Json in = Json::parse(r.out);
  EXPECT_EQ(in["message_count"].u64(), st["message_count"].u64());
  EXPECT_FALSE(in.has("file_size"));
  EXPECT_EQ(in["compression"][0]["compression"].str(), "lz4");
}

TEST(CliInfo, NoSummaryNoChunks) {
  TempDir tmp;
  std::string p = tmp.file("t.mcap");
  Json st = synth(p, {"-p", "tiny", "-d", "2", "--no-chunks", "--no-summary"});
  RunResult r = run_mcapkit({"info", "--json", p});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Json in = Json::parse(r.out);
  EXPECT_EQ(in["message_count"].u64(), st["message_count"].u64());
  EXPECT_EQ(in["chunk_count"].u64(), 0u);
  EXPECT_TRUE(in["largest_chunk"].is_null());
  EXPECT_FALSE(in["has_summary"].boolean());
  EXPECT_EQ(in["channels"].size(), 2u);
}

TEST(CliInfo, Errors) {
  TempDir tmp;
  RunResult r = run_mcapkit({"info", tmp.file("missing.mcap")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err.rfind("mcapkit info: ", 0), 0u) << r.err;
  EXPECT_EQ(r.out, "");

  std::string bad = tmp.file("bad.mcap");
  write_file_or_throw(bad, "not an mcap file at all");
  r = run_mcapkit({"info", bad});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err.rfind("mcapkit info: ", 0), 0u) << r.err;
}

// A hand-built file: chunks overlapping in time (up to three at once), times
// that are not Unix times (seconds since boot), and no summary.
TEST(CliInfo, OverlappingChunksAndBootTimes) {
  namespace t = mcapkit_test;
  McapBuilder b;
  b.magic();
  b.add(t::Header{"", "handmade"});
  t::Schema schema{1, "Point", "jsonschema", t::bytes_of("{}")};
  t::Channel channel{3, 1, "/points", "json", {}};
  auto msg = [](uint64_t sec10) {
    t::Message m;
    m.channel_id = 3;
    m.log_time = sec10 * 100000000u;  // tenths of seconds
    m.publish_time = m.log_time;
    m.data = t::bytes_of("{\"x\":1}");
    return m;
  };
  ChunkBuilder c1, c2, c3, c4;
  c1.add(schema);
  c1.add(channel);
  c1.add(msg(50));  // 5.0 s
  c1.add(msg(70));
  c2.add(msg(60));
  c2.add(msg(80));
  c3.add(msg(65));
  c4.add(msg(90));
  b.chunk(c1, "zstd");
  b.chunk(c2, "lz4");
  b.chunk(c3, "");
  b.chunk(c4, "zstd");
  b.data_end();
  b.finish();
  TempDir tmp;
  std::string p = tmp.file("h.mcap");
  write_file_or_throw(p, std::string(b.bytes().begin(), b.bytes().end()));

  RunResult r = run_mcapkit({"info", "--json", p});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Json in = Json::parse(r.out);
  EXPECT_EQ(in["library"].str(), "handmade");
  EXPECT_EQ(in["message_count"].u64(), 6u);
  EXPECT_EQ(in["chunk_count"].u64(), 4u);
  EXPECT_EQ(in["compression"].size(), 3u);
  EXPECT_EQ(in["max_overlapping_chunks"].u64(), 3u);
  EXPECT_EQ(in["start_time_ns"].str(), "5000000000");
  EXPECT_EQ(in["start_time"].str(), "5.000000000");
  EXPECT_EQ(in["end_time"].str(), "9.000000000");
  EXPECT_EQ(in["duration_ns"].str(), "4000000000");
  EXPECT_FALSE(in["has_summary"].boolean());
  ASSERT_EQ(in["channels"].size(), 1u);
  EXPECT_EQ(in["channels"][0]["id"].u64(), 3u);
  EXPECT_EQ(in["channels"][0]["schema_name"].str(), "Point");
  EXPECT_NEAR(in["channels"][0]["frequency_hz"].num(), 1.25, 1e-9);  // (6 - 1) / 4 s

  r = run_mcapkit({"info", p});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("start:        5.000000000\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("at most 3 overlapping"), std::string::npos) << r.out;
  EXPECT_EQ(run_mcapkit({"check", p}).exit_code, 0);
}
