/*
 * crc32.c - CRC-32/ISO-HDLC (zlib's crc32()) for libmcap: a portable
 * slicing-by-16 table version, and on x86 carry-less multiplication folding
 * on 128-bit (PCLMULQDQ), 256-bit (AVX2 VPCLMULQDQ) or 512-bit (AVX-512
 * VPCLMULQDQ) registers, chosen at run time; and mcap__crc32_combine, the CRC
 * of two pieces from their CRCs (so that two threads can share one CRC).
 *
 * Notation for the folding version. Data is "reflected": bit 0 of byte 0 is
 * the highest-degree coefficient. A 64-bit lane L stands for the polynomial
 * with bit j <-> x^(63-j); a 128-bit register holds lanes lo, hi and stands for
 * lo*x^64 + hi. The carry-less product of two lanes A, B is a register standing
 * for A*B*x (reflection costs one bit). A folding constant for exponent e is
 *
 *   K(e) = bit-reflect32(x^e mod P) << 1,  so clmul(L, K(e)) == L * x^(e+32) (mod P).
 *
 * Moving a 128-bit block X = XH*x^64 + XL forward over T bits needs
 * X*x^T = XH*x^(T+64) + XL*x^T, i.e. lo * K(T+32) ^ hi * K(T-32). The constants
 * below were computed that way (and the whole algorithm simulated against
 * zlib) with a short Python script; tests/mcap/test_crc32.cc checks the C code
 * against a bitwise reference for every length 0..1024 and many alignments.
 */
#include "crc32.h"

#include <stdatomic.h>

#include "crc32_table.h"
#include "endian.h"
#include "mcap/mcap.h"

/* ------------------------------------------------------------ table version */

#if defined(__GNUC__) || defined(__clang__)
#define PREFETCH(p) __builtin_prefetch(p)
#else
#define PREFETCH(p) ((void)0)
#endif

/* Bytes ahead of the table loop to prefetch: the hardware prefetcher alone
 * leaves it at half speed on data that is not in the cache. */
#define TABLE_PREFETCH_DISTANCE 2048

/* Raw (not inverted) CRC register over len bytes, 16 bytes per step. */
static uint32_t crc32_table_raw(uint32_t c, const uint8_t *p, size_t len) {
  const uint32_t(*t)[256] = mcap_crc32_tab;
  while (len >= 16) {
    if (len >= TABLE_PREFETCH_DISTANCE + 16) PREFETCH(p + TABLE_PREFETCH_DISTANCE);
    uint32_t w0 = mcap__le32dec(p) ^ c;
    uint32_t w1 = mcap__le32dec(p + 4);
    uint32_t w2 = mcap__le32dec(p + 8);
    uint32_t w3 = mcap__le32dec(p + 12);
    /* byte b of the block is followed by 15 - b bytes: table 15 - b */
    c = t[15][w0 & 0xff] ^ t[14][(w0 >> 8) & 0xff] ^ t[13][(w0 >> 16) & 0xff] ^ t[12][w0 >> 24] ^
        t[11][w1 & 0xff] ^ t[10][(w1 >> 8) & 0xff] ^ t[9][(w1 >> 16) & 0xff] ^ t[8][w1 >> 24] ^
        t[7][w2 & 0xff] ^ t[6][(w2 >> 8) & 0xff] ^ t[5][(w2 >> 16) & 0xff] ^ t[4][w2 >> 24] ^
        t[3][w3 & 0xff] ^ t[2][(w3 >> 8) & 0xff] ^ t[1][(w3 >> 16) & 0xff] ^ t[0][w3 >> 24];
    p += 16;
    len -= 16;
  }
  while (len > 0) {
    c = (c >> 8) ^ t[0][(c ^ *p) & 0xff];
    p++;
    len--;
  }
  return c;
}

uint32_t mcap__crc32_table(uint32_t crc, const void *data, size_t len) {
  if (len == 0) return crc;
  return ~crc32_table_raw(~crc, (const uint8_t *)data, len);
}

/* ---------------------------------------------------------- folding version */

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define MCAP_CRC32_HAVE_CLMUL 1
#include <cpuid.h>
#include <immintrin.h>

#define CLMUL_TARGET __attribute__((target("pclmul,sse4.1")))

