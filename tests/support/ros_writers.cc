// ros_writers.cc - the ROS 1 bag and rosbag2 SQLite test writers (see ros_writers.h).
#include "ros_writers.h"

#include <bzlib.h>
#include <lz4frame.h>
#include <sqlite3.h>
#include <zstd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <stdexcept>

namespace mcapkit_test {

// ------------------------------------------------------------------ records

static std::string le32s(uint32_t v) {
  std::string s(4, '\0');
  for (int i = 0; i < 4; i++) s[i] = (char)(v >> (8 * i));
  return s;
}
static std::string le64s(uint64_t v) { return le32s((uint32_t)v) + le32s((uint32_t)(v >> 32)); }

std::string bag_field(const std::string &name, const std::string &value) {
  std::string f = name + "=" + value;
  return le32s((uint32_t)f.size()) + f;
}
std::string bag_field_u32(const std::string &name, uint32_t v) { return bag_field(name, le32s(v)); }
std::string bag_field_u64(const std::string &name, uint64_t v) { return bag_field(name, le64s(v)); }
std::string bag_field_time(const std::string &name, uint64_t ns) {
  return bag_field(name, le32s((uint32_t)(ns / 1000000000u)) + le32s((uint32_t)(ns % 1000000000u)));
}
std::string bag_record(const std::string &header_fields, const std::string &data) {
  return le32s((uint32_t)header_fields.size()) + header_fields + le32s((uint32_t)data.size()) +
         data;
}

static std::string op(uint8_t o) { return bag_field("op", std::string(1, (char)o)); }

static std::string conn_record(const RosConnection &c) {
  std::string data = bag_field("topic", c.topic) + bag_field("type", c.type) +
                     bag_field("md5sum", c.md5sum) + bag_field("message_definition", c.definition);
  if (!c.callerid.empty()) data += bag_field("callerid", c.callerid);
  if (!c.latching.empty()) data += bag_field("latching", c.latching);
  return bag_record(op(0x07) + bag_field_u32("conn", c.id) + bag_field("topic", c.topic), data);
}

static std::string bag_header(uint64_t index_pos, uint32_t conns, uint32_t chunks) {
  std::string h = op(0x03) + bag_field_u64("index_pos", index_pos) +
                  bag_field_u32("conn_count", conns) + bag_field_u32("chunk_count", chunks);
  // rosbag pads the bag header record to 4096 bytes.
  size_t pad = 4096 - h.size() - 8;
  return bag_record(h, std::string(pad, ' '));
}

// ----------------------------------------------------------------- bag writer

Ros1BagWriter::Ros1BagWriter(const std::string &path, BagOptions o) : o_(o) {
  f_ = std::fopen(path.c_str(), "wb");
  if (!f_) throw std::runtime_error("cannot create " + path);
  emit("#ROSBAG V2.0\n");
  emit(bag_header(0, 0, 0));
}

Ros1BagWriter::~Ros1BagWriter() {
  if (!closed_) close();
}

void Ros1BagWriter::emit(const std::string &bytes) {
  if (std::fwrite(bytes.data(), 1, bytes.size(), f_) != bytes.size())
    throw std::runtime_error("bag write failed");
  pos_ += bytes.size();
}

void Ros1BagWriter::add_connection(const RosConnection &c) { conns_[c.id] = c; }

void Ros1BagWriter::write(uint32_t conn, uint64_t time_ns, const std::string &data) {
  if (std::find(defined_.begin(), defined_.end(), conn) == defined_.end()) {
    chunk_ += conn_record(conns_.at(conn));
    defined_.push_back(conn);
  }
  if (!chunk_has_msgs_ || time_ns < chunk_start_) chunk_start_ = time_ns;
  if (!chunk_has_msgs_ || time_ns > chunk_end_) chunk_end_ = time_ns;
  chunk_has_msgs_ = true;
  chunk_index_[conn].push_back({time_ns, (uint32_t)chunk_.size()});
  chunk_ += bag_record(op(0x02) + bag_field_u32("conn", conn) + bag_field_time("time", time_ns),
                       data);
  if (chunk_.size() >= o_.chunk_size) flush_chunk();
}

void Ros1BagWriter::flush_chunk() {
  if (chunk_.empty()) return;
  std::string comp;
  if (o_.compression == "none") {
    comp = chunk_;
  } else if (o_.compression == "bz2") {
    unsigned int n = (unsigned int)(chunk_.size() + chunk_.size() / 100 + 600);
    comp.resize(n);
    if (BZ2_bzBuffToBuffCompress(&comp[0], &n, &chunk_[0], (unsigned int)chunk_.size(), 9, 0,
                                 30) != BZ_OK)
      throw std::runtime_error("bz2 compression failed");
    comp.resize(n);
  } else if (o_.compression == "lz4") {
    size_t n = LZ4F_compressFrameBound(chunk_.size(), nullptr);
    comp.resize(n);
    n = LZ4F_compressFrame(&comp[0], n, chunk_.data(), chunk_.size(), nullptr);
    if (LZ4F_isError(n)) throw std::runtime_error("lz4 compression failed");
    comp.resize(n);
  } else {
    throw std::runtime_error("unknown compression " + o_.compression);
  }
  ChunkInfo info{pos_, chunk_start_, chunk_end_, {}};
  emit(bag_record(op(0x05) + bag_field("compression", o_.compression) +
                      bag_field_u32("size", (uint32_t)chunk_.size()),
                  comp));
  for (auto &kv : chunk_index_) {
    info.counts[kv.first] = (uint32_t)kv.second.size();
    if (!o_.index_data) continue;
    std::string data;
    for (auto &e : kv.second) {
      data += le32s((uint32_t)(e.first / 1000000000u)) + le32s((uint32_t)(e.first % 1000000000u));
      data += le32s(e.second);
    }
    emit(bag_record(op(0x04) + bag_field_u32("ver", 1) + bag_field_u32("conn", kv.first) +
                        bag_field_u32("count", (uint32_t)kv.second.size()),
                    data));
  }
  infos_.push_back(info);
  chunk_.clear();
  chunk_index_.clear();
  chunk_has_msgs_ = false;
}

void Ros1BagWriter::close() {
  if (closed_) return;
  closed_ = true;
  flush_chunk();
  if (o_.index) {
    uint64_t index_pos = pos_;
    for (auto &kv : conns_) emit(conn_record(kv.second));
    for (auto &ci : infos_) {
      std::string data;
      for (auto &kv : ci.counts) data += le32s(kv.first) + le32s(kv.second);
      emit(bag_record(op(0x06) + bag_field_u32("ver", 1) + bag_field_u64("chunk_pos", ci.pos) +
                          bag_field_time("start_time", ci.start) +
                          bag_field_time("end_time", ci.end) +
                          bag_field_u32("count", (uint32_t)ci.counts.size()),
                      data));
    }
    std::fseek(f_, 13, SEEK_SET);
    std::string h = bag_header(index_pos, (uint32_t)conns_.size(), (uint32_t)infos_.size());
    std::fwrite(h.data(), 1, h.size(), f_);
  }
  std::fclose(f_);
  f_ = nullptr;
}

// -------------------------------------------------------------------- db3

Db3Writer::Db3Writer(const std::string &path, Db3Options o) : o_(o) {
  std::remove(path.c_str());
  if (sqlite3_open(path.c_str(), &db_) != SQLITE_OK) throw std::runtime_error("sqlite open");
  exec("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;");
  exec(std::string("CREATE TABLE topics(id INTEGER PRIMARY KEY, name TEXT NOT NULL, type TEXT NOT "
                   "NULL, serialization_format TEXT NOT NULL") +
       (o_.with_qos ? ", offered_qos_profiles TEXT NOT NULL" : "") + ");");
  exec("CREATE TABLE messages(id INTEGER PRIMARY KEY, topic_id INTEGER NOT NULL, timestamp "
       "INTEGER NOT NULL, data BLOB NOT NULL);");
  exec("CREATE INDEX timestamp_idx ON messages (timestamp ASC);");
  exec("CREATE TABLE schema(schema_version INTEGER PRIMARY KEY, ros_distro TEXT NOT NULL);");
  exec("INSERT INTO schema VALUES (4, 'humble');");
  if (o_.message_definitions)
    exec("CREATE TABLE message_definitions(id INTEGER PRIMARY KEY, topic_type TEXT NOT NULL, "
         "encoding TEXT NOT NULL, encoded_message_definition TEXT NOT NULL, "
         "type_description_hash TEXT NOT NULL);");
  if (sqlite3_prepare_v2(db_, "INSERT INTO messages(topic_id, timestamp, data) VALUES (?, ?, ?)",
                         -1, &ins_, nullptr) != SQLITE_OK)
    throw std::runtime_error("sqlite prepare");
  exec("BEGIN;");
}

Db3Writer::~Db3Writer() { close(); }

void Db3Writer::exec(const std::string &sql) {
  char *err = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string m = err ? err : "?";
    sqlite3_free(err);
    throw std::runtime_error("sqlite: " + m + " in " + sql);
  }
}

