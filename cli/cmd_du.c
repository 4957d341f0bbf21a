/*
 * cmd_du.c - 'mcapkit du FILE': where the bytes of an MCAP file go.
 *
 * Two tables: the file's bytes by top-level record kind (Chunk, MessageIndex,
 * Attachment, summary records, ...), and message bytes by topic with an
 * estimate of each topic's share of the file (a chunk's stored bytes split
 * between topics in proportion to their uncompressed message records in it).
 *
 * Exact mode streams every record (chunks decompressed, CRCs checked).
 * --approximate reads only the summary and the MessageIndex records: message
 * sizes come from the gaps between indexed message offsets, chunks without
 * message indexes are apportioned by the per-channel message counts of the
 * statistics. '-' (standard input) is always measured exactly.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "inspect.h"
#include "mcap/mcap.h"
#include "output.h"

struct du_args {
  int approximate;
  int json;
};

static const cli_opt du_opts[] = {
    {"approximate", 'a', CLI_OPT_FLAG, offsetof(struct du_args, approximate), NULL,
     "estimate from the summary and message indexes, without decompressing"},
    {"json", 0, CLI_OPT_FLAG, offsetof(struct du_args, json), NULL, "print JSON"},
    {NULL, 0, CLI_OPT_FLAG, 0, NULL, NULL},
};

const cli_spec cmd_du_spec = {
    "du",
    "[--approximate] [--json] FILE",
    "Prints the bytes of FILE ('-' = standard input) by top-level record kind, and the message\n"
    "bytes by topic (payload bytes, without record headers) with each topic's estimated share\n"
    "of the stored file. The exact mode reads the whole file and checks every CRC;\n"
    "--approximate reads only the summary and the message indexes.",
    du_opts,
    1,
    1,
    CLI_ARGS_FILES,
    NULL,
};

#define N_CHANNELS 65536
#define MESSAGE_OVERHEAD 31u /* record envelope 9 + channel_id, sequence, log and publish time */

struct du_kind {
  char name[32];
  uint64_t count;
  uint64_t bytes;
};

struct du_chan {
  char *topic; /* NULL until the Channel record is seen */
  uint64_t messages;
  uint64_t message_bytes; /* payload */
  uint64_t record_bytes;  /* in chunk being measured (scratch) */
  double disk;            /* estimated stored bytes */
};

struct du {
  const cli_ctx *ctx;
  int approximate;
  uint64_t file_size; /* MCAP_SIZE_UNKNOWN for a pipe before the end */
  struct du_kind kinds[40];
  size_t n_kinds;
  struct du_chan *ch; /* N_CHANNELS */
  uint64_t messages, message_bytes;
  double unattributed_disk; /* chunk bytes no topic could be given */
  char err[512];
  mcap_damage damage; /* what could not be read (reported beside the tables) */
};

static struct du_kind *kind(struct du *d, const char *name) {
  for (size_t i = 0; i < d->n_kinds; i++)
    if (strcmp(d->kinds[i].name, name) == 0) return &d->kinds[i];
  if (d->n_kinds == sizeof d->kinds / sizeof d->kinds[0]) return &d->kinds[d->n_kinds - 1];
  struct du_kind *k = &d->kinds[d->n_kinds++];
  memset(k, 0, sizeof *k);
  snprintf(k->name, sizeof k->name, "%s", name);
  return k;
}

static void add_kind(struct du *d, const char *name, uint64_t count, uint64_t bytes) {
  struct du_kind *k = kind(d, name);
  k->count += count;
  k->bytes += bytes;
}

static int set_topic(struct du *d, uint16_t id, mcap_str topic) {
  if (d->ch[id].topic) return 0;
  d->ch[id].topic = cli_str_dup(topic);
  return d->ch[id].topic ? 0 : -1;
}

static void count_message(struct du *d, uint16_t channel, uint64_t data_len) {
  d->ch[channel].messages++;
  d->ch[channel].message_bytes += data_len;
  d->messages++;
  d->message_bytes += data_len;
}

