/*
 * convert.h - pl_convert: ROS 1 bags (format 2.0) and ROS 2 SQLite bags
 * (rosbag2 .db3 files and folders) converted to MCAP, streamed, in log-time
 * order, with a report of what was found, what was written and what was lost.
 *
 * One call converts any number of inputs into one MCAP output:
 *
 *     pl_convert *c;
 *     pl_convert_new(&c, &opts);
 *     int rc = pl_convert_run(c, inputs, n, &sink);        // or pl_convert_to_temp()
 *     const pl_convert_report *r = pl_convert_get_report(c);
 *     if (rc != PL_CONVERT_OK) puts(pl_convert_errmsg(c));
 *     else if (r->damaged) ... converted, something was lost (see r->problems)
 *     pl_convert_free(c);
 *
 * Inputs are recognised by their content (pl_convert_detect), not their name:
 * - a ROS 1 bag: connections become `ros1msg` schemas (name = message type,
 *   data = the full definition text) and channels with message encoding
 *   `ros1` and metadata `callerid` / `latching` ("true"/"false") as the MCAP
 *   ros1 profile says; the record time becomes log and publish time. Chunks
 *   stored uncompressed, bz2 or lz4 (LZ4 frame format). A bag without a usable
 *   index (a recording killed before it was closed) is converted by walking
 *   its chunks; whatever is intact is kept and the loss is reported.
 * - a rosbag2 SQLite database (.db3, optionally a zstd-compressed .db3.zstd),
 *   or a rosbag2 folder (metadata.yaml with one or more database files, or
 *   only .db3 files): topics become channels (message encoding from
 *   serialization_format, metadata offered_qos_profiles); schemas come from
 *   the message_definitions table, else from the .msg files found under
 *   `msg_paths`, else are empty (a warning each); split bags are merged;
 *   file- and message-level zstd compression is undone; metadata.yaml goes
 *   into an MCAP Metadata record "rosbag2" (key "serialized_metadata") and its
 *   custom_data into one named "rosbag2_custom_data".
 * Databases are opened read-only and immutable (they may sit on read-only
 * media). Memory is bounded (a chunk or a message at a time per input, not
 * the file); the input is never modified.
 *
 * Conventions: functions return PL_CONVERT_OK (0) or a negative
 * pl_convert_status; the detail (what, which file, offset or row, field) is
 * on the handle (pl_convert_errmsg). Handles are single-thread objects.
 */
#ifndef PIPELINE_CONVERT_H
#define PIPELINE_CONVERT_H

#include <stddef.h>
#include <stdint.h>

#include "mcap/mcap.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Status codes. Values are pinned: only append. */
typedef enum pl_convert_status {
  PL_CONVERT_OK = 0,
  PL_CONVERT_EINVAL = -1,       /* bad argument or option */
  PL_CONVERT_ENOMEM = -2,       /* allocation failed */
  PL_CONVERT_EIO = -3,          /* a file could not be opened or read (errno in the message) */
  PL_CONVERT_EFORMAT = -4,      /* an input is not what it claims to be, or unusable */
  PL_CONVERT_EUNSUPPORTED = -5, /* a bag version, compression or storage we do not read */
  PL_CONVERT_ELIMIT = -6,       /* a safety limit was exceeded */
  PL_CONVERT_EWRITE = -7,       /* writing the MCAP output failed */
  PL_CONVERT_ESTATE = -8        /* call not valid in the handle's state */
} pl_convert_status;

/** Static text for a status ("input format error", ...). Never NULL. */
const char *pl_convert_strerror(int code);

/** What an input path holds. */
typedef enum pl_convert_kind {
  PL_CONVERT_KIND_UNKNOWN = 0,
  PL_CONVERT_KIND_MCAP = 1,      /* already MCAP: nothing to convert */
  PL_CONVERT_KIND_ROS1_BAG = 2,  /* "#ROSBAG V2.0" */
  PL_CONVERT_KIND_ROS2_DB3 = 3,  /* one SQLite database (or a zstd-compressed one) */
  PL_CONVERT_KIND_ROS2_DIR = 4   /* a rosbag2 folder (metadata.yaml and/or .db3 files) */
} pl_convert_kind;

