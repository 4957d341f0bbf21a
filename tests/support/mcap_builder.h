// mcap_builder.h - builds MCAP byte streams by hand for tests, independently of
// libmcap's writer (own little-endian encoding, own CRC-32, zstd/lz4 called
// directly). Every record type has a struct with all its fields; a record's
// content can be padded, its length prefix falsified, and files can be
// truncated or have bits flipped, so tests can make both valid and corrupt input.
//
// The file builder keeps two logs of what it wrote: the top-level records (as
// they sit in the file) and the "stream" view that a streamed reader should
// yield (chunk contents inlined in place of each Chunk record).
#pragma once

#include <cstddef>
#include <cstdint>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "mcap/mcap.h"

namespace mcapkit_test {

using Bytes = std::vector<uint8_t>;
// Map<string,string> in wire order (the builder never sorts).
using StrMap = std::vector<std::pair<std::string, std::string>>;
// Map<uint16,uint64> in wire order.
using IdMap = std::vector<std::pair<uint16_t, uint64_t>>;

extern const uint8_t kMagic[8];

// ---------------------------------------------------------------- encoding

void put_u8(Bytes &b, uint8_t v);
void put_u16(Bytes &b, uint16_t v);
void put_u32(Bytes &b, uint32_t v);
void put_u64(Bytes &b, uint64_t v);
void put_raw(Bytes &b, const void *p, size_t n);
void put_raw(Bytes &b, const Bytes &d);
void put_str(Bytes &b, const std::string &s);  // uint32 length + bytes
void put_bytes32(Bytes &b, const Bytes &d);    // uint32 length + bytes
void put_bytes64(Bytes &b, const Bytes &d);    // uint64 length + bytes
void put_str_map(Bytes &b, const StrMap &m);   // uint32 byte length + entries
void put_id_map(Bytes &b, const IdMap &m);     // uint32 byte length + 10-byte entries

uint16_t get_u16(const uint8_t *p);
uint32_t get_u32(const uint8_t *p);
uint64_t get_u64(const uint8_t *p);

Bytes bytes_of(const std::string &s);
Bytes concat(const Bytes &a, const Bytes &b);

// CRC-32/ISO-HDLC (zlib's crc32), continued from `crc`; an independent
// implementation so tests do not check libmcap against itself.
uint32_t crc32(const uint8_t *p, size_t n, uint32_t crc = 0);
inline uint32_t crc32(const Bytes &b, uint32_t crc = 0) {
  return crc32(b.data(), b.size(), crc);
}

// Compress with "" (copy), "zstd" (one frame) or "lz4" (LZ4 frame). Any other
// name copies the bytes (for unknown-compression tests).
Bytes compress(const std::string &compression, const Bytes &data);
// Decompress to exactly `size` bytes; throws std::runtime_error on failure.
Bytes decompress(const std::string &compression, const Bytes &data, size_t size);

// A named byte range of a record's content, recorded while encoding: used by
// tests to know which field a truncation falls into.
struct FieldSpan {
  std::string name;
  size_t begin;
  size_t end;
};
using Spans = std::vector<FieldSpan>;

// -------------------------------------------------------------- records
// Each struct: kOpcode, all fields, content() = the record content without the
// 9-byte envelope (spans optionally receives the field layout).

struct Header {
  static constexpr uint8_t kOpcode = 0x01;
  std::string profile;
  std::string library;
  Bytes content(Spans *spans = nullptr) const;
};

struct Footer {
  static constexpr uint8_t kOpcode = 0x02;
  uint64_t summary_start = 0;
  uint64_t summary_offset_start = 0;
  uint32_t summary_crc = 0;
  Bytes content(Spans *spans = nullptr) const;
};

struct Schema {
  static constexpr uint8_t kOpcode = 0x03;
  uint16_t id = 0;
  std::string name;
  std::string encoding;
  Bytes data;
  Bytes content(Spans *spans = nullptr) const;
};

struct Channel {
  static constexpr uint8_t kOpcode = 0x04;
  uint16_t id = 0;
  uint16_t schema_id = 0;
  std::string topic;
  std::string message_encoding;
  StrMap metadata;
  Bytes content(Spans *spans = nullptr) const;
};

struct Message {
  static constexpr uint8_t kOpcode = 0x05;
  uint16_t channel_id = 0;
  uint32_t sequence = 0;
  uint64_t log_time = 0;
  uint64_t publish_time = 0;
  Bytes data;
  Bytes content(Spans *spans = nullptr) const;
};

struct Chunk {
  static constexpr uint8_t kOpcode = 0x06;
  uint64_t message_start_time = 0;
  uint64_t message_end_time = 0;
  uint64_t uncompressed_size = 0;
  uint32_t uncompressed_crc = 0;
  std::string compression;
  Bytes records;  // as stored (compressed)
  Bytes content(Spans *spans = nullptr) const;
};

struct MessageIndex {
  static constexpr uint8_t kOpcode = 0x07;
  uint16_t channel_id = 0;
  std::vector<std::pair<uint64_t, uint64_t>> entries;  // (log_time, offset)
  Bytes content(Spans *spans = nullptr) const;
};

struct ChunkIndex {
  static constexpr uint8_t kOpcode = 0x08;
  uint64_t message_start_time = 0;
  uint64_t message_end_time = 0;
  uint64_t chunk_start_offset = 0;
  uint64_t chunk_length = 0;
  IdMap message_index_offsets;
  uint64_t message_index_length = 0;
  std::string compression;
  uint64_t compressed_size = 0;
  uint64_t uncompressed_size = 0;
  Bytes content(Spans *spans = nullptr) const;
};

struct Attachment {
  static constexpr uint8_t kOpcode = 0x09;
  uint64_t log_time = 0;
  uint64_t create_time = 0;
  std::string name;
  std::string media_type;
  Bytes data;
  bool auto_crc = true;  // compute crc over log_time..data; else use `crc`
  uint32_t crc = 0;
  Bytes content(Spans *spans = nullptr) const;
  uint32_t computed_crc() const;
};

struct AttachmentIndex {
  static constexpr uint8_t kOpcode = 0x0A;
  uint64_t offset = 0;
  uint64_t length = 0;
  uint64_t log_time = 0;
  uint64_t create_time = 0;
  uint64_t data_size = 0;
  std::string name;
  std::string media_type;
  Bytes content(Spans *spans = nullptr) const;
};

struct Statistics {
  static constexpr uint8_t kOpcode = 0x0B;
  uint64_t message_count = 0;
  uint16_t schema_count = 0;
  uint32_t channel_count = 0;
  uint32_t attachment_count = 0;
  uint32_t metadata_count = 0;
  uint32_t chunk_count = 0;
  uint64_t message_start_time = 0;
  uint64_t message_end_time = 0;
  IdMap channel_message_counts;
  Bytes content(Spans *spans = nullptr) const;
};

struct Metadata {
  static constexpr uint8_t kOpcode = 0x0C;
  std::string name;
  StrMap metadata;
  Bytes content(Spans *spans = nullptr) const;
};

struct MetadataIndex {
  static constexpr uint8_t kOpcode = 0x0D;
  uint64_t offset = 0;
  uint64_t length = 0;
  std::string name;
  Bytes content(Spans *spans = nullptr) const;
};

struct SummaryOffset {
  static constexpr uint8_t kOpcode = 0x0E;
  uint8_t group_opcode = 0;
  uint64_t group_start = 0;
  uint64_t group_length = 0;
  Bytes content(Spans *spans = nullptr) const;
};

struct DataEnd {
  static constexpr uint8_t kOpcode = 0x0F;
  uint32_t data_section_crc = 0;
  Bytes content(Spans *spans = nullptr) const;
};

// A whole record: opcode, uint64 content length, content.
Bytes envelope(uint8_t opcode, const Bytes &content);
// Same with a falsified content length (the content bytes are written as given).
Bytes envelope_with_length(uint8_t opcode, uint64_t declared_length, const Bytes &content);

template <class R>
Bytes record_bytes(const R &r, const Bytes &pad = {}) {
  return envelope(R::kOpcode, concat(r.content(), pad));
}

// The 3 bytes the conformance `pad` variants append to extensible records.
Bytes conformance_pad();

// Build a Chunk from uncompressed records: CRC, sizes and compression filled in.
Chunk make_chunk(const Bytes &uncompressed_records, const std::string &compression,
                 uint64_t message_start_time, uint64_t message_end_time);

// --------------------------------------------------------------- logs

// One record as a reader should see it.
struct LoggedRecord {
  uint8_t opcode;
  uint64_t offset;  // file offset, or offset in the decompressed chunk records
  bool in_chunk;
  uint64_t chunk_offset;  // file offset of the enclosing Chunk when in_chunk
  Bytes content;
};

bool operator==(const LoggedRecord &a, const LoggedRecord &b);
inline bool operator!=(const LoggedRecord &a, const LoggedRecord &b) {
  return !(a == b);
}
std::ostream &operator<<(std::ostream &os, const LoggedRecord &r);

// ------------------------------------------------------------ chunks

// Collects the records of one chunk and the message index entries for them.
class ChunkBuilder {
 public:
  // Append a record; returns its offset in the uncompressed records.
  uint64_t record(uint8_t opcode, const Bytes &content);
  uint64_t add(const Schema &s, const Bytes &pad = {});
  uint64_t add(const Channel &c, const Bytes &pad = {});
  uint64_t add(const Message &m);