/* Split `disk` stored bytes between the channels by their record_bytes scratch counts. */
static void apportion(struct du *d, double disk, uint64_t total_record_bytes) {
  if (total_record_bytes == 0) {
    d->unattributed_disk += disk;
    return;
  }
  for (size_t i = 0; i < N_CHANNELS; i++) {
    if (!d->ch[i].record_bytes) continue;
    d->ch[i].disk += disk * (double)d->ch[i].record_bytes / (double)total_record_bytes;
    d->ch[i].record_bytes = 0;
  }
}

/* ------------------------------------------------------------ exact mode */

static int walk_records(struct du *d, const uint8_t *p, uint64_t len, uint64_t chunk_off,
                        uint64_t chunk_record_len, int count);

/* Walk the decompressed records of a chunk: checked whole first, so that a damaged chunk
 * counts nothing (it is then skipped as a whole). */
static int walk_chunk(struct du *d, const uint8_t *p, uint64_t len, uint64_t chunk_off,
                      uint64_t chunk_record_len) {
  for (int pass = 0; pass < 2; pass++) {
    int rc = walk_records(d, p, len, chunk_off, chunk_record_len, pass);
    if (rc != 0) return rc;
  }
  return 0;
}

static int walk_records(struct du *d, const uint8_t *p, uint64_t len, uint64_t chunk_off,
                        uint64_t chunk_record_len, int count) {
  uint64_t pos = 0, msg_records = 0;
  while (pos < len) {
    if (len - pos < 9) {
      snprintf(d->err, sizeof d->err, "chunk at offset %llu: stray bytes at its end",
               (unsigned long long)chunk_off);
      return -1;
    }
    uint8_t op = p[pos];
    uint64_t clen = p[pos + 1] | (uint64_t)p[pos + 2] << 8 | (uint64_t)p[pos + 3] << 16 |
                    (uint64_t)p[pos + 4] << 24 | (uint64_t)p[pos + 5] << 32 |
                    (uint64_t)p[pos + 6] << 40 | (uint64_t)p[pos + 7] << 48 |
                    (uint64_t)p[pos + 8] << 56;
    if (clen > len - pos - 9) {
      snprintf(d->err, sizeof d->err, "chunk at offset %llu: record at %llu overruns the chunk",
               (unsigned long long)chunk_off, (unsigned long long)pos);
      return -1;
    }
    mcap_record rec;
    mcap_error_info e;
    memset(&e, 0, sizeof e);
    if (mcap_record_parse(op, p + pos + 9, clen, pos, &rec, &e) != MCAP_OK) {
      snprintf(d->err, sizeof d->err, "chunk at offset %llu: %s", (unsigned long long)chunk_off,
               e.msg);
      return -1;
    }
    if (!count) {
      /* checking only */
    } else if (op == MCAP_OP_CHANNEL) {
      if (set_topic(d, rec.u.channel.id, rec.u.channel.topic) != 0) return -2;
    } else if (op == MCAP_OP_MESSAGE) {
      count_message(d, rec.u.message.channel_id, rec.u.message.data.len);
      d->ch[rec.u.message.channel_id].record_bytes += 9 + clen;
      msg_records += 9 + clen;
    }
    pos += 9 + clen;
  }
  if (count) apportion(d, (double)chunk_record_len, msg_records);
  return 0;
}

/* A chunk that cannot be read (`why` names it): skipped, counted as damage, its bytes given
 * to no topic; the walk goes on. */
static void skip_chunk(struct du *d, uint64_t offset, uint64_t record_len, int code,
                       const char *why) {
  mcap_damage *dm = &d->damage;
  if (dm->problems++ == 0) {
    dm->code = code;
    dm->first_offset = offset;
    snprintf(dm->msg, sizeof dm->msg, "%.*s", (int)sizeof dm->msg - 1, why);
  }
  dm->chunks_skipped++;
  dm->bytes_skipped += record_len;
  d->unattributed_disk += (double)record_len;
}

