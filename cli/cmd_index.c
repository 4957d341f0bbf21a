/*
 * cmd_index.c - 'mcapkit index FILE|DIR... [--json] [--tolerance SECONDS]':
 * the recording index of each file (pl_index_file): topics as the API lists
 * them with per-topic statistics, coverage, attachments, metadata, device
 * and key, and problems (the doctor's findings where the file is read whole
 * anyway, or with --doctor). Directories are searched for *.mcap
 * (pl_collect_recordings); files are indexed in parallel, one per core.
 *
 * --json prints each recording's index document (docs/index-json.md):
 * pretty for one recording, one compact document per line for several.
 * Exit status: 0 all indexed without errors, 3 some index lists an error
 * (a damaged file, indexed as far as the data allows), 1 some file could not
 * be indexed at all.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "inspect.h"
#include "output.h"
#include "pipeline/core.h"
#include "pipeline/import.h"
#include "pipeline/report.h"

struct index_args {
  int json;
  double tolerance;
  int no_doctor;
  int doctor;
  int jobs;
  const char *html;
};

static const cli_opt index_opts[] = {
    {"json", 0, CLI_OPT_FLAG, offsetof(struct index_args, json), NULL, "print the index as JSON"},
    {"tolerance", 0, CLI_OPT_DOUBLE, offsetof(struct index_args, tolerance), "SECONDS",
     "coverage gap tolerance (default 14; any value >= 0)"},
    {"doctor", 0, CLI_OPT_FLAG, offsetof(struct index_args, doctor), NULL,
     "always run the full check (every chunk decompressed), as 'mcapkit doctor'"},
    {"no-doctor", 0, CLI_OPT_FLAG, offsetof(struct index_args, no_doctor), NULL,
     "never run it: problems list only what indexing met"},
    {"jobs", 0, CLI_OPT_INT, offsetof(struct index_args, jobs), "N",
     "files indexed at once (0 or default: one per core)"},
    {"html", 0, CLI_OPT_STRING, offsetof(struct index_args, html), "OUT",
     "also write the recording's report page to OUT (one FILE; see 'mcapkit report')"},
    {NULL, 0, CLI_OPT_FLAG, 0, NULL, NULL},
};

const cli_spec cmd_index_spec = {
    "index",
    "[--json] [--tolerance SECONDS] [--doctor | --no-doctor] [--html OUT] FILE|DIR...",
    "Indexes each recording in one pass: with a summary and message indexes no chunk is\n"
    "decompressed, and problems are what that pass met; a file without a usable summary is\n"
    "read whole, and then the doctor's full check runs beside it and lists its findings\n"
    "(--doctor: always; the lake's index.json is made that way). A DIR contributes every *.mcap below it, except names ending '.active' and\n"
    "files without the trailing magic. Two messages separated by at least the tolerance start\n"
    "a new coverage range (a gap equal to it splits). Exit status 0 if all were indexed\n"
    "cleanly, 3 if an index lists errors, 1 if a file could not be indexed. A ROS bag given as\n"
    "FILE (ROS 1 .bag, rosbag2 .db3 or folder) is converted to a temporary MCAP file first\n"
    "(exit 3 if the conversion lost data); bags inside a DIR are not looked for.",
    index_opts,
    1,
    -1,
    CLI_ARGS_FILES,
    NULL,
};

/* "'FILE': message", unless the message names the file already. */
static void file_error(const cli_ctx *ctx, const char *path, const pl_error_info *err, int rc) {
  cli_file_error(ctx, path, err->msg[0] ? err->msg : pl_strerror(rc));
}

/* ----------------------------------------------------------------- output */

static int has_errors(const pl_recording_index *ix) {
  if (ix->partial) return 1;
  for (size_t i = 0; i < ix->n_problems; i++)
    if (ix->problems[i].severity == PL_SEV_ERROR) return 1;
  return 0;
}

static const char *sev_name(pl_severity s) {
  return s == PL_SEV_ERROR ? "error" : s == PL_SEV_WARNING ? "warning" : "info";
}

