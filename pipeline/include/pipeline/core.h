/*
 * core.h - pl_core, what every pipeline library shares (prefix pl_): the
 * error codes and the error detail, findings, time ranges, RFC 3339 times,
 * the one calendar of mcapkit (proleptic Gregorian, UTC, no libc time zones),
 * the one UTF-8 decoder and base64 encoder, and the toolkit the pipeline
 * libraries share: error detail, growable buffers, piecewise source reads,
 * content hashes, the chunk feed and the shared-library loader.
 *
 * Conventions of every pipeline library, as in libmcap: functions return PL_OK
 * (0) or a negative pl_error; detail goes into a caller-supplied pl_error_info.
 * Structures returned through **out are owned by the caller and released with
 * their _free function. Times are uint64 nanoseconds (Unix epoch) unless said.
 */
#ifndef PIPELINE_CORE_H
#define PIPELINE_CORE_H

#include <stddef.h>
#include <stdint.h>

#include "mcap/mcap.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ----------------------------------------------------------------- errors */

typedef enum pl_error {
  PL_OK = 0,
  PL_EINVAL = -1,     /* bad argument */
  PL_ENOMEM = -2,
  PL_EIO = -3,        /* file system error (errno text in the message) */
  PL_EMCAP = -4,      /* libmcap error; its code in pl_error_info.mcap_code */
  PL_EPARTIAL = -5,   /* input could only be read in part */
  PL_EJSON = -6,      /* malformed or unexpected JSON */
  PL_EHTTP = -7,      /* HTTP status error (status in http_status) */
  PL_ENET = -8,       /* transport error (curl code in curl_code) */
  PL_ETIMEOUT = -9,
  PL_ENOTFOUND = -10,
  PL_ECONFLICT = -11, /* e.g. same key, different content */
  PL_EAUTH = -12,     /* 401/403 */
  PL_EVERIFY = -13,   /* a verification found differences */
  PL_ECANCELED = -20, /* stopped on request (Ctrl-C, a cancel flag) */
  PL_EUNAVAILABLE = -21 /* a shared library the operation needs cannot be loaded (libcurl for
                           the API client, libmicrohttpd for the local site) */
} pl_error;

typedef struct pl_error_info {
  int code;
  int mcap_code;
  long http_status;
  int curl_code;
  uint64_t offset; /* file offset, or UINT64_MAX */
  char msg[512];
} pl_error_info;

const char *pl_strerror(int code);

/* ------------------------------------------------------------- findings */

typedef enum pl_severity { PL_SEV_INFO = 0, PL_SEV_WARNING = 1, PL_SEV_ERROR = 2 } pl_severity;

/** One problem found in a file: severity, a stable code ("crc-chunk", ...), where, what. */
typedef struct pl_finding {
  pl_severity severity;
  char code[40];
  uint64_t offset; /* file offset or UINT64_MAX */
  char message[256];
} pl_finding;


/** "error", "warning" or "info" (static storage). */
const char *pl_severity_name(pl_severity s);

/* ---------------------------------------------------------------- ranges */

typedef struct pl_range {
  uint64_t start, end; /* inclusive, ns */
} pl_range;

typedef struct pl_kv {
  char *key, *value;
} pl_kv;

/* ------------------------------------------------------------------ time */

/** Format ns since the Unix epoch as RFC 3339 UTC with 9 fractional digits ("...Z"). */
void pl_format_time(uint64_t ns, char buf[40]);

/**
 * Parse an RFC 3339 time that is also ISO 8601 (up to 9 fractional digits,
 * 'Z' or a numeric offset converted to UTC). Rejects a space or lower-case 't'
 * for 'T', "-00:00", and anything else. @return PL_OK or PL_EINVAL.
 */
int pl_parse_time(const char *s, uint64_t *ns);

/* Days since 1970-01-01 of a proleptic Gregorian date (negative before 1970). */
int64_t pl_days_from_civil(int64_t year, unsigned month, unsigned day);

/* The proleptic Gregorian date of a day count since 1970-01-01 (inverse of the above). */
void pl_civil_from_days(int64_t days, int64_t *year, unsigned *month, unsigned *day);

/* Days in `month` (1-12) of `year`; 0 for a month out of range. */
unsigned pl_days_in_month(int64_t year, unsigned month);

/* ----------------------------------------------------------------- UTF-8 */

