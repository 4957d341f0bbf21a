/*
 * inspect.h - pl_inspect: what `mcapkit info`, `du`, `list` and `cat` compute, for any C
 * program (prefix pl_inspect_): a recording's summary (pl_inspect_info), where its bytes go
 * (pl_inspect_du), the facts behind the rows of `list` that are not plain record fields,
 * the log-time merge of several recordings into one message stream (pl_inspect_merge) with
 * its topic selection, and the rendering of messages `cat` prints (NDJSON lines, previews).
 *
 * Conventions (core.h): functions return PL_OK (0) or a negative pl_error, with the detail
 * in a caller-supplied pl_error_info (its mcap_code when libmcap said it); the merge, which
 * wraps libmcap's message iterators, returns libmcap codes and keeps its message on the
 * handle. Results come through **out from a _create function and are released with the
 * matching _free (which accepts NULL); their fields are read-only for the caller. No global
 * state; a handle is used by one thread at a time.
 */
#ifndef PIPELINE_INSPECT_H
#define PIPELINE_INSPECT_H

#include <stddef.h>
#include <stdint.h>

#include "mcap/mcap.h"
#include "pipeline/core.h"
#include "pipeline/decode.h" /* pl_text, pl_json_options */

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Progress of a whole-file pass: `done` bytes of `total` read. Called every few hundred
 * records, and only when the total is known (not for a pipe).
 */
typedef void (*pl_inspect_progress_fn)(void *ctx, uint64_t done, uint64_t total);

/* ------------------------------------------------------------------ info */

typedef struct pl_inspect_schema {
  uint16_t id;
  char *name;     /* NUL-terminated copies */
  char *encoding;
} pl_inspect_schema;

typedef struct pl_inspect_channel {
  uint16_t id;
  uint16_t schema_id;
  char *topic; /* NUL-terminated copies */
  char *message_encoding;
  uint64_t messages;
  int have_times;       /* first and last are known */
  uint64_t first, last; /* log times of its first and last message; its rate is
                           pl_topic_frequency(messages, first, last) (import.h) */
} pl_inspect_channel;

#define PL_INSPECT_MAX_COMPRESSIONS 8

typedef struct pl_inspect_compression {
  char name[32]; /* "" = uncompressed; a longer unknown name is cut */
  uint64_t chunks;
  uint64_t compressed;
  uint64_t uncompressed;
} pl_inspect_compression;

/** What is in a recording: the figures of `mcapkit info`. */
typedef struct pl_inspect_info {
  const char *source;  /* "summary" (footer and summary section) or "scan" (one pass) */
  char scan_why[256];  /* why a scan was needed or why it stopped early; may be "" */
  uint64_t file_size;  /* MCAP_SIZE_UNKNOWN for a pipe */
  char *profile;       /* NUL-terminated; NULL when the Header was not read */
  char *library;
  uint64_t messages;
  uint64_t start_time, end_time; /* valid when messages > 0 */
  uint64_t chunks;
  pl_inspect_compression comp[PL_INSPECT_MAX_COMPRESSIONS]; /* in order of first use */
  size_t n_comp;
  int have_largest; /* the chunk with the largest uncompressed size: */
  uint64_t largest_offset, largest_compressed, largest_uncompressed;
  uint64_t max_overlapping_chunks; /* most chunks whose message time ranges share an instant */
  pl_inspect_schema *schemas;      /* in order of appearance */
  size_t n_schemas;
  pl_inspect_channel *channels; /* sorted by id */
  size_t n_channels;
  uint64_t attachments;
  uint64_t metadata;
  int has_summary; /* the footer points at a summary section */
  int has_statistics;
  int has_chunk_indexes;
  int has_data_end;
  int rates_unknown;  /* no message indexes: the channels' times were not read */
  mcap_damage damage; /* what could not be read */
} pl_inspect_info;

/**
 * Describe the recording at `path` with the indexed reader: from its footer and summary
 * (plus two message index records per channel for its first and last message) when it has a
 * usable summary with Statistics, else from the reader's one-pass scan.
 * @param[out] out the description; free with pl_inspect_info_free
 * @param path a regular file (streams: pl_inspect_info_scan)
 * @param[out] err detail on failure; may be NULL
 * @return PL_OK, PL_ENOMEM, or PL_EMCAP (err->mcap_code, err->offset, err->msg).
 */
int pl_inspect_info_create(pl_inspect_info **out, const char *path, pl_error_info *err);

/**
 * Describe the recording read from `src` in one streamed pass (for a pipe or standard
 * input): every chunk decompressed, every message counted. A damaged chunk is skipped and
 * counted in out->damage; reading stops at the first record that cannot be read.
 * @param[out] out the description; free with pl_inspect_info_free (set even on failure when
 *             something was read, NULL otherwise)
 * @param src the input; taken (closed by this call, whatever it returns)
 * @param progress, progress_ctx called as the file is read; may be NULL
 * @return PL_OK, PL_ENOMEM, or PL_EMCAP (err->mcap_code, err->offset, err->msg).
 */
