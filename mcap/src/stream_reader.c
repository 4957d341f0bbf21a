/*
 * stream_reader.c - the streamed reader: every record in file order from any
 * source (file, memory, pipe), chunks opened in place, all CRCs and magics
 * checked as it goes.
 *
 * Invariants:
 * - `pos` is the file offset of the next record's opcode; every byte before it
 *   has been consumed exactly once (so a pipe source works).
 * - While `in_chunk`, records come from `chunk.data[chunk_pos .. chunk_len)`;
 *   memory is one compressed record window (in the source) plus one
 *   decompressed chunk buffer, reused from chunk to chunk.
 * - After an error the reader is dead: every later call returns that error.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "crc32.h"
#include "internal.h"

enum state { ST_START, ST_DATA, ST_SUMMARY, ST_DONE, ST_DEAD };

struct mcap_stream_reader {
  mcap_source src;
  mcap_reader_options o;
  enum state state;
  int started; /* the Header was read */
  uint64_t pos;
  uint32_t data_crc;     /* running CRC of [0, pos) while in the data section */
  struct mcap__crch *crc; /* helper thread for the CRCs of big records and chunks, or NULL */
  int crc_failed;         /* the helper thread could not be started */
  uint32_t summary_crc;  /* running CRC since the end of DataEnd */
  int saw_data_end;
  /* the open chunk */
  int in_chunk;
  uint64_t chunk_offset;
  uint64_t chunk_pos;
  uint64_t chunk_len;
  const uint8_t *chunk_data; /* the open chunk's records: r->chunk, or in place if stored */
  struct mcap_buf chunk;
  /* The next chunk, decoded ahead while the helper checks the open one's CRC (see
   * open_chunk): its records, its file offset (UINT64_MAX: none) and declared CRC. */
  struct mcap_buf ahead;
  uint64_t ahead_offset;
  uint64_t ahead_len;
  uint32_t ahead_crc;
  /* The data-section CRC of the ahead chunk's whole record (ahead_rec_len bytes), computed
   * on its own by the helper (ahead_seg: still in its segment channel), combined into
   * data_crc when the reader gets to that record. */
  uint32_t ahead_rec_crc;
  uint64_t ahead_rec_len;
  int ahead_seg;
  int ahead_rec_ok;
  mcap_decompressor *dec;
  struct mcap_buf pieces; /* assembly buffer for sources that hand out pieces */
  mcap_error_info err;
};

/*
 * CRCs run on a helper thread (crc_helper.c) while this one decompresses, so the
 * checks cost little wall time on a machine with a spare core: the data-section
 * CRC of big records (chunks, attachments) as segments, and each chunk's CRC while
 * the chunk decodes. Invariant: at most one segment is pending, and the reader
 * waits for it (crc_sync) before any source read -- a read may move the source's
 * window and invalidate the segment's bytes -- and before using data_crc.
 * Segments are CRC'd in file order, so the result is exactly the sequential CRC.
 * Where the thread cannot be started everything is computed here.
 */
#define CRC_OFFLOAD_MIN (64u << 10)

/* The helper, started for the first big record (small files never start it). */
static struct mcap__crch *helper(mcap_stream_reader *r) {
  if (!r->crc && !r->crc_failed) {
    if (mcap__crch_new(&r->crc) != MCAP_OK) r->crc_failed = 1;
    else mcap__crch_seg_set(r->crc, r->data_crc); /* it continues the running CRC */
  }
  return r->crc;
}

/* Wait for the pending segment and bring its CRC back into r->data_crc (or, for the
 * record of a chunk decoded ahead, into r->ahead_rec_crc). */
static void crc_sync(mcap_stream_reader *r) {
  if (!r->crc) return;
  if (r->ahead_seg) {
    r->ahead_rec_crc = mcap__crch_seg_sync(r->crc);
    r->ahead_seg = 0;
    r->ahead_rec_ok = 1;
    mcap__crch_seg_set(r->crc, r->data_crc); /* the running CRC goes on from data_crc */
    return;
  }
  r->data_crc = mcap__crch_seg_sync(r->crc);
}

