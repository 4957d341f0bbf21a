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
