/*
 * bench_tools.c - `mcapkit-bench tools`: times the mcapkit CLI's rewrite
 * commands (compress, filter, merge), `lake` and `index` on the cached robot
 * corpus, with 1 and 2 threads where the command has threads, so performance
 * claims for them come from here and not from ad-hoc timing (see README.md).
 *
 * Every timed command runs as a measured child (`__measure --exec`), which
 * reports wall time, CPU time and peak RSS of mcapkit alone. Before each run
 * its inputs are copied with plain write() calls (as `cat a > b` does) into
 * <cache>/tools-in/, so mcapkit reads files in the state a recorder leaves
 * them in (page-cache state `written`), never in one mcapkit itself prepared.
 * The rows run in rounds (every selected row once per round, --repeats
 * rounds), so that a machine that speeds up or slows down during the run
 * moves the 1- and 2-thread figures alike; each row keeps its best run.
 * Outputs go to <cache>/tools-out/, which is removed before every run (so a
 * rename never replaces an old output inside the timing) and at the end.
 * Derived inputs (four time quarters of the zstd corpus for `merge`, a copy
 * without summary for `index`, a copy in 4 MiB chunks whose every chunk mixes
 * camera and other topics for the rewriting `filter`) are made once, outside
 * the timing, and cached beside the corpus with a sidecar tying them to the
 * corpus file they came from.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "bench.h"

#define MAX_ROUNDS 100 /* --repeats at most */
#define MIB (1024.0 * 1024.0)
#define PATH_CAP 4096
#define N_PARTS 4
#define PARTS_META_FORMAT 1

/* The references: the official C++ library rewrites this corpus zstd -> zstd level 1
 * at ~240 MB/s on one core, and writes one file per topic (zstd level 1) in ~4.3 s on one
 * core for 1024 MiB of payload. Targets: 2 threads >= 1.8x those; lake <= 1.3x compress. */
#define REF_CPP_COMPRESS_MBPS 240.0
#define TARGET_FACTOR 1.8
#define REF_CPP_LAKE_S 4.3
#define REF_CORPUS_BYTES (1024.0 * MIB)
#define TARGET_LAKE_RATIO 1.3
#define TARGET_INDEX_S 0.100
/* The scaling target: 2 threads >= 1.8 x faster than 1 for compress zstd -> zstd
 * level 1, lake and the rewriting filter. */
#define TARGET_SPEEDUP 1.8
#define COPY_PIECE ((size_t)128 << 10) /* what cat(1) writes at a time */
#define MAX_ARGS 24

enum target_kind { T_NONE, T_MIN_MBPS, T_MAX_S };

enum row_id {
  R_ZZ1,
  R_ZZ2,
  R_ZL1,
  R_ZL2,
  R_LZ1,
  R_LZ2,
  R_FILT1,
  R_FILT2,
  R_FILTER,
  R_CP,
  R_MERGE,
  R_LAKE1,
  R_LAKE2,
  R_INDEX,
  R_INDEX_ND,
  R_INDEX_NS,
  R_INDEX_NS_ND,
  N_ROWS
};

/* Inputs of a command, copied with write() before each of its runs. */
enum input { IN_ZSTD = 1, IN_LZ4 = 2, IN_ZSTD4M = 4, IN_NOSUM = 8, IN_PARTS = 16 };

/* One timed command. */
struct row {
  const char *id;             /* key in --json */
  const char *label;          /* table label */
  const char *prog;           /* NULL = mcapkit */
  const char *args[MAX_ARGS]; /* NULL-terminated; files are the copies under tools-in/ */
  unsigned inputs;            /* enum input bits */
  uint64_t expect;            /* messages OUT must hold afterwards; UINT64_MAX = not checked */
  int rewrites_all;           /* its --json must say "chunks_copied": 0 (every chunk rewritten) */
  int selected;               /* --only */
  char cmd[1024];             /* the command, with symbolic file names */
  int ran;
  double s;     /* best wall time */
  double cpu_s; /* least CPU time (user + system) */
  double round_s[MAX_ROUNDS]; /* wall time of each round, for ratios per round */
  int n_rounds;
  long rss_kib; /* largest peak RSS over the repeats */
  enum target_kind tk;
  double target; /* MB/s (T_MIN_MBPS) or seconds (T_MAX_S) */
  char ref[64];  /* a reference figure without a verdict, "" if none */
};

struct tools {
  char cache[PATH_CAP];
  char mcapkit[PATH_CAP];
  const char *cp;
  uint64_t size_mib;
  int quick, repeats, json;
  int chunk4m; /* --chunk-size 4M: the rows that read ZSTD read ZSTD4M instead */
  long cpus;
  double load[2]; /* 1-minute load average at the start and at the end; < 0 if unknown */
  double duration;
  char zstd[PATH_CAP], lz4[PATH_CAP], nosum[PATH_CAP], parts_meta[PATH_CAP];
  char zstd4m[PATH_CAP];
  char parts[N_PARTS][PATH_CAP];
  char out_dir[PATH_CAP], out_file[PATH_CAP], lake_dir[PATH_CAP];
  /* the copies the commands read (tools-in/, same base names) */
  char in_dir[PATH_CAP];
  char c_zstd[PATH_CAP], c_lz4[PATH_CAP], c_nosum[PATH_CAP], c_zstd4m[PATH_CAP];
  char c_parts[N_PARTS][PATH_CAP];
  const char *only; /* --only: comma-separated row ids or id prefixes; NULL = every row */
  double copy_s;    /* time spent copying inputs (outside the timings) */
  struct bench_corpus_info zinfo, linfo;
  uint64_t camera_messages; /* messages on topics matching /camera.* */
  uint64_t start_ns, end_ns;
  int parts_made_now, nosum_made_now, zstd4m_made_now;
  struct row rows[N_ROWS];
};

static void usage(FILE *f) {
  fputs("usage: " BENCH_PROG
        " tools [--cache DIR] [--size-mb N] [--quick] [--repeats N] [--json]\n"
        "                  [--mcapkit PATH] [--only ID[,ID...]] [--chunk-size 1M|4M]\n"
        "\n"
        "times the mcapkit CLI (compress, filter, merge, lake, index; and cp for comparison),\n"
        "with 1 and 2 threads where it has threads, on the cached robot corpus of N MiB of\n"
        "message payload (default 1024; 200 with --quick), each input copied with write()\n"
        "before each run; best of --repeats rounds (3; 1 with --quick); mcapkit defaults to\n"
        "the one next to " BENCH_PROG
        "; --only runs the rows whose id starts with one of\n"
        "the given ids (e.g. --only compress_zstd_to_zstd,lake,filter_rewrite);\n"
        "--chunk-size 4M: the rows that read the zstd corpus (1 MiB chunks) read it re-chunked\n"
        "into 4 MiB chunks instead, as the issue's recorder file\n",
        f);
}

/* ---------------------------------------------------------------- helpers */

static double mbps(uint64_t bytes, double s) {
  return s > 0 ? (double)bytes / s / 1e6 : 0;
}

