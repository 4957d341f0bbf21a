// test_upload.cc - upload -> import -> reconcile against the local site
// server (pl_server, in process, on a free loopback port): generated
// recordings with attachments and metadata reconcile clean, a re-run never
// duplicates (journal skip, then remote key check), the doctor refuses
// broken files, and reconcile reports each kind of difference when the
// server's copy is another file under the same key.
#include <curl/curl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "mcap/mcap.h"
#include "pipeline/client.h"
#include "test_server_util.h"
#include "writer_layouts.h"

using namespace mcapkit_test;

namespace {

class CurlEnv : public ::testing::Environment {
 public:
  void SetUp() override { ASSERT_EQ(pl_http_global_init(nullptr), PL_OK); }
};
const auto *const curl_env = ::testing::AddGlobalTestEnvironment(new CurlEnv);

pl_http_options http_options() {
  pl_http_options o;
  memset(&o, 0, sizeof o);
  o.backoff_initial_s = 0.05;
  o.backoff_max_s = 0.5;
  o.timeout_s = 30;
  return o;
}

struct Batch {
  pl_upload_result *res = nullptr;
  size_t n = 0;
  int rc = 0;
  pl_error_info err{};
  ~Batch() { pl_upload_results_free(res, n); }
};

void run_upload(const TestServer &s, const std::vector<std::string> &files,
                const pl_upload_options &o, Batch &b, const pl_http_options &ho = http_options()) {
  std::vector<const char *> paths;
  for (const auto &f : files) paths.push_back(f.c_str());
  b.n = files.size();
  b.rc = pl_upload_files(s.url().c_str(), s.key().c_str(), &ho, paths.data(), paths.size(), &o,
                         &b.res, &b.err);
}

pl_upload_options upload_options(const TempDir &tmp) {
  pl_upload_options o;
  memset(&o, 0, sizeof o);
  o.journal_dir = nullptr;
  static std::string dir;
  dir = tmp.file("journal");
  o.journal_dir = dir.c_str();
  o.wait_timeout_s = 60;
  o.poll_initial_s = 0.05;
  return o;
}

std::string diffs_text(const pl_reconcile_report *r) {
  std::string s;
  for (size_t i = 0; r && i < r->n_diffs; i++)
    s += std::string(r->diffs[i].what) + ": local " + r->diffs[i].local + ", remote " +
         r->diffs[i].remote + "\n";
  return s;
}

size_t count_recordings(const TestServer &s) {
  Json j = parse_json(s.get("/v1/recordings"));
  return j.size();
}

}  // namespace

TEST(Upload, UploadImportReconcileClean) {
  TempDir tmp;
  TestServer s(tmp.file("data"));
  ASSERT_TRUE(s.ok());
  std::string f = tmp.file("rec.mcap");
  write_synth(f, 7, 3, PL_SYNTH_TINY, 2);
  pl_upload_options o = upload_options(tmp);
  o.device_name = "robot-1";
  Batch b;
  run_upload(s, {f}, o, b);
  ASSERT_EQ(b.rc, PL_OK) << b.err.msg;
  const pl_upload_result &r = b.res[0];
  EXPECT_EQ(r.status, PL_UPLOAD_DONE) << r.err.msg;
  EXPECT_EQ(r.uploads, 1);
  EXPECT_EQ(r.already_there, 0);
  EXPECT_EQ(std::string(r.key).rfind("mcapkit-", 0), 0u);
  EXPECT_EQ(strlen(r.key), 8u + 32u);
  ASSERT_NE(r.reconcile, nullptr);
  EXPECT_EQ(r.reconcile->n_diffs, 0u) << diffs_text(r.reconcile);
  EXPECT_EQ(r.reconcile->n_attachments, 2u);
  EXPECT_GE(r.reconcile->n_topics, 2u);
  EXPECT_GE(r.reconcile->n_metadata, 1u);
  EXPECT_GE(r.reconcile->n_coverage, 1u);
  EXPECT_TRUE(r.reconcile->lake_checked);
  Json rec = parse_json(s.get("/v1/recordings/" + std::string(r.key)));
  EXPECT_EQ(rec["device"]["name"].str(), "robot-1");
  EXPECT_EQ(rec["importStatus"].str(), "complete");
  EXPECT_EQ(count_recordings(s), 1u);
}

