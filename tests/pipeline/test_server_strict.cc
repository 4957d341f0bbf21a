// test_server_strict.cc - the local site is strict about what it takes and
// what it gives (issue #15): HTTP request framing and header fields (conflicting
// Content-Length, Transfer-Encoding other than chunked, control and NUL bytes in
// headers, Host on HTTP/1.1), Content-Type, limits on the query, the header
// fields, device properties and links, bodies cut off at their limit as they
// arrive, request bodies that must be strict RFC 8259 JSON in UTF-8, and
// responses that are valid UTF-8 JSON even when recordings hold other bytes.
// Raw sockets on loopback; every refusal must come as an answer, quickly.
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <sys/stat.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "fake_http.h"
#include "test_server_util.h"

namespace mcapkit_test {
namespace {

// An independent UTF-8 check (RFC 3629), so the server is not judged by its own code.
bool valid_utf8(const std::string &s) {
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n;
    uint32_t cp;
    if (c < 0x80) {
      i++;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      n = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    for (size_t k = 1; k <= n; k++) {
      if (i + k >= s.size()) return false;
      unsigned char d = static_cast<unsigned char>(s[i + k]);
      if ((d & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3F);
    }
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000)) return false;
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += n + 1;
  }
  return true;
}

// Status code of a raw HTTP answer ("HTTP/1.1 400 ..." -> 400), 0 if none.
int status_of(const std::string &raw) {
  if (raw.compare(0, 9, "HTTP/1.1 ") != 0 || raw.size() < 12) return 0;
  return std::stoi(raw.substr(9, 3));
}

std::string body_of(const std::string &raw) {
  size_t p = raw.find("\r\n\r\n");
  return p == std::string::npos ? "" : raw.substr(p + 4);
}

class ServerStrict : public ::testing::Test {
 protected:
  void SetUp() override {
    s = std::make_unique<TestServer>(dir.file("data"), [](pl_server_options &o) {
      o.hold_imports = 1;
      o.max_upload = 1 << 20;
    });
    ASSERT_TRUE(s->ok());
    host = s->url().substr(7);
    auth = "Authorization: Bearer " + s->key() + "\r\n";
  }
  // Send raw bytes; the answer must come within 5 s (never silence or a hang).
  std::string raw(const std::string &req, double timeout = 5) {
    auto t0 = std::chrono::steady_clock::now();
    std::string got = http_raw(s->url(), req, 0, 0, timeout + 5);
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_LT(secs, timeout) << "no timely answer to: " << req.substr(0, 120);
    EXPECT_TRUE(valid_utf8(body_of(got))) << got;
    return got;
  }
  std::string get(const std::string &target, const std::string &headers = "") {
    return raw("GET " + target + " HTTP/1.1\r\nHost: " + host + "\r\n" + auth + headers +
               "Connection: close\r\n\r\n");
  }
  std::string post(const std::string &path, const std::string &body,
                   const std::string &ctype = "Content-Type: application/json\r\n") {
    return raw("POST " + path + " HTTP/1.1\r\nHost: " + host + "\r\n" + auth + ctype +
               "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" +
               body);
  }
  TempDir dir;
  std::unique_ptr<TestServer> s;
  std::string host, auth;
};

TEST_F(ServerStrict, RequestFramingMustBeUnambiguous) {
  std::string hdr = "POST /v1/devices HTTP/1.1\r\nHost: " + host + "\r\n" + auth +
                    "Content-Type: application/json\r\nConnection: close\r\n";
  // two different lengths: refused, not read by the first one (and not left hanging)
  std::string r = raw(hdr + "Content-Length: 15\r\nContent-Length: 100\r\n\r\n{\"name\": \"aa\"}");
  EXPECT_EQ(status_of(r), 400) << r;
  EXPECT_NE(r.find("conflicting Content-Length"), std::string::npos);
  EXPECT_EQ(status_of(raw(hdr + "Content-Length: 14\r\nContent-Length: 14\r\n\r\n{\"name\": \"ab\"}")),
            200);
  EXPECT_EQ(status_of(raw(hdr + "Content-Length: 1x\r\n\r\n{")), 400);
  // transfer codings other than chunked, alone or with Content-Length
  for (const char *te : {"gzip, chunked", "gzip", "chunked, chunked", "identity"}) {
    r = raw(hdr + "Transfer-Encoding: " + te + "\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
    EXPECT_EQ(status_of(r), 400) << te << ": " << r;
  }
  EXPECT_EQ(status_of(raw(hdr + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"
                                "0\r\n\r\n")),
            400);
  EXPECT_EQ(status_of(raw(hdr + "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n")),
            400);
  // chunked alone is fine
  EXPECT_EQ(status_of(raw(hdr + "Transfer-Encoding: chunked\r\n\r\ne\r\n{\"name\": \"ac\"}\r\n0\r\n\r\n")),
            200);
  // Host: required once on HTTP/1.1, not on HTTP/1.0
  r = raw("GET /v1/devices HTTP/1.1\r\n" + auth + "Connection: close\r\n\r\n");
  EXPECT_EQ(status_of(r), 400) << r;
  EXPECT_NE(r.find("Host"), std::string::npos);
  EXPECT_EQ(status_of(raw("GET /v1/devices HTTP/1.1\r\nHost: a\r\nHost: b\r\n" + auth +
                          "Connection: close\r\n\r\n")),
            400);
  EXPECT_EQ(status_of(raw("GET /v1/devices HTTP/1.0\r\n" + auth + "\r\n")), 200);
}

TEST_F(ServerStrict, ControlAndNulBytesInHeadersAreRefused) {
  const std::string key = s->key();
  std::string nul = "GET /v1/devices HTTP/1.1\r\nHost: " + host + "\r\nAuthorization: Bearer " +
                    key + std::string(1, '\0') + "junk\r\nConnection: close\r\n\r\n";
  std::string r = raw(nul);
  EXPECT_EQ(status_of(r), 400) << r;
  EXPECT_EQ(r.find("junk"), std::string::npos);
  // the same as the last field too
  r = raw("GET /v1/devices HTTP/1.1\r\nHost: " + host + "\r\nAuthorization: Bearer " + key +
          std::string(1, '\0') + "junk\r\n\r\n");
  EXPECT_EQ(status_of(r), 400) << r;
  r = get("/v1/devices", std::string("X-A: a") + std::string(1, '\0') + "b\r\n");
  EXPECT_EQ(status_of(r), 400) << r;
  for (char c : {'\x01', '\x1b', '\x7f', '\r'}) {
    r = raw("GET /v1/devices HTTP/1.1\r\nHost: " + host + "\r\nAuthorization: Bearer " + key +
            std::string(1, c) + "\r\nConnection: close\r\n\r\n");
    EXPECT_EQ(status_of(r), 400) << static_cast<int>(c) << ": " << r;
  }
  EXPECT_EQ(status_of(get("/v1/devices", "X A: b\r\n")), 400);
  // tabs and trailing blanks are fine, as are cookies and bare line feeds
  EXPECT_EQ(status_of(get("/v1/devices", "X-A:\t v \t\r\nCookie: a=1; b=2\r\n")), 200);
  EXPECT_EQ(status_of(raw("GET /v1/devices HTTP/1.1\nHost: " + host + "\n" + auth.substr(0, auth.size() - 2) +
                          "\nConnection: close\n\n")),
            200);
}

TEST_F(ServerStrict, ContentTypeMustBeJson) {
  std::string body = "{\"name\": \"ct\"}";
  EXPECT_EQ(status_of(post("/v1/devices", body, "")), 415);
  EXPECT_EQ(status_of(post("/v1/devices", body, "Content-Type: text/plain\r\n")), 415);
  EXPECT_EQ(status_of(post("/v1/devices", body, "Content-Type: application/jsonx\r\n")), 415);
  EXPECT_EQ(status_of(post("/v1/devices", body, "Content-Type: application/json; charset=latin1\r\n")),
            415);
  EXPECT_EQ(status_of(post("/v1/devices", body, "Content-Type: application/json; charset=UTF-8\r\n")),
            200);
  // a request without a body needs none
  EXPECT_EQ(status_of(raw("DELETE /v1/devices/ct HTTP/1.1\r\nHost: " + host + "\r\n" + auth +
                          "Connection: close\r\n\r\n")),
            200);
}

TEST_F(ServerStrict, QueryAndHeaderLimitsAreAnswered) {
  auto params = [](int n) {
    std::string q;
    for (int i = 0; i < n; i++) q += (i ? "&p" : "p") + std::to_string(i) + "=1";
    return q;
  };
  // 5,000 parameters (which exhaust libmicrohttpd's connection memory) get an answer
  for (int n : {65, 5000, 20000}) {
    std::string r = get("/v1/devices?" + params(n));
    EXPECT_EQ(status_of(r), 414) << n << ": " << r.substr(0, 200);
  }
  // at the limit, the query is read (and its unknown parameters refused as usual)
  std::string r = get("/v1/devices?" + params(64));
  EXPECT_EQ(status_of(r), 400) << r;
  EXPECT_NE(r.find("unknown query parameter"), std::string::npos);
  EXPECT_EQ(status_of(get("/v1/devices?query=" + std::string(8200, 'q'))), 414);
  EXPECT_EQ(status_of(get("/v1/devices/" + std::string(17000, 'd'))), 414);
  // header fields: count and size
  std::string many;
  for (int i = 0; i < 70; i++) many += "X-H" + std::to_string(i) + ": v\r\n";
  r = get("/v1/devices", many);
  EXPECT_EQ(status_of(r), 431) << r;
  EXPECT_EQ(status_of(get("/v1/devices", "X-Big: " + std::string(33000, 'b') + "\r\n")), 431);
  std::string lots;
  for (int i = 0; i < 3000; i++) lots += "a:\r\n";
  EXPECT_EQ(status_of(get("/v1/devices", lots)), 431);
  // the server is fine afterwards
  EXPECT_EQ(s->get("/v1/devices").status, 200);
}

// Send a chunked body that never ends; the 413 must arrive while it is being sent.
std::string endless_chunked(const std::string &url, const std::string &head, double *secs,
                            uint64_t *sent) {
  std::string hostport = url.substr(7);
  int port = std::stoi(hostport.substr(hostport.find(':') + 1));
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(port));
  sa.sin_addr.s_addr = htonl(0x7f000001);
  if (connect(fd, reinterpret_cast<sockaddr *>(&sa), sizeof sa) != 0) {
    close(fd);
    return "";
  }
  std::string chunk = "10000\r\n" + std::string(65536, 'a') + "\r\n", got;
  (void)send(fd, head.data(), head.size(), MSG_NOSIGNAL);
  auto t0 = std::chrono::steady_clock::now();
  *sent = 0;
  for (;;) {
    *secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (*secs > 20 || *sent > (4ull << 30)) break;
    pollfd p = {fd, POLLIN | POLLOUT, 0};
    if (poll(&p, 1, 1000) <= 0) continue;
    if (p.revents & POLLIN) {
      char buf[4096];
      ssize_t n = recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      got.append(buf, static_cast<size_t>(n));
      continue;
    }
    if (p.revents & POLLOUT) {
      ssize_t n = send(fd, chunk.data(), chunk.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) *sent += static_cast<uint64_t>(n);
    }
    if (p.revents & (POLLERR | POLLHUP)) {
      // drain what arrived before the end
      char buf[4096];
      ssize_t n;
      while ((n = recv(fd, buf, sizeof buf, MSG_DONTWAIT)) > 0) got.append(buf, static_cast<size_t>(n));
      break;
    }
  }
  close(fd);
  return got;
}

TEST_F(ServerStrict, EndlessChunkedBodiesAreCutOffAtTheLimit) {
  double secs = 0;
  uint64_t sent = 0;
  std::string r = endless_chunked(
      s->url(),
      "POST /v1/devices HTTP/1.1\r\nHost: " + host + "\r\n" + auth +
          "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
      &secs, &sent);
  EXPECT_EQ(status_of(r), 413) << r;
  EXPECT_LT(secs, 5);
  EXPECT_LT(sent, 256ull << 20) << "read far beyond the 1 MiB limit";
  // an upload link (limit 1 MiB here): the same, and the link stays usable
  HttpResponse l = s->post("/v1/data/upload", "{\"filename\": \"a.mcap\", \"key\": \"k\"}");
  std::string link = parse_json(l)["link"].str();
  r = endless_chunked(s->url(),
                      "PUT " + link.substr(link.find("/signed/")) + " HTTP/1.1\r\nHost: " + host +
                          "\r\nTransfer-Encoding: chunked\r\n\r\n",
                      &secs, &sent);
  EXPECT_EQ(status_of(r), 413) << r;
  EXPECT_LT(secs, 5);
  EXPECT_EQ(http_put(link, "small").status, 200);
  EXPECT_EQ(s->get("/v1/devices").status, 200);
}

TEST_F(ServerStrict, RequestBodiesAreStrictJsonInUtf8) {
  const char *bad[] = {
      "{'name': 'x'}",               // single quotes
      "{\"name\": 'x'}",
      "{\"name\": \"x\",}",          // trailing comma
      "{\"name\": \"x\" /* c */}",   // comments
      "// c\n{\"name\": \"x\"}",
      "{\"name\": \"x\", \"properties\": {\"a\": NaN}}",
      "{\"name\": \"x\", \"properties\": {\"a\": Infinity}}",
      "{\"name\": \"x\", \"properties\": {\"a\": 01}}",
      "{\"name\": \"x\", \"properties\": {\"a\": 1.}}",
      "{\"name\": \"x\", \"properties\": {\"a\": .5}}",
      "{\"name\": \"x\", \"properties\": {\"a\": +1}}",
      "{\"name\": \"x\", \"properties\": {\"a\": \"t\tb\"}}",   // raw control character
      "{\"name\": \"x\", \"properties\": {\"a\": \"\\ud800\"}}", // lone surrogate
      "{\"name\": \"x\", \"properties\": {\"a\": \"\\u0000\"}}",
      "{\"name\": \"x\", \"properties\": {\"a\": \"\\x41\"}}",
      "{\"name\": \"x\"} {}",
      "{\"name\": \"x\", \"name\": \"y\"}",                     // a name twice
      "\xEF\xBB\xBF{\"name\": \"x\"}",                          // byte order mark
      "{\"name\": \"x\", \"properties\": {\"a\": \"\xff\"}}",   // not UTF-8
      "{\"name\": \"x\", \"properties\": {\"a\": \"\xc0\xaf\"}}",         // overlong
      "{\"name\": \"x\", \"properties\": {\"a\": \"\xed\xa0\x80\"}}",     // surrogate
      "{\"name\": \"x\", \"properties\": {\"a\": \"\xf4\x90\x80\x80\"}}", // above U+10FFFF
      "{\"name\": \"x\", \"properties\": {\"\xfe\": 1}}",
  };
  for (const char *b : bad) {
    std::string r = post("/v1/devices", b);
    EXPECT_EQ(status_of(r), 400) << b << ": " << r;
    // the error names a byte offset, never the bytes
    EXPECT_TRUE(valid_utf8(body_of(r))) << r;
    EXPECT_EQ(body_of(r).find('\xff'), std::string::npos);
  }
  std::string deep = "{\"name\": \"x\", \"properties\": " + std::string(40, '[') + std::string(40, ']') + "}";
  EXPECT_EQ(status_of(post("/v1/devices", deep)), 400);
  // what RFC 8259 allows is taken, escapes and all
  std::string r = post("/v1/devices",
                       "{ \"name\" : \"ok\" ,\n\"properties\": {\"t\": \"caf\xc3\xa9 \\u00e9 \\ud83d\\ude00 "
                       "\\\" \\\\ \\/ \\n\", \"n\": -1.5e3, \"b\": true, \"z\": 0}}\r\n");
  ASSERT_EQ(status_of(r), 200) << r;
  Json d = Json::parse(body_of(r));
  EXPECT_EQ(d["properties"]["t"].str(), "caf\xc3\xa9 \xc3\xa9 \xf0\x9f\x98\x80 \" \\ / \n");
}

TEST_F(ServerStrict, WhatAClientCanGrowIsBounded) {
  // properties: count, value size, total size; a PATCH that would exceed is refused whole
  std::string props;
  for (int i = 0; i < 101; i++) props += (i ? ", \"p" : "\"p") + std::to_string(i) + "\": 1";
  EXPECT_EQ(s->post("/v1/devices", "{\"name\": \"d\", \"properties\": {" + props + "}}").status, 400);
  EXPECT_EQ(s->post("/v1/devices", "{\"name\": \"d\", \"properties\": {\"v\": \"" +
                                       std::string(1025, 'v') + "\"}}")
                .status,
            400);
  ASSERT_EQ(s->post("/v1/devices", "{\"name\": \"d\"}").status, 200);
  for (int batch = 0; batch < 2; batch++) {
    std::string p;
    for (int i = 0; i < 50; i++)
      p += (i ? ", \"b" : "\"b") + std::to_string(batch) + "_" + std::to_string(i) + "\": 1";
    EXPECT_EQ(s->patch("/v1/devices/d", "{\"properties\": {" + p + "}}").status, 200);
  }
  HttpResponse over = s->patch("/v1/devices/d", "{\"properties\": {\"one_more\": 1}}");
  EXPECT_EQ(over.status, 400) << over.body;
  EXPECT_EQ(parse_json(s->get("/v1/devices/d"))["properties"].size(), 100u);
  // the total size: 16 values of 1 KiB are too many together
  ASSERT_EQ(s->post("/v1/devices", "{\"name\": \"e\"}").status, 200);
  int ok = 0;
  for (int i = 0; i < 20; i++) {
    HttpResponse p = s->patch("/v1/devices/e", "{\"properties\": {\"k" + std::to_string(i) + "\": \"" +
                                                   std::string(1000, 'x') + "\"}}");
    ok += p.status == 200;
    if (p.status != 200) {
      EXPECT_EQ(p.status, 400);
    }
  }
  EXPECT_EQ(ok, 16);
  // upload links waiting for their upload are bounded (429, Retry-After)
  int links = 0;
  HttpResponse last;
  for (int i = 0; i < 1100; i++) {
    last = s->post("/v1/data/upload", "{\"filename\": \"a.mcap\", \"key\": \"k" + std::to_string(i) + "\"}");
    if (last.status != 200) break;
    links++;
  }
  EXPECT_EQ(links, 1000);
  EXPECT_EQ(last.status, 429);
  EXPECT_FALSE(last.header("retry-after").empty());
}

// A recording whose names are not UTF-8: topic, schema, metadata, attachment.
std::string write_bad_names(const std::string &path) {
  mcap_sink sink;
  mcap_error_info err;
  EXPECT_EQ(mcap_sink_open_file(&sink, path.c_str(), &err), MCAP_OK);
  mcap_writer *w = nullptr;
  EXPECT_EQ(mcap_writer_open(&w, &sink, nullptr), MCAP_OK);
  uint16_t sid = 0, cid = 0;
  const std::string topic = "/cam\xff\xfe/im\xc0\xaf" "g", schema = "sch\xed\xa0\x80" "ema";
  mcap_writer_add_schema(w, {schema.data(), static_cast<uint32_t>(schema.size())}, mcap_str_c("jsonschema"),
                         {reinterpret_cast<const uint8_t *>("{}"), 2}, &sid);
  EXPECT_EQ(mcap_writer_add_channel(w, sid, {topic.data(), static_cast<uint32_t>(topic.size())},
                                    mcap_str_c("json"), nullptr, 0, &cid),
            MCAP_OK);
  for (uint64_t t = 1; t <= 5; t++) {
    mcap_message m{};
    m.channel_id = cid;
    m.log_time = m.publish_time = 1700000000000000000ull + t * 1000000ull;
    m.data = {reinterpret_cast<const uint8_t *>("{}"), 2};
    EXPECT_EQ(mcap_writer_write_message(w, &m), MCAP_OK);
  }
  const std::string mk = "k\xff", mv = "v\x80", mn = "me\xfe" "ta";
  mcap_kv kv = {{mk.data(), 2}, {mv.data(), 2}};
  EXPECT_EQ(mcap_writer_write_metadata(w, {mn.data(), static_cast<uint32_t>(mn.size())}, &kv, 1), MCAP_OK);
  mcap_kv dev = {mcap_str_c("deviceName"), mcap_str_c("dev-utf8")};
  EXPECT_EQ(mcap_writer_write_metadata(w, mcap_str_c("foxglove"), &dev, 1), MCAP_OK);
  const std::string an = "att\xff.bin", am = "app/\xc3";
  mcap_attachment a{};
  a.log_time = 1700000000000000001ull;
  a.name = {an.data(), static_cast<uint32_t>(an.size())};
  a.media_type = {am.data(), static_cast<uint32_t>(am.size())};
  a.data = {reinterpret_cast<const uint8_t *>("xyz"), 3};
  EXPECT_EQ(mcap_writer_write_attachment(w, &a), MCAP_OK);
  EXPECT_EQ(mcap_writer_close(w), MCAP_OK);
  mcap_writer_free(w);
  mcap_sink_commit(&sink, &err);
  mcap_sink_close(&sink, &err);
  return topic;
}

TEST(ServerUtf8, NamesFromRecordingsAreValidUtf8InJsonAndByteExactOnDisk) {
  TempDir dir;
  std::string file = dir.file("bad.mcap");
  std::string topic = write_bad_names(file);
  TestServer s(dir.file("data"));
  ASSERT_TRUE(s.ok());
  std::string rid = upload(s, "{\"filename\": \"bad.mcap\", \"key\": \"bad\"}", read_file_or_throw(file));
  ASSERT_TRUE(s.wait_imports());
  Json imp = pending_import(s, rid);
  ASSERT_EQ(imp["status"].str(), "complete") << (imp.has("error") ? imp["error"].str() : "");
  std::string rec = imp["importId"].str();
  const char *paths[] = {"/v1/recordings", "/v1/recordings/bad", "/v1/data/topics?recordingKey=bad&includeSchemas=true",
                         "/v1/recording-attachments", "/v1/data/pending-imports?showCompleted=true",
                         "/v1/devices", "/v1/lake-files?recordingKey=bad"};
  std::string all;
  for (const char *p : paths) {
    HttpResponse r = s.get(p);
    EXPECT_TRUE(valid_utf8(r.body)) << p << ": " << r.body;
    all += r.body;
  }
  // the replacement character stands for the bytes that are not text
  Json t = parse_json(s.get("/v1/data/topics?recordingKey=bad&includeSchemas=true"));
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0]["topic"].str(), "/cam\xef\xbf\xbd\xef\xbf\xbd/im\xef\xbf\xbd\xef\xbf\xbd" "g");
  Json a = parse_json(s.get("/v1/recording-attachments?recordingId=" + rec));
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0]["name"].str(), "att\xef\xbf\xbd.bin");
  Json r = parse_json(s.get("/v1/recordings/" + rec));
  bool found = false;
  for (size_t i = 0; i < r["metadata"].size(); i++)
    if (r["metadata"][i]["name"].str() == "me\xef\xbf\xbd" "ta") found = true;
  EXPECT_TRUE(found) << all;
  // the lake keeps the bytes as they were
  Json lake = parse_json(s.get("/v1/lake-files?recordingKey=bad&siteId=" + r["site"]["id"].str()));
  std::string lake_bytes;
  for (size_t i = 0; i < lake.size(); i++) lake_bytes += read_file_or_throw(dir.file("data/lake/" + lake[i]["path"].str()));
  EXPECT_NE(lake_bytes.find(topic), std::string::npos);
  // an error that quotes what a client sent is valid UTF-8 too
  HttpResponse e = s.get("/v1/recordings?bogus%FF=1");
  EXPECT_EQ(e.status, 400);
  EXPECT_TRUE(valid_utf8(e.body)) << e.body;
  EXPECT_EQ(s.get("/v1/devices/%C0%AF").status, 404);
  EXPECT_TRUE(valid_utf8(s.get("/v1/devices/%C0%AF").body));
}

