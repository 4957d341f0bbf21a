/*
 * indexed_reader.c - opening a file by its footer and summary (or, failing
 * that, by one linear scan) into an in-memory index, and the accessors over
 * that index. Queries over the index live in query.c.
 *
 * Invariants:
 * - Every view handed out by the accessors points into memory the reader owns
 *   (the copied summary section, or the arena for records found by a scan), so
 *   it stays valid for the reader's life.
 * - schemas[] and channels[] are sorted by id, without duplicates.
 * - chunks[] is in file order (by chunk_start_offset).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "indexed.h"

/* ------------------------------------------------------------------ arena */

struct arena_block {
  struct arena_block *next;
  size_t used, cap;
  uint8_t data[];
};

static void *arena_alloc(struct mcap__arena *a, size_t n) {
  struct arena_block *b = a->head;
  n = (n + 7) & ~(size_t)7;
  if (!b || b->cap - b->used < n) {
    size_t cap = n > 65536 ? n : 65536;
    b = mcap__malloc(sizeof *b + cap);
    if (!b) return NULL;
    b->next = a->head;
    b->used = 0;
    b->cap = cap;
    a->head = b;
  }
  b->used += n;
  return b->data + b->used - n;
}

void *mcap__arena_copy(struct mcap__arena *a, const void *p, size_t n) {
  void *d = arena_alloc(a, n ? n : 1);
  if (d && n) memcpy(d, p, n);
  return d;
}

static void arena_free(struct mcap__arena *a) {
  struct arena_block *b = a->head;
  while (b) {
    struct arena_block *next = b->next;
    mcap__free(b);
    b = next;
  }
  a->head = NULL;
}

/* --------------------------------------------------------------- helpers */

int mcap__rfail(mcap_reader *r, int code, uint64_t offset, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  mcap__verr(&r->err, code, offset, fmt, ap);
  va_end(ap);
  return code;
}

int mcap__reader_read(mcap_reader *r, uint64_t off, uint64_t n, const uint8_t **p,
                      const char *what) {
  uint64_t got = 0;
  int rc = mcap__source_pull(&r->src, &r->pieces, off, n, p, &got, &r->err);
  if (rc) return rc;
  if (got < n) {
    return mcap__rfail(r, MCAP_ETRUNCATED, off,
                       "truncated: %s at offset %llu needs %llu bytes, file ends after %llu", what,
                       (unsigned long long)off, (unsigned long long)n, (unsigned long long)got);
  }
  return MCAP_OK;
}

/* Keep a copy of a Schema whose views point into `owned` memory. */
static int add_schema(mcap_reader *r, const mcap_schema *s) {
  if (s->id == 0) return MCAP_OK; /* invalid per spec: ignored */
  /* First occurrence wins; a bitmap, not a search: a hostile file may repeat ids millions of
   * times. */
  if (r->schema_seen[s->id >> 3] & (1u << (s->id & 7))) return MCAP_OK;
  if (mcap__grow_array((void **)&r->schemas, &r->cap_schemas, r->n_schemas + 1, sizeof *r->schemas)) {
    return MCAP_ENOMEM;
  }
  r->schemas[r->n_schemas++] = *s;
  r->schema_seen[s->id >> 3] |= (uint8_t)(1u << (s->id & 7));
  return MCAP_OK;
}

static int add_channel(mcap_reader *r, const mcap_channel *c) {
  if (r->channel_seen[c->id >> 3] & (1u << (c->id & 7))) return MCAP_OK;
  if (mcap__grow_array((void **)&r->channels, &r->cap_channels, r->n_channels + 1, sizeof *r->channels)) {
    return MCAP_ENOMEM;
  }
  r->channels[r->n_channels++] = *c;
  r->channel_seen[c->id >> 3] |= (uint8_t)(1u << (c->id & 7));
  return MCAP_OK;
}

/* Copy every view of a parsed Schema/Channel into the arena. */
static int own_str(mcap_reader *r, mcap_str *s) {
  if (!s->len) return MCAP_OK;
  s->data = mcap__arena_copy(&r->arena, s->data, s->len);
  return s->data ? MCAP_OK : MCAP_ENOMEM;
}

static int own_bytes(mcap_reader *r, mcap_bytes *b) {
  if (!b->len) return MCAP_OK;
  b->data = mcap__arena_copy(&r->arena, b->data, (size_t)b->len);
  return b->data ? MCAP_OK : MCAP_ENOMEM;
}

static int own_map(mcap_reader *r, mcap_map *m) {
  if (!m->len) return MCAP_OK;
  m->data = mcap__arena_copy(&r->arena, m->data, m->len);
  return m->data ? MCAP_OK : MCAP_ENOMEM;
}

