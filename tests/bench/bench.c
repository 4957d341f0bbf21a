/*
 * bench.c - mcapkit-bench: libmcap's benchmark program (see README.md).
 *
 *   mcapkit-bench read FILE [options]     read one file, print messages=N bytes=M
 *   mcapkit-bench [all] [--cache DIR] [--size-mb N] [--quick] [--repeats N] [--json]
 *                                         the whole suite on a cached robot corpus
 *   mcapkit-bench tools [options]         the mcapkit CLI's rewrite/lake commands (bench_tools.c)
 *
 * The suite makes a robot recording of about N MiB of message payload once
 * per compression (zstd, lz4, none) in a cache directory, then measures
 * writing, CRC-32, raw decompression, streamed and indexed reading, queries
 * and opening by the summary. Every read measurement runs as its own child
 * process (`read` mode) so it gets its own wall time and peak RSS. Timings are
 * the best of --repeats runs (3; 1 with --quick), on a warm page cache.
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
#define RSS_BASE_KIB (64L * 1024) /* 64 MiB */
#define TARGET_STREAM_RATIO 0.85
#define TARGET_SPEEDUP 1.7
#define TARGET_OPEN_MS 5.0
#define N_COMP 3

static void usage(FILE *f) {
  fputs("usage: " BENCH_PROG " [all] [--cache DIR] [--size-mb N] [--quick] [--repeats N] [--json]\n"
        "                  [--page-cache mcapkit|small|asis]\n"
        "       " BENCH_PROG " tools [--cache DIR] [--size-mb N] [--quick] [--repeats N] [--json]\n"
        "                  [--mcapkit PATH]\n"
        "       " BENCH_PROG " decode [--duration S] [--seconds S] [--repeats N] [--json]\n"
        "       " BENCH_PROG " raw FILE [REPEATS]\n"
        "       " BENCH_PROG " cache FILE mcapkit|small\n"
        "       " BENCH_PROG " read FILE [--order file|log-time|reverse] [--topics A,B]\n"
        "                  [--start NS] [--end NS] [--threads N] [--no-crc]\n"
        "                  [--stream | --indexed] [--source mmap|file] [--stats]\n"
        "\n"
        "all   generate (once, cached) a robot corpus of N MiB of message payload (default\n"
        "      1024; 200 with --quick) per compression and report write, CRC, decompression\n"
        "      and read speeds, query costs and peak memory; --quick times everything once;\n"
        "      --page-cache: how the corpus is put into the page cache first (default\n"
        "      mcapkit: evicted and read back by mcapkit's file source, which asks for large\n"
        "      folios; small: by a plain mmap, small folios; asis: left alone)\n"
        "tools time the mcapkit CLI (compress, filter, merge, lake, index; cp for comparison)\n"
        "      on the same cached corpus, each command a measured child process\n"
        "decode  decode /imu, /tf and /odom CDR messages of a robot recording with\n"
        "      pl_decode, to values, NDJSON and CSV, on one core (MB/s of payload)\n"
        "raw   decompress a file's chunks from memory (the baseline the reads are\n"
        "      measured against), without and with the CRCs\n"
        "cache evict a file from the page cache and read it back as --page-cache says\n"
        "read  read a file's messages and print only 'messages=N bytes=M' (payload bytes);\n"
        "      file order without filters uses the streamed reader, anything else the\n"
        "      indexed reader (file source, --threads workers, default = cores)\n",
        f);
}

/* One read measurement (a child process, best of the repeats). */
struct meas {
  int ran;
  double s;          /* best wall time */
  double cpu_s;      /* least CPU time (user + system) */
  long rss_kib;      /* largest peak RSS over the repeats */
  uint64_t messages, bytes;
  uint64_t chunks_dec, bytes_dec, peak_chunks, peak_bytes; /* indexed reader counters */
};

struct comp {
  const char *name;
  mcap_compression c;
  char path[4096];
  struct bench_corpus_info info;
  double write_mbps; /* pre-generated messages into a null sink */
  uint64_t write_out;
  struct bench_raw raw;
  struct meas stream, idx1, idx2, idx2_pread, imu, window;
  uint64_t imu_expected;
  uint64_t win_start, win_end;
  double open_s;
  uint16_t n_channels;
};

