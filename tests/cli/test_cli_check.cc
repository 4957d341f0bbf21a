// test_cli_check.cc - 'mcapkit check': valid files for every compression,
// corrupt and truncated files (exit 3, offset in the message), unreadable
// files (exit 1), several files, standard input and --json; on every broken
// file it is exactly the doctor's structural subset, with the doctor's counts.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "broken_files.h"
#include "run.h"
#include "tmpdir.h"

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

Json synth(const std::string &out, std::vector<std::string> extra) {
  std::vector<std::string> args{"synth", "-o", out, "--json"};
  args.insert(args.end(), extra.begin(), extra.end());
  RunResult r = run_mcapkit(args);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return Json::parse(r.out);
}

uint64_t largest_chunk_offset(const std::string &path) {
  RunResult r = run_mcapkit({"info", "--json", path});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return Json::parse(r.out)["largest_chunk"]["offset"].u64();
}

// Offset of the first byte of a chunk's records field, given the chunk's offset.
uint64_t chunk_records_start(const std::string &bytes, uint64_t chunk_offset) {
  // opcode + length, start/end times, uncompressed size, crc, compression string, records length
  uint64_t p = chunk_offset + 9 + 8 + 8 + 8 + 4;
  uint32_t clen = 0;
  for (int i = 3; i >= 0; i--) clen = (clen << 8) | static_cast<uint8_t>(bytes[p + i]);
  return p + 4 + clen + 8;
}

}  // namespace

TEST(CliCheck, ValidFilesForEveryCompression) {
  TempDir tmp;
  for (const char *c : {"zstd", "lz4", "none"}) {
    for (const char *profile : {"tiny", "robot"}) {
      std::string path = tmp.file(std::string(profile) + "_" + c + ".mcap");
      Json st =
          synth(path, {"-p", profile, "-c", c, "-d", std::string(profile) == "robot" ? "1" : "5"});
      RunResult r = run_mcapkit({"check", path});
      EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
      std::string want = "OK " + path + ": ";
      EXPECT_EQ(r.out.rfind(want, 0), 0u) << r.out;
      EXPECT_NE(r.out.find(", " + std::to_string(st["message_count"].u64()) + " messages, "),
                std::string::npos)
          << r.out;
      EXPECT_NE(r.out.find("CRCs verified\n"), std::string::npos) << r.out;
      EXPECT_EQ(r.err, "");
    }
  }
}

TEST(CliCheck, FlippedByteInsideChunkIsReportedWithOffset) {
  TempDir tmp;
  for (const char *c : {"none", "zstd", "lz4"}) {
    std::string good = tmp.file(std::string("good_") + c + ".mcap");
    std::string bad = tmp.file(std::string("bad_") + c + ".mcap");
    synth(good, {"-p", "robot", "-d", "0.5", "-c", c});
    uint64_t off = largest_chunk_offset(good);
    std::string bytes = read_file_or_throw(good);
    uint64_t at = chunk_records_start(bytes, off) + 1000;
    ASSERT_LT(at, bytes.size());
    bytes[at] = static_cast<char>(bytes[at] ^ 0x10);
    write_file_or_throw(bad, bytes);

    RunResult r = run_mcapkit({"check", bad});
    EXPECT_EQ(r.exit_code, 3) << c << ": " << r.out << r.err;
    EXPECT_EQ(r.out.rfind("FAIL " + bad + ": ", 0), 0u) << r.out;
    EXPECT_NE(r.out.find("offset " + std::to_string(off)), std::string::npos) << c << ": " << r.out;

    RunResult j = run_mcapkit({"check", "--json", bad});
    EXPECT_EQ(j.exit_code, 3);
    Json doc = Json::parse(j.out);
    EXPECT_FALSE(doc["ok"].boolean());
    EXPECT_EQ(doc["files"][0]["status"].str(), "invalid");
    EXPECT_EQ(doc["files"][0]["error_offset"].u64(), off);
  }
}