int mcap__reader_add_schema_copy(mcap_reader *r, const mcap_schema *s) {
  mcap_schema c = *s;
  if (s->id == 0 || (r->schema_seen[s->id >> 3] & (1u << (s->id & 7)))) return MCAP_OK;
  if (own_str(r, &c.name) || own_str(r, &c.encoding) || own_bytes(r, &c.data)) {
    return MCAP_ENOMEM;
  }
  return add_schema(r, &c);
}

int mcap__reader_add_channel_copy(mcap_reader *r, const mcap_channel *ch) {
  mcap_channel c = *ch;
  if (r->channel_seen[ch->id >> 3] & (1u << (ch->id & 7))) return MCAP_OK;
  if (own_str(r, &c.topic) || own_str(r, &c.message_encoding) || own_map(r, &c.metadata)) {
    return MCAP_ENOMEM;
  }
  return add_channel(r, &c);
}

static int cmp_schema(const void *a, const void *b) {
  uint16_t x = ((const mcap_schema *)a)->id, y = ((const mcap_schema *)b)->id;
  return (x > y) - (x < y);
}

static int cmp_channel(const void *a, const void *b) {
  uint16_t x = ((const mcap_channel *)a)->id, y = ((const mcap_channel *)b)->id;
  return (x > y) - (x < y);
}

static int cmp_chunk(const void *a, const void *b) {
  uint64_t x = ((const struct mcap__chunk *)a)->ci.chunk_start_offset;
  uint64_t y = ((const struct mcap__chunk *)b)->ci.chunk_start_offset;
  return (x > y) - (x < y);
}

/* Channels with messages in a chunk, from its message index offsets (when present). */
static int chunk_channels_from_map(mcap_reader *r, struct mcap__chunk *c) {
  uint32_t n = mcap_map_u16u64_count(&c->ci.message_index_offsets);
  mcap_map_iter it = {0};
  uint16_t id;
  uint64_t off;
  c->channels_known = n > 0;
  c->n_channels = 0;
  if (!n) return MCAP_OK;
  c->channels = arena_alloc(&r->arena, n * sizeof *c->channels);
  if (!c->channels) return MCAP_ENOMEM;
  while (mcap_map_next_u16u64(&c->ci.message_index_offsets, &it, &id, &off) == MCAP_OK) {
    c->channels[c->n_channels++] = id;
  }
  return MCAP_OK;
}

static int add_chunk(mcap_reader *r, const mcap_chunk_index *ci) {
  struct mcap__chunk *c;
  if (mcap__grow_array((void **)&r->chunks, &r->cap_chunks, r->n_chunks + 1, sizeof *r->chunks)) {
    return MCAP_ENOMEM;
  }
  c = &r->chunks[r->n_chunks++];
  memset(c, 0, sizeof *c);
  c->ci = *ci;
  return MCAP_OK;
}

/* ------------------------------------------------------------ from summary */

/* Parse the summary section in r->summary; MCAP_OK or a reason to scan instead (in why). */
static int load_summary(mcap_reader *r, uint64_t summary_start, uint64_t summary_end,
                        char *why, size_t why_len) {
  const uint8_t *p = r->summary.data;
  uint64_t len = summary_end - summary_start, pos = 0;
  mcap_error_info e = {0, 0, {0}};
  while (pos < len) {
    mcap_record rec;
    uint64_t clen;
    uint8_t op;
    if (len - pos < 9) {
      snprintf(why, why_len, "damaged summary: stray bytes at offset %llu",
               (unsigned long long)(summary_start + pos));
      return MCAP_ERECORD;
    }
    op = p[pos];
    clen = mcap__le64dec(p + pos + 1);
    if (clen > len - pos - 9) {
      snprintf(why, why_len, "damaged summary: %s record at offset %llu overruns the summary",
               mcap_opcode_name(op), (unsigned long long)(summary_start + pos));
      return MCAP_ERECORD;
    }
    memset(&rec, 0, sizeof rec);
    if (mcap_record_parse(op, p + pos + 9, clen, summary_start + pos, &rec, &e)) {
      snprintf(why, why_len, "damaged summary: %.200s", e.msg);
      return MCAP_ERECORD;
    }
    switch (op) {
      case MCAP_OP_SCHEMA:
        if (add_schema(r, &rec.u.schema)) return MCAP_ENOMEM;
        break;
      case MCAP_OP_CHANNEL:
        if (add_channel(r, &rec.u.channel)) return MCAP_ENOMEM;
        break;
      case MCAP_OP_CHUNK_INDEX:
        if (add_chunk(r, &rec.u.chunk_index)) return MCAP_ENOMEM;
        break;
      case MCAP_OP_ATTACHMENT_INDEX:
        if (mcap__grow_array((void **)&r->attachments, &r->cap_attachments, r->n_attachments + 1,
                 sizeof *r->attachments)) {
          return MCAP_ENOMEM;
        }
        r->attachments[r->n_attachments++] = rec.u.attachment_index;
        break;
      case MCAP_OP_METADATA_INDEX:
        if (mcap__grow_array((void **)&r->metadata, &r->cap_metadata, r->n_metadata + 1,
                 sizeof *r->metadata)) {
          return MCAP_ENOMEM;
        }
        r->metadata[r->n_metadata++] = rec.u.metadata_index;
        break;
      case MCAP_OP_STATISTICS:
        r->stats = rec.u.statistics;
        r->has_stats = 1;
        break;
      default:
        break; /* SummaryOffsets and private records */
    }
    pos += 9 + clen;
  }
  return MCAP_OK;
}

