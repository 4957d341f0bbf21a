// test_merge.cc - pl_merge: files whose schema and channel ids clash and whose
// time ranges overlap merge into one log-time-ordered, doctor-clean file with
// every message on the right topic and schema; channel coalescing modes;
// metadata deduplication and conflicts; attachments; rounds through temporary
// files give the same result as one pass.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "test_rewrite_util.h"
#include "tmpdir.h"

using mcapkit_test::TempDir;
using rwt::Msg;

namespace {

struct Chan {
  uint16_t id;
  uint16_t schema_id;
  std::string topic;
  std::vector<std::pair<std::string, std::string>> meta;
};

struct Sch {
  uint16_t id;
  std::string name;
  std::string data;
};

struct FileSpec {
  std::vector<Sch> schemas;
  std::vector<Chan> channels;
  // messages: (channel id, log time)
  std::vector<std::pair<uint16_t, uint64_t>> messages;
  std::vector<std::pair<std::string, std::vector<std::pair<std::string, std::string>>>> metadata;
  std::vector<std::string> attachments;
  std::string tag;  // goes into payloads, to tell the inputs apart
};

// Write a file with explicit ids (so they can clash between files).
void write_spec(const std::string &path, const FileSpec &f) {
  mcap_sink sink;
  mcap_error_info e;
  ASSERT_EQ(mcap_sink_open_file(&sink, path.c_str(), &e), MCAP_OK);
  mcap_writer_options wo;
  mcap_writer_options_init(&wo);
  wo.chunk_size = 2048;
  mcap_writer *w = nullptr;
  ASSERT_EQ(mcap_writer_open(&w, &sink, &wo), MCAP_OK);
  for (const Sch &s : f.schemas) {
    mcap_schema ms = {s.id,
                      mcap_str_c(s.name.c_str()),
                      mcap_str_c("jsonschema"),
                      {reinterpret_cast<const uint8_t *>(s.data.data()), s.data.size()}};
    ASSERT_EQ(mcap_writer_put_schema(w, &ms), MCAP_OK);
  }
  for (const Chan &c : f.channels) {
    // Encode the metadata map by hand (sorted keys, as writers do).
    std::string map;
    auto put32 = [&](uint32_t v) {
      for (int k = 0; k < 4; k++) map.push_back((char)(v >> (8 * k)));
    };
    for (const auto &kv : c.meta) {
      put32((uint32_t)kv.first.size());
      map += kv.first;
      put32((uint32_t)kv.second.size());
      map += kv.second;
    }
    mcap_channel mc = {c.id,
                       c.schema_id,
                       mcap_str_c(c.topic.c_str()),
                       mcap_str_c("json"),
                       {reinterpret_cast<const uint8_t *>(map.data()), (uint32_t)map.size()}};
    ASSERT_EQ(mcap_writer_put_channel(w, &mc), MCAP_OK) << mcap_writer_errmsg(w);
  }
  for (const auto &md : f.metadata) {
    std::vector<mcap_kv> kv;
    for (const auto &p : md.second)
      kv.push_back({mcap_str_c(p.first.c_str()), mcap_str_c(p.second.c_str())});
    ASSERT_EQ(mcap_writer_write_metadata(w, mcap_str_c(md.first.c_str()), kv.data(), kv.size()),
              MCAP_OK);
  }
  for (const std::string &a : f.attachments) {
    mcap_attachment at;
    memset(&at, 0, sizeof at);
    at.log_time = 5;
    at.name = mcap_str_c(a.c_str());
    at.media_type = mcap_str_c("text/plain");
    at.data = {reinterpret_cast<const uint8_t *>(a.data()), a.size()};
    ASSERT_EQ(mcap_writer_write_attachment(w, &at), MCAP_OK);
  }
  uint32_t seq = 0;
  for (const auto &m : f.messages) {
    std::string d = "{\"from\":\"" + f.tag + "\",\"t\":" + std::to_string(m.second) + "}";
    mcap_message mm = {m.first,
                       seq++,
                       m.second,
                       m.second,
                       {reinterpret_cast<const uint8_t *>(d.data()), d.size()}};
    ASSERT_EQ(mcap_writer_write_message(w, &mm), MCAP_OK);
  }
  ASSERT_EQ(mcap_writer_close(w), MCAP_OK);
  mcap_writer_free(w);
  ASSERT_EQ(mcap_sink_commit(&sink, &e), MCAP_OK);
  mcap_sink_close(&sink, &e);
}

int merge(const std::vector<std::string> &in, const std::string &out, pl_merge_options o,
          pl_merge_stats *st = nullptr, std::string *msg = nullptr) {
  std::vector<const char *> paths;
  for (const std::string &p : in) paths.push_back(p.c_str());
  pl_error_info err;
  memset(&err, 0, sizeof err);
  pl_output *po = nullptr;
  int rc = pl_output_open(&po, out.c_str(), paths.data(), paths.size(), 0, &err);
  if (rc) return rc;
  pl_merge_stats local;
  if (!st) st = &local;
  rc = pl_merge(paths.data(), paths.size(), pl_output_sink(po), &o, st, &err);
  if (!rc) {
    pl_output_check check = {st->messages, st->attachments, st->metadata, 1};
    rc = pl_output_commit(po, &check, &err);
  }
  pl_output_free(po);
  if (msg) *msg = err.msg;
  return rc;
}

pl_merge_options mopts() {
  pl_merge_options o;
  memset(&o, 0, sizeof o);
  o.threads = 2;
  return o;
}

// The k-way merge a test expects: by log time, ties by input position then file order.
std::vector<Msg> expected_merge(const std::vector<std::string> &in) {
  struct E {
    Msg m;
    size_t input, pos;
  };
  std::vector<E> all;
  for (size_t i = 0; i < in.size(); i++) {
    rwt::QueryOpts q;
    q.order = MCAP_ORDER_LOG_TIME;
    std::vector<Msg> ms = rwt::query(in[i], q);
    for (size_t k = 0; k < ms.size(); k++) all.push_back({ms[k], i, k});
  }
  std::stable_sort(all.begin(), all.end(), [](const E &a, const E &b) {
    if (a.m.log_time != b.m.log_time) return a.m.log_time < b.m.log_time;
    if (a.input != b.input) return a.input < b.input;
    return a.pos < b.pos;
  });
  std::vector<Msg> out;
  for (const E &e : all) out.push_back(e.m);
  return out;
}

size_t count_channels(const std::string &path) {
  mcap_source src;
  mcap_error_info e;
  EXPECT_EQ(mcap_source_open_file(&src, path.c_str(), &e), MCAP_OK);
  mcap_reader *r = nullptr;
  EXPECT_EQ(mcap_reader_open(&r, &src, nullptr, &e), MCAP_OK);
  size_t n = mcap_reader_channel_count(r);
  mcap_reader_free(r);
  return n;
}

}  // namespace

