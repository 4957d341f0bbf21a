// test_writer_workers.cc - parallel chunk compression (mcap_writer_options.workers, and
// mcap_pool shared by several writers): the output must be byte-identical to
// single-threaded writing, with attachments and metadata interleaved (they force earlier
// chunks out first) and messages larger than the chunk size.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <thread>
#include <vector>

#include "mcap/mcap.h"

namespace {

std::vector<uint8_t> write_file(int workers, mcap_compression comp, uint64_t seed,
                                mcap_pool *pool = nullptr) {
  mcap_sink sink;
  EXPECT_EQ(mcap_sink_memory(&sink, 0), MCAP_OK);
  mcap_writer_options o;
  mcap_writer_options_init(&o);
  o.workers = workers;
  o.pool = pool;
  o.compression = comp;
  o.chunk_size = 4096;
  mcap_writer *w = nullptr;
  EXPECT_EQ(mcap_writer_open(&w, &sink, &o), MCAP_OK);
  uint16_t s, c1, c2;
  EXPECT_EQ(mcap_writer_add_schema(w, mcap_str_c("S"), mcap_str_c("jsonschema"), {nullptr, 0}, &s),
            MCAP_OK);
  EXPECT_EQ(mcap_writer_add_channel(w, s, mcap_str_c("/x"), mcap_str_c("json"), nullptr, 0, &c1),
            MCAP_OK);
  EXPECT_EQ(mcap_writer_add_channel(w, s, mcap_str_c("/y"), mcap_str_c("json"), nullptr, 0, &c2),
            MCAP_OK);
  std::mt19937_64 rng(seed);
  for (int i = 0; i < 3000; i++) {
    std::string d(rng() % 400 + 1, 'a');
    for (size_t k = 0; k < d.size(); k += 3) d[k] = (char)('a' + rng() % 26);
    if (i % 500 == 7) d.assign(20000, 'q');  // bigger than a chunk
    mcap_message m = {i % 3 ? c1 : c2, (uint32_t)i, (uint64_t)i * 1000, (uint64_t)i * 1000,
                      {(const uint8_t *)d.data(), d.size()}};
    EXPECT_EQ(mcap_writer_write_message(w, &m), MCAP_OK) << mcap_writer_errmsg(w);
    if (i % 700 == 350) {
      mcap_attachment a = {(uint64_t)i, 0, mcap_str_c("a"), mcap_str_c("b"),
                           {(const uint8_t *)d.data(), d.size()}, 0};
      EXPECT_EQ(mcap_writer_write_attachment(w, &a), MCAP_OK);
      mcap_kv kv = {mcap_str_c("k"), mcap_str_c("v")};
      EXPECT_EQ(mcap_writer_write_metadata(w, mcap_str_c("m"), &kv, 1), MCAP_OK);
    }
  }
  EXPECT_EQ(mcap_writer_close(w), MCAP_OK) << mcap_writer_errmsg(w);
  mcap_writer_free(w);
  uint64_t size = 0;
  const uint8_t *p = mcap_sink_memory_data(&sink, &size);
  std::vector<uint8_t> out(p, p + size);
  mcap_error_info e;
  mcap_sink_close(&sink, &e);
  return out;
}

TEST(WriterWorkers, OutputIdenticalToSingleThreaded) {
  for (mcap_compression c : {MCAP_COMPRESSION_ZSTD, MCAP_COMPRESSION_LZ4, MCAP_COMPRESSION_NONE}) {
    auto one = write_file(1, c, 5);
    ASSERT_GT(one.size(), 10000u);
    EXPECT_EQ(write_file(2, c, 5), one) << "compression " << c;
    EXPECT_EQ(write_file(4, c, 5), one) << "compression " << c;
  }
}

TEST(WriterWorkers, OutputReadsBackCompletely) {
  auto f = write_file(3, MCAP_COMPRESSION_ZSTD, 9);
  mcap_source src;
  ASSERT_EQ(mcap_source_from_memory(&src, f.data(), f.size()), MCAP_OK);
  mcap_stream_reader *r = nullptr;
  ASSERT_EQ(mcap_stream_reader_new(&r, &src, nullptr), MCAP_OK);
  mcap_record rec;
  int rc, msgs = 0;
  uint32_t next_seq = 0;
  while ((rc = mcap_stream_reader_next(r, &rec)) == MCAP_OK) {
    if (rec.opcode == MCAP_OP_MESSAGE) {
      EXPECT_EQ(rec.u.message.sequence, next_seq++);
      msgs++;
    }
  }
  EXPECT_EQ(rc, MCAP_ITEROVER) << mcap_stream_reader_errmsg(r);
  EXPECT_EQ(msgs, 3000);
  mcap_stream_reader_free(r);
}

// Freeing a writer with chunks still in flight (an abandoned file) must not leak or hang.
TEST(WriterWorkers, FreeWithoutCloseIsClean) {
  mcap_sink sink;
  ASSERT_EQ(mcap_sink_memory(&sink, 0), MCAP_OK);
  mcap_writer_options o;
  mcap_writer_options_init(&o);
  o.workers = 2;
  o.chunk_size = 1024;
  mcap_writer *w = nullptr;
  ASSERT_EQ(mcap_writer_open(&w, &sink, &o), MCAP_OK);
  uint16_t c;
  ASSERT_EQ(mcap_writer_add_channel(w, 0, mcap_str_c("/x"), mcap_str_c("raw"), nullptr, 0, &c),
            MCAP_OK);
  std::string d(900, 'z');
  for (int i = 0; i < 50; i++) {
    mcap_message m = {c, 0, (uint64_t)i, (uint64_t)i, {(const uint8_t *)d.data(), d.size()}};
    ASSERT_EQ(mcap_writer_write_message(w, &m), MCAP_OK);
  }
  mcap_writer_free(w);
  mcap_error_info e;
  mcap_sink_close(&sink, &e);
}

// Writers sharing one pool, used from different threads at once, write exactly what they
// write alone; so does a pool of 1 (no thread: the callers compress).
TEST(WriterPool, SharedByWritersOnSeveralThreadsGivesIdenticalOutput) {
  const mcap_compression comps[] = {MCAP_COMPRESSION_ZSTD, MCAP_COMPRESSION_LZ4,
                                    MCAP_COMPRESSION_NONE, MCAP_COMPRESSION_ZSTD};
  std::vector<std::vector<uint8_t>> alone;
  for (int i = 0; i < 4; i++) alone.push_back(write_file(1, comps[i], 100 + (uint64_t)i));
  for (int threads : {1, 2, 3}) {
    mcap_pool *pool = nullptr;
    ASSERT_EQ(mcap_pool_new(&pool, threads), MCAP_OK);
    EXPECT_EQ(mcap_pool_threads(pool), threads);
    std::vector<std::vector<uint8_t>> got(4);
    std::vector<std::thread> th;
    for (int i = 0; i < 4; i++)
      th.emplace_back([&, i] { got[i] = write_file(0, comps[i], 100 + (uint64_t)i, pool); });
    for (auto &t : th) t.join();
    for (int i = 0; i < 4; i++) EXPECT_EQ(got[i], alone[i]) << "pool of " << threads << ", file " << i;
    // Interleaved on one thread: each writer's chunks wait in the pool while others write.
    for (int i = 0; i < 4; i++) EXPECT_EQ(write_file(7, comps[i], 100 + (uint64_t)i, pool), alone[i]);
    mcap_pool_free(pool);
  }
  mcap_pool_free(nullptr);
  EXPECT_EQ(mcap_pool_threads(nullptr), 0);
}

// Abandoning one writer of a shared pool (its chunks still queued or being compressed)
// leaves the pool and the other writers working.
TEST(WriterPool, FreeingAWriterWithChunksInThePool) {
  mcap_pool *pool = nullptr;
  ASSERT_EQ(mcap_pool_new(&pool, 2), MCAP_OK);
  auto expect = write_file(1, MCAP_COMPRESSION_ZSTD, 3);
  for (int round = 0; round < 20; round++) {
    mcap_sink sink;
    ASSERT_EQ(mcap_sink_memory(&sink, 0), MCAP_OK);
    mcap_writer_options o;
    mcap_writer_options_init(&o);
    o.pool = pool;
    o.chunk_size = 512;
    mcap_writer *w = nullptr;
    ASSERT_EQ(mcap_writer_open(&w, &sink, &o), MCAP_OK);
    uint16_t c;
    ASSERT_EQ(mcap_writer_add_channel(w, 0, mcap_str_c("/x"), mcap_str_c("raw"), nullptr, 0, &c),
              MCAP_OK);
    std::string d(500, 'z');
    for (int i = 0; i < 3 + round; i++) {
      mcap_message m = {c, 0, (uint64_t)i, (uint64_t)i, {(const uint8_t *)d.data(), d.size()}};
      ASSERT_EQ(mcap_writer_write_message(w, &m), MCAP_OK);
    }
    mcap_writer_free(w);
    mcap_error_info e;
    mcap_sink_close(&sink, &e);
    EXPECT_EQ(write_file(0, MCAP_COMPRESSION_ZSTD, 3, pool), expect);
  }
  mcap_pool_free(pool);
}

}  // namespace
