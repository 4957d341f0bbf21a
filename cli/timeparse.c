/*
 * timeparse.c - parsing and styled formatting of timestamps (see timeparse.h).
 * Calendar arithmetic is the proleptic Gregorian one of H. Hinnant's
 * days_from_civil algorithm; RFC 3339 output is pl_format_time's. No libc time
 * zone state is used.
 */
#include "timeparse.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "output.h"
#include "pipeline/pipeline.h"

#define NS_PER_S UINT64_C(1000000000)

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...) {
  if (err && errlen) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
  }
  return -1;
}

static int is_digit(char c) {
  return c >= '0' && c <= '9';
}

/* Exactly `n` digits at s into *v. */
static int fixed_digits(const char *s, int n, unsigned *v) {
  unsigned x = 0;
  for (int i = 0; i < n; i++) {
    if (!is_digit(s[i])) return -1;
    x = x * 10 + (unsigned)(s[i] - '0');
  }
  *v = x;
  return 0;
}

/* Days since 1970-01-01 of a civil date. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  unsigned yoe = (unsigned)(y - era * 400);
  unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + (int64_t)doe - 719468;
}

static unsigned days_in_month(int64_t y, unsigned m) {
  static const unsigned dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) return 29;
  return dm[m - 1];
}

/*
 * A fraction ".ddd" at *s (the dot already consumed): up to nine digits are
 * kept, more are truncated. Advances *s. @return 0, or -1 without digits.
 */
static int parse_fraction(const char **s, uint64_t *frac) {
  const char *p = *s;
  uint64_t f = 0;
  int n = 0;
  if (!is_digit(*p)) return -1;
  for (; is_digit(*p); p++) {
    if (n < 9) {
      f = f * 10 + (uint64_t)(*p - '0');
      n++;
    }
  }
  for (; n < 9; n++) f *= 10;
  *frac = f;
  *s = p;
  return 0;
}

static int seconds_to_ns(uint64_t secs, uint64_t frac, uint64_t *out) {
  uint64_t ns;
  if (__builtin_mul_overflow(secs, NS_PER_S, &ns) || __builtin_add_overflow(ns, frac, &ns))
    return -1;
  *out = ns;
  return 0;
}

/* "1234" (ns), "1234s", "12.5s", "1500ms", "2.5us", "7ns". */
static int parse_number(const char *s, uint64_t *out, char *err, size_t errlen) {
  static const struct {
    const char *name;
    uint64_t ns; /* one unit in nanoseconds */
  } units[] = {{"s", NS_PER_S}, {"ms", 1000000}, {"us", 1000}, {"ns", 1}};
  const char *p = s;
  uint64_t v = 0;
  for (; is_digit(*p); p++) {
    if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, (uint64_t)(*p - '0'), &v))
      return fail(err, errlen, "time '%s' is out of range", s);
  }
  uint64_t frac = 0; /* the fraction in units of 1e-9 */
  int has_frac = 0;
  if (*p == '.') {
    p++;
    if (parse_fraction(&p, &frac) != 0)
      return fail(err, errlen, "time '%s': expected digits after '.'", s);
    has_frac = 1;
  }
  if (*p == '\0') {
    if (has_frac)
      return fail(err, errlen,
                  "time '%s' has a fraction but no unit: write %ss (seconds), or ms, us", s, s);
    *out = v; /* a bare integer: nanoseconds */
    return 0;
  }
  for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
    if (strcmp(p, units[i].name) != 0) continue;
    if (has_frac && units[i].ns == 1)
      return fail(err, errlen, "time '%s': nanoseconds have no fraction", s);
    uint64_t whole, part = frac / (NS_PER_S / units[i].ns); /* frac of a unit, in ns */
    if (__builtin_mul_overflow(v, units[i].ns, &whole) ||
        __builtin_add_overflow(whole, part, out))
      return fail(err, errlen, "time '%s' is out of range", s);
    return 0;
  }
  return fail(err, errlen,
              "time '%s' is not a number with a unit (s, ms, us, ns), nanoseconds or an RFC 3339 "
              "time",
              s);
}