/* Check what the summary says against the file; a reason to scan instead if it lies. */
static int summary_plausible(mcap_reader *r, uint64_t data_end, char *why, size_t why_len) {
  for (size_t i = 0; i < r->n_chunks; i++) {
    const mcap_chunk_index *ci = &r->chunks[i].ci;
    uint64_t end;
    if (ci->chunk_start_offset < MCAP_MAGIC_SIZE ||
        mcap__add_overflow(ci->chunk_start_offset, ci->chunk_length, &end) || end > data_end ||
        ci->chunk_length < 9 + 40) {
      snprintf(why, why_len, "chunk index %zu points outside the data section (offset %llu, "
               "length %llu)", i, (unsigned long long)ci->chunk_start_offset,
               (unsigned long long)ci->chunk_length);
      return 0;
    }
  }
  for (size_t i = 0; i < r->n_attachments; i++) {
    uint64_t end;
    if (mcap__add_overflow(r->attachments[i].offset, r->attachments[i].length, &end) ||
        end > data_end) {
      snprintf(why, why_len, "attachment index %zu points outside the data section", i);
      return 0;
    }
  }
  for (size_t i = 0; i < r->n_metadata; i++) {
    uint64_t end;
    if (mcap__add_overflow(r->metadata[i].offset, r->metadata[i].length, &end) ||
        end > data_end) {
      snprintf(why, why_len, "metadata index %zu points outside the data section", i);
      return 0;
    }
  }
  if (r->n_chunks == 0 && (!r->has_stats || r->stats.message_count > 0)) {
    snprintf(why, why_len, "no chunk indexes in the summary");
    return 0;
  }
  return 1;
}

static void reset_index(mcap_reader *r) {
  r->n_schemas = r->n_channels = r->n_chunks = r->n_attachments = r->n_metadata = 0;
  r->n_loose = 0;
  memset(r->schema_seen, 0, sizeof r->schema_seen);
  memset(r->channel_seen, 0, sizeof r->channel_seen);
  r->has_stats = 0;
  memset(&r->stats, 0, sizeof r->stats);
}

