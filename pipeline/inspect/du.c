/*
 * du.c - pl_inspect_du: where the bytes of a recording go (`mcapkit du`).
 *
 * Bytes by top-level record kind (Chunk, MessageIndex, Attachment, summary records, ...),
 * and message bytes by topic with an estimate of each topic's share of the file (a chunk's
 * stored bytes split between topics in proportion to their uncompressed message records in
 * it). The exact mode streams every record (chunks decompressed, CRCs checked); the
 * estimate reads only the summary and the MessageIndex records: message sizes come from the
 * gaps between indexed message offsets, chunks without message indexes are apportioned by
 * the per-channel message counts of the statistics.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inspect_internal.h"

#define N_CHANNELS 65536
#define N_KINDS 40
#define MESSAGE_OVERHEAD 31u /* record envelope 9 + channel_id, sequence, log and publish time */

struct du_chan {
  char *topic; /* NULL until the Channel record is seen */
  uint64_t messages;
  uint64_t message_bytes; /* payload */
  uint64_t record_bytes;  /* in the chunk being measured (scratch) */
  double disk;            /* estimated stored bytes */
  uint8_t listed;         /* in du.used */
};

struct du {
  pl_inspect_du pub; /* first: the handle's public view */
  pl_inspect_du_kind kinds[N_KINDS];
  struct du_chan *ch; /* N_CHANNELS, zeroed; reached through chan() */
  uint16_t *used;     /* the ids reached, in first-use order (room for N_CHANNELS): the
                         per-chunk and final loops walk these, not all 65,536 slots */
  size_t n_used;
  char err[512];
};

void pl_inspect_du_free(pl_inspect_du *du) {
  if (!du) return;
  struct du *d = (struct du *)du;
  if (d->ch)
    for (size_t i = 0; i < d->n_used; i++) free(d->ch[d->used[i]].topic);
  free(d->ch);
  free(d->used);
  free(du->topics);
  free(d);
}

static struct du *du_new(pl_error_info *err) {
  struct du *d = calloc(1, sizeof *d);
  if (d) {
    d->ch = calloc(N_CHANNELS, sizeof *d->ch);
    d->used = malloc(N_CHANNELS * sizeof *d->used);
  }
  if (!d || !d->ch || !d->used) {
    if (d) {
      free(d->ch);
      free(d->used);
    }
    free(d);
    pl__insp_fail(err, PL_ENOMEM, MCAP_ENOMEM, UINT64_MAX, "out of memory");
    return NULL;
  }
  d->pub.kinds = d->kinds;
  return d;
}

static pl_inspect_du_kind *kind(struct du *d, const char *name) {
  pl_inspect_du *p = &d->pub;
  for (size_t i = 0; i < p->n_kinds; i++)
    if (strcmp(d->kinds[i].name, name) == 0) return &d->kinds[i];
  if (p->n_kinds == N_KINDS) return &d->kinds[p->n_kinds - 1];
  pl_inspect_du_kind *k = &d->kinds[p->n_kinds++];
  memset(k, 0, sizeof *k);
  snprintf(k->name, sizeof k->name, "%s", name);
  return k;
}

static void add_kind(struct du *d, const char *name, uint64_t count, uint64_t bytes) {
  pl_inspect_du_kind *k = kind(d, name);
  k->count += count;
  k->bytes += bytes;
}

/* A channel's slot, listed among the used ids on first use. */
static struct du_chan *chan(struct du *d, uint16_t id) {
  struct du_chan *c = &d->ch[id];
  if (!c->listed) {
    c->listed = 1;
    d->used[d->n_used++] = id;
  }
  return c;
}

static int set_topic(struct du *d, uint16_t id, mcap_str topic) {
  struct du_chan *c = chan(d, id);
  if (c->topic) return 0;
  c->topic = pl__insp_dup(topic);
  return c->topic ? 0 : -1;
}

static void count_message(struct du *d, uint16_t channel, uint64_t data_len) {
  struct du_chan *c = chan(d, channel);
  c->messages++;
  c->message_bytes += data_len;
  d->pub.messages++;
  d->pub.message_bytes += data_len;
}

