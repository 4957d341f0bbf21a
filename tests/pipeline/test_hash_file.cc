// test_hash_file.cc - pl_hash_file (hash.c), the content hash of a whole file
// read by two threads into a ring of slots and hashed in order: equal to the
// one-shot XXH3-128 of the same bytes for sizes around the block and ring
// boundaries, a known digest for a fixed input, and a missing file reported.
#include <gtest/gtest.h>

#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "tmpdir.h"

extern "C" {
#include "pipeline/core.h"
}

using mcapkit_test::TempDir;

namespace {

std::string hash_of_file(const std::string &path, int *rc) {
  char out[33] = {0};
  pl_error_info err{};
  *rc = pl_hash_file(path.c_str(), out, &err);
  return out;
}

}  // namespace

TEST(HashFile, EqualsOneShotHashAtEverySizeClass) {
  TempDir tmp;
  const size_t mib = 1u << 20;
  std::vector<uint8_t> bytes(21 * mib + 7);
  std::mt19937 rng(11);
  for (auto &b : bytes) b = static_cast<uint8_t>(rng());
  // empty, tiny, one block exactly, around the thread threshold (4 blocks), around the
  // ring (8 slots), and many blocks with a ragged end
  for (size_t n : {size_t{0}, size_t{1}, mib - 1, mib, mib + 1, 4 * mib, 4 * mib + 1, 8 * mib,
                   8 * mib + 3, 9 * mib, 21 * mib + 7}) {
    std::string path = tmp.file("f" + std::to_string(n));
    {
      std::ofstream f(path, std::ios::binary | std::ios::trunc);
      f.write(reinterpret_cast<const char *>(bytes.data()), static_cast<std::streamsize>(n));
    }
    char want[33];
    pl_hash_buffer_hex(bytes.data(), n, want);
    int rc = -1;
    EXPECT_EQ(hash_of_file(path, &rc), std::string(want)) << n;
    EXPECT_EQ(rc, PL_OK) << n;
  }
}

TEST(HashFile, KnownDigestOfEmptyInput) {
  TempDir tmp;
  std::string path = tmp.file("empty");
  { std::ofstream f(path); }
  int rc = -1;
  // XXH3-128 of nothing (as `xxh128sum /dev/null` prints it)
  EXPECT_EQ(hash_of_file(path, &rc), "99aa06d3014798d86001c324468d497f");
  EXPECT_EQ(rc, PL_OK);
}

TEST(HashFile, MissingFileIsAnError) {
  int rc = PL_OK;
  hash_of_file("/nonexistent/dir/file.mcap", &rc);
  EXPECT_NE(rc, PL_OK);
}
