// test_records.cc - record parsing and encoding (mcap_record_parse/encode), map
// and message-index accessors, against records built by hand with the test
// builder: every record type's fields, padding (record extension), truncation
// at every length below the minimum, malformed maps, private opcodes.
#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "mcap/mcap.h"
#include "mcap_builder.h"

using namespace mcapkit_test;

namespace {

std::string S(mcap_str s) {
  return s.len ? std::string(s.data, s.len) : std::string();
}
Bytes B(mcap_bytes b) {
  return b.len ? Bytes(b.data, b.data + b.len) : Bytes();
}

StrMap M(const mcap_map &m) {
  StrMap out;
  mcap_map_iter it = {0};
  mcap_str k, v;
  int rc;
  while ((rc = mcap_map_next_str(&m, &it, &k, &v)) == MCAP_OK) out.emplace_back(S(k), S(v));
  EXPECT_EQ(rc, MCAP_ITEROVER);
  return out;
}

IdMap IM(const mcap_map &m) {
  IdMap out;
  mcap_map_iter it = {0};
  uint16_t k;
  uint64_t v;
  int rc;
  while ((rc = mcap_map_next_u16u64(&m, &it, &k, &v)) == MCAP_OK) out.emplace_back(k, v);
  EXPECT_EQ(rc, MCAP_ITEROVER);
  return out;
}

// Parse content; fails the test on error.
mcap_record Parse(uint8_t opcode, const Bytes &content, uint64_t base = 1234) {
  mcap_record rec;
  std::memset(&rec, 0xA5, sizeof rec);  // poison: parse must set what it reports
  mcap_error_info err;
  int rc = mcap_record_parse(opcode, content.data(), content.size(), base, &rec, &err);
  EXPECT_EQ(rc, MCAP_OK) << (rc ? err.msg : "");
  EXPECT_EQ(rec.opcode, opcode);
  EXPECT_EQ(rec.content.len, content.size());
  EXPECT_EQ(rec.content.data, content.data());
  return rec;
}

// Encode a parsed record and compare with the expected whole record.
void ExpectEncodes(const mcap_record &rec, const Bytes &expected) {
  uint64_t size = 0;
  ASSERT_EQ(mcap_record_encode(&rec, nullptr, 0, &size), MCAP_OK);
  ASSERT_EQ(size, expected.size());
  Bytes out(size + 4, 0xEE);
  uint64_t size2 = 0;
  ASSERT_EQ(mcap_record_encode(&rec, out.data(), out.size(), &size2), MCAP_OK);
  EXPECT_EQ(size2, size);
  EXPECT_EQ(Bytes(out.begin(), out.begin() + static_cast<long>(size)), expected);
  EXPECT_EQ(out[size], 0xEE) << "encode wrote past the record";
  if (size > 0) {
    Bytes small(size - 1);
    EXPECT_EQ(mcap_record_encode(&rec, small.data(), small.size(), &size2), MCAP_EINVAL);
  }
}

// ------------------------------------------------------------ sample records

Header SampleHeader() {
  return Header{"ros2", "mcapkit-test/1.2"};
}
Footer SampleFooter() {
  return Footer{0x1122334455667788ull, 0x0102030405060708ull, 0xDEADBEEF};
}
Schema SampleSchema() {
  return Schema{0x1234, "pkg/msg/Point", "ros2msg", {1, 2, 3, 0, 255}};
}
Channel SampleChannel() {
  // Unsorted keys: the parser must keep wire order.
  return Channel{0xBEEF, 0x1234, "/robot/points", "cdr", {{"zeta", "1"}, {"alpha", ""}, {"", "v"}}};
}
Message SampleMessage() {
  return Message{0xBEEF, 0xFFFFFFF0u, 0x0807060504030201ull, 0x1112131415161718ull, {9, 8, 7, 0}};
}
Chunk SampleChunk() {
  Bytes inner = record_bytes(SampleMessage());
  return make_chunk(inner, "zstd", 100, 200);
}
MessageIndex SampleMessageIndex() {
  return MessageIndex{0xBEEF, {{30, 0}, {10, 41}, {20, 82}}};
}
ChunkIndex SampleChunkIndex() {
  ChunkIndex ci;
  ci.message_start_time = 5;
  ci.message_end_time = 0xFFFFFFFFFFFFFFFFull;
  ci.chunk_start_offset = 28;
  ci.chunk_length = 164;
  ci.message_index_offsets = {{3, 400}, {1, 300}};
  ci.message_index_length = 68;
  ci.compression = "lz4";
  ci.compressed_size = 77;
  ci.uncompressed_size = 115;
  return ci;
}
Attachment SampleAttachment() {
  Attachment a;
  a.log_time = 2;
  a.create_time = 1;
  a.name = "calib.yaml";
  a.media_type = "text/yaml";
  a.data = bytes_of("a: 1\n");
  return a;
}
AttachmentIndex SampleAttachmentIndex() {
  return AttachmentIndex{25, 78, 2, 1, 3, "myFile", "application/octet-stream"};
}
Statistics SampleStatistics() {
  Statistics s;
  s.message_count = 1ull << 40;
  s.schema_count = 0xFFFF;
  s.channel_count = 3;
  s.attachment_count = 4;
  s.metadata_count = 5;
  s.chunk_count = 6;
  s.message_start_time = 7;
  s.message_end_time = 8;
  s.channel_message_counts = {{0, 1}, {65535, 1ull << 40}};
  return s;
}
Metadata SampleMetadata() {
  return Metadata{"run", {{"site", "lab"}, {"robot", "r2"}}};
}
MetadataIndex SampleMetadataIndex() {
  return MetadataIndex{25, 41, "myMetadata"};
}
SummaryOffset SampleSummaryOffset() {
  return SummaryOffset{0x0B, 326, 68};
}
DataEnd SampleDataEnd() {
  return DataEnd{0xCAFEBABE};
}

// A record type described generically, for the table-driven tests.
struct Kind {
  const char *name;
  uint8_t opcode;
  std::function<Bytes(Spans *)> full;     // all fields set
  std::function<Bytes(Spans *)> minimal;  // empty strings/maps/data
  uint64_t min_size;                      // from the spec digest
  bool trailing_data;                     // Message: last field runs to the end
};

template <class R>
Kind MakeKind(const char *name, R sample, uint64_t min_size, bool trailing = false) {
  return Kind{name,
              R::kOpcode,
              [sample](Spans *sp) { return sample.content(sp); },
              [](Spans *sp) { return R().content(sp); },
              min_size,
              trailing};
}

std::vector<Kind> AllKinds() {
  return {
      MakeKind("Header", SampleHeader(), 8),
      MakeKind("Footer", SampleFooter(), 20),
      MakeKind("Schema", SampleSchema(), 14),
      MakeKind("Channel", SampleChannel(), 16),
      MakeKind("Message", SampleMessage(), 22, true),
      MakeKind("Chunk", SampleChunk(), 40),
      MakeKind("MessageIndex", SampleMessageIndex(), 6),
      MakeKind("ChunkIndex", SampleChunkIndex(), 64),
      MakeKind("Attachment", SampleAttachment(), 36),
      MakeKind("AttachmentIndex", SampleAttachmentIndex(), 48),
      MakeKind("Statistics", SampleStatistics(), 46),
      MakeKind("Metadata", SampleMetadata(), 8),
      MakeKind("MetadataIndex", SampleMetadataIndex(), 20),
      MakeKind("SummaryOffset", SampleSummaryOffset(), 17),
      MakeKind("DataEnd", SampleDataEnd(), 4),
  };
}

const FieldSpan &SpanAt(const Spans &spans, size_t at) {
  for (const FieldSpan &s : spans)
    if (at < s.end) return s;
  return spans.back();
}

}  // namespace

