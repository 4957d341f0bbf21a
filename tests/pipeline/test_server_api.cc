// test_server_api.cc - contract tests of the local site's API (pipeline/site.h)
// from the reference text: authentication and capabilities, devices (fields,
// types, defaults, sorting, paging over three pages of 2000+ items), query
// parameter validation (limits, booleans, times, unknown parameters) and the
// error statuses of every endpoint.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <atomic>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "test_server_util.h"

namespace mcapkit_test {
namespace {

class ServerApi : public ::testing::Test {
 protected:
  TempDir dir;
};

TEST_F(ServerApi, FirstStartCreatesOneAllCapabilityKeyFile) {
  std::string data = dir.file("data");
  std::string key;
  {
    TestServer s(data);
    ASSERT_TRUE(s.ok());
    key = s.key();
    EXPECT_EQ(key.rfind("fox_sk_", 0), 0u) << key;
  }
  struct stat sb;
  ASSERT_EQ(stat((data + "/keys.json").c_str(), &sb), 0);
  EXPECT_EQ(sb.st_mode & 0777, 0600u);
  TestServer again(data);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again.key().empty()) << "the key is printed only once";
  again.set_key(key);
  EXPECT_EQ(again.get("/v1/devices").status, 200);
}

TEST_F(ServerApi, MissingOrUnknownKeyIs401AndMissingCapabilityIs403) {
  std::string keys = dir.file("keys.json");
  write_file_or_throw(keys,
                      "{\"keys\": [{\"token\": \"fox_sk_reader1234\", \"capabilities\": "
                      "[\"devices.list\"]}, {\"token\": \"fox_sk_all12345678\", "
                      "\"capabilities\": [\"*\"]}]}");
  TestServer s(dir.file("data"), [&](pl_server_options &o) { o.keys_path = keys.c_str(); });
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(s.key().empty());
  HttpResponse r = http_get(s.u("/v1/devices"));
  EXPECT_EQ(r.status, 401);
  EXPECT_FALSE(error_of(r).empty());
  EXPECT_EQ(r.header("content-type"), "application/json");
  EXPECT_EQ(http_get(s.u("/v1/devices"), "fox_sk_wrong0000").status, 401);
  HttpRequest bad;
  bad.url = s.u("/v1/devices");
  bad.headers.push_back({"Authorization", "Basic Zm9vOmJhcg=="});
  EXPECT_EQ(http_do(bad).status, 401);
  EXPECT_EQ(http_get(s.u("/v1/devices"), "fox_sk_reader1234").status, 200);
  r = http_get(s.u("/v1/recordings"), "fox_sk_reader1234");
  EXPECT_EQ(r.status, 403);
  EXPECT_NE(error_of(r).find("recordings.list"), std::string::npos) << r.body;
  EXPECT_EQ(http_post_json(s.u("/v1/devices"), "fox_sk_reader1234", "{\"name\":\"x\"}").status,
            403);
  EXPECT_EQ(http_get(s.u("/v1/recordings"), "fox_sk_all12345678").status, 200);
  // Every endpoint needs a key.
  for (const char *path : {"/v1/data/pending-imports", "/v1/recordings", "/v1/recordings/x",
                           "/v1/recording-attachments", "/v1/recording-attachments/x",
                           "/v1/recording-attachments/x/download", "/v1/data/topics",
                           "/v1/data/coverage", "/v1/lake-files", "/v1/devices/x"})
    EXPECT_EQ(http_get(s.u(path)).status, 401) << path;
  EXPECT_EQ(http_post_json(s.u("/v1/data/upload"), "", "{}").status, 401);
  EXPECT_EQ(http_post_json(s.u("/v1/data/stream"), "", "{}").status, 401);
}

TEST_F(ServerApi, UnknownPathsAndMethods) {
  TestServer s(dir.file("data"));
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s.get("/v1/nothing").status, 404);
  EXPECT_EQ(s.get("/elsewhere").status, 404);
  EXPECT_EQ(s.get("/v1/devices/a/b").status, 404);
  EXPECT_EQ(s.del("/v1/devices").status, 405);
  EXPECT_EQ(s.post("/v1/recordings", "{}").status, 405);
  HttpResponse r = s.get("/v1/nothing");
  EXPECT_FALSE(error_of(r).empty()) << r.body;
}

