/*
 * cmd_upload.c - 'mcapkit upload FILE|DIR... [--device-name N | --device-id ID]
 * [--key K] [--no-wait] [--jobs N]': send recordings to the platform
 * (pl_upload_files): pre-flight doctor (errors refuse a file unless --force),
 * a key derived from the content hash (re-running never duplicates), the
 * upload link and a streamed PUT, the wait for the import, and the reconcile.
 *
 * Output: one status line per file as it finishes (done, skipped, uploaded,
 * imported, refused, differs, failed) and a summary; on a terminal a
 * progress line on stderr. --json prints one document instead. A journal in
 * .mcapkit/ (or --journal DIR) lets a re-run after a crash or Ctrl-C skip
 * what is done. Exit status: 0 all done, 3 refused or differing files, 1
 * failures (or interrupted).
 */
#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "inspect.h"
#include "optgroups.h"
#include "output.h"
#include "pipeline/client.h"
#include "pipeline/events.h"

struct upload_args {
  cli_api_args api;
  const char *device_name;
  const char *device_id;
  const char *key;
  int no_wait;
  int no_reconcile;
  int force;
  int strict;
  int jobs;
  int json;
  double timeout;
  const char *journal;
  int no_journal;
  double tolerance;
  int convert;
  const char *events_topic;
};

#define UA(f) offsetof(struct upload_args, f)

static const cli_opt upload_opts[] = {
    {"device-name", 0, CLI_OPT_STRING, UA(device_name), "NAME",
     "the device the recordings belong to (else the file's 'foxglove' metadata)"},
    {"device-id", 0, CLI_OPT_STRING, UA(device_id), "ID", "the device, by id"},
    {"key", 0, CLI_OPT_STRING, UA(key), "KEY",
     "the recording key (one file only; default: derived from the content hash)"},
    {"no-wait", 0, CLI_OPT_FLAG, UA(no_wait), NULL, "do not wait for the import"},
    {"no-reconcile", 0, CLI_OPT_FLAG, UA(no_reconcile), NULL,
     "wait for the import but do not compare"},
    {"force", 0, CLI_OPT_FLAG, UA(force), NULL, "upload even when the doctor finds errors"},
    {"strict", 0, CLI_OPT_FLAG, UA(strict), NULL,
     "refuse files with doctor warnings too (as 'doctor --strict')"},
    {"convert", 0, CLI_OPT_FLAG, UA(convert), NULL,
     "convert ROS bags (ROS 1 .bag, rosbag2 .db3 or folder) to MCAP first and upload that"},
    {"jobs", 0, CLI_OPT_INT, UA(jobs), "N", "files at once, 1 to 64 (0 or default: 4)"},
    {"timeout", 0, CLI_OPT_DOUBLE, UA(timeout), "SECONDS",
     "how long to wait for each import (default 600)"},
    {"tolerance", 0, CLI_OPT_DOUBLE, UA(tolerance), "SECONDS",
     "coverage gap tolerance of the reconcile (default 14)"},
    {"journal", 0, CLI_OPT_STRING, UA(journal), "DIR", "the journal directory (default .mcapkit)"},
    {"no-journal", 0, CLI_OPT_FLAG, UA(no_journal), NULL, "keep no journal"},
    {"events-from-topic", 0, CLI_OPT_STRING, UA(events_topic), "TOPIC",
     "after each import, one event per message of TOPIC on the recording's device (as "
     "'events add'; never made twice)"},
    {"json", 0, CLI_OPT_FLAG, UA(json), NULL, "print the results as one JSON document"},
    CLI_OPTS_API(struct upload_args, api),
    {NULL, 0, CLI_OPT_FLAG, 0, NULL, NULL},
};

const cli_spec cmd_upload_spec = {
    "upload",
    "[--device-name N | --device-id ID] [--key K] [--no-wait] [--jobs N] FILE|DIR...",
    "Checks each file with the doctor first (errors refuse it unless --force; warnings, such\n"
    "as the layouts rosbag2 writes, do not, unless --strict), then uploads it\n"
    "under a key derived from its content hash, so running the same upload again never creates\n"
    "a duplicate: files already on the platform are only waited for and reconciled. After the\n"
    "import it compares the platform's copy with the file (see 'mcapkit reconcile'). A journal\n"
    "in .mcapkit/ lets a re-run skip what is done. Only named files are sent ('-', /dev/fd/N\n"
    "and other streams are refused with exit 2: the platform keeps the file name). Exit status\n"
    "0 all done, 3 some file was refused or differs remotely, 1 some file failed.\n"
    "A ROS bag (ROS 1 .bag, rosbag2 .db3 or folder) is refused unless --convert is given: it\n"
    "is then converted to a temporary MCAP file (as 'mcapkit convert' does), uploaded under\n"
    "the bag's name with .mcap (run1.bag -> run1.mcap), and removed; a conversion that lost\n"
    "data makes the exit status 3. The journal cannot skip a converted bag (it is a new file\n"
    "each time); the content key still finds it on the platform.",
    upload_opts,
    1,
    -1,
    CLI_ARGS_FILES,
    NULL,
};

