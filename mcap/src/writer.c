/*
 * writer.c - the MCAP writer: schemas, channels, messages, attachments
 * (whole or in pieces), metadata; chunking with zstd/lz4/none; message,
 * chunk, attachment and metadata indexes; statistics; repeated schemas and
 * channels; summary offsets; all four CRCs. It never seeks: every byte goes
 * to the sink in file order, so stdout works.
 *
 * Invariants:
 * - `offset` is the number of bytes handed to the sink; `data_crc` covers all
 *   of them until DataEnd is written.
 * - The open chunk's records are in `chunk` (uncompressed); each channel with
 *   messages in it has its (log_time, offset) pairs in `mi` and is listed in
 *   `chunk_channels`.
 * - Summary index records (chunk, attachment, metadata indexes) are encoded as
 *   they are produced into their group buffers, so closing is a copy.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "pool.h"

#define DEFAULT_CHUNK_SIZE (1u << 20)

struct wschema {
  uint16_t id;
  uint8_t *rec;     /* the encoded Schema record (envelope included) */
  uint64_t rec_len;
};

struct wchannel {
  uint16_t id;
  uint16_t schema_id;
  uint8_t *rec;     /* the encoded Channel record */
  uint64_t rec_len;
  uint64_t message_count;
  int in_chunk;            /* listed in chunk_channels */
  struct mcap_buf mi;      /* message index entries of the open chunk */
};

struct sealed {
  struct mcap__job job; /* first member: the pool hands the job back as a sealed chunk */
  struct mcap_buf raw;  /* uncompressed records */
  struct mcap_buf comp; /* compressed records */
  struct mcap_buf mi;   /* per channel, by id: u16 id, u32 byte length, entries */
  uint64_t start, end;
  int has_messages;
  /* how to compress it, copied from the writer when sealed (the job may run on any thread) */
  int want_codec, level, no_crc, force;
  int codec;            /* codec actually used (0 when compression did not pay) */
  uint32_t crc;
  int rc;
  char msg[256];
  struct sealed *next;  /* in-flight list (emission order) / free list */
};

enum wstate { W_OPEN, W_ATTACHMENT, W_CLOSED, W_DEAD };

struct mcap_writer {
  mcap_sink *sink;
  mcap_writer_options o;
  char *profile;
  char *library;
  int codec;      /* 0 none, 1 zstd, 2 lz4 */
  enum wstate state;
  uint64_t offset;
  uint32_t data_crc;
  int in_summary; /* after DataEnd: bytes feed summary_crc instead */
  uint32_t summary_crc;

  struct wschema *schemas; /* registration order */
  size_t n_schemas, cap_schemas;
  struct wchannel **chan_by_id; /* 65536 slots, allocated on first channel */
  uint16_t *chan_order;         /* registration order */
  size_t n_channels, cap_channels;
  uint32_t next_schema_id, next_channel_id;

  /* open chunk */
  struct mcap_buf chunk;
  uint64_t chunk_start, chunk_end;
  int chunk_has_messages;
  uint16_t *chunk_channels;
  size_t n_chunk_channels;
  struct mcap_codec_ctx *codec_ctx; /* the caller's: inline compression, and pool jobs it runs */
  mcap_pool *pool;             /* where chunks are compressed: options.pool, own_pool or NULL */
  mcap_pool *own_pool;         /* made for options.workers > 1 on the first chunk */
  struct sealed *inflight, *inflight_tail; /* sealed chunks in emission order */
  size_t n_inflight;
  struct sealed *spare;        /* recycled sealed chunks */

  /* summary groups, encoded */
  struct mcap_buf chunk_indexes, attachment_indexes, metadata_indexes;

  /* statistics */
  uint64_t message_count, msg_start, msg_end;
  uint32_t attachment_count, metadata_count, chunk_count;

  /* attachment in pieces */
  uint64_t att_left;
  uint32_t att_crc;
  uint64_t att_offset, att_length, att_log_time, att_create_time, att_size;
  char *att_name, *att_media_type;
  uint32_t att_name_len, att_media_type_len;

  struct mcap_buf scratch;
  mcap_error_info err;
};

void mcap_writer_options_init(mcap_writer_options *opts) {
  if (opts) memset(opts, 0, sizeof *opts);
}


const char *mcap_writer_errmsg(const mcap_writer *w) { return w ? w->err.msg : ""; }

uint64_t mcap_writer_bytes_written(const mcap_writer *w) { return w ? w->offset : 0; }

