// test_server_load.cc - load on the local site: 32 concurrent clients for 10 s,
// 28 of them making list calls over every list endpoint and 4 uploading
// recordings in parallel (link + PUT), with zero errors allowed. Prints the
// request rate and the upload throughput. Imports are held during the run so
// the figures measure the HTTP side; the uploads are checked to be received.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "test_server_util.h"

namespace mcapkit_test {
namespace {

TEST(ServerLoad, ThirtyTwoClientsTenSecondsZeroErrors) {
  TempDir dir;
  std::string file = dir.file("up.mcap");
  write_synth(file, 77, 1, PL_SYNTH_ROBOT);
  const std::string content = read_file_or_throw(file);
  TestServer s(dir.file("data"), [](pl_server_options &o) { o.hold_imports = 1; });
  ASSERT_TRUE(s.ok());
  // something to list
  for (int i = 0; i < 50; i++)
    ASSERT_EQ(s.post("/v1/devices", "{\"name\": \"load-" + std::to_string(i) + "\"}").status, 200);

  const std::vector<std::string> lists = {
      "/v1/devices",
      "/v1/devices?sortBy=name&sortOrder=desc&limit=10",
      "/v1/recordings",
      "/v1/data/pending-imports?showCompleted=true",
      "/v1/recording-attachments",
      "/v1/data/topics?includeSchemas=false",
      "/v1/data/coverage?start=2026-01-01T00:00:00Z&end=2026-01-03T00:00:00Z",
      "/v1/devices/load-7"};
  std::atomic<uint64_t> requests{0}, errors{0}, uploaded_bytes{0}, uploads{0};
  std::atomic<bool> stop{false};
  std::vector<std::string> first_errors;
  std::mutex mu;
  auto note = [&](const std::string &what, const HttpResponse &r) {
    errors++;
    std::lock_guard<std::mutex> lock(mu);
    if (first_errors.size() < 5)
      first_errors.push_back(what + ": " + std::to_string(r.status) + " " + r.error + " " +
                             r.body.substr(0, 200));
  };
  auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> clients;
  for (int c = 0; c < 28; c++)
    clients.emplace_back([&, c] {
      size_t i = static_cast<size_t>(c);
      while (!stop) {
        const std::string &path = lists[i++ % lists.size()];
        HttpResponse r = s.get(path);
        requests++;
        if (r.status != 200 || !r.complete) note(path, r);
      }
    });
  for (int c = 0; c < 4; c++)
    clients.emplace_back([&, c] {
      int n = 0;
      while (!stop) {
        std::string body = "{\"filename\": \"up.mcap\", \"deviceName\": \"uploader-" +
                           std::to_string(c) + "\", \"key\": \"load-" + std::to_string(c) + "-" +
                           std::to_string(n++) + "\"}";
        HttpResponse r = s.post("/v1/data/upload", body);
        requests++;
        if (r.status != 200) {
          note("upload link", r);
          continue;
        }
        HttpResponse p = http_put(parse_json(r)["link"].str(), content);
        requests++;
        if (p.status != 200) {
          note("PUT", p);
          continue;
        }
        uploaded_bytes += content.size();
        uploads++;
      }
    });
  std::this_thread::sleep_for(std::chrono::seconds(10));
  stop = true;
  for (auto &t : clients) t.join();
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  double rps = static_cast<double>(requests.load()) / secs;
  double mbps = static_cast<double>(uploaded_bytes.load()) / secs / (1024.0 * 1024.0);
  printf("[ load     ] 32 clients, %.1f s: %llu requests (%.0f requests/s), %llu uploads of "
         "%.1f MiB (%.1f MiB/s), %llu errors\n",
         secs, static_cast<unsigned long long>(requests.load()), rps,
         static_cast<unsigned long long>(uploads.load()),
         static_cast<double>(content.size()) / (1024.0 * 1024.0), mbps,
         static_cast<unsigned long long>(errors.load()));
  for (const auto &e : first_errors) ADD_FAILURE() << e;
  EXPECT_EQ(errors.load(), 0u);
  EXPECT_GT(uploads.load(), 0u);
  EXPECT_GT(requests.load(), 1000u);
  // every upload was received
  Json pending = parse_json(s.get("/v1/data/pending-imports?limit=2000"));
  EXPECT_EQ(pending.size(), std::min<uint64_t>(uploads.load(), 2000));
}

}  // namespace
}  // namespace mcapkit_test