TEST_F(ServerApi, DevicesCrudFieldsAndErrors) {
  TestServer s(dir.file("data"));
  ASSERT_TRUE(s.ok());
  HttpResponse r = s.post("/v1/devices", "{\"name\": \"robot-1\", \"properties\": {\"site\": "
                                         "\"lab\", \"n\": 3, \"ok\": true}}");
  ASSERT_EQ(r.status, 200) << r.body;
  Json d = parse_json(r);
  std::string id = d["id"].str();
  EXPECT_EQ(d["name"].str(), "robot-1");
  EXPECT_EQ(d["properties"]["site"].str(), "lab");
  EXPECT_EQ(d["properties"]["n"].num(), 3);
  EXPECT_TRUE(d["properties"]["ok"].boolean());
  for (const char *f : {"createdAt", "updatedAt"}) {
    std::string t = d[f].str();
    EXPECT_EQ(t.size(), 30u) << t;  // 2024-01-02T03:04:05.123456789Z
    EXPECT_EQ(t.back(), 'Z');
  }
  // by id and by name
  EXPECT_EQ(parse_json(s.get("/v1/devices/" + id))["name"].str(), "robot-1");
  EXPECT_EQ(parse_json(s.get("/v1/devices/robot-1"))["id"].str(), id);
  EXPECT_EQ(s.get("/v1/devices/nope").status, 404);
  // duplicate name, invalid names, bodies
  EXPECT_EQ(s.post("/v1/devices", "{\"name\": \"robot-1\"}").status, 409);
  for (const char *bad : {"{\"name\": \"a/b\"}", "{\"name\": \"..\"}", "{\"name\": \"\"}",
                          "{\"name\": \"sp ace\"}", "{\"name\": 5}", "{}", "[]", "not json",
                          "{\"name\": \"ok\", \"extra\": 1}",
                          "{\"name\": \"ok\", \"properties\": {\"a\": [1]}}"})
    EXPECT_EQ(s.post("/v1/devices", bad).status, 400) << bad;
  std::string long_name(101, 'a');
  EXPECT_EQ(s.post("/v1/devices", "{\"name\": \"" + long_name + "\"}").status, 400);
  EXPECT_EQ(s.post("/v1/devices", "{\"name\": \"" + long_name.substr(1) + "\"}").status, 200);
  // a JSON body must be JSON
  HttpRequest form;
  form.method = "POST";
  form.url = s.u("/v1/devices");
  form.body = "name=x";
  form.headers = {{"Authorization", "Bearer " + s.key()},
                  {"Content-Type", "application/x-www-form-urlencoded"}};
  EXPECT_EQ(http_do(form).status, 415);
  // PATCH: rename, merge and unset properties
  r = s.patch("/v1/devices/robot-1", "{\"name\": \"robot-2\", \"properties\": {\"n\": null, "
                                     "\"color\": \"red\"}}");
  ASSERT_EQ(r.status, 200) << r.body;
  d = parse_json(r);
  EXPECT_EQ(d["name"].str(), "robot-2");
  EXPECT_EQ(d["id"].str(), id);
  EXPECT_FALSE(d["properties"].has("n"));
  EXPECT_EQ(d["properties"]["color"].str(), "red");
  EXPECT_EQ(d["properties"]["site"].str(), "lab");
  EXPECT_EQ(s.patch("/v1/devices/robot-1", "{}").status, 404);
  EXPECT_EQ(s.patch("/v1/devices/" + id, "{\"name\": \"bad name\"}").status, 400);
  EXPECT_EQ(s.patch("/v1/devices/" + id, "{\"name\": \"" + long_name.substr(1) + "\"}").status,
            409);
  // DELETE
  r = s.del("/v1/devices/" + id);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(parse_json(r)["id"].str(), id);
  EXPECT_EQ(s.get("/v1/devices/" + id).status, 404);
  EXPECT_EQ(s.del("/v1/devices/" + id).status, 404);
}

TEST_F(ServerApi, DevicesSurviveRestart) {
  std::string data = dir.file("data"), key, id;
  {
    TestServer s(data);
    ASSERT_TRUE(s.ok());
    key = s.key();
    id = parse_json(s.post("/v1/devices", "{\"name\": \"keeper\", \"properties\": {\"a\": "
                                          "\"b\"}}"))["id"].str();
  }
  TestServer s(data);
  s.set_key(key);
  Json d = parse_json(s.get("/v1/devices/keeper"));
  EXPECT_EQ(d["id"].str(), id);
  EXPECT_EQ(d["properties"]["a"].str(), "b");
}

