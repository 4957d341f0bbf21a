// test_report.cc - pl_report: the escaping function (hostile names, invalid UTF-8), the
// time axis, rates observed from message indexes and from one pass, timeline rows and
// gaps, grouping of many topics with a bounded document, the storage breakdown from the
// summary and from a record pass, a report made without decompressing a chunk (chunks made
// undecompressable after writing), reports from a stored index, errors and atomic writes.
#include <gtest/gtest.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "import_fixtures.h"
#include "pipeline/report.h"
extern "C" {
#include "report_internal.h"
}
#include "tmpdir.h"

using import_test::kSec;
using import_test::kT0;
using import_test::read_all;
using import_test::Writer;
using import_test::write_all;
using mcapkit_test::TempDir;

namespace {

struct ReportFree {
  void operator()(pl_report *r) const { pl_report_free(r); }
};
using Report = std::unique_ptr<pl_report, ReportFree>;

Report make_report() {
  pl_report *r = nullptr;
  EXPECT_EQ(pl_report_create(&r), PL_REPORT_OK);
  return Report(r);
}

std::string escape(const std::string &s) {
  size_t n = pl_report_escape(nullptr, 0, s.data(), s.size());
  std::string out(n + 1, '\0');
  EXPECT_EQ(pl_report_escape(&out[0], out.size(), s.data(), s.size()), n);
  out.resize(n);
  return out;
}

// Every byte sequence is valid UTF-8 (no U+FFFE/FFFF, no surrogates), per RFC 3629.
bool valid_utf8(const std::string &s) {
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (!n || i + n > s.size()) return false;
    uint32_t cp = n == 1 ? c : n == 2 ? c & 0x1F : n == 3 ? c & 0x0F : c & 0x07;
    for (size_t k = 1; k < n; k++) {
      unsigned char d = static_cast<unsigned char>(s[i + k]);
      if ((d & 0xC0) != 0x80) return false;
      cp = cp << 6 | (d & 0x3F);
    }
    if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000)) return false;
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF) || cp == 0xFFFE || cp == 0xFFFF)
      return false;
    i += n;
  }
  return true;
}

// No markup can come out of escaped text: no < > " ', every & starts an entity.
void expect_inert(const std::string &e) {
  EXPECT_EQ(e.find_first_of("<>\"'"), std::string::npos) << e;
  for (size_t i = e.find('&'); i != std::string::npos; i = e.find('&', i + 1)) {
    std::string rest = e.substr(i, 6);
    EXPECT_TRUE(rest.rfind("&amp;", 0) == 0 || rest.rfind("&lt;", 0) == 0 ||
                rest.rfind("&gt;", 0) == 0 || rest.rfind("&quot;", 0) == 0 ||
                rest.rfind("&#39;", 0) == 0)
        << e;
  }
  EXPECT_TRUE(valid_utf8(e)) << e;
}

std::string render(pl_report *r, pl_report_format fmt, const pl_report_render_options *o = nullptr) {
  char *doc = nullptr;
  size_t len = 0;
  EXPECT_EQ(pl_report_render(r, fmt, o, &doc, &len), PL_REPORT_OK) << pl_report_errmsg(r);
  std::string s = doc ? std::string(doc, len) : "";
  free(doc);
  return s;
}

size_t count(const std::string &s, const std::string &needle) {
  size_t n = 0;
  for (size_t p = s.find(needle); p != std::string::npos; p = s.find(needle, p + 1)) n++;
  return n;
}

// The <g class="row" ...> element of a topic (up to its </g>), or "".
std::string row_of(const std::string &doc, const std::string &escaped_topic) {
  size_t p = doc.find("data-topic=\"" + escaped_topic + "\"");
  if (p == std::string::npos) return "";
  size_t b = doc.rfind("<g class=\"row\"", p);
  size_t e = doc.find("</g>", p);
  return doc.substr(b, e - b);
}

// (start, end) of each gap rect in a row.
std::vector<std::pair<uint64_t, uint64_t>> gaps_of(const std::string &row) {
  std::vector<std::pair<uint64_t, uint64_t>> v;
  std::regex re("data-start-ns=\"([0-9]+)\" data-end-ns=\"([0-9]+)\"");
  for (auto it = std::sregex_iterator(row.begin(), row.end(), re); it != std::sregex_iterator();
       ++it)
    v.emplace_back(std::stoull((*it)[1]), std::stoull((*it)[2]));
  return v;
}

