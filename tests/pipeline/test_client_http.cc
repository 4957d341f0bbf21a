// test_client_http.cc - the pl_http handle (pipeline/src/http.c) against a
// scripted loopback server (fake_http.h) that asserts the exact requests:
// retries and their count for connection errors, 5xx and 429, Retry-After in
// seconds and as an HTTP date, POST not repeated unless marked safe, PUT
// repeated whole, the key only ever sent to the API (not to signed links, not
// on redirects off the API), keep-alive, body cap, timeouts and cancel.
#include <curl/curl.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <ctime>
#include <string>
#include <thread>

#include "fake_http.h"
#include "pipeline/client.h"
#include "run.h"
#include "tmpdir.h"

using namespace mcapkit_test;

namespace {

class CurlEnv : public ::testing::Environment {
 public:
  void SetUp() override { ASSERT_EQ(pl_http_global_init(nullptr), PL_OK); }
  void TearDown() override { pl_http_global_cleanup(); }
};
const auto *const curl_env = ::testing::AddGlobalTestEnvironment(new CurlEnv);

const char *const kKey = "fox_sk_secret_4242424242";

pl_http_options fast_options() {
  pl_http_options o;
  memset(&o, 0, sizeof o);
  o.backoff_initial_s = 0.01;
  o.backoff_max_s = 0.05;
  o.max_attempts = 4;
  o.timeout_s = 10;
  o.jitter_seed = 1;
  return o;
}

struct Http {
  pl_http *h = nullptr;
  std::vector<std::string> log;
  explicit Http(const std::string &url, pl_http_options o = fast_options(),
                const char *key = kKey) {
    o.log = [](void *user, const char *line) { static_cast<Http *>(user)->log.push_back(line); };
    o.log_user = this;
    pl_error_info err;
    EXPECT_EQ(pl_http_new(&h, url.c_str(), key, &o, &err), PL_OK) << err.msg;
  }
  ~Http() { pl_http_free(h); }
  pl_http_stats stats() const {
    pl_http_stats s;
    pl_http_get_stats(h, &s);
    return s;
  }
};

struct Resp {
  pl_http_response r{};
  pl_error_info err{};
  ~Resp() { pl_http_response_dispose(&r); }
};

int api(Http &h, const char *method, const std::string &path, Resp &out, const char *body = nullptr,
        unsigned flags = 0) {
  return pl_http_api(h.h, method, path.c_str(), body, flags, &out.r, &out.err);
}

std::string bearer() {
  return std::string("Bearer ") + kKey;
}

}  // namespace

TEST(ClientHttp, GetSendsKeyAndAcceptsJson) {
  FakeHttpServer srv([](const FakeRequest &) { return json_response(200, "[1,2,3]"); });
  Http h(srv.url());
  Resp r;
  ASSERT_EQ(api(h, "GET", "/v1/recordings?limit=10", r), PL_OK) << r.err.msg;
  EXPECT_EQ(r.r.status, 200);
  EXPECT_EQ(std::string(r.r.body, r.r.len), "[1,2,3]");
  auto reqs = srv.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].method, "GET");
  EXPECT_EQ(reqs[0].target, "/v1/recordings?limit=10");
  EXPECT_EQ(reqs[0].header("authorization"), bearer());
  EXPECT_EQ(reqs[0].header("accept"), "application/json");
  EXPECT_NE(reqs[0].header("user-agent").find("mcapkit/"), std::string::npos);
}

TEST(ClientHttp, ApiUrlWithPathPrefixAndTrailingSlash) {
  FakeHttpServer srv([](const FakeRequest &) { return json_response(200, "{}"); });
  Http h(srv.url() + "/api/");
  Resp r;
  ASSERT_EQ(api(h, "GET", "/v1/devices", r), PL_OK) << r.err.msg;
  EXPECT_EQ(srv.requests()[0].target, "/api/v1/devices");
  EXPECT_EQ(std::string(pl_http_api_url(h.h)), srv.url() + "/api");
}

