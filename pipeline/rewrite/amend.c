/*
 * amend.c - pl_amend: add an attachment or a metadata record to a recording
 * in place, safely (behind `mcapkit add`).
 *
 * 1. Survey: stream the file's records (raw chunks; magic, structure, data,
 *    summary and attachment CRCs checked) to find its DataEnd and the layout
 *    of its summary. A file that does not read cleanly is refused.
 * 2. Write, into libmcap's atomic file sink beside it: the data section
 *    [0, DataEnd) byte for byte, the new record, a new DataEnd, the summary
 *    (old records regrouped by opcode, the new index record in its group,
 *    Statistics counting the new record), SummaryOffsets, the Footer, the
 *    magic. The data and summary CRCs are computed over what is written
 *    where the original had them (0 stays 0).
 * 3. Check: read the temporary file back with the streamed reader (chunks
 *    decompressed, every CRC verified) and with the indexed reader, and make
 *    sure the original has not changed since the survey.
 * 4. Commit: the sink renames the new file over the original.
 *
 * The new Attachment (streamed from its file) and Metadata records are
 * encoded by a libmcap writer whose output passes through a gate: only the
 * bytes of the record itself reach the file (the writer's own Header before
 * it is dropped, and the writer is abandoned, not closed, after it). Every
 * other new record is encoded with mcap_record_encode.
 *
 * Invariants: `struct out` counts every byte written (`off` is the offset of
 * the next one); its CRC phase decides which CRC a byte feeds.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "rewrite_internal.h"

#define COPY_BUF ((size_t)1 << 20)

/* ------------------------------------------------------------- the survey */

struct sum_rec {
  uint8_t opcode;
  uint64_t offset, length; /* the whole record in the original */
};

struct survey {
  uint64_t data_end; /* offset of the DataEnd record */
  uint32_t data_crc; /* DataEnd.data_section_crc (0 = none) */
  mcap_footer footer;
  struct sum_rec *recs; /* summary records after DataEnd, SummaryOffsets excluded */
  size_t n_recs, cap_recs;
  uint64_t attachments, metadata; /* records in the data section */
  int has_ai_group, has_mi_group;
};

static int survey_file(const char *target, const char *path, struct survey *sv,
                       pl_error_info *err) {
  mcap_source src;
  mcap_error_info me;
  memset(&src, 0, sizeof src);
  memset(&me, 0, sizeof me);
  int mrc = mcap_source_open_file(&src, target, &me);
  if (mrc != MCAP_OK)
    return pl_error_set_mcap(err, mrc, UINT64_MAX, "cannot open '%s': %s", path, me.msg);
  mcap_reader_options ro;
  mcap_reader_options_init(&ro);
  ro.raw_chunks = 1;
  mcap_stream_reader *r = NULL;
  if (mcap_stream_reader_new(&r, &src, &ro) != MCAP_OK)
    return pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
  int rc = PL_OK, seen_data_end = 0, seen_footer = 0;
  for (;;) {
    mcap_record rec;
    mrc = mcap_stream_reader_next(r, &rec);
    if (mrc == MCAP_ITEROVER) break;
    if (mrc != MCAP_OK) {
      /* nothing was done: the input cannot be amended safely */
      rc = pl_error_set_mcap(err, mrc, mcap_stream_reader_error_offset(r),
                             "'%s' is not a valid MCAP file, so it was left unchanged: %s", path,
                             mcap_stream_reader_errmsg(r));
      break;
    }
    if (rec.opcode == MCAP_OP_FOOTER) {
      sv->footer = rec.u.footer;
      seen_footer = 1;
      continue;
    }
    if (rec.opcode == MCAP_OP_DATA_END) {
      sv->data_end = rec.offset;
      sv->data_crc = rec.u.data_end.data_section_crc;
      seen_data_end = 1;
      continue;
    }
    if (!seen_data_end) {
      if (rec.opcode == MCAP_OP_ATTACHMENT) sv->attachments++;
      if (rec.opcode == MCAP_OP_METADATA) sv->metadata++;
      continue;
    }
    if (rec.opcode == MCAP_OP_SUMMARY_OFFSET) continue; /* regenerated */
    if (rec.opcode == MCAP_OP_ATTACHMENT_INDEX) sv->has_ai_group = 1;
    if (rec.opcode == MCAP_OP_METADATA_INDEX) sv->has_mi_group = 1;
    if (pl_grow((void **)&sv->recs, &sv->cap_recs, sv->n_recs + 1, sizeof *sv->recs) != 0) {
      rc = pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
      break;
    }
    sv->recs[sv->n_recs].opcode = rec.opcode;
    sv->recs[sv->n_recs].offset = rec.offset;
    sv->recs[sv->n_recs].length = 9 + rec.content.len;
    sv->n_recs++;
  }
  mcap_stream_reader_free(r);
  if (rc == PL_OK && (!seen_data_end || !seen_footer))
    rc = pl_error_set(err, PL_EMCAP, UINT64_MAX, "'%s' has no %s record, so it was left unchanged",
                      path, seen_data_end ? "Footer" : "DataEnd");
  return rc;
}

