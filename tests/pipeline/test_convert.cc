// test_convert.cc - pl_convert on ROS 1 bags: every chunk compression, indexed and
// walked (unindexed, truncated, damaged) bags, chunks out of time order, the memory
// budget, malformed input, the real bags in ../shared/realworld; and several inputs.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "convert_util.h"
#include "tmpdir.h"

using namespace cvt;
using mcapkit_test::BagOptions;
using mcapkit_test::TempDir;
namespace fs = std::filesystem;

static std::string realworld(const std::string &rel) {
  return std::string(MCAPKIT_SOURCE_DIR) + "/../shared/realworld/" + rel;
}

static void truncate_to(const std::string &path, uint64_t size) {
  ASSERT_EQ(::truncate(path.c_str(), (off_t)size), 0);
}

class ConvertBag : public ::testing::TestWithParam<std::string> {};

TEST_P(ConvertBag, EveryMessageInTimeOrderWithSchemasAndProfileMetadata) {
  TempDir dir;
  BagOptions o;
  o.compression = GetParam();
  o.chunk_size = 4096;  // many chunks
  auto msgs = make_bag(dir.file("in.bag"), o);
  Result r = convert({dir.file("in.bag")}, dir.file("out.mcap"));
  ASSERT_EQ(r.rc, PL_CONVERT_OK) << r.err;
  EXPECT_EQ(r.rep.damaged, 0u) << joined(r.problems);
  EXPECT_EQ(r.indexed, 1);
  EXPECT_EQ(r.rep.messages, msgs.size());
  EXPECT_EQ(r.rep.out_of_order, 0u);
  Mcap m = read_mcap(dir.file("out.mcap"));
  ASSERT_EQ(m.error, "");
  EXPECT_EQ(m.profile, "ros1");
  EXPECT_EQ(m.messages, by_time(msgs));
  // Three connections, two of them on one topic: three channels.
  ASSERT_EQ(m.channels.size(), 3u);
  int seen = 0;
  for (auto &kv : m.channels) {
    const Channel &c = kv.second;
    EXPECT_EQ(c.encoding, "ros1");
    EXPECT_EQ(c.schema_encoding, "ros1msg");
    if (c.topic == "/pose") {
      seen++;
      EXPECT_EQ(c.schema_name, "geometry_msgs/Pose");
      EXPECT_NE(c.schema_data.find("MSG: geometry_msgs/Point\nfloat64 x\n"), std::string::npos);
      EXPECT_EQ(c.metadata.at("callerid"), "/node");
      EXPECT_EQ(c.metadata.at("latching"), "true");
    } else if (c.metadata.count("callerid") && c.metadata.at("callerid") == "/talker") {
      seen++;
      EXPECT_EQ(c.schema_data, "string data\n");
      EXPECT_EQ(c.metadata.at("latching"), "false");
    } else {
      seen++;
      EXPECT_EQ(c.metadata.at("callerid"), "/other");
      EXPECT_EQ(c.metadata.count("latching"), 0u);
    }
  }
  EXPECT_EQ(seen, 3);
}

INSTANTIATE_TEST_SUITE_P(Compressions, ConvertBag, ::testing::Values("none", "bz2", "lz4"));

TEST(ConvertBagChunks, ChunksOutOfTimeOrderAreMerged) {
  TempDir dir;
  BagOptions o;
  o.chunk_size = 1000;
  std::vector<Msg> msgs;
  {
    mcapkit_test::Ros1BagWriter w(dir.file("in.bag"), o);
    w.add_connection({1, "/a", "std_msgs/String", "x", "string data\n", "", ""});
    // Three blocks, written latest first; each spans several chunks.
    for (int block = 2; block >= 0; block--)
      for (int i = 0; i < 50; i++) {
        uint64_t t = 1000000 + (uint64_t)block * 100000 + (uint64_t)i * 100;
        std::string d(40, (char)('a' + block));
        w.write(1, t, d);
        msgs.push_back({"/a", t, t, d});
      }
  }
  Result r = convert({dir.file("in.bag")}, dir.file("out.mcap"));
  ASSERT_EQ(r.rc, PL_CONVERT_OK) << r.err;
  Mcap m = read_mcap(dir.file("out.mcap"));
  EXPECT_EQ(m.messages, by_time(msgs));
  EXPECT_EQ(r.rep.out_of_order, 0u);
}

