// test_codec.cc - chunk codecs (codec*.c): round trips for none/zstd/lz4 at
// several sizes and levels, concatenated frames, truncated and garbage input
// (MCAP_EDECOMPRESS, never a write past the output buffer), wrong declared
// sizes (MCAP_EDECOMPRESS_SIZE), and the public helpers mcap_chunk_decompress
// (unknown compression, CRC), mcap_compression_name/parse.
#include <gtest/gtest.h>

#include <climits>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <lz4frame.h>

#include "mcap/mcap.h"
extern "C" {
#include "alloc.h"
#include "codec.h"
#include "internal.h"
}

namespace {

using Bytes = std::vector<uint8_t>;

const int kCodecs[] = {0, 1, 2};  // none, zstd, lz4
const char *const kNames[] = {"", "zstd", "lz4"};

// Text-like data: words from a small vocabulary with some random bytes, so it
// compresses to roughly a third (neither trivial nor incompressible).
Bytes semi_compressible(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<std::string> words;
  for (int i = 0; i < 300; i++) {
    std::string w;
    size_t len = 2 + rng() % 9;
    for (size_t k = 0; k < len; k++) w.push_back(static_cast<char>('a' + rng() % 26));
    words.push_back(w);
  }
  Bytes out;
  out.reserve(n);
  while (out.size() < n) {
    if (rng() % 10 == 0) {
      out.push_back(static_cast<uint8_t>(rng()));
    } else {
      const std::string &w = words[rng() % words.size()];
      out.insert(out.end(), w.begin(), w.end());
      out.push_back(' ');
    }
  }
  out.resize(n);
  return out;
}

Bytes random_bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  Bytes b(n);
  for (auto &c : b) c = static_cast<uint8_t>(rng());
  return b;
}

struct Ctx {
  mcap_codec_ctx *c = nullptr;
  Ctx() { EXPECT_EQ(mcap__codec_ctx_new(&c), MCAP_OK); }
  ~Ctx() { mcap__codec_ctx_free(c); }
};

Bytes compress(mcap_codec_ctx *c, int codec, const Bytes &src, int level = 0) {
  mcap_buf out = MCAP_BUF_INIT;
  mcap_error_info err{};
  int rc = mcap__codec_compress(c, codec, level, src.data(), src.size(), &out, &err);
  EXPECT_EQ(rc, MCAP_OK) << err.msg;
  Bytes r(out.data, out.data + out.len);
  mcap__buf_dispose(&out);
  return r;
}

// Decompress into a buffer of exactly dst_len bytes followed by a guard zone,
// checking that nothing past dst_len is ever written.
int decompress(mcap_codec_ctx *c, int codec, const Bytes &src, size_t dst_len, Bytes *out,
               mcap_error_info *err, uint64_t offset = 1234) {
  const size_t guard = 4096;
  Bytes buf(dst_len + guard, 0xA5);
  int rc = mcap__codec_decompress(c, codec, src.data(), src.size(), buf.data(), dst_len, offset,
                                  err);
  for (size_t i = dst_len; i < buf.size(); i++) {
    if (buf[i] != 0xA5) {
      ADD_FAILURE() << "codec " << codec << " wrote past the output buffer at +" << i - dst_len;
      break;
    }
  }
  if (out) out->assign(buf.begin(), buf.begin() + static_cast<long>(dst_len));
  return rc;
}

}  // namespace

TEST(Codec, Ids) {
  EXPECT_EQ(mcap__codec_id(mcap_str_c("")), 0);
  EXPECT_EQ(mcap__codec_id(mcap_str{nullptr, 0}), 0);
  EXPECT_EQ(mcap__codec_id(mcap_str_c("zstd")), 1);
  EXPECT_EQ(mcap__codec_id(mcap_str_c("lz4")), 2);
  EXPECT_EQ(mcap__codec_id(mcap_str_c("none")), -1);
  EXPECT_EQ(mcap__codec_id(mcap_str_c("ZSTD")), -1);
  EXPECT_EQ(mcap__codec_id(mcap_str_c("zst")), -1);
  EXPECT_EQ(mcap__codec_id(mcap_str{"zstdx", 5}), -1);
  EXPECT_EQ(mcap__codec_id(mcap_str{"lz4\0", 4}), -1);
}

