// test_stream_reader.cc - the streamed reader over files built by hand with the
// test builder: all layouts (chunked zstd/lz4/none, unchunked, summary,
// attachments, metadata, private records, padding), every truncation point,
// bit flips in chunks, each error code with its message, awkward sources
// (piece by piece, pipes) and the file/mmap sources.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "mcap/mcap.h"
#include "mcap_builder.h"
#include "tmpdir.h"

using namespace mcapkit_test;

namespace {

std::string Describe(const SampleOptions &o) {
  std::string s =
      o.chunked ? "chunked-" + (o.compression.empty() ? "none" : o.compression) : "unchunked";
  if (!o.message_indexes) s += "-nomx";
  if (o.summary) s += o.summary_offsets ? "-summary-sum" : "-summary";
  if (o.attachments) s += "-att";
  if (o.metadata) s += "-md";
  if (o.private_records) s += "-priv";
  if (o.pad) s += "-pad";
  return s;
}

std::vector<SampleOptions> SampleMatrix() {
  std::vector<SampleOptions> out;
  for (int layout = 0; layout < 4; layout++) {
    for (int summary = 0; summary < 3; summary++) {
      for (int extras = 0; extras < 2; extras++) {
        for (int pad = 0; pad < 2; pad++) {
          SampleOptions o;
          o.chunked = layout < 3;
          o.compression = layout == 0 ? "zstd" : layout == 1 ? "lz4" : "";
          o.summary = summary > 0;
          o.summary_offsets = summary == 2;
          o.attachments = o.metadata = o.private_records = extras == 1;
          o.message_indexes = extras == 1;
          o.pad = pad == 1;
          out.push_back(o);
        }
      }
    }
  }
  return out;
}

bool Contains(const std::string &hay, const std::string &needle) {
  return hay.find(needle) != std::string::npos;
}

// Read a file the builder made and compare with what it logged.
void ExpectReadsLikeBuilt(const McapBuilder &b, const mcap_reader_options *opts = nullptr) {
  ReadResult r = read_all_memory(b.bytes(), opts);
  ASSERT_EQ(r.rc, MCAP_ITEROVER) << r.errmsg;
  EXPECT_EQ(r.rc_again, MCAP_ITEROVER);
  EXPECT_EQ(r.records, b.stream());
  EXPECT_EQ(r.position, b.size());
  EXPECT_STREQ(r.errmsg.c_str(), "");
}

// A file with one chunk whose Chunk record is built by `mutate`; returns the
// builder and the chunk placement.
struct OneChunk {
  McapBuilder b;
  PlacedChunk pc;
};

OneChunk OneChunkFile(const std::string &compression, const ChunkOptions &co = ChunkOptions()) {
  OneChunk oc;
  McapBuilder &b = oc.b;
  b.magic();
  b.add(Header{"", "t"});
  ChunkBuilder cb;
  cb.add(Schema{1, "s", "jsonschema", bytes_of("{}")});
  cb.add(Channel{1, 1, "/a", "json", {}});
  for (int i = 0; i < 30; i++) {
    Message m{
        1, static_cast<uint32_t>(i), static_cast<uint64_t>(100 + i), static_cast<uint64_t>(100 + i),
        bytes_of("{\"value\": " + std::to_string(i * i) + ", \"pad\": \"aaaaaaaaaaaaaaaa\"}")};
    cb.add(m);
  }
  oc.pc = b.chunk(cb, compression, co);
  b.data_end();
  b.finish();
  return oc;
}

}  // namespace

// ------------------------------------------------------------- good files

TEST(StreamReader, ReadsEveryLayout) {
  for (const SampleOptions &o : SampleMatrix()) {
    SCOPED_TRACE(Describe(o));
    McapBuilder b = sample_file(o);
    ExpectReadsLikeBuilt(b);
  }
}

TEST(StreamReader, RawChunksYieldsTopLevelRecords) {
  for (const char *comp : {"zstd", "lz4", ""}) {
    SCOPED_TRACE(comp);
    SampleOptions o;
    o.compression = comp;
    McapBuilder b = sample_file(o);
    mcap_reader_options opts;
    mcap_reader_options_init(&opts);
    opts.raw_chunks = 1;
    ReadResult r = read_all_memory(b.bytes(), &opts);
    ASSERT_EQ(r.rc, MCAP_ITEROVER) << r.errmsg;
    EXPECT_EQ(r.records, b.top_level());
  }
}

