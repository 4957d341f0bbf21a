/*
 * bench.c - mcapkit-bench: libmcap's benchmark program (see README.md).
 *
 *   mcapkit-bench read FILE [options]     read one file, print messages=N bytes=M
 *   mcapkit-bench [all] [options]         the whole suite on a cached robot corpus or a file
 *   mcapkit-bench tools [options]         the mcapkit CLI's rewrite/lake commands (bench_tools.c)
 *   mcapkit-bench startup [options]       mcapkit's start-up time (bench_startup.c)
 *   mcapkit-bench raw FILE [REPEATS]      raw decompression of a file's chunks
 *   mcapkit-bench rounds FILE [options]   reads against raw, alternating in one process (bench_rounds.c)
 *   mcapkit-bench cache FILE STATE [COPY] put a file into a page-cache state
 *
 * The suite makes a robot recording of about N MiB of message payload once
 * per compression (zstd, lz4, none) and chunk size in a cache directory (or
 * takes an existing file), then measures writing, CRC-32, raw decompression,
 * streamed and indexed reading, queries and opening by the summary. Every read
 * runs as its own child process (`read` mode) so it gets its own wall time and
 * peak RSS, and before every run the file is put into the page-cache state
 * asked for (bench.h: written, read or cold) by plain system calls, never by
 * mcapkit's own reader.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "bench.h"

#define MIB (1024.0 * 1024.0)
#define CRC_BUFFER_SIZE ((size_t)64 << 20)
#define CRC_CACHE_SIZE ((size_t)1 << 20) /* a typical decompressed chunk */
#define RSS_LIMIT_KIB (64L * 1024)       /* every read: < 64 MiB */
#define TARGET_RATIO 0.95                /* streamed and 1-thread indexed reads vs raw */
#define TARGET_NONE_MBPS 6000.0          /* 1-thread indexed read of uncompressed chunks */
#define TARGET_SPEEDUP 1.85              /* 2 threads vs 1 thread */
#define TARGET_OPEN_MS 5.0
#define MAX_COMP 3

static void usage(FILE *f) {
  fputs("usage: " BENCH_PROG " [all] [--cache DIR] [--size-mb N] [--chunk-size BYTES] [--file FILE]\n"
        "                  [--page-cache written|read|cold] [--compression LIST] [--no-write]\n"
        "                  [--quick] [--repeats N] [--json]\n"
        "       " BENCH_PROG " tools [--cache DIR] [--size-mb N] [--quick] [--repeats N] [--json]\n"
        "                  [--mcapkit PATH] [--only ID[,ID...]] [--chunk-size 1M|4M]\n"
        "       " BENCH_PROG " convert [--cache DIR] [--size-mb N] [--repeats N] [--mcapkit PATH]\n"
        "       " BENCH_PROG " startup [--runs N] [--file FILE] [--json]\n"
        "       " BENCH_PROG " decode [--duration S] [--seconds S] [--repeats N] [--json]\n"
        "       " BENCH_PROG " raw FILE [REPEATS]\n"
        "       " BENCH_PROG " rounds FILE [--rounds N] [--json]\n"
        "       " BENCH_PROG " cache FILE read|cold\n"
        "       " BENCH_PROG " cache FILE written COPY\n"
        "       " BENCH_PROG " read FILE [--order file|log-time|reverse] [--topics A,B]\n"
        "                  [--start NS] [--end NS] [--threads N] [--no-crc]\n"
        "                  [--stream | --indexed] [--source mmap|file] [--stats]\n"
        "\n"
        "all   generate (once, cached) a robot corpus of N MiB of message payload (default\n"
        "      1024; 200 with --quick) per compression (--compression zstd,lz4,none picks\n"
        "      some) and chunk size (--chunk-size, default 1M; K and M suffixes), or take\n"
        "      --file FILE, and report write, CRC, decompression and read speeds, query\n"
        "      costs and peak memory. Before every read the file is put into a page-cache\n"
        "      state by plain system calls (--page-cache, default written: copied with\n"
        "      write() just before; read: evicted, then read back with read(); cold:\n"
        "      evicted). --no-write skips the write timings; --quick times everything once\n"
        "tools time the mcapkit CLI (compress, filter, merge, lake, index; cp for comparison)\n"
        "      on the same cached corpus, each command a measured child process, with 1 and 2\n"
        "      threads where it has threads, inputs copied with write() before each run\n"
        "convert  time 'mcapkit convert' (bags stored/lz4/bz2, a db3 -> zstd) against plain zstd\n"
        "      of the same bytes; inputs made once by the test writers, cached\n"
        "startup median start-up time of 'mcapkit version' and 'mcapkit info FILE' next to a\n"
        "      trivial C program (target: within 3 ms)\n"
        "decode  decode /imu, /tf and /odom CDR messages of a robot recording with\n"
        "      pl_decode, to values, NDJSON and CSV, on one core (MB/s of payload)\n"
        "raw   decompress a file's chunks from memory (the baseline the reads are\n"
        "      measured against), without and with the CRCs\n"
        "rounds  alternate raw passes and each read (streamed, indexed, with and without\n"
        "      CRCs, 1 and 2 threads) of FILE in one process, N rounds (--rounds, default\n"
        "      15); the median over the rounds of raw / read, robust to the machine's drift\n"
        "cache put FILE into a page-cache state (written: copied to COPY, which is then\n"
        "      the file in that state)\n"
        "read  read a file's messages and print only 'messages=N bytes=M' (payload bytes);\n"
        "      file order without filters uses the streamed reader, anything else the\n"
        "      indexed reader (file source, --threads, default = cores)\n",
        f);
}

#define MAX_REPEATS 100

/* One read measurement (a child process, best of the repeats). */
struct meas {
  int ran;
  double s;          /* best wall time */
  double cpu_s;      /* least CPU time (user + system) */
  long rss_kib;      /* largest peak RSS over the repeats */
  uint64_t messages, bytes;
  uint64_t chunks_dec, bytes_dec, peak_chunks, peak_bytes; /* indexed reader counters */
  /* Paired with raw decompression: raw time / read time of each run, the raw pass done just
   * before the run's copy, so that both meet the machine in the same mood. */
  double pair[MAX_REPEATS];
  int n_pair;
};

struct comp {
  const char *name;  /* column title: the compression, or the file's chunk compression */
  mcap_compression c;
  char path[4096];   /* the corpus file (or --file) */
  char copy[4096];   /* its copy in the `written` state */
  const char *read_path; /* the file the reads open: path, or copy when written */
  struct bench_corpus_info info;
  double write_mbps; /* pre-generated messages into a null sink */
  uint64_t write_out;
  struct bench_raw raw;
  struct bench_raw_set *rawset; /* the chunks loaded for paired raw passes, during the reads */
  struct meas stream, idx1, idx2, imu1, imu2, window;
  uint64_t imu_expected;
  uint64_t win_start, win_end;
  double open_s;
  uint16_t n_channels;
  char compression[16]; /* of the first chunk, from the chunk index */
};

