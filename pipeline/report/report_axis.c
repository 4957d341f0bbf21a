/*
 * report_axis.c - UTC time axes: a "nice" tick step for any span from
 * microseconds to years (1-2-5 below a second, then 1, 2, 5, 10, 15, 30 s,
 * the same in minutes, 1, 2, 3, 6, 12 h, then days), ticks on multiples of
 * the step since the epoch (so on whole UTC seconds, minutes, hours, days),
 * and labels as short as the step allows.
 */
#include <stdio.h>
#include <string.h>

#include "report_internal.h"

#define US UINT64_C(1000)
#define MS UINT64_C(1000000)
#define SEC UINT64_C(1000000000)
#define MIN (60 * SEC)
#define HOUR (60 * MIN)
#define DAY (24 * HOUR)

static const uint64_t steps[] = {
    US,       2 * US,   5 * US,    10 * US,   20 * US,   50 * US,   100 * US,  200 * US,
    500 * US, MS,       2 * MS,    5 * MS,    10 * MS,   20 * MS,   50 * MS,   100 * MS,
    200 * MS, 500 * MS, SEC,       2 * SEC,   5 * SEC,   10 * SEC,  15 * SEC,  30 * SEC,
    MIN,      2 * MIN,  5 * MIN,   10 * MIN,  15 * MIN,  30 * MIN,  HOUR,      2 * HOUR,
    3 * HOUR, 6 * HOUR, 12 * HOUR, DAY,       2 * DAY,   7 * DAY,   14 * DAY,  28 * DAY,
    56 * DAY, 91 * DAY, 182 * DAY, 364 * DAY, 728 * DAY, 1820 * DAY};

static uint64_t tick_count(uint64_t t0, uint64_t t1, uint64_t step) {
  uint64_t first = t0 / step + (t0 % step != 0);
  uint64_t last = t1 / step;
  return last >= first ? last - first + 1 : 0;
}

void pl__report_ticks(uint64_t t0, uint64_t t1, size_t max_ticks, struct ticks *out) {
  memset(out, 0, sizeof *out);
  if (t1 < t0) t1 = t0;
  if (max_ticks < 2) max_ticks = 2;
  if (max_ticks > PL_REPORT_MAX_TICKS) max_ticks = PL_REPORT_MAX_TICKS;
  size_t n_steps = sizeof steps / sizeof *steps, k = 0;
  while (k + 1 < n_steps && tick_count(t0, t1, steps[k]) > max_ticks) k++;
  uint64_t step = steps[k];
  out->step = step;
  uint64_t first = t0 / step + (t0 % step != 0);
  for (uint64_t i = first; out->n < max_ticks && i <= t1 / step; i++) out->t[out->n++] = i * step;
}

/* Days since the epoch to a civil date (proleptic Gregorian; H. Hinnant's algorithm). */
static void civil(uint64_t days, long long *y, unsigned *m, unsigned *d) {
  long long z = (long long)days + 719468;
  long long era = z / 146097;
  unsigned doe = (unsigned)(z - era * 146097);
  unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = (long long)yoe + era * 400 + (*m <= 2);
}

void pl__report_date(uint64_t t, char *buf, size_t cap) {
  long long y;
  unsigned m, d;
  civil(t / DAY, &y, &m, &d);
  snprintf(buf, cap, "%04lld-%02u-%02u", y, m, d);
}

size_t pl__report_label_chars(uint64_t step) {
  if (step >= DAY) return 10;
  if (step >= MIN) return 5;
  if (step >= SEC) return 8;
  return 12;
}

size_t pl__report_tick_label(uint64_t t, uint64_t step, char *buf, size_t cap) {
  uint64_t sod = t % DAY; /* ns since midnight */
  unsigned h = (unsigned)(sod / HOUR), mi = (unsigned)(sod / MIN % 60),
           s = (unsigned)(sod / SEC % 60);
  int n;
  if (step >= DAY) {
    pl__report_date(t, buf, cap);
    return strlen(buf);
  }
  if (step >= MIN)
    n = snprintf(buf, cap, "%02u:%02u", h, mi);
  else if (step >= SEC)
    n = snprintf(buf, cap, "%02u:%02u:%02u", h, mi, s);
  else if (step >= MS)
    n = snprintf(buf, cap, "%02u:%02u:%02u.%03u", h, mi, s, (unsigned)(sod / MS % 1000));
  else
    n = snprintf(buf, cap, "%02u:%02u.%06u", mi, s, (unsigned)(sod / US % 1000000));
  return n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap - 1;
}
