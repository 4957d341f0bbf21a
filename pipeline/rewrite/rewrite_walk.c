/*
 * rewrite_walk.c - the file-order engine of pl_rewrite(): one forward pass
 * over the data section's top-level records (so it also runs on a stream),
 * writing the selected records in the order they come and passing chunks
 * through compressed when it can.
 *
 * Per chunk: the MessageIndex records that follow it name its channels and
 * message times without decompressing it. Then:
 *   - nothing selected in it: skipped unread;
 *   - everything in it selected, same compression as the output: copied as
 *     it is (mcap_writer_write_chunk_raw with the input's message indexes);
 *   - otherwise decompressed; if it then turns out to be kept whole and to
 *     hold no Schema/Channel records it is still copied compressed (with
 *     indexes rebuilt from its records), else its kept messages are written
 *     one by one.
 * The first two need "trust": the chunk must not carry Schema or Channel
 * records the output should not have (those of dropped channels, or
 * duplicates of ones the writer already wrote). Until every schema and
 * channel the input's summary lists has been met in the data section,
 * chunks are looked into; after that a chunk whose first record is a
 * message (its message index has an entry at offset 0) is taken as a plain
 * message container, unless the input was seen defining something twice.
 * (Writers that repeat definitions in every chunk put them before the first
 * message, so their chunks never start with one.) Without a summary there is
 * nothing to compare with, so every chunk is looked into.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rewrite_internal.h"

#define MAX_MESSAGE_INDEX (UINT64_C(64) << 20)
#define CHUNK_HEAD 256
#define PROGRESS_STEP (UINT64_C(8) << 20)

struct mi_ref {
  size_t at;
  uint64_t len;
};

struct walk {
  struct pl__rw *rw;
  pl_error_info *err;
  mcap_source *src;
  int seekable;
  struct pl_buf tmp;   /* assembly buffer for pulls */
  struct pl_buf chunk; /* the current chunk's content, when it must be kept across reads */
  struct pl_buf mibuf; /* contents of the MessageIndex records after the chunk */
  struct mi_ref *refs;
  size_t n_refs, cap_refs;
  mcap_message_index *mis;
  size_t n_mis, cap_mis;
  uint8_t *dec; /* decompressed records */
  size_t dec_cap;
  mcap_decompressor *d;
  struct pl__mi mi;
  int passthrough;
  int have_summary;
  size_t want_schemas, want_channels, seen_schemas, seen_channels;
  int repeat;
  int pending_register; /* keep_unused_channels: definitions met before the writer opened */
  uint64_t last_progress;
  int damaged; /* the error being returned is damage in the input (not I/O, memory, output) */
};

/* The error `rc` just set is damage in the input. */
static int bad_input(struct walk *wk, int rc) {
  wk->damaged = 1;
  return rc;
}

static int trusted(const struct walk *wk) {
  return wk->have_summary && !wk->repeat && wk->seen_schemas == wk->want_schemas &&
         wk->seen_channels == wk->want_channels;
}

static int malformed(struct walk *wk, uint64_t off, const char *what) {
  return bad_input(
      wk, pl_error_set_mcap(wk->err, MCAP_ERECORD, off, "%s at offset %llu is malformed", what,
                            (unsigned long long)off));
}

static int pull(struct walk *wk, uint64_t off, uint64_t n, const uint8_t **p) {
  uint64_t got;
  int rc = pl_source_pull(wk->src, &wk->tmp, off, n, p, &got, wk->err);
  if (rc) return rc;
  if (got < n) {
    return bad_input(wk, pl_error_set_mcap(wk->err, MCAP_ETRUNCATED, off + got,
                                           "input ends at offset %llu inside a record",
                                           (unsigned long long)(off + got)));
  }
  return PL_OK;
}

