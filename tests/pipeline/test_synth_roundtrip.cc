// test_synth_roundtrip.cc - files from the generator read back to the identical
// message stream: the same recording written chunked or not, with zstd, lz4 or
// no compression, with or without indexes, gives byte-identical messages
// through the streamed reader, the indexed reader (file order) and matches the
// generator's own statistics.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "mcap/mcap.h"
#include "pipeline/synth.h"

namespace {

struct Stream {
  uint64_t count = 0, bytes = 0;
  uint64_t digest = 1469598103934665603ull;  // FNV-1a over every message field
  void add(const mcap_message &m) {
    auto mix = [&](const void *p, size_t n) {
      const uint8_t *b = (const uint8_t *)p;
      for (size_t i = 0; i < n; i++) digest = (digest ^ b[i]) * 1099511628211ull;
    };
    mix(&m.channel_id, sizeof m.channel_id);
    mix(&m.sequence, sizeof m.sequence);
    mix(&m.log_time, sizeof m.log_time);
    mix(&m.publish_time, sizeof m.publish_time);
    mix(m.data.data, (size_t)m.data.len);
    count++;
    bytes += m.data.len;
  }
  bool operator==(const Stream &o) const {
    return count == o.count && bytes == o.bytes && digest == o.digest;
  }
};

std::vector<uint8_t> synth(const pl_synth_options &o, pl_synth_stats *st) {
  mcap_sink sink;
  EXPECT_EQ(mcap_sink_memory(&sink, 0), MCAP_OK);
  char err[256] = "";
  EXPECT_EQ(pl_synth_write(&sink, &o, st, err, sizeof err), MCAP_OK) << err;
  uint64_t size = 0;
  const uint8_t *p = mcap_sink_memory_data(&sink, &size);
  std::vector<uint8_t> out(p, p + size);
  mcap_error_info e;
  mcap_sink_close(&sink, &e);
  return out;
}

Stream streamed(const std::vector<uint8_t> &f) {
  Stream s;
  mcap_source src;
  EXPECT_EQ(mcap_source_from_memory(&src, f.data(), f.size()), MCAP_OK);
  mcap_stream_reader *r = nullptr;
  EXPECT_EQ(mcap_stream_reader_new(&r, &src, nullptr), MCAP_OK);
  mcap_record rec;
  int rc;
  while ((rc = mcap_stream_reader_next(r, &rec)) == MCAP_OK) {
    if (rec.opcode == MCAP_OP_MESSAGE) s.add(rec.u.message);
  }
  EXPECT_EQ(rc, MCAP_ITEROVER) << mcap_stream_reader_errmsg(r);
  mcap_stream_reader_free(r);
  return s;
}

Stream indexed(const std::vector<uint8_t> &f, int threads) {
  Stream s;
  mcap_source src;
  EXPECT_EQ(mcap_source_from_memory(&src, f.data(), f.size()), MCAP_OK);
  mcap_indexed_options o;
  memset(&o, 0, sizeof o);
  o.threads = threads;
  mcap_reader *r = nullptr;
  mcap_error_info e;
  EXPECT_EQ(mcap_reader_open(&r, &src, &o, &e), MCAP_OK) << e.msg;
  if (!r) return s;
  mcap_message_iter *it = nullptr;
  EXPECT_EQ(mcap_reader_query(r, nullptr, &it), MCAP_OK);
  mcap_message_view v;
  int rc;
  while ((rc = mcap_message_iter_next(it, &v)) == MCAP_OK) s.add(v.message);
  EXPECT_EQ(rc, MCAP_ITEROVER) << mcap_reader_errmsg(r);
  mcap_message_iter_free(it);
  mcap_reader_free(r);
  return s;
}

TEST(SynthRoundTrip, EveryLayoutGivesTheSameMessages) {
  for (pl_synth_profile prof : {PL_SYNTH_TINY, PL_SYNTH_ROBOT}) {
    pl_synth_options base;
    memset(&base, 0, sizeof base);
    base.profile = prof;
    base.duration = prof == PL_SYNTH_ROBOT ? 0.5 : 5;
    base.seed = 11;
    pl_synth_stats ref_stats;
    Stream ref = streamed(synth(base, &ref_stats));
    ASSERT_EQ(ref.count, ref_stats.messages);
    ASSERT_EQ(ref.bytes, ref_stats.message_bytes);
    ASSERT_GT(ref.count, 10u);
    struct V {
      const char *name;
      void (*set)(pl_synth_options *);
    } variants[] = {
        {"lz4", [](pl_synth_options *o) { o->compression = MCAP_COMPRESSION_LZ4; }},
        {"none", [](pl_synth_options *o) { o->compression = MCAP_COMPRESSION_NONE; }},
        {"unchunked", [](pl_synth_options *o) { o->no_chunking = 1; }},
        {"no_summary", [](pl_synth_options *o) { o->no_summary = 1; }},
        {"no_message_index", [](pl_synth_options *o) { o->no_message_index = 1; }},
        {"small_chunks", [](pl_synth_options *o) { o->chunk_size = 4096; }},
        {"workers", [](pl_synth_options *o) { o->workers = 3; }},
    };
    for (const V &v : variants) {
      pl_synth_options o = base;
      v.set(&o);
      pl_synth_stats st;
      auto f = synth(o, &st);
      EXPECT_EQ(streamed(f), ref) << v.name;
      EXPECT_EQ(indexed(f, 1), ref) << v.name;
      EXPECT_EQ(indexed(f, 2), ref) << v.name;
    }
  }
}

}  // namespace
