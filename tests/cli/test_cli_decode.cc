// test_cli_decode.cc - 'mcapkit cat --decode' and 'mcapkit extract topic' (NDJSON, CSV):
// the built binary on files written with the libmcap writer (messages from the tests'
// own CDR encoder), on rosbag2's talker.mcap (read in place) and on a large synthetic
// recording (bounded memory).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "mcap/mcap.h"
#include "run.h"
#include "tmpdir.h"
#include "wire_encoders.h"

using mcapkit_test::CdrWriter;
using mcapkit_test::Json;
using mcapkit_test::read_file_or_throw;
using mcapkit_test::run_mcapkit;
using mcapkit_test::RunResult;
using mcapkit_test::TempDir;

namespace fs = std::filesystem;

namespace {

bool contains(const std::string &s, const std::string &part) {
  return s.find(part) != std::string::npos;
}

std::vector<std::string> lines_of(const std::string &s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  std::string line;
  while (std::getline(in, line)) out.push_back(line);
  return out;
}

struct Chan {
  std::string topic, message_encoding, schema_encoding, schema_name, schema;
};
struct Msg {
  size_t channel;
  uint64_t log_time;
  std::vector<uint8_t> data;
};

void write_mcap(const std::string &path, const std::vector<Chan> &chans,
                const std::vector<Msg> &msgs) {
  mcap_sink sink;
  mcap_error_info err{};
  ASSERT_EQ(mcap_sink_open_file(&sink, path.c_str(), &err), MCAP_OK) << err.msg;
  mcap_writer_options o;
  mcap_writer_options_init(&o);
  mcap_writer *w = nullptr;
  ASSERT_EQ(mcap_writer_open(&w, &sink, &o), MCAP_OK);
  std::vector<uint16_t> ids;
  for (const Chan &c : chans) {
    uint16_t sid = 0, cid = 0;
    mcap_bytes sd{reinterpret_cast<const uint8_t *>(c.schema.data()), c.schema.size()};
    ASSERT_EQ(mcap_writer_add_schema(w, mcap_str_c(c.schema_name.c_str()),
                                     mcap_str_c(c.schema_encoding.c_str()), sd, &sid),
              MCAP_OK);
    ASSERT_EQ(mcap_writer_add_channel(w, sid, mcap_str_c(c.topic.c_str()),
                                      mcap_str_c(c.message_encoding.c_str()), nullptr, 0, &cid),
              MCAP_OK);
    ids.push_back(cid);
  }
  uint32_t seq = 0;
  for (const Msg &m : msgs) {
    mcap_message msg{};
    msg.channel_id = ids.at(m.channel);
    msg.sequence = seq++;
    msg.log_time = m.log_time;
    msg.publish_time = m.log_time;
    msg.data.data = m.data.data();
    msg.data.len = m.data.size();
    ASSERT_EQ(mcap_writer_write_message(w, &msg), MCAP_OK) << mcap_writer_errmsg(w);
  }
  ASSERT_EQ(mcap_writer_close(w), MCAP_OK) << mcap_writer_errmsg(w);
  mcap_writer_free(w);
  ASSERT_EQ(mcap_sink_commit(&sink, &err), MCAP_OK) << err.msg;
  ASSERT_EQ(mcap_sink_close(&sink, &err), MCAP_OK);
}

const char kPose[] =
    "geometry_msgs/Point position\nfloat64[] samples\nuint8[] blob\nstring name\n"
    "================================================================================\n"
    "MSG: geometry_msgs/Point\nfloat64 x\nfloat64 y\nfloat64 z\n";

std::vector<uint8_t> pose(double x, int n, const std::string &name) {
  CdrWriter w;
  w.f64(x).f64(-x).f64(0.5);
  w.seq(static_cast<uint32_t>(n));
  for (int i = 0; i < n; i++) w.f64(i + 0.25);
  w.seq(3).u8(1).u8(2).u8(3).str(name);
  return w.bytes();
}

// /pose (decodable), /cam (no decoder), /broken (every other message truncated)
std::string mixed_file(const TempDir &tmp) {
  std::string p = tmp.file("mixed.mcap");
  std::vector<Msg> msgs;
  for (int i = 0; i < 6; i++) {
    msgs.push_back({0, 1000u + 10u * i, pose(i, i % 3, i == 4 ? "a,\"b\"" : "p")});
    auto b = pose(i, 1, "x");
    if (i % 2) b.resize(10);
    msgs.push_back({2, 1005u + 10u * i, b});
    msgs.push_back({1, 1006u + 10u * i, {1, 2, 3}});
  }
  write_mcap(p,
             {{"/pose", "cdr", "ros2msg", "pkg/msg/Pose", kPose},
              {"/cam", "flatbuffer", "flatbuffer", "foxglove.Image", "bfbs"},
              {"/broken", "cdr", "ros2msg", "pkg/msg/Pose", kPose}},
             msgs);
  return p;
}

TEST(CliDecode, CatDecodeTalker) {
  std::string path = std::string(MCAPKIT_SOURCE_DIR) + "/../shared/realworld/mcap/talker.mcap";
  if (!fs::exists(path)) GTEST_SKIP() << path << " not present";
  RunResult r = run_mcapkit({"cat", "--decode", path});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto ls = lines_of(r.out);
  ASSERT_EQ(ls.size(), 20u);
  Json l1 = Json::parse(ls[1]);
  EXPECT_EQ(l1["topic"].str(), "/topic");
  EXPECT_EQ(l1["log_time"].str(), "1585866235112609068");
  EXPECT_EQ(l1["message"]["data"].str(), "Hello, world! 0");
  EXPECT_FALSE(l1.has("data"));
  Json l0 = Json::parse(ls[0]);
  EXPECT_EQ(l0["message"]["name"].str(), "minimal_publisher");
  EXPECT_EQ(l0["message"]["level"].u64(), 20u);
  EXPECT_EQ(l0["message"]["stamp"]["nanosec"].u64(), 112130688u);
}

TEST(CliDecode, CatDecodeSkipsWhatCannotBeDecoded) {
  TempDir tmp;
  std::string p = mixed_file(tmp);
  RunResult r = run_mcapkit({"cat", "--decode", p});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  auto ls = lines_of(r.out);
  ASSERT_EQ(ls.size(), 9u) << r.out;  // 6 /pose + 3 whole /broken
  Json first = Json::parse(ls[0]);
  EXPECT_EQ(first["topic"].str(), "/pose");
  EXPECT_EQ(first["message"]["position"]["y"].number_text(), "-0");
  EXPECT_EQ(first["message"]["blob"].str(), "AQID");
  EXPECT_EQ(Json::parse(ls[1])["topic"].str(), "/broken");
  // one line about the channel without a decoder, one per broken message
  EXPECT_TRUE(contains(r.err,
                       "topic '/cam': no decoder for message encoding 'flatbuffer' with "
                       "schema encoding 'flatbuffer'; its messages are skipped"))
      << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 4) << r.err;
  EXPECT_TRUE(contains(r.err,
                       "topic '/broken' sequence 4 log time 1015: byte 4 of 10, field "
                       "'position.x': float64 needs 8 bytes, 6 left"))
      << r.err;
  r = run_mcapkit({"cat", "--decode", "--bytes", "length", "-t", "/pose", p});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Json::parse(lines_of(r.out)[0])["message"]["blob"].u64(), 3u);
  EXPECT_EQ(run_mcapkit({"cat", "--decode", "--format", "text", p}).exit_code, 2);
  EXPECT_EQ(run_mcapkit({"cat", "--decode", "--data", "none", p}).exit_code, 2);
  EXPECT_EQ(run_mcapkit({"cat", "--bytes", "length", p}).exit_code, 2);
  EXPECT_EQ(run_mcapkit({"cat", "--decode", "--bytes", "hex", p}).exit_code, 2);
}