struct ui {
  const cli_ctx *ctx;
  int json;
  size_t n, finished;
  cli_progress progress;
};

static void print_result(const pl_upload_result *r) {
  char b[CLI_FMT_SIZE];
  printf("%-9s %s", pl_upload_status_name(r->status), r->path);
  switch (r->status) {
    case PL_UPLOAD_DONE:
    case PL_UPLOAD_IMPORTED:
      printf("  recording %s (key %s, %s, %s)\n", r->recording_id[0] ? r->recording_id : "?",
             r->key, r->already_there ? "already on the platform" : "uploaded",
             cli_fmt_bytes(b, sizeof b, r->size));
      break;
    case PL_UPLOAD_SKIPPED:
      printf("  done in an earlier run (journal)\n");
      break;
    case PL_UPLOAD_UPLOADED:
      printf("  request %s (key %s), import not waited for\n", r->request_id, r->key);
      break;
    case PL_UPLOAD_DIFFERS:
      printf("  recording %s differs in %zu place%s:\n", r->recording_id,
             r->reconcile ? r->reconcile->n_diffs : 0,
             r->reconcile && r->reconcile->n_diffs == 1 ? "" : "s");
      for (size_t i = 0; r->reconcile && i < r->reconcile->n_diffs; i++)
        printf("    %s: local %s, remote %s\n", r->reconcile->diffs[i].what,
               r->reconcile->diffs[i].local, r->reconcile->diffs[i].remote);
      break;
    default:
      printf("  %s\n", r->err.msg[0] ? r->err.msg : pl_strerror(r->rc));
      break;
  }
  fflush(stdout);
}

static void on_event(void *user, const pl_upload_event *ev) {
  struct ui *u = user;
  char a[CLI_FMT_SIZE], b[CLI_FMT_SIZE];
  switch (ev->kind) {
    case PL_UPLOAD_EV_STATE:
      cli_progress_update(&u->progress, "[%zu/%zu] %s: %s", u->finished, u->n, ev->path, ev->state);
      break;
    case PL_UPLOAD_EV_PROGRESS:
      cli_progress_update(&u->progress, "[%zu/%zu] %s: uploading %s of %s (%.0f%%)", u->finished,
                          u->n, ev->path, cli_fmt_bytes(a, sizeof a, ev->done),
                          cli_fmt_bytes(b, sizeof b, ev->total),
                          ev->total ? 100.0 * (double)ev->done / (double)ev->total : 0.0);
      break;
    case PL_UPLOAD_EV_DONE:
      u->finished++;
      cli_progress_done(&u->progress);
      if (!u->json) print_result(ev->result);
      break;
  }
}

/* What `--events-from-topic` did for one file. */
struct file_events {
  int ran;             /* events were made for this file */
  int rc;              /* PL_OK or the error (msg in err) */
  pl_events_result res;
  pl_error_info err;
};

static int print_json(const pl_upload_result *res, const struct file_events *ev, size_t n) {
  json_object *doc = cli_json_document();
  json_object *files = json_object_new_array();
  size_t counts[7] = {0};
  for (size_t i = 0; i < n; i++) {
    const pl_upload_result *r = &res[i];
    counts[r->status]++;
    json_object *o = json_object_new_object();
    cli_json_add_str(o, "path", r->path ? r->path : "");
    cli_json_add_str(o, "status", pl_upload_status_name(r->status));
    if (r->key[0]) cli_json_add_str(o, "key", r->key);
    if (r->request_id[0]) cli_json_add_str(o, "request_id", r->request_id);
    if (r->recording_id[0]) cli_json_add_str(o, "recording_id", r->recording_id);
    cli_json_add_u64(o, "size", r->size);
    cli_json_add_bool(o, "uploaded", r->uploads > 0);
    cli_json_add_bool(o, "already_there", r->already_there);
    cli_json_add_u64(o, "doctor_errors", r->doctor_errors);
    cli_json_add_u64(o, "doctor_warnings", r->doctor_warnings);
    if (r->status == PL_UPLOAD_FAILED || r->status == PL_UPLOAD_REFUSED)
      cli_json_add_str(o, "error", r->err.msg);
    if (r->reconcile) {
      json_object *d = json_object_new_array();
      for (size_t k = 0; k < r->reconcile->n_diffs; k++) {
        json_object *e = json_object_new_object();
        cli_json_add_str(e, "what", r->reconcile->diffs[k].what);
        cli_json_add_str(e, "local", r->reconcile->diffs[k].local);
        cli_json_add_str(e, "remote", r->reconcile->diffs[k].remote);
        json_object_array_add(d, e);
      }
      json_object_object_add(o, "differences", d);
    }
    if (ev && ev[i].ran) {
      json_object *e = json_object_new_object();
      cli_json_add_u64(e, "found", ev[i].res.found);
      cli_json_add_u64(e, "existing", ev[i].res.existing);
      cli_json_add_u64(e, "created", ev[i].res.created);
      if (ev[i].rc != PL_OK) cli_json_add_str(e, "error", ev[i].err.msg);
      json_object_object_add(o, "events", e);
    }
    json_object_array_add(files, o);
  }
  json_object_object_add(doc, "files", files);
  json_object *sum = json_object_new_object();
  for (int s = 0; s < 7; s++)
    cli_json_add_u64(sum, pl_upload_status_name((pl_upload_status)s), counts[s]);
  json_object_object_add(doc, "summary", sum);
  return cli_json_print(stdout, doc);
}