TEST(ClientHttp, RejectsNonHttpUrls) {
  pl_http *h = nullptr;
  pl_error_info err;
  EXPECT_EQ(pl_http_new(&h, "ftp://example.com", kKey, nullptr, &err), PL_EINVAL);
  EXPECT_EQ(pl_http_new(&h, "", kKey, nullptr, &err), PL_EINVAL);
  EXPECT_EQ(pl_http_new(&h, "http://x/?a=b", kKey, nullptr, &err), PL_EINVAL);
  EXPECT_EQ(pl_http_new(&h, "http://127.0.0.1:1", "bad\nkey", nullptr, &err), PL_EINVAL);
  EXPECT_EQ(h, nullptr);
}

TEST(ClientHttp, RetriesServerErrorsThenSucceeds) {
  std::atomic<int> n{0};
  FakeHttpServer srv([&](const FakeRequest &) {
    int i = n++;
    if (i == 0) return json_response(503, "{\"error\":\"busy\"}");
    if (i == 1) return json_response(500, "{\"error\":\"oops\"}");
    return json_response(200, "{\"ok\":true}");
  });
  Http h(srv.url());
  Resp r;
  ASSERT_EQ(api(h, "GET", "/v1/recordings/abc", r), PL_OK) << r.err.msg;
  EXPECT_EQ(r.r.status, 200);
  EXPECT_EQ(srv.request_count(), 3u);
  EXPECT_EQ(h.stats().retries, 2u);
  EXPECT_EQ(h.stats().requests, 3u);
  ASSERT_EQ(h.log.size(), 2u);
  EXPECT_NE(h.log[0].find("503"), std::string::npos);
  EXPECT_NE(h.log[0].find("retrying"), std::string::npos);
}

TEST(ClientHttp, GivesUpAfterTheLastTryWithTheApiError) {
  FakeHttpServer srv(
      [](const FakeRequest &) { return json_response(503, "{\"error\":\"still busy\"}"); });
  Http h(srv.url());
  Resp r;
  EXPECT_EQ(api(h, "GET", "/v1/recordings", r), PL_EHTTP);
  EXPECT_EQ(srv.request_count(), 4u);
  EXPECT_EQ(r.err.http_status, 503);
  std::string msg = r.err.msg;
  EXPECT_NE(msg.find("GET /v1/recordings"), std::string::npos) << msg;
  EXPECT_NE(msg.find("503"), std::string::npos) << msg;
  EXPECT_NE(msg.find("after 4 tries"), std::string::npos) << msg;
  EXPECT_NE(msg.find("still busy"), std::string::npos) << msg;
}

TEST(ClientHttp, ClientErrorsAreNotRetriedAndMapped) {
  FakeHttpServer srv([](const FakeRequest &rq) {
    if (rq.path == "/v1/a") return json_response(404, "{\"error\":\"recording 'a' not found\"}");
    if (rq.path == "/v1/b") return json_response(401, "{\"error\":\"invalid API key\"}");
    if (rq.path == "/v1/c") return json_response(409, "{\"error\":\"conflict\"}");
    return json_response(400, "{\"error\":\"invalid 'start'\"}");
  });
  Http h(srv.url());
  Resp a, b, c, d;
  EXPECT_EQ(api(h, "GET", "/v1/a", a), PL_ENOTFOUND);
  EXPECT_NE(std::string(a.err.msg).find("recording 'a' not found"), std::string::npos);
  EXPECT_EQ(api(h, "GET", "/v1/b", b), PL_EAUTH);
  EXPECT_EQ(api(h, "GET", "/v1/c", c), PL_ECONFLICT);
  EXPECT_EQ(api(h, "GET", "/v1/d", d), PL_EHTTP);
  EXPECT_EQ(d.err.http_status, 400);
  EXPECT_EQ(srv.request_count(), 4u);
  for (const auto *e : {&a.err, &b.err, &c.err, &d.err})
    EXPECT_EQ(std::string(e->msg).find(kKey), std::string::npos);
}