struct suite {
  char cache[4096];
  uint64_t size_mib;
  int quick, repeats, json;
  const char *page_cache; /* bench_page_cache_set state of the corpus before the reads */
  long cpus;
  double load[2]; /* 1-minute load average at the start and at the end; < 0 if unknown */
  double duration;
  double gen_only_s;
  uint64_t gen_only_bytes;
  uint64_t msgset_bytes;
  struct bench_crc crc;
  struct comp comps[N_COMP];
};

/* ---------------------------------------------------------------- options */

static int parse_all_args(int argc, char **argv, struct suite *s) {
  int have_size = 0, have_repeats = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--quick") == 0) {
      s->quick = 1;
    } else if (strcmp(a, "--json") == 0) {
      s->json = 1;
    } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      usage(stdout);
      return 1;
    } else if (strcmp(a, "--page-cache") == 0) {
      if (i + 1 >= argc || (strcmp(argv[i + 1], "mcapkit") && strcmp(argv[i + 1], "small") &&
                            strcmp(argv[i + 1], "asis"))) {
        bench_err("--page-cache needs mcapkit, small or asis");
        return -1;
      }
      s->page_cache = argv[++i];
    } else if (strcmp(a, "--cache") == 0 || strcmp(a, "--size-mb") == 0 ||
               strcmp(a, "--repeats") == 0) {
      const char *v = i + 1 < argc ? argv[++i] : NULL;
      uint64_t n;
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
      } else if (bench_parse_u64(v, &n) || n == 0 || n > (strcmp(a, "--repeats") ? 65536 : 100)) {
        bench_err("bad value '%s' for %s", v, a);
        return -1;
      } else if (strcmp(a, "--size-mb") == 0) {
        s->size_mib = n;
        have_size = 1;
      } else {
        s->repeats = (int)n;
        have_repeats = 1;
      }
    } else {
      bench_err("unknown option '%s'", a);
      return -1;
    }
  }
  if (!have_size) s->size_mib = s->quick ? 200 : 1024;
  if (!have_repeats) s->repeats = s->quick ? 1 : 3;
  return 0;
}

/* ---------------------------------------------------------- measurements */

/* Run `read FILE extra... --stats` `repeats` times as children; 0 when every run succeeded
 * and all returned the same counts. */
static int measure_read(const struct suite *s, const char *file, const char *const extra[],
                        const char *what, struct meas *m) {
  const char *args[24];
  size_t n = 0;
  memset(m, 0, sizeof *m);
  args[n++] = "read";
  args[n++] = file;
  for (size_t i = 0; extra[i] && n < 20; i++) args[n++] = extra[i];
  args[n++] = "--stats";
  args[n] = NULL;
  for (int r = 0; r < s->repeats; r++) {
    struct bench_child c;
    uint64_t msgs, bytes;
    if (bench_run_child((char *const *)args, &c) != 0) return -1;
    if (c.exit_code != 0 || bench_kv_u64(c.out, "messages", &msgs) ||
        bench_kv_u64(c.out, "bytes", &bytes)) {
      bench_err("%s on '%s' failed (exit %d): %s", what, file, c.exit_code, c.err);
      return -1;
    }
    if (m->ran && (msgs != m->messages || bytes != m->bytes)) {
      bench_err("%s on '%s': runs disagree on the message count", what, file);
      return -1;
    }
    if (!m->ran || c.seconds < m->s) m->s = c.seconds;
    if (!m->ran || c.cpu_seconds < m->cpu_s) m->cpu_s = c.cpu_seconds;
    if (c.maxrss_kib > m->rss_kib) m->rss_kib = c.maxrss_kib;
    m->messages = msgs;
    m->bytes = bytes;
    m->ran = 1;
    (void)bench_kv_u64(c.err, "chunks_decompressed", &m->chunks_dec);
    (void)bench_kv_u64(c.err, "bytes_decompressed", &m->bytes_dec);
    (void)bench_kv_u64(c.err, "peak_chunks_held", &m->peak_chunks);
    (void)bench_kv_u64(c.err, "peak_bytes_held", &m->peak_bytes);
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
    if (mcap_source_open_mmap(&src, c->path, &e) || mcap_reader_open(&r, &src, NULL, &e)) {
      bench_err("cannot open '%s': %s", c->path, e.msg);
      return -1;
    }
    for (size_t i = 0; i < mcap_reader_channel_count(r); i++) {
      total += mcap_reader_channel_message_count(r, mcap_reader_channel_at(r, i)->id);
    }
    t1 = bench_now();
    if (t1 - t0 < c->open_s) c->open_s = t1 - t0;
    if (mcap_reader_index_source(r, NULL) != MCAP_INDEX_FROM_SUMMARY) {
      bench_err("'%s' was not opened by its summary", c->path);
      mcap_reader_free(r);
      return -1;
    }
    if (total != c->info.messages) {
      bench_err("'%s': per-channel counts add up to %" PRIu64 ", expected %" PRIu64, c->path,
                total, c->info.messages);
      mcap_reader_free(r);
      return -1;
    }
    c->n_channels = (uint16_t)mcap_reader_channel_count(r);
    for (size_t i = 0; i < mcap_reader_channel_count(r); i++) {
      const mcap_channel *ch = mcap_reader_channel_at(r, i);
      if (ch->topic.len == 4 && memcmp(ch->topic.data, "/imu", 4) == 0) {
        c->imu_expected = mcap_reader_channel_message_count(r, ch->id);
      }
    }
    st = mcap_reader_statistics(r, NULL);
    {
      /* A 5 s window in the middle of the recording. */
      uint64_t mid = st->message_start_time + (st->message_end_time - st->message_start_time) / 2;
      uint64_t half = UINT64_C(2500000000);
      c->win_start = mid > st->message_start_time + half ? mid - half : st->message_start_time;
      c->win_end = c->win_start + 2 * half;
    }
    mcap_reader_free(r);
  }
  return 0;
}