// Topic /a every second over 60 s; /b the same with gaps (10, 30) and (40, 55); a hostile
// topic with one message at 5 s. Chunked with zstd, 4 KiB chunks.
void write_gappy(const std::string &path, bool summary = true) {
  mcap_writer_options o = Writer::make_options();
  o.compression = MCAP_COMPRESSION_ZSTD;
  o.chunk_size = 4096;
  o.no_summary = summary ? 0 : 1;
  Writer w(path, o);
  uint16_t s = w.schema("pkg/T", "ros2msg", "int32 x");
  uint16_t a = w.channel(s, "/a", "cdr");
  uint16_t b = w.channel(s, "/b", "cdr");
  uint16_t h = w.channel(s, "<script>alert(1)</script>", "cdr");
  std::string payload(300, 'x');
  for (uint64_t t = 0; t <= 60; t++) {
    w.message(a, kT0 + t * kSec, payload);
    if ((t <= 10 || t >= 30) && (t <= 40 || t >= 55)) w.message(b, kT0 + t * kSec, payload);
    if (t == 5) w.message(h, kT0 + t * kSec, payload);
  }
  w.attachment("calib\"><img src=x onerror=alert(1)>.yaml", "text/yaml", kT0, "k: v");
  w.metadata("notes", {{"owner", "O'Brien & <Co>"}, {"cdata", "]]> \x01 \xff end"}});
  w.close();
}

pl_report_options opts(double tol = 5) {
  pl_report_options o{};
  o.tolerance_s = tol;
  return o;
}

}  // namespace

// ---------------------------------------------------------------- escaping

TEST(ReportEscape, HostileTextBecomesInert) {
  EXPECT_EQ(escape("<script>alert(1)</script>"), "&lt;script&gt;alert(1)&lt;/script&gt;");
  EXPECT_EQ(escape("a\"b'c&d"), "a&quot;b&#39;c&amp;d");
  EXPECT_EQ(escape("]]>"), "]]&gt;");
  EXPECT_EQ(escape("tab\tnew\nline"), "tab\tnew\nline");
  EXPECT_EQ(escape("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x9A\x97"), "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x9A\x97");
  const std::string fffd = "\xEF\xBF\xBD";
  EXPECT_EQ(escape("\xFF"), fffd);                          // not a lead byte
  EXPECT_EQ(escape("\xC0\xAF"), fffd + fffd);               // overlong '/'
  EXPECT_EQ(escape("\xED\xA0\x80"), fffd + fffd + fffd);    // a surrogate
  EXPECT_EQ(escape("\xF4\x90\x80\x80"), fffd + fffd + fffd + fffd);  // beyond U+10FFFF
  EXPECT_EQ(escape("\xE2\x82"), fffd + fffd);               // cut short
  EXPECT_EQ(escape(std::string("a\0b", 3)), "a" + fffd + "b");
  EXPECT_EQ(escape("\x01\x1B\x7F\r"), fffd + fffd + fffd + fffd);  // controls XML forbids
  EXPECT_EQ(escape("\xC2\x85"), fffd);                      // C1 control (NEL)
  EXPECT_EQ(escape("\xEF\xBF\xBF"), fffd);                  // U+FFFF
}

TEST(ReportEscape, AnyBytesGiveInertValidText) {
  uint64_t x = 88172645463325252ull;
  for (int round = 0; round < 2000; round++) {
    std::string s;
    size_t n = round % 64;
    for (size_t i = 0; i < n; i++) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      const char pool[] = "<>&\"'];/a\xC3\xE2\x82\xAC\xF0\x9F\x80\xFF\x00\x01";
      s.push_back((x >> 8) % 3 ? pool[x % (sizeof pool - 1)] : static_cast<char>(x >> 16));
    }
    expect_inert(escape(s));
  }
}