/* K(T+32) in the low lane, K(T-32) in the high lane, for T = 1024, 512, 128. */
#define K_1056 0x1e88ef372ULL
#define K_992 0x14a7fe880ULL
#define K_544 0x154442bd4ULL
#define K_480 0x1c6e41596ULL
#define K_160 0x1751997d0ULL
#define K_96 0x0ccaa009eULL
#define K_64 0x163cd6124ULL
/* Barrett reduction: bit-reflect33(floor(x^64 / P)) and bit-reflect33(P). */
#define BARRETT_MU 0x1f7011641ULL
#define BARRETT_P 0x1db710641ULL

/* Bytes ahead of the fold loop to prefetch (two cache lines per 128 bytes). */
#define CLMUL_PREFETCH_DISTANCE 4096

/* x moved forward over T bits (k holds K(T+32), K(T-32)). */
CLMUL_TARGET static inline __m128i fold(__m128i x, __m128i k) {
  return _mm_xor_si128(_mm_clmulepi64_si128(x, k, 0x00), _mm_clmulepi64_si128(x, k, 0x11));
}

CLMUL_TARGET static inline __m128i load(const uint8_t *p) {
  return _mm_loadu_si128((const __m128i *)(const void *)p);
}

/*
 * The common end: four lanes standing for consecutive 16-byte blocks (x0 first)
 * are folded into one, the whole 16-byte blocks left in p[0..len) are added,
 * and the register is reduced to the CRC. *done grows by the blocks consumed.
 */
CLMUL_TARGET static inline uint32_t fold4_finish(__m128i x0, __m128i x1, __m128i x2, __m128i x3,
                                                  const uint8_t *p, size_t len, size_t *done) {
  const uint8_t *start = p;
  const __m128i k128 = _mm_set_epi64x((long long)K_96, (long long)K_160);
  /* Four lanes to one, then the remaining whole 16-byte blocks. */
  x0 = _mm_xor_si128(fold(x0, k128), x1);
  x0 = _mm_xor_si128(fold(x0, k128), x2);
  x0 = _mm_xor_si128(fold(x0, k128), x3);
  while (len >= 16) {
    x0 = _mm_xor_si128(fold(x0, k128), load(p));
    p += 16;
    len -= 16;
  }
  *done += (size_t)(p - start);

  /*
   * Reduce the 128-bit R to R*x^32 mod P. First 128 -> 96 bits: lo*K(96) plus
   * hi moved into the low lane gives R*x^64 == W*x^32 with W (96 bits) in the
   * low 96 bits of the register. Then 96 -> 64: W's top 32 bits times K(64)
   * plus the rest shifted down gives U*x^64, U == W (mod P), in the low lane.
   */
  const __m128i mask32 = _mm_set_epi32(0, 0, 0, -1);
  const __m128i barrett = _mm_set_epi64x((long long)BARRETT_MU, (long long)BARRETT_P);
  __m128i v = _mm_xor_si128(_mm_clmulepi64_si128(x0, k128, 0x10), _mm_srli_si128(x0, 8));
  v = _mm_xor_si128(_mm_clmulepi64_si128(_mm_and_si128(v, mask32),
                                         _mm_set_epi64x(0, (long long)K_64), 0x00),
                    _mm_srli_si128(v, 4));
  /* Barrett: q = floor(U_hi * mu / x^32); U mod P = U - q*P, in lane bits 32..63. */
  __m128i t = _mm_clmulepi64_si128(_mm_and_si128(v, mask32), barrett, 0x10);
  t = _mm_clmulepi64_si128(_mm_and_si128(t, mask32), barrett, 0x00);
  v = _mm_xor_si128(v, t);
  return (uint32_t)_mm_extract_epi32(v, 1);
}

/*
 * Raw CRC register over the largest multiple of 16 bytes of p[0..len), len >= 64;
 * *done gets how many bytes that was.
 */
