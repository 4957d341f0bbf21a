// test_client_api.cc - the API resources (api_client.c, api_json.c) against a
// scripted loopback server: lists paged completely (5000 recordings in pages
// of 2000 until a short page, limit/offset asserted), --limit stops early,
// unknown fields ignored and unknown enum values kept, malformed items named,
// request bodies, and the attachment download that follows its 302 without
// the key and checks size and CRC.
#include <curl/curl.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <string>

#include "fake_http.h"
#include "mcap/mcap.h"
#include "pipeline/client.h"
#include "run.h"
#include "tmpdir.h"

using namespace mcapkit_test;

namespace {

class CurlEnv : public ::testing::Environment {
 public:
  void SetUp() override { ASSERT_EQ(pl_http_global_init(nullptr), PL_OK); }
};
const auto *const curl_env = ::testing::AddGlobalTestEnvironment(new CurlEnv);

struct Http {
  pl_http *h = nullptr;
  explicit Http(const std::string &url) {
    pl_http_options o;
    memset(&o, 0, sizeof o);
    o.backoff_initial_s = 0.01;
    o.max_attempts = 3;
    pl_error_info err;
    EXPECT_EQ(pl_http_new(&h, url.c_str(), "fox_sk_k", &o, &err), PL_OK);
  }
  ~Http() { pl_http_free(h); }
};

std::string recording_json(size_t i) {
  return "{\"id\":\"rec_" + std::to_string(i) +
         "\",\"path\":\"f.mcap\",\"size\":123,\"createdAt\":\"2026-01-01T00:00:00Z\","
         "\"start\":\"2026-01-01T00:00:01.5Z\",\"end\":\"2026-01-02\",\"importStatus\":"
         "\"complete\",\"site\":{\"id\":\"s1\",\"name\":\"local\"},\"newField\":{\"x\":[1,2]}}";
}

}  // namespace

TEST(ClientApi, FiveThousandRecordingsArePagedCompletely) {
  const size_t total = 5000;
  FakeHttpServer srv([&](const FakeRequest &rq) {
    size_t limit = rq.has_param("limit") ? std::stoul(rq.param("limit")) : 2000;
    size_t offset = rq.has_param("offset") ? std::stoul(rq.param("offset")) : 0;
    if (limit > 2000) return json_response(400, "{\"error\":\"limit\"}");
    std::string body = "[";
    for (size_t i = offset; i < total && i < offset + limit; i++) {
      if (i > offset) body += ",";
      body += recording_json(i);
    }
    return json_response(200, body + "]");
  });
  Http h(srv.url());
  pl_api_list l;
  pl_error_info err;
  pl_param p[] = {{"deviceName", "robot 1"}};
  ASSERT_EQ(pl_api_list_all(h.h, PL_API_RECORDINGS, p, 1, 0, &l, &err), PL_OK) << err.msg;
  EXPECT_EQ(l.n, total);
  EXPECT_EQ(l.pages, 3u);
  for (size_t i = 0; i < l.n; i++)
    ASSERT_EQ(std::string(l.recordings[i].id), "rec_" + std::to_string(i));
  auto reqs = srv.requests();
  ASSERT_EQ(reqs.size(), 3u);
  EXPECT_EQ(reqs[0].target, "/v1/recordings?deviceName=robot%201&limit=2000&offset=0");
  EXPECT_EQ(reqs[1].param("offset"), "2000");
  EXPECT_EQ(reqs[2].param("offset"), "4000");
  for (const auto &rq : reqs) EXPECT_EQ(rq.param("deviceName"), "robot 1");
  // fields
  const pl_api_recording &r = l.recordings[7];
  EXPECT_EQ(r.size, 123u);
  EXPECT_EQ(std::string(r.import_status), "complete");
  EXPECT_EQ(std::string(r.site_id), "s1");
  uint64_t want = 0;
  ASSERT_EQ(pl_parse_time("2026-01-01T00:00:01.5Z", &want), PL_OK);
  EXPECT_EQ(r.start, want);
  ASSERT_EQ(pl_parse_time("2026-01-02T00:00:00Z", &want), PL_OK);
  EXPECT_EQ(r.end, want);  // a bare date is midnight UTC
  EXPECT_NE(std::string(r.json).find("newField"), std::string::npos);
  pl_api_list_dispose(&l);
}

