/*
 * recover.c - pl_recover(): rescue what can be trusted from a truncated or
 * damaged MCAP file into a new, valid one, and say exactly what was lost.
 *
 * How. If the file's tail (footer and summary) survived and its CRC agrees,
 * it is read first: its schemas and channels stand in for definitions lost
 * with damaged data, and its statistics and chunk indexes are what the
 * result is compared with. Then one forward scan over the data section:
 *   - each record must be plausible before it is believed: a known opcode, a
 *     length that fits in the file, fields that parse; a Chunk must name a
 *     known compression and sane sizes; a Message must be on a known
 *     channel. An implausible record starts a resynchronisation: the bytes
 *     after it are searched for the next plausible record, and the skipped
 *     bytes are reported.
 *   - a chunk that decompresses whole with a good CRC gives all its records
 *     (and is copied compressed when nothing needs changing); one whose
 *     frame is cut short (the file ends inside it) or breaks in the middle is
 *     decompressed block by block as far as it goes, and the whole records
 *     of that prefix are kept (each block is decoded and checked as a unit,
 *     so the prefix comes from intact bytes); one that decompresses whole
 *     but fails its CRC is dropped, since where it is damaged cannot be known.
 *   - the MessageIndex records after a chunk, where they survive, must agree
 *     with the messages found in it, and they count what a damaged chunk
 *     held.
 *   - attachments are kept only when their CRC agrees (or they have none).
 * Nothing is invented: no record is written that was not found whole.
 *
 * Memory: a read window, one chunk (compressed and decompressed) and the
 * definitions; attachments are streamed.
 */
#include <lz4frame.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

#include "rewrite_internal.h"

#define MAX_KEPT_PROBLEMS 1000
#define SCAN_WINDOW ((uint64_t)1 << 20)
#define MAX_SUMMARY (UINT64_C(256) << 20)
#define MAX_INDEX_RECORD (UINT64_C(64) << 20)

struct sum_chunk {
  uint64_t offset;
  uint64_t messages; /* from its message index length */
  int counted;       /* its message count is known */
  int seen;          /* met during the scan */
};

struct mi_ref {
  size_t at; /* in mibuf */
  uint64_t len;
};

struct rc_ctx {
  pl_recover_options o;
  pl_recover_report *rep;
  pl_error_info *err;
  mcap_source src;
  uint64_t size;
  struct pl_buf tmp;
  struct pl_buf content; /* a record's content, owned */
  struct pl_buf mibuf;
  struct mi_ref *refs;
  size_t n_refs, cap_refs;
  mcap_message_index *mis;
  size_t n_mis, cap_mis;
  struct pl__mi_ent *ix; /* the surviving index entries, sorted by offset */
  size_t n_ix, cap_ix;
  mcap_sink *sink;
  mcap_writer *w;
  char *profile;
  struct pl__defs defs;
  struct pl__reg reg;
  uint8_t *conflict; /* [2 * PL__IDS]: a conflicting redefinition was reported */
  struct sum_chunk *schunks;
  size_t n_schunks, cap_schunks;
  mcap_str sum_compression; /* of the summary's first chunk index (owned copy in sum_comp) */
  char sum_comp[16];
  int have_sum_comp;
  mcap_decompressor *d;
  ZSTD_DCtx *zd;
  LZ4F_dctx *ld;
  uint8_t *dec;
  size_t dec_cap;
  struct pl__mi mi;
  size_t cap_problems;
  int passthrough;
  int threads;
  int have_stats;                /* the summary's Statistics record survived */
  uint64_t loose_messages;       /* written from outside chunks */
  uint64_t stat_start, stat_end; /* message time range from the statistics (have_stats and
                                    claimed_messages > 0) */
  uint64_t alt_len;              /* set by plausible() for a Chunk: its length by its own fields */
};

/* ---------------------------------------------------------------- report */

