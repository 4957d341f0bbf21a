// test_server_lockout.cc - no client can lock others out of the local site
// (issue #15): a request header must be complete within header_timeout_s; a
// body that stalls or trickles is cut off (idle timeout, and a deadline that
// grows with the bytes received); idle sockets that never authenticate cannot
// hold the connection slots of one address or of the whole server, because the
// oldest of them are dropped to keep room. Small timeouts keep the tests fast;
// the clients are raw sockets on loopback addresses (127.0.0.x).
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "test_server_util.h"

namespace mcapkit_test {
namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

int port_of(const std::string &url) { return std::stoi(url.substr(url.rfind(':') + 1)); }

// A connection to the server from the loopback address `from` (-1 on failure).
int connect_from(const std::string &url, const char *from) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in src{};
  src.sin_family = AF_INET;
  inet_pton(AF_INET, from, &src.sin_addr);
  sockaddr_in dst{};
  dst.sin_family = AF_INET;
  dst.sin_port = htons(static_cast<uint16_t>(port_of(url)));
  inet_pton(AF_INET, "127.0.0.1", &dst.sin_addr);
  if (bind(fd, reinterpret_cast<sockaddr *>(&src), sizeof src) != 0 ||
      connect(fd, reinterpret_cast<sockaddr *>(&dst), sizeof dst) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// Wait until the server closes `fd` (or resets it); false after `limit` seconds.
bool closed_within(int fd, double limit) {
  auto t0 = Clock::now();
  char buf[4096];
  while (since(t0) < limit) {
    pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return true;
  }
  return false;
}

// Send an authenticated GET of `path` (Connection: close) on `fd`, read the answer until
// the server closes, close `fd`; the status (0 when there is no answer).
int get_on(const TestServer &s, int fd, const std::string &path) {
  std::string req = "GET " + path + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + s.key() +
                    "\r\nConnection: close\r\n\r\n";
  (void)send(fd, req.data(), req.size(), MSG_NOSIGNAL);
  std::string got;
  char buf[4096];
  auto t0 = Clock::now();
  while (since(t0) < 10) {
    pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, 200) <= 0) continue;
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    got.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return got.compare(0, 9, "HTTP/1.1 ") == 0 ? std::stoi(got.substr(9, 3)) : 0;
}

// One GET from `from`; the status (0 when there is no answer).
int get_from(const TestServer &s, const char *from, const std::string &path) {
  int fd = connect_from(s.url(), from);
  return fd < 0 ? 0 : get_on(s, fd, path);
}

TEST(ServerLockout, AHeaderMustBeCompleteWithinTheHeaderTimeout) {
  TempDir dir;
  TestServer s(dir.file("data"), [](pl_server_options &o) { o.header_timeout_s = 1; });
  ASSERT_TRUE(s.ok());
  auto t0 = Clock::now();
  int idle = connect_from(s.url(), "127.0.0.1");
  ASSERT_GE(idle, 0);
  EXPECT_TRUE(closed_within(idle, 4)) << "an idle connection is closed";
  EXPECT_GT(since(t0), 0.8);
  close(idle);
  // a header trickled one byte every 200 ms never completes in time
  int slow = connect_from(s.url(), "127.0.0.1");
  ASSERT_GE(slow, 0);
  std::string req = "GET /v1/devices HTTP/1.1\r\nHost: x\r\nX-Slow: " + std::string(100, 's');
  t0 = Clock::now();
  bool closed = false;
  for (size_t i = 0; i < req.size() && !closed; i++) {
    if (send(slow, &req[i], 1, MSG_NOSIGNAL) != 1) closed = true;
    pollfd p = {slow, POLLIN, 0};
    if (poll(&p, 1, 200) > 0) closed = true;
  }
  EXPECT_TRUE(closed);
  EXPECT_LT(since(t0), 4);
  close(slow);
  EXPECT_EQ(s.get("/v1/devices").status, 200);
}

TEST(ServerLockout, StalledAndTricklingBodiesAreCutOff) {
  TempDir dir;
  TestServer s(dir.file("data"), [](pl_server_options &o) {
    o.connection_timeout_s = 1;  // the grace of a body
    o.body_idle_timeout_s = 1;
    o.min_body_rate = 64 << 10;
    o.hold_imports = 1;
  });
  ASSERT_TRUE(s.ok());
  auto put_head = [&](uint64_t length) {
    HttpResponse l = s.post("/v1/data/upload", "{\"filename\": \"a.mcap\", \"key\": \"k" +
                                                   std::to_string(length) + "\"}");
    std::string link = parse_json(l)["link"].str();
    return "PUT " + link.substr(link.find("/signed/")) + " HTTP/1.1\r\nHost: x\r\nContent-Length: " +
           std::to_string(length) + "\r\n\r\n";
  };
  // a body that stops: closed after the idle timeout
  int fd = connect_from(s.url(), "127.0.0.1");
  std::string head = put_head(1 << 20);
  (void)send(fd, head.data(), head.size(), MSG_NOSIGNAL);
  std::string part(1000, 'x');
  (void)send(fd, part.data(), part.size(), MSG_NOSIGNAL);
  auto t0 = Clock::now();
  EXPECT_TRUE(closed_within(fd, 5));
  EXPECT_GT(since(t0), 0.8);
  close(fd);
  // one byte every 300 ms never goes idle but falls behind: closed after grace + bytes/rate
  fd = connect_from(s.url(), "127.0.0.1");
  head = put_head(1000);
  (void)send(fd, head.data(), head.size(), MSG_NOSIGNAL);
  t0 = Clock::now();
  bool closed = false;
  while (!closed && since(t0) < 8) {
    if (send(fd, "x", 1, MSG_NOSIGNAL) != 1) closed = true;
    pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, 300) > 0) closed = true;
  }
  EXPECT_TRUE(closed);
  EXPECT_LT(since(t0), 4);
  close(fd);
  // a body at full speed is not affected: 8 MiB, well past the grace at the minimum rate
  HttpResponse l = s.post("/v1/data/upload", "{\"filename\": \"b.mcap\", \"key\": \"big\"}");
  EXPECT_EQ(http_put(parse_json(l)["link"].str(), std::string(8 << 20, 'b')).status, 200);
}