static std::string quote(const std::string &s) {
  std::string q = "'";
  for (char ch : s) {
    if (ch == '\'') q += "''";
    else q += ch;
  }
  return q + "'";
}

int64_t Db3Writer::add_topic(const std::string &name, const std::string &type,
                             const std::string &format, const std::string &qos) {
  int64_t id = next_topic_++;
  exec("INSERT INTO topics VALUES (" + std::to_string(id) + ", " + quote(name) + ", " +
       quote(type) + ", " + quote(format) + (o_.with_qos ? ", " + quote(qos) : "") + ");");
  return id;
}

void Db3Writer::add_topic_with_id(int64_t id, const std::string &name, const std::string &type) {
  exec("INSERT INTO topics VALUES (" + std::to_string(id) + ", " + quote(name) + ", " +
       quote(type) + ", 'cdr'" + (o_.with_qos ? ", ''" : "") + ");");
}

void Db3Writer::add_definition(const std::string &type, const std::string &encoding,
                               const std::string &text) {
  exec("INSERT INTO message_definitions(topic_type, encoding, encoded_message_definition, "
       "type_description_hash) VALUES (" +
       quote(type) + ", " + quote(encoding) + ", " + quote(text) + ", 'hash');");
}

void Db3Writer::write(int64_t topic_id, uint64_t time_ns, const std::string &data) {
  std::string blob = data;
  if (o_.zstd_messages) {
    blob.resize(ZSTD_compressBound(data.size()));
    size_t n = ZSTD_compress(&blob[0], blob.size(), data.data(), data.size(), 1);
    if (ZSTD_isError(n)) throw std::runtime_error("zstd");
    blob.resize(n);
  }
  sqlite3_bind_int64(ins_, 1, topic_id);
  sqlite3_bind_int64(ins_, 2, (sqlite3_int64)time_ns);
  sqlite3_bind_blob(ins_, 3, blob.data(), (int)blob.size(), SQLITE_TRANSIENT);
  if (sqlite3_step(ins_) != SQLITE_DONE) throw std::runtime_error("sqlite insert");
  sqlite3_reset(ins_);
  if (++pending_ % 10000 == 0) exec("COMMIT; BEGIN;");
}