/* A Schema or Channel record met in the data section at `off`. */
static int note_def(struct walk *wk, const mcap_record *rec, uint64_t off) {
  struct pl__rw *rw = wk->rw;
  int rc = pl__defs_put(&rw->defs, rec);
  if (rc < 0) return pl_error_set(wk->err, PL_ENOMEM, off, "out of memory");
  uint16_t id = rec->opcode == MCAP_OP_SCHEMA ? rec->u.schema.id : rec->u.channel.id;
  const char *kind = rec->opcode == MCAP_OP_SCHEMA ? "schema" : "channel";
  if (rc == 2) {
    return bad_input(
        wk, pl_error_set_mcap(
                wk->err, rec->opcode == MCAP_OP_SCHEMA ? MCAP_ESCHEMA_ID : MCAP_ECHANNEL_ID, off,
                "%s %u at offset %llu differs from another definition of that id", kind, id,
                (unsigned long long)off));
  }
  if (rec->opcode == MCAP_OP_SCHEMA && id == 0)
    return bad_input(
        wk, pl_error_set_mcap(wk->err, MCAP_ESCHEMA_ID, off,
                              "schema id 0 at offset %llu is reserved", (unsigned long long)off));
  struct pl__def *def = pl__defs_get(&rw->defs, rec->opcode, id);
  if (def->seen) {
    wk->repeat = 1;
  } else {
    def->seen = 1;
    if (def->from_summary) {
      if (rec->opcode == MCAP_OP_SCHEMA)
        wk->seen_schemas++;
      else
        wk->seen_channels++;
    }
  }
  if (rw->o.keep_unused_channels && !rw->w) wk->pending_register = 1;
  if (rw->o.keep_unused_channels && rw->w) {
    if (rec->opcode == MCAP_OP_CHANNEL)
      return pl__reg_channel(rw->w, &rw->reg, &rw->defs, id, wk->err);
    if (!rw->reg.schema[id]) {
      int mrc = mcap_writer_put_schema(rw->w, &def->rec.u.schema);
      if (mrc) return pl__werr(rw->w, mrc, wk->err, "writing a schema");
      rw->reg.schema[id] = 1;
      rw->reg.n_schemas++;
    }
  }
  return PL_OK;
}

static int check_channel(struct walk *wk, uint16_t id, uint64_t off) {
  if (pl__defs_channel(&wk->rw->defs, id)) return PL_OK;
  return bad_input(wk, pl_error_set_mcap(wk->err, MCAP_ECHANNEL_ID, off,
                                         "message at offset %llu is on channel %u, which is not "
                                         "defined before it",
                                         (unsigned long long)off, id));
}

/* Open the writer (keeping `comp` when the input decides), then write what had to wait for it:
 * the last-per-channel messages and, for keep_unused_channels, definitions met before. */
static int ensure_writer(struct walk *wk, const mcap_str *comp) {
  struct pl__rw *rw = wk->rw;
  int rc = pl__rw_writer(rw, comp);
  if (!rc && wk->pending_register) {
    wk->pending_register = 0;
    rc = pl__rw_register_all(rw);
  }
  if (!rc) rc = pl__rw_write_lpc(rw);
  return rc;
}

/* Output chunk compression as the Chunk.compression string. */
static int same_compression(const struct walk *wk, mcap_str c) {
  const char *name = mcap_compression_name(wk->rw->o.compression);
  if (!name) return 0;
  size_t n = strlen(name);
  return c.len == n && (n == 0 || memcmp(c.data, name, n) == 0);
}

