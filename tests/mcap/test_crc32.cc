// test_crc32.cc - mcap_crc32 and its implementations (crc32.c): known
// zlib vectors, every length 0..1024 at every alignment mod 16 against a
// bitwise reference, random lengths/offsets across the folding thresholds,
// and the continuation property f(f(0,a),b) == f(0,a||b).
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "crc32.h"
#include "mcap/mcap.h"

namespace {

// CRC-32/ISO-HDLC one bit at a time: the definition, independent of the tables.
uint32_t crc_bitwise(uint32_t crc, const uint8_t *p, size_t n) {
  crc = ~crc;
  for (size_t i = 0; i < n; i++) {
    crc ^= p[i];
    for (int k = 0; k < 8; k++) crc = (crc >> 1) ^ ((crc & 1) ? 0xEDB88320u : 0);
  }
  return ~crc;
}

// Deterministic bytes (LCG); the expected CRCs below were computed with zlib.crc32.
std::vector<uint8_t> lcg_bytes(size_t n) {
  std::vector<uint8_t> b(n);
  uint32_t x = 0x9E3779B9u;
  for (size_t i = 0; i < n; i++) {
    x = x * 1103515245u + 12345u;
    b[i] = static_cast<uint8_t>(x >> 16);
  }
  return b;
}

std::vector<uint8_t> random_bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> b(n);
  for (auto &c : b) c = static_cast<uint8_t>(rng());
  return b;
}

uint32_t crc_str(uint32_t (*f)(uint32_t, const void *, size_t), const char *s) {
  return f(0, s, std::strlen(s));
}

}  // namespace

TEST(Crc32, KnownVectors) {
  for (auto f : {mcap_crc32, mcap__crc32_fast, mcap__crc32_pclmul, mcap__crc32_vpclmul256, mcap__crc32_table}) {
    EXPECT_EQ(crc_str(f, "123456789"), 0xCBF43926u);
    EXPECT_EQ(crc_str(f, ""), 0u);
    EXPECT_EQ(crc_str(f, "a"), 0xE8B7BE43u);
    EXPECT_EQ(crc_str(f, "The quick brown fox jumps over the lazy dog"), 0x414FA339u);
    EXPECT_EQ(f(0, nullptr, 0), 0u);
    EXPECT_EQ(f(0x12345678u, nullptr, 0), 0x12345678u);  // empty input: crc unchanged
    std::vector<uint8_t> zeros(32, 0), ones(64, 0xff);
    EXPECT_EQ(f(0, zeros.data(), zeros.size()), 0x190A55ADu);
    EXPECT_EQ(f(0, ones.data(), ones.size()), 0x0F6187BAu);
  }
}

TEST(Crc32, LongBuffersMatchZlib) {
  // Values from Python's zlib.crc32 over the same LCG bytes.
  std::vector<uint8_t> d = lcg_bytes(1 << 20);
  for (auto f : {mcap_crc32, mcap__crc32_fast, mcap__crc32_pclmul, mcap__crc32_vpclmul256, mcap__crc32_table}) {
    EXPECT_EQ(f(0, d.data(), d.size()), 0xFCC6A706u);
    EXPECT_EQ(f(0, d.data(), 100003), 0x4D712FC3u);
    EXPECT_EQ(f(0, d.data() + 7, 65536), 0x22505D57u);
  }
}

TEST(Crc32, ImplementationIsNamed) {
  const char *impl = mcap__crc32_impl();
  ASSERT_NE(impl, nullptr);
  EXPECT_TRUE(std::strcmp(impl, "vpclmul-avx512") == 0 ||
              std::strcmp(impl, "vpclmul-avx2") == 0 || std::strcmp(impl, "pclmul") == 0 ||
              std::strcmp(impl, "slicing-by-16") == 0)
      << impl;
  RecordProperty("crc32_impl", impl);
}