/* ---------------------------------------------------------- the output */

enum crc_phase { PH_DATA, PH_NONE, PH_SUMMARY };

struct out {
  mcap_sink *sink;
  uint64_t off; /* bytes written so far (= offset of the next byte) */
  enum crc_phase phase;
  uint32_t data_crc, sum_crc;
  int rc; /* the first failure (a pl_error), 0 while all is well */
  pl_error_info *err;
};

static void put(struct out *w, const void *data, size_t n) {
  if (w->rc || !n) return;
  if (w->phase == PH_DATA) w->data_crc = mcap_crc32(w->data_crc, data, n);
  if (w->phase == PH_SUMMARY) w->sum_crc = mcap_crc32(w->sum_crc, data, n);
  mcap_error_info me;
  memset(&me, 0, sizeof me);
  int mrc = w->sink->write(w->sink->payload, data, n, &me);
  if (mrc != MCAP_OK) {
    w->rc = pl_error_set_mcap(w->err, mrc, w->off, "writing the new file: %s",
                              me.msg[0] ? me.msg : mcap_strerror(mrc));
    return;
  }
  w->off += n;
}

/* Encode a record with libmcap and write it. */
static void put_record(struct out *w, const mcap_record *rec) {
  if (w->rc) return;
  uint64_t size = 0;
  int mrc = mcap_record_encode(rec, NULL, 0, &size);
  if (mrc != MCAP_OK || size > SIZE_MAX) {
    w->rc = pl_error_set_mcap(w->err, mrc ? mrc : MCAP_ELIMIT, w->off, "cannot encode a %s record",
                              mcap_opcode_name(rec->opcode));
    return;
  }
  uint8_t *b = malloc((size_t)size);
  if (!b) {
    w->rc = pl_error_set(w->err, PL_ENOMEM, UINT64_MAX, "out of memory");
    return;
  }
  mrc = mcap_record_encode(rec, b, size, &size);
  if (mrc == MCAP_OK)
    put(w, b, (size_t)size);
  else
    w->rc = pl_error_set_mcap(w->err, mrc, w->off, "cannot encode a %s record",
                              mcap_opcode_name(rec->opcode));
  free(b);
}

/* Copy [off, off + n) of the original into the output. */
static void copy_range(struct out *w, int in_fd, uint64_t off, uint64_t n, uint8_t *buf) {
  while (n && !w->rc) {
    size_t want = n < COPY_BUF ? (size_t)n : COPY_BUF;
    ssize_t k = pread(in_fd, buf, want, (off_t)off);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) {
      w->rc =
          pl_error_set(w->err, PL_EIO, off, "reading the original at offset %llu: %s",
                       (unsigned long long)off, k < 0 ? strerror(errno) : "unexpected end of file");
      return;
    }
    put(w, buf, (size_t)k);
    off += (uint64_t)k;
    n -= (uint64_t)k;
  }
}