TEST(Codec, RoundTripSizes) {
  Ctx ctx;
  const size_t sizes[] = {0, 1, 15, 100, 4096, 65535, 65536, 65537, 1 << 20, 10 << 20};
  for (size_t n : sizes) {
    Bytes src = semi_compressible(n, static_cast<uint32_t>(n));
    for (int codec : kCodecs) {
      Bytes z = compress(ctx.c, codec, src);
      if (codec == 0) {
        EXPECT_EQ(z, src);
      } else if (n >= 65536) {
        EXPECT_LT(z.size(), n / 2) << "codec " << codec;
      }
      Bytes back;
      mcap_error_info err{};
      ASSERT_EQ(decompress(ctx.c, codec, z, n, &back, &err), MCAP_OK)
          << "codec " << codec << " size " << n << ": " << err.msg;
      ASSERT_TRUE(back == src) << "codec " << codec << " size " << n;
    }
  }
}

TEST(Codec, RoundTripIncompressibleAndLevels) {
  Ctx ctx;
  Bytes rnd = random_bytes(300000, 11);
  Bytes text = semi_compressible(300000, 12);
  struct Case {
    int codec, level;
  } cases[] = {{1, 0}, {1, 1}, {1, 19}, {1, -5}, {2, 0}, {2, 1}, {2, 9}, {2, -3}};
  for (const Case &k : cases) {
    for (const Bytes *src : {&rnd, &text}) {
      Bytes z = compress(ctx.c, k.codec, *src, k.level);
      Bytes back;
      mcap_error_info err{};
      ASSERT_EQ(decompress(ctx.c, k.codec, z, src->size(), &back, &err), MCAP_OK)
          << k.codec << "/" << k.level << ": " << err.msg;
      EXPECT_TRUE(back == *src) << k.codec << "/" << k.level;
    }
  }
  // Higher zstd levels should not be worse on text.
  EXPECT_LE(compress(ctx.c, 1, text, 19).size(), compress(ctx.c, 1, text, 1).size());
}

TEST(Codec, CompressAppendsToExistingBuffer) {
  Ctx ctx;
  Bytes src = semi_compressible(5000, 13);
  for (int codec : kCodecs) {
    mcap_buf out = MCAP_BUF_INIT;
    ASSERT_EQ(mcap__buf_append(&out, "HDR", 3), MCAP_OK);
    mcap_error_info err{};
    ASSERT_EQ(mcap__codec_compress(ctx.c, codec, 0, src.data(), src.size(), &out, &err), MCAP_OK);
    ASSERT_GT(out.len, 3u);
    EXPECT_EQ(std::memcmp(out.data, "HDR", 3), 0);
    Bytes z(out.data + 3, out.data + out.len);
    Bytes back;
    EXPECT_EQ(decompress(ctx.c, codec, z, src.size(), &back, &err), MCAP_OK) << err.msg;
    EXPECT_TRUE(back == src);
    mcap__buf_dispose(&out);
  }
}

TEST(Codec, CompressRespectsBufferLimit) {
  Ctx ctx;
  Bytes src = random_bytes(10000, 14);
  for (int codec : kCodecs) {
    mcap_buf out = MCAP_BUF_INIT;
    out.max = 1000;
    mcap_error_info err{};
    EXPECT_EQ(mcap__codec_compress(ctx.c, codec, 0, src.data(), src.size(), &out, &err),
              MCAP_ELIMIT);
    EXPECT_NE(std::string(err.msg), "");
    mcap__buf_dispose(&out);
  }
}

TEST(Codec, ConcatenatedFrames) {
  Ctx ctx;
  Bytes a = semi_compressible(70000, 15), b = semi_compressible(1000, 16);
  Bytes whole = a;
  whole.insert(whole.end(), b.begin(), b.end());
  for (int codec : {1, 2}) {
    Bytes z = compress(ctx.c, codec, a);
    Bytes zb = compress(ctx.c, codec, b);
    Bytes ze = compress(ctx.c, codec, Bytes());
    z.insert(z.end(), zb.begin(), zb.end());
    z.insert(z.end(), ze.begin(), ze.end());  // an empty frame at the end too
    Bytes back;
    mcap_error_info err{};
    ASSERT_EQ(decompress(ctx.c, codec, z, whole.size(), &back, &err), MCAP_OK)
        << kNames[codec] << ": " << err.msg;
    EXPECT_TRUE(back == whole) << kNames[codec];
    // Declared size of the first frame only: the second frame is too much.
    EXPECT_EQ(decompress(ctx.c, codec, z, a.size(), nullptr, &err), MCAP_EDECOMPRESS_SIZE)
        << kNames[codec] << ": " << err.msg;
  }
}