/**
 * Decode the UTF-8 sequence at s[0..n) as RFC 3629 defines it: no overlong form, no
 * surrogate (U+D800..U+DFFF), nothing above U+10FFFF, no sequence cut short by n.
 * Every UTF-8 check of the pipeline and the CLI goes through this one function.
 * @param s the bytes; nothing at or after s[n] is read
 * @param n the bytes available (0: nothing is read, the return is 0 and *adv 0)
 * @param[out] cp the code point, or U+FFFD when the sequence is ill-formed; may be NULL
 * @param[out] adv the bytes to step over: the sequence's length, or for an ill-formed one
 *             the length of its maximal subpart (1-3), which one U+FFFD replaces (Unicode's
 *             "substitution of maximal subparts"); may be NULL
 * @return the length of the well-formed sequence (1-4), or 0 when it is ill-formed.
 * Reads only s (borrowed); no allocation, no state: safe from any thread.
 */
size_t pl_utf8_next(const uint8_t *s, size_t n, uint32_t *cp, size_t *adv);

/** 1 when s[0..n) is well-formed UTF-8 (pl_utf8_next's rules). */
int pl_utf8_valid(const char *s, size_t n);
/** A malloc'd, NUL-terminated copy of s[0..n) the caller frees, each ill-formed sequence
 * replaced by U+FFFD; its length in *out_len if non-NULL. NULL when out of memory. */
char *pl_utf8_fix(const char *s, size_t n, size_t *out_len);

/** Characters of the padded base64 (RFC 4648) of n bytes; SIZE_MAX when that overflows. */
size_t pl_base64_len(size_t n);
/**
 * Write the padded base64 of src[0..n) to dst (room for pl_base64_len(n) characters; no
 * NUL is written). The one base64 encoder of the pipeline and the CLI.
 * @return the characters written, pl_base64_len(n).
 */
size_t pl_base64_encode(char *dst, const uint8_t *src, size_t n);
/** The base64 of src[0..n) as a NUL-terminated string the caller frees; NULL when out of
 * memory or when the length overflows. */
char *pl_base64_dup(const uint8_t *src, size_t n);

/* ---------------------------------------------------------------------------
 * The toolkit the pipeline libraries share. Plain C helpers with no state of
 * their own, safe from any thread for distinct objects.
 * ------------------------------------------------------------------------- */

/* ------------------------------------------------------------ error detail */