/* Read the MessageIndex records after a chunk; *next = offset after them. */
static int peek_indexes(struct walk *wk, uint64_t q, uint64_t *next, int *usable) {
  wk->n_refs = 0;
  wk->mibuf.len = 0;
  wk->n_mis = 0;
  *usable = 1;
  for (;;) {
    uint8_t op;
    uint64_t len;
    int eof;
    int rc = pl__read_envelope(wk->src, &wk->tmp, q, &op, &len, &eof, wk->err);
    if (rc) return rc;
    if (eof || op != MCAP_OP_MESSAGE_INDEX) break;
    if (len > MAX_MESSAGE_INDEX) return malformed(wk, q, "MessageIndex record");
    const uint8_t *p;
    rc = pull(wk, q + 9, len, &p);
    if (rc) return rc;
    if (pl_grow((void **)&wk->refs, &wk->cap_refs, wk->n_refs + 1, sizeof *wk->refs) != 0 ||
        pl_buf_append(&wk->mibuf, p, (size_t)len) != 0)
      return pl_error_set(wk->err, PL_ENOMEM, q, "out of memory");
    wk->refs[wk->n_refs].at = wk->mibuf.len - (size_t)len;
    wk->refs[wk->n_refs].len = len;
    wk->n_refs++;
    q += 9 + len;
  }
  *next = q;
  if (pl_grow((void **)&wk->mis, &wk->cap_mis, wk->n_refs, sizeof *wk->mis) != 0)
    return pl_error_set(wk->err, PL_ENOMEM, q, "out of memory");
  for (size_t i = 0; i < wk->n_refs; i++) {
    mcap_record rec;
    if (mcap_record_parse(MCAP_OP_MESSAGE_INDEX, wk->mibuf.data + wk->refs[i].at, wk->refs[i].len,
                          0, &rec, NULL) != MCAP_OK) {
      *usable = 0; /* a bad index only costs a decompression */
      wk->n_mis = 0;
      return PL_OK;
    }
    if (mcap_message_index_count(&rec.u.message_index) == 0) continue;
    wk->mis[wk->n_mis++] = rec.u.message_index;
  }
  return PL_OK;
}

/* The chunk's full content: for streams it was copied already. */
static int chunk_content(struct walk *wk, uint64_t pos, uint64_t len, const uint8_t **p) {
  if (!wk->seekable) {
    *p = wk->chunk.data;
    return PL_OK;
  }
  return pull(wk, pos + 9, len, p);
}

static int copy_raw(struct walk *wk, const mcap_chunk *ck, const mcap_message_index *idx,
                    size_t n_idx, uint64_t n_messages) {
  struct pl__rw *rw = wk->rw;
  for (size_t i = 0; i < n_idx; i++) {
    int rc = pl__reg_channel(rw->w, &rw->reg, &rw->defs, idx[i].channel_id, wk->err);
    if (rc) return rc;
  }
  int mrc = mcap_writer_write_chunk_raw(rw->w, ck, idx, n_idx);
  if (mrc) return pl__werr(rw->w, mrc, wk->err, "copying a chunk");
  rw->st->chunks_copied++;
  rw->st->bytes_copied += ck->records.len;
  rw->st->messages += n_messages;
  return PL_OK;
}

/* Log time, then record position: a stable sort of one chunk's messages. */
static int by_time(const void *a, const void *b) {
  const struct pl__mi_ent *x = a, *y = b;
  if (x->log_time != y->log_time) return x->log_time < y->log_time ? -1 : 1;
  return (x->offset > y->offset) - (x->offset < y->offset);
}

static int by_offset(const void *a, const void *b) {
  const struct pl__mi_ent *x = a, *y = b;
  return (x->offset > y->offset) - (x->offset < y->offset);
}

