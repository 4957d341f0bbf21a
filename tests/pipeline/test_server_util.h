// test_server_util.h - shared helpers of the server tests (test_server*.cc): a
// server started in-process on a free loopback port over a temporary data
// directory, synthetic recordings, JSON helpers and an upload helper.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "http_client.h"
#include "mcap/mcap.h"
#include "pipeline/pipeline.h"
#include "pipeline/site.h"
#include "pipeline/synth.h"
#include "run.h"
#include "tmpdir.h"

namespace mcapkit_test {

// A server over `data_dir`, started on 127.0.0.1:0; stopped and freed on destruction.
class TestServer {
 public:
  explicit TestServer(const std::string &data_dir,
                      const std::function<void(pl_server_options &)> &tweak = {})
      : data_dir_(data_dir) {
    pl_server_options o;
    memset(&o, 0, sizeof o);
    o.data_dir = data_dir_.c_str();
    o.no_fsync = 1;
    o.import_threads = 1;
    if (tweak) tweak(o);
    pl_error_info err;
    if (pl_server_create(&srv_, &o, &err) != PL_OK) {
      ADD_FAILURE() << "pl_server_create: " << err.msg;
      return;
    }
    uint16_t port = 0;
    if (pl_server_start(srv_, &port, &err) != PL_OK) {
      ADD_FAILURE() << "pl_server_start: " << err.msg;
      pl_server_free(srv_);
      srv_ = nullptr;
      return;
    }
    url_ = pl_server_url(srv_);
    if (pl_server_created_key(srv_)) key_ = pl_server_created_key(srv_);
  }
  ~TestServer() { pl_server_free(srv_); }
  TestServer(const TestServer &) = delete;
  TestServer &operator=(const TestServer &) = delete;

  bool ok() const { return srv_ != nullptr; }
  pl_server *get() { return srv_; }
  const std::string &url() const { return url_; }
  std::string u(const std::string &path) const { return url_ + path; }
  const std::string &key() const { return key_; }
  void set_key(const std::string &k) { key_ = k; }
  void stop() { pl_server_stop(srv_); }
  bool wait_imports(double s = 60) { return pl_server_wait_imports(srv_, s) == 1; }

  HttpResponse get(const std::string &path) const { return http_get(u(path), key_); }
  HttpResponse post(const std::string &path, const std::string &json) const {
    return http_post_json(u(path), key_, json);
  }
  HttpResponse patch(const std::string &path, const std::string &json) const {
    return http_post_json(u(path), key_, json, "PATCH");
  }
  HttpResponse del(const std::string &path) const { return http_delete(u(path), key_); }

 private:
  std::string data_dir_;
  pl_server *srv_ = nullptr;
  std::string url_;
  std::string key_;
};

// Write a synthetic recording to `path`; returns its stats.
inline pl_synth_stats write_synth(const std::string &path, uint64_t seed, double duration = 3,
                                  pl_synth_profile profile = PL_SYNTH_TINY,
                                  int n_attachments = 0) {
  pl_synth_options o;
  memset(&o, 0, sizeof o);
  o.seed = seed;
  o.duration = duration;
  o.profile = profile;
  o.n_attachments = n_attachments;
  mcap_sink sink;
  mcap_error_info err;
  pl_synth_stats st;
  memset(&st, 0, sizeof st);
  if (mcap_sink_open_file(&sink, path.c_str(), &err) != MCAP_OK) {
    ADD_FAILURE() << "open " << path << ": " << err.msg;
    return st;
  }
  char eb[256];
  if (pl_synth_write(&sink, &o, &st, eb, sizeof eb) != MCAP_OK) {
    ADD_FAILURE() << "synth: " << eb;
    mcap_sink_close(&sink, nullptr);
    return st;
  }
  mcap_sink_commit(&sink, &err);
  mcap_sink_close(&sink, &err);
  return st;
}

inline Json parse_json(const HttpResponse &r) {
  try {
    return Json::parse(r.body);
  } catch (const std::exception &e) {
    ADD_FAILURE() << "bad JSON (" << e.what() << "): " << r.body.substr(0, 300);
    return Json();
  }
}

// The "error" text of an error response ("" when there is none).
inline std::string error_of(const HttpResponse &r) {
  try {
    Json j = Json::parse(r.body);
    if (j.type() == Json::kObject && j.has("error")) return j["error"].str();
  } catch (...) {
  }
  return "";
}

// A JSON string literal for `s` (quotes and escapes).
inline std::string jstr(const std::string &s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      char b[8];
      snprintf(b, sizeof b, "\\u%04x", c);
      out += b;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

// POST /v1/data/upload with `body`, then PUT `content` to the link.
// Returns the request id ("" on failure, with test failures added).
inline std::string upload(const TestServer &s, const std::string &body,
                          const std::string &content) {
  HttpResponse r = s.post("/v1/data/upload", body);
  if (r.status != 200) {
    ADD_FAILURE() << "upload link: " << r.status << " " << r.body;
    return "";
  }
  Json j = parse_json(r);
  std::string link = j["link"].str(), rid = j["requestId"].str();
  HttpResponse p = http_put(link, content);
  if (p.status != 200) {
    ADD_FAILURE() << "PUT: " << p.status << " " << p.body << " " << p.error;
    return "";
  }
  return rid;
}

// The pending import of `rid` (with completed and quarantined ones).
inline Json pending_import(const TestServer &s, const std::string &rid) {
  HttpResponse r = s.get("/v1/data/pending-imports?showCompleted=true&showQuarantined=true"
                         "&requestId=" +
                         rid);
  Json j = parse_json(r);
  if (j.type() != Json::kArray || j.size() != 1) {
    ADD_FAILURE() << "pending import " << rid << ": " << r.body;
    return Json();
  }
  return j[0];
}

}  // namespace mcapkit_test
