// test_upload_faults.cc - the upload batch against a local site server that
// misbehaves on purpose (pl_server faults: 20% of requests answered 500/503,
// connections reset, slow replies, and a rate limit that answers 429 with
// Retry-After): 20 uploads all complete, nothing is duplicated, every
// reconcile is clean; and a batch stopped half way (the cancel flag, as
// Ctrl-C does) is finished by a re-run from its journal without uploading
// anything twice.
#include <curl/curl.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "pipeline/client.h"
#include "test_server_util.h"

using namespace mcapkit_test;

namespace {

class CurlEnv : public ::testing::Environment {
 public:
  void SetUp() override { ASSERT_EQ(pl_http_global_init(nullptr), PL_OK); }
};
const auto *const curl_env = ::testing::AddGlobalTestEnvironment(new CurlEnv);

struct Counter {
  std::atomic<int> done{0};
  std::atomic<int> progress{0};
  volatile int *cancel = nullptr;
  int cancel_after = -1;
};

void on_event(void *user, const pl_upload_event *ev) {
  auto *c = static_cast<Counter *>(user);
  if (ev->kind == PL_UPLOAD_EV_PROGRESS) c->progress++;
  if (ev->kind == PL_UPLOAD_EV_DONE && ev->result->status == PL_UPLOAD_DONE) {
    int n = ++c->done;
    if (c->cancel && n == c->cancel_after) *c->cancel = 1;
  }
}

std::vector<std::string> make_files(const TempDir &tmp, int n) {
  std::vector<std::string> files;
  for (int i = 0; i < n; i++) {
    std::string f = tmp.file("rec" + std::to_string(i) + ".mcap");
    write_synth(f, 1000 + static_cast<uint64_t>(i), 1.5, PL_SYNTH_TINY, i % 3);
    files.push_back(f);
  }
  return files;
}

struct RetryLog {
  std::mutex mu;
  std::vector<std::string> lines;
};

void log_line(void *user, const char *line) {
  auto *l = static_cast<RetryLog *>(user);
  std::lock_guard<std::mutex> lock(l->mu);
  l->lines.push_back(line);
}

int run_batch(const TestServer &s, const std::vector<std::string> &files, pl_upload_options o,
              pl_upload_result **res, RetryLog *log) {
  std::vector<const char *> paths;
  for (const auto &f : files) paths.push_back(f.c_str());
  pl_http_options ho;
  memset(&ho, 0, sizeof ho);
  ho.backoff_initial_s = 0.05;
  ho.backoff_max_s = 1;
  ho.max_attempts = 10;
  ho.timeout_s = 30;
  if (log) {
    ho.log = log_line;
    ho.log_user = log;
  }
  pl_error_info err;
  int rc = pl_upload_files(s.url().c_str(), s.key().c_str(), &ho, paths.data(), paths.size(), &o,
                           res, &err);
  if (rc != PL_OK) ADD_FAILURE() << "batch: " << err.msg;
  return rc;
}

std::string describe(const pl_upload_result &r) {
  std::string s = std::string(r.path) + ": " + pl_upload_status_name(r.status) + " " + r.err.msg;
  for (size_t i = 0; r.reconcile && i < r.reconcile->n_diffs; i++)
    s += std::string("\n  ") + r.reconcile->diffs[i].what + ": " + r.reconcile->diffs[i].local +
         " / " + r.reconcile->diffs[i].remote;
  return s;
}

// A GET that gets through the server's faults.
Json get_through(const TestServer &s, const std::string &path) {
  for (int i = 0; i < 50; i++) {
    HttpResponse r = s.get(path);
    if (r.status == 200 && r.complete) return parse_json(r);
    std::this_thread::sleep_for(std::chrono::milliseconds(r.status == 429 ? 1000 : 20));
  }
  ADD_FAILURE() << "GET " << path << " never got through";
  return Json();
}

// Every recording exactly once, and one received upload per key.
void expect_no_duplicates(const TestServer &s, size_t n) {
  Json recs = get_through(s, "/v1/recordings");
  std::set<std::string> keys;
  for (size_t i = 0; i < recs.size(); i++) keys.insert(recs[i]["key"].str());
  EXPECT_EQ(recs.size(), n);
  EXPECT_EQ(keys.size(), n);
  Json pend = get_through(s, "/v1/data/pending-imports?showCompleted=true&showQuarantined=true");
  std::map<std::string, int> per_key;
  for (size_t i = 0; i < pend.size(); i++) per_key[pend[i]["key"].str()]++;
  EXPECT_EQ(pend.size(), n);
  for (const auto &kv : per_key) EXPECT_EQ(kv.second, 1) << kv.first;
}

}  // namespace

