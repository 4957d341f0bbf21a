// test_writer.cc - the writer's API and output details: header bytes, id
// assignment and re-registration, conflicting ids, state errors, attachments
// in pieces, CRC and compression options, byte-exact output against the
// hand-made builder, failing sinks.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "mcap/mcap.h"
#include "mcap_builder.h"

using namespace mcapkit_test;

namespace {

std::string S(mcap_str s) {
  return s.len ? std::string(s.data, s.len) : std::string();
}
mcap_str V(const std::string &s) {
  return mcap_str{s.data(), static_cast<uint32_t>(s.size())};
}
mcap_bytes V(const Bytes &b) {
  return mcap_bytes{b.data(), b.size()};
}

// A writer on a memory sink, freed with the fixture.
class WriterTest : public ::testing::Test {
 protected:
  void Open(const mcap_writer_options *o = nullptr) {
    ASSERT_EQ(mcap_sink_memory(&sink_, 0), MCAP_OK);
    sink_open_ = true;
    ASSERT_EQ(mcap_writer_open(&w_, &sink_, o), MCAP_OK);
  }
  Bytes Contents() const {
    uint64_t size = 0;
    const uint8_t *p = mcap_sink_memory_data(&sink_, &size);
    return size ? Bytes(p, p + size) : Bytes();
  }
  Bytes CloseAndGet() {
    EXPECT_EQ(mcap_writer_close(w_), MCAP_OK) << mcap_writer_errmsg(w_);
    return Contents();
  }
  void TearDown() override {
    mcap_writer_free(w_);
    if (sink_open_) mcap_sink_close(&sink_, nullptr);
  }
  uint16_t Schema(const std::string &name, const std::string &enc = "jsonschema",
                  const Bytes &data = bytes_of("{}")) {
    uint16_t id = 0;
    EXPECT_EQ(mcap_writer_add_schema(w_, V(name), V(enc), V(data), &id), MCAP_OK)
        << mcap_writer_errmsg(w_);
    return id;
  }
  uint16_t Chan(uint16_t schema, const std::string &topic, const StrMap &md = {}) {
    std::vector<mcap_kv> kv;
    for (const auto &p : md) kv.push_back(mcap_kv{V(p.first), V(p.second)});
    uint16_t id = 0;
    EXPECT_EQ(mcap_writer_add_channel(w_, schema, V(topic), mcap_str_c("json"), kv.data(),
                                      kv.size(), &id),
              MCAP_OK)
        << mcap_writer_errmsg(w_);
    return id;
  }
  int Msg(uint16_t channel, uint64_t t, const Bytes &data = {1, 2, 3}) {
    mcap_message m{channel, 0, t, t, V(data)};
    return mcap_writer_write_message(w_, &m);
  }

  mcap_sink sink_;
  bool sink_open_ = false;
  mcap_writer *w_ = nullptr;
};

std::vector<LoggedRecord> TopLevel(const Bytes &file) {
  mcap_reader_options o;
  mcap_reader_options_init(&o);
  o.raw_chunks = 1;
  ReadResult r = read_all_memory(file, &o);
  EXPECT_EQ(r.rc, MCAP_ITEROVER) << r.errmsg;
  return r.records;
}

mcap_record ParseRec(const LoggedRecord &lr) {
  mcap_record r;
  EXPECT_EQ(
      mcap_record_parse(lr.opcode, lr.content.data(), lr.content.size(), lr.offset, &r, nullptr),
      MCAP_OK);
  return r;
}

}  // namespace

// ----------------------------------------------------------------- header

TEST_F(WriterTest, OpenWritesMagicAndHeader) {
  mcap_writer_options o;
  mcap_writer_options_init(&o);
  o.profile = "ros2";
  o.library = "my-lib/1";
  Open(&o);
  McapBuilder b;
  b.magic();
  b.add(Header{"ros2", "my-lib/1"});
  EXPECT_EQ(Contents(), b.bytes());
  EXPECT_EQ(mcap_writer_bytes_written(w_), b.size());
}