struct suite {
  char cache[4096];
  uint64_t size_mib;
  uint64_t chunk_size; /* 0: the writer's default (1 MiB) */
  const char *file;    /* --file: measure this file instead of the corpus */
  unsigned want;       /* bit per corpus compression (zstd, lz4, none) */
  int quick, repeats, json, no_write;
  enum bench_state state;
  long cpus;
  double load[2]; /* 1-minute load average at the start and at the end; < 0 if unknown */
  double duration;
  double gen_only_s;
  uint64_t gen_only_bytes;
  uint64_t msgset_bytes;
  int wrote; /* the write timings ran */
  struct bench_crc crc;
  struct comp comps[MAX_COMP];
  int n_comps;
};

static const struct {
  const char *name;
  mcap_compression c;
} corpus_kinds[MAX_COMP] = {
    {"zstd", MCAP_COMPRESSION_ZSTD}, {"lz4", MCAP_COMPRESSION_LZ4}, {"none", MCAP_COMPRESSION_NONE}};

/* ---------------------------------------------------------------- options */

/* "4M", "1048576", "512K": bytes; 0 or -1. */
static int parse_size(const char *v, uint64_t *out) {
  char num[32];
  size_t n = strlen(v);
  uint64_t mul = 1, x;
  if (n == 0 || n >= sizeof num) return -1;
  memcpy(num, v, n + 1);
  if (num[n - 1] == 'K' || num[n - 1] == 'k') mul = 1024;
  else if (num[n - 1] == 'M' || num[n - 1] == 'm') mul = 1024 * 1024;
  if (mul != 1) num[n - 1] = '\0';
  if (bench_parse_u64(num, &x) || x == 0 || x > (UINT64_C(1) << 40) / mul) return -1;
  *out = x * mul;
  return 0;
}

static int parse_compressions(const char *v, unsigned *want) {
  char buf[64];
  size_t n = strlen(v);
  if (n == 0 || n >= sizeof buf) return -1;
  memcpy(buf, v, n + 1);
  *want = 0;
  for (char *p = buf;;) {
    char *comma = strchr(p, ',');
    int found = 0;
    if (comma) *comma = '\0';
    for (int k = 0; k < MAX_COMP; k++) {
      if (strcmp(p, corpus_kinds[k].name) == 0) {
        *want |= 1u << k;
        found = 1;
      }
    }
    if (!found) return -1;
    if (!comma) break;
    p = comma + 1;
  }
  return 0;
}

static int parse_all_args(int argc, char **argv, struct suite *s) {
  int have_size = 0, have_repeats = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = NULL;
    uint64_t n;
    if (strcmp(a, "--quick") == 0) {
      s->quick = 1;
      continue;
    }
    if (strcmp(a, "--json") == 0) {
      s->json = 1;
      continue;
    }
    if (strcmp(a, "--no-write") == 0) {
      s->no_write = 1;
      continue;
    }
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      usage(stdout);
      return 1;
    }
    if (strcmp(a, "--cache") && strcmp(a, "--size-mb") && strcmp(a, "--repeats") &&
        strcmp(a, "--chunk-size") && strcmp(a, "--file") && strcmp(a, "--page-cache") &&
        strcmp(a, "--compression")) {
      bench_err("unknown option '%s'", a);
      return -1;
    }
    v = i + 1 < argc ? argv[++i] : NULL;
    if (!v) {
      bench_err("option '%s' needs a value", a);
      return -1;
    }
    if (strcmp(a, "--cache") == 0) {
      int len = snprintf(s->cache, sizeof s->cache, "%s", v);
      if (len <= 0 || (size_t)len >= sizeof s->cache - 64) {
        bench_err("cache directory name too long");
        return -1;
      }
    } else if (strcmp(a, "--file") == 0) {
      if (strlen(v) >= sizeof s->comps[0].path) {
        bench_err("file name too long");
        return -1;
      }
      s->file = v;
    } else if (strcmp(a, "--page-cache") == 0) {
      if (bench_state_parse(v, &s->state)) {
        bench_err("--page-cache needs written, read or cold (not '%s')", v);
        return -1;
      }
    } else if (strcmp(a, "--compression") == 0) {
      if (parse_compressions(v, &s->want)) {
        bench_err("--compression takes a list of zstd, lz4, none (not '%s')", v);
        return -1;
      }
    } else if (strcmp(a, "--chunk-size") == 0) {
      if (parse_size(v, &s->chunk_size) || s->chunk_size > (UINT64_C(256) << 20)) {
        bench_err("bad chunk size '%s' (bytes, K or M suffix, at most 256M)", v);
        return -1;
      }
    } else if (bench_parse_u64(v, &n) || n == 0 ||
               n > (strcmp(a, "--repeats") ? 65536 : MAX_REPEATS)) {
      bench_err("bad value '%s' for %s", v, a);
      return -1;
    } else if (strcmp(a, "--size-mb") == 0) {
      s->size_mib = n;
      have_size = 1;
    } else {
      s->repeats = (int)n;
      have_repeats = 1;
    }
  }
  if (!have_size) s->size_mib = s->quick ? 200 : 1024;
  if (!have_repeats) s->repeats = s->quick ? 1 : 3;
  if (s->chunk_size == (UINT64_C(1) << 20)) s->chunk_size = 0; /* the default: one file name */
  if (!s->want) s->want = (1u << MAX_COMP) - 1;
  return 0;
}

/* ---------------------------------------------------------- measurements */

/* Put c's file into the suite's page-cache state (before every measured run). */
static int prepare(const struct suite *s, const struct comp *c) {
  return bench_state_prepare(c->path, s->state, c->copy);
}

/* Run `read FILE extra... --stats` `repeats` times as children, the page cache prepared before
 * each; 0 when every run succeeded and all returned the same counts. */
