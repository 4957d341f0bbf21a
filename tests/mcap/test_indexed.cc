// test_indexed.cc - the indexed reader against the streamed reader as reference:
// random files (overlapping chunks, shuffled log times, several channels, empty
// chunks, attachments and metadata in between, with and without summary,
// message indexes and chunk indexes), every query (topic subsets x time ranges
// x three orders x 1 and 2 threads) must return exactly the messages the
// streamed reader finds, filtered and sorted the same way.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "mcap/mcap.h"

namespace {

struct Msg {
  uint16_t channel;
  uint32_t seq;
  uint64_t log_time, publish_time;
  std::string data;
  std::string topic;
  bool operator==(const Msg &o) const {
    return channel == o.channel && seq == o.seq && log_time == o.log_time &&
           publish_time == o.publish_time && data == o.data && topic == o.topic;
  }
};

std::ostream &operator<<(std::ostream &os, const Msg &m) {
  return os << "{ch " << m.channel << " seq " << m.seq << " t " << m.log_time << " " << m.topic
            << "}";
}

struct FileSpec {
  mcap_writer_options opts;
  uint64_t seed;
  int n_messages;
  bool shuffled;
  bool early_dups = true;  // some messages jump back to the first times
  int payload_scale = 1;   // payloads are up to 200 x this many bytes
};

std::vector<uint8_t> make_file(const FileSpec &spec) {
  std::mt19937_64 rng(spec.seed);
  mcap_sink sink;
  EXPECT_EQ(mcap_sink_memory(&sink, 0), MCAP_OK);
  mcap_writer *w = nullptr;
  EXPECT_EQ(mcap_writer_open(&w, &sink, &spec.opts), MCAP_OK);
  uint16_t s1, s2;
  std::string sd = "int32 x\nfloat64 y";
  EXPECT_EQ(mcap_writer_add_schema(w, mcap_str_c("pkg/A"), mcap_str_c("ros2msg"),
                                   {(const uint8_t *)sd.data(), sd.size()}, &s1),
            MCAP_OK);
  EXPECT_EQ(mcap_writer_add_schema(w, mcap_str_c("pkg/B"), mcap_str_c("jsonschema"),
                                   {(const uint8_t *)"{}", 2}, &s2),
            MCAP_OK);
  const char *topics[] = {"/a", "/b", "/c", "/d"};
  uint16_t ch[4];
  mcap_kv kv = {mcap_str_c("k"), mcap_str_c("v")};
  for (int i = 0; i < 4; i++) {
    EXPECT_EQ(mcap_writer_add_channel(w, i == 3 ? 0 : (i % 2 ? s2 : s1), mcap_str_c(topics[i]),
                                      mcap_str_c(i == 3 ? "json" : "cdr"), &kv, i == 0 ? 1 : 0,
                                      &ch[i]),
              MCAP_OK);
  }
  uint64_t t = 1000;
  for (int i = 0; i < spec.n_messages; i++) {
    int c = (int)(rng() % 4);
    if (c == 2 && rng() % 3) c = 0;  // /c is rare
    uint64_t lt = spec.shuffled ? 1000 + rng() % 5000 : (t += rng() % 7);
    if (spec.early_dups && rng() % 10 == 0) lt = 1000 + (rng() % 8);  // duplicates of early times
    std::string data((rng() % 200) * (size_t)spec.payload_scale, '\0');
    for (auto &b : data) b = (char)(rng() & 0xff);
    if (rng() % 97 == 0) data.assign(3000, 'x');  // bigger than small chunk sizes
    mcap_message m = {ch[c], (uint32_t)i, lt, lt - (lt > 3 ? 3 : 0),
                      {(const uint8_t *)data.data(), data.size()}};
    EXPECT_EQ(mcap_writer_write_message(w, &m), MCAP_OK);
    if (rng() % 211 == 0) {
      std::string a(rng() % 300, 'a');
      mcap_attachment at = {lt, 5, mcap_str_c("att.bin"), mcap_str_c("application/octet-stream"),
                            {(const uint8_t *)a.data(), a.size()}, 0};
      EXPECT_EQ(mcap_writer_write_attachment(w, &at), MCAP_OK);
    }
    if (rng() % 307 == 0) {
      mcap_kv md = {mcap_str_c("x"), mcap_str_c("y")};
      EXPECT_EQ(mcap_writer_write_metadata(w, mcap_str_c("meta"), &md, 1), MCAP_OK);
    }
  }
  // A channel registered last: ends up alone in a chunk without messages.
  uint16_t late;
  EXPECT_EQ(mcap_writer_add_channel(w, 0, mcap_str_c("/late"), mcap_str_c("json"), nullptr, 0,
                                    &late),
            MCAP_OK);
  EXPECT_EQ(mcap_writer_close(w), MCAP_OK);
  mcap_writer_free(w);
  uint64_t size = 0;
  const uint8_t *data = mcap_sink_memory_data(&sink, &size);
  std::vector<uint8_t> out(data, data + size);
  mcap_error_info e;
  mcap_sink_close(&sink, &e);
  return out;
}

// All messages in file order, by the streamed reader.
std::vector<Msg> stream_all(const std::vector<uint8_t> &file) {
  mcap_source src;
  EXPECT_EQ(mcap_source_from_memory(&src, file.data(), file.size()), MCAP_OK);
  mcap_stream_reader *r = nullptr;
  EXPECT_EQ(mcap_stream_reader_new(&r, &src, nullptr), MCAP_OK);
  std::vector<Msg> out;
  std::vector<std::string> topics(65536);
  mcap_record rec;
  int rc;
  while ((rc = mcap_stream_reader_next(r, &rec)) == MCAP_OK) {
    if (rec.opcode == MCAP_OP_CHANNEL) {
      topics[rec.u.channel.id].assign(rec.u.channel.topic.data ? rec.u.channel.topic.data : "",
                                      rec.u.channel.topic.len);
    } else if (rec.opcode == MCAP_OP_MESSAGE) {
      const mcap_message &m = rec.u.message;
      out.push_back({m.channel_id, m.sequence, m.log_time, m.publish_time,
                     std::string((const char *)m.data.data, m.data.len), topics[m.channel_id]});
    }
  }
  EXPECT_EQ(rc, MCAP_ITEROVER) << mcap_stream_reader_errmsg(r);
  mcap_stream_reader_free(r);
  return out;
}

std::vector<Msg> expected(const std::vector<Msg> &all, const std::vector<std::string> &topics,
                          bool has_start, uint64_t start, bool has_end, uint64_t end,
                          mcap_read_order order) {
  std::vector<Msg> out;
  for (const auto &m : all) {
    if (!topics.empty() && std::find(topics.begin(), topics.end(), m.topic) == topics.end()) {
      continue;
    }
    if (has_start && m.log_time < start) continue;
    if (has_end && m.log_time > end) continue;
    out.push_back(m);
  }
  if (order != MCAP_ORDER_FILE) {
    std::stable_sort(out.begin(), out.end(),
                     [](const Msg &a, const Msg &b) { return a.log_time < b.log_time; });
    if (order == MCAP_ORDER_REVERSE) std::reverse(out.begin(), out.end());
  }
  return out;
}

// The bytes in a temporary file, removed when the object goes.
struct TempFile {
  std::string path;
  explicit TempFile(const std::vector<uint8_t> &bytes) {
    std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::replace(name.begin(), name.end(), '/', '_');  // parameterized: "Name/3"
    path = ::testing::TempDir() + "mcapkit_indexed_" + std::to_string(getpid()) + "_" + name +
           ".mcap";
    FILE *f = fopen(path.c_str(), "wb");
    EXPECT_NE(f, nullptr) << path;
    if (f) {
      EXPECT_EQ(fwrite(bytes.data(), 1, bytes.size(), f), bytes.size());
      fclose(f);
    }
  }
  ~TempFile() { remove(path.c_str()); }
};

std::vector<Msg> query(const std::vector<uint8_t> &file, int threads, uint64_t budget,
                       bool force_scan, const std::vector<std::string> &topics, bool has_start,
                       uint64_t start, bool has_end, uint64_t end, mcap_read_order order,
                       mcap_iter_stats *stats = nullptr, const std::string &path = "") {
  // With a path: the same bytes through a file source (its windows: workers map the
  // chunks instead of copying them).
  mcap_source src;
  mcap_error_info src_err;
  if (path.empty()) {
    EXPECT_EQ(mcap_source_from_memory(&src, file.data(), file.size()), MCAP_OK);
  } else {
    EXPECT_EQ(mcap_source_open_file(&src, path.c_str(), &src_err), MCAP_OK) << src_err.msg;
  }
  mcap_indexed_options o;
  memset(&o, 0, sizeof o);
  o.threads = threads;
  o.memory_budget = budget;
  o.force_scan = force_scan;
  mcap_reader *r = nullptr;
  mcap_error_info err;
  int rc = mcap_reader_open(&r, &src, &o, &err);
  EXPECT_EQ(rc, MCAP_OK) << err.msg;
  if (rc) return {};
  std::vector<const char *> tp;
  for (const auto &t : topics) tp.push_back(t.c_str());
  mcap_query q;
  memset(&q, 0, sizeof q);
  q.topics = tp.empty() ? nullptr : tp.data();
  q.n_topics = tp.size();
  q.has_start = has_start;
  q.start = start;
  q.has_end = has_end;
  q.end = end;
  q.order = order;
  mcap_message_iter *it = nullptr;
  EXPECT_EQ(mcap_reader_query(r, &q, &it), MCAP_OK) << mcap_reader_errmsg(r);
  std::vector<Msg> out;
  mcap_message_view v;
  while ((rc = mcap_message_iter_next(it, &v)) == MCAP_OK) {
    out.push_back({v.message.channel_id, v.message.sequence, v.message.log_time,
                   v.message.publish_time,
                   std::string((const char *)v.message.data.data, v.message.data.len),
                   std::string(v.channel->topic.data ? v.channel->topic.data : "",
                               v.channel->topic.len)});
  }
  EXPECT_EQ(rc, MCAP_ITEROVER) << mcap_reader_errmsg(r);
  if (stats) mcap_message_iter_stats(it, stats);
  mcap_message_iter_free(it);
  mcap_reader_free(r);
  return out;
}

struct Variant {
  const char *name;
  void (*apply)(mcap_writer_options *);
};

const Variant kVariants[] = {
    {"full", [](mcap_writer_options *) {}},
    {"no_summary", [](mcap_writer_options *o) { o->no_summary = 1; }},
    {"no_message_index", [](mcap_writer_options *o) { o->no_message_index = 1; }},
    {"no_chunk_index", [](mcap_writer_options *o) { o->no_chunk_index = 1; }},
    {"unchunked", [](mcap_writer_options *o) { o->no_chunking = 1; }},
    {"lz4", [](mcap_writer_options *o) { o->compression = MCAP_COMPRESSION_LZ4; }},
    {"none", [](mcap_writer_options *o) { o->compression = MCAP_COMPRESSION_NONE; }},
    {"no_stats", [](mcap_writer_options *o) { o->no_statistics = 1; }},
};

class IndexedVsStreamed : public ::testing::TestWithParam<int> {};

TEST_P(IndexedVsStreamed, EveryQueryMatches) {
  const Variant &v = kVariants[GetParam() % (sizeof kVariants / sizeof kVariants[0])];
  SCOPED_TRACE(v.name);
  for (int shuffled = 0; shuffled < 2; shuffled++) {
    FileSpec spec;
    memset(&spec.opts, 0, sizeof spec.opts);
    spec.opts.chunk_size = 2048;
    v.apply(&spec.opts);
    spec.seed = 42 + (uint64_t)GetParam() * 7 + (uint64_t)shuffled;
    spec.n_messages = 600;
    spec.shuffled = shuffled;
    std::vector<uint8_t> file = make_file(spec);
    std::vector<Msg> all = stream_all(file);
    ASSERT_EQ(all.size(), 600u);
    TempFile tmp(file);
    const std::vector<std::vector<std::string>> topic_sets = {
        {}, {"/a"}, {"/b", "/d"}, {"/c"}, {"/nope"}};
    struct Range {
      bool hs;
      uint64_t s;
      bool he;
      uint64_t e;
    };
    const Range ranges[] = {{false, 0, false, 0}, {true, 2000, false, 0}, {false, 0, true, 1500},
                            {true, 1200, true, 1300}, {true, 1003, true, 1003}};
    for (const auto &ts : topic_sets) {
      for (const auto &rg : ranges) {
        for (int order = 0; order < 3; order++) {
          auto want = expected(all, ts, rg.hs, rg.s, rg.he, rg.e, (mcap_read_order)order);
          for (int threads = 1; threads <= 2; threads++) {
            auto got = query(file, threads, 0, false, ts, rg.hs, rg.s, rg.he, rg.e,
                             (mcap_read_order)order);
            ASSERT_EQ(got, want) << "topics " << ts.size() << " range " << rg.s << "-" << rg.e
                                 << " order " << order << " threads " << threads
                                 << " shuffled " << shuffled;
          }
          for (int threads = 1; threads <= 3; threads++) {
            auto got = query(file, threads, 0, false, ts, rg.hs, rg.s, rg.he, rg.e,
                             (mcap_read_order)order, nullptr, tmp.path);
            ASSERT_EQ(got, want) << "file source: topics " << ts.size() << " range " << rg.s
                                 << "-" << rg.e << " order " << order << " threads " << threads
                                 << " shuffled " << shuffled;
          }
        }
      }
    }
    // The scan fallback gives the same answers.
    auto want = expected(all, {}, false, 0, false, 0, MCAP_ORDER_LOG_TIME);
    ASSERT_EQ(query(file, 1, 0, true, {}, false, 0, false, 0, MCAP_ORDER_LOG_TIME), want);
    // A tiny memory budget forces evictions but not a different answer.
    ASSERT_EQ(query(file, 2, 1, false, {}, false, 0, false, 0, MCAP_ORDER_LOG_TIME), want);
  }
}

INSTANTIATE_TEST_SUITE_P(Variants, IndexedVsStreamed, ::testing::Range(0, 8));

// Files of several of the workers' 8 MiB windows, chunks straddling their ends, through a
// file source: every thread count, order, a sparse topic, a tiny budget (units dropped and
// decompressed again while windows come and go) give the streamed reader's answer.
TEST(IndexedFile, ManyWindowsMatchStreamed) {
  for (mcap_compression comp :
       {MCAP_COMPRESSION_ZSTD, MCAP_COMPRESSION_LZ4, MCAP_COMPRESSION_NONE}) {
    SCOPED_TRACE((int)comp);
    FileSpec spec;
    memset(&spec.opts, 0, sizeof spec.opts);
    spec.opts.chunk_size = 300 * 1024;
    spec.opts.compression = comp;
    spec.seed = 1234 + (uint64_t)comp;
    spec.n_messages = 2200;
    spec.shuffled = false;
    spec.payload_scale = 120;  // ~12 KB a message: ~26 MB of payload
    std::vector<uint8_t> file = make_file(spec);
    ASSERT_GT(file.size(), (size_t)20 << 20);
    std::vector<Msg> all = stream_all(file);
    TempFile tmp(file);
    for (int order = 0; order < 3; order++) {
      auto want = expected(all, {}, false, 0, false, 0, (mcap_read_order)order);
      for (int threads = 1; threads <= 3; threads++) {
        mcap_iter_stats st;
        auto got = query(file, threads, 0, false, {}, false, 0, false, 0, (mcap_read_order)order,
                         &st, tmp.path);
        ASSERT_EQ(got.size(), want.size()) << "order " << order << " threads " << threads;
        ASSERT_TRUE(got == want) << "order " << order << " threads " << threads;
      }
    }
    auto want_c = expected(all, {"/c"}, false, 0, false, 0, MCAP_ORDER_LOG_TIME);
    ASSERT_FALSE(want_c.empty());
    EXPECT_TRUE(query(file, 2, 0, false, {"/c"}, false, 0, false, 0, MCAP_ORDER_LOG_TIME,
                      nullptr, tmp.path) == want_c);
    auto want_all = expected(all, {}, false, 0, false, 0, MCAP_ORDER_REVERSE);
    EXPECT_TRUE(query(file, 3, 1, false, {}, false, 0, false, 0, MCAP_ORDER_REVERSE, nullptr,
                      tmp.path) == want_all);
  }
}

TEST(Indexed, WindowDecompressesOnlyOverlappingChunks) {
  FileSpec spec;
  memset(&spec.opts, 0, sizeof spec.opts);
  spec.opts.chunk_size = 4096;
  spec.seed = 7;
  spec.n_messages = 2000;
  spec.shuffled = false;
  spec.early_dups = false;
  std::vector<uint8_t> file = make_file(spec);
  mcap_iter_stats all_stats, win_stats;
  auto all = query(file, 1, 0, false, {}, false, 0, false, 0, MCAP_ORDER_LOG_TIME, &all_stats);
  ASSERT_FALSE(all.empty());
  uint64_t mid = all[all.size() / 2].log_time;
  auto win = query(file, 1, 0, false, {}, true, mid, true, mid + 20, MCAP_ORDER_LOG_TIME,
                   &win_stats);
  ASSERT_FALSE(win.empty());
  EXPECT_LE(win_stats.chunks_decompressed, 3u);
  EXPECT_GT(all_stats.chunks_decompressed, 20u);
}

TEST(Indexed, SummaryGivesSchemasChannelsStatistics) {
  FileSpec spec;
  memset(&spec.opts, 0, sizeof spec.opts);
  spec.seed = 3;
  spec.n_messages = 100;
  spec.shuffled = false;
  std::vector<uint8_t> file = make_file(spec);
  mcap_source src;
  ASSERT_EQ(mcap_source_from_memory(&src, file.data(), file.size()), MCAP_OK);
  mcap_reader *r = nullptr;
  mcap_error_info err;
  ASSERT_EQ(mcap_reader_open(&r, &src, nullptr, &err), MCAP_OK) << err.msg;
  const char *why;
  EXPECT_EQ(mcap_reader_index_source(r, &why), MCAP_INDEX_FROM_SUMMARY);
  EXPECT_EQ(mcap_reader_schema_count(r), 2u);
  EXPECT_EQ(mcap_reader_channel_count(r), 5u);
  int from_file = 0;
  const mcap_statistics *st = mcap_reader_statistics(r, &from_file);
  EXPECT_TRUE(from_file);
  EXPECT_EQ(st->message_count, 100u);
  uint64_t sum = 0;
  for (size_t i = 0; i < mcap_reader_channel_count(r); i++) {
    sum += mcap_reader_channel_message_count(r, mcap_reader_channel_at(r, i)->id);
  }
  EXPECT_EQ(sum, 100u);
  mcap_reader_free(r);
}

TEST(Indexed, ScanWhenSummaryMissingSaysWhy) {
  FileSpec spec;
  memset(&spec.opts, 0, sizeof spec.opts);
  spec.opts.no_summary = 1;
  spec.seed = 5;
  spec.n_messages = 50;
  spec.shuffled = false;
  std::vector<uint8_t> file = make_file(spec);
  mcap_source src;
  ASSERT_EQ(mcap_source_from_memory(&src, file.data(), file.size()), MCAP_OK);
  mcap_reader *r = nullptr;
  mcap_error_info err;
  ASSERT_EQ(mcap_reader_open(&r, &src, nullptr, &err), MCAP_OK) << err.msg;
  const char *why;
  EXPECT_EQ(mcap_reader_index_source(r, &why), MCAP_INDEX_FROM_SCAN);
  EXPECT_STREQ(why, "no summary section");
  EXPECT_EQ(mcap_reader_statistics(r, nullptr)->message_count, 50u);
  mcap_reader_free(r);
}

TEST(Indexed, CorruptSummaryCrcFallsBackToScan) {
  FileSpec spec;
  memset(&spec.opts, 0, sizeof spec.opts);
  spec.seed = 9;
  spec.n_messages = 80;
  spec.shuffled = true;
  std::vector<uint8_t> file = make_file(spec);
  // Flip a byte inside the summary (just before the footer's summary offsets).
  uint64_t footer = file.size() - 8 - 29;
  uint64_t summary_start = 0;
  for (int i = 0; i < 8; i++) summary_start |= (uint64_t)file[footer + 9 + i] << (8 * i);
  ASSERT_GT(summary_start, 0u);
  file[summary_start + 20] ^= 0x40;
  auto got = query(file, 1, 0, false, {}, false, 0, false, 0, MCAP_ORDER_LOG_TIME);
  EXPECT_EQ(got.size(), 80u);
}

TEST(Indexed, ChunkIndexPointingAtWrongRecordIsAClearError) {
  FileSpec spec;
  memset(&spec.opts, 0, sizeof spec.opts);
  spec.opts.no_summary_crc = 1;  // so the lie is believed
  spec.opts.chunk_size = 1024;
  spec.seed = 11;
  spec.n_messages = 200;
  spec.shuffled = false;
  std::vector<uint8_t> file = make_file(spec);
  mcap_source src;
  ASSERT_EQ(mcap_source_from_memory(&src, file.data(), file.size()), MCAP_OK);
  mcap_reader *r = nullptr;
  mcap_error_info err;
  ASSERT_EQ(mcap_reader_open(&r, &src, nullptr, &err), MCAP_OK) << err.msg;
  ASSERT_GT(mcap_reader_chunk_count(r), 2u);
  // Point the second chunk index one byte off (edit the in-memory view's source bytes).
  mcap_chunk_index *ci = const_cast<mcap_chunk_index *>(mcap_reader_chunk_at(r, 1));
  ci->chunk_start_offset += 1;
  mcap_message_iter *it = nullptr;
  ASSERT_EQ(mcap_reader_query(r, nullptr, &it), MCAP_OK);
  mcap_message_view v;
  int rc;
  while ((rc = mcap_message_iter_next(it, &v)) == MCAP_OK) {
  }
  EXPECT_EQ(rc, MCAP_ECHUNK_OFFSET);
  EXPECT_NE(std::string(mcap_reader_errmsg(r)).find("chunk index points at"), std::string::npos)
      << mcap_reader_errmsg(r);
  mcap_message_iter_free(it);
  mcap_reader_free(r);
}

}  // namespace