TEST_F(WriterTest, DefaultProfileAndLibrary) {
  Open();
  McapBuilder b;
  b.magic();
  b.add(Header{"", mcap_default_library()});
  EXPECT_EQ(Contents(), b.bytes());
  EXPECT_EQ(std::string(mcap_default_library()), std::string("mcapkit/") + mcap_version_string());
}

TEST_F(WriterTest, EmptyLibraryIsKeptEmpty) {
  mcap_writer_options o;
  mcap_writer_options_init(&o);
  o.library = "";
  Open(&o);
  McapBuilder b;
  b.magic();
  b.add(Header{"", ""});
  EXPECT_EQ(Contents(), b.bytes());
}

TEST(Writer, OpenRejectsBadArguments) {
  mcap_sink sink;
  ASSERT_EQ(mcap_sink_memory(&sink, 0), MCAP_OK);
  mcap_writer *w = nullptr;
  mcap_writer_options o;
  mcap_writer_options_init(&o);
  o.compression = static_cast<mcap_compression>(42);
  EXPECT_EQ(mcap_writer_open(&w, &sink, &o), MCAP_EINVAL);
  EXPECT_EQ(w, nullptr);
  EXPECT_EQ(mcap_writer_open(&w, nullptr, nullptr), MCAP_EINVAL);
  mcap_writer_free(nullptr);
  mcap_sink_close(&sink, nullptr);
}

TEST(Writer, CompressionNames) {
  EXPECT_STREQ(mcap_compression_name(MCAP_COMPRESSION_NONE), "");
  EXPECT_STREQ(mcap_compression_name(MCAP_COMPRESSION_ZSTD), "zstd");
  EXPECT_STREQ(mcap_compression_name(MCAP_COMPRESSION_LZ4), "lz4");
  EXPECT_EQ(mcap_compression_name(static_cast<mcap_compression>(99)), nullptr);
  mcap_compression c;
  EXPECT_EQ(mcap_compression_parse("lz4", &c), MCAP_OK);
  EXPECT_EQ(c, MCAP_COMPRESSION_LZ4);
  EXPECT_EQ(mcap_compression_parse("none", &c), MCAP_OK);
  EXPECT_EQ(c, MCAP_COMPRESSION_NONE);
  EXPECT_EQ(mcap_compression_parse("", &c), MCAP_OK);
  EXPECT_EQ(c, MCAP_COMPRESSION_NONE);
  EXPECT_EQ(mcap_compression_parse("zstd", &c), MCAP_OK);
  EXPECT_EQ(c, MCAP_COMPRESSION_ZSTD);
  EXPECT_EQ(mcap_compression_parse("brotli", &c), MCAP_EINVAL);
}

// -------------------------------------------------------------------- ids

TEST_F(WriterTest, SchemaIdsStartAtOneAndRepeatForIdenticalSchemas) {
  Open();
  uint16_t a = Schema("A");
  uint16_t b = Schema("B");
  EXPECT_EQ(a, 1);
  EXPECT_EQ(b, 2);
  EXPECT_EQ(Schema("A"), a);
  EXPECT_EQ(Schema("A", "jsonschema", bytes_of("{\"x\":1}")), 3) << "different data, new id";
  EXPECT_EQ(Schema("A", "protobuf"), 4) << "different encoding, new id";
}