static int measure_read(const struct suite *s, const struct comp *c, const char *const extra[],
                        const char *what, struct meas *m, int paired) {
  const char *args[24];
  size_t n = 0;
  memset(m, 0, sizeof *m);
  args[n++] = "read";
  args[n++] = c->read_path;
  for (size_t i = 0; extra[i] && n < 20; i++) args[n++] = extra[i];
  args[n++] = "--stats";
  args[n] = NULL;
  for (int r = 0; r < s->repeats; r++) {
    struct bench_child ch;
    uint64_t msgs, bytes;
    double raw_s = 0;
    if (paired && c->rawset && bench_raw_pass(c->rawset, &raw_s)) return -1;
    if (prepare(s, c)) return -1;
    if (bench_run_child((char *const *)args, &ch) != 0) return -1;
    if (ch.exit_code != 0 || bench_kv_u64(ch.out, "messages", &msgs) ||
        bench_kv_u64(ch.out, "bytes", &bytes)) {
      bench_err("%s on '%s' failed (exit %d): %s", what, c->read_path, ch.exit_code, ch.err);
      return -1;
    }
    if (m->ran && (msgs != m->messages || bytes != m->bytes)) {
      bench_err("%s on '%s': runs disagree on the message count", what, c->read_path);
      return -1;
    }
    if (!m->ran || ch.seconds < m->s) m->s = ch.seconds;
    if (!m->ran || ch.cpu_seconds < m->cpu_s) m->cpu_s = ch.cpu_seconds;
    if (ch.maxrss_kib > m->rss_kib) m->rss_kib = ch.maxrss_kib;
    m->messages = msgs;
    m->bytes = bytes;
    m->ran = 1;
    if (raw_s > 0 && ch.seconds > 0 && m->n_pair < MAX_REPEATS) {
      m->pair[m->n_pair++] = raw_s / ch.seconds;
    }
    (void)bench_kv_u64(ch.err, "chunks_decompressed", &m->chunks_dec);
    (void)bench_kv_u64(ch.err, "bytes_decompressed", &m->bytes_dec);
    (void)bench_kv_u64(ch.err, "peak_chunks_held", &m->peak_chunks);
    (void)bench_kv_u64(ch.err, "peak_bytes_held", &m->peak_bytes);
  }
  return 0;
}

/* Open by the summary (timed) and learn what the queries need: /imu's count and the times. */
static int file_facts(const struct suite *s, struct comp *c) {
  int reps = s->repeats < 5 ? 5 : s->repeats;
  c->open_s = 1e30;
  for (int k = 0; k < reps; k++) {
    mcap_source src;
    mcap_reader *r = NULL;
    mcap_error_info e = {0, 0, {0}};
    const mcap_statistics *st;
    uint64_t total = 0;
    double t0 = bench_now(), t1;
    if (mcap_source_open_file(&src, c->path, &e) || mcap_reader_open(&r, &src, NULL, &e)) {
      bench_err("cannot open '%s': %s", c->path, e.msg);
      return -1;
    }
    for (size_t i = 0; i < mcap_reader_channel_count(r); i++) {
      total += mcap_reader_channel_message_count(r, mcap_reader_channel_at(r, i)->id);
    }
    t1 = bench_now();
    if (t1 - t0 < c->open_s) c->open_s = t1 - t0;
    st = mcap_reader_statistics(r, NULL);
    if (mcap_reader_index_source(r, NULL) != MCAP_INDEX_FROM_SUMMARY || !st) {
      bench_err("'%s' was not opened by its summary (with statistics)", c->path);
      mcap_reader_free(r);
      return -1;
    }
    if (!s->file && total != c->info.messages) {
      bench_err("'%s': per-channel counts add up to %" PRIu64 ", expected %" PRIu64, c->path,
                total, c->info.messages);
      mcap_reader_free(r);
      return -1;
    }
    if (s->file) {
      struct stat sb;
      c->info.messages = st->message_count;
      c->info.file_bytes = stat(c->path, &sb) == 0 ? (uint64_t)sb.st_size : 0;
    }
    c->n_channels = (uint16_t)mcap_reader_channel_count(r);
    c->imu_expected = 0;
    for (size_t i = 0; i < mcap_reader_channel_count(r); i++) {
      const mcap_channel *ch = mcap_reader_channel_at(r, i);
      if (ch->topic.len == 4 && memcmp(ch->topic.data, "/imu", 4) == 0) {
        c->imu_expected += mcap_reader_channel_message_count(r, ch->id);
      }
    }
    if (mcap_reader_chunk_count(r) > 0) {
      const mcap_chunk_index *ci = mcap_reader_chunk_at(r, 0);
      size_t n = ci->compression.len < sizeof c->compression - 1 ? ci->compression.len
                                                                  : sizeof c->compression - 1;
      if (n) memcpy(c->compression, ci->compression.data, n);
      c->compression[n] = '\0';
      if (!n) snprintf(c->compression, sizeof c->compression, "none");
    }
    {
      /* A 5 s window in the middle of the recording. */
      uint64_t mid = st->message_start_time + (st->message_end_time - st->message_start_time) / 2;
      uint64_t half = UINT64_C(2500000000);
      c->win_start = mid > st->message_start_time + half ? mid - half : st->message_start_time;
      c->win_end = c->win_start + 2 * half;
    }
    mcap_reader_free(r);
  }
  if (s->file) c->name = c->compression;
  return 0;
}

static int run_reads(struct suite *s, struct comp *c) {
  char start[32], end[32];
  const char *stream[] = {NULL};
  const char *idx1[] = {"--order", "log-time", "--threads", "1", NULL};
  const char *idx2[] = {"--order", "log-time", "--threads", "2", NULL};
  const char *imu1[] = {"--order", "log-time", "--topics", "/imu", "--threads", "1", NULL};
  const char *imu2[] = {"--order", "log-time", "--topics", "/imu", "--threads", "2", NULL};
  const char *win[] = {"--order", "log-time", "--start", start, "--end", end, NULL};
  int rc = 0;
  snprintf(start, sizeof start, "%" PRIu64, c->win_start);
  snprintf(end, sizeof end, "%" PRIu64, c->win_end);
  fprintf(stderr, "%s: reading '%s' (page cache: %s)...\n", BENCH_PROG, c->path,
          bench_state_name(s->state));
  rc |= measure_read(s, c, stream, "streamed read", &c->stream, 1);
  if (!rc && s->file) c->info.message_bytes = c->stream.bytes;
  rc |= measure_read(s, c, idx1, "indexed read (1 thread)", &c->idx1, 1);
  rc |= measure_read(s, c, idx2, "indexed read (2 threads)", &c->idx2, 0);
  if (c->imu_expected) {
    rc |= measure_read(s, c, imu1, "/imu query (1 thread)", &c->imu1, 0);
    rc |= measure_read(s, c, imu2, "/imu query (2 threads)", &c->imu2, 0);
  }
  rc |= measure_read(s, c, win, "time window query", &c->window, 0);
  if (rc) return -1;
  /* Every full read must see the whole file; the /imu query exactly /imu's messages. */
  if (c->stream.messages != c->info.messages || c->stream.bytes != c->info.message_bytes ||
      c->idx1.messages != c->info.messages || c->idx1.bytes != c->info.message_bytes ||
      c->idx2.messages != c->info.messages || c->idx2.bytes != c->info.message_bytes) {
    bench_err("'%s': a full read returned other counts than %s", c->path,
              s->file ? "the statistics and the streamed read" : "were written");
    return -1;
  }
  if (c->imu_expected &&
      (c->imu1.messages != c->imu_expected || c->imu2.messages != c->imu_expected ||
       c->imu1.bytes != c->imu2.bytes)) {
    bench_err("'%s': the /imu query returned %" PRIu64 " / %" PRIu64
              " messages, statistics say %" PRIu64,
              c->path, c->imu1.messages, c->imu2.messages, c->imu_expected);
    return -1;
  }
  return 0;
}

