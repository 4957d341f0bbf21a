// test_source.cc - the file source's sliding window with read-ahead
// (mcap__source_readahead: a helper thread maps the next window): every view
// it hands out holds the file's bytes, for sequential reads of every size
// (straddling windows, larger than a window), random reads in between and
// read_at; and a streamed read of a multi-window MCAP file over it equals the
// same read from memory, with every CRC checked.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "internal.h"
#include "mcap/mcap.h"
#include "mcap_builder.h"
#include "tmpdir.h"

using namespace mcapkit_test;

namespace {

std::vector<uint8_t> random_bytes(size_t n, uint32_t seed) {
  std::vector<uint8_t> b(n);
  std::mt19937_64 rng(seed);
  for (size_t i = 0; i + 8 <= n; i += 8) {
    uint64_t v = rng();
    std::memcpy(&b[i], &v, 8);
  }
  return b;
}

void write_file(const std::string &path, const uint8_t *p, size_t n) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char *>(p), static_cast<std::streamsize>(n));
  ASSERT_TRUE(f.good());
}

// Read [off, off + len) through the source and compare with the file's bytes.
void expect_read(mcap_source *src, const std::vector<uint8_t> &file, uint64_t off, uint64_t len) {
  const uint8_t *p = nullptr;
  uint64_t got = 0;
  mcap_error_info err{};
  ASSERT_EQ(src->read(src->payload, off, len, &p, &got, &err), MCAP_OK) << err.msg;
  uint64_t want = off >= file.size() ? 0 : std::min<uint64_t>(len, file.size() - off);
  ASSERT_EQ(got, want) << "read of " << len << " at " << off;
  if (got) {
    ASSERT_EQ(std::memcmp(p, file.data() + off, static_cast<size_t>(got)), 0)
        << "read of " << len << " at " << off;
  }
}

}  // namespace

TEST(FileSource, ReadAheadViewsHoldTheFileBytes) {
  TempDir dir;
  const size_t size = (70u << 20) + 12345;  // several windows and a ragged end
  std::vector<uint8_t> file = random_bytes(size, 1);
  std::string path = dir.file("bytes.bin");
  write_file(path, file.data(), file.size());
  for (int ahead = 0; ahead < 2; ahead++) {
    SCOPED_TRACE(ahead ? "read-ahead" : "plain");
    mcap_source src;
    mcap_error_info err{};
    ASSERT_EQ(mcap_source_open_file(&src, path.c_str(), &err), MCAP_OK) << err.msg;
    if (ahead) {
      ASSERT_EQ(mcap__source_readahead(&src), MCAP_OK);
    }
    std::mt19937 rng(2);
    uint64_t pos = 0;
    int steps = 0;
    while (pos < size && steps++ < 4000) {
      uint64_t len;
      switch (rng() % 10) {
        case 0: len = 3u << 20 | (rng() % (3u << 20)); break;  // 3-6 MiB: straddles the overlap
        case 1: len = (17u << 20) + rng() % 4096; break;         // larger than a window
        case 2: {
          // a random read elsewhere (as an indexed reader would), then back in sequence
          uint64_t off = rng() % size;
          expect_read(&src, file, off, 1 + rng() % 100000);
          if (::testing::Test::HasFatalFailure()) return;
          std::vector<uint8_t> buf(4096);
          uint64_t at = rng() % (size - buf.size());
          ASSERT_EQ(src.read_at(src.payload, at, buf.size(), buf.data(), &err), MCAP_OK);
          ASSERT_EQ(std::memcmp(buf.data(), file.data() + at, buf.size()), 0);
          len = 1 + rng() % 70000;
          break;
        }
        default: len = 1 + rng() % 600000; break;  // chunk-sized records
      }
      expect_read(&src, file, pos, len);
      if (::testing::Test::HasFatalFailure()) return;
      pos += len;
    }
    expect_read(&src, file, size - 10, 100);  // past the end: only what is there
    mcap_source_close(&src);
  }
}

