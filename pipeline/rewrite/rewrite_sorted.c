/*
 * rewrite_sorted.c - the sorted engines of pl_rewrite(): log-time order and
 * topic order, both on the indexed reader's queries (which decompress on
 * worker threads and cap the decompressed bytes they hold).
 *
 * Output layout: definitions as channels first get messages (or all of them
 * for keep_unused_channels), metadata and attachments of the input in file
 * order (found by hopping over the data section's record envelopes, so
 * inputs without attachment/metadata indexes lose nothing), the last
 * message per channel before the start, then the messages.
 */
#include <stdlib.h>
#include <string.h>

#include "rewrite_internal.h"

struct sorted {
  struct pl__rw *rw;
  mcap_source *raw;
  uint16_t only; /* topic order: the one channel of the current query */
  int use_only;
};

static int channel_filter(void *ctx, const mcap_channel *c, const mcap_schema *s) {
  struct sorted *so = ctx;
  (void)s;
  if (so->use_only && c->id != so->only) return 0;
  return pl__rw_keep_channel(so->rw, c->id);
}

static int hop(void *ctx, uint8_t op, uint64_t off, uint64_t len) {
  struct sorted *so = ctx;
  struct pl__rw *rw = so->rw;
  if (op == MCAP_OP_ATTACHMENT) return pl__rw_copy_attachment(rw, so->raw, off, len);
  if (op != MCAP_OP_METADATA || rw->o.no_metadata) return PL_OK;
  if (len > PL__MAX_SMALL_RECORD)
    return pl_error_set_mcap(rw->err, MCAP_ELIMIT, off,
                             "metadata record at offset %llu is too large",
                             (unsigned long long)off);
  struct pl_buf tmp = {0};
  const uint8_t *p;
  uint64_t got;
  mcap_record rec;
  int rc = pl_source_pull(so->raw, &tmp, off + 9, len, &p, &got, rw->err);
  if (!rc && (got < len || mcap_record_parse(MCAP_OP_METADATA, p, len, off, &rec, NULL) != MCAP_OK))
    rc = pl_error_set_mcap(rw->err, MCAP_ERECORD, off,
                           "metadata record at offset %llu is malformed", (unsigned long long)off);
  if (!rc) {
    int mrc = mcap_writer_write_metadata_record(rw->w, &rec.u.metadata);
    if (mrc)
      rc = pl__werr(rw->w, mrc, rw->err, "writing metadata");
    else
      rw->st->metadata++;
  }
  pl_buf_dispose(&tmp);
  return rc;
}

static int run_query(struct sorted *so, mcap_reader *r) {
  struct pl__rw *rw = so->rw;
  mcap_query q;
  memset(&q, 0, sizeof q);
  q.channel_filter = channel_filter;
  q.channel_filter_ctx = so;
  q.has_start = rw->o.has_start;
  q.start = rw->o.start;
  q.has_end = rw->o.has_end;
  q.end = rw->o.end;
  q.order = MCAP_ORDER_LOG_TIME;
  mcap_message_iter *it = NULL;
  int mrc = mcap_reader_query(r, &q, &it);
  if (mrc) return pl_error_set_mcap(rw->err, mrc, UINT64_MAX, "query: %s", mcap_reader_errmsg(r));
  mcap_message_view v;
  int rc = PL_OK;
  uint64_t n = 0;
  while ((mrc = mcap_message_iter_next(it, &v)) == MCAP_OK) {
    rc = pl__rw_write_message(rw, &v.message);
    if (rc) break;
    if (rw->o.progress && (++n & 4095) == 0 && v.chunk_offset != UINT64_MAX)
      rw->o.progress(rw->o.progress_user, v.chunk_offset, rw->st->bytes_in);
  }
  if (!rc && mrc != MCAP_ITEROVER) {
    rc = pl_error_set_mcap(rw->err, mrc, UINT64_MAX, "reading messages: %s (try 'mcapkit recover')",
                           mcap_reader_errmsg(r));
  }
  mcap_iter_stats is;
  mcap_message_iter_stats(it, &is);
  rw->st->chunks_decompressed += is.chunks_decompressed;
  mcap_message_iter_free(it);
  return rc;
}

struct topic_ref {
  const mcap_channel *c;
};

static int topic_cmp(const void *a, const void *b) {
  const mcap_channel *x = ((const struct topic_ref *)a)->c, *y = ((const struct topic_ref *)b)->c;
  uint32_t n = x->topic.len < y->topic.len ? x->topic.len : y->topic.len;
  int c = n ? memcmp(x->topic.data, y->topic.data, n) : 0;
  if (c) return c;
  if (x->topic.len != y->topic.len) return x->topic.len < y->topic.len ? -1 : 1;
  return (x->id > y->id) - (x->id < y->id);
}

int pl__rewrite_sorted(struct pl__rw *rw, mcap_reader *r, mcap_source *raw) {
  struct sorted so;
  int rc = PL_OK;
  memset(&so, 0, sizeof so);
  so.rw = rw;
  so.raw = raw;

  const mcap_header *h = mcap_reader_header(r);
  rw->profile = pl_strview(h ? h->profile : mcap_str_c(""));
  if (!rw->profile) return pl_error_set(rw->err, PL_ENOMEM, 0, "out of memory");
  for (size_t i = 0; i < mcap_reader_schema_count(r) && !rc; i++)
    if (pl__defs_put_parsed(&rw->defs, mcap_reader_schema_at(r, i), NULL) < 0) rc = PL_ENOMEM;
  for (size_t i = 0; i < mcap_reader_channel_count(r) && !rc; i++)
    if (pl__defs_put_parsed(&rw->defs, NULL, mcap_reader_channel_at(r, i)) < 0) rc = PL_ENOMEM;
  if (rc) return pl_error_set(rw->err, PL_ENOMEM, 0, "out of memory");

  const mcap_chunk_index *ci = mcap_reader_chunk_count(r) ? mcap_reader_chunk_at(r, 0) : NULL;
  rc = pl__rw_writer(rw, ci ? &ci->compression : NULL);
  if (!rc && rw->o.keep_unused_channels) rc = pl__rw_register_all(rw);
  if (!rc) rc = pl__rw_collect_lpc(rw, r);
  if (!rc && (!rw->o.no_metadata || !rw->o.no_attachments))
    rc = pl__hop_records(raw, r, hop, &so, rw->err);
  if (!rc) rc = pl__rw_write_lpc(rw);
  if (rc) return rc;

  if (rw->o.order == PL_REWRITE_ORDER_LOG_TIME) return run_query(&so, r);

  /* Topic order: one query per kept channel, channels by topic then id. */
  size_t n = mcap_reader_channel_count(r), k = 0;
  struct topic_ref *refs = calloc(n ? n : 1, sizeof *refs);
  if (!refs) return pl_error_set(rw->err, PL_ENOMEM, 0, "out of memory");
  for (size_t i = 0; i < n; i++) {
    const mcap_channel *c = mcap_reader_channel_at(r, i);
    if (c && pl__rw_keep_channel(rw, c->id)) refs[k++].c = c;
  }
  qsort(refs, k, sizeof *refs, topic_cmp);
  so.use_only = 1;
  for (size_t i = 0; i < k && !rc; i++) {
    so.only = refs[i].c->id;
    rc = run_query(&so, r);
  }
  free(refs);
  return rc;
}
