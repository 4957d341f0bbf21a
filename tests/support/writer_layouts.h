// writer_layouts.h - MCAP files with the exact layouts that widespread writers
// produce and every reader accepts, built record by record with mcap_builder.h
// (so the tests do not depend on ../shared/realworld being there):
//
// - rosbag2_summary_only_file(): what rosbag2 writes through the official C++
//   writer (libmcap 1.1.0, like realworld/mcap/only_topics.mcap): Schema and
//   Channel records of topics that never got a message appear in the summary
//   only; the Statistics count the data section's definitions (1 schema, 1
//   channel of 3); two Metadata records named `rosbag2`; an uncompressed chunk;
//   DataEnd CRC 0.
// - log_time_zero_file(): what the official writers do when the first message
//   has log time 0 (like realworld/mcap/convert_a.mcap): they keep "0" as
//   "start not set yet", so Statistics.message_start_time is the next
//   message's time; a topic with an empty ros2msg schema (test_msgs/msg/Empty);
//   a zstd chunk.
//
// Everything else (indexes, offsets, CRCs) is exactly right, so the doctor may
// only report what these layouts are known for, as warnings.
#pragma once

#include "mcap_builder.h"

namespace mcapkit_test {

// Topics of rosbag2_summary_only_file(): the one with messages and the two without.
constexpr uint64_t kRosbag2Messages = 7;

// `message_indexes` false leaves them out (the chunk index then has an empty map), which
// makes indexers read the chunks: the streamed path.
Bytes rosbag2_summary_only_file(const std::string &chunk_compression = "",
                                bool message_indexes = true);

// Messages of log_time_zero_file(): 10 on /a_empty (log times 0, 1 ms, ... 9 ms), 5 on
// /b_basictypes (1, 3, 5, 7, 9 ms).
constexpr uint64_t kLogTimeZeroMessages = 15;
constexpr uint64_t kLogTimeZeroStatsStart = 1000000;  // what the writer records

// `stats_start` overrides the Statistics start time (to make a file that is wrong in
// another way); 0 = the writer's value, kLogTimeZeroStatsStart.
Bytes log_time_zero_file(uint64_t stats_start = 0);

}  // namespace mcapkit_test
