/*
 * info.c - pl_inspect_info: what is in a recording (`mcapkit info`).
 *
 * Two ways to fill the same description: pl_inspect_info_scan streams the whole
 * input (every chunk decompressed, every message counted: for pipes), and
 * pl_inspect_info_create asks the indexed reader (the summary, plus each
 * channel's first and last log time from its message indexes; the reader's
 * own scan when the file has no usable summary with Statistics).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inspect_internal.h"

/* The description with what only the computation needs. */
struct info {
  pl_inspect_info pub; /* first: the handle's public view */
  struct interval {
    uint64_t start, end;
  } *intervals; /* message time range of every chunk with messages */
  size_t n_intervals, cap_intervals;
  size_t cap_schemas, cap_channels;
  int32_t *channel_slot; /* channel id -> index in channels, or -1 (65536 entries) */
  pl_error_info *err;
};

#define OOM(s) pl__insp_fail((s)->err, PL_ENOMEM, MCAP_ENOMEM, UINT64_MAX, "out of memory")

void pl_inspect_info_free(pl_inspect_info *info) {
  if (!info) return;
  struct info *s = (struct info *)info;
  free(info->profile);
  free(info->library);
  for (size_t i = 0; i < info->n_schemas; i++) {
    free(info->schemas[i].name);
    free(info->schemas[i].encoding);
  }
  free(info->schemas);
  for (size_t i = 0; i < info->n_channels; i++) {
    free(info->channels[i].topic);
    free(info->channels[i].message_encoding);
  }
  free(info->channels);
  free(s->intervals);
  free(s->channel_slot);
  free(s);
}

const pl_inspect_schema *pl_inspect_info_schema(const pl_inspect_info *d, uint16_t id) {
  for (size_t i = 0; i < d->n_schemas; i++)
    if (d->schemas[i].id == id) return &d->schemas[i];
  return NULL;
}

static struct info *info_new(pl_error_info *err) {
  struct info *s = calloc(1, sizeof *s);
  if (s) s->channel_slot = malloc(65536 * sizeof *s->channel_slot);
  if (!s || !s->channel_slot) {
    free(s);
    pl__insp_fail(err, PL_ENOMEM, MCAP_ENOMEM, UINT64_MAX, "out of memory");
    return NULL;
  }
  for (size_t i = 0; i < 65536; i++) s->channel_slot[i] = -1;
  s->err = err;
  return s;
}

static int add_schema(struct info *s, const mcap_schema *sc) {
  pl_inspect_info *d = &s->pub;
  for (size_t i = 0; i < d->n_schemas; i++)
    if (d->schemas[i].id == sc->id) return PL_OK;
  if (pl__insp_grow((void **)&d->schemas, &s->cap_schemas, d->n_schemas, sizeof *d->schemas))
    return OOM(s);
  pl_inspect_schema *x = &d->schemas[d->n_schemas];
  x->id = sc->id;
  x->name = pl__insp_dup(sc->name);
  x->encoding = pl__insp_dup(sc->encoding);
  if (!x->name || !x->encoding) {
    free(x->name);
    free(x->encoding);
    return OOM(s);
  }
  d->n_schemas++;
  return PL_OK;
}

static int add_channel(struct info *s, const mcap_channel *ch) {
  pl_inspect_info *d = &s->pub;
  if (s->channel_slot[ch->id] >= 0) return PL_OK;
  if (pl__insp_grow((void **)&d->channels, &s->cap_channels, d->n_channels, sizeof *d->channels))
    return OOM(s);
  pl_inspect_channel *x = &d->channels[d->n_channels];
  memset(x, 0, sizeof *x);
  x->id = ch->id;
  x->schema_id = ch->schema_id;
  x->topic = pl__insp_dup(ch->topic);
  x->message_encoding = pl__insp_dup(ch->message_encoding);
  if (!x->topic || !x->message_encoding) {
    free(x->topic);
    free(x->message_encoding);
    return OOM(s);
  }
  s->channel_slot[ch->id] = (int32_t)d->n_channels;
  d->n_channels++;
  return PL_OK;
}

