// test_lake.cc - pl_lake_write and pl_lake_verify: per-topic files that are
// doctor-clean and hold every message unchanged, verify passing (and catching
// a changed lake), byte-identical output across runs and thread counts, a
// failure midway (fail_after_files) leaving no visible recording and a re-run
// completing it, complete recordings skipped, damaged inputs refused unless
// allow_partial, and conflicting keys.
#include <dirent.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "import_fixtures.h"
#include "tmpdir.h"

using namespace import_test;
using mcapkit_test::TempDir;

namespace {

struct LakeResult {
  pl_lake_result res{};
  int rc = 0;
  pl_error_info err{};
  ~LakeResult() { pl_lake_result_dispose(&res); }
};

std::unique_ptr<LakeResult> lake(const std::string &file, const std::string &dir,
                                 pl_lake_options o = {}) {
  auto r = std::make_unique<LakeResult>();
  r->rc = pl_lake_write(file.c_str(), dir.c_str(), &o, &r->res, &r->err);
  return r;
}

std::vector<pl_finding> verify(const std::string &dir, const std::string &file, int *rc) {
  pl_finding *d = nullptr;
  size_t n = 0;
  pl_error_info err{};
  *rc = pl_lake_verify(dir.c_str(), file.c_str(), &d, &n, &err);
  std::vector<pl_finding> v(d, d + n);
  free(d);
  return v;
}

// Every regular file below dir: relative path -> content.
void list_tree(const std::string &root, const std::string &rel,
               std::map<std::string, std::string> *out) {
  DIR *d = opendir((root + "/" + rel).c_str());
  if (!d) return;
  while (dirent *e = readdir(d)) {
    std::string n = e->d_name;
    if (n == "." || n == "..") continue;
    std::string r = rel.empty() ? n : rel + "/" + n;
    struct stat st;
    if (lstat((root + "/" + r).c_str(), &st) != 0) continue;
    if (S_ISDIR(st.st_mode))
      list_tree(root, r, out);
    else
      (*out)[r] = read_all(root + "/" + r);
  }
  closedir(d);
}

std::map<std::string, std::string> tree(const std::string &root) {
  std::map<std::string, std::string> m;
  list_tree(root, "", &m);
  return m;
}

bool exists(const std::string &p) {
  struct stat st;
  return stat(p.c_str(), &st) == 0;
}

}  // namespace

TEST(Lake, PerTopicFilesHoldEveryMessageAndAreDoctorClean) {
  TempDir tmp;
  std::string in = tmp.file("rec.mcap"), dir = tmp.file("lake");
  pl_synth_stats st = synth(in, robot(1.5, 7));
  auto r = lake(in, dir);
  ASSERT_EQ(r->rc, PL_OK) << r->err.msg;
  EXPECT_FALSE(r->res.skipped);
  EXPECT_EQ(std::string(r->res.recording_dir).rfind("robot-08/", 0), 0u) << r->res.recording_dir;
  ASSERT_EQ(r->res.n_files, st.n_topics);
  std::string rec = dir + "/" + r->res.recording_dir;
  EXPECT_TRUE(exists(rec + "/_recording.mcap"));
  EXPECT_TRUE(exists(rec + "/lake.json"));
  EXPECT_TRUE(exists(rec + "/index.json"));

  // the messages of each topic file are the original's messages of that topic, unchanged
  std::vector<Msg> orig = read_messages(in, MCAP_ORDER_FILE);
  std::map<std::string, std::vector<Msg>> by_topic;
  for (const Msg &m : orig) by_topic[m.topic].push_back(m);
  for (size_t i = 0; i < r->res.n_files; i++) {
    const pl_lake_file &f = r->res.files[i];
    ASSERT_EQ(f.n_topics, 1u);
    std::string path = dir + "/" + f.path;
    std::string why;
    EXPECT_EQ(doctor_errors(path, &why), 0u) << f.path << ": " << why;
    std::vector<Msg> got = read_messages(path, MCAP_ORDER_FILE);
    EXPECT_TRUE(got == by_topic[f.topics[0]]) << f.topics[0];
    // chunks stay under 1 MiB unless one message is bigger
    mcap_source src;
    mcap_error_info e{};
    ASSERT_EQ(mcap_source_open_file(&src, path.c_str(), &e), MCAP_OK);
    mcap_reader *rd = nullptr;
    ASSERT_EQ(mcap_reader_open(&rd, &src, nullptr, &e), MCAP_OK);
    EXPECT_EQ(mcap_reader_index_source(rd, nullptr), MCAP_INDEX_FROM_SUMMARY);
    for (size_t k = 0; k < mcap_reader_chunk_count(rd); k++) {
      const mcap_chunk_index *ci = mcap_reader_chunk_at(rd, k);
      EXPECT_STREQ(std::string(ci->compression.data, ci->compression.len).c_str(), "zstd");
      if (f.topics[0] != std::string("/lidar/points")) {
        EXPECT_LE(ci->uncompressed_size, 1u << 20);
      }
    }
    mcap_reader_free(rd);
  }
  EXPECT_EQ(doctor_errors(rec + "/_recording.mcap"), 0u);
  int vrc;
  auto diffs = verify(dir, in, &vrc);
  EXPECT_EQ(vrc, PL_OK);
  for (const auto &d : diffs) ADD_FAILURE() << d.code << ": " << d.message;
  // nothing left in the staging area, not even the lock file (issue #15, item 9)
  auto t = tree(dir + "/tmp");
  for (const auto &kv : t) ADD_FAILURE() << "left behind: tmp/" << kv.first;
}