static int run_reads(struct suite *s, struct comp *c) {
  char start[32], end[32];
  const char *stream[] = {NULL};
  const char *idx1[] = {"--order", "log-time", "--threads", "1", NULL};
  const char *idx2[] = {"--order", "log-time", "--threads", "2", NULL};
  const char *idx2p[] = {"--order", "log-time", "--threads", "2", "--source", "mmap", NULL};
  const char *imu[] = {"--order", "log-time", "--topics", "/imu", NULL};
  const char *win[] = {"--order", "log-time", "--start", start, "--end", end, NULL};
  int rc = 0;
  snprintf(start, sizeof start, "%" PRIu64, c->win_start);
  snprintf(end, sizeof end, "%" PRIu64, c->win_end);
  if (bench_warm_file(c->path, NULL)) return -1;
  fprintf(stderr, "%s: reading '%s'...\n", BENCH_PROG, c->path);
  rc |= measure_read(s, c->path, stream, "streamed read", &c->stream);
  rc |= measure_read(s, c->path, idx1, "indexed read (1 thread)", &c->idx1);
  rc |= measure_read(s, c->path, idx2, "indexed read (2 threads)", &c->idx2);
  rc |= measure_read(s, c->path, idx2p, "indexed read (2 threads, pread)", &c->idx2_pread);
  rc |= measure_read(s, c->path, imu, "/imu query", &c->imu);
  rc |= measure_read(s, c->path, win, "time window query", &c->window);
  if (rc) return -1;
  /* Every full read must see the whole corpus; the /imu query exactly /imu's messages. */
  if (c->stream.messages != c->info.messages || c->stream.bytes != c->info.message_bytes ||
      c->idx1.messages != c->info.messages || c->idx1.bytes != c->info.message_bytes ||
      c->idx2.messages != c->info.messages || c->idx2.bytes != c->info.message_bytes ||
      c->idx2_pread.messages != c->info.messages || c->idx2_pread.bytes != c->info.message_bytes) {
    bench_err("'%s': a full read returned other counts than were written", c->path);
    return -1;
  }
  if (c->imu.messages != c->imu_expected || c->imu_expected == 0) {
    bench_err("'%s': the /imu query returned %" PRIu64 " messages, statistics say %" PRIu64,
              c->path, c->imu.messages, c->imu_expected);
    return -1;
  }
  return 0;
}

/* ------------------------------------------------------------------ report */

static double mbps(uint64_t bytes, double s) { return s > 0 ? (double)bytes / s / 1e6 : 0; }

static long idx_rss_limit_kib(const struct comp *c, int threads) {
  return RSS_BASE_KIB + (long)((uint64_t)(threads + 1) * c->raw.largest_chunk / 1024);
}

static void row_label(const char *label) { printf("  %-38s", label); }