/** "unknown", "mcap", "ros1-bag", "ros2-db3", "ros2-folder" (static storage). */
const char *pl_convert_kind_name(pl_convert_kind k);

/**
 * Recognise an input by its first bytes (or, for a folder, its files).
 * @param[out] kind what it is; PL_CONVERT_KIND_UNKNOWN for anything else.
 * @param err optional; filled when the path cannot be opened.
 * @return PL_CONVERT_OK (also for UNKNOWN), PL_CONVERT_EIO.
 */
int pl_convert_detect(const char *path, pl_convert_kind *kind, mcap_error_info *err);

/** Progress: bytes of input dealt with so far, of `total` (0 when unknown). */
typedef void (*pl_convert_progress_fn)(void *user, uint64_t done, uint64_t total);

/**
 * Options. All-zero means the defaults: zstd level 3 chunks of 1 MiB,
 * compression inline, no .msg search path, limits at their defaults.
 * Pointers are borrowed: they must stay valid until the handle is freed.
 */
typedef struct pl_convert_options {
  mcap_writer_options writer;  /* output compression, level, chunk size, workers...;
                                  profile and library are set by the converter when NULL */
  const char *const *msg_paths; /* folders searched for ROS 2 .msg files: an install
                                   prefix (DIR/share/PKG/msg/T.msg) or a share folder
                                   (DIR/PKG/msg/T.msg) */
  size_t n_msg_paths;
  const char *tmp_dir;          /* for decompressed .db3.zstd files; NULL = $TMPDIR or /tmp */
  uint64_t max_chunk_size;      /* largest decompressed ROS 1 chunk; 0 = 512 MiB */
  uint64_t max_message_size;    /* largest ROS 2 message after decompression; 0 = 1 GiB */
  uint64_t memory_budget;       /* decompressed ROS 1 chunks held at once to merge chunks
                                   that overlap in time; 0 = 64 MiB. Past it, messages are
                                   written out of log-time order (counted, nothing lost) */
  pl_convert_progress_fn progress;
  void *progress_user;
} pl_convert_options;

/** Where a topic's schema came from. */
typedef enum pl_convert_schema_source {
  PL_CONVERT_SCHEMA_MISSING = 0,     /* none found: empty schema data */
  PL_CONVERT_SCHEMA_CONNECTION = 1,  /* ROS 1 connection header */
  PL_CONVERT_SCHEMA_DATABASE = 2,    /* rosbag2 message_definitions table */
  PL_CONVERT_SCHEMA_MSG_PATH = 3     /* .msg files under a msg path */
} pl_convert_schema_source;

/** "missing", "connection", "message_definitions", "msg_path" (static storage). */
const char *pl_convert_schema_source_name(pl_convert_schema_source s);

/** One output channel (a topic of one connection/type) and what went into it. */
typedef struct pl_convert_topic {
  char *topic;
  char *type;             /* the schema name, e.g. "std_msgs/String", "std_msgs/msg/String" */
  char *message_encoding; /* "ros1", "cdr", ... */
  char *schema_encoding;  /* "ros1msg", "ros2msg", "ros2idl" */
  pl_convert_schema_source schema_source;
  uint16_t channel_id;    /* in the output */
  uint64_t messages;      /* written */
  uint64_t bytes;         /* message payload bytes written */
  uint64_t first_time, last_time; /* log times (ns); 0 when no message */
} pl_convert_topic;

/** One input as it was read. */
typedef struct pl_convert_input {
  char *path;
  pl_convert_kind kind;
  int indexed;        /* ROS 1: the bag's index was used (0: chunks were walked) */
  uint64_t files;     /* ROS 2: database files read */
  uint64_t chunks;    /* ROS 1: chunks read */
  uint64_t messages;  /* written from this input */
  uint64_t bytes;     /* input size (all its files) */
} pl_convert_input;

