/*
 * decode.h - decoding MCAP messages into typed values, and rendering them as
 * NDJSON or CSV (library pl_decode, pipeline/decode/).
 *
 * A decoder is made once per channel from its schema (encoding, name, data)
 * and its message encoding; the schema is parsed then, never again. Each
 * message is then decoded into a tree of pl_value nodes held in the decoder's
 * arena (no heap allocation per field; the arena is reused from one message to
 * the next). Supported pairs (schema encoding + message encoding):
 *
 *   ros2msg / ros2idl + cdr    XCDR1 (plain CDR), little and big endian
 *   ros1msg + ros1             ROS 1 serialization
 *   jsonschema (or none) + json  validated, passed through as written
 *   protobuf + protobuf        schema data: a FileDescriptorSet
 *
 * Anything else gets PL_DECODE_EUNSUPPORTED with "no decoder for ...": the
 * library never guesses. Decoding is bounded for hostile schemas and messages:
 * nesting depth, fixed-array sizes and the tree's memory are capped (options),
 * recursion is never deeper than max_depth, and every length is checked
 * against the bytes really there before anything is allocated.
 *
 * Value conventions:
 * - structs keep their members in schema order (ROS, protobuf) or in message
 *   order (JSON objects); constants of ROS/IDL definitions are not members;
 * - primitive arrays are packed views of the message bytes (no value per
 *   element): read them with pl_value_at(); uint8 arrays and protobuf bytes
 *   are PL_VALUE_BYTES;
 * - ros1 time/duration are structs {sec, nsec}; protobuf
 *   google.protobuf.Timestamp / Duration are strings in their canonical JSON
 *   forms ("2024-01-02T03:04:05.5Z", "1.5s"), enums carry their name;
 * - protobuf: every field is present; fields without presence that are absent
 *   have their default (proto3 zero values), absent fields with presence
 *   (optional, oneof members, messages) are PL_VALUE_NULL; maps are structs
 *   whose member names are the keys (sorted, last duplicate wins); unknown
 *   fields are skipped; a repeated message field that appears several times
 *   appends, a singular one keeps the last occurrence.
 *
 * Rendering (pl_decode_json_*, pl_csv_*): 64-bit integers are exact (JSON:
 * integers beyond +-2^53 are strings), floats print as the shortest text that
 * reads back to the same float32/float64, non-finite floats as "NaN",
 * "Infinity", "-Infinity" (strings in JSON), bytes as base64 or as their
 * length.
 *
 * Errors: functions return PL_DECODE_OK (0) or a negative pl_decode_status;
 * the one-line detail is on the handle (pl_decoder_errmsg) or in a
 * pl_decode_error_info. Handles are single-thread objects; distinct handles
 * may be used from distinct threads. No global state.
 */
#ifndef PIPELINE_DECODE_H
#define PIPELINE_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include "mcap/mcap.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ errors */

typedef enum pl_decode_status {
  PL_DECODE_OK = 0,
  PL_DECODE_EINVAL = -1,       /* bad argument */
  PL_DECODE_ENOMEM = -2,       /* out of memory */
  PL_DECODE_EUNSUPPORTED = -3, /* no decoder for this schema/message encoding */
  PL_DECODE_ESCHEMA = -4,      /* the schema could not be parsed or resolved */
  PL_DECODE_EMESSAGE = -5,     /* a message is malformed or truncated */
  PL_DECODE_ELIMIT = -6,       /* a safety limit was exceeded (depth, size, columns) */
  PL_DECODE_EIO = -7           /* reading the recording or writing an output failed */
} pl_decode_status;

/** Static text for a status code. */
const char *pl_decode_strerror(int code);

/** Detail of a failure of a call that has no handle (yet). */
typedef struct pl_decode_error_info {
  int code;
  char msg[512];
} pl_decode_error_info;

/* ------------------------------------------------------------------ values */

