// test_index.cc - pl_index_file and the index JSON: golden documents for
// generated recordings (known topics; gaps at tolerance 0, 5 and 14 s; a topic
// whose schema changes mid-file; attachments and `foxglove` metadata), the
// fast path (summary + message indexes: no chunk decompressed) against the
// streamed path on every file variant, broken inputs, JSON round trip and
// directory collection; the layouts widespread writers produce (topics defined
// in the summary only, a first message at log time 0) index without errors,
// every defined topic listed.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "import_fixtures.h"
#include "tmpdir.h"
#include "writer_layouts.h"

using namespace import_test;
using mcapkit_test::TempDir;

namespace {

// The index as JSON with the temporary path replaced by the file name.
std::string golden_json(pl_recording_index *ix, const std::string &name) {
  char *saved = ix->path;
  std::string n = name;
  ix->path = &n[0];
  std::string s = to_json(ix);
  ix->path = saved;
  return s;
}

// Two topics with gaps: /a every second over [0,10], [15,20], [34,40], [60,62];
// /b at 0.5 s, 3.5 s and 47 s. Gaps: 5 s (equal to tolerance 5), 14 s (equal to
// the default), 7 s and 13 s.
void write_gaps(const std::string &path, bool summary = true) {
  mcap_writer_options o = Writer::make_options();
  o.no_summary = summary ? 0 : 1;
  o.chunk_size = 300;  // several chunks
  Writer w(path, o);
  uint16_t s = w.schema("Point", "jsonschema", "{\"type\":\"object\"}");
  uint16_t a = w.channel(s, "/a", "json");
  uint16_t b = w.channel(s, "/b", "json");
  std::vector<std::pair<uint64_t, uint16_t>> msgs;
  for (int t = 0; t <= 10; t++) msgs.push_back({kT0 + t * kSec, a});
  for (int t = 15; t <= 20; t++) msgs.push_back({kT0 + t * kSec, a});
  for (int t = 34; t <= 40; t++) msgs.push_back({kT0 + t * kSec, a});
  for (int t = 60; t <= 62; t++) msgs.push_back({kT0 + t * kSec, a});
  msgs.push_back({kT0 + kSec / 2, b});
  msgs.push_back({kT0 + 3 * kSec + kSec / 2, b});
  msgs.push_back({kT0 + 47 * kSec, b});
  std::sort(msgs.begin(), msgs.end());
  uint32_t seq = 0;
  for (auto &m : msgs) {
    seq++;
    w.message(m.second, m.first, "{\"x\":" + std::to_string(seq) + "}", seq);
  }
  w.close();
}

// /camera changes its schema halfway: a second channel on the same topic,
// registered between messages of one chunk.
void write_schema_change(const std::string &path, bool summary = true) {
  mcap_writer_options o = Writer::make_options();
  o.no_summary = summary ? 0 : 1;
  Writer w(path, o);
  uint16_t s1 = w.schema("Image", "ros2msg", "uint32 width\nuint32 height\n");
  uint16_t c1 = w.channel(s1, "/camera", "cdr");
  uint16_t s2 = w.schema("Other", "jsonschema", "{}");
  uint16_t c2 = w.channel(s2, "/status", "json");
  for (int i = 0; i < 5; i++) {
    w.message(c1, kT0 + i * kSec, std::string(100 + i, 'a'), i);
    w.message(c2, kT0 + i * kSec + 1, "{}", i);
  }
  uint16_t s3 = w.schema("Image", "ros2msg", "uint32 width\nuint32 height\nstring encoding\n");
  uint16_t c3 = w.channel(s3, "/camera", "cdr");
  for (int i = 5; i < 10; i++) {
    w.message(c3, kT0 + i * kSec, std::string(200 + i, 'b'), i);
    w.message(c2, kT0 + i * kSec + 1, "{}", i);
  }
  w.close();
}

// Attachments and metadata, with two `foxglove` records (the last wins).
void write_attachments(const std::string &path) {
  Writer w(path);
  w.metadata("foxglove", {{"deviceName", "old-name"}, {"key", "old-key"}});
  uint16_t s = w.schema("Log", "jsonschema", "{}");
  uint16_t c = w.channel(s, "/log", "json");
  w.attachment("calibration.yaml", "text/yaml", kT0, "fx: 500\nfy: 500\n");
  for (int i = 0; i < 3; i++) w.message(c, kT0 + i * kSec, "{\"msg\":\"hello\"}", i);
  w.attachment("empty.bin", "application/octet-stream", kT0 + 2 * kSec, "");
  w.metadata("foxglove", {{"deviceName", "rover-7"}, {"deviceId", "dev_123"}, {"key", "run-42"}});
  w.metadata("notes", {{"operator", "ada"}, {"weather", "rain"}});
  w.close();
}

void expect_same_index(const pl_recording_index *a, const pl_recording_index *b) {
  EXPECT_EQ(a->message_count, b->message_count);
  EXPECT_EQ(a->start, b->start);
  EXPECT_EQ(a->end, b->end);
  ASSERT_EQ(a->n_topics, b->n_topics);
  for (size_t i = 0; i < a->n_topics; i++) {
    EXPECT_STREQ(a->topics[i].topic, b->topics[i].topic);
    EXPECT_STREQ(a->topics[i].version, b->topics[i].version);
    EXPECT_EQ(a->topics[i].message_count, b->topics[i].message_count) << a->topics[i].topic;
    EXPECT_EQ(a->topics[i].bytes, b->topics[i].bytes) << a->topics[i].topic;
    EXPECT_EQ(a->topics[i].first_log_time, b->topics[i].first_log_time);
    EXPECT_EQ(a->topics[i].last_log_time, b->topics[i].last_log_time);
  }
  ASSERT_EQ(a->n_coverage, b->n_coverage);
  for (size_t i = 0; i < a->n_coverage; i++) {
    EXPECT_EQ(a->coverage[i].start, b->coverage[i].start);
    EXPECT_EQ(a->coverage[i].end, b->coverage[i].end);
  }
  ASSERT_EQ(a->n_attachments, b->n_attachments);
  for (size_t i = 0; i < a->n_attachments; i++) {
    EXPECT_STREQ(a->attachments[i].fingerprint, b->attachments[i].fingerprint);
    if (a->attachments[i].crc && b->attachments[i].crc) {
      EXPECT_EQ(a->attachments[i].crc, b->attachments[i].crc);
    }
  }
  ASSERT_EQ(a->n_metadata, b->n_metadata);
}

}  // namespace

