/*
 * bench_startup.c - `mcapkit-bench startup`: how long `mcapkit version` and
 * `mcapkit info FILE` take from exec to exit, next to a trivial C program
 * (mcapkit-bench-trivial, `int main(void) { return 0; }`, built with the same
 * compiler and flags), and how many shared objects each loads at start-up.
 * The target: both within 3 ms of the trivial program (medians).
 *
 * Each run is fork + execv + waitpid with stdout and stderr on /dev/null,
 * timed on CLOCK_MONOTONIC; the programs take turns (one run of each per
 * round) so that a machine that changes speed moves them alike, after a few
 * warm-up rounds that are not counted. Run it under /work/tools/quiet or on
 * an otherwise idle machine: it measures milliseconds.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include "bench.h"

#define PATH_CAP 4096
#define WARMUP 5
#define MAX_RUNS 10000
#define TARGET_MS 3.0
#define N_PROGS 3

struct prog {
  const char *label;
  char *argv[4];
  double *ms; /* one per run */
  double median, min, p90;
  int objects; /* shared objects loaded at start-up (the loader's own list), -1 unknown */
};

struct startup {
  char mcapkit[PATH_CAP], trivial[PATH_CAP], file[PATH_CAP], cache[PATH_CAP];
  int runs, json;
  struct prog p[N_PROGS];
};

static void usage(FILE *f) {
  fputs("usage: " BENCH_PROG
        " startup [--runs N] [--file FILE] [--cache DIR] [--mcapkit PATH] [--trivial PATH]\n"
        "                  [--json]\n"
        "\n"
        "median time from exec to exit of 'mcapkit version' and 'mcapkit info FILE' over N\n"
        "runs each (default 21) next to a trivial C program (mcapkit-bench-trivial); FILE\n"
        "defaults to a 2 s robot recording made once in the cache directory\n",
        f);
}

/* dirname(/proc/self/exe)/name */
static int next_to_self(char *dst, const char *name) {
  char self[PATH_CAP];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  char *slash;
  if (n <= 0) return -1;
  self[n] = '\0';
  slash = strrchr(self, '/');
  if (!slash) return -1;
  *slash = '\0';
  return snprintf(dst, PATH_CAP, "%s/%s", self, name) >= PATH_CAP ? -1 : 0;
}

/* Run argv once with stdout/stderr on /dev/null (and `env`, if any, added); seconds, or < 0. */
static double run_once(char *const argv[], const char *env, int capture_fd) {
  double t0, t1;
  int status = 0;
  pid_t pid;
  fflush(NULL);
  t0 = bench_now();
  pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null < 0 || dup2(capture_fd >= 0 ? capture_fd : null, 1) < 0 || dup2(null, 2) < 0)
      _exit(127);
    if (env && putenv((char *)env) != 0) _exit(127);
    execv(argv[0], argv);
    _exit(127);
  }
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  t1 = bench_now();
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return -1;
  return t1 - t0;
}