typedef enum pl_value_kind {
  PL_VALUE_NULL = 0, /* absent (protobuf field with presence, JSON null) */
  PL_VALUE_BOOL,     /* v.b (0 or 1) */
  PL_VALUE_INT,      /* v.i */
  PL_VALUE_UINT,     /* v.u */
  PL_VALUE_FLOAT32,  /* v.f32 */
  PL_VALUE_FLOAT64,  /* v.f64 */
  PL_VALUE_STRING,   /* v.str, count bytes (not NUL-terminated; UTF-8 not guaranteed) */
  PL_VALUE_BYTES,    /* v.bytes, count bytes */
  PL_VALUE_ARRAY,    /* count elements: v.items, or packed (PL_VALUE_F_PACKED) */
  PL_VALUE_STRUCT,   /* count members: v.items[i] named names[i] */
  PL_VALUE_ENUM,     /* v.i the number; names[0] its name, or names NULL if unknown */
  PL_VALUE_NUMBER    /* a JSON number exactly as written: v.str, count bytes */
} pl_value_kind;

/** Element kinds of packed arrays. */
typedef enum pl_packed_kind {
  PL_PACKED_BOOL = 0, /* 1 byte */
  PL_PACKED_I8,
  PL_PACKED_U8,
  PL_PACKED_I16,
  PL_PACKED_U16,
  PL_PACKED_I32,
  PL_PACKED_U32,
  PL_PACKED_I64,
  PL_PACKED_U64,
  PL_PACKED_F32,
  PL_PACKED_F64
} pl_packed_kind;

/* pl_value.flags */
#define PL_VALUE_F_PACKED 0x01       /* ARRAY: v.bytes holds count elements of kind `elem` */
#define PL_VALUE_F_BIG_ENDIAN 0x02   /* packed elements are big endian (else little) */
#define PL_VALUE_F_JSON_ESCAPED 0x04 /* STRING: the body of a JSON string, escapes included */
#define PL_VALUE_F_JSON_NAMES 0x08   /* STRUCT: member names are JSON string bodies */
#define PL_VALUE_F_PLAIN_NAMES 0x10  /* STRUCT: member names are printable ASCII without " or \ */

/** A name (struct member, enum value): not NUL-terminated. */
typedef struct pl_name {
  const char *data;
  uint32_t len;
} pl_name;

/** One decoded value. Trees are borrowed from the decoder (see pl_decoder_decode). */
typedef struct pl_value {
  uint8_t kind;  /* pl_value_kind */
  uint8_t flags; /* PL_VALUE_F_* */
  uint8_t elem;  /* packed arrays: pl_packed_kind */
  uint8_t reserved;
  uint32_t count; /* string/bytes/number length, array/struct element count */
  union {
    int b;
    int64_t i;
    uint64_t u;
    float f32;
    double f64;
    const char *str;
    const uint8_t *bytes;
    const struct pl_value *items;
  } v;
  const pl_name *names; /* STRUCT: count names; ENUM: its name or NULL */
} pl_value;

/**
 * Element i of an array (packed or not) into *out. @return PL_DECODE_OK, or
 * PL_DECODE_EINVAL when `array` is not an array or i is out of range.
 */
int pl_value_at(const pl_value *array, size_t i, pl_value *out);

/**
 * The member of a struct named `name` (NUL-terminated; for JSON objects the
 * name is compared with the member names as written). @return a pointer into
 * the tree, or NULL when `s` is not a struct or has no such member.
 */
const pl_value *pl_value_member(const pl_value *s, const char *name);

/** "struct", "array", "float64", ... for a pl_value_kind. */
const char *pl_value_kind_name(int kind);

/* ----------------------------------------------------------------- decoder */

/** Limits; all-zero means the defaults given with each field. */
typedef struct pl_decode_options {
  uint32_t max_depth;       /* nesting of structs and arrays; 0 = 64, at most 1000 */
  uint64_t max_tree_bytes;  /* memory of one message's tree; 0 = 256 MiB */
  uint32_t max_fixed_array; /* elements of one fixed-size array in a schema; 0 = 2^24 */
  unsigned cdr_wchar_size;  /* bytes per CDR wchar/wstring unit: 0 = 4 (Fast-CDR 1.x, the
                               ROS 2 default: UTF-32), or 2 (Fast-CDR 2.x: UTF-16) */
} pl_decode_options;

