// test_convert_ros2.cc - pl_convert on rosbag2 SQLite bags: a .db3 with and without
// message_definitions, --msg-path schemas with their dependencies, split bags with
// metadata.yaml and custom data, zstd file and message compression, databases that
// are not rosbag2 ones, rows naming unknown topics, the real rosbag2 bags, and a bag
// and a database converted into one file.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "convert_util.h"
#include "tmpdir.h"

using namespace cvt;
using mcapkit_test::Db3Options;
using mcapkit_test::Db3Topic;
using mcapkit_test::Db3Writer;
using mcapkit_test::TempDir;
namespace fs = std::filesystem;

static std::string realworld(const std::string &rel) {
  return std::string(MCAPKIT_SOURCE_DIR) + "/../shared/realworld/" + rel;
}

static void put(const std::string &path, const std::string &text) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path) << text;
}

// Two topics; `n` messages each, times interleaved by `phase`.
static std::vector<Msg> fill_db(Db3Writer &w, int n, uint64_t phase, bool defs) {
  int64_t s = w.add_topic("/chatter", "std_msgs/msg/String");
  int64_t p = w.add_topic("/pose", "geometry_msgs/msg/Pose", "cdr", "- history: 3\n");
  if (defs) {
    w.add_definition("std_msgs/msg/String", "ros2msg", "string data\n");
    w.add_definition("geometry_msgs/msg/Pose", "ros2idl", "module geometry_msgs { };\n");
  }
  std::vector<Msg> msgs;
  for (int i = 0; i < n; i++) {
    uint64_t t = 5000000000ull + (uint64_t)i * 10000 + phase;
    std::string d = "\x00\x01\x00\x00" + std::to_string(i) + std::string((size_t)i % 50, 'q');
    bool pose = i % 2;
    w.write(pose ? p : s, t, d);
    msgs.push_back({pose ? "/pose" : "/chatter", t, t, d});
  }
  return msgs;
}

TEST(ConvertDb3, WithMessageDefinitions) {
  TempDir dir;
  std::vector<Msg> msgs;
  {
    Db3Writer w(dir.file("bag.db3"));
    msgs = fill_db(w, 200, 0, true);
  }
  chmod(dir.file("bag.db3").c_str(), 0444);  // read-only media: nothing is written
  Result r = convert({dir.file("bag.db3")}, dir.file("out.mcap"));
  ASSERT_EQ(r.rc, PL_CONVERT_OK) << r.err;
  EXPECT_EQ(r.rep.damaged, 0u) << joined(r.problems);
  EXPECT_EQ(r.problems.size(), 0u) << joined(r.problems);
  Mcap m = read_mcap(dir.file("out.mcap"));
  ASSERT_EQ(m.error, "");
  EXPECT_EQ(m.profile, "ros2");
  EXPECT_EQ(m.messages, by_time(msgs));
  ASSERT_EQ(m.channels.size(), 2u);
  for (auto &kv : m.channels) {
    const Channel &c = kv.second;
    EXPECT_EQ(c.encoding, "cdr");
    if (c.topic == "/pose") {
      EXPECT_EQ(c.schema_name, "geometry_msgs/msg/Pose");
      EXPECT_EQ(c.schema_encoding, "ros2idl");
      EXPECT_EQ(c.schema_data, "module geometry_msgs { };\n");
      EXPECT_EQ(c.metadata.at("offered_qos_profiles"), "- history: 3\n");
    } else {
      EXPECT_EQ(c.schema_encoding, "ros2msg");
      EXPECT_EQ(c.schema_data, "string data\n");
    }
  }
  EXPECT_FALSE(fs::exists(dir.file("bag.db3-journal")));
  EXPECT_FALSE(fs::exists(dir.file("bag.db3-wal")));
}

TEST(ConvertDb3, WithoutDefinitionsEmptySchemasAndAWarningPerType) {
  TempDir dir;
  std::vector<Msg> msgs;
  {
    Db3Options o;
    o.message_definitions = false;
    o.with_qos = false;
    Db3Writer w(dir.file("bag.db3"), o);
    msgs = fill_db(w, 50, 0, false);
  }
  Result r = convert({dir.file("bag.db3")}, dir.file("out.mcap"));
  ASSERT_EQ(r.rc, PL_CONVERT_OK) << r.err;
  EXPECT_EQ(r.rep.damaged, 0u);
  EXPECT_EQ(r.rep.schemas_missing, 2u);
  ASSERT_EQ(r.problems.size(), 2u);
  EXPECT_NE(r.problems[0].find("type 'std_msgs/msg/String' (topic '/chatter'): no message "
                               "definition found (give --msg-path)"),
            std::string::npos)
      << joined(r.problems);
  Mcap m = read_mcap(dir.file("out.mcap"));
  EXPECT_EQ(m.messages, by_time(msgs));
  for (auto &kv : m.channels) {
    EXPECT_EQ(kv.second.schema_data, "");
    EXPECT_EQ(kv.second.schema_encoding, "ros2msg");
  }
}

