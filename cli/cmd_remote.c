/*
 * cmd_remote.c - 'mcapkit remote KIND [ACTION] [ARG] [filters]': the API's
 * resources from the command line. KIND is recordings, attachments, topics,
 * coverage, pending-imports, lake-files or devices; ACTION is list (the
 * default), get, delete, download (attachments) or create (devices). Lists
 * fetch every page (pages of 2000 until a short page; --limit stops early)
 * and print a table, or with --json one document holding the API's items as
 * received. Which filters each kind takes and the lookups some need are
 * pl_client's (pl_api_query); the tables are rendered by output.c.
 * Subcommands are a table (k_actions); kinds with commands of their own
 * (k_subcommands) get the command line from KIND on.
 * API access (--api-url, --api-key-file) is the option group of optgroups.h.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "optgroups.h"
#include "output.h"
#include "pipeline/client.h"

/* ------------------------------------------------------------- remote */

struct remote_args {
  cli_api_args api;
  int json;
  uint64_t limit;
  const char *out;
  cli_time_args time;
  pl_api_query q; /* the filters; start and end from `time` */
  cli_strlist params;
};

#define RA(f) offsetof(struct remote_args, f)

static const cli_opt remote_opts[] = {
    CLI_OPTS_API(struct remote_args, api),
    {"json", 0, CLI_OPT_FLAG, RA(json), NULL, "print the API's items as one JSON document"},
    {"limit", 'n', CLI_OPT_U64, RA(limit), "N", "stop after N items (default: all pages)"},
    {"output", 'o', CLI_OPT_STRING, RA(out), "OUT", "where 'attachments download' writes"},
    {"device-name", 0, CLI_OPT_STRING, RA(q.device_name), "NAME", "filter: deviceName"},
    {"device-id", 0, CLI_OPT_STRING, RA(q.device_id), "ID", "filter: deviceId"},
    CLI_OPTS_TIME_RANGE(struct remote_args, time,
                        "filter: start (RFC 3339, a number with a unit such as 12.5s, or ns)",
                        "filter: end (inclusive)"),
    {"topic", 0, CLI_OPT_STRING, RA(q.topic), "TOPIC", "filter: topic"},
    {"import-status", 0, CLI_OPT_STRING, RA(q.import_status),
     "none|pending|importing|failed|complete", "filter: importStatus (recordings)"},
    {"path", 0, CLI_OPT_STRING, RA(q.path), "PATH", "filter: path (recordings)"},
    {"recording-id", 0, CLI_OPT_STRING, RA(q.recording_id), "ID", "filter: recordingId"},
    {"recording-key", 0, CLI_OPT_STRING, RA(q.recording_key), "KEY", "filter: recordingKey"},
    {"request-id", 0, CLI_OPT_STRING, RA(q.request_id), "ID",
     "filter: requestId (pending imports)"},
    {"key", 0, CLI_OPT_STRING, RA(q.key), "KEY", "filter: key (pending imports)"},
    {"site-id", 0, CLI_OPT_STRING, RA(q.site_id), "ID",
     "filter: siteId (lake-files; default: the recording's site)"},
    {"filename", 0, CLI_OPT_STRING, RA(q.filename), "NAME", "filter: filename (pending imports)"},
    {"error", 0, CLI_OPT_STRING, RA(q.error), "TEXT", "filter: error (pending imports)"},
    {"tolerance", 0, CLI_OPT_DOUBLE, RA(q.tolerance), "SECONDS", "coverage gap tolerance"},
    {"include-schemas", 0, CLI_OPT_FLAG, RA(q.include_schemas), NULL, "topics: with schemas"},
    {"show-completed", 0, CLI_OPT_FLAG, RA(q.show_completed), NULL,
     "pending imports: completed too"},
    {"show-quarantined", 0, CLI_OPT_FLAG, RA(q.show_quarantined), NULL,
     "pending imports: quarantined too"},
    {"include-edge", 0, CLI_OPT_FLAG, RA(q.include_edge), NULL, "coverage: edge recordings too"},
    {"sort-by", 0, CLI_OPT_STRING, RA(q.sort_by), "FIELD", "sortBy"},
    {"sort-order", 0, CLI_OPT_STRING, RA(q.sort_order), "asc|desc", "sortOrder"},
    {"query", 0, CLI_OPT_STRING, RA(q.query), "QUERY", "devices: custom property query"},
    {"param", 0, CLI_OPT_LIST, RA(params), "NAME=VALUE", "any other query parameter (repeatable)"},
    {NULL, 0, CLI_OPT_FLAG, 0, NULL, NULL},
};