/* ------------------------------------------------------------------ report */

static double mbps(uint64_t bytes, double s) { return s > 0 ? (double)bytes / s / 1e6 : 0; }

static int codec_target(const struct comp *c) {
  return strcmp(c->name, "zstd") == 0 || strcmp(c->name, "lz4") == 0;
}

static void row_label(const char *label) { printf("  %-40s", label); }

static void row_f(const struct suite *s, const char *label, const char *fmt,
                  double (*get)(const struct comp *)) {
  row_label(label);
  for (int i = 0; i < s->n_comps; i++) {
    char cell[64];
    snprintf(cell, sizeof cell, fmt, get(&s->comps[i]));
    printf("%14s", cell);
  }
  putchar('\n');
}

/* A row whose cells are checked against a target (ok() < 0: no target for that cell). */
static void row_t(const struct suite *s, const char *label, const char *fmt,
                  double (*get)(const struct comp *), int (*ok)(const struct comp *)) {
  row_label(label);
  for (int i = 0; i < s->n_comps; i++) {
    char cell[64];
    char num[48];
    int verdict = ok(&s->comps[i]);
    snprintf(num, sizeof num, fmt, get(&s->comps[i]));
    snprintf(cell, sizeof cell, "%s %s", num, verdict < 0 ? "n/a" : verdict ? "ok" : "MISS");
    printf("%14s", cell);
  }
  putchar('\n');
}

static double g_file_mib(const struct comp *c) { return (double)c->info.file_bytes / MIB; }
static double g_chunks(const struct comp *c) { return (double)c->raw.chunks; }
static double g_largest(const struct comp *c) { return (double)c->raw.largest_chunk / MIB; }
static double g_gen(const struct comp *c) { return mbps(c->info.message_bytes, c->info.gen_seconds); }
static double g_write(const struct comp *c) { return c->write_mbps; }
static double g_raw(const struct comp *c) { return mbps(c->raw.uncompressed_bytes, c->raw.seconds); }
static double g_raw_crc(const struct comp *c) {
  return mbps(c->raw.uncompressed_bytes, c->raw.seconds_crc);
}
static double g_raw_file(const struct comp *c) {
  return mbps(c->raw.uncompressed_bytes, c->raw.seconds_file);
}
/* Reads are compared with raw decompression of the same chunks: time ratio raw / read. */
static double ratio(const struct comp *c, const struct meas *m) {
  return m->s > 0 ? 100.0 * c->raw.seconds / m->s : 0;
}
static double g_stream(const struct comp *c) { return mbps(c->info.message_bytes, c->stream.s); }
static double g_stream_cpu(const struct comp *c) { return c->stream.cpu_s; }
static double g_stream_msgs(const struct comp *c) {
  return c->stream.s > 0 ? (double)c->info.messages / c->stream.s / 1e3 : 0;
}
static double g_ratio(const struct comp *c) { return ratio(c, &c->stream); }
static int ok_ratio(const struct comp *c) {
  return codec_target(c) ? g_ratio(c) >= 100.0 * TARGET_RATIO : -1;
}
static double g_ratio_crc(const struct comp *c) {
  return c->stream.s > 0 ? 100.0 * c->raw.seconds_crc / c->stream.s : 0;
}
static double g_stream_rss(const struct comp *c) { return (double)c->stream.rss_kib / 1024.0; }
static int ok_stream_rss(const struct comp *c) { return c->stream.rss_kib < RSS_LIMIT_KIB; }
static double g_idx1(const struct comp *c) { return mbps(c->info.message_bytes, c->idx1.s); }
static int ok_idx1(const struct comp *c) {
  return strcmp(c->name, "none") == 0 ? g_idx1(c) >= TARGET_NONE_MBPS : -1;
}
static double g_idx1_cpu(const struct comp *c) { return c->idx1.cpu_s; }
static double g_idx1_ratio(const struct comp *c) { return ratio(c, &c->idx1); }
/* The median of a read's paired ratios (each run against the raw pass just before it). */
static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}
static double paired(const struct meas *m) {
  double v[MAX_REPEATS];
  int n = m->n_pair;
  if (n == 0) return 0;
  memcpy(v, m->pair, (size_t)n * sizeof *v);
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  return 100.0 * (n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2);
}
static double g_pair_stream(const struct comp *c) { return paired(&c->stream); }
static double g_pair_idx1(const struct comp *c) { return paired(&c->idx1); }
static int ok_pair_stream(const struct comp *c) {
  return codec_target(c) ? g_pair_stream(c) >= 100.0 * TARGET_RATIO : -1;
}
static int ok_pair_idx1(const struct comp *c) {
  return codec_target(c) ? g_pair_idx1(c) >= 100.0 * TARGET_RATIO : -1;
}
static int ok_idx1_ratio(const struct comp *c) {
  return codec_target(c) ? g_idx1_ratio(c) >= 100.0 * TARGET_RATIO : -1;
}
static double g_idx1_rss(const struct comp *c) { return (double)c->idx1.rss_kib / 1024.0; }
static int ok_idx1_rss(const struct comp *c) { return c->idx1.rss_kib < RSS_LIMIT_KIB; }
static double g_idx2(const struct comp *c) { return mbps(c->info.message_bytes, c->idx2.s); }
static double g_idx2_cpu(const struct comp *c) { return c->idx2.cpu_s; }
static double g_speedup(const struct comp *c) { return c->idx2.s > 0 ? c->idx1.s / c->idx2.s : 0; }
static int ok_speedup(const struct comp *c) {
  return codec_target(c) ? g_speedup(c) >= TARGET_SPEEDUP : -1;
}
static double g_idx2_rss(const struct comp *c) { return (double)c->idx2.rss_kib / 1024.0; }
static int ok_idx2_rss(const struct comp *c) { return c->idx2.rss_kib < RSS_LIMIT_KIB; }
static double g_idx2_peak(const struct comp *c) { return (double)c->idx2.peak_chunks; }
static double g_imu1_ms(const struct comp *c) { return c->imu1.s * 1e3; }
static double g_imu2_ms(const struct comp *c) { return c->imu2.s * 1e3; }
static double g_imu_speedup(const struct comp *c) {
  return c->imu2.s > 0 ? c->imu1.s / c->imu2.s : 0;
}
static int ok_imu_speedup(const struct comp *c) {
  return codec_target(c) && c->imu_expected ? g_imu_speedup(c) >= TARGET_SPEEDUP : -1;
}
static double g_imu_dec(const struct comp *c) { return (double)c->imu1.bytes_dec / MIB; }
static double g_imu_chunks(const struct comp *c) { return (double)c->imu1.chunks_dec; }
static double g_imu_rss(const struct comp *c) {
  long k = c->imu1.rss_kib > c->imu2.rss_kib ? c->imu1.rss_kib : c->imu2.rss_kib;
  return (double)k / 1024.0;
}
static int ok_imu_rss(const struct comp *c) {
  return c->imu_expected ? g_imu_rss(c) * 1024.0 < RSS_LIMIT_KIB : -1;
}
static double g_win_ms(const struct comp *c) { return c->window.s * 1e3; }
static double g_win_dec(const struct comp *c) { return (double)c->window.bytes_dec / MIB; }
static double g_win_chunks(const struct comp *c) { return (double)c->window.chunks_dec; }
static double g_win_msgs(const struct comp *c) { return (double)c->window.messages; }
static double g_win_rss(const struct comp *c) { return (double)c->window.rss_kib / 1024.0; }
static int ok_win_rss(const struct comp *c) { return c->window.rss_kib < RSS_LIMIT_KIB; }
static double g_open_ms(const struct comp *c) { return c->open_s * 1e3; }
static int ok_open(const struct comp *c) { return c->open_s * 1e3 < TARGET_OPEN_MS; }

