// test_rewrite_util.h - helpers shared by the rewrite, recover and merge tests:
// generating recordings, running a rewrite into a file, reading a file's message
// stream back (with the indexed reader's queries or the streamed reader), and
// the doctor's verdict on a file.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "mcap/mcap.h"
#include "pipeline/pipeline.h"
#include "pipeline/rewrite.h"
#include "pipeline/synth.h"

namespace rwt {

struct Msg {
  std::string topic;
  std::string schema;
  uint16_t channel = 0;
  uint32_t sequence = 0;
  uint64_t log_time = 0;
  uint64_t publish_time = 0;
  std::string data;
  // Equal content; channel ids are compared only where they must be kept.
  bool operator==(const Msg &o) const {
    return topic == o.topic && schema == o.schema && sequence == o.sequence &&
           log_time == o.log_time && publish_time == o.publish_time && data == o.data;
  }
  bool operator!=(const Msg &o) const { return !(*this == o); }
};

inline std::ostream &operator<<(std::ostream &os, const Msg &m) {
  return os << "{" << m.topic << " ch" << m.channel << " seq " << m.sequence << " t " << m.log_time
            << " " << m.data.size() << " bytes}";
}

// Write a synthetic recording to `path` (atomically).
inline pl_synth_stats synth(const std::string &path, pl_synth_options o) {
  mcap_sink sink;
  mcap_error_info e;
  memset(&e, 0, sizeof e);
  EXPECT_EQ(mcap_sink_open_file(&sink, path.c_str(), &e), MCAP_OK) << e.msg;
  pl_synth_stats st;
  char buf[256] = "";
  EXPECT_EQ(pl_synth_write(&sink, &o, &st, buf, sizeof buf), MCAP_OK) << buf;
  EXPECT_EQ(mcap_sink_commit(&sink, &e), MCAP_OK) << e.msg;
  mcap_sink_close(&sink, &e);
  return st;
}

inline pl_synth_options robot(double seconds, mcap_compression c = MCAP_COMPRESSION_ZSTD) {
  pl_synth_options o;
  memset(&o, 0, sizeof o);
  o.profile = PL_SYNTH_ROBOT;
  o.duration = seconds;
  o.compression = c;
  o.seed = 7;
  return o;
}

inline pl_synth_options tiny(double seconds, mcap_compression c = MCAP_COMPRESSION_ZSTD) {
  pl_synth_options o;
  memset(&o, 0, sizeof o);
  o.profile = PL_SYNTH_TINY;
  o.duration = seconds;
  o.compression = c;
  o.seed = 3;
  return o;
}

// Run pl_rewrite from `in` into the file `out` (staged, verified, renamed).
inline int rewrite(const std::string &in, const std::string &out, const pl_rewrite_options &o,
                   pl_rewrite_stats *st = nullptr, std::string *msg = nullptr) {
  pl_error_info err;
  memset(&err, 0, sizeof err);
  pl_output *po = nullptr;
  const char *inputs[] = {in.c_str()};
  int rc = pl_output_open(&po, out.c_str(), inputs, 1, 0, &err);
  if (rc != PL_OK) {
    if (msg) *msg = err.msg;
    return rc;
  }
  pl_rewrite_stats local;
  if (!st) st = &local;
  rc = pl_rewrite(in.c_str(), pl_output_sink(po), &o, st, &err);
  if (rc == PL_OK) {
    pl_output_check check = {st->messages, st->attachments, st->metadata, 1};
    rc = pl_output_commit(po, &check, &err);
  }
  pl_output_free(po);
  if (msg) *msg = err.msg;
  return rc;
}

struct QueryOpts {
  std::function<bool(const std::string &topic)> keep;  // null = all
  bool has_start = false, has_end = false;
  uint64_t start = 0, end = 0;
  mcap_read_order order = MCAP_ORDER_FILE;
};

inline int keep_cb(void *ctx, const mcap_channel *c, const mcap_schema *) {
  auto *f = static_cast<std::function<bool(const std::string &)> *>(ctx);
  return (*f)(std::string(c->topic.data ? c->topic.data : "", c->topic.len)) ? 1 : 0;
}

// The messages the indexed reader's query returns for a selection.
inline std::vector<Msg> query(const std::string &path, const QueryOpts &q = {}) {
  std::vector<Msg> out;
  mcap_source src;
  mcap_error_info e;
  memset(&e, 0, sizeof e);
  EXPECT_EQ(mcap_source_open_file(&src, path.c_str(), &e), MCAP_OK) << e.msg;
  mcap_reader *r = nullptr;
  mcap_indexed_options io;
  memset(&io, 0, sizeof io);
  io.threads = 1;
  if (mcap_reader_open(&r, &src, &io, &e) != MCAP_OK) {
    ADD_FAILURE() << "cannot open " << path << ": " << e.msg;
    return out;
  }
  mcap_query mq;
  memset(&mq, 0, sizeof mq);
  std::function<bool(const std::string &)> keep = q.keep;
  if (keep) {
    mq.channel_filter = keep_cb;
    mq.channel_filter_ctx = &keep;
  }
  mq.has_start = q.has_start;
  mq.start = q.start;
  mq.has_end = q.has_end;
  mq.end = q.end;
  mq.order = q.order;
  mcap_message_iter *it = nullptr;
  EXPECT_EQ(mcap_reader_query(r, &mq, &it), MCAP_OK);
  mcap_message_view v;
  int rc = MCAP_OK;
  while (it && (rc = mcap_message_iter_next(it, &v)) == MCAP_OK) {
    Msg m;
    m.topic.assign(v.channel->topic.data ? v.channel->topic.data : "", v.channel->topic.len);
    if (v.schema)
      m.schema.assign(v.schema->name.data ? v.schema->name.data : "", v.schema->name.len);
    m.channel = v.message.channel_id;
    m.sequence = v.message.sequence;
    m.log_time = v.message.log_time;
    m.publish_time = v.message.publish_time;
    m.data.assign(reinterpret_cast<const char *>(v.message.data.data), v.message.data.len);
    out.push_back(std::move(m));
  }
  if (it) {
    EXPECT_EQ(rc, MCAP_ITEROVER) << mcap_reader_errmsg(r);
  }
  mcap_message_iter_free(it);
  mcap_reader_free(r);
  return out;
}

// Every message of a file in file order, read with the streamed reader (every CRC checked).
inline std::vector<Msg> stream(const std::string &path, int *rc_out = nullptr) {
  std::vector<Msg> out;
  mcap_source src;
  mcap_error_info e;
  memset(&e, 0, sizeof e);
  EXPECT_EQ(mcap_source_open_file(&src, path.c_str(), &e), MCAP_OK) << e.msg;
  mcap_stream_reader *r = nullptr;
  EXPECT_EQ(mcap_stream_reader_new(&r, &src, nullptr), MCAP_OK);
  std::vector<std::string> topics(65536), schemas(65536), chan_schema(65536);
  mcap_record rec;
  int rc;
  while ((rc = mcap_stream_reader_next(r, &rec)) == MCAP_OK) {
    if (rec.opcode == MCAP_OP_SCHEMA) {
      schemas[rec.u.schema.id].assign(rec.u.schema.name.data ? rec.u.schema.name.data : "",
                                      rec.u.schema.name.len);
    } else if (rec.opcode == MCAP_OP_CHANNEL) {
      topics[rec.u.channel.id].assign(rec.u.channel.topic.data ? rec.u.channel.topic.data : "",
                                      rec.u.channel.topic.len);
      chan_schema[rec.u.channel.id] =
          rec.u.channel.schema_id ? schemas[rec.u.channel.schema_id] : "";
    } else if (rec.opcode == MCAP_OP_MESSAGE) {
      Msg m;
      m.channel = rec.u.message.channel_id;
      m.topic = topics[m.channel];
      m.schema = chan_schema[m.channel];
      m.sequence = rec.u.message.sequence;
      m.log_time = rec.u.message.log_time;
      m.publish_time = rec.u.message.publish_time;
      m.data.assign(reinterpret_cast<const char *>(rec.u.message.data.data),
                    rec.u.message.data.len);
      out.push_back(std::move(m));
    }
  }
  if (rc_out) {
    *rc_out = rc;
  } else {
    EXPECT_EQ(rc, MCAP_ITEROVER) << path << ": " << mcap_stream_reader_errmsg(r);
  }
  mcap_stream_reader_free(r);
  return out;
}

struct Verdict {
  size_t errors = 0, warnings = 0;
  std::string text;
};

// The doctor's findings for a file.
inline Verdict doctor(const std::string &path) {
  Verdict v;
  mcap_source src;
  mcap_error_info e;
  memset(&e, 0, sizeof e);
  EXPECT_EQ(mcap_source_open_file(&src, path.c_str(), &e), MCAP_OK) << e.msg;
  pl_doctor_report *rep = nullptr;
  pl_error_info pe;
  memset(&pe, 0, sizeof pe);
  int rc = pl_doctor_run(&src, nullptr, &rep, &pe);
  EXPECT_EQ(rc, PL_OK) << pe.msg;
  if (!rep) return v;
  v.errors = rep->n_errors;
  v.warnings = rep->n_warnings;
  for (size_t i = 0; i < rep->n_findings; i++) {
    if (rep->findings[i].severity == PL_SEV_INFO) continue;
    v.text += std::string(rep->findings[i].code) + " @" + std::to_string(rep->findings[i].offset) +
              ": " + rep->findings[i].message + "\n";
  }
  pl_doctor_report_free(rep);
  return v;
}

#define EXPECT_DOCTOR_CLEAN(path)                            \
  do {                                                       \
    rwt::Verdict v_ = rwt::doctor(path);                     \
    EXPECT_EQ(v_.errors, 0u) << (path) << "\n" << v_.text;   \
    EXPECT_EQ(v_.warnings, 0u) << (path) << "\n" << v_.text; \
  } while (0)

inline std::string read_all(const std::string &path) {
  FILE *f = fopen(path.c_str(), "rb");
  std::string s;
  if (!f) return s;
  char buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) s.append(buf, n);
  fclose(f);
  return s;
}

inline void write_all(const std::string &path, const std::string &data) {
  FILE *f = fopen(path.c_str(), "wb");
  ASSERT_TRUE(f);
  ASSERT_EQ(fwrite(data.data(), 1, data.size(), f), data.size());
  fclose(f);
}

}  // namespace rwt
