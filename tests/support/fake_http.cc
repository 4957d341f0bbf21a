// fake_http.cc - FakeHttpServer, ServeProcess and BackgroundProcess (see fake_http.h).
#include "fake_http.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace mcapkit_test {

static std::string lower(std::string s) {
  for (auto &c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

bool FakeRequest::has_header(const std::string &name) const {
  std::string n = lower(name);
  for (const auto &h : headers)
    if (h.first == n) return true;
  return false;
}

std::string FakeRequest::header(const std::string &name) const {
  std::string n = lower(name);
  for (const auto &h : headers)
    if (h.first == n) return h.second;
  return "";
}

static std::string pct_decode(const std::string &s) {
  std::string out;
  for (size_t i = 0; i < s.size(); i++) {
    if (s[i] == '%' && i + 2 < s.size()) {
      out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else if (s[i] == '+') {
      out += ' ';
    } else {
      out += s[i];
    }
  }
  return out;
}

static bool find_param(const std::string &query, const std::string &name, std::string *value) {
  size_t pos = 0;
  while (pos <= query.size()) {
    size_t amp = query.find('&', pos);
    std::string kv = query.substr(pos, amp == std::string::npos ? std::string::npos : amp - pos);
    size_t eq = kv.find('=');
    std::string k = pct_decode(kv.substr(0, eq));
    if (k == name) {
      *value = eq == std::string::npos ? "" : pct_decode(kv.substr(eq + 1));
      return true;
    }
    if (amp == std::string::npos) break;
    pos = amp + 1;
  }
  return false;
}

std::string FakeRequest::param(const std::string &name) const {
  std::string v;
  return find_param(query, name, &v) ? v : "";
}

bool FakeRequest::has_param(const std::string &name) const {
  std::string v;
  return find_param(query, name, &v);
}

FakeResponse json_response(int status, const std::string &body) {
  FakeResponse r;
  r.status = status;
  r.body = body;
  r.headers.push_back({"Content-Type", "application/json"});
  return r;
}

FakeHttpServer::FakeHttpServer(Handler handler) : handler_(std::move(handler)) {
  listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) throw std::runtime_error("socket failed");
  int one = 1;
  setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sa.sin_port = 0;
  if (bind(listen_fd_, reinterpret_cast<sockaddr *>(&sa), sizeof sa) != 0 ||
      listen(listen_fd_, 64) != 0)
    throw std::runtime_error("bind/listen failed");
  socklen_t len = sizeof sa;
  getsockname(listen_fd_, reinterpret_cast<sockaddr *>(&sa), &len);
  port_ = ntohs(sa.sin_port);
  acceptor_ = std::thread([this] { accept_loop(); });
}

FakeHttpServer::~FakeHttpServer() {
  stop_ = true;
  shutdown(listen_fd_, SHUT_RDWR);
  if (acceptor_.joinable()) acceptor_.join();
  close(listen_fd_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (int fd : fds_) shutdown(fd, SHUT_RDWR);
  }
  for (auto &t : threads_)
    if (t.joinable()) t.join();
}

std::string FakeHttpServer::url() const {
  return "http://127.0.0.1:" + std::to_string(port_);
}

void FakeHttpServer::set_handler(Handler handler) {
  std::lock_guard<std::mutex> lock(mu_);
  handler_ = std::move(handler);
}

FakeHttpServer::Handler FakeHttpServer::handler() const {
  std::lock_guard<std::mutex> lock(mu_);
  return handler_;
}

std::vector<FakeRequest> FakeHttpServer::requests() const {
  std::lock_guard<std::mutex> lock(mu_);
  return requests_;
}

size_t FakeHttpServer::request_count() const {
  std::lock_guard<std::mutex> lock(mu_);
  return requests_.size();
}

void FakeHttpServer::accept_loop() {
  while (!stop_) {
    pollfd p{listen_fd_, POLLIN, 0};
    int r = poll(&p, 1, 100);
    if (r <= 0) continue;
    int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    int id = ++connections_;
    std::lock_guard<std::mutex> lock(mu_);
    fds_.push_back(fd);
    threads_.emplace_back([this, fd, id] { serve(fd, id); });
  }
}

// Read more bytes into buf; false on EOF, error or stop (waits up to 30 s).
static bool read_more(int fd, std::string &buf, const std::atomic<bool> &stop) {
  char tmp[65536];
  for (int waited = 0; waited < 30000 && !stop; waited += 100) {
    pollfd p{fd, POLLIN, 0};
    int r = poll(&p, 1, 100);
    if (r < 0 && errno != EINTR) return false;
    if (r <= 0) continue;
    ssize_t n = recv(fd, tmp, sizeof tmp, 0);
    if (n <= 0) return false;
    buf.append(tmp, static_cast<size_t>(n));
    return true;
  }
  return false;
}

static bool send_all(int fd, const char *p, size_t n) {
  while (n) {
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

static const char *reason(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 204:
      return "No Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 307:
      return "Temporary Redirect";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 409:
      return "Conflict";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "Status";
  }
}

void FakeHttpServer::serve(int fd, int conn_id) {
  std::string buf;
  bool alive = true;
  while (alive && !stop_) {
    size_t head_end;
    while ((head_end = buf.find("\r\n\r\n")) == std::string::npos)
      if (!read_more(fd, buf, stop_)) {
        alive = false;
        break;
      }
    if (!alive) break;
    FakeRequest rq;
    rq.connection = conn_id;
    std::string head = buf.substr(0, head_end);
    buf.erase(0, head_end + 4);
    std::istringstream hs(head);
    std::string line;
    std::getline(hs, line);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    std::istringstream ls(line);
    std::string version;
    ls >> rq.method >> rq.target >> version;
    size_t q = rq.target.find('?');
    rq.path = rq.target.substr(0, q);
    rq.query = q == std::string::npos ? "" : rq.target.substr(q + 1);
    while (std::getline(hs, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      size_t colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string v = line.substr(colon + 1);
      while (!v.empty() && v[0] == ' ') v.erase(0, 1);
      rq.headers.push_back({lower(line.substr(0, colon)), v});
    }
    if (lower(rq.header("expect")) == "100-continue") {
      std::string cont = "HTTP/1.1 100 Continue\r\n\r\n";
      send_all(fd, cont.data(), cont.size());
    }
    if (rq.has_header("content-length")) {
      size_t len = std::stoull(rq.header("content-length"));
      while (buf.size() < len)
        if (!read_more(fd, buf, stop_)) {
          alive = false;
          break;
        }
      if (!alive) break;
      rq.body = buf.substr(0, len);
      buf.erase(0, len);
    } else if (lower(rq.header("transfer-encoding")) == "chunked") {
      for (;;) {
        size_t eol;
        while ((eol = buf.find("\r\n")) == std::string::npos)
          if (!read_more(fd, buf, stop_)) {
            alive = false;
            break;
          }
        if (!alive) break;
        size_t n = std::stoull(buf.substr(0, eol), nullptr, 16);
        buf.erase(0, eol + 2);
        while (buf.size() < n + 2)
          if (!read_more(fd, buf, stop_)) {
            alive = false;
            break;
          }
        if (!alive) break;
        rq.body += buf.substr(0, n);
        buf.erase(0, n + 2);
        if (n == 0) break;
      }
      if (!alive) break;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      requests_.push_back(rq);
    }
    Handler h = handler();
    FakeResponse resp = h ? h(rq) : json_response(404, "{\"error\":\"no handler\"}");
    if (resp.delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(resp.delay_ms));
    if (resp.reset) {
      linger lg{1, 0};
      setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
      break;
    }
    std::string out =
        "HTTP/1.1 " + std::to_string(resp.status) + " " + reason(resp.status) + "\r\n";
    bool has_len = false;
    for (const auto &hd : resp.headers) {
      out += hd.first + ": " + hd.second + "\r\n";
      if (lower(hd.first) == "content-length") has_len = true;
    }
    if (!has_len) out += "Content-Length: " + std::to_string(resp.body.size()) + "\r\n";
    if (resp.close) out += "Connection: close\r\n";
    out += "\r\n";
    size_t body_len = resp.body.size();
    if (resp.cut_after >= 0 && static_cast<size_t>(resp.cut_after) < body_len)
      body_len = static_cast<size_t>(resp.cut_after);
    if (rq.method != "HEAD") out.append(resp.body, 0, body_len);
    if (!send_all(fd, out.data(), out.size())) break;
    if (resp.cut_after >= 0 || resp.close) break;
  }
  shutdown(fd, SHUT_RDWR);
  std::lock_guard<std::mutex> lock(mu_);
  for (auto &f : fds_)
    if (f == fd) f = -1;
  close(fd);
}

// ------------------------------------------------------------- processes

void write_keys_file(const std::string &path, const std::string &key) {
  std::ofstream f(path);
  f << "{\"keys\": [{\"token\": \"" << key << "\", \"capabilities\": [\"*\"]}]}\n";
}

static pid_t spawn(const std::vector<std::string> &argv, int out_fd, int err_fd,
                   const std::vector<std::string> &env) {
  std::vector<char *> args;
  for (const auto &a : argv) args.push_back(const_cast<char *>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, 0);
    if (out_fd >= 0) dup2(out_fd, 1);
    if (err_fd >= 0) dup2(err_fd, 2);
    for (const auto &e : env) putenv(const_cast<char *>(e.c_str()));
    execv(args[0], args.data());
    _exit(127);
  }
  return pid;
}

ServeProcess::ServeProcess(const std::string &data_dir, const std::vector<std::string> &extra,
                           const std::string &key)
    : key_(key) {
  std::string keys = data_dir + ".keys.json";
  write_keys_file(keys, key);
  err_path_ = data_dir + ".serve.log";
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) return;
  int err_fd = open(err_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  std::vector<std::string> argv = {std::string(MCAPKIT_BIN_DIR) + "/mcapkit",
                                   "serve",
                                   "--data",
                                   data_dir,
                                   "--listen",
                                   "127.0.0.1:0",
                                   "--keys",
                                   keys,
                                   "--no-fsync"};
  for (const auto &e : extra) argv.push_back(e);
  pid_ = spawn(argv, p[1], err_fd, {});
  close(p[1]);
  if (err_fd >= 0) close(err_fd);
  std::string line;
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < until) {
    pollfd pf{p[0], POLLIN, 0};
    if (poll(&pf, 1, 100) <= 0) continue;
    char c;
    ssize_t n = read(p[0], &c, 1);
    if (n <= 0) break;
    if (c == '\n') break;
    line += c;
  }
  // keep the pipe's read end open so later lines do not hit a closed pipe: drain it in a thread
  int rfd = p[0];
  std::thread([rfd] {
    char b[4096];
    while (read(rfd, b, sizeof b) > 0) {
    }
    close(rfd);
  }).detach();
  const std::string prefix = "mcapkit serve: listening on ";
  if (line.compare(0, prefix.size(), prefix) == 0) url_ = line.substr(prefix.size());
}

ServeProcess::~ServeProcess() {
  stop();
}

void ServeProcess::stop() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  int st = 0;
  for (int i = 0; i < 300; i++) {
    if (waitpid(pid_, &st, WNOHANG) == pid_) {
      pid_ = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  kill(pid_, SIGKILL);
  waitpid(pid_, &st, 0);
  pid_ = -1;
}

std::string ServeProcess::log() const {
  std::ifstream f(err_path_);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

BackgroundProcess::BackgroundProcess(const std::vector<std::string> &argv,
                                     const std::string &out_path, const std::string &err_path,
                                     const std::vector<std::string> &env) {
  int out_fd = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  int err_fd = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  pid_ = spawn(argv, out_fd, err_fd, env);
  if (out_fd >= 0) close(out_fd);
  if (err_fd >= 0) close(err_fd);
}

BackgroundProcess::~BackgroundProcess() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    int st;
    waitpid(pid_, &st, 0);
  }
}

void BackgroundProcess::kill_now(int sig) {
  if (pid_ > 0) kill(pid_, sig);
}

bool BackgroundProcess::running() {
  if (pid_ <= 0) return false;
  int st = 0;
  pid_t r = waitpid(pid_, &st, WNOHANG);
  if (r == pid_) {
    status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    pid_ = -1;
    return false;
  }
  return true;
}

int BackgroundProcess::wait(double timeout_s) {
  auto until = std::chrono::steady_clock::now() +
               std::chrono::milliseconds(static_cast<long long>(timeout_s * 1000));
  while (pid_ > 0) {
    if (!running()) break;
    if (std::chrono::steady_clock::now() > until) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return status_;
}

}  // namespace mcapkit_test