TEST(Upload, ReRunsNeverDuplicate) {
  TempDir tmp;
  TestServer s(tmp.file("data"));
  ASSERT_TRUE(s.ok());
  std::string f = tmp.file("rec.mcap");
  write_synth(f, 11, 2, PL_SYNTH_TINY, 1);
  pl_upload_options o = upload_options(tmp);
  {
    Batch b;
    run_upload(s, {f}, o, b);
    ASSERT_EQ(b.rc, PL_OK) << b.err.msg;
    EXPECT_EQ(b.res[0].status, PL_UPLOAD_DONE);
  }
  {
    // the journal says done: nothing is read or sent
    Batch b;
    run_upload(s, {f}, o, b);
    ASSERT_EQ(b.rc, PL_OK) << b.err.msg;
    EXPECT_EQ(b.res[0].status, PL_UPLOAD_SKIPPED);
    EXPECT_EQ(b.res[0].uploads, 0);
  }
  {
    // without the journal: the key is found remotely, nothing is sent, still reconciled
    pl_upload_options o2 = o;
    o2.no_journal = 1;
    Batch b;
    run_upload(s, {f}, o2, b);
    ASSERT_EQ(b.rc, PL_OK) << b.err.msg;
    EXPECT_EQ(b.res[0].status, PL_UPLOAD_DONE);
    EXPECT_EQ(b.res[0].already_there, 1);
    EXPECT_EQ(b.res[0].uploads, 0);
  }
  EXPECT_EQ(count_recordings(s), 1u);
  Json pend = parse_json(s.get("/v1/data/pending-imports?showCompleted=true&showQuarantined=true"));
  EXPECT_EQ(pend.size(), 1u);
}

TEST(Upload, NoWaitReturnsAfterThePut) {
  TempDir tmp;
  TestServer s(tmp.file("data"), [](pl_server_options &o) { o.hold_imports = 1; });
  ASSERT_TRUE(s.ok());
  std::string f = tmp.file("rec.mcap");
  write_synth(f, 3, 1);
  pl_upload_options o = upload_options(tmp);
  o.no_wait = 1;
  Batch b;
  run_upload(s, {f}, o, b);
  ASSERT_EQ(b.rc, PL_OK) << b.err.msg;
  EXPECT_EQ(b.res[0].status, PL_UPLOAD_UPLOADED);
  EXPECT_NE(b.res[0].request_id[0], 0);
  pl_server_release_imports(s.get());
}

TEST(Upload, WaitTimesOutNamingTheLastStatus) {
  TempDir tmp;
  TestServer s(tmp.file("data"), [](pl_server_options &o) { o.hold_imports = 1; });
  ASSERT_TRUE(s.ok());
  std::string f = tmp.file("rec.mcap");
  write_synth(f, 4, 1);
  pl_upload_options o = upload_options(tmp);
  o.wait_timeout_s = 1;
  Batch b;
  run_upload(s, {f}, o, b);
  EXPECT_EQ(b.rc, PL_ETIMEOUT);
  EXPECT_EQ(b.res[0].status, PL_UPLOAD_FAILED);
  EXPECT_NE(std::string(b.res[0].err.msg).find("did not finish within 1 s"), std::string::npos)
      << b.res[0].err.msg;
  EXPECT_NE(std::string(b.res[0].err.msg).find("received"), std::string::npos) << b.res[0].err.msg;
  pl_server_release_imports(s.get());
  // the wait resumes on a re-run: no second upload
  o.wait_timeout_s = 60;
  Batch b2;
  run_upload(s, {f}, o, b2);
  ASSERT_EQ(b2.rc, PL_OK) << b2.err.msg;
  EXPECT_EQ(b2.res[0].status, PL_UPLOAD_DONE);
  EXPECT_EQ(b2.res[0].uploads, 0);
}