CLMUL_TARGET static uint32_t crc32_clmul_raw(uint32_t c, const uint8_t *p, size_t len,
                                             size_t *done) {
  const uint8_t *start = p;
  const __m128i k512 = _mm_set_epi64x((long long)K_480, (long long)K_544);
  __m128i x0, x1, x2, x3;

  /* The register's raw value goes into the first four bytes of the message. */
  x0 = _mm_xor_si128(load(p), _mm_cvtsi32_si128((int)c));
  if (len >= 256) {
    /* Eight independent lanes hide the multiplier's latency on long inputs. */
    const __m128i k1024 = _mm_set_epi64x((long long)K_992, (long long)K_1056);
    __m128i x4, x5, x6, x7;
    x1 = load(p + 16);
    x2 = load(p + 32);
    x3 = load(p + 48);
    x4 = load(p + 64);
    x5 = load(p + 80);
    x6 = load(p + 96);
    x7 = load(p + 112);
    p += 128;
    len -= 128;
    while (len >= 128) {
      /* The folds keep few loads in flight, so without help DRAM-resident
       * data runs at a third of the memory bandwidth: fetch ahead. */
      if (len >= CLMUL_PREFETCH_DISTANCE + 128) {
        PREFETCH(p + CLMUL_PREFETCH_DISTANCE);
        PREFETCH(p + CLMUL_PREFETCH_DISTANCE + 64);
      }
      x0 = _mm_xor_si128(fold(x0, k1024), load(p));
      x1 = _mm_xor_si128(fold(x1, k1024), load(p + 16));
      x2 = _mm_xor_si128(fold(x2, k1024), load(p + 32));
      x3 = _mm_xor_si128(fold(x3, k1024), load(p + 48));
      x4 = _mm_xor_si128(fold(x4, k1024), load(p + 64));
      x5 = _mm_xor_si128(fold(x5, k1024), load(p + 80));
      x6 = _mm_xor_si128(fold(x6, k1024), load(p + 96));
      x7 = _mm_xor_si128(fold(x7, k1024), load(p + 112));
      p += 128;
      len -= 128;
    }
    /* Eight lanes to four: x0..x3 sit 512 bits before x4..x7. */
    x0 = _mm_xor_si128(fold(x0, k512), x4);
    x1 = _mm_xor_si128(fold(x1, k512), x5);
    x2 = _mm_xor_si128(fold(x2, k512), x6);
    x3 = _mm_xor_si128(fold(x3, k512), x7);
  } else {
    x1 = load(p + 16);
    x2 = load(p + 32);
    x3 = load(p + 48);
    p += 64;
    len -= 64;
  }
  while (len >= 64) {
    x0 = _mm_xor_si128(fold(x0, k512), load(p));
    x1 = _mm_xor_si128(fold(x1, k512), load(p + 16));
    x2 = _mm_xor_si128(fold(x2, k512), load(p + 32));
    x3 = _mm_xor_si128(fold(x3, k512), load(p + 48));
    p += 64;
    len -= 64;
  }
  *done = (size_t)(p - start);
  return fold4_finish(x0, x1, x2, x3, p, len, done);
}

/*
 * The same folding on 512-bit registers (VPCLMULQDQ: four 128-bit lanes per
 * instruction), for long inputs: four registers cover 256 bytes, so each lane
 * moves forward over T = 2048 bits per step; then the registers fold into one
 * (T = 512) and its four lanes into fold4_finish(). Needs len >= 256.
 */
#define K_2080 0x11542778aULL
#define K_2016 0x1322d1430ULL

#define VCLMUL_TARGET __attribute__((target("avx512f,avx512vl,vpclmulqdq,pclmul,sse4.1")))

VCLMUL_TARGET static inline __m512i fold512(__m512i x, __m512i k, __m512i next) {
  /* 0x96: a ^ b ^ c in one instruction */
  return _mm512_ternarylogic_epi64(_mm512_clmulepi64_epi128(x, k, 0x00),
                                   _mm512_clmulepi64_epi128(x, k, 0x11), next, 0x96);
}

VCLMUL_TARGET static inline __m512i load512(const uint8_t *p) {
  return _mm512_loadu_si512((const void *)p);
}