static void count_message(struct info *s, const mcap_message *m) {
  pl_inspect_info *d = &s->pub;
  if (d->messages == 0 || m->log_time < d->start_time) d->start_time = m->log_time;
  if (d->messages == 0 || m->log_time > d->end_time) d->end_time = m->log_time;
  d->messages++;
  int32_t slot = s->channel_slot[m->channel_id];
  if (slot >= 0) {
    pl_inspect_channel *c = &d->channels[slot];
    if (!c->have_times || m->log_time < c->first) c->first = m->log_time;
    if (!c->have_times || m->log_time > c->last) c->last = m->log_time;
    c->have_times = 1;
    c->messages++;
  }
  /* a message on an undeclared channel is the checker's business; info counts it in total */
}

static void count_chunk(struct info *s, mcap_str compression, uint64_t compressed,
                        uint64_t uncompressed, uint64_t offset) {
  pl_inspect_info *d = &s->pub;
  d->chunks++;
  size_t i = 0;
  size_t clen = compression.len < 31 ? compression.len : 31;
  for (; i < d->n_comp; i++)
    if (strlen(d->comp[i].name) == clen &&
        (clen == 0 || memcmp(d->comp[i].name, compression.data, clen) == 0))
      break;
  if (i == d->n_comp && d->n_comp < PL_INSPECT_MAX_COMPRESSIONS) {
    if (clen) memcpy(d->comp[i].name, compression.data, clen);
    d->comp[i].name[clen] = '\0';
    d->n_comp++;
  }
  if (i < d->n_comp) {
    d->comp[i].chunks++;
    d->comp[i].compressed += compressed;
    d->comp[i].uncompressed += uncompressed;
  }
  if (!d->have_largest || uncompressed > d->largest_uncompressed) {
    d->have_largest = 1;
    d->largest_offset = offset;
    d->largest_compressed = compressed;
    d->largest_uncompressed = uncompressed;
  }
}

static int add_interval(struct info *s, uint64_t start, uint64_t end) {
  if (pl__insp_grow((void **)&s->intervals, &s->cap_intervals, s->n_intervals,
                    sizeof *s->intervals))
    return OOM(s);
  s->intervals[s->n_intervals].start = start;
  s->intervals[s->n_intervals].end = end;
  s->n_intervals++;
  return PL_OK;
}