int pl_inspect_info_scan(pl_inspect_info **out, mcap_source *src,
                         pl_inspect_progress_fn progress, void *progress_ctx,
                         pl_error_info *err);

/** Free a description and every string in it. Accepts NULL. */
void pl_inspect_info_free(pl_inspect_info *info);

/** The schema with this id in `info`, or NULL. Borrowed from `info`. */
const pl_inspect_schema *pl_inspect_info_schema(const pl_inspect_info *info, uint16_t id);

/* -------------------------------------------------------------------- du */

typedef struct pl_inspect_du_kind {
  char name[32]; /* a record kind ("Chunk", "MessageIndex", ...) or "(magic)",
                    "(summary section)", "(other records)", "(not read)" */
  uint64_t count; /* 0 where a count means nothing ("(other records)", "(not read)") */
  uint64_t bytes;
} pl_inspect_du_kind;

typedef struct pl_inspect_du_topic {
  const char *topic; /* "(unknown channel)" for messages on an undeclared channel */
  uint64_t messages;
  uint64_t bytes; /* message payload bytes, without record headers */
  double disk;    /* estimated stored bytes: each chunk's bytes split between topics in
                     proportion to their message records in it */
} pl_inspect_du_topic;

/** Where the bytes of a recording go: the tables of `mcapkit du`. */
typedef struct pl_inspect_du {
  int approximate;    /* from the summary and message indexes (pl_inspect_du_estimate) */
  uint64_t file_size; /* bytes read (exact mode), or the file's size */
  pl_inspect_du_kind *kinds; /* largest first (ties by name) */
  size_t n_kinds;
  pl_inspect_du_topic *topics; /* one per topic (channels sharing one are added up), the
                                  largest payload first (ties by name) */
  size_t n_topics;
  uint64_t messages, message_bytes;
  double unattributed_disk; /* chunk bytes no topic could be given (damaged chunks) */
  mcap_damage damage;       /* what could not be read */
} pl_inspect_du;

/**
 * Measure the recording read from `src` exactly: every record streamed, every chunk
 * decompressed and its CRC checked. A damaged chunk is skipped whole (counted in
 * out->damage, its bytes given to no topic); at a record that cannot be read the walk stops
 * and what it measured stands ("(not read)" gets the skipped bytes).
 * @param[out] out the figures; free with pl_inspect_du_free
 * @param src the input; taken (closed by this call, whatever it returns)
 * @return PL_OK, PL_ENOMEM, or PL_EMCAP when nothing could be read (err->msg).
 */
int pl_inspect_du_exact(pl_inspect_du **out, mcap_source *src, pl_inspect_progress_fn progress,
                        void *progress_ctx, pl_error_info *err);

/**
 * Estimate where the bytes of the recording at `path` go from its summary and MessageIndex
 * records only (nothing decompressed): message sizes from the gaps between indexed message
 * offsets; chunks without message indexes split by the Statistics' per-channel counts.
 * @param r the file opened with the indexed reader; borrowed (the index it holds is used)
 * @param src the same file as a source with a known size, borrowed, for reading the message
 *            indexes (a windowed file source, mcap_source_open_file, touches only what is
 *            read; a whole-file mapping would keep the pages around each index resident)
 * @return PL_OK or PL_ENOMEM.
 */
int pl_inspect_du_estimate(pl_inspect_du **out, mcap_reader *r, mcap_source *src,
                           pl_error_info *err);

/** Free the figures. Accepts NULL. */
void pl_inspect_du_free(pl_inspect_du *du);

/* ------------------------------------------------------------------ list */

/**
 * Whether the per-channel message counts of `r` mean something: its Statistics carry them,
 * or nothing was recorded at all. When 0, a count of 0 is "unknown", not "none".
 */
int pl_inspect_channel_counts_known(mcap_reader *r);

/**
 * Whether a schema's data is text to show as it is: a textual schema encoding (ros1msg,
 * ros2msg, ros2idl, omgidl, jsonschema) whose data is well-formed UTF-8 without control
 * characters other than tab, line feed and carriage return. Else it is bytes (base64).
 */
int pl_inspect_schema_data_is_text(const mcap_schema *s);

/* ------------------------------------------------------------ messages */

/**
 * 1 when p[0..n) is exactly one JSON value as RFC 8259 defines it (well-formed UTF-8,
 * strict numbers and escapes, whitespace around), nested at most 256 deep; else 0.
 * Borrows p; no allocation.
 */
int pl_inspect_json_valid(const uint8_t *p, size_t n);

