/*
 * report_internal.h - private declarations shared by the files of pl_report
 * (pipeline/report/): the handle, the capped output buffer every renderer
 * writes through, UTF-8 text handling, the rate histogram, the time axis.
 *
 * Invariants:
 * - struct rb is sticky: after the first failure (out of memory, over its
 *   cap) every append is a no-op and rb.status keeps the first error, so
 *   renderers append without checking and look once at the end.
 * - Every byte of recording data reaches a document through rb_text() (or
 *   rb_text_cut()), which escapes it (pl_report_escape's rules).
 * - The rate histogram's bins are aligned: origin is a multiple of width and
 *   width a power of two (ns), so widening merges whole bins.
 */
#ifndef PL_REPORT_INTERNAL_H
#define PL_REPORT_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "pipeline/report.h"

/* ------------------------------------------------------------ output buffer */

struct rb {
  char *p;
  size_t len, cap;
  size_t max; /* hard cap on len */
  int status; /* PL_REPORT_OK, or the first failure */
};

void pl__rb_init(struct rb *b, size_t max);
void pl__rb_dispose(struct rb *b);
void pl__rb_putn(struct rb *b, const char *s, size_t n);
void pl__rb_put(struct rb *b, const char *s);
void pl__rb_printf(struct rb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Escaped text (pl_report_escape). */
void pl__rb_text(struct rb *b, const char *s, size_t n);
void pl__rb_textz(struct rb *b, const char *s); /* NULL = "" */
/* Escaped text cut to at most `max_chars` characters, keeping its start and end around
 * an ellipsis ("/very/long…/topic"). */
void pl__rb_text_cut(struct rb *b, const char *s, size_t max_chars);
/* A number with thousands separators ("12,345"). */
void pl__rb_count(struct rb *b, uint64_t v);
/* Bytes in binary units ("1.5 MiB"). */
void pl__rb_bytes(struct rb *b, uint64_t v);
/* A duration ("250 ms", "3.5 s", "1 h 02 min"). */
void pl__rb_duration(struct rb *b, uint64_t ns);
/* A rate in Hz ("0.5 Hz", "30 Hz", "1.2 kHz"). */
void pl__rb_hz(struct rb *b, double hz);
/* A UTC time, RFC 3339 with milliseconds ("2026-01-01T00:00:00.000Z"). */
void pl__rb_time(struct rb *b, uint64_t ns);

/* One character of s[0..n) (n > 0) for a page: pl_utf8_next's code point, or 0xFFFD for an
 * ill-formed sequence (*adv = 1: one per byte) or a character XML forbids; *adv gets the bytes
 * consumed (>= 1). */
uint32_t pl__page_char_next(const unsigned char *s, size_t n, size_t *adv);

/* ------------------------------------------------------------------ time axis */

#define PL_REPORT_MAX_TICKS 24

struct ticks {
  uint64_t step;                    /* ns between ticks */
  size_t n;
  uint64_t t[PL_REPORT_MAX_TICKS];  /* tick times, ascending, within [t0, t1] */
};

/* Ticks over [t0, t1] at a "nice" UTC step (1 us .. 1000 days), at most max_ticks of them. */
void pl__report_ticks(uint64_t t0, uint64_t t1, size_t max_ticks, struct ticks *out);

/* The label of tick time t for a step: "2026-01-05", "13:40", "13:40:05", "13:40:05.250",
 * "05.250125" (seconds and microseconds). buf of at least 32 bytes. Returns its length. */
size_t pl__report_tick_label(uint64_t t, uint64_t step, char *buf, size_t cap);

/* "2026-01-05" of a time. buf >= 16 bytes. */
void pl__report_date(uint64_t t, char *buf, size_t cap);

/* Longest label a step produces, in characters (to space the ticks). */
size_t pl__report_label_chars(uint64_t step);

/* ------------------------------------------------------------------- rates */

#define PL_REPORT_RATE_BINS 512

struct rate_topic {
  char *name;
  const char *key;  /* the index's pointer for this topic (see pl_index_observer) */
  uint32_t *bins;   /* [PL_REPORT_RATE_BINS] */
  uint64_t count;
};

struct rates {
  int any;                 /* a message was seen (origin/width valid) */
  uint64_t origin, width;  /* width a power of two; origin a multiple of width */
  uint64_t lo, hi;         /* smallest and largest time seen */
  struct rate_topic *t;
  size_t n, cap;
  uint32_t *slots;         /* open-addressing table of topic indexes + 1 (by name) */
  size_t n_slots;
  struct { const char *key; uint32_t idx; } *chan; /* [65536] last topic per channel */
};

int pl__rates_init(struct rates *rt);
void pl__rates_dispose(struct rates *rt);
void pl__rates_reset(struct rates *rt);
/* Size the bins for [lo, hi] before any message (a summary's time range). */
void pl__rates_presize(struct rates *rt, uint64_t lo, uint64_t hi);
/* Count one message. PL_REPORT_OK or PL_REPORT_ENOMEM. */
int pl__rates_add(struct rates *rt, const char *topic, uint16_t channel, uint64_t t);
/* The topic's entry, or NULL. */
const struct rate_topic *pl__rates_find(const struct rates *rt, const char *topic);

/* ------------------------------------------------------------------ storage */

/* Measure where the bytes of the file at `path` go: from its summary when it has a usable
 * one, else with one pass over its top-level records (no decompression). Also returns the
 * summary's message time range (*has_range) to size the rate bins. Returns 1 when measured
 * from the summary, PL_REPORT_OK after a record pass, or a negative status (msg says why). */
int pl__report_storage(const char *path, pl_report_storage *st, int *has_range, uint64_t *lo,
                       uint64_t *hi, char *msg, size_t cap);

/* ------------------------------------------------------------------ handle */

struct pl_report {
  pl_recording_index *ix;
  struct rates rates;
  int has_rates;
  pl_report_storage storage;
  pl_report_stats stats;
  char errmsg[512];
};

int pl__report_fail(pl_report *r, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* -------------------------------------------------------------- renderers */

/* One timeline row: a topic or a group of topics. */
struct trow {
  char *label;           /* owned: topic name, or "PREFIX/... (N topics)" */
  const char *topic;     /* the topic (single rows), for data-topic */
  size_t n_topics;
  pl_range *ranges;      /* owned, sorted, merged */
  size_t n_ranges;
  uint64_t *bins;        /* owned: summed rate bins [PL_REPORT_RATE_BINS], or NULL */
  uint64_t messages;
};

struct timeline {
  struct trow *rows;
  size_t n_rows;
  size_t n_topics;       /* distinct topic names */
  int grouped;           /* rows are groups */
  int group_depth;       /* name segments of the prefix (0 = runs of sorted names) */
  uint64_t t0, t1;       /* the axis range */
  int has_rates;
  uint64_t origin, width;
};

/* Build the rows of the timeline from the report (at most max_rows). */
int pl__timeline_build(const pl_report *r, size_t max_rows, struct timeline *tl);
void pl__timeline_dispose(struct timeline *tl);
/* Append the timeline's <svg> element (standalone: with the XML namespace and its style). */
void pl__timeline_svg(struct rb *b, const pl_report *r, const struct timeline *tl, int standalone);
/* The words under the timeline saying how rows were thinned (empty when they were not). */
void pl__timeline_note(struct rb *b, const struct timeline *tl);
/* The style rules of the timeline's SVG elements (also part of pl_report_css()). */
#define PL_REPORT_TIMELINE_CSS \
  "svg.timeline{font:11px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;}" \
  "svg.timeline .alt{fill:#f3f5f8}" \
  "svg.timeline .grid{stroke:#dde1e7;stroke-width:1}" \
  "svg.timeline .tick{fill:#3d4552;text-anchor:middle}" \
  "svg.timeline .date{fill:#7a8291;text-anchor:middle}" \
  "svg.timeline .axis{fill:#7a8291}" \
  "svg.timeline .label{fill:#1d2330}" \
  "svg.timeline .track{fill:#e6e9ee}" \
  "svg.timeline .cov{fill:#2f6fdf}" \
  "svg.timeline .gap{fill:#d93f2b}" \
  "svg.timeline .rate{fill:#9dbcf2}" \
  "svg.timeline .peak{fill:#5b6472;font-size:10px}" \
  "svg.timeline .legend{fill:#3d4552}"
extern const char pl__timeline_css[];

/* The HTML document or its sections. */
void pl__report_html(struct rb *b, const pl_report *r, const pl_report_render_options *o,
                     const struct timeline *tl);

#endif /* PL_REPORT_INTERNAL_H */
