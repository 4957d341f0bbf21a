/*
 * cmd_reconcile.c - 'mcapkit reconcile FILE --recording KEY|ID [--tolerance S]
 * [--json]': index the local file and compare it with the remote recording
 * (pl_reconcile): the recording (start, end, size, device, metadata), its
 * attachments, topics, coverage and, on a self-hosted site, lake files.
 * Every difference is printed with both values. Exit status 0 when
 * everything matches, 3 when something differs, 1 when it could not compare.
 */
#include <json-c/json.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "inspect.h"
#include "optgroups.h"
#include "output.h"
#include "pipeline/client.h"
#include "pipeline/core.h"
#include "pipeline/import.h"
#include "pipeline/rewrite.h"

struct reconcile_args {
  cli_api_args api;
  const char *recording;
  double tolerance;
  const char *device_name;
  const char *device_id;
  int no_lake;
  int json;
};

#define RA(f) offsetof(struct reconcile_args, f)

static const cli_opt reconcile_opts[] = {
    {"recording", 'r', CLI_OPT_STRING, RA(recording), "KEY|ID",
     "the remote recording, by upload key or id (required)"},
    {"tolerance", 0, CLI_OPT_DOUBLE, RA(tolerance), "SECONDS",
     "coverage gap tolerance, used on both sides (default 14)"},
    {"device-name", 0, CLI_OPT_STRING, RA(device_name), "NAME",
     "the device expected remotely (default: the file's own, if any)"},
    {"device-id", 0, CLI_OPT_STRING, RA(device_id), "ID", "the device id expected remotely"},
    {"no-lake", 0, CLI_OPT_FLAG, RA(no_lake), NULL, "do not compare lake files"},
    {"json", 0, CLI_OPT_FLAG, RA(json), NULL, "print the result as one JSON document"},
    CLI_OPTS_API(struct reconcile_args, api),
    {NULL, 0, CLI_OPT_FLAG, 0, NULL, NULL},
};

const cli_spec cmd_reconcile_spec = {
    "reconcile",
    "FILE --recording KEY|ID [--tolerance SECONDS] [--json]",
    "Compares the recording (start, end, size, device, metadata), its attachments (name, media\n"
    "type, log and create time, CRC, size, fingerprint when both use the same hash), topics\n"
    "(encoding, schema name, schema encoding, schema bytes), coverage and, on a self-hosted\n"
    "site, its lake files (one per topic). Exit status 0 when all matches, 3 when something\n"
    "differs.",
    reconcile_opts,
    1,
    1,
    CLI_ARGS_FILES,
    NULL,
};

static int print_json(const char *path, const pl_reconcile_report *r) {
  json_object *doc = cli_json_document();
  cli_json_add_str(doc, "file", path);
  cli_json_add_str(doc, "recording_id", r->recording_id ? r->recording_id : "");
  if (r->recording_key) cli_json_add_str(doc, "recording_key", r->recording_key);
  cli_json_add_bool(doc, "matches", r->n_diffs == 0);
  json_object *c = json_object_new_object();
  cli_json_add_u64(c, "attachments", r->n_attachments);
  cli_json_add_u64(c, "topics", r->n_topics);
  cli_json_add_u64(c, "coverage_ranges", r->n_coverage);
  cli_json_add_u64(c, "metadata", r->n_metadata);
  cli_json_add_bool(c, "lake_checked", r->lake_checked);
  cli_json_add_u64(c, "lake_files", r->n_lake_files);
  json_object_object_add(doc, "compared", c);
  json_object *d = json_object_new_array();
  for (size_t i = 0; i < r->n_diffs; i++) {
    json_object *e = json_object_new_object();
    cli_json_add_str(e, "what", r->diffs[i].what);
    cli_json_add_str(e, "local", r->diffs[i].local);
    cli_json_add_str(e, "remote", r->diffs[i].remote);
    json_object_array_add(d, e);
  }
  json_object_object_add(doc, "differences", d);
  return cli_json_print(stdout, doc);
}

