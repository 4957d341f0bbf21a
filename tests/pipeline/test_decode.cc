// test_decode.cc - pl_decode: CDR (ros2msg, ros2idl), ROS 1, decoder errors and hostile
// schemas. Messages come from the tests' own encoders (tests/support/wire_encoders.h);
// the ROS 2 schema fixtures are in testdata/schemas.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "decode_util.h"
#include "pipeline/decode.h"
#include "wire_encoders.h"

using namespace decode_test;
using mcapkit_test::CdrWriter;
using mcapkit_test::Ros1Writer;

namespace {

const char kBasic[] =
    "# every primitive\n"
    "bool b\nbyte by\nchar c\nfloat32 f32\nfloat64 f64\nint8 i8\nuint8 u8\nint16 i16\n"
    "uint16 u16\nint32 i32\nuint32 u32\nint64 i64\nuint64 u64\nstring s\nwstring ws\n"
    "int32 CONSTANT=7\nstring TEXT=has # and = in it\n";

std::vector<uint8_t> basic_message(bool be) {
  CdrWriter w(be);
  w.boolean(true).u8(0xAB).u8(65).f32(1.5f).f64(-0.1).i8(-8).u8(200).i16(-1234).u16(60000);
  w.i32(-100000).u32(4000000000u).i64(-9007199254740993LL).u64(18446744073709551615ULL);
  w.str("h\xC3\xA9llo").wstr(U"w\u00F6rld\U0001F600");
  return w.bytes();
}

const char kBasicJson[] =
    "{\"b\":true,\"by\":171,\"c\":65,\"f32\":1.5,\"f64\":-0.1,\"i8\":-8,\"u8\":200,"
    "\"i16\":-1234,\"u16\":60000,\"i32\":-100000,\"u32\":4000000000,"
    "\"i64\":\"-9007199254740993\",\"u64\":\"18446744073709551615\",\"s\":\"h\xC3\xA9llo\","
    "\"ws\":\"w\xC3\xB6rld\xF0\x9F\x98\x80\"}";

TEST(DecodeCdr, EveryPrimitiveLittleEndian) {
  Made m = make("cdr", "ros2msg", "pkg/msg/Basic", kBasic);
  ASSERT_EQ(m.rc, PL_DECODE_OK) << m.err;
  EXPECT_STREQ(pl_decoder_format(m.d.get()), "ros2msg+cdr");
  EXPECT_EQ(to_json(m.d.get(), basic_message(false)), kBasicJson);
}

TEST(DecodeCdr, EveryPrimitiveBigEndian) {
  Made m = make("cdr", "ros2msg", "pkg/msg/Basic", kBasic);
  ASSERT_EQ(m.rc, PL_DECODE_OK) << m.err;
  EXPECT_EQ(to_json(m.d.get(), basic_message(true)), kBasicJson);
}

TEST(DecodeCdr, ValuesFieldByField) {
  Made m = make("cdr", "ros2msg", "pkg/msg/Basic", kBasic);
  ASSERT_EQ(m.rc, PL_DECODE_OK) << m.err;
  auto msg = basic_message(true);
  const pl_value *v = nullptr;
  ASSERT_EQ(pl_decoder_decode_bytes(m.d.get(), msg.data(), msg.size(), &v), PL_DECODE_OK);
  ASSERT_EQ(v->kind, PL_VALUE_STRUCT);
  ASSERT_EQ(v->count, 15u);  // constants are not members
  EXPECT_EQ(pl_value_member(v, "b")->kind, PL_VALUE_BOOL);
  EXPECT_EQ(pl_value_member(v, "by")->v.u, 171u);
  EXPECT_EQ(pl_value_member(v, "f32")->kind, PL_VALUE_FLOAT32);
  EXPECT_EQ(pl_value_member(v, "f32")->v.f32, 1.5f);
  EXPECT_EQ(pl_value_member(v, "f64")->v.f64, -0.1);
  EXPECT_EQ(pl_value_member(v, "i8")->v.i, -8);
  EXPECT_EQ(pl_value_member(v, "i16")->v.i, -1234);
  EXPECT_EQ(pl_value_member(v, "u16")->v.u, 60000u);
  EXPECT_EQ(pl_value_member(v, "i32")->v.i, -100000);
  EXPECT_EQ(pl_value_member(v, "u32")->v.u, 4000000000u);
  EXPECT_EQ(pl_value_member(v, "i64")->v.i, -9007199254740993LL);
  EXPECT_EQ(pl_value_member(v, "u64")->v.u, 18446744073709551615ULL);
  const pl_value *s = pl_value_member(v, "s");
  EXPECT_EQ(std::string(s->v.str, s->count), "h\xC3\xA9llo");
  EXPECT_EQ(pl_value_member(v, "CONSTANT"), nullptr);
}

TEST(DecodeCdr, AlignmentAfterStringsAndEmptySequences) {
  const char schema[] =
      "uint8 a\nuint32 x\nfloat64[] empty\nuint8 b\nstring s\nfloat64 d\nstring t\nint16 h\n"
      "int64[] one\n";
  Made m = make("cdr", "ros2msg", "pkg/msg/Align", schema);
  ASSERT_EQ(m.rc, PL_DECODE_OK) << m.err;
  for (bool be : {false, true}) {
    CdrWriter w(be);
    w.u8(1).u32(2).seq(0);  // no element: no alignment to 8
    EXPECT_EQ(w.offset(), 12u);
    w.u8(3);      // right after the length, at 12
    w.str("ab");  // length at 16, bytes 20..22
    w.f64(2.5);   // aligned to 24
    EXPECT_EQ(w.offset(), 32u);
    w.str("xyz").i16(-2);  // 32..40, then int16 at 40
    w.seq(1).i64(-5);      // length at 44, element aligned to 48
    EXPECT_EQ(w.offset(), 56u);
    EXPECT_EQ(to_json(m.d.get(), w.bytes()),
              "{\"a\":1,\"x\":2,\"empty\":[],\"b\":3,\"s\":\"ab\",\"d\":2.5,\"t\":\"xyz\","
              "\"h\":-2,\"one\":[-5]}")
        << (be ? "big endian" : "little endian");
  }
}

TEST(DecodeCdr, NestedArraysOfStructsAndBoundedSequences) {
  const char schema[] =
      "Point[2] fixed\nPoint[] dyn\nPoint[<=3] bounded\nint32[3] nums\nstring[] names\n"
      "int16[<=4] shorts\nstring<=5 bs\n"
      "================================================================================\n"
      "MSG: pkg/Point\nfloat32 x\nstring label\n";
  Made m = make("cdr", "ros2msg", "pkg/msg/Arrays", schema);
  ASSERT_EQ(m.rc, PL_DECODE_OK) << m.err;
  CdrWriter w;
  w.f32(1).str("a").f32(2).str("b");  // fixed[2]: no length
  w.seq(1).f32(3.25f).str("c");       // dyn
  w.seq(0);                           // bounded, empty
  w.i32(1).i32(2).i32(3);             // nums
  w.seq(2).str("x").str("");          // names
  w.seq(2).i16(7).i16(-7);            // shorts
  w.str("abc");
  EXPECT_EQ(to_json(m.d.get(), w.bytes()),
            "{\"fixed\":[{\"x\":1,\"label\":\"a\"},{\"x\":2,\"label\":\"b\"}],"
            "\"dyn\":[{\"x\":3.25,\"label\":\"c\"}],\"bounded\":[],\"nums\":[1,2,3],"
            "\"names\":[\"x\",\"\"],\"shorts\":[7,-7],\"bs\":\"abc\"}");
}

// sensor_msgs/msg/Imu in CDR.
std::vector<uint8_t> imu_message(bool be, const std::string &frame = "imu_link") {
  CdrWriter w(be);
  w.i32(1767225600).u32(500).str(frame);
  w.f64(0).f64(0).f64(0.38268343236508978).f64(0.92387953251128674);
  for (int i = 0; i < 9; i++) w.f64(i % 4 == 0 ? 1e-4 : 0);
  w.f64(0.001).f64(-0.002).f64(0.15);
  for (int i = 0; i < 9; i++) w.f64(i % 4 == 0 ? 2.5e-5 : 0);
  w.f64(0.03).f64(0.18).f64(9.80665);
  for (int i = 0; i < 9; i++) w.f64(i % 4 == 0 ? 4e-4 : 0);
  return w.bytes();
}

const char kImuJson[] =
    "{\"header\":{\"stamp\":{\"sec\":1767225600,\"nanosec\":500},\"frame_id\":\"imu_link\"},"
    "\"orientation\":{\"x\":0,\"y\":0,\"z\":0.3826834323650898,\"w\":0.9238795325112867},"
    "\"orientation_covariance\":[0.0001,0,0,0,0.0001,0,0,0,0.0001],"
    "\"angular_velocity\":{\"x\":0.001,\"y\":-0.002,\"z\":0.15},"
    "\"angular_velocity_covariance\":[0.000025,0,0,0,0.000025,0,0,0,0.000025],"
    "\"linear_acceleration\":{\"x\":0.03,\"y\":0.18,\"z\":9.80665},"
    "\"linear_acceleration_covariance\":[0.0004,0,0,0,0.0004,0,0,0,0.0004]}";

TEST(DecodeCdr, ImuFixtureBothByteOrders) {
  Made m = make("cdr", "ros2msg", "sensor_msgs/msg/Imu", fixture("sensor_msgs_msg_Imu.msg"));
  ASSERT_EQ(m.rc, PL_DECODE_OK) << m.err;
  EXPECT_EQ(to_json(m.d.get(), imu_message(false)), kImuJson);
  EXPECT_EQ(to_json(m.d.get(), imu_message(true)), kImuJson);
}

TEST(DecodeCdr, ImuFromIdlMatchesMsg) {
  Made m = make("cdr", "ros2idl", "sensor_msgs/msg/Imu", fixture("sensor_msgs_msg_Imu.idl"));
  ASSERT_EQ(m.rc, PL_DECODE_OK) << m.err;
  EXPECT_STREQ(pl_decoder_format(m.d.get()), "ros2idl+cdr");
  EXPECT_EQ(to_json(m.d.get(), imu_message(false)), kImuJson);
}

TEST(DecodeCdr, TfMessageFixture) {
  Made m = make("cdr", "ros2msg", "tf2_msgs/msg/TFMessage", fixture("tf2_msgs_msg_TFMessage.msg"));
  ASSERT_EQ(m.rc, PL_DECODE_OK) << m.err;
  CdrWriter w;
  w.seq(2);
  w.i32(10).u32(20).str("map").str("odom").f64(1).f64(2).f64(0).f64(0).f64(0).f64(0).f64(1);
  w.i32(11).u32(21).str("odom").str("base_link").f64(-1.5).f64(0.25).f64(0);
  w.f64(0).f64(0).f64(0.7071067811865476).f64(0.7071067811865476);
  EXPECT_EQ(to_json(m.d.get(), w.bytes()),
            "{\"transforms\":[{\"header\":{\"stamp\":{\"sec\":10,\"nanosec\":20},\"frame_id\":"
            "\"map\"},\"child_frame_id\":\"odom\",\"transform\":{\"translation\":{\"x\":1,\"y\":2,"
            "\"z\":0},\"rotation\":{\"x\":0,\"y\":0,\"z\":0,\"w\":1}}},{\"header\":{\"stamp\":{"
            "\"sec\":11,\"nanosec\":21},\"frame_id\":\"odom\"},\"child_frame_id\":\"base_link\","
            "\"transform\":{\"translation\":{\"x\":-1.5,\"y\":0.25,\"z\":0},\"rotation\":{\"x\":0,"
            "\"y\":0,\"z\":0.7071067811865476,\"w\":0.7071067811865476}}}]}");
}

std::vector<uint8_t> pointcloud_message() {
  CdrWriter w;
  w.i32(5).u32(6).str("lidar").u32(1).u32(2);
  w.seq(2).str("x").u32(0).u8(7).u32(1).str("y").u32(4).u8(7).u32(1);
  w.boolean(false).u32(8).u32(16);
  std::vector<uint8_t> data;
  for (int i = 0; i < 16; i++) data.push_back(static_cast<uint8_t>(i * 17));
  w.seq(16).raw(data).boolean(true);
  return w.bytes();
}

TEST(DecodeCdr, PointCloud2FixtureBytesAsBase64OrLength) {
  Made m = make("cdr", "ros2msg", "sensor_msgs/msg/PointCloud2",
                fixture("sensor_msgs_msg_PointCloud2.msg"));
  ASSERT_EQ(m.rc, PL_DECODE_OK) << m.err;
  const std::string head =
      "{\"header\":{\"stamp\":{\"sec\":5,\"nanosec\":6},\"frame_id\":\"lidar\"},\"height\":1,"
      "\"width\":2,\"fields\":[{\"name\":\"x\",\"offset\":0,\"datatype\":7,\"count\":1},"
      "{\"name\":\"y\",\"offset\":4,\"datatype\":7,\"count\":1}],\"is_bigendian\":false,"
      "\"point_step\":8,\"row_step\":16,\"data\":";
  EXPECT_EQ(to_json(m.d.get(), pointcloud_message()),
            head + "\"ABEiM0RVZneImaq7zN3u/w==\",\"is_dense\":true}");
  EXPECT_EQ(to_json(m.d.get(), pointcloud_message(), PL_BYTES_LENGTH),
            head + "16,\"is_dense\":true}");
}

TEST(DecodeCdr, DiagnosticArrayFixture) {
  Made m = make("cdr", "ros2msg", "diagnostic_msgs/msg/DiagnosticArray",
                fixture("diagnostic_msgs_msg_DiagnosticArray.msg"));
  ASSERT_EQ(m.rc, PL_DECODE_OK) << m.err;
  CdrWriter w;
  w.i32(1).u32(2).str("");
  w.seq(2);
  w.u8(2).str("motor").str("over \"temp\"\n").str("hw1").seq(1).str("temp").str("81.5");
  w.u8(0).str("battery").str("ok").str("").seq(0);
  EXPECT_EQ(to_json(m.d.get(), w.bytes()),
            "{\"header\":{\"stamp\":{\"sec\":1,\"nanosec\":2},\"frame_id\":\"\"},\"status\":["
            "{\"level\":2,\"name\":\"motor\",\"message\":\"over \\\"temp\\\"\\n\",\"hardware_id\":"
            "\"hw1\",\"values\":[{\"key\":\"temp\",\"value\":\"81.5\"}]},{\"level\":0,\"name\":"
            "\"battery\",\"message\":\"ok\",\"hardware_id\":\"\",\"values\":[]}]}");
}

TEST(DecodeCdr, EmptyMessagesHaveOnePlaceholderByte) {
  Made m = make("cdr", "ros2msg", "test_msgs/msg/Empty", "");
  ASSERT_EQ(m.rc, PL_DECODE_OK) << m.err;
  EXPECT_EQ(to_json(m.d.get(), {0, 1, 0, 0, 0}), "{}");
  Made n = make("cdr", "ros2msg", "pkg/msg/Outer",
                "Empty e\nuint8 x\n"
                "================================================================================\n"
                "MSG: pkg/Empty\n# nothing\n");
  ASSERT_EQ(n.rc, PL_DECODE_OK) << n.err;
  EXPECT_EQ(to_json(n.d.get(), {0, 1, 0, 0, 0, 9}), "{\"e\":{},\"x\":9}");
}

TEST(DecodeCdr, IdlTypesAndConstants) {
  const char idl[] =
      "================================================================================\n"
      "IDL: pkg/msg/Sample\n"
      "#include \"pkg/msg/Inner.idl\"\n"
      "module pkg {\n"
      "  module msg {\n"
      "    module Sample_Constants {\n"
      "      const uint8 LEVEL = 3;\n"
      "      const string NAME = \"a;b\";\n"
      "    };\n"
      "    const long N = 2;\n"
      "    typedef int32 Pair[N];\n"
      "    enum Color { RED, GREEN, BLUE };\n"
      "    /* a block comment */\n"
      "    struct Sample {\n"
      "      @default (value=5)\n"
      "      int16 a;\n"
      "      unsigned short b;\n"
      "      long c; long long d;\n"
      "      octet e;\n"
      "      boolean g;\n"
      "      string<8> bounded;\n"
      "      sequence<int32> nums;\n"
      "      sequence<Inner, 3> inners;\n"
      "      Pair pair;\n"
      "      double m[2][3];\n"
      "      Color color;\n"
      "      pkg::msg::Inner nested;\n"
      "      sequence<octet> blob;\n"
      "    };\n"
      "  };\n"
      "};\n"
      "================================================================================\n"
      "IDL: pkg/msg/Inner\n"
      "module pkg { module msg {\n"
      "  struct Inner { unsigned long long big; float f; };\n"
      "}; };\n";
  Made m = make("cdr", "ros2idl", "pkg/msg/Sample", idl);
  ASSERT_EQ(m.rc, PL_DECODE_OK) << m.err;
  CdrWriter w(true);
  w.i16(-5).u16(5).i32(-70000).i64(1LL << 40).u8(255).boolean(false).str("bnd");
  w.seq(3).i32(1).i32(2).i32(3);
  w.seq(1).u64(12345678901234567890ULL).f32(0.1f);
  w.i32(7).i32(8);
  for (int i = 0; i < 6; i++) w.f64(i * 0.5);
  w.u32(2);  // BLUE
  w.u64(1).f32(-2.5f);
  w.seq(3).u8(1).u8(2).u8(3);
  EXPECT_EQ(to_json(m.d.get(), w.bytes()),
            "{\"a\":-5,\"b\":5,\"c\":-70000,\"d\":1099511627776,\"e\":255,\"g\":false,"
            "\"bounded\":\"bnd\",\"nums\":[1,2,3],\"inners\":[{\"big\":\"12345678901234567890\","
            "\"f\":0.1}],\"pair\":[7,8],\"m\":[[0,0.5,1],[1.5,2,2.5]],\"color\":\"BLUE\","
            "\"nested\":{\"big\":1,\"f\":-2.5},\"blob\":\"AQID\"}");
}

TEST(DecodeCdr, Utf16WideStringsOnRequest) {
  pl_decode_options o = {};
  o.cdr_wchar_size = 2;
  Made m = make("cdr", "ros2msg", "pkg/msg/W", "wstring w\nuint8 after\n", &o);
  ASSERT_EQ(m.rc, PL_DECODE_OK) << m.err;
  CdrWriter w;
  w.wstr16(u"a\u00E9\U0001F600").u8(4);
  EXPECT_EQ(to_json(m.d.get(), w.bytes()), "{\"w\":\"a\xC3\xA9\xF0\x9F\x98\x80\",\"after\":4}");
}

TEST(DecodeCdr, TruncatedMessageNamesTopicSequenceTimeOffsetAndField) {
  Made m = make("cdr", "ros2msg", "sensor_msgs/msg/Imu", fixture("sensor_msgs_msg_Imu.msg"),
                nullptr, "/imu");
  ASSERT_EQ(m.rc, PL_DECODE_OK) << m.err;
  auto full = imu_message(false);
  std::vector<uint8_t> cut(full.begin(), full.begin() + 50);
  mcap_message msg = {};
  msg.sequence = 7;
  msg.log_time = 42;
  msg.data = mcap_bytes{cut.data(), cut.size()};
  const pl_value *v = nullptr;
  EXPECT_EQ(pl_decoder_decode(m.d.get(), &msg, &v), PL_DECODE_EMESSAGE);
  EXPECT_EQ(std::string(pl_decoder_errmsg(m.d.get())),
            "topic '/imu' sequence 7 log time 42: byte 44 of 50, field 'orientation.z': float64 "
            "needs 8 bytes, 6 left (message truncated?)");
  // every shorter prefix fails cleanly too
  for (size_t n = 0; n < full.size(); n++) {
    std::vector<uint8_t> p(full.begin(), full.begin() + static_cast<long>(n));
    EXPECT_EQ(to_json(m.d.get(), p).rfind("ERROR", 0), 0u) << n;
  }
  EXPECT_EQ(to_json(m.d.get(), full), kImuJson);  // the decoder is still usable
}

TEST(DecodeCdr, BadLengthsAndValues) {
  Made m = make("cdr", "ros2msg", "pkg/msg/L", "string s\nbool b\n");
  ASSERT_EQ(m.rc, PL_DECODE_OK) << m.err;
  CdrWriter big;
  big.u32(0x7FFFFFFF);
  std::string e = to_json(m.d.get(), big.bytes());
  EXPECT_NE(e.find("field 's': string length 2147483647 exceeds the 0 bytes left"),
            std::string::npos)
      << e;
  CdrWriter badbool;
  badbool.str("x").u8(2);
  e = to_json(m.d.get(), badbool.bytes());
  EXPECT_NE(e.find("field 'b': invalid bool value 2"), std::string::npos) << e;
  CdrWriter trailing;
  trailing.str("x").boolean(true).pad(3);
  EXPECT_EQ(to_json(m.d.get(), trailing.bytes()), "{\"s\":\"x\",\"b\":true}");  // padding
  trailing.pad(1);
  e = to_json(m.d.get(), trailing.bytes());
  EXPECT_NE(e.find("4 bytes left after the last field"), std::string::npos) << e;
  e = to_json(m.d.get(), {0, 7, 0, 0, 1, 0, 0, 0});
  EXPECT_EQ(e.rfind("ERROR " + std::to_string(PL_DECODE_EUNSUPPORTED), 0), 0u) << e;
  EXPECT_NE(e.find("0x0007 (XCDR2 little endian) is not supported"), std::string::npos) << e;
  e = to_json(m.d.get(), {0, 1});
  EXPECT_NE(e.find("shorter than the 4-byte CDR encapsulation header"), std::string::npos) << e;
}

TEST(DecodeCdr, HugeSequenceCountsFailBeforeAllocating) {
  pl_decode_options o = {};
  o.max_tree_bytes = 1 << 20;
  Made m = make("cdr", "ros2msg", "pkg/msg/H",
                "P[] ps\nfloat64[] ds\n"
                "================================================================================\n"
                "MSG: pkg/P\nfloat64 x\nfloat64 y\n",
                &o);
  ASSERT_EQ(m.rc, PL_DECODE_OK) << m.err;
  CdrWriter w;
  w.seq(0xFFFFFFFFu).f64(1);
  std::string e = to_json(m.d.get(), w.bytes());
  EXPECT_NE(e.find("4294967295 elements need at least 68719476720 bytes, 12 left"),
            std::string::npos)
      << e;
  CdrWriter w2;
  w2.seq(0).seq(1000000).f64(1);
  e = to_json(m.d.get(), w2.bytes());
  EXPECT_NE(e.find("field 'ds': array of 1000000 float64 needs 8000000 bytes, 8 left"),
            std::string::npos)
      << e;
}

// --------------------------------------------------------- hostile schemas

TEST(DecodeSchema, TypeContainingItselfIsRejected) {
  Made m = make("cdr", "ros2msg", "pkg/msg/A",
                "B b\n"
                "================================================================================\n"
                "MSG: pkg/B\nA a\n");
  EXPECT_EQ(m.rc, PL_DECODE_ESCHEMA);
  EXPECT_NE(m.err.find("contains itself"), std::string::npos) << m.err;
  Made f = make("cdr", "ros2msg", "pkg/msg/A", "A[2] twice\n");
  EXPECT_EQ(f.rc, PL_DECODE_ESCHEMA) << f.err;
}

std::vector<uint8_t> tree_message(int depth) {
  CdrWriter w;
  std::function<void(int)> node = [&](int d) {
    w.seq(d > 0 ? 1 : 0);
    if (d > 0) node(d - 1);
    w.i32(d);
  };
  node(depth);
  return w.bytes();
}

TEST(DecodeSchema, RecursionThroughSequencesIsBoundedByDepth) {
  Made m = make("cdr", "ros2msg", "pkg/msg/Node", "Node[] children\nint32 v\n");
  ASSERT_EQ(m.rc, PL_DECODE_OK) << m.err;
  EXPECT_EQ(to_json(m.d.get(), tree_message(2)),
            "{\"children\":[{\"children\":[{\"children\":[],\"v\":0}],\"v\":1}],\"v\":2}");
  EXPECT_EQ(to_json(m.d.get(), tree_message(20)).rfind("{", 0), 0u);
  std::string e = to_json(m.d.get(), tree_message(5000));
  EXPECT_EQ(e.rfind("ERROR " + std::to_string(PL_DECODE_ELIMIT), 0), 0u) << e.substr(0, 200);
  EXPECT_NE(e.find("nesting deeper than 64 levels"), std::string::npos);
}

TEST(DecodeSchema, DeepTypeChainsAndHugeFixedArraysAreLimited) {
  std::string chain;
  for (int i = 0; i < 200; i++) {
    if (i)
      chain +=
          "================================================================================\nMSG: "
          "pkg/T" +
          std::to_string(i) + "\n";
    chain += i < 199 ? "T" + std::to_string(i + 1) + " next\n" : "int32 x\n";
  }
  Made m = make("cdr", "ros2msg", "pkg/msg/T0", chain);
  EXPECT_EQ(m.rc, PL_DECODE_ELIMIT);
  EXPECT_NE(m.err.find("nest deeper than 64"), std::string::npos) << m.err;
  Made big = make("cdr", "ros2msg", "pkg/msg/B", "uint8[100000000] x\n");
  EXPECT_EQ(big.rc, PL_DECODE_ELIMIT);
  EXPECT_NE(big.err.find("fixed array of 100000000 elements (limit 16777216)"), std::string::npos)
      << big.err;
  Made idl =
      make("cdr", "ros2idl", "a/B", "module a { struct B { double x[4000][5000][6000]; }; };");
  ASSERT_EQ(idl.rc, PL_DECODE_OK) << idl.err;  // legal, but no message can be long enough
  std::string e = to_json(idl.d.get(), {0, 1, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8});
  EXPECT_EQ(e.rfind("ERROR " + std::to_string(PL_DECODE_EMESSAGE), 0), 0u) << e;
}

TEST(DecodeSchema, ZeroSizeElementsAreBoundedByTreeMemory) {
  pl_decode_options o = {};
  o.max_tree_bytes = 1 << 20;
  Made m = make("ros1", "ros1msg", "pkg/H",
                "E[] es\n"
                "================================================================================\n"
                "MSG: pkg/E\n",
                &o);
  ASSERT_EQ(m.rc, PL_DECODE_OK) << m.err;
  Ros1Writer w;
  w.u32(0xFFFFFFFFu);
  std::string e = to_json(m.d.get(), w.bytes());
  EXPECT_EQ(e.rfind("ERROR " + std::to_string(PL_DECODE_ELIMIT), 0), 0u) << e;
  EXPECT_NE(e.find("more than 1048576 bytes of memory"), std::string::npos) << e;
}

TEST(DecodeSchema, ParseErrorsNameTheLine) {
  Made m = make("cdr", "ros2msg", "pkg/msg/X", "int32 a\nfloat64[ b\n");
  EXPECT_EQ(m.rc, PL_DECODE_ESCHEMA);
  EXPECT_NE(m.err.find("topic '/t': schema 'pkg/msg/X' (ros2msg): line 2"), std::string::npos)
      << m.err;
  Made u = make("cdr", "ros2msg", "pkg/msg/X", "Missing m\n");
  EXPECT_EQ(u.rc, PL_DECODE_ESCHEMA);
  EXPECT_NE(u.err.find("unknown type 'Missing'"), std::string::npos) << u.err;
  Made sep = make("cdr", "ros2msg", "pkg/msg/X",
                  "int32 "
                  "a\n============================================================================="
                  "===\nnot a header\n");
  EXPECT_EQ(sep.rc, PL_DECODE_ESCHEMA);
  EXPECT_NE(sep.err.find("expected 'MSG: pkg/Type'"), std::string::npos) << sep.err;
  Made un =
      make("cdr", "ros2idl", "a/U", "module a { union U switch (long) { case 1: long x; }; };");
  EXPECT_EQ(un.rc, PL_DECODE_EUNSUPPORTED) << un.err;
  Made nos = make("cdr", "ros2idl", "a/Missing", "module a { struct B { long x; }; };");
  EXPECT_EQ(nos.rc, PL_DECODE_ESCHEMA);
  EXPECT_NE(nos.err.find("no struct 'a::Missing'"), std::string::npos) << nos.err;
}

TEST(DecodeSchema, UnsupportedEncodingsAreNamed) {
  Made fb = make("flatbuffer", "flatbuffer", "a.B", "xx", nullptr, "/cam");
  EXPECT_EQ(fb.rc, PL_DECODE_EUNSUPPORTED);
  EXPECT_EQ(fb.err,
            "topic '/cam': no decoder for message encoding 'flatbuffer' with schema encoding "
            "'flatbuffer'");
  Made raw = make("cbor", "", "", "");
  EXPECT_EQ(raw.rc, PL_DECODE_EUNSUPPORTED);
  EXPECT_EQ(raw.err, "topic '/t': no decoder for message encoding 'cbor' without a schema");
  Made mixed = make("cdr", "jsonschema", "x", "{}");
  EXPECT_EQ(mixed.rc, PL_DECODE_EUNSUPPORTED);
}

TEST(DecodeSchema, EmptyMessageWithoutADataPointer) {
  Made m = make("ros1", "ros1msg", "pkg/E", "uint8[0] nothing\n");
  ASSERT_EQ(m.rc, PL_DECODE_OK) << m.err;
  mcap_message msg = {};  // data.data == NULL, data.len == 0
  const pl_value *v = nullptr;
  ASSERT_EQ(pl_decoder_decode(m.d.get(), &msg, &v), PL_DECODE_OK) << pl_decoder_errmsg(m.d.get());
  ASSERT_EQ(v->kind, PL_VALUE_STRUCT);
  EXPECT_EQ(v->v.items[0].kind, PL_VALUE_BYTES);
  EXPECT_EQ(v->v.items[0].count, 0u);
  Made c = make("cdr", "ros2msg", "pkg/msg/E", "int32 x\n");
  ASSERT_EQ(c.rc, PL_DECODE_OK);
  EXPECT_EQ(pl_decoder_decode(c.d.get(), &msg, &v), PL_DECODE_EMESSAGE);
  EXPECT_NE(std::string(pl_decoder_errmsg(c.d.get())).find("0 bytes is shorter than the 4-byte"),
            std::string::npos);
}

// ------------------------------------------------------------------ ROS 1

TEST(DecodeRos1, ImuWithHeaderTime) {
  Made m = make("ros1", "ros1msg", "sensor_msgs/Imu", fixture("sensor_msgs_Imu.ros1msg"));
  ASSERT_EQ(m.rc, PL_DECODE_OK) << m.err;
  Ros1Writer w;
  w.u32(9).u32(1600000000).u32(250).str("base");
  w.f64(0).f64(0).f64(0).f64(1);
  for (int i = 0; i < 9; i++) w.f64(0);
  w.f64(1).f64(2).f64(3);
  for (int i = 0; i < 9; i++) w.f64(i == 0 ? -1 : 0);
  w.f64(0.5).f64(0.25).f64(0.125);
  for (int i = 0; i < 9; i++) w.f64(0);
  EXPECT_EQ(to_json(m.d.get(), w.bytes()),
            "{\"header\":{\"seq\":9,\"stamp\":{\"sec\":1600000000,\"nsec\":250},\"frame_id\":"
            "\"base\"},\"orientation\":{\"x\":0,\"y\":0,\"z\":0,\"w\":1},"
            "\"orientation_covariance\":[0,0,0,0,0,0,0,0,0],\"angular_velocity\":{\"x\":1,\"y\":2,"
            "\"z\":3},\"angular_velocity_covariance\":[-1,0,0,0,0,0,0,0,0],"
            "\"linear_acceleration\":{\"x\":0.5,\"y\":0.25,\"z\":0.125},"
            "\"linear_acceleration_covariance\":[0,0,0,0,0,0,0,0,0]}");
  auto extra = w.bytes();
  extra.push_back(0);
  std::string e = to_json(m.d.get(), extra);
  EXPECT_NE(e.find("1 bytes left after the last field"), std::string::npos) << e;
}

TEST(DecodeRos1, PrimitivesArraysAndConstants) {
  const char schema[] =
      "byte b\nchar c\nduration d\ntime t\nint16[2] fixed\nuint8[] blob\nchar[3] chars\n"
      "string[] names\nfloat32 f\nint64 BIG=5\nstring S=with spaces # not a comment\n";
  Made m = make("ros1", "ros1msg", "pkg/P", schema);
  ASSERT_EQ(m.rc, PL_DECODE_OK) << m.err;
  Ros1Writer w;
  w.i8(-1).u8(200).i32(-3).i32(-500).u32(7).u32(8).i16(-1).i16(2);
  w.u32(2).u8(0xFF).u8(0x00).u8('a').u8('b').u8('c');
  w.u32(2).str("p").str("q").f32(0.3f);
  EXPECT_EQ(to_json(m.d.get(), w.bytes()),
            "{\"b\":-1,\"c\":200,\"d\":{\"sec\":-3,\"nsec\":-500},\"t\":{\"sec\":7,\"nsec\":8},"
            "\"fixed\":[-1,2],\"blob\":\"/wA=\",\"chars\":\"YWJj\",\"names\":[\"p\",\"q\"],"
            "\"f\":0.3}");
}

}  // namespace
