// test_doctor.cc - pl_doctor_run: one small broken file per check (from
// broken_files.h) reports its code; valid files (the builder's base file,
// pl_synth_write variants, the official conformance set) report no errors;
// several problems are reported in one pass; truncation keeps what was found;
// a forward-only source served in small pieces gives the same findings; no
// byte flip or truncation of a file crashes it; the findings cap; the layouts
// widespread writers produce (writer_layouts.h, and the real recordings in
// ../shared/realworld read in place) are warnings, never errors.
#include <dirent.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "broken_files.h"
#include "mcap/mcap.h"
#include "mcap_builder.h"
#include "pipeline/pipeline.h"
#include "pipeline/synth.h"
#include "writer_layouts.h"

using namespace mcapkit_test;

namespace {

// A report with its findings copied out, so tests can print and search it.
struct Result {
  int rc = 0;
  pl_error_info err{};
  std::vector<pl_finding> findings;
  size_t errors = 0, warnings = 0, infos = 0;
  uint64_t records = 0, messages = 0, chunks = 0, bytes = 0;

  bool has(const std::string &code) const {
    return std::any_of(findings.begin(), findings.end(),
                       [&](const pl_finding &f) { return code == f.code; });
  }
  const pl_finding *find(const std::string &code) const {
    for (const pl_finding &f : findings)
      if (code == f.code) return &f;
    return nullptr;
  }
  std::string dump() const {
    std::ostringstream os;
    os << "rc=" << rc << " errors=" << errors << " warnings=" << warnings << " infos=" << infos
       << "\n";
    for (const pl_finding &f : findings) {
      os << "  " << pl_severity_name(f.severity) << " " << f.code << " @"
         << (f.offset == UINT64_MAX ? std::string("-") : std::to_string(f.offset)) << " "
         << f.message << "\n";
    }
    return os.str();
  }
};

Result run_source(mcap_source *src, const pl_doctor_options *o = nullptr) {
  Result r;
  pl_doctor_report *rep = nullptr;
  r.rc = pl_doctor_run(src, o, &rep, &r.err);
  if (rep) {
    r.findings.assign(rep->findings, rep->findings + rep->n_findings);
    r.errors = rep->n_errors;
    r.warnings = rep->n_warnings;
    r.infos = rep->n_infos;
    r.records = rep->records;
    r.messages = rep->messages;
    r.chunks = rep->chunks;
    r.bytes = rep->bytes;
  }
  pl_doctor_report_free(rep);
  return r;
}

Result run_bytes(const Bytes &b, const pl_doctor_options *o = nullptr) {
  // A private copy of exactly the file's size, so sanitizers see any overread.
  std::vector<uint8_t> copy(b);
  mcap_source src;
  EXPECT_EQ(mcap_source_from_memory(&src, copy.data(), copy.size()), MCAP_OK);
  return run_source(&src, o);
}

// A source of unknown size that hands out at most 7 bytes per read and (almost) only
// moves forward.
struct PieceSource {
  const uint8_t *data;
  uint64_t size;
  uint64_t last = 0;
  uint8_t buf[7];
};

int piece_read(void *payload, uint64_t offset, uint64_t len, const uint8_t **out, uint64_t *got,
               mcap_error_info *err) {
  PieceSource *p = static_cast<PieceSource *>(payload);
  (void)err;
  // The reader re-reads a record from its start after peeking at its envelope (a real
  // stream source keeps a window for that); everything else must move forward.
  EXPECT_GE(offset + 64, p->last) << "went back to " << offset;
  p->last = std::max(p->last, offset);
  uint64_t n = std::min<uint64_t>({len, sizeof p->buf, offset < p->size ? p->size - offset : 0});
  if (n) memcpy(p->buf, p->data + offset, n);
  *out = p->buf;
  *got = n;
  return MCAP_OK;
}

void piece_close(void *payload) {
  delete static_cast<PieceSource *>(payload);
}

Result run_pieces(const Bytes &b) {
  mcap_source src;
  PieceSource *p = new PieceSource();
  p->data = b.data();
  p->size = b.size();
  src.payload = p;
  src.size = MCAP_SIZE_UNKNOWN;
  src.read = piece_read;
  src.close = piece_close;
  return run_source(&src);
}

Bytes synth(const pl_synth_options &o) {
  mcap_sink sink;
  EXPECT_EQ(mcap_sink_memory(&sink, 0), MCAP_OK);
  char errbuf[256] = "";
  EXPECT_EQ(pl_synth_write(&sink, &o, nullptr, errbuf, sizeof errbuf), MCAP_OK) << errbuf;
  uint64_t size = 0;
  const uint8_t *data = mcap_sink_memory_data(&sink, &size);
  Bytes out(data, data + size);
  mcap_sink_close(&sink, nullptr);
  return out;
}

const pl_doctor_code *code_info(const std::string &code) {
  size_t n = 0;
  const pl_doctor_code *codes = pl_doctor_codes(&n);
  for (size_t i = 0; i < n; i++)
    if (code == codes[i].code) return &codes[i];
  static const pl_doctor_code none = {"?", PL_SEV_INFO, "?", 0, 0};
  ADD_FAILURE() << "no such code " << code;
  return &none;
}

pl_severity severity_of(const std::string &code) {
  size_t n = 0;
  const pl_doctor_code *codes = pl_doctor_codes(&n);
  for (size_t i = 0; i < n; i++)
    if (code == codes[i].code) return codes[i].severity;
  ADD_FAILURE() << "no such code " << code;
  return PL_SEV_INFO;
}

}  // namespace

