/*
 * rewrite.c - pl_rewrite(): the entry point of the rewrite engine behind
 * filter / compress / decompress / sort, and the context both of its
 * engines share (rewrite_internal.h): selection state per channel, the
 * lazily opened writer, the last-message-per-channel pass, attachment
 * copying in pieces, and the envelope-hopping walk over the data section.
 *
 * Which engine: file order (PRESERVE) goes through rewrite_walk.c, one
 * forward pass that can copy chunks compressed and works on streams. So does
 * log-time order when the chunks follow each other in time with every
 * message in one (sorting each chunk then sorts the file: the usual case of
 * a recorder's own files). Other sorted orders go through rewrite_sorted.c,
 * which uses the indexed reader's queries (parallel decompression, bounded
 * memory).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rewrite_internal.h"

#define DEFAULT_MEMORY_BUDGET (UINT64_C(64) << 20)
#define COPY_PIECE ((uint64_t)1 << 20)

int pl_rewrite_order_parse(const char *s, pl_rewrite_order *out) {
  if (!s || !out) return PL_EINVAL;
  if (strcmp(s, "preserve") == 0 || strcmp(s, "file") == 0) {
    *out = PL_REWRITE_ORDER_PRESERVE;
  } else if (strcmp(s, "log-time") == 0 || strcmp(s, "log_time") == 0) {
    *out = PL_REWRITE_ORDER_LOG_TIME;
  } else if (strcmp(s, "topic") == 0) {
    *out = PL_REWRITE_ORDER_TOPIC;
  } else {
    return PL_EINVAL;
  }
  return PL_OK;
}

const char *pl_rewrite_order_name(pl_rewrite_order o) {
  switch (o) {
    case PL_REWRITE_ORDER_PRESERVE:
      return "preserve";
    case PL_REWRITE_ORDER_LOG_TIME:
      return "log-time";
    case PL_REWRITE_ORDER_TOPIC:
      return "topic";
  }
  return NULL;
}

/* ---------------------------------------------------------------- context */

int pl__rw_init(struct pl__rw *rw, const pl_rewrite_options *o, mcap_sink *sink,
                pl_rewrite_stats *st, pl_error_info *err) {
  memset(rw, 0, sizeof *rw);
  if (o) rw->o = *o;
  rw->st = st;
  rw->err = err;
  rw->sink = sink;
  rw->threads = rw->o.threads > 0 ? rw->o.threads : pl__cores();
  if (rw->o.memory_budget == 0) rw->o.memory_budget = DEFAULT_MEMORY_BUDGET;
  if (pl__defs_init(&rw->defs) || pl__reg_init(&rw->reg) || !(rw->keep = calloc(PL__IDS, 1))) {
    pl__rw_dispose(rw);
    return pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
  }
  int rc = pl__sel_init(&rw->sel, &rw->o, err);
  if (rc) {
    pl__rw_dispose(rw);
    return rc;
  }
  return PL_OK;
}

void pl__rw_dispose(struct pl__rw *rw) {
  mcap_writer_free(rw->w);
  rw->w = NULL;
  free(rw->profile);
  pl__defs_dispose(&rw->defs);
  pl__reg_dispose(&rw->reg);
  pl__sel_dispose(&rw->sel);
  free(rw->keep);
  for (size_t i = 0; i < rw->n_lpc; i++) free(rw->lpc[i].buf);
  free(rw->lpc);
  rw->lpc = NULL;
  rw->n_lpc = 0;
}