/* Try the footer + summary. 1 = loaded, 0 = scan instead (why says so), <0 = fatal. */
static int try_summary(mcap_reader *r, char *why, size_t why_len) {
  const uint8_t *p;
  uint64_t size = r->src.size, footer_off, s_start, s_end;
  mcap_record rec;
  int rc;
  if (size < MCAP_MAGIC_SIZE * 2 + MCAP_FOOTER_RECORD_SIZE + 9) {
    snprintf(why, why_len, "file too short for a footer");
    return 0;
  }
  footer_off = size - MCAP_MAGIC_SIZE - MCAP_FOOTER_RECORD_SIZE;
  rc = mcap__reader_read(r, footer_off, MCAP_FOOTER_RECORD_SIZE + MCAP_MAGIC_SIZE, &p, "footer");
  if (rc) return rc;
  if (memcmp(p + MCAP_FOOTER_RECORD_SIZE, MCAP_MAGIC, MCAP_MAGIC_SIZE) != 0) {
    snprintf(why, why_len, "no trailing magic (truncated or still being written)");
    return 0;
  }
  if (p[0] != MCAP_OP_FOOTER || mcap__le64dec(p + 1) != 20) {
    snprintf(why, why_len, "no Footer record at offset %llu", (unsigned long long)footer_off);
    return 0;
  }
  memset(&rec, 0, sizeof rec);
  (void)mcap_record_parse(MCAP_OP_FOOTER, p + 9, 20, footer_off, &rec, NULL);
  r->footer = rec.u.footer;
  r->has_footer = 1;
  {
    uint8_t foot[25];
    memcpy(foot, p, 25);
    s_start = r->footer.summary_start;
    if (s_start == 0) {
      snprintf(why, why_len, "no summary section");
      return 0;
    }
    s_end = r->footer.summary_offset_start ? r->footer.summary_offset_start : footer_off;
    if (s_start < MCAP_MAGIC_SIZE + 9 || s_start > footer_off || s_end < s_start ||
        s_end > footer_off) {
      snprintf(why, why_len, "footer offsets out of range (summary_start %llu, "
               "summary_offset_start %llu)", (unsigned long long)s_start,
               (unsigned long long)r->footer.summary_offset_start);
      return 0;
    }
    if (footer_off - s_start > r->o.base.max_record_size) {
      snprintf(why, why_len, "summary section larger than the record size limit");
      return 0;
    }
    r->summary.len = 0;
    if (mcap__buf_ensure(&r->summary, (size_t)(footer_off - s_start) + 1)) return MCAP_ENOMEM;
    rc = mcap__reader_read(r, s_start, footer_off - s_start, &p, "summary section");
    if (rc) return rc;
    memcpy(r->summary.data, p, (size_t)(footer_off - s_start));
    r->summary.len = (size_t)(footer_off - s_start);
    if (!r->o.base.no_summary_crc && r->footer.summary_crc != 0) {
      uint32_t crc = mcap_crc32(0, r->summary.data, r->summary.len);
      crc = mcap_crc32(crc, foot, 25);
      if (crc != r->footer.summary_crc) {
        snprintf(why, why_len, "summary CRC mismatch (stored 0x%08x, computed 0x%08x)",
                 r->footer.summary_crc, crc);
        return 0;
      }
    }
  }
  rc = load_summary(r, s_start, s_end, why, why_len);
  if (rc == MCAP_ENOMEM) return rc;
  if (rc) return 0;
  if (!summary_plausible(r, s_start, why, why_len)) return 0;
  r->data_end = s_start;
  return 1;
}

/* ------------------------------------------------------------------ open */

static int read_header(mcap_reader *r) {
  const uint8_t *p;
  uint64_t len;
  mcap_record rec;
  int rc = mcap__reader_read(r, 0, MCAP_MAGIC_SIZE + 9, &p, "file start");
  if (rc) return rc;
  if (!r->o.base.no_magic_check && memcmp(p, MCAP_MAGIC, MCAP_MAGIC_SIZE) != 0) {
    return mcap__rfail(r, MCAP_EMAGIC, 0, "not an MCAP file: bad magic at offset 0");
  }
  if (p[8] != MCAP_OP_HEADER) {
    return mcap__rfail(r, MCAP_EOPCODE, 8, "expected a Header record at offset 8, found %s",
                       mcap_opcode_name(p[8]));
  }
  len = mcap__le64dec(p + 9);
  if (len > r->src.size - MCAP_MAGIC_SIZE - 9 || len > r->o.base.max_record_size) {
    return mcap__rfail(r, MCAP_ETRUNCATED, 8,
                       "truncated: Header record at offset 8 declares %llu bytes",
                       (unsigned long long)len);
  }
  rc = mcap__reader_read(r, MCAP_MAGIC_SIZE + 9, len, &p, "Header record");
  if (rc) return rc;
  memset(&rec, 0, sizeof rec);
  rc = mcap_record_parse(MCAP_OP_HEADER, p, len, 8, &rec, &r->err);
  if (rc) return rc;
  r->header = rec.u.header;
  if (own_str(r, &r->header.profile) || own_str(r, &r->header.library)) return MCAP_ENOMEM;
  r->first_record = MCAP_MAGIC_SIZE + 9 + len;
  return MCAP_OK;
}

static void finish_index(mcap_reader *r) {
  /* qsort on an empty (NULL) array is undefined behaviour: guard every call. */
  if (r->n_schemas > 1) qsort(r->schemas, r->n_schemas, sizeof *r->schemas, cmp_schema);
  if (r->n_channels > 1) qsort(r->channels, r->n_channels, sizeof *r->channels, cmp_channel);
  if (r->n_chunks > 1) qsort(r->chunks, r->n_chunks, sizeof *r->chunks, cmp_chunk);
  r->sorted = 1;
}