namespace {

uint64_t rd64(const std::vector<uint8_t> &f, uint64_t at) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v |= (uint64_t)f[at + i] << (8 * i);
  return v;
}

void wr64(std::vector<uint8_t> &f, uint64_t at, uint64_t v) {
  for (int i = 0; i < 8; i++) f[at + i] = (uint8_t)(v >> (8 * i));
}

// Offset of the first summary record with `opcode`, and disable the summary CRC so edits stick.
uint64_t summary_record(std::vector<uint8_t> &f, uint8_t opcode) {
  uint64_t footer = f.size() - 8 - 29;
  uint64_t pos = rd64(f, footer + 9);
  uint64_t end = rd64(f, footer + 17) ? rd64(f, footer + 17) : footer;
  for (int i = 0; i < 4; i++) f[footer + 25 + i] = 0;
  while (pos < end) {
    if (f[pos] == opcode) return pos;
    pos += 9 + rd64(f, pos + 1);
  }
  return 0;
}

std::vector<uint8_t> plain_file(uint64_t seed, int n) {
  FileSpec spec;
  memset(&spec.opts, 0, sizeof spec.opts);
  spec.opts.chunk_size = 2048;
  spec.seed = seed;
  spec.n_messages = n;
  spec.shuffled = false;
  return make_file(spec);
}

