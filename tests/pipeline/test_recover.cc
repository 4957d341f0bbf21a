// test_recover.cc - pl_recover on damaged copies of generated recordings:
// truncated at many offsets, and with runs of garbage (random bytes, zeros,
// 0xFF) in the middle of the data section. Every message that was intact in
// the damaged file must come back (checked against the original), nothing may
// be invented (the result is a subsequence of the original stream), the output
// is doctor-clean, and the report says whether anything was lost.
#include <gtest/gtest.h>

#include <cstdlib>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "test_rewrite_util.h"
#include "tmpdir.h"

using mcapkit_test::TempDir;
using rwt::Msg;

namespace {

// A message of the original with where it lives in the file.
struct Placed {
  Msg m;
  uint64_t chunk_start = 0, chunk_end = 0;  // the Chunk record (or the Message record)
  uint64_t record_end = 0;  // for uncompressed chunks: end of its record in the file
};

std::vector<Placed> placed_messages(const std::string &path) {
  std::vector<Placed> out;
  mcap_source src;
  mcap_error_info e;
  EXPECT_EQ(mcap_source_open_file(&src, path.c_str(), &e), MCAP_OK);
  mcap_reader *r = nullptr;
  EXPECT_EQ(mcap_reader_open(&r, &src, nullptr, &e), MCAP_OK) << e.msg;
  mcap_query q;
  memset(&q, 0, sizeof q);
  mcap_message_iter *it = nullptr;
  EXPECT_EQ(mcap_reader_query(r, &q, &it), MCAP_OK);
  mcap_message_view v;
  while (mcap_message_iter_next(it, &v) == MCAP_OK) {
    Placed p;
    p.m.topic.assign(v.channel->topic.data, v.channel->topic.len);
    if (v.schema) p.m.schema.assign(v.schema->name.data, v.schema->name.len);
    p.m.channel = v.message.channel_id;
    p.m.sequence = v.message.sequence;
    p.m.log_time = v.message.log_time;
    p.m.publish_time = v.message.publish_time;
    p.m.data.assign(reinterpret_cast<const char *>(v.message.data.data), v.message.data.len);
    uint64_t rec_len = 9 + 22 + v.message.data.len;
    if (v.chunk_offset == UINT64_MAX) {
      p.chunk_start = v.record_offset;
      p.chunk_end = p.record_end = v.record_offset + rec_len;
    } else {
      for (size_t i = 0; i < mcap_reader_chunk_count(r); i++) {
        const mcap_chunk_index *ci = mcap_reader_chunk_at(r, i);
        if (ci->chunk_start_offset != v.chunk_offset) continue;
        p.chunk_start = ci->chunk_start_offset;
        p.chunk_end = ci->chunk_start_offset + ci->chunk_length;
        uint64_t records_start = p.chunk_start + 9 + 8 + 8 + 8 + 4 + 4 + ci->compression.len + 8;
        p.record_end = ci->compression.len ? UINT64_MAX : records_start + v.record_offset + rec_len;
      }
    }
    out.push_back(std::move(p));
  }
  mcap_message_iter_free(it);
  mcap_reader_free(r);
  return out;
}

struct Result {
  int rc = -1;
  pl_recover_report rep{};
  std::vector<Msg> msgs;
  std::string out;
};

Result recover(const TempDir &tmp, const std::string &damaged) {
  Result res;
  std::string in = tmp.file("damaged.mcap");
  rwt::write_all(in, damaged);
  res.out = tmp.file("recovered.mcap");
  pl_error_info err;
  memset(&err, 0, sizeof err);
  pl_output *po = nullptr;
  EXPECT_EQ(pl_output_open(&po, res.out.c_str(), nullptr, 0, 0, &err), PL_OK) << err.msg;
  pl_recover_options o;
  memset(&o, 0, sizeof o);
  o.threads = 1;
  pl_recover_report *rep = nullptr;
  res.rc = pl_recover(in.c_str(), pl_output_sink(po), &o, &rep, &err);
  EXPECT_EQ(res.rc, PL_OK) << err.msg;
  if (!rep) {
    pl_output_free(po);
    return res;
  }
  res.rep = *rep;
  res.rep.problems = nullptr;
  pl_output_check check = {rep->messages, rep->attachments, rep->metadata, 1};
  EXPECT_EQ(pl_output_commit(po, &check, &err), PL_OK) << err.msg;
  pl_output_free(po);
  pl_recover_report_free(rep);
  res.msgs = rwt::stream(res.out);
  return res;
}

// Is `got` a subsequence of `orig`? (Nothing invented, nothing duplicated, order kept.)
// `unproven`: how many recovered messages may come from damaged places that nothing can check
// (messages outside chunks have no CRC).
::testing::AssertionResult subsequence(const std::vector<Msg> &got, const std::vector<Placed> &orig,
                                       size_t unproven = 0) {
  size_t j = 0, extra = 0;
  for (size_t i = 0; i < got.size(); i++) {
    size_t k = j;
    while (k < orig.size() && orig[k].m != got[i]) k++;
    if (k == orig.size()) {
      if (++extra <= unproven) continue;
      return ::testing::AssertionFailure()
             << "recovered message " << i << " " << got[i] << " is not in the original (in order)";
    }
    j = k + 1;
  }
  return ::testing::AssertionSuccess();
}

// Every message of `orig` for which intact(p) holds is in `got`.
template <class F>
::testing::AssertionResult all_intact_recovered(const std::vector<Msg> &got,
                                                const std::vector<Placed> &orig, F intact) {
  size_t j = 0, missing = 0;
  std::string first;
  for (const Placed &p : orig) {
    bool found = false;
    size_t k = j;
    while (k < got.size() && got[k] != p.m) k++;
    if (k < got.size()) {
      found = true;
      j = k + 1;
    }
    if (!found && intact(p)) {
      if (!missing++) first = ::testing::PrintToString(p.m);
    }
  }
  if (missing)
    return ::testing::AssertionFailure()
           << missing << " intact messages not recovered, first " << first;
  return ::testing::AssertionSuccess();
}

std::string make(const TempDir &tmp, pl_synth_options o, const char *name) {
  std::string p = tmp.file(name);
  rwt::synth(p, o);
  return p;
}

uint64_t data_end_offset(const std::string &path) {
  // The DataEnd record ends where the summary starts (or the footer, without summary).
  std::string d = rwt::read_all(path);
  uint64_t fpos = d.size() - 8 - 29;
  uint64_t sstart = 0;
  for (int k = 0; k < 8; k++) sstart |= (uint64_t)(uint8_t)d[fpos + 9 + k] << (8 * k);
  return sstart ? sstart : fpos;
}

}  // namespace