/* Statistics from the index when the file has none (or after a scan). */
static int compute_stats(mcap_reader *r) {
  mcap_statistics *s = &r->computed;
  memset(s, 0, sizeof *s);
  s->schema_count = (uint16_t)r->n_schemas;
  s->channel_count = (uint32_t)r->n_channels;
  s->attachment_count = (uint32_t)r->n_attachments;
  s->metadata_count = (uint32_t)r->n_metadata;
  s->chunk_count = (uint32_t)r->n_chunks;
  if (r->counts_known) {
    struct mcap_buf b = MCAP_BUF_INIT;
    int first = 1;
    for (size_t i = 0; i < r->n_channels; i++) {
      uint64_t n = r->channel_counts[r->channels[i].id];
      uint8_t ent[10];
      if (!n) continue;
      mcap__le16enc(ent, r->channels[i].id);
      mcap__le64enc(ent + 2, n);
      if (mcap__buf_append(&b, ent, 10)) {
        mcap__buf_dispose(&b);
        return MCAP_ENOMEM;
      }
      s->message_count += n;
    }
    if (b.len) {
      s->channel_message_counts.data = mcap__arena_copy(&r->arena, b.data, b.len);
      s->channel_message_counts.len = (uint32_t)b.len;
      if (!s->channel_message_counts.data) {
        mcap__buf_dispose(&b);
        return MCAP_ENOMEM;
      }
    }
    mcap__buf_dispose(&b);
    s->message_start_time = r->scan_start;
    s->message_end_time = r->scan_end;
    (void)first;
  } else {
    int any = 0;
    for (size_t i = 0; i < r->n_chunks; i++) {
      const mcap_chunk_index *ci = &r->chunks[i].ci;
      if (r->chunks[i].channels_known && r->chunks[i].n_channels == 0) continue;
      if (!any || ci->message_start_time < s->message_start_time) {
        s->message_start_time = ci->message_start_time;
      }
      if (!any || ci->message_end_time > s->message_end_time) {
        s->message_end_time = ci->message_end_time;
      }
      any = 1;
    }
  }
  return MCAP_OK;
}

int mcap_reader_open(mcap_reader **out, mcap_source *src, const mcap_indexed_options *opts,
                     mcap_error_info *err) {
  mcap_reader *r;
  char why[256] = "";
  int rc;
  if (!out || !src || !src->read) {
    if (src) mcap_source_close(src);
    return mcap__err(err, MCAP_EINVAL, UINT64_MAX, "invalid argument");
  }
  *out = NULL;
  if (src->size == MCAP_SIZE_UNKNOWN) {
    mcap_source_close(src);
    return mcap__err(err, MCAP_EUNSUPPORTED, UINT64_MAX,
                     "indexed reading needs a seekable file, not a stream");
  }
  r = mcap__calloc(1, sizeof *r);
  if (!r) {
    mcap_source_close(src);
    return mcap__err(err, MCAP_ENOMEM, UINT64_MAX, "out of memory");
  }
  r->src = *src;
  memset(src, 0, sizeof *src);
  if (opts) r->o = *opts;
  if (!r->o.base.max_record_size) r->o.base.max_record_size = MCAP_DEFAULT_MAX_RECORD_SIZE;
  if (!r->o.base.max_chunk_uncompressed_size) {
    r->o.base.max_chunk_uncompressed_size = MCAP_DEFAULT_MAX_RECORD_SIZE;
  }
  if (r->o.threads <= 0) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    r->o.threads = n > 0 ? (int)(n > 16 ? 16 : n) : 1;
  }
  r->err.offset = UINT64_MAX;
  r->damage.first_offset = UINT64_MAX;
  rc = read_header(r);
  if (rc) goto fail;
  rc = r->o.force_scan ? 0 : try_summary(r, why, sizeof why);
  if (r->o.force_scan) snprintf(why, sizeof why, "scan requested");
  if (rc < 0) goto fail;
  if (rc == 0) {
    reset_index(r);
    r->source = MCAP_INDEX_FROM_SCAN;
    snprintf(r->why, sizeof r->why, "%s", why);
    rc = mcap__reader_scan(r);
    if (rc) goto fail;
  } else {
    r->source = MCAP_INDEX_FROM_SUMMARY;
    for (size_t i = 0; i < r->n_chunks; i++) {
      rc = chunk_channels_from_map(r, &r->chunks[i]);
      if (rc) goto fail;
    }
  }
  finish_index(r);
  rc = compute_stats(r);
  if (rc) goto fail;
  *out = r;
  return MCAP_OK;
fail:
  if (err) {
    *err = r->err;
    err->code = rc;
    if (!err->msg[0]) snprintf(err->msg, sizeof err->msg, "%s", mcap_strerror(rc));
  }
  mcap_reader_free(r);
  return rc;
}

void mcap_reader_free(mcap_reader *r) {
  if (!r) return;
  mcap_source_close(&r->src);
  mcap__buf_dispose(&r->summary);
  mcap__buf_dispose(&r->rec_buf);
  mcap__buf_dispose(&r->pieces);
  mcap__free(r->schemas);
  mcap__free(r->channels);
  mcap__free(r->chunks);
  mcap__free(r->attachments);
  mcap__free(r->metadata);
  mcap__free(r->loose);
  mcap__free(r->channel_counts);
  mcap__free(r->channel_times);
  mcap_decompressor_free(r->dec);
  arena_free(&r->arena);
  mcap__free(r);
}