/* Shared objects the dynamic loader maps at start-up (LD_TRACE_LOADED_OBJECTS, as ldd). */
static int count_objects(char *const argv[]) {
  char path[] = "/tmp/mcapkit-bench-ldtrace-XXXXXX";
  int fd = mkstemp(path), n = 0;
  char buf[8192];
  ssize_t len;
  if (fd < 0) return -1;
  unlink(path);
  if (run_once(argv, "LD_TRACE_LOADED_OBJECTS=1", fd) < 0) {
    close(fd);
    return -1;
  }
  if (lseek(fd, 0, SEEK_SET) != 0) {
    close(fd);
    return -1;
  }
  while ((len = read(fd, buf, sizeof buf)) > 0) {
    for (ssize_t i = 0; i < len; i++) n += buf[i] == '\n';
  }
  close(fd);
  return n;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* The recording `info` reads: --file, else a 2 s robot recording made once in the cache. */
static int ensure_file(struct startup *s) {
  struct stat st;
  char dur[] = "2";
  if (s->file[0]) return 0;
  if (!s->cache[0] && bench_default_cache(s->cache, sizeof s->cache)) {
    bench_err("cannot choose a cache directory; pass --cache DIR or --file FILE");
    return -1;
  }
  if (bench_make_dirs(s->cache)) return -1;
  if (snprintf(s->file, sizeof s->file, "%s/startup-robot-2s.mcap", s->cache) >=
      (int)sizeof s->file)
    return -1;
  if (stat(s->file, &st) == 0) return 0;
  {
    char *argv[] = {
        s->mcapkit, (char *)"synth",  (char *)"--profile", (char *)"robot", (char *)"--duration",
        dur,        (char *)"--seed", (char *)"1",         (char *)"-o",    s->file,
        NULL};
    fprintf(stderr, "%s: writing '%s'...\n", BENCH_PROG, s->file);
    if (run_once(argv, NULL, -1) < 0) {
      bench_err("'mcapkit synth' could not write '%s'", s->file);
      return -1;
    }
  }
  return 0;
}

static void print_table(const struct startup *s) {
  const struct prog *base = &s->p[0];
  printf(
      "mcapkit-bench startup: %d runs of each program, taking turns (after %d warm-up\n"
      "rounds); time from fork to exit, stdout and stderr on /dev/null\n\n",
      s->runs, WARMUP);
  printf("  %-40s %9s %9s %9s %9s %8s  %s\n", "", "median ms", "min ms", "p90 ms", "- trivial",
         "objects", "target");
  for (int i = 0; i < N_PROGS; i++) {
    const struct prog *p = &s->p[i];
    double d = p->median - base->median;
    char target[48] = "";
    if (i > 0)
      snprintf(target, sizeof target, "<= %.1f ms  %s", TARGET_MS,
               d <= TARGET_MS ? "ok" : "MISSED");
    printf("  %-40s %9.3f %9.3f %9.3f %9.3f %8d  %s\n", p->label, p->median, p->min, p->p90,
           i ? d : 0.0, p->objects, target);
  }
  printf("\nprograms: %s; %s; FILE = %s\n", s->trivial, s->mcapkit, s->file);
  printf(
      "objects = shared objects the dynamic loader maps before main (vdso and loader\n"
      "included); libraries a command opens later (libcurl for network commands) are not\n"
      "counted. Target (the issue's): within %.0f ms of the trivial program, medians.\n",
      TARGET_MS);
}

static void print_json(const struct startup *s) {
  json_object *root = json_object_new_object(), *runs = json_object_new_object();
  const char *keys[N_PROGS] = {"trivial", "version", "info"};
  const char *text;
  json_object_object_add(root, "format_version", json_object_new_int(1));
  json_object_object_add(root, "mode", json_object_new_string("startup"));
  json_object_object_add(root, "runs_per_program", json_object_new_int(s->runs));
  json_object_object_add(root, "file", json_object_new_string(s->file));
  json_object_object_add(root, "target_ms", json_object_new_double(TARGET_MS));
  for (int i = 0; i < N_PROGS; i++) {
    const struct prog *p = &s->p[i];
    json_object *o = json_object_new_object();
    double d = p->median - s->p[0].median;
    json_object_object_add(o, "command", json_object_new_string(p->label));
    json_object_object_add(o, "median_ms", json_object_new_double(p->median));
    json_object_object_add(o, "min_ms", json_object_new_double(p->min));
    json_object_object_add(o, "p90_ms", json_object_new_double(p->p90));
    json_object_object_add(o, "shared_objects", json_object_new_int(p->objects));
    if (i > 0) {
      json_object_object_add(o, "over_trivial_ms", json_object_new_double(d));
      json_object_object_add(o, "target_met", json_object_new_boolean(d <= TARGET_MS));
    }
    json_object_object_add(runs, keys[i], o);
  }
  json_object_object_add(root, "programs", runs);
  text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED);
  printf("%s\n", text ? text : "{}");
  json_object_put(root);
}