TEST(UploadFaults, TwentyUploadsUnderFaultsCompleteWithoutDuplicates) {
  TempDir tmp;
  // faults apply to the server itself; requests that get through are rate limited
  TestServer s(tmp.file("data"), [](pl_server_options &o) {
    o.faults = "error=0.2,reset=0.1,delay=0.15:300";
    o.fault_seed = 42;
    o.rate_limit = 25;
  });
  ASSERT_TRUE(s.ok());
  std::vector<std::string> files = make_files(tmp, 20);
  pl_upload_options o;
  memset(&o, 0, sizeof o);
  std::string jd = tmp.file("journal");
  o.journal_dir = jd.c_str();
  o.jobs = 4;
  o.poll_initial_s = 0.1;
  o.wait_timeout_s = 120;
  Counter c;
  o.on_event = on_event;
  o.event_user = &c;
  pl_upload_result *res = nullptr;
  RetryLog log;
  EXPECT_EQ(run_batch(s, files, o, &res, &log), PL_OK);
  // the faults really happened, and each kind was retried
  int s5xx = 0, s429 = 0, broken = 0;
  for (const auto &l : log.lines) {
    if (l.find(": 500") != std::string::npos || l.find(": 503") != std::string::npos) s5xx++;
    if (l.find(": 429 with Retry-After") != std::string::npos) s429++;
    if (l.find("cut off") != std::string::npos || l.find("broken") != std::string::npos ||
        l.find("closed the connection") != std::string::npos)
      broken++;
  }
  EXPECT_GT(s5xx, 5);
  EXPECT_GT(s429, 0);
  EXPECT_GT(broken, 0);
  ASSERT_NE(res, nullptr);
  for (size_t i = 0; i < files.size(); i++) {
    EXPECT_EQ(res[i].status, PL_UPLOAD_DONE) << describe(res[i]);
    EXPECT_EQ(res[i].uploads, 1) << describe(res[i]);
    ASSERT_NE(res[i].reconcile, nullptr) << describe(res[i]);
    EXPECT_EQ(res[i].reconcile->n_diffs, 0u) << describe(res[i]);
  }
  EXPECT_EQ(c.done.load(), 20);
  pl_upload_results_free(res, files.size());
  expect_no_duplicates(s, files.size());
}

TEST(UploadFaults, AStoppedBatchIsFinishedFromItsJournalWithoutReuploading) {
  TempDir tmp;
  TestServer s(tmp.file("data"), [](pl_server_options &o) {
    o.faults = "error=0.1,delay=0.2:100";
    o.fault_seed = 7;
  });
  ASSERT_TRUE(s.ok());
  std::vector<std::string> files = make_files(tmp, 10);
  pl_upload_options o;
  memset(&o, 0, sizeof o);
  std::string jd = tmp.file("journal");
  o.journal_dir = jd.c_str();
  o.jobs = 2;
  o.poll_initial_s = 0.05;
  volatile int cancel = 0;
  o.cancel = &cancel;
  Counter c;
  c.cancel = &cancel;
  c.cancel_after = 4;
  o.on_event = on_event;
  o.event_user = &c;
  pl_upload_result *first = nullptr;
  std::vector<const char *> paths;
  for (const auto &f : files) paths.push_back(f.c_str());
  pl_http_options ho;
  memset(&ho, 0, sizeof ho);
  ho.backoff_initial_s = 0.05;
  pl_error_info err;
  int rc = pl_upload_files(s.url().c_str(), s.key().c_str(), &ho, paths.data(), paths.size(), &o,
                           &first, &err);
  EXPECT_EQ(rc, PL_ECANCELED) << err.msg;
  std::set<size_t> done_first, uploaded_first;
  for (size_t i = 0; i < files.size(); i++) {
    if (first[i].status == PL_UPLOAD_DONE) done_first.insert(i);
    if (first[i].uploads) uploaded_first.insert(i);
  }
  EXPECT_GE(done_first.size(), 4u);
  EXPECT_LT(done_first.size(), files.size());
  pl_upload_results_free(first, files.size());

  // the re-run
  cancel = 0;
  c.cancel = nullptr;
  pl_upload_result *second = nullptr;
  rc = pl_upload_files(s.url().c_str(), s.key().c_str(), &ho, paths.data(), paths.size(), &o,
                       &second, &err);
  EXPECT_EQ(rc, PL_OK) << err.msg;
  for (size_t i = 0; i < files.size(); i++) {
    if (done_first.count(i)) {
      EXPECT_EQ(second[i].status, PL_UPLOAD_SKIPPED) << describe(second[i]);
    } else {
      EXPECT_EQ(second[i].status, PL_UPLOAD_DONE) << describe(second[i]);
    }
    if (uploaded_first.count(i)) {
      EXPECT_EQ(second[i].uploads, 0) << describe(second[i]);
    }
  }
  pl_upload_results_free(second, files.size());
  expect_no_duplicates(s, files.size());
}

TEST(UploadFaults, AJournalIsUsedByOneBatchAtATime) {
  TempDir tmp;
  TestServer s(tmp.file("data"), [](pl_server_options &o) { o.hold_imports = 1; });
  ASSERT_TRUE(s.ok());
  std::vector<std::string> files = make_files(tmp, 1);
  std::string jd = tmp.file("journal");
  pl_upload_options o;
  memset(&o, 0, sizeof o);
  o.journal_dir = jd.c_str();
  o.poll_initial_s = 0.05;
  o.wait_timeout_s = 3;
  std::atomic<int> started{0};
  std::thread t([&] {
    pl_upload_result *res = nullptr;
    pl_upload_options o1 = o;
    pl_error_info e;
    pl_http_options ho;
    memset(&ho, 0, sizeof ho);
    const char *p[] = {files[0].c_str()};
    started = 1;
    pl_upload_files(s.url().c_str(), s.key().c_str(), &ho, p, 1, &o1, &res, &e);
    pl_upload_results_free(res, 1);
  });
  while (!started) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  pl_upload_result *res = nullptr;
  pl_error_info err;
  pl_http_options ho;
  memset(&ho, 0, sizeof ho);
  const char *p[] = {files[0].c_str()};
  EXPECT_EQ(pl_upload_files(s.url().c_str(), s.key().c_str(), &ho, p, 1, &o, &res, &err),
            PL_ECONFLICT);
  EXPECT_NE(std::string(err.msg).find("another upload"), std::string::npos) << err.msg;
  pl_upload_results_free(res, 1);
  t.join();
  pl_server_release_imports(s.get());
}