TEST(Codec, TruncatedInputFails) {
  Ctx ctx;
  Bytes src = semi_compressible(200000, 17);
  for (int codec : {1, 2}) {
    Bytes z = compress(ctx.c, codec, src);
    std::vector<size_t> cuts = {0, 1, 3, 4, 5, 8, 12, 20, z.size() / 2, z.size() - 5,
                                z.size() - 4, z.size() - 1};
    for (size_t cut : cuts) {
      Bytes t(z.begin(), z.begin() + static_cast<long>(cut));
      mcap_error_info err{};
      int rc = decompress(ctx.c, codec, t, src.size(), nullptr, &err);
      if (cut == 0) {
        // No frame at all: zero bytes, which is the wrong size.
        EXPECT_EQ(rc, MCAP_EDECOMPRESS_SIZE) << kNames[codec];
      } else {
        EXPECT_EQ(rc, MCAP_EDECOMPRESS) << kNames[codec] << " cut " << cut << ": " << err.msg;
      }
      EXPECT_NE(std::string(err.msg), "");
    }
  }
}

TEST(Codec, GarbageInputFails) {
  Ctx ctx;
  std::mt19937 rng(18);
  for (int codec : {1, 2}) {
    for (int i = 0; i < 200; i++) {
      Bytes g = random_bytes(1 + rng() % 3000, static_cast<uint32_t>(rng()));
      if (i % 2) {
        // Right magic, garbage after it.
        static const uint8_t zm[4] = {0x28, 0xB5, 0x2F, 0xFD}, lm[4] = {0x04, 0x22, 0x4D, 0x18};
        std::memcpy(g.data(), codec == 1 ? zm : lm, std::min<size_t>(4, g.size()));
      }
      mcap_error_info err{};
      int rc = decompress(ctx.c, codec, g, 1 + rng() % 100000, nullptr, &err);
      EXPECT_TRUE(rc == MCAP_EDECOMPRESS || rc == MCAP_EDECOMPRESS_SIZE)
          << kNames[codec] << " rc " << rc << " " << err.msg;
    }
    // The context still works after all those failures.
    Bytes src = semi_compressible(50000, 19), back;
    mcap_error_info err{};
    EXPECT_EQ(decompress(ctx.c, codec, compress(ctx.c, codec, src), src.size(), &back, &err),
              MCAP_OK)
        << err.msg;
    EXPECT_TRUE(back == src);
  }
}

TEST(Codec, FlippedBytesNeverCrashOrOverrun) {
  Ctx ctx;
  Bytes src = semi_compressible(100000, 20);
  std::mt19937 rng(21);
  for (int codec : {1, 2}) {
    Bytes z = compress(ctx.c, codec, src);
    for (int i = 0; i < 300; i++) {
      Bytes t = z;
      t[rng() % t.size()] ^= static_cast<uint8_t>(1 + rng() % 255);
      mcap_error_info err{};
      Bytes back;
      int rc = decompress(ctx.c, codec, t, src.size(), &back, &err);
      // A flip may land in a literal and still decode (the chunk CRC catches that).
      EXPECT_TRUE(rc == MCAP_OK || rc == MCAP_EDECOMPRESS || rc == MCAP_EDECOMPRESS_SIZE) << rc;
    }
  }
}

TEST(Codec, DeclaredSizeWrong) {
  Ctx ctx;
  Bytes src = semi_compressible(100000, 22);
  for (int codec : kCodecs) {
    Bytes z = compress(ctx.c, codec, src);
    for (size_t n : {src.size() - 1, src.size() + 1, size_t{0}, src.size() / 2,
                     src.size() * 2}) {
      mcap_error_info err{};
      EXPECT_EQ(decompress(ctx.c, codec, z, n, nullptr, &err), MCAP_EDECOMPRESS_SIZE)
          << kNames[codec] << " declared " << n << ": " << err.msg;
      EXPECT_EQ(err.code, MCAP_EDECOMPRESS_SIZE);
      EXPECT_EQ(err.offset, 1234u);
    }
  }
  // Empty data declared as non-empty and vice versa.
  for (int codec : kCodecs) {
    Bytes z = compress(ctx.c, codec, Bytes());
    mcap_error_info err{};
    EXPECT_EQ(decompress(ctx.c, codec, z, 10, nullptr, &err), MCAP_EDECOMPRESS_SIZE)
        << kNames[codec];
    EXPECT_EQ(decompress(ctx.c, codec, z, 0, nullptr, &err), MCAP_OK) << kNames[codec];
  }
}

