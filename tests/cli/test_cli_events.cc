// test_cli_events.cc - 'mcapkit remote events ...', 'remote custom-properties ...'
// and 'mcapkit events add' against 'mcapkit serve' started by the test on a free
// loopback port: every action with its table and --json output, exit codes 0/1/2,
// events made from a JSON topic, a CDR topic and doctor findings, and a second run
// that creates nothing (the idempotency key in the metadata).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "fake_http.h"
#include "mcap/mcap.h"
#include "run.h"
#include "tmpdir.h"

using namespace mcapkit_test;

namespace {

const std::string kKey = "fox_sk_cli_events_key_7a7a7a7a";

struct Site {
  TempDir tmp;
  std::unique_ptr<ServeProcess> serve;
  std::string key_file;
  Site() {
    serve = std::make_unique<ServeProcess>(tmp.file("data"), std::vector<std::string>{}, kKey);
    key_file = tmp.file("api.key");
    write_file_or_throw(key_file, kKey + "\n");
    chmod(key_file.c_str(), 0600);
  }
  RunResult run(std::vector<std::string> args) const {
    args.push_back("--api-url");
    args.push_back(serve->url());
    args.push_back("--api-key-file");
    args.push_back(key_file);
    return run_mcapkit(args);
  }
  Json events(const std::string &query = "") const {
    std::vector<std::string> a = {"remote", "events", "list", "--json"};
    if (!query.empty()) {
      a.push_back("--query");
      a.push_back(query);
    }
    RunResult r = run(a);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return Json::parse(r.out);
  }
};

// A file with one schemaless JSON topic "/alerts" holding `docs` (log times 1 s apart),
// and, when `device` is not empty, a "foxglove" Metadata record naming its device.
void write_json_topic(const std::string &path, const std::vector<std::string> &docs,
                      const std::string &device = "") {
  mcap_sink sink;
  mcap_error_info err{};
  ASSERT_EQ(mcap_sink_open_file(&sink, path.c_str(), &err), MCAP_OK) << err.msg;
  mcap_writer_options o;
  mcap_writer_options_init(&o);
  mcap_writer *w = nullptr;
  ASSERT_EQ(mcap_writer_open(&w, &sink, &o), MCAP_OK);
  uint16_t cid = 0;
  ASSERT_EQ(mcap_writer_add_channel(w, 0, mcap_str_c("/alerts"), mcap_str_c("json"), nullptr, 0,
                                    &cid),
            MCAP_OK);
  if (!device.empty()) {
    mcap_kv kv = {mcap_str_c("deviceName"), mcap_str_c(device.c_str())};
    ASSERT_EQ(mcap_writer_write_metadata(w, mcap_str_c("foxglove"), &kv, 1), MCAP_OK);
  }
  uint32_t seq = 0;
  for (const std::string &d : docs) {
    mcap_message m{};
    m.channel_id = cid;
    m.sequence = seq;
    m.log_time = m.publish_time = UINT64_C(1704067200000000000) + seq * UINT64_C(1000000000);
    m.data.data = reinterpret_cast<const uint8_t *>(d.data());
    m.data.len = d.size();
    seq++;
    ASSERT_EQ(mcap_writer_write_message(w, &m), MCAP_OK) << mcap_writer_errmsg(w);
  }
  ASSERT_EQ(mcap_writer_close(w), MCAP_OK) << mcap_writer_errmsg(w);
  mcap_writer_free(w);
  ASSERT_EQ(mcap_sink_commit(&sink, &err), MCAP_OK) << err.msg;
  ASSERT_EQ(mcap_sink_close(&sink, &err), MCAP_OK);
}

}  // namespace

