// test_server_security.cc - hostile requests against the local site: path
// traversal in keys, file names, device names and link ids; forged, expired
// and reused signed links; oversized bodies and headers; slow clients. Each is
// refused with its status and nothing is read or written outside DATA. DATA and
// everything in it is private to its owner (0700/0600), also a tree left open.
#include <gtest/gtest.h>

#include <dirent.h>
#include <sys/stat.h>

#include <chrono>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "test_server_util.h"

namespace mcapkit_test {
namespace {

// Every path under `root` (files and folders), relative.
void list_tree(const std::string &root, const std::string &rel, std::set<std::string> *out) {
  DIR *d = opendir((root + "/" + rel).c_str());
  if (!d) return;
  while (dirent *e = readdir(d)) {
    std::string n = e->d_name;
    if (n == "." || n == "..") continue;
    std::string r = rel.empty() ? n : rel + "/" + n;
    out->insert(r);
    struct stat sb;
    if (lstat((root + "/" + r).c_str(), &sb) == 0 && S_ISDIR(sb.st_mode)) list_tree(root, r, out);
  }
  closedir(d);
}

class ServerSecurity : public ::testing::Test {
 protected:
  void SetUp() override {
    // a file beside DATA that nothing may read or change
    write_file_or_throw(dir.file("secret.txt"), "do not serve me");
    list_tree(dir.path(), "", &before_outside);
  }
  void TearDown() override {
    std::set<std::string> after;
    list_tree(dir.path(), "", &after);
    for (const auto &p : after) {
      if (p.rfind("data", 0) != 0) {
        EXPECT_TRUE(before_outside.count(p)) << "written outside DATA: " << p;
      }
    }
    EXPECT_EQ(read_file_or_throw(dir.file("secret.txt")), "do not serve me");
  }
  TempDir dir;
  std::set<std::string> before_outside;
};

TEST_F(ServerSecurity, TraversalInPathsAndNames) {
  TestServer s(dir.file("data"));
  ASSERT_TRUE(s.ok());
  for (const char *p : {"/v1/devices/..%2F..%2Fsecret.txt", "/v1/devices/..", "/v1/devices/%2e%2e",
                        "/v1/recordings/..%2Fkeys.json", "/v1/recordings/..%2F..%2Fsecret.txt",
                        "/v1/recording-attachments/..%2F..%2Fsecret.txt",
                        "/v1/recording-attachments/..%2Fkeys.json/download"}) {
    HttpResponse r = s.get(p);
    EXPECT_EQ(r.status, 404) << p << " " << r.body;
    EXPECT_EQ(r.body.find("do not serve me"), std::string::npos);
    EXPECT_EQ(r.body.find("fox_sk_"), std::string::npos);
  }
  EXPECT_EQ(s.get("/v1/devices/%zz").status, 400);
  EXPECT_EQ(s.get("/v1/devices/a%00b").status, 400);
  // raw request lines that a client library would normalise
  std::string raw = http_raw(s.url(), "GET /v1/devices/../../secret.txt HTTP/1.1\r\nHost: x\r\n"
                                      "Authorization: Bearer " +
                                          s.key() + "\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(raw.find("do not serve me"), std::string::npos) << raw;
  raw = http_raw(s.url(), "GET /signed/attachment/../../secret.txt?expires=1&sig=x HTTP/1.1\r\n"
                          "Host: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(raw.find("do not serve me"), std::string::npos) << raw;
  EXPECT_NE(raw.find(" 404 "), std::string::npos) << raw;
  raw = http_raw(s.url(), "GET /signed/upload/..%2F..%2Fsecret.txt?expires=1&sig=x HTTP/1.1\r\n"
                          "Host: x\r\nConnection: close\r\n\r\n");
  EXPECT_NE(raw.find(" 404 "), std::string::npos) << raw;
  // names that would escape a folder are refused before anything is stored
  EXPECT_EQ(s.post("/v1/devices", "{\"name\": \"../../evil\"}").status, 400);
  EXPECT_EQ(s.post("/v1/devices", "{\"name\": \"..\"}").status, 400);
  // an upload's file name is data, never a path (test_server_events.cc checks nothing on
  // disk is named by it), so "../../evil.mcap" is taken as the recording's path
  EXPECT_EQ(s.post("/v1/data/upload", "{\"filename\": \"../../evil.mcap\", \"key\": \"k\"}").status,
            200);
  EXPECT_EQ(s.post("/v1/data/upload", "{\"filename\": \"e.mcap\", \"key\": \"../../evil\"}").status,
            400);
  EXPECT_EQ(s.post("/v1/data/upload", "{\"filename\": \"e.mcap\", \"key\": \"..\"}").status, 400);
  EXPECT_EQ(s.post("/v1/data/upload", "{\"filename\": \"e.mcap\", \"deviceName\": \"../evil\"}")
                .status,
            400);
}

TEST_F(ServerSecurity, SignedLinksForgedExpiredReused) {
  TestServer s(dir.file("data"), [](pl_server_options &o) { o.hold_imports = 1; });
  ASSERT_TRUE(s.ok());
  HttpResponse r = s.post("/v1/data/upload", "{\"filename\": \"a.mcap\", \"key\": \"k\"}");
  ASSERT_EQ(r.status, 200);
  std::string link = parse_json(r)["link"].str();
  HttpResponse r2 = s.post("/v1/data/upload", "{\"filename\": \"b.mcap\", \"key\": \"k2\"}");
  std::string other = parse_json(r2)["link"].str();
  size_t q = link.find('?');
  std::string base = link.substr(0, q), query = link.substr(q + 1);
  std::string expires = query.substr(8, query.find('&') - 8);
  std::string sig = query.substr(query.find("sig=") + 4);
  // forged: another signature, another id with this signature, a later expiry, no signature
  std::string flipped = sig;
  flipped[0] = flipped[0] == 'a' ? 'b' : 'a';
  std::string other_base = other.substr(0, other.find('?'));
  for (const std::string &bad :
       {base + "?expires=" + expires + "&sig=" + flipped,
        other_base + "?expires=" + expires + "&sig=" + sig,
        base + "?expires=" + std::to_string(std::stoull(expires) + 100) + "&sig=" + sig,
        base + "?expires=" + expires, base, base + "?expires=-1&sig=" + sig,
        base + "?expires=" + expires + "&sig=" + sig.substr(0, 10)}) {
    HttpResponse p = http_put(bad, "x");
    EXPECT_EQ(p.status, 403) << bad << " " << p.body;
    EXPECT_FALSE(error_of(p).empty());
  }
  // the link is for PUT only
  EXPECT_EQ(http_get(link).status, 405);
  // expired
  std::string expired_base = base + "?expires=1&sig=" + sig;
  EXPECT_EQ(http_put(expired_base, "x").status, 403);
  // one PUT per link
  EXPECT_EQ(http_put(link, "first").status, 200);
  HttpResponse again = http_put(link, "second");
  EXPECT_EQ(again.status, 409) << again.body;
  // the first upload is what landed in the inbox
  std::string rid = parse_json(r)["requestId"].str();
  EXPECT_EQ(read_file_or_throw(dir.file("data/inbox/" + rid + ".mcap")), "first");
}

TEST_F(ServerSecurity, OversizedBodiesAndHeaders) {
  TestServer s(dir.file("data"), [](pl_server_options &o) {
    o.max_upload = 1 << 20;
    o.hold_imports = 1;
  });
  ASSERT_TRUE(s.ok());
  std::string big = "{\"name\": \"" + std::string(2 << 20, 'a') + "\"}";
  HttpResponse r = s.post("/v1/devices", big);
  EXPECT_EQ(r.status, 413) << r.body << r.error;
  HttpRequest chunked;
  chunked.method = "POST";
  chunked.url = s.u("/v1/devices");
  chunked.body = big;
  chunked.send_body_chunked = true;
  chunked.headers = {{"Authorization", "Bearer " + s.key()}, {"Content-Type", "application/json"}};
  HttpResponse c = http_do(chunked);
  EXPECT_EQ(c.status, 413) << c.body;
  // headers beyond the connection's memory
  HttpRequest h;
  h.url = s.u("/v1/devices");
  h.headers = {{"Authorization", "Bearer " + s.key()}, {"X-Big", std::string(200 << 10, 'h')}};
  HttpResponse hr = http_do(h);
  EXPECT_TRUE(hr.status == 431 || hr.status == 413 || hr.status == 0) << hr.status;
  std::string long_url = s.u("/v1/devices?query=" + std::string(200 << 10, 'q'));
  HttpResponse ur = http_get(long_url, s.key());
  EXPECT_TRUE(ur.status == 414 || ur.status == 431 || ur.status == 0) << ur.status;
  // an upload over --max-upload: announced (413 before the body) or streamed (413 after)
  HttpResponse link = s.post("/v1/data/upload", "{\"filename\": \"big.mcap\", \"key\": \"big\"}");
  std::string l = parse_json(link)["link"].str();
  HttpResponse p = http_put(l, std::string((1 << 20) + 1, 'x'));
  EXPECT_EQ(p.status, 413) << p.body;
  HttpRequest pc;
  pc.method = "PUT";
  pc.url = l;
  pc.body = std::string((1 << 20) + 10, 'y');
  pc.send_body_chunked = true;
  HttpResponse pcr = http_do(pc);
  EXPECT_EQ(pcr.status, 413) << pcr.body;
  // the link is still usable for an upload within the limit
  EXPECT_EQ(http_put(l, "small").status, 200);
  // the server is still healthy
  EXPECT_EQ(s.get("/v1/devices").status, 200);
}

TEST_F(ServerSecurity, SlowClientsAreDropped) {
  TestServer s(dir.file("data"), [](pl_server_options &o) { o.connection_timeout_s = 1; });
  ASSERT_TRUE(s.ok());
  // a client that sends its header one byte every 300 ms never finishes it
  std::thread slow([&] {
    auto t0 = std::chrono::steady_clock::now();
    std::string got = http_raw(s.url(),
                               "GET /v1/devices HTTP/1.1\r\nHost: x\r\nX-Slow: " +
                                   std::string(100, 's') + "\r\n\r\n",
                               1, 300, 20);
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_LT(secs, 15) << "the slow connection is closed by the server";
    EXPECT_EQ(got.find("200 OK"), std::string::npos);
  });
  // an idle connection that never sends anything
  std::thread idle([&] {
    auto t0 = std::chrono::steady_clock::now();
    std::string got = http_raw(s.url(), "", 0, 0, 10);
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_LT(secs, 5);
    EXPECT_TRUE(got.empty());
  });
  // meanwhile others are served
  for (int i = 0; i < 5; i++) {
    EXPECT_EQ(s.get("/v1/devices").status, 200);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  slow.join();
  idle.join();
}

TEST_F(ServerSecurity, AuthorizationHeaderIsNotNeededNorUsedBySignedLinks) {
  TestServer s(dir.file("data"), [](pl_server_options &o) { o.hold_imports = 1; });
  ASSERT_TRUE(s.ok());
  HttpResponse r = s.post("/v1/data/upload", "{\"filename\": \"a.mcap\", \"key\": \"k\"}");
  std::string link = parse_json(r)["link"].str();
  // the Python client's session sends its key along; that changes nothing
  HttpRequest put;
  put.method = "PUT";
  put.url = link;
  put.body = "content";
  put.headers = {{"Authorization", "Bearer fox_sk_not_a_key"},
                 {"Content-Type", "application/octet-stream"}};
  EXPECT_EQ(http_do(put).status, 200);
}

// Log lines of a server, collected from its threads.
struct LogLines {
  std::mutex mu;
  std::vector<std::string> lines;
  static void sink(void *user, const char *line) {
    auto *l = static_cast<LogLines *>(user);
    std::lock_guard<std::mutex> g(l->mu);
    l->lines.push_back(line);
  }
  size_t count(const std::string &needle) {
    std::lock_guard<std::mutex> g(mu);
    size_t n = 0;
    for (const auto &l : lines) n += l.find(needle) != std::string::npos;
    return n;
  }
};

// Paths below `root` (lstat) whose mode lets group or others in.
std::vector<std::string> open_to_others(const std::string &root) {
  std::vector<std::string> bad;
  std::set<std::string> all;
  list_tree(root, "", &all);
  all.insert("");
  for (const auto &rel : all) {
    struct stat sb;
    std::string p = rel.empty() ? root : root + "/" + rel;
    if (lstat(p.c_str(), &sb) != 0 || S_ISLNK(sb.st_mode)) continue;
    if (sb.st_mode & 077) {
      char m[8];
      snprintf(m, sizeof m, "%03o", static_cast<unsigned>(sb.st_mode & 0777));
      bad.push_back((rel.empty() ? "." : rel) + " " + m);
    }
  }
  return bad;
}

TEST_F(ServerSecurity, DataDirectoryAndEverythingInItArePrivate) {
  mode_t old = umask(022);  // the usual umask: without care files would be 0644
  {
    TempDir in;
    std::string file = in.file("rec.mcap");
    write_synth(file, 3, 20, PL_SYNTH_TINY, 1);
    TestServer s(dir.file("data"));
    ASSERT_TRUE(s.ok());
    std::string rid = upload(s, "{\"filename\": \"rec.mcap\", \"deviceName\": \"d\"}",
                             read_file_or_throw(file));
    ASSERT_TRUE(s.wait_imports());
    ASSERT_EQ(pending_import(s, rid)["status"].str(), "complete");
    // a file that failed lands in the quarantine
    upload(s, "{\"filename\": \"bad.mcap\", \"deviceName\": \"d\"}", "not an mcap");
    ASSERT_TRUE(s.wait_imports());
    // an upload that is still arriving (its .part file) is private too
    HttpResponse r = s.post("/v1/data/upload", "{\"filename\": \"p.mcap\", \"deviceName\": \"d\"}");
    std::string link = parse_json(r)["link"].str();
    std::string host = s.url().substr(7);
    std::string path = link.substr(link.find("/signed/"));
    std::thread slow([&] {
      http_raw(s.url(), "PUT " + path + " HTTP/1.1\r\nHost: " + host +
                            "\r\nContent-Length: 100\r\n\r\n0123456789", 0, 0, 1);
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    for (const auto &b : open_to_others(dir.file("data"))) ADD_FAILURE() << "not private: " << b;
    slow.join();
  }
  for (const auto &b : open_to_others(dir.file("data"))) ADD_FAILURE() << "not private: " << b;
  umask(old);
}

TEST_F(ServerSecurity, AnOpenDataDirectoryIsTightenedAtStartWithAWarning) {
  std::string data = dir.file("data"), key;
  {
    TestServer s(data);
    ASSERT_TRUE(s.ok());
    EXPECT_EQ(s.post("/v1/devices", "{\"name\": \"d1\"}").status, 200);
    key = s.key();
  }
  // as an older version (or a copy with cp -r) would have left it
  ASSERT_EQ(chmod(data.c_str(), 0755), 0);
  ASSERT_EQ(chmod((data + "/state").c_str(), 0775), 0);
  ASSERT_EQ(chmod((data + "/state/site.json").c_str(), 0644), 0);
  ASSERT_EQ(mkdir((data + "/lake/dev").c_str(), 0777), 0);
  write_file_or_throw(data + "/lake/dev/old.mcap", "x");
  ASSERT_EQ(chmod((data + "/lake/dev/old.mcap").c_str(), 0666), 0);
  // a symlink is neither followed nor changed
  ASSERT_EQ(chmod(dir.file("secret.txt").c_str(), 0644), 0);
  ASSERT_EQ(symlink(dir.file("secret.txt").c_str(), (data + "/lake/link").c_str()), 0);
  EXPECT_FALSE(open_to_others(data).empty());
  LogLines log;
  {
    TestServer s(data, [&](pl_server_options &o) {
      o.log = LogLines::sink;
      o.log_user = &log;
    });
    ASSERT_TRUE(s.ok());
    EXPECT_EQ(log.count("warning: 5 files and directories"), 1u);
    s.set_key(key);
    EXPECT_EQ(s.get("/v1/devices/d1").status, 200);
  }
  for (const auto &b : open_to_others(data)) ADD_FAILURE() << "not private: " << b;
  struct stat sb;
  ASSERT_EQ(stat(dir.file("secret.txt").c_str(), &sb), 0);
  EXPECT_EQ(sb.st_mode & 0777, 0644u);
  unlink((data + "/lake/link").c_str());
  // the next start has nothing to say
  LogLines again;
  TestServer s(data, [&](pl_server_options &o) {
    o.log = LogLines::sink;
    o.log_user = &again;
  });
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(again.count("warning"), 0u);
}

}  // namespace
}  // namespace mcapkit_test