/* Split `disk` stored bytes between the channels by their record_bytes scratch counts. */
static void apportion(struct du *d, double disk, uint64_t total_record_bytes) {
  if (total_record_bytes == 0) {
    d->pub.unattributed_disk += disk;
    return;
  }
  for (size_t i = 0; i < d->n_used; i++) {
    struct du_chan *c = &d->ch[d->used[i]];
    if (!c->record_bytes) continue;
    c->disk += disk * (double)c->record_bytes / (double)total_record_bytes;
    c->record_bytes = 0;
  }
}

/* ------------------------------------------------------------ exact mode */

/* The decompressed records of a chunk; `count` 0 only checks them. @return 0, -1 (damaged,
 * d->err says why) or -2 (out of memory). */
static int walk_records(struct du *d, const uint8_t *p, uint64_t len, uint64_t chunk_off,
                        uint64_t chunk_record_len, int count) {
  uint64_t pos = 0, msg_records = 0;
  while (pos < len) {
    if (len - pos < 9) {
      snprintf(d->err, sizeof d->err, "chunk at offset %llu: stray bytes at its end",
               (unsigned long long)chunk_off);
      return -1;
    }
    uint8_t op = p[pos];
    uint64_t clen = 0;
    for (int k = 7; k >= 0; k--) clen = clen << 8 | p[pos + 1 + (uint64_t)k];
    if (clen > len - pos - 9) {
      snprintf(d->err, sizeof d->err, "chunk at offset %llu: record at %llu overruns the chunk",
               (unsigned long long)chunk_off, (unsigned long long)pos);
      return -1;
    }
    mcap_record rec;
    mcap_error_info e;
    memset(&e, 0, sizeof e);
    if (mcap_record_parse(op, p + pos + 9, clen, pos, &rec, &e) != MCAP_OK) {
      snprintf(d->err, sizeof d->err, "chunk at offset %llu: %s", (unsigned long long)chunk_off,
               e.msg);
      return -1;
    }
    if (!count) {
      /* checking only */
    } else if (op == MCAP_OP_CHANNEL) {
      if (set_topic(d, rec.u.channel.id, rec.u.channel.topic) != 0) return -2;
    } else if (op == MCAP_OP_MESSAGE) {
      count_message(d, rec.u.message.channel_id, rec.u.message.data.len);
      chan(d, rec.u.message.channel_id)->record_bytes += 9 + clen;
      msg_records += 9 + clen;
    }
    pos += 9 + clen;
  }
  if (count) apportion(d, (double)chunk_record_len, msg_records);
  return 0;
}

/* A chunk that cannot be read (`why` names it): skipped, counted as damage, its bytes given
 * to no topic; the walk goes on. */
static void skip_chunk(struct du *d, uint64_t offset, uint64_t record_len, int code,
                       const char *why) {
  mcap_damage *dm = &d->pub.damage;
  if (dm->problems++ == 0) {
    dm->code = code;
    dm->first_offset = offset;
    snprintf(dm->msg, sizeof dm->msg, "%.*s", (int)sizeof dm->msg - 1, why);
  }
  dm->chunks_skipped++;
  dm->bytes_skipped += record_len;
  d->pub.unattributed_disk += (double)record_len;
}

/* One Chunk record: decompressed and walked, checked whole first so that a damaged chunk
 * counts nothing. @return 0 or -2 (out of memory). */
static int exact_chunk(struct du *d, const mcap_record *rec, mcap_decompressor **dec,
                       uint8_t **buf, uint64_t *buf_cap) {
  const mcap_chunk *ck = &rec->u.chunk;
  uint64_t rec_len = 9 + rec->content.len;
  char why[400];
  mcap_error_info err;
  memset(&err, 0, sizeof err);
  /* What the compressed bytes cannot hold is damage, refused before anything is allocated
   * for it. */
  int mrc = mcap_chunk_size_check(ck, rec->offset, MCAP_DEFAULT_MAX_RECORD_SIZE, &err);
  if (mrc != MCAP_OK) {
    skip_chunk(d, rec->offset, rec_len, mrc, err.msg);
    return 0;
  }
  if (ck->compression.len == 0 && ck->uncompressed_size != ck->records.len) {
    snprintf(why, sizeof why,
             "Chunk record at offset %llu: uncompressed size %llu is not its %llu stored bytes",
             (unsigned long long)rec->offset, (unsigned long long)ck->uncompressed_size,
             (unsigned long long)ck->records.len);
    skip_chunk(d, rec->offset, rec_len, MCAP_ERECORD, why);
    return 0;
  }
  if (!*dec && mcap_decompressor_new(dec) != MCAP_OK) return -2;
  if (ck->uncompressed_size > *buf_cap) {
    uint8_t *nb = realloc(*buf, (size_t)ck->uncompressed_size);
    if (!nb) return -2;
    *buf = nb;
    *buf_cap = ck->uncompressed_size;
  }
  mrc = mcap_chunk_decompress(*dec, ck, *buf, ck->uncompressed_size, 0, &err);
  if (mrc == MCAP_ENOMEM) return -2;
  if (mrc != MCAP_OK) {
    snprintf(why, sizeof why, "chunk at offset %llu: %s", (unsigned long long)rec->offset,
             err.msg);
    skip_chunk(d, rec->offset, rec_len, mrc, why);
    return 0;
  }
  for (int pass = 0; pass < 2; pass++) {
    int w = walk_records(d, *buf, ck->uncompressed_size, rec->offset, rec_len, pass);
    if (w == -2) return -2;
    if (w != 0) {
      skip_chunk(d, rec->offset, rec_len, MCAP_ERECORD, d->err);
      return 0;
    }
  }
  return 0;
}