TEST(IndexGolden, TinySynthRecording) {
  TempDir tmp;
  std::string p = tmp.file("tiny.mcap");
  pl_synth_stats st = synth(p, tiny(5));
  Index ix = index_file(p);
  ASSERT_TRUE(ix);
  EXPECT_EQ(ix->message_count, st.messages);
  EXPECT_EQ(ix->chunks_decompressed, 0u);
  expect_golden("tiny.json", golden_json(ix.get(), "tiny.mcap"));
}

TEST(IndexGolden, GapsAtTolerance0_5_14) {
  TempDir tmp;
  std::string p = tmp.file("gaps.mcap");
  write_gaps(p);
  for (double tol : {0.0, 5.0, 14.0}) {
    Index ix = index_file(p, tol);
    ASSERT_TRUE(ix);
    EXPECT_EQ(ix->chunks_decompressed, 0u);
    char name[64];
    snprintf(name, sizeof name, "gaps_tol%g.json", tol);
    expect_golden(name, golden_json(ix.get(), "gaps.mcap"));
  }
  // the tolerance rule, spelled out (the API reference's): a gap equal to the tolerance
  // splits, so the 5 s gap splits at tolerance 5 and the 14 s gap at 14
  Index t5 = index_file(p, 5), t14 = index_file(p, 14), t0 = index_file(p, 0);
  ASSERT_EQ(t5->n_coverage, 5u);  // [0,10] [15,20] [34,40] [47] [60,62]
  EXPECT_EQ(t5->coverage[0].end, kT0 + 10 * kSec);
  EXPECT_EQ(t5->coverage[1].start, kT0 + 15 * kSec);
  ASSERT_EQ(t14->n_coverage, 2u);  // [0,20] [34,62]
  EXPECT_EQ(t14->coverage[0].start, kT0);
  EXPECT_EQ(t14->coverage[0].end, kT0 + 20 * kSec);
  EXPECT_EQ(t14->coverage[1].start, kT0 + 34 * kSec);
  EXPECT_EQ(t14->coverage[1].end, kT0 + 62 * kSec);
  EXPECT_EQ(t0->n_coverage, t0->message_count);  // all distinct times: one range each
  // one nanosecond more tolerance joins the gaps equal to the tolerance
  Index t5p = index_file(p, 5.000000001), t14p = index_file(p, 14.000000001);
  ASSERT_EQ(t5p->n_coverage, 4u);  // [0,20] [34,40] [47] [60,62]
  EXPECT_EQ(t5p->coverage[0].end, kT0 + 20 * kSec);
  ASSERT_EQ(t14p->n_coverage, 1u);
  EXPECT_EQ(t14p->coverage[0].end, kT0 + 62 * kSec);
  // per topic: /b alone at tolerance 14 has [0.5, 3.5] and [47]
  for (size_t i = 0; i < t14->n_topic_coverage; i++)
    if (std::string(t14->topic_coverage[i].topic) == "/b") {
      EXPECT_EQ(t14->topic_coverage[i].n_ranges, 2u);
    }
  // the streamed path (no summary) builds the same ranges
  std::string q = tmp.file("gaps_nosummary.mcap");
  write_gaps(q, false);
  for (double tol : {0.0, 5.0, 5.000000001, 14.0}) {
    Index a = index_file(p, tol), b = index_file(q, tol);
    ASSERT_EQ(a->n_coverage, b->n_coverage) << tol;
    for (size_t i = 0; i < a->n_coverage; i++) {
      EXPECT_EQ(a->coverage[i].start, b->coverage[i].start) << tol;
      EXPECT_EQ(a->coverage[i].end, b->coverage[i].end) << tol;
    }
  }
}