int pl__rw_writer(struct pl__rw *rw, const mcap_str *comp) {
  if (rw->w) return PL_OK;
  mcap_writer_options wo;
  mcap_writer_options_init(&wo);
  wo.profile = rw->profile;
  wo.chunk_size = rw->o.chunk_size;
  wo.compression = rw->o.compression;
  if (wo.compression == MCAP_COMPRESSION_DEFAULT) {
    /* Keep the input's compression; an unknown or absent one becomes zstd. */
    mcap_compression c;
    wo.compression = comp && pl__compression_of(*comp, &c) == 0 ? c : MCAP_COMPRESSION_ZSTD;
  }
  wo.compression_level = rw->o.compression_level;
  if (wo.compression_level) {
    /* the input decided the codec: its level range is known only now */
    int lo, hi;
    mcap_compression_levels(wo.compression, &lo, &hi);
    if (wo.compression_level < lo || wo.compression_level > hi) {
      if (lo > hi)
        return pl_error_set(rw->err, PL_EINVAL, UINT64_MAX,
                            "compression level %d given, but the output is not compressed (the "
                            "input's chunks are not)",
                            wo.compression_level);
      return pl_error_set(rw->err, PL_EINVAL, UINT64_MAX,
                          "compression level %d is out of range for %s (%d to %d)",
                          wo.compression_level, mcap_compression_name(wo.compression), lo, hi);
    }
  }
  wo.no_chunking = rw->o.no_chunks;
  if (rw->o.no_crc) {
    wo.no_chunk_crc = 1;
    wo.no_data_crc = 1;
    wo.no_summary_crc = 1;
    wo.no_attachment_crc = 1;
  }
  wo.workers = rw->threads > 1 ? rw->threads : 0;
  int rc = mcap_writer_open(&rw->w, rw->sink, &wo);
  if (rc) {
    rw->w = NULL;
    return pl_error_set_mcap(rw->err, rc, UINT64_MAX, "cannot start the output: %s",
                             mcap_strerror(rc));
  }
  /* What the writer stores chunks as, to compare with the input's chunks. */
  rw->o.compression = wo.compression;
  return PL_OK;
}

int pl__rw_keep_channel(struct pl__rw *rw, uint16_t id) {
  if (rw->keep[id]) return rw->keep[id] == 1;
  const mcap_channel *c = pl__defs_channel(&rw->defs, id);
  if (!c) return 0;
  rw->keep[id] = pl__sel_keep(&rw->sel, c->topic) ? 1 : 2;
  return rw->keep[id] == 1;
}

int pl__rw_in_range(const struct pl__rw *rw, uint64_t t) {
  return (!rw->o.has_start || t >= rw->o.start) && (!rw->o.has_end || t <= rw->o.end);
}

int pl__rw_write_message(struct pl__rw *rw, const mcap_message *m) {
  int rc = pl__rw_writer(rw, NULL);
  if (rc) return rc;
  rc = pl__reg_channel(rw->w, &rw->reg, &rw->defs, m->channel_id, rw->err);
  if (rc) return rc;
  rc = mcap_writer_write_message(rw->w, m);
  if (rc) return pl__werr(rw->w, rc, rw->err, "writing a message");
  rw->st->messages++;
  return PL_OK;
}

int pl__rw_register_all(struct pl__rw *rw) {
  int rc = pl__rw_writer(rw, NULL);
  for (size_t id = 0; id < PL__IDS && !rc; id++) {
    const mcap_schema *s = pl__defs_schema(&rw->defs, (uint16_t)id);
    if (s && !rw->reg.schema[id]) {
      rc = mcap_writer_put_schema(rw->w, s);
      if (rc) return pl__werr(rw->w, rc, rw->err, "writing a schema");
      rw->reg.schema[id] = 1;
      rw->reg.n_schemas++;
    }
  }
  for (size_t id = 0; id < PL__IDS && !rc; id++) {
    if (pl__defs_channel(&rw->defs, (uint16_t)id))
      rc = pl__reg_channel(rw->w, &rw->reg, &rw->defs, (uint16_t)id, rw->err);
  }
  return rc;
}

int pl__rw_finish(struct pl__rw *rw) {
  int rc = pl__rw_writer(rw, NULL);
  if (rc) return rc;
  rc = pl__rw_write_lpc(rw);
  if (rc) return rc;
  rc = mcap_writer_close(rw->w);
  if (rc) return pl__werr(rw->w, rc, rw->err, "finishing the output");
  rw->st->bytes_out = mcap_writer_bytes_written(rw->w);
  rw->st->schemas = rw->reg.n_schemas;
  rw->st->channels = rw->reg.n_channels;
  return PL_OK;
}

/* ------------------------------------------------------- last per channel */

static int lpc_filter(void *ctx, const mcap_channel *c, const mcap_schema *s) {
  struct pl__rw *rw = ctx;
  (void)s;
  return pl__rw_keep_channel(rw, c->id) && pl__sel_lpc(&rw->sel, c->topic);
}