TEST(IndexedCorrupt, ChunkIndexPastTheEndFallsBackToScan) {
  auto file = plain_file(21, 300);
  uint64_t ci = summary_record(file, MCAP_OP_CHUNK_INDEX);
  ASSERT_GT(ci, 0u);
  wr64(file, ci + 9 + 16, file.size() + 100);  // chunk_start_offset beyond the file
  mcap_source src;
  ASSERT_EQ(mcap_source_from_memory(&src, file.data(), file.size()), MCAP_OK);
  mcap_reader *r = nullptr;
  mcap_error_info err;
  ASSERT_EQ(mcap_reader_open(&r, &src, nullptr, &err), MCAP_OK) << err.msg;
  const char *why;
  EXPECT_EQ(mcap_reader_index_source(r, &why), MCAP_INDEX_FROM_SCAN);
  EXPECT_NE(std::string(why).find("outside the data section"), std::string::npos) << why;
  mcap_reader_free(r);
  EXPECT_EQ(query(file, 1, 0, false, {}, false, 0, false, 0, MCAP_ORDER_LOG_TIME).size(), 300u);
}

TEST(IndexedCorrupt, LyingStatisticsDoNotChangeQueries) {
  auto file = plain_file(22, 250);
  uint64_t st = summary_record(file, MCAP_OP_STATISTICS);
  ASSERT_GT(st, 0u);
  wr64(file, st + 9, 7);  // message_count: 7 instead of 250
  auto got = query(file, 2, 0, false, {}, false, 0, false, 0, MCAP_ORDER_LOG_TIME);
  EXPECT_EQ(got.size(), 250u);
}

