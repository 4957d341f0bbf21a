/*
 * cmd_info.c - 'mcapkit info FILE... [--json]': what is in MCAP files.
 *
 * Two halves: info_scan() (standard input) fills a plain `struct info_data` by
 * streaming the whole file (every chunk decompressed, every message counted),
 * info_from_index() fills it from the indexed reader (the summary, plus each
 * channel's first and last log time from its message indexes), and
 * print_human()/print_json() render it; `source` says which one it was. A
 * channel's rate is pl_topic_frequency(), the same as `index`'s.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "mcap/mcap.h"
#include "output.h"
#include "pipeline/pipeline.h"

struct info_args {
  int json;
};

static const cli_opt info_opts[] = {
    {"json", 0, CLI_OPT_FLAG, offsetof(struct info_args, json), NULL, "print JSON"},
    {NULL, 0, CLI_OPT_FLAG, 0, NULL, NULL},
};

const cli_spec cmd_info_spec = {
    "info",
    "[--json] FILE...",
    "FILE may be '-' for standard input. A file with a summary section is described from its\n"
    "footer and summary, plus two message index records per channel for its first and last\n"
    "message (chunks are not read); a file without one, a damaged summary, or standard input\n"
    "is scanned in one pass ('source' says which). A channel's frequency is (messages - 1)\n"
    "over the span of its own messages, as 'mcapkit index' computes it. With several files:\n"
    "one block each, separated by a blank line; with --json one compact document per file and\n"
    "line (NDJSON). Exit status 0, or 1 if a file could not be read (the others are still\n"
    "described).",
    info_opts,
    1,
    -1,
    CLI_ARGS_FILES,
    NULL,
};

/* ------------------------------------------------------------ the data */

struct info_schema {
  uint16_t id;
  char *name;
  char *encoding;
};

struct info_channel {
  uint16_t id;
  uint16_t schema_id;
  char *topic;
  char *message_encoding;
  uint64_t messages;
  int have_times;       /* first/last known */
  uint64_t first, last; /* log times of its first and last message */
};

#define MAX_COMPRESSIONS 8

struct info_compression {
  char name[32]; /* "" = uncompressed; unknown names are truncated */
  uint64_t chunks;
  uint64_t compressed;
  uint64_t uncompressed;
};

struct info_interval {
  uint64_t start, end;
};

struct info_data {
  const char *source; /* "summary" or "scan" */
  char scan_why[256];  /* why a scan was needed, or why it stopped early */
  uint64_t file_size; /* MCAP_SIZE_UNKNOWN for pipes */
  char *profile;
  char *library;
  uint64_t messages;
  uint64_t start_time, end_time; /* valid when messages > 0 */
  uint64_t chunks;
  struct info_compression comp[MAX_COMPRESSIONS];
  size_t n_comp;
  int have_largest;
  uint64_t largest_offset, largest_compressed, largest_uncompressed;
  struct info_interval *intervals; /* message time range of every chunk with messages */
  size_t n_intervals, cap_intervals;
  struct info_schema *schemas;
  size_t n_schemas, cap_schemas;
  struct info_channel *channels;
  size_t n_channels, cap_channels;
  int32_t *channel_slot; /* channel id -> index in channels, or -1 (65536 entries) */
  uint64_t attachments;
  uint64_t metadata;
  int has_summary; /* the footer points at a summary section */
  int has_statistics;
  int has_chunk_indexes;
  int has_data_end;
  int rates_unknown;  /* no message indexes: per-channel times not read */
  mcap_damage damage; /* what could not be read */
};

static void info_dispose(struct info_data *d) {
  free(d->profile);
  free(d->library);
  free(d->intervals);
  for (size_t i = 0; i < d->n_schemas; i++) {
    free(d->schemas[i].name);
    free(d->schemas[i].encoding);
  }
  free(d->schemas);
  for (size_t i = 0; i < d->n_channels; i++) {
    free(d->channels[i].topic);
    free(d->channels[i].message_encoding);
  }
  free(d->channels);
  free(d->channel_slot);
  memset(d, 0, sizeof *d);
}

static char *dup_str(mcap_str s) {
  char *p = malloc((size_t)s.len + 1);
  if (!p) return NULL;
  if (s.len) memcpy(p, s.data, s.len);
  p[s.len] = '\0';
  return p;
}

/* Grow an array of `size`-byte elements to hold one more. @return 0 or -1. */
static int grow(void **arr, size_t *cap, size_t n, size_t size) {
  if (n < *cap) return 0;
  size_t ncap = *cap ? *cap * 2 : 16;
  void *p = realloc(*arr, ncap * size);
  if (!p) return -1;
  *arr = p;
  *cap = ncap;
  return 0;
}

/* ------------------------------------------------------------ the scan */

struct scan {
  struct info_data *d;
  char err[512];
  uint64_t err_offset;
  int err_code;
};

