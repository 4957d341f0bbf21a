/*
 * http.c - the pl_http handle: the only file that calls libcurl (which
 * http_curl.c loads on first use, so that the binary does not link it).
 *
 * One handle wraps one libcurl easy handle that is reset and reused for
 * every request, so connections are kept alive between requests. Every
 * request sets CURLOPT_ERRORBUFFER, CURLOPT_NOSIGNAL, a connect timeout and
 * either a total timeout (API calls) or a stall timeout (file transfers,
 * whose length is unbounded). Response bodies go into a buffer capped at
 * max_body, or straight into a file descriptor (downloads); request bodies
 * come from memory (JSON) or are read from a file descriptor (uploads), so a
 * transfer's memory does not depend on its size.
 *
 * Retries: connection errors, 408, 429 and 5xx (but 501/505) are retried for
 * GET/HEAD/PUT/DELETE and for POSTs the caller marks safe, with exponential
 * backoff and "equal jitter" (half the delay fixed, half random) and never
 * sooner than the server's Retry-After (seconds or an HTTP date); a
 * Retry-After beyond retry_after_max_s ends the retries with a clear error.
 *
 * The API key: libcurl follows no redirect itself (CURLOPT_FOLLOWLOCATION is
 * off); we follow them here and attach the Authorization header only when
 * the target has the API's scheme, host and port and a path under the API's
 * "/v1". Links handed out by the API (upload, export, attachment download)
 * are fetched by functions that never attach it at all. Messages name API
 * requests by method and path, and links without their query (signatures).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "client_internal.h"
#include "http_curl.h" /* <curl/curl.h>, the functions loaded on first use */
#include "pipeline/core.h"

#define DEFAULT_CONNECT_S 10.0
#define DEFAULT_TIMEOUT_S 120.0
#define DEFAULT_STALL_S 60.0
#define DEFAULT_ATTEMPTS 8
#define DEFAULT_BACKOFF_S 0.5
#define DEFAULT_BACKOFF_MAX_S 30.0
#define DEFAULT_RETRY_AFTER_MAX_S 300.0
#define DEFAULT_MAX_BODY (UINT64_C(64) << 20)
#define ERROR_BODY_MAX (UINT64_C(64) << 10) /* error bodies of downloads */
#define MAX_REDIRECTS 5

struct pl_http {
  CURL *curl;
  char *api_url;    /* normalised, no trailing '/' */
  char *api_scheme; /* lower case */
  char *api_host;   /* lower case */
  char *api_port;
  char *api_path; /* base path without trailing '/', "" for none */
  char *auth;     /* "Authorization: Bearer <key>" or NULL; wiped on free */
  pl_http_options o;
  char user_agent[64];
  char errbuf[CURL_ERROR_SIZE];
  uint64_t rng;
  pl_http_stats stats;
};

/* ------------------------------------------------------------ small helpers */

double pl__now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int pl__http_cancelled(const pl_http *h) {
  return h && h->o.cancel && *h->o.cancel;
}

void pl__http_log(pl_http *h, const char *fmt, ...) {
  if (!h || !h->o.log) return;
  char line[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  h->o.log(h->o.log_user, line);
}

int pl__http_sleep(pl_http *h, double seconds) {
  double until = pl__now_s() + seconds;
  for (;;) {
    if (pl__http_cancelled(h)) return PL_ECANCELED;
    double left = until - pl__now_s();
    if (left <= 0) return PL_OK;
    if (left > 0.05) left = 0.05; /* wake often enough to notice a cancel */
    struct timespec ts = {(time_t)left, (long)((left - (double)(time_t)left) * 1e9)};
    nanosleep(&ts, NULL);
  }
}

void pl__url_for_message(const char *url, char *out, size_t n) {
  if (!n) return;
  size_t len = strcspn(url ? url : "", "?#");
  if (len >= n) len = n - 1;
  memcpy(out, url ? url : "", len);
  out[len] = 0;
}

static int unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

char *pl__url_escape(const char *s) {
  static const char hex[] = "0123456789ABCDEF";
  size_t n = strlen(s);
  char *out = malloc(3 * n + 1);
  if (!out) return NULL;
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (unreserved(c)) {
      out[k++] = (char)c;
    } else {
      out[k++] = '%';
      out[k++] = hex[c >> 4];
      out[k++] = hex[c & 15];
    }
  }
  out[k] = 0;
  return out;
}