static int parse_args(int argc, char **argv, struct startup *s) {
  s->runs = 21;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--json") == 0) {
      s->json = 1;
    } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      usage(stdout);
      return 1;
    } else if (strcmp(a, "--runs") == 0 || strcmp(a, "--file") == 0 || strcmp(a, "--cache") == 0 ||
               strcmp(a, "--mcapkit") == 0 || strcmp(a, "--trivial") == 0) {
      const char *v = i + 1 < argc ? argv[++i] : NULL;
      char *dst = NULL;
      uint64_t n;
      if (!v || !v[0]) {
        bench_err("option '%s' needs a value", a);
        return -1;
      }
      if (strcmp(a, "--runs") == 0) {
        if (bench_parse_u64(v, &n) || n == 0 || n > MAX_RUNS) {
          bench_err("bad value '%s' for --runs (1..%d)", v, MAX_RUNS);
          return -1;
        }
        s->runs = (int)n;
        continue;
      }
      dst = strcmp(a, "--file") == 0      ? s->file
            : strcmp(a, "--cache") == 0   ? s->cache
            : strcmp(a, "--mcapkit") == 0 ? s->mcapkit
                                          : s->trivial;
      if (snprintf(dst, PATH_CAP, "%s", v) >= PATH_CAP - 64) {
        bench_err("path too long for %s", a);
        return -1;
      }
    } else {
      bench_err("unknown option '%s'", a);
      return -1;
    }
  }
  return 0;
}

int bench_startup_main(int argc, char **argv) {
  struct startup *s = calloc(1, sizeof *s);
  int rc = 1;
  if (!s) return 1;
  rc = parse_args(argc, argv, s);
  if (rc != 0) {
    if (rc < 0) usage(stderr);
    free(s);
    return rc > 0 ? 0 : 2;
  }
  rc = 1;
  if ((!s->mcapkit[0] && next_to_self(s->mcapkit, "mcapkit")) ||
      (!s->trivial[0] && next_to_self(s->trivial, "mcapkit-bench-trivial"))) {
    bench_err("cannot find the programs next to " BENCH_PROG);
    goto out;
  }
  if (access(s->mcapkit, X_OK) != 0 || access(s->trivial, X_OK) != 0) {
    bench_err("cannot run '%s' or '%s'; build the mcapkit and mcapkit-bench-trivial targets",
              s->mcapkit, s->trivial);
    goto out;
  }
  if (ensure_file(s)) goto out;
  s->p[0] = (struct prog){"trivial C program", {s->trivial, NULL}, NULL, 0, 0, 0, 0};
  s->p[1] =
      (struct prog){"mcapkit version", {s->mcapkit, (char *)"version", NULL}, NULL, 0, 0, 0, 0};
  s->p[2] = (struct prog){
      "mcapkit info FILE", {s->mcapkit, (char *)"info", s->file, NULL}, NULL, 0, 0, 0, 0};
  for (int i = 0; i < N_PROGS; i++) {
    s->p[i].ms = calloc((size_t)s->runs, sizeof *s->p[i].ms);
    if (!s->p[i].ms) goto out;
    s->p[i].objects = count_objects(s->p[i].argv);
  }
  for (int k = -WARMUP; k < s->runs; k++) {
    for (int i = 0; i < N_PROGS; i++) {
      double t = run_once(s->p[i].argv, NULL, -1);
      if (t < 0) {
        bench_err("'%s' failed", s->p[i].label);
        goto out;
      }
      if (k >= 0) s->p[i].ms[k] = t * 1e3;
    }
  }
  for (int i = 0; i < N_PROGS; i++) {
    struct prog *p = &s->p[i];
    qsort(p->ms, (size_t)s->runs, sizeof *p->ms, cmp_double);
    p->median =
        s->runs % 2 ? p->ms[s->runs / 2] : (p->ms[s->runs / 2 - 1] + p->ms[s->runs / 2]) / 2;
    p->min = p->ms[0];
    p->p90 = p->ms[(size_t)((s->runs - 1) * 9 / 10)];
  }
  if (s->json)
    print_json(s);
  else
    print_table(s);
  rc = fflush(stdout) == 0 ? 0 : 1;
out:
  for (int i = 0; i < N_PROGS; i++) free(s->p[i].ms);
  free(s);
  return rc;
}
