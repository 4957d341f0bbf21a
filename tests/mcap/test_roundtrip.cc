// test_roundtrip.cc - writer -> streamed reader round trips over the feature
// matrix {chunked, unchunked} x {zstd, lz4, none} x {indexes on, off} x
// {summary on, off}, with seeded random input (several schemas and channels,
// messages larger than the chunk size, attachments whole and in pieces,
// metadata). Checks the message stream, then the file's structure record by
// record: chunks, message indexes, chunk/attachment/metadata indexes,
// statistics, summary groups and offsets, footer; and that output is
// deterministic.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "mcap/mcap.h"
#include "mcap_builder.h"

using namespace mcapkit_test;

namespace {

std::string S(mcap_str s) {
  return s.len ? std::string(s.data, s.len) : std::string();
}
Bytes B(mcap_bytes b) {
  return b.len ? Bytes(b.data, b.data + b.len) : Bytes();
}
mcap_str V(const std::string &s) {
  return mcap_str{s.data(), static_cast<uint32_t>(s.size())};
}
mcap_bytes V(const Bytes &b) {
  return mcap_bytes{b.data(), b.size()};
}

StrMap M(const mcap_map &m) {
  StrMap out;
  mcap_map_iter it = {0};
  mcap_str k, v;
  while (mcap_map_next_str(&m, &it, &k, &v) == MCAP_OK) out.emplace_back(S(k), S(v));
  return out;
}

IdMap IM(const mcap_map &m) {
  IdMap out;
  mcap_map_iter it = {0};
  uint16_t k;
  uint64_t v;
  while (mcap_map_next_u16u64(&m, &it, &k, &v) == MCAP_OK) out.emplace_back(k, v);
  return out;
}

// ------------------------------------------------------------------ input

struct InSchema {
  std::string name, encoding;
  Bytes data;
};
struct InChannel {
  int schema;  // index into schemas, -1 = none
  std::string topic, encoding;
  StrMap metadata;  // given in this order; add_channel sorts keys on the wire
};
struct InMessage {
  int channel;
  uint32_t sequence;
  uint64_t log_time, publish_time;
  Bytes data;
};
struct InAttachment {
  uint64_t log_time, create_time;
  std::string name, media_type;
  Bytes data;
  bool in_pieces;
};
struct InMetadata {
  std::string name;
  StrMap kv;
  bool as_record;  // write_metadata_record instead of write_metadata
};

struct Input {
  std::vector<InSchema> schemas;
  std::vector<InChannel> channels;
  std::vector<InMessage> messages;
  std::vector<InAttachment> attachments;
  std::vector<InMetadata> metadata;
  enum Kind { kMessage, kAttachment, kMetadata };
  std::vector<std::pair<Kind, size_t>> events;
};

Bytes Compressible(std::mt19937 &rng, size_t n) {
  Bytes d(n);
  uint8_t motif[16];
  for (uint8_t &m : motif) m = static_cast<uint8_t>(rng());
  for (size_t i = 0; i < n; i++)
    d[i] = (rng() % 10 == 0) ? static_cast<uint8_t>(rng()) : motif[i % 16];
  return d;
}

Input MakeInput(uint32_t seed, size_t n_messages, uint64_t chunk_size) {
  std::mt19937 rng(seed);
  Input in;
  in.schemas = {{"pkg/Point", "jsonschema", bytes_of("{\"type\":\"object\"}")},
                {"pkg/Image", "ros2msg", Compressible(rng, 300)},
                {"pkg/Empty", "", {}}};
  in.channels = {{0, "/points", "json", {{"zz", "last"}, {"aa", "first"}}},
                 {1, "/camera", "cdr", {}},
                 {-1, "/log", "json", {{"k", "v"}}},
                 {2, "/empty", "cbor", {}},
                 {1, "/camera2", "cdr", {{"offered_qos_profiles", "- history: 1\n"}}}};
  uint64_t t = 1000000;
  for (size_t i = 0; i < n_messages; i++) {
    InMessage m;
    m.channel = static_cast<int>(rng() % in.channels.size());
    m.sequence = static_cast<uint32_t>(i);
    t += rng() % 1000;
    m.log_time = (rng() % 7 == 0) ? t - rng() % 5000 : t;  // some out of order
    m.publish_time = m.log_time - rng() % 10;
    size_t size = rng() % 600;
    if (i % 97 == 50) size = static_cast<size_t>(chunk_size * 5 / 2);  // bigger than a chunk
    if (i % 41 == 7) size = 0;
    m.data = Compressible(rng, size);
    in.messages.push_back(std::move(m));
    in.events.emplace_back(Input::kMessage, i);
    if (i == n_messages / 4 || i == n_messages / 2 || i == n_messages * 3 / 4) {
      InAttachment a;
      a.log_time = t;
      a.create_time = t - 1;
      a.name = "att" + std::to_string(in.attachments.size());
      a.media_type = "application/octet-stream";
      a.data = in.attachments.size() == 1 ? Bytes() : Compressible(rng, 3000 + rng() % 50000);
      a.in_pieces = in.attachments.size() == 2;
      in.attachments.push_back(a);
      in.events.emplace_back(Input::kAttachment, in.attachments.size() - 1);
    }
    if (i == n_messages / 3 || i == n_messages - 1) {
      InMetadata md;
      md.name = "meta" + std::to_string(in.metadata.size());
      md.kv = {{"robot", "r" + std::to_string(seed)}, {"a-site", "lab"}, {"", ""}};
      md.as_record = in.metadata.size() == 1;
      in.metadata.push_back(md);
      in.events.emplace_back(Input::kMetadata, in.metadata.size() - 1);
    }
  }
  return in;
}

// ----------------------------------------------------------------- writing

struct Written {
  Bytes file;
  std::vector<uint16_t> schema_ids;   // per input schema (0 = not registered)
  std::vector<uint16_t> channel_ids;  // per input channel
};

Bytes EncodeStrMap(const StrMap &m) {
  Bytes area;
  for (const auto &kv : m) {
    put_str(area, kv.first);
    put_str(area, kv.second);
  }
  return area;
}

Written Write(const Input &in, const mcap_writer_options &opts) {
  Written out;
  out.schema_ids.assign(in.schemas.size(), 0);
  out.channel_ids.assign(in.channels.size(), 0);
  mcap_sink sink;
  EXPECT_EQ(mcap_sink_memory(&sink, 0), MCAP_OK);
  mcap_writer *w = nullptr;
  int rc = mcap_writer_open(&w, &sink, &opts);
  EXPECT_EQ(rc, MCAP_OK);
  if (rc != MCAP_OK) return out;
  std::mt19937 rng(99);
  auto channel_id = [&](int ci) -> uint16_t {
    if (out.channel_ids[ci]) return out.channel_ids[ci];
    const InChannel &c = in.channels[ci];
    uint16_t schema_id = 0;
    if (c.schema >= 0) {
      if (!out.schema_ids[c.schema]) {
        const InSchema &s = in.schemas[c.schema];
        EXPECT_EQ(mcap_writer_add_schema(w, V(s.name), V(s.encoding), V(s.data),
                                         &out.schema_ids[c.schema]),
                  MCAP_OK)
            << mcap_writer_errmsg(w);
      }
      schema_id = out.schema_ids[c.schema];
    }
    std::vector<mcap_kv> kv;
    for (const auto &p : c.metadata) kv.push_back(mcap_kv{V(p.first), V(p.second)});
    EXPECT_EQ(mcap_writer_add_channel(w, schema_id, V(c.topic), V(c.encoding), kv.data(), kv.size(),
                                      &out.channel_ids[ci]),
              MCAP_OK)
        << mcap_writer_errmsg(w);
    return out.channel_ids[ci];
  };
  for (const auto &ev : in.events) {
    if (ev.first == Input::kMessage) {
      const InMessage &m = in.messages[ev.second];
      mcap_message msg{channel_id(m.channel), m.sequence, m.log_time, m.publish_time, V(m.data)};
      EXPECT_EQ(mcap_writer_write_message(w, &msg), MCAP_OK) << mcap_writer_errmsg(w);
    } else if (ev.first == Input::kAttachment) {
      const InAttachment &a = in.attachments[ev.second];
      if (a.in_pieces) {
        EXPECT_EQ(mcap_writer_attachment_begin(w, a.log_time, a.create_time, V(a.name),
                                               V(a.media_type), a.data.size()),
                  MCAP_OK)
            << mcap_writer_errmsg(w);
        size_t pos = 0;
        while (pos < a.data.size()) {
          size_t n = std::min<size_t>(a.data.size() - pos, 1 + rng() % 5000);
          EXPECT_EQ(mcap_writer_attachment_write(w, a.data.data() + pos, n), MCAP_OK);
          pos += n;
        }
        EXPECT_EQ(mcap_writer_attachment_end(w), MCAP_OK) << mcap_writer_errmsg(w);
      } else {
        mcap_attachment att{a.log_time, a.create_time, V(a.name), V(a.media_type), V(a.data), 0};
        EXPECT_EQ(mcap_writer_write_attachment(w, &att), MCAP_OK) << mcap_writer_errmsg(w);
      }
    } else {
      const InMetadata &md = in.metadata[ev.second];
      if (md.as_record) {
        Bytes area = EncodeStrMap(md.kv);
        mcap_metadata rec{V(md.name), mcap_map{area.data(), static_cast<uint32_t>(area.size())}};
        EXPECT_EQ(mcap_writer_write_metadata_record(w, &rec), MCAP_OK) << mcap_writer_errmsg(w);
      } else {
        std::vector<mcap_kv> kv;
        for (const auto &p : md.kv) kv.push_back(mcap_kv{V(p.first), V(p.second)});
        EXPECT_EQ(mcap_writer_write_metadata(w, V(md.name), kv.data(), kv.size()), MCAP_OK)
            << mcap_writer_errmsg(w);
      }
    }
  }
  EXPECT_EQ(mcap_writer_close(w), MCAP_OK) << mcap_writer_errmsg(w);
  uint64_t size = 0;
  const uint8_t *data = mcap_sink_memory_data(&sink, &size);
  EXPECT_EQ(mcap_writer_bytes_written(w), size);
  if (size) out.file.assign(data, data + size);
  mcap_writer_free(w);
  mcap_error_info err;
  EXPECT_EQ(mcap_sink_close(&sink, &err), MCAP_OK);
  return out;
}

// ------------------------------------------------------------- the matrix

struct Variant {
  bool chunked;
  mcap_compression compression;
  bool indexes;
  bool summary;
};

std::string Name(const Variant &v) {
  static const char *comp[] = {"default", "none", "zstd", "lz4"};
  return std::string(v.chunked ? "chunked-" : "unchunked-") + comp[v.compression] +
         (v.indexes ? "-indexes" : "-noindexes") + (v.summary ? "-summary" : "-nosummary");
}

const uint64_t kChunkSize = 16 * 1024;

mcap_writer_options OptionsFor(const Variant &v) {
  mcap_writer_options o;
  mcap_writer_options_init(&o);
  o.profile = "x-roundtrip";
  o.library = "test_roundtrip";
  o.chunk_size = kChunkSize;
  o.compression = v.compression;
  o.no_chunking = !v.chunked;
  if (!v.indexes) {
    o.no_message_index = o.no_chunk_index = o.no_attachment_index = o.no_metadata_index = 1;
  }
  o.no_summary = !v.summary;
  return o;
}

std::vector<Variant> Matrix() {
  std::vector<Variant> out;
  for (bool chunked : {true, false})
    for (mcap_compression c : {MCAP_COMPRESSION_ZSTD, MCAP_COMPRESSION_LZ4, MCAP_COMPRESSION_NONE})
      for (bool indexes : {true, false})
        for (bool summary : {true, false}) out.push_back(Variant{chunked, c, indexes, summary});
  return out;
}

// A record of the raw (chunks unopened) read, with its parse.
struct Rec {
  LoggedRecord raw;
  mcap_record r;
};

std::vector<Rec> ParseAll(std::vector<LoggedRecord> &logged) {
  std::vector<Rec> out;
  out.reserve(logged.size());
  for (LoggedRecord &lr : logged) {
    Rec rec;
    rec.raw = lr;
    out.push_back(std::move(rec));
  }
  // Parse after the vector stops moving so views point into stable storage.
  for (Rec &rec : out) {
    mcap_error_info err;
    EXPECT_EQ(mcap_record_parse(rec.raw.opcode, rec.raw.content.data(), rec.raw.content.size(),
                                rec.raw.offset, &rec.r, &err),
              MCAP_OK)
        << err.msg;
  }
  return out;
}

// A decompressed chunk's records, split and parsed.
struct ChunkContents {
  Bytes data;
  std::vector<std::pair<uint64_t, mcap_record>> records;  // offset -> record
};

void OpenChunk(const mcap_chunk &k, ChunkContents *cc) {
  cc->data = decompress(S(k.compression), B(k.records), k.uncompressed_size);
  EXPECT_EQ(crc32(cc->data), k.uncompressed_crc);
  EXPECT_NE(k.uncompressed_crc, 0u) << "chunk CRC not computed";
  uint64_t pos = 0;
  while (pos < cc->data.size()) {
    ASSERT_GE(cc->data.size() - pos, 9u);
    uint8_t op = cc->data[pos];
    uint64_t len = get_u64(&cc->data[pos + 1]);
    ASSERT_LE(len, cc->data.size() - pos - 9);
    mcap_record r;
    ASSERT_EQ(mcap_record_parse(op, &cc->data[pos + 9], len, pos, &r, nullptr), MCAP_OK);
    cc->records.emplace_back(pos, r);
    pos += 9 + len;
  }
}

void CheckRoundTrip(const Variant &v, const Input &in) {
  mcap_writer_options opts = OptionsFor(v);
  Written wr = Write(in, opts);
  ASSERT_FALSE(wr.file.empty());

  // ---- 1. streamed read: the same messages, attachments and metadata.
  ReadResult rd = read_all_memory(wr.file);
  ASSERT_EQ(rd.rc, MCAP_ITEROVER) << rd.errmsg;
  std::vector<Rec> stream = ParseAll(rd.records);
  size_t next_msg = 0, next_att = 0, next_md = 0;
  std::map<uint16_t, const mcap_channel *> seen_channels;
  std::set<uint16_t> seen_schemas;
  bool after_data_end = false;
  for (const Rec &rec : stream) {
    const mcap_record &r = rec.r;
    if (r.opcode == MCAP_OP_DATA_END) after_data_end = true;
    if (after_data_end) continue;
    switch (r.opcode) {
      case MCAP_OP_SCHEMA:
        seen_schemas.insert(r.u.schema.id);
        break;
      case MCAP_OP_CHANNEL:
        if (r.u.channel.schema_id != 0) {
          EXPECT_TRUE(seen_schemas.count(r.u.channel.schema_id))
              << "channel " << r.u.channel.id << " before its schema";
        }
        seen_channels[r.u.channel.id] = &r.u.channel;
        break;
      case MCAP_OP_MESSAGE: {
        ASSERT_LT(next_msg, in.messages.size());
        const InMessage &m = in.messages[next_msg++];
        EXPECT_EQ(r.u.message.channel_id, wr.channel_ids[m.channel]);
        EXPECT_EQ(r.u.message.sequence, m.sequence);
        EXPECT_EQ(r.u.message.log_time, m.log_time);
        EXPECT_EQ(r.u.message.publish_time, m.publish_time);
        EXPECT_EQ(B(r.u.message.data), m.data) << "message " << next_msg - 1;
        EXPECT_EQ(rec.raw.in_chunk, v.chunked);
        ASSERT_TRUE(seen_channels.count(r.u.message.channel_id)) << "message before its channel";
        const mcap_channel *c = seen_channels[r.u.message.channel_id];
        const InChannel &ic = in.channels[m.channel];
        EXPECT_EQ(S(c->topic), ic.topic);
        EXPECT_EQ(S(c->message_encoding), ic.encoding);
        StrMap sorted = ic.metadata;
        std::sort(sorted.begin(), sorted.end());
        EXPECT_EQ(M(c->metadata), sorted) << "channel metadata keys are sorted on the wire";
        break;
      }
      case MCAP_OP_ATTACHMENT: {
        EXPECT_FALSE(rec.raw.in_chunk);
        ASSERT_LT(next_att, in.attachments.size());
        const InAttachment &a = in.attachments[next_att++];
        EXPECT_EQ(S(r.u.attachment.name), a.name);
        EXPECT_EQ(S(r.u.attachment.media_type), a.media_type);
        EXPECT_EQ(r.u.attachment.log_time, a.log_time);
        EXPECT_EQ(r.u.attachment.create_time, a.create_time);
        EXPECT_EQ(B(r.u.attachment.data), a.data);
        EXPECT_NE(r.u.attachment.crc, 0u) << "attachment CRC not computed";
        break;
      }
      case MCAP_OP_METADATA: {
        ASSERT_LT(next_md, in.metadata.size());
        const InMetadata &md = in.metadata[next_md++];
        EXPECT_EQ(S(r.u.metadata.name), md.name);
        EXPECT_EQ(M(r.u.metadata.metadata), md.kv) << "metadata keeps the order given";
        break;
      }
      default:
        break;
    }
  }
  EXPECT_EQ(next_msg, in.messages.size());
  EXPECT_EQ(next_att, in.attachments.size());
  EXPECT_EQ(next_md, in.metadata.size());

  // ---- 2. structure, from the top-level records.
  mcap_reader_options raw_opts;
  mcap_reader_options_init(&raw_opts);
  raw_opts.raw_chunks = 1;
  ReadResult raw = read_all_memory(wr.file, &raw_opts);
  ASSERT_EQ(raw.rc, MCAP_ITEROVER) << raw.errmsg;
  std::vector<Rec> top = ParseAll(raw.records);
  ASSERT_GE(top.size(), 3u);
  ASSERT_EQ(top.front().r.opcode, MCAP_OP_HEADER);
  EXPECT_EQ(S(top.front().r.u.header.profile), "x-roundtrip");
  EXPECT_EQ(S(top.front().r.u.header.library), "test_roundtrip");
  ASSERT_EQ(top.back().r.opcode, MCAP_OP_FOOTER);
  size_t de = 0;
  while (de < top.size() && top[de].r.opcode != MCAP_OP_DATA_END) de++;
  ASSERT_LT(de, top.size());
  EXPECT_NE(top[de].r.u.data_end.data_section_crc, 0u);

  std::map<uint64_t, const Rec *> by_offset;
  for (const Rec &rec : top) by_offset[rec.raw.offset] = &rec;

  // Chunks and the message indexes that follow them.
  struct ChunkInfo {
    const Rec *rec;
    std::map<uint16_t, uint64_t> mi_offsets;
    uint64_t mi_length = 0;
  };
  std::vector<ChunkInfo> chunks;
  uint64_t messages_seen = 0;
  bool any_mi = false;
  bool used_requested_compression = false;
  for (size_t i = 0; i < de; i++) {
    const Rec &rec = top[i];
    if (rec.r.opcode == MCAP_OP_MESSAGE) {
      EXPECT_FALSE(v.chunked) << "message outside a chunk in a chunked file";
      messages_seen++;
    }
    if (rec.r.opcode == MCAP_OP_MESSAGE_INDEX) any_mi = true;
    if (rec.r.opcode != MCAP_OP_CHUNK) continue;
    EXPECT_TRUE(v.chunked);
    const mcap_chunk &k = rec.r.u.chunk;
    std::string comp = S(k.compression);
    const char *requested = mcap_compression_name(v.compression);
    EXPECT_TRUE(comp.empty() || comp == requested) << comp;
    if (comp == requested) used_requested_compression = true;
    ChunkContents cc;
    OpenChunk(k, &cc);
    if (::testing::Test::HasFatalFailure()) return;
    EXPECT_EQ(cc.data.size(), k.uncompressed_size);
    // Times and per-channel message offsets.
    std::map<uint16_t, std::vector<std::pair<uint64_t, uint64_t>>> expect_mi;
    bool has_msg = false;
    uint64_t lo = 0, hi = 0;
    for (const auto &p : cc.records) {
      if (p.second.opcode != MCAP_OP_MESSAGE) continue;
      const mcap_message &m = p.second.u.message;
      lo = has_msg ? std::min(lo, m.log_time) : m.log_time;
      hi = has_msg ? std::max(hi, m.log_time) : m.log_time;
      has_msg = true;
      expect_mi[m.channel_id].emplace_back(m.log_time, p.first);
      messages_seen++;
    }
    EXPECT_EQ(k.message_start_time, lo);
    EXPECT_EQ(k.message_end_time, hi);
    // MessageIndex records right after the chunk.
    ChunkInfo info;
    info.rec = &rec;
    size_t j = i + 1;
    uint64_t mi_start = j < top.size() ? top[j].raw.offset : 0;
    std::map<uint16_t, std::vector<std::pair<uint64_t, uint64_t>>> got_mi;
    while (j < de && top[j].r.opcode == MCAP_OP_MESSAGE_INDEX) {
      const mcap_message_index &mi = top[j].r.u.message_index;
      EXPECT_FALSE(info.mi_offsets.count(mi.channel_id)) << "two indexes for one channel";
      info.mi_offsets[mi.channel_id] = top[j].raw.offset;
      for (uint64_t e = 0; e < mcap_message_index_count(&mi); e++) {
        uint64_t t, off;
        mcap_message_index_entry(&mi, e, &t, &off);
        got_mi[mi.channel_id].emplace_back(t, off);
      }
      info.mi_length = top[j].raw.offset + 9 + top[j].raw.content.size() - mi_start;
      j++;
    }
    if (!info.mi_offsets.empty() || (v.indexes && v.summary)) {
      // When present, they index exactly this chunk's messages (order free).
      for (auto &p : expect_mi) std::sort(p.second.begin(), p.second.end());
      for (auto &p : got_mi) std::sort(p.second.begin(), p.second.end());
      EXPECT_EQ(got_mi, expect_mi);
    }
    chunks.push_back(info);
  }
  EXPECT_EQ(messages_seen, in.messages.size());
  if (v.chunked) {
    EXPECT_GT(chunks.size(), 1u) << "expected several chunks of ~" << kChunkSize << " bytes";
    if (v.compression != MCAP_COMPRESSION_NONE) {
      EXPECT_TRUE(used_requested_compression);
    }
  }
  if (!v.indexes) {
    EXPECT_FALSE(any_mi) << "message indexes written with no_message_index";
  }

  // Summary section.
  const mcap_footer &footer = top.back().r.u.footer;
  EXPECT_NE(footer.summary_crc, 0u);
  std::vector<const Rec *> summary, offsets;
  for (size_t i = de + 1; i + 1 < top.size(); i++) {
    if (top[i].r.opcode == MCAP_OP_SUMMARY_OFFSET) {
      offsets.push_back(&top[i]);
    } else {
      EXPECT_TRUE(offsets.empty()) << "summary record after a SummaryOffset";
      summary.push_back(&top[i]);
    }
  }
  if (!v.summary) {
    EXPECT_TRUE(summary.empty());
    EXPECT_TRUE(offsets.empty());
    EXPECT_EQ(footer.summary_start, 0u);
    EXPECT_EQ(footer.summary_offset_start, 0u);
    return;
  }
  ASSERT_FALSE(summary.empty());
  EXPECT_EQ(footer.summary_start, summary.front()->raw.offset);
  ASSERT_FALSE(offsets.empty());
  EXPECT_EQ(footer.summary_offset_start, offsets.front()->raw.offset);

  // Groups are contiguous, and each has exactly one SummaryOffset describing it.
  std::vector<SummaryOffset> groups;
  for (const Rec *rec : summary) {
    uint64_t len = 9 + rec->raw.content.size();
    if (!groups.empty() && groups.back().group_opcode == rec->r.opcode) {
      groups.back().group_length += len;
    } else {
      for (const SummaryOffset &g : groups)
        EXPECT_NE(g.group_opcode, rec->r.opcode) << "opcode group split in two";
      groups.push_back(SummaryOffset{rec->r.opcode, rec->raw.offset, len});
    }
  }
  ASSERT_EQ(offsets.size(), groups.size());
  for (size_t i = 0; i < groups.size(); i++) {
    const mcap_summary_offset &so = offsets[i]->r.u.summary_offset;
    EXPECT_EQ(so.group_opcode, groups[i].group_opcode);
    EXPECT_EQ(so.group_start, groups[i].group_start);
    EXPECT_EQ(so.group_length, groups[i].group_length);
  }

  // Per-type summary contents.
  std::map<uint8_t, std::vector<const Rec *>> by_op;
  for (const Rec *rec : summary) by_op[rec->r.opcode].push_back(rec);
  // Schemas and channels repeated: every registered one, once.
  std::set<uint16_t> schema_ids, channel_ids;
  for (uint16_t id : wr.schema_ids)
    if (id) schema_ids.insert(id);
  for (uint16_t id : wr.channel_ids) channel_ids.insert(id);
  std::set<uint16_t> got_schemas, got_channels;
  for (const Rec *rec : by_op[MCAP_OP_SCHEMA]) got_schemas.insert(rec->r.u.schema.id);
  for (const Rec *rec : by_op[MCAP_OP_CHANNEL]) got_channels.insert(rec->r.u.channel.id);
  EXPECT_EQ(got_schemas, schema_ids);
  EXPECT_EQ(got_channels, channel_ids);
  EXPECT_EQ(by_op[MCAP_OP_SCHEMA].size(), schema_ids.size());
  EXPECT_EQ(by_op[MCAP_OP_CHANNEL].size(), channel_ids.size());

  // Statistics.
  ASSERT_EQ(by_op[MCAP_OP_STATISTICS].size(), 1u);
  const mcap_statistics &st = by_op[MCAP_OP_STATISTICS][0]->r.u.statistics;
  EXPECT_EQ(st.message_count, in.messages.size());
  EXPECT_EQ(st.schema_count, schema_ids.size());
  EXPECT_EQ(st.channel_count, channel_ids.size());
  EXPECT_EQ(st.attachment_count, in.attachments.size());
  EXPECT_EQ(st.metadata_count, in.metadata.size());
  EXPECT_EQ(st.chunk_count, chunks.size());
  uint64_t lo = UINT64_MAX, hi = 0;
  std::map<uint16_t, uint64_t> counts;
  for (const InMessage &m : in.messages) {
    lo = std::min(lo, m.log_time);
    hi = std::max(hi, m.log_time);
    counts[wr.channel_ids[m.channel]]++;
  }
  EXPECT_EQ(st.message_start_time, lo);
  EXPECT_EQ(st.message_end_time, hi);
  IdMap want_counts(counts.begin(), counts.end());
  IdMap got_counts = IM(st.channel_message_counts);
  std::sort(got_counts.begin(), got_counts.end());
  EXPECT_EQ(got_counts, want_counts);

  // Channel records must precede Statistics when channel_message_counts is set.
  if (!by_op[MCAP_OP_CHANNEL].empty()) {
    EXPECT_LT(by_op[MCAP_OP_CHANNEL].back()->raw.offset, by_op[MCAP_OP_STATISTICS][0]->raw.offset);
  }

  // Chunk indexes.
  if (!v.indexes || !v.chunked) {
    EXPECT_TRUE(by_op[MCAP_OP_CHUNK_INDEX].empty());
  } else {
    ASSERT_EQ(by_op[MCAP_OP_CHUNK_INDEX].size(), chunks.size());
    for (size_t i = 0; i < chunks.size(); i++) {
      const mcap_chunk_index &ci = by_op[MCAP_OP_CHUNK_INDEX][i]->r.u.chunk_index;
      const Rec &ck = *chunks[i].rec;
      const mcap_chunk &k = ck.r.u.chunk;
      EXPECT_EQ(ci.chunk_start_offset, ck.raw.offset);
      EXPECT_EQ(ci.chunk_length, 9 + ck.raw.content.size());
      EXPECT_EQ(ci.message_start_time, k.message_start_time);
      EXPECT_EQ(ci.message_end_time, k.message_end_time);
      EXPECT_EQ(S(ci.compression), S(k.compression));
      EXPECT_EQ(ci.compressed_size, k.records.len);
      EXPECT_EQ(ci.uncompressed_size, k.uncompressed_size);
      IdMap offs = IM(ci.message_index_offsets);
      std::sort(offs.begin(), offs.end());
      IdMap want(chunks[i].mi_offsets.begin(), chunks[i].mi_offsets.end());
      EXPECT_EQ(offs, want);
      EXPECT_EQ(ci.message_index_length, chunks[i].mi_length);
      for (const auto &p : offs) {
        ASSERT_TRUE(by_offset.count(p.second));
        EXPECT_EQ(by_offset[p.second]->r.opcode, MCAP_OP_MESSAGE_INDEX);
        EXPECT_EQ(by_offset[p.second]->r.u.message_index.channel_id, p.first);
      }
    }
  }

  // Attachment indexes.
  if (!v.indexes) {
    EXPECT_TRUE(by_op[MCAP_OP_ATTACHMENT_INDEX].empty());
  } else {
    ASSERT_EQ(by_op[MCAP_OP_ATTACHMENT_INDEX].size(), in.attachments.size());
    for (size_t i = 0; i < in.attachments.size(); i++) {
      const mcap_attachment_index &ai = by_op[MCAP_OP_ATTACHMENT_INDEX][i]->r.u.attachment_index;
      ASSERT_TRUE(by_offset.count(ai.offset)) << "attachment index points nowhere";
      const Rec &a = *by_offset[ai.offset];
      ASSERT_EQ(a.r.opcode, MCAP_OP_ATTACHMENT);
      EXPECT_EQ(ai.length, 9 + a.raw.content.size());
      EXPECT_EQ(ai.log_time, a.r.u.attachment.log_time);
      EXPECT_EQ(ai.create_time, a.r.u.attachment.create_time);
      EXPECT_EQ(ai.data_size, a.r.u.attachment.data.len);
      EXPECT_EQ(S(ai.name), S(a.r.u.attachment.name));
      EXPECT_EQ(S(ai.media_type), S(a.r.u.attachment.media_type));
      EXPECT_EQ(S(ai.name), in.attachments[i].name);
    }
  }

  // Metadata indexes.
  if (!v.indexes) {
    EXPECT_TRUE(by_op[MCAP_OP_METADATA_INDEX].empty());
  } else {
    ASSERT_EQ(by_op[MCAP_OP_METADATA_INDEX].size(), in.metadata.size());
    for (size_t i = 0; i < in.metadata.size(); i++) {
      const mcap_metadata_index &mi = by_op[MCAP_OP_METADATA_INDEX][i]->r.u.metadata_index;
      ASSERT_TRUE(by_offset.count(mi.offset)) << "metadata index points nowhere";
      const Rec &m = *by_offset[mi.offset];
      ASSERT_EQ(m.r.opcode, MCAP_OP_METADATA);
      EXPECT_EQ(mi.length, 9 + m.raw.content.size());
      EXPECT_EQ(S(mi.name), S(m.r.u.metadata.name));
      EXPECT_EQ(S(mi.name), in.metadata[i].name);
    }
  }
}

}  // namespace