char *pl__build_path(const char *path, const pl_param *params, size_t n, int paging, size_t limit,
                     size_t offset) {
  struct pl_buf b = {0};
  int ok = pl_buf_append(&b, path, strlen(path)) == 0;
  char sep = strchr(path, '?') ? '&' : '?';
  for (size_t i = 0; ok && i < n; i++) {
    if (!params[i].name || !params[i].value) continue;
    char *k = pl__url_escape(params[i].name), *v = pl__url_escape(params[i].value);
    ok = k && v && pl_buf_append(&b, &sep, 1) == 0 && pl_buf_append(&b, k, strlen(k)) == 0 &&
         pl_buf_append(&b, "=", 1) == 0 && pl_buf_append(&b, v, strlen(v)) == 0;
    sep = '&';
    free(k);
    free(v);
  }
  if (ok && paging) {
    char tmp[64];
    int len = limit ? snprintf(tmp, sizeof tmp, "%climit=%zu&offset=%zu", sep, limit, offset)
                    : snprintf(tmp, sizeof tmp, "%coffset=%zu", sep, offset);
    ok = len > 0 && pl_buf_append(&b, tmp, (size_t)len) == 0;
  }
  if (ok) ok = pl_buf_append(&b, "", 1) == 0;
  if (!ok) {
    pl_buf_dispose(&b);
    return NULL;
  }
  return (char *)b.data;
}

static char *lower_dup(const char *s) {
  char *d = pl_strdup(s);
  for (char *p = d; p && *p; p++)
    if (*p >= 'A' && *p <= 'Z') *p = (char)(*p - 'A' + 'a');
  return d;
}

/* Split an absolute URL into lower-case scheme and host, the port (the
 * scheme's default when absent) and the path. 0 or -1. */
static int url_parts(const char *url, char **scheme, char **host, char **port, char **path) {
  *scheme = *host = *port = *path = NULL;
  CURLU *u = curl_url();
  if (!u) return -1;
  int rc = -1;
  char *s = NULL, *hst = NULL, *prt = NULL, *pth = NULL;
  if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_SCHEME, &s, 0) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_HOST, &hst, 0) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_PORT, &prt, CURLU_DEFAULT_PORT) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_PATH, &pth, 0) == CURLUE_OK) {
    *scheme = lower_dup(s);
    *host = lower_dup(hst);
    *port = pl_strdup(prt);
    *path = pl_strdup(pth);
    rc = *scheme && *host && *port && *path ? 0 : -1;
  }
  curl_free(s);
  curl_free(hst);
  curl_free(prt);
  curl_free(pth);
  curl_url_cleanup(u);
  if (rc != 0) {
    free(*scheme);
    free(*host);
    free(*port);
    free(*path);
    *scheme = *host = *port = *path = NULL;
  }
  return rc;
}

/* Whether `url` is the API itself: same scheme, host and port, and a path
 * under "<base>/v1" (signed links on the same host are not). */
static int is_api_url(const pl_http *h, const char *url) {
  char *s, *hst, *prt, *pth;
  if (url_parts(url, &s, &hst, &prt, &pth) != 0) return 0;
  int same = strcmp(s, h->api_scheme) == 0 && strcmp(hst, h->api_host) == 0 &&
             strcmp(prt, h->api_port) == 0;
  if (same) {
    size_t bl = strlen(h->api_path);
    same = strncmp(pth, h->api_path, bl) == 0 &&
           (strcmp(pth + bl, "/v1") == 0 || strncmp(pth + bl, "/v1/", 4) == 0) &&
           !strstr(pth, "/../") && !strstr(pth, "/./");
  }
  free(s);
  free(hst);
  free(prt);
  free(pth);
  return same;
}

/* ------------------------------------------------------------ handle */

int pl_http_global_init(pl_error_info *err) {
  int rc = pl__curl_load(err);
  if (rc) return rc;
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
    return pl_error_set(err, PL_ENET, UINT64_MAX, "cannot initialise libcurl");
  return PL_OK;
}

void pl_http_global_cleanup(void) {
  if (pl__curl_load(NULL) == PL_OK) curl_global_cleanup();
}