TEST(CliCheck, FlippedByteInChunkWithoutCompressionIsACrcError) {
  TempDir tmp;
  std::string good = tmp.file("g.mcap"), bad = tmp.file("b.mcap");
  synth(good, {"-p", "tiny", "-d", "3", "-c", "none"});
  uint64_t off = largest_chunk_offset(good);
  std::string bytes = read_file_or_throw(good);
  uint64_t at = chunk_records_start(bytes, off) + 200;
  bytes[at] = static_cast<char>(bytes[at] ^ 0x01);
  write_file_or_throw(bad, bytes);
  RunResult r = run_mcapkit({"check", "--json", bad});
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
  Json doc = Json::parse(r.out);
  EXPECT_EQ(doc["files"][0]["error_kind"].str(), "CRC mismatch") << r.out;
  EXPECT_NE(doc["files"][0]["error"].str().find("offset " + std::to_string(off)),
            std::string::npos);
}

TEST(CliCheck, TruncatedAndGarbageFilesAreInvalid) {
  TempDir tmp;
  std::string good = tmp.file("g.mcap");
  synth(good, {"-p", "tiny", "-d", "3"});
  std::string bytes = read_file_or_throw(good);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"trunc_half.mcap", bytes.substr(0, bytes.size() / 2)},
      {"trunc_tail.mcap", bytes.substr(0, bytes.size() - 3)},
      {"empty.mcap", ""},
      {"text.mcap", "this is not an mcap file\n"},
  };
  for (const auto &c : cases) {
    std::string p = tmp.file(c.first);
    write_file_or_throw(p, c.second);
    RunResult r = run_mcapkit({"check", p});
    // A damaged recording is invalid (3); input with no MCAP record at all is unreadable (1),
    // as for every command (it was 3 here before the exit codes were made uniform).
    EXPECT_EQ(r.exit_code, c.second.size() < 100 ? 1 : 3) << c.first << ": " << r.out << r.err;
    EXPECT_EQ(r.out.rfind("FAIL " + p + ": ", 0), 0u) << r.out;
    EXPECT_NE(r.err.find("'" + p + "'"), std::string::npos) << r.err;
  }
}

