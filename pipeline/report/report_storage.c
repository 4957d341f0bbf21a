/*
 * report_storage.c - where the bytes of a file go (a short `mcapkit du`):
 * file bytes by top-level record kind and chunk sizes by compression.
 *
 * With a usable summary everything comes from its indexes (chunk, attachment
 * and metadata indexes, the footer's summary start): nothing else is read.
 * Without one, one pass reads the top-level record headers only (opcode,
 * length, and a chunk's fixed fields up to its compression name): chunk
 * bodies and attachment data are skipped, never read or decompressed. A
 * record that runs past the end of the file stops the pass (partial).
 */
#include <stdio.h>
#include <string.h>

#include "report_internal.h"

static uint64_t le64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
  return v;
}

static uint32_t le32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Copy exactly n bytes at off (n small); -1 when the source has fewer. */
static int pull(mcap_source *src, uint64_t off, uint64_t n, uint8_t *dst) {
  uint64_t done = 0;
  while (done < n) {
    const uint8_t *p = NULL;
    uint64_t got = 0;
    mcap_error_info e;
    memset(&e, 0, sizeof e);
    if (src->read(src->payload, off + done, n - done, &p, &got, &e) != MCAP_OK || got == 0)
      return -1;
    if (got > n - done) got = n - done;
    memcpy(dst + done, p, (size_t)got);
    done += got;
  }
  return 0;
}

static void add_chunk(pl_report_storage *st, const char *name, size_t name_len, uint64_t stored,
                      uint64_t uncompressed) {
  size_t i;
  if (name_len > sizeof st->comp[0].name - 1) name_len = sizeof st->comp[0].name - 1;
  if (!name_len) name = ""; /* an uncompressed chunk's name may be (NULL, 0) */
  for (i = 0; i < st->n_comp; i++)
    if (strlen(st->comp[i].name) == name_len && memcmp(st->comp[i].name, name, name_len) == 0)
      break;
  if (i == st->n_comp) {
    if (st->n_comp == PL_REPORT_MAX_COMPRESSIONS) {
      /* the last slot collects the rest */
      i = PL_REPORT_MAX_COMPRESSIONS - 1;
      memcpy(st->comp[i].name, "(other)", 8);
    } else {
      memcpy(st->comp[i].name, name, name_len);
      st->comp[i].name[name_len] = '\0';
      st->n_comp++;
    }
  }
  st->comp[i].chunks++;
  st->comp[i].stored += stored;
  st->comp[i].uncompressed += uncompressed;
  st->chunks++;
  if (uncompressed > st->largest_chunk) st->largest_chunk = uncompressed;
}

/* Other = what the known kinds do not account for (never negative). */
static void finish(pl_report_storage *st) {
  uint64_t known = 0;
  for (int k = 0; k < PL_REPORT_KIND_OTHER; k++) known += st->kinds[k];
  st->kinds[PL_REPORT_KIND_OTHER] = known < st->file_size ? st->file_size - known : 0;
  st->available = 1;
}

static int from_summary(const char *path, pl_report_storage *st, int *has_range, uint64_t *lo,
                        uint64_t *hi) {
  mcap_source src;
  mcap_reader *r = NULL;
  mcap_error_info e;
  memset(&e, 0, sizeof e);
  if (mcap_source_open_file(&src, path, &e) != MCAP_OK) return 0;
  mcap_indexed_options io;
  memset(&io, 0, sizeof io);
  io.threads = 1;
  if (mcap_reader_open(&r, &src, &io, &e) != MCAP_OK) return 0;
  int ok = 0;
  const char *why = "";
  if (mcap_reader_index_source(r, &why) == MCAP_INDEX_FROM_SUMMARY) {
    for (size_t i = 0; i < mcap_reader_chunk_count(r); i++) {
      const mcap_chunk_index *ci = mcap_reader_chunk_at(r, i);
      st->kinds[PL_REPORT_KIND_CHUNK] += ci->chunk_length;
      st->kinds[PL_REPORT_KIND_MSG_INDEX] += ci->message_index_length;
      add_chunk(st, ci->compression.data, ci->compression.len, ci->compressed_size,
                ci->uncompressed_size);
    }
    for (size_t i = 0; i < mcap_reader_attachment_count(r); i++)
      st->kinds[PL_REPORT_KIND_ATTACHMENT] += mcap_reader_attachment_at(r, i)->length;
    for (size_t i = 0; i < mcap_reader_metadata_count(r); i++)
      st->kinds[PL_REPORT_KIND_METADATA] += mcap_reader_metadata_at(r, i)->length;
    const mcap_footer *f = mcap_reader_footer(r);
    if (f->summary_start && f->summary_start <= st->file_size)
      st->kinds[PL_REPORT_KIND_SUMMARY] = st->file_size - f->summary_start;
    int from_file = 0;
    const mcap_statistics *s = mcap_reader_statistics(r, &from_file);
    if (s->message_count && s->message_end_time >= s->message_start_time) {
      *has_range = 1;
      *lo = s->message_start_time;
      *hi = s->message_end_time;
    }
    finish(st);
    ok = 1;
  }
  mcap_reader_free(r);
  return ok;
}