static int scan_fail(struct scan *s, int code, uint64_t offset, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int scan_fail(struct scan *s, int code, uint64_t offset, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(s->err, sizeof s->err, fmt, ap);
  va_end(ap);
  s->err_code = code;
  s->err_offset = offset;
  return code;
}

static int add_schema(struct scan *s, const mcap_schema *sc) {
  struct info_data *d = s->d;
  for (size_t i = 0; i < d->n_schemas; i++)
    if (d->schemas[i].id == sc->id) return MCAP_OK;
  if (grow((void **)&d->schemas, &d->cap_schemas, d->n_schemas, sizeof *d->schemas) != 0)
    return scan_fail(s, MCAP_ENOMEM, UINT64_MAX, "out of memory");
  struct info_schema *x = &d->schemas[d->n_schemas];
  x->id = sc->id;
  x->name = dup_str(sc->name);
  x->encoding = dup_str(sc->encoding);
  if (!x->name || !x->encoding) {
    free(x->name);
    free(x->encoding);
    return scan_fail(s, MCAP_ENOMEM, UINT64_MAX, "out of memory");
  }
  d->n_schemas++;
  return MCAP_OK;
}

static int add_channel(struct scan *s, const mcap_channel *ch) {
  struct info_data *d = s->d;
  if (d->channel_slot[ch->id] >= 0) return MCAP_OK;
  if (grow((void **)&d->channels, &d->cap_channels, d->n_channels, sizeof *d->channels) != 0)
    return scan_fail(s, MCAP_ENOMEM, UINT64_MAX, "out of memory");
  struct info_channel *x = &d->channels[d->n_channels];
  memset(x, 0, sizeof *x);
  x->id = ch->id;
  x->schema_id = ch->schema_id;
  x->topic = dup_str(ch->topic);
  x->message_encoding = dup_str(ch->message_encoding);
  if (!x->topic || !x->message_encoding) {
    free(x->topic);
    free(x->message_encoding);
    return scan_fail(s, MCAP_ENOMEM, UINT64_MAX, "out of memory");
  }
  d->channel_slot[ch->id] = (int32_t)d->n_channels;
  d->n_channels++;
  return MCAP_OK;
}

static void count_message(struct info_data *d, const mcap_message *m) {
  if (d->messages == 0 || m->log_time < d->start_time) d->start_time = m->log_time;
  if (d->messages == 0 || m->log_time > d->end_time) d->end_time = m->log_time;
  d->messages++;
  int32_t slot = d->channel_slot[m->channel_id];
  if (slot >= 0) {
    struct info_channel *c = &d->channels[slot];
    if (!c->have_times || m->log_time < c->first) c->first = m->log_time;
    if (!c->have_times || m->log_time > c->last) c->last = m->log_time;
    c->have_times = 1;
    c->messages++;
  }
  /* a message on an undeclared channel is the checker's business; info counts it in total */
}

static int count_chunk(struct scan *s, const mcap_chunk *ck, uint64_t offset) {
  struct info_data *d = s->d;
  d->chunks++;
  size_t i = 0;
  size_t clen = ck->compression.len < 31 ? ck->compression.len : 31;
  for (; i < d->n_comp; i++)
    if (strlen(d->comp[i].name) == clen &&
        (clen == 0 || memcmp(d->comp[i].name, ck->compression.data, clen) == 0))
      break;
  if (i == d->n_comp && d->n_comp < MAX_COMPRESSIONS) {
    if (clen) memcpy(d->comp[i].name, ck->compression.data, clen);
    d->comp[i].name[clen] = '\0';
    d->n_comp++;
  }
  if (i < d->n_comp) {
    d->comp[i].chunks++;
    d->comp[i].compressed += ck->records.len;
    d->comp[i].uncompressed += ck->uncompressed_size;
  }
  if (!d->have_largest || ck->uncompressed_size > d->largest_uncompressed) {
    d->have_largest = 1;
    d->largest_offset = offset;
    d->largest_compressed = ck->records.len;
    d->largest_uncompressed = ck->uncompressed_size;
  }
  return MCAP_OK;
}

static int add_interval(struct scan *s, uint64_t start, uint64_t end) {
  struct info_data *d = s->d;
  if (grow((void **)&d->intervals, &d->cap_intervals, d->n_intervals, sizeof *d->intervals) != 0)
    return scan_fail(s, MCAP_ENOMEM, UINT64_MAX, "out of memory");
  d->intervals[d->n_intervals].start = start;
  d->intervals[d->n_intervals].end = end;
  d->n_intervals++;
  return MCAP_OK;
}

/* Walk the decompressed records of a chunk. */
static int scan_chunk_records(struct scan *s, const uint8_t *p, uint64_t len, uint64_t chunk_off) {
  uint64_t pos = 0;
  while (pos < len) {
    if (len - pos < MCAP_RECORD_HEADER_SIZE)
      return scan_fail(s, MCAP_ERECORD, chunk_off,
                       "chunk at offset %llu: record header at %llu truncated",
                       (unsigned long long)chunk_off, (unsigned long long)pos);
    uint8_t op = p[pos];
    uint64_t rlen = 0;
    for (int i = 7; i >= 0; i--) rlen = (rlen << 8) | p[pos + 1 + (uint64_t)i];
    if (rlen > len - pos - MCAP_RECORD_HEADER_SIZE)
      return scan_fail(
          s, MCAP_ERECORD, chunk_off, "chunk at offset %llu: %s record at %llu overruns the chunk",
          (unsigned long long)chunk_off, mcap_opcode_name(op), (unsigned long long)pos);
    mcap_record rec;
    mcap_error_info err;
    memset(&err, 0, sizeof err);
    int rc = mcap_record_parse(op, p + pos + MCAP_RECORD_HEADER_SIZE, rlen, pos, &rec, &err);
    if (rc != MCAP_OK)
      return scan_fail(s, rc, chunk_off, "chunk at offset %llu: %s", (unsigned long long)chunk_off,
                       err.msg);
    switch (op) {
      case MCAP_OP_SCHEMA:
        rc = add_schema(s, &rec.u.schema);
        break;
      case MCAP_OP_CHANNEL:
        rc = add_channel(s, &rec.u.channel);
        break;
      case MCAP_OP_MESSAGE:
        count_message(s->d, &rec.u.message);
        break;
      default:
        break;
    }
    if (rc != MCAP_OK) return rc;
    pos += MCAP_RECORD_HEADER_SIZE + rlen;
  }
  return MCAP_OK;
}

/* Largest decompressed chunk info is willing to hold in memory. */
#define INFO_MAX_CHUNK (UINT64_C(1) << 32)

static int info_scan(mcap_source *src, struct info_data *d, struct scan *s, const cli_ctx *ctx) {
  memset(d, 0, sizeof *d);
  s->d = d;
  d->source = "scan";
  d->file_size = src->size;
  d->channel_slot = malloc(65536 * sizeof *d->channel_slot);
  if (!d->channel_slot) {
    mcap_source_close(src);
    return scan_fail(s, MCAP_ENOMEM, UINT64_MAX, "out of memory");
  }
  for (size_t i = 0; i < 65536; i++) d->channel_slot[i] = -1;

  mcap_reader_options ro;
  mcap_reader_options_init(&ro);
  ro.raw_chunks = 1; /* we want the Chunk records themselves (sizes, compression) */
  mcap_stream_reader *r = NULL;
  int rc = mcap_stream_reader_new(&r, src, &ro);
  if (rc != MCAP_OK) return scan_fail(s, rc, UINT64_MAX, "%s", mcap_strerror(rc));
  mcap_decompressor *dec = NULL;
  uint8_t *buf = NULL;
  uint64_t buf_cap = 0;
  cli_progress bar;
  cli_progress_init(&bar, ctx);
  uint64_t n_records = 0;

  for (;;) {
    mcap_record rec;
    rc = mcap_stream_reader_next(r, &rec);
    if (rc == MCAP_ITEROVER) {
      rc = MCAP_OK;
      break;
    }
    if (rc != MCAP_OK) {
      /* What was read so far stands; the damage is reported beside it. */
      mcap_stream_reader_damage(r, &d->damage);
      if (d->damage.unreadable || rc == MCAP_EIO || rc == MCAP_ENOMEM)
        scan_fail(s, rc, mcap_stream_reader_error_offset(r), "%s", mcap_stream_reader_errmsg(r));
      else
        rc = MCAP_OK;
      break;
    }
    if (++n_records % 1024 == 0 && d->file_size != MCAP_SIZE_UNKNOWN && d->file_size > 0)
      cli_progress_update(&bar, "info: %.0f%%",
                          100.0 * (double)mcap_stream_reader_position(r) / (double)d->file_size);
    switch (rec.opcode) {
      case MCAP_OP_HEADER:
        d->profile = dup_str(rec.u.header.profile);
        d->library = dup_str(rec.u.header.library);
        if (!d->profile || !d->library) rc = scan_fail(s, MCAP_ENOMEM, UINT64_MAX, "out of memory");
        break;
      case MCAP_OP_SCHEMA:
        rc = add_schema(s, &rec.u.schema);
        break;
      case MCAP_OP_CHANNEL:
        rc = add_channel(s, &rec.u.channel);
        break;
      case MCAP_OP_MESSAGE:
        count_message(d, &rec.u.message);
        break;
      case MCAP_OP_CHUNK: {
        const mcap_chunk *ck = &rec.u.chunk;
        rc = count_chunk(s, ck, rec.offset);
        if (rc != MCAP_OK) break;
        if (ck->uncompressed_size > INFO_MAX_CHUNK) {
          rc = scan_fail(s, MCAP_ELIMIT, rec.offset,
                         "chunk at offset %llu: uncompressed size %llu exceeds the limit %llu",
                         (unsigned long long)rec.offset, (unsigned long long)ck->uncompressed_size,
                         (unsigned long long)INFO_MAX_CHUNK);
          break;
        }
        if (!dec) {
          rc = mcap_decompressor_new(&dec);
          if (rc != MCAP_OK) {
            scan_fail(s, rc, UINT64_MAX, "out of memory");
            break;
          }
        }
        if (ck->uncompressed_size > buf_cap) {
          uint8_t *nb = realloc(buf, ck->uncompressed_size ? (size_t)ck->uncompressed_size : 1);
          if (!nb) {
            rc = scan_fail(
                s, MCAP_ENOMEM, rec.offset, "chunk at offset %llu: cannot allocate %llu bytes",
                (unsigned long long)rec.offset, (unsigned long long)ck->uncompressed_size);
            break;
          }
          buf = nb;
          buf_cap = ck->uncompressed_size;
        }
        mcap_error_info err;
        memset(&err, 0, sizeof err);
        rc = mcap_chunk_decompress(dec, ck, buf, ck->uncompressed_size, 0, &err);
        if (rc != MCAP_OK && rc != MCAP_ENOMEM) {
          /* a damaged chunk: skipped, counted, and the scan goes on */
          mcap_damage *dm = &d->damage;
          if (dm->problems++ == 0) {
            dm->code = rc;
            dm->first_offset = rec.offset;
            snprintf(dm->msg, sizeof dm->msg, "chunk at offset %llu: %.200s",
                     (unsigned long long)rec.offset, err.msg);
          }
          dm->chunks_skipped++;
          dm->bytes_skipped += 9 + rec.content.len;
          rc = MCAP_OK;
          break;
        }
        if (rc != MCAP_OK) {
          scan_fail(s, rc, rec.offset, "chunk at offset %llu: %s", (unsigned long long)rec.offset,
                    err.msg);
          break;
        }
        uint64_t before = d->messages;
        rc = scan_chunk_records(s, buf, ck->uncompressed_size, rec.offset);
        if (rc == MCAP_OK && d->messages > before)
          rc = add_interval(s, ck->message_start_time, ck->message_end_time);
        break;
      }
      case MCAP_OP_ATTACHMENT:
        d->attachments++;
        break;
      case MCAP_OP_METADATA:
        d->metadata++;
        break;
      case MCAP_OP_DATA_END:
        d->has_data_end = 1;
        break;
      case MCAP_OP_STATISTICS:
        d->has_statistics = 1;
        break;
      case MCAP_OP_CHUNK_INDEX:
        d->has_chunk_indexes = 1;
        break;
      case MCAP_OP_FOOTER:
        d->has_summary = rec.u.footer.summary_start != 0;
        break;
      default:
        break;
    }
    if (rc != MCAP_OK) break;
  }
  cli_progress_done(&bar);
  free(buf);
  mcap_decompressor_free(dec);
  mcap_stream_reader_free(r);
  return rc;
}

/* ------------------------------------------------------- derived values */

static int cmp_interval(const void *a, const void *b) {
  const struct info_interval *x = a, *y = b;
  return x->start < y->start ? -1 : x->start > y->start ? 1 : 0;
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y ? 1 : 0;
}

/*
 * Largest number of chunks whose [start, end] time ranges share an instant.
 * Sweep over starts in order, keeping the ends of the open ranges sorted in a
 * min-heap-free way: a sorted array of ends is enough at these sizes.
 */
static uint64_t max_overlap(struct info_data *d) {
  size_t n = d->n_intervals;
  if (n == 0) return 0;
  qsort(d->intervals, n, sizeof *d->intervals, cmp_interval);
  uint64_t *ends = malloc(n * sizeof *ends);
  if (!ends) return 0;
  for (size_t i = 0; i < n; i++) ends[i] = d->intervals[i].end;
  qsort(ends, n, sizeof *ends, cmp_u64);
  /* with starts sorted and ends sorted: open = #starts <= t - #ends < t */
  size_t j = 0;
  uint64_t best = 0;
  for (size_t i = 0; i < n; i++) {
    uint64_t t = d->intervals[i].start;
    while (j < n && ends[j] < t) j++;
    uint64_t open = (uint64_t)(i + 1 - j);
    if (open > best) best = open;
  }
  free(ends);
  return best;
}

static const struct info_schema *find_schema(const struct info_data *d, uint16_t id) {
  for (size_t i = 0; i < d->n_schemas; i++)
    if (d->schemas[i].id == id) return &d->schemas[i];
  return NULL;
}

static int cmp_channel(const void *a, const void *b) {
  const struct info_channel *x = a, *y = b;
  return (int)x->id - (int)y->id;
}

/* The channel's rate, as `index` computes a topic's (pl_topic_frequency: over the span of its
 * own messages); 0 when undefined. */
static double channel_hz(const struct info_channel *c) {
  return c->have_times ? pl_topic_frequency(c->messages, c->first, c->last) : 0;
}

static const char *comp_label(const char *name) {
  return name[0] ? name : "none";
}

/* ------------------------------------------------------------ rendering */

static void print_human(FILE *f, const char *path, struct info_data *d) {
  char b1[CLI_FMT_SIZE], b2[CLI_FMT_SIZE];
  fprintf(f, "file:         %s\n", path);
  if (d->file_size != MCAP_SIZE_UNKNOWN)
    fprintf(f, "size:         %s (%llu bytes)\n", cli_fmt_bytes(b1, sizeof b1, d->file_size),
            (unsigned long long)d->file_size);
  fprintf(f, "library:      %s\n", d->library && d->library[0] ? d->library : "(none)");
  fprintf(f, "profile:      %s\n", d->profile && d->profile[0] ? d->profile : "(none)");
  fprintf(f, "messages:     %llu\n", (unsigned long long)d->messages);
  if (d->messages) {
    fprintf(f, "start:        %s\n", cli_fmt_time(b1, sizeof b1, d->start_time));
    fprintf(f, "end:          %s\n", cli_fmt_time(b1, sizeof b1, d->end_time));
    fprintf(f, "duration:     %s\n", cli_fmt_duration(b1, sizeof b1, d->end_time - d->start_time));
  }
  fprintf(f, "chunks:       %llu", (unsigned long long)d->chunks);
  if (d->chunks) {
    fprintf(
        f, " (at most %llu overlapping in time; largest %s, %s compressed, at offset %llu)",
        (unsigned long long)max_overlap(d), cli_fmt_bytes(b1, sizeof b1, d->largest_uncompressed),
        cli_fmt_bytes(b2, sizeof b2, d->largest_compressed), (unsigned long long)d->largest_offset);
  }
  fputc('\n', f);
  if (d->n_comp) {
    cli_table t;
    cli_table_init(&t, 5, "lrrrr");
    cli_table_add(&t, "compression");
    cli_table_add(&t, "chunks");
    cli_table_add(&t, "compressed");
    cli_table_add(&t, "uncompressed");
    cli_table_add(&t, "ratio");
    for (size_t i = 0; i < d->n_comp; i++) {
      const struct info_compression *c = &d->comp[i];
      cli_table_add(&t, "%s", comp_label(c->name));
      cli_table_add(&t, "%llu", (unsigned long long)c->chunks);
      cli_table_add(&t, "%s", cli_fmt_bytes(b1, sizeof b1, c->compressed));
      cli_table_add(&t, "%s", cli_fmt_bytes(b2, sizeof b2, c->uncompressed));
      if (c->compressed)
        cli_table_add(&t, "%.2fx", (double)c->uncompressed / (double)c->compressed);
      else
        cli_table_add(&t, "-");
    }
    cli_table_print(&t, f, "  ");
    cli_table_dispose(&t);
  }
  fprintf(f, "channels:     %zu\n", d->n_channels);
  if (d->n_channels) {
    cli_table t;
    cli_table_init(&t, 6, "rlrrll");
    cli_table_add(&t, "id");
    cli_table_add(&t, "topic");
    cli_table_add(&t, "messages");
    cli_table_add(&t, "frequency");
    cli_table_add(&t, "schema");
    cli_table_add(&t, "encoding");
    for (size_t i = 0; i < d->n_channels; i++) {
      const struct info_channel *c = &d->channels[i];
      const struct info_schema *sc = c->schema_id ? find_schema(d, c->schema_id) : NULL;
      double hz = channel_hz(c);
      cli_table_add(&t, "%u", (unsigned)c->id);
      cli_table_add(&t, "%s", c->topic);
      cli_table_add(&t, "%llu", (unsigned long long)c->messages);
      if (hz > 0)
        cli_table_add(&t, "%.2f Hz", hz);
      else
        cli_table_add(&t, "-");
      if (sc)
        cli_table_add(&t, "%s [%s]", sc->name, sc->encoding[0] ? sc->encoding : "none");
      else if (c->schema_id)
        cli_table_add(&t, "(unknown schema %u)", (unsigned)c->schema_id);
      else
        cli_table_add(&t, "(none)");
      cli_table_add(&t, "%s", c->message_encoding);
    }
    cli_table_print(&t, f, "  ");
    cli_table_dispose(&t);
  }
  fprintf(f, "schemas:      %zu\n", d->n_schemas);
  fprintf(f, "attachments:  %llu\n", (unsigned long long)d->attachments);
  fprintf(f, "metadata:     %llu\n", (unsigned long long)d->metadata);
  fprintf(f, "summary:      %s", d->has_summary ? "yes" : "no");
  if (d->has_summary)
    fprintf(f, " (%s statistics, %s chunk indexes)", d->has_statistics ? "with" : "without",
            d->has_chunk_indexes ? "with" : "without");
  fputc('\n', f);
  if (d->rates_unknown)
    fputs("(no message indexes: channel frequencies need the chunks read; 'mcapkit index' "
          "does that)\n",
          f);
  if (strcmp(d->source, "summary") == 0)
    fputs("(read from the summary section)\n", f);
  else if (d->scan_why[0])
    fprintf(f, "(computed by scanning the whole file: %s)\n", d->scan_why);
  else
    fputs("(computed by scanning the whole file)\n", f);
}

/* --------------------------------------------------- from the index */

static void count_chunk_index(struct scan *s, const mcap_chunk_index *ci) {
  mcap_chunk ck;
  memset(&ck, 0, sizeof ck);
  ck.compression = ci->compression;
  ck.records.len = ci->compressed_size;
  ck.uncompressed_size = ci->uncompressed_size;
  (void)count_chunk(s, &ck, ci->chunk_start_offset);
}

/*
 * Fill `d` from the indexed reader: from the footer and summary when the file
 * has a usable one (cost independent of the data section's size), else from
 * the reader's own one-pass scan. @return MCAP_OK or an error in s.
 */
static int info_from_index(const char *path, struct info_data *d, struct scan *s) {
  mcap_source src;
  mcap_error_info err;
  mcap_indexed_options o;
  mcap_reader *r = NULL;
  const char *why = "";
  int rc, from_file = 0;
  memset(d, 0, sizeof *d);
  s->d = d;
  memset(&o, 0, sizeof o);
  o.threads = 1;
  for (int attempt = 0; attempt < 2; attempt++) {
    memset(&err, 0, sizeof err);
    rc = mcap_source_open_file(&src, path, &err);
    if (rc == MCAP_OK) rc = mcap_reader_open(&r, &src, &o, &err);
    if (rc != MCAP_OK) return scan_fail(s, rc, err.offset, "%s", err.msg);
    /* A summary without Statistics has no message counts: count them with a scan instead. */
    (void)mcap_reader_statistics(r, &from_file);
    if (mcap_reader_index_source(r, NULL) == MCAP_INDEX_FROM_SCAN || from_file) break;
    mcap_reader_free(r);
    r = NULL;
    o.force_scan = 1;
  }
  d->channel_slot = malloc(65536 * sizeof *d->channel_slot);
  if (!d->channel_slot) {
    mcap_reader_free(r);
    return scan_fail(s, MCAP_ENOMEM, UINT64_MAX, "out of memory");
  }
  for (size_t i = 0; i < 65536; i++) d->channel_slot[i] = -1;
  d->source = mcap_reader_index_source(r, &why) == MCAP_INDEX_FROM_SUMMARY ? "summary" : "scan";
  if (d->source[0] == 's' && d->source[1] == 'c') {
    const char *problem = mcap_reader_scan_problem(r);
    snprintf(d->scan_why, sizeof d->scan_why, "%s%s%s", why, problem[0] ? "; scan stopped: " : "",
             problem);
  }
  {
    const mcap_header *h = mcap_reader_header(r);
    const mcap_footer *f = mcap_reader_footer(r);
    const mcap_statistics *st = mcap_reader_statistics(r, &from_file);
    d->profile = dup_str(h->profile);
    d->library = dup_str(h->library);
    d->messages = st->message_count;
    d->start_time = st->message_start_time;
    d->end_time = st->message_end_time;
    d->has_summary = f->summary_start != 0;
    d->has_statistics = from_file;
    d->has_data_end = 1;
  }
  d->file_size = 0;
  {
    FILE *fp = fopen(path, "rb");
    if (fp) {
      if (fseeko(fp, 0, SEEK_END) == 0) d->file_size = (uint64_t)ftello(fp);
      fclose(fp);
    }
  }
  d->has_chunk_indexes = d->source[1] == 'u' && mcap_reader_chunk_count(r) > 0;
  for (size_t i = 0; i < mcap_reader_chunk_count(r); i++) {
    const mcap_chunk_index *ci = mcap_reader_chunk_at(r, i);
    count_chunk_index(s, ci);
    if (ci->message_start_time || ci->message_end_time ||
        mcap_map_u16u64_count(&ci->message_index_offsets)) {
      if (add_interval(s, ci->message_start_time, ci->message_end_time) != MCAP_OK) goto fail;
    }
  }
  for (size_t i = 0; i < mcap_reader_schema_count(r); i++) {
    if (add_schema(s, mcap_reader_schema_at(r, i)) != MCAP_OK) goto fail;
  }
  /* Each channel's first and last message (its rate, the recording's true start) come from
   * the message indexes: a few small reads per channel. Without them the chunks would have to
   * be read, which is index's job, not info's. */
  int times = 1;
  if (d->source[0] == 's' && d->source[1] == 'u') {
    for (size_t i = 0; i < mcap_reader_chunk_count(r); i++) {
      const mcap_chunk_index *ci = mcap_reader_chunk_at(r, i);
      if ((ci->message_start_time || ci->message_end_time) &&
          mcap_map_u16u64_count(&ci->message_index_offsets) == 0)
        times = 0;
    }
  }
  d->rates_unknown = !times;
  int all_times = times;
  for (size_t i = 0; i < mcap_reader_channel_count(r); i++) {
    const mcap_channel *c = mcap_reader_channel_at(r, i);
    if (add_channel(s, c) != MCAP_OK) goto fail;
    struct info_channel *x = &d->channels[d->channel_slot[c->id]];
    x->messages = mcap_reader_channel_message_count(r, c->id);
    if (!x->messages || !times) continue;
    int trc = mcap_reader_channel_time_range(r, c->id, &x->first, &x->last);
    if (trc == MCAP_OK) {
      x->have_times = 1;
    } else if (trc == MCAP_ITEROVER) {
      all_times = 0; /* counted but not found: the counts and the indexes disagree */
    } else {
      scan_fail(s, trc, UINT64_MAX, "%s", mcap_reader_errmsg(r));
      goto fail;
    }
  }
  /* The Statistics' start can be wrong where the writer took log time 0 for "unset". */
  if (all_times && d->messages) {
    uint64_t lo = 0, hi = 0;
    int any = 0;
    for (size_t i = 0; i < d->n_channels; i++) {
      const struct info_channel *x = &d->channels[i];
      if (!x->have_times) continue;
      if (!any || x->first < lo) lo = x->first;
      if (!any || x->last > hi) hi = x->last;
      any = 1;
    }
    if (any) {
      d->start_time = lo;
      d->end_time = hi;
    }
  }
  d->attachments = mcap_reader_attachment_count(r);
  d->metadata = mcap_reader_metadata_count(r);
  mcap_reader_damage(r, &d->damage);
  mcap_reader_free(r);
  return MCAP_OK;
fail:
  mcap_reader_free(r);
  return s->err_code ? s->err_code : MCAP_ENOMEM;
}

/* One document; with several files one compact line each (NDJSON). */
static int print_json(FILE *f, const char *path, struct info_data *d, int line) {
  char buf[CLI_FMT_SIZE];
  json_object *doc = cli_json_document();
  cli_json_add_str(doc, "source", d->source);
  if (d->scan_why[0]) cli_json_add_str(doc, "scan_reason", d->scan_why);
  cli_json_add_str(doc, "file", path);
  if (d->file_size != MCAP_SIZE_UNKNOWN) cli_json_add_u64(doc, "file_size", d->file_size);
  cli_json_add_str(doc, "library", d->library ? d->library : "");
  cli_json_add_str(doc, "profile", d->profile ? d->profile : "");
  cli_json_add_u64(doc, "message_count", d->messages);
  if (d->messages) {
    cli_json_add_time(doc, "start_time", d->start_time);
    cli_json_add_time(doc, "end_time", d->end_time);
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)(d->end_time - d->start_time));
    cli_json_add_str(doc, "duration_ns", buf);
    cli_json_add_double(doc, "duration", (double)(d->end_time - d->start_time) / 1e9, 9);
  }
  cli_json_add_u64(doc, "chunk_count", d->chunks);
  json_object *comps = json_object_new_array();
  for (size_t i = 0; i < d->n_comp; i++) {
    const struct info_compression *c = &d->comp[i];
    json_object *o = json_object_new_object();
    cli_json_add_str(o, "compression", comp_label(c->name));
    cli_json_add_u64(o, "chunk_count", c->chunks);
    cli_json_add_u64(o, "compressed_size", c->compressed);
    cli_json_add_u64(o, "uncompressed_size", c->uncompressed);
    if (c->compressed)
      cli_json_add_double(o, "ratio", (double)c->uncompressed / (double)c->compressed, 3);
    else
      json_object_object_add(o, "ratio", NULL);
    json_object_array_add(comps, o);
  }
  json_object_object_add(doc, "compression", comps);
  if (d->have_largest) {
    json_object *o = json_object_new_object();
    cli_json_add_u64(o, "offset", d->largest_offset);
    cli_json_add_u64(o, "compressed_size", d->largest_compressed);
    cli_json_add_u64(o, "uncompressed_size", d->largest_uncompressed);
    json_object_object_add(doc, "largest_chunk", o);
  } else {
    json_object_object_add(doc, "largest_chunk", NULL);
  }
  cli_json_add_u64(doc, "max_overlapping_chunks", max_overlap(d));
  cli_json_add_u64(doc, "schema_count", d->n_schemas);
  cli_json_add_u64(doc, "channel_count", d->n_channels);
  json_object *chans = json_object_new_array();
  for (size_t i = 0; i < d->n_channels; i++) {
    const struct info_channel *c = &d->channels[i];
    const struct info_schema *sc = c->schema_id ? find_schema(d, c->schema_id) : NULL;
    json_object *o = json_object_new_object();
    cli_json_add_u64(o, "id", c->id);
    cli_json_add_str(o, "topic", c->topic);
    cli_json_add_u64(o, "message_count", c->messages);
    double hz = channel_hz(c);
    if (hz > 0)
      cli_json_add_double(o, "frequency_hz", hz, 3);
    else
      json_object_object_add(o, "frequency_hz", NULL);
    cli_json_add_u64(o, "schema_id", c->schema_id);
    cli_json_add_str(o, "schema_name", sc ? sc->name : NULL);
    cli_json_add_str(o, "schema_encoding", sc ? sc->encoding : NULL);
    cli_json_add_str(o, "message_encoding", c->message_encoding);
    json_object_array_add(chans, o);
  }
  json_object_object_add(doc, "channels", chans);
  cli_json_add_u64(doc, "attachment_count", d->attachments);
  cli_json_add_u64(doc, "metadata_count", d->metadata);
  cli_json_add_bool(doc, "has_summary", d->has_summary);
  cli_json_add_bool(doc, "has_statistics", d->has_statistics);
  cli_json_add_bool(doc, "has_chunk_indexes", d->has_chunk_indexes);
  cli_json_add_damage(doc, &d->damage); /* "complete", and what could not be read */
  return line ? cli_json_print_line(f, doc) : cli_json_print(f, doc);
}

