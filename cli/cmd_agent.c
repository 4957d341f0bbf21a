/*
 * cmd_agent.c - 'mcapkit agent --watch DIR... --device-name NAME [options]': the
 * foreground daemon that gets every finished recording in the watched folders
 * to the platform exactly once (pl_agent); and 'mcapkit agent status --state
 * DIR': what the state folder says (queued, preparing, uploading with bytes
 * and rate, waiting for import, verified, failed with reason, attempts and
 * next retry, ...).
 *
 * The daemon logs one line per event on stderr ("TIME EVENT PATH: detail"),
 * or one JSON object per line with --json; SIGTERM/SIGINT stop it cleanly
 * (exit 0). Under systemd (Type=notify) it reports readiness and status
 * through $NOTIFY_SOCKET. Exit status: 0 stopped cleanly (with --once: and
 * every recording verified), 3 with --once when some failed, were refused,
 * differ or were uploaded with data lost, 1 the agent could not run, 2 usage.
 * 'agent status' exits 0, or 3 when some recording failed, was refused or
 * differs.
 */
#include <json-c/json.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd.h"
#include "optgroups.h"
#include "output.h"
#include "pipeline/agent.h"

struct agent_args {
  cli_strlist watch;
  const char *state;
  cli_strlist patterns;
  int convert;
  double settle, stale_after, rescan;
  const char *on_error;
  const char *compress;
  cli_topic_args topics; /* --exclude-topic only */
  int threads;
  cli_api_args api;
  const char *device_name;
  const char *device_id;
  uint64_t max_rate;
  int parallel;
  double timeout;
  double tolerance;
  int delete_after_verify;
  uint64_t min_free;
  double stop_timeout;
  double retry_delay;
  int once;
  int no_notify;
  int json;
};

#define AA(f) offsetof(struct agent_args, f)

static const cli_opt agent_opts[] = {
    {"watch", 'w', CLI_OPT_LIST, AA(watch), "DIR", "a folder to watch, with its subfolders (repeatable)"},
    {"device-name", 0, CLI_OPT_STRING, AA(device_name), "NAME", "the device the recordings belong to"},
    {"device-id", 0, CLI_OPT_STRING, AA(device_id), "ID", "the device, by id"},
    {"state", 0, CLI_OPT_STRING, AA(state), "DIR",
     "the state folder (default: the first watched folder's .mcapkit)"},
    {"pattern", 0, CLI_OPT_LIST, AA(patterns), "GLOB",
     "file names to take (repeatable; default *.mcap, and *.bag *.db3 with --convert)"},
    {"convert", 0, CLI_OPT_FLAG, AA(convert), NULL, "convert ROS 1 bags and ROS 2 .db3 files"},
    {"settle", 0, CLI_OPT_DOUBLE, AA(settle), "SECONDS",
     "a finished file must be unchanged this long (default 5)"},
    {"stale-after", 0, CLI_OPT_DOUBLE, AA(stale_after), "SECONDS",
     "recover a file left unfinished this long (default 900)"},
    {"rescan", 0, CLI_OPT_DOUBLE, AA(rescan), "SECONDS", "full rescan period (default 60)"},
    {"on-error", 0, CLI_OPT_STRING, AA(on_error), "refuse|warn",
     "when the doctor finds errors: do not upload (default), or upload with a warning"},
    {"compress", 0, CLI_OPT_STRING, AA(compress), "zstd|lz4",
     "compress recordings whose chunks are uncompressed before the upload"},
    CLI_OPT_EXCLUDE_TOPIC(struct agent_args, topics,
                          "drop topics matching REGEX (whole topic) before the upload (repeatable)"),
    {"threads", 'j', CLI_OPT_INT, AA(threads), "N", "compression threads of one preparation (default 1)"},
    {"parallel", 0, CLI_OPT_INT, AA(parallel), "N", "recordings prepared and uploaded at once (default 1)"},
    {"max-rate", 0, CLI_OPT_BYTES, AA(max_rate), "BYTES",
     "upload at most BYTES per second in all (K, M, G suffixes; default no limit)"},
    {"timeout", 0, CLI_OPT_DOUBLE, AA(timeout), "SECONDS",
     "how long to wait for each import (default 600)"},
    {"tolerance", 0, CLI_OPT_DOUBLE, AA(tolerance), "SECONDS",
     "coverage gap tolerance of the reconcile (default 14)"},
    {"delete-after-verify", 0, CLI_OPT_FLAG, AA(delete_after_verify), NULL,
     "delete a recording once the platform's copy reconciled clean"},
    {"min-free", 0, CLI_OPT_BYTES, AA(min_free), "BYTES",
     "keep this much free on the state folder's disk: copies wait until there is room"},
    {"stop-timeout", 0, CLI_OPT_DOUBLE, AA(stop_timeout), "SECONDS",
     "on SIGTERM, let work in hand go on this long before cutting it (default 20)"},
    {"retry-delay", 0, CLI_OPT_DOUBLE, AA(retry_delay), "SECONDS",
     "first retry of a failed recording, doubling up to an hour (default 30)"},
    {"once", 0, CLI_OPT_FLAG, AA(once), NULL,
     "handle what is finished now, then exit (retries are not waited for)"},
    {"no-notify", 0, CLI_OPT_FLAG, AA(no_notify), NULL, "do not talk to systemd ($NOTIFY_SOCKET)"},
    {"json", 0, CLI_OPT_FLAG, AA(json), NULL, "log events as NDJSON on stderr"},
    CLI_OPTS_API(struct agent_args, api),
    {NULL, 0, CLI_OPT_FLAG, 0, NULL, NULL},
};