TEST(Codec, ErrorMessagesNameOffsetAndCause) {
  Ctx ctx;
  Bytes garbage = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  mcap_error_info err{};
  EXPECT_EQ(decompress(ctx.c, 1, garbage, 100, nullptr, &err, 1234), MCAP_EDECOMPRESS);
  EXPECT_STREQ(err.msg, "chunk at offset 1234: zstd decompression failed: Unknown frame descriptor");
  EXPECT_EQ(err.offset, 1234u);
  EXPECT_EQ(decompress(ctx.c, 2, garbage, 100, nullptr, &err, 99), MCAP_EDECOMPRESS);
  EXPECT_NE(std::string(err.msg).find("chunk at offset 99: lz4 decompression failed"),
            std::string::npos)
      << err.msg;
  EXPECT_EQ(decompress(ctx.c, 0, garbage, 100, nullptr, &err, UINT64_MAX), MCAP_EDECOMPRESS_SIZE);
  EXPECT_EQ(std::string(err.msg).find("chunk at offset"), std::string::npos) << err.msg;
  EXPECT_EQ(decompress(ctx.c, 7, garbage, 100, nullptr, &err, 5), MCAP_ECOMPRESSION);
}

TEST(Codec, BadArguments) {
  Ctx ctx;
  uint8_t dst[4];
  mcap_error_info err{};
  EXPECT_EQ(mcap__codec_decompress(nullptr, 0, dst, 4, dst, 4, 0, &err), MCAP_EINVAL);
  EXPECT_EQ(mcap__codec_decompress(ctx.c, 0, nullptr, 4, dst, 4, 0, &err), MCAP_EINVAL);
  EXPECT_EQ(mcap__codec_decompress(ctx.c, 0, dst, 4, nullptr, 4, 0, &err), MCAP_EINVAL);
  EXPECT_EQ(mcap__codec_decompress(ctx.c, 0, nullptr, 0, nullptr, 0, 0, nullptr), MCAP_OK);
  mcap_buf out = MCAP_BUF_INIT;
  EXPECT_EQ(mcap__codec_compress(ctx.c, 3, 0, dst, 4, &out, &err), MCAP_ECOMPRESSION);
  EXPECT_EQ(mcap__codec_compress(ctx.c, 1, 0, nullptr, 4, &out, &err), MCAP_EINVAL);
  mcap__codec_ctx_free(nullptr);
}

namespace {

mcap_chunk make_chunk(const char *compression, const Bytes &records, uint64_t usize, uint32_t crc) {
  mcap_chunk ck{};
  ck.uncompressed_size = usize;
  ck.uncompressed_crc = crc;
  ck.compression = mcap_str_c(compression);
  ck.records = mcap_bytes{records.data(), records.size()};
  return ck;
}

}  // namespace

TEST(ChunkDecompress, RoundTripWithCrc) {
  Ctx ctx;
  mcap_decompressor *d = nullptr;
  ASSERT_EQ(mcap_decompressor_new(&d), MCAP_OK);
  Bytes src = semi_compressible(123456, 23);
  uint32_t crc = mcap_crc32(0, src.data(), src.size());
  for (int codec : kCodecs) {
    Bytes z = compress(ctx.c, codec, src);
    mcap_chunk ck = make_chunk(kNames[codec], z, src.size(), crc);
    Bytes dst(src.size());
    mcap_error_info err{};
    ASSERT_EQ(mcap_chunk_decompress(d, &ck, dst.data(), dst.size(), 0, &err), MCAP_OK) << err.msg;
    EXPECT_TRUE(dst == src);
    // Without a decompressor: a temporary context is used.
    std::fill(dst.begin(), dst.end(), 0);
    ASSERT_EQ(mcap_chunk_decompress(nullptr, &ck, dst.data(), dst.size(), 0, &err), MCAP_OK);
    EXPECT_TRUE(dst == src);

    // Wrong CRC: MCAP_ECRC, unless checks are off or the stored CRC is 0.
    ck.uncompressed_crc = crc ^ 1;
    ASSERT_EQ(mcap_chunk_decompress(d, &ck, dst.data(), dst.size(), 0, &err), MCAP_ECRC);
    char want[128];
    std::snprintf(want, sizeof want, "CRC mismatch: stored 0x%08x, computed 0x%08x", crc ^ 1, crc);
    EXPECT_STREQ(err.msg, want);
    EXPECT_EQ(err.code, MCAP_ECRC);
    EXPECT_EQ(err.offset, UINT64_MAX);
    EXPECT_EQ(mcap_chunk_decompress(d, &ck, dst.data(), dst.size(), 1, &err), MCAP_OK);
    ck.uncompressed_crc = 0;
    EXPECT_EQ(mcap_chunk_decompress(d, &ck, dst.data(), dst.size(), 0, &err), MCAP_OK);
  }
  mcap_decompressor_free(d);
  mcap_decompressor_free(nullptr);
}

