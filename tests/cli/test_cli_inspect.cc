// test_cli_inspect.cc - the inspect/extract commands of mcapkit: list, cat, du,
// get, extract, add. Golden outputs for a tiny synth file (tests/cli/cases/
// inspect/, see tests/cli/README.md; UPDATE_GOLDEN=1 rewrites them), plus
// behaviour tests on files written with the libmcap writer: standard input,
// JSON parsed back, merging, time forms, hostile attachment names, terminal
// refusal, and amending files in place (success and failure).
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <pty.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "mcap/mcap.h"
#include "run.h"
#include "tmpdir.h"

extern char **environ;

using mcapkit_test::Json;
using mcapkit_test::read_file_or_throw;
using mcapkit_test::run_mcapkit;
using mcapkit_test::RunOptions;
using mcapkit_test::RunResult;
using mcapkit_test::TempDir;
using mcapkit_test::write_file_or_throw;

namespace fs = std::filesystem;

namespace {

bool contains(const std::string &s, const std::string &part) {
  return s.find(part) != std::string::npos;
}

std::vector<std::string> lines_of(const std::string &s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  std::string line;
  while (std::getline(in, line)) out.push_back(line);
  return out;
}

void replace_all(std::string &s, const std::string &from, const std::string &to) {
  if (from.empty()) return;
  for (size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos; pos += to.size())
    s.replace(pos, from.size(), to);
}

void synth(const std::string &out, std::vector<std::string> extra) {
  std::vector<std::string> args{"synth", "-o", out};
  args.insert(args.end(), extra.begin(), extra.end());
  RunResult r = run_mcapkit(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
}

std::string xxh128_hex(const std::string &data) {
  XXH128_canonical_t c;
  XXH128_canonicalFromHash(&c, XXH3_128bits(data.data(), data.size()));
  char hex[33];
  for (int i = 0; i < 16; i++) snprintf(hex + 2 * i, 3, "%02x", c.digest[i]);
  return hex;
}

// ------------------------------------------------ files written with libmcap

struct TestMessage {
  uint16_t channel;  // index into the channels given to write_file (0-based)
  uint64_t log_time;
  std::string data;
  uint32_t sequence = 0;
};

struct TestAttachment {
  std::string name;
  std::string data;
  std::string media_type = "application/octet-stream";
  uint64_t log_time = 0;
};

struct TestChannel {
  std::string topic;
  std::string encoding = "cdr";
};

// Writes an MCAP file with the libmcap writer; `tweak` may change the options.
void write_file(const std::string &path, const std::vector<TestChannel> &channels,
                const std::vector<TestMessage> &messages,
                const std::vector<TestAttachment> &attachments = {},
                const std::function<void(mcap_writer_options &)> &tweak = nullptr) {
  mcap_sink sink;
  mcap_error_info err{};
  ASSERT_EQ(mcap_sink_open_file(&sink, path.c_str(), &err), MCAP_OK) << err.msg;
  mcap_writer_options o;
  mcap_writer_options_init(&o);
  o.compression = MCAP_COMPRESSION_NONE;
  if (tweak) tweak(o);
  mcap_writer *w = nullptr;
  ASSERT_EQ(mcap_writer_open(&w, &sink, &o), MCAP_OK);
  std::vector<uint16_t> ids;
  for (const TestChannel &c : channels) {
    uint16_t sid = 0, cid = 0;
    std::string sname = "pkg/msg/" + c.topic.substr(c.topic.rfind('/') + 1);
    std::string sdata = "int32 x\n";
    if (c.encoding == "json") {
      sname = "Json";
      sdata = "{\"type\":\"object\"}";
    }
    mcap_bytes sd{reinterpret_cast<const uint8_t *>(sdata.data()), sdata.size()};
    ASSERT_EQ(mcap_writer_add_schema(w, mcap_str_c(sname.c_str()),
                                     mcap_str_c(c.encoding == "json" ? "jsonschema" : "ros2msg"),
                                     sd, &sid),
              MCAP_OK);
    ASSERT_EQ(mcap_writer_add_channel(w, sid, mcap_str_c(c.topic.c_str()),
                                      mcap_str_c(c.encoding.c_str()), nullptr, 0, &cid),
              MCAP_OK);
    ids.push_back(cid);
  }
  for (const TestMessage &m : messages) {
    mcap_message msg{};
    msg.channel_id = ids.at(m.channel);
    msg.sequence = m.sequence;
    msg.log_time = m.log_time;
    msg.publish_time = m.log_time;
    msg.data.data = reinterpret_cast<const uint8_t *>(m.data.data());
    msg.data.len = m.data.size();
    ASSERT_EQ(mcap_writer_write_message(w, &msg), MCAP_OK) << mcap_writer_errmsg(w);
  }
  for (const TestAttachment &a : attachments) {
    mcap_attachment at{};
    at.log_time = a.log_time;
    at.create_time = a.log_time;
    at.name.data = a.name.data();
    at.name.len = static_cast<uint32_t>(a.name.size());
    at.media_type = mcap_str_c(a.media_type.c_str());
    at.data.data = reinterpret_cast<const uint8_t *>(a.data.data());
    at.data.len = a.data.size();
    ASSERT_EQ(mcap_writer_write_attachment(w, &at), MCAP_OK) << mcap_writer_errmsg(w);
  }
  ASSERT_EQ(mcap_writer_close(w), MCAP_OK) << mcap_writer_errmsg(w);
  mcap_writer_free(w);
  ASSERT_EQ(mcap_sink_commit(&sink, &err), MCAP_OK) << err.msg;
  ASSERT_EQ(mcap_sink_close(&sink, &err), MCAP_OK);
}

std::vector<std::string> dir_entries(const std::string &dir) {
  std::vector<std::string> names;
  for (const auto &e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

// ------------------------------------------------------------ golden cases

struct Golden {
  std::string name;
  std::vector<std::string> args;
  std::string stdin_file;  // "#stdin=PATH" directive, after substitution
};

std::string cases_dir() {
  return std::string(MCAPKIT_SOURCE_DIR) + "/tests/cli/cases/inspect";
}

// The tiny recording every golden case runs on: deterministic for a given libmcap version.
void make_tiny(const std::string &path) {
  synth(path, {"-p", "tiny", "-d", "2", "--seed", "1"});
}

}  // namespace

// Each tests/cli/cases/inspect/NAME.args (one argument per line, @TINY@ = the tiny
// file, "#stdin=@TINY@" feeds it on standard input) must print NAME.stdout and exit
// with NAME.exit (0 when the file is absent). UPDATE_GOLDEN=1 rewrites the outputs.
TEST(CliInspectGolden, Cases) {
  TempDir tmp;
  std::string tiny = tmp.file("tiny.mcap");
  make_tiny(tiny);
  bool update = std::getenv("UPDATE_GOLDEN") && std::string(std::getenv("UPDATE_GOLDEN")) == "1";
  std::vector<std::string> names;
  for (const auto &e : fs::directory_iterator(cases_dir()))
    if (e.path().extension() == ".args") names.push_back(e.path().stem().string());
  std::sort(names.begin(), names.end());
  ASSERT_GE(names.size(), 10u);
  for (const std::string &name : names) {
    SCOPED_TRACE(name);
    std::string base = cases_dir() + "/" + name;
    RunOptions ro;
    std::vector<std::string> args;
    for (std::string line : lines_of(read_file_or_throw(base + ".args"))) {
      replace_all(line, "@TINY@", tiny);
      if (line.rfind("#stdin=", 0) == 0) {
        ro.stdin_data = read_file_or_throw(line.substr(7));
        continue;
      }
      args.push_back(line);
    }
    RunResult r = run_mcapkit(args, ro);
    std::string out = r.out;
    replace_all(out, tiny, "@TINY@");
    if (update) {
      write_file_or_throw(base + ".stdout", out);
      if (r.exit_code != 0)
        write_file_or_throw(base + ".exit", std::to_string(r.exit_code) + "\n");
      else
        fs::remove(base + ".exit");
      continue;
    }
    std::string want = read_file_or_throw(base + ".stdout");
    int want_exit = 0;
    if (fs::exists(base + ".exit")) want_exit = std::stoi(read_file_or_throw(base + ".exit"));
    EXPECT_EQ(r.exit_code, want_exit) << r.err;
    EXPECT_EQ(out, want) << "stderr: " << r.err;
  }
}

// --------------------------------------------------------------------- list

TEST(CliList, JsonParsesBack) {
  TempDir tmp;
  std::string p = tmp.file("t.mcap");
  synth(p, {"-p", "tiny", "-d", "2"});
  RunResult r = run_mcapkit({"list", "channels", "--json", p});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::string> ls = lines_of(r.out);
  ASSERT_EQ(ls.size(), 2u);
  Json c = Json::parse(ls[0]);
  EXPECT_EQ(c["format_version"].u64(), 1u);
  EXPECT_EQ(c["id"].u64(), 1u);
  EXPECT_EQ(c["topic"].str(), "/chatter");
  EXPECT_EQ(c["schema_name"].str(), "std_msgs/msg/String");
  EXPECT_EQ(c["message_encoding"].str(), "cdr");
  EXPECT_TRUE(c["metadata"].has("offered_qos_profiles"));
  uint64_t total = c["message_count"].u64() + Json::parse(ls[1])["message_count"].u64();

  r = run_mcapkit({"--json", "list", "chunks", p});  // the global --json too
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Json k = Json::parse(lines_of(r.out).at(0));
  EXPECT_EQ(k["compression"].str(), "zstd");
  EXPECT_GT(k["uncompressed_size"].u64(), k["compressed_size"].u64());
  EXPECT_EQ(k["message_start_time"].str().size(), 30u);  // RFC 3339 with ns
  EXPECT_EQ(k["message_index_offsets"].size(), 2u);
  EXPECT_GT(k["message_index_length"].u64(), 0u);

  r = run_mcapkit({"list", "attachments", "--json", p});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Json a = Json::parse(lines_of(r.out).at(0));
  EXPECT_EQ(a["name"].str(), "calibration.yaml");
  EXPECT_EQ(a["media_type"].str(), "text/yaml");
  EXPECT_GT(a["data_size"].u64(), 0u);
  EXPECT_TRUE(a.has("log_time_ns"));

  r = run_mcapkit({"list", "metadata", "--json", p});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(lines_of(r.out).size(), 2u);
  EXPECT_EQ(Json::parse(lines_of(r.out)[1])["metadata"]["synth_profile"].str(), "tiny");

  r = run_mcapkit({"list", "schemas", "--json", p});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Json s = Json::parse(lines_of(r.out).at(0));
  EXPECT_EQ(s["encoding"].str(), "ros2msg");
  EXPECT_EQ(s["data"].str().size(), s["data_size"].u64());  // text schemas as text

  // message counts add up to what cat prints
  r = run_mcapkit({"cat", p});
  EXPECT_EQ(lines_of(r.out).size(), total);
}

TEST(CliList, UsageErrors) {
  TempDir tmp;
  std::string p = tmp.file("t.mcap");
  synth(p, {"-p", "tiny", "-d", "1"});
  EXPECT_EQ(run_mcapkit({"list", "frobs", p}).exit_code, 2);
  EXPECT_EQ(run_mcapkit({"list", "chunks"}).exit_code, 2);
  EXPECT_EQ(run_mcapkit({"list", "chunks", "--time-format", "weird", p}).exit_code, 2);
  RunResult r = run_mcapkit({"list", "chunks", tmp.file("missing.mcap")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "missing.mcap")) << r.err;
  for (const char *cmd : {"list", "cat", "du", "get", "extract", "add"}) {
    RunResult h = run_mcapkit({cmd, "--help"});
    EXPECT_EQ(h.exit_code, 0) << cmd;
    EXPECT_TRUE(contains(h.out, std::string("usage: mcapkit ") + cmd)) << h.out;
  }
}

// Every command that reads a file accepts '-' for standard input with the same result.
TEST(CliInspect, StandardInput) {
  TempDir tmp;
  std::string p = tmp.file("t.mcap");
  synth(p, {"-p", "tiny", "-d", "2"});
  RunOptions ro;
  ro.stdin_data = read_file_or_throw(p);
  const std::vector<std::vector<std::string>> cmds = {
      {"list", "channels"},
      {"list", "chunks"},
      {"list", "metadata"},
      {"cat"},
      {"cat", "--format", "ndjson", "--order", "reverse"},
      {"get", "metadata", "--name", "foxglove"},
      {"get", "attachment", "--name", "calibration.yaml"},
  };
  for (const auto &base : cmds) {
    std::vector<std::string> a = base, b = base;
    a.push_back(p);
    b.push_back("-");
    RunResult ra = run_mcapkit(a), rb = run_mcapkit(b, ro);
    EXPECT_EQ(ra.exit_code, 0) << base[0] << " " << ra.err;
    EXPECT_EQ(rb.exit_code, 0) << base[0] << " " << rb.err;
    EXPECT_EQ(ra.out, rb.out) << base[0];
    EXPECT_FALSE(ra.out.empty()) << base[0];
  }
  // du reads a pipe exactly; the tables match those of the file
  RunResult ra = run_mcapkit({"du", "--json", p}), rb = run_mcapkit({"du", "--json", "-"}, ro);
  ASSERT_EQ(rb.exit_code, 0) << rb.err;
  Json ja = Json::parse(ra.out), jb = Json::parse(rb.out);
  EXPECT_EQ(ja["file_size"].u64(), jb["file_size"].u64());
  EXPECT_EQ(ja["message_bytes"].u64(), jb["message_bytes"].u64());
  EXPECT_EQ(ja["records"].size(), jb["records"].size());
}

// -------------------------------------------------------------------- cat

TEST(CliCat, MergesFilesInLogTimeOrder) {
  TempDir tmp;
  std::string a = tmp.file("a.mcap"), b = tmp.file("b.mcap");
  std::vector<TestMessage> ma, mb;
  for (uint32_t i = 0; i < 50; i++) {
    ma.push_back({0, 1000 + 20 * i, "a" + std::to_string(i), i});
    mb.push_back({0, 1010 + 20 * i, "b" + std::to_string(i), i});
  }
  mb.push_back({0, 1000, "tie", 99});  // same log time as a's first: a comes first
  write_file(a, {{"/a"}}, ma, {}, [](mcap_writer_options &o) { o.chunk_size = 200; });
  write_file(b, {{"/b"}}, mb, {}, [](mcap_writer_options &o) { o.chunk_size = 300; });

  RunResult r = run_mcapkit({"cat", "--format", "ndjson", "--data", "none", a, b});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::string> ls = lines_of(r.out);
  ASSERT_EQ(ls.size(), 101u);
  uint64_t prev = 0;
  for (size_t i = 0; i < ls.size(); i++) {
    Json m = Json::parse(ls[i]);
    uint64_t t = m["log_time"].u64();
    EXPECT_LE(prev, t) << i;
    prev = t;
    EXPECT_FALSE(m.has("data"));
  }
  EXPECT_EQ(Json::parse(ls[0])["topic"].str(), "/a");
  EXPECT_EQ(Json::parse(ls[1])["topic"].str(), "/b");  // the tie
  EXPECT_EQ(Json::parse(ls[1])["sequence"].u64(), 99u);
  EXPECT_EQ(Json::parse(ls[2])["log_time"].str(), "1010");

  // reverse: descending, ties in reverse file order
  r = run_mcapkit({"cat", "--format", "ndjson", "--order", "reverse", a, b});
  ls = lines_of(r.out);
  ASSERT_EQ(ls.size(), 101u);
  EXPECT_EQ(Json::parse(ls[100])["topic"].str(), "/a");
  EXPECT_EQ(Json::parse(ls[99])["topic"].str(), "/b");
  EXPECT_EQ(Json::parse(ls[0])["log_time"].str(), std::to_string(1010 + 20 * 49));

  // file order: one file after the other
  r = run_mcapkit({"cat", "--format", "ndjson", "--order", "file", a, b});
  ls = lines_of(r.out);
  ASSERT_EQ(ls.size(), 101u);
  EXPECT_EQ(Json::parse(ls[49])["topic"].str(), "/a");
  EXPECT_EQ(Json::parse(ls[50])["topic"].str(), "/b");

  // standard input merges like a file; --limit stops early
  RunOptions ro;
  ro.stdin_data = read_file_or_throw(b);
  RunResult rs = run_mcapkit({"cat", "--format", "ndjson", "--data", "none", a, "-"}, ro);
  EXPECT_EQ(rs.out, run_mcapkit({"cat", "--format", "ndjson", "--data", "none", a, b}).out);
  r = run_mcapkit({"cat", "-n", "7", a, b});
  EXPECT_EQ(lines_of(r.out).size(), 7u);
}

TEST(CliCat, DataEncodings) {
  TempDir tmp;
  std::string p = tmp.file("j.mcap");
  write_file(p, {{"/json", "json"}, {"/bin", "cdr"}},
             {{0, 10, "{\"a\": [1, 2.5e3, \"x\\n\"],\n \"b\": null}"},
              {0, 20, "{not json"},
              {0, 30, "\"text\""},
              {1, 40, "hello"},
              {1, 50, std::string("\x00\x01\xff", 3)},
              {0, 60, "[1,2] 3"}});
  RunResult r = run_mcapkit({"cat", "--format", "ndjson", p});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::string> ls = lines_of(r.out);
  ASSERT_EQ(ls.size(), 6u);
  Json m0 = Json::parse(ls[0]);
  EXPECT_EQ(m0["data_encoding"].str(), "json");
  EXPECT_EQ(m0["data"]["a"][1].number_text(), "2.5e3");  // embedded as it is
  EXPECT_EQ(m0["data"]["a"][2].str(), "x\n");
  EXPECT_TRUE(m0["data"]["b"].is_null());
  EXPECT_EQ(m0["topic"].str(), "/json");
  EXPECT_EQ(m0["channel_id"].u64(), 1u);
  EXPECT_EQ(m0["log_time"].str(), "10");
  EXPECT_EQ(m0["publish_time"].str(), "10");
  Json m1 = Json::parse(ls[1]);
  EXPECT_EQ(m1["data_encoding"].str(), "base64");
  EXPECT_EQ(m1["data"].str(), "e25vdCBqc29u");
  EXPECT_EQ(Json::parse(ls[2])["data"].str(), "text");
  EXPECT_EQ(Json::parse(ls[3])["data"].str(), "aGVsbG8=");
  EXPECT_EQ(Json::parse(ls[4])["data"].str(), "AAH/");
  EXPECT_EQ(Json::parse(ls[5])["data_encoding"].str(), "base64");  // trailing garbage

  r = run_mcapkit({"cat", "--format", "ndjson", "--data", "base64", p});
  EXPECT_EQ(Json::parse(lines_of(r.out)[0])["data_encoding"].str(), "base64");
  r = run_mcapkit({"cat", "--json", "--data", "none", p});
  EXPECT_FALSE(Json::parse(lines_of(r.out)[0]).has("data"));
  EXPECT_EQ(run_mcapkit({"cat", "--data", "raw", p}).exit_code, 2);
  EXPECT_EQ(run_mcapkit({"cat", "--format", "yaml", p}).exit_code, 2);

  // text: time, topic, [schema], sequence, size, preview
  r = run_mcapkit({"cat", "--time-format", "ns", p});
  ls = lines_of(r.out);
  ASSERT_EQ(ls.size(), 6u);
  EXPECT_EQ(ls[3].rfind("40  /bin ", 0), 0u) << ls[3];
  EXPECT_TRUE(contains(ls[3], "[pkg/msg/bin]")) << ls[3];
  EXPECT_TRUE(contains(ls[3], "5 B  \"hello\"")) << ls[3];
  EXPECT_TRUE(contains(ls[4], "00 01 ff  |...|")) << ls[4];
}

TEST(CliCat, TimeFormsAndTopicFilters) {
  TempDir tmp;
  std::string p = tmp.file("t.mcap");
  const uint64_t t0 = 1767225600000000000ull;  // 2026-01-01T00:00:00Z
  std::vector<TestMessage> ms;
  for (uint32_t i = 0; i < 10; i++) {
    ms.push_back({0, t0 + i * 500000000ull, "x", i});      // /imu every 0.5 s
    ms.push_back({1, t0 + i * 500000000ull + 1, "y", i});  // /imu_raw
    ms.push_back({2, t0 + i * 500000000ull + 2, "z", i});  // /cam
  }
  write_file(p, {{"/imu"}, {"/imu_raw"}, {"/cam"}}, ms);
  auto count = [&](std::vector<std::string> extra) {
    std::vector<std::string> args{"cat", p};
    args.insert(args.end(), extra.begin(), extra.end());
    RunResult r = run_mcapkit(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return lines_of(r.out).size();
  };
  // the same instant, written ten ways; both ends are inclusive (--end used to be exclusive)
  for (const char *start :
       {"1767225601000000000", "1767225601000000000ns", "1767225601s", "1767225601.0s",
        "1767225601000ms", "1767225601000000us", "2026-01-01T00:00:01Z",
        "2026-01-01T01:00:01+01:00", "2025-12-31T23:00:01.000000000-01:00",
        "2026-01-01t00:00:01z"}) {
    EXPECT_EQ(count({"--topics", "/imu", "--start", start}), 8u) << start;
    EXPECT_EQ(count({"--topics", "/imu", "--end", start}), 3u) << start;
    EXPECT_EQ(count({"--topics", "/imu", "-S", start, "-E", start}), 1u) << start;
  }
  EXPECT_EQ(count({"--start", "2026-01-01"}), 30u);
  EXPECT_EQ(count({"--start", "1767225601"}), 30u);  // a bare integer is nanoseconds
  EXPECT_EQ(count({"--start", "1767225601.5s", "--end", "1767225602.5s"}), 7u);
  EXPECT_EQ(count({"--start", "1767225601500ms", "--end", "1767225602500000us"}), 7u);
  EXPECT_EQ(count({"--start", "1767225601499999.999us", "--end", "1767225602.5s"}), 7u);
  EXPECT_EQ(count({"--start", "1767225601500000001ns", "--end", "1767225602.5s"}), 6u);
  EXPECT_EQ(count({"--start", "2026-01-01T00:00:01.500000001Z", "--topics", "/imu"}), 6u);
  for (const char *bad : {"soon", "2026-13-01T00:00:00Z", "2026-01-01T25:00:00Z", "1.5.5", "-5",
                          "1969-12-31T23:59:59Z", "99999999999999999999", "2026-01-01T00:00Z",
                          "1767225601.5", "12h", "1.5ns", "5 s"})
    EXPECT_EQ(run_mcapkit({"cat", p, "--start", bad}).exit_code, 2) << bad;
  // the start after the end is a usage error, not an empty result
  RunResult r = run_mcapkit({"cat", p, "--start", "2s", "--end", "1s"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, "after the end")) << r.err;

  // topics: exact names (comma lists, repeatable), or a full-match regex; union of both
  EXPECT_EQ(count({"--topics", "/imu,/cam"}), 20u);
  EXPECT_EQ(count({"--topics", "/imu", "--topics", "/cam"}), 20u);
  EXPECT_EQ(count({"--topic-regex", "/imu.*"}), 20u);
  EXPECT_EQ(count({"--topic-regex", "imu"}), 0u);  // a full match is needed
  EXPECT_EQ(count({"--topic-regex", "/imu|/cam"}), 20u);
  EXPECT_EQ(count({"--topics", "/cam", "--topic-regex", "/imu_.*"}), 20u);
  EXPECT_EQ(count({"--topics", "/nothing"}), 0u);
  EXPECT_EQ(run_mcapkit({"cat", p, "--topic-regex", "(unclosed"}).exit_code, 2);
}

// --------------------------------------------------------------------- du

// cat and info read through the windowed file source: their memory does not grow with the
// file (they used to map it whole, and every page they touched stayed resident: ~700 MiB
// for `cat` of a 659 MiB file).
TEST(CliCat, MemoryDoesNotGrowWithTheFile) {
  TempDir dir;
  std::string f = dir.path() + "/big.mcap", nosum = dir.path() + "/nosummary.mcap";
  synth(f, {"-d", "8", "-c", "lz4"});
  synth(nosum, {"-d", "8", "-c", "lz4", "--no-summary"});
  ASSERT_GT(fs::file_size(f), 80u << 20);
  RunResult info = run_mcapkit({"info", f, "--json"});
  ASSERT_EQ(info.exit_code, 0) << info.err;
  Json j = Json::parse(info.out);
  uint64_t messages = j["message_count"].u64();
  ASSERT_GT(messages, 9000u);
  RunResult cat = run_mcapkit({"cat", f, "--data", "none"});
  ASSERT_EQ(cat.exit_code, 0) << cat.err;
  EXPECT_EQ(lines_of(cat.out).size(), messages);
  EXPECT_LT(cat.max_rss_kib, 64 * 1024) << "cat peak RSS";
  RunResult scan = run_mcapkit({"info", nosum});
  ASSERT_EQ(scan.exit_code, 0) << scan.err;
  EXPECT_LT(scan.max_rss_kib, 64 * 1024) << "info (scan) peak RSS";
}

TEST(CliDu, ExactAndApproximateAgree) {
  TempDir tmp;
  std::string p = tmp.file("r.mcap");
  synth(p, {"-p", "robot", "-d", "1"});
  RunResult e = run_mcapkit({"du", "--json", p});
  RunResult a = run_mcapkit({"du", "--json", "--approximate", p});
  ASSERT_EQ(e.exit_code, 0) << e.err;
  ASSERT_EQ(a.exit_code, 0) << a.err;
  Json je = Json::parse(e.out), ja = Json::parse(a.out);
  EXPECT_FALSE(je["approximate"].boolean());
  EXPECT_TRUE(ja["approximate"].boolean());
  uint64_t sum = 0;
  for (size_t i = 0; i < je["records"].size(); i++) sum += je["records"][i]["bytes"].u64();
  EXPECT_EQ(sum, je["file_size"].u64());
  sum = 0;
  for (size_t i = 0; i < ja["records"].size(); i++) sum += ja["records"][i]["bytes"].u64();
  EXPECT_EQ(sum, ja["file_size"].u64());
  EXPECT_EQ(je["message_count"].u64(), ja["message_count"].u64());
  ASSERT_EQ(je["topics"].size(), 7u);
  ASSERT_EQ(ja["topics"].size(), 7u);
  // the approximation (index gaps) is close to the exact payload sizes
  double ex = static_cast<double>(je["message_bytes"].u64());
  double ap = static_cast<double>(ja["message_bytes"].u64());
  EXPECT_NEAR(ap / ex, 1.0, 0.01);
  EXPECT_EQ(je["topics"][0]["topic"].str(), "/lidar/points");  // largest first
  RunResult h = run_mcapkit({"du", p});
  EXPECT_TRUE(contains(h.out, "exact")) << h.out;
  EXPECT_TRUE(contains(h.out, "/camera/front/image")) << h.out;
}

// -------------------------------------------------------------------- get

namespace {

// Run mcapkit with its standard output on a pseudo-terminal; returns the exit code.
int run_on_pty(const std::vector<std::string> &args, std::string *stderr_text) {
  int master = -1, slave = -1;
  if (openpty(&master, &slave, nullptr, nullptr, nullptr) != 0) return -1;
  int errpipe[2];
  if (pipe(errpipe) != 0) return -1;
  std::vector<std::string> argv_s{mcapkit_test::mcapkit_path()};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char *> argv;
  for (std::string &s : argv_s) argv.push_back(s.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, slave, STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&fa, errpipe[1], STDERR_FILENO);
  posix_spawn_file_actions_addclose(&fa, master);
  pid_t pid;
  int rc = posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  close(slave);
  close(errpipe[1]);
  if (rc != 0) return -1;
  char buf[4096];
  ssize_t n;
  while ((n = read(errpipe[0], buf, sizeof buf)) > 0) stderr_text->append(buf, (size_t)n);
  close(errpipe[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  close(master);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

}  // namespace

TEST(CliGet, AttachmentToPipeFileAndNotTerminal) {
  TempDir tmp;
  std::string p = tmp.file("a.mcap");
  std::string big(3 << 20, '\0');  // bigger than one copy buffer
  for (size_t i = 0; i < big.size(); i++) big[i] = static_cast<char>(i * 7 + (i >> 9));
  write_file(p, {{"/x"}}, {{0, 1, "m"}}, {{"big.bin", big}, {"dup", "first"}, {"dup", "second"}});
  RunResult r = run_mcapkit({"get", "attachment", p, "--name", "big.bin", "-o", "-"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(r.out == big);
  r = run_mcapkit({"get", "attachment", p, "--name", "big.bin"});
  EXPECT_TRUE(r.out == big);

  std::string out = tmp.file("out.bin");
  r = run_mcapkit({"get", "attachment", p, "--name", "big.bin", "-o", out});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(read_file_or_throw(out) == big);
  EXPECT_EQ(r.out, "");

  // several with that name: the offsets are listed, --offset picks one
  r = run_mcapkit({"get", "attachment", p, "--name", "dup"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.out, "");
  RunResult l = run_mcapkit({"list", "attachments", "--json", p});
  std::vector<std::string> ls = lines_of(l.out);
  ASSERT_EQ(ls.size(), 3u);
  std::string off2 = std::to_string(Json::parse(ls[2])["offset"].u64());
  EXPECT_TRUE(contains(r.err, "--offset " + off2)) << r.err;
  EXPECT_TRUE(contains(r.err, "--offset " + std::to_string(Json::parse(ls[1])["offset"].u64())));
  r = run_mcapkit({"get", "attachment", p, "--name", "dup", "--offset", off2});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "second");
  EXPECT_EQ(run_mcapkit({"get", "attachment", p, "--name", "dup", "--offset", "1"}).exit_code, 1);
  EXPECT_EQ(run_mcapkit({"get", "attachment", p, "--name", "none"}).exit_code, 1);
  EXPECT_EQ(run_mcapkit({"get", "attachment", p}).exit_code, 2);
  // the input itself is not a valid output
  EXPECT_EQ(run_mcapkit({"get", "attachment", p, "--name", "dup", "--offset", off2, "-o", p}).exit_code,
            2);

  // a terminal on standard output is refused (exit 2), also for '-o -'
  std::string err;
  int code = run_on_pty({"get", "attachment", p, "--name", "big.bin"}, &err);
  if (code == -1) GTEST_SKIP() << "no pseudo-terminal available";
  EXPECT_EQ(code, 2);
  EXPECT_TRUE(contains(err, "terminal")) << err;
  err.clear();
  EXPECT_EQ(run_on_pty({"get", "attachment", p, "--name", "big.bin", "-o", "-"}, &err), 2);
  // metadata is text and may go to a terminal
  err.clear();
  synth(tmp.file("t.mcap"), {"-p", "tiny", "-d", "1"});
  EXPECT_EQ(run_on_pty({"get", "metadata", tmp.file("t.mcap"), "--name", "foxglove"}, &err), 0)
      << err;
}

TEST(CliGet, Metadata) {
  TempDir tmp;
  std::string p = tmp.file("t.mcap");
  synth(p, {"-p", "tiny", "-d", "1"});
  RunResult r = run_mcapkit({"get", "metadata", p, "--name", "recording_info", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Json j = Json::parse(r.out);
  EXPECT_EQ(j["format_version"].u64(), 1u);
  EXPECT_EQ(j["metadata"]["synth_profile"].str(), "tiny");
  EXPECT_EQ(j["offsets"].size(), 1u);
  r = run_mcapkit({"get", "metadata", p, "--name", "foxglove"});
  EXPECT_EQ(r.out, "key         value\ndeviceName  robot-01\n");
  EXPECT_EQ(run_mcapkit({"get", "metadata", p, "--name", "nope"}).exit_code, 1);
  EXPECT_EQ(run_mcapkit({"get", "metadata", p, "--name", "foxglove", "-o", "x"}).exit_code, 2);
}

// ---------------------------------------------------------------- extract

TEST(CliExtract, HostileNamesStayInsideAndNothingIsOverwritten) {
  TempDir tmp;
  std::string p = tmp.file("h.mcap");
  std::vector<TestAttachment> atts = {
      {"../x", "dotdot"},
      {"/etc/passwd", "root:x:0:0"},
      {"", "empty name"},
      {std::string(4096, 'a'), "long name"},
      {"dup", "dup one"},
      {"dup", "dup two"},
      {".hidden", "hidden"},
      {"a/b/../../c", "path"},
      {"manifest.json", "not the manifest"},
      {"-rf", "dash"},
      {"..", "dots"},
      {std::string("nl\nand\x01"
                   "ctl"),
       "control"},
      {"keep.txt", "from the mcap"},
      {"caf\xc3\xa9.txt", "utf8"},
  };
  write_file(p, {{"/x"}}, {{0, 1, "m"}}, atts);
  std::string dir = tmp.file("out");
  fs::create_directory(dir);
  write_file_or_throw(dir + "/keep.txt", "already here");
  write_file_or_throw(dir + "/dup", "already here too");
  fs::create_directory_symlink(tmp.path(), dir + "/_.._x");  // a trap named like a safe name
  std::vector<std::string> outside_before = dir_entries(tmp.path());

  RunResult r = run_mcapkit({"extract", "attachments", p, "-o", dir});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // nothing new appeared beside DIR, existing files are untouched
  EXPECT_EQ(dir_entries(tmp.path()), outside_before);
  EXPECT_EQ(read_file_or_throw(dir + "/keep.txt"), "already here");
  EXPECT_EQ(read_file_or_throw(dir + "/dup"), "already here too");
  EXPECT_TRUE(fs::is_symlink(dir + "/_.._x"));

  Json m = Json::parse(read_file_or_throw(dir + "/manifest.json"));
  EXPECT_EQ(m["format_version"].u64(), 1u);
  EXPECT_EQ(m["fingerprint_algorithm"].str(), "xxh3-128");
  ASSERT_EQ(m["attachments"].size(), atts.size());
  EXPECT_EQ(m["failed"].size(), 0u);
  std::set<std::string> names;
  for (size_t i = 0; i < atts.size(); i++) {
    const Json &e = m["attachments"][i];
    std::string fn = e["file_name"].str();
    SCOPED_TRACE(fn);
    EXPECT_EQ(e["name"].str(), std::string(atts[i].name)) << i;
    EXPECT_TRUE(names.insert(fn).second) << "file name used twice";
    EXPECT_EQ(fn.find('/'), std::string::npos);
    EXPECT_NE(fn[0], '.');
    EXPECT_NE(fn[0], '-');
    EXPECT_LE(fn.size(), 255u);
    EXPECT_FALSE(fn.empty());
    EXPECT_NE(fn, "manifest.json");
    struct stat st;
    ASSERT_EQ(lstat((dir + "/" + fn).c_str(), &st), 0);
    EXPECT_TRUE(S_ISREG(st.st_mode));
    std::string content = read_file_or_throw(dir + "/" + fn);
    EXPECT_EQ(content, atts[i].data);
    EXPECT_EQ(e["size"].u64(), atts[i].data.size());
    EXPECT_EQ(e["fingerprint"].str(), xxh128_hex(atts[i].data));
    EXPECT_TRUE(e["crc_checked"].boolean());
    EXPECT_EQ(e["media_type"].str(), "application/octet-stream");
  }
  EXPECT_EQ(m["attachments"][0]["file_name"].str(), "_.._x-1");  // the symlink kept its name
  EXPECT_EQ(m["attachments"][1]["file_name"].str(), "_etc_passwd");
  EXPECT_EQ(m["attachments"][2]["file_name"].str(), "attachment");
  EXPECT_EQ(m["attachments"][4]["file_name"].str(), "dup-1");
  EXPECT_EQ(m["attachments"][5]["file_name"].str(), "dup-2");
  EXPECT_EQ(m["attachments"][8]["file_name"].str(), "manifest-1.json");
  EXPECT_EQ(m["attachments"][12]["file_name"].str(), "keep-1.txt");
  EXPECT_EQ(m["attachments"][13]["file_name"].str(), "caf\xc3\xa9.txt");
  // no temporary files left behind
  for (const std::string &n : dir_entries(dir)) EXPECT_EQ(n.find(".mcapkit"), std::string::npos);

  // A second run into the same directory (it used to refuse): nothing written twice, the
  // same names, the manifest replaced by an identical one.
  std::vector<std::string> before = dir_entries(dir);
  std::string manifest = read_file_or_throw(dir + "/manifest.json");
  r = run_mcapkit({"extract", "attachments", p, "-o", dir});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "already there")) << r.out;
  EXPECT_EQ(dir_entries(dir), before);
  EXPECT_EQ(read_file_or_throw(dir + "/manifest.json"), manifest);

  // A manifest.json that is not ours is not replaced.
  std::string other = tmp.file("other");
  ASSERT_EQ(mkdir(other.c_str(), 0777), 0);
  write_file_or_throw(other + "/manifest.json", "not the manifest");
  r = run_mcapkit({"extract", "attachments", p, "-o", other});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "manifest.json")) << r.err;
  EXPECT_EQ(read_file_or_throw(other + "/manifest.json"), "not the manifest");

  // -o creates the missing parents, as its help says.
  r = run_mcapkit({"extract", "attachments", p, "-o", tmp.file("x/y/z")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(fs::is_regular_file(tmp.file("x/y/z/manifest.json")));
  EXPECT_EQ(dir_entries(tmp.file("x/y/z")).size(), atts.size() + 1);
}

TEST(CliExtract, BadCrcIsNotExtracted) {
  TempDir tmp;
  std::string p = tmp.file("c.mcap");
  write_file(p, {{"/x"}}, {{0, 1, "m"}},
             {{"good.bin", "good data"}, {"bad.bin", "XXXXXXXXXXXXbad data"}});
  std::string bytes = read_file_or_throw(p);
  size_t at = bytes.find("XXXXXXXXXXXX");
  ASSERT_NE(at, std::string::npos);
  bytes[at] = 'Y';  // the attachment CRC no longer matches
  write_file_or_throw(p, bytes);
  std::string dir = tmp.file("out");
  RunResult r = run_mcapkit({"extract", "attachments", p, "-o", dir, "--json"});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_TRUE(contains(r.err, "bad.bin")) << r.err;
  Json m = Json::parse(r.out);
  ASSERT_EQ(m["attachments"].size(), 1u);
  EXPECT_EQ(m["attachments"][0]["name"].str(), "good.bin");
  ASSERT_EQ(m["failed"].size(), 1u);
  EXPECT_EQ(m["failed"][0]["name"].str(), "bad.bin");
  EXPECT_EQ(dir_entries(dir), (std::vector<std::string>{"good.bin", "manifest.json"}));
  // get refuses it as well and writes no output file
  r = run_mcapkit({"get", "attachment", p, "--name", "bad.bin", "-o", tmp.file("bad.out")});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_FALSE(fs::exists(tmp.file("bad.out")));
}

TEST(CliExtract, Schemas) {
  TempDir tmp;
  std::string p = tmp.file("r.mcap");
  synth(p, {"-p", "robot", "-d", "0.2"});
  std::string dir = tmp.file("schemas");
  RunResult r = run_mcapkit({"extract", "schemas", p, "-o", dir});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(fs::exists(dir + "/sensor_msgs_msg_Imu.msg"));
  EXPECT_TRUE(fs::exists(dir + "/DiagnosticArray.json"));
  Json m = Json::parse(read_file_or_throw(dir + "/manifest.json"));
  ASSERT_EQ(m["schemas"].size(), 7u);
  RunResult l = run_mcapkit({"list", "schemas", "--json", p});
  std::vector<std::string> ls = lines_of(l.out);
  for (size_t i = 0; i < ls.size(); i++) {
    Json s = Json::parse(ls[i]);
    const Json &e = m["schemas"][i];
    EXPECT_EQ(e["id"].u64(), s["id"].u64());
    EXPECT_EQ(read_file_or_throw(dir + "/" + e["file_name"].str()), s["data"].str());
  }
}

// -------------------------------------------------------------------- add

TEST(CliAdd, AttachmentAndMetadataThenCheck) {
  TempDir tmp;
  std::string p = tmp.file("t.mcap");
  synth(p, {"-p", "tiny", "-d", "2"});
  std::string before = read_file_or_throw(p);
  std::string data = tmp.file("notes.txt");
  write_file_or_throw(data, "calibrated at noon\n");
  chmod(p.c_str(), 0640);

  RunResult r =
      run_mcapkit({"add", "attachment", p, "--file", data, "--media-type", "text/plain",
                   "--log-time", "2026-01-01T00:00:01.5Z", "--create-time", "1767225600s"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = run_mcapkit({"add", "metadata", p, "--name", "run", "-k", "site=lab", "-k", "b=x=y"});
  ASSERT_EQ(r.exit_code, 0) << r.err;

  r = run_mcapkit({"check", p});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  r = run_mcapkit({"doctor", p});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  struct stat st;
  ASSERT_EQ(stat(p.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);  // permissions kept

  r = run_mcapkit({"list", "attachments", "--json", p});
  std::vector<std::string> ls = lines_of(r.out);
  ASSERT_EQ(ls.size(), 2u);
  Json a = Json::parse(ls[1]);
  EXPECT_EQ(a["name"].str(), "notes.txt");
  EXPECT_EQ(a["media_type"].str(), "text/plain");
  EXPECT_EQ(a["log_time_ns"].str(), "1767225601500000000");
  EXPECT_EQ(a["create_time_ns"].str(), "1767225600000000000");
  r = run_mcapkit({"get", "attachment", p, "--name", "notes.txt"});
  EXPECT_EQ(r.out, "calibrated at noon\n");
  r = run_mcapkit({"get", "metadata", p, "--name", "run", "--json"});
  Json md = Json::parse(r.out);
  EXPECT_EQ(md["metadata"]["site"].str(), "lab");
  EXPECT_EQ(md["metadata"]["b"].str(), "x=y");

  // the data section was copied unchanged: the new file starts with the old one's bytes
  // up to the old DataEnd (the first Attachment added sits where DataEnd was)
  std::string after = read_file_or_throw(p);
  uint64_t new_att_offset = a["offset"].u64();
  ASSERT_LT(new_att_offset, before.size());
  EXPECT_EQ(after.compare(0, new_att_offset, before, 0, new_att_offset), 0);
  EXPECT_EQ(static_cast<uint8_t>(before[new_att_offset]), 0x0F);  // DataEnd in the old file

  // the summary still serves the indexed reader, with updated statistics
  r = run_mcapkit({"-v", "list", "chunks", p});
  EXPECT_FALSE(contains(r.err, "scanning")) << r.err;
  r = run_mcapkit({"info", "--json", p});
  Json info = Json::parse(r.out);
  EXPECT_EQ(info["attachment_count"].u64(), 2u);
  EXPECT_EQ(info["metadata_count"].u64(), 3u);
  // no temporary files left beside it
  for (const std::string &n : dir_entries(tmp.path()))
    EXPECT_EQ(n.find(".add-"), std::string::npos);
}

TEST(CliAdd, FilesOfEveryLayoutStayValid) {
  TempDir tmp;
  std::string data = tmp.file("d.bin");
  write_file_or_throw(data, std::string(1000, 'd'));
  const std::vector<std::vector<std::string>> variants = {
      {}, {"--no-summary"}, {"--no-chunks"}, {"--no-crcs"}, {"--no-message-index"}, {"-c", "lz4"}};
  for (const auto &v : variants) {
    std::string p = tmp.file("v.mcap");
    std::vector<std::string> args{"-p", "tiny", "-d", "1"};
    args.insert(args.end(), v.begin(), v.end());
    synth(p, args);
    SCOPED_TRACE(v.empty() ? "default" : v[0]);
    RunResult r = run_mcapkit({"add", "attachment", p, "-f", data, "--name", "new.bin"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    r = run_mcapkit({"add", "metadata", p, "--name", "m", "-k", "k=v"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    r = run_mcapkit({"check", p});
    EXPECT_EQ(r.exit_code, 0) << r.out;
    r = run_mcapkit({"get", "attachment", p, "--name", "new.bin"});
    EXPECT_EQ(r.out, std::string(1000, 'd')) << r.err;
    r = run_mcapkit({"get", "metadata", p, "--name", "m"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
  }
  // a summary without an attachment index: adding one index entry would make an
  // incomplete index, so none is written
  std::string p = tmp.file("noidx.mcap");
  write_file(p, {{"/x"}}, {{0, 1, "m"}}, {{"old.bin", "old"}},
             [](mcap_writer_options &o) { o.no_attachment_index = 1; });
  RunResult r = run_mcapkit({"add", "attachment", p, "-f", data, "--name", "new.bin"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(run_mcapkit({"check", p}).exit_code, 0);
  r = run_mcapkit({"list", "attachments", "--json", p});
  EXPECT_EQ(r.out, "");  // the file's summary lists no attachments, before and after
}

TEST(CliAdd, FailureLeavesTheOriginalByteIdentical) {
  TempDir tmp;
  std::string p = tmp.file("t.mcap");
  synth(p, {"-p", "tiny", "-d", "1"});
  const std::string before = read_file_or_throw(p);
  std::vector<std::string> entries = dir_entries(tmp.path());
  auto unchanged = [&](const char *what) {
    EXPECT_TRUE(read_file_or_throw(p) == before) << what;
    EXPECT_EQ(dir_entries(tmp.path()), entries) << what;  // no stray temporary file
  };
  RunResult r = run_mcapkit({"add", "attachment", p, "--file", tmp.file("missing")});
  EXPECT_EQ(r.exit_code, 1);
  unchanged("missing --file");
  r = run_mcapkit({"add", "attachment", p, "--file", tmp.path()});
  EXPECT_EQ(r.exit_code, 1);
  unchanged("--file is a directory");
  std::string data = tmp.file("d.txt");
  write_file_or_throw(data, "x");
  entries = dir_entries(tmp.path());

  // a failure injected after the new file was written and checked, just before the rename
  RunOptions ro;
  setenv("MCAPKIT_TEST_ADD_FAIL", "before-rename", 1);
  r = run_mcapkit({"add", "attachment", p, "--file", data}, ro);
  unsetenv("MCAPKIT_TEST_ADD_FAIL");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "left unchanged")) << r.err;
  unchanged("injected failure");

  // usage errors
  EXPECT_EQ(run_mcapkit({"add", "metadata", p, "--name", "m"}).exit_code, 2);
  EXPECT_EQ(run_mcapkit({"add", "metadata", p, "-k", "a=1"}).exit_code, 2);
  EXPECT_EQ(run_mcapkit({"add", "metadata", p, "--name", "m", "-k", "novalue"}).exit_code, 2);
  EXPECT_EQ(run_mcapkit({"add", "metadata", p, "--name", "m", "-k", "a=1", "-k", "a=2"}).exit_code, 2);
  EXPECT_EQ(run_mcapkit({"add", "attachment", p}).exit_code, 2);
  EXPECT_EQ(run_mcapkit({"add", "attachment", p, "-f", data, "--log-time", "later"}).exit_code, 2);
  EXPECT_EQ(run_mcapkit({"add", "attachment", "-", "-f", data}).exit_code, 2);
  unchanged("usage errors");

  // a damaged original is refused (its data CRC no longer matches)
  std::string bad = before;
  bad[bad.size() / 3] ^= 0x40;
  write_file_or_throw(p, bad);
  r = run_mcapkit({"add", "metadata", p, "--name", "m", "-k", "a=1"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(read_file_or_throw(p) == bad);
  EXPECT_EQ(dir_entries(tmp.path()), entries);
}
