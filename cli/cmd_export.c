/*
 * cmd_export.c - 'mcapkit export (--recording KEY|ID | --device-name N --start T
 * --end T) [--topics A,B] [--include-attachments] -o OUT [--verify-against
 * FILE]': download data through the export endpoint (pl_export_run). The
 * signed link is followed at once without the API key and streamed to disk;
 * a broken transfer is asked for again from the last complete log time and
 * the parts are joined without duplicates. The result must be a complete,
 * doctor-clean MCAP; with --verify-against it must hold exactly the local
 * file's messages for those topics and times (per-topic digests), and what
 * differs is listed. Exit status 0 verified, 3 differences or an unclean
 * result, 1 failure.
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
#include "pipeline/core.h"
#include "pipeline/rewrite.h"

struct export_args {
  cli_api_args api;
  const char *recording;
  const char *device_name;
  const char *device_id;
  cli_time_args time;
  cli_strlist topics;
  int include_attachments;
  const char *out;
  const char *verify;
  int json;
};

#define EA(f) offsetof(struct export_args, f)

static const cli_opt export_opts[] = {
    {"recording", 'r', CLI_OPT_STRING, EA(recording), "KEY|ID", "the recording to export"},
    {"device-name", 0, CLI_OPT_STRING, EA(device_name), "NAME",
     "or a device's data between --start and --end"},
    {"device-id", 0, CLI_OPT_STRING, EA(device_id), "ID", "the device, by id"},
    CLI_OPTS_TIME_RANGE(struct export_args, time,
                        "inclusive start (RFC 3339, a number with a unit such as 12.5s, or ns)",
                        "inclusive end"),
    {"topics", 0, CLI_OPT_LIST, EA(topics), "A,B",
     "only these topics (comma-separated, repeatable)"},
    {"include-attachments", 0, CLI_OPT_FLAG, EA(include_attachments), NULL,
     "include the recordings' attachments"},
    {"output", 'o', CLI_OPT_STRING, EA(out), "OUT", "the MCAP file to write (required)"},
    {"verify-against", 0, CLI_OPT_STRING, EA(verify), "FILE",
     "prove the export holds exactly FILE's messages (a damaged FILE stops it: exit 3)"},
    {"json", 0, CLI_OPT_FLAG, EA(json), NULL, "print the result as one JSON document"},
    CLI_OPTS_API(struct export_args, api),
    {NULL, 0, CLI_OPT_FLAG, 0, NULL, NULL},
};

const cli_spec cmd_export_spec = {
    "export",
    "(--recording KEY|ID | --device-name N --start T --end T) [--topics A,B] "
    "[--include-attachments] -o OUT [--verify-against FILE]",
    "Asks the API for a download link and follows it at once, without the API key, writing\n"
    "OUT as it arrives. When the transfer breaks, the rest is asked for from the last complete\n"
    "log time and the parts are joined without duplicates. The result must pass the doctor;\n"
    "--verify-against compares its messages per topic (times and content) with a local file\n"
    "and lists what is missing, extra or changed. Exit status 0 ok, 3 differences.",
    export_opts,
    0,
    0,
    CLI_ARGS_NONE,
    NULL,
};

struct prog {
  cli_progress p;
};

static int on_progress(void *user, uint64_t done, uint64_t total) {
  struct prog *p = user;
  char a[CLI_FMT_SIZE];
  (void)total;
  cli_progress_update(&p->p, "downloading: %s", cli_fmt_bytes(a, sizeof a, done));
  return 0;
}

int cmd_export(cli_ctx *ctx, int argc, char **argv) {
  struct export_args a;
  memset(&a, 0, sizeof a);
  int first;
  int rc = cli_parse(ctx, &cmd_export_spec, argc, argv, &a, &first);
  if (rc != CLI_CONTINUE) return rc;
  int json = a.json || ctx->json;
  const char **topics = NULL;
  size_t n_topics = 0;
  char *topic_buf = NULL;
  pl_http *h = NULL;
  pl_export_options o;
  memset(&o, 0, sizeof o);
  pl_export_result res;
  memset(&res, 0, sizeof res);
#define USAGE(...)                                       \
  do {                                                   \
    rc = cli_usage_error(&cmd_export_spec, __VA_ARGS__); \
    goto out;                                            \
  } while (0)
  if (!a.out) USAGE("missing '-o OUT'");
  if (!a.recording && !a.device_name && !a.device_id)
    USAGE("give '--recording KEY|ID', or '--device-name N' with '--start' and '--end'");
  if (a.recording && (a.device_name || a.device_id))
    USAGE("give '--recording' or a device, not both");
  if (!a.recording && !(a.time.start && a.time.end))
    USAGE("a device export needs '--start' and '--end'");
  cli_time_range tr;
  rc = cli_time_resolve(&cmd_export_spec, &a.time, &tr);
  if (rc != CLI_CONTINUE) goto out;
  /* --topics A,B (repeatable): split on commas */
  size_t total = 0;
  for (size_t i = 0; i < a.topics.n; i++) total += strlen(a.topics.items[i]) + 1;
  topic_buf = malloc(total ? total : 1);
  topics = calloc(total ? total : 1, sizeof *topics);
  if (!topic_buf || !topics) {
    cli_error(ctx, "out of memory");
    rc = CLI_EXIT_FAILURE;
    goto out;
  }
  {
    size_t pos = 0;
    for (size_t i = 0; i < a.topics.n; i++) {
      const char *s = a.topics.items[i];
      size_t len = strlen(s);
      memcpy(topic_buf + pos, s, len + 1);
      char *p = topic_buf + pos;
      pos += len + 1;
      for (;;) {
        char *comma = strchr(p, ',');
        if (comma) *comma = 0;
        if (*p) topics[n_topics++] = p;
        if (!comma) break;
        p = comma + 1;
      }
    }
  }
  if (a.verify) {
    /* The reference first: a file that cannot be read (whole) is said before any download. */
    if (strcmp(a.verify, "-") == 0 || pl_input_is_stream(a.verify))
      USAGE("'--verify-against' needs a file (it is read twice)");
    mcap_reader *vr = NULL;
    rc = cli_open_reader(ctx, a.verify, 1, &vr);
    if (rc != CLI_EXIT_OK) goto out;
    rc = cli_close_reader(ctx, a.verify, vr); /* a damaged file: said, exit 3, no export */
    if (rc != CLI_EXIT_OK) goto out;
  }
  rc = cli_api_open(ctx, &a.api, &h);
  if (rc != CLI_EXIT_OK) goto out;

  struct prog pg;
  cli_progress_init(&pg.p, ctx);
  o.recording = a.recording;
  o.device_name = a.device_name;
  o.device_id = a.device_id;
  o.has_start = tr.has_start;
  o.has_end = tr.has_end;
  o.start = tr.start;
  o.end = tr.end;
  o.topics = n_topics ? topics : NULL;
  o.n_topics = n_topics;
  o.include_attachments = a.include_attachments;
  o.out_path = a.out;
  o.verify_against = a.verify;
  o.progress = on_progress;
  o.progress_user = &pg;
  pl_error_info err;
  memset(&err, 0, sizeof err);
  int prc = pl_export_run(h, &o, &res, &err);
  cli_progress_done(&pg.p);
  if (prc != PL_OK && prc != PL_EVERIFY) {
    cli_error(ctx, "%s", err.msg);
    rc = CLI_EXIT_FAILURE;
    goto out;
  }
  char b[CLI_FMT_SIZE];
  if (json) {
    json_object *doc = cli_json_document();
    cli_json_add_str(doc, "output", a.out);
    cli_json_add_u64(doc, "bytes", res.bytes);
    cli_json_add_u64(doc, "messages", res.messages);
    cli_json_add_u64(doc, "parts", (uint64_t)res.parts);
    cli_json_add_u64(doc, "doctor_errors", res.doctor_errors);
    cli_json_add_bool(doc, "verified", res.verified && res.n_diffs == 0 && prc == PL_OK);
    if (res.verified) cli_json_add_u64(doc, "local_messages", res.local_messages);
    json_object *d = json_object_new_array();
    for (size_t i = 0; i < res.n_diffs; i++) {
      json_object *e = json_object_new_object();
      cli_json_add_str(e, "what", res.diffs[i].what);
      cli_json_add_str(e, "local", res.diffs[i].local);
      cli_json_add_str(e, "remote", res.diffs[i].remote);
      json_object_array_add(d, e);
    }
    json_object_object_add(doc, "differences", d);
    if (prc != PL_OK) cli_json_add_str(doc, "error", err.msg);
    if (cli_json_print(stdout, doc) != 0) prc = PL_EIO;
  } else {
    printf("wrote '%s': %s, %s", a.out, cli_fmt_bytes(b, sizeof b, res.bytes),
           CLI_COUNT(res.messages, "message", "messages"));
    if (res.parts > 1) printf(", joined from %d transfers", res.parts);
    printf("\n");
    if (res.verified && res.n_diffs == 0)
      printf("verified against '%s': the same %s\n", a.verify,
             CLI_COUNT(res.local_messages, "message", "messages"));
    if (res.n_diffs) {
      printf("differs from '%s' (local %s):\n", a.verify,
             CLI_COUNT(res.local_messages, "message", "messages"));
      for (size_t i = 0; i < res.n_diffs; i++)
        printf("  %s: local %s, export %s\n", res.diffs[i].what, res.diffs[i].local,
               res.diffs[i].remote);
    }
    if (prc != PL_OK && !res.n_diffs) cli_error(ctx, "%s", err.msg);
  }
  rc = prc == PL_EIO ? CLI_EXIT_FAILURE : prc == PL_OK ? CLI_EXIT_OK : CLI_EXIT_PROBLEMS;
out:
#undef USAGE
  pl_export_result_dispose(&res);
  pl_http_free(h);
  free(topics);
  free(topic_buf);
  cli_opt_dispose(&cmd_export_spec, &a);
  return rc;
}
