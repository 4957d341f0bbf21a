// test_server_bombs.cc - uploads that declare more than they hold (issue #15 items 1
// and 2): a ~36 KB file whose zstd chunk holds one 1 GiB Message of zeros, and a small
// file whose only chunk declares exactly 4 GiB. Both are built here (bombs.h), small
// on disk; the server runs in this process, so the process's peak RSS (VmHWM) is the
// server's plus the test's.
#include <gtest/gtest.h>

#include <unistd.h>

#include <chrono>
#include <string>

#include "bombs.h"
#include "test_server_util.h"

namespace mcapkit_test {
namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

constexpr long kPeakLimitKib = 256 << 10;  // far below the 1-4 GiB the files declare

TEST(ServerBombs, AOneGibMessageIsRefusedAtImportNamingTopicAndOffset) {
  TempDir dir;
  BombSpec spec;
  spec.payload = uint64_t(1) << 30;
  spec.topic = "/camera/bomb";
  std::string path = dir.file("bomb.mcap");
  uint64_t size = write_bomb(path, spec);
  EXPECT_LT(size, 64u << 10);
  TestServer s(dir.file("data"));
  ASSERT_TRUE(s.ok());
  auto t0 = Clock::now();
  std::string rid =
      upload(s, "{\"filename\": \"bomb.mcap\", \"deviceName\": \"d\"}", read_file_or_throw(path));
  ASSERT_FALSE(rid.empty());
  ASSERT_TRUE(s.wait_imports());
  Json imp = pending_import(s, rid);
  EXPECT_EQ(imp["status"].str(), "error");
  std::string err = imp["error"].str();
  EXPECT_NE(err.find("'/camera/bomb'"), std::string::npos) << err;
  EXPECT_NE(err.find("1073741824 bytes"), std::string::npos) << err;
  EXPECT_NE(err.find("chunk at offset"), std::string::npos) << err;
  EXPECT_NE(err.find("--max-message-size"), std::string::npos) << err;
  EXPECT_LT(since(t0), 20);
  long peak = peak_rss_kib(getpid());
  std::printf("1 GiB message bomb (%llu bytes): refused in %.2f s, peak RSS %ld KiB\n",
              static_cast<unsigned long long>(size), since(t0), peak);
  EXPECT_LT(peak, kPeakLimitKib);
  EXPECT_EQ(parse_json(s.get("/v1/recordings")).size(), 0u);
}

TEST(ServerBombs, AChunkDeclaredAtFourGibIsRefusedAtOnceAndDoesNotStallTheQueue) {
  TempDir dir;
  BombSpec spec;
  spec.content = BombSpec::kZeros;  // exactly 4 GiB of zeros, declared as such
  spec.payload = uint64_t(4) << 30;
  spec.summary = false;
  std::string path = dir.file("bomb.mcap");
  uint64_t size = write_bomb(path, spec);
  EXPECT_LT(size, 256u << 10);
  std::string good = dir.file("good.mcap");
  write_synth(good, 7, 2);
  TestServer s(dir.file("data"));
  ASSERT_TRUE(s.ok());
  auto t0 = Clock::now();
  std::string bad =
      upload(s, "{\"filename\": \"bomb.mcap\", \"deviceName\": \"d\"}", read_file_or_throw(path));
  std::string ok =
      upload(s, "{\"filename\": \"good.mcap\", \"deviceName\": \"d\"}", read_file_or_throw(good));
  ASSERT_TRUE(s.wait_imports());
  double took = since(t0);
  Json b = pending_import(s, bad);
  EXPECT_EQ(b["status"].str(), "error");
  EXPECT_NE(b["error"].str().find("declares 4294967296 bytes"), std::string::npos)
      << b["error"].str();
  Json g = pending_import(s, ok);
  EXPECT_EQ(g["status"].str(), "complete") << g["error"].str();
  EXPECT_LT(took, 20) << "the upload behind the bomb waits for it";
  long peak = peak_rss_kib(getpid());
  std::printf(
      "4 GiB chunk bomb (%llu bytes): refused, both imports done in %.2f s, peak RSS "
      "%ld KiB\n",
      static_cast<unsigned long long>(size), took, peak);
  EXPECT_LT(peak, kPeakLimitKib);
}

TEST(ServerBombs, TheLimitIsConfigurableAndMessagesUnderItImport) {
  TempDir dir;
  BombSpec spec;
  spec.content = BombSpec::kManyMessages;
  spec.payload = 3 << 20;
  spec.count = 2;
  spec.topic = "/big";
  std::string path = dir.file("big.mcap");
  write_bomb(path, spec);
  {
    TestServer s(dir.file("data1"), [](pl_server_options &o) { o.max_message_size = 2 << 20; });
    ASSERT_TRUE(s.ok());
    std::string rid =
        upload(s, "{\"filename\": \"big.mcap\", \"deviceName\": \"d\"}", read_file_or_throw(path));
    ASSERT_TRUE(s.wait_imports());
    Json imp = pending_import(s, rid);
    EXPECT_EQ(imp["status"].str(), "error");
    EXPECT_NE(imp["error"].str().find("'/big'"), std::string::npos) << imp["error"].str();
    EXPECT_NE(imp["error"].str().find("3145728 bytes"), std::string::npos) << imp["error"].str();
  }
  {
    // 6 MiB in one chunk: above the limit, but every message is under it
    TestServer s(dir.file("data2"), [](pl_server_options &o) { o.max_message_size = 4 << 20; });
    ASSERT_TRUE(s.ok());
    std::string rid =
        upload(s, "{\"filename\": \"big.mcap\", \"deviceName\": \"d\"}", read_file_or_throw(path));
    ASSERT_TRUE(s.wait_imports());
    Json imp = pending_import(s, rid);
    EXPECT_EQ(imp["status"].str(), "complete") << imp["error"].str();
  }
}

}  // namespace
}  // namespace mcapkit_test