static int du_exact(struct du *d, const char *path) {
  if (strcmp(path, "-") == 0 && cli_check_stdin(d->ctx) != CLI_EXIT_OK) return CLI_EXIT_USAGE;
  mcap_source src;
  mcap_error_info err;
  memset(&src, 0, sizeof src);
  memset(&err, 0, sizeof err);
  int mrc = strcmp(path, "-") == 0 ? mcap_source_from_fd(&src, STDIN_FILENO, &err)
                                   : mcap_source_open_file(&src, path, &err);
  if (mrc != MCAP_OK) {
    char msg[600];
    cli_error(d->ctx, "%s", cli_open_error(msg, sizeof msg, path, &err, mrc));
    return CLI_EXIT_FAILURE;
  }
  d->file_size = src.size;
  mcap_reader_options ro;
  mcap_reader_options_init(&ro);
  ro.raw_chunks = 1;
  mcap_stream_reader *r = NULL;
  if (mcap_stream_reader_new(&r, &src, &ro) != MCAP_OK) {
    cli_error(d->ctx, "out of memory");
    return CLI_EXIT_FAILURE;
  }
  mcap_decompressor *dec = NULL;
  uint8_t *buf = NULL;
  uint64_t buf_cap = 0;
  int rc = CLI_EXIT_OK;
  cli_progress bar;
  cli_progress_init(&bar, d->ctx);
  uint64_t n_rec = 0;
  for (;;) {
    mcap_record rec;
    mrc = mcap_stream_reader_next(r, &rec);
    if (mrc == MCAP_ITEROVER) break;
    if (mrc != MCAP_OK) {
      /* what was measured stands; the rest is reported as not read */
      mcap_damage sd;
      mcap_stream_reader_damage(r, &sd);
      if (sd.unreadable || mrc == MCAP_EIO || mrc == MCAP_ENOMEM) {
        cli_error(d->ctx, "'%s': %s", path, mcap_stream_reader_errmsg(r));
        rc = CLI_EXIT_FAILURE;
        break;
      }
      if (d->damage.problems == 0) {
        d->damage = sd;
      } else {
        d->damage.problems++;
        d->damage.rest_unread = 1;
        d->damage.stop_offset = sd.stop_offset;
        d->damage.bytes_skipped += sd.bytes_skipped;
      }
      if (sd.bytes_skipped) add_kind(d, "(not read)", 0, sd.bytes_skipped);
      break;
    }
    if (++n_rec % 256 == 0 && d->file_size != MCAP_SIZE_UNKNOWN && d->file_size)
      cli_progress_update(&bar, "du: %.0f%%",
                          100.0 * (double)mcap_stream_reader_position(r) / (double)d->file_size);
    uint64_t rec_len = 9 + rec.content.len;
    add_kind(d, mcap_opcode_name(rec.opcode), 1, rec_len);
    if (rec.opcode == MCAP_OP_CHANNEL) {
      if (set_topic(d, rec.u.channel.id, rec.u.channel.topic) != 0) goto nomem;
    } else if (rec.opcode == MCAP_OP_MESSAGE) {
      count_message(d, rec.u.message.channel_id, rec.u.message.data.len);
      d->ch[rec.u.message.channel_id].disk += (double)rec_len;
    } else if (rec.opcode == MCAP_OP_CHUNK) {
      const mcap_chunk *ck = &rec.u.chunk;
      if (ck->uncompressed_size > MCAP_DEFAULT_MAX_RECORD_SIZE) {
        char why[160];
        snprintf(why, sizeof why, "chunk at offset %llu: uncompressed size %llu is too large",
                 (unsigned long long)rec.offset, (unsigned long long)ck->uncompressed_size);
        skip_chunk(d, rec.offset, rec_len, MCAP_ELIMIT, why);
        continue;
      }
      if (!dec && mcap_decompressor_new(&dec) != MCAP_OK) goto nomem;
      if (ck->uncompressed_size > buf_cap) {
        uint8_t *nb = realloc(buf, (size_t)ck->uncompressed_size);
        if (!nb) goto nomem;
        buf = nb;
        buf_cap = ck->uncompressed_size;
      }
      memset(&err, 0, sizeof err);
      mrc = mcap_chunk_decompress(dec, ck, buf, ck->uncompressed_size, 0, &err);
      if (mrc == MCAP_ENOMEM) goto nomem;
      if (mrc != MCAP_OK) {
        char why[400];
        snprintf(why, sizeof why, "chunk at offset %llu: %s", (unsigned long long)rec.offset,
                 err.msg);
        skip_chunk(d, rec.offset, rec_len, mrc, why);
        continue;
      }
      int w = walk_chunk(d, buf, ck->uncompressed_size, rec.offset, rec_len);
      if (w == -2) goto nomem;
      if (w != 0) {
        skip_chunk(d, rec.offset, rec_len, MCAP_ERECORD, d->err);
        continue;
      }
    }
    continue;
  nomem:
    cli_error(d->ctx, "out of memory");
    rc = CLI_EXIT_FAILURE;
    break;
  }
  cli_progress_done(&bar);
  if (rc == CLI_EXIT_OK && !d->damage.rest_unread) {
    add_kind(d, "(magic)", 2, 2 * MCAP_MAGIC_SIZE);
    d->file_size = mcap_stream_reader_position(r);
  } else if (rc == CLI_EXIT_OK) {
    /* stopped early: the leading magic, what was read, and (for a file) the rest not read */
    add_kind(d, "(magic)", 1, MCAP_MAGIC_SIZE);
    if (d->file_size == MCAP_SIZE_UNKNOWN) d->file_size = d->damage.stop_offset;
  }
  free(buf);
  mcap_decompressor_free(dec);
  mcap_stream_reader_free(r);
  return rc;
}

