// test_site_webhooks.cc - webhooks of the local site (pipeline/site/site_webhook*.c)
// against a receiver on loopback (FakeHttpServer) that answers 200, 4xx, 5xx or hangs on
// demand: the reference's body shapes, the headers and HMAC signatures, event filters and
// ping, retries after 5xx, 408/429, timeouts and refused connections, 4xx drops, order per
// recording, the queue cap, the queue on disk across restarts with no delivery sent twice
// once acknowledged, and the checks of webhook URLs. Timeouts and backoff are set to tens
// of milliseconds so that each test takes well under a second.
#include <gtest/gtest.h>

#include <dirent.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "fake_http.h"
#include "test_server_util.h"

extern "C" {
#include "sha256.h"
#include "site_webhook.h"
}

namespace mcapkit_test {
namespace {

const char *kKey = "fox_sk_webhook_test_key_0123456789";

// A site with webhooks, created (queue loaded) by the constructor, started by start().
class HookSite {
 public:
  HookSite(const std::string &data_dir, const std::vector<std::string> &specs,
           const std::function<void(pl_server_options &)> &tweak = {})
      : specs_(specs) {
    for (const auto &s : specs_) spec_ptrs_.push_back(s.c_str());
    pl_server_options o;
    memset(&o, 0, sizeof o);
    o.data_dir = data_dir.c_str();
    o.no_fsync = 1;
    o.import_threads = 1;
    o.webhooks = spec_ptrs_.data();
    o.n_webhooks = spec_ptrs_.size();
    o.webhook_timeout_ms = 2000;
    o.webhook_backoff_ms = 10;
    o.webhook_backoff_max_ms = 40;
    o.log = [](void *user, const char *line) {
      auto *self = static_cast<HookSite *>(user);
      std::lock_guard<std::mutex> lock(self->mu_);
      self->log_.push_back(line);
    };
    o.log_user = this;
    if (tweak) tweak(o);
    pl_error_info err;
    if (pl_server_create(&srv_, &o, &err) != PL_OK) {
      ADD_FAILURE() << "pl_server_create: " << err.msg;
      srv_ = nullptr;
    }
  }
  ~HookSite() { pl_server_free(srv_); }
  HookSite(const HookSite &) = delete;
  HookSite &operator=(const HookSite &) = delete;

  bool start() {
    pl_error_info err;
    uint16_t port = 0;
    if (!srv_ || pl_server_start(srv_, &port, &err) != PL_OK) {
      ADD_FAILURE() << "pl_server_start: " << (srv_ ? err.msg : "not created");
      return false;
    }
    url_ = pl_server_url(srv_);
    return true;
  }
  pl_server *get() { return srv_; }
  void emit(const std::string &type, const std::string &data) {
    ASSERT_EQ(pl__site_webhook_emit_text(srv_, type.c_str(), data.c_str()), 0) << data;
  }
  pl_server_webhook_stats stats() {
    pl_server_webhook_stats st;
    pl_server_get_webhook_stats(srv_, &st);
    return st;
  }
  std::string log() {
    std::lock_guard<std::mutex> lock(mu_);
    std::string all;
    for (const auto &l : log_) all += l + "\n";
    return all;
  }
  HttpResponse get(const std::string &path) const { return http_get(url_ + path, kKey); }
  HttpResponse post(const std::string &path, const std::string &json) const {
    return http_post_json(url_ + path, kKey, json);
  }