int pl_http_new(pl_http **out, const char *api_url, const char *api_key, const pl_http_options *o,
                pl_error_info *err) {
  *out = NULL;
  if (!api_url || !*api_url) return pl_error_set(err, PL_EINVAL, UINT64_MAX, "no API URL given");
  int lrc = pl__curl_load(err);
  if (lrc) return lrc;
  if (strncasecmp(api_url, "http://", 7) != 0 && strncasecmp(api_url, "https://", 8) != 0)
    return pl_error_set(err, PL_EINVAL, UINT64_MAX,
                        "invalid API URL '%s': expected http:// or https://", api_url);
  if (api_key && strpbrk(api_key, "\r\n"))
    return pl_error_set(err, PL_EINVAL, UINT64_MAX, "the API key contains a line break");
  pl_http *h = calloc(1, sizeof *h);
  if (!h) return pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
  if (o) h->o = *o;
  if (h->o.connect_timeout_s <= 0) h->o.connect_timeout_s = DEFAULT_CONNECT_S;
  if (h->o.timeout_s <= 0) h->o.timeout_s = DEFAULT_TIMEOUT_S;
  if (h->o.stall_timeout_s <= 0) h->o.stall_timeout_s = DEFAULT_STALL_S;
  if (h->o.max_attempts <= 0) h->o.max_attempts = DEFAULT_ATTEMPTS;
  if (h->o.backoff_initial_s <= 0) h->o.backoff_initial_s = DEFAULT_BACKOFF_S;
  if (h->o.backoff_max_s <= 0) h->o.backoff_max_s = DEFAULT_BACKOFF_MAX_S;
  if (h->o.retry_after_max_s <= 0) h->o.retry_after_max_s = DEFAULT_RETRY_AFTER_MAX_S;
  if (!h->o.max_body) h->o.max_body = DEFAULT_MAX_BODY;
  if (h->o.user_agent)
    snprintf(h->user_agent, sizeof h->user_agent, "%s", h->o.user_agent);
  else
    snprintf(h->user_agent, sizeof h->user_agent, "mcapkit/%s", mcap_version_string());
  h->o.user_agent = NULL;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  h->rng = h->o.jitter_seed ? h->o.jitter_seed
                            : ((uint64_t)ts.tv_nsec * 2654435761u) ^ (uint64_t)ts.tv_sec ^
                                  (uint64_t)(uintptr_t)h;
  if (!h->rng) h->rng = 0x9e3779b97f4a7c15u;
  h->api_url = pl_strdup(api_url);
  h->curl = curl_easy_init();
  if (!h->api_url || !h->curl) {
    pl_http_free(h);
    return pl_error_set(err, PL_ENOMEM, UINT64_MAX, "cannot create an HTTP handle");
  }
  size_t n = strlen(h->api_url);
  while (n > 0 && h->api_url[n - 1] == '/') h->api_url[--n] = 0;
  char *pth = NULL;
  if (url_parts(h->api_url, &h->api_scheme, &h->api_host, &h->api_port, &pth) != 0) {
    pl_http_free(h);
    return pl_error_set(err, PL_EINVAL, UINT64_MAX, "invalid API URL '%s'", api_url);
  }
  if (strchr(h->api_url + strcspn(h->api_url, ":") + 3, '?') || strchr(h->api_url, '#')) {
    free(pth);
    pl_http_free(h);
    return pl_error_set(err, PL_EINVAL, UINT64_MAX,
                        "invalid API URL '%s': no query or fragment allowed", api_url);
  }
  size_t pl = strlen(pth);
  while (pl > 0 && pth[pl - 1] == '/') pth[--pl] = 0;
  h->api_path = pth;
  if (api_key && *api_key) {
    size_t len = strlen("Authorization: Bearer ") + strlen(api_key) + 1;
    h->auth = malloc(len);
    if (!h->auth) {
      pl_http_free(h);
      return pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
    }
    snprintf(h->auth, len, "Authorization: Bearer %s", api_key);
  }
  *out = h;
  return PL_OK;
}

void pl_http_free(pl_http *h) {
  if (!h) return;
  if (h->curl) curl_easy_cleanup(h->curl);
  if (h->auth) {
    volatile char *p = h->auth;
    while (*p) *p++ = 0;
    free(h->auth);
  }
  free(h->api_url);
  free(h->api_scheme);
  free(h->api_host);
  free(h->api_port);
  free(h->api_path);
  free(h);
}

const char *pl_http_api_url(const pl_http *h) {
  return h->api_url;
}

void pl_http_get_stats(const pl_http *h, pl_http_stats *out) {
  *out = h->stats;
}

void pl_http_response_dispose(pl_http_response *r) {
  if (!r) return;
  free(r->body);
  free(r->location);
  free(r->content_type);
  memset(r, 0, sizeof *r);
}

/* ------------------------------------------------------------ one exchange */

/* Everything one attempt needs and produces. */
struct xfer {
  pl_http *h;
  /* response body in memory (API calls, and error bodies of downloads) */
  char *buf;
  size_t len, cap;
  uint64_t max;
  int too_big;
  /* response body into a file (downloads, 2xx only) */
  int out_fd;
  uint64_t written;
  int write_errno;
  /* request body from a file (uploads) */
  int in_fd;
  uint64_t in_size;
  int read_errno;
  /* response headers of the final response */
  double retry_after; /* seconds, < 0 when absent */
  char *content_type;
  long hdr_status;
  /* progress */
  pl_progress_fn progress;
  void *progress_user;
  int user_abort;
  int cancelled;
};

static void xfer_reset(struct xfer *x) {
  free(x->buf);
  free(x->content_type);
  x->buf = NULL;
  x->len = x->cap = 0;
  x->too_big = 0;
  x->written = 0;
  x->write_errno = 0;
  x->read_errno = 0;
  x->retry_after = -1;
  x->content_type = NULL;
  x->hdr_status = 0;
  x->user_abort = 0;
  x->cancelled = 0;
}