TEST(StreamReader, ParsedFieldsOfYieldedRecords) {
  SampleOptions o;
  McapBuilder b = sample_file(o);
  mcap_source src;
  ASSERT_EQ(mcap_source_from_memory(&src, b.bytes().data(), b.size()), MCAP_OK);
  mcap_stream_reader *r = nullptr;
  ASSERT_EQ(mcap_stream_reader_new(&r, &src, nullptr), MCAP_OK);
  mcap_record rec;
  int messages = 0, headers = 0, footers = 0;
  while (mcap_stream_reader_next(r, &rec) == MCAP_OK) {
    if (rec.opcode == MCAP_OP_HEADER) {
      headers++;
      EXPECT_EQ(std::string(rec.u.header.profile.data, rec.u.header.profile.len), "x-test");
    } else if (rec.opcode == MCAP_OP_MESSAGE) {
      EXPECT_TRUE(rec.in_chunk);
      EXPECT_EQ(rec.u.message.sequence, static_cast<uint32_t>(messages));
      EXPECT_EQ(rec.u.message.channel_id, messages % 3);
      messages++;
    } else if (rec.opcode == MCAP_OP_FOOTER) {
      footers++;
      Footer f = b.written_footer();
      EXPECT_EQ(rec.u.footer.summary_start, f.summary_start);
      EXPECT_EQ(rec.u.footer.summary_offset_start, f.summary_offset_start);
      EXPECT_EQ(rec.u.footer.summary_crc, f.summary_crc);
    }
  }
  EXPECT_STREQ(mcap_stream_reader_errmsg(r), "");
  mcap_stream_reader_free(r);
  EXPECT_EQ(headers, 1);
  EXPECT_EQ(messages, o.messages);
  EXPECT_EQ(footers, 1);
}

TEST(StreamReader, MinimalFile) {
  McapBuilder b;
  b.magic();
  b.add(Header{});
  b.data_end();
  b.finish();
  ASSERT_EQ(b.size(), 75u);
  ExpectReadsLikeBuilt(b);
}

TEST(StreamReader, EmptyChunksAndChunkWithOnlyPrivateRecords) {
  McapBuilder b;
  b.magic();
  b.add(Header{});
  ChunkBuilder empty;
  b.chunk(empty, "zstd");
  b.chunk(empty, "");
  ChunkBuilder priv;
  priv.record(0x90, bytes_of("x"));
  priv.record(0xFF, {});
  b.chunk(priv, "lz4");
  b.data_end();
  b.finish();
  ExpectReadsLikeBuilt(b);
}

TEST(StreamReader, ZeroCrcsAreNotChecked) {
  McapBuilder b;
  b.magic();
  b.add(Header{});
  ChunkBuilder cb;
  cb.add(Channel{0, 0, "/t", "json", {}});
  cb.add(Message{0, 1, 2, 3, {4}});
  ChunkOptions co;
  co.override_crc = true;
  co.crc = 0;
  b.chunk(cb, "zstd", co);
  Attachment a;
  a.name = "x";
  a.auto_crc = false;
  a.crc = 0;
  b.add(a);
  b.data_end_with_crc(0);
  Footer f = b.expected_footer();
  f.summary_crc = 0;
  b.finish_with(f);
  ExpectReadsLikeBuilt(b);
}

TEST(StreamReader, FileAndMmapSourcesReadTheSame) {
  TempDir dir;
  for (const SampleOptions &o : {SampleOptions(), [] {
                                   SampleOptions u;
                                   u.chunked = false;
                                   u.messages = 300;
                                   return u;
                                 }()}) {
    McapBuilder b = sample_file(o);
    std::string path = dir.file("sample.mcap");
    {
      std::ofstream f(path, std::ios::binary | std::ios::trunc);
      f.write(reinterpret_cast<const char *>(b.bytes().data()),
              static_cast<std::streamsize>(b.size()));
    }
    for (int mmap = 0; mmap < 2; mmap++) {
      SCOPED_TRACE(mmap ? "mmap" : "file");
      mcap_source src;
      mcap_error_info err;
      int rc = mmap ? mcap_source_open_mmap(&src, path.c_str(), &err)
                    : mcap_source_open_file(&src, path.c_str(), &err);
      ASSERT_EQ(rc, MCAP_OK) << err.msg;
      EXPECT_EQ(src.size, b.size());
      ReadResult r = read_all(&src);
      ASSERT_EQ(r.rc, MCAP_ITEROVER) << r.errmsg;
      EXPECT_EQ(r.records, b.stream());
    }
  }
}

TEST(StreamReader, MissingFileIsAnIoError) {
  mcap_source src;
  mcap_error_info err;
  std::memset(&err, 0, sizeof err);
  EXPECT_EQ(mcap_source_open_file(&src, "/nonexistent/dir/x.mcap", &err), MCAP_EIO);
  EXPECT_TRUE(Contains(err.msg, "/nonexistent/dir/x.mcap")) << err.msg;
}

// ------------------------------------------------------------ truncation

