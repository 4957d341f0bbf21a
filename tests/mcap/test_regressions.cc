// test_regressions.cc - one test per file in testdata/bad/ (see testdata/bad/README.md):
// each asserts the specific outcome for the input that once misbehaved.
#include <gtest/gtest.h>

#include <string>

#include "mcap/mcap.h"

namespace {

std::string bad(const char *name) { return std::string(MCAPKIT_SOURCE_DIR "/testdata/bad/") + name; }

// Fuzzer find: a Chunk with no records (uncompressed_size 0) made the streamed reader form
// NULL + 0 (undefined behaviour) before seeing the chunk was empty. The file then ends in a
// record whose length runs past the end: the reader must get there and report truncation.
TEST(Regressions, ChunkEmptyRecordsNullOffset) {
  mcap_source src;
  mcap_error_info e;
  ASSERT_EQ(mcap_source_open_file(&src, bad("chunk_empty_records_null_offset.mcap").c_str(), &e),
            MCAP_OK)
      << e.msg;
  mcap_reader_options o;
  mcap_reader_options_init(&o);
  o.no_magic_check = 1;  // the fuzzer's file has a damaged magic; get to the chunk anyway
  o.no_data_crc = o.no_summary_crc = o.no_chunk_crc = 1;
  mcap_stream_reader *r = nullptr;
  ASSERT_EQ(mcap_stream_reader_new(&r, &src, &o), MCAP_OK);
  mcap_record rec;
  int rc, records = 0;
  while ((rc = mcap_stream_reader_next(r, &rec)) == MCAP_OK) records++;
  EXPECT_EQ(rc, MCAP_ETRUNCATED) << mcap_stream_reader_errmsg(r);
  EXPECT_GE(records, 1);  // the Header
  mcap_stream_reader_free(r);
}

}  // namespace

namespace {

void le64(std::string &s, uint64_t v) {
  for (int i = 0; i < 8; i++) s.push_back((char)(v >> (8 * i)));
}
void le32(std::string &s, uint32_t v) {
  for (int i = 0; i < 4; i++) s.push_back((char)(v >> (8 * i)));
}

// Review find: the indexed reader searched its channel list for every Channel record of the
// summary, so a hostile summary repeating 65,536 ids hundreds of thousands of times cost
// billions of comparisons. Ids are now tracked in a bitmap: opening this file is immediate.
TEST(Regressions, SummaryWithMillionsOfChannelComparisonsOpensFast) {
  std::string f("\x89MCAP0\r\n", 8);
  f.push_back(1);  // Header: empty profile and library
  le64(f, 8);
  le32(f, 0);
  le32(f, 0);
  f.push_back(0x0F);  // DataEnd, no CRC
  le64(f, 4);
  le32(f, 0);
  uint64_t summary_start = f.size();
  const uint32_t n = 300000;
  for (uint32_t i = 0; i < n; i++) {
    f.push_back(4);  // Channel: id, schema 0, topic "t", encoding "e", empty map
    le64(f, 2 + 2 + 5 + 5 + 4);
    f.push_back((char)(i & 0xff));
    f.push_back((char)((i >> 8) & 0xff));
    f.append(2, '\0');
    le32(f, 1);
    f.push_back('t');
    le32(f, 1);
    f.push_back('e');
    le32(f, 0);
  }
  f.push_back(0x0B);  // Statistics: no messages, so no chunk indexes are needed
  le64(f, 46);
  f.append(46, '\0');
  f.push_back(2);  // Footer without summary offsets or CRC
  le64(f, 20);
  le64(f, summary_start);
  le64(f, 0);
  le32(f, 0);
  f.append("\x89MCAP0\r\n", 8);

  mcap_source src;
  ASSERT_EQ(mcap_source_from_memory(&src, f.data(), f.size()), MCAP_OK);
  mcap_reader *r = nullptr;
  mcap_error_info e;
  ASSERT_EQ(mcap_reader_open(&r, &src, nullptr, &e), MCAP_OK) << e.msg;
  const char *why = "";
  EXPECT_EQ(mcap_reader_index_source(r, &why), MCAP_INDEX_FROM_SUMMARY) << why;
  EXPECT_EQ(mcap_reader_channel_count(r), 65536u);
  EXPECT_EQ(mcap_reader_channel(r, 65535)->id, 65535);
  mcap_reader_free(r);
}

}  // namespace
