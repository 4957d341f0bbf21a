/*
 * cmd_add.c - 'mcapkit add attachment|metadata FILE ...': amend a recording
 * in place, safely.
 *
 * The original is never written to. The amended file is built beside it as a
 * temporary file, checked, and renamed over the original, so a crash at any
 * moment leaves either the old or the new file at FILE. The temporary file is
 * unnamed (O_TMPFILE) until just before the rename, so it goes with the process;
 * where that is not possible, a crash can leave a stray ".NAME.add-XXXXXX":
 *
 * 1. Survey: stream FILE's records (raw chunks; magic, structure, data,
 *    summary and attachment CRCs checked) to find its DataEnd and the layout
 *    of its summary. A file that does not read cleanly is refused.
 * 2. Write: the data section [0, DataEnd) is copied byte for byte (chunks,
 *    message indexes, private records, all unchanged, so every offset in the
 *    old indexes stays right), then the new Attachment (streamed from --file,
 *    its CRC computed) or Metadata record, a new DataEnd, and the summary: the
 *    old summary records regrouped by opcode, with the new AttachmentIndex /
 *    MetadataIndex added to their group and the Statistics counts raised;
 *    then SummaryOffsets, the Footer and the magic. The data and summary CRCs
 *    are recomputed where the original had them (0 stays 0).
 * 3. Check: fsync, then read the temporary file back with the streamed reader
 *    (chunks decompressed, every CRC verified) and with the indexed reader
 *    (the new item must be there), and make sure FILE has not changed since
 *    the survey.
 * 4. Commit: keep FILE's permissions, rename over FILE, fsync the directory.
 *
 * A new index record is written only when the index of that kind is complete
 * afterwards: when the summary already has that index group, or when the file
 * held no record of that kind before. A file without a summary stays without
 * one (readers find the new record by scanning).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "inspect.h"
#include "mcap/mcap.h"
#include "output.h"
#include "timeparse.h"

#define COPY_BUF (1u << 20)

struct add_args {
  const char *file;
  const char *name;
  const char *media_type;
  const char *content_type;
  const char *log_time;
  const char *create_time;
  cli_strlist keys;
};

static const cli_opt add_opts[] = {
    {"file", 'f', CLI_OPT_STRING, offsetof(struct add_args, file), "FILE",
     "attachment: the file to attach; required"},
    {"name", 0, CLI_OPT_STRING, offsetof(struct add_args, name), "NAME",
     "attachment name (default: the base name of --file); metadata name (required)"},
    {"media-type", 'm', CLI_OPT_STRING, offsetof(struct add_args, media_type), "TYPE",
     "attachment media type (default application/octet-stream)"},
    {"content-type", 0, CLI_OPT_STRING, offsetof(struct add_args, content_type), "TYPE",
     "same as --media-type"},
    {"log-time", 0, CLI_OPT_STRING, offsetof(struct add_args, log_time), "T",
     "attachment log time (default: now)"},
    {"create-time", 0, CLI_OPT_STRING, offsetof(struct add_args, create_time), "T",
     "attachment create time (default: the modification time of --file)"},
    {"key", 'k', CLI_OPT_LIST, offsetof(struct add_args, keys), "KEY=VALUE",
     "metadata: one key/value pair (repeatable; at least one)"},
    {NULL, 0, CLI_OPT_FLAG, 0, NULL, NULL},
};

const cli_spec cmd_add_spec = {
    "add",
    "attachment|metadata FILE [options]",
    "attachment: mcapkit add attachment FILE --file DATA [--name N] [--media-type T]\n"
    "                                          [--log-time T] [--create-time T]\n"
    "metadata:   mcapkit add metadata FILE --name N --key K=V [--key K=V...]\n"
    "Adds the record to FILE in place, safely: the amended file is written beside FILE,\n"
    "read back with every CRC checked, and only then renamed over FILE; a failure or crash\n"
    "at any point leaves FILE as it was. T is integer nanoseconds, seconds with a fraction,\n"
    "or an RFC 3339 time. FILE must be a complete, valid MCAP file.",
    add_opts,
    2,
    2,
    CLI_ARGS_WORDS,
    "attachment metadata",
};

/* ------------------------------------------------------------- the survey */

struct sum_rec {
  uint8_t opcode;
  uint64_t offset, length; /* the whole record in the original */
};

struct survey {
  uint64_t size;
  uint64_t data_end; /* offset of the DataEnd record */
  uint32_t data_crc; /* DataEnd.data_section_crc (0 = none) */
  mcap_footer footer;
  struct sum_rec *recs; /* summary records after DataEnd, SummaryOffsets excluded */
  size_t n_recs, cap_recs;
  uint64_t attachments, metadata; /* records in the data section */
  int has_ai_group, has_mi_group;
};

