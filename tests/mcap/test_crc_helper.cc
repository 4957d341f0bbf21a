// test_crc_helper.cc - the CRC helper thread (mcap/src/crc_helper.c): fills of every
// shape (pieces of every size, the owner's own part, aborted fills, buffers smaller and
// larger than the helper's pieces), segments, and both channels at once, always against
// mcap_crc32 over the same bytes. Many rounds, so that the owner's claim races the
// helper's at every point (the owner never sleeps here, so the helper is mostly behind).
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <vector>

#include "crc32.h"
#include "internal.h"

namespace {

std::vector<uint8_t> random_bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> v(n);
  for (auto &b : v) b = static_cast<uint8_t>(rng());
  return v;
}

struct Helper {
  mcap__crch *h = nullptr;
  Helper() { EXPECT_EQ(mcap__crch_new(&h), MCAP_OK); }
  ~Helper() { mcap__crch_free(h); }
};

}  // namespace

TEST(CrcHelper, FillInPiecesOfEverySize) {
  Helper hp;
  ASSERT_NE(hp.h, nullptr);
  std::mt19937 rng(1);
  std::vector<uint8_t> buf = random_bytes(3 << 20, 2);
  for (int round = 0; round < 300; round++) {
    size_t total = rng() % 3 == 0 ? rng() % 4096 : rng() % buf.size();
    uint32_t want = mcap_crc32(0, buf.data(), total);
    mcap__crch_fill_begin(hp.h, buf.data());
    // Publish the buffer as an owner filling it would: growing steps of any size,
    // sometimes with a pause so the helper catches up.
    for (size_t done = 0; done < total;) {
      size_t step = 1 + rng() % (rng() % 2 ? 300000 : 5000);
      done = std::min(total, done + step);
      mcap__crch_fill_advance(hp.h, done);
      if (rng() % 8 == 0) {
        volatile uint32_t spin = mcap_crc32(0, buf.data(), 20000);  // some time passes
        (void)spin;
      }
    }
    ASSERT_EQ(mcap__crch_fill_end(hp.h, total, total, 0), want) << round << " " << total;
  }
}

TEST(CrcHelper, OwnerComputesPartItself) {
  Helper hp;
  ASSERT_NE(hp.h, nullptr);
  std::mt19937 rng(3);
  std::vector<uint8_t> buf = random_bytes(2 << 20, 4);
  for (int round = 0; round < 300; round++) {
    size_t total = rng() % buf.size();
    size_t mid = total ? rng() % (total + 1) : 0;
    uint32_t want = mcap_crc32(0, buf.data(), total);
    mcap__crch_fill_begin(hp.h, buf.data());
    mcap__crch_fill_advance(hp.h, mid);
    uint32_t own = mcap_crc32(0, buf.data() + mid, total - mid);
    ASSERT_EQ(mcap__crch_fill_end(hp.h, total, mid, own), want) << total << " " << mid;
  }
}

TEST(CrcHelper, AbortedFillsLeaveTheHelperUsable) {
  Helper hp;
  ASSERT_NE(hp.h, nullptr);
  std::mt19937 rng(5);
  std::vector<uint8_t> src = random_bytes(1 << 20, 6);
  std::vector<uint8_t> buf = random_bytes(200000, 7);
  for (int round = 0; round < 200; round++) {
    // The buffer of an aborted fill is gone at once: the helper must be done with it.
    std::vector<uint8_t> *tmp = new std::vector<uint8_t>(src);
    mcap__crch_fill_begin(hp.h, tmp->data());
    mcap__crch_fill_advance(hp.h, rng() % tmp->size());
    mcap__crch_fill_abort(hp.h);
    memset(tmp->data(), 0xee, tmp->size());
    delete tmp;
    mcap__crch_fill_begin(hp.h, buf.data());
    mcap__crch_fill_advance(hp.h, buf.size());
    ASSERT_EQ(mcap__crch_fill_end(hp.h, buf.size(), buf.size(), 0),
              mcap_crc32(0, buf.data(), buf.size()));
  }
}

