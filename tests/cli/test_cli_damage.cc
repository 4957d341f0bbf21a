// test_cli_damage.cc - exit 0 means complete: every command that reads a recording, given
// a truncated copy or one with 4 KiB of garbage in the middle (written over the bytes, or
// inserted so that every offset after it moves), prints what it could read, says on
// stderr what it could not (one line: the file, "incomplete", the offset) and exits 3 --
// as a file, through a pipe ('-'), and with standard input redirected from the file.
// A file whose summary is intact and whose damage lies in a chunk is complete for the
// commands that read only the summary and the attachments (info, list, get, extract).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "run.h"
#include "tmpdir.h"

using mcapkit_test::mcapkit_path;
using mcapkit_test::read_file_or_throw;
using mcapkit_test::run_mcapkit;
using mcapkit_test::run_program;
using mcapkit_test::RunOptions;
using mcapkit_test::RunResult;
using mcapkit_test::TempDir;
using mcapkit_test::write_file_or_throw;

namespace {

bool contains(const std::string &s, const std::string &part) {
  return s.find(part) != std::string::npos;
}

size_t lines(const std::string &s) {
  size_t n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

struct Files {
  TempDir tmp;
  std::string good, trunc, over, ins;
  Files() {
    good = tmp.file("good.mcap");
    RunResult r = run_mcapkit({"synth", "-p", "tiny", "-d", "20", "--chunk-size", "4K", "-o", good});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::string b = read_file_or_throw(good);
    size_t m = b.size() / 2;
    trunc = tmp.file("trunc.mcap");
    write_file_or_throw(trunc, b.substr(0, m));
    over = tmp.file("over.mcap");
    write_file_or_throw(over, b.substr(0, m) + std::string(4096, '\xAB') + b.substr(m + 4096));
    ins = tmp.file("ins.mcap");
    write_file_or_throw(ins, b.substr(0, m) + std::string(4096, '\xAB') + b.substr(m));
  }
};

// The one-line report of what could not be read.
void expect_incomplete(const RunResult &r, const std::string &name, const std::string &what) {
  EXPECT_EQ(r.exit_code, 3) << what << "\n" << r.err;
  EXPECT_TRUE(contains(r.err, name + ": incomplete: ")) << what << "\n" << r.err;
  EXPECT_TRUE(contains(r.err, "offset ")) << what << "\n" << r.err;
  EXPECT_EQ(lines(r.err), 1u) << what << "\n" << r.err;
}

// Commands that read every message: damage anywhere is theirs to report.
std::vector<std::vector<std::string>> message_commands(const std::string &dir) {
  return {{"cat"},
          {"cat", "--order", "file"},
          {"du"},
          {"filter", "-o", dir + "/f.mcap"},
          {"filter", "--order", "log-time", "-o", dir + "/fl.mcap"},
          {"compress", "-o", dir + "/c.mcap"},
          {"decompress", "-o", dir + "/d.mcap"},
          {"sort", "-o", dir + "/s.mcap"},
          {"merge", "-o", dir + "/m.mcap"},
          {"index"},
          {"coverage"},
          {"lake", "--allow-partial", "--lake", dir + "/lake"}};
}

// Commands that read the index (summary, or a scan without one) and attachments.
std::vector<std::vector<std::string>> index_commands(const std::string &dir) {
  return {{"info"},
          {"list", "channels"},
          {"list", "chunks"},
          {"list", "metadata"},
          {"du", "-a"},
          {"get", "attachment", "--name", "calibration.yaml", "-o", dir + "/att"},
          {"extract", "attachments", "-o", dir + "/ex"}};
}

std::string label(const std::vector<std::string> &cmd, const std::string &file) {
  std::string s;
  for (const std::string &a : cmd) s += a + " ";
  return s + file;
}

}  // namespace

TEST(CliDamage, GoodFileIsCompleteEverywhere) {
  Files f;
  for (auto cmds : {message_commands(f.tmp.path()), index_commands(f.tmp.path())}) {
    for (std::vector<std::string> cmd : cmds) {
      cmd.push_back(f.good);
      RunResult r = run_mcapkit(cmd);
      EXPECT_EQ(r.exit_code, 0) << label(cmd, "") << "\n" << r.err;
      EXPECT_FALSE(contains(r.err, "incomplete")) << r.err;
    }
  }
}

// Without a usable summary (truncated; garbage inserted, which moves every offset the
// summary holds) the index itself is incomplete: every command says so.
TEST(CliDamage, TruncatedOrShiftedFilesAreIncompleteForEveryCommand) {
  Files f;
  for (const std::string &file : {f.trunc, f.ins}) {
    std::string name = "'" + file + "'";
    for (auto cmds : {message_commands(f.tmp.path()), index_commands(f.tmp.path())}) {
      for (std::vector<std::string> cmd : cmds) {
        cmd.push_back(file);
        RunResult r = run_mcapkit(cmd);
        expect_incomplete(r, name, label(cmd, ""));
        // what could be read is printed: du's tables too (it printed only an error before,
        // while du -a printed a table and exited 0)
        if (cmd[0] == "cat" || cmd[0] == "du" || cmd[0] == "info" || cmd[0] == "list" ||
            cmd[0] == "index") {
          EXPECT_GT(lines(r.out), 2u) << label(cmd, "") << "\n" << r.out;
        }
      }
    }
  }
}

// Garbage over a chunk of a file whose summary is intact: the commands that read messages
// skip the damaged chunks, go on after them and say how much was lost; the others read
// nothing damaged and are complete.
TEST(CliDamage, GarbageOverChunksIsReportedByWhatReadsThem) {
  Files f;
  std::string name = "'" + f.over + "'";
  for (std::vector<std::string> cmd : message_commands(f.tmp.path())) {
    cmd.push_back(f.over);
    RunResult r = run_mcapkit(cmd);
    expect_incomplete(r, name, label(cmd, ""));
  }
  for (std::vector<std::string> cmd : index_commands(f.tmp.path())) {
    if (cmd[0] == "du") continue;  // -a reads message indexes only: complete as well
    cmd.push_back(f.over);
    RunResult r = run_mcapkit(cmd);
    EXPECT_EQ(r.exit_code, 0) << label(cmd, "") << "\n" << r.err;
  }
  // cat goes on after the damaged chunks: more than the messages before them, fewer than all
  RunResult all = run_mcapkit({"cat", f.good});
  RunResult cut = run_mcapkit({"cat", f.trunc});
  RunResult r = run_mcapkit({"cat", f.over});
  EXPECT_GT(lines(r.out), lines(cut.out));
  EXPECT_LT(lines(r.out), lines(all.out));
  EXPECT_TRUE(contains(r.err, "damaged chunk")) << r.err;
  EXPECT_TRUE(contains(r.err, "messages lost")) << r.err;
}

// Through a pipe, and with standard input redirected from the damaged file.
TEST(CliDamage, StandardInputAsPipeOrFileIsReportedToo) {
  Files f;
  std::string dir = f.tmp.path();
  std::vector<std::vector<std::string>> cmds = {{"cat", "-"},
                                                {"info", "-"},
                                                {"du", "-"},
                                                {"list", "channels", "-"},
                                                {"filter", "-", "-o", dir + "/f.mcap"},
                                                {"compress", "-", "-o", dir + "/c.mcap"},
                                                {"decompress", "-", "-o", dir + "/d.mcap"},
                                                {"sort", "-", "-o", dir + "/s.mcap"}};
  RunOptions ro;
  ro.stdin_data = read_file_or_throw(f.trunc);
  for (const auto &cmd : cmds) {
    RunResult r = run_mcapkit(cmd, ro);
    expect_incomplete(r, "standard input", label(cmd, "< pipe"));
  }
  for (const auto &cmd : cmds) {
    std::string line = "'" + mcapkit_path() + "'";
    for (const std::string &a : cmd) line += " '" + a + "'";
    line += " < '" + f.trunc + "'";
    RunResult r = run_program({"/bin/sh", "-c", line});
    expect_incomplete(r, "standard input", label(cmd, "< file"));
  }
}

// The output of a rewrite of a damaged file is a complete, valid file of what was read;
// --in-place never replaces a damaged input with part of it.
TEST(CliDamage, RewriteOutputIsValidAndInPlaceIsRefused) {
  Files f;
  std::string out = f.tmp.file("o.mcap");
  RunResult r = run_mcapkit({"filter", f.over, "-o", out, "--json"});
  ASSERT_EQ(r.exit_code, 3) << r.err;
  mcapkit_test::Json j = mcapkit_test::Json::parse(r.out);
  EXPECT_FALSE(j["complete"].boolean());
  EXPECT_GE(j["damage"]["chunks_skipped"].u64(), 1u);
  EXPECT_EQ(run_mcapkit({"doctor", out}).exit_code, 0);
  std::string before = read_file_or_throw(f.over);
  r = run_mcapkit({"compress", f.over, "--in-place"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_TRUE(contains(r.err, "left as it is")) << r.err;
  EXPECT_EQ(read_file_or_throw(f.over), before);
}

// The JSON documents say it too: "complete", and "damage" when not.
TEST(CliDamage, JsonSaysWhetherComplete) {
  Files f;
  for (const char *cmd : {"info", "du"}) {
    RunResult r = run_mcapkit({cmd, "--json", f.good});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(mcapkit_test::Json::parse(r.out)["complete"].boolean()) << cmd;
    r = run_mcapkit({cmd, "--json", f.trunc});
    ASSERT_EQ(r.exit_code, 3) << r.err;
    mcapkit_test::Json j = mcapkit_test::Json::parse(r.out);
    EXPECT_FALSE(j["complete"].boolean()) << cmd;
    EXPECT_GT(j["damage"]["stop_offset"].u64(), 0u) << cmd;
    EXPECT_GT(j["damage"]["bytes_skipped"].u64(), 0u) << cmd;
  }
}

// An attachment whose data no longer matches its CRC: the rewrites leave it out (their
// writer would give the damaged bytes a new, valid CRC), write everything else, say what
// they skipped and exit 3 (they failed with exit 1 and wrote nothing before).
TEST(CliDamage, DamagedAttachmentIsLeftOutOfRewrites) {
  Files f;
  RunResult l = run_mcapkit({"list", "attachments", "--json", f.good});
  ASSERT_EQ(l.exit_code, 0) << l.err;
  mcapkit_test::Json a = mcapkit_test::Json::parse(l.out);
  uint64_t off = a["offset"].u64(), len = a["length"].u64();
  std::string b = read_file_or_throw(f.good);
  ASSERT_LT(off + len, b.size());
  b[off + len - 20] = (char)(b[off + len - 20] ^ 0x5A);  // inside the data, before the CRC
  std::string bad = f.tmp.file("att.mcap"), name = "'" + bad + "'";
  write_file_or_throw(bad, b);
  RunResult all = run_mcapkit({"cat", f.good});
  std::string dir = f.tmp.path();
  std::vector<std::vector<std::string>> cmds = {{"filter", "-o", dir + "/f.mcap"},
                                                {"filter", "--order", "log-time", "-o", dir + "/fl.mcap"},
                                                {"compress", "-o", dir + "/c.mcap"},
                                                {"decompress", "-o", dir + "/d.mcap"},
                                                {"sort", "-o", dir + "/s.mcap"},
                                                {"merge", "-o", dir + "/m.mcap"}};
  for (std::vector<std::string> cmd : cmds) {
    std::string out = cmd[cmd.size() - 1];
    cmd.push_back(bad);
    RunResult r = run_mcapkit(cmd);
    expect_incomplete(r, name, label(cmd, ""));
    EXPECT_TRUE(contains(r.err, "damaged at offset " + std::to_string(off))) << r.err;
    EXPECT_TRUE(contains(r.err, "attachment 'calibration.yaml'")) << r.err;
    EXPECT_TRUE(contains(r.err, "CRC mismatch")) << r.err;
    // a valid file with every message and no attachment
    EXPECT_EQ(run_mcapkit({"check", out}).exit_code, 0) << label(cmd, "");
    EXPECT_EQ(run_mcapkit({"cat", out}).out, all.out) << label(cmd, "");
    RunResult la = run_mcapkit({"list", "attachments", "--json", out});
    EXPECT_EQ(la.exit_code, 0) << la.err;
    EXPECT_EQ(la.out, "") << label(cmd, "");
  }
}

// Garbage inside a chunk's compressed bytes, its header intact: a rewrite that copies the
// chunk through unopened copies the damage with the input's chunk CRC, so the output fails
// 'check' as the input does (nothing hidden); --no-passthrough opens every chunk and so
// reports it, leaves it out and exits 3.
TEST(CliDamage, PassThroughCopiesDamageVisiblyAndNoPassthroughReportsIt) {
  Files f;
  RunResult l = run_mcapkit({"list", "chunks", "--json", f.good});
  ASSERT_EQ(l.exit_code, 0) << l.err;
  // the last chunk: the first ones hold the definitions and are always looked into
  std::string last = l.out.substr(0, l.out.size() - 1);
  last = last.substr(last.rfind('\n') + 1);
  mcapkit_test::Json c = mcapkit_test::Json::parse(last);
  uint64_t off = c["offset"].u64(), len = c["length"].u64();
  std::string b = read_file_or_throw(f.good);
  for (uint64_t i = off + len - 200; i < off + len - 100; i++) b[i] = '\xAB';
  std::string bad = f.tmp.file("inside.mcap");
  write_file_or_throw(bad, b);
  ASSERT_EQ(run_mcapkit({"check", bad}).exit_code, 3);
  for (const char *cmd : {"filter", "compress"}) {
    std::string out = f.tmp.file(std::string(cmd) + ".mcap");
    RunResult r = run_mcapkit({cmd, bad, "-o", out});
    EXPECT_EQ(r.exit_code, 0) << cmd << "\n" << r.err;
    EXPECT_EQ(run_mcapkit({"check", out}).exit_code, 3) << cmd;  // the damage is still seen
    r = run_mcapkit({cmd, "--no-passthrough", bad, "-o", out});
    expect_incomplete(r, "'" + bad + "'", std::string(cmd) + " --no-passthrough");
    EXPECT_TRUE(contains(r.err, "chunk at offset " + std::to_string(off))) << r.err;
    EXPECT_EQ(run_mcapkit({"check", out}).exit_code, 0) << cmd;
  }
}
