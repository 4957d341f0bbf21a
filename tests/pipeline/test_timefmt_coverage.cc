// test_timefmt_coverage.cc - pl_format_time / pl_parse_time (the API's RFC 3339
// rules) and pl_coverage_merge (the tolerance rule, exact equality included).
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "pipeline/pipeline.h"

namespace {

std::string fmt(uint64_t ns) {
  char buf[40];
  pl_format_time(ns, buf);
  return buf;
}

uint64_t parse_ok(const char *s) {
  uint64_t ns = 0;
  EXPECT_EQ(pl_parse_time(s, &ns), PL_OK) << s;
  return ns;
}

std::vector<pl_range> merge(std::vector<pl_range> in, uint64_t tol) {
  pl_range *out = nullptr;
  size_t n = 0;
  EXPECT_EQ(pl_coverage_merge(in.data(), in.size(), tol, &out, &n), PL_OK);
  std::vector<pl_range> v(out, out + n);
  free(out);
  return v;
}

}  // namespace

TEST(TimeFormat, NineDigitsUtc) {
  EXPECT_EQ(fmt(0), "1970-01-01T00:00:00.000000000Z");
  EXPECT_EQ(fmt(1767225600ull * 1000000000ull + 5), "2026-01-01T00:00:00.000000005Z");
  EXPECT_EQ(fmt(951782400ull * 1000000000ull), "2000-02-29T00:00:00.000000000Z");
  EXPECT_EQ(fmt(UINT64_MAX), "2554-07-21T23:34:33.709551615Z");
}

TEST(TimeParse, AcceptsRfc3339ThatIsIso8601) {
  EXPECT_EQ(parse_ok("2026-01-01T00:00:00Z"), 1767225600ull * 1000000000ull);
  EXPECT_EQ(parse_ok("2026-01-01T00:00:00.5Z"), 1767225600ull * 1000000000ull + 500000000ull);
  EXPECT_EQ(parse_ok("2023-04-06T18:27:45.876543210Z"),
            parse_ok("2023-04-06T19:27:45.876543210+01:00"));
  EXPECT_EQ(parse_ok("2023-04-06T18:27:45Z"), parse_ok("2023-04-06T13:57:45-04:30"));
  EXPECT_EQ(parse_ok("2000-02-29T12:00:00Z"), 951825600ull * 1000000000ull);
  // round trip of the output form
  for (uint64_t ns : {0ull, 1ull, 1767225600123456789ull, 18446744073709551615ull})
    EXPECT_EQ(parse_ok(fmt(ns).c_str()), ns);
}

TEST(TimeParse, RejectsNonIsoForms) {
  const char *bad[] = {
      "2026-01-01 00:00:00Z",             // space for T
      "2026-01-01t00:00:00Z",             // lower-case t
      "2026-01-01T00:00:00z",             // lower-case z
      "2026-01-01T00:00:00-00:00",        // unknown offset
      "2026-01-01T00:00:00+0100",         // offset without colon
      "2026-01-01T00:00:00",              // no offset
      "2026-01-01T00:00:00.Z",            // empty fraction
      "2026-01-01T00:00:00.1234567891Z",  // ten digits
      "2026-01-01T00:00:00,5Z",           // comma
      "2026-02-30T00:00:00Z",             // no such day
      "2025-02-29T00:00:00Z",             // not a leap year
      "2026-01-01T24:00:00Z",
      "2026-01-01T00:00:60Z",   // leap second
      "1969-12-31T23:59:59Z",   // before the epoch
      "2600-01-01T00:00:00Z",   // beyond uint64 ns
      "2026-01-01T00:00:00Z ",  // trailing byte
      "P1D",
      "",
  };
  for (const char *s : bad) {
    uint64_t ns = 42;
    EXPECT_EQ(pl_parse_time(s, &ns), PL_EINVAL) << s;
  }
}

// The API reference: tolerance is the "minimum interval that ranges must be separated by
// to be considered discrete", so a gap equal to the tolerance splits, a shorter one joins.
TEST(Coverage, GapEqualToToleranceSplitsOneLessJoins) {
  auto v = merge({{0, 10}, {15, 20}}, 5);  // gap 5 == tolerance
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0].end, 10u);
  EXPECT_EQ(v[1].start, 15u);
  v = merge({{0, 10}, {14, 20}}, 5);  // gap 4 < tolerance
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].start, 0u);
  EXPECT_EQ(v[0].end, 20u);
  v = merge({{0, 10}, {16, 20}}, 5);  // gap 6 > tolerance
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[1].start, 16u);
}

TEST(Coverage, ZeroToleranceSplitsEveryPositiveGapTouchingJoins) {
  auto v = merge({{5, 5}, {5, 5}, {6, 6}, {3, 8}, {10, 12}, {12, 13}}, 0);
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0].start, 3u);
  EXPECT_EQ(v[0].end, 8u);
  EXPECT_EQ(v[1].start, 10u);
  EXPECT_EQ(v[1].end, 13u);
  v = merge({{1, 1}, {2, 2}}, 0);  // a 1 ns gap is a gap
  EXPECT_EQ(v.size(), 2u);
  v = merge({{1, 1}, {1, 1}}, 0);  // equal log times touch
  EXPECT_EQ(v.size(), 1u);
  v = merge({{1, 1}, {2, 2}}, 1);  // gap 1 == tolerance 1: apart
  EXPECT_EQ(v.size(), 2u);
  v = merge({{1, 1}, {2, 2}}, 2);
  EXPECT_EQ(v.size(), 1u);
}

TEST(Coverage, UnsortedInputAndHugeTolerance) {
  auto v = merge({{100, 200}, {0, 1}, {50, 60}}, UINT64_MAX);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].start, 0u);
  EXPECT_EQ(v[0].end, 200u);
  v = merge({{100, 200}, {0, 1}, {50, 60}}, 10);
  ASSERT_EQ(v.size(), 3u);
  EXPECT_EQ(v[0].end, 1u);
  EXPECT_EQ(v[2].start, 100u);
}

TEST(Coverage, RejectsBadArguments) {
  pl_range bad = {5, 4}, *out = nullptr;
  size_t n = 0;
  EXPECT_EQ(pl_coverage_merge(&bad, 1, 0, &out, &n), PL_EINVAL);
  EXPECT_EQ(pl_coverage_merge(nullptr, 0, 0, &out, &n), PL_OK);
  EXPECT_EQ(n, 0u);
}

TEST(Errors, EveryCodeHasText) {
  for (int c = 0; c >= -13; c--) EXPECT_STRNE(pl_strerror(c), "unknown error") << c;
  EXPECT_STRNE(pl_strerror(PL_ECANCELED), "unknown error");
  EXPECT_STREQ(pl_strerror(-999), "unknown error");
}
