// test_utf8.cc - pl_utf8_next (pipeline/core/utf8.c), the one UTF-8 decoder of mcapkit:
// well-formed sequences at every length boundary, and the ill-formed kinds RFC 3629 excludes
// (overlong forms, surrogates, code points above U+10FFFF, truncated sequences, stray bytes)
// with the maximal-subpart length that one U+FFFD replaces.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "pipeline/core.h"

namespace {

struct Decoded {
  size_t len;
  uint32_t cp;
  size_t adv;
};

Decoded decode(const std::string &bytes, size_t n = SIZE_MAX) {
  Decoded d{};
  if (n == SIZE_MAX) n = bytes.size();
  d.len = pl_utf8_next(reinterpret_cast<const uint8_t *>(bytes.data()), n, &d.cp, &d.adv);
  return d;
}

void expect_valid(const std::string &bytes, uint32_t cp) {
  Decoded d = decode(bytes);
  EXPECT_EQ(d.len, bytes.size()) << std::hex << cp;
  EXPECT_EQ(d.adv, bytes.size()) << std::hex << cp;
  EXPECT_EQ(d.cp, cp);
}

void expect_invalid(const std::string &bytes, size_t adv, size_t n = SIZE_MAX) {
  Decoded d = decode(bytes, n);
  EXPECT_EQ(d.len, 0u);
  EXPECT_EQ(d.adv, adv);
  EXPECT_EQ(d.cp, 0xFFFDu);
}

TEST(CoreUtf8, WellFormedAtEveryLengthBoundary) {
  expect_valid(std::string(1, '\0'), 0);
  expect_valid("A", 0x41);
  expect_valid("\x7f", 0x7F);
  expect_valid("\xc2\x80", 0x80);
  expect_valid("\xdf\xbf", 0x7FF);
  expect_valid("\xe0\xa0\x80", 0x800);
  expect_valid("\xed\x9f\xbf", 0xD7FF); /* just below the surrogates */
  expect_valid("\xee\x80\x80", 0xE000); /* just above them */
  expect_valid("\xef\xbf\xbf", 0xFFFF);
  expect_valid("\xf0\x90\x80\x80", 0x10000);
  expect_valid("\xf0\x9f\x98\x80", 0x1F600);
  expect_valid("\xf4\x8f\xbf\xbf", 0x10FFFF);
  // Only the first sequence is decoded; what follows is not looked at.
  Decoded d = decode("\xc3\xa9xyz");
  EXPECT_EQ(d.len, 2u);
  EXPECT_EQ(d.cp, 0xE9u);
}

TEST(CoreUtf8, OverlongFormsAreIllFormed) {
  expect_invalid("\xc0\x80", 1); /* C0 and C1 can only start overlong forms */
  expect_invalid("\xc1\xbf", 1);
  expect_invalid("\xe0\x80\x80", 1);     /* U+0000 in three bytes */
  expect_invalid("\xe0\x9f\xbf", 1);     /* U+07FF in three bytes */
  expect_invalid("\xf0\x80\x80\x80", 1); /* U+0000 in four bytes */
  expect_invalid("\xf0\x8f\xbf\xbf", 1); /* U+FFFF in four bytes */
}

TEST(CoreUtf8, SurrogatesAreIllFormed) {
  expect_invalid("\xed\xa0\x80", 1); /* U+D800 */
  expect_invalid("\xed\xbf\xbf", 1); /* U+DFFF */
  // a surrogate pair written as two three-byte sequences (CESU-8): each lead replaced alone
  expect_invalid("\xed\xa0\xbd\xed\xb8\x80", 1);
}

TEST(CoreUtf8, AboveU10FFFFIsIllFormed) {
  expect_invalid("\xf4\x90\x80\x80", 1); /* U+110000 */
  expect_invalid("\xf5\x80\x80\x80", 1);
  expect_invalid("\xf7\xbf\xbf\xbf", 1);
  expect_invalid("\xf8\x88\x80\x80\x80", 1); /* old five- and six-byte forms */
  expect_invalid("\xfc\x84\x80\x80\x80\x80", 1);
  expect_invalid("\xfe", 1);
  expect_invalid("\xff", 1);
}

TEST(CoreUtf8, TruncatedSequencesStopAtTheBytesThere) {
  // cut short by n: the maximal subpart is what is there
  expect_invalid("\xc3\xa9", 1, 1);
  expect_invalid("\xe2\x82\xac", 1, 1);
  expect_invalid("\xe2\x82\xac", 2, 2);
  expect_invalid("\xf0\x9f\x98\x80", 3, 3);
  // cut short by a byte that does not continue it: the subpart before that byte
  expect_invalid("\xe2\x82" "A", 2);
  expect_invalid("\xf0\x9f\x98" "A", 3);
  expect_invalid("\xf0\x9f" "\xc3\xa9", 2);
}

TEST(CoreUtf8, StrayContinuationBytesAndEmptyInput) {
  expect_invalid("\x80", 1);
  expect_invalid("\xbf\xbf", 1);
  Decoded d = decode("", 0);
  EXPECT_EQ(d.len, 0u);
  EXPECT_EQ(d.adv, 0u);
  // both outputs may be NULL
  EXPECT_EQ(pl_utf8_next(reinterpret_cast<const uint8_t *>("\xe2\x82\xac"), 3, nullptr, nullptr),
            3u);
  EXPECT_EQ(pl_utf8_next(reinterpret_cast<const uint8_t *>("\xed\xa0\x80"), 3, nullptr, nullptr),
            0u);
}

// Stepping by adv over a mixed string replaces exactly the maximal subparts (the example of
// Unicode 15, section 3.9, "U+FFFD substitution of maximal subparts": F1 80 80, E1 80 and C2
// are one replacement each, every stray 80 or BF one).
TEST(CoreUtf8, StepByStepReplacesMaximalSubparts) {
  const std::string in = "\x61\xf1\x80\x80\xe1\x80\xc2\x62\x80\x63\x80\xbf\x64";
  std::string out;
  size_t i = 0;
  while (i < in.size()) {
    uint32_t cp;
    size_t adv;
    pl_utf8_next(reinterpret_cast<const uint8_t *>(in.data()) + i, in.size() - i, &cp, &adv);
    ASSERT_GE(adv, 1u);
    out += cp == 0xFFFD ? std::string("?") : std::string(1, static_cast<char>(cp));
    i += adv;
  }
  EXPECT_EQ(out, "a???b?c??d");
}

}  // namespace