namespace {

// Classify where a cut at `n` falls, from the builder's top-level log.
enum class Cut { kLeadingMagic, kInsideRecord, kBoundary, kTrailingMagic };

Cut Classify(const McapBuilder &b, uint64_t n) {
  if (n < 8) return Cut::kLeadingMagic;
  if (n >= b.size() - 8) return Cut::kTrailingMagic;
  for (const LoggedRecord &r : b.top_level()) {
    uint64_t end = r.offset + 9 + r.content.size();
    if (n > r.offset && n < end) return Cut::kInsideRecord;
  }
  return Cut::kBoundary;
}

void CheckEveryTruncation(const McapBuilder &b) {
  const Bytes &file = b.bytes();
  for (size_t n = 0; n < file.size(); n++) {
    SCOPED_TRACE("truncated to " + std::to_string(n) + " of " + std::to_string(file.size()));
    ReadResult r = read_all_memory(truncated(file, n));
    Cut cut = Classify(b, n);
    ASSERT_NE(r.rc, MCAP_OK);
    ASSERT_NE(r.rc, MCAP_ITEROVER) << "a file without its footer read as complete";
    EXPECT_EQ(r.rc_again, r.rc) << "errors must be sticky";
    if (cut == Cut::kInsideRecord) {
      EXPECT_EQ(r.rc, MCAP_ETRUNCATED) << r.errmsg;
    } else {
      std::set<int> ok = {MCAP_ETRUNCATED, MCAP_EFOOTER, MCAP_EMAGIC};
      EXPECT_TRUE(ok.count(r.rc)) << mcap_strerror(r.rc) << ": " << r.errmsg;
    }
    EXPECT_FALSE(r.errmsg.empty());
    // What came out before the error is a prefix of the real stream.
    ASSERT_LE(r.records.size(), b.stream().size());
    for (size_t i = 0; i < r.records.size(); i++) ASSERT_EQ(r.records[i], b.stream()[i]) << i;
  }
}

}  // namespace

TEST(StreamReader, TruncationAtEveryOffsetChunkedZstd) {
  SampleOptions o;
  o.messages = 12;
  o.pad = true;
  CheckEveryTruncation(sample_file(o));
}

TEST(StreamReader, TruncationAtEveryOffsetChunkedLz4) {
  SampleOptions o;
  o.compression = "lz4";
  o.messages = 12;
  CheckEveryTruncation(sample_file(o));
}

TEST(StreamReader, TruncationAtEveryOffsetUnchunked) {
  SampleOptions o;
  o.chunked = false;
  o.messages = 12;
  o.summary_offsets = false;
  CheckEveryTruncation(sample_file(o));
}

TEST(StreamReader, TruncationAtEveryOffsetNoSummary) {
  SampleOptions o;
  o.compression = "";
  o.summary = false;
  o.messages = 12;
  CheckEveryTruncation(sample_file(o));
}

TEST(StreamReader, AllowNoFooterAcceptsACleanEndOnly) {
  McapBuilder b;
  b.magic();
  b.add(Header{});
  b.add(Channel{1, 0, "/t", "json", {}});
  b.add(Message{1, 0, 5, 5, {1, 2}});
  uint64_t msg_end = b.size();
  b.data_end();
  uint64_t after_data_end = b.size();
  b.finish();
  mcap_reader_options opts;
  mcap_reader_options_init(&opts);
  opts.allow_no_footer = 1;
  // Ends after DataEnd, and after a whole record: fine with allow_no_footer.
  for (uint64_t n : {after_data_end, msg_end}) {
    SCOPED_TRACE(n);
    ReadResult r = read_all_memory(truncated(b.bytes(), n), &opts);
    EXPECT_EQ(r.rc, MCAP_ITEROVER) << r.errmsg;
    ReadResult strict = read_all_memory(truncated(b.bytes(), n));
    EXPECT_TRUE(strict.rc == MCAP_ETRUNCATED || strict.rc == MCAP_EFOOTER) << strict.errmsg;
  }
  // Ends inside a record: still an error.
  ReadResult r = read_all_memory(truncated(b.bytes(), msg_end - 1), &opts);
  EXPECT_EQ(r.rc, MCAP_ETRUNCATED) << r.errmsg;
}

// ------------------------------------------------------------- bit flips

TEST(StreamReader, BitFlipInUncompressedChunkIsACrcError) {
  OneChunk oc = OneChunkFile("");
  for (uint64_t i = 0; i < oc.pc.records_length; i++) {
    uint64_t at = oc.pc.records_offset + i;
    SCOPED_TRACE("flip at " + std::to_string(at));
    ReadResult r = read_all_memory(with_bit_flipped(oc.b.bytes(), at, static_cast<int>(i % 8)));
    EXPECT_EQ(r.rc, MCAP_ECRC) << r.errmsg;
    EXPECT_TRUE(Contains(r.errmsg, std::to_string(oc.pc.offset))) << r.errmsg;
    // Nothing of the chunk may come out before its CRC was checked.
    for (const LoggedRecord &lr : r.records) EXPECT_FALSE(lr.in_chunk);
  }
}