const cli_spec cmd_remote_spec = {
    "remote",
    "recordings|attachments|topics|coverage|pending-imports|lake-files|devices "
    "[list|get|delete|download|create] [ID] [filters]",
    "Lists fetch every page (2000 items per request until a short page); --limit stops early.\n"
    "Actions: recordings get|delete KEY|ID; attachments get ID, attachments download ID -o F\n"
    "(follows the signed link without the API key and checks size and CRC); devices get|delete\n"
    "NAME|ID, devices create NAME. Filters map onto the API's query parameters, each kind taking\n"
    "its own (a filter the kind does not take is a usage error); --param adds any other.\n"
    "--recording-key on attachments is looked up as a recording and sent as its recordingId.\n"
    "The API key comes from --api-key-file or $FOXGLOVE_API_KEY and is never printed.\n"
    "Events and custom properties have options of their own: mcapkit remote events --help.",
    remote_opts,
    1,
    3,
    CLI_ARGS_WORDS,
    "recordings attachments topics coverage pending-imports lake-files devices events "
    "custom-properties",
};

/* One run: what the actions need. */
struct remote {
  cli_ctx *ctx;
  const struct remote_args *a;
  pl_http *h;
  pl_api_kind kind;
  const char *kind_name;
  const char *arg; /* the ID or NAME after the action */
  int json;
  const pl_api_params *params;
};

static int report(const cli_ctx *ctx, int rc, const pl_error_info *err) {
  if (rc == PL_OK) return CLI_EXIT_OK;
  cli_error(ctx, "%s", err->msg[0] ? err->msg : pl_strerror(rc));
  return cli_api_exit_code(rc);
}

static int do_list(const struct remote *r) {
  pl_error_info err;
  memset(&err, 0, sizeof err);
  pl_api_list l;
  size_t n;
  const pl_param *p = pl_api_params_items(r->params, &n);
  int prc = pl_api_list_all(r->h, r->kind, p, n, (size_t)r->a->limit, &l, &err);
  if (prc == PL_OK) {
    if (r->json ? cli_print_api_list_json(r->kind_name, &l) != 0 : (cli_print_api_list(&l), 0))
      prc = PL_EIO;
  }
  pl_api_list_dispose(&l);
  return prc == PL_EIO ? CLI_EXIT_FAILURE : report(r->ctx, prc, &err);
}

static int recording_get(const struct remote *r) {
  pl_error_info err;
  memset(&err, 0, sizeof err);
  pl_api_recording *x = NULL;
  int prc = pl_api_get_recording(r->h, r->arg, &x, &err);
  if (prc == PL_OK && r->json) cli_print_api_item_json("recording", x->json);
  if (prc == PL_OK && !r->json) {
    pl_api_list one = {.kind = PL_API_RECORDINGS, .n = 1, .recordings = x};
    cli_print_api_list(&one);
    if (x->key) {
      fputs("key: ", stdout);
      cli_put_text(x->key);
      putchar('\n');
    }
    for (size_t i = 0; i < x->n_metadata; i++) {
      fputs("metadata '", stdout);
      cli_put_text(x->metadata[i].name);
      fputs("':", stdout);
      for (size_t k = 0; k < x->metadata[i].n_entries; k++) {
        putchar(' ');
        cli_put_text(x->metadata[i].entries[k].key);
        putchar('=');
        cli_put_text(x->metadata[i].entries[k].value);
      }
      putchar('\n');
    }
  }
  pl_api_recording_free(x);
  return report(r->ctx, prc, &err);
}

static int recording_delete(const struct remote *r) {
  pl_error_info err;
  memset(&err, 0, sizeof err);
  char *id = NULL;
  int prc = pl_api_delete_recording(r->h, r->arg, &id, &err);
  if (prc == PL_OK) printf("deleted recording %s\n", id ? id : r->arg);
  free(id);
  return report(r->ctx, prc, &err);
}

static int attachment_get(const struct remote *r) {
  pl_error_info err;
  memset(&err, 0, sizeof err);
  pl_api_attachment *x = NULL;
  int prc = pl_api_get_attachment(r->h, r->arg, &x, &err);
  if (prc == PL_OK && r->json) cli_print_api_item_json("attachment", x->json);
  if (prc == PL_OK && !r->json) {
    pl_api_list one = {.kind = PL_API_ATTACHMENTS, .n = 1, .attachments = x};
    cli_print_api_list(&one);
    printf("fingerprint: %s\n", cli_or_dash(x->fingerprint));
  }
  pl_api_attachment_free(x);
  return report(r->ctx, prc, &err);
}

static int attachment_download(const struct remote *r) {
  pl_error_info err;
  memset(&err, 0, sizeof err);
  int prc = pl_api_download_attachment(r->h, r->arg, r->a->out, &err);
  if (prc == PL_OK && !r->json) printf("wrote '%s' (size and CRC checked)\n", r->a->out);
  if (prc == PL_OK && r->json) {
    json_object *doc = cli_json_document();
    cli_json_add_str(doc, "attachment_id", r->arg);
    cli_json_add_str(doc, "output", r->a->out);
    cli_json_add_bool(doc, "verified", 1);
    cli_json_print(stdout, doc);
  }
  return report(r->ctx, prc, &err);
}

static int device_get(const struct remote *r) {
  pl_error_info err;
  memset(&err, 0, sizeof err);
  pl_api_device *d = NULL;
  int prc = pl_api_get_device(r->h, r->arg, &d, &err);
  if (prc == PL_OK && r->json) cli_print_api_item_json("device", d->json);
  if (prc == PL_OK && !r->json) {
    pl_api_list one = {.kind = PL_API_DEVICES, .n = 1, .devices = d};
    cli_print_api_list(&one);
  }
  pl_api_device_free(d);
  return report(r->ctx, prc, &err);
}

