// test_export.cc - pl_export_write over lake recordings: the export of a whole
// recording is the original message stream (ids, sequence, times, bytes) in
// log-time order; topic and time filters; last message per channel before the
// start; attachments on request; several recordings merged; the output is
// produced into a sink as it goes.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "import_fixtures.h"
#include "tmpdir.h"

using namespace import_test;
using mcapkit_test::TempDir;

namespace {

std::string lake_of(const std::string &in, const std::string &dir) {
  pl_lake_result res{};
  pl_error_info err{};
  EXPECT_EQ(pl_lake_write(in.c_str(), dir.c_str(), nullptr, &res, &err), PL_OK) << err.msg;
  std::string rec = dir + "/" + (res.recording_dir ? res.recording_dir : "");
  pl_lake_result_dispose(&res);
  return rec;
}

// Export into a file (through a file sink, so nothing is held in memory).
int export_to(const std::string &out, pl_export_request req, std::string *msg = nullptr) {
  mcap_sink sink;
  mcap_error_info e{};
  EXPECT_EQ(mcap_sink_open_file(&sink, out.c_str(), &e), MCAP_OK);
  pl_error_info err{};
  int rc = pl_export_write(&req, &sink, &err);
  if (msg) *msg = err.msg;
  if (rc == PL_OK) {
    EXPECT_EQ(mcap_sink_commit(&sink, &e), MCAP_OK);
  }
  mcap_sink_close(&sink, nullptr);
  return rc;
}

void expect_log_time_order(const std::vector<Msg> &v) {
  for (size_t i = 1; i < v.size(); i++) ASSERT_LE(v[i - 1].log_time, v[i].log_time) << i;
}

}  // namespace

TEST(Export, WholeRecordingIsTheOriginalMessageStream) {
  TempDir tmp;
  std::string in = tmp.file("rec.mcap"), out = tmp.file("out.mcap");
  synth(in, robot(1, 21));
  std::string rec = lake_of(in, tmp.file("lake"));
  const char *dirs[] = {rec.c_str()};
  pl_export_request req{};
  req.recording_dirs = dirs;
  req.n_recording_dirs = 1;
  std::string msg;
  ASSERT_EQ(export_to(out, req, &msg), PL_OK) << msg;
  EXPECT_EQ(doctor_errors(out), 0u);
  std::vector<Msg> want = read_messages(in), got = read_messages(out, MCAP_ORDER_FILE);
  expect_log_time_order(got);
  ASSERT_EQ(got.size(), want.size());
  // same messages (ties in log time may interleave topics differently)
  std::vector<Msg> a = want, b = got;
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  EXPECT_TRUE(a == b);
  // and per topic in the same order
  std::map<std::string, std::vector<Msg>> ta, tb;
  for (auto &m : want) ta[m.topic].push_back(m);
  for (auto &m : got) tb[m.topic].push_back(m);
  EXPECT_TRUE(ta == tb);
}

TEST(Export, TopicAndTimeFilters) {
  TempDir tmp;
  std::string in = tmp.file("rec.mcap"), out = tmp.file("out.mcap");
  pl_synth_stats st = synth(in, robot(2, 22));
  std::string rec = lake_of(in, tmp.file("lake"));
  const char *dirs[] = {rec.c_str()};
  const char *topics[] = {"/imu", "/tf", "/nonexistent"};
  pl_export_request req{};
  req.recording_dirs = dirs;
  req.n_recording_dirs = 1;
  req.topics = topics;
  req.n_topics = 3;
  req.has_start = req.has_end = 1;
  req.start = st.start_time + kSec / 2;
  req.end = st.start_time + kSec;
  req.compression = MCAP_COMPRESSION_LZ4;
  ASSERT_EQ(export_to(out, req), PL_OK);
  std::vector<Msg> got = read_messages(out, MCAP_ORDER_FILE);
  expect_log_time_order(got);
  std::vector<Msg> want;
  for (auto &m : read_messages(in))
    if ((m.topic == "/imu" || m.topic == "/tf") && m.log_time >= req.start && m.log_time <= req.end)
      want.push_back(m);
  ASSERT_EQ(got.size(), want.size());
  std::sort(got.begin(), got.end());
  std::sort(want.begin(), want.end());
  EXPECT_TRUE(got == want);
  // only the selected topics' channels are in the output
  mcap_source src;
  mcap_error_info e{};
  ASSERT_EQ(mcap_source_open_file(&src, out.c_str(), &e), MCAP_OK);
  mcap_reader *r = nullptr;
  ASSERT_EQ(mcap_reader_open(&r, &src, nullptr, &e), MCAP_OK);
  EXPECT_EQ(mcap_reader_channel_count(r), 2u);
  EXPECT_STREQ(std::string(mcap_reader_chunk_at(r, 0)->compression.data, 3).c_str(), "lz4");
  mcap_reader_free(r);
}

