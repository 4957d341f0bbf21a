/*
 * bench_rounds.c - `mcapkit-bench rounds FILE [--rounds N] [--json]`: the reads of
 * one file against raw decompression of its chunks, in alternating rounds inside
 * one process.
 *
 * Why: on the project's 2-vCPU VMs the machine's speed drifts by up to 2x from one
 * second to the next, so reads timed as separate processes against a raw figure
 * taken earlier mostly measure the drift. Here every round runs a raw pass, each
 * read once (the order rotating from round to round), and a second raw pass, and a
 * read's figure is the median over the rounds of (mean of the round's two raw
 * passes) / (its time): each read meets raw decompression in the same state of
 * the machine. It compares library changes; `all` remains the figure a user sees
 * (whole processes, a fresh copy of the file before each read).
 *
 * The file is read in the page-cache state it is in; reading it through mappings
 * does not change the folios that put it there (prepare it with `cache FILE written
 * COPY` and pass COPY).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

#define MAX_ROUNDS 200

struct variant {
  const char *name; /* JSON key */
  const char *label;
  int stream, threads, no_crc;
  double t[MAX_ROUNDS];
  double ratio[MAX_ROUNDS]; /* raw / this, per round */
};

static void rounds_usage(FILE *f) {
  fputs("usage: " BENCH_PROG " rounds FILE [--rounds N] [--json]\n"
        "  N rounds (default 15, at most 200) of: a raw decompression pass over FILE's\n"
        "  chunks, each read once in this process (streamed and indexed, with and without\n"
        "  CRCs, 1 and 2 threads), a second raw pass; prints each read's best and median\n"
        "  time and the median over the rounds of raw / read.\n",
        f);
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double median(const double *v, int n) {
  double t[MAX_ROUNDS];
  memcpy(t, v, (size_t)n * sizeof *v);
  qsort(t, (size_t)n, sizeof *t, cmp_double);
  return n % 2 ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2;
}

static double best(const double *v, int n) {
  double b = v[0];
  for (int i = 1; i < n; i++) b = v[i] < b ? v[i] : b;
  return b;
}

int bench_rounds_main(int argc, char **argv) {
  struct variant v[] = {
      {"streamed", "streamed, all CRCs", 1, 0, 0, {0}, {0}},
      {"streamed_no_crc", "streamed, no CRCs", 1, 0, 1, {0}, {0}},
      {"indexed_1t", "indexed log-time, 1 thread, all CRCs", 0, 1, 0, {0}, {0}},
      {"indexed_1t_no_crc", "indexed log-time, 1 thread, no CRCs", 0, 1, 1, {0}, {0}},
      {"indexed_2t", "indexed log-time, 2 threads, all CRCs", 0, 2, 0, {0}, {0}},
  };
  const int nv = (int)(sizeof v / sizeof v[0]);
  double raw_a[MAX_ROUNDS], raw_b[MAX_ROUNDS], speedup[MAX_ROUNDS];
  struct bench_raw_set *rs = NULL;
  struct bench_raw facts;
  const char *file = NULL;
  uint64_t rounds = 15, expect = 0;
  int json = 0, n;

  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc) {
      if (bench_parse_u64(argv[++i], &rounds) || rounds < 1 || rounds > MAX_ROUNDS) {
        bench_err("rounds: --rounds takes 1 to %d", MAX_ROUNDS);
        return 2;
      }
    } else if (strcmp(argv[i], "--json") == 0) {
      json = 1;
    } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
      rounds_usage(stdout);
      return 0;
    } else if (argv[i][0] != '-' && !file) {
      file = argv[i];
    } else {
      bench_err("rounds: unexpected argument '%s'", argv[i]);
      rounds_usage(stderr);
      return 2;
    }
  }
  if (!file) {
    rounds_usage(stderr);
    return 2;
  }
  n = (int)rounds;
  /* Loads the chunks into heap buffers and warms the decoders (one pass with CRCs). */
  if (bench_raw_decompress(file, 1, &rs, &facts)) return 1;
  for (int k = 0; k < n; k++) {
    if (bench_raw_pass(rs, &raw_a[k])) goto fail;
    for (int j = 0; j < nv; j++) {
      struct variant *x = &v[(j + k) % nv]; /* rotate, so no read always follows another */
      uint64_t bytes = 0;
      double t0 = bench_now();
      if (bench_read_once(file, x->stream, x->threads, x->no_crc, &bytes)) goto fail;
      x->t[k] = bench_now() - t0;
      if (k == 0 && j == 0) expect = bytes;
      if (bytes != expect) {
        bench_err("rounds: %s read %" PRIu64 " payload bytes, another read %" PRIu64, x->name,
                  bytes, expect);
        goto fail;
      }
    }
    if (bench_raw_pass(rs, &raw_b[k])) goto fail;
    for (int j = 0; j < nv; j++) v[j].ratio[k] = (raw_a[k] + raw_b[k]) / 2 / v[j].t[k];
    speedup[k] = v[2].t[k] / v[4].t[k];
  }
  bench_raw_free(rs);

  if (json) {
    fputs("{\"file\":\"", stdout);
    for (const char *c = file; *c; c++) {
      if (*c == '"' || *c == '\\') printf("\\%c", *c);
      else if ((unsigned char)*c < 0x20) printf("\\u%04x", (unsigned char)*c);
      else putchar(*c);
    }
    printf("\",\"rounds\":%d,\"raw_median_ms\":%.1f", n,
           1e3 * (median(raw_a, n) + median(raw_b, n)) / 2);
    for (int j = 0; j < nv; j++) {
      printf(",\"%s\":{\"best_ms\":%.1f,\"median_ms\":%.1f,\"vs_raw_median_pct\":%.1f}", v[j].name,
             1e3 * best(v[j].t, n), 1e3 * median(v[j].t, n), 100 * median(v[j].ratio, n));
    }
    printf(",\"speedup_2t_median\":%.2f}\n", median(speedup, n));
  } else {
    printf("%s: %d rounds in one process, each a raw pass, every read once, a raw pass\n", file,
           n);
    printf("%-40s %9s %9s %16s\n", "", "best ms", "median ms", "raw / read (med)");
    printf("%-40s %9.1f %9.1f\n", "raw decompression, heap (first pass)", 1e3 * best(raw_a, n),
           1e3 * median(raw_a, n));
    printf("%-40s %9.1f %9.1f\n", "raw decompression, heap (second pass)", 1e3 * best(raw_b, n),
           1e3 * median(raw_b, n));
    for (int j = 0; j < nv; j++) {
      printf("%-40s %9.1f %9.1f %15.1f%%\n", v[j].label, 1e3 * best(v[j].t, n),
             1e3 * median(v[j].t, n), 100 * median(v[j].ratio, n));
    }
    printf("%-40s %9s %9s %15.2fx\n", "2 threads / 1 thread (median of rounds)", "", "",
           median(speedup, n));
  }
  return fflush(stdout) == 0 ? 0 : 1;
fail:
  bench_raw_free(rs);
  return 1;
}