void Db3Writer::close() {
  if (!db_) return;
  exec("COMMIT;");
  sqlite3_finalize(ins_);
  sqlite3_close(db_);
  db_ = nullptr;
  ins_ = nullptr;
}

void write_metadata_yaml(const std::string &dir, const std::vector<std::string> &files,
                         const std::vector<Db3Topic> &topics, uint64_t message_count,
                         const std::string &compression_format,
                         const std::string &compression_mode,
                         const std::vector<std::pair<std::string, std::string>> &custom) {
  std::ofstream y(dir + "/metadata.yaml");
  y << "rosbag2_bagfile_information:\n  version: 5\n  storage_identifier: sqlite3\n"
    << "  relative_file_paths:\n";
  for (auto &f : files) y << "    - " << f << "\n";
  y << "  duration:\n    nanoseconds: 0\n  starting_time:\n    nanoseconds_since_epoch: 0\n"
    << "  message_count: " << message_count << "\n  topics_with_message_count:\n";
  for (auto &t : topics)
    y << "    - topic_metadata:\n        name: " << t.name << "\n        type: " << t.type
      << "\n        serialization_format: " << t.format << "\n        offered_qos_profiles: \"\"\n"
      << "      message_count: 0\n";
  y << "  compression_format: \"" << compression_format << "\"\n  compression_mode: \""
    << compression_mode << "\"\n";
  if (!custom.empty()) {
    y << "  custom_data:\n";
    for (auto &kv : custom) y << "    " << kv.first << ": " << kv.second << "\n";
  }
}

void zstd_file(const std::string &src, const std::string &dst) {
  std::ifstream in(src, std::ios::binary);
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::string out(ZSTD_compressBound(data.size()), '\0');
  size_t n = ZSTD_compress(&out[0], out.size(), data.data(), data.size(), 3);
  if (ZSTD_isError(n)) throw std::runtime_error("zstd");
  out.resize(n);
  std::ofstream o(dst, std::ios::binary);
  o.write(out.data(), (std::streamsize)out.size());
}

}  // namespace mcapkit_test

// ------------------------------------------------------------ benchmark inputs

namespace {

struct Gen {
  uint64_t s = 0x9e3779b97f4a7c15ull;
  uint64_t next() {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
  }
  // Sensor-like payload: low-entropy bytes (about 2:1 for zstd).
  void fill(std::string &p, size_t n) {
    p.resize(n);
    for (size_t i = 0; i < n; i += 8) {
      uint64_t v = next() & 0x0f0f0f0f0f0f0f0full;
      std::memcpy(&p[i], &v, n - i < 8 ? n - i : 8);
    }
  }
};

struct Topic {
  const char *name, *type1, *type2;
  size_t size;
  uint64_t period_ns;
};

const Topic kTopics[] = {
    {"/imu", "sensor_msgs/Imu", "sensor_msgs/msg/Imu", 320, 5000000},
    {"/camera/image", "sensor_msgs/Image", "sensor_msgs/msg/Image", 230400, 50000000},
    {"/lidar/points", "sensor_msgs/PointCloud2", "sensor_msgs/msg/PointCloud2", 115200, 100000000},
};

template <typename F>
uint64_t generate(uint64_t bytes, F &&emit) {
  Gen g;
  std::string payload;
  uint64_t written = 0, count = 0;
  uint64_t next_t[3] = {0, 0, 0};
  const uint64_t t0 = 1700000000000000000ull;
  while (written < bytes) {
    int k = 0;
    for (int i = 1; i < 3; i++)
      if (next_t[i] < next_t[k]) k = i;
    g.fill(payload, kTopics[k].size);
    emit(k, t0 + next_t[k], payload);
    next_t[k] += kTopics[k].period_ns;
    written += payload.size();
    count++;
  }
  return count;
}

}  // namespace

