// test_inspect.cc - pl_inspect called directly, as a C program using the libraries would:
// the log-time merge of three files with interleaved times (and ties, reverse and file order,
// time range, topic selection, a streamed input), du of a file with zstd and lz4 chunks
// (exact and estimated), info of a file without a summary (indexed and streamed the same),
// and the message lines of `cat`.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "mcap_builder.h"
#include "pipeline/inspect.h"
#include "tmpdir.h"

using mcapkit_test::TempDir;
using namespace mcapkit_test;

namespace {

struct Msg {
  uint16_t channel;
  uint64_t log_time;
};

struct Topic {
  uint16_t id;
  std::string topic;
};

// A file written by libmcap's writer: one schema, `topics`, and `msgs` in the order given.
void write_file(const std::string &path, const std::vector<Topic> &topics,
                const std::vector<Msg> &msgs, bool summary = true,
                mcap_compression comp = MCAP_COMPRESSION_ZSTD) {
  mcap_sink sink;
  mcap_error_info e;
  ASSERT_EQ(mcap_sink_open_file(&sink, path.c_str(), &e), MCAP_OK);
  mcap_writer_options wo;
  mcap_writer_options_init(&wo);
  wo.chunk_size = 256;  // a few chunks even for small files
  wo.compression = comp;
  wo.force_compression = 1;
  wo.no_summary = summary ? 0 : 1;
  mcap_writer *w = nullptr;
  ASSERT_EQ(mcap_writer_open(&w, &sink, &wo), MCAP_OK);
  const std::string def = "int32 x";
  mcap_schema s = {1, mcap_str_c("pkg/X"), mcap_str_c("ros2msg"),
                   {reinterpret_cast<const uint8_t *>(def.data()), def.size()}};
  ASSERT_EQ(mcap_writer_put_schema(w, &s), MCAP_OK);
  for (const Topic &t : topics) {
    mcap_channel c = {t.id, 1, mcap_str_c(t.topic.c_str()), mcap_str_c("json"), {nullptr, 0}};
    ASSERT_EQ(mcap_writer_put_channel(w, &c), MCAP_OK) << mcap_writer_errmsg(w);
  }
  uint32_t seq = 0;
  for (const Msg &m : msgs) {
    std::string d = "{\"t\":" + std::to_string(m.log_time) + "}";
    mcap_message mm = {m.channel, seq++, m.log_time, m.log_time + 1,
                       {reinterpret_cast<const uint8_t *>(d.data()), d.size()}};
    ASSERT_EQ(mcap_writer_write_message(w, &mm), MCAP_OK);
  }
  ASSERT_EQ(mcap_writer_close(w), MCAP_OK);
  mcap_writer_free(w);
  ASSERT_EQ(mcap_sink_commit(&sink, &e), MCAP_OK);
  mcap_sink_close(&sink, &e);
}

mcap_reader *open_reader(const std::string &path) {
  mcap_source src;
  mcap_error_info e;
  memset(&e, 0, sizeof e);
  if (mcap_source_open_file(&src, path.c_str(), &e) != MCAP_OK) return nullptr;
  mcap_indexed_options o;
  memset(&o, 0, sizeof o);
  o.threads = 1;
  mcap_reader *r = nullptr;
  if (mcap_reader_open(&r, &src, &o, &e) != MCAP_OK) return nullptr;
  return r;
}

struct Out {
  size_t input;
  std::string topic;
  uint64_t log_time;
};

// Every message of the merge (errors fail the test).
std::vector<Out> drain(pl_inspect_merge *m) {
  std::vector<Out> out;
  for (;;) {
    const mcap_message_view *v = nullptr;
    size_t in = 99;
    int rc = pl_inspect_merge_next(m, &v, &in);
    if (rc == MCAP_ITEROVER) break;
    EXPECT_EQ(rc, MCAP_OK) << pl_inspect_merge_errmsg(m);
    if (rc != MCAP_OK) break;
    out.push_back({in, std::string(v->channel->topic.data, v->channel->topic.len),
                   v->message.log_time});
  }
  return out;
}

// Three files: /a at 0,3,6,..., /b at 1,4,7,..., /c at 2,5,8,... (10 each), and each also
// has one message at 100 (a three-way tie).
class InspectMerge : public ::testing::Test {
 protected:
  void SetUp() override {
    const char *topics[] = {"/a", "/b", "/c"};
    for (int f = 0; f < 3; f++) {
      std::vector<Msg> msgs;
      for (uint64_t k = 0; k < 10; k++) msgs.push_back({1, 3 * k + (uint64_t)f});
      msgs.push_back({1, 100});
      paths_.push_back(dir_.file(std::string("f") + std::to_string(f) + ".mcap"));
      write_file(paths_.back(), {{1, topics[f]}}, msgs);
      readers_.push_back(open_reader(paths_.back()));
      ASSERT_NE(readers_.back(), nullptr);
    }
  }
  void TearDown() override {
    for (mcap_reader *r : readers_) mcap_reader_free(r);
  }
  std::vector<Out> run(pl_inspect_merge_options o) {
    pl_inspect_merge *m = nullptr;
    EXPECT_EQ(pl_inspect_merge_create(&m, &o), PL_OK);
    for (mcap_reader *r : readers_) EXPECT_EQ(pl_inspect_merge_add_reader(m, r), MCAP_OK);
    std::vector<Out> out = drain(m);
    pl_inspect_merge_free(m);
    return out;
  }
  TempDir dir_;
  std::vector<std::string> paths_;
  std::vector<mcap_reader *> readers_;
};

TEST_F(InspectMerge, ThreeFilesInterleavedComeOutInLogTimeOrder) {
  pl_inspect_merge_options o = {};
  o.order = MCAP_ORDER_LOG_TIME;
  std::vector<Out> out = run(o);
  ASSERT_EQ(out.size(), 33u);
  for (size_t i = 0; i < 30; i++) {
    EXPECT_EQ(out[i].log_time, i);
    EXPECT_EQ(out[i].input, i % 3);  // each time from its own file
    EXPECT_EQ(out[i].topic, std::string("/") + static_cast<char>('a' + i % 3));
  }
  // the tie at 100: the file added first comes first
  for (size_t i = 30; i < 33; i++) {
    EXPECT_EQ(out[i].log_time, 100u);
    EXPECT_EQ(out[i].input, i - 30);
  }
}

TEST_F(InspectMerge, ReverseAndFileOrder) {
  pl_inspect_merge_options o = {};
  o.order = MCAP_ORDER_REVERSE;
  std::vector<Out> out = run(o);
  ASSERT_EQ(out.size(), 33u);
  for (size_t i = 0; i < 3; i++) {  // the tie reversed too
    EXPECT_EQ(out[i].log_time, 100u);
    EXPECT_EQ(out[i].input, 2 - i);
  }
  for (size_t i = 3; i < 33; i++) EXPECT_EQ(out[i].log_time, 32 - i);

  o.order = MCAP_ORDER_FILE;
  out = run(o);
  ASSERT_EQ(out.size(), 33u);
  for (size_t i = 0; i < 33; i++) EXPECT_EQ(out[i].input, i / 11);
}

TEST_F(InspectMerge, TimeRangeIsInclusiveAndTopicsSelect) {
  pl_inspect_topics *t = nullptr;
  pl_error_info err;
  const char *names[] = {"/a,", ""};  // a list with an empty item
  const char *res[] = {"/[c]"};
  ASSERT_EQ(pl_inspect_topics_create(&t, names, 2, res, 1, &err), PL_OK);
  EXPECT_TRUE(pl_inspect_topics_any(t));
  std::vector<std::string> known;
  pl_inspect_merge_options o = {};
  o.order = MCAP_ORDER_LOG_TIME;
  o.channel_filter = pl_inspect_topics_match;
  o.channel_filter_ctx = t;
  o.has_start = o.has_end = 1;
  o.start = 3;
  o.end = 8;
  o.on_channel = [](void *ctx, const mcap_channel *ch, const mcap_schema *s) {
    ASSERT_NE(s, nullptr);
    static_cast<std::vector<std::string> *>(ctx)->emplace_back(ch->topic.data, ch->topic.len);
  };
  o.on_channel_ctx = &known;
  std::vector<Out> out = run(o);
  pl_inspect_topics_free(t);
  EXPECT_EQ(known, (std::vector<std::string>{"/a", "/c"}));
  std::vector<uint64_t> times;
  for (const Out &x : out) times.push_back(x.log_time);
  EXPECT_EQ(times, (std::vector<uint64_t>{3, 5, 6, 8}));  // /a at 3, 6; /c at 5, 8
}

TEST(InspectTopics, BadRegexIsRefusedWithWhy) {
  pl_inspect_topics *t = nullptr;
  pl_error_info err;
  const char *res[] = {"(unclosed"};
  EXPECT_EQ(pl_inspect_topics_create(&t, nullptr, 0, res, 1, &err), PL_EINVAL);
  EXPECT_EQ(t, nullptr);
  EXPECT_EQ(std::string(err.msg).rfind("bad regex '(unclosed': ", 0), 0u) << err.msg;
  // no selection at all: everything matches
  ASSERT_EQ(pl_inspect_topics_create(&t, nullptr, 0, nullptr, 0, &err), PL_OK);
  EXPECT_FALSE(pl_inspect_topics_any(t));
  mcap_channel ch = {1, 0, mcap_str_c("/x"), mcap_str_c(""), {nullptr, 0}};
  EXPECT_EQ(pl_inspect_topics_match(t, &ch, nullptr), 1);
  pl_inspect_topics_free(t);
}

// A stream (here a file read as one) in file order: filtered like a query, schemas kept whole.
TEST(InspectMergeStream, StreamIsFilteredAndUnknownChannelsReported) {
  TempDir dir;
  std::string f = dir.file("s.mcap");
  write_file(f, {{1, "/a"}, {2, "/b"}}, {{1, 5}, {2, 6}, {1, 7}, {2, 8}});
  Bytes bytes;
  {
    FILE *fp = fopen(f.c_str(), "rb");
    ASSERT_NE(fp, nullptr);
    int c;
    while ((c = fgetc(fp)) != EOF) bytes.push_back(static_cast<uint8_t>(c));
    fclose(fp);
  }
  pl_inspect_topics *t = nullptr;
  const char *names[] = {"/b"};
  ASSERT_EQ(pl_inspect_topics_create(&t, names, 1, nullptr, 0, nullptr), PL_OK);
  pl_inspect_merge_options o = {};
  o.order = MCAP_ORDER_FILE;
  o.channel_filter = pl_inspect_topics_match;
  o.channel_filter_ctx = t;
  o.has_end = 1;
  o.end = 7;
  pl_inspect_merge *m = nullptr;
  ASSERT_EQ(pl_inspect_merge_create(&m, &o), PL_OK);
  mcap_source src;
  ASSERT_EQ(mcap_source_from_memory(&src, bytes.data(), bytes.size()), MCAP_OK);
  ASSERT_EQ(pl_inspect_merge_add_stream(m, &src), MCAP_OK);
  const mcap_message_view *v = nullptr;
  size_t in = 9;
  ASSERT_EQ(pl_inspect_merge_next(m, &v, &in), MCAP_OK);
  EXPECT_EQ(in, 0u);
  EXPECT_EQ(v->message.log_time, 6u);
  ASSERT_NE(v->schema, nullptr);
  EXPECT_EQ(std::string(reinterpret_cast<const char *>(v->schema->data.data), v->schema->data.len),
            "int32 x");
  EXPECT_EQ(pl_inspect_merge_next(m, &v, &in), MCAP_ITEROVER);  // 8 is after the end
  pl_inspect_merge_free(m);
  pl_inspect_topics_free(t);

  // A message on a channel the stream never declared: that input's error, then the end.
  McapBuilder b;
  b.magic();
  b.add(Header{"", "test"});
  b.add(Message{7, 0, 1, 1, bytes_of("x")});
  b.data_end();
  b.finish();
  ASSERT_EQ(pl_inspect_merge_create(&m, nullptr), PL_OK);
  ASSERT_EQ(mcap_source_from_memory(&src, b.bytes().data(), b.bytes().size()), MCAP_OK);
  ASSERT_EQ(pl_inspect_merge_add_stream(m, &src), MCAP_OK);
  EXPECT_EQ(pl_inspect_merge_next(m, &v, &in), MCAP_ECHANNEL_ID);
  EXPECT_NE(std::string(pl_inspect_merge_errmsg(m)).find("unknown channel 7"), std::string::npos)
      << pl_inspect_merge_errmsg(m);
  mcap_damage d;
  EXPECT_EQ(pl_inspect_merge_damage(m, 0, &d), 0);  // not the stream reader's: no damage
  EXPECT_EQ(pl_inspect_merge_next(m, &v, &in), MCAP_ITEROVER);
  pl_inspect_merge_free(m);
}

// A file with one zstd and one lz4 chunk, a summary with their chunk indexes and statistics.
Bytes mixed_file() {
  McapBuilder b;
  b.magic();
  b.add(Header{"", "test"});
  std::vector<ChunkIndex> cis;
  const char *codecs[] = {"zstd", "lz4"};
  uint32_t seq = 0;
  for (int k = 0; k < 2; k++) {
    ChunkBuilder cb;
    if (k == 0) {
      cb.add(Schema{1, "pkg/X", "ros2msg", bytes_of("int32 x")});
      cb.add(Channel{1, 1, "/small", "cdr", {}});
      cb.add(Channel{2, 1, "/big", "cdr", {}});
    }
    for (uint64_t i = 0; i < 10; i++) {
      cb.add(Message{1, seq++, 100 * (uint64_t)k + i, 0, Bytes(10, 'a')});
      cb.add(Message{2, seq++, 100 * (uint64_t)k + i, 0, Bytes(100, 'b')});
    }
    cis.push_back(b.chunk(cb, codecs[k]).index);
  }
  b.data_end();
  b.add(Schema{1, "pkg/X", "ros2msg", bytes_of("int32 x")});
  b.add(Channel{1, 1, "/small", "cdr", {}});
  b.add(Channel{2, 1, "/big", "cdr", {}});
  for (const ChunkIndex &ci : cis) b.add(ci);
  Statistics st;
  st.message_count = 40;
  st.schema_count = 1;
  st.channel_count = 2;
  st.chunk_count = 2;
  st.message_start_time = 0;
  st.message_end_time = 109;
  st.channel_message_counts = {{1, 20}, {2, 20}};
  b.add(st);
  b.finish();
  return b.bytes();
}

const pl_inspect_du_kind *find_kind(const pl_inspect_du *d, const std::string &name) {
  for (size_t i = 0; i < d->n_kinds; i++)
    if (name == d->kinds[i].name) return &d->kinds[i];
  return nullptr;
}

TEST(InspectDu, ZstdAndLz4ChunksExactAndEstimated) {
  Bytes file = mixed_file();
  mcap_source src;
  ASSERT_EQ(mcap_source_from_memory(&src, file.data(), file.size()), MCAP_OK);
  pl_inspect_du *d = nullptr;
  pl_error_info err;
  ASSERT_EQ(pl_inspect_du_exact(&d, &src, nullptr, nullptr, &err), PL_OK) << err.msg;
  EXPECT_FALSE(d->approximate);
  EXPECT_EQ(d->file_size, file.size());
  const pl_inspect_du_kind *ck = find_kind(d, "Chunk");
  ASSERT_NE(ck, nullptr);
  EXPECT_EQ(ck->count, 2u);
  uint64_t sum = 0;
  for (size_t i = 0; i < d->n_kinds; i++) {
    sum += d->kinds[i].bytes;
    if (i) {
      EXPECT_GE(d->kinds[i - 1].bytes, d->kinds[i].bytes);  // largest first
    }
  }
  EXPECT_EQ(sum, file.size());  // every byte accounted for
  EXPECT_EQ(d->messages, 40u);
  EXPECT_EQ(d->message_bytes, 20u * 10 + 20u * 100);
  ASSERT_EQ(d->n_topics, 2u);
  EXPECT_STREQ(d->topics[0].topic, "/big");  // the largest payload first
  EXPECT_EQ(d->topics[0].bytes, 2000u);
  EXPECT_STREQ(d->topics[1].topic, "/small");
  EXPECT_EQ(d->damage.problems, 0u);
  // the chunks' stored bytes are shared out between the topics
  double disk = d->topics[0].disk + d->topics[1].disk;
  EXPECT_GT(d->topics[0].disk, d->topics[1].disk);
  EXPECT_NEAR(disk, static_cast<double>(ck->bytes), 1.0);
  pl_inspect_du_free(d);

  // The estimate from the summary and message indexes gets the same messages per topic.
  TempDir dir;
  std::string path = dir.file("mixed.mcap");
  FILE *fp = fopen(path.c_str(), "wb");
  ASSERT_NE(fp, nullptr);
  ASSERT_EQ(fwrite(file.data(), 1, file.size(), fp), file.size());
  fclose(fp);
  mcap_reader *r = open_reader(path);
  ASSERT_NE(r, nullptr);
  ASSERT_EQ(mcap_source_open_file(&src, path.c_str(), nullptr), MCAP_OK);
  ASSERT_EQ(pl_inspect_du_estimate(&d, r, &src, &err), PL_OK);
  mcap_source_close(&src);
  mcap_reader_free(r);
  EXPECT_TRUE(d->approximate);
  EXPECT_EQ(d->file_size, file.size());
  EXPECT_EQ(d->messages, 40u);
  ASSERT_EQ(d->n_topics, 2u);
  EXPECT_STREQ(d->topics[0].topic, "/big");
  EXPECT_EQ(d->topics[0].messages, 20u);
  EXPECT_EQ(d->topics[0].bytes, 2000u);  // index gaps less the 31-byte message header
  EXPECT_EQ(find_kind(d, "Chunk")->count, 2u);
  pl_inspect_du_free(d);
  pl_inspect_du_free(nullptr);
}

// A chunk that declares far more uncompressed bytes than its compressed bytes can hold
// (fuzz_inspect found a 679-byte file asking du for 4 GiB) is damage, skipped before
// anything is allocated for it; the rest of the file is still measured.
TEST(InspectDu, ImpossibleUncompressedSizeIsDamageNotAnAllocation) {
  Bytes file = mixed_file();
  mcap_source src;
  mcap_reader *r = nullptr;
  mcap_error_info e;
  ASSERT_EQ(mcap_source_from_memory(&src, file.data(), file.size()), MCAP_OK);
  ASSERT_EQ(mcap_reader_open(&r, &src, nullptr, &e), MCAP_OK) << e.msg;
  ASSERT_EQ(mcap_reader_chunk_count(r), 2u);
  uint64_t at = mcap_reader_chunk_at(r, 0)->chunk_start_offset;
  mcap_reader_free(r);
  // Chunk record: opcode, length, start and end time, then the uncompressed size (LE).
  uint64_t huge = 0xFF000000ull;
  for (int i = 0; i < 8; i++) file[at + 9 + 16 + i] = (uint8_t)(huge >> (8 * i));
  ASSERT_EQ(mcap_source_from_memory(&src, file.data(), file.size()), MCAP_OK);
  pl_inspect_du *d = nullptr;
  pl_error_info err;
  ASSERT_EQ(pl_inspect_du_exact(&d, &src, nullptr, nullptr, &err), PL_OK) << err.msg;
  EXPECT_GE(d->damage.problems, 1u);
  EXPECT_EQ(d->damage.chunks_skipped, 1u);
  EXPECT_EQ(d->damage.first_offset, at);
  EXPECT_NE(std::string(d->damage.msg).find("impossible for"), std::string::npos)
      << d->damage.msg;
  EXPECT_GT(d->messages, 0u);  // the other chunk is still counted
  EXPECT_LT(d->messages, 40u);
  pl_inspect_du_free(d);
}

void expect_same_info(const pl_inspect_info *a, const pl_inspect_info *b) {
  EXPECT_EQ(a->messages, b->messages);
  EXPECT_EQ(a->start_time, b->start_time);
  EXPECT_EQ(a->end_time, b->end_time);
  EXPECT_EQ(a->chunks, b->chunks);
  EXPECT_EQ(a->n_comp, b->n_comp);
  EXPECT_EQ(a->max_overlapping_chunks, b->max_overlapping_chunks);
  ASSERT_EQ(a->n_channels, b->n_channels);
  for (size_t i = 0; i < a->n_channels; i++) {
    EXPECT_EQ(a->channels[i].id, b->channels[i].id);
    EXPECT_STREQ(a->channels[i].topic, b->channels[i].topic);
    EXPECT_EQ(a->channels[i].messages, b->channels[i].messages);
    EXPECT_EQ(a->channels[i].first, b->channels[i].first);
    EXPECT_EQ(a->channels[i].last, b->channels[i].last);
  }
}

TEST(InspectInfo, FileWithoutSummaryIsScannedAndStreamedAlike) {
  TempDir dir;
  std::string f = dir.file("nosummary.mcap");
  std::vector<Msg> msgs;
  for (uint64_t k = 0; k < 30; k++)
    msgs.push_back({static_cast<uint16_t>(k % 2 ? 9 : 4), 1000 + k});
  write_file(f, {{9, "/nine"}, {4, "/four"}}, msgs, false, MCAP_COMPRESSION_LZ4);
  pl_inspect_info *a = nullptr;
  pl_error_info err;
  ASSERT_EQ(pl_inspect_info_create(&a, f.c_str(), &err), PL_OK) << err.msg;
  EXPECT_STREQ(a->source, "scan");
  EXPECT_NE(std::string(a->scan_why), "");
  EXPECT_FALSE(a->has_summary);
  EXPECT_EQ(a->messages, 30u);
  EXPECT_EQ(a->start_time, 1000u);
  EXPECT_EQ(a->end_time, 1029u);
  EXPECT_GT(a->chunks, 1u);
  ASSERT_EQ(a->n_comp, 1u);
  EXPECT_STREQ(a->comp[0].name, "lz4");
  ASSERT_EQ(a->n_channels, 2u);  // sorted by id
  EXPECT_EQ(a->channels[0].id, 4u);
  EXPECT_STREQ(a->channels[0].topic, "/four");
  EXPECT_EQ(a->channels[0].messages, 15u);
  EXPECT_TRUE(a->channels[0].have_times);
  EXPECT_EQ(a->channels[0].first, 1000u);
  EXPECT_EQ(a->channels[0].last, 1028u);
  ASSERT_EQ(a->n_schemas, 1u);
  const pl_inspect_schema *s = pl_inspect_info_schema(a, 1);
  ASSERT_NE(s, nullptr);
  EXPECT_STREQ(s->name, "pkg/X");
  EXPECT_EQ(pl_inspect_info_schema(a, 2), nullptr);

  mcap_source src;
  ASSERT_EQ(mcap_source_open_file(&src, f.c_str(), nullptr), MCAP_OK);
  pl_inspect_info *b = nullptr;
  int progress_calls = 0;
  auto count = [](void *ctx, uint64_t, uint64_t) { ++*static_cast<int *>(ctx); };
  ASSERT_EQ(pl_inspect_info_scan(&b, &src, count, &progress_calls, &err), PL_OK) << err.msg;
  EXPECT_STREQ(b->source, "scan");
  expect_same_info(a, b);
  pl_inspect_info_free(a);
  pl_inspect_info_free(b);
}

TEST(InspectInfo, MixedCompressionsFromTheSummary) {
  Bytes file = mixed_file();
  TempDir dir;
  std::string path = dir.file("mixed.mcap");
  FILE *fp = fopen(path.c_str(), "wb");
  ASSERT_NE(fp, nullptr);
  ASSERT_EQ(fwrite(file.data(), 1, file.size(), fp), file.size());
  fclose(fp);
  pl_inspect_info *a = nullptr;
  pl_error_info err;
  ASSERT_EQ(pl_inspect_info_create(&a, path.c_str(), &err), PL_OK) << err.msg;
  EXPECT_STREQ(a->source, "summary");
  EXPECT_TRUE(a->has_statistics);
  EXPECT_TRUE(a->has_chunk_indexes);
  EXPECT_EQ(a->chunks, 2u);
  ASSERT_EQ(a->n_comp, 2u);
  EXPECT_STREQ(a->comp[0].name, "zstd");
  EXPECT_STREQ(a->comp[1].name, "lz4");
  EXPECT_EQ(a->comp[0].chunks + a->comp[1].chunks, 2u);
  EXPECT_EQ(a->max_overlapping_chunks, 1u);  // 0..9 and 100..109 do not overlap
  EXPECT_EQ(a->messages, 40u);
  mcap_source src;
  ASSERT_EQ(mcap_source_from_memory(&src, file.data(), file.size()), MCAP_OK);
  pl_inspect_info *b = nullptr;
  ASSERT_EQ(pl_inspect_info_scan(&b, &src, nullptr, nullptr, &err), PL_OK);
  expect_same_info(a, b);
  pl_inspect_info_free(a);
  pl_inspect_info_free(b);
  pl_inspect_info_free(nullptr);
}

// list shows "-" for a channel's count unless the Statistics carry per-channel counts or
// nothing at all was recorded.
TEST(InspectList, ChannelCountsKnown) {
  TempDir dir;
  std::string with = dir.file("with.mcap");
  write_file(with, {{1, "/a"}}, {{1, 1}, {1, 2}});
  mcap_reader *r = open_reader(with);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(pl_inspect_channel_counts_known(r), 1);
  mcap_reader_free(r);
  // no chunk, no message: every count is a true 0
  McapBuilder b;
  b.magic();
  b.add(Header{"", "test"});
  b.data_end();
  b.add(Statistics{});
  b.finish();
  std::string path = dir.file("nothing.mcap");
  FILE *fp = fopen(path.c_str(), "wb");
  ASSERT_NE(fp, nullptr);
  ASSERT_EQ(fwrite(b.bytes().data(), 1, b.bytes().size(), fp), b.bytes().size());
  fclose(fp);
  r = open_reader(path);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(pl_inspect_channel_counts_known(r), 1);
  mcap_reader_free(r);
}

TEST(InspectText, JsonValidatorIsStrict) {
  auto valid = [](const std::string &s) {
    return pl_inspect_json_valid(reinterpret_cast<const uint8_t *>(s.data()), s.size());
  };
  EXPECT_TRUE(valid("{\"a\":[1,-2.5e3,true,null,\"\\u00e9\"]}"));
  EXPECT_TRUE(valid(" 0 "));
  EXPECT_TRUE(valid("\"\xc3\xa9\""));
  EXPECT_FALSE(valid(""));
  EXPECT_FALSE(valid("01"));
  EXPECT_FALSE(valid("{\"a\":1,}"));
  EXPECT_FALSE(valid("[1] [2]"));
  EXPECT_FALSE(valid("\"\xed\xa0\x80\""));  // a surrogate in a string
  EXPECT_FALSE(valid("\"\\x\""));
  EXPECT_FALSE(valid("\"tab\there\""));
  EXPECT_TRUE(valid(std::string(256, '[') + std::string(256, ']')));
  EXPECT_FALSE(valid(std::string(257, '[') + std::string(257, ']')));  // too deep
}

TEST(InspectText, TextTests) {
  auto text = [](const std::string &s) {
    return pl_inspect_looks_like_text(reinterpret_cast<const uint8_t *>(s.data()), s.size());
  };
  EXPECT_TRUE(text("hello\tworld\n"));
  EXPECT_TRUE(text("caf\xc3\xa9"));
  EXPECT_FALSE(text(""));
  EXPECT_FALSE(text(std::string("a\0b", 3)));
  EXPECT_FALSE(text("a\x7f"));
  EXPECT_FALSE(text("\xc0\xaf"));  // overlong
  std::string def = "int32 x\n";
  mcap_schema s = {1, mcap_str_c("X"), mcap_str_c("ros2msg"),
                   {reinterpret_cast<const uint8_t *>(def.data()), def.size()}};
  EXPECT_TRUE(pl_inspect_schema_data_is_text(&s));
  s.encoding = mcap_str_c("protobuf");
  EXPECT_FALSE(pl_inspect_schema_data_is_text(&s));
  std::string bad = "int32 x\xed\xa0\x80";
  s.encoding = mcap_str_c("ros2msg");
  s.data = {reinterpret_cast<const uint8_t *>(bad.data()), bad.size()};
  EXPECT_FALSE(pl_inspect_schema_data_is_text(&s));
}

TEST(InspectNdjson, LinesAndPreviews) {
  mcap_channel ch = {3, 0, mcap_str_c("/t\"x"), mcap_str_c("json"), {nullptr, 0}};
  std::string json = "{\"a\":\n1}";
  mcap_message_view v;
  memset(&v, 0, sizeof v);
  v.channel = &ch;
  v.message = {3, 7, 1000, 999, {reinterpret_cast<const uint8_t *>(json.data()), json.size()}};
  pl_inspect_ndjson *w = nullptr;
  ASSERT_EQ(pl_inspect_ndjson_create(&w, nullptr), PL_OK);
  pl_text out = PL_TEXT_INIT;
  ASSERT_EQ(pl_inspect_ndjson_line(w, 0, &v, &out, nullptr), PL_OK);
  EXPECT_EQ(std::string(out.data, out.len),
            "{\"topic\":\"/t\\\"x\",\"channel_id\":3,\"sequence\":7,\"log_time\":\"1000\","
            "\"publish_time\":\"999\",\"data_encoding\":\"json\",\"data\":{\"a\": 1}}\n");
  pl_inspect_ndjson_free(w);
  pl_inspect_ndjson_options o = {};
  o.data = PL_INSPECT_DATA_BASE64;
  ASSERT_EQ(pl_inspect_ndjson_create(&w, &o), PL_OK);
  out.len = 0;
  ASSERT_EQ(pl_inspect_ndjson_line(w, 1, &v, &out, nullptr), PL_OK);
  EXPECT_NE(std::string(out.data, out.len).find("\"data\":\"eyJhIjoKMX0=\"}"), std::string::npos);
  pl_inspect_ndjson_free(w);

  pl_inspect_columns cols = {0, 0, 5, 7};
  out.len = 0;
  ASSERT_EQ(pl_inspect_text_line(&cols, "T", &v, PL_INSPECT_DATA_AUTO, &out), PL_OK);
  EXPECT_EQ(std::string(out.data, out.len),
            "T  /t\"x  [no schema]  seq     7        8 B  \"{\\\"a\\\":\\n1}\"\n");
  uint8_t bin[20];
  for (int i = 0; i < 20; i++) bin[i] = static_cast<uint8_t>(i * 13);
  v.message.data = {bin, sizeof bin};
  out.len = 0;
  ASSERT_EQ(pl_inspect_preview(&v, PL_INSPECT_DATA_AUTO, &out), PL_OK);
  EXPECT_EQ(std::string(out.data, out.len),
            "  00 0d 1a 27 34 41 4e 5b 68 75 82 8f 9c a9 b6 c3 ...  |...'4AN[hu......|");
  pl_text_dispose(&out);
}

}  // namespace

