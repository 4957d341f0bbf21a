// convert_util.h - helpers of the convert tests: run pl_convert into a file, read an
// MCAP file back with libmcap's streamed reader (messages with their topic, schemas,
// channels, metadata), and build the test bags and databases.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "mcap/mcap.h"
#include "pipeline/convert.h"
#include "ros_writers.h"

namespace cvt {

struct Msg {
  std::string topic;
  uint64_t log_time = 0, publish_time = 0;
  std::string data;
  bool operator==(const Msg &o) const {
    return topic == o.topic && log_time == o.log_time && publish_time == o.publish_time &&
           data == o.data;
  }
};
inline std::ostream &operator<<(std::ostream &os, const Msg &m) {
  return os << "{" << m.topic << " t " << m.log_time << " " << m.data.size() << " bytes}";
}

struct Channel {
  std::string topic, encoding, schema_name, schema_encoding, schema_data;
  std::map<std::string, std::string> metadata;
};

struct Mcap {
  std::string profile;
  std::vector<Msg> messages;
  std::map<uint16_t, Channel> channels;
  std::vector<std::pair<std::string, std::map<std::string, std::string>>> metadata;
  std::string error;  // empty when the whole file read cleanly
};

inline std::string s(mcap_str v) { return std::string(v.data ? v.data : "", v.len); }

inline std::map<std::string, std::string> kv(const mcap_map &m) {
  std::map<std::string, std::string> out;
  mcap_map_iter it = {0};
  mcap_str k, v;
  while (mcap_map_next_str(&m, &it, &k, &v) == MCAP_OK) out[s(k)] = s(v);
  return out;
}

// Read every record of an MCAP file (all CRCs checked).
inline Mcap read_mcap(const std::string &path) {
  Mcap out;
  mcap_source src;
  mcap_error_info e;
  memset(&e, 0, sizeof e);
  if (mcap_source_open_file(&src, path.c_str(), &e) != MCAP_OK) {
    out.error = e.msg;
    return out;
  }
  mcap_stream_reader *r = nullptr;
  if (mcap_stream_reader_new(&r, &src, nullptr) != MCAP_OK) {
    out.error = "reader";
    return out;
  }
  std::map<uint16_t, std::pair<std::string, std::pair<std::string, std::string>>> schemas;
  mcap_record rec;
  int rc;
  while ((rc = mcap_stream_reader_next(r, &rec)) == MCAP_OK) {
    switch (rec.opcode) {
      case MCAP_OP_HEADER: out.profile = s(rec.u.header.profile); break;
      case MCAP_OP_SCHEMA:
        schemas[rec.u.schema.id] = {
            s(rec.u.schema.name),
            {s(rec.u.schema.encoding),
             std::string((const char *)rec.u.schema.data.data, rec.u.schema.data.len)}};
        break;
      case MCAP_OP_CHANNEL: {
        Channel c;
        c.topic = s(rec.u.channel.topic);
        c.encoding = s(rec.u.channel.message_encoding);
        auto &sc = schemas[rec.u.channel.schema_id];
        c.schema_name = sc.first;
        c.schema_encoding = sc.second.first;
        c.schema_data = sc.second.second;
        c.metadata = kv(rec.u.channel.metadata);
        out.channels[rec.u.channel.id] = c;
        break;
      }
      case MCAP_OP_MESSAGE: {
        Msg m;
        m.topic = out.channels[rec.u.message.channel_id].topic;
        m.log_time = rec.u.message.log_time;
        m.publish_time = rec.u.message.publish_time;
        m.data.assign((const char *)rec.u.message.data.data, rec.u.message.data.len);
        out.messages.push_back(m);
        break;
      }
      case MCAP_OP_METADATA:
        if (!rec.in_chunk)
          out.metadata.push_back({s(rec.u.metadata.name), kv(rec.u.metadata.metadata)});
        break;
      default: break;
    }
  }
  if (rc != MCAP_ITEROVER) out.error = mcap_stream_reader_errmsg(r);
  mcap_stream_reader_free(r);
  return out;
}

struct Result {
  int rc = 0;
  std::string err;
  pl_convert_report rep{};  // counts only (pointers cleared)
  std::vector<pl_convert_topic> topics;
  std::vector<std::string> topic_names, problems;
  std::vector<int64_t> problem_rows;
  std::vector<uint64_t> problem_offsets;
  int indexed = -1;
};

// Convert `inputs` into the file `out` (through a file sink, committed when ok).
inline Result convert(const std::vector<std::string> &inputs, const std::string &out,
                      pl_convert_options *opts = nullptr) {
  Result res;
  pl_convert *c = nullptr;
  EXPECT_EQ(pl_convert_new(&c, opts), PL_CONVERT_OK);
  std::vector<const char *> in;
  for (auto &i : inputs) in.push_back(i.c_str());
  mcap_sink sink;
  mcap_error_info e;
  memset(&e, 0, sizeof e);
  EXPECT_EQ(mcap_sink_open_file(&sink, out.c_str(), &e), MCAP_OK) << e.msg;
  res.rc = pl_convert_run(c, in.data(), in.size(), &sink);
  res.err = pl_convert_errmsg(c);
  if (res.rc == PL_CONVERT_OK) {
    EXPECT_EQ(mcap_sink_commit(&sink, &e), MCAP_OK) << e.msg;
  }
  mcap_sink_close(&sink, &e);
  const pl_convert_report *r = pl_convert_get_report(c);
  res.rep = *r;
  for (size_t i = 0; i < r->n_topics; i++) {
    res.topics.push_back(r->topics[i]);
    res.topic_names.push_back(r->topics[i].topic);
  }
  for (size_t i = 0; i < r->n_problems; i++) {
    res.problems.push_back(std::string(r->problems[i].file) + ": " + r->problems[i].message);
    res.problem_rows.push_back(r->problems[i].row);
    res.problem_offsets.push_back(r->problems[i].offset);
  }
  if (r->n_inputs) res.indexed = r->inputs[0].indexed;
  res.rep.inputs = nullptr;
  res.rep.topics = nullptr;
  res.rep.problems = nullptr;
  for (auto &t : res.topics) t.topic = t.type = t.message_encoding = t.schema_encoding = nullptr;
  pl_convert_free(c);
  return res;
}

inline std::string joined(const std::vector<std::string> &v) {
  std::string o;
  for (auto &x : v) o += x + "\n";
  return o;
}

// Messages sorted as the converter must write them: by time, ties kept in input order.
inline std::vector<Msg> by_time(std::vector<Msg> v) {
  std::stable_sort(v.begin(), v.end(),
                   [](const Msg &a, const Msg &b) { return a.log_time < b.log_time; });
  return v;
}

// A bag of three connections and `n` messages whose times jitter (not in order
// within chunks); returns the messages as written.
inline std::vector<Msg> make_bag(const std::string &path, mcapkit_test::BagOptions o, int n = 600,
                                 uint64_t t0 = 1000000000000ull) {
  using namespace mcapkit_test;
  Ros1BagWriter w(path, o);
  RosConnection a{0, "/chatter", "std_msgs/String", "992ce8a1687cec8c8bd883ec73ca41d1",
                  "string data\n", "/talker", "0"};
  RosConnection b{7, "/pose", "geometry_msgs/Pose", "e45d45a5a1ce597b249e23fb30fc871f",
                  "Point position\n================================================================"
                  "================\nMSG: geometry_msgs/Point\nfloat64 x\n",
                  "/node", "1"};
  RosConnection c{3, "/chatter", "std_msgs/String", "992ce8a1687cec8c8bd883ec73ca41d1",
                  "string data\n", "/other", ""};
  w.add_connection(a);
  w.add_connection(b);
  w.add_connection(c);
  std::vector<Msg> msgs;
  const RosConnection *conns[3] = {&a, &b, &c};
  for (int i = 0; i < n; i++) {
    const RosConnection *k = conns[i % 3];
    uint64_t t = t0 + (uint64_t)i * 1000 + (i % 5 == 0 ? 2500 : 0);  // some arrive late
    std::string data = "msg " + std::to_string(i) + std::string((size_t)(i * 7) % 300, 'x');
    w.write(k->id, t, data);
    msgs.push_back({k->topic, t, t, data});
  }
  w.close();
  return msgs;
}

}  // namespace cvt