TEST(ClientHttp, RetryAfterSecondsIsHonoured) {
  std::atomic<int> n{0};
  FakeHttpServer srv([&](const FakeRequest &) {
    if (n++ == 0) {
      FakeResponse r = json_response(429, "{\"error\":\"rate limit\"}");
      r.headers.push_back({"Retry-After", "1"});
      return r;
    }
    return json_response(200, "[]");
  });
  Http h(srv.url());
  Resp r;
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_EQ(api(h, "GET", "/v1/recordings", r), PL_OK) << r.err.msg;
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_GE(s, 1.0);
  EXPECT_LT(s, 3.0);
  EXPECT_EQ(srv.request_count(), 2u);
  EXPECT_EQ(h.stats().retries, 1u);
}

TEST(ClientHttp, RetryAfterHttpDateIsHonoured) {
  std::atomic<int> n{0};
  FakeHttpServer srv([&](const FakeRequest &) {
    if (n++ == 0) {
      char date[64];
      time_t t = time(nullptr) + 2;
      struct tm g;
      gmtime_r(&t, &g);
      strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &g);
      FakeResponse r = json_response(503, "{\"error\":\"maintenance\"}");
      r.headers.push_back({"Retry-After", date});
      return r;
    }
    return json_response(200, "[]");
  });
  Http h(srv.url());
  Resp r;
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_EQ(api(h, "GET", "/v1/recordings", r), PL_OK) << r.err.msg;
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_GE(s, 0.9);  // the date has whole seconds: at least one of the two
  EXPECT_LT(s, 4.0);
}

TEST(ClientHttp, RetryAfterBeyondTheLimitIsAClearError) {
  FakeHttpServer srv([](const FakeRequest &) {
    FakeResponse r = json_response(429, "{\"error\":\"slow down\"}");
    r.headers.push_back({"Retry-After", "3600"});
    return r;
  });
  pl_http_options o = fast_options();
  o.retry_after_max_s = 5;
  Http h(srv.url(), o);
  Resp r;
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(api(h, "GET", "/v1/recordings", r), PL_EHTTP);
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_LT(s, 2.0);
  EXPECT_EQ(srv.request_count(), 1u);
  EXPECT_NE(std::string(r.err.msg).find("retry after 3600 s"), std::string::npos) << r.err.msg;
}

TEST(ClientHttp, PostIsRepeatedOnlyWhenMarkedSafe) {
  FakeHttpServer srv(
      [](const FakeRequest &) { return json_response(503, "{\"error\":\"unavailable\"}"); });
  Http h(srv.url());
  Resp a;
  EXPECT_EQ(api(h, "POST", "/v1/devices", a, "{\"name\":\"x\"}"), PL_EHTTP);
  EXPECT_EQ(srv.request_count(), 1u);
  Resp b;
  EXPECT_EQ(api(h, "POST", "/v1/data/upload", b, "{\"key\":\"k\"}", PL_HTTP_RETRY_POST), PL_EHTTP);
  EXPECT_EQ(srv.request_count(), 5u);
  auto reqs = srv.requests();
  for (size_t i = 1; i < reqs.size(); i++) {
    EXPECT_EQ(reqs[i].body, "{\"key\":\"k\"}");
    EXPECT_EQ(reqs[i].header("content-type"), "application/json");
  }
  Resp c;
  EXPECT_EQ(api(h, "GET", "/v1/x", c, nullptr, PL_HTTP_NO_RETRY), PL_EHTTP);
  EXPECT_EQ(srv.request_count(), 6u);
}

TEST(ClientHttp, ConnectionResetAndCutBodiesAreRetried) {
  std::atomic<int> n{0};
  FakeHttpServer srv([&](const FakeRequest &) {
    int i = n++;
    FakeResponse r = json_response(200, "{\"id\":\"abcdefghijklmnop\"}");
    if (i == 0) r.reset = true;
    if (i == 1) r.cut_after = 5;
    return r;
  });
  Http h(srv.url());
  Resp r;
  ASSERT_EQ(api(h, "GET", "/v1/recordings/x", r), PL_OK) << r.err.msg;
  EXPECT_EQ(std::string(r.r.body, r.r.len), "{\"id\":\"abcdefghijklmnop\"}");
  EXPECT_EQ(srv.request_count(), 3u);
  EXPECT_EQ(h.stats().retries, 2u);
}