TEST(Recover, IntactFileLosesNothing) {
  TempDir tmp;
  std::string in = make(tmp, rwt::robot(1.0), "in.mcap");
  std::vector<Placed> orig = placed_messages(in);
  Result r = recover(tmp, rwt::read_all(in));
  EXPECT_EQ(r.rep.lost, 0);
  EXPECT_EQ(r.rep.messages, orig.size());
  EXPECT_EQ(r.rep.attachments, 2u);
  EXPECT_EQ(r.rep.metadata, 2u);
  EXPECT_GT(r.rep.chunks_copied, 0u);  // intact chunks go through compressed
  ASSERT_EQ(r.msgs.size(), orig.size());
  for (size_t i = 0; i < orig.size(); i++) ASSERT_EQ(r.msgs[i], orig[i].m) << i;
  EXPECT_DOCTOR_CLEAN(r.out);
}

TEST(Recover, TruncatedAtManyOffsets) {
  TempDir tmp;
  struct Case {
    const char *name;
    pl_synth_options o;
  };
  std::vector<Case> cases;
  for (mcap_compression c : {MCAP_COMPRESSION_ZSTD, MCAP_COMPRESSION_LZ4, MCAP_COMPRESSION_NONE}) {
    pl_synth_options t = rwt::tiny(40, c);
    t.chunk_size = 8 << 10;
    cases.push_back({mcap_compression_name(c)[0] ? mcap_compression_name(c) : "none", t});
  }
  pl_synth_options robot = rwt::robot(1.0, MCAP_COMPRESSION_ZSTD);
  cases.push_back({"robot-zstd", robot});
  pl_synth_options unchunked = rwt::tiny(20);
  unchunked.no_chunking = 1;
  cases.push_back({"unchunked", unchunked});

  for (const Case &c : cases) {
    SCOPED_TRACE(c.name);
    std::string in = make(tmp, c.o, "orig.mcap");
    std::string data = rwt::read_all(in);
    std::vector<Placed> orig = placed_messages(in);
    uint64_t dend = data_end_offset(in);
    std::mt19937_64 rng(42);
    std::vector<uint64_t> cuts = {0, 1, 8, 9, 40, dend - 1, dend, dend + 5, data.size() - 1};
    for (int i = 0; i < 25; i++) cuts.push_back(9 + rng() % (dend - 9));
    uint64_t partial_total = 0;
    for (uint64_t cut : cuts) {
      SCOPED_TRACE("cut at " + std::to_string(cut));
      Result r = recover(tmp, data.substr(0, cut));
      EXPECT_TRUE(subsequence(r.msgs, orig));
      EXPECT_TRUE(all_intact_recovered(r.msgs, orig, [&](const Placed &p) {
        return p.chunk_end <= cut || p.record_end <= cut;
      }));
      if (cut >= dend) {
        EXPECT_EQ(r.rep.lost, 0) << "only the summary was cut";
        EXPECT_EQ(r.msgs.size(), orig.size());
      } else {
        EXPECT_EQ(r.rep.lost, 1);
        EXPECT_EQ(r.rep.truncated, 1);
      }
      partial_total += r.rep.chunks_partial;
      if (!r.msgs.empty()) EXPECT_DOCTOR_CLEAN(r.out);
    }
    if (!c.o.no_chunking) {
      EXPECT_GT(partial_total, 0u) << "truncated chunks gave nothing";
    }
  }
}