TEST(CliEvents, RemoteEventsEveryAction) {
  Site s;
  ASSERT_TRUE(s.serve->ok()) << s.serve->log();
  ASSERT_EQ(s.run({"remote", "devices", "create", "bot"}).exit_code, 0);
  RunResult c = s.run({"remote", "events", "create", "--device-name", "bot", "--start",
                       "2024-01-01T00:00:00Z", "--end", "2024-01-01T00:00:05Z", "--meta", "kind=estop",
                       "--meta", "note=big red button", "--json"});
  ASSERT_EQ(c.exit_code, 0) << c.out << c.err;
  Json ev = Json::parse(c.out)["event"];
  std::string id = ev["id"].str();
  EXPECT_EQ(ev["end"].str(), "2024-01-01T00:00:05.000000000Z");
  EXPECT_EQ(ev["metadata"]["note"].str(), "big red button");
  EXPECT_EQ(ev["device"]["name"].str(), "bot");
  ASSERT_EQ(s.run({"remote", "events", "create", "--device-name", "bot", "--start", "30s", "--meta",
                   "kind=grasp"})
                .exit_code,
            0);
  Json all = s.events();
  EXPECT_EQ(all["count"].u64(), 2u);
  EXPECT_EQ(s.events("kind:estop")["count"].u64(), 1u);
  EXPECT_EQ(s.events("\"red button\"")["count"].u64(), 1u);
  RunResult table = s.run({"remote", "events", "list", "--start", "2023-12-31T00:00:00Z", "--end",
                           "2024-01-01T00:00:01Z"});
  EXPECT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(table.out.find(id), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("kind=estop"), std::string::npos) << table.out;
  EXPECT_EQ(table.out.find("kind=grasp"), std::string::npos) << "1970 + 30 s is out of range";
  // update replaces the metadata; get shows it
  RunResult u = s.run({"remote", "events", "update", id, "--meta", "kind=cleared"});
  EXPECT_EQ(u.exit_code, 0) << u.err;
  RunResult g = s.run({"remote", "events", "get", id, "--json"});
  ASSERT_EQ(g.exit_code, 0) << g.err;
  Json got = Json::parse(g.out)["event"];
  EXPECT_EQ(got["metadata"].size(), 1u);
  EXPECT_EQ(got["metadata"]["kind"].str(), "cleared");
  EXPECT_EQ(got["start"].str(), "2024-01-01T00:00:00.000000000Z") << "kept";
  RunResult d = s.run({"remote", "events", "delete", id});
  EXPECT_EQ(d.exit_code, 0) << d.err;
  EXPECT_NE(d.out.find(id), std::string::npos);
  EXPECT_EQ(s.events()["count"].u64(), 1u);
  RunResult missing = s.run({"remote", "events", "get", id});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("not found"), std::string::npos) << missing.err;
  // usage errors: 2, before any request
  for (std::vector<std::string> bad :
       {std::vector<std::string>{"remote", "events", "create", "--device-name", "bot"},
        {"remote", "events", "get"},
        {"remote", "events", "create", "--device-name", "bot", "--start", "1s", "--meta", "novalue"},
        {"remote", "events", "list", "--start", "yesterday"}}) {
    RunResult r = s.run(bad);
    EXPECT_EQ(r.exit_code, 2) << bad[2] << " " << r.err;
  }
  // a server-side refusal (unknown device): 1
  EXPECT_EQ(s.run({"remote", "events", "create", "--device-name", "nobody", "--start", "1s"})
                .exit_code,
            1);
}

TEST(CliEvents, RemoteCustomProperties) {
  Site s;
  ASSERT_TRUE(s.serve->ok()) << s.serve->log();
  RunResult c = s.run({"remote", "custom-properties", "create", "color", "--label", "Color",
                       "--value-type", "enum", "--value", "red", "--value", "blue", "--json"});
  ASSERT_EQ(c.exit_code, 0) << c.out << c.err;
  Json p = Json::parse(c.out)["customProperty"];
  EXPECT_EQ(p["key"].str(), "color");
  EXPECT_EQ(p["values"].size(), 2u);
  ASSERT_EQ(s.run({"remote", "custom-properties", "create", "weight", "--label", "Weight",
                   "--value-type", "number"})
                .exit_code,
            0);
  RunResult l = s.run({"remote", "custom-properties", "list", "--json"});
  ASSERT_EQ(l.exit_code, 0) << l.err;
  Json lj = Json::parse(l.out);
  EXPECT_EQ(lj["count"].u64(), 2u);
  EXPECT_EQ(lj["items"][1]["key"].str(), "weight");
  RunResult t = s.run({"remote", "custom-properties", "list", "--resource-type", "device"});
  EXPECT_EQ(t.exit_code, 0) << t.err;
  EXPECT_NE(t.out.find("[red, blue]"), std::string::npos) << t.out;
  RunResult g = s.run({"remote", "custom-properties", "get", p["id"].str(), "--json"});
  EXPECT_EQ(g.exit_code, 0) << g.err;
  EXPECT_EQ(Json::parse(g.out)["customProperty"]["label"].str(), "Color");
  EXPECT_EQ(s.run({"remote", "custom-properties", "create", "color", "--label", "C",
                   "--value-type", "string"})
                .exit_code,
            1)
      << "a second 'color' is a conflict";
  EXPECT_EQ(s.run({"remote", "custom-properties", "create", "x", "--value-type", "string"})
                .exit_code,
            2);
}