// ------------------------------------------------------------ field checks

TEST(Records, Header) {
  Header h = SampleHeader();
  Bytes c = h.content();
  mcap_record r = Parse(0x01, c);
  EXPECT_EQ(S(r.u.header.profile), h.profile);
  EXPECT_EQ(S(r.u.header.library), h.library);
  ExpectEncodes(r, envelope(0x01, c));
}

TEST(Records, Footer) {
  Footer f = SampleFooter();
  Bytes c = f.content();
  ASSERT_EQ(c.size() + 9, static_cast<size_t>(MCAP_FOOTER_RECORD_SIZE));
  mcap_record r = Parse(0x02, c);
  EXPECT_EQ(r.u.footer.summary_start, f.summary_start);
  EXPECT_EQ(r.u.footer.summary_offset_start, f.summary_offset_start);
  EXPECT_EQ(r.u.footer.summary_crc, f.summary_crc);
  ExpectEncodes(r, envelope(0x02, c));
}

TEST(Records, Schema) {
  Schema s = SampleSchema();
  Bytes c = s.content();
  mcap_record r = Parse(0x03, c);
  EXPECT_EQ(r.u.schema.id, s.id);
  EXPECT_EQ(S(r.u.schema.name), s.name);
  EXPECT_EQ(S(r.u.schema.encoding), s.encoding);
  EXPECT_EQ(B(r.u.schema.data), s.data);
  ExpectEncodes(r, envelope(0x03, c));
}