/* The stream stopped at a record it could not read: what was measured stands. */
static void stopped(struct du *d, mcap_stream_reader *r) {
  mcap_damage sd, *dm = &d->pub.damage;
  mcap_stream_reader_damage(r, &sd);
  if (dm->problems == 0) {
    *dm = sd;
  } else {
    dm->problems++;
    dm->rest_unread = 1;
    dm->stop_offset = sd.stop_offset;
    dm->bytes_skipped += sd.bytes_skipped;
  }
  if (sd.bytes_skipped) add_kind(d, "(not read)", 0, sd.bytes_skipped);
}

static int finish(struct du *d, pl_inspect_du **out, pl_error_info *err);

int pl_inspect_du_exact(pl_inspect_du **out, mcap_source *src, pl_inspect_progress_fn progress,
                        void *progress_ctx, pl_error_info *err) {
  *out = NULL;
  struct du *d = du_new(err);
  if (!d) {
    mcap_source_close(src);
    return PL_ENOMEM;
  }
  d->pub.file_size = src->size;
  mcap_reader_options ro;
  mcap_reader_options_init(&ro);
  ro.raw_chunks = 1;
  mcap_stream_reader *r = NULL;
  if (mcap_stream_reader_new(&r, src, &ro) != MCAP_OK) {
    pl_inspect_du_free(&d->pub);
    return pl__insp_fail(err, PL_ENOMEM, MCAP_ENOMEM, UINT64_MAX, "out of memory");
  }
  mcap_decompressor *dec = NULL;
  uint8_t *buf = NULL;
  uint64_t buf_cap = 0, n_rec = 0;
  int rc = PL_OK;
  for (;;) {
    mcap_record rec;
    int mrc = mcap_stream_reader_next(r, &rec);
    if (mrc == MCAP_ITEROVER) break;
    if (mrc != MCAP_OK) {
      mcap_damage sd;
      mcap_stream_reader_damage(r, &sd);
      if (sd.unreadable || mrc == MCAP_EIO || mrc == MCAP_ENOMEM) {
        rc = pl__insp_fail(err, PL_EMCAP, mrc,
                           mcap_stream_reader_error_offset(r), "%s",
                           mcap_stream_reader_errmsg(r));
        break;
      }
      stopped(d, r);
      break;
    }
    if (progress && ++n_rec % 256 == 0 && d->pub.file_size != MCAP_SIZE_UNKNOWN &&
        d->pub.file_size)
      progress(progress_ctx, mcap_stream_reader_position(r), d->pub.file_size);
    uint64_t rec_len = 9 + rec.content.len;
    add_kind(d, mcap_opcode_name(rec.opcode), 1, rec_len);
    int w = 0;
    if (rec.opcode == MCAP_OP_CHANNEL) {
      w = set_topic(d, rec.u.channel.id, rec.u.channel.topic) != 0 ? -2 : 0;
    } else if (rec.opcode == MCAP_OP_MESSAGE) {
      count_message(d, rec.u.message.channel_id, rec.u.message.data.len);
      chan(d, rec.u.message.channel_id)->disk += (double)rec_len;
    } else if (rec.opcode == MCAP_OP_CHUNK) {
      w = exact_chunk(d, &rec, &dec, &buf, &buf_cap);
    }
    if (w == -2) {
      rc = pl__insp_fail(err, PL_ENOMEM, MCAP_ENOMEM, UINT64_MAX, "out of memory");
      break;
    }
  }
  if (rc == PL_OK && !d->pub.damage.rest_unread) {
    add_kind(d, "(magic)", 2, 2 * MCAP_MAGIC_SIZE);
    d->pub.file_size = mcap_stream_reader_position(r);
  } else if (rc == PL_OK) {
    /* stopped early: the leading magic, what was read, and (for a file) the rest not read */
    add_kind(d, "(magic)", 1, MCAP_MAGIC_SIZE);
    if (d->pub.file_size == MCAP_SIZE_UNKNOWN) d->pub.file_size = d->pub.damage.stop_offset;
  }
  free(buf);
  mcap_decompressor_free(dec);
  mcap_stream_reader_free(r);
  if (rc != PL_OK) {
    pl_inspect_du_free(&d->pub);
    return rc;
  }
  return finish(d, out, err);
}