static const char *state_text(enum bench_state st) {
  switch (st) {
    case BENCH_WRITTEN:
      return "each file copied with write() calls just before every run";
    case BENCH_READ:
      return "each file evicted, then read back with read() calls, before every run";
    default:
      return "each file evicted before every run: read from the disk";
  }
}

static void chunk_text(const struct suite *s, char *buf, size_t cap) {
  uint64_t cs = s->chunk_size ? s->chunk_size : (UINT64_C(1) << 20);
  if (s->file) snprintf(buf, cap, "as in the file");
  else if (cs % (1u << 20) == 0) snprintf(buf, cap, "%" PRIu64 " MiB", cs >> 20);
  else snprintf(buf, cap, "%" PRIu64 " KiB", cs >> 10);
}

static void print_table(const struct suite *s) {
  const struct comp *z = &s->comps[0];
  char chunks[64];
  chunk_text(s, chunks, sizeof chunks);
  if (s->file) {
    printf("mcapkit-bench (libmcap %s): '%s', %" PRIu64 " messages, %.1f MiB of message payload\n",
           mcap_version_string(), s->file, z->info.messages, (double)z->info.message_bytes / MIB);
  } else {
    printf("mcapkit-bench (libmcap %s): robot corpus of %.1f MiB message payload, %" PRIu64
           " messages, %.3f s of recording, %s chunks\n",
           mcap_version_string(), (double)z->info.message_bytes / MIB, z->info.messages,
           z->info.duration, chunks);
  }
  printf("cache %s; %ld CPUs, load average %.2f at the start, %.2f at the end (other work\n"
         "on the machine makes wall times noisy); best of %d run%s. Page cache '%s': %s.\n"
         "MB = 10^6 bytes; throughput is over uncompressed message payload bytes unless noted.\n"
         "Reads run as separate processes (`read` mode), timed as a whole, with their own peak "
         "RSS.\n\n",
         s->cache, s->cpus, s->load[0], s->load[1], s->repeats, s->repeats == 1 ? "" : "s",
         bench_state_name(s->state), state_text(s->state));

  row_label("");
  for (int i = 0; i < s->n_comps; i++) printf("%14s", s->comps[i].name);
  putchar('\n');
  row_f(s, "file size (MiB)", "%.1f", g_file_mib);
  row_f(s, "chunks", "%.0f", g_chunks);
  row_f(s, "largest chunk, uncompressed (MiB)", "%.2f", g_largest);

  if (s->wrote) {
    printf("\nwrite\n");
    row_f(s, "generate + write corpus file (MB/s)", "%.1f", g_gen);
    row_label("  (time measured)");
    for (int i = 0; i < s->n_comps; i++) {
      printf("%14s", s->comps[i].info.generated_now ? "this run" : "cached");
    }
    putchar('\n');
    row_f(s, "write pre-generated messages (MB/s)", "%.1f", g_write);
    printf("  payload generation alone: %.1f MB/s (robot profile, unchunked, uncompressed,\n"
           "  null sink); write-only input: %.1f MiB of messages from the 'none' file\n",
           mbps(s->gen_only_bytes, s->gen_only_s), (double)s->msgset_bytes / MIB);
  }

  printf("\nCRC-32 (GB/s)          64 MiB, from memory   1 MiB, in cache\n");
  printf("  fast (%-14s)   %8.2f             %8.2f\n", s->crc.impl, s->crc.memory_bps[0] / 1e9,
         s->crc.cache_bps[0] / 1e9);
  printf("  pclmul (128-bit)        %8.2f             %8.2f\n", s->crc.memory_bps[1] / 1e9,
         s->crc.cache_bps[1] / 1e9);
  printf("  slicing-by-16 table     %8.2f             %8.2f\n", s->crc.memory_bps[2] / 1e9,
         s->crc.cache_bps[2] / 1e9);

  printf("\nread (page cache '%s', %s chunks)\n", bench_state_name(s->state), chunks);
  row_f(s, "raw decompression, heap (MB/s)", "%.0f", g_raw);
  row_f(s, "raw decompression + CRCs, heap (MB/s)", "%.0f", g_raw_crc);
  row_f(s, "raw decompression from a file mapping", "%.0f", g_raw_file);
  row_f(s, "streamed, all CRCs (MB/s)", "%.0f", g_stream);
  row_t(s, "  vs raw decompression (>= 95%)", "%.1f%%", g_ratio, ok_ratio);
  row_t(s, "  vs raw, paired runs (median)", "%.1f%%", g_pair_stream, ok_pair_stream);
  row_f(s, "  vs raw decompression + CRCs", "%.1f%%", g_ratio_crc);
  row_f(s, "  CPU seconds", "%.2f", g_stream_cpu);
  row_f(s, "  thousand messages/s", "%.1f", g_stream_msgs);
  row_t(s, "  peak RSS (MiB, < 64)", "%.1f", g_stream_rss, ok_stream_rss);
  row_t(s, "indexed log-time, 1 thread (MB/s)", "%.0f", g_idx1, ok_idx1);
  row_t(s, "  vs raw decompression (>= 95%)", "%.1f%%", g_idx1_ratio, ok_idx1_ratio);
  row_t(s, "  vs raw, paired runs (median)", "%.1f%%", g_pair_idx1, ok_pair_idx1);
  row_f(s, "  CPU seconds", "%.2f", g_idx1_cpu);
  row_t(s, "  peak RSS (MiB, < 64)", "%.1f", g_idx1_rss, ok_idx1_rss);
  row_f(s, "indexed log-time, 2 threads (MB/s)", "%.0f", g_idx2);
  row_t(s, "  speedup over 1 thread (>= 1.85x)", "%.2fx", g_speedup, ok_speedup);
  row_f(s, "  CPU seconds", "%.2f", g_idx2_cpu);
  row_t(s, "  peak RSS (MiB, < 64)", "%.1f", g_idx2_rss, ok_idx2_rss);
  row_f(s, "  peak chunks held", "%.0f", g_idx2_peak);
  row_f(s, "/imu query, 1 thread (ms)", "%.1f", g_imu1_ms);
  row_f(s, "/imu query, 2 threads (ms)", "%.1f", g_imu2_ms);
  row_t(s, "  speedup over 1 thread (>= 1.85x)", "%.2fx", g_imu_speedup, ok_imu_speedup);
  row_f(s, "  decompressed (MiB)", "%.1f", g_imu_dec);
  row_f(s, "  chunks decompressed", "%.0f", g_imu_chunks);
  row_t(s, "  peak RSS (MiB, < 64)", "%.1f", g_imu_rss, ok_imu_rss);
  row_f(s, "5 s window, log-time (ms)", "%.1f", g_win_ms);
  row_f(s, "  messages", "%.0f", g_win_msgs);
  row_f(s, "  decompressed (MiB)", "%.1f", g_win_dec);
  row_f(s, "  chunks decompressed", "%.0f", g_win_chunks);
  row_t(s, "  peak RSS (MiB, < 64)", "%.1f", g_win_rss, ok_win_rss);
  row_t(s, "summary open + channel counts (ms, < 5)", "%.2f", g_open_ms, ok_open);
  printf("\nraw decompression: each codec's own decoder on the file's chunks, preloaded in\n"
         "heap memory (ZSTD_decompressDCtx / LZ4F_decompress / memcpy); '+ CRCs' adds the\n"
         "chunk CRC and the data-section CRC the streamed reader checks; 'from a file mapping'\n"
         "decodes the same chunks in place in a fresh mapping of the file in this page-cache\n"
         "state. 'vs raw' = raw heap time / read time (best of each), the target for zstd\n"
         "and lz4; for 'none' the raw figure is memcpy. 'paired runs': before each read a\n"
         "raw pass over the same chunks, then the copy and the read; the median over the\n"
         "runs of raw time / read time (this machine's speed drifts by up to 2x from one\n"
         "second to the next: pairs meet it in the same state). Reads use\n"
         "mcap_source_open_file; queries without --threads use as many threads as CPUs.\n");
}

