/*
 * core.h - pl_core, what every pipeline library shares (prefix pl_): the
 * error codes and the error detail, findings, time ranges, RFC 3339 times,
 * the one calendar of mcapkit (proleptic Gregorian, UTC, no libc time zones)
 * and the one UTF-8 decoder.
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

#ifdef __cplusplus
}
#endif

#endif /* PIPELINE_CORE_H */