/* -------------------------------------------------------------- accessors */

const char *mcap_reader_errmsg(const mcap_reader *r) { return r ? r->err.msg : ""; }

mcap_index_source mcap_reader_index_source(const mcap_reader *r, const char **why) {
  if (why) *why = r->source == MCAP_INDEX_FROM_SCAN ? r->why : "";
  return r->source;
}

const char *mcap_reader_scan_problem(const mcap_reader *r) { return r->scan_problem; }

void mcap_reader_damage(const mcap_reader *r, mcap_damage *out) {
  if (!out) return;
  if (!r) {
    memset(out, 0, sizeof *out);
    out->first_offset = UINT64_MAX;
    return;
  }
  *out = r->damage;
}

void mcap__reader_note_damage(mcap_reader *r, int code, uint64_t offset, uint64_t bytes,
                              uint64_t chunks, uint64_t messages, int rest, const char *msg) {
  mcap_damage *d = &r->damage;
  if (d->problems++ == 0) {
    d->code = code;
    d->first_offset = offset;
    snprintf(d->msg, sizeof d->msg, "%s", msg);
  }
  if (rest && !d->rest_unread) {
    d->rest_unread = 1;
    d->stop_offset = offset;
  }
  d->bytes_skipped += bytes;
  d->chunks_skipped += chunks;
  d->messages_skipped += messages;
  if (r->o.on_problem) {
    mcap_error_info info;
    info.code = code;
    info.offset = offset;
    snprintf(info.msg, sizeof info.msg, "%s", msg);
    r->o.on_problem(r->o.problem_user, &info);
  }
}

uint64_t mcap__chunk_message_count(const mcap_chunk_index *ci) {
  uint64_t k = mcap_map_u16u64_count(&ci->message_index_offsets);
  uint64_t len = ci->message_index_length;
  /* each MessageIndex record: 9 envelope + 2 channel + 4 array length, then 16 per entry */
  if (k == 0 || len < 15 * k || (len - 15 * k) % 16) return 0;
  return (len - 15 * k) / 16;
}

const mcap_header *mcap_reader_header(const mcap_reader *r) { return &r->header; }

const mcap_footer *mcap_reader_footer(const mcap_reader *r) { return &r->footer; }

const mcap_statistics *mcap_reader_statistics(const mcap_reader *r, int *from_file) {
  if (from_file) *from_file = r->has_stats;
  return r->has_stats ? &r->stats : &r->computed;
}

uint64_t mcap_reader_channel_message_count(const mcap_reader *r, uint16_t channel_id) {
  uint64_t n = 0;
  if (r->has_stats && mcap_map_find_u16u64(&r->stats.channel_message_counts, channel_id, &n)) {
    return n;
  }
  if (r->counts_known) return r->channel_counts[channel_id];
  return 0;
}

size_t mcap_reader_schema_count(const mcap_reader *r) { return r->n_schemas; }

const mcap_schema *mcap_reader_schema_at(const mcap_reader *r, size_t i) {
  return i < r->n_schemas ? &r->schemas[i] : NULL;
}

const mcap_schema *mcap_reader_schema(const mcap_reader *r, uint16_t id) {
  size_t lo = 0, hi = r->n_schemas;
  if (!r->sorted) {
    for (size_t i = 0; i < r->n_schemas; i++) {
      if (r->schemas[i].id == id) return &r->schemas[i];
    }
    return NULL;
  }
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (r->schemas[mid].id == id) return &r->schemas[mid];
    if (r->schemas[mid].id < id) lo = mid + 1; else hi = mid;
  }
  return NULL;
}

size_t mcap_reader_channel_count(const mcap_reader *r) { return r->n_channels; }

const mcap_channel *mcap_reader_channel_at(const mcap_reader *r, size_t i) {
  return i < r->n_channels ? &r->channels[i] : NULL;
}

const mcap_channel *mcap_reader_channel(const mcap_reader *r, uint16_t id) {
  size_t lo = 0, hi = r->n_channels;
  if (!r->sorted) {
    for (size_t i = 0; i < r->n_channels; i++) {
      if (r->channels[i].id == id) return &r->channels[i];
    }
    return NULL;
  }
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (r->channels[mid].id == id) return &r->channels[mid];
    if (r->channels[mid].id < id) lo = mid + 1; else hi = mid;
  }
  return NULL;
}