/* Continue the data CRC over p[0..len): on the helper thread when it is big, else here. */
static void crc_feed(mcap_stream_reader *r, const uint8_t *p, size_t len) {
  struct mcap__crch *h = len >= CRC_OFFLOAD_MIN ? helper(r) : r->crc;
  crc_sync(r);
  if (!h || len < CRC_OFFLOAD_MIN) {
    r->data_crc = mcap_crc32(r->data_crc, p, len);
    if (h) mcap__crch_seg_set(h, r->data_crc); /* helper idle: keep its running value */
    return;
  }
  mcap__crch_seg_push(h, p, len);
}

static void crc_stop(mcap_stream_reader *r) {
  mcap__crch_free(r->crc);
  r->crc = NULL;
}

void mcap_reader_options_init(mcap_reader_options *opts) {
  if (opts) memset(opts, 0, sizeof *opts);
}

int mcap_stream_reader_new(mcap_stream_reader **out, mcap_source *src,
                           const mcap_reader_options *opts) {
  mcap_stream_reader *r;
  if (!out || !src || !src->read) {
    if (src) mcap_source_close(src);
    return MCAP_EINVAL;
  }
  *out = NULL;
  r = mcap__calloc(1, sizeof *r);
  if (!r) {
    mcap_source_close(src);
    return MCAP_ENOMEM;
  }
  r->src = *src;
  memset(src, 0, sizeof *src);
  /* Reading strictly forward: a file source may map the next window ahead (best effort). */
  (void)mcap__source_readahead(&r->src);
  if (opts) r->o = *opts;
  if (!r->o.max_record_size) r->o.max_record_size = MCAP_DEFAULT_MAX_RECORD_SIZE;
  if (!r->o.max_chunk_uncompressed_size) {
    r->o.max_chunk_uncompressed_size = MCAP_DEFAULT_MAX_RECORD_SIZE;
  }
  r->state = ST_START;
  r->err.offset = UINT64_MAX;
  r->ahead_offset = UINT64_MAX;
  *out = r;
  return MCAP_OK;
}

void mcap_stream_reader_free(mcap_stream_reader *r) {
  if (!r) return;
  crc_stop(r);
  mcap_source_close(&r->src);
  mcap__buf_dispose(&r->chunk);
  mcap__buf_dispose(&r->ahead);
  mcap__buf_dispose(&r->pieces);
  mcap_decompressor_free(r->dec);
  mcap__free(r);
}

const char *mcap_stream_reader_errmsg(const mcap_stream_reader *r) { return r ? r->err.msg : ""; }

void mcap_stream_reader_damage(const mcap_stream_reader *r, mcap_damage *out) {
  if (!out) return;
  memset(out, 0, sizeof *out);
  out->first_offset = UINT64_MAX;
  if (!r || r->state != ST_DEAD) return;
  uint64_t at = r->err.offset != UINT64_MAX ? r->err.offset : r->pos;
  out->problems = 1;
  out->code = r->err.code;
  out->first_offset = at;
  out->rest_unread = 1;
  out->stop_offset = at;
  if (r->src.size != MCAP_SIZE_UNKNOWN && r->src.size > at) out->bytes_skipped = r->src.size - at;
  out->unreadable = r->started == 0;
  snprintf(out->msg, sizeof out->msg, "%s", r->err.msg);
}

uint64_t mcap_stream_reader_error_offset(const mcap_stream_reader *r) {
  return r ? r->err.offset : UINT64_MAX;
}

uint64_t mcap_stream_reader_position(const mcap_stream_reader *r) { return r ? r->pos : 0; }

/* Enter the dead state with `code` (err already filled by the callee when it set it). */
static int die(mcap_stream_reader *r, int code) {
  r->state = ST_DEAD;
  r->err.code = code;
  if (!r->err.msg[0]) {
    snprintf(r->err.msg, sizeof r->err.msg, "%s at offset %llu", mcap_strerror(code),
             (unsigned long long)r->pos);
  }
  return code;
}

