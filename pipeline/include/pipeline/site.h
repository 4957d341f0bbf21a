/*
 * site.h - pl_site, the local site server behind 'mcapkit serve' (prefix pl_server_):
 * a self-hosted primary site in one process that speaks the Foxglove API v1
 * over HTTP (libmicrohttpd), keeps its state under one data directory and
 * imports uploads in the background with the pipeline (index, lake files).
 *
 * Life cycle: pl_server_create() loads or initialises the data directory,
 * pl_server_start() binds and starts serving (and resumes imports that were
 * in flight when the previous process stopped), pl_server_stop() stops
 * accepting, finishes in-flight requests and the imports being processed, and
 * pl_server_free() releases everything. See docs/serve.md for the endpoints,
 * the capabilities they need, the storage layout and the strict choices.
 *
 * A server is one object used from one controlling thread; its requests and
 * imports run on threads of its own.
 */
#ifndef PIPELINE_SITE_H
#define PIPELINE_SITE_H

#include <stddef.h>
#include <stdint.h>

#include "pipeline/import.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pl_server pl_server;

/** Options; all-zero (besides data_dir) means the defaults. */
typedef struct pl_server_options {
  const char *data_dir;      /* required; created if missing */
  const char *listen_host;   /* IPv4 address to bind; NULL = "127.0.0.1" */
  uint16_t port;             /* 0 = a free port (read it back from pl_server_start) */
  const char *keys_path;     /* KEYS.json; NULL = DATA/keys.json, created on first start */
  const char *public_url;    /* base of signed links; NULL = http://HOST:PORT */
  double rate_limit;         /* requests per second per API key; 0 = no limit */
  const char *faults;        /* "error=P,reset=P,throttle=P,delay=P:MS,expire=P"; NULL = none */
  uint64_t fault_seed;       /* seed of the fault dice (0 = from the clock) */
  unsigned connection_timeout_s; /* idle keep-alive connections and the grace of a request
                                    body; 0 = 30 s */
  unsigned header_timeout_s; /* a request header must be complete this long after the
                                connection (or the previous response); 0 = 10 s */
  unsigned body_idle_timeout_s; /* a request body that sends nothing this long is cut off;
                                   0 = connection_timeout_s */
  uint64_t min_body_rate;    /* bytes/s a request body must average once the grace is over;
                                0 = 64 KiB/s */
  unsigned max_connections;  /* all connections; 0 = 256 */
  unsigned max_connections_per_ip; /* connections of one client address; 0 = 64 */
  uint64_t max_json_body;    /* 0 = 1 MiB */
  uint64_t max_upload;       /* largest accepted upload in bytes; 0 = 1 TiB */
  uint64_t max_message_size; /* an upload with a larger message (or a chunk larger than this
                                plus 64 MiB uncompressed) fails its import; 0 = 256 MiB */
  uint64_t memory_budget;    /* bytes that export fetches and imports may reserve together
                                (docs/serve.md, "Memory budget"); 0 = 1 GiB */
  unsigned budget_wait_ms;   /* an export fetch waits this long for its share of the budget,
                                then gets 503 with Retry-After; 0 = 2000 ms */
  int no_fsync;              /* skip fsync of state files (tests; rename stays atomic) */
  int import_threads;        /* compression threads for lake files; 0 = cores */
  int import_workers;        /* imports run at once (started in order of arrival); 0 = 2 */
  int hold_imports;          /* test hook: uploads are received but not imported until
                                pl_server_release_imports() */
  /* Test hook: called by an import worker as it takes an upload, before reading it
   * (with the upload's file name); a test blocks in it to stand for a slow import. */
  void (*import_hook)(void *user, const char *filename);
  void *import_hook_user;
  int test_hooks;            /* test hook: serve the /v1/_test/... endpoints (counters of
                                signed-link requests, bulk synthetic recordings); off by
                                default and only settable here, never by a request */
  /* Webhooks (docs/serve.md, "Webhooks"): n_webhooks specs "URL[,event,...]" (no event
   * list = every event type), each checked as pl_server_check_webhook does. The secret that
   * signs the deliveries is the keys file's "webhookSecret" (none: unsigned). */
  const char *const *webhooks;
  size_t n_webhooks;
  int webhook_ping;               /* queue a ping to every webhook at start */
  unsigned webhook_timeout_ms;    /* one delivery attempt, connecting included; 0 = 10000 */
  unsigned webhook_backoff_ms;    /* wait before the first retry, doubled each time;
                                     0 = 1000 */
  unsigned webhook_backoff_max_ms; /* the longest wait between two attempts; 0 = 300000 */
  unsigned webhook_max_attempts;  /* attempts before a delivery is given up; 0 = 20 */
  unsigned webhook_queue_max;     /* deliveries queued per webhook; beyond it the oldest is
                                     dropped (logged); 0 = 10000 */
  /* Browser pages at / (docs/serve.md, "Browser pages"): a login form takes an API key
   * once and sets a session cookie. */
  int ui_open;               /* serve the pages without a key; refused (PL_EINVAL) unless
                                listen_host is a loopback address (127.0.0.0/8) */
  unsigned ui_session_s;     /* lifetime of a browser session from its login; 0 = 8 h */
  unsigned ui_max_sessions;  /* sessions kept at once; 0 = 1000 (then the least recently
                                used one is dropped) */
  /* Optional log sink: one line per call, no trailing newline. */
  void (*log)(void *user, const char *line);
  void *log_user;
} pl_server_options;

