/*
 * topic_index.c - pl_index_file(): one pass over a recording into a
 * pl_recording_index (topics in the API's shape with per-topic statistics,
 * coverage, attachments with fingerprints, metadata, device and key, and the
 * doctor's findings), plus the record walker the lake and its verifier share.
 *
 * Two ways to read, same builder:
 *
 * - Fast path (a usable summary with chunk and message indexes): nothing is
 *   decompressed. Counts, log times and coverage come from the MessageIndex
 *   records that follow each chunk (read through the source at the offsets
 *   the chunk index gives). A message's size is the distance to the next
 *   entry's offset (the chunk's uncompressed size for the last one) minus the
 *   31-byte record overhead; that is exact only when nothing but messages sits
 *   between the chunk's first message and its end. The schemas and channels
 *   are the other records a chunk can hold, and their encoded sizes are known
 *   from the summary, so the bytes before the first message must add up to
 *   the definitions the chunk introduces (the new ones it uses, all those not
 *   yet seen, or all it uses when a writer repeats them). Any chunk whose
 *   offsets do not account for it that way is decompressed instead, and so is
 *   the whole file when, at the end, a definition is still unaccounted for or
 *   the counts disagree with the Statistics record.
 * - Streamed path (no summary, or one that cannot be trusted): one pass of
 *   pl__walk_file(), each chunk decompressed once; a bad chunk is reported and
 *   skipped, a truncated file indexed up to where it ends.
 *
 * Meanwhile a second thread runs the doctor over the file through a hashing
 * source, so the content hash (XXH3-128 of the file bytes) costs no extra
 * read; without the doctor it hashes the file with one sequential read.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "import_internal.h"

#define MSG_OVERHEAD 31u /* Message record: opcode 1 + length 8 + fixed fields 22 */
#define ATT_PIECE (1u << 20)
#define MAX_OWN_PROBLEMS 200
#define INDEX_FEED_DEPTH 4 /* decompressed chunks waiting for the doctor */
#define WALK_PROGRESS_STEP (4u << 20) /* bytes between progress calls */

/* ================================================================ walker */

struct walker {
  mcap_source *src;
  const pl__walk_cb *cb;
  pl__walk_stats *st;
  pl_error_info *err;
  int skip_chunks;
  struct pl_buf tmp;   /* assembly of piecewise reads */
  struct pl_buf chunk; /* decompressed records */
  struct pl_buf att;   /* attachment name + media type */
  mcap_decompressor *dec;
  uint8_t *seen; /* summary_defs: [65536] bit 1 schema id defined, bit 2 channel id */
};

/* Remember a definition of the data section (for cb->summary_defs). */
static void mark_seen(struct walker *w, uint8_t op, const mcap_record *rec) {
  if (!w->seen) return;
  if (op == MCAP_OP_SCHEMA) w->seen[rec->u.schema.id] |= 1;
  if (op == MCAP_OP_CHANNEL) w->seen[rec->u.channel.id] |= 2;
}