 private:
  std::vector<std::string> specs_;
  std::vector<const char *> spec_ptrs_;
  pl_server *srv_ = nullptr;
  std::string url_;
  std::mutex mu_;
  std::vector<std::string> log_;
};

// DATA/keys.json with our key and, when not empty, a webhook secret.
void write_keys(const TempDir &dir, const std::string &secret) {
  std::string text = "{\"keys\": [{\"token\": \"" + std::string(kKey) +
                     "\", \"capabilities\": [\"*\"]}]";
  if (!secret.empty()) text += ", \"webhookSecret\": " + jstr(secret);
  write_file_or_throw(dir.file("keys.json"), text + "}\n");
}

// Poll `pred` until it holds or 20 s pass (a deadline, not a sleep that synchronises).
bool wait_for(const std::function<bool()> &pred) {
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!pred()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

std::string hmac_hex(const std::string &key, const std::string &msg) {
  uint8_t mac[PL__SHA256_SIZE];
  EXPECT_EQ(pl__hmac_sha256(key.data(), key.size(), msg.data(), msg.size(), mac), 0);
  static const char *hex = "0123456789abcdef";
  std::string out;
  for (uint8_t b : mac) {
    out += hex[b >> 4];
    out += hex[b & 15];
  }
  return out;
}

// Files of the queue: DATA/webhooks/*.json.
size_t queue_files(const TempDir &dir) {
  size_t n = 0;
  DIR *d = opendir(dir.file("webhooks").c_str());
  if (!d) return 0;
  while (dirent *e = readdir(d)) {
    std::string name = e->d_name;
    if (name.size() > 5 && name.compare(name.size() - 5, 5, ".json") == 0) n++;
  }
  closedir(d);
  return n;
}

const std::regex kTime(R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$)");

// The keys of a JSON object, in order.
std::vector<std::string> keys(const Json &j) { return j.keys(); }

// Requests of `reqs` that carry delivery `id`, in order.
std::vector<FakeRequest> of_delivery(const std::vector<FakeRequest> &reqs, const std::string &id) {
  std::vector<FakeRequest> out;
  for (const auto &r : reqs)
    if (r.header("x-mcapkit-delivery") == id) out.push_back(r);
  return out;
}

std::string rec_data(const std::string &id) {
  return "{\"id\":\"" + id + "\",\"importStatus\":\"importing\",\"path\":\"a.mcap\"}";
}

// Answers per delivery: a scripted list of statuses (then 200) keyed by the recording or
// event id in the body; every answer is logged with its delivery id.
class Script {
 public:
  void set(const std::string &id, std::vector<int> statuses) {
    std::lock_guard<std::mutex> lock(mu_);
    script_[id] = std::move(statuses);
  }
  FakeResponse answer(const FakeRequest &r) {
    Json j = Json::parse(r.body);
    std::string type = j["type"].str();
    std::string key = type == "ping" ? "webhook"
                      : type.rfind("recording.", 0) == 0 ? "recording"
                      : type == "device.created" ? "device"
                                                 : "event";
    std::string id = j[key]["id"].str();
    std::lock_guard<std::mutex> lock(mu_);
    int status = 200;
    auto it = script_.find(id);
    if (it != script_.end() && !it->second.empty()) {
      status = it->second.front();
      it->second.erase(it->second.begin());
    }
    answers_.push_back({r.header("x-mcapkit-delivery") + " " + id, status});
    FakeResponse resp;
    if (status < 0) {  // hang past the client's timeout, then answer 200
      resp.delay_ms = -status;
      status = 200;
    }
    resp.status = status;
    resp.body = "{}";
    return resp;
  }
  std::vector<std::pair<std::string, int>> answers() {
    std::lock_guard<std::mutex> lock(mu_);
    return answers_;
  }
  size_t acked(const std::string &data_id) {
    size_t n = 0;
    for (const auto &a : answers())
      if (a.second == 200 && a.first.substr(a.first.find(' ') + 1) == data_id) n++;
    return n;
  }

 private:
  std::mutex mu_;
  std::map<std::string, std::vector<int>> script_;
  std::vector<std::pair<std::string, int>> answers_;
};

TEST(SiteWebhooks, CheckSpec) {
  char msg[300];
  for (const char *ok : {"http://127.0.0.1:8080/hook", "http://127.9.9.9/", "http://localhost",
                         "HTTP://LocalHost:1/x?y=1", "http://[::1]:99/h", "https://example.com",
                         "https://hooks.example.com:8443/a/b?c=d,recording.created",
                         "https://x.org,recording.created,recording.imported,device.created,"
                         "event.created"}) {
    EXPECT_EQ(pl_server_check_webhook(ok, msg, sizeof msg), PL_OK) << ok << ": " << msg;
  }
  struct Bad {
    const char *spec, *why;
  };
  for (const Bad &b : std::vector<Bad>{
           {"http://example.com/hook", "loopback"},
           {"http://10.0.0.1/", "loopback"},
           {"http://127.0.0.1.evil.com/", "loopback"},
           {"http://0177.0.0.1/", "loopback"},
           {"http://[::2]/", "loopback"},
           {"ftp://127.0.0.1/", "only https://"},
           {"127.0.0.1:80", "only https://"},
           {"", "expected 1 to"},
           {"https://", "no host"},
           {"https://user:pw@example.com/", "user name"},
           {"http://evil.com@127.0.0.1/", "user name"},
           {"https://example.com:0/", "out of range"},
           {"https://example.com:99999/", "out of range"},
           {"https://example.com:8x/", "not a number"},
           {"https://exa mple.com/", "not allowed"},
           {"https://example.com/\\x", "not allowed"},
           {"https://example.com,ping", "--webhook-ping"},
           {"https://example.com,recording.deleted", "unknown event 'recording.deleted'"},
           {"https://example.com,", "unknown event ''"},
       }) {
    EXPECT_EQ(pl_server_check_webhook(b.spec, msg, sizeof msg), PL_EINVAL) << b.spec;
    EXPECT_NE(std::string(msg).find(b.why), std::string::npos) << b.spec << ": " << msg;
  }
  // the site refuses them too, and the same URL twice
  TempDir dir;
  for (std::vector<std::string> specs :
       {std::vector<std::string>{"http://example.com/"},
        std::vector<std::string>{"http://127.0.0.1:9/a", "http://127.0.0.1:9/a,device.created"}}) {
    std::vector<const char *> p;
    for (auto &s : specs) p.push_back(s.c_str());
    pl_server_options o;
    memset(&o, 0, sizeof o);
    o.data_dir = dir.path().c_str();
    o.webhooks = p.data();
    o.n_webhooks = p.size();
    pl_server *s = nullptr;
    pl_error_info err;
    EXPECT_EQ(pl_server_create(&s, &o, &err), PL_EINVAL) << specs[0];
    EXPECT_EQ(s, nullptr);
  }
}

TEST(SiteWebhooks, BodiesHeadersSignaturesFiltersAndPing) {
  TempDir dir, files;
  const std::string secret = "whsec_test secret \xc3\xa9";
  write_keys(dir, secret);
  FakeHttpServer all([](const FakeRequest &) { return json_response(200, "{}"); });
  FakeHttpServer devices_only([](const FakeRequest &) { return json_response(204, ""); });
  HookSite site(dir.path(), {all.url() + "/hooks/all", devices_only.url() + ",device.created"},
                [](pl_server_options &o) { o.webhook_ping = 1; });
  ASSERT_TRUE(site.start());

  ASSERT_EQ(site.post("/v1/devices", "{\"name\": \"robot-1\"}").status, 200);
  // an event created through the API (the store's creation hook queues event.created)
  HttpResponse ev = site.post("/v1/events", "{\"deviceName\": \"robot-1\", \"start\": "
                                            "\"2026-01-01T00:00:00Z\", \"metadata\": {}}");
  ASSERT_EQ(ev.status, 200) << ev.body;
  const std::string event_id = parse_json(ev)["id"].str();
  std::string mcap = files.file("run.mcap");
  write_synth(mcap, 5, 1);
  HttpResponse link =
      site.post("/v1/data/upload", "{\"filename\": \"run.mcap\", \"deviceName\": \"robot-1\"}");
  ASSERT_EQ(link.status, 200) << link.body;
  Json lj = parse_json(link);
  ASSERT_EQ(http_put(lj["link"].str(), read_file_or_throw(mcap)).status, 200);
  ASSERT_EQ(pl_server_wait_imports(site.get(), 60), 1);
  // ping + device.created + event.created + recording.created + recording.imported
  ASSERT_TRUE(wait_for([&] { return all.request_count() >= 5 && devices_only.request_count() >= 2; }))
      << site.log();
  ASSERT_TRUE(wait_for([&] { return site.stats().queued == 0; }));
  HttpResponse recs = site.get("/v1/recordings");
  Json rj = parse_json(recs);
  ASSERT_EQ(rj.size(), 1u);
  std::string rec_id = rj[0]["id"].str(), rec_path = rj[0]["path"].str();
  std::string dev_id = rj[0]["device"]["id"].str();
  Json site_obj = rj[0]["site"];

  std::vector<FakeRequest> reqs = all.requests();
  ASSERT_EQ(reqs.size(), 5u);
  std::set<std::string> delivery_ids, event_ids;
  std::vector<std::string> types;
  std::string hook_id;
  for (const FakeRequest &r : reqs) {
    EXPECT_EQ(r.method, "POST");
    EXPECT_EQ(r.path, "/hooks/all");
    EXPECT_EQ(r.header("content-type"), "application/json");
    EXPECT_EQ(r.header("x-mcapkit-signature-256"), "sha256=" + hmac_hex(secret, r.body));
    EXPECT_EQ(r.header("x-mcapkit-attempt"), "1");
    delivery_ids.insert(r.header("x-mcapkit-delivery"));
    Json j = Json::parse(r.body);
    std::string type = j["type"].str();
    types.push_back(type);
    EXPECT_EQ(r.header("x-mcapkit-event"), type);
    std::vector<std::string> k = keys(j);
    ASSERT_EQ(k.size(), 6u) << r.body;
    EXPECT_EQ(std::vector<std::string>(k.begin(), k.begin() + 5),
              (std::vector<std::string>{"type", "timestamp", "attemptedAt", "webhookEventId",
                                        "webhookId"}));
    EXPECT_TRUE(std::regex_match(j["timestamp"].str(), kTime)) << r.body;
    EXPECT_TRUE(std::regex_match(j["attemptedAt"].str(), kTime)) << r.body;
    EXPECT_LE(j["timestamp"].str(), j["attemptedAt"].str());
    event_ids.insert(j["webhookEventId"].str());
    if (hook_id.empty()) hook_id = j["webhookId"].str();
    EXPECT_EQ(j["webhookId"].str(), hook_id);
    EXPECT_EQ(r.header("x-mcapkit-webhook-id"), hook_id);
    if (type == "ping") {
      EXPECT_EQ(k[5], "webhook");
      EXPECT_EQ(keys(j["webhook"]), std::vector<std::string>{"id"});
      EXPECT_EQ(j["webhook"]["id"].str(), hook_id);
    } else if (type == "device.created") {
      EXPECT_EQ(k[5], "device");
      EXPECT_EQ(keys(j["device"]), std::vector<std::string>{"id"});
      EXPECT_EQ(j["device"]["id"].str(), dev_id);
    } else if (type == "event.created") {
      EXPECT_EQ(k[5], "event");
      EXPECT_EQ(keys(j["event"]), std::vector<std::string>{"id"});
      EXPECT_EQ(j["event"]["id"].str(), event_id);
    } else {
      EXPECT_EQ(k[5], "recording");
      const Json &rec = j["recording"];
      EXPECT_EQ(keys(rec),
                (std::vector<std::string>{"id", "importStatus", "path", "device", "site"}));
      EXPECT_EQ(rec["id"].str(), rec_id);
      EXPECT_EQ(rec["path"].str(), rec_path);
      EXPECT_EQ(rec["importStatus"].str(), type == "recording.created" ? "importing" : "complete");
      EXPECT_EQ(keys(rec["device"]), (std::vector<std::string>{"id", "name"}));
      EXPECT_EQ(rec["device"]["id"].str(), dev_id);
      EXPECT_EQ(rec["device"]["name"].str(), "robot-1");
      EXPECT_EQ(rec["site"]["id"].str(), site_obj["id"].str());
      EXPECT_EQ(rec["site"]["name"].str(), site_obj["name"].str());
    }
  }
  EXPECT_EQ(delivery_ids.size(), 5u);
  EXPECT_EQ(event_ids.size(), 5u);
  EXPECT_EQ(types[0], "ping");
  EXPECT_EQ(std::multiset<std::string>(types.begin(), types.end()),
            (std::multiset<std::string>{"ping", "device.created", "event.created",
                                        "recording.created", "recording.imported"}));
  auto created = std::find(types.begin(), types.end(), "recording.created");
  auto imported = std::find(types.begin(), types.end(), "recording.imported");
  EXPECT_LT(created, imported);

  // the filtered webhook: its ping and the device, a webhook id of its own, 204 is an ack
  std::vector<FakeRequest> dreqs = devices_only.requests();
  ASSERT_EQ(dreqs.size(), 2u);
  EXPECT_EQ(Json::parse(dreqs[0].body)["type"].str(), "ping");
  Json dj = Json::parse(dreqs[1].body);
  EXPECT_EQ(dj["type"].str(), "device.created");
  EXPECT_EQ(dj["device"]["id"].str(), dev_id);
  EXPECT_NE(dj["webhookId"].str(), hook_id);
  EXPECT_EQ(dreqs[1].header("x-mcapkit-signature-256"), "sha256=" + hmac_hex(secret, dreqs[1].body));
  // the same event, the same webhookEventId for both webhooks
  for (const FakeRequest &r : reqs) {
    if (Json::parse(r.body)["type"].str() == "device.created") {
      EXPECT_EQ(Json::parse(r.body)["webhookEventId"].str(), dj["webhookEventId"].str());
    }
  }
  pl_server_webhook_stats st = site.stats();
  EXPECT_EQ(st.delivered, 7u);
  EXPECT_EQ(st.attempts, 7u);
  EXPECT_EQ(st.dropped, 0u);
  EXPECT_EQ(queue_files(dir), 0u);
}

TEST(SiteWebhooks, UnsignedWithoutSecret) {
  TempDir dir;
  write_keys(dir, "");
  FakeHttpServer rx([](const FakeRequest &) { return json_response(200, "{}"); });
  HookSite site(dir.path(), {rx.url()});
  site.emit("event.created", "{\"id\":\"evt_1\"}");
  ASSERT_TRUE(site.start());
  ASSERT_TRUE(wait_for([&] { return site.stats().delivered == 1; }));
  EXPECT_FALSE(rx.requests()[0].has_header("x-mcapkit-signature-256"));
  EXPECT_EQ(Json::parse(rx.requests()[0].body)["event"]["id"].str(), "evt_1");
}

TEST(SiteWebhooks, RetriesAfter5xxTimeoutAndRefusedThenGivesUp) {
  TempDir dir;
  write_keys(dir, "s3cret");
  Script script;
  // 500, 503, a hang past the 150 ms timeout, 408, 429, then 200
  script.set("evt_retry", {500, 503, -400, 408, 429});
  FakeHttpServer rx([&](const FakeRequest &r) { return script.answer(r); });
  HookSite site(dir.path(), {rx.url()}, [](pl_server_options &o) {
    o.webhook_timeout_ms = 150;
  });
  site.emit("event.created", "{\"id\":\"evt_retry\"}");
  ASSERT_TRUE(site.start());
  ASSERT_TRUE(wait_for([&] { return site.stats().delivered == 1; })) << site.log();
  std::vector<FakeRequest> reqs = rx.requests();
  ASSERT_EQ(reqs.size(), 6u);
  std::set<std::string> attempted_at;
  for (size_t i = 0; i < reqs.size(); i++) {
    EXPECT_EQ(reqs[i].header("x-mcapkit-delivery"), reqs[0].header("x-mcapkit-delivery"));
    EXPECT_EQ(reqs[i].header("x-mcapkit-attempt"), std::to_string(i + 1));
    Json j = Json::parse(reqs[i].body);
    attempted_at.insert(j["attemptedAt"].str());
    EXPECT_EQ(j["webhookEventId"].str(), Json::parse(reqs[0].body)["webhookEventId"].str());
    // each attempt's body is signed as sent
    EXPECT_EQ(reqs[i].header("x-mcapkit-signature-256"), "sha256=" + hmac_hex("s3cret", reqs[i].body));
  }
  EXPECT_EQ(attempted_at.size(), 6u);
  EXPECT_NE(site.log().find("timed out"), std::string::npos) << site.log();
  pl_server_webhook_stats st = site.stats();
  EXPECT_EQ(st.attempts, 6u);
  EXPECT_EQ(st.dropped, 0u);

  // a refused connection is retried too, then given up after max attempts
  TempDir dir2;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr *>(&sa), sizeof sa), 0);
  socklen_t sl = sizeof sa;
  getsockname(fd, reinterpret_cast<sockaddr *>(&sa), &sl);
  std::string closed = "http://127.0.0.1:" + std::to_string(ntohs(sa.sin_port)) + "/";
  HookSite gone(dir2.path(), {closed}, [](pl_server_options &o) { o.webhook_max_attempts = 3; });
  gone.emit("event.created", "{\"id\":\"evt_gone\"}");
  ASSERT_TRUE(gone.start());
  ASSERT_TRUE(wait_for([&] { return gone.stats().dropped == 1; })) << gone.log();
  close(fd);  // bound, never listening: every connection is refused
  EXPECT_EQ(gone.stats().attempts, 3u);
  EXPECT_EQ(gone.stats().delivered, 0u);
  EXPECT_EQ(gone.stats().queued, 0u);
  EXPECT_NE(gone.log().find("dropped after 3 attempts"), std::string::npos) << gone.log();
  EXPECT_EQ(queue_files(dir2), 0u);
}

TEST(SiteWebhooks, RetryAfterIsGrantedUpToTheLongestBackoff) {
  TempDir dir;
  write_keys(dir, "");
  std::atomic<int> n{0};
  std::vector<std::chrono::steady_clock::time_point> at;
  std::mutex mu;
  FakeHttpServer rx([&](const FakeRequest &) {
    {
      std::lock_guard<std::mutex> lock(mu);
      at.push_back(std::chrono::steady_clock::now());
    }
    FakeResponse resp;
    resp.status = n++ == 0 ? 429 : 200;
    if (resp.status == 429) resp.headers.push_back({"Retry-After", "3600"});
    return resp;
  });
  // backoff 10 ms, at most 300 ms: the hour asked for is cut to 300 ms
  HookSite site(dir.path(), {rx.url()}, [](pl_server_options &o) {
    o.webhook_backoff_ms = 10;
    o.webhook_backoff_max_ms = 300;
  });
  site.emit("event.created", "{\"id\":\"evt_later\"}");
  ASSERT_TRUE(site.start());
  ASSERT_TRUE(wait_for([&] { return site.stats().delivered == 1; })) << site.log();
  std::lock_guard<std::mutex> lock(mu);
  ASSERT_EQ(at.size(), 2u);
  auto gap = std::chrono::duration_cast<std::chrono::milliseconds>(at[1] - at[0]).count();
  EXPECT_GE(gap, 290) << "without Retry-After the retry would come after 10 ms";
  EXPECT_NE(site.log().find("retry in 300 ms"), std::string::npos) << site.log();
}

TEST(SiteWebhooks, FourXxDropsTheDeliveryAndTheRestGoOn) {
  TempDir dir;
  write_keys(dir, "");
  Script script;
  script.set("evt_bad", {400});
  script.set("evt_gone", {410});
  FakeHttpServer rx([&](const FakeRequest &r) { return script.answer(r); });
  HookSite site(dir.path(), {rx.url() + "/hook/T0KEN-in-the-path?sig=T0KEN-in-the-query"});
  site.emit("event.created", "{\"id\":\"evt_bad\"}");
  site.emit("event.created", "{\"id\":\"evt_gone\"}");
  site.emit("event.created", "{\"id\":\"evt_fine\"}");
  ASSERT_TRUE(site.start());
  ASSERT_TRUE(wait_for([&] { return site.stats().queued == 0; })) << site.log();
  EXPECT_EQ(rx.request_count(), 3u);
  pl_server_webhook_stats st = site.stats();
  EXPECT_EQ(st.dropped, 2u);
  EXPECT_EQ(st.delivered, 1u);
  EXPECT_EQ(script.acked("evt_fine"), 1u);
  EXPECT_NE(site.log().find("refused with 400: dropped"), std::string::npos) << site.log();
  EXPECT_NE(site.log().find("refused with 410: dropped"), std::string::npos) << site.log();
  // the log names the webhook by its id and origin: a URL's path or query may hold a token
  EXPECT_NE(site.log().find(rx.url() + ")"), std::string::npos) << site.log();
  EXPECT_EQ(site.log().find("T0KEN"), std::string::npos) << site.log();
  EXPECT_EQ(rx.requests()[0].target, "/hook/T0KEN-in-the-path?sig=T0KEN-in-the-query");
  EXPECT_EQ(queue_files(dir), 0u);
}

TEST(SiteWebhooks, OrderPerRecordingKeptOthersGoOn) {
  TempDir dir;
  write_keys(dir, "");
  Script script;
  script.set("rec_A", {500, 500, 503});  // A's first delivery fails three times
  FakeHttpServer rx([&](const FakeRequest &r) { return script.answer(r); });
  HookSite site(dir.path(), {rx.url()}, [](pl_server_options &o) {
    o.webhook_backoff_ms = 20;
    o.webhook_backoff_max_ms = 20;
  });
  site.emit("recording.created", rec_data("rec_A"));
  site.emit("recording.created", rec_data("rec_B"));
  site.emit("recording.imported", rec_data("rec_A"));
  site.emit("recording.imported", rec_data("rec_B"));
  site.emit("event.created", "{\"id\":\"evt_free\"}");
  ASSERT_TRUE(site.start());
  ASSERT_TRUE(wait_for([&] { return site.stats().delivered == 5; })) << site.log();
  std::vector<FakeRequest> reqs = rx.requests();
  ASSERT_EQ(reqs.size(), 8u);
  // per recording: created acknowledged before imported is first sent
  auto first_of = [&](const std::string &rec, const std::string &type, int status_needed) {
    std::vector<std::pair<std::string, int>> answers = script.answers();
    for (size_t i = 0; i < answers.size(); i++) {
      Json j = Json::parse(reqs[i].body);
      if (j["type"].str() == type && j["recording"]["id"].str() == rec &&
          (status_needed == 0 || answers[i].second == status_needed))
        return static_cast<int>(i);
    }
    return -1;
  };
  int a_created_ok = first_of("rec_A", "recording.created", 200);
  int a_imported = first_of("rec_A", "recording.imported", 0);
  int b_created_ok = first_of("rec_B", "recording.created", 200);
  int b_imported = first_of("rec_B", "recording.imported", 0);
  ASSERT_GE(a_created_ok, 0);
  EXPECT_LT(a_created_ok, a_imported);
  EXPECT_LT(b_created_ok, b_imported);
  // B does not wait for A's retries
  EXPECT_LT(b_created_ok, a_created_ok);
  EXPECT_EQ(of_delivery(reqs, reqs[a_created_ok].header("x-mcapkit-delivery")).size(), 4u);
  for (const char *id : {"rec_B", "evt_free"}) EXPECT_GE(script.acked(id), 1u) << id;
  EXPECT_EQ(script.acked("rec_A"), 2u);  // created and imported, once each
  EXPECT_EQ(script.acked("rec_B"), 2u);
}

TEST(SiteWebhooks, QueueCapDropsTheOldest) {
  TempDir dir;
  write_keys(dir, "");
  Script script;
  FakeHttpServer rx([&](const FakeRequest &r) { return script.answer(r); });
  HookSite site(dir.path(), {rx.url()}, [](pl_server_options &o) { o.webhook_queue_max = 2; });
  for (const char *id : {"evt_1", "evt_2", "evt_3", "evt_4"})
    site.emit("event.created", std::string("{\"id\":\"") + id + "\"}");
  EXPECT_EQ(queue_files(dir), 2u);
  EXPECT_EQ(site.stats().dropped, 2u);
  EXPECT_EQ(site.stats().queued, 2u);
  EXPECT_NE(site.log().find("queue full (2 deliveries): dropped the oldest"), std::string::npos)
      << site.log();
  ASSERT_TRUE(site.start());
  ASSERT_TRUE(wait_for([&] { return site.stats().delivered == 2; })) << site.log();
  EXPECT_EQ(script.acked("evt_1") + script.acked("evt_2"), 0u);
  EXPECT_EQ(script.acked("evt_3"), 1u);
  EXPECT_EQ(script.acked("evt_4"), 1u);
}

TEST(SiteWebhooks, QueueSurvivesRestartAndNothingIsSentTwice) {
  TempDir dir;
  write_keys(dir, "k");
  Script script;
  std::atomic<bool> down{true};
  FakeHttpServer rx([&](const FakeRequest &r) {
    if (down) {
      FakeResponse resp;
      resp.status = 503;
      return resp;
    }
    return script.answer(r);
  });
  const std::string spec = rx.url() + "/h";
  {
    HookSite site(dir.path(), {spec});
    site.emit("recording.created", rec_data("rec_A"));
    site.emit("device.created", "{\"id\":\"dev_1\"}");
    site.emit("recording.imported", rec_data("rec_A"));
    ASSERT_TRUE(site.start());
    ASSERT_TRUE(wait_for([&] { return site.stats().attempts >= 3; })) << site.log();
    EXPECT_EQ(site.stats().delivered, 0u);
  }  // stopped with three deliveries pending
  EXPECT_EQ(queue_files(dir), 3u);
  size_t before = rx.request_count();
  down = false;
  {
    HookSite site(dir.path(), {spec});
    EXPECT_EQ(site.stats().queued, 3u);
    EXPECT_NE(site.log().find("3 deliveries resumed"), std::string::npos) << site.log();
    ASSERT_TRUE(site.start());
    ASSERT_TRUE(wait_for([&] { return site.stats().delivered == 3; })) << site.log();
    EXPECT_EQ(site.stats().attempts, 3u);  // each once: all answered 200
  }
  EXPECT_EQ(queue_files(dir), 0u);
  std::vector<FakeRequest> reqs = rx.requests();
  ASSERT_EQ(reqs.size(), before + 3);
  std::vector<std::string> after;
  for (size_t i = before; i < reqs.size(); i++) after.push_back(reqs[i].header("x-mcapkit-delivery"));
  // the same delivery ids as before the restart, each acknowledged once, A in order
  std::set<std::string> before_ids;
  for (size_t i = 0; i < before; i++) before_ids.insert(reqs[i].header("x-mcapkit-delivery"));
  // (rec_A's recording.imported was never tried before: it waits for recording.created)
  std::set<std::string> after_ids(after.begin(), after.end());
  EXPECT_EQ(after_ids.size(), 3u);
  EXPECT_EQ(before_ids.size(), 2u);
  for (const std::string &id : before_ids) EXPECT_EQ(after_ids.count(id), 1u) << id;
  EXPECT_EQ(script.acked("rec_A"), 2u);
  EXPECT_EQ(script.acked("dev_1"), 1u);
  int created = -1, imported = -1;
  for (size_t i = before; i < reqs.size(); i++) {
    std::string t = Json::parse(reqs[i].body)["type"].str();
    if (t == "recording.created") created = static_cast<int>(i);
    if (t == "recording.imported") imported = static_cast<int>(i);
  }
  EXPECT_LT(created, imported);
  {
    // a third start: nothing left to send; a new event goes alone
    HookSite site(dir.path(), {spec});
    EXPECT_EQ(site.stats().queued, 0u);
    site.emit("event.created", "{\"id\":\"evt_new\"}");
    ASSERT_TRUE(site.start());
    ASSERT_TRUE(wait_for([&] { return site.stats().delivered == 1; })) << site.log();
  }
  EXPECT_EQ(rx.request_count(), before + 4);
  EXPECT_EQ(script.acked("rec_A"), 2u);
  EXPECT_EQ(script.acked("dev_1"), 1u);
}

TEST(SiteWebhooks, QueueFilesOfOtherWebhooksKeptBadOnesSetAside) {
  TempDir dir;
  write_keys(dir, "");
  FakeHttpServer rx([](const FakeRequest &) { return json_response(200, "{}"); });
  {
    HookSite site(dir.path(), {"http://127.0.0.1:9/elsewhere"});
    site.emit("event.created", "{\"id\":\"evt_other\"}");
  }  // never started: its delivery stays queued
  ASSERT_EQ(queue_files(dir), 1u);
  write_file_or_throw(dir.file("webhooks/00000000000000000099.json"), "{\"not\": \"a delivery\"");
  write_file_or_throw(dir.file("webhooks/00000000000000000098.json.abcd.tmp"), "{");
  HookSite site(dir.path(), {rx.url()});
  EXPECT_EQ(site.stats().queued, 0u);
  EXPECT_NE(site.log().find("1 queued deliveries kept"), std::string::npos) << site.log();
  EXPECT_NE(site.log().find("1 unreadable queue files renamed"), std::string::npos) << site.log();
  EXPECT_EQ(access(dir.file("webhooks/00000000000000000099.json.bad").c_str(), F_OK), 0);
  EXPECT_NE(access(dir.file("webhooks/00000000000000000098.json.abcd.tmp").c_str(), F_OK), 0);
  // a new delivery takes a number after every file seen
  site.emit("event.created", "{\"id\":\"evt_mine\"}");
  EXPECT_EQ(access(dir.file("webhooks/00000000000000000100.json").c_str(), F_OK), 0);
  ASSERT_TRUE(site.start());
  ASSERT_TRUE(wait_for([&] { return site.stats().delivered == 1; })) << site.log();
  EXPECT_EQ(queue_files(dir), 1u);  // the other webhook's, still kept
}

TEST(SiteWebhooks, LargeAnswerIsCutOffAndStillCounts) {
  TempDir dir;
  write_keys(dir, "");
  FakeHttpServer rx([](const FakeRequest &) {
    return json_response(200, std::string(4u << 20, ' ') + "{}");
  });
  HookSite site(dir.path(), {rx.url()});
  site.emit("event.created", "{\"id\":\"evt_big\"}");
  ASSERT_TRUE(site.start());
  ASSERT_TRUE(wait_for([&] { return site.stats().delivered == 1; })) << site.log();
  EXPECT_EQ(site.stats().attempts, 1u);
}

TEST(SiteWebhooks, ServeCommandLine) {
  TempDir dir;
  // bad specs are usage errors (exit 2) before anything starts
  for (const char *bad : {"http://example.com/hook", "https://example.com,recording.deleted",
                          "ftp://127.0.0.1/"}) {
    RunResult r = run_mcapkit({"serve", "--data", dir.file("d"), "--webhook", bad});
    EXPECT_EQ(r.exit_code, 2) << bad << ": " << r.err;
    EXPECT_NE(r.err.find("invalid '--webhook'"), std::string::npos) << r.err;
  }
  EXPECT_NE(access(dir.file("d").c_str(), F_OK), 0);  // nothing was created
  // the options reach the site: a ping to both webhooks, only device events to the second
  FakeHttpServer rx([](const FakeRequest &) { return json_response(200, "{}"); });
  FakeHttpServer rx2([](const FakeRequest &) { return json_response(200, "{}"); });
  ServeProcess serve(dir.file("d"), {"--webhook", rx.url() + "/a", "--webhook",
                                     rx2.url() + ",device.created", "--webhook-ping",
                                     "--webhook-timeout", "5"});
  ASSERT_TRUE(serve.ok()) << serve.log();
  ASSERT_EQ(http_post_json(serve.url() + "/v1/devices", serve.key(), "{\"name\": \"d1\"}").status,
            200);
  ASSERT_TRUE(wait_for([&] { return rx.request_count() == 2 && rx2.request_count() == 2; }))
      << serve.log();
  EXPECT_EQ(Json::parse(rx.requests()[0].body)["type"].str(), "ping");
  EXPECT_EQ(Json::parse(rx.requests()[1].body)["type"].str(), "device.created");
  EXPECT_EQ(Json::parse(rx2.requests()[1].body)["type"].str(), "device.created");
  EXPECT_FALSE(rx.requests()[0].has_header("x-mcapkit-signature-256"));  // no secret
  serve.stop();
}

}  // namespace
}  // namespace mcapkit_test