TEST_F(WriterTest, ChannelIdsStartAtOneAndRepeatForIdenticalChannels) {
  Open();
  uint16_t s = Schema("S");
  uint16_t c1 = Chan(s, "/a", {{"k1", "v1"}, {"k2", "v2"}});
  uint16_t c2 = Chan(s, "/b");
  uint16_t c3 = Chan(0, "/c");  // no schema
  EXPECT_EQ(c1, 1);
  EXPECT_EQ(c2, 2);
  EXPECT_EQ(c3, 3);
  EXPECT_EQ(Chan(s, "/a", {{"k1", "v1"}, {"k2", "v2"}}), c1);
  // Keys are sorted on the wire, so the same pairs in another order are the same channel.
  EXPECT_EQ(Chan(s, "/a", {{"k2", "v2"}, {"k1", "v1"}}), c1);
  EXPECT_NE(Chan(s, "/a", {{"k1", "other"}, {"k2", "v2"}}), c1);
  EXPECT_NE(Chan(0, "/a", {{"k1", "v1"}, {"k2", "v2"}}), c1);
}

TEST_F(WriterTest, ChannelMetadataIsSortedOnTheWire) {
  mcap_writer_options o;
  mcap_writer_options_init(&o);
  o.no_chunking = 1;
  Open(&o);
  Chan(0, "/t", {{"zeta", "1"}, {"alpha", "2"}, {"mid", "3"}});
  Bytes file = CloseAndGet();
  for (const LoggedRecord &lr : TopLevel(file)) {
    if (lr.opcode != MCAP_OP_CHANNEL) continue;
    Channel want{1, 0, "/t", "json", {{"alpha", "2"}, {"mid", "3"}, {"zeta", "1"}}};
    EXPECT_EQ(lr.content, want.content());
  }
}

TEST_F(WriterTest, PutChannelWithConflictingIdFails) {
  Open();
  mcap_channel c{5, 0, mcap_str_c("/a"), mcap_str_c("json"), mcap_map{nullptr, 0}};
  ASSERT_EQ(mcap_writer_put_channel(w_, &c), MCAP_OK) << mcap_writer_errmsg(w_);
  EXPECT_EQ(mcap_writer_put_channel(w_, &c), MCAP_OK) << "identical: a no-op";
  mcap_channel other = c;
  other.topic = mcap_str_c("/b");
  EXPECT_EQ(mcap_writer_put_channel(w_, &other), MCAP_ECHANNEL_ID);
  EXPECT_NE(std::string(mcap_writer_errmsg(w_)).find("5"), std::string::npos)
      << mcap_writer_errmsg(w_);
  other = c;
  other.message_encoding = mcap_str_c("cbor");
  EXPECT_EQ(mcap_writer_put_channel(w_, &other), MCAP_ECHANNEL_ID);
  // The writer is still usable after a rejected registration.
  EXPECT_EQ(Msg(5, 10), MCAP_OK) << mcap_writer_errmsg(w_);
  Bytes file = CloseAndGet();
  ReadResult r = read_all_memory(file);
  EXPECT_EQ(r.rc, MCAP_ITEROVER) << r.errmsg;
}

TEST_F(WriterTest, PutSchemaWithConflictingIdFails) {
  Open();
  Bytes data = bytes_of("x");
  mcap_schema s{7, mcap_str_c("S"), mcap_str_c("e"), V(data)};
  ASSERT_EQ(mcap_writer_put_schema(w_, &s), MCAP_OK) << mcap_writer_errmsg(w_);
  EXPECT_EQ(mcap_writer_put_schema(w_, &s), MCAP_OK);
  mcap_schema other = s;
  other.name = mcap_str_c("T");
  EXPECT_EQ(mcap_writer_put_schema(w_, &other), MCAP_ESCHEMA_ID);
  mcap_schema zero = s;
  zero.id = 0;
  EXPECT_EQ(mcap_writer_put_schema(w_, &zero), MCAP_ESCHEMA_ID) << "schema id 0 is reserved";
}