/* ------------------------------------------------------------- command */

/* One file: CLI_EXIT_OK, CLI_EXIT_PROBLEMS (some of it could not be read) or
 * CLI_EXIT_FAILURE (could not be read at all); said on stderr. */
static int info_one(cli_ctx *ctx, const struct info_args *a, const char *path, int several) {
  struct info_data d;
  struct scan s;
  memset(&s, 0, sizeof s);
  int mrc, rc;
  if (strcmp(path, "-") == 0 || pl_input_is_stream(path)) {
    /* A pipe (standard input, /dev/fd/N, <(cmd)) cannot be indexed: one streamed pass. */
    mcap_source src;
    mcap_error_info err;
    memset(&src, 0, sizeof src);
    memset(&err, 0, sizeof err);
    mrc = strcmp(path, "-") == 0 ? mcap_source_from_fd(&src, STDIN_FILENO, &err)
                                 : mcap_source_open_file(&src, path, &err);
    if (mrc != MCAP_OK) {
      char msg[600];
      cli_error(ctx, "%s", cli_open_error(msg, sizeof msg, path, &err, mrc));
      return CLI_EXIT_FAILURE;
    }
    mrc = info_scan(&src, &d, &s, ctx); /* takes ownership of src */
  } else {
    mrc = info_from_index(path, &d, &s);
  }
  if (mrc != MCAP_OK) {
    cli_file_error(ctx, strcmp(path, "-") == 0 ? "standard input" : path,
                   s.err[0] ? s.err : mcap_strerror(mrc));
    info_dispose(&d);
    return CLI_EXIT_FAILURE;
  }
  if (d.n_channels) qsort(d.channels, d.n_channels, sizeof *d.channels, cmp_channel);
  rc = CLI_EXIT_OK;
  if (a->json || ctx->json) {
    if (print_json(stdout, path, &d, several) != 0) rc = CLI_EXIT_FAILURE;
  } else {
    print_human(stdout, path, &d);
  }
  int drc = cli_report_damage(ctx, path, &d.damage);
  info_dispose(&d);
  return rc != CLI_EXIT_OK ? rc : drc;
}

int cmd_info(cli_ctx *ctx, int argc, char **argv) {
  struct info_args a = {0};
  int first;
  int rc = cli_parse(ctx, &cmd_info_spec, argc, argv, &a, &first);
  if (rc != CLI_CONTINUE) return rc;
  int n = argc - first, stdin_uses = 0;
  for (int i = first; i < argc; i++) stdin_uses += strcmp(argv[i], "-") == 0;
  if (stdin_uses > 1) return cli_usage_error(&cmd_info_spec, "'-' can be given once");
  /* Each file in turn; the exit status is the worst (1 over 3 over 0). */
  int worst = CLI_EXIT_OK, printed = 0;
  for (int i = first; i < argc; i++) {
    if (!(a.json || ctx->json) && printed) fputc('\n', stdout);
    int st = info_one(ctx, &a, argv[i], n > 1);
    printed = st != CLI_EXIT_FAILURE;
    if (st == CLI_EXIT_FAILURE) worst = CLI_EXIT_FAILURE;
    if (st == CLI_EXIT_PROBLEMS && worst == CLI_EXIT_OK) worst = CLI_EXIT_PROBLEMS;
  }
  return worst;
}