TEST(Merge, ClashingIdsOverlappingTimes) {
  TempDir tmp;
  // File A: schema 1 = "Pose", channel 1 = /pose, channel 2 = /a-only.
  FileSpec a;
  a.tag = "A";
  a.schemas = {{1, "Pose", "{\"type\":\"object\"}"}};
  a.channels = {{1, 1, "/pose", {}}, {2, 1, "/a-only", {}}};
  // File B: the same ids mean other things: schema 1 = "Imu", channel 1 = /imu,
  // channel 2 = /pose (with schema 2 = "Pose", identical to A's schema 1).
  FileSpec b;
  b.tag = "B";
  b.schemas = {{1, "Imu", "{\"imu\":true}"}, {2, "Pose", "{\"type\":\"object\"}"}};
  b.channels = {{1, 1, "/imu", {}}, {2, 2, "/pose", {}}};
  // Overlapping times, with ties.
  for (uint64_t t = 100; t < 400; t += 3) a.messages.push_back({(uint16_t)(t % 2 ? 1 : 2), t});
  for (uint64_t t = 250; t < 550; t += 2) b.messages.push_back({(uint16_t)(t % 4 ? 1 : 2), t});
  std::string pa = tmp.file("a.mcap"), pb = tmp.file("b.mcap"), out = tmp.file("m.mcap");
  write_spec(pa, a);
  write_spec(pb, b);
  pl_merge_stats st;
  std::string msg;
  ASSERT_EQ(merge({pa, pb}, out, mopts(), &st, &msg), PL_OK) << msg;
  std::vector<Msg> got = rwt::stream(out);
  std::vector<Msg> want = expected_merge({pa, pb});
  ASSERT_EQ(got.size(), a.messages.size() + b.messages.size());
  EXPECT_EQ(got, want);  // topics and schemas by name: every message on the right one
  // /pose of A and B coalesce (same topic, encoding, schema content, metadata).
  EXPECT_EQ(st.channels, 3u);
  EXPECT_EQ(st.channels_in, 4u);
  EXPECT_EQ(st.schemas, 2u);
  EXPECT_DOCTOR_CLEAN(out);
  for (size_t i = 1; i < got.size(); i++) ASSERT_LE(got[i - 1].log_time, got[i].log_time);
}