TEST_F(WriterTest, AddAfterPutDoesNotReuseTakenIds) {
  Open();
  Bytes data = bytes_of("x");
  mcap_schema s{1, mcap_str_c("S"), mcap_str_c("e"), V(data)};
  ASSERT_EQ(mcap_writer_put_schema(w_, &s), MCAP_OK);
  mcap_channel c{1, 1, mcap_str_c("/a"), mcap_str_c("json"), mcap_map{nullptr, 0}};
  ASSERT_EQ(mcap_writer_put_channel(w_, &c), MCAP_OK);
  uint16_t sid = Schema("Other");
  uint16_t cid = Chan(sid, "/other");
  EXPECT_NE(sid, 1);
  EXPECT_NE(sid, 0);
  EXPECT_NE(cid, 1);
  // And registering the put ones through add gives their ids back.
  EXPECT_EQ(Schema("S", "e", data), 1);
  EXPECT_EQ(Chan(1, "/a"), 1);
}

TEST_F(WriterTest, UnknownIdsAreRejected) {
  Open();
  EXPECT_EQ(Msg(3, 1), MCAP_ECHANNEL_ID);
  mcap_channel c{1, 9, mcap_str_c("/a"), mcap_str_c("json"), mcap_map{nullptr, 0}};
  EXPECT_EQ(mcap_writer_put_channel(w_, &c), MCAP_ESCHEMA_ID);
  uint16_t id = 0;
  EXPECT_EQ(mcap_writer_add_channel(w_, 9, mcap_str_c("/a"), mcap_str_c("json"), nullptr, 0, &id),
            MCAP_ESCHEMA_ID);
}

// ---------------------------------------------------------------- states

TEST_F(WriterTest, AttachmentInPiecesStateErrors) {
  Open();
  uint16_t ch = Chan(0, "/t");
  EXPECT_EQ(mcap_writer_attachment_write(w_, "x", 1), MCAP_ESTATE) << "write without begin";
  EXPECT_EQ(mcap_writer_attachment_end(w_), MCAP_ESTATE) << "end without begin";
  ASSERT_EQ(mcap_writer_attachment_begin(w_, 1, 2, mcap_str_c("f"), mcap_str_c("t"), 10), MCAP_OK);
  EXPECT_EQ(Msg(ch, 1), MCAP_ESTATE) << "a message inside an attachment";
  EXPECT_EQ(mcap_writer_attachment_write(w_, "12345", 5), MCAP_OK);
  EXPECT_EQ(mcap_writer_attachment_write(w_, "1234567", 7), MCAP_EINVAL) << "over the size";
  EXPECT_EQ(mcap_writer_attachment_end(w_), MCAP_ESTATE) << "5 bytes short";
  EXPECT_EQ(mcap_writer_attachment_write(w_, "67890", 5), MCAP_OK);
  EXPECT_EQ(mcap_writer_attachment_end(w_), MCAP_OK) << mcap_writer_errmsg(w_);
  EXPECT_EQ(Msg(ch, 1), MCAP_OK);
  Bytes file = CloseAndGet();
  ReadResult r = read_all_memory(file);
  ASSERT_EQ(r.rc, MCAP_ITEROVER) << r.errmsg;
  Attachment want;
  want.log_time = 1;
  want.create_time = 2;
  want.name = "f";
  want.media_type = "t";
  want.data = bytes_of("1234567890");
  int found = 0;
  for (const LoggedRecord &lr : r.records) {
    if (lr.opcode == MCAP_OP_ATTACHMENT) {
      EXPECT_EQ(lr.content, want.content());
      found++;
    }
  }
  EXPECT_EQ(found, 1);
}

TEST_F(WriterTest, CallsAfterCloseFail) {
  Open();
  uint16_t ch = Chan(0, "/t");
  CloseAndGet();
  EXPECT_EQ(Msg(ch, 1), MCAP_ESTATE);
  EXPECT_EQ(mcap_writer_close(w_), MCAP_ESTATE);
}

// ------------------------------------------------------- byte-exact output