const cli_spec cmd_agent_spec = {
    "agent",
    "--watch DIR [--watch DIR...] --device-name NAME [options] | status --state DIR [--json]",
    "Runs in the foreground until SIGTERM or SIGINT (exit 0). Each file that matches a pattern\n"
    "is taken once it is finished (MCAP: footer and magic; bag: index written; .db3: no journal\n"
    "beside it) and unchanged for --settle seconds; a file left unfinished for --stale-after\n"
    "seconds is recovered into a copy in the state folder and the copy uploaded (the loss is\n"
    "reported, the original left alone). Then the doctor, --compress and --exclude-topic, the\n"
    "upload under a content-hash key (nothing is ever sent twice), the import wait and the\n"
    "reconcile; --delete-after-verify deletes the file only after a clean reconcile. The state\n"
    "folder's journal makes this survive kill -9 and power loss. Logs go to stderr, one line\n"
    "per event. Under systemd (Type=notify) readiness and status go to $NOTIFY_SOCKET.\n"
    "See 'mcapkit agent status --help' for the status of a state folder.",
    agent_opts,
    0,
    -1,
    CLI_ARGS_WORDS,
    "status",
};

struct status_args {
  const char *state;
  const char *watch;
  int json;
};

#define SA(f) offsetof(struct status_args, f)

static const cli_opt status_opts[] = {
    {"state", 0, CLI_OPT_STRING, SA(state), "DIR", "the agent's state folder"},
    {"watch", 'w', CLI_OPT_STRING, SA(watch), "DIR",
     "or the first watched folder (its .mcapkit is the default state folder)"},
    {"json", 0, CLI_OPT_FLAG, SA(json), NULL, "print one JSON document"},
    {NULL, 0, CLI_OPT_FLAG, 0, NULL, NULL},
};

static const cli_spec agent_status_spec = {
    "agent status",
    "--state DIR [--json]",
    "Reads the live snapshot of a running agent, else replays its journal (recordings in\n"
    "flight then show where they stood). Exit status 0, or 3 when some recording failed, was\n"
    "refused or differs on the platform.",
    status_opts,
    0,
    0,
    CLI_ARGS_NONE,
    NULL,
};

/* ------------------------------------------------------------- the daemon */

static pl_agent *g_agent; /* for the signal handler only */

static void on_stop_signal(int sig) {
  (void)sig;
  pl_agent_request_stop(g_agent);
}

struct log_ctx {
  const cli_ctx *ctx;
  int json;
};

static void on_event(void *user, const pl_agent_event *ev) {
  const struct log_ctx *l = user;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  uint64_t now = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
  if (l->json) {
    cli_agent_event_json(stderr, now, ev);
    return;
  }
  char t[CLI_FMT_SIZE], b[CLI_FMT_SIZE];
  cli_fmt_time(t, sizeof t, now);
  t[19] = 0; /* whole seconds are enough in a log line */
  fprintf(stderr, "mcapkit agent: %sZ %-9s", t, ev->event);
  if (ev->path) fprintf(stderr, " %s", ev->path);
  if (ev->size && (!strcmp(ev->event, "seen") || !strcmp(ev->event, "queued")))
    fprintf(stderr, " (%s)", cli_fmt_bytes(b, sizeof b, ev->size));
  if (ev->message) fprintf(stderr, "%s%s", ev->path ? ": " : " ", ev->message);
  fputc('\n', stderr);
  fflush(stderr);
}

static int agent_status(cli_ctx *ctx, int argc, char **argv);