static int survey_file(const cli_ctx *ctx, const char *target, const char *path,
                       struct survey *sv) {
  mcap_source src;
  mcap_error_info err;
  memset(&src, 0, sizeof src);
  memset(&err, 0, sizeof err);
  if (mcap_source_open_file(&src, target, &err) != MCAP_OK) {
    cli_error(ctx, "cannot open '%s': %s", path, err.msg);
    return CLI_EXIT_FAILURE;
  }
  sv->size = src.size;
  mcap_reader_options ro;
  mcap_reader_options_init(&ro);
  ro.raw_chunks = 1;
  mcap_stream_reader *r = NULL;
  if (mcap_stream_reader_new(&r, &src, &ro) != MCAP_OK) {
    cli_error(ctx, "out of memory");
    return CLI_EXIT_FAILURE;
  }
  int rc = CLI_EXIT_OK, seen_data_end = 0, seen_footer = 0;
  for (;;) {
    mcap_record rec;
    int mrc = mcap_stream_reader_next(r, &rec);
    if (mrc == MCAP_ITEROVER) break;
    if (mrc != MCAP_OK) {
      cli_error(ctx, "'%s' is not a valid MCAP file, so it was left unchanged: %s", path,
                mcap_stream_reader_errmsg(r));
      rc = CLI_EXIT_FAILURE; /* nothing was done: the input cannot be amended safely */
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
    if (sv->n_recs == sv->cap_recs) {
      size_t nc = sv->cap_recs ? sv->cap_recs * 2 : 64;
      struct sum_rec *p = realloc(sv->recs, nc * sizeof *p);
      if (!p) {
        cli_error(ctx, "out of memory");
        rc = CLI_EXIT_FAILURE;
        break;
      }
      sv->recs = p;
      sv->cap_recs = nc;
    }
    sv->recs[sv->n_recs].opcode = rec.opcode;
    sv->recs[sv->n_recs].offset = rec.offset;
    sv->recs[sv->n_recs].length = 9 + rec.content.len;
    sv->n_recs++;
  }
  mcap_stream_reader_free(r);
  if (rc == CLI_EXIT_OK && (!seen_data_end || !seen_footer)) {
    cli_error(ctx, "'%s' has no %s record, so it was left unchanged", path,
              seen_data_end ? "Footer" : "DataEnd");
    rc = CLI_EXIT_FAILURE;
  }
  return rc;
}

/* ---------------------------------------------------------- the new record */

struct new_item {
  int is_attachment;
  /* attachment */
  int data_fd;
  uint64_t data_size;
  uint64_t log_time, create_time;
  const char *name;
  const char *media_type;
  /* metadata: the encoded record */
  uint8_t *meta_rec;
  uint64_t meta_len;
  mcap_map meta_map;
};

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int put_str(uint8_t **p, size_t *len, size_t *cap, const char *s, size_t n) {
  if (n > UINT32_MAX) return -1;
  if (*cap - *len < 4 + n) {
    size_t nc = (*cap + 4 + n) * 2;
    uint8_t *q = realloc(*p, nc);
    if (!q) return -1;
    *p = q;
    *cap = nc;
  }
  uint32_t v = (uint32_t)n;
  for (int i = 0; i < 4; i++) (*p)[*len + (size_t)i] = (uint8_t)(v >> (8 * i));
  memcpy(*p + *len + 4, s, n);
  *len += 4 + n;
  return 0;
}

static int cmp_key(const void *a, const void *b) {
  const char *x = *(const char *const *)a, *y = *(const char *const *)b;
  size_t lx = strcspn(x, "="), ly = strcspn(y, "=");
  int c = memcmp(x, y, lx < ly ? lx : ly);
  return c ? c : (lx > ly) - (lx < ly);
}

/* Encode the Metadata record from --name and the sorted --key pairs. */
static int build_metadata(const struct add_args *a, struct new_item *it) {
  int rc;
  size_t n = a->keys.n;
  const char **kv = malloc((n ? n : 1) * sizeof *kv);
  if (!kv) return cli_usage_error(&cmd_add_spec, "out of memory");
  for (size_t i = 0; i < n; i++) {
    const char *eq = strchr(a->keys.items[i], '=');
    if (!eq || eq == a->keys.items[i]) {
      free(kv);
      return cli_usage_error(&cmd_add_spec,
                             "--key expects KEY=VALUE with a non-empty KEY, got '%s'",
                             a->keys.items[i]);
    }
    kv[i] = a->keys.items[i];
  }
  /* sorted keys, as the official writers store them; a key given twice is a mistake */
  qsort(kv, n, sizeof *kv, cmp_key);
  for (size_t i = 1; i < n; i++) {
    if (cmp_key(&kv[i - 1], &kv[i]) == 0) {
      int len = (int)strcspn(kv[i], "=");
      rc = cli_usage_error(&cmd_add_spec, "key '%.*s' is given twice", len, kv[i]);
      free(kv);
      return rc;
    }
  }
  uint8_t *map = NULL;
  size_t len = 0, cap = 0;
  for (size_t i = 0; i < n; i++) {
    size_t klen = strcspn(kv[i], "=");
    const char *v = kv[i] + klen + 1;
    if (put_str(&map, &len, &cap, kv[i], klen) != 0 || put_str(&map, &len, &cap, v, strlen(v))) {
      free(kv);
      free(map);
      fprintf(stderr, "mcapkit add: out of memory\n");
      return CLI_EXIT_FAILURE;
    }
  }
  free(kv);
  if (len > UINT32_MAX) {
    free(map);
    return cli_usage_error(&cmd_add_spec, "the metadata is too large");
  }
  mcap_record rec;
  memset(&rec, 0, sizeof rec);
  rec.opcode = MCAP_OP_METADATA;
  rec.u.metadata.name = mcap_str_c(a->name);
  rec.u.metadata.metadata.data = map;
  rec.u.metadata.metadata.len = (uint32_t)len;
  uint64_t size = 0;
  rc = mcap_record_encode(&rec, NULL, 0, &size);
  if (rc == MCAP_OK) {
    it->meta_rec = malloc((size_t)size);
    if (!it->meta_rec) rc = MCAP_ENOMEM;
  }
  if (rc == MCAP_OK) rc = mcap_record_encode(&rec, it->meta_rec, size, &size);
  free(map);
  if (rc != MCAP_OK) {
    fprintf(stderr, "mcapkit add: cannot encode the metadata record: %s\n", mcap_strerror(rc));
    return CLI_EXIT_FAILURE;
  }
  it->meta_len = size;
  return CLI_CONTINUE;
}

/* ---------------------------------------------------------- the new file */

enum crc_phase { PH_DATA, PH_NONE, PH_SUMMARY };

struct wout {
  int fd;
  uint8_t *buf;
  size_t len;
  uint64_t off; /* bytes written so far (= offset of the next byte) */
  enum crc_phase phase;
  uint32_t data_crc, sum_crc;
  int err; /* errno of the first failure */
};

static void w_flush(struct wout *w) {
  const uint8_t *p = w->buf;
  size_t n = w->len;
  while (n && !w->err) {
    ssize_t k = write(w->fd, p, n);
    if (k < 0) {
      if (errno == EINTR) continue;
      w->err = errno;
      break;
    }
    p += k;
    n -= (size_t)k;
  }
  w->len = 0;
}

static void w_put(struct wout *w, const void *data, size_t n) {
  const uint8_t *p = data;
  if (w->phase == PH_DATA) w->data_crc = mcap_crc32(w->data_crc, p, n);
  if (w->phase == PH_SUMMARY) w->sum_crc = mcap_crc32(w->sum_crc, p, n);
  w->off += n;
  while (n) {
    size_t room = COPY_BUF - w->len;
    size_t k = n < room ? n : room;
    memcpy(w->buf + w->len, p, k);
    w->len += k;
    p += k;
    n -= k;
    if (w->len == COPY_BUF) w_flush(w);
  }
}

static void w_u8(struct wout *w, uint8_t v) {
  w_put(w, &v, 1);
}

static void w_u32(struct wout *w, uint32_t v) {
  uint8_t b[4];
  for (int i = 0; i < 4; i++) b[i] = (uint8_t)(v >> (8 * i));
  w_put(w, b, 4);
}

static void w_u64(struct wout *w, uint64_t v) {
  uint8_t b[8];
  for (int i = 0; i < 8; i++) b[i] = (uint8_t)(v >> (8 * i));
  w_put(w, b, 8);
}

static void w_record(struct wout *w, const mcap_record *rec) {
  uint64_t size = 0;
  if (mcap_record_encode(rec, NULL, 0, &size) != MCAP_OK) {
    w->err = EOVERFLOW;
    return;
  }
  uint8_t *b = malloc((size_t)size);
  if (!b) {
    w->err = ENOMEM;
    return;
  }
  mcap_record_encode(rec, b, size, &size);
  w_put(w, b, (size_t)size);
  free(b);
}

/* Copy [off, off + n) of the original into the output. */
static int copy_range(struct wout *w, int in_fd, uint64_t off, uint64_t n, uint8_t *buf, char *why,
                      size_t why_len) {
  while (n && !w->err) {
    size_t want = n < COPY_BUF ? (size_t)n : COPY_BUF;
    ssize_t k = pread(in_fd, buf, want, (off_t)off);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) {
      snprintf(why, why_len, "reading the original at offset %llu: %s", (unsigned long long)off,
               k < 0 ? strerror(errno) : "unexpected end of file");
      return -1;
    }
    w_put(w, buf, (size_t)k);
    off += (uint64_t)k;
    n -= (uint64_t)k;
  }
  return 0;
}