TEST(ConvertDb3, MsgPathResolvesDependenciesRecursively) {
  TempDir dir;
  std::string share = dir.file("install/share");
  put(share + "/geometry_msgs/msg/Pose.msg", "# a pose\nPoint position\nQuaternion orientation\n");
  put(share + "/geometry_msgs/msg/Point.msg", "float64 x\nfloat64 y\nfloat64 z\n");
  put(share + "/geometry_msgs/msg/Quaternion.msg", "float64 x 0\nfloat64 w 1\n");
  put(share + "/std_msgs/msg/String.msg", "string data\n");
  put(share + "/std_msgs/msg/Header.msg", "builtin_interfaces/Time stamp\nstring frame_id\n");
  put(share + "/builtin_interfaces/msg/Time.msg", "int32 sec\nuint32 nanosec\n");
  put(share + "/my_msgs/msg/Stamped.msg",
      "std_msgs/Header header  # comment\ngeometry_msgs/Pose[] poses\nstring<=10 name\n"
      "int32 A=3\nuint8[4] raw\n");
  std::vector<Msg> msgs;
  {
    Db3Options o;
    o.message_definitions = false;
    Db3Writer w(dir.file("bag.db3"), o);
    msgs = fill_db(w, 20, 0, false);
    int64_t st = w.add_topic("/stamped", "my_msgs/msg/Stamped");
    int64_t un = w.add_topic("/unknown", "nope_msgs/msg/Nothing");
    w.write(st, 7000000000ull, "s");
    w.write(un, 7000000001ull, "u");
  }
  std::string prefix = dir.file("install");
  const char *paths[] = {prefix.c_str()};
  pl_convert_options o;
  memset(&o, 0, sizeof o);
  o.msg_paths = paths;
  o.n_msg_paths = 1;
  Result r = convert({dir.file("bag.db3")}, dir.file("out.mcap"), &o);
  ASSERT_EQ(r.rc, PL_CONVERT_OK) << r.err;
  EXPECT_EQ(r.rep.schemas_missing, 1u) << joined(r.problems);
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_NE(r.problems[0].find("'nope_msgs/msg/Nothing'"), std::string::npos);
  Mcap m = read_mcap(dir.file("out.mcap"));
  std::map<std::string, Channel> by_topic;
  for (auto &kv : m.channels) by_topic[kv.second.topic] = kv.second;
  const std::string sep = std::string(80, '=') + "\n";
  EXPECT_EQ(by_topic["/pose"].schema_data,
            "# a pose\nPoint position\nQuaternion orientation\n" + sep +
                "MSG: geometry_msgs/Point\nfloat64 x\nfloat64 y\nfloat64 z\n" + sep +
                "MSG: geometry_msgs/Quaternion\nfloat64 x 0\nfloat64 w 1\n");
  EXPECT_EQ(by_topic["/stamped"].schema_data,
            "std_msgs/Header header  # comment\ngeometry_msgs/Pose[] poses\nstring<=10 name\n"
            "int32 A=3\nuint8[4] raw\n" +
                sep + "MSG: std_msgs/Header\nbuiltin_interfaces/Time stamp\nstring frame_id\n" +
                sep + "MSG: geometry_msgs/Pose\n# a pose\nPoint position\nQuaternion orientation\n" +
                sep + "MSG: builtin_interfaces/Time\nint32 sec\nuint32 nanosec\n" + sep +
                "MSG: geometry_msgs/Point\nfloat64 x\nfloat64 y\nfloat64 z\n" + sep +
                "MSG: geometry_msgs/Quaternion\nfloat64 x 0\nfloat64 w 1\n");
  EXPECT_EQ(by_topic["/chatter"].schema_data, "string data\n");
  EXPECT_EQ(by_topic["/unknown"].schema_data, "");
  // A dependency that is missing leaves the schema empty and names it.
  fs::remove(share + "/builtin_interfaces/msg/Time.msg");
  Result r2 = convert({dir.file("bag.db3")}, dir.file("out2.mcap"), &o);
  ASSERT_EQ(r2.rc, PL_CONVERT_OK);
  EXPECT_NE(joined(r2.problems).find("its dependency 'builtin_interfaces/Time' is not under the "
                                     "msg paths"),
            std::string::npos)
      << joined(r2.problems);
}

