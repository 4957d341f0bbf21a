// test_damage.cc - what the readers say they could not read (mcap_damage): the
// indexed reader's scan that stops at a truncation, chunks a query skips with
// skip_bad_chunks (and fails on without it), the on_problem callback, and the
// streamed reader's stop; "unreadable" for input that is not MCAP at all.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "mcap/mcap.h"

namespace {

using Bytes = std::vector<uint8_t>;

struct Built {
  Bytes bytes;
  std::vector<uint64_t> chunk_offsets;  // from the summary
  std::vector<uint64_t> chunk_lengths;
  uint64_t messages = 0;
};

// Two channels, `n` messages of 200 bytes, 1 KiB chunks (so many chunks), uncompressed
// (so that overwritten bytes break a chunk's CRC, not only its codec).
Built build(int n, mcap_compression c = MCAP_COMPRESSION_NONE) {
  Built b;
  mcap_sink sink;
  EXPECT_EQ(mcap_sink_memory(&sink, 0), MCAP_OK);
  mcap_writer_options o;
  mcap_writer_options_init(&o);
  o.chunk_size = 1024;
  o.compression = c;
  mcap_writer *w = nullptr;
  EXPECT_EQ(mcap_writer_open(&w, &sink, &o), MCAP_OK);
  uint16_t ch[2];
  EXPECT_EQ(mcap_writer_add_channel(w, 0, mcap_str_c("/a"), mcap_str_c("json"), nullptr, 0,
                                    &ch[0]),
            MCAP_OK);
  EXPECT_EQ(mcap_writer_add_channel(w, 0, mcap_str_c("/b"), mcap_str_c("json"), nullptr, 0,
                                    &ch[1]),
            MCAP_OK);
  std::string data(200, 'x');
  for (int i = 0; i < n; i++) {
    mcap_message m = {ch[i % 2], (uint32_t)i, (uint64_t)(1000 + i), (uint64_t)(1000 + i),
                      {(const uint8_t *)data.data(), data.size()}};
    EXPECT_EQ(mcap_writer_write_message(w, &m), MCAP_OK);
  }
  EXPECT_EQ(mcap_writer_close(w), MCAP_OK);
  mcap_writer_free(w);
  uint64_t size = 0;
  const uint8_t *p = mcap_sink_memory_data(&sink, &size);
  b.bytes.assign(p, p + size);
  mcap_error_info e;
  mcap_sink_close(&sink, &e);
  b.messages = (uint64_t)n;
  // chunk offsets from an intact open
  mcap_source src;
  EXPECT_EQ(mcap_source_from_memory(&src, b.bytes.data(), b.bytes.size()), MCAP_OK);
  mcap_reader *r = nullptr;
  EXPECT_EQ(mcap_reader_open(&r, &src, nullptr, &e), MCAP_OK);
  for (size_t i = 0; i < mcap_reader_chunk_count(r); i++) {
    b.chunk_offsets.push_back(mcap_reader_chunk_at(r, i)->chunk_start_offset);
    b.chunk_lengths.push_back(mcap_reader_chunk_at(r, i)->chunk_length);
  }
  mcap_reader_free(r);
  return b;
}

struct Problems {
  std::vector<mcap_error_info> seen;
};

void on_problem(void *user, const mcap_error_info *p) {
  static_cast<Problems *>(user)->seen.push_back(*p);
}

// Open `bytes` with the indexed reader; count the messages of a full query.
// Returns the query's end code (MCAP_ITEROVER when it ran to the end).
int read_all(const Bytes &bytes, bool skip, uint64_t *n, mcap_damage *d, Problems *pr = nullptr) {
  mcap_source src;
  EXPECT_EQ(mcap_source_from_memory(&src, bytes.data(), bytes.size()), MCAP_OK);
  mcap_indexed_options o;
  memset(&o, 0, sizeof o);
  o.threads = 1;
  o.skip_bad_chunks = skip ? 1 : 0;
  if (pr) {
    o.on_problem = on_problem;
    o.problem_user = pr;
  }
  mcap_reader *r = nullptr;
  mcap_error_info e;
  int rc = mcap_reader_open(&r, &src, &o, &e);
  EXPECT_EQ(rc, MCAP_OK) << e.msg;
  if (rc) return rc;
  mcap_message_iter *it = nullptr;
  EXPECT_EQ(mcap_reader_query(r, nullptr, &it), MCAP_OK);
  mcap_message_view v;
  *n = 0;
  while ((rc = mcap_message_iter_next(it, &v)) == MCAP_OK) (*n)++;
  mcap_message_iter_free(it);
  mcap_reader_damage(r, d);
  mcap_reader_free(r);
  return rc;
}

TEST(Damage, IntactFileHasNone) {
  Built b = build(40);
  uint64_t n = 0;
  mcap_damage d;
  EXPECT_EQ(read_all(b.bytes, true, &n, &d), MCAP_ITEROVER);
  EXPECT_EQ(n, b.messages);
  EXPECT_EQ(d.problems, 0u);
  EXPECT_EQ(d.first_offset, UINT64_MAX);
  EXPECT_EQ(d.rest_unread, 0);
}

// A file cut in the middle of a chunk: the scan indexes what comes before the cut and
// says where it stopped and how many bytes it did not read.
TEST(Damage, TruncatedFileStopsWhereItIsCut) {
  Built b = build(40);
  ASSERT_GE(b.chunk_offsets.size(), 4u);
  uint64_t cut_chunk = b.chunk_offsets[2];
  Bytes cut(b.bytes.begin(), b.bytes.begin() + (long)(cut_chunk + 20));
  uint64_t n = 0;
  mcap_damage d;
  Problems pr;
  EXPECT_EQ(read_all(cut, false, &n, &d, &pr), MCAP_ITEROVER);
  EXPECT_GT(n, 0u);
  EXPECT_LT(n, b.messages);
  EXPECT_EQ(d.problems, 1u);
  EXPECT_EQ(d.code, MCAP_ETRUNCATED);
  EXPECT_EQ(d.rest_unread, 1);
  EXPECT_EQ(d.stop_offset, cut_chunk);
  EXPECT_EQ(d.first_offset, cut_chunk);
  EXPECT_EQ(d.bytes_skipped, 20u);
  EXPECT_EQ(d.unreadable, 0);
  EXPECT_NE(std::string(d.msg).find(std::to_string(cut_chunk)), std::string::npos) << d.msg;
  ASSERT_EQ(pr.seen.size(), 1u);
  EXPECT_EQ(pr.seen[0].offset, cut_chunk);
}

// Garbage over one chunk of a file with an intact summary: without skip_bad_chunks the
// query fails there (as it always did); with it, the query skips that chunk, goes on, and
// the damage counts the chunk, its bytes and its messages, once however often it is met.
TEST(Damage, BadChunkSkippedByQueriesWhenAsked) {
  Built b = build(60);
  ASSERT_GE(b.chunk_offsets.size(), 5u);
  Bytes bad = b.bytes;
  uint64_t off = b.chunk_offsets[2], len = b.chunk_lengths[2];
  for (uint64_t i = off + 60; i < off + len - 8; i++) bad[i] ^= 0x5a;  // content, not envelope

  uint64_t n = 0;
  mcap_damage d;
  int rc = read_all(bad, false, &n, &d);
  EXPECT_NE(rc, MCAP_ITEROVER);
  EXPECT_NE(rc, MCAP_OK);

  Problems pr;
  EXPECT_EQ(read_all(bad, true, &n, &d, &pr), MCAP_ITEROVER);
  EXPECT_EQ(d.problems, 1u);
  EXPECT_EQ(d.chunks_skipped, 1u);
  EXPECT_EQ(d.first_offset, off);
  EXPECT_EQ(d.bytes_skipped, len);
  EXPECT_EQ(d.rest_unread, 0);
  EXPECT_GT(d.messages_skipped, 0u);
  EXPECT_EQ(n + d.messages_skipped, b.messages);
  ASSERT_EQ(pr.seen.size(), 1u);
  EXPECT_EQ(pr.seen[0].offset, off);

  // Two queries on one reader: the chunk is counted once.
  mcap_source src;
  ASSERT_EQ(mcap_source_from_memory(&src, bad.data(), bad.size()), MCAP_OK);
  mcap_indexed_options o;
  memset(&o, 0, sizeof o);
  o.threads = 2;
  o.skip_bad_chunks = 1;
  mcap_reader *r = nullptr;
  mcap_error_info e;
  ASSERT_EQ(mcap_reader_open(&r, &src, &o, &e), MCAP_OK) << e.msg;
  for (int pass = 0; pass < 2; pass++) {
    mcap_query q;
    memset(&q, 0, sizeof q);
    q.order = pass ? MCAP_ORDER_REVERSE : MCAP_ORDER_LOG_TIME;
    mcap_message_iter *it = nullptr;
    ASSERT_EQ(mcap_reader_query(r, &q, &it), MCAP_OK);
    mcap_message_view v;
    uint64_t k = 0;
    int qrc;
    while ((qrc = mcap_message_iter_next(it, &v)) == MCAP_OK) k++;
    EXPECT_EQ(qrc, MCAP_ITEROVER);
    EXPECT_EQ(k, n);
    mcap_message_iter_free(it);
  }
  mcap_reader_damage(r, &d);
  EXPECT_EQ(d.problems, 1u);
  EXPECT_EQ(d.chunks_skipped, 1u);
  mcap_reader_free(r);
}

// The streamed reader: nothing while it reads, the stop after an error, "unreadable" when
// the input is not MCAP at all.
TEST(Damage, StreamReaderSaysWhereItStopped) {
  Built b = build(40);
  uint64_t cut_at = b.chunk_offsets[3] + 30;
  Bytes cut(b.bytes.begin(), b.bytes.begin() + (long)cut_at);
  mcap_source src;
  ASSERT_EQ(mcap_source_from_memory(&src, cut.data(), cut.size()), MCAP_OK);
  mcap_stream_reader *r = nullptr;
  ASSERT_EQ(mcap_stream_reader_new(&r, &src, nullptr), MCAP_OK);
  mcap_record rec;
  mcap_damage d;
  int rc;
  ASSERT_EQ(mcap_stream_reader_next(r, &rec), MCAP_OK);
  mcap_stream_reader_damage(r, &d);
  EXPECT_EQ(d.problems, 0u);
  while ((rc = mcap_stream_reader_next(r, &rec)) == MCAP_OK) {
  }
  EXPECT_EQ(rc, MCAP_ETRUNCATED);
  mcap_stream_reader_damage(r, &d);
  EXPECT_EQ(d.problems, 1u);
  EXPECT_EQ(d.rest_unread, 1);
  EXPECT_EQ(d.stop_offset, b.chunk_offsets[3]);
  EXPECT_EQ(d.bytes_skipped, 30u);
  EXPECT_EQ(d.unreadable, 0);
  EXPECT_STREQ(d.msg, mcap_stream_reader_errmsg(r));
  mcap_stream_reader_free(r);

  for (const std::string &text : {std::string(""), std::string("hello\n"),
                                 std::string("\x89MCAP0\r"), std::string("\x89MCAP0\r\n\x01\x05")}) {
    ASSERT_EQ(mcap_source_from_memory(&src, text.data(), text.size()), MCAP_OK);
    ASSERT_EQ(mcap_stream_reader_new(&r, &src, nullptr), MCAP_OK);
    EXPECT_NE(mcap_stream_reader_next(r, &rec), MCAP_OK);
    mcap_stream_reader_damage(r, &d);
    EXPECT_EQ(d.problems, 1u) << text.size();
    EXPECT_EQ(d.unreadable, 1) << text.size();
    mcap_stream_reader_free(r);
  }
}

}  // namespace
