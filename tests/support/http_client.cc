// http_client.cc - see http_client.h. Plain POSIX sockets; only for talking
// to the server under test on the loopback interface.
#include "http_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <thread>

namespace mcapkit_test {

namespace {

struct Url {
  std::string host;
  int port = 80;
  std::string target;  // path + query
};

Url parse_url(const std::string &url) {
  Url u;
  const std::string scheme = "http://";
  if (url.compare(0, scheme.size(), scheme) != 0) throw std::runtime_error("not http: " + url);
  size_t host_start = scheme.size();
  size_t slash = url.find('/', host_start);
  std::string hostport = url.substr(host_start, slash == std::string::npos ? std::string::npos
                                                                           : slash - host_start);
  u.target = slash == std::string::npos ? "/" : url.substr(slash);
  size_t colon = hostport.rfind(':');
  if (colon != std::string::npos) {
    u.host = hostport.substr(0, colon);
    u.port = std::stoi(hostport.substr(colon + 1));
  } else {
    u.host = hostport;
  }
  if (u.host == "localhost") u.host = "127.0.0.1";
  return u;
}

using Clock = std::chrono::steady_clock;

int connect_to(const Url &u, std::string *error) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *error = std::string("socket: ") + strerror(errno);
    return -1;
  }
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(u.port));
  if (inet_pton(AF_INET, u.host.c_str(), &sa.sin_addr) != 1) {
    close(fd);
    *error = "bad host " + u.host;
    return -1;
  }
  if (connect(fd, reinterpret_cast<sockaddr *>(&sa), sizeof sa) != 0) {
    *error = std::string("connect: ") + strerror(errno);
    close(fd);
    return -1;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

bool send_all(int fd, const char *p, size_t n, Clock::time_point deadline, std::string *error) {
  while (n) {
    pollfd pfd{fd, POLLOUT, 0};
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      *error = "timeout while sending";
      return false;
    }
    int pr = poll(&pfd, 1, static_cast<int>(left.count()));
    if (pr <= 0) continue;
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      *error = std::string("send: ") + strerror(errno);
      return false;
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

// Read until the peer closes, the deadline passes, or `done(buffer)` says so.
template <typename Done>
void recv_until(int fd, std::string &buf, Clock::time_point deadline, std::string *error,
                Done done) {
  char tmp[65536];
  while (!done(buf)) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      *error = "timeout while receiving";
      return;
    }
    pollfd pfd{fd, POLLIN, 0};
    int pr = poll(&pfd, 1, static_cast<int>(left.count()));
    if (pr <= 0) continue;
    ssize_t r = recv(fd, tmp, sizeof tmp, 0);
    if (r < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      *error = std::string("recv: ") + strerror(errno);
      return;
    }
    if (r == 0) return;
    buf.append(tmp, static_cast<size_t>(r));
  }
}