TEST(Doctor, BaseFileIsClean) {
  Result r = run_bytes(doctor_file());
  EXPECT_EQ(r.rc, PL_OK);
  EXPECT_EQ(r.findings.size(), 0u) << r.dump();
  EXPECT_EQ(r.errors + r.warnings + r.infos, 0u);
  EXPECT_EQ(r.messages, 6u);
  EXPECT_EQ(r.chunks, 2u);
  EXPECT_EQ(r.bytes, doctor_file().size());
}

TEST(Doctor, EveryBrokenFileReportsItsCode) {
  for (const BrokenFile &bf : broken_files()) {
    SCOPED_TRACE(bf.code + ": " + bf.what);
    Result r = run_bytes(bf.bytes);
    ASSERT_EQ(r.rc, PL_OK) << r.err.msg;
    EXPECT_TRUE(r.has(bf.code)) << r.dump();
    const pl_finding *f = r.find(bf.code);
    if (f) {
      EXPECT_EQ(f->severity, severity_of(bf.code));
    }
    pl_doctor_report rep{};
    rep.n_errors = r.errors;
    rep.n_warnings = r.warnings;
    switch (severity_of(bf.code)) {
      case PL_SEV_ERROR:
        EXPECT_GT(r.errors, 0u);
        EXPECT_FALSE(pl_doctor_report_ok(&rep, 0));
        break;
      case PL_SEV_WARNING:
        EXPECT_GT(r.warnings, 0u);
        EXPECT_FALSE(pl_doctor_report_ok(&rep, 1));
        break;
      case PL_SEV_INFO:
        EXPECT_GT(r.infos, 0u);
        break;
    }
  }
}

TEST(Doctor, BrokenFilesGiveTheSameFindingsFromAPipeInPieces) {
  for (const BrokenFile &bf : broken_files()) {
    SCOPED_TRACE(bf.code + ": " + bf.what);
    Result a = run_bytes(bf.bytes);
    Result b = run_pieces(bf.bytes);
    ASSERT_EQ(b.rc, PL_OK) << b.err.msg;
    std::vector<std::string> ca, cb;
    for (const pl_finding &f : a.findings)
      ca.push_back(std::string(f.code) + "@" + std::to_string(f.offset));
    for (const pl_finding &f : b.findings)
      cb.push_back(std::string(f.code) + "@" + std::to_string(f.offset));
    // A source of unknown size cannot say how many bytes trail the magic; same code though.
    EXPECT_EQ(ca, cb) << a.dump() << b.dump();
  }
}