// The truncated last chunk's frame is decompressed as far as it goes.
TEST(Recover, TruncatedChunkKeepsItsLeadingMessages) {
  TempDir tmp;
  for (mcap_compression comp : {MCAP_COMPRESSION_ZSTD, MCAP_COMPRESSION_LZ4}) {
    pl_synth_options o = rwt::robot(1.0, comp);
    o.chunk_size = 4 << 20;  // big chunks: many compressed blocks each
    std::string in = make(tmp, o, "orig.mcap");
    std::string data = rwt::read_all(in);
    std::vector<Placed> orig = placed_messages(in);
    // Cut 80% into the first chunk.
    uint64_t cut = orig[0].chunk_start + (orig[0].chunk_end - orig[0].chunk_start) * 8 / 10;
    size_t in_first = 0;
    for (const Placed &p : orig) in_first += p.chunk_start == orig[0].chunk_start;
    Result r = recover(tmp, data.substr(0, cut));
    EXPECT_TRUE(subsequence(r.msgs, orig));
    EXPECT_GT(r.msgs.size(), in_first / 2) << "of " << in_first;
    EXPECT_LT(r.msgs.size(), in_first);
    EXPECT_EQ(r.rep.chunks_partial, 1u);
    EXPECT_EQ(r.rep.lost, 1);
    EXPECT_DOCTOR_CLEAN(r.out);
  }
}

