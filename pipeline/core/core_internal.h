/*
 * core_internal.h - pl_core's internal toolkit (pl__ prefix), shared with the
 * other pipeline libraries through the build-only target pl_core_internal
 * (pipeline/CMakeLists.txt); never installed, never seen by the CLI:
 * error helpers, strings, growable arrays and buffers, piecewise source reads
 * and finding lists (errors.c), content hashing (hash.c, the only xxHash
 * user), the chunk feed (chunk_feed.c) and UTF-8 checks (utf8.c).
 */
#ifndef PIPELINE_CORE_INTERNAL_H
#define PIPELINE_CORE_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "pipeline/core.h"

/* ------------------------------------------------------------ errors.c */

/* Fill `err` (if non-NULL) with code, offset and message; return `code`. */
/* One function taken from a shared library: its name, and the offset in a table of function
 * pointers where its address goes (dlib.c). */
struct pl__dl_fn {
  const char *name;
  size_t offset;
};

/*
 * Open the shared object `soname` and fill `table` (`table_size` bytes, at most 1 KiB) with the
 * addresses of fns[0..n). @return 0 (the library then stays open for the life of the
 * process), or -1 with the reason in msg: the loader's message, or "SONAME has no function
 * NAME" followed by `hint` (may be NULL); nothing is written to `table` and nothing stays open.
 */
int pl__dl_open_table(const char *soname, const struct pl__dl_fn *fns, size_t n, void *table,
                      size_t table_size, const char *hint, char *msg, size_t cap);

int pl__err(pl_error_info *err, int code, uint64_t offset, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* PL_EMCAP with the libmcap code kept in err->mcap_code. */
int pl__err_mcap(pl_error_info *err, int mcap_code, uint64_t offset, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* PL_EIO with strerror(errnum) appended ("...: No such file or directory"). */
int pl__err_errno(pl_error_info *err, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Add what `src` could not read to `dst` (mcap_damage; dst keeps its first problem). */
void pl__damage_add(mcap_damage *dst, const mcap_damage *src);
/* Add one damaged record at `offset` (bytes long, skipped whole) to `dst`; why: err's message. */
void pl__damage_one(mcap_damage *dst, const pl_error_info *err, uint64_t offset, uint64_t bytes);

char *pl__strdup(const char *s); /* NULL in, NULL out */
char *pl__strview(mcap_str s);   /* NUL-terminated copy of a view */
/* Grow *arr (elements of `elem` bytes) to hold at least `need`. 0 or -1 (ENOMEM). */
int pl__grow(void **arr, size_t *cap, size_t need, size_t elem);

/* Read exactly n bytes at off from a source that may hand out pieces; the
 * result is in *p (pointing into the source or into tmp). *got < n only at
 * the end of input. tmp is a malloc'd buffer owned by the caller. */
struct pl__buf {
  uint8_t *data;
  size_t len, cap;
};
int pl__buf_reserve(struct pl__buf *b, size_t n); /* capacity >= n; 0 or -1 */
int pl__buf_append(struct pl__buf *b, const void *p, size_t n);
void pl__buf_dispose(struct pl__buf *b);
int pl__source_pull(mcap_source *src, struct pl__buf *tmp, uint64_t off, uint64_t n,
                    const uint8_t **p, uint64_t *got, pl_error_info *err);

/* Append a finding to a growable array (capped at `max` kept findings). */
int pl__finding_add(pl_finding **arr, size_t *n, size_t *cap, pl_severity sev, const char *code,
                    uint64_t offset, const char *fmt, ...) __attribute__((format(printf, 7, 8)));

/* ------------------------------------------------------------- hash.c */

typedef struct pl__hash pl__hash;
pl__hash *pl__hash_new(void);
void pl__hash_free(pl__hash *h);
void pl__hash_reset(pl__hash *h);
void pl__hash_update(pl__hash *h, const void *p, size_t n);
void pl__hash_u64(pl__hash *h, uint64_t v); /* little-endian bytes of v */
/* The XXH3-128 digest so far, 32 lower-case hex digits (canonical big-endian). */
void pl__hash_hex(const pl__hash *h, char out[33]);
void pl__hash_buffer_hex(const void *p, size_t n, char out[33]);
/* XXH3-64 of a buffer (short names, not a content hash). */
uint64_t pl__hash64(const void *p, size_t n);
/* The opaque topic version: digest of (encoding, schema name, schema encoding, schema). */
void pl__topic_version(mcap_str encoding, mcap_str schema_name, mcap_str schema_encoding,
                       mcap_bytes schema, char out[33]);
/* Hash a whole file with one sequential read. */
int pl__hash_file(const char *path, char out[33], pl_error_info *err);

/* A source that feeds every byte of `inner` to `h` in order, whatever order the
 * reader asks for them: reads extend the hashed prefix; the rest is read and
 * hashed when the source is closed. The state is the caller's and outlives the
 * source; after the close, st->rc says whether the whole file was hashed. */
struct pl__hashing_state {
  pl__hash *h;
  uint64_t size;
  uint64_t hashed; /* bytes [0, hashed) are in h */
  int rc;          /* PL_OK or the read error of the tail */
  char msg[256];
};
int pl__hashing_source(mcap_source *out, mcap_source *inner, struct pl__hashing_state *st);


/* ------------------------------------------------------- chunk_feed.c */

/* The chunk feed: decompressed chunks passed from one pass over a file (the producer) to a
 * second pass on another thread (the consumer), in file order, at most `depth` waiting.
 * Thread-safe between one producer and one consumer. */
typedef struct pl__feed pl__feed;

int pl__feed_new(pl__feed **out, size_t depth); /* PL_OK or PL_ENOMEM; free with pl__feed_free */
void pl__feed_free(pl__feed *f);
/* Producer: queue buf's len bytes as the records of the chunk at `offset` (the feed takes
 * the buffer; *buf becomes a recycled or empty one). Waits while the queue is full, unless
 * the consumer has closed (then *buf is left as it was). */
void pl__feed_put(pl__feed *f, uint64_t offset, struct pl__buf *buf);
void pl__feed_finish(pl__feed *f); /* producer: no more chunks */
/* Consumer: 1 and the records of the chunk at `offset` (valid until the next take or the
 * close), or 0 when the producer does not have it (then decompress it yourself). Waits only
 * while the producer has not reached `offset`. */
int pl__feed_take(pl__feed *f, uint64_t offset, const uint8_t **data, uint64_t *len);
void pl__feed_close(pl__feed *f); /* consumer: no more takes; the producer stops waiting */

/* -------------------------------------------------------------- utf8.c */

/* (Decoding one sequence is the public pl_utf8_next, core.h.) */
/* 1 when s[0..n) is well-formed UTF-8. */
int pl__utf8_valid(const char *s, size_t n);
/* A copy of s[0..n) with each ill-formed sequence replaced by U+FFFD (malloc'd,
 * NUL-terminated; its length in *out_len if non-NULL). NULL when out of memory. */
char *pl__utf8_fix(const char *s, size_t n, size_t *out_len);

#endif /* PIPELINE_CORE_INTERNAL_H */