size_t mcap_reader_chunk_count(const mcap_reader *r) { return r->n_chunks; }

const mcap_chunk_index *mcap_reader_chunk_at(const mcap_reader *r, size_t i) {
  return i < r->n_chunks ? &r->chunks[i].ci : NULL;
}

size_t mcap_reader_attachment_count(const mcap_reader *r) { return r->n_attachments; }

const mcap_attachment_index *mcap_reader_attachment_at(const mcap_reader *r, size_t i) {
  return i < r->n_attachments ? &r->attachments[i] : NULL;
}

size_t mcap_reader_metadata_count(const mcap_reader *r) { return r->n_metadata; }

const mcap_metadata_index *mcap_reader_metadata_at(const mcap_reader *r, size_t i) {
  return i < r->n_metadata ? &r->metadata[i] : NULL;
}

/* ---------------------------------------------------- attachments, metadata */

/* Read one whole record at `offset` of the expected opcode into r->rec_buf (owned copy). */
static int read_record_at(mcap_reader *r, uint64_t offset, uint64_t length, uint8_t opcode,
                          mcap_record *rec) {
  const uint8_t *p;
  uint64_t clen;
  int rc;
  if (offset >= r->src.size || r->src.size - offset < 9) {
    return mcap__rfail(r, MCAP_ECHUNK_OFFSET, offset, "%s index points past the end (offset %llu)",
                       mcap_opcode_name(opcode), (unsigned long long)offset);
  }
  rc = mcap__reader_read(r, offset, 9, &p, "record header");
  if (rc) return rc;
  clen = mcap__le64dec(p + 1);
  if (p[0] != opcode) {
    return mcap__rfail(r, MCAP_ECHUNK_OFFSET, offset,
                       "index points at a %s record at offset %llu, expected %s",
                       mcap_opcode_name(p[0]), (unsigned long long)offset,
                       mcap_opcode_name(opcode));
  }
  if (clen > r->src.size - offset - 9 || clen > r->o.base.max_record_size ||
      (length && length != 9 + clen)) {
    return mcap__rfail(r, MCAP_ECHUNK_OFFSET, offset,
                       "%s record at offset %llu: length %llu does not match its index or the file",
                       mcap_opcode_name(opcode), (unsigned long long)offset,
                       (unsigned long long)clen);
  }
  rc = mcap__reader_read(r, offset + 9, clen, &p, mcap_opcode_name(opcode));
  if (rc) return rc;
  r->rec_buf.len = 0;
  if (mcap__buf_append(&r->rec_buf, p, (size_t)clen)) {
    return mcap__rfail(r, MCAP_ENOMEM, offset, "out of memory");
  }
  memset(rec, 0, sizeof *rec);
  rc = mcap_record_parse(opcode, r->rec_buf.data, clen, offset, rec, &r->err);
  rec->offset = offset;
  return rc;
}

int mcap_reader_read_attachment(mcap_reader *r, const mcap_attachment_index *ai,
                                mcap_attachment *out) {
  mcap_record rec;
  int rc;
  if (!r || !ai || !out) return MCAP_EINVAL;
  rc = read_record_at(r, ai->offset, ai->length, MCAP_OP_ATTACHMENT, &rec);
  if (rc) return rc;
  if (!r->o.base.no_attachment_crc && rec.u.attachment.crc != 0) {
    const mcap_attachment *a = &rec.u.attachment;
    uint64_t covered = 8 + 8 + 4 + (uint64_t)a->name.len + 4 + a->media_type.len + 8 + a->data.len;
    uint32_t crc = mcap_crc32(0, rec.content.data, (size_t)covered);
    if (crc != a->crc) {
      return mcap__rfail(r, MCAP_ECRC, ai->offset,
                         "Attachment record at offset %llu: CRC mismatch: stored 0x%08x, "
                         "computed 0x%08x",
                         (unsigned long long)ai->offset, a->crc, crc);
    }
  }
  *out = rec.u.attachment;
  return MCAP_OK;
}

int mcap_reader_read_metadata(mcap_reader *r, const mcap_metadata_index *mi, mcap_metadata *out) {
  mcap_record rec;
  int rc;
  if (!r || !mi || !out) return MCAP_EINVAL;
  rc = read_record_at(r, mi->offset, mi->length, MCAP_OP_METADATA, &rec);
  if (rc) return rc;
  *out = rec.u.metadata;
  return MCAP_OK;
}

struct mcap_attachment_stream {
  mcap_reader *r;
  uint64_t pos, left; /* file offset of the next data byte, bytes left */
  uint64_t crc_end;   /* file offset of the CRC field */
  uint32_t crc, want_crc;
  int check;
};