TEST(ChunkDecompress, UnknownCompression) {
  Bytes rec = {1, 2, 3};
  Bytes dst(3);
  mcap_error_info err{};
  for (const char *name : {"xyz", "none", "ZSTD", "gzip"}) {
    mcap_chunk ck = make_chunk(name, rec, 3, 0);
    EXPECT_EQ(mcap_chunk_decompress(nullptr, &ck, dst.data(), 3, 0, &err), MCAP_ECOMPRESSION);
    EXPECT_EQ(std::string(err.msg), "unsupported compression '" + std::string(name) + "'");
  }
  // Unprintable and very long names are shown safely.
  std::string odd = std::string("a\nb\x01") + std::string(200, 'z');
  mcap_chunk ck = make_chunk("", rec, 3, 0);
  ck.compression = mcap_str{odd.data(), static_cast<uint32_t>(odd.size())};
  EXPECT_EQ(mcap_chunk_decompress(nullptr, &ck, dst.data(), 3, 0, &err), MCAP_ECOMPRESSION);
  EXPECT_EQ(std::string(err.msg).find('\n'), std::string::npos);
  EXPECT_LT(std::strlen(err.msg), 120u);
}

TEST(ChunkDecompress, SizeChecks) {
  Bytes rec = {1, 2, 3};
  Bytes dst(8);
  mcap_error_info err{};
  mcap_chunk ck = make_chunk("", rec, 3, 0);
  EXPECT_EQ(mcap_chunk_decompress(nullptr, &ck, dst.data(), 4, 0, &err), MCAP_EINVAL);
  ck.uncompressed_size = 4;
  EXPECT_EQ(mcap_chunk_decompress(nullptr, &ck, dst.data(), 4, 0, &err), MCAP_EDECOMPRESS_SIZE);
  EXPECT_EQ(mcap_chunk_decompress(nullptr, nullptr, dst.data(), 4, 0, &err), MCAP_EINVAL);
}

TEST(Compression, NamesAndParse) {
  EXPECT_STREQ(mcap_compression_name(MCAP_COMPRESSION_DEFAULT), "zstd");
  EXPECT_STREQ(mcap_compression_name(MCAP_COMPRESSION_NONE), "");
  EXPECT_STREQ(mcap_compression_name(MCAP_COMPRESSION_ZSTD), "zstd");
  EXPECT_STREQ(mcap_compression_name(MCAP_COMPRESSION_LZ4), "lz4");
  EXPECT_EQ(mcap_compression_name(static_cast<mcap_compression>(42)), nullptr);
  mcap_compression c = MCAP_COMPRESSION_DEFAULT;
  EXPECT_EQ(mcap_compression_parse("none", &c), MCAP_OK);
  EXPECT_EQ(c, MCAP_COMPRESSION_NONE);
  c = MCAP_COMPRESSION_DEFAULT;
  EXPECT_EQ(mcap_compression_parse("", &c), MCAP_OK);
  EXPECT_EQ(c, MCAP_COMPRESSION_NONE);
  EXPECT_EQ(mcap_compression_parse("zstd", &c), MCAP_OK);
  EXPECT_EQ(c, MCAP_COMPRESSION_ZSTD);
  EXPECT_EQ(mcap_compression_parse("lz4", &c), MCAP_OK);
  EXPECT_EQ(c, MCAP_COMPRESSION_LZ4);
  EXPECT_EQ(mcap_compression_parse("brotli", &c), MCAP_EINVAL);
  EXPECT_EQ(c, MCAP_COMPRESSION_LZ4);  // unchanged on failure
  EXPECT_EQ(mcap_compression_parse(nullptr, &c), MCAP_EINVAL);
  EXPECT_EQ(mcap_compression_parse("zstd", nullptr), MCAP_EINVAL);
  // Every name round-trips through the codec ids.
  for (auto comp : {MCAP_COMPRESSION_NONE, MCAP_COMPRESSION_ZSTD, MCAP_COMPRESSION_LZ4}) {
    EXPECT_GE(mcap__codec_id(mcap_str_c(mcap_compression_name(comp))), 0);
  }
}

