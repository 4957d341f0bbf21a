// test_cli_convert.cc - 'mcapkit convert' from the command line: bags and rosbag2
// databases of the test writers (and the real ones) converted, checked by 'mcapkit
// doctor' and read back by 'mcapkit cat'; exit codes 0 / 3 / 1 / 2, the --json
// report, standard output, nothing left behind on failure, and the peak RSS of a
// large bag staying far below its size.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "ros_writers.h"
#include "run.h"
#include "tmpdir.h"

using mcapkit_test::BagOptions;
using mcapkit_test::Json;
using mcapkit_test::Ros1BagWriter;
using mcapkit_test::RosConnection;
using mcapkit_test::run_mcapkit;
using mcapkit_test::RunResult;
using mcapkit_test::TempDir;
namespace fs = std::filesystem;

namespace {

// A bag of two topics, `n` messages, 20 bytes + i each.
void bag(const std::string &path, BagOptions o, int n) {
  Ros1BagWriter w(path, o);
  w.add_connection({1, "/a", "std_msgs/String", "x", "string data\n", "/n1", "1"});
  w.add_connection({2, "/b", "std_msgs/Int32", "y", "int32 data\n", "/n2", "0"});
  for (int i = 0; i < n; i++)
    w.write(1 + (uint32_t)(i % 2), 1000000000ull + (uint64_t)i * 1000,
            std::string(20 + (size_t)i % 100, (char)('a' + i % 26)));
}

std::vector<std::string> lines(const std::string &s) {
  std::vector<std::string> out;
  size_t p = 0;
  while (p < s.size()) {
    size_t e = s.find('\n', p);
    if (e == std::string::npos) e = s.size();
    out.push_back(s.substr(p, e - p));
    p = e + 1;
  }
  return out;
}

// Run `gen` in a child process: the peak RSS Linux hands on to the programs this test
// starts is then not that of the generation (ASan's quarantine keeps freed memory).
template <typename F>
int in_child(F gen) {
  fflush(nullptr);
  pid_t pid = fork();
  if (pid == 0) _exit(gen() == 0 ? 0 : 1);
  int st = 0;
  if (pid < 0 || waitpid(pid, &st, 0) != pid) return -1;
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

}  // namespace

TEST(CliConvert, BagToMcapPassesDoctorAndReadsBack) {
  TempDir dir;
  for (const char *comp : {"none", "bz2", "lz4"}) {
    BagOptions o;
    o.compression = comp;
    o.chunk_size = 2048;
    std::string in = dir.file(std::string("in-") + comp + ".bag"), out = dir.file("out.mcap");
    bag(in, o, 500);
    RunResult r = run_mcapkit({"convert", in, "-o", out});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("wrote '" + out + "': 500 messages on 2 topics"), std::string::npos)
        << r.out;
    RunResult d = run_mcapkit({"doctor", out});
    EXPECT_EQ(d.exit_code, 0) << d.out << d.err;
    RunResult cat = run_mcapkit({"cat", out, "--format", "ndjson"});
    ASSERT_EQ(cat.exit_code, 0) << cat.err;
    auto ls = lines(cat.out);
    ASSERT_EQ(ls.size(), 500u);
    Json first = Json::parse(ls[0]), last = Json::parse(ls[499]);
    EXPECT_EQ(first["topic"].str(), "/a");
    EXPECT_EQ(first["log_time"].str(), "1000000000");
    EXPECT_EQ(first["publish_time"].str(), "1000000000");
    EXPECT_EQ(last["topic"].str(), "/b");
    EXPECT_EQ(last["log_time"].str(), "1000499000");
  }
}