TEST(Recover, GarbageInTheMiddle) {
  TempDir tmp;
  struct Case {
    const char *name;
    pl_synth_options o;
  };
  std::vector<Case> cases;
  for (mcap_compression c : {MCAP_COMPRESSION_ZSTD, MCAP_COMPRESSION_LZ4, MCAP_COMPRESSION_NONE}) {
    pl_synth_options t = rwt::tiny(40, c);
    t.chunk_size = 8 << 10;
    cases.push_back({mcap_compression_name(c)[0] ? mcap_compression_name(c) : "none", t});
  }
  cases.push_back({"robot", rwt::robot(1.0)});
  pl_synth_options unchunked = rwt::tiny(20);
  unchunked.no_chunking = 1;
  cases.push_back({"unchunked", unchunked});

  // MCAPKIT_RECOVER_REPS / MCAPKIT_RECOVER_SEED run a longer, different sweep by hand.
  const char *reps_env = getenv("MCAPKIT_RECOVER_REPS");
  const char *seed_env = getenv("MCAPKIT_RECOVER_SEED");
  int reps = reps_env ? (int)strtol(reps_env, nullptr, 10) : 3;
  std::mt19937_64 rng(seed_env ? strtoull(seed_env, nullptr, 10) : 7);
  for (const Case &c : cases) {
    SCOPED_TRACE(c.name);
    std::string in = make(tmp, c.o, "orig.mcap");
    std::string data = rwt::read_all(in);
    std::vector<Placed> orig = placed_messages(in);
    uint64_t dend = data_end_offset(in);
    for (int kind = 0; kind < 3; kind++) {
      for (uint64_t len : {1, 9, 100, 5000, 70000}) {
        for (int rep = 0; rep < reps; rep++) {
          uint64_t start = 200 + rng() % (dend - 400);
          uint64_t end = std::min<uint64_t>(start + len, dend - 20);
          SCOPED_TRACE("garbage kind " + std::to_string(kind) + " at " + std::to_string(start) +
                       ".." + std::to_string(end));
          std::string d = data;
          for (uint64_t i = start; i < end; i++)
            d[i] = kind == 0 ? (char)rng() : kind == 1 ? 0 : (char)0xFF;
          Result r = recover(tmp, d);
          // Nothing that was not in the damaged file. Outside chunks a message has no CRC, so
          // damage that leaves its structure whole cannot be seen: such messages may come back
          // with damaged bytes (at most one per damaged record).
          size_t unproven = 0;
          for (const Placed &p : orig)
            unproven += p.record_end == p.chunk_end && p.chunk_end > start && p.chunk_start < end;
          EXPECT_TRUE(subsequence(r.msgs, orig, unproven));
          EXPECT_TRUE(all_intact_recovered(r.msgs, orig, [&](const Placed &p) {
            return p.chunk_end <= start || p.chunk_start >= end;
          }));
          // The summary survived: the report compares with its statistics.
          bool lost = r.rep.messages < r.rep.claimed_messages ||
                      r.rep.attachments < r.rep.claimed_attachments ||
                      r.rep.metadata < r.rep.claimed_metadata;
          EXPECT_EQ(r.rep.lost, lost ? 1 : 0);
          EXPECT_EQ(r.rep.claimed_messages, orig.size());
          if (unproven == 0) {
            EXPECT_EQ(r.rep.messages_lost, orig.size() - r.msgs.size());
            EXPECT_DOCTOR_CLEAN(r.out);
          } else {
            EXPECT_EQ(rwt::doctor(r.out).errors, 0u);
          }
        }
      }
    }
  }
}

// Garbage and truncation together, without a summary to lean on.
TEST(Recover, GarbageThenTruncatedWithoutSummary) {
  TempDir tmp;
  pl_synth_options o = rwt::tiny(40, MCAP_COMPRESSION_ZSTD);
  o.chunk_size = 8 << 10;
  std::string in = make(tmp, o, "orig.mcap");
  std::string data = rwt::read_all(in);
  std::vector<Placed> orig = placed_messages(in);
  uint64_t dend = data_end_offset(in);
  std::string d = data.substr(0, dend * 3 / 4);
  uint64_t g0 = dend / 3, g1 = g0 + 3000;
  for (uint64_t i = g0; i < g1; i++) d[i] = (char)(i * 131);
  Result r = recover(tmp, d);
  EXPECT_TRUE(subsequence(r.msgs, orig));
  EXPECT_TRUE(all_intact_recovered(r.msgs, orig, [&](const Placed &p) {
    return (p.chunk_end <= g0 || p.chunk_start >= g1) && p.chunk_end <= d.size();
  }));
  EXPECT_EQ(r.rep.lost, 1);
  EXPECT_EQ(r.rep.truncated, 1);
  EXPECT_GT(r.rep.bytes_skipped, 0u);
  EXPECT_GE(r.rep.skipped_regions, 1u);
  EXPECT_DOCTOR_CLEAN(r.out);
}