/**
 * 1 when p[0..n) is printable text: well-formed UTF-8 without control characters other than
 * tab, line feed and carriage return (and no DEL), and not empty; else 0.
 */
int pl_inspect_looks_like_text(const uint8_t *p, size_t n);

/** Topic selection: exact names and POSIX extended regexes that must match the whole topic. */
typedef struct pl_inspect_topics pl_inspect_topics;

/**
 * Make a topic selection. Each name may be a comma-separated list ("a,b"; empty items are
 * ignored); each regex is anchored (^(re)$). With no name and no regex, every topic is
 * selected.
 * @param[out] out the selection; free with pl_inspect_topics_free
 * @return PL_OK, PL_ENOMEM, or PL_EINVAL for a bad regex (err->msg: "bad regex 'RE': why").
 */
int pl_inspect_topics_create(pl_inspect_topics **out, const char *const *names, size_t n_names,
                             const char *const *regexes, size_t n_regexes, pl_error_info *err);

/** Free a selection. Accepts NULL. */
void pl_inspect_topics_free(pl_inspect_topics *t);

/** 1 when some name or regex was given (the selection is not "everything"). */
int pl_inspect_topics_any(const pl_inspect_topics *t);

/**
 * The channel predicate of a selection (mcap_query's channel_filter shape): 1 when `ch`'s
 * topic is one of the names or fully matches one of the regexes. `ctx` is the
 * pl_inspect_topics (const); `schema` is not used.
 */
int pl_inspect_topics_match(void *ctx, const mcap_channel *ch, const mcap_schema *schema);

/**
 * The merge of the messages of several recordings, as `mcapkit cat` prints them: each input
 * queried with the same channel filter and inclusive time range, then merged by log time
 * (ties: the input added first; both reversed for MCAP_ORDER_REVERSE), or one input after
 * the other for MCAP_ORDER_FILE. An input can also be a stream (standard input, a pipe),
 * read with the streamed reader in file order, filtered the same way.
 */
typedef struct pl_inspect_merge pl_inspect_merge;

typedef struct pl_inspect_merge_options {
  int (*channel_filter)(void *ctx, const mcap_channel *ch, const mcap_schema *schema);
  void *channel_filter_ctx; /* NULL filter: every channel */
  int has_start, has_end;
  uint64_t start, end; /* both inclusive, log time */
  mcap_read_order order; /* MCAP_ORDER_LOG_TIME, MCAP_ORDER_REVERSE or MCAP_ORDER_FILE (0) */
  /* Called once per selected channel as it becomes known (may be NULL): for an indexed input
   * when it is added (each selected channel of its index), for a stream when its Channel
   * record is read. The views are borrowed for the call. */
  void (*on_channel)(void *ctx, const mcap_channel *ch, const mcap_schema *schema);
  void *on_channel_ctx;
} pl_inspect_merge_options;

/**
 * Make an empty merge. @param o the options, copied (the filter context is borrowed and must
 * outlive the merge). @return PL_OK or PL_ENOMEM.
 */
int pl_inspect_merge_create(pl_inspect_merge **out, const pl_inspect_merge_options *o);

/**
 * Add a recording opened with the indexed reader; its query is made now.
 * @param r borrowed: it must outlive the merge (free it after pl_inspect_merge_free)
 * @return MCAP_OK, or the query's error (pl_inspect_merge_errmsg says it).
 */
int pl_inspect_merge_add_reader(pl_inspect_merge *m, mcap_reader *r);

/**
 * Add a stream, read in file order (only with MCAP_ORDER_FILE, or as the only input).
 * @param src taken (closed by pl_inspect_merge_free, or now on failure)
 * @return MCAP_OK, MCAP_ENOMEM, or MCAP_EINVAL when the order is not the file's.
 */
int pl_inspect_merge_add_stream(pl_inspect_merge *m, mcap_source *src);

/**
 * The next message.
 * @param[out] out the message with its channel and schema, borrowed until the next call
 * @param[out] input which input it came from (0 = the first added); also set on an error
 * @return MCAP_OK; MCAP_ITEROVER at the end; or the error of one input (say it with
 *         pl_inspect_merge_errmsg or pl_inspect_merge_damage), which is then dropped: the
 *         next call goes on with the others.
 */
int pl_inspect_merge_next(pl_inspect_merge *m, const mcap_message_view **out, size_t *input);

/** One line about the last error (borrowed until the next call). */
const char *pl_inspect_merge_errmsg(const pl_inspect_merge *m);

/**
 * For a streamed input whose reading stopped (the last error of pl_inspect_merge_next was
 * its stream reader's): what it could not read. @return 1 with *d filled, else 0.
 */
int pl_inspect_merge_damage(const pl_inspect_merge *m, size_t input, mcap_damage *d);

/** Free the merge and its streams (not the readers added). Accepts NULL. */
void pl_inspect_merge_free(pl_inspect_merge *m);