TEST(Merge, CoalesceModes) {
  TempDir tmp;
  FileSpec a, b;
  a.tag = "A";
  b.tag = "B";
  a.schemas = b.schemas = {{1, "S", "{}"}};
  a.channels = {{1, 1, "/x", {{"k", "1"}}}, {2, 1, "/same", {}}};
  b.channels = {{1, 1, "/x", {{"k", "2"}}}, {2, 1, "/same", {}}};
  for (uint64_t t = 0; t < 20; t++) {
    a.messages.push_back({(uint16_t)(1 + t % 2), t * 10});
    b.messages.push_back({(uint16_t)(1 + t % 2), t * 10 + 5});
  }
  std::string pa = tmp.file("a.mcap"), pb = tmp.file("b.mcap"), out = tmp.file("m.mcap");
  write_spec(pa, a);
  write_spec(pb, b);
  struct {
    pl_coalesce mode;
    uint64_t channels;
  } cases[] = {{PL_COALESCE_AUTO, 3}, {PL_COALESCE_FORCE, 2}, {PL_COALESCE_NONE, 4}};
  for (const auto &c : cases) {
    pl_merge_options o = mopts();
    o.coalesce = c.mode;
    pl_merge_stats st;
    std::string msg;
    ASSERT_EQ(merge({pa, pb}, out, o, &st, &msg), PL_OK) << msg;
    EXPECT_EQ(st.channels, c.channels) << c.mode;
    EXPECT_EQ(count_channels(out), c.channels);
    EXPECT_EQ(rwt::stream(out), expected_merge({pa, pb}));
    EXPECT_DOCTOR_CLEAN(out);
  }
  pl_coalesce m;
  EXPECT_EQ(pl_coalesce_parse("force", &m), PL_OK);
  EXPECT_EQ(m, PL_COALESCE_FORCE);
  EXPECT_EQ(pl_coalesce_parse("sometimes", &m), PL_EINVAL);
}

TEST(Merge, MetadataOnceAttachmentsAll) {
  TempDir tmp;
  FileSpec a, b, c;
  a.tag = "A";
  b.tag = "B";
  c.tag = "C";
  a.schemas = b.schemas = c.schemas = {{1, "S", "{}"}};
  a.channels = b.channels = c.channels = {{1, 1, "/t", {}}};
  a.messages = {{1, 1}};
  b.messages = {{1, 2}};
  c.messages = {{1, 3}};
  a.metadata = {{"robot", {{"name", "r1"}}}, {"run", {{"id", "7"}}}};
  b.metadata = {{"robot", {{"name", "r1"}}}};  // identical: kept once
  c.metadata = {{"robot", {{"name", "r2"}}}};  // same name, different content
  a.attachments = {"calib-a"};
  b.attachments = {"calib-b", "calib-a"};
  std::string pa = tmp.file("a.mcap"), pb = tmp.file("b.mcap"), pc = tmp.file("c.mcap");
  std::string out = tmp.file("m.mcap");
  write_spec(pa, a);
  write_spec(pb, b);
  write_spec(pc, c);
  pl_merge_stats st;
  std::string msg;
  ASSERT_EQ(merge({pa, pb}, out, mopts(), &st, &msg), PL_OK) << msg;
  EXPECT_EQ(st.metadata, 2u);
  EXPECT_EQ(st.metadata_duplicates, 1u);
  EXPECT_EQ(st.attachments, 3u);
  EXPECT_DOCTOR_CLEAN(out);

  EXPECT_EQ(merge({pa, pb, pc}, out, mopts(), &st, &msg), PL_ECONFLICT);
  EXPECT_NE(msg.find("robot"), std::string::npos) << msg;
  pl_merge_options o = mopts();
  o.allow_duplicate_metadata = 1;
  ASSERT_EQ(merge({pa, pb, pc}, out, o, &st, &msg), PL_OK) << msg;
  EXPECT_EQ(st.metadata, 3u);
  EXPECT_EQ(st.messages, 3u);

  o.no_metadata = 1;
  o.no_attachments = 1;
  ASSERT_EQ(merge({pa, pb, pc}, out, o, &st, &msg), PL_OK) << msg;
  EXPECT_EQ(st.metadata, 0u);
  EXPECT_EQ(st.attachments, 0u);
}

