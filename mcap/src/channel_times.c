/*
 * channel_times.c - mcap_reader_channel_time_range(): the exact log-time range
 * of one channel's messages, for per-topic rates and spans without reading the
 * data section.
 *
 * After a scan, the scan's own per-channel times answer. From a summary with
 * message indexes (the common case) only the MessageIndex records of the
 * chunks that can hold the channel's first and last message are read: chunks
 * holding the channel, taken by ascending start time (for the first message)
 * until a chunk starts at or after the earliest time found, and by descending
 * end time for the last. Usually one small read each. Where that cannot be
 * trusted (a chunk without message indexes, an index record that does not
 * parse or names another channel) two queries answer instead: the first
 * message in log-time order and the first in reverse order, which decompress
 * only the chunks they need.
 */
#include <stdlib.h>
#include <string.h>

#include "indexed.h"

#define UNUSABLE 2

/* A chunk that may hold the channel's messages. */
struct cand {
  uint64_t start, end;
  size_t chunk;
};

static int cand_by_start(const void *a, const void *b) {
  uint64_t x = ((const struct cand *)a)->start, y = ((const struct cand *)b)->start;
  return (x > y) - (x < y);
}

static int cand_by_end_desc(const void *a, const void *b) {
  uint64_t x = ((const struct cand *)a)->end, y = ((const struct cand *)b)->end;
  return (x < y) - (x > y);
}

static int holds(const struct mcap__chunk *c, uint16_t ch) {
  for (uint32_t i = 0; i < c->n_channels; i++)
    if (c->channels[i] == ch) return 1;
  return 0;
}

/*
 * The channel's times in one chunk from its MessageIndex record.
 * @return 1 found (lo/hi set), 0 the index lists no message, UNUSABLE when the index cannot
 *         be trusted (the caller falls back to queries), or an mcap_error (I/O).
 */
static int index_times(mcap_reader *r, const struct mcap__chunk *c, uint16_t ch, uint64_t *lo,
                       uint64_t *hi) {
  uint64_t off, len = 0;
  const uint8_t *p;
  mcap_record rec;
  mcap_error_info e;
  int rc;
  if (!mcap_map_find_u16u64(&c->ci.message_index_offsets, ch, &off)) return UNUSABLE;
  if (r->src.size != MCAP_SIZE_UNKNOWN && (off > r->src.size || r->src.size - off < 9))
    return UNUSABLE;
  rc = mcap__reader_read(r, off, 9, &p, "MessageIndex");
  if (rc != MCAP_OK) return rc;
  if (p[0] != MCAP_OP_MESSAGE_INDEX) return UNUSABLE;
  len = mcap__le64dec(p + 1);
  /* 16 bytes per message, and a Message record takes at least 31 bytes of the chunk: the
   * record cannot be larger than the chunk's records. */
  if (len > c->ci.uncompressed_size + 64 ||
      (r->src.size != MCAP_SIZE_UNKNOWN && len > r->src.size - off - 9))
    return UNUSABLE;
  rc = mcap__reader_read(r, off + 9, len, &p, "MessageIndex");
  if (rc != MCAP_OK) return rc;
  memset(&e, 0, sizeof e);
  if (mcap_record_parse(MCAP_OP_MESSAGE_INDEX, p, len, off, &rec, &e) != MCAP_OK) return UNUSABLE;
  if (rec.u.message_index.channel_id != ch) return UNUSABLE;
  uint64_t n = mcap_message_index_count(&rec.u.message_index);
  const uint8_t *ent = rec.u.message_index.entries.data;
  for (uint64_t i = 0; i < n; i++) {
    uint64_t t = mcap__le64dec(ent + 16 * i);
    if (i == 0 || t < *lo) *lo = t;
    if (i == 0 || t > *hi) *hi = t;
  }
  return n ? 1 : 0;
}

static int filter_one(void *ctx, const mcap_channel *c, const mcap_schema *s) {
  (void)s;
  return c->id == *(const uint16_t *)ctx;
}