/* Does the footer point at a summary? (Opening a file without one would scan it.) */
static int footer_has_summary(mcap_source *src) {
  uint8_t p[MCAP_FOOTER_RECORD_SIZE + MCAP_MAGIC_SIZE];
  uint64_t size = src->size;
  if (size < 2 * MCAP_MAGIC_SIZE + MCAP_FOOTER_RECORD_SIZE + 9) return 0;
  if (pull(src, size - sizeof p, sizeof p, p)) return 0;
  if (p[0] != MCAP_OP_FOOTER || memcmp(p + MCAP_FOOTER_RECORD_SIZE, MCAP_MAGIC, 8) != 0) return 0;
  return le64(p + 9) != 0;
}

static int record_pass(mcap_source *src, pl_report_storage *st, char *msg, size_t cap) {
  uint8_t h[9 + 36 + 24];
  uint64_t size = src->size, pos = MCAP_MAGIC_SIZE;
  int summary = 0;
  if (size < MCAP_MAGIC_SIZE || pull(src, 0, MCAP_MAGIC_SIZE, h) ||
      memcmp(h, MCAP_MAGIC, MCAP_MAGIC_SIZE) != 0) {
    snprintf(msg, cap, "not an MCAP file: no magic at offset 0");
    return PL_REPORT_EINPUT;
  }
  while (pos < size) {
    if (size - pos < 9 || pull(src, pos, 9, h)) {
      st->partial = 1;
      break;
    }
    uint8_t op = h[0];
    uint64_t len = le64(h + 1);
    if (len > size - pos - 9) {
      st->partial = 1; /* runs past the end: truncated */
      break;
    }
    uint64_t whole = 9 + len;
    int kind = PL_REPORT_KIND_OTHER;
    if (summary || op == MCAP_OP_FOOTER) {
      kind = PL_REPORT_KIND_SUMMARY;
    } else if (op == MCAP_OP_CHUNK) {
      kind = PL_REPORT_KIND_CHUNK;
      /* start, end, uncompressed size (8 each), crc (4), compression name (4 + n), records (8) */
      uint64_t fixed = len < 36 + 24 ? len : 36 + 24;
      if (fixed >= 32 && !pull(src, pos + 9, fixed, h + 9)) {
        uint64_t usize = le64(h + 9 + 16);
        uint32_t nlen = le32(h + 9 + 28);
        uint64_t stored = 0;
        const char *name = (const char *)h + 9 + 32;
        size_t name_len = nlen;
        if (nlen > 24 || 32 + (uint64_t)nlen > fixed) {
          name = "(unreadable)";
          name_len = strlen(name);
        } else if (32 + (uint64_t)nlen + 8 <= fixed) {
          stored = le64(h + 9 + 32 + nlen);
        } else if (32 + (uint64_t)nlen + 8 <= len) {
          uint8_t tail[8];
          if (!pull(src, pos + 9 + 32 + nlen, 8, tail)) stored = le64(tail);
        }
        add_chunk(st, name, name_len, stored, usize);
      }
    } else if (op == MCAP_OP_MESSAGE_INDEX) {
      kind = PL_REPORT_KIND_MSG_INDEX;
    } else if (op == MCAP_OP_ATTACHMENT) {
      kind = PL_REPORT_KIND_ATTACHMENT;
    } else if (op == MCAP_OP_METADATA) {
      kind = PL_REPORT_KIND_METADATA;
    } else if (op == MCAP_OP_DATA_END) {
      summary = 1; /* what follows DataEnd is the summary section */
    }
    st->kinds[kind] += whole;
    pos += whole;
    if (op == MCAP_OP_FOOTER) {
      st->kinds[PL_REPORT_KIND_SUMMARY] += size - pos; /* the closing magic */
      pos = size;
    }
  }
  finish(st);
  return PL_REPORT_OK;
}

int pl__report_storage(const char *path, pl_report_storage *st, int *has_range, uint64_t *lo,
                       uint64_t *hi, char *msg, size_t cap) {
  memset(st, 0, sizeof *st);
  *has_range = 0;
  *lo = *hi = 0;
  mcap_source src;
  mcap_error_info e;
  memset(&e, 0, sizeof e);
  if (mcap_source_open_file(&src, path, &e) != MCAP_OK) {
    snprintf(msg, cap, "%s", e.msg[0] ? e.msg : "cannot open the file");
    return PL_REPORT_EIO;
  }
  st->file_size = src.size;
  int has = footer_has_summary(&src);
  int rc = PL_REPORT_OK;
  if (!has || !from_summary(path, st, has_range, lo, hi)) {
    memset(st->kinds, 0, sizeof st->kinds);
    memset(st->comp, 0, sizeof st->comp);
    st->n_comp = 0;
    st->chunks = st->largest_chunk = 0;
    rc = record_pass(&src, st, msg, cap);
    if (rc != PL_REPORT_OK) st->available = 0;
  } else {
    rc = 1; /* from the summary */
  }
  mcap_source_close(&src);
  return rc;
}