/**
 * Open (and initialise if needed) the data directory and load its state.
 * When no keys file exists at DATA/keys.json and none was given, one is
 * created (mode 0600) with a single all-capabilities key, readable once
 * through pl_server_created_key().
 */
int pl_server_create(pl_server **out, const pl_server_options *o, pl_error_info *err);

/** Bind and start serving; *port gets the bound port. Imports resume here. */
int pl_server_start(pl_server *s, uint16_t *port, pl_error_info *err);

/** The base URL clients use ("http://127.0.0.1:PORT"); valid after start. */
const char *pl_server_url(const pl_server *s);

/** The API key created by pl_server_create on a first start, else NULL. */
const char *pl_server_created_key(const pl_server *s);

/**
 * Stop gracefully: no new connections, wait for in-flight requests (at most
 * the connection timeout), finish the imports being processed (queued ones
 * stay in the inbox and resume on the next start). Safe to call twice.
 */
void pl_server_stop(pl_server *s);

/** Release the server (stops it first if needed). Accepts NULL. */
void pl_server_free(pl_server *s);

/**
 * Wait until no import is queued or running, or `timeout_s` passes.
 * @return 1 when idle, 0 on timeout.
 */
int pl_server_wait_imports(pl_server *s, double timeout_s);

/** Counters of requests to signed links (/signed/upload|stream|attachment/...) and of the
 * memory budget. */
typedef struct pl_server_stats {
  uint64_t signed_requests;          /* every request whose path starts with /signed/ */
  uint64_t signed_requests_with_key; /* those that carried an Authorization header, or a
                                        configured API key token in any header value, the
                                        path or the query */
  uint64_t budget_total;   /* the memory budget (bytes) */
  uint64_t budget_used;    /* reserved now by export fetches and imports */
  uint64_t budget_peak;    /* the most reserved at once since the start */
  uint64_t budget_refused; /* export fetches answered 503 for want of budget */
} pl_server_stats;

/** Read the counters (any time, from any thread). */
void pl_server_get_stats(const pl_server *s, pl_server_stats *out);

/**
 * Check one webhook spec "URL[,event,...]" as pl_server_create does: the URL is https://
 * (any host) or http:// to a loopback host (127.0.0.0/8, localhost, [::1]), with no user
 * name or password; the events are among recording.created, recording.imported,
 * device.created and event.created. @return PL_OK, or PL_EINVAL with msg saying why.
 */
int pl_server_check_webhook(const char *spec, char *msg, size_t cap);

/** Counters of the webhook deliveries since the start (all webhooks together). */
typedef struct pl_server_webhook_stats {
  uint64_t queued;    /* waiting now (on disk), the one being sent included */
  uint64_t delivered; /* acknowledged with a 2xx and removed */
  uint64_t attempts;  /* requests sent (or tried), retries included */
  uint64_t dropped;   /* given up: a 4xx answer, too many attempts, or the queue full */
} pl_server_webhook_stats;

/** Read the webhook counters (any time, from any thread). */
void pl_server_get_webhook_stats(pl_server *s, pl_server_webhook_stats *out);

/** Test hook: let imports held by `hold_imports` run. */
void pl_server_release_imports(pl_server *s);

/**
 * Test hook simulating a crash: stop serving and abandon the import worker
 * without finishing or recording anything more (state files stay as they are
 * on disk). The server can only be freed afterwards.
 */
void pl_server_crash(pl_server *s);

#ifdef __cplusplus
}
#endif

#endif /* PIPELINE_SITE_H */