TEST(Records, Channel) {
  Channel ch = SampleChannel();
  Bytes c = ch.content();
  mcap_record r = Parse(0x04, c);
  EXPECT_EQ(r.u.channel.id, ch.id);
  EXPECT_EQ(r.u.channel.schema_id, ch.schema_id);
  EXPECT_EQ(S(r.u.channel.topic), ch.topic);
  EXPECT_EQ(S(r.u.channel.message_encoding), ch.message_encoding);
  EXPECT_EQ(M(r.u.channel.metadata), ch.metadata);
  EXPECT_EQ(mcap_map_str_count(&r.u.channel.metadata), 3u);
  ExpectEncodes(r, envelope(0x04, c));
}

TEST(Records, Message) {
  Message m = SampleMessage();
  Bytes c = m.content();
  mcap_record r = Parse(0x05, c);
  EXPECT_EQ(r.u.message.channel_id, m.channel_id);
  EXPECT_EQ(r.u.message.sequence, m.sequence);
  EXPECT_EQ(r.u.message.log_time, m.log_time);
  EXPECT_EQ(r.u.message.publish_time, m.publish_time);
  EXPECT_EQ(B(r.u.message.data), m.data);
  ExpectEncodes(r, envelope(0x05, c));
}

TEST(Records, MessageWithEmptyData) {
  Message m = SampleMessage();
  m.data.clear();
  Bytes c = m.content();
  ASSERT_EQ(c.size(), 22u);
  mcap_record r = Parse(0x05, c);
  EXPECT_EQ(r.u.message.data.len, 0u);
  ExpectEncodes(r, envelope(0x05, c));
}

TEST(Records, Chunk) {
  Chunk k = SampleChunk();
  Bytes c = k.content();
  mcap_record r = Parse(0x06, c);
  EXPECT_EQ(r.u.chunk.message_start_time, k.message_start_time);
  EXPECT_EQ(r.u.chunk.message_end_time, k.message_end_time);
  EXPECT_EQ(r.u.chunk.uncompressed_size, k.uncompressed_size);
  EXPECT_EQ(r.u.chunk.uncompressed_crc, k.uncompressed_crc);
  EXPECT_EQ(S(r.u.chunk.compression), "zstd");
  EXPECT_EQ(B(r.u.chunk.records), k.records);
  ExpectEncodes(r, envelope(0x06, c));
}

