// bombs.h - decompression bombs for the memory tests: small MCAP files (tens to
// hundreds of KB on disk) whose zstd chunks decompress to gigabytes. The chunk's
// records are written as one zstd frame of RLE and raw blocks while they are generated,
// so building a 4 GiB chunk needs little memory and well under a second.
#pragma once

#include <cstdint>
#include <string>

namespace mcapkit_test {

struct BombSpec {
  enum Content {
    kOneMessage,    // a Channel record and one Message whose payload is `payload` zero bytes
    kManyMessages,  // a Channel record and Messages of `payload` zero bytes, `count` of them
    kZeros,         // `payload` zero bytes (invalid records: opcode 0)
  };
  Content content = kOneMessage;
  uint64_t payload = 0;
  uint64_t count = 1;
  std::string topic = "/bomb";
  // A summary (chunk index, message indexes, statistics) as libmcap's writer makes it;
  // without it readers must walk the data section.
  bool summary = true;
  // The chunk's uncompressed_size field; 0 = the real decompressed size.
  uint64_t declared_size = 0;
};

// Write the bomb to `path`; returns the file's size. Throws std::runtime_error.
uint64_t write_bomb(const std::string &path, const BombSpec &spec);

// The peak resident set size (VmHWM) of process `pid` in KiB, 0 if unknown.
long peak_rss_kib(int pid);
// The current resident set size (VmRSS) of process `pid` in KiB, 0 if unknown.
long current_rss_kib(int pid);

}  // namespace mcapkit_test