TEST(ReportEscape, CutsLikeSnprintfWithoutHalfEntities) {
  char buf[8];
  size_t n = pl_report_escape(buf, sizeof buf, "ab<cd", 5);
  EXPECT_EQ(n, 8u);               // "ab&lt;cd"
  EXPECT_STREQ(buf, "ab&lt;c");   // 7 bytes and the NUL
  n = pl_report_escape(buf, 4, "a<b", 3);
  EXPECT_EQ(n, 6u);
  EXPECT_STREQ(buf, "a");         // "&lt;" does not fit: not cut in half, nothing after it
  n = pl_report_escape(buf, 3, "\xE2\x82\xAC", 3);
  EXPECT_STREQ(buf, "");          // a 3-byte character does not fit in 2
  EXPECT_EQ(pl_report_escape(nullptr, 0, nullptr, 0), 0u);
}

// ------------------------------------------------------------------- axis

TEST(ReportAxis, NiceUtcTicksFromMicrosecondsToYears) {
  struct Case {
    uint64_t span;
    uint64_t step;
    const char *label;  // of the first tick
  };
  const uint64_t ms = 1000000, s = kSec, min = 60 * s, h = 60 * min, d = 24 * h;
  const Case cases[] = {
      {3000, 1000 - 0, "00:00.000001"},      // 3 us: 1 us steps, seconds.micro
      {5 * ms, 1 * ms, "00:00:00.001"},      // 5 ms
      {2 * s, 500 * ms, "00:00:00.500"},     // 2 s
      {10 * min, 2 * min, "00:02"},          // 10 min
      {3 * h, 30 * min, "00:30"},            // 3 h
      {5 * d, d, "2026-01-02"},              // 5 days
      {800 * d, 182 * d, nullptr},           // years
  };
  for (const Case &c : cases) {
    uint64_t t0 = kT0, t1 = kT0 + c.span;
    // starting just after a round time so the first tick is the next round one
    struct ticks tk;
    pl__report_ticks(t0 + 1, t1, 6, &tk);
    EXPECT_EQ(tk.step, c.step) << c.span;
    EXPECT_GE(tk.n, 2u) << c.span;
    EXPECT_LE(tk.n, 6u) << c.span;
    for (size_t i = 0; i < tk.n; i++) {
      EXPECT_EQ(tk.t[i] % tk.step, 0u);
      EXPECT_GE(tk.t[i], t0 + 1);
      EXPECT_LE(tk.t[i], t1);
      if (i) {
        EXPECT_EQ(tk.t[i] - tk.t[i - 1], tk.step);
      }
    }
    char label[32];
    pl__report_tick_label(tk.t[0], tk.step, label, sizeof label);
    if (c.label) {
      EXPECT_STREQ(label, c.label) << c.span;
    }
    EXPECT_LE(strlen(label), pl__report_label_chars(tk.step));
  }
  // a zero span still gets a sane step and at most one tick
  struct ticks tk;
  pl__report_ticks(kT0 + 7, kT0 + 7, 10, &tk);
  EXPECT_LE(tk.n, 1u);
}

// -------------------------------------------------------------- the report

TEST(Report, TimelineRowsAndGapsWhereTheFileHasThem) {
  TempDir tmp;
  std::string p = tmp.file("gaps.mcap");
  write_gappy(p);
  Report r = make_report();
  pl_report_options o = opts(5);
  ASSERT_EQ(pl_report_load_file(r.get(), p.c_str(), &o), PL_REPORT_OK) << pl_report_errmsg(r.get());
  pl_report_stats st;
  pl_report_get_stats(r.get(), &st);
  EXPECT_TRUE(st.from_summary);
  EXPECT_EQ(st.chunks_decompressed, 0u);
  EXPECT_FALSE(st.doctor_ran);
  std::string html = render(r.get(), PL_REPORT_HTML);
  EXPECT_EQ(count(html, "<g class=\"row\""), 3u);
  EXPECT_EQ(gaps_of(row_of(html, "/a")).size(), 0u);
  auto g = gaps_of(row_of(html, "/b"));
  ASSERT_EQ(g.size(), 2u);
  EXPECT_EQ(g[0], std::make_pair(kT0 + 10 * kSec, kT0 + 30 * kSec));
  EXPECT_EQ(g[1], std::make_pair(kT0 + 40 * kSec, kT0 + 55 * kSec));
  // at a tolerance above the gaps there are none
  o = opts(20);
  ASSERT_EQ(pl_report_load_file(r.get(), p.c_str(), &o), PL_REPORT_OK);
  html = render(r.get(), PL_REPORT_HTML);
  EXPECT_EQ(gaps_of(row_of(html, "/b")).size(), 0u);
  // the SVG alone has the same rows and gaps, as a standalone document
  o = opts(5);
  ASSERT_EQ(pl_report_load_file(r.get(), p.c_str(), &o), PL_REPORT_OK);
  std::string svg = render(r.get(), PL_REPORT_SVG);
  EXPECT_EQ(svg.rfind("<?xml", 0), 0u);
  EXPECT_NE(svg.find("xmlns=\"http://www.w3.org/2000/svg\""), std::string::npos);
  EXPECT_EQ(count(svg, "<g class=\"row\""), 3u);
  EXPECT_EQ(gaps_of(row_of(svg, "/b")).size(), 2u);
  EXPECT_EQ(svg.find("<html"), std::string::npos);
}

