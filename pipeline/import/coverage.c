/*
 * coverage.c - coverage ranges: the time spans a recording (or a device, or a
 * topic) has data for.
 *
 * The rule, everywhere (the API reference's: the tolerance is the "minimum
 * interval that ranges must be separated by to be considered discrete"): sort
 * the points/ranges by start; two neighbours stay apart when the gap between
 * them (next start - previous end) is >= the tolerance, so a gap exactly equal
 * to the tolerance splits and a gap one nanosecond shorter joins. Touching or
 * overlapping ranges (messages with equal log times) always join; with
 * tolerance 0 nothing else does.
 *
 * pl__rangeset builds the same result incrementally, one message at a time in
 * any order, with memory proportional to the number of ranges, not messages.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "import_internal.h"

/* b touches or overlaps a, or starts less than tol after a's end (a.start <= b.start
 * assumed). */
static int joins(const pl_range *a, uint64_t b_start, uint64_t tol) {
  if (b_start <= a->end) return 1;
  return b_start - a->end < tol;
}

static int cmp_range(const void *x, const void *y) {
  const pl_range *a = x, *b = y;
  if (a->start != b->start) return a->start < b->start ? -1 : 1;
  if (a->end != b->end) return a->end < b->end ? -1 : 1;
  return 0;
}

int pl_coverage_merge(const pl_range *in, size_t n, uint64_t tolerance_ns, pl_range **out,
                      size_t *n_out) {
  if (!out || !n_out || (n && !in)) return PL_EINVAL;
  *out = NULL;
  *n_out = 0;
  if (n == 0) return PL_OK;
  pl_range *s = malloc(n * sizeof *s);
  if (!s) return PL_ENOMEM;
  size_t m = 0;
  for (size_t i = 0; i < n; i++) {
    if (in[i].end < in[i].start) {
      free(s);
      return PL_EINVAL;
    }
    s[m++] = in[i];
  }
  qsort(s, m, sizeof *s, cmp_range);
  size_t k = 0;
  for (size_t i = 1; i < m; i++) {
    if (joins(&s[k], s[i].start, tolerance_ns)) {
      if (s[i].end > s[k].end) s[k].end = s[i].end;
    } else {
      s[++k] = s[i];
    }
  }
  *n_out = k + 1;
  pl_range *shrunk = realloc(s, *n_out * sizeof *s);
  *out = shrunk ? shrunk : s;
  return PL_OK;
}

/* ------------------------------------------------------------- range sets */

int pl__rangeset_add(pl__rangeset *s, uint64_t start, uint64_t end) {
  /* fast path: in log-time order every point extends (or follows) the last range */
  if (s->n) {
    pl_range *last = &s->r[s->n - 1];
    if (start >= last->start) {
      if (joins(last, start, s->tol)) {
        if (end > last->end) last->end = end;
        return PL_OK;
      }
      if (pl_grow((void **)&s->r, &s->cap, s->n + 1, sizeof *s->r)) return PL_ENOMEM;
      s->r[s->n].start = start;
      s->r[s->n].end = end;
      s->n++;
      return PL_OK;
    }
  }
  /* general case: i = first range with r.start > start */
  size_t lo = 0, hi = s->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (s->r[mid].start <= start)
      lo = mid + 1;
    else
      hi = mid;
  }
  size_t i = lo;
  size_t at; /* index of the range that now holds [start, end] */
  if (i > 0 && joins(&s->r[i - 1], start, s->tol)) {
    at = i - 1;
    if (end > s->r[at].end) s->r[at].end = end;
  } else {
    if (pl_grow((void **)&s->r, &s->cap, s->n + 1, sizeof *s->r)) return PL_ENOMEM;
    memmove(&s->r[i + 1], &s->r[i], (s->n - i) * sizeof *s->r);
    s->r[i].start = start;
    s->r[i].end = end;
    s->n++;
    at = i;
  }
  /* swallow the following ranges it now reaches */
  size_t j = at + 1;
  while (j < s->n && joins(&s->r[at], s->r[j].start, s->tol)) {
    if (s->r[j].end > s->r[at].end) s->r[at].end = s->r[j].end;
    j++;
  }
  if (j > at + 1) {
    memmove(&s->r[at + 1], &s->r[j], (s->n - j) * sizeof *s->r);
    s->n -= j - (at + 1);
  }
  return PL_OK;
}

void pl__rangeset_dispose(pl__rangeset *s) {
  free(s->r);
  s->r = NULL;
  s->n = s->cap = 0;
}

int pl__tolerance_ns(double seconds, uint64_t *ns) {
  if (isnan(seconds)) return PL_EINVAL;
  if (seconds < 0) {
    *ns = PL_DEFAULT_TOLERANCE_NS;
    return PL_OK;
  }
  double v = seconds * 1e9 + 0.5;
  if (v >= 18446744073709551615.0)
    *ns = UINT64_MAX;
  else
    *ns = (uint64_t)v;
  return PL_OK;
}
