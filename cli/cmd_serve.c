/*
 * cmd_serve.c - 'mcapkit serve': run the local site (pipeline/site.h), a
 * self-hosted primary site that speaks the Foxglove API over DATA/inbox and
 * DATA/lake. The first line on stdout is exactly
 * "mcapkit serve: listening on http://HOST:PORT" (scripts read it); SIGTERM
 * or SIGINT stops gracefully (in-flight requests and the running import
 * finish). See docs/serve.md.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cmd.h"
#include "output.h"
#include "pipeline/site.h"

struct serve_args {
  const char *data;
  const char *listen;
  const char *keys;
  const char *public_url;
  double rate_limit;
  const char *faults;
  uint64_t fault_seed;
  uint64_t timeout;
  uint64_t max_upload;
  uint64_t max_message_size;
  uint64_t memory_budget;
  uint64_t import_workers;
  int no_fsync;
  int test_hooks;
  cli_strlist webhooks;
  int webhook_ping;
  uint64_t webhook_timeout;
  uint64_t webhook_attempts;
  uint64_t webhook_queue;
  int ui_open;
};

static const cli_opt serve_opts[] = {
    {"data", 0, CLI_OPT_STRING, offsetof(struct serve_args, data), "DIR",
     "the data directory (state, inbox, lake); required"},
    {"listen", 0, CLI_OPT_STRING, offsetof(struct serve_args, listen), "HOST:PORT",
     "address to listen on (default 127.0.0.1:0, port 0 = a free port)"},
    {"keys", 0, CLI_OPT_STRING, offsetof(struct serve_args, keys), "FILE",
     "API keys file (default DATA/keys.json, created on first start)"},
    {"public-url", 0, CLI_OPT_STRING, offsetof(struct serve_args, public_url), "URL",
     "base URL of signed links (default http://HOST:PORT)"},
    {"rate-limit", 0, CLI_OPT_DOUBLE, offsetof(struct serve_args, rate_limit), "N",
     "requests per second per API key; beyond it 429 (default: no limit)"},
    {"faults", 0, CLI_OPT_STRING, offsetof(struct serve_args, faults), "SPEC",
     "inject faults: error=P,reset=P,throttle=P,delay=P:MS,expire=P (P = fraction of requests)"},
    {"fault-seed", 0, CLI_OPT_U64, offsetof(struct serve_args, fault_seed), "N",
     "seed of the fault dice (default: from the clock)"},
    {"timeout", 0, CLI_OPT_U64, offsetof(struct serve_args, timeout), "SECONDS",
     "drop idle or slow connections after this long (default 30)"},
    {"max-upload", 0, CLI_OPT_BYTES, offsetof(struct serve_args, max_upload), "BYTES",
     "largest accepted upload, e.g. 64G (default 1T)"},
    {"max-message-size", 0, CLI_OPT_BYTES, offsetof(struct serve_args, max_message_size), "BYTES",
     "an upload with a larger message fails its import (default 256M)"},
    {"memory-budget", 0, CLI_OPT_BYTES, offsetof(struct serve_args, memory_budget), "BYTES",
     "memory export fetches and imports reserve together; beyond it 503 (default 1G)"},
    {"import-workers", 0, CLI_OPT_U64, offsetof(struct serve_args, import_workers), "N",
     "imports that run at once, started in order of arrival (default 2, at most 64)"},
    {"no-fsync", 0, CLI_OPT_FLAG, offsetof(struct serve_args, no_fsync), NULL,
     "do not fsync state files (faster, for tests; writes stay atomic)"},
    {"test-hooks", 0, CLI_OPT_FLAG, offsetof(struct serve_args, test_hooks), NULL,
     "enable the /v1/_test endpoints (signed-link counters, bulk recordings): tests only"},
    {"webhook", 0, CLI_OPT_LIST, offsetof(struct serve_args, webhooks), "URL[,EVENT...]",
     "POST events to URL (https://, or http:// to loopback; repeatable); EVENTs among "
     "recording.created, recording.imported, device.created, event.created (default all); "
     "signed with the keys file's \"webhookSecret\", unsigned without one"},
    {"webhook-ping", 0, CLI_OPT_FLAG, offsetof(struct serve_args, webhook_ping), NULL,
     "send a ping to every webhook at start"},
    {"webhook-timeout", 0, CLI_OPT_U64, offsetof(struct serve_args, webhook_timeout), "SECONDS",
     "one delivery attempt, connecting included (default 10)"},
    {"webhook-attempts", 0, CLI_OPT_U64, offsetof(struct serve_args, webhook_attempts), "N",
     "attempts before a delivery is given up (default 20; backoff 1 s doubling, at most 5 min)"},
    {"webhook-queue", 0, CLI_OPT_U64, offsetof(struct serve_args, webhook_queue), "N",
     "deliveries queued per webhook; beyond it the oldest is dropped (default 10000)"},
    {"ui-open", 0, CLI_OPT_FLAG, offsetof(struct serve_args, ui_open), NULL,
     "serve the browser pages at / without a key (only with a loopback --listen)"},
    {NULL, 0, CLI_OPT_FLAG, 0, NULL, NULL},
};

const cli_spec cmd_serve_spec = {
    "serve",
    "--data DIR [--listen 127.0.0.1:PORT] [--keys KEYS.json] [--public-url URL] [options]",
    "Serves the Foxglove API v1 endpoints for devices, uploads, pending imports, recordings,\n"
    "attachments, topics, coverage, lake files and data export from one data directory.\n"
    "Uploads are imported in the background (index, lake files). The first line printed is\n"
    "'mcapkit serve: listening on http://HOST:PORT'. SIGTERM or SIGINT stops after in-flight\n"
    "requests and the running imports have finished. A browser at http://HOST:PORT/ gets\n"
    "pages of the recordings, devices and pending imports after logging in with an API key\n"
    "(or without one with --ui-open, on loopback only).",
    serve_opts,
    0,
    0,
    CLI_ARGS_NONE,
    NULL,
};

/* The server's log: warnings always, the rest with -v. */
static void log_line(void *user, const char *line) {
  const cli_ctx *ctx = user;
  if (ctx->verbose || strncmp(line, "warning: ", 9) == 0)
    fprintf(stderr, "mcapkit serve: %s\n", line);
}