/*
 * --events-from-topic: for each file now on the platform (done, imported, skipped or
 * differing), the events of its topic on the device of the recording it became
 * (pl_events_add, idempotent by the event keys). *out gets one entry per file (the caller
 * frees it). @return 1 when making some file's events failed, else 0.
 */
static int make_events(const cli_ctx *ctx, const struct upload_args *a, const char *key,
                       const pl_http_options *ho, const char *const *paths,
                       const pl_upload_result *res, size_t n, struct file_events **out) {
  struct file_events *ev = calloc(n ? n : 1, sizeof *ev);
  *out = ev;
  if (!ev) {
    cli_error(ctx, "out of memory");
    return 1;
  }
  pl_http *h = NULL;
  pl_error_info err;
  memset(&err, 0, sizeof err);
  int rc = pl_http_new(&h, cli_api_url(&a->api), key, ho, &err);
  if (rc != PL_OK) {
    cli_error(ctx, "%s", err.msg);
    return 1;
  }
  int failed = 0;
  for (size_t i = 0; i < n; i++) {
    const pl_upload_result *r = &res[i];
    if (r->status != PL_UPLOAD_DONE && r->status != PL_UPLOAD_SKIPPED &&
        r->status != PL_UPLOAD_IMPORTED && r->status != PL_UPLOAD_DIFFERS)
      continue;
    pl_events_options eo;
    memset(&eo, 0, sizeof eo);
    eo.topic = a->events_topic;
    eo.device_id = a->device_id;
    eo.device_name = a->device_name;
    eo.device_of = r->recording_id[0] ? r->recording_id : r->key;
    ev[i].ran = 1;
    ev[i].rc = pl_events_add(h, paths[i], &eo, &ev[i].res, &ev[i].err);
    if (ev[i].rc != PL_OK) failed = 1;
  }
  pl_http_free(h);
  return failed;
}