TEST(Lake, NoLockFileLeftBehindAfterASkipOrAFailure) {
  TempDir tmp;
  std::string in = tmp.file("rec.mcap"), dir = tmp.file("lake");
  synth(in, robot(0.5, 5));
  pl_lake_options o{};
  o.fail_after_files = 2;
  auto r = lake(in, dir, o);
  EXPECT_EQ(r->rc, PL_EIO);
  for (const auto &kv : tree(dir + "/tmp"))
    EXPECT_EQ(kv.first.find(".lock"), std::string::npos) << kv.first;
  r = lake(in, dir);
  ASSERT_EQ(r->rc, PL_OK) << r->err.msg;
  r = lake(in, dir);  // skipped: already complete
  ASSERT_EQ(r->rc, PL_OK) << r->err.msg;
  EXPECT_TRUE(r->res.skipped);
  EXPECT_TRUE(tree(dir + "/tmp").empty());
}

TEST(Lake, IdenticalAcrossRunsAndThreadCounts) {
  TempDir tmp;
  std::string in = tmp.file("rec.mcap");
  synth(in, robot(1, 9));
  std::map<std::string, std::string> first;
  for (int jobs : {1, 2, 3, 8}) {
    std::string dir = tmp.file("lake" + std::to_string(jobs));
    pl_lake_options o{};
    o.jobs = jobs;
    auto r = lake(in, dir, o);
    ASSERT_EQ(r->rc, PL_OK) << r->err.msg;
    auto t = tree(dir);
    if (first.empty()) {
      first = t;
      EXPECT_GE(first.size(), 10u);
    } else {
      EXPECT_TRUE(t == first) << "jobs " << jobs;
    }
  }
  // a re-run is a no-op
  std::string dir = tmp.file("lake1");
  auto before = tree(dir);
  auto r = lake(in, dir);
  ASSERT_EQ(r->rc, PL_OK) << r->err.msg;
  EXPECT_TRUE(r->res.skipped);
  EXPECT_EQ(r->res.n_files, 7u);
  EXPECT_TRUE(tree(dir) == before);
}

TEST(Lake, FailureMidwayLeavesNothingVisibleAndARerunCompletes) {
  TempDir tmp;
  std::string in = tmp.file("rec.mcap"), dir = tmp.file("lake");
  synth(in, robot(1, 11));
  for (int fail_after : {1, 4, 9}) {
    pl_lake_options o{};
    o.fail_after_files = fail_after;
    o.jobs = 2;
    auto r = lake(in, dir, o);
    EXPECT_EQ(r->rc, PL_EIO) << fail_after;
    EXPECT_NE(std::string(r->err.msg).find("injected"), std::string::npos) << r->err.msg;
    // the device folder does not exist or holds no recording
    auto t = tree(dir);
    for (const auto &kv : t) EXPECT_EQ(kv.first.rfind("tmp/", 0), 0u) << kv.first;
  }
  auto r = lake(in, dir);
  ASSERT_EQ(r->rc, PL_OK) << r->err.msg;
  EXPECT_FALSE(r->res.skipped);
  int vrc;
  auto diffs = verify(dir, in, &vrc);
  EXPECT_EQ(vrc, PL_OK);
  // and the result equals a run that never failed
  std::string clean = tmp.file("clean");
  auto r2 = lake(in, clean);
  ASSERT_EQ(r2->rc, PL_OK);
  auto a = tree(dir), b = tree(clean);
  for (auto *m : {&a, &b})
    for (auto it = m->begin(); it != m->end();)
      it = it->first.rfind("tmp/", 0) == 0 ? m->erase(it) : std::next(it);
  EXPECT_TRUE(a == b);
}