TEST_F(ServerApi, ThreePagesOfDevicesSortedAndPaged) {
  TestServer s(dir.file("data"));
  ASSERT_TRUE(s.ok());
  const int n = 4500;
  // create in parallel to keep the test short
  std::vector<std::thread> ts;
  std::atomic<int> failures{0};
  for (int t = 0; t < 8; t++)
    ts.emplace_back([&, t] {
      for (int i = t; i < n; i += 8) {
        char name[32];
        snprintf(name, sizeof name, "dev-%05d", i);
        if (s.post("/v1/devices", std::string("{\"name\": \"") + name + "\"}").status != 200)
          failures++;
      }
    });
  for (auto &t : ts) t.join();
  ASSERT_EQ(failures.load(), 0);
  // default limit is 2000; a client pages until a short page
  std::vector<std::string> names;
  std::set<std::string> ids;
  size_t pages = 0;
  for (size_t offset = 0;; offset += 2000) {
    HttpResponse r = s.get("/v1/devices?sortBy=name&offset=" + std::to_string(offset));
    ASSERT_EQ(r.status, 200);
    Json page = parse_json(r);
    pages++;
    for (size_t i = 0; i < page.size(); i++) {
      names.push_back(page[i]["name"].str());
      ids.insert(page[i]["id"].str());
    }
    if (page.size() < 2000) break;
  }
  EXPECT_EQ(pages, 3u);
  ASSERT_EQ(names.size(), static_cast<size_t>(n));
  EXPECT_EQ(ids.size(), static_cast<size_t>(n));
  for (size_t i = 1; i < names.size(); i++) ASSERT_LT(names[i - 1], names[i]);
  // desc, explicit limit, limit 0, limit over 2000
  Json desc = parse_json(s.get("/v1/devices?sortBy=name&sortOrder=desc&limit=3"));
  ASSERT_EQ(desc.size(), 3u);
  EXPECT_EQ(desc[0]["name"].str(), "dev-04499");
  EXPECT_EQ(desc[2]["name"].str(), "dev-04497");
  EXPECT_EQ(parse_json(s.get("/v1/devices?limit=0")).size(), 0u);
  EXPECT_EQ(parse_json(s.get("/v1/devices?limit=2000")).size(), 2000u);
  EXPECT_EQ(parse_json(s.get("/v1/devices?offset=4499")).size(), 1u);
  EXPECT_EQ(parse_json(s.get("/v1/devices?offset=99999")).size(), 0u);
  for (const char *q : {"limit=2001", "limit=-1", "limit=abc", "limit=1.5", "offset=-1",
                        "offset=x", "sortBy=nope", "sortOrder=up", "limit=", "bogus=1",
                        "limit=1&limit=2"}) {
    HttpResponse r = s.get(std::string("/v1/devices?") + q);
    EXPECT_EQ(r.status, 400) << q;
    EXPECT_FALSE(error_of(r).empty()) << q;
  }
  // sort by id is a total order too
  Json by_id = parse_json(s.get("/v1/devices?sortBy=id&limit=50"));
  for (size_t i = 1; i < by_id.size(); i++) EXPECT_LT(by_id[i - 1]["id"].str(), by_id[i]["id"].str());
}

TEST_F(ServerApi, DeviceQueryOnProperties) {
  TestServer s(dir.file("data"));
  ASSERT_TRUE(s.ok());
  s.post("/v1/devices", "{\"name\": \"a\", \"properties\": {\"loc\": \"lab\", \"part\": \"1\"}}");
  s.post("/v1/devices", "{\"name\": \"b\", \"properties\": {\"loc\": \"field\"}}");
  s.post("/v1/devices", "{\"name\": \"c\"}");
  auto names = [&](const std::string &q) {
    Json j = parse_json(s.get("/v1/devices?sortBy=name&query=" + url_encode(q)));
    std::string out;
    for (size_t i = 0; i < j.size(); i++) out += j[i]["name"].str();
    return out;
  };
  EXPECT_EQ(names("properties.loc:lab"), "a");
  EXPECT_EQ(names("properties.loc:lab,field"), "ab");
  EXPECT_EQ(names("properties.loc:*"), "ab");
  EXPECT_EQ(names("properties.loc:* properties.part:1"), "a");
  EXPECT_EQ(names("fiel"), "b");
  EXPECT_EQ(s.get("/v1/devices?query=properties.loc").status, 400);
  Json sorted = parse_json(s.get("/v1/devices?sortBy=properties.loc"));
  ASSERT_EQ(sorted.size(), 3u);
  EXPECT_EQ(sorted[0]["name"].str(), "b");  // field < lab; without the property last
  EXPECT_EQ(sorted[2]["name"].str(), "c");
}