int pl__rw_collect_lpc(struct pl__rw *rw, mcap_reader *r) {
  if (!rw->sel.n_lpc || !rw->o.has_start || rw->o.start == 0) return PL_OK;
  size_t want = 0;
  for (size_t i = 0; i < mcap_reader_channel_count(r); i++) {
    const mcap_channel *c = mcap_reader_channel_at(r, i);
    if (c && lpc_filter(rw, c, NULL)) want++;
  }
  if (!want) return PL_OK;
  uint8_t *found = calloc(PL__IDS, 1);
  rw->lpc = calloc(want, sizeof *rw->lpc);
  if (!found || !rw->lpc) {
    free(found);
    return pl_error_set(rw->err, PL_ENOMEM, UINT64_MAX, "out of memory");
  }
  mcap_query q;
  memset(&q, 0, sizeof q);
  q.channel_filter = lpc_filter;
  q.channel_filter_ctx = rw;
  q.has_end = 1;
  q.end = rw->o.start - 1;
  q.order = MCAP_ORDER_REVERSE;
  mcap_message_iter *it = NULL;
  int rc = mcap_reader_query(r, &q, &it);
  if (rc) {
    free(found);
    return pl_error_set_mcap(rw->err, rc, UINT64_MAX,
                             "looking for the last messages before the "
                             "start: %s",
                             mcap_reader_errmsg(r));
  }
  mcap_message_view v;
  while (rw->n_lpc < want && (rc = mcap_message_iter_next(it, &v)) == MCAP_OK) {
    if (found[v.message.channel_id]) continue;
    found[v.message.channel_id] = 1;
    struct pl__lpc_msg *l = &rw->lpc[rw->n_lpc];
    l->m = v.message;
    l->buf = malloc(v.message.data.len ? (size_t)v.message.data.len : 1);
    if (!l->buf) {
      rc = MCAP_ENOMEM;
      break;
    }
    if (v.message.data.len) memcpy(l->buf, v.message.data.data, (size_t)v.message.data.len);
    l->m.data.data = l->buf;
    rw->n_lpc++;
  }
  free(found);
  int out = PL_OK;
  if (rc != MCAP_OK && rc != MCAP_ITEROVER) {
    out = pl_error_set_mcap(rw->err, rc, UINT64_MAX,
                            "looking for the last messages before the start: "
                            "%s",
                            mcap_reader_errmsg(r));
  }
  mcap_message_iter_free(it);
  return out;
}

static int lpc_cmp(const void *a, const void *b) {
  const struct pl__lpc_msg *x = a, *y = b;
  if (x->m.log_time != y->m.log_time) return x->m.log_time < y->m.log_time ? -1 : 1;
  return (x->m.channel_id > y->m.channel_id) - (x->m.channel_id < y->m.channel_id);
}

int pl__rw_write_lpc(struct pl__rw *rw) {
  if (rw->lpc_written) return PL_OK;
  rw->lpc_written = 1;
  if (!rw->n_lpc) return PL_OK;
  qsort(rw->lpc, rw->n_lpc, sizeof *rw->lpc, lpc_cmp);
  for (size_t i = 0; i < rw->n_lpc; i++) {
    int rc = pl__rw_write_message(rw, &rw->lpc[i].m);
    if (rc) return rc;
    rw->st->messages_last_per_channel++;
  }
  return PL_OK;
}

/* ------------------------------------------------------------ attachments */