TEST(ClientHttp, ConnectionRefusedFailsAfterTheLastTry) {
  int port;
  {
    FakeHttpServer tmp([](const FakeRequest &) { return json_response(200, "{}"); });
    port = tmp.port();
  }
  pl_http_options o = fast_options();
  o.max_attempts = 2;
  Http h("http://127.0.0.1:" + std::to_string(port), o);
  Resp r;
  EXPECT_EQ(api(h, "GET", "/v1/recordings", r), PL_ENET);
  EXPECT_EQ(r.err.curl_code, CURLE_COULDNT_CONNECT);
  std::string msg = r.err.msg;
  EXPECT_NE(msg.find("cannot connect"), std::string::npos) << msg;
  EXPECT_NE(msg.find("after 2 tries"), std::string::npos) << msg;
  EXPECT_EQ(h.stats().retries, 1u);
}

TEST(ClientHttp, ResponseBodiesAreCapped) {
  FakeHttpServer srv(
      [](const FakeRequest &) { return json_response(200, "[" + std::string(5000, ' ') + "]"); });
  pl_http_options o = fast_options();
  o.max_body = 1000;
  Http h(srv.url(), o);
  Resp r;
  EXPECT_EQ(api(h, "GET", "/v1/recordings", r), PL_EHTTP);
  EXPECT_NE(std::string(r.err.msg).find("larger than 1000 bytes"), std::string::npos) << r.err.msg;
  EXPECT_EQ(srv.request_count(), 1u);
}

TEST(ClientHttp, TotalTimeoutOnSlowReplies) {
  FakeHttpServer srv([](const FakeRequest &) {
    FakeResponse r = json_response(200, "[]");
    r.delay_ms = 1500;
    return r;
  });
  pl_http_options o = fast_options();
  o.timeout_s = 0.3;
  o.max_attempts = 2;
  Http h(srv.url(), o);
  Resp r;
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(api(h, "GET", "/v1/recordings", r), PL_ETIMEOUT);
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_LT(s, 1.4);
  EXPECT_EQ(srv.request_count(), 2u);
}

TEST(ClientHttp, SlowRepliesWithinTheTimeoutSucceed) {
  FakeHttpServer srv([](const FakeRequest &) {
    FakeResponse r = json_response(200, "[]");
    r.delay_ms = 300;
    return r;
  });
  Http h(srv.url());
  Resp r;
  EXPECT_EQ(api(h, "GET", "/v1/recordings", r), PL_OK) << r.err.msg;
  EXPECT_EQ(srv.request_count(), 1u);
}

TEST(ClientHttp, OneConnectionIsKeptAlive) {
  FakeHttpServer srv([](const FakeRequest &) { return json_response(200, "[]"); });
  Http h(srv.url());
  for (int i = 0; i < 5; i++) {
    Resp r;
    ASSERT_EQ(api(h, "GET", "/v1/recordings", r), PL_OK);
  }
  EXPECT_EQ(srv.request_count(), 5u);
  EXPECT_EQ(srv.connections(), 1);
  EXPECT_EQ(h.stats().connections, 1u);
}

TEST(ClientHttp, CancelStopsAWait) {
  FakeHttpServer srv([](const FakeRequest &) {
    FakeResponse r = json_response(503, "{}");
    r.headers.push_back({"Retry-After", "30"});
    return r;
  });
  volatile int cancel = 0;
  pl_http_options o = fast_options();
  o.cancel = &cancel;
  Http h(srv.url(), o);
  std::thread t([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    cancel = 1;
  });
  Resp r;
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(api(h, "GET", "/v1/recordings", r), PL_ECANCELED);
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  t.join();
  EXPECT_LT(s, 2.0);
}