TEST(IndexedCorrupt, MessageIndexOffsetsOutOfRangeAreHarmless) {
  auto file = plain_file(23, 250);
  uint64_t ci = summary_record(file, MCAP_OP_CHUNK_INDEX);
  ASSERT_GT(ci, 0u);
  // message_index_offsets map starts at content byte 32: u32 length then (u16, u64) entries.
  uint64_t map = ci + 9 + 32;
  uint32_t len = (uint32_t)(file[map] | file[map + 1] << 8 | file[map + 2] << 16 | file[map + 3] << 24);
  ASSERT_GE(len, 10u);
  wr64(file, map + 4 + 2, UINT64_MAX - 5);  // first entry's offset points nowhere
  auto all = stream_all(file);
  auto got = query(file, 1, 0, false, {}, false, 0, false, 0, MCAP_ORDER_FILE);
  EXPECT_EQ(got, all);
}

TEST(IndexedCorrupt, TruncatedFileIsIndexedAsFarAsPossible) {
  auto file = plain_file(24, 400);
  auto all = stream_all(file);
  file.resize(file.size() * 2 / 3);
  mcap_source src;
  ASSERT_EQ(mcap_source_from_memory(&src, file.data(), file.size()), MCAP_OK);
  mcap_reader *r = nullptr;
  mcap_error_info err;
  ASSERT_EQ(mcap_reader_open(&r, &src, nullptr, &err), MCAP_OK) << err.msg;
  const char *why;
  EXPECT_EQ(mcap_reader_index_source(r, &why), MCAP_INDEX_FROM_SCAN);
  mcap_reader_free(r);
  auto got = query(file, 1, 0, false, {}, false, 0, false, 0, MCAP_ORDER_FILE);
  ASSERT_GT(got.size(), 100u);
  ASSERT_LT(got.size(), all.size());
  for (size_t i = 0; i < got.size(); i++) ASSERT_EQ(got[i], all[i]) << i;
}