TEST(Codec, AllocationFailures) {
  mcap_codec_ctx *c = nullptr;
  mcap__set_alloc_fail_after(0);
  EXPECT_EQ(mcap__codec_ctx_new(&c), MCAP_ENOMEM);
  mcap_decompressor *d = nullptr;
  EXPECT_EQ(mcap_decompressor_new(&d), MCAP_ENOMEM);
  mcap__set_alloc_fail_after(-1);

  Ctx ctx;
  Bytes src = semi_compressible(10000, 24);
  for (int codec : kCodecs) {
    mcap_buf out = MCAP_BUF_INIT;
    mcap_error_info err{};
    mcap__set_alloc_fail_after(0);
    int rc = mcap__codec_compress(ctx.c, codec, 0, src.data(), src.size(), &out, &err);
    mcap__set_alloc_fail_after(-1);
    EXPECT_EQ(rc, MCAP_ENOMEM) << kNames[codec];
    EXPECT_EQ(out.len, 0u);
    mcap__buf_dispose(&out);
  }
  EXPECT_EQ(mcap__alloc_calls(), 0);
}

// The lz4 decoder hands LZ4F its input in pieces cut at block boundaries it finds by
// walking the frame (codec_lz4.c): every frame layout must still decode exactly, including
// checksums, independent and uncompressed blocks, a dictionary ID and content size in the
// header, every block size, and skippable frames between real ones.
TEST(Codec, Lz4FramesOfEveryLayout) {
  Ctx ctx;
  Bytes part1 = semi_compressible(300000, 21), noise = random_bytes(150000, 22);
  Bytes src = part1;
  src.insert(src.end(), noise.begin(), noise.end());  // stored (uncompressed) blocks
  Bytes tail = semi_compressible(200000, 23);
  src.insert(src.end(), tail.begin(), tail.end());
  const LZ4F_blockSizeID_t sizes[] = {LZ4F_max64KB, LZ4F_max256KB, LZ4F_max1MB, LZ4F_max4MB};
  int layouts = 0;
  for (LZ4F_blockSizeID_t bs : sizes) {
    for (int independent = 0; independent < 2; independent++) {
      for (int flags = 0; flags < 8; flags++) {  // content checksum, block checksum, size+dictID
        LZ4F_preferences_t p;
        memset(&p, 0, sizeof p);
        p.frameInfo.blockSizeID = bs;
        p.frameInfo.blockMode = independent ? LZ4F_blockIndependent : LZ4F_blockLinked;
        p.frameInfo.contentChecksumFlag = (flags & 1) ? LZ4F_contentChecksumEnabled
                                                      : LZ4F_noContentChecksum;
        p.frameInfo.blockChecksumFlag = (flags & 2) ? LZ4F_blockChecksumEnabled
                                                    : LZ4F_noBlockChecksum;
        if (flags & 4) {
          p.frameInfo.contentSize = src.size();
          p.frameInfo.dictID = 7;
        }
        Bytes z(LZ4F_compressFrameBound(src.size(), &p));
        size_t n = LZ4F_compressFrame(z.data(), z.size(), src.data(), src.size(), &p);
        ASSERT_FALSE(LZ4F_isError(n)) << LZ4F_getErrorName(n);
        z.resize(n);
        // A skippable frame, then the same frame again.
        const uint8_t skip[] = {0x5A, 0x2A, 0x4D, 0x18, 3, 0, 0, 0, 'a', 'b', 'c'};
        Bytes two = z;
        two.insert(two.end(), skip, skip + sizeof skip);
        two.insert(two.end(), z.begin(), z.end());
        Bytes want = src;
        want.insert(want.end(), src.begin(), src.end());
        Bytes back;
        mcap_error_info err{};
        ASSERT_EQ(decompress(ctx.c, 2, two, want.size(), &back, &err), MCAP_OK)
            << "block size " << bs << " independent " << independent << " flags " << flags
            << ": " << err.msg;
        ASSERT_TRUE(back == want) << "block size " << bs << " flags " << flags;
        // A checksum-protected frame with a flipped byte in a later block is still caught.
        if (flags & 3) {
          Bytes bad = z;
          bad[bad.size() * 3 / 4] ^= 0x10;
          EXPECT_EQ(decompress(ctx.c, 2, bad, src.size(), nullptr, &err), MCAP_EDECOMPRESS)
              << "flags " << flags;
        }
        layouts++;
      }
    }
  }
  EXPECT_EQ(layouts, 64);
}

