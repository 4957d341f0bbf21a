// test_chunk_feed.cc - the chunk feed (pipeline/core/chunk_feed.c) that hands
// decompressed chunks from the lake pass to the doctor: chunks taken in file
// order with their bytes, chunks the producer skipped or the consumer passed,
// a finished producer and a closed consumer never leaving the other waiting,
// and buffers recycled, across two threads.
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

extern "C" {
#include "pipeline/core.h"
}

namespace {

// A producer buffer holding `text` (the feed takes it).
void fill(pl_buf *b, const std::string &text) {
  ASSERT_EQ(pl_buf_reserve(b, text.size() + 1), 0);
  std::memcpy(b->data, text.data(), text.size());
  b->len = text.size();
}

std::string take(pl_feed *f, uint64_t off, int *got) {
  const uint8_t *p = nullptr;
  uint64_t n = 0;
  *got = pl_feed_take(f, off, &p, &n);
  return *got ? std::string(reinterpret_cast<const char *>(p), n) : std::string();
}

}  // namespace

TEST(ChunkFeed, ConsumerGetsEveryChunkInOrderAcrossThreads) {
  pl_feed *f = nullptr;
  ASSERT_EQ(pl_feed_new(&f, 3), PL_OK);
  const int n = 500;
  std::thread producer([f] {
    pl_buf b{};
    for (int i = 0; i < n; i++) {
      fill(&b, "chunk " + std::to_string(i) + std::string(static_cast<size_t>(i % 97), 'x'));
      pl_feed_put(f, 1000 + 10 * static_cast<uint64_t>(i), &b);
    }
    pl_feed_finish(f);
    pl_buf_dispose(&b);
  });
  for (int i = 0; i < n; i++) {
    int got = 0;
    std::string s = take(f, 1000 + 10 * static_cast<uint64_t>(i), &got);
    ASSERT_EQ(got, 1) << i;
    EXPECT_EQ(s, "chunk " + std::to_string(i) + std::string(static_cast<size_t>(i % 97), 'x'));
  }
  int got = 1;
  take(f, 999999, &got);  // past the end, producer finished: no wait, no chunk
  EXPECT_EQ(got, 0);
  producer.join();
  pl_feed_close(f);
  pl_feed_free(f);
}

TEST(ChunkFeed, SkippedAndPassedChunksAreNotConfused) {
  pl_feed *f = nullptr;
  ASSERT_EQ(pl_feed_new(&f, 8), PL_OK);
  pl_buf b{};
  // the producer has 10, 30 and 40 (it skipped 20, a chunk it could not decompress)
  fill(&b, "ten");
  pl_feed_put(f, 10, &b);
  fill(&b, "thirty");
  pl_feed_put(f, 30, &b);
  fill(&b, "forty");
  pl_feed_put(f, 40, &b);
  pl_feed_finish(f);
  int got = 0;
  EXPECT_EQ(take(f, 10, &got), "ten");
  EXPECT_EQ(got, 1);
  take(f, 20, &got);  // not there: the consumer decompresses it itself
  EXPECT_EQ(got, 0);
  // the consumer does not ask for 30 (say, an uncompressed chunk) and goes on to 40
  EXPECT_EQ(take(f, 40, &got), "forty");
  EXPECT_EQ(got, 1);
  take(f, 50, &got);
  EXPECT_EQ(got, 0);
  pl_feed_close(f);
  pl_buf_dispose(&b);
  pl_feed_free(f);
}

TEST(ChunkFeed, ClosedConsumerReleasesABlockedProducer) {
  pl_feed *f = nullptr;
  ASSERT_EQ(pl_feed_new(&f, 2), PL_OK);
  std::atomic<int> done{0};
  std::thread producer([f, &done] {
    pl_buf b{};
    for (int i = 0; i < 50; i++) {  // far more than the queue holds
      fill(&b, "data");
      pl_feed_put(f, static_cast<uint64_t>(i), &b);
    }
    pl_buf_dispose(&b);
    done = 1;
  });
  int got = 0;
  EXPECT_EQ(take(f, 0, &got), "data");
  EXPECT_EQ(got, 1);
  pl_feed_close(f);   // the doctor stopped early
  producer.join();    // would hang if the producer kept waiting for room
  EXPECT_EQ(done.load(), 1);
  pl_feed_free(f);
}

TEST(ChunkFeed, FinishedProducerReleasesAWaitingConsumer) {
  pl_feed *f = nullptr;
  ASSERT_EQ(pl_feed_new(&f, 2), PL_OK);
  int got = 1;
  std::thread consumer([f, &got] { take(f, 7, &got); });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  pl_feed_finish(f);  // the pass failed before reaching offset 7
  consumer.join();
  EXPECT_EQ(got, 0);
  pl_feed_close(f);
  pl_feed_free(f);
}