TEST(IndexedAttachments, ReadWholeAndStreamedWithCrc) {
  mcap_sink sink;
  ASSERT_EQ(mcap_sink_memory(&sink, 0), MCAP_OK);
  mcap_writer *w = nullptr;
  ASSERT_EQ(mcap_writer_open(&w, &sink, nullptr), MCAP_OK);
  std::string big(300000, '\0');
  for (size_t i = 0; i < big.size(); i++) big[i] = (char)(i * 7 + i / 1000);
  ASSERT_EQ(mcap_writer_attachment_begin(w, 5, 6, mcap_str_c("big.bin"), mcap_str_c("x/y"),
                                         big.size()),
            MCAP_OK);
  for (size_t i = 0; i < big.size(); i += 4096) {
    ASSERT_EQ(mcap_writer_attachment_write(w, big.data() + i, std::min<size_t>(4096, big.size() - i)),
              MCAP_OK);
  }
  ASSERT_EQ(mcap_writer_attachment_end(w), MCAP_OK);
  mcap_kv kv = {mcap_str_c("a"), mcap_str_c("b")};
  ASSERT_EQ(mcap_writer_write_metadata(w, mcap_str_c("m"), &kv, 1), MCAP_OK);
  ASSERT_EQ(mcap_writer_close(w), MCAP_OK);
  mcap_writer_free(w);
  uint64_t size;
  const uint8_t *d = mcap_sink_memory_data(&sink, &size);
  std::vector<uint8_t> file(d, d + size);
  mcap_error_info e;
  mcap_sink_close(&sink, &e);

  for (int corrupt = 0; corrupt < 2; corrupt++) {
    if (corrupt) {
      // Flip a data byte in the middle of the attachment.
      std::vector<uint8_t> pat(big.begin() + 1000, big.begin() + 1016);
      auto it = std::search(file.begin(), file.end(), pat.begin(), pat.end());
      ASSERT_NE(it, file.end());
      *it ^= 1;
    }
    mcap_source src;
    ASSERT_EQ(mcap_source_from_memory(&src, file.data(), file.size()), MCAP_OK);
    mcap_reader *r = nullptr;
    ASSERT_EQ(mcap_reader_open(&r, &src, nullptr, &e), MCAP_OK) << e.msg;
    ASSERT_EQ(mcap_reader_attachment_count(r), 1u);
    const mcap_attachment_index *ai = mcap_reader_attachment_at(r, 0);
    mcap_attachment a;
    int rc = mcap_reader_read_attachment(r, ai, &a);
    if (!corrupt) {
      ASSERT_EQ(rc, MCAP_OK) << mcap_reader_errmsg(r);
      EXPECT_EQ(std::string((const char *)a.data.data, a.data.len), big);
    } else {
      EXPECT_EQ(rc, MCAP_ECRC);
    }
    mcap_attachment_stream *s = nullptr;
    ASSERT_EQ(mcap_reader_attachment_open(r, ai, &s, &a), MCAP_OK);
    EXPECT_EQ(a.data.len, big.size());
    std::string got;
    char buf[10000];
    size_t n;
    while ((rc = mcap_attachment_stream_read(s, buf, sizeof buf, &n)) == MCAP_OK && n) got.append(buf, n);
    mcap_attachment_stream_free(s);
    if (!corrupt) {
      EXPECT_EQ(rc, MCAP_OK);
      EXPECT_EQ(got, big);
    } else {
      EXPECT_EQ(rc, MCAP_ECRC);
    }
    mcap_metadata m;
    ASSERT_EQ(mcap_reader_read_metadata(r, mcap_reader_metadata_at(r, 0), &m), MCAP_OK);
    EXPECT_EQ(std::string(m.name.data, m.name.len), "m");
    mcap_reader_free(r);
  }
}

}  // namespace