static int mem_append(struct xfer *x, const char *p, size_t n, uint64_t max) {
  if ((uint64_t)x->len + n > max) {
    x->too_big = 1;
    return -1;
  }
  if (x->len + n + 1 > x->cap) {
    size_t cap = x->cap ? x->cap : 4096;
    while (cap < x->len + n + 1) cap *= 2;
    char *b = realloc(x->buf, cap);
    if (!b) return -1;
    x->buf = b;
    x->cap = cap;
  }
  memcpy(x->buf + x->len, p, n);
  x->len += n;
  x->buf[x->len] = 0;
  return 0;
}

static size_t on_write(char *p, size_t size, size_t nmemb, void *user) {
  struct xfer *x = user;
  size_t n = size * nmemb;
  long status = x->hdr_status;
  if (x->out_fd >= 0 && status >= 200 && status < 300) {
    size_t left = n;
    const char *q = p;
    while (left) {
      ssize_t w = write(x->out_fd, q, left);
      if (w < 0) {
        if (errno == EINTR) continue;
        x->write_errno = errno;
        return 0;
      }
      q += w;
      left -= (size_t)w;
    }
    x->written += n;
    return n;
  }
  uint64_t max = x->out_fd >= 0 ? ERROR_BODY_MAX : x->max;
  return mem_append(x, p, n, max) == 0 ? n : 0;
}

/* Retry-After: delta seconds or an HTTP date. < 0 when unusable. */
static double parse_retry_after(const char *v) {
  while (*v == ' ' || *v == '\t') v++;
  if (*v >= '0' && *v <= '9') {
    char *end = NULL;
    errno = 0;
    unsigned long long s = strtoull(v, &end, 10);
    while (end && (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n')) end++;
    if (errno || !end || *end) return -1;
    return s > 86400ull * 365 ? 86400.0 * 365 : (double)s;
  }
  time_t t = curl_getdate(v, NULL);
  if (t == (time_t)-1) return -1;
  double d = difftime(t, time(NULL));
  return d < 0 ? 0 : d;
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *user) {
  struct xfer *x = user;
  size_t n = size * nmemb;
  if (n >= 5 && strncmp(p, "HTTP/", 5) == 0) {
    /* a new response (interim 1xx ones come first): forget earlier headers */
    const char *sp = memchr(p, ' ', n);
    x->hdr_status = 0;
    if (sp && (size_t)(sp - p) + 4 <= n && sp[1] >= '0' && sp[1] <= '9')
      x->hdr_status = (sp[1] - '0') * 100 + (sp[2] - '0') * 10 + (sp[3] - '0');
    x->retry_after = -1;
    free(x->content_type);
    x->content_type = NULL;
    return n;
  }
  const char *colon = memchr(p, ':', n);
  if (!colon) return n;
  size_t nl = (size_t)(colon - p);
  const char *v = colon + 1;
  size_t vl = n - nl - 1;
  while (vl && (*v == ' ' || *v == '\t')) {
    v++;
    vl--;
  }
  while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' ')) vl--;
  char val[256];
  if (vl >= sizeof val) vl = sizeof val - 1;
  memcpy(val, v, vl);
  val[vl] = 0;
  if (nl == 11 && strncasecmp(p, "Retry-After", 11) == 0) {
    x->retry_after = parse_retry_after(val);
  } else if (nl == 12 && strncasecmp(p, "Content-Type", 12) == 0) {
    free(x->content_type);
    x->content_type = pl_strdup(val);
  }
  return n;
}

static size_t on_read(char *p, size_t size, size_t nmemb, void *user) {
  struct xfer *x = user;
  size_t n = size * nmemb;
  for (;;) {
    ssize_t r = read(x->in_fd, p, n);
    if (r >= 0) return (size_t)r;
    if (errno == EINTR) continue;
    x->read_errno = errno;
    return CURL_READFUNC_ABORT;
  }
}

static int on_seek(void *user, curl_off_t offset, int origin) {
  struct xfer *x = user;
  if (origin != SEEK_SET) return CURL_SEEKFUNC_CANTSEEK;
  return lseek(x->in_fd, (off_t)offset, SEEK_SET) < 0 ? CURL_SEEKFUNC_FAIL : CURL_SEEKFUNC_OK;
}

static int on_progress(void *user, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow) {
  struct xfer *x = user;
  if (pl__http_cancelled(x->h)) {
    x->cancelled = 1;
    return 1;
  }
  if (x->progress) {
    uint64_t done, total;
    if (x->in_fd >= 0) {
      done = (uint64_t)ulnow;
      total = ultotal > 0 ? (uint64_t)ultotal : x->in_size;
    } else {
      done = (uint64_t)dlnow;
      total = dltotal > 0 ? (uint64_t)dltotal : 0;
    }
    if (x->progress(x->progress_user, done, total) != 0) {
      x->user_abort = 1;
      return 1;
    }
  }
  return 0;
}

