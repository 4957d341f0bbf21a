// test_decode_render.cc - pl_decode: the json encoding and JSON schemas, number text
// (shortest round trip, exact integers, non-finite values), NDJSON lines and CSV tables.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "decode_util.h"
#include "pipeline/decode.h"
#include "wire_encoders.h"

using namespace decode_test;
using mcapkit_test::CdrWriter;

namespace {

std::string fmt_double(double v) {
  char b[40];
  return std::string(b, pl_decode_format_double(v, b));
}

std::string fmt_float(float v) {
  char b[40];
  return std::string(b, pl_decode_format_float(v, b));
}

// Significant digits of a number text ("100" has 1, "0.0025" 2).
int sig_digits(const std::string &s) {
  std::string m = s.substr(0, s.find('e'));
  std::string d;
  for (char c : m)
    if (c >= '0' && c <= '9') d += c;
  size_t a = d.find_first_not_of('0');
  if (a == std::string::npos) return 1;
  d = d.substr(a);
  if (m.find('.') == std::string::npos)
    while (d.size() > 1 && d.back() == '0') d.pop_back();
  return static_cast<int>(d.size());
}

// The fewest %.Ne digits that read back exactly (the slow, obviously right way).
int reference_digits(double v, bool is_float) {
  char b[64];
  for (int p = 1; p <= 17; p++) {
    std::snprintf(b, sizeof b, "%.*e", p - 1, v);
    if (is_float ? std::strtof(b, nullptr) == static_cast<float>(v) : std::strtod(b, nullptr) == v)
      return p;
  }
  return 17;
}

TEST(DecodeNumbers, ShortestRoundTripVectors) {
  EXPECT_EQ(fmt_double(0.1), "0.1");
  EXPECT_EQ(fmt_double(-0.0), "-0");
  EXPECT_EQ(fmt_double(0), "0");
  EXPECT_EQ(fmt_double(1e21), "1e+21");
  EXPECT_EQ(fmt_double(1e20), "100000000000000000000");
  EXPECT_EQ(fmt_double(1e-7), "1e-7");
  EXPECT_EQ(fmt_double(0.000001), "0.000001");
  EXPECT_EQ(fmt_double(123456789012345680.0), "123456789012345680");
  EXPECT_EQ(fmt_double(5e-324), "5e-324");
  EXPECT_EQ(fmt_double(1.7976931348623157e308), "1.7976931348623157e+308");
  EXPECT_EQ(fmt_double(2.2250738585072014e-308), "2.2250738585072014e-308");
  EXPECT_EQ(fmt_double(9007199254740993.0), "9007199254740992");
  EXPECT_EQ(fmt_double(0.3), "0.3");
  EXPECT_EQ(fmt_double(-9.80665), "-9.80665");
  EXPECT_EQ(fmt_double(std::nan("")), "NaN");
  EXPECT_EQ(fmt_double(INFINITY), "Infinity");
  EXPECT_EQ(fmt_double(-INFINITY), "-Infinity");
  EXPECT_EQ(fmt_double(0.1 + 0.2), "0.30000000000000004");
  // a decimal exactly on the rounding interval's bound (read back by round-half-even)
  EXPECT_EQ(fmt_double(938238e15), "938238000000000000000");
  EXPECT_EQ(fmt_double(0x1p+757), "7.580654747562055e+227");  // lower neighbour closer
  EXPECT_EQ(fmt_double(0x0.0000000000001p-1022 * 3), "1.5e-323");
  EXPECT_EQ(fmt_float(0x1p-12f), "0.00024414062");  // a tie between two 8-digit decimals
  EXPECT_EQ(fmt_float(0.1f), "0.1");
  EXPECT_EQ(fmt_float(16777216.0f), "16777216");
  EXPECT_EQ(fmt_float(3.4028235e38f), "3.4028235e+38");
  EXPECT_EQ(fmt_float(1e-45f), "1e-45");
  EXPECT_EQ(fmt_float(-1.5e-7f), "-1.5e-7");
  EXPECT_EQ(fmt_float(std::nanf("")), "NaN");
}

TEST(DecodeNumbers, RandomValuesRoundTripWithTheFewestDigits) {
  std::mt19937_64 rng(12345);
  int checked = 0;
  for (int i = 0; i < 15000; i++) {
    uint64_t bits = rng();
    double v;
    if (i % 3 == 0) {
      std::memcpy(&v, &bits, 8);
    } else if (i % 3 == 1) {
      v = static_cast<double>(bits % 2000000) / 1000.0 *
          std::pow(10.0, static_cast<int>(bits % 41) - 20);
    } else {
      v = (static_cast<double>(bits >> 11) * 0x1p-53 - 0.5) * 0.01;
    }
    if (!std::isfinite(v)) continue;
    std::string s = fmt_double(v);
    double back = std::strtod(s.c_str(), nullptr);
    ASSERT_EQ(std::memcmp(&back, &v, 8), 0) << s;
    ASSERT_LE(sig_digits(s), reference_digits(v, false)) << s;
    float f;
    uint32_t fb = static_cast<uint32_t>(bits >> 17);
    std::memcpy(&f, &fb, 4);
    if (i % 2) f = static_cast<float>(v);
    if (!std::isfinite(f)) continue;
    s = fmt_float(f);
    float fback = std::strtof(s.c_str(), nullptr);
    ASSERT_EQ(std::memcmp(&fback, &f, 4), 0) << s;
    ASSERT_LE(sig_digits(s), reference_digits(f, true)) << s;
    checked++;
  }
  EXPECT_GT(checked, 7500);
}

TEST(DecodeNumbers, JsonExactness) {
  Made m = make("cdr", "ros2msg", "pkg/msg/N",
                "int64 a\nint64 b\nuint64 c\nuint64 d\nfloat64 nan\nfloat64 inf\nfloat32 ninf\n"
                "float64[] arr\nfloat32 f\n");
  ASSERT_EQ(m.rc, PL_DECODE_OK) << m.err;
  CdrWriter w;
  w.i64(9007199254740991LL).i64(-9007199254740992LL).u64(9007199254740991ULL);
  w.u64(9007199254740992ULL).f64(std::nan("")).f64(INFINITY).f32(-INFINITY);
  w.seq(3).f64(NAN).f64(1e300).f64(-INFINITY).f32(0.3f);
  EXPECT_EQ(
      to_json(m.d.get(), w.bytes()),
      "{\"a\":9007199254740991,\"b\":\"-9007199254740992\",\"c\":9007199254740991,"
      "\"d\":\"9007199254740992\",\"nan\":\"NaN\",\"inf\":\"Infinity\",\"ninf\":\"-Infinity\","
      "\"arr\":[\"NaN\",1e+300,\"-Infinity\"],\"f\":0.3}");
  EXPECT_EQ(to_csv(m.d.get(), {w.bytes()}),
            "log_time,log_time_rfc3339,a,b,c,d,nan,inf,ninf,arr[0],arr[1],arr[2],arr[3],arr[4],"
            "arr[5],arr[6],arr[7],arr[8],arr[9],arr[10],arr[11],arr[12],arr[13],arr[14],arr[15],"
            "arr.count,f\n"
            "1767225600000000000,2026-01-01T00:00:00.000000000Z,9007199254740991,"
            "-9007199254740992,9007199254740991,9007199254740992,NaN,Infinity,-Infinity,NaN,1e+300,"
            "-Infinity,,,,,,,,,,,,,,3,0.3\n");
}

TEST(DecodeNumbers, Rfc3339) {
  char b[40];
  EXPECT_EQ(std::string(b, pl_decode_format_rfc3339(0, b)), "1970-01-01T00:00:00.000000000Z");
  EXPECT_EQ(std::string(b, pl_decode_format_rfc3339(1767225600123456789ull, b)),
            "2026-01-01T00:00:00.123456789Z");
  EXPECT_EQ(std::string(b, pl_decode_format_rfc3339(951782400000000001ull, b)),
            "2000-02-29T00:00:00.000000001Z");
}

// ------------------------------------------------------------------ json

TEST(DecodeJson, PassedThroughExactlyWithoutWhitespace) {
  Made m = make("json", "", "", "");
  ASSERT_EQ(m.rc, PL_DECODE_OK) << m.err;
  EXPECT_STREQ(pl_decoder_format(m.d.get()), "json");
  EXPECT_EQ(to_json(m.d.get(), bytes(" { \"a\" : 1.0e5 ,\n \"big\": 123456789012345678901234567890,"
                                     "\t\"s\": \"x\\u00e9\\n\\\"\", \"arr\": [ true, false, null,"
                                     " -0.0 ], \"o\": {}, \"e\": [] } \n")),
            "{\"a\":1.0e5,\"big\":123456789012345678901234567890,\"s\":\"x\\u00e9\\n\\\"\","
            "\"arr\":[true,false,null,-0.0],\"o\":{},\"e\":[]}");
  EXPECT_EQ(to_json(m.d.get(), bytes("\"top\"")), "\"top\"");
  EXPECT_EQ(to_json(m.d.get(), bytes("42")), "42");
}

// Regression (fuzz_decode_json): an empty object or array decoded before anything had been
// put on the scratch stack computed an offset from a null pointer (UBSan).
TEST(DecodeJson, EmptyContainersOnAFreshDecoder) {
  for (const char *text : {"{}", "[]", " [ {}, -0.0, 1E+2, \"\xc3\xa9\" ] "}) {
    Made m = make("json", "jsonschema", "", "");
    ASSERT_EQ(m.rc, PL_DECODE_OK) << m.err;
    std::string want = text[1] == '[' ? "[{},-0.0,1E+2,\"\xc3\xa9\"]" : text;
    EXPECT_EQ(to_json(m.d.get(), bytes(text)), want);
  }
}

// Regression (fuzz_decode_json): an empty JSON string as the first CSV cell to unescape
// offset the layout's still unallocated scratch buffer (UBSan).
TEST(DecodeJson, EmptyStringInAFreshCsvLayout) {
  Made m = make("json", "jsonschema", "S", "{\"properties\":{\"s\":{\"type\":\"string\"}}}");
  ASSERT_EQ(m.rc, PL_DECODE_OK) << m.err;
  EXPECT_EQ(to_csv(m.d.get(), {bytes("{\"s\":\"\"}")}),
            "log_time,log_time_rfc3339,s\n1767225600000000000,2026-01-01T00:00:00.000000000Z,\n");
}

TEST(DecodeJson, InvalidJsonIsAnErrorWithItsOffset) {
  Made m = make("json", "jsonschema", "x", "{\"type\":\"object\"}", nullptr, "/diag");
  ASSERT_EQ(m.rc, PL_DECODE_OK) << m.err;
  struct {
    const char *text, *want;
  } cases[] = {
      {"{\"a\": 01}", "byte 7 of 9: JSON: ',' or '}' expected"},
      {"{} x", "unexpected text after the JSON value"},
      {"{\"a\": \"\xFF\"}", "invalid UTF-8 in a string"},
      {"[1,]", "unexpected character"},
      {"{\"a\" 1}", "':' expected"},
      {"\"\\x\"", "bad escape"},
      {"", "value expected (at the end of the text)"},
      {"nul", "unexpected text"},
      {"[1e]", "digits expected in the exponent"},
      {"\"a\nb\"", "control character in a string"},
  };
  for (const auto &c : cases) {
    std::string e = to_json(m.d.get(), bytes(c.text));
    EXPECT_EQ(e.rfind("ERROR " + std::to_string(PL_DECODE_EMESSAGE) + ": topic '/diag'", 0), 0u)
        << c.text << " -> " << e;
    EXPECT_NE(e.find(c.want), std::string::npos) << c.text << " -> " << e;
  }
  std::string deep(5000, '[');
  std::string e = to_json(m.d.get(), bytes(deep));
  EXPECT_NE(e.find("JSON nests deeper than 64 levels"), std::string::npos) << e.substr(0, 200);
}

TEST(DecodeJson, SchemaGivesCsvColumns) {
  const char schema[] =
      "{\"type\":\"object\",\"properties\":{"
      "\"name\":{\"type\":\"string\"},"
      "\"pos\":{\"type\":\"object\",\"properties\":{\"x\":{\"type\":\"number\"},"
      "\"y\":{\"type\":\"number\"}}},"
      "\"tags\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}},"
      "\"img\":{\"type\":\"string\",\"contentEncoding\":\"base64\"},"
      "\"meta\":{\"$ref\":\"#/$defs/Meta\"},"
      "\"ok\":{\"type\":[\"boolean\",\"null\"]},"
      "\"any\":{}},"
      "\"$defs\":{\"Meta\":{\"type\":\"object\",\"properties\":{\"k\":{\"type\":\"integer\"}}}}}";
  Made m = make("json", "jsonschema", "Thing", schema);
  ASSERT_EQ(m.rc, PL_DECODE_OK) << m.err;
  pl_csv_options o;
  pl_csv_options_init(&o);
  o.max_array = 2;
  EXPECT_EQ(
      to_csv(m.d.get(),
             {bytes("{\"pos\":{\"y\":2,\"x\":1.50},\"name\":\"a,\\\"b\\\"\",\"tags\":[\"t1\"],"
                    "\"img\":\"AAECAw==\",\"meta\":{\"k\":5},\"ok\":true,\"any\":{\"z\":[1]},"
                    "\"extra\":1}"),
              bytes("{}"), bytes("{\"pos\":7,\"tags\":[\"a\",\"b\",\"c\"],\"name\":null}")},
             &o),
      "log_time,log_time_rfc3339,name,pos.x,pos.y,tags[0],tags[1],tags.count,img,meta.k,ok,"
      "any\n"
      "1767225600000000000,2026-01-01T00:00:00.000000000Z,\"a,\"\"b\"\"\",1.50,2,t1,,1,4,5,"
      "true,\"{\"\"z\"\":[1]}\"\n"
      "1767225600500000000,2026-01-01T00:00:00.500000000Z,,,,,,,,,,\n"
      "1767225601000000000,2026-01-01T00:00:01.000000000Z,,,,a,b,3,,,,\n");
  o.bytes = PL_BYTES_BASE64;
  std::string csv = to_csv(m.d.get(), {bytes("{\"img\":\"AAECAw==\"}")}, &o);
  EXPECT_NE(csv.find(",AAECAw==,"), std::string::npos) << csv;
}

TEST(DecodeJson, LargeObjectsMatchMembersByName) {
  // 3000 properties, the message's members in reverse order, one escaped key, a duplicate
  const int n = 3000;
  std::string schema = "{\"type\":\"object\",\"properties\":{";
  std::string msg = "{";
  for (int i = 0; i < n; i++)
    schema += (i ? "," : "") + std::string("\"p") + std::to_string(i) + "\":{\"type\":\"number\"}";
  schema += "}}";
  for (int i = n - 1; i >= 0; i--) {
    std::string key =
        i == 7 ? "\\u0070" + std::to_string(i) : "p" + std::to_string(i);  // "\u0070" is 'p'
    msg += "\"" + key + "\":" + std::to_string(i * 2) + ",";
  }
  msg += "\"p5\":-1}";  // a later duplicate: the first one counts, as for small objects
  Made m = make("json", "jsonschema", "Big", schema);
  ASSERT_EQ(m.rc, PL_DECODE_OK) << m.err;
  std::string csv = to_csv(m.d.get(), {bytes(msg)});
  std::string row = csv.substr(csv.find('\n') + 1);
  std::string want = "1767225600000000000,2026-01-01T00:00:00.000000000Z";
  for (int i = 0; i < n; i++) want += "," + std::to_string(i * 2);
  EXPECT_EQ(row, want + "\n");
}

TEST(DecodeJson, RecursiveAndEmptySchemas) {
  Made r = make("json", "jsonschema", "N",
                "{\"$ref\":\"#/definitions/N\",\"definitions\":{\"N\":{\"type\":\"object\","
                "\"properties\":{\"v\":{\"type\":\"number\"},\"next\":{\"$ref\":"
                "\"#/definitions/N\"}}}}}");
  ASSERT_EQ(r.rc, PL_DECODE_OK) << r.err;
  EXPECT_EQ(to_csv(r.d.get(), {bytes("{\"v\":1,\"next\":{\"v\":2,\"next\":null}}")}),
            "log_time,log_time_rfc3339,v,next\n"
            "1767225600000000000,2026-01-01T00:00:00.000000000Z,1,\"{\"\"v\"\":2,\"\"next\"\":"
            "null}\"\n");
  Made none = make("json", "", "", "");
  ASSERT_EQ(none.rc, PL_DECODE_OK);
  EXPECT_EQ(to_csv(none.d.get(), {bytes("{\"a\":[1,2]}")}),
            "log_time,log_time_rfc3339,message\n"
            "1767225600000000000,2026-01-01T00:00:00.000000000Z,\"{\"\"a\"\":[1,2]}\"\n");
  Made bad = make("json", "jsonschema", "B", "{\"type\": objec}");
  EXPECT_EQ(bad.rc, PL_DECODE_ESCHEMA);
  EXPECT_NE(bad.err.find("schema 'B' (jsonschema): not valid JSON: byte 9"), std::string::npos)
      << bad.err;
}

// ------------------------------------------------------------ NDJSON, CSV

TEST(DecodeRender, NdjsonLine) {
  Made m = make("cdr", "ros2msg", "pkg/msg/S", "string s\nuint8[] raw\n");
  ASSERT_EQ(m.rc, PL_DECODE_OK) << m.err;
  CdrWriter w;
  w.str("a\tb").seq(2).u8(1).u8(2);
  auto b = w.bytes();
  const std::string topic = "/cha\"t";
  mcap_channel ch = {};
  ch.id = 3;
  ch.topic = S(topic);
  mcap_message msg = {};
  msg.channel_id = 3;
  msg.sequence = 9;
  msg.log_time = 18446744073709551615ull;
  msg.publish_time = 5;
  msg.data = mcap_bytes{b.data(), b.size()};
  const pl_value *v = nullptr;
  ASSERT_EQ(pl_decoder_decode(m.d.get(), &msg, &v), PL_DECODE_OK);
  pl_text t = PL_TEXT_INIT;
  ASSERT_EQ(pl_decode_ndjson_line(&ch, &msg, v, nullptr, &t), PL_DECODE_OK);
  pl_json_options len = {PL_BYTES_LENGTH};
  ASSERT_EQ(pl_decode_ndjson_line(&ch, &msg, v, &len, &t), PL_DECODE_OK);
  EXPECT_EQ(std::string(t.data, t.len),
            "{\"topic\":\"/cha\\\"t\",\"channel_id\":3,\"sequence\":9,\"log_time\":"
            "\"18446744073709551615\",\"publish_time\":\"5\",\"message\":{\"s\":\"a\\tb\","
            "\"raw\":\"AQI=\"}}\n"
            "{\"topic\":\"/cha\\\"t\",\"channel_id\":3,\"sequence\":9,\"log_time\":"
            "\"18446744073709551615\",\"publish_time\":\"5\",\"message\":{\"s\":\"a\\tb\","
            "\"raw\":2}}\n");
  pl_text_dispose(&t);
}

TEST(DecodeRender, CsvOfImuWithArrayLimitAndCounts) {
  Made m = make("cdr", "ros2msg", "sensor_msgs/msg/Imu", fixture("sensor_msgs_msg_Imu.msg"));
  ASSERT_EQ(m.rc, PL_DECODE_OK) << m.err;
  CdrWriter w;
  w.i32(1).u32(2).str("a \"quoted\", frame");
  for (int i = 0; i < 4; i++) w.f64(i);
  for (int k = 0; k < 3; k++) {
    for (int i = 0; i < 9; i++) w.f64(i * 0.5);
    if (k < 2) w.f64(-1).f64(-2).f64(-3);
  }
  pl_csv_options o;
  pl_csv_options_init(&o);
  o.max_array = 2;
  EXPECT_EQ(to_csv(m.d.get(), {w.bytes()}, &o),
            "log_time,log_time_rfc3339,header.stamp.sec,header.stamp.nanosec,header.frame_id,"
            "orientation.x,orientation.y,orientation.z,orientation.w,orientation_covariance[0],"
            "orientation_covariance[1],orientation_covariance.count,angular_velocity.x,"
            "angular_velocity.y,angular_velocity.z,angular_velocity_covariance[0],"
            "angular_velocity_covariance[1],angular_velocity_covariance.count,"
            "linear_acceleration.x,linear_acceleration.y,linear_acceleration.z,"
            "linear_acceleration_covariance[0],linear_acceleration_covariance[1],"
            "linear_acceleration_covariance.count\n"
            "1767225600000000000,2026-01-01T00:00:00.000000000Z,1,2,\"a \"\"quoted\"\", frame\","
            "0,1,2,3,0,0.5,9,-1,-2,-3,0,0.5,9,-1,-2,-3,0,0.5,9\n");
  o.max_array = 16;  // a fixed array that fits needs no count column
  std::string csv = to_csv(m.d.get(), {w.bytes()}, &o);
  EXPECT_EQ(csv.find("orientation_covariance.count"), std::string::npos);
  EXPECT_NE(csv.find("orientation_covariance[8],angular_velocity.x"), std::string::npos);
}

TEST(DecodeRender, CsvBytesAndNestedArrays) {
  Made m = make("cdr", "ros2msg", "sensor_msgs/msg/PointCloud2",
                fixture("sensor_msgs_msg_PointCloud2.msg"));
  ASSERT_EQ(m.rc, PL_DECODE_OK) << m.err;
  CdrWriter w;
  w.i32(5).u32(6).str("lidar").u32(1).u32(2);
  w.seq(1).str("x").u32(0).u8(7).u32(1);
  w.boolean(false).u32(8).u32(16).seq(3).u8(0xFB).u8(0xFF).u8(0xFE).boolean(true);
  pl_csv_options o;
  pl_csv_options_init(&o);
  o.max_array = 2;
  std::string csv = to_csv(m.d.get(), {w.bytes()}, &o);
  EXPECT_EQ(csv,
            "log_time,log_time_rfc3339,header.stamp.sec,header.stamp.nanosec,header.frame_id,"
            "height,width,fields[0].name,fields[0].offset,fields[0].datatype,fields[0].count,"
            "fields[1].name,fields[1].offset,fields[1].datatype,fields[1].count,fields.count,"
            "is_bigendian,point_step,row_step,data,is_dense\n"
            "1767225600000000000,2026-01-01T00:00:00.000000000Z,5,6,lidar,1,2,x,0,7,1,,,,,1,false,"
            "8,16,3,true\n");
  o.bytes = PL_BYTES_BASE64;
  csv = to_csv(m.d.get(), {w.bytes()}, &o);
  EXPECT_NE(csv.find(",16,+//+,true\n"), std::string::npos) << csv;
}

TEST(DecodeRender, CsvColumnLimit) {
  Made m = make("cdr", "ros2msg", "pkg/msg/Big",
                "A[] a\n"
                "================================================================================\n"
                "MSG: pkg/A\nB[] b\n"
                "================================================================================\n"
                "MSG: pkg/B\nfloat64[] c\n");
  ASSERT_EQ(m.rc, PL_DECODE_OK) << m.err;
  pl_csv_options o;
  pl_csv_options_init(&o);
  o.max_array = 100;  // 100 * 100 * 100 columns
  pl_csv *c = nullptr;
  pl_decode_error_info err;
  EXPECT_EQ(pl_csv_create(&c, m.d.get(), &o, &err), PL_DECODE_ELIMIT);
  EXPECT_EQ(c, nullptr);
  EXPECT_NE(std::string(err.msg).find("more than 65536 columns"), std::string::npos) << err.msg;
  o.max_array = 10;
  ASSERT_EQ(pl_csv_create(&c, m.d.get(), &o, &err), PL_DECODE_OK) << err.msg;
  EXPECT_EQ(pl_csv_column_count(c), 2u + 10 * (10 * 11 + 1) + 1);
  EXPECT_STREQ(pl_csv_column_name(c, 2), "a[0].b[0].c[0]");
  EXPECT_STREQ(pl_csv_column_name(c, pl_csv_column_count(c) - 1), "a.count");
  EXPECT_EQ(pl_csv_column_name(c, pl_csv_column_count(c)), nullptr);
  pl_csv_free(c);
}

}  // namespace

