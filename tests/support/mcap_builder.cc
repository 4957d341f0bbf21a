// mcap_builder.cc - the hand-made MCAP encoder used by tests (see mcap_builder.h).
// Deliberately shares no code with libmcap: encoding, CRC and compression
// calls are written out here.
#include "mcap_builder.h"

#include <lz4frame.h>
#include <zstd.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <memory>
#include <stdexcept>

namespace mcapkit_test {

const uint8_t kMagic[8] = {0x89, 'M', 'C', 'A', 'P', '0', '\r', '\n'};

// ---------------------------------------------------------------- encoding

void put_u8(Bytes &b, uint8_t v) {
  b.push_back(v);
}

void put_u16(Bytes &b, uint16_t v) {
  for (int i = 0; i < 2; i++) b.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

void put_u32(Bytes &b, uint32_t v) {
  for (int i = 0; i < 4; i++) b.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

void put_u64(Bytes &b, uint64_t v) {
  for (int i = 0; i < 8; i++) b.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

void put_raw(Bytes &b, const void *p, size_t n) {
  const uint8_t *s = static_cast<const uint8_t *>(p);
  b.insert(b.end(), s, s + n);
}

void put_raw(Bytes &b, const Bytes &d) {
  b.insert(b.end(), d.begin(), d.end());
}

void put_str(Bytes &b, const std::string &s) {
  put_u32(b, static_cast<uint32_t>(s.size()));
  put_raw(b, s.data(), s.size());
}

void put_bytes32(Bytes &b, const Bytes &d) {
  put_u32(b, static_cast<uint32_t>(d.size()));
  put_raw(b, d);
}

void put_bytes64(Bytes &b, const Bytes &d) {
  put_u64(b, d.size());
  put_raw(b, d);
}

void put_str_map(Bytes &b, const StrMap &m) {
  Bytes area;
  for (const auto &kv : m) {
    put_str(area, kv.first);
    put_str(area, kv.second);
  }
  put_u32(b, static_cast<uint32_t>(area.size()));
  put_raw(b, area);
}

void put_id_map(Bytes &b, const IdMap &m) {
  put_u32(b, static_cast<uint32_t>(m.size() * 10));
  for (const auto &kv : m) {
    put_u16(b, kv.first);
    put_u64(b, kv.second);
  }
}

uint16_t get_u16(const uint8_t *p) {
  return static_cast<uint16_t>(p[0] | p[1] << 8);
}

uint32_t get_u32(const uint8_t *p) {
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 |
         static_cast<uint32_t>(p[2]) << 16 | static_cast<uint32_t>(p[3]) << 24;
}

uint64_t get_u64(const uint8_t *p) {
  return static_cast<uint64_t>(get_u32(p)) | static_cast<uint64_t>(get_u32(p + 4)) << 32;
}

Bytes bytes_of(const std::string &s) {
  return Bytes(s.begin(), s.end());
}

Bytes concat(const Bytes &a, const Bytes &b) {
  Bytes out(a);
  out.insert(out.end(), b.begin(), b.end());
  return out;
}

uint32_t crc32(const uint8_t *p, size_t n, uint32_t crc) {
  // Bitwise reflected CRC-32: slow and obviously correct.
  crc = ~crc;
  for (size_t i = 0; i < n; i++) {
    crc ^= p[i];
    for (int k = 0; k < 8; k++) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

Bytes compress(const std::string &compression, const Bytes &data) {
  if (compression == "zstd") {
    Bytes out(ZSTD_compressBound(data.size()));
    size_t n = ZSTD_compress(out.data(), out.size(), data.data(), data.size(), 3);
    if (ZSTD_isError(n)) throw std::runtime_error(ZSTD_getErrorName(n));
    out.resize(n);
    return out;
  }
  if (compression == "lz4") {
    Bytes out(LZ4F_compressFrameBound(data.size(), nullptr));
    size_t n = LZ4F_compressFrame(out.data(), out.size(), data.data(), data.size(), nullptr);
    if (LZ4F_isError(n)) throw std::runtime_error(LZ4F_getErrorName(n));
    out.resize(n);
    return out;
  }
  return data;
}

Bytes decompress(const std::string &compression, const Bytes &data, size_t size) {
  Bytes out(size);
  if (compression == "zstd") {
    size_t n = ZSTD_decompress(out.data(), out.size(), data.data(), data.size());
    if (ZSTD_isError(n)) throw std::runtime_error(ZSTD_getErrorName(n));
    if (n != size) throw std::runtime_error("zstd: wrong decompressed size");
    return out;
  }
  if (compression == "lz4") {
    LZ4F_dctx *ctx = nullptr;
    if (LZ4F_isError(LZ4F_createDecompressionContext(&ctx, LZ4F_VERSION)))
      throw std::runtime_error("lz4: no context");
    size_t in_pos = 0, out_pos = 0, ret = 1;
    while (in_pos < data.size() && ret != 0) {
      size_t src_len = data.size() - in_pos, dst_len = out.size() - out_pos;
      ret = LZ4F_decompress(ctx, out.data() + out_pos, &dst_len, data.data() + in_pos, &src_len,
                            nullptr);
      if (LZ4F_isError(ret)) {
        LZ4F_freeDecompressionContext(ctx);
        throw std::runtime_error(LZ4F_getErrorName(ret));
      }
      in_pos += src_len;
      out_pos += dst_len;
      if (src_len == 0 && dst_len == 0) break;
    }
    LZ4F_freeDecompressionContext(ctx);
    if (out_pos != size || ret != 0) throw std::runtime_error("lz4: wrong decompressed size");
    return out;
  }
  if (compression.empty()) {
    if (data.size() != size) throw std::runtime_error("none: wrong size");
    return data;
  }
  throw std::runtime_error("unknown compression " + compression);
}

// ------------------------------------------------------- span-recording encoder

namespace {

class Enc {
 public:
  explicit Enc(Spans *spans) : spans_(spans) {}
  void u8(const char *f, uint8_t v) {
    mark(f, [&] { put_u8(out, v); });
  }
  void u16(const char *f, uint16_t v) {
    mark(f, [&] { put_u16(out, v); });
  }
  void u32(const char *f, uint32_t v) {
    mark(f, [&] { put_u32(out, v); });
  }
  void u64(const char *f, uint64_t v) {
    mark(f, [&] { put_u64(out, v); });
  }
  void str(const char *f, const std::string &s) {
    mark(f, [&] { put_str(out, s); });
  }
  void bytes32(const char *f, const Bytes &d) {
    mark(f, [&] { put_bytes32(out, d); });
  }
  void bytes64(const char *f, const Bytes &d) {
    mark(f, [&] { put_bytes64(out, d); });
  }
  void raw(const char *f, const Bytes &d) {
    mark(f, [&] { put_raw(out, d); });
  }
  void str_map(const char *f, const StrMap &m) {
    mark(f, [&] { put_str_map(out, m); });
  }
  void id_map(const char *f, const IdMap &m) {
    mark(f, [&] { put_id_map(out, m); });
  }
  Bytes out;

 private:
  template <class Fn>
  void mark(const char *f, Fn fn) {
    size_t begin = out.size();
    fn();
    if (spans_) spans_->push_back(FieldSpan{f, begin, out.size()});
  }
  Spans *spans_;
};

}  // namespace

// -------------------------------------------------------------- records

Bytes Header::content(Spans *spans) const {
  Enc e(spans);
  e.str("profile", profile);
  e.str("library", library);
  return e.out;
}

Bytes Footer::content(Spans *spans) const {
  Enc e(spans);
  e.u64("summary_start", summary_start);
  e.u64("summary_offset_start", summary_offset_start);
  e.u32("summary_crc", summary_crc);
  return e.out;
}

Bytes Schema::content(Spans *spans) const {
  Enc e(spans);
  e.u16("id", id);
  e.str("name", name);
  e.str("encoding", encoding);
  e.bytes32("data", data);
  return e.out;
}

Bytes Channel::content(Spans *spans) const {
  Enc e(spans);
  e.u16("id", id);
  e.u16("schema_id", schema_id);
  e.str("topic", topic);
  e.str("message_encoding", message_encoding);
  e.str_map("metadata", metadata);
  return e.out;
}

Bytes Message::content(Spans *spans) const {
  Enc e(spans);
  e.u16("channel_id", channel_id);
  e.u32("sequence", sequence);
  e.u64("log_time", log_time);
  e.u64("publish_time", publish_time);
  e.raw("data", data);
  return e.out;
}

Bytes Chunk::content(Spans *spans) const {
  Enc e(spans);
  e.u64("message_start_time", message_start_time);
  e.u64("message_end_time", message_end_time);
  e.u64("uncompressed_size", uncompressed_size);
  e.u32("uncompressed_crc", uncompressed_crc);
  e.str("compression", compression);
  e.bytes64("records", records);
  return e.out;
}

Bytes MessageIndex::content(Spans *spans) const {
  Enc e(spans);
  e.u16("channel_id", channel_id);
  Bytes area;
  for (const auto &en : entries) {
    put_u64(area, en.first);
    put_u64(area, en.second);
  }
  Bytes field;
  put_u32(field, static_cast<uint32_t>(area.size()));
  put_raw(field, area);
  e.raw("records", field);
  return e.out;
}

Bytes ChunkIndex::content(Spans *spans) const {
  Enc e(spans);
  e.u64("message_start_time", message_start_time);
  e.u64("message_end_time", message_end_time);
  e.u64("chunk_start_offset", chunk_start_offset);
  e.u64("chunk_length", chunk_length);
  e.id_map("message_index_offsets", message_index_offsets);
  e.u64("message_index_length", message_index_length);
  e.str("compression", compression);
  e.u64("compressed_size", compressed_size);
  e.u64("uncompressed_size", uncompressed_size);
  return e.out;
}

uint32_t Attachment::computed_crc() const {
  Bytes b;
  put_u64(b, log_time);
  put_u64(b, create_time);
  put_str(b, name);
  put_str(b, media_type);
  put_bytes64(b, data);
  return crc32(b);
}

Bytes Attachment::content(Spans *spans) const {
  Enc e(spans);
  e.u64("log_time", log_time);
  e.u64("create_time", create_time);
  e.str("name", name);
  e.str("media_type", media_type);
  e.bytes64("data", data);
  e.u32("crc", auto_crc ? computed_crc() : crc);
  return e.out;
}

Bytes AttachmentIndex::content(Spans *spans) const {
  Enc e(spans);
  e.u64("offset", offset);
  e.u64("length", length);
  e.u64("log_time", log_time);
  e.u64("create_time", create_time);
  e.u64("data_size", data_size);
  e.str("name", name);
  e.str("media_type", media_type);
  return e.out;
}

Bytes Statistics::content(Spans *spans) const {
  Enc e(spans);
  e.u64("message_count", message_count);
  e.u16("schema_count", schema_count);
  e.u32("channel_count", channel_count);
  e.u32("attachment_count", attachment_count);
  e.u32("metadata_count", metadata_count);
  e.u32("chunk_count", chunk_count);
  e.u64("message_start_time", message_start_time);
  e.u64("message_end_time", message_end_time);
  e.id_map("channel_message_counts", channel_message_counts);
  return e.out;
}

Bytes Metadata::content(Spans *spans) const {
  Enc e(spans);
  e.str("name", name);
  e.str_map("metadata", metadata);
  return e.out;
}

Bytes MetadataIndex::content(Spans *spans) const {
  Enc e(spans);
  e.u64("offset", offset);
  e.u64("length", length);
  e.str("name", name);
  return e.out;
}

Bytes SummaryOffset::content(Spans *spans) const {
  Enc e(spans);
  e.u8("group_opcode", group_opcode);
  e.u64("group_start", group_start);
  e.u64("group_length", group_length);
  return e.out;
}

Bytes DataEnd::content(Spans *spans) const {
  Enc e(spans);
  e.u32("data_section_crc", data_section_crc);
  return e.out;
}

Bytes envelope(uint8_t opcode, const Bytes &content) {
  return envelope_with_length(opcode, content.size(), content);
}

Bytes envelope_with_length(uint8_t opcode, uint64_t declared_length, const Bytes &content) {
  Bytes b;
  put_u8(b, opcode);
  put_u64(b, declared_length);
  put_raw(b, content);
  return b;
}

Bytes conformance_pad() {
  return Bytes{0x01, 0xFF, 0xFF};
}

Chunk make_chunk(const Bytes &uncompressed_records, const std::string &compression,
                 uint64_t message_start_time, uint64_t message_end_time) {
  Chunk c;
  c.message_start_time = message_start_time;
  c.message_end_time = message_end_time;
  c.uncompressed_size = uncompressed_records.size();
  c.uncompressed_crc = crc32(uncompressed_records);
  c.compression = compression;
  c.records = compress(compression, uncompressed_records);
  return c;
}

bool operator==(const LoggedRecord &a, const LoggedRecord &b) {
  return a.opcode == b.opcode && a.offset == b.offset && a.in_chunk == b.in_chunk &&
         (!a.in_chunk || a.chunk_offset == b.chunk_offset) && a.content == b.content;
}

std::ostream &operator<<(std::ostream &os, const LoggedRecord &r) {
  os << "{op 0x" << std::hex << static_cast<int>(r.opcode) << std::dec << " at " << r.offset;
  if (r.in_chunk) os << " in chunk@" << r.chunk_offset;
  os << ", " << r.content.size() << " content bytes}";
  return os;
}

// ------------------------------------------------------------ chunks

uint64_t ChunkBuilder::record(uint8_t opcode, const Bytes &content) {
  uint64_t off = records_.size();
  put_raw(records_, envelope(opcode, content));
  log_.push_back(LoggedRecord{opcode, off, true, 0, content});
  return off;
}

uint64_t ChunkBuilder::add(const Schema &s, const Bytes &pad) {
  return record(Schema::kOpcode, concat(s.content(), pad));
}

uint64_t ChunkBuilder::add(const Channel &c, const Bytes &pad) {
  return record(Channel::kOpcode, concat(c.content(), pad));
}

uint64_t ChunkBuilder::add(const Message &m) {
  uint64_t off = record(Message::kOpcode, m.content());
  if (!has_messages_) {
    start_ = end_ = m.log_time;
    has_messages_ = true;
  } else {
    start_ = std::min(start_, m.log_time);
    end_ = std::max(end_, m.log_time);
  }
  auto it = std::find_if(indexes_.begin(), indexes_.end(),
                         [&](const MessageIndex &mi) { return mi.channel_id == m.channel_id; });
  if (it == indexes_.end()) {
    indexes_.push_back(MessageIndex{});
    it = indexes_.end() - 1;
    it->channel_id = m.channel_id;
  }
  it->entries.emplace_back(m.log_time, off);
  return off;
}

// --------------------------------------------------------------- files

McapBuilder &McapBuilder::magic() {
  put_raw(bytes_, kMagic, sizeof kMagic);
  return *this;
}

uint64_t McapBuilder::record(uint8_t opcode, const Bytes &content) {
  return record_with_length(opcode, content.size(), content);
}

uint64_t McapBuilder::record_with_length(uint8_t opcode, uint64_t declared_length,
                                         const Bytes &content) {
  uint64_t off = bytes_.size();
  put_raw(bytes_, envelope_with_length(opcode, declared_length, content));
  LoggedRecord lr{opcode, off, false, 0, content};
  top_.push_back(lr);
  stream_.push_back(lr);
  return off;
}

uint64_t McapBuilder::raw(const Bytes &b) {
  uint64_t off = bytes_.size();
  put_raw(bytes_, b);
  return off;
}

PlacedChunk McapBuilder::chunk(const ChunkBuilder &cb, const std::string &compression,
                               const ChunkOptions &opts) {
  PlacedChunk pc;
  pc.chunk = make_chunk(cb.records(), compression, cb.start_time(), cb.end_time());
  if (opts.override_crc) pc.chunk.uncompressed_crc = opts.crc;
  if (opts.override_uncompressed_size) pc.chunk.uncompressed_size = opts.uncompressed_size;
  Bytes content = concat(pc.chunk.content(), opts.pad);
  pc.offset = bytes_.size();
  // records start after: 9 envelope + 8+8+8+4 + 4+len(compression) + 8 records length
  pc.records_offset = pc.offset + 9 + 28 + 4 + compression.size() + 8;
  pc.records_length = pc.chunk.records.size();
  put_raw(bytes_, envelope(Chunk::kOpcode, content));
  top_.push_back(LoggedRecord{Chunk::kOpcode, pc.offset, false, 0, content});
  for (const LoggedRecord &lr : cb.log()) {
    LoggedRecord in = lr;
    in.chunk_offset = pc.offset;
    stream_.push_back(in);
  }
  ChunkIndex &ci = pc.index;
  ci.message_start_time = pc.chunk.message_start_time;
  ci.message_end_time = pc.chunk.message_end_time;
  ci.chunk_start_offset = pc.offset;
  ci.chunk_length = bytes_.size() - pc.offset;
  ci.compression = compression;
  ci.compressed_size = pc.chunk.records.size();
  ci.uncompressed_size = pc.chunk.uncompressed_size;
  if (opts.message_indexes) {
    uint64_t mi_start = bytes_.size();
    for (const MessageIndex &mi : cb.message_indexes()) {
      uint64_t off = add(mi);
      ci.message_index_offsets.emplace_back(mi.channel_id, off);
    }
    ci.message_index_length = bytes_.size() - mi_start;
  }
  return pc;
}

uint64_t McapBuilder::data_end() {
  return data_end_with_crc(crc32(bytes_));
}

uint64_t McapBuilder::data_end_with_crc(uint32_t crc) {
  DataEnd de;
  de.data_section_crc = crc;
  uint64_t off = add(de);
  have_data_end_ = true;
  after_data_end_ = bytes_.size();
  return off;
}

std::vector<SummaryOffset> McapBuilder::summary_offsets() const {
  std::vector<SummaryOffset> out;
  if (!have_data_end_) return out;
  for (const LoggedRecord &lr : top_) {
    if (lr.offset < after_data_end_ || lr.opcode == SummaryOffset::kOpcode ||
        lr.opcode == Footer::kOpcode)
      continue;
    uint64_t len = 9 + lr.content.size();
    if (!out.empty() && out.back().group_opcode == lr.opcode &&
        out.back().group_start + out.back().group_length == lr.offset) {
      out.back().group_length += len;
    } else {
      SummaryOffset so;
      so.group_opcode = lr.opcode;
      so.group_start = lr.offset;
      so.group_length = len;
      out.push_back(so);
    }
  }
  return out;
}

void McapBuilder::add_summary_offsets() {
  for (const SummaryOffset &so : summary_offsets()) add(so);
}

Footer McapBuilder::expected_footer() const {
  Footer f;
  uint64_t summary_from = have_data_end_ ? after_data_end_ : bytes_.size();
  for (const LoggedRecord &lr : top_) {
    if (lr.offset < summary_from) continue;
    if (lr.opcode == SummaryOffset::kOpcode) {
      if (f.summary_offset_start == 0) f.summary_offset_start = lr.offset;
    } else if (f.summary_start == 0 && f.summary_offset_start == 0) {
      f.summary_start = lr.offset;
    }
  }
  // CRC over summary + summary offsets + the footer's first 25 bytes.
  Bytes prefix(bytes_.begin() + static_cast<std::ptrdiff_t>(summary_from), bytes_.end());
  put_u8(prefix, Footer::kOpcode);
  put_u64(prefix, 20);
  put_u64(prefix, f.summary_start);
  put_u64(prefix, f.summary_offset_start);
  f.summary_crc = crc32(prefix);
  return f;
}

void McapBuilder::finish() {
  finish_with(expected_footer());
}

void McapBuilder::finish_with(const Footer &f) {
  footer_ = f;
  add(f);
  magic();
}

// ------------------------------------------------------- corrupt helpers

Bytes truncated(const Bytes &b, size_t n) {
  return Bytes(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(std::min(n, b.size())));
}

Bytes with_bit_flipped(const Bytes &b, size_t byte_offset, int bit) {
  Bytes out(b);
  out.at(byte_offset) ^= static_cast<uint8_t>(1u << bit);
  return out;
}

// --------------------------------------------------------- sample files

McapBuilder sample_file(const SampleOptions &o) {
  McapBuilder b;
  const Bytes pad = o.pad ? conformance_pad() : Bytes{};
  b.magic();
  Header h;
  h.profile = "x-test";
  h.library = "mcap_builder";
  b.add(h, pad);

  Schema s1{1, "pkg/Point", "jsonschema", bytes_of("{\"type\":\"object\"}")};
  Schema s2{2, "pkg/Empty", "", {}};
  Channel c0{0, 0, "/raw", "json", {}};
  Channel c1{1, 1, "/points", "json", {{"a", "1"}, {"callerid", "/node"}}};
  Channel c2{2, 2, "/empty", "cbor", {{"k", ""}}};
  std::vector<Schema> schemas{s1, s2};
  std::vector<Channel> channels{c0, c1, c2};

  std::vector<Message> msgs;
  uint64_t t = 1000;
  for (int i = 0; i < o.messages; i++) {
    Message m;
    m.channel_id = static_cast<uint16_t>(i % 3);
    m.sequence = static_cast<uint32_t>(i);
    // Not monotonic on purpose.
    t += static_cast<uint64_t>((i * 7919) % 13);
    m.log_time = (i % 5 == 3) ? t - 5 : t;
    m.publish_time = m.log_time + 1;
    m.data.resize(static_cast<size_t>((i * 37) % 90));
    for (size_t k = 0; k < m.data.size(); k++) m.data[k] = static_cast<uint8_t>(i + k);
    msgs.push_back(m);
  }

  std::vector<PlacedChunk> chunks;
  std::vector<std::pair<uint64_t, Attachment>> attachments;
  std::vector<std::pair<uint64_t, Metadata>> metadatas;
  auto write_attachments = [&] {
    if (!o.attachments || !attachments.empty()) return;
    Attachment a1;
    a1.log_time = 5;
    a1.create_time = 4;
    a1.name = "calib.yaml";
    a1.media_type = "text/yaml";
    a1.data = bytes_of("k: 1\nv: [1, 2]\n");
    uint64_t off = b.add(a1, pad);
    attachments.emplace_back(off, a1);
    Attachment a2;
    a2.name = "empty";
    off = b.add(a2, pad);
    attachments.emplace_back(off, a2);
  };

  if (o.private_records) b.record(0x80, bytes_of("private top-level"));
  if (!o.chunked) {
    for (const Schema &s : schemas) b.add(s, pad);
    for (const Channel &c : channels) b.add(c, pad);
    for (size_t i = 0; i < msgs.size(); i++) {
      b.add(msgs[i]);
      if (i == msgs.size() / 2) write_attachments();
    }
  } else {
    ChunkBuilder cb;
    bool first = true;
    size_t in_chunk = 0;
    for (size_t i = 0; i < msgs.size(); i++) {
      if (first) {
        for (const Schema &s : schemas) cb.add(s);
        for (const Channel &c : channels) cb.add(c);
        if (o.private_records) cb.record(0xF0, bytes_of("private in chunk"));
        first = false;
      }
      cb.add(msgs[i]);
      if (++in_chunk == o.messages_per_chunk || i + 1 == msgs.size()) {
        ChunkOptions co;
        co.message_indexes = o.message_indexes;
        chunks.push_back(b.chunk(cb, o.compression, co));
        cb = ChunkBuilder();
        in_chunk = 0;
        write_attachments();
      }
    }
  }
  write_attachments();
  if (o.metadata) {
    Metadata md;
    md.name = "run";
    md.metadata = {{"robot", "r2"}, {"site", "lab"}};
    uint64_t off = b.add(md, pad);
    metadatas.emplace_back(off, md);
  }
  b.data_end();

  if (o.summary) {
    for (const Schema &s : schemas) b.add(s, pad);
    for (const Channel &c : channels) b.add(c, pad);
    Statistics st;
    st.message_count = msgs.size();
    st.schema_count = static_cast<uint16_t>(schemas.size());
    st.channel_count = static_cast<uint32_t>(channels.size());
    st.attachment_count = static_cast<uint32_t>(attachments.size());
    st.metadata_count = static_cast<uint32_t>(metadatas.size());
    st.chunk_count = static_cast<uint32_t>(chunks.size());
    std::map<uint16_t, uint64_t> counts;
    for (size_t i = 0; i < msgs.size(); i++) {
      const Message &m = msgs[i];
      counts[m.channel_id]++;
      if (i == 0 || m.log_time < st.message_start_time) st.message_start_time = m.log_time;
      if (i == 0 || m.log_time > st.message_end_time) st.message_end_time = m.log_time;
    }
    for (const auto &kv : counts) st.channel_message_counts.emplace_back(kv.first, kv.second);
    b.add(st, pad);
    for (const PlacedChunk &pc : chunks) b.add(pc.index, pad);
    for (const auto &pa : attachments) {
      AttachmentIndex ai;
      ai.offset = pa.first;
      ai.length = 9 + pa.second.content().size() + pad.size();
      ai.log_time = pa.second.log_time;
      ai.create_time = pa.second.create_time;
      ai.data_size = pa.second.data.size();
      ai.name = pa.second.name;
      ai.media_type = pa.second.media_type;
      b.add(ai, pad);
    }
    for (const auto &pm : metadatas) {
      MetadataIndex mi;
      mi.offset = pm.first;
      mi.length = 9 + pm.second.content().size() + pad.size();
      mi.name = pm.second.name;
      b.add(mi, pad);
    }
    if (o.summary_offsets) {
      for (SummaryOffset so : b.summary_offsets()) b.add(so, pad);
    }
  }
  b.finish();
  return b;
}

// ------------------------------------------- reading back (uses libmcap)

ReadResult read_all(mcap_source *src, const mcap_reader_options *opts) {
  ReadResult res;
  mcap_stream_reader *r = nullptr;
  res.rc = mcap_stream_reader_new(&r, src, opts);
  if (res.rc != MCAP_OK) return res;
  mcap_record rec;
  // A bound on iterations turns a reader that loops forever into a failure.
  for (size_t n = 0; n < 50000000; n++) {
    res.rc = mcap_stream_reader_next(r, &rec);
    if (res.rc != MCAP_OK) break;
    LoggedRecord lr;
    lr.opcode = rec.opcode;
    lr.offset = rec.offset;
    lr.in_chunk = rec.in_chunk != 0;
    lr.chunk_offset = rec.in_chunk ? rec.chunk_offset : 0;
    if (rec.content.len) lr.content.assign(rec.content.data, rec.content.data + rec.content.len);
    res.records.push_back(std::move(lr));
  }
  res.rc_again = mcap_stream_reader_next(r, &rec);
  res.errmsg = mcap_stream_reader_errmsg(r);
  res.error_offset = mcap_stream_reader_error_offset(r);
  res.position = mcap_stream_reader_position(r);
  mcap_stream_reader_free(r);
  return res;
}

ReadResult read_all_memory(const Bytes &file, const mcap_reader_options *opts) {
  std::unique_ptr<uint8_t[]> copy(new uint8_t[file.empty() ? 1 : file.size()]);
  if (!file.empty()) std::memcpy(copy.get(), file.data(), file.size());
  mcap_source src;
  std::memset(&src, 0, sizeof src);
  ReadResult res;
  res.rc = mcap_source_from_memory(&src, copy.get(), file.size());
  if (res.rc != MCAP_OK) return res;
  return read_all(&src, opts);
}

}  // namespace mcapkit_test