TEST(ConvertDb3, SplitBagWithMetadataYamlIsMergedInTimeOrder) {
  TempDir dir;
  std::string bag = dir.file("bag");
  fs::create_directories(bag);
  std::vector<Msg> all;
  for (int f = 0; f < 3; f++) {
    Db3Writer w(bag + "/bag_" + std::to_string(f) + ".db3");
    auto m = fill_db(w, 40, (uint64_t)f * 3, true);  // interleaved with the others
    all.insert(all.end(), m.begin(), m.end());
  }
  mcapkit_test::write_metadata_yaml(bag, {"bag_0.db3", "bag_1.db3", "bag_2.db3"},
                                    {{"/chatter", "std_msgs/msg/String", "cdr", ""}}, 120, "", "",
                                    {{"robot", "r2d2"}, {"site", "lab"}});
  Result r = convert({bag}, dir.file("out.mcap"));
  ASSERT_EQ(r.rc, PL_CONVERT_OK) << r.err;
  EXPECT_EQ(r.rep.damaged, 0u) << joined(r.problems);
  Mcap m = read_mcap(dir.file("out.mcap"));
  EXPECT_EQ(m.messages.size(), 120u);
  EXPECT_EQ(m.messages, by_time(all));
  EXPECT_EQ(m.channels.size(), 2u);  // the same topics in every file: one channel each
  ASSERT_EQ(m.metadata.size(), 2u);
  EXPECT_EQ(m.metadata[0].first, "rosbag2");
  std::ifstream y(bag + "/metadata.yaml");
  std::string yaml((std::istreambuf_iterator<char>(y)), std::istreambuf_iterator<char>());
  EXPECT_EQ(m.metadata[0].second.at("serialized_metadata"), yaml);
  EXPECT_EQ(m.metadata[1].first, "rosbag2_custom_data");
  EXPECT_EQ(m.metadata[1].second.at("robot"), "r2d2");
  EXPECT_EQ(m.metadata[1].second.at("site"), "lab");
  // A file listed but missing is a loss, the rest is converted.
  fs::remove(bag + "/bag_1.db3");
  Result r2 = convert({bag}, dir.file("out2.mcap"));
  ASSERT_EQ(r2.rc, PL_CONVERT_OK) << r2.err;
  EXPECT_EQ(r2.rep.damaged, 1u);
  EXPECT_EQ(r2.rep.messages, 80u);
}

TEST(ConvertDb3, ZstdFileAndMessageCompression) {
  TempDir dir;
  // file compression: bag/bag_0.db3.zstd
  std::string fbag = dir.file("fbag");
  fs::create_directories(fbag);
  std::vector<Msg> fmsgs;
  {
    Db3Writer w(dir.file("plain.db3"));
    fmsgs = fill_db(w, 100, 0, true);
  }
  mcapkit_test::zstd_file(dir.file("plain.db3"), fbag + "/bag_0.db3.zstd");
  mcapkit_test::write_metadata_yaml(fbag, {"bag_0.db3.zstd"}, {}, 100, "zstd", "file");
  std::string tmp = dir.file("tmp");
  fs::create_directories(tmp);
  pl_convert_options o;
  memset(&o, 0, sizeof o);
  o.tmp_dir = tmp.c_str();
  Result r = convert({fbag}, dir.file("f.mcap"), &o);
  ASSERT_EQ(r.rc, PL_CONVERT_OK) << r.err;
  EXPECT_EQ(read_mcap(dir.file("f.mcap")).messages, by_time(fmsgs));
  EXPECT_TRUE(fs::is_empty(tmp));  // the decompressed copy had no name
  // The compressed database alone is recognised too.
  Result r1 = convert({fbag + "/bag_0.db3.zstd"}, dir.file("f1.mcap"));
  ASSERT_EQ(r1.rc, PL_CONVERT_OK) << r1.err;
  EXPECT_EQ(read_mcap(dir.file("f1.mcap")).messages, by_time(fmsgs));

  // message compression
  std::string mbag = dir.file("mbag");
  fs::create_directories(mbag);
  std::vector<Msg> mmsgs;
  {
    Db3Options dbo;
    dbo.zstd_messages = true;
    Db3Writer w(mbag + "/bag_0.db3", dbo);
    mmsgs = fill_db(w, 100, 0, true);
  }
  mcapkit_test::write_metadata_yaml(mbag, {"bag_0.db3"}, {}, 100, "zstd", "message");
  Result r2 = convert({mbag}, dir.file("m.mcap"));
  ASSERT_EQ(r2.rc, PL_CONVERT_OK) << r2.err;
  EXPECT_EQ(r2.rep.damaged, 0u) << joined(r2.problems);
  EXPECT_EQ(read_mcap(dir.file("m.mcap")).messages, by_time(mmsgs));
}

