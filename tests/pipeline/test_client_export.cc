// test_client_export.cc - export through the local site server (pl_server in
// process): full, by topic and time, verified against the original; a
// transfer broken in the middle (a loopback proxy in front of the server cuts
// the first download) is resumed from the last complete log time and joined
// without duplicates; --verify-against catches a missing message, a changed
// byte and an extra message.
#include <curl/curl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "fake_http.h"
#include "pipeline/client.h"
#include "run.h"
#include "test_server_util.h"

using namespace mcapkit_test;

namespace {

class CurlEnv : public ::testing::Environment {
 public:
  void SetUp() override { ASSERT_EQ(pl_http_global_init(nullptr), PL_OK); }
};
const auto *const curl_env = ::testing::AddGlobalTestEnvironment(new CurlEnv);

pl_http *open_api(const std::string &url, const std::string &key) {
  pl_http_options o;
  memset(&o, 0, sizeof o);
  o.backoff_initial_s = 0.05;
  o.log = [](void *, const char *line) { fprintf(stderr, "http: %s\n", line); };
  pl_http *h = nullptr;
  pl_error_info err;
  EXPECT_EQ(pl_http_new(&h, url.c_str(), key.c_str(), &o, &err), PL_OK) << err.msg;
  return h;
}

// Upload `file` and wait for its import; returns the key.
std::string upload_one(const TestServer &s, const TempDir &tmp, const std::string &file) {
  pl_upload_options o;
  memset(&o, 0, sizeof o);
  std::string jd = tmp.file("journal");
  o.journal_dir = jd.c_str();
  o.poll_initial_s = 0.05;
  o.no_reconcile = 1;
  const char *paths[] = {file.c_str()};
  pl_upload_result *res = nullptr;
  pl_error_info err;
  pl_http_options ho;
  memset(&ho, 0, sizeof ho);
  int rc = pl_upload_files(s.url().c_str(), s.key().c_str(), &ho, paths, 1, &o, &res, &err);
  EXPECT_EQ(rc, PL_OK) << err.msg;
  std::string key = res ? res[0].key : "";
  pl_upload_results_free(res, 1);
  return key;
}

// Copy `in` to `out`, letting `edit` drop (false) or change each message.
void rewrite_messages(
    const std::string &in, const std::string &out,
    const std::function<bool(mcap_message &, mcap_writer *, std::string &)> &edit) {
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
  std::string scratch;
  while (mcap_stream_reader_next(r, &rec) == MCAP_OK) {
    if (rec.opcode == MCAP_OP_DATA_END) summary = true;
    if (summary) continue;
    switch (rec.opcode) {
      case MCAP_OP_SCHEMA:
        ASSERT_EQ(mcap_writer_put_schema(w, &rec.u.schema), MCAP_OK);
        break;
      case MCAP_OP_CHANNEL:
        ASSERT_EQ(mcap_writer_put_channel(w, &rec.u.channel), MCAP_OK);
        break;
      case MCAP_OP_MESSAGE: {
        mcap_message m = rec.u.message;
        if (edit(m, w, scratch)) {
          ASSERT_EQ(mcap_writer_write_message(w, &m), MCAP_OK);
        }
        break;
      }
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

std::string diffs_text(const pl_diff *d, size_t n) {
  std::string s;
  for (size_t i = 0; i < n; i++)
    s += std::string(d[i].what) + ": local " + d[i].local + ", remote " + d[i].remote + "\n";
  return s;
}

bool has(const pl_diff *d, size_t n, const std::string &what) {
  for (size_t i = 0; i < n; i++)
    if (std::string(d[i].what).find(what) != std::string::npos) return true;
  return false;
}

}  // namespace

TEST(ClientExport, FullAndByTopicAndTimeVerified) {
  TempDir tmp;
  TestServer s(tmp.file("data"));
  ASSERT_TRUE(s.ok());
  std::string f = tmp.file("rec.mcap");
  pl_synth_stats st = write_synth(f, 31, 4, PL_SYNTH_TINY, 2);
  std::string key = upload_one(s, tmp, f);
  ASSERT_FALSE(key.empty());
  pl_http *h = open_api(s.url(), s.key());

  pl_export_options o;
  memset(&o, 0, sizeof o);
  o.recording = key.c_str();
  std::string out = tmp.file("full.mcap");
  o.out_path = out.c_str();
  o.verify_against = f.c_str();
  o.include_attachments = 1;
  pl_export_result res;
  pl_error_info err;
  ASSERT_EQ(pl_export_run(h, &o, &res, &err), PL_OK) << err.msg << "\n"
                                                     << diffs_text(res.diffs, res.n_diffs);
  EXPECT_EQ(res.parts, 1);
  EXPECT_EQ(res.messages, st.messages);
  EXPECT_EQ(res.local_messages, st.messages);
  EXPECT_EQ(res.doctor_errors, 0u);
  EXPECT_TRUE(res.verified);
  pl_export_result_dispose(&res);

  // one topic, the middle of the recording
  const char *topics[] = {st.topics[0].topic};
  o.topics = topics;
  o.n_topics = 1;
  o.has_start = o.has_end = 1;
  o.start = st.start_time + (st.end_time - st.start_time) / 4;
  o.end = st.start_time + (st.end_time - st.start_time) / 2;
  std::string part = tmp.file("part.mcap");
  o.out_path = part.c_str();
  ASSERT_EQ(pl_export_run(h, &o, &res, &err), PL_OK) << err.msg << "\n"
                                                     << diffs_text(res.diffs, res.n_diffs);
  EXPECT_GT(res.messages, 0u);
  EXPECT_LT(res.messages, st.topics[0].messages);
  EXPECT_EQ(res.local_messages, res.messages);
  pl_export_result_dispose(&res);

  // a device export of the same window
  Json rec = parse_json(s.get("/v1/recordings/" + key));
  std::string dev = rec["device"]["name"].str();
  o.recording = nullptr;
  o.device_name = dev.c_str();
  std::string by_dev = tmp.file("dev.mcap");
  o.out_path = by_dev.c_str();
  ASSERT_EQ(pl_export_run(h, &o, &res, &err), PL_OK) << err.msg << "\n"
                                                     << diffs_text(res.diffs, res.n_diffs);
  EXPECT_GT(res.messages, 0u);
  pl_export_result_dispose(&res);
  pl_http_free(h);
}

// An output path that is a symlink gets the export in the file it points at; the link stays
// (the last part's rename used to replace the link itself).
TEST(ClientExport, ASymlinkOutputIsFollowed) {
  TempDir tmp;
  TestServer s(tmp.file("data"));
  ASSERT_TRUE(s.ok());
  std::string f = tmp.file("rec.mcap");
  pl_synth_stats st = write_synth(f, 32, 4, PL_SYNTH_TINY, 2);
  std::string key = upload_one(s, tmp, f);
  ASSERT_FALSE(key.empty());
  pl_http *h = open_api(s.url(), s.key());
  std::string target = tmp.file("real.mcap"), link = tmp.file("link.mcap");
  write_file_or_throw(target, "old contents");
  ASSERT_EQ(symlink("real.mcap", link.c_str()), 0);
  pl_export_options o;
  memset(&o, 0, sizeof o);
  o.recording = key.c_str();
  o.out_path = link.c_str();
  o.verify_against = f.c_str();
  pl_export_result res;
  pl_error_info err;
  ASSERT_EQ(pl_export_run(h, &o, &res, &err), PL_OK) << err.msg;
  EXPECT_EQ(res.messages, st.messages);
  EXPECT_TRUE(res.verified);
  pl_export_result_dispose(&res);
  pl_http_free(h);
  struct stat sb;
  ASSERT_EQ(lstat(link.c_str(), &sb), 0);
  EXPECT_TRUE(S_ISLNK(sb.st_mode)) << "the link was replaced";
  std::string got = read_file_or_throw(target);
  EXPECT_EQ(got.compare(0, 8, "\x89MCAP0\r\n"), 0) << got.size() << " bytes in the target";
}

TEST(ClientExport, VerifyCatchesMissingChangedAndExtraMessages) {
  TempDir tmp;
  TestServer s(tmp.file("data"));
  ASSERT_TRUE(s.ok());
  std::string f = tmp.file("rec.mcap");
  write_synth(f, 32, 3, PL_SYNTH_TINY, 1);
  std::string key = upload_one(s, tmp, f);
  pl_http *h = open_api(s.url(), s.key());
  // three local variants of the file
  std::string missing = tmp.file("missing.mcap"), changed = tmp.file("changed.mcap"),
              extra = tmp.file("extra.mcap");
  int n = 0;
  rewrite_messages(f, missing, [&](mcap_message &, mcap_writer *, std::string &) {
    return n++ != 10;  // the export will hold one message more than this file
  });
  n = 0;
  rewrite_messages(f, changed, [&](mcap_message &m, mcap_writer *, std::string &buf) {
    if (n++ == 20) {
      buf.assign(reinterpret_cast<const char *>(m.data.data), m.data.len);
      buf[buf.size() / 2] ^= 0x01;
      m.data.data = reinterpret_cast<const uint8_t *>(buf.data());
    }
    return true;
  });
  n = 0;
  rewrite_messages(f, extra, [&](mcap_message &m, mcap_writer *w, std::string &) {
    if (n++ == 30) {
      mcap_message dup = m;
      dup.log_time += 1;  // a message the platform does not have
      EXPECT_EQ(mcap_writer_write_message(w, &dup), MCAP_OK);
    }
    return true;
  });
  struct Case {
    std::string file, kind;
  } cases[] = {
      {missing, "extra message"}, {changed, "changed message"}, {extra, "missing message"}};
  for (const auto &c : cases) {
    pl_export_options o;
    memset(&o, 0, sizeof o);
    o.recording = key.c_str();
    std::string out = tmp.file("out.mcap");
    o.out_path = out.c_str();
    o.verify_against = c.file.c_str();
    pl_export_result res;
    pl_error_info err;
    EXPECT_EQ(pl_export_run(h, &o, &res, &err), PL_EVERIFY) << c.file;
    std::string all = diffs_text(res.diffs, res.n_diffs);
    EXPECT_TRUE(has(res.diffs, res.n_diffs, c.kind)) << c.file << "\n" << all;
    EXPECT_TRUE(has(res.diffs, res.n_diffs,
                    c.kind == "changed message" ? "1 changed"
                    : c.kind == "extra message" ? "1 extra"
                                                : "1 missing"))
        << all;
    // exactly one message differs
    size_t details = 0;
    for (size_t i = 0; i < res.n_diffs; i++)
      if (std::string(res.diffs[i].what).find(" message at ") != std::string::npos) details++;
    EXPECT_EQ(details, 1u) << all;
    pl_export_result_dispose(&res);
  }
  pl_http_free(h);
}

TEST(ClientExport, ABrokenTransferIsResumedAndJoinedWithoutDuplicates) {
  TempDir tmp;
  TestServer s(tmp.file("data"));
  ASSERT_TRUE(s.ok());
  std::string f = tmp.file("rec.mcap");
  // several chunks: the cut falls after some complete ones
  pl_synth_stats st = write_synth(f, 33, 0.6, PL_SYNTH_ROBOT, 1);
  std::string key = upload_one(s, tmp, f);
  ASSERT_FALSE(key.empty());

  // a proxy in front of the server: it rewrites signed links to itself and cuts
  // the first download in the middle
  std::atomic<int> downloads{0};
  std::vector<std::string> stream_bodies;
  std::mutex mu;
  std::string proxy_url;
  FakeHttpServer proxy([&](const FakeRequest &rq) {
    HttpRequest fw;
    fw.method = rq.method;
    fw.url = s.url() + rq.target;
    for (const auto &hd : rq.headers)
      if (hd.first == "authorization" || hd.first == "content-type") fw.headers.push_back(hd);
    fw.body = rq.body;
    HttpResponse r = http_do(fw);
    FakeResponse out;
    out.status = r.status;
    out.body = r.body;
    if (rq.path == "/v1/data/stream") {
      std::lock_guard<std::mutex> lock(mu);
      stream_bodies.push_back(rq.body);
      size_t pos = out.body.find(s.url());
      if (pos != std::string::npos) out.body.replace(pos, s.url().size(), proxy_url);
    }
    if (rq.path.rfind("/signed/stream/", 0) == 0 && downloads++ == 0)
      out.cut_after = static_cast<long long>(out.body.size() * 6 / 10);
    out.headers.push_back({"Content-Type", r.header("content-type")});
    return out;
  });
  proxy_url = proxy.url();
  pl_http *h = open_api(proxy.url(), s.key());
  pl_export_options o;
  memset(&o, 0, sizeof o);
  o.recording = key.c_str();
  o.include_attachments = 1;
  std::string out = tmp.file("joined.mcap");
  o.out_path = out.c_str();
  o.verify_against = f.c_str();
  pl_export_result res;
  pl_error_info err;
  ASSERT_EQ(pl_export_run(h, &o, &res, &err), PL_OK) << err.msg << "\n"
                                                     << diffs_text(res.diffs, res.n_diffs);
  EXPECT_EQ(res.parts, 2);
  EXPECT_EQ(res.messages, st.messages);  // none lost, none twice
  EXPECT_EQ(res.doctor_errors, 0u);
  EXPECT_EQ(downloads.load(), 2);
  ASSERT_EQ(stream_bodies.size(), 2u);
  Json second = Json::parse(stream_bodies[1]);
  EXPECT_TRUE(second.has("start"));  // asked again from the last complete log time
  EXPECT_TRUE(second.has("end"));
  // the signed links never saw the key
  for (const auto &rq : proxy.requests()) {
    if (rq.path.rfind("/signed/", 0) == 0) {
      EXPECT_FALSE(rq.has_header("authorization"));
    }
  }
  // attachments were written once
  mcap_source src;
  mcap_error_info me;
  ASSERT_EQ(mcap_source_open_file(&src, out.c_str(), &me), MCAP_OK);
  mcap_reader *r = nullptr;
  ASSERT_EQ(mcap_reader_open(&r, &src, nullptr, &me), MCAP_OK);
  EXPECT_EQ(mcap_reader_attachment_count(r), 1u);
  mcap_reader_free(r);
  pl_export_result_dispose(&res);
  pl_http_free(h);
}

TEST(ClientExport, TheFilesAreLeftCleanOnFailure) {
  TempDir tmp;
  TestServer s(tmp.file("data"));
  ASSERT_TRUE(s.ok());
  pl_http *h = open_api(s.url(), s.key());
  pl_export_options o;
  memset(&o, 0, sizeof o);
  o.recording = "no-such-recording";
  std::string out = tmp.file("x.mcap");
  o.out_path = out.c_str();
  pl_export_result res;
  pl_error_info err;
  EXPECT_EQ(pl_export_run(h, &o, &res, &err), PL_ENOTFOUND);
  EXPECT_NE(access(out.c_str(), F_OK), 0);
  EXPECT_NE(access((out + ".part0").c_str(), F_OK), 0);
  o.recording = nullptr;
  o.device_name = "robot";
  EXPECT_EQ(pl_export_run(h, &o, &res, &err), PL_EINVAL);  // a device needs start and end
  pl_http_free(h);
}