TEST(Records, MessageIndex) {
  MessageIndex mi = SampleMessageIndex();
  Bytes c = mi.content();
  mcap_record r = Parse(0x07, c);
  EXPECT_EQ(r.u.message_index.channel_id, mi.channel_id);
  ASSERT_EQ(mcap_message_index_count(&r.u.message_index), mi.entries.size());
  for (size_t i = 0; i < mi.entries.size(); i++) {
    uint64_t t = 0, off = 0;
    mcap_message_index_entry(&r.u.message_index, i, &t, &off);
    EXPECT_EQ(t, mi.entries[i].first);
    EXPECT_EQ(off, mi.entries[i].second);
  }
  ExpectEncodes(r, envelope(0x07, c));
}

TEST(Records, ChunkIndex) {
  ChunkIndex ci = SampleChunkIndex();
  Bytes c = ci.content();
  mcap_record r = Parse(0x08, c);
  const mcap_chunk_index &p = r.u.chunk_index;
  EXPECT_EQ(p.message_start_time, ci.message_start_time);
  EXPECT_EQ(p.message_end_time, ci.message_end_time);
  EXPECT_EQ(p.chunk_start_offset, ci.chunk_start_offset);
  EXPECT_EQ(p.chunk_length, ci.chunk_length);
  EXPECT_EQ(IM(p.message_index_offsets), ci.message_index_offsets);
  EXPECT_EQ(mcap_map_u16u64_count(&p.message_index_offsets), 2u);
  uint64_t v = 0;
  EXPECT_EQ(mcap_map_find_u16u64(&p.message_index_offsets, 1, &v), 1);
  EXPECT_EQ(v, 300u);
  EXPECT_EQ(mcap_map_find_u16u64(&p.message_index_offsets, 2, &v), 0);
  EXPECT_EQ(p.message_index_length, ci.message_index_length);
  EXPECT_EQ(S(p.compression), ci.compression);
  EXPECT_EQ(p.compressed_size, ci.compressed_size);
  EXPECT_EQ(p.uncompressed_size, ci.uncompressed_size);
  ExpectEncodes(r, envelope(0x08, c));
}

TEST(Records, Attachment) {
  Attachment a = SampleAttachment();
  Bytes c = a.content();
  mcap_record r = Parse(0x09, c);
  EXPECT_EQ(r.u.attachment.log_time, a.log_time);
  EXPECT_EQ(r.u.attachment.create_time, a.create_time);
  EXPECT_EQ(S(r.u.attachment.name), a.name);
  EXPECT_EQ(S(r.u.attachment.media_type), a.media_type);
  EXPECT_EQ(B(r.u.attachment.data), a.data);
  EXPECT_EQ(r.u.attachment.crc, a.computed_crc());
  EXPECT_EQ(r.u.attachment.crc, mcap_crc32(0, c.data(), c.size() - 4));
  ExpectEncodes(r, envelope(0x09, c));
}

TEST(Records, AttachmentIndex) {
  AttachmentIndex ai = SampleAttachmentIndex();
  Bytes c = ai.content();
  mcap_record r = Parse(0x0A, c);
  const mcap_attachment_index &p = r.u.attachment_index;
  EXPECT_EQ(p.offset, ai.offset);
  EXPECT_EQ(p.length, ai.length);
  EXPECT_EQ(p.log_time, ai.log_time);
  EXPECT_EQ(p.create_time, ai.create_time);
  EXPECT_EQ(p.data_size, ai.data_size);
  EXPECT_EQ(S(p.name), ai.name);
  EXPECT_EQ(S(p.media_type), ai.media_type);
  ExpectEncodes(r, envelope(0x0A, c));
}