/* The Attachment record, data streamed from --file. Fills *ai (views into it). */
static int write_attachment(struct wout *w, const struct new_item *it, uint8_t *buf,
                            mcap_attachment_index *ai, char *why, size_t why_len) {
  size_t name_len = strlen(it->name), mt_len = strlen(it->media_type);
  uint64_t content = 8 + 8 + 4 + (uint64_t)name_len + 4 + (uint64_t)mt_len + 8 + it->data_size + 4;
  ai->offset = w->off;
  ai->length = 9 + content;
  ai->log_time = it->log_time;
  ai->create_time = it->create_time;
  ai->data_size = it->data_size;
  ai->name = mcap_str_c(it->name);
  ai->media_type = mcap_str_c(it->media_type);
  w_u8(w, MCAP_OP_ATTACHMENT);
  w_u64(w, content);
  /* the attachment CRC covers log_time through the last data byte */
  uint8_t head[8 + 8 + 4];
  for (int i = 0; i < 8; i++) head[i] = (uint8_t)(it->log_time >> (8 * i));
  for (int i = 0; i < 8; i++) head[8 + i] = (uint8_t)(it->create_time >> (8 * i));
  for (int i = 0; i < 4; i++) head[16 + i] = (uint8_t)((uint32_t)name_len >> (8 * i));
  uint32_t crc = mcap_crc32(0, head, sizeof head);
  w_put(w, head, sizeof head);
  crc = mcap_crc32(crc, it->name, name_len);
  w_put(w, it->name, name_len);
  uint8_t l4[4];
  for (int i = 0; i < 4; i++) l4[i] = (uint8_t)((uint32_t)mt_len >> (8 * i));
  crc = mcap_crc32(crc, l4, 4);
  w_put(w, l4, 4);
  crc = mcap_crc32(crc, it->media_type, mt_len);
  w_put(w, it->media_type, mt_len);
  uint8_t l8[8];
  for (int i = 0; i < 8; i++) l8[i] = (uint8_t)(it->data_size >> (8 * i));
  crc = mcap_crc32(crc, l8, 8);
  w_put(w, l8, 8);
  uint64_t left = it->data_size;
  while (left && !w->err) {
    size_t want = left < COPY_BUF ? (size_t)left : COPY_BUF;
    ssize_t k = read(it->data_fd, buf, want);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) {
      snprintf(why, why_len, "reading the attachment data: %s",
               k < 0 ? strerror(errno) : "the file became shorter while being read");
      return -1;
    }
    crc = mcap_crc32(crc, buf, (size_t)k);
    w_put(w, buf, (size_t)k);
    left -= (uint64_t)k;
  }
  if (!w->err && read(it->data_fd, buf, 1) > 0) {
    snprintf(why, why_len, "the attachment file grew while being read");
    return -1;
  }
  w_u32(w, crc);
  return 0;
}