/* ------------------------------------------------------ approximate mode */

struct idx_ent {
  uint64_t offset;
  uint16_t channel;
};

static int cmp_ent(const void *a, const void *b) {
  const struct idx_ent *x = a, *y = b;
  return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/*
 * Message sizes of one chunk from its MessageIndex records (the gaps between
 * message offsets). @return 1 done, 0 the chunk has no usable message index,
 * -1 out of memory.
 */
static int chunk_from_index(struct du *d, mcap_source *src, const mcap_chunk_index *ci,
                            struct idx_ent **ents, size_t *cap) {
  if (ci->message_index_length == 0 || mcap_map_u16u64_count(&ci->message_index_offsets) == 0)
    return 0;
  uint64_t start = ci->chunk_start_offset + ci->chunk_length;
  if (start < ci->chunk_start_offset || start > d->file_size ||
      ci->message_index_length > d->file_size - start)
    return 0;
  const uint8_t *p = NULL;
  uint64_t got = 0;
  mcap_error_info err;
  memset(&err, 0, sizeof err);
  if (src->read(src->payload, start, ci->message_index_length, &p, &got, &err) != MCAP_OK ||
      got != ci->message_index_length)
    return 0;
  size_t n = 0;
  uint64_t pos = 0, len = ci->message_index_length;
  while (pos + 9 <= len) {
    uint8_t op = p[pos];
    uint64_t clen = 0;
    for (int k = 7; k >= 0; k--) clen = clen << 8 | p[pos + 1 + (uint64_t)k];
    if (op != MCAP_OP_MESSAGE_INDEX || clen > len - pos - 9) return 0;
    mcap_record rec;
    if (mcap_record_parse(op, p + pos + 9, clen, start + pos, &rec, NULL) != MCAP_OK) return 0;
    uint64_t cnt = mcap_message_index_count(&rec.u.message_index);
    for (uint64_t i = 0; i < cnt; i++) {
      if (n == *cap) {
        size_t nc = *cap ? *cap * 2 : 1024;
        struct idx_ent *ne = realloc(*ents, nc * sizeof *ne);
        if (!ne) return -1;
        *ents = ne;
        *cap = nc;
      }
      uint64_t t;
      mcap_message_index_entry(&rec.u.message_index, i, &t, &(*ents)[n].offset);
      (*ents)[n].channel = rec.u.message_index.channel_id;
      n++;
    }
    pos += 9 + clen;
  }
  if (n == 0) return 0;
  qsort(*ents, n, sizeof **ents, cmp_ent);
  uint64_t total = 0;
  for (size_t i = 0; i < n; i++) {
    const struct idx_ent *e = &(*ents)[i];
    uint64_t next = i + 1 < n ? (*ents)[i + 1].offset : ci->uncompressed_size;
    uint64_t rec_bytes = next > e->offset ? next - e->offset : 0;
    count_message(d, e->channel, rec_bytes > MESSAGE_OVERHEAD ? rec_bytes - MESSAGE_OVERHEAD : 0);
    d->ch[e->channel].record_bytes += rec_bytes;
    total += rec_bytes;
  }
  apportion(d, (double)ci->chunk_length, total);
  return 1;
}

static int du_approximate(struct du *d, const char *path) {
  mcap_reader *r = NULL;
  int rc = cli_open_reader(d->ctx, path, 1, &r);
  if (rc != CLI_EXIT_OK) return rc;
  mcap_source src;
  mcap_error_info err;
  memset(&src, 0, sizeof src);
  memset(&err, 0, sizeof err);
  /* The windowed file source, not a whole-file mapping: reading every chunk's message indexes
   * through a mapping faulted in (and kept resident) the pages around each of them, 241 MiB
   * on a 447 MB file; the window touches only what is read. */
  if (mcap_source_open_file(&src, path, &err) != MCAP_OK) {
    char msg[600];
    cli_error(d->ctx, "%s", cli_open_error(msg, sizeof msg, path, &err, MCAP_EIO));
    mcap_reader_free(r);
    return CLI_EXIT_FAILURE;
  }
  d->file_size = src.size;
  for (size_t i = 0; i < mcap_reader_channel_count(r); i++) {
    const mcap_channel *c = mcap_reader_channel_at(r, i);
    if (set_topic(d, c->id, c->topic) != 0) goto nomem;
  }
  uint64_t accounted = 0;
  uint64_t unindexed_uncompressed = 0, unindexed_disk = 0;
  struct idx_ent *ents = NULL;
  size_t cap = 0;
  size_t n_chunks = mcap_reader_chunk_count(r);
  uint64_t n_mi = 0, mi_bytes = 0, chunk_bytes = 0;
  for (size_t i = 0; i < n_chunks; i++) {
    const mcap_chunk_index *ci = mcap_reader_chunk_at(r, i);
    chunk_bytes += ci->chunk_length;
    n_mi += mcap_map_u16u64_count(&ci->message_index_offsets);
    mi_bytes += ci->message_index_length;
    int got = chunk_from_index(d, &src, ci, &ents, &cap);
    if (got < 0) {
      free(ents);
      goto nomem;
    }
    if (got == 0) {
      unindexed_uncompressed += ci->uncompressed_size;
      unindexed_disk += ci->chunk_length;
    }
  }
  free(ents);
  if (n_chunks) add_kind(d, "Chunk", n_chunks, chunk_bytes);
  if (n_mi) add_kind(d, "MessageIndex", n_mi, mi_bytes);
  accounted += chunk_bytes + mi_bytes;
  /* chunks without message indexes: split by the statistics' per-channel counts */
  if (unindexed_disk) {
    const mcap_statistics *st = mcap_reader_statistics(r, NULL);
    uint64_t total = 0;
    mcap_map_iter it = {0};
    uint16_t id;
    uint64_t cnt;
    while (mcap_map_next_u16u64(&st->channel_message_counts, &it, &id, &cnt) == MCAP_OK)
      total += cnt;
    if (total == 0) {
      d->unattributed_disk += (double)unindexed_disk;
    } else {
      memset(&it, 0, sizeof it);
      while (mcap_map_next_u16u64(&st->channel_message_counts, &it, &id, &cnt) == MCAP_OK) {
        double share = (double)cnt / (double)total;
        uint64_t msgs = cnt > d->ch[id].messages ? cnt - d->ch[id].messages : 0;
        uint64_t bytes = (uint64_t)((double)unindexed_uncompressed * share);
        uint64_t payload = bytes > msgs * MESSAGE_OVERHEAD ? bytes - msgs * MESSAGE_OVERHEAD : 0;
        d->ch[id].messages += msgs;
        d->ch[id].message_bytes += payload;
        d->ch[id].disk += (double)unindexed_disk * share;
        d->messages += msgs;
        d->message_bytes += payload;
      }
    }
  }
  uint64_t att_bytes = 0, meta_bytes = 0;
  size_t n_att = mcap_reader_attachment_count(r), n_meta = mcap_reader_metadata_count(r);
  for (size_t i = 0; i < n_att; i++) att_bytes += mcap_reader_attachment_at(r, i)->length;
  for (size_t i = 0; i < n_meta; i++) meta_bytes += mcap_reader_metadata_at(r, i)->length;
  if (n_att) add_kind(d, "Attachment", n_att, att_bytes);
  if (n_meta) add_kind(d, "Metadata", n_meta, meta_bytes);
  accounted += att_bytes + meta_bytes;
  const mcap_footer *f = mcap_reader_footer(r);
  uint64_t footer_at = d->file_size >= MCAP_MAGIC_SIZE + MCAP_FOOTER_RECORD_SIZE
                           ? d->file_size - MCAP_MAGIC_SIZE - MCAP_FOOTER_RECORD_SIZE
                           : 0;
  if (f->summary_start && f->summary_start < footer_at) {
    add_kind(d, "(summary section)", 1, footer_at - f->summary_start);
    accounted += footer_at - f->summary_start;
  }
  if (footer_at && mcap_reader_index_source(r, NULL) == MCAP_INDEX_FROM_SCAN) {
    /* no usable footer (truncated, or still being written): the leading magic only */
    add_kind(d, "(magic)", 1, MCAP_MAGIC_SIZE);
    accounted += MCAP_MAGIC_SIZE;
    footer_at = 0;
  }
  if (footer_at) {
    add_kind(d, "Footer", 1, MCAP_FOOTER_RECORD_SIZE);
    add_kind(d, "(magic)", 2, 2 * MCAP_MAGIC_SIZE);
    accounted += MCAP_FOOTER_RECORD_SIZE + 2 * MCAP_MAGIC_SIZE;
  }
  if (accounted <= d->file_size) add_kind(d, "(other records)", 0, d->file_size - accounted);
  mcap_source_close(&src);
  mcap_reader_damage(r, &d->damage); /* reported beside the tables, as in exact mode */
  mcap_reader_free(r);
  return CLI_EXIT_OK;
nomem:
  cli_error(d->ctx, "out of memory");
  mcap_source_close(&src);
  mcap_reader_free(r);
  return CLI_EXIT_FAILURE;
}

/* ---------------------------------------------------------------- output */

struct topic_row {
  const char *topic;
  uint64_t messages, bytes;
  double disk;
};

static int cmp_row(const void *a, const void *b) {
  const struct topic_row *x = a, *y = b;
  if (x->bytes != y->bytes) return x->bytes > y->bytes ? -1 : 1;
  return strcmp(x->topic, y->topic);
}

static int cmp_topic(const void *a, const void *b) {
  const struct topic_row *x = a, *y = b;
  return strcmp(x->topic, y->topic);
}

static int cmp_kind(const void *a, const void *b) {
  const struct du_kind *x = a, *y = b;
  if (x->bytes != y->bytes) return x->bytes > y->bytes ? -1 : 1;
  return strcmp(x->name, y->name);
}

/* One row per topic (channels sharing a topic are added up), largest first. */
static struct topic_row *topic_rows(struct du *d, size_t *n_out) {
  size_t n = 0;
  struct topic_row *rows = malloc(N_CHANNELS * sizeof *rows);
  if (!rows) return NULL;
  for (size_t i = 0; i < N_CHANNELS; i++) {
    const struct du_chan *c = &d->ch[i];
    if (!c->messages && !c->topic) continue;
    if (!c->messages && c->disk == 0) continue; /* declared, never used */
    rows[n].topic = c->topic ? c->topic : "(unknown channel)";
    rows[n].messages = c->messages;
    rows[n].bytes = c->message_bytes;
    rows[n].disk = c->disk;
    n++;
  }
  qsort(rows, n, sizeof *rows, cmp_topic);
  size_t m = 0;
  for (size_t i = 0; i < n; i++) {
    if (m && strcmp(rows[m - 1].topic, rows[i].topic) == 0) {
      rows[m - 1].messages += rows[i].messages;
      rows[m - 1].bytes += rows[i].bytes;
      rows[m - 1].disk += rows[i].disk;
    } else {
      rows[m++] = rows[i];
    }
  }
  qsort(rows, m, sizeof *rows, cmp_row);
  *n_out = m;
  return rows;
}

static double pct(uint64_t part, uint64_t whole) {
  return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

static void print_human(struct du *d, const char *path, const struct topic_row *rows, size_t n) {
  char b1[CLI_FMT_SIZE];
  printf("file: %s, %s (%llu bytes), %s\n\n", path, cli_fmt_bytes(b1, sizeof b1, d->file_size),
         (unsigned long long)d->file_size,
         d->approximate ? "approximate (from indexes)" : "exact (every record read)");
  cli_table t;
  cli_table_init(&t, 5, "lrrrr");
  cli_table_add(&t, "record");
  cli_table_add(&t, "count");
  cli_table_add(&t, "bytes");
  cli_table_add(&t, "size");
  cli_table_add(&t, "%s", "% of file");
  uint64_t sum = 0;
  for (size_t i = 0; i < d->n_kinds; i++) {
    const struct du_kind *k = &d->kinds[i];
    sum += k->bytes;
    cli_table_add(&t, "%s", k->name);
    if (k->count)
      cli_table_add(&t, "%llu", (unsigned long long)k->count);
    else
      cli_table_add(&t, "-");
    cli_table_add(&t, "%llu", (unsigned long long)k->bytes);
    cli_table_add(&t, "%s", cli_fmt_bytes(b1, sizeof b1, k->bytes));
    cli_table_add(&t, "%.2f%%", pct(k->bytes, d->file_size));
  }
  cli_table_add(&t, "total");
  cli_table_add(&t, "%s", "");
  cli_table_add(&t, "%llu", (unsigned long long)sum);
  cli_table_add(&t, "%s", cli_fmt_bytes(b1, sizeof b1, sum));
  cli_table_add(&t, "%.2f%%", pct(sum, d->file_size));
  cli_table_print(&t, stdout, NULL);
  cli_table_dispose(&t);
  putchar('\n');

  cli_table_init(&t, 6, "lrrrrr");
  cli_table_add(&t, "topic");
  cli_table_add(&t, "messages");
  cli_table_add(&t, "message bytes");
  cli_table_add(&t, "size");
  cli_table_add(&t, "%s", "% of messages");
  cli_table_add(&t, "est. stored");
  for (size_t i = 0; i < n; i++) {
    cli_table_add(&t, "%s", rows[i].topic);
    cli_table_add(&t, "%llu", (unsigned long long)rows[i].messages);
    cli_table_add(&t, "%llu", (unsigned long long)rows[i].bytes);
    cli_table_add(&t, "%s", cli_fmt_bytes(b1, sizeof b1, rows[i].bytes));
    cli_table_add(&t, "%.2f%%", pct(rows[i].bytes, d->message_bytes));
    cli_table_add(&t, "%s", cli_fmt_bytes(b1, sizeof b1, (uint64_t)(rows[i].disk + 0.5)));
  }
  cli_table_add(&t, "total");
  cli_table_add(&t, "%llu", (unsigned long long)d->messages);
  cli_table_add(&t, "%llu", (unsigned long long)d->message_bytes);
  cli_table_add(&t, "%s", cli_fmt_bytes(b1, sizeof b1, d->message_bytes));
  cli_table_add(&t, "%.2f%%", d->message_bytes ? 100.0 : 0.0);
  double disk = 0;
  for (size_t i = 0; i < n; i++) disk += rows[i].disk;
  cli_table_add(&t, "%s", cli_fmt_bytes(b1, sizeof b1, (uint64_t)(disk + 0.5)));
  cli_table_print(&t, stdout, NULL);
  cli_table_dispose(&t);
}

static int print_json(struct du *d, const char *path, const struct topic_row *rows, size_t n) {
  json_object *doc = cli_json_document();
  cli_json_add_str(doc, "file", path);
  cli_json_add_bool(doc, "approximate", d->approximate);
  cli_json_add_u64(doc, "file_size", d->file_size);
  json_object *recs = json_object_new_array();
  for (size_t i = 0; i < d->n_kinds; i++) {
    json_object *o = json_object_new_object();
    cli_json_add_str(o, "record", d->kinds[i].name);
    cli_json_add_u64(o, "count", d->kinds[i].count);
    cli_json_add_u64(o, "bytes", d->kinds[i].bytes);
    cli_json_add_double(o, "percent", pct(d->kinds[i].bytes, d->file_size), 3);
    json_object_array_add(recs, o);
  }
  json_object_object_add(doc, "records", recs);
  cli_json_add_u64(doc, "message_count", d->messages);
  cli_json_add_u64(doc, "message_bytes", d->message_bytes);
  json_object *tops = json_object_new_array();
  for (size_t i = 0; i < n; i++) {
    json_object *o = json_object_new_object();
    cli_json_add_str(o, "topic", rows[i].topic);
    cli_json_add_u64(o, "message_count", rows[i].messages);
    cli_json_add_u64(o, "message_bytes", rows[i].bytes);
    cli_json_add_double(o, "percent", pct(rows[i].bytes, d->message_bytes), 3);
    cli_json_add_u64(o, "stored_bytes_estimate", (uint64_t)(rows[i].disk + 0.5));
    json_object_array_add(tops, o);
  }
  json_object_object_add(doc, "topics", tops);
  cli_json_add_damage(doc, &d->damage); /* "complete", and what could not be read */
  return cli_json_print(stdout, doc);
}

int cmd_du(cli_ctx *ctx, int argc, char **argv) {
  struct du_args a;
  memset(&a, 0, sizeof a);
  int first;
  int rc = cli_parse(ctx, &cmd_du_spec, argc, argv, &a, &first);
  if (rc != CLI_CONTINUE) return rc;
  const char *path = argv[first];
  struct du d;
  memset(&d, 0, sizeof d);
  d.ctx = ctx;
  d.ch = calloc(N_CHANNELS, sizeof *d.ch);
  if (!d.ch) {
    cli_error(ctx, "out of memory");
    return CLI_EXIT_FAILURE;
  }
  d.approximate = a.approximate && strcmp(path, "-") != 0;
  if (a.approximate && !d.approximate)
    cli_error(ctx, "note: standard input is measured exactly (no '--approximate' for '-')");
  rc = d.approximate ? du_approximate(&d, path) : du_exact(&d, path);
  if (rc == CLI_EXIT_OK) {
    qsort(d.kinds, d.n_kinds, sizeof d.kinds[0], cmp_kind);
    size_t n = 0;
    struct topic_row *rows = topic_rows(&d, &n);
    if (!rows) {
      cli_error(ctx, "out of memory");
      rc = CLI_EXIT_FAILURE;
    } else if (a.json || ctx->json) {
      if (print_json(&d, path, rows, n) != 0) rc = CLI_EXIT_FAILURE;
    } else {
      print_human(&d, path, rows, n);
    }
    free(rows);
    int drc = cli_report_damage(ctx, path, &d.damage);
    if (rc == CLI_EXIT_OK) rc = drc;
  }
  for (size_t i = 0; i < N_CHANNELS; i++) free(d.ch[i].topic);
  free(d.ch);
  return rc;
}
