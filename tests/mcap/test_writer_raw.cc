// test_writer_raw.cc - mcap_writer_write_chunk_raw: chunks copied without
// recompression keep every message, get correct message indexes, chunk indexes
// and statistics, and mix with the writer's own chunks.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "mcap/mcap.h"

namespace {

std::vector<uint8_t> finish(mcap_sink *sink) {
  uint64_t size = 0;
  const uint8_t *p = mcap_sink_memory_data(sink, &size);
  std::vector<uint8_t> out(p, p + size);
  mcap_error_info e;
  mcap_sink_close(sink, &e);
  return out;
}

std::vector<uint8_t> source_file() {
  mcap_sink sink;
  EXPECT_EQ(mcap_sink_memory(&sink, 0), MCAP_OK);
  mcap_writer_options o;
  mcap_writer_options_init(&o);
  o.chunk_size = 2000;
  mcap_writer *w = nullptr;
  EXPECT_EQ(mcap_writer_open(&w, &sink, &o), MCAP_OK);
  uint16_t s, a, b;
  EXPECT_EQ(mcap_writer_add_schema(w, mcap_str_c("S"), mcap_str_c("e"), {nullptr, 0}, &s), MCAP_OK);
  EXPECT_EQ(mcap_writer_add_channel(w, s, mcap_str_c("/a"), mcap_str_c("x"), nullptr, 0, &a), MCAP_OK);
  EXPECT_EQ(mcap_writer_add_channel(w, s, mcap_str_c("/b"), mcap_str_c("x"), nullptr, 0, &b), MCAP_OK);
  for (int i = 0; i < 500; i++) {
    std::string d(50 + i % 30, (char)('a' + i % 26));
    mcap_message m = {i % 4 ? a : b, (uint32_t)i, (uint64_t)(1000 + i * 10 - (i % 5)),
                      (uint64_t)(1000 + i * 10), {(const uint8_t *)d.data(), d.size()}};
    EXPECT_EQ(mcap_writer_write_message(w, &m), MCAP_OK);
  }
  EXPECT_EQ(mcap_writer_close(w), MCAP_OK);
  mcap_writer_free(w);
  return finish(&sink);
}

struct M {
  uint16_t ch;
  uint32_t seq;
  uint64_t t;
  std::string d;
  bool operator==(const M &o) const { return ch == o.ch && seq == o.seq && t == o.t && d == o.d; }
};

std::vector<M> messages(const std::vector<uint8_t> &f) {
  mcap_source src;
  EXPECT_EQ(mcap_source_from_memory(&src, f.data(), f.size()), MCAP_OK);
  mcap_stream_reader *r = nullptr;
  EXPECT_EQ(mcap_stream_reader_new(&r, &src, nullptr), MCAP_OK);
  std::vector<M> out;
  mcap_record rec;
  int rc;
  while ((rc = mcap_stream_reader_next(r, &rec)) == MCAP_OK) {
    if (rec.opcode == MCAP_OP_MESSAGE) {
      out.push_back({rec.u.message.channel_id, rec.u.message.sequence, rec.u.message.log_time,
                     std::string((const char *)rec.u.message.data.data, rec.u.message.data.len)});
    }
  }
  EXPECT_EQ(rc, MCAP_ITEROVER) << mcap_stream_reader_errmsg(r);
  mcap_stream_reader_free(r);
  return out;
}

TEST(WriterRaw, CopiedChunksKeepEverything) {
  auto in = source_file();
  // Walk the input raw: copy every other chunk raw, re-write the others message by message.
  mcap_source src;
  ASSERT_EQ(mcap_source_from_memory(&src, in.data(), in.size()), MCAP_OK);
  mcap_reader_options ro;
  mcap_reader_options_init(&ro);
  ro.raw_chunks = 1;
  mcap_stream_reader *r = nullptr;
  ASSERT_EQ(mcap_stream_reader_new(&r, &src, &ro), MCAP_OK);
  mcap_sink sink;
  ASSERT_EQ(mcap_sink_memory(&sink, 0), MCAP_OK);
  mcap_writer_options o;
  mcap_writer_options_init(&o);
  o.chunk_size = 2000;
  mcap_writer *w = nullptr;
  ASSERT_EQ(mcap_writer_open(&w, &sink, &o), MCAP_OK);
  mcap_decompressor *dec = nullptr;
  ASSERT_EQ(mcap_decompressor_new(&dec), MCAP_OK);

  // Pending raw chunk and its message indexes (they follow the chunk in the input).
  std::vector<uint8_t> chunk_bytes;
  mcap_chunk pending{};
  bool have_pending = false;
  std::vector<std::vector<uint8_t>> mi_bytes;
  std::vector<uint16_t> mi_ids;
  int n_chunk = 0, n_raw = 0;
  auto flush_pending = [&]() {
    if (!have_pending) return;
    std::vector<mcap_message_index> idx;
    for (size_t i = 0; i < mi_ids.size(); i++) {
      idx.push_back({mi_ids[i], {mi_bytes[i].data(), mi_bytes[i].size()}});
    }
    pending.records.data = chunk_bytes.data();
    ASSERT_EQ(mcap_writer_write_chunk_raw(w, &pending, idx.data(), idx.size()), MCAP_OK)
        << mcap_writer_errmsg(w);
    n_raw++;
    have_pending = false;
    mi_bytes.clear();
    mi_ids.clear();
  };
  mcap_record rec;
  int rc;
  while ((rc = mcap_stream_reader_next(r, &rec)) == MCAP_OK) {
    if (rec.opcode != MCAP_OP_MESSAGE_INDEX) flush_pending();
    if (rec.opcode == MCAP_OP_CHUNK) {
      const mcap_chunk &ck = rec.u.chunk;
      // Every chunk carries the schema/channel definitions we need; register them first.
      std::vector<uint8_t> raw(ck.uncompressed_size);
      ASSERT_EQ(mcap_chunk_decompress(dec, &ck, raw.data(), raw.size(), 0, nullptr), MCAP_OK);
      for (uint64_t pos = 0; pos < raw.size();) {
        uint64_t len = 0;
        for (int k = 0; k < 8; k++) len |= (uint64_t)raw[pos + 1 + k] << (8 * k);
        mcap_record inner;
        ASSERT_EQ(mcap_record_parse(raw[pos], raw.data() + pos + 9, len, 0, &inner, nullptr),
                  MCAP_OK);
        if (inner.opcode == MCAP_OP_SCHEMA) {
          ASSERT_EQ(mcap_writer_put_schema(w, &inner.u.schema), MCAP_OK);
        }
        if (inner.opcode == MCAP_OP_CHANNEL) {
          ASSERT_EQ(mcap_writer_put_channel(w, &inner.u.channel), MCAP_OK);
        }
        if (inner.opcode == MCAP_OP_MESSAGE && n_chunk % 2 == 1) {
          ASSERT_EQ(mcap_writer_write_message(w, &inner.u.message), MCAP_OK);
        }
        pos += 9 + len;
      }
      if (n_chunk % 2 == 0) {
        chunk_bytes.assign(ck.records.data, ck.records.data + ck.records.len);
        pending = ck;
        have_pending = true;
      }
      n_chunk++;
    } else if (rec.opcode == MCAP_OP_MESSAGE_INDEX && have_pending) {
      mi_ids.push_back(rec.u.message_index.channel_id);
      mi_bytes.emplace_back(rec.u.message_index.entries.data,
                            rec.u.message_index.entries.data + rec.u.message_index.entries.len);
    }
  }
  flush_pending();
  ASSERT_EQ(rc, MCAP_ITEROVER);
  ASSERT_GT(n_raw, 3);
  ASSERT_EQ(mcap_writer_close(w), MCAP_OK) << mcap_writer_errmsg(w);
  mcap_writer_free(w);
  mcap_stream_reader_free(r);
  mcap_decompressor_free(dec);
  auto out = finish(&sink);

  EXPECT_EQ(messages(out), messages(in));
  // The indexed reader trusts the new indexes: a log-time query returns every message.
  mcap_source s2;
  ASSERT_EQ(mcap_source_from_memory(&s2, out.data(), out.size()), MCAP_OK);
  mcap_reader *ir = nullptr;
  mcap_error_info e;
  ASSERT_EQ(mcap_reader_open(&ir, &s2, nullptr, &e), MCAP_OK) << e.msg;
  const char *why;
  EXPECT_EQ(mcap_reader_index_source(ir, &why), MCAP_INDEX_FROM_SUMMARY) << why;
  int from_file;
  EXPECT_EQ(mcap_reader_statistics(ir, &from_file)->message_count, 500u);
  EXPECT_EQ(mcap_reader_channel_message_count(ir, 1) + mcap_reader_channel_message_count(ir, 2),
            500u);
  const char *topics[] = {"/b"};
  mcap_query q;
  memset(&q, 0, sizeof q);
  q.topics = topics;
  q.n_topics = 1;
  q.order = MCAP_ORDER_LOG_TIME;
  mcap_message_iter *it = nullptr;
  ASSERT_EQ(mcap_reader_query(ir, &q, &it), MCAP_OK);
  mcap_message_view v;
  int n = 0;
  while (mcap_message_iter_next(it, &v) == MCAP_OK) n++;
  EXPECT_EQ(n, 125);
  mcap_message_iter_free(it);
  mcap_reader_free(ir);
}

TEST(WriterRaw, UnregisteredChannelRefused) {
  mcap_sink sink;
  ASSERT_EQ(mcap_sink_memory(&sink, 0), MCAP_OK);
  mcap_writer *w = nullptr;
  ASSERT_EQ(mcap_writer_open(&w, &sink, nullptr), MCAP_OK);
  uint8_t ent[16] = {0};
  mcap_message_index mi = {7, {ent, 16}};
  mcap_chunk ck{};
  ck.compression = mcap_str_c("");
  EXPECT_EQ(mcap_writer_write_chunk_raw(w, &ck, &mi, 1), MCAP_ECHANNEL_ID);
  mcap_writer_free(w);
  mcap_error_info e;
  mcap_sink_close(&sink, &e);
}

}  // namespace