/** What a decoder is made from: a channel and its schema (all views, copied as needed). */
typedef struct pl_decoder_spec {
  mcap_str topic;            /* used in error messages only */
  mcap_str message_encoding; /* Channel.message_encoding */
  mcap_str schema_encoding;  /* Schema.encoding; empty when the channel has no schema */
  mcap_str schema_name;      /* Schema.name */
  mcap_bytes schema_data;    /* Schema.data */
} pl_decoder_spec;

/** Fill a spec from a channel and its schema (schema NULL: schemaless channel). */
void pl_decoder_spec_from(pl_decoder_spec *spec, const mcap_channel *channel,
                          const mcap_schema *schema);

typedef struct pl_decoder pl_decoder;

/**
 * Make a decoder for one channel: checks the encodings and parses the schema.
 * @param out [out] the new decoder; owned by the caller, release with pl_decoder_free.
 * @param spec the channel and schema; everything needed is copied.
 * @param o NULL for defaults; copied.
 * @param err NULL or where to put the detail of a failure, e.g. "topic '/cam': no decoder
 *        for message encoding 'flatbuffer' (schema encoding 'flatbuffer')" or "topic '/imu':
 *        schema 'sensor_msgs/msg/Imu' (ros2msg): line 12: unknown type 'Quaternion'".
 * @return PL_DECODE_OK, PL_DECODE_EUNSUPPORTED, PL_DECODE_ESCHEMA, PL_DECODE_ELIMIT,
 *         PL_DECODE_ENOMEM or PL_DECODE_EINVAL.
 */
int pl_decoder_create(pl_decoder **out, const pl_decoder_spec *spec, const pl_decode_options *o,
                      pl_decode_error_info *err);

/** Release a decoder and its trees. NULL is accepted. */
void pl_decoder_free(pl_decoder *d);

/**
 * Decode one message of the decoder's channel.
 * @param m the message (its data is read, never modified).
 * @param out [out] the root value (a struct, or any JSON value). Borrowed: the tree
 *        lives in the decoder and may point into m->data, so it is valid until the
 *        next decode on this decoder, its free, or the end of m->data's life.
 * @return PL_DECODE_OK; PL_DECODE_EMESSAGE (malformed or truncated; the message on
 *         the handle names topic, sequence, log time, the byte offset in the message
 *         and the field path); PL_DECODE_ELIMIT; PL_DECODE_ENOMEM.
 */
int pl_decoder_decode(pl_decoder *d, const mcap_message *m, const pl_value **out);

/** Same, for bare message bytes (sequence and log time are reported as 0). */
int pl_decoder_decode_bytes(pl_decoder *d, const uint8_t *data, size_t len, const pl_value **out);

/** One line about the last failure on this decoder ("" when none). Valid until the next call. */
const char *pl_decoder_errmsg(const pl_decoder *d);

/** "ros2msg+cdr", "ros1msg+ros1", "jsonschema+json", "json", "protobuf". Static text. */
const char *pl_decoder_format(const pl_decoder *d);

/* --------------------------------------------------------------- rendering */

/** A growable text buffer. Zero-initialise (or PL_TEXT_INIT); release with pl_text_dispose. */
typedef struct pl_text {
  char *data; /* not NUL-terminated; data[0..len) is the text */
  size_t len;
  size_t cap;
} pl_text;

#define PL_TEXT_INIT \
  { NULL, 0, 0 }

/** Free the buffer's memory and reset it to empty. */
void pl_text_dispose(pl_text *t);
/** Room for n more bytes at data + len (data is then never NULL). @return 0 or -1 (out of
 *  memory; t keeps what it had). */
int pl_text_reserve(pl_text *t, size_t n);
/** Append s[0..n). @return 0 or -1 (out of memory). */
int pl_text_append(pl_text *t, const void *s, size_t n);
/** Append a JSON string literal (quotes included) of the UTF-8 text s[0..n); ill-formed
 *  UTF-8 becomes U+FFFD. @return 0 or -1 (out of memory). */
