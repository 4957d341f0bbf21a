// test_cli_doctor.cc - 'mcapkit doctor': exit codes (0 clean or warnings only,
// 3 errors or --strict warnings, 1 unreadable, 2 usage), the human output
// (one line per finding plus a summary line), --json parsed back, standard
// input, and --help listing the severity policy and every finding code.
#include <gtest/gtest.h>

#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "broken_files.h"
#include "run.h"
#include "tmpdir.h"

using mcapkit_test::BrokenFile;
using mcapkit_test::Bytes;
using mcapkit_test::DoctorFileTweaks;
using mcapkit_test::Json;
using mcapkit_test::read_file_or_throw;
using mcapkit_test::run_mcapkit;
using mcapkit_test::RunOptions;
using mcapkit_test::RunResult;
using mcapkit_test::TempDir;
using mcapkit_test::write_file_or_throw;

namespace {

std::string write_bytes(const TempDir &tmp, const std::string &name, const Bytes &b) {
  std::string p = tmp.file(name);
  write_file_or_throw(p, std::string(b.begin(), b.end()));
  return p;
}

std::string last_line(const std::string &s) {
  std::string t = s;
  while (!t.empty() && t.back() == '\n') t.pop_back();
  size_t nl = t.rfind('\n');
  return nl == std::string::npos ? t : t.substr(nl + 1);
}

// The first chunk's offset: after the magic (8) and the Header record.
uint64_t first_chunk_offset(const Bytes &b) {
  uint64_t hlen = 0;
  for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | b[9 + i];
  return 8 + 9 + hlen;
}

}  // namespace

TEST(CliDoctor, ValidFileExitsZero) {
  TempDir tmp;
  std::string p = tmp.file("ok.mcap");
  RunResult s = run_mcapkit({"synth", "-o", p, "-p", "robot", "-d", "0.5", "-c", "lz4"});
  ASSERT_EQ(s.exit_code, 0) << s.err;
  RunResult r = run_mcapkit({"doctor", p});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(r.out.rfind("OK " + p + ": 0 errors, 0 warnings, 0 infos (", 0), 0u) << r.out;
  EXPECT_EQ(r.err, "");
}

TEST(CliDoctor, ErrorsExitThreeWithOneLinePerFinding) {
  TempDir tmp;
  DoctorFileTweaks t;
  t.edit_chunk_a = [](mcapkit_test::Chunk &c) { c.uncompressed_crc ^= 1; };
  t.data_end_crc_xor = 1;
  Bytes b = mcapkit_test::doctor_file(t);
  std::string p = write_bytes(tmp, "bad.mcap", b);
  RunResult r = run_mcapkit({"doctor", p});
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
  std::string chunk_at = "@" + std::to_string(first_chunk_offset(b));
  // "error   crc-chunk  @1234  chunk CRC mismatch: ..."
  std::istringstream lines(r.out);
  std::string line;
  int n_lines = 0;
  bool saw_chunk = false, saw_data = false;
  while (std::getline(lines, line)) {
    n_lines++;
    if (line.rfind("error   crc-chunk  " + chunk_at + "  chunk CRC mismatch: ", 0) == 0)
      saw_chunk = true;
    if (line.rfind("error   crc-data   @", 0) == 0) saw_data = true;
  }
  EXPECT_TRUE(saw_chunk) << r.out;
  EXPECT_TRUE(saw_data) << r.out;
  EXPECT_EQ(n_lines, 3) << r.out;
  EXPECT_EQ(last_line(r.out).rfind("FAIL " + p + ": 2 errors, 0 warnings, 0 infos (", 0), 0u)
      << r.out;
}