TEST(Report, HostileNamesAreTextEverywhere) {
  TempDir tmp;
  std::string p = tmp.file("hostile.mcap");
  write_gappy(p);
  Report r = make_report();
  pl_report_options o = opts(5);
  ASSERT_EQ(pl_report_load_file(r.get(), p.c_str(), &o), PL_REPORT_OK);
  for (pl_report_format f : {PL_REPORT_HTML, PL_REPORT_SVG}) {
    std::string doc = render(r.get(), f);
    EXPECT_TRUE(valid_utf8(doc));
    EXPECT_EQ(doc.find("<script"), std::string::npos);
    EXPECT_EQ(doc.find("<img"), std::string::npos);
    EXPECT_EQ(doc.find("]]>"), std::string::npos);
    EXPECT_EQ(doc.find('\x01'), std::string::npos);
    EXPECT_NE(row_of(doc, "&lt;script&gt;alert(1)&lt;/script&gt;"), "");
  }
  std::string html = render(r.get(), PL_REPORT_HTML);
  EXPECT_NE(html.find("O&#39;Brien &amp; &lt;Co&gt;"), std::string::npos);
  EXPECT_NE(html.find("calib&quot;&gt;&lt;img src=x onerror=alert(1)&gt;.yaml"), std::string::npos);
  EXPECT_NE(html.find("]]&gt; \xEF\xBF\xBD \xEF\xBF\xBD end"), std::string::npos);
  // the page itself has no script and loads nothing
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("src="), html.find("src=x"));  // only inside the escaped name
  EXPECT_EQ(html.find("http:"), std::string::npos);
  EXPECT_EQ(html.find("https:"), std::string::npos);
}

TEST(Report, RatesCountEveryMessageInItsBin) {
  TempDir tmp;
  for (bool summary : {true, false}) {
    std::string p = tmp.file(summary ? "s.mcap" : "n.mcap");
    write_gappy(p, summary);
    Report r = make_report();
    pl_report_options o = opts(5);
    ASSERT_EQ(pl_report_load_file(r.get(), p.c_str(), &o), PL_REPORT_OK);
    pl_report_stats st;
    pl_report_get_stats(r.get(), &st);
    EXPECT_EQ(st.from_summary, summary ? 1 : 0);
    EXPECT_EQ(st.chunks_decompressed > 0, !summary);
    EXPECT_EQ(st.doctor_ran, summary ? 0 : 1);  // beside the one pass, as `index` does
    pl_report_rate a{}, b{};
    ASSERT_TRUE(pl_report_topic_rate(r.get(), "/a", &a));
    ASSERT_TRUE(pl_report_topic_rate(r.get(), "/b", &b));
    pl_report_rate none{};
    EXPECT_FALSE(pl_report_topic_rate(r.get(), "/nope", &none));
    EXPECT_EQ(a.n_bins, (size_t)PL_REPORT_RATE_BINS);
    EXPECT_EQ(a.origin % a.width, 0u);
    EXPECT_EQ(a.width & (a.width - 1), 0u);  // a power of two
    uint64_t sum = 0;
    for (size_t i = 0; i < a.n_bins; i++) sum += a.counts[i];
    EXPECT_EQ(sum, 61u);
    // each second's message is in the bin holding its time
    std::vector<uint32_t> want(a.n_bins, 0);
    for (uint64_t t = 0; t <= 60; t++)
      if ((t <= 10 || t >= 30) && (t <= 40 || t >= 55)) want[(kT0 + t * kSec - a.origin) / a.width]++;
    EXPECT_EQ(std::vector<uint32_t>(b.counts, b.counts + b.n_bins), want);
    // the grid is the smallest that holds the minute
    EXPECT_LT((kT0 + 60 * kSec - a.origin) / a.width, a.n_bins);
    uint64_t half = a.width / 2;
    EXPECT_GE((kT0 + 60 * kSec) / half - kT0 / half, a.n_bins);
  }
}