TEST(Upload, DoctorErrorsRefuseTheFileUnlessForced) {
  TempDir tmp;
  TestServer s(tmp.file("data"));
  ASSERT_TRUE(s.ok());
  std::string good = tmp.file("good.mcap");
  write_synth(good, 5, 2);
  std::string bytes = read_file_or_throw(good);
  // cut the file inside the data section: the doctor reports errors
  std::string bad = tmp.file("bad.mcap");
  write_file_or_throw(bad, bytes.substr(0, bytes.size() / 2));
  pl_upload_options o = upload_options(tmp);
  o.no_wait = 1;
  Batch b;
  run_upload(s, {bad}, o, b);
  EXPECT_EQ(b.rc, PL_EVERIFY);
  EXPECT_EQ(b.res[0].status, PL_UPLOAD_REFUSED);
  EXPECT_GT(b.res[0].doctor_errors, 0u);
  EXPECT_NE(std::string(b.res[0].err.msg).find("--force"), std::string::npos);
  EXPECT_EQ(
      parse_json(s.get("/v1/data/pending-imports?showCompleted=true&showQuarantined=true")).size(),
      0u);
  o.force = 1;
  Batch b2;
  run_upload(s, {bad}, o, b2);
  EXPECT_EQ(b2.res[0].status, PL_UPLOAD_UPLOADED) << b2.res[0].err.msg;
}

// Warnings (here rosbag2's summary-only definitions) do not refuse a file; --strict does,
// and --force still overrides.
TEST(Upload, WarningsAreUploadedUnlessStrict) {
  TempDir tmp;
  TestServer s(tmp.file("data"));
  ASSERT_TRUE(s.ok());
  std::string f = tmp.file("rosbag2.mcap");
  mcapkit_test::Bytes bytes = mcapkit_test::rosbag2_summary_only_file();
  write_file_or_throw(f, std::string(bytes.begin(), bytes.end()));
  pl_upload_options o = upload_options(tmp);
  o.no_wait = 1;
  o.strict = 1;
  Batch b;
  run_upload(s, {f}, o, b);
  EXPECT_EQ(b.rc, PL_EVERIFY);
  EXPECT_EQ(b.res[0].status, PL_UPLOAD_REFUSED);
  EXPECT_EQ(b.res[0].doctor_errors, 0u);
  EXPECT_GT(b.res[0].doctor_warnings, 0u);
  EXPECT_NE(std::string(b.res[0].err.msg).find("--strict"), std::string::npos) << b.res[0].err.msg;
  EXPECT_EQ(
      parse_json(s.get("/v1/data/pending-imports?showCompleted=true&showQuarantined=true")).size(),
      0u);
  o.strict = 0;
  Batch b2;
  run_upload(s, {f}, o, b2);
  EXPECT_EQ(b2.res[0].status, PL_UPLOAD_UPLOADED) << b2.res[0].err.msg;
  EXPECT_GT(b2.res[0].doctor_warnings, 0u);
  o.strict = 1;
  o.force = 1;
  Batch b3;
  run_upload(s, {f}, o, b3);
  EXPECT_NE(b3.res[0].status, PL_UPLOAD_REFUSED) << b3.res[0].err.msg;
}

TEST(Upload, BadKeyIsAnAuthError) {
  TempDir tmp;
  TestServer s(tmp.file("data"));
  ASSERT_TRUE(s.ok());
  std::string f = tmp.file("rec.mcap");
  write_synth(f, 5, 1);
  pl_upload_options o = upload_options(tmp);
  const char *paths[] = {f.c_str()};
  pl_upload_result *res = nullptr;
  pl_error_info err;
  pl_http_options ho = http_options();
  int rc = pl_upload_files(s.url().c_str(), "fox_sk_wrong_key_123", &ho, paths, 1, &o, &res, &err);
  EXPECT_EQ(rc, PL_EAUTH);
  EXPECT_EQ(std::string(err.msg).find("fox_sk_wrong_key_123"), std::string::npos);
  pl_upload_results_free(res, 1);
}

// ---------------------------------------------------------------- reconcile