/* A request as the retry loop sees it. */
struct req {
  const char *method;
  const char *url;   /* absolute */
  const char *label; /* for messages: "GET /v1/recordings" or "PUT http://host/signed/..." */
  int with_key;
  const char *body;   /* JSON or NULL */
  int transfer;       /* a file transfer: stall timeout instead of a total one */
  int retry;          /* may be repeated */
  uint64_t out_start; /* downloads: file offset to truncate back to */
};

static void set_timeouts(pl_http *h, const struct req *rq) {
  CURL *c = h->curl;
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)(h->o.connect_timeout_s * 1000));
  if (rq->transfer) {
    long stall = (long)h->o.stall_timeout_s;
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, stall < 1 ? 1L : stall);
  } else {
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(h->o.timeout_s * 1000));
  }
}

/* One exchange. Returns the CURLcode; *status the HTTP status (0 if none). */
static CURLcode perform(pl_http *h, const struct req *rq, struct xfer *x, long *status) {
  CURL *c = h->curl;
  curl_easy_reset(c); /* keeps the connection cache: keep-alive */
  h->errbuf[0] = 0;
  curl_easy_setopt(c, CURLOPT_URL, rq->url);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, h->errbuf);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
  curl_easy_setopt(c, CURLOPT_USERAGENT, h->user_agent);
  curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
  set_timeouts(h, rq);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, x);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, x);

  struct curl_slist *hdrs = NULL, *t;
  int oom = 0;
#define ADD_HEADER(s)                 \
  do {                                \
    t = curl_slist_append(hdrs, (s)); \
    if (t)                            \
      hdrs = t;                       \
    else                              \
      oom = 1;                        \
  } while (0)
  if (rq->with_key && h->auth) ADD_HEADER(h->auth);
  if (!rq->transfer) ADD_HEADER("Accept: application/json");
  if (strcmp(rq->method, "GET") == 0) {
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
  } else if (strcmp(rq->method, "HEAD") == 0) {
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  } else if (strcmp(rq->method, "PUT") == 0 && x->in_fd >= 0) {
    ADD_HEADER("Content-Type: application/octet-stream");
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(c, CURLOPT_READDATA, x);
    curl_easy_setopt(c, CURLOPT_SEEKFUNCTION, on_seek);
    curl_easy_setopt(c, CURLOPT_SEEKDATA, x);
    curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)x->in_size);
    if (h->o.max_send_speed)
      curl_easy_setopt(c, CURLOPT_MAX_SEND_SPEED_LARGE, (curl_off_t)h->o.max_send_speed);
  } else {
    if (strcmp(rq->method, "POST") != 0) curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, rq->method);
    if (rq->body || strcmp(rq->method, "POST") == 0) {
      if (rq->body) ADD_HEADER("Content-Type: application/json");
      curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
                       (curl_off_t)(rq->body ? strlen(rq->body) : 0));
      curl_easy_setopt(c, CURLOPT_POSTFIELDS, rq->body ? rq->body : "");
    }
  }
#undef ADD_HEADER
  if (oom) {
    curl_slist_free_all(hdrs);
    return CURLE_OUT_OF_MEMORY;
  }
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
  CURLcode cc = curl_easy_perform(c);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
  curl_slist_free_all(hdrs);
  long st = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st);
  *status = st;
  long conns = 0;
  curl_off_t up = 0, down = 0;
  curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &conns);
  curl_easy_getinfo(c, CURLINFO_SIZE_UPLOAD_T, &up);
  curl_easy_getinfo(c, CURLINFO_SIZE_DOWNLOAD_T, &down);
  h->stats.requests++;
  h->stats.connections += (uint64_t)(conns > 0 ? conns : 0);
  h->stats.bytes_sent += (uint64_t)(up > 0 ? up : 0); /* POST bodies included */
  h->stats.bytes_received += (uint64_t)(down > 0 ? down : 0);
  return cc;
}

static int retryable_status(long st) {
  return st == 408 || st == 429 || (st >= 500 && st <= 599 && st != 501 && st != 505);
}

static int retryable_curl(CURLcode cc) {
  switch (cc) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_HTTP3:
    case CURLE_WEIRD_SERVER_REPLY:
      return 1;
    default:
      return 0;
  }
}

static uint64_t next_rand(pl_http *h) {
  uint64_t x = h->rng;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  h->rng = x;
  return x;
}

