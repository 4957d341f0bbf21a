// fake_http.h - loopback HTTP helpers for the API client tests:
// - FakeHttpServer: a scripted HTTP/1.1 server on 127.0.0.1 (keep-alive,
//   Content-Length and chunked request bodies, "Expect: 100-continue") that
//   records every request exactly as received and answers through a handler,
//   which can also delay, cut a body short or reset the connection;
// - ServeProcess: 'mcapkit serve' started as a child process on a free port
//   with a known API key, stopped on destruction;
// - BackgroundProcess: any program started in the background (to be killed
//   mid-run), with stdout and stderr going to files.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace mcapkit_test {

struct FakeRequest {
  std::string method;
  std::string target;                                        // path and query as sent
  std::string path;                                          // before '?'
  std::string query;                                         // after '?', "" if none
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased, in order
  std::string body;
  int connection = 0;  // which connection (1, 2, ...) carried it
  bool has_header(const std::string &name) const;
  std::string header(const std::string &name) const;  // "" if absent
  // A query parameter, percent-decoded ("" if absent).
  std::string param(const std::string &name) const;
  bool has_param(const std::string &name) const;
};

struct FakeResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  int delay_ms = 0;          // wait before answering
  bool reset = false;        // close the connection (RST) instead of answering
  long long cut_after = -1;  // >= 0: promise the whole body, send this many bytes, close
  bool close = false;        // "Connection: close" and close after the response
};

// A JSON response.
FakeResponse json_response(int status, const std::string &body);

class FakeHttpServer {
 public:
  using Handler = std::function<FakeResponse(const FakeRequest &)>;
  explicit FakeHttpServer(Handler handler);
  ~FakeHttpServer();
  FakeHttpServer(const FakeHttpServer &) = delete;
  FakeHttpServer &operator=(const FakeHttpServer &) = delete;

  std::string url() const;  // "http://127.0.0.1:PORT"
  int port() const { return port_; }
  void set_handler(Handler handler);
  std::vector<FakeRequest> requests() const;
  size_t request_count() const;
  int connections() const { return connections_.load(); }

 private:
  void accept_loop();
  void serve(int fd, int conn_id);
  Handler handler() const;

  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  mutable std::mutex mu_;
  Handler handler_;
  std::vector<FakeRequest> requests_;
  std::vector<std::thread> threads_;
  std::vector<int> fds_;
  std::thread acceptor_;
};

// A keys file for 'mcapkit serve' with one all-capabilities key.
void write_keys_file(const std::string &path, const std::string &key);

class ServeProcess {
 public:
  // Starts MCAPKIT_BIN_DIR/mcapkit serve --data DATA --listen 127.0.0.1:0
  // --keys DATA.keys.json --no-fsync EXTRA...; waits for the first line.
  ServeProcess(const std::string &data_dir, const std::vector<std::string> &extra = {},
               const std::string &key = "fox_sk_testkey_0123456789abcdef");
  ~ServeProcess();
  ServeProcess(const ServeProcess &) = delete;
  ServeProcess &operator=(const ServeProcess &) = delete;
  bool ok() const { return !url_.empty(); }
  const std::string &url() const { return url_; }
  const std::string &key() const { return key_; }
  std::string log() const;  // what it wrote to stderr so far
  void stop();              // SIGTERM and wait

 private:
  pid_t pid_ = -1;
  std::string url_, key_, err_path_;
};

class BackgroundProcess {
 public:
  // env: extra "NAME=value" entries added to the environment.
  BackgroundProcess(const std::vector<std::string> &argv, const std::string &out_path,
                    const std::string &err_path, const std::vector<std::string> &env = {});
  ~BackgroundProcess();
  BackgroundProcess(const BackgroundProcess &) = delete;
  BackgroundProcess &operator=(const BackgroundProcess &) = delete;
  void kill_now(int sig);
  int wait(double timeout_s = 120);  // exit status, 128+signal, -1 on timeout
  bool running();

 private:
  pid_t pid_ = -1;
  int status_ = -1;
};

}  // namespace mcapkit_test