static int set_path(char *dst, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int set_path(char *dst, const char *fmt, ...) {
  va_list ap;
  int n;
  va_start(ap, fmt);
  n = vsnprintf(dst, PATH_CAP, fmt, ap);
  va_end(ap);
  if (n <= 0 || n >= PATH_CAP) {
    bench_err("path too long");
    return -1;
  }
  return 0;
}

/* mkdir -p */

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw) {
  (void)st;
  (void)type;
  (void)ftw;
  if (remove(path) != 0 && errno != ENOENT) {
    bench_err("cannot remove '%s': %s", path, strerror(errno));
    return -1;
  }
  return 0;
}

/* rm -rf: depth first, without following symlinks. */
static int rm_rf(const char *path) {
  struct stat st;
  if (lstat(path, &st) != 0) return errno == ENOENT ? 0 : -1;
  return nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS) == 0 ? 0 : -1;
}

/* The outputs' directory, empty. */
static int fresh_out_dir(const struct tools *t) {
  if (rm_rf(t->out_dir)) {
    bench_err("cannot empty '%s'", t->out_dir);
    return -1;
  }
  return bench_make_dirs(t->out_dir);
}

/* mcapkit next to this program: dirname(/proc/self/exe)/mcapkit. */
static int default_mcapkit(char *dst) {
  char self[PATH_CAP];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  char *slash;
  if (n <= 0) {
    bench_err("cannot read /proc/self/exe: %s", strerror(errno));
    return -1;
  }
  self[n] = '\0';
  slash = strrchr(self, '/');
  if (!slash) return -1;
  *slash = '\0';
  return set_path(dst, "%s/mcapkit", self);
}

/* Messages in a file by its summary (sum of per-channel counts); optionally how many are
 * on /camera* topics and the log-time range. need_summary: fail when it was scanned. */
static int file_counts(const char *path, int need_summary, uint64_t *messages, uint64_t *camera,
                       uint64_t *start_ns, uint64_t *end_ns) {
  mcap_source src;
  mcap_reader *r = NULL;
  mcap_error_info e = {0, 0, {0}};
  uint64_t total = 0, cam = 0;
  if (mcap_source_open_mmap(&src, path, &e) || mcap_reader_open(&r, &src, NULL, &e)) {
    bench_err("cannot open '%s': %s", path, e.msg);
    return -1;
  }
  if (need_summary && mcap_reader_index_source(r, NULL) != MCAP_INDEX_FROM_SUMMARY) {
    bench_err("'%s' has no usable summary", path);
    mcap_reader_free(r);
    return -1;
  }
  for (size_t i = 0; i < mcap_reader_channel_count(r); i++) {
    const mcap_channel *ch = mcap_reader_channel_at(r, i);
    uint64_t n = mcap_reader_channel_message_count(r, ch->id);
    total += n;
    if (ch->topic.len >= 7 && memcmp(ch->topic.data, "/camera", 7) == 0) cam += n;
  }
  if (messages) *messages = total;
  if (camera) *camera = cam;
  if (start_ns || end_ns) {
    const mcap_statistics *st = mcap_reader_statistics(r, NULL);
    if (start_ns) *start_ns = st->message_start_time;
    if (end_ns) *end_ns = st->message_end_time;
  }
  mcap_reader_free(r);
  return 0;
}

/* A shell-like rendering of one argument (single quotes around anything unusual). */
static void append_arg(char *dst, size_t cap, const char *a) {
  size_t len = strlen(dst);
  int plain = a[0] != '\0';
  for (const char *p = a; *p; p++) {
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
          strchr("/._=:,+-", *p))) {
      plain = 0;
    }
  }
  if (len + 1 >= cap) return;
  snprintf(dst + len, cap - len, plain ? "%s%s" : "%s'%s'", len ? " " : "", a);
}

/* The command with the cache's files replaced by short names (ZSTD, LZ4, OUT, ...). */
static void describe(const struct tools *t, const char *prog_name, const char *const args[],
                     char *dst, size_t cap) {
  dst[0] = '\0';
  append_arg(dst, cap, prog_name);
  for (size_t i = 0; args[i]; i++) {
    const char *a = args[i];
    char part[8];
    if (strcmp(a, t->zstd) == 0 || strcmp(a, t->c_zstd) == 0)
      a = "ZSTD";
    else if (strcmp(a, t->lz4) == 0 || strcmp(a, t->c_lz4) == 0)
      a = "LZ4";
    else if (strcmp(a, t->nosum) == 0 || strcmp(a, t->c_nosum) == 0)
      a = "NOSUMMARY";
    else if (strcmp(a, t->zstd4m) == 0 || strcmp(a, t->c_zstd4m) == 0)
      a = "ZSTD4M";
    else if (strcmp(a, t->out_file) == 0)
      a = "OUT";
    else if (strcmp(a, t->lake_dir) == 0)
      a = "LAKEDIR";
    else {
      for (int k = 0; k < N_PARTS; k++) {
        if (strcmp(a, t->parts[k]) == 0 || strcmp(a, t->c_parts[k]) == 0) {
          snprintf(part, sizeof part, "P%d", k + 1);
          a = part;
        }
      }
    }
    append_arg(dst, cap, a);
  }
}

/* ------------------------------------------------------- cached inputs */

static int file_sig(const char *path, uint64_t *size, uint64_t *mtime_ns) {
  struct stat st;
  if (stat(path, &st) != 0) return -1;
  *size = (uint64_t)st.st_size;
  *mtime_ns = (uint64_t)st.st_mtim.tv_sec * UINT64_C(1000000000) + (uint64_t)st.st_mtim.tv_nsec;
  return 0;
}

/* Sidecar of derived files: the source's size and mtime and each derived file's size. */
static int derived_ok(const char *meta, const char *src, char (*files)[PATH_CAP], int n) {
  char text[1024], key[32];
  uint64_t ssize, smtime, v, fsize, fmtime;
  size_t len;
  FILE *f = fopen(meta, "r");
  if (!f) return 0;
  len = fread(text, 1, sizeof text - 1, f);
  fclose(f);
  text[len] = '\0';
  if (file_sig(src, &ssize, &smtime) || bench_kv_u64(text, "format", &v) ||
      v != PARTS_META_FORMAT || bench_kv_u64(text, "source_bytes", &v) || v != ssize ||
      bench_kv_u64(text, "source_mtime_ns", &v) || v != smtime) {
    return 0;
  }
  for (int k = 0; k < n; k++) {
    snprintf(key, sizeof key, "bytes%d", k + 1);
    if (bench_kv_u64(text, key, &v) || file_sig(files[k], &fsize, &fmtime) || fsize != v) return 0;
  }
  return 1;
}