TEST_F(ServerApi, UploadLinkValidation) {
  TestServer s(dir.file("data"));
  ASSERT_TRUE(s.ok());
  std::string id = parse_json(s.post("/v1/devices", "{\"name\": \"up\"}"))["id"].str();
  HttpResponse r = s.post("/v1/data/upload", "{\"filename\": \"a.mcap\", \"deviceId\": " +
                                                 jstr(id) + "}");
  ASSERT_EQ(r.status, 200) << r.body;
  Json j = parse_json(r);
  EXPECT_EQ(j["link"].str().rfind(s.url() + "/signed/upload/", 0), 0u) << j["link"].str();
  EXPECT_EQ(j["link"].str().find(s.key()), std::string::npos) << "the API key is not in links";
  EXPECT_FALSE(j["requestId"].str().empty());
  // the deprecated dotted forms work like the new ones
  EXPECT_EQ(s.post("/v1/data/upload", "{\"filename\": \"a.mcap\", \"device.id\": " + jstr(id) +
                                          "}")
                .status,
            200);
  EXPECT_EQ(s.post("/v1/data/upload", "{\"filename\": \"a.mcap\", \"device.name\": \"up\"}").status,
            200);
  EXPECT_EQ(s.post("/v1/data/upload", "{\"filename\": \"a.mcap\", \"key\": \"k1\"}").status, 200);
  EXPECT_EQ(s.post("/v1/data/upload", "{\"filename\": \"a.mcap\", \"deviceName\": \"new-one\"}")
                .status,
            200);
  EXPECT_EQ(s.post("/v1/data/upload", "{\"filename\": \"a.mcap\", \"deviceId\": \"dev_nope\"}")
                .status,
            404);
  for (const char *bad :
       {"{\"deviceName\": \"up\"}", "{\"filename\": \"a.mcap\"}",
        "{\"filename\": \"\", \"deviceName\": \"up\"}",
        "{\"filename\": \"a\\u0000b\", \"deviceName\": \"up\"}",
        "{\"filename\": \"a.mcap\", \"deviceName\": \"../up\"}",
        "{\"filename\": \"a.mcap\", \"key\": \"../../etc/passwd\"}",
        "{\"filename\": \"a.mcap\", \"key\": \"\"}",
        "{\"filename\": \"a.mcap\", \"key\": \"a\\nb\"}",
        "{\"filename\": \"a.mcap\", \"deviceName\": \"up\", \"projectId\": \"p\"}",
        "{\"filename\": 1, \"deviceName\": \"up\"}"}) {
    HttpResponse b = s.post("/v1/data/upload", bad);
    EXPECT_EQ(b.status, 400) << bad << " " << b.body;
  }
  EXPECT_EQ(s.post("/v1/data/upload",
                   "{\"filename\": \"a.mcap\", \"deviceId\": " + jstr(id) +
                       ", \"deviceName\": \"other\"}")
                .status,
            400);
  // nothing is listed before the upload arrives
  EXPECT_EQ(parse_json(s.get("/v1/data/pending-imports?requestId=" + j["requestId"].str())).size(),
            0u);
}

TEST_F(ServerApi, PendingImportsParameters) {
  TestServer s(dir.file("data"));
  ASSERT_TRUE(s.ok());
  for (const char *q : {"showCompleted=yes", "showQuarantined=1", "updatedSince=yesterday",
                        "updatedSince=2024-01-01 00:00:00Z", "updatedSince=2024-01-01t00:00:00Z",
                        "updatedSince=2024-01-01T00:00:00-00:00", "sortBy=size", "projectId=x"}) {
    HttpResponse r = s.get(std::string("/v1/data/pending-imports?") + q);
    EXPECT_EQ(r.status, 400) << q << " " << r.body;
  }
  HttpResponse r = s.get("/v1/data/pending-imports?updatedSince=bad");
  EXPECT_NE(error_of(r).find("updatedSince"), std::string::npos) << "400 names the parameter";
  for (const char *q : {"updatedSince=2024-01-01T00:00:00Z",
                        "updatedSince=2024-01-01T01:00:00.123456789%2B01:00",
                        "updatedSince=2024-01-01T00:00:00.5-07:00", "showCompleted=true",
                        "sortBy=updatedAt&sortOrder=desc", "siteId=other", "device.id=x",
                        "device.name=y", "error=boom", "filename=f.mcap", "key=k"})
    EXPECT_EQ(s.get(std::string("/v1/data/pending-imports?") + q).status, 200) << q;
}