TEST(StreamReader, BitFlipInCompressedChunkIsReported) {
  for (const char *comp : {"zstd", "lz4"}) {
    OneChunk oc = OneChunkFile(comp);
    int crc_errors = 0, codec_errors = 0;
    for (uint64_t i = 0; i < oc.pc.records_length; i++) {
      uint64_t at = oc.pc.records_offset + i;
      int bit = static_cast<int>((i * 3) % 8);
      SCOPED_TRACE(std::string(comp) + " flip at " + std::to_string(at));
      Bytes flipped = with_bit_flipped(oc.b.bytes(), at, bit);
      // A flip the codec ignores (it still decodes to the same bytes) passes the
      // chunk CRC but not the data section CRC, which covers the stored bytes.
      Bytes stored(
          flipped.begin() + static_cast<long>(oc.pc.records_offset),
          flipped.begin() + static_cast<long>(oc.pc.records_offset + oc.pc.records_length));
      bool harmless = false;
      try {
        harmless = decompress(comp, stored, oc.pc.chunk.uncompressed_size) ==
                   decompress(comp, oc.pc.chunk.records, oc.pc.chunk.uncompressed_size);
      } catch (const std::exception &) {
      }
      ReadResult r = read_all_memory(flipped);
      if (harmless) {
        EXPECT_EQ(r.rc, MCAP_ECRC) << r.errmsg;
        EXPECT_TRUE(Contains(r.errmsg, "data section")) << r.errmsg;
        continue;
      }
      EXPECT_TRUE(r.rc == MCAP_ECRC || r.rc == MCAP_EDECOMPRESS || r.rc == MCAP_EDECOMPRESS_SIZE)
          << mcap_strerror(r.rc) << ": " << r.errmsg;
      (r.rc == MCAP_ECRC ? crc_errors : codec_errors)++;
      EXPECT_TRUE(Contains(r.errmsg, std::to_string(oc.pc.offset))) << r.errmsg;
      for (const LoggedRecord &lr : r.records) EXPECT_FALSE(lr.in_chunk);
    }
    // Both kinds of failure should have been seen across all positions.
    EXPECT_GT(crc_errors, 0) << comp;
    EXPECT_GT(codec_errors, 0) << comp;
  }
}

// ----------------------------------------------------- specific error codes

namespace {

void ExpectError(const Bytes &file, int code, const std::vector<std::string> &substrings,
                 const mcap_reader_options *opts = nullptr) {
  ReadResult r = read_all_memory(file, opts);
  EXPECT_EQ(r.rc, code) << "got " << mcap_strerror(r.rc) << ": " << r.errmsg;
  EXPECT_EQ(r.rc_again, code);
  for (const std::string &s : substrings)
    EXPECT_TRUE(Contains(r.errmsg, s)) << "message '" << r.errmsg << "' lacks '" << s << "'";
}

mcap_reader_options Opts(void (*set)(mcap_reader_options &)) {
  mcap_reader_options o;
  mcap_reader_options_init(&o);
  set(o);
  return o;
}

}  // namespace

TEST(StreamReaderErrors, WrongLeadingMagic) {
  McapBuilder b = sample_file(SampleOptions());
  Bytes f = b.bytes();
  f[5] = '1';  // major version 1
  ExpectError(f, MCAP_EMAGIC, {"magic", "offset 0"});
  ExpectError(bytes_of("PK\x03\x04 this is a zip file, not mcap at all........"), MCAP_EMAGIC,
              {"magic"});
  // With the magic check off, the same file reads (but the data CRC covers the magic).
  mcap_reader_options o = Opts([](mcap_reader_options &x) {
    x.no_magic_check = 1;
    x.no_data_crc = 1;
  });
  ReadResult r = read_all_memory(f, &o);
  EXPECT_EQ(r.rc, MCAP_ITEROVER) << r.errmsg;
}

TEST(StreamReaderErrors, WrongTrailingMagic) {
  McapBuilder b = sample_file(SampleOptions());
  Bytes f = b.bytes();
  f[f.size() - 1] = 'X';
  ExpectError(f, MCAP_EMAGIC, {"magic", std::to_string(f.size() - 8)});
}

TEST(StreamReaderErrors, ContentLengthBeyondEndOfFile) {
  McapBuilder b;
  b.magic();
  b.add(Header{});
  Bytes content = Schema{1, "s", "e", {1}}.content();
  uint64_t off = b.record_with_length(Schema::kOpcode, content.size() + 200, content);
  b.data_end();
  b.finish();
  ExpectError(b.bytes(), MCAP_ETRUNCATED, {"Schema", std::to_string(off)});
}

TEST(StreamReaderErrors, HugeContentLengthFailsWithoutAllocating) {
  for (uint64_t declared : {uint64_t{1} << 40, ~uint64_t{0}, ~uint64_t{0} - 8}) {
    SCOPED_TRACE(declared);
    McapBuilder b;
    b.magic();
    b.add(Header{});
    uint64_t off = b.record_with_length(Message::kOpcode, declared, Message{}.content());
    b.data_end();
    b.finish();
    ReadResult r = read_all_memory(b.bytes());
    EXPECT_TRUE(r.rc == MCAP_ETRUNCATED || r.rc == MCAP_ELIMIT) << r.errmsg;
    EXPECT_TRUE(Contains(r.errmsg, std::to_string(off))) << r.errmsg;
  }
}

TEST(StreamReaderErrors, UnknownCompression) {
  OneChunk oc = OneChunkFile("brotli");
  ExpectError(oc.b.bytes(), MCAP_ECOMPRESSION, {"brotli", std::to_string(oc.pc.offset)});
}

