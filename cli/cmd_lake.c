/*
 * cmd_lake.c - 'mcapkit lake FILE|DIR... --lake DIR [options]': write what a
 * self-hosted site's lake holds after importing each recording (one MCAP per
 * topic, a recording file with the attachments and metadata, lake.json and
 * index.json), atomically, skipping recordings already complete; and
 * 'mcapkit lake verify --lake DIR FILE...': prove that the lake files of each
 * FILE hold exactly its messages, attachments and metadata.
 *
 * Exit status: 0 ok; 3 a file was refused because it cannot be read
 * completely (without --allow-partial) or verify found differences; 1 any
 * other failure.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "inspect.h"
#include "optgroups.h"
#include "output.h"
#include "pipeline/core.h"
#include "pipeline/import.h"

struct lake_args {
  const char *lake;
  cli_compress_args comp;
  int jobs;
  int allow_partial;
  const char *device;
  const char *key;
  int json;
};

static const cli_opt lake_opts[] = {
    {"lake", 'l', CLI_OPT_STRING, offsetof(struct lake_args, lake), "DIR", "the lake directory"},
    CLI_OPTS_COMPRESSION(struct lake_args, comp, "zstd|lz4|none",
                         "chunk compression of the lake files (default zstd)",
                         "compression level (default: the codec's)",
                         "target uncompressed chunk size (default 768K)"),
    {"threads", 'j', CLI_OPT_INT, offsetof(struct lake_args, jobs), "N",
     "compression threads (0 or default: one per core; 1 = none)"},
    {"jobs", 0, CLI_OPT_INT, offsetof(struct lake_args, jobs), "N", "same as --threads"},
    {"allow-partial", 0, CLI_OPT_FLAG, offsetof(struct lake_args, allow_partial), NULL,
     "write what can be read of a damaged file"},
    {"device", 0, CLI_OPT_STRING, offsetof(struct lake_args, device), "NAME",
     "device folder (default: the file's 'foxglove' metadata, else unknown-device)"},
    {"key", 0, CLI_OPT_STRING, offsetof(struct lake_args, key), "KEY",
     "recording folder (default: the metadata's key, else the content hash)"},
    {"json", 0, CLI_OPT_FLAG, offsetof(struct lake_args, json), NULL, "print JSON"},
    {NULL, 0, CLI_OPT_FLAG, 0, NULL, NULL},
};

const cli_spec cmd_lake_spec = {
    "lake",
    "--lake DIR [--compression zstd|lz4|none] [--chunk-size BYTES] [--threads N] FILE|DIR...\n"
    "   or: mcapkit lake verify --lake DIR FILE...",
    "Writes LAKE/<device>/<key>/ for each recording: <topic>.mcap per topic, _recording.mcap\n"
    "(attachments and metadata), lake.json ([{path, topics}] as the lake-files endpoint) and\n"
    "index.json. Everything is staged under LAKE/tmp/ and renamed into place when complete; a\n"
    "recording already in the lake with the same content is skipped. 'lake verify' re-reads the\n"
    "lake files of each FILE and compares them with it (messages per topic, attachments,\n"
    "metadata). Exit status 3 if a file cannot be read completely (see --allow-partial) or verify\n"
    "finds differences. A ROS bag given as FILE (ROS 1 .bag, rosbag2 .db3 or folder) is\n"
    "converted to a temporary MCAP file first (exit 3 if the conversion lost data).",
    lake_opts,
    1,
    -1,
    CLI_ARGS_FILES,
    NULL,
};

/* "'FILE': message", unless the message names the file already. */
static void file_error(const cli_ctx *ctx, const char *path, const pl_error_info *err, int rc) {
  cli_file_error(ctx, path, err->msg[0] ? err->msg : pl_strerror(rc));
}

static int lake_verify(cli_ctx *ctx, const struct lake_args *a, int json, char **files, int n) {
  int worst = CLI_EXIT_OK;
  json_object *doc = json ? cli_json_document() : NULL;
  json_object *arr = json ? json_object_new_array() : NULL;
  for (int i = 0; i < n; i++) {
    pl_finding *diffs = NULL;
    size_t n_diffs = 0;
    pl_error_info err;
    memset(&err, 0, sizeof err);
    int rc = pl_lake_verify(a->lake, files[i], &diffs, &n_diffs, &err);
    if (rc != PL_OK && rc != PL_EVERIFY) {
      file_error(ctx, files[i], &err, rc);
      worst = CLI_EXIT_FAILURE;
      continue;
    }
    if (rc == PL_EVERIFY && worst == CLI_EXIT_OK) worst = CLI_EXIT_PROBLEMS;
    if (json) {
      json_object *o = json_object_new_object();
      cli_json_add_str(o, "file", files[i]);
      cli_json_add_bool(o, "ok", rc == PL_OK);
      json_object *d = json_object_new_array();
      for (size_t k = 0; k < n_diffs; k++) {
        json_object *f = json_object_new_object();
        cli_json_add_str(f, "severity",
                         diffs[k].severity == PL_SEV_ERROR     ? "error"
                         : diffs[k].severity == PL_SEV_WARNING ? "warning"
                                                               : "info");
        cli_json_add_str(f, "code", diffs[k].code);
        cli_json_add_str(f, "message", diffs[k].message);
        json_object_array_add(d, f);
      }
      json_object_object_add(o, "differences", d);
      json_object_array_add(arr, o);
    } else {
      printf("%s %s%s\n", rc == PL_OK ? "OK" : "DIFFERS", files[i],
             rc == PL_OK ? ": the lake holds every message, attachment and metadata record" : ":");
      for (size_t k = 0; k < n_diffs; k++) printf("  %s: %s\n", diffs[k].code, diffs[k].message);
    }
    free(diffs);
  }
  if (json) {
    json_object_object_add(doc, "files", arr);
    cli_json_add_bool(doc, "ok", worst == CLI_EXIT_OK);
    if (cli_json_print(stdout, doc) != 0) worst = CLI_EXIT_FAILURE;
  }
  return worst;
}