TEST(IndexGolden, TopicWhoseSchemaChangesMidFile) {
  TempDir tmp;
  std::string p = tmp.file("schema_change.mcap");
  write_schema_change(p);
  Index ix = index_file(p);
  ASSERT_TRUE(ix);
  ASSERT_EQ(ix->n_topics, 3u);
  EXPECT_STREQ(ix->topics[0].topic, "/camera");
  EXPECT_STREQ(ix->topics[1].topic, "/camera");
  EXPECT_STRNE(ix->topics[0].version, ix->topics[1].version);
  EXPECT_EQ(ix->topics[0].message_count, 5u);
  EXPECT_EQ(ix->topics[1].message_count, 5u);
  EXPECT_EQ(ix->topics[0].bytes, 100u + 101 + 102 + 103 + 104);
  EXPECT_EQ(ix->topics[1].bytes, 205u + 206 + 207 + 208 + 209);
  // one topic_coverage entry per topic name
  EXPECT_EQ(ix->n_topic_coverage, 2u);
  // the channel registered between messages makes its chunk's offsets unusable: it is read
  EXPECT_EQ(ix->chunks_decompressed, 1u);
  expect_golden("schema_change.json", golden_json(ix.get(), "schema_change.mcap"));
}

TEST(IndexGolden, AttachmentsAndFoxgloveMetadata) {
  TempDir tmp;
  std::string p = tmp.file("attachments.mcap");
  write_attachments(p);
  Index ix = index_file(p);
  ASSERT_TRUE(ix);
  EXPECT_STREQ(ix->device_name, "rover-7");
  EXPECT_STREQ(ix->device_id, "dev_123");
  EXPECT_STREQ(ix->key, "run-42");
  ASSERT_EQ(ix->n_attachments, 2u);
  EXPECT_STREQ(ix->attachments[0].name, "calibration.yaml");
  EXPECT_EQ(ix->attachments[0].size, 16u);
  EXPECT_NE(ix->attachments[0].crc, 0u);
  ASSERT_EQ(ix->n_metadata, 3u);
  EXPECT_STREQ(ix->metadata[2].name, "notes");
  expect_golden("attachments.json", golden_json(ix.get(), "attachments.mcap"));
}