static int mcap_fail(struct info *s, int mcap_code, uint64_t offset, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int mcap_fail(struct info *s, int mcap_code, uint64_t offset, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return pl__insp_fail(s->err, mcap_code == MCAP_ENOMEM ? PL_ENOMEM : PL_EMCAP, mcap_code,
                       offset, "%s", msg);
}

/* ------------------------------------------------------------ the scan */

/* Walk the decompressed records of a chunk. */
static int scan_chunk_records(struct info *s, const uint8_t *p, uint64_t len,
                              uint64_t chunk_off) {
  uint64_t pos = 0;
  while (pos < len) {
    if (len - pos < MCAP_RECORD_HEADER_SIZE)
      return mcap_fail(s, MCAP_ERECORD, chunk_off,
                       "chunk at offset %llu: record header at %llu truncated",
                       (unsigned long long)chunk_off, (unsigned long long)pos);
    uint8_t op = p[pos];
    uint64_t rlen = 0;
    for (int i = 7; i >= 0; i--) rlen = (rlen << 8) | p[pos + 1 + (uint64_t)i];
    if (rlen > len - pos - MCAP_RECORD_HEADER_SIZE)
      return mcap_fail(s, MCAP_ERECORD, chunk_off,
                       "chunk at offset %llu: %s record at %llu overruns the chunk",
                       (unsigned long long)chunk_off, mcap_opcode_name(op),
                       (unsigned long long)pos);
    mcap_record rec;
    mcap_error_info err;
    memset(&err, 0, sizeof err);
    int rc = mcap_record_parse(op, p + pos + MCAP_RECORD_HEADER_SIZE, rlen, pos, &rec, &err);
    if (rc != MCAP_OK)
      return mcap_fail(s, rc, chunk_off, "chunk at offset %llu: %s",
                       (unsigned long long)chunk_off, err.msg);
    rc = PL_OK;
    if (op == MCAP_OP_SCHEMA)
      rc = add_schema(s, &rec.u.schema);
    else if (op == MCAP_OP_CHANNEL)
      rc = add_channel(s, &rec.u.channel);
    else if (op == MCAP_OP_MESSAGE)
      count_message(s, &rec.u.message);
    if (rc != PL_OK) return rc;
    pos += MCAP_RECORD_HEADER_SIZE + rlen;
  }
  return PL_OK;
}

/* Largest decompressed chunk info is willing to hold in memory. */
#define INFO_MAX_CHUNK (UINT64_C(1) << 32)

/* A damaged chunk: skipped, counted, and the scan goes on. `why` names its offset. */
static int skip_damaged_chunk(struct info *s, const mcap_record *rec, int code, const char *why) {
  mcap_damage *dm = &s->pub.damage;
  if (dm->problems++ == 0) {
    dm->code = code;
    dm->first_offset = rec->offset;
    snprintf(dm->msg, sizeof dm->msg, "%.*s", (int)sizeof dm->msg - 1, why);
  }
  dm->chunks_skipped++;
  dm->bytes_skipped += 9 + rec->content.len;
  return PL_OK;
}

/* One Chunk record of the scan: counted, decompressed and walked (a damaged one skipped). */
static int scan_chunk(struct info *s, const mcap_record *rec, mcap_decompressor **dec,
                      uint8_t **buf, uint64_t *buf_cap) {
  pl_inspect_info *d = &s->pub;
  const mcap_chunk *ck = &rec->u.chunk;
  count_chunk(s, ck->compression, ck->records.len, ck->uncompressed_size, rec->offset);
  mcap_error_info err;
  memset(&err, 0, sizeof err);
  /* found before allocating what the declared size asks for: over the limit the scan stops,
   * an impossible size is one damaged chunk */
  int rc = mcap_chunk_size_check(ck, rec->offset, INFO_MAX_CHUNK, &err);
  if (rc == MCAP_ELIMIT) return mcap_fail(s, rc, rec->offset, "%s", err.msg);
  if (rc != MCAP_OK) return skip_damaged_chunk(s, rec, rc, err.msg);
  if (!*dec && mcap_decompressor_new(dec) != MCAP_OK) return OOM(s);
  if (ck->uncompressed_size > *buf_cap) {
    uint8_t *nb = realloc(*buf, ck->uncompressed_size ? (size_t)ck->uncompressed_size : 1);
    if (!nb)
      return mcap_fail(s, MCAP_ENOMEM, rec->offset,
                       "chunk at offset %llu: cannot allocate %llu bytes",
                       (unsigned long long)rec->offset, (unsigned long long)ck->uncompressed_size);
    *buf = nb;
    *buf_cap = ck->uncompressed_size;
  }
  rc = mcap_chunk_decompress(*dec, ck, *buf, ck->uncompressed_size, 0, &err);
  if (rc != MCAP_OK && rc != MCAP_ENOMEM) {
    char why[sizeof err.msg + 48];
    snprintf(why, sizeof why, "chunk at offset %llu: %s", (unsigned long long)rec->offset,
             err.msg);
    return skip_damaged_chunk(s, rec, rc, why);
  }
  if (rc != MCAP_OK)
    return mcap_fail(s, rc, rec->offset, "chunk at offset %llu: %s",
                     (unsigned long long)rec->offset, err.msg);
  uint64_t before = d->messages;
  rc = scan_chunk_records(s, *buf, ck->uncompressed_size, rec->offset);
  if (rc == PL_OK && d->messages > before)
    rc = add_interval(s, ck->message_start_time, ck->message_end_time);
  return rc;
}

static int cmp_interval(const void *a, const void *b) {
  const struct interval *x = a, *y = b;
  return x->start < y->start ? -1 : x->start > y->start ? 1 : 0;
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y ? 1 : 0;
}

/*
 * Largest number of chunks whose [start, end] time ranges share an instant: a sweep over
 * the starts in order against the ends sorted (open = #starts <= t - #ends < t).
 */
static uint64_t max_overlap(struct info *s) {
  size_t n = s->n_intervals;
  if (n == 0) return 0;
  qsort(s->intervals, n, sizeof *s->intervals, cmp_interval);
  uint64_t *ends = malloc(n * sizeof *ends);
  if (!ends) return 0;
  for (size_t i = 0; i < n; i++) ends[i] = s->intervals[i].end;
  qsort(ends, n, sizeof *ends, cmp_u64);
  size_t j = 0;
  uint64_t best = 0;
  for (size_t i = 0; i < n; i++) {
    uint64_t t = s->intervals[i].start;
    while (j < n && ends[j] < t) j++;
    uint64_t open = (uint64_t)(i + 1 - j);
    if (open > best) best = open;
  }
  free(ends);
  return best;
}

static int cmp_channel(const void *a, const void *b) {
  const pl_inspect_channel *x = a, *y = b;
  return (int)x->id - (int)y->id;
}

/* What both ways end with: derived figures, channels in id order. */
static void finish(struct info *s) {
  pl_inspect_info *d = &s->pub;
  d->max_overlapping_chunks = max_overlap(s);
  if (d->n_channels) qsort(d->channels, d->n_channels, sizeof *d->channels, cmp_channel);
}

int pl_inspect_info_scan(pl_inspect_info **out, mcap_source *src,
                         pl_inspect_progress_fn progress, void *progress_ctx,
                         pl_error_info *err) {
  *out = NULL;
  struct info *s = info_new(err);
  if (!s) {
    mcap_source_close(src);
    return PL_ENOMEM;
  }
  pl_inspect_info *d = &s->pub;
  d->source = "scan";
  d->file_size = src->size;
  mcap_reader_options ro;
  mcap_reader_options_init(&ro);
  ro.raw_chunks = 1; /* the Chunk records themselves (sizes, compression) */
  mcap_stream_reader *r = NULL;
  int rc = mcap_stream_reader_new(&r, src, &ro); /* takes src */
  if (rc != MCAP_OK) {
    pl_inspect_info_free(d);
    return pl__insp_fail(err, PL_ENOMEM, rc, UINT64_MAX, "%s", mcap_strerror(rc));
  }
  mcap_decompressor *dec = NULL;
  uint8_t *buf = NULL;
  uint64_t buf_cap = 0, n_records = 0;
  rc = PL_OK;
  for (;;) {
    mcap_record rec;
    int mrc = mcap_stream_reader_next(r, &rec);
    if (mrc == MCAP_ITEROVER) break;
    if (mrc != MCAP_OK) {
      /* What was read so far stands; the damage is reported beside it. */
      mcap_stream_reader_damage(r, &d->damage);
      if (d->damage.unreadable || mrc == MCAP_EIO || mrc == MCAP_ENOMEM)
        rc = mcap_fail(s, mrc, mcap_stream_reader_error_offset(r), "%s",
                       mcap_stream_reader_errmsg(r));
      break;
    }
    if (progress && ++n_records % 1024 == 0 && d->file_size != MCAP_SIZE_UNKNOWN &&
        d->file_size > 0)
      progress(progress_ctx, mcap_stream_reader_position(r), d->file_size);
    switch (rec.opcode) {
      case MCAP_OP_HEADER:
        d->profile = pl__insp_dup(rec.u.header.profile);
        d->library = pl__insp_dup(rec.u.header.library);
        if (!d->profile || !d->library) rc = OOM(s);
        break;
      case MCAP_OP_SCHEMA:
        rc = add_schema(s, &rec.u.schema);
        break;
      case MCAP_OP_CHANNEL:
        rc = add_channel(s, &rec.u.channel);
        break;
      case MCAP_OP_MESSAGE:
        count_message(s, &rec.u.message);
        break;
      case MCAP_OP_CHUNK:
        rc = scan_chunk(s, &rec, &dec, &buf, &buf_cap);
        break;
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
    if (rc != PL_OK) break;
  }
  free(buf);
  mcap_decompressor_free(dec);
  mcap_stream_reader_free(r);
  finish(s);
  *out = d; /* what was read, even on failure */
  return rc;
}

/* --------------------------------------------------- from the index */

/* Each channel's first and last message (its rate, the recording's true start) from the
 * message indexes: a few small reads per channel. Without them the chunks would have to be
 * read, which is `index`'s job, not info's. */
static int channel_times(struct info *s, mcap_reader *r) {
  pl_inspect_info *d = &s->pub;
  int times = 1;
  if (strcmp(d->source, "summary") == 0) {
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
    if (add_channel(s, c) != PL_OK) return PL_ENOMEM;
    pl_inspect_channel *x = &d->channels[s->channel_slot[c->id]];
    x->messages = mcap_reader_channel_message_count(r, c->id);
    if (!x->messages || !times) continue;
    int trc = mcap_reader_channel_time_range(r, c->id, &x->first, &x->last);
    if (trc == MCAP_OK)
      x->have_times = 1;
    else if (trc == MCAP_ITEROVER)
      all_times = 0; /* counted but not found: the counts and the indexes disagree */
    else
      return mcap_fail(s, trc, UINT64_MAX, "%s", mcap_reader_errmsg(r));
  }
  /* The Statistics' start can be wrong where the writer took log time 0 for "unset". */
  if (all_times && d->messages) {
    uint64_t lo = 0, hi = 0;
    int any = 0;
    for (size_t i = 0; i < d->n_channels; i++) {
      const pl_inspect_channel *x = &d->channels[i];
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
  return PL_OK;
}

/* Open `path`; a summary without Statistics has no message counts: count with a scan. */
static int open_for_info(const char *path, mcap_reader **r, pl_error_info *err) {
  mcap_indexed_options o;
  memset(&o, 0, sizeof o);
  o.threads = 1;
  for (int attempt = 0; attempt < 2; attempt++) {
    mcap_source src;
    mcap_error_info e;
    memset(&src, 0, sizeof src);
    memset(&e, 0, sizeof e);
    int rc = mcap_source_open_file(&src, path, &e);
    if (rc == MCAP_OK) rc = mcap_reader_open(r, &src, &o, &e);
    if (rc != MCAP_OK)
      return pl__insp_fail(err, rc == MCAP_ENOMEM ? PL_ENOMEM : PL_EMCAP, rc, e.offset, "%s",
                           e.msg[0] ? e.msg : mcap_strerror(rc));
    int from_file = 0;
    (void)mcap_reader_statistics(*r, &from_file);
    if (mcap_reader_index_source(*r, NULL) == MCAP_INDEX_FROM_SCAN || from_file) break;
    mcap_reader_free(*r);
    *r = NULL;
    o.force_scan = 1;
  }
  return PL_OK;
}

int pl_inspect_info_create(pl_inspect_info **out, const char *path, pl_error_info *err) {
  *out = NULL;
  mcap_reader *r = NULL;
  int rc = open_for_info(path, &r, err);
  if (rc != PL_OK) return rc;
  struct info *s = info_new(err);
  if (!s) {
    mcap_reader_free(r);
    return PL_ENOMEM;
  }
  pl_inspect_info *d = &s->pub;
  const char *why = "";
  int from_file = 0;
  d->source = mcap_reader_index_source(r, &why) == MCAP_INDEX_FROM_SUMMARY ? "summary" : "scan";
  if (strcmp(d->source, "scan") == 0) {
    const char *problem = mcap_reader_scan_problem(r);
    snprintf(d->scan_why, sizeof d->scan_why, "%s%s%s", why ? why : "",
             problem[0] ? "; scan stopped: " : "", problem);
  }
  const mcap_header *h = mcap_reader_header(r);
  const mcap_footer *f = mcap_reader_footer(r);
  const mcap_statistics *st = mcap_reader_statistics(r, &from_file);
  d->profile = pl__insp_dup(h->profile);
  d->library = pl__insp_dup(h->library);
  d->messages = st->message_count;
  d->start_time = st->message_start_time;
  d->end_time = st->message_end_time;
  d->has_summary = f->summary_start != 0;
  d->has_statistics = from_file;
  d->has_data_end = 1;
  d->file_size = 0;
  FILE *fp = fopen(path, "rb");
  if (fp) {
    if (fseeko(fp, 0, SEEK_END) == 0) d->file_size = (uint64_t)ftello(fp);
    fclose(fp);
  }
  rc = d->profile && d->library ? PL_OK : OOM(s);
  d->has_chunk_indexes = strcmp(d->source, "summary") == 0 && mcap_reader_chunk_count(r) > 0;
  for (size_t i = 0; rc == PL_OK && i < mcap_reader_chunk_count(r); i++) {
    const mcap_chunk_index *ci = mcap_reader_chunk_at(r, i);
    count_chunk(s, ci->compression, ci->compressed_size, ci->uncompressed_size,
                ci->chunk_start_offset);
    if (ci->message_start_time || ci->message_end_time ||
        mcap_map_u16u64_count(&ci->message_index_offsets))
      rc = add_interval(s, ci->message_start_time, ci->message_end_time);
  }
  for (size_t i = 0; rc == PL_OK && i < mcap_reader_schema_count(r); i++)
    rc = add_schema(s, mcap_reader_schema_at(r, i));
  if (rc == PL_OK) rc = channel_times(s, r);
  d->attachments = mcap_reader_attachment_count(r);
  d->metadata = mcap_reader_metadata_count(r);
  mcap_reader_damage(r, &d->damage);
  mcap_reader_free(r);
  if (rc != PL_OK) {
    pl_inspect_info_free(d);
    return rc;
  }
  finish(s);
  *out = d;
  return PL_OK;
}