TEST(CliEvents, AddFromJsonTopicIsIdempotent) {
  Site s;
  ASSERT_TRUE(s.serve->ok()) << s.serve->log();
  ASSERT_EQ(s.run({"remote", "devices", "create", "bot"}).exit_code, 0);
  std::string f = s.tmp.file("alerts.mcap");
  write_json_topic(f, {"{\"level\":\"warn\",\"text\":\"wheel slip\",\"n\":1,"
                       "\"until\":{\"sec\":1704067210,\"nsec\":5}}",
                       "{\"level\":\"error\",\"text\":\"e-stop\",\"n\":2,"
                       "\"until\":{\"sec\":1704067211,\"nsec\":0}}",
                       "{\"level\":\"warn\",\"text\":\"wheel slip\",\"n\":3,"
                       "\"until\":{\"sec\":1704067212,\"nsec\":0}}"});
  std::vector<std::string> add = {"events",        "add",   f,         "--from-topic", "/alerts",
                                  "--device-name", "bot",   "--end-field", "until",    "--meta",
                                  "run=7",         "--json"};
  RunResult dry = s.run({"events", "add", f, "--from-topic", "/alerts", "--device-name", "bot",
                         "--dry-run", "--json"});
  ASSERT_EQ(dry.exit_code, 0) << dry.err;
  EXPECT_EQ(Json::parse(dry.out)["found"].u64(), 3u);
  EXPECT_EQ(s.events()["count"].u64(), 0u) << "a dry run creates nothing";
  RunResult r = s.run(add);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  Json j = Json::parse(r.out);
  EXPECT_EQ(j["found"].u64(), 3u);
  EXPECT_EQ(j["created"].u64(), 3u);
  EXPECT_EQ(j["existing"].u64(), 0u);
  // the second run creates nothing
  RunResult again = s.run(add);
  ASSERT_EQ(again.exit_code, 0) << again.err;
  Json a = Json::parse(again.out);
  EXPECT_EQ(a["created"].u64(), 0u);
  EXPECT_EQ(a["existing"].u64(), 3u);
  Json all = s.events("level:warn");
  ASSERT_EQ(all["count"].u64(), 2u);
  const Json &e = all["items"][0];
  EXPECT_EQ(e["start"].str(), "2024-01-01T00:00:00.000000000Z");
  EXPECT_EQ(e["end"].str(), "2024-01-01T00:00:10.000000005Z");
  EXPECT_EQ(e["metadata"]["text"].str(), "wheel slip");
  EXPECT_EQ(e["metadata"]["n"].str(), "1");
  EXPECT_EQ(e["metadata"]["topic"].str(), "/alerts");
  EXPECT_EQ(e["metadata"]["run"].str(), "7");
  EXPECT_FALSE(e["metadata"].has("until")) << "structs are left out by default";
  EXPECT_EQ(e["metadata"]["mcapkitEventKey"].str().size(), 32u);
  // chosen fields only
  ASSERT_EQ(s.run({"remote", "devices", "create", "bot2"}).exit_code, 0);
  RunResult sel = s.run({"events", "add", f, "--from-topic", "/alerts", "--device-name", "bot2",
                         "--field", "text", "--field", "until.sec"});
  ASSERT_EQ(sel.exit_code, 0) << sel.err;
  EXPECT_NE(sel.out.find("3 created"), std::string::npos) << sel.out;
  Json b2 = Json::parse(s.run({"remote", "events", "list", "--device-name", "bot2", "--json"}).out);
  ASSERT_EQ(b2["count"].u64(), 3u);
  EXPECT_EQ(b2["items"][0]["metadata"]["until.sec"].str(), "1704067210");
  EXPECT_FALSE(b2["items"][0]["metadata"].has("level"));
  // errors: an unknown topic, a field that is not a time, usage
  RunResult no_topic = s.run({"events", "add", f, "--from-topic", "/nope", "--device-name", "bot"});
  EXPECT_EQ(no_topic.exit_code, 1);
  EXPECT_NE(no_topic.err.find("/nope"), std::string::npos) << no_topic.err;
  RunResult bad_time = s.run({"events", "add", f, "--from-topic", "/alerts", "--device-name",
                              "bot", "--start-field", "text"});
  EXPECT_EQ(bad_time.exit_code, 1);
  EXPECT_NE(bad_time.err.find("not a time"), std::string::npos) << bad_time.err;
  EXPECT_EQ(s.run({"events", "add", f, "--from-topic", "/alerts"}).exit_code, 2) << "no device";
  RunResult too_many = s.run({"events", "add", f, "--from-topic", "/alerts", "--device-name",
                              "bot2", "--max-events", "2", "--meta", "x=y"});
  EXPECT_EQ(too_many.exit_code, 1);
  EXPECT_EQ(s.events()["count"].u64(), 6u) << "a refused file creates nothing";
}