/* Decompress a chunk, note its definitions, and write what is kept of it. */
static int decompress_chunk(struct walk *wk, uint64_t pos, uint64_t len) {
  struct pl__rw *rw = wk->rw;
  const uint8_t *content;
  mcap_record crec;
  int rc = chunk_content(wk, pos, len, &content);
  if (rc) return rc;
  mcap_error_info me;
  memset(&me, 0, sizeof me);
  if (mcap_record_parse(MCAP_OP_CHUNK, content, len, pos, &crec, &me) != MCAP_OK)
    return malformed(wk, pos, "chunk");
  const mcap_chunk *ck = &crec.u.chunk;
  if (ck->uncompressed_size > PL__MAX_CHUNK) {
    return bad_input(
        wk,
        pl_error_set_mcap(wk->err, MCAP_ELIMIT, pos,
                          "chunk at offset %llu: uncompressed size %llu is above the limit of %llu",
                          (unsigned long long)pos, (unsigned long long)ck->uncompressed_size,
                          (unsigned long long)PL__MAX_CHUNK));
  }
  size_t usize = (size_t)ck->uncompressed_size;
  if (usize > wk->dec_cap) {
    uint8_t *p = realloc(wk->dec, usize);
    if (!p)
      return pl_error_set(wk->err, PL_ENOMEM, pos, "out of memory for a chunk of %zu bytes", usize);
    wk->dec = p;
    wk->dec_cap = usize;
  }
  int mrc = mcap_chunk_decompress(wk->d, ck, wk->dec, usize, rw->o.no_input_crc, &me);
  if (mrc == MCAP_ENOMEM) return pl_error_set(wk->err, PL_ENOMEM, pos, "out of memory");
  if (mrc) {
    return bad_input(
        wk, pl_error_set_mcap(wk->err, mrc, pos, "chunk at offset %llu: %s",
                              (unsigned long long)pos, me.msg[0] ? me.msg : mcap_strerror(mrc)));
  }
  rw->st->chunks_decompressed++;

  /* Pass 1: definitions, and whether the chunk is kept whole. */
  pl__mi_reset(&wk->mi);
  int all_kept = 1, has_defs = 0;
  for (size_t p = 0; p < usize;) {
    if (usize - p < 9) return malformed(wk, pos, "chunk (records)");
    uint8_t op = wk->dec[p];
    uint64_t rlen = 0;
    for (int k = 0; k < 8; k++) rlen |= (uint64_t)wk->dec[p + 1 + (size_t)k] << (8 * k);
    if (rlen > usize - p - 9) return malformed(wk, pos, "chunk (records)");
    if (op == MCAP_OP_SCHEMA || op == MCAP_OP_CHANNEL || op == MCAP_OP_MESSAGE) {
      mcap_record rec;
      if (mcap_record_parse(op, wk->dec + p + 9, rlen, pos, &rec, NULL) != MCAP_OK)
        return malformed(wk, pos, "chunk (records)");
      rec.content.data = wk->dec + p + 9;
      rec.content.len = rlen;
      if (op == MCAP_OP_MESSAGE) {
        rc = check_channel(wk, rec.u.message.channel_id, pos);
        if (rc) return rc;
        if (pl__mi_add(&wk->mi, rec.u.message.channel_id, rec.u.message.log_time, p))
          return pl_error_set(wk->err, PL_ENOMEM, pos, "out of memory");
        if (!pl__rw_keep_channel(rw, rec.u.message.channel_id) ||
            !pl__rw_in_range(rw, rec.u.message.log_time))
          all_kept = 0;
      } else {
        has_defs = 1;
        rc = note_def(wk, &rec, pos);
        if (rc) return rc;
      }
    }
    p += 9 + (size_t)rlen;
  }

  int in_order = 1;
  for (size_t i = 1; i < wk->mi.n && in_order; i++)
    in_order = wk->mi.ents[i].log_time >= wk->mi.ents[i - 1].log_time;
  if (wk->passthrough && all_kept && wk->mi.n > 0 && !has_defs && (in_order || !rw->sort_chunks) &&
      same_compression(wk, ck->compression)) {
    uint64_t n = wk->mi.n;
    if (pl__mi_build(&wk->mi)) return pl_error_set(wk->err, PL_ENOMEM, pos, "out of memory");
    return copy_raw(wk, ck, wk->mi.idx, wk->mi.n_idx, n);
  }
  /* Pass 2: the kept messages, in record order (or log-time order when sorting). */
  if (rw->sort_chunks && !in_order) qsort(wk->mi.ents, wk->mi.n, sizeof *wk->mi.ents, by_time);
  for (size_t i = 0; i < wk->mi.n; i++) {
    const struct pl__mi_ent *e = &wk->mi.ents[i];
    if (!pl__rw_keep_channel(rw, e->channel) || !pl__rw_in_range(rw, e->log_time)) continue;
    size_t p = (size_t)e->offset;
    uint64_t rlen = 0;
    for (int k = 0; k < 8; k++) rlen |= (uint64_t)wk->dec[p + 1 + (size_t)k] << (8 * k);
    mcap_record rec;
    if (mcap_record_parse(MCAP_OP_MESSAGE, wk->dec + p + 9, rlen, pos, &rec, NULL) != MCAP_OK)
      return malformed(wk, pos, "chunk (records)");
    rc = pl__rw_write_message(rw, &rec.u.message);
    if (rc) return rc;
  }
  return PL_OK;
}