TEST(FileSource, ReadAheadNeedsABigFile) {
  TempDir dir;
  std::vector<uint8_t> file = random_bytes(1u << 20, 3);
  std::string path = dir.file("small.bin");
  write_file(path, file.data(), file.size());
  mcap_source src;
  mcap_error_info err{};
  ASSERT_EQ(mcap_source_open_file(&src, path.c_str(), &err), MCAP_OK);
  EXPECT_EQ(mcap__source_readahead(&src), MCAP_EUNSUPPORTED);  // one window holds it all
  mcap_source_close(&src);
  mcap_source mem;
  ASSERT_EQ(mcap_source_from_memory(&mem, file.data(), file.size()), MCAP_OK);
  EXPECT_EQ(mcap__source_readahead(&mem), MCAP_EUNSUPPORTED);
  mcap_source_close(&mem);
}

TEST(FileSource, StreamedReadOfAMultiWindowFileEqualsMemory) {
  // ~48 MiB of lz4 and uncompressed chunks with messages up to 5 MiB (records that
  // straddle windows and exceed the read-ahead overlap), attachments in between.
  TempDir dir;
  std::string path = dir.file("big.mcap");
  std::vector<uint8_t> payload = random_bytes(6u << 20, 4);
  {
    mcap_sink sink;
    mcap_error_info err{};
    ASSERT_EQ(mcap_sink_open_file(&sink, path.c_str(), &err), MCAP_OK) << err.msg;
    mcap_writer_options wo;
    mcap_writer_options_init(&wo);
    wo.compression = MCAP_COMPRESSION_LZ4;
    mcap_writer *w = nullptr;
    ASSERT_EQ(mcap_writer_open(&w, &sink, &wo), MCAP_OK);
    uint16_t sid = 0, cid = 0;
    ASSERT_EQ(mcap_writer_add_schema(w, mcap_str_c("s"), mcap_str_c("raw"), {nullptr, 0}, &sid),
              MCAP_OK);
    ASSERT_EQ(mcap_writer_add_channel(w, sid, mcap_str_c("/t"), mcap_str_c("raw"), nullptr, 0,
                                      &cid),
              MCAP_OK);
    std::mt19937 rng(5);
    uint64_t total = 0;
    for (uint32_t i = 0; total < (48u << 20); i++) {
      size_t n = rng() % 8 == 0 ? (1u << 20) + rng() % (4u << 20) : 1 + rng() % 200000;
      size_t at = rng() % (payload.size() - n);
      mcap_message m{};
      m.channel_id = cid;
      m.sequence = i;
      m.log_time = m.publish_time = 1000 + i;
      m.data = {payload.data() + at, static_cast<uint32_t>(n)};
      ASSERT_EQ(mcap_writer_write_message(w, &m), MCAP_OK);
      total += n;
      if (i % 97 == 0) {
        mcap_attachment a{};
        a.log_time = i;
        a.name = mcap_str_c("att");
        a.media_type = mcap_str_c("application/octet-stream");
        a.data = {payload.data() + at / 2, 300000};
        ASSERT_EQ(mcap_writer_write_attachment(w, &a), MCAP_OK);
      }
    }
    ASSERT_EQ(mcap_writer_close(w), MCAP_OK);
    mcap_writer_free(w);
    ASSERT_EQ(mcap_sink_commit(&sink, &err), MCAP_OK) << err.msg;
    ASSERT_EQ(mcap_sink_close(&sink, &err), MCAP_OK);
  }
  std::ifstream f(path, std::ios::binary);
  Bytes bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  ASSERT_GT(bytes.size(), 40u << 20);
  ReadResult want = read_all_memory(bytes);
  ASSERT_EQ(want.rc, MCAP_ITEROVER) << want.errmsg;
  mcap_source src;
  mcap_error_info err{};
  ASSERT_EQ(mcap_source_open_file(&src, path.c_str(), &err), MCAP_OK);
  ReadResult got = read_all(&src);  // the streamed reader turns read-ahead on
  ASSERT_EQ(got.rc, MCAP_ITEROVER) << got.errmsg;
  EXPECT_EQ(got.position, bytes.size());
  EXPECT_TRUE(got.records == want.records);
}

