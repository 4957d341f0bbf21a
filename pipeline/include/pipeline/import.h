/*
 * import.h - pl_import: what the Foxglove platform does to a recording on
 * import, done locally (prefix pl_): the recording index in the API's shapes
 * (topics, coverage, attachments, metadata, problems), one lake file per
 * topic and its verification, and the export of lake recordings as one MCAP.
 * Conventions of pipeline/core.h.
 */
#ifndef PIPELINE_IMPORT_H
#define PIPELINE_IMPORT_H

#include <stddef.h>
#include <stdint.h>

#include "mcap/mcap.h"
#include "pipeline/core.h"
#include "pipeline/doctor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* --------------------------------------------------------------- index */


/** One entry of the API's topics endpoint, plus local statistics. */
typedef struct pl_topic {
  char *topic;
  char *encoding;        /* message encoding */
  char *schema_name;
  char *schema_encoding;
  uint8_t *schema;       /* schema bytes (base64 in JSON) */
  size_t schema_len;
  char *version;         /* opaque: hex digest of (encoding, schema name, schema encoding, schema) */
  uint64_t message_count;
  uint64_t bytes;        /* message payload bytes */
  uint64_t first_log_time, last_log_time;
  double frequency;      /* pl_topic_frequency(): (count-1) / (last-first) in Hz; 0 when undefined */
} pl_topic;

/**
 * A topic's (or channel's) message rate in Hz: (count - 1) / (last - first), the messages
 * over the span between its first and last one. The one definition behind `index` and
 * `info`. @return the rate, or 0 when undefined (fewer than 2 messages, or all at one time).
 */
double pl_topic_frequency(uint64_t count, uint64_t first_log_time, uint64_t last_log_time);

typedef struct pl_topic_coverage {
  char *topic;
  pl_range *ranges;
  size_t n_ranges;
} pl_topic_coverage;

/** One entry of the recording-attachments endpoint. */
typedef struct pl_attachment_info {
  char *name;
  char *media_type;
  uint64_t log_time, create_time;
  uint32_t crc;
  uint64_t size;
  char fingerprint[33]; /* XXH3-128 of the content, lower-case hex */
  uint64_t offset;      /* of the Attachment record in the file */
} pl_attachment_info;

/** The API's RecordingMetadata: a name and its map. */
typedef struct pl_metadata_info {
  char *name;
  pl_kv *entries;
  size_t n_entries;
} pl_metadata_info;

#define PL_INDEX_FORMAT_VERSION 1

typedef struct pl_recording_index {
  char *path;
  uint64_t size;
  char content_hash[33]; /* XXH3-128 of the file bytes, hex */
  int has_messages;
  uint64_t start, end;   /* first and last message log time */
  char *library, *profile;
  uint64_t message_count;
  char *device_name, *device_id, *key; /* from the last Metadata named "foxglove"; NULL if absent */
  pl_topic *topics;
  size_t n_topics;
  pl_range *coverage;
  size_t n_coverage;
  pl_topic_coverage *topic_coverage;
  size_t n_topic_coverage;
  pl_attachment_info *attachments;
  size_t n_attachments;
  pl_metadata_info *metadata;
  size_t n_metadata;
  pl_finding *problems;
  size_t n_problems;
  uint64_t tolerance_ns; /* coverage tolerance used */
  int partial;           /* the data could not all be read */
  mcap_damage damage;    /* where and why (problems > 0 when partial; not in the JSON) */
  uint64_t chunks_decompressed; /* work counter: chunks the index had to decompress (0 on the
                                   fast path: summary + message indexes); not in the JSON */
} pl_recording_index;

/**
 * An optional observer of the messages an index counts: `message` gets each one's topic
 * (a NUL-terminated name, the same pointer for the same topic until the next `restart`),
 * channel id, log time and payload bytes, from a MessageIndex entry (fast path, nothing
 * decompressed) or a decompressed chunk (streamed pass); it returns PL_OK, or a negative
 * pl_error that stops the index with that status. `restart` (may be NULL) says to forget what
 * was observed: the index starts over with a streamed pass. Called on the indexing thread.
 */
typedef struct pl_index_observer {
  void *ctx;
  int (*message)(void *ctx, const char *topic, uint16_t channel_id, uint64_t log_time,
                 uint64_t bytes);
  void (*restart)(void *ctx);
} pl_index_observer;