// ---------------------------------------------------------------- key safety

TEST(ClientHttp, PutToASignedLinkStreamsTheFileWithoutTheKey) {
  TempDir tmp;
  std::string data(300000, 'x');
  for (size_t i = 0; i < data.size(); i++) data[i] = static_cast<char>(i * 7 + 3);
  write_file_or_throw(tmp.file("f.mcap"), data);
  FakeHttpServer srv([](const FakeRequest &) { return json_response(200, "{}"); });
  Http h(srv.url());
  std::string link = srv.url() + "/signed/upload/req_1?expires=99&sig=abc";
  struct Prog {
    uint64_t last = 0, total = 0;
    int calls = 0;
  } prog;
  pl_http_response resp;
  pl_error_info err;
  auto cb = [](void *u, uint64_t done, uint64_t total) {
    auto *p = static_cast<Prog *>(u);
    p->last = done;
    p->total = total;
    p->calls++;
    return 0;
  };
  ASSERT_EQ(pl_http_put_file(h.h, link.c_str(), tmp.file("f.mcap").c_str(), cb, &prog, &resp, &err),
            PL_OK)
      << err.msg;
  pl_http_response_dispose(&resp);
  auto reqs = srv.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].method, "PUT");
  EXPECT_EQ(reqs[0].target, "/signed/upload/req_1?expires=99&sig=abc");
  EXPECT_FALSE(reqs[0].has_header("authorization"));
  EXPECT_EQ(reqs[0].header("content-type"), "application/octet-stream");
  EXPECT_EQ(reqs[0].body, data);
  EXPECT_GT(prog.calls, 0);
  EXPECT_EQ(prog.total, data.size());
  EXPECT_EQ(prog.last, data.size());
}

TEST(ClientHttp, PutIsRepeatedWholeAfterAFailure) {
  TempDir tmp;
  std::string data(20000, 'a');
  write_file_or_throw(tmp.file("f.mcap"), data);
  std::atomic<int> n{0};
  FakeHttpServer srv([&](const FakeRequest &) {
    int i = n++;
    if (i == 0) return json_response(500, "{\"error\":\"x\"}");
    if (i == 1) {
      FakeResponse r;
      r.reset = true;
      return r;
    }
    return json_response(200, "{}");
  });
  Http h(srv.url());
  pl_http_response resp;
  pl_error_info err;
  std::string link = srv.url() + "/signed/upload/r?sig=s";
  ASSERT_EQ(pl_http_put_file(h.h, link.c_str(), tmp.file("f.mcap").c_str(), nullptr, nullptr, &resp,
                             &err),
            PL_OK)
      << err.msg;
  pl_http_response_dispose(&resp);
  auto reqs = srv.requests();
  ASSERT_EQ(reqs.size(), 3u);
  for (const auto &rq : reqs) {
    EXPECT_EQ(rq.body, data);
    EXPECT_FALSE(rq.has_header("authorization"));
  }
}

TEST(ClientHttp, ExpiredLinkIsAnAuthErrorWithoutTheSignatureInTheMessage) {
  TempDir tmp;
  write_file_or_throw(tmp.file("f.mcap"), "data");
  FakeHttpServer srv([](const FakeRequest &) {
    return json_response(403, "{\"error\":\"the signed link expired\"}");
  });
  Http h(srv.url());
  pl_http_response resp;
  pl_error_info err;
  std::string link = srv.url() + "/signed/upload/r?expires=1&sig=SECRETSIG";
  EXPECT_EQ(pl_http_put_file(h.h, link.c_str(), tmp.file("f.mcap").c_str(), nullptr, nullptr, &resp,
                             &err),
            PL_EAUTH);
  pl_http_response_dispose(&resp);
  EXPECT_NE(std::string(err.msg).find("expired"), std::string::npos);
  EXPECT_EQ(std::string(err.msg).find("SECRETSIG"), std::string::npos) << err.msg;
}

