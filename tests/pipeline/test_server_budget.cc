// test_server_budget.cc - the server-wide memory budget (--memory-budget, issue #15):
// export fetches and imports reserve the memory they will hold before they start; an
// export fetch that cannot get its share within the wait is answered 503 with
// Retry-After, imports wait. The recordings are bombs (bombs.h): one 40 MiB Message of
// zeros in a zstd chunk, a few KB on disk, whose export holds the message several times.
// The server runs in this process, so the process's peak RSS is the server's.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "bombs.h"
#include "test_server_util.h"

namespace mcapkit_test {
namespace {

constexpr uint64_t kMessage = uint64_t(40) << 20;
constexpr uint64_t kBudget = uint64_t(200) << 20;  // one export of the bomb fits, two do not
constexpr uint64_t kRssBudget = uint64_t(128) << 20;

std::string write_message_bomb(TempDir &dir, const std::string &name) {
  BombSpec spec;
  spec.payload = kMessage;
  spec.topic = "/big";
  std::string path = dir.file(name);
  write_bomb(path, spec);
  return read_file_or_throw(path);
}

// An export link of recording `rid`'s import, uncompressed ("") or zstd.
std::string export_link(const TestServer &s, const std::string &rid, const std::string &comp) {
  Json imp = pending_import(s, rid);
  HttpResponse r = s.post("/v1/data/stream", "{\"recordingId\": " + jstr(imp["importId"].str()) +
                                                 ", \"compressionFormat\": " + jstr(comp) + "}");
  EXPECT_EQ(r.status, 200) << r.body;
  return parse_json(r)["link"].str();
}

// A GET of `url` whose response header is read but whose body is left in the socket, so
// that the export behind it stays in progress (the pipe and the socket buffers fill up).
class StalledGet {
 public:
  explicit StalledGet(const std::string &url) {
    std::string rest = url.substr(url.find("://") + 3);
    std::string hostport = rest.substr(0, rest.find('/'));
    std::string path = rest.substr(rest.find('/'));
    int port = std::stoi(hostport.substr(hostport.rfind(':') + 1));
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in dst{};
    dst.sin_family = AF_INET;
    dst.sin_port = htons(static_cast<uint16_t>(port));
    inet_pton(AF_INET, "127.0.0.1", &dst.sin_addr);
    if (fd_ < 0 || connect(fd_, reinterpret_cast<sockaddr *>(&dst), sizeof dst) != 0) return;
    std::string req = "GET " + path + " HTTP/1.1\r\nHost: " + hostport +
                      "\r\nConnection: close\r\n\r\n";
    if (send(fd_, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size()))
      return;
    // read the header only, one byte at a time, so that no body byte is taken
    while (head_.size() < 65536 && head_.find("\r\n\r\n") == std::string::npos) {
      pollfd p = {fd_, POLLIN, 0};
      if (poll(&p, 1, 60000) <= 0) return;
      char c;
      if (recv(fd_, &c, 1, 0) != 1) return;
      head_ += c;
    }
  }
  ~StalledGet() {
    if (fd_ >= 0) close(fd_);
  }
  const std::string &head() const { return head_; }
  // Read the rest of the response until the server closes; the body bytes read.
  uint64_t drain() {
    uint64_t n = 0;
    std::vector<char> buf(1 << 20);
    for (;;) {
      pollfd p = {fd_, POLLIN, 0};
      if (poll(&p, 1, 60000) <= 0) break;
      ssize_t k = recv(fd_, buf.data(), buf.size(), 0);
      if (k <= 0) break;
      n += static_cast<uint64_t>(k);
      tail_ += std::string(buf.data(), static_cast<size_t>(k));
      if (tail_.size() > 16) tail_.erase(0, tail_.size() - 16);
    }
    return n;
  }
  // The chunked body ended with its final chunk (an export that fails half way does not).
  bool ended() const {
    return tail_.size() >= 5 && tail_.compare(tail_.size() - 5, 5, "0\r\n\r\n") == 0;
  }