TEST(CliDoctor, WarningsPassUnlessStrict) {
  TempDir tmp;
  DoctorFileTweaks t;
  t.library = "";  // header-library-empty: a warning
  std::string p = write_bytes(tmp, "warn.mcap", mcapkit_test::doctor_file(t));
  RunResult r = run_mcapkit({"doctor", p});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("warning header-library-empty  @8  "), std::string::npos) << r.out;
  EXPECT_EQ(last_line(r.out).rfind("OK " + p + ": 0 errors, 1 warning, 0 infos", 0), 0u) << r.out;
  r = run_mcapkit({"doctor", "--strict", p});
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
  EXPECT_EQ(last_line(r.out).rfind("FAIL ", 0), 0u) << r.out;

  // Infos never fail, not even with --strict (an identical repeat of a channel is legal).
  DoctorFileTweaks i;
  i.chunk_a_extra = [](mcapkit_test::ChunkBuilder &c) {
    mcapkit_test::Channel ch;
    ch.id = 2;
    ch.schema_id = 1;
    ch.topic = "/b";
    ch.message_encoding = "json";
    c.add(ch);
  };
  std::string q = write_bytes(tmp, "info.mcap", mcapkit_test::doctor_file(i));
  r = run_mcapkit({"doctor", "--strict", q});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("info    duplicate-channel  @"), std::string::npos) << r.out;

  // Chunks without message indexes are legal but some readers refuse them: a warning.
  DoctorFileTweaks w;
  w.message_indexes = false;
  std::string v = write_bytes(tmp, "noidx.mcap", mcapkit_test::doctor_file(w));
  r = run_mcapkit({"doctor", v});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("warning message-index-absent  @-  "), std::string::npos) << r.out;
  EXPECT_EQ(run_mcapkit({"doctor", "--strict", v}).exit_code, 3);
}

TEST(CliDoctor, EveryBrokenFileFailsOrWarns) {
  TempDir tmp;
  int i = 0;
  for (const BrokenFile &bf : mcapkit_test::broken_files()) {
    std::string p = write_bytes(tmp, "b" + std::to_string(i++) + ".mcap", bf.bytes);
    RunResult r = run_mcapkit({"doctor", "--strict", "--json", p});
    Json doc = Json::parse(r.out);
    bool found = false;
    for (size_t k = 0; k < doc["findings"].size(); k++)
      if (doc["findings"][k]["code"].str() == bf.code) found = true;
    EXPECT_TRUE(found) << bf.code << ": " << bf.what << "\n" << r.out;
    bool info_only = doc["errors"].u64() == 0 && doc["warnings"].u64() == 0;
    // not one record readable: no recording with problems but unreadable input (exit 1)
    bool unreadable = doc["stats"]["records"].u64() == 0;
    EXPECT_EQ(r.exit_code, unreadable ? 1 : info_only ? 0 : 3) << bf.code << "\n" << r.out << r.err;
    EXPECT_EQ(doc["ok"].boolean(), info_only);
  }
}

TEST(CliDoctor, JsonDocument) {
  TempDir tmp;
  DoctorFileTweaks t;
  t.edit_statistics = [](mcapkit_test::Statistics &s) { s.message_count = 99; };
  t.profile = "custom";
  std::string p = write_bytes(tmp, "j.mcap", mcapkit_test::doctor_file(t));
  RunResult r = run_mcapkit({"doctor", "--json", p});
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
  Json doc = Json::parse(r.out);
  EXPECT_EQ(doc["format_version"].u64(), 1u);
  EXPECT_EQ(doc["file"].str(), p);
  EXPECT_FALSE(doc["ok"].boolean());
  EXPECT_EQ(doc["errors"].u64(), 1u);
  EXPECT_EQ(doc["warnings"].u64(), 1u);
  ASSERT_EQ(doc["findings"].size(), 2u) << r.out;
  std::set<std::string> codes;
  for (size_t i = 0; i < doc["findings"].size(); i++) {
    const Json &f = doc["findings"][i];
    codes.insert(f["code"].str());
    EXPECT_TRUE(f["severity"].str() == "error" || f["severity"].str() == "warning");
    EXPECT_EQ(f["offset"].type(), Json::kNumber);
    EXPECT_FALSE(f["message"].str().empty());
  }
  EXPECT_TRUE(codes.count("statistics-message-count"));
  EXPECT_TRUE(codes.count("header-profile-unknown"));
  const Json &st = doc["stats"];
  EXPECT_EQ(st["messages"].u64(), 6u);
  EXPECT_EQ(st["chunks"].u64(), 2u);
  EXPECT_GT(st["records"].u64(), 6u);
  EXPECT_EQ(st["bytes"].u64(), read_file_or_throw(p).size());

  // The global --json works too, and an unknown offset is null.
  DoctorFileTweaks i;
  i.message_indexes = false;
  std::string q = write_bytes(tmp, "i.mcap", mcapkit_test::doctor_file(i));
  r = run_mcapkit({"--json", "doctor", q});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  doc = Json::parse(r.out);
  EXPECT_TRUE(doc["ok"].boolean());
  ASSERT_EQ(doc["findings"].size(), 1u);
  EXPECT_TRUE(doc["findings"][0]["offset"].is_null());
  EXPECT_EQ(doc["findings"][0]["severity"].str(), "warning");
}

