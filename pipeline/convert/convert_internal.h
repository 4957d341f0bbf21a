/*
 * convert_internal.h - private to pipeline/convert: the converter handle, the
 * message streams the inputs are turned into, and the helpers the readers
 * share (errors, problems, channel registration, file reads).
 *
 * Shape of a run: every input becomes one or more streams (a ROS 1 bag one,
 * a rosbag2 folder one per database file), each yielding its messages in
 * log-time order; convert.c merges the streams by time into the libmcap
 * writer. A stream's head message (cv_head) stays valid until its next call.
 * Channels and schemas are registered with the writer when a stream meets
 * them; identical registrations share one id, so split bags share channels.
 */
#ifndef PL_CONVERT_INTERNAL_H
#define PL_CONVERT_INTERNAL_H

#include <bzlib.h>
#include <sqlite3.h>
#include <yaml.h>
#include <stddef.h>
#include <stdint.h>

#include "mcap/mcap.h"
#include "pipeline/convert.h"

#define CV_MAX_PROBLEMS 1000
#define CV_DEFAULT_MAX_CHUNK ((uint64_t)512 << 20)
#define CV_DEFAULT_MAX_MESSAGE ((uint64_t)1 << 30)
#define CV_DEFAULT_BUDGET ((uint64_t)64 << 20)
#define CV_NO_OFFSET UINT64_MAX

/* A type's schema, resolved once per run (ROS 2 types shared by several files). */
struct cv_type {
  char *name;
  uint16_t schema_id;
  pl_convert_schema_source source;
  const char *encoding; /* "ros2msg" or "ros2idl" (static) */
};

struct pl_convert {
  pl_convert_options o;
  mcap_writer *w;            /* open during a run */
  pl_convert_report rep;
  size_t cap_inputs, cap_topics, cap_problems;
  uint32_t *topic_of_channel; /* channel id -> topic index + 1 (0 = none); 65536 entries */
  struct cv_type *types;
  size_t n_types, cap_types;
  int code;
  char err[512];
  uint64_t done_bytes;       /* progress */
  uint64_t total_bytes;
  uint64_t last_written;     /* log time of the last message written */
  int running;
};

/* The message at the head of a stream: borrowed until the stream's next call. */
struct cv_head {
  uint64_t time;
  uint16_t channel_id;
  uint32_t topic;            /* index into rep.topics */
  const uint8_t *data;
  uint64_t len;
};

struct cv_stream;
struct cv_stream_ops {
  /* Advance: fill s->head. @return 1 (a message), 0 (end), or a negative status. */
  int (*next)(struct cv_stream *s);
  void (*free)(struct cv_stream *s);
};

struct cv_stream {
  const struct cv_stream_ops *ops;
  struct cv_head head;
  size_t input;              /* index into rep.inputs */
  uint64_t order;            /* tie-break between streams: input order */
};

/* ---- libraries opened on first use (convert_libs.c) */

/* The functions taken from SQLite, libyaml and libbz2 (filled once, then read-only). Each
 * pl__cv_load_* opens its library on the first call and returns PL_CONVERT_OK, or
 * PL_CONVERT_EUNSUPPORTED with the handle's message naming the library and its package. */
struct pl__cv_sqlite_api {
  __typeof__(sqlite3_open_v2) *open_v2;
  __typeof__(sqlite3_close) *close;
  __typeof__(sqlite3_exec) *exec;
  __typeof__(sqlite3_errmsg) *errmsg;
  __typeof__(sqlite3_prepare_v2) *prepare_v2;
  __typeof__(sqlite3_bind_text) *bind_text;
  __typeof__(sqlite3_step) *step;
  __typeof__(sqlite3_finalize) *finalize;
  __typeof__(sqlite3_column_blob) *column_blob;
  __typeof__(sqlite3_column_bytes) *column_bytes;
  __typeof__(sqlite3_column_int64) *column_int64;
  __typeof__(sqlite3_column_text) *column_text;
  __typeof__(sqlite3_column_type) *column_type;
};
struct pl__cv_yaml_api {
  __typeof__(yaml_parser_initialize) *parser_initialize;
  __typeof__(yaml_parser_set_input_string) *parser_set_input_string;
  __typeof__(yaml_parser_load) *parser_load;
  __typeof__(yaml_parser_delete) *parser_delete;
  __typeof__(yaml_document_get_root_node) *document_get_root_node;
  __typeof__(yaml_document_get_node) *document_get_node;
  __typeof__(yaml_document_delete) *document_delete;
};
struct pl__cv_bz2_api {
  __typeof__(BZ2_bzDecompressInit) *decompress_init;
  __typeof__(BZ2_bzDecompress) *decompress;
  __typeof__(BZ2_bzDecompressEnd) *decompress_end;
};
extern struct pl__cv_sqlite_api pl__cv_sqlite;
extern struct pl__cv_yaml_api pl__cv_yaml;
extern struct pl__cv_bz2_api pl__cv_bz2;
int pl__cv_load_sqlite(struct pl_convert *c);
int pl__cv_load_yaml(struct pl_convert *c);
int pl__cv_load_bz2(struct pl_convert *c);

