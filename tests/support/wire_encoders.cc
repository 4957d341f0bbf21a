// wire_encoders.cc - see wire_encoders.h.
#include "wire_encoders.h"

#include <cstring>

namespace mcapkit_test {

// ------------------------------------------------------------------- CDR

CdrWriter::CdrWriter(bool big_endian) : be_(big_endian) {
  b_ = {0x00, static_cast<uint8_t>(big_endian ? 0x00 : 0x01), 0x00, 0x00};
}

void CdrWriter::align(size_t n) {
  while (offset() % n) b_.push_back(0);
}

void CdrWriter::put(uint64_t v, size_t n) {
  align(n);
  for (size_t i = 0; i < n; i++) {
    size_t shift = be_ ? 8 * (n - 1 - i) : 8 * i;
    b_.push_back(static_cast<uint8_t>(v >> shift));
  }
}

CdrWriter &CdrWriter::boolean(bool v) {
  put(v ? 1 : 0, 1);
  return *this;
}
CdrWriter &CdrWriter::i8(int8_t v) {
  put(static_cast<uint8_t>(v), 1);
  return *this;
}
CdrWriter &CdrWriter::u8(uint8_t v) {
  put(v, 1);
  return *this;
}
CdrWriter &CdrWriter::i16(int16_t v) {
  put(static_cast<uint16_t>(v), 2);
  return *this;
}
CdrWriter &CdrWriter::u16(uint16_t v) {
  put(v, 2);
  return *this;
}
CdrWriter &CdrWriter::i32(int32_t v) {
  put(static_cast<uint32_t>(v), 4);
  return *this;
}
CdrWriter &CdrWriter::u32(uint32_t v) {
  put(v, 4);
  return *this;
}
CdrWriter &CdrWriter::i64(int64_t v) {
  put(static_cast<uint64_t>(v), 8);
  return *this;
}
CdrWriter &CdrWriter::u64(uint64_t v) {
  put(v, 8);
  return *this;
}
CdrWriter &CdrWriter::f32(float v) {
  uint32_t x;
  std::memcpy(&x, &v, 4);
  put(x, 4);
  return *this;
}
CdrWriter &CdrWriter::f64(double v) {
  uint64_t x;
  std::memcpy(&x, &v, 8);
  put(x, 8);
  return *this;
}
CdrWriter &CdrWriter::str(const std::string &s) {
  put(static_cast<uint32_t>(s.size() + 1), 4);
  b_.insert(b_.end(), s.begin(), s.end());
  b_.push_back(0);
  return *this;
}
CdrWriter &CdrWriter::wstr(const std::u32string &s) {
  put(static_cast<uint32_t>(s.size()), 4);
  for (char32_t c : s) put(c, 4);
  return *this;
}
CdrWriter &CdrWriter::wstr16(const std::u16string &s) {
  put(static_cast<uint32_t>(s.size()), 4);
  for (char16_t c : s) put(c, 2);
  return *this;
}
CdrWriter &CdrWriter::seq(uint32_t n) {
  put(n, 4);
  return *this;
}
CdrWriter &CdrWriter::raw(const WireBytes &b) {
  b_.insert(b_.end(), b.begin(), b.end());
  return *this;
}
CdrWriter &CdrWriter::pad(size_t n) {
  b_.insert(b_.end(), n, 0);
  return *this;
}

// ----------------------------------------------------------------- ROS 1

Ros1Writer &Ros1Writer::put(uint64_t v, size_t n) {
  for (size_t i = 0; i < n; i++) b_.push_back(static_cast<uint8_t>(v >> (8 * i)));
  return *this;
}
Ros1Writer &Ros1Writer::f32(float v) {
  uint32_t x;
  std::memcpy(&x, &v, 4);
  return put(x, 4);
}
Ros1Writer &Ros1Writer::f64(double v) {
  uint64_t x;
  std::memcpy(&x, &v, 8);
  return put(x, 8);
}
Ros1Writer &Ros1Writer::str(const std::string &s) {
  put(s.size(), 4);
  b_.insert(b_.end(), s.begin(), s.end());
  return *this;
}
Ros1Writer &Ros1Writer::raw(const WireBytes &b) {
  b_.insert(b_.end(), b.begin(), b.end());
  return *this;
}

// -------------------------------------------------------------- protobuf

ProtoWriter &ProtoWriter::raw_varint(uint64_t v) {
  while (v >= 0x80) {
    b_.push_back(static_cast<uint8_t>(v | 0x80));
    v >>= 7;
  }
  b_.push_back(static_cast<uint8_t>(v));
  return *this;
}
ProtoWriter &ProtoWriter::tag(uint32_t field, int wire_type) {
  return raw_varint(static_cast<uint64_t>(field) << 3 | static_cast<uint64_t>(wire_type));
}
ProtoWriter &ProtoWriter::varint(uint32_t field, uint64_t v) {
  tag(field, 0);
  return raw_varint(v);
}
ProtoWriter &ProtoWriter::sint(uint32_t field, int64_t v) {
  uint64_t z = (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
  return varint(field, z);
}
ProtoWriter &ProtoWriter::fixed32(uint32_t field, uint32_t v) {
  tag(field, 5);
  for (int i = 0; i < 4; i++) b_.push_back(static_cast<uint8_t>(v >> (8 * i)));
  return *this;
}
ProtoWriter &ProtoWriter::fixed64(uint32_t field, uint64_t v) {
  tag(field, 1);
  for (int i = 0; i < 8; i++) b_.push_back(static_cast<uint8_t>(v >> (8 * i)));
  return *this;
}
ProtoWriter &ProtoWriter::f32(uint32_t field, float v) {
  uint32_t x;
  std::memcpy(&x, &v, 4);
  return fixed32(field, x);
}
ProtoWriter &ProtoWriter::f64(uint32_t field, double v) {
  uint64_t x;
  std::memcpy(&x, &v, 8);
  return fixed64(field, x);
}
ProtoWriter &ProtoWriter::bytes(uint32_t field, const std::string &s) {
  tag(field, 2);
  raw_varint(s.size());
  b_.insert(b_.end(), s.begin(), s.end());
  return *this;
}
ProtoWriter &ProtoWriter::message(uint32_t field, const ProtoWriter &m) {
  tag(field, 2);
  raw_varint(m.b_.size());
  b_.insert(b_.end(), m.b_.begin(), m.b_.end());
  return *this;
}
ProtoWriter &ProtoWriter::packed_varints(uint32_t field, const std::vector<uint64_t> &v) {
  ProtoWriter body;
  for (uint64_t x : v) body.raw_varint(x);
  return message(field, body);
}
ProtoWriter &ProtoWriter::packed_fixed64(uint32_t field, const std::vector<uint64_t> &v) {
  ProtoWriter body;
  for (uint64_t x : v)
    for (int i = 0; i < 8; i++) body.b_.push_back(static_cast<uint8_t>(x >> (8 * i)));
  return message(field, body);
}
ProtoWriter &ProtoWriter::raw(const WireBytes &b) {
  b_.insert(b_.end(), b.begin(), b.end());
  return *this;
}

// ------------------------------------------------- FileDescriptorSet builder

static ProtoWriter enum_proto(const PbEnum &e) {
  ProtoWriter w;
  w.bytes(1, e.name);
  for (const auto &v : e.values) {
    ProtoWriter val;
    val.bytes(1, v.first).varint(2, static_cast<uint64_t>(static_cast<int64_t>(v.second)));
    w.message(2, val);
  }
  return w;
}

static ProtoWriter message_proto(const PbMessage &m) {
  ProtoWriter w;
  w.bytes(1, m.name);
  for (const auto &f : m.fields) {
    ProtoWriter fw;
    fw.bytes(1, f.name).varint(3, static_cast<uint64_t>(f.number)).varint(4, f.label);
    fw.varint(5, f.type);
    if (!f.type_name.empty()) fw.bytes(6, f.type_name);
    if (f.packed >= 0) {
      ProtoWriter opts;
      opts.varint(2, static_cast<uint64_t>(f.packed));
      fw.message(8, opts);
    }
    if (f.oneof_index >= 0) fw.varint(9, static_cast<uint64_t>(f.oneof_index));
    if (f.proto3_optional) fw.varint(17, 1);
    w.message(2, fw);
  }
  for (const auto &n : m.nested) w.message(3, message_proto(n));
  for (const auto &e : m.enums) w.message(4, enum_proto(e));
  if (m.map_entry) {
    ProtoWriter opts;
    opts.varint(7, 1);
    w.message(7, opts);
  }
  for (const auto &o : m.oneofs) {
    ProtoWriter ow;
    ow.bytes(1, o);
    w.message(8, ow);
  }
  return w;
}

WireBytes descriptor_set(const std::vector<PbFile> &files) {
  ProtoWriter set;
  for (const auto &f : files) {
    ProtoWriter fw;
    fw.bytes(1, f.name);
    if (!f.package.empty()) fw.bytes(2, f.package);
    for (const auto &m : f.messages) fw.message(4, message_proto(m));
    for (const auto &e : f.enums) fw.message(5, enum_proto(e));
    if (!f.syntax.empty()) fw.bytes(12, f.syntax);
    set.message(1, fw);
  }
  return set.bytes();
}

}  // namespace mcapkit_test