TEST(IndexedCorrupt, BadCrcInStoredChunkIsReportedWithAndWithoutWorkers) {
  // Stored (uncompressed) chunks read by a worker are used in place, without the copy a
  // decompression makes: their CRC must still be checked, and the error must name the chunk.
  FileSpec spec;
  memset(&spec.opts, 0, sizeof spec.opts);
  spec.opts.chunk_size = 4096;
  spec.opts.compression = MCAP_COMPRESSION_NONE;
  spec.seed = 77;
  spec.n_messages = 400;
  spec.shuffled = false;
  std::vector<uint8_t> file = make_file(spec);
  mcap_source src;
  ASSERT_EQ(mcap_source_from_memory(&src, file.data(), file.size()), MCAP_OK);
  mcap_reader *r = nullptr;
  mcap_error_info err;
  ASSERT_EQ(mcap_reader_open(&r, &src, nullptr, &err), MCAP_OK) << err.msg;
  ASSERT_GT(mcap_reader_chunk_count(r), 4u);
  const mcap_chunk_index *ci = mcap_reader_chunk_at(r, mcap_reader_chunk_count(r) / 2);
  uint64_t chunk_at = ci->chunk_start_offset;
  uint64_t flip = ci->chunk_start_offset + ci->chunk_length - 30;  // inside its records
  mcap_reader_free(r);
  file[flip] ^= 0x01;
  for (int threads : {1, 2}) {
    SCOPED_TRACE(threads);
    ASSERT_EQ(mcap_source_from_memory(&src, file.data(), file.size()), MCAP_OK);
    mcap_indexed_options o;
    memset(&o, 0, sizeof o);
    o.threads = threads;
    ASSERT_EQ(mcap_reader_open(&r, &src, &o, &err), MCAP_OK) << err.msg;
    mcap_query q;
    memset(&q, 0, sizeof q);
    q.order = MCAP_ORDER_LOG_TIME;
    mcap_message_iter *it = nullptr;
    ASSERT_EQ(mcap_reader_query(r, &q, &it), MCAP_OK);
    mcap_message_view v;
    int rc;
    while ((rc = mcap_message_iter_next(it, &v)) == MCAP_OK) {
    }
    EXPECT_EQ(rc, MCAP_ECRC) << mcap_reader_errmsg(r);
    EXPECT_NE(std::string(mcap_reader_errmsg(r)).find(std::to_string(chunk_at)),
              std::string::npos)
        << mcap_reader_errmsg(r);
    mcap_message_iter_free(it);
    mcap_reader_free(r);
  }
}

// mcap_reader_channel_time_range: each channel's first and last log time, as the messages
// say, in every file variant (message indexes read where they exist, queries where not,
// messages outside chunks, the scan); no messages or an unknown channel is MCAP_ITEROVER.
TEST(IndexedChannelTimes, MatchTheMessagesInEveryVariant) {
  for (const Variant &v : kVariants) {
    for (int shuffled = 0; shuffled < 2; shuffled++) {
      for (int force_scan = 0; force_scan < 2; force_scan++) {
        SCOPED_TRACE(std::string(v.name) + (shuffled ? " shuffled" : "") +
                     (force_scan ? " scan" : ""));
        FileSpec spec;
        memset(&spec.opts, 0, sizeof spec.opts);
        spec.opts.chunk_size = 2048;
        v.apply(&spec.opts);
        spec.seed = 7 + (uint64_t)shuffled;
        spec.n_messages = 500;
        spec.shuffled = shuffled;
        std::vector<uint8_t> file = make_file(spec);
        std::vector<Msg> all = stream_all(file);
        std::map<uint16_t, std::pair<uint64_t, uint64_t>> want;
        for (const Msg &m : all) {
          auto it = want.find(m.channel);
          if (it == want.end()) {
            want[m.channel] = {m.log_time, m.log_time};
          } else {
            it->second.first = std::min(it->second.first, m.log_time);
            it->second.second = std::max(it->second.second, m.log_time);
          }
        }
        mcap_source src;
        ASSERT_EQ(mcap_source_from_memory(&src, file.data(), file.size()), MCAP_OK);
        mcap_indexed_options o;
        memset(&o, 0, sizeof o);
        o.threads = 1;
        o.force_scan = force_scan;
        mcap_reader *r = nullptr;
        mcap_error_info err;
        ASSERT_EQ(mcap_reader_open(&r, &src, &o, &err), MCAP_OK) << err.msg;
        size_t checked = 0;
        for (size_t i = 0; i < mcap_reader_channel_count(r); i++) {
          uint16_t id = mcap_reader_channel_at(r, i)->id;
          uint64_t first = 1, last = 1;
          int rc = mcap_reader_channel_time_range(r, id, &first, &last);
          auto it = want.find(id);
          if (it == want.end()) {
            EXPECT_EQ(rc, MCAP_ITEROVER) << "channel " << id;
            continue;
          }
          ASSERT_EQ(rc, MCAP_OK) << "channel " << id << ": " << mcap_reader_errmsg(r);
          EXPECT_EQ(first, it->second.first) << "channel " << id;
          EXPECT_EQ(last, it->second.second) << "channel " << id;
          checked++;
        }
        EXPECT_EQ(checked, want.size());
        uint64_t a, b;
        EXPECT_EQ(mcap_reader_channel_time_range(r, 999, &a, &b), MCAP_ITEROVER);
        EXPECT_EQ(mcap_reader_channel_time_range(r, 0, nullptr, &b), MCAP_EINVAL);
        mcap_reader_free(r);
      }
    }
  }
}