/* The first message of the channel in `order`: 1 found (*t set), 0 none, or an error. */
static int first_by_query(mcap_reader *r, uint16_t ch, mcap_read_order order, uint64_t *t) {
  mcap_query q;
  mcap_message_iter *it = NULL;
  mcap_message_view v;
  memset(&q, 0, sizeof q);
  q.channel_filter = filter_one;
  q.channel_filter_ctx = &ch;
  q.order = order;
  int rc = mcap_reader_query(r, &q, &it);
  if (rc != MCAP_OK) return rc;
  rc = mcap_message_iter_next(it, &v);
  if (rc == MCAP_OK) *t = v.message.log_time;
  mcap_message_iter_free(it);
  return rc == MCAP_OK ? 1 : rc == MCAP_ITEROVER ? 0 : rc;
}

static int by_queries(mcap_reader *r, uint16_t ch, uint64_t *first, uint64_t *last) {
  int rc = first_by_query(r, ch, MCAP_ORDER_LOG_TIME, first);
  if (rc != 1) return rc == 0 ? MCAP_ITEROVER : rc;
  rc = first_by_query(r, ch, MCAP_ORDER_REVERSE, last);
  return rc == 1 ? MCAP_OK : rc == 0 ? MCAP_ITEROVER : rc;
}

int mcap_reader_channel_time_range(mcap_reader *r, uint16_t channel_id, uint64_t *first,
                                   uint64_t *last) {
  struct cand *c = NULL;
  size_t n = 0;
  uint64_t lo = 0, hi = 0;
  int found = 0, rc = MCAP_OK;
  if (!r || !first || !last) return MCAP_EINVAL;
  if (r->iter_open) return mcap__rfail(r, MCAP_ESTATE, UINT64_MAX, "an iterator is open");
  if (!mcap_reader_channel(r, channel_id)) return MCAP_ITEROVER;
  if (r->counts_known && r->channel_times) {
    /* a scan saw every message */
    if (!r->channel_counts[channel_id]) return MCAP_ITEROVER;
    *first = r->channel_times[2 * (size_t)channel_id];
    *last = r->channel_times[2 * (size_t)channel_id + 1];
    return MCAP_OK;
  }
  for (size_t i = 0; i < r->n_chunks; i++) {
    const struct mcap__chunk *k = &r->chunks[i];
    if (!k->channels_known) return by_queries(r, channel_id, first, last);
    if (holds(k, channel_id)) n++;
  }
  /* messages outside chunks: each one is known with its time */
  for (size_t i = 0; i < r->n_loose; i++) {
    if (r->loose[i].channel_id != channel_id) continue;
    if (!found || r->loose[i].log_time < lo) lo = r->loose[i].log_time;
    if (!found || r->loose[i].log_time > hi) hi = r->loose[i].log_time;
    found = 1;
  }
  if (n) {
    size_t k = 0;
    c = mcap__malloc(n * sizeof *c);
    if (!c) return mcap__rfail(r, MCAP_ENOMEM, UINT64_MAX, "out of memory");
    for (size_t i = 0; i < r->n_chunks; i++) {
      if (!holds(&r->chunks[i], channel_id)) continue;
      c[k].start = r->chunks[i].ci.message_start_time;
      c[k].end = r->chunks[i].ci.message_end_time;
      c[k].chunk = i;
      k++;
    }
    /* the first message: chunks by start time, until none can start earlier */
    qsort(c, n, sizeof *c, cand_by_start);
    for (size_t i = 0; i < n && !(found && c[i].start >= lo); i++) {
      uint64_t a = 0, b = 0;
      rc = index_times(r, &r->chunks[c[i].chunk], channel_id, &a, &b);
      if (rc < 0) goto out;
      if (rc == UNUSABLE) goto fallback;
      if (rc == 1) {
        if (!found || a < lo) lo = a;
        if (!found || b > hi) hi = b;
        found = 1;
      }
    }
    /* the last message: chunks by end time, until none can end later */
    qsort(c, n, sizeof *c, cand_by_end_desc);
    for (size_t i = 0; i < n && !(found && c[i].end <= hi); i++) {
      uint64_t a = 0, b = 0;
      rc = index_times(r, &r->chunks[c[i].chunk], channel_id, &a, &b);
      if (rc < 0) goto out;
      if (rc == UNUSABLE) goto fallback;
      if (rc == 1) {
        if (!found || a < lo) lo = a;
        if (!found || b > hi) hi = b;
        found = 1;
      }
    }
  }
  rc = found ? MCAP_OK : MCAP_ITEROVER;
  if (found) {
    *first = lo;
    *last = hi;
  }
  goto out;
fallback:
  rc = by_queries(r, channel_id, first, last);
out:
  mcap__free(c);
  return rc;
}