// A chunk declaring an uncompressed size its compressed bytes cannot hold (found by
// fuzz_inspect: 2.2 GB asked for by a 1.8 KB input) is skipped as damaged, named for what
// it is, before anything is allocated for it; the scan goes on to the next chunk.
TEST(InspectInfo, ScanRefusesAnImpossibleChunkSizeBeforeAllocating) {
  for (const char *codec : {"", "zstd", "lz4"}) {
    McapBuilder b;
    b.magic();
    b.add(Header{"", "test"});
    ChunkBuilder first;
    first.add(Schema{1, "pkg/X", "ros2msg", bytes_of("int32 x")});
    first.add(Channel{1, 1, "/a", "cdr", {}});
    first.add(Message{1, 0, 10, 0, Bytes(10, 'a')});
    ChunkOptions huge;
    huge.override_uncompressed_size = true;
    huge.uncompressed_size = UINT64_C(3) << 30;  // under info's 4 GiB limit
    b.chunk(first, codec, huge);
    ChunkBuilder second;
    second.add(Schema{1, "pkg/X", "ros2msg", bytes_of("int32 x")});
    second.add(Channel{1, 1, "/a", "cdr", {}});
    second.add(Message{1, 1, 20, 0, Bytes(10, 'b')});
    b.chunk(second, codec);
    b.data_end();
    b.finish();
    mcap_source src;
    ASSERT_EQ(mcap_source_from_memory(&src, b.bytes().data(), b.bytes().size()), MCAP_OK);
    pl_inspect_info *d = nullptr;
    pl_error_info err;
    ASSERT_EQ(pl_inspect_info_scan(&d, &src, nullptr, nullptr, &err), PL_OK) << err.msg;
    EXPECT_EQ(d->damage.chunks_skipped, 1u) << codec;
    EXPECT_NE(std::string(d->damage.msg).find("is impossible for"), std::string::npos)
        << codec << ": " << d->damage.msg;
    EXPECT_EQ(d->messages, 1u) << codec;  // the second chunk's
    pl_inspect_info_free(d);
  }
}