typedef struct pl_index_options {
  double tolerance_s;   /* coverage gap tolerance in seconds; < 0 = default 14 s */
  int threads;          /* decompression threads for the reader; 0 = cores */
  int no_doctor;        /* skip pl_doctor_run: problems then hold only what indexing met */
  int doctor_if_scanning; /* run the doctor only when the index reads every chunk anyway (no
                             usable summary); a file indexed from its summary and message
                             indexes then decompresses no chunk (`mcapkit index`'s default) */
  int no_hash;          /* skip the content hash (content_hash stays ""): benchmarks, coverage */
  const pl_index_observer *observer; /* NULL = none; borrowed for the call (pl_report's rates) */
} pl_index_options;

/** Index one recording (indexed reading when it has a summary, else one streamed pass). */
int pl_index_file(const char *path, const pl_index_options *o, pl_recording_index **out,
                  pl_error_info *err);
void pl_recording_index_free(pl_recording_index *ix);

/** The index as the documented JSON (format_version, recording, topics, coverage,
 * topic_coverage, attachments, metadata, problems). *json is malloc'd, NUL-terminated. */
int pl_index_to_json(const pl_recording_index *ix, char **json, pl_error_info *err);

/** Parse that JSON back (for the server's state and for reconcile). */
int pl_index_from_json(const char *json, size_t len, pl_recording_index **out, pl_error_info *err);

/**
 * Expand FILE|DIR arguments into the recordings to import: a file is taken as
 * given; a directory contributes every regular "*.mcap" file below it (sorted,
 * symbolic links not followed), skipping names ending ".active" and files
 * without the trailing magic (still being written).
 * @param[out] paths malloc'd array of malloc'd strings; free with pl_paths_free().
 * @return PL_OK, PL_EIO (an argument does not exist or a directory cannot be read), PL_ENOMEM.
 */
int pl_collect_recordings(const char *const *args, size_t n_args, char ***paths, size_t *n_paths,
                          pl_error_info *err);
void pl_paths_free(char **paths, size_t n);


/**
 * Index many files, `jobs` at a time (0 = one per core). For each i, rc[i] is
 * pl_index_file's result, ix[i] the index (NULL on failure) and err[i] the
 * detail; all three arrays have n elements and are the caller's.
 */
void pl_index_files(const char *const *paths, size_t n, const pl_index_options *o, int jobs,
                    pl_recording_index **ix, int *rc, pl_error_info *err);

/* --------------------------------------------------------------- coverage */

/**
 * Merge time points/ranges into coverage ranges: sorted by start, touching or
 * overlapping ranges join, and so do two ranges whose gap (next start - previous
 * end) is shorter than tolerance_ns; a gap equal to the tolerance splits (the API
 * reference: the minimum interval that ranges must be separated by to be
 * discrete). *out is malloc'd (free with free()).
 */
int pl_coverage_merge(const pl_range *in, size_t n, uint64_t tolerance_ns, pl_range **out,
                      size_t *n_out);



/* ------------------------------------------------------------------- lake */

typedef struct pl_lake_options {
  mcap_compression compression; /* default zstd */
  int compression_level;        /* 0 = codec default */
  uint64_t chunk_size;          /* 0 = 768 KiB (under 1 MiB) */
  int jobs;                     /* compression threads, the caller's included; 0 = cores */
  int allow_partial;            /* write what can be read of a damaged file */
  const char *device;           /* device folder name; NULL = from metadata or "unknown-device" */
  const char *key;              /* recording folder; NULL = from metadata key or content hash */
  int fail_after_files;         /* test hook: fail after writing N files (0 = off) */
  /* Called now and then during the pass that writes the files, with the input bytes read so
   * far and the input's size; NULL = none. */
  void (*progress)(void *ctx, uint64_t done, uint64_t total);
  void *progress_ctx;
} pl_lake_options;

typedef struct pl_lake_file {
  char *path;     /* relative to the lake root */
  char **topics;
  size_t n_topics;
} pl_lake_file;

typedef struct pl_lake_result {
  char *recording_dir; /* relative to the lake root: <device>/<key> */
  pl_lake_file *files;
  size_t n_files;
  int skipped;         /* already complete: nothing written */
  mcap_damage damage;  /* allow_partial: what of the recording could not be read (problems ==
                          0: all of it) */
} pl_lake_result;

