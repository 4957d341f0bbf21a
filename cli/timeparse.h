/*
 * timeparse.h - timestamps as text, both ways: parsing the T of --start,
 * --end, --log-time, ... and formatting a timestamp in a chosen style
 * (--time-format). Times are uint64 nanoseconds; for Unix times, since
 * 1970-01-01T00:00:00Z.
 *
 * One syntax for every time argument (--start, --end, --log-time, ...):
 *   2026-01-01T00:00:00.5Z         RFC 3339 date-time ('t' or ' ' as separator,
 *   2026-01-01T02:00:00+02:00      'Z'/'z' or a numeric offset)
 *   2026-01-01                     a date: midnight UTC
 *   1767225600s  1767225600.5s     a number with a unit: s, ms, us or ns (a
 *   1767225600500ms  ...us  ...ns  fraction is allowed with s, ms and us)
 *   1767225600000000000            a bare integer: nanoseconds, the unit of MCAP
 *                                  log times (and of the official mcap CLI)
 * A bare number with a fraction ("12.5") is refused: it names no unit.
 * Fractions finer than a nanosecond are truncated. Times before 1970 and after
 * 2554-07-21T23:34:33.709551615Z (2^64 - 1 ns) are rejected.
 */
#ifndef CLI_TIMEPARSE_H
#define CLI_TIMEPARSE_H

#include <stddef.h>
#include <stdint.h>

/**
 * Parse a timestamp in one of the forms above.
 * @param[out] out nanoseconds.
 * @param err optional; gets one line saying what is wrong (for a usage error).
 * @return 0, or -1 if `s` is not a valid timestamp.
 */
int cli_parse_time(const char *s, uint64_t *out, char *err, size_t errlen);

/** How --time-format prints timestamps. */
typedef enum cli_time_style {
  CLI_TIME_AUTO = 0, /* RFC 3339 when it looks like a Unix time, else seconds (cli_fmt_time) */
  CLI_TIME_RFC3339,  /* always RFC 3339 UTC with nine fraction digits */
  CLI_TIME_SECONDS,  /* always seconds with nine fraction digits: "12.500000000" */
  CLI_TIME_NS        /* the integer nanoseconds */
} cli_time_style;

/** The choices for a --time-format option's help and completion. */
#define CLI_TIME_STYLE_CHOICES "auto|rfc3339|seconds|ns"

/** Parse "auto", "rfc3339", "seconds" or "ns". @return 0 or -1. */
int cli_time_style_parse(const char *s, cli_time_style *out);

/** Format `ns` in `style` into buf (CLI_FMT_SIZE bytes are enough); returns buf. */
const char *cli_fmt_time_as(char *buf, size_t n, uint64_t ns, cli_time_style style);

#endif /* CLI_TIMEPARSE_H */
