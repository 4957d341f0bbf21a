// test_decode_proto.cc - pl_decode with protobuf: FileDescriptorSets built by the tests'
// own descriptor builder, messages by their own wire encoder (tests/support).
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "decode_util.h"
#include "pipeline/decode.h"
#include "wire_encoders.h"

using namespace decode_test;
using namespace mcapkit_test;

namespace {

PbFile timestamp_file() {
  PbFile f;
  f.name = "google/protobuf/timestamp.proto";
  f.package = "google.protobuf";
  f.syntax = "proto3";
  PbMessage ts;
  ts.name = "Timestamp";
  ts.fields = {{"seconds", 1, kPbInt64}, {"nanos", 2, kPbInt32}};
  PbMessage du = ts;
  du.name = "Duration";
  f.messages = {ts, du};
  return f;
}

PbFile test_file() {
  PbFile f;
  f.name = "test.proto";
  f.package = "test";
  f.syntax = "proto3";
  f.enums = {{"Mode", {{"MODE_UNKNOWN", 0}, {"MODE_AUTO", 1}, {"MODE_MANUAL", 2}}}};
  PbMessage inner;
  inner.name = "Inner";
  inner.fields = {{"x", 1, kPbDouble}, {"label", 2, kPbString}};
  PbMessage all;
  all.name = "All";
  all.oneofs = {"choice", "_maybe"};
  all.fields = {
      {"d", 1, kPbDouble},
      {"f", 2, kPbFloat},
      {"i64", 3, kPbInt64},
      {"u64", 4, kPbUint64},
      {"i32", 5, kPbInt32},
      {"fx64", 6, kPbFixed64},
      {"fx32", 7, kPbFixed32},
      {"b", 8, kPbBool},
      {"s", 9, kPbString},
      {"by", 12, kPbBytes},
      {"u32", 13, kPbUint32},
      {"mode", 14, kPbEnum, kPbOptional, ".test.Mode"},
      {"sf32", 15, kPbSfixed32},
      {"sf64", 16, kPbSfixed64},
      {"si32", 17, kPbSint32},
      {"si64", 18, kPbSint64},
      {"inner", 19, kPbMessage, kPbOptional, ".test.Inner"},
      {"packed_ints", 20, kPbInt32, kPbRepeated},
      {"doubles", 21, kPbDouble, kPbRepeated},
      {"inners", 22, kPbMessage, kPbRepeated, ".test.Inner"},
      {"modes", 23, kPbEnum, kPbRepeated, ".test.Mode"},
      {"counts", 24, kPbMessage, kPbRepeated, ".test.All.CountsEntry"},
      {"by_id", 25, kPbMessage, kPbRepeated, ".test.All.ByIdEntry"},
      {"name", 26, kPbString, kPbOptional, "", 0},
      {"id", 27, kPbInt32, kPbOptional, "", 0},
      {"maybe", 28, kPbInt32, kPbOptional, "", 1, true},
      {"stamp", 29, kPbMessage, kPbOptional, ".google.protobuf.Timestamp"},
      {"took", 30, kPbMessage, kPbOptional, ".google.protobuf.Duration"},
      {"tags", 31, kPbString, kPbRepeated},
      {"zig", 32, kPbSint64, kPbRepeated},
  };
  PbMessage counts;
  counts.name = "CountsEntry";
  counts.map_entry = true;
  counts.fields = {{"key", 1, kPbString}, {"value", 2, kPbInt32}};
  PbMessage by_id;
  by_id.name = "ByIdEntry";
  by_id.map_entry = true;
  by_id.fields = {{"key", 1, kPbInt64}, {"value", 2, kPbMessage, kPbOptional, ".test.Inner"}};
  all.nested = {counts, by_id};
  f.messages = {inner, all};
  return f;
}

std::string schema_bytes() {
  WireBytes b = descriptor_set({timestamp_file(), test_file()});
  return std::string(b.begin(), b.end());
}

ProtoWriter inner_msg(double x, const std::string &label) {
  ProtoWriter w;
  w.f64(1, x);
  if (!label.empty()) w.bytes(2, label);
  return w;
}

ProtoWriter full_message() {
  ProtoWriter w;
  w.f64(1, 1.25).f32(2, 0.1f).varint(3, static_cast<uint64_t>(-5LL));
  w.varint(4, 1ULL << 63).varint(5, static_cast<uint64_t>(-7LL)).fixed64(6, 12345);
  w.fixed32(7, 4000000000u).varint(8, 1).bytes(9, "h\xC3\xA9llo");
  w.bytes(12, std::string("\x00\x01\x02", 3)).varint(13, 42).varint(14, 2);
  w.fixed32(15, static_cast<uint32_t>(-3)).fixed64(16, static_cast<uint64_t>(-4LL));
  w.sint(17, -123).sint(18, -9007199254740993LL);
  w.message(19, inner_msg(0.5, "in"));
  w.packed_varints(20, {1, static_cast<uint64_t>(-1LL), 300});
  uint64_t a, b;
  double da = 1.5, db = -2;
  std::memcpy(&a, &da, 8);
  std::memcpy(&b, &db, 8);
  w.packed_fixed64(21, {a, b});
  w.message(22, inner_msg(1, "a")).message(22, inner_msg(2, ""));
  w.varint(23, 1).varint(23, 7);  // unpacked enums, the second unknown
  ProtoWriter e1, e2, e3, e4;
  e1.bytes(1, "b").varint(2, 2);
  e2.bytes(1, "a").varint(2, 1);
  w.message(24, e1).message(24, e2);
  e3.varint(1, 10).message(2, inner_msg(3, "ten"));
  e4.varint(1, static_cast<uint64_t>(-2LL)).message(2, inner_msg(4, "neg"));
  w.message(25, e3).message(25, e4);
  w.varint(27, 99).varint(28, 0);
  ProtoWriter ts, du;
  ts.varint(1, 1767225600).varint(2, 500000000);
  du.varint(1, static_cast<uint64_t>(-1LL)).varint(2, static_cast<uint64_t>(-500000000LL));
  w.message(29, ts).message(30, du);
  w.bytes(31, "x").bytes(31, "y");
  ProtoWriter zig;
  zig.raw_varint(1).raw_varint(2);  // zigzag: -1, 1
  w.message(32, zig);
  return w;
}

const char kFullJson[] =
    "{\"d\":1.25,\"f\":0.1,\"i64\":-5,\"u64\":\"9223372036854775808\",\"i32\":-7,\"fx64\":12345,"
    "\"fx32\":4000000000,\"b\":true,\"s\":\"h\xC3\xA9llo\",\"by\":\"AAEC\",\"u32\":42,"
    "\"mode\":\"MODE_MANUAL\",\"sf32\":-3,\"sf64\":-4,\"si32\":-123,"
    "\"si64\":\"-9007199254740993\",\"inner\":{\"x\":0.5,\"label\":\"in\"},"
    "\"packed_ints\":[1,-1,300],\"doubles\":[1.5,-2],\"inners\":[{\"x\":1,\"label\":\"a\"},"
    "{\"x\":2,\"label\":\"\"}],\"modes\":[\"MODE_AUTO\",7],\"counts\":{\"a\":1,\"b\":2},"
    "\"by_id\":{\"-2\":{\"x\":4,\"label\":\"neg\"},\"10\":{\"x\":3,\"label\":\"ten\"}},"
    "\"name\":null,\"id\":99,\"maybe\":0,\"stamp\":\"2026-01-01T00:00:00.500Z\","
    "\"took\":\"-1.500s\",\"tags\":[\"x\",\"y\"],\"zig\":[-1,1]}";

TEST(DecodeProto, EveryFieldKind) {
  Made m = make("protobuf", "protobuf", "test.All", schema_bytes());
  ASSERT_EQ(m.rc, PL_DECODE_OK) << m.err;
  EXPECT_STREQ(pl_decoder_format(m.d.get()), "protobuf");
  EXPECT_EQ(to_json(m.d.get(), full_message().bytes()), kFullJson);
}

TEST(DecodeProto, Proto3DefaultsForAbsentFields) {
  Made m = make("protobuf", "protobuf", "test.All", schema_bytes());
  ASSERT_EQ(m.rc, PL_DECODE_OK) << m.err;
  EXPECT_EQ(to_json(m.d.get(), {}),
            "{\"d\":0,\"f\":0,\"i64\":0,\"u64\":0,\"i32\":0,\"fx64\":0,\"fx32\":0,\"b\":false,"
            "\"s\":\"\",\"by\":\"\",\"u32\":0,\"mode\":\"MODE_UNKNOWN\",\"sf32\":0,\"sf64\":0,"
            "\"si32\":0,\"si64\":0,\"inner\":null,\"packed_ints\":[],\"doubles\":[],\"inners\":[],"
            "\"modes\":[],\"counts\":{},\"by_id\":{},\"name\":null,\"id\":null,\"maybe\":null,"
            "\"stamp\":null,\"took\":null,\"tags\":[],\"zig\":[]}");
}

TEST(DecodeProto, UnknownFieldsAreSkipped) {
  Made m = make("protobuf", "protobuf", "test.All", schema_bytes());
  ASSERT_EQ(m.rc, PL_DECODE_OK) << m.err;
  ProtoWriter w;
  w.varint(100, 5).bytes(101, "zz").fixed64(102, 1).fixed32(103, 2);
  w.tag(104, 3).varint(1, 1).tag(5, 3).tag(5, 4).tag(104, 4);  // a group with a nested group
  w.raw(full_message().bytes());
  w.varint(536870911, 1);  // the largest field number
  EXPECT_EQ(to_json(m.d.get(), w.bytes()), kFullJson);
}

TEST(DecodeProto, PackedAndUnpackedRepeatedInterleaved) {
  Made m = make("protobuf", "protobuf", "test.All", schema_bytes());
  ASSERT_EQ(m.rc, PL_DECODE_OK) << m.err;
  ProtoWriter w;
  w.varint(20, 5).packed_varints(20, {6, 7}).bytes(9, "s").varint(20, 8);
  uint64_t bits;
  double one = 1;
  std::memcpy(&bits, &one, 8);
  w.fixed64(21, bits).packed_fixed64(21, {bits, bits});
  w.packed_varints(23, {2, 1});  // enums packed
  const pl_value *v = nullptr;
  auto b = w.bytes();
  ASSERT_EQ(pl_decoder_decode_bytes(m.d.get(), b.data(), b.size(), &v), PL_DECODE_OK)
      << pl_decoder_errmsg(m.d.get());
  const pl_value *ints = pl_value_member(v, "packed_ints");
  ASSERT_EQ(ints->count, 4u);
  pl_value e;
  int64_t want[] = {5, 6, 7, 8};
  for (uint32_t i = 0; i < 4; i++) {
    ASSERT_EQ(pl_value_at(ints, i, &e), PL_DECODE_OK);
    EXPECT_EQ(e.kind, PL_VALUE_INT);
    EXPECT_EQ(e.v.i, want[i]);
  }
  EXPECT_EQ(pl_value_member(v, "doubles")->count, 3u);
  EXPECT_EQ(
      to_json(m.d.get(), b).find("\"modes\":[\"MODE_MANUAL\",\"MODE_AUTO\"]") != std::string::npos,
      true);
}

TEST(DecodeProto, MapsSortByKeyAndLastDuplicateWins) {
  Made m = make("protobuf", "protobuf", "test.All", schema_bytes());
  ASSERT_EQ(m.rc, PL_DECODE_OK) << m.err;
  ProtoWriter w;
  const std::pair<const char *, int> entries[] = {{"z", 1}, {"m", 2}, {"z", 3}, {"a", 4}};
  for (const auto &kv : entries) {
    ProtoWriter e;
    e.bytes(1, kv.first).varint(2, static_cast<uint64_t>(kv.second));
    w.message(24, e);
  }
  ProtoWriter keyless;  // an entry without key or value: the defaults
  w.message(24, keyless);
  std::string j = to_json(m.d.get(), w.bytes());
  EXPECT_NE(j.find("\"counts\":{\"\":0,\"a\":4,\"m\":2,\"z\":3}"), std::string::npos) << j;
}

TEST(DecodeProto, TimestampAndDurationForms) {
  Made m = make("protobuf", "protobuf", "test.All", schema_bytes());
  ASSERT_EQ(m.rc, PL_DECODE_OK) << m.err;
  struct {
    int64_t s;
    int32_t n;
    const char *ts, *du;
  } cases[] = {
      {1767225600, 0, "2026-01-01T00:00:00Z", "1767225600s"},
      {0, 1000, "1970-01-01T00:00:00.000001Z", "0.000001s"},
      {-1, 999999999, "1969-12-31T23:59:59.999999999Z", nullptr},
      {-62135596800, 0, "0001-01-01T00:00:00Z", nullptr},
      {3, 120000000, "1970-01-01T00:00:03.120Z", "3.120s"},
  };
  for (const auto &c : cases) {
    ProtoWriter ts, w;
    ts.varint(1, static_cast<uint64_t>(c.s)).varint(2, static_cast<uint64_t>(c.n));
    w.message(29, ts);
    if (c.du) w.message(30, ts);
    std::string j = to_json(m.d.get(), w.bytes());
    EXPECT_NE(j.find(std::string("\"stamp\":\"") + c.ts + "\""), std::string::npos) << j;
    if (c.du) {
      EXPECT_NE(j.find(std::string("\"took\":\"") + c.du + "\""), std::string::npos) << j;
    }
  }
  // out of range: kept as a plain message
  ProtoWriter bad, w;
  bad.varint(1, 1).varint(2, 2000000000);
  w.message(29, bad);
  EXPECT_NE(to_json(m.d.get(), w.bytes()).find("\"stamp\":{\"seconds\":1,\"nanos\":2000000000}"),
            std::string::npos);
}

TEST(DecodeProto, Proto2PresenceAndRequired) {
  PbFile f;
  f.name = "p2.proto";
  f.package = "p2";
  f.syntax = "proto2";
  PbMessage p;
  p.name = "P";
  p.fields = {{"a", 1, kPbInt32},
              {"b", 2, kPbString},
              {"c", 3, kPbInt32, kPbRequired},
              {"r", 4, kPbInt32, kPbRepeated}};
  f.messages = {p};
  WireBytes ds = descriptor_set({f});
  Made m = make("protobuf", "protobuf", "p2.P", std::string(ds.begin(), ds.end()));
  ASSERT_EQ(m.rc, PL_DECODE_OK) << m.err;
  ProtoWriter w;
  w.varint(3, 5).varint(4, 1).varint(4, 2);
  EXPECT_EQ(to_json(m.d.get(), w.bytes()), "{\"a\":null,\"b\":null,\"c\":5,\"r\":[1,2]}");
}

TEST(DecodeProto, MalformedMessagesNameFieldAndOffset) {
  Made m = make("protobuf", "protobuf", "test.All", schema_bytes(), nullptr, "/pb");
  ASSERT_EQ(m.rc, PL_DECODE_OK) << m.err;
  std::string e = to_json(m.d.get(), {0x08, 0x80});  // truncated varint
  EXPECT_NE(e.find("byte 0 of 2: field 1 (varint): truncated or bad"), std::string::npos) << e;
  e = to_json(m.d.get(), {0x4A, 0x05, 'a'});  // length beyond the end
  EXPECT_NE(e.find("field 9 (length-delimited): truncated or bad"), std::string::npos) << e;
  e = to_json(m.d.get(), {0x48, 0x01});  // string field sent as a varint
  EXPECT_NE(e.find("field 's': field 9 has wire type varint"), std::string::npos) << e;
  ProtoWriter nested;
  nested.message(19, ProtoWriter().raw({0x0A, 0x07}));
  e = to_json(m.d.get(), nested.bytes());
  EXPECT_NE(e.find("field 'inner'"), std::string::npos) << e;
  e = to_json(m.d.get(), {0x00});
  EXPECT_NE(e.find("field number 0"), std::string::npos) << e;
  for (const auto &bad : std::vector<std::vector<uint8_t>>{
           {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01},
           {0xA2, 0x01, 0x03, 0x80, 0x80, 0x80},     // packed varints that end inside a value
           {0xAA, 0x01, 0x07, 1, 2, 3, 4, 5, 6, 7},  // packed doubles, not a multiple of 8
           {0x23}}) {                                // a group start without its end
    e = to_json(m.d.get(), bad);
    EXPECT_EQ(e.rfind("ERROR", 0), 0u) << e;
  }
  // every prefix of a good message fails or succeeds, never crashes
  auto full = full_message().bytes();
  for (size_t n = 0; n < full.size(); n++)
    (void)to_json(m.d.get(),
                  std::vector<uint8_t>(full.begin(), full.begin() + static_cast<long>(n)));
  EXPECT_EQ(to_json(m.d.get(), full), kFullJson);
}

TEST(DecodeProto, RecursiveMessagesAreBoundedByDepth) {
  PbFile f;
  f.name = "n.proto";
  f.package = "n";
  f.syntax = "proto3";
  PbMessage n;
  n.name = "Node";
  n.fields = {{"v", 1, kPbInt32}, {"kids", 2, kPbMessage, kPbRepeated, ".n.Node"}};
  f.messages = {n};
  WireBytes ds = descriptor_set({f});
  Made m = make("protobuf", "protobuf", "n.Node", std::string(ds.begin(), ds.end()));
  ASSERT_EQ(m.rc, PL_DECODE_OK) << m.err;
  ProtoWriter leaf;
  leaf.varint(1, 3);
  ProtoWriter mid;
  mid.varint(1, 2).message(2, leaf);
  EXPECT_EQ(to_json(m.d.get(), mid.bytes()), "{\"v\":2,\"kids\":[{\"v\":3,\"kids\":[]}]}");
  ProtoWriter deep;
  deep.varint(1, 0);
  for (int i = 0; i < 200; i++) {
    ProtoWriter up;
    up.message(2, deep);
    deep = up;
  }
  std::string e = to_json(m.d.get(), deep.bytes());
  EXPECT_EQ(e.rfind("ERROR " + std::to_string(PL_DECODE_ELIMIT), 0), 0u) << e.substr(0, 200);
}

TEST(DecodeProto, SchemaErrors) {
  Made nomsg = make("protobuf", "protobuf", "test.Nope", schema_bytes());
  EXPECT_EQ(nomsg.rc, PL_DECODE_ESCHEMA);
  EXPECT_NE(nomsg.err.find("no message 'test.Nope' in the FileDescriptorSet"), std::string::npos)
      << nomsg.err;
  Made garbage = make("protobuf", "protobuf", "x.Y", "\x0A\xFF\x01");
  EXPECT_EQ(garbage.rc, PL_DECODE_ESCHEMA) << garbage.err;
  PbFile f;
  f.name = "g.proto";
  f.package = "g";
  PbMessage m;
  m.name = "G";
  m.fields = {{"grp", 1, kPbGroup, kPbOptional, ".g.G.Grp"}};
  f.messages = {m};
  WireBytes ds = descriptor_set({f});
  Made grp = make("protobuf", "protobuf", "g.G", std::string(ds.begin(), ds.end()));
  EXPECT_EQ(grp.rc, PL_DECODE_EUNSUPPORTED);
  EXPECT_NE(grp.err.find("groups are not supported"), std::string::npos) << grp.err;
  PbMessage dangling;
  dangling.name = "D";
  dangling.fields = {{"x", 1, kPbMessage, kPbOptional, ".g.Missing"}};
  f.messages = {dangling};
  ds = descriptor_set({f});
  Made dang = make("protobuf", "protobuf", "g.D", std::string(ds.begin(), ds.end()));
  EXPECT_EQ(dang.rc, PL_DECODE_ESCHEMA);
  EXPECT_NE(dang.err.find("unknown type '.g.Missing'"), std::string::npos) << dang.err;
  // every prefix of a descriptor set is handled without a crash
  std::string full = schema_bytes();
  for (size_t n = 0; n < full.size(); n += 7)
    (void)make("protobuf", "protobuf", "test.All", full.substr(0, n));
}

TEST(DecodeProto, CsvColumnsFromTheDescriptor) {
  Made m = make("protobuf", "protobuf", "test.All", schema_bytes());
  ASSERT_EQ(m.rc, PL_DECODE_OK) << m.err;
  pl_csv_options o;
  pl_csv_options_init(&o);
  o.max_array = 1;
  std::string csv = to_csv(m.d.get(), {full_message().bytes()}, &o);
  std::string header = csv.substr(0, csv.find('\n'));
  EXPECT_EQ(header,
            "log_time,log_time_rfc3339,d,f,i64,u64,i32,fx64,fx32,b,s,by,u32,mode,sf32,sf64,si32,"
            "si64,inner.x,inner.label,packed_ints[0],packed_ints.count,doubles[0],doubles.count,"
            "inners[0].x,inners[0].label,inners.count,modes[0],modes.count,counts,by_id,name,id,"
            "maybe,stamp,took,tags[0],tags.count,zig[0],zig.count");
  std::string row = csv.substr(header.size() + 1);
  EXPECT_EQ(row,
            "1767225600000000000,2026-01-01T00:00:00.000000000Z,1.25,0.1,-5,9223372036854775808,-7,"
            "12345,4000000000,true,h\xC3\xA9llo,3,42,MODE_MANUAL,-3,-4,-123,-9007199254740993,0.5,"
            "in,1,3,1.5,2,1,a,2,MODE_AUTO,2,\"{\"\"a\"\":1,\"\"b\"\":2}\","
            "\"{\"\"-2\"\":{\"\"x\"\":4,\"\"label\"\":\"\"neg\"\"},\"\"10\"\":{\"\"x\"\":3,"
            "\"\"label\"\":\"\"ten\"\"}}\",,99,0,2026-01-01T00:00:00.500Z,-1.500s,x,2,-1,2\n");
}

}  // namespace
