/*
 * cmd_events.c - 'mcapkit events add FILE (--from-topic TOPIC | --from-doctor)':
 * events on a device's timeline made from a recording, one per message of a
 * topic (JSON or any encoding 'mcapkit cat' decodes) or one per doctor finding,
 * created on the API once (pl_events_add, pipeline/events.h: running it again
 * creates nothing). A thin shell: options in, counts out.
 */
#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "optgroups.h"
#include "output.h"
#include "pipeline/events.h"

struct events_args {
  cli_api_args api;
  int json;
  const char *topic;
  int doctor;
  const char *device_name, *device_id;
  const char *start_field, *end_field;
  cli_strlist fields, meta;
  uint64_t max_events;
  int dry_run, recording;
};

#define EV(f) offsetof(struct events_args, f)

static const cli_opt events_opts[] = {
    CLI_OPTS_API(struct events_args, api),
    {"json", 0, CLI_OPT_FLAG, EV(json), NULL, "print the counts as one JSON document"},
    {"from-topic", 0, CLI_OPT_STRING, EV(topic), "TOPIC", "one event per message of TOPIC"},
    {"from-doctor", 0, CLI_OPT_FLAG, EV(doctor), NULL, "one event per finding of 'mcapkit doctor'"},
    {"device-name", 0, CLI_OPT_STRING, EV(device_name), "NAME", "the events' device"},
    {"device-id", 0, CLI_OPT_STRING, EV(device_id), "ID", "the events' device, by id"},
    {"start-field", 0, CLI_OPT_STRING, EV(start_field), "PATH",
     "message field holding the start (default: the log time)"},
    {"end-field", 0, CLI_OPT_STRING, EV(end_field), "PATH",
     "message field holding the end (default: the start)"},
    {"field", 0, CLI_OPT_LIST, EV(fields), "PATH",
     "a message field copied into the metadata (repeatable; default: every top-level scalar)"},
    {"meta", 0, CLI_OPT_LIST, EV(meta), "KEY=VALUE",
     "a metadata entry added to every event (repeatable)"},
    {"recording", 0, CLI_OPT_FLAG, EV(recording), NULL,
     "the argument is a recording (key or id) on the API, exported first"},
    {"max-events", 0, CLI_OPT_U64, EV(max_events), "N",
     "refuse a file that gives more than N events (default 10000)"},
    {"dry-run", 0, CLI_OPT_FLAG, EV(dry_run), NULL, "look up what exists, create nothing"},
    {NULL, 0, CLI_OPT_FLAG, 0, NULL, NULL},
};

const cli_spec cmd_events_spec = {
    "events",
    "add FILE (--from-topic TOPIC | --from-doctor) (--device-name N | --device-id ID) [options]\n"
    "       mcapkit events add --recording KEY|ID (--from-topic TOPIC | --from-doctor) [options]",
    "With --recording the argument is a recording key or id on the API, exported first (its\n"
    "topic only with --from-topic), and the events go to its device unless one is given; a\n"
    "file needs --device-name or --device-id. A damaged file is refused (exit 1): repair it\n"
    "with 'mcapkit recover', or make events of its problems with --from-doctor.\n"
    "Times in fields: an integer is nanoseconds, a float seconds, a {sec,nanosec} (or\n"
    "{secs,nsecs}, {sec,nsec}, {seconds,nanos}) struct a time, a string RFC 3339. Doctor events span the file's\n"
    "messages. Every event carries '" PL_EVENTS_KEY "' in its metadata, a hash of what it\n"
    "was made from: the device's events are looked up first and only the missing ones\n"
    "are created, so running the command again creates nothing. Exit 0 ok, 1 failure.",
    events_opts,
    2,
    2,
    CLI_ARGS_FILES,
    NULL,
};