// A chunk whose content no longer matches its CRC is dropped whole; its message index counts
// what was lost.
TEST(Recover, ChunkWithBadCrcIsDropped) {
  TempDir tmp;
  pl_synth_options o = rwt::tiny(20, MCAP_COMPRESSION_NONE);
  o.chunk_size = 4 << 10;
  o.no_summary = 1;
  std::string in = make(tmp, o, "orig.mcap");
  std::string data = rwt::read_all(in);
  std::vector<Placed> orig = placed_messages(in);
  // Flip one byte in the payload of a message in the middle: every record still parses.
  const Placed &victim = orig[orig.size() / 2];
  uint64_t at = victim.record_end - 2;
  data[at] = (char)(data[at] ^ 0x55);
  Result r = recover(tmp, data);
  EXPECT_TRUE(subsequence(r.msgs, orig));
  EXPECT_EQ(r.rep.chunks_dropped, 1u);
  size_t in_chunk = 0;
  for (const Placed &p : orig) in_chunk += p.chunk_start == victim.chunk_start;
  EXPECT_EQ(r.rep.messages_lost, in_chunk);
  EXPECT_EQ(r.msgs.size(), orig.size() - in_chunk);
  EXPECT_EQ(r.rep.lost, 1);
  EXPECT_DOCTOR_CLEAN(r.out);
}

TEST(Recover, NothingRecoverable) {
  TempDir tmp;
  std::mt19937_64 rng(1);
  std::string junk(100000, '\0');
  for (char &ch : junk) ch = (char)rng();
  for (const std::string &d : {std::string(), junk, std::string(MCAP_MAGIC, 8)}) {
    Result r = recover(tmp, d);
    EXPECT_EQ(r.rep.lost, 1);
    EXPECT_EQ(r.rep.messages, 0u);
    EXPECT_EQ(r.rep.channels, 0u);
  }
}

// One damaged byte anywhere in the data section (the length fields of records included): the
// chunks it does not touch all come back, and nothing else is made up.
TEST(Recover, SingleByteDamageAnywhere) {
  TempDir tmp;
  for (mcap_compression comp :
       {MCAP_COMPRESSION_ZSTD, MCAP_COMPRESSION_LZ4, MCAP_COMPRESSION_NONE}) {
    pl_synth_options o = rwt::tiny(6, comp);
    o.chunk_size = 1500;
    std::string in = make(tmp, o, "orig.mcap");
    std::string data = rwt::read_all(in);
    std::vector<Placed> orig = placed_messages(in);
    uint64_t dend = data_end_offset(in);
    const char *step_env = getenv("MCAPKIT_RECOVER_STEP");
    uint64_t step = step_env ? strtoull(step_env, nullptr, 10) : 7;
    for (uint64_t at = 8; at < dend; at += step ? step : 1) {
      SCOPED_TRACE(std::string(mcap_compression_name(comp)) + " byte " + std::to_string(at));
      std::string d = data;
      d[at] = (char)(d[at] ^ (0x5A + at % 7));
      Result r = recover(tmp, d);
      ASSERT_TRUE(subsequence(r.msgs, orig));
      ASSERT_TRUE(all_intact_recovered(
          r.msgs, orig, [&](const Placed &p) { return p.chunk_end <= at || p.chunk_start > at; }));
      ASSERT_EQ(r.rep.messages_lost, orig.size() - r.msgs.size());
    }
  }
}

// The usual crash damage: the file was extended but its last bytes never reached the disk, so
// the last chunk ends in zeros. Its leading messages still come back.
TEST(Recover, ZeroFilledTailAfterACrash) {
  TempDir tmp;
  for (mcap_compression comp : {MCAP_COMPRESSION_ZSTD, MCAP_COMPRESSION_LZ4}) {
    pl_synth_options o = rwt::robot(1.0, comp);
    o.chunk_size = 4 << 20;
    std::string in = make(tmp, o, "orig.mcap");
    std::string data = rwt::read_all(in);
    std::vector<Placed> orig = placed_messages(in);
    uint64_t cut = orig[0].chunk_start + (orig[0].chunk_end - orig[0].chunk_start) * 7 / 10;
    std::string d = data.substr(0, cut) + std::string(orig[0].chunk_end + 4096 - cut, '\0');
    size_t in_first = 0;
    for (const Placed &p : orig) in_first += p.chunk_start == orig[0].chunk_start;
    Result r = recover(tmp, d);
    EXPECT_TRUE(subsequence(r.msgs, orig));
    EXPECT_GT(r.msgs.size(), in_first / 3) << "of " << in_first;
    EXPECT_EQ(r.rep.chunks_partial, 1u);
    EXPECT_EQ(r.rep.lost, 1);
    EXPECT_DOCTOR_CLEAN(r.out);
  }
}