// Overwrite the middle of every chunk's compressed records: any decompression now fails.
static size_t spoil_chunks(const std::string &path) {
  mcap_source src;
  mcap_error_info err{};
  EXPECT_EQ(mcap_source_open_file(&src, path.c_str(), &err), MCAP_OK);
  mcap_reader *rd = nullptr;
  EXPECT_EQ(mcap_reader_open(&rd, &src, nullptr, &err), MCAP_OK);
  std::vector<std::pair<uint64_t, uint64_t>> spans;
  for (size_t i = 0; i < mcap_reader_chunk_count(rd); i++) {
    const mcap_chunk_index *ci = mcap_reader_chunk_at(rd, i);
    uint64_t records = ci->chunk_start_offset + 9 + 8 + 8 + 8 + 4 + 4 + ci->compression.len + 8;
    spans.emplace_back(records + 4, ci->compressed_size - 8);
  }
  mcap_reader_free(rd);
  std::string bytes = read_all(path);
  for (auto &s : spans)
    for (uint64_t k = 0; k < s.second; k++) bytes[s.first + k] = static_cast<char>(0xA5 ^ k);
  write_all(path, bytes);
  return spans.size();
}

TEST(Report, MadeFromIndexesWithoutDecompressingAnyChunk) {
  TempDir tmp;
  std::string p = tmp.file("spoilt.mcap");
  write_gappy(p);
  ASSERT_GT(spoil_chunks(p), 3u);
  Report r = make_report();
  pl_report_options o = opts(5);
  ASSERT_EQ(pl_report_load_file(r.get(), p.c_str(), &o), PL_REPORT_OK) << pl_report_errmsg(r.get());
  pl_report_stats st;
  pl_report_get_stats(r.get(), &st);
  EXPECT_TRUE(st.from_summary);
  EXPECT_TRUE(st.storage_from_summary);
  EXPECT_EQ(st.chunks_decompressed, 0u);
  const pl_recording_index *ix = pl_report_index(r.get());
  EXPECT_EQ(ix->message_count, 61u + 61u - 19u - 14u + 1u);
  for (size_t i = 0; i < ix->n_problems; i++)
    EXPECT_NE(ix->problems[i].severity, PL_SEV_ERROR) << ix->problems[i].message;
  std::string html = render(r.get(), PL_REPORT_HTML);
  EXPECT_EQ(count(html, "<g class=\"row\""), 3u);
  EXPECT_EQ(gaps_of(row_of(html, "/b")).size(), 2u);
  EXPECT_NE(row_of(html, "/a").find("class=\"rate\""), std::string::npos);
  // the chunks really are unreadable: the full check finds every one
  o.doctor = 1;
  ASSERT_EQ(pl_report_load_file(r.get(), p.c_str(), &o), PL_REPORT_OK);
  pl_report_get_stats(r.get(), &st);
  EXPECT_TRUE(st.doctor_ran);
  ix = pl_report_index(r.get());
  size_t errors = 0;
  for (size_t i = 0; i < ix->n_problems; i++) errors += ix->problems[i].severity == PL_SEV_ERROR;
  EXPECT_GT(errors, 3u);
}

