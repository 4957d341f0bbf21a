/*
 * cmd_coverage.c - 'mcapkit coverage FILE|DIR... [--tolerance SECONDS]
 * [--by-topic] [--json]': the time ranges a set of recordings covers, grouped
 * by device as the coverage endpoint does, ranges merged across recordings
 * with the same rule as within one (a gap equal to the tolerance or longer
 * splits; touching ranges join).
 *
 * The device of a recording is its `foxglove` metadata's deviceName, else its
 * deviceId, else "unknown device". JSON: {format_version, tolerance,
 * coverage: [{deviceId, device: {id, name}, start, end, recordings}],
 * topic_coverage: [{..., topic, start, end}] with --by-topic}.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "inspect.h"
#include "output.h"
#include "pipeline/core.h"
#include "pipeline/import.h"

struct coverage_args {
  int json;
  double tolerance;
  int by_topic;
  int jobs;
};

static const cli_opt coverage_opts[] = {
    {"json", 0, CLI_OPT_FLAG, offsetof(struct coverage_args, json), NULL, "print JSON"},
    {"tolerance", 0, CLI_OPT_DOUBLE, offsetof(struct coverage_args, tolerance), "SECONDS",
     "gap tolerance (default 14; any value >= 0)"},
    {"by-topic", 0, CLI_OPT_FLAG, offsetof(struct coverage_args, by_topic), NULL,
     "also list the ranges of each topic"},
    {"jobs", 0, CLI_OPT_INT, offsetof(struct coverage_args, jobs), "N",
     "files indexed at once (0 or default: one per core)"},
    {NULL, 0, CLI_OPT_FLAG, 0, NULL, NULL},
};

const cli_spec cmd_coverage_spec = {
    "coverage",
    "[--tolerance SECONDS] [--by-topic] [--json] FILE|DIR...",
    "Coverage across recordings, by device (the 'foxglove' metadata's deviceName, else\n"
    "deviceId). Two data points separated by at least the tolerance start a new range (a gap\n"
    "equal to the tolerance splits); touching ones join. The hosted API clamps tolerances under\n"
    "14 s to 14 s; here any value >= 0 is used as given.",
    coverage_opts,
    1,
    -1,
    CLI_ARGS_FILES,
    NULL,
};

/* "'FILE': message", unless the message names the file already. */
static void file_error(const cli_ctx *ctx, const char *path, const pl_error_info *err, int rc) {
  cli_file_error(ctx, path, err->msg[0] ? err->msg : pl_strerror(rc));
}

struct group {
  const char *name, *id; /* borrowed from an index */
  const char *topic;     /* NULL: the whole device */
  pl_range *in;
  size_t n_in, cap_in;
  size_t recordings;
  pl_range *out;
  size_t n_out;
};

struct groups {
  struct group *g;
  size_t n, cap;
};

static const char *device_key(const pl_recording_index *ix) {
  return ix->device_name ? ix->device_name : ix->device_id ? ix->device_id : "";
}

static struct group *find_group(struct groups *gs, const pl_recording_index *ix,
                                const char *topic) {
  const char *key = device_key(ix);
  for (size_t i = 0; i < gs->n; i++) {
    struct group *g = &gs->g[i];
    const char *gk = g->name ? g->name : g->id ? g->id : "";
    if (strcmp(gk, key) == 0 &&
        ((!topic && !g->topic) || (topic && g->topic && strcmp(topic, g->topic) == 0)))
      return g;
  }
  if (gs->n == gs->cap) {
    size_t cap = gs->cap ? gs->cap * 2 : 16;
    struct group *p = realloc(gs->g, cap * sizeof *p);
    if (!p) return NULL;
    gs->g = p;
    gs->cap = cap;
  }
  struct group *g = &gs->g[gs->n++];
  memset(g, 0, sizeof *g);
  g->name = ix->device_name;
  g->id = ix->device_id;
  g->topic = topic;
  return g;
}