int cmd_agent(cli_ctx *ctx, int argc, char **argv) {
  if (argc >= 2 && strcmp(argv[1], "status") == 0) return agent_status(ctx, argc - 1, argv + 1);
  struct agent_args a;
  memset(&a, 0, sizeof a);
  int first;
  int rc = cli_parse(ctx, &cmd_agent_spec, argc, argv, &a, &first);
  if (rc != CLI_CONTINUE) return rc;
  const cli_spec *sp = &cmd_agent_spec;
  if (first < argc) {
    rc = cli_usage_error(sp, "unexpected argument '%s' ('status' comes right after 'agent')",
                         argv[first]);
    goto out;
  }
  if (a.watch.n == 0) {
    rc = cli_usage_error(sp, "give at least one '--watch DIR'");
    goto out;
  }
  if (!a.device_name && !a.device_id) {
    rc = cli_usage_error(sp, "give '--device-name' or '--device-id'");
    goto out;
  }
  if (a.device_name && a.device_id) {
    rc = cli_usage_error(sp, "give '--device-name' or '--device-id', not both");
    goto out;
  }
  pl_agent_options o;
  memset(&o, 0, sizeof o);
  if (a.on_error && strcmp(a.on_error, "refuse") != 0 && strcmp(a.on_error, "warn") != 0) {
    rc = cli_usage_error(sp, "'--on-error' must be 'refuse' or 'warn'");
    goto out;
  }
  o.on_error = a.on_error && strcmp(a.on_error, "warn") == 0 ? PL_AGENT_ON_ERROR_WARN
                                                             : PL_AGENT_ON_ERROR_REFUSE;
  /* --compress zstd|lz4: none is not a way to compress */
  if (a.compress && (mcap_compression_parse(a.compress, &o.compress) != MCAP_OK ||
                     o.compress == MCAP_COMPRESSION_NONE)) {
    rc = cli_usage_error(sp, "'--compress' must be 'zstd' or 'lz4'");
    goto out;
  }
  const double secs[] = {a.settle, a.stale_after, a.rescan, a.timeout, a.stop_timeout,
                         a.retry_delay};
  for (size_t i = 0; i < sizeof secs / sizeof secs[0]; i++)
    if (secs[i] < 0) {
      rc = cli_usage_error(sp, "times must be >= 0 seconds");
      goto out;
    }
  if (a.parallel < 0 || a.parallel > 64) {
    rc = cli_usage_error(sp, "'--parallel' must be from 1 to 64");
    goto out;
  }
  if (a.threads < 0 || a.threads > 256) {
    rc = cli_usage_error(sp, "'--threads' must be from 1 to 256");
    goto out;
  }
  rc = cli_topics_resolve(sp, &a.topics);
  if (rc != CLI_CONTINUE) goto out;
  char *key = NULL;
  rc = cli_api_key(ctx, &a.api, &key);
  if (rc != CLI_EXIT_OK) goto out;
  struct log_ctx lc = {ctx, a.json || ctx->json};
  o.watch = a.watch.items;
  o.n_watch = a.watch.n;
  o.state_dir = a.state;
  o.patterns = a.patterns.items;
  o.n_patterns = a.patterns.n;
  o.convert = a.convert;
  o.settle_s = a.settle;
  o.stale_after_s = a.stale_after;
  o.rescan_s = a.rescan;
  o.exclude_topics = a.topics.exclude.items;
  o.n_exclude_topics = a.topics.exclude.n;
  o.threads = a.threads;
  o.api_url = cli_api_url(&a.api);
  o.api_key = key;
  o.device_name = a.device_name;
  o.device_id = a.device_id;
  /* retries and their log as for upload, without the upload's own signal handling */
  cli_api_http_options(ctx, &o.http);
  o.http.cancel = NULL;
  o.max_rate = a.max_rate;
  o.parallel = a.parallel;
  o.wait_timeout_s = a.timeout;
  o.tolerance_s = a.tolerance;
  o.delete_after_verify = a.delete_after_verify;
  o.min_free = a.min_free;
  o.stop_timeout_s = a.stop_timeout;
  o.retry_initial_s = a.retry_delay;
  o.once = a.once;
  o.notify = !a.no_notify;
  o.on_event = on_event;
  o.event_user = &lc;
  pl_agent *ag = NULL;
  if (pl_agent_new(&ag, &o) != PL_AGENT_OK) {
    cli_api_key_free(key);
    cli_error(ctx, "out of memory");
    rc = CLI_EXIT_FAILURE;
    goto out;
  }
  g_agent = ag;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  int arc = pl_agent_run(ag);
  if (arc != PL_AGENT_OK) {
    cli_error(ctx, "%s", pl_agent_errmsg(ag));
    rc = arc == PL_AGENT_EINVAL ? CLI_EXIT_USAGE : CLI_EXIT_FAILURE;
  } else {
    pl_agent_counts c;
    pl_agent_get_counts(ag, &c);
    rc = a.once && (c.failed || c.refused || c.differs || c.lost) ? CLI_EXIT_PROBLEMS
                                                                  : CLI_EXIT_OK;
  }
  signal(SIGINT, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
  g_agent = NULL;
  pl_agent_free(ag);
  cli_api_key_free(key);
out:
  cli_opt_dispose(&cmd_agent_spec, &a);
  return rc;
}

/* ------------------------------------------------------------- status */

static int agent_status(cli_ctx *ctx, int argc, char **argv) {
  struct status_args a;
  memset(&a, 0, sizeof a);
  int first;
  int rc = cli_parse(ctx, &agent_status_spec, argc, argv, &a, &first);
  if (rc != CLI_CONTINUE) return rc;
  if (!a.state && !a.watch) return cli_usage_error(&agent_status_spec, "give '--state DIR'");
  char *dir = a.state ? strdup(a.state) : pl_agent_default_state_dir(a.watch);
  if (!dir) {
    cli_error(ctx, "out of memory");
    return CLI_EXIT_FAILURE;
  }
  pl_agent_snapshot *s = NULL;
  pl_error_info err;
  memset(&err, 0, sizeof err);
  if (pl_agent_snapshot_read(dir, &s, &err) != PL_AGENT_OK) {
    cli_error(ctx, "%s", err.msg);
    free(dir);
    return CLI_EXIT_FAILURE;
  }
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  uint64_t now = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
  int problems = s->counts.failed || s->counts.refused || s->counts.differs;
  if (a.json || ctx->json) {
    json_object *doc = cli_json_document();
    cli_json_add_str(doc, "state_dir", dir);
    cli_json_add_bool(doc, "running", s->running);
    if (s->pid) cli_json_add_int(doc, "pid", s->pid);
    cli_json_add_str(doc, "source", s->from_journal ? "journal" : "live");
    if (s->updated_ns) cli_json_add_time(doc, "updated", s->updated_ns);
    cli_agent_counts_json(doc, &s->counts);
    cli_json_add_u64(doc, "omitted", s->omitted);
    cli_json_add_u64(doc, "skipped_lines", s->skipped_lines);
    json_object *arr = json_object_new_array();
    for (size_t i = 0; i < s->n_entries; i++) cli_agent_entry_json(arr, &s->entries[i]);
    json_object_object_add(doc, "recordings", arr);
    if (cli_json_print(stdout, doc) != 0) rc = CLI_EXIT_FAILURE;
  } else {
    if (s->running)
      printf("agent running (pid %lld), state in %s\n", (long long)s->pid, dir);
    else
      printf("agent not running; state in %s (from its journal)\n", dir);
    cli_table t;
    cli_table_init(&t, 4, "llrl");
    cli_table_add(&t, "STATE");
    cli_table_add(&t, "PATH");
    cli_table_add(&t, "SIZE");
    cli_table_add(&t, "DETAIL");
    for (size_t i = 0; i < s->n_entries; i++) {
      const pl_agent_entry *e = &s->entries[i];
      char sz[CLI_FMT_SIZE], d[700];
      cli_agent_entry_detail(e, now, d, sizeof d);
      cli_table_add(&t, "%s", e->state);
      cli_table_add(&t, "%s", e->path);
      cli_table_add(&t, "%s", cli_fmt_bytes(sz, sizeof sz, e->size));
      cli_table_add(&t, "%s", d);
    }
    if (s->n_entries) cli_table_print(&t, stdout, "");
    cli_table_dispose(&t);
    const pl_agent_counts *c = &s->counts;
    printf("%llu verified (%llu deleted), %llu failed, %llu refused, %llu differ, %llu gone, "
           "%llu pending%s\n",
           (unsigned long long)c->verified, (unsigned long long)c->deleted,
           (unsigned long long)c->failed, (unsigned long long)c->refused,
           (unsigned long long)c->differs, (unsigned long long)c->gone,
           (unsigned long long)c->pending, s->omitted ? " (older finished ones not listed)" : "");
    if (s->skipped_lines)
      printf("%zu journal line%s skipped (a torn last line after a crash is expected)\n",
             s->skipped_lines, s->skipped_lines == 1 ? "" : "s");
  }
  pl_agent_snapshot_free(s);
  free(dir);
  if (rc != CLI_EXIT_OK && rc != CLI_CONTINUE) return rc;
  return problems ? CLI_EXIT_PROBLEMS : CLI_EXIT_OK;
}