int mcap_reader_attachment_open(mcap_reader *r, const mcap_attachment_index *ai,
                                mcap_attachment_stream **out, mcap_attachment *fields) {
  const uint8_t *p;
  uint64_t clen, off, fixed;
  struct mcap_cursor c;
  mcap_attachment a;
  mcap_attachment_stream *s;
  uint64_t data_len;
  int rc;
  if (!r || !ai || !out || !fields) return MCAP_EINVAL;
  *out = NULL;
  off = ai->offset;
  if (off >= r->src.size || r->src.size - off < 9) {
    return mcap__rfail(r, MCAP_ECHUNK_OFFSET, off, "attachment index points past the end");
  }
  rc = mcap__reader_read(r, off, 9, &p, "record header");
  if (rc) return rc;
  if (p[0] != MCAP_OP_ATTACHMENT) {
    return mcap__rfail(r, MCAP_ECHUNK_OFFSET, off,
                       "attachment index points at a %s record at offset %llu",
                       mcap_opcode_name(p[0]), (unsigned long long)off);
  }
  clen = mcap__le64dec(p + 1);
  if (clen > r->src.size - off - 9) {
    return mcap__rfail(r, MCAP_ETRUNCATED, off, "Attachment record at offset %llu overruns the file",
                       (unsigned long long)off);
  }
  /* Fixed part: times, name, media type, data length (names are bounded by the index). */
  fixed = 16 + 4 + (uint64_t)ai->name.len + 4 + ai->media_type.len + 8;
  if (fixed > clen) {
    return mcap__rfail(r, MCAP_ERECORD, off, "Attachment record at offset %llu too short",
                       (unsigned long long)off);
  }
  rc = mcap__reader_read(r, off + 9, fixed, &p, "Attachment fields");
  if (rc) return rc;
  r->rec_buf.len = 0;
  if (mcap__buf_append(&r->rec_buf, p, (size_t)fixed)) return MCAP_ENOMEM;
  mcap__cursor_init(&c, r->rec_buf.data, fixed, "Attachment", off, &r->err);
  memset(&a, 0, sizeof a);
  if ((rc = mcap__cursor_u64(&c, "log_time", &a.log_time)) ||
      (rc = mcap__cursor_u64(&c, "create_time", &a.create_time)) ||
      (rc = mcap__cursor_str(&c, "name", &a.name)) ||
      (rc = mcap__cursor_str(&c, "media_type", &a.media_type)) ||
      (rc = mcap__cursor_u64(&c, "data_len", &data_len))) {
    return rc;
  }
  if (c.left != 0 || data_len > clen - fixed || clen - fixed - data_len < 4) {
    return mcap__rfail(r, MCAP_ERECORD, off,
                       "Attachment record at offset %llu does not match its index",
                       (unsigned long long)off);
  }
  s = mcap__calloc(1, sizeof *s);
  if (!s) return MCAP_ENOMEM;
  s->r = r;
  s->pos = off + 9 + fixed;
  s->left = data_len;
  s->crc_end = s->pos + data_len;
  s->crc = mcap_crc32(0, r->rec_buf.data, (size_t)fixed);
  s->check = !r->o.base.no_attachment_crc;
  rc = mcap__reader_read(r, s->crc_end, 4, &p, "attachment CRC");
  if (rc) {
    mcap__free(s);
    return rc;
  }
  s->want_crc = mcap__le32dec(p);
  a.crc = s->want_crc;
  a.data.len = data_len;
  *fields = a;
  *out = s;
  return MCAP_OK;
}

int mcap_attachment_stream_read(mcap_attachment_stream *s, void *buf, size_t cap, size_t *got) {
  const uint8_t *p;
  uint64_t n;
  int rc;
  if (!s || !got || (!buf && cap)) return MCAP_EINVAL;
  *got = 0;
  if (s->left == 0) return MCAP_OK;
  n = s->left < cap ? s->left : cap;
  rc = mcap__reader_read(s->r, s->pos, n, &p, "attachment data");
  if (rc) return rc;
  memcpy(buf, p, (size_t)n);
  if (s->check) s->crc = mcap_crc32(s->crc, p, (size_t)n);
  s->pos += n;
  s->left -= n;
  *got = (size_t)n;
  if (s->left == 0 && s->check && s->want_crc != 0 && s->crc != s->want_crc) {
    return mcap__rfail(s->r, MCAP_ECRC, s->crc_end,
                       "attachment data CRC mismatch: stored 0x%08x, computed 0x%08x",
                       s->want_crc, s->crc);
  }
  return MCAP_OK;
}

void mcap_attachment_stream_free(mcap_attachment_stream *s) { mcap__free(s); }