TEST(CrcHelper, SegmentsAndFillsTogether) {
  Helper hp;
  ASSERT_NE(hp.h, nullptr);
  std::mt19937 rng(7);
  std::vector<uint8_t> data = random_bytes(8 << 20, 8), fill = random_bytes(1 << 20, 9);
  uint32_t want = 0;
  size_t pos = 0;
  mcap__crch_seg_set(hp.h, 0);
  while (pos < data.size()) {
    size_t n = std::min(data.size() - pos, size_t(1 + rng() % 700000));
    if (rng() % 4 == 0) {
      // A small piece done by the owner itself, as the streamed reader does.
      uint32_t c = mcap__crch_seg_sync(hp.h);
      ASSERT_EQ(c, want);
      mcap__crch_seg_set(hp.h, mcap_crc32(c, data.data() + pos, n));
    } else {
      mcap__crch_seg_push(hp.h, data.data() + pos, n);
    }
    want = mcap_crc32(want, data.data() + pos, n);
    pos += n;
    // A fill while the segment may still run.
    size_t total = rng() % fill.size();
    mcap__crch_fill_begin(hp.h, fill.data());
    for (size_t done = 0; done < total;) {
      done = std::min(total, done + 1 + rng() % 150000);
      mcap__crch_fill_advance(hp.h, done);
    }
    ASSERT_EQ(mcap__crch_fill_end(hp.h, total, total, 0), mcap_crc32(0, fill.data(), total));
  }
  EXPECT_EQ(mcap__crch_seg_sync(hp.h), want);
  EXPECT_EQ(want, mcap_crc32(0, data.data(), data.size()));
}

TEST(CrcHelper, ParkedHelperWakesForWork) {
  // After a few milliseconds without work the helper sleeps on its condition variable;
  // new work must wake it (the test would hang otherwise).
  Helper hp;
  ASSERT_NE(hp.h, nullptr);
  std::vector<uint8_t> buf = random_bytes(1 << 20, 10);
  for (int round = 0; round < 3; round++) {
    mcap__crch_seg_set(hp.h, 0);
    usleep(20000);
    mcap__crch_seg_push(hp.h, buf.data(), buf.size());
    EXPECT_EQ(mcap__crch_seg_sync(hp.h), mcap_crc32(0, buf.data(), buf.size()));
    usleep(20000);
    mcap__crch_fill_begin(hp.h, buf.data());
    mcap__crch_fill_advance(hp.h, buf.size() / 2);
    usleep(5000);  // the helper takes pieces of the half while the owner waits
    mcap__crch_fill_advance(hp.h, buf.size());
    EXPECT_EQ(mcap__crch_fill_end(hp.h, buf.size(), buf.size(), 0),
              mcap_crc32(0, buf.data(), buf.size()));
  }
}

TEST(CrcHelper, SegmentCollectedAtAnyPointOfTheHelpersWork) {
  // The owner collects a segment by claiming what the helper has not taken and computing
  // it itself: a sync at once (the helper has not begun), after a little of the work, or
  // after all of it gives the same running CRC, from any start value, and the bytes may go
  // away as soon as sync returns.
  Helper hp;
  ASSERT_NE(hp.h, nullptr);
  std::mt19937 rng(11);
  std::vector<uint8_t> src = random_bytes(1 << 20, 12);
  for (int round = 0; round < 300; round++) {
    uint32_t start = static_cast<uint32_t>(rng());
    size_t n = rng() % 3 == 0 ? rng() % 70000 : rng() % src.size();
    std::vector<uint8_t> *tmp = new std::vector<uint8_t>(src.begin(), src.begin() + n);
    mcap__crch_seg_set(hp.h, start);
    mcap__crch_seg_push(hp.h, tmp->data(), n);
    if (rng() % 3 == 1) {
      volatile uint32_t spin = mcap_crc32(0, src.data(), rng() % 200000);  // some time passes
      (void)spin;
    } else if (rng() % 3 == 2) {
      usleep(200);
    }
    ASSERT_EQ(mcap__crch_seg_sync(hp.h), mcap_crc32(start, src.data(), n)) << round << " " << n;
    memset(tmp->data(), 0xee, tmp->size());
    delete tmp;
  }
}