static int add_ranges(struct group *g, const pl_range *r, size_t n) {
  if (g->n_in + n > g->cap_in) {
    size_t cap = g->cap_in ? g->cap_in : 16;
    while (cap < g->n_in + n) cap *= 2;
    pl_range *p = realloc(g->in, cap * sizeof *p);
    if (!p) return -1;
    g->in = p;
    g->cap_in = cap;
  }
  memcpy(g->in + g->n_in, r, n * sizeof *r);
  g->n_in += n;
  g->recordings++;
  return 0;
}

static int cmp_group(const void *a, const void *b) {
  const struct group *x = a, *y = b;
  const char *kx = x->name ? x->name : x->id ? x->id : "";
  const char *ky = y->name ? y->name : y->id ? y->id : "";
  int c = strcmp(kx, ky);
  if (c) return c;
  if (!x->topic || !y->topic) return !x->topic ? (y->topic ? -1 : 0) : 1;
  return strcmp(x->topic, y->topic);
}

static json_object *device_json(const struct group *g) {
  json_object *o = json_object_new_object();
  cli_json_add_str(o, "deviceId", g->id);
  json_object *d = json_object_new_object();
  cli_json_add_str(d, "id", g->id);
  cli_json_add_str(d, "name", g->name);
  json_object_object_add(o, "device", d);
  return o;
}

static void add_rfc(json_object *o, const char *key, uint64_t ns) {
  char buf[40];
  pl_format_time(ns, buf);
  cli_json_add_str(o, key, buf);
}