TEST(CliDecode, ExtractNdjsonAndCsv) {
  TempDir tmp;
  std::string p = mixed_file(tmp);
  std::string nd = tmp.file("pose.ndjson"), csv = tmp.file("pose.csv");
  RunResult r = run_mcapkit({"extract", "topic", p, "/pose", "-o", nd});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "/pose")) << r.out;
  auto ls = lines_of(read_file_or_throw(nd));
  ASSERT_EQ(ls.size(), 6u);
  EXPECT_EQ(ls[2],
            "{\"topic\":\"/pose\",\"channel_id\":1,\"sequence\":6,\"log_time\":\"1020\","
            "\"publish_time\":\"1020\",\"message\":{\"position\":{\"x\":2,\"y\":-2,\"z\":0.5},"
            "\"samples\":[0.25,1.25],\"blob\":\"AQID\",\"name\":\"p\"}}");

  r = run_mcapkit({"extract", "topic", p, "/pose", "-o", csv, "--max-array", "1", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Json j = Json::parse(r.out);
  EXPECT_EQ(j["format"].str(), "csv");
  EXPECT_EQ(j["channels"][0]["written"].u64(), 6u);
  EXPECT_EQ(j["channels"][0]["columns"].u64(), 9u);
  EXPECT_EQ(read_file_or_throw(csv),
            "log_time,log_time_rfc3339,position.x,position.y,position.z,samples[0],"
            "samples.count,blob,name\n"
            "1000,1970-01-01T00:00:00.000001000Z,0,-0,0.5,,0,3,p\n"
            "1010,1970-01-01T00:00:00.000001010Z,1,-1,0.5,0.25,1,3,p\n"
            "1020,1970-01-01T00:00:00.000001020Z,2,-2,0.5,0.25,2,3,p\n"
            "1030,1970-01-01T00:00:00.000001030Z,3,-3,0.5,,0,3,p\n"
            "1040,1970-01-01T00:00:00.000001040Z,4,-4,0.5,0.25,1,3,\"a,\"\"b\"\"\"\n"
            "1050,1970-01-01T00:00:00.000001050Z,5,-5,0.5,0.25,2,3,p\n");
  // time range [start, end], both ends inclusive as for cat and filter (-S/-E), reverse
  // order, base64 bytes, to standard output
  r = run_mcapkit({"extract", "topic", p, "/pose", "-o", "-", "--format", "csv", "--start", "1010",
                   "--end", "1030", "--order", "reverse", "--bytes", "base64"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ls = lines_of(r.out);
  ASSERT_EQ(ls.size(), 4u) << r.out;
  EXPECT_EQ(ls[1].substr(0, 5), "1030,");
  EXPECT_EQ(ls[2].substr(0, 5), "1020,");
  EXPECT_TRUE(contains(ls[2], ",AQID,")) << ls[2];
  EXPECT_EQ(ls[3].substr(0, 5), "1010,");
  // one instant: -S X -E X gives the message logged at X
  r = run_mcapkit({"extract", "topic", p, "/pose", "-o", "-", "-f", "csv", "-S", "1020", "-E", "1020"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ls = lines_of(r.out);
  ASSERT_EQ(ls.size(), 2u) << r.out;
  EXPECT_EQ(ls[1].substr(0, 5), "1020,");
  // a start after the end is a usage error, as for cat
  r = run_mcapkit({"extract", "topic", p, "/pose", "-o", "-", "-S", "1030", "-E", "1020"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
}

TEST(CliDecode, ExtractSeveralTopicsAndSkippedMessages) {
  TempDir tmp;
  std::string p = mixed_file(tmp);
  std::string dir = tmp.file("tables");
  RunResult r = run_mcapkit({"extract", "topic", p, "/pose", "/broken", "-o", dir, "-f", "csv"});
  EXPECT_EQ(r.exit_code, 3) << r.err;  // three /broken messages skipped
  std::vector<std::string> names;
  for (const auto &e : fs::directory_iterator(dir)) names.push_back(e.path().filename());
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"broken.csv", "pose.csv"}));
  EXPECT_EQ(lines_of(read_file_or_throw(dir + "/broken.csv")).size(), 4u);  // header + 3
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 3) << r.err;
  // ndjson of both topics into one file, in log-time order
  std::string nd = tmp.file("both.ndjson");
  r = run_mcapkit({"extract", "topic", p, "/broken", "/pose", "-o", nd});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  auto ls = lines_of(read_file_or_throw(nd));
  ASSERT_EQ(ls.size(), 9u);
  EXPECT_EQ(Json::parse(ls[0])["topic"].str(), "/pose");
  EXPECT_EQ(Json::parse(ls[1])["topic"].str(), "/broken");
}

TEST(CliDecode, ExtractRefusesBeforeWriting) {
  TempDir tmp;
  std::string p = mixed_file(tmp);
  std::string out = tmp.file("out.csv");
  RunResult r = run_mcapkit({"extract", "topic", p, "/pose", "/nope", "-o", out});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "no channel has topic '/nope'")) << r.err;
  r = run_mcapkit({"extract", "topic", p, "/cam", "-o", out});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "no decoder for message encoding 'flatbuffer'")) << r.err;
  EXPECT_FALSE(fs::exists(out));
  std::vector<std::string> left;
  for (const auto &e : fs::directory_iterator(tmp.path())) left.push_back(e.path().filename());
  EXPECT_EQ(left, std::vector<std::string>{"mixed.mcap"});  // no temporary file either
  EXPECT_EQ(run_mcapkit({"extract", "topic", p, "/pose"}).exit_code, 2);  // no -o
  EXPECT_EQ(
      run_mcapkit({"extract", "topic", p, "/pose", "/broken", "-f", "csv", "-o", "-"}).exit_code,
      2);
  EXPECT_EQ(run_mcapkit({"extract", "topic", p, "/pose", "-o", "-", "--max-array", "2"}).exit_code,
            2);
  EXPECT_EQ(run_mcapkit({"extract", "topic", p, "/pose", "-o", out, "-f", "yaml"}).exit_code, 2);
  EXPECT_EQ(run_mcapkit({"extract", "topic", p, "/pose", "-o", "-", "--json"}).exit_code, 2);
  EXPECT_EQ(run_mcapkit({"extract", "-o", out, "topic", p, "/pose"}).exit_code, 2);
  r = run_mcapkit({"extract", "topic", "--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_TRUE(contains(r.out, "usage: mcapkit extract topic FILE TOPIC... -o OUT")) << r.out;
}

TEST(CliDecode, ExtractCsvMemoryStaysBounded) {
  TempDir tmp;
  std::string f = tmp.file("big.mcap");
  RunResult s = run_mcapkit({"synth", "-o", f, "--profile", "robot", "-d", "8", "-c", "lz4"});
  ASSERT_EQ(s.exit_code, 0) << s.err;
  ASSERT_GT(fs::file_size(f), 80u << 20);
  std::string out = tmp.file("imu.csv");
  RunResult r = run_mcapkit(
      {"extract", "topic", f, "/imu", "/lidar/points", "-o", tmp.file("t"), "-f", "csv", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Json j = Json::parse(r.out);
  EXPECT_GT(j["channels"][0]["written"].u64(), 7900u);
  EXPECT_EQ(j["channels"][1]["written"].u64(), 80u);
  EXPECT_EQ(lines_of(read_file_or_throw(tmp.file("t/imu.csv"))).size(),
            j["channels"][0]["written"].u64() + 1);
  EXPECT_LT(r.max_rss_kib, 64 * 1024) << "extract --format csv peak RSS";
}

}  // namespace
