// test_cli_writer_layouts.cc - recordings with the layouts widespread writers
// produce (tests/support/writer_layouts.h: rosbag2's topics defined in the
// summary only, a first message at log time 0) and the real rosbag2
// recordings of ../shared/realworld (read in place) go through the whole
// product: doctor (warnings, exit 0; --strict exit 3), check, index (no
// error), lake and lake verify, and upload to a local site ('mcapkit serve' on
// loopback) whose import takes them and whose reconcile finds no difference
// (upload --strict refuses them, as doctor --strict fails them).
#include <dirent.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <string>
#include <vector>

#include "fake_http.h"
#include "run.h"
#include "tmpdir.h"
#include "writer_layouts.h"

using namespace mcapkit_test;

namespace {

const std::string kKey = "fox_sk_cli_layouts_key_7a7a7a7a";

struct Case {
  std::string path;
  bool has_warnings;
};

std::vector<Case> layout_files(TempDir &tmp) {
  std::vector<Case> v;
  auto add = [&](const std::string &name, const Bytes &b) {
    std::string p = tmp.file(name);
    write_file_or_throw(p, std::string(b.begin(), b.end()));
    v.push_back({p, true});
  };
  add("rosbag2.mcap", rosbag2_summary_only_file());
  add("rosbag2_zstd.mcap", rosbag2_summary_only_file("zstd"));
  add("rosbag2_noidx.mcap", rosbag2_summary_only_file("lz4", false));
  add("zero.mcap", log_time_zero_file());
  std::string dir = MCAPKIT_SOURCE_DIR "/../shared/realworld/mcap";
  if (DIR *d = opendir(dir.c_str())) {
    closedir(d);
    v.push_back({dir + "/only_topics.mcap", true});
    v.push_back({dir + "/convert_a.mcap", true});
    v.push_back({dir + "/talker.mcap", false});
  }
  return v;
}

}  // namespace

TEST(CliWriterLayouts, DoctorCheckIndexAndLakeTakeThem) {
  TempDir tmp;
  std::string lake = tmp.file("lake");
  for (const Case &c : layout_files(tmp)) {
    SCOPED_TRACE(c.path);
    RunResult d = run_mcapkit({"doctor", c.path});
    EXPECT_EQ(d.exit_code, 0) << d.out << d.err;
    EXPECT_EQ(d.out.find("error "), std::string::npos) << d.out;
    RunResult strict = run_mcapkit({"doctor", "--strict", c.path});
    EXPECT_EQ(strict.exit_code, c.has_warnings ? 3 : 0) << strict.out;
    RunResult chk = run_mcapkit({"check", c.path});
    EXPECT_EQ(chk.exit_code, 0) << chk.out << chk.err;

    for (const char *mode : {"--doctor", "--no-doctor"}) {
      RunResult ix = run_mcapkit({"index", "--json", mode, c.path});
      EXPECT_EQ(ix.exit_code, 0) << mode << ix.out << ix.err;
      Json j = Json::parse(ix.out);
      for (size_t i = 0; i < j["problems"].size(); i++)
        EXPECT_NE(j["problems"][i]["severity"].str(), "error") << ix.out;
      EXPECT_FALSE(j["recording"]["partial"].boolean());
    }

    RunResult lk = run_mcapkit({"lake", "--lake", lake, c.path});
    EXPECT_EQ(lk.exit_code, 0) << lk.out << lk.err;
    RunResult v = run_mcapkit({"lake", "verify", "--lake", lake, c.path});
    EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
  }
}

TEST(CliWriterLayouts, UploadAndTheLocalSiteImportTakeThem) {
  TempDir tmp;
  ServeProcess serve(tmp.file("data"), {}, kKey);
  ASSERT_TRUE(serve.ok()) << serve.log();
  std::string key_file = tmp.file("api.key");
  write_file_or_throw(key_file, kKey + "\n");
  chmod(key_file.c_str(), 0600);

  std::vector<Case> files = layout_files(tmp);
  std::vector<std::string> args{"upload", "--device-name", "rosbot", "--no-journal", "--json"};
  for (const Case &c : files) args.push_back(c.path);
  args.insert(args.end(), {"--api-url", serve.url(), "--api-key-file", key_file});
  RunResult up = run_mcapkit(args);
  ASSERT_EQ(up.exit_code, 0) << up.out << up.err << serve.log();
  Json uj = Json::parse(up.out);
  ASSERT_EQ(uj["files"].size(), files.size());
  for (size_t i = 0; i < files.size(); i++) {
    const Json &f = uj["files"][i];
    SCOPED_TRACE(f["path"].str());
    EXPECT_EQ(f["status"].str(), "done") << up.out;
    EXPECT_TRUE(f["uploaded"].boolean());
    EXPECT_EQ(f["doctor_errors"].u64(), 0u);
    EXPECT_EQ(f["differences"].size(), 0u) << up.out;  // the site's import agrees with ours
  }

  // --strict refuses files with warnings (exit 3), without sending anything
  RunResult strict = run_mcapkit({"upload", "--strict", "--no-journal", "--json", files[0].path,
                                  "--api-url", serve.url(), "--api-key-file", key_file});
  EXPECT_EQ(strict.exit_code, 3) << strict.out << strict.err;
  Json sj = Json::parse(strict.out);
  EXPECT_EQ(sj["files"][0]["status"].str(), "refused");
  EXPECT_GT(sj["files"][0]["doctor_warnings"].u64(), 0u);
  EXPECT_FALSE(sj["files"][0]["uploaded"].boolean());

  // The site holds a recording per file, and lists the topics without messages too.
  RunResult recs = run_mcapkit(
      {"remote", "recordings", "--json", "--api-url", serve.url(), "--api-key-file", key_file});
  ASSERT_EQ(recs.exit_code, 0) << recs.err;
  EXPECT_EQ(Json::parse(recs.out)["count"].u64(), files.size());
  RunResult topics =
      run_mcapkit({"remote", "topics", "--json", "--recording-key", uj["files"][0]["key"].str(),
                   "--api-url", serve.url(), "--api-key-file", key_file});
  ASSERT_EQ(topics.exit_code, 0) << topics.out << topics.err;
  EXPECT_NE(topics.out.find("/events/write_split"), std::string::npos) << topics.out;
  EXPECT_NE(topics.out.find("/rosout"), std::string::npos) << topics.out;
}
