/*
 * merge.c - pl_merge(): several recordings into one, messages in log-time
 * order by a k-way merge over the inputs' log-time queries (a binary heap
 * keyed by log time, then input position; each input's own ties stay in its
 * file order).
 *
 * Ids: every input schema and channel gets an output id. Schemas with equal
 * name, encoding and data share one; channels share one per the coalesce
 * mode (auto: equal topic, encoding, output schema and metadata; force: the
 * same without metadata; none: never). Metadata records equal in name and
 * content are written once; two with one name and different content are an
 * error unless allowed. Attachments are all kept. Metadata and attachments of
 * every input (in input order, each input in file order) precede the
 * messages.
 *
 * Memory: each open input holds its reader's index, a read buffer and the
 * chunk being merged, so inputs beyond max_open_inputs are merged in rounds:
 * groups of inputs into temporary files, then those files. Coalescing,
 * deduplication and tie order give the same result either way.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rewrite_internal.h"

#define DEFAULT_MAX_OPEN 8
#define NO_ID UINT32_MAX

enum { M_QUERY = 0, M_BLOCKS = 1 };

struct min {
  const char *path;
  mcap_source raw; /* for the metadata/attachment hop and, in block mode, chunks */
  mcap_reader *r;
  uint32_t *schema_map;  /* [PL__IDS] input id -> output id */
  uint32_t *channel_map; /* [PL__IDS] */
  int mode;
  /* M_QUERY: the reader's log-time query */
  mcap_message_iter *it;
  mcap_message_view cur;
  int has;
  /* M_BLOCKS: chunk by chunk (the input's chunks follow each other in time) */
  size_t next_chunk, n_chunks;
  int in_block;            /* messages of a decompressed chunk pending */
  struct pl__mi_ent *ents; /* its messages in log-time order */
  size_t n_ents, cap_ents, pos;
  uint8_t *dec;
  size_t dec_cap;
  mcap_decompressor *d;
  struct pl_buf tmp;
  uint8_t *seen; /* [2 * PL__IDS] schema / channel definitions met in chunks */
  size_t want_defs, seen_defs;
  int repeat;
  mcap_damage blocks; /* chunks block mode could not read (skipped) */
};

/* An output schema or channel, for coalescing lookups. */
struct okey {
  uint64_t hash;
  uint16_t out_id;
  const struct min *in; /* where its definition lives (for the full comparison) */
  uint16_t in_id;
  struct okey *next;
};

struct meta {
  uint64_t hash;
  const struct min *from; /* the input it came from */
  char *name;
  uint8_t *map;
  uint32_t map_len;
  struct meta *next;
};

#define NBUCKETS 4096

struct merge {
  const pl_merge_options *o;
  pl_merge_stats *st;
  pl_error_info *err;
  mcap_writer *w;
  struct min *in;
  size_t n;
  struct okey *schemas[NBUCKETS], *channels[NBUCKETS];
  struct meta *metas[NBUCKETS];
  uint32_t next_schema, next_channel; /* where to look for a free id */
  uint8_t schema_used[PL__IDS], channel_used[PL__IDS];
  size_t *heap;
  size_t n_heap;
  struct min *cur_input; /* for the attachment/metadata hop */
  int passthrough;       /* chunks may be copied compressed */
  const char *out_comp;  /* the output's Chunk.compression string */
};

static uint64_t mix(uint64_t h, const void *p, size_t n) {
  /* FNV-1a: only for bucketing; equality is always checked in full. */
  const uint8_t *b = p;
  for (size_t i = 0; i < n; i++) {
    h ^= b[i];
    h *= UINT64_C(0x100000001b3);
  }
  return h ^ n;
}

static int str_eq(mcap_str a, mcap_str b) {
  return a.len == b.len && (a.len == 0 || memcmp(a.data, b.data, a.len) == 0);
}

/* ----------------------------------------------------------- ids */

static int map_schema(struct merge *m, struct min *in, const mcap_schema *s) {
  uint64_t h = mix(UINT64_C(0xcbf29ce484222325), s->name.data, s->name.len);
  h = mix(h, s->encoding.data, s->encoding.len);
  h = mix(h, s->data.data, (size_t)s->data.len);
  for (struct okey *k = m->schemas[h % NBUCKETS]; k; k = k->next) {
    if (k->hash != h) continue;
    const mcap_schema *o = mcap_reader_schema(k->in->r, k->in_id);
    if (o && str_eq(o->name, s->name) && str_eq(o->encoding, s->encoding) &&
        o->data.len == s->data.len &&
        (!s->data.len || memcmp(o->data.data, s->data.data, (size_t)s->data.len) == 0)) {
      in->schema_map[s->id] = k->out_id;
      return PL_OK;
    }
  }
  mcap_schema out = *s;
  /* Keep the input's id when it is free (merging parts of one recording then changes no id). */
  if (!m->schema_used[s->id]) {
    out.id = s->id;
  } else {
    while (m->next_schema <= UINT16_MAX && m->schema_used[m->next_schema]) m->next_schema++;
    if (m->next_schema > UINT16_MAX)
      return pl_error_set(m->err, PL_EINVAL, UINT64_MAX, "more than 65535 distinct schemas");
    out.id = (uint16_t)m->next_schema;
  }
  m->schema_used[out.id] = 1;
  int rc = mcap_writer_put_schema(m->w, &out);
  if (rc) return pl__werr(m->w, rc, m->err, "writing a schema");
  struct okey *k = calloc(1, sizeof *k);
  if (!k) return pl_error_set(m->err, PL_ENOMEM, UINT64_MAX, "out of memory");
  k->hash = h;
  k->out_id = out.id;
  k->in = in;
  k->in_id = s->id;
  k->next = m->schemas[h % NBUCKETS];
  m->schemas[h % NBUCKETS] = k;
  in->schema_map[s->id] = out.id;
  m->st->schemas++;
  return PL_OK;
}

