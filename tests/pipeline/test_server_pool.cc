// test_server_pool.cc - imports run on a pool of workers (--import-workers, issue #15): a
// slow import does not hold the uploads behind it, and two imports of the same recording
// key still de-duplicate as with one queue. A slow import is stood for by the
// import_hook test hook, which holds the worker that took a given file until released.
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "test_server_util.h"

namespace mcapkit_test {
namespace {

using Clock = std::chrono::steady_clock;

// Holds the import of files named `held` until release(); counts the files taken.
struct Gate {
  std::mutex mu;
  std::condition_variable cv;
  std::string held;
  bool open = false;
  std::set<std::string> taken;
  static void hook(void *user, const char *filename) {
    Gate *g = static_cast<Gate *>(user);
    std::unique_lock<std::mutex> lk(g->mu);
    g->taken.insert(filename);
    g->cv.notify_all();
    if (g->held == filename)
      g->cv.wait_for(lk, std::chrono::seconds(120), [g] { return g->open; });
  }
  void release() {
    std::lock_guard<std::mutex> lk(mu);
    open = true;
    cv.notify_all();
  }
  bool wait_taken(const std::string &name) {
    std::unique_lock<std::mutex> lk(mu);
    return cv.wait_for(lk, std::chrono::seconds(60), [&] { return taken.count(name) > 0; });
  }
};

// Poll the import's status until it is `want` or 60 s pass (no fixed sleep decides).
std::string wait_status(const TestServer &s, const std::string &rid, const std::string &want) {
  std::string st;
  auto t0 = Clock::now();
  while (Clock::now() - t0 < std::chrono::seconds(60)) {
    st = pending_import(s, rid)["status"].str();
    if (st == want || st == "error") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return st;
}

TEST(ServerImportPool, ASmallUploadIsImportedWhileASlowImportRuns) {
  TempDir dir;
  std::string huge = dir.file("huge.mcap"), small = dir.file("small.mcap");
  write_synth(huge, 1, 3);
  write_synth(small, 2, 1);
  Gate gate;
  gate.held = "huge.mcap";
  TestServer s(dir.file("data"), [&](pl_server_options &o) {
    o.import_hook = Gate::hook;
    o.import_hook_user = &gate;
  });
  ASSERT_TRUE(s.ok());
  std::string big = upload(s, "{\"filename\": \"huge.mcap\", \"deviceName\": \"d\"}",
                           read_file_or_throw(huge));
  ASSERT_TRUE(gate.wait_taken("huge.mcap"));  // one worker is busy with it now
  auto t0 = Clock::now();
  std::string little = upload(s, "{\"filename\": \"small.mcap\", \"deviceName\": \"d\"}",
                              read_file_or_throw(small));
  EXPECT_EQ(wait_status(s, little, "complete"), "complete");
  double waited = std::chrono::duration<double>(Clock::now() - t0).count();
  std::printf("small upload imported in %.3f s (upload included) while a slow import runs\n",
              waited);
  EXPECT_EQ(pending_import(s, big)["status"].str(), "received") << "the slow one is held";
  EXPECT_LT(waited, 30);
  gate.release();
  ASSERT_TRUE(s.wait_imports());
  EXPECT_EQ(pending_import(s, big)["status"].str(), "complete");
  EXPECT_EQ(parse_json(s.get("/v1/recordings")).size(), 2u);
}

TEST(ServerImportPool, TwoImportsOfOneKeyAtOnceGiveOneRecording) {
  TempDir dir;
  std::string file = dir.file("a.mcap");
  write_synth(file, 3, 1);
  std::string bytes = read_file_or_throw(file);
  Gate gate;
  gate.held = "a.mcap";  // the first waits until the second is being imported too
  TestServer s(dir.file("data"), [&](pl_server_options &o) {
    o.import_hook = Gate::hook;
    o.import_hook_user = &gate;
  });
  ASSERT_TRUE(s.ok());
  std::string a = upload(s, "{\"filename\": \"a.mcap\", \"deviceName\": \"d\", \"key\": \"k1\"}",
                         bytes);
  ASSERT_TRUE(gate.wait_taken("a.mcap"));
  std::string b = upload(s, "{\"filename\": \"b.mcap\", \"deviceName\": \"d\", \"key\": \"k1\"}",
                         bytes);
  ASSERT_TRUE(gate.wait_taken("b.mcap"));
  gate.release();
  ASSERT_TRUE(s.wait_imports());
  Json ja = pending_import(s, a), jb = pending_import(s, b);
  EXPECT_EQ(ja["status"].str(), "complete") << ja["error"].str();
  EXPECT_EQ(jb["status"].str(), "complete") << jb["error"].str();
  EXPECT_EQ(ja["importId"].str(), jb["importId"].str());
  EXPECT_EQ(parse_json(s.get("/v1/recordings")).size(), 1u);
}

}  // namespace
}  // namespace mcapkit_test
