// broken_files.h - small MCAP files that are each broken in one way, one (or
// more) per check of `mcapkit doctor`, built with mcap_builder.h.
//
// Every file is a variation of one valid "doctor base file" that exercises
// every record type: Header; chunk A (Schema 1, Channels 1 and 2, four
// messages) and its MessageIndex records; an Attachment; a Metadata; chunk B
// (two messages) and its MessageIndex records; DataEnd; a summary with the
// repeated Schema and Channels, Statistics, ChunkIndexes, AttachmentIndex and
// MetadataIndex; SummaryOffsets; Footer. Indexes, statistics, CRCs and offsets
// are computed from what was actually written, so a tweak that adds a record
// keeps everything else consistent; the hooks in DoctorFileTweaks then break
// exactly one thing.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "mcap_builder.h"

namespace mcapkit_test {

struct DoctorFileTweaks {
  std::string library = "mcapkit-test";
  std::string profile;
  std::string compression = "zstd";  // of both chunks

  // Records added at chosen places (default: nothing).
  std::function<void(McapBuilder &)> after_header;     // first records of the data section
  std::function<void(ChunkBuilder &)> chunk_a_extra;   // end of chunk A
  std::function<void(McapBuilder &)> before_data_end;  // last records of the data section
  std::function<void(McapBuilder &)> summary_extra;    // end of the summary section
  std::function<void(McapBuilder &)> after_summary_offsets;

  // Edits of records before they are written (default: none).
  std::function<void(Chunk &)> edit_chunk_a;  // after CRC/sizes were computed
  std::function<void(std::vector<MessageIndex> &)> edit_message_indexes_a;
  std::function<void(Attachment &)> edit_attachment;
  std::function<void(ChunkIndex &, int which)> edit_chunk_index;  // which: 0 = A, 1 = B
  std::function<void(AttachmentIndex &)> edit_attachment_index;
  std::function<void(MetadataIndex &)> edit_metadata_index;
  std::function<void(Statistics &)> edit_statistics;
  std::function<void(std::vector<SummaryOffset> &)> edit_summary_offsets;
  std::function<void(Footer &)> edit_footer;

  // Parts that can be left out.
  bool message_indexes = true;
  bool data_end = true;
  bool footer = true;  // false: the file ends right after the summary offsets
  bool repeat_schemas = true;
  bool repeat_channels = true;
  bool statistics = true;
  bool chunk_index_b = true;
  bool summary_offsets = true;
  uint32_t data_end_crc_xor = 0;  // flips bits of the correct DataEnd CRC
  int statistics_copies = 1;      // how many times each summary record is written
  int chunk_index_a_copies = 1;
  int attachment_index_copies = 1;
  int metadata_index_copies = 1;

  // Byte-level damage applied last (truncation, bit flips, trailing bytes).
  std::function<void(Bytes &)> post;
};

// Build the base file with `t` applied.
Bytes doctor_file(const DoctorFileTweaks &t = DoctorFileTweaks());

struct BrokenFile {
  std::string code;  // the doctor finding code this file must produce
  std::string what;  // one line: how it is broken
  Bytes bytes;
};

// One broken file per doctor check (some codes have more than one).
std::vector<BrokenFile> broken_files();

// The code table of docs/doctor.md ("| `code` | E | S | ..." rows), so tests can hold the
// documentation to the code and know which codes `mcapkit check` reports.
struct DocumentedCode {
  std::string code;
  char severity;    // 'E', 'W' or 'I'
  bool structural;  // marked S: part of `mcapkit check`
};
std::vector<DocumentedCode> documented_doctor_codes();

}  // namespace mcapkit_test