static void row_f(const struct suite *s, const char *label, const char *fmt,
                  double (*get)(const struct comp *)) {
  row_label(label);
  for (int i = 0; i < N_COMP; i++) {
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
  for (int i = 0; i < N_COMP; i++) {
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
static double g_stream(const struct comp *c) { return mbps(c->info.message_bytes, c->stream.s); }
static double g_ratio_file(const struct comp *c) {
  return c->stream.s > 0 ? 100.0 * c->raw.seconds_file / c->stream.s : 0;
}
static double g_idx1_ratio(const struct comp *c) {
  return c->idx1.s > 0 ? 100.0 * c->raw.seconds / c->idx1.s : 0;
}
static int ok_idx1_ratio(const struct comp *c) {
  if (c->c == MCAP_COMPRESSION_NONE) return -1;
  return g_idx1_ratio(c) >= 100.0 * TARGET_STREAM_RATIO;
}
static double g_idx1_ratio_file(const struct comp *c) {
  return c->idx1.s > 0 ? 100.0 * c->raw.seconds_file / c->idx1.s : 0;
}
static double g_stream_msgs(const struct comp *c) {
  return c->stream.s > 0 ? (double)c->info.messages / c->stream.s / 1e3 : 0;
}
static double g_ratio(const struct comp *c) {
  return c->stream.s > 0 ? 100.0 * c->raw.seconds / c->stream.s : 0;
}
/* Only a codec's decoder is a meaningful limit; for 'none' the raw figure is memcpy. */
static int ok_ratio(const struct comp *c) {
  if (c->c == MCAP_COMPRESSION_NONE) return -1;
  return g_ratio(c) >= 100.0 * TARGET_STREAM_RATIO;
}
static double g_ratio_crc(const struct comp *c) {
  return c->stream.s > 0 ? 100.0 * c->raw.seconds_crc / c->stream.s : 0;
}
static double g_ratio_cpu(const struct comp *c) {
  return c->stream.cpu_s > 0 ? 100.0 * c->raw.cpu_seconds / c->stream.cpu_s : 0;
}
static double g_stream_cpu(const struct comp *c) {
  return mbps(c->info.message_bytes, c->stream.cpu_s);
}
static double g_idx1_cpu(const struct comp *c) { return mbps(c->info.message_bytes, c->idx1.cpu_s); }
static double g_idx2_cpu(const struct comp *c) { return c->idx2.cpu_s; }
static double g_idx2p(const struct comp *c) { return mbps(c->info.message_bytes, c->idx2_pread.s); }
static double g_idx2p_rss(const struct comp *c) { return (double)c->idx2_pread.rss_kib / 1024.0; }
static int ok_idx2p_rss(const struct comp *c) {
  return c->idx2_pread.rss_kib < idx_rss_limit_kib(c, 2);
}
static double g_stream_rss(const struct comp *c) { return (double)c->stream.rss_kib / 1024.0; }
static int ok_stream_rss(const struct comp *c) { return c->stream.rss_kib < RSS_BASE_KIB; }
static double g_idx1(const struct comp *c) { return mbps(c->info.message_bytes, c->idx1.s); }
static double g_idx2(const struct comp *c) { return mbps(c->info.message_bytes, c->idx2.s); }
static double g_speedup(const struct comp *c) { return c->idx2.s > 0 ? c->idx1.s / c->idx2.s : 0; }
static int ok_speedup(const struct comp *c) { return g_speedup(c) >= TARGET_SPEEDUP; }
static double g_idx1_rss(const struct comp *c) { return (double)c->idx1.rss_kib / 1024.0; }
static double g_idx2_rss(const struct comp *c) { return (double)c->idx2.rss_kib / 1024.0; }
static int ok_idx1_rss(const struct comp *c) { return c->idx1.rss_kib < idx_rss_limit_kib(c, 1); }
static int ok_idx2_rss(const struct comp *c) { return c->idx2.rss_kib < idx_rss_limit_kib(c, 2); }
static double g_idx1_lim(const struct comp *c) { return (double)idx_rss_limit_kib(c, 1) / 1024.0; }
static double g_idx2_lim(const struct comp *c) { return (double)idx_rss_limit_kib(c, 2) / 1024.0; }
static double g_idx2_peak(const struct comp *c) { return (double)c->idx2.peak_chunks; }
static double g_imu_ms(const struct comp *c) { return c->imu.s * 1e3; }
static double g_imu_dec(const struct comp *c) { return (double)c->imu.bytes_dec / MIB; }
static double g_imu_chunks(const struct comp *c) { return (double)c->imu.chunks_dec; }
static double g_imu_rss(const struct comp *c) { return (double)c->imu.rss_kib / 1024.0; }
static double g_win_ms(const struct comp *c) { return c->window.s * 1e3; }
static double g_win_dec(const struct comp *c) { return (double)c->window.bytes_dec / MIB; }
static double g_win_chunks(const struct comp *c) { return (double)c->window.chunks_dec; }
static double g_win_msgs(const struct comp *c) { return (double)c->window.messages; }
static double g_win_rss(const struct comp *c) { return (double)c->window.rss_kib / 1024.0; }
static double g_open_ms(const struct comp *c) { return c->open_s * 1e3; }
static int ok_open(const struct comp *c) { return c->open_s * 1e3 < TARGET_OPEN_MS; }

static void print_table(const struct suite *s) {
  const struct comp *z = &s->comps[0];
  printf("mcapkit-bench (libmcap %s): robot corpus of %.1f MiB message payload, %" PRIu64
         " messages, %.3f s of recording\n",
         mcap_version_string(), (double)z->info.message_bytes / MIB, z->info.messages,
         z->info.duration);
  printf("cache %s; %ld CPUs, load average %.2f at the start, %.2f at the end (other work\n"
         "on the machine makes wall times noisy); best of %d run%s; page cache warm\n"
         "(--page-cache %s: %s). MB = 10^6\n"
         "bytes; throughput is over uncompressed message payload bytes unless noted. Reads run\n"
         "as separate processes (`read` mode), timed as a whole, with their own peak RSS.\n\n",
         s->cache, s->cpus, s->load[0], s->load[1], s->repeats, s->repeats == 1 ? "" : "s",
         s->page_cache,
         strcmp(s->page_cache, "mcapkit") == 0
             ? "each file evicted, then read back by mcapkit's file source: large folios"
         : strcmp(s->page_cache, "small") == 0
             ? "each file evicted, then read back by a plain mmap: small folios"
             : "as earlier runs left it");

  printf("  %-38s%14s%14s%14s\n", "", "zstd", "lz4", "none");
  row_f(s, "file size (MiB)", "%.1f", g_file_mib);
  row_f(s, "chunks", "%.0f", g_chunks);
  row_f(s, "largest chunk, uncompressed (MiB)", "%.2f", g_largest);

  printf("\nwrite\n");
  row_f(s, "generate + write corpus file (MB/s)", "%.1f", g_gen);
  {
    row_label("  (time measured)");
    for (int i = 0; i < N_COMP; i++) printf("%14s", s->comps[i].info.generated_now ? "this run" : "cached");
    putchar('\n');
  }
  row_f(s, "write pre-generated messages (MB/s)", "%.1f", g_write);
  printf("  payload generation alone: %.1f MB/s (robot profile, unchunked, uncompressed,\n"
         "  null sink); write-only input: %.1f MiB of messages from the 'none' file\n",
         mbps(s->gen_only_bytes, s->gen_only_s), (double)s->msgset_bytes / MIB);

  printf("\nCRC-32 (GB/s)          64 MiB, from memory   1 MiB, in cache\n");
  printf("  fast (%-14s)   %8.2f             %8.2f\n", s->crc.impl, s->crc.memory_bps[0] / 1e9,
         s->crc.cache_bps[0] / 1e9);
  printf("  pclmul (128-bit)        %8.2f             %8.2f\n", s->crc.memory_bps[1] / 1e9,
         s->crc.cache_bps[1] / 1e9);
  printf("  slicing-by-16 table     %8.2f             %8.2f\n", s->crc.memory_bps[2] / 1e9,
         s->crc.cache_bps[2] / 1e9);

  printf("\nread\n");
  row_f(s, "raw decompression (MB/s of chunk data)", "%.0f", g_raw);
  row_f(s, "raw decompression + CRCs (MB/s, ditto)", "%.0f", g_raw_crc);
  row_f(s, "raw decompression from the file (MB/s)", "%.0f", g_raw_file);
  row_f(s, "streamed, CRCs on (MB/s)", "%.0f", g_stream);
  row_f(s, "  per CPU-second (MB/s)", "%.0f", g_stream_cpu);
  row_f(s, "  thousand messages/s", "%.1f", g_stream_msgs);
  row_t(s, "  vs raw decompression (>= 85%)", "%.1f%%", g_ratio, ok_ratio);
  row_f(s, "  vs raw decompression + CRCs", "%.1f%%", g_ratio_crc);
  row_f(s, "  vs raw decompression, by CPU time", "%.1f%%", g_ratio_cpu);
  row_f(s, "  vs raw decompression from the file", "%.1f%%", g_ratio_file);
  row_t(s, "  peak RSS (MiB, < 64)", "%.1f", g_stream_rss, ok_stream_rss);
  row_f(s, "indexed log-time, 1 thread (MB/s)", "%.0f", g_idx1);
  row_f(s, "  per CPU-second (MB/s)", "%.0f", g_idx1_cpu);
  row_t(s, "  vs raw decompression (>= 85%)", "%.1f%%", g_idx1_ratio, ok_idx1_ratio);
  row_f(s, "  vs raw decompression from the file", "%.1f%%", g_idx1_ratio_file);
  row_t(s, "  peak RSS (MiB)", "%.1f", g_idx1_rss, ok_idx1_rss);
  row_f(s, "  RSS limit 64 + 2 x largest chunk", "%.1f", g_idx1_lim);
  row_f(s, "indexed log-time, 2 threads (MB/s)", "%.0f", g_idx2);
  row_t(s, "  speedup over 1 thread (>= 1.7x)", "%.2fx", g_speedup, ok_speedup);
  row_f(s, "  CPU seconds", "%.2f", g_idx2_cpu);
  row_t(s, "  peak RSS (MiB)", "%.1f", g_idx2_rss, ok_idx2_rss);
  row_f(s, "  RSS limit 64 + 3 x largest chunk", "%.1f", g_idx2_lim);
  row_f(s, "  peak chunks held", "%.0f", g_idx2_peak);
  row_f(s, "  with a whole-file mmap source (MB/s)", "%.0f", g_idx2p);
  row_f(s, "  with a whole-file mmap source: RSS (MiB)", "%.1f", g_idx2p_rss);
  row_f(s, "/imu query, log-time (ms)", "%.1f", g_imu_ms);
  row_f(s, "  decompressed (MiB)", "%.1f", g_imu_dec);
  row_f(s, "  chunks decompressed", "%.0f", g_imu_chunks);
  row_f(s, "  peak RSS (MiB)", "%.1f", g_imu_rss);
  row_f(s, "5 s window, log-time (ms)", "%.1f", g_win_ms);
  row_f(s, "  messages", "%.0f", g_win_msgs);
  row_f(s, "  decompressed (MiB)", "%.1f", g_win_dec);
  row_f(s, "  chunks decompressed", "%.0f", g_win_chunks);
  row_f(s, "  peak RSS (MiB)", "%.1f", g_win_rss);
  row_t(s, "summary open + channel counts (ms, < 5)", "%.2f", g_open_ms, ok_open);
  printf("\nraw decompression: %s's own decoder on the file's chunks, preloaded in memory\n"
         "(ZSTD_decompressDCtx / LZ4F_decompress / memcpy); '+ CRCs' adds the chunk CRC and\n"
         "the data-section CRC the streamed reader checks; 'from the file' decodes the same\n"
         "chunks in place in a fresh mapping of the file, so it includes the kernel's work of\n"
         "mapping the page cache that every reader of the file pays. 'vs raw' = raw time /\n"
         "read time; for 'none' the raw figure is memcpy, so no target applies. Indexed reads and\n"
         "queries use the file source (a sliding mapped window) unless noted; queries\n"
         "use as many threads as CPUs. 'per CPU-second' and 'by CPU time' use user +\n"
         "system CPU time, which other load on the machine disturbs less than wall time.\n",
         "each codec");
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

static int print_json(const struct suite *s) {
  json_object *root = json_object_new_object(), *comps = json_object_new_object();
  json_object *crc = json_object_new_object(), *corpus = json_object_new_object();
  const struct comp *z = &s->comps[0];
  const char *text;
  json_object_object_add(root, "format_version", json_object_new_int(1));
  json_object_object_add(root, "library_version", json_object_new_string(mcap_version_string()));
  json_object_object_add(root, "cache", json_object_new_string(s->cache));
  json_object_object_add(root, "cpus", json_object_new_int64(s->cpus));
  j_num(root, "load_average_start", s->load[0]);
  j_num(root, "load_average_end", s->load[1]);
  json_object_object_add(root, "repeats", json_object_new_int(s->repeats));
  j_bool(root, "quick", s->quick);
  j_str(root, "page_cache", s->page_cache);
  j_bool(root, "warm_page_cache", 1);
  json_object_object_add(corpus, "profile", json_object_new_string("robot"));
  json_object_object_add(corpus, "size_mib", json_object_new_uint64(s->size_mib));
  j_num(corpus, "duration_s", z->info.duration);
  json_object_object_add(corpus, "messages", json_object_new_uint64(z->info.messages));
  json_object_object_add(corpus, "message_bytes", json_object_new_uint64(z->info.message_bytes));
  json_object_object_add(root, "corpus", corpus);
  j_num(root, "generation_only_mbps", mbps(s->gen_only_bytes, s->gen_only_s));
  json_object_object_add(root, "write_only_input_bytes", json_object_new_uint64(s->msgset_bytes));
  json_object_object_add(crc, "buffer_bytes", json_object_new_uint64(CRC_BUFFER_SIZE));
  json_object_object_add(crc, "cache_buffer_bytes", json_object_new_uint64(CRC_CACHE_SIZE));
  json_object_object_add(crc, "fast_impl", json_object_new_string(s->crc.impl));
  j_num(crc, "fast_gbps", s->crc.memory_bps[0] / 1e9);
  j_num(crc, "pclmul_gbps", s->crc.memory_bps[1] / 1e9);
  j_num(crc, "table_gbps", s->crc.memory_bps[2] / 1e9);
  j_num(crc, "fast_in_cache_gbps", s->crc.cache_bps[0] / 1e9);
  j_num(crc, "pclmul_in_cache_gbps", s->crc.cache_bps[1] / 1e9);
  j_num(crc, "table_in_cache_gbps", s->crc.cache_bps[2] / 1e9);
  json_object_object_add(root, "crc32", crc);
  for (int i = 0; i < N_COMP; i++) {
    const struct comp *c = &s->comps[i];
    json_object *o = json_object_new_object(), *m;
    json_object_object_add(o, "file", json_object_new_string(c->path));
    json_object_object_add(o, "file_bytes", json_object_new_uint64(c->info.file_bytes));
    json_object_object_add(o, "chunks", json_object_new_uint64(c->raw.chunks));
    json_object_object_add(o, "largest_chunk_bytes", json_object_new_uint64(c->raw.largest_chunk));
    j_num(o, "corpus_generate_write_mbps", g_gen(c));
    j_bool(o, "corpus_generated_this_run", c->info.generated_now);
    j_num(o, "write_only_mbps", g_write(c));
    json_object_object_add(o, "write_only_output_bytes", json_object_new_uint64(c->write_out));
    j_num(o, "raw_decompress_mbps", g_raw(c));
    j_num(o, "raw_decompress_crc_mbps", g_raw_crc(c));
    j_num(o, "raw_decompress_from_file_mbps", g_raw_file(c));
    m = j_meas(&c->stream);
    j_num(m, "mbps", g_stream(c));
    j_num(m, "messages_per_s", g_stream_msgs(c) * 1e3);
    j_num(m, "ratio_to_raw", g_ratio(c) / 100.0);
    j_num(m, "ratio_to_raw_with_crc", g_ratio_crc(c) / 100.0);
    j_num(m, "ratio_to_raw_by_cpu_time", g_ratio_cpu(c) / 100.0);
    j_num(m, "ratio_to_raw_from_file", g_ratio_file(c) / 100.0);
    if (ok_ratio(c) >= 0) j_bool(m, "ratio_target_met", ok_ratio(c));
    j_bool(m, "rss_target_met", ok_stream_rss(c));
    json_object_object_add(o, "streamed", m);
    m = j_meas(&c->idx1);
    j_num(m, "mbps", g_idx1(c));
    j_num(m, "ratio_to_raw", g_idx1_ratio(c) / 100.0);
    j_num(m, "ratio_to_raw_from_file", g_idx1_ratio_file(c) / 100.0);
    if (ok_idx1_ratio(c) >= 0) j_bool(m, "ratio_target_met", ok_idx1_ratio(c));
    json_object_object_add(m, "rss_limit_kib", json_object_new_int64(idx_rss_limit_kib(c, 1)));
    j_bool(m, "rss_target_met", ok_idx1_rss(c));
    json_object_object_add(o, "indexed_log_time_1_thread", m);
    m = j_meas(&c->idx2);
    j_num(m, "mbps", g_idx2(c));
    j_num(m, "speedup", g_speedup(c));
    j_bool(m, "speedup_target_met", ok_speedup(c));
    json_object_object_add(m, "rss_limit_kib", json_object_new_int64(idx_rss_limit_kib(c, 2)));
    j_bool(m, "rss_target_met", ok_idx2_rss(c));
    json_object_object_add(o, "indexed_log_time_2_threads", m);
    m = j_meas(&c->idx2_pread);
    j_num(m, "mbps", g_idx2p(c));
    j_bool(m, "rss_target_met", ok_idx2p_rss(c));
    json_object_object_add(o, "indexed_log_time_2_threads_pread", m);
    json_object_object_add(o, "imu_query", j_meas(&c->imu));
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

static int run_suite(struct suite *s) {
  struct bench_msgset *set = NULL;
  double best;
  for (int i = 0; i < N_COMP; i++) {
    struct comp *c = &s->comps[i];
    int n = snprintf(c->path, sizeof c->path, "%s/robot-%s-%" PRIu64 "mib.mcap", s->cache,
                     c->name, s->size_mib);
    if (n <= 0 || (size_t)n >= sizeof c->path) return -1;
  }
  if (bench_make_dirs(s->cache)) return -1;
  if (bench_corpus_duration(s->size_mib << 20, &s->duration)) return -1;
  for (int i = 0; i < N_COMP; i++) {
    if (bench_corpus_ensure(s->comps[i].path, s->comps[i].c, s->duration, &s->comps[i].info)) {
      return -1;
    }
    if (s->comps[i].info.messages != s->comps[0].info.messages ||
        s->comps[i].info.message_bytes != s->comps[0].info.message_bytes) {
      bench_err("the corpus files do not hold the same messages; delete '%s'", s->cache);
      return -1;
    }
  }

  fprintf(stderr, "%s: timing generation and writing...\n", BENCH_PROG);
  s->gen_only_s = 1e30;
  for (int k = 0; k < s->repeats; k++) {
    double t;
    if (bench_generate_only(s->duration, &t, &s->gen_only_bytes)) return -1;
    if (t < s->gen_only_s) s->gen_only_s = t;
  }
  if (bench_msgset_load(s->comps[2].path, &set)) return -1;
  s->msgset_bytes = bench_msgset_bytes(set);
  for (int i = 0; i < N_COMP; i++) {
    best = 1e30;
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

  if (strcmp(s->page_cache, "asis") != 0) {
    fprintf(stderr, "%s: page cache of the corpus: evicting and reading back ('%s')...\n",
            BENCH_PROG, s->page_cache);
    for (int i = 0; i < N_COMP; i++) {
      if (bench_page_cache_set(s->comps[i].path, s->page_cache)) return -1;
    }
  }
  fprintf(stderr, "%s: timing CRC-32 and raw decompression...\n", BENCH_PROG);
  if (bench_crc(CRC_BUFFER_SIZE, CRC_CACHE_SIZE, s->repeats, &s->crc)) return -1;
  for (int i = 0; i < N_COMP; i++) {
    if (bench_raw_decompress(s->comps[i].path, s->repeats, &s->comps[i].raw)) return -1;
  }

  for (int i = 0; i < N_COMP; i++) {
    if (file_facts(s, &s->comps[i]) || run_reads(s, &s->comps[i])) return -1;
  }
  for (int i = 1; i < N_COMP; i++) {
    if (s->comps[i].window.messages != s->comps[0].window.messages ||
        s->comps[i].window.bytes != s->comps[0].window.bytes) {
      bench_err("the time window query returned different messages per compression");
      return -1;
    }
  }
  return 0;
}

static int bench_all_main(int argc, char **argv) {
  struct suite s;
  int rc;
  memset(&s, 0, sizeof s);
  s.comps[0].name = "zstd";
  s.comps[0].c = MCAP_COMPRESSION_ZSTD;
  s.comps[1].name = "lz4";
  s.comps[1].c = MCAP_COMPRESSION_LZ4;
  s.comps[2].name = "none";
  s.comps[2].c = MCAP_COMPRESSION_NONE;
  s.page_cache = "mcapkit";
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
  if (bench_raw_decompress(argv[1], repeats, &raw)) return 1;
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
    if (argc != 4 || strcmp(argv[3], "asis") == 0) {
      usage(stderr);
      return 2;
    }
    return bench_page_cache_set(argv[2], argv[3]) ? 1 : 0;
  }
  if (argc >= 2 && strcmp(argv[1], "read") == 0) return bench_read_main(argc - 1, argv + 1);
  if (argc >= 2 && strcmp(argv[1], "__measure") == 0) return bench_measure_main(argc - 1, argv + 1);
  if (argc >= 2 && strcmp(argv[1], "all") == 0) return bench_all_main(argc - 1, argv + 1);
  if (argc >= 2 && strcmp(argv[1], "tools") == 0) return bench_tools_main(argc - 1, argv + 1);
  if (argc >= 2 && strcmp(argv[1], "decode") == 0) return bench_decode_main(argc - 1, argv + 1);
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