static int map_channel(struct merge *m, struct min *in, const mcap_channel *c) {
  uint32_t sid = 0;
  if (c->schema_id != 0) {
    sid = in->schema_map[c->schema_id];
    if (sid == NO_ID)
      return pl_error_set_mcap(m->err, MCAP_ESCHEMA_ID, UINT64_MAX,
                               "%s: channel %u refers to schema %u, which is not defined", in->path,
                               c->id, c->schema_id);
  }
  m->st->channels_in++;
  int coalesce = m->o->coalesce != PL_COALESCE_NONE;
  int with_meta = m->o->coalesce == PL_COALESCE_AUTO;
  uint64_t h = mix(UINT64_C(0xcbf29ce484222325), c->topic.data, c->topic.len);
  h = mix(h, c->message_encoding.data, c->message_encoding.len);
  h = mix(h, &sid, sizeof sid);
  if (with_meta) h = mix(h, c->metadata.data, c->metadata.len);
  if (coalesce) {
    for (struct okey *k = m->channels[h % NBUCKETS]; k; k = k->next) {
      if (k->hash != h) continue;
      const mcap_channel *o = mcap_reader_channel(k->in->r, k->in_id);
      uint32_t osid = o && o->schema_id ? k->in->schema_map[o->schema_id] : 0;
      if (o && osid == sid && str_eq(o->topic, c->topic) &&
          str_eq(o->message_encoding, c->message_encoding) &&
          (!with_meta || (o->metadata.len == c->metadata.len &&
                          (!c->metadata.len ||
                           memcmp(o->metadata.data, c->metadata.data, c->metadata.len) == 0)))) {
        in->channel_map[c->id] = k->out_id;
        return PL_OK;
      }
    }
  }
  mcap_channel out = *c;
  if (!m->channel_used[c->id]) {
    out.id = c->id;
  } else {
    while (m->next_channel <= UINT16_MAX && m->channel_used[m->next_channel]) m->next_channel++;
    if (m->next_channel > UINT16_MAX)
      return pl_error_set(m->err, PL_EINVAL, UINT64_MAX, "more than 65535 output channels");
    out.id = (uint16_t)m->next_channel;
  }
  m->channel_used[out.id] = 1;
  out.schema_id = (uint16_t)sid;
  int rc = mcap_writer_put_channel(m->w, &out);
  if (rc) return pl__werr(m->w, rc, m->err, "writing a channel");
  struct okey *k = calloc(1, sizeof *k);
  if (!k) return pl_error_set(m->err, PL_ENOMEM, UINT64_MAX, "out of memory");
  k->hash = h;
  k->out_id = out.id;
  k->in = in;
  k->in_id = c->id;
  k->next = m->channels[h % NBUCKETS];
  m->channels[h % NBUCKETS] = k;
  in->channel_map[c->id] = out.id;
  m->st->channels++;
  return PL_OK;
}

/* ---------------------------------------------- metadata and attachments */

/*
 * One input's Metadata record. Records of one file are all kept, whatever their names
 * (rosbag2 writes two named "rosbag2"); between inputs, a record identical to one another
 * input gave is written once, and a same-named record that differs from every one the
 * other inputs gave is a conflict (unless allow_duplicate_metadata).
 */
static int merge_metadata(struct merge *m, const struct min *from, const mcap_metadata *md) {
  uint64_t hn = mix(UINT64_C(0xcbf29ce484222325), md->name.data, md->name.len);
  const struct meta *differs = NULL;
  for (struct meta *e = m->metas[hn % NBUCKETS]; e; e = e->next) {
    if (e->from == from || e->hash != hn || strlen(e->name) != md->name.len ||
        (md->name.len && memcmp(e->name, md->name.data, md->name.len) != 0))
      continue;
    if (e->map_len == md->metadata.len &&
        (!e->map_len || memcmp(e->map, md->metadata.data, e->map_len) == 0)) {
      m->st->metadata_duplicates++;
      return PL_OK;
    }
    differs = e;
  }
  if (differs && !m->o->allow_duplicate_metadata)
    return pl_error_set(m->err, PL_ECONFLICT, UINT64_MAX,
                        "metadata '%s' differs between inputs ('%s' and '%s'; allow it with "
                        "--allow-duplicate-metadata)",
                        differs->name, differs->from->path, from->path);
  struct meta *e = calloc(1, sizeof *e);
  if (!e) return pl_error_set(m->err, PL_ENOMEM, UINT64_MAX, "out of memory");
  e->hash = hn;
  e->from = from;
  e->name = pl_strview(md->name);
  e->map_len = md->metadata.len;
  e->map = malloc(e->map_len ? e->map_len : 1);
  if (!e->name || !e->map) {
    free(e->name);
    free(e->map);
    free(e);
    return pl_error_set(m->err, PL_ENOMEM, UINT64_MAX, "out of memory");
  }
  if (e->map_len) memcpy(e->map, md->metadata.data, e->map_len);
  e->next = m->metas[hn % NBUCKETS];
  m->metas[hn % NBUCKETS] = e;
  int rc = mcap_writer_write_metadata_record(m->w, md);
  if (rc) return pl__werr(m->w, rc, m->err, "writing metadata");
  m->st->metadata++;
  return PL_OK;
}