TEST(CliConvert, JsonReport) {
  TempDir dir;
  bag(dir.file("in.bag"), BagOptions{}, 10);
  RunResult r = run_mcapkit({"convert", dir.file("in.bag"), "-o", dir.file("o.mcap"), "--json",
                             "--compression", "lz4", "--chunk-size", "64K", "-j", "1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Json j = Json::parse(r.out);
  EXPECT_EQ(j["format_version"].u64(), 1u);
  EXPECT_EQ(j["message_count"].u64(), 10u);
  EXPECT_EQ(j["inputs"][0]["kind"].str(), "ros1-bag");
  EXPECT_TRUE(j["inputs"][0]["indexed"].boolean());
  ASSERT_EQ(j["topics"].size(), 2u);
  EXPECT_EQ(j["topics"][0]["topic"].str(), "/a");
  EXPECT_EQ(j["topics"][0]["message_count"].u64(), 5u);
  EXPECT_EQ(j["topics"][0]["schema"].str(), "found");
  EXPECT_EQ(j["topics"][0]["schema_source"].str(), "connection");
  EXPECT_TRUE(j["lost"]["complete"].boolean());
  EXPECT_EQ(j["lost"]["message_count"].u64(), 0u);
  EXPECT_EQ(j["problems"].size(), 0u);
  EXPECT_EQ(j["start_time_ns"].str(), "1000000000");
  RunResult chunks = run_mcapkit({"list", "chunks", dir.file("o.mcap")});
  EXPECT_NE(chunks.out.find("lz4"), std::string::npos) << chunks.out;
}

TEST(CliConvert, KilledRecordingExits3WithTheLoss) {
  TempDir dir;
  BagOptions o;
  o.index = false;
  o.chunk_size = 1500;
  o.compression = "bz2";
  bag(dir.file("in.bag"), o, 300);
  fs::resize_file(dir.file("in.bag"), fs::file_size(dir.file("in.bag")) - 300);
  RunResult r = run_mcapkit({"convert", dir.file("in.bag"), "-o", dir.file("o.mcap"), "--json"});
  ASSERT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.err.find("no usable index"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("in.bag': offset "), std::string::npos) << r.err;
  Json j = Json::parse(r.out);
  EXPECT_FALSE(j["lost"]["complete"].boolean());
  EXPECT_FALSE(j["inputs"][0]["indexed"].boolean());
  EXPECT_GT(j["message_count"].u64(), 200u);
  EXPECT_LT(j["message_count"].u64(), 300u);
  EXPECT_GE(j["problems"].size(), 2u);
  EXPECT_EQ(j["problems"][0]["severity"].str(), "loss");
  RunResult d = run_mcapkit({"doctor", dir.file("o.mcap")});
  EXPECT_EQ(d.exit_code, 0) << d.out;
}

TEST(CliConvert, Db3FolderAndMsgPath) {
  TempDir dir;
  std::string b = dir.file("bag");
  fs::create_directories(b);
  {
    mcapkit_test::Db3Options o;
    o.message_definitions = false;
    mcapkit_test::Db3Writer w(b + "/bag_0.db3", o);
    int64_t t = w.add_topic("/s", "std_msgs/msg/String");
    for (int i = 0; i < 5; i++) w.write(t, 100 + (uint64_t)i, "\x00\x01\x00\x00x");
  }
  mcapkit_test::write_metadata_yaml(b, {"bag_0.db3"}, {}, 5);
  RunResult r = run_mcapkit({"convert", b, "-o", dir.file("o.mcap")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("warning: "), std::string::npos);
  EXPECT_NE(r.err.find("type 'std_msgs/msg/String' (topic '/s'): no message definition found"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.out.find("missing (ros2msg)"), std::string::npos) << r.out;
  fs::create_directories(dir.file("share/std_msgs/msg"));
  mcapkit_test::write_file_or_throw(dir.file("share/std_msgs/msg/String.msg"), "string data\n");
  RunResult r2 = run_mcapkit({"convert", b, "-o", dir.file("o2.mcap"), "--msg-path",
                              dir.file("share"), "--json"});
  ASSERT_EQ(r2.exit_code, 0) << r2.err;
  Json j = Json::parse(r2.out);
  EXPECT_EQ(j["topics"][0]["schema_source"].str(), "msg_path");
  EXPECT_EQ(j["metadata_count"].u64(), 1u);
  EXPECT_EQ(run_mcapkit({"doctor", dir.file("o2.mcap")}).exit_code, 0);
}

TEST(CliConvert, RealRecordingsPassDoctor) {
  std::string rw = std::string(MCAPKIT_SOURCE_DIR) + "/../shared/realworld";
  if (!fs::exists(rw)) GTEST_SKIP() << "../shared/realworld not present";
  TempDir dir;
  for (std::string in : {rw + "/ros1/example-bz2.bag", rw + "/ros1/unsorted-chunks.bag",
                         rw + "/db3/talker", rw + "/db3/multiple_files"}) {
    RunResult r = run_mcapkit({"convert", in, "-o", dir.file("o.mcap")});
    EXPECT_EQ(r.exit_code, 0) << in << ": " << r.err;
    RunResult d = run_mcapkit({"doctor", dir.file("o.mcap")});
    EXPECT_EQ(d.exit_code, 0) << in << ": " << d.out;
  }
}

TEST(CliConvert, UsageAndFailuresLeaveNothingBehind) {
  TempDir dir;
  bag(dir.file("in.bag"), BagOptions{}, 5);
  EXPECT_EQ(run_mcapkit({"convert", dir.file("in.bag")}).exit_code, 2);  // no -o
  EXPECT_EQ(run_mcapkit({"convert", "-o", dir.file("x.mcap")}).exit_code, 2);  // no input
  EXPECT_EQ(run_mcapkit({"convert", dir.file("in.bag"), "-o", dir.file("x.mcap"), "-c", "rar"})
                .exit_code,
            2);
  EXPECT_EQ(run_mcapkit({"convert", dir.file("in.bag"), "-o", "-", "--json"}).exit_code, 2);
  // Writing over the input is refused.
  EXPECT_EQ(run_mcapkit({"convert", dir.file("in.bag"), "-o", dir.file("in.bag")}).exit_code, 2);
  RunResult nf = run_mcapkit({"convert", dir.file("nope.bag"), "-o", dir.file("x.mcap")});
  EXPECT_EQ(nf.exit_code, 1);
  EXPECT_NE(nf.err.find("nope.bag"), std::string::npos);
  mcapkit_test::write_file_or_throw(dir.file("junk.bag"), "#ROSBAG V2.0\nnot a record");
  RunResult bad = run_mcapkit({"convert", dir.file("junk.bag"), "-o", dir.file("x.mcap")});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("junk.bag': offset 13: no bag header record"), std::string::npos)
      << bad.err;
  // An MCAP input: nothing to convert.
  ASSERT_EQ(run_mcapkit({"convert", dir.file("in.bag"), "-o", dir.file("ok.mcap")}).exit_code, 0);
  RunResult m = run_mcapkit({"convert", dir.file("ok.mcap"), "-o", dir.file("x.mcap")});
  EXPECT_EQ(m.exit_code, 1);
  EXPECT_NE(m.err.find("already an MCAP file"), std::string::npos);
  EXPECT_FALSE(fs::exists(dir.file("x.mcap")));
  size_t n = 0;
  for (auto &e : fs::directory_iterator(dir.path())) (void)e, n++;
  EXPECT_EQ(n, 3u);  // in.bag, junk.bag, ok.mcap: no temporary file left
  RunResult h = run_mcapkit({"help", "convert"});
  EXPECT_EQ(h.exit_code, 0);
  EXPECT_NE(h.out.find("--msg-path"), std::string::npos);
}

TEST(CliConvert, StandardOutput) {
  TempDir dir;
  bag(dir.file("in.bag"), BagOptions{}, 50);
  RunResult r = run_mcapkit({"convert", dir.file("in.bag"), "-o", "-"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_GT(r.out.size(), 8u);
  EXPECT_EQ(r.out.substr(0, 8), std::string("\x89MCAP0\r\n", 8));
  mcapkit_test::write_file_or_throw(dir.file("o.mcap"), r.out);
  EXPECT_EQ(run_mcapkit({"doctor", dir.file("o.mcap")}).exit_code, 0);
}

// Streaming: converting a 300 MB bag (128 MB database) holds a chunk or two, not the file.
TEST(CliConvert, PeakMemoryStaysFarBelowTheBagSize) {
  TempDir dir;
  std::string big = dir.file("big.bag"), db3 = dir.file("big.db3");
  uint64_t counts[2] = {0, 0};
  std::string count_file = dir.file("counts");
  ASSERT_EQ(in_child([&] {
              int rc = mcapkit_gen_ros1_bag(big.c_str(), "none", 300ull << 20, &counts[0]) |
                       mcapkit_gen_ros2_db3(db3.c_str(), 128ull << 20, &counts[1]);
              FILE *f = fopen(count_file.c_str(), "wb");
              if (!f || fwrite(counts, sizeof counts, 1, f) != 1) rc = -1;
              if (f) fclose(f);
              return rc;
            }),
            0);
  std::string cs = mcapkit_test::read_file_or_throw(count_file);
  ASSERT_EQ(cs.size(), sizeof counts);
  memcpy(counts, cs.data(), sizeof counts);
  uint64_t messages = counts[0];
  RunResult r = run_mcapkit({"convert", dir.file("big.bag"), "-o", dir.file("o.mcap"), "-c",
                             "lz4", "-j", "2", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Json::parse(r.out)["message_count"].u64(), messages);
  EXPECT_LT(r.max_rss_kib, 96 * 1024) << "convert peak RSS";
  fs::remove(dir.file("big.bag"));
  messages = counts[1];
  RunResult d = run_mcapkit({"convert", dir.file("big.db3"), "-o", dir.file("o2.mcap"), "-c",
                             "lz4", "-j", "2", "--json"});
  ASSERT_EQ(d.exit_code, 0) << d.err;
  EXPECT_EQ(Json::parse(d.out)["message_count"].u64(), messages);
  EXPECT_LT(d.max_rss_kib, 96 * 1024) << "convert (db3) peak RSS";
}

// A bag split into many files: each database is closed once read, so the SQLite page
// caches of the files already converted do not pile up (128 MiB: the bound a 10 GB bag
// must convert in).
TEST(CliConvert, SplitBagOfManyFilesStaysSmall) {
  TempDir dir;
  std::string b = dir.file("split");
  fs::create_directories(b);
  const int files = 100, per_file = 30;
  ASSERT_EQ(in_child([&] {
              std::string payload(100000, '\0');
              for (int f = 0; f < files; f++) {
                mcapkit_test::Db3Writer w(b + "/split_" + std::to_string(f) + ".db3");
                int64_t t = w.add_topic("/cam", "sensor_msgs/msg/Image");
                for (int i = 0; i < per_file; i++) {
                  payload[(size_t)i] = (char)f;
                  w.write(t, 1000000000ull * (uint64_t)(f * per_file + i), payload);
                }
              }
              return 0;
            }),
            0);
  // Under ASan, memory SQLite frees when a database closes would otherwise sit in the
  // sanitizer's quarantine (256 MiB) and count as the converter's: keep that small.
  const char *asan = getenv("ASAN_OPTIONS");
  std::string saved = asan ? asan : "";
  setenv("ASAN_OPTIONS", (saved.empty() ? "" : saved + ":").append("quarantine_size_mb=8").c_str(),
         1);
  RunResult r = run_mcapkit({"convert", b, "-o", dir.file("o.mcap"), "-c", "none", "--json"});
  if (asan) setenv("ASAN_OPTIONS", saved.c_str(), 1);
  else unsetenv("ASAN_OPTIONS");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Json j = Json::parse(r.out);
  EXPECT_EQ(j["message_count"].u64(), (uint64_t)files * per_file);
  EXPECT_EQ(j["inputs"][0]["database_count"].u64(), (uint64_t)files);
  // Release: ~46 MiB (ASan ~108 MiB); with every database kept open it was ~2.3 MiB a file.
  EXPECT_LT(r.max_rss_kib, 128 * 1024) << "convert peak RSS, " << files << " files";
}

// A problem tied to a SQLite row is named by its row, as the commands that convert bags on
// the fly (doctor, index, lake, upload) name it: one printer for both (bag_input.c).
TEST(CliConvert, ProblemsNameTheRow) {
  TempDir dir;
  std::string db = dir.file("orphan.db3");
  {
    mcapkit_test::Db3Writer w(db);
    int64_t t = w.add_topic("/s", "std_msgs/msg/String");
    for (int i = 0; i < 3; i++) w.write(t, 100 + (uint64_t)i, std::string("\x00\x01\x00\x00x", 5));
    w.write(42, 200, "orphan");  // a topic_id the topics table does not have
  }
  RunResult r = run_mcapkit({"convert", db, "-o", dir.file("o.mcap")});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.err.find("orphan.db3': row 4: "), std::string::npos) << r.err;
}