namespace {

// A memory source that counts the bytes it hands out.
struct CountingSource {
  const std::vector<uint8_t> *file;
  uint64_t bytes = 0;
};

int counting_read(void *payload, uint64_t offset, uint64_t len, const uint8_t **out,
                  uint64_t *got, mcap_error_info *err) {
  (void)err;
  CountingSource *c = static_cast<CountingSource *>(payload);
  uint64_t size = c->file->size();
  uint64_t n = offset < size ? std::min(len, size - offset) : 0;
  *out = c->file->data() + (offset < size ? offset : size);
  *got = n;
  c->bytes += n;
  return MCAP_OK;
}

void counting_close(void *) {}

}  // namespace

// With message indexes, the range comes from a few MessageIndex records, not the chunks;
// a MessageIndex that cannot be used (its opcode damaged) falls back to reading chunks and
// still gives the right answer.
TEST(IndexedChannelTimes, ReadsMessageIndexesNotChunksAndFallsBack) {
  FileSpec spec;
  memset(&spec.opts, 0, sizeof spec.opts);
  spec.opts.chunk_size = 4096;
  spec.seed = 3;
  spec.n_messages = 4000;
  spec.shuffled = false;
  spec.early_dups = false;
  std::vector<uint8_t> file = make_file(spec);
  std::vector<Msg> all = stream_all(file);
  uint64_t lo = UINT64_MAX, hi = 0;
  for (const Msg &m : all)
    if (m.topic == "/a") {
      lo = std::min(lo, m.log_time);
      hi = std::max(hi, m.log_time);
    }
  for (int damage = 0; damage < 2; damage++) {
    std::vector<uint8_t> bytes = file;
    CountingSource cs{&bytes, 0};
    mcap_source src = {&cs, bytes.size(), counting_read, counting_close, nullptr};
    mcap_indexed_options o;
    memset(&o, 0, sizeof o);
    o.threads = 1;
    mcap_reader *r = nullptr;
    mcap_error_info err;
    ASSERT_EQ(mcap_reader_open(&r, &src, &o, &err), MCAP_OK) << err.msg;
    ASSERT_GT(mcap_reader_chunk_count(r), 20u);
    const mcap_channel *a = nullptr;
    for (size_t i = 0; i < mcap_reader_channel_count(r); i++)
      if (std::string(mcap_reader_channel_at(r, i)->topic.data, 2) == "/a")
        a = mcap_reader_channel_at(r, i);
    ASSERT_NE(a, nullptr);
    if (damage) {
      // every MessageIndex of /a gets another opcode: none can be trusted
      for (size_t i = 0; i < mcap_reader_chunk_count(r); i++) {
        uint64_t off;
        if (mcap_map_find_u16u64(&mcap_reader_chunk_at(r, i)->message_index_offsets, a->id, &off))
          bytes[off] = 0x42;
      }
    }
    cs.bytes = 0;
    uint64_t first = 0, last = 0;
    ASSERT_EQ(mcap_reader_channel_time_range(r, a->id, &first, &last), MCAP_OK)
        << mcap_reader_errmsg(r);
    EXPECT_EQ(first, lo);
    EXPECT_EQ(last, hi);
    if (!damage) {
      EXPECT_LT(cs.bytes, 4096u) << "read more than a few message indexes";
    } else {
      EXPECT_GT(cs.bytes, 4096u) << "the damaged indexes were used";
    }
    mcap_reader_free(r);
  }
}

// A file of 600 messages in 300 KiB chunks (big enough for the CRC helper), in order.
static FileSpec big_chunk_spec(mcap_compression comp, uint64_t seed) {
  FileSpec spec;
  memset(&spec.opts, 0, sizeof spec.opts);
  spec.opts.chunk_size = 300 * 1024;
  spec.opts.compression = comp;
  spec.seed = seed + (uint64_t)comp;
  spec.n_messages = 600;
  spec.shuffled = false;
  spec.early_dups = false;
  spec.payload_scale = 60;
  return spec;
}

// Where the middle one of a file's chunks (there are more than 4) lies, and its size.
static void middle_chunk(const std::vector<uint8_t> &file, uint64_t *at, uint64_t *len,
                         uint64_t *uncompressed = nullptr) {
  mcap_source src;
  mcap_error_info err;
  mcap_reader *r = nullptr;
  ASSERT_EQ(mcap_source_from_memory(&src, file.data(), file.size()), MCAP_OK);
  ASSERT_EQ(mcap_reader_open(&r, &src, nullptr, &err), MCAP_OK) << err.msg;
  size_t n = mcap_reader_chunk_count(r);
  const mcap_chunk_index *ci = n > 4 ? mcap_reader_chunk_at(r, n / 2) : nullptr;
  if (ci) {
    *at = ci->chunk_start_offset;
    *len = ci->chunk_length;
    if (uncompressed) *uncompressed = ci->uncompressed_size;
  }
  mcap_reader_free(r);
  ASSERT_GT(n, 4u);
}