TEST(IndexFastPath, DecompressesNoChunkAndMatchesTheStreamedPass) {
  TempDir tmp;
  struct Variant {
    const char *name;
    void (*set)(pl_synth_options &);
  };
  const Variant variants[] = {
      {"zstd", [](pl_synth_options &) {}},
      {"lz4", [](pl_synth_options &o) { o.compression = MCAP_COMPRESSION_LZ4; }},
      {"none", [](pl_synth_options &o) { o.compression = MCAP_COMPRESSION_NONE; }},
      {"small_chunks", [](pl_synth_options &o) { o.chunk_size = 4096; }},
      {"no_statistics", [](pl_synth_options &o) { o.no_statistics = 1; }},
      {"no_summary_offsets", [](pl_synth_options &o) { o.no_summary_offsets = 1; }},
  };
  std::string ref = tmp.file("ref.mcap");
  pl_synth_options ro = robot(1, 3);
  ro.no_summary = 1;
  synth(ref, ro);
  Index streamed = index_file(ref);
  EXPECT_GT(streamed->chunks_decompressed, 0u);
  for (const auto &v : variants) {
    std::string p = tmp.file(std::string(v.name) + ".mcap");
    pl_synth_options o = robot(1, 3);
    v.set(o);
    pl_synth_stats st = synth(p, o);
    Index ix = index_file(p);
    ASSERT_TRUE(ix) << v.name;
    EXPECT_EQ(ix->chunks_decompressed, 0u) << v.name;
    EXPECT_EQ(ix->message_count, st.messages) << v.name;
    uint64_t bytes = 0;
    for (size_t i = 0; i < ix->n_topics; i++) bytes += ix->topics[i].bytes;
    EXPECT_EQ(bytes, st.message_bytes) << v.name;
    expect_same_index(ix.get(), streamed.get());
  }
}

TEST(IndexFastPath, FilesThatNeedTheStreamedPathGiveTheSameIndex) {
  TempDir tmp;
  std::string ref = tmp.file("ref.mcap");
  synth(ref, robot(1, 4));
  Index want = index_file(ref);
  struct Variant {
    const char *name;
    void (*set)(pl_synth_options &);
  };
  const Variant variants[] = {
      {"no_summary", [](pl_synth_options &o) { o.no_summary = 1; }},
      {"no_chunking", [](pl_synth_options &o) { o.no_chunking = 1; }},
      {"no_message_index", [](pl_synth_options &o) { o.no_message_index = 1; }},
      {"no_chunk_index", [](pl_synth_options &o) { o.no_chunk_index = 1; }},
      {"no_repeated", [](pl_synth_options &o) { o.no_repeated_schemas_channels = 1; }},
      {"no_crcs", [](pl_synth_options &o) { o.no_crcs = 1; }},
  };
  for (const auto &v : variants) {
    std::string p = tmp.file(std::string(v.name) + ".mcap");
    pl_synth_options o = robot(1, 4);
    v.set(o);
    synth(p, o);
    Index ix = index_file(p);
    ASSERT_TRUE(ix) << v.name;
    EXPECT_FALSE(ix->partial) << v.name;
    SCOPED_TRACE(v.name);
    expect_same_index(ix.get(), want.get());
  }
  // special files: the same from their summary and without it
  std::string a = tmp.file("sc.mcap"), b = tmp.file("sc_nosummary.mcap");
  write_schema_change(a, true);
  write_schema_change(b, false);
  Index ia = index_file(a), ib = index_file(b);
  expect_same_index(ia.get(), ib.get());
  write_gaps(a, true);
  write_gaps(b, false);
  ia = index_file(a, 5);
  ib = index_file(b, 5);
  expect_same_index(ia.get(), ib.get());
}