TEST(ClientApi, ExactMultipleOfThePageTakesOneMoreRequest) {
  FakeHttpServer srv([&](const FakeRequest &rq) {
    size_t offset = std::stoul(rq.param("offset"));
    std::string body = "[";
    for (size_t i = offset; i < 4000 && i < offset + 2000; i++) {
      if (i > offset) body += ",";
      body += "{\"id\":\"d" + std::to_string(i) + "\",\"name\":\"n\"}";
    }
    return json_response(200, body + "]");
  });
  Http h(srv.url());
  pl_api_list l;
  pl_error_info err;
  ASSERT_EQ(pl_api_list_all(h.h, PL_API_DEVICES, nullptr, 0, 0, &l, &err), PL_OK) << err.msg;
  EXPECT_EQ(l.n, 4000u);
  EXPECT_EQ(srv.request_count(), 3u);  // the third, empty page says "no more"
  pl_api_list_dispose(&l);
}

TEST(ClientApi, MaxItemsStopsEarlyWithASmallerLimit) {
  FakeHttpServer srv([&](const FakeRequest &rq) {
    size_t limit = std::stoul(rq.param("limit"));
    size_t offset = std::stoul(rq.param("offset"));
    std::string body = "[";
    for (size_t i = offset; i < offset + limit; i++) {
      if (i > offset) body += ",";
      body += recording_json(i);
    }
    return json_response(200, body + "]");
  });
  Http h(srv.url());
  pl_api_list l;
  pl_error_info err;
  ASSERT_EQ(pl_api_list_all(h.h, PL_API_RECORDINGS, nullptr, 0, 2500, &l, &err), PL_OK);
  EXPECT_EQ(l.n, 2500u);
  auto reqs = srv.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[1].param("limit"), "500");
  EXPECT_EQ(reqs[1].param("offset"), "2000");
  pl_api_list_dispose(&l);
}

TEST(ClientApi, LakeFilesAreOneRequestWithoutPaging) {
  FakeHttpServer srv([](const FakeRequest &) {
    return json_response(200,
                         "[{\"path\":\"a/b.mcap\",\"topics\":[\"/x\",\"/y\"]},"
                         "{\"path\":\"a/_r.mcap\",\"topics\":[]}]");
  });
  Http h(srv.url());
  pl_api_list l;
  pl_error_info err;
  pl_param p[] = {{"siteId", "s"}, {"recordingId", "r"}};
  ASSERT_EQ(pl_api_list_all(h.h, PL_API_LAKE_FILES, p, 2, 0, &l, &err), PL_OK) << err.msg;
  ASSERT_EQ(l.n, 2u);
  EXPECT_EQ(l.lake_files[0].n_topics, 2u);
  EXPECT_EQ(std::string(l.lake_files[0].topics[1]), "/y");
  EXPECT_FALSE(srv.requests()[0].has_param("limit"));
  EXPECT_FALSE(srv.requests()[0].has_param("offset"));
  pl_api_list_dispose(&l);
}