TEST(CliEvents, AddFromCdrTopicAndFromDoctor) {
  Site s;
  ASSERT_TRUE(s.serve->ok()) << s.serve->log();
  ASSERT_EQ(s.run({"remote", "devices", "create", "bot"}).exit_code, 0);
  std::string f = s.tmp.file("tiny.mcap");
  RunResult syn = run_mcapkit({"synth", "-o", f, "--profile", "tiny", "--duration", "1", "--seed",
                               "3"});
  ASSERT_EQ(syn.exit_code, 0) << syn.err;
  // /pose is ROS 2 CDR: the start from header.stamp {sec, nanosec}
  RunResult p = s.run({"events", "add", f, "--from-topic", "/pose", "--device-name", "bot",
                       "--start-field", "header.stamp", "--field", "header.frame_id", "--json"});
  ASSERT_EQ(p.exit_code, 0) << p.err;
  uint64_t n = Json::parse(p.out)["created"].u64();
  EXPECT_GE(n, 5u);
  Json pose = s.events("topic:/pose");
  ASSERT_EQ(pose["count"].u64(), n);
  EXPECT_EQ(pose["items"][0]["metadata"]["header.frame_id"].str(), "map");
  // a damaged copy: one event per doctor finding, once
  std::string bytes = read_file_or_throw(f);
  std::string cut = s.tmp.file("cut.mcap");
  write_file_or_throw(cut, bytes.substr(0, bytes.size() - 100));
  std::vector<std::string> doc = {"events", "add", cut, "--from-doctor", "--device-name", "bot",
                                  "--json"};
  RunResult d = s.run(doc);
  ASSERT_EQ(d.exit_code, 0) << d.err;
  uint64_t found = Json::parse(d.out)["found"].u64();
  EXPECT_GE(found, 1u);
  EXPECT_EQ(Json::parse(d.out)["created"].u64(), found);
  Json de = s.events("source:\"mcapkit doctor\"");
  ASSERT_EQ(de["count"].u64(), found);
  EXPECT_EQ(de["items"][0]["metadata"]["file"].str(), "cut.mcap");
  EXPECT_FALSE(de["items"][0]["metadata"]["code"].str().empty());
  RunResult d2 = s.run(doc);
  ASSERT_EQ(d2.exit_code, 0) << d2.err;
  EXPECT_EQ(Json::parse(d2.out)["created"].u64(), 0u);
  EXPECT_EQ(Json::parse(d2.out)["existing"].u64(), found);
}

