// writer_layouts.cc - the real writers' layouts of writer_layouts.h, record by record.
#include "writer_layouts.h"

#include <string>

namespace mcapkit_test {

namespace {

Schema ros2_schema(uint16_t id, const std::string &name, const std::string &text) {
  Schema s;
  s.id = id;
  s.name = name;
  s.encoding = "ros2msg";
  s.data = bytes_of(text);
  return s;
}

// rosbag2 stores each topic's QoS as YAML in the channel metadata.
Channel ros2_channel(uint16_t id, uint16_t schema_id, const std::string &topic) {
  Channel c;
  c.id = id;
  c.schema_id = schema_id;
  c.topic = topic;
  c.message_encoding = "cdr";
  c.metadata = {{"offered_qos_profiles",
                 "- history: 3\n  depth: 0\n  reliability: 1\n  durability: 2\n"}};
  return c;
}

Message cdr_message(uint16_t channel, uint32_t seq, uint64_t t, size_t size) {
  Message m;
  m.channel_id = channel;
  m.sequence = seq;
  m.log_time = t;
  m.publish_time = t;
  m.data = Bytes(size, 0);
  m.data[1] = 1;  // CDR little-endian encapsulation header 00 01 00 00
  for (size_t i = 4; i < size; i++) m.data[i] = static_cast<uint8_t>(i * 7 + seq);
  return m;
}

Metadata rosbag2_metadata(uint64_t messages) {
  Metadata m;
  m.name = "rosbag2";
  m.metadata = {{"serialized_metadata", "version: 8\nstorage_identifier: mcap\nmessage_count: " +
                                            std::to_string(messages) + "\n"}};
  return m;
}

}  // namespace

Bytes rosbag2_summary_only_file(const std::string &chunk_compression, bool message_indexes) {
  const uint64_t t0 = 1697521620031724098ull;  // 2023-10-17, as in the rosbag2 test bag
  McapBuilder b;
  b.magic();
  Header h;
  h.profile = "ros2";
  h.library = "libmcap 1.1.0";
  b.add(h);

  Metadata first = rosbag2_metadata(0);
  MetadataIndex mi1;
  mi1.offset = b.add(first);
  mi1.length = b.size() - mi1.offset;
  mi1.name = first.name;

  Schema log = ros2_schema(1, "rcl_interfaces/msg/Log", "uint8 DEBUG=10\nstring msg\n");
  Schema params =
      ros2_schema(2, "rcl_interfaces/msg/ParameterEvent", "builtin_interfaces/Time stamp\n");
  Schema split = ros2_schema(3, "rosbag2_interfaces/msg/WriteSplitEvent",
                             "string closed_file\nstring opened_file\n");
  Channel rosout = ros2_channel(1, 1, "/rosout");
  Channel events = ros2_channel(2, 2, "/parameter_events");
  Channel write_split = ros2_channel(3, 3, "/events/write_split");

  // Only the topic that got messages is defined in the data section (inside the chunk).
  ChunkBuilder cb;
  cb.add(params);
  cb.add(events);
  for (uint32_t i = 0; i < kRosbag2Messages; i++)
    cb.add(cdr_message(2, 0, t0 + i * 1000000ull + i * 137, 120 + 8 * i));
  ChunkOptions co;
  co.message_indexes = message_indexes;
  PlacedChunk pc = b.chunk(cb, chunk_compression, co);

  Metadata last = rosbag2_metadata(kRosbag2Messages);
  MetadataIndex mi2;
  mi2.offset = b.add(last);
  mi2.length = b.size() - mi2.offset;
  mi2.name = last.name;

  b.data_end_with_crc(0);  // the C++ writer leaves the data section CRC out
  // The summary repeats every definition the writer knows, including those without messages.
  b.add(log);
  b.add(params);
  b.add(split);
  b.add(rosout);
  b.add(events);
  b.add(write_split);
  Statistics st;
  st.message_count = kRosbag2Messages;
  st.schema_count = 1;   // the data section's, not 3
  st.channel_count = 1;  // the data section's, not 3
  st.attachment_count = 0;
  st.metadata_count = 2;
  st.chunk_count = 1;
  st.message_start_time = pc.index.message_start_time;
  st.message_end_time = pc.index.message_end_time;
  st.channel_message_counts = {{2, kRosbag2Messages}};
  b.add(st);
  b.add(pc.index);
  b.add(mi1);
  b.add(mi2);
  b.add_summary_offsets();
  b.finish();
  return b.bytes();
}

Bytes log_time_zero_file(uint64_t stats_start) {
  const uint64_t ms = 1000000;
  McapBuilder b;
  b.magic();
  Header h;
  h.profile = "ros2";
  h.library = "mcap go #(devel)";
  b.add(h);

  Schema empty = ros2_schema(1, "test_msgs/msg/Empty", "");  // a message without fields
  Schema basic = ros2_schema(2, "test_msgs/msg/BasicTypes", "bool bool_value\nint32 int32_value\n");
  Channel a = ros2_channel(1, 1, "/a_empty");
  Channel bt = ros2_channel(2, 2, "/b_basictypes");
  a.metadata = {{"offered_qos_profiles", ""}};
  bt.metadata = {{"offered_qos_profiles", ""}};

  ChunkBuilder cb;
  cb.add(empty);
  cb.add(a);
  cb.add(basic);
  cb.add(bt);
  uint32_t seq_a = 0, seq_b = 0;
  for (uint64_t t = 0; t < 10; t++) {  // /a_empty at 0 .. 9 ms, /b_basictypes at odd ms
    if (t % 2 == 1) cb.add(cdr_message(2, seq_b++, t * ms, 52));
    cb.add(cdr_message(1, seq_a++, t * ms, 5));
  }
  PlacedChunk pc = b.chunk(cb, "zstd");
  b.data_end_with_crc(0);
  b.add(empty);
  b.add(basic);
  b.add(a);
  b.add(bt);
  Statistics st;
  st.message_count = kLogTimeZeroMessages;
  st.schema_count = 2;
  st.channel_count = 2;
  st.chunk_count = 1;
  // The writer's "if start == 0 or t < start": the message at 0 leaves it unset.
  st.message_start_time = stats_start ? stats_start : kLogTimeZeroStatsStart;
  st.message_end_time = 9 * ms;
  st.channel_message_counts = {{1, 10}, {2, 5}};
  b.add(st);
  b.add(pc.index);
  b.add_summary_offsets();
  b.finish();
  return b.bytes();
}

}  // namespace mcapkit_test