// Unchunked, no summary: every byte is determined by the spec.
TEST_F(WriterTest, UnchunkedOutputMatchesTheBuilder) {
  mcap_writer_options o;
  mcap_writer_options_init(&o);
  o.profile = "p";
  o.library = "l";
  o.no_chunking = 1;
  o.no_summary = 1;
  Open(&o);
  uint16_t s = Schema("S", "jsonschema", bytes_of("{}"));
  uint16_t c = Chan(s, "/t", {{"b", "2"}, {"a", "1"}});
  ASSERT_EQ(Msg(c, 5, {9, 9}), MCAP_OK);
  ASSERT_EQ(Msg(c, 3, {}), MCAP_OK);
  Bytes adata = bytes_of("attached");
  mcap_attachment a{7, 6, mcap_str_c("f.txt"), mcap_str_c("text/plain"), V(adata), 0};
  ASSERT_EQ(mcap_writer_write_attachment(w_, &a), MCAP_OK);
  mcap_kv kv[2] = {{mcap_str_c("z"), mcap_str_c("1")}, {mcap_str_c("a"), mcap_str_c("2")}};
  ASSERT_EQ(mcap_writer_write_metadata(w_, mcap_str_c("md"), kv, 2), MCAP_OK);
  Bytes file = CloseAndGet();

  McapBuilder b;
  b.magic();
  b.add(Header{"p", "l"});
  b.add(mcapkit_test::Schema{1, "S", "jsonschema", bytes_of("{}")});
  b.add(Channel{1, 1, "/t", "json", {{"a", "1"}, {"b", "2"}}});
  b.add(Message{1, 0, 5, 5, {9, 9}});
  b.add(Message{1, 0, 3, 3, {}});
  Attachment ba;
  ba.log_time = 7;
  ba.create_time = 6;
  ba.name = "f.txt";
  ba.media_type = "text/plain";
  ba.data = adata;
  b.add(ba);
  b.add(Metadata{"md", {{"z", "1"}, {"a", "2"}}});
  b.data_end();
  b.finish();
  EXPECT_EQ(file, b.bytes());
  EXPECT_EQ(mcap_writer_bytes_written(w_), file.size());
}

// One uncompressed chunk with message indexes, chunk index, statistics and
// repeated schema/channel: the layout the conformance suite pins down.
TEST_F(WriterTest, ChunkedOutputMatchesTheBuilder) {
  mcap_writer_options o;
  mcap_writer_options_init(&o);
  o.library = "";
  o.compression = MCAP_COMPRESSION_NONE;
  o.no_attachment_index = o.no_metadata_index = 1;
  Open(&o);
  uint16_t s = Schema("S");
  uint16_t c1 = Chan(s, "/a");
  uint16_t c2 = Chan(0, "/b");
  ASSERT_EQ(Msg(c1, 5), MCAP_OK);
  ASSERT_EQ(Msg(c2, 2), MCAP_OK);
  ASSERT_EQ(Msg(c1, 9), MCAP_OK);
  Bytes file = CloseAndGet();

  mcapkit_test::Schema bs{1, "S", "jsonschema", bytes_of("{}")};
  Channel bc1{1, 1, "/a", "json", {}};
  Channel bc2{2, 0, "/b", "json", {}};
  McapBuilder b;
  b.magic();
  b.add(Header{"", ""});
  ChunkBuilder cb;
  cb.add(bs);
  cb.add(bc1);
  cb.add(bc2);
  cb.add(Message{1, 0, 5, 5, {1, 2, 3}});
  cb.add(Message{2, 0, 2, 2, {1, 2, 3}});
  cb.add(Message{1, 0, 9, 9, {1, 2, 3}});
  PlacedChunk pc = b.chunk(cb, "");
  // The writer lists message indexes in channel registration order.
  ASSERT_EQ(cb.message_indexes().size(), 2u);
  b.data_end();
  b.add(bs);
  b.add(bc1);
  b.add(bc2);
  Statistics st;
  st.message_count = 3;
  st.schema_count = 1;
  st.channel_count = 2;
  st.chunk_count = 1;
  st.message_start_time = 2;
  st.message_end_time = 9;
  st.channel_message_counts = {{1, 2}, {2, 1}};
  b.add(st);
  b.add(pc.index);
  b.add_summary_offsets();
  b.finish();
  if (file != b.bytes()) {
    // Point at the first difference to make failures readable.
    size_t i = 0;
    while (i < file.size() && i < b.size() && file[i] == b.bytes()[i]) i++;
    ADD_FAILURE() << "output differs from the builder at byte " << i << " (sizes " << file.size()
                  << " vs " << b.size() << ")";
  }
}