int pl__copy_attachment(mcap_writer *w, mcap_source *src, uint64_t off, uint64_t len, int check_crc,
                        int (*keep)(void *ctx, const mcap_attachment *a), void *keep_ctx,
                        int *written, int *damaged, pl_error_info *err) {
  struct pl_buf tmp = {0};
  const uint8_t *p;
  uint64_t got, base = off + 9;
  char *name = NULL, *media = NULL;
  int rc = PL_OK;
  *written = 0;
  if (damaged) *damaged = 0;
#define NEED(cond)                                                                             \
  do {                                                                                         \
    if (!(cond)) {                                                                             \
      rc = pl_error_set_mcap(err, MCAP_ERECORD, off, "attachment at offset %llu is malformed", \
                             (unsigned long long)off);                                         \
      goto out;                                                                                \
    }                                                                                          \
  } while (0)
  NEED(len >= 16 + 4 + 4 + 8 + 4);
  /* Everything is read front to back (a stream cannot go back); the stored CRC covers every
   * byte from log_time to the end of the data, so it is computed on the way. */
  rc = pl_source_pull(src, &tmp, base, 20, &p, &got, err);
  if (rc) goto out;
  NEED(got == 20);
  uint32_t crc = mcap_crc32(0, p, 20);
  mcap_attachment a;
  memset(&a, 0, sizeof a);
  a.log_time = (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24 |
               (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 |
               (uint64_t)p[7] << 56;
  a.create_time = (uint64_t)p[8] | (uint64_t)p[9] << 8 | (uint64_t)p[10] << 16 |
                  (uint64_t)p[11] << 24 | (uint64_t)p[12] << 32 | (uint64_t)p[13] << 40 |
                  (uint64_t)p[14] << 48 | (uint64_t)p[15] << 56;
  uint64_t nl =
      (uint64_t)p[16] | (uint64_t)p[17] << 8 | (uint64_t)p[18] << 16 | (uint64_t)p[19] << 24;
  NEED(nl <= len - 36);
  rc = pl_source_pull(src, &tmp, base + 20, nl + 4, &p, &got, err);
  if (rc) goto out;
  NEED(got == nl + 4);
  crc = mcap_crc32(crc, p, (size_t)(nl + 4));
  name = malloc((size_t)nl + 1);
  if (!name) {
    rc = pl_error_set(err, PL_ENOMEM, off, "out of memory");
    goto out;
  }
  if (nl) memcpy(name, p, (size_t)nl);
  name[nl] = '\0';
  uint64_t ml = (uint64_t)p[nl] | (uint64_t)p[nl + 1] << 8 | (uint64_t)p[nl + 2] << 16 |
                (uint64_t)p[nl + 3] << 24;
  NEED(ml <= len - 36 - nl);
  rc = pl_source_pull(src, &tmp, base + 24 + nl, ml + 8, &p, &got, err);
  if (rc) goto out;
  NEED(got == ml + 8);
  crc = mcap_crc32(crc, p, (size_t)(ml + 8));
  media = malloc((size_t)ml + 1);
  if (!media) {
    rc = pl_error_set(err, PL_ENOMEM, off, "out of memory");
    goto out;
  }
  if (ml) memcpy(media, p, (size_t)ml);
  media[ml] = '\0';
  uint64_t dl = 0;
  for (int k = 0; k < 8; k++) dl |= (uint64_t)p[ml + (uint64_t)k] << (8 * k);
  uint64_t hdr = 16 + 4 + nl + 4 + ml + 8;
  NEED(dl <= len - hdr - 4);
  a.name.data = name;
  a.name.len = (uint32_t)nl;
  a.media_type.data = media;
  a.media_type.len = (uint32_t)ml;
  a.data.len = dl;
  if (keep && !keep(keep_ctx, &a)) goto out;

  if (check_crc && damaged && src->size != MCAP_SIZE_UNKNOWN) {
    /* A file can be read twice: check the CRC before writing anything, so that a damaged
     * attachment is left out (the writer would give its bytes a new, valid CRC). */
    uint32_t c2 = crc;
    for (uint64_t done = 0; done < dl;) {
      uint64_t n = dl - done < COPY_PIECE ? dl - done : COPY_PIECE;
      rc = pl_source_pull(src, &tmp, base + hdr + done, n, &p, &got, err);
      if (rc) goto out;
      NEED(got == n);
      c2 = mcap_crc32(c2, p, (size_t)n);
      done += n;
    }
    rc = pl_source_pull(src, &tmp, base + hdr + dl, 4, &p, &got, err);
    if (rc) goto out;
    NEED(got == 4);
    uint32_t st =
        (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    if (st && c2 != st) {
      pl_error_set_mcap(err, MCAP_ECRC, off,
                        "attachment '%s' at offset %llu: CRC mismatch (stored %08x, computed %08x)",
                        name, (unsigned long long)off, st, c2);
      *damaged = 1;
      goto out;
    }
    check_crc = 0; /* checked */
  }

  int mrc = mcap_writer_attachment_begin(w, a.log_time, a.create_time, a.name, a.media_type, dl);
  if (mrc) {
    rc = pl__werr(w, mrc, err, "writing an attachment");
    goto out;
  }
  for (uint64_t done = 0; done < dl;) {
    uint64_t n = dl - done < COPY_PIECE ? dl - done : COPY_PIECE;
    rc = pl_source_pull(src, &tmp, base + hdr + done, n, &p, &got, err);
    if (rc) goto out;
    NEED(got == n);
    if (check_crc) crc = mcap_crc32(crc, p, (size_t)n);
    mrc = mcap_writer_attachment_write(w, p, (size_t)n);
    if (mrc) {
      rc = pl__werr(w, mrc, err, "writing an attachment");
      goto out;
    }
    done += n;
  }
  rc = pl_source_pull(src, &tmp, base + hdr + dl, 4, &p, &got, err);
  if (rc) goto out;
  NEED(got == 4);
  uint32_t stored =
      (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
  if (check_crc && stored && crc != stored) {
    rc = pl_error_set_mcap(
        err, MCAP_ECRC, off,
        "attachment '%s' at offset %llu: CRC mismatch (stored %08x, computed %08x)", name,
        (unsigned long long)off, stored, crc);
    goto out;
  }
  mrc = mcap_writer_attachment_end(w);
  if (mrc) {
    rc = pl__werr(w, mrc, err, "writing an attachment");
    goto out;
  }
  *written = 1;
out:
#undef NEED
  free(name);
  free(media);
  pl_buf_dispose(&tmp);
  return rc;
}

static int keep_attachment(void *ctx, const mcap_attachment *a) {
  struct pl__rw *rw = ctx;
  return !rw->o.no_attachments && pl__rw_in_range(rw, a->log_time);
}

int pl__rw_copy_attachment(struct pl__rw *rw, mcap_source *src, uint64_t off, uint64_t len) {
  if (rw->o.no_attachments) return PL_OK;
  int rc = pl__rw_writer(rw, NULL);
  if (rc) return rc;
  int written = 0, damaged = 0;
  rc = pl__copy_attachment(rw->w, src, off, len, !rw->o.no_input_crc, keep_attachment, rw, &written,
                           &damaged, rw->err);
  if (!rc && written) rw->st->attachments++;
  if (!rc && damaged) pl_damage_one(&rw->st->damage, rw->err, off, 9 + len);
  return rc;
}

/* ------------------------------------------------------------ record hops */

uint64_t pl__next_known(mcap_reader *r, uint64_t pos, uint64_t *chunks, uint64_t *messages) {
  uint64_t best = UINT64_MAX;
  *chunks = *messages = 0;
  if (!r || mcap_reader_index_source(r, NULL) != MCAP_INDEX_FROM_SUMMARY) return best;
  for (size_t i = 0; i < mcap_reader_chunk_count(r); i++) {
    uint64_t o = mcap_reader_chunk_at(r, i)->chunk_start_offset;
    if (o > pos && o < best) best = o;
  }
  for (size_t i = 0; i < mcap_reader_attachment_count(r); i++) {
    uint64_t o = mcap_reader_attachment_at(r, i)->offset;
    if (o > pos && o < best) best = o;
  }
  for (size_t i = 0; i < mcap_reader_metadata_count(r); i++) {
    uint64_t o = mcap_reader_metadata_at(r, i)->offset;
    if (o > pos && o < best) best = o;
  }
  for (size_t i = 0; i < mcap_reader_chunk_count(r); i++) {
    const mcap_chunk_index *ci = mcap_reader_chunk_at(r, i);
    if (ci->chunk_start_offset < pos || ci->chunk_start_offset >= best) continue;
    uint64_t k = mcap_map_u16u64_count(&ci->message_index_offsets);
    (*chunks)++;
    if (k && ci->message_index_length >= 15 * k && (ci->message_index_length - 15 * k) % 16 == 0)
      *messages += (ci->message_index_length - 15 * k) / 16;
  }
  return best;
}

int pl__hop_records(mcap_source *src, mcap_reader *r, pl__hop_fn fn, void *ctx,
                    pl_error_info *err) {
  struct pl_buf tmp = {0};
  uint64_t pos = MCAP_MAGIC_SIZE;
  int rc = PL_OK;
  for (;;) {
    uint8_t op;
    uint64_t len;
    int eof;
    rc = pl__read_envelope(src, &tmp, pos, &op, &len, &eof, err);
    if (rc || eof == 1) break;
    if (!eof && (op == MCAP_OP_DATA_END || op == MCAP_OP_FOOTER)) break;
    if (eof || (src->size != MCAP_SIZE_UNKNOWN && len > src->size - pos - 9)) {
      if (r) {
        /* damaged here: on at the next record the summary knows, or stop (r reports it) */
        uint64_t chunks, messages, to = pl__next_known(r, pos, &chunks, &messages);
        if (to != UINT64_MAX && to < src->size) {
          pos = to;
          continue;
        }
        break;
      }
      rc = pl_error_set_mcap(err, MCAP_ETRUNCATED, pos,
                             eof ? "record header at offset %llu runs past the end of the file"
                                 : "record at offset %llu runs past the end of the file",
                             (unsigned long long)pos);
      break;
    }
    rc = fn(ctx, op, pos, len);
    if (rc) break;
    pos += 9 + len;
  }
  pl_buf_dispose(&tmp);
  return rc;
}

/* ------------------------------------------------------------ entry point */

/* Does the file end with a footer that points at a summary? */
static int has_summary(mcap_source *src) {
  struct pl_buf tmp = {0};
  const uint8_t *p;
  uint64_t got;
  int yes = 0;
  if (src->size == MCAP_SIZE_UNKNOWN || src->size < 8 + 9 + MCAP_FOOTER_RECORD_SIZE + 8) return 0;
  uint64_t at = src->size - MCAP_FOOTER_RECORD_SIZE - MCAP_MAGIC_SIZE;
  if (pl_source_pull(src, &tmp, at, MCAP_FOOTER_RECORD_SIZE + MCAP_MAGIC_SIZE, &p, &got, NULL) ==
          PL_OK &&
      got == MCAP_FOOTER_RECORD_SIZE + MCAP_MAGIC_SIZE && p[0] == MCAP_OP_FOOTER &&
      memcmp(p + MCAP_FOOTER_RECORD_SIZE, MCAP_MAGIC, MCAP_MAGIC_SIZE) == 0) {
    uint64_t start = 0;
    for (int k = 0; k < 8; k++) start |= (uint64_t)p[9 + k] << (8 * k);
    yes = start != 0;
  }
  pl_buf_dispose(&tmp);
  return yes;
}

/*
 * Do the file's chunks follow each other in time (each starting at or after the end of every
 * earlier one), with every message in a chunk? Then file order is log-time order chunk by
 * chunk. Needs the message counts of the chunk indexes (from message index lengths).
 */
int pl__chunks_disjoint(mcap_reader *r) {
  size_t n = mcap_reader_chunk_count(r);
  uint64_t total = 0, end = 0;
  int any = 0;
  if (n == 0) return 0;
  for (size_t i = 0; i < n; i++) {
    const mcap_chunk_index *ci = mcap_reader_chunk_at(r, i);
    uint64_t k = mcap_map_u16u64_count(&ci->message_index_offsets);
    if (k == 0) {
      if (ci->message_start_time || ci->message_end_time || ci->message_index_length) return 0;
      continue; /* a chunk without messages */
    }
    if (ci->message_index_length < 15 * k || (ci->message_index_length - 15 * k) % 16) return 0;
    total += (ci->message_index_length - 15 * k) / 16;
    if (any && ci->message_start_time < end) return 0;
    if (!any || ci->message_end_time > end) end = ci->message_end_time;
    any = 1;
  }
  /* Messages outside chunks would break the argument; the statistics (or a scan) count them.
   * A summary without statistics cannot say, and the summary reader does not see them either. */
  int from_file = 0;
  const mcap_statistics *st = mcap_reader_statistics(r, &from_file);
  if (from_file || mcap_reader_index_source(r, NULL) == MCAP_INDEX_FROM_SCAN)
    return total == st->message_count;
  return 1;
}

static int open_source(const char *path, mcap_source *src, pl_error_info *err) {
  mcap_error_info me;
  memset(&me, 0, sizeof me);
  int rc = mcap_source_open_file(src, path, &me);
  if (rc)
    return pl_error_set_mcap(err, rc, UINT64_MAX, "%s", me.msg[0] ? me.msg : mcap_strerror(rc));
  return PL_OK;
}

static int open_reader(const char *path, int threads, uint64_t budget, mcap_reader **r,
                       pl_error_info *err) {
  mcap_source src;
  int rc = open_source(path, &src, err);
  if (rc) return rc;
  mcap_indexed_options io;
  memset(&io, 0, sizeof io);
  io.threads = threads;
  io.memory_budget = budget;
  io.skip_bad_chunks = 1; /* counted in the reader's damage, reported in the stats */
  mcap_error_info me;
  memset(&me, 0, sizeof me);
  int mrc = mcap_reader_open(r, &src, &io, &me);
  if (mrc) {
    *r = NULL;
    return pl_error_set_mcap(err, mrc, me.offset, "%s", me.msg[0] ? me.msg : mcap_strerror(mrc));
  }
  return PL_OK;
}

int pl_rewrite(const char *in_path, mcap_sink *sink, const pl_rewrite_options *o,
               pl_rewrite_stats *st, pl_error_info *err) {
  pl_rewrite_stats local;
  pl_rewrite_options defaults;
  struct pl__rw rw;
  mcap_source src;
  mcap_reader *r = NULL;
  pl_input input;
  int rc;
  memset(&input, 0, sizeof input);
  if (!st) st = &local;
  memset(st, 0, sizeof *st);
  st->damage.first_offset = UINT64_MAX;
  memset(&src, 0, sizeof src);
  if (!o) {
    memset(&defaults, 0, sizeof defaults);
    o = &defaults;
  }
  if (!in_path || !sink || !sink->write)
    return pl_error_set(err, PL_EINVAL, UINT64_MAX, "invalid argument");
  if (o->order != PL_REWRITE_ORDER_PRESERVE && o->order != PL_REWRITE_ORDER_LOG_TIME &&
      o->order != PL_REWRITE_ORDER_TOPIC)
    return pl_error_set(err, PL_EINVAL, UINT64_MAX, "invalid order");
  if (o->has_start && o->has_end && o->start > o->end)
    return pl_error_set(err, PL_EINVAL, UINT64_MAX, "the start time is after the end time");
  rc = pl__rw_init(&rw, o, sink, st, err);
  if (rc) return rc;

  /* "-" and paths that are streams (pipes, /dev/fd/N) go forward only; a sorted order or
   * last_per_channel needs them copied first. `path` reopens the input for the reader. */
  int is_stdin = strcmp(in_path, "-") == 0;
  int stream = pl_input_is_stream(in_path);
  int want_lpc = rw.sel.n_lpc && o->has_start && o->start > 0;
  int need_seek = o->order != PL_REWRITE_ORDER_PRESERVE || want_lpc;
  const char *path = in_path;
  if (stream && need_seek) {
    rc = pl_input_open(in_path, o->tmp_dir, &input, err);
    if (!rc) rc = open_source(input.path, &src, err);
    if (rc) goto out;
    path = input.path;
  } else if (is_stdin) {
    mcap_error_info me;
    memset(&me, 0, sizeof me);
    int mrc = mcap_source_from_fd(&src, STDIN_FILENO, &me);
    if (mrc) {
      rc = pl_error_set_mcap(err, mrc, UINT64_MAX, "%s", me.msg);
      goto out;
    }
    if (!stream) path = "/proc/self/fd/0"; /* redirected from a file: seekable in place */
  } else {
    rc = open_source(path, &src, err);
    if (rc) goto out;
  }
  st->bytes_in = src.size == MCAP_SIZE_UNKNOWN ? 0 : src.size;

  if (need_seek || (src.size != MCAP_SIZE_UNKNOWN && has_summary(&src))) {
    rc = open_reader(path, o->order == PL_REWRITE_ORDER_PRESERVE ? 1 : rw.threads,
                     rw.o.memory_budget, &r, err);
    if (rc) goto out;
  }
  if (o->order == PL_REWRITE_ORDER_LOG_TIME && pl__chunks_disjoint(r)) {
    /* Chunks that do not overlap in time, and nothing outside them: the file-order walk
     * sorting each chunk sorts the file, and chunks already in order go through unopened. */
    rw.sort_chunks = 1;
    rc = pl__rewrite_walk(&rw, &src, r);
  } else if (o->order == PL_REWRITE_ORDER_PRESERVE) {
    rc = pl__rewrite_walk(&rw, &src, r);
  } else {
    rc = pl__rewrite_sorted(&rw, r, &src);
    /* the queries skipped what they could not read (and the index may come from a scan that
     * stopped early): that is this rewrite's damage */
    if (!rc) mcap_reader_damage(r, &st->damage);
  }
  if (!rc) rc = pl__rw_finish(&rw);

out:
  if (rc && rw.w) st->bytes_out = mcap_writer_bytes_written(rw.w);
  pl__rw_dispose(&rw);
  mcap_reader_free(r);
  mcap_source_close(&src);
  pl_input_release(&input);
  return rc;
}
