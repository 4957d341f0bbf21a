// test_cli_info_index.cc - 'mcapkit info' and 'mcapkit index' tell the same
// story: on the same files (synthesized, rosbag2's layouts, the real
// recordings of ../shared/realworld read in place, and a short burst in a long
// recording, where a rate over the file's duration and one over the topic's
// own span differ by 200x) they list the same topics, zero-message ones
// included, with the same counts and the same rate (pl_topic_frequency), from
// the summary, from a scan and from standard input; and the index JSON follows
// its key convention (docs/index-json.md).
#include <gtest/gtest.h>
#include <dirent.h>

#include <cctype>
#include <cmath>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "mcap/mcap.h"
#include "run.h"
#include "tmpdir.h"
#include "writer_layouts.h"

using namespace mcapkit_test;

namespace {

// /steady at 10 Hz over 10 s, /burst: two messages 1.1 ms apart at 5 s, /never: none.
void write_burst(const std::string &path, bool summary) {
  mcap_sink sink;
  mcap_error_info e{};
  ASSERT_EQ(mcap_sink_open_file(&sink, path.c_str(), &e), MCAP_OK) << e.msg;
  mcap_writer_options o;
  mcap_writer_options_init(&o);
  o.no_summary = summary ? 0 : 1;
  o.chunk_size = 4096;
  mcap_writer *w = nullptr;
  ASSERT_EQ(mcap_writer_open(&w, &sink, &o), MCAP_OK);
  uint16_t steady, burst, never;
  ASSERT_EQ(mcap_writer_add_channel(w, 0, mcap_str_c("/steady"), mcap_str_c("json"), nullptr, 0,
                                    &steady),
            MCAP_OK);
  ASSERT_EQ(mcap_writer_add_channel(w, 0, mcap_str_c("/burst"), mcap_str_c("json"), nullptr, 0,
                                    &burst),
            MCAP_OK);
  ASSERT_EQ(mcap_writer_add_channel(w, 0, mcap_str_c("/never"), mcap_str_c("json"), nullptr, 0,
                                    &never),
            MCAP_OK);
  const uint64_t t0 = 1767225600000000000ull, ms = 1000000;
  const std::string data = "{\"v\":1}";
  mcap_bytes d = {reinterpret_cast<const uint8_t *>(data.data()), data.size()};
  for (uint32_t i = 0; i <= 100; i++) {
    uint64_t t = t0 + i * 100 * ms;
    mcap_message m = {steady, i, t, t, d};
    ASSERT_EQ(mcap_writer_write_message(w, &m), MCAP_OK);
    if (i == 50) {
      mcap_message b1 = {burst, 0, t + 1, t + 1, d};
      mcap_message b2 = {burst, 1, t + 1 + 1100000, t + 1 + 1100000, d};
      ASSERT_EQ(mcap_writer_write_message(w, &b1), MCAP_OK);
      ASSERT_EQ(mcap_writer_write_message(w, &b2), MCAP_OK);
    }
  }
  ASSERT_EQ(mcap_writer_close(w), MCAP_OK);
  mcap_writer_free(w);
  ASSERT_EQ(mcap_sink_commit(&sink, &e), MCAP_OK) << e.msg;
  mcap_sink_close(&sink, &e);
}

struct TopicFigures {
  uint64_t messages = 0;
  double hz = 0;  // 0 = undefined
};

std::map<std::string, TopicFigures> from_info(const std::string &out) {
  std::map<std::string, TopicFigures> m;
  Json j = Json::parse(out);
  for (size_t i = 0; i < j["channels"].size(); i++) {
    const Json &c = j["channels"][i];
    TopicFigures f;
    f.messages = c["message_count"].u64();
    f.hz = c["frequency_hz"].is_null() ? 0 : c["frequency_hz"].num();
    m[c["topic"].str()] = f;
  }
  return m;
}

std::map<std::string, TopicFigures> from_index(const std::string &out) {
  std::map<std::string, TopicFigures> m;
  Json j = Json::parse(out);
  for (size_t i = 0; i < j["topics"].size(); i++) {
    const Json &t = j["topics"][i];
    TopicFigures f;
    f.messages = t["messageCount"].u64();
    f.hz = t["frequency"].num();
    m[t["topic"].str()] = f;
  }
  return m;
}

void expect_same(const std::map<std::string, TopicFigures> &info,
                 const std::map<std::string, TopicFigures> &index) {
  ASSERT_EQ(info.size(), index.size());
  for (const auto &kv : index) {
    SCOPED_TRACE(kv.first);
    auto it = info.find(kv.first);
    ASSERT_NE(it, info.end()) << "listed by index, not by info";
    EXPECT_EQ(it->second.messages, kv.second.messages);
    EXPECT_NEAR(it->second.hz, kv.second.hz, 0.0006 + kv.second.hz * 1e-6);
  }
}

std::vector<std::string> files_to_compare(TempDir &tmp) {
  std::vector<std::string> v;
  auto add_bytes = [&](const std::string &name, const Bytes &b) {
    std::string p = tmp.file(name);
    write_file_or_throw(p, std::string(b.begin(), b.end()));
    v.push_back(p);
  };
  std::string burst = tmp.file("burst.mcap"), burst_ns = tmp.file("burst_nosummary.mcap");
  write_burst(burst, true);
  write_burst(burst_ns, false);
  v.push_back(burst);
  v.push_back(burst_ns);
  std::string robot = tmp.file("robot.mcap");
  RunResult s = run_mcapkit({"synth", "-o", robot, "-p", "robot", "-d", "1", "--seed", "4"});
  EXPECT_EQ(s.exit_code, 0) << s.err;
  v.push_back(robot);
  add_bytes("rosbag2.mcap", rosbag2_summary_only_file());
  add_bytes("zero.mcap", log_time_zero_file());
  std::string dir = MCAPKIT_SOURCE_DIR "/../shared/realworld/mcap";
  if (DIR *d = opendir(dir.c_str())) {
    closedir(d);
    for (const char *f : {"only_topics.mcap", "convert_a.mcap", "talker.mcap"})
      v.push_back(dir + "/" + f);
  }
  return v;
}

}  // namespace

