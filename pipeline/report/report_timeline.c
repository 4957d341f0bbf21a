/*
 * report_timeline.c - the timeline: one row per topic with its coverage
 * ranges, the gaps between them (at the index's tolerance) and a strip of
 * its message rate over time, under a UTC time axis.
 *
 * Readable at any size: rows have a fixed height and their labels are cut
 * to fit (the full name is in the row's <title>); beyond `max_rows` topics,
 * rows become groups of topics sharing a name prefix (as many leading name
 * segments as keep the rows under the limit, else runs of sorted names),
 * each drawing the union of its topics' coverage and the sum of their rates,
 * and the page says so. Drawing is in pixel space: coverage ranges narrower
 * than a pixel grow to one, ranges closer than a pixel merge, and gaps are at
 * least 2 px wide so that a short gap in hours of data still shows. Each gap
 * is its own element (with its times) up to a budget; past it a row's gaps
 * are one path. So the SVG's size is bounded by rows x plot width, whatever
 * the number of ranges.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report_internal.h"

/* Geometry, in SVG user units (1 unit = 1 CSS px at 1000 px wide). */
#define W 1000.0
#define LABEL_X 8.0
#define LABEL_CHARS 34
#define PX0 244.0
#define PX1 924.0
#define RATE_X 932.0
#define TOP 44.0
#define ROW_H 24.0
#define RATE_Y0 2.0 /* rate strip: from RATE_Y0 to RATE_Y1 in the row */
#define RATE_Y1 15.0
#define COV_Y 16.0
#define COV_H 6.0
#define MAX_GAP_ELEMENTS_ROW 100
#define MAX_GAP_ELEMENTS 4000
#define MAX_GROUP_DEPTH 8
#define NCOLS 340 /* rate columns: 2 px each */

const char pl__timeline_css[] = PL_REPORT_TIMELINE_CSS;

/* ----------------------------------------------------------------- rows */

struct name_ref {
  const char *name;
  const char *prefix_end; /* end of the group key within name */
  size_t idx;             /* position in the sorted name list */
};

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int cmp_tcov(const void *a, const void *b) {
  const pl_topic_coverage *x = *(const pl_topic_coverage *const *)a,
                          *y = *(const pl_topic_coverage *const *)b;
  return strcmp(x->topic, y->topic);
}

static int cmp_range(const void *a, const void *b) {
  const pl_range *x = a, *y = b;
  if (x->start != y->start) return x->start < y->start ? -1 : 1;
  return x->end < y->end ? -1 : x->end > y->end;
}

/* End of the first `depth` name segments ("/a/b/c", 2 -> "/a/b"). */
static const char *prefix_end(const char *s, int depth) {
  const char *p = s;
  if (*p == '/') p++;
  for (int d = 0; *p; p++) {
    if (*p == '/' && ++d == depth) return p;
  }
  return p;
}

