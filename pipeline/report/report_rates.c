/*
 * report_rates.c - messages per time bin and topic, filled while the index
 * reads the recording (pl_index_observer): from the MessageIndex entries on
 * the fast path, from each message of the one streamed pass otherwise.
 *
 * All topics share one grid of PL_REPORT_RATE_BINS bins whose width is a
 * power of two nanoseconds and whose origin is a multiple of it. When a time
 * falls outside the grid, the width doubles (pairs of bins merge, whole bins
 * never split) until the grid holds every time seen, so the times need not
 * come in order and the range need not be known; with a summary the grid is
 * sized from its time range at once. Memory: 2 KiB per topic.
 */
#include <stdlib.h>
#include <string.h>

#include "report_internal.h"

#define NB PL_REPORT_RATE_BINS

int pl__rates_init(struct rates *rt) {
  memset(rt, 0, sizeof *rt);
  rt->chan = calloc(65536, sizeof *rt->chan);
  return rt->chan ? PL_REPORT_OK : PL_REPORT_ENOMEM;
}

void pl__rates_reset(struct rates *rt) {
  for (size_t i = 0; i < rt->n; i++) {
    free(rt->t[i].name);
    free(rt->t[i].bins);
  }
  free(rt->t);
  free(rt->slots);
  rt->t = NULL;
  rt->n = rt->cap = 0;
  rt->slots = NULL;
  rt->n_slots = 0;
  rt->any = 0;
  rt->origin = rt->width = rt->lo = rt->hi = 0;
  if (rt->chan) memset(rt->chan, 0, 65536 * sizeof *rt->chan);
}

void pl__rates_dispose(struct rates *rt) {
  pl__rates_reset(rt);
  free(rt->chan);
  memset(rt, 0, sizeof *rt);
}

/* The smallest grid (power-of-two width) that holds [lo, hi]. */
static void grid_for(uint64_t lo, uint64_t hi, uint64_t min_width, uint64_t *origin,
                     uint64_t *width) {
  uint64_t w = min_width ? min_width : 1;
  while (hi / w - lo / w >= NB && w < (UINT64_C(1) << 62)) w *= 2;
  *width = w;
  *origin = lo / w * w;
}

void pl__rates_presize(struct rates *rt, uint64_t lo, uint64_t hi) {
  if (rt->any || hi < lo) return;
  grid_for(lo, hi, 1, &rt->origin, &rt->width);
  rt->lo = lo;
  rt->hi = hi;
  rt->any = 1;
}

/* Widen the grid so that it holds t too. */
static void widen(struct rates *rt, uint64_t t) {
  uint64_t lo = t < rt->lo ? t : rt->lo, hi = t > rt->hi ? t : rt->hi;
  uint64_t origin, width;
  grid_for(lo, hi, rt->width, &origin, &width);
  if (width == rt->width && origin == rt->origin) return;
  for (size_t k = 0; k < rt->n; k++) {
    uint32_t *b = rt->t[k].bins, old[NB];
    memcpy(old, b, sizeof old);
    memset(b, 0, NB * sizeof *b);
    for (size_t i = 0; i < NB; i++) {
      if (!old[i]) continue;
      uint64_t start = rt->origin + i * rt->width;
      if (start < origin) continue; /* cannot happen: the new grid holds the old range */
      uint64_t j = (start - origin) / width;
      if (j >= NB) continue;
      uint32_t s = b[j] + old[i];
      b[j] = s < old[i] ? UINT32_MAX : s;
    }
  }
  rt->origin = origin;
  rt->width = width;
}

static uint64_t hash_name(const char *s) {
  uint64_t h = UINT64_C(1469598103934665603);
  for (; *s; s++) h = (h ^ (unsigned char)*s) * UINT64_C(1099511628211);
  return h;
}

static int slots_grow(struct rates *rt) {
  size_t n = rt->n_slots ? rt->n_slots * 2 : 64;
  uint32_t *s = calloc(n, sizeof *s);
  if (!s) return -1;
  for (size_t i = 0; i < rt->n; i++) {
    size_t j = (size_t)(hash_name(rt->t[i].name) & (n - 1));
    while (s[j]) j = (j + 1) & (n - 1);
    s[j] = (uint32_t)(i + 1);
  }
  free(rt->slots);
  rt->slots = s;
  rt->n_slots = n;
  return 0;
}

static long find_index(const struct rates *rt, const char *topic) {
  if (!rt->n_slots) return -1;
  size_t j = (size_t)(hash_name(topic) & (rt->n_slots - 1));
  while (rt->slots[j]) {
    uint32_t i = rt->slots[j] - 1;
    if (strcmp(rt->t[i].name, topic) == 0) return (long)i;
    j = (j + 1) & (rt->n_slots - 1);
  }
  return -1;
}

const struct rate_topic *pl__rates_find(const struct rates *rt, const char *topic) {
  long i = find_index(rt, topic);
  return i < 0 ? NULL : &rt->t[i];
}

/* The topic's entry, created on first use; -1 when out of memory. */
static long topic_index(struct rates *rt, const char *topic) {
  long i = find_index(rt, topic);
  if (i >= 0) return i;
  if ((rt->n + 1) * 2 > rt->n_slots && slots_grow(rt)) return -1;
  if (rt->n == rt->cap) {
    size_t cap = rt->cap ? rt->cap * 2 : 16;
    struct rate_topic *t = realloc(rt->t, cap * sizeof *t);
    if (!t) return -1;
    rt->t = t;
    rt->cap = cap;
  }
  struct rate_topic *e = &rt->t[rt->n];
  memset(e, 0, sizeof *e);
  e->name = strdup(topic);
  e->bins = calloc(NB, sizeof *e->bins);
  if (!e->name || !e->bins) {
    free(e->name);
    free(e->bins);
    return -1;
  }
  size_t j = (size_t)(hash_name(topic) & (rt->n_slots - 1));
  while (rt->slots[j]) j = (j + 1) & (rt->n_slots - 1);
  rt->slots[j] = (uint32_t)(rt->n + 1);
  return (long)rt->n++;
}

int pl__rates_add(struct rates *rt, const char *topic, uint16_t channel, uint64_t t) {
  long i;
  if (rt->chan[channel].key == topic && topic) {
    i = (long)rt->chan[channel].idx;
  } else {
    i = topic_index(rt, topic);
    if (i < 0) return PL_REPORT_ENOMEM;
    rt->chan[channel].key = topic;
    rt->chan[channel].idx = (uint32_t)i;
  }
  if (!rt->any) {
    grid_for(t, t, 1, &rt->origin, &rt->width);
    rt->lo = rt->hi = t;
    rt->any = 1;
  }
  if (t < rt->origin || (t - rt->origin) / rt->width >= NB) widen(rt, t);
  if (t < rt->lo) rt->lo = t;
  if (t > rt->hi) rt->hi = t;
  struct rate_topic *e = &rt->t[i];
  uint64_t j = (t - rt->origin) / rt->width;
  if (j < NB && e->bins[j] < UINT32_MAX) e->bins[j]++;
  e->count++;
  return PL_REPORT_OK;
}