TEST(CliInfoIndex, SameTopicsCountsAndRates) {
  TempDir tmp;
  for (const std::string &p : files_to_compare(tmp)) {
    SCOPED_TRACE(p);
    RunResult ix = run_mcapkit({"index", "--json", "--no-doctor", p});
    ASSERT_EQ(ix.exit_code, 0) << ix.err;
    RunResult in = run_mcapkit({"info", "--json", p});
    ASSERT_EQ(in.exit_code, 0) << in.err;
    expect_same(from_info(in.out), from_index(ix.out));
    // standard input: info scans it, same figures
    RunOptions o;
    o.stdin_data = read_file_or_throw(p);
    RunResult piped = run_mcapkit({"info", "--json", "-"}, o);
    ASSERT_EQ(piped.exit_code, 0) << piped.err;
    expect_same(from_info(piped.out), from_index(ix.out));
  }
}

// The case behind the rule: a burst of two messages in a 10 s recording is 909 Hz over its
// own span, 0.1 Hz over the file's; both commands say 909.09, and list /never with no rate.
TEST(CliInfoIndex, BurstRateIsOverTheTopicsOwnSpan) {
  TempDir tmp;
  std::string p = tmp.file("burst.mcap");
  write_burst(p, true);
  auto info = from_info(run_mcapkit({"info", "--json", p}).out);
  auto index = from_index(run_mcapkit({"index", "--json", p}).out);
  EXPECT_NEAR(info["/burst"].hz, 1e9 / 1100000.0, 0.001);
  EXPECT_NEAR(index["/burst"].hz, 1e9 / 1100000.0, 0.001);
  EXPECT_NEAR(info["/steady"].hz, 10.0, 1e-6);
  ASSERT_TRUE(info.count("/never") && index.count("/never"));
  EXPECT_EQ(info["/never"].messages, 0u);
  EXPECT_EQ(info["/never"].hz, 0.0);
  EXPECT_EQ(index["/never"].hz, 0.0);
  // human tables: the same figure, '-' where there is none
  RunResult hi = run_mcapkit({"info", p}), hx = run_mcapkit({"index", p});
  EXPECT_NE(hi.out.find("909.09 Hz"), std::string::npos) << hi.out;
  EXPECT_NE(hx.out.find("909.09"), std::string::npos) << hx.out;
}

// Without message indexes info does not read chunks for the rates: it says so instead of
// printing a different figure.
TEST(CliInfoIndex, WithoutMessageIndexesInfoLeavesRatesToIndex) {
  TempDir tmp;
  std::string p = tmp.file("noidx.mcap");
  ASSERT_EQ(run_mcapkit({"synth", "-o", p, "-p", "tiny", "-d", "3", "--no-message-index"})
                .exit_code,
            0);
  RunResult r = run_mcapkit({"info", p});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("no message indexes: channel frequencies need the chunks read"),
            std::string::npos)
      << r.out;
  for (const auto &kv : from_info(run_mcapkit({"info", "--json", p}).out))
    EXPECT_EQ(kv.second.hz, 0.0) << kv.first;
  for (const auto &kv : from_index(run_mcapkit({"index", "--json", p}).out))
    EXPECT_GT(kv.second.hz, 0.0) << kv.first;
}

// docs/index-json.md: objects in the API's shapes use its camelCase (no '_'); mcapkit's own
// objects (the document's top level, problems) use lower_snake (no capitals); map keys that
// are data (topic names, metadata keys) are as in the file.
TEST(CliInfoIndex, IndexJsonFollowsItsKeyConvention) {
  TempDir tmp;
  std::string p = tmp.file("robot.mcap");
  ASSERT_EQ(run_mcapkit({"synth", "-o", p, "-p", "robot", "-d", "1", "--attachments", "1"})
                .exit_code,
            0);
  RunResult r = run_mcapkit({"index", "--json", "--doctor", p});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Json j = Json::parse(r.out);
  auto snake = [](const std::string &k) {
    for (char c : k)
      if (std::isupper(static_cast<unsigned char>(c))) return false;
    return true;
  };
  auto camel = [](const std::string &k) { return k.find('_') == std::string::npos; };
  for (const std::string &k : j.keys()) EXPECT_TRUE(snake(k)) << "top level: " << k;
  auto check_objects = [&](const Json &arr, const char *what, bool api) {
    for (size_t i = 0; i < arr.size(); i++)
      for (const std::string &k : arr[i].keys())
        EXPECT_TRUE(api ? camel(k) : snake(k)) << what << ": " << k;
  };
  for (const std::string &k : j["recording"].keys()) EXPECT_TRUE(camel(k)) << "recording: " << k;
  for (const std::string &k : j["recording"]["device"].keys()) EXPECT_TRUE(camel(k)) << k;
  check_objects(j["topics"], "topics", true);
  check_objects(j["coverage"], "coverage", true);
  check_objects(j["attachments"], "attachments", true);
  check_objects(j["metadata"], "metadata", true);
  check_objects(j["problems"], "problems", false);
  ASSERT_GT(j["topics"].size(), 0u);
  EXPECT_TRUE(j["topics"][0].has("messageCount"));
  EXPECT_TRUE(j["recording"].has("contentHash"));
  EXPECT_TRUE(j.has("format_version") && j.has("topic_coverage"));
}