/* ----------------------------------------------------- the new record */

/*
 * The gate: the sink of the libmcap writer that encodes the new record. Bytes
 * pass to the output only while the gate is open; the writer's magic and
 * Header are written while it is shut.
 */
struct gate {
  struct out *w;
  int open;
};

static int gate_write(void *payload, const void *buf, size_t len, mcap_error_info *e) {
  struct gate *g = payload;
  (void)e;
  if (g->open) put(g->w, buf, len);
  return g->w->rc ? MCAP_EIO : MCAP_OK;
}

static int gate_close(void *payload, mcap_error_info *e) {
  (void)payload;
  (void)e;
  return MCAP_OK;
}

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* What the caller asked for, resolved (names, times, the open data file). */
struct item {
  int is_attachment;
  int data_fd;
  uint64_t data_size, log_time, create_time;
  const char *name, *media_type;
  mcap_kv *kv; /* metadata: sorted copy of the pairs (views into the caller's) */
  size_t n_kv;
};

static int kv_cmp(const void *a, const void *b) {
  const mcap_kv *x = a, *y = b;
  uint32_t n = x->key.len < y->key.len ? x->key.len : y->key.len;
  int c = n ? memcmp(x->key.data, y->key.data, n) : 0;
  return c ? c : (x->key.len > y->key.len) - (x->key.len < y->key.len);
}

