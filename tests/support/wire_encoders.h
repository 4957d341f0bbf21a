// wire_encoders.h - the tests' own encoders for the message formats pl_decode reads,
// written from the format rules and independent of the library: CDR (XCDR1, both
// byte orders, alignment counted from after the 4-byte encapsulation header), ROS 1
// serialization, and the protobuf wire format with a builder of FileDescriptorSets
// (descriptor.proto's field numbers), so protobuf tests need no protoc.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace mcapkit_test {

using WireBytes = std::vector<uint8_t>;

// CDR writer: the encapsulation header first, then primitives aligned to their size.
class CdrWriter {
 public:
  explicit CdrWriter(bool big_endian = false);
  CdrWriter &boolean(bool v);
  CdrWriter &i8(int8_t v);
  CdrWriter &u8(uint8_t v);
  CdrWriter &i16(int16_t v);
  CdrWriter &u16(uint16_t v);
  CdrWriter &i32(int32_t v);
  CdrWriter &u32(uint32_t v);
  CdrWriter &i64(int64_t v);
  CdrWriter &u64(uint64_t v);
  CdrWriter &f32(float v);
  CdrWriter &f64(double v);
  CdrWriter &str(const std::string &s);        // uint32 length (NUL counted), bytes, NUL
  CdrWriter &wstr(const std::u32string &s);    // uint32 count, 4-byte units
  CdrWriter &wstr16(const std::u16string &s);  // uint32 count, 2-byte units
  CdrWriter &seq(uint32_t n);                  // a sequence length
  CdrWriter &raw(const WireBytes &b);          // bytes as they are (uint8 arrays)
  CdrWriter &pad(size_t n);                    // n zero bytes
  const WireBytes &bytes() const { return b_; }
  size_t offset() const { return b_.size() - 4; }  // alignment position

 private:
  void align(size_t n);
  void put(uint64_t v, size_t n);
  WireBytes b_;
  bool be_;
};

// ROS 1 writer: little endian, no alignment.
class Ros1Writer {
 public:
  Ros1Writer &boolean(bool v) { return put(v ? 1 : 0, 1); }
  Ros1Writer &i8(int8_t v) { return put(static_cast<uint8_t>(v), 1); }
  Ros1Writer &u8(uint8_t v) { return put(v, 1); }
  Ros1Writer &i16(int16_t v) { return put(static_cast<uint16_t>(v), 2); }
  Ros1Writer &u16(uint16_t v) { return put(v, 2); }
  Ros1Writer &i32(int32_t v) { return put(static_cast<uint32_t>(v), 4); }
  Ros1Writer &u32(uint32_t v) { return put(v, 4); }
  Ros1Writer &i64(int64_t v) { return put(static_cast<uint64_t>(v), 8); }
  Ros1Writer &u64(uint64_t v) { return put(v, 8); }
  Ros1Writer &f32(float v);
  Ros1Writer &f64(double v);
  Ros1Writer &str(const std::string &s);  // uint32 length, bytes (no NUL)
  Ros1Writer &raw(const WireBytes &b);
  const WireBytes &bytes() const { return b_; }

 private:
  Ros1Writer &put(uint64_t v, size_t n);
  WireBytes b_;
};

// Protobuf wire format.
class ProtoWriter {
 public:
  ProtoWriter &varint(uint32_t field, uint64_t v);   // wire type 0
  ProtoWriter &sint(uint32_t field, int64_t v);      // zigzag varint
  ProtoWriter &fixed32(uint32_t field, uint32_t v);  // wire type 5
  ProtoWriter &fixed64(uint32_t field, uint64_t v);  // wire type 1
  ProtoWriter &f32(uint32_t field, float v);
  ProtoWriter &f64(uint32_t field, double v);
  ProtoWriter &bytes(uint32_t field, const std::string &s);  // wire type 2
  ProtoWriter &message(uint32_t field, const ProtoWriter &m);
  ProtoWriter &packed_varints(uint32_t field, const std::vector<uint64_t> &v);
  ProtoWriter &packed_fixed64(uint32_t field, const std::vector<uint64_t> &v);
  ProtoWriter &tag(uint32_t field, int wire_type);
  ProtoWriter &raw_varint(uint64_t v);
  ProtoWriter &raw(const WireBytes &b);
  const WireBytes &bytes() const { return b_; }
  std::string str() const { return std::string(b_.begin(), b_.end()); }

 private:
  WireBytes b_;
};

// descriptor.proto field types and labels.
enum PbType {
  kPbDouble = 1,
  kPbFloat = 2,
  kPbInt64 = 3,
  kPbUint64 = 4,
  kPbInt32 = 5,
  kPbFixed64 = 6,
  kPbFixed32 = 7,
  kPbBool = 8,
  kPbString = 9,
  kPbGroup = 10,
  kPbMessage = 11,
  kPbBytes = 12,
  kPbUint32 = 13,
  kPbEnum = 14,
  kPbSfixed32 = 15,
  kPbSfixed64 = 16,
  kPbSint32 = 17,
  kPbSint64 = 18
};
enum PbLabel { kPbOptional = 1, kPbRequired = 2, kPbRepeated = 3 };

struct PbField {
  PbField(std::string n, int num, PbType t, PbLabel l = kPbOptional, std::string tn = "",
          int oneof = -1, bool p3_optional = false)
      : name(std::move(n)),
        number(num),
        type(t),
        label(l),
        type_name(std::move(tn)),
        oneof_index(oneof),
        proto3_optional(p3_optional) {}
  std::string name;
  int number;
  PbType type;
  PbLabel label;
  std::string type_name;  // ".pkg.Msg" for messages and enums
  int oneof_index;        // -1 for none
  bool proto3_optional;
  int packed = -1;  // -1 unset, 0/1 FieldOptions.packed
};

struct PbEnum {
  std::string name;
  std::vector<std::pair<std::string, int>> values;
};

struct PbMessage {
  std::string name;
  std::vector<PbField> fields;
  std::vector<PbMessage> nested;
  std::vector<PbEnum> enums;
  std::vector<std::string> oneofs;
  bool map_entry = false;
};

struct PbFile {
  std::string name;
  std::string package;
  std::string syntax;  // "proto3", "proto2" or ""
  std::vector<PbMessage> messages;
  std::vector<PbEnum> enums;
};

// A FileDescriptorSet holding these files.
WireBytes descriptor_set(const std::vector<PbFile> &files);

}  // namespace mcapkit_test
