/*
 * bench_read.c - `mcapkit-bench read FILE [options]`: read the messages of a
 * file with libmcap and print only `messages=N bytes=M` (M = payload bytes),
 * so the whole process can be timed against other MCAP libraries.
 *
 * Reader choice: `--order file` without topic or time filters uses the
 * streamed reader over a pread source (every CRC checked unless --no-crc);
 * anything else uses the indexed reader over the file source, with --threads
 * decompression workers (default: the cores). --source file|mmap overrides
 * the source of either reader.
 * --stream / --indexed force one or the other. --stats prints the reader's
 * work counters and its own elapsed time to stderr.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

enum { SRC_DEFAULT, SRC_FILE, SRC_MMAP };

struct read_args {
  const char *file;
  mcap_read_order order;
  const char **topics;
  size_t n_topics;
  int has_start, has_end;
  uint64_t start, end;
  int threads;
  int no_crc;
  int force_stream, force_indexed;
  int source; /* SRC_DEFAULT: mcap_source_open_file (a sliding mapped window) for both readers */
  int stats;
  int help;
};

static void read_usage(FILE *f) {
  fputs("usage: " BENCH_PROG
        " read FILE [--order file|log-time|reverse] [--topics A,B] [--start NS] [--end NS]\n"
        "                  [--threads N] [--no-crc] [--stream | --indexed] [--source mmap|file]\n"
        "                  [--stats]\n",
        f);
}

/* Split a comma-separated list in place (s is one of argv's strings, which we may modify). */
static int split_topics(char *s, struct read_args *a) {
  size_t n = 1;
  for (const char *p = s; *p; p++) n += *p == ',';
  a->topics = calloc(n, sizeof *a->topics);
  if (!a->topics) return -1;
  a->n_topics = 0;
  for (char *p = s;;) {
    char *comma = strchr(p, ',');
    if (comma) *comma = '\0';
    if (*p) a->topics[a->n_topics++] = p;
    if (!comma) break;
    p = comma + 1;
  }
  return 0;
}

/* `--opt VALUE` or `--opt=VALUE`: the value, advancing *i past it; NULL if missing. */
static char *opt_value(int argc, char **argv, int *i, const char *name) {
  size_t n = strlen(name);
  if (strncmp(argv[*i], name, n) == 0 && argv[*i][n] == '=') return argv[*i] + n + 1;
  if (strcmp(argv[*i], name) == 0) {
    if (*i + 1 >= argc) return NULL;
    return argv[++*i];
  }
  return NULL;
}

/* The options that take a value; `--opt VALUE` and `--opt=VALUE` are both accepted. */
static const char *const value_opts[] = {"--order", "--topics", "--start",
                                         "--end",   "--threads", "--source"};

/* The value option `arg` names (its canonical spelling), or NULL. */
static const char *value_opt(const char *arg) {
  for (size_t k = 0; k < sizeof value_opts / sizeof value_opts[0]; k++) {
    size_t n = strlen(value_opts[k]);
    if (strncmp(arg, value_opts[k], n) == 0 && (arg[n] == '\0' || arg[n] == '=')) {
      return value_opts[k];
    }
  }
  return NULL;
}

/* Apply a value option; 0 or -1 after a message. */
static int set_value_opt(struct read_args *a, const char *name, char *v) {
  uint64_t t;
  if (strcmp(name, "--order") == 0) {
    if (strcmp(v, "file") == 0) a->order = MCAP_ORDER_FILE;
    else if (strcmp(v, "log-time") == 0) a->order = MCAP_ORDER_LOG_TIME;
    else if (strcmp(v, "reverse") == 0) a->order = MCAP_ORDER_REVERSE;
    else {
      bench_err("read: unknown order '%s' (file, log-time or reverse)", v);
      return -1;
    }
  } else if (strcmp(name, "--topics") == 0) {
    free(a->topics);
    return split_topics(v, a);
  } else if (strcmp(name, "--start") == 0 || strcmp(name, "--end") == 0) {
    int is_start = strcmp(name, "--start") == 0;
    if (bench_parse_u64(v, is_start ? &a->start : &a->end)) {
      bench_err("read: '%s' is not a time in nanoseconds", v);
      return -1;
    }
    if (is_start) a->has_start = 1;
    else a->has_end = 1;
  } else if (strcmp(name, "--threads") == 0) {
    if (bench_parse_u64(v, &t) || t > 256) {
      bench_err("read: bad thread count '%s' (0..256, 0 = cores)", v);
      return -1;
    }
    a->threads = (int)t;
  } else { /* --source */
    if (strcmp(v, "file") == 0) a->source = SRC_FILE;
    else if (strcmp(v, "mmap") == 0) a->source = SRC_MMAP;
    else {
      bench_err("read: unknown source '%s' (mmap or file)", v);
      return -1;
    }
  }
  return 0;
}