TEST(Crc32, EveryLengthAndAlignmentMatchesReference) {
  std::vector<uint8_t> buf = random_bytes(1024 + 64, 1);
  for (size_t align = 0; align < 16; align++) {
    for (size_t len = 0; len <= 1024; len++) {
      const uint8_t *p = buf.data() + align;
      uint32_t init = static_cast<uint32_t>(len * 0x9E3779B1u);  // also vary the start value
      uint32_t want = crc_bitwise(init, p, len);
      ASSERT_EQ(mcap__crc32_table(init, p, len), want) << "len " << len << " align " << align;
      ASSERT_EQ(mcap__crc32_fast(init, p, len), want) << "len " << len << " align " << align;
      ASSERT_EQ(mcap__crc32_pclmul(init, p, len), want) << "len " << len << " align " << align;
      ASSERT_EQ(mcap__crc32_vpclmul256(init, p, len), want) << "len " << len << " align " << align;
      ASSERT_EQ(mcap_crc32(init, p, len), want) << "len " << len << " align " << align;
    }
  }
}

TEST(Crc32, WideFoldingEveryLengthTo4KiB) {
  // The 512-bit version starts at 512 bytes and steps 256 at a time, then 64, then
  // 16: every length up to past the prefetch distance, at several alignments,
  // against the table version (itself checked bitwise above and below).
  std::vector<uint8_t> buf = random_bytes(4600 + 64, 8);
  for (size_t align : {0, 1, 7, 16, 33, 63}) {
    for (size_t len = 0; len <= 4600; len++) {
      const uint8_t *p = buf.data() + align;
      uint32_t init = static_cast<uint32_t>(len * 0x85EBCA6Bu);
      uint32_t want = mcap__crc32_table(init, p, len);
      ASSERT_EQ(mcap__crc32_fast(init, p, len), want) << "len " << len << " align " << align;
      ASSERT_EQ(mcap__crc32_pclmul(init, p, len), want) << "len " << len << " align " << align;
      ASSERT_EQ(mcap__crc32_vpclmul256(init, p, len), want) << "len " << len << " align " << align;
    }
  }
}

TEST(Crc32, RandomOffsetsAndLengthsAgree) {
  // Lengths around the fold thresholds (64, 128, 256) and the prefetch distance (4 KiB),
  // and long ones, from random offsets.
  std::vector<uint8_t> buf = random_bytes(300000, 2);
  std::mt19937 rng(3);
  for (int i = 0; i < 400; i++) {
    size_t len;
    switch (i % 4) {
      case 0: len = rng() % 300; break;
      case 1: len = 4096 + rng() % 512; break;
      case 2: len = rng() % 20000; break;
      default: len = rng() % 290000; break;
    }
    size_t off = rng() % (buf.size() - len + 1);
    uint32_t init = static_cast<uint32_t>(rng());
    const uint8_t *p = buf.data() + off;
    uint32_t want = mcap__crc32_table(init, p, len);
    ASSERT_EQ(mcap__crc32_fast(init, p, len), want) << "len " << len << " off " << off;
    ASSERT_EQ(mcap__crc32_pclmul(init, p, len), want) << "len " << len << " off " << off;
    ASSERT_EQ(mcap__crc32_vpclmul256(init, p, len), want) << "len " << len << " off " << off;
    if (len < 5000) {
      ASSERT_EQ(crc_bitwise(init, p, len), want) << "len " << len << " off " << off;
    }
  }
}

TEST(Crc32, TablesMatchReferenceOnLongInput) {
  std::vector<uint8_t> buf = random_bytes(100000, 4);
  EXPECT_EQ(mcap__crc32_table(0, buf.data(), buf.size()), crc_bitwise(0, buf.data(), buf.size()));
}