static int hop(void *ctx, uint8_t op, uint64_t off, uint64_t len) {
  struct merge *m = ctx;
  struct min *in = m->cur_input;
  if (op == MCAP_OP_ATTACHMENT && !m->o->no_attachments) {
    int written = 0, damaged = 0;
    int rc = pl__copy_attachment(m->w, &in->raw, off, len, 1, NULL, NULL, &written, &damaged, m->err);
    if (rc) return rc;
    if (damaged) {
      pl_damage_one(&in->blocks, m->err, off, 9 + len);
      return PL_OK;
    }
    m->st->attachments++;
    return PL_OK;
  }
  if (op != MCAP_OP_METADATA || m->o->no_metadata) return PL_OK;
  if (len > PL__MAX_SMALL_RECORD)
    return pl_error_set_mcap(m->err, MCAP_ELIMIT, off, "%s: metadata at offset %llu is too large",
                             in->path, (unsigned long long)off);
  struct pl_buf tmp = {0};
  const uint8_t *p;
  uint64_t got;
  mcap_record rec;
  int rc = pl_source_pull(&in->raw, &tmp, off + 9, len, &p, &got, m->err);
  if (!rc && (got < len || mcap_record_parse(MCAP_OP_METADATA, p, len, off, &rec, NULL)))
    rc = pl_error_set_mcap(m->err, MCAP_ERECORD, off, "%s: metadata at offset %llu is malformed",
                           in->path, (unsigned long long)off);
  if (!rc) rc = merge_metadata(m, in, &rec.u.metadata);
  pl_buf_dispose(&tmp);
  return rc;
}

/* ----------------------------------------------------------------- heap */

/* The log time of what an input gives next. */
static uint64_t key(const struct min *in) {
  if (in->mode == M_QUERY) return in->cur.message.log_time;
  if (in->in_block) return in->ents[in->pos].log_time;
  return mcap_reader_chunk_at(in->r, in->next_chunk)->message_start_time;
}

static int has_more(const struct min *in) {
  return in->mode == M_QUERY ? in->has : in->in_block || in->next_chunk < in->n_chunks;
}

static int before(const struct merge *m, size_t a, size_t b) {
  uint64_t ta = key(&m->in[a]), tb = key(&m->in[b]);
  return ta != tb ? ta < tb : a < b;
}

static void sift_down(struct merge *m, size_t i) {
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, s = i;
    if (l < m->n_heap && before(m, m->heap[l], m->heap[s])) s = l;
    if (r < m->n_heap && before(m, m->heap[r], m->heap[s])) s = r;
    if (s == i) return;
    size_t t = m->heap[i];
    m->heap[i] = m->heap[s];
    m->heap[s] = t;
    i = s;
  }
}

static int advance(struct merge *m, struct min *in) {
  int rc = mcap_message_iter_next(in->it, &in->cur);
  if (rc == MCAP_OK) {
    in->has = 1;
    return PL_OK;
  }
  in->has = 0;
  if (rc == MCAP_ITEROVER) return PL_OK;
  return pl_error_set_mcap(m->err, rc, UINT64_MAX, "%s: %s", in->path, mcap_reader_errmsg(in->r));
}

/* ---------------------------------------------------------- block mode */

static int by_time(const void *a, const void *b) {
  const struct pl__mi_ent *x = a, *y = b;
  if (x->log_time != y->log_time) return x->log_time < y->log_time ? -1 : 1;
  return (x->offset > y->offset) - (x->offset < y->offset);
}

/* Decompress the input's next chunk: its messages become the pending block. */
/* A chunk block mode cannot read: counted as damage and skipped. */
static int skip_block(struct min *in, const mcap_chunk_index *ci, int code, const char *why) {
  mcap_damage one;
  memset(&one, 0, sizeof one);
  one.problems = 1;
  one.code = code;
  one.first_offset = ci->chunk_start_offset;
  one.bytes_skipped = ci->chunk_length;
  one.chunks_skipped = 1;
  uint64_t k = mcap_map_u16u64_count(&ci->message_index_offsets);
  if (k && ci->message_index_length >= 15 * k && (ci->message_index_length - 15 * k) % 16 == 0)
    one.messages_skipped = (ci->message_index_length - 15 * k) / 16;
  snprintf(one.msg, sizeof one.msg, "%.*s", (int)sizeof one.msg - 1, why);
  pl_damage_add(&in->blocks, &one);
  in->next_chunk++;
  in->pos = 0;
  in->in_block = 0;
  return PL_OK;
}

