// test_decode_realworld.cc - pl_decode on recordings written by rosbag2 (read in place from
// ../shared/realworld, never copied): std_msgs/String and rcl_interfaces/Log in CDR with
// the ros2msg schemas rosbag2 stores (repeated MSG: sections, package-relative names), and
// test_msgs/Empty and BasicTypes.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "decode_util.h"
#include "mcap/mcap.h"
#include "pipeline/decode.h"

using namespace decode_test;

namespace {

std::string realworld(const std::string &name) {
  return std::string(MCAPKIT_SOURCE_DIR) + "/../shared/realworld/mcap/" + name;
}

// Decode every message of a file; JSON lines per topic.
std::map<std::string, std::vector<std::string>> decode_file(const std::string &path) {
  std::map<std::string, std::vector<std::string>> out;
  mcap_source src;
  mcap_error_info err;
  if (mcap_source_open_file(&src, path.c_str(), &err) != MCAP_OK) {
    ADD_FAILURE() << err.msg;
    return out;
  }
  mcap_reader *r = nullptr;
  if (mcap_reader_open(&r, &src, nullptr, &err) != MCAP_OK) {
    ADD_FAILURE() << err.msg;
    return out;
  }
  mcap_message_iter *it = nullptr;
  EXPECT_EQ(mcap_reader_query(r, nullptr, &it), MCAP_OK);
  std::map<uint16_t, pl_decoder *> decoders;
  mcap_message_view v;
  pl_text t = PL_TEXT_INIT;
  while (it && mcap_message_iter_next(it, &v) == MCAP_OK) {
    pl_decoder *&d = decoders[v.channel->id];
    if (!d) {
      pl_decoder_spec spec;
      pl_decoder_spec_from(&spec, v.channel, v.schema);
      pl_decode_error_info e;
      EXPECT_EQ(pl_decoder_create(&d, &spec, nullptr, &e), PL_DECODE_OK) << e.msg;
      if (!d) break;
    }
    const pl_value *val = nullptr;
    EXPECT_EQ(pl_decoder_decode(d, &v.message, &val), PL_DECODE_OK) << pl_decoder_errmsg(d);
    t.len = 0;
    EXPECT_EQ(pl_decode_json_value(val, nullptr, &t), PL_DECODE_OK);
    out[std::string(v.channel->topic.data, v.channel->topic.len)].push_back(
        std::string(t.data, t.len));
  }
  pl_text_dispose(&t);
  for (auto &kv : decoders) pl_decoder_free(kv.second);
  mcap_message_iter_free(it);
  mcap_reader_free(r);
  return out;
}

bool have(const std::string &path) {
  FILE *f = fopen(path.c_str(), "rb");
  if (f) fclose(f);
  return f != nullptr;
}

TEST(DecodeRealworld, Rosbag2TalkerStringAndLog) {
  std::string path = realworld("talker.mcap");
  if (!have(path)) GTEST_SKIP() << path << " not present (the shared real-world recordings)";
  auto topics = decode_file(path);
  ASSERT_EQ(topics["/topic"].size(), 10u);
  ASSERT_EQ(topics["/rosout"].size(), 10u);
  EXPECT_EQ(topics["/topic"][0], "{\"data\":\"Hello, world! 0\"}");
  EXPECT_EQ(topics["/topic"][9], "{\"data\":\"Hello, world! 9\"}");
  EXPECT_EQ(topics["/rosout"][0],
            "{\"stamp\":{\"sec\":1585866235,\"nanosec\":112130688},\"level\":20,\"name\":"
            "\"minimal_publisher\",\"msg\":\"Publishing: 'Hello, world! 0'\",\"file\":"
            "\"/opt/ros2_ws/eloquent/src/ros2/examples/rclcpp/minimal_publisher/lambda.cpp\","
            "\"function\":\"operator()\",\"line\":38}");
}

TEST(DecodeRealworld, Rosbag2EmptyAndBasicTypes) {
  std::string path = realworld("convert_a.mcap");
  if (!have(path)) GTEST_SKIP() << path << " not present (the shared real-world recordings)";
  auto topics = decode_file(path);
  ASSERT_EQ(topics["a_empty"].size(), 100u);
  for (const auto &j : topics["a_empty"]) EXPECT_EQ(j, "{}");
  ASSERT_EQ(topics["b_basictypes"].size(), 50u);
  EXPECT_EQ(topics["b_basictypes"][0],
            "{\"bool_value\":false,\"byte_value\":0,\"char_value\":0,\"float32_value\":0,"
            "\"float64_value\":0,\"int8_value\":0,\"uint8_value\":100,\"int16_value\":0,"
            "\"uint16_value\":0,\"int32_value\":0,\"uint32_value\":0,\"int64_value\":0,"
            "\"uint64_value\":0}");
}

}  // namespace