/* Are the chunk's messages (by its message index) in log-time order in the chunk? */
static int chunk_in_order(struct walk *wk) {
  pl__mi_reset(&wk->mi);
  for (size_t i = 0; i < wk->n_mis; i++) {
    uint64_t n = mcap_message_index_count(&wk->mis[i]);
    for (uint64_t e = 0; e < n; e++) {
      uint64_t t, off;
      mcap_message_index_entry(&wk->mis[i], e, &t, &off);
      if (pl__mi_add(&wk->mi, wk->mis[i].channel_id, t, off)) return 0;
    }
  }
  qsort(wk->mi.ents, wk->mi.n, sizeof *wk->mi.ents, by_offset);
  for (size_t i = 1; i < wk->mi.n; i++)
    if (wk->mi.ents[i].log_time < wk->mi.ents[i - 1].log_time) return 0;
  return 1;
}

static int walk_chunk(struct walk *wk, uint64_t pos, uint64_t len, uint64_t *next) {
  struct pl__rw *rw = wk->rw;
  const uint8_t *head;
  mcap_chunk ck;
  int truncated, usable, rc;
  rw->st->chunks_in++;
  /* Chunks are held whole (compressed, then decompressed): cap them. */
  if (len > PL__MAX_CHUNK + 4096) {
    return bad_input(
        wk, pl_error_set_mcap(wk->err, MCAP_ELIMIT, pos,
                              "chunk at offset %llu: %llu bytes is above the limit of %llu",
                              (unsigned long long)pos, (unsigned long long)len,
                              (unsigned long long)PL__MAX_CHUNK));
  }
  if (!wk->seekable) {
    /* A stream cannot go back: keep the chunk while reading the indexes after it. */
    const uint8_t *p;
    rc = pull(wk, pos + 9, len, &p);
    if (rc) return rc;
    wk->chunk.len = 0;
    if (pl_buf_append(&wk->chunk, p, (size_t)len))
      return pl_error_set(wk->err, PL_ENOMEM, pos, "out of memory for a chunk");
    head = wk->chunk.data;
    if (pl__chunk_parse_partial(head, len, len, &ck, &truncated))
      return malformed(wk, pos, "chunk");
  } else {
    uint64_t n = len < CHUNK_HEAD ? len : CHUNK_HEAD;
    rc = pull(wk, pos + 9, n, &head);
    if (rc) return rc;
    if (pl__chunk_parse_partial(head, n, len, &ck, &truncated)) {
      if (n == len) return malformed(wk, pos, "chunk");
      /* A long compression name: read the whole content. */
      rc = pull(wk, pos + 9, len, &head);
      if (rc) return rc;
      if (pl__chunk_parse_partial(head, len, len, &ck, &truncated))
        return malformed(wk, pos, "chunk");
    }
  }
  /* The output keeps the input's compression unless told otherwise: the first chunk decides. */
  rc = ensure_writer(wk, &ck.compression);
  if (rc) return rc;
  /* Copy what matters of the header: ck's views die with the next read. */
  uint64_t usize = ck.uncompressed_size;
  int same = same_compression(wk, ck.compression);

  rc = peek_indexes(wk, pos + 9 + len, next, &usable);
  if (rc) return rc;

  if (usable && wk->n_mis > 0 && trusted(wk)) {
    int any = 0, all = 1, known = 1, sane = 1, first = 1;
    uint64_t n_entries = 0, tmin = 0, tmax = 0, omin = UINT64_MAX;
    for (size_t i = 0; i < wk->n_mis; i++) {
      const mcap_message_index *mi = &wk->mis[i];
      uint64_t cnt = mcap_message_index_count(mi);
      if (!pl__defs_channel(&rw->defs, mi->channel_id)) {
        known = 0;
        break;
      }
      int k = pl__rw_keep_channel(rw, mi->channel_id);
      any |= k;
      all &= k;
      for (uint64_t e = 0; e < cnt; e++) {
        uint64_t t, off;
        mcap_message_index_entry(mi, e, &t, &off);
        if (off >= usize) sane = 0;
        if (off < omin) omin = off;
        if (first || t < tmin) tmin = t;
        if (first || t > tmax) tmax = t;
        first = 0;
      }
      n_entries += cnt;
    }
    if (known && sane) {
      int overlap =
          !(rw->o.has_start && tmax < rw->o.start) && !(rw->o.has_end && tmin > rw->o.end);
      int inside =
          (!rw->o.has_start || tmin >= rw->o.start) && (!rw->o.has_end || tmax <= rw->o.end);
      if (!any || !overlap) {
        rw->st->chunks_skipped++;
        return PL_OK;
      }
      /* Copied unopened only when its first record is a message: a chunk that starts with
       * definitions comes from a writer that repeats them per chunk, so it is looked into. */
      if (all && inside && wk->passthrough && same && omin == 0 &&
          (!rw->sort_chunks || chunk_in_order(wk))) {
        const uint8_t *content;
        mcap_record crec;
        rc = chunk_content(wk, pos, len, &content);
        if (rc) return rc;
        if (mcap_record_parse(MCAP_OP_CHUNK, content, len, pos, &crec, NULL) != MCAP_OK)
          return malformed(wk, pos, "chunk");
        return copy_raw(wk, &crec.u.chunk, wk->mis, wk->n_mis, n_entries);
      }
    }
  }
  return decompress_chunk(wk, pos, len);
}