/** Fill `err` (if non-NULL) with code, offset and a printf message. @return `code`. */
int pl_error_set(pl_error_info *err, int code, uint64_t offset, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/** PL_EMCAP with the libmcap code kept in err->mcap_code. @return PL_EMCAP. */
int pl_error_set_mcap(pl_error_info *err, int mcap_code, uint64_t offset, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/** PL_EIO with strerror(errnum) appended ("...: No such file or directory"). @return PL_EIO. */
int pl_error_set_errno(pl_error_info *err, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/** Append a finding to the caller's growable array *arr (*n used, *cap allocated; the caller
 * frees *arr). @return PL_OK, or PL_ENOMEM (the array is left as it was). */
int pl_finding_add(pl_finding **arr, size_t *n, size_t *cap, pl_severity sev, const char *code,
                   uint64_t offset, const char *fmt, ...) __attribute__((format(printf, 7, 8)));

/** Add what `src` could not read to `dst` (libmcap's damage tally; dst keeps its first problem). */
void pl_damage_add(mcap_damage *dst, const mcap_damage *src);
/** Add one damaged record at `offset`, `bytes` long and skipped whole, to `dst`; the reason
 * is err's message. */
void pl_damage_one(mcap_damage *dst, const pl_error_info *err, uint64_t offset, uint64_t bytes);

/* ------------------------------------------------------ strings and memory */

/** A malloc'd copy the caller frees; NULL in (or out of memory), NULL out. */
char *pl_strdup(const char *s);
/** The file an output path names, malloc'd (the caller frees): `path` itself, or what it
 * points at when it is a symbolic link to an existing file, so that writing replaces that
 * file and leaves the link. NULL when out of memory. */
char *pl_output_target(const char *path);
/** A malloc'd, NUL-terminated copy of a view the caller frees; NULL when out of memory. */
char *pl_strview(mcap_str s);
/** Grow the caller's array *arr (elements of `elem` bytes, *cap allocated) to hold at least
 * `need`, doubling. @return 0, or -1 when out of memory or on overflow (*arr unchanged). */
int pl_grow(void **arr, size_t *cap, size_t need, size_t elem);

/** A growable byte buffer owned by whoever holds it; zero-initialise, free with pl_buf_dispose. */
typedef struct pl_buf {
  uint8_t *data;
  size_t len, cap;
} pl_buf;
int pl_buf_reserve(pl_buf *b, size_t n);               /* capacity >= n; 0 or -1 (out of memory) */
int pl_buf_append(pl_buf *b, const void *p, size_t n); /* 0 or -1 (out of memory) */
void pl_buf_dispose(pl_buf *b); /* frees the data; b is empty and reusable afterwards */

/**
 * Read exactly n bytes at `off` from a source that may hand out pieces. *p then points into
 * the source's own memory or into `tmp` (the caller's scratch buffer, grown as needed), valid
 * until the next read of either. *got < n only at the end of the input.
 * @return PL_OK, or an error with the offset in err.
 */
int pl_source_pull(mcap_source *src, pl_buf *tmp, uint64_t off, uint64_t n, const uint8_t **p,
                   uint64_t *got, pl_error_info *err);

/* ----------------------------------------------------------------- hashing */

/** An XXH3-128 content hash in progress (opaque; pl_hash_new / pl_hash_free). */
typedef struct pl_hash pl_hash;
pl_hash *pl_hash_new(void); /* NULL when out of memory; the caller frees it */
void pl_hash_free(pl_hash *h);
void pl_hash_reset(pl_hash *h);
void pl_hash_update(pl_hash *h, const void *p, size_t n);
void pl_hash_u64(pl_hash *h, uint64_t v); /* the little-endian bytes of v */
/** The digest so far: 32 lower-case hex digits (canonical big-endian) and a NUL. */
void pl_hash_hex(const pl_hash *h, char out[33]);
/** The XXH3-128 digest of one buffer, as pl_hash_hex writes it. */
void pl_hash_buffer_hex(const void *p, size_t n, char out[33]);
/** XXH3-64 of a buffer (for short names and tables, not a content hash). */
uint64_t pl_hash64(const void *p, size_t n);
/** The opaque topic version: the digest of (encoding, schema name, schema encoding, schema). */
void pl_topic_version(mcap_str encoding, mcap_str schema_name, mcap_str schema_encoding,
                      mcap_bytes schema, char out[33]);
/** The content hash of a whole file, read once in order. @return PL_OK or PL_EIO. */
int pl_hash_file(const char *path, char out[33], pl_error_info *err);

/**
 * A source that feeds every byte of `inner` to st->h in file order, whatever order the reader
 * asks for them: reads extend the hashed prefix; the rest is read and hashed when the source
 * is closed. `st` is the caller's (it sets h and size) and must outlive the source; after the
 * close, st->rc says whether the whole file was hashed. `inner` stays the caller's.
 */
typedef struct pl_hashing_state {
  pl_hash *h;
  uint64_t size;
  uint64_t hashed; /* bytes [0, hashed) are in h */
  int rc;          /* PL_OK or the read error of the tail */
  char msg[256];
} pl_hashing_state;
int pl_hashing_source(mcap_source *out, mcap_source *inner, pl_hashing_state *st);

/* --------------------------------------------------------------- chunk feed */

/**
 * The chunk feed: decompressed chunks passed from one pass over a file (the producer) to a
 * second pass on another thread (the consumer), in file order, at most `depth` waiting.
 * Thread-safe between one producer and one consumer. Opaque; pl_feed_new / pl_feed_free.
 */
typedef struct pl_feed pl_feed;
int pl_feed_new(pl_feed **out, size_t depth); /* PL_OK or PL_ENOMEM; the caller frees it */
void pl_feed_free(pl_feed *f);
/** Producer: queue buf's len bytes as the records of the chunk at `offset`. The feed takes the
 * buffer and *buf becomes a recycled or empty one. Waits while the queue is full, unless the
 * consumer has closed (then *buf is left as it was). */
void pl_feed_put(pl_feed *f, uint64_t offset, pl_buf *buf);
void pl_feed_finish(pl_feed *f); /* producer: no more chunks */
/** Consumer: 1 and the records of the chunk at `offset` (owned by the feed, valid until the
 * next take or the close), or 0 when the producer does not have it (then decompress it
 * yourself). Waits only while the producer has not reached `offset`. */
int pl_feed_take(pl_feed *f, uint64_t offset, const uint8_t **data, uint64_t *len);
void pl_feed_close(pl_feed *f); /* consumer: no more takes; the producer stops waiting */

/* --------------------------------------------------------- shared libraries */

/** One function taken from a shared library: its name, and the offset in a table of function
 * pointers where its address goes. */
typedef struct pl_dl_fn {
  const char *name;
  size_t offset;
} pl_dl_fn;

/**
 * Open the shared object `soname` and fill `table` (`table_size` bytes, at most 1 KiB; the
 * caller's) with the addresses of fns[0..n). @return 0 (the library then stays open for the
 * life of the process), or -1 with the reason in msg: the loader's message, or "SONAME has no
 * function NAME" followed by `hint` (may be NULL); nothing is written to `table` and nothing
 * stays open.
 */
int pl_dl_open_table(const char *soname, const pl_dl_fn *fns, size_t n, void *table,
                     size_t table_size, const char *hint, char *msg, size_t cap);

#ifdef __cplusplus
}
#endif

#endif /* PIPELINE_CORE_H */