/* The wait before retry number `k` (1 = the first retry). */
static double backoff(pl_http *h, int k, double retry_after) {
  double d = h->o.backoff_initial_s;
  for (int i = 1; i < k && d < h->o.backoff_max_s; i++) d *= 2;
  if (d > h->o.backoff_max_s) d = h->o.backoff_max_s;
  double unit = (double)(next_rand(h) >> 11) / 9007199254740992.0;
  double wait = d / 2 + unit * d / 2;
  if (retry_after >= 0 && wait < retry_after) wait = retry_after + unit * 0.1;
  return wait;
}

/* Map a final status to an error code. */
static int status_code(long st) {
  if (st == 401 || st == 403) return PL_EAUTH;
  if (st == 404 || st == 410) return PL_ENOTFOUND;
  if (st == 409) return PL_ECONFLICT;
  return PL_EHTTP;
}

static const char *curl_what(CURLcode cc) {
  switch (cc) {
    case CURLE_COULDNT_CONNECT:
      return "cannot connect";
    case CURLE_COULDNT_RESOLVE_HOST:
      return "cannot resolve the host";
    case CURLE_OPERATION_TIMEDOUT:
      return "timed out";
    case CURLE_SEND_ERROR:
      return "connection broken while sending";
    case CURLE_RECV_ERROR:
      return "connection broken while receiving";
    case CURLE_GOT_NOTHING:
      return "the server closed the connection without a reply";
    case CURLE_PARTIAL_FILE:
      return "the response was cut off";
    default:
      return curl_easy_strerror(cc);
  }
}

/*
 * The retry loop around perform(). On return `resp` has the final response
 * (status, body or error body, location, content type) and the result is
 * PL_OK when a response arrived (any status; the caller judges it) or an
 * error for transport failures. *attempts_out counts the tries.
 */
static int run(pl_http *h, const struct req *rq, struct xfer *x, pl_http_response *resp,
               int *attempts_out, pl_error_info *err) {
  int attempts = 0;
  for (;;) {
    attempts++;
    xfer_reset(x);
    if (x->in_fd >= 0 && lseek(x->in_fd, 0, SEEK_SET) < 0)
      return pl_error_set_errno(err, errno, "%s: cannot rewind the upload", rq->label);
    if (x->out_fd >= 0 && (ftruncate(x->out_fd, (off_t)rq->out_start) != 0 ||
                           lseek(x->out_fd, (off_t)rq->out_start, SEEK_SET) < 0))
      return pl_error_set_errno(err, errno, "%s: cannot rewind the download", rq->label);
    long st = 0;
    CURLcode cc = perform(h, rq, x, &st);
    *attempts_out = attempts;
    if (cc == CURLE_OUT_OF_MEMORY) return pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
    if (x->cancelled || pl__http_cancelled(h))
      return pl_error_set(err, PL_ECANCELED, UINT64_MAX, "%s: interrupted", rq->label);
    if (x->user_abort) return pl_error_set(err, PL_ECANCELED, UINT64_MAX, "%s: aborted", rq->label);
    if (x->too_big) {
      pl_error_set(err, PL_EHTTP, UINT64_MAX, "%s: the response is larger than %llu bytes",
                   rq->label, (unsigned long long)(x->out_fd >= 0 ? ERROR_BODY_MAX : x->max));
      err->http_status = st;
      return PL_EHTTP;
    }
    if (x->write_errno)
      return pl_error_set_errno(err, x->write_errno, "%s: cannot write the download", rq->label);
    if (x->read_errno)
      return pl_error_set_errno(err, x->read_errno, "%s: cannot read the upload", rq->label);
    int again = 0;
    double ra = -1;
    if (cc != CURLE_OK) {
      again = retryable_curl(cc);
    } else if (retryable_status(st)) {
      again = 1;
      ra = x->retry_after;
    }
    if (!again || !rq->retry || attempts >= h->o.max_attempts) {
      if (cc != CURLE_OK) {
        pl_error_set(err, cc == CURLE_OPERATION_TIMEDOUT ? PL_ETIMEOUT : PL_ENET, UINT64_MAX,
                     "%s: %s%s%s%s", rq->label, curl_what(cc), h->errbuf[0] ? " (" : "", h->errbuf,
                     h->errbuf[0] ? ")" : "");
        if (attempts > 1) {
          size_t l = strlen(err->msg);
          snprintf(err->msg + l, sizeof err->msg - l, " after %d tries", attempts);
        }
        err->curl_code = (int)cc;
        err->http_status = st;
        resp->status = 0;
        return err->code;
      }
      /* a response: hand it over */
      resp->status = st;
      resp->body = x->buf;
      resp->len = x->len;
      x->buf = NULL;
      x->len = x->cap = 0;
      resp->content_type = x->content_type;
      x->content_type = NULL;
      if (st >= 300 && st < 400) {
        char *loc = NULL;
        if (curl_easy_getinfo(h->curl, CURLINFO_REDIRECT_URL, &loc) == CURLE_OK && loc)
          resp->location = pl_strdup(loc);
      }
      return PL_OK;
    }
    double wait = backoff(h, attempts, ra);
    if (ra > h->o.retry_after_max_s) {
      pl_error_set(
          err, PL_EHTTP, UINT64_MAX,
          "%s: %ld, and the server asks to retry after %.0f s (more than the %.0f s limit)",
          rq->label, st, ra, h->o.retry_after_max_s);
      err->http_status = st;
      resp->status = st;
      return PL_EHTTP;
    }
    h->stats.retries++;
    if (cc != CURLE_OK)
      pl__http_log(h, "%s: %s; retrying in %.1f s (try %d of %d)", rq->label, curl_what(cc), wait,
                   attempts + 1, h->o.max_attempts);
    else
      pl__http_log(h, "%s: %ld%s; retrying in %.1f s (try %d of %d)", rq->label, st,
                   ra >= 0 ? " with Retry-After" : "", wait, attempts + 1, h->o.max_attempts);
    if (pl__http_sleep(h, wait) != PL_OK)
      return pl_error_set(err, PL_ECANCELED, UINT64_MAX, "%s: interrupted", rq->label);
  }
}