/* "YYYY-MM-DD" alone or "YYYY-MM-DD(T|t| )HH:MM:SS[.frac](Z|z|+HH:MM|-HH:MM)". */
static int parse_rfc3339(const char *s, uint64_t *out, char *err, size_t errlen) {
  unsigned y, mo, d, h = 0, mi = 0, sec = 0;
  uint64_t frac = 0;
  int64_t offset_s = 0;
  const char *p = s;
  if (fixed_digits(p, 4, &y) != 0 || p[4] != '-' || fixed_digits(p + 5, 2, &mo) != 0 ||
      p[7] != '-' || fixed_digits(p + 8, 2, &d) != 0)
    return fail(err, errlen, "time '%s': expected YYYY-MM-DD", s);
  p += 10;
  if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo))
    return fail(err, errlen, "time '%s': no such date", s);
  if (*p != '\0') {
    if (*p != 'T' && *p != 't' && *p != ' ')
      return fail(err, errlen, "time '%s': expected 'T' after the date", s);
    p++;
    if (fixed_digits(p, 2, &h) != 0 || p[2] != ':' || fixed_digits(p + 3, 2, &mi) != 0 ||
        p[5] != ':' || fixed_digits(p + 6, 2, &sec) != 0)
      return fail(err, errlen, "time '%s': expected HH:MM:SS after the date", s);
    p += 8;
    /* second 60 is a leap second; it lands on the next second */
    if (h > 23 || mi > 59 || sec > 60) return fail(err, errlen, "time '%s': no such time", s);
    if (*p == '.') {
      p++;
      if (parse_fraction(&p, &frac) != 0)
        return fail(err, errlen, "time '%s': expected digits after '.'", s);
    }
    if (*p == 'Z' || *p == 'z') {
      p++;
    } else if (*p == '+' || *p == '-') {
      unsigned oh, om;
      if (fixed_digits(p + 1, 2, &oh) != 0 || p[3] != ':' || fixed_digits(p + 4, 2, &om) != 0 ||
          oh > 23 || om > 59)
        return fail(err, errlen, "time '%s': bad UTC offset (expected +HH:MM)", s);
      offset_s = (int64_t)(oh * 3600 + om * 60);
      if (*p == '-') offset_s = -offset_s;
      p += 6;
    } else {
      return fail(err, errlen, "time '%s': expected 'Z' or a UTC offset like +02:00", s);
    }
    if (*p != '\0') return fail(err, errlen, "time '%s': unexpected text after the time", s);
  }
  int64_t secs = days_from_civil(y, mo, d) * 86400 + (int64_t)(h * 3600 + mi * 60 + sec) - offset_s;
  if (secs < 0) return fail(err, errlen, "time '%s' is before 1970", s);
  if (seconds_to_ns((uint64_t)secs, frac, out) != 0)
    return fail(err, errlen, "time '%s' is out of range", s);
  return 0;
}

int cli_parse_time(const char *s, uint64_t *out, char *err, size_t errlen) {
  if (err && errlen) err[0] = '\0';
  if (!s || !*s) return fail(err, errlen, "empty time");
  /* a date starts with four digits and a '-' */
  if (strlen(s) >= 10 && is_digit(s[0]) && is_digit(s[1]) && is_digit(s[2]) && is_digit(s[3]) &&
      s[4] == '-')
    return parse_rfc3339(s, out, err, errlen);
  if (!is_digit(s[0]))
    return fail(err, errlen,
                "time '%s' is not an RFC 3339 time, a number with a unit (s, ms, us, ns) or "
                "nanoseconds",
                s);
  return parse_number(s, out, err, errlen);
}

int cli_time_style_parse(const char *s, cli_time_style *out) {
  static const struct {
    const char *name;
    cli_time_style style;
  } styles[] = {{"auto", CLI_TIME_AUTO},
                {"rfc3339", CLI_TIME_RFC3339},
                {"seconds", CLI_TIME_SECONDS},
                {"ns", CLI_TIME_NS}};
  for (size_t i = 0; i < sizeof styles / sizeof styles[0]; i++) {
    if (s && strcmp(s, styles[i].name) == 0) {
      *out = styles[i].style;
      return 0;
    }
  }
  return -1;
}

const char *cli_fmt_time_as(char *buf, size_t n, uint64_t ns, cli_time_style style) {
  uint64_t secs = ns / NS_PER_S, frac = ns % NS_PER_S;
  switch (style) {
    case CLI_TIME_AUTO:
      return cli_fmt_time(buf, n, ns);
    case CLI_TIME_RFC3339: {
      char t[40];
      pl_format_time(ns, t);
      snprintf(buf, n, "%s", t);
      return buf;
    }
    case CLI_TIME_SECONDS:
      snprintf(buf, n, "%llu.%09llu", (unsigned long long)secs, (unsigned long long)frac);
      return buf;
    case CLI_TIME_NS:
      snprintf(buf, n, "%llu", (unsigned long long)ns);
      return buf;
  }
  return cli_fmt_time(buf, n, ns);
}