TEST(Lake, DamagedInputRefusedUnlessAllowPartial) {
  TempDir tmp;
  std::string in = tmp.file("rec.mcap"), trunc = tmp.file("trunc.mcap"), dir = tmp.file("lake");
  synth(in, robot(1, 12));
  std::string bytes = read_all(in);
  write_all(trunc, bytes.substr(0, bytes.size() / 2));
  auto r = lake(trunc, dir);
  EXPECT_EQ(r->rc, PL_EPARTIAL);
  EXPECT_NE(std::string(r->err.msg).find("cannot be read completely"), std::string::npos)
      << r->err.msg;
  EXPECT_TRUE(tree(dir).size() <= 1u);  // at most the tmp/ lock... nothing else
  pl_lake_options o{};
  o.allow_partial = 1;
  r = lake(trunc, dir, o);
  ASSERT_EQ(r->rc, PL_OK) << r->err.msg;
  // what could be read is there, unchanged: verify compares the readable part
  int vrc;
  auto diffs = verify(dir, trunc, &vrc);
  EXPECT_EQ(vrc, PL_OK);
  bool warned = false;
  for (const auto &d : diffs) warned |= d.severity == PL_SEV_WARNING;
  EXPECT_TRUE(warned);
}

TEST(Lake, BadChunkCrcFoundDuringThePassIsRefused) {
  TempDir tmp;
  std::string in = tmp.file("rec.mcap"), bad = tmp.file("bad.mcap"), dir = tmp.file("lake");
  pl_synth_options o = tiny(20);
  o.chunk_size = 2048;
  synth(in, o);
  uint64_t at;
  {
    mcap_source src;
    mcap_error_info e{};
    ASSERT_EQ(mcap_source_open_file(&src, in.c_str(), &e), MCAP_OK);
    mcap_reader *r = nullptr;
    ASSERT_EQ(mcap_reader_open(&r, &src, nullptr, &e), MCAP_OK);
    const mcap_chunk_index *ci = mcap_reader_chunk_at(r, mcap_reader_chunk_count(r) / 2);
    at = ci->chunk_start_offset + ci->chunk_length - 20;
    mcap_reader_free(r);
  }
  std::string bytes = read_all(in);
  bytes[at] ^= 1;
  write_all(bad, bytes);
  auto r = lake(bad, dir);
  EXPECT_EQ(r->rc, PL_EPARTIAL) << r->err.msg;
  EXPECT_NE(std::string(r->err.msg).find("CRC"), std::string::npos) << r->err.msg;
  for (const auto &kv : tree(dir)) EXPECT_EQ(kv.first.rfind("tmp/", 0), 0u) << kv.first;
}

TEST(Lake, IndexJsonEqualsTheIndexOfTheFileAlsoWhenAChunkIsBad) {
  // The doctor beside the pass takes the chunks the pass decompressed; a chunk the pass
  // could not use (bad CRC) it must decompress itself, so index.json still names it.
  TempDir tmp;
  std::string in = tmp.file("rec.mcap"), bad = tmp.file("bad.mcap"), dir = tmp.file("lake");
  pl_synth_options so = tiny(20);
  so.chunk_size = 2048;
  synth(in, so);
  for (const std::string &file : {in, bad}) {
    if (file == bad) {
      mcap_source src;
      mcap_error_info e{};
      ASSERT_EQ(mcap_source_open_file(&src, in.c_str(), &e), MCAP_OK);
      mcap_reader *r = nullptr;
      ASSERT_EQ(mcap_reader_open(&r, &src, nullptr, &e), MCAP_OK);
      const mcap_chunk_index *ci = mcap_reader_chunk_at(r, mcap_reader_chunk_count(r) / 2);
      uint64_t at = ci->chunk_start_offset + ci->chunk_length - 20;
      mcap_reader_free(r);
      std::string bytes = read_all(in);
      bytes[at] ^= 1;
      write_all(bad, bytes);
    }
    pl_lake_options lo{};
    lo.allow_partial = 1;
    auto r = lake(file, dir, lo);
    ASSERT_EQ(r->rc, PL_OK) << r->err.msg;
    std::string got = read_all(dir + "/" + r->res.recording_dir + "/index.json");
    pl_index_options io{};
    io.tolerance_s = -1;
    pl_recording_index *ix = nullptr;
    pl_error_info err{};
    ASSERT_EQ(pl_index_file(file.c_str(), &io, &ix, &err), PL_OK) << err.msg;
    char *json = nullptr;
    ASSERT_EQ(pl_index_to_json(ix, &json, &err), PL_OK);
    std::string want(json);
    free(json);
    pl_recording_index_free(ix);
    // index.json may end with a newline the in-memory JSON has not
    while (!got.empty() && got.back() == '\n') got.pop_back();
    while (!want.empty() && want.back() == '\n') want.pop_back();
    EXPECT_EQ(got, want) << file;
    if (file == bad) {
      EXPECT_NE(got.find("CRC"), std::string::npos);
    }
  }
}