/* --------------------------------------------------- rendering messages */

/** What `cat` shows of a message's data. */
typedef enum pl_inspect_data {
  PL_INSPECT_DATA_AUTO = 0, /* NDJSON: the JSON value itself for the json message encoding
                               (when it is one valid value), else base64; preview: text when
                               it is text, else hex */
  PL_INSPECT_DATA_BASE64,
  PL_INSPECT_DATA_NONE
} pl_inspect_data;

/* With a flush callback, a line longer than this is handed out in pieces as it is made. */
#define PL_INSPECT_FLUSH_AT (1u << 20)

typedef struct pl_inspect_ndjson_options {
  pl_inspect_data data;
  int decode;              /* the decoded value (pl_decode) under "message" instead of "data" */
  pl_json_options json;    /* with decode: how decoded values are written */
  /* May be NULL. Called while a line with a large base64 "data" is made, when `out` holds
   * PL_INSPECT_FLUSH_AT bytes or more: write out->data[0..len) and set out->len = 0.
   * @return 0, or non-zero to stop (the line call returns PL_EIO). */
  int (*flush)(void *ctx, pl_text *out);
  void *flush_ctx;
} pl_inspect_ndjson_options;

/** The NDJSON writer of `cat`: per (input, channel) caches of line prefixes and decoders. */
typedef struct pl_inspect_ndjson pl_inspect_ndjson;

/** Why a message was skipped by decoding (pl_inspect_ndjson_line returned PL_EPARTIAL). */
typedef struct pl_inspect_skip {
  int no_decoder; /* the channel has no decoder (msg says why on its first message, nth 1) */
  uint64_t nth;   /* how many of this channel's messages were skipped so far, this one too */
  char msg[512];  /* the decoder's message (topic, sequence, offset, field), or "" */
} pl_inspect_skip;

/** Make a writer. @param o copied; NULL for defaults. @return PL_OK or PL_ENOMEM. */
int pl_inspect_ndjson_create(pl_inspect_ndjson **out, const pl_inspect_ndjson_options *o);

/** Free a writer and its decoders. Accepts NULL. */
void pl_inspect_ndjson_free(pl_inspect_ndjson *w);

/**
 * Append the NDJSON line of a message, newline included: {"topic", "channel_id", "sequence",
 * "log_time", "publish_time" (decimal strings), then "data_encoding" and "data" (or with
 * decoding "message")} -- the contract of `mcapkit cat --format ndjson` (no format_version).
 * @param input which input the message came from (pl_inspect_merge_next's), for the caches
 * @param v the message (borrowed for the call)
 * @param out the line is appended (grown with realloc; release with pl_text_dispose)
 * @param[out] skip with PL_EPARTIAL, why; may be NULL
 * @return PL_OK; PL_EPARTIAL when decoding skipped the message (nothing appended); PL_ENOMEM;
 *         PL_EIO when the flush callback said stop.
 */
int pl_inspect_ndjson_line(pl_inspect_ndjson *w, size_t input, const mcap_message_view *v,
                           pl_text *out, pl_inspect_skip *skip);

/**
 * Append the preview of a message's data on a text line of `cat`: two spaces, then (AUTO) a
 * quoted, escaped prefix of at most 64 characters when the data is text, else its first 16
 * bytes in hex and as ASCII; (BASE64) the base64 of its first 48 bytes; "..." when cut.
 * Nothing for NONE or empty data. @return PL_OK or PL_ENOMEM (out unchanged).
 */
int pl_inspect_preview(const mcap_message_view *v, pl_inspect_data data, pl_text *out);

/** The column widths of text lines; they grow as wider values come. */
typedef struct pl_inspect_columns {
  size_t topic, schema, seq, size; /* start at 0, or at typical widths (5 and 7 for the
                                      numbers) so that columns rarely shift */
} pl_inspect_columns;

/**
 * Widen the topic and schema columns for a channel: the shape of the merge's on_channel
 * callback, with `cols` a pl_inspect_columns, so that every selected channel is known
 * before the first line.
 */
void pl_inspect_columns_grow(void *cols, const mcap_channel *ch, const mcap_schema *schema);

/**
 * Append the text line of a message, newline included: `time_text`, the topic, "[schema]"
 * (or "[no schema]"), "seq N", the data size ("N B"), each padded to its column (widened as
 * needed), then pl_inspect_preview of the data.
 * @param time_text the log time as the caller shows it (borrowed)
 * @return PL_OK or PL_ENOMEM (out unchanged).
 */
int pl_inspect_text_line(pl_inspect_columns *cols, const char *time_text,
                         const mcap_message_view *v, pl_inspect_data data, pl_text *out);

#ifdef __cplusplus
}
#endif

#endif /* PIPELINE_INSPECT_H */