TEST(Report, StorageFromTheSummaryMatchesTheRecordPass) {
  TempDir tmp;
  std::string a = tmp.file("with.mcap"), b = tmp.file("without.mcap");
  write_gappy(a, true);
  write_gappy(b, false);
  Report ra = make_report(), rb = make_report();
  pl_report_options o = opts(5);
  ASSERT_EQ(pl_report_load_file(ra.get(), a.c_str(), &o), PL_REPORT_OK);
  ASSERT_EQ(pl_report_load_file(rb.get(), b.c_str(), &o), PL_REPORT_OK);
  pl_report_stats sa, sb;
  pl_report_get_stats(ra.get(), &sa);
  pl_report_get_stats(rb.get(), &sb);
  EXPECT_TRUE(sa.storage_from_summary);
  EXPECT_FALSE(sb.storage_from_summary);
  const pl_report_storage *x = pl_report_get_storage(ra.get()), *y = pl_report_get_storage(rb.get());
  ASSERT_TRUE(x->available && y->available);
  EXPECT_FALSE(x->partial || y->partial);
  EXPECT_EQ(x->file_size, read_all(a).size());
  EXPECT_EQ(y->file_size, read_all(b).size());
  uint64_t tx = 0, ty = 0;
  for (int k = 0; k < PL_REPORT_KIND_COUNT; k++) {
    tx += x->kinds[k];
    ty += y->kinds[k];
  }
  EXPECT_EQ(tx, x->file_size);
  EXPECT_EQ(ty, y->file_size);
  for (int k : {PL_REPORT_KIND_CHUNK, PL_REPORT_KIND_MSG_INDEX, PL_REPORT_KIND_ATTACHMENT,
                PL_REPORT_KIND_METADATA})
    EXPECT_EQ(x->kinds[k], y->kinds[k]) << k;
  EXPECT_GT(x->kinds[PL_REPORT_KIND_SUMMARY], y->kinds[PL_REPORT_KIND_SUMMARY]);
  ASSERT_EQ(x->n_comp, 1u);
  ASSERT_EQ(y->n_comp, 1u);
  EXPECT_STREQ(x->comp[0].name, "zstd");
  EXPECT_STREQ(y->comp[0].name, "zstd");
  EXPECT_EQ(x->comp[0].chunks, y->comp[0].chunks);
  EXPECT_EQ(x->comp[0].stored, y->comp[0].stored);
  EXPECT_EQ(x->comp[0].uncompressed, y->comp[0].uncompressed);
  EXPECT_EQ(x->chunks, x->comp[0].chunks);
  // a truncated copy: measured up to where it ends
  std::string c = tmp.file("cut.mcap");
  std::string bytes = read_all(b);
  write_all(c, bytes.substr(0, bytes.size() / 2));
  Report rc = make_report();
  ASSERT_EQ(pl_report_load_file(rc.get(), c.c_str(), &o), PL_REPORT_OK);
  EXPECT_TRUE(pl_report_get_storage(rc.get())->partial);
  EXPECT_TRUE(pl_report_index(rc.get())->partial);
  EXPECT_NE(render(rc.get(), PL_REPORT_HTML).find("The file is damaged"), std::string::npos);
}