static int device_create(const struct remote *r) {
  pl_error_info err;
  memset(&err, 0, sizeof err);
  char *id = NULL;
  int prc = pl_api_create_device(r->h, r->arg, &id, &err);
  if (prc == PL_OK) printf("created device '%s' (id %s)\n", r->arg, id ? id : "?");
  free(id);
  return report(r->ctx, prc, &err);
}

static int device_delete(const struct remote *r) {
  pl_error_info err;
  memset(&err, 0, sizeof err);
  int prc = pl_api_delete_device(r->h, r->arg, &err);
  if (prc == PL_OK) printf("deleted device '%s'\n", r->arg);
  return report(r->ctx, prc, &err);
}

/* KIND ACTION: what each kind can do ("list" is every kind's, the default). */
static const struct {
  const char *kind; /* NULL: every kind */
  const char *action;
  int (*fn)(const struct remote *r);
} k_actions[] = {
    {NULL, "list", do_list},
    {"recordings", "get", recording_get},
    {"recordings", "delete", recording_delete},
    {"attachments", "get", attachment_get},
    {"attachments", "download", attachment_download},
    {"devices", "get", device_get},
    {"devices", "create", device_create},
    {"devices", "delete", device_delete},
};

/* Kinds that are commands of their own (in their own files, with their own options); they
 * get the whole command line ("remote KIND ..."). */
static const struct {
  const char *kind;
  cli_cmd_fn fn;
} k_subcommands[] = {
    {"events", cmd_remote_events},            /* cmd_remote_events.c */
    {"custom-properties", cmd_remote_events}, /* cmd_remote_events.c */
    {NULL, NULL},
};

int cmd_remote(cli_ctx *ctx, int argc, char **argv) {
  for (size_t i = 0; argc >= 2 && k_subcommands[i].kind; i++)
    if (strcmp(argv[1], k_subcommands[i].kind) == 0) return k_subcommands[i].fn(ctx, argc, argv);
  struct remote_args a;
  memset(&a, 0, sizeof a);
  pl_api_query_init(&a.q);
  int first;
  int rc = cli_parse(ctx, &cmd_remote_spec, argc, argv, &a, &first);
  if (rc != CLI_CONTINUE) return rc;
  struct remote r = {ctx, &a, NULL, PL_API_RECORDINGS, argv[first], NULL, a.json || ctx->json,
                     NULL};
  const char *action = first + 1 < argc ? argv[first + 1] : "list";
  r.arg = first + 2 < argc ? argv[first + 2] : NULL;
  pl_api_params *params = NULL;
  pl_error_info err;
  memset(&err, 0, sizeof err);
  int (*fn)(const struct remote *) = NULL;
  cli_time_range tr;
#define USAGE(...)                                       \
  do {                                                   \
    rc = cli_usage_error(&cmd_remote_spec, __VA_ARGS__); \
    goto out;                                            \
  } while (0)
  if (pl_api_kind_parse(r.kind_name, &r.kind) != PL_OK) USAGE("unknown kind '%s'", r.kind_name);
  for (size_t i = 0; i < sizeof k_actions / sizeof k_actions[0]; i++)
    if ((!k_actions[i].kind || strcmp(k_actions[i].kind, r.kind_name) == 0) &&
        strcmp(k_actions[i].action, action) == 0)
      fn = k_actions[i].fn;
  if (!fn) USAGE("'%s' cannot '%s'", r.kind_name, action);
  int needs_arg = fn != do_list;
  if (needs_arg && !r.arg) USAGE("'%s %s' needs an id or name", r.kind_name, action);
  if (!needs_arg && r.arg) USAGE("unexpected argument '%s'", r.arg);
  if (fn == attachment_download && !a.out) USAGE("'attachments download' needs '-o FILE'");
  rc = cli_time_resolve(&cmd_remote_spec, &a.time, &tr);
  if (rc != CLI_CONTINUE) goto out;
  a.q.has_start = tr.has_start;
  a.q.start = tr.start;
  a.q.has_end = tr.has_end;
  a.q.end = tr.end;
  a.q.extra = a.params.items;
  a.q.n_extra = a.params.n;
  if (pl_api_query_check(r.kind, &a.q, &err) != PL_OK) USAGE("%s", err.msg);
#undef USAGE
  rc = cli_api_open(ctx, &a.api, &r.h);
  if (rc != CLI_EXIT_OK) goto out;
  /* the lookups some filters need go over the API */
  int prc = pl_api_query_params(r.h, r.kind, &a.q, &params, &err);
  if (prc != PL_OK) {
    rc = report(ctx, prc, &err);
    goto out;
  }
  r.params = params;
  rc = fn(&r);
out:
  pl_api_params_free(params);
  pl_http_free(r.h);
  cli_opt_dispose(&cmd_remote_spec, &a);
  return rc;
}
