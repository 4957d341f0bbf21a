// test_cli_client.cc - 'mcapkit upload', 'reconcile', 'export' and 'remote'
// end to end against 'mcapkit serve' started by the test on a free loopback
// port: the round trip (upload, list, reconcile, export with
// --verify-against, attachment download), exit codes 0/3/1/2, the API key
// file rules, a key that never shows in output nor reaches a signed link (a
// recording proxy sits in front of the server and the server's signed links
// point at it), paging through more than one page of devices, a batch under
// faults, and a batch killed with SIGKILL that a re-run finishes from its
// journal without uploading anything twice.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "fake_http.h"
#include "http_client.h"
#include "run.h"
#include "tmpdir.h"

using namespace mcapkit_test;

namespace {

const std::string kKey = "fox_sk_cli_test_key_5e5e5e5e";

struct Site {
  TempDir tmp;
  std::unique_ptr<ServeProcess> serve;
  std::string key_file;
  std::string journal;
  explicit Site(const std::vector<std::string> &extra = {}) {
    serve = std::make_unique<ServeProcess>(tmp.file("data"), extra, kKey);
    key_file = tmp.file("api.key");
    write_file_or_throw(key_file, kKey + "\n");
    chmod(key_file.c_str(), 0600);
    journal = tmp.file("journal");
  }
  // mcapkit CMD ARGS... --api-url URL --api-key-file F
  RunResult run(std::vector<std::string> args, const std::string &url = "") const {
    args.push_back("--api-url");
    args.push_back(url.empty() ? serve->url() : url);
    args.push_back("--api-key-file");
    args.push_back(key_file);
    return run_mcapkit(args);
  }
  std::string synth(const std::string &name, int seed, const std::string &duration = "2") const {
    std::string f = tmp.file(name);
    RunResult r = run_mcapkit({"synth", "-o", f, "--profile", "tiny", "--duration", duration,
                               "--seed", std::to_string(seed), "--attachments", "2"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return f;
  }
};

void expect_no_key(const RunResult &r) {
  EXPECT_EQ(r.out.find(kKey), std::string::npos) << r.out;
  EXPECT_EQ(r.err.find(kKey), std::string::npos) << r.err;
}

std::string key_of(const RunResult &upload_json) {
  Json j = Json::parse(upload_json.out);
  return j["files"][0]["key"].str();
}

int count_lines_starting(const std::string &text, const std::string &prefix) {
  std::istringstream ss(text);
  std::string line;
  int n = 0;
  while (std::getline(ss, line))
    if (line.rfind(prefix, 0) == 0) n++;
  return n;
}

}  // namespace

TEST(CliClient, UploadReconcileExportRoundTrip) {
  Site s;
  ASSERT_TRUE(s.serve->ok()) << s.serve->log();
  std::string a = s.synth("a.mcap", 1);
  RunResult up = s.run({"upload", a, "--device-name", "robot-1", "--journal", s.journal, "--json"});
  ASSERT_EQ(up.exit_code, 0) << up.out << up.err;
  expect_no_key(up);
  Json uj = Json::parse(up.out);
  EXPECT_EQ(uj["files"][0]["status"].str(), "done");
  EXPECT_TRUE(uj["files"][0]["uploaded"].boolean());
  EXPECT_EQ(uj["files"][0]["differences"].size(), 0u);
  std::string key = key_of(up);
  std::string rec_id = uj["files"][0]["recording_id"].str();

  // again: the journal skips it; without the journal the key is found remotely
  RunResult again = s.run({"upload", a, "--journal", s.journal});
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(count_lines_starting(again.out, "skipped"), 1) << again.out;
  RunResult again2 = s.run({"upload", a, "--device-name", "robot-1", "--no-journal", "--json"});
  EXPECT_EQ(again2.exit_code, 0) << again2.out << again2.err;
  EXPECT_TRUE(Json::parse(again2.out)["files"][0]["already_there"].boolean());

  // remote lists
  RunResult recs = s.run({"remote", "recordings", "--json"});
  ASSERT_EQ(recs.exit_code, 0) << recs.err;
  Json rj = Json::parse(recs.out);
  EXPECT_EQ(rj["format_version"].u64(), 1u);
  ASSERT_EQ(rj["count"].u64(), 1u);
  EXPECT_EQ(rj["items"][0]["key"].str(), key);
  RunResult table = s.run({"remote", "recordings"});
  EXPECT_EQ(table.exit_code, 0);
  EXPECT_NE(table.out.find(rec_id), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("robot-1"), std::string::npos);
  RunResult get = s.run({"remote", "recordings", "get", key, "--json"});
  EXPECT_EQ(get.exit_code, 0) << get.err;
  EXPECT_EQ(Json::parse(get.out)["recording"]["id"].str(), rec_id);
  for (const char *kind : {"topics", "pending-imports", "devices", "lake-files"}) {
    std::vector<std::string> args = {"remote", kind, "--json"};
    if (std::string(kind) == "topics" || std::string(kind) == "lake-files") {
      args.push_back("--recording-key");
      args.push_back(key);
    }
    if (std::string(kind) == "pending-imports") args.push_back("--show-completed");
    RunResult r = s.run(args);
    EXPECT_EQ(r.exit_code, 0) << kind << ": " << r.err;
    EXPECT_GT(Json::parse(r.out)["count"].u64(), 0u) << kind;
  }
  RunResult cov = s.run({"remote", "coverage", "--start", "2026-01-01", "--end", "2026-01-03",
                         "--device-name", "robot-1", "--json"});
  EXPECT_EQ(cov.exit_code, 0) << cov.err;
  EXPECT_GE(Json::parse(cov.out)["count"].u64(), 1u);

  // reconcile: clean, and a different file differs (exit 3)
  RunResult rc = s.run({"reconcile", a, "--recording", key, "--device-name", "robot-1"});
  EXPECT_EQ(rc.exit_code, 0) << rc.out << rc.err;
  EXPECT_NE(rc.out.find("matches"), std::string::npos) << rc.out;
  std::string b = s.synth("b.mcap", 2);
  RunResult rd = s.run({"reconcile", b, "--recording", key, "--device-name", "robot-1", "--json"});
  EXPECT_EQ(rd.exit_code, 3) << rd.out << rd.err;
  Json dj = Json::parse(rd.out);
  EXPECT_FALSE(dj["matches"].boolean());
  EXPECT_GT(dj["differences"].size(), 0u);
  RunResult rt = s.run({"reconcile", b, "--recording", key});
  EXPECT_EQ(rt.exit_code, 3);
  EXPECT_NE(rt.out.find("local "), std::string::npos);
  EXPECT_NE(rt.out.find(", remote "), std::string::npos);
  RunResult rn = s.run({"reconcile", a, "--recording", "no-such-key"});
  EXPECT_EQ(rn.exit_code, 1);
  EXPECT_NE(rn.err.find("not found"), std::string::npos) << rn.err;

  // export: verified against the original; a different file is caught
  std::string out = s.tmp.file("out.mcap");
  RunResult ex = s.run(
      {"export", "--recording", key, "-o", out, "--verify-against", a, "--include-attachments"});
  EXPECT_EQ(ex.exit_code, 0) << ex.out << ex.err;
  EXPECT_NE(ex.out.find("verified against"), std::string::npos) << ex.out;
  expect_no_key(ex);
  RunResult ex2 = s.run({"export", "--recording", key, "-o", out, "--verify-against", b});
  EXPECT_EQ(ex2.exit_code, 3) << ex2.out << ex2.err;
  EXPECT_NE(ex2.out.find("differs from"), std::string::npos);
  RunResult ex3 = s.run({"export", "--device-name", "robot-1", "--start", "2026-01-01", "--end",
                         "2026-01-03", "--topics", "/imu", "-o", out, "--json"});
  EXPECT_EQ(ex3.exit_code, 0) << ex3.out << ex3.err;
  EXPECT_EQ(Json::parse(ex3.out)["doctor_errors"].u64(), 0u);

  // attachment download through the signed link, size and CRC checked
  RunResult atts = s.run({"remote", "attachments", "--recording-id", rec_id, "--json"});
  ASSERT_EQ(atts.exit_code, 0) << atts.err;
  Json aj = Json::parse(atts.out);
  ASSERT_EQ(aj["count"].u64(), 2u);
  std::string att = aj["items"][0]["id"].str();
  std::string saved = s.tmp.file("att.bin");
  RunResult dl = s.run({"remote", "attachments", "download", att, "-o", saved});
  EXPECT_EQ(dl.exit_code, 0) << dl.err;
  EXPECT_EQ(read_file_or_throw(saved).size(), aj["items"][0]["size"].u64());
  // Attachments are filtered by recordingId only: a key is looked up first (it used to be
  // sent as recordingKey, which the API does not take).
  RunResult by_key = s.run({"remote", "attachments", "--recording-key", key, "--json"});
  ASSERT_EQ(by_key.exit_code, 0) << by_key.err;
  EXPECT_EQ(Json::parse(by_key.out)["count"].u64(), 2u);
  EXPECT_EQ(Json::parse(by_key.out)["items"][0]["id"].str(), att);
  RunResult no_key = s.run({"remote", "attachments", "--recording-key", "no-such-key"});
  EXPECT_EQ(no_key.exit_code, 1) << no_key.err;
  // --site-id is `site.id` for recordings (it used to be sent as siteId: a 400)
  std::string site = rj["items"][0]["site"]["id"].str();
  if (site.empty()) site = rj["items"][0]["siteId"].str();
  ASSERT_FALSE(site.empty()) << recs.out;
  RunResult by_site = s.run({"remote", "recordings", "--site-id", site, "--json"});
  ASSERT_EQ(by_site.exit_code, 0) << by_site.err;
  EXPECT_EQ(Json::parse(by_site.out)["count"].u64(), 1u);
  // A filter the kind does not take is a usage error that says what it takes.
  RunResult bad = s.run({"remote", "attachments", "--import-status", "failed"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("'--import-status' is not a filter of attachments"), std::string::npos)
      << bad.err;
  EXPECT_NE(bad.err.find("--recording-key"), std::string::npos) << bad.err;
  EXPECT_EQ(s.run({"remote", "attachments", "--recording-id", rec_id, "--recording-key", key})
                .exit_code,
            2);

  // delete
  RunResult del = s.run({"remote", "recordings", "delete", key});
  EXPECT_EQ(del.exit_code, 0) << del.err;
  RunResult gone = s.run({"remote", "recordings", "get", key});
  EXPECT_EQ(gone.exit_code, 1);
}

TEST(CliClient, ApiKeyRules) {
  Site s;
  ASSERT_TRUE(s.serve->ok());
  std::string a = s.synth("a.mcap", 3);
  chmod(s.key_file.c_str(), 0644);
  RunResult r = s.run({"remote", "recordings"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("readable by others"), std::string::npos) << r.err;
  expect_no_key(r);
  chmod(s.key_file.c_str(), 0600);
  // no key at all
  RunResult none = run_program({"/usr/bin/env", "-u", "FOXGLOVE_API_KEY", mcapkit_path(), "remote",
                                "devices", "--api-url", s.serve->url()});
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_NE(none.err.find("FOXGLOVE_API_KEY"), std::string::npos) << none.err;
  // the key from the environment, the URL too
  RunResult env =
      run_program({"/usr/bin/env", "FOXGLOVE_API_KEY=" + kKey, "MCAPKIT_API_URL=" + s.serve->url(),
                   mcapkit_path(), "remote", "devices"});
  EXPECT_EQ(env.exit_code, 0) << env.err;
  // a wrong key: 401, named, without the key
  write_file_or_throw(s.key_file, "fox_sk_wrong_wrong_wrong\n");
  RunResult bad = s.run({"upload", a, "--journal", s.journal});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.out.find("401"), std::string::npos) << bad.out;
  EXPECT_EQ(bad.out.find("fox_sk_wrong_wrong_wrong"), std::string::npos);
  EXPECT_EQ(bad.err.find("fox_sk_wrong_wrong_wrong"), std::string::npos);
}

TEST(CliClient, UsageErrors) {
  TempDir tmp;
  std::string f = tmp.file("a.mcap");
  ASSERT_EQ(run_mcapkit({"synth", "-o", f, "--profile", "tiny", "--duration", "1"}).exit_code, 0);
  std::string g = tmp.file("b.mcap");
  ASSERT_EQ(run_mcapkit({"synth", "-o", g, "--profile", "tiny", "--duration", "1"}).exit_code, 0);
  EXPECT_EQ(run_mcapkit({"upload", f, g, "--key", "k"}).exit_code, 2);
  EXPECT_EQ(run_mcapkit({"upload", f, "--device-name", "a", "--device-id", "b"}).exit_code, 2);
  EXPECT_EQ(run_mcapkit({"export", "--recording", "k"}).exit_code, 2);
  EXPECT_EQ(run_mcapkit({"export", "--device-name", "d", "-o", "x"}).exit_code, 2);
  EXPECT_EQ(
      run_mcapkit({"export", "--recording", "k", "--start", "yesterday", "-o", "x"}).exit_code, 2);
  EXPECT_EQ(run_mcapkit({"reconcile", f}).exit_code, 2);
  EXPECT_EQ(run_mcapkit({"remote", "nothing"}).exit_code, 2);
  EXPECT_EQ(run_mcapkit({"remote", "recordings", "get"}).exit_code, 2);
  EXPECT_EQ(run_mcapkit({"remote", "topics", "delete", "x"}).exit_code, 2);
  EXPECT_EQ(run_mcapkit({"remote", "attachments", "download", "x"}).exit_code, 2);
  EXPECT_EQ(run_mcapkit({"remote", "recordings", "--param", "limit=5"}).exit_code, 2);
  RunResult h = run_mcapkit({"help", "upload"});
  EXPECT_EQ(h.exit_code, 0);
  EXPECT_NE(h.out.find("--device-name"), std::string::npos);
}

TEST(CliClient, DevicesArePagedThroughMoreThanOnePage) {
  Site s;
  ASSERT_TRUE(s.serve->ok());
  const int n = 2100;
  for (int i = 0; i < n; i++) {
    HttpResponse r = http_post_json(s.serve->url() + "/v1/devices", kKey,
                                    "{\"name\":\"dev-" + std::to_string(i) + "\"}");
    ASSERT_EQ(r.status, 200) << r.body;
  }
  RunResult all = s.run({"remote", "devices", "--json"});
  ASSERT_EQ(all.exit_code, 0) << all.err;
  Json j = Json::parse(all.out);
  EXPECT_EQ(j["count"].u64(), static_cast<uint64_t>(n));
  EXPECT_EQ(j["pages"].u64(), 2u);
  std::set<std::string> names;
  for (size_t i = 0; i < j["items"].size(); i++) names.insert(j["items"][i]["name"].str());
  EXPECT_EQ(names.size(), static_cast<size_t>(n));
  RunResult few = s.run({"remote", "devices", "--limit", "5", "--json"});
  EXPECT_EQ(Json::parse(few.out)["count"].u64(), 5u);
}

TEST(CliClient, TheKeyNeverReachesASignedLink) {
  // proxy -> server; the server's signed links point at the proxy, so every
  // request the client makes passes through it and is recorded
  std::string server_url;
  FakeHttpServer proxy([&](const FakeRequest &rq) {
    HttpRequest fw;
    fw.method = rq.method;
    fw.url = server_url + rq.target;
    for (const auto &hd : rq.headers)
      if (hd.first == "authorization" || hd.first == "content-type") fw.headers.push_back(hd);
    fw.body = rq.body;
    fw.timeout_s = 60;
    HttpResponse r = http_do(fw);
    FakeResponse out;
    out.status = r.status;
    out.body = r.body;
    for (const auto &hd : r.headers)
      if (hd.first == "location" || hd.first == "content-type" || hd.first == "retry-after")
        out.headers.push_back({hd.first, hd.second});
    return out;
  });
  Site s({"--public-url", proxy.url()});
  ASSERT_TRUE(s.serve->ok());
  server_url = s.serve->url();
  std::string a = s.synth("a.mcap", 4);
  RunResult up = s.run({"upload", a, "--journal", s.journal, "--json"}, proxy.url());
  ASSERT_EQ(up.exit_code, 0) << up.out << up.err;
  std::string key = key_of(up);
  std::string out = s.tmp.file("out.mcap");
  RunResult ex = s.run(
      {"export", "--recording", key, "-o", out, "--verify-against", a, "--include-attachments"},
      proxy.url());
  ASSERT_EQ(ex.exit_code, 0) << ex.out << ex.err;
  RunResult atts = s.run({"remote", "attachments", "--json"}, proxy.url());
  std::string att = Json::parse(atts.out)["items"][0]["id"].str();
  RunResult dl =
      s.run({"remote", "attachments", "download", att, "-o", s.tmp.file("att")}, proxy.url());
  ASSERT_EQ(dl.exit_code, 0) << dl.err;
  int signed_links = 0, api = 0;
  for (const auto &rq : proxy.requests()) {
    if (rq.path.rfind("/signed/", 0) == 0) {
      signed_links++;
      EXPECT_FALSE(rq.has_header("authorization")) << rq.method << " " << rq.path;
    } else {
      api++;
      EXPECT_EQ(rq.header("authorization"), "Bearer " + kKey) << rq.path;
    }
    EXPECT_EQ(rq.target.find(kKey), std::string::npos);
    EXPECT_EQ(rq.body.find(kKey), std::string::npos);
  }
  EXPECT_GE(signed_links, 3);  // the PUT, the export, the attachment
  EXPECT_GT(api, 5);
  for (const auto *r : {&up, &ex, &atts, &dl}) expect_no_key(*r);
}

TEST(CliClient, ABatchUnderFaultsCompletes) {
  Site s(
      {"--faults", "error=0.2,reset=0.1,delay=0.2:200", "--fault-seed", "5", "--rate-limit", "20"});
  ASSERT_TRUE(s.serve->ok());
  std::string dir = s.tmp.file("batch");
  ASSERT_EQ(mkdir(dir.c_str(), 0755), 0);
  for (int i = 0; i < 5; i++) {
    RunResult r = run_mcapkit({"synth", "-o", dir + "/r" + std::to_string(i) + ".mcap", "--profile",
                               "tiny", "--duration", "1", "--seed", std::to_string(100 + i)});
    ASSERT_EQ(r.exit_code, 0);
  }
  RunResult up = s.run({"-v", "upload", dir, "--journal", s.journal, "--jobs", "3"});
  EXPECT_EQ(up.exit_code, 0) << up.out << up.err;
  EXPECT_EQ(count_lines_starting(up.out, "done"), 5) << up.out;
  EXPECT_NE(up.err.find("retrying"), std::string::npos) << up.err;
  expect_no_key(up);
}

TEST(CliClient, AKilledBatchIsFinishedFromItsJournal) {
  Site s({"--faults", "delay=1:150"});  // slow replies: the batch takes a while
  ASSERT_TRUE(s.serve->ok());
  std::string dir = s.tmp.file("batch");
  ASSERT_EQ(mkdir(dir.c_str(), 0755), 0);
  const int n = 8;
  for (int i = 0; i < n; i++) {
    RunResult r = run_mcapkit({"synth", "-o", dir + "/r" + std::to_string(i) + ".mcap", "--profile",
                               "tiny", "--duration", "1", "--seed", std::to_string(200 + i)});
    ASSERT_EQ(r.exit_code, 0);
  }
  std::string out_path = s.tmp.file("first.out"), err_path = s.tmp.file("first.err");
  {
    BackgroundProcess bg({mcapkit_path(), "upload", dir, "--journal", s.journal, "--jobs", "1",
                          "--api-url", s.serve->url(), "--api-key-file", s.key_file},
                         out_path, err_path);
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (std::chrono::steady_clock::now() < until && bg.running()) {
      std::ifstream f(out_path);
      std::stringstream ss;
      ss << f.rdbuf();
      if (count_lines_starting(ss.str(), "done") >= 3) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ASSERT_TRUE(bg.running()) << "the batch ended before it could be killed";
    bg.kill_now(SIGKILL);
    EXPECT_EQ(bg.wait(), 128 + SIGKILL);
  }
  std::string first = read_file_or_throw(out_path);
  int done_first = count_lines_starting(first, "done");
  ASSERT_GE(done_first, 3);
  ASSERT_LT(done_first, n);
  RunResult again = s.run({"upload", dir, "--journal", s.journal, "--jobs", "2", "--json"});
  ASSERT_EQ(again.exit_code, 0) << again.out << again.err;
  Json j = Json::parse(again.out);
  EXPECT_GE(j["summary"]["skipped"].u64(), static_cast<uint64_t>(done_first));
  EXPECT_EQ(j["summary"]["skipped"].u64() + j["summary"]["done"].u64(), static_cast<uint64_t>(n));
  for (size_t i = 0; i < j["files"].size(); i++) {
    const Json &f = j["files"][i];
    if (f["status"].str() == "skipped") continue;
    // a file the killed run had sent already is not sent again
    if (f["already_there"].boolean()) {
      EXPECT_FALSE(f["uploaded"].boolean());
    }
  }
  // nothing twice on the server
  HttpResponse recs = http_get(s.serve->url() + "/v1/recordings", kKey);
  EXPECT_EQ(Json::parse(recs.body).size(), static_cast<size_t>(n));
  HttpResponse pend = http_get(
      s.serve->url() + "/v1/data/pending-imports?showCompleted=true&showQuarantined=true", kKey);
  EXPECT_EQ(Json::parse(pend.body).size(), static_cast<size_t>(n));
}
