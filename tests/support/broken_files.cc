// broken_files.cc - the doctor base file and its broken variants (see broken_files.h).
#include "broken_files.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <utility>

namespace mcapkit_test {

namespace {

Schema schema1() {
  Schema s;
  s.id = 1;
  s.name = "test/Point";
  s.encoding = "jsonschema";
  s.data = bytes_of("{\"type\":\"object\"}");
  return s;
}

Channel channel(uint16_t id, uint16_t schema_id, const std::string &topic,
                const std::string &encoding = "json", const StrMap &md = {}) {
  Channel c;
  c.id = id;
  c.schema_id = schema_id;
  c.topic = topic;
  c.message_encoding = encoding;
  c.metadata = md;
  return c;
}

Message message(uint16_t channel_id, uint32_t seq, uint64_t log_time) {
  Message m;
  m.channel_id = channel_id;
  m.sequence = seq;
  m.log_time = log_time;
  m.publish_time = log_time;
  m.data = bytes_of("{\"x\":1}");
  return m;
}

Attachment attachment(const std::string &name) {
  Attachment a;
  a.log_time = 105;
  a.create_time = 104;
  a.name = name;
  a.media_type = "application/yaml";
  a.data = bytes_of("fx: 525.0\nfy: 525.0\n");
  return a;
}

Metadata metadata(const std::string &name) {
  Metadata m;
  m.name = name;
  m.metadata = {{"robot", "r2"}, {"site", "lab"}};
  return m;
}

// Write a chunk and (optionally) its message indexes; the index describes what was written.
ChunkIndex place_chunk(McapBuilder &b, const ChunkBuilder &cb, const std::string &compression,
                       const std::function<void(Chunk &)> &edit, bool message_indexes,
                       const std::function<void(std::vector<MessageIndex> &)> &edit_mis) {
  Chunk c = make_chunk(cb.records(), compression, cb.start_time(), cb.end_time());
  if (edit) edit(c);
  ChunkIndex ci;
  ci.chunk_start_offset = b.add(c);
  ci.chunk_length = b.size() - ci.chunk_start_offset;
  ci.message_start_time = c.message_start_time;
  ci.message_end_time = c.message_end_time;
  ci.compression = c.compression;
  ci.compressed_size = c.records.size();
  ci.uncompressed_size = c.uncompressed_size;
  if (message_indexes) {
    std::vector<MessageIndex> mis = cb.message_indexes();
    if (edit_mis) edit_mis(mis);
    uint64_t start = b.size();
    for (const MessageIndex &mi : mis) {
      uint64_t off = b.add(mi);
      ci.message_index_offsets.emplace_back(mi.channel_id, off);
    }
    ci.message_index_length = b.size() - start;
  }
  return ci;
}

// CRC of the summary: everything after DataEnd plus the footer's first 25 bytes.
uint32_t summary_crc(const Bytes &file, uint64_t after_data_end, const Footer &f) {
  Bytes prefix(file.begin() + static_cast<std::ptrdiff_t>(after_data_end), file.end());
  put_u8(prefix, Footer::kOpcode);
  put_u64(prefix, 20);
  put_u64(prefix, f.summary_start);
  put_u64(prefix, f.summary_offset_start);
  return crc32(prefix);
}

}  // namespace

Bytes doctor_file(const DoctorFileTweaks &t) {
  McapBuilder b;
  std::map<uint64_t, std::vector<LoggedRecord>> chunk_logs;  // chunk offset -> its records
  b.magic();
  Header h;
  h.profile = t.profile;
  h.library = t.library;
  b.add(h);
  if (t.after_header) t.after_header(b);

  ChunkBuilder a;
  a.add(schema1());
  a.add(channel(1, 1, "/a", "json", {{"qos", "reliable"}}));
  a.add(channel(2, 1, "/b"));
  a.add(message(1, 0, 100));
  a.add(message(2, 1, 110));
  a.add(message(1, 2, 120));
  a.add(message(2, 3, 130));
  if (t.chunk_a_extra) t.chunk_a_extra(a);
  ChunkIndex ci_a =
      place_chunk(b, a, t.compression, t.edit_chunk_a, t.message_indexes, t.edit_message_indexes_a);
  chunk_logs[ci_a.chunk_start_offset] = a.log();

  Attachment att = attachment("calibration.yaml");
  if (t.edit_attachment) t.edit_attachment(att);
  AttachmentIndex ai;
  ai.offset = b.add(att);
  ai.length = b.size() - ai.offset;
  ai.log_time = att.log_time;
  ai.create_time = att.create_time;
  ai.data_size = att.data.size();
  ai.name = att.name;
  ai.media_type = att.media_type;

  Metadata md = metadata("robot-info");
  MetadataIndex mdi;
  mdi.offset = b.add(md);
  mdi.length = b.size() - mdi.offset;
  mdi.name = md.name;

  ChunkBuilder cb;
  cb.add(message(1, 4, 200));
  cb.add(message(2, 5, 210));
  ChunkIndex ci_b = place_chunk(b, cb, t.compression, nullptr, t.message_indexes, nullptr);
  chunk_logs[ci_b.chunk_start_offset] = cb.log();

  if (t.before_data_end) t.before_data_end(b);

  // What the data section holds, in stream order, for the statistics and summary repeats.
  std::vector<LoggedRecord> stream;
  for (const LoggedRecord &lr : b.top_level()) {
    auto it = chunk_logs.find(lr.offset);
    if (lr.opcode == Chunk::kOpcode && it != chunk_logs.end()) {
      stream.insert(stream.end(), it->second.begin(), it->second.end());
    } else {
      stream.push_back(lr);
    }
  }
  Statistics st;
  std::map<uint16_t, Bytes> schemas, channels;
  std::map<uint16_t, uint64_t> counts;
  bool any_message = false;
  for (const LoggedRecord &lr : stream) {
    const uint8_t *p = lr.content.data();
    switch (lr.opcode) {
      case Schema::kOpcode:
        if (lr.content.size() >= 2 && get_u16(p) != 0) schemas.emplace(get_u16(p), lr.content);
        break;
      case Channel::kOpcode:
        if (lr.content.size() >= 2) channels.emplace(get_u16(p), lr.content);
        break;
      case Message::kOpcode: {
        if (lr.content.size() < 22) break;
        uint64_t lt = get_u64(p + 6);
        st.message_count++;
        counts[get_u16(p)]++;
        st.message_start_time = any_message ? std::min(st.message_start_time, lt) : lt;
        st.message_end_time = any_message ? std::max(st.message_end_time, lt) : lt;
        any_message = true;
        break;
      }
      case Attachment::kOpcode:
        st.attachment_count++;
        break;
      case Metadata::kOpcode:
        st.metadata_count++;
        break;
      case Chunk::kOpcode:
        st.chunk_count++;
        break;
      default:
        break;
    }
  }
  for (const auto &kv : chunk_logs) {
    (void)kv;
    st.chunk_count++;
  }
  st.schema_count = static_cast<uint16_t>(schemas.size());
  st.channel_count = static_cast<uint32_t>(channels.size());
  for (const auto &kv : counts) st.channel_message_counts.emplace_back(kv.first, kv.second);

  uint64_t after_data_end = 0;
  if (t.data_end) {
    b.data_end_with_crc(crc32(b.bytes()) ^ t.data_end_crc_xor);
    after_data_end = b.size();
  }

  // Summary section.
  if (t.repeat_schemas)
    for (const auto &kv : schemas) b.record(Schema::kOpcode, kv.second);
  if (t.repeat_channels)
    for (const auto &kv : channels) b.record(Channel::kOpcode, kv.second);
  if (t.statistics) {
    if (t.edit_statistics) t.edit_statistics(st);
    for (int i = 0; i < t.statistics_copies; i++) b.add(st);
  }
  if (t.edit_chunk_index) t.edit_chunk_index(ci_a, 0);
  for (int i = 0; i < t.chunk_index_a_copies; i++) b.add(ci_a);
  if (t.chunk_index_b) {
    if (t.edit_chunk_index) t.edit_chunk_index(ci_b, 1);
    b.add(ci_b);
  }
  if (t.edit_attachment_index) t.edit_attachment_index(ai);
  for (int i = 0; i < t.attachment_index_copies; i++) b.add(ai);
  if (t.edit_metadata_index) t.edit_metadata_index(mdi);
  for (int i = 0; i < t.metadata_index_copies; i++) b.add(mdi);
  if (t.summary_extra) t.summary_extra(b);

  if (t.summary_offsets) {
    std::vector<SummaryOffset> sos = b.summary_offsets();
    if (t.edit_summary_offsets) t.edit_summary_offsets(sos);
    for (const SummaryOffset &so : sos) b.add(so);
  }
  if (t.after_summary_offsets) t.after_summary_offsets(b);

  if (t.footer) {
    Footer f = b.expected_footer();
    if (t.edit_footer) {
      uint32_t crc = f.summary_crc;
      t.edit_footer(f);
      // An edit of the offsets keeps the CRC right, so only the edited field is wrong.
      if (f.summary_crc == crc && t.data_end)
        f.summary_crc = summary_crc(b.bytes(), after_data_end, f);
    }
    b.finish_with(f);
  }
  Bytes out = b.bytes();
  if (t.post) t.post(out);
  return out;
}

std::vector<BrokenFile> broken_files() {
  std::vector<BrokenFile> v;
  auto add = [&v](const std::string &code, const std::string &what, const DoctorFileTweaks &t) {
    v.push_back(BrokenFile{code, what, doctor_file(t)});
  };
  DoctorFileTweaks t;

  // ---- framing
  t = {};
  t.post = [](Bytes &b) { b[1] ^= 0x01; };
  add("magic-leading", "second byte of the leading magic changed", t);
  t = {};
  t.post = [](Bytes &b) { b[b.size() - 1] ^= 0x01; };
  add("magic-trailing", "last byte of the trailing magic changed", t);
  t = {};
  t.post = [](Bytes &b) { b.resize(b.size() - 40); };
  add("truncated", "file cut inside the last SummaryOffset", t);
  t = {};
  t.post = [](Bytes &b) { b.resize(b.size() / 2); };
  add("truncated", "file cut in half", t);
  t = {};
  t.after_header = [](McapBuilder &b) { b.record(Channel::kOpcode, Bytes{1, 0, 1}); };
  add("record-malformed", "a Channel record of 3 bytes", t);
  t = {};
  t.chunk_a_extra = [](ChunkBuilder &c) { c.record(Message::kOpcode, Bytes{1, 0, 0}); };
  add("record-malformed", "a Message of 3 bytes inside chunk A", t);
  t = {};
  t.after_header = [](McapBuilder &b) {
    b.record_with_length(Metadata::kOpcode, uint64_t(5) << 30, Bytes{0, 0, 0, 0});
  };
  add("record-too-large", "a Metadata record declaring 5 GiB", t);
  t = {};
  t.post = [](Bytes &b) { b[8] = Channel::kOpcode; };
  add("header-missing", "the Header's opcode changed to Channel", t);
  t = {};
  t.after_header = [](McapBuilder &b) {
    Header h;
    h.library = "again";
    b.add(h);
  };
  add("duplicate-header", "a second Header", t);
  t = {};
  t.before_data_end = [](McapBuilder &b) { b.add(DataEnd{}); };
  add("duplicate-data-end", "two DataEnd records", t);
  t = {};
  t.data_end = false;
  add("data-end-missing", "no DataEnd record", t);
  t = {};
  t.footer = false;
  add("footer-missing", "the file ends after the summary offsets", t);
  t = {};
  t.post = [](Bytes &b) { b.insert(b.end(), {1, 2, 3, 4, 5}); };
  add("trailing-bytes", "five bytes after the trailing magic", t);
  t = {};
  t.summary_extra = [](McapBuilder &b) { b.add(message(1, 99, 300)); };
  add("record-wrong-section", "a Message in the summary section", t);
  t = {};
  t.chunk_a_extra = [](ChunkBuilder &c) {
    c.record(Attachment::kOpcode, attachment("inside").content());
  };
  add("record-wrong-section", "an Attachment inside chunk A", t);
  t = {};
  t.after_summary_offsets = [](McapBuilder &b) {
    Schema s = schema1();
    b.add(s);
  };
  add("record-wrong-section", "a Schema after the summary offsets", t);
  t = {};
  t.after_header = [](McapBuilder &b) { b.record(0x40, Bytes{1, 2, 3}); };
  add("opcode-unknown", "a record with the reserved opcode 0x40", t);
  t = {};
  t.after_header = [](McapBuilder &b) { b.record(0x80, Bytes{1, 2, 3}); };
  add("opcode-private", "a private record 0x80", t);

  // ---- CRCs
  t = {};
  t.data_end_crc_xor = 1;
  add("crc-data", "DataEnd CRC off by one bit", t);
  t = {};
  t.edit_footer = [](Footer &f) { f.summary_crc ^= 1; };
  add("crc-summary", "Footer summary CRC off by one bit", t);
  t = {};
  t.edit_chunk_a = [](Chunk &c) { c.uncompressed_crc ^= 1; };
  add("crc-chunk", "chunk A CRC off by one bit", t);
  t = {};
  t.edit_attachment = [](Attachment &a) {
    a.auto_crc = false;
    a.crc = a.computed_crc() ^ 1;
  };
  add("crc-attachment", "attachment CRC off by one bit", t);

  // ---- header
  t = {};
  t.library = "";
  add("header-library-empty", "empty Header.library", t);
  t = {};
  t.profile = "ros3";
  add("header-profile-unknown", "Header.profile 'ros3'", t);

  // ---- schemas and channels
  t = {};
  t.after_header = [](McapBuilder &b) {
    Schema s = schema1();
    s.id = 0;
    b.add(s);
  };
  add("schema-id-zero", "a Schema with id 0", t);
  t = {};
  t.chunk_a_extra = [](ChunkBuilder &c) {
    Schema s = schema1();
    s.name = "test/Other";
    c.add(s);
  };
  add("schema-conflict", "schema 1 redefined with another name", t);
  t = {};
  t.chunk_a_extra = [](ChunkBuilder &c) { c.add(schema1()); };
  add("duplicate-schema", "schema 1 defined twice in chunk A", t);
  t = {};
  t.after_header = [](McapBuilder &b) {
    Schema s;
    s.id = 5;
    s.name = "x";
    s.data = Bytes{1, 2};
    b.add(s);
  };
  add("schema-data-without-encoding", "schema 5 with data but no encoding", t);
  t = {};
  t.after_header = [](McapBuilder &b) {
    Schema s;
    s.id = 6;
    s.name = "y";
    b.add(s);
  };
  add("schema-empty", "schema 6 with neither encoding nor data", t);
  t = {};
  t.chunk_a_extra = [](ChunkBuilder &c) { c.add(channel(1, 1, "/other")); };
  add("channel-conflict", "channel 1 redefined with another topic", t);
  t = {};
  t.chunk_a_extra = [](ChunkBuilder &c) { c.add(channel(2, 1, "/b")); };
  add("duplicate-channel", "channel 2 defined twice in chunk A", t);
  t = {};
  t.after_header = [](McapBuilder &b) { b.add(channel(7, 42, "/x")); };
  add("channel-unknown-schema", "channel 7 uses undefined schema 42", t);
  t = {};
  t.summary_extra = [](McapBuilder &b) { b.add(channel(9, 42, "/ghost")); };
  add("channel-unknown-schema", "a summary-only channel uses schema 42, defined nowhere", t);
  t = {};
  t.after_header = [](McapBuilder &b) { b.add(channel(8, 0, "/y", "")); };
  add("channel-encoding-empty", "channel 8 without message encoding", t);
  t = {};
  t.summary_extra = [](McapBuilder &b) {
    Schema s = schema1();
    s.id = 9;
    b.add(s);
  };
  add("summary-schema-unknown", "summary repeats schema 9 that the data section lacks", t);
  t = {};
  t.summary_extra = [](McapBuilder &b) { b.add(channel(9, 0, "/ghost")); };
  add("summary-channel-unknown", "summary repeats channel 9 that the data section lacks", t);
  t = {};
  t.repeat_schemas = false;
  add("summary-schema-missing", "schemas not repeated in the summary", t);
  t = {};
  t.repeat_channels = false;
  add("summary-channel-missing", "channels not repeated in the summary", t);

  // ---- messages
  t = {};
  t.chunk_a_extra = [](ChunkBuilder &c) { c.add(message(77, 9, 140)); };
  add("message-unknown-channel", "a message on undefined channel 77", t);
  t = {};
  t.chunk_a_extra = [](ChunkBuilder &c) { c.add(message(1, 9, 50)); };
  add("log-time-order", "a message with log time 50 after 130", t);
  t = {};
  t.before_data_end = [](McapBuilder &b) { b.add(message(1, 9, 300)); };
  add("message-outside-chunk", "a message outside chunks in an indexed file", t);

  // ---- chunks
  t = {};
  t.compression = "brotli";
  add("compression-unknown", "chunks compressed with 'brotli'", t);
  t = {};
  t.compression = "brotli";
  add("statistics-skipped", "unreadable chunks, so message statistics cannot be checked", t);
  t = {};
  t.edit_chunk_a = [](Chunk &c) { c.uncompressed_size += 1; };
  add("decompress", "chunk A declares one byte more than it decompresses to", t);
  t = {};
  t.edit_chunk_a = [](Chunk &c) { c.records[0] ^= 0xFF; };
  add("decompress", "the magic of chunk A's zstd frame changed", t);
  t = {};
  t.edit_chunk_a = [](Chunk &c) { c.uncompressed_size = uint64_t(5) << 30; };
  add("chunk-too-large", "chunk A declares 5 GiB uncompressed", t);
  t = {};
  t.edit_chunk_a = [](Chunk &c) { c.message_start_time = 99; };
  add("chunk-time-range", "chunk A start time 99, first message at 100", t);
  t = {};
  t.before_data_end = [](McapBuilder &b) { b.add(make_chunk(Bytes{}, "", 5, 6)); };
  add("chunk-empty-time", "an empty chunk with times 5..6", t);

  // ---- message indexes
  t = {};
  t.after_header = [](McapBuilder &b) {
    MessageIndex mi;
    mi.channel_id = 1;
    b.add(mi);
  };
  add("message-index-orphan", "a MessageIndex right after the Header", t);
  t = {};
  t.edit_message_indexes_a = [](std::vector<MessageIndex> &m) { m.push_back(m[0]); };
  add("duplicate-message-index", "chunk A's index for channel 1 written twice", t);
  t = {};
  t.edit_message_indexes_a = [](std::vector<MessageIndex> &m) { m[0].entries[0].second += 1; };
  add("message-index-offset", "an entry pointing one byte into a message", t);
  t = {};
  t.edit_message_indexes_a = [](std::vector<MessageIndex> &m) {
    m[0].entries[0].second = m[1].entries[0].second;
  };
  add("message-index-channel", "channel 1's index points at a channel 2 message", t);
  t = {};
  t.edit_message_indexes_a = [](std::vector<MessageIndex> &m) { m[0].entries[0].first += 1; };
  add("message-index-time", "an entry with log time off by one", t);
  t = {};
  t.edit_message_indexes_a = [](std::vector<MessageIndex> &m) { m[0].entries.pop_back(); };
  add("message-index-entry-missing", "channel 1's index lacks its last message", t);
  t = {};
  t.edit_message_indexes_a = [](std::vector<MessageIndex> &m) { m.pop_back(); };
  add("message-index-missing", "chunk A has no index for channel 2", t);
  t = {};
  t.edit_message_indexes_a = [](std::vector<MessageIndex> &m) {
    MessageIndex mi;
    mi.channel_id = 9;
    m.push_back(mi);
  };
  add("message-index-extra", "chunk A has an empty index for channel 9", t);
  t = {};
  t.message_indexes = false;
  add("message-index-absent", "no MessageIndex records at all", t);

  // ---- chunk indexes
  t = {};
  t.edit_chunk_index = [](ChunkIndex &ci, int w) {
    if (w == 0) ci.chunk_start_offset += 1;
  };
  add("chunk-index-offset", "chunk A's index points one byte past it", t);
  t = {};
  t.edit_chunk_index = [](ChunkIndex &ci, int w) {
    if (w == 0) ci.compressed_size += 1;
  };
  add("chunk-index-mismatch", "chunk A's index has the wrong compressed size", t);
  t = {};
  t.edit_chunk_index = [](ChunkIndex &ci, int w) {
    if (w == 1) ci.message_index_offsets[0].second += 1;
  };
  add("chunk-index-mismatch", "chunk B's index has a wrong message index offset", t);
  t = {};
  t.edit_chunk_index = [](ChunkIndex &ci, int w) {
    if (w == 1) ci.message_index_length += 1;
  };
  add("chunk-index-mismatch", "chunk B's index has a wrong message index length", t);
  t = {};
  t.chunk_index_b = false;
  add("chunk-index-missing", "chunk B has no ChunkIndex", t);
  t = {};
  t.chunk_index_a_copies = 2;
  add("duplicate-chunk-index", "chunk A's index written twice", t);

  // ---- attachment and metadata indexes
  t = {};
  t.edit_attachment_index = [](AttachmentIndex &ai) { ai.offset += 1; };
  add("attachment-index-offset", "the attachment index points one byte past it", t);
  t = {};
  t.edit_attachment_index = [](AttachmentIndex &ai) { ai.data_size += 1; };
  add("attachment-index-mismatch", "the attachment index has the wrong data size", t);
  t = {};
  t.edit_attachment_index = [](AttachmentIndex &ai) { ai.name = "other.yaml"; };
  add("attachment-index-mismatch", "the attachment index has another name", t);
  t = {};
  t.before_data_end = [](McapBuilder &b) { b.add(attachment("unindexed.yaml")); };
  add("attachment-index-missing", "a second attachment without index", t);
  t = {};
  t.attachment_index_copies = 2;
  add("duplicate-attachment-index", "the attachment index written twice", t);
  t = {};
  t.edit_metadata_index = [](MetadataIndex &mi) { mi.offset += 1; };
  add("metadata-index-offset", "the metadata index points one byte past it", t);
  t = {};
  t.edit_metadata_index = [](MetadataIndex &mi) { mi.name = "other"; };
  add("metadata-index-mismatch", "the metadata index has another name", t);
  t = {};
  t.before_data_end = [](McapBuilder &b) { b.add(metadata("unindexed")); };
  add("metadata-index-missing", "a second metadata record without index", t);
  t = {};
  t.metadata_index_copies = 2;
  add("duplicate-metadata-index", "the metadata index written twice", t);

  // ---- statistics
  t = {};
  t.statistics_copies = 2;
  add("duplicate-statistics", "two Statistics records", t);
  t = {};
  t.edit_statistics = [](Statistics &s) { s.message_count += 1; };
  add("statistics-message-count", "message_count one too high", t);
  t = {};
  t.edit_statistics = [](Statistics &s) { s.message_end_time += 1; };
  add("statistics-time-range", "message_end_time one too late", t);
  t = {};
  t.chunk_a_extra = [](ChunkBuilder &c) { c.add(message(1, 9, 0)); };
  t.edit_statistics = [](Statistics &s) { s.message_start_time = 100; };
  add("statistics-start-zero", "a message at log time 0, Statistics start at the next one (100)",
      t);
  t = {};
  t.edit_statistics = [](Statistics &s) { s.channel_message_counts[1].second += 1; };
  add("statistics-channel-messages", "channel 2's count one too high", t);
  t = {};
  t.edit_statistics = [](Statistics &s) { s.channel_message_counts.pop_back(); };
  add("statistics-channel-messages", "channel 2 missing from the per-channel counts", t);
  t = {};
  t.edit_statistics = [](Statistics &s) { s.schema_count += 1; };
  add("statistics-schema-count", "schema_count one too high", t);
  t = {};
  t.edit_statistics = [](Statistics &s) { s.channel_count += 1; };
  add("statistics-channel-count", "channel_count one too high", t);
  t = {};
  t.edit_statistics = [](Statistics &s) { s.attachment_count += 1; };
  add("statistics-attachment-count", "attachment_count one too high", t);
  t = {};
  t.edit_statistics = [](Statistics &s) { s.metadata_count += 1; };
  add("statistics-metadata-count", "metadata_count one too high", t);
  t = {};
  t.edit_statistics = [](Statistics &s) { s.chunk_count += 1; };
  add("statistics-chunk-count", "chunk_count one too high", t);
  t = {};
  t.repeat_channels = false;
  add("statistics-channels-missing", "per-channel counts without channels in the summary", t);

  // ---- summary offsets and footer
  t = {};
  t.edit_summary_offsets = [](std::vector<SummaryOffset> &s) { s[0].group_start += 1; };
  add("summary-offset-start", "the first SummaryOffset starts one byte late", t);
  t = {};
  t.edit_summary_offsets = [](std::vector<SummaryOffset> &s) {
    s[0].group_opcode = Channel::kOpcode;
  };
  add("summary-offset-opcode", "the Schema group labelled Channel", t);
  t = {};
  t.edit_summary_offsets = [](std::vector<SummaryOffset> &s) { s[1].group_length -= 1; };
  add("summary-offset-length", "the Channel group one byte short", t);
  t = {};
  t.edit_summary_offsets = [](std::vector<SummaryOffset> &s) {
    s[1].group_length = 9 + channel(1, 1, "/a", "json", {{"qos", "reliable"}}).content().size();
  };
  add("summary-offset-length", "the Channel group covering only its first record", t);
  t = {};
  t.edit_summary_offsets = [](std::vector<SummaryOffset> &s) { s.push_back(s[0]); };
  add("duplicate-summary-offset", "two SummaryOffsets for the Schema group", t);
  t = {};
  t.summary_extra = [](McapBuilder &b) {
    b.add(channel(1, 1, "/a", "json", {{"qos", "reliable"}}));
  };
  add("summary-group-split", "channel 1 repeated again at the end of the summary", t);
  t = {};
  t.edit_footer = [](Footer &f) { f.summary_start += 1; };
  add("footer-summary-start", "Footer.summary_start one byte late", t);
  t = {};
  t.edit_footer = [](Footer &f) { f.summary_offset_start = 0; };
  add("footer-summary-offset-start", "Footer.summary_offset_start 0 despite summary offsets", t);

  // ---- strings
  t = {};
  t.after_header = [](McapBuilder &b) { b.add(channel(11, 0, std::string("/bad\xff\xfe"))); };
  add("utf8-invalid", "a channel topic with bytes FF FE", t);
  t = {};
  t.after_header = [](McapBuilder &b) {
    Metadata m = metadata("overlong");
    m.metadata = {{"k", std::string("\xc0\xaf")}};
    b.add(m);
  };
  add("utf8-invalid", "a metadata value with an overlong '/'", t);
  return v;
}

std::vector<DocumentedCode> documented_doctor_codes() {
  std::string path = std::string(MCAPKIT_SOURCE_DIR) + "/docs/doctor.md";
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::vector<DocumentedCode> out;
  std::string line;
  while (std::getline(in, line)) {
    // | `code` | E | S | finding | why |
    if (line.rfind("| `", 0) != 0) continue;
    std::vector<std::string> cells;
    std::stringstream ss(line.substr(1));
    std::string cell;
    while (std::getline(ss, cell, '|')) {
      size_t a = cell.find_first_not_of(' '), b = cell.find_last_not_of(' ');
      cells.push_back(a == std::string::npos ? "" : cell.substr(a, b - a + 1));
    }
    if (cells.size() < 4 || cells[1].size() != 1) continue;
    DocumentedCode c;
    c.code = cells[0].substr(1, cells[0].size() - 2);  // strip the backquotes
    c.severity = cells[1][0];
    c.structural = cells[2] == "S";
    out.push_back(c);
  }
  return out;
}

}  // namespace mcapkit_test