static int werr(mcap_writer *w, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int werr(mcap_writer *w, int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  mcap__verr(&w->err, code, w->offset, fmt, ap);
  va_end(ap);
  return code;
}

/* A failure that leaves the file unusable. */
static int wdead(mcap_writer *w, int code) {
  w->state = W_DEAD;
  if (!w->err.msg[0]) snprintf(w->err.msg, sizeof w->err.msg, "%s", mcap_strerror(code));
  w->err.code = code;
  return code;
}

static char *dupstr(const char *s, size_t n) {
  char *p = mcap__malloc(n + 1);
  if (p) {
    if (n) memcpy(p, s, n);
    p[n] = '\0';
  }
  return p;
}

/* Hand bytes to the sink, keeping the offset and the running CRCs. */
static int emit(mcap_writer *w, const void *p, size_t n) {
  int rc;
  if (!n) return MCAP_OK;
  if (!w->in_summary) {
    if (!w->o.no_data_crc) w->data_crc = mcap_crc32(w->data_crc, p, n);
  } else if (!w->o.no_summary_crc) {
    w->summary_crc = mcap_crc32(w->summary_crc, p, n);
  }
  rc = w->sink->write(w->sink->payload, p, n, &w->err);
  if (rc) return wdead(w, rc);
  w->offset += n;
  return MCAP_OK;
}

/* Encode a record into scratch. */
static int encode(mcap_writer *w, const mcap_record *rec, struct mcap_buf *out) {
  uint64_t size;
  int rc = mcap_record_encode(rec, NULL, 0, &size);
  if (rc) return werr(w, rc, "%s record too large to encode", mcap_opcode_name(rec->opcode));
  if (size > SIZE_MAX) return werr(w, MCAP_ELIMIT, "record too large");
  rc = mcap__buf_reserve(out, (size_t)size);
  if (rc) return werr(w, rc, "cannot allocate %llu bytes", (unsigned long long)size);
  rc = mcap_record_encode(rec, out->data + out->len, size, &size);
  if (rc) return werr(w, rc, "encoding failed");
  out->len += (size_t)size;
  return MCAP_OK;
}

static int emit_record(mcap_writer *w, const mcap_record *rec) {
  int rc;
  w->scratch.len = 0;
  rc = encode(w, rec, &w->scratch);
  if (rc) return rc;
  return emit(w, w->scratch.data, w->scratch.len);
}

/* ------------------------------------------------------------------ open */

int mcap_writer_open(mcap_writer **out, mcap_sink *sink, const mcap_writer_options *opts) {
  mcap_writer *w;
  mcap_record rec;
  int rc;
  if (!out || !sink || !sink->write) return MCAP_EINVAL;
  *out = NULL;
  w = mcap__calloc(1, sizeof *w);
  if (!w) return MCAP_ENOMEM;
  w->sink = sink;
  if (opts) w->o = *opts;
  switch (w->o.compression) {
    case MCAP_COMPRESSION_DEFAULT:
    case MCAP_COMPRESSION_ZSTD: w->codec = 1; break;
    case MCAP_COMPRESSION_LZ4: w->codec = 2; break;
    case MCAP_COMPRESSION_NONE: w->codec = 0; break;
    default: mcap__free(w); return MCAP_EINVAL;
  }
  if (w->o.compression_level) {
    int lo, hi;
    mcap_compression_levels(w->o.compression, &lo, &hi);
    if (w->o.compression_level < lo || w->o.compression_level > hi) {
      mcap__free(w);
      return MCAP_EINVAL; /* a level the codec does not have */
    }
  }
  if (!w->o.chunk_size) w->o.chunk_size = DEFAULT_CHUNK_SIZE;
  if (w->o.no_summary) {
    w->o.no_chunk_index = w->o.no_attachment_index = w->o.no_metadata_index = 1;
    w->o.no_statistics = w->o.no_repeated_schemas = w->o.no_repeated_channels = 1;
    w->o.no_summary_offsets = 1;
  }
  {
    const char *prof = w->o.profile ? w->o.profile : "";
    const char *lib = w->o.library ? w->o.library : mcap_default_library();
    w->profile = dupstr(prof, strlen(prof));
    w->library = dupstr(lib, strlen(lib));
    w->o.profile = w->profile;
    w->o.library = w->library;
  }
  w->pool = w->o.pool;
  w->next_schema_id = 1;
  w->next_channel_id = 1;
  w->chunk.max = 0;
  if (!w->profile || !w->library) {
    mcap_writer_free(w);
    return MCAP_ENOMEM;
  }
  w->state = W_OPEN;
  *out = w;
  rc = emit(w, MCAP_MAGIC, MCAP_MAGIC_SIZE);
  if (rc) return rc;
  memset(&rec, 0, sizeof rec);
  rec.opcode = MCAP_OP_HEADER;
  rec.u.header.profile = mcap_str_c(w->profile);
  rec.u.header.library = mcap_str_c(w->library);
  return emit_record(w, &rec);
}

static void sealed_free(struct sealed *s);

void mcap_writer_free(mcap_writer *w) {
  if (!w) return;
  /* Chunks still in the pool are taken back, or waited for when a thread is on them. */
  while (w->inflight) {
    struct sealed *s = w->inflight;
    w->inflight = s->next;
    mcap__pool_cancel(w->pool, &s->job);
    sealed_free(s);
  }
  mcap_pool_free(w->own_pool);
  while (w->spare) {
    struct sealed *s = w->spare;
    w->spare = s->next;
    sealed_free(s);
  }
  for (size_t i = 0; i < w->n_schemas; i++) mcap__free(w->schemas[i].rec);
  mcap__free(w->schemas);
  if (w->chan_by_id) {
    for (size_t i = 0; i < w->n_channels; i++) {
      struct wchannel *c = w->chan_by_id[w->chan_order[i]];
      mcap__free(c->rec);
      mcap__buf_dispose(&c->mi);
      mcap__free(c);
    }
  }
  mcap__free(w->chan_by_id);
  mcap__free(w->chan_order);
  mcap__free(w->chunk_channels);
  mcap__buf_dispose(&w->chunk);
  mcap__buf_dispose(&w->chunk_indexes);
  mcap__buf_dispose(&w->attachment_indexes);
  mcap__buf_dispose(&w->metadata_indexes);
  mcap__buf_dispose(&w->scratch);
  mcap__codec_ctx_free(w->codec_ctx);
  mcap__free(w->att_name);
  mcap__free(w->att_media_type);
  mcap__free(w->profile);
  mcap__free(w->library);
  mcap__free(w);
}

static int check_open(mcap_writer *w) {
  if (!w) return MCAP_EINVAL;
  if (w->state == W_DEAD) return w->err.code ? w->err.code : MCAP_ESTATE;
  if (w->state != W_OPEN) {
    return werr(w, MCAP_ESTATE, w->state == W_ATTACHMENT
                                    ? "an attachment is being written: finish it first"
                                    : "the writer is closed");
  }
  return MCAP_OK;
}

/* Write an encoded Schema/Channel record where it belongs: the open chunk or the data section. */
static int place_definition(mcap_writer *w, const uint8_t *rec, uint64_t len) {
  if (w->o.no_chunking) return emit(w, rec, (size_t)len);
  if (mcap__buf_append(&w->chunk, rec, (size_t)len)) {
    return wdead(w, werr(w, MCAP_ENOMEM, "out of memory growing the chunk"));
  }
  return MCAP_OK;
}

/* ---------------------------------------------------------------- schemas */

static struct wschema *find_schema(mcap_writer *w, uint16_t id) {
  for (size_t i = 0; i < w->n_schemas; i++) {
    if (w->schemas[i].id == id) return &w->schemas[i];
  }
  return NULL;
}

/* Content bytes of an encoded record, for identity comparisons (ids excluded by the caller). */
static int add_schema_record(mcap_writer *w, const mcap_schema *s) {
  mcap_record rec;
  struct mcap_buf b = MCAP_BUF_INIT;
  int rc;
  if (w->n_schemas == w->cap_schemas) {
    size_t cap = w->cap_schemas ? w->cap_schemas * 2 : 16;
    struct wschema *p = mcap__realloc(w->schemas, cap * sizeof *p);
    if (!p) return werr(w, MCAP_ENOMEM, "out of memory");
    w->schemas = p;
    w->cap_schemas = cap;
  }
  memset(&rec, 0, sizeof rec);
  rec.opcode = MCAP_OP_SCHEMA;
  rec.u.schema = *s;
  rc = encode(w, &rec, &b);
  if (rc) return rc;
  w->schemas[w->n_schemas].id = s->id;
  w->schemas[w->n_schemas].rec = b.data;
  w->schemas[w->n_schemas].rec_len = b.len;
  w->n_schemas++;
  if (s->id >= w->next_schema_id) w->next_schema_id = (uint32_t)s->id + 1;
  return place_definition(w, b.data, b.len);
}

static int same_schema(const struct wschema *ws, const mcap_schema *s) {
  /* Compare the encoded content after the id (9-byte envelope + 2-byte id). */
  mcap_record rec;
  uint64_t size;
  memset(&rec, 0, sizeof rec);
  rec.opcode = MCAP_OP_SCHEMA;
  rec.u.schema = *s;
  if (mcap_record_encode(&rec, NULL, 0, &size) || size != ws->rec_len) return 0;
  {
    const uint8_t *p = ws->rec + 11;
    uint32_t n;
    n = mcap__le32dec(p);
    if (n != s->name.len || memcmp(p + 4, s->name.data ? s->name.data : "", n)) return 0;
    p += 4 + n;
    n = mcap__le32dec(p);
    if (n != s->encoding.len || memcmp(p + 4, s->encoding.data ? s->encoding.data : "", n)) {
      return 0;
    }
    p += 4 + n;
    n = mcap__le32dec(p);
    if (n != s->data.len || (n && memcmp(p + 4, s->data.data, n))) return 0;
  }
  return 1;
}

int mcap_writer_add_schema(mcap_writer *w, mcap_str name, mcap_str encoding, mcap_bytes data,
                           uint16_t *out_id) {
  mcap_schema s;
  int rc = check_open(w);
  if (rc) return rc;
  if (!out_id) return werr(w, MCAP_EINVAL, "invalid argument: out_id");
  s.name = name;
  s.encoding = encoding;
  s.data = data;
  for (size_t i = 0; i < w->n_schemas; i++) {
    s.id = w->schemas[i].id;
    if (same_schema(&w->schemas[i], &s)) {
      *out_id = s.id;
      return MCAP_OK;
    }
  }
  while (w->next_schema_id <= UINT16_MAX && find_schema(w, (uint16_t)w->next_schema_id)) {
    w->next_schema_id++;
  }
  if (w->next_schema_id > UINT16_MAX) return werr(w, MCAP_ELIMIT, "no schema ids left");
  s.id = (uint16_t)w->next_schema_id;
  rc = add_schema_record(w, &s);
  if (rc) return rc;
  *out_id = s.id;
  return MCAP_OK;
}

int mcap_writer_put_schema(mcap_writer *w, const mcap_schema *s) {
  struct wschema *ws;
  int rc = check_open(w);
  if (rc) return rc;
  if (!s) return werr(w, MCAP_EINVAL, "invalid argument: s");
  if (s->id == 0) return werr(w, MCAP_ESCHEMA_ID, "schema id 0 is reserved");
  ws = find_schema(w, s->id);
  if (ws) {
    if (same_schema(ws, s)) return MCAP_OK;
    return werr(w, MCAP_ESCHEMA_ID, "schema id %u already registered with different content",
                s->id);
  }
  return add_schema_record(w, s);
}

/* --------------------------------------------------------------- channels */

static int add_channel_record(mcap_writer *w, const mcap_channel *c) {
  mcap_record rec;
  struct mcap_buf b = MCAP_BUF_INIT;
  struct wchannel *wc;
  int rc;
  if (!w->chan_by_id) {
    w->chan_by_id = mcap__calloc(65536, sizeof *w->chan_by_id);
    if (!w->chan_by_id) return werr(w, MCAP_ENOMEM, "out of memory");
  }
  if (w->n_channels == w->cap_channels) {
    size_t cap = w->cap_channels ? w->cap_channels * 2 : 16;
    uint16_t *p = mcap__realloc(w->chan_order, cap * sizeof *p);
    uint16_t *q;
    if (!p) return werr(w, MCAP_ENOMEM, "out of memory");
    w->chan_order = p;
    q = mcap__realloc(w->chunk_channels, cap * sizeof *q);
    if (!q) return werr(w, MCAP_ENOMEM, "out of memory");
    w->chunk_channels = q;
    w->cap_channels = cap;
  }
  memset(&rec, 0, sizeof rec);
  rec.opcode = MCAP_OP_CHANNEL;
  rec.u.channel = *c;
  rc = encode(w, &rec, &b);
  if (rc) return rc;
  wc = mcap__calloc(1, sizeof *wc);
  if (!wc) {
    mcap__buf_dispose(&b);
    return werr(w, MCAP_ENOMEM, "out of memory");
  }
  wc->id = c->id;
  wc->schema_id = c->schema_id;
  wc->rec = b.data;
  wc->rec_len = b.len;
  w->chan_by_id[c->id] = wc;
  w->chan_order[w->n_channels++] = c->id;
  if (c->id >= w->next_channel_id) w->next_channel_id = (uint32_t)c->id + 1;
  return place_definition(w, b.data, b.len);
}

static int same_channel(const struct wchannel *wc, const mcap_channel *c) {
  mcap_record rec;
  uint64_t size;
  struct mcap_cursor cur;
  mcap_record got;
  memset(&rec, 0, sizeof rec);
  rec.opcode = MCAP_OP_CHANNEL;
  rec.u.channel = *c;
  if (mcap_record_encode(&rec, NULL, 0, &size) || size != wc->rec_len) return 0;
  (void)cur;
  if (mcap_record_parse(MCAP_OP_CHANNEL, wc->rec + 9, wc->rec_len - 9, 0, &got, NULL)) return 0;
  return got.u.channel.schema_id == c->schema_id && got.u.channel.topic.len == c->topic.len &&
         (!c->topic.len || !memcmp(got.u.channel.topic.data, c->topic.data, c->topic.len)) &&
         got.u.channel.message_encoding.len == c->message_encoding.len &&
         (!c->message_encoding.len ||
          !memcmp(got.u.channel.message_encoding.data, c->message_encoding.data,
                  c->message_encoding.len)) &&
         got.u.channel.metadata.len == c->metadata.len &&
         (!c->metadata.len ||
          !memcmp(got.u.channel.metadata.data, c->metadata.data, c->metadata.len));
}

static int check_channel_schema(mcap_writer *w, const mcap_channel *c) {
  if (c->schema_id != 0 && !find_schema(w, c->schema_id)) {
    return werr(w, MCAP_ESCHEMA_ID, "channel %u ('%.*s') refers to unknown schema %u", c->id,
                (int)(c->topic.len > 64 ? 64 : c->topic.len), c->topic.data ? c->topic.data : "",
                c->schema_id);
  }
  return MCAP_OK;
}

int mcap_writer_put_channel(mcap_writer *w, const mcap_channel *c) {
  struct wchannel *wc;
  int rc = check_open(w);
  if (rc) return rc;
  if (!c) return werr(w, MCAP_EINVAL, "invalid argument: c");
  rc = check_channel_schema(w, c);
  if (rc) return rc;
  wc = w->chan_by_id ? w->chan_by_id[c->id] : NULL;
  if (wc) {
    if (same_channel(wc, c)) return MCAP_OK;
    return werr(w, MCAP_ECHANNEL_ID, "channel id %u already registered with different content",
                c->id);
  }
  return add_channel_record(w, c);
}

static int kv_cmp(const void *a, const void *b) {
  const mcap_kv *x = a, *y = b;
  uint32_t n = x->key.len < y->key.len ? x->key.len : y->key.len;
  int r = n ? memcmp(x->key.data, y->key.data, n) : 0;
  if (r) return r;
  return x->key.len < y->key.len ? -1 : x->key.len > y->key.len;
}

/* Encode a string map (entries only, no length prefix) into out, in the order given. */
static int encode_kv(mcap_writer *w, const mcap_kv *kv, size_t n, struct mcap_buf *out) {
  uint64_t total = 0;
  for (size_t i = 0; i < n; i++) total += 8 + (uint64_t)kv[i].key.len + kv[i].value.len;
  if (total > UINT32_MAX) return werr(w, MCAP_ELIMIT, "map larger than 4 GiB");
  if (mcap__buf_reserve(out, (size_t)total)) return werr(w, MCAP_ENOMEM, "out of memory");
  for (size_t i = 0; i < n; i++) {
    const mcap_str *s[2] = {&kv[i].key, &kv[i].value};
    for (int j = 0; j < 2; j++) {
      mcap__le32enc(out->data + out->len, s[j]->len);
      out->len += 4;
      if (s[j]->len) memcpy(out->data + out->len, s[j]->data, s[j]->len);
      out->len += s[j]->len;
    }
  }
  return MCAP_OK;
}

int mcap_writer_add_channel(mcap_writer *w, uint16_t schema_id, mcap_str topic,
                            mcap_str message_encoding, const mcap_kv *metadata, size_t n_metadata,
                            uint16_t *out_id) {
  mcap_channel c;
  struct mcap_buf map = MCAP_BUF_INIT;
  mcap_kv *sorted = NULL;
  int rc = check_open(w);
  if (rc) return rc;
  if (!out_id || (n_metadata && !metadata)) return werr(w, MCAP_EINVAL, "invalid argument");
  if (n_metadata) {
    sorted = mcap__malloc(n_metadata * sizeof *sorted);
    if (!sorted) return werr(w, MCAP_ENOMEM, "out of memory");
    memcpy(sorted, metadata, n_metadata * sizeof *sorted);
    qsort(sorted, n_metadata, sizeof *sorted, kv_cmp);
    rc = encode_kv(w, sorted, n_metadata, &map);
    mcap__free(sorted);
    if (rc) goto out;
  }
  c.schema_id = schema_id;
  c.topic = topic;
  c.message_encoding = message_encoding;
  c.metadata.data = map.data;
  c.metadata.len = (uint32_t)map.len;
  for (size_t i = 0; i < w->n_channels; i++) {
    c.id = w->chan_order[i];
    if (same_channel(w->chan_by_id[c.id], &c)) {
      *out_id = c.id;
      goto out;
    }
  }
  while (w->next_channel_id <= UINT16_MAX && w->chan_by_id &&
         w->chan_by_id[w->next_channel_id]) {
    w->next_channel_id++;
  }
  if (w->next_channel_id > UINT16_MAX) {
    rc = werr(w, MCAP_ELIMIT, "no channel ids left");
    goto out;
  }
  c.id = (uint16_t)w->next_channel_id;
  rc = check_channel_schema(w, &c);
  if (rc) goto out;
  rc = add_channel_record(w, &c);
  if (rc == MCAP_OK) *out_id = c.id;
out:
  mcap__buf_dispose(&map);
  return rc;
}

/* ----------------------------------------------------------------- chunks */

static int u16_cmp(const void *a, const void *b) {
  uint16_t x = *(const uint16_t *)a, y = *(const uint16_t *)b;
  return (x > y) - (x < y);
}

/*
 * Chunks leave the writer in three steps. seal_chunk() moves the open chunk's
 * records and message index entries into a `struct sealed` (so the writer can
 * fill a fresh chunk at once); compress_sealed() computes its CRC and
 * compresses it (inline, or as a job of the writer's pool: options.pool, or
 * one of its own for options.workers > 1); emit_sealed() writes the Chunk, its
 * MessageIndex records and its ChunkIndex entry. Sealed chunks are emitted
 * strictly in the order they were sealed, so the file is byte-identical
 * whatever the number of threads. A writer that has to wait for its oldest
 * chunk compresses queued chunks itself meanwhile (pool.c).
 */

static void compress_sealed(struct mcap_codec_ctx *ctx, struct sealed *s) {
  mcap_error_info e = {0, 0, {0}};
  s->crc = s->no_crc ? 0 : mcap_crc32(0, s->raw.data, s->raw.len);
  s->codec = s->want_codec;
  s->comp.len = 0;
  if (s->codec == 0) return;
  if (!ctx) {
    s->rc = MCAP_ENOMEM;
    snprintf(s->msg, sizeof s->msg, "out of memory creating a compressor");
    return;
  }
  s->rc = mcap__codec_compress(ctx, s->codec, s->level, s->raw.data, s->raw.len, &s->comp, &e);
  if (s->rc) {
    snprintf(s->msg, sizeof s->msg, "%s", e.msg);
    return;
  }
  /* Store chunks that compression does not shrink by 2% as they are. */
  if (!s->force && s->comp.len * 50 > s->raw.len * 49) s->codec = 0;
}

static void compress_job(struct mcap__job *j, struct mcap_codec_ctx *ctx) {
  compress_sealed(ctx, (struct sealed *)j);
}

static void sealed_free(struct sealed *s) {
  if (!s) return;
  mcap__buf_dispose(&s->raw);
  mcap__buf_dispose(&s->comp);
  mcap__buf_dispose(&s->mi);
  mcap__free(s);
}

/* The caller's codec context (made on first need; NULL when that fails). */
static struct mcap_codec_ctx *caller_ctx(mcap_writer *w) {
  if (!w->codec_ctx) (void)mcap__codec_ctx_new(&w->codec_ctx);
  return w->codec_ctx;
}

/* Move the open chunk into a sealed job; the writer's chunk state is reset. */
static int seal_chunk(mcap_writer *w, struct sealed **out) {
  struct sealed *s = w->spare;
  struct mcap_buf tmp;
  if (s) {
    w->spare = s->next;
  } else {
    s = mcap__calloc(1, sizeof *s);
    if (!s) return wdead(w, werr(w, MCAP_ENOMEM, "out of memory"));
  }
  s->next = NULL;
  s->rc = 0;
  s->msg[0] = '\0';
  s->want_codec = w->codec;
  s->level = w->o.compression_level;
  s->no_crc = w->o.no_chunk_crc;
  s->force = w->o.force_compression;
  s->mi.len = 0;
  /* Swap buffers: the sealed chunk takes the records, the writer keeps an empty buffer. */
  tmp = s->raw;
  s->raw = w->chunk;
  w->chunk = tmp;
  w->chunk.len = 0;
  s->start = w->chunk_start;
  s->end = w->chunk_end;
  s->has_messages = w->chunk_has_messages;
  if (w->n_chunk_channels > 1) {
    qsort(w->chunk_channels, w->n_chunk_channels, sizeof *w->chunk_channels, u16_cmp);
  }
  for (size_t i = 0; i < w->n_chunk_channels; i++) {
    struct wchannel *c = w->chan_by_id[w->chunk_channels[i]];
    uint8_t h[6];
    mcap__le16enc(h, c->id);
    mcap__le32enc(h + 2, (uint32_t)c->mi.len);
    if (mcap__buf_append(&s->mi, h, 6) || mcap__buf_append(&s->mi, c->mi.data, c->mi.len)) {
      sealed_free(s);
      return wdead(w, werr(w, MCAP_ENOMEM, "out of memory"));
    }
    c->mi.len = 0;
    c->in_chunk = 0;
  }
  w->n_chunk_channels = 0;
  w->chunk_has_messages = 0;
  *out = s;
  return MCAP_OK;
}

/* Write a compressed sealed chunk, its message indexes and its chunk index entry. */
/* Write a Chunk record with the given body, then the sealed job's message indexes and the
 * chunk index entry. Shared by the writer's own chunks and raw (copied) chunks. */
static int emit_chunk(mcap_writer *w, struct sealed *s, const uint8_t *body, uint64_t body_len,
                      mcap_str compression, uint64_t uncompressed_size, uint32_t crc,
                      uint64_t start, uint64_t end) {
  int rc;
  uint64_t chunk_offset = w->offset, chunk_length, mi_start;
  const char *comp = compression.data ? compression.data : "";
  uint32_t clen = compression.len;
  uint8_t hdr[9 + 8 + 8 + 8 + 4 + 4];
  uint8_t lenbuf[8];
  struct mcap_buf mio = MCAP_BUF_INIT;
  size_t pos;

  hdr[0] = MCAP_OP_CHUNK;
  mcap__le64enc(hdr + 1, 8 + 8 + 8 + 4 + 4 + (uint64_t)clen + 8 + body_len);
  mcap__le64enc(hdr + 9, start);
  mcap__le64enc(hdr + 17, end);
  mcap__le64enc(hdr + 25, uncompressed_size);
  mcap__le32enc(hdr + 33, crc);
  mcap__le32enc(hdr + 37, clen);
  mcap__le64enc(lenbuf, body_len);
  if ((rc = emit(w, hdr, sizeof hdr)) || (rc = emit(w, comp, clen)) || (rc = emit(w, lenbuf, 8)) ||
      (rc = emit(w, body, (size_t)body_len))) {
    return rc;
  }
  chunk_length = w->offset - chunk_offset;
  mi_start = w->offset;
  for (pos = 0; pos < s->mi.len;) {
    uint16_t id = mcap__le16dec(s->mi.data + pos);
    uint32_t n = mcap__le32dec(s->mi.data + pos + 2);
    const uint8_t *entries = s->mi.data + pos + 6;
    pos += 6 + (size_t)n;
    if (w->o.no_message_index) continue;
    {
      uint8_t mh[9 + 2 + 4];
      uint8_t ent[10];
      mh[0] = MCAP_OP_MESSAGE_INDEX;
      mcap__le64enc(mh + 1, 2 + 4 + (uint64_t)n);
      mcap__le16enc(mh + 9, id);
      mcap__le32enc(mh + 11, n);
      mcap__le16enc(ent, id);
      mcap__le64enc(ent + 2, w->offset);
      if (mcap__buf_append(&mio, ent, 10)) {
        mcap__buf_dispose(&mio);
        return wdead(w, werr(w, MCAP_ENOMEM, "out of memory"));
      }
      if ((rc = emit(w, mh, sizeof mh)) || (rc = emit(w, entries, n))) {
        mcap__buf_dispose(&mio);
        return rc;
      }
    }
  }
  if (!w->o.no_chunk_index) {
    mcap_record rec;
    memset(&rec, 0, sizeof rec);
    rec.opcode = MCAP_OP_CHUNK_INDEX;
    rec.u.chunk_index.message_start_time = start;
    rec.u.chunk_index.message_end_time = end;
    rec.u.chunk_index.chunk_start_offset = chunk_offset;
    rec.u.chunk_index.chunk_length = chunk_length;
    rec.u.chunk_index.message_index_offsets.data = mio.data;
    rec.u.chunk_index.message_index_offsets.len = (uint32_t)mio.len;
    rec.u.chunk_index.message_index_length = w->offset - mi_start;
    rec.u.chunk_index.compression = compression;
    rec.u.chunk_index.compressed_size = body_len;
    rec.u.chunk_index.uncompressed_size = uncompressed_size;
    rc = encode(w, &rec, &w->chunk_indexes);
    if (rc) {
      mcap__buf_dispose(&mio);
      return wdead(w, rc);
    }
  }
  mcap__buf_dispose(&mio);
  w->chunk_count++;
  return MCAP_OK;
}

static int emit_sealed(mcap_writer *w, struct sealed *s) {
  const char *comp = s->codec == 1 ? "zstd" : s->codec == 2 ? "lz4" : "";
  if (s->rc) {
    snprintf(w->err.msg, sizeof w->err.msg, "%s", s->msg);
    return wdead(w, s->rc);
  }
  return emit_chunk(w, s, s->codec ? s->comp.data : s->raw.data, s->codec ? s->comp.len : s->raw.len,
                    mcap_str_c(comp), s->raw.len, s->crc, s->has_messages ? s->start : 0,
                    s->has_messages ? s->end : 0);
}

static int emit_raw_chunk(mcap_writer *w, struct sealed *s, const mcap_chunk *ck, int any,
                          uint64_t start, uint64_t end) {
  /* Keep the chunk's own time range when it has one; else what its index says. */
  uint64_t cs = ck->message_start_time, ce = ck->message_end_time;
  if (!(cs || ce) && any) {
    cs = start;
    ce = end;
  }
  return emit_chunk(w, s, ck->records.data, ck->records.len, ck->compression,
                    ck->uncompressed_size, ck->uncompressed_crc, cs, ce);
}

static void recycle(mcap_writer *w, struct sealed *s) {
  s->next = w->spare;
  w->spare = s;
}

/*
 * Emit in-flight chunks in order: those already compressed, then, while more than `keep`
 * remain, the oldest after waiting for it (compressing queued chunks meanwhile).
 */
static int drain(mcap_writer *w, size_t keep) {
  int rc = MCAP_OK;
  while (w->inflight) {
    struct sealed *s = w->inflight;
    if (!mcap__pool_done(w->pool, &s->job)) {
      if (w->n_inflight <= keep) break;
      mcap__pool_wait(w->pool, &s->job, caller_ctx(w));
    }
    w->inflight = s->next;
    if (!w->inflight) w->inflight_tail = NULL;
    w->n_inflight--;
    rc = emit_sealed(w, s);
    recycle(w, s);
    if (rc) return rc;
  }
  return rc;
}

static int flush_chunk(mcap_writer *w) {
  struct sealed *s;
  int rc;
  if (w->chunk.len == 0) return MCAP_OK;
  if (!w->pool && w->o.workers > 1) {
    /* Failing to make a pool only costs speed: compress inline. */
    if (mcap_pool_new(&w->own_pool, w->o.workers) == MCAP_OK)
      w->pool = w->own_pool;
    else
      w->o.workers = 1;
  }
  /* Chunks already compressed go out first, so that their buffers are reused for this one. */
  if (w->pool && (rc = drain(w, SIZE_MAX))) return rc;
  rc = seal_chunk(w, &s);
  if (rc) return rc;
  if (!w->pool) {
    if (w->codec && !caller_ctx(w)) {
      recycle(w, s);
      return wdead(w, werr(w, MCAP_ENOMEM, "out of memory creating a compressor"));
    }
    compress_sealed(w->codec_ctx, s);
    rc = emit_sealed(w, s);
    recycle(w, s);
    return rc;
  }
  if (w->inflight_tail) w->inflight_tail->next = s; else w->inflight = s;
  w->inflight_tail = s;
  w->n_inflight++;
  s->job.run = compress_job;
  mcap__pool_submit(w->pool, &s->job);
  /* Bounded memory: at most two chunks per thread of the pool in flight. */
  return drain(w, (size_t)mcap__pool_threads(w->pool) * 2);
}

/* Before writing anything straight into the data section, earlier chunks must be out. */
static int sync_chunks(mcap_writer *w) { return w->pool ? drain(w, 0) : MCAP_OK; }

int mcap_writer_write_chunk_raw(mcap_writer *w, const mcap_chunk *chunk,
                                const mcap_message_index *indexes, size_t n_indexes) {
  struct sealed *s;
  uint64_t n_messages = 0, start = 0, end = 0;
  int rc = check_open(w), any = 0;
  if (rc) return rc;
  if (!chunk || (n_indexes && !indexes) || (chunk->records.len && !chunk->records.data)) {
    return werr(w, MCAP_EINVAL, "invalid argument");
  }
  if (w->o.no_chunking) return werr(w, MCAP_ESTATE, "raw chunks need chunking enabled");
  if (mcap__codec_id(chunk->compression) < 0) {
    return werr(w, MCAP_ECOMPRESSION, "unsupported compression '%.*s'",
                (int)(chunk->compression.len > 32 ? 32 : chunk->compression.len),
                chunk->compression.data ? chunk->compression.data : "");
  }
  for (size_t i = 0; i < n_indexes; i++) {
    uint64_t n = mcap_message_index_count(&indexes[i]);
    struct wchannel *c = w->chan_by_id ? w->chan_by_id[indexes[i].channel_id] : NULL;
    if (!c) {
      return werr(w, MCAP_ECHANNEL_ID, "raw chunk has messages on unregistered channel %u",
                  indexes[i].channel_id);
    }
    for (uint64_t k = 0; k < n; k++) {
      uint64_t t, off;
      mcap_message_index_entry(&indexes[i], k, &t, &off);
      if (!any || t < start) start = t;
      if (!any || t > end) end = t;
      any = 1;
    }
    n_messages += n;
  }
  /* Keep file order: whatever is open or in flight goes first. */
  if ((rc = flush_chunk(w)) || (rc = sync_chunks(w))) return rc;
  if (chunk->records.len > SIZE_MAX) return werr(w, MCAP_ELIMIT, "chunk too large");
  rc = seal_chunk(w, &s); /* an empty sealed chunk, used as the carrier */
  if (rc) return rc;
  s->mi.len = 0;
  s->raw.len = 0;
  s->comp.len = 0;
  /* Sort the index entries by channel id, as the writer's own chunks have them. */
  for (uint32_t id = 0, done = 0; done < n_indexes && id <= UINT16_MAX; id++) {
    for (size_t i = 0; i < n_indexes; i++) {
      uint8_t h[6];
      if (indexes[i].channel_id != id) continue;
      done++;
      if (indexes[i].entries.len > UINT32_MAX) {
        recycle(w, s);
        return werr(w, MCAP_ELIMIT, "message index too large");
      }
      mcap__le16enc(h, (uint16_t)id);
      mcap__le32enc(h + 2, (uint32_t)indexes[i].entries.len);
      if (mcap__buf_append(&s->mi, h, 6) ||
          mcap__buf_append(&s->mi, indexes[i].entries.data, (size_t)indexes[i].entries.len)) {
        recycle(w, s);
        return wdead(w, werr(w, MCAP_ENOMEM, "out of memory"));
      }
    }
  }
  rc = emit_raw_chunk(w, s, chunk, any, start, end);
  recycle(w, s);
  if (rc) return rc;
  for (size_t i = 0; i < n_indexes; i++) {
    w->chan_by_id[indexes[i].channel_id]->message_count += mcap_message_index_count(&indexes[i]);
  }
  if (any) {
    if (!w->message_count || start < w->msg_start) w->msg_start = start;
    if (!w->message_count || end > w->msg_end) w->msg_end = end;
  }
  w->message_count += n_messages;
  return MCAP_OK;
}

/* --------------------------------------------------------------- messages */

int mcap_writer_write_message(mcap_writer *w, const mcap_message *m) {
  struct wchannel *c;
  uint64_t rec_len;
  int rc = check_open(w);
  if (rc) return rc;
  if (!m || (m->data.len && !m->data.data)) return werr(w, MCAP_EINVAL, "invalid argument: m");
  c = w->chan_by_id ? w->chan_by_id[m->channel_id] : NULL;
  if (!c) return werr(w, MCAP_ECHANNEL_ID, "message on unknown channel %u", m->channel_id);
  if (m->data.len > UINT64_MAX - 9 - 22 || m->data.len > SIZE_MAX / 2) {
    return werr(w, MCAP_ELIMIT, "message too large");
  }
  rec_len = 9 + 22 + m->data.len;
  if (!w->o.no_chunking) {
    /* A message that would overflow the chunk starts a new one; a big one gets its own. */
    if (w->chunk.len && w->chunk.len + rec_len > w->o.chunk_size) {
      rc = flush_chunk(w);
      if (rc) return rc;
    }
    if (mcap__buf_reserve(&w->chunk, (size_t)rec_len)) {
      return werr(w, MCAP_ENOMEM, "cannot grow the chunk by %llu bytes",
                  (unsigned long long)rec_len);
    }
    if (!w->o.no_message_index) {
      uint8_t ent[16];
      mcap__le64enc(ent, m->log_time);
      mcap__le64enc(ent + 8, w->chunk.len);
      if (mcap__buf_append(&c->mi, ent, 16)) return werr(w, MCAP_ENOMEM, "out of memory");
    }
    if (!c->in_chunk) {
      c->in_chunk = 1;
      w->chunk_channels[w->n_chunk_channels++] = c->id;
    }
    {
      uint8_t *p = w->chunk.data + w->chunk.len;
      p[0] = MCAP_OP_MESSAGE;
      mcap__le64enc(p + 1, 22 + m->data.len);
      mcap__le16enc(p + 9, m->channel_id);
      mcap__le32enc(p + 11, m->sequence);
      mcap__le64enc(p + 15, m->log_time);
      mcap__le64enc(p + 23, m->publish_time);
      if (m->data.len) memcpy(p + 31, m->data.data, (size_t)m->data.len);
      w->chunk.len += (size_t)rec_len;
    }
    if (!w->chunk_has_messages || m->log_time < w->chunk_start) w->chunk_start = m->log_time;
    if (!w->chunk_has_messages || m->log_time > w->chunk_end) w->chunk_end = m->log_time;
    w->chunk_has_messages = 1;
  } else {
    uint8_t hdr[31];
    hdr[0] = MCAP_OP_MESSAGE;
    mcap__le64enc(hdr + 1, 22 + m->data.len);
    mcap__le16enc(hdr + 9, m->channel_id);
    mcap__le32enc(hdr + 11, m->sequence);
    mcap__le64enc(hdr + 15, m->log_time);
    mcap__le64enc(hdr + 23, m->publish_time);
    if ((rc = emit(w, hdr, sizeof hdr))) return rc;
    if ((rc = emit(w, m->data.data, (size_t)m->data.len))) return rc;
  }
  if (!w->message_count || m->log_time < w->msg_start) w->msg_start = m->log_time;
  if (!w->message_count || m->log_time > w->msg_end) w->msg_end = m->log_time;
  w->message_count++;
  c->message_count++;
  if (!w->o.no_chunking && w->chunk.len >= w->o.chunk_size) return flush_chunk(w);
  return MCAP_OK;
}

/* ------------------------------------------------------------ attachments */

static int index_attachment(mcap_writer *w, uint64_t offset, uint64_t length, uint64_t log_time,
                            uint64_t create_time, uint64_t data_size, mcap_str name,
                            mcap_str media_type) {
  mcap_record rec;
  int rc;
  w->attachment_count++;
  if (w->o.no_attachment_index) return MCAP_OK;
  memset(&rec, 0, sizeof rec);
  rec.opcode = MCAP_OP_ATTACHMENT_INDEX;
  rec.u.attachment_index.offset = offset;
  rec.u.attachment_index.length = length;
  rec.u.attachment_index.log_time = log_time;
  rec.u.attachment_index.create_time = create_time;
  rec.u.attachment_index.data_size = data_size;
  rec.u.attachment_index.name = name;
  rec.u.attachment_index.media_type = media_type;
  rc = encode(w, &rec, &w->attachment_indexes);
  return rc ? wdead(w, rc) : MCAP_OK;
}

int mcap_writer_attachment_begin(mcap_writer *w, uint64_t log_time, uint64_t create_time,
                                 mcap_str name, mcap_str media_type, uint64_t data_size) {
  uint64_t content;
  uint8_t fixed[9 + 16];
  uint8_t b4[4], b8[8];
  int rc = check_open(w);
  if (rc) return rc;
  if ((rc = sync_chunks(w))) return rc;
  content = 16 + 4 + (uint64_t)name.len + 4 + (uint64_t)media_type.len + 8;
  if (data_size > UINT64_MAX - content - 4) return werr(w, MCAP_ELIMIT, "attachment too large");
  content += data_size + 4;
  w->att_offset = w->offset;
  w->att_length = 9 + content;
  w->att_log_time = log_time;
  w->att_create_time = create_time;
  w->att_size = data_size;
  w->att_left = data_size;
  mcap__free(w->att_name);
  mcap__free(w->att_media_type);
  w->att_name = dupstr(name.data ? name.data : "", name.len);
  w->att_media_type = dupstr(media_type.data ? media_type.data : "", media_type.len);
  if (!w->att_name || !w->att_media_type) return werr(w, MCAP_ENOMEM, "out of memory");
  w->att_name_len = name.len;
  w->att_media_type_len = media_type.len;
  fixed[0] = MCAP_OP_ATTACHMENT;
  mcap__le64enc(fixed + 1, content);
  mcap__le64enc(fixed + 9, log_time);
  mcap__le64enc(fixed + 17, create_time);
  w->att_crc = mcap_crc32(0, fixed + 9, 16);
  if ((rc = emit(w, fixed, sizeof fixed))) return rc;
  mcap__le32enc(b4, name.len);
  w->att_crc = mcap_crc32(w->att_crc, b4, 4);
  w->att_crc = mcap_crc32(w->att_crc, name.data, name.len);
  if ((rc = emit(w, b4, 4)) || (rc = emit(w, name.data, name.len))) return rc;
  mcap__le32enc(b4, media_type.len);
  w->att_crc = mcap_crc32(w->att_crc, b4, 4);
  w->att_crc = mcap_crc32(w->att_crc, media_type.data, media_type.len);
  if ((rc = emit(w, b4, 4)) || (rc = emit(w, media_type.data, media_type.len))) return rc;
  mcap__le64enc(b8, data_size);
  w->att_crc = mcap_crc32(w->att_crc, b8, 8);
  if ((rc = emit(w, b8, 8))) return rc;
  w->state = W_ATTACHMENT;
  return MCAP_OK;
}

int mcap_writer_attachment_write(mcap_writer *w, const void *data, size_t len) {
  if (!w) return MCAP_EINVAL;
  if (w->state != W_ATTACHMENT) return werr(w, MCAP_ESTATE, "no attachment is being written");
  if (len > w->att_left) {
    return werr(w, MCAP_EINVAL, "attachment data exceeds the declared size by %llu bytes",
                (unsigned long long)(len - w->att_left));
  }
  if (!len) return MCAP_OK;
  if (!w->o.no_attachment_crc) w->att_crc = mcap_crc32(w->att_crc, data, len);
  w->att_left -= len;
  return emit(w, data, len);
}

int mcap_writer_attachment_end(mcap_writer *w) {
  uint8_t b4[4];
  int rc;
  if (!w) return MCAP_EINVAL;
  if (w->state != W_ATTACHMENT) return werr(w, MCAP_ESTATE, "no attachment is being written");
  if (w->att_left) {
    return werr(w, MCAP_ESTATE, "attachment is %llu bytes short of its declared size",
                (unsigned long long)w->att_left);
  }
  mcap__le32enc(b4, w->o.no_attachment_crc ? 0 : w->att_crc);
  if ((rc = emit(w, b4, 4))) return rc;
  w->state = W_OPEN;
  return index_attachment(w, w->att_offset, w->att_length, w->att_log_time, w->att_create_time,
                          w->att_size, (mcap_str){w->att_name, w->att_name_len},
                          (mcap_str){w->att_media_type, w->att_media_type_len});
}

int mcap_writer_write_attachment(mcap_writer *w, const mcap_attachment *a) {
  int rc;
  if (!a || (a->data.len && !a->data.data)) return w ? werr(w, MCAP_EINVAL, "invalid argument") : MCAP_EINVAL;
  rc = mcap_writer_attachment_begin(w, a->log_time, a->create_time, a->name, a->media_type,
                                    a->data.len);
  if (rc) return rc;
  rc = mcap_writer_attachment_write(w, a->data.data, (size_t)a->data.len);
  if (rc) return rc;
  return mcap_writer_attachment_end(w);
}

/* --------------------------------------------------------------- metadata */

int mcap_writer_write_metadata_record(mcap_writer *w, const mcap_metadata *m) {
  mcap_record rec;
  uint64_t offset;
  int rc = check_open(w);
  if (rc) return rc;
  if (!m) return werr(w, MCAP_EINVAL, "invalid argument: m");
  if ((rc = sync_chunks(w))) return rc;
  offset = w->offset;
  memset(&rec, 0, sizeof rec);
  rec.opcode = MCAP_OP_METADATA;
  rec.u.metadata = *m;
  if ((rc = emit_record(w, &rec))) return rc;
  w->metadata_count++;
  if (!w->o.no_metadata_index) {
    memset(&rec, 0, sizeof rec);
    rec.opcode = MCAP_OP_METADATA_INDEX;
    rec.u.metadata_index.offset = offset;
    rec.u.metadata_index.length = w->offset - offset;
    rec.u.metadata_index.name = m->name;
    rc = encode(w, &rec, &w->metadata_indexes);
    if (rc) return wdead(w, rc);
  }
  return MCAP_OK;
}

int mcap_writer_write_metadata(mcap_writer *w, mcap_str name, const mcap_kv *kv, size_t n) {
  struct mcap_buf map = MCAP_BUF_INIT;
  mcap_metadata m;
  int rc = check_open(w);
  if (rc) return rc;
  if (n && !kv) return werr(w, MCAP_EINVAL, "invalid argument: kv");
  rc = encode_kv(w, kv, n, &map);
  if (rc) return rc;
  m.name = name;
  m.metadata.data = map.data;
  m.metadata.len = (uint32_t)map.len;
  rc = mcap_writer_write_metadata_record(w, &m);
  mcap__buf_dispose(&map);
  return rc;
}

/* ------------------------------------------------------------------ close */

struct group {
  uint8_t opcode;
  uint64_t start, length;
};

int mcap_writer_close(mcap_writer *w) {
  struct group groups[6];
  int n_groups = 0, rc;
  uint64_t summary_start, summary_offset_start = 0;
  mcap_record rec;
  uint8_t foot[9 + 20];

  rc = check_open(w);
  if (rc) return rc;
  if (!w->o.no_chunking && (rc = flush_chunk(w))) return rc;
  if ((rc = sync_chunks(w))) return rc;
  /* Nothing is in flight any more: the writer's own threads can go. */
  mcap_pool_free(w->own_pool);
  w->own_pool = NULL;
  w->pool = NULL;

  memset(&rec, 0, sizeof rec);
  rec.opcode = MCAP_OP_DATA_END;
  rec.u.data_end.data_section_crc = w->o.no_data_crc ? 0 : w->data_crc;
  if ((rc = emit_record(w, &rec))) return rc;
  w->in_summary = 1;
  w->summary_crc = 0;
  summary_start = w->offset;

#define BEGIN_GROUP(op) \
  do { groups[n_groups].opcode = (op); groups[n_groups].start = w->offset; } while (0)
#define END_GROUP()                                                        \
  do {                                                                     \
    groups[n_groups].length = w->offset - groups[n_groups].start;          \
    if (groups[n_groups].length) n_groups++;                               \
  } while (0)

  if (!w->o.no_repeated_schemas) {
    BEGIN_GROUP(MCAP_OP_SCHEMA);
    for (size_t i = 0; i < w->n_schemas; i++) {
      if ((rc = emit(w, w->schemas[i].rec, w->schemas[i].rec_len))) return rc;
    }
    END_GROUP();
  }
  if (!w->o.no_repeated_channels) {
    BEGIN_GROUP(MCAP_OP_CHANNEL);
    for (size_t i = 0; i < w->n_channels; i++) {
      struct wchannel *c = w->chan_by_id[w->chan_order[i]];
      if ((rc = emit(w, c->rec, c->rec_len))) return rc;
    }
    END_GROUP();
  }
  if (!w->o.no_statistics) {
    struct mcap_buf counts = MCAP_BUF_INIT;
    uint16_t *ids = NULL;
    size_t n_ids = 0;
    if (w->n_channels) {
      ids = mcap__malloc(w->n_channels * sizeof *ids);
      if (!ids) return wdead(w, werr(w, MCAP_ENOMEM, "out of memory"));
      for (size_t i = 0; i < w->n_channels; i++) {
        if (w->chan_by_id[w->chan_order[i]]->message_count) ids[n_ids++] = w->chan_order[i];
      }
      if (n_ids > 1) qsort(ids, n_ids, sizeof *ids, u16_cmp);
    }
    for (size_t i = 0; i < n_ids; i++) {
      uint8_t ent[10];
      mcap__le16enc(ent, ids[i]);
      mcap__le64enc(ent + 2, w->chan_by_id[ids[i]]->message_count);
      if (mcap__buf_append(&counts, ent, 10)) {
        mcap__free(ids);
        mcap__buf_dispose(&counts);
        return wdead(w, werr(w, MCAP_ENOMEM, "out of memory"));
      }
    }
    mcap__free(ids);
    memset(&rec, 0, sizeof rec);
    rec.opcode = MCAP_OP_STATISTICS;
    rec.u.statistics.message_count = w->message_count;
    {
      size_t n_schema_ids = 0;
      for (size_t i = 0; i < w->n_schemas; i++) n_schema_ids += w->schemas[i].id != 0;
      rec.u.statistics.schema_count = (uint16_t)n_schema_ids;
    }
    rec.u.statistics.channel_count = (uint32_t)w->n_channels;
    rec.u.statistics.attachment_count = w->attachment_count;
    rec.u.statistics.metadata_count = w->metadata_count;
    rec.u.statistics.chunk_count = w->chunk_count;
    rec.u.statistics.message_start_time = w->message_count ? w->msg_start : 0;
    rec.u.statistics.message_end_time = w->message_count ? w->msg_end : 0;
    rec.u.statistics.channel_message_counts.data = counts.data;
    rec.u.statistics.channel_message_counts.len = (uint32_t)counts.len;
    BEGIN_GROUP(MCAP_OP_STATISTICS);
    rc = emit_record(w, &rec);
    mcap__buf_dispose(&counts);
    if (rc) return rc;
    END_GROUP();
  }
  BEGIN_GROUP(MCAP_OP_METADATA_INDEX);
  if ((rc = emit(w, w->metadata_indexes.data, w->metadata_indexes.len))) return rc;
  END_GROUP();
  BEGIN_GROUP(MCAP_OP_ATTACHMENT_INDEX);
  if ((rc = emit(w, w->attachment_indexes.data, w->attachment_indexes.len))) return rc;
  END_GROUP();
  BEGIN_GROUP(MCAP_OP_CHUNK_INDEX);
  if ((rc = emit(w, w->chunk_indexes.data, w->chunk_indexes.len))) return rc;
  END_GROUP();
#undef BEGIN_GROUP
#undef END_GROUP

  if (w->offset == summary_start) summary_start = 0;
  if (!w->o.no_summary_offsets && n_groups) {
    summary_offset_start = w->offset;
    for (int i = 0; i < n_groups; i++) {
      memset(&rec, 0, sizeof rec);
      rec.opcode = MCAP_OP_SUMMARY_OFFSET;
      rec.u.summary_offset.group_opcode = groups[i].opcode;
      rec.u.summary_offset.group_start = groups[i].start;
      rec.u.summary_offset.group_length = groups[i].length;
      if ((rc = emit_record(w, &rec))) return rc;
    }
  }
  foot[0] = MCAP_OP_FOOTER;
  mcap__le64enc(foot + 1, 20);
  mcap__le64enc(foot + 9, summary_start);
  mcap__le64enc(foot + 17, summary_offset_start);
  {
    uint32_t crc = w->o.no_summary_crc ? 0 : mcap_crc32(w->summary_crc, foot, 25);
    mcap__le32enc(foot + 25, crc);
  }
  if ((rc = emit(w, foot, sizeof foot))) return rc;
  if ((rc = emit(w, MCAP_MAGIC, MCAP_MAGIC_SIZE))) return rc;
  w->state = W_CLOSED;
  return MCAP_OK;
}