// Regression: a chunk whose lz4 frame declares its content size and fails to decode
// left that size in the reused decoder, and the next chunk (a frame without a declared
// size, as other writers make them) then failed with "frameSize_wrong".
TEST(Codec, Lz4DecoderRecoversAfterAFailedFrameWithContentSize) {
  Ctx ctx;
  Bytes src = semi_compressible(200000, 31);
  LZ4F_preferences_t sized;
  memset(&sized, 0, sizeof sized);
  sized.frameInfo.contentSize = src.size();
  sized.frameInfo.blockChecksumFlag = LZ4F_blockChecksumEnabled;
  Bytes bad(LZ4F_compressFrameBound(src.size(), &sized));
  bad.resize(LZ4F_compressFrame(bad.data(), bad.size(), src.data(), src.size(), &sized));
  bad[bad.size() / 2] ^= 0x10;
  LZ4F_preferences_t plain;
  memset(&plain, 0, sizeof plain);
  Bytes good(LZ4F_compressFrameBound(src.size(), &plain));
  good.resize(LZ4F_compressFrame(good.data(), good.size(), src.data(), src.size(), &plain));
  mcap_error_info err{};
  ASSERT_EQ(decompress(ctx.c, 2, bad, src.size(), nullptr, &err), MCAP_EDECOMPRESS) << err.msg;
  Bytes back;
  ASSERT_EQ(decompress(ctx.c, 2, good, src.size(), &back, &err), MCAP_OK) << err.msg;
  EXPECT_TRUE(back == src);
}

// ---- progress reports and the CRC helper (codec.h: mcap_codec_ctx.progress)

namespace {

struct Progress {
  const uint8_t *dst = nullptr;
  const Bytes *want = nullptr;
  std::vector<size_t> reports;
  bool final_bytes_ok = true;
};

void on_progress(void *arg, size_t done) {
  auto *p = static_cast<Progress *>(arg);
  p->reports.push_back(done);
  // What is reported done must already be the final output.
  if (done > p->want->size() || memcmp(p->dst, p->want->data(), done) != 0) {
    p->final_bytes_ok = false;
  }
}

// Skippable frame (zstd magic 0x184D2A50 + length + payload; lz4 uses the same one).
Bytes skippable(size_t n) {
  Bytes s = {0x50, 0x2a, 0x4d, 0x18, (uint8_t)n, (uint8_t)(n >> 8), 0, 0};
  s.insert(s.end(), n, 0xab);
  return s;
}

}  // namespace

TEST(Codec, ProgressIsReportedInOrderUpToTheEnd) {
  Ctx ctx;
  Bytes a = semi_compressible(700000, 31), b = semi_compressible(333333, 32);
  Bytes whole = a;
  whole.insert(whole.end(), b.begin(), b.end());
  for (int codec : {0, 2}) {  // zstd decodes in one shot and reports nothing (codec.h)
    SCOPED_TRACE(kNames[codec]);
    Bytes z;
    if (codec == 0) {
      z = whole;
    } else {
      z = compress(ctx.c, codec, a);
      Bytes sk = skippable(300), zb = compress(ctx.c, codec, b);
      z.insert(z.end(), sk.begin(), sk.end());
      z.insert(z.end(), zb.begin(), zb.end());
    }
    Bytes dst(whole.size());
    Progress p;
    p.dst = dst.data();
    p.want = &whole;
    ctx.c->progress = on_progress;
    ctx.c->progress_arg = &p;
    mcap_error_info err{};
    int rc = mcap__codec_decompress(ctx.c, codec, z.data(), z.size(), dst.data(), dst.size(), 0,
                                    &err);
    ctx.c->progress = nullptr;
    ctx.c->progress_arg = nullptr;
    ASSERT_EQ(rc, MCAP_OK) << err.msg;
    EXPECT_TRUE(dst == whole);
    ASSERT_GE(p.reports.size(), 4u);  // pieces, not one report at the end
    for (size_t i = 1; i < p.reports.size(); i++) ASSERT_GT(p.reports[i], p.reports[i - 1]);
    EXPECT_EQ(p.reports.back(), whole.size());
    EXPECT_TRUE(p.final_bytes_ok);
  }
}