TEST(IndexBroken, TruncatedFileIsIndexedAsFarAsItGoes) {
  TempDir tmp;
  std::string p = tmp.file("full.mcap"), t = tmp.file("trunc.mcap");
  pl_synth_stats st = synth(p, robot(2, 5));
  std::string bytes = read_all(p);
  write_all(t, bytes.substr(0, bytes.size() * 2 / 3));
  Index ix = index_file(t, -1, true);
  ASSERT_TRUE(ix);
  EXPECT_TRUE(ix->partial);
  EXPECT_GT(ix->message_count, st.messages / 3);
  EXPECT_LT(ix->message_count, st.messages);
  bool doctor_truncated = false, own = false;
  for (size_t i = 0; i < ix->n_problems; i++) {
    if (std::string(ix->problems[i].code) == "truncated") doctor_truncated = true;
    if (std::string(ix->problems[i].code) == "index-truncated") own = true;
  }
  EXPECT_TRUE(doctor_truncated);
  EXPECT_TRUE(own);
  EXPECT_EQ(std::string(ix->content_hash).size(), 32u);
}

TEST(IndexBroken, BadChunkCrcIsListedAndTheRestIndexed) {
  TempDir tmp;
  std::string p = tmp.file("good.mcap"), bad = tmp.file("bad.mcap"), bad2 = tmp.file("bad2.mcap");
  pl_synth_options o = tiny(20);
  o.chunk_size = 2048;
  pl_synth_stats st = synth(p, o);
  o.no_summary = 1;
  synth(bad2, o);
  // flip a byte inside the records of the middle chunk (both files have the same data section)
  uint64_t at = 0;
  {
    mcap_source src;
    mcap_error_info e{};
    ASSERT_EQ(mcap_source_open_file(&src, p.c_str(), &e), MCAP_OK);
    mcap_reader *r = nullptr;
    ASSERT_EQ(mcap_reader_open(&r, &src, nullptr, &e), MCAP_OK) << e.msg;
    ASSERT_GT(mcap_reader_chunk_count(r), 2u);
    const mcap_chunk_index *ci = mcap_reader_chunk_at(r, mcap_reader_chunk_count(r) / 2);
    at = ci->chunk_start_offset + ci->chunk_length - 20;
    mcap_reader_free(r);
  }
  for (const std::string &target : {bad, bad2}) {
    std::string bytes = read_all(target == bad ? p : bad2);
    ASSERT_LT(at, bytes.size());
    bytes[at] ^= 0x20;
    write_all(target, bytes);
  }
  // with a summary: counts come from the message indexes; the doctor names the chunk
  Index ix = index_file(bad, -1, true);
  ASSERT_TRUE(ix);
  EXPECT_EQ(ix->message_count, st.messages);
  bool crc = false;
  for (size_t i = 0; i < ix->n_problems; i++)
    if (std::string(ix->problems[i].code) == "crc-chunk") crc = true;
  EXPECT_TRUE(crc);
  // without one: the bad chunk is skipped, the rest indexed, the file marked partial
  Index ix2 = index_file(bad2, -1, false);
  ASSERT_TRUE(ix2);
  EXPECT_TRUE(ix2->partial);
  EXPECT_LT(ix2->message_count, st.messages);
  EXPECT_GT(ix2->message_count, 0u);
  ASSERT_GE(ix2->n_problems, 1u);
  EXPECT_STREQ(ix2->problems[0].code, "index-chunk-skipped");
}