static int open_block(struct merge *m, struct min *in) {
  const mcap_chunk_index *ci = mcap_reader_chunk_at(in->r, in->next_chunk);
  char why[300];
  const uint8_t *p;
  uint64_t got, off = ci->chunk_start_offset;
  mcap_record rec;
  mcap_error_info me;
  memset(&me, 0, sizeof me);
  int rc = ci->chunk_length < 9
               ? PL_OK
               : pl_source_pull(&in->raw, &in->tmp, off, ci->chunk_length, &p, &got, m->err);
  if (rc) return rc;
  if (ci->chunk_length < 9 || got < ci->chunk_length || p[0] != MCAP_OP_CHUNK ||
      mcap_record_parse(MCAP_OP_CHUNK, p + 9, ci->chunk_length - 9, off, &rec, &me) != MCAP_OK) {
    snprintf(why, sizeof why, "no readable chunk at offset %llu%s%.200s",
             (unsigned long long)off, me.msg[0] ? ": " : "", me.msg);
    return skip_block(in, ci, MCAP_ECHUNK_OFFSET, why);
  }
  const mcap_chunk *ck = &rec.u.chunk;
  if (ck->uncompressed_size > PL__MAX_CHUNK) {
    snprintf(why, sizeof why, "chunk at offset %llu is too large", (unsigned long long)off);
    return skip_block(in, ci, MCAP_ELIMIT, why);
  }
  size_t usize = (size_t)ck->uncompressed_size;
  if (usize > in->dec_cap) {
    uint8_t *q = realloc(in->dec, usize ? usize : 1);
    if (!q) return pl_error_set(m->err, PL_ENOMEM, off, "out of memory");
    in->dec = q;
    in->dec_cap = usize;
  }
  int mrc = mcap_chunk_decompress(in->d, ck, in->dec, usize, 0, &me);
  if (mrc == MCAP_ENOMEM) return pl_error_set(m->err, PL_ENOMEM, off, "out of memory");
  if (mrc) {
    snprintf(why, sizeof why, "chunk at offset %llu: %.250s", (unsigned long long)off, me.msg);
    return skip_block(in, ci, mrc, why);
  }
  m->st->chunks_decompressed++;
  in->n_ents = 0;
  int in_order = 1;
  for (size_t q = 0; q < usize;) {
    if (usize - q < 9) break;
    uint8_t op = in->dec[q];
    uint64_t len = 0;
    for (int k = 0; k < 8; k++) len |= (uint64_t)in->dec[q + 1 + (size_t)k] << (8 * k);
    if (len > usize - q - 9) break;
    mcap_record r2;
    if ((op == MCAP_OP_MESSAGE || op == MCAP_OP_SCHEMA || op == MCAP_OP_CHANNEL) &&
        mcap_record_parse(op, in->dec + q + 9, len, off, &r2, NULL) == MCAP_OK) {
      if (op == MCAP_OP_MESSAGE) {
        if (pl_grow((void **)&in->ents, &in->cap_ents, in->n_ents + 1, sizeof *in->ents))
          return pl_error_set(m->err, PL_ENOMEM, off, "out of memory");
        struct pl__mi_ent *e = &in->ents[in->n_ents++];
        e->channel = r2.u.message.channel_id;
        e->log_time = r2.u.message.log_time;
        e->offset = q;
        if (in->n_ents > 1 && e->log_time < in->ents[in->n_ents - 2].log_time) in_order = 0;
      } else {
        /* Definitions met: once all the input lists have been, chunks need no look inside. */
        int sch = op == MCAP_OP_SCHEMA;
        uint16_t id = sch ? r2.u.schema.id : r2.u.channel.id;
        size_t k = (sch ? 0 : PL__IDS) + id;
        int listed =
            sch ? mcap_reader_schema(in->r, id) != NULL : mcap_reader_channel(in->r, id) != NULL;
        if (in->seen[k]) {
          in->repeat = 1;
        } else {
          in->seen[k] = 1;
          if (listed) in->seen_defs++;
        }
      }
    }
    q += 9 + (size_t)len;
  }
  if (!in_order) qsort(in->ents, in->n_ents, sizeof *in->ents, by_time);
  in->next_chunk++;
  in->pos = 0;
  in->in_block = in->n_ents > 0;
  return PL_OK;
}

/* Write the pending block's next message. */
static int block_message(struct merge *m, struct min *in) {
  size_t q = (size_t)in->ents[in->pos].offset;
  uint64_t len = 0;
  for (int k = 0; k < 8; k++) len |= (uint64_t)in->dec[q + 1 + (size_t)k] << (8 * k);
  mcap_record rec;
  if (mcap_record_parse(MCAP_OP_MESSAGE, in->dec + q + 9, len, 0, &rec, NULL) != MCAP_OK)
    return pl_error_set_mcap(m->err, MCAP_ERECORD, UINT64_MAX, "%s: malformed message", in->path);
  uint32_t out_id = in->channel_map[rec.u.message.channel_id];
  if (out_id == NO_ID)
    return pl_error_set_mcap(m->err, MCAP_ECHANNEL_ID, UINT64_MAX,
                             "%s: message on unknown channel %u", in->path,
                             rec.u.message.channel_id);
  rec.u.message.channel_id = (uint16_t)out_id;
  int mrc = mcap_writer_write_message(m->w, &rec.u.message);
  if (mrc) return pl__werr(m->w, mrc, m->err, "writing a message");
  m->st->messages++;
  if (++in->pos == in->n_ents) in->in_block = 0;
  return PL_OK;
}