TEST(Codec, ChunkCrcCheckedByHelperThread) {
  mcap__crch *h = nullptr;
  ASSERT_EQ(mcap__crch_new(&h), MCAP_OK);
  mcap_decompressor *d = nullptr;
  ASSERT_EQ(mcap_decompressor_new(&d), MCAP_OK);
  Ctx ctx;
  for (size_t size : {size_t(1000), size_t(70000), size_t(1) << 20, (size_t(4) << 20) + 3}) {
    Bytes src = semi_compressible(size, (uint32_t)size);
    uint32_t crc = mcap_crc32(0, src.data(), src.size());
    for (int codec : kCodecs) {
      SCOPED_TRACE(std::string(kNames[codec]) + " " + std::to_string(size));
      Bytes z = codec == 0 ? src : compress(ctx.c, codec, src);
      mcap_chunk ck;
      memset(&ck, 0, sizeof ck);
      ck.uncompressed_size = src.size();
      ck.compression = mcap_str_c(kNames[codec]);
      ck.records = {z.data(), z.size()};
      Bytes dst(src.size());
      mcap_error_info err{};
      for (uint32_t stored : {crc, crc ^ 0x10u}) {
        ck.uncompressed_crc = stored;
        int want = stored == crc ? MCAP_OK : MCAP_ECRC;
        EXPECT_EQ(mcap__chunk_decompress_crch(d, &ck, dst.data(), dst.size(), 0, h, &err), want)
            << err.msg;
        EXPECT_EQ(mcap__chunk_decompress_crch(d, &ck, dst.data(), dst.size(), 1, h, &err),
                  MCAP_OK);  // no_crc
        if (codec == 0) {  // in place: split between the two threads
          EXPECT_EQ(mcap__chunk_crc_check_crch(&ck, z.data(), 0, h, &err), want);
        }
        if (want == MCAP_ECRC) {
          EXPECT_NE(std::string(err.msg).find("CRC mismatch"), std::string::npos) << err.msg;
        }
      }
      // A decoding error half way: the helper's fill is given up, and it works on.
      if (codec != 0 && z.size() > 1000) {
        Bytes bad = z;
        for (size_t i = bad.size() / 2; i < bad.size(); i++) bad[i] ^= 0x5a;
        ck.records = {bad.data(), bad.size()};
        ck.uncompressed_crc = crc;
        EXPECT_NE(mcap__chunk_decompress_crch(d, &ck, dst.data(), dst.size(), 0, h, &err),
                  MCAP_OK);
        ck.records = {z.data(), z.size()};
        EXPECT_EQ(mcap__chunk_decompress_crch(d, &ck, dst.data(), dst.size(), 0, h, &err),
                  MCAP_OK)
            << err.msg;
        EXPECT_TRUE(dst == src);
      }
    }
  }
  mcap_decompressor_free(d);
  mcap__crch_free(h);
}

// The one bound every reader puts on a chunk's declared size before allocating for it:
// at most 2^17 uncompressed bytes per compressed byte, and a chunk with no compressed bytes
// (which three readers used to let through unchecked) can claim at most 128 KiB.
TEST(Codec, ChunkSizePossibleBoundsTheClaim) {
  mcap_chunk ck;
  memset(&ck, 0, sizeof ck);
  EXPECT_EQ(mcap_chunk_size_possible(nullptr), 0);
  ck.uncompressed_size = 64;
  EXPECT_EQ(mcap_chunk_size_possible(&ck), 1);
  ck.uncompressed_size = 131071;
  EXPECT_EQ(mcap_chunk_size_possible(&ck), 1);
  ck.uncompressed_size = 131072;
  EXPECT_EQ(mcap_chunk_size_possible(&ck), 0);
  ck.uncompressed_size = UINT64_C(1) << 32;
  EXPECT_EQ(mcap_chunk_size_possible(&ck), 0);
  ck.uncompressed_size = UINT64_C(1) << 30;
  ck.records.len = 8192;
  EXPECT_EQ(mcap_chunk_size_possible(&ck), 1);
  ck.records.len = 8191;
  EXPECT_EQ(mcap_chunk_size_possible(&ck), 0);
}

// The checks with the one message every reader gives (the streamed and indexed readers, the
// scan, info and du all wrote their own words for it before).
TEST(Codec, ChunkSizeCheckNamesTheRecordAndTheReason) {
  mcap_chunk ck;
  memset(&ck, 0, sizeof ck);
  mcap_error_info e;
  memset(&e, 0, sizeof e);
  ck.uncompressed_size = UINT64_C(1) << 30;
  ck.records.len = 8192;
  EXPECT_EQ(mcap_chunk_size_check(&ck, 77, UINT64_C(1) << 32, &e), MCAP_OK);
  EXPECT_EQ(mcap_chunk_size_check(&ck, 77, UINT64_C(1) << 29, &e), MCAP_ELIMIT);
  EXPECT_STREQ(e.msg,
               "Chunk record at offset 77: uncompressed size 1073741824 exceeds the limit "
               "536870912");
  EXPECT_EQ(e.offset, 77u);
  ck.records.len = 8191;
  EXPECT_EQ(mcap_chunk_size_check(&ck, 78, UINT64_MAX, &e), MCAP_ERECORD);
  EXPECT_STREQ(e.msg,
               "Chunk record at offset 78: uncompressed size 1073741824 is impossible for 8191 "
               "compressed bytes");
  EXPECT_EQ(mcap_chunk_size_check(&ck, 78, UINT64_MAX, nullptr), MCAP_ERECORD);
  EXPECT_EQ(mcap_chunk_size_check(nullptr, 0, 0, &e), MCAP_EINVAL);
}