TEST(ClientHttp, RedirectToAnotherHostDropsTheKey) {
  FakeHttpServer other([](const FakeRequest &) { return json_response(200, "\"from other\""); });
  std::string target = other.url() + "/bucket/obj?X-Signature=zz";
  FakeHttpServer api_srv([&](const FakeRequest &) {
    FakeResponse r = json_response(302, "{}");
    r.headers.push_back({"Location", target});
    return r;
  });
  Http h(api_srv.url());
  Resp r;
  ASSERT_EQ(api(h, "GET", "/v1/recording-attachments/a/download", r), PL_OK) << r.err.msg;
  EXPECT_EQ(std::string(r.r.body, r.r.len), "\"from other\"");
  ASSERT_EQ(api_srv.request_count(), 1u);
  EXPECT_EQ(api_srv.requests()[0].header("authorization"), bearer());
  ASSERT_EQ(other.request_count(), 1u);
  EXPECT_FALSE(other.requests()[0].has_header("authorization"));
  EXPECT_EQ(other.requests()[0].target, "/bucket/obj?X-Signature=zz");
}

TEST(ClientHttp, RedirectToASignedPathOnTheSameHostDropsTheKey) {
  FakeHttpServer srv([](const FakeRequest &rq) {
    if (rq.path == "/v1/recording-attachments/a/download") {
      FakeResponse r = json_response(302, "{}");
      r.headers.push_back({"Location", "/signed/attachment/a?sig=1"});
      return r;
    }
    return json_response(200, "\"bytes\"");
  });
  Http h(srv.url());
  Resp r;
  ASSERT_EQ(api(h, "GET", "/v1/recording-attachments/a/download", r), PL_OK) << r.err.msg;
  auto reqs = srv.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_TRUE(reqs[0].has_header("authorization"));
  EXPECT_EQ(reqs[1].path, "/signed/attachment/a");
  EXPECT_FALSE(reqs[1].has_header("authorization"));
}

TEST(ClientHttp, RedirectWithinTheApiKeepsTheKey) {
  FakeHttpServer srv([](const FakeRequest &rq) {
    if (rq.path == "/v1/old") {
      FakeResponse r = json_response(307, "{}");
      r.headers.push_back({"Location", "/v1/new"});
      return r;
    }
    return json_response(200, "{}");
  });
  Http h(srv.url());
  Resp r;
  ASSERT_EQ(api(h, "GET", "/v1/old", r), PL_OK) << r.err.msg;
  auto reqs = srv.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[1].path, "/v1/new");
  EXPECT_EQ(reqs[1].header("authorization"), bearer());
}

TEST(ClientHttp, RedirectLoopsEnd) {
  FakeHttpServer srv([](const FakeRequest &) {
    FakeResponse r = json_response(302, "{}");
    r.headers.push_back({"Location", "/v1/loop"});
    return r;
  });
  Http h(srv.url());
  Resp r;
  EXPECT_EQ(api(h, "GET", "/v1/loop", r), PL_EHTTP);
  EXPECT_NE(std::string(r.err.msg).find("redirects"), std::string::npos);
  EXPECT_EQ(srv.request_count(), 6u);
}

TEST(ClientHttp, NoRedirectFlagReturnsTheLocation) {
  FakeHttpServer srv([](const FakeRequest &) {
    FakeResponse r = json_response(302, "{}");
    r.headers.push_back({"Location", "/signed/x?sig=1"});
    return r;
  });
  Http h(srv.url());
  Resp r;
  ASSERT_EQ(api(h, "GET", "/v1/a", r, nullptr, PL_HTTP_NO_REDIRECT), PL_OK);
  EXPECT_EQ(r.r.status, 302);
  ASSERT_NE(r.r.location, nullptr);
  EXPECT_EQ(std::string(r.r.location), srv.url() + "/signed/x?sig=1");
  EXPECT_EQ(srv.request_count(), 1u);
}