TEST(IndexBroken, DoctorBesideTheScanFindsTheBadChunkThePassSkipped) {
  // Without a summary the index reads every chunk, and the doctor beside it takes the
  // chunks the pass decompressed (the chunk feed); a chunk the pass could not use is not
  // fed, so the doctor must decompress it itself and list its CRC mismatch. Both doctor
  // modes (beside a scan only, and always) give the same document.
  TempDir tmp;
  std::string bad = tmp.file("bad.mcap");
  pl_synth_options o = tiny(20);
  o.chunk_size = 2048;
  o.no_summary = 1;
  synth(bad, o);
  std::string bytes = read_all(bad);
  // the middle chunk of the data section: found by a scan of the file (no chunk index)
  uint64_t at = 0;
  {
    mcap_source src;
    mcap_error_info e{};
    ASSERT_EQ(mcap_source_open_file(&src, bad.c_str(), &e), MCAP_OK);
    mcap_reader *r = nullptr;
    ASSERT_EQ(mcap_reader_open(&r, &src, nullptr, &e), MCAP_OK) << e.msg;
    ASSERT_GT(mcap_reader_chunk_count(r), 2u);
    const mcap_chunk_index *ci = mcap_reader_chunk_at(r, mcap_reader_chunk_count(r) / 2);
    at = ci->chunk_start_offset + ci->chunk_length - 20;
    mcap_reader_free(r);
  }
  bytes[at] ^= 0x20;
  write_all(bad, bytes);
  std::string docs[2];
  for (int mode = 0; mode < 2; mode++) {
    pl_index_options io{};
    io.tolerance_s = -1;
    io.threads = 1;
    io.doctor_if_scanning = mode == 0;
    pl_recording_index *raw = nullptr;
    pl_error_info err{};
    ASSERT_EQ(pl_index_file(bad.c_str(), &io, &raw, &err), PL_OK) << err.msg;
    Index ix(raw);
    bool crc = false;
    for (size_t i = 0; i < ix->n_problems; i++)
      if (std::string(ix->problems[i].code) == "crc-chunk") crc = true;
    EXPECT_TRUE(crc) << mode;
    EXPECT_TRUE(ix->partial);
    docs[mode] = to_json(ix.get());
  }
  EXPECT_EQ(docs[0], docs[1]);
}

TEST(IndexBroken, NotMcapFails) {
  TempDir tmp;
  std::string p = tmp.file("text.mcap");
  write_all(p, "this is not an MCAP file at all\n");
  pl_index_options o{};
  o.no_doctor = 1;
  pl_recording_index *ix = nullptr;
  pl_error_info err{};
  EXPECT_EQ(pl_index_file(p.c_str(), &o, &ix, &err), PL_EMCAP);
  EXPECT_EQ(ix, nullptr);
  EXPECT_NE(std::string(err.msg).find("not an MCAP file"), std::string::npos) << err.msg;
  EXPECT_EQ(pl_index_file(tmp.file("missing.mcap").c_str(), &o, &ix, &err), PL_EIO);
}

TEST(IndexJson, RoundTrip) {
  TempDir tmp;
  std::string p = tmp.file("a.mcap");
  write_attachments(p);
  Index ix = index_file(p, 3.5);
  std::string j1 = to_json(ix.get());
  pl_recording_index *back = nullptr;
  pl_error_info err{};
  ASSERT_EQ(pl_index_from_json(j1.data(), j1.size(), &back, &err), PL_OK) << err.msg;
  Index b(back);
  EXPECT_EQ(to_json(b.get()), j1);
  EXPECT_EQ(b->tolerance_ns, 3500000000ull);
  EXPECT_STREQ(b->key, "run-42");
  // malformed and unexpected documents are refused with a message
  for (const char *bad :
       {"{", "[]", "{\"format_version\": 2}", "{\"format_version\": 1}", "{} trailing"}) {
    pl_recording_index *x = nullptr;
    EXPECT_EQ(pl_index_from_json(bad, strlen(bad), &x, &err), PL_EJSON) << bad;
    EXPECT_EQ(x, nullptr);
  }
}