/* ------------------------------------------------------ approximate mode */

struct idx_ent {
  uint64_t offset;
  uint16_t channel;
};

static int cmp_ent(const void *a, const void *b) {
  const struct idx_ent *x = a, *y = b;
  return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/*
 * Message sizes of one chunk from its MessageIndex records (the gaps between message
 * offsets). @return 1 done, 0 the chunk has no usable message index, -1 out of memory.
 */
static int chunk_from_index(struct du *d, mcap_source *src, const mcap_chunk_index *ci,
                            struct idx_ent **ents, size_t *cap) {
  uint64_t file_size = d->pub.file_size;
  if (ci->message_index_length == 0 || mcap_map_u16u64_count(&ci->message_index_offsets) == 0)
    return 0;
  uint64_t start = ci->chunk_start_offset + ci->chunk_length;
  if (start < ci->chunk_start_offset || start > file_size ||
      ci->message_index_length > file_size - start)
    return 0;
  const uint8_t *p = NULL;
  uint64_t got = 0;
  mcap_error_info err;
  memset(&err, 0, sizeof err);
  if (src->read(src->payload, start, ci->message_index_length, &p, &got, &err) != MCAP_OK ||
      got != ci->message_index_length)
    return 0;
  size_t n = 0;
  uint64_t pos = 0, len = ci->message_index_length;
  while (pos + 9 <= len) {
    uint8_t op = p[pos];
    uint64_t clen = 0;
    for (int k = 7; k >= 0; k--) clen = clen << 8 | p[pos + 1 + (uint64_t)k];
    if (op != MCAP_OP_MESSAGE_INDEX || clen > len - pos - 9) return 0;
    mcap_record rec;
    if (mcap_record_parse(op, p + pos + 9, clen, start + pos, &rec, NULL) != MCAP_OK) return 0;
    uint64_t cnt = mcap_message_index_count(&rec.u.message_index);
    for (uint64_t i = 0; i < cnt; i++) {
      if (n == *cap) {
        size_t nc = *cap ? *cap * 2 : 1024;
        struct idx_ent *ne = realloc(*ents, nc * sizeof *ne);
        if (!ne) return -1;
        *ents = ne;
        *cap = nc;
      }
      uint64_t t;
      mcap_message_index_entry(&rec.u.message_index, i, &t, &(*ents)[n].offset);
      (*ents)[n].channel = rec.u.message_index.channel_id;
      n++;
    }
    pos += 9 + clen;
  }
  if (n == 0) return 0;
  qsort(*ents, n, sizeof **ents, cmp_ent);
  uint64_t total = 0;
  for (size_t i = 0; i < n; i++) {
    const struct idx_ent *e = &(*ents)[i];
    uint64_t next = i + 1 < n ? (*ents)[i + 1].offset : ci->uncompressed_size;
    uint64_t rec_bytes = next > e->offset ? next - e->offset : 0;
    count_message(d, e->channel, rec_bytes > MESSAGE_OVERHEAD ? rec_bytes - MESSAGE_OVERHEAD : 0);
    chan(d, e->channel)->record_bytes += rec_bytes;
    total += rec_bytes;
  }
  apportion(d, (double)ci->chunk_length, total);
  return 1;
}

/* Chunks without message indexes: split by the statistics' per-channel counts. */
static void unindexed_by_statistics(struct du *d, mcap_reader *r, uint64_t unindexed_uncompressed,
                                    uint64_t unindexed_disk) {
  const mcap_statistics *st = mcap_reader_statistics(r, NULL);
  uint64_t total = 0;
  mcap_map_iter it = {0};
  uint16_t id;
  uint64_t cnt;
  while (mcap_map_next_u16u64(&st->channel_message_counts, &it, &id, &cnt) == MCAP_OK)
    total += cnt;
  if (total == 0) {
    d->pub.unattributed_disk += (double)unindexed_disk;
    return;
  }
  memset(&it, 0, sizeof it);
  while (mcap_map_next_u16u64(&st->channel_message_counts, &it, &id, &cnt) == MCAP_OK) {
    double share = (double)cnt / (double)total;
    struct du_chan *c = chan(d, id);
    uint64_t msgs = cnt > c->messages ? cnt - c->messages : 0;
    uint64_t bytes = (uint64_t)((double)unindexed_uncompressed * share);
    uint64_t payload = bytes > msgs * MESSAGE_OVERHEAD ? bytes - msgs * MESSAGE_OVERHEAD : 0;
    c->messages += msgs;
    c->message_bytes += payload;
    c->disk += (double)unindexed_disk * share;
    d->pub.messages += msgs;
    d->pub.message_bytes += payload;
  }
}

/* Attachments, metadata, the summary section, footer and magic. @return bytes accounted. */
static uint64_t other_kinds(struct du *d, mcap_reader *r) {
  uint64_t accounted = 0, att_bytes = 0, meta_bytes = 0;
  size_t n_att = mcap_reader_attachment_count(r), n_meta = mcap_reader_metadata_count(r);
  for (size_t i = 0; i < n_att; i++) att_bytes += mcap_reader_attachment_at(r, i)->length;
  for (size_t i = 0; i < n_meta; i++) meta_bytes += mcap_reader_metadata_at(r, i)->length;
  if (n_att) add_kind(d, "Attachment", n_att, att_bytes);
  if (n_meta) add_kind(d, "Metadata", n_meta, meta_bytes);
  accounted += att_bytes + meta_bytes;
  const mcap_footer *f = mcap_reader_footer(r);
  uint64_t size = d->pub.file_size;
  uint64_t footer_at = size >= MCAP_MAGIC_SIZE + MCAP_FOOTER_RECORD_SIZE
                           ? size - MCAP_MAGIC_SIZE - MCAP_FOOTER_RECORD_SIZE
                           : 0;
  if (f->summary_start && f->summary_start < footer_at) {
    add_kind(d, "(summary section)", 1, footer_at - f->summary_start);
    accounted += footer_at - f->summary_start;
  }
  if (footer_at && mcap_reader_index_source(r, NULL) == MCAP_INDEX_FROM_SCAN) {
    /* no usable footer (truncated, or still being written): the leading magic only */
    add_kind(d, "(magic)", 1, MCAP_MAGIC_SIZE);
    accounted += MCAP_MAGIC_SIZE;
    footer_at = 0;
  }
  if (footer_at) {
    add_kind(d, "Footer", 1, MCAP_FOOTER_RECORD_SIZE);
    add_kind(d, "(magic)", 2, 2 * MCAP_MAGIC_SIZE);
    accounted += MCAP_FOOTER_RECORD_SIZE + 2 * MCAP_MAGIC_SIZE;
  }
  return accounted;
}

int pl_inspect_du_estimate(pl_inspect_du **out, mcap_reader *r, mcap_source *src,
                           pl_error_info *err) {
  *out = NULL;
  struct du *d = du_new(err);
  if (!d) return PL_ENOMEM;
  d->pub.approximate = 1;
  d->pub.file_size = src->size;
  int rc = PL_OK;
  for (size_t i = 0; rc == PL_OK && i < mcap_reader_channel_count(r); i++) {
    const mcap_channel *c = mcap_reader_channel_at(r, i);
    if (set_topic(d, c->id, c->topic) != 0) rc = PL_ENOMEM;
  }
  uint64_t unindexed_uncompressed = 0, unindexed_disk = 0;
  struct idx_ent *ents = NULL;
  size_t cap = 0;
  size_t n_chunks = mcap_reader_chunk_count(r);
  uint64_t n_mi = 0, mi_bytes = 0, chunk_bytes = 0;
  for (size_t i = 0; rc == PL_OK && i < n_chunks; i++) {
    const mcap_chunk_index *ci = mcap_reader_chunk_at(r, i);
    chunk_bytes += ci->chunk_length;
    n_mi += mcap_map_u16u64_count(&ci->message_index_offsets);
    mi_bytes += ci->message_index_length;
    int got = chunk_from_index(d, src, ci, &ents, &cap);
    if (got < 0) rc = PL_ENOMEM;
    if (got == 0) {
      unindexed_uncompressed += ci->uncompressed_size;
      unindexed_disk += ci->chunk_length;
    }
  }
  free(ents);
  if (rc != PL_OK) {
    pl_inspect_du_free(&d->pub);
    return pl__insp_fail(err, PL_ENOMEM, MCAP_ENOMEM, UINT64_MAX, "out of memory");
  }
  if (n_chunks) add_kind(d, "Chunk", n_chunks, chunk_bytes);
  if (n_mi) add_kind(d, "MessageIndex", n_mi, mi_bytes);
  uint64_t accounted = chunk_bytes + mi_bytes;
  if (unindexed_disk) unindexed_by_statistics(d, r, unindexed_uncompressed, unindexed_disk);
  accounted += other_kinds(d, r);
  if (accounted <= d->pub.file_size)
    add_kind(d, "(other records)", 0, d->pub.file_size - accounted);
  mcap_reader_damage(r, &d->pub.damage);
  return finish(d, out, err);
}

/* ---------------------------------------------------------------- tables */

static int cmp_row(const void *a, const void *b) {
  const pl_inspect_du_topic *x = a, *y = b;
  if (x->bytes != y->bytes) return x->bytes > y->bytes ? -1 : 1;
  return strcmp(x->topic, y->topic);
}

static int cmp_topic(const void *a, const void *b) {
  const pl_inspect_du_topic *x = a, *y = b;
  return strcmp(x->topic, y->topic);
}

static int cmp_kind(const void *a, const void *b) {
  const pl_inspect_du_kind *x = a, *y = b;
  if (x->bytes != y->bytes) return x->bytes > y->bytes ? -1 : 1;
  return strcmp(x->name, y->name);
}

static int cmp_u16(const void *a, const void *b) {
  uint16_t x = *(const uint16_t *)a, y = *(const uint16_t *)b;
  return (x > y) - (x < y);
}

/* Kinds largest first; one row per topic (channels sharing a topic added up), largest first. */
static int finish(struct du *d, pl_inspect_du **out, pl_error_info *err) {
  pl_inspect_du *p = &d->pub;
  qsort(d->kinds, p->n_kinds, sizeof d->kinds[0], cmp_kind);
  size_t n = 0;
  /* ascending ids, the order the rows were gathered in before the used list */
  if (d->n_used > 1) qsort(d->used, d->n_used, sizeof *d->used, cmp_u16);
  for (size_t i = 0; i < d->n_used; i++)
    n += d->ch[d->used[i]].messages || d->ch[d->used[i]].disk != 0;
  pl_inspect_du_topic *rows = malloc((n ? n : 1) * sizeof *rows);
  if (!rows) {
    pl_inspect_du_free(p);
    return pl__insp_fail(err, PL_ENOMEM, MCAP_ENOMEM, UINT64_MAX, "out of memory");
  }
  n = 0;
  for (size_t i = 0; i < d->n_used; i++) {
    const struct du_chan *c = &d->ch[d->used[i]];
    if (!c->messages && !c->topic) continue;
    if (!c->messages && c->disk == 0) continue; /* declared, never used */
    rows[n].topic = c->topic ? c->topic : "(unknown channel)";
    rows[n].messages = c->messages;
    rows[n].bytes = c->message_bytes;
    rows[n].disk = c->disk;
    n++;
  }
  qsort(rows, n, sizeof *rows, cmp_topic);
  size_t m = 0;
  for (size_t i = 0; i < n; i++) {
    if (m && strcmp(rows[m - 1].topic, rows[i].topic) == 0) {
      rows[m - 1].messages += rows[i].messages;
      rows[m - 1].bytes += rows[i].bytes;
      rows[m - 1].disk += rows[i].disk;
    } else {
      rows[m++] = rows[i];
    }
  }
  qsort(rows, m, sizeof *rows, cmp_row);
  p->topics = rows;
  p->n_topics = m;
  *out = p;
  return PL_OK;
}