/* Turn a non-success response into an error with the API's own text. */
static int status_error(const struct req *rq, const pl_http_response *resp, int attempts,
                        pl_error_info *err) {
  char *text = resp->body ? pl__api_error_text(resp->body, resp->len) : NULL;
  char tries[32] = "";
  if (attempts > 1 && retryable_status(resp->status))
    snprintf(tries, sizeof tries, " after %d tries", attempts);
  int code = status_code(resp->status);
  pl_error_set(err, code, UINT64_MAX, "%s: HTTP %ld%s%s%s", rq->label, resp->status, tries,
               text ? ": " : "", text ? text : "");
  err->http_status = resp->status;
  free(text);
  return code;
}

static void xfer_init(struct xfer *x, pl_http *h) {
  memset(x, 0, sizeof *x);
  x->h = h;
  x->max = h->o.max_body;
  x->out_fd = -1;
  x->in_fd = -1;
  x->retry_after = -1;
}

static void xfer_dispose(struct xfer *x) {
  free(x->buf);
  free(x->content_type);
  x->buf = NULL;
  x->content_type = NULL;
}

static int method_idempotent(const char *m) {
  return strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0 || strcmp(m, "PUT") == 0 ||
         strcmp(m, "DELETE") == 0 || strcmp(m, "OPTIONS") == 0;
}

/* "GET /v1/x" for API URLs, "GET scheme://host/path" (no query) for others. */
static void make_label(const pl_http *h, const char *method, const char *url, char *out, size_t n) {
  char clean[400];
  pl__url_for_message(url, clean, sizeof clean);
  size_t bl = strlen(h->api_url);
  if (strncmp(url, h->api_url, bl) == 0 && url[bl] == '/')
    snprintf(out, n, "%s %s", method, clean + bl);
  else
    snprintf(out, n, "%s %s", method, clean);
}

int pl_http_api(pl_http *h, const char *method, const char *path, const char *json_body,
                unsigned flags, pl_http_response *resp, pl_error_info *err) {
  memset(resp, 0, sizeof *resp);
  if (!h || !method || !path || path[0] != '/')
    return pl_error_set(err, PL_EINVAL, UINT64_MAX, "invalid API request");
  size_t len = strlen(h->api_url) + strlen(path) + 1;
  char *url = malloc(len);
  if (!url) return pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
  snprintf(url, len, "%s%s", h->api_url, path);
  char *m = pl_strdup(method);
  int with_key = 1;
  int rc = PL_OK;
  struct xfer x;
  xfer_init(&x, h);
  for (int hop = 0;; hop++) {
    struct req rq;
    memset(&rq, 0, sizeof rq);
    char label[480];
    make_label(h, m, url, label, sizeof label);
    rq.method = m;
    rq.url = url;
    rq.label = label;
    rq.with_key = with_key;
    rq.body = strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0 ? NULL : json_body;
    rq.retry = !(flags & PL_HTTP_NO_RETRY) &&
               (method_idempotent(m) || (strcmp(m, "POST") == 0 && (flags & PL_HTTP_RETRY_POST)));
    int attempts = 0;
    pl_http_response_dispose(resp);
    rc = run(h, &rq, &x, resp, &attempts, err);
    if (rc != PL_OK) break;
    long st = resp->status;
    if (st >= 300 && st < 400 && resp->location && !(flags & PL_HTTP_NO_REDIRECT) && st != 304) {
      if (hop >= MAX_REDIRECTS) {
        rc = pl_error_set(err, PL_EHTTP, UINT64_MAX, "%s: more than %d redirects", label,
                          MAX_REDIRECTS);
        err->http_status = st;
        break;
      }
      char *next = pl_strdup(resp->location);
      if (!next) {
        rc = pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
        break;
      }
      free(url);
      url = next;
      /* the key goes along only while we stay on the API */
      with_key = with_key && is_api_url(h, url);
      if (st == 303 || ((st == 301 || st == 302) && strcmp(m, "POST") == 0)) {
        free(m);
        m = pl_strdup("GET");
        json_body = NULL;
        if (!m) {
          rc = pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
          break;
        }
      }
      char shown[400];
      pl__url_for_message(url, shown, sizeof shown);
      pl__http_log(h, "%s: %ld, following to %s%s", label, st, shown,
                   with_key ? "" : " without the API key");
      continue;
    }
    if ((flags & PL_HTTP_ANY_STATUS) || (st >= 200 && st < 300) ||
        (st >= 300 && st < 400 && (flags & PL_HTTP_NO_REDIRECT))) {
      rc = PL_OK;
    } else {
      rc = status_error(&rq, resp, attempts, err);
    }
    break;
  }
  xfer_dispose(&x);
  free(url);
  free(m);
  return rc;
}