static int derived_save(const char *meta, const char *src, char (*files)[PATH_CAP], int n) {
  char tmp[PATH_CAP + 16];
  uint64_t ssize, smtime, fsize, fmtime;
  FILE *f;
  int ok;
  if (file_sig(src, &ssize, &smtime)) return -1;
  snprintf(tmp, sizeof tmp, "%s.tmp", meta);
  f = fopen(tmp, "w");
  if (!f) {
    bench_err("cannot write '%s': %s", tmp, strerror(errno));
    return -1;
  }
  fprintf(f, "format=%d\nsource_bytes=%" PRIu64 "\nsource_mtime_ns=%" PRIu64 "\n",
          PARTS_META_FORMAT, ssize, smtime);
  for (int k = 0; k < n; k++) {
    if (file_sig(files[k], &fsize, &fmtime)) {
      fclose(f);
      unlink(tmp);
      return -1;
    }
    fprintf(f, "bytes%d=%" PRIu64 "\n", k + 1, fsize);
  }
  ok = fclose(f) == 0;
  if (!ok || rename(tmp, meta) != 0) {
    bench_err("cannot write '%s': %s", meta, strerror(errno));
    unlink(tmp);
    return -1;
  }
  return 0;
}

/* Run mcapkit ARGS... once (not a timing); 0 when it exited with 0. */
static int run_mcapkit(const struct tools *t, const char *const args[], const char *what) {
  struct bench_child c;
  if (bench_run_child_exec(t->mcapkit, (char *const *)args, &c) != 0) return -1;
  if (c.exit_code != 0) {
    bench_err("%s failed (exit %d): %s", what, c.exit_code, c.err);
    return -1;
  }
  return 0;
}

/* The zstd corpus split by log time into four equal quarters with `mcapkit filter`. */
static int ensure_parts(struct tools *t) {
  uint64_t span, q = 0, sum = 0;
  char start[32], end[32];
  if (derived_ok(t->parts_meta, t->zstd, t->parts, N_PARTS)) return 0;
  fprintf(stderr, "%s: splitting '%s' into %d log-time quarters...\n", BENCH_PROG, t->zstd,
          N_PARTS);
  if (t->end_ns < t->start_ns + N_PARTS) {
    bench_err("'%s' spans too little time to split", t->zstd);
    return -1;
  }
  span = t->end_ns - t->start_ns + 1;
  for (int k = 0; k < N_PARTS; k++) {
    uint64_t a = t->start_ns + span / N_PARTS * (uint64_t)k;
    uint64_t b =
        k == N_PARTS - 1 ? t->end_ns : t->start_ns + span / N_PARTS * (uint64_t)(k + 1) - 1;
    const char *args[] = {"filter", t->zstd, "-o", t->parts[k], "--start",
                          start,    "--end", end,  NULL};
    snprintf(start, sizeof start, "%" PRIu64, a);
    snprintf(end, sizeof end, "%" PRIu64, b);
    if (run_mcapkit(t, args, "mcapkit filter (making a merge input)")) return -1;
    if (file_counts(t->parts[k], 1, &q, NULL, NULL, NULL)) return -1;
    if (q == 0) {
      bench_err("'%s' holds no messages", t->parts[k]);
      return -1;
    }
    sum += q;
  }
  if (sum != t->zinfo.messages) {
    bench_err("the quarters hold %" PRIu64 " messages, the corpus %" PRIu64, sum,
              t->zinfo.messages);
    return -1;
  }
  t->parts_made_now = 1;
  return derived_save(t->parts_meta, t->zstd, t->parts, N_PARTS);
}