TEST(StreamReaderErrors, FailedDecompression) {
  for (const char *comp : {"zstd", "lz4"}) {
    SCOPED_TRACE(comp);
    McapBuilder b;
    b.magic();
    b.add(Header{});
    // A chunk claiming `comp` whose records are not a valid frame.
    Chunk k;
    k.compression = comp;
    k.uncompressed_size = 64;
    k.records = bytes_of("this is definitely not a compressed frame at all");
    k.uncompressed_crc = 1;
    uint64_t off = b.add(k);
    b.data_end();
    b.finish();
    ExpectError(b.bytes(), MCAP_EDECOMPRESS, {std::to_string(off)});
  }
}

TEST(StreamReaderErrors, DecompressedSizeDiffersFromDeclared) {
  for (const char *comp : {"zstd", "lz4", ""}) {
    for (int delta : {-1, 1}) {
      SCOPED_TRACE(std::string(comp) + " " + std::to_string(delta));
      OneChunk probe = OneChunkFile(comp);
      ChunkOptions co;
      co.override_uncompressed_size = true;
      co.uncompressed_size = probe.pc.chunk.uncompressed_size + static_cast<uint64_t>(delta);
      OneChunk oc = OneChunkFile(comp, co);
      ReadResult r = read_all_memory(oc.b.bytes());
      EXPECT_TRUE(r.rc == MCAP_EDECOMPRESS_SIZE || r.rc == MCAP_EDECOMPRESS)
          << mcap_strerror(r.rc) << ": " << r.errmsg;
      EXPECT_TRUE(Contains(r.errmsg, std::to_string(oc.pc.offset))) << r.errmsg;
    }
  }
}

TEST(StreamReaderErrors, ChunkUncompressedSizeOverLimit) {
  ChunkOptions co;
  co.override_uncompressed_size = true;
  co.uncompressed_size = uint64_t{10} << 30;  // 10 GiB: over the 4 GiB default
  OneChunk oc = OneChunkFile("zstd", co);
  ReadResult r = read_all_memory(oc.b.bytes());
  EXPECT_EQ(r.rc, MCAP_ELIMIT) << r.errmsg;
  // And below the default but over a configured limit.
  OneChunk small = OneChunkFile("zstd");
  mcap_reader_options o;
  mcap_reader_options_init(&o);
  o.max_chunk_uncompressed_size = 100;
  r = read_all_memory(small.b.bytes(), &o);
  EXPECT_EQ(r.rc, MCAP_ELIMIT) << r.errmsg;
  EXPECT_TRUE(Contains(r.errmsg, std::to_string(small.pc.offset))) << r.errmsg;
}

TEST(StreamReaderErrors, RecordOverMaxRecordSize) {
  McapBuilder b = sample_file(SampleOptions());
  mcap_reader_options o;
  mcap_reader_options_init(&o);
  o.max_record_size = 16;
  ReadResult r = read_all_memory(b.bytes(), &o);
  EXPECT_EQ(r.rc, MCAP_ELIMIT) << r.errmsg;
}

TEST(StreamReaderErrors, ChunkCrcMismatch) {
  ChunkOptions co;
  co.override_crc = true;
  co.crc = 0x12345678;
  for (const char *comp : {"", "zstd", "lz4"}) {
    SCOPED_TRACE(comp);
    OneChunk oc = OneChunkFile(comp, co);
    ExpectError(oc.b.bytes(), MCAP_ECRC, {"CRC", std::to_string(oc.pc.offset)});
    mcap_reader_options o = Opts([](mcap_reader_options &x) { x.no_chunk_crc = 1; });
    ReadResult r = read_all_memory(oc.b.bytes(), &o);
    EXPECT_EQ(r.rc, MCAP_ITEROVER) << r.errmsg;
    EXPECT_EQ(r.records, oc.b.stream());
  }
}

TEST(StreamReaderErrors, DataSectionCrcMismatch) {
  McapBuilder b;
  b.magic();
  b.add(Header{});
  b.add(Channel{1, 0, "/t", "json", {}});
  b.add(Message{1, 0, 5, 5, {1, 2}});
  uint64_t off = b.data_end_with_crc(0xABCDEF01);
  b.finish();
  ExpectError(b.bytes(), MCAP_ECRC, {"DataEnd", "data section", std::to_string(off)});
  mcap_reader_options o = Opts([](mcap_reader_options &x) { x.no_data_crc = 1; });
  ReadResult r = read_all_memory(b.bytes(), &o);
  EXPECT_EQ(r.rc, MCAP_ITEROVER) << r.errmsg;

  // A flipped bit anywhere in the data section, outside chunks, is caught by the CRC too.
  McapBuilder good;
  good.magic();
  good.add(Header{"p", "l"});
  uint64_t msg = good.add(Message{1, 0, 5, 5, {1, 2}});
  good.data_end();
  good.finish();
  ExpectError(with_bit_flipped(good.bytes(), msg + 9 + 22), MCAP_ECRC, {"data section"});
}