static void problem(struct rc_ctx *c, pl_severity sev, const char *code, uint64_t off,
                    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void problem(struct rc_ctx *c, pl_severity sev, const char *code, uint64_t off,
                    const char *fmt, ...) {
  pl_recover_report *r = c->rep;
  r->n_problems_total++;
  if (r->n_problems >= MAX_KEPT_PROBLEMS) return;
  char msg[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  pl_finding_add(&r->problems, &r->n_problems, &c->cap_problems, sev, code, off, "%s", msg);
}

void pl_recover_report_free(pl_recover_report *r) {
  if (!r) return;
  free(r->problems);
  free(r);
}

/* ------------------------------------------------------------- reading */

static uint64_t le64(const uint8_t *p) {
  uint64_t v = 0;
  for (int k = 0; k < 8; k++) v |= (uint64_t)p[k] << (8 * k);
  return v;
}

static uint32_t le32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Up to n bytes at off (fewer at the end of the file), borrowed until the next read. */
static int rd(struct rc_ctx *c, uint64_t off, uint64_t n, const uint8_t **p, uint64_t *got) {
  if (off >= c->size) {
    *p = NULL;
    *got = 0;
    return PL_OK;
  }
  if (n > c->size - off) n = c->size - off;
  return pl_source_pull(&c->src, &c->tmp, off, n, p, got, c->err);
}

/* Copy up to n bytes at off into c->content. */
static int rd_owned(struct rc_ctx *c, uint64_t off, uint64_t n, uint64_t *got) {
  const uint8_t *p;
  int rc = rd(c, off, n, &p, got);
  if (rc) return rc;
  c->content.len = 0;
  if (pl_buf_append(&c->content, p, (size_t)*got))
    return pl_error_set(c->err, PL_ENOMEM, off, "out of memory");
  return PL_OK;
}

/* --------------------------------------------------------------- writer */

static int flush_pending(struct rc_ctx *c);

static int open_writer(struct rc_ctx *c, const mcap_str *comp) {
  if (c->w) return PL_OK;
  mcap_writer_options wo;
  mcap_writer_options_init(&wo);
  wo.profile = c->profile;
  wo.chunk_size = c->o.chunk_size;
  wo.compression = c->o.compression;
  if (wo.compression == MCAP_COMPRESSION_DEFAULT) {
    mcap_compression cc;
    if (comp && pl__compression_of(*comp, &cc) == 0)
      wo.compression = cc;
    else if (c->have_sum_comp && pl__compression_of(c->sum_compression, &cc) == 0)
      wo.compression = cc;
    else
      wo.compression = MCAP_COMPRESSION_ZSTD;
  }
  wo.compression_level = c->o.compression_level;
  if (c->o.no_crc) wo.no_chunk_crc = wo.no_data_crc = wo.no_summary_crc = wo.no_attachment_crc = 1;
  wo.workers = c->threads > 1 ? c->threads : 0;
  int rc = mcap_writer_open(&c->w, c->sink, &wo);
  if (rc) {
    c->w = NULL;
    return pl_error_set_mcap(c->err, rc, 0, "cannot start the output: %s", mcap_strerror(rc));
  }
  c->o.compression = wo.compression;
  return flush_pending(c);
}

/* Register every definition met in the data section so far (channels without recovered
 * messages are kept: they were in the file). */
static int flush_pending(struct rc_ctx *c) {
  for (size_t id = 0; id < PL__IDS; id++) {
    struct pl__def *d = c->defs.schemas[id];
    if (d && d->seen && !c->reg.schema[id]) {
      int rc = mcap_writer_put_schema(c->w, &d->rec.u.schema);
      if (rc) return pl__werr(c->w, rc, c->err, "writing a schema");
      c->reg.schema[id] = 1;
      c->reg.n_schemas++;
    }
  }
  for (size_t id = 0; id < PL__IDS; id++) {
    struct pl__def *d = c->defs.channels[id];
    if (d && d->seen && !c->reg.channel[id]) {
      int rc = pl__reg_channel(c->w, &c->reg, &c->defs, (uint16_t)id, c->err);
      if (rc) return rc;
    }
  }
  return PL_OK;
}

/* A Schema/Channel record found at `off` (in_chunk: inside the chunk at off). */
static int note_def(struct rc_ctx *c, const mcap_record *rec, uint64_t off) {
  int schema = rec->opcode == MCAP_OP_SCHEMA;
  uint16_t id = schema ? rec->u.schema.id : rec->u.channel.id;
  int rc = pl__defs_put(&c->defs, rec);
  if (rc < 0) return pl_error_set(c->err, PL_ENOMEM, off, "out of memory");
  if (rc == 2) {
    size_t k = (schema ? 0 : PL__IDS) + id;
    if (!c->conflict[k]) {
      c->conflict[k] = 1;
      problem(c, PL_SEV_WARNING, "definition-conflict", off,
              "%s %u is defined again with different content; the first definition is kept",
              schema ? "schema" : "channel", id);
    }
    return PL_OK;
  }
  struct pl__def *d = pl__defs_get(&c->defs, rec->opcode, id);
  if (!d->seen) d->seen = 1;
  if (!c->w) return PL_OK;
  if (schema) {
    if (c->reg.schema[id]) return PL_OK;
    int mrc = mcap_writer_put_schema(c->w, &d->rec.u.schema);
    if (mrc) return pl__werr(c->w, mrc, c->err, "writing a schema");
    c->reg.schema[id] = 1;
    c->reg.n_schemas++;
    return PL_OK;
  }
  if (d->rec.u.channel.schema_id && !pl__defs_schema(&c->defs, d->rec.u.channel.schema_id))
    return PL_OK; /* its schema may still come (or never: then its messages are lost) */
  return pl__reg_channel(c->w, &c->reg, &c->defs, id, c->err);
}

/* Can messages of this channel be written (definition and schema known)? */
static int channel_usable(struct rc_ctx *c, uint16_t id) {
  const mcap_channel *ch = pl__defs_channel(&c->defs, id);
  return ch && (ch->schema_id == 0 || pl__defs_schema(&c->defs, ch->schema_id));
}

static int write_message(struct rc_ctx *c, const mcap_message *m) {
  int rc = open_writer(c, NULL);
  if (!rc) rc = pl__reg_channel(c->w, &c->reg, &c->defs, m->channel_id, c->err);
  if (rc) return rc;
  int mrc = mcap_writer_write_message(c->w, m);
  if (mrc) return pl__werr(c->w, mrc, c->err, "writing a message");
  c->rep->messages++;
  return PL_OK;
}

/* -------------------------------------------------------------- summary */

/* Read the summary if the tail of the file is intact and its CRC agrees. */
static int read_summary(struct rc_ctx *c) {
  const uint8_t *p;
  uint64_t got;
  if (c->size < MCAP_MAGIC_SIZE * 2 + MCAP_FOOTER_RECORD_SIZE + 9) return PL_OK;
  uint64_t fpos = c->size - MCAP_MAGIC_SIZE - MCAP_FOOTER_RECORD_SIZE;
  int rc = rd(c, fpos, MCAP_FOOTER_RECORD_SIZE + MCAP_MAGIC_SIZE, &p, &got);
  if (rc) return rc;
  if (got != MCAP_FOOTER_RECORD_SIZE + MCAP_MAGIC_SIZE || p[0] != MCAP_OP_FOOTER ||
      le64(p + 1) != 20 || memcmp(p + MCAP_FOOTER_RECORD_SIZE, MCAP_MAGIC, MCAP_MAGIC_SIZE) != 0)
    return PL_OK;
  uint64_t sstart = le64(p + 9);
  uint32_t scrc = le32(p + 25);
  if (sstart == 0 || sstart < MCAP_MAGIC_SIZE || sstart > fpos || fpos - sstart > MAX_SUMMARY)
    return PL_OK;
  /* CRC: summary start through the footer's summary_offset_start field. */
  uint64_t crc_len = fpos - sstart + 1 + 8 + 8 + 8;
  rc = rd_owned(c, sstart, crc_len, &got);
  if (rc) return rc;
  if (got != crc_len) return PL_OK;
  if (scrc && mcap_crc32(0, c->content.data, (size_t)crc_len) != scrc) {
    problem(c, PL_SEV_WARNING, "summary-unusable", sstart,
            "the summary's CRC does not match: it is not used");
    return PL_OK;
  }
  const uint8_t *s = c->content.data;
  uint64_t n = fpos - sstart;
  for (uint64_t q = 0; q < n;) {
    if (n - q < 9) break;
    uint8_t op = s[q];
    uint64_t len = le64(s + q + 1);
    if (len > n - q - 9) break;
    mcap_record rec;
    if (mcap_record_parse(op, s + q + 9, len, sstart + q, &rec, NULL) == MCAP_OK) {
      rec.content.data = s + q + 9;
      rec.content.len = len;
      if ((op == MCAP_OP_SCHEMA && rec.u.schema.id != 0) || op == MCAP_OP_CHANNEL) {
        int d = pl__defs_put(&c->defs, &rec);
        if (d < 0) return pl_error_set(c->err, PL_ENOMEM, 0, "out of memory");
        if (d == 0)
          pl__defs_get(&c->defs, op, op == MCAP_OP_SCHEMA ? rec.u.schema.id : rec.u.channel.id)
              ->from_summary = 1;
      } else if (op == MCAP_OP_CHUNK_INDEX) {
        const mcap_chunk_index *ci = &rec.u.chunk_index;
        if (pl_grow((void **)&c->schunks, &c->cap_schunks, c->n_schunks + 1, sizeof *c->schunks))
          return pl_error_set(c->err, PL_ENOMEM, 0, "out of memory");
        struct sum_chunk *sc = &c->schunks[c->n_schunks++];
        memset(sc, 0, sizeof *sc);
        sc->offset = ci->chunk_start_offset;
        uint64_t k = mcap_map_u16u64_count(&ci->message_index_offsets);
        if (k && ci->message_index_length >= 15 * k &&
            (ci->message_index_length - 15 * k) % 16 == 0) {
          sc->messages = (ci->message_index_length - 15 * k) / 16;
          sc->counted = 1;
        } else if (!k && ci->message_index_length == 0 && ci->message_start_time == 0 &&
                   ci->message_end_time == 0) {
          sc->counted = 1; /* no messages */
        }
        if (!c->have_sum_comp && ci->compression.len < sizeof c->sum_comp) {
          memcpy(c->sum_comp, ci->compression.data ? ci->compression.data : "",
                 ci->compression.len);
          c->sum_compression.data = c->sum_comp;
          c->sum_compression.len = ci->compression.len;
          c->have_sum_comp = 1;
        }
      } else if (op == MCAP_OP_STATISTICS) {
        c->rep->claimed_messages = rec.u.statistics.message_count;
        c->rep->claimed_attachments = rec.u.statistics.attachment_count;
        c->rep->claimed_metadata = rec.u.statistics.metadata_count;
        c->rep->claimed_chunks = rec.u.statistics.chunk_count;
        c->rep->has_summary = 1;
        c->have_stats = 1;
        c->stat_start = rec.u.statistics.message_start_time;
        c->stat_end = rec.u.statistics.message_end_time;
      }
    }
    q += 9 + len;
  }
  if (!c->rep->has_summary && c->n_schunks) {
    c->rep->has_summary = 1;
    c->rep->claimed_chunks = c->n_schunks;
  }
  return PL_OK;
}

/* ----------------------------------------------------------- plausibility */

enum { P_NO = 0, P_YES = 1, P_TRUNC_CHUNK = 2 };

static uint64_t min_len(uint8_t op) {
  switch (op) {
    case MCAP_OP_HEADER:
      return 8;
    case MCAP_OP_FOOTER:
      return 20;
    case MCAP_OP_SCHEMA:
      return 2 + 4 + 4 + 4;
    case MCAP_OP_CHANNEL:
      return 2 + 2 + 4 + 4 + 4;
    case MCAP_OP_MESSAGE:
      return 22;
    case MCAP_OP_CHUNK:
      return 8 + 8 + 8 + 4 + 4 + 8;
    case MCAP_OP_MESSAGE_INDEX:
      return 2 + 4;
    case MCAP_OP_CHUNK_INDEX:
      return 8 + 8 + 8 + 8 + 4 + 8 + 4 + 8 + 8;
    case MCAP_OP_ATTACHMENT:
      return 8 + 8 + 4 + 4 + 8 + 4;
    case MCAP_OP_ATTACHMENT_INDEX:
      return 8 * 5 + 4 + 4;
    case MCAP_OP_STATISTICS:
      return 8 + 2 + 4 * 4 + 8 + 8 + 4;
    case MCAP_OP_METADATA:
      return 4 + 4;
    case MCAP_OP_METADATA_INDEX:
      return 8 + 8 + 4;
    case MCAP_OP_SUMMARY_OFFSET:
      return 1 + 8 + 8;
    case MCAP_OP_DATA_END:
      return 4;
    default:
      return UINT64_MAX;
  }
}

/* Strings in records must be UTF-8; damaged bytes in a name rarely are. */
static int utf8_ok(mcap_str s) {
  const uint8_t *p = (const uint8_t *)s.data;
  uint32_t i = 0, n = s.len;
  while (i < n) {
    uint8_t b = p[i];
    uint32_t k;
    uint32_t cp;
    if (b < 0x80) {
      i++;
      continue;
    } else if ((b & 0xE0) == 0xC0) {
      k = 1;
      cp = b & 0x1F;
    } else if ((b & 0xF0) == 0xE0) {
      k = 2;
      cp = b & 0x0F;
    } else if ((b & 0xF8) == 0xF0) {
      k = 3;
      cp = b & 0x07;
    } else {
      return 0;
    }
    if (n - i <= k) return 0;
    for (uint32_t j = 1; j <= k; j++) {
      if ((p[i + j] & 0xC0) != 0x80) return 0;
      cp = cp << 6 | (p[i + j] & 0x3F);
    }
    if ((k == 1 && cp < 0x80) || (k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      return 0;
    i += k + 1;
  }
  return 1;
}

static int utf8_map_ok(const mcap_map *m) {
  mcap_map_iter it = {0};
  mcap_str k, v;
  int rc;
  while ((rc = mcap_map_next_str(m, &it, &k, &v)) == MCAP_OK)
    if (!utf8_ok(k) || !utf8_ok(v)) return 0;
  return rc == MCAP_ITEROVER;
}

/* Are a definition's or metadata record's strings valid? */
static int strings_ok(const mcap_record *r) {
  switch (r->opcode) {
    case MCAP_OP_HEADER:
      return utf8_ok(r->u.header.profile) && utf8_ok(r->u.header.library);
    case MCAP_OP_SCHEMA:
      return utf8_ok(r->u.schema.name) && utf8_ok(r->u.schema.encoding);
    case MCAP_OP_CHANNEL:
      return utf8_ok(r->u.channel.topic) && utf8_ok(r->u.channel.message_encoding) &&
             utf8_map_ok(&r->u.channel.metadata);
    case MCAP_OP_METADATA:
      return utf8_ok(r->u.metadata.name) && utf8_map_ok(&r->u.metadata.metadata);
    default:
      return 1;
  }
}

/* The content length a record's fields take (records without extension bytes). */
static uint64_t exact_len(const mcap_record *r) {
  switch (r->opcode) {
    case MCAP_OP_HEADER:
      return 8 + (uint64_t)r->u.header.profile.len + r->u.header.library.len;
    case MCAP_OP_FOOTER:
      return 20;
    case MCAP_OP_SCHEMA:
      return 2 + 12 + (uint64_t)r->u.schema.name.len + r->u.schema.encoding.len +
             r->u.schema.data.len;
    case MCAP_OP_CHANNEL:
      return 4 + 12 + (uint64_t)r->u.channel.topic.len + r->u.channel.message_encoding.len +
             r->u.channel.metadata.len;
    case MCAP_OP_MESSAGE:
      return 22 + r->u.message.data.len;
    case MCAP_OP_MESSAGE_INDEX:
      return 6 + r->u.message_index.entries.len;
    case MCAP_OP_CHUNK_INDEX:
      return 32 + 4 + (uint64_t)r->u.chunk_index.message_index_offsets.len + 8 + 4 +
             r->u.chunk_index.compression.len + 16;
    case MCAP_OP_ATTACHMENT_INDEX:
      return 40 + 8 + (uint64_t)r->u.attachment_index.name.len +
             r->u.attachment_index.media_type.len;
    case MCAP_OP_STATISTICS:
      return 8 + 2 + 16 + 16 + 4 + (uint64_t)r->u.statistics.channel_message_counts.len;
    case MCAP_OP_METADATA:
      return 8 + (uint64_t)r->u.metadata.name.len + r->u.metadata.metadata.len;
    case MCAP_OP_METADATA_INDEX:
      return 16 + 4 + (uint64_t)r->u.metadata_index.name.len;
    case MCAP_OP_SUMMARY_OFFSET:
      return 17;
    case MCAP_OP_DATA_END:
      return 4;
    default:
      return UINT64_MAX;
  }
}

/* Is the chunk header plausible (as far as it is there)? */
static int chunk_ok(const struct rc_ctx *c, const mcap_chunk *ck) {
  mcap_compression comp;
  if (pl__compression_of(ck->compression, &comp) != 0) return 0;
  if (ck->uncompressed_size > c->o.max_chunk_size) return 0;
  if (ck->message_start_time > ck->message_end_time) return 0;
  /* An uncompressed chunk stores exactly its records. */
  if (comp == MCAP_COMPRESSION_NONE && !ck->records.data) return 0;
  return 1;
}

/*
 * Is there a plausible record at q? Reads what it needs (the content ends up in c->content
 * for small records). `resync`: we are searching after damage, so be strict (no Header, no
 * private records).
 */
static int plausible(struct rc_ctx *c, uint64_t q, int resync, uint8_t *op_out, uint64_t *len_out) {
  const uint8_t *p;
  uint64_t got;
  if (q >= c->size || c->size - q < 9) return P_NO;
  if (rd(c, q, 9, &p, &got) || got < 9) return P_NO;
  uint8_t op = p[0];
  uint64_t len = le64(p + 1);
  *op_out = op;
  *len_out = len;
  uint64_t room = c->size - q - 9;
  if (op >= 0x80) return !resync && len <= room ? P_YES : P_NO;
  uint64_t ml = min_len(op);
  if (ml == UINT64_MAX || len < ml) return P_NO;
  if (op == MCAP_OP_HEADER && resync) return P_NO;
  if (op == MCAP_OP_FOOTER && len != 20) return P_NO;
  if (op == MCAP_OP_DATA_END && len > 64) return P_NO;
  if (op == MCAP_OP_CHUNK) {
    /* A chunk may be cut by the end of the file: then its head must be convincing. Its own
     * fields also say how long it is (head + records), which survives a damaged envelope. */
    uint64_t head = room < 4096 ? room : 4096;
    if (rd_owned(c, q + 9, head, &got) || got < ml) return P_NO;
    uint32_t clen = le32(c->content.data + 28);
    if ((uint64_t)clen + 40 > got) return P_NO; /* a compression name that long is not ours */
    uint64_t head_len = 40 + (uint64_t)clen;
    uint64_t rlen = le64(c->content.data + head_len - 8);
    if (rlen > UINT64_MAX - head_len - 9) return P_NO;
    uint64_t struct_len = head_len + rlen;
    mcap_chunk ck;
    int trunc;
    if (pl__chunk_parse_partial(c->content.data, got, struct_len, &ck, &trunc) != 0 ||
        !chunk_ok(c, &ck))
      return P_NO;
    c->alt_len = struct_len;
    if (resync && struct_len != len) return P_NO; /* after damage: the two must agree */
    if (struct_len != len && struct_len <= room) return P_YES; /* the caller picks one */
    if (len > room) return P_TRUNC_CHUNK;
    return P_YES;
  }
  if (len > room) return P_NO;
  if (op == MCAP_OP_ATTACHMENT) {
    /* Attachments may be huge: check the head fields only. */
    uint64_t head = len < 4096 ? len : 4096;
    if (rd_owned(c, q + 9, head, &got) || got < 24) return P_NO;
    uint64_t nl = le32(c->content.data + 16);
    if (nl > len - 36 || 24 + nl > got) return nl <= len - 36 ? P_YES : P_NO;
    uint64_t ml2 = le32(c->content.data + 20 + nl);
    if (ml2 > len - 36 - nl) return P_NO;
    if (24 + nl + ml2 + 8 > got) return P_YES;
    uint64_t dl = le64(c->content.data + 24 + nl + ml2);
    mcap_str name = {(const char *)c->content.data + 20, (uint32_t)nl};
    mcap_str media = {(const char *)c->content.data + 24 + nl, (uint32_t)ml2};
    if (!utf8_ok(name) || !utf8_ok(media)) return P_NO;
    return dl == len - (16 + 4 + nl + 4 + ml2 + 8 + 4) ? P_YES : P_NO;
  }
  if (len > PL__MAX_SMALL_RECORD && op != MCAP_OP_MESSAGE) return P_NO;
  if (len > PL__MAX_CHUNK) return P_NO;
  if (rd_owned(c, q + 9, len, &got) || got < len) return P_NO;
  mcap_record rec;
  if (mcap_record_parse(op, c->content.data, len, q, &rec, NULL) != MCAP_OK) return P_NO;
  /* After damage, trailing bytes (a record extension) are much more likely a coincidence in
   * the damaged bytes than a newer writer: demand records that end where their fields do. */
  if (resync && exact_len(&rec) != len) return P_NO;
  if (!strings_ok(&rec)) return P_NO;
  switch (op) {
    case MCAP_OP_SCHEMA:
      return rec.u.schema.id != 0 ? P_YES : P_NO;
    case MCAP_OP_CHANNEL:
      return rec.u.channel.schema_id == 0 || pl__defs_schema(&c->defs, rec.u.channel.schema_id) ||
                     !resync
                 ? P_YES
                 : P_NO;
    case MCAP_OP_MESSAGE:
      /* Outside chunks a message has no CRC: its time must at least be inside the range the
       * statistics give. */
      if (c->have_stats && c->rep->claimed_messages &&
          (rec.u.message.log_time < c->stat_start || rec.u.message.log_time > c->stat_end))
        return P_NO;
      return pl__defs_channel(&c->defs, rec.u.message.channel_id) ? P_YES : P_NO;
    case MCAP_OP_MESSAGE_INDEX:
      return !resync || (mcap_message_index_count(&rec.u.message_index) > 0 &&
                         pl__defs_channel(&c->defs, rec.u.message_index.channel_id))
                 ? P_YES
                 : P_NO;
    default:
      return P_YES;
  }
}

/* The first plausible record (after damage: strict) in [from, limit); *found = limit if none. */
static int find_plausible(struct rc_ctx *c, uint64_t from, uint64_t limit, uint64_t *found) {
  static const uint8_t ok_op[16] = {0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
  if (limit > c->size) limit = c->size;
  *found = limit;
  uint8_t *win = malloc((size_t)SCAN_WINDOW + 16);
  if (!win) return pl_error_set(c->err, PL_ENOMEM, from, "out of memory");
  uint64_t q = from;
  int rc = PL_OK, hit = 0;
  while (!hit && q < limit && q + 9 <= c->size) {
    const uint8_t *p;
    uint64_t got;
    uint64_t want = c->size - q < SCAN_WINDOW + 8 ? c->size - q : SCAN_WINDOW + 8;
    rc = rd(c, q, want, &p, &got);
    if (rc || got < 9) break;
    memcpy(win, p, (size_t)got);
    uint64_t last = got - 8; /* positions with a whole envelope in the window */
    for (uint64_t i = 0; i < last && q + i < limit; i++) {
      uint8_t op = win[i];
      if (op >= 16 || !ok_op[op]) continue;
      uint64_t len = le64(win + i + 1);
      uint64_t pos = q + i;
      if (len < min_len(op)) continue;
      if (len > c->size - pos - 9 && op != MCAP_OP_CHUNK) continue;
      uint8_t op2;
      uint64_t len2;
      if (plausible(c, pos, 1, &op2, &len2) != P_NO) {
        *found = pos;
        hit = 1;
        break;
      }
    }
    q += last;
  }
  free(win);
  return rc;
}

/* The record at `bad` is not plausible: search the bytes after it for the next plausible
 * record; *found = its offset (the file size if none). [bad, *found) is reported skipped. */
static int resync(struct rc_ctx *c, uint64_t bad, uint64_t *found) {
  uint64_t at;
  int rc = find_plausible(c, bad + 1, c->size, &at);
  if (rc) return rc;
  c->rep->bytes_skipped += at - bad;
  c->rep->skipped_regions++;
  problem(c, PL_SEV_ERROR, "skipped-bytes", bad,
          at < c->size ? "%llu damaged bytes skipped (offset %llu to %llu)"
                       : "%llu bytes at the end could not be read as records (offset %llu to "
                         "%llu)",
          (unsigned long long)(at - bad), (unsigned long long)bad, (unsigned long long)at);
  *found = at;
  return PL_OK;
}

/* Does a plausible record (or the end of the file) follow at `end`? Keeps c->content. */
static int next_ok(struct rc_ctx *c, uint64_t end) {
  uint8_t op;
  uint64_t len;
  if (end >= c->size || c->size - end < 9) return end <= c->size;
  struct pl_buf keep = c->content;
  uint64_t alt = c->alt_len;
  memset(&c->content, 0, sizeof c->content);
  int ok = plausible(c, end, 0, &op, &len) != P_NO;
  pl_buf_dispose(&c->content);
  c->content = keep;
  c->alt_len = alt;
  return ok;
}

/*
 * A plausible record at pos ends at `end`. Does what follows it make sense? If not, either the
 * damage starts right after it, or its own length field is damaged and it swallowed the records
 * after it. Tell the two apart by looking for a plausible record inside its span: *bad is set
 * when there is one (then the record is dropped and the scan goes on at *next).
 */
static int confirm(struct rc_ctx *c, uint64_t pos, uint64_t end, int *bad, uint64_t *next) {
  uint8_t op;
  uint64_t len;
  *bad = 0;
  if (end >= c->size || c->size - end < 9) return PL_OK; /* the file ends there */
  struct pl_buf keep = c->content;
  memset(&c->content, 0, sizeof c->content);
  int ok = plausible(c, end, 0, &op, &len) != P_NO;
  int rc = PL_OK;
  if (!ok) {
    uint64_t at;
    rc = find_plausible(c, pos + 1, end, &at);
    if (!rc && at < end) {
      *bad = 1;
      *next = at;
    }
  }
  pl_buf_dispose(&c->content);
  c->content = keep;
  return rc;
}

/* ---------------------------------------------------- partial decompression */

/*
 * Decompress as much of `src` as decodes cleanly into dst (cap bytes). Input and output are
 * fed in small steps so that what a failing step produced is not counted: the result is made
 * of whole blocks that decoded without error. *broken is set when decoding stopped on an error
 * (not on the end of the input).
 */
static int decode_partial(struct rc_ctx *c, mcap_compression comp, const uint8_t *src,
                          size_t src_len, uint8_t *dst, size_t cap, size_t *out_len, int *broken) {
  *out_len = 0;
  *broken = 0;
  if (comp == MCAP_COMPRESSION_NONE) {
    *out_len = src_len < cap ? src_len : cap;
    if (*out_len) memcpy(dst, src, *out_len);
    return PL_OK;
  }
  const size_t in_step = 16 << 10, out_step = 128 << 10;
  size_t in_pos = 0, out_pos = 0;
  if (comp == MCAP_COMPRESSION_ZSTD) {
    if (!c->zd && !(c->zd = ZSTD_createDCtx()))
      return pl_error_set(c->err, PL_ENOMEM, 0, "out of memory");
    ZSTD_DCtx_reset(c->zd, ZSTD_reset_session_only);
    while (in_pos < src_len && out_pos < cap) {
      ZSTD_inBuffer in = {src + in_pos, src_len - in_pos < in_step ? src_len - in_pos : in_step, 0};
      ZSTD_outBuffer out = {dst + out_pos, cap - out_pos < out_step ? cap - out_pos : out_step, 0};
      size_t r = ZSTD_decompressStream(c->zd, &out, &in);
      if (ZSTD_isError(r)) {
        *broken = 1;
        break;
      }
      in_pos += in.pos;
      out_pos += out.pos;
      if (r == 0 && in_pos < src_len) {
        /* a frame ended: the next one (if any) starts a new session */
        ZSTD_DCtx_reset(c->zd, ZSTD_reset_session_only);
      }
      if (in.pos == 0 && out.pos == 0) break;
    }
  } else {
    if (!c->ld && LZ4F_isError(LZ4F_createDecompressionContext(&c->ld, LZ4F_VERSION)))
      return pl_error_set(c->err, PL_ENOMEM, 0, "out of memory");
    LZ4F_resetDecompressionContext(c->ld);
    while (in_pos < src_len && out_pos < cap) {
      size_t in_n = src_len - in_pos < in_step ? src_len - in_pos : in_step;
      size_t out_n = cap - out_pos < out_step ? cap - out_pos : out_step;
      size_t r = LZ4F_decompress(c->ld, dst + out_pos, &out_n, src + in_pos, &in_n, NULL);
      if (LZ4F_isError(r)) {
        *broken = 1;
        break;
      }
      in_pos += in_n;
      out_pos += out_n;
      if (in_n == 0 && out_n == 0) break;
    }
  }
  *out_len = out_pos;
  return PL_OK;
}

/* ------------------------------------------------------------- chunks */

/* MessageIndex records following the chunk that ends at q; *next = offset after them. */
static int peek_indexes(struct rc_ctx *c, uint64_t q, uint64_t *next) {
  c->n_refs = 0;
  c->mibuf.len = 0;
  c->n_mis = 0;
  for (;;) {
    uint8_t op;
    uint64_t len;
    if (plausible(c, q, 0, &op, &len) != P_YES || op != MCAP_OP_MESSAGE_INDEX ||
        len > MAX_INDEX_RECORD || len < 6 || le32(c->content.data + 2) != len - 6)
      break; /* not an index (or one whose length is damaged: the scan deals with it) */
    /* plausible() left the content in c->content */
    if (pl_grow((void **)&c->refs, &c->cap_refs, c->n_refs + 1, sizeof *c->refs) ||
        pl_buf_append(&c->mibuf, c->content.data, (size_t)len))
      return pl_error_set(c->err, PL_ENOMEM, q, "out of memory");
    c->refs[c->n_refs].at = c->mibuf.len - (size_t)len;
    c->refs[c->n_refs].len = len;
    c->n_refs++;
    q += 9 + len;
  }
  *next = q;
  if (pl_grow((void **)&c->mis, &c->cap_mis, c->n_refs, sizeof *c->mis))
    return pl_error_set(c->err, PL_ENOMEM, q, "out of memory");
  for (size_t i = 0; i < c->n_refs; i++) {
    mcap_record rec;
    if (mcap_record_parse(MCAP_OP_MESSAGE_INDEX, c->mibuf.data + c->refs[i].at, c->refs[i].len, 0,
                          &rec, NULL) == MCAP_OK)
      c->mis[c->n_mis++] = rec.u.message_index;
  }
  return PL_OK;
}

static int ix_cmp(const void *a, const void *b) {
  const struct pl__mi_ent *x = a, *y = b;
  return (x->offset > y->offset) - (x->offset < y->offset);
}

/* Sort the surviving index entries by offset, for indexed(). */
static int build_ix(struct rc_ctx *c) {
  c->n_ix = 0;
  for (size_t i = 0; i < c->n_mis; i++) {
    uint64_t n = mcap_message_index_count(&c->mis[i]);
    for (uint64_t k = 0; k < n; k++) {
      if (pl_grow((void **)&c->ix, &c->cap_ix, c->n_ix + 1, sizeof *c->ix))
        return pl_error_set(c->err, PL_ENOMEM, 0, "out of memory");
      struct pl__mi_ent *e = &c->ix[c->n_ix++];
      e->channel = c->mis[i].channel_id;
      mcap_message_index_entry(&c->mis[i], k, &e->log_time, &e->offset);
    }
  }
  if (c->n_ix > 1) qsort(c->ix, c->n_ix, sizeof *c->ix, ix_cmp);
  return PL_OK;
}

/* Does the surviving message index list a message of `channel` at `offset` with `t`? */
static int indexed(const struct rc_ctx *c, uint16_t channel, uint64_t offset, uint64_t t) {
  size_t lo = 0, hi = c->n_ix;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (c->ix[mid].offset < offset)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo < c->n_ix && c->ix[lo].offset == offset && c->ix[lo].channel == channel &&
         c->ix[lo].log_time == t;
}

static uint64_t indexed_count(const struct rc_ctx *c) {
  uint64_t n = 0;
  for (size_t i = 0; i < c->n_mis; i++) n += mcap_message_index_count(&c->mis[i]);
  return n;
}

/*
 * Walk decompressed chunk records [0, n): note definitions, collect messages. complete: the
 * records are the whole chunk (CRC good). Writes nothing yet; returns in *stop_at where the
 * trustworthy records end, counts in *n_msgs / *n_unknown (messages on unusable channels).
 */
static int scan_records(struct rc_ctx *c, uint64_t chunk_off, const uint8_t *buf, size_t n,
                        int use_index, int dry, const mcap_chunk *range, size_t *stop_at,
                        int *has_defs, uint64_t *n_unknown) {
  size_t p = 0;
  *has_defs = 0;
  *n_unknown = 0;
  pl__mi_reset(&c->mi);
  while (p < n) {
    if (n - p < 9) break;
    uint8_t op = buf[p];
    uint64_t rlen = le64(buf + p + 1);
    if (rlen > n - p - 9) break;
    mcap_record rec;
    if (op == MCAP_OP_SCHEMA || op == MCAP_OP_CHANNEL || op == MCAP_OP_MESSAGE) {
      if (mcap_record_parse(op, buf + p + 9, rlen, chunk_off, &rec, NULL) != MCAP_OK) break;
      rec.content.data = buf + p + 9;
      rec.content.len = rlen;
      if (op == MCAP_OP_MESSAGE && dry) {
        (*n_unknown)++; /* only counted */
      } else if (op == MCAP_OP_MESSAGE) {
        if (use_index && !indexed(c, rec.u.message.channel_id, p, rec.u.message.log_time))
          break; /* the index disagrees: this is where the damage begins */
        if (range && (range->message_start_time || range->message_end_time) &&
            (rec.u.message.log_time < range->message_start_time ||
             rec.u.message.log_time > range->message_end_time))
          break; /* outside the chunk's own time range: damage */
        if (!channel_usable(c, rec.u.message.channel_id)) {
          (*n_unknown)++;
        } else if (pl__mi_add(&c->mi, rec.u.message.channel_id, rec.u.message.log_time, p)) {
          return pl_error_set(c->err, PL_ENOMEM, chunk_off, "out of memory");
        }
      } else if (!dry) {
        if (op == MCAP_OP_SCHEMA && rec.u.schema.id == 0) break;
        *has_defs = 1;
        int rc = note_def(c, &rec, chunk_off);
        if (rc) return rc;
      }
    } else if (op == 0 || (op > MCAP_OP_DATA_END && op < 0x80)) {
      break; /* not a record: damage */
    }
    p += 9 + (size_t)rlen;
  }
  *stop_at = p;
  return PL_OK;
}

static int write_collected(struct rc_ctx *c, const uint8_t *buf) {
  for (size_t i = 0; i < c->mi.n; i++) {
    size_t p = (size_t)c->mi.ents[i].offset;
    uint64_t rlen = le64(buf + p + 1);
    mcap_record rec;
    if (mcap_record_parse(MCAP_OP_MESSAGE, buf + p + 9, rlen, 0, &rec, NULL) != MCAP_OK) continue;
    int rc = write_message(c, &rec.u.message);
    if (rc) return rc;
  }
  return PL_OK;
}

static int same_compression(const struct rc_ctx *c, mcap_str s) {
  const char *name = mcap_compression_name(c->o.compression);
  size_t n = name ? strlen(name) : 0;
  return name && s.len == n && (n == 0 || memcmp(s.data, name, n) == 0);
}

/* A plausible Chunk at pos (len from its envelope; truncated: the file ends inside it). */
static int do_chunk(struct rc_ctx *c, uint64_t pos, uint64_t len, int truncated, uint64_t *next) {
  uint64_t have, n_unknown = 0;
  int rc = rd_owned(c, pos + 9, len, &have);
  if (rc) return rc;
  mcap_chunk ck;
  int trunc;
  if (pl__chunk_parse_partial(c->content.data, have, len, &ck, &trunc) != 0) {
    /* Its fields disagree with the length we went by: nothing in it can be trusted. */
    c->rep->chunks_dropped++;
    c->rep->messages_lost_unknown = 1;
    problem(c, PL_SEV_ERROR, "chunk-damaged", pos, "chunk header damaged: chunk dropped");
    *next = truncated ? c->size : pos + 9 + len;
    return PL_OK;
  }
  for (size_t i = 0; i < c->n_schunks; i++)
    if (c->schunks[i].offset == pos) c->schunks[i].seen = 1;
  mcap_compression comp;
  pl__compression_of(ck.compression, &comp);
  rc = open_writer(c, &ck.compression);
  if (rc) return rc;
  *next = pos + 9 + len;
  c->n_mis = 0;
  if (!truncated) {
    /* The chunk was copied into c->content; peek_indexes reuses it, so keep a copy. */
    struct pl_buf keep = c->content;
    memset(&c->content, 0, sizeof c->content);
    rc = peek_indexes(c, pos + 9 + len, next);
    pl_buf_dispose(&c->content);
    c->content = keep;
    if (rc) return rc;
    pl__chunk_parse_partial(c->content.data, have, len, &ck, &trunc);
  }
  size_t usize = (size_t)ck.uncompressed_size;
  if (usize > c->dec_cap) {
    uint8_t *p = realloc(c->dec, usize ? usize : 1);
    if (!p)
      return pl_error_set(c->err, PL_ENOMEM, pos, "out of memory for a chunk of %zu bytes", usize);
    c->dec = p;
    c->dec_cap = usize;
  }
  uint64_t expected = indexed_count(c);
  int have_index = c->n_mis > 0;

  size_t n_ok = 0;
  int whole = 0, crc_bad = 0, broken = 0, zero_tail = 0;
  if (!truncated && !trunc) {
    mcap_error_info me;
    memset(&me, 0, sizeof me);
    int mrc = mcap_chunk_decompress(c->d, &ck, c->dec, usize, 0, &me);
    if (mrc == MCAP_OK) {
      whole = 1;
      n_ok = usize;
    } else if (mrc == MCAP_ECRC) {
      crc_bad = 1;
    }
  }
  if (!whole) {
    /*
     * Which decoded bytes can be trusted? A frame cut short by the end of the file decodes, up
     * to the cut, from intact bytes. A frame damaged in the middle cannot be trusted anywhere:
     * lz4 (and zstd raw literals) decode damaged literal bytes without complaint, and where
     * the damage starts is unknown. Except for the usual crash damage, a zero-filled tail (the
     * file was extended before the data reached the disk): then the bytes before the zeros
     * are taken as cut there.
     */
    const uint8_t *src = ck.records.data;
    size_t src_len = (size_t)ck.records.len, produced = 0, z = src_len;
    while (z > 0 && src[z - 1] == 0) z--;
    if (src_len - z < 64) z = src_len;
    int trusted = 0;
    if (truncated || trunc) {
      rc = decode_partial(c, comp, src, src_len, c->dec, usize, &produced, &broken);
      if (rc) return rc;
      trusted = !broken;
    }
    if (!trusted && z < src_len) {
      rc = decode_partial(c, comp, src, z, c->dec, usize, &produced, &broken);
      if (rc) return rc;
      trusted = !broken;
      zero_tail = trusted;
    }
    if (!trusted) {
      uint64_t lost = expected;
      if (!have_index) {
        if (crc_bad) {
          size_t stop0;
          int defs0;
          rc = scan_records(c, pos, c->dec, usize, 0, 1, NULL, &stop0, &defs0, &lost);
          if (rc) return rc;
        }
        c->rep->messages_lost_unknown = 1;
      }
      c->rep->chunks_dropped++;
      c->rep->messages_lost += lost;
      if (!have_index && lost == 0)
        problem(c, PL_SEV_ERROR, crc_bad ? "chunk-crc" : "chunk-damaged", pos,
                "%s: its content cannot be trusted; its messages (how many is unknown) dropped",
                crc_bad ? "chunk CRC mismatch" : "chunk damaged (it does not decompress)");
      else
        problem(c, PL_SEV_ERROR, crc_bad ? "chunk-crc" : "chunk-damaged", pos,
                "%s: its content cannot be trusted; %s%llu %s dropped",
                crc_bad ? "chunk CRC mismatch" : "chunk damaged (it does not decompress)",
                have_index ? "" : "at least ", (unsigned long long)lost,
                lost == 1 ? "message" : "messages");
      return PL_OK;
    }
    n_ok = produced;
  }
  size_t stop;
  int has_defs;
  if (have_index && !whole) {
    rc = build_ix(c);
    if (rc) return rc;
  }
  /* Records not covered by a good CRC must also fall in the chunk's time range. */
  const mcap_chunk *range = !whole || ck.uncompressed_crc == 0 ? &ck : NULL;
  rc = scan_records(c, pos, c->dec, n_ok, have_index && !whole, 0, range, &stop, &has_defs,
                    &n_unknown);
  if (rc) return rc;
  uint64_t found = c->mi.n;
  if (n_unknown) {
    c->rep->messages_lost += n_unknown;
    problem(c, PL_SEV_ERROR, "message-unknown-channel", pos,
            "%llu messages in the chunk are on channels whose definition was lost",
            (unsigned long long)n_unknown);
  }
  if (whole && stop == usize) {
    c->rep->chunks_ok++;
    if (c->passthrough && !has_defs && n_unknown == 0 && found > 0 &&
        same_compression(c, ck.compression)) {
      if (pl__mi_build(&c->mi)) return pl_error_set(c->err, PL_ENOMEM, pos, "out of memory");
      for (size_t i = 0; i < c->mi.n_idx; i++) {
        rc = pl__reg_channel(c->w, &c->reg, &c->defs, c->mi.idx[i].channel_id, c->err);
        if (rc) return rc;
      }
      int mrc = mcap_writer_write_chunk_raw(c->w, &ck, c->mi.idx, c->mi.n_idx);
      if (mrc) return pl__werr(c->w, mrc, c->err, "copying a chunk");
      c->rep->chunks_copied++;
      c->rep->messages += found;
      return PL_OK;
    }
    return write_collected(c, c->dec);
  }
  /* A prefix only. */
  rc = write_collected(c, c->dec);
  if (rc) return rc;
  c->rep->chunks_partial++;
  if (have_index && expected >= found + n_unknown) {
    c->rep->messages_lost += expected - found - n_unknown;
  } else {
    c->rep->messages_lost_unknown = 1;
  }
  if (truncated || trunc) {
    problem(c, PL_SEV_ERROR, "chunk-truncated", pos,
            "the file ends inside this chunk: %llu messages recovered from its first %zu of "
            "%zu decompressed bytes",
            (unsigned long long)found, stop, usize);
  } else if (zero_tail) {
    problem(c, PL_SEV_ERROR, "chunk-zero-tail", pos,
            "the chunk ends in zero bytes (data that never reached the disk): %llu messages "
            "recovered from its first %zu of %zu decompressed bytes",
            (unsigned long long)found, stop, usize);
  } else {
    problem(c, PL_SEV_ERROR, "chunk-damaged", pos,
            "chunk records malformed after byte %zu of %zu: %llu messages recovered before", stop,
            usize, (unsigned long long)found);
  }
  return PL_OK;
}

/* ------------------------------------------------------------ attachments */

/* Is the attachment at pos intact? Streams its bytes through the CRC. */
static int attachment_intact(struct rc_ctx *c, uint64_t pos, uint64_t len, int *ok) {
  const uint8_t *p;
  uint64_t got;
  *ok = 0;
  int rc = rd(c, pos + 9 + len - 4, 4, &p, &got);
  if (rc || got < 4) return rc;
  uint32_t stored = le32(p);
  if (!stored) {
    *ok = 1;
    return PL_OK;
  }
  uint32_t crc = 0;
  for (uint64_t done = 0; done < len - 4;) {
    uint64_t n = len - 4 - done < SCAN_WINDOW ? len - 4 - done : SCAN_WINDOW;
    rc = rd(c, pos + 9 + done, n, &p, &got);
    if (rc) return rc;
    if (got < n) return PL_OK;
    crc = mcap_crc32(crc, p, (size_t)n);
    done += n;
  }
  *ok = crc == stored;
  return PL_OK;
}

/*
 * At the DataEnd record at pos: check the data section CRC. Chunks carry their own CRCs, so a
 * mismatch only matters for messages written outside chunks, which have none: say that they
 * may carry damaged bytes.
 */
static int check_data_crc(struct rc_ctx *c, uint64_t pos) {
  const uint8_t *p;
  uint64_t got;
  int rc = rd(c, pos + 9, 4, &p, &got);
  if (rc || got < 4) return rc;
  uint32_t stored = le32(p);
  if (!stored || !c->loose_messages) return PL_OK;
  uint32_t crc = 0;
  for (uint64_t done = 0; done < pos;) {
    uint64_t n = pos - done < SCAN_WINDOW ? pos - done : SCAN_WINDOW;
    rc = rd(c, done, n, &p, &got);
    if (rc) return rc;
    if (got < n) return PL_OK;
    crc = mcap_crc32(crc, p, (size_t)n);
    done += n;
  }
  if (crc != stored)
    problem(c, PL_SEV_WARNING, "crc-data", pos,
            "the data section CRC does not match: messages outside chunks (which have no CRC "
            "of their own) may carry damaged bytes");
  return PL_OK;
}

/* ------------------------------------------------------------- the scan */

static int scan(struct rc_ctx *c) {
  const uint8_t *p;
  uint64_t got, pos = 0;
  int rc = rd(c, 0, MCAP_MAGIC_SIZE, &p, &got);
  if (rc) return rc;
  if (got == MCAP_MAGIC_SIZE && memcmp(p, MCAP_MAGIC, MCAP_MAGIC_SIZE) == 0) {
    pos = MCAP_MAGIC_SIZE;
  } else {
    problem(c, PL_SEV_ERROR, "magic-leading", 0, "the file does not start with the MCAP magic");
  }
  int data_end = 0, first = 1;
  uint64_t last_progress = 0;
  while (pos < c->size) {
    uint8_t op;
    uint64_t len;
    int pl = plausible(c, pos, 0, &op, &len);
    if (pl == P_YES && op == MCAP_OP_HEADER && !first) pl = P_NO;
    if (pl == P_NO) {
      if (c->size - pos < 9) {
        /* a few bytes left: the file was cut inside a record envelope */
        break;
      }
      uint64_t at = c->size;
      rc = resync(c, pos, &at);
      if (rc) return rc;
      if (at >= c->size) break;
      pos = at;
      first = 0;
      continue;
    }
    if (pl == P_YES && op == MCAP_OP_CHUNK && c->alt_len != len) {
      /* The envelope and the chunk's own fields disagree on its length: one of them is
       * damaged. Believe the one a plausible record follows. */
      uint64_t alt = c->alt_len;
      int len_fits = len <= c->size - pos - 9;
      int ok_len = len_fits && next_ok(c, pos + 9 + len);
      int ok_alt = next_ok(c, pos + 9 + alt);
      /* Both may look right by chance: the fields (no writer adds bytes after the records)
       * win then. */
      (void)ok_len;
      if (ok_alt) {
        problem(c, PL_SEV_WARNING, "length-damaged", pos,
                "the chunk's record length (%llu) is damaged; its fields give %llu",
                (unsigned long long)len, (unsigned long long)alt);
        len = alt;
      } else if (!len_fits) {
        len = alt;
      }
    }
    if (pl == P_YES) {
      int bad;
      uint64_t at;
      rc = confirm(c, pos, pos + 9 + len, &bad, &at);
      if (rc) return rc;
      if (bad) {
        c->rep->bytes_skipped += at - pos;
        c->rep->skipped_regions++;
        problem(c, PL_SEV_ERROR, "skipped-bytes", pos,
                "%s record with a damaged length: %llu bytes skipped (offset %llu to %llu)",
                mcap_opcode_name(op), (unsigned long long)(at - pos), (unsigned long long)pos,
                (unsigned long long)at);
        if (op == MCAP_OP_MESSAGE) c->rep->messages_lost++;
        pos = at;
        first = 0;
        continue;
      }
    }
    if (first && op != MCAP_OP_HEADER)
      problem(c, PL_SEV_WARNING, "header-missing", pos, "no Header record at the start");
    first = 0;
    uint64_t next = pos + 9 + len;
    switch (op) {
      case MCAP_OP_HEADER: {
        mcap_record rec;
        if (mcap_record_parse(op, c->content.data, len, pos, &rec, NULL) == MCAP_OK) {
          free(c->profile);
          c->profile = pl_strview(rec.u.header.profile);
        }
        break;
      }
      case MCAP_OP_SCHEMA:
      case MCAP_OP_CHANNEL: {
        mcap_record rec;
        mcap_record_parse(op, c->content.data, len, pos, &rec, NULL);
        rec.content.data = c->content.data;
        rec.content.len = len;
        rc = note_def(c, &rec, pos);
        break;
      }
      case MCAP_OP_MESSAGE: {
        mcap_record rec;
        mcap_record_parse(op, c->content.data, len, pos, &rec, NULL);
        if (!channel_usable(c, rec.u.message.channel_id)) {
          c->rep->messages_lost++;
          problem(c, PL_SEV_ERROR, "message-unknown-channel", pos,
                  "message on channel %u, whose schema was lost", rec.u.message.channel_id);
        } else {
          rc = write_message(c, &rec.u.message);
          c->loose_messages++;
        }
        break;
      }
      case MCAP_OP_CHUNK:
        rc = do_chunk(c, pos, len, pl == P_TRUNC_CHUNK, &next);
        if (pl == P_TRUNC_CHUNK) {
          c->rep->truncated = 1;
          next = c->size;
        }
        break;
      case MCAP_OP_ATTACHMENT: {
        int ok;
        rc = attachment_intact(c, pos, len, &ok);
        if (rc) break;
        if (!ok) {
          c->rep->attachments_lost++;
          problem(c, PL_SEV_ERROR, "attachment-crc", pos, "attachment CRC mismatch: dropped");
          break;
        }
        rc = open_writer(c, NULL);
        int written = 0;
        if (!rc) rc = pl__copy_attachment(c->w, &c->src, pos, len, 0, NULL, NULL, &written, NULL, c->err);
        if (!rc && written) c->rep->attachments++;
        break;
      }
      case MCAP_OP_METADATA: {
        mcap_record rec;
        mcap_record_parse(op, c->content.data, len, pos, &rec, NULL);
        rc = open_writer(c, NULL);
        if (!rc) {
          int mrc = mcap_writer_write_metadata_record(c->w, &rec.u.metadata);
          if (mrc)
            rc = pl__werr(c->w, mrc, c->err, "writing metadata");
          else
            c->rep->metadata++;
        }
        break;
      }
      case MCAP_OP_DATA_END:
        rc = check_data_crc(c, pos);
        data_end = 1;
        break;
      case MCAP_OP_FOOTER:
        data_end = 1;
        break;
      default:
        /* stray MessageIndex, summary records (the DataEnd may have been lost), private */
        break;
    }
    if (rc) return rc;
    if (data_end) break;
    pos = next;
    if (c->o.progress && pos - last_progress >= (UINT64_C(8) << 20)) {
      last_progress = pos;
      c->o.progress(c->o.progress_user, pos, c->size);
    }
  }
  c->rep->data_end = pos < c->size ? pos : c->size;
  if (!data_end) {
    c->rep->truncated = 1;
    problem(c, PL_SEV_ERROR, "data-end-missing", c->rep->data_end,
            "no DataEnd record: the data section ends early, so what followed is lost");
  }
  return PL_OK;
}

/* ------------------------------------------------------------ the totals */

static void tally(struct rc_ctx *c) {
  pl_recover_report *r = c->rep;
  /* Chunks the summary lists that the scan never met. */
  uint64_t missing = 0;
  for (size_t i = 0; i < c->n_schunks; i++) {
    if (c->schunks[i].seen) continue;
    missing++;
    if (c->schunks[i].counted)
      r->messages_lost += c->schunks[i].messages;
    else
      r->messages_lost_unknown = 1;
    problem(c, PL_SEV_ERROR, "chunk-missing", c->schunks[i].offset,
            "the chunk the summary lists here was not found");
  }
  (void)missing;
  if (c->have_stats) {
    /* The statistics say exactly what there was: compare with what was recovered. Damaged
     * bytes that held nothing of it (an index record, say) lose nothing. */
    r->messages_lost = r->claimed_messages > r->messages ? r->claimed_messages - r->messages : 0;
    r->messages_lost_unknown = 0;
    r->attachments_lost =
        r->claimed_attachments > r->attachments ? r->claimed_attachments - r->attachments : 0;
    r->metadata_lost = r->claimed_metadata > r->metadata ? r->claimed_metadata - r->metadata : 0;
    r->lost = r->messages_lost || r->attachments_lost || r->metadata_lost || r->records_lost;
    return;
  }
  r->lost = r->messages_lost || r->messages_lost_unknown || r->attachments_lost ||
            r->metadata_lost || r->records_lost || r->bytes_skipped || r->truncated ||
            r->chunks_dropped;
}

int pl_recover(const char *in_path, mcap_sink *sink, const pl_recover_options *o,
               pl_recover_report **out, pl_error_info *err) {
  struct rc_ctx *c;
  pl_input input;
  memset(&input, 0, sizeof input);
  int rc = PL_OK;
  if (out) *out = NULL;
  if (!in_path || !sink || !out)
    return pl_error_set(err, PL_EINVAL, UINT64_MAX, "invalid argument");
  c = calloc(1, sizeof *c);
  pl_recover_report *rep = calloc(1, sizeof *rep);
  if (!c || !rep) {
    free(c);
    free(rep);
    return pl_error_set(err, PL_ENOMEM, 0, "out of memory");
  }
  if (o) c->o = *o;
  if (!c->o.max_chunk_size) c->o.max_chunk_size = PL__MAX_CHUNK;
  c->rep = rep;
  c->err = err;
  c->sink = sink;
  c->threads = c->o.threads > 0 ? c->o.threads : pl__cores();
  c->passthrough = !c->o.no_passthrough && c->o.compression_level == 0 && c->o.chunk_size == 0;
  if (pl__defs_init(&c->defs) || pl__reg_init(&c->reg) || !(c->conflict = calloc(2 * PL__IDS, 1)) ||
      mcap_decompressor_new(&c->d) != MCAP_OK) {
    rc = pl_error_set(err, PL_ENOMEM, 0, "out of memory");
    goto out;
  }
  mcap_error_info me;
  memset(&me, 0, sizeof me);
  /* standard input and streams (pipes, /dev/fd/N) are read into a temporary file first */
  rc = pl_input_open(in_path, NULL, &input, err);
  if (!rc) {
    int mrc = mcap_source_open_file(&c->src, input.path, &me);
    if (mrc)
      rc = pl_error_set_mcap(err, mrc, UINT64_MAX, "%s", me.msg[0] ? me.msg : mcap_strerror(mrc));
  }
  if (rc) goto out;
  if (c->src.size == MCAP_SIZE_UNKNOWN) {
    rc = pl_error_set(err, PL_EINVAL, UINT64_MAX, "'%s' is not a regular file", in_path);
    goto out;
  }
  c->size = c->src.size;
  c->profile = pl_strdup("");
  if (!c->profile) {
    rc = pl_error_set(err, PL_ENOMEM, 0, "out of memory");
    goto out;
  }
  rc = read_summary(c);
  if (!rc) rc = scan(c);
  if (!rc) rc = open_writer(c, NULL);
  /* Definitions only the summary still has: the file had them, keep them. */
  for (size_t id = 0; !rc && id < PL__IDS; id++) {
    if (c->defs.channels[id] && !c->reg.channel[id] && channel_usable(c, (uint16_t)id))
      rc = pl__reg_channel(c->w, &c->reg, &c->defs, (uint16_t)id, err);
  }
  if (!rc) {
    int mrc = mcap_writer_close(c->w);
    if (mrc) rc = pl__werr(c->w, mrc, err, "finishing the output");
  }
  if (!rc) {
    rep->schemas = c->reg.n_schemas;
    rep->channels = c->reg.n_channels;
    tally(c);
    if (c->o.progress) c->o.progress(c->o.progress_user, c->size, c->size);
  }
out:
  mcap_writer_free(c->w);
  mcap_source_close(&c->src);
  pl_input_release(&input);
  pl__defs_dispose(&c->defs);
  pl__reg_dispose(&c->reg);
  pl__mi_dispose(&c->mi);
  free(c->conflict);
  free(c->schunks);
  free(c->refs);
  free(c->mis);
  free(c->ix);
  free(c->dec);
  free(c->profile);
  pl_buf_dispose(&c->tmp);
  pl_buf_dispose(&c->content);
  pl_buf_dispose(&c->mibuf);
  mcap_decompressor_free(c->d);
  ZSTD_freeDCtx(c->zd);
  if (c->ld) LZ4F_freeDecompressionContext(c->ld);
  free(c);
  if (rc && rc != PL_EMCAP && rc != PL_EIO && rc != PL_ENOMEM) {
    pl_recover_report_free(rep);
    return rc;
  }
  *out = rep;
  return rc;
}
