// test_server_hooks.cc - what the server itself can tell the client tests:
// - the counters of requests to signed links (pl_server_get_stats): a request
//   that carries the API key is counted (the counter works), and the whole
//   client (mcapkit upload with wait and reconcile, remote attachments
//   download, export) sends the key to no signed link, prints it nowhere, and
//   leaves it in no file of the server's data directory nor of its journal;
// - the /v1/_test endpoints exist only with the test_hooks option;
// - paging against the real server: 5000 recordings made by the bulk hook are
//   listed completely and without duplicates over 3 pages by the library and
//   by 'mcapkit remote recordings', and '--limit 2100' stops early.
#include <dirent.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "fake_http.h"
#include "pipeline/client.h"
#include "test_server_util.h"

namespace mcapkit_test {
namespace {

const std::string kHookKey = "fox_sk_hooks_test_key_7a7a7a7a7a";

// Collects the server's log lines (called from its threads).
struct LogSink {
  std::mutex mu;
  std::vector<std::string> lines;
  static void fn(void *user, const char *line) {
    auto *s = static_cast<LogSink *>(user);
    std::lock_guard<std::mutex> lock(s->mu);
    s->lines.push_back(line);
  }
  std::string all() {
    std::lock_guard<std::mutex> lock(mu);
    std::string out;
    for (const auto &l : lines) out += l + "\n";
    return out;
  }
};

pl_server_stats stats_of(TestServer &s) {
  pl_server_stats st;
  pl_server_get_stats(s.get(), &st);
  return st;
}

// Every regular file under `dir` (recursively).
void list_files(const std::string &dir, std::vector<std::string> *out) {
  DIR *d = opendir(dir.c_str());
  if (!d) return;
  while (dirent *e = readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    std::string path = dir + "/" + name;
    struct stat st;
    if (lstat(path.c_str(), &st) != 0) continue;
    if (S_ISDIR(st.st_mode))
      list_files(path, out);
    else if (S_ISREG(st.st_mode))
      out->push_back(path);
  }
  closedir(d);
}

// Files under `dir` whose bytes contain `needle`; also how many were looked at.
std::vector<std::string> files_containing(const std::string &dir, const std::string &needle,
                                          size_t *scanned) {
  std::vector<std::string> files, hits;
  list_files(dir, &files);
  *scanned = files.size();
  for (const auto &f : files)
    if (read_file_or_throw(f).find(needle) != std::string::npos) hits.push_back(f);
  return hits;
}

// The signed link an API call hands out (upload link of a new request).
std::string upload_link(TestServer &s) {
  HttpResponse r = s.post("/v1/data/upload", "{\"filename\": \"a.mcap\", \"deviceName\": \"d\"}");
  EXPECT_EQ(r.status, 200) << r.body;
  return parse_json(r)["link"].str();
}

}  // namespace

TEST(ServerHooks, SignedLinkRequestsCarryingTheKeyAreCounted) {
  TempDir tmp;
  TestServer s(tmp.file("data"));
  ASSERT_TRUE(s.ok());
  pl_server_stats st = stats_of(s);
  EXPECT_EQ(st.signed_requests, 0u);
  EXPECT_EQ(st.signed_requests_with_key, 0u);

  // a PUT without the key: counted, not flagged
  std::string link = upload_link(s);
  HttpResponse p = http_put(link, "not an mcap, but bytes");
  EXPECT_EQ(p.status, 200) << p.body;
  st = stats_of(s);
  EXPECT_EQ(st.signed_requests, 1u);
  EXPECT_EQ(st.signed_requests_with_key, 0u);

  // the same kind of PUT with "Authorization: Bearer KEY": flagged (the link still works,
  // the server ignores the header as the docs say)
  link = upload_link(s);
  HttpRequest rq;
  rq.method = "PUT";
  rq.url = link;
  rq.headers.push_back({"Authorization", "Bearer " + s.key()});
  rq.body = "more bytes";
  HttpResponse p2 = http_do(rq);
  EXPECT_EQ(p2.status, 200) << p2.body;
  st = stats_of(s);
  EXPECT_EQ(st.signed_requests, 2u);
  EXPECT_EQ(st.signed_requests_with_key, 1u);

  // any Authorization header counts, whatever its value
  HttpRequest g;
  g.url = link;
  g.method = "GET";
  g.headers.push_back({"Authorization", "Basic Zm9vOmJhcg=="});
  EXPECT_EQ(http_do(g).status, 405);
  st = stats_of(s);
  EXPECT_EQ(st.signed_requests, 3u);
  EXPECT_EQ(st.signed_requests_with_key, 2u);

  // the key in another header or in the query counts too, even on a refused link
  HttpRequest h;
  h.method = "PUT";
  h.url = link + "&k=" + s.key();
  h.body = "x";
  EXPECT_NE(http_do(h).status, 200);
  HttpRequest x;
  x.method = "PUT";
  x.url = s.u("/signed/upload/req_0000000000000000?expires=1&sig=00");
  x.headers.push_back({"X-Api-Key", s.key()});
  x.body = "x";
  EXPECT_EQ(http_do(x).status, 403);
  st = stats_of(s);
  EXPECT_EQ(st.signed_requests, 5u);
  EXPECT_EQ(st.signed_requests_with_key, 4u);

  // API requests are not signed-link requests
  EXPECT_EQ(s.get("/v1/devices").status, 200);
  EXPECT_EQ(stats_of(s).signed_requests, 5u);
}

TEST(ServerHooks, TestEndpointsExistOnlyWithTheOption) {
  TempDir tmp;
  {
    TestServer off(tmp.file("off"));
    ASSERT_TRUE(off.ok());
    EXPECT_EQ(off.get("/v1/_test/stats").status, 404);
    EXPECT_EQ(off.post("/v1/_test/recordings/bulk", "{\"count\": 3}").status, 404);
    // no request shape turns them on
    EXPECT_EQ(off.get("/v1/_test/stats?testHooks=true").status, 404);
    EXPECT_EQ(parse_json(off.get("/v1/recordings")).size(), 0u);
  }
  TestServer on(tmp.file("on"), [](pl_server_options &o) { o.test_hooks = 1; });
  ASSERT_TRUE(on.ok());
  EXPECT_EQ(http_get(on.u("/v1/_test/stats")).status, 401);  // still needs a key
  HttpResponse st = on.get("/v1/_test/stats");
  ASSERT_EQ(st.status, 200) << st.body;
  EXPECT_EQ(parse_json(st)["signedRequests"].u64(), 0u);
  EXPECT_EQ(parse_json(st)["signedRequestsWithKey"].u64(), 0u);
  EXPECT_EQ(on.post("/v1/_test/stats", "{}").status, 405);
  EXPECT_EQ(on.post("/v1/_test/recordings/bulk", "{}").status, 400);
  EXPECT_EQ(on.post("/v1/_test/recordings/bulk", "{\"count\": 0}").status, 400);
  EXPECT_EQ(on.post("/v1/_test/recordings/bulk", "{\"count\": 2, \"x\": 1}").status, 400);
  EXPECT_EQ(on.post("/v1/_test/recordings/bulk", "{\"count\": 2, \"prefix\": \"a/b\"}").status,
            400);
  HttpResponse b = on.post("/v1/_test/recordings/bulk",
                           "{\"count\": 3, \"prefix\": \"few\", \"deviceName\": \"bulk-dev\"}");
  ASSERT_EQ(b.status, 200) << b.body;
  EXPECT_EQ(parse_json(b)["created"].u64(), 3u);
  EXPECT_EQ(on.post("/v1/_test/recordings/bulk", "{\"count\": 1, \"prefix\": \"few\"}").status,
            409);
  Json recs = parse_json(on.get("/v1/recordings?deviceName=bulk-dev"));
  ASSERT_EQ(recs.size(), 3u);
  EXPECT_EQ(recs[0]["key"].str(), "few-0");
  EXPECT_EQ(recs[2]["path"].str(), "few-2.mcap");
  EXPECT_EQ(recs[1]["importStatus"].str(), "complete");
  EXPECT_EQ(on.get("/v1/recordings/few-1").status, 200);
  EXPECT_EQ(on.del("/v1/recordings/few-1").status, 200);
  EXPECT_EQ(parse_json(on.get("/v1/recordings")).size(), 2u);
}

TEST(ServerHooks, TheClientNeverSendsTheKeyToASignedLinkNorLeavesItAnywhere) {
  TempDir tmp;
  std::string data = tmp.file("data"), keys = tmp.file("keys.json");
  write_keys_file(keys, kHookKey);
  LogSink log;
  TestServer s(data, [&](pl_server_options &o) {
    o.keys_path = keys.c_str();
    o.log = LogSink::fn;
    o.log_user = &log;
  });
  ASSERT_TRUE(s.ok());
  s.set_key(kHookKey);
  std::string key_file = tmp.file("api.key");
  write_file_or_throw(key_file, kHookKey + "\n");
  chmod(key_file.c_str(), 0600);
  std::string journal = tmp.file("client/.mcapkit");
  ASSERT_EQ(mkdir(tmp.file("client").c_str(), 0755), 0);
  std::string rec = tmp.file("client/a.mcap");
  write_synth(rec, 42, 2, PL_SYNTH_TINY, 2);

  std::vector<RunResult> runs;
  auto run = [&](std::vector<std::string> args) {
    args.insert(args.begin(), "-v");  // say more: more places the key could leak to
    args.push_back("--api-url");
    args.push_back(s.url());
    args.push_back("--api-key-file");
    args.push_back(key_file);
    runs.push_back(run_mcapkit(args));
    return runs.back();
  };
  // upload with wait and reconcile (the defaults)
  RunResult up = run({"upload", rec, "--device-name", "robot-1", "--journal", journal, "--json"});
  ASSERT_EQ(up.exit_code, 0) << up.out << up.err;
  Json uj = Json::parse(up.out);
  std::string key = uj["files"][0]["key"].str();
  ASSERT_FALSE(key.empty());
  pl_server_stats after_upload = stats_of(s);
  EXPECT_GE(after_upload.signed_requests, 1u);  // the PUT

  // attachment download through its signed link
  RunResult atts = run({"remote", "attachments", "--device-name", "robot-1", "--json"});
  ASSERT_EQ(atts.exit_code, 0) << atts.err;
  Json aj = Json::parse(atts.out);
  ASSERT_GE(aj["items"].size(), 1u) << atts.out;
  std::string att = aj["items"][0]["id"].str();
  RunResult dl = run({"remote", "attachments", "download", att, "-o", tmp.file("att.bin")});
  ASSERT_EQ(dl.exit_code, 0) << dl.out << dl.err;
  pl_server_stats after_dl = stats_of(s);
  EXPECT_GT(after_dl.signed_requests, after_upload.signed_requests);

  // export through a stream link, checked against the original
  RunResult ex = run({"export", "--recording", key, "-o", tmp.file("out.mcap"), "--verify-against",
                      rec, "--include-attachments"});
  ASSERT_EQ(ex.exit_code, 0) << ex.out << ex.err;
  pl_server_stats fin = stats_of(s);
  EXPECT_GT(fin.signed_requests, after_dl.signed_requests);

  EXPECT_GE(fin.signed_requests, 3u);  // PUT, attachment, export stream
  EXPECT_EQ(fin.signed_requests_with_key, 0u);

  for (const auto &r : runs) {
    EXPECT_EQ(r.out.find(kHookKey), std::string::npos) << r.out;
    EXPECT_EQ(r.err.find(kHookKey), std::string::npos) << r.err;
  }
  s.stop();  // logs the counters; state files are all written
  std::string lines = log.all();
  EXPECT_EQ(lines.find(kHookKey), std::string::npos) << lines;
  EXPECT_NE(lines.find("signed links: "), std::string::npos) << lines;
  EXPECT_NE(lines.find(" with an API key"), std::string::npos) << lines;
  size_t scanned = 0;
  std::vector<std::string> hits = files_containing(data, kHookKey, &scanned);
  EXPECT_TRUE(hits.empty()) << hits[0];
  EXPECT_GE(scanned, 5u);  // state, secret, recording, index, lake files...
  hits = files_containing(journal, kHookKey, &scanned);
  EXPECT_TRUE(hits.empty()) << hits[0];
  EXPECT_GE(scanned, 1u);  // the journal was written
}

TEST(ServerHooks, LogLinesNeverShowAnApiKey) {
  // A (silly) recording key equal to the API key: the import that clashes on it
  // logs an error that quotes the recording key; the log shows it redacted.
  TempDir tmp;
  std::string keys = tmp.file("keys.json");
  write_keys_file(keys, kHookKey);
  LogSink log;
  TestServer s(tmp.file("data"), [&](pl_server_options &o) {
    o.keys_path = keys.c_str();
    o.log = LogSink::fn;
    o.log_user = &log;
  });
  ASSERT_TRUE(s.ok());
  s.set_key(kHookKey);
  std::string a = tmp.file("a.mcap"), b = tmp.file("b.mcap");
  write_synth(a, 1, 1);
  write_synth(b, 2, 1);
  std::string body = "{\"filename\": \"x.mcap\", \"deviceName\": \"d\", \"key\": " +
                     jstr(kHookKey) + "}";
  ASSERT_FALSE(upload(s, body, read_file_or_throw(a)).empty());
  ASSERT_TRUE(s.wait_imports());
  std::string rid = upload(s, body, read_file_or_throw(b));
  ASSERT_TRUE(s.wait_imports());
  EXPECT_EQ(pending_import(s, rid)["status"].str(), "error");
  std::string lines = log.all();
  EXPECT_EQ(lines.find(kHookKey), std::string::npos) << lines;
  EXPECT_NE(lines.find("key '[redacted]' already belongs"), std::string::npos) << lines;
}

TEST(ServerHooks, FiveThousandRecordingsAreListedCompletely) {
  TempDir tmp;
  TestServer s(tmp.file("data"), [](pl_server_options &o) { o.test_hooks = 1; });
  ASSERT_TRUE(s.ok());
  HttpResponse b = s.post("/v1/_test/recordings/bulk", "{\"count\": 5000, \"deviceName\": \"many\"}");
  ASSERT_EQ(b.status, 200) << b.body;
  ASSERT_EQ(parse_json(b)["created"].u64(), 5000u);

  // the library: 3 pages (2000, 2000, 1000), every recording once
  pl_http *h = nullptr;
  pl_error_info err;
  ASSERT_EQ(pl_http_new(&h, s.url().c_str(), s.key().c_str(), nullptr, &err), PL_OK) << err.msg;
  pl_api_list l;
  ASSERT_EQ(pl_api_list_all(h, PL_API_RECORDINGS, nullptr, 0, 0, &l, &err), PL_OK) << err.msg;
  EXPECT_EQ(l.n, 5000u);
  EXPECT_EQ(l.pages, 3u);
  std::set<std::string> ids, keys;
  for (size_t i = 0; i < l.n; i++) {
    ids.insert(l.recordings[i].id);
    keys.insert(l.recordings[i].key ? l.recordings[i].key : "");
  }
  EXPECT_EQ(ids.size(), 5000u);
  EXPECT_EQ(keys.size(), 5000u);
  EXPECT_EQ(keys.count("bulk-0") + keys.count("bulk-4999") + keys.count("bulk-2000"), 3u);
  pl_api_list_dispose(&l);

  // stopping early: 2100 items in 2 pages
  ASSERT_EQ(pl_api_list_all(h, PL_API_RECORDINGS, nullptr, 0, 2100, &l, &err), PL_OK) << err.msg;
  EXPECT_EQ(l.n, 2100u);
  EXPECT_EQ(l.pages, 2u);
  pl_api_list_dispose(&l);
  pl_http_free(h);

  // the CLI
  std::string key_file = tmp.file("api.key");
  write_file_or_throw(key_file, s.key() + "\n");
  chmod(key_file.c_str(), 0600);
  RunResult all = run_mcapkit({"remote", "recordings", "--json", "--api-url", s.url(),
                               "--api-key-file", key_file});
  ASSERT_EQ(all.exit_code, 0) << all.err;
  Json j = Json::parse(all.out);
  ASSERT_EQ(j["items"].size(), 5000u);
  EXPECT_EQ(j["count"].u64(), 5000u);
  std::set<std::string> cli_ids;
  for (size_t i = 0; i < j["items"].size(); i++) cli_ids.insert(j["items"][i]["id"].str());
  EXPECT_EQ(cli_ids, ids);

  RunResult few = run_mcapkit({"remote", "recordings", "--json", "--limit", "2100", "--api-url",
                               s.url(), "--api-key-file", key_file});
  ASSERT_EQ(few.exit_code, 0) << few.err;
  Json f = Json::parse(few.out);
  EXPECT_EQ(f["items"].size(), 2100u);
  std::set<std::string> few_ids;
  for (size_t i = 0; i < f["items"].size(); i++) few_ids.insert(f["items"][i]["id"].str());
  EXPECT_EQ(few_ids.size(), 2100u);
}

}  // namespace mcapkit_test