static json_object *j_meas(const struct meas *m) {
  json_object *o = json_object_new_object();
  json_object_object_add(o, "seconds", json_object_new_double(m->s));
  json_object_object_add(o, "cpu_seconds", json_object_new_double(m->cpu_s));
  json_object_object_add(o, "messages", json_object_new_uint64(m->messages));
  json_object_object_add(o, "bytes", json_object_new_uint64(m->bytes));
  json_object_object_add(o, "peak_rss_kib", json_object_new_int64(m->rss_kib));
  json_object_object_add(o, "chunks_decompressed", json_object_new_uint64(m->chunks_dec));
  json_object_object_add(o, "bytes_decompressed", json_object_new_uint64(m->bytes_dec));
  json_object_object_add(o, "peak_chunks_held", json_object_new_uint64(m->peak_chunks));
  json_object_object_add(o, "peak_bytes_held", json_object_new_uint64(m->peak_bytes));
  json_object_object_add(o, "rss_target_met", json_object_new_boolean(m->rss_kib < RSS_LIMIT_KIB));
  return o;
}

static void j_num(json_object *o, const char *k, double v) {
  json_object_object_add(o, k, json_object_new_double(v));
}

static void j_str(json_object *o, const char *k, const char *v) {
  json_object_object_add(o, k, json_object_new_string(v));
}

static void j_bool(json_object *o, const char *k, int v) {
  json_object_object_add(o, k, json_object_new_boolean(v));
}

/* A target verdict: true/false, or nothing when the target does not apply (< 0). */
static void j_target(json_object *o, const char *k, int verdict) {
  if (verdict >= 0) j_bool(o, k, verdict);
}