static int resolve_item(const pl_amend_options *o, struct item *it, pl_error_info *err) {
  it->data_fd = -1;
  if (!o || (!o->attachment_file) == (!o->metadata_name))
    return pl_error_set(err, PL_EINVAL, UINT64_MAX,
                        "give an attachment file or a metadata name, not both or neither");
  if (o->metadata_name) {
    if (o->n_metadata == 0 || !o->metadata)
      return pl_error_set(err, PL_EINVAL, UINT64_MAX, "a metadata record needs at least one key");
    it->kv = malloc(o->n_metadata * sizeof *it->kv);
    if (!it->kv) return pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
    memcpy(it->kv, o->metadata, o->n_metadata * sizeof *it->kv);
    it->n_kv = o->n_metadata;
    uint64_t total = 0;
    for (size_t i = 0; i < it->n_kv; i++) {
      if (it->kv[i].key.len == 0)
        return pl_error_set(err, PL_EINVAL, UINT64_MAX, "a metadata key is empty");
      total += 8 + (uint64_t)it->kv[i].key.len + it->kv[i].value.len;
    }
    if (total > UINT32_MAX)
      return pl_error_set(err, PL_EINVAL, UINT64_MAX, "the metadata is too large");
    /* sorted keys, as the official writers store them; a key given twice is a mistake */
    qsort(it->kv, it->n_kv, sizeof *it->kv, kv_cmp);
    for (size_t i = 1; i < it->n_kv; i++)
      if (kv_cmp(&it->kv[i - 1], &it->kv[i]) == 0)
        return pl_error_set(err, PL_EINVAL, UINT64_MAX, "key '%.*s' is given twice",
                            (int)it->kv[i].key.len, it->kv[i].key.data);
    it->name = o->metadata_name;
    return PL_OK;
  }
  it->is_attachment = 1;
  it->log_time = o->has_log_time ? o->log_time : now_ns();
  it->media_type = o->media_type ? o->media_type : "application/octet-stream";
  if (o->name) {
    it->name = o->name;
  } else {
    const char *slash = strrchr(o->attachment_file, '/');
    it->name = slash ? slash + 1 : o->attachment_file;
  }
  /* open the data first: a missing or unreadable file fails before any work */
  it->data_fd = open(o->attachment_file, O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (it->data_fd < 0 || fstat(it->data_fd, &st) != 0)
    return pl_error_set(err, PL_EIO, UINT64_MAX, "cannot read '%s': %s", o->attachment_file,
                        strerror(errno));
  if (!S_ISREG(st.st_mode))
    return pl_error_set(err, PL_EIO, UINT64_MAX, "'%s' is not a regular file", o->attachment_file);
  it->data_size = (uint64_t)st.st_size;
  it->create_time = o->has_create_time
                        ? o->create_time
                        : (uint64_t)st.st_mtim.tv_sec * 1000000000u + (uint64_t)st.st_mtim.tv_nsec;
  return PL_OK;
}

/* Write the new record through a libmcap writer behind the gate. */
static void put_item(struct out *w, const struct item *it, uint8_t *buf) {
  struct gate g = {w, 0};
  mcap_sink gs = {&g, gate_write, gate_close};
  mcap_writer_options wo;
  mcap_writer_options_init(&wo);
  wo.no_chunking = 1; /* the record goes out at once, outside any chunk */
  mcap_writer *mw = NULL;
  int mrc = mcap_writer_open(&mw, &gs, &wo);
  if (mrc != MCAP_OK) {
    if (!w->rc) w->rc = pl_error_set_mcap(w->err, mrc, UINT64_MAX, "cannot encode the new record");
    mcap_writer_free(mw);
    return;
  }
  g.open = 1;
  if (!it->is_attachment) {
    mrc = mcap_writer_write_metadata(mw, mcap_str_c(it->name), it->kv, it->n_kv);
  } else {
    mrc = mcap_writer_attachment_begin(mw, it->log_time, it->create_time, mcap_str_c(it->name),
                                       mcap_str_c(it->media_type), it->data_size);
    uint64_t left = it->data_size;
    while (mrc == MCAP_OK && left && !w->rc) {
      size_t want = left < COPY_BUF ? (size_t)left : COPY_BUF;
      ssize_t k = read(it->data_fd, buf, want);
      if (k < 0 && errno == EINTR) continue;
      if (k <= 0) {
        w->rc = pl_error_set(w->err, PL_EIO, UINT64_MAX, "reading the attachment data: %s",
                             k < 0 ? strerror(errno) : "the file became shorter while being read");
        break;
      }
      mrc = mcap_writer_attachment_write(mw, buf, (size_t)k);
      left -= (uint64_t)k;
    }
    if (mrc == MCAP_OK && !w->rc && read(it->data_fd, buf, 1) > 0)
      w->rc = pl_error_set(w->err, PL_EIO, UINT64_MAX, "the attachment file grew while being read");
    if (mrc == MCAP_OK && !w->rc) mrc = mcap_writer_attachment_end(mw);
  }
  g.open = 0;
  if (mrc != MCAP_OK && !w->rc)
    w->rc = pl_error_set_mcap(w->err, mrc, UINT64_MAX, "cannot encode the new record: %s",
                              mcap_writer_errmsg(mw));
  mcap_writer_free(mw); /* abandoned: its summary is not wanted */
}

/* ------------------------------------------------------ the amended file */

struct group {
  uint8_t opcode;
  uint64_t start, length;
};

static void put_amended(struct out *w, int in_fd, const struct survey *sv, const struct item *it,
                        pl_amend_result *res, uint8_t *buf) {
  struct group *groups = NULL;
  uint8_t *rec_bytes = NULL;
  /* the data section as it is */
  w->phase = PH_DATA;
  copy_range(w, in_fd, 0, sv->data_end, buf);
  res->offset = w->off;
  put_item(w, it, buf);
  res->length = w->off - res->offset;
  res->data_size = it->data_size;
  if (w->rc) return;
  mcap_record rec;
  memset(&rec, 0, sizeof rec);
  w->phase = PH_NONE;
  rec.opcode = MCAP_OP_DATA_END;
  rec.u.data_end.data_section_crc = sv->data_crc ? w->data_crc : 0;
  put_record(w, &rec);

  /* the summary: old records regrouped by opcode, the new index in its group */
  w->phase = PH_SUMMARY;
  int have_summary = sv->footer.summary_start != 0 || sv->n_recs > 0;
  int add_ai = have_summary && it->is_attachment && (sv->has_ai_group || sv->attachments == 0);
  int add_mi = have_summary && !it->is_attachment && (sv->has_mi_group || sv->metadata == 0);
  res->indexed = add_ai || add_mi;
  uint64_t summary_start = w->off;
  size_t n_groups = 0;
  groups = calloc(sv->n_recs + 2, sizeof *groups);
  if (!groups) {
    w->rc = pl_error_set(w->err, PL_ENOMEM, UINT64_MAX, "out of memory");
    return;
  }
  uint8_t order[256];
  int seen[256] = {0};
  size_t n_order = 0;
  if (have_summary) {
    for (size_t i = 0; i < sv->n_recs; i++) {
      if (!seen[sv->recs[i].opcode]) order[n_order++] = sv->recs[i].opcode;
      seen[sv->recs[i].opcode] = 1;
    }
    if (add_ai && !seen[MCAP_OP_ATTACHMENT_INDEX]) order[n_order++] = MCAP_OP_ATTACHMENT_INDEX;
    if (add_mi && !seen[MCAP_OP_METADATA_INDEX]) order[n_order++] = MCAP_OP_METADATA_INDEX;
  }
  for (size_t g = 0; g < n_order && !w->rc; g++) {
    uint8_t op = order[g];
    groups[n_groups].opcode = op;
    groups[n_groups].start = w->off;
    for (size_t i = 0; i < sv->n_recs && !w->rc; i++) {
      const struct sum_rec *sr = &sv->recs[i];
      if (sr->opcode != op) continue;
      if (op != MCAP_OP_STATISTICS) {
        copy_range(w, in_fd, sr->offset, sr->length, buf);
        continue;
      }
      /* Statistics: one more attachment or metadata record */
      free(rec_bytes);
      rec_bytes = sr->length <= SIZE_MAX ? malloc((size_t)sr->length) : NULL;
      if (!rec_bytes) {
        w->rc = pl_error_set(w->err, PL_ENOMEM, UINT64_MAX, "out of memory");
        break;
      }
      if (pread(in_fd, rec_bytes, (size_t)sr->length, (off_t)sr->offset) != (ssize_t)sr->length) {
        w->rc =
            pl_error_set(w->err, PL_EIO, sr->offset, "reading the Statistics record at offset %llu",
                         (unsigned long long)sr->offset);
        break;
      }
      mcap_record st;
      memset(&st, 0, sizeof st);
      if (mcap_record_parse(MCAP_OP_STATISTICS, rec_bytes + 9, sr->length - 9, sr->offset, &st,
                            NULL) != MCAP_OK) {
        w->rc = pl_error_set(w->err, PL_EMCAP, sr->offset,
                             "the Statistics record at offset %llu is damaged",
                             (unsigned long long)sr->offset);
        break;
      }
      st.opcode = MCAP_OP_STATISTICS;
      uint32_t *count =
          it->is_attachment ? &st.u.statistics.attachment_count : &st.u.statistics.metadata_count;
      if (*count < UINT32_MAX) (*count)++;
      put_record(w, &st);
    }
    if (op == MCAP_OP_ATTACHMENT_INDEX && add_ai) {
      memset(&rec, 0, sizeof rec);
      rec.opcode = MCAP_OP_ATTACHMENT_INDEX;
      rec.u.attachment_index.offset = res->offset;
      rec.u.attachment_index.length = res->length;
      rec.u.attachment_index.log_time = it->log_time;
      rec.u.attachment_index.create_time = it->create_time;
      rec.u.attachment_index.data_size = it->data_size;
      rec.u.attachment_index.name = mcap_str_c(it->name);
      rec.u.attachment_index.media_type = mcap_str_c(it->media_type);
      put_record(w, &rec);
    }
    if (op == MCAP_OP_METADATA_INDEX && add_mi) {
      memset(&rec, 0, sizeof rec);
      rec.opcode = MCAP_OP_METADATA_INDEX;
      rec.u.metadata_index.offset = res->offset;
      rec.u.metadata_index.length = res->length;
      rec.u.metadata_index.name = mcap_str_c(it->name);
      put_record(w, &rec);
    }
    groups[n_groups].length = w->off - groups[n_groups].start;
    n_groups++;
  }
  if (n_groups == 0) summary_start = 0; /* no summary records at all */
  uint64_t summary_offset_start = 0;
  if (n_groups && sv->footer.summary_offset_start != 0) {
    summary_offset_start = w->off;
    for (size_t g = 0; g < n_groups; g++) {
      memset(&rec, 0, sizeof rec);
      rec.opcode = MCAP_OP_SUMMARY_OFFSET;
      rec.u.summary_offset.group_opcode = groups[g].opcode;
      rec.u.summary_offset.group_start = groups[g].start;
      rec.u.summary_offset.group_length = groups[g].length;
      put_record(w, &rec);
    }
  }
  free(groups);
  free(rec_bytes);
  /* the Footer: the summary CRC covers everything since the summary start up to the CRC
     field itself, so it is encoded once without it to feed those bytes to the CRC */
  memset(&rec, 0, sizeof rec);
  rec.opcode = MCAP_OP_FOOTER;
  rec.u.footer.summary_start = summary_start;
  rec.u.footer.summary_offset_start = summary_offset_start;
  uint8_t footer[9 + 20];
  uint64_t size = 0;
  if (!w->rc && (mcap_record_encode(&rec, footer, sizeof footer, &size) != MCAP_OK ||
                 size != sizeof footer)) {
    w->rc = pl_error_set(w->err, PL_EMCAP, UINT64_MAX, "cannot encode the Footer record");
    return;
  }
  if (sv->footer.summary_crc) rec.u.footer.summary_crc = mcap_crc32(w->sum_crc, footer, 25);
  w->phase = PH_NONE;
  put_record(w, &rec);
  put(w, MCAP_MAGIC, MCAP_MAGIC_SIZE);
}

/* ---------------------------------------------------------- the check */

/* Where the indexed reader gets the index of `path` from; -1 if it does not open. */
static int index_source(const char *path) {
  mcap_source src;
  mcap_error_info me;
  memset(&src, 0, sizeof src);
  memset(&me, 0, sizeof me);
  if (mcap_source_open_file(&src, path, &me) != MCAP_OK) return -1;
  mcap_reader *r = NULL;
  if (mcap_reader_open(&r, &src, NULL, &me) != MCAP_OK) return -1;
  int s = (int)mcap_reader_index_source(r, NULL);
  mcap_reader_free(r);
  return s;
}

static int check_new(const char *orig, const char *tmp, const struct survey *sv,
                     const struct item *it, const pl_amend_result *res, pl_error_info *err) {
  mcap_source src;
  mcap_error_info me;
  memset(&src, 0, sizeof src);
  memset(&me, 0, sizeof me);
  if (mcap_source_open_file(&src, tmp, &me) != MCAP_OK)
    return pl_error_set(err, PL_EIO, UINT64_MAX, "cannot reopen the new file: %s", me.msg);
  mcap_stream_reader *r = NULL;
  if (mcap_stream_reader_new(&r, &src, NULL) != MCAP_OK) /* every check on */
    return pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
  uint64_t atts = 0, metas = 0;
  int rc = PL_OK, data = 1;
  for (;;) {
    mcap_record rec;
    int mrc = mcap_stream_reader_next(r, &rec);
    if (mrc == MCAP_ITEROVER) break;
    if (mrc != MCAP_OK) {
      rc = pl_error_set(err, PL_EVERIFY, mcap_stream_reader_error_offset(r),
                        "the new file does not read back: %s", mcap_stream_reader_errmsg(r));
      break;
    }
    if (rec.opcode == MCAP_OP_DATA_END) data = 0;
    if (data && !rec.in_chunk && rec.opcode == MCAP_OP_ATTACHMENT) atts++;
    if (data && !rec.in_chunk && rec.opcode == MCAP_OP_METADATA) metas++;
  }
  mcap_stream_reader_free(r);
  if (rc != PL_OK) return rc;
  if (atts != sv->attachments + (it->is_attachment ? 1 : 0) ||
      metas != sv->metadata + (it->is_attachment ? 0 : 1))
    return pl_error_set(err, PL_EVERIFY, UINT64_MAX,
                        "the new file does not hold the expected records");
  /* the indexed view: the summary must still be usable and list the new record */
  memset(&src, 0, sizeof src);
  if (mcap_source_open_file(&src, tmp, &me) != MCAP_OK)
    return pl_error_set(err, PL_EIO, UINT64_MAX, "cannot reopen the new file: %s", me.msg);
  mcap_reader *ir = NULL;
  if (mcap_reader_open(&ir, &src, NULL, &me) != MCAP_OK)
    return pl_error_set(err, PL_EVERIFY, UINT64_MAX,
                        "the new file does not open for indexed reading: %s", me.msg);
  const char *reason = NULL;
  if (mcap_reader_index_source(ir, &reason) != MCAP_INDEX_FROM_SUMMARY &&
      index_source(orig) == (int)MCAP_INDEX_FROM_SUMMARY) {
    rc = pl_error_set(err, PL_EVERIFY, UINT64_MAX, "the new summary is not usable: %s",
                      reason ? reason : "?");
    mcap_reader_free(ir);
    return rc;
  }
  int found = !res->indexed;
  if (it->is_attachment) {
    for (size_t i = 0; i < mcap_reader_attachment_count(ir); i++)
      if (mcap_reader_attachment_at(ir, i)->offset == res->offset) found = 1;
  } else {
    for (size_t i = 0; i < mcap_reader_metadata_count(ir); i++)
      if (mcap_reader_metadata_at(ir, i)->offset == res->offset) found = 1;
  }
  mcap_reader_free(ir);
  if (!found)
    return pl_error_set(err, PL_EVERIFY, UINT64_MAX,
                        "the new record is missing from the new index");
  return PL_OK;
}

/* ---------------------------------------------------------- pl_amend */

static int same_state(const struct stat *a, const struct stat *b) {
  return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
         a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* Prefix err's message with "'PATH' left unchanged: " (failures after the survey). */
static int unchanged(pl_error_info *err, int rc, const char *path) {
  if (!err) return rc;
  char msg[sizeof err->msg];
  memcpy(msg, err->msg, sizeof msg);
  msg[sizeof msg - 1] = '\0';
  int n = snprintf(err->msg, sizeof err->msg, "'%s' left unchanged: ", path);
  if (n > 0 && (size_t)n < sizeof err->msg) {
    size_t len = strnlen(msg, sizeof err->msg - (size_t)n - 1);
    memcpy(err->msg + n, msg, len);
    err->msg[(size_t)n + len] = '\0';
  }
  return rc;
}

int pl_amend(const char *path, const pl_amend_options *o, pl_amend_result *res,
             pl_error_info *err) {
  pl_amend_result local;
  if (!res) res = &local;
  memset(res, 0, sizeof *res);
  if (!path) return pl_error_set(err, PL_EINVAL, UINT64_MAX, "invalid argument");
  struct item it;
  memset(&it, 0, sizeof it);
  struct survey sv;
  memset(&sv, 0, sizeof sv);
  char *target = NULL;
  uint8_t *buf = NULL;
  int in_fd = -1, sink_open = 0;
  mcap_sink sink;
  mcap_error_info me;
  memset(&me, 0, sizeof me);
  int rc = resolve_item(o, &it, err);
  if (rc != PL_OK) goto out;

  /* the file itself, not a symbolic link to it, gets replaced */
  target = realpath(path, NULL);
  if (!target) {
    rc = pl_error_set(err, PL_EIO, UINT64_MAX, "cannot open '%s': %s", path, strerror(errno));
    goto out;
  }
  in_fd = open(target, O_RDONLY | O_CLOEXEC);
  struct stat st0;
  if (in_fd < 0 || fstat(in_fd, &st0) != 0) {
    rc = pl_error_set(err, PL_EIO, UINT64_MAX, "cannot open '%s': %s", path, strerror(errno));
    goto out;
  }
  if (!S_ISREG(st0.st_mode)) {
    rc = pl_error_set(err, PL_EIO, UINT64_MAX, "'%s' is not a regular file", path);
    goto out;
  }
  rc = survey_file(target, path, &sv, err);
  if (rc != PL_OK) goto out;

  buf = malloc(COPY_BUF);
  if (!buf) {
    rc = unchanged(err, pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory"), path);
    goto out;
  }
  /* beside the target (one filesystem for the rename), with its mode */
  int mrc = mcap_sink_open_file(&sink, target, &me);
  if (mrc != MCAP_OK) {
    rc = pl_error_set_mcap(err, mrc, UINT64_MAX, "cannot create a temporary file beside '%s': %s",
                           path, me.msg);
    goto out;
  }
  sink_open = 1;
  struct out w;
  memset(&w, 0, sizeof w);
  w.sink = &sink;
  w.err = err;
  put_amended(&w, in_fd, &sv, &it, res, buf);
  if (w.rc) {
    rc = unchanged(err, w.rc, path);
    goto out;
  }
  const char *written = NULL;
  mrc = mcap_sink_sync(&sink, &written, &me);
  if (mrc != MCAP_OK) {
    rc = unchanged(err, pl_error_set_mcap(err, mrc, UINT64_MAX, "writing the new file: %s", me.msg),
                   path);
    goto out;
  }
  if (!written) { /* only a regular file is amended; this cannot happen but is checked */
    rc = unchanged(err, pl_error_set(err, PL_EINVAL, UINT64_MAX, "not a regular file"), path);
    goto out;
  }
  rc = check_new(target, written, &sv, &it, res, err);
  if (rc != PL_OK) {
    rc = unchanged(err, rc, path);
    goto out;
  }
  struct stat st1;
  if (stat(target, &st1) != 0 || !same_state(&st0, &st1)) {
    rc = unchanged(err,
                   pl_error_set(err, PL_EVERIFY, UINT64_MAX, "it was modified while being amended"),
                   path);
    goto out;
  }
  if (o->before_commit && o->before_commit(o->before_commit_user) != 0) {
    rc = unchanged(err, pl_error_set(err, PL_ECANCELED, UINT64_MAX, "stopped before the rename"),
                   path);
    goto out;
  }
  mrc = mcap_sink_commit(&sink, &me);
  if (mrc != MCAP_OK) {
    rc = unchanged(err, pl_error_set_mcap(err, mrc, UINT64_MAX, "cannot replace it: %s", me.msg),
                   path);
    goto out;
  }
  sink_open = 0;
  mrc = mcap_sink_close(&sink, &me);
  if (mrc != MCAP_OK) {
    /* renamed already: the amended file is in place */
    rc = pl_error_set_mcap(err, mrc, UINT64_MAX, "'%s': %s", path, me.msg);
    goto out;
  }
  rc = PL_OK;
out:
  if (sink_open) mcap_sink_close(&sink, NULL); /* uncommitted: the temporary file goes */
  if (in_fd >= 0) close(in_fd);
  if (it.data_fd >= 0) close(it.data_fd);
  free(it.kv);
  free(buf);
  free(sv.recs);
  free(target);
  return rc;
}