struct group {
  uint8_t opcode;
  uint64_t start, length;
};

/*
 * Write the amended file into w. new_index is set when an index record for
 * the new item was written (and filled with it).
 */
static int write_amended(struct wout *w, int in_fd, const struct survey *sv,
                         const struct new_item *it, int *indexed, char *why, size_t why_len) {
  uint8_t *buf = malloc(COPY_BUF);
  struct group *groups = NULL;
  uint8_t *rec_bytes = NULL;
  int rc = -1;
  if (!buf) goto nomem;
  /* the data section as it is */
  w->phase = PH_DATA;
  w->data_crc = 0;
  if (copy_range(w, in_fd, 0, sv->data_end, buf, why, why_len) != 0) goto out;
  mcap_attachment_index ai;
  mcap_metadata_index mi;
  memset(&ai, 0, sizeof ai);
  memset(&mi, 0, sizeof mi);
  if (it->is_attachment) {
    if (write_attachment(w, it, buf, &ai, why, why_len) != 0) goto out;
  } else {
    mi.offset = w->off;
    mi.length = it->meta_len;
    mcap_record parsed;
    if (mcap_record_parse(MCAP_OP_METADATA, it->meta_rec + 9, it->meta_len - 9, 0, &parsed, NULL) !=
        MCAP_OK)
      goto bad_encoding;
    mi.name = parsed.u.metadata.name;
    w_put(w, it->meta_rec, (size_t)it->meta_len);
  }
  uint32_t data_crc = w->data_crc;
  w->phase = PH_NONE;
  w_u8(w, MCAP_OP_DATA_END);
  w_u64(w, 4);
  w_u32(w, sv->data_crc ? data_crc : 0);

  /* the summary: old records regrouped by opcode, the new index in its group */
  w->phase = PH_SUMMARY;
  w->sum_crc = 0;
  int have_summary = sv->footer.summary_start != 0 || sv->n_recs > 0;
  int add_ai = have_summary && it->is_attachment && (sv->has_ai_group || sv->attachments == 0);
  int add_mi = have_summary && !it->is_attachment && (sv->has_mi_group || sv->metadata == 0);
  *indexed = add_ai || add_mi;
  uint64_t summary_start = w->off;
  size_t n_groups = 0;
  groups = calloc(sv->n_recs + 2, sizeof *groups);
  if (!groups) goto nomem;
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
  for (size_t g = 0; g < n_order; g++) {
    uint8_t op = order[g];
    groups[n_groups].opcode = op;
    groups[n_groups].start = w->off;
    for (size_t i = 0; i < sv->n_recs; i++) {
      const struct sum_rec *sr = &sv->recs[i];
      if (sr->opcode != op) continue;
      if (op != MCAP_OP_STATISTICS) {
        if (copy_range(w, in_fd, sr->offset, sr->length, buf, why, why_len) != 0) goto out;
        continue;
      }
      /* Statistics: one more attachment or metadata record */
      free(rec_bytes);
      rec_bytes = malloc((size_t)sr->length);
      if (!rec_bytes) goto nomem;
      if (pread(in_fd, rec_bytes, (size_t)sr->length, (off_t)sr->offset) != (ssize_t)sr->length) {
        snprintf(why, why_len, "reading the Statistics record at offset %llu",
                 (unsigned long long)sr->offset);
        goto out;
      }
      mcap_record st;
      memset(&st, 0, sizeof st);
      if (mcap_record_parse(MCAP_OP_STATISTICS, rec_bytes + 9, sr->length - 9, sr->offset, &st,
                            NULL) != MCAP_OK) {
        snprintf(why, why_len, "the Statistics record at offset %llu is damaged",
                 (unsigned long long)sr->offset);
        goto out;
      }
      st.opcode = MCAP_OP_STATISTICS;
      uint32_t *count =
          it->is_attachment ? &st.u.statistics.attachment_count : &st.u.statistics.metadata_count;
      if (*count < UINT32_MAX) (*count)++;
      w_record(w, &st);
    }
    if (op == MCAP_OP_ATTACHMENT_INDEX && add_ai) {
      mcap_record rec;
      memset(&rec, 0, sizeof rec);
      rec.opcode = MCAP_OP_ATTACHMENT_INDEX;
      rec.u.attachment_index = ai;
      w_record(w, &rec);
    }
    if (op == MCAP_OP_METADATA_INDEX && add_mi) {
      mcap_record rec;
      memset(&rec, 0, sizeof rec);
      rec.opcode = MCAP_OP_METADATA_INDEX;
      rec.u.metadata_index = mi;
      w_record(w, &rec);
    }
    groups[n_groups].length = w->off - groups[n_groups].start;
    n_groups++;
  }
  if (n_groups == 0) summary_start = 0; /* no summary records at all */
  uint64_t summary_offset_start = 0;
  if (n_groups && sv->footer.summary_offset_start != 0) {
    summary_offset_start = w->off;
    for (size_t g = 0; g < n_groups; g++) {
      mcap_record rec;
      memset(&rec, 0, sizeof rec);
      rec.opcode = MCAP_OP_SUMMARY_OFFSET;
      rec.u.summary_offset.group_opcode = groups[g].opcode;
      rec.u.summary_offset.group_start = groups[g].start;
      rec.u.summary_offset.group_length = groups[g].length;
      w_record(w, &rec);
    }
  }
  /* the footer: its first 25 bytes are the end of what the summary CRC covers */
  w_u8(w, MCAP_OP_FOOTER);
  w_u64(w, 20);
  w_u64(w, summary_start);
  w_u64(w, summary_offset_start);
  uint32_t sum_crc = w->sum_crc;
  w->phase = PH_NONE;
  w_u32(w, sv->footer.summary_crc ? sum_crc : 0);
  w_put(w, MCAP_MAGIC, MCAP_MAGIC_SIZE);
  w_flush(w);
  if (w->err) {
    snprintf(why, why_len, "writing the new file: %s", strerror(w->err));
    goto out;
  }
  rc = 0;
  goto out;
bad_encoding:
  snprintf(why, why_len, "internal error: the new record does not parse");
  goto out;
nomem:
  snprintf(why, why_len, "out of memory");
out:
  free(buf);
  free(groups);
  free(rec_bytes);
  return rc;
}