// The streamed reader decodes the next chunk ahead while the helper checks the open one's
// CRC. A chunk whose compressed bytes are damaged is decoded ahead and fails there: that
// failure must wait for its turn. Every record before the damaged chunk comes, then the
// error naming it, from a file as from memory.
TEST(IndexedCorrupt, StreamedDecodeAheadReportsDamageInItsTurn) {
  for (mcap_compression comp : {MCAP_COMPRESSION_ZSTD, MCAP_COMPRESSION_LZ4}) {
    SCOPED_TRACE((int)comp);
    std::vector<uint8_t> file = make_file(big_chunk_spec(comp, 7));
    mcap_source src;
    mcap_error_info err;
    uint64_t chunk_at = 0, chunk_len = 0;
    ASSERT_NO_FATAL_FAILURE(middle_chunk(file, &chunk_at, &chunk_len));

    // Records (and messages) of the chunks before the damaged one, from the intact file.
    size_t want_records = 0;
    {
      ASSERT_EQ(mcap_source_from_memory(&src, file.data(), file.size()), MCAP_OK);
      mcap_stream_reader *sr = nullptr;
      ASSERT_EQ(mcap_stream_reader_new(&sr, &src, nullptr), MCAP_OK);
      mcap_record rec;
      while (mcap_stream_reader_next(sr, &rec) == MCAP_OK && rec.offset != chunk_at &&
             !(rec.in_chunk && rec.chunk_offset == chunk_at)) {
        want_records++;
      }
      mcap_stream_reader_free(sr);
    }
    // Garble the middle of its compressed records (a zstd block or lz4 sequences).
    for (uint64_t i = chunk_len / 2; i < chunk_len / 2 + 64; i++) file[chunk_at + i] ^= 0xA5;
    TempFile tmp(file);
    for (int use_file = 0; use_file < 2; use_file++) {
      SCOPED_TRACE(use_file ? "file" : "memory");
      if (use_file) {
        ASSERT_EQ(mcap_source_open_file(&src, tmp.path.c_str(), &err), MCAP_OK) << err.msg;
      } else {
        ASSERT_EQ(mcap_source_from_memory(&src, file.data(), file.size()), MCAP_OK);
      }
      mcap_stream_reader *sr = nullptr;
      ASSERT_EQ(mcap_stream_reader_new(&sr, &src, nullptr), MCAP_OK);
      mcap_record rec;
      int rc;
      size_t n = 0;
      while ((rc = mcap_stream_reader_next(sr, &rec)) == MCAP_OK) {
        ASSERT_FALSE(rec.in_chunk && rec.chunk_offset == chunk_at) << "record of the bad chunk";
        n++;
      }
      EXPECT_TRUE(rc == MCAP_EDECOMPRESS || rc == MCAP_EDECOMPRESS_SIZE || rc == MCAP_ECRC)
          << rc << " " << mcap_stream_reader_errmsg(sr);
      EXPECT_EQ(n, want_records);
      EXPECT_NE(std::string(mcap_stream_reader_errmsg(sr)).find(std::to_string(chunk_at)),
                std::string::npos)
          << mcap_stream_reader_errmsg(sr);
      mcap_stream_reader_free(sr);
    }
  }
}

// Big chunks (300 KiB: the CRC runs on the helper thread while the chunk decodes, or is
// split between the threads for stored chunks used in place) with a wrong stored CRC: every
// reader, every thread count, memory and file sources report MCAP_ECRC naming the chunk,
// and nothing of the bad chunk is yielded before (the CRC is checked before its messages).
TEST(IndexedCorrupt, BadCrcOfBigChunksIsFoundBeforeTheirMessages) {
  for (mcap_compression comp :
       {MCAP_COMPRESSION_ZSTD, MCAP_COMPRESSION_LZ4, MCAP_COMPRESSION_NONE}) {
    SCOPED_TRACE((int)comp);
    std::vector<uint8_t> file = make_file(big_chunk_spec(comp, 99));
    mcap_source src;
    mcap_reader *r = nullptr;
    mcap_error_info err;
    uint64_t chunk_at = 0, chunk_len = 0, chunk_size = 0;
    ASSERT_NO_FATAL_FAILURE(middle_chunk(file, &chunk_at, &chunk_len, &chunk_size));
    ASSERT_GT(chunk_size, 200000u);
    // Chunk record: opcode, length, start and end time, uncompressed size, then the CRC.
    file[chunk_at + 9 + 24] ^= 0x40;
    TempFile tmp(file);

    // Streamed reader.
    ASSERT_EQ(mcap_source_from_memory(&src, file.data(), file.size()), MCAP_OK);
    mcap_stream_reader *sr = nullptr;
    ASSERT_EQ(mcap_stream_reader_new(&sr, &src, nullptr), MCAP_OK);
    mcap_record rec;
    int rc;
    size_t before_bad = 0; // messages of the chunks before the bad one
    while ((rc = mcap_stream_reader_next(sr, &rec)) == MCAP_OK) {
      ASSERT_FALSE(rec.in_chunk && rec.chunk_offset == chunk_at) << "record of the bad chunk";
      before_bad += rec.opcode == MCAP_OP_MESSAGE;
    }
    EXPECT_EQ(rc, MCAP_ECRC) << mcap_stream_reader_errmsg(sr);
    EXPECT_NE(std::string(mcap_stream_reader_errmsg(sr)).find(std::to_string(chunk_at)),
              std::string::npos)
        << mcap_stream_reader_errmsg(sr);
    mcap_stream_reader_free(sr);

    // Indexed reader.
    for (int use_file = 0; use_file < 2; use_file++) {
      for (int threads = 1; threads <= 3; threads++) {
        SCOPED_TRACE(std::to_string(threads) + " threads, file " + std::to_string(use_file));
        if (use_file) {
          ASSERT_EQ(mcap_source_open_file(&src, tmp.path.c_str(), &err), MCAP_OK) << err.msg;
        } else {
          ASSERT_EQ(mcap_source_from_memory(&src, file.data(), file.size()), MCAP_OK);
        }
        mcap_indexed_options o;
        memset(&o, 0, sizeof o);
        o.threads = threads;
        ASSERT_EQ(mcap_reader_open(&r, &src, &o, &err), MCAP_OK) << err.msg;
        mcap_query q;
        memset(&q, 0, sizeof q);
        q.order = MCAP_ORDER_FILE;
        mcap_message_iter *it = nullptr;
        ASSERT_EQ(mcap_reader_query(r, &q, &it), MCAP_OK);
        mcap_message_view v;
        size_t n = 0;
        while ((rc = mcap_message_iter_next(it, &v)) == MCAP_OK) {
          ASSERT_NE(v.chunk_offset, chunk_at) << "message of the bad chunk";
          n++;
        }
        EXPECT_EQ(rc, MCAP_ECRC) << mcap_reader_errmsg(r);
        // Every message before the bad chunk came first, also when one thread decoded the
        // bad chunk ahead while the chunk before it was still being read.
        EXPECT_EQ(n, before_bad);
        EXPECT_NE(std::string(mcap_reader_errmsg(r)).find(std::to_string(chunk_at)),
                  std::string::npos)
            << mcap_reader_errmsg(r);
        mcap_message_iter_free(it);
        mcap_reader_free(r);
      }
    }
  }
}
