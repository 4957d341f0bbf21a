// decode_util.h - helpers of the pl_decode tests: a decoder from strings, a message
// decoded to its compact JSON or CSV row, schema fixtures from testdata/schemas.
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "pipeline/decode.h"

namespace decode_test {

inline mcap_str S(const std::string &s) {
  return mcap_str{s.data(), static_cast<uint32_t>(s.size())};
}

inline std::string fixture(const std::string &name) {
  std::ifstream f(std::string(MCAPKIT_SOURCE_DIR) + "/testdata/schemas/" + name, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  EXPECT_FALSE(ss.str().empty()) << "missing fixture " << name;
  return ss.str();
}

struct DecoderDeleter {
  void operator()(pl_decoder *d) const { pl_decoder_free(d); }
};
using DecoderPtr = std::unique_ptr<pl_decoder, DecoderDeleter>;

struct Made {
  DecoderPtr d;
  int rc;
  std::string err;
};

inline Made make(const std::string &msg_enc, const std::string &schema_enc,
                 const std::string &schema_name, const std::string &schema_data,
                 const pl_decode_options *o = nullptr, const std::string &topic = "/t") {
  pl_decoder_spec spec;
  std::memset(&spec, 0, sizeof spec);
  spec.topic = S(topic);
  spec.message_encoding = S(msg_enc);
  spec.schema_encoding = S(schema_enc);
  spec.schema_name = S(schema_name);
  spec.schema_data = mcap_bytes{reinterpret_cast<const uint8_t *>(schema_data.data()),
                                static_cast<uint64_t>(schema_data.size())};
  pl_decoder *d = nullptr;
  pl_decode_error_info err;
  int rc = pl_decoder_create(&d, &spec, o, &err);
  return Made{DecoderPtr(d), rc, rc ? std::string(err.msg) : std::string()};
}

// Compact JSON of a decoded message, or "ERROR <code>: <message>".
inline std::string to_json(pl_decoder *d, const std::vector<uint8_t> &msg,
                           pl_bytes_mode bytes = PL_BYTES_DEFAULT) {
  const pl_value *v = nullptr;
  int rc = pl_decoder_decode_bytes(d, msg.data(), msg.size(), &v);
  if (rc != PL_DECODE_OK) return "ERROR " + std::to_string(rc) + ": " + pl_decoder_errmsg(d);
  pl_text t = PL_TEXT_INIT;
  pl_json_options o = {bytes};
  EXPECT_EQ(pl_decode_json_value(v, &o, &t), PL_DECODE_OK);
  std::string s(t.data ? t.data : "", t.len);
  pl_text_dispose(&t);
  return s;
}

inline std::vector<uint8_t> bytes(const std::string &s) {
  return std::vector<uint8_t>(s.begin(), s.end());
}

// Header line and rows of a CSV table of these messages.
inline std::string to_csv(pl_decoder *d, const std::vector<std::vector<uint8_t>> &msgs,
                          const pl_csv_options *o = nullptr) {
  pl_csv *c = nullptr;
  pl_decode_error_info err;
  int rc = pl_csv_create(&c, d, o, &err);
  if (rc != PL_DECODE_OK) return "ERROR " + std::to_string(rc) + ": " + err.msg;
  pl_text t = PL_TEXT_INIT;
  EXPECT_EQ(pl_csv_write_header(c, &t), PL_DECODE_OK);
  uint64_t time = 1767225600000000000ull;  // 2026-01-01T00:00:00Z
  for (const auto &m : msgs) {
    const pl_value *v = nullptr;
    rc = pl_decoder_decode_bytes(d, m.data(), m.size(), &v);
    EXPECT_EQ(rc, PL_DECODE_OK) << pl_decoder_errmsg(d);
    if (rc) break;
    EXPECT_EQ(pl_csv_write_row(c, time, v, &t), PL_DECODE_OK);
    time += 500000000;
  }
  std::string s(t.data ? t.data : "", t.len);
  pl_text_dispose(&t);
  pl_csv_free(c);
  return s;
}

}  // namespace decode_test