/* ---------------------------------------------------------- the check */

/* Where the indexed reader gets the index of `path` from; -1 if it does not open. */
static int index_source(const char *path) {
  mcap_source src;
  mcap_error_info err;
  memset(&src, 0, sizeof src);
  memset(&err, 0, sizeof err);
  if (mcap_source_open_file(&src, path, &err) != MCAP_OK) return -1;
  mcap_reader *r = NULL;
  if (mcap_reader_open(&r, &src, NULL, &err) != MCAP_OK) return -1;
  int s = (int)mcap_reader_index_source(r, NULL);
  mcap_reader_free(r);
  return s;
}

static int verify(const char *orig, const char *tmp, const struct survey *sv,
                  const struct new_item *it, int indexed, uint64_t new_offset, char *why,
                  size_t why_len) {
  mcap_source src;
  mcap_error_info err;
  memset(&src, 0, sizeof src);
  memset(&err, 0, sizeof err);
  if (mcap_source_open_file(&src, tmp, &err) != MCAP_OK) {
    snprintf(why, why_len, "cannot reopen the new file: %s", err.msg);
    return -1;
  }
  mcap_stream_reader *r = NULL;
  if (mcap_stream_reader_new(&r, &src, NULL) != MCAP_OK) { /* every check on */
    snprintf(why, why_len, "out of memory");
    return -1;
  }
  uint64_t atts = 0, metas = 0;
  int rc = 0, data = 1;
  for (;;) {
    mcap_record rec;
    int mrc = mcap_stream_reader_next(r, &rec);
    if (mrc == MCAP_ITEROVER) break;
    if (mrc != MCAP_OK) {
      snprintf(why, why_len, "the new file does not read back: %s", mcap_stream_reader_errmsg(r));
      rc = -1;
      break;
    }
    if (rec.opcode == MCAP_OP_DATA_END) data = 0;
    if (data && !rec.in_chunk && rec.opcode == MCAP_OP_ATTACHMENT) atts++;
    if (data && !rec.in_chunk && rec.opcode == MCAP_OP_METADATA) metas++;
  }
  mcap_stream_reader_free(r);
  if (rc != 0) return rc;
  if (atts != sv->attachments + (it->is_attachment ? 1 : 0) ||
      metas != sv->metadata + (it->is_attachment ? 0 : 1)) {
    snprintf(why, why_len, "the new file does not hold the expected records");
    return -1;
  }
  /* the indexed view: the summary must still be usable and list the new record */
  memset(&src, 0, sizeof src);
  if (mcap_source_open_file(&src, tmp, &err) != MCAP_OK) {
    snprintf(why, why_len, "cannot reopen the new file: %s", err.msg);
    return -1;
  }
  mcap_reader *ir = NULL;
  if (mcap_reader_open(&ir, &src, NULL, &err) != MCAP_OK) {
    snprintf(why, why_len, "the new file does not open for indexed reading: %s", err.msg);
    return -1;
  }
  const char *reason = NULL;
  if (mcap_reader_index_source(ir, &reason) != MCAP_INDEX_FROM_SUMMARY &&
      index_source(orig) == (int)MCAP_INDEX_FROM_SUMMARY) {
    snprintf(why, why_len, "the new summary is not usable: %s", reason ? reason : "?");
    mcap_reader_free(ir);
    return -1;
  }
  int found = !indexed;
  if (it->is_attachment) {
    for (size_t i = 0; i < mcap_reader_attachment_count(ir); i++)
      if (mcap_reader_attachment_at(ir, i)->offset == new_offset) found = 1;
  } else {
    for (size_t i = 0; i < mcap_reader_metadata_count(ir); i++)
      if (mcap_reader_metadata_at(ir, i)->offset == new_offset) found = 1;
  }
  mcap_reader_free(ir);
  if (!found) {
    snprintf(why, why_len, "the new record is missing from the new index");
    return -1;
  }
  return 0;
}