/* "HOST:PORT", "HOST" or ":PORT". 0 or -1. */
static int parse_listen(const char *s, char *host, size_t host_len, uint16_t *port) {
  const char *colon = strrchr(s, ':');
  size_t hlen = colon ? (size_t)(colon - s) : strlen(s);
  if (hlen >= host_len) return -1;
  if (hlen) {
    memcpy(host, s, hlen);
    host[hlen] = 0;
  } else {
    snprintf(host, host_len, "127.0.0.1");
  }
  *port = 0;
  if (colon) {
    uint64_t v;
    if (cli_parse_u64(colon + 1, &v) != 0 || v > 65535) return -1;
    *port = (uint16_t)v;
  }
  return 0;
}

static int serve(cli_ctx *ctx, struct serve_args *args);

int cmd_serve(cli_ctx *ctx, int argc, char **argv) {
  struct serve_args a;
  memset(&a, 0, sizeof a);
  int first;
  int rc = cli_parse(ctx, &cmd_serve_spec, argc, argv, &a, &first);
  if (rc == CLI_CONTINUE) rc = serve(ctx, &a);
  cli_opt_dispose(&cmd_serve_spec, &a); /* the --webhook list */
  return rc;
}

static int serve(cli_ctx *ctx, struct serve_args *args) {
  struct serve_args a = *args;
  if (!a.data) return cli_usage_error(&cmd_serve_spec, "missing '--data DIR'");
  if (a.rate_limit < 0) return cli_usage_error(&cmd_serve_spec, "'--rate-limit' must be >= 0");
  if (a.timeout > 86400) return cli_usage_error(&cmd_serve_spec, "'--timeout' is at most 86400");
  if (a.import_workers > 64)
    return cli_usage_error(&cmd_serve_spec, "'--import-workers' is at most 64");
  if (a.webhook_timeout > 600)
    return cli_usage_error(&cmd_serve_spec, "'--webhook-timeout' is at most 600");
  if (a.webhook_attempts > 1000 || a.webhook_queue > 1000000)
    return cli_usage_error(&cmd_serve_spec,
                           "'--webhook-attempts' is at most 1000, '--webhook-queue' 1000000");
  for (size_t i = 0; i < a.webhooks.n; i++) {
    char msg[300];
    if (pl_server_check_webhook(a.webhooks.items[i], msg, sizeof msg) != PL_OK)
      return cli_usage_error(&cmd_serve_spec, "invalid '--webhook': %s", msg);
  }
  char host[64];
  uint16_t port = 0;
  if (parse_listen(a.listen ? a.listen : "127.0.0.1:0", host, sizeof host, &port) != 0)
    return cli_usage_error(&cmd_serve_spec, "invalid '--listen %s' (expected HOST:PORT)",
                           a.listen);

  if (a.ui_open && strncmp(host, "127.", 4) != 0)
    return cli_usage_error(&cmd_serve_spec,
                           "'--ui-open' serves the pages without a key: it needs a loopback "
                           "'--listen' (127.0.0.1), not '%s'",
                           host);

  /* Signals are taken synchronously by this thread; every thread the server
   * starts inherits the blocked mask. A closed socket must not kill us. */
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  signal(SIGPIPE, SIG_IGN);
  /* everything the site writes (state, uploads, lake files) is its owner's alone */
  umask(077);

  pl_server_options o;
  memset(&o, 0, sizeof o);
  o.data_dir = a.data;
  o.listen_host = host;
  o.port = port;
  o.keys_path = a.keys;
  o.public_url = a.public_url;
  o.rate_limit = a.rate_limit;
  o.faults = a.faults;
  o.fault_seed = a.fault_seed;
  o.connection_timeout_s = (unsigned)a.timeout;
  o.max_upload = a.max_upload;
  o.max_message_size = a.max_message_size;
  o.memory_budget = a.memory_budget;
  o.import_workers = (int)a.import_workers;
  o.no_fsync = a.no_fsync;
  o.test_hooks = a.test_hooks;
  o.webhooks = a.webhooks.items;
  o.n_webhooks = a.webhooks.n;
  o.webhook_ping = a.webhook_ping;
  o.webhook_timeout_ms = (unsigned)(a.webhook_timeout * 1000);
  o.webhook_max_attempts = (unsigned)a.webhook_attempts;
  o.webhook_queue_max = (unsigned)a.webhook_queue;
  o.ui_open = a.ui_open;
  o.log = log_line;
  o.log_user = ctx;
  pl_server *srv = NULL;
  pl_error_info err;
  if (pl_server_create(&srv, &o, &err) != PL_OK) {
    cli_error(ctx, "%s", err.msg[0] ? err.msg : pl_strerror(err.code));
    return CLI_EXIT_FAILURE;
  }
  uint16_t bound = 0;
  if (pl_server_start(srv, &bound, &err) != PL_OK) {
    cli_error(ctx, "%s", err.msg[0] ? err.msg : pl_strerror(err.code));
    pl_server_free(srv);
    return CLI_EXIT_FAILURE;
  }
  printf("mcapkit serve: listening on %s\n", pl_server_url(srv));
  const char *created = pl_server_created_key(srv);
  if (created)
    printf("mcapkit serve: created an API key with every capability (saved in %s/keys.json): %s\n",
           a.data, created);
  fflush(stdout);

  int sig = 0;
  while (sigwait(&set, &sig) != 0) {
  }
  cli_verbose(ctx, "signal %d: stopping after in-flight requests and imports", sig);
  pl_server_stop(srv);
  pl_server_free(srv);
  printf("mcapkit serve: stopped\n");
  return CLI_EXIT_OK;
}
