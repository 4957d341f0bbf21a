/*
 * synth.h - a deterministic generator of synthetic MCAP recordings.
 *
 * pl_synth_write() writes a whole recording through the libmcap writer into a
 * sink. The output depends only on the options (and the libmcap version, which
 * is recorded in Header.library): the same options and seed give the same
 * bytes on every machine. No clock and no global random state are used.
 *
 * Profiles:
 * - PL_SYNTH_TINY: two small CDR topics at low rates; small files for tests.
 * - PL_SYNTH_ROBOT: a mobile robot: a raw camera image (~225 KB, 30 Hz), a
 *   lidar point cloud (~1 MiB, 10 Hz), IMU (1 kHz), TF (100 Hz), odometry
 *   (50 Hz), JSON diagnostics (1 Hz) and log messages (a few Hz). Payloads are
 *   structured data with sensor noise, so they compress about 2-4x with zstd.
 *
 * Messages are written in log-time order with small per-topic jitter;
 * publish_time is slightly before log_time. The recording starts at
 * 2026-01-01T00:00:00Z plus a seed-dependent offset of less than a day.
 */
#ifndef PIPELINE_SYNTH_H
#define PIPELINE_SYNTH_H

#include <stddef.h>
#include <stdint.h>

#include "mcap/mcap.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum pl_synth_profile {
  PL_SYNTH_TINY = 0, /* the default: small and fast */
  PL_SYNTH_ROBOT = 1
} pl_synth_profile;

/** Profile name ("tiny", "robot"); NULL for an invalid value. */
const char *pl_synth_profile_name(pl_synth_profile p);

/** Parse "tiny"/"robot". @return 0 on success, -1 for an unknown name. */
int pl_synth_profile_parse(const char *name, pl_synth_profile *out);

/** Value for n_attachments / n_metadata asking for none at all (0 means "default"). */
#define PL_SYNTH_NONE (-1)

/**
 * Generator options. All-zero means the defaults: tiny profile, 10 seconds,
 * seed 0, zstd chunks of 1 MiB, the profile's attachments and metadata, a
 * complete summary.
 */
typedef struct pl_synth_options {
  double duration; /* seconds of recording; 0 = 10; at most 1e6 */
  pl_synth_profile profile;
  uint64_t seed;
  mcap_compression compression; /* MCAP_COMPRESSION_DEFAULT = zstd */
  int compression_level;        /* 0 = codec default */
  uint64_t chunk_size;          /* 0 = writer default (1 MiB) */
  int n_attachments;            /* 0 = profile default (tiny 1, robot 2); PL_SYNTH_NONE = none */
  int n_metadata;               /* 0 = profile default (2); PL_SYNTH_NONE = none */
  const char *library;          /* Header.library; NULL = mcap_default_library() */
  int workers;                  /* writer compression threads (output is the same for any value) */

  /* Variants for tests (map onto mcap_writer_options). */
  int no_summary;
  int no_chunking;
  int no_message_index;
  int no_chunk_index;
  int no_statistics;
  int no_summary_offsets;
  int no_repeated_schemas_channels;
  int no_crcs; /* every CRC field written as 0 */

  /* Optional progress report, called every few hundred messages and at the
   * end, with the log time reached and the total, both relative to the start
   * in ns. */
  void (*progress)(void *user, uint64_t done_ns, uint64_t total_ns);
  void *progress_user;
} pl_synth_options;

/** Upper bound on the number of topics of any profile. */
#define PL_SYNTH_MAX_TOPICS 8

typedef struct pl_synth_topic_stats {
  const char *topic; /* static storage */
  uint16_t channel_id;
  uint64_t messages;
  uint64_t message_bytes; /* sum of message payload sizes */
} pl_synth_topic_stats;

/** What was written. */
typedef struct pl_synth_stats {
  uint64_t messages;
  uint64_t message_bytes; /* sum of message payload sizes */
  uint64_t schemas;
  uint64_t channels;
  uint64_t attachments;
  uint64_t metadata;
  uint64_t start_time; /* smallest message log_time (ns, Unix epoch) */
  uint64_t end_time;   /* largest message log_time */
  uint64_t file_bytes; /* bytes written to the sink */
  size_t n_topics;
  pl_synth_topic_stats topics[PL_SYNTH_MAX_TOPICS];
} pl_synth_stats;

/**
 * Write a synthetic recording into `sink`.
 * @param sink borrowed; not closed or committed (the caller does that on success
 *        and discards the output on failure).
 * @param o NULL for defaults.
 * @param[out] stats optional; filled on success (zeroed on failure).
 * @param errbuf optional; gets one line saying what failed.
 * @return MCAP_OK, MCAP_EINVAL for bad options, MCAP_ENOMEM, or the writer's /
 *         sink's error code.
 */
int pl_synth_write(mcap_sink *sink, const pl_synth_options *o, pl_synth_stats *stats, char *errbuf,
                   size_t errlen);

#ifdef __cplusplus
}
#endif

#endif /* PIPELINE_SYNTH_H */
