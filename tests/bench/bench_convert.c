/*
 * bench_convert.c - `mcapkit-bench convert`: the speed and memory of 'mcapkit
 * convert' on ROS 1 bags (chunks stored, lz4, bz2) and a rosbag2 database of
 * about N MiB of message data (made once by the test writers of
 * tests/support/ros_writers.cc and cached), beside plain zstd compression
 * (level 3, 1 MiB blocks, one thread) of the same bytes. Each conversion is a
 * measured child process writing a real file; each input is first put into
 * the page cache as plain read() calls leave it (state `read`, bench.h), not as mcapkit would.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "bench.h"
#include "ros_writers.h"

static double mbps(uint64_t bytes, double s) { return s > 0 ? (double)bytes / 1e6 / s : 0; }

static uint64_t file_size(const char *p) {
  struct stat st;
  return stat(p, &st) == 0 ? (uint64_t)st.st_size : 0;
}

/* Generate `path` unless a finished copy is cached (written to path.tmp, renamed). */
static int ensure(const char *path, const char *kind, uint64_t bytes) {
  if (file_size(path) > 0) return 0;
  char tmp[4200];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  double t0 = bench_now();
  uint64_t n = 0;
  int rc = strcmp(kind, "db3") == 0 ? mcapkit_gen_ros2_db3(tmp, bytes, &n)
                                    : mcapkit_gen_ros1_bag(tmp, kind, bytes, &n);
  if (rc != 0 || rename(tmp, path) != 0) {
    bench_err("cannot generate '%s'", path);
    unlink(tmp);
    return -1;
  }
  fprintf(stderr, "generated %s (%llu messages) in %.1f s\n", path, (unsigned long long)n,
          bench_now() - t0);
  return 0;
}

/* Plain zstd level 3 of a file's bytes in 1 MiB blocks, one thread. */
static int zstd_baseline(const char *path, double *seconds) {
  FILE *f = fopen(path, "rb");
  if (!f) return -1;
  size_t blk = (size_t)1 << 20;
  uint8_t *in = malloc(blk), *out = malloc(ZSTD_compressBound(blk));
  ZSTD_CCtx *cc = ZSTD_createCCtx();
  int rc = in && out && cc ? 0 : -1;
  double t0 = bench_now();
  size_t n;
  while (!rc && (n = fread(in, 1, blk, f)) > 0) {
    size_t r = ZSTD_compressCCtx(cc, out, ZSTD_compressBound(blk), in, n, 3);
    if (ZSTD_isError(r)) rc = -1;
  }
  *seconds = bench_now() - t0;
  fclose(f);
  free(in);
  free(out);
  ZSTD_freeCCtx(cc);
  return rc;
}

struct run {
  const char *label;
  const char *input;
  const char *threads;
};

int bench_convert_main(int argc, char **argv) {
  char cache[4096] = "", mcapkit[4096] = "";
  uint64_t size_mb = 1024, repeats = 1;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--cache") == 0 && i + 1 < argc) {
      snprintf(cache, sizeof cache, "%s", argv[++i]);
    } else if (strcmp(argv[i], "--size-mb") == 0 && i + 1 < argc) {
      if (bench_parse_u64(argv[++i], &size_mb) || !size_mb) return 2;
    } else if (strcmp(argv[i], "--repeats") == 0 && i + 1 < argc) {
      if (bench_parse_u64(argv[++i], &repeats) || !repeats) return 2;
    } else if (strcmp(argv[i], "--mcapkit") == 0 && i + 1 < argc) {
      snprintf(mcapkit, sizeof mcapkit, "%s", argv[++i]);
    } else {
      bench_err("convert: unknown option '%s'", argv[i]);
      return 2;
    }
  }
  if (!cache[0] && bench_default_cache(cache, sizeof cache)) return 1;
  if (!mcapkit[0]) {
    char self[4000];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) return 1;
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (slash) *slash = '\0';
    snprintf(mcapkit, sizeof mcapkit, "%s/mcapkit", self);
  }
  char dir[4200];
  snprintf(dir, sizeof dir, "%s/convert-%llu", cache, (unsigned long long)size_mb);
  if (bench_make_dirs(dir)) return 1;
  uint64_t bytes = size_mb << 20;
  char bag_none[4300], bag_lz4[4300], bag_bz2[4300], db3[4300], out[4300];
  snprintf(bag_none, sizeof bag_none, "%s/none.bag", dir);
  snprintf(bag_lz4, sizeof bag_lz4, "%s/lz4.bag", dir);
  snprintf(bag_bz2, sizeof bag_bz2, "%s/bz2.bag", dir);
  snprintf(db3, sizeof db3, "%s/bag.db3", dir);
  snprintf(out, sizeof out, "%s/out.mcap", dir);
  if (ensure(bag_none, "none", bytes) || ensure(bag_lz4, "lz4", bytes) ||
      ensure(bag_bz2, "bz2", bytes) || ensure(db3, "db3", bytes))
    return 1;

  uint64_t raw = file_size(bag_none);
  double zs = 0, best = 1e30;
  for (uint64_t r = 0; r < repeats; r++) {
    if (bench_state_prepare(bag_none, BENCH_READ, NULL) || zstd_baseline(bag_none, &zs)) return 1;
    if (zs < best) best = zs;
  }
  printf("convert: %llu MiB of message data; MB/s of the uncompressed input (%.0f MB bag, "
         "%.0f MB db3); best of %llu\n",
         (unsigned long long)size_mb, (double)raw / 1e6, (double)file_size(db3) / 1e6,
         (unsigned long long)repeats);
  printf("%-34s %8s %8s %8s %9s %9s\n", "", "wall s", "MB/s", "cpu s", "RSS MiB", "vs zstd");
  double base = mbps(raw, best);
  printf("%-34s %8.2f %8.0f %8s %9s %9s\n", "zstd -3 of the bag's bytes, 1 thread", best, base,
         "-", "-", "100 %");
  const struct run runs[] = {
      {"bag, stored chunks, 1 thread", bag_none, "1"}, {"bag, stored chunks, 2 threads", bag_none, "2"},
      {"bag, lz4 chunks, 2 threads", bag_lz4, "2"},    {"bag, bz2 chunks, 2 threads", bag_bz2, "2"},
      {"db3, 1 thread", db3, "1"},                     {"db3, 2 threads", db3, "2"},
  };
  for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++) {
    struct bench_child best_c;
    memset(&best_c, 0, sizeof best_c);
    best_c.seconds = 1e30;
    for (uint64_t r = 0; r < repeats; r++) {
      if (bench_state_prepare(runs[i].input, BENCH_READ, NULL)) return 1;
      char *args[] = {"convert", (char *)runs[i].input, "-o", out, "-c", "zstd", "-j",
                      (char *)runs[i].threads, NULL};
      struct bench_child c;
      if (bench_run_child_exec(mcapkit, args, &c) || c.exit_code != 0) {
        bench_err("convert %s failed: %s", runs[i].input, c.err);
        return 1;
      }
      if (c.seconds < best_c.seconds) best_c = c;
      unlink(out);
    }
    uint64_t in_bytes = runs[i].input == db3 ? file_size(db3) : raw;
    double m = mbps(in_bytes, best_c.seconds);
    printf("%-34s %8.2f %8.0f %8.2f %9.1f %8.0f %%\n", runs[i].label, best_c.seconds, m,
           best_c.cpu_seconds, (double)best_c.maxrss_kib / 1024.0, base > 0 ? m * 100 / base : 0);
  }
  return 0;
}