static int print_json(const struct suite *s) {
  json_object *root = json_object_new_object(), *comps = json_object_new_object();
  json_object *crc = json_object_new_object(), *corpus = json_object_new_object();
  const struct comp *z = &s->comps[0];
  const char *text;
  json_object_object_add(root, "format_version", json_object_new_int(2));
  j_str(root, "library_version", mcap_version_string());
  j_str(root, "cache", s->cache);
  json_object_object_add(root, "cpus", json_object_new_int64(s->cpus));
  j_num(root, "load_average_start", s->load[0]);
  j_num(root, "load_average_end", s->load[1]);
  json_object_object_add(root, "repeats", json_object_new_int(s->repeats));
  j_bool(root, "quick", s->quick);
  j_str(root, "page_cache", bench_state_name(s->state));
  if (s->file) {
    j_str(corpus, "file", s->file);
  } else {
    j_str(corpus, "profile", "robot");
    json_object_object_add(corpus, "size_mib", json_object_new_uint64(s->size_mib));
    json_object_object_add(corpus, "chunk_size",
                           json_object_new_uint64(s->chunk_size ? s->chunk_size : 1u << 20));
    j_num(corpus, "duration_s", z->info.duration);
  }
  json_object_object_add(corpus, "messages", json_object_new_uint64(z->info.messages));
  json_object_object_add(corpus, "message_bytes", json_object_new_uint64(z->info.message_bytes));
  json_object_object_add(root, "corpus", corpus);
  if (s->wrote) {
    j_num(root, "generation_only_mbps", mbps(s->gen_only_bytes, s->gen_only_s));
    json_object_object_add(root, "write_only_input_bytes", json_object_new_uint64(s->msgset_bytes));
  }
  json_object_object_add(crc, "buffer_bytes", json_object_new_uint64(CRC_BUFFER_SIZE));
  json_object_object_add(crc, "cache_buffer_bytes", json_object_new_uint64(CRC_CACHE_SIZE));
  j_str(crc, "fast_impl", s->crc.impl);
  j_num(crc, "fast_gbps", s->crc.memory_bps[0] / 1e9);
  j_num(crc, "pclmul_gbps", s->crc.memory_bps[1] / 1e9);
  j_num(crc, "table_gbps", s->crc.memory_bps[2] / 1e9);
  j_num(crc, "fast_in_cache_gbps", s->crc.cache_bps[0] / 1e9);
  j_num(crc, "pclmul_in_cache_gbps", s->crc.cache_bps[1] / 1e9);
  j_num(crc, "table_in_cache_gbps", s->crc.cache_bps[2] / 1e9);
  json_object_object_add(root, "crc32", crc);
  for (int i = 0; i < s->n_comps; i++) {
    const struct comp *c = &s->comps[i];
    json_object *o = json_object_new_object(), *m;
    j_str(o, "file", c->path);
    json_object_object_add(o, "file_bytes", json_object_new_uint64(c->info.file_bytes));
    json_object_object_add(o, "chunks", json_object_new_uint64(c->raw.chunks));
    json_object_object_add(o, "largest_chunk_bytes", json_object_new_uint64(c->raw.largest_chunk));
    if (s->wrote) {
      j_num(o, "corpus_generate_write_mbps", g_gen(c));
      j_bool(o, "corpus_generated_this_run", c->info.generated_now);
      j_num(o, "write_only_mbps", g_write(c));
      json_object_object_add(o, "write_only_output_bytes", json_object_new_uint64(c->write_out));
    }
    j_num(o, "raw_decompress_mbps", g_raw(c));
    j_num(o, "raw_decompress_crc_mbps", g_raw_crc(c));
    j_num(o, "raw_decompress_from_file_mbps", g_raw_file(c));
    m = j_meas(&c->stream);
    j_num(m, "mbps", g_stream(c));
    j_num(m, "messages_per_s", g_stream_msgs(c) * 1e3);
    j_num(m, "ratio_to_raw", g_ratio(c) / 100.0);
    j_num(m, "ratio_to_raw_with_crc", g_ratio_crc(c) / 100.0);
    j_num(m, "ratio_to_raw_paired_median", g_pair_stream(c) / 100.0);
    j_target(m, "ratio_target_met", ok_ratio(c));
    json_object_object_add(o, "streamed", m);
    m = j_meas(&c->idx1);
    j_num(m, "mbps", g_idx1(c));
    j_num(m, "ratio_to_raw", g_idx1_ratio(c) / 100.0);
    j_num(m, "ratio_to_raw_paired_median", g_pair_idx1(c) / 100.0);
    j_target(m, "ratio_target_met", ok_idx1_ratio(c));
    j_target(m, "mbps_target_met", ok_idx1(c));
    json_object_object_add(o, "indexed_log_time_1_thread", m);
    m = j_meas(&c->idx2);
    j_num(m, "mbps", g_idx2(c));
    j_num(m, "speedup", g_speedup(c));
    j_target(m, "speedup_target_met", ok_speedup(c));
    json_object_object_add(o, "indexed_log_time_2_threads", m);
    if (c->imu_expected) {
      json_object_object_add(o, "imu_query_1_thread", j_meas(&c->imu1));
      m = j_meas(&c->imu2);
      j_num(m, "speedup", g_imu_speedup(c));
      j_target(m, "speedup_target_met", ok_imu_speedup(c));
      json_object_object_add(o, "imu_query_2_threads", m);
    }
    m = j_meas(&c->window);
    json_object_object_add(m, "start_ns", json_object_new_uint64(c->win_start));
    json_object_object_add(m, "end_ns", json_object_new_uint64(c->win_end));
    json_object_object_add(o, "time_window_query", m);
    j_num(o, "summary_open_ms", g_open_ms(c));
    j_bool(o, "summary_open_target_met", ok_open(c));
    json_object_object_add(comps, c->name, o);
  }
  json_object_object_add(root, "compressions", comps);
  text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED);
  printf("%s\n", text ? text : "{}");
  json_object_put(root);
  return 0;
}

/* ------------------------------------------------------------------ suite */

static int corpus_path(const struct suite *s, const char *name, char *dst, size_t cap) {
  int n;
  if (s->chunk_size) {
    n = snprintf(dst, cap, "%s/robot-%s-%" PRIu64 "mib-%" PRIu64 "kib-chunks.mcap", s->cache,
                 name, s->size_mib, s->chunk_size >> 10);
  } else {
    /* The default chunk size keeps the name `tools` uses too. */
    n = snprintf(dst, cap, "%s/robot-%s-%" PRIu64 "mib.mcap", s->cache, name, s->size_mib);
  }
  return n <= 0 || (size_t)n >= cap ? -1 : 0;
}

/* The write timings: payload generation alone, and the writer on pre-generated messages
 * (needs the 'none' corpus file). */
static int run_writes(struct suite *s) {
  struct bench_msgset *set = NULL;
  const struct comp *none = NULL;
  char none_path[4096];
  struct bench_corpus_info info;
  fprintf(stderr, "%s: timing generation and writing...\n", BENCH_PROG);
  s->gen_only_s = 1e30;
  for (int k = 0; k < s->repeats; k++) {
    double t;
    if (bench_generate_only(s->duration, &t, &s->gen_only_bytes)) return -1;
    if (t < s->gen_only_s) s->gen_only_s = t;
  }
  for (int i = 0; i < s->n_comps; i++) {
    if (s->comps[i].c == MCAP_COMPRESSION_NONE) none = &s->comps[i];
  }
  if (none) {
    snprintf(none_path, sizeof none_path, "%s", none->path);
  } else if (corpus_path(s, "none", none_path, sizeof none_path) ||
             bench_corpus_ensure_chunked(none_path, MCAP_COMPRESSION_NONE, s->duration,
                                         s->chunk_size, &info)) {
    return -1;
  }
  if (bench_msgset_load(none_path, &set)) return -1;
  s->msgset_bytes = bench_msgset_bytes(set);
  for (int i = 0; i < s->n_comps; i++) {
    double best = 1e30;
    for (int k = 0; k < s->repeats; k++) {
      double t;
      if (bench_write_only(set, s->comps[i].c, &t, &s->comps[i].write_out)) {
        bench_msgset_free(set);
        return -1;
      }
      if (t < best) best = t;
    }
    s->comps[i].write_mbps = mbps(s->msgset_bytes, best);
  }
  bench_msgset_free(set);
  s->wrote = 1;
  return 0;
}

static int set_copy_path(const struct suite *s, struct comp *c, const char *tag) {
  int n = snprintf(c->copy, sizeof c->copy, "%s/bench-written-%s-%ld.mcap", s->cache, tag,
                   (long)getpid());
  if (n <= 0 || (size_t)n >= sizeof c->copy) return -1;
  c->read_path = s->state == BENCH_WRITTEN ? c->copy : c->path;
  return 0;
}