static int wproblem(struct walker *w, pl_severity sev, const char *code, uint64_t offset,
                    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static int wproblem(struct walker *w, pl_severity sev, const char *code, uint64_t offset,
                    const char *fmt, ...) {
  char msg[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (sev == PL_SEV_ERROR) w->st->partial = 1;
  return w->cb->problem ? w->cb->problem(w->cb->ctx, sev, code, offset, msg) : 0;
}

static uint64_t remaining(const struct walker *w, uint64_t pos) {
  if (w->src->size == MCAP_SIZE_UNKNOWN) return UINT64_MAX;
  return pos < w->src->size ? w->src->size - pos : 0;
}

/* The records of a decompressed chunk. */
static int walk_chunk_records(struct walker *w, const uint8_t *data, uint64_t size,
                              uint64_t chunk_offset) {
  uint64_t pos = 0;
  mcap_error_info me;
  while (pos < size) {
    if (size - pos < 9)
      return wproblem(w, PL_SEV_ERROR, "index-chunk-malformed", chunk_offset,
                      "chunk at offset %llu: %llu stray bytes at its end",
                      (unsigned long long)chunk_offset, (unsigned long long)(size - pos));
    uint8_t op = data[pos];
    uint64_t len = 0;
    for (int i = 0; i < 8; i++) len |= (uint64_t)data[pos + 1 + i] << (8 * i);
    if (len > size - pos - 9)
      return wproblem(w, PL_SEV_ERROR, "index-chunk-malformed", chunk_offset,
                      "chunk at offset %llu: %s record at chunk byte %llu overruns the chunk",
                      (unsigned long long)chunk_offset, mcap_opcode_name(op),
                      (unsigned long long)pos);
    mcap_record rec;
    memset(&rec, 0, sizeof rec);
    memset(&me, 0, sizeof me);
    int rc = mcap_record_parse(op, data + pos + 9, len, chunk_offset, &rec, &me);
    if (rc != MCAP_OK) {
      rc = wproblem(w, PL_SEV_ERROR, "index-record-malformed", chunk_offset,
                    "chunk at offset %llu, byte %llu: %s", (unsigned long long)chunk_offset,
                    (unsigned long long)pos, me.msg);
      if (rc) return rc;
    } else if (op == MCAP_OP_SCHEMA) {
      mark_seen(w, op, &rec);
      if (w->cb->schema && (rc = w->cb->schema(w->cb->ctx, &rec.u.schema))) return rc;
    } else if (op == MCAP_OP_CHANNEL) {
      mark_seen(w, op, &rec);
      if (w->cb->channel && (rc = w->cb->channel(w->cb->ctx, &rec.u.channel))) return rc;
    } else if (op == MCAP_OP_MESSAGE && w->cb->message) {
      if ((rc = w->cb->message(w->cb->ctx, &rec.u.message))) return rc;
    }
    pos += 9 + len;
  }
  return PL_OK;
}

static int walk_chunk(struct walker *w, const mcap_chunk *ck, uint64_t offset) {
  uint64_t usize = ck->uncompressed_size;
  w->st->chunks++;
  if (w->skip_chunks) return PL_OK;
  /* a declared size far beyond what the compressed bytes could hold is a lie, not a chunk */
  if (usize > MCAP_DEFAULT_MAX_RECORD_SIZE || usize > SIZE_MAX ||
      !mcap_chunk_size_possible(ck))
    return wproblem(w, PL_SEV_ERROR, "index-chunk-skipped", offset,
                    "chunk at offset %llu: uncompressed size %llu not acceptable; its messages "
                    "are not indexed",
                    (unsigned long long)offset, (unsigned long long)usize);
  if (!w->dec && mcap_decompressor_new(&w->dec) != MCAP_OK)
    return pl_error_set(w->err, PL_ENOMEM, offset, "out of memory");
  if (pl_buf_reserve(&w->chunk, (size_t)usize + 1) != 0)
    return pl_error_set(w->err, PL_ENOMEM, offset, "out of memory for a chunk of %llu bytes",
                        (unsigned long long)usize);
  mcap_error_info me;
  memset(&me, 0, sizeof me);
  int rc = mcap_chunk_decompress(w->dec, ck, w->chunk.data, usize, 0, &me);
  w->st->chunks_decompressed++;
  if (rc == MCAP_ENOMEM) return pl_error_set(w->err, PL_ENOMEM, offset, "out of memory");
  if (rc != MCAP_OK)
    return wproblem(w, PL_SEV_ERROR, "index-chunk-skipped", offset,
                    "chunk at offset %llu: %s; its messages are not indexed",
                    (unsigned long long)offset, me.msg[0] ? me.msg : mcap_strerror(rc));
  rc = walk_chunk_records(w, w->chunk.data, usize, offset);
  if (rc == PL_OK && w->cb->feed) {
    w->chunk.len = (size_t)usize;
    pl_feed_put(w->cb->feed, offset, &w->chunk);
  }
  return rc;
}

/* Pull exactly n bytes or report the truncation. 1 = truncated (reported), <0 = error. */
static int pull(struct walker *w, uint64_t off, uint64_t n, const uint8_t **p) {
  uint64_t got = 0;
  int rc = pl_source_pull(w->src, &w->tmp, off, n, p, &got, w->err);
  if (rc) return rc;
  if (got < n) {
    rc = wproblem(w, PL_SEV_ERROR, "index-truncated", off,
                  "file ends at offset %llu inside a record (needed %llu bytes at %llu)",
                  (unsigned long long)(off + got), (unsigned long long)n, (unsigned long long)off);
    return rc ? rc : 1;
  }
  return PL_OK;
}

/* An Attachment record streamed in pieces: fields, data, CRC. 1 = stop the walk. */
static int walk_attachment(struct walker *w, uint64_t pos, uint64_t len) {
  const uint8_t *p;
  uint64_t cur = pos + 9, end = pos + 9 + len;
  int rc;
  uint32_t crc = 0;
  mcap_attachment a;
  memset(&a, 0, sizeof a);
  if (len < 16 + 4 + 4 + 8 + 4) goto malformed;
  if ((rc = pull(w, cur, 20, &p))) return rc;
  for (int i = 0; i < 8; i++) a.log_time |= (uint64_t)p[i] << (8 * i);
  for (int i = 0; i < 8; i++) a.create_time |= (uint64_t)p[8 + i] << (8 * i);
  uint32_t name_len =
      (uint32_t)p[16] | (uint32_t)p[17] << 8 | (uint32_t)p[18] << 16 | (uint32_t)p[19] << 24;
  crc = mcap_crc32(crc, p, 20);
  cur += 20;
  if (name_len > end - cur || end - cur - name_len < 4 + 8 + 4) goto malformed;
  if ((rc = pull(w, cur, (uint64_t)name_len + 4, &p))) return rc;
  w->att.len = 0;
  if (pl_buf_append(&w->att, p, name_len) != 0)
    return pl_error_set(w->err, PL_ENOMEM, pos, "out of memory");
  uint32_t mt_len = (uint32_t)p[name_len] | (uint32_t)p[name_len + 1] << 8 |
                    (uint32_t)p[name_len + 2] << 16 | (uint32_t)p[name_len + 3] << 24;
  crc = mcap_crc32(crc, p, (size_t)name_len + 4);
  cur += (uint64_t)name_len + 4;
  if (mt_len > end - cur || end - cur - mt_len < 8 + 4) goto malformed;
  if ((rc = pull(w, cur, (uint64_t)mt_len + 8, &p))) return rc;
  if (pl_buf_append(&w->att, p, mt_len) != 0)
    return pl_error_set(w->err, PL_ENOMEM, pos, "out of memory");
  uint64_t data_len = 0;
  for (int i = 0; i < 8; i++) data_len |= (uint64_t)p[mt_len + i] << (8 * i);
  crc = mcap_crc32(crc, p, (size_t)mt_len + 8);
  cur += (uint64_t)mt_len + 8;
  if (data_len > end - cur || end - cur - data_len < 4) goto malformed;
  a.name.data = (const char *)w->att.data;
  a.name.len = name_len;
  a.media_type.data = (const char *)w->att.data + name_len;
  a.media_type.len = mt_len;
  a.data.len = data_len;
  if (w->cb->attachment_begin && (rc = w->cb->attachment_begin(w->cb->ctx, &a, pos))) return rc;
  uint64_t left = data_len;
  while (left) {
    uint64_t n = left < ATT_PIECE ? left : ATT_PIECE;
    if ((rc = pull(w, cur, n, &p))) return rc;
    crc = mcap_crc32(crc, p, (size_t)n);
    if (w->cb->attachment_data && (rc = w->cb->attachment_data(w->cb->ctx, p, (size_t)n)))
      return rc;
    cur += n;
    left -= n;
  }
  if ((rc = pull(w, cur, 4, &p))) return rc;
  uint32_t stored =
      (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
  if (w->cb->attachment_end && (rc = w->cb->attachment_end(w->cb->ctx, stored, stored ? crc : 0)))
    return rc;
  if (stored && stored != crc)
    return wproblem(w, PL_SEV_ERROR, "index-attachment-crc", pos,
                    "attachment at offset %llu: CRC mismatch (stored 0x%08x, computed 0x%08x)",
                    (unsigned long long)pos, stored, crc);
  return PL_OK;
malformed:
  return wproblem(w, PL_SEV_ERROR, "index-record-malformed", pos,
                  "Attachment record at offset %llu: fields do not fit its length %llu",
                  (unsigned long long)pos, (unsigned long long)len);
}

/* Pass on the stashed definitions (opcode, uint64 length, content): schemas first, then the
 * channels whose schema is now known. */
static int deliver_defs(struct walker *w, const struct pl_buf *defs) {
  const pl__walk_cb *cb = w->cb;
  for (int pass = 0; pass < 2; pass++) {
    for (size_t at = 0; at + 9 <= defs->len;) {
      uint8_t op = defs->data[at];
      uint64_t len = 0;
      mcap_record rec;
      mcap_error_info me;
      int rc = PL_OK;
      for (int i = 0; i < 8; i++) len |= (uint64_t)defs->data[at + 1 + i] << (8 * i);
      at += 9;
      memset(&me, 0, sizeof me);
      if (mcap_record_parse(op, defs->data + at, len, 0, &rec, &me) != MCAP_OK) {
        /* parsed before it was stashed: cannot happen */
      } else if (pass == 0 && op == MCAP_OP_SCHEMA && !(w->seen[rec.u.schema.id] & 1)) {
        w->seen[rec.u.schema.id] |= 1;
        if (cb->schema) rc = cb->schema(cb->ctx, &rec.u.schema);
      } else if (pass == 1 && op == MCAP_OP_CHANNEL && !(w->seen[rec.u.channel.id] & 2) &&
                 (rec.u.channel.schema_id == 0 || (w->seen[rec.u.channel.schema_id] & 1))) {
        w->seen[rec.u.channel.id] |= 2;
        if (cb->channel) rc = cb->channel(cb->ctx, &rec.u.channel);
      }
      if (rc) return rc;
      at += (size_t)len;
    }
  }
  return PL_OK;
}

/*
 * The summary's definitions the data section lacked (cb->summary_defs), from `pos` (right
 * after DataEnd) to the Footer. The summary is optional extra here: a short or unparseable
 * record, or a summary CRC that does not match, ends this part quietly and passes nothing on
 * (the doctor reports it); so the definitions are kept until the Footer's CRC is checked.
 */
static int walk_summary_defs(struct walker *w, uint64_t pos) {
  struct pl_buf defs = {NULL, 0, 0}; /* (opcode, uint64 length, content) of new definitions */
  uint32_t crc = 0;
  int rc = PL_OK, ok = 0;
  for (;;) {
    const uint8_t *p;
    uint64_t got = 0, left = remaining(w, pos);
    if (left < 9) break;
    if (pl_source_pull(w->src, &w->tmp, pos, 9, &p, &got, w->err) || got < 9) break;
    uint8_t op = p[0], env[9];
    uint64_t len = 0;
    memcpy(env, p, 9);
    for (int i = 0; i < 8; i++) len |= (uint64_t)p[1 + i] << (8 * i);
    if (len > left - 9 || len > MCAP_DEFAULT_MAX_RECORD_SIZE) break;
    if (pl_source_pull(w->src, &w->tmp, pos + 9, len, &p, &got, w->err) || got < len) break;
    if (op == MCAP_OP_FOOTER) {
      mcap_record rec;
      mcap_error_info me;
      memset(&me, 0, sizeof me);
      if (len < 20 || mcap_record_parse(op, p, len, pos, &rec, &me) != MCAP_OK) break;
      /* the CRC runs from after DataEnd through the Footer's summary_offset_start */
      crc = mcap_crc32(crc, env, sizeof env);
      crc = mcap_crc32(crc, p, 16);
      ok = rec.u.footer.summary_crc == 0 || rec.u.footer.summary_crc == crc;
      break;
    }
    crc = mcap_crc32(crc, env, sizeof env);
    crc = mcap_crc32(crc, p, (size_t)len);
    if (op == MCAP_OP_SCHEMA || op == MCAP_OP_CHANNEL) {
      mcap_record rec;
      mcap_error_info me;
      memset(&me, 0, sizeof me);
      if (mcap_record_parse(op, p, len, pos, &rec, &me) != MCAP_OK) break;
      int is_new = op == MCAP_OP_SCHEMA ? rec.u.schema.id && !(w->seen[rec.u.schema.id] & 1)
                                        : !(w->seen[rec.u.channel.id] & 2);
      if (is_new && (pl_buf_append(&defs, env, 9) || pl_buf_append(&defs, p, (size_t)len))) {
        rc = pl_error_set(w->err, PL_ENOMEM, pos, "out of memory");
        goto out;
      }
    }
    pos += 9 + len;
  }
  if (ok) rc = deliver_defs(w, &defs);
out:
  pl_buf_dispose(&defs);
  return rc;
}

int pl__walk_file(mcap_source *src, int skip_chunks, const pl__walk_cb *cb, pl__walk_stats *st,
                  pl_error_info *err) {
  struct walker w;
  memset(&w, 0, sizeof w);
  memset(st, 0, sizeof *st);
  w.src = src;
  w.cb = cb;
  w.st = st;
  w.err = err;
  w.skip_chunks = skip_chunks;
  if (cb->summary_defs && !(w.seen = calloc(65536, 1)))
    return pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
  const uint8_t *p;
  uint64_t got = 0, pos = MCAP_MAGIC_SIZE;
  int rc = pl_source_pull(src, &w.tmp, 0, MCAP_MAGIC_SIZE, &p, &got, err);
  if (rc) goto out;
  if (got < MCAP_MAGIC_SIZE || memcmp(p, MCAP_MAGIC, MCAP_MAGIC_SIZE) != 0) {
    rc = pl_error_set(err, PL_EMCAP, 0, "not an MCAP file: no magic at offset 0");
    if (err) err->mcap_code = MCAP_EMAGIC;
    goto out;
  }
  int first = 1, truncated = 0;
  uint64_t progress_at = 0;
  for (;;) {
    uint64_t left = remaining(&w, pos);
    if (left == 0) break;
    if (left < 9) {
      truncated = 1;
      rc = wproblem(&w, PL_SEV_ERROR, "index-truncated", pos,
                    "file ends at offset %llu inside a record header",
                    (unsigned long long)(pos + left));
      break;
    }
    rc = pull(&w, pos, 9, &p);
    if (rc == 1) {
      truncated = 1;
      rc = PL_OK;
      break;
    }
    if (rc) goto out;
    uint8_t op = p[0];
    uint64_t len = 0;
    for (int i = 0; i < 8; i++) len |= (uint64_t)p[1 + i] << (8 * i);
    if (first && op != MCAP_OP_HEADER) {
      rc = pl_error_set(err, PL_EMCAP, pos, "expected a Header record at offset 8, found %s",
                        mcap_opcode_name(op));
      if (err) err->mcap_code = MCAP_EOPCODE;
      goto out;
    }
    if (len > left - 9 || len > MCAP_DEFAULT_MAX_RECORD_SIZE) {
      truncated = 1;
      rc = wproblem(&w, PL_SEV_ERROR, "index-truncated", pos,
                    "%s record at offset %llu declares %llu bytes; the file has %llu after it",
                    mcap_opcode_name(op), (unsigned long long)pos, (unsigned long long)len,
                    (unsigned long long)(left - 9));
      break;
    }
    if (op == MCAP_OP_ATTACHMENT) {
      rc = walk_attachment(&w, pos, len);
      if (rc == 1) {
        truncated = 1;
        rc = PL_OK;
        break;
      }
      if (rc) goto out;
      pos += 9 + len;
      continue;
    }
    rc = pull(&w, pos + 9, len, &p);
    if (rc == 1) {
      truncated = 1;
      rc = PL_OK;
      break;
    }
    if (rc) goto out;
    mcap_record rec;
    mcap_error_info me;
    memset(&rec, 0, sizeof rec);
    memset(&me, 0, sizeof me);
    if (mcap_record_parse(op, p, len, pos, &rec, &me) != MCAP_OK) {
      if (first) {
        rc = pl_error_set(err, PL_EMCAP, pos, "%s", me.msg);
        if (err) err->mcap_code = MCAP_ERECORD;
        goto out;
      }
      rc = wproblem(&w, PL_SEV_ERROR, "index-record-malformed", pos, "%s", me.msg);
      if (rc) goto out;
      pos += 9 + len;
      continue;
    }
    first = 0;
    switch (op) {
      case MCAP_OP_HEADER:
        if (cb->header) rc = cb->header(cb->ctx, &rec.u.header);
        break;
      case MCAP_OP_SCHEMA:
        mark_seen(&w, op, &rec);
        if (cb->schema) rc = cb->schema(cb->ctx, &rec.u.schema);
        break;
      case MCAP_OP_CHANNEL:
        mark_seen(&w, op, &rec);
        if (cb->channel) rc = cb->channel(cb->ctx, &rec.u.channel);
        break;
      case MCAP_OP_MESSAGE:
        if (cb->message) rc = cb->message(cb->ctx, &rec.u.message);
        break;
      case MCAP_OP_CHUNK:
        rc = walk_chunk(&w, &rec.u.chunk, pos);
        break;
      case MCAP_OP_METADATA:
        if (cb->metadata) rc = cb->metadata(cb->ctx, &rec.u.metadata, pos);
        break;
      case MCAP_OP_DATA_END:
        st->complete = 1;
        if (w.seen) rc = walk_summary_defs(&w, pos + 9 + len);
        break;
      case MCAP_OP_FOOTER:
        st->complete = 1;
        break;
      default:
        break;
    }
    if (rc) goto out;
    if (st->complete) break;
    pos += 9 + len;
    if (cb->progress && pos - progress_at >= WALK_PROGRESS_STEP) {
      progress_at = pos;
      cb->progress(cb->progress_ctx, pos, src->size);
    }
  }
  if (rc) goto out;
  if (!st->complete && !truncated) {
    rc = wproblem(&w, PL_SEV_ERROR, "index-no-data-end", pos,
                  "the data section ends at offset %llu without DataEnd or Footer: the file is "
                  "truncated or still being written",
                  (unsigned long long)pos);
  }
out:
  pl_buf_dispose(&w.tmp);
  pl_buf_dispose(&w.chunk);
  pl_buf_dispose(&w.att);
  mcap_decompressor_free(w.dec);
  free(w.seen);
  return rc;
}

/* =============================================================== builder */

struct bschema {
  int defined;
  mcap_str name, encoding;
  mcap_bytes data; /* owned copies (data pointers malloc'd) */
};

struct bchan {
  int defined;
  int topic;  /* index into b->topics */
  int name;   /* index into b->names */
  int warned; /* message on an undefined channel reported */
};

struct bname {
  char *topic;
  pl__rangeset rs;
  int first_topic; /* b->topics entries of this name, chained through topic_next (-1 ends) */
};

struct builder {
  pl_recording_index *ix;
  uint64_t tol;
  struct bschema *schemas; /* [65536] */
  struct bchan *chans;     /* [65536] */
  pl_topic *topics;
  size_t n_topics, cap_topics;
  struct bname *names;
  size_t n_names, cap_names;
  pl__rangeset all;
  size_t cap_att, cap_meta, cap_problems;
  pl_hash *att_hash;
  int in_attachment;
  uint64_t unknown_channel_messages;
  size_t own_problems;
  const pl_index_observer *obs; /* kept across builder_restart */
  uint32_t *name_slots;          /* open addressing: index into names + 1 (0 = empty) */
  size_t n_name_slots;
  int *topic_next;               /* [cap_topic_next] next entry of the same name, or -1 */
  size_t cap_topic_next;
};

static void free_kv_list(pl_kv *kv, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(kv[i].key);
    free(kv[i].value);
  }
  free(kv);
}

static void builder_dispose(struct builder *b) {
  if (b->schemas) {
    for (size_t i = 0; i < 65536; i++) {
      free((void *)b->schemas[i].name.data);
      free((void *)b->schemas[i].encoding.data);
      free((void *)b->schemas[i].data.data);
    }
  }
  free(b->schemas);
  free(b->chans);
  for (size_t i = 0; i < b->n_topics; i++) {
    free(b->topics[i].topic);
    free(b->topics[i].encoding);
    free(b->topics[i].schema_name);
    free(b->topics[i].schema_encoding);
    free(b->topics[i].schema);
    free(b->topics[i].version);
  }
  free(b->topics);
  for (size_t i = 0; i < b->n_names; i++) {
    free(b->names[i].topic);
    pl__rangeset_dispose(&b->names[i].rs);
  }
  free(b->names);
  free(b->name_slots);
  free(b->topic_next);
  pl__rangeset_dispose(&b->all);
  pl_hash_free(b->att_hash);
  memset(b, 0, sizeof *b);
}

static int builder_init(struct builder *b, pl_recording_index *ix, uint64_t tol) {
  memset(b, 0, sizeof *b);
  b->ix = ix;
  b->tol = tol;
  b->all.tol = tol;
  b->schemas = calloc(65536, sizeof *b->schemas);
  b->chans = calloc(65536, sizeof *b->chans);
  b->att_hash = pl_hash_new();
  if (!b->schemas || !b->chans || !b->att_hash) return PL_ENOMEM;
  return PL_OK;
}

static int own_problem(struct builder *b, pl_severity sev, const char *code, uint64_t offset,
                       const char *msg) {
  pl_recording_index *ix = b->ix;
  if (b->own_problems >= MAX_OWN_PROBLEMS) return PL_OK;
  b->own_problems++;
  return pl_finding_add(&ix->problems, &ix->n_problems, &b->cap_problems, sev, code, offset, "%s",
                        msg);
}

static int bcopy_str(mcap_str *dst, mcap_str s) {
  dst->data = NULL;
  dst->len = s.len;
  if (!s.len) return PL_OK;
  char *p = malloc(s.len);
  if (!p) return PL_ENOMEM;
  memcpy(p, s.data, s.len);
  dst->data = p;
  return PL_OK;
}

static int b_schema(void *ctx, const mcap_schema *s) {
  struct builder *b = ctx;
  struct bschema *x = &b->schemas[s->id];
  if (s->id == 0 || x->defined) return PL_OK; /* first definition wins, as in the readers */
  if (bcopy_str(&x->name, s->name) || bcopy_str(&x->encoding, s->encoding)) return PL_ENOMEM;
  x->data.len = s->data.len;
  x->data.data = NULL;
  if (s->data.len) {
    uint8_t *p = malloc((size_t)s->data.len);
    if (!p) return PL_ENOMEM;
    memcpy(p, s->data.data, (size_t)s->data.len);
    x->data.data = p;
  }
  x->defined = 1;
  return PL_OK;
}

/* Names are found through a hash table: a file may have tens of thousands of topics. */
static int name_slots_grow(struct builder *b) {
  size_t n = b->n_name_slots ? b->n_name_slots * 2 : 256;
  uint32_t *slots = calloc(n, sizeof *slots);
  if (!slots) return -1;
  for (size_t i = 0; i < b->n_names; i++) {
    size_t j = (size_t)pl_hash64(b->names[i].topic, strlen(b->names[i].topic)) & (n - 1);
    while (slots[j]) j = (j + 1) & (n - 1);
    slots[j] = (uint32_t)i + 1;
  }
  free(b->name_slots);
  b->name_slots = slots;
  b->n_name_slots = n;
  return 0;
}

static int find_name(struct builder *b, mcap_str topic) {
  if ((b->n_names + 1) * 2 > b->n_name_slots && name_slots_grow(b)) return -1;
  size_t mask = b->n_name_slots - 1;
  size_t j = (size_t)pl_hash64(topic.data, topic.len) & mask;
  for (; b->name_slots[j]; j = (j + 1) & mask) {
    const char *t = b->names[b->name_slots[j] - 1].topic;
    if (strlen(t) == topic.len && memcmp(t, topic.data, topic.len) == 0)
      return (int)b->name_slots[j] - 1;
  }
  if (pl_grow((void **)&b->names, &b->cap_names, b->n_names + 1, sizeof *b->names)) return -1;
  struct bname *n = &b->names[b->n_names];
  memset(n, 0, sizeof *n);
  n->topic = pl_strview(topic);
  if (!n->topic) return -1;
  n->rs.tol = b->tol;
  n->first_topic = -1;
  b->name_slots[j] = (uint32_t)b->n_names + 1;
  return (int)b->n_names++;
}

static int b_channel(void *ctx, const mcap_channel *c) {
  struct builder *b = ctx;
  struct bchan *x = &b->chans[c->id];
  if (x->defined) return PL_OK;
  mcap_str sname = {NULL, 0}, senc = {NULL, 0};
  mcap_bytes sdata = {NULL, 0};
  if (c->schema_id != 0) {
    const struct bschema *s = &b->schemas[c->schema_id];
    if (s->defined) {
      sname = s->name;
      senc = s->encoding;
      sdata = s->data;
    } else {
      char msg[160];
      snprintf(msg, sizeof msg, "channel %u refers to schema %u, which is not defined before it",
               c->id, c->schema_id);
      int rc = own_problem(b, PL_SEV_WARNING, "index-unknown-schema", UINT64_MAX, msg);
      if (rc) return rc;
    }
  }
  char version[33];
  pl_topic_version(c->message_encoding, sname, senc, sdata, version);
  int name = find_name(b, c->topic);
  if (name < 0) return PL_ENOMEM;
  /* the entries of this name (one per version) */
  int k = b->names[name].first_topic;
  while (k >= 0 && strcmp(b->topics[k].version, version) != 0) k = b->topic_next[k];
  size_t i = k >= 0 ? (size_t)k : b->n_topics;
  if (i == b->n_topics) {
    if (pl_grow((void **)&b->topics, &b->cap_topics, b->n_topics + 1, sizeof *b->topics))
      return PL_ENOMEM;
    if (b->cap_topic_next < b->cap_topics) {
      int *next = realloc(b->topic_next, b->cap_topics * sizeof *next);
      if (!next) return PL_ENOMEM;
      b->topic_next = next;
      b->cap_topic_next = b->cap_topics;
    }
    b->topic_next[i] = b->names[name].first_topic;
    b->names[name].first_topic = (int)i;
    pl_topic *t = &b->topics[b->n_topics];
    memset(t, 0, sizeof *t);
    b->n_topics++; /* counted now so that dispose frees what was copied */
    t->topic = pl_strview(c->topic);
    t->encoding = pl_strview(c->message_encoding);
    t->schema_name = pl_strview(sname);
    t->schema_encoding = pl_strview(senc);
    t->version = pl_strdup(version);
    t->schema_len = (size_t)sdata.len;
    t->schema = malloc(sdata.len ? (size_t)sdata.len : 1);
    if (!t->topic || !t->encoding || !t->schema_name || !t->schema_encoding || !t->version ||
        !t->schema)
      return PL_ENOMEM;
    if (sdata.len) memcpy(t->schema, sdata.data, (size_t)sdata.len);
  }
  x->defined = 1;
  x->topic = (int)i;
  x->name = name;
  return PL_OK;
}

static int b_msg(struct builder *b, uint16_t channel_id, uint64_t log_time, uint64_t payload) {
  struct bchan *x = &b->chans[channel_id];
  if (!x->defined) {
    b->unknown_channel_messages++;
    if (!x->warned) {
      x->warned = 1;
      char msg[128];
      snprintf(msg, sizeof msg, "messages on channel %u, which is not defined: not indexed",
               channel_id);
      return own_problem(b, PL_SEV_WARNING, "index-unknown-channel", UINT64_MAX, msg);
    }
    return PL_OK;
  }
  pl_topic *t = &b->topics[x->topic];
  if (t->message_count == 0 || log_time < t->first_log_time) t->first_log_time = log_time;
  if (t->message_count == 0 || log_time > t->last_log_time) t->last_log_time = log_time;
  t->message_count++;
  t->bytes += payload;
  pl_recording_index *ix = b->ix;
  if (!ix->has_messages || log_time < ix->start) ix->start = log_time;
  if (!ix->has_messages || log_time > ix->end) ix->end = log_time;
  ix->has_messages = 1;
  ix->message_count++;
  if (pl__rangeset_add(&b->names[x->name].rs, log_time, log_time)) return PL_ENOMEM;
  if (pl__rangeset_add(&b->all, log_time, log_time)) return PL_ENOMEM;
  if (b->obs && b->obs->message)
    return b->obs->message(b->obs->ctx, b->names[x->name].topic, channel_id, log_time, payload);
  return PL_OK;
}

static int b_message(void *ctx, const mcap_message *m) {
  return b_msg(ctx, m->channel_id, m->log_time, m->data.len);
}

static int b_header(void *ctx, const mcap_header *h) {
  struct builder *b = ctx;
  if (b->ix->library) return PL_OK;
  b->ix->library = pl_strview(h->library);
  b->ix->profile = pl_strview(h->profile);
  return b->ix->library && b->ix->profile ? PL_OK : PL_ENOMEM;
}

static int b_att_begin(void *ctx, const mcap_attachment *a, uint64_t offset) {
  struct builder *b = ctx;
  pl_recording_index *ix = b->ix;
  if (pl_grow((void **)&ix->attachments, &b->cap_att, ix->n_attachments + 1,
              sizeof *ix->attachments))
    return PL_ENOMEM;
  pl_attachment_info *x = &ix->attachments[ix->n_attachments];
  memset(x, 0, sizeof *x);
  ix->n_attachments++;
  x->name = pl_strview(a->name);
  x->media_type = pl_strview(a->media_type);
  if (!x->name || !x->media_type) return PL_ENOMEM;
  x->log_time = a->log_time;
  x->create_time = a->create_time;
  x->size = a->data.len;
  x->offset = offset;
  pl_hash_reset(b->att_hash);
  b->in_attachment = 1;
  return PL_OK;
}

static int b_att_data(void *ctx, const uint8_t *p, size_t n) {
  struct builder *b = ctx;
  pl_hash_update(b->att_hash, p, n);
  return PL_OK;
}

static int b_att_end(void *ctx, uint32_t stored, uint32_t computed) {
  struct builder *b = ctx;
  (void)computed;
  pl_attachment_info *x = &b->ix->attachments[b->ix->n_attachments - 1];
  x->crc = stored;
  pl_hash_hex(b->att_hash, x->fingerprint);
  b->in_attachment = 0;
  return PL_OK;
}

static int b_metadata(void *ctx, const mcap_metadata *m, uint64_t offset) {
  struct builder *b = ctx;
  pl_recording_index *ix = b->ix;
  (void)offset;
  if (pl_grow((void **)&ix->metadata, &b->cap_meta, ix->n_metadata + 1, sizeof *ix->metadata))
    return PL_ENOMEM;
  pl_metadata_info *x = &ix->metadata[ix->n_metadata];
  memset(x, 0, sizeof *x);
  ix->n_metadata++;
  x->name = pl_strview(m->name);
  if (!x->name) return PL_ENOMEM;
  uint32_t n = mcap_map_str_count(&m->metadata);
  if (n) {
    x->entries = calloc(n, sizeof *x->entries);
    if (!x->entries) return PL_ENOMEM;
  }
  mcap_map_iter it = {0};
  mcap_str k, v;
  while (x->n_entries < n && mcap_map_next_str(&m->metadata, &it, &k, &v) == MCAP_OK) {
    pl_kv *kv = &x->entries[x->n_entries];
    kv->key = pl_strview(k);
    kv->value = pl_strview(v);
    x->n_entries++;
    if (!kv->key || !kv->value) return PL_ENOMEM;
  }
  return PL_OK;
}

static int b_problem(void *ctx, pl_severity sev, const char *code, uint64_t offset,
                     const char *msg) {
  struct builder *b = ctx;
  if (sev == PL_SEV_ERROR) {
    mcap_damage *d = &b->ix->damage;
    b->ix->partial = 1;
    if (d->problems++ == 0) {
      d->code = MCAP_ERECORD;
      d->first_offset = offset;
      snprintf(d->msg, sizeof d->msg, "%.*s", (int)sizeof d->msg - 1, msg);
    }
  }
  return own_problem(b, sev, code, offset, msg);
}

static void builder_callbacks(struct builder *b, pl__walk_cb *cb) {
  memset(cb, 0, sizeof *cb);
  cb->ctx = b;
  cb->header = b_header;
  cb->schema = b_schema;
  cb->channel = b_channel;
  cb->message = b_message;
  cb->attachment_begin = b_att_begin;
  cb->attachment_data = b_att_data;
  cb->attachment_end = b_att_end;
  cb->metadata = b_metadata;
  cb->problem = b_problem;
}

/* Forget everything learnt from the data (to start over with another way of reading). */
static int builder_restart(struct builder *b) {
  pl_recording_index *ix = b->ix;
  uint64_t tol = b->tol;
  const pl_index_observer *obs = b->obs;
  if (obs && obs->restart) obs->restart(obs->ctx);
  builder_dispose(b);
  for (size_t i = 0; i < ix->n_attachments; i++) {
    free(ix->attachments[i].name);
    free(ix->attachments[i].media_type);
  }
  free(ix->attachments);
  ix->attachments = NULL;
  ix->n_attachments = 0;
  for (size_t i = 0; i < ix->n_metadata; i++) {
    free(ix->metadata[i].name);
    free_kv_list(ix->metadata[i].entries, ix->metadata[i].n_entries);
  }
  free(ix->metadata);
  ix->metadata = NULL;
  ix->n_metadata = 0;
  free(ix->problems);
  ix->problems = NULL;
  ix->n_problems = 0;
  free(ix->library);
  free(ix->profile);
  ix->library = ix->profile = NULL;
  ix->has_messages = 0;
  ix->start = ix->end = 0;
  ix->message_count = 0;
  ix->partial = 0;
  memset(&ix->damage, 0, sizeof ix->damage);
  int rc = builder_init(b, ix, tol);
  b->obs = obs;
  return rc;
}

static int cmp_topic(const void *x, const void *y) {
  const pl_topic *a = x, *b = y;
  int c = strcmp(a->topic, b->topic);
  if (c) return c;
  if (a->first_log_time != b->first_log_time) return a->first_log_time < b->first_log_time ? -1 : 1;
  return strcmp(a->version, b->version);
}

static int cmp_tcov(const void *x, const void *y) {
  return strcmp(((const pl_topic_coverage *)x)->topic, ((const pl_topic_coverage *)y)->topic);
}

static int copy_ranges(const pl__rangeset *rs, pl_range **out, size_t *n) {
  *out = NULL;
  *n = 0;
  if (!rs->n) return PL_OK;
  *out = malloc(rs->n * sizeof **out);
  if (!*out) return PL_ENOMEM;
  memcpy(*out, rs->r, rs->n * sizeof **out);
  *n = rs->n;
  return PL_OK;
}

double pl_topic_frequency(uint64_t count, uint64_t first_log_time, uint64_t last_log_time) {
  if (count < 2 || last_log_time <= first_log_time) return 0;
  return (double)(count - 1) * 1e9 / (double)(last_log_time - first_log_time);
}

/* Move what the builder gathered into the index. */
static int builder_finish(struct builder *b) {
  pl_recording_index *ix = b->ix;
  if (b->unknown_channel_messages) {
    char msg[160];
    snprintf(msg, sizeof msg, "%llu messages on undefined channels were not indexed",
             (unsigned long long)b->unknown_channel_messages);
    b->own_problems = 0; /* always say this one */
    int rc = own_problem(b, PL_SEV_WARNING, "index-unknown-channel", UINT64_MAX, msg);
    if (rc) return rc;
  }
  for (size_t i = 0; i < b->n_topics; i++) {
    pl_topic *t = &b->topics[i];
    t->frequency = pl_topic_frequency(t->message_count, t->first_log_time, t->last_log_time);
  }
  if (b->n_topics) qsort(b->topics, b->n_topics, sizeof *b->topics, cmp_topic);
  ix->topics = b->topics;
  ix->n_topics = b->n_topics;
  b->topics = NULL;
  b->n_topics = b->cap_topics = 0;
  if (b->n_names) {
    ix->topic_coverage = calloc(b->n_names, sizeof *ix->topic_coverage);
    if (!ix->topic_coverage) return PL_ENOMEM;
    for (size_t i = 0; i < b->n_names; i++) {
      pl_topic_coverage *tc = &ix->topic_coverage[ix->n_topic_coverage++];
      tc->topic = b->names[i].topic;
      b->names[i].topic = NULL;
      if (copy_ranges(&b->names[i].rs, &tc->ranges, &tc->n_ranges)) return PL_ENOMEM;
    }
    qsort(ix->topic_coverage, ix->n_topic_coverage, sizeof *ix->topic_coverage, cmp_tcov);
  }
  if (copy_ranges(&b->all, &ix->coverage, &ix->n_coverage)) return PL_ENOMEM;
  /* device and key: the last Metadata record named "foxglove" */
  for (size_t i = ix->n_metadata; i-- > 0;) {
    const pl_metadata_info *m = &ix->metadata[i];
    if (strcmp(m->name, "foxglove") != 0) continue;
    for (size_t k = 0; k < m->n_entries; k++) {
      char **dst = strcmp(m->entries[k].key, "deviceName") == 0 ? &ix->device_name
                   : strcmp(m->entries[k].key, "deviceId") == 0 ? &ix->device_id
                   : strcmp(m->entries[k].key, "key") == 0      ? &ix->key
                                                                : NULL;
      if (!dst) continue;
      free(*dst); /* a key repeated in the map: the last one */
      *dst = pl_strdup(m->entries[k].value);
      if (!*dst) return PL_ENOMEM;
    }
    break;
  }
  if (!ix->library) ix->library = pl_strdup("");
  if (!ix->profile) ix->profile = pl_strdup("");
  if (!ix->library || !ix->profile) return PL_ENOMEM;
  return PL_OK;
}

/* ============================================================= fast path */

struct ent {
  uint64_t off;
  uint64_t t;
  uint16_t ch;
};

struct fast {
  struct builder *b;
  mcap_reader *r;
  mcap_source *raw; /* the same file, for reads of our own */
  pl_error_info *err;
  struct pl_buf tmp;
  struct pl_buf blk; /* a chunk's message indexes */
  struct pl_buf chunk;
  mcap_decompressor *dec;
  struct ent *ents;
  size_t n_ents, cap_ents;
  uint64_t sdef_size[65536]; /* encoded record sizes (0 = not in the summary) */
  uint64_t cdef_size[65536];
  uint16_t chan_schema[65536];
  uint8_t sdone[65536]; /* definition accounted for (found in the data) */
  uint8_t cdone[65536];
  uint8_t mark_s[65536], mark_c[65536]; /* scratch per chunk */
  uint16_t *sids, *cids;                /* ids of the summary's schemas and channels */
  size_t n_sids, n_cids;
  uint64_t delivered;    /* messages given to the builder */
  uint64_t *per_channel; /* [65536] messages delivered per channel */
  uint64_t chunks_decompressed;
};

static int cmp_ent(const void *x, const void *y) {
  const struct ent *a = x, *b = y;
  if (a->off != b->off) return a->off < b->off ? -1 : 1;
  return 0;
}

static int fdeliver(struct fast *f, uint16_t ch, uint64_t t, uint64_t payload) {
  f->delivered++;
  f->per_channel[ch]++;
  return b_msg(f->b, ch, t, payload);
}

/* Read a chunk's MessageIndex records into f->ents. 0 = ok, 1 = unusable, <0 = error. */
static int read_message_indexes(struct fast *f, const mcap_chunk_index *ci) {
  f->n_ents = 0;
  mcap_map_iter it = {0};
  uint16_t ch;
  uint64_t off;
  uint64_t size = f->raw->size;
  /* the records usually sit together right after the chunk: one read for all of them */
  uint64_t blk = ci->chunk_start_offset + ci->chunk_length, blk_len = ci->message_index_length;
  const uint8_t *bp = NULL;
  if (blk_len && blk <= size && blk_len <= size - blk && blk_len <= (UINT64_C(64) << 20)) {
    uint64_t got = 0;
    int rc = pl_source_pull(f->raw, &f->blk, blk, blk_len, &bp, &got, f->err);
    if (rc) return rc;
    if (got < blk_len) return 1;
  }
  while (mcap_map_next_u16u64(&ci->message_index_offsets, &it, &ch, &off) == MCAP_OK) {
    const uint8_t *p;
    uint64_t got, len = 0;
    int rc;
    if (off >= size || size - off < 9) return 1;
    if (bp && off >= blk && off - blk <= blk_len && blk_len - (off - blk) >= 9) {
      p = bp + (off - blk);
      if (p[0] != MCAP_OP_MESSAGE_INDEX) return 1;
      for (int i = 0; i < 8; i++) len |= (uint64_t)p[1 + i] << (8 * i);
      if (len > blk_len - (off - blk) - 9) return 1;
      p += 9;
    } else {
      rc = pl_source_pull(f->raw, &f->tmp, off, 9, &p, &got, f->err);
      if (rc) return rc;
      if (got < 9 || p[0] != MCAP_OP_MESSAGE_INDEX) return 1;
      for (int i = 0; i < 8; i++) len |= (uint64_t)p[1 + i] << (8 * i);
      if (len > size - off - 9) return 1;
      rc = pl_source_pull(f->raw, &f->tmp, off + 9, len, &p, &got, f->err);
      if (rc) return rc;
      if (got < len) return 1;
    }
    mcap_record rec;
    memset(&rec, 0, sizeof rec);
    if (mcap_record_parse(MCAP_OP_MESSAGE_INDEX, p, len, off, &rec, NULL) != MCAP_OK) return 1;
    if (rec.u.message_index.channel_id != ch) return 1;
    uint64_t n = mcap_message_index_count(&rec.u.message_index);
    if (pl_grow((void **)&f->ents, &f->cap_ents, f->n_ents + n, sizeof *f->ents))
      return pl_error_set(f->err, PL_ENOMEM, off, "out of memory");
    for (uint64_t i = 0; i < n; i++) {
      struct ent *e = &f->ents[f->n_ents++];
      mcap_message_index_entry(&rec.u.message_index, i, &e->t, &e->off);
      e->ch = ch;
    }
  }
  return 0;
}

/* Decompress one chunk and index its records exactly. 0 = ok, 1 = unreadable, <0 = error. */
static int fast_decompress(struct fast *f, const mcap_chunk_index *ci) {
  const uint8_t *p;
  uint64_t got;
  uint64_t off = ci->chunk_start_offset;
  uint64_t before = f->delivered;
  int rc = pl_source_pull(f->raw, &f->tmp, off, ci->chunk_length, &p, &got, f->err);
  if (rc) return rc;
  char why[256] = "";
  mcap_record rec;
  mcap_error_info me;
  memset(&rec, 0, sizeof rec);
  memset(&me, 0, sizeof me);
  if (got < ci->chunk_length || ci->chunk_length < 9 || p[0] != MCAP_OP_CHUNK) {
    snprintf(why, sizeof why, "the chunk index does not point at a Chunk record");
    goto bad;
  }
  if (mcap_record_parse(MCAP_OP_CHUNK, p + 9, ci->chunk_length - 9, off, &rec, &me) != MCAP_OK) {
    snprintf(why, sizeof why, "%s", me.msg);
    goto bad;
  }
  const mcap_chunk *ck = &rec.u.chunk;
  uint64_t usize = ck->uncompressed_size;
  if (usize > MCAP_DEFAULT_MAX_RECORD_SIZE || usize > SIZE_MAX ||
      !mcap_chunk_size_possible(ck)) {
    snprintf(why, sizeof why, "uncompressed size %llu not acceptable", (unsigned long long)usize);
    goto bad;
  }
  if (!f->dec && mcap_decompressor_new(&f->dec) != MCAP_OK)
    return pl_error_set(f->err, PL_ENOMEM, off, "out of memory");
  if (pl_buf_reserve(&f->chunk, (size_t)usize + 1))
    return pl_error_set(f->err, PL_ENOMEM, off, "out of memory");
  rc = mcap_chunk_decompress(f->dec, ck, f->chunk.data, usize, 0, &me);
  f->chunks_decompressed++;
  if (rc == MCAP_ENOMEM) return pl_error_set(f->err, PL_ENOMEM, off, "out of memory");
  if (rc != MCAP_OK) {
    snprintf(why, sizeof why, "%s", me.msg);
    goto bad;
  }
  for (uint64_t pos = 0; pos < usize;) {
    const uint8_t *d = f->chunk.data + pos;
    if (usize - pos < 9) {
      snprintf(why, sizeof why, "stray bytes at its end");
      goto bad;
    }
    uint64_t len = 0;
    for (int i = 0; i < 8; i++) len |= (uint64_t)d[1 + i] << (8 * i);
    if (len > usize - pos - 9) {
      snprintf(why, sizeof why, "a record at chunk byte %llu overruns it", (unsigned long long)pos);
      goto bad;
    }
    memset(&rec, 0, sizeof rec);
    if (mcap_record_parse(d[0], d + 9, len, off, &rec, &me) != MCAP_OK) {
      snprintf(why, sizeof why, "%s", me.msg);
      goto bad;
    }
    if (d[0] == MCAP_OP_SCHEMA) {
      f->sdone[rec.u.schema.id] = 1;
    } else if (d[0] == MCAP_OP_CHANNEL) {
      f->cdone[rec.u.channel.id] = 1;
    } else if (d[0] == MCAP_OP_MESSAGE) {
      rc = fdeliver(f, rec.u.message.channel_id, rec.u.message.log_time, rec.u.message.data.len);
      if (rc) return rc;
    }
    pos += 9 + len;
  }
  return 0;
bad : {
  /* messages already taken from the chunk stay; otherwise its message index has to do */
  int some = f->delivered != before;
  char msg[400];
  snprintf(msg, sizeof msg, "chunk at offset %llu: %.200s; %s", (unsigned long long)off, why,
           some ? "the messages after that point are not indexed"
                : "its messages are indexed from its message index (sizes unknown)");
  rc = b_problem(f->b, PL_SEV_ERROR, "index-chunk-unreadable", off, msg);
  return rc ? rc : some ? 0 : 1;
}
}

/* Sum of the encoded sizes of the definitions a set of channels needs (marking them). */
static uint64_t defs_of(struct fast *f, const uint16_t *chs, size_t n, int only_new) {
  uint64_t sum = 0;
  for (size_t i = 0; i < n; i++) {
    uint16_t c = chs[i];
    if (!(only_new && f->cdone[c]) && !f->mark_c[c]) {
      f->mark_c[c] = 1;
      sum += f->cdef_size[c];
    }
    uint16_t s = f->chan_schema[c];
    if (s && !(only_new && f->sdone[s]) && !f->mark_s[s]) {
      f->mark_s[s] = 1;
      sum += f->sdef_size[s];
    }
  }
  return sum;
}

static void clear_marks(struct fast *f, const uint16_t *chs, size_t n) {
  for (size_t i = 0; i < n; i++) {
    f->mark_c[chs[i]] = 0;
    f->mark_s[f->chan_schema[chs[i]]] = 0;
  }
}

/*
 * Index one chunk from its message indexes, or decompress it when they do not
 * account for it exactly. `undefined` is the encoded size of every
 * definition of the summary not yet accounted for.
 */
static int fast_chunk(struct fast *f, const mcap_chunk_index *ci, uint64_t *undefined) {
  int rc = read_message_indexes(f, ci);
  if (rc < 0) return rc;
  int exact = rc == 0;
  uint64_t usize = ci->uncompressed_size;
  if (exact && f->n_ents) {
    qsort(f->ents, f->n_ents, sizeof *f->ents, cmp_ent);
    for (size_t i = 0; i < f->n_ents && exact; i++) {
      uint64_t next = i + 1 < f->n_ents ? f->ents[i + 1].off : usize;
      if (next <= f->ents[i].off || next - f->ents[i].off < MSG_OVERHEAD) exact = 0;
    }
  }
  uint16_t chs[1024];
  size_t n_chs = 0;
  if (exact) {
    /* the distinct channels of the chunk (a chunk rarely has more than a few hundred) */
    for (size_t i = 0; i < f->n_ents && exact; i++) {
      uint16_t c = f->ents[i].ch;
      if (f->mark_c[c] & 2) continue;
      if (n_chs == sizeof chs / sizeof chs[0]) {
        exact = 0;
        break;
      }
      f->mark_c[c] |= 2;
      chs[n_chs++] = c;
    }
    for (size_t i = 0; i < n_chs; i++) f->mark_c[chs[i]] = 0;
  }
  if (exact) {
    uint64_t prefix = f->n_ents ? f->ents[0].off : usize;
    uint64_t r_new = defs_of(f, chs, n_chs, 1);
    clear_marks(f, chs, n_chs);
    uint64_t r_used = defs_of(f, chs, n_chs, 0);
    clear_marks(f, chs, n_chs);
    if (prefix == r_new || prefix == r_used) {
      for (size_t i = 0; i < n_chs; i++) {
        uint16_t c = chs[i], s = f->chan_schema[c];
        if (!f->cdone[c]) *undefined -= f->cdef_size[c];
        f->cdone[c] = 1;
        if (s && !f->sdone[s]) *undefined -= f->sdef_size[s];
        if (s) f->sdone[s] = 1;
      }
    } else if (prefix == *undefined) {
      memset(f->cdone, 1, sizeof f->cdone);
      memset(f->sdone, 1, sizeof f->sdone);
      *undefined = 0;
    } else {
      exact = 0;
    }
  }
  if (exact) {
    for (size_t i = 0; i < f->n_ents; i++) {
      uint64_t next = i + 1 < f->n_ents ? f->ents[i + 1].off : usize;
      rc = fdeliver(f, f->ents[i].ch, f->ents[i].t, next - f->ents[i].off - MSG_OVERHEAD);
      if (rc) return rc;
    }
    return PL_OK;
  }
  /* offsets do not account for the chunk: read it */
  rc = fast_decompress(f, ci);
  if (rc < 0) return rc;
  if (rc == 1) {
    /* unreadable: the message index still says how many and when (sizes unknown) */
    for (size_t i = 0; i < f->n_ents; i++) {
      rc = fdeliver(f, f->ents[i].ch, f->ents[i].t, 0);
      if (rc) return rc;
    }
  }
  /* recount what is still undefined */
  uint64_t u = 0;
  for (size_t i = 0; i < f->n_cids; i++)
    if (!f->cdone[f->cids[i]]) u += f->cdef_size[f->cids[i]];
  for (size_t i = 0; i < f->n_sids; i++)
    if (!f->sdone[f->sids[i]]) u += f->sdef_size[f->sids[i]];
  *undefined = u;
  return PL_OK;
}

/* Definitions of the summary not found in the data that delivered messages use: their
 * number (0 when every definition in use is accounted for). */
static size_t unfound_in_use(struct fast *f) {
  size_t n = 0;
  for (size_t i = 0; i < f->n_cids; i++) {
    uint16_t c = f->cids[i], sc = f->chan_schema[c];
    if (!f->per_channel[c]) continue;
    if (!f->cdone[c]) n++;
    if (sc && !f->sdone[sc]) n++;
  }
  return n;
}

static uint64_t encoded_size(uint8_t opcode, const void *rec_u, size_t u_size) {
  mcap_record rec;
  uint64_t size = 0;
  memset(&rec, 0, sizeof rec);
  rec.opcode = opcode;
  memcpy(&rec.u, rec_u, u_size);
  if (mcap_record_encode(&rec, NULL, 0, &size) != MCAP_OK) return 0;
  return size;
}

/* Definitions outside chunks, found by a top-level walk (chunks not opened). */
static int fs_schema(void *ctx, const mcap_schema *s) {
  ((struct fast *)ctx)->sdone[s->id] = 1;
  return 0;
}
static int fs_channel(void *ctx, const mcap_channel *c) {
  ((struct fast *)ctx)->cdone[c->id] = 1;
  return 0;
}
static int fs_message(void *ctx, const mcap_message *m) {
  (void)m;
  ((struct fast *)ctx)->delivered = UINT64_MAX; /* a message outside chunks: not indexed */
  return 0;
}

struct toplevel_ctx {
  struct fast *f;
  pl__walk_cb inner; /* the builder's callbacks for attachments and metadata */
  int want_att;
};
static int tl_schema(void *ctx, const mcap_schema *s) {
  return fs_schema(((struct toplevel_ctx *)ctx)->f, s);
}
static int tl_channel(void *ctx, const mcap_channel *c) {
  return fs_channel(((struct toplevel_ctx *)ctx)->f, c);
}
static int tl_message(void *ctx, const mcap_message *m) {
  return fs_message(((struct toplevel_ctx *)ctx)->f, m);
}
static int tl_att_begin(void *ctx, const mcap_attachment *a, uint64_t off) {
  struct toplevel_ctx *t = ctx;
  return t->want_att ? b_att_begin(t->inner.ctx, a, off) : 0;
}
static int tl_att_data(void *ctx, const uint8_t *p, size_t n) {
  struct toplevel_ctx *t = ctx;
  return t->want_att ? b_att_data(t->inner.ctx, p, n) : 0;
}
static int tl_att_end(void *ctx, uint32_t s, uint32_t c) {
  struct toplevel_ctx *t = ctx;
  return t->want_att ? b_att_end(t->inner.ctx, s, c) : 0;
}
static int tl_metadata(void *ctx, const mcap_metadata *m, uint64_t off) {
  struct toplevel_ctx *t = ctx;
  return t->want_att ? b_metadata(t->inner.ctx, m, off) : 0;
}
static int tl_problem(void *ctx, pl_severity sev, const char *code, uint64_t off, const char *msg) {
  struct toplevel_ctx *t = ctx;
  return t->want_att ? b_problem(t->inner.ctx, sev, code, off, msg) : 0;
}

/* Attachments and metadata through the summary's indexes. */
static int fast_attachments(struct fast *f) {
  struct builder *b = f->b;
  uint8_t *buf = malloc(ATT_PIECE);
  if (!buf) return pl_error_set(f->err, PL_ENOMEM, UINT64_MAX, "out of memory");
  int rc = PL_OK;
  size_t n = mcap_reader_attachment_count(f->r);
  for (size_t i = 0; i < n; i++) {
    const mcap_attachment_index *ai = mcap_reader_attachment_at(f->r, i);
    mcap_attachment_stream *s = NULL;
    mcap_attachment a;
    int mrc = mcap_reader_attachment_open(f->r, ai, &s, &a);
    if (mrc == MCAP_ENOMEM) {
      rc = pl_error_set(f->err, PL_ENOMEM, ai->offset, "out of memory");
      break;
    }
    if (mrc != MCAP_OK) {
      char msg[320];
      snprintf(msg, sizeof msg, "attachment '%.*s' at offset %llu: %s", (int)ai->name.len,
               ai->name.data ? ai->name.data : "", (unsigned long long)ai->offset,
               mcap_reader_errmsg(f->r));
      if ((rc = b_problem(b, PL_SEV_ERROR, "index-attachment-unreadable", ai->offset, msg))) break;
      continue;
    }
    if ((rc = b_att_begin(b, &a, ai->offset))) {
      mcap_attachment_stream_free(s);
      break;
    }
    for (;;) {
      size_t got = 0;
      mrc = mcap_attachment_stream_read(s, buf, ATT_PIECE, &got);
      if (got) b_att_data(b, buf, got);
      if (mrc != MCAP_OK) {
        char msg[320];
        snprintf(msg, sizeof msg, "attachment '%s' at offset %llu: %s",
                 b->ix->attachments[b->ix->n_attachments - 1].name, (unsigned long long)ai->offset,
                 mcap_reader_errmsg(f->r));
        rc = b_problem(b, PL_SEV_ERROR,
                       mrc == MCAP_ECRC ? "index-attachment-crc" : "index-attachment-unreadable",
                       ai->offset, msg);
        break;
      }
      if (got == 0) break;
    }
    b_att_end(b, a.crc, 0);
    mcap_attachment_stream_free(s);
    if (rc) break;
  }
  free(buf);
  if (rc) return rc;
  n = mcap_reader_metadata_count(f->r);
  for (size_t i = 0; i < n; i++) {
    const mcap_metadata_index *mi = mcap_reader_metadata_at(f->r, i);
    mcap_metadata m;
    int mrc = mcap_reader_read_metadata(f->r, mi, &m);
    if (mrc == MCAP_ENOMEM) return pl_error_set(f->err, PL_ENOMEM, mi->offset, "out of memory");
    if (mrc != MCAP_OK) {
      char msg[320];
      snprintf(msg, sizeof msg, "metadata at offset %llu: %s", (unsigned long long)mi->offset,
               mcap_reader_errmsg(f->r));
      if ((rc = b_problem(b, PL_SEV_ERROR, "index-metadata-unreadable", mi->offset, msg)))
        return rc;
      continue;
    }
    if ((rc = b_metadata(b, &m, mi->offset))) return rc;
  }
  return PL_OK;
}

static int cmp_att_offset(const void *x, const void *y) {
  const pl_attachment_info *a = x, *b = y;
  return a->offset < b->offset ? -1 : a->offset > b->offset;
}

/*
 * The fast path. @return PL_OK (done), 1 (the summary cannot be trusted:
 * start over with the streamed path), or an error.
 */
static int fast_index(struct builder *b, mcap_reader *r, mcap_source *raw, uint64_t *decompressed,
                      pl_error_info *err) {
  struct fast *f = calloc(1, sizeof *f);
  if (!f) return pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
  f->b = b;
  f->r = r;
  f->raw = raw;
  f->err = err;
  f->per_channel = calloc(65536, sizeof *f->per_channel);
  f->sids = calloc(65536, sizeof *f->sids);
  f->cids = calloc(65536, sizeof *f->cids);
  int rc = PL_OK;
  if (!f->per_channel || !f->sids || !f->cids) {
    rc = pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
    goto out;
  }
  int from_file = 0;
  const mcap_statistics *stats = mcap_reader_statistics(r, &from_file);
  size_t n_schemas = mcap_reader_schema_count(r), n_channels = mcap_reader_channel_count(r);
  size_t n_chunks = mcap_reader_chunk_count(r);
  /* Fewer definitions in the summary than the Statistics count: not all repeated. More is
   * fine: topics without messages that a writer defines in the summary only (rosbag2), which
   * the Statistics leave out; they are listed with no messages. */
  if (from_file && (stats->channel_count > n_channels || stats->schema_count > n_schemas)) {
    rc = 1;
    goto out;
  }
  if (n_channels == 0 && n_chunks > 0) {
    rc = 1;
    goto out;
  }
  if ((rc = b_header(b, mcap_reader_header(r)))) goto out;
  uint64_t undefined = 0;
  for (size_t i = 0; i < n_schemas; i++) {
    const mcap_schema *s = mcap_reader_schema_at(r, i);
    if ((rc = b_schema(b, s))) goto out;
    f->sdef_size[s->id] = encoded_size(MCAP_OP_SCHEMA, s, sizeof *s);
    f->sids[f->n_sids++] = s->id;
    undefined += f->sdef_size[s->id];
  }
  for (size_t i = 0; i < n_channels; i++) {
    const mcap_channel *c = mcap_reader_channel_at(r, i);
    if ((rc = b_channel(b, c))) goto out;
    f->cdef_size[c->id] = encoded_size(MCAP_OP_CHANNEL, c, sizeof *c);
    f->chan_schema[c->id] = c->schema_id;
    f->cids[f->n_cids++] = c->id;
    undefined += f->cdef_size[c->id];
  }
  for (size_t i = 0; i < n_chunks; i++) {
    rc = fast_chunk(f, mcap_reader_chunk_at(r, i), &undefined);
    if (rc) goto out;
  }
  /* every definition that messages use must have been found in the data; look outside
   * chunks for the rest (a definition no message uses may be in the summary only) */
  int need_walk = unfound_in_use(f) != 0;
  int att_from_index = from_file && stats->attachment_count == mcap_reader_attachment_count(r) &&
                       stats->metadata_count == mcap_reader_metadata_count(r);
  if (need_walk || !att_from_index) {
    struct toplevel_ctx t;
    memset(&t, 0, sizeof t);
    t.f = f;
    t.want_att = !att_from_index;
    builder_callbacks(b, &t.inner);
    pl__walk_cb cb;
    memset(&cb, 0, sizeof cb);
    cb.ctx = &t;
    cb.schema = tl_schema;
    cb.channel = tl_channel;
    cb.message = tl_message;
    cb.attachment_begin = tl_att_begin;
    cb.attachment_data = tl_att_data;
    cb.attachment_end = tl_att_end;
    cb.metadata = tl_metadata;
    cb.problem = tl_problem;
    pl__walk_stats wst;
    rc = pl__walk_file(raw, 1, &cb, &wst, err);
    if (rc) goto out;
    if (f->delivered == UINT64_MAX) {
      rc = 1; /* messages outside chunks are in no message index */
      goto out;
    }
    if (unfound_in_use(f)) {
      rc = 1; /* a definition hides between messages of a chunk we trusted */
      goto out;
    }
  }
  /* the counts must agree with the file's Statistics */
  if (from_file) {
    if (stats->message_count != f->delivered) {
      rc = 1;
      goto out;
    }
    mcap_map_iter it = {0};
    uint16_t ch;
    uint64_t cnt;
    while (mcap_map_next_u16u64(&stats->channel_message_counts, &it, &ch, &cnt) == MCAP_OK) {
      if (f->per_channel[ch] != cnt) {
        rc = 1;
        goto out;
      }
    }
  }
  if (att_from_index) {
    rc = fast_attachments(f);
    if (rc) goto out;
  }
  if (b->ix->n_attachments)
    qsort(b->ix->attachments, b->ix->n_attachments, sizeof *b->ix->attachments, cmp_att_offset);
out:
  *decompressed += f->chunks_decompressed;
  pl_buf_dispose(&f->tmp);
  pl_buf_dispose(&f->blk);
  pl_buf_dispose(&f->chunk);
  mcap_decompressor_free(f->dec);
  free(f->ents);
  free(f->per_channel);
  free(f->sids);
  free(f->cids);
  free(f);
  return rc;
}

/* ======================================================== doctor + hash */

struct side {
  const char *path;
  int run_doctor;
  pl_feed *feed; /* chunks the index's streamed pass decompressed, for the doctor */
  int no_hash;
  char hash[33];
  int hash_rc;
  char hash_msg[256];
  pl_doctor_report *report;
  int doctor_rc;
  pl_error_info derr;
};

static void *side_main(void *arg) {
  struct side *s = arg;
  s->hash[0] = '\0';
  s->hash_rc = PL_OK;
  if (s->run_doctor) {
    mcap_source src;
    mcap_error_info me;
    memset(&me, 0, sizeof me);
    int rc = mcap_source_open_file(&src, s->path, &me);
    if (rc != MCAP_OK) {
      s->doctor_rc = s->hash_rc = PL_EIO;
      snprintf(s->hash_msg, sizeof s->hash_msg, "%s", me.msg);
      return NULL;
    }
    struct pl_hashing_state st;
    memset(&st, 0, sizeof st);
    mcap_source hs;
    if (!s->no_hash) {
      st.h = pl_hash_new();
      if (!st.h) {
        mcap_source_close(&src);
        s->doctor_rc = s->hash_rc = PL_ENOMEM;
        snprintf(s->hash_msg, sizeof s->hash_msg, "out of memory");
        return NULL;
      }
      if (pl_hashing_source(&hs, &src, &st) != PL_OK) {
        pl_hash_free(st.h);
        s->doctor_rc = s->hash_rc = PL_ENOMEM;
        snprintf(s->hash_msg, sizeof s->hash_msg, "out of memory");
        return NULL;
      }
    } else {
      hs = src;
    }
    pl_doctor_options dopts;
    memset(&dopts, 0, sizeof dopts);
    s->doctor_rc = pl_doctor_run_fed(&hs, &dopts, s->feed, &s->report, &s->derr);
    if (!s->no_hash) {
      if (st.rc != PL_OK) {
        s->hash_rc = st.rc;
        snprintf(s->hash_msg, sizeof s->hash_msg, "%s", st.msg);
      } else {
        pl_hash_hex(st.h, s->hash);
      }
      pl_hash_free(st.h);
    }
    return NULL;
  }
  if (!s->no_hash) {
    pl_error_info e;
    memset(&e, 0, sizeof e);
    s->hash_rc = pl_hash_file(s->path, s->hash, &e);
    if (s->hash_rc) snprintf(s->hash_msg, sizeof s->hash_msg, "%.200s", e.msg);
  }
  return NULL;
}

/* ============================================================ the index */

void pl_recording_index_free(pl_recording_index *ix) {
  if (!ix) return;
  free(ix->path);
  free(ix->library);
  free(ix->profile);
  free(ix->device_name);
  free(ix->device_id);
  free(ix->key);
  for (size_t i = 0; i < ix->n_topics; i++) {
    pl_topic *t = &ix->topics[i];
    free(t->topic);
    free(t->encoding);
    free(t->schema_name);
    free(t->schema_encoding);
    free(t->schema);
    free(t->version);
  }
  free(ix->topics);
  free(ix->coverage);
  for (size_t i = 0; i < ix->n_topic_coverage; i++) {
    free(ix->topic_coverage[i].topic);
    free(ix->topic_coverage[i].ranges);
  }
  free(ix->topic_coverage);
  for (size_t i = 0; i < ix->n_attachments; i++) {
    free(ix->attachments[i].name);
    free(ix->attachments[i].media_type);
  }
  free(ix->attachments);
  for (size_t i = 0; i < ix->n_metadata; i++) {
    free(ix->metadata[i].name);
    free_kv_list(ix->metadata[i].entries, ix->metadata[i].n_entries);
  }
  free(ix->metadata);
  free(ix->problems);
  free(ix);
}

/* Is there a footer pointing at a summary? (Cheap: the last 37 bytes.) */
static int has_summary(mcap_source *src) {
  uint64_t size = src->size;
  const uint8_t *p;
  uint64_t got = 0;
  struct pl_buf tmp = {0};
  if (size == MCAP_SIZE_UNKNOWN || size < 2 * MCAP_MAGIC_SIZE + MCAP_FOOTER_RECORD_SIZE + 9)
    return 0;
  uint64_t off = size - MCAP_MAGIC_SIZE - MCAP_FOOTER_RECORD_SIZE;
  int ok = 0;
  if (pl_source_pull(src, &tmp, off, MCAP_FOOTER_RECORD_SIZE + MCAP_MAGIC_SIZE, &p, &got, NULL) ==
          PL_OK &&
      got == MCAP_FOOTER_RECORD_SIZE + MCAP_MAGIC_SIZE &&
      memcmp(p + MCAP_FOOTER_RECORD_SIZE, MCAP_MAGIC, MCAP_MAGIC_SIZE) == 0 &&
      p[0] == MCAP_OP_FOOTER) {
    uint64_t start = 0;
    for (int i = 0; i < 8; i++) start |= (uint64_t)p[9 + i] << (8 * i);
    ok = start != 0;
  }
  pl_buf_dispose(&tmp);
  return ok;
}

int pl__index_add_doctor(pl_recording_index *ix, int doctor_rc, const pl_doctor_report *rep,
                         const pl_error_info *derr) {
  if (doctor_rc != PL_OK) {
    pl_finding *p = realloc(ix->problems, (ix->n_problems + 1) * sizeof *p);
    if (!p) return PL_ENOMEM;
    ix->problems = p;
    pl_finding *f = &p[ix->n_problems++];
    memset(f, 0, sizeof *f);
    f->severity = PL_SEV_WARNING;
    snprintf(f->code, sizeof f->code, "index-doctor-failed");
    f->offset = UINT64_MAX;
    snprintf(f->message, sizeof f->message, "the doctor could not check the file: %.200s",
             derr ? derr->msg : "");
    return PL_OK;
  }
  if (!rep || !rep->n_findings) return PL_OK;
  /* the doctor's findings first, then the indexer's own */
  size_t n = rep->n_findings + ix->n_problems;
  pl_finding *all = malloc(n * sizeof *all);
  if (!all) return PL_ENOMEM;
  memcpy(all, rep->findings, rep->n_findings * sizeof *all);
  if (ix->n_problems) memcpy(all + rep->n_findings, ix->problems, ix->n_problems * sizeof *all);
  free(ix->problems);
  ix->problems = all;
  ix->n_problems = n;
  return PL_OK;
}

int pl_index_file(const char *path, const pl_index_options *o, pl_recording_index **out,
                  pl_error_info *err) {
  if (!path || !out) return pl_error_set(err, PL_EINVAL, UINT64_MAX, "invalid argument");
  *out = NULL;
  pl_index_options defaults;
  memset(&defaults, 0, sizeof defaults);
  defaults.tolerance_s = -1;
  if (!o) o = &defaults;
  uint64_t tol;
  if (pl__tolerance_ns(o->tolerance_s, &tol) != PL_OK)
    return pl_error_set(err, PL_EINVAL, UINT64_MAX, "invalid coverage tolerance");
  struct stat sb;
  if (stat(path, &sb) != 0) return pl_error_set_errno(err, errno, "cannot open '%s'", path);
  if (S_ISDIR(sb.st_mode))
    return pl_error_set(err, PL_EINVAL, UINT64_MAX, "'%s' is a directory", path);
  /* the index reads the file twice at once (index + hash/doctor): a pipe cannot do that */
  if (!S_ISREG(sb.st_mode))
    return pl_error_set(err, PL_EINVAL, UINT64_MAX, "'%s' is not a regular file", path);

  pl_recording_index *ix = calloc(1, sizeof *ix);
  if (!ix) return pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
  ix->path = pl_strdup(path);
  ix->size = (uint64_t)sb.st_size;
  ix->tolerance_ns = tol;
  struct builder b;
  int rc = builder_init(&b, ix, tol);
  b.obs = o->observer;
  if (rc || !ix->path) {
    builder_dispose(&b);
    pl_recording_index_free(ix);
    return pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
  }

  /* the doctor and the content hash run beside the index */
  struct side side;
  memset(&side, 0, sizeof side);
  side.path = path;
  side.run_doctor = !o->no_doctor && !o->doctor_if_scanning;
  side.no_hash = o->no_hash;
  /* doctor_if_scanning: the doctor starts beside the streamed pass, once it is needed */
  struct side scan_doctor;
  memset(&scan_doctor, 0, sizeof scan_doctor);
  pthread_t scan_th;
  int scan_threaded = 0, scan_ran = 0;
  /* A doctor beside a streamed pass takes the chunks the pass decompressed instead of
   * decompressing them again (without a feed it just does). */
  pl_feed *feed = NULL;
  if (!o->no_doctor && pl_feed_new(&feed, INDEX_FEED_DEPTH) != PL_OK) feed = NULL;
  side.feed = feed;
  scan_doctor.feed = feed;
  pthread_t th;
  int threaded = pthread_create(&th, NULL, side_main, &side) == 0;
  if (!threaded) side_main(&side);

  mcap_source raw;
  mcap_error_info me;
  memset(&me, 0, sizeof me);
  memset(&raw, 0, sizeof raw);
  int done = 0;
  /* pread, not mmap: only the bytes asked for are touched (a mapping would fault in whole
   * neighbourhoods of the file around every message index and count them as resident) */
  rc = mcap_source_open_file(&raw, path, &me);
  if (rc != MCAP_OK) {
    rc = pl_error_set_mcap(err, rc, UINT64_MAX, "%s", me.msg);
    goto out;
  }
  if (has_summary(&raw)) {
    mcap_source rsrc;
    mcap_reader *r = NULL;
    memset(&me, 0, sizeof me);
    rc = mcap_source_open_mmap(&rsrc, path, &me);
    if (rc != MCAP_OK) {
      rc = pl_error_set_mcap(err, rc, UINT64_MAX, "%s", me.msg);
      goto out;
    }
    mcap_indexed_options io;
    memset(&io, 0, sizeof io);
    io.threads = o->threads > 0 ? o->threads : 1;
    rc = mcap_reader_open(&r, &rsrc, &io, &me);
    if (rc == MCAP_ENOMEM) {
      rc = pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
      goto out;
    }
    if (rc == MCAP_OK) {
      const char *why = "";
      if (mcap_reader_index_source(r, &why) == MCAP_INDEX_FROM_SUMMARY) {
        /* No streamed pass is coming (a fallback one runs unfed): the doctor must not
         * wait for chunks, it decompresses them itself. */
        if (feed) pl_feed_finish(feed);
        rc = fast_index(&b, r, &raw, &ix->chunks_decompressed, err);
        if (rc < 0) {
          mcap_reader_free(r);
          goto out;
        }
        if (rc == 0) {
          done = 1;
        } else {
          rc = builder_restart(&b);
          if (rc) {
            mcap_reader_free(r);
            rc = pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
            goto out;
          }
          own_problem(&b, PL_SEV_INFO, "index-summary-unused", UINT64_MAX,
                      "the summary and message indexes do not account for every message and "
                      "definition: indexed with a streamed pass");
        }
      } else {
        char msg[300];
        snprintf(msg, sizeof msg, "summary not usable (%s): indexed with a streamed pass", why);
        own_problem(&b, PL_SEV_INFO, "index-summary-unused", UINT64_MAX, msg);
      }
    }
    mcap_reader_free(r);
    rc = PL_OK;
  }
  if (!done) {
    /* one streamed pass; pread with a bounded window, so memory does not grow with the file */
    mcap_source fsrc;
    if (!o->no_doctor && o->doctor_if_scanning) {
      scan_doctor.path = path;
      scan_doctor.run_doctor = 1;
      scan_doctor.no_hash = 1;
      scan_ran = 1;
      scan_threaded = pthread_create(&scan_th, NULL, side_main, &scan_doctor) == 0;
      if (!scan_threaded) side_main(&scan_doctor);
    }
    memset(&me, 0, sizeof me);
    rc = mcap_source_open_file(&fsrc, path, &me);
    if (rc != MCAP_OK) {
      rc = pl_error_set_mcap(err, rc, UINT64_MAX, "%s", me.msg);
      goto out;
    }
    pl__walk_cb cb;
    builder_callbacks(&b, &cb);
    cb.summary_defs = 1; /* topics defined in the summary only are listed too */
    cb.feed = feed;
    pl__walk_stats st;
    rc = pl__walk_file(&fsrc, 0, &cb, &st, err);
    if (feed) pl_feed_finish(feed);
    mcap_source_close(&fsrc);
    ix->chunks_decompressed += st.chunks_decompressed;
    if (st.partial) ix->partial = 1;
    if (rc) goto out;
  }
  rc = builder_finish(&b);
  if (rc) rc = pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
out:
  mcap_source_close(&raw);
  if (feed) pl_feed_finish(feed); /* whatever happened, the doctor must not wait */
  if (threaded) pthread_join(th, NULL);
  if (scan_threaded) pthread_join(scan_th, NULL);
  pl_feed_free(feed);
  if (rc == PL_OK && !o->no_hash) {
    if (side.hash_rc != PL_OK)
      rc = pl_error_set(err, side.hash_rc, UINT64_MAX, "hashing '%s': %s", path, side.hash_msg);
    else
      memcpy(ix->content_hash, side.hash, sizeof ix->content_hash);
  }
  if (rc == PL_OK && side.run_doctor &&
      pl__index_add_doctor(ix, side.doctor_rc, side.report, &side.derr) != PL_OK)
    rc = pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
  if (rc == PL_OK && scan_ran &&
      pl__index_add_doctor(ix, scan_doctor.doctor_rc, scan_doctor.report, &scan_doctor.derr) !=
          PL_OK)
    rc = pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
  pl_doctor_report_free(side.report);
  pl_doctor_report_free(scan_doctor.report);
  builder_dispose(&b);
  if (rc) {
    pl_recording_index_free(ix);
    return rc;
  }
  *out = ix;
  return PL_OK;
}

/* ===================================================== finding recordings */

struct pathlist {
  char **p;
  size_t n, cap;
};

static int push_path(struct pathlist *l, const char *path) {
  if (pl_grow((void **)&l->p, &l->cap, l->n + 1, sizeof *l->p)) return PL_ENOMEM;
  l->p[l->n] = pl_strdup(path);
  if (!l->p[l->n]) return PL_ENOMEM;
  l->n++;
  return PL_OK;
}

static int ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), k = strlen(suffix);
  return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* The file ends with the MCAP magic (a file still being written does not). */
static int has_trailing_magic(const char *path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  struct stat st;
  uint8_t tail[MCAP_MAGIC_SIZE];
  int ok = fstat(fd, &st) == 0 && st.st_size >= 2 * MCAP_MAGIC_SIZE &&
           pread(fd, tail, sizeof tail, st.st_size - (off_t)sizeof tail) == (ssize_t)sizeof tail &&
           memcmp(tail, MCAP_MAGIC, MCAP_MAGIC_SIZE) == 0;
  close(fd);
  return ok;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static int collect_dir(struct pathlist *l, const char *dir, int depth, pl_error_info *err) {
  if (depth > 64)
    return pl_error_set(err, PL_EIO, UINT64_MAX, "'%s': directories nested too deep", dir);
  DIR *d = opendir(dir);
  if (!d) return pl_error_set_errno(err, errno, "cannot read directory '%s'", dir);
  struct pathlist here = {0};
  int rc = PL_OK;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    size_t n = strlen(dir) + strlen(e->d_name) + 2;
    char *p = malloc(n);
    if (!p) {
      rc = pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
      break;
    }
    snprintf(p, n, "%s%s%s", dir, ends_with(dir, "/") ? "" : "/", e->d_name);
    struct stat st;
    if (lstat(p, &st) == 0 && (S_ISDIR(st.st_mode) || S_ISREG(st.st_mode))) {
      /* directories are visited after the sort, so the order does not depend on readdir */
      if (S_ISDIR(st.st_mode) ||
          (ends_with(e->d_name, ".mcap") && !ends_with(e->d_name, ".active")))
        rc = push_path(&here, p);
    }
    free(p);
    if (rc) {
      rc = pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
      break;
    }
  }
  closedir(d);
  if (here.n) qsort(here.p, here.n, sizeof *here.p, cmp_str);
  for (size_t i = 0; i < here.n && rc == PL_OK; i++) {
    struct stat st;
    if (lstat(here.p[i], &st) != 0) continue;
    if (S_ISDIR(st.st_mode))
      rc = collect_dir(l, here.p[i], depth + 1, err);
    else if (has_trailing_magic(here.p[i]) && push_path(l, here.p[i]))
      rc = pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
  }
  pl_paths_free(here.p, here.n);
  return rc;
}

int pl_collect_recordings(const char *const *args, size_t n_args, char ***paths, size_t *n_paths,
                          pl_error_info *err) {
  if (!paths || !n_paths || (n_args && !args))
    return pl_error_set(err, PL_EINVAL, UINT64_MAX, "invalid argument");
  *paths = NULL;
  *n_paths = 0;
  struct pathlist l = {0};
  int rc = PL_OK;
  for (size_t i = 0; i < n_args && rc == PL_OK; i++) {
    struct stat st;
    if (stat(args[i], &st) != 0) {
      rc = pl_error_set_errno(err, errno, "cannot open '%s'", args[i]);
      break;
    }
    if (S_ISDIR(st.st_mode))
      rc = collect_dir(&l, args[i], 0, err);
    else if (push_path(&l, args[i]))
      rc = pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
  }
  if (rc) {
    pl_paths_free(l.p, l.n);
    return rc;
  }
  *paths = l.p;
  *n_paths = l.n;
  return PL_OK;
}

void pl_paths_free(char **paths, size_t n) {
  if (!paths) return;
  for (size_t i = 0; i < n; i++) free(paths[i]);
  free(paths);
}

/* ===================================================== many files at once */

struct index_jobs {
  const char *const *paths;
  size_t n;
  const pl_index_options *o;
  pl_recording_index **ix;
  int *rc;
  pl_error_info *err;
  size_t next;
  pthread_mutex_t mu;
};

static void *index_jobs_main(void *arg) {
  struct index_jobs *js = arg;
  for (;;) {
    pthread_mutex_lock(&js->mu);
    size_t i = js->next++;
    pthread_mutex_unlock(&js->mu);
    if (i >= js->n) break;
    js->ix[i] = NULL;
    js->rc[i] = pl_index_file(js->paths[i], js->o, &js->ix[i], &js->err[i]);
  }
  return NULL;
}

void pl_index_files(const char *const *paths, size_t n, const pl_index_options *o, int jobs,
                    pl_recording_index **ix, int *rc, pl_error_info *err) {
  if (!n) return;
  if (jobs <= 0) {
    long c = sysconf(_SC_NPROCESSORS_ONLN);
    jobs = c > 0 ? (int)(c > 64 ? 64 : c) : 1;
  }
  if ((size_t)jobs > n) jobs = (int)n;
  struct index_jobs js;
  memset(&js, 0, sizeof js);
  js.paths = paths;
  js.n = n;
  js.o = o;
  js.ix = ix;
  js.rc = rc;
  js.err = err;
  pthread_mutex_init(&js.mu, NULL);
  pthread_t *th = jobs > 1 ? calloc((size_t)jobs - 1, sizeof *th) : NULL;
  int started = 0;
  for (int i = 0; th && i < jobs - 1; i++)
    if (pthread_create(&th[i], NULL, index_jobs_main, &js) == 0) started++;
  index_jobs_main(&js); /* the caller is one of the workers */
  for (int i = 0; i < started; i++) pthread_join(th[i], NULL);
  free(th);
  pthread_mutex_destroy(&js.mu);
}