VCLMUL_TARGET static uint32_t crc32_vpclmul_raw(uint32_t c, const uint8_t *p, size_t len,
                                                size_t *done) {
  const uint8_t *start = p;
  const __m512i k2048 =
      _mm512_broadcast_i32x4(_mm_set_epi64x((long long)K_2016, (long long)K_2080));
  const __m512i k512 = _mm512_broadcast_i32x4(_mm_set_epi64x((long long)K_480, (long long)K_544));
  __m512i z0, z1, z2, z3;

  /* The register's raw value goes into the first four bytes of the message. */
  z0 = _mm512_xor_si512(load512(p), _mm512_zextsi128_si512(_mm_cvtsi32_si128((int)c)));
  z1 = load512(p + 64);
  z2 = load512(p + 128);
  z3 = load512(p + 192);
  p += 256;
  len -= 256;
  while (len >= 256) {
    if (len >= CLMUL_PREFETCH_DISTANCE + 256) {
      PREFETCH(p + CLMUL_PREFETCH_DISTANCE);
      PREFETCH(p + CLMUL_PREFETCH_DISTANCE + 64);
      PREFETCH(p + CLMUL_PREFETCH_DISTANCE + 128);
      PREFETCH(p + CLMUL_PREFETCH_DISTANCE + 192);
    }
    z0 = fold512(z0, k2048, load512(p));
    z1 = fold512(z1, k2048, load512(p + 64));
    z2 = fold512(z2, k2048, load512(p + 128));
    z3 = fold512(z3, k2048, load512(p + 192));
    p += 256;
    len -= 256;
  }
  /* Four registers to one: each sits 512 bits before the next. */
  z1 = fold512(z0, k512, z1);
  z2 = fold512(z1, k512, z2);
  z3 = fold512(z2, k512, z3);
  while (len >= 64) {
    z3 = fold512(z3, k512, load512(p));
    p += 64;
    len -= 64;
  }
  *done = (size_t)(p - start);
  return fold4_finish(_mm512_extracti32x4_epi32(z3, 0), _mm512_extracti32x4_epi32(z3, 1),
                      _mm512_extracti32x4_epi32(z3, 2), _mm512_extracti32x4_epi32(z3, 3), p,
                      len, done);
}

/*
 * The same folding on 256-bit registers (VPCLMULQDQ with AVX2: two 128-bit lanes per
 * instruction), for CPUs that have VPCLMULQDQ without AVX-512 (AMD Zen 3, Intel Alder
 * Lake): 1.7x the 128-bit version on Zen 3, whose carry-less multiplier takes one
 * instruction every other cycle whatever its width. Eight registers cover 256 bytes (T =
 * 2048 per step); then the even and the odd registers fold into one each (T = 512), two
 * consecutive 32-byte blocks, whose four lanes go to fold4_finish(). Needs len >= 256.
 */
#define YCLMUL_TARGET __attribute__((target("avx2,vpclmulqdq,pclmul,sse4.1")))

YCLMUL_TARGET static inline __m256i fold256(__m256i x, __m256i k, __m256i next) {
  return _mm256_xor_si256(
      _mm256_xor_si256(_mm256_clmulepi64_epi128(x, k, 0x00), _mm256_clmulepi64_epi128(x, k, 0x11)),
      next);
}

YCLMUL_TARGET static inline __m256i load256(const uint8_t *p) {
  return _mm256_loadu_si256((const __m256i *)(const void *)p);
}