  const Bytes &records() const { return records_; }
  bool has_messages() const { return has_messages_; }
  uint64_t start_time() const { return start_; }
  uint64_t end_time() const { return end_; }
  // MessageIndex per channel, channels in first-message order, entries in write order.
  const std::vector<MessageIndex> &message_indexes() const { return indexes_; }
  const std::vector<LoggedRecord> &log() const { return log_; }

 private:
  Bytes records_;
  bool has_messages_ = false;
  uint64_t start_ = 0;
  uint64_t end_ = 0;
  std::vector<MessageIndex> indexes_;
  std::vector<LoggedRecord> log_;
};

// Where a chunk landed, and the ChunkIndex describing it.
struct PlacedChunk {
  ChunkIndex index;
  uint64_t offset = 0;          // of the Chunk opcode
  uint64_t records_offset = 0;  // of the first stored (compressed) records byte
  uint64_t records_length = 0;
  Chunk chunk;
};

struct ChunkOptions {
  bool message_indexes = true;
  bool override_crc = false;  // write `crc` instead of the computed CRC
  uint32_t crc = 0;
  bool override_uncompressed_size = false;
  uint64_t uncompressed_size = 0;
  Bytes pad;  // appended after the records field
};

// --------------------------------------------------------------- files

class McapBuilder {
 public:
  McapBuilder &magic();
  // Append a whole record and log it; returns its offset.
  uint64_t record(uint8_t opcode, const Bytes &content);
  // Append a record whose content-length field is falsified (logged as written).
  uint64_t record_with_length(uint8_t opcode, uint64_t declared_length, const Bytes &content);
  template <class R>
  uint64_t add(const R &r, const Bytes &pad = {}) {
    return record(R::kOpcode, concat(r.content(), pad));
  }
  // Append bytes that are not a record (garbage, partial records); not logged.
  uint64_t raw(const Bytes &b);