 private:
  int fd_ = -1;
  std::string head_, tail_;
};

pl_server_stats stats_of(TestServer &s) {
  pl_server_stats st;
  pl_server_get_stats(s.get(), &st);
  return st;
}

TEST(ServerBudget, AnExportBeyondTheBudgetGets503WithRetryAfterAndARetrySucceeds) {
  TempDir dir;
  std::string bomb = write_message_bomb(dir, "bomb.mcap");
  TestServer s(dir.file("data"), [](pl_server_options &o) {
    o.memory_budget = kBudget;
    o.budget_wait_ms = 500;
  });
  ASSERT_TRUE(s.ok());
  std::string rid = upload(s, "{\"filename\": \"bomb.mcap\", \"deviceName\": \"d\"}", bomb);
  ASSERT_TRUE(s.wait_imports());
  ASSERT_EQ(pending_import(s, rid)["status"].str(), "complete");
  std::string link = export_link(s, rid, "");  // uncompressed: 40 MiB to send

  // the first fetch holds its share while its client does not read the body
  StalledGet first(link);
  ASSERT_EQ(first.head().rfind("HTTP/1.1 200", 0), 0u) << first.head();
  pl_server_stats st = stats_of(s);
  EXPECT_GT(st.budget_used, kBudget / 2) << "the export reserves its chunks and writer";
  EXPECT_LE(st.budget_used, kBudget);

  HttpResponse busy = http_get(link);
  EXPECT_EQ(busy.status, 503) << busy.body;
  EXPECT_EQ(busy.header("retry-after"), "2");
  EXPECT_NE(error_of(busy).find("memory budget"), std::string::npos) << busy.body;
  EXPECT_EQ(stats_of(s).budget_refused, 1u);

  // the first one completes; then a retry is served, whole
  EXPECT_GT(first.drain(), kMessage);
  EXPECT_TRUE(first.ended());
  // (read raw: the test's HTTP client is slow on a 40 MiB chunked body)
  std::string head;
  uint64_t body = 0;
  bool ended = false;
  for (int i = 0; i < 40; i++) {  // the first one's share returns once its response is freed
    StalledGet again(link);
    head = again.head();
    body = again.drain();
    ended = again.ended();
    if (head.rfind("HTTP/1.1 503", 0) != 0) break;
  }
  EXPECT_EQ(head.rfind("HTTP/1.1 200", 0), 0u) << head;
  EXPECT_GT(body, kMessage);
  EXPECT_TRUE(ended);
  st = stats_of(s);
  EXPECT_LE(st.budget_peak, kBudget);
}

// Resident set size figures of this process (KiB) from /proc/self/status.
long status_kib(const char *field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(field, 0) == 0) return std::stol(line.substr(std::strlen(field)));
  return 0;
}

TEST(ServerBudget, ConcurrentExportFetchesStayUnderTheBudget) {
  TempDir dir;
  std::string bomb = write_message_bomb(dir, "bomb.mcap");
  TestServer s(dir.file("data"), [](pl_server_options &o) {
    o.memory_budget = kRssBudget;  // below one fetch's 166 MiB: cut to it, one at a time
    o.budget_wait_ms = 120000;  // the fetches queue for the budget instead of failing
  });
  ASSERT_TRUE(s.ok());
  std::string rid = upload(s, "{\"filename\": \"bomb.mcap\", \"deviceName\": \"d\"}", bomb);
  ASSERT_TRUE(s.wait_imports());
  ASSERT_EQ(pending_import(s, rid)["status"].str(), "complete");
  std::string link = export_link(s, rid, "zstd");

  // the peak RSS (VmHWM) is reset to the current RSS, so what follows is measured alone
  {
    std::ofstream clear("/proc/self/clear_refs");
    clear << "5";
  }
  long base = status_kib("VmRSS:");
  // each really holds ~62 MiB (its reservation is an upper bound): six at once held 370 MiB
  constexpr int kFetches = 6;
  std::vector<HttpResponse> got(kFetches);
  std::vector<std::thread> th;
  for (int i = 0; i < kFetches; i++) th.emplace_back([&, i] { got[i] = http_get(link); });
  for (auto &t : th) t.join();
  long peak = status_kib("VmHWM:");
  for (int i = 0; i < kFetches; i++) {
    EXPECT_EQ(got[i].status, 200) << got[i].body;
    EXPECT_TRUE(got[i].complete);
  }
  pl_server_stats st = stats_of(s);
  EXPECT_LE(st.budget_peak, kRssBudget);
  EXPECT_EQ(st.budget_used, 0u);
  long grew = peak - base;
  std::printf("%d concurrent fetches of a 40 MiB-message export, budget %llu MiB: peak RSS "
              "%ld KiB above the %ld KiB before\n",
              kFetches, static_cast<unsigned long long>(kRssBudget >> 20), grew, base);
#if defined(__SANITIZE_ADDRESS__)
  // ASan keeps freed memory in its quarantine (256 MiB) and adds shadow memory
  EXPECT_LT(grew, static_cast<long>((kRssBudget + (uint64_t(512) << 20)) >> 10));
#else
  EXPECT_LT(grew, static_cast<long>((kRssBudget + (uint64_t(32) << 20)) >> 10));
#endif
}

TEST(ServerBudget, ImportsWaitForTheBudgetAndThenComplete) {
  TempDir dir;
  std::string bomb = write_message_bomb(dir, "bomb.mcap");
  TestServer s(dir.file("data"), [](pl_server_options &o) {
    o.memory_budget = kBudget;
    o.budget_wait_ms = 500;
  });
  ASSERT_TRUE(s.ok());
  std::string rid = upload(s, "{\"filename\": \"bomb.mcap\", \"deviceName\": \"d\"}", bomb);
  ASSERT_TRUE(s.wait_imports());
  std::string link = export_link(s, rid, "");
  auto first = std::make_unique<StalledGet>(link);
  ASSERT_EQ(first->head().rfind("HTTP/1.1 200", 0), 0u) << first->head();

  // a second copy needs ~100 MiB to import: more than the export leaves
  std::string rid2 = upload(s, "{\"filename\": \"bomb2.mcap\", \"deviceName\": \"d\"}", bomb);
  Json imp;
  auto t0 = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - t0 < std::chrono::seconds(60)) {
    imp = pending_import(s, rid2);
    if (imp["pipelineStage"].str() == "waiting for memory") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // polling, with a deadline
  }
  EXPECT_EQ(imp["pipelineStage"].str(), "waiting for memory");
  EXPECT_FALSE(s.wait_imports(0.2));
  EXPECT_GT(first->drain(), kMessage);
  first.reset();
  ASSERT_TRUE(s.wait_imports());
  EXPECT_EQ(pending_import(s, rid2)["status"].str(), "complete");
  EXPECT_LE(stats_of(s).budget_peak, kBudget);
}

}  // namespace
}  // namespace mcapkit_test