TEST_F(ServerApi, RecordingsAndQueryEndpointsValidateParameters) {
  TestServer s(dir.file("data"));
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(parse_json(s.get("/v1/recordings")).size(), 0u);
  EXPECT_EQ(s.get("/v1/recordings/rec_nope").status, 404);
  EXPECT_EQ(s.del("/v1/recordings/rec_nope").status, 404);
  EXPECT_EQ(s.get("/v1/recordings?importStatus=done").status, 400);
  EXPECT_EQ(s.get("/v1/recordings?start=2024-13-01T00:00:00Z").status, 400);
  EXPECT_EQ(s.get("/v1/recordings?sortBy=size").status, 400);
  EXPECT_EQ(s.get("/v1/recordings?importStatus=complete&sortBy=duration").status, 200);
  EXPECT_EQ(s.get("/v1/recording-attachments/att_nope").status, 404);
  EXPECT_EQ(s.get("/v1/recording-attachments/att_nope/download").status, 404);
  EXPECT_EQ(s.get("/v1/recording-attachments?sortBy=name").status, 400);
  EXPECT_EQ(s.get("/v1/recording-attachments?sortBy=logTime").status, 200);
  EXPECT_EQ(s.get("/v1/data/topics?includeSchemas=maybe").status, 400);
  EXPECT_EQ(s.get("/v1/data/topics?includeSchemas=false").status, 200);
  EXPECT_EQ(s.get("/v1/data/topics?recordingId=rec_nope").status, 404);
  EXPECT_EQ(s.get("/v1/data/topics?sortBy=name").status, 400);
  // coverage: start and end required, tolerance >= 0
  EXPECT_EQ(s.get("/v1/data/coverage").status, 400);
  EXPECT_EQ(s.get("/v1/data/coverage?start=2024-01-01T00:00:00Z").status, 400);
  const std::string range = "start=2024-01-01T00:00:00Z&end=2024-01-02T00:00:00Z";
  EXPECT_EQ(s.get("/v1/data/coverage?" + range).status, 200);
  EXPECT_EQ(s.get("/v1/data/coverage?" + range + "&tolerance=-1").status, 400);
  EXPECT_EQ(s.get("/v1/data/coverage?" + range + "&tolerance=2.5").status, 200);
  EXPECT_EQ(s.get("/v1/data/coverage?" + range + "&deviceName=ghost").status, 404);
  EXPECT_EQ(s.get("/v1/data/coverage?start=2024-01-02T00:00:00Z&end=2024-01-01T00:00:00Z").status,
            400);
  // lake files: siteId required, one selector, 24 h at most
  EXPECT_EQ(s.get("/v1/lake-files?recordingId=x").status, 400);
  EXPECT_EQ(s.get("/v1/lake-files?siteId=nope&recordingId=x").status, 404);
  // stream: a selector is required
  EXPECT_EQ(s.post("/v1/data/stream", "{}").status, 400);
  EXPECT_EQ(s.post("/v1/data/stream", "{\"recordingId\": \"rec_nope\"}").status, 404);
  EXPECT_EQ(s.post("/v1/data/stream", "{\"deviceName\": \"x\"}").status, 400);
  EXPECT_EQ(s.post("/v1/data/stream", "{\"recordingId\": \"r\", \"outputFormat\": \"bag1\"}").status,
            400);
  EXPECT_EQ(s.post("/v1/data/stream", "{\"recordingId\": \"r\", \"replayPolicy\": \"all\"}").status,
            400);
  EXPECT_EQ(s.post("/v1/data/stream", "{\"recordingId\": \"r\", \"topics\": \"a\"}").status, 400);
  EXPECT_EQ(s.post("/v1/data/stream", "{\"recordingId\": \"r\", \"start\": \"2024-01-01\"}").status,
            400);
}