TEST(ClientHttp, DownloadsGoToTheFileWithoutTheKeyAndRetriesStartOver) {
  TempDir tmp;
  std::string data(100000, 'q');
  for (size_t i = 0; i < data.size(); i++) data[i] = static_cast<char>(i % 251);
  std::atomic<int> n{0};
  FakeHttpServer srv([&](const FakeRequest &) {
    FakeResponse r;
    r.status = 200;
    r.body = data;
    if (n++ == 0) r.cut_after = 40000;
    return r;
  });
  Http h(srv.url());
  std::string path = tmp.file("out.bin");
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0644);
  ASSERT_GE(fd, 0);
  uint64_t written = 0;
  long status = 0;
  pl_error_info err;
  std::string link = srv.url() + "/signed/stream/s?sig=1";
  ASSERT_EQ(pl_http_get_to_fd(h.h, link.c_str(), fd, 1, nullptr, nullptr, &written, &status, &err),
            PL_OK)
      << err.msg;
  close(fd);
  EXPECT_EQ(status, 200);
  EXPECT_EQ(written, data.size());
  EXPECT_EQ(read_file_or_throw(path), data);
  for (const auto &rq : srv.requests()) EXPECT_FALSE(rq.has_header("authorization"));
}

TEST(ClientHttp, ABrokenDownloadWithoutRetryKeepsWhatArrived) {
  TempDir tmp;
  std::string data(50000, 'z');
  FakeHttpServer srv([&](const FakeRequest &) {
    FakeResponse r;
    r.body = data;
    r.cut_after = 20000;
    return r;
  });
  Http h(srv.url());
  std::string path = tmp.file("out.bin");
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0644);
  uint64_t written = 0;
  long status = 0;
  pl_error_info err;
  std::string link = srv.url() + "/s";
  EXPECT_EQ(pl_http_get_to_fd(h.h, link.c_str(), fd, 0, nullptr, nullptr, &written, &status, &err),
            PL_ENET);
  close(fd);
  EXPECT_EQ(written, 20000u);
  EXPECT_EQ(read_file_or_throw(path).size(), 20000u);
  EXPECT_EQ(srv.request_count(), 1u);
}

TEST(ClientHttp, ErrorBodiesOfDownloadsDoNotGoToTheFile) {
  TempDir tmp;
  FakeHttpServer srv(
      [](const FakeRequest &) { return json_response(404, "{\"error\":\"no such export\"}"); });
  Http h(srv.url());
  std::string path = tmp.file("out.bin");
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0644);
  pl_error_info err;
  std::string link = srv.url() + "/signed/stream/x?sig=1";
  EXPECT_EQ(pl_http_get_to_fd(h.h, link.c_str(), fd, 1, nullptr, nullptr, nullptr, nullptr, &err),
            PL_ENOTFOUND);
  close(fd);
  EXPECT_EQ(read_file_or_throw(path).size(), 0u);
  EXPECT_NE(std::string(err.msg).find("no such export"), std::string::npos);
}

TEST(ClientHttp, TheKeyNeverAppearsInLogLines) {
  std::atomic<int> n{0};
  FakeHttpServer other([](const FakeRequest &) { return json_response(200, "{}"); });
  FakeHttpServer srv([&](const FakeRequest &) {
    if (n++ < 2) return json_response(503, std::string("{\"error\":\"x\"}"));
    FakeResponse r = json_response(302, "{}");
    r.headers.push_back({"Location", other.url() + "/x?sig=SIG"});
    return r;
  });
  Http h(srv.url());
  Resp r;
  ASSERT_EQ(api(h, "GET", "/v1/a", r), PL_OK);
  ASSERT_GE(h.log.size(), 3u);
  for (const auto &line : h.log) {
    EXPECT_EQ(line.find(kKey), std::string::npos) << line;
    EXPECT_EQ(line.find("SIG"), std::string::npos) << line;
  }
  EXPECT_NE(h.log.back().find("without the API key"), std::string::npos) << h.log.back();
}