TEST(ClientApi, UnknownStatusesAreKeptAndOtherKindsParse) {
  FakeHttpServer srv([](const FakeRequest &rq) {
    if (rq.path == "/v1/data/pending-imports")
      return json_response(200,
                           "[{\"requestId\":\"req_1\",\"status\":\"quantum-indexing\","
                           "\"filename\":\"a.mcap\",\"createdAt\":\"2026-01-01T00:00:00Z\","
                           "\"updatedAt\":\"2026-01-01T00:00:01Z\",\"extra\":true}]");
    if (rq.path == "/v1/data/topics")
      return json_response(200,
                           "[{\"topic\":\"/imu\",\"encoding\":\"cdr\",\"schemaName\":\"Imu\","
                           "\"schemaEncoding\":\"ros2msg\",\"version\":\"v1\","
                           "\"schema\":\"aGVsbG8=\"}]");
    if (rq.path == "/v1/data/coverage")
      return json_response(200,
                           "[{\"deviceId\":\"d\",\"device\":{\"id\":\"d\",\"name\":\"r\"},"
                           "\"start\":\"2026-01-01T00:00:00Z\",\"end\":"
                           "\"2026-01-01T00:00:09.000000001Z\",\"status\":\"imported\","
                           "\"importStatus\":\"complete\"}]");
    return json_response(200,
                         "[{\"id\":\"att_1\",\"recordingId\":\"rec\",\"name\":\"calib\","
                         "\"mediaType\":\"text/plain\",\"logTime\":\"2026-01-01T00:00:00Z\","
                         "\"createTime\":\"2026-01-01T00:00:00Z\",\"crc\":4294967295,"
                         "\"size\":7,\"fingerprint\":\"abc\"}]");
  });
  Http h(srv.url());
  pl_error_info err;
  pl_api_list l;
  ASSERT_EQ(pl_api_list_all(h.h, PL_API_PENDING_IMPORTS, nullptr, 0, 0, &l, &err), PL_OK);
  ASSERT_EQ(l.n, 1u);
  EXPECT_EQ(std::string(l.imports[0].status), "quantum-indexing");
  pl_api_list_dispose(&l);
  ASSERT_EQ(pl_api_list_all(h.h, PL_API_TOPICS, nullptr, 0, 0, &l, &err), PL_OK);
  ASSERT_EQ(l.n, 1u);
  EXPECT_TRUE(l.topics[0].has_schema);
  EXPECT_EQ(std::string(reinterpret_cast<char *>(l.topics[0].schema), l.topics[0].schema_len),
            "hello");
  pl_api_list_dispose(&l);
  ASSERT_EQ(pl_api_list_all(h.h, PL_API_COVERAGE, nullptr, 0, 0, &l, &err), PL_OK);
  ASSERT_EQ(l.n, 1u);
  EXPECT_EQ(std::string(l.coverage[0].device_name), "r");
  EXPECT_EQ(l.coverage[0].end % 1000000000u, 1u);
  pl_api_list_dispose(&l);
  ASSERT_EQ(pl_api_list_all(h.h, PL_API_ATTACHMENTS, nullptr, 0, 0, &l, &err), PL_OK);
  ASSERT_EQ(l.n, 1u);
  EXPECT_EQ(l.attachments[0].crc, 4294967295u);
  EXPECT_EQ(l.attachments[0].size, 7u);
  pl_api_list_dispose(&l);
}

TEST(ClientApi, MalformedPagesAreNamedErrors) {
  std::string body;
  FakeHttpServer srv([&](const FakeRequest &) { return json_response(200, body); });
  Http h(srv.url());
  pl_api_list l;
  pl_error_info err;
  body = "{\"not\":\"an array\"}";
  EXPECT_EQ(pl_api_list_all(h.h, PL_API_RECORDINGS, nullptr, 0, 0, &l, &err), PL_EJSON);
  EXPECT_NE(std::string(err.msg).find("expected a JSON array"), std::string::npos);
  pl_api_list_dispose(&l);
  body = "[{\"id\":\"a\"},{\"path\":\"no id\"}]";
  EXPECT_EQ(pl_api_list_all(h.h, PL_API_RECORDINGS, nullptr, 0, 0, &l, &err), PL_EJSON);
  EXPECT_NE(std::string(err.msg).find("item 1 has no valid 'id'"), std::string::npos) << err.msg;
  pl_api_list_dispose(&l);
  body = "[{\"id\":\"a\"}, 3]";
  EXPECT_EQ(pl_api_list_all(h.h, PL_API_DEVICES, nullptr, 0, 0, &l, &err), PL_EJSON);
  pl_api_list_dispose(&l);
  body = "[{\"id\":";
  EXPECT_EQ(pl_api_list_all(h.h, PL_API_DEVICES, nullptr, 0, 0, &l, &err), PL_EJSON);
  EXPECT_NE(std::string(err.msg).find("ends early"), std::string::npos) << err.msg;
  pl_api_list_dispose(&l);
  body = "[] trailing";
  EXPECT_EQ(pl_api_list_all(h.h, PL_API_DEVICES, nullptr, 0, 0, &l, &err), PL_EJSON);
  pl_api_list_dispose(&l);
  body = "[{\"topic\":\"/a\",\"schema\":\"!!notbase64\"}]";
  EXPECT_EQ(pl_api_list_all(h.h, PL_API_TOPICS, nullptr, 0, 0, &l, &err), PL_EJSON);
  pl_api_list_dispose(&l);
}