// More inputs than may be open at once: merged in rounds, same result as one pass.
TEST(Merge, RoundsGiveTheSameResult) {
  TempDir tmp;
  std::vector<std::string> in;
  for (int i = 0; i < 7; i++) {
    pl_synth_options o = rwt::tiny(10);
    o.seed = 100 + (uint64_t)(i % 3);  // some identical channels and times across inputs
    o.n_metadata = PL_SYNTH_NONE;
    std::string p = tmp.file("in" + std::to_string(i) + ".mcap");
    rwt::synth(p, o);
    in.push_back(p);
  }
  for (pl_coalesce mode : {PL_COALESCE_AUTO, PL_COALESCE_NONE}) {
    pl_merge_options one = mopts();
    one.coalesce = mode;
    pl_merge_options rounds = one;
    rounds.max_open_inputs = 2;
    rounds.tmp_dir = tmp.path().c_str();
    pl_merge_stats s1, s2;
    std::string msg;
    std::string o1 = tmp.file("one.mcap"), o2 = tmp.file("rounds.mcap");
    ASSERT_EQ(merge(in, o1, one, &s1, &msg), PL_OK) << msg;
    ASSERT_EQ(merge(in, o2, rounds, &s2, &msg), PL_OK) << msg;
    EXPECT_EQ(s1.rounds, 1u);
    EXPECT_GE(s2.rounds, 3u);
    std::vector<Msg> m1 = rwt::stream(o1), m2 = rwt::stream(o2);
    EXPECT_EQ(m1, m2);
    EXPECT_EQ(m1, expected_merge(in));
    EXPECT_EQ(s1.channels, s2.channels);
    EXPECT_EQ(s1.attachments, s2.attachments);
    EXPECT_DOCTOR_CLEAN(o2);
  }
  // No temporary files are left behind.
  size_t files = 0;
  for (const auto &e : std::filesystem::directory_iterator(tmp.path())) {
    (void)e;
    files++;
  }
  EXPECT_EQ(files, in.size() + 2);
}

TEST(Merge, RealRecordingsDoctorClean) {
  TempDir tmp;
  std::string a = tmp.file("a.mcap"), b = tmp.file("b.mcap"), out = tmp.file("m.mcap");
  pl_synth_options oa = rwt::robot(1.0), ob = rwt::robot(1.0, MCAP_COMPRESSION_LZ4);
  ob.seed = 8;
  rwt::synth(a, oa);
  rwt::synth(b, ob);
  pl_merge_options o = mopts();
  o.allow_duplicate_metadata = 1;
  pl_merge_stats st;
  std::string msg;
  ASSERT_EQ(merge({a, b}, out, o, &st, &msg), PL_OK) << msg;
  EXPECT_EQ(rwt::stream(out), expected_merge({a, b}));
  EXPECT_EQ(st.channels, 7u);  // the same seven channels in both
  EXPECT_DOCTOR_CLEAN(out);
}