TEST(StreamReaderErrors, SummaryCrcMismatch) {
  McapBuilder b = sample_file(SampleOptions());
  Footer f = b.written_footer();
  // Flip a bit of the footer's CRC.
  Bytes file = b.bytes();
  size_t crc_at = file.size() - 8 - 4;
  ASSERT_EQ(get_u32(&file[crc_at]), f.summary_crc);
  file[crc_at] ^= 0x01;
  ExpectError(file, MCAP_ECRC, {"summary", std::to_string(file.size() - 37)});
  // A flipped bit in a summary record (Statistics.message_count) is caught the same way.
  uint64_t stats = 0;
  for (const LoggedRecord &lr : b.top_level())
    if (lr.opcode == Statistics::kOpcode) stats = lr.offset;
  ASSERT_GT(stats, f.summary_start);
  ExpectError(with_bit_flipped(b.bytes(), stats + 9 + 1, 3), MCAP_ECRC, {"summary"});
  mcap_reader_options o = Opts([](mcap_reader_options &x) { x.no_summary_crc = 1; });
  ReadResult r = read_all_memory(file, &o);
  EXPECT_EQ(r.rc, MCAP_ITEROVER) << r.errmsg;
}

TEST(StreamReaderErrors, SummaryCrcWithoutSummary) {
  // The footer CRC covers only the footer prefix when there is no summary.
  McapBuilder b;
  b.magic();
  b.add(Header{});
  b.data_end();
  Footer f = b.expected_footer();
  Bytes prefix;
  put_u8(prefix, 0x02);
  put_u64(prefix, 20);
  put_u64(prefix, 0);
  put_u64(prefix, 0);
  ASSERT_EQ(f.summary_crc, crc32(prefix));
  f.summary_crc ^= 0x80000000u;
  b.finish_with(f);
  ExpectError(b.bytes(), MCAP_ECRC, {"summary"});
}

TEST(StreamReaderErrors, AttachmentCrcMismatch) {
  McapBuilder b;
  b.magic();
  b.add(Header{});
  Attachment a;
  a.name = "calib.yaml";
  a.media_type = "text/yaml";
  a.data = bytes_of("a: 1");
  a.auto_crc = false;
  a.crc = a.computed_crc() ^ 0x00010000u;
  uint64_t off = b.add(a, conformance_pad());
  b.data_end();
  b.finish();
  ExpectError(b.bytes(), MCAP_ECRC, {"Attachment", std::to_string(off), "calib.yaml"});
  mcap_reader_options o = Opts([](mcap_reader_options &x) { x.no_attachment_crc = 1; });
  ReadResult r = read_all_memory(b.bytes(), &o);
  EXPECT_EQ(r.rc, MCAP_ITEROVER) << r.errmsg;

  // The right CRC with padding after it is fine.
  McapBuilder g;
  g.magic();
  g.add(Header{});
  a.auto_crc = true;
  g.add(a, conformance_pad());
  g.data_end();
  g.finish();
  ExpectReadsLikeBuilt(g);
}

TEST(StreamReaderErrors, RecordTooShortForItsFields) {
  McapBuilder b;
  b.magic();
  b.add(Header{});
  Bytes content;
  put_u16(content, 1);
  put_u32(content, 10);  // name claims 10 bytes
  put_raw(content, bytes_of("abc"));
  uint64_t off = b.record(Schema::kOpcode, content);
  b.data_end();
  b.finish();
  ExpectError(b.bytes(), MCAP_ERECORD, {"Schema", "'name'", std::to_string(off)});

  // The same inside a chunk names the chunk's offset too.
  McapBuilder c;
  c.magic();
  c.add(Header{});
  ChunkBuilder cb;
  cb.add(Channel{1, 0, "/t", "json", {}});
  cb.record(Message::kOpcode, Bytes(10, 0));  // a Message needs 22 bytes
  PlacedChunk pc = c.chunk(cb, "zstd");
  c.data_end();
  c.finish();
  ExpectError(c.bytes(), MCAP_ERECORD, {"Message", "'", std::to_string(pc.offset)});
}

TEST(StreamReaderErrors, RecordInChunkOverrunningTheChunk) {
  McapBuilder c;
  c.magic();
  c.add(Header{});
  ChunkBuilder cb;
  cb.add(Channel{1, 0, "/t", "json", {}});
  Bytes bad = envelope_with_length(Message::kOpcode, 1000, Message{1, 0, 0, 0, {1}}.content());
  // Put the bad record in by hand: ChunkBuilder only writes well-formed envelopes.
  Bytes records = concat(cb.records(), bad);
  Chunk k = make_chunk(records, "", 0, 0);
  uint64_t off = c.add(k);
  c.data_end();
  c.finish();
  ReadResult r = read_all_memory(c.bytes());
  EXPECT_EQ(r.rc, MCAP_ERECORD) << r.errmsg;
  EXPECT_TRUE(Contains(r.errmsg, std::to_string(off))) << r.errmsg;
}

TEST(StreamReaderErrors, FooterWithWrongLength) {
  McapBuilder b;
  b.magic();
  b.add(Header{});
  b.data_end();
  Footer f = b.expected_footer();
  b.record_with_length(Footer::kOpcode, 21, concat(f.content(), Bytes{0}));
  b.magic();
  ReadResult r = read_all_memory(b.bytes());
  EXPECT_TRUE(r.rc == MCAP_ERECORD || r.rc == MCAP_EFOOTER) << r.errmsg;
}

