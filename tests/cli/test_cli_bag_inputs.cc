// test_cli_bag_inputs.cc - ROS bags given to the commands that read MCAP: doctor, index
// and lake convert a ROS 1 bag or a rosbag2 database to a temporary MCAP first and read
// that; upload refuses a bag unless --convert is given, and then uploads it under the
// bag's name (run1.bag -> run1.mcap). Nothing is left in $TMPDIR; losses met while
// converting make the command exit 3.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <string>
#include <vector>

#include "fake_http.h"
#include "ros_writers.h"
#include "run.h"
#include "tmpdir.h"

using namespace mcapkit_test;
namespace fs = std::filesystem;

namespace {

const std::string kKey = "fox_sk_cli_bag_inputs_7a7a7a7a";

// A bag of two topics, `n` messages.
void bag(const std::string &path, int n, BagOptions o = {}) {
  Ros1BagWriter w(path, o);
  w.add_connection({1, "/a", "std_msgs/String", "x", "string data\n", "/n1", "1"});
  w.add_connection({2, "/b", "std_msgs/Int32", "y", "int32 data\n", "/n2", "0"});
  for (int i = 0; i < n; i++)
    w.write(1 + (uint32_t)(i % 2), 1700000000000000000ull + (uint64_t)i * 10000000,
            std::string(20 + (size_t)i % 50, (char)('a' + i % 26)));
  w.close();
}

// mcapkit ARGS with TMPDIR set to `tmpdir`.
RunResult run_with_tmp(const std::string &tmpdir, const std::vector<std::string> &args) {
  std::vector<std::string> argv = {"/usr/bin/env", "TMPDIR=" + tmpdir,
                                   mcapkit_path()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_program(argv);
}

bool empty_dir(const std::string &d) { return fs::is_empty(d); }

}  // namespace

TEST(CliBagInputs, DoctorIndexAndLakeReadABag) {
  TempDir tmp;
  std::string b = tmp.file("run1.bag"), scratch = tmp.file("scratch");
  bag(b, 200);
  ASSERT_EQ(mkdir(scratch.c_str(), 0700), 0);

  RunResult d = run_with_tmp(scratch, {"doctor", b});
  EXPECT_EQ(d.exit_code, 0) << d.out << d.err;
  EXPECT_NE(d.out.find("run1.bag"), std::string::npos) << "the bag is named\n" << d.out;
  EXPECT_TRUE(empty_dir(scratch)) << "temporary files left behind";

  RunResult ix = run_with_tmp(scratch, {"index", "--json", b});
  ASSERT_EQ(ix.exit_code, 0) << ix.err;
  EXPECT_NE(ix.out.find("\"/a\""), std::string::npos) << ix.out;
  EXPECT_NE(ix.out.find("\"/b\""), std::string::npos) << ix.out;
  EXPECT_TRUE(empty_dir(scratch));

  std::string lake = tmp.file("lake");
  RunResult lk = run_with_tmp(scratch, {"lake", "--lake", lake, b});
  EXPECT_EQ(lk.exit_code, 0) << lk.out << lk.err;
  size_t files = 0;
  std::string listing;
  for (const auto &e : fs::recursive_directory_iterator(lake))
    if (e.is_regular_file() && e.path().extension() == ".mcap" &&
        e.path().filename().string()[0] != '_') {  // _recording.mcap: the recording's own
      files++;
      listing += e.path().string() + "\n";
    }
  EXPECT_EQ(files, 2u) << "one lake file per topic\n" << listing;
  EXPECT_TRUE(empty_dir(scratch));

  // The input is only read.
  std::string before = read_file_or_throw(b);
  RunResult again = run_with_tmp(scratch, {"doctor", b});
  EXPECT_EQ(again.exit_code, 0);
  EXPECT_EQ(read_file_or_throw(b), before);
}

TEST(CliBagInputs, ARosbag2DatabaseIsReadToo) {
  TempDir tmp;
  std::string db = tmp.file("run2.db3"), scratch = tmp.file("scratch");
  ASSERT_EQ(mkdir(scratch.c_str(), 0700), 0);
  {
    Db3Writer w(db);
    int64_t t = w.add_topic("/c", "std_msgs/msg/String");
    for (int i = 0; i < 20; i++)
      w.write(t, 1700000000000000000ull + (uint64_t)i * 1000, std::string(8, 'c'));
    w.close();
  }
  RunResult d = run_with_tmp(scratch, {"doctor", db});
  EXPECT_EQ(d.exit_code, 0) << d.out << d.err;
  EXPECT_NE(d.out.find("run2.db3"), std::string::npos) << d.out;
  EXPECT_TRUE(empty_dir(scratch));
}

TEST(CliBagInputs, LossesInTheConversionExitThree) {
  TempDir tmp;
  std::string whole = tmp.file("whole.bag"), cut = tmp.file("cut.bag"), scratch = tmp.file("s");
  ASSERT_EQ(mkdir(scratch.c_str(), 0700), 0);
  BagOptions o;
  o.chunk_size = 4096;
  o.index = false;  // a killed recording: no index, chunks walked
  bag(whole, 400, o);
  std::string bytes = read_file_or_throw(whole);
  write_file_or_throw(cut, bytes.substr(0, bytes.size() * 2 / 3));
  RunResult d = run_with_tmp(scratch, {"doctor", cut});
  EXPECT_EQ(d.exit_code, 3) << d.out << d.err;
  EXPECT_NE(d.err.find("cut.bag"), std::string::npos) << d.err;
  EXPECT_TRUE(empty_dir(scratch));
}

TEST(CliBagInputs, UploadNeedsConvertAndUsesTheBagsName) {
  TempDir tmp;
  ServeProcess serve(tmp.file("data"), {}, kKey);
  ASSERT_TRUE(serve.ok()) << serve.log();
  std::string key_file = tmp.file("api.key");
  write_file_or_throw(key_file, kKey + "\n");
  chmod(key_file.c_str(), 0600);
  std::string b = tmp.file("run3.bag"), scratch = tmp.file("scratch");
  ASSERT_EQ(mkdir(scratch.c_str(), 0700), 0);
  bag(b, 100);
  std::vector<std::string> api = {"--api-url", serve.url(), "--api-key-file", key_file,
                                  "--no-journal"};

  std::vector<std::string> args = {"upload", b, "--device-name", "robot-1"};
  args.insert(args.end(), api.begin(), api.end());
  RunResult refused = run_with_tmp(scratch, args);
  EXPECT_EQ(refused.exit_code, 1) << refused.err;
  EXPECT_NE(refused.err.find("--convert"), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("run3.bag"), std::string::npos) << refused.err;

  args.push_back("--convert");
  args.push_back("--json");
  RunResult up = run_with_tmp(scratch, args);
  ASSERT_EQ(up.exit_code, 0) << up.out << up.err;
  EXPECT_EQ(Json::parse(up.out)["files"][0]["status"].str(), "done") << up.out;
  EXPECT_TRUE(empty_dir(scratch));

  std::vector<std::string> rargs = {"remote", "recordings", "--json"};
  rargs.insert(rargs.end(), api.begin(), api.end() - 1);
  RunResult recs = run_mcapkit(rargs);
  ASSERT_EQ(recs.exit_code, 0) << recs.err;
  EXPECT_NE(recs.out.find("run3.mcap"), std::string::npos) << recs.out;
}