/*
 * The record at `pos` is damaged (the error is in wk->err): count it in the stats' damage.
 * With a summary read from the file, go on at the next record it indexes (*next);
 * @return PL_OK to go on, 1 to stop here (the rest of the input is not read).
 */
static int skip_damage(struct walk *wk, mcap_reader *r, uint64_t pos, uint64_t *next) {
  mcap_damage *d = &wk->rw->st->damage;
  if (d->problems++ == 0) {
    d->code = wk->err->mcap_code ? wk->err->mcap_code : MCAP_ERECORD;
    d->first_offset = pos;
    snprintf(d->msg, sizeof d->msg, "%.*s", (int)sizeof d->msg - 1, wk->err->msg);
  }
  uint64_t chunks = 0, messages = 0, to = UINT64_MAX;
  if (wk->seekable) to = pl__next_known(r, pos, &chunks, &messages);
  if (to != UINT64_MAX && to < wk->src->size) {
    d->bytes_skipped += to - pos;
    d->chunks_skipped += chunks;
    d->messages_skipped += messages;
    *next = to;
    return PL_OK;
  }
  d->rest_unread = 1;
  d->stop_offset = pos;
  if (wk->seekable && wk->src->size > pos) d->bytes_skipped += wk->src->size - pos;
  return 1;
}

static void progress(struct walk *wk, uint64_t pos) {
  struct pl__rw *rw = wk->rw;
  if (!rw->o.progress || pos - wk->last_progress < PROGRESS_STEP) return;
  wk->last_progress = pos;
  rw->o.progress(rw->o.progress_user, pos, rw->st->bytes_in);
}