/*
 * Copy the input's next chunk compressed when that gives the same file as merging its
 * messages: nothing of another input falls inside its time range (the next thing of every
 * other input is later, or as late and from a later input), its channels keep their ids, it
 * holds no definitions (it starts with a message, and every definition of the input has been
 * met), its messages are in log-time order, and its compression is the output's.
 * @return 1 copied, 0 not (nothing done), or a negative error.
 */
static int try_copy(struct merge *m, size_t idx, int other, uint64_t other_t) {
  struct min *in = &m->in[idx];
  const mcap_chunk_index *ci = mcap_reader_chunk_at(in->r, in->next_chunk);
  if (!m->passthrough || in->repeat || in->seen_defs < in->want_defs) return 0;
  if (other >= 0 &&
      !(ci->message_end_time < other_t || (ci->message_end_time == other_t && (size_t)other > idx)))
    return 0;
  size_t clen = strlen(m->out_comp);
  if (ci->compression.len != clen || (clen && memcmp(ci->compression.data, m->out_comp, clen) != 0))
    return 0;
  mcap_map_iter it = {0};
  uint16_t ch;
  uint64_t mi_off, first = UINT64_MAX;
  size_t k = 0;
  while (mcap_map_next_u16u64(&ci->message_index_offsets, &it, &ch, &mi_off) == MCAP_OK) {
    if (in->channel_map[ch] != ch) return 0;
    if (mi_off < first) first = mi_off;
    k++;
  }
  if (!k || ci->message_index_length > (UINT64_C(64) << 20)) return 0;
  /* The message indexes: contiguous after the chunk. */
  const uint8_t *p;
  uint64_t got;
  int rc = pl_source_pull(&in->raw, &in->tmp, first, ci->message_index_length, &p, &got, m->err);
  if (rc) return rc;
  if (got < ci->message_index_length) return 0;
  struct pl_buf mib = {0};
  if (pl_buf_append(&mib, p, (size_t)got))
    return pl_error_set(m->err, PL_ENOMEM, first, "out of memory");
  mcap_message_index *mis = calloc(k, sizeof *mis);
  struct pl__mi_ent *ents = NULL;
  size_t n_mis = 0, n_ents = 0, cap_ents = 0;
  int ok = mis != NULL;
  if (!mis) rc = pl_error_set(m->err, PL_ENOMEM, first, "out of memory");
  for (size_t q = 0; ok && q < mib.len;) {
    uint64_t len = 0;
    mcap_record rec;
    if (mib.len - q < 9 || mib.data[q] != MCAP_OP_MESSAGE_INDEX || n_mis == k) {
      ok = 0;
      break;
    }
    for (int b = 0; b < 8; b++) len |= (uint64_t)mib.data[q + 1 + (size_t)b] << (8 * b);
    if (len > mib.len - q - 9 ||
        mcap_record_parse(MCAP_OP_MESSAGE_INDEX, mib.data + q + 9, len, 0, &rec, NULL)) {
      ok = 0;
      break;
    }
    mis[n_mis++] = rec.u.message_index;
    uint64_t n = mcap_message_index_count(&rec.u.message_index);
    for (uint64_t e = 0; e < n && ok; e++) {
      if (pl_grow((void **)&ents, &cap_ents, n_ents + 1, sizeof *ents)) {
        rc = pl_error_set(m->err, PL_ENOMEM, first, "out of memory");
        ok = 0;
        break;
      }
      mcap_message_index_entry(&rec.u.message_index, e, &ents[n_ents].log_time,
                               &ents[n_ents].offset);
      n_ents++;
    }
    q += 9 + (size_t)len;
  }
  /* It starts with a message, and its record order is log-time order. */
  if (ok && n_ents) {
    qsort(ents, n_ents, sizeof *ents, by_time);
    uint64_t omin = UINT64_MAX;
    for (size_t i = 0; i < n_ents; i++) {
      if (ents[i].offset < omin) omin = ents[i].offset;
      if (i && ents[i].offset < ents[i - 1].offset) ok = 0;
    }
    if (omin != 0) ok = 0;
  } else {
    ok = 0;
  }
  if (ok) {
    mcap_record rec;
    rc = pl_source_pull(&in->raw, &in->tmp, ci->chunk_start_offset, ci->chunk_length, &p, &got,
                        m->err);
    if (!rc && (got < ci->chunk_length || ci->chunk_length < 9 || p[0] != MCAP_OP_CHUNK ||
                mcap_record_parse(MCAP_OP_CHUNK, p + 9, ci->chunk_length - 9, 0, &rec, NULL)))
      ok = 0;
    if (!rc && ok) {
      int mrc = mcap_writer_write_chunk_raw(m->w, &rec.u.chunk, mis, n_mis);
      if (mrc) {
        rc = pl__werr(m->w, mrc, m->err, "copying a chunk");
      } else {
        m->st->messages += n_ents;
        m->st->chunks_copied++;
        in->next_chunk++;
      }
    }
  }
  free(ents);
  free(mis);
  pl_buf_dispose(&mib);
  if (rc) return rc;
  return ok;
}