int cmd_upload(cli_ctx *ctx, int argc, char **argv) {
  struct upload_args a;
  memset(&a, 0, sizeof a);
  a.tolerance = -1;
  int first;
  int rc = cli_parse(ctx, &cmd_upload_spec, argc, argv, &a, &first);
  if (rc != CLI_CONTINUE) return rc;
  int json = a.json || ctx->json;
  if (a.device_name && a.device_id)
    return cli_usage_error(&cmd_upload_spec, "give '--device-name' or '--device-id', not both");
  if (a.jobs < 0 || a.jobs > 64)
    return cli_usage_error(&cmd_upload_spec, "'--jobs' must be from 1 to 64 (0: the default 4)");
  if (a.timeout < 0) return cli_usage_error(&cmd_upload_spec, "'--timeout' must be >= 0");
  if (a.events_topic && a.no_wait)
    return cli_usage_error(&cmd_upload_spec,
                           "'--events-from-topic' needs the import: it cannot go with '--no-wait'");

  /* The platform keeps each file's name: standard input or a pipe has none to give. */
  cli_recordings recs;
  rc = cli_collect_recordings_bags(ctx, &cmd_upload_spec, argv + first, (size_t)(argc - first),
                                   "upload sends named files (save it to a file first)",
                                   a.convert ? CLI_BAGS_CONVERT : CLI_BAGS_REFUSE,
                                   "add --convert to convert it to MCAP and upload that", &recs);
  if (rc != CLI_EXIT_OK) return rc;
  char **paths = recs.paths;
  size_t n = recs.n;
  pl_error_info err;
  memset(&err, 0, sizeof err);
  if (a.key && n > 1) {
    cli_recordings_free(&recs);
    return cli_usage_error(&cmd_upload_spec, "'--key' needs exactly one file (%zu found)", n);
  }
  char *key = NULL;
  rc = cli_api_key(ctx, &a.api, &key);
  if (rc != CLI_EXIT_OK) {
    cli_recordings_free(&recs);
    return rc;
  }
  pl_http_options ho;
  cli_api_http_options(ctx, &ho);
  struct ui u;
  memset(&u, 0, sizeof u);
  u.ctx = ctx;
  u.json = json;
  u.n = n;
  cli_progress_init(&u.progress, ctx);
  pl_upload_options o;
  memset(&o, 0, sizeof o);
  o.device_name = a.device_name;
  o.device_id = a.device_id;
  o.key = a.key;
  o.force = a.force;
  o.strict = a.strict;
  o.no_wait = a.no_wait;
  o.no_reconcile = a.no_reconcile;
  o.wait_timeout_s = a.timeout;
  o.jobs = a.jobs;
  o.journal_dir = a.journal;
  o.no_journal = a.no_journal;
  o.tolerance_s = a.tolerance;
  o.on_event = on_event;
  o.event_user = &u;
  o.cancel = ho.cancel;
  pl_upload_result *res = NULL;
  int prc = pl_upload_files(cli_api_url(&a.api), key, &ho, (const char *const *)paths, n, &o,
                            &res, &err);
  struct file_events *ev = NULL;
  int ev_failed = 0;
  if (res && a.events_topic)
    ev_failed = make_events(ctx, &a, key, &ho, (const char *const *)paths, res, n, &ev);
  cli_api_key_free(key);
  cli_progress_done(&u.progress);
  if (!res) {
    cli_error(ctx, "%s", err.msg);
    cli_recordings_free(&recs);
    return prc == PL_EINVAL ? CLI_EXIT_USAGE : CLI_EXIT_FAILURE;
  }
  /* results name a converted bag as the user did, not by its temporary file */
  for (size_t i = 0; i < n; i++) {
    const char *shown = res[i].path ? cli_bag_inputs_shown(&recs.bags, res[i].path) : NULL;
    char *copy = shown && shown != res[i].path ? strdup(shown) : NULL;
    if (copy) {
      free(res[i].path);
      res[i].path = copy;
    }
  }
  size_t counts[7] = {0};
  int cancelled = 0;
  for (size_t i = 0; i < n; i++) {
    counts[res[i].status]++;
    if (res[i].rc == PL_ECANCELED) cancelled = 1;
  }
  if (json) {
    if (print_json(res, ev, n) != 0) prc = PL_EIO;
  } else {
    printf("%zu file%s:", n, n == 1 ? "" : "s");
    const char *sep = " ";
    for (int s = 0; s < 7; s++)
      if (counts[s]) {
        printf("%s%zu %s", sep, counts[s], pl_upload_status_name((pl_upload_status)s));
        sep = ", ";
      }
    printf("\n");
  }
  /* What failed or was refused, one line each on stderr (the report above is the result). */
  for (size_t i = 0; i < n; i++) {
    const pl_upload_result *r = &res[i];
    const char *name = r->path ? r->path : paths[i];
    if (r->status == PL_UPLOAD_REFUSED)
      cli_error(ctx, "'%s': not uploaded: the doctor found %zu %s (see 'mcapkit doctor'; "
                "--force uploads anyway)", name, r->doctor_errors,
                cli_plural(r->doctor_errors, "error", "errors"));
    else if (r->status == PL_UPLOAD_FAILED && r->rc != PL_ECANCELED)
      cli_file_error(ctx, name, r->err.msg[0] ? r->err.msg : pl_strerror(r->rc));
  }
  for (size_t i = 0; ev && i < n; i++) {
    const char *name = res[i].path ? res[i].path : paths[i];
    if (ev[i].ran && ev[i].rc != PL_OK)
      cli_file_error(ctx, name, ev[i].err.msg[0] ? ev[i].err.msg : pl_strerror(ev[i].rc));
    else if (ev[i].ran && !json)
      printf("events of '%s' (%s): %llu, %llu already there, %llu created\n", name,
             a.events_topic, (unsigned long long)ev[i].res.found,
             (unsigned long long)ev[i].res.existing, (unsigned long long)ev[i].res.created);
  }
  free(ev);
  if (cancelled)
    cli_error(ctx, "interrupted: run the same command again to finish (files done are skipped)");
  pl_upload_results_free(res, n);
  int lost = recs.bags.lost;
  cli_recordings_free(&recs);
  if (prc == PL_EIO || ev_failed) return CLI_EXIT_FAILURE;
  int code = cli_api_exit_code(prc);
  return code == CLI_EXIT_OK && lost ? CLI_EXIT_PROBLEMS : code; /* lost converting */
}
