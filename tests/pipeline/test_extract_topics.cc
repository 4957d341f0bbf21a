// test_extract_topics.cc - pl_extract_topics (pipeline/decode/extract.c): decoded messages of
// topics into NDJSON or CSV files, outputs that appear only when complete, messages that do
// not decode skipped and reported, nothing written when a topic cannot be extracted.
#include <dirent.h>
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "mcap/mcap.h"
#include "pipeline/decode.h"
#include "run.h"
#include "tmpdir.h"

using mcapkit_test::read_file_or_throw;
using mcapkit_test::TempDir;

namespace {

// /a and /b/c: JSON messages {"x": i}; the third message of /a is not JSON.
std::vector<uint8_t> recording() {
  mcap_sink sink;
  EXPECT_EQ(mcap_sink_memory(&sink, 0), MCAP_OK);
  mcap_writer *w = nullptr;
  EXPECT_EQ(mcap_writer_open(&w, &sink, nullptr), MCAP_OK);
  uint16_t a = 0, b = 0;
  EXPECT_EQ(mcap_writer_add_channel(w, 0, mcap_str_c("/a"), mcap_str_c("json"), nullptr, 0, &a),
            MCAP_OK);
  EXPECT_EQ(mcap_writer_add_channel(w, 0, mcap_str_c("/b/c"), mcap_str_c("json"), nullptr, 0, &b),
            MCAP_OK);
  for (uint32_t i = 0; i < 4; i++) {
    std::string body = i == 2 ? "{not json" : "{\"x\": " + std::to_string(i) + "}";
    for (uint16_t ch : {a, b}) {
      mcap_message m;
      memset(&m, 0, sizeof m);
      m.channel_id = ch;
      m.sequence = i;
      m.log_time = m.publish_time = 1000 + i;
      m.data.data = reinterpret_cast<const uint8_t *>(body.data());
      m.data.len = body.size();
      if (ch == b && i == 2) continue;  // only /a has the bad message
      EXPECT_EQ(mcap_writer_write_message(w, &m), MCAP_OK);
    }
  }
  EXPECT_EQ(mcap_writer_close(w), MCAP_OK);
  mcap_writer_free(w);
  uint64_t size = 0;
  const uint8_t *p = mcap_sink_memory_data(&sink, &size);
  std::vector<uint8_t> out(p, p + size);
  mcap_sink_close(&sink, nullptr);
  return out;
}

struct Reader {
  std::vector<uint8_t> bytes = recording();
  mcap_reader *r = nullptr;
  Reader() {
    mcap_source src;
    mcap_error_info e;
    EXPECT_EQ(mcap_source_from_memory(&src, bytes.data(), bytes.size()), MCAP_OK);
    EXPECT_EQ(mcap_reader_open(&r, &src, nullptr, &e), MCAP_OK) << e.msg;
  }
  ~Reader() { mcap_reader_free(r); }
};

size_t entries(const std::string &dir) {
  size_t n = 0;
  DIR *d = opendir(dir.c_str());
  if (!d) return 0;
  while (struct dirent *e = readdir(d)) n += e->d_name[0] != '.';
  closedir(d);
  return n;
}

void on_skip(void *user, const char *message, int more) {
  auto *v = static_cast<std::vector<std::string> *>(user);
  v->push_back(std::string(message) + (more ? "" : " (last)"));
}

TEST(ExtractTopics, NdjsonSkipsWhatDoesNotDecode) {
  TempDir tmp;
  Reader rd;
  std::string out = tmp.file("a.ndjson");
  std::vector<std::string> skipped;
  pl_extract_options o;
  memset(&o, 0, sizeof o);
  o.on_skip = on_skip;
  o.user = &skipped;
  const char *topics[] = {"/a"};
  pl_extract_result *res = nullptr;
  pl_decode_error_info err;
  ASSERT_EQ(pl_extract_topics(rd.r, "rec.mcap", topics, 1, out.c_str(), &o, &res, &err),
            PL_DECODE_OK)
      << err.msg;
  ASSERT_EQ(res->n_channels, 1u);
  EXPECT_EQ(res->channels[0].messages, 4u);
  EXPECT_EQ(res->channels[0].skipped, 1u);
  EXPECT_EQ(res->skipped, 1u);
  EXPECT_STREQ(res->channels[0].output, out.c_str());
  ASSERT_EQ(skipped.size(), 1u);
  EXPECT_EQ(skipped[0].rfind("'rec.mcap': ", 0), 0u) << skipped[0];
  std::string text = read_file_or_throw(out);
  size_t lines = 0;
  for (char c : text) lines += c == '\n';
  EXPECT_EQ(lines, 3u);
  EXPECT_NE(text.find("\"message\":{\"x\":3}"), std::string::npos) << text;
  pl_extract_result_free(res);
}

TEST(ExtractTopics, CsvTablesInADirectoryWithTimeRange) {
  TempDir tmp;
  Reader rd;
  std::string dir = tmp.file("tables");
  pl_extract_options o;
  memset(&o, 0, sizeof o);
  o.csv = 1;
  o.to_dir = 1;
  pl_csv_options_init(&o.csv_options);
  o.query.has_start = o.query.has_end = 1;
  o.query.start = 1001;
  o.query.end = 1001;                           // inclusive: one message
  const char *topics[] = {"/a", "/b/c", "/a"};  // named twice: once
  pl_extract_result *res = nullptr;
  pl_decode_error_info err;
  ASSERT_EQ(pl_extract_topics(rd.r, "rec.mcap", topics, 3, dir.c_str(), &o, &res, &err),
            PL_DECODE_OK)
      << err.msg;
  ASSERT_EQ(res->n_channels, 2u);
  EXPECT_EQ(res->channels[1].output, dir + "/b_c.csv");
  EXPECT_EQ(res->channels[0].messages, 1u);
  EXPECT_GE(res->channels[0].columns, 2u);
  std::string csv = read_file_or_throw(dir + "/a.csv");
  EXPECT_EQ(csv.rfind("log_time,log_time_rfc3339", 0), 0u) << csv;
  EXPECT_NE(csv.find("\n1001,"), std::string::npos) << csv;
  EXPECT_EQ(entries(dir), 2u);
  pl_extract_result_free(res);
}

// A topic that is not there stops the run before anything is written (nor a directory made).
TEST(ExtractTopics, NothingWrittenWhenATopicIsMissing) {
  TempDir tmp;
  Reader rd;
  pl_extract_options o;
  memset(&o, 0, sizeof o);
  o.csv = 1;
  o.to_dir = 1;
  pl_csv_options_init(&o.csv_options);
  const char *topics[] = {"/a", "/nope"};
  std::string dir = tmp.file("tables");
  pl_extract_result *res = nullptr;
  pl_decode_error_info err;
  EXPECT_EQ(pl_extract_topics(rd.r, "rec.mcap", topics, 2, dir.c_str(), &o, &res, &err),
            PL_DECODE_EINVAL);
  EXPECT_STREQ(err.msg, "'rec.mcap': no channel has topic '/nope'");
  EXPECT_EQ(res, nullptr);
  EXPECT_EQ(entries(tmp.path()), 0u);
}

}  // namespace