TEST(ConvertBagChunks, MemoryBudgetGivesWayToOrderNeverToData) {
  TempDir dir;
  BagOptions o;
  o.chunk_size = 500;
  std::vector<Msg> msgs;
  {
    mcapkit_test::Ros1BagWriter w(dir.file("in.bag"), o);
    w.add_connection({1, "/a", "std_msgs/String", "x", "string data\n", "", ""});
    // Every chunk spans the whole time range: all would have to be open at once.
    for (int i = 0; i < 400; i++) {
      uint64_t t = (uint64_t)(i % 20) * 1000000 + (uint64_t)i;
      std::string d(60, 'z');
      w.write(1, t, d);
      msgs.push_back({"/a", t, t, d});
    }
  }
  pl_convert_options opts;
  memset(&opts, 0, sizeof opts);
  opts.memory_budget = 1;  // one chunk at a time
  Result r = convert({dir.file("in.bag")}, dir.file("out.mcap"), &opts);
  ASSERT_EQ(r.rc, PL_CONVERT_OK) << r.err;
  EXPECT_EQ(r.rep.messages, 400u);
  EXPECT_GT(r.rep.out_of_order, 0u);
  Mcap m = read_mcap(dir.file("out.mcap"));
  EXPECT_EQ(by_time(m.messages), by_time(msgs));
  // With the default budget the same bag comes out in order.
  Result r2 = convert({dir.file("in.bag")}, dir.file("out2.mcap"));
  EXPECT_EQ(r2.rep.out_of_order, 0u);
  EXPECT_EQ(read_mcap(dir.file("out2.mcap")).messages, by_time(msgs));
}

// A recording killed before its index was written: chunks are walked, all is kept,
// and the missing index is reported (exit 3 territory).
TEST(ConvertBagDamaged, UnindexedBagIsWalked) {
  for (bool index_data : {true, false}) {
    for (const char *comp : {"none", "bz2", "lz4"}) {
      TempDir dir;
      BagOptions o;
      o.compression = comp;
      o.chunk_size = 3000;
      o.index = false;
      o.index_data = index_data;
      auto msgs = make_bag(dir.file("in.bag"), o, 300);
      Result r = convert({dir.file("in.bag")}, dir.file("out.mcap"));
      ASSERT_EQ(r.rc, PL_CONVERT_OK) << r.err;
      EXPECT_EQ(r.indexed, 0);
      EXPECT_EQ(r.rep.damaged, 1u) << joined(r.problems);
      EXPECT_NE(joined(r.problems).find("no usable index"), std::string::npos);
      EXPECT_EQ(r.rep.messages_lost, 0u);
      Mcap m = read_mcap(dir.file("out.mcap"));
      EXPECT_EQ(m.messages, by_time(msgs)) << comp;
      EXPECT_EQ(m.channels.size(), 3u);
    }
  }
}

TEST(ConvertBagDamaged, TruncatedBagKeepsWhatIsIntact) {
  for (const char *comp : {"none", "bz2", "lz4"}) {
    TempDir dir;
    BagOptions o;
    o.compression = comp;
    o.chunk_size = 3000;
    o.index = false;
    auto msgs = make_bag(dir.file("in.bag"), o, 300);
    uint64_t size = fs::file_size(dir.file("in.bag"));
    // Cut inside the last chunks (and every size down to the bag header).
    for (uint64_t cut : {size - 1, size - 700, size / 2, size / 3, (uint64_t)4200, (uint64_t)4109}) {
      std::string p = dir.file("cut.bag");
      fs::copy_file(dir.file("in.bag"), p, fs::copy_options::overwrite_existing);
      truncate_to(p, cut);
      Result r = convert({p}, dir.file("out.mcap"));
      ASSERT_EQ(r.rc, PL_CONVERT_OK) << comp << " " << cut << ": " << r.err;
      EXPECT_GE(r.rep.damaged, 1u);
      Mcap m = read_mcap(dir.file("out.mcap"));
      ASSERT_EQ(m.error, "");
      // What was converted is exactly a set of input messages, in order.
      // Cut one byte short, only the last index data record is lost.
      if (cut == size - 1) {
        EXPECT_EQ(m.messages.size(), msgs.size());
      } else {
        EXPECT_LT(m.messages.size(), msgs.size());
      }
      for (auto &x : m.messages)
        EXPECT_NE(std::find(msgs.begin(), msgs.end(), x), msgs.end()) << x;
      EXPECT_TRUE(std::is_sorted(m.messages.begin(), m.messages.end(),
                                 [](const Msg &a, const Msg &b) { return a.log_time < b.log_time; }));
      if (cut > size / 2) {
        EXPECT_GT(m.messages.size(), msgs.size() / 3) << comp << " " << cut;
      }
    }
  }
}