TEST(DecodeText, PublicAppendersEscapeAndEncode) {
  // The pl_text appenders that inspect's NDJSON lines share with the decoders.
  pl_text t = PL_TEXT_INIT;
  ASSERT_EQ(pl_text_reserve(&t, 0), 0);
  ASSERT_NE(t.data, nullptr);
  ASSERT_EQ(pl_text_append(&t, "x=", 2), 0);
  const char s[] = "a\"b\\c\n\t\r\b\f\x01 \xc3\xa9 \xff!";  // quote, escapes, é, a bad byte
  ASSERT_EQ(pl_text_json_string(&t, s, sizeof s - 1), 0);
  ASSERT_EQ(pl_text_append(&t, " ", 1), 0);
  const uint8_t bytes[] = {0, 1, 2, 0xfe, 0xff};
  ASSERT_EQ(pl_text_base64(&t, bytes, sizeof bytes), 0);
  EXPECT_EQ(std::string(t.data, t.len),
            "x=\"a\\\"b\\\\c\\n\\t\\r\\b\\f\\u0001 \xc3\xa9 \\ufffd!\" AAEC/v8=");
  // Growing far past the first block keeps what was there.
  size_t before = t.len;
  std::string big(100000, 'z');
  ASSERT_EQ(pl_text_json_string(&t, big.data(), big.size()), 0);
  EXPECT_EQ(t.len, before + big.size() + 2);
  EXPECT_EQ(std::string(t.data, 2), "x=");
  pl_text_dispose(&t);
  EXPECT_EQ(t.data, nullptr);
}