TEST(Records, Statistics) {
  Statistics st = SampleStatistics();
  Bytes c = st.content();
  mcap_record r = Parse(0x0B, c);
  const mcap_statistics &p = r.u.statistics;
  EXPECT_EQ(p.message_count, st.message_count);
  EXPECT_EQ(p.schema_count, st.schema_count);
  EXPECT_EQ(p.channel_count, st.channel_count);
  EXPECT_EQ(p.attachment_count, st.attachment_count);
  EXPECT_EQ(p.metadata_count, st.metadata_count);
  EXPECT_EQ(p.chunk_count, st.chunk_count);
  EXPECT_EQ(p.message_start_time, st.message_start_time);
  EXPECT_EQ(p.message_end_time, st.message_end_time);
  EXPECT_EQ(IM(p.channel_message_counts), st.channel_message_counts);
  ExpectEncodes(r, envelope(0x0B, c));
}

TEST(Records, Metadata) {
  Metadata md = SampleMetadata();
  Bytes c = md.content();
  mcap_record r = Parse(0x0C, c);
  EXPECT_EQ(S(r.u.metadata.name), md.name);
  EXPECT_EQ(M(r.u.metadata.metadata), md.metadata);
  ExpectEncodes(r, envelope(0x0C, c));
}

TEST(Records, MetadataIndex) {
  MetadataIndex mi = SampleMetadataIndex();
  Bytes c = mi.content();
  mcap_record r = Parse(0x0D, c);
  EXPECT_EQ(r.u.metadata_index.offset, mi.offset);
  EXPECT_EQ(r.u.metadata_index.length, mi.length);
  EXPECT_EQ(S(r.u.metadata_index.name), mi.name);
  ExpectEncodes(r, envelope(0x0D, c));
}

TEST(Records, SummaryOffset) {
  SummaryOffset so = SampleSummaryOffset();
  Bytes c = so.content();
  mcap_record r = Parse(0x0E, c);
  EXPECT_EQ(r.u.summary_offset.group_opcode, so.group_opcode);
  EXPECT_EQ(r.u.summary_offset.group_start, so.group_start);
  EXPECT_EQ(r.u.summary_offset.group_length, so.group_length);
  ExpectEncodes(r, envelope(0x0E, c));
}

TEST(Records, DataEnd) {
  DataEnd de = SampleDataEnd();
  Bytes c = de.content();
  mcap_record r = Parse(0x0F, c);
  EXPECT_EQ(r.u.data_end.data_section_crc, de.data_section_crc);
  ExpectEncodes(r, envelope(0x0F, c));
}

// ------------------------------------------------------- table-driven checks

TEST(Records, MinimumSizesMatchTheSpec) {
  for (const Kind &k : AllKinds()) {
    SCOPED_TRACE(k.name);
    Bytes c = k.minimal(nullptr);
    EXPECT_EQ(c.size(), k.min_size);
    mcap_record r = Parse(k.opcode, c);
    ExpectEncodes(r, envelope(k.opcode, c));
  }
}

TEST(Records, EveryTypeRoundTripsThroughEncode) {
  for (const Kind &k : AllKinds()) {
    SCOPED_TRACE(k.name);
    Bytes c = k.full(nullptr);
    mcap_record r = Parse(k.opcode, c);
    ExpectEncodes(r, envelope(k.opcode, c));
  }
}

TEST(Records, OpcodeNames) {
  for (const Kind &k : AllKinds()) EXPECT_STREQ(mcap_opcode_name(k.opcode), k.name);
  EXPECT_STREQ(mcap_opcode_name(0x80), "Private");
  EXPECT_STREQ(mcap_opcode_name(0xFF), "Private");
  EXPECT_STREQ(mcap_opcode_name(0x10), "Unknown");
  EXPECT_STREQ(mcap_opcode_name(0x7F), "Unknown");
}

// Bytes after the known fields are ignored, and encoding drops them.
TEST(Records, PaddedRecordsParse) {
  const std::vector<Bytes> pads = {conformance_pad(), Bytes{0}, Bytes(100, 0xFF)};
  for (const Kind &k : AllKinds()) {
    if (k.trailing_data) continue;  // Message data runs to the end: no room for extension
    for (const Bytes &pad : pads) {
      SCOPED_TRACE(std::string(k.name) + " pad " + std::to_string(pad.size()));
      Bytes plain = k.full(nullptr);
      Bytes padded = concat(plain, pad);
      mcap_record r = Parse(k.opcode, padded);
      mcap_record r0 = Parse(k.opcode, plain);
      // Same fields as the unpadded record: re-encoding both gives the same bytes.
      ExpectEncodes(r, envelope(k.opcode, plain));
      ExpectEncodes(r0, envelope(k.opcode, plain));
    }
  }
}