TEST(RoundTrip, FeatureMatrix) {
  Input in = MakeInput(20240601, 400, kChunkSize);
  for (const Variant &v : Matrix()) {
    SCOPED_TRACE(Name(v));
    CheckRoundTrip(v, in);
  }
}

TEST(RoundTrip, OtherSeeds) {
  for (uint32_t seed : {1u, 2u, 3u}) {
    Input in = MakeInput(seed, 150 + seed * 20, kChunkSize);
    for (const Variant &v : {Variant{true, MCAP_COMPRESSION_ZSTD, true, true},
                             Variant{true, MCAP_COMPRESSION_LZ4, true, true},
                             Variant{false, MCAP_COMPRESSION_NONE, true, true}}) {
      SCOPED_TRACE(Name(v) + " seed " + std::to_string(seed));
      CheckRoundTrip(v, in);
    }
  }
}

TEST(RoundTrip, DefaultOptions) {
  Input in = MakeInput(7, 200, kChunkSize);
  mcap_writer_options o;
  mcap_writer_options_init(&o);
  Written wr = Write(in, o);
  ReadResult rd = read_all_memory(wr.file);
  ASSERT_EQ(rd.rc, MCAP_ITEROVER) << rd.errmsg;
  size_t n = 0;
  for (const LoggedRecord &lr : rd.records) {
    if (lr.opcode != MCAP_OP_MESSAGE) continue;
    EXPECT_TRUE(lr.in_chunk);
    mcap_record r;
    ASSERT_EQ(mcap_record_parse(lr.opcode, lr.content.data(), lr.content.size(), 0, &r, nullptr),
              MCAP_OK);
    EXPECT_EQ(B(r.u.message.data), in.messages[n].data);
    n++;
  }
  EXPECT_EQ(n, in.messages.size());
}

TEST(RoundTrip, WritingTwiceGivesIdenticalBytes) {
  Input in = MakeInput(42, 300, kChunkSize);
  for (const Variant &v : Matrix()) {
    SCOPED_TRACE(Name(v));
    Written a = Write(in, OptionsFor(v));
    Written b = Write(in, OptionsFor(v));
    EXPECT_FALSE(a.file.empty());
    EXPECT_TRUE(a.file == b.file) << "sizes " << a.file.size() << " and " << b.file.size();
  }
}

TEST(RoundTrip, CompressionWorkersGiveIdenticalBytes) {
  Input in = MakeInput(43, 400, kChunkSize);
  for (mcap_compression c : {MCAP_COMPRESSION_ZSTD, MCAP_COMPRESSION_LZ4}) {
    mcap_writer_options o = OptionsFor(Variant{true, c, true, true});
    Written inline_ = Write(in, o);
    o.workers = 3;
    Written threaded = Write(in, o);
    EXPECT_TRUE(inline_.file == threaded.file)
        << mcap_compression_name(c) << ": sizes " << inline_.file.size() << " and "
        << threaded.file.size();
  }
}