TEST(Export, LastPerChannelAddsTheLatestMessageBeforeStart) {
  TempDir tmp;
  std::string in = tmp.file("rec.mcap"), out = tmp.file("out.mcap");
  pl_synth_stats st = synth(in, robot(3, 23));
  std::string rec = lake_of(in, tmp.file("lake"));
  const char *dirs[] = {rec.c_str()};
  pl_export_request req{};
  req.recording_dirs = dirs;
  req.n_recording_dirs = 1;
  req.has_start = req.has_end = 1;
  req.start = st.start_time + 2 * kSec;
  req.end = st.start_time + 2 * kSec + kSec / 10;
  req.last_per_channel = 1;
  ASSERT_EQ(export_to(out, req), PL_OK);
  std::vector<Msg> got = read_messages(out, MCAP_ORDER_FILE);
  expect_log_time_order(got);
  std::vector<Msg> all = read_messages(in);
  std::map<uint16_t, Msg> last;  // latest before start per channel
  std::vector<Msg> want;
  for (auto &m : all) {
    if (m.log_time < req.start) last[m.channel] = m;
    if (m.log_time >= req.start && m.log_time <= req.end) want.push_back(m);
  }
  for (auto &kv : last) want.push_back(kv.second);
  ASSERT_EQ(got.size(), want.size());
  std::sort(got.begin(), got.end());
  std::sort(want.begin(), want.end());
  EXPECT_TRUE(got == want);
  // /diagnostics (1 Hz) has nothing in the 100 ms window but its last message is there
  bool diag = false;
  for (auto &m : got) diag |= m.topic == "/diagnostics";
  EXPECT_TRUE(diag);
}

TEST(Export, AttachmentsWhenAskedAndSeveralRecordings) {
  TempDir tmp;
  std::string a = tmp.file("a.mcap"), b = tmp.file("b.mcap"), out = tmp.file("out.mcap");
  pl_synth_options oa = robot(1, 31), ob = robot(1, 31);
  ob.seed = 32;  // a different start time, same topics and channel ids
  synth(a, oa);
  synth(b, ob);
  std::string ra = lake_of(a, tmp.file("lake")), rb = lake_of(b, tmp.file("lake"));
  ASSERT_NE(ra, rb);
  const char *dirs[] = {ra.c_str(), rb.c_str()};
  pl_export_request req{};
  req.recording_dirs = dirs;
  req.n_recording_dirs = 2;
  req.include_attachments = 1;
  ASSERT_EQ(export_to(out, req), PL_OK);
  EXPECT_EQ(doctor_errors(out), 0u);
  std::vector<Msg> got = read_messages(out, MCAP_ORDER_FILE);
  expect_log_time_order(got);
  EXPECT_EQ(got.size(), read_messages(a).size() + read_messages(b).size());
  mcap_source src;
  mcap_error_info e{};
  ASSERT_EQ(mcap_source_open_file(&src, out.c_str(), &e), MCAP_OK);
  mcap_reader *r = nullptr;
  ASSERT_EQ(mcap_reader_open(&r, &src, nullptr, &e), MCAP_OK);
  EXPECT_EQ(mcap_reader_attachment_count(r), 4u);  // two per robot recording
  // identical channel definitions are shared; the recordings differ only in data
  EXPECT_EQ(mcap_reader_channel_count(r), 7u);
  mcap_reader_free(r);
}

TEST(Export, BadRequests) {
  pl_export_request req{};
  mcap_sink sink;
  ASSERT_EQ(mcap_sink_memory(&sink, 0), MCAP_OK);
  pl_error_info err{};
  req.has_start = req.has_end = 1;
  req.start = 10;
  req.end = 5;
  EXPECT_EQ(pl_export_write(&req, &sink, &err), PL_EINVAL);
  const char *dirs[] = {"/nonexistent/lake/dev/key"};
  req = {};
  req.recording_dirs = dirs;
  req.n_recording_dirs = 1;
  EXPECT_EQ(pl_export_write(&req, &sink, &err), PL_EIO);
  mcap_sink_close(&sink, nullptr);
}