/* ---------------------------------------------------------- the command */

static int fsync_dir(const char *dir) {
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return -1;
  int rc = fsync(fd);
  close(fd);
  return rc;
}

static int same_state(const struct stat *a, const struct stat *b) {
  return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
         a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

static int parse_item(cli_ctx *ctx, const struct add_args *a, int is_attachment,
                      struct new_item *it) {
  char err[256];
  it->is_attachment = is_attachment;
  it->data_fd = -1;
  if (!is_attachment) {
    if (a->file || a->media_type || a->content_type || a->log_time || a->create_time)
      return cli_usage_error(&cmd_add_spec,
                             "--file, --media-type, --log-time and --create-time are for "
                             "attachments");
    if (!a->name) return cli_usage_error(&cmd_add_spec, "missing '--name NAME'");
    if (a->keys.n == 0) return cli_usage_error(&cmd_add_spec, "missing '--key KEY=VALUE'");
    return build_metadata(a, it);
  }
  if (a->keys.n) return cli_usage_error(&cmd_add_spec, "--key is for metadata");
  if (!a->file) return cli_usage_error(&cmd_add_spec, "missing '--file FILE'");
  if (a->media_type && a->content_type)
    return cli_usage_error(&cmd_add_spec, "give --media-type or --content-type, not both");
  it->log_time = now_ns();
  if (a->log_time && cli_parse_time(a->log_time, &it->log_time, err, sizeof err) != 0)
    return cli_usage_error(&cmd_add_spec, "--log-time: %s", err);
  if (a->create_time && cli_parse_time(a->create_time, &it->create_time, err, sizeof err) != 0)
    return cli_usage_error(&cmd_add_spec, "--create-time: %s", err);
  it->media_type = a->media_type     ? a->media_type
                   : a->content_type ? a->content_type
                                     : "application/octet-stream";
  if (a->name) {
    it->name = a->name;
  } else {
    const char *slash = strrchr(a->file, '/');
    it->name = slash ? slash + 1 : a->file;
  }
  /* open the data first: a missing or unreadable file fails before any work */
  it->data_fd = open(a->file, O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (it->data_fd < 0 || fstat(it->data_fd, &st) != 0) {
    cli_error(ctx, "cannot read '%s': %s", a->file, strerror(errno));
    return CLI_EXIT_FAILURE;
  }
  if (!S_ISREG(st.st_mode)) {
    cli_error(ctx, "'%s' is not a regular file", a->file);
    return CLI_EXIT_FAILURE;
  }
  it->data_size = (uint64_t)st.st_size;
  if (!a->create_time)
    it->create_time = (uint64_t)st.st_mtim.tv_sec * 1000000000u + (uint64_t)st.st_mtim.tv_nsec;
  return CLI_CONTINUE;
}

int cmd_add(cli_ctx *ctx, int argc, char **argv) {
  struct add_args a;
  memset(&a, 0, sizeof a);
  int first;
  int rc = cli_parse(ctx, &cmd_add_spec, argc, argv, &a, &first);
  if (rc != CLI_CONTINUE) return rc;
  const char *kind = argv[first], *path = argv[first + 1];
  struct new_item it;
  memset(&it, 0, sizeof it);
  it.data_fd = -1;
  struct survey sv;
  memset(&sv, 0, sizeof sv);
  char *target = NULL, *tmp = NULL, *dir = NULL;
  int in_fd = -1, out_fd = -1, named = 0; /* named: the file tmp exists */
  struct wout w;
  memset(&w, 0, sizeof w);
  char why[768] = "";

  int is_att = strcmp(kind, "attachment") == 0;
  if (!is_att && strcmp(kind, "metadata") != 0) {
    rc =
        cli_usage_error(&cmd_add_spec, "unknown kind '%s' (expected attachment or metadata)", kind);
    goto out;
  }
  if (strcmp(path, "-") == 0) {
    rc = cli_usage_error(&cmd_add_spec, "FILE must be a file, not standard input");
    goto out;
  }
  rc = parse_item(ctx, &a, is_att, &it);
  if (rc != CLI_CONTINUE) goto out;

  /* the file itself, not a symbolic link to it, gets replaced */
  target = realpath(path, NULL);
  if (!target) {
    cli_error(ctx, "cannot open '%s': %s", path, strerror(errno));
    rc = CLI_EXIT_FAILURE;
    goto out;
  }
  in_fd = open(target, O_RDONLY | O_CLOEXEC);
  struct stat st0;
  if (in_fd < 0 || fstat(in_fd, &st0) != 0) {
    cli_error(ctx, "cannot open '%s': %s", path, strerror(errno));
    rc = CLI_EXIT_FAILURE;
    goto out;
  }
  if (!S_ISREG(st0.st_mode)) {
    cli_error(ctx, "'%s' is not a regular file", path);
    rc = CLI_EXIT_FAILURE;
    goto out;
  }
  rc = survey_file(ctx, target, path, &sv);
  if (rc != CLI_EXIT_OK) goto out;
  rc = CLI_EXIT_FAILURE;

  /* the temporary file beside the target, so the rename stays on one filesystem */
  dir = strdup(target);
  size_t tlen = strlen(target) + 32;
  tmp = malloc(tlen);
  if (!dir || !tmp) {
    cli_error(ctx, "out of memory");
    goto out;
  }
  char *slash = strrchr(dir, '/');
  const char *base = slash ? target + (slash - dir) + 1 : target;
  if (slash) *slash = '\0';
  snprintf(tmp, tlen, "%s/.%s.add-XXXXXX", slash ? dir : ".", base);
  if (slash && !*dir) snprintf(tmp, tlen, "/.%s.add-XXXXXX", base);
  /* Unnamed where possible: it gets the name in tmp only just before the rename. */
  char proc[64] = "";
#ifdef O_TMPFILE
  out_fd = open(slash ? (*dir ? dir : "/") : ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (out_fd >= 0) {
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", out_fd);
    if (access(proc, F_OK) != 0) {
      close(out_fd);
      out_fd = -1;
      proc[0] = '\0';
    }
  }
#endif
  if (out_fd < 0) {
    out_fd = mkostemp(tmp, O_CLOEXEC);
    named = out_fd >= 0;
  }
  if (out_fd < 0) {
    cli_error(ctx, "cannot create a temporary file beside '%s': %s", path, strerror(errno));
    free(tmp);
    tmp = NULL; /* nothing to remove */
    goto out;
  }
  (void)fchmod(out_fd, st0.st_mode & 07777);
  if (geteuid() == 0) (void)fchown(out_fd, st0.st_uid, st0.st_gid);
  w.fd = out_fd;
  w.buf = malloc(COPY_BUF);
  if (!w.buf) {
    cli_error(ctx, "out of memory");
    goto out;
  }
  int indexed = 0;
  uint64_t new_offset = sv.data_end; /* the new record starts where DataEnd was */
  if (write_amended(&w, in_fd, &sv, &it, &indexed, why, sizeof why) != 0) {
    cli_error(ctx, "'%s' left unchanged: %s", path, why);
    goto out;
  }
  if (fsync(out_fd) != 0 || (named && close(out_fd) != 0)) {
    if (named) out_fd = -1;
    cli_error(ctx, "'%s' left unchanged: writing the new file: %s", path, strerror(errno));
    goto out;
  }
  if (named) out_fd = -1; /* an unnamed one stays open: /proc reads it back */
  if (verify(target, named ? tmp : proc, &sv, &it, indexed, new_offset, why, sizeof why) != 0) {
    cli_error(ctx, "'%s' left unchanged: %s", path, why);
    rc = CLI_EXIT_FAILURE;
    goto out;
  }
  struct stat st1;
  if (stat(target, &st1) != 0 || !same_state(&st0, &st1)) {
    cli_error(ctx, "'%s' left unchanged: it was modified while being amended", path);
    goto out;
  }
  const char *fail = getenv("MCAPKIT_TEST_ADD_FAIL"); /* failure injection for the tests */
  if (fail && strcmp(fail, "before-rename") == 0) {
    cli_error(ctx, "'%s' left unchanged: failure injected before the rename", path);
    goto out;
  }
  if (!named) {
    /* A fresh unique name (mkostemp's, given up at once) for the unnamed file to take. */
    int pfd = mkostemp(tmp, O_CLOEXEC);
    if (pfd < 0 || close(pfd) != 0 || unlink(tmp) != 0 ||
        linkat(AT_FDCWD, proc, AT_FDCWD, tmp, AT_SYMLINK_FOLLOW) != 0) {
      cli_error(ctx, "'%s' left unchanged: cannot name the new file: %s", path, strerror(errno));
      goto out;
    }
    named = 1;
    int crc = close(out_fd);
    out_fd = -1;
    if (crc != 0) {
      cli_error(ctx, "'%s' left unchanged: writing the new file: %s", path, strerror(errno));
      goto out;
    }
  }
  if (rename(tmp, target) != 0) {
    cli_error(ctx, "'%s' left unchanged: cannot replace it: %s", path, strerror(errno));
    goto out;
  }
  free(tmp);
  tmp = NULL; /* renamed: nothing to remove */
  if (fsync_dir(slash ? (*dir ? dir : "/") : ".") != 0)
    cli_verbose(ctx, "could not sync the directory of '%s': %s", path, strerror(errno));
  if (is_att)
    cli_verbose(ctx, "added attachment '%s' (%llu bytes) at offset %llu%s", it.name,
                (unsigned long long)it.data_size, (unsigned long long)new_offset,
                indexed ? "" : " (not indexed: the file has no complete attachment index)");
  else
    cli_verbose(ctx, "added metadata '%s' at offset %llu%s", a.name, (unsigned long long)new_offset,
                indexed ? "" : " (not indexed: the file has no complete metadata index)");
  rc = CLI_EXIT_OK;
out:
  if (out_fd >= 0) close(out_fd);
  if (tmp) {
    if (named) unlink(tmp);
    free(tmp);
  }
  if (in_fd >= 0) close(in_fd);
  if (it.data_fd >= 0) close(it.data_fd);
  free(it.meta_rec);
  free(w.buf);
  free(sv.recs);
  free(target);
  free(dir);
  cli_opt_dispose(&cmd_add_spec, &a);
  return rc;
}
