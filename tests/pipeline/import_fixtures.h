// import_fixtures.h - helpers for the local-import tests (index, lake, export):
// writing recordings with synth or the libmcap writer, golden-file comparison
// (UPDATE_GOLDEN=1 rewrites them), reading every message of a file, and RAII
// wrappers for the pipeline's result types.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "mcap/mcap.h"
#include "pipeline/pipeline.h"
#include "pipeline/synth.h"

namespace import_test {

constexpr uint64_t kSec = 1000000000ull;
constexpr uint64_t kT0 = 1767225600ull * kSec;  // 2026-01-01T00:00:00Z

struct IndexFree {
  void operator()(pl_recording_index *ix) const { pl_recording_index_free(ix); }
};
using Index = std::unique_ptr<pl_recording_index, IndexFree>;

inline std::string read_all(const std::string &path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error("cannot read " + path);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

inline void write_all(const std::string &path, const std::string &data) {
  std::ofstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error("cannot write " + path);
  f << data;
}

// Write a synthetic recording; library fixed so files do not change with the version.
inline pl_synth_stats synth(const std::string &path, pl_synth_options o) {
  if (!o.library) o.library = "mcapkit-test";
  mcap_sink sink;
  mcap_error_info err{};
  EXPECT_EQ(mcap_sink_open_file(&sink, path.c_str(), &err), MCAP_OK) << err.msg;
  pl_synth_stats st{};
  char msg[256] = "";
  int rc = pl_synth_write(&sink, &o, &st, msg, sizeof msg);
  EXPECT_EQ(rc, MCAP_OK) << msg;
  EXPECT_EQ(mcap_sink_commit(&sink, &err), MCAP_OK) << err.msg;
  mcap_sink_close(&sink, nullptr);
  return st;
}

inline pl_synth_options tiny(double seconds, uint64_t seed = 1) {
  pl_synth_options o{};
  o.profile = PL_SYNTH_TINY;
  o.duration = seconds;
  o.seed = seed;
  o.compression = MCAP_COMPRESSION_NONE;
  return o;
}

inline pl_synth_options robot(double seconds, uint64_t seed = 1) {
  pl_synth_options o{};
  o.profile = PL_SYNTH_ROBOT;
  o.duration = seconds;
  o.seed = seed;
  return o;
}

// A recording written message by message with the libmcap writer.
class Writer {
 public:
  explicit Writer(const std::string &path, mcap_writer_options o = make_options()) {
    mcap_error_info err{};
    if (mcap_sink_open_file(&sink_, path.c_str(), &err) != MCAP_OK)
      throw std::runtime_error(err.msg);
    if (mcap_writer_open(&w_, &sink_, &o) != MCAP_OK) throw std::runtime_error("writer open");
  }
  ~Writer() {
    mcap_writer_free(w_);
    if (!committed_) mcap_sink_close(&sink_, nullptr);
  }
  static mcap_writer_options make_options() {
    mcap_writer_options o;
    mcap_writer_options_init(&o);
    o.library = "mcapkit-test";
    o.compression = MCAP_COMPRESSION_NONE;
    return o;
  }
  uint16_t schema(const std::string &name, const std::string &encoding, const std::string &data) {
    uint16_t id = 0;
    mcap_bytes b{reinterpret_cast<const uint8_t *>(data.data()), data.size()};
    EXPECT_EQ(
        mcap_writer_add_schema(w_, mcap_str_c(name.c_str()), mcap_str_c(encoding.c_str()), b, &id),
        MCAP_OK);
    return id;
  }
  uint16_t channel(uint16_t schema_id, const std::string &topic, const std::string &encoding) {
    uint16_t id = 0;
    EXPECT_EQ(mcap_writer_add_channel(w_, schema_id, mcap_str_c(topic.c_str()),
                                      mcap_str_c(encoding.c_str()), nullptr, 0, &id),
              MCAP_OK);
    return id;
  }
  void message(uint16_t channel, uint64_t log_time, const std::string &data, uint32_t seq = 0) {
    mcap_message m{};
    m.channel_id = channel;
    m.sequence = seq;
    m.log_time = log_time;
    m.publish_time = log_time - 1000;
    m.data.data = reinterpret_cast<const uint8_t *>(data.data());
    m.data.len = data.size();
    ASSERT_EQ(mcap_writer_write_message(w_, &m), MCAP_OK) << mcap_writer_errmsg(w_);
  }
  void attachment(const std::string &name, const std::string &media, uint64_t log_time,
                  const std::string &data) {
    mcap_attachment a{};
    a.log_time = log_time;
    a.create_time = log_time - kSec;
    a.name = mcap_str_c(name.c_str());
    a.media_type = mcap_str_c(media.c_str());
    a.data.data = reinterpret_cast<const uint8_t *>(data.data());
    a.data.len = data.size();
    ASSERT_EQ(mcap_writer_write_attachment(w_, &a), MCAP_OK);
  }
  void metadata(const std::string &name,
                const std::vector<std::pair<std::string, std::string>> &kv) {
    std::vector<mcap_kv> v;
    for (const auto &p : kv)
      v.push_back({mcap_str_c(p.first.c_str()), mcap_str_c(p.second.c_str())});
    ASSERT_EQ(mcap_writer_write_metadata(w_, mcap_str_c(name.c_str()), v.data(), v.size()),
              MCAP_OK);
  }
  void close() {
    mcap_error_info err{};
    ASSERT_EQ(mcap_writer_close(w_), MCAP_OK) << mcap_writer_errmsg(w_);
    ASSERT_EQ(mcap_sink_commit(&sink_, &err), MCAP_OK) << err.msg;
    mcap_sink_close(&sink_, nullptr);
    committed_ = true;
  }
  mcap_writer *get() { return w_; }

 private:
  mcap_sink sink_{};
  mcap_writer *w_ = nullptr;
  bool committed_ = false;
};

inline Index index_file(const std::string &path, double tolerance = -1, bool doctor = false) {
  pl_index_options o{};
  o.tolerance_s = tolerance;
  o.threads = 1;
  o.no_doctor = doctor ? 0 : 1;
  pl_recording_index *ix = nullptr;
  pl_error_info err{};
  int rc = pl_index_file(path.c_str(), &o, &ix, &err);
  EXPECT_EQ(rc, PL_OK) << err.msg;
  return Index(ix);
}

inline std::string to_json(const pl_recording_index *ix) {
  char *json = nullptr;
  pl_error_info err{};
  EXPECT_EQ(pl_index_to_json(ix, &json, &err), PL_OK) << err.msg;
  std::string s = json ? json : "";
  free(json);
  return s;
}

// Compare `actual` with tests/pipeline/golden/<name>; UPDATE_GOLDEN=1 rewrites the file.
inline void expect_golden(const std::string &name, const std::string &actual) {
  std::string path = std::string(MCAPKIT_SOURCE_DIR) + "/tests/pipeline/golden/" + name;
  const char *upd = std::getenv("UPDATE_GOLDEN");
  if (upd && std::strcmp(upd, "1") == 0) {
    write_all(path, actual);
    return;
  }
  std::string want;
  try {
    want = read_all(path);
  } catch (const std::exception &) {
    ADD_FAILURE() << "missing golden file " << path << " (run with UPDATE_GOLDEN=1 to create it)";
    return;
  }
  EXPECT_EQ(actual, want) << "golden file " << path
                          << " differs (UPDATE_GOLDEN=1 regenerates it after a deliberate change)";
}

// One message as read back, for comparisons.
struct Msg {
  std::string topic;
  uint16_t channel;
  uint32_t sequence;
  uint64_t log_time, publish_time;
  std::string data;
  bool operator<(const Msg &o) const {
    return std::tie(log_time, topic, channel, sequence, publish_time, data) <
           std::tie(o.log_time, o.topic, o.channel, o.sequence, o.publish_time, o.data);
  }
  bool operator==(const Msg &o) const {
    return topic == o.topic && channel == o.channel && sequence == o.sequence &&
           log_time == o.log_time && publish_time == o.publish_time && data == o.data;
  }
};

// Every message of a file (indexed reader), in the given order.
inline std::vector<Msg> read_messages(const std::string &path,
                                      mcap_read_order order = MCAP_ORDER_LOG_TIME) {
  std::vector<Msg> out;
  mcap_source src;
  mcap_error_info err{};
  if (mcap_source_open_file(&src, path.c_str(), &err) != MCAP_OK) throw std::runtime_error(err.msg);
  mcap_reader *r = nullptr;
  mcap_indexed_options io{};
  io.threads = 1;
  if (mcap_reader_open(&r, &src, &io, &err) != MCAP_OK) throw std::runtime_error(err.msg);
  mcap_query q{};
  q.order = order;
  mcap_message_iter *it = nullptr;
  EXPECT_EQ(mcap_reader_query(r, &q, &it), MCAP_OK);
  mcap_message_view v;
  int rc;
  while ((rc = mcap_message_iter_next(it, &v)) == MCAP_OK) {
    Msg m;
    m.topic.assign(v.channel->topic.data ? v.channel->topic.data : "", v.channel->topic.len);
    m.channel = v.message.channel_id;
    m.sequence = v.message.sequence;
    m.log_time = v.message.log_time;
    m.publish_time = v.message.publish_time;
    m.data.assign(reinterpret_cast<const char *>(v.message.data.data), v.message.data.len);
    out.push_back(std::move(m));
  }
  EXPECT_EQ(rc, MCAP_ITEROVER) << mcap_reader_errmsg(r);
  mcap_message_iter_free(it);
  mcap_reader_free(r);
  return out;
}

// The doctor's verdict on a file: number of error findings.
inline size_t doctor_errors(const std::string &path, std::string *first = nullptr) {
  mcap_source src;
  mcap_error_info err{};
  if (mcap_source_open_file(&src, path.c_str(), &err) != MCAP_OK) throw std::runtime_error(err.msg);
  pl_doctor_report *rep = nullptr;
  pl_error_info perr{};
  EXPECT_EQ(pl_doctor_run(&src, nullptr, &rep, &perr), PL_OK) << perr.msg;
  size_t n = rep ? rep->n_errors : 1;
  if (first && rep) {
    for (size_t i = 0; i < rep->n_findings; i++)
      if (rep->findings[i].severity == PL_SEV_ERROR) {
        *first = std::string(rep->findings[i].code) + ": " + rep->findings[i].message;
        break;
      }
  }
  pl_doctor_report_free(rep);
  return n;
}

}  // namespace import_test