// ------------------------------------------------------------ CRC options

TEST_F(WriterTest, CrcOptionsWriteZeros) {
  mcap_writer_options o;
  mcap_writer_options_init(&o);
  o.no_chunk_crc = o.no_data_crc = o.no_summary_crc = o.no_attachment_crc = 1;
  Open(&o);
  uint16_t c = Chan(0, "/t");
  ASSERT_EQ(Msg(c, 1), MCAP_OK);
  Bytes d = bytes_of("x");
  mcap_attachment a{1, 1, mcap_str_c("a"), mcap_str_c("b"), V(d), 0};
  ASSERT_EQ(mcap_writer_write_attachment(w_, &a), MCAP_OK);
  Bytes file = CloseAndGet();
  int seen = 0;
  for (const LoggedRecord &lr : TopLevel(file)) {
    mcap_record r = ParseRec(lr);
    switch (lr.opcode) {
      case MCAP_OP_CHUNK:
        EXPECT_EQ(r.u.chunk.uncompressed_crc, 0u);
        seen |= 1;
        break;
      case MCAP_OP_DATA_END:
        EXPECT_EQ(r.u.data_end.data_section_crc, 0u);
        seen |= 2;
        break;
      case MCAP_OP_FOOTER:
        EXPECT_EQ(r.u.footer.summary_crc, 0u);
        seen |= 4;
        break;
      case MCAP_OP_ATTACHMENT:
        EXPECT_EQ(r.u.attachment.crc, 0u);
        seen |= 8;
        break;
    }
  }
  EXPECT_EQ(seen, 15);
}

TEST_F(WriterTest, CrcsAreComputedByDefault) {
  Open();
  uint16_t c = Chan(0, "/t");
  ASSERT_EQ(Msg(c, 1), MCAP_OK);
  Bytes d = bytes_of("x");
  mcap_attachment a{1, 1, mcap_str_c("a"), mcap_str_c("b"), V(d), 0};
  ASSERT_EQ(mcap_writer_write_attachment(w_, &a), MCAP_OK);
  Bytes file = CloseAndGet();
  for (const LoggedRecord &lr : TopLevel(file)) {
    mcap_record r = ParseRec(lr);
    if (lr.opcode == MCAP_OP_CHUNK) {
      Bytes recs =
          decompress(S(r.u.chunk.compression),
                     Bytes(r.u.chunk.records.data, r.u.chunk.records.data + r.u.chunk.records.len),
                     r.u.chunk.uncompressed_size);
      EXPECT_EQ(r.u.chunk.uncompressed_crc, crc32(recs));
    } else if (lr.opcode == MCAP_OP_DATA_END) {
      EXPECT_EQ(r.u.data_end.data_section_crc, crc32(file.data(), lr.offset));
    } else if (lr.opcode == MCAP_OP_ATTACHMENT) {
      EXPECT_EQ(r.u.attachment.crc, crc32(lr.content.data(), lr.content.size() - 4));
    } else if (lr.opcode == MCAP_OP_FOOTER) {
      EXPECT_NE(r.u.footer.summary_crc, 0u);
    }
  }
}

// ----------------------------------------------------------- compression