namespace {

struct Api {
  pl_http *h = nullptr;
  explicit Api(const TestServer &s) {
    pl_http_options o = http_options();
    pl_error_info err;
    EXPECT_EQ(pl_http_new(&h, s.url().c_str(), s.key().c_str(), &o, &err), PL_OK);
  }
  ~Api() { pl_http_free(h); }
};

pl_recording_index *index_of(const std::string &path) {
  pl_index_options o;
  memset(&o, 0, sizeof o);
  o.tolerance_s = -1;
  o.threads = 1;
  pl_recording_index *ix = nullptr;
  pl_error_info err;
  EXPECT_EQ(pl_index_file(path.c_str(), &o, &ix, &err), PL_OK) << err.msg;
  return ix;
}

// Rewrite `in` into `out` through the writer, letting `edit` change each record.
void rewrite(const std::string &in, const std::string &out,
             const std::function<bool(mcap_record &, mcap_writer *)> &edit) {
  mcap_source src;
  mcap_error_info me;
  ASSERT_EQ(mcap_source_open_file(&src, in.c_str(), &me), MCAP_OK);
  mcap_stream_reader *r = nullptr;
  ASSERT_EQ(mcap_stream_reader_new(&r, &src, nullptr), MCAP_OK);
  mcap_sink sink;
  ASSERT_EQ(mcap_sink_open_file(&sink, out.c_str(), &me), MCAP_OK);
  mcap_writer *w = nullptr;
  ASSERT_EQ(mcap_writer_open(&w, &sink, nullptr), MCAP_OK);
  mcap_record rec;
  bool summary = false;
  while (mcap_stream_reader_next(r, &rec) == MCAP_OK) {
    if (rec.opcode == MCAP_OP_DATA_END) summary = true;
    if (summary) continue;
    if (!edit(rec, w)) continue;
    switch (rec.opcode) {
      case MCAP_OP_SCHEMA:
        ASSERT_EQ(mcap_writer_put_schema(w, &rec.u.schema), MCAP_OK);
        break;
      case MCAP_OP_CHANNEL:
        ASSERT_EQ(mcap_writer_put_channel(w, &rec.u.channel), MCAP_OK);
        break;
      case MCAP_OP_MESSAGE:
        ASSERT_EQ(mcap_writer_write_message(w, &rec.u.message), MCAP_OK);
        break;
      case MCAP_OP_ATTACHMENT:
        ASSERT_EQ(mcap_writer_write_attachment(w, &rec.u.attachment), MCAP_OK);
        break;
      case MCAP_OP_METADATA:
        ASSERT_EQ(mcap_writer_write_metadata_record(w, &rec.u.metadata), MCAP_OK);
        break;
      default:
        break;
    }
  }
  mcap_stream_reader_free(r);
  ASSERT_EQ(mcap_writer_close(w), MCAP_OK);
  mcap_writer_free(w);
  ASSERT_EQ(mcap_sink_commit(&sink, &me), MCAP_OK);
  mcap_sink_close(&sink, &me);
}

bool has_diff(const pl_reconcile_report *r, const std::string &what) {
  for (size_t i = 0; i < r->n_diffs; i++)
    if (std::string(r->diffs[i].what).find(what) != std::string::npos) return true;
  return false;
}

}  // namespace