// Consecutive parts of one recording merge back into it, their chunks copied compressed;
// interleaved inputs are merged message by message where they interleave.
TEST(Merge, ConsecutivePartsAreCopied) {
  TempDir tmp;
  std::string whole = tmp.file("whole.mcap");
  pl_synth_options so = rwt::robot(2.0);
  so.n_metadata = PL_SYNTH_NONE;
  rwt::synth(whole, so);
  std::vector<Msg> all = rwt::query(whole);
  // Cut it in three by time.
  uint64_t t1 = all[all.size() / 3].log_time, t2 = all[2 * all.size() / 3].log_time;
  std::vector<std::string> parts;
  for (int k = 0; k < 3; k++) {
    pl_rewrite_options o;
    memset(&o, 0, sizeof o);
    o.keep_unused_channels = 1;
    o.no_attachments = k > 0;
    if (k > 0) {
      o.has_start = 1;
      o.start = k == 1 ? t1 : t2;
    }
    if (k < 2) {
      o.has_end = 1;
      o.end = (k == 0 ? t1 : t2) - 1;
    }
    std::string p = tmp.file("part" + std::to_string(k) + ".mcap");
    std::string msg;
    ASSERT_EQ(rwt::rewrite(whole, p, o, nullptr, &msg), PL_OK) << msg;
    parts.push_back(p);
  }
  pl_merge_stats st;
  std::string out = tmp.file("m.mcap"), msg;
  ASSERT_EQ(merge(parts, out, mopts(), &st, &msg), PL_OK) << msg;
  rwt::QueryOpts q;
  q.order = MCAP_ORDER_LOG_TIME;
  std::vector<Msg> want = rwt::query(whole, q);
  EXPECT_EQ(rwt::stream(out), want);
  EXPECT_GT(st.chunks_copied, 20u);
  EXPECT_EQ(st.channels, 7u);
  EXPECT_DOCTOR_CLEAN(out);
  // The same, merged message by message.
  pl_merge_options np = mopts();
  np.no_passthrough = 1;
  ASSERT_EQ(merge(parts, out, np, &st, &msg), PL_OK) << msg;
  EXPECT_EQ(st.chunks_copied, 0u);
  EXPECT_EQ(rwt::stream(out), want);

  // Interleaved: two recordings over the same time; a third after them.
  std::string a = tmp.file("a.mcap"), b = tmp.file("b.mcap");
  pl_synth_options oa = rwt::tiny(20), ob = rwt::tiny(20);
  oa.chunk_size = ob.chunk_size = 2048;
  oa.n_metadata = ob.n_metadata = PL_SYNTH_NONE;
  ob.seed = oa.seed;  // same start time: fully interleaved
  rwt::synth(a, oa);
  rwt::synth(b, ob);
  ASSERT_EQ(merge({a, b, parts[2]}, out, mopts(), &st, &msg), PL_OK) << msg;
  EXPECT_EQ(rwt::stream(out), expected_merge({a, b, parts[2]}));
  EXPECT_DOCTOR_CLEAN(out);
}

// Merging with 1, 2 or 3 compression threads (recompressing at another level) writes the
// same bytes.
TEST(Merge, IdenticalForAnyThreadCount) {
  TempDir tmp;
  std::vector<std::string> in;
  for (int k = 0; k < 3; k++) {
    pl_synth_options so = rwt::robot(0.3, k == 1 ? MCAP_COMPRESSION_LZ4 : MCAP_COMPRESSION_ZSTD);
    so.seed = (uint64_t)k + 11;
    in.push_back(tmp.file("in" + std::to_string(k) + ".mcap"));
    rwt::synth(in.back(), so);
  }
  std::string first;
  for (int threads : {1, 2, 3}) {
    pl_merge_options o = mopts();
    o.threads = threads;
    o.compression_level = 1;
    o.allow_duplicate_metadata = 1;  // each recording names its own device
    std::string out = tmp.file("m" + std::to_string(threads) + ".mcap");
    std::string msg;
    ASSERT_EQ(merge(in, out, o, nullptr, &msg), PL_OK) << msg;
    std::string bytes = rwt::read_all(out);
    if (threads == 1)
      first = bytes;
    else
      EXPECT_TRUE(bytes == first) << threads << " threads";
  }
  EXPECT_GT(first.size(), 100000u);
}