TEST(FileSource, SlowConsumerParksAndWakesTheCrcHelper) {
  // The data-section CRC helper naps while segments come and sleeps after ~2 ms without
  // one; a caller that pauses between records makes it park and be woken again, and the
  // CRC at DataEnd must still come out right (a lost wake-up would hang here).
  TempDir dir;
  std::string path = dir.file("slow.mcap");
  std::vector<uint8_t> payload = random_bytes(1u << 20, 9);
  {
    mcap_sink sink;
    mcap_error_info err{};
    ASSERT_EQ(mcap_sink_open_file(&sink, path.c_str(), &err), MCAP_OK) << err.msg;
    mcap_writer_options wo;
    mcap_writer_options_init(&wo);
    wo.compression = MCAP_COMPRESSION_NONE;
    wo.chunk_size = 200000;
    mcap_writer *w = nullptr;
    ASSERT_EQ(mcap_writer_open(&w, &sink, &wo), MCAP_OK);
    uint16_t cid = 0;
    ASSERT_EQ(mcap_writer_add_channel(w, 0, mcap_str_c("/t"), mcap_str_c("raw"), nullptr, 0, &cid),
              MCAP_OK);
    for (uint32_t i = 0; i < 40; i++) {
      mcap_message m{};
      m.channel_id = cid;
      m.sequence = i;
      m.log_time = m.publish_time = i;
      m.data = {payload.data() + i * 1000, 90000};
      ASSERT_EQ(mcap_writer_write_message(w, &m), MCAP_OK);
    }
    ASSERT_EQ(mcap_writer_close(w), MCAP_OK);
    mcap_writer_free(w);
    ASSERT_EQ(mcap_sink_commit(&sink, &err), MCAP_OK);
    ASSERT_EQ(mcap_sink_close(&sink, &err), MCAP_OK);
  }
  mcap_source src;
  mcap_error_info err{};
  ASSERT_EQ(mcap_source_open_file(&src, path.c_str(), &err), MCAP_OK);
  mcap_stream_reader *r = nullptr;
  ASSERT_EQ(mcap_stream_reader_new(&r, &src, nullptr), MCAP_OK);
  mcap_record rec;
  int rc, n = 0, messages = 0;
  while ((rc = mcap_stream_reader_next(r, &rec)) == MCAP_OK) {
    if (rec.opcode == MCAP_OP_MESSAGE) messages++;
    if (n++ % 7 == 0) usleep(4000);  // long enough for the helper to park
  }
  EXPECT_EQ(rc, MCAP_ITEROVER) << mcap_stream_reader_errmsg(r);
  EXPECT_EQ(messages, 40);
  mcap_stream_reader_free(r);
}

// A reader that alternates between places (info: a message index here, the summary there,
// each read of a few KiB followed by its neighbour) must not map and fault in a whole 16 MiB
// window per place: a sequential run starts with a small window and grows. Counted in minor
// page faults of this thread (16 MiB windows: > 250 faults each even with fault-around).
TEST(FileSource, AlternatingSmallReadsDoNotFaultInWholeWindows) {
  TempDir dir;
  const size_t size = 48u << 20;
  std::vector<uint8_t> file = random_bytes(size, 4);
  std::string path = dir.file("alternating.bin");
  {
    // in 4 KiB write() calls, as a recorder does: the page cache then holds small folios,
    // where one fault maps little (one large write can leave large folios behind)
    int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ASSERT_GE(fd, 0);
    for (size_t at = 0; at < size; at += 4096)
      ASSERT_EQ(write(fd, file.data() + at, 4096), 4096);
    close(fd);
  }
  mcap_source src;
  mcap_error_info err{};
  ASSERT_EQ(mcap_source_open_file(&src, path.c_str(), &err), MCAP_OK) << err.msg;
  struct rusage before{}, after{};
  ASSERT_EQ(getrusage(RUSAGE_THREAD, &before), 0);
  for (int i = 0; i < 12; i++) {
    uint64_t here = (static_cast<uint64_t>(i) * 3 + 1) << 20;  // 1, 4, 7, ... MiB
    expect_read(&src, file, here, 3000);
    expect_read(&src, file, here + 3000, 4000);  // its neighbour: sequential
    expect_read(&src, file, size - 30000, 20000);  // the summary at the end
    if (::testing::Test::HasFatalFailure()) return;
  }
  ASSERT_EQ(getrusage(RUSAGE_THREAD, &after), 0);
  long faults = after.ru_minflt - before.ru_minflt;
  EXPECT_LT(faults, 1000) << "minor faults for 36 small reads";
  mcap_source_close(&src);
}
