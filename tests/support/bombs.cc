// bombs.cc - see bombs.h.
#include "bombs.h"

#include <cstdio>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <vector>

#include "mcap/mcap.h"
#include "mcap_builder.h"

namespace mcapkit_test {
namespace {

// The chunk's records as one zstd frame, written block by block while they are
// produced: runs of zeros as RLE blocks (4 bytes per 128 KiB, which is what makes
// such a file tiny), other bytes as raw blocks. Any zstd decoder reads it; it costs
// no compression time, so a 4 GiB chunk is built in the time its CRC takes.
class ChunkStream {
 public:
  ChunkStream() {
    const uint8_t head[] = {0x28, 0xB5, 0x2F, 0xFD,  // magic
                            0x00,                    // no content size, no checksum
                            0x38};                   // window 128 KiB
    out_.append(reinterpret_cast<const char *>(head), sizeof head);
  }
  void add(const uint8_t *p, size_t n) {
    crc_ = mcap_crc32(crc_, p, n);
    size_ += n;
    while (n) {
      size_t k = n < kBlock ? n : kBlock;
      block(0, k);
      out_.append(reinterpret_cast<const char *>(p), k);
      p += k;
      n -= k;
    }
  }
  void zeros(uint64_t n) {
    static const std::vector<uint8_t> z(kBlock, 0);
    size_ += n;
    while (n) {
      size_t k = n < kBlock ? static_cast<size_t>(n) : kBlock;
      crc_ = mcap_crc32(crc_, z.data(), k);
      block(1, k);
      out_.push_back('\0');
      n -= k;
    }
  }
  std::string finish() {
    block(0, 0, true);  // an empty raw block ends the frame
    return std::move(out_);
  }
  uint64_t size() const { return size_; }
  uint32_t crc() const { return crc_; }