// du keeps per-channel figures only for the ids a file uses (the per-chunk share-out and
// the final rows walk those, not all 65,536): the edge ids 0 and 65535, two channels
// sharing a topic, a channel declared but never used, over many chunks, all add up.
TEST(InspectDu, EdgeIdsAndSharedTopicsOverManyChunks) {
  McapBuilder b;
  b.magic();
  b.add(Header{"", "test"});
  const uint16_t ids[] = {0, 65535, 7};
  for (int k = 0; k < 30; k++) {
    ChunkBuilder cb;
    if (k == 0) {
      cb.add(Schema{1, "pkg/X", "ros2msg", bytes_of("int32 x")});
      cb.add(Channel{0, 1, "/zero", "cdr", {}});
      cb.add(Channel{65535, 1, "/shared", "cdr", {}});
      cb.add(Channel{7, 1, "/shared", "cdr", {}});
      cb.add(Channel{300, 1, "/never", "cdr", {}});
    }
    for (uint64_t i = 0; i < 3; i++)
      cb.add(Message{ids[i], static_cast<uint32_t>(k), 10 * (uint64_t)k + i, 0,
                     Bytes(static_cast<size_t>(10 * (i + 1)), 'x')});
    b.chunk(cb, k % 2 ? "zstd" : "lz4");
  }
  b.data_end();
  b.finish();
  mcap_source src;
  ASSERT_EQ(mcap_source_from_memory(&src, b.bytes().data(), b.bytes().size()), MCAP_OK);
  pl_inspect_du *d = nullptr;
  pl_error_info err;
  ASSERT_EQ(pl_inspect_du_exact(&d, &src, nullptr, nullptr, &err), PL_OK) << err.msg;
  EXPECT_EQ(d->messages, 90u);
  ASSERT_EQ(d->n_topics, 2u);  // "/never" has no row
  EXPECT_STREQ(d->topics[0].topic, "/shared");
  EXPECT_EQ(d->topics[0].messages, 60u);
  EXPECT_EQ(d->topics[0].bytes, 30u * (20 + 30));
  EXPECT_STREQ(d->topics[1].topic, "/zero");
  EXPECT_EQ(d->topics[1].messages, 30u);
  EXPECT_EQ(d->topics[1].bytes, 30u * 10);
  const pl_inspect_du_kind *ck = find_kind(d, "Chunk");
  ASSERT_NE(ck, nullptr);
  EXPECT_EQ(ck->count, 30u);
  EXPECT_NEAR(d->topics[0].disk + d->topics[1].disk, static_cast<double>(ck->bytes), 1.0);
  EXPECT_GT(d->topics[0].disk, d->topics[1].disk);
  pl_inspect_du_free(d);
}