int pl_text_json_string(pl_text *t, const char *s, size_t n);
/** Append the base64 of p[0..n) (standard alphabet, padded). @return 0 or -1. */
int pl_text_base64(pl_text *t, const uint8_t *p, size_t n);

/** How byte arrays are rendered. */
typedef enum pl_bytes_mode {
  PL_BYTES_DEFAULT = 0, /* JSON: base64; CSV: the length */
  PL_BYTES_BASE64,      /* a base64 string */
  PL_BYTES_LENGTH       /* the number of bytes */
} pl_bytes_mode;

/** JSON rendering options; all-zero = defaults. */
typedef struct pl_json_options {
  pl_bytes_mode bytes;
} pl_json_options;

/**
 * Append a value as compact JSON to `out`.
 * @return PL_DECODE_OK or PL_DECODE_ENOMEM (out keeps what was appended before).
 */
int pl_decode_json_value(const pl_value *v, const pl_json_options *o, pl_text *out);

/**
 * Append one NDJSON line for a decoded message, newline included:
 * {"topic":..,"channel_id":..,"sequence":..,"log_time":"ns","publish_time":"ns","message":VALUE}
 * (the keys of `mcapkit cat --format ndjson`, with the decoded value under "message").
 * @return PL_DECODE_OK or PL_DECODE_ENOMEM.
 */
int pl_decode_ndjson_line(const mcap_channel *channel, const mcap_message *m, const pl_value *v,
                          const pl_json_options *o, pl_text *out);

/** CSV options. Use pl_csv_options_init() (all-zero means max_array 0: counts only). */
typedef struct pl_csv_options {
  uint32_t max_array;   /* elements per array given their own columns (default 16) */
  pl_bytes_mode bytes;  /* default: the length */
  uint32_t max_columns; /* 0 = 65536 */
} pl_csv_options;

/** Defaults: max_array 16, bytes as length, at most 65536 columns. */
void pl_csv_options_init(pl_csv_options *o);

/**
 * A CSV table layout for one decoder's messages: the columns are log_time (ns),
 * log_time_rfc3339, then the flattened field paths of the schema
 * ("pose.position.x", "position[0]"). Arrays get columns for their first
 * max_array elements, then a "<path>.count" column when their length varies
 * or exceeds max_array; byte arrays are one column; values the layout cannot
 * flatten (maps, recursive types, JSON values without a schema) are one column
 * holding their compact JSON.
 */
typedef struct pl_csv pl_csv;

/**
 * @param out [out] the layout; owned by the caller, release with pl_csv_free.
 * @param d the decoder whose schema gives the columns; only used during the call.
 * @param err NULL or the detail of a failure.
 * @return PL_DECODE_OK, PL_DECODE_ELIMIT (more than max_columns), PL_DECODE_ENOMEM,
 *         PL_DECODE_EINVAL.
 */
int pl_csv_create(pl_csv **out, const pl_decoder *d, const pl_csv_options *o,
                  pl_decode_error_info *err);

/** Release a layout. NULL is accepted. */
void pl_csv_free(pl_csv *c);

/** Number of columns (log_time and log_time_rfc3339 included). */
size_t pl_csv_column_count(const pl_csv *c);

/** Name of column i (NUL-terminated; owned by the layout), or NULL when out of range. */
const char *pl_csv_column_name(const pl_csv *c, size_t i);

/** Append the header line (column names, RFC 4180 quoting) and "\n". */
int pl_csv_write_header(const pl_csv *c, pl_text *out);

/**
 * Append one row for a message decoded by the layout's decoder, "\n" included.
 * Cells without a value (absent fields, array elements past the length) are empty.
 * The layout keeps a scratch buffer between rows, so it is used by one thread at a time.
 * @return PL_DECODE_OK or PL_DECODE_ENOMEM.
 */
int pl_csv_write_row(pl_csv *c, uint64_t log_time, const pl_value *v, pl_text *out);