static int fail(mcap_stream_reader *r, int code, uint64_t offset, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(mcap_stream_reader *r, int code, uint64_t offset, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  mcap__verr(&r->err, code, offset, fmt, ap);
  va_end(ap);
  return die(r, code);
}

/* Read exactly n bytes at off, or fail with ETRUNCATED describing `what`. */
static int read_exact(mcap_stream_reader *r, uint64_t off, uint64_t n, const uint8_t **p,
                      const char *what) {
  uint64_t got = 0;
  int rc;
  crc_sync(r); /* the pending CRC segment must be done before the source moves */
  rc = mcap__source_pull(&r->src, &r->pieces, off, n, p, &got, &r->err);
  if (rc) return die(r, rc);
  if (got < n) {
    return fail(r, MCAP_ETRUNCATED, off,
                "truncated: %s at offset %llu needs %llu bytes, input ends after %llu", what,
                (unsigned long long)off, (unsigned long long)n, (unsigned long long)got);
  }
  return MCAP_OK;
}

/* Yield the next record of the open chunk; MCAP_ITEROVER when it is exhausted. */
static int next_in_chunk(mcap_stream_reader *r, mcap_record *rec) {
  uint64_t left = r->chunk_len - r->chunk_pos;
  const uint8_t *p;
  uint64_t len;
  uint8_t opcode;
  int rc;
  if (left == 0) {
    r->in_chunk = 0;
    return MCAP_ITEROVER;
  }
  /* Only now: an empty chunk may have no buffer at all (NULL + 0 is undefined in C). */
  p = r->chunk_data + r->chunk_pos;
  if (left < MCAP_RECORD_HEADER_SIZE) {
    return fail(r, MCAP_ERECORD, r->chunk_offset,
                "Chunk record at offset %llu: %llu stray bytes at the end of its records",
                (unsigned long long)r->chunk_offset, (unsigned long long)left);
  }
  opcode = p[0];
  len = mcap__le64dec(p + 1);
  if (len > left - MCAP_RECORD_HEADER_SIZE) {
    return fail(r, MCAP_ERECORD, r->chunk_offset,
                "Chunk record at offset %llu: %s record at chunk byte %llu declares %llu bytes, "
                "only %llu left in the chunk",
                (unsigned long long)r->chunk_offset, mcap_opcode_name(opcode),
                (unsigned long long)r->chunk_pos, (unsigned long long)len,
                (unsigned long long)(left - MCAP_RECORD_HEADER_SIZE));
  }
  memset(rec, 0, sizeof *rec);
  rc = mcap_record_parse(opcode, p + MCAP_RECORD_HEADER_SIZE, len, r->chunk_offset, rec, &r->err);
  if (rc) {
    /* Say where inside the chunk the bad record was. */
    char inner[200];
    size_t n = strlen(r->err.msg);
    if (n >= sizeof inner) n = sizeof inner - 1;
    memcpy(inner, r->err.msg, n);
    inner[n] = '\0';
    return fail(r, rc, r->chunk_offset, "in chunk at offset %llu, chunk byte %llu: %s",
                (unsigned long long)r->chunk_offset, (unsigned long long)r->chunk_pos, inner);
  }
  rec->offset = r->chunk_pos;
  rec->in_chunk = 1;
  rec->chunk_offset = r->chunk_offset;
  r->chunk_pos += MCAP_RECORD_HEADER_SIZE + len;
  return MCAP_OK;
}

/*
 * Decode ahead: called while the helper checks the CRC of the chunk just decoded (which
 * ends at `from`), decode the next Chunk record into r->ahead, so that the CRC costs this
 * thread nothing. Only records that the reader will meet anyway are looked at (message
 * indexes and the like between the two chunks, at most AHEAD_SKIP bytes of them); anything
 * unexpected or damaged is left alone, for the reader to report when it gets there.
 */
#define AHEAD_SKIP ((uint64_t)1 << 20)

static void decode_ahead(mcap_stream_reader *r, uint64_t from) {
  uint64_t pos = from, got, len;
  const uint8_t *p;
  mcap_record rec;
  mcap_error_info e;
  r->ahead_offset = UINT64_MAX;
  r->ahead_rec_ok = 0;
  for (;;) {
    if (pos - from > AHEAD_SKIP || r->src.size - pos < MCAP_RECORD_HEADER_SIZE) return;
    crc_sync(r); /* the pending CRC segment must be done before the source moves */
    if (mcap__source_pull(&r->src, &r->pieces, pos, MCAP_RECORD_HEADER_SIZE, &p, &got, &e) ||
        got < MCAP_RECORD_HEADER_SIZE) {
      return;
    }
    len = mcap__le64dec(p + 1);
    if (len > r->o.max_record_size || len > r->src.size - pos - MCAP_RECORD_HEADER_SIZE) return;
    if (p[0] == MCAP_OP_CHUNK) break;
    if (p[0] == MCAP_OP_DATA_END || p[0] == MCAP_OP_FOOTER || p[0] == MCAP_OP_HEADER) return;
    pos += MCAP_RECORD_HEADER_SIZE + len;
  }
  if (mcap__source_pull(&r->src, &r->pieces, pos, MCAP_RECORD_HEADER_SIZE + len, &p, &got, &e) ||
      got < MCAP_RECORD_HEADER_SIZE + len) {
    return;
  }
  memset(&rec, 0, sizeof rec);
  if (mcap_record_parse(MCAP_OP_CHUNK, p + MCAP_RECORD_HEADER_SIZE, len, pos, &rec, &e)) return;
  const mcap_chunk *ck = &rec.u.chunk;
  if (mcap_chunk_size_check(ck, pos, r->o.max_chunk_uncompressed_size, NULL) ||
      mcap__chunk_stored(ck) || ck->uncompressed_crc == 0 ||
      mcap__buf_ensure(&r->ahead, (size_t)ck->uncompressed_size)) {
    return;
  }
  /* The record's data-section CRC, on the helper while this thread decodes it (nothing
   * reads the source until the next crc_sync, which collects it). */
  if (!r->o.no_data_crc) {
    mcap__crch_seg_set(r->crc, 0);
    mcap__crch_seg_push(r->crc, p, (size_t)(MCAP_RECORD_HEADER_SIZE + len));
    r->ahead_seg = 1;
    r->ahead_rec_len = MCAP_RECORD_HEADER_SIZE + len;
  }
  if (mcap__chunk_decompress_crch(r->dec, ck, r->ahead.data, ck->uncompressed_size, 1, NULL, &e)) {
    return;
  }
  r->ahead.len = (size_t)ck->uncompressed_size;
  r->ahead_len = ck->uncompressed_size;
  r->ahead_crc = ck->uncompressed_crc;
  r->ahead_offset = pos;
}

static int open_chunk(mcap_stream_reader *r, const mcap_chunk *ck, uint64_t offset,
                      uint64_t record_end) {
  struct mcap__crch *h;
  int rc;
  /* Refused before anything is allocated for the declared size. */
  rc = mcap_chunk_size_check(ck, offset, r->o.max_chunk_uncompressed_size, &r->err);
  if (rc) return die(r, rc);
  if (!r->dec) {
    rc = mcap_decompressor_new(&r->dec);
    if (rc) return fail(r, rc, offset, "out of memory creating a decompressor");
  }
  h = ck->uncompressed_size >= CRC_OFFLOAD_MIN ? helper(r) : NULL;
  if (mcap__chunk_stored(ck)) {
    /* Yielded where the records lie (nothing reads the source until the chunk is done),
     * after the same CRC check a copy would have had. */
    rc = mcap__chunk_crc_check_crch(ck, ck->records.data, r->o.no_chunk_crc, h, &r->err);
    r->chunk_data = ck->records.data;
  } else if (h && !r->o.no_chunk_crc && ck->uncompressed_crc != 0 &&
             r->src.size != MCAP_SIZE_UNKNOWN) {
    /* Decode this chunk (or take it decoded ahead), hand its CRC to the helper, decode
     * the next chunk meanwhile, and yield this one's records once its CRC matched. */
    uint32_t crc;
    if (r->ahead_offset == offset && r->ahead_len == ck->uncompressed_size &&
        r->ahead_crc == ck->uncompressed_crc) {
      struct mcap_buf t = r->chunk;
      r->chunk = r->ahead;
      r->ahead = t;
      rc = MCAP_OK;
    } else {
      rc = mcap__buf_ensure(&r->chunk, (size_t)ck->uncompressed_size);
      if (rc) {
        return fail(r, rc, offset, "Chunk record at offset %llu: cannot allocate %llu bytes",
                    (unsigned long long)offset, (unsigned long long)ck->uncompressed_size);
      }
      rc = mcap__chunk_decompress_crch(r->dec, ck, r->chunk.data, ck->uncompressed_size, 1, NULL,
                                       &r->err);
    }
    r->ahead_offset = UINT64_MAX;
    r->chunk.len = (size_t)ck->uncompressed_size;
    r->chunk_data = r->chunk.data;
    if (!rc) {
      /* The data-section CRC of this record is done by now (the helper had the decoding
       * time); waiting for it in decode_ahead would wait for the whole fill too. */
      crc_sync(r);
      mcap__crch_fill_whole(h, r->chunk.data, r->chunk.len);
      decode_ahead(r, record_end);
      crc = mcap__crch_fill_end(h, r->chunk.len, r->chunk.len, 0);
      rc = mcap__chunk_crc_result(ck->uncompressed_crc, crc, &r->err);
    }
  } else {
    rc = mcap__buf_ensure(&r->chunk, (size_t)ck->uncompressed_size);
    if (rc) {
      return fail(r, rc, offset, "Chunk record at offset %llu: cannot allocate %llu bytes",
                  (unsigned long long)offset, (unsigned long long)ck->uncompressed_size);
    }
    rc = mcap__chunk_decompress_crch(r->dec, ck, r->chunk.data, ck->uncompressed_size,
                                     r->o.no_chunk_crc, h, &r->err);
    r->chunk.len = (size_t)ck->uncompressed_size;
    r->chunk_data = r->chunk.data;
  }
  if (rc) {
    char inner[200];
    size_t n = strlen(r->err.msg);
    if (n >= sizeof inner) n = sizeof inner - 1;
    memcpy(inner, r->err.msg, n);
    inner[n] = '\0';
    return fail(r, rc, offset, "Chunk record at offset %llu: %s", (unsigned long long)offset,
                inner);
  }
  r->in_chunk = 1;
  r->chunk_offset = offset;
  r->chunk_pos = 0;
  r->chunk_len = ck->uncompressed_size;
  return MCAP_OK;
}

static int check_attachment_crc(mcap_stream_reader *r, const mcap_record *rec) {
  const mcap_attachment *a = &rec->u.attachment;
  uint64_t covered;
  uint32_t crc;
  if (r->o.no_attachment_crc || a->crc == 0) return MCAP_OK;
  /* The CRC covers the content from log_time through the last data byte. */
  covered = 8 + 8 + 4 + (uint64_t)a->name.len + 4 + (uint64_t)a->media_type.len + 8 + a->data.len;
  crc = mcap_crc32(0, rec->content.data, (size_t)covered);
  if (crc != a->crc) {
    return fail(r, MCAP_ECRC, rec->offset,
                "Attachment record at offset %llu ('%.*s'): CRC mismatch: stored 0x%08x, "
                "computed 0x%08x",
                (unsigned long long)rec->offset, (int)(a->name.len > 64 ? 64 : a->name.len),
                a->name.data ? a->name.data : "", a->crc, crc);
  }
  return MCAP_OK;
}

int mcap_stream_reader_next(mcap_stream_reader *r, mcap_record *rec) {
  const uint8_t *p;
  uint8_t env[MCAP_RECORD_HEADER_SIZE];
  uint64_t len, got, off;
  uint8_t opcode;
  int rc;
  if (!r || !rec) return MCAP_EINVAL;
  if (r->state == ST_DEAD) return r->err.code;

  for (;;) {
    if (r->in_chunk) {
      rc = next_in_chunk(r, rec);
      if (rc != MCAP_ITEROVER) return rc;
    }
    if (r->state == ST_DONE) return MCAP_ITEROVER;

    if (r->state == ST_START) {
      rc = read_exact(r, 0, MCAP_MAGIC_SIZE, &p, "leading magic");
      if (rc) return rc;
      if (!r->o.no_magic_check && memcmp(p, MCAP_MAGIC, MCAP_MAGIC_SIZE) != 0) {
        return fail(r, MCAP_EMAGIC, 0, "not an MCAP file: bad magic at offset 0");
      }
      if (!r->o.no_data_crc) r->data_crc = mcap_crc32(0, p, MCAP_MAGIC_SIZE);
      r->pos = MCAP_MAGIC_SIZE;
    }

    /* Record envelope. */
    off = r->pos;
    crc_sync(r);
    rc = mcap__source_pull(&r->src, &r->pieces, off, MCAP_RECORD_HEADER_SIZE, &p, &got, &r->err);
    if (rc) return die(r, rc);
    if (got == 0) {
      if (r->o.allow_no_footer && r->state != ST_START) {
        r->state = ST_DONE;
        return MCAP_ITEROVER;
      }
      return fail(r, MCAP_ETRUNCATED, off,
                  "truncated: input ends at offset %llu before the %s", (unsigned long long)off,
                  r->state == ST_START ? "Header" : "Footer");
    }
    if (got < MCAP_RECORD_HEADER_SIZE) {
      return fail(r, MCAP_ETRUNCATED, off,
                  "truncated: record header at offset %llu needs 9 bytes, input ends after %llu",
                  (unsigned long long)off, (unsigned long long)got);
    }
    memcpy(env, p, sizeof env);
    opcode = env[0];
    len = mcap__le64dec(env + 1);
    if (r->state == ST_START && opcode != MCAP_OP_HEADER) {
      return fail(r, MCAP_EOPCODE, off, "expected a Header record at offset %llu, found %s (0x%02x)",
                  (unsigned long long)off, mcap_opcode_name(opcode), opcode);
    }
    if (opcode == MCAP_OP_FOOTER && len != 20) {
      return fail(r, MCAP_ERECORD, off, "Footer record at offset %llu has length %llu, not 20",
                  (unsigned long long)off, (unsigned long long)len);
    }
    if (len > r->o.max_record_size) {
      return fail(r, MCAP_ELIMIT, off,
                  "%s record at offset %llu: content length %llu exceeds the limit %llu",
                  mcap_opcode_name(opcode), (unsigned long long)off, (unsigned long long)len,
                  (unsigned long long)r->o.max_record_size);
    }
    if (r->src.size != MCAP_SIZE_UNKNOWN &&
        (r->src.size - off < MCAP_RECORD_HEADER_SIZE ||
         len > r->src.size - off - MCAP_RECORD_HEADER_SIZE)) {
      return fail(r, MCAP_ETRUNCATED, off,
                  "truncated: %s record at offset %llu declares %llu content bytes, but the file "
                  "has only %llu after its header",
                  mcap_opcode_name(opcode), (unsigned long long)off, (unsigned long long)len,
                  (unsigned long long)(r->src.size - off - MCAP_RECORD_HEADER_SIZE));
    }
    if (len > SIZE_MAX - MCAP_RECORD_HEADER_SIZE - MCAP_MAGIC_SIZE) {
      return fail(r, MCAP_ELIMIT, off, "record at offset %llu too large",
                  (unsigned long long)off);
    }
    /* Content (the Footer brings the trailing magic with it). */
    {
      uint64_t want = MCAP_RECORD_HEADER_SIZE + len;
      if (opcode == MCAP_OP_FOOTER) want += MCAP_MAGIC_SIZE;
      crc_sync(r);
      rc = mcap__source_pull(&r->src, &r->pieces, off, want, &p, &got, &r->err);
      if (rc) return die(r, rc);
      if (got < MCAP_RECORD_HEADER_SIZE + len) {
        return fail(r, MCAP_ETRUNCATED, off,
                    "truncated: %s record at offset %llu needs %llu bytes, input ends after %llu",
                    mcap_opcode_name(opcode), (unsigned long long)off,
                    (unsigned long long)(MCAP_RECORD_HEADER_SIZE + len), (unsigned long long)got);
      }
      if (opcode == MCAP_OP_FOOTER && got < want) {
        return fail(r, MCAP_ETRUNCATED, off + MCAP_FOOTER_RECORD_SIZE,
                    "truncated: trailing magic at offset %llu missing",
                    (unsigned long long)(off + MCAP_FOOTER_RECORD_SIZE));
      }
    }
    memset(rec, 0, sizeof *rec);
    rc = mcap_record_parse(opcode, p + MCAP_RECORD_HEADER_SIZE, len, off, rec, &r->err);
    if (rc) return die(r, rc);
    rec->offset = off;

    /* CRC bookkeeping: data section up to DataEnd, then the summary through the footer. */
    if (r->state != ST_SUMMARY && opcode != MCAP_OP_DATA_END && opcode != MCAP_OP_FOOTER) {
      if (r->o.no_data_crc) {
        /* nothing */
      } else if (opcode == MCAP_OP_CHUNK && off == r->ahead_offset && r->ahead_rec_ok &&
                 r->ahead_rec_len == 9 + len) {
        /* Decoded ahead: the helper has this record's CRC already (crc_sync collected it
         * before the read above). */
        r->data_crc = mcap__crc32_combine(r->data_crc, r->ahead_rec_crc, 9 + len);
        if (r->crc) mcap__crch_seg_set(r->crc, r->data_crc);
        r->ahead_rec_ok = 0;
      } else {
        crc_feed(r, p, (size_t)(9 + len));
      }
    } else if (r->state == ST_SUMMARY && opcode != MCAP_OP_FOOTER) {
      if (!r->o.no_summary_crc) r->summary_crc = mcap_crc32(r->summary_crc, p, (size_t)(9 + len));
    }
    r->pos = off + MCAP_RECORD_HEADER_SIZE + len;

    switch (opcode) {
      case MCAP_OP_HEADER:
        if (r->state != ST_START) {
          return fail(r, MCAP_EOPCODE, off, "second Header record at offset %llu",
                      (unsigned long long)off);
        }
        r->state = ST_DATA;
        r->started = 1;
        return MCAP_OK;
      case MCAP_OP_DATA_END: {
        uint32_t want_crc = rec->u.data_end.data_section_crc;
        if (r->state == ST_SUMMARY) {
          return fail(r, MCAP_EOPCODE, off, "second DataEnd record at offset %llu",
                      (unsigned long long)off);
        }
        crc_sync(r);
        if (!r->o.no_data_crc && want_crc != 0 && want_crc != r->data_crc) {
          return fail(r, MCAP_ECRC, off,
                      "DataEnd record at offset %llu: data section CRC mismatch: stored 0x%08x, "
                      "computed 0x%08x",
                      (unsigned long long)off, want_crc, r->data_crc);
        }
        r->state = ST_SUMMARY;
        r->saw_data_end = 1;
        r->summary_crc = 0;
        return MCAP_OK;
      }
      case MCAP_OP_FOOTER: {
        uint32_t want_crc = rec->u.footer.summary_crc;
        if (!r->o.no_summary_crc && want_crc != 0) {
          /* Only meaningful when the summary section followed a DataEnd we saw. */
          uint32_t crc = mcap_crc32(r->summary_crc, p, 9 + 16);
          if (r->saw_data_end && crc != want_crc) {
            return fail(r, MCAP_ECRC, off,
                        "Footer record at offset %llu: summary CRC mismatch: stored 0x%08x, "
                        "computed 0x%08x",
                        (unsigned long long)off, want_crc, crc);
          }
        }
        if (!r->o.no_magic_check &&
            memcmp(p + MCAP_FOOTER_RECORD_SIZE, MCAP_MAGIC, MCAP_MAGIC_SIZE) != 0) {
          return fail(r, MCAP_EMAGIC, off + MCAP_FOOTER_RECORD_SIZE,
                      "bad trailing magic at offset %llu",
                      (unsigned long long)(off + MCAP_FOOTER_RECORD_SIZE));
        }
        r->pos += MCAP_MAGIC_SIZE;
        r->state = ST_DONE;
        return MCAP_OK;
      }
      case MCAP_OP_CHUNK:
        if (r->o.raw_chunks) return MCAP_OK;
        rc = open_chunk(r, &rec->u.chunk, off, r->pos);
        if (rc) return rc;
        continue; /* yield its first record (or move on if it is empty) */
      case MCAP_OP_ATTACHMENT:
        rc = check_attachment_crc(r, rec);
        if (rc) return rc;
        return MCAP_OK;
      default:
        return MCAP_OK;
    }
  }
}