TEST(ServerLockout, TheServersOwnSlownessIsNotCountedAgainstABody) {
  // The body timeouts measure the client. A request whose handling takes longer than they
  // allow (here every request is held 1.5 s by the fault injection; under load, a busy
  // machine) must still be answered: the watchdog used to count the time from the header
  // to the answer as body time, and dropped a loaded server's GETs and uploads unanswered
  // (ServerAbuse under CI's load: "no complete response header").
  TempDir dir;
  TestServer s(dir.file("data"), [](pl_server_options &o) {
    o.connection_timeout_s = 1;
    o.body_idle_timeout_s = 1;
    o.faults = "delay=1:1500";
    o.fault_seed = 1;
  });
  ASSERT_TRUE(s.ok());
  auto t0 = Clock::now();
  HttpResponse r = s.get("/v1/devices");
  EXPECT_EQ(r.status, 200) << r.error;
  EXPECT_GT(since(t0), 1.4) << "the request was held";
  HttpResponse l = s.post("/v1/data/upload", "{\"filename\": \"a.mcap\", \"key\": \"k\"}");
  ASSERT_EQ(l.status, 200) << l.error;
  EXPECT_EQ(http_put(parse_json(l)["link"].str(), std::string(100 << 10, 'a')).status, 200);
}

TEST(ServerLockout, IdleSocketsOfOneAddressDoNotLockItOut) {
  TempDir dir;
  TestServer s(dir.file("data"), [](pl_server_options &o) {
    o.max_connections = 64;
    o.max_connections_per_ip = 16;
    o.header_timeout_s = 30;  // the attacker's sockets would stay for the whole test
  });
  ASSERT_TRUE(s.ok());
  std::atomic<bool> stop{false};
  std::atomic<int> opened{0};
  // the attacker holds as many idle sockets from 127.0.0.1 as it can, never sends a byte,
  // and opens a new one for each that the server closes
  std::thread attacker([&] {
    std::vector<int> fds;
    while (!stop) {
      for (size_t i = 0; i < fds.size();) {
        pollfd p = {fds[i], POLLIN, 0};
        if (poll(&p, 1, 0) > 0) {
          close(fds[i]);
          fds.erase(fds.begin() + static_cast<long>(i));
        } else {
          i++;
        }
      }
      while (fds.size() < 300 && !stop) {
        int fd = connect_from(s.url(), "127.0.0.1");
        if (fd < 0) break;
        fds.push_back(fd);
        opened++;
        if (fds.size() % 16 == 0) break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    for (int fd : fds) close(fd);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  int ok = 0, n = 0, retried = 0;
  std::string failed;  // "address:status" of each request not served (0: no answer)
  auto t0 = Clock::now();
  while (since(t0) < 3) {
    // the same address (a client beside the attacker) and another one
    for (const char *from : {"127.0.0.1", "127.0.0.2"}) {
      int status = get_from(s, from, "/v1/devices");
      // A socket of the attacked address that has not sent its request yet cannot be told
      // from the attacker's: when this client is descheduled between connect and send for as
      // long as the attacker takes to open per-address-limit new sockets (tens of ms, seen
      // once in 2248 requests on a loaded machine), it is dropped before any answer. Such a
      // request is retried once, as browsers retry a request whose connection closed before
      // any response; another address is never retried.
      if (status == 0 && std::string(from) == "127.0.0.1") {
        retried++;
        status = get_from(s, from, "/v1/devices");
      }
      if (status == 200)
        ok++;
      else if (failed.size() < 200)
        failed += std::string(from) + ":" + std::to_string(status) + " ";
      n++;
    }
  }
  stop = true;
  attacker.join();
  EXPECT_GT(opened.load(), 100);
  // (it failed 1 in 2248 under load before libmicrohttpd's own per-address limit was dropped:
  // that counted the attacker's sockets that were shut down but whose threads had not exited)
  EXPECT_EQ(ok, n) << "every request is served while idle sockets try to hold the slots; not: "
                   << failed;
  EXPECT_LE(retried * 100, n / 2) << "at most 1 % of the attacked address's requests need a retry";
}

TEST(ServerLockout, AQuietClientIsNotDroppedForAChurnersYoungerSockets) {
  // A client of one address has connected and not yet sent its request (a loaded machine
  // holds it between connect and send); another address then opens idle sockets past the
  // server's reserve faster than they age. The churner's sockets must go, never the quiet
  // client's: when the churner's were all younger than the 100 ms a socket gets, the old
  // rule dropped the older quiet client instead (ServerAbuse under CI's load).
  TempDir dir;
  TestServer s(dir.file("data"), [](pl_server_options &o) {
    o.max_connections = 16;
    o.max_connections_per_ip = 16;
    o.header_timeout_s = 30;
  });
  ASSERT_TRUE(s.ok());
  int quiet = connect_from(s.url(), "127.0.0.2");
  ASSERT_GE(quiet, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(250));  // older than 100 ms
  std::vector<int> churn;
  for (int i = 0; i < 16; i++) {
    int fd = connect_from(s.url(), "127.0.0.3");
    if (fd >= 0) churn.push_back(fd);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // watchdog ticks too
  int status = get_on(s, quiet, "/v1/devices");
  for (int fd : churn) close(fd);
  EXPECT_EQ(status, 200) << "the quiet client was not answered";
  EXPECT_EQ(churn.size(), 16u);
}

TEST(ServerLockout, IdleSocketsFromManyAddressesDoNotFillTheServer) {
  TempDir dir;
  TestServer s(dir.file("data"), [](pl_server_options &o) {
    o.max_connections = 48;
    o.max_connections_per_ip = 8;
    o.header_timeout_s = 30;
  });
  ASSERT_TRUE(s.ok());
  std::vector<int> fds;
  for (int a = 10; a < 40; a++) {
    std::string from = "127.0.0." + std::to_string(a);
    for (int i = 0; i < 8; i++) {
      int fd = connect_from(s.url(), from.c_str());
      if (fd >= 0) fds.push_back(fd);
    }
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  for (int i = 0; i < 20; i++)
    EXPECT_EQ(get_from(s, "127.0.0.2", "/v1/devices"), 200) << i;
  for (int fd : fds) close(fd);
}

}  // namespace
}  // namespace mcapkit_test
