// test_api_query.cc - pl_api_query (pipeline/client/api_query.c): which filters each kind of
// list takes, and the query parameters a query becomes (no request is made: the lookups that
// need the API are not exercised here; the CLI tests do that against the local site).
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "pipeline/client.h"

namespace {

std::map<std::string, std::string> params_of(pl_api_kind kind, const pl_api_query &q) {
  std::map<std::string, std::string> out;
  pl_api_params *p = nullptr;
  pl_error_info err;
  EXPECT_EQ(pl_api_query_params(nullptr, kind, &q, &p, &err), PL_OK) << err.msg;
  size_t n = 0;
  const pl_param *items = pl_api_params_items(p, &n);
  for (size_t i = 0; i < n; i++) out[items[i].name] = items[i].value;
  pl_api_params_free(p);
  return out;
}

TEST(ApiQuery, KindNames) {
  pl_api_kind k;
  for (const char *name : {"recordings", "attachments", "topics", "coverage", "pending-imports",
                           "lake-files", "devices"}) {
    ASSERT_EQ(pl_api_kind_parse(name, &k), PL_OK) << name;
    EXPECT_STREQ(pl_api_kind_name(k), name);
  }
  EXPECT_EQ(pl_api_kind_parse("events", &k), PL_EINVAL);
  EXPECT_EQ(pl_api_kind_parse(nullptr, &k), PL_EINVAL);
}

TEST(ApiQuery, FiltersAKindDoesNotTakeAreRefused) {
  pl_api_query q;
  pl_api_query_init(&q);
  pl_error_info err;
  EXPECT_EQ(pl_api_query_check(PL_API_DEVICES, &q, &err), PL_OK);
  q.topic = "/imu";
  EXPECT_EQ(pl_api_query_check(PL_API_RECORDINGS, &q, &err), PL_OK);
  ASSERT_EQ(pl_api_query_check(PL_API_DEVICES, &q, &err), PL_EINVAL);
  EXPECT_STREQ(err.msg,
               "'--topic' is not a filter of devices (it takes --sort-by, --sort-order, --query)");
  pl_api_query_init(&q);
  q.has_start = 1;
  ASSERT_EQ(pl_api_query_check(PL_API_ATTACHMENTS, &q, &err), PL_EINVAL);
  EXPECT_NE(std::string(err.msg).find("'--start' is not a filter of attachments"),
            std::string::npos);
  pl_api_query_init(&q);
  q.tolerance = 0;  // 0 is a tolerance; only a negative one is "not given"
  EXPECT_EQ(pl_api_query_check(PL_API_RECORDINGS, &q, &err), PL_EINVAL);
  EXPECT_EQ(pl_api_query_check(PL_API_COVERAGE, &q, &err), PL_OK);
  pl_api_query_init(&q);
  q.recording_id = "a";
  q.recording_key = "b";
  EXPECT_EQ(pl_api_query_check(PL_API_TOPICS, &q, &err), PL_EINVAL);
  pl_api_query_init(&q);
  q.has_start = q.has_end = 1;
  q.start = 2;
  q.end = 1;
  EXPECT_EQ(pl_api_query_check(PL_API_RECORDINGS, &q, &err), PL_EINVAL);
  const char *bad[] = {"novalue"};
  const char *paging[] = {"limit=5"};
  pl_api_query_init(&q);
  q.extra = bad;
  q.n_extra = 1;
  EXPECT_EQ(pl_api_query_check(PL_API_RECORDINGS, &q, &err), PL_EINVAL);
  q.extra = paging;
  EXPECT_EQ(pl_api_query_check(PL_API_RECORDINGS, &q, &err), PL_EINVAL);
  EXPECT_NE(std::string(err.msg).find("use --limit"), std::string::npos) << err.msg;
}

TEST(ApiQuery, Parameters) {
  pl_api_query q;
  pl_api_query_init(&q);
  q.device_name = "robot 1";
  q.has_start = q.has_end = 1;
  q.start = 1767225600000000000ull;
  q.end = 1767225600500000000ull;
  q.site_id = "s1";
  const char *extra[] = {"foo=bar=baz"};
  q.extra = extra;
  q.n_extra = 1;
  auto p = params_of(PL_API_RECORDINGS, q);
  EXPECT_EQ(p["deviceName"], "robot 1");
  EXPECT_EQ(p["start"], "2026-01-01T00:00:00.000000000Z");
  EXPECT_EQ(p["end"], "2026-01-01T00:00:00.500000000Z");
  EXPECT_EQ(p["site.id"], "s1");  // the recordings endpoint's spelling
  EXPECT_EQ(p.count("siteId"), 0u);
  EXPECT_EQ(p["foo"], "bar=baz");

  pl_api_query_init(&q);
  q.tolerance = 2.5;
  q.include_edge = 1;
  q.recording_key = "k";
  p = params_of(PL_API_COVERAGE, q);
  EXPECT_EQ(p["tolerance"], "2.5");
  EXPECT_EQ(p["includeEdgeRecordings"], "true");
  EXPECT_EQ(p["recordingKey"], "k");

  // attachments by recording key need a lookup over the API: without a handle, refused
  pl_api_query_init(&q);
  q.recording_key = "k";
  pl_api_params *pp = nullptr;
  pl_error_info err;
  EXPECT_EQ(pl_api_query_params(nullptr, PL_API_ATTACHMENTS, &q, &pp, &err), PL_EINVAL);
  EXPECT_EQ(pp, nullptr);
}

}  // namespace