TEST(StreamReaderErrors, FirstRecordNotHeader) {
  McapBuilder b;
  b.magic();
  b.add(Channel{1, 0, "/t", "json", {}});
  b.data_end();
  b.finish();
  ReadResult r = read_all_memory(b.bytes());
  EXPECT_EQ(r.rc, MCAP_EOPCODE) << r.errmsg;
  EXPECT_TRUE(Contains(r.errmsg, "Header")) << r.errmsg;
}

TEST(StreamReaderErrors, EmptyInput) {
  ReadResult r = read_all_memory(Bytes{});
  EXPECT_TRUE(r.rc == MCAP_ETRUNCATED || r.rc == MCAP_EMAGIC) << r.errmsg;
  EXPECT_EQ(r.records.size(), 0u);
}

// ------------------------------------------------------- awkward sources

namespace {

// A source that hands out each read in a fresh heap buffer of exactly the
// served size (the previous one is freed, so stale pointers are caught by
// ASan), optionally serving fewer bytes than asked (1..max_piece), and
// optionally hiding its size (forward-only, like a pipe).
struct Unpleasant {
  Bytes file;
  bool short_reads = false;
  bool hide_size = false;
  uint64_t max_piece = 7;
  uint32_t rng = 12345;
  uint8_t *buf = nullptr;
  uint64_t last_offset = 0;
  bool went_backwards = false;
  bool closed = false;
  size_t reads = 0;

  static int Read(void *payload, uint64_t offset, uint64_t len, const uint8_t **out, uint64_t *got,
                  mcap_error_info *) {
    Unpleasant *u = static_cast<Unpleasant *>(payload);
    u->reads++;
    if (u->hide_size && offset < u->last_offset) u->went_backwards = true;
    u->last_offset = offset;
    uint64_t avail = offset < u->file.size() ? u->file.size() - offset : 0;
    uint64_t n = std::min(len, avail);
    if (u->short_reads && n > 0) {
      u->rng = u->rng * 1103515245u + 12345u;
      n = std::min<uint64_t>(n, 1 + (u->rng >> 8) % u->max_piece);
    }
    delete[] u->buf;
    u->buf = new uint8_t[n ? n : 1];
    if (n) std::memcpy(u->buf, u->file.data() + offset, n);
    *out = u->buf;
    *got = n;
    return MCAP_OK;
  }
  static void Close(void *payload) {
    Unpleasant *u = static_cast<Unpleasant *>(payload);
    delete[] u->buf;
    u->buf = nullptr;
    u->closed = true;
  }
  mcap_source Source() {
    mcap_source s;
    s.payload = this;
    s.size = hide_size ? MCAP_SIZE_UNKNOWN : file.size();
    s.read = Read;
    s.close = Close;
    return s;
  }
};

}  // namespace

TEST(StreamReaderSources, FreshBufferPerReadUnknownSize) {
  for (const SampleOptions &o : SampleMatrix()) {
    SCOPED_TRACE(Describe(o));
    McapBuilder b = sample_file(o);
    Unpleasant u;
    u.file = b.bytes();
    u.hide_size = true;
    mcap_source src = u.Source();
    ReadResult r = read_all(&src);
    EXPECT_EQ(r.rc, MCAP_ITEROVER) << r.errmsg;
    EXPECT_EQ(r.records, b.stream());
    EXPECT_FALSE(u.went_backwards) << "reader re-read an earlier offset of an unknown-size source";
    EXPECT_TRUE(u.closed);
  }
}

// Truncations through an unknown-size source still end in clean errors.
TEST(StreamReaderSources, TruncatedUnknownSize) {
  SampleOptions o;
  o.messages = 6;
  McapBuilder b = sample_file(o);
  for (size_t n = 0; n < b.size(); n++) {
    SCOPED_TRACE(n);
    Unpleasant u;
    u.file = truncated(b.bytes(), n);
    u.hide_size = true;
    mcap_source src = u.Source();
    ReadResult r = read_all(&src);
    std::set<int> ok = {MCAP_ETRUNCATED, MCAP_EFOOTER, MCAP_EMAGIC};
    EXPECT_TRUE(ok.count(r.rc)) << mcap_strerror(r.rc) << ": " << r.errmsg;
  }
}

// Sources that return fewer bytes than asked before the end (as read(2) does).
TEST(StreamReaderSources, ShortReads) {
  for (bool hide : {false, true}) {
    for (uint64_t piece : {uint64_t{1}, uint64_t{3}, uint64_t{64}}) {
      SampleOptions o;
      o.messages = 10;
      McapBuilder b = sample_file(o);
      SCOPED_TRACE("pieces up to " + std::to_string(piece) + (hide ? ", size hidden" : ""));
      Unpleasant u;
      u.file = b.bytes();
      u.short_reads = true;
      u.max_piece = piece;
      u.hide_size = hide;
      mcap_source src = u.Source();
      ReadResult r = read_all(&src);
      EXPECT_EQ(r.rc, MCAP_ITEROVER) << r.errmsg;
      EXPECT_EQ(r.records, b.stream());
    }
  }
}