TEST(CliDoctor, StandardInput) {
  TempDir tmp;
  std::string p = tmp.file("s.mcap");
  ASSERT_EQ(run_mcapkit({"synth", "-o", p, "-p", "tiny", "-d", "3"}).exit_code, 0);
  RunOptions o;
  o.stdin_data = read_file_or_throw(p);
  RunResult r = run_mcapkit({"doctor", "-"}, o);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(r.out.rfind("OK -: ", 0), 0u) << r.out;

  o.stdin_data = o.stdin_data.substr(0, o.stdin_data.size() - 50);
  r = run_mcapkit({"doctor", "--json", "-"}, o);
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
  Json doc = Json::parse(r.out);
  EXPECT_EQ(doc["findings"][doc["findings"].size() - 1]["code"].str(), "truncated") << r.out;
}

TEST(CliDoctor, UnreadableAndUsage) {
  TempDir tmp;
  RunResult r = run_mcapkit({"doctor", tmp.file("missing.mcap")});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_EQ(r.err.rfind("mcapkit doctor: ", 0), 0u) << r.err;
  EXPECT_EQ(r.out, "");
  r = run_mcapkit({"doctor", tmp.path()});  // a directory
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;

  EXPECT_EQ(run_mcapkit({"doctor"}).exit_code, 2);
  EXPECT_EQ(run_mcapkit({"doctor", "-", "-"}).exit_code, 2);  // standard input twice
  EXPECT_EQ(run_mcapkit({"doctor", "a.mcap", "b.mcap"}).exit_code, 1);  // several: neither exists
  EXPECT_EQ(run_mcapkit({"doctor", "--bogus", "a.mcap"}).exit_code, 2);
  EXPECT_EQ(run_mcapkit({"doctor", "--max-findings", "-3", "a.mcap"}).exit_code, 2);
}

TEST(CliDoctor, HelpListsSeverityPolicyAndEveryCode) {
  RunResult r = run_mcapkit({"doctor", "--help"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("usage: mcapkit doctor [--strict] [--json] FILE"), std::string::npos);
  EXPECT_NE(r.out.find("Severity policy:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Exit status: 0"), std::string::npos) << r.out;
  // The code table lists each code once with its severity letter.
  std::set<std::string> listed;
  std::istringstream lines(r.out.substr(r.out.find("finding codes")));
  std::string line;
  std::getline(lines, line);
  while (std::getline(lines, line)) {
    std::istringstream w(line);
    std::string code, sev;
    w >> code >> sev;
    if (code.empty()) continue;
    EXPECT_TRUE(sev == "E" || sev == "W" || sev == "I") << line;
    EXPECT_TRUE(listed.insert(code).second) << "listed twice: " << code;
  }
  std::set<std::string> expected{"findings-omitted"};
  for (const BrokenFile &bf : mcapkit_test::broken_files()) expected.insert(bf.code);
  EXPECT_EQ(listed, expected);

  RunResult h = run_mcapkit({"help", "doctor"});
  EXPECT_EQ(h.exit_code, 0);
  EXPECT_EQ(h.out, r.out);
  RunResult g = run_mcapkit({"help"});
  EXPECT_NE(g.out.find("  doctor "), std::string::npos) << g.out;
}