TEST(Report, ManyTopicsAreGroupedAndTheDocumentStaysBounded) {
  TempDir tmp;
  std::string p = tmp.file("wide.mcap");
  {
    mcap_writer_options o = Writer::make_options();
    o.compression = MCAP_COMPRESSION_ZSTD;
    Writer w(p, o);
    uint16_t s = w.schema("pkg/T", "ros2msg", "int32 x");
    std::vector<uint16_t> ch;
    for (int i = 0; i < 10000; i++) {
      char name[64];
      snprintf(name, sizeof name, "/robot%02d/sensor%03d/data", i / 500, i % 500);
      // by id: the writer's look-up of identical channels is linear per channel
      mcap_channel c{};
      c.id = static_cast<uint16_t>(i + 1);
      c.schema_id = s;
      c.topic = mcap_str_c(name);
      c.message_encoding = mcap_str_c("cdr");
      ASSERT_EQ(mcap_writer_put_channel(w.get(), &c), MCAP_OK);
      ch.push_back(c.id);
    }
    // two hours; every topic at the start, the middle (odd ones only) and the end
    for (uint64_t step : {0ull, 3600ull, 7200ull})
      for (int i = 0; i < 10000; i++)
        if (step != 3600 || i % 2) w.message(ch[i], kT0 + step * kSec + (uint64_t)i * 1000, "x");
    w.close();
  }
  Report r = make_report();
  pl_report_options o = opts(-1);
  ASSERT_EQ(pl_report_load_file(r.get(), p.c_str(), &o), PL_REPORT_OK) << pl_report_errmsg(r.get());
  std::string html = render(r.get(), PL_REPORT_HTML);
  size_t rows = count(html, "<g class=\"row\"");
  EXPECT_LE(rows, 200u);
  EXPECT_EQ(rows, 20u);  // /robotNN: one segment
  EXPECT_NE(html.find("id=\"timeline-grouped\""), std::string::npos);
  EXPECT_NE(html.find("/robot07/* (500 topics)"), std::string::npos);
  EXPECT_NE(html.find("Showing the first 1,000 of 10,000 topics"), std::string::npos);
  EXPECT_LT(html.size(), 2u << 20) << html.size();
  // a group's gaps are where none of its topics has data: between the three moments
  EXPECT_EQ(count(html, "data-start-ns="), 40u);
  // with room for 600 rows, the groups go one segment deeper: /robotNN/sensorNNN x ... = 10000
  // rows do not fit, so it stays at one segment; with 100000 rows every topic is a row
  pl_report_render_options ro{};
  ro.max_rows = 20000;
  ro.max_bytes = 64u << 20;
  html = render(r.get(), PL_REPORT_HTML, &ro);
  EXPECT_EQ(count(html, "<g class=\"row\""), 10000u);
  EXPECT_EQ(html.find("timeline-grouped"), std::string::npos);
  // 10000 single rows each with a gap (odd topics are missing in the middle... at 14 s
  // tolerance every topic has gaps): at most the budget of gap elements, the rest as paths
  EXPECT_EQ(count(html, "data-start-ns="), 4000u);
  // names without a shared prefix fall back to runs of sorted names
  ro = pl_report_render_options{};
  ro.max_rows = 5;
  html = render(r.get(), PL_REPORT_HTML, &ro);
  EXPECT_LE(count(html, "<g class=\"row\""), 5u);
  EXPECT_GE(count(html, "<g class=\"row\""), 4u);
  // a cap on the size is honoured
  ro = pl_report_render_options{};
  ro.max_bytes = 10000;
  char *doc = nullptr;
  EXPECT_EQ(pl_report_render(r.get(), PL_REPORT_HTML, &ro, &doc, nullptr), PL_REPORT_ELIMIT);
  EXPECT_EQ(doc, nullptr);
  EXPECT_NE(std::string(pl_report_errmsg(r.get())).find("10000"), std::string::npos);
}

TEST(Report, HundredTopicsGetARowEach) {
  TempDir tmp;
  std::string p = tmp.file("hundred.mcap");
  {
    Writer w(p);
    uint16_t s = w.schema("pkg/T", "ros2msg", "int32 x");
    for (int i = 0; i < 100; i++) {
      uint16_t c = w.channel(s, "/t" + std::to_string(i), "cdr");
      for (uint64_t t = 0; t < 3600 * 3; t += 60) w.message(c, kT0 + t * kSec, "x");
    }
    w.close();
  }
  Report r = make_report();
  pl_report_options o = opts(-1);
  ASSERT_EQ(pl_report_load_file(r.get(), p.c_str(), &o), PL_REPORT_OK);
  std::string html = render(r.get(), PL_REPORT_HTML);
  EXPECT_EQ(count(html, "<g class=\"row\""), 100u);
  // one-minute spacing at a 14 s tolerance: every message is its own range
  EXPECT_NE(html.find("data-gaps=\"179\""), std::string::npos);
  // hours on the axis: ticks on whole half hours
  EXPECT_NE(html.find(">00:30</text>"), std::string::npos);
}