/** A problem met: data lost or damage found (`loss`), or a warning. */
typedef struct pl_convert_problem {
  int loss;        /* 1: data was lost or the input is damaged; 0: a warning */
  char *file;      /* the file it is about */
  uint64_t offset; /* file offset, or UINT64_MAX */
  int64_t row;     /* SQLite row id, or -1 */
  char *message;   /* one line, without the file name */
} pl_convert_problem;

/** What a run did. Owned by the handle (see pl_convert_get_report). */
typedef struct pl_convert_report {
  pl_convert_input *inputs;
  size_t n_inputs;
  pl_convert_topic *topics; /* in output channel order */
  size_t n_topics;
  pl_convert_problem *problems; /* in the order met; at most 1000 kept */
  size_t n_problems;
  size_t n_problems_total;      /* including those not kept */
  uint64_t messages;            /* written */
  uint64_t bytes;               /* message payload bytes written */
  uint64_t metadata;            /* Metadata records written */
  uint64_t schemas_missing;     /* types written with an empty schema */
  uint64_t start_time, end_time; /* of the messages written (ns); 0 when none */
  uint64_t out_of_order;        /* messages written before one with a later time */
  uint64_t bytes_in;            /* size of every input file */
  uint64_t bytes_out;           /* MCAP bytes written */
  /* lost */
  size_t damaged;               /* problems with loss = 1 (exit 3 territory) */
  uint64_t messages_lost;       /* counted from indexes and rows */
  int messages_lost_unknown;    /* more may be lost than counted (nothing says how many) */
  uint64_t bytes_skipped;       /* input bytes that could not be used */
} pl_convert_report;

typedef struct pl_convert pl_convert;

/**
 * Create a converter. @param opts NULL for defaults; copied (its pointers are
 * borrowed until pl_convert_free). @return PL_CONVERT_OK or PL_CONVERT_ENOMEM.
 */
int pl_convert_new(pl_convert **out, const pl_convert_options *opts);

/**
 * Convert `inputs` (bags, databases, folders; detected by content) into one
 * MCAP file written to `sink`, messages in log-time order (ties in input
 * order). Recoverable damage (a truncated chunk, a missing index, a row
 * naming an unknown topic) is reported in the report, not returned: the run
 * goes on and keeps whatever is intact.
 * @param sink borrowed; not closed or committed (the caller does that after a
 *        PL_CONVERT_OK, or discards the output).
 * @return PL_CONVERT_OK; PL_CONVERT_EINVAL (no input, an MCAP or unknown
 *         input); PL_CONVERT_EFORMAT / EUNSUPPORTED (an input unusable as a
 *         whole); PL_CONVERT_EIO; PL_CONVERT_ENOMEM; PL_CONVERT_ELIMIT;
 *         PL_CONVERT_EWRITE. The report is filled in every case.
 */
int pl_convert_run(pl_convert *c, const char *const *inputs, size_t n_inputs, mcap_sink *sink);

/**
 * pl_convert_run into a new temporary MCAP file (for commands that take a
 * bag where they read MCAP). @param tmp_dir NULL = the options' tmp_dir,
 * $TMPDIR or /tmp. @param[out] path the file's path, malloc'd: the caller
 * unlinks it and frees the string. Nothing is left behind on failure.
 */
int pl_convert_to_temp(pl_convert *c, const char *const *inputs, size_t n_inputs,
                       const char *tmp_dir, char **path);

/** The report of the last run; borrowed, valid until the next run or pl_convert_free. */
const pl_convert_report *pl_convert_get_report(const pl_convert *c);

/** One line about the last error ("" when none): what, file, offset or row, field. */
const char *pl_convert_errmsg(const pl_convert *c);

/** Free the converter and its report. Accepts NULL. */
void pl_convert_free(pl_convert *c);

#ifdef __cplusplus
}
#endif

#endif /* PIPELINE_CONVERT_H */