TEST_F(WriterTest, IncompressibleChunksAreStoredUnlessForced) {
  std::mt19937 rng(5);
  Bytes noise(50000);
  for (uint8_t &b : noise) b = static_cast<uint8_t>(rng());
  for (int force = 0; force < 2; force++) {
    for (mcap_compression c : {MCAP_COMPRESSION_ZSTD, MCAP_COMPRESSION_LZ4}) {
      SCOPED_TRACE(std::string(mcap_compression_name(c)) + (force ? " forced" : ""));
      mcap_writer_free(w_);
      w_ = nullptr;
      if (sink_open_) mcap_sink_close(&sink_, nullptr);
      sink_open_ = false;
      mcap_writer_options o;
      mcap_writer_options_init(&o);
      o.compression = c;
      o.force_compression = force;
      Open(&o);
      uint16_t ch = Chan(0, "/noise");
      ASSERT_EQ(Msg(ch, 1, noise), MCAP_OK);
      Bytes file = CloseAndGet();
      for (const LoggedRecord &lr : TopLevel(file)) {
        if (lr.opcode != MCAP_OP_CHUNK) continue;
        mcap_record r = ParseRec(lr);
        EXPECT_EQ(S(r.u.chunk.compression), force ? mcap_compression_name(c) : "");
      }
      ReadResult rd = read_all_memory(file);
      EXPECT_EQ(rd.rc, MCAP_ITEROVER) << rd.errmsg;
    }
  }
}

// ------------------------------------------------------------- bad sinks

namespace {

// A sink that fails once `limit` bytes have been written.
struct FailingSink {
  uint64_t limit;
  uint64_t written = 0;
  static int Write(void *payload, const void *, size_t len, mcap_error_info *err) {
    FailingSink *s = static_cast<FailingSink *>(payload);
    if (s->written + len > s->limit) {
      if (err) {
        err->code = MCAP_EIO;
        err->offset = s->written;
        std::snprintf(err->msg, sizeof err->msg, "disk full");
      }
      return MCAP_EIO;
    }
    s->written += len;
    return MCAP_OK;
  }
  static int Close(void *, mcap_error_info *) { return MCAP_OK; }
};

// Write a small chunked file to a sink failing after `limit` bytes; returns
// the first error (MCAP_OK if everything succeeded).
int WriteThrough(uint64_t limit, bool chunked) {
  FailingSink fs{limit};
  mcap_sink sink{&fs, FailingSink::Write, FailingSink::Close};
  mcap_writer *w = nullptr;
  mcap_writer_options o;
  mcap_writer_options_init(&o);
  o.no_chunking = !chunked;
  o.chunk_size = 200;
  int rc = mcap_writer_open(&w, &sink, &o);
  if (rc != MCAP_OK) {
    mcap_writer_free(w);
    return rc;
  }
  uint16_t ch = 0;
  Bytes data(100, 7);
  rc = mcap_writer_add_channel(w, 0, mcap_str_c("/t"), mcap_str_c("raw"), nullptr, 0, &ch);
  for (int i = 0; rc == MCAP_OK && i < 20; i++) {
    mcap_message m{ch, 0, static_cast<uint64_t>(i), 0, mcap_bytes{data.data(), data.size()}};
    rc = mcap_writer_write_message(w, &m);
  }
  if (rc == MCAP_OK) {
    mcap_attachment a{1, 1, mcap_str_c("a"), mcap_str_c("b"), mcap_bytes{data.data(), 50}, 0};
    rc = mcap_writer_write_attachment(w, &a);
  }
  if (rc == MCAP_OK) rc = mcap_writer_close(w);
  mcap_writer_free(w);
  return rc;
}

}  // namespace

TEST(Writer, FailingSinkReportsIoErrorAtEveryPoint) {
  for (bool chunked : {true, false}) {
    // Fail at a spread of points until the limit is past the whole file.
    uint64_t full = 0;
    for (uint64_t limit = 0;; limit += 37) {
      int rc = WriteThrough(limit, chunked);
      if (rc == MCAP_OK) {
        full = limit;
        break;
      }
      EXPECT_EQ(rc, MCAP_EIO) << "limit " << limit << ": " << mcap_strerror(rc);
      ASSERT_LT(limit, 1000000u);
    }
    EXPECT_GT(full, 0u);
  }
}