YCLMUL_TARGET static uint32_t crc32_vpclmul256_raw(uint32_t c, const uint8_t *p, size_t len,
                                                   size_t *done) {
  const uint8_t *start = p;
  const __m256i k2048 =
      _mm256_broadcastsi128_si256(_mm_set_epi64x((long long)K_2016, (long long)K_2080));
  const __m256i k512 = _mm256_broadcastsi128_si256(_mm_set_epi64x((long long)K_480, (long long)K_544));
  __m256i y0, y1, y2, y3, y4, y5, y6, y7;

  /* The register's raw value goes into the first four bytes of the message. */
  y0 = _mm256_xor_si256(load256(p), _mm256_zextsi128_si256(_mm_cvtsi32_si128((int)c)));
  y1 = load256(p + 32);
  y2 = load256(p + 64);
  y3 = load256(p + 96);
  y4 = load256(p + 128);
  y5 = load256(p + 160);
  y6 = load256(p + 192);
  y7 = load256(p + 224);
  p += 256;
  len -= 256;
  while (len >= 256) {
    if (len >= CLMUL_PREFETCH_DISTANCE + 256) {
      PREFETCH(p + CLMUL_PREFETCH_DISTANCE);
      PREFETCH(p + CLMUL_PREFETCH_DISTANCE + 64);
      PREFETCH(p + CLMUL_PREFETCH_DISTANCE + 128);
      PREFETCH(p + CLMUL_PREFETCH_DISTANCE + 192);
    }
    y0 = fold256(y0, k2048, load256(p));
    y1 = fold256(y1, k2048, load256(p + 32));
    y2 = fold256(y2, k2048, load256(p + 64));
    y3 = fold256(y3, k2048, load256(p + 96));
    y4 = fold256(y4, k2048, load256(p + 128));
    y5 = fold256(y5, k2048, load256(p + 160));
    y6 = fold256(y6, k2048, load256(p + 192));
    y7 = fold256(y7, k2048, load256(p + 224));
    p += 256;
    len -= 256;
  }
  /* Even registers into y6, odd ones into y7: each sits 512 bits before the next. */
  y6 = fold256(fold256(fold256(y0, k512, y2), k512, y4), k512, y6);
  y7 = fold256(fold256(fold256(y1, k512, y3), k512, y5), k512, y7);
  while (len >= 64) {
    y6 = fold256(y6, k512, load256(p));
    y7 = fold256(y7, k512, load256(p + 32));
    p += 64;
    len -= 64;
  }
  *done = (size_t)(p - start);
  return fold4_finish(_mm256_castsi256_si128(y6), _mm256_extracti128_si256(y6, 1),
                      _mm256_castsi256_si128(y7), _mm256_extracti128_si256(y7, 1), p, len, done);
}

enum { IMPL_UNKNOWN = 0, IMPL_TABLE = 1, IMPL_CLMUL = 2, IMPL_VPCLMUL256 = 3, IMPL_VPCLMUL = 4 };

/* The OS saves these register states (XCR0 bits: SSE and AVX 0x06; opmask and ZMM 0xe0). */
static int os_saves(unsigned bits) {
  unsigned lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  (void)hi;
  return (lo & bits) == bits;
}

static int detect_impl(void) {
  unsigned a = 0, b = 0, c = 0, d = 0;
  int clmul;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return IMPL_TABLE;
  clmul = (c & bit_PCLMUL) && (c & bit_SSE4_1);
  if (!clmul) return IMPL_TABLE;
  if (!(c & bit_OSXSAVE) || !(c & bit_AVX) || !__get_cpuid_count(7, 0, &a, &b, &c, &d) ||
      !(c & bit_VPCLMULQDQ) || !os_saves(0x06)) {
    return IMPL_CLMUL;
  }
  if ((b & bit_AVX512F) && (b & bit_AVX512VL) && os_saves(0xe6)) return IMPL_VPCLMUL;
  return (b & bit_AVX2) ? IMPL_VPCLMUL256 : IMPL_CLMUL;
}

/*
 * The CPU check runs once; the answer is a fact about the machine, so racing
 * threads at worst compute the same value twice. Relaxed atomics are enough.
 */
static int impl(void) {
  static atomic_int chosen = IMPL_UNKNOWN;
  int v = atomic_load_explicit(&chosen, memory_order_relaxed);
  if (v == IMPL_UNKNOWN) {
    v = detect_impl();
    atomic_store_explicit(&chosen, v, memory_order_relaxed);
  }
  return v;
}
#endif /* MCAP_CRC32_HAVE_CLMUL */

/* Below this many bytes the table version wins (the folding setup and final
 * reduction cost about as much as 64 table bytes). */
#define CLMUL_MIN_LEN 64
/* From here on the 512- and 256-bit versions win (their setup folds 256 bytes at once). */
#define VPCLMUL_MIN_LEN 512

uint32_t mcap__crc32_fast(uint32_t crc, const void *data, size_t len) {
  if (len == 0) return crc;
  const uint8_t *p = (const uint8_t *)data;
  uint32_t c = ~crc;
#ifdef MCAP_CRC32_HAVE_CLMUL
  if (len >= CLMUL_MIN_LEN) {
    int which = impl();
    size_t done = 0;
    if (which == IMPL_VPCLMUL && len >= VPCLMUL_MIN_LEN) c = crc32_vpclmul_raw(c, p, len, &done);
    else if (which == IMPL_VPCLMUL256 && len >= VPCLMUL_MIN_LEN)
      c = crc32_vpclmul256_raw(c, p, len, &done);
    else if (which >= IMPL_CLMUL) c = crc32_clmul_raw(c, p, len, &done);
    p += done;
    len -= done;
  }
#endif
  return ~crc32_table_raw(c, p, len);
}