static int run_suite(struct suite *s) {
  int rc = -1;
  if (bench_make_dirs(s->cache)) return -1;
  if (s->file) {
    struct comp *c = &s->comps[0];
    s->n_comps = 1;
    c->name = "file";
    snprintf(c->path, sizeof c->path, "%s", s->file);
    if (set_copy_path(s, c, "file")) return -1;
  } else {
    for (int k = 0; k < MAX_COMP; k++) {
      struct comp *c;
      if (!(s->want & (1u << k))) continue;
      c = &s->comps[s->n_comps++];
      c->name = corpus_kinds[k].name;
      c->c = corpus_kinds[k].c;
      if (corpus_path(s, c->name, c->path, sizeof c->path) || set_copy_path(s, c, c->name)) {
        return -1;
      }
    }
    if (bench_corpus_duration(s->size_mib << 20, &s->duration)) return -1;
    for (int i = 0; i < s->n_comps; i++) {
      struct comp *c = &s->comps[i];
      if (bench_corpus_ensure_chunked(c->path, c->c, s->duration, s->chunk_size, &c->info)) {
        return -1;
      }
      if (c->info.messages != s->comps[0].info.messages ||
          c->info.message_bytes != s->comps[0].info.message_bytes) {
        bench_err("the corpus files do not hold the same messages; delete '%s'", s->cache);
        return -1;
      }
    }
    if (!s->no_write && run_writes(s)) return -1;
  }

  fprintf(stderr, "%s: timing CRC-32 and raw decompression...\n", BENCH_PROG);
  if (bench_crc(CRC_BUFFER_SIZE, CRC_CACHE_SIZE, s->repeats, &s->crc)) return -1;
  for (int i = 0; i < s->n_comps; i++) {
    struct comp *c = &s->comps[i];
    /* The raw figures decode from heap copies; 'from the file' maps the file as it lies. */
    if (prepare(s, c) || bench_raw_decompress(c->read_path, s->repeats, &c->rawset, &c->raw)) {
      goto out;
    }
    int bad = file_facts(s, c) || run_reads(s, c);
    bench_raw_free(c->rawset); /* its arena is as large as the compressed file */
    c->rawset = NULL;
    if (bad) goto out;
  }
  for (int i = 1; i < s->n_comps; i++) {
    if (s->comps[i].window.messages != s->comps[0].window.messages ||
        s->comps[i].window.bytes != s->comps[0].window.bytes) {
      bench_err("the time window query returned different messages per compression");
      goto out;
    }
  }
  rc = 0;
out:
  for (int i = 0; i < s->n_comps; i++) (void)unlink(s->comps[i].copy);
  return rc;
}

static int bench_all_main(int argc, char **argv) {
  struct suite s;
  int rc;
  memset(&s, 0, sizeof s);
  s.state = BENCH_WRITTEN;
  rc = parse_all_args(argc, argv, &s);
  if (rc > 0) return 0;
  if (rc < 0) {
    usage(stderr);
    return 2;
  }
  if (!s.cache[0] && bench_default_cache(s.cache, sizeof s.cache)) {
    bench_err("cannot choose a cache directory; pass --cache DIR");
    return 2;
  }
  s.cpus = sysconf(_SC_NPROCESSORS_ONLN);
  if (getloadavg(&s.load[0], 1) != 1) s.load[0] = -1;
  if (run_suite(&s)) return 1;
  if (getloadavg(&s.load[1], 1) != 1) s.load[1] = -1;
  if (s.json) print_json(&s);
  else print_table(&s);
  return fflush(stdout) == 0 ? 0 : 1;
}

/* `raw FILE [REPEATS]`: the raw decompression baseline of one file alone. */
static int bench_raw_main(int argc, char **argv) {
  struct bench_raw raw;
  uint64_t reps = 3;
  int repeats;
  if (argc >= 3 && (bench_parse_u64(argv[2], &reps) || reps > 100)) reps = 0;
  repeats = (int)reps;
  if (argc < 2 || repeats < 1) {
    usage(stderr);
    return 2;
  }
  if (bench_raw_decompress(argv[1], repeats, NULL, &raw)) return 1;
  {
    struct bench_crc crc;
    if (bench_crc(CRC_BUFFER_SIZE, CRC_CACHE_SIZE, repeats, &crc)) return 1;
    printf("crc_impl=%s crc_memory_gbps=%.2f/%.2f/%.2f crc_cache_gbps=%.2f/%.2f/%.2f "
           "(fast/pclmul/table)\n",
           crc.impl, crc.memory_bps[0] / 1e9, crc.memory_bps[1] / 1e9, crc.memory_bps[2] / 1e9,
           crc.cache_bps[0] / 1e9, crc.cache_bps[1] / 1e9, crc.cache_bps[2] / 1e9);
  }
  printf("chunks=%llu compressed=%llu uncompressed=%llu raw_mbps=%.0f raw_crc_mbps=%.0f "
         "raw_from_file_mbps=%.0f\n",
         (unsigned long long)raw.chunks, (unsigned long long)raw.compressed_bytes,
         (unsigned long long)raw.uncompressed_bytes, mbps(raw.uncompressed_bytes, raw.seconds),
         mbps(raw.uncompressed_bytes, raw.seconds_crc),
         mbps(raw.uncompressed_bytes, raw.seconds_file));
  return 0;
}

int main(int argc, char **argv) {
  if (argc >= 2 && strcmp(argv[1], "raw") == 0) return bench_raw_main(argc - 1, argv + 1);
  if (argc >= 2 && strcmp(argv[1], "cache") == 0) {
    enum bench_state st;
    if (argc < 4 || bench_state_parse(argv[3], &st) || argc != (st == BENCH_WRITTEN ? 5 : 4)) {
      usage(stderr);
      return 2;
    }
    return bench_state_prepare(argv[2], st, st == BENCH_WRITTEN ? argv[4] : NULL) ? 1 : 0;
  }
  if (argc >= 2 && strcmp(argv[1], "read") == 0) return bench_read_main(argc - 1, argv + 1);
  if (argc >= 2 && strcmp(argv[1], "rounds") == 0) return bench_rounds_main(argc - 1, argv + 1);
  if (argc >= 2 && strcmp(argv[1], "__measure") == 0) return bench_measure_main(argc - 1, argv + 1);
  if (argc >= 2 && strcmp(argv[1], "all") == 0) return bench_all_main(argc - 1, argv + 1);
  if (argc >= 2 && strcmp(argv[1], "tools") == 0) return bench_tools_main(argc - 1, argv + 1);
  if (argc >= 2 && strcmp(argv[1], "decode") == 0) return bench_decode_main(argc - 1, argv + 1);
  if (argc >= 2 && strcmp(argv[1], "convert") == 0) return bench_convert_main(argc - 1, argv + 1);
  if (argc >= 2 && strcmp(argv[1], "startup") == 0) return bench_startup_main(argc - 1, argv + 1);
  if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
                    strcmp(argv[1], "help") == 0)) {
    usage(stdout);
    return 0;
  }
  if (argc >= 2 && argv[1][0] != '-') {
    bench_err("unknown mode '%s'", argv[1]);
    usage(stderr);
    return 2;
  }
  /* No mode, or options only: the whole suite. */
  return bench_all_main(argc, argv);
}