TEST(Lake, SameKeyDifferentContentIsAConflict) {
  TempDir tmp;
  std::string a = tmp.file("a.mcap"), b = tmp.file("b.mcap"), dir = tmp.file("lake");
  synth(a, tiny(2, 1));
  synth(b, tiny(2, 2));
  pl_lake_options o{};
  o.device = "dev/ice";  // made safe
  o.key = "same-key";
  auto r = lake(a, dir, o);
  ASSERT_EQ(r->rc, PL_OK) << r->err.msg;
  EXPECT_EQ(std::string(r->res.recording_dir).rfind("dev_ice-", 0), 0u) << r->res.recording_dir;
  auto r2 = lake(b, dir, o);
  EXPECT_EQ(r2->rc, PL_ECONFLICT);
  EXPECT_NE(std::string(r2->err.msg).find("different recording"), std::string::npos) << r2->err.msg;
}

TEST(Lake, SpecialRecordingsRoundTrip) {
  TempDir tmp;
  std::string dir = tmp.file("lake");
  // a topic whose schema changes, attachments, metadata, a topic with no messages, odd names
  std::string in = tmp.file("special.mcap");
  {
    Writer w(in);
    uint16_t s1 = w.schema("A", "jsonschema", "{\"v\":1}");
    uint16_t s2 = w.schema("A", "jsonschema", "{\"v\":2}");
    uint16_t c1 = w.channel(s1, "/cam/x", "json");
    uint16_t quiet = w.channel(0, "/quiet", "json");
    (void)quiet;
    uint16_t odd = w.channel(0, "/_recording", "json");
    uint16_t odd2 = w.channel(0, "_recording", "json");
    w.metadata("foxglove", {{"deviceId", "d-1"}});
    for (int i = 0; i < 20; i++) w.message(c1, kT0 + i * kSec, "m" + std::to_string(i), i);
    uint16_t c2 = w.channel(s2, "/cam/x", "json");
    w.attachment("a.bin", "application/octet-stream", kT0 + kSec, std::string(3000000, 'z'));
    for (int i = 20; i < 40; i++) w.message(c2, kT0 + i * kSec, "n" + std::to_string(i), i);
    w.message(odd, kT0, "o1");
    w.message(odd2, kT0 + 1, "o2");
    w.close();
  }
  auto r = lake(in, dir);
  ASSERT_EQ(r->rc, PL_OK) << r->err.msg;
  EXPECT_EQ(std::string(r->res.recording_dir).rfind("d-1/", 0), 0u);
  std::set<std::string> names;
  for (size_t i = 0; i < r->res.n_files; i++) {
    std::string p = r->res.files[i].path;
    names.insert(p.substr(p.rfind('/') + 1));
  }
  EXPECT_EQ(names.size(), 4u);  // /cam/x, /quiet, /_recording, _recording: all distinct
  EXPECT_EQ(names.count("cam.x.mcap"), 1u);
  EXPECT_EQ(names.count("_recording.mcap"), 0u);  // reserved for the recording file
  int vrc;
  auto diffs = verify(dir, in, &vrc);
  EXPECT_EQ(vrc, PL_OK);
  for (const auto &d : diffs) ADD_FAILURE() << d.code << ": " << d.message;
}

TEST(LakeVerify, CatchesAChangedLake) {
  TempDir tmp;
  std::string in = tmp.file("rec.mcap"), dir = tmp.file("lake");
  synth(in, tiny(5, 3));
  auto r = lake(in, dir);
  ASSERT_EQ(r->rc, PL_OK) << r->err.msg;
  // replace one topic file with the file of another recording's same topic
  std::string other = tmp.file("other.mcap"), dir2 = tmp.file("lake2");
  synth(other, tiny(5, 4));
  auto r2 = lake(other, dir2);
  ASSERT_EQ(r2->rc, PL_OK);
  std::string f = r->res.files[0].path, f2 = r2->res.files[0].path;
  write_all(dir + "/" + f, read_all(dir2 + "/" + f2));
  int vrc;
  auto diffs = verify(dir, in, &vrc);
  EXPECT_EQ(vrc, PL_EVERIFY);
  std::set<std::string> codes;
  for (const auto &d : diffs) codes.insert(d.code);
  EXPECT_TRUE(codes.count("lake-digest")) << diffs.size();
  // a missing topic file
  remove((dir + "/" + r->res.files[1].path).c_str());
  diffs = verify(dir, in, &vrc);
  codes.clear();
  for (const auto &d : diffs) codes.insert(d.code);
  EXPECT_TRUE(codes.count("lake-unreadable") || codes.count("lake-topic-missing"));
  // a recording that is not in the lake
  std::string third = tmp.file("third.mcap");
  synth(third, tiny(3, 5));
  diffs = verify(dir, third, &vrc);
  EXPECT_EQ(vrc, PL_ENOTFOUND);
}