static int cmp_group(const void *a, const void *b) {
  const struct name_ref *x = a, *y = b;
  size_t lx = (size_t)(x->prefix_end - x->name), ly = (size_t)(y->prefix_end - y->name);
  size_t l = lx < ly ? lx : ly;
  int c = memcmp(x->name, y->name, l);
  if (c) return c;
  if (lx != ly) return lx < ly ? -1 : 1;
  return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static int same_group(const struct name_ref *x, const struct name_ref *y) {
  size_t lx = (size_t)(x->prefix_end - x->name), ly = (size_t)(y->prefix_end - y->name);
  return lx == ly && memcmp(x->name, y->name, lx) == 0;
}

static size_t count_groups(struct name_ref *refs, size_t n, int depth) {
  for (size_t i = 0; i < n; i++) refs[i].prefix_end = prefix_end(refs[i].name, depth);
  qsort(refs, n, sizeof *refs, cmp_group);
  size_t g = n ? 1 : 0;
  for (size_t i = 1; i < n; i++) g += !same_group(&refs[i - 1], &refs[i]);
  return g;
}

void pl__timeline_dispose(struct timeline *tl) {
  for (size_t i = 0; i < tl->n_rows; i++) {
    free(tl->rows[i].label);
    free(tl->rows[i].ranges);
    free(tl->rows[i].bins);
  }
  free(tl->rows);
  memset(tl, 0, sizeof *tl);
}

static int cmp_topic_ptr(const void *a, const void *b) {
  return strcmp((*(const pl_topic *const *)a)->topic, (*(const pl_topic *const *)b)->topic);
}

/* Add topic `name`'s coverage, rate and count to row `row`. `topics` is sorted by name (a
 * name may have several entries: one per schema version). */
static int row_add(const pl_report *r, struct trow *row, const char *name,
                   const pl_topic *const *topics, size_t n_topics,
                   const pl_topic_coverage *const *tcov, size_t n_tcov) {
  pl_topic tkey;
  tkey.topic = (char *)name;
  const pl_topic *tk = &tkey;
  const pl_topic *const *th = n_topics ? bsearch(&tk, topics, n_topics, sizeof *topics,
                                                 cmp_topic_ptr)
                                       : NULL;
  if (th) {
    const pl_topic *const *lo = th, *const *end = topics + n_topics;
    while (lo > topics && strcmp(lo[-1]->topic, name) == 0) lo--;
    for (; lo < end && strcmp((*lo)->topic, name) == 0; lo++) row->messages += (*lo)->message_count;
  }
  pl_topic_coverage key;
  key.topic = (char *)name;
  const pl_topic_coverage *kp = &key;
  const pl_topic_coverage *const *hit = n_tcov ? bsearch(&kp, tcov, n_tcov, sizeof *tcov, cmp_tcov)
                                               : NULL;
  if (hit && (*hit)->n_ranges) {
    const pl_topic_coverage *tc = *hit;
    pl_range *nr = realloc(row->ranges, (row->n_ranges + tc->n_ranges) * sizeof *nr);
    if (!nr) return PL_REPORT_ENOMEM;
    memcpy(nr + row->n_ranges, tc->ranges, tc->n_ranges * sizeof *nr);
    row->ranges = nr;
    row->n_ranges += tc->n_ranges;
  }
  if (r->has_rates) {
    const struct rate_topic *rt = pl__rates_find(&r->rates, name);
    if (!row->bins) {
      row->bins = calloc(PL_REPORT_RATE_BINS, sizeof *row->bins);
      if (!row->bins) return PL_REPORT_ENOMEM;
    }
    if (rt)
      for (size_t i = 0; i < PL_REPORT_RATE_BINS; i++) row->bins[i] += rt->bins[i];
  }
  row->n_topics++;
  return PL_REPORT_OK;
}

/* Sort and merge a row's ranges: two join when the gap between them is <= tol. */
static void row_merge(struct trow *row, uint64_t tol) {
  if (row->n_ranges < 2) return;
  qsort(row->ranges, row->n_ranges, sizeof *row->ranges, cmp_range);
  size_t o = 0;
  for (size_t i = 1; i < row->n_ranges; i++) {
    pl_range *cur = &row->ranges[o];
    const pl_range *nx = &row->ranges[i];
    if (nx->start <= cur->end || nx->start - cur->end <= tol) {
      if (nx->end > cur->end) cur->end = nx->end;
    } else {
      row->ranges[++o] = *nx;
    }
  }
  row->n_ranges = o + 1;
}

static char *group_label(const char *name, const char *end, size_t n, int runs,
                         const char *last) {
  size_t l = (size_t)(end - name);
  size_t cap = l + (last ? strlen(last) : 0) + 64;
  char *s = malloc(cap);
  if (!s) return NULL;
  if (runs)
    snprintf(s, cap, "%s .. %s (%zu topics)", name, last, n);
  else
    snprintf(s, cap, "%.*s/* (%zu topics)", (int)l, name, n);
  return s;
}

int pl__timeline_build(const pl_report *r, size_t max_rows, struct timeline *tl) {
  memset(tl, 0, sizeof *tl);
  const pl_recording_index *ix = r->ix;
  int rc = PL_REPORT_ENOMEM;
  const char **names = NULL;
  const pl_topic_coverage **tcov = NULL;
  const pl_topic **topics = NULL;
  struct name_ref *refs = NULL;
  size_t n = 0;
  if (max_rows < 1) max_rows = 1;
  names = malloc((ix->n_topics + ix->n_topic_coverage + 1) * sizeof *names);
  tcov = malloc((ix->n_topic_coverage + 1) * sizeof *tcov);
  topics = malloc((ix->n_topics + 1) * sizeof *topics);
  if (!names || !tcov || !topics) goto out;
  for (size_t i = 0; i < ix->n_topics; i++) {
    names[n++] = ix->topics[i].topic;
    topics[i] = &ix->topics[i];
  }
  qsort(topics, ix->n_topics, sizeof *topics, cmp_topic_ptr);
  for (size_t i = 0; i < ix->n_topic_coverage; i++) {
    names[n++] = ix->topic_coverage[i].topic;
    tcov[i] = &ix->topic_coverage[i];
  }
  qsort(names, n, sizeof *names, cmp_str);
  size_t u = 0;
  for (size_t i = 0; i < n; i++)
    if (!u || strcmp(names[u - 1], names[i]) != 0) names[u++] = names[i];
  n = u;
  qsort(tcov, ix->n_topic_coverage, sizeof *tcov, cmp_tcov);
  tl->n_topics = n;
  tl->has_rates = r->has_rates && r->rates.any;
  tl->origin = r->rates.origin;
  tl->width = r->rates.width;
  tl->t0 = ix->start;
  tl->t1 = ix->end > ix->start ? ix->end : ix->start + 1000000;

  /* the grouping: none, by name prefix, or runs of sorted names */
  int depth = 0, runs = 0;
  size_t per_run = 1;
  refs = malloc((n + 1) * sizeof *refs);
  if (!refs) goto out;
  for (size_t i = 0; i < n; i++) {
    refs[i].name = names[i];
    refs[i].idx = i;
    refs[i].prefix_end = names[i] + strlen(names[i]);
  }
  if (n > max_rows) {
    tl->grouped = 1;
    for (int d = 1; d <= MAX_GROUP_DEPTH; d++) {
      if (count_groups(refs, n, d) > max_rows) break;
      depth = d;
    }
    if (depth) {
      count_groups(refs, n, depth);
    } else {
      runs = 1;
      per_run = (n + max_rows - 1) / max_rows;
      for (size_t i = 0; i < n; i++) {
        refs[i].name = names[i];
        refs[i].idx = i;
      }
    }
    tl->group_depth = depth;
  }
  tl->rows = calloc(n ? n : 1, sizeof *tl->rows);
  if (!tl->rows) goto out;
  for (size_t i = 0; i < n;) {
    size_t j = i + 1;
    if (runs) {
      j = i + per_run < n ? i + per_run : n;
    } else if (tl->grouped) {
      while (j < n && same_group(&refs[i], &refs[j])) j++;
    }
    struct trow *row = &tl->rows[tl->n_rows++];
    for (size_t k = i; k < j; k++)
      if ((rc = row_add(r, row, refs[k].name, topics, ix->n_topics, tcov,
                        ix->n_topic_coverage)) != PL_REPORT_OK)
        goto out;
    rc = PL_REPORT_ENOMEM;
    if (j - i == 1) {
      row->label = strdup(refs[i].name);
      row->topic = refs[i].name;
    } else {
      row->label = group_label(refs[i].name, refs[i].prefix_end, j - i, runs,
                               runs ? refs[j - 1].name : NULL);
    }
    if (!row->label) goto out;
    row_merge(row, ix->tolerance_ns);
    i = j;
  }
  rc = PL_REPORT_OK;
out:
  free(names);
  free(tcov);
  free(topics);
  free(refs);
  if (rc) pl__timeline_dispose(tl);
  return rc;
}

/* ---------------------------------------------------------------- drawing */

static double xpos(const struct timeline *tl, uint64_t t) {
  if (t <= tl->t0) return PX0;
  if (t >= tl->t1) return PX1;
  return PX0 + (double)(t - tl->t0) / (double)(tl->t1 - tl->t0) * (PX1 - PX0);
}

static void draw_axis(struct rb *b, const struct timeline *tl, double y, int bottom,
                      double grid_top, double grid_bottom) {
  size_t chars = pl__report_label_chars(1);
  struct ticks tk;
  /* as many ticks as labels fit, 14 px of room between labels */
  pl__report_ticks(tl->t0, tl->t1, (size_t)((PX1 - PX0) / (double)(chars * 7 + 14)), &tk);
  chars = pl__report_label_chars(tk.step);
  pl__report_ticks(tl->t0, tl->t1, (size_t)((PX1 - PX0) / (double)(chars * 7 + 14)), &tk);
  char prev_date[16] = "", date[16], label[32];
  for (size_t i = 0; i < tk.n; i++) {
    double x = xpos(tl, tk.t[i]);
    if (!bottom)
      pl__rb_printf(b, "<line class=\"grid\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\"/>", x,
                    x, grid_top, grid_bottom);
    pl__report_tick_label(tk.t[i], tk.step, label, sizeof label);
    pl__rb_printf(b, "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\">", x, y);
    pl__rb_put(b, label);
    pl__rb_put(b, "</text>");
    pl__report_date(tk.t[i], date, sizeof date);
    if (tk.step < UINT64_C(86400000000000) && strcmp(date, prev_date) != 0) {
      pl__rb_printf(b, "<text class=\"date\" x=\"%.1f\" y=\"%.1f\">%s</text>", x, y + 13, date);
      memcpy(prev_date, date, sizeof date);
    }
  }
}

/* The rate strip of a row: an area of messages per second in columns of 2 px. */
static void draw_rates(struct rb *b, const struct timeline *tl, const struct trow *row) {
  double col[NCOLS];
  memset(col, 0, sizeof col);
  double span = (double)(tl->t1 - tl->t0) + 1, cw = span / NCOLS;
  for (size_t i = 0; i < PL_REPORT_RATE_BINS; i++) {
    if (!row->bins[i]) continue;
    double bs = (double)(tl->origin + i * tl->width) - (double)tl->t0;
    double be = bs + (double)tl->width;
    if (be <= 0 || bs >= span) continue;
    double cnt = (double)row->bins[i], per = cnt / (double)tl->width;
    if (bs < 0) bs = 0;
    if (be > span) be = span;
    size_t c0 = (size_t)(bs / cw), c1 = (size_t)(be / cw);
    if (c1 >= NCOLS) c1 = NCOLS - 1;
    for (size_t c = c0; c <= c1; c++) {
      double a = fmax(bs, (double)c * cw), z = fmin(be, (double)(c + 1) * cw);
      if (z > a) col[c] += per * (z - a);
    }
  }
  /* Counts per column to messages per second over a window that holds about four messages
   * at the row's mean rate (at least one column): a 1 Hz topic then draws a steady line, not
   * a spike per message. */
  double total = 0;
  for (int c = 0; c < NCOLS; c++) total += col[c];
  double mean = total / (span / 1e9); /* messages per second over the axis */
  int half = 0;
  if (mean > 0) {
    double want = 4.0 / mean * 1e9; /* ns */
    half = (int)(want / cw / 2);
    if (half > NCOLS / 8) half = NCOLS / 8;
  }
  double rate[NCOLS], run = 0, peak = 0;
  for (int c = 0; c < half && c < NCOLS; c++) run += col[c];
  for (int c = 0; c < NCOLS; c++) {
    if (c + half < NCOLS) run += col[c + half];
    if (c - half - 1 >= 0) run -= col[c - half - 1];
    int lo = c - half < 0 ? 0 : c - half, hi = c + half >= NCOLS ? NCOLS - 1 : c + half;
    rate[c] = (run < 0 ? 0 : run) / ((double)(hi - lo + 1) * cw / 1e9);
    if (rate[c] > peak) peak = rate[c];
  }
  if (!(peak > 0)) return;
  pl__rb_printf(b, "<path class=\"rate\" d=\"M%.1f %.1f", PX0, RATE_Y1);
  double prev = -1;
  for (int c = 0; c < NCOLS; c++) {
    double h = round(rate[c] / peak * (RATE_Y1 - RATE_Y0) * 10) / 10;
    if (h != prev) {
      if (c) pl__rb_printf(b, "H%.1f", PX0 + c * 2.0);
      pl__rb_printf(b, "V%.1f", RATE_Y1 - h);
      prev = h;
    }
  }
  pl__rb_printf(b, "H%.1fV%.1fZ\"/>", PX1, RATE_Y1);
  pl__rb_printf(b, "<text class=\"peak\" x=\"%.1f\" y=\"%.1f\">", RATE_X, RATE_Y1 - 2);
  pl__rb_hz(b, peak);
  pl__rb_put(b, "</text>");
}

static void draw_coverage(struct rb *b, const struct timeline *tl, const struct trow *row) {
  if (!row->n_ranges) return;
  pl__rb_put(b, "<path class=\"cov\" d=\"");
  double cx0 = -1, cx1 = -1;
  for (size_t i = 0; i <= row->n_ranges; i++) {
    double x0 = 0, x1 = 0;
    if (i < row->n_ranges) {
      x0 = xpos(tl, row->ranges[i].start);
      x1 = xpos(tl, row->ranges[i].end);
      if (x1 - x0 < 1) x1 = x0 + 1;
      if (cx0 >= 0 && x0 <= cx1 + 0.25) {
        if (x1 > cx1) cx1 = x1;
        continue;
      }
    }
    if (cx0 >= 0)
      pl__rb_printf(b, "M%.2f %.1fh%.2fv%.1fh%.2fz", cx0, COV_Y, cx1 - cx0, COV_H, -(cx1 - cx0));
    cx0 = x0;
    cx1 = x1;
  }
  pl__rb_put(b, "\"/>");
}

/* Gaps between a row's ranges: each its own rect with its times, or one path past the
 * budget. */
static void draw_gaps(struct rb *b, const struct timeline *tl, const struct trow *row,
                      size_t *budget) {
  size_t n = row->n_ranges ? row->n_ranges - 1 : 0;
  if (!n) return;
  int each = n <= MAX_GAP_ELEMENTS_ROW && n <= *budget;
  if (each) *budget -= n;
  else pl__rb_put(b, "<path class=\"gap\" d=\"");
  double px1 = -1;
  for (size_t i = 0; i < n; i++) {
    uint64_t gs = row->ranges[i].end, ge = row->ranges[i + 1].start;
    double x0 = xpos(tl, gs), x1 = xpos(tl, ge);
    if (x1 - x0 < 2) {
      double mid = (x0 + x1) / 2;
      x0 = mid - 1;
      x1 = mid + 1;
    }
    if (each) {
      pl__rb_printf(b,
                    "<rect class=\"gap\" x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%.1f\" "
                    "data-start-ns=\"%llu\" data-end-ns=\"%llu\"><title>gap of ",
                    x0, COV_Y - 1, x1 - x0, COV_H + 2, (unsigned long long)gs,
                    (unsigned long long)ge);
      pl__rb_duration(b, ge - gs);
      pl__rb_put(b, " from ");
      pl__rb_time(b, gs);
      pl__rb_put(b, " to ");
      pl__rb_time(b, ge);
      pl__rb_put(b, "</title></rect>");
    } else if (x0 > px1 + 0.25) {
      pl__rb_printf(b, "M%.2f %.1fh%.2fv%.1fh%.2fz", x0, COV_Y - 1, x1 - x0, COV_H + 2,
                    -(x1 - x0));
      px1 = x1;
    }
  }
  if (!each) pl__rb_put(b, "\"/>");
}

static double svg_height(const struct timeline *tl) {
  return TOP + (double)tl->n_rows * ROW_H + (tl->n_rows > 12 ? 34.0 : 0.0) + 26.0;
}

void pl__timeline_svg(struct rb *b, const pl_report *r, const struct timeline *tl,
                      int standalone) {
  const pl_recording_index *ix = r->ix;
  double h = svg_height(tl);
  if (!ix->has_messages || !tl->n_rows) h = 40;
  if (standalone)
    pl__rb_printf(b,
                  "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"timeline\" "
                  "viewBox=\"0 0 %.0f %.0f\" width=\"%.0f\" height=\"%.0f\" role=\"img\">",
                  W, h, W, h);
  else
    pl__rb_printf(b,
                  "<svg class=\"timeline\" viewBox=\"0 0 %.0f %.0f\" role=\"img\" "
                  "aria-label=\"timeline\">",
                  W, h);
  pl__rb_put(b, "<title>Timeline: coverage and message rate per topic, UTC</title>");
  if (standalone) {
    pl__rb_put(b, "<style>");
    pl__rb_put(b, pl__timeline_css);
    pl__rb_put(b, "</style><rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>");
  }
  if (!ix->has_messages || !tl->n_rows) {
    pl__rb_put(b, "<text class=\"axis\" x=\"8\" y=\"24\">no messages</text></svg>");
    return;
  }
  double rows_top = TOP, rows_bottom = TOP + (double)tl->n_rows * ROW_H;
  for (size_t i = 1; i < tl->n_rows; i += 2)
    pl__rb_printf(b, "<rect class=\"alt\" x=\"0\" y=\"%.1f\" width=\"%.0f\" height=\"%.1f\"/>",
                  rows_top + (double)i * ROW_H, W, ROW_H);
  pl__rb_printf(b, "<text class=\"axis\" x=\"%.1f\" y=\"14\">UTC</text>", LABEL_X);
  if (tl->has_rates)
    pl__rb_printf(b, "<text class=\"axis\" x=\"%.1f\" y=\"38\">peak</text>", RATE_X);
  draw_axis(b, tl, 14, 0, rows_top - 4, rows_bottom);
  size_t budget = MAX_GAP_ELEMENTS;
  for (size_t i = 0; i < tl->n_rows; i++) {
    const struct trow *row = &tl->rows[i];
    size_t gaps = row->n_ranges ? row->n_ranges - 1 : 0;
    pl__rb_printf(b, "<g class=\"row\" transform=\"translate(0 %.1f)\"",
                  rows_top + (double)i * ROW_H);
    if (row->topic) {
      pl__rb_put(b, " data-topic=\"");
      pl__rb_textz(b, row->topic);
      pl__rb_put(b, "\"");
    } else {
      pl__rb_printf(b, " data-topics=\"%zu\"", row->n_topics);
    }
    pl__rb_printf(b, " data-ranges=\"%zu\" data-gaps=\"%zu\"><title>", row->n_ranges, gaps);
    pl__rb_textz(b, row->label);
    pl__rb_put(b, ": ");
    pl__rb_count(b, row->messages);
    pl__rb_printf(b, " messages, %zu range%s, %zu gap%s</title>", row->n_ranges,
                  row->n_ranges == 1 ? "" : "s", gaps, gaps == 1 ? "" : "s");
    pl__rb_printf(b, "<text class=\"label\" x=\"%.1f\" y=\"%.1f\">", LABEL_X, COV_Y + 1);
    if (row->topic) {
      pl__rb_text_cut(b, row->label, LABEL_CHARS);
    } else {
      /* keep the count visible: cut the name part only */
      const char *paren = strrchr(row->label, '(');
      size_t keep = paren ? (size_t)(paren - row->label) : strlen(row->label);
      char *head = strndup(row->label, keep);
      if (head) {
        pl__rb_text_cut(b, head, LABEL_CHARS - (paren ? strlen(paren) : 0));
        free(head);
      }
      if (paren) pl__rb_textz(b, paren);
    }
    pl__rb_put(b, "</text>");
    pl__rb_printf(b, "<rect class=\"track\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"/>",
                  PX0, COV_Y, PX1 - PX0, COV_H);
    if (tl->has_rates && row->bins) draw_rates(b, tl, row);
    draw_coverage(b, tl, row);
    draw_gaps(b, tl, row, &budget);
    pl__rb_put(b, "</g>");
  }
  double y = rows_bottom;
  if (tl->n_rows > 12) {
    draw_axis(b, tl, y + 14, 1, 0, 0);
    y += 34;
  }
  /* legend */
  y += 14;
  pl__rb_printf(b,
                "<rect class=\"cov\" x=\"%.1f\" y=\"%.1f\" width=\"14\" height=\"6\"/>"
                "<text class=\"legend\" x=\"%.1f\" y=\"%.1f\">covered</text>"
                "<rect class=\"gap\" x=\"%.1f\" y=\"%.1f\" width=\"4\" height=\"8\"/>"
                "<text class=\"legend\" x=\"%.1f\" y=\"%.1f\">gap longer than ",
                PX0, y - 6, PX0 + 20, y, PX0 + 100, y - 7, PX0 + 110, y);
  pl__rb_duration(b, ix->tolerance_ns);
  pl__rb_put(b, "</text>");
  if (tl->has_rates)
    pl__rb_printf(b,
                  "<rect class=\"rate\" x=\"%.1f\" y=\"%.1f\" width=\"14\" height=\"9\"/>"
                  "<text class=\"legend\" x=\"%.1f\" y=\"%.1f\">messages/s (each row to its "
                  "peak)</text>",
                  PX0 + 330, y - 9, PX0 + 350, y);
  pl__rb_put(b, "</svg>");
}

void pl__timeline_note(struct rb *b, const struct timeline *tl) {
  if (!tl->grouped) return;
  pl__rb_put(b, "<p class=\"note\" id=\"timeline-grouped\">");
  pl__rb_count(b, tl->n_topics);
  pl__rb_put(b, " topics are more than the timeline shows one per row: it has ");
  pl__rb_count(b, tl->n_rows);
  if (tl->group_depth)
    pl__rb_printf(b,
                  " rows, the topics grouped by the first %d segment%s of their names. A group "
                  "row shows where any of its topics has data, and the sum of their rates.",
                  tl->group_depth, tl->group_depth == 1 ? "" : "s");
  else
    pl__rb_put(b,
               " rows, each a run of topics in name order. A group row shows where any of its "
               "topics has data, and the sum of their rates.");
  pl__rb_put(b, " The topic table lists topics one by one.</p>");
}
