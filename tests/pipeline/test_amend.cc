// test_amend.cc - pl_amend (pipeline/rewrite/amend.c): adding an attachment or a metadata
// record to a recording in place. The data section stays byte for byte, the new record is
// indexed when the index stays complete, every CRC reads back, and any failure leaves the
// original byte-identical with no temporary file beside it.
#include <dirent.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <set>
#include <string>

#include "mcap/mcap.h"
#include "pipeline/rewrite.h"
#include "run.h"
#include "test_rewrite_util.h"
#include "tmpdir.h"

using mcapkit_test::read_file_or_throw;
using mcapkit_test::TempDir;
using mcapkit_test::write_file_or_throw;

namespace {

std::set<std::string> entries(const std::string &dir) {
  std::set<std::string> out;
  DIR *d = opendir(dir.c_str());
  if (!d) return out;
  while (struct dirent *e = readdir(d)) out.insert(e->d_name);
  closedir(d);
  return out;
}

// Every record read back with the streamed reader (all CRCs checked); counts of attachments
// and metadata records in the data section.
void stream_ok(const std::string &path, uint64_t *atts, uint64_t *metas) {
  mcap_source src;
  mcap_error_info e;
  memset(&e, 0, sizeof e);
  ASSERT_EQ(mcap_source_open_file(&src, path.c_str(), &e), MCAP_OK) << e.msg;
  mcap_stream_reader *r = nullptr;
  ASSERT_EQ(mcap_stream_reader_new(&r, &src, nullptr), MCAP_OK);
  *atts = *metas = 0;
  mcap_record rec;
  int rc;
  bool data = true;
  while ((rc = mcap_stream_reader_next(r, &rec)) == MCAP_OK) {
    if (rec.opcode == MCAP_OP_DATA_END) data = false;
    if (data && rec.opcode == MCAP_OP_ATTACHMENT) ++*atts;
    if (data && rec.opcode == MCAP_OP_METADATA) ++*metas;
  }
  EXPECT_EQ(rc, MCAP_ITEROVER) << mcap_stream_reader_errmsg(r);
  mcap_stream_reader_free(r);
}

struct Indexed {
  mcap_reader *r = nullptr;
  explicit Indexed(const std::string &path) {
    mcap_source src;
    mcap_error_info e;
    memset(&e, 0, sizeof e);
    EXPECT_EQ(mcap_source_open_file(&src, path.c_str(), &e), MCAP_OK) << e.msg;
    EXPECT_EQ(mcap_reader_open(&r, &src, nullptr, &e), MCAP_OK) << e.msg;
  }
  ~Indexed() { mcap_reader_free(r); }
};

mcap_kv kv(const char *k, const char *v) {
  mcap_kv p;
  p.key = mcap_str_c(k);
  p.value = mcap_str_c(v);
  return p;
}

std::string str(mcap_str s) {
  return std::string(s.data ? s.data : "", s.len);
}

class Amend : public ::testing::Test {
 protected:
  TempDir tmp;
  std::string path = tmp.file("r.mcap");
  std::string before;
  void make(pl_synth_options o) {
    rwt::synth(path, o);
    before = read_file_or_throw(path);
  }
  // The original's DataEnd offset (where the new record goes).
  uint64_t data_end() {
    mcap_source src;
    mcap_error_info e;
    memset(&e, 0, sizeof e);
    EXPECT_EQ(mcap_source_open_file(&src, path.c_str(), &e), MCAP_OK);
    mcap_stream_reader *r = nullptr;
    EXPECT_EQ(mcap_stream_reader_new(&r, &src, nullptr), MCAP_OK);
    mcap_record rec;
    uint64_t off = 0;
    while (mcap_stream_reader_next(r, &rec) == MCAP_OK)
      if (rec.opcode == MCAP_OP_DATA_END) off = rec.offset;
    mcap_stream_reader_free(r);
    return off;
  }
  void expect_untouched() {
    EXPECT_TRUE(read_file_or_throw(path) == before) << "the original changed";
    EXPECT_EQ(entries(tmp.path()), (std::set<std::string>{".", "..", "r.mcap"}))
        << "a temporary file was left behind";
  }
};

TEST_F(Amend, MetadataSortedIndexedDataKept) {
  make(rwt::tiny(2));
  uint64_t de = data_end();
  mcap_kv pairs[] = {kv("site", "lab"), kv("b", "x=y"), kv("a", "")};
  pl_amend_options o;
  memset(&o, 0, sizeof o);
  o.metadata_name = "run";
  o.metadata = pairs;
  o.n_metadata = 3;
  pl_amend_result res;
  pl_error_info err;
  memset(&err, 0, sizeof err);
  ASSERT_EQ(pl_amend(path.c_str(), &o, &res, &err), PL_OK) << err.msg;
  EXPECT_EQ(res.offset, de);
  EXPECT_TRUE(res.indexed);
  std::string after = read_file_or_throw(path);
  EXPECT_EQ(after.compare(0, de, before, 0, de), 0) << "the data section is copied byte for byte";
  uint64_t atts, metas;
  stream_ok(path, &atts, &metas);
  EXPECT_EQ(metas, 3u);  // tiny has 2
  Indexed ix(path);
  ASSERT_NE(ix.r, nullptr);
  EXPECT_EQ(mcap_reader_index_source(ix.r, nullptr), MCAP_INDEX_FROM_SUMMARY);
  int from_file = 0;
  EXPECT_EQ(mcap_reader_statistics(ix.r, &from_file)->metadata_count, 3u);
  EXPECT_TRUE(from_file);
  ASSERT_EQ(mcap_reader_metadata_count(ix.r), 3u);
  const mcap_metadata_index *mi = mcap_reader_metadata_at(ix.r, 2);
  EXPECT_EQ(mi->offset, de);
  EXPECT_EQ(mi->length, res.length);
  EXPECT_EQ(str(mi->name), "run");
  mcap_metadata m;
  ASSERT_EQ(mcap_reader_read_metadata(ix.r, mi, &m), MCAP_OK);
  std::string keys;
  mcap_map_iter it = {0};
  mcap_str k, v;
  while (mcap_map_next_str(&m.metadata, &it, &k, &v) == MCAP_OK)
    keys += str(k) + "=" + str(v) + ";";
  EXPECT_EQ(keys, "a=;b=x=y;site=lab;");  // stored sorted by key
}

TEST_F(Amend, AttachmentStreamedFromAFile) {
  make(rwt::tiny(2, MCAP_COMPRESSION_LZ4));
  uint64_t de = data_end();
  // larger than the 1 MiB copy buffer: the data goes through in pieces
  std::string data((1u << 20) + 12345, '\0');
  for (size_t i = 0; i < data.size(); i++) data[i] = static_cast<char>(i * 131 + (i >> 9));
  std::string dpath = tmp.file("data.bin");
  write_file_or_throw(dpath, data);
  pl_amend_options o;
  memset(&o, 0, sizeof o);
  o.attachment_file = dpath.c_str();
  o.media_type = "application/x-test";
  o.has_log_time = 1;
  o.log_time = 1767225601500000000ull;
  o.has_create_time = 1;
  o.create_time = 7;
  pl_amend_result res;
  pl_error_info err;
  memset(&err, 0, sizeof err);
  ASSERT_EQ(pl_amend(path.c_str(), &o, &res, &err), PL_OK) << err.msg;
  unlink(dpath.c_str());
  EXPECT_EQ(res.offset, de);
  EXPECT_EQ(res.data_size, data.size());
  EXPECT_TRUE(res.indexed);
  uint64_t atts, metas;
  stream_ok(path, &atts, &metas);
  EXPECT_EQ(atts, 2u);
  Indexed ix(path);
  ASSERT_NE(ix.r, nullptr);
  ASSERT_EQ(mcap_reader_attachment_count(ix.r), 2u);
  const mcap_attachment_index *ai = mcap_reader_attachment_at(ix.r, 1);
  EXPECT_EQ(ai->offset, de);
  EXPECT_EQ(str(ai->name), "data.bin");  // the file's base name
  EXPECT_EQ(str(ai->media_type), "application/x-test");
  EXPECT_EQ(ai->log_time, 1767225601500000000ull);
  EXPECT_EQ(ai->create_time, 7u);
  mcap_attachment a;
  ASSERT_EQ(mcap_reader_read_attachment(ix.r, ai, &a), MCAP_OK);  // CRC checked
  EXPECT_NE(a.crc, 0u);
  ASSERT_EQ(a.data.len, data.size());
  EXPECT_EQ(memcmp(a.data.data, data.data(), data.size()), 0);
  int from_file = 0;
  EXPECT_EQ(mcap_reader_statistics(ix.r, &from_file)->attachment_count, 2u);
}

// Without CRCs the new file has none either; without a summary it gets none (the new
// record is found by a scan, not indexed).
TEST_F(Amend, KeepsTheFilesChoices) {
  pl_synth_options so = rwt::tiny(1);
  so.no_crcs = 1;
  make(so);
  mcap_kv pairs[] = {kv("k", "v")};
  pl_amend_options o;
  memset(&o, 0, sizeof o);
  o.metadata_name = "m";
  o.metadata = pairs;
  o.n_metadata = 1;
  pl_amend_result res;
  pl_error_info err;
  ASSERT_EQ(pl_amend(path.c_str(), &o, &res, &err), PL_OK) << err.msg;
  std::string after = read_file_or_throw(path);
  // the Footer's summary CRC (the 4 bytes before the closing magic) stays 0
  ASSERT_GT(after.size(), 12u);
  EXPECT_EQ(after.substr(after.size() - 12, 4), std::string(4, '\0'));

  so = rwt::tiny(1);
  so.no_summary = 1;
  make(so);
  ASSERT_EQ(pl_amend(path.c_str(), &o, &res, &err), PL_OK) << err.msg;
  EXPECT_FALSE(res.indexed);
  uint64_t atts, metas;
  stream_ok(path, &atts, &metas);
  EXPECT_EQ(metas, 3u);
  Indexed ix(path);
  ASSERT_NE(ix.r, nullptr);
  EXPECT_NE(mcap_reader_index_source(ix.r, nullptr), MCAP_INDEX_FROM_SUMMARY);
  EXPECT_EQ(mcap_reader_metadata_count(ix.r), 3u);  // found by the scan
}

TEST_F(Amend, BadOptionsLeaveTheFileAlone) {
  make(rwt::tiny(1));
  pl_error_info err;
  pl_amend_options o;
  memset(&o, 0, sizeof o);
  EXPECT_EQ(pl_amend(path.c_str(), &o, nullptr, &err), PL_EINVAL);  // neither
  mcap_kv dup[] = {kv("a", "1"), kv("b", "2"), kv("a", "3")};
  o.metadata_name = "m";
  o.metadata = dup;
  o.n_metadata = 3;
  EXPECT_EQ(pl_amend(path.c_str(), &o, nullptr, &err), PL_EINVAL);
  EXPECT_NE(std::string(err.msg).find("key 'a' is given twice"), std::string::npos) << err.msg;
  mcap_kv empty[] = {kv("", "1")};
  o.metadata = empty;
  o.n_metadata = 1;
  EXPECT_EQ(pl_amend(path.c_str(), &o, nullptr, &err), PL_EINVAL);
  o.n_metadata = 0;
  EXPECT_EQ(pl_amend(path.c_str(), &o, nullptr, &err), PL_EINVAL);
  o.attachment_file = "/etc/hostname";  // both
  EXPECT_EQ(pl_amend(path.c_str(), &o, nullptr, &err), PL_EINVAL);
  memset(&o, 0, sizeof o);
  o.attachment_file = tmp.path().c_str();  // a directory
  EXPECT_EQ(pl_amend(path.c_str(), &o, nullptr, &err), PL_EIO);
  EXPECT_NE(std::string(err.msg).find("is not a regular file"), std::string::npos) << err.msg;
  expect_untouched();
}

TEST_F(Amend, DamagedFileRefused) {
  make(rwt::tiny(1));
  before = before.substr(0, before.size() - 30);  // no Footer
  write_file_or_throw(path, before);
  mcap_kv pairs[] = {kv("k", "v")};
  pl_amend_options o;
  memset(&o, 0, sizeof o);
  o.metadata_name = "m";
  o.metadata = pairs;
  o.n_metadata = 1;
  pl_error_info err;
  EXPECT_EQ(pl_amend(path.c_str(), &o, nullptr, &err), PL_EMCAP);
  EXPECT_NE(std::string(err.msg).find("left unchanged"), std::string::npos) << err.msg;
  expect_untouched();
}

int refuse(void *user) {
  ++*static_cast<int *>(user);
  return 1;
}

// The last moment: the new file was written and checked, then abandoned.
TEST_F(Amend, AbandonedBeforeTheRename) {
  make(rwt::tiny(1));
  mcap_kv pairs[] = {kv("k", "v")};
  pl_amend_options o;
  memset(&o, 0, sizeof o);
  o.metadata_name = "m";
  o.metadata = pairs;
  o.n_metadata = 1;
  int calls = 0;
  o.before_commit = refuse;
  o.before_commit_user = &calls;
  pl_error_info err;
  EXPECT_EQ(pl_amend(path.c_str(), &o, nullptr, &err), PL_ECANCELED);
  EXPECT_EQ(calls, 1);
  EXPECT_NE(std::string(err.msg).find("'" + path + "' left unchanged"), std::string::npos)
      << err.msg;
  expect_untouched();
}

// A symbolic link is followed: the file it names is amended, the link stays a link.
TEST_F(Amend, ThroughASymlink) {
  make(rwt::tiny(1));
  chmod(path.c_str(), 0640);
  std::string link = tmp.file("link.mcap");
  ASSERT_EQ(symlink(path.c_str(), link.c_str()), 0);
  mcap_kv pairs[] = {kv("k", "v")};
  pl_amend_options o;
  memset(&o, 0, sizeof o);
  o.metadata_name = "m";
  o.metadata = pairs;
  o.n_metadata = 1;
  pl_error_info err;
  ASSERT_EQ(pl_amend(link.c_str(), &o, nullptr, &err), PL_OK) << err.msg;
  struct stat st;
  ASSERT_EQ(lstat(link.c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);  // the mode is kept
  EXPECT_GT(read_file_or_throw(path).size(), before.size());
}

}  // namespace