// An indexed bag cut short loses its index: the walk takes over.
TEST(ConvertBagDamaged, IndexedBagCutShortIsWalked) {
  TempDir dir;
  BagOptions o;
  o.chunk_size = 3000;
  auto msgs = make_bag(dir.file("in.bag"), o, 300);
  truncate_to(dir.file("in.bag"), fs::file_size(dir.file("in.bag")) - 50);
  Result r = convert({dir.file("in.bag")}, dir.file("out.mcap"));
  ASSERT_EQ(r.rc, PL_CONVERT_OK) << r.err;
  EXPECT_EQ(r.indexed, 0);
  EXPECT_EQ(read_mcap(dir.file("out.mcap")).messages, by_time(msgs));
}

static std::string read_all(const std::string &p) {
  std::ifstream f(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}
static void write_all(const std::string &p, const std::string &d) {
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f.write(d.data(), (std::streamsize)d.size());
}

TEST(ConvertBagDamaged, BadRecordLengthsAreNamedByOffset) {
  using namespace mcapkit_test;
  TempDir dir;
  BagOptions o;
  o.index = false;
  auto msgs = make_bag(dir.file("in.bag"), o, 30);
  std::string bag = read_all(dir.file("in.bag"));
  // The first chunk record starts right after the 4096-byte bag header record.
  size_t chunk = 13 + 4096;
  // 1. a header length past the end of the file
  std::string b1 = bag;
  b1[chunk + 3] = '\x7f';
  write_all(dir.file("b1.bag"), b1);
  Result r1 = convert({dir.file("b1.bag")}, dir.file("o1.mcap"));
  ASSERT_EQ(r1.rc, PL_CONVERT_OK) << r1.err;
  EXPECT_NE(joined(r1.problems).find("record at offset 4109: header length too large"),
            std::string::npos)
      << joined(r1.problems);
  EXPECT_GT(r1.rep.bytes_skipped, 0u);
  // 2. a message record inside the chunk whose data length overruns the chunk
  std::string b2 = bag;
  size_t first_msg = b2.find("op=\x02", chunk);
  ASSERT_NE(first_msg, std::string::npos);
  size_t hl_pos = first_msg - 4 - 4;  // the record starts with its header length
  uint32_t hl;
  memcpy(&hl, &b2[hl_pos], 4);
  b2[hl_pos + 4 + hl + 3] = '\x40';  // data length += 1 GiB
  write_all(dir.file("b2.bag"), b2);
  Result r2 = convert({dir.file("b2.bag")}, dir.file("o2.mcap"));
  ASSERT_EQ(r2.rc, PL_CONVERT_OK) << r2.err;
  EXPECT_NE(joined(r2.problems).find("chunk at offset 4109: record data cut short"),
            std::string::npos)
      << joined(r2.problems);
  // 3. not a bag at all / another version
  write_all(dir.file("b3.bag"), "#ROSBAG V1.2\nxxxxxxxxxxxxxxxxxxxxxxxx");
  Result r3 = convert({dir.file("b3.bag")}, dir.file("o3.mcap"));
  EXPECT_EQ(r3.rc, PL_CONVERT_EUNSUPPORTED);
  EXPECT_NE(r3.err.find("b3.bag': bag format '1.2' is not supported"), std::string::npos) << r3.err;
  write_all(dir.file("b4.bag"), "#ROSBAG V2.0\n\x10\x00\x00\x00op=");
  Result r4 = convert({dir.file("b4.bag")}, dir.file("o4.mcap"));
  EXPECT_EQ(r4.rc, PL_CONVERT_EFORMAT);
  EXPECT_NE(r4.err.find("b4.bag': offset 13: no bag header record"), std::string::npos) << r4.err;
  write_all(dir.file("b5.bag"), "hello");
  Result r5 = convert({dir.file("b5.bag")}, dir.file("o5.mcap"));
  EXPECT_EQ(r5.rc, PL_CONVERT_EFORMAT);
  EXPECT_NE(r5.err.find("b5.bag': not a ROS 1 bag, a rosbag2"), std::string::npos) << r5.err;
}

TEST(ConvertBagDamaged, LyingChunkSizesDoNotAllocate) {
  using namespace mcapkit_test;
  TempDir dir;
  // A bz2 chunk that declares 400 MiB but holds a few bytes; a stored chunk whose
  // declared size is larger than its data.
  std::string bag = "#ROSBAG V2.0\n";
  std::string hdr = bag_field("op", "\x03") + bag_field_u64("index_pos", 0) +
                    bag_field_u32("conn_count", 0) + bag_field_u32("chunk_count", 0);
  bag += bag_record(hdr, std::string(4096 - hdr.size() - 8, ' '));
  bag += bag_record(bag_field("op", "\x05") + bag_field("compression", "bz2") +
                        bag_field_u32("size", 400u << 20),
                    "BZh91AY&SYnonsense");
  bag += bag_record(bag_field("op", "\x05") + bag_field("compression", "none") +
                        bag_field_u32("size", 1u << 30),
                    "short");
  write_all(dir.file("lie.bag"), bag);
  Result r = convert({dir.file("lie.bag")}, dir.file("out.mcap"));
  ASSERT_EQ(r.rc, PL_CONVERT_OK) << r.err;
  EXPECT_GE(r.rep.damaged, 2u) << joined(r.problems);
  EXPECT_EQ(r.rep.messages, 0u);
  EXPECT_NE(joined(r.problems).find("exceeds the limit"), std::string::npos) << joined(r.problems);
}

TEST(ConvertBagReal, RosbagJsFixtures) {
  std::string bz2 = realworld("ros1/example-bz2.bag"), uns = realworld("ros1/unsorted-chunks.bag");
  if (!fs::exists(bz2)) GTEST_SKIP() << "../shared/realworld not present";
  TempDir dir;
  Result r = convert({bz2}, dir.file("a.mcap"));
  ASSERT_EQ(r.rc, PL_CONVERT_OK) << r.err;
  EXPECT_EQ(r.rep.damaged, 0u) << joined(r.problems);
  EXPECT_EQ(r.indexed, 1);
  EXPECT_EQ(r.rep.messages, 8647u);
  EXPECT_EQ(r.rep.n_topics, 9u);
  Mcap m = read_mcap(dir.file("a.mcap"));
  ASSERT_EQ(m.error, "");
  EXPECT_EQ(m.messages.size(), 8647u);
  EXPECT_TRUE(std::is_sorted(m.messages.begin(), m.messages.end(),
                             [](const Msg &a, const Msg &b) { return a.log_time < b.log_time; }));
  for (auto &kv : m.channels) {
    EXPECT_EQ(kv.second.schema_encoding, "ros1msg");
    EXPECT_FALSE(kv.second.schema_data.empty()) << kv.second.topic;
  }
  Result u = convert({uns}, dir.file("u.mcap"));
  ASSERT_EQ(u.rc, PL_CONVERT_OK) << u.err;
  Mcap mu = read_mcap(dir.file("u.mcap"));
  ASSERT_EQ(mu.messages.size(), 3u);
  EXPECT_EQ(mu.messages[0].log_time, 1000000000u);
  EXPECT_EQ(mu.messages[1].log_time, 2000000000u);
  EXPECT_EQ(mu.messages[2].log_time, 3000000000u);
}

TEST(ConvertApi, DetectAndTempFileAndBadArguments) {
  TempDir dir;
  make_bag(dir.file("in.bag"), BagOptions{}, 10);
  pl_convert_kind k;
  EXPECT_EQ(pl_convert_detect(dir.file("in.bag").c_str(), &k, nullptr), PL_CONVERT_OK);
  EXPECT_EQ(k, PL_CONVERT_KIND_ROS1_BAG);
  EXPECT_EQ(pl_convert_detect(dir.path().c_str(), &k, nullptr), PL_CONVERT_OK);
  EXPECT_EQ(k, PL_CONVERT_KIND_UNKNOWN);
  mcap_error_info e;
  EXPECT_EQ(pl_convert_detect(dir.file("nope").c_str(), &k, &e), PL_CONVERT_EIO);
  EXPECT_NE(std::string(e.msg).find("nope"), std::string::npos);

  pl_convert *c = nullptr;
  ASSERT_EQ(pl_convert_new(&c, nullptr), PL_CONVERT_OK);
  const char *in[] = {nullptr};
  in[0] = strdup(dir.file("in.bag").c_str());
  char *tmp = nullptr;
  ASSERT_EQ(pl_convert_to_temp(c, in, 1, dir.path().c_str(), &tmp), PL_CONVERT_OK)
      << pl_convert_errmsg(c);
  ASSERT_NE(tmp, nullptr);
  Mcap m = read_mcap(tmp);
  EXPECT_EQ(m.error, "");
  EXPECT_EQ(m.messages.size(), 10u);
  unlink(tmp);
  free(tmp);
  // An MCAP input is refused, and nothing is left behind.
  Result r = convert({dir.file("in.bag")}, dir.file("x.mcap"));
  ASSERT_EQ(r.rc, PL_CONVERT_OK);
  const char *mc[] = {nullptr};
  std::string xp = dir.file("x.mcap");
  mc[0] = xp.c_str();
  EXPECT_EQ(pl_convert_to_temp(c, mc, 1, dir.path().c_str(), &tmp), PL_CONVERT_EINVAL);
  EXPECT_NE(std::string(pl_convert_errmsg(c)).find("already an MCAP file"), std::string::npos);
  size_t files = 0;
  for (auto &p : fs::directory_iterator(dir.path())) (void)p, files++;
  EXPECT_EQ(files, 2u);  // in.bag and x.mcap only
  free((void *)in[0]);
  pl_convert_free(c);
  pl_convert_free(nullptr);
}
