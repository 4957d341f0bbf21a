// test_server_clients.cc - the official clients' request shapes work unchanged
// against the local site: what the Foxglove Python client (foxglove-python,
// requests) and the foxglove CLI (foxglove-cli, Go net/http + ajg/form) send:
// deprecated device.id / device.name forms, local-offset times, includeSchemas
// as "true"/"false", JSON bodies with a trailing newline, "topics": null,
// chunked PUT uploads, the API key sent along to signed links, downloads that
// do not follow redirects. Also 'mcapkit serve' as a process: first line,
// SIGTERM.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "test_server_util.h"

namespace mcapkit_test {
namespace {

std::string fmt_time(uint64_t ns) {
  char b[40];
  pl_format_time(ns, b);
  return b;
}

// ns as a local-offset time like Python's datetime.astimezone().isoformat():
// "2026-01-01T01:00:00.123456+01:00" (microseconds, or none when zero).
std::string python_iso(uint64_t ns, int offset_min, bool micros = true) {
  time_t secs = static_cast<time_t>(ns / 1000000000u) + offset_min * 60;
  struct tm tm;
  gmtime_r(&secs, &tm);
  char b[64];
  int n = static_cast<int>(strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%S", &tm));
  if (micros) n += snprintf(b + n, sizeof b - n, ".%06u", static_cast<unsigned>(ns % 1000000000u / 1000));
  snprintf(b + n, sizeof b - n, "%c%02d:%02d", offset_min < 0 ? '-' : '+', abs(offset_min) / 60,
           abs(offset_min) % 60);
  return b;
}

class ServerClients : public ::testing::Test {
 protected:
  void SetUp() override {
    srv.reset(new TestServer(dir.file("data")));
    ASSERT_TRUE(srv->ok());
    file = dir.file("c.mcap");
    write_synth(file, 31, 20, PL_SYNTH_TINY, 1);
    pl_error_info err;
    pl_index_options o{};
    o.tolerance_s = -1;
    ASSERT_EQ(pl_index_file(file.c_str(), &o, &ix, &err), PL_OK);
  }
  void TearDown() override {
    pl_recording_index_free(ix);
    srv.reset();
  }
  // Python requests.Session: Authorization and "Content-type: application/json" on everything
  HttpResponse py(const std::string &method, const std::string &url, const std::string &json = "") {
    HttpRequest r;
    r.method = method;
    r.url = url;
    r.body = json;
    r.headers = {{"Authorization", "Bearer " + srv->key()}, {"Content-type", "application/json"},
                 {"User-Agent", "python-requests/2.31.0"}};
    return http_do(r);
  }
  // Go: json.Encoder adds a newline; the custom transport adds the key
  HttpResponse go(const std::string &method, const std::string &url, const std::string &json = "") {
    HttpRequest r;
    r.method = method;
    r.url = url;
    r.body = json.empty() ? "" : json + "\n";
    r.headers = {{"Authorization", "Bearer " + srv->key()}, {"User-Agent", "foxglove-cli/1.0"}};
    if (!json.empty()) r.headers.push_back({"Content-Type", "application/json"});
    return http_do(r);
  }
  TempDir dir;
  std::unique_ptr<TestServer> srv;
  std::string file;
  pl_recording_index *ix = nullptr;
};

TEST_F(ServerClients, PythonClientShapes) {
  TestServer &s = *srv;
  // create_device / get_device / update_device
  ASSERT_EQ(py("POST", s.u("/v1/devices"), "{\"name\": \"py-bot\", \"properties\": {\"a\": 1}}")
                .status,
            200);
  EXPECT_EQ(py("GET", s.u("/v1/devices/py-bot")).status, 200);
  EXPECT_EQ(py("PATCH", s.u("/v1/devices/py-bot"), "{\"properties\": {\"a\": 2}}").status, 200);
  // upload_data: link, then PUT through the same session (key and JSON content type sent
  // along, content type overridden by the call)
  HttpResponse link = py("POST", s.u("/v1/data/upload"),
                         "{\"deviceName\": \"py-bot\", \"filename\": \"c.mcap\", \"key\": \"py-1\"}");
  ASSERT_EQ(link.status, 200) << link.body;
  HttpRequest put;
  put.method = "PUT";
  put.url = parse_json(link)["link"].str();
  put.body = read_file_or_throw(file);
  put.headers = {{"Authorization", "Bearer " + s.key()},
                 {"Content-Type", "application/octet-stream"}};
  ASSERT_EQ(http_do(put).status, 200);
  ASSERT_TRUE(s.wait_imports());
  // get_recordings with camelized sortBy and dotted site filters
  Json recs = parse_json(py("GET", s.u("/v1/recordings?deviceName=py-bot&sortBy=createdAt"
                                       "&sortOrder=asc&limit=10&offset=0&importStatus=complete")));
  ASSERT_EQ(recs.size(), 1u);
  std::string rec_id = recs[0]["id"].str(), site = recs[0]["site"]["id"].str();
  EXPECT_EQ(parse_json(py("GET", s.u("/v1/recordings?site.id=" + site))).size(), 1u);
  // local-offset times, with and without microseconds, as requests encodes them
  for (int off : {60, -420, 330, 0}) {
    std::string start = url_encode(python_iso(ix->start - 1000000000ull, off));
    std::string end = url_encode(python_iso(ix->end + 1000000000ull, off, false));
    HttpResponse r = py("GET", s.u("/v1/recordings?start=" + start + "&end=" + end));
    ASSERT_EQ(r.status, 200) << python_iso(ix->start, off) << " " << r.body;
    EXPECT_EQ(parse_json(r).size(), 1u) << off;
    // get_topics always sends start, end and includeSchemas as "true"/"false"
    Json t = parse_json(py("GET", s.u("/v1/data/topics?deviceName=py-bot&start=" + start +
                                      "&end=" + end + "&includeSchemas=false")));
    EXPECT_EQ(t.size(), ix->n_topics);
    EXPECT_FALSE(t[0].has("schema"));
    t = parse_json(py("GET", s.u("/v1/data/topics?deviceName=py-bot&start=" + start + "&end=" +
                                 end + "&includeSchemas=true")));
    EXPECT_TRUE(t[0].has("schema"));
    // get_coverage: deviceName, integer tolerance
    Json c = parse_json(py("GET", s.u("/v1/data/coverage?deviceName=py-bot&tolerance=30&start=" +
                                      start + "&end=" + end)));
    EXPECT_GE(c.size(), 1u);
  }
  // get_attachments with sortBy=logTime; download_attachment follows the 302 keeping its key
  Json atts = parse_json(py("GET", s.u("/v1/recording-attachments?recordingId=" + rec_id +
                                       "&sortBy=logTime&sortOrder=desc")));
  ASSERT_EQ(atts.size(), 1u);
  HttpResponse red = py("GET", s.u("/v1/recording-attachments/" + atts[0]["id"].str() + "/download"));
  ASSERT_EQ(red.status, 302);  // allow_redirects=False sees the redirect itself
  HttpResponse bytes = py("GET", red.header("location"));
  EXPECT_EQ(bytes.status, 200);
  EXPECT_EQ(bytes.body.size(), atts[0]["size"].u64());
  // download_recording_data (by id and by key) and _make_stream_link (device, local times, [])
  for (const std::string &body : std::vector<std::string>{
           "{\"recordingId\": " + jstr(rec_id) +
            ", \"includeAttachments\": false, \"outputFormat\": \"mcap\"}",
        "{\"key\": \"py-1\", \"includeAttachments\": true, \"outputFormat\": \"mcap0\"}",
        "{\"deviceName\": \"py-bot\", \"end\": " + jstr(python_iso(ix->end, 120)) +
            ", \"outputFormat\": \"mcap\", \"start\": " + jstr(python_iso(ix->start, 120)) +
            ", \"topics\": []}",
        "{\"deviceName\": \"py-bot\", \"end\": " + jstr(python_iso(ix->end, 0)) +
            ", \"outputFormat\": \"mcap\", \"start\": " + jstr(python_iso(ix->start, 0)) +
            ", \"topics\": [], \"compressionFormat\": \"lz4\"}"}) {
    HttpResponse l = py("POST", s.u("/v1/data/stream"), body);
    ASSERT_EQ(l.status, 200) << body << " " << l.body;
    HttpResponse data = py("GET", parse_json(l)["link"].str());
    EXPECT_EQ(data.status, 200);
    EXPECT_TRUE(data.complete);
    EXPECT_EQ(data.body.compare(0, 8, std::string(MCAP_MAGIC, 8)), 0) << body;
  }
  // delete_recording, delete_device
  EXPECT_EQ(py("DELETE", s.u("/v1/recordings/" + rec_id)).status, 200);
  EXPECT_EQ(py("DELETE", s.u("/v1/devices/py-bot")).status, 200);
}

TEST_F(ServerClients, FoxgloveCliShapes) {
  TestServer &s = *srv;
  // devices add / list ("?" with nothing after it)
  HttpResponse d = go("POST", s.u("/v1/devices"), "{\"name\":\"go-bot\"}");
  ASSERT_EQ(d.status, 200) << d.body;
  std::string dev_id = parse_json(d)["id"].str();
  EXPECT_EQ(go("GET", s.u("/v1/devices?")).status, 200);
  // devices edit: "name" is always in the body, empty when not renaming
  EXPECT_EQ(go("PATCH", s.u("/v1/devices/go-bot?"),
               "{\"name\":\"\",\"properties\":{\"color\":\"blue\"}}")
                .status,
            200);
  // data import: deprecated dotted device fields; the PUT goes out chunked without the key
  HttpResponse link = go("POST", s.u("/v1/data/upload"),
                         "{\"filename\":\"c.mcap\",\"key\":\"go-1\",\"device.id\":" + jstr(dev_id) +
                             "}");
  ASSERT_EQ(link.status, 200) << link.body;
  HttpRequest put;
  put.method = "PUT";
  put.url = parse_json(link)["link"].str();
  put.body = read_file_or_throw(file);
  put.send_body_chunked = true;
  put.headers = {{"Content-Type", "application/octet-stream"}};
  ASSERT_EQ(http_do(put).status, 200);
  ASSERT_TRUE(s.wait_imports());
  // pending-imports with the dotted device forms and booleans
  Json pend = parse_json(go("GET", s.u("/v1/data/pending-imports?device.id=" + dev_id +
                                       "&showCompleted=true&showQuarantined=true")));
  ASSERT_EQ(pend.size(), 1u);
  EXPECT_EQ(pend[0]["status"].str(), "complete");
  EXPECT_EQ(parse_json(go("GET", s.u("/v1/data/pending-imports?device.name=go-bot&showCompleted=true")))
                .size(),
            1u);
  // recordings list with device.id / device.name and RFC 3339 (Go RFC3339Nano) local times
  std::string rec_id = pend[0]["importId"].str();
  EXPECT_EQ(parse_json(go("GET", s.u("/v1/recordings?device.id=" + dev_id))).size(), 1u);
  EXPECT_EQ(parse_json(go("GET", s.u("/v1/recordings?device.name=go-bot&start=" +
                                     url_encode(python_iso(ix->start, -300)))))
                .size(),
            1u);
  // deviceId wins over device.id
  EXPECT_EQ(parse_json(go("GET", s.u("/v1/recordings?deviceId=dev_other&device.id=" + dev_id)))
                .size(),
            0u);
  // coverage with device.name and includeEdgeRecordings
  Json cov = parse_json(go("GET", s.u("/v1/data/coverage?device.name=go-bot&includeEdgeRecordings="
                                      "true&start=" +
                                      url_encode(fmt_time(ix->start)) + "&end=" +
                                      url_encode(fmt_time(ix->end)))));
  EXPECT_GE(cov.size(), 1u);
  // topics with includeSchemas=true and recordingKey
  Json topics = parse_json(go("GET", s.u("/v1/data/topics?recordingKey=go-1&includeSchemas=true")));
  EXPECT_EQ(topics.size(), ix->n_topics);
  // attachments list and the raw download (the CLI reads the body it is given)
  Json atts = parse_json(go("GET", s.u("/v1/recording-attachments?recordingId=" + rec_id)));
  ASSERT_EQ(atts.size(), 1u);
  // export: outputFormat always present, topics null, dotted device and Go times
  for (const std::string &body : std::vector<std::string>{
           "{\"recordingId\":" + jstr(rec_id) + ",\"outputFormat\":\"mcap0\",\"topics\":null}",
        "{\"key\":\"go-1\",\"outputFormat\":\"\",\"includeAttachments\":true,\"topics\":null}",
        "{\"device.id\":" + jstr(dev_id) + ",\"start\":" + jstr(python_iso(ix->start, 60)) +
            ",\"end\":" + jstr(python_iso(ix->end, 60)) +
            ",\"outputFormat\":\"mcap0\",\"replayPolicy\":\"lastPerChannel\","
            "\"replayLookbackSeconds\":5,\"topics\":null}",
        "{\"device.name\":\"go-bot\",\"start\":" + jstr(fmt_time(ix->start)) + ",\"end\":" +
            jstr(fmt_time(ix->end)) + ",\"outputFormat\":\"mcap0\",\"topics\":[" +
            jstr(ix->topics[0].topic) + "]}"}) {
    HttpResponse l = go("POST", s.u("/v1/data/stream"), body);
    ASSERT_EQ(l.status, 200) << body << " " << l.body;
    HttpResponse data = http_get(parse_json(l)["link"].str());  // http.Get: no key
    EXPECT_EQ(data.status, 200);
    EXPECT_EQ(data.body.compare(0, 8, std::string(MCAP_MAGIC, 8)), 0);
  }
  // recordings delete; a second delete is a 404 the CLI tolerates
  EXPECT_EQ(go("DELETE", s.u("/v1/recordings/" + rec_id)).status, 200);
  EXPECT_EQ(go("DELETE", s.u("/v1/recordings/" + rec_id)).status, 404);
}

TEST(ServerCli, FirstLineAndGracefulStopOnSigterm) {
  TempDir dir;
  int out[2];
  ASSERT_EQ(pipe(out), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    dup2(out[1], 1);
    close(out[0]);
    close(out[1]);
    int devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, 2);
    std::string bin = mcapkit_path(), data = dir.file("data");
    execl(bin.c_str(), bin.c_str(), "serve", "--data", data.c_str(), "--listen", "127.0.0.1:0",
          "--no-fsync", static_cast<char *>(nullptr));
    _exit(127);
  }
  close(out[1]);
  std::string text;
  char c;
  auto t0 = std::chrono::steady_clock::now();
  while (read(out[0], &c, 1) == 1 && c != '\n') text += c;
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const std::string prefix = "mcapkit serve: listening on http://127.0.0.1:";
  ASSERT_EQ(text.compare(0, prefix.size(), prefix), 0) << text;
  EXPECT_LT(secs, 1.0) << "starts in well under a second";
  std::string url = text.substr(std::string("mcapkit serve: listening on ").size());
  std::string key_line;
  while (read(out[0], &c, 1) == 1 && c != '\n') key_line += c;
  size_t k = key_line.find("fox_sk_");
  ASSERT_NE(k, std::string::npos) << key_line;
  std::string key = key_line.substr(k);
  EXPECT_EQ(http_get(url + "/v1/devices", key).status, 200);
  kill(pid, SIGTERM);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  close(out[0]);
}

}  // namespace
}  // namespace mcapkit_test