 private:
  static constexpr size_t kBlock = 128 * 1024;
  void block(unsigned type, size_t size, bool last = false) {
    uint32_t h = static_cast<uint32_t>(size << 3) | (type << 1) | (last ? 1 : 0);
    out_.push_back(static_cast<char>(h & 0xff));
    out_.push_back(static_cast<char>((h >> 8) & 0xff));
    out_.push_back(static_cast<char>((h >> 16) & 0xff));
  }
  std::string out_;
  uint64_t size_ = 0;
  uint32_t crc_ = 0;
};

Bytes record(uint8_t op, const Bytes &content) {
  Bytes b;
  put_u8(b, op);
  put_u64(b, content.size());
  put_raw(b, content);
  return b;
}

Bytes channel_content(const std::string &topic) {
  Bytes c;
  put_u16(c, 1);  // id
  put_u16(c, 0);  // no schema
  put_str(c, topic);
  put_str(c, "raw");
  put_u32(c, 0);  // metadata
  return c;
}

Bytes message_header(uint64_t payload, uint64_t t) {
  Bytes b;
  put_u8(b, MCAP_OP_MESSAGE);
  put_u64(b, 22 + payload);
  put_u16(b, 1);
  put_u32(b, static_cast<uint32_t>(t));
  put_u64(b, t);
  put_u64(b, t);
  return b;
}

struct Built {
  std::string compressed;
  uint64_t size;
  uint32_t crc;
  std::vector<uint8_t> index;  // (log_time, offset) pairs of the messages
  uint64_t start = 0, end = 0;
};

Built build_chunk(const BombSpec &spec, bool with_channel) {
  ChunkStream cs;
  Built b;
  if (spec.content != BombSpec::kZeros && with_channel) {
    Bytes ch = record(MCAP_OP_CHANNEL, channel_content(spec.topic));
    cs.add(ch.data(), ch.size());
  }
  if (spec.content == BombSpec::kZeros) {
    cs.zeros(spec.payload);
  } else {
    uint64_t n = spec.content == BombSpec::kOneMessage ? 1 : spec.count;
    for (uint64_t i = 0; i < n; i++) {
      uint64_t t = i + 1;
      Bytes e;
      put_u64(e, t);
      put_u64(e, cs.size());
      b.index.insert(b.index.end(), e.begin(), e.end());
      Bytes h = message_header(spec.payload, t);
      cs.add(h.data(), h.size());
      cs.zeros(spec.payload);
      if (i == 0) b.start = t;
      b.end = t;
    }
  }
  b.size = cs.size();
  b.crc = cs.crc();
  b.compressed = cs.finish();
  return b;
}

}  // namespace

uint64_t write_bomb(const std::string &path, const BombSpec &spec) {
  if (spec.summary) {
    // libmcap's writer adds the chunk as it is (message indexes, chunk index, statistics)
    Built b = build_chunk(spec, false);
    mcap_sink sink;
    mcap_error_info err;
    if (mcap_sink_open_file(&sink, path.c_str(), &err) != MCAP_OK) throw std::runtime_error(err.msg);
    mcap_writer_options wo;
    mcap_writer_options_init(&wo);
    mcap_writer *w = nullptr;
    int rc = mcap_writer_open(&w, &sink, &wo);
    mcap_channel ch;
    memset(&ch, 0, sizeof ch);
    ch.id = 1;
    ch.topic = {spec.topic.data(), static_cast<uint32_t>(spec.topic.size())};
    ch.message_encoding = {"raw", 3};
    if (rc == MCAP_OK) rc = mcap_writer_put_channel(w, &ch);
    mcap_chunk ck;
    memset(&ck, 0, sizeof ck);
    ck.message_start_time = b.start;
    ck.message_end_time = b.end;
    ck.uncompressed_size = spec.declared_size ? spec.declared_size : b.size;
    ck.uncompressed_crc = b.crc;
    ck.compression = {"zstd", 4};
    ck.records = {reinterpret_cast<const uint8_t *>(b.compressed.data()), b.compressed.size()};
    mcap_message_index mi;
    mi.channel_id = 1;
    mi.entries = {b.index.data(), b.index.size()};
    if (rc == MCAP_OK) rc = mcap_writer_write_chunk_raw(w, &ck, &mi, b.index.empty() ? 0 : 1);
    if (rc == MCAP_OK) rc = mcap_writer_close(w);
    std::string msg = rc ? mcap_writer_errmsg(w) : "";
    mcap_writer_free(w);
    if (rc == MCAP_OK) rc = mcap_sink_commit(&sink, &err);
    mcap_sink_close(&sink, nullptr);
    if (rc) throw std::runtime_error("write_bomb: " + msg);
  } else {
    Built b = build_chunk(spec, true);
    Bytes f(kMagic, kMagic + 8);
    Bytes h;
    put_str(h, "");
    put_str(h, "bomb");
    put_raw(f, record(MCAP_OP_HEADER, h));
    Bytes c;
    put_u64(c, b.start);
    put_u64(c, b.end);
    put_u64(c, spec.declared_size ? spec.declared_size : b.size);
    put_u32(c, b.crc);
    put_str(c, "zstd");
    put_u64(c, b.compressed.size());
    put_raw(c, b.compressed.data(), b.compressed.size());
    put_raw(f, record(MCAP_OP_CHUNK, c));
    Bytes de;
    put_u32(de, 0);
    put_raw(f, record(MCAP_OP_DATA_END, de));
    Bytes ft;
    put_u64(ft, 0);
    put_u64(ft, 0);
    put_u32(ft, 0);
    put_raw(f, record(MCAP_OP_FOOTER, ft));
    put_raw(f, kMagic, 8);
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char *>(f.data()), static_cast<std::streamsize>(f.size()));
    if (!out) throw std::runtime_error("write_bomb: cannot write " + path);
  }
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  return static_cast<uint64_t>(in.tellg());
}

static long status_kib(int pid, const char *field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  size_t n = strlen(field);
  while (std::getline(in, line))
    if (line.compare(0, n, field) == 0) return std::stol(line.substr(n));
  return 0;
}

long peak_rss_kib(int pid) { return status_kib(pid, "VmHWM:"); }
long current_rss_kib(int pid) { return status_kib(pid, "VmRSS:"); }

}  // namespace mcapkit_test
