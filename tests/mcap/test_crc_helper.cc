// test_crc_helper.cc - the CRC helper thread (mcap/src/crc_helper.c): fills of every
// shape (pieces of every size, the owner's own part, aborted fills, buffers smaller and
// larger than the helper's pieces), segments, and both channels at once, always against
// mcap_crc32 over the same bytes. Many rounds, so that the owner's claim races the
// helper's at every point (the owner never sleeps here, so the helper is mostly behind),
// and two races replayed step by step through the helper's test hooks.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <mutex>
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

namespace {

// Replays races between the helper and the owner step by step through the helper's test
// hooks: the helper can be held right after it read the segment lane (before its claim),
// and the owner can let it run while it opens a lane.
struct Gate {
  std::mutex mu;
  std::condition_variable cv;
  bool hold = false;                   // the helper waits in helper_read while set
  int reads = 0;                       // segment-lane reads by the helper
  int fill_reads = 0;                  // fill-lane reads
  std::vector<size_t> claimed_seen;    // the claim offset of each read
  bool release_while_opening = false;  // owner_opening lets the helper run a step

  static void on_read(void *arg, int lane, size_t claimed, size_t produced) {
    (void)produced;
    Gate *g = static_cast<Gate *>(arg);
    std::unique_lock<std::mutex> lk(g->mu);
    if (lane != 1) {
      g->fill_reads++;
      g->cv.notify_all();
      return;
    }
    g->reads++;
    g->claimed_seen.push_back(claimed);
    g->cv.notify_all();
    g->cv.wait(lk, [g] { return !g->hold; });
  }
  static void on_opening(void *arg, int lane) {
    Gate *g = static_cast<Gate *>(arg);
    if (lane != 1 || !g->release_while_opening) return;
    std::unique_lock<std::mutex> lk(g->mu);
    int want = g->reads + 1;  // the held read's step ends, and the helper reads again
    g->hold = false;
    g->cv.notify_all();
    g->cv.wait(lk, [g, want] { return g->reads >= want; });
    // A read of a lane closed to claims ends its step there (an idle helper may then go
    // to sleep until the lane is published); after any other read, let that step end.
    if (g->claimed_seen.back() != SIZE_MAX) {
      g->cv.wait(lk, [g, want] { return g->reads >= want + 1; });
    }
    g->hold = true;
  }
  void install(mcap__crch *h) {
    mcap__crch_hooks hooks = {on_read, on_opening, this};
    mcap__crch_set_hooks(h, &hooks);
  }
  void wait_reads(int n) {
    std::unique_lock<std::mutex> lk(mu);
    cv.wait(lk, [this, n] { return reads >= n; });
  }
  int fill_reads_now() {
    std::lock_guard<std::mutex> lk(mu);
    return fill_reads;
  }
  // Whether the helper reads the lane (0 fill, 1 segments) n times within 5 s.
  bool reads_within(int lane, int n) {
    std::unique_lock<std::mutex> lk(mu);
    return cv.wait_for(lk, std::chrono::seconds(5),
                       [this, lane, n] { return (lane ? reads : fill_reads) >= n; });
  }
  void set_hold(bool on) {
    std::lock_guard<std::mutex> lk(mu);
    hold = on;
    cv.notify_all();
  }
};

// A helper with a gate installed. The helper calls the gate's hooks until it is joined, so
// the gate must outlive it (declared the other way round, a test's gate was destroyed while
// the helper still pushed into its vector: a double free under ASan in CI), and a held
// helper is let go first, or the join would wait for it forever after a failed assertion.
struct GatedHelper {
  Gate g;     // destroyed last
  Helper hp;  // destroyed first: its free joins the helper thread
  GatedHelper() {
    if (hp.h) g.install(hp.h);
  }
  ~GatedHelper() {
    std::lock_guard<std::mutex> lk(g.mu);
    g.release_while_opening = false;
    g.hold = false;
    g.cv.notify_all();
  }
};

}  // namespace

TEST(CrcHelper, StaleReadOfAClosedSegmentClaimsNothingOfTheNext) {
  // The helper reads segment A (claim 0 of 256 KiB) and is held before its claim; the owner
  // collects A itself and pushes B, only 100 bytes. The held claim must fail on B's
  // generation: taken by A's sizes it would read 64 KiB of a 100-byte buffer (a603d30).
  GatedHelper gh;
  ASSERT_NE(gh.hp.h, nullptr);
  Helper &hp = gh.hp;
  Gate &g = gh.g;
  std::vector<uint8_t> a = random_bytes(256 << 10, 21);
  std::vector<uint8_t> *b = new std::vector<uint8_t>(random_bytes(100, 22));
  g.set_hold(true);
  mcap__crch_seg_set(hp.h, 7);
  mcap__crch_seg_push(hp.h, a.data(), a.size());
  g.wait_reads(1);
  EXPECT_EQ(g.claimed_seen[0], 0u);
  uint32_t after_a = mcap_crc32(7, a.data(), a.size());
  ASSERT_EQ(mcap__crch_seg_sync(hp.h), after_a);
  mcap__crch_seg_push(hp.h, b->data(), b->size());
  g.set_hold(false);
  g.wait_reads(2);  // the stale step is over, and the helper read B
  {
    std::lock_guard<std::mutex> lk(g.mu);  // more than B holds taken: sync would never end
    ASSERT_LE(g.claimed_seen[1], b->size()) << "the stale step claimed bytes of B";
  }
  EXPECT_EQ(mcap__crch_seg_sync(hp.h), mcap_crc32(after_a, b->data(), b->size()));
  memset(b->data(), 0xee, b->size());
  delete b;
}