/* ---- errors and problems (convert.c) */

/** Set the handle's error ("FILE: what" already formatted by fmt) and return `code`. */
int cv_fail(struct pl_convert *c, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/**
 * Record a problem. `loss` 1 counts in rep.damaged. @return 0, or
 * PL_CONVERT_ENOMEM (the handle's error set).
 */
int cv_problem(struct pl_convert *c, int loss, const char *file, uint64_t offset, int64_t row,
               const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/** The string duplicated with malloc, or NULL. */
char *cv_strdup(const char *s);
char *cv_strndup(const char *s, size_t n);

/** Growable array helper: ensure room for `need` elements. @return 0 or -1. */
int cv_grow(void **arr, size_t *cap, size_t need, size_t elem);

/* ---- channels (convert.c) */

/** A channel to register (views; copied by the writer and the report). */
struct cv_channel_def {
  mcap_str topic;
  mcap_str message_encoding;
  mcap_str schema_name;
  mcap_str schema_encoding;
  mcap_bytes schema_data;
  const mcap_kv *metadata;
  size_t n_metadata;
  pl_convert_schema_source source;
  uint16_t schema_id; /* when non-zero: already registered (schema fields unused) */
};

/**
 * Register a channel with the writer (identical ones share an id) and its
 * topic in the report. @return PL_CONVERT_OK or an error (handle's message set).
 */
int cv_add_channel(struct pl_convert *c, const struct cv_channel_def *d, uint16_t *channel_id,
                   uint32_t *topic);

/** Register a schema. @return PL_CONVERT_OK or PL_CONVERT_EWRITE. */
int cv_add_schema(struct pl_convert *c, mcap_str name, mcap_str encoding, mcap_bytes data,
                  uint16_t *id);

/** The resolved type of this name, or NULL. */
struct cv_type *cv_find_type(struct pl_convert *c, const char *name);
/** Remember a resolved type. @return it, or NULL (ENOMEM set). */
struct cv_type *cv_add_type(struct pl_convert *c, const char *name, uint16_t schema_id,
                            pl_convert_schema_source source);

/** Account `n` more input bytes dealt with and call the progress callback. */
void cv_progress(struct pl_convert *c, uint64_t n);

/* ---- files (convert.c) */

struct cv_file {
  int fd;
  uint64_t size;
  const char *path; /* borrowed */
};

/** Open a regular file read-only. @return PL_CONVERT_OK or EIO (message names it). */
int cv_file_open(struct pl_convert *c, struct cv_file *f, const char *path);
void cv_file_close(struct cv_file *f);
/**
 * Read up to `len` bytes at `off` (fewer only at the end of the file).
 * @return PL_CONVERT_OK (with *got set) or EIO naming file and offset.
 */
int cv_file_read(struct pl_convert *c, const struct cv_file *f, uint64_t off, void *dst,
                 size_t len, size_t *got);

/* ---- readers */

/** Open a ROS 1 bag as one stream (ros1_bag.c). */
int cv_ros1_open(struct pl_convert *c, const char *path, size_t input, struct cv_stream **out);

/**
 * Open a rosbag2 database or folder (ros2_bag.c): one stream per database
 * file, appended to *streams (grown with cv_grow). Writes the bag's Metadata
 * records. @return PL_CONVERT_OK or an error.
 */
int cv_ros2_open(struct pl_convert *c, const char *path, pl_convert_kind kind, size_t input,
                 struct cv_stream ***streams, size_t *n, size_t *cap);

/**
 * Build the ros2msg schema text of `type` ("pkg/msg/Name" or "pkg/Name") from
 * .msg files under the msg paths (ros2_msgdef.c): its definition, then one
 * "MSG: pkg/Name" section per dependency, resolved recursively.
 * @param[out] text malloc'd, NUL-terminated; @param[out] missing the first type
 *        not found (malloc'd) when the result is PL_CONVERT_EFORMAT.
 * @return PL_CONVERT_OK; PL_CONVERT_EFORMAT (not found: *missing says what);
 *         PL_CONVERT_ENOMEM; PL_CONVERT_ELIMIT (too many or too large files).
 */
int cv_msgdef_resolve(const char *const *paths, size_t n_paths, const char *type, char **text,
                      size_t *len, char **missing);

#endif /* PL_CONVERT_INTERNAL_H */