/* The earliest next thing of the inputs other than the one at the top of the heap. */
static void runner_up(const struct merge *m, int *idx, uint64_t *t) {
  *idx = -1;
  *t = 0;
  for (size_t c = 1; c <= 2 && c < m->n_heap; c++) {
    size_t j = m->heap[c];
    if (*idx < 0 || before(m, j, (size_t)*idx)) {
      *idx = (int)j;
      *t = key(&m->in[j]);
    }
  }
}

/* --------------------------------------------------------------- one pass */

static void close_inputs(struct merge *m) {
  for (size_t i = 0; i < m->n; i++) {
    free(m->in[i].ents);
    free(m->in[i].dec);
    free(m->in[i].seen);
    pl_buf_dispose(&m->in[i].tmp);
    mcap_decompressor_free(m->in[i].d);
    mcap_message_iter_free(m->in[i].it);
    mcap_reader_free(m->in[i].r);
    mcap_source_close(&m->in[i].raw);
    free(m->in[i].schema_map);
    free(m->in[i].channel_map);
  }
  free(m->in);
  m->in = NULL;
  for (size_t b = 0; b < NBUCKETS; b++) {
    for (struct okey *k = m->schemas[b], *nx; k; k = nx) {
      nx = k->next;
      free(k);
    }
    for (struct okey *k = m->channels[b], *nx; k; k = nx) {
      nx = k->next;
      free(k);
    }
    for (struct meta *e = m->metas[b], *nx; e; e = nx) {
      nx = e->next;
      free(e->name);
      free(e->map);
      free(e);
    }
  }
}

static int open_input(struct merge *m, struct min *in, const char *path) {
  mcap_error_info me;
  memset(&me, 0, sizeof me);
  in->path = path;
  in->schema_map = malloc(PL__IDS * sizeof *in->schema_map);
  in->channel_map = malloc(PL__IDS * sizeof *in->channel_map);
  if (!in->schema_map || !in->channel_map)
    return pl_error_set(m->err, PL_ENOMEM, 0, "out of memory");
  for (size_t i = 0; i < PL__IDS; i++) in->schema_map[i] = in->channel_map[i] = NO_ID;
  mcap_source src;
  int rc = mcap_source_open_file(&src, path, &me);
  if (!rc) rc = mcap_source_open_file(&in->raw, path, &me);
  if (rc) return pl_error_set_mcap(m->err, rc, UINT64_MAX, "%s", me.msg);
  mcap_indexed_options io;
  memset(&io, 0, sizeof io);
  io.threads = 1;
  io.memory_budget = UINT64_C(16) << 20;
  io.skip_bad_chunks = 1; /* counted in the reader's damage (merge_pass reports it) */
  rc = mcap_reader_open(&in->r, &src, &io, &me);
  if (rc) {
    in->r = NULL;
    return pl_error_set_mcap(m->err, rc, me.offset, "%s: %s", path,
                             me.msg[0] ? me.msg : mcap_strerror(rc));
  }
  return PL_OK;
}