static int parse_args(int argc, char **argv, struct read_args *a) {
  memset(a, 0, sizeof *a);
  a->order = MCAP_ORDER_FILE;
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i];
    const char *name = value_opt(arg);
    if (name) {
      char *v = opt_value(argc, argv, &i, name);
      if (!v) {
        bench_err("read: option '%s' needs a value", arg);
        return -1;
      }
      if (set_value_opt(a, name, v)) return -1;
    } else if (strcmp(arg, "--no-crc") == 0) {
      a->no_crc = 1;
    } else if (strcmp(arg, "--stream") == 0) {
      a->force_stream = 1;
    } else if (strcmp(arg, "--indexed") == 0) {
      a->force_indexed = 1;
    } else if (strcmp(arg, "--stats") == 0) {
      a->stats = 1;
    } else if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
      a->help = 1;
      return 0;
    } else if (arg[0] == '-' && arg[1] != '\0') {
      bench_err("read: unknown option '%s'", arg);
      return -1;
    } else if (!a->file) {
      a->file = arg;
    } else {
      bench_err("read: unexpected argument '%s'", arg);
      return -1;
    }
  }
  if (!a->file) {
    bench_err("read: no FILE given");
    return -1;
  }
  if (a->force_stream && a->force_indexed) {
    bench_err("read: --stream and --indexed exclude each other");
    return -1;
  }
  if (a->force_stream && a->order != MCAP_ORDER_FILE) {
    bench_err("read: the streamed reader reads in file order only");
    return -1;
  }
  return 0;
}

static void set_no_crc(mcap_reader_options *o) {
  o->no_chunk_crc = 1;
  o->no_data_crc = 1;
  o->no_summary_crc = 1;
  o->no_attachment_crc = 1;
}

/* The streamed reader; topic and time filters (with --stream) are applied to what it yields. */
static int read_streamed(const struct read_args *a, uint64_t *messages, uint64_t *bytes) {
  mcap_source src;
  mcap_reader_options o;
  mcap_stream_reader *r = NULL;
  mcap_error_info e = {0, 0, {0}};
  mcap_record rec;
  uint8_t *selected = NULL;
  int filter_topics = a->n_topics > 0;
  uint64_t n = 0, b = 0, chunks = 0;
  double t0 = bench_now();
  int rc;

  mcap_reader_options_init(&o);
  if (a->no_crc) set_no_crc(&o);
  if (filter_topics) {
    selected = calloc(65536, 1);
    if (!selected) return 1;
  }
  rc = a->source == SRC_MMAP ? mcap_source_open_mmap(&src, a->file, &e)
                             : mcap_source_open_file(&src, a->file, &e);
  if (rc) {
    bench_err("read: %s", e.msg[0] ? e.msg : mcap_strerror(rc));
    free(selected);
    return 1;
  }
  rc = mcap_stream_reader_new(&r, &src, &o);
  if (rc) {
    bench_err("read: %s", mcap_strerror(rc));
    free(selected);
    return 1;
  }
  for (;;) {
    rc = mcap_stream_reader_next(r, &rec);
    if (rc != MCAP_OK) break;
    if (rec.in_chunk && rec.offset == 0) chunks++; /* first record of a chunk */
    if (rec.opcode == MCAP_OP_MESSAGE) {
      const mcap_message *m = &rec.u.message;
      if (filter_topics && !selected[m->channel_id]) continue;
      if ((a->has_start && m->log_time < a->start) || (a->has_end && m->log_time > a->end)) {
        continue;
      }
      n++;
      b += m->data.len;
    } else if (rec.opcode == MCAP_OP_CHANNEL && filter_topics) {
      const mcap_channel *c = &rec.u.channel;
      for (size_t i = 0; i < a->n_topics; i++) {
        size_t len = strlen(a->topics[i]);
        if (len == c->topic.len && (len == 0 || memcmp(a->topics[i], c->topic.data, len) == 0)) {
          selected[c->id] = 1;
        }
      }
    }
  }
  if (rc != MCAP_ITEROVER) {
    bench_err("read: %s", mcap_stream_reader_errmsg(r));
    mcap_stream_reader_free(r);
    free(selected);
    return 1;
  }
  if (a->stats) {
    fprintf(stderr, "reader=stream chunks_opened=%" PRIu64 " position=%" PRIu64 " ns=%.0f\n",
            chunks, mcap_stream_reader_position(r), (bench_now() - t0) * 1e9);
  }
  mcap_stream_reader_free(r);
  free(selected);
  *messages = n;
  *bytes = b;
  return 0;
}