TEST(CrcHelper, LaneBeingOpenedIsClosedToClaims) {
  // Segment A (100 bytes) is collected by the owner, so its claim word says "100 taken";
  // then B (256 KiB) is opened, and while its fields are set the helper runs a whole step.
  // It must see the lane closed: claiming at A's offset with B's size took bytes of B at
  // the wrong place and gave a wrong data-section CRC in CI (fixed in a51da19).
  GatedHelper gh;
  ASSERT_NE(gh.hp.h, nullptr);
  Helper &hp = gh.hp;
  Gate &g = gh.g;
  std::vector<uint8_t> a = random_bytes(100, 31);
  std::vector<uint8_t> b = random_bytes(256 << 10, 32);
  g.set_hold(true);
  mcap__crch_seg_set(hp.h, 9);
  mcap__crch_seg_push(hp.h, a.data(), a.size());
  g.wait_reads(1);
  uint32_t after_a = mcap_crc32(9, a.data(), a.size());
  ASSERT_EQ(mcap__crch_seg_sync(hp.h), after_a);
  g.release_while_opening = true;
  mcap__crch_seg_push(hp.h, b.data(), b.size());  // the helper steps inside, then holds
  g.release_while_opening = false;
  {
    std::lock_guard<std::mutex> lk(g.mu);
    ASSERT_GE(g.claimed_seen.size(), 2u);
    EXPECT_EQ(g.claimed_seen[1], SIZE_MAX) << "read while the lane was being opened";
  }
  g.set_hold(false);
  EXPECT_EQ(mcap__crch_seg_sync(hp.h), mcap_crc32(after_a, b.data(), b.size()));
}

TEST(CrcHelper, ParkedHelperWakesForWork) {
  // An idle helper sleeps on its condition variable; a new segment or fill must wake it.
  // (The owner would finish without it, computing everything itself, so the test watches
  // the helper read the lane instead.)
  GatedHelper gh;
  ASSERT_NE(gh.hp.h, nullptr);
  Helper &hp = gh.hp;
  Gate &g = gh.g;
  std::vector<uint8_t> buf = random_bytes(1 << 20, 10);
  for (int round = 1; round <= 3; round++) {
    mcap__crch_seg_set(hp.h, 0);
    usleep(20000);  // the helper has long gone to sleep
    mcap__crch_seg_push(hp.h, buf.data(), buf.size());
    EXPECT_TRUE(g.reads_within(1, round)) << "segment, round " << round;
    EXPECT_EQ(mcap__crch_seg_sync(hp.h), mcap_crc32(0, buf.data(), buf.size()));
    usleep(20000);
    int before = g.fill_reads_now();
    mcap__crch_fill_begin(hp.h, buf.data());
    mcap__crch_fill_advance(hp.h, buf.size() / 2);
    EXPECT_TRUE(g.reads_within(0, before + 1)) << "fill, round " << round;
    mcap__crch_fill_advance(hp.h, buf.size());
    EXPECT_EQ(mcap__crch_fill_end(hp.h, buf.size(), buf.size(), 0),
              mcap_crc32(0, buf.data(), buf.size()));
  }
}

TEST(CrcHelper, WholeFillsCollectedAtAnyPoint) {
  // A fill handed over whole (mcap__crch_fill_whole: the chunk already decoded, or the first
  // half of a stored chunk while the owner takes the second): the same CRC whenever the
  // owner ends it, and a helper that went to sleep is woken for it.
  GatedHelper gh;
  ASSERT_NE(gh.hp.h, nullptr);
  Helper &hp = gh.hp;
  Gate &g = gh.g;
  std::mt19937 rng(41);
  std::vector<uint8_t> buf = random_bytes(2 << 20, 42);
  for (int round = 0; round < 200; round++) {
    size_t total = rng() % 3 == 0 ? rng() % 70000 : rng() % buf.size();
    size_t mid = rng() % 2 ? total : rng() % (total + 1);
    uint32_t own = mcap_crc32(0, buf.data() + mid, total - mid);
    int before = g.fill_reads_now();
    if (round % 50 == 0) usleep(20000);  // the helper has gone to sleep
    mcap__crch_fill_whole(hp.h, buf.data(), mid);
    if (round % 50 == 0 && mid > 0) {
      EXPECT_TRUE(g.reads_within(0, before + 1)) << "round " << round;
    } else if (rng() % 2) {
      usleep(100);
    }
    ASSERT_EQ(mcap__crch_fill_end(hp.h, total, mid, own), mcap_crc32(0, buf.data(), total))
        << round << " " << total << " " << mid;
  }
}
