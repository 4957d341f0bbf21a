/*
 * site_webhook_http.c - the webhook POST of the local site, through libcurl
 * opened with dlopen on first use (core/dlib.c), like the API client's
 * (client/http_curl.c) and for the same reason: commands that send nothing
 * start without mapping libcurl and its TLS dependencies. pl_site does not
 * link pl_client (whose pl_http speaks the API with its key and retry rules),
 * so it keeps its own small table of the nine functions it calls.
 */
#include <curl/curl.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "pipeline/core.h"
#include "site_webhook.h"

struct wh_curl_api {
  __typeof__(curl_global_init) *global_init;
  __typeof__(curl_easy_init) *easy_init;
  __typeof__(curl_easy_cleanup) *easy_cleanup;
  __typeof__(curl_easy_reset) *easy_reset;
  __typeof__(curl_easy_perform) *easy_perform;
  __typeof__(curl_easy_strerror) *easy_strerror;
  CURLcode (*easy_setopt)(CURL *curl, CURLoption option, ...);
  CURLcode (*easy_getinfo)(CURL *curl, CURLINFO info, ...);
  __typeof__(curl_slist_append) *slist_append;
  __typeof__(curl_slist_free_all) *slist_free_all;
};
static struct wh_curl_api cu; /* written once (pthread_once), then only read */

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static int load_failed;
static char load_msg[200];

static void load(void) {
  static const struct pl_dl_fn fns[] = {
#define F(sym, field) {#sym, offsetof(struct wh_curl_api, field)}
      F(curl_global_init, global_init),   F(curl_easy_init, easy_init),
      F(curl_easy_cleanup, easy_cleanup), F(curl_easy_reset, easy_reset),
      F(curl_easy_perform, easy_perform), F(curl_easy_strerror, easy_strerror),
      F(curl_easy_setopt, easy_setopt),   F(curl_easy_getinfo, easy_getinfo),
      F(curl_slist_append, slist_append), F(curl_slist_free_all, slist_free_all),
#undef F
  };
  if (pl_dl_open_table(PL__WH_CURL_SONAME, fns, sizeof fns / sizeof fns[0], &cu, sizeof cu,
                       " (libcurl 7.62 or later is needed)", load_msg, sizeof load_msg) != 0) {
    load_failed = 1;
    return;
  }
  /* libcurl counts global inits (and makes them thread-safe since 7.84): this one is
   * never undone, as the library stays mapped for the life of the process */
  if (cu.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
    snprintf(load_msg, sizeof load_msg, "curl_global_init failed");
    load_failed = 1;
  }
}

int pl__wh_http_load(pl_error_info *err) {
  pthread_once(&load_once, load);
  if (!load_failed) return PL_OK;
  return pl_error_set(err, PL_EUNAVAILABLE, UINT64_MAX,
                      "webhooks need libcurl, which cannot be loaded (%s); install it (Debian: apt "
                      "install libcurl4)",
                      load_msg);
}

void *pl__wh_http_new(void) {
  if (pl__wh_http_load(NULL) != PL_OK) return NULL;
  return cu.easy_init();
}

void pl__wh_http_free(void *h) {
  if (h) cu.easy_cleanup(h);
}

struct sink {
  struct pl__wh_result *out;
  size_t got;
};

/* Keeps the start of the answer for the log, counts the rest, cuts off beyond the cap. */
static size_t on_body(char *p, size_t size, size_t n, void *user) {
  struct sink *k = user;
  size_t len = size * n;
  size_t room = sizeof k->out->body - 1;
  if (k->got < room) {
    size_t take = len < room - k->got ? len : room - k->got;
    /* it goes to the log: the receiver's control bytes do not */
    for (size_t i = 0; i < take; i++) {
      unsigned char c = (unsigned char)p[i];
      k->out->body[k->got + i] = c < 0x20 || c >= 0x7f ? '?' : (char)c;
    }
    k->out->body[k->got + take] = 0;
  }
  k->got += len;
  return k->got > PL__WH_MAX_RESPONSE ? 0 : len;
}

static int on_progress(void *user, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow) {
  (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
  const int *cancel = user;
  return cancel && __atomic_load_n(cancel, __ATOMIC_RELAXED) ? 1 : 0;
}

int pl__wh_http_post(void *h, const char *url, int loopback, const char *const *headers,
                     size_t n_headers, const char *body, size_t len, unsigned timeout_ms,
                     const int *cancel, struct pl__wh_result *out) {
  memset(out, 0, sizeof *out);
  CURL *c = h;
  if (!c) {
    snprintf(out->error, sizeof out->error, "no HTTP handle (libcurl unavailable or no memory)");
    return -1;
  }
  cu.easy_reset(c);
  struct curl_slist *hl = NULL;
  for (size_t i = 0; i < n_headers; i++) {
    struct curl_slist *n = cu.slist_append(hl, headers[i]);
    if (!n) {
      cu.slist_free_all(hl);
      snprintf(out->error, sizeof out->error, "out of memory");
      return -1;
    }
    hl = n;
  }
  struct sink k = {out, 0};
  char errbuf[CURL_ERROR_SIZE];
  errbuf[0] = 0;
  cu.easy_setopt(c, CURLOPT_URL, url);
  cu.easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  cu.easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  cu.easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  cu.easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  cu.easy_setopt(c, CURLOPT_POST, 1L);
  cu.easy_setopt(c, CURLOPT_POSTFIELDS, body);
  cu.easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
  cu.easy_setopt(c, CURLOPT_HTTPHEADER, hl);
  cu.easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
  cu.easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms);
  cu.easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  cu.easy_setopt(c, CURLOPT_WRITEDATA, &k);
  cu.easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  cu.easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
  cu.easy_setopt(c, CURLOPT_XFERINFODATA, (void *)cancel);
  if (loopback) cu.easy_setopt(c, CURLOPT_NOPROXY, "*");
  CURLcode rc = cu.easy_perform(c);
  cu.slist_free_all(hl);
  long status = 0;
  cu.easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  if (rc == CURLE_OK || (rc == CURLE_WRITE_ERROR && status > 0)) {
    /* a body beyond the cap was cut off: its status line still counts */
    out->status = status;
    curl_off_t ra = 0;
    if (cu.easy_getinfo(c, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK && ra > 0)
      out->retry_after = ra > 86400 ? 86400 : (long)ra;
    return 0;
  }
  out->timed_out = rc == CURLE_OPERATION_TIMEDOUT;
  snprintf(out->error, sizeof out->error, "%s", errbuf[0] ? errbuf : cu.easy_strerror(rc));
  size_t n = strlen(out->error);
  while (n && (out->error[n - 1] == '\n' || out->error[n - 1] == '\r')) out->error[--n] = 0;
  return -1;
}