int pl__rewrite_walk(struct pl__rw *rw, mcap_source *src, mcap_reader *r) {
  struct walk wk;
  int rc = PL_OK;
  memset(&wk, 0, sizeof wk);
  wk.rw = rw;
  wk.err = rw->err;
  wk.src = src;
  wk.seekable = src->size != MCAP_SIZE_UNKNOWN;
  wk.passthrough = !rw->o.no_passthrough && !rw->o.no_chunks && rw->o.compression_level == 0 &&
                   rw->o.chunk_size == 0;
  if (mcap_decompressor_new(&wk.d) != MCAP_OK)
    return pl_error_set(rw->err, PL_ENOMEM, 0, "out of memory");

  if (r) {
    /* The summary: every definition up front, so skipped chunks lose nothing. */
    wk.have_summary = mcap_reader_index_source(r, NULL) == MCAP_INDEX_FROM_SUMMARY;
    for (size_t i = 0; i < mcap_reader_schema_count(r) && !rc; i++) {
      int d = pl__defs_put_parsed(&rw->defs, mcap_reader_schema_at(r, i), NULL);
      if (d < 0)
        rc = pl_error_set(rw->err, PL_ENOMEM, 0, "out of memory");
      else if (d == 0)
        rw->defs.schemas[mcap_reader_schema_at(r, i)->id]->from_summary = 1;
    }
    for (size_t i = 0; i < mcap_reader_channel_count(r) && !rc; i++) {
      int d = pl__defs_put_parsed(&rw->defs, NULL, mcap_reader_channel_at(r, i));
      if (d < 0)
        rc = pl_error_set(rw->err, PL_ENOMEM, 0, "out of memory");
      else if (d == 0)
        rw->defs.channels[mcap_reader_channel_at(r, i)->id]->from_summary = 1;
    }
    wk.want_schemas = rw->defs.n_schemas;
    wk.want_channels = rw->defs.n_channels;
    if (!rc) rc = pl__rw_collect_lpc(rw, r);
  }

  const uint8_t *p;
  if (!rc) rc = pull(&wk, 0, MCAP_MAGIC_SIZE, &p);
  if (!rc && memcmp(p, MCAP_MAGIC, MCAP_MAGIC_SIZE) != 0)
    rc = pl_error_set_mcap(rw->err, MCAP_EMAGIC, 0, "not an MCAP file (no magic at offset 0)");
  uint64_t pos = MCAP_MAGIC_SIZE;
  int done = 0, first = 1;
  while (!rc && !done) {
    uint64_t next = pos;
    uint8_t op;
    uint64_t len;
    int eof;
    rc = pl__read_envelope(src, &wk.tmp, pos, &op, &len, &eof, rw->err);
    if (rc) break;
    if (eof) {
      rc = bad_input(&wk, pl_error_set_mcap(rw->err, MCAP_ETRUNCATED, pos,
                                            "input ends at offset %llu before its DataEnd record",
                                            (unsigned long long)pos));
      if (eof == 1 && rw->have_header) {
        /* it ends between records: everything there was is read (a recording cut short,
         * or still being written); nothing to report as unread */
        rc = PL_OK;
        wk.damaged = 0;
        break;
      }
      goto damaged;
    }
    if (wk.seekable && len > src->size - pos - 9) {
      rc = bad_input(&wk,
                     pl_error_set_mcap(rw->err, MCAP_ETRUNCATED, pos,
                                       "%s record at offset %llu runs past the end of the input",
                                       mcap_opcode_name(op), (unsigned long long)pos));
      goto damaged;
    }
    if (first && op != MCAP_OP_HEADER) {
      rc = pl_error_set_mcap(rw->err, MCAP_EOPCODE, pos, "the first record is not a Header");
      break;
    }
    next = pos + 9 + len;
    mcap_record rec;
    switch (op) {
      case MCAP_OP_HEADER:
      case MCAP_OP_SCHEMA:
      case MCAP_OP_CHANNEL:
      case MCAP_OP_MESSAGE:
      case MCAP_OP_METADATA: {
        if (op != MCAP_OP_MESSAGE && len > PL__MAX_SMALL_RECORD) {
          rc = malformed(&wk, pos, mcap_opcode_name(op));
          break;
        }
        rc = pull(&wk, pos + 9, len, &p);
        if (rc) break;
        if (mcap_record_parse(op, p, len, pos, &rec, NULL) != MCAP_OK) {
          rc = malformed(&wk, pos, mcap_opcode_name(op));
          break;
        }
        rec.content.data = p;
        rec.content.len = len;
        if (op == MCAP_OP_HEADER) {
          if (!first) break; /* a second Header: ignored */
          rw->profile = pl_strview(rec.u.header.profile);
          if (!rw->profile) rc = pl_error_set(rw->err, PL_ENOMEM, pos, "out of memory");
          rw->have_header = 1;
          if (!rc && r) {
            /* The input's compression is known from its first chunk. */
            const mcap_chunk_index *ci =
                mcap_reader_chunk_count(r) ? mcap_reader_chunk_at(r, 0) : NULL;
            rc = pl__rw_writer(rw, ci ? &ci->compression : NULL);
            if (!rc && rw->o.keep_unused_channels) rc = pl__rw_register_all(rw);
          }
        } else if (op == MCAP_OP_SCHEMA || op == MCAP_OP_CHANNEL) {
          rc = note_def(&wk, &rec, pos);
        } else if (op == MCAP_OP_MESSAGE) {
          rc = check_channel(&wk, rec.u.message.channel_id, pos);
          if (!rc && pl__rw_keep_channel(rw, rec.u.message.channel_id) &&
              pl__rw_in_range(rw, rec.u.message.log_time)) {
            rc = ensure_writer(&wk, NULL);
            if (!rc) rc = pl__rw_write_message(rw, &rec.u.message);
          }
        } else if (!rw->o.no_metadata) {
          rc = ensure_writer(&wk, NULL);
          int mrc = rc ? MCAP_OK : mcap_writer_write_metadata_record(rw->w, &rec.u.metadata);
          if (mrc) rc = pl__werr(rw->w, mrc, rw->err, "writing metadata");
          if (!rc) rw->st->metadata++;
        }
        break;
      }
      case MCAP_OP_CHUNK:
        rc = walk_chunk(&wk, pos, len, &next);
        break;
      case MCAP_OP_ATTACHMENT:
        if (rw->o.no_attachments) break;
        rc = ensure_writer(&wk, NULL);
        if (!rc) rc = pl__rw_copy_attachment(rw, src, pos, len);
        break;
      case MCAP_OP_DATA_END:
      case MCAP_OP_FOOTER:
        done = 1;
        break;
      default:
        /* MessageIndex records not right after their chunk, summary records, private and
         * unknown records: nothing to keep (indexes and summary are rebuilt). */
        break;
    }
    first = 0;
  damaged:
    if (rc && wk.damaged && rw->have_header) {
      /* Damage after the Header: count it, and go on at the next record the summary knows,
       * or stop here with what was written so far. */
      wk.damaged = 0;
      rc = skip_damage(&wk, r, pos, &next);
      if (rc == 1) {
        rc = PL_OK;
        break;
      }
    }
    pos = next;
    progress(&wk, pos);
  }
  if (!rc) rc = ensure_writer(&wk, NULL);
  if (!rc && rw->o.progress) rw->o.progress(rw->o.progress_user, pos, rw->st->bytes_in);
  rw->st->passthrough_trusted = trusted(&wk);
  mcap_decompressor_free(wk.d);
  free(wk.dec);
  free(wk.refs);
  free(wk.mis);
  pl__mi_dispose(&wk.mi);
  pl_buf_dispose(&wk.tmp);
  pl_buf_dispose(&wk.chunk);
  pl_buf_dispose(&wk.mibuf);
  return rc;
}
