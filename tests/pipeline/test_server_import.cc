// test_server_import.cc - the local site's import path end to end: upload ->
// import -> recording complete with topics, attachments, coverage and lake
// files equal to pl_index_file / pl_lake_write of the same file; broken uploads
// quarantined with their error; key de-duplication and conflicts; device from
// the file's metadata; delete; restart with imports in flight; export equal to
// the original message stream.
#include <gtest/gtest.h>

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "test_server_util.h"

namespace mcapkit_test {
namespace {

std::string b64decode(const std::string &in) {
  std::string out;
  unsigned val = 0;
  int bits = -8;
  for (unsigned char c : in) {
    int d;
    if (c >= 'A' && c <= 'Z') d = c - 'A';
    else if (c >= 'a' && c <= 'z') d = c - 'a' + 26;
    else if (c >= '0' && c <= '9') d = c - '0' + 52;
    else if (c == '+') d = 62;
    else if (c == '/') d = 63;
    else break;
    val = ((val << 6) | static_cast<unsigned>(d)) & 0xffffffu;
    bits += 6;
    if (bits >= 0) {
      out += static_cast<char>((val >> bits) & 0xff);
      bits -= 8;
    }
  }
  return out;
}

std::string fmt_time(uint64_t ns) {
  char b[40];
  pl_format_time(ns, b);
  return b;
}

struct Index {
  pl_recording_index *ix = nullptr;
  explicit Index(const std::string &path) {
    pl_error_info err;
    pl_index_options o{};
    o.tolerance_s = -1;
    EXPECT_EQ(pl_index_file(path.c_str(), &o, &ix, &err), PL_OK) << err.msg;
  }
  ~Index() { pl_recording_index_free(ix); }
};

// Per topic: sorted (log_time, hash of data) of every message.
using Digest = std::map<std::string, std::vector<std::pair<uint64_t, size_t>>>;

Digest digest_of(const std::string &bytes, std::vector<std::string> *attachment_names = nullptr) {
  Digest d;
  mcap_source src;
  mcap_source_from_memory(&src, bytes.data(), bytes.size());
  mcap_reader *r = nullptr;
  mcap_error_info err;
  if (mcap_reader_open(&r, &src, nullptr, &err) != MCAP_OK) {
    ADD_FAILURE() << "not a readable MCAP: " << err.msg;
    return d;
  }
  mcap_query q{};
  q.order = MCAP_ORDER_LOG_TIME;
  mcap_message_iter *it = nullptr;
  EXPECT_EQ(mcap_reader_query(r, &q, &it), MCAP_OK);
  mcap_message_view v;
  while (it && mcap_message_iter_next(it, &v) == MCAP_OK) {
    std::string topic(v.channel->topic.data, v.channel->topic.len);
    std::string data(reinterpret_cast<const char *>(v.message.data.data), v.message.data.len);
    d[topic].push_back({v.message.log_time, std::hash<std::string>()(data)});
  }
  mcap_message_iter_free(it);
  if (attachment_names)
    for (size_t i = 0; i < mcap_reader_attachment_count(r); i++) {
      const mcap_attachment_index *ai = mcap_reader_attachment_at(r, i);
      attachment_names->push_back(std::string(ai->name.data, ai->name.len));
    }
  mcap_reader_free(r);
  for (auto &kv : d) std::sort(kv.second.begin(), kv.second.end());
  return d;
}

class ServerImport : public ::testing::Test {
 protected:
  TempDir dir;
};

TEST_F(ServerImport, UploadImportsToACompleteRecordingMatchingTheLocalPipeline) {
  std::string file = dir.file("run.mcap");
  write_synth(file, 7, 40, PL_SYNTH_TINY, 2);
  std::string content = read_file_or_throw(file);
  Index ix(file);
  ASSERT_NE(ix.ix, nullptr);
  TestServer s(dir.file("data"));
  ASSERT_TRUE(s.ok());
  std::string rid = upload(s, "{\"filename\": \"run.mcap\", \"deviceName\": \"robot-a\", "
                              "\"key\": \"run-1\"}",
                           content);
  ASSERT_FALSE(rid.empty());
  ASSERT_TRUE(s.wait_imports());
  Json imp = pending_import(s, rid);
  ASSERT_EQ(imp["status"].str(), "complete") << imp["error"].is_null();
  std::string rec_id = imp["importId"].str();
  EXPECT_EQ(imp["filename"].str(), "run.mcap");
  EXPECT_EQ(imp["deviceName"].str(), "robot-a");
  for (const char *f : {"createdAt", "updatedAt", "orgId", "pipelineStage", "siteId", "requestId"})
    EXPECT_TRUE(imp.has(f)) << f;
  // completed imports are hidden by default
  EXPECT_EQ(parse_json(s.get("/v1/data/pending-imports?requestId=" + rid)).size(), 0u);
  // the inbox is empty again
  struct stat sb;
  EXPECT_NE(stat(dir.file("data/inbox/" + rid + ".mcap").c_str(), &sb), 0);
  // and nothing is left in the lake's staging area, not even a lock file (#15 item 9)
  if (DIR *d = opendir(dir.file("data/lake/tmp").c_str())) {
    while (dirent *e = readdir(d))
      if (std::string(e->d_name) != "." && std::string(e->d_name) != "..")
        ADD_FAILURE() << "left in lake/tmp: " << e->d_name;
    closedir(d);
  }

  // the recording, by id and by key
  Json rec = parse_json(s.get("/v1/recordings/" + rec_id));
  EXPECT_EQ(parse_json(s.get("/v1/recordings/run-1"))["id"].str(), rec_id);
  EXPECT_EQ(rec["importStatus"].str(), "complete");
  EXPECT_EQ(rec["path"].str(), "run.mcap");
  EXPECT_EQ(rec["size"].u64(), content.size());
  EXPECT_EQ(rec["key"].str(), "run-1");
  EXPECT_EQ(rec["device"]["name"].str(), "robot-a");
  EXPECT_EQ(rec["start"].str(), fmt_time(ix.ix->start));
  EXPECT_EQ(rec["end"].str(), fmt_time(ix.ix->end));
  EXPECT_EQ(rec["messageCount"].u64(), ix.ix->message_count);
  EXPECT_TRUE(rec.has("createdAt"));
  EXPECT_TRUE(rec.has("importedAt"));
  std::string site = rec["site"]["id"].str();
  ASSERT_EQ(rec["metadata"].size(), ix.ix->n_metadata);
  for (size_t i = 0; i < ix.ix->n_metadata; i++) {
    EXPECT_EQ(rec["metadata"][i]["name"].str(), ix.ix->metadata[i].name);
    for (size_t k = 0; k < ix.ix->metadata[i].n_entries; k++)
      EXPECT_EQ(rec["metadata"][i]["metadata"][ix.ix->metadata[i].entries[k].key].str(),
                ix.ix->metadata[i].entries[k].value);
  }
  // listed with filters
  EXPECT_EQ(parse_json(s.get("/v1/recordings?deviceName=robot-a")).size(), 1u);
  EXPECT_EQ(parse_json(s.get("/v1/recordings?device.name=robot-a")).size(), 1u);
  EXPECT_EQ(parse_json(s.get("/v1/recordings?deviceName=other")).size(), 0u);
  EXPECT_EQ(parse_json(s.get("/v1/recordings?importStatus=complete")).size(), 1u);
  EXPECT_EQ(parse_json(s.get("/v1/recordings?importStatus=failed")).size(), 0u);
  EXPECT_EQ(parse_json(s.get("/v1/recordings?path=run.mcap")).size(), 1u);
  EXPECT_EQ(parse_json(s.get("/v1/recordings?topic=" + url_encode(ix.ix->topics[0].topic))).size(),
            1u);
  EXPECT_EQ(parse_json(s.get("/v1/recordings?topic=/nope")).size(), 0u);
  EXPECT_EQ(parse_json(s.get("/v1/recordings?start=" + url_encode(fmt_time(ix.ix->end + 1)))).size(),
            0u);
  EXPECT_EQ(parse_json(s.get("/v1/recordings?end=" + url_encode(fmt_time(ix.ix->start)))).size(),
            1u);
  EXPECT_EQ(parse_json(s.get("/v1/recordings?site.id=" + site)).size(), 1u);
  EXPECT_EQ(parse_json(s.get("/v1/recordings?edgeSite.id=" + site)).size(), 0u);

  // topics with schemas equal the index
  Json topics = parse_json(s.get("/v1/data/topics?recordingId=" + rec_id + "&includeSchemas=true"));
  ASSERT_EQ(topics.size(), ix.ix->n_topics);
  std::map<std::string, const pl_topic *> by_topic;
  for (size_t i = 0; i < ix.ix->n_topics; i++) by_topic[ix.ix->topics[i].topic] = &ix.ix->topics[i];
  for (size_t i = 0; i < topics.size(); i++) {
    const pl_topic *t = by_topic[topics[i]["topic"].str()];
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(topics[i]["version"].str(), t->version);
    EXPECT_EQ(topics[i]["encoding"].str(), t->encoding);
    EXPECT_EQ(topics[i]["schemaName"].str(), t->schema_name ? t->schema_name : "");
    EXPECT_EQ(topics[i]["schemaEncoding"].str(), t->schema_encoding ? t->schema_encoding : "");
    EXPECT_EQ(b64decode(topics[i]["schema"].str()),
              std::string(reinterpret_cast<const char *>(t->schema), t->schema_len));
    if (i) {
      EXPECT_LT(topics[i - 1]["topic"].str(), topics[i]["topic"].str());
    }
  }
  Json no_schema = parse_json(s.get("/v1/data/topics?deviceName=robot-a&includeSchemas=false"));
  ASSERT_EQ(no_schema.size(), ix.ix->n_topics);
  EXPECT_FALSE(no_schema[0].has("schema"));
  EXPECT_EQ(parse_json(s.get("/v1/data/topics?recordingKey=run-1&sortBy=topic&sortOrder=desc"))
                .size(),
            ix.ix->n_topics);
  EXPECT_EQ(parse_json(s.get("/v1/data/topics?deviceName=robot-a&end=" +
                             url_encode(fmt_time(ix.ix->start - 1))))
                .size(),
            0u);

  // coverage equals the index's coverage (both use the 14 s tolerance)
  std::string range = "start=" + url_encode(fmt_time(ix.ix->start - 1000000000ull)) +
                      "&end=" + url_encode(fmt_time(ix.ix->end + 1000000000ull));
  Json cov = parse_json(s.get("/v1/data/coverage?" + range + "&recordingId=" + rec_id));
  ASSERT_EQ(cov.size(), ix.ix->n_coverage);
  for (size_t i = 0; i < cov.size(); i++) {
    EXPECT_EQ(cov[i]["start"].str(), fmt_time(ix.ix->coverage[i].start));
    EXPECT_EQ(cov[i]["end"].str(), fmt_time(ix.ix->coverage[i].end));
    EXPECT_EQ(cov[i]["device"]["name"].str(), "robot-a");
    EXPECT_EQ(cov[i]["importStatus"].str(), "complete");
  }
  EXPECT_EQ(parse_json(s.get("/v1/data/coverage?" + range + "&deviceName=robot-a")).size(),
            ix.ix->n_coverage);
  EXPECT_EQ(parse_json(s.get("/v1/data/coverage?" + range + "&tolerance=100000")).size(), 1u);

  // attachments equal the index's, and download through a 302 to a signed link
  Json atts = parse_json(s.get("/v1/recording-attachments?recordingId=" + rec_id));
  ASSERT_EQ(atts.size(), ix.ix->n_attachments);
  ASSERT_GE(atts.size(), 1u);
  for (size_t i = 0; i < atts.size(); i++) {
    const pl_attachment_info *a = nullptr;
    for (size_t k = 0; k < ix.ix->n_attachments; k++)
      if (atts[i]["name"].str() == ix.ix->attachments[k].name) a = &ix.ix->attachments[k];
    ASSERT_NE(a, nullptr);
    EXPECT_EQ(atts[i]["mediaType"].str(), a->media_type);
    EXPECT_EQ(atts[i]["logTime"].str(), fmt_time(a->log_time));
    EXPECT_EQ(atts[i]["createTime"].str(), fmt_time(a->create_time));
    EXPECT_EQ(atts[i]["crc"].u64(), a->crc);
    EXPECT_EQ(atts[i]["size"].u64(), a->size);
    EXPECT_EQ(atts[i]["fingerprint"].str(), a->fingerprint);
    EXPECT_EQ(atts[i]["recordingId"].str(), rec_id);
    EXPECT_EQ(atts[i]["siteId"].str(), site);
    std::string id = atts[i]["id"].str();
    EXPECT_EQ(parse_json(s.get("/v1/recording-attachments/" + id))["name"].str(), a->name);
    HttpResponse red = s.get("/v1/recording-attachments/" + id + "/download");
    ASSERT_EQ(red.status, 302);
    std::string loc = red.header("location");
    ASSERT_EQ(loc.rfind(s.url() + "/signed/attachment/", 0), 0u) << loc;
    HttpResponse bytes = http_get(loc);  // without the API key
    ASSERT_EQ(bytes.status, 200);
    EXPECT_EQ(bytes.body.size(), a->size);
    // the same bytes as in the file
    mcap_source src;
    mcap_source_from_memory(&src, content.data(), content.size());
    mcap_reader *r = nullptr;
    ASSERT_EQ(mcap_reader_open(&r, &src, nullptr, nullptr), MCAP_OK);
    for (size_t k = 0; k < mcap_reader_attachment_count(r); k++) {
      const mcap_attachment_index *ai = mcap_reader_attachment_at(r, k);
      if (ai->offset != a->offset) continue;
      mcap_attachment at;
      ASSERT_EQ(mcap_reader_read_attachment(r, ai, &at), MCAP_OK);
      EXPECT_EQ(bytes.body, std::string(reinterpret_cast<const char *>(at.data.data), at.data.len));
    }
    mcap_reader_free(r);
  }
  Json sorted = parse_json(s.get("/v1/recording-attachments?sortBy=logTime&sortOrder=desc"));
  for (size_t i = 1; i < sorted.size(); i++)
    EXPECT_GE(sorted[i - 1]["logTime"].str(), sorted[i]["logTime"].str());
  EXPECT_EQ(parse_json(s.get("/v1/recording-attachments?deviceName=robot-a")).size(), atts.size());
  EXPECT_EQ(parse_json(s.get("/v1/recording-attachments?deviceName=ghost")).size(), 0u);

  // lake files: the same topic sets as pl_lake_write of the same file
  pl_lake_result res{};
  pl_error_info err;
  pl_lake_options lo{};
  ASSERT_EQ(pl_lake_write(file.c_str(), dir.file("mylake").c_str(), &lo, &res, &err), PL_OK)
      << err.msg;
  std::multiset<std::set<std::string>> want, got;
  for (size_t i = 0; i < res.n_files; i++)
    want.insert(std::set<std::string>(res.files[i].topics, res.files[i].topics + res.files[i].n_topics));
  pl_lake_result_dispose(&res);
  Json lake = parse_json(s.get("/v1/lake-files?siteId=" + site + "&recordingId=" + rec_id));
  for (size_t i = 0; i < lake.size(); i++) {
    std::set<std::string> t;
    for (size_t k = 0; k < lake[i]["topics"].size(); k++) t.insert(lake[i]["topics"][k].str());
    got.insert(t);
    std::string p = lake[i]["path"].str();
    EXPECT_EQ(p.find(".."), std::string::npos);
    EXPECT_NE(p[0], '/');
    EXPECT_EQ(stat(dir.file("data/lake/" + p).c_str(), &sb), 0) << p;
  }
  EXPECT_EQ(got, want);
  std::string topic0 = ix.ix->topics[0].topic;
  Json one = parse_json(s.get("/v1/lake-files?siteId=" + site + "&recordingKey=run-1&topic=" +
                              url_encode(topic0)));
  ASSERT_GE(one.size(), 1u);
  std::string day = "&start=" + url_encode(fmt_time(ix.ix->start)) +
                    "&end=" + url_encode(fmt_time(ix.ix->start + 3600000000000ull));
  EXPECT_EQ(parse_json(s.get("/v1/lake-files?siteId=" + site + "&deviceName=robot-a" + day)).size(),
            lake.size());
  EXPECT_EQ(s.get("/v1/lake-files?siteId=" + site + "&deviceName=robot-a").status, 400);
  EXPECT_EQ(s.get("/v1/lake-files?siteId=" + site + "&deviceName=robot-a&start=" +
                  url_encode(fmt_time(ix.ix->start)) + "&end=" +
                  url_encode(fmt_time(ix.ix->start + 90000000000000ull)))
                .status,
            400);
}

TEST_F(ServerImport, BrokenUploadsAreQuarantinedWithTheirError) {
  TestServer s(dir.file("data"));
  ASSERT_TRUE(s.ok());
  std::string file = dir.file("ok.mcap");
  write_synth(file, 3, 5);
  std::string good = read_file_or_throw(file);
  struct Case {
    std::string content, expect;
  };
  std::vector<Case> cases = {{"this is not an mcap file at all, just some text here", "magic"},
                             {"", "short"},
                             {good.substr(0, good.size() / 2), "magic"},
                             {good.substr(0, good.size() - 8) + "XXXXXXXX", "magic"}};
  std::vector<std::string> rids;
  for (size_t i = 0; i < cases.size(); i++)
    rids.push_back(upload(s, "{\"filename\": \"bad" + std::to_string(i) +
                                 ".mcap\", \"deviceName\": \"dev\"}",
                          cases[i].content));
  ASSERT_TRUE(s.wait_imports());
  for (size_t i = 0; i < cases.size(); i++) {
    Json imp = pending_import(s, rids[i]);
    EXPECT_EQ(imp["status"].str(), "error") << i;
    EXPECT_NE(imp["error"].str().find(cases[i].expect), std::string::npos)
        << i << ": " << imp["error"].str();
    EXPECT_TRUE(imp.has("quarantinedAt"));
    EXPECT_EQ(read_file_or_throw(dir.file("data/inbox/_quarantine/" + rids[i] + ".mcap")),
              cases[i].content);
  }
  // quarantined imports are listed only when asked for
  EXPECT_EQ(parse_json(s.get("/v1/data/pending-imports")).size(), 0u);
  EXPECT_EQ(parse_json(s.get("/v1/data/pending-imports?showQuarantined=true")).size(),
            cases.size());
  EXPECT_EQ(parse_json(s.get("/v1/data/pending-imports?showQuarantined=true&error=trailing")).size(),
            2u);
  EXPECT_EQ(parse_json(s.get("/v1/recordings")).size(), 0u);
}

TEST_F(ServerImport, KeysDeduplicateSameContentAndRefuseDifferentContent) {
  TestServer s(dir.file("data"));
  ASSERT_TRUE(s.ok());
  write_synth(dir.file("a.mcap"), 1, 3);
  write_synth(dir.file("b.mcap"), 2, 3);
  std::string a = read_file_or_throw(dir.file("a.mcap")), b = read_file_or_throw(dir.file("b.mcap"));
  std::string r1 = upload(s, "{\"filename\": \"a.mcap\", \"deviceName\": \"d\", \"key\": \"K\"}", a);
  ASSERT_TRUE(s.wait_imports());
  std::string r2 = upload(s, "{\"filename\": \"a2.mcap\", \"deviceName\": \"d\", \"key\": \"K\"}", a);
  std::string r3 = upload(s, "{\"filename\": \"b.mcap\", \"deviceName\": \"d\", \"key\": \"K\"}", b);
  ASSERT_TRUE(s.wait_imports());
  Json i1 = pending_import(s, r1), i2 = pending_import(s, r2), i3 = pending_import(s, r3);
  EXPECT_EQ(i1["status"].str(), "complete");
  EXPECT_EQ(i2["status"].str(), "complete");
  EXPECT_EQ(i2["importId"].str(), i1["importId"].str());
  EXPECT_EQ(i3["status"].str(), "error");
  EXPECT_NE(i3["error"].str().find("different content"), std::string::npos) << i3["error"].str();
  EXPECT_EQ(parse_json(s.get("/v1/recordings")).size(), 1u);
}

TEST_F(ServerImport, DeviceComesFromTheFileWhenTheRequestHasNone) {
  TestServer s(dir.file("data"));
  ASSERT_TRUE(s.ok());
  std::string file = dir.file("m.mcap");
  write_synth(file, 5, 3);
  Index ix(file);
  ASSERT_NE(ix.ix->device_name, nullptr) << "synth writes a 'foxglove' metadata record";
  std::string rid = upload(s, "{\"filename\": \"m.mcap\", \"key\": \"meta-1\"}",
                           read_file_or_throw(file));
  ASSERT_TRUE(s.wait_imports());
  Json imp = pending_import(s, rid);
  ASSERT_EQ(imp["status"].str(), "complete") << imp["error"].str();
  Json rec = parse_json(s.get("/v1/recordings/meta-1"));
  EXPECT_EQ(rec["device"]["name"].str(), ix.ix->device_name);
  EXPECT_EQ(parse_json(s.get("/v1/devices/" + url_encode(ix.ix->device_name)))["id"].str(),
            rec["device"]["id"].str());
  // the request wins over the file
  rid = upload(s, "{\"filename\": \"m.mcap\", \"deviceName\": \"from-request\", \"key\": \"meta-2\"}",
               read_file_or_throw(file));
  ASSERT_TRUE(s.wait_imports());
  EXPECT_EQ(parse_json(s.get("/v1/recordings/meta-2"))["device"]["name"].str(), "from-request");
}

TEST_F(ServerImport, DeleteRemovesLakeFilesAndAttachments) {
  TestServer s(dir.file("data"));
  ASSERT_TRUE(s.ok());
  std::string file = dir.file("d.mcap");
  write_synth(file, 9, 3, PL_SYNTH_TINY, 1);
  std::string rid = upload(s, "{\"filename\": \"d.mcap\", \"deviceName\": \"del\", \"key\": \"x\"}",
                           read_file_or_throw(file));
  ASSERT_TRUE(s.wait_imports());
  std::string rec_id = pending_import(s, rid)["importId"].str();
  Json rec = parse_json(s.get("/v1/recordings/" + rec_id));
  std::string site = rec["site"]["id"].str();
  Json lake = parse_json(s.get("/v1/lake-files?siteId=" + site + "&recordingId=" + rec_id));
  Json atts = parse_json(s.get("/v1/recording-attachments?recordingId=" + rec_id));
  ASSERT_GT(lake.size(), 0u);
  ASSERT_GT(atts.size(), 0u);
  // a device with recordings cannot be deleted
  EXPECT_EQ(s.del("/v1/devices/del").status, 409);
  HttpResponse d = s.del("/v1/recordings/x");
  ASSERT_EQ(d.status, 200);
  EXPECT_EQ(parse_json(d)["recordingId"].str(), rec_id);
  EXPECT_EQ(s.get("/v1/recordings/" + rec_id).status, 404);
  EXPECT_EQ(s.get("/v1/recording-attachments/" + atts[0]["id"].str()).status, 404);
  struct stat sb;
  for (size_t i = 0; i < lake.size(); i++)
    EXPECT_NE(stat(dir.file("data/lake/" + lake[i]["path"].str()).c_str(), &sb), 0);
  EXPECT_NE(stat(dir.file("data/attachments/" + rec_id).c_str(), &sb), 0);
  EXPECT_EQ(s.del("/v1/devices/del").status, 200);
}

TEST_F(ServerImport, RestartWithImportsInFlightLosesNothingAndImportsNothingTwice) {
  std::string data = dir.file("data"), key;
  std::vector<std::string> rids, contents;
  for (int i = 0; i < 4; i++) {
    std::string f = dir.file("r" + std::to_string(i) + ".mcap");
    write_synth(f, 100 + i, i == 3 ? 6 : 3, i == 3 ? PL_SYNTH_ROBOT : PL_SYNTH_TINY);
    contents.push_back(read_file_or_throw(f));
  }
  {
    TestServer s(data, [](pl_server_options &o) { o.hold_imports = 1; });
    ASSERT_TRUE(s.ok());
    key = s.key();
    for (int i = 0; i < 4; i++)
      rids.push_back(upload(s, "{\"filename\": \"r" + std::to_string(i) +
                                   ".mcap\", \"deviceName\": \"d\", \"key\": \"k" +
                                   std::to_string(i) + "\"}",
                            contents[i]));
    // the big one first is not guaranteed; start importing and crash right away
    pl_server_release_imports(s.get());
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    pl_server_crash(s.get());
  }
  // files still waiting are in the inbox
  {
    TestServer s(data);
    ASSERT_TRUE(s.ok());
    s.set_key(key);
    ASSERT_TRUE(s.wait_imports(120));
    std::set<std::string> recs;
    for (int i = 0; i < 4; i++) {
      Json imp = pending_import(s, rids[i]);
      EXPECT_EQ(imp["status"].str(), "complete") << i << " " << imp["error"].is_null();
      recs.insert(imp["importId"].str());
    }
    EXPECT_EQ(recs.size(), 4u);
    Json all = parse_json(s.get("/v1/recordings"));
    EXPECT_EQ(all.size(), 4u);
    for (size_t i = 0; i < all.size(); i++) EXPECT_EQ(all[i]["importStatus"].str(), "complete");
    // no lake folder without its recording
    DIR *d = opendir((data + "/lake").c_str());
    ASSERT_NE(d, nullptr);
    while (dirent *e = readdir(d)) {
      std::string dev = e->d_name;
      if (dev == "." || dev == ".." || dev == "tmp") continue;
      DIR *dd = opendir((data + "/lake/" + dev).c_str());
      while (dd && (e = readdir(dd))) {
        std::string r = e->d_name;
        if (r == "." || r == "..") continue;
        EXPECT_TRUE(recs.count(r)) << "orphan lake folder " << dev << "/" << r;
      }
      if (dd) closedir(dd);
    }
    closedir(d);
    DIR *inbox = opendir((data + "/inbox").c_str());
    while (dirent *e = readdir(inbox)) {
      std::string n = e->d_name;
      EXPECT_TRUE(n == "." || n == ".." || n == "_quarantine") << "left in the inbox: " << n;
    }
    closedir(inbox);
  }
}

TEST_F(ServerImport, GracefulStopFinishesTheRunningImport) {
  std::string data = dir.file("data"), key, rid;
  std::string f = dir.file("big.mcap");
  write_synth(f, 11, 5, PL_SYNTH_ROBOT);
  {
    TestServer s(data);
    ASSERT_TRUE(s.ok());
    key = s.key();
    rid = upload(s, "{\"filename\": \"big.mcap\", \"deviceName\": \"d\"}", read_file_or_throw(f));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    s.stop();
  }
  TestServer s(data, [](pl_server_options &o) { o.hold_imports = 1; });
  s.set_key(key);
  Json imp = pending_import(s, rid);
  EXPECT_EQ(imp["status"].str(), "complete") << "finished before the stop returned";
}

TEST_F(ServerImport, ExportEqualsTheOriginalMessageStream) {
  std::string file = dir.file("e.mcap");
  write_synth(file, 21, 30, PL_SYNTH_TINY, 1);
  std::string content = read_file_or_throw(file);
  Index ix(file);
  TestServer s(dir.file("data"));
  ASSERT_TRUE(s.ok());
  std::string rid = upload(s, "{\"filename\": \"e.mcap\", \"deviceName\": \"exp\", \"key\": "
                              "\"e1\"}",
                           content);
  ASSERT_TRUE(s.wait_imports());
  std::string rec_id = pending_import(s, rid)["importId"].str();
  auto fetch = [&](const std::string &body) {
    HttpResponse r = s.post("/v1/data/stream", body);
    EXPECT_EQ(r.status, 200) << r.body;
    std::string link = parse_json(r)["link"].str();
    EXPECT_EQ(link.find(s.key()), std::string::npos);
    HttpResponse g = http_get(link);
    EXPECT_EQ(g.status, 200) << g.body.substr(0, 200);
    EXPECT_TRUE(g.complete);
    return g.body;
  };
  Digest want = digest_of(content);
  std::vector<std::string> names;
  Digest got = digest_of(fetch("{\"recordingId\": " + jstr(rec_id) +
                               ", \"includeAttachments\": true, \"outputFormat\": \"mcap\"}"),
                         &names);
  EXPECT_EQ(got, want);
  EXPECT_EQ(names.size(), ix.ix->n_attachments);
  EXPECT_EQ(digest_of(fetch("{\"recordingKey\": \"e1\"}")), want);
  EXPECT_EQ(digest_of(fetch("{\"key\": \"e1\", \"topics\": null}")), want);
  // one topic, a time range
  std::string topic = ix.ix->topics[0].topic;
  Digest one = digest_of(fetch("{\"recordingId\": " + jstr(rec_id) + ", \"topics\": [" +
                               jstr(topic) + "]}"));
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[topic], want[topic]);
  uint64_t mid = ix.ix->start + (ix.ix->end - ix.ix->start) / 2;
  Digest half = digest_of(fetch("{\"deviceName\": \"exp\", \"start\": " + jstr(fmt_time(mid)) +
                                ", \"end\": " + jstr(fmt_time(ix.ix->end)) + "}"));
  for (auto &kv : want) {
    std::vector<std::pair<uint64_t, size_t>> w;
    for (auto &m : kv.second)
      if (m.first >= mid) w.push_back(m);
    EXPECT_EQ(half[kv.first], w) << kv.first;
  }
  // lastPerChannel adds the last message before the start of each topic
  Digest replay = digest_of(fetch("{\"deviceName\": \"exp\", \"start\": " + jstr(fmt_time(mid)) +
                                  ", \"end\": " + jstr(fmt_time(ix.ix->end)) +
                                  ", \"replayPolicy\": \"lastPerChannel\"}"));
  for (auto &kv : want) EXPECT_GE(replay[kv.first].size(), half[kv.first].size()) << kv.first;
  // the link is valid 15 s and can be used without the key; a forged one is refused
  HttpResponse r = s.post("/v1/data/stream", "{\"recordingId\": " + jstr(rec_id) + "}");
  std::string link = parse_json(r)["link"].str();
  std::string forged = link.substr(0, link.size() - 1) + (link.back() == '0' ? "1" : "0");
  EXPECT_EQ(http_get(forged).status, 403);
}

}  // namespace
}  // namespace mcapkit_test