// The Chunk's records length comes from its field, not from the content length.
TEST(Records, PaddedChunkKeepsRecordsLength) {
  Chunk k = SampleChunk();
  Bytes padded = concat(k.content(), conformance_pad());
  mcap_record r = Parse(0x06, padded);
  EXPECT_EQ(B(r.u.chunk.records), k.records);
}

// The Attachment crc sits right after the data even when the record is padded.
TEST(Records, PaddedAttachmentCrcIsNotTheLastFourBytes) {
  Attachment a = SampleAttachment();
  Bytes padded = concat(a.content(), conformance_pad());
  mcap_record r = Parse(0x09, padded);
  EXPECT_EQ(r.u.attachment.crc, a.computed_crc());
  EXPECT_EQ(B(r.u.attachment.data), a.data);
}

// Every length below the minimum fails with MCAP_ERECORD naming the field.
TEST(Records, TruncatedBelowMinimumFailsNamingTheField) {
  for (const Kind &k : AllKinds()) {
    Spans spans;
    Bytes c = k.minimal(&spans);
    for (size_t len = 0; len < c.size(); len++) {
      SCOPED_TRACE(std::string(k.name) + " truncated to " + std::to_string(len));
      const FieldSpan &f = SpanAt(spans, len);
      Bytes t(c.begin(), c.begin() + static_cast<long>(len));
      mcap_record rec;
      mcap_error_info err;
      std::memset(&err, 0, sizeof err);
      int rc = mcap_record_parse(k.opcode, t.data(), t.size(), 777, &rec, &err);
      EXPECT_EQ(rc, MCAP_ERECORD);
      EXPECT_EQ(err.code, MCAP_ERECORD);
      EXPECT_EQ(err.offset, 777u);
      EXPECT_NE(std::string(err.msg).find("'" + f.name + "'"), std::string::npos)
          << "message '" << err.msg << "' does not name field '" << f.name << "'";
      EXPECT_NE(std::string(err.msg).find(k.name), std::string::npos) << err.msg;
      // A NULL error info is allowed.
      EXPECT_EQ(mcap_record_parse(k.opcode, t.data(), t.size(), 0, &rec, nullptr), MCAP_ERECORD);
    }
  }
}

// A fully populated record cut anywhere inside its fields fails the same way
// (length prefixes then point past the end); Message instead loses data bytes.
TEST(Records, TruncatedFullRecordsFailNamingTheField) {
  for (const Kind &k : AllKinds()) {
    Spans spans;
    Bytes c = k.full(&spans);
    for (size_t len = 0; len < c.size(); len++) {
      SCOPED_TRACE(std::string(k.name) + " truncated to " + std::to_string(len));
      Bytes t(c.begin(), c.begin() + static_cast<long>(len));
      mcap_record rec;
      mcap_error_info err;
      std::memset(&err, 0, sizeof err);
      int rc = mcap_record_parse(k.opcode, t.data(), t.size(), 0, &rec, &err);
      if (k.trailing_data && len >= k.min_size) {
        EXPECT_EQ(rc, MCAP_OK);
        EXPECT_EQ(rec.u.message.data.len, len - k.min_size);
        continue;
      }
      const FieldSpan &f = SpanAt(spans, len);
      EXPECT_EQ(rc, MCAP_ERECORD);
      EXPECT_NE(std::string(err.msg).find("'" + f.name + "'"), std::string::npos)
          << "message '" << err.msg << "' does not name field '" << f.name << "'";
    }
  }
}

// ------------------------------------------------------------- bad maps