static int merge_pass(const char *const *inputs, size_t n, size_t base, mcap_sink *sink,
                      const pl_merge_options *o, pl_merge_stats *st, pl_error_info *err) {
  struct merge *m = calloc(1, sizeof *m);
  if (!m) return pl_error_set(err, PL_ENOMEM, 0, "out of memory");
  m->o = o;
  m->st = st;
  m->err = err;
  m->next_schema = 1;
  m->next_channel = 1;
  m->schema_used[0] = 1; /* schema id 0 means "no schema" */
  int rc = PL_OK;
  m->in = calloc(n, sizeof *m->in);
  m->heap = calloc(n ? n : 1, sizeof *m->heap);
  if (!m->in || !m->heap) {
    rc = pl_error_set(err, PL_ENOMEM, 0, "out of memory");
    goto out;
  }
  m->n = n;
  for (size_t i = 0; i < n && !rc; i++) rc = open_input(m, &m->in[i], inputs[i]);
  if (rc) goto out;

  /* One profile if they agree, else none. */
  const mcap_header *h0 = mcap_reader_header(m->in[0].r);
  int same_profile = 1;
  for (size_t i = 1; i < n; i++) {
    const mcap_header *h = mcap_reader_header(m->in[i].r);
    if (!str_eq(h->profile, h0->profile)) same_profile = 0;
  }
  char *profile = same_profile ? pl_strview(h0->profile) : pl_strdup("");
  if (!profile) {
    rc = pl_error_set(err, PL_ENOMEM, 0, "out of memory");
    goto out;
  }
  mcap_writer_options wo;
  mcap_writer_options_init(&wo);
  wo.profile = profile;
  wo.compression =
      o->compression == MCAP_COMPRESSION_DEFAULT ? MCAP_COMPRESSION_ZSTD : o->compression;
  wo.compression_level = o->compression_level;
  wo.chunk_size = o->chunk_size;
  wo.no_chunking = o->no_chunks;
  if (o->no_crc) wo.no_chunk_crc = wo.no_data_crc = wo.no_summary_crc = wo.no_attachment_crc = 1;
  int threads = o->threads > 0 ? o->threads : pl__cores();
  wo.workers = threads > 1 ? threads : 0;
  int mrc = mcap_writer_open(&m->w, sink, &wo);
  free(profile);
  if (mrc) {
    m->w = NULL;
    rc = pl_error_set_mcap(err, mrc, 0, "cannot start the output: %s", mcap_strerror(mrc));
    goto out;
  }

  /* Ids, in input order. */
  for (size_t i = 0; i < n && !rc; i++) {
    struct min *in = &m->in[i];
    for (size_t k = 0; k < mcap_reader_schema_count(in->r) && !rc; k++)
      rc = map_schema(m, in, mcap_reader_schema_at(in->r, k));
    for (size_t k = 0; k < mcap_reader_channel_count(in->r) && !rc; k++)
      rc = map_channel(m, in, mcap_reader_channel_at(in->r, k));
  }
  /* Metadata and attachments, input by input. */
  for (size_t i = 0; i < n && !rc && (!o->no_metadata || !o->no_attachments); i++) {
    m->cur_input = &m->in[i];
    rc = pl__hop_records(&m->in[i].raw, m->in[i].r, hop, m, err);
  }
  if (rc) goto out;

  /* Messages: k-way merge. An input whose chunks follow each other in time is read chunk by
   * chunk (a chunk nothing else interleaves with can then be copied compressed); any other
   * through its reader's log-time query. */
  m->passthrough = !o->no_passthrough && !o->no_chunks && !o->compression_level && !o->chunk_size;
  m->out_comp = mcap_compression_name(wo.compression);
  uint64_t total = 0, last = 0;
  for (size_t i = 0; i < n && !rc; i++) {
    struct min *in = &m->in[i];
    total += mcap_reader_statistics(in->r, NULL)->message_count;
    if (pl__chunks_disjoint(in->r)) {
      in->mode = M_BLOCKS;
      in->n_chunks = mcap_reader_chunk_count(in->r);
      in->want_defs = mcap_reader_schema_count(in->r) + mcap_reader_channel_count(in->r);
      in->seen = calloc(2 * PL__IDS, 1);
      if (!in->seen || mcap_decompressor_new(&in->d) != MCAP_OK) {
        rc = pl_error_set(err, PL_ENOMEM, 0, "out of memory");
        break;
      }
    } else {
      mcap_query q;
      memset(&q, 0, sizeof q);
      q.order = MCAP_ORDER_LOG_TIME;
      mrc = mcap_reader_query(in->r, &q, &in->it);
      if (mrc) {
        in->it = NULL;
        rc = pl_error_set_mcap(err, mrc, UINT64_MAX, "%s: %s", in->path, mcap_reader_errmsg(in->r));
        break;
      }
      rc = advance(m, in);
    }
    if (!rc && has_more(in)) m->heap[m->n_heap++] = i;
  }
  for (size_t i = m->n_heap; i-- > 0;) sift_down(m, i);
  while (!rc && m->n_heap) {
    size_t idx = m->heap[0];
    struct min *in = &m->in[idx];
    if (in->mode == M_BLOCKS && in->in_block) {
      rc = block_message(m, in);
    } else if (in->mode == M_BLOCKS) {
      int other;
      uint64_t other_t;
      runner_up(m, &other, &other_t);
      rc = try_copy(m, idx, other, other_t);
      if (rc == 0) rc = open_block(m, in);
      if (rc > 0) rc = PL_OK;
    } else {
      mcap_message msg = in->cur.message;
      uint32_t out_id = in->channel_map[msg.channel_id];
      if (out_id == NO_ID) {
        rc = pl_error_set_mcap(err, MCAP_ECHANNEL_ID, UINT64_MAX,
                               "%s: message on unknown channel %u", in->path, msg.channel_id);
        break;
      }
      msg.channel_id = (uint16_t)out_id;
      mrc = mcap_writer_write_message(m->w, &msg);
      if (mrc) {
        rc = pl__werr(m->w, mrc, err, "writing a message");
        break;
      }
      st->messages++;
      rc = advance(m, in);
    }
    if (rc) break;
    if (o->progress && st->messages - last >= 4096) {
      last = st->messages;
      o->progress(o->progress_user, st->messages, total);
    }
    if (!has_more(in)) m->heap[0] = m->heap[--m->n_heap];
    sift_down(m, 0);
  }
  if (rc) goto out;
  mrc = mcap_writer_close(m->w);
  if (mrc) {
    rc = pl__werr(m->w, mrc, err, "finishing the output");
    goto out;
  }
  st->bytes_out = mcap_writer_bytes_written(m->w);
  if (o->progress) o->progress(o->progress_user, total, total);
  /* What each input could not give: its reader's (a scan that stopped, chunks a query
   * skipped) and block mode's skipped chunks. */
  for (size_t i = 0; i < n; i++) {
    mcap_damage d;
    mcap_reader_damage(m->in[i].r, &d);
    pl_damage_add(&d, &m->in[i].blocks);
    if (!d.problems) continue;
    pl_damage_add(&st->damage, &d);
    if (st->damaged_inputs++ == 0) st->first_damaged = base + i;
  }
out:
  mcap_writer_free(m->w);
  close_inputs(m);
  free(m->heap);
  free(m);
  return rc;
}

int pl_coalesce_parse(const char *s, pl_coalesce *out) {
  if (!s || !out) return PL_EINVAL;
  if (strcmp(s, "auto") == 0) {
    *out = PL_COALESCE_AUTO;
  } else if (strcmp(s, "force") == 0) {
    *out = PL_COALESCE_FORCE;
  } else if (strcmp(s, "none") == 0) {
    *out = PL_COALESCE_NONE;
  } else {
    return PL_EINVAL;
  }
  return PL_OK;
}