/**
 * Write one recording into the lake: one MCAP per topic plus a recording-level
 * file with attachments and metadata, lake.json and index.json; everything is
 * written under LAKE/tmp/ and renamed into place when complete. A recording
 * that cannot be read completely is refused (PL_EPARTIAL, nothing written)
 * unless allow_partial; then what can be read is written and res->damage says
 * what could not.
 */
int pl_lake_write(const char *mcap_path, const char *lake_dir, const pl_lake_options *o,
                  pl_lake_result *res, pl_error_info *err);
void pl_lake_result_dispose(pl_lake_result *res);

/** Prove a recording's lake files hold exactly the original's messages, attachments, metadata. */
int pl_lake_verify(const char *lake_dir, const char *mcap_path, pl_finding **diffs, size_t *n_diffs,
                   pl_error_info *err);

/* ---------------------------------------------------------------- extract */

/** What pl_extract_items() takes out of a recording. */
typedef enum pl_extract_kind {
  PL_EXTRACT_ATTACHMENTS = 0, /* each attachment's data (its CRC checked) */
  PL_EXTRACT_SCHEMAS = 1      /* each schema's data, with its encoding's usual extension */
} pl_extract_kind;

/** Callbacks of pl_extract_items(); all optional. */
typedef struct pl_extract_items_options {
  void (*on_failure)(void *user, const char *message); /* an item not extracted, and why */
  void (*on_note)(void *user, const char *message);    /* a schema without data, skipped */
  void *user;
} pl_extract_items_options;

/** One extracted file. */
typedef struct pl_extract_item {
  char *file_name;        /* its name in the directory */
  uint64_t size;
  char *source_name;      /* the attachment's or schema's name in the recording (any bytes, */
  size_t source_name_len; /* NUL-terminated copy) */
} pl_extract_item;

/** The outcome of pl_extract_items(); release with pl_extract_report_free(). */
typedef struct pl_extract_report {
  pl_extract_item *items;
  size_t n_items, cap_items;
  size_t already;     /* of the items, found in the directory with the same content */
  size_t n_failed;    /* items not extracted (listed under "failed" in the manifest) */
  size_t io_failures; /* of those, failed by reading or writing rather than bad data */
  char *manifest;     /* the manifest's JSON text, as written to DIR/manifest.json */
} pl_extract_report;

/**
 * Write every attachment (or schema) of a recording to its own file in `dir`
 * (created with its parents if missing), plus `dir`/manifest.json listing
 * each file with its source fields and an XXH3-128 fingerprint. Names from
 * the file are made safe (one path component, no hidden files, at most 200
 * bytes); nothing is overwritten (a taken name gets numbered, "name-1.ext"),
 * except that a file already holding the same content is kept as it is and
 * an earlier run's manifest is replaced, so running again writes nothing
 * twice. An item whose data is bad is left out and listed as failed; the run
 * goes on.
 * @param r an open indexed reader; borrowed.
 * @param file the recording's name (for messages and the manifest).
 * @param[out] out the report; free with pl_extract_report_free().
 * @return PL_OK (see out->n_failed); PL_EINVAL when `dir` holds a manifest.json
 *         that is not one of ours; PL_EIO (the directory, the manifest); PL_ENOMEM.
 */
int pl_extract_items(mcap_reader *r, const char *file, pl_extract_kind kind, const char *dir,
                     const pl_extract_items_options *o, pl_extract_report **out,
                     pl_error_info *err);

/** Release a report; accepts NULL. */
void pl_extract_report_free(pl_extract_report *r);

/* ----------------------------------------------------------------- export */

typedef struct pl_export_request {
  const char *const *recording_dirs; /* absolute paths of lake recording folders */
  size_t n_recording_dirs;
  const char *const *topics;         /* NULL/0 = all */
  size_t n_topics;
  int has_start, has_end;
  uint64_t start, end;               /* inclusive */
  int include_attachments;
  int last_per_channel;              /* replayPolicy=lastPerChannel */
  mcap_compression compression;
} pl_export_request;

/** Write one MCAP assembled from lake files to `sink` as it is produced (log-time order). */
int pl_export_write(const pl_export_request *req, mcap_sink *sink, pl_error_info *err);

#ifdef __cplusplus
}
#endif

#endif /* PIPELINE_IMPORT_H */