TEST(IndexCollect, DirectorySkipsActiveAndUnfinishedFiles) {
  TempDir tmp;
  std::string d = tmp.path();
  mkdir((d + "/sub").c_str(), 0777);
  synth(d + "/b.mcap", tiny(1));
  synth(d + "/sub/a.mcap", tiny(1));
  synth(d + "/sub/c.active.mcap.active", tiny(1));
  std::string bytes = read_all(d + "/b.mcap");
  write_all(d + "/sub/writing.mcap", bytes.substr(0, bytes.size() - 10));
  write_all(d + "/notes.txt", "x");
  const char *args[] = {d.c_str()};
  char **paths = nullptr;
  size_t n = 0;
  pl_error_info err{};
  ASSERT_EQ(pl_collect_recordings(args, 1, &paths, &n, &err), PL_OK) << err.msg;
  ASSERT_EQ(n, 2u);
  EXPECT_EQ(std::string(paths[0]), d + "/b.mcap");
  EXPECT_EQ(std::string(paths[1]), d + "/sub/a.mcap");
  pl_paths_free(paths, n);
  // many at once, in parallel
  std::string a = d + "/sub/a.mcap", bpath = d + "/b.mcap";
  const char *files[] = {bpath.c_str(), a.c_str()};
  pl_recording_index *ix[2] = {nullptr, nullptr};
  int rc[2];
  pl_error_info errs[2];
  pl_index_options o{};
  o.tolerance_s = -1;
  o.no_doctor = 1;
  pl_index_files(files, 2, &o, 2, ix, rc, errs);
  EXPECT_EQ(rc[0], PL_OK);
  EXPECT_EQ(rc[1], PL_OK);
  EXPECT_STREQ(ix[0]->content_hash, ix[1]->content_hash);  // same synth options
  pl_recording_index_free(ix[0]);
  pl_recording_index_free(ix[1]);
}

namespace {

std::string write_layout(TempDir &tmp, const std::string &name, const mcapkit_test::Bytes &b) {
  std::string p = tmp.file(name);
  write_all(p, std::string(b.begin(), b.end()));
  return p;
}

const pl_topic *topic_named(const pl_recording_index *ix, const std::string &name) {
  for (size_t i = 0; i < ix->n_topics; i++)
    if (name == ix->topics[i].topic) return &ix->topics[i];
  return nullptr;
}

size_t error_problems(const pl_recording_index *ix) {
  size_t n = 0;
  for (size_t i = 0; i < ix->n_problems; i++)
    if (ix->problems[i].severity == PL_SEV_ERROR) n++;
  return n;
}

}  // namespace

// rosbag2's topics without messages, defined in the summary only: listed with no messages,
// from the summary and message indexes alone (no chunk read, no fallback), and the same when
// the file must be read whole; no error, with or without the doctor.
TEST(IndexWriterLayouts, TopicsDefinedInTheSummaryOnlyAreListed) {
  TempDir tmp;
  std::string fast = write_layout(tmp, "rosbag2.mcap", mcapkit_test::rosbag2_summary_only_file());
  std::string slow =
      write_layout(tmp, "rosbag2_noidx.mcap", mcapkit_test::rosbag2_summary_only_file("", false));
  Index a = index_file(fast, -1, true), b = index_file(slow, -1, true);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->chunks_decompressed, 0u);
  EXPECT_GT(b->chunks_decompressed, 0u);
  for (const Index *ix : {&a, &b}) {
    const pl_recording_index *x = ix->get();
    EXPECT_FALSE(x->partial);
    EXPECT_EQ(error_problems(x), 0u) << to_json(x);
    for (size_t i = 0; i < x->n_problems; i++)
      EXPECT_NE(std::string(x->problems[i].code), "index-summary-unused") << to_json(x);
    ASSERT_EQ(x->n_topics, 3u) << to_json(x);
    EXPECT_EQ(x->message_count, mcapkit_test::kRosbag2Messages);
    const pl_topic *events = topic_named(x, "/parameter_events");
    ASSERT_TRUE(events);
    EXPECT_EQ(events->message_count, mcapkit_test::kRosbag2Messages);
    for (const char *empty : {"/rosout", "/events/write_split"}) {
      const pl_topic *t = topic_named(x, empty);
      ASSERT_TRUE(t) << empty;
      EXPECT_EQ(t->message_count, 0u);
      EXPECT_EQ(t->frequency, 0.0);
      EXPECT_GT(strlen(t->schema_name), 0u);
    }
    EXPECT_EQ(x->n_metadata, 2u);
  }
  expect_same_index(a.get(), b.get());
}