namespace {

void ExpectBad(uint8_t opcode, const Bytes &content, const std::string &field) {
  mcap_record rec;
  mcap_error_info err;
  std::memset(&err, 0, sizeof err);
  EXPECT_EQ(mcap_record_parse(opcode, content.data(), content.size(), 0, &rec, &err), MCAP_ERECORD);
  EXPECT_NE(std::string(err.msg).find("'" + field + "'"), std::string::npos) << err.msg;
}

// Channel content with a hand-made metadata area.
Bytes ChannelWithMapArea(uint32_t declared, const Bytes &area) {
  Bytes c;
  put_u16(c, 1);
  put_u16(c, 0);
  put_str(c, "t");
  put_str(c, "json");
  put_u32(c, declared);
  put_raw(c, area);
  return c;
}

}  // namespace

TEST(Records, StringMapWithKeyLongerThanTheMapFails) {
  Bytes area;
  put_u32(area, 100);  // key claims 100 bytes, the area has 6 more
  put_raw(area, bytes_of("abcdef"));
  ExpectBad(0x04, ChannelWithMapArea(static_cast<uint32_t>(area.size()), area), "metadata");
}

TEST(Records, StringMapWithValueLongerThanTheMapFails) {
  Bytes area;
  put_str(area, "k");
  put_u32(area, 5);  // value claims 5 bytes, map ends after 2
  put_raw(area, bytes_of("vv"));
  // Content continues past the map so that only the map's own bound is violated.
  Bytes c = concat(ChannelWithMapArea(static_cast<uint32_t>(area.size()), area), Bytes(16, 0));
  ExpectBad(0x04, c, "metadata");
}

TEST(Records, StringMapWithPartialEntryFails) {
  Bytes area;
  put_str(area, "k");
  put_str(area, "v");
  put_raw(area, Bytes{1, 0});  // half a length prefix
  ExpectBad(0x04, ChannelWithMapArea(static_cast<uint32_t>(area.size()), area), "metadata");
  Bytes md;
  put_str(md, "name");
  put_u32(md, static_cast<uint32_t>(area.size()));
  put_raw(md, area);
  ExpectBad(0x0C, md, "metadata");
}

TEST(Records, StringMapLongerThanTheRecordFails) {
  Bytes area;
  put_str(area, "k");
  put_str(area, "v");
  ExpectBad(0x04, ChannelWithMapArea(static_cast<uint32_t>(area.size()) + 1, area), "metadata");
}

TEST(Records, IdMapNotAMultipleOfTenFails) {
  ChunkIndex ci = SampleChunkIndex();
  Spans spans;
  Bytes c = ci.content(&spans);
  // message_index_offsets: declared 20 -> 19 and drop one byte so the rest lines up.
  const FieldSpan &f = spans[4];
  ASSERT_EQ(f.name, "message_index_offsets");
  Bytes bad(c.begin(), c.begin() + static_cast<long>(f.begin));
  put_u32(bad, 19);
  bad.insert(bad.end(), c.begin() + static_cast<long>(f.begin + 4),
             c.begin() + static_cast<long>(f.end - 1));
  bad.insert(bad.end(), c.begin() + static_cast<long>(f.end), c.end());
  ExpectBad(0x08, bad, "message_index_offsets");

  Statistics st = SampleStatistics();
  Spans sspans;
  Bytes s = st.content(&sspans);
  const FieldSpan &g = sspans.back();
  ASSERT_EQ(g.name, "channel_message_counts");
  Bytes sbad(s.begin(), s.begin() + static_cast<long>(g.begin));
  put_u32(sbad, 5);
  put_raw(sbad, Bytes{1, 0, 2, 0, 0});
  ExpectBad(0x0B, sbad, "channel_message_counts");
}

TEST(Records, MessageIndexArrayNotAMultipleOfSixteenFails) {
  Bytes c;
  put_u16(c, 1);
  put_u32(c, 17);
  put_raw(c, Bytes(17, 0));
  ExpectBad(0x07, c, "records");
}