static void print_human(const pl_recording_index *ix) {
  char a[CLI_FMT_SIZE], b[CLI_FMT_SIZE], c[CLI_FMT_SIZE];
  printf("%s\n", ix->path);
  printf("  size:        %s (%llu bytes)\n", cli_fmt_bytes(a, sizeof a, ix->size),
         (unsigned long long)ix->size);
  if (ix->content_hash[0]) printf("  content:     xxh128 %s\n", ix->content_hash);
  printf("  library:     %s\n", ix->library && ix->library[0] ? ix->library : "(empty)");
  printf("  profile:     %s\n", ix->profile && ix->profile[0] ? ix->profile : "(empty)");
  printf("  device:      %s%s%s%s\n", ix->device_name ? ix->device_name : "(none)",
         ix->device_id ? " (id " : "", ix->device_id ? ix->device_id : "",
         ix->device_id ? ")" : "");
  if (ix->key) printf("  key:         %s\n", ix->key);
  printf("  messages:    %llu\n", (unsigned long long)ix->message_count);
  if (ix->has_messages)
    printf("  time:        %s .. %s (%s)\n", cli_fmt_time(a, sizeof a, ix->start),
           cli_fmt_time(b, sizeof b, ix->end), cli_fmt_duration(c, sizeof c, ix->end - ix->start));
  printf("  coverage:    %zu range%s (tolerance %s)\n", ix->n_coverage,
         ix->n_coverage == 1 ? "" : "s", cli_fmt_duration(a, sizeof a, ix->tolerance_ns));
  for (size_t i = 0; i < ix->n_coverage && i < 20; i++)
    printf("    %s .. %s\n", cli_fmt_time(a, sizeof a, ix->coverage[i].start),
           cli_fmt_time(b, sizeof b, ix->coverage[i].end));
  if (ix->n_coverage > 20) printf("    ... %zu more\n", ix->n_coverage - 20);
  if (ix->n_topics) {
    cli_table t;
    cli_table_init(&t, 7, "lrrrrll");
    cli_table_add(&t, "topic");
    cli_table_add(&t, "messages");
    cli_table_add(&t, "bytes");
    cli_table_add(&t, "Hz");
    cli_table_add(&t, "ranges");
    cli_table_add(&t, "schema");
    cli_table_add(&t, "version");
    for (size_t i = 0; i < ix->n_topics; i++) {
      const pl_topic *tp = &ix->topics[i];
      size_t ranges = 0;
      for (size_t k = 0; k < ix->n_topic_coverage; k++)
        if (strcmp(ix->topic_coverage[k].topic, tp->topic) == 0)
          ranges = ix->topic_coverage[k].n_ranges;
      cli_table_add(&t, "%s", tp->topic);
      cli_table_add(&t, "%llu", (unsigned long long)tp->message_count);
      cli_table_add(&t, "%s", cli_fmt_bytes(a, sizeof a, tp->bytes));
      if (tp->frequency > 0)
        cli_table_add(&t, "%.2f", tp->frequency);
      else
        cli_table_add(&t, "-"); /* undefined: fewer than two messages (as info shows it) */
      cli_table_add(&t, "%zu", ranges);
      cli_table_add(&t, "%s (%s, %s)", tp->schema_name[0] ? tp->schema_name : "-",
                    tp->schema_encoding[0] ? tp->schema_encoding : "no schema", tp->encoding);
      cli_table_add(&t, "%.12s", tp->version);
    }
    printf("  topics:\n");
    cli_table_print(&t, stdout, "    ");
    cli_table_dispose(&t);
  }
  if (ix->n_attachments) {
    printf("  attachments:\n");
    for (size_t i = 0; i < ix->n_attachments; i++) {
      const pl_attachment_info *at = &ix->attachments[i];
      printf("    %s (%s, %s, crc %u, fingerprint %s)\n", at->name, at->media_type,
             cli_fmt_bytes(a, sizeof a, at->size), at->crc, at->fingerprint);
    }
  }
  if (ix->n_metadata) {
    printf("  metadata:\n");
    for (size_t i = 0; i < ix->n_metadata; i++)
      printf("    %s (%zu entr%s)\n", ix->metadata[i].name, ix->metadata[i].n_entries,
             ix->metadata[i].n_entries == 1 ? "y" : "ies");
  }
  if (ix->n_problems) {
    printf("  problems:\n");
    for (size_t i = 0; i < ix->n_problems; i++) {
      const pl_finding *f = &ix->problems[i];
      if (f->offset != UINT64_MAX)
        printf("    %s %s at offset %llu: %s\n", sev_name(f->severity), f->code,
               (unsigned long long)f->offset, f->message);
      else
        printf("    %s %s: %s\n", sev_name(f->severity), f->code, f->message);
    }
  }
}

static int print_json(const cli_ctx *ctx, const pl_recording_index *ix, int one) {
  char *json = NULL;
  pl_error_info err;
  memset(&err, 0, sizeof err);
  if (pl_index_to_json(ix, &json, &err) != PL_OK) {
    cli_error(ctx, "'%s': %s", ix->path, err.msg);
    return -1;
  }
  int rc = 0;
  if (one) {
    if (fputs(json, stdout) < 0) rc = -1;
  } else {
    json_object *doc = json_tokener_parse(json);
    rc = doc ? cli_json_print_line(stdout, doc) : -1;
  }
  free(json);
  return rc;
}

/* Index one file through pl_report (which keeps the index) for --html. */
static int index_with_report(const cli_ctx *ctx, const char *path, const struct index_args *a,
                             const pl_index_options *o, pl_report **rep, pl_recording_index **ix,
                             pl_error_info *err) {
  (void)ctx;
  pl_report_options ro;
  memset(&ro, 0, sizeof ro);
  ro.tolerance_s = o->tolerance_s;
  ro.doctor = a->doctor;
  ro.no_doctor = a->no_doctor;
  if (pl_report_create(rep) != PL_REPORT_OK) {
    snprintf(err->msg, sizeof err->msg, "out of memory");
    return PL_ENOMEM;
  }
  if (pl_report_load_file(*rep, path, &ro) != PL_REPORT_OK) {
    snprintf(err->msg, sizeof err->msg, "%s", pl_report_errmsg(*rep));
    pl_report_free(*rep);
    *rep = NULL;
    return PL_EIO;
  }
  *ix = (pl_recording_index *)pl_report_index(*rep);
  return PL_OK;
}