TEST(ClientApi, UploadAndStreamRequestBodies) {
  FakeHttpServer srv([](const FakeRequest &rq) {
    if (rq.path == "/v1/data/upload")
      return json_response(200, "{\"link\":\"http://x/signed/upload/r\",\"requestId\":\"r\"}");
    return json_response(200, "{\"link\":\"http://x/signed/stream/s\"}");
  });
  Http h(srv.url());
  char *link = nullptr, *rid = nullptr;
  pl_error_info err;
  ASSERT_EQ(
      pl_api_upload_link(h.h, "a \"b\".mcap", nullptr, "robot-1", "mcapkit-k", &link, &rid, &err),
      PL_OK)
      << err.msg;
  EXPECT_EQ(std::string(link), "http://x/signed/upload/r");
  EXPECT_EQ(std::string(rid), "r");
  free(link);
  free(rid);
  pl_api_stream_request sr;
  memset(&sr, 0, sizeof sr);
  sr.recording_id = "rec_1";
  const char *topics[] = {"/a", "/b"};
  sr.topics = topics;
  sr.n_topics = 2;
  sr.has_start = sr.has_end = 1;
  sr.start = 1000000001;
  sr.end = 2000000000;
  ASSERT_EQ(pl_api_stream_link(h.h, &sr, &link, &err), PL_OK) << err.msg;
  free(link);
  auto reqs = srv.requests();
  ASSERT_EQ(reqs.size(), 2u);
  Json up = Json::parse(reqs[0].body);
  EXPECT_EQ(up["filename"].str(), "a \"b\".mcap");
  EXPECT_EQ(up["deviceName"].str(), "robot-1");
  EXPECT_EQ(up["key"].str(), "mcapkit-k");
  EXPECT_FALSE(up.has("deviceId"));
  Json st = Json::parse(reqs[1].body);
  EXPECT_EQ(st["recordingId"].str(), "rec_1");
  EXPECT_EQ(st["start"].str(), "1970-01-01T00:00:01.000000001Z");
  EXPECT_EQ(st["end"].str(), "1970-01-01T00:00:02.000000000Z");
  EXPECT_EQ(st["topics"].size(), 2u);
  EXPECT_EQ(st["outputFormat"].str(), "mcap");
}

TEST(ClientApi, AttachmentDownloadFollowsTheRedirectWithoutTheKeyAndChecksTheCrc) {
  TempDir tmp;
  const std::string content = "calibration: 42\n";
  // the record's CRC: log_time, create_time, name, media type, data length, data
  // (the listing below gives no times: 0; name "c"; no media type)
  std::string rec(16, '\0');
  auto le = [&](uint64_t v, int n) {
    for (int i = 0; i < n; i++) rec += static_cast<char>(v >> (8 * i));
  };
  le(1, 4);
  rec += "c";
  le(0, 4);
  le(content.size(), 8);
  rec += content;
  uint32_t crc = mcap_crc32(0, rec.data(), rec.size());
  std::atomic<int> corrupt{0};
  FakeHttpServer store([&](const FakeRequest &) {
    FakeResponse r;
    r.body = corrupt ? "calibration: 43\n" : content;
    return r;
  });
  FakeHttpServer srv([&](const FakeRequest &rq) {
    if (rq.path == "/v1/recording-attachments/att_1")
      return json_response(200,
                           "{\"id\":\"att_1\",\"recordingId\":\"r\",\"name\":\"c\","
                           "\"size\":" +
                               std::to_string(content.size()) + ",\"crc\":" + std::to_string(crc) +
                               "}");
    FakeResponse r = json_response(302, "{}");
    r.headers.push_back({"Location", store.url() + "/att?sig=1"});
    return r;
  });
  Http h(srv.url());
  pl_error_info err;
  std::string out = tmp.file("calib.txt");
  ASSERT_EQ(pl_api_download_attachment(h.h, "att_1", out.c_str(), &err), PL_OK) << err.msg;
  EXPECT_EQ(read_file_or_throw(out), content);
  ASSERT_EQ(store.request_count(), 1u);
  EXPECT_FALSE(store.requests()[0].has_header("authorization"));
  for (const auto &rq : srv.requests()) EXPECT_TRUE(rq.has_header("authorization"));
  corrupt = 1;
  std::string bad = tmp.file("bad.txt");
  EXPECT_EQ(pl_api_download_attachment(h.h, "att_1", bad.c_str(), &err), PL_EVERIFY);
  EXPECT_NE(std::string(err.msg).find("CRC"), std::string::npos) << err.msg;
  EXPECT_NE(access(bad.c_str(), F_OK), 0);  // not kept
}