TEST(Records, StringLongerThanTheRecordFails) {
  Bytes c;
  put_u32(c, 0xFFFFFFFFu);  // profile of 4 GiB
  put_raw(c, bytes_of("ros2"));
  ExpectBad(0x01, c, "profile");
  Bytes a;
  put_u64(a, 1);
  put_u64(a, 2);
  put_str(a, "n");
  put_str(a, "m");
  put_u64(a, 0xFFFFFFFFFFFFFFF0ull);  // data length near 2^64: no overflow allowed
  put_raw(a, Bytes(8, 0));
  ExpectBad(0x09, a, "data");
}

// ---------------------------------------------------------- other opcodes

TEST(Records, PrivateAndUnknownOpcodesPassThrough) {
  for (uint8_t op : {uint8_t{0x80}, uint8_t{0xAB}, uint8_t{0xFF}, uint8_t{0x42}}) {
    SCOPED_TRACE(static_cast<int>(op));
    Bytes c = bytes_of("any bytes at all \x01\x02");
    mcap_record r = Parse(op, c);
    EXPECT_EQ(B(r.content), c);
    ExpectEncodes(r, envelope(op, c));
    Bytes empty;
    mcap_record r2 = Parse(op, empty);
    EXPECT_EQ(r2.content.len, 0u);
    ExpectEncodes(r2, envelope(op, empty));
  }
}

// ---------------------------------------------------------------- encode

TEST(Records, EncodeRejectsFieldsTooLongForTheirPrefix) {
  mcap_record r;
  std::memset(&r, 0, sizeof r);
  r.opcode = MCAP_OP_SCHEMA;
  static const uint8_t dummy[1] = {0};
  r.u.schema.data.data = dummy;
  r.u.schema.data.len = (1ull << 32);  // never read: the size check comes first
  uint64_t size = 0;
  EXPECT_EQ(mcap_record_encode(&r, nullptr, 0, &size), MCAP_ELIMIT);
}

TEST(Records, EncodeFromFieldsMatchesBuilder) {
  // Build from C structs (not from a parse) to check the encoder on its own.
  mcap_record r;
  std::memset(&r, 0, sizeof r);
  r.opcode = MCAP_OP_MESSAGE;
  static const uint8_t data[3] = {1, 2, 3};
  r.u.message = mcap_message{1, 10, 2, 1, mcap_bytes{data, 3}};
  Message m{1, 10, 2, 1, {1, 2, 3}};
  ExpectEncodes(r, record_bytes(m));

  std::memset(&r, 0, sizeof r);
  r.opcode = MCAP_OP_HEADER;
  r.u.header.profile = mcap_str_c("ros1");
  r.u.header.library = mcap_str_c(nullptr);
  ExpectEncodes(r, record_bytes(Header{"ros1", ""}));
}

// ------------------------------------------------------------ misc helpers

TEST(Records, StrC) {
  mcap_str s = mcap_str_c("abc");
  EXPECT_EQ(S(s), "abc");
  EXPECT_EQ(mcap_str_c(nullptr).len, 0u);
}

TEST(Records, Crc32MatchesReference) {
  Bytes b = bytes_of("123456789");
  EXPECT_EQ(mcap_crc32(0, b.data(), b.size()), 0xCBF43926u);
  EXPECT_EQ(crc32(b), 0xCBF43926u);
  // Continuation: crc(a+b) == crc(b, crc(a)).
  Bytes big(100000);
  for (size_t i = 0; i < big.size(); i++) big[i] = static_cast<uint8_t>(i * 31 + 7);
  uint32_t whole = mcap_crc32(0, big.data(), big.size());
  uint32_t part = mcap_crc32(0, big.data(), 333);
  part = mcap_crc32(part, big.data() + 333, big.size() - 333);
  EXPECT_EQ(whole, part);
  EXPECT_EQ(whole, crc32(big));
}