// Metadata records of one file are all kept, whatever their names: rosbag2 writes two
// records named "rosbag2" into one file (they differ), and merging that file alone, or with
// another input, must not call them a conflict. Conflicts are between inputs only.
TEST(Merge, SameNamedMetadataWithinOneFileIsKept) {
  TempDir tmp;
  FileSpec a, b;
  a.tag = "A";
  b.tag = "B";
  a.schemas = b.schemas = {{1, "S", "{}"}};
  a.channels = b.channels = {{1, 1, "/t", {}}};
  a.messages = {{1, 1}};
  b.messages = {{1, 2}};
  a.metadata = {{"rosbag2", {{"serialized_bag_info", "1"}}},
                {"rosbag2", {{"serialized_bag_info", "2"}}},
                {"rosbag2", {{"serialized_bag_info", "2"}}}};
  b.metadata = {{"rosbag2", {{"serialized_bag_info", "2"}}}};  // identical to one of a's
  std::string pa = tmp.file("a.mcap"), pb = tmp.file("b.mcap"), out = tmp.file("m.mcap");
  write_spec(pa, a);
  write_spec(pb, b);
  pl_merge_stats st;
  std::string msg;
  ASSERT_EQ(merge({pa}, out, mopts(), &st, &msg), PL_OK) << msg;
  EXPECT_EQ(st.metadata, 3u);
  EXPECT_EQ(st.metadata_duplicates, 0u);
  ASSERT_EQ(merge({pa, pb}, out, mopts(), &st, &msg), PL_OK) << msg;
  EXPECT_EQ(st.metadata, 3u);
  EXPECT_EQ(st.metadata_duplicates, 1u);
  EXPECT_DOCTOR_CLEAN(out);
  // A record of another input that differs from every same-named one is still a conflict.
  FileSpec c = b;
  c.tag = "C";
  c.metadata = {{"rosbag2", {{"serialized_bag_info", "3"}}}};
  std::string pc = tmp.file("c.mcap");
  write_spec(pc, c);
  EXPECT_EQ(merge({pa, pc}, out, mopts(), &st, &msg), PL_ECONFLICT);
  EXPECT_NE(msg.find("rosbag2"), std::string::npos) << msg;
  EXPECT_NE(msg.find("c.mcap"), std::string::npos) << msg;
}

// The real rosbag2 file with its two "rosbag2" Metadata records, read in place.
TEST(Merge, Rosbag2FileAloneMerges) {
  std::string real = std::string(MCAPKIT_SOURCE_DIR) + "/../shared/realworld/mcap/only_topics.mcap";
  if (!std::filesystem::exists(real)) GTEST_SKIP() << "no " << real;
  TempDir tmp;
  std::string out = tmp.file("m.mcap");
  pl_merge_stats st;
  std::string msg;
  ASSERT_EQ(merge({real}, out, mopts(), &st, &msg), PL_OK) << msg;
  EXPECT_GE(st.metadata, 2u);
  EXPECT_EQ(st.damaged_inputs, 0u);
}

// A truncated input is merged as far as it can be read; the stats name it and say how much
// of it was not read.
TEST(Merge, DamagedInputIsMergedAsFarAsItCanBeRead) {
  TempDir tmp;
  std::string a = tmp.file("a.mcap"), b = tmp.file("b.mcap"), cut = tmp.file("cut.mcap");
  pl_synth_options oa = rwt::tiny(20), ob = rwt::tiny(20);
  oa.chunk_size = ob.chunk_size = 4096;
  ob.seed = 11;
  rwt::synth(a, oa);
  rwt::synth(b, ob);
  std::string bytes = rwt::read_all(b);
  rwt::write_all(cut, bytes.substr(0, bytes.size() / 2));
  size_t readable = rwt::query(a).size() + rwt::query(cut).size();
  std::string out = tmp.file("m.mcap");
  pl_merge_stats st;
  std::string msg;
  pl_merge_options o = mopts();
  o.allow_duplicate_metadata = 1;
  ASSERT_EQ(merge({a, cut}, out, o, &st, &msg), PL_OK) << msg;
  EXPECT_EQ(st.damaged_inputs, 1u);
  EXPECT_EQ(st.first_damaged, 1u);
  EXPECT_EQ(st.damage.rest_unread, 1);
  EXPECT_GT(st.damage.bytes_skipped, 0u);
  EXPECT_EQ(st.messages, readable);
  EXPECT_EQ(rwt::query(out).size(), readable);
  // The same through rounds (max 2 open): the damaged input is still named.
  o.max_open_inputs = 2;
  o.tmp_dir = tmp.path().c_str();
  ASSERT_EQ(merge({a, a, cut}, out, o, &st, &msg), PL_OK) << msg;
  EXPECT_EQ(st.damaged_inputs, 1u);
  EXPECT_EQ(st.first_damaged, 2u);
}