static int write_all(int fd, const void *buf, size_t len) {
  const uint8_t *p = buf;
  while (len > 0) {
    ssize_t n = write(fd, p, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

static void put_le64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/*
 * The zstd corpus without its summary: the bytes before Footer.summary_start (header,
 * data section, DataEnd) plus a Footer of zeros and the magic, which is what a writer
 * asked for no summary produces. Readers must scan it.
 */
static int ensure_nosummary(struct tools *t) {
  char meta[PATH_CAP + 8], tmp[PATH_CAP + 8];
  char files[1][PATH_CAP];
  uint8_t footer[1 + 8 + 20 + MCAP_MAGIC_SIZE];
  uint64_t summary_start, done = 0, msgs = 0;
  mcap_source src;
  mcap_reader *r = NULL;
  mcap_error_info e = {0, 0, {0}};
  uint8_t *buf;
  int in, out, rc = -1;
  const char *why = NULL;

  snprintf(meta, sizeof meta, "%s.meta", t->nosum);
  memcpy(files[0], t->nosum, sizeof files[0]);
  if (derived_ok(meta, t->zstd, files, 1)) return 0;
  fprintf(stderr, "%s: copying '%s' without its summary...\n", BENCH_PROG, t->zstd);
  if (mcap_source_open_mmap(&src, t->zstd, &e) || mcap_reader_open(&r, &src, NULL, &e)) {
    bench_err("cannot open '%s': %s", t->zstd, e.msg);
    return -1;
  }
  summary_start = mcap_reader_footer(r)->summary_start;
  mcap_reader_free(r);
  if (summary_start == 0) {
    bench_err("'%s' has no summary to strip", t->zstd);
    return -1;
  }
  buf = malloc(1u << 20);
  if (!buf) return -1;
  snprintf(tmp, sizeof tmp, "%s.tmp", t->nosum);
  in = open(t->zstd, O_RDONLY | O_CLOEXEC);
  out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (in < 0 || out < 0) {
    bench_err("cannot open '%s' or '%s': %s", t->zstd, tmp, strerror(errno));
    goto done;
  }
  while (done < summary_start) {
    size_t want = summary_start - done < (1u << 20) ? (size_t)(summary_start - done) : 1u << 20;
    ssize_t n = pread(in, buf, want, (off_t)done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0 || write_all(out, buf, (size_t)n)) {
      bench_err("copying '%s' to '%s' failed: %s", t->zstd, tmp,
                n == 0 ? "short file" : strerror(errno));
      goto done;
    }
    done += (uint64_t)n;
  }
  memset(footer, 0, sizeof footer);
  footer[0] = 0x02; /* Footer opcode; summary_start, summary_offset_start, summary_crc = 0 */
  put_le64(footer + 1, 20);
  memcpy(footer + 1 + 8 + 20, MCAP_MAGIC, MCAP_MAGIC_SIZE);
  if (write_all(out, footer, sizeof footer) || close(out) != 0) {
    out = -1;
    bench_err("cannot write '%s': %s", tmp, strerror(errno));
    goto done;
  }
  out = -1;
  if (rename(tmp, t->nosum) != 0) {
    bench_err("cannot rename '%s': %s", tmp, strerror(errno));
    goto done;
  }
  /* It must scan, and the scan must find every message. */
  if (mcap_source_open_mmap(&src, t->nosum, &e) || mcap_reader_open(&r, &src, NULL, &e)) {
    bench_err("cannot open '%s': %s", t->nosum, e.msg);
    goto done;
  }
  if (mcap_reader_index_source(r, &why) != MCAP_INDEX_FROM_SCAN) {
    bench_err("'%s' was opened by a summary", t->nosum);
    mcap_reader_free(r);
    goto done;
  }
  for (size_t i = 0; i < mcap_reader_channel_count(r); i++) {
    msgs += mcap_reader_channel_message_count(r, mcap_reader_channel_at(r, i)->id);
  }
  mcap_reader_free(r);
  if (msgs != t->zinfo.messages) {
    bench_err("'%s': a scan finds %" PRIu64 " messages, expected %" PRIu64, t->nosum, msgs,
              t->zinfo.messages);
    goto done;
  }
  t->nosum_made_now = 1;
  rc = derived_save(meta, t->zstd, files, 1);
done:
  if (in >= 0) close(in);
  if (out >= 0) close(out);
  if (rc) unlink(tmp);
  free(buf);
  return rc;
}

/* ---------------------------------------------------------- measurement */

/*
 * The zstd corpus re-chunked into 4 MiB chunks by `mcapkit compress --chunk-size 4M`: the
 * camera frames then share every chunk with other topics, so a filter that drops them must
 * rewrite (decompress and recompress) every chunk, as on files from recorders that write
 * big chunks.
 */
static int ensure_zstd4m(struct tools *t) {
  char meta[PATH_CAP + 8];
  char files[1][PATH_CAP];
  uint64_t n = 0;
  const char *args[] = {"compress", t->zstd,        "-o", t->zstd4m, "--compression",
                        "zstd",     "--chunk-size", "4M", NULL};
  snprintf(meta, sizeof meta, "%s.meta", t->zstd4m);
  memcpy(files[0], t->zstd4m, sizeof files[0]);
  if (derived_ok(meta, t->zstd, files, 1)) return 0;
  fprintf(stderr, "%s: re-chunking '%s' into 4 MiB chunks...\n", BENCH_PROG, t->zstd);
  if (run_mcapkit(t, args, "mcapkit compress --chunk-size 4M (making a filter input)")) return -1;
  if (file_counts(t->zstd4m, 1, &n, NULL, NULL, NULL)) return -1;
  if (n != t->zinfo.messages) {
    bench_err("'%s' holds %" PRIu64 " messages, expected %" PRIu64, t->zstd4m, n,
              t->zinfo.messages);
    return -1;
  }
  t->zstd4m_made_now = 1;
  return derived_save(meta, t->zstd, files, 1);
}

/* `cat src > dst`: plain write() calls of cat's size into a new file, no fsync. */
static int copy_plain(const char *src, const char *dst) {
  uint8_t *buf = malloc(COPY_PIECE);
  int in = -1, out = -1, rc = -1;
  if (!buf) return -1;
  if (unlink(dst) != 0 && errno != ENOENT) goto fail;
  in = open(src, O_RDONLY | O_CLOEXEC);
  out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (in < 0 || out < 0) goto fail;
  for (;;) {
    ssize_t n = read(in, buf, COPY_PIECE);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) goto fail;
    if (n == 0) break;
    if (write_all(out, buf, (size_t)n)) goto fail;
  }
  if (close(out) != 0) {
    out = -1;
    goto fail;
  }
  out = -1;
  rc = 0;
fail:
  if (rc) bench_err("cannot copy '%s' to '%s': %s", src, dst, strerror(errno));
  if (in >= 0) close(in);
  if (out >= 0) close(out);
  free(buf);
  return rc;
}

/* Copy a row's inputs into tools-in/ (the page-cache state `written`). */
static int copy_inputs(struct tools *t, unsigned inputs) {
  double t0 = bench_now();
  int rc = 0;
  if (!rc && (inputs & IN_ZSTD)) rc = copy_plain(t->zstd, t->c_zstd);
  if (!rc && (inputs & IN_LZ4)) rc = copy_plain(t->lz4, t->c_lz4);
  if (!rc && (inputs & IN_ZSTD4M)) rc = copy_plain(t->zstd4m, t->c_zstd4m);
  if (!rc && (inputs & IN_NOSUM)) rc = copy_plain(t->nosum, t->c_nosum);
  for (int k = 0; k < N_PARTS && !rc && (inputs & IN_PARTS); k++)
    rc = copy_plain(t->parts[k], t->c_parts[k]);
  t->copy_s += bench_now() - t0;
  return rc;
}

/*
 * One run of a row: copy its inputs, empty the output directory, run it as a measured
 * child. Checks, outside the timing: exit code 0; OUT holds r->expect messages (by its
 * summary); a row that must rewrite every chunk reported "chunks_copied": 0.
 */
static int measure_once(struct tools *t, struct row *r) {
  const char *path = r->prog ? r->prog : t->mcapkit;
  struct bench_child c;
  if (copy_inputs(t, r->inputs) || fresh_out_dir(t)) return -1;
  if (bench_run_child_exec(path, (char *const *)r->args, &c) != 0) return -1;
  if (c.exit_code != 0) {
    bench_err("'%s' failed (exit %d): %s", r->cmd, c.exit_code, c.err);
    return -1;
  }
  if (r->expect != UINT64_MAX) {
    uint64_t n;
    if (file_counts(t->out_file, 1, &n, NULL, NULL, NULL)) return -1;
    if (n != r->expect) {
      bench_err("'%s' wrote %" PRIu64 " messages, expected %" PRIu64, r->cmd, n, r->expect);
      return -1;
    }
  }
  if (r->rewrites_all && !strstr(c.out, "\"chunks_copied\": 0,")) {
    bench_err("'%s' copied chunks instead of rewriting every one: %.200s", r->cmd, c.out);
    return -1;
  }
  fprintf(stderr, "%s:   %.3f s wall, %.3f s CPU, %.1f MiB peak RSS\n", BENCH_PROG, c.seconds,
          c.cpu_seconds, (double)c.maxrss_kib / 1024.0);
  if (!r->ran || c.seconds < r->s) r->s = c.seconds;
  if (!r->ran || c.cpu_seconds < r->cpu_s) r->cpu_s = c.cpu_seconds;
  if (r->n_rounds < MAX_ROUNDS) r->round_s[r->n_rounds++] = c.seconds;
  if (c.maxrss_kib > r->rss_kib) r->rss_kib = c.maxrss_kib;
  r->ran = 1;
  return 0;
}

/* Every selected row once per round, --repeats rounds. */
static int run_timings(struct tools *t) {
  for (int k = 0; k < t->repeats; k++) {
    for (int i = 0; i < N_ROWS; i++) {
      struct row *r = &t->rows[i];
      if (!r->selected) continue;
      fprintf(stderr, "%s: [%d/%d] %s\n", BENCH_PROG, k + 1, t->repeats, r->cmd);
      if (measure_once(t, r)) return -1;
    }
  }
  return 0;
}

/* --------------------------------------------------------------- setup */

/* Is `id` selected by --only (a comma-separated list of ids or id prefixes)? */
static int selected(const char *only, const char *id) {
  if (!only) return 1;
  for (const char *p = only; *p;) {
    const char *end = strchr(p, ',');
    size_t n = end ? (size_t)(end - p) : strlen(p);
    if (n && strncmp(id, p, n) == 0) return 1;
    p += n + (end ? 1 : 0);
  }
  return 0;
}

/* Fill a row's argument vector (NULL-terminated list of strings). */
static void set_args(struct row *r, const char *first, ...) {
  va_list ap;
  int n = 0;
  va_start(ap, first);
  for (const char *a = first; a && n < MAX_ARGS - 1; a = va_arg(ap, const char *)) r->args[n++] = a;
  va_end(ap);
  r->args[n] = NULL;
}

static void init_rows(struct tools *t) {
  static const struct {
    const char *id, *label;
  } names[N_ROWS] = {
      [R_ZZ1] = {"compress_zstd_to_zstd_l1_j1", "compress zstd -> zstd level 1, -j 1"},
      [R_ZZ2] = {"compress_zstd_to_zstd_l1_j2", "compress zstd -> zstd level 1, -j 2"},
      [R_ZL1] = {"compress_zstd_to_lz4_j1", "compress zstd -> lz4, -j 1"},
      [R_ZL2] = {"compress_zstd_to_lz4_j2", "compress zstd -> lz4, -j 2"},
      [R_LZ1] = {"compress_lz4_to_zstd_j1", "compress lz4 -> zstd (default level), -j 1"},
      [R_LZ2] = {"compress_lz4_to_zstd_j2", "compress lz4 -> zstd (default level), -j 2"},
      [R_FILT1] = {"filter_rewrite_j1", "filter 4 MiB chunks (all rewritten), -j 1"},
      [R_FILT2] = {"filter_rewrite_j2", "filter 4 MiB chunks (all rewritten), -j 2"},
      [R_FILTER] = {"filter_exclude_camera", "filter zstd --exclude-topic '/camera.*'"},
      [R_CP] = {"cp", "cp of the zstd file (comparison)"},
      [R_MERGE] = {"merge_4_quarters", "merge 4 log-time quarters of zstd"},
      [R_LAKE1] = {"lake_zstd_l1_j1", "lake zstd level 1, --jobs 1"},
      [R_LAKE2] = {"lake_zstd_l1_j2", "lake zstd level 1, --jobs 2"},
      [R_INDEX] = {"index_summary", "index --json (with summary)"},
      [R_INDEX_ND] = {"index_summary_no_doctor", "index --json --no-doctor (with summary)"},
      [R_INDEX_NS] = {"index_no_summary", "index --json (no summary: scan)"},
      [R_INDEX_NS_ND] = {"index_no_summary_no_doctor", "index --json --no-doctor (no summary)"},
  };
  struct row *R = t->rows;
  const uint64_t all = t->zinfo.messages, none = UINT64_MAX;
  const char *O = t->out_file;
  /* --chunk-size 4M: the zstd rows read the corpus in 4 MiB chunks (the file). */
  const char *Z = t->chunk4m ? t->c_zstd4m : t->c_zstd;
  const unsigned ZIN = t->chunk4m ? IN_ZSTD4M : IN_ZSTD;
  /* The lake reference is for 1024 MiB of payload; scale it to this corpus. */
  double lake_ref = REF_CPP_LAKE_S * (double)t->zinfo.message_bytes / REF_CORPUS_BYTES;
  for (int i = 0; i < N_ROWS; i++) {
    R[i].id = names[i].id;
    R[i].label = names[i].label;
    R[i].expect = none;
  }
  set_args(&R[R_ZZ1], "compress", Z, "-o", O, "--compression", "zstd", "--compression-level", "1",
           "-j", "1", NULL);
  set_args(&R[R_ZZ2], "compress", Z, "-o", O, "--compression", "zstd", "--compression-level", "1",
           "-j", "2", NULL);
  set_args(&R[R_ZL1], "compress", Z, "-o", O, "--compression", "lz4", "-j", "1", NULL);
  set_args(&R[R_ZL2], "compress", Z, "-o", O, "--compression", "lz4", "-j", "2", NULL);
  set_args(&R[R_LZ1], "compress", t->c_lz4, "-o", O, "--compression", "zstd", "-j", "1", NULL);
  set_args(&R[R_LZ2], "compress", t->c_lz4, "-o", O, "--compression", "zstd", "-j", "2", NULL);
  set_args(&R[R_FILT1], "filter", t->c_zstd4m, "-o", O, "--exclude-topic", "/camera.*", "-j", "1",
           "--json", NULL);
  set_args(&R[R_FILT2], "filter", t->c_zstd4m, "-o", O, "--exclude-topic", "/camera.*", "-j", "2",
           "--json", NULL);
  set_args(&R[R_FILTER], "filter", Z, "-o", O, "--exclude-topic", "/camera.*", NULL);
  set_args(&R[R_CP], "--reflink=never", Z, O, NULL);
  set_args(&R[R_MERGE], "merge", t->c_parts[0], t->c_parts[1], t->c_parts[2], t->c_parts[3], "-o",
           O, NULL);
  set_args(&R[R_LAKE1], "lake", Z, "--lake", t->lake_dir, "--compression", "zstd",
           "--compression-level", "1", "--jobs", "1", NULL);
  set_args(&R[R_LAKE2], "lake", Z, "--lake", t->lake_dir, "--compression", "zstd",
           "--compression-level", "1", "--jobs", "2", NULL);
  set_args(&R[R_INDEX], "index", Z, "--json", NULL);
  set_args(&R[R_INDEX_ND], "index", Z, "--json", "--no-doctor", NULL);
  set_args(&R[R_INDEX_NS], "index", t->c_nosum, "--json", NULL);
  set_args(&R[R_INDEX_NS_ND], "index", t->c_nosum, "--json", "--no-doctor", NULL);
  for (int i = R_ZZ1; i <= R_ZL2; i++) R[i].inputs = ZIN;
  R[R_LZ1].inputs = R[R_LZ2].inputs = IN_LZ4;
  R[R_FILT1].inputs = R[R_FILT2].inputs = IN_ZSTD4M;
  R[R_FILT1].rewrites_all = R[R_FILT2].rewrites_all = 1;
  R[R_FILTER].inputs = R[R_CP].inputs = R[R_LAKE1].inputs = R[R_LAKE2].inputs = ZIN;
  R[R_INDEX].inputs = R[R_INDEX_ND].inputs = ZIN;
  R[R_INDEX_NS].inputs = R[R_INDEX_NS_ND].inputs = IN_NOSUM;
  R[R_MERGE].inputs = IN_PARTS;
  for (int i = R_ZZ1; i <= R_LZ2; i++) R[i].expect = all;
  R[R_FILT1].expect = R[R_FILT2].expect = R[R_FILTER].expect = all - t->camera_messages;
  R[R_CP].expect = R[R_MERGE].expect = all;
  R[R_CP].prog = t->cp;
  for (int i = 0; i < N_ROWS; i++) {
    const char *path = R[i].prog ? R[i].prog : t->mcapkit;
    const char *name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    describe(t, name, R[i].args, R[i].cmd, sizeof R[i].cmd);
    R[i].selected = selected(t->only, R[i].id);
  }
  snprintf(R[R_ZZ1].ref, sizeof R[R_ZZ1].ref, "ref C++ %.0f MB/s, 1 core", REF_CPP_COMPRESS_MBPS);
  R[R_ZZ2].tk = T_MIN_MBPS;
  R[R_ZZ2].target = REF_CPP_COMPRESS_MBPS * TARGET_FACTOR;
  snprintf(R[R_LAKE1].ref, sizeof R[R_LAKE1].ref, "ref C++ %.2f s, 1 core", lake_ref);
  R[R_LAKE2].tk = T_MAX_S;
  R[R_LAKE2].target = lake_ref / TARGET_FACTOR;
  R[R_INDEX].tk = T_MAX_S;
  R[R_INDEX].target = TARGET_INDEX_S;
}

static int setup(struct tools *t) {
  static const char *const cps[] = {"/bin/cp", "/usr/bin/cp"};
  if (!t->mcapkit[0] && default_mcapkit(t->mcapkit)) return -1;
  if (access(t->mcapkit, X_OK) != 0) {
    bench_err("cannot run '%s' (%s); build the mcapkit target or pass --mcapkit PATH", t->mcapkit,
              strerror(errno));
    return -1;
  }
  for (size_t i = 0; i < sizeof cps / sizeof cps[0] && !t->cp; i++) {
    if (access(cps[i], X_OK) == 0) t->cp = cps[i];
  }
  if (!t->cp) {
    bench_err("no cp in /bin or /usr/bin");
    return -1;
  }
  if (set_path(t->zstd, "%s/robot-zstd-%" PRIu64 "mib.mcap", t->cache, t->size_mib) ||
      set_path(t->lz4, "%s/robot-lz4-%" PRIu64 "mib.mcap", t->cache, t->size_mib) ||
      set_path(t->nosum, "%s/robot-zstd-%" PRIu64 "mib.nosummary.mcap", t->cache, t->size_mib) ||
      set_path(t->parts_meta, "%s/robot-zstd-%" PRIu64 "mib.parts.meta", t->cache, t->size_mib) ||
      set_path(t->zstd4m, "%s/robot-zstd-%" PRIu64 "mib.4m.mcap", t->cache, t->size_mib) ||
      set_path(t->in_dir, "%s/tools-in", t->cache) ||
      set_path(t->c_zstd, "%s/robot-zstd-%" PRIu64 "mib.mcap", t->in_dir, t->size_mib) ||
      set_path(t->c_lz4, "%s/robot-lz4-%" PRIu64 "mib.mcap", t->in_dir, t->size_mib) ||
      set_path(t->c_nosum, "%s/robot-zstd-%" PRIu64 "mib.nosummary.mcap", t->in_dir, t->size_mib) ||
      set_path(t->c_zstd4m, "%s/robot-zstd-%" PRIu64 "mib.4m.mcap", t->in_dir, t->size_mib) ||
      set_path(t->out_dir, "%s/tools-out", t->cache) ||
      set_path(t->out_file, "%s/out.mcap", t->out_dir) ||
      set_path(t->lake_dir, "%s/lake", t->out_dir)) {
    return -1;
  }
  for (int k = 0; k < N_PARTS; k++) {
    if (set_path(t->parts[k], "%s/robot-zstd-%" PRIu64 "mib.part%d.mcap", t->cache, t->size_mib,
                 k + 1) ||
        set_path(t->c_parts[k], "%s/robot-zstd-%" PRIu64 "mib.part%d.mcap", t->in_dir, t->size_mib,
                 k + 1)) {
      return -1;
    }
  }
  if (bench_make_dirs(t->cache) || rm_rf(t->in_dir) || bench_make_dirs(t->in_dir)) return -1;
  /* The same duration as `all` computes, so both modes share the cached files. */
  if (bench_corpus_duration(t->size_mib << 20, &t->duration)) return -1;
  if (bench_corpus_ensure(t->zstd, MCAP_COMPRESSION_ZSTD, t->duration, &t->zinfo) ||
      bench_corpus_ensure(t->lz4, MCAP_COMPRESSION_LZ4, t->duration, &t->linfo)) {
    return -1;
  }
  if (t->zinfo.messages != t->linfo.messages || t->zinfo.message_bytes != t->linfo.message_bytes) {
    bench_err("the corpus files do not hold the same messages; delete '%s'", t->cache);
    return -1;
  }
  {
    uint64_t n;
    if (file_counts(t->zstd, 1, &n, &t->camera_messages, &t->start_ns, &t->end_ns)) return -1;
    if (n != t->zinfo.messages) {
      bench_err("'%s' holds %" PRIu64 " messages, its sidecar says %" PRIu64, t->zstd, n,
                t->zinfo.messages);
      return -1;
    }
    if (t->camera_messages == 0) {
      bench_err("'%s' has no /camera* topic to exclude", t->zstd);
      return -1;
    }
  }
  init_rows(t);
  {
    int any = 0;
    for (int i = 0; i < N_ROWS; i++) any |= t->rows[i].selected;
    if (!any) {
      bench_err("--only '%s' selects no row", t->only);
      return -1;
    }
  }
  /* Derived inputs, made only when a selected row needs them. */
  if (t->rows[R_MERGE].selected && ensure_parts(t)) return -1;
  if ((t->rows[R_INDEX_NS].selected || t->rows[R_INDEX_NS_ND].selected) && ensure_nosummary(t))
    return -1;
  if ((t->chunk4m || t->rows[R_FILT1].selected || t->rows[R_FILT2].selected) && ensure_zstd4m(t))
    return -1;
  return 0;
}

/* ---------------------------------------------------------------- report */

/* 1 met, 0 missed, -1 no target. */
static int verdict(const struct row *r, double mb_s) {
  if (r->tk == T_MIN_MBPS) return mb_s >= r->target;
  if (r->tk == T_MAX_S) return r->s <= r->target;
  return -1;
}

/* Ratios of wall times: num / den, with a target (0 = none): at least `min` or at most `max`. */
static const struct ratio_def {
  const char *id, *label;
  int num, den;
  double min, max;
} RATIOS[] = {
    {"compress_zstd_to_zstd_l1_speedup", "compress zstd -> zstd l1: -j 1 / -j 2", R_ZZ1, R_ZZ2,
     TARGET_SPEEDUP, 0},
    {"filter_rewrite_speedup", "filter (every chunk rewritten): -j 1 / -j 2", R_FILT1, R_FILT2,
     TARGET_SPEEDUP, 0},
    {"lake_speedup", "lake: --jobs 1 / --jobs 2", R_LAKE1, R_LAKE2, TARGET_SPEEDUP, 0},
    {"compress_zstd_to_lz4_speedup", "compress zstd -> lz4: -j 1 / -j 2", R_ZL1, R_ZL2, 0, 0},
    {"compress_lz4_to_zstd_speedup", "compress lz4 -> zstd: -j 1 / -j 2", R_LZ1, R_LZ2, 0, 0},
    {"lake_to_compress_j2", "lake / compress zstd l1, 2 threads", R_LAKE2, R_ZZ2, 0,
     TARGET_LAKE_RATIO},
    {"lake_to_compress_j1", "lake / compress zstd l1, 1 thread", R_LAKE1, R_ZZ1, 0, 0},
    {"filter_to_cp", "filter (pass-through) / cp", R_FILTER, R_CP, 0, 0},
};
#define N_RATIOS (sizeof RATIOS / sizeof RATIOS[0])

/* The ratio, or 0 when either row did not run. */
static double ratio_value(const struct tools *t, const struct ratio_def *d) {
  const struct row *n = &t->rows[d->num], *m = &t->rows[d->den];
  return n->ran && m->ran && m->s > 0 ? n->s / m->s : 0;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* The median over the rounds of the ratio within each round (the two rows of a round run
 * minutes apart at most, so they meet the machine in the same state; the best of each
 * row may come from different rounds), or 0 when either row did not run every round. */
static double ratio_per_round(const struct tools *t, const struct ratio_def *d) {
  const struct row *n = &t->rows[d->num], *m = &t->rows[d->den];
  double v[MAX_ROUNDS];
  int k = n->n_rounds;
  if (!n->ran || !m->ran || k == 0 || m->n_rounds != k) return 0;
  for (int i = 0; i < k; i++) {
    if (m->round_s[i] <= 0) return 0;
    v[i] = n->round_s[i] / m->round_s[i];
  }
  qsort(v, (size_t)k, sizeof *v, cmp_double);
  return k % 2 ? v[k / 2] : (v[k / 2 - 1] + v[k / 2]) / 2;
}

static int ratio_met(const struct ratio_def *d, double v) {
  return d->min > 0 ? v >= d->min : v <= d->max;
}

static void print_table(const struct tools *t) {
  const uint64_t bytes = t->zinfo.message_bytes;
  printf("mcapkit-bench tools (libmcap %s): %s\n", mcap_version_string(), t->mcapkit);
  printf("robot corpus of %.1f MiB message payload, %" PRIu64
         " messages, %.3f s of recording;\n"
         "zstd file %.1f MiB, lz4 file %.1f MiB, 1 MiB chunks (ZSTD4M: 4 MiB chunks)%s\n",
         (double)bytes / MIB, t->zinfo.messages, t->zinfo.duration,
         (double)t->zinfo.file_bytes / MIB, (double)t->linfo.file_bytes / MIB,
         t->chunk4m ? ";\n--chunk-size 4M: the rows that read ZSTD read ZSTD4M instead" : "");
  printf(
      "cache %s; %ld CPUs, load average %.2f at the start, %.2f at the end (other work on\n"
      "the machine makes wall times noisy); best of %d round%s; page cache `written`: each\n"
      "input copied with write() into %s before each run (%.1f s of copying\n"
      "in all, untimed); outputs in %s, emptied before every run.\n"
      "MB/s = uncompressed message payload (10^6 bytes) / wall time of the command;\n"
      "RSS = its peak (largest over the runs).\n\n",
      t->cache, t->cpus, t->load[0], t->load[1], t->repeats, t->repeats == 1 ? "" : "s", t->in_dir,
      t->copy_s, t->out_dir);
  printf("  %-44s %8s %8s %8s %8s  %s\n", "", "wall s", "MB/s", "CPU s", "RSS MiB", "target");
  for (int i = 0; i < N_ROWS; i++) {
    const struct row *r = &t->rows[i];
    double m = mbps(bytes, r->s);
    int v = verdict(r, m);
    char target[96] = "";
    if (!r->ran) continue;
    if (r->tk == T_MIN_MBPS)
      snprintf(target, sizeof target, ">= %.0f MB/s  %s", r->target, v ? "ok" : "MISSED");
    else if (r->tk == T_MAX_S)
      snprintf(target, sizeof target, "<= %.3f s  %s", r->target, v ? "ok" : "MISSED");
    else if (r->ref[0])
      snprintf(target, sizeof target, "(%s)", r->ref);
    printf("  %-44s %8.3f %8.1f %8.2f %8.1f%s%s\n", r->label, r->s, m, r->cpu_s,
           (double)r->rss_kib / 1024.0, target[0] ? "  " : "", target);
  }
  printf("\nratios (of wall times)\n");
  for (size_t i = 0; i < N_RATIOS; i++) {
    const struct ratio_def *d = &RATIOS[i];
    double v = ratio_value(t, d);
    if (v <= 0) continue;
    double pr = ratio_per_round(t, d);
    if (d->min > 0 || d->max > 0)
      printf("  %-44s %7.2fx  %s %.1fx  %s", d->label, v, d->min > 0 ? ">=" : "<=",
             d->min > 0 ? d->min : d->max, ratio_met(d, v) ? "ok" : "MISSED");
    else
      printf("  %-44s %7.2fx", d->label, v);
    if (pr > 0 && t->repeats > 1) printf("  (per round, median: %.2fx)", pr);
    putchar('\n');
  }
  printf(
      "\ncommands (ZSTD, LZ4 = the corpus files; ZSTD4M = ZSTD in 4 MiB chunks%s;\n"
      "P1..P4 = its log-time quarters%s; NOSUMMARY = ZSTD without its summary%s;\n"
      "each read from its copy in %s; OUT, LAKEDIR under %s)\n",
      t->zstd4m_made_now ? ", made this run" : "", t->parts_made_now ? ", made this run" : "",
      t->nosum_made_now ? ", made this run" : "", t->in_dir, t->out_dir);
  for (int i = 0; i < N_ROWS; i++)
    if (t->rows[i].ran) printf("  %s\n", t->rows[i].cmd);
  printf(
      "\nTargets (the issue's): 2 threads >= %.1f x faster than 1 for compress zstd -> zstd\n"
      "level 1, lake and the filter that rewrites every chunk; compress zstd -> zstd level 1\n"
      "with 2 threads >= %.1f x the official C++ library's %.0f MB/s on one core; lake with\n"
      "2 threads <= %.1f x compress with 2 threads and <= the C++ library's one-file-per-topic\n"
      "time (%.1f s per 1024 MiB of payload, one core, scaled to this corpus) / %.1f; index\n"
      "with a summary < %.0f ms. cp runs with --reflink=never so it really copies.\n",
      TARGET_SPEEDUP, TARGET_FACTOR, REF_CPP_COMPRESS_MBPS, TARGET_LAKE_RATIO, REF_CPP_LAKE_S,
      TARGET_FACTOR, TARGET_INDEX_S * 1e3);
}

static void j_num(json_object *o, const char *k, double v) {
  json_object_object_add(o, k, json_object_new_double(v));
}

static void j_str(json_object *o, const char *k, const char *v) {
  json_object_object_add(o, k, json_object_new_string(v));
}

static void print_json(const struct tools *t) {
  json_object *root = json_object_new_object(), *corpus = json_object_new_object();
  json_object *runs = json_object_new_object(), *ratios = json_object_new_object();
  json_object *files = json_object_new_object();
  const uint64_t bytes = t->zinfo.message_bytes;
  const char *text;
  json_object_object_add(root, "format_version", json_object_new_int(2));
  j_str(root, "mode", "tools");
  j_str(root, "library_version", mcap_version_string());
  j_str(root, "mcapkit", t->mcapkit);
  j_str(root, "cache", t->cache);
  json_object_object_add(root, "cpus", json_object_new_int64(t->cpus));
  j_num(root, "load_average_start", t->load[0]);
  j_num(root, "load_average_end", t->load[1]);
  json_object_object_add(root, "repeats", json_object_new_int(t->repeats));
  json_object_object_add(root, "quick", json_object_new_boolean(t->quick));
  j_str(root, "page_cache", "written");
  j_num(root, "copy_seconds", t->copy_s);
  j_str(corpus, "profile", "robot");
  json_object_object_add(corpus, "size_mib", json_object_new_uint64(t->size_mib));
  json_object_object_add(corpus, "chunk_size", json_object_new_uint64(1u << 20));
  json_object_object_add(root, "zstd_rows_chunk_size",
                         json_object_new_uint64(t->chunk4m ? 4u << 20 : 1u << 20));
  j_num(corpus, "duration_s", t->zinfo.duration);
  json_object_object_add(corpus, "messages", json_object_new_uint64(t->zinfo.messages));
  json_object_object_add(corpus, "message_bytes", json_object_new_uint64(bytes));
  json_object_object_add(corpus, "zstd_file_bytes", json_object_new_uint64(t->zinfo.file_bytes));
  json_object_object_add(corpus, "lz4_file_bytes", json_object_new_uint64(t->linfo.file_bytes));
  json_object_object_add(corpus, "camera_messages", json_object_new_uint64(t->camera_messages));
  json_object_object_add(root, "corpus", corpus);
  j_str(files, "ZSTD", t->zstd);
  j_str(files, "LZ4", t->lz4);
  j_str(files, "ZSTD4M", t->zstd4m);
  j_str(files, "NOSUMMARY", t->nosum);
  for (int k = 0; k < N_PARTS; k++) {
    char key[8];
    snprintf(key, sizeof key, "P%d", k + 1);
    j_str(files, key, t->parts[k]);
  }
  j_str(files, "OUT", t->out_file);
  j_str(files, "LAKEDIR", t->lake_dir);
  json_object_object_add(root, "files", files);
  for (int i = 0; i < N_ROWS; i++) {
    const struct row *r = &t->rows[i];
    json_object *o;
    double m = mbps(bytes, r->s);
    if (!r->ran) continue;
    o = json_object_new_object();
    j_str(o, "command", r->cmd);
    j_num(o, "seconds", r->s);
    j_num(o, "mbps", m);
    j_num(o, "cpu_seconds", r->cpu_s);
    json_object_object_add(o, "peak_rss_kib", json_object_new_int64(r->rss_kib));
    if (r->tk == T_MIN_MBPS) j_num(o, "target_min_mbps", r->target);
    if (r->tk == T_MAX_S) j_num(o, "target_max_seconds", r->target);
    if (r->tk != T_NONE)
      json_object_object_add(o, "target_met", json_object_new_boolean(verdict(r, m)));
    if (r->ref[0]) j_str(o, "reference", r->ref);
    json_object_object_add(runs, r->id, o);
  }
  json_object_object_add(root, "runs", runs);
  for (size_t i = 0; i < N_RATIOS; i++) {
    const struct ratio_def *d = &RATIOS[i];
    double v = ratio_value(t, d);
    char key[96];
    if (v <= 0) continue;
    j_num(ratios, d->id, v);
    snprintf(key, sizeof key, "%s_per_round_median", d->id);
    if (ratio_per_round(t, d) > 0) j_num(ratios, key, ratio_per_round(t, d));
    if (d->min > 0 || d->max > 0) {
      snprintf(key, sizeof key, "%s_target_%s", d->id, d->min > 0 ? "min" : "max");
      j_num(ratios, key, d->min > 0 ? d->min : d->max);
      snprintf(key, sizeof key, "%s_target_met", d->id);
      json_object_object_add(ratios, key, json_object_new_boolean(ratio_met(d, v)));
    }
  }
  json_object_object_add(root, "ratios", ratios);
  text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED);
  printf("%s\n", text ? text : "{}");
  json_object_put(root);
}

/* ------------------------------------------------------------------ main */

static int parse_args(int argc, char **argv, struct tools *t) {
  int have_size = 0, have_repeats = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--quick") == 0) {
      t->quick = 1;
    } else if (strcmp(a, "--json") == 0) {
      t->json = 1;
    } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      usage(stdout);
      return 1;
    } else if (strcmp(a, "--chunk-size") == 0) {
      const char *v = i + 1 < argc ? argv[++i] : NULL;
      if (!v || (strcmp(v, "1M") != 0 && strcmp(v, "4M") != 0)) {
        bench_err("--chunk-size takes 1M or 4M");
        return -1;
      }
      t->chunk4m = strcmp(v, "4M") == 0;
    } else if (strcmp(a, "--only") == 0) {
      if (i + 1 >= argc || !argv[i + 1][0]) {
        bench_err("option '--only' needs a value");
        return -1;
      }
      t->only = argv[++i];
    } else if (strcmp(a, "--cache") == 0 || strcmp(a, "--size-mb") == 0 ||
               strcmp(a, "--repeats") == 0 || strcmp(a, "--mcapkit") == 0) {
      const char *v = i + 1 < argc ? argv[++i] : NULL;
      uint64_t n;
      if (!v || !v[0]) {
        bench_err("option '%s' needs a value", a);
        return -1;
      }
      if (strcmp(a, "--cache") == 0) {
        int len = snprintf(t->cache, sizeof t->cache, "%s", v);
        if (len <= 0 || (size_t)len >= sizeof t->cache - 128) {
          bench_err("cache directory name too long");
          return -1;
        }
      } else if (strcmp(a, "--mcapkit") == 0) {
        if (set_path(t->mcapkit, "%s", v)) return -1;
      } else if (bench_parse_u64(v, &n) || n == 0 || n > (strcmp(a, "--repeats") ? 65536 : MAX_ROUNDS)) {
        bench_err("bad value '%s' for %s", v, a);
        return -1;
      } else if (strcmp(a, "--size-mb") == 0) {
        t->size_mib = n;
        have_size = 1;
      } else {
        t->repeats = (int)n;
        have_repeats = 1;
      }
    } else {
      bench_err("unknown option '%s'", a);
      return -1;
    }
  }
  if (!have_size) t->size_mib = t->quick ? 200 : 1024;
  if (!have_repeats) t->repeats = t->quick ? 1 : 3;
  return 0;
}