TEST(CliEvents, AddFromARecordingOnTheSiteMatchesTheLocalFile) {
  Site s;
  ASSERT_TRUE(s.serve->ok()) << s.serve->log();
  std::string f = s.tmp.file("up.mcap");
  ASSERT_EQ(run_mcapkit({"synth", "-o", f, "--profile", "tiny", "--duration", "1", "--seed", "5"})
                .exit_code,
            0);
  RunResult up = s.run({"upload", f, "--device-name", "rover", "--no-journal", "--json"});
  ASSERT_EQ(up.exit_code, 0) << up.out << up.err;
  std::string key = Json::parse(up.out)["files"][0]["key"].str();
  // a recording key: exported first, the events go to the recording's device
  RunResult r = s.run({"events", "add", "--recording", key, "--from-topic", "/chatter", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  uint64_t n = Json::parse(r.out)["created"].u64();
  EXPECT_GE(n, 4u);
  Json ev = Json::parse(s.run({"remote", "events", "list", "--device-name", "rover", "--json"}).out);
  EXPECT_EQ(ev["count"].u64(), n);
  // the local file gives the same keys: nothing new
  RunResult local = s.run({"events", "add", f, "--from-topic", "/chatter", "--device-name",
                           "rover", "--json"});
  ASSERT_EQ(local.exit_code, 0) << local.err;
  EXPECT_EQ(Json::parse(local.out)["existing"].u64(), n);
  EXPECT_EQ(Json::parse(local.out)["created"].u64(), 0u);
  // an unknown recording
  RunResult nope = s.run({"events", "add", "--recording", "no-such-recording", "--from-doctor"});
  EXPECT_EQ(nope.exit_code, 1);
  EXPECT_NE(nope.err.find("not found"), std::string::npos) << nope.err;
}

// upload --events-from-topic: after the import, the topic's events on the device the
// recording went to (here named by the file's "foxglove" metadata, so looked up from the
// recording); uploading again creates none; --no-wait cannot make them.
TEST(CliEvents, UploadEventsFromTopicAfterTheImportOnce) {
  Site s;
  ASSERT_TRUE(s.serve->ok()) << s.serve->log();
  std::string f = s.tmp.file("run.mcap");
  write_json_topic(f, {"{\"level\":\"warn\",\"text\":\"slip\"}",
                       "{\"level\":\"error\",\"text\":\"e-stop\"}"},
                   "rover-3");
  std::string journal = s.tmp.file("journal");
  std::vector<std::string> up = {"upload", f, "--events-from-topic", "/alerts", "--journal",
                                 journal, "--json"};
  RunResult r = s.run(up);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  Json j = Json::parse(r.out);
  ASSERT_EQ(j["files"].size(), 1u);
  EXPECT_EQ(j["files"][0]["events"]["found"].u64(), 2u) << r.out;
  EXPECT_EQ(j["files"][0]["events"]["created"].u64(), 2u) << r.out;
  Json ev = s.events();
  ASSERT_EQ(ev["count"].u64(), 2u);
  for (size_t i = 0; i < 2; i++) EXPECT_EQ(ev["items"][i]["device"]["name"].str(), "rover-3");
  RunResult again = s.run(up);  // the journal skips the upload; the events are looked up
  ASSERT_EQ(again.exit_code, 0) << again.out << again.err;
  Json ja = Json::parse(again.out);
  EXPECT_EQ(ja["files"][0]["status"].str(), "skipped");
  EXPECT_EQ(ja["files"][0]["events"]["existing"].u64(), 2u) << again.out;
  EXPECT_EQ(ja["files"][0]["events"]["created"].u64(), 0u) << again.out;
  EXPECT_EQ(s.events()["count"].u64(), 2u);
  RunResult no_wait = s.run({"upload", f, "--events-from-topic", "/alerts", "--no-wait"});
  EXPECT_EQ(no_wait.exit_code, 2) << no_wait.err;
}