int cmd_index(cli_ctx *ctx, int argc, char **argv) {
  struct index_args a;
  memset(&a, 0, sizeof a);
  a.tolerance = -INFINITY; /* not given (the option only accepts finite numbers) */
  int first;
  int rc = cli_parse(ctx, &cmd_index_spec, argc, argv, &a, &first);
  if (rc != CLI_CONTINUE) return rc;
  int json = a.json || ctx->json;
  if (a.tolerance == -INFINITY)
    a.tolerance = -1; /* the library's default, 14 s */
  else if (a.tolerance < 0)
    return cli_usage_error(&cmd_index_spec, "option '--tolerance' must be >= 0");
  if (a.jobs < 0) return cli_usage_error(&cmd_index_spec, "option '--jobs' must be >= 0");

  if (a.doctor && a.no_doctor)
    return cli_usage_error(&cmd_index_spec, "--doctor and --no-doctor exclude each other");
  cli_recordings recs;
  rc = cli_collect_recordings_bags(ctx, &cmd_index_spec, argv + first, (size_t)(argc - first),
                                   NULL, CLI_BAGS_CONVERT, NULL, &recs);
  if (rc != CLI_EXIT_OK) return rc;
  char **paths = recs.paths;
  size_t n = recs.n;
  pl_index_options o;
  memset(&o, 0, sizeof o);
  o.tolerance_s = a.tolerance; /* -1: the default 14 s */
  o.threads = 1;
  o.no_doctor = a.no_doctor;
  o.doctor_if_scanning = !a.doctor;
  struct {
    pl_recording_index **ix;
    int *rc;
    pl_error_info *err;
  } js;
  js.ix = calloc(n, sizeof *js.ix);
  js.rc = calloc(n, sizeof *js.rc);
  js.err = calloc(n, sizeof *js.err);
  if (!js.ix || !js.rc || !js.err) {
    cli_error(ctx, "out of memory");
    free(js.ix);
    free(js.rc);
    free(js.err);
    cli_recordings_free(&recs);
    return CLI_EXIT_FAILURE;
  }
  pl_report *rep = NULL;
  if (a.html) {
    /* one recording, indexed once by the report, which then writes its page */
    if (n != 1) {
      free(js.ix);
      free(js.rc);
      free(js.err);
      cli_recordings_free(&recs);
      return cli_usage_error(&cmd_index_spec, "--html takes exactly one recording");
    }
    js.rc[0] = index_with_report(ctx, paths[0], &a, &o, &rep, &js.ix[0], &js.err[0]);
  } else {
    pl_index_files((const char *const *)paths, n, &o, a.jobs, js.ix, js.rc, js.err);
  }

  int worst = CLI_EXIT_OK;
  for (size_t i = 0; i < n; i++) {
    if (js.rc[i] != PL_OK) {
      file_error(ctx, recs.names[i], &js.err[i], js.rc[i]);
      worst = CLI_EXIT_FAILURE;
      continue;
    }
    if (recs.names[i] != paths[i]) {
      /* a copy of standard input or of a pipe: called what the command line called it */
      char *name = strdup(recs.names[i]);
      if (name) {
        free(js.ix[i]->path);
        js.ix[i]->path = name;
      }
    }
    if (has_errors(js.ix[i]) && worst == CLI_EXIT_OK) worst = CLI_EXIT_PROBLEMS;
    /* what could not be read, on stderr too (the problems list is on stdout) */
    if (js.ix[i]->partial) cli_report_damage(ctx, recs.names[i], &js.ix[i]->damage);
    if (json) {
      if (print_json(ctx, js.ix[i], n == 1) != 0) worst = CLI_EXIT_FAILURE;
    } else {
      if (i) putchar('\n');
      print_human(js.ix[i]);
    }
    cli_verbose(ctx, "'%s': %llu chunks decompressed", recs.names[i],
                (unsigned long long)js.ix[i]->chunks_decompressed);
  }
  if (rep) {
    if (worst != CLI_EXIT_FAILURE && pl_report_write_file(rep, PL_REPORT_HTML, NULL, a.html) !=
                                         PL_REPORT_OK) {
      cli_error(ctx, "%s", pl_report_errmsg(rep));
      worst = CLI_EXIT_FAILURE;
    }
    js.ix[0] = NULL; /* the report's */
    pl_report_free(rep);
  }
  for (size_t i = 0; i < n; i++) pl_recording_index_free(js.ix[i]);
  free(js.ix);
  free(js.rc);
  free(js.err);
  if (recs.bags.lost && worst == CLI_EXIT_OK) worst = CLI_EXIT_PROBLEMS; /* lost converting */
  cli_recordings_free(&recs);
  return worst;
}