TEST(Report, FromAStoredIndexWithLinks) {
  TempDir tmp;
  std::string p = tmp.file("gaps.mcap");
  write_gappy(p);
  import_test::Index ix = import_test::index_file(p, 5);
  std::string json = import_test::to_json(ix.get());
  pl_recording_index *back = nullptr;
  pl_error_info err{};
  ASSERT_EQ(pl_index_from_json(json.data(), json.size(), &back, &err), PL_OK) << err.msg;
  Report r = make_report();
  ASSERT_EQ(pl_report_set_index(r.get(), back), PL_REPORT_OK);
  pl_report_render_options ro{};
  ro.fragment = 1;
  ro.attachment_href = [](void *, size_t i, char *buf, size_t cap) {
    snprintf(buf, cap, "/ui/att?i=%zu&x=\"y\"", i);
    return 0;
  };
  std::string html = render(r.get(), PL_REPORT_HTML, &ro);
  EXPECT_EQ(html.rfind("<div class=\"report\">", 0), 0u);
  EXPECT_EQ(html.find("<html"), std::string::npos);
  EXPECT_EQ(html.find("<style"), std::string::npos);
  EXPECT_NE(html.find("<a href=\"/ui/att?i=0&amp;x=&quot;y&quot;\" download>"), std::string::npos);
  EXPECT_NE(html.find("Message rates are not available"), std::string::npos);
  EXPECT_NE(html.find("Not measured for this view"), std::string::npos);
  EXPECT_EQ(gaps_of(row_of(html, "/b")).size(), 2u);
  EXPECT_NE(std::string(pl_report_css()).find("svg.timeline"), std::string::npos);
  // a NULL index is refused (and nothing leaks)
  EXPECT_EQ(pl_report_set_index(r.get(), nullptr), PL_REPORT_EINVAL);
  EXPECT_EQ(pl_report_index(r.get()), nullptr);
}

TEST(Report, ErrorsNameTheFileAndLeaveNothingBehind) {
  TempDir tmp;
  Report r = make_report();
  char *doc = nullptr;
  EXPECT_EQ(pl_report_render(r.get(), PL_REPORT_HTML, nullptr, &doc, nullptr), PL_REPORT_ESTATE);
  std::string missing = tmp.file("missing.mcap");
  EXPECT_EQ(pl_report_load_file(r.get(), missing.c_str(), nullptr), PL_REPORT_EIO);
  EXPECT_NE(std::string(pl_report_errmsg(r.get())).find(missing), std::string::npos);
  std::string text = tmp.file("text.mcap");
  write_all(text, "this is not an MCAP file at all, just some words\n");
  EXPECT_EQ(pl_report_load_file(r.get(), text.c_str(), nullptr), PL_REPORT_EINPUT);
  EXPECT_NE(std::string(pl_report_errmsg(r.get())).find("text.mcap"), std::string::npos);
  EXPECT_EQ(pl_report_load_file(r.get(), tmp.path().c_str(), nullptr), PL_REPORT_EINVAL);
  pl_report_options both{};
  both.doctor = both.no_doctor = 1;
  std::string p = tmp.file("ok.mcap");
  write_gappy(p);
  EXPECT_EQ(pl_report_load_file(r.get(), p.c_str(), &both), PL_REPORT_EINVAL);
  ASSERT_EQ(pl_report_load_file(r.get(), p.c_str(), nullptr), PL_REPORT_OK);
  // an output in a missing folder fails cleanly; an existing output is replaced whole
  std::string bad = tmp.file("no/such/dir/r.html");
  EXPECT_EQ(pl_report_write_file(r.get(), PL_REPORT_HTML, nullptr, bad.c_str()), PL_REPORT_EIO);
  EXPECT_NE(std::string(pl_report_errmsg(r.get())).find(bad), std::string::npos);
  std::string out = tmp.file("r.html");
  write_all(out, "old");
  pl_report_render_options tiny{};
  tiny.max_bytes = 100;
  EXPECT_EQ(pl_report_write_file(r.get(), PL_REPORT_HTML, &tiny, out.c_str()), PL_REPORT_ELIMIT);
  EXPECT_EQ(read_all(out), "old");
  ASSERT_EQ(pl_report_write_file(r.get(), PL_REPORT_HTML, nullptr, out.c_str()), PL_REPORT_OK);
  EXPECT_EQ(read_all(out).rfind("<!DOCTYPE html>", 0), 0u);
  std::vector<std::string> left;
  for (const char *name : {"r.html", "ok.mcap", "text.mcap"}) left.push_back(name);
  size_t files = 0;
  if (DIR *d = opendir(tmp.path().c_str())) {
    while (struct dirent *e = readdir(d))
      if (e->d_name[0] != '.') files++;
    closedir(d);
  }
  EXPECT_EQ(files, left.size());  // no temporary file left over
}