static int read_indexed(const struct read_args *a, uint64_t *messages, uint64_t *bytes) {
  mcap_source src;
  mcap_indexed_options o;
  mcap_reader *r = NULL;
  mcap_message_iter *it = NULL;
  mcap_error_info e = {0, 0, {0}};
  mcap_query q;
  mcap_message_view v;
  uint64_t n = 0, b = 0;
  double t0 = bench_now();
  int rc;

  memset(&o, 0, sizeof o);
  if (a->no_crc) set_no_crc(&o.base);
  o.threads = a->threads;
  rc = a->source == SRC_MMAP ? mcap_source_open_mmap(&src, a->file, &e)
                             : mcap_source_open_file(&src, a->file, &e);
  if (rc) {
    bench_err("read: %s", e.msg[0] ? e.msg : mcap_strerror(rc));
    return 1;
  }
  rc = mcap_reader_open(&r, &src, &o, &e);
  if (rc) {
    bench_err("read: %s", e.msg[0] ? e.msg : mcap_strerror(rc));
    return 1;
  }
  memset(&q, 0, sizeof q);
  q.topics = a->topics;
  q.n_topics = a->n_topics;
  q.has_start = a->has_start;
  q.start = a->start;
  q.has_end = a->has_end;
  q.end = a->end;
  q.order = a->order;
  rc = mcap_reader_query(r, &q, &it);
  if (rc) {
    bench_err("read: %s", mcap_reader_errmsg(r));
    mcap_reader_free(r);
    return 1;
  }
  for (;;) {
    rc = mcap_message_iter_next(it, &v);
    if (rc != MCAP_OK) break;
    n++;
    b += v.message.data.len;
  }
  if (rc != MCAP_ITEROVER) {
    bench_err("read: %s", mcap_reader_errmsg(r));
    mcap_message_iter_free(it);
    mcap_reader_free(r);
    return 1;
  }
  if (a->stats) {
    mcap_iter_stats st;
    const char *why = NULL;
    mcap_index_source from = mcap_reader_index_source(r, &why);
    mcap_message_iter_stats(it, &st);
    fprintf(stderr,
            "reader=indexed index=%s chunks_decompressed=%" PRIu64 " bytes_decompressed=%" PRIu64
            " peak_chunks_held=%" PRIu64 " peak_bytes_held=%" PRIu64 " ns=%.0f\n",
            from == MCAP_INDEX_FROM_SUMMARY ? "summary" : "scan", st.chunks_decompressed,
            st.bytes_decompressed, st.peak_chunks_held, st.peak_bytes_held,
            (bench_now() - t0) * 1e9);
  }
  mcap_message_iter_free(it);
  mcap_reader_free(r);
  *messages = n;
  *bytes = b;
  return 0;
}

int bench_read_once(const char *file, int stream, int threads, int no_crc, uint64_t *bytes) {
  struct read_args a;
  uint64_t messages = 0;
  memset(&a, 0, sizeof a);
  a.file = file;
  a.order = stream ? MCAP_ORDER_FILE : MCAP_ORDER_LOG_TIME;
  a.threads = threads;
  a.no_crc = no_crc;
  a.source = SRC_DEFAULT;
  return stream ? read_streamed(&a, &messages, bytes) : read_indexed(&a, &messages, bytes);
}

int bench_read_main(int argc, char **argv) {
  struct read_args a;
  uint64_t messages = 0, bytes = 0;
  int stream, rc;
  if (parse_args(argc, argv, &a)) {
    read_usage(stderr);
    free(a.topics);
    return 2;
  }
  if (a.help) {
    read_usage(stdout);
    free(a.topics);
    return 0;
  }
  stream = a.force_stream ||
           (!a.force_indexed && a.order == MCAP_ORDER_FILE && a.n_topics == 0 && !a.has_start &&
            !a.has_end);
  rc = stream ? read_streamed(&a, &messages, &bytes) : read_indexed(&a, &messages, &bytes);
  free(a.topics);
  if (rc) return rc;
  printf("messages=%" PRIu64 " bytes=%" PRIu64 "\n", messages, bytes);
  return fflush(stdout) == 0 ? 0 : 1;
}