int cmd_reconcile(cli_ctx *ctx, int argc, char **argv) {
  struct reconcile_args a;
  memset(&a, 0, sizeof a);
  a.tolerance = -INFINITY;
  int first;
  int rc = cli_parse(ctx, &cmd_reconcile_spec, argc, argv, &a, &first);
  if (rc != CLI_CONTINUE) return rc;
  int json = a.json || ctx->json;
  if (!a.recording) return cli_usage_error(&cmd_reconcile_spec, "missing '--recording KEY|ID'");
  if (a.tolerance != -INFINITY && a.tolerance < 0)
    return cli_usage_error(&cmd_reconcile_spec, "'--tolerance' must be >= 0");
  const char *path = argv[first];

  /* The local file first: what cannot be read needs no network to be said. */
  pl_input input;
  pl_error_info err;
  memset(&err, 0, sizeof err);
  if (strcmp(path, "-") == 0 && cli_check_stdin(ctx) != CLI_EXIT_OK) return CLI_EXIT_USAGE;
  if (pl_input_open(path, NULL, &input, &err) != PL_OK) {
    cli_error(ctx, "%s", err.msg);
    return CLI_EXIT_FAILURE;
  }
  pl_index_options io;
  memset(&io, 0, sizeof io);
  io.tolerance_s = a.tolerance == -INFINITY ? -1 : a.tolerance;
  io.threads = 1;
  io.no_doctor = 1; /* the comparison needs the index, not the findings */
  io.no_hash = 1;
  pl_recording_index *ix = NULL;
  int prc = pl_index_file(input.path, &io, &ix, &err);
  pl_input_release(&input);
  if (prc != PL_OK) {
    cli_file_error(ctx, path, err.msg);
    return CLI_EXIT_FAILURE;
  }
  if (ix->partial) {
    /* a comparison with part of a recording proves nothing */
    cli_report_damage(ctx, path, &ix->damage);
    pl_recording_index_free(ix);
    return CLI_EXIT_PROBLEMS;
  }
  pl_http *h = NULL;
  rc = cli_api_open(ctx, &a.api, &h);
  if (rc != CLI_EXIT_OK) {
    pl_recording_index_free(ix);
    return rc;
  }
  pl_reconcile_options ro;
  memset(&ro, 0, sizeof ro);
  ro.device_name = a.device_name;
  ro.device_id = a.device_id;
  ro.no_lake = a.no_lake;
  pl_reconcile_report *r = NULL;
  prc = pl_reconcile(h, ix, a.recording, &ro, &r, &err);
  pl_recording_index_free(ix);
  pl_http_free(h);
  if (prc != PL_OK) {
    cli_error(ctx, "%s", err.msg);
    return CLI_EXIT_FAILURE;
  }
  rc = r->n_diffs ? CLI_EXIT_PROBLEMS : CLI_EXIT_OK;
  if (json) {
    if (print_json(path, r) != 0) rc = CLI_EXIT_FAILURE;
  } else if (r->n_diffs == 0) {
    printf(
        "'%s' matches recording %s%s%s%s: %zu attachment%s, %zu topic%s, %zu coverage "
        "range%s, %zu metadata record%s%s\n",
        path, r->recording_id, r->recording_key ? " (key " : "",
        r->recording_key ? r->recording_key : "", r->recording_key ? ")" : "", r->n_attachments,
        r->n_attachments == 1 ? "" : "s", r->n_topics, r->n_topics == 1 ? "" : "s", r->n_coverage,
        r->n_coverage == 1 ? "" : "s", r->n_metadata, r->n_metadata == 1 ? "" : "s",
        r->lake_checked ? ", lake files" : "");
  } else {
    printf("'%s' differs from recording %s%s%s%s in %zu place%s:\n", path, r->recording_id,
           r->recording_key ? " (key " : "", r->recording_key ? r->recording_key : "",
           r->recording_key ? ")" : "", r->n_diffs, r->n_diffs == 1 ? "" : "s");
    for (size_t i = 0; i < r->n_diffs; i++)
      printf("  %s: local %s, remote %s\n", r->diffs[i].what, r->diffs[i].local,
             r->diffs[i].remote);
  }
  pl_reconcile_report_free(r);
  return rc;
}