/* Merge `inputs` into a new temporary file in dir; *path_out gets its name. */
static int merge_to_temp(const char *const *inputs, size_t n, size_t base, const char *dir,
                         const pl_merge_options *o, pl_merge_stats *top, char **path_out,
                         pl_error_info *err) {
  char *path = NULL;
  int fd = pl__scratch_open(dir, "mcapkit-merge", &path, err);
  if (fd < 0) return err && err->code ? err->code : PL_EIO;
  mcap_sink sink;
  mcap_error_info me;
  memset(&me, 0, sizeof me);
  int rc = PL_OK;
  if (mcap_sink_from_fd(&sink, fd, &me) != MCAP_OK) {
    rc = pl_error_set(err, PL_ENOMEM, 0, "%s", me.msg);
  } else {
    /* Intermediate files favour speed: lz4, and everything kept as it is. */
    pl_merge_options io = *o;
    io.compression = MCAP_COMPRESSION_LZ4;
    io.compression_level = 0;
    io.no_chunks = 0;
    io.progress = NULL;
    pl_merge_stats ist;
    memset(&ist, 0, sizeof ist);
    rc = merge_pass(inputs, n, base, &sink, &io, &ist, err);
    if (!rc && ist.damaged_inputs) {
      /* only the first round reads the caller's inputs; later ones read our own files */
      if (!top->damaged_inputs) top->first_damaged = ist.first_damaged;
      top->damaged_inputs += ist.damaged_inputs;
      pl_damage_add(&top->damage, &ist.damage);
    }
    int crc = mcap_sink_close(&sink, &me);
    if (!rc && crc)
      rc = pl_error_set_mcap(err, crc, 0, "writing an intermediate file in '%s': %s", dir, me.msg);
  }
  close(fd);
  if (rc) {
    pl__scratch_release(path);
    return rc;
  }
  *path_out = path;
  return PL_OK;
}

int pl_merge(const char *const *inputs, size_t n_inputs, mcap_sink *sink, const pl_merge_options *o,
             pl_merge_stats *st, pl_error_info *err) {
  pl_merge_options defaults;
  pl_merge_stats local;
  if (!st) st = &local;
  memset(st, 0, sizeof *st);
  if (!o) {
    memset(&defaults, 0, sizeof defaults);
    o = &defaults;
  }
  if (!inputs || !n_inputs || !sink)
    return pl_error_set(err, PL_EINVAL, UINT64_MAX, "invalid argument: no inputs");
  size_t max_open = o->max_open_inputs ? o->max_open_inputs : DEFAULT_MAX_OPEN;
  if (max_open < 2) max_open = 2;
  const char *dir = o->tmp_dir ? o->tmp_dir : getenv("TMPDIR");
  if (!dir || !dir[0]) dir = "/tmp";

  /* Standard input is read once into a temporary file. */
  pl_input *spooled = calloc(n_inputs, sizeof *spooled);
  const char **cur = calloc(n_inputs, sizeof *cur);
  int rc = PL_OK;
  if (!spooled || !cur) {
    free(spooled);
    free(cur);
    return pl_error_set(err, PL_ENOMEM, 0, "out of memory");
  }
  for (size_t i = 0; i < n_inputs && !rc; i++) {
    /* standard input and streams (pipes, /dev/fd/N) are read once into a temporary file */
    cur[i] = inputs[i];
    if (inputs[i] && (strcmp(inputs[i], "-") == 0 || pl_input_is_stream(inputs[i]))) {
      rc = pl_input_open(inputs[i], dir, &spooled[i], err);
      if (!rc) cur[i] = spooled[i].path;
    }
  }
  /* Rounds: groups of max_open inputs into temporary files until few enough remain. */
  size_t n = n_inputs;
  char **temps = NULL;
  size_t n_temps = 0;
  st->rounds = 1;
  while (!rc && n > max_open) {
    size_t groups = (n + max_open - 1) / max_open;
    char **next = calloc(groups, sizeof *next);
    if (!next) {
      rc = pl_error_set(err, PL_ENOMEM, 0, "out of memory");
      break;
    }
    for (size_t g = 0; g < groups && !rc; g++) {
      size_t a = g * max_open, b = a + max_open < n ? a + max_open : n;
      rc = merge_to_temp(cur + a, b - a, st->rounds == 1 ? a : 0, dir, o, st, &next[g], err);
    }
    /* The previous round's temporary files are no longer needed. */
    for (size_t i = 0; i < n_temps; i++) pl__scratch_release(temps[i]);
    free(temps);
    temps = next;
    n_temps = groups;
    for (size_t g = 0; g < groups; g++) cur[g] = next[g] ? next[g] : "";
    n = groups;
    st->rounds++;
  }
  if (!rc) rc = merge_pass(cur, n, 0, sink, o, st, err);
  for (size_t i = 0; i < n_temps; i++) pl__scratch_release(temps[i]);
  free(temps);
  for (size_t i = 0; i < n_inputs; i++) pl_input_release(&spooled[i]);
  free(spooled);
  free(cur);
  return rc;
}