TEST_F(ServerApi, RateLimitAnswers429WithRetryAfter) {
  TestServer s(dir.file("data"), [](pl_server_options &o) { o.rate_limit = 5; });
  ASSERT_TRUE(s.ok());
  int ok = 0, limited = 0;
  std::string retry;
  for (int i = 0; i < 20; i++) {
    HttpResponse r = s.get("/v1/devices");
    if (r.status == 200) ok++;
    if (r.status == 429) {
      limited++;
      retry = r.header("retry-after");
      EXPECT_FALSE(error_of(r).empty());
    }
  }
  EXPECT_GE(ok, 5);
  EXPECT_GT(limited, 0);
  EXPECT_GE(std::stoi(retry.empty() ? "0" : retry), 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  EXPECT_EQ(s.get("/v1/devices").status, 200) << "tokens come back";
}

TEST_F(ServerApi, FaultInjection) {
  TestServer s(dir.file("data"), [](pl_server_options &o) {
    o.faults = "error=0.3,reset=0.3,delay=0.2:50";
    o.fault_seed = 42;
  });
  ASSERT_TRUE(s.ok());
  int errors = 0, resets = 0, good = 0, other = 0;
  for (int i = 0; i < 60; i++) {
    HttpResponse r = s.get("/v1/devices");
    if (r.status == 500 || r.status == 503) {
      errors++;
      EXPECT_FALSE(error_of(r).empty());
    } else if (r.status == 200 && !r.complete) {
      resets++;
    } else if (r.status == 200) {
      good++;
    } else {
      other++;
    }
  }
  EXPECT_GT(errors, 5);
  EXPECT_GT(resets, 5);
  EXPECT_GT(good, 5);
  EXPECT_EQ(other, 0);
  // validation still applies to requests that are not failed on purpose
  int bad_ok = 0;
  for (int i = 0; i < 20; i++) {
    HttpResponse r = http_get(s.u("/v1/devices"));
    if (r.status == 200 && r.complete) bad_ok++;
  }
  EXPECT_EQ(bad_ok, 0) << "no key never succeeds";
}

TEST_F(ServerApi, ExpireFaultHandsOutExpiredLinks) {
  TestServer s(dir.file("data"), [](pl_server_options &o) { o.faults = "expire=1"; });
  ASSERT_TRUE(s.ok());
  HttpResponse r = s.post("/v1/data/upload", "{\"filename\": \"a.mcap\", \"key\": \"k\"}");
  ASSERT_EQ(r.status, 200);
  HttpResponse p = http_put(parse_json(r)["link"].str(), "data");
  EXPECT_EQ(p.status, 403);
  EXPECT_NE(error_of(p).find("expired"), std::string::npos) << p.body;
}

TEST_F(ServerApi, ThrottleFaultAnswers429WithRetryAfter) {
  TestServer s(dir.file("data"), [](pl_server_options &o) { o.faults = "throttle=1"; });
  ASSERT_TRUE(s.ok());
  HttpResponse r = s.get("/v1/devices");
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.header("retry-after"), "1");
}

TEST_F(ServerApi, BadOptionsAreRefused) {
  pl_server *srv = nullptr;
  pl_error_info err;
  pl_server_options o;
  memset(&o, 0, sizeof o);
  EXPECT_EQ(pl_server_create(&srv, &o, &err), PL_EINVAL);
  std::string data = dir.file("data");
  o.data_dir = data.c_str();
  for (const char *f : {"error=2", "boom=0.1", "delay=0.1", "delay=0.5:x", "error=0.6,reset=0.6",
                        "reset=0.5,throttle=0.6", "throttle=x"}) {
    o.faults = f;
    EXPECT_EQ(pl_server_create(&srv, &o, &err), PL_EINVAL) << f;
    EXPECT_NE(err.msg[0], 0);
  }
  o.faults = nullptr;
  o.listen_host = "not-an-ip";
  EXPECT_EQ(pl_server_create(&srv, &o, &err), PL_EINVAL);
  o.listen_host = nullptr;
  std::string keys = dir.file("k.json");
  write_file_or_throw(keys, "{\"keys\": [{\"token\": \"short\", \"capabilities\": []}]}");
  o.keys_path = keys.c_str();
  EXPECT_NE(pl_server_create(&srv, &o, &err), PL_OK);
  std::string missing = dir.file("missing.json");
  o.keys_path = missing.c_str();
  EXPECT_NE(pl_server_create(&srv, &o, &err), PL_OK);
}

}  // namespace
}  // namespace mcapkit_test
