// http_client.h - a tiny blocking HTTP/1.1 client over loopback sockets for
// the server tests: one connection per request ("Connection: close"),
// Content-Length and chunked responses, no redirects followed, plus a raw
// mode that sends bytes as given (for malformed and slow requests).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace mcapkit_test {

struct HttpResponse {
  int status = 0;                              // 0 when no status line arrived
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  bool complete = false;  // the body arrived whole (length or final chunk)
  std::string error;      // transport problem, if any
  std::string header(const std::string &name) const;
};

struct HttpRequest {
  std::string method = "GET";
  std::string url;  // "http://127.0.0.1:PORT/path?query"
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  bool send_body_chunked = false;  // Transfer-Encoding: chunked instead of Content-Length
  double timeout_s = 30;
};

// Send one request and read the whole response.
HttpResponse http_do(const HttpRequest &req);

// Convenience: a request with "Authorization: Bearer <key>" when key is non-empty.
HttpResponse http_get(const std::string &url, const std::string &key = "");
HttpResponse http_post_json(const std::string &url, const std::string &key,
                            const std::string &json, const std::string &method = "POST");
HttpResponse http_delete(const std::string &url, const std::string &key);
HttpResponse http_put(const std::string &url, const std::string &body);

// Percent-encode a query value (RFC 3986 unreserved characters kept).
std::string url_encode(const std::string &s);

// Connect to host:port of `url` and send `raw` in pieces of `piece` bytes with
// `pause_ms` between them; then read until the server closes or timeout.
// Returns everything received.
std::string http_raw(const std::string &url, const std::string &raw, size_t piece = 0,
                     int pause_ms = 0, double timeout_s = 10);

}  // namespace mcapkit_test