TEST(Doctor, EveryCodeHasABrokenFile) {
  std::set<std::string> covered;
  for (const BrokenFile &bf : broken_files()) covered.insert(bf.code);
  size_t n = 0;
  const pl_doctor_code *codes = pl_doctor_codes(&n);
  std::set<std::string> seen;
  for (size_t i = 0; i < n; i++) {
    std::string code = codes[i].code;
    EXPECT_TRUE(seen.insert(code).second) << "duplicate code " << code;
    EXPECT_LT(code.size(), sizeof(pl_finding{}.code));
    EXPECT_EQ(code.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-"), std::string::npos)
        << code;
    if (code == "findings-omitted") continue;  // tested by FindingsAreCapped
    EXPECT_TRUE(covered.count(code)) << "no broken file for " << code;
  }
  for (const std::string &c : covered) EXPECT_TRUE(seen.count(c)) << "unknown code " << c;
}

TEST(Doctor, SeveralProblemsAreAllReportedInOnePass) {
  DoctorFileTweaks t;
  t.edit_chunk_a = [](Chunk &c) { c.uncompressed_crc ^= 1; };
  t.edit_attachment = [](Attachment &a) {
    a.auto_crc = false;
    a.crc = a.computed_crc() ^ 1;
  };
  t.data_end_crc_xor = 4;
  t.edit_statistics = [](Statistics &s) { s.chunk_count = 7; };
  t.edit_footer = [](Footer &f) { f.summary_crc ^= 2; };
  t.edit_metadata_index = [](MetadataIndex &m) { m.name = "x"; };
  Result r = run_bytes(doctor_file(t));
  for (const char *code : {"crc-chunk", "crc-attachment", "crc-data", "crc-summary",
                           "statistics-chunk-count", "metadata-index-mismatch"}) {
    EXPECT_TRUE(r.has(code)) << code << "\n" << r.dump();
  }
  EXPECT_EQ(r.errors, 6u) << r.dump();
}

TEST(Doctor, TruncationEndsThePassButKeepsEarlierFindings) {
  DoctorFileTweaks t;
  t.edit_chunk_a = [](Chunk &c) { c.uncompressed_crc ^= 1; };
  Bytes full = doctor_file(t);
  Bytes cut(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(full.size() - 60));
  Result r = run_bytes(cut);
  EXPECT_TRUE(r.has("crc-chunk")) << r.dump();
  ASSERT_TRUE(r.has("truncated")) << r.dump();
  EXPECT_LT(r.find("truncated")->offset, cut.size());
  EXPECT_FALSE(r.has("footer-missing")) << r.dump();
}

TEST(Doctor, FindingOffsetsPointAtTheRecord) {
  DoctorFileTweaks t;
  t.edit_chunk_a = [](Chunk &c) { c.uncompressed_crc ^= 1; };
  t.edit_chunk_index = [](ChunkIndex &ci, int w) {
    if (w == 1) ci.compressed_size += 3;
  };
  Bytes b = doctor_file(t);
  Result r = run_bytes(b);
  const pl_finding *f = r.find("crc-chunk");
  ASSERT_NE(f, nullptr) << r.dump();
  ASSERT_LT(f->offset, b.size());
  EXPECT_EQ(b[f->offset], Chunk::kOpcode);
  f = r.find("chunk-index-mismatch");
  ASSERT_NE(f, nullptr) << r.dump();
  EXPECT_EQ(b[f->offset], ChunkIndex::kOpcode);
  EXPECT_NE(std::string(f->message).find("compressed_size"), std::string::npos) << f->message;
  f = r.find("magic-leading");
  EXPECT_EQ(f, nullptr);
}

TEST(Doctor, SynthFilesHaveNoErrors) {
  const mcap_compression comps[] = {MCAP_COMPRESSION_ZSTD, MCAP_COMPRESSION_LZ4,
                                    MCAP_COMPRESSION_NONE};
  for (pl_synth_profile profile : {PL_SYNTH_TINY, PL_SYNTH_ROBOT}) {
    for (mcap_compression c : comps) {
      for (int chunked = 0; chunked < 2; chunked++) {
        for (int summary = 0; summary < 2; summary++) {
          pl_synth_options o{};
          o.profile = profile;
          o.duration = profile == PL_SYNTH_ROBOT ? 0.5 : 5;
          o.compression = c;
          o.no_chunking = !chunked;
          o.no_summary = !summary;
          SCOPED_TRACE(std::string(pl_synth_profile_name(profile)) + " " +
                       mcap_compression_name(c) + (chunked ? " chunked" : " unchunked") +
                       (summary ? " summary" : " no-summary"));
          Bytes b = synth(o);
          Result r = run_bytes(b);
          ASSERT_EQ(r.rc, PL_OK);
          EXPECT_EQ(r.errors, 0u) << r.dump();
          EXPECT_EQ(r.warnings, 0u) << r.dump();
          EXPECT_GT(r.messages, 0u);
          EXPECT_EQ(r.bytes, b.size());
        }
      }
    }
  }
}

TEST(Doctor, SynthVariantsHaveNoErrors) {
  for (int variant = 0; variant < 7; variant++) {
    pl_synth_options o{};
    o.duration = 5;
    o.chunk_size = 4096;  // several chunks
    const char *name = "";
    switch (variant) {
      case 0:
        o.no_message_index = 1;
        name = "no message index";
        break;
      case 1:
        o.no_chunk_index = 1;
        name = "no chunk index";
        break;
      case 2:
        o.no_statistics = 1;
        name = "no statistics";
        break;
      case 3:
        o.no_summary_offsets = 1;
        name = "no summary offsets";
        break;
      case 4:
        o.no_crcs = 1;
        name = "no crcs";
        break;
      case 5:
        o.no_repeated_schemas_channels = 1;
        name = "no repeated schemas";
        break;
      case 6:
        o.n_attachments = 3;
        o.n_metadata = 4;
        name = "more attachments";
        break;
    }
    SCOPED_TRACE(name);
    Result r = run_bytes(synth(o));
    EXPECT_EQ(r.errors, 0u) << r.dump();
    if (variant == 5) {
      EXPECT_TRUE(r.has("summary-channel-missing")) << r.dump();
      EXPECT_TRUE(r.has("summary-schema-missing")) << r.dump();
    }
    if (variant == 0) {
      EXPECT_TRUE(r.has("message-index-absent")) << r.dump();
    }
  }
}

TEST(Doctor, ConformanceFilesHaveNoErrors) {
  std::string root = MCAPKIT_SOURCE_DIR "/../shared/conformance/data";
  DIR *top = opendir(root.c_str());
  if (!top) GTEST_SKIP() << "no conformance data at " << root;
  std::vector<std::string> files;
  while (dirent *e = readdir(top)) {
    if (e->d_name[0] == '.') continue;
    std::string dir = root + "/" + e->d_name;
    if (DIR *sub = opendir(dir.c_str())) {
      while (dirent *f = readdir(sub)) {
        std::string n = f->d_name;
        if (n.size() > 5 && n.compare(n.size() - 5, 5, ".mcap") == 0)
          files.push_back(dir + "/" + n);
      }
      closedir(sub);
    }
  }
  closedir(top);
  ASSERT_FALSE(files.empty());
  for (const std::string &path : files) {
    SCOPED_TRACE(path);
    std::ifstream in(path, std::ios::binary);
    Bytes b((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    Result r = run_bytes(b);
    ASSERT_EQ(r.rc, PL_OK);
    EXPECT_EQ(r.errors, 0u) << r.dump();
    EXPECT_EQ(r.bytes, b.size());
  }
}

// What rosbag2 and the official writers produce, and every reader accepts: warnings that
// name the cause, no error (so upload takes them), and --strict still fails them.
TEST(Doctor, WidespreadWriterLayoutsAreWarningsNotErrors) {
  for (const char *comp : {"", "zstd", "lz4"}) {
    SCOPED_TRACE(std::string("chunk compression '") + comp + "'");
    Bytes file = rosbag2_summary_only_file(comp);
    Result r = run_bytes(file);
    ASSERT_EQ(r.rc, PL_OK) << r.err.msg;
    EXPECT_EQ(r.errors, 0u) << r.dump();
    EXPECT_EQ(r.warnings, 4u) << r.dump();  // schemas 1 and 3, channels 1 and 3
    EXPECT_EQ(r.infos, 0u) << r.dump();
    for (const pl_finding &f : r.findings) {
      EXPECT_TRUE(std::string(f.code) == "summary-schema-unknown" ||
                  std::string(f.code) == "summary-channel-unknown")
          << r.dump();
      EXPECT_EQ(f.severity, PL_SEV_WARNING);
      EXPECT_NE(std::string(f.message).find("summary only"), std::string::npos) << f.message;
    }
    EXPECT_EQ(r.messages, kRosbag2Messages);
    pl_doctor_report rep{};
    rep.n_errors = r.errors;
    rep.n_warnings = r.warnings;
    EXPECT_TRUE(pl_doctor_report_ok(&rep, 0));
    EXPECT_FALSE(pl_doctor_report_ok(&rep, 1));  // --strict
    Result p = run_pieces(file);
    EXPECT_EQ(p.errors, 0u) << p.dump();
    EXPECT_EQ(p.warnings, r.warnings);
  }
  Result z = run_bytes(log_time_zero_file());
  ASSERT_EQ(z.rc, PL_OK);
  EXPECT_EQ(z.errors, 0u) << z.dump();
  ASSERT_EQ(z.findings.size(), 1u) << z.dump();
  EXPECT_STREQ(z.findings[0].code, "statistics-start-zero");
  EXPECT_EQ(z.findings[0].severity, PL_SEV_WARNING);
  EXPECT_NE(std::string(z.findings[0].message).find("log time 0"), std::string::npos);
  EXPECT_EQ(z.messages, kLogTimeZeroMessages);
}

// The exceptions are exactly the writers' layouts: anything else stays an error.
TEST(Doctor, OtherwiseWrongStatisticsAndDefinitionsStayErrors) {
  Result r = run_bytes(log_time_zero_file(2000000));  // start at 2 ms: not the writer's quirk
  EXPECT_TRUE(r.has("statistics-time-range")) << r.dump();
  EXPECT_FALSE(r.has("statistics-start-zero")) << r.dump();
  EXPECT_EQ(r.errors, 1u) << r.dump();

  // A summary channel may use a schema defined later in the summary (indexed readers read
  // the whole summary first), not one the file never defines.
  DoctorFileTweaks later;
  later.summary_extra = [](McapBuilder &b) {
    Channel c;
    c.id = 9;
    c.schema_id = 10;
    c.topic = "/later";
    c.message_encoding = "json";
    b.add(c);
    Schema s;
    s.id = 10;
    s.name = "test/Later";
    s.encoding = "jsonschema";
    s.data = bytes_of("{}");
    b.add(s);
  };
  Result l = run_bytes(doctor_file(later));
  EXPECT_FALSE(l.has("channel-unknown-schema")) << l.dump();
  EXPECT_TRUE(l.has("summary-channel-unknown")) << l.dump();
  EXPECT_TRUE(l.has("summary-schema-unknown")) << l.dump();
  EXPECT_EQ(l.errors, 0u) << l.dump();

  // Statistics counts that match neither every definition nor the data section's
  DoctorFileTweaks counts;
  counts.summary_extra = [](McapBuilder &b) {
    Channel c;
    c.id = 9;
    c.topic = "/summary-only";
    c.message_encoding = "json";
    b.add(c);
  };
  counts.edit_statistics = [](Statistics &s) { s.channel_count = 3; };  // data 2, all 3: fine
  EXPECT_FALSE(run_bytes(doctor_file(counts)).has("statistics-channel-count"));
  counts.edit_statistics = [](Statistics &s) { s.channel_count = 2; };
  EXPECT_FALSE(run_bytes(doctor_file(counts)).has("statistics-channel-count"));
  counts.edit_statistics = [](Statistics &s) { s.channel_count = 4; };
  EXPECT_TRUE(run_bytes(doctor_file(counts)).has("statistics-channel-count"));
}

// Recordings written by rosbag2 (../shared/realworld, read where they are): no errors;
// each layout named by its warning.
TEST(Doctor, RealWorldRecordingsHaveNoErrors) {
  std::string dir = MCAPKIT_SOURCE_DIR "/../shared/realworld/mcap";
  DIR *d = opendir(dir.c_str());
  if (!d) GTEST_SKIP() << "no real-world recordings at " << dir;
  closedir(d);
  struct Expect {
    const char *file;
    std::vector<std::string> codes;  // exactly these codes (any number of each)
  };
  const Expect expect[] = {
      {"only_topics.mcap", {"summary-schema-unknown", "summary-channel-unknown"}},
      {"convert_a.mcap", {"statistics-start-zero"}},
      {"talker.mcap", {}},
  };
  for (const Expect &e : expect) {
    std::string path = dir + "/" + e.file;
    SCOPED_TRACE(path);
    mcap_source src;
    mcap_error_info oe{};
    ASSERT_EQ(mcap_source_open_file(&src, path.c_str(), &oe), MCAP_OK) << oe.msg;
    Result r = run_source(&src);
    ASSERT_EQ(r.rc, PL_OK) << r.err.msg;
    EXPECT_EQ(r.errors, 0u) << r.dump();
    std::set<std::string> got, want(e.codes.begin(), e.codes.end());
    for (const pl_finding &f : r.findings) got.insert(f.code);
    EXPECT_EQ(got, want) << r.dump();
  }
}

TEST(Doctor, FindingsAreCappedButCountedExactly) {
  DoctorFileTweaks t;
  t.chunk_a_extra = [](ChunkBuilder &c) {
    for (uint32_t i = 0; i < 300; i++) {
      Message m;
      m.channel_id = 1;
      m.sequence = i;
      m.log_time = m.publish_time = 50;  // each one below the latest log time
      c.add(m);
    }
  };
  Bytes b = doctor_file(t);
  Result all = run_bytes(b);
  EXPECT_EQ(all.warnings, 300u) << all.dump();
  pl_doctor_options o{};
  o.max_findings = 20;
  Result r = run_bytes(b, &o);
  EXPECT_EQ(r.warnings, 300u);
  EXPECT_LE(r.findings.size(), 21u);
  EXPECT_TRUE(r.has("findings-omitted")) << r.dump();
  EXPECT_EQ(r.findings.back().severity, PL_SEV_INFO);
}

TEST(Doctor, NoByteFlipOrTruncationCrashes) {
  DoctorFileTweaks t;
  t.compression = "lz4";
  Bytes base = doctor_file(t);
  for (size_t i = 0; i < base.size(); i++) {
    Bytes b = base;
    b[i] ^= 0xA5;
    Result r = run_bytes(b);
    ASSERT_EQ(r.rc, PL_OK) << "flip at " << i << ": " << r.err.msg;
    ASSERT_GT(r.errors + r.warnings + r.infos, 0u) << "flip at " << i << " went unnoticed";
  }
  for (size_t n = 0; n < base.size(); n++) {
    Bytes b(base.begin(), base.begin() + static_cast<std::ptrdiff_t>(n));
    Result r = run_bytes(b);
    ASSERT_EQ(r.rc, PL_OK) << "cut at " << n;
    ASSERT_GT(r.errors, 0u) << "cut at " << n << " went unnoticed";
  }
}

// Every message of b through the streamed and the indexed reader (memory source, the copy
// exactly b's size so that sanitizers see any overread): an error must name a place.
static void read_all_or_name_the_offset(const Bytes &b, const std::string &what) {
  std::vector<uint8_t> copy(b);
  mcap_source src;
  ASSERT_EQ(mcap_source_from_memory(&src, copy.data(), copy.size()), MCAP_OK);
  mcap_stream_reader *sr = nullptr;
  ASSERT_EQ(mcap_stream_reader_new(&sr, &src, nullptr), MCAP_OK);
  mcap_record rec;
  int rc;
  while ((rc = mcap_stream_reader_next(sr, &rec)) == MCAP_OK) {
  }
  if (rc != MCAP_ITEROVER) {
    EXPECT_NE(mcap_stream_reader_error_offset(sr), UINT64_MAX)
        << what << ": streamed: " << mcap_stream_reader_errmsg(sr);
  }
  mcap_stream_reader_free(sr);

  ASSERT_EQ(mcap_source_from_memory(&src, copy.data(), copy.size()), MCAP_OK);
  mcap_reader *r = nullptr;
  mcap_error_info err{};
  if (mcap_reader_open(&r, &src, nullptr, &err) != MCAP_OK) {
    EXPECT_NE(err.offset, UINT64_MAX) << what << ": indexed open: " << err.msg;
    return;
  }
  mcap_query q;
  memset(&q, 0, sizeof q);
  q.order = MCAP_ORDER_LOG_TIME;
  mcap_message_iter *it = nullptr;
  if (mcap_reader_query(r, &q, &it) == MCAP_OK) {
    mcap_message_view v;
    while ((rc = mcap_message_iter_next(it, &v)) == MCAP_OK) {
    }
    if (rc != MCAP_ITEROVER) {
      EXPECT_NE(std::string(mcap_reader_errmsg(r)).find("offset"), std::string::npos)
          << what << ": indexed: " << mcap_reader_errmsg(r);
    }
    mcap_message_iter_free(it);
  }
  mcap_reader_free(r);
}

// The rosbag2 recordings of ../shared/realworld (read where they are), each byte flipped
// and cut at every place in their first and last 512 bytes (header, first records;
// summary, footer) and at every 7th elsewhere: the streamed and indexed readers and the
// doctor never crash, never fail without naming a place, and the doctor sees every cut.
TEST(Doctor, RealWorldRecordingsDamagedAnywhere) {
  std::string dir = MCAPKIT_SOURCE_DIR "/../shared/realworld/mcap";
  DIR *d = opendir(dir.c_str());
  if (!d) GTEST_SKIP() << "no real-world recordings at " << dir;
  closedir(d);
  for (const char *name : {"only_topics.mcap", "convert_a.mcap", "talker.mcap"}) {
    std::string path = dir + "/" + name;
    SCOPED_TRACE(path);
    std::ifstream in(path, std::ios::binary);
    ASSERT_TRUE(in.good());
    Bytes base((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    ASSERT_GT(base.size(), 2048u);
    for (size_t i = 0; i < base.size(); i += (i < 512 || i + 512 >= base.size()) ? 1 : 7) {
      Bytes b = base;
      b[i] ^= 0x5A;
      std::string at = "flip at " + std::to_string(i);
      ASSERT_NO_FATAL_FAILURE(read_all_or_name_the_offset(b, at));
      Result r = run_bytes(b);
      ASSERT_EQ(r.rc, PL_OK) << at << ": " << r.err.msg;
      Bytes c(base.begin(), base.begin() + static_cast<std::ptrdiff_t>(i));
      at = "cut at " + std::to_string(i);
      ASSERT_NO_FATAL_FAILURE(read_all_or_name_the_offset(c, at));
      r = run_bytes(c);
      ASSERT_EQ(r.rc, PL_OK) << at << ": " << r.err.msg;
      ASSERT_GT(r.errors, 0u) << at << " went unnoticed";
    }
  }
}

TEST(Doctor, ReportOkAndStrict) {
  pl_doctor_report r{};
  EXPECT_TRUE(pl_doctor_report_ok(&r, 0));
  EXPECT_TRUE(pl_doctor_report_ok(&r, 1));
  r.n_warnings = 1;
  EXPECT_TRUE(pl_doctor_report_ok(&r, 0));
  EXPECT_FALSE(pl_doctor_report_ok(&r, 1));
  r.n_infos = 5;
  r.n_warnings = 0;
  EXPECT_TRUE(pl_doctor_report_ok(&r, 1));
  r.n_errors = 1;
  EXPECT_FALSE(pl_doctor_report_ok(&r, 0));
  EXPECT_FALSE(pl_doctor_report_ok(nullptr, 0));
  EXPECT_STREQ(pl_severity_name(PL_SEV_ERROR), "error");
  EXPECT_STREQ(pl_severity_name(PL_SEV_WARNING), "warning");
  EXPECT_STREQ(pl_severity_name(PL_SEV_INFO), "info");
}

TEST(Doctor, BadArguments) {
  pl_error_info err;
  EXPECT_EQ(pl_doctor_run(nullptr, nullptr, nullptr, &err), PL_EINVAL);
  Bytes b = doctor_file();
  mcap_source src;
  ASSERT_EQ(mcap_source_from_memory(&src, b.data(), b.size()), MCAP_OK);
  EXPECT_EQ(pl_doctor_run(&src, nullptr, nullptr, &err), PL_EINVAL);  // closes src
  EXPECT_EQ(src.read, nullptr);
}

TEST(Doctor, EmptyAndNonMcapInput) {
  Result r = run_bytes(Bytes{});
  EXPECT_TRUE(r.has("truncated")) << r.dump();
  Result t = run_bytes(bytes_of("this is plainly not an MCAP file at all, just some text\n"));
  EXPECT_TRUE(t.has("magic-leading")) << t.dump();
  EXPECT_GT(t.errors, 0u);
}

// docs/doctor.md explains every code's severity: it lists exactly the table's codes, with
// the table's severities and structural marks.
TEST(DoctorDocs, EveryCodeIsDocumented) {
  std::vector<DocumentedCode> doc = documented_doctor_codes();
  size_t n = 0;
  const pl_doctor_code *codes = pl_doctor_codes(&n);
  ASSERT_EQ(doc.size(), n);
  for (size_t i = 0; i < n; i++) {
    SCOPED_TRACE(codes[i].code);
    auto it = std::find_if(doc.begin(), doc.end(),
                           [&](const DocumentedCode &d) { return d.code == codes[i].code; });
    ASSERT_NE(it, doc.end()) << "not in docs/doctor.md";
    char sev = codes[i].severity == PL_SEV_ERROR     ? 'E'
               : codes[i].severity == PL_SEV_WARNING ? 'W'
                                                     : 'I';
    EXPECT_EQ(it->severity, sev);
    EXPECT_EQ(it->structural, codes[i].structural != 0);
    // a structural error names the libmcap error a strict reader meets for it
    if (codes[i].structural && codes[i].severity == PL_SEV_ERROR) {
      EXPECT_NE(codes[i].mcap_code, 0);
    }
  }
}

// check's view: only structural findings, the same counts.
TEST(Doctor, StructuralOnlyKeepsTheCountsAndTheStructuralFindings) {
  for (const BrokenFile &bf : broken_files()) {
    SCOPED_TRACE(bf.code + ": " + bf.what);
    Result all = run_bytes(bf.bytes);
    pl_doctor_options o{};
    o.structural_only = 1;
    Result st = run_bytes(bf.bytes, &o);
    ASSERT_EQ(st.rc, PL_OK);
    EXPECT_EQ(st.records, all.records);
    EXPECT_EQ(st.messages, all.messages);
    EXPECT_EQ(st.chunks, all.chunks);
    EXPECT_EQ(st.bytes, all.bytes);
    std::vector<std::string> want, got;
    for (const pl_finding &f : all.findings)
      if (code_info(f.code)->structural) want.push_back(f.code + std::string("@") +
                                                        std::to_string(f.offset));
    for (const pl_finding &f : st.findings) {
      EXPECT_TRUE(code_info(f.code)->structural) << f.code;
      got.push_back(f.code + std::string("@") + std::to_string(f.offset));
    }
    EXPECT_EQ(got, want);
  }
}