TEST(ConvertDb3, NotARosbag2DatabaseAndUnknownTopicRows) {
  TempDir dir;
  // An SQLite database of something else.
  {
    Db3Writer w(dir.file("bag.db3"));
    fill_db(w, 10, 0, true);
  }
  std::string other = dir.file("other.db3");
  // Build "other.db3": a database without the rosbag2 tables.
  {
    Db3Options o;
    Db3Writer w(other, o);
  }
  // Drop the topics table from a copy through sqlite itself.
  {
    sqlite3 *db = nullptr;
    ASSERT_EQ(sqlite3_open(other.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "DROP TABLE topics;", nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
  }
  Result r = convert({other}, dir.file("o.mcap"));
  EXPECT_EQ(r.rc, PL_CONVERT_EFORMAT);
  EXPECT_NE(r.err.find("other.db3': not a rosbag2 database (no 'topics' table"),
            std::string::npos)
      << r.err;
  EXPECT_FALSE(fs::exists(dir.file("o.mcap")));
  // Damaged beyond the SQLite header.
  {
    std::string bytes = "SQLite format 3";
    bytes.push_back('\0');
    bytes += std::string(200, '\xff');
    std::ofstream(dir.file("junk.db3"), std::ios::binary) << bytes;
  }
  Result j = convert({dir.file("junk.db3")}, dir.file("j.mcap"));
  EXPECT_NE(j.rc, PL_CONVERT_OK);
  EXPECT_NE(j.err.find("junk.db3'"), std::string::npos) << j.err;
  // A message row whose topic_id is not in the topics table.
  std::vector<Msg> msgs;
  {
    Db3Writer w(dir.file("orphan.db3"));
    msgs = fill_db(w, 10, 0, true);
    w.write(42, 5000000000ull + 55, "orphan");
  }
  Result o = convert({dir.file("orphan.db3")}, dir.file("orphan.mcap"));
  ASSERT_EQ(o.rc, PL_CONVERT_OK) << o.err;
  EXPECT_EQ(o.rep.damaged, 1u);
  EXPECT_EQ(o.rep.messages_lost, 1u);
  ASSERT_EQ(o.problems.size(), 1u);
  EXPECT_NE(o.problems[0].find("orphan.db3: messages row 11: topic_id 42 has no row in the topics "
                               "table"),
            std::string::npos)
      << o.problems[0];
  EXPECT_EQ(o.problem_rows[0], 11);
  EXPECT_EQ(read_mcap(dir.file("orphan.mcap")).messages, by_time(msgs));
}

TEST(ConvertDb3, RealRosbag2Bags) {
  std::string talker = realworld("db3/talker"), multi = realworld("db3/multiple_files");
  if (!fs::exists(talker)) GTEST_SKIP() << "../shared/realworld not present";
  TempDir dir;
  Result t = convert({talker}, dir.file("t.mcap"));
  ASSERT_EQ(t.rc, PL_CONVERT_OK) << t.err;
  EXPECT_EQ(t.rep.messages, 20u);
  EXPECT_EQ(t.rep.n_topics, 3u);
  EXPECT_EQ(t.rep.damaged, 0u);
  Mcap mt = read_mcap(dir.file("t.mcap"));
  ASSERT_EQ(mt.metadata.size(), 1u);
  EXPECT_NE(mt.metadata[0].second.at("serialized_metadata").find("rosbag2_bagfile_information"),
            std::string::npos);
  Result m = convert({multi}, dir.file("m.mcap"));
  ASSERT_EQ(m.rc, PL_CONVERT_OK) << m.err;
  EXPECT_EQ(m.rep.messages, 1324u + 1324u + 529u);
  EXPECT_EQ(m.rep.n_topics, 1u);
  Mcap mm = read_mcap(dir.file("m.mcap"));
  EXPECT_TRUE(std::is_sorted(mm.messages.begin(), mm.messages.end(),
                             [](const Msg &a, const Msg &b) { return a.log_time < b.log_time; }));
}

TEST(ConvertMixed, BagAndDatabaseIntoOneFileInLogTimeOrder) {
  TempDir dir;
  mcapkit_test::BagOptions bo;
  bo.chunk_size = 2000;
  auto bag = make_bag(dir.file("in.bag"), bo, 100, 5000000000ull + 3);
  std::vector<Msg> db;
  {
    Db3Writer w(dir.file("in.db3"));
    db = fill_db(w, 100, 0, true);
  }
  Result r = convert({dir.file("in.bag"), dir.file("in.db3")}, dir.file("out.mcap"));
  ASSERT_EQ(r.rc, PL_CONVERT_OK) << r.err;
  std::vector<Msg> all = bag;
  all.insert(all.end(), db.begin(), db.end());
  Mcap m = read_mcap(dir.file("out.mcap"));
  EXPECT_EQ(m.profile, "");
  EXPECT_EQ(m.messages, by_time(all));
  EXPECT_EQ(r.rep.messages, 200u);
}