extern "C" int mcapkit_gen_ros1_bag(const char *path, const char *compression, uint64_t bytes,
                                    uint64_t *messages) {
  try {
    mcapkit_test::BagOptions o;
    o.compression = compression;
    mcapkit_test::Ros1BagWriter w(path, o);
    for (uint32_t i = 0; i < 3; i++) {
      mcapkit_test::RosConnection c;
      c.id = i;
      c.topic = kTopics[i].name;
      c.type = kTopics[i].type1;
      c.definition = "uint8[] data\n";
      c.callerid = "/bench";
      w.add_connection(c);
    }
    uint64_t n = generate(bytes, [&](int k, uint64_t t, const std::string &p) {
      w.write((uint32_t)k, t, p);
    });
    w.close();
    if (messages) *messages = n;
    return 0;
  } catch (const std::exception &e) {
    std::fprintf(stderr, "mcapkit_gen_ros1_bag: %s\n", e.what());
    return -1;
  }
}

extern "C" int mcapkit_gen_ros2_db3(const char *path, uint64_t bytes, uint64_t *messages) {
  try {
    mcapkit_test::Db3Writer w(path);
    int64_t ids[3];
    for (int i = 0; i < 3; i++) {
      ids[i] = w.add_topic(kTopics[i].name, kTopics[i].type2);
      w.add_definition(kTopics[i].type2, "ros2msg", "uint8[] data\n");
    }
    uint64_t n = generate(bytes, [&](int k, uint64_t t, const std::string &p) {
      w.write(ids[k], t, p);
    });
    w.close();
    if (messages) *messages = n;
    return 0;
  } catch (const std::exception &e) {
    std::fprintf(stderr, "mcapkit_gen_ros2_db3: %s\n", e.what());
    return -1;
  }
}

// ------------------------------------------------------------- fuzz seeds

extern "C" int mcapkit_gen_ros1_seeds(const char *dir) {
  try {
    struct Seed {
      const char *name, *compression;
      bool index, index_data, unsorted;
      int cut;  // bytes cut off the end
    };
    const Seed seeds[] = {
        {"indexed_none", "none", true, true, false, 0},
        {"indexed_bz2", "bz2", true, true, false, 0},
        {"indexed_lz4", "lz4", true, true, false, 0},
        {"unsorted_chunks", "none", true, true, true, 0},
        {"unindexed_none", "none", false, true, false, 0},
        {"unindexed_no_index_data_lz4", "lz4", false, false, false, 0},
        {"truncated_none", "none", false, true, false, 150},
        {"truncated_bz2", "bz2", false, true, false, 90},
    };
    for (const Seed &s : seeds) {
      std::string path = std::string(dir) + "/" + s.name + ".bag";
      mcapkit_test::BagOptions o;
      o.compression = s.compression;
      o.chunk_size = 300;
      o.index = s.index;
      o.index_data = s.index_data;
      {
        mcapkit_test::Ros1BagWriter w(path, o);
        w.add_connection({1, "/a", "std_msgs/String", "x", "string data\n", "/n", "1"});
        w.add_connection({5, "/b", "std_msgs/Int8", "y", "int8 data\n", "", ""});
        for (int i = 0; i < 12; i++) {
          uint64_t t = 1000000000ull + (uint64_t)(s.unsorted ? (12 - i) / 4 * 100 + i : i) * 1000;
          w.write(i % 3 ? 1 : 5, t, std::string(20 + (size_t)i, (char)('a' + i)));
        }
      }
      if (s.cut) {
        std::ifstream in(path, std::ios::binary);
        std::string d((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        in.close();
        d.resize(d.size() - (size_t)s.cut);
        std::ofstream(path, std::ios::binary | std::ios::trunc).write(d.data(),
                                                                      (std::streamsize)d.size());
      }
    }
    return 0;
  } catch (const std::exception &e) {
    std::fprintf(stderr, "mcapkit_gen_ros1_seeds: %s\n", e.what());
    return -1;
  }
}
