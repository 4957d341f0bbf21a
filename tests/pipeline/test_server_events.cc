// test_server_events.cc - the local site's upload file names (kept as data, never
// as paths), events (create, get, update, delete, every list filter and sort, the
// query mini-language, persistence across a restart) and custom properties (list,
// create, get, edit; device properties validated against them). Expectations are
// computed by hand from the few objects each test creates.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "test_server_util.h"

namespace mcapkit_test {
namespace {

class ServerEvents : public ::testing::Test {
 protected:
  TempDir dir;
};

// Every path under `root`, relative to it.
std::vector<std::string> tree(const std::string &root) {
  std::vector<std::string> out;
  for (const auto &e : std::filesystem::recursive_directory_iterator(root))
    out.push_back(std::filesystem::relative(e.path(), root).string());
  return out;
}

TEST_F(ServerEvents, UploadFilenameIsKeptAsDataNeverAsAPath) {
  std::string data = dir.file("site/data");
  std::filesystem::create_directories(data);
  TestServer s(data);
  ASSERT_TRUE(s.ok());
  std::string mcap = dir.file("in.mcap");
  write_synth(mcap, 7, 0.5);
  std::string bytes = read_file_or_throw(mcap);
  const std::vector<std::string> names = {"run-7/front.mcap", "../x.mcap", "..",
                                          "caf\xc3\xa9/\xe2\x9c\x93 r\xc3\xbcn.mcap",
                                          "a\\b\tc.mcap", std::string(1024, 'n')};
  std::vector<std::string> rids;
  for (const std::string &n : names)
    rids.push_back(upload(s, "{\"filename\": " + jstr(n) + ", \"deviceName\": \"fn\", \"key\": " +
                                 jstr("k" + std::to_string(rids.size())) + "}",
                          bytes));
  ASSERT_TRUE(s.wait_imports());
  for (size_t i = 0; i < names.size(); i++) {
    Json imp = pending_import(s, rids[i]);
    EXPECT_EQ(imp["filename"].str(), names[i]);
    EXPECT_EQ(imp["status"].str(), "complete") << imp["error"].str();
    Json rec = parse_json(s.get("/v1/recordings/k" + std::to_string(i)));
    EXPECT_EQ(rec["path"].str(), names[i]);
    // the path filter matches it exactly
    HttpResponse by_path = s.get("/v1/recordings?path=" + url_encode(names[i]));
    ASSERT_EQ(by_path.status, 200) << by_path.body;
    ASSERT_EQ(parse_json(by_path).size(), 1u) << names[i];
  }
  // nothing outside DATA, and nothing under it named by a client's file name
  for (const std::string &p : tree(dir.path())) {
    EXPECT_EQ(p.find("x.mcap"), std::string::npos) << p;
    EXPECT_EQ(p.find("front"), std::string::npos) << p;
    EXPECT_EQ(p.find("run-7"), std::string::npos) << p;
    EXPECT_EQ(p.find("caf"), std::string::npos) << p;
    EXPECT_EQ(p.find("nnnn"), std::string::npos) << p;
  }
  // empty, too long, not a string: 400
  for (const std::string &bad : {std::string("\"\""), jstr(std::string(1025, 'n')),
                                 std::string("[\"a\"]")}) {
    HttpResponse r = s.post("/v1/data/upload", "{\"filename\": " + bad + ", \"key\": \"z\"}");
    EXPECT_EQ(r.status, 400) << bad << " " << r.body;
    EXPECT_NE(error_of(r).find("filename"), std::string::npos) << r.body;
  }
}

// 2024-01-01T00:00:00Z plus `s` seconds, as the API writes times.
std::string at(unsigned s) {
  char b[40];
  pl_format_time((UINT64_C(1704067200) + s) * UINT64_C(1000000000), b);
  return b;
}

// The events of a list response, as their "name" metadata joined in order ("e1,e3").
std::string names_of(const HttpResponse &r) {
  if (r.status != 200) return "HTTP " + std::to_string(r.status) + " " + r.body;
  Json j = parse_json(r);
  std::string out;
  for (size_t i = 0; i < j.size(); i++) {
    if (!out.empty()) out += ",";
    out += j[i]["metadata"].has("name") ? j[i]["metadata"]["name"].str() : "?";
  }
  return out;
}

// Four events on two devices (times in seconds after 2024-01-01T00:00:00Z):
//   e1 d1 [100,200] kind=estop note="big red button"
//   e2 d1 [300,300] kind=grasp result=fail loc="lab 3"  (no end: end = start)
//   e3 d2 [150,400] kind=grasp result=ok
//   e4 d2 [500,600] (only its name)
struct Fixture {
  std::string d1, d2;
  std::vector<Json> ev;
};

Fixture make_events(const TestServer &s) {
  Fixture f;
  f.d1 = parse_json(s.post("/v1/devices", "{\"name\": \"d1\"}"))["id"].str();
  f.d2 = parse_json(s.post("/v1/devices", "{\"name\": \"d2\"}"))["id"].str();
  const std::string bodies[] = {
      "{\"deviceId\": " + jstr(f.d1) + ", \"start\": \"" + at(100) + "\", \"end\": \"" + at(200) +
          "\", \"metadata\": {\"name\": \"e1\", \"kind\": \"estop\", \"note\": \"big red button\"}}",
      "{\"deviceName\": \"d1\", \"start\": \"" + at(300) +
          "\", \"metadata\": {\"name\": \"e2\", \"kind\": \"grasp\", \"result\": \"fail\", "
          "\"loc\": \"lab 3\"}}",
      "{\"device.name\": \"d2\", \"start\": \"" + at(150) + "\", \"end\": \"" + at(400) +
          "\", \"metadata\": {\"name\": \"e3\", \"kind\": \"grasp\", \"result\": \"ok\"}}",
      "{\"device.id\": " + jstr(f.d2) + ", \"start\": \"" + at(500) + "\", \"end\": \"" + at(600) +
          "\", \"metadata\": {\"name\": \"e4\"}}"};
  for (const std::string &b : bodies) {
    HttpResponse r = s.post("/v1/events", b);
    EXPECT_EQ(r.status, 200) << b << " " << r.body;
    f.ev.push_back(parse_json(r));
  }
  return f;
}

TEST_F(ServerEvents, CreateGetAndFields) {
  TestServer s(dir.file("data"));
  ASSERT_TRUE(s.ok());
  Fixture f = make_events(s);
  ASSERT_EQ(f.ev.size(), 4u);
  const Json &e1 = f.ev[0];
  EXPECT_EQ(e1["id"].str().rfind("evt_", 0), 0u);
  EXPECT_EQ(e1["start"].str(), at(100));
  EXPECT_EQ(e1["end"].str(), at(200));
  EXPECT_EQ(e1["deviceId"].str(), f.d1);
  EXPECT_EQ(e1["device"]["id"].str(), f.d1);
  EXPECT_EQ(e1["device"]["name"].str(), "d1");
  EXPECT_EQ(e1["metadata"]["note"].str(), "big red button");
  EXPECT_EQ(e1["metadata"].size(), 3u);
  EXPECT_FALSE(e1["createdAt"].str().empty());
  EXPECT_EQ(e1["createdAt"].str(), e1["updatedAt"].str());
  EXPECT_EQ(f.ev[1]["end"].str(), at(300)) << "end defaults to start";
  EXPECT_EQ(f.ev[1]["deviceId"].str(), f.d1) << "by deviceName";
  EXPECT_EQ(f.ev[3]["deviceId"].str(), f.d2) << "by the deprecated device.id";
  Json got = parse_json(s.get("/v1/events/" + e1["id"].str()));
  EXPECT_EQ(got["metadata"]["kind"].str(), "estop");
  EXPECT_EQ(got["createdAt"].str(), e1["createdAt"].str());
  EXPECT_EQ(s.get("/v1/events/evt_nope").status, 404);
  // without metadata: an empty object
  HttpResponse bare = s.post("/v1/events", "{\"deviceName\": \"d1\", \"start\": \"" + at(1) + "\"}");
  ASSERT_EQ(bare.status, 200) << bare.body;
  EXPECT_EQ(parse_json(bare)["metadata"].size(), 0u);
}

TEST_F(ServerEvents, CreateValidation) {
  TestServer s(dir.file("data"));
  ASSERT_TRUE(s.ok());
  std::string d1 = parse_json(s.post("/v1/devices", "{\"name\": \"d1\"}"))["id"].str();
  parse_json(s.post("/v1/devices", "{\"name\": \"d2\"}"));
  const std::string t = "\"" + at(10) + "\"";
  struct Case {
    std::string body;
    int status;
    const char *words;  // in the error
  } cases[] = {
      {"{\"start\": " + t + "}", 400, "deviceId"},
      {"{\"deviceName\": \"d1\"}", 400, "start"},
      {"{\"deviceName\": \"d1\", \"start\": \"yesterday\"}", 400, "start"},
      {"{\"deviceName\": \"d1\", \"start\": " + t + ", \"end\": \"" + at(9) + "\"}", 400, "end"},
      {"{\"deviceName\": \"d1\", \"start\": " + t + ", \"metadata\": {\"a\": 1}}", 400, "metadata.a"},
      {"{\"deviceName\": \"d1\", \"start\": " + t + ", \"metadata\": {\"\": \"x\"}}", 400, "empty key"},
      {"{\"deviceName\": \"d1\", \"start\": " + t + ", \"metadata\": [\"a\"]}", 400, "metadata"},
      {"{\"deviceName\": \"d1\", \"start\": " + t + ", \"metadata\": {\"a\": \"\\u0000\"}}", 400,
       "NUL"},
      {"{\"deviceName\": \"d1\", \"start\": " + t + ", \"color\": \"red\"}", 400, "color"},
      {"{\"deviceName\": \"nope\", \"start\": " + t + "}", 404, "nope"},
      {"{\"deviceId\": \"dev_nope\", \"start\": " + t + "}", 404, "dev_nope"},
      {"{\"deviceId\": " + jstr(d1) + ", \"deviceName\": \"d2\", \"start\": " + t + "}", 400,
       "different"},
  };
  for (const Case &c : cases) {
    HttpResponse r = s.post("/v1/events", c.body);
    EXPECT_EQ(r.status, c.status) << c.body << " " << r.body;
    EXPECT_NE(error_of(r).find(c.words), std::string::npos) << c.body << " " << r.body;
  }
  std::string many = "{";
  for (int i = 0; i <= 100; i++) many += (i ? "," : "") + jstr("k" + std::to_string(i)) + ":\"v\"";
  many += "}";
  EXPECT_EQ(s.post("/v1/events", "{\"deviceName\": \"d1\", \"start\": " + t + ", \"metadata\": " +
                                     many + "}")
                .status,
            400);
  EXPECT_EQ(s.post("/v1/events", "{\"deviceName\": \"d1\", \"start\": " + t +
                                     ", \"metadata\": {\"big\": " + jstr(std::string(16384, 'x')) +
                                     "}}")
                .status,
            400);
  EXPECT_EQ(parse_json(s.get("/v1/events")).size(), 0u) << "nothing was created";
}

TEST_F(ServerEvents, ListFiltersTimeRangeAndDevices) {
  TestServer s(dir.file("data"));
  ASSERT_TRUE(s.ok());
  Fixture f = make_events(s);
  auto list = [&](const std::string &params) { return names_of(s.get("/v1/events" + params)); };
  EXPECT_EQ(list(""), "e1,e2,e3,e4");  // default: in order of creation
  // inclusive intersection of [start, end] with each event's span
  EXPECT_EQ(list("?start=" + url_encode(at(250))), "e2,e3,e4");
  EXPECT_EQ(list("?end=" + url_encode(at(150))), "e1,e3");
  EXPECT_EQ(list("?start=" + url_encode(at(200)) + "&end=" + url_encode(at(300))), "e1,e2,e3");
  EXPECT_EQ(list("?start=" + url_encode(at(201)) + "&end=" + url_encode(at(299))), "e3");
  EXPECT_EQ(list("?start=" + url_encode(at(601))), "");
  EXPECT_EQ(list("?start=" + url_encode(at(600)) + "&end=" + url_encode(at(700))), "e4");
  // an offset is converted to UTC: 00:10:00+01:00 is 23:10 the day before (before everything)
  EXPECT_EQ(list("?end=" + url_encode("2024-01-01T00:10:00+01:00")), "");
  // devices, new names winning over the deprecated ones
  EXPECT_EQ(list("?deviceId=" + f.d2), "e3,e4");
  EXPECT_EQ(list("?device.id=" + f.d1), "e1,e2");
  EXPECT_EQ(list("?deviceName=d1"), "e1,e2");
  EXPECT_EQ(list("?device.name=d2"), "e3,e4");
  EXPECT_EQ(list("?deviceName=d1&device.name=d2"), "e1,e2");
  EXPECT_EQ(list("?deviceName=nope"), "");
  EXPECT_EQ(list("?deviceId=" + f.d1 + "&deviceName=d2"), "");
  EXPECT_EQ(list("?deviceName=d2&start=" + url_encode(at(450))), "e4");
  // createdAfter / updatedAfter are strict
  EXPECT_EQ(list("?createdAfter=" + url_encode(f.ev[1]["createdAt"].str())), "e3,e4");
  HttpResponse p = s.patch("/v1/events/" + f.ev[0]["id"].str(),
                           "{\"metadata\": {\"name\": \"e1\", \"kind\": \"estop\"}}");
  ASSERT_EQ(p.status, 200) << p.body;
  EXPECT_EQ(list("?updatedAfter=" + url_encode(f.ev[3]["updatedAt"].str())), "e1");
  EXPECT_EQ(list("?createdAfter=" + url_encode(f.ev[3]["createdAt"].str())), "");
  // bad parameters
  for (const char *bad : {"?start=2024-01-01 00:00:00Z", "?end=yesterday", "?createdAfter=1",
                          "?updatedAfter=2024-01-01T00:00:00-00:00", "?color=red",
                          "?limit=2001", "?offset=-1", "?sortBy=name", "?sortOrder=up",
                          "?start=2024-01-02T00:00:00Z&end=2024-01-01T00:00:00Z"}) {
    HttpResponse r = s.get(std::string("/v1/events") + bad);
    EXPECT_EQ(r.status, 400) << bad << " " << r.body;
  }
}

TEST_F(ServerEvents, QueryMiniLanguage) {
  TestServer s(dir.file("data"));
  ASSERT_TRUE(s.ok());
  make_events(s);
  auto q = [&](const std::string &query) {
    return names_of(s.get("/v1/events?query=" + url_encode(query)));
  };
  EXPECT_EQ(q("kind:grasp"), "e2,e3");
  EXPECT_EQ(q("kind:grasp,estop"), "e1,e2,e3");
  EXPECT_EQ(q("kind:gras"), "") << "values match exactly";
  EXPECT_EQ(q("Kind:grasp"), "") << "keys are case-sensitive";
  EXPECT_EQ(q("result:*"), "e2,e3");
  EXPECT_EQ(q("*:fail"), "e2");
  EXPECT_EQ(q("*:ok,estop"), "e1,e3");
  EXPECT_EQ(q("*:*"), "e1,e2,e3,e4");
  EXPECT_EQ(q("name:e4 *:*"), "e4");
  EXPECT_EQ(q("lab"), "e2") << "free text: inside a value";
  EXPECT_EQ(q("resul"), "e2,e3") << "free text: inside a key";
  EXPECT_EQ(q("loc:\"lab 3\""), "e2");
  EXPECT_EQ(q("loc:lab"), "");
  EXPECT_EQ(q("note:\"big red button\""), "e1");
  EXPECT_EQ(q("\"red button\""), "e1");
  EXPECT_EQ(q("kind:grasp result:ok"), "e3");
  EXPECT_EQ(q("kind:grasp fail"), "e2");
  EXPECT_EQ(q("  kind:grasp   result:fail  "), "e2");
  EXPECT_EQ(q("kind:grasp nothing-like-this"), "");
  EXPECT_EQ(q("kind:\"grasp\",estop"), "e1,e2,e3");
  EXPECT_EQ(q("\"kind\":\"*\""), "") << "a quoted star is a literal star";
  EXPECT_EQ(q(""), "e1,e2,e3,e4");
  // with the other filters (AND)
  EXPECT_EQ(names_of(s.get("/v1/events?deviceName=d2&query=kind:grasp")), "e3");
  for (const char *bad : {"kind:\"grasp", ":grasp", "kind:", "kind:a,,b", "kind:*,a", "\"\"",
                          "kind:a,*"}) {
    HttpResponse r = s.get("/v1/events?query=" + url_encode(bad));
    EXPECT_EQ(r.status, 400) << bad << " " << r.body;
    EXPECT_NE(error_of(r).find("query"), std::string::npos) << r.body;
  }
  std::string many;
  for (int i = 0; i <= 64; i++) many += "a ";
  EXPECT_EQ(s.get("/v1/events?query=" + url_encode(many)).status, 400);
}

TEST_F(ServerEvents, SortAndPaging) {
  TestServer s(dir.file("data"));
  ASSERT_TRUE(s.ok());
  Fixture f = make_events(s);
  auto list = [&](const std::string &params) { return names_of(s.get("/v1/events" + params)); };
  EXPECT_EQ(list("?sortBy=start"), "e1,e3,e2,e4");
  EXPECT_EQ(list("?sortBy=start&sortOrder=desc"), "e4,e2,e3,e1");
  EXPECT_EQ(list("?sortBy=createdAt&sortOrder=desc"), "e4,e3,e2,e1");
  EXPECT_EQ(list("?sortBy=deviceName"), "e1,e2,e3,e4");
  EXPECT_EQ(list("?sortBy=device.name&sortOrder=desc"), "e4,e3,e2,e1");
  std::vector<std::pair<std::string, std::string>> by_id;
  for (const Json &e : f.ev) by_id.push_back({e["id"].str(), e["metadata"]["name"].str()});
  std::sort(by_id.begin(), by_id.end());
  std::string want;
  for (auto &p : by_id) want += (want.empty() ? "" : ",") + p.second;
  EXPECT_EQ(list("?sortBy=id"), want);
  std::string dev_order = f.d1 < f.d2 ? "e1,e2,e3,e4" : "e3,e4,e1,e2";
  EXPECT_EQ(list("?sortBy=deviceId"), dev_order);
  EXPECT_EQ(list("?sortBy=device.id"), dev_order);
  ASSERT_EQ(s.patch("/v1/events/" + f.ev[1]["id"].str(), "{\"end\": \"" + at(350) + "\"}").status,
            200);
  EXPECT_EQ(list("?sortBy=updatedAt&sortOrder=desc"), "e2,e4,e3,e1");
  EXPECT_EQ(list("?limit=2&offset=1"), "e2,e3");
  EXPECT_EQ(list("?limit=0"), "");
  EXPECT_EQ(list("?offset=4"), "");
  EXPECT_EQ(list("?sortBy=start&limit=2&offset=2"), "e2,e4");
}

TEST_F(ServerEvents, UpdateAndDelete) {
  TestServer s(dir.file("data"));
  ASSERT_TRUE(s.ok());
  Fixture f = make_events(s);
  std::string id = f.ev[0]["id"].str();
  // metadata is replaced whole; the span stays valid
  HttpResponse r = s.patch("/v1/events/" + id, "{\"metadata\": {\"name\": \"e1\", \"x\": \"y\"}}");
  ASSERT_EQ(r.status, 200) << r.body;
  Json j = parse_json(r);
  EXPECT_EQ(j["metadata"].size(), 2u);
  EXPECT_FALSE(j["metadata"].has("kind"));
  EXPECT_EQ(j["start"].str(), at(100));
  EXPECT_EQ(j["createdAt"].str(), f.ev[0]["createdAt"].str());
  EXPECT_GT(j["updatedAt"].str(), f.ev[0]["updatedAt"].str());
  EXPECT_EQ(s.patch("/v1/events/" + id, "{\"start\": \"" + at(250) + "\"}").status, 400)
      << "start after the end";
  EXPECT_EQ(s.patch("/v1/events/" + id, "{\"end\": \"" + at(50) + "\"}").status, 400);
  EXPECT_EQ(s.patch("/v1/events/" + id, "{\"deviceId\": " + jstr(f.d2) + "}").status, 400);
  EXPECT_EQ(s.patch("/v1/events/" + id, "{\"metadata\": {\"a\": true}}").status, 400);
  r = s.patch("/v1/events/" + id, "{\"start\": \"" + at(250) + "\", \"end\": \"" + at(260) + "\"}");
  ASSERT_EQ(r.status, 200) << r.body;
  j = parse_json(s.get("/v1/events/" + id));
  EXPECT_EQ(j["start"].str(), at(250));
  EXPECT_EQ(j["end"].str(), at(260));
  EXPECT_EQ(j["metadata"]["x"].str(), "y") << "metadata kept when not given";
  EXPECT_EQ(s.patch("/v1/events/evt_nope", "{}").status, 404);
  // a device with events cannot be deleted
  HttpResponse dd = s.del("/v1/devices/d2");
  EXPECT_EQ(dd.status, 409) << dd.body;
  EXPECT_NE(error_of(dd).find("event"), std::string::npos) << dd.body;
  for (int i = 2; i < 4; i++) {
    HttpResponse del = s.del("/v1/events/" + f.ev[i]["id"].str());
    ASSERT_EQ(del.status, 200) << del.body;
    EXPECT_EQ(parse_json(del)["id"].str(), f.ev[i]["id"].str());
  }
  EXPECT_EQ(s.del("/v1/events/" + f.ev[2]["id"].str()).status, 404);
  EXPECT_EQ(s.get("/v1/events/" + f.ev[2]["id"].str()).status, 404);
  EXPECT_EQ(s.del("/v1/devices/d2").status, 200);
  EXPECT_EQ(names_of(s.get("/v1/events")), "e1,e2");
}

TEST_F(ServerEvents, EventsSurviveARestart) {
  std::string data = dir.file("data");
  std::string before, id;
  {
    TestServer s(data);
    ASSERT_TRUE(s.ok());
    Fixture f = make_events(s);
    id = f.ev[1]["id"].str();
    ASSERT_EQ(s.patch("/v1/events/" + id, "{\"metadata\": {\"name\": \"e2\", \"v\": \"2\"}}").status,
              200);
    ASSERT_EQ(s.del("/v1/events/" + f.ev[3]["id"].str()).status, 200);
    before = s.get("/v1/events").body;
  }
  std::string keys = data + "/keys.json";
  TestServer again(data, [&](pl_server_options &o) { o.keys_path = keys.c_str(); });
  ASSERT_TRUE(again.ok());
  again.set_key(Json::parse(read_file_or_throw(keys))["keys"][0]["token"].str());
  HttpResponse after = again.get("/v1/events");
  EXPECT_EQ(after.body, before);
  EXPECT_EQ(names_of(after), "e1,e2,e3");
  EXPECT_EQ(parse_json(again.get("/v1/events/" + id))["metadata"]["v"].str(), "2");
  EXPECT_EQ(names_of(again.get("/v1/events?sortBy=start")), "e1,e3,e2");
  EXPECT_EQ(names_of(again.get("/v1/events?query=kind:grasp")), "e3") << "e2's was replaced";
  EXPECT_EQ(names_of(again.get("/v1/events?query=v:2")), "e2");
}

TEST_F(ServerEvents, CapabilitiesOfEventsAndCustomProperties) {
  std::string keys = dir.file("keys.json");
  write_file_or_throw(keys,
                      "{\"keys\": [{\"token\": \"fox_sk_events_ro\", \"capabilities\": "
                      "[\"events.list\", \"customProperties.list\"]}, {\"token\": "
                      "\"fox_sk_all12345678\", \"capabilities\": [\"*\"]}]}");
  TestServer s(dir.file("data"), [&](pl_server_options &o) { o.keys_path = keys.c_str(); });
  ASSERT_TRUE(s.ok());
  s.set_key("fox_sk_all12345678");
  Fixture f = make_events(s);
  std::string id = f.ev[0]["id"].str();
  s.set_key("fox_sk_events_ro");
  EXPECT_EQ(s.get("/v1/events").status, 200);
  EXPECT_EQ(s.get("/v1/events/" + id).status, 200);
  EXPECT_EQ(s.get("/v1/custom-properties").status, 200);
  EXPECT_EQ(s.post("/v1/events", "{}").status, 403);
  EXPECT_EQ(s.patch("/v1/events/" + id, "{}").status, 403);
  EXPECT_EQ(s.del("/v1/events/" + id).status, 403);
  EXPECT_EQ(s.post("/v1/custom-properties", "{}").status, 403);
  EXPECT_EQ(s.patch("/v1/custom-properties/prop_x", "{}").status, 403);
  EXPECT_EQ(http_get(s.u("/v1/events")).status, 401);
  s.set_key("fox_sk_all12345678");
  EXPECT_EQ(s.del("/v1/custom-properties/prop_x").status, 405) << "the reference has no delete";
  EXPECT_EQ(s.post("/v1/events/" + id, "{}").status, 405);
}

TEST_F(ServerEvents, CustomPropertiesCreateListGetEdit) {
  TestServer s(dir.file("data"));
  ASSERT_TRUE(s.ok());
  HttpResponse r = s.post("/v1/custom-properties",
                          "{\"key\": \"color\", \"label\": \"Color\", \"resourceType\": \"device\", "
                          "\"valueType\": \"enum\", \"values\": [\"red\", \"blue\"]}");
  ASSERT_EQ(r.status, 200) << r.body;
  Json color = parse_json(r);
  EXPECT_EQ(color["id"].str().rfind("prop_", 0), 0u);
  EXPECT_EQ(color["key"].str(), "color");
  EXPECT_EQ(color["label"].str(), "Color");
  EXPECT_EQ(color["resourceType"].str(), "device");
  EXPECT_EQ(color["valueType"].str(), "enum");
  ASSERT_EQ(color["values"].size(), 2u);
  EXPECT_EQ(color["values"][1].str(), "blue");
  const std::string e32 = [] {
    std::string x;
    for (int i = 0; i < 32; i++) x += "\xc3\xa9";
    return x;
  }();
  for (const std::string &ok :
       {std::string("{\"key\": \"weight\", \"label\": \"Weight\", \"resourceType\": \"device\", "
                    "\"valueType\": \"number\"}"),
        std::string("{\"key\": \"active\", \"label\": \"A\", \"resourceType\": \"device\", "
                    "\"valueType\": \"boolean\"}"),
        "{\"key\": \"site_A-1\", \"label\": " + jstr(e32) +
            ", \"resourceType\": \"device\", \"valueType\": \"string\"}"}) {
    HttpResponse c = s.post("/v1/custom-properties", ok);
    EXPECT_EQ(c.status, 200) << ok << " " << c.body;
  }
  struct Case {
    std::string body;
    int status;
  } bad[] = {
      {"{\"key\": \"color\", \"label\": \"C\", \"resourceType\": \"device\", \"valueType\": "
       "\"string\"}",
       409},
      {"{\"key\": \"a b\", \"label\": \"C\", \"resourceType\": \"device\", \"valueType\": \"string\"}",
       400},
      {"{\"key\": " + jstr(std::string(33, 'k')) +
           ", \"label\": \"C\", \"resourceType\": \"device\", \"valueType\": \"string\"}",
       400},
      {"{\"key\": \"k\", \"label\": \"\", \"resourceType\": \"device\", \"valueType\": \"string\"}",
       400},
      {"{\"key\": \"k\", \"label\": " + jstr(e32 + "x") +
           ", \"resourceType\": \"device\", \"valueType\": \"string\"}",
       400},
      {"{\"key\": \"k\", \"label\": \"C\", \"resourceType\": \"robot\", \"valueType\": \"string\"}",
       400},
      {"{\"key\": \"k\", \"label\": \"C\", \"resourceType\": \"device\", \"valueType\": \"int\"}",
       400},
      {"{\"key\": \"k\", \"label\": \"C\", \"resourceType\": \"device\", \"valueType\": \"enum\"}",
       400},
      {"{\"key\": \"k\", \"label\": \"C\", \"resourceType\": \"device\", \"valueType\": \"string\", "
       "\"values\": [\"a\"]}",
       400},
      {"{\"key\": \"k\", \"label\": \"C\", \"resourceType\": \"device\", \"valueType\": \"enum\", "
       "\"values\": [\"a\", \"a\"]}",
       400},
      {"{\"key\": \"k\", \"label\": \"C\", \"resourceType\": \"device\", \"valueType\": \"enum\", "
       "\"values\": [1]}",
       400},
      {"{\"key\": \"k\", \"label\": \"C\", \"resourceType\": \"device\", \"valueType\": \"enum\", "
       "\"values\": []}",
       400},
      {"{\"label\": \"C\", \"resourceType\": \"device\", \"valueType\": \"string\"}", 400},
      {"{\"key\": \"k\", \"label\": \"C\", \"resourceType\": \"device\", \"valueType\": \"string\", "
       "\"id\": \"x\"}",
       400},
  };
  for (const Case &c : bad) {
    HttpResponse b = s.post("/v1/custom-properties", c.body);
    EXPECT_EQ(b.status, c.status) << c.body << " " << b.body;
    EXPECT_FALSE(error_of(b).empty());
  }
  Json all = parse_json(s.get("/v1/custom-properties"));
  ASSERT_EQ(all.size(), 4u);
  EXPECT_EQ(all[0]["key"].str(), "color");
  EXPECT_EQ(all[3]["key"].str(), "site_A-1");
  EXPECT_EQ(all[3]["label"].str(), e32);
  EXPECT_FALSE(all[1].has("values"));
  EXPECT_EQ(parse_json(s.get("/v1/custom-properties?resourceType=device")).size(), 4u);
  EXPECT_EQ(s.get("/v1/custom-properties?resourceType=robot").status, 400);
  EXPECT_EQ(s.get("/v1/custom-properties?limit=1").status, 400);
  std::string id = color["id"].str();
  EXPECT_EQ(parse_json(s.get("/v1/custom-properties/" + id))["key"].str(), "color");
  EXPECT_EQ(s.get("/v1/custom-properties/prop_nope").status, 404);
  // edit: label; enum values only grow
  r = s.patch("/v1/custom-properties/" + id,
              "{\"label\": \"Paint\", \"values\": [\"blue\", \"green\", \"red\"]}");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(parse_json(r)["label"].str(), "Paint");
  EXPECT_EQ(parse_json(r)["values"][0].str(), "blue");
  EXPECT_EQ(s.patch("/v1/custom-properties/" + id, "{\"values\": [\"red\"]}").status, 400);
  EXPECT_EQ(s.patch("/v1/custom-properties/" + id, "{\"key\": \"paint\"}").status, 400);
  EXPECT_EQ(s.patch("/v1/custom-properties/" + id, "{\"label\": \"\"}").status, 400);
  EXPECT_EQ(s.patch("/v1/custom-properties/" + all[1]["id"].str(), "{\"values\": [\"x\"]}").status,
            400);
  EXPECT_EQ(s.patch("/v1/custom-properties/prop_nope", "{\"label\": \"x\"}").status, 404);
  Json got = parse_json(s.get("/v1/custom-properties/" + id));
  EXPECT_EQ(got["label"].str(), "Paint");
  EXPECT_EQ(got["values"].size(), 3u);
}

TEST_F(ServerEvents, DevicePropertiesAreValidatedAgainstCustomProperties) {
  std::string data = dir.file("data");
  {
    TestServer s(data);
    ASSERT_TRUE(s.ok());
    // no custom property defined: any key of the key pattern, as before
    EXPECT_EQ(s.post("/v1/devices", "{\"name\": \"free\", \"properties\": {\"any\": 1}}").status,
              200);
    EXPECT_EQ(s.post("/v1/devices", "{\"name\": \"x\", \"properties\": {\"a b\": 1}}").status, 400);
    EXPECT_EQ(s.post("/v1/devices", "{\"name\": \"x\", \"properties\": {\"a.b\": 1}}").status, 400);
    for (const char *def :
         {"{\"key\": \"color\", \"label\": \"C\", \"resourceType\": \"device\", \"valueType\": "
          "\"enum\", \"values\": [\"red\", \"blue\"]}",
          "{\"key\": \"weight\", \"label\": \"W\", \"resourceType\": \"device\", \"valueType\": "
          "\"number\"}",
          "{\"key\": \"active\", \"label\": \"A\", \"resourceType\": \"device\", \"valueType\": "
          "\"boolean\"}",
          "{\"key\": \"site\", \"label\": \"S\", \"resourceType\": \"device\", \"valueType\": "
          "\"string\"}"})
      ASSERT_EQ(s.post("/v1/custom-properties", def).status, 200) << def;
  }
  std::string keys = data + "/keys.json";
  TestServer s(data, [&](pl_server_options &o) { o.keys_path = keys.c_str(); });
  ASSERT_TRUE(s.ok());
  s.set_key(Json::parse(read_file_or_throw(keys))["keys"][0]["token"].str());
  EXPECT_EQ(parse_json(s.get("/v1/custom-properties")).size(), 4u) << "definitions persist";
  HttpResponse ok = s.post("/v1/devices",
                           "{\"name\": \"r1\", \"properties\": {\"color\": \"red\", \"weight\": "
                           "2.5, \"active\": true, \"site\": \"lab\"}}");
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(parse_json(ok)["properties"]["color"].str(), "red");
  struct Case {
    const char *props;
    const char *words;
  } bad[] = {
      {"{\"color\": \"pink\"}", "color"},   {"{\"color\": 1}", "color"},
      {"{\"weight\": \"heavy\"}", "number"}, {"{\"active\": \"yes\"}", "boolean"},
      {"{\"site\": 3}", "string"},          {"{\"any\": 1}", "not a custom property"},
  };
  for (const Case &c : bad) {
    HttpResponse r = s.post("/v1/devices", std::string("{\"name\": \"r2\", \"properties\": ") +
                                               c.props + "}");
    EXPECT_EQ(r.status, 400) << c.props << " " << r.body;
    EXPECT_NE(error_of(r).find(c.words), std::string::npos) << c.props << " " << r.body;
    HttpResponse p = s.patch("/v1/devices/r1", std::string("{\"properties\": ") + c.props + "}");
    EXPECT_EQ(p.status, 400) << c.props << " " << p.body;
  }
  EXPECT_EQ(s.get("/v1/devices/r2").status, 404);
  Json r1 = parse_json(s.get("/v1/devices/r1"));
  EXPECT_EQ(r1["properties"]["color"].str(), "red") << "refused PATCHes changed nothing";
  // null unsets; a valid change is taken
  HttpResponse p = s.patch("/v1/devices/r1", "{\"properties\": {\"color\": null, \"weight\": 3}}");
  ASSERT_EQ(p.status, 200) << p.body;
  EXPECT_FALSE(parse_json(p)["properties"].has("color"));
  EXPECT_EQ(parse_json(p)["properties"]["weight"].num(), 3);
  // a device kept from before the definitions is still served as it is
  EXPECT_EQ(parse_json(s.get("/v1/devices/free"))["properties"]["any"].num(), 1);
}

// What the official Python client (foxglove-data-platform, foxglove_data_platform/client.py)
// sends for create_event, get_events and delete_event, byte for byte in its shapes:
// requests with "Content-type: application/json" on every call, bodies from json.dumps
// (", " and ": " separators), times from datetime.astimezone().isoformat() (the local
// offset, microseconds only when non-zero), sort_by camelized; and what it reads back
// (_event_dict: id, deviceId, start, end, metadata, createdAt, updatedAt).
TEST_F(ServerEvents, OfficialPythonClientEventCalls) {
  TestServer s(dir.file("data"));
  ASSERT_TRUE(s.ok());
  auto py = [&](const std::string &method, const std::string &path, const std::string &json) {
    HttpRequest r;
    r.method = method;
    r.url = s.u(path);
    r.body = json;
    r.headers = {{"Authorization", "Bearer " + s.key()}, {"Content-type", "application/json"},
                 {"User-Agent", "python-requests/2.31.0"}};
    return http_do(r);
  };
  std::string dev = parse_json(py("POST", "/v1/devices", "{\"name\": \"py-bot\"}"))["id"].str();
  ASSERT_FALSE(dev.empty());
  // client.create_event(device_id=dev, start=..., end=None, metadata={...}); end = start
  HttpResponse c1 = py("POST", "/v1/events",
                       "{\"deviceId\": " + jstr(dev) +
                           ", \"start\": \"2024-01-01T01:00:00.250000+01:00\", \"end\": "
                           "\"2024-01-01T01:00:00.250000+01:00\", \"metadata\": {\"kind\": "
                           "\"estop\", \"who\": \"py\"}}");
  ASSERT_EQ(c1.status, 200) << c1.body;
  // the default metadata {} and a time without microseconds in another offset
  HttpResponse c2 = py("POST", "/v1/events",
                       "{\"deviceId\": " + jstr(dev) +
                           ", \"start\": \"2023-12-31T19:00:05-05:00\", \"end\": "
                           "\"2023-12-31T19:00:09-05:00\", \"metadata\": {}}");
  ASSERT_EQ(c2.status, 200) << c2.body;
  // metadata=None is sent as null
  HttpResponse c3 = py("POST", "/v1/events",
                       "{\"deviceId\": " + jstr(dev) +
                           ", \"start\": \"2024-01-01T05:30:10+05:30\", \"end\": "
                           "\"2024-01-01T05:30:10+05:30\", \"metadata\": null}");
  ASSERT_EQ(c3.status, 200) << c3.body;
  for (const HttpResponse *r : {&c1, &c2, &c3}) {
    Json e = parse_json(*r);
    for (const char *f : {"id", "deviceId", "start", "end", "createdAt", "updatedAt"}) {
      ASSERT_TRUE(e.has(f)) << f << " " << r->body;
      uint64_t ns;
      if (strcmp(f, "id") && strcmp(f, "deviceId")) {
        EXPECT_EQ(pl_parse_time(e[f].str().c_str(), &ns), PL_OK) << e[f].str();
      }
    }
    EXPECT_EQ(e["metadata"].type(), Json::kObject);
    EXPECT_EQ(e["deviceId"].str(), dev);
  }
  Json e1 = parse_json(c1);
  EXPECT_EQ(e1["start"].str(), "2024-01-01T00:00:00.250000000Z");
  EXPECT_EQ(e1["end"].str(), e1["start"].str());
  EXPECT_EQ(parse_json(c2)["start"].str(), "2024-01-01T00:00:05.000000000Z");
  // client.get_events(device_id=dev, sort_by="start", sort_order="desc", limit=10, offset=0,
  //                   start=..., end=..., query="kind:estop")
  HttpResponse l = py("GET",
                      "/v1/events?deviceId=" + dev +
                          "&sortBy=start&sortOrder=desc&limit=10&offset=0&start=" +
                          url_encode("2024-01-01T00:59:59.999999+01:00") + "&end=" +
                          url_encode("2023-12-31T19:00:10-05:00") + "&query=" +
                          url_encode("kind:estop"),
                      "");
  ASSERT_EQ(l.status, 200) << l.body;
  Json lj = parse_json(l);
  ASSERT_EQ(lj.size(), 1u);
  EXPECT_EQ(lj[0]["id"].str(), e1["id"].str());
  EXPECT_EQ(lj[0]["metadata"]["who"].str(), "py");
  // sort_by="device_id" and "created_at" are camelized; every event of the range, by start
  Json all = parse_json(py("GET", "/v1/events?deviceId=" + dev + "&sortBy=start", ""));
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0]["id"].str(), e1["id"].str());
  EXPECT_EQ(py("GET", "/v1/events?sortBy=deviceId", "").status, 200);
  EXPECT_EQ(parse_json(py("GET", "/v1/events?sortBy=createdAt&sortOrder=asc", ""))[0]["id"].str(),
            e1["id"].str());
  // client.delete_event(event_id=...): DELETE with the JSON content type and no body
  HttpResponse d = py("DELETE", "/v1/events/" + e1["id"].str(), "");
  ASSERT_EQ(d.status, 200) << d.body;
  EXPECT_EQ(parse_json(d)["id"].str(), e1["id"].str());
  EXPECT_EQ(parse_json(py("GET", "/v1/events?deviceId=" + dev, "")).size(), 2u);
  // an error reaches json_or_raise as {"error": ...}
  HttpResponse gone = py("DELETE", "/v1/events/" + e1["id"].str(), "");
  EXPECT_EQ(gone.status, 404);
  EXPECT_FALSE(error_of(gone).empty());
}

}  // namespace
}  // namespace mcapkit_test