TEST(CliCheck, SeveralFilesAndExitCodes) {
  TempDir tmp;
  std::string a = tmp.file("a.mcap"), b = tmp.file("b.mcap"), bad = tmp.file("bad.mcap");
  synth(a, {"-p", "tiny", "-d", "1"});
  synth(b, {"-p", "tiny", "-d", "2", "-c", "lz4"});
  std::string half = read_file_or_throw(b);
  write_file_or_throw(bad, half.substr(0, half.size() / 2));  // invalid: exit 3
  std::string magic_only = tmp.file("magic.mcap");
  write_file_or_throw(magic_only, "\x89MCAP0\r\n");  // no record at all: unreadable, exit 1
  EXPECT_EQ(run_mcapkit({"check", magic_only}).exit_code, 1);
  std::string missing = tmp.file("missing.mcap");

  RunResult r = run_mcapkit({"check", a, b});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("2 of 2 files valid"), std::string::npos) << r.out;

  r = run_mcapkit({"check", a, bad, b});
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
  EXPECT_NE(r.out.find("OK " + b), std::string::npos) << "kept going after a bad file";

  r = run_mcapkit({"check", a, missing});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_EQ(r.err.rfind("mcapkit check: ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find(missing), std::string::npos) << r.err;

  r = run_mcapkit({"check", bad, missing});
  EXPECT_EQ(r.exit_code, 1) << "an unreadable file wins over an invalid one";

  r = run_mcapkit({"check", "--json", a, bad});
  EXPECT_EQ(r.exit_code, 3);
  Json doc = Json::parse(r.out);
  ASSERT_EQ(doc["files"].size(), 2u);
  EXPECT_TRUE(doc["files"][0]["ok"].boolean());
  EXPECT_FALSE(doc["files"][1]["ok"].boolean());
}

TEST(CliCheck, StandardInput) {
  TempDir tmp;
  std::string p = tmp.file("s.mcap");
  Json st = synth(p, {"-p", "robot", "-d", "0.5"});
  RunOptions o;
  o.stdin_data = read_file_or_throw(p);
  RunResult r = run_mcapkit({"check", "--json", "-"}, o);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  Json doc = Json::parse(r.out);
  EXPECT_EQ(doc["files"][0]["message_count"].u64(), st["message_count"].u64());
  EXPECT_GT(doc["files"][0]["chunk_count"].u64(), 0u);

  o.stdin_data = o.stdin_data.substr(0, o.stdin_data.size() - 100);
  r = run_mcapkit({"check", "-"}, o);
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
}

// check is the doctor's structural subset: the same pass and counts; it fails exactly when
// the doctor finds a structural error (docs/doctor.md's S column), with that error first;
// index or statistics errors (message-index-offset, ...) are the doctor's alone.
TEST(CliCheck, IsTheDoctorsStructuralSubsetWithTheSameCounts) {
  TempDir tmp;
  std::map<std::string, mcapkit_test::DocumentedCode> codes;
  for (const auto &c : mcapkit_test::documented_doctor_codes()) codes[c.code] = c;
  ASSERT_GT(codes.size(), 50u);
  int i = 0, structural_files = 0, index_only_files = 0;
  for (const mcapkit_test::BrokenFile &bf : mcapkit_test::broken_files()) {
    SCOPED_TRACE(bf.code + ": " + bf.what);
    std::string p = tmp.file("b" + std::to_string(i++) + ".mcap");
    write_file_or_throw(p, std::string(bf.bytes.begin(), bf.bytes.end()));
    RunResult c = run_mcapkit({"check", "--json", p});
    RunResult d = run_mcapkit({"doctor", "--json", p});
    Json cj = Json::parse(c.out), dj = Json::parse(d.out);
    const Json &cf = cj["files"][0];
    EXPECT_EQ(cf["record_count"].u64(), dj["stats"]["records"].u64());
    EXPECT_EQ(cf["message_count"].u64(), dj["stats"]["messages"].u64());
    EXPECT_EQ(cf["chunk_count"].u64(), dj["stats"]["chunks"].u64());
    std::string first_structural;
    size_t structural_errors = 0;
    for (size_t k = 0; k < dj["findings"].size(); k++) {
      const Json &f = dj["findings"][k];
      ASSERT_TRUE(codes.count(f["code"].str())) << f["code"].str();
      if (f["severity"].str() == "error" && codes[f["code"].str()].structural) {
        if (first_structural.empty()) first_structural = f["code"].str();
        structural_errors++;
      }
    }
    EXPECT_EQ(cf["errors"].u64(), structural_errors);
    if (structural_errors) {
      structural_files++;
      // no readable record at all is no MCAP file: a failure (1) for both, as for every command
      EXPECT_EQ(c.exit_code, cf["record_count"].u64() == 0 ? 1 : 3) << c.out;
      EXPECT_EQ(d.exit_code, c.exit_code) << d.out;
      EXPECT_EQ(cf["error_code"].str(), first_structural);
    } else {
      EXPECT_EQ(c.exit_code, 0) << c.out << d.out;
      if (d.exit_code == 3) index_only_files++;
    }
  }
  EXPECT_GT(structural_files, 10);
  EXPECT_GT(index_only_files, 10);

  // the case that looked like a contradiction: check OK, doctor error, both by design
  DoctorFileTweaks t;
  t.edit_message_indexes_a = [](std::vector<mcapkit_test::MessageIndex> &m) {
    m[0].entries[0].second += 1;
  };
  std::string p = tmp.file("mi.mcap");
  Bytes b = mcapkit_test::doctor_file(t);
  write_file_or_throw(p, std::string(b.begin(), b.end()));
  RunResult c = run_mcapkit({"check", p});
  EXPECT_EQ(c.exit_code, 0) << c.out;
  RunResult d = run_mcapkit({"doctor", p});
  EXPECT_EQ(d.exit_code, 3) << d.out;
  EXPECT_NE(d.out.find("message-index-offset"), std::string::npos) << d.out;
}