int cmd_events(cli_ctx *ctx, int argc, char **argv) {
  struct events_args a;
  memset(&a, 0, sizeof a);
  int first;
  int rc = cli_parse(ctx, &cmd_events_spec, argc, argv, &a, &first);
  if (rc != CLI_CONTINUE) return rc;
  const char *action = argv[first], *file = argv[first + 1];
  pl_kv *extra = NULL;
  char **copies = NULL;
  pl_http *h = NULL;
  if (strcmp(action, "add") != 0) {
    rc = cli_usage_error(&cmd_events_spec, "unknown action '%s' (expected add)", action);
    goto out;
  }
  if (!a.topic == !a.doctor) {
    rc = cli_usage_error(&cmd_events_spec, "give one of --from-topic TOPIC or --from-doctor");
    goto out;
  }
  if (a.device_name && a.device_id) {
    rc = cli_usage_error(&cmd_events_spec, "give one of --device-name or --device-id");
    goto out;
  }
  if (a.doctor && (a.start_field || a.end_field || a.fields.n)) {
    rc = cli_usage_error(&cmd_events_spec, "--start-field, --end-field and --field need --from-topic");
    goto out;
  }
  extra = calloc(a.meta.n ? a.meta.n : 1, sizeof *extra);
  copies = calloc(a.meta.n ? a.meta.n : 1, sizeof *copies);
  if (!extra || !copies) {
    cli_error(ctx, "out of memory");
    rc = CLI_EXIT_FAILURE;
    goto out;
  }
  for (size_t i = 0; i < a.meta.n; i++) {
    const char *eq = strchr(a.meta.items[i], '=');
    if (!eq || eq == a.meta.items[i]) {
      rc = cli_usage_error(&cmd_events_spec, "--meta '%s': expected KEY=VALUE", a.meta.items[i]);
      goto out;
    }
    copies[i] = strdup(a.meta.items[i]);
    if (!copies[i]) {
      cli_error(ctx, "out of memory");
      rc = CLI_EXIT_FAILURE;
      goto out;
    }
    copies[i][eq - a.meta.items[i]] = 0;
    extra[i].key = copies[i];
    extra[i].value = copies[i] + (eq - a.meta.items[i]) + 1;
  }
  if (!a.recording && !a.device_name && !a.device_id) {
    rc = cli_usage_error(&cmd_events_spec, "a file's events need --device-name or --device-id");
    goto out;
  }
  rc = cli_api_open(ctx, &a.api, &h);
  if (rc != CLI_EXIT_OK) goto out;
  pl_events_options o;
  memset(&o, 0, sizeof o);
  o.recording = a.recording;
  o.topic = a.topic;
  o.from_doctor = a.doctor;
  o.device_id = a.device_id;
  o.device_name = a.device_name;
  o.start_field = a.start_field;
  o.end_field = a.end_field;
  o.fields = a.fields.items;
  o.n_fields = a.fields.n;
  o.extra = extra;
  o.n_extra = a.meta.n;
  o.max_events = a.max_events;
  o.dry_run = a.dry_run;
  pl_events_result res;
  pl_error_info err;
  memset(&err, 0, sizeof err);
  int prc = pl_events_add(h, file, &o, &res, &err);
  if (prc != PL_OK) {
    cli_error(ctx, "%s", err.msg[0] ? err.msg : pl_strerror(prc));
    if (res.created) cli_error(ctx, "%llu event(s) were created before that; run again to finish",
                               (unsigned long long)res.created);
    rc = cli_api_exit_code(prc);
    goto out;
  }
  if (a.json || ctx->json) {
    json_object *doc = cli_json_document();
    cli_json_add_str(doc, "file", file);
    cli_json_add_u64(doc, "found", res.found);
    cli_json_add_u64(doc, "existing", res.existing);
    cli_json_add_u64(doc, "created", res.created);
    cli_json_add_bool(doc, "dry_run", a.dry_run);
    rc = cli_json_print(stdout, doc) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAILURE;
  } else {
    printf("%llu event(s) in '%s': %llu already there, %llu %s\n", (unsigned long long)res.found,
           file, (unsigned long long)res.existing,
           (unsigned long long)(a.dry_run ? res.found - res.existing : res.created),
           a.dry_run ? "to create (dry run)" : "created");
    rc = CLI_EXIT_OK;
  }
out:
  for (size_t i = 0; copies && i < a.meta.n; i++) free(copies[i]);
  free(copies);
  free(extra);
  pl_http_free(h);
  cli_opt_dispose(&cmd_events_spec, &a);
  return rc;
}
