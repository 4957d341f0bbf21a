// ros_writers.h - test writers for the inputs of `mcapkit convert`, written from the
// format descriptions, independently of the converter: a ROS 1 bag writer (format
// 2.0; chunks stored, bz2 or lz4 frame; index data after each chunk, connection and
// chunk info records at the end, as rosbag writes them; or no index, as a killed
// recording leaves) and a rosbag2 SQLite writer (.db3 with or without the
// message_definitions table, zstd per message, metadata.yaml, a whole-file zstd
// copy). The C functions at the end generate large inputs for the benchmark.
#pragma once

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
#include <cstdio>
#include <map>
#include <string>
#include <utility>
#include <vector>

struct sqlite3;
struct sqlite3_stmt;

namespace mcapkit_test {

struct RosConnection {
  uint32_t id = 0;
  std::string topic;
  std::string type;          // e.g. "std_msgs/String"
  std::string md5sum = "992ce8a1687cec8c8bd883ec73ca41d1";
  std::string definition;    // full message_definition text
  std::string callerid;      // empty = no field
  std::string latching;      // "1"/"0"; empty = no field
};

struct BagOptions {
  std::string compression = "none";  // none | bz2 | lz4
  size_t chunk_size = 768 * 1024;    // uncompressed bytes per chunk
  bool index = true;                 // false: no index section, bag header index_pos = 0
  bool index_data = true;            // index data records after each chunk
};

// Writes a bag to a file as messages come (memory: one chunk).
class Ros1BagWriter {
 public:
  Ros1BagWriter(const std::string &path, BagOptions o = {});
  ~Ros1BagWriter();
  void add_connection(const RosConnection &c);
  void write(uint32_t conn, uint64_t time_ns, const std::string &data);
  void close();  // flush the last chunk, write the index, fix the bag header
  uint64_t bytes_written() const { return pos_; }

 private:
  void flush_chunk();
  void emit(const std::string &bytes);
  std::FILE *f_ = nullptr;
  BagOptions o_;
  uint64_t pos_ = 0;
  std::map<uint32_t, RosConnection> conns_;
  std::string chunk_;                 // uncompressed records of the open chunk
  std::vector<uint32_t> chunk_conns_; // connections defined in this chunk's records
  std::map<uint32_t, std::vector<std::pair<uint64_t, uint32_t>>> chunk_index_;
  uint64_t chunk_start_ = 0, chunk_end_ = 0;
  bool chunk_has_msgs_ = false;
  struct ChunkInfo {
    uint64_t pos, start, end;
    std::map<uint32_t, uint32_t> counts;
  };
  std::vector<ChunkInfo> infos_;
  std::vector<uint32_t> defined_;     // connections already written in some chunk
  bool closed_ = false;
};

// Helpers to build bag records by hand (for malformed inputs).
std::string bag_field(const std::string &name, const std::string &value);
std::string bag_field_u32(const std::string &name, uint32_t v);
std::string bag_field_u64(const std::string &name, uint64_t v);
std::string bag_field_time(const std::string &name, uint64_t ns);
std::string bag_record(const std::string &header_fields, const std::string &data);

struct Db3Options {
  bool message_definitions = true;  // create the table (rows via add_definition)
  bool zstd_messages = false;       // every message a zstd frame (compression_mode: message)
  bool with_qos = true;             // the offered_qos_profiles column
};

// A rosbag2 SQLite database.
class Db3Writer {
 public:
  Db3Writer(const std::string &path, Db3Options o = {});
  ~Db3Writer();
  int64_t add_topic(const std::string &name, const std::string &type,
                    const std::string &format = "cdr",
                    const std::string &qos = "- history: 1\n  depth: 10\n");
  void add_topic_with_id(int64_t id, const std::string &name, const std::string &type);
  void add_definition(const std::string &type, const std::string &encoding,
                      const std::string &text);
  void write(int64_t topic_id, uint64_t time_ns, const std::string &data);
  void close();

 private:
  void exec(const std::string &sql);
  sqlite3 *db_ = nullptr;
  sqlite3_stmt *ins_ = nullptr;
  Db3Options o_;
  int64_t next_topic_ = 1;
  uint64_t pending_ = 0;
};

struct Db3Topic {
  std::string name, type, format = "cdr", qos;
};
// metadata.yaml of a rosbag2 folder.
void write_metadata_yaml(const std::string &dir, const std::vector<std::string> &files,
                         const std::vector<Db3Topic> &topics, uint64_t message_count,
                         const std::string &compression_format = "",
                         const std::string &compression_mode = "",
                         const std::vector<std::pair<std::string, std::string>> &custom = {});
// zstd-compress a whole file (rosbag2 file compression): src -> dst.
void zstd_file(const std::string &src, const std::string &dst);

}  // namespace mcapkit_test

extern "C" {
#endif

// For the benchmark (C): generate a ROS 1 bag or a rosbag2 database of about `bytes` of
// message data (IMU, camera and lidar topics, compressible about 2:1), deterministically.
// compression: "none", "bz2" or "lz4". Return 0, or -1 (a message on stderr).
int mcapkit_gen_ros1_bag(const char *path, const char *compression, uint64_t bytes,
                         uint64_t *messages);
int mcapkit_gen_ros2_db3(const char *path, uint64_t bytes, uint64_t *messages);
// The seed corpus of fuzz_convert_bag: small bags (every compression, indexed, unindexed,
// chunks out of order, truncated) written into `dir`. Return 0 or -1.
int mcapkit_gen_ros1_seeds(const char *dir);

#ifdef __cplusplus
}
#endif