  // Write a Chunk (and its MessageIndex records unless disabled).
  PlacedChunk chunk(const ChunkBuilder &cb, const std::string &compression,
                    const ChunkOptions &opts = ChunkOptions());

  // DataEnd with the CRC of everything so far (or the given one).
  uint64_t data_end();
  uint64_t data_end_with_crc(uint32_t crc);

  // SummaryOffset records for the groups of the summary written so far.
  std::vector<SummaryOffset> summary_offsets() const;
  // Append those SummaryOffset records.
  void add_summary_offsets();

  // The Footer this file should end with (summary start/offset start/crc
  // computed from what was written so far; call before finish()).
  Footer expected_footer() const;
  // The Footer that finish()/finish_with() wrote.
  const Footer &written_footer() const { return footer_; }
  // Append the footer (computed, or `f` as given) and the trailing magic.
  void finish();
  void finish_with(const Footer &f);

  uint64_t size() const { return bytes_.size(); }
  const Bytes &bytes() const { return bytes_; }
  Bytes &mutable_bytes() { return bytes_; }

  // Top-level records in file order (Chunk records as such, chunk contents not expanded).
  const std::vector<LoggedRecord> &top_level() const { return top_; }
  // The records a streamed reader opening chunks yields, in order.
  const std::vector<LoggedRecord> &stream() const { return stream_; }

 private:
  Bytes bytes_;
  std::vector<LoggedRecord> top_;
  std::vector<LoggedRecord> stream_;
  Footer footer_;
  bool have_data_end_ = false;
  uint64_t after_data_end_ = 0;  // offset right after the DataEnd record
};

// ------------------------------------------------------- corrupt helpers

Bytes truncated(const Bytes &b, size_t n);
Bytes with_bit_flipped(const Bytes &b, size_t byte_offset, int bit = 0);

// --------------------------------------------------------- sample files

// Options for a ready-made valid file with a bit of everything.
struct SampleOptions {
  bool chunked = true;
  std::string compression = "zstd";
  bool message_indexes = true;
  bool summary = true;
  bool summary_offsets = true;
  bool attachments = true;
  bool metadata = true;
  bool private_records = true;
  bool pad = false;  // pad extensible top-level records with conformance_pad()
  int messages = 20;
  size_t messages_per_chunk = 8;
};

// Build the sample file; the builder keeps its logs for comparisons.
McapBuilder sample_file(const SampleOptions &opts);

// ------------------------------------------- reading back (uses libmcap)
// Not part of the builder proper: helpers that run libmcap's streamed reader
// and log what it yields in the same shape as the builder's logs.

struct ReadResult {
  int rc = 0;        // final status: MCAP_ITEROVER when the file was read to the end
  int rc_again = 0;  // what next() returned when called once more
  std::string errmsg;
  uint64_t error_offset = 0;
  uint64_t position = 0;  // mcap_stream_reader_position at the end
  std::vector<LoggedRecord> records;
};

// Read every record of `src` (ownership passes to the reader).
ReadResult read_all(mcap_source *src, const mcap_reader_options *opts = nullptr);
// Same over a private heap copy of `file` of exactly its size (so that
// sanitizers catch any read past the end).
ReadResult read_all_memory(const Bytes &file, const mcap_reader_options *opts = nullptr);

}  // namespace mcapkit_test