/* ---------------------------------------------------------------- helpers */

/**
 * The shortest decimal text that reads back as exactly `v` (digits and at most
 * one of '.', 'e'; "NaN", "Infinity", "-Infinity" for non-finite values).
 * @param buf at least 32 bytes. @return the length written (no NUL).
 */
size_t pl_decode_format_double(double v, char *buf);

/** The same for a float32 (shortest text that reads back as this float). */
size_t pl_decode_format_float(float v, char *buf);

/** "YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ" for ns since the Unix epoch (30 bytes, no NUL). */
size_t pl_decode_format_rfc3339(uint64_t ns, char *buf);

/* ------------------------------------------------------- topic extraction */

/** How pl_extract_topics() writes. All-zero: NDJSON into one file, log-time order. */
typedef struct pl_extract_options {
  int csv;                     /* one CSV table per topic instead of NDJSON lines */
  int to_dir;                  /* csv: the output is a directory (created if missing) holding
                                  TOPIC.csv per topic ('/' made '_', numbered when two topics
                                  make the same name) */
  pl_json_options json;        /* NDJSON rendering */
  pl_csv_options csv_options;  /* CSV layout (pl_csv_options_init() for the defaults) */
  mcap_query query;            /* time range (inclusive) and order; the channel filter is the
                                  extractor's own */
  /* Each message that does not decode is skipped and reported here ("FILE: why", naming
     topic, sequence, log time and byte offset); `more` is 0 for the last one shown of its
     channel (the first 5), 1 before. NULL: not reported. */
  void (*on_skip)(void *user, const char *message, int more);
  /* Progress: messages written so far (every 4096). NULL: none. */
  void (*progress)(void *user, uint64_t messages);
  /* The output "-": bytes go through this instead of a file; 0 or -1 to stop. */
  int (*write_stream)(void *user, const void *data, size_t len);
  void *user;
} pl_extract_options;

/** What became of one selected channel. */
typedef struct pl_extract_channel {
  const mcap_channel *channel; /* borrowed from the reader */
  const char *decoder;         /* pl_decoder_format() (static storage) */
  uint64_t messages;           /* in the range */
  uint64_t skipped;            /* of those, not decoded (and not written) */
  char *output;                /* the file its rows went to, or "-" */
  size_t columns;              /* csv: the table's columns; else 0 */
} pl_extract_channel;

/** The outcome of pl_extract_topics(); release with pl_extract_result_free(). */
typedef struct pl_extract_result {
  pl_extract_channel *channels; /* in the order of the topics given, then channel order */
  size_t n_channels;
  uint64_t skipped; /* over all channels */
} pl_extract_result;

/**
 * Decode the messages of `topics` (each must have a channel, and a decoder for
 * every channel, else nothing is written) and write them to `output` as
 * NDJSON lines (pl_decode_ndjson_line()) or CSV rows. Outputs are atomic
 * files (libmcap's file sink: they appear complete or not at all); "-" writes
 * through o->write_stream. A topic named twice counts once.
 * @param rd an open indexed reader; borrowed.
 * @param file the recording's name for messages.
 * @param[out] out the result (on PL_DECODE_OK); free with pl_extract_result_free().
 * @return PL_DECODE_OK (out->skipped says whether messages were skipped);
 *         PL_DECODE_EINVAL (a topic without channels; a topic's channels with different
 *         schemas as CSV); PL_DECODE_EUNSUPPORTED / ESCHEMA (no decoder); PL_DECODE_ELIMIT;
 *         PL_DECODE_EIO (reading the recording, writing an output); PL_DECODE_ENOMEM.
 */
int pl_extract_topics(mcap_reader *rd, const char *file, const char *const *topics,
                      size_t n_topics, const char *output, const pl_extract_options *o,
                      pl_extract_result **out, pl_decode_error_info *err);

/** Release a result. NULL is accepted. */
void pl_extract_result_free(pl_extract_result *r);

#ifdef __cplusplus
}
#endif

#endif /* PIPELINE_DECODE_H */