namespace {

// Feed `data` into a pipe from a thread, in pieces of varying size.
struct PipeFeeder {
  int fds[2] = {-1, -1};
  std::thread th;
  explicit PipeFeeder(const Bytes &data) {
    signal(SIGPIPE, SIG_IGN);  // the reader may stop early and close its end
    if (pipe(fds) != 0) throw std::runtime_error("pipe");
    int wfd = fds[1];
    th = std::thread([wfd, data] {
      size_t pos = 0, step = 1;
      while (pos < data.size()) {
        size_t n = std::min(step, data.size() - pos);
        ssize_t w = write(wfd, data.data() + pos, n);
        if (w <= 0) break;
        pos += static_cast<size_t>(w);
        step = step * 3 % 5000 + 1;
        if (pos % 7 == 0) std::this_thread::yield();
      }
      close(wfd);
    });
  }
  ~PipeFeeder() {
    close(fds[0]);
    th.join();
  }
};

ReadResult ReadThroughPipe(const Bytes &data) {
  PipeFeeder feeder(data);
  mcap_source src;
  mcap_error_info err;
  ReadResult r;
  r.rc = mcap_source_from_fd(&src, feeder.fds[0], &err);
  if (r.rc != MCAP_OK) {
    r.errmsg = err.msg;
    return r;
  }
  EXPECT_EQ(src.size, MCAP_SIZE_UNKNOWN);
  return read_all(&src);
}

}  // namespace

TEST(StreamReaderSources, Pipe) {
  for (const SampleOptions &o : SampleMatrix()) {
    SCOPED_TRACE(Describe(o));
    McapBuilder b = sample_file(o);
    ReadResult r = ReadThroughPipe(b.bytes());
    EXPECT_EQ(r.rc, MCAP_ITEROVER) << r.errmsg;
    EXPECT_EQ(r.records, b.stream());
    EXPECT_EQ(r.position, b.size());
  }
}

TEST(StreamReaderSources, PipeWithLargeRecords) {
  McapBuilder b;
  b.magic();
  b.add(Header{});
  b.add(Channel{1, 0, "/big", "raw", {}});
  for (int i = 0; i < 6; i++) {
    Message m{1, static_cast<uint32_t>(i), static_cast<uint64_t>(i), 0, Bytes(700000 + i * 1000)};
    for (size_t k = 0; k < m.data.size(); k += 97) m.data[k] = static_cast<uint8_t>(k + i);
    b.add(m);
  }
  ChunkBuilder cb;
  cb.add(Message{1, 9, 9, 9, Bytes(3 << 20, 7)});
  b.chunk(cb, "zstd");
  b.data_end();
  b.finish();
  ReadResult r = ReadThroughPipe(b.bytes());
  EXPECT_EQ(r.rc, MCAP_ITEROVER) << r.errmsg;
  EXPECT_EQ(r.records, b.stream());
}

TEST(StreamReaderSources, TruncatedPipe) {
  McapBuilder b = sample_file(SampleOptions());
  for (size_t n :
       {size_t{0}, size_t{5}, size_t{8}, size_t{30}, b.size() / 2, b.size() - 9, b.size() - 1}) {
    SCOPED_TRACE(n);
    ReadResult r = ReadThroughPipe(truncated(b.bytes(), n));
    std::set<int> ok = {MCAP_ETRUNCATED, MCAP_EFOOTER, MCAP_EMAGIC};
    EXPECT_TRUE(ok.count(r.rc)) << mcap_strerror(r.rc) << ": " << r.errmsg;
  }
}

// ------------------------------------------------------------ API edges

TEST(StreamReaderApi, NullArguments) {
  mcap_record rec;
  EXPECT_EQ(mcap_stream_reader_next(nullptr, &rec), MCAP_EINVAL);
  mcap_stream_reader_free(nullptr);
  EXPECT_STREQ(mcap_stream_reader_errmsg(nullptr), "");
  mcap_source zero;
  std::memset(&zero, 0, sizeof zero);
  mcap_source_close(&zero);  // a zeroed source may be closed
}

TEST(StreamReaderApi, ErrorOffsetPointsAtTheBadRecord) {
  OneChunk oc = OneChunkFile("zstd", [] {
    ChunkOptions co;
    co.override_crc = true;
    co.crc = 7;
    return co;
  }());
  mcap_source src;
  ASSERT_EQ(mcap_source_from_memory(&src, oc.b.bytes().data(), oc.b.size()), MCAP_OK);
  mcap_stream_reader *r = nullptr;
  ASSERT_EQ(mcap_stream_reader_new(&r, &src, nullptr), MCAP_OK);
  EXPECT_EQ(mcap_stream_reader_error_offset(r), UINT64_MAX);
  mcap_record rec;
  int rc;
  while ((rc = mcap_stream_reader_next(r, &rec)) == MCAP_OK) {
  }
  EXPECT_EQ(rc, MCAP_ECRC);
  EXPECT_EQ(mcap_stream_reader_error_offset(r), oc.pc.offset);
  mcap_stream_reader_free(r);
}