int pl_http_put_file(pl_http *h, const char *url, const char *path, pl_progress_fn progress,
                     void *progress_user, pl_http_response *resp, pl_error_info *err) {
  memset(resp, 0, sizeof *resp);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return pl_error_set_errno(err, errno, "cannot open '%s'", path);
  struct stat sb;
  if (fstat(fd, &sb) != 0) {
    int e = errno;
    close(fd);
    return pl_error_set_errno(err, e, "cannot stat '%s'", path);
  }
  struct xfer x;
  xfer_init(&x, h);
  x.in_fd = fd;
  x.in_size = (uint64_t)sb.st_size;
  x.progress = progress;
  x.progress_user = progress_user;
  char label[480];
  make_label(h, "PUT", url, label, sizeof label);
  struct req rq;
  memset(&rq, 0, sizeof rq);
  rq.method = "PUT";
  rq.url = url;
  rq.label = label;
  rq.with_key = 0; /* a signed link: never the key */
  rq.transfer = 1;
  rq.retry = 1; /* repeated whole */
  int attempts = 0;
  int rc = run(h, &rq, &x, resp, &attempts, err);
  if (rc == PL_OK && !(resp->status >= 200 && resp->status < 300))
    rc = status_error(&rq, resp, attempts, err);
  xfer_dispose(&x);
  close(fd);
  return rc;
}

int pl_http_get_to_fd(pl_http *h, const char *url, int fd, int retry, pl_progress_fn progress,
                      void *progress_user, uint64_t *written, long *status, pl_error_info *err) {
  if (written) *written = 0;
  if (status) *status = 0;
  off_t start = lseek(fd, 0, SEEK_CUR);
  if (start < 0) return pl_error_set_errno(err, errno, "cannot use the output file");
  char *cur = pl_strdup(url);
  if (!cur) return pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
  struct xfer x;
  xfer_init(&x, h);
  x.out_fd = fd;
  x.progress = progress;
  x.progress_user = progress_user;
  int rc = PL_OK;
  for (int hop = 0;; hop++) {
    char label[480];
    make_label(h, "GET", cur, label, sizeof label);
    struct req rq;
    memset(&rq, 0, sizeof rq);
    rq.method = "GET";
    rq.url = cur;
    rq.label = label;
    rq.with_key = 0; /* a link handed out by the API: never the key */
    rq.transfer = 1;
    rq.retry = retry;
    rq.out_start = (uint64_t)start;
    pl_http_response resp;
    memset(&resp, 0, sizeof resp);
    int attempts = 0;
    rc = run(h, &rq, &x, &resp, &attempts, err);
    if (written) *written = x.written;
    if (rc != PL_OK) {
      if (status) *status = x.hdr_status; /* a broken 200 still says what it was */
      pl_http_response_dispose(&resp);
      break;
    }
    if (status) *status = resp.status;
    if (resp.status >= 300 && resp.status < 400 && resp.location) {
      if (hop >= MAX_REDIRECTS) {
        rc = pl_error_set(err, PL_EHTTP, UINT64_MAX, "%s: more than %d redirects", label,
                          MAX_REDIRECTS);
        pl_http_response_dispose(&resp);
        break;
      }
      free(cur);
      cur = resp.location;
      resp.location = NULL;
      pl_http_response_dispose(&resp);
      continue;
    }
    if (resp.status < 200 || resp.status >= 300) rc = status_error(&rq, &resp, attempts, err);
    pl_http_response_dispose(&resp);
    break;
  }
  xfer_dispose(&x);
  free(cur);
  return rc;
}