struct lake_progress {
  cli_progress bar;
  const char *path;
};

static void on_progress(void *ctx, uint64_t done, uint64_t total) {
  struct lake_progress *p = ctx;
  char a[CLI_FMT_SIZE], b[CLI_FMT_SIZE];
  if (total != MCAP_SIZE_UNKNOWN && total > 0)
    cli_progress_update(&p->bar, "lake %s: %s of %s (%.0f%%)", p->path,
                        cli_fmt_bytes(a, sizeof a, done), cli_fmt_bytes(b, sizeof b, total),
                        100.0 * (double)done / (double)total);
}

int cmd_lake(cli_ctx *ctx, int argc, char **argv) {
  struct lake_args a;
  memset(&a, 0, sizeof a);
  int first;
  int rc = cli_parse(ctx, &cmd_lake_spec, argc, argv, &a, &first);
  if (rc != CLI_CONTINUE) return rc;
  int json = a.json || ctx->json;
  if (!a.lake) return cli_usage_error(&cmd_lake_spec, "option '--lake' is required");
  if (strcmp(argv[first], "verify") == 0) {
    if (first + 1 >= argc) return cli_usage_error(&cmd_lake_spec, "'lake verify' needs a FILE");
    return lake_verify(ctx, &a, json, argv + first + 1, argc - first - 1);
  }
  pl_lake_options o;
  memset(&o, 0, sizeof o);
  rc = cli_compress_resolve(&cmd_lake_spec, &a.comp, MCAP_COMPRESSION_ZSTD, 0, &o.compression);
  if (rc != CLI_CONTINUE) return rc;
  if (a.jobs < 0 || a.jobs > 256)
    return cli_usage_error(&cmd_lake_spec, "'--threads' must be between 0 and 256");
  o.compression_level = a.comp.level;
  o.chunk_size = a.comp.chunk_size;
  o.jobs = a.jobs;
  o.allow_partial = a.allow_partial;
  o.device = a.device;
  o.key = a.key;

  cli_recordings recs;
  rc = cli_collect_recordings_bags(ctx, &cmd_lake_spec, argv + first, (size_t)(argc - first),
                                   NULL, CLI_BAGS_CONVERT, NULL, &recs);
  if (rc != CLI_EXIT_OK) return rc;
  char **paths = recs.paths;
  size_t n = recs.n;
  pl_error_info err;
  int worst = CLI_EXIT_OK;
  json_object *doc = json ? cli_json_document() : NULL;
  json_object *arr = json ? json_object_new_array() : NULL;
  for (size_t i = 0; i < n; i++) {
    pl_lake_result res;
    memset(&err, 0, sizeof err);
    struct lake_progress pg;
    cli_progress_init(&pg.bar, ctx); /* stderr only, and only when it is a terminal */
    pg.path = recs.names[i];
    o.progress = on_progress;
    o.progress_ctx = &pg;
    rc = pl_lake_write(paths[i], a.lake, &o, &res, &err);
    cli_progress_done(&pg.bar);
    if (rc == PL_EPARTIAL) {
      char msg[sizeof err.msg + 80];
      snprintf(msg, sizeof msg, "%s; nothing written ('--allow-partial' writes what can be read)",
               err.msg);
      cli_file_error(ctx, recs.names[i], msg);
      if (worst == CLI_EXIT_OK) worst = CLI_EXIT_PROBLEMS;
      continue;
    }
    if (rc != PL_OK) {
      file_error(ctx, recs.names[i], &err, rc);
      worst = CLI_EXIT_FAILURE;
      continue;
    }
    /* --allow-partial: written as far as it could be read; say what is missing (exit 3) */
    if (cli_report_damage(ctx, recs.names[i], &res.damage) == CLI_EXIT_PROBLEMS && worst == CLI_EXIT_OK)
      worst = CLI_EXIT_PROBLEMS;
    if (json) {
      json_object *r = json_object_new_object();
      cli_json_add_str(r, "file", recs.names[i]);
      cli_json_add_str(r, "recording_dir", res.recording_dir);
      cli_json_add_bool(r, "skipped", res.skipped);
      cli_json_add_damage(r, &res.damage);
      json_object *files = json_object_new_array();
      for (size_t k = 0; k < res.n_files; k++) {
        json_object *f = json_object_new_object();
        cli_json_add_str(f, "path", res.files[k].path);
        json_object *t = json_object_new_array();
        for (size_t j = 0; j < res.files[k].n_topics; j++)
          json_object_array_add(t, json_object_new_string(res.files[k].topics[j]));
        json_object_object_add(f, "topics", t);
        json_object_array_add(files, f);
      }
      json_object_object_add(r, "files", files);
      json_object_array_add(arr, r);
    } else {
      printf("%s %s: %s (%zu topic file%s)\n", res.skipped ? "complete" : "wrote", recs.names[i],
             res.recording_dir, res.n_files, res.n_files == 1 ? "" : "s");
    }
    pl_lake_result_dispose(&res);
  }
  if (json) {
    json_object_object_add(doc, "recordings", arr);
    if (cli_json_print(stdout, doc) != 0) worst = CLI_EXIT_FAILURE;
  }
  if (recs.bags.lost && worst == CLI_EXIT_OK) worst = CLI_EXIT_PROBLEMS; /* lost converting */
  cli_recordings_free(&recs);
  return worst;
}
