/*
 * site_webhook.h - what the webhook files of the local site share
 * (site_webhook.c: specs, the delivery queue and its workers;
 * site_webhook_http.c: the POST, through libcurl opened with dlopen). Private
 * to pl_site (pl__wh_ prefix); the rest of the server sees only the
 * pl__site_webhook* functions of server_internal.h.
 */
#ifndef PIPELINE_SITE_WEBHOOK_H
#define PIPELINE_SITE_WEBHOOK_H

#include <stddef.h>

#include "pipeline/core.h"
#include "pipeline/site.h"

/* libcurl's soname (ABI 4), as the API client opens it (client/http_curl.h). */
#define PL__WH_CURL_SONAME "libcurl.so.4"

/* The most of a receiver's answer that is read: beyond it the transfer is cut off (the
 * status line is what counts; the start of the body goes to the log). */
#define PL__WH_MAX_RESPONSE (64u << 10)

/* Load libcurl once per process (later calls return the first result; thread-safe).
 * @return PL_OK, or PL_EUNAVAILABLE with a message naming the library. */
int pl__wh_http_load(pl_error_info *err);

/* One reusable connection handle per worker (NULL when out of memory); free accepts NULL. */
void *pl__wh_http_new(void);
void pl__wh_http_free(void *h);

/* The outcome of one POST. */
struct pl__wh_result {
  long status;      /* the HTTP status; 0 when no answer came */
  int timed_out;    /* no complete answer within the timeout */
  long retry_after; /* seconds of the answer's Retry-After (delay-seconds or a date); 0 = none */
  char error[256];  /* what went wrong when status is 0 */
  char body[128];   /* the start of the answer's body for the log, NUL-terminated, every
                       byte outside printable ASCII shown as '?' */
};

/*
 * POST `body` to `url` with the header lines `headers` ("Name: value"), within timeout_ms
 * (connecting included). No redirects are followed; http:// URLs (loopback only) never go
 * through a proxy. `cancel` (may be NULL; read with __atomic_load_n) set to non-zero aborts
 * the transfer soon.
 * @return 0 when an answer's status line came (out->status), -1 otherwise (out->error).
 */
int pl__wh_http_post(void *h, const char *url, int loopback, const char *const *headers,
                     size_t n_headers, const char *body, size_t len, unsigned timeout_ms,
                     const int *cancel, struct pl__wh_result *out);

/* pl__site_webhook_emit (server_internal.h) with the data as JSON text (an object); for
 * tests, which cannot include server_internal.h (C only). -1 when the text is not an object. */
int pl__site_webhook_emit_text(pl_server *s, const char *type, const char *data_json);

#endif