TEST(RemoteUtf8, InvalidBytesFromAServerAreNotPassedOn) {
  // a server (not ours) whose names are not UTF-8 and hold terminal escapes
  const std::string rec =
      "{\"id\": \"rec_1\", \"path\": \"p\xff\xfe.mcap\", \"key\": \"k\xc0\x1b[31m\", "
      "\"device\": {\"id\": \"dev_1\", \"name\": \"d\\u001b]0;x\\u0007\"}, "
      "\"importStatus\": \"complete\", \"size\": 3, \"metadata\": [{\"name\": \"m\xed\xa0\x80\", "
      "\"metadata\": {\"a\\u001b\": \"b\xf8\"}}]}";
  FakeHttpServer fake([&](const FakeRequest &rq) {
    if (rq.path == "/v1/recordings") return json_response(200, "[" + rec + "]");
    if (rq.path == "/v1/recordings/rec_1") return json_response(200, rec);
    return json_response(404, "{\"error\": \"no \xff such \x1b[2J thing\"}");
  });
  TempDir tmp;
  std::string key_file = tmp.file("key");
  write_file_or_throw(key_file, "fox_sk_x\n");
  chmod(key_file.c_str(), 0600);
  auto run = [&](std::vector<std::string> args) {
    args.insert(args.end(), {"--api-url", fake.url(), "--api-key-file", key_file});
    return run_mcapkit(args);
  };
  for (const auto &args : std::vector<std::vector<std::string>>{
           {"remote", "recordings"}, {"remote", "recordings", "--json"},
           {"remote", "recordings", "get", "rec_1"}, {"remote", "recordings", "get", "rec_1", "--json"},
           {"remote", "recordings", "get", "nope"}}) {
    RunResult r = run(args);
    std::string what = args.back();
    EXPECT_TRUE(valid_utf8(r.out)) << what << ": " << r.out;
    EXPECT_TRUE(valid_utf8(r.err)) << what << ": " << r.err;
    EXPECT_EQ(r.out.find('\x1b'), std::string::npos) << what << ": " << r.out;
    EXPECT_EQ(r.err.find('\x1b'), std::string::npos) << what << ": " << r.err;
    if (args.back() == "--json") {
      EXPECT_EQ(r.exit_code, 0) << r.err;
      EXPECT_NO_THROW(Json::parse(r.out));
    }
  }
  EXPECT_NE(run({"remote", "recordings", "get", "rec_1", "--json"}).out.find("p\xef\xbf\xbd"),
            std::string::npos);
}

}  // namespace
}  // namespace mcapkit_test