int bench_tools_main(int argc, char **argv) {
  struct tools *t = calloc(1, sizeof *t);
  int rc;
  if (!t) return 1;
  rc = parse_args(argc, argv, t);
  if (rc != 0) {
    if (rc < 0) usage(stderr);
    free(t);
    return rc > 0 ? 0 : 2;
  }
  if (!t->cache[0] && bench_default_cache(t->cache, sizeof t->cache)) {
    bench_err("cannot choose a cache directory; pass --cache DIR");
    free(t);
    return 2;
  }
  t->cpus = sysconf(_SC_NPROCESSORS_ONLN);
  if (getloadavg(&t->load[0], 1) != 1) t->load[0] = -1;
  rc = setup(t) || run_timings(t) ? 1 : 0;
  if (t->out_dir[0] && rm_rf(t->out_dir)) {
    bench_err("cannot remove '%s'", t->out_dir);
    rc = 1;
  }
  if (t->in_dir[0] && rm_rf(t->in_dir)) {
    bench_err("cannot remove '%s'", t->in_dir);
    rc = 1;
  }
  if (rc == 0) {
    if (getloadavg(&t->load[1], 1) != 1) t->load[1] = -1;
    if (t->json)
      print_json(t);
    else
      print_table(t);
    if (fflush(stdout) != 0) rc = 1;
  }
  free(t);
  return rc;
}