TEST(Crc32, ContinuationEqualsWhole) {
  std::vector<uint8_t> buf = random_bytes(3000, 5);
  uint32_t whole = mcap_crc32(0, buf.data(), buf.size());
  for (size_t split = 0; split <= buf.size(); split++) {
    uint32_t a = mcap_crc32(0, buf.data(), split);
    ASSERT_EQ(mcap_crc32(a, buf.data() + split, buf.size() - split), whole) << split;
    uint32_t t = mcap__crc32_table(0, buf.data(), split);
    ASSERT_EQ(mcap__crc32_fast(t, buf.data() + split, buf.size() - split), whole) << split;
  }
  // Many small pieces.
  uint32_t c = 0;
  std::mt19937 rng(6);
  for (size_t pos = 0; pos < buf.size();) {
    size_t n = std::min<size_t>(rng() % 200, buf.size() - pos);
    c = mcap_crc32(c, buf.data() + pos, n);
    pos += n;
  }
  EXPECT_EQ(c, whole);
}

TEST(Crc32, CombineEqualsWhole) {
  std::vector<uint8_t> buf = random_bytes(5000, 8);
  uint32_t whole = mcap_crc32(0, buf.data(), buf.size());
  for (size_t split = 0; split <= buf.size(); split += 7) {
    uint32_t a = mcap_crc32(0, buf.data(), split);
    uint32_t b = mcap_crc32(0, buf.data() + split, buf.size() - split);
    ASSERT_EQ(mcap__crc32_combine(a, b, buf.size() - split), whole) << split;
  }
  // Three pieces, combined left to right and right to left.
  uint32_t a = mcap_crc32(0, buf.data(), 1000), b = mcap_crc32(0, buf.data() + 1000, 3000);
  uint32_t c = mcap_crc32(0, buf.data() + 4000, 1000);
  EXPECT_EQ(mcap__crc32_combine(mcap__crc32_combine(a, b, 3000), c, 1000), whole);
  EXPECT_EQ(mcap__crc32_combine(a, mcap__crc32_combine(b, c, 1000), 4000), whole);
}

TEST(Crc32, CombineLongLengths) {
  // Runs of zero bytes: combine agrees with running the CRC over them, up to 64 MiB.
  std::vector<uint8_t> zeros(64 << 20, 0);
  uint32_t a = 0x12345678u;
  for (size_t len : {size_t(1), size_t(3), size_t(4096), size_t(1) << 20, (size_t(1) << 20) + 77,
                     size_t(64) << 20}) {
    uint32_t b = mcap_crc32(0, zeros.data(), len);
    EXPECT_EQ(mcap__crc32_combine(a, b, len), mcap_crc32(a, zeros.data(), len)) << len;
  }
  // Past 512 MiB the power table wraps: moving over 2L bytes must equal moving over L
  // twice, for every power of two up to 2^40 (z(L) = CRC of L zero bytes, by combine).
  uint32_t z = mcap_crc32(0, zeros.data(), 1);
  for (int k = 0; k < 40; k++) {
    uint64_t len = uint64_t(1) << k;
    uint32_t z2 = mcap__crc32_combine(z, z, len);
    ASSERT_EQ(mcap__crc32_combine(a, z2, 2 * len),
              mcap__crc32_combine(mcap__crc32_combine(a, z, len), z, len))
        << k;
    z = z2;
  }
}

TEST(Crc32, LargeBufferFastEqualsTable) {
  std::vector<uint8_t> buf = random_bytes(8 << 20, 7);
  EXPECT_EQ(mcap__crc32_fast(0, buf.data(), buf.size()),
            mcap__crc32_table(0, buf.data(), buf.size()));
  EXPECT_EQ(mcap__crc32_fast(0xdeadbeefu, buf.data() + 3, buf.size() - 5),
            mcap__crc32_table(0xdeadbeefu, buf.data() + 3, buf.size() - 5));
  EXPECT_EQ(mcap__crc32_pclmul(0xdeadbeefu, buf.data() + 3, buf.size() - 5),
            mcap__crc32_table(0xdeadbeefu, buf.data() + 3, buf.size() - 5));
  EXPECT_EQ(mcap__crc32_vpclmul256(0xdeadbeefu, buf.data() + 3, buf.size() - 5),
            mcap__crc32_table(0xdeadbeefu, buf.data() + 3, buf.size() - 5));
}