int cmd_coverage(cli_ctx *ctx, int argc, char **argv) {
  struct coverage_args a;
  memset(&a, 0, sizeof a);
  a.tolerance = -INFINITY;
  int first;
  int rc = cli_parse(ctx, &cmd_coverage_spec, argc, argv, &a, &first);
  if (rc != CLI_CONTINUE) return rc;
  int json = a.json || ctx->json;
  if (a.tolerance == -INFINITY)
    a.tolerance = 14;
  else if (a.tolerance < 0)
    return cli_usage_error(&cmd_coverage_spec, "option '--tolerance' must be >= 0");
  if (a.jobs < 0) return cli_usage_error(&cmd_coverage_spec, "option '--jobs' must be >= 0");

  /* no recordings at all is a failure, as for index (an empty folder is not a coverage) */
  cli_recordings recs;
  rc = cli_collect_recordings(ctx, &cmd_coverage_spec, argv + first, (size_t)(argc - first), NULL,
                              &recs);
  if (rc != CLI_EXIT_OK) return rc;
  char **paths = recs.paths;
  size_t n = recs.n;
  pl_index_options o;
  memset(&o, 0, sizeof o);
  o.tolerance_s = a.tolerance;
  o.threads = 1;
  o.no_doctor = 1; /* coverage needs times and the device only */
  o.no_hash = 1;
  pl_recording_index **ix = calloc(n ? n : 1, sizeof *ix);
  int *rcs = calloc(n ? n : 1, sizeof *rcs);
  pl_error_info *errs = calloc(n ? n : 1, sizeof *errs);
  struct groups gs = {0};
  int worst = CLI_EXIT_OK;
  if (!ix || !rcs || !errs) {
    cli_error(ctx, "out of memory");
    worst = CLI_EXIT_FAILURE;
    goto out;
  }
  pl_index_files((const char *const *)paths, n, &o, a.jobs, ix, rcs, errs);
  uint64_t tol = ix && n && rcs[0] == PL_OK ? ix[0]->tolerance_ns : 0;
  for (size_t i = 0; i < n; i++) {
    if (rcs[i] != PL_OK) {
      file_error(ctx, recs.names[i], &errs[i], rcs[i]);
      worst = CLI_EXIT_FAILURE;
      continue;
    }
    tol = ix[i]->tolerance_ns;
    if (ix[i]->partial && worst == CLI_EXIT_OK) worst = CLI_EXIT_PROBLEMS;
    if (ix[i]->partial) cli_report_damage(ctx, recs.names[i], &ix[i]->damage);
    struct group *g = find_group(&gs, ix[i], NULL);
    if (!g || add_ranges(g, ix[i]->coverage, ix[i]->n_coverage)) goto oom;
    if (a.by_topic) {
      for (size_t k = 0; k < ix[i]->n_topic_coverage; k++) {
        const pl_topic_coverage *tc = &ix[i]->topic_coverage[k];
        g = find_group(&gs, ix[i], tc->topic);
        if (!g || add_ranges(g, tc->ranges, tc->n_ranges)) goto oom;
      }
    }
  }
  for (size_t i = 0; i < gs.n; i++)
    if (pl_coverage_merge(gs.g[i].in, gs.g[i].n_in, tol, &gs.g[i].out, &gs.g[i].n_out) != PL_OK)
      goto oom;
  if (gs.n) qsort(gs.g, gs.n, sizeof *gs.g, cmp_group);

  if (json) {
    json_object *doc = cli_json_document();
    cli_json_add_double(doc, "tolerance", (double)tol / 1e9, 9);
    json_object *cov = json_object_new_array(), *tcov = a.by_topic ? json_object_new_array() : NULL;
    for (size_t i = 0; i < gs.n; i++) {
      const struct group *g = &gs.g[i];
      for (size_t k = 0; k < g->n_out; k++) {
        json_object *item = device_json(g);
        if (g->topic) cli_json_add_str(item, "topic", g->topic);
        add_rfc(item, "start", g->out[k].start);
        add_rfc(item, "end", g->out[k].end);
        if (!g->topic) cli_json_add_u64(item, "recordings", g->recordings);
        json_object_array_add(g->topic ? tcov : cov, item);
      }
    }
    json_object_object_add(doc, "coverage", cov);
    if (tcov) json_object_object_add(doc, "topic_coverage", tcov);
    if (cli_json_print(stdout, doc) != 0) worst = CLI_EXIT_FAILURE;
  } else {
    char s[CLI_FMT_SIZE], e[CLI_FMT_SIZE], d[CLI_FMT_SIZE];
    cli_table t;
    cli_table_init(&t, a.by_topic ? 5 : 4, a.by_topic ? "lllll" : "llll");
    cli_table_add(&t, "device");
    if (a.by_topic) cli_table_add(&t, "topic");
    cli_table_add(&t, "start");
    cli_table_add(&t, "end");
    cli_table_add(&t, "duration");
    for (size_t i = 0; i < gs.n; i++) {
      const struct group *g = &gs.g[i];
      for (size_t k = 0; k < g->n_out; k++) {
        cli_table_add(&t, "%s", g->name ? g->name : g->id ? g->id : "(unknown device)");
        if (a.by_topic) cli_table_add(&t, "%s", g->topic ? g->topic : "*");
        cli_table_add(&t, "%s", cli_fmt_time(s, sizeof s, g->out[k].start));
        cli_table_add(&t, "%s", cli_fmt_time(e, sizeof e, g->out[k].end));
        cli_table_add(&t, "%s", cli_fmt_duration(d, sizeof d, g->out[k].end - g->out[k].start));
      }
    }
    cli_table_print(&t, stdout, "");
    cli_table_dispose(&t);
  }
  goto out;
oom:
  cli_error(ctx, "out of memory");
  worst = CLI_EXIT_FAILURE;
out:
  for (size_t i = 0; i < gs.n; i++) {
    free(gs.g[i].in);
    free(gs.g[i].out);
  }
  free(gs.g);
  for (size_t i = 0; ix && i < n; i++) pl_recording_index_free(ix[i]);
  free(ix);
  free(rcs);
  free(errs);
  cli_recordings_free(&recs);
  return worst;
}