TEST(IndexWriterLayouts, FirstMessageAtLogTimeZero) {
  TempDir tmp;
  std::string p = write_layout(tmp, "zero.mcap", mcapkit_test::log_time_zero_file());
  Index ix = index_file(p, -1, true);
  ASSERT_TRUE(ix);
  EXPECT_EQ(ix->chunks_decompressed, 0u) << "the Statistics start time does not stop the fast path";
  EXPECT_EQ(error_problems(ix.get()), 0u) << to_json(ix.get());
  EXPECT_EQ(ix->message_count, mcapkit_test::kLogTimeZeroMessages);
  EXPECT_TRUE(ix->has_messages);
  EXPECT_EQ(ix->start, 0u);  // from the messages, not from the Statistics
  ASSERT_EQ(ix->n_topics, 2u);
  EXPECT_EQ(topic_named(ix.get(), "/a_empty")->first_log_time, 0u);
  EXPECT_EQ(topic_named(ix.get(), "/a_empty")->schema_len, 0u);  // the empty ros2msg schema
}

// The summary's definitions are read after DataEnd by the streamed path (and by the lake):
// a damaged summary must never crash or mislead the index: they are taken only when the
// summary's CRC matches. Every byte of the summary of a rosbag2-layout file without message
// indexes (so the streamed path runs) flipped, and the file cut along the summary: the
// topic with messages is there, the summary-only ones are not. (Every other byte, to keep
// the test short; the doctor's own sweep covers every byte.)
TEST(IndexWriterLayouts, DamagedSummaryNeverBreaksTheIndex) {
  TempDir tmp;
  mcapkit_test::Bytes base = mcapkit_test::rosbag2_summary_only_file("", false);
  // the summary starts where the Footer says
  size_t footer = base.size() - 8 - 29;
  uint64_t summary_start = 0;
  for (int i = 7; i >= 0; i--) summary_start = summary_start << 8 | base[footer + 9 + i];
  ASSERT_GT(summary_start, 0u);
  ASSERT_LT(summary_start, footer);
  std::string p = tmp.file("d.mcap");
  write_all(p, std::string(base.begin(), base.end()));
  ASSERT_EQ(index_file(p)->n_topics, 3u);
  for (size_t at = summary_start; at < footer; at += 2) {
    mcapkit_test::Bytes b = base;
    b[at] ^= 0x5A;
    write_all(p, std::string(b.begin(), b.end()));
    Index ix = index_file(p);
    ASSERT_TRUE(ix) << "flip at " << at;
    EXPECT_EQ(ix->message_count, mcapkit_test::kRosbag2Messages) << "flip at " << at;
    ASSERT_EQ(ix->n_topics, 1u) << "flip at " << at;
    EXPECT_STREQ(ix->topics[0].topic, "/parameter_events");
  }
  for (size_t n = summary_start; n < footer; n += 3) {
    write_all(p, std::string(base.begin(), base.begin() + static_cast<std::ptrdiff_t>(n)));
    Index ix = index_file(p);
    ASSERT_TRUE(ix) << "cut at " << n;
    EXPECT_EQ(ix->message_count, mcapkit_test::kRosbag2Messages) << "cut at " << n;
    EXPECT_EQ(ix->n_topics, 1u) << "cut at " << n;
  }
}