uint32_t mcap__crc32_pclmul(uint32_t crc, const void *data, size_t len) {
  if (len == 0) return crc;
  const uint8_t *p = (const uint8_t *)data;
  uint32_t c = ~crc;
#ifdef MCAP_CRC32_HAVE_CLMUL
  if (len >= CLMUL_MIN_LEN && impl() >= IMPL_CLMUL) {
    size_t done = 0;
    c = crc32_clmul_raw(c, p, len, &done);
    p += done;
    len -= done;
  }
#endif
  return ~crc32_table_raw(c, p, len);
}

uint32_t mcap__crc32_vpclmul256(uint32_t crc, const void *data, size_t len) {
  if (len == 0) return crc;
  const uint8_t *p = (const uint8_t *)data;
  uint32_t c = ~crc;
#ifdef MCAP_CRC32_HAVE_CLMUL
  if (len >= VPCLMUL_MIN_LEN && impl() >= IMPL_VPCLMUL256) {
    size_t done = 0;
    c = crc32_vpclmul256_raw(c, p, len, &done);
    p += done;
    len -= done;
  }
#endif
  return ~crc32_table_raw(c, p, len);
}

/* ------------------------------------------------------------------ combine */

/*
 * crc(A || B) from crc(A), crc(B) and |B|: the register after A, moved over |B| zero bytes,
 * plus crc(B) (the pre- and post-inversions cancel out). Moving over n bytes multiplies by
 * x^(8n) mod P, built from the table of x^(2^k) mod P. Polynomials here are reflected
 * 32-bit values (bit 31 = x^0), as the CRC register holds them.
 */
#define POLY_REFLECTED 0xedb88320u

/* a * b mod P, reflected. */
static uint32_t gf2_mulmod(uint32_t a, uint32_t b) {
  uint32_t m = 1u << 31, p = 0;
  for (;;) {
    if (a & m) {
      p ^= b;
      if ((a & (m - 1)) == 0) break;
    }
    m >>= 1;
    b = b & 1 ? (b >> 1) ^ POLY_REFLECTED : b >> 1;
  }
  return p;
}

/* x^(2^k) mod P for k = 0..31, reflected (the first is x itself). The sequence repeats
 * with period 32 (x^(2^32) == x mod P, checked when the table was computed), so k wraps. */
static const uint32_t x2k_table[32] = {
    0x40000000, 0x20000000, 0x08000000, 0x00800000, 0x00008000, 0xedb88320, 0xb1e6b092,
    0xa06a2517, 0xed627dae, 0x88d14467, 0xd7bbfe6a, 0xec447f11, 0x8e7ea170, 0x6427800e,
    0x4d47bae0, 0x09fe548f, 0x83852d0f, 0x30362f1a, 0x7b5a9cc3, 0x31fec169, 0x9fec022a,
    0x6c8dedc4, 0x15d6874d, 0x5fde7a4e, 0xbad90e37, 0x2e4e5eef, 0x4eaba214, 0xa8a472c0,
    0x429a969e, 0x148d302a, 0xc40ba6d0, 0xc4e22c3c};

uint32_t mcap__crc32_combine(uint32_t crc_a, uint32_t crc_b, uint64_t len_b) {
  uint32_t x = 1u << 31; /* x^0 */
  /* x^(8 len_b): the product of x^(2^k) over the set bits k of 8 len_b. */
  for (unsigned k = 3; len_b; k++, len_b >>= 1) {
    if (len_b & 1) x = gf2_mulmod(x2k_table[k & 31], x);
  }
  return gf2_mulmod(x, crc_a) ^ crc_b;
}

const char *mcap__crc32_impl(void) {
#ifdef MCAP_CRC32_HAVE_CLMUL
  if (impl() == IMPL_VPCLMUL) return "vpclmul-avx512";
  if (impl() == IMPL_VPCLMUL256) return "vpclmul-avx2";
  if (impl() == IMPL_CLMUL) return "pclmul";
#endif
  return "slicing-by-16";
}

uint32_t mcap_crc32(uint32_t crc, const void *data, size_t len) {
  return mcap__crc32_fast(crc, data, len);
}