std::string lower(std::string s) {
  for (auto &c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Decode a chunked body starting at `pos`; returns true when the final chunk was seen.
bool dechunk(const std::string &raw, size_t pos, std::string *out) {
  out->clear();
  for (;;) {
    size_t eol = raw.find("\r\n", pos);
    if (eol == std::string::npos) return false;
    size_t len = std::stoul(raw.substr(pos, eol - pos), nullptr, 16);
    pos = eol + 2;
    if (len == 0) return true;
    if (raw.size() < pos + len + 2) {
      out->append(raw, pos, std::string::npos);
      return false;
    }
    out->append(raw, pos, len);
    pos += len + 2;
  }
}

}  // namespace

std::string HttpResponse::header(const std::string &name) const {
  auto it = headers.find(lower(name));
  return it == headers.end() ? std::string() : it->second;
}

HttpResponse http_do(const HttpRequest &req) {
  HttpResponse resp;
  Url u = parse_url(req.url);
  auto deadline = Clock::now() + std::chrono::milliseconds(static_cast<int>(req.timeout_s * 1000));
  int fd = connect_to(u, &resp.error);
  if (fd < 0) return resp;
  std::string head = req.method + " " + u.target + " HTTP/1.1\r\nHost: " + u.host + ":" +
                     std::to_string(u.port) + "\r\nConnection: close\r\n";
  for (const auto &h : req.headers) head += h.first + ": " + h.second + "\r\n";
  bool has_body = !req.body.empty() || req.method == "POST" || req.method == "PUT" ||
                  req.method == "PATCH";
  if (has_body) {
    if (req.send_body_chunked)
      head += "Transfer-Encoding: chunked\r\n";
    else
      head += "Content-Length: " + std::to_string(req.body.size()) + "\r\n";
  }
  head += "\r\n";
  bool ok = send_all(fd, head.data(), head.size(), deadline, &resp.error);
  if (ok && has_body) {
    if (req.send_body_chunked) {
      const size_t piece = 1 << 16;
      for (size_t off = 0; ok && off < req.body.size(); off += piece) {
        size_t n = std::min(piece, req.body.size() - off);
        char hex[32];
        snprintf(hex, sizeof hex, "%zx\r\n", n);
        ok = send_all(fd, hex, strlen(hex), deadline, &resp.error) &&
             send_all(fd, req.body.data() + off, n, deadline, &resp.error) &&
             send_all(fd, "\r\n", 2, deadline, &resp.error);
      }
      if (ok) ok = send_all(fd, "0\r\n\r\n", 5, deadline, &resp.error);
    } else {
      ok = send_all(fd, req.body.data(), req.body.size(), deadline, &resp.error);
    }
  }
  // Even when sending failed, the server may have answered early (e.g. 413).
  std::string raw;
  std::string err2;
  size_t header_end = std::string::npos;
  long long content_length = -1;
  bool chunked = false;
  recv_until(fd, raw, deadline, &err2, [&](const std::string &b) {
    if (header_end == std::string::npos) {
      header_end = b.find("\r\n\r\n");
      if (header_end == std::string::npos) return false;
      std::string h = lower(b.substr(0, header_end));
      size_t p = h.find("\r\ncontent-length:");
      if (p != std::string::npos) content_length = std::stoll(h.substr(p + 17));
      chunked = h.find("\r\ntransfer-encoding: chunked") != std::string::npos;
    }
    if (content_length >= 0)
      return b.size() >= header_end + 4 + static_cast<size_t>(content_length);
    if (chunked) {
      std::string tmp;
      return dechunk(b, header_end + 4, &tmp);
    }
    return false;  // until close
  });
  close(fd);
  if (resp.error.empty()) resp.error = err2;
  if (header_end == std::string::npos) {
    if (resp.error.empty()) resp.error = "no complete response header";
    return resp;
  }
  std::string status_line = raw.substr(0, raw.find("\r\n"));
  if (status_line.size() >= 12) resp.status = std::stoi(status_line.substr(9, 3));
  size_t pos = raw.find("\r\n") + 2;
  while (pos < header_end) {
    size_t eol = raw.find("\r\n", pos);
    if (eol == std::string::npos || eol > header_end) eol = header_end;
    std::string line = raw.substr(pos, eol - pos);
    size_t colon = line.find(':');
    if (colon != std::string::npos) {
      std::string v = line.substr(colon + 1);
      while (!v.empty() && v[0] == ' ') v.erase(0, 1);
      resp.headers[lower(line.substr(0, colon))] = v;
    }
    pos = eol + 2;
  }
  if (chunked) {
    resp.complete = dechunk(raw, header_end + 4, &resp.body);
  } else {
    resp.body = raw.substr(header_end + 4);
    resp.complete =
        content_length < 0 || resp.body.size() == static_cast<size_t>(content_length);
    if (content_length >= 0 && resp.body.size() > static_cast<size_t>(content_length))
      resp.body.resize(static_cast<size_t>(content_length));
  }
  if (resp.complete) resp.error.clear();
  return resp;
}

HttpResponse http_get(const std::string &url, const std::string &key) {
  HttpRequest r;
  r.url = url;
  if (!key.empty()) r.headers.push_back({"Authorization", "Bearer " + key});
  return http_do(r);
}

HttpResponse http_post_json(const std::string &url, const std::string &key,
                            const std::string &json, const std::string &method) {
  HttpRequest r;
  r.method = method;
  r.url = url;
  r.body = json;
  r.headers.push_back({"Content-Type", "application/json"});
  if (!key.empty()) r.headers.push_back({"Authorization", "Bearer " + key});
  return http_do(r);
}

HttpResponse http_delete(const std::string &url, const std::string &key) {
  HttpRequest r;
  r.method = "DELETE";
  r.url = url;
  if (!key.empty()) r.headers.push_back({"Authorization", "Bearer " + key});
  return http_do(r);
}

HttpResponse http_put(const std::string &url, const std::string &body) {
  HttpRequest r;
  r.method = "PUT";
  r.url = url;
  r.body = body;
  r.headers.push_back({"Content-Type", "application/octet-stream"});
  r.timeout_s = 120;
  return http_do(r);
}

std::string url_encode(const std::string &s) {
  static const char hex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

std::string http_raw(const std::string &url, const std::string &raw, size_t piece, int pause_ms,
                     double timeout_s) {
  Url u = parse_url(url);
  std::string error;
  auto deadline = Clock::now() + std::chrono::milliseconds(static_cast<int>(timeout_s * 1000));
  int fd = connect_to(u, &error);
  if (fd < 0) return std::string();
  if (piece == 0) piece = raw.size() ? raw.size() : 1;
  for (size_t off = 0; off < raw.size(); off += piece) {
    size_t n = std::min(piece, raw.size() - off);
    if (!send_all(fd, raw.data() + off, n, deadline, &error)) break;
    if (pause_ms) std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms));
    if (Clock::now() > deadline) break;
  }
  std::string got;
  recv_until(fd, got, deadline, &error, [](const std::string &) { return false; });
  close(fd);
  return got;
}

}  // namespace mcapkit_test