TEST(Reconcile, ReportsEachKindOfDifference) {
  TempDir tmp;
  TestServer s(tmp.file("data"));
  ASSERT_TRUE(s.ok());
  std::string orig = tmp.file("orig.mcap");
  write_synth(orig, 21, 3, PL_SYNTH_TINY, 2);
  // the changed copy: a topic's schema bytes, one attachment's content, one
  // attachment dropped, the metadata changed, the last messages dropped (end,
  // coverage) and an extra topic
  std::string changed = tmp.file("changed.mcap");
  pl_recording_index *ix = index_of(orig);
  ASSERT_NE(ix, nullptr);
  uint64_t cut = ix->end - (ix->end - ix->start) / 3;
  int atts = 0;
  bool added = false;
  std::string schema_copy, att_copy;
  rewrite(orig, changed, [&](mcap_record &rec, mcap_writer *w) {
    if (rec.opcode == MCAP_OP_SCHEMA && rec.u.schema.id == 1) {
      schema_copy.assign(reinterpret_cast<const char *>(rec.u.schema.data.data),
                         rec.u.schema.data.len);
      schema_copy += "\n# changed";
      rec.u.schema.data.data = reinterpret_cast<const uint8_t *>(schema_copy.data());
      rec.u.schema.data.len = schema_copy.size();
    }
    if (rec.opcode == MCAP_OP_ATTACHMENT) {
      if (atts++ == 1) return false;
      att_copy.assign(reinterpret_cast<const char *>(rec.u.attachment.data.data),
                      rec.u.attachment.data.len);
      att_copy += "!";
      rec.u.attachment.data.data = reinterpret_cast<const uint8_t *>(att_copy.data());
      rec.u.attachment.data.len = att_copy.size();
      rec.u.attachment.crc = 0;
    }
    if (rec.opcode == MCAP_OP_METADATA &&
        std::string(rec.u.metadata.name.data, rec.u.metadata.name.len) != "foxglove") {
      static const mcap_kv kv = {mcap_str_c("operator"), mcap_str_c("somebody else")};
      EXPECT_EQ(mcap_writer_write_metadata(w, rec.u.metadata.name, &kv, 1), MCAP_OK);
      return false;
    }
    if (rec.opcode == MCAP_OP_MESSAGE && rec.u.message.log_time > cut) return false;
    if (rec.opcode == MCAP_OP_MESSAGE && !added) {
      added = true;
      uint16_t ch = 0;
      EXPECT_EQ(
          mcap_writer_add_channel(w, 0, mcap_str_c("/extra"), mcap_str_c("json"), nullptr, 0, &ch),
          MCAP_OK);
      mcap_message m = rec.u.message;
      m.channel_id = ch;
      EXPECT_EQ(mcap_writer_write_message(w, &m), MCAP_OK);
    }
    return true;
  });
  // the server holds the changed file under the original's key
  char key[48];
  pl_upload_default_key(ix->content_hash, key);
  pl_upload_options o = upload_options(tmp);
  o.key = key;
  Batch b;
  run_upload(s, {changed}, o, b);
  ASSERT_EQ(b.rc, PL_OK) << b.err.msg;
  ASSERT_EQ(b.res[0].status, PL_UPLOAD_DONE) << b.res[0].err.msg;  // clean against itself

  Api api(s);
  pl_reconcile_report *rep = nullptr;
  pl_error_info err;
  ASSERT_EQ(pl_reconcile(api.h, ix, key, nullptr, &rep, &err), PL_OK) << err.msg;
  std::string all = diffs_text(rep);
  EXPECT_TRUE(has_diff(rep, "recording: end")) << all;
  EXPECT_TRUE(has_diff(rep, "recording: size")) << all;
  EXPECT_FALSE(has_diff(rep, "recording: start")) << all;
  EXPECT_TRUE(has_diff(rep, "metadata")) << all;
  EXPECT_TRUE(has_diff(rep, ": crc")) << all;
  EXPECT_TRUE(has_diff(rep, ": size")) << all;
  EXPECT_TRUE(has_diff(rep, ": fingerprint")) << all;
  EXPECT_TRUE(has_diff(rep, ": schema")) << all;
  EXPECT_TRUE(has_diff(rep, "topic '/extra'")) << all;
  EXPECT_TRUE(has_diff(rep, "coverage")) << all;
  EXPECT_TRUE(has_diff(rep, "lake file topic '/extra'")) << all;
  // the dropped attachment is missing remotely
  bool missing_att = false;
  for (size_t i = 0; i < rep->n_diffs; i++)
    if (std::string(rep->diffs[i].what).rfind("attachment", 0) == 0 &&
        std::string(rep->diffs[i].remote) == "(missing)")
      missing_att = true;
  EXPECT_TRUE(missing_att) << all;
  // both values are shown
  for (size_t i = 0; i < rep->n_diffs; i++) {
    EXPECT_NE(std::string(rep->diffs[i].local), std::string(rep->diffs[i].remote));
  }
  pl_reconcile_report_free(rep);

  // the changed file against its own remote copy: clean
  pl_recording_index *cix = index_of(changed);
  ASSERT_EQ(pl_reconcile(api.h, cix, key, nullptr, &rep, &err), PL_OK) << err.msg;
  EXPECT_EQ(rep->n_diffs, 0u) << diffs_text(rep);
  pl_reconcile_report_free(rep);

  // an expected device that is not the remote one
  pl_reconcile_options ro;
  memset(&ro, 0, sizeof ro);
  ro.device_name = "another-robot";
  ASSERT_EQ(pl_reconcile(api.h, cix, key, &ro, &rep, &err), PL_OK) << err.msg;
  EXPECT_TRUE(has_diff(rep, "recording: device name")) << diffs_text(rep);
  pl_reconcile_report_free(rep);
  EXPECT_EQ(pl_reconcile(api.h, cix, "no-such-key", nullptr, &rep, &err), PL_ENOTFOUND);
  pl_recording_index_free(cix);
  pl_recording_index_free(ix);
}
