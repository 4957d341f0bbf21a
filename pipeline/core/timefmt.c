/*
 * timefmt.c - mcapkit's one calendar (proleptic Gregorian day counts, both
 * ways) and nanosecond Unix times to and from RFC 3339 text, as the Foxglove
 * API writes and accepts them. The CLI's lenient time arguments
 * (cli/timeparse.c) and the generator (synth.c) use this calendar too.
 *
 * Output is always UTC with nine fraction digits ("2026-01-01T00:00:00.000000000Z").
 * Input is the intersection of RFC 3339 and ISO 8601 (what the API accepts):
 * "YYYY-MM-DDTHH:MM:SS", an optional fraction of 1 to 9 digits after '.', then
 * 'Z' or a numeric offset "+HH:MM"/"-HH:MM" (converted to UTC). Rejected: a
 * space or lower-case 't'/'z', "-00:00" (RFC 3339's "unknown offset", not ISO
 * 8601), ',' as decimal mark, leap second 60, offsets without the colon, times
 * before 1970 or after the uint64 nanosecond range, and any trailing byte.
 */
#include <stdio.h>
#include <string.h>

#include "pipeline/core.h"

/* Civil date from days since 1970-01-01 (proleptic Gregorian; H. Hinnant's algorithm). */
void pl_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d) {
  z += 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  unsigned doe = (unsigned)(z - era * 146097);
  unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

/* Days since 1970-01-01 of a civil date (inverse of the above). */
int64_t pl_days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  unsigned yoe = (unsigned)(y - era * 400);
  unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + (int64_t)doe - 719468;
}

static int is_leap(int64_t y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

unsigned pl_days_in_month(int64_t y, unsigned m) {
  static const unsigned mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m < 1 || m > 12) return 0;
  return mdays[m - 1] + (m == 2 && is_leap(y) ? 1u : 0u);
}

void pl_format_time(uint64_t ns, char buf[40]) {
  uint64_t secs = ns / 1000000000u, frac = ns % 1000000000u;
  int64_t y;
  unsigned mo, d;
  pl_civil_from_days((int64_t)(secs / 86400), &y, &mo, &d);
  unsigned sod = (unsigned)(secs % 86400);
  /* always 30 bytes (years stay below 2555); the wider buffer keeps the compiler's
   * truncation analysis, which cannot know that, quiet */
  char tmp[64];
  snprintf(tmp, sizeof tmp, "%04lld-%02u-%02uT%02u:%02u:%02u.%09lluZ", (long long)y, mo, d,
           sod / 3600, sod / 60 % 60, sod % 60, (unsigned long long)frac);
  size_t n = strlen(tmp);
  if (n > 39) n = 39;
  memcpy(buf, tmp, n);
  buf[n] = '\0';
}

/* n decimal digits at s into *v; 0 or -1. */
static int digits(const char *s, int n, unsigned *v) {
  unsigned x = 0;
  for (int i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return -1;
    x = x * 10 + (unsigned)(s[i] - '0');
  }
  *v = x;
  return 0;
}

int pl_parse_time(const char *s, uint64_t *ns) {
  unsigned y, mo, d, h, mi, se, frac = 0, oh = 0, om = 0;
  if (!s || !ns) return PL_EINVAL;
  /* "YYYY-MM-DDTHH:MM:SS" is 19 bytes; strlen is safe (NUL-terminated input) */
  size_t len = strlen(s);
  if (len < 20) return PL_EINVAL;
  if (digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) || s[7] != '-' ||
      digits(s + 8, 2, &d) || s[10] != 'T' || digits(s + 11, 2, &h) || s[13] != ':' ||
      digits(s + 14, 2, &mi) || s[16] != ':' || digits(s + 17, 2, &se))
    return PL_EINVAL;
  if (mo < 1 || mo > 12 || d < 1) return PL_EINVAL;
  if (d > pl_days_in_month((int64_t)y, mo) || h > 23 || mi > 59 || se > 59) return PL_EINVAL;
  const char *p = s + 19;
  if (*p == '.') {
    p++;
    int n = 0;
    while (p[n] >= '0' && p[n] <= '9') n++;
    if (n < 1 || n > 9) return PL_EINVAL;
    if (digits(p, n, &frac)) return PL_EINVAL;
    for (int i = n; i < 9; i++) frac *= 10;
    p += n;
  }
  int64_t offset_s = 0;
  if (*p == 'Z') {
    p++;
  } else if (*p == '+' || *p == '-') {
    int neg = *p == '-';
    if (digits(p + 1, 2, &oh) || p[3] != ':' || digits(p + 4, 2, &om)) return PL_EINVAL;
    if (oh > 23 || om > 59) return PL_EINVAL;
    if (neg && oh == 0 && om == 0) return PL_EINVAL; /* "-00:00": unknown offset */
    offset_s = (int64_t)(oh * 3600 + om * 60);
    if (neg) offset_s = -offset_s;
    p += 6;
  } else {
    return PL_EINVAL;
  }
  if (*p != '\0') return PL_EINVAL;
  int64_t days = pl_days_from_civil((int64_t)y, mo, d);
  int64_t secs = days * 86400 + (int64_t)(h * 3600 + mi * 60 + se) - offset_s;
  if (secs < 0) return PL_EINVAL;
  uint64_t us = (uint64_t)secs, out;
  if (__builtin_mul_overflow(us, UINT64_C(1000000000), &out) ||
      __builtin_add_overflow(out, (uint64_t)frac, &out))
    return PL_EINVAL;
  *ns = out;
  return PL_OK;
}
