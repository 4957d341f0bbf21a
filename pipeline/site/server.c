/*
 * server.c - the HTTP side of the local site (pl_server_*): libmicrohttpd
 * setup (one thread per connection, memory and connection limits, slow-client
 * timeout), routing of /v1 requests to server_routes_*.c after
 * authentication, capability check and rate limit, JSON bodies with a size
 * cap, the signed links (/signed/upload|stream|attachment/...), upload bodies
 * streamed to DATA/inbox, fault injection, and the graceful stop.
 *
 * Order of checks for /v1: key (401) -> route (404/405) -> capability (403)
 * -> rate limit (429) -> body size (413) and JSON (400) -> the route's own
 * validation (400/404/409).
 *
 * Every request to a signed link is counted, and so is one that carried an
 * API key along (pl_server_get_stats): the client must never send the key
 * there, and the tests check it here, where the requests arrive.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "server_internal.h"
#include "server_mhd.h" /* <microhttpd.h>, the functions loaded on first start */
#include "sha256.h"

#define DEFAULT_JSON_MAX (1u << 20)
#define DEFAULT_UPLOAD_MAX (UINT64_C(1) << 40)
#define CONN_MEMORY (128u << 10) /* headers above ~100 KiB are refused (431) */

enum ctx_kind { CTX_API = 0, CTX_UPLOAD = 1, CTX_DONE = 2, CTX_UI = 3 /* site_ui*.c */ };

struct route {
  const char *method;
  const char *pattern; /* segments after /v1; "*" matches one segment */
  const char *cap;
  void (*fn)(struct srv_req *, struct srv_resp *);
};

static const struct route k_routes[] = {
    {"GET", "devices", "devices.list", pl__srv_route_devices},
    {"POST", "devices", "devices.create", pl__srv_route_devices},
    {"GET", "devices/*", "devices.list", pl__srv_route_devices},
    {"PATCH", "devices/*", "devices.update", pl__srv_route_devices},
    {"DELETE", "devices/*", "devices.delete", pl__srv_route_devices},
    {"POST", "data/upload", "data.upload", pl__srv_route_upload},
    {"GET", "data/pending-imports", "pendingImports.list", pl__srv_route_pending},
    {"GET", "recordings", "recordings.list", pl__srv_route_recordings},
    {"GET", "recordings/*", "recordings.list", pl__srv_route_recordings},
    {"DELETE", "recordings/*", "recordings.delete", pl__srv_route_recordings},
    {"GET", "recording-attachments", "recordingAttachments.list", pl__srv_route_attachments},
    {"GET", "recording-attachments/*", "recordingAttachments.list", pl__srv_route_attachments},
    {"GET", "recording-attachments/*/download", "recordingAttachments.download",
     pl__srv_route_attachments},
    {"GET", "data/topics", "topics.list", pl__srv_route_topics},
    {"GET", "data/coverage", "coverage.list", pl__srv_route_coverage},
    {"GET", "lake-files", "lakeFiles.list", pl__srv_route_lake_files},
    {"POST", "data/stream", "data.stream", pl__srv_route_stream},
    {"GET", "events", "events.list", pl__srv_route_events},
    {"POST", "events", "events.create", pl__srv_route_events},
    {"GET", "events/*", "events.list", pl__srv_route_events},
    {"PATCH", "events/*", "events.update", pl__srv_route_events},
    {"DELETE", "events/*", "events.delete", pl__srv_route_events},
    {"GET", "custom-properties", "customProperties.list", pl__srv_route_custom_properties},
    {"POST", "custom-properties", "customProperties.create", pl__srv_route_custom_properties},
    {"GET", "custom-properties/*", "customProperties.list", pl__srv_route_custom_properties},
    {"PATCH", "custom-properties/*", "customProperties.update", pl__srv_route_custom_properties},
};

/* Only with opt.test_hooks (a library option; no request can turn it on).
 * A NULL capability means any valid key. */
static const struct route k_test_routes[] = {
    {"GET", "_test/stats", NULL, pl__srv_route_test},
    {"POST", "_test/recordings/bulk", NULL, pl__srv_route_test},
};

struct conn_ctx {
  int kind;
  int started;     /* the request's header was seen (on_request's first call) */
  int early;       /* refused from the request line (on_uri): close */
  int body_unread; /* a response was queued before the body was read: close after it */
  struct conn_track *track;
  int queued; /* a response went out already */
  /* JSON body */
  char *buf;
  size_t len, cap;
  const struct route *route;
  const struct srv_key *key;
  int expire;
  /* upload */
  int fd;
  char *part_path;
  char request_id[SRV_ID_LEN + 1];
  uint64_t received;
  int write_failed;
  int upload_done;
};

/* ------------------------------------------------------------- helpers */

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Percent-decode (and '+' -> ' ' for queries) into a new string; NULL when
 * malformed or when it decodes to a NUL byte. */
static char *pct_decode(const char *s, size_t len, int plus) {
  char *out = malloc(len + 1);
  if (!out) return NULL;
  size_t n = 0;
  for (size_t i = 0; i < len; i++) {
    char c = s[i];
    if (c == '%') {
      if (i + 2 >= len) {
        free(out);
        return NULL;
      }
      int hi = hexval(s[i + 1]), lo = hexval(s[i + 2]);
      if (hi < 0 || lo < 0) {
        free(out);
        return NULL;
      }
      c = (char)(hi * 16 + lo);
      if (c == 0) {
        free(out);
        return NULL;
      }
      i += 2;
    } else if (c == '+' && plus) {
      c = ' ';
    }
    out[n++] = c;
  }
  out[n] = 0;
  return out;
}

static size_t no_unescape(void *cls, struct MHD_Connection *c, char *s) {
  (void)cls;
  (void)c;
  return strlen(s);
}

static void free_req(struct srv_req *q) {
  for (size_t i = 0; i < q->n_seg; i++) free(q->seg[i]);
  free(q->seg);
  for (size_t i = 0; i < q->n_params; i++) {
    free(q->params[i].name);
    free(q->params[i].value);
  }
  free(q->params);
  json_object_put(q->body);
}

static void resp_dispose(struct srv_resp *r) {
  free(r->body);
  free(r->location);
  free(r->disposition);
  free(r->cookies[0]);
  free(r->cookies[1]);
  if (r->kind == RESP_FILE && r->fd >= 0) close(r->fd);
  if (r->stream) pl__srv_stream_req_free(r->stream);
  memset(r, 0, sizeof *r);
  r->fd = -1;
}

struct args_ctx {
  struct srv_req *q;
  int bad;
  char bad_name[128];
  int dup;
};

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value) {
  (void)kind;
  struct args_ctx *a = cls;
  if (a->bad || a->dup) return MHD_YES;
  char *k = pct_decode(key, strlen(key), 1);
  char *v = pct_decode(value ? value : "", value ? strlen(value) : 0, 1);
  if (!k || !v) {
    a->bad = 1;
    snprintf(a->bad_name, sizeof a->bad_name, "%s", key);
    free(k);
    free(v);
    return MHD_YES;
  }
  for (size_t i = 0; i < a->q->n_params; i++)
    if (strcmp(a->q->params[i].name, k) == 0) {
      a->dup = 1;
      snprintf(a->bad_name, sizeof a->bad_name, "%s", k);
      free(k);
      free(v);
      return MHD_YES;
    }
  struct srv_param *p = realloc(a->q->params, (a->q->n_params + 1) * sizeof *p);
  if (!p) {
    a->bad = 1;
    free(k);
    free(v);
    return MHD_YES;
  }
  a->q->params = p;
  p[a->q->n_params].name = k;
  p[a->q->n_params].value = v;
  p[a->q->n_params].used = 0;
  a->q->n_params++;
  return MHD_YES;
}

/* Split "/v1/a/b" into decoded segments after "/v1". -1 when malformed. */
static int split_path(const char *url, struct srv_req *q) {
  const char *p = url + 3; /* after "/v1" */
  if (*p == '/') p++;
  while (*p) {
    const char *end = strchr(p, '/');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    if (len == 0 && !end) break;
    char *seg = pct_decode(p, len, 0);
    if (!seg) return -1;
    char **s = realloc(q->seg, (q->n_seg + 1) * sizeof *s);
    if (!s) {
      free(seg);
      return -1;
    }
    q->seg = s;
    q->seg[q->n_seg++] = seg;
    if (!end) break;
    p = end + 1;
  }
  return 0;
}

static int match_pattern(const char *pattern, const struct srv_req *q) {
  size_t i = 0;
  const char *p = pattern;
  while (*p) {
    const char *end = strchr(p, '/');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    if (i >= q->n_seg) return 0;
    if (!(len == 1 && p[0] == '*')) {
      if (strlen(q->seg[i]) != len || strncmp(q->seg[i], p, len) != 0) return 0;
    } else if (q->seg[i][0] == 0) {
      return 0;
    }
    i++;
    if (!end) break;
    p = end + 1;
  }
  return i == q->n_seg;
}

/* A Content-Type that names JSON: "application/json", optionally with a UTF-8 charset. */
static int json_content_type(const char *ct) {
  if (!ct) return 0;
  while (*ct == ' ' || *ct == '\t') ct++;
  if (strncasecmp(ct, "application/json", 16) != 0) return 0;
  const char *p = ct + 16;
  while (*p == ' ' || *p == '\t') p++;
  if (*p == 0) return 1;
  if (*p != ';') return 0;
  p++;
  while (*p == ' ' || *p == '\t') p++;
  if (strncasecmp(p, "charset=", 8) != 0) return 0;
  p += 8;
  if (*p == '"') p++;
  if (strncasecmp(p, "utf-8", 5) != 0) return 0;
  p += 5;
  if (*p == '"') p++;
  while (*p == ' ' || *p == '\t') p++;
  return *p == 0;
}

/* Whether the request announces a body (a Content-Length above 0 or chunked). */
static int has_body(struct MHD_Connection *c) {
  const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
  const char *te = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Transfer-Encoding");
  return te || (cl && strtoull(cl, NULL, 10) > 0);
}

/* ------------------------------------------------------------- responses */

struct reset_state {
  char *data;
  size_t len;
  size_t sent;
};

static ssize_t reset_reader(void *cls, uint64_t pos, char *buf, size_t max) {
  struct reset_state *rs = cls;
  (void)pos;
  size_t half = rs->len / 2;
  if (rs->sent >= half) return MHD_CONTENT_READER_END_WITH_ERROR;
  size_t n = half - rs->sent;
  if (n > max) n = max;
  memcpy(buf, rs->data + rs->sent, n);
  rs->sent += n;
  return (ssize_t)n;
}

static void reset_free(void *cls) {
  struct reset_state *rs = cls;
  free(rs->data);
  free(rs);
}

/* A response that promises a body and breaks the connection half way. */
static enum MHD_Result queue_reset(struct MHD_Connection *c) {
  struct reset_state *rs = calloc(1, sizeof *rs);
  if (!rs) return MHD_NO;
  rs->data = pl__srv_strdup(
      "{\"error\": \"fault injection: this response is cut off in the middle of its body, "
      "as a reset connection would do\"}");
  rs->len = rs->data ? strlen(rs->data) : 0;
  struct MHD_Response *resp =
      MHD_create_response_from_callback(rs->len, 4096, reset_reader, rs, reset_free);
  if (!resp) {
    reset_free(rs);
    return MHD_NO;
  }
  MHD_add_response_header(resp, "Content-Type", "application/json");
  enum MHD_Result ret = MHD_queue_response(c, 200, resp);
  MHD_destroy_response(resp);
  return ret;
}

struct stream_state {
  int fd;
  void *handle;
};

static ssize_t stream_reader(void *cls, uint64_t pos, char *buf, size_t max) {
  struct stream_state *ss = cls;
  (void)pos;
  for (;;) {
    ssize_t n = read(ss->fd, buf, max);
    if (n > 0) return n;
    if (n == 0) {
      /* the producer closed its end: the body is complete only if the export succeeded */
      int ok = pl__srv_stream_finish(ss->handle);
      ss->handle = NULL;
      return ok == 0 ? MHD_CONTENT_READER_END_OF_STREAM : MHD_CONTENT_READER_END_WITH_ERROR;
    }
    if (errno == EINTR) continue;
    return MHD_CONTENT_READER_END_WITH_ERROR;
  }
}

static void stream_free(void *cls) {
  struct stream_state *ss = cls;
  close(ss->fd);
  if (ss->handle) pl__srv_stream_finish(ss->handle);
  free(ss);
}

static enum MHD_Result queue(pl_server *s, struct MHD_Connection *c, struct conn_ctx *x,
                             struct srv_resp *r) {
  struct MHD_Response *resp = NULL;
  if (x) pl__srv_conn_busy(s, x->track);
  if (r->kind == RESP_FILE) {
    resp = MHD_create_response_from_fd64(r->size, r->fd);
    if (resp) r->fd = -1; /* MHD closes it */
  } else if (r->kind == RESP_STREAM) {
    void *handle = NULL;
    int fd = pl__srv_stream_start(s, r->stream, &handle);
    r->stream = NULL; /* the producer owns it now */
    if (fd < 0) {
      resp_dispose(r);
      pl__srv_resp_error(r, 500, "cannot start the export");
    } else {
      struct stream_state *ss = calloc(1, sizeof *ss);
      if (ss) {
        ss->fd = fd;
        ss->handle = handle;
        resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 256u << 10, stream_reader, ss,
                                                 stream_free);
        if (!resp) stream_free(ss);
      } else {
        close(fd);
        pl__srv_stream_finish(handle);
      }
    }
  }
  if (!resp && r->kind == RESP_BUFFER) {
    if (!r->body) pl__srv_resp_error(r, r->status ? r->status : 500, "internal error");
    resp = MHD_create_response_from_buffer(r->len, r->body, MHD_RESPMEM_MUST_FREE);
    if (resp) r->body = NULL;
  }
  if (!resp) {
    resp_dispose(r);
    return MHD_NO;
  }
  if (r->content_type) MHD_add_response_header(resp, "Content-Type", r->content_type);
  if (r->location) MHD_add_response_header(resp, "Location", r->location);
  if (r->disposition) MHD_add_response_header(resp, "Content-Disposition", r->disposition);
  if (r->retry_after) {
    char ra[16];
    snprintf(ra, sizeof ra, "%u", r->retry_after);
    MHD_add_response_header(resp, "Retry-After", ra);
  }
  if (r->status == 401) MHD_add_response_header(resp, "WWW-Authenticate", "Bearer");
  MHD_add_response_header(resp, "Cache-Control", "no-store");
  for (int i = 0; i < 2; i++)
    if (r->cookies[i]) MHD_add_response_header(resp, "Set-Cookie", r->cookies[i]);
  if (r->html) {
    /* browser pages: no script, nothing from elsewhere, no framing, no sniffing */
    MHD_add_response_header(resp, "Content-Security-Policy",
                            "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' "
                            "data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    MHD_add_response_header(resp, "Referrer-Policy", "same-origin");
  }
  /* answered before its body was read (or refused for how it is framed): the rest of
   * the connection cannot be trusted to hold a next request */
  if (x && (x->body_unread || r->close)) MHD_add_response_header(resp, "Connection", "close");
  enum MHD_Result ret = MHD_queue_response(c, (unsigned)r->status, resp);
  MHD_destroy_response(resp);
  resp_dispose(r);
  return ret;
}

static enum MHD_Result queue_error(pl_server *s, struct MHD_Connection *c, struct conn_ctx *x,
                                   int status, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static enum MHD_Result queue_error(pl_server *s, struct MHD_Connection *c, struct conn_ctx *x,
                                   int status, const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  struct srv_resp r;
  memset(&r, 0, sizeof r);
  r.fd = -1;
  pl__srv_resp_error(&r, status, "%s", msg);
  return queue(s, c, x, &r);
}

/* ------------------------------------------------------------- signed links */

struct key_scan {
  const struct srv_auth *auth;
  int found;
};

static enum MHD_Result scan_value(void *cls, enum MHD_ValueKind kind, const char *key,
                                  const char *value) {
  struct key_scan *k = cls;
  if (kind == MHD_HEADER_KIND && key && strcasecmp(key, "Authorization") == 0) k->found = 1;
  if (pl__srv_auth_contains_token(k->auth, key) || pl__srv_auth_contains_token(k->auth, value))
    k->found = 1;
  return MHD_YES;
}

/* Count a request to a signed link, and whether it carried an API key: an
 * Authorization header (whatever its value), or a configured token anywhere in
 * a header, a cookie, the path or the query. */
static void count_signed(pl_server *s, struct MHD_Connection *c, const char *url) {
  struct key_scan k = {&s->auth, pl__srv_auth_contains_token(&s->auth, url)};
  MHD_get_connection_values(
      c, (enum MHD_ValueKind)(MHD_HEADER_KIND | MHD_COOKIE_KIND | MHD_GET_ARGUMENT_KIND),
      scan_value, &k);
  atomic_fetch_add(&s->signed_requests, 1);
  if (k.found) atomic_fetch_add(&s->signed_requests_with_key, 1);
}

static enum MHD_Result begin_signed(pl_server *s, struct MHD_Connection *c, struct conn_ctx *x,
                                    const char *url, const char *method) {
  /* /signed/<kind>/<id> */
  const char *p = url + strlen("/signed/");
  const char *slash = strchr(p, '/');
  char kind[32], id[SRV_ID_LEN + 1];
  if (!slash || (size_t)(slash - p) >= sizeof kind || strlen(slash + 1) > SRV_ID_LEN ||
      !pl__srv_valid_id(slash + 1))
    return queue_error(s, c, x, 404, "no such link");
  memcpy(kind, p, (size_t)(slash - p));
  kind[slash - p] = 0;
  snprintf(id, sizeof id, "%s", slash + 1);
  const char *want_method = strcmp(kind, "upload") == 0 ? "PUT" : "GET";
  if (strcmp(kind, "upload") != 0 && strcmp(kind, "stream") != 0 && strcmp(kind, "attachment") != 0)
    return queue_error(s, c, x, 404, "no such link");
  if (strcmp(method, want_method) != 0 && !(strcmp(method, "HEAD") == 0 && want_method[0] == 'G'))
    return queue_error(s, c, x, 405, "this link accepts only %s", want_method);
  const char *expires = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "expires");
  const char *sig = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "sig");
  char msg[256];
  int st = pl__srv_verify_link(s, want_method, kind, id, expires, sig, msg, sizeof msg);
  if (st) return queue_error(s, c, x, st, "%s", msg);
  pl__srv_conn_authed(s, x->track);

  if (strcmp(kind, "stream") == 0) {
    struct srv_resp r;
    memset(&r, 0, sizeof r);
    r.fd = -1;
    pl__srv_stream_open(s, id, &r);
    return queue(s, c, x, &r);
  }
  if (strcmp(kind, "attachment") == 0) {
    struct srv_resp r;
    memset(&r, 0, sizeof r);
    r.fd = -1;
    pl__srv_attachment_open(s, id, &r);
    return queue(s, c, x, &r);
  }

  /* upload: one PUT per link */
  uint64_t max = s->opt.max_upload ? s->opt.max_upload : DEFAULT_UPLOAD_MAX;
  const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
  if (cl && strtoull(cl, NULL, 10) > max)
    return queue_error(s, c, x, 413, "the upload is larger than the limit of %llu bytes",
                       (unsigned long long)max);
  struct srv_store *st_ = &s->store;
  pthread_rwlock_wrlock(&st_->lock);
  struct srv_import *imp = pl__srv_imp_find(st_, id);
  int status = 0;
  if (!imp) {
    status = 404;
  } else if (imp->status != IMP_AWAITING) {
    status = 409;
  } else if (imp->uploading) {
    status = 409;
  } else {
    imp->uploading = 1;
  }
  int uploading = imp && imp->uploading && status == 409;
  pthread_rwlock_unlock(&st_->lock);
  if (status == 404) return queue_error(s, c, x, 404, "no upload is waiting on this link");
  if (status == 409)
    return queue_error(
        s, c, x, 409, "%s",
        uploading ? "an upload to this link is in progress" : "this upload link was already used");
  x->kind = CTX_UPLOAD;
  snprintf(x->request_id, sizeof x->request_id, "%s", id);
  x->part_path = pl__srv_inbox_path(st_, id, ".part");
  x->fd = x->part_path ? open(x->part_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600) : -1;
  if (x->fd < 0) {
    pthread_rwlock_wrlock(&st_->lock);
    imp = pl__srv_imp_find(st_, id);
    if (imp) imp->uploading = 0;
    pthread_rwlock_unlock(&st_->lock);
    x->kind = CTX_DONE;
    return queue_error(s, c, x, 500, "cannot store the upload: %s", strerror(errno));
  }
  return MHD_YES;
}

static void upload_abandon(pl_server *s, struct conn_ctx *x) {
  if (x->fd >= 0) close(x->fd);
  x->fd = -1;
  if (x->part_path) unlink(x->part_path);
  pthread_rwlock_wrlock(&s->store.lock);
  struct srv_import *imp = pl__srv_imp_find(&s->store, x->request_id);
  if (imp) imp->uploading = 0;
  pthread_rwlock_unlock(&s->store.lock);
}

static enum MHD_Result finish_upload(pl_server *s, struct MHD_Connection *c, struct conn_ctx *x) {
  x->kind = CTX_DONE;
  int failed = x->write_failed;
  if (!failed && !s->opt.no_fsync && fsync(x->fd) != 0) failed = errno;
  if (close(x->fd) != 0 && !failed) failed = errno;
  x->fd = -1;
  char *final = pl__srv_inbox_path(&s->store, x->request_id, ".mcap");
  if (!failed && (!final || rename(x->part_path, final) != 0)) failed = errno ? errno : EIO;
  if (failed) {
    free(final);
    upload_abandon(s, x);
    return queue_error(s, c, x, 500, "cannot store the upload: %s", strerror(failed));
  }
  char *inbox = pl__srv_printf("%s/inbox", s->store.data_dir);
  if (inbox) pl__srv_sync_dir(inbox, s->opt.no_fsync);
  free(inbox);
  free(final);
  pthread_rwlock_wrlock(&s->store.lock);
  struct srv_import *imp = pl__srv_imp_find(&s->store, x->request_id);
  if (imp) {
    imp->uploading = 0;
    imp->status = IMP_RECEIVED;
    free(imp->stage);
    imp->stage = pl__srv_strdup("received");
    imp->size = x->received;
    imp->updated = pl__srv_now_ns();
    if (pl__srv_imp_save(&s->store, imp) != 0) {
      /* the file is in the inbox; the import is found again at the next start */
      pl__srv_log(s, "cannot save import %s: %s", imp->request_id, strerror(errno));
    }
  }
  pthread_rwlock_unlock(&s->store.lock);
  if (imp) pl__srv_import_enqueue(s, x->request_id);
  x->upload_done = 1;
  struct srv_resp r;
  memset(&r, 0, sizeof r);
  r.fd = -1;
  json_object *o = json_object_new_object();
  json_object_object_add(o, "requestId", json_object_new_string(x->request_id));
  json_object_object_add(o, "size", json_object_new_uint64(x->received));
  pl__srv_resp_json(&r, 200, o);
  return queue(s, c, x, &r);
}

/* ------------------------------------------------------------- /v1 */

static enum MHD_Result begin_api(pl_server *s, struct MHD_Connection *c, struct conn_ctx *x,
                                 const char *url, const char *method) {
  const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
  if (!auth)
    return queue_error(s, c, x, 401, "missing API key: send 'Authorization: Bearer <key>'");
  x->key = pl__srv_auth_lookup(&s->auth, auth);
  if (!x->key) return queue_error(s, c, x, 401, "invalid API key");
  pl__srv_conn_authed(s, x->track);
  struct srv_req q;
  memset(&q, 0, sizeof q);
  if (split_path(url, &q) != 0) {
    free_req(&q);
    return queue_error(s, c, x, 400, "malformed percent-encoding in the path");
  }
  const struct route *found = NULL;
  int path_known = 0;
  for (size_t i = 0; i < sizeof k_routes / sizeof k_routes[0]; i++) {
    if (!match_pattern(k_routes[i].pattern, &q)) continue;
    path_known = 1;
    if (strcmp(k_routes[i].method, method) == 0) found = &k_routes[i];
  }
  for (size_t i = 0; s->opt.test_hooks && i < sizeof k_test_routes / sizeof k_test_routes[0]; i++) {
    if (!match_pattern(k_test_routes[i].pattern, &q)) continue;
    path_known = 1;
    if (strcmp(k_test_routes[i].method, method) == 0) found = &k_test_routes[i];
  }
  free_req(&q);
  if (!found && path_known) return queue_error(s, c, x, 405, "method %s not allowed here", method);
  if (!found) return queue_error(s, c, x, 404, "no such endpoint: %s %s", method, url);
  if (found->cap && !pl__srv_auth_has(x->key, found->cap))
    return queue_error(s, c, x, 403, "this API key lacks the '%s' capability", found->cap);
  unsigned wait = pl__srv_rate_take(&s->auth, x->key);
  if (wait) {
    struct srv_resp r;
    memset(&r, 0, sizeof r);
    r.fd = -1;
    pl__srv_resp_error(&r, 429, "rate limit of %g requests per second exceeded", s->auth.rate);
    r.retry_after = wait;
    return queue(s, c, x, &r);
  }
  uint64_t max = s->opt.max_json_body ? s->opt.max_json_body : DEFAULT_JSON_MAX;
  const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
  if (cl && strtoull(cl, NULL, 10) > max)
    return queue_error(s, c, x, 413, "the request body is larger than %llu bytes",
                       (unsigned long long)max);
  /* refused before a byte of the body is read */
  if (has_body(c) &&
      !json_content_type(MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type")))
    return queue_error(s, c, x, 415,
                       "the request body must be sent as 'Content-Type: application/json'");
  x->route = found;
  x->kind = CTX_API;
  return MHD_YES;
}

static enum MHD_Result finish_api(pl_server *s, struct MHD_Connection *c, struct conn_ctx *x,
                                  const char *url, const char *method) {
  x->kind = CTX_DONE;
  struct srv_req q;
  memset(&q, 0, sizeof q);
  q.srv = s;
  q.method = method;
  q.key = x->key;
  q.fault_expire = x->expire;
  if (split_path(url, &q) != 0) {
    free_req(&q);
    return queue_error(s, c, x, 400, "malformed percent-encoding in the path");
  }
  struct args_ctx a;
  memset(&a, 0, sizeof a);
  a.q = &q;
  MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect_arg, &a);
  if (a.bad || a.dup) {
    free_req(&q);
    return queue_error(
        s, c, x, 400,
        a.dup ? "query parameter '%s' given more than once" : "malformed query parameter '%s'",
        a.bad_name);
  }
  int wants_body = strcmp(method, "POST") == 0 || strcmp(method, "PATCH") == 0;
  if (wants_body) {
    if (x->len) {
      json_object *o = NULL;
      char msg[256];
      if (pl__srv_json_parse_strict(x->buf, x->len, &o, msg, sizeof msg) != 0) {
        free_req(&q);
        return queue_error(s, c, x, 400, "%s", msg);
      }
      q.body = o;
      q.has_body = 1;
    }
  }
  struct srv_resp r;
  memset(&r, 0, sizeof r);
  r.fd = -1;
  x->route->fn(&q, &r);
  free_req(&q);
  if (!r.status) pl__srv_resp_error(&r, 500, "internal error: no response");
  return queue(s, c, x, &r);
}

/* ------------------------------------------------------------- browser pages */

static enum MHD_Result finish_ui(pl_server *s, struct MHD_Connection *c, struct conn_ctx *x,
                                 const char *url, const char *method) {
  x->kind = CTX_DONE;
  struct srv_req q;
  memset(&q, 0, sizeof q);
  q.srv = s;
  q.method = method;
  struct args_ctx a;
  memset(&a, 0, sizeof a);
  a.q = &q;
  if (strncmp(url, "/ui/", 4) == 0 && split_path(url, &q) != 0) a.bad = 1;
  if (!a.bad) MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect_arg, &a);
  struct srv_ui_req u;
  memset(&u, 0, sizeof u);
  u.srv = s;
  u.method = method;
  u.url = url;
  u.q = &q;
  u.session = MHD_lookup_connection_value(c, MHD_COOKIE_KIND, UI_SESSION_COOKIE);
  u.login = MHD_lookup_connection_value(c, MHD_COOKIE_KIND, UI_LOGIN_COOKIE);
  u.origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
  u.host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Host");
  u.content_type = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
  u.body = x->buf;
  u.body_len = x->len;
  struct srv_resp r;
  memset(&r, 0, sizeof r);
  r.fd = -1;
  if (a.bad || a.dup)
    pl__srv_resp_error(&r, 400, "malformed or repeated query parameter");
  else
    pl__srv_ui_handle(&u, &r);
  free_req(&q);
  if (!r.status) pl__srv_resp_error(&r, 500, "internal error: no response");
  return queue(s, c, x, &r);
}

/* ------------------------------------------------------------- MHD callbacks */

/* A connection opens or closes (server_conn.c tracks it). */
static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode code) {
  pl_server *s = cls;
  if (code == MHD_CONNECTION_NOTIFY_STARTED) {
    const union MHD_ConnectionInfo *fd =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    const union MHD_ConnectionInfo *addr =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    uint32_t ip = 0;
    if (addr && addr->client_addr && addr->client_addr->sa_family == AF_INET)
      ip = ((const struct sockaddr_in *)(const void *)addr->client_addr)->sin_addr.s_addr;
    *socket_context = fd ? pl__srv_conn_open(s, fd->connect_fd, ip) : NULL;
  } else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
    pl__srv_conn_close(s, *socket_context);
    *socket_context = NULL;
  }
}

/* The request line has been read: a target that breaks the limits is answered at once
 * (server_head.c says why here) and the connection's tracker remembers it. No request
 * context is made here: libmicrohttpd hands it to on_completed only once on_request has
 * seen it, so one made here for a request it refuses itself (a header too large) leaked. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c) {
  pl_server *s = cls;
  const union MHD_ConnectionInfo *ci =
      MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
  struct conn_track *track = ci ? ci->socket_context : NULL;
  pl__srv_conn_line(s, track, 0);
  char msg[160];
  int st = pl__srv_check_target(uri, msg, sizeof msg);
  if (st) {
    const union MHD_ConnectionInfo *fd =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    struct srv_resp r;
    memset(&r, 0, sizeof r);
    pl__srv_resp_error(&r, st, "%s", msg);
    if (fd && r.body)
      pl__srv_send_raw_error(fd->connect_fd, st, "URI Too Long", r.body, SRV_LINGER_MS);
    free(r.body);
    pl__srv_conn_busy(s, track);
    pl__srv_conn_line(s, track, st);
  }
  return NULL;
}

/* A body over its limit, met while it arrives: 413 now, then the connection is closed
 * (libmicrohttpd takes no response in the middle of a body; server_head.c). */
static enum MHD_Result cut_off(pl_server *s, struct MHD_Connection *c, struct conn_ctx *x,
                               const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static enum MHD_Result cut_off(pl_server *s, struct MHD_Connection *c, struct conn_ctx *x,
                               const char *fmt, ...) {
  char msg[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  struct srv_resp r;
  memset(&r, 0, sizeof r);
  pl__srv_resp_error(&r, 413, "%s", msg);
  pl__srv_conn_busy(s, x->track);
  const union MHD_ConnectionInfo *fd =
      MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
  if (fd && r.body)
    pl__srv_send_raw_error(fd->connect_fd, 413, "Content Too Large", r.body, SRV_LINGER_MS);
  free(r.body);
  return MHD_NO;
}

/* libmicrohttpd's inactivity timeout also runs while a handler works: restarted when the
 * server hands the turn back (to read a body, or to send the answer), so that a slow answer
 * (a busy machine) is still sent. A timeout set where there was none restarts the timer
 * (microhttpd.h, MHD_CONNECTION_OPTION_TIMEOUT). */
static void restart_inactivity_timer(pl_server *s, struct MHD_Connection *c) {
  MHD_set_connection_option(c, MHD_CONNECTION_OPTION_TIMEOUT, 0u);
  MHD_set_connection_option(c, MHD_CONNECTION_OPTION_TIMEOUT, pl__srv_conn_timeout(s));
}

/* The first call for a request, its header complete: checked, and answered or set up to
 * read its body. The connection is the server's turn (BUSY) meanwhile. */
static enum MHD_Result begin_request(pl_server *s, struct MHD_Connection *c, struct conn_ctx *x,
                                     const char *url, const char *method, const char *version) {
  if (strncmp(url, "/signed/", 8) == 0) count_signed(s, c, url);
  pthread_mutex_lock(&s->mu);
  s->inflight++;
  pthread_mutex_unlock(&s->mu);
  x->body_unread = has_body(c);
  char msg[256];
  int st = pl__srv_check_head(c, method, version, msg, sizeof msg);
  if (st) {
    x->kind = CTX_DONE;
    x->body_unread = 1; /* how the request is framed cannot be trusted */
    return queue_error(s, c, x, st, "%s", msg);
  }
  unsigned delay = 0;
  int fault = pl__srv_faults_roll(&s->faults, &delay, &x->expire);
  if (delay) {
    struct timespec ts = {(time_t)(delay / 1000), (long)(delay % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
  }
  if (fault == FAULT_ERROR || fault == FAULT_ERROR_503) {
    x->kind = CTX_DONE;
    int st5 = fault == FAULT_ERROR_503 ? 503 : 500;
    return queue_error(s, c, x, st5, "fault injection: %s",
                       st5 == 503 ? "service unavailable" : "internal server error");
  }
  if (fault == FAULT_RESET) {
    x->kind = CTX_DONE;
    pl__srv_conn_busy(s, x->track);
    return queue_reset(c);
  }
  if (fault == FAULT_THROTTLE) {
    x->kind = CTX_DONE;
    struct srv_resp r;
    memset(&r, 0, sizeof r);
    r.fd = -1;
    pl__srv_resp_error(&r, 429, "fault injection: too many requests");
    r.retry_after = 1;
    return queue(s, c, x, &r);
  }
  if (strncmp(url, "/signed/", 8) == 0) {
    x->kind = CTX_DONE;
    enum MHD_Result ret = begin_signed(s, c, x, url, method);
    return ret;
  }
  if (strcmp(url, "/v1") == 0 || strncmp(url, "/v1/", 4) == 0) {
    x->kind = CTX_DONE;
    return begin_api(s, c, x, url, method);
  }
  if (pl__srv_ui_path(url)) {
    const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
    x->kind = CTX_DONE;
    if (cl && strtoull(cl, NULL, 10) > UI_MAX_FORM)
      return queue_error(s, c, x, 413, "a form is at most %u bytes", UI_MAX_FORM);
    x->kind = CTX_UI; /* the form body (if any) is read, then finish_ui answers */
    return MHD_YES;
  }
  x->kind = CTX_DONE;
  return queue_error(s, c, x, 404, "no such endpoint: %s %s", method, url);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls) {
  pl_server *s = cls;
  struct conn_ctx *x = *con_cls;
  if (!x) {
    x = calloc(1, sizeof *x);
    if (!x) return MHD_NO;
    x->fd = -1;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    x->track = ci ? ci->socket_context : NULL;
    x->early = pl__srv_conn_early(s, x->track);
    *con_cls = x;
  }
  if (!x->started) {
    x->started = 1;
    if (x->early) return MHD_NO; /* answered from the request line; close */
    /* The body timeouts measure the client, so they run only while a body is awaited: the
     * time the server takes (the checks, a fault's delay, a busy machine) counts against
     * nobody. (Counted from the header, a loaded server dropped its own slow answers.) */
    pl__srv_conn_busy(s, x->track);
    enum MHD_Result ret = begin_request(s, c, x, url, method, version);
    if (ret == MHD_YES && x->kind != CTX_DONE && x->body_unread)
      pl__srv_conn_head_done(s, x->track);
    restart_inactivity_timer(s, c);
    return ret;
  }

  if (*upload_data_size) {
    size_t n = *upload_data_size;
    *upload_data_size = 0;
    pl__srv_conn_body(s, x->track, n);
    if (x->kind == CTX_UPLOAD) {
      uint64_t max = s->opt.max_upload ? s->opt.max_upload : DEFAULT_UPLOAD_MAX;
      if (x->received + n > max) {
        /* cut off as it arrives (a chunked body announces no size) */
        x->kind = CTX_DONE;
        upload_abandon(s, x);
        return cut_off(s, c, x, "the upload is larger than the limit of %llu bytes",
                       (unsigned long long)max);
      }
      if (x->write_failed) return MHD_YES; /* drain; answered at the end */
      const char *p = upload_data;
      size_t left = n;
      while (left) {
        ssize_t w = write(x->fd, p, left);
        if (w < 0) {
          if (errno == EINTR) continue;
          x->write_failed = errno;
          break;
        }
        p += w;
        left -= (size_t)w;
      }
      x->received += n;
      return MHD_YES;
    }
    if (x->kind == CTX_API || x->kind == CTX_UI) {
      uint64_t max = s->opt.max_json_body ? s->opt.max_json_body : DEFAULT_JSON_MAX;
      if (x->kind == CTX_UI) max = UI_MAX_FORM;
      if (x->len + n > max) {
        x->kind = CTX_DONE;
        return cut_off(s, c, x, "the request body is larger than %llu bytes",
                       (unsigned long long)max);
      }
      if (x->len + n + 1 > x->cap) {
        size_t cap = x->cap ? x->cap : 4096;
        while (cap < x->len + n + 1) cap *= 2;
        char *b = realloc(x->buf, cap);
        if (!b) return MHD_NO;
        x->buf = b;
        x->cap = cap;
      }
      memcpy(x->buf + x->len, upload_data, n);
      x->len += n;
      x->buf[x->len] = 0;
      return MHD_YES;
    }
    return MHD_YES; /* a response is queued already: discard */
  }

  x->body_unread = 0;
  pl__srv_conn_busy(s, x->track); /* the body is in: the server's turn */
  enum MHD_Result ret = MHD_YES;
  if (x->kind == CTX_UPLOAD)
    ret = finish_upload(s, c, x);
  else if (x->kind == CTX_API)
    ret = finish_api(s, c, x, url, method);
  else if (x->kind == CTX_UI)
    ret = finish_ui(s, c, x, url, method);
  restart_inactivity_timer(s, c);
  return ret;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
  (void)toe;
  (void)c;
  pl_server *s = cls;
  struct conn_ctx *x = *con_cls;
  if (!x) return;
  pl__srv_conn_idle(s, x->track);
  if (x->fd >= 0 && !x->upload_done) upload_abandon(s, x); /* cut off mid-upload */
  int started = x->started && !x->early;
  free(x->part_path);
  free(x->buf);
  free(x);
  *con_cls = NULL;
  if (!started) return;
  pthread_mutex_lock(&s->mu);
  if (s->inflight) s->inflight--;
  pthread_cond_broadcast(&s->cv);
  pthread_mutex_unlock(&s->mu);
}

static void mhd_log(void *cls, const char *fmt, va_list ap) {
  pl_server *s = cls;
  if (!s->opt.log) return;
  char line[512];
  vsnprintf(line, sizeof line, fmt, ap);
  size_t n = strlen(line);
  while (n && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = 0;
  pl__srv_log_line(s, line, sizeof line);
}

/* ------------------------------------------------------------- public API */

int pl_server_create(pl_server **out, const pl_server_options *o, pl_error_info *err) {
  pl_error_info dummy;
  if (!err) err = &dummy;
  memset(err, 0, sizeof *err);
  err->offset = UINT64_MAX;
  *out = NULL;
  if (!o || !o->data_dir || !o->data_dir[0]) {
    snprintf(err->msg, sizeof err->msg, "a data directory is required");
    return err->code = PL_EINVAL;
  }
  pl_server *s = calloc(1, sizeof *s);
  if (!s) return err->code = PL_ENOMEM;
  atomic_init(&s->signed_requests, 0);
  atomic_init(&s->signed_requests_with_key, 0);
  s->opt = *o;
  s->listen_host = pl__srv_strdup(o->listen_host ? o->listen_host : "127.0.0.1");
  s->public_url_opt = o->public_url ? pl__srv_strdup(o->public_url) : NULL;
  s->opt.listen_host = s->listen_host;
  s->opt.public_url = s->public_url_opt;
  s->opt.data_dir = NULL; /* the store keeps its own copy */
  s->opt.keys_path = NULL;
  s->opt.faults = NULL;
  pthread_mutex_init(&s->mu, NULL);
  pthread_cond_init(&s->cv, NULL);
  pthread_mutex_init(&s->stream_mu, NULL);
  pl__srv_budget_init(&s->budget, o->memory_budget);
  pthread_mutex_init(&s->conn_mu, NULL);
  pthread_cond_init(&s->conn_cv, NULL);
  pthread_mutex_init(&s->imp_mu, NULL);
  pthread_cond_init(&s->imp_cv, NULL);
  s->imp_hold = o->hold_imports;
  struct in_addr addr;
  if (inet_pton(AF_INET, s->listen_host, &addr) != 1) {
    snprintf(err->msg, sizeof err->msg, "cannot listen on '%s': not an IPv4 address",
             s->listen_host);
    pl_server_free(s);
    return err->code = PL_EINVAL;
  }
  if (o->ui_open && (ntohl(addr.s_addr) >> 24) != 127) {
    snprintf(err->msg, sizeof err->msg,
             "pages without a key (ui_open) are served only on a loopback address, not on '%s'",
             s->listen_host);
    pl_server_free(s);
    return err->code = PL_EINVAL;
  }
  if (pl__ui_sessions_init(&s->ui, o->ui_max_sessions, o->ui_session_s) != 0) {
    pl_server_free(s);
    return err->code = PL_ENOMEM;
  }
  s->ui_ready = 1;
  char fmsg[256];
  if (pl__srv_faults_parse(&s->faults, o->faults, o->fault_seed, fmsg, sizeof fmsg) != 0) {
    snprintf(err->msg, sizeof err->msg, "%s", fmsg);
    pl_server_free(s);
    return err->code = PL_EINVAL;
  }
  int rc = pl__srv_store_open(&s->store, o->data_dir, o->no_fsync, err);
  s->store.owner = s;
  if (rc != PL_OK) {
    pl_server_free(s);
    return err->code = rc;
  }
  rc = pl__srv_auth_init(&s->auth, o->keys_path, s->store.data_dir, o->rate_limit, err);
  if (rc != PL_OK) {
    pl_server_free(s);
    return err->code = rc;
  }
  rc = pl__site_webhooks_create(s, err);
  if (rc != PL_OK) {
    pl_server_free(s);
    return err->code = rc;
  }
  if (s->store.tightened.fixed)
    pl__srv_log(s,
                "warning: %zu files and directories under '%s' were open to other users; "
                "they are now private to their owner",
                s->store.tightened.fixed, s->store.data_dir);
  if (s->store.tightened.failed)
    pl__srv_log(s, "warning: %zu files and directories under '%s' could not be made private",
                s->store.tightened.failed, s->store.data_dir);
  if (o->keys_path) {
    struct stat ks;
    if (stat(o->keys_path, &ks) == 0 && (ks.st_mode & 077))
      pl__srv_log(s, "warning: the keys file '%s' is readable by other users (mode %03o)",
                  o->keys_path, (unsigned)(ks.st_mode & 0777));
  }
  *out = s;
  return PL_OK;
}

int pl_server_start(pl_server *s, uint16_t *port, pl_error_info *err) {
  pl_error_info dummy;
  if (!err) err = &dummy;
  memset(err, 0, sizeof *err);
  err->offset = UINT64_MAX;
  if (s->started) {
    snprintf(err->msg, sizeof err->msg, "the server is already started");
    return err->code = PL_EINVAL;
  }
  int lrc = pl__mhd_load(err);
  if (lrc) return lrc;
  lrc = pl__crypto_load(err); /* signed links: load it now, fail here rather than later */
  if (lrc) return lrc;
  struct sockaddr_in sa;
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_port = htons(s->opt.port);
  inet_pton(AF_INET, s->listen_host, &sa.sin_addr);
  unsigned timeout = pl__srv_conn_timeout(s);
  /* server_conn.c enforces the limits, in total and per address. libmicrohttpd's own limits
   * are only a backstop on threads, far above them: they still count connections that were
   * shut down and are not closed yet. At twice the limits, a client beside an attacker who
   * churns idle sockets faster than their threads exit was refused ("Server reached
   * connection limit", seen under load); with no per-address backstop at all, two churning
   * addresses filled the whole server's. Four times leaves room for both. */
  unsigned maxconn = 4 * pl__srv_max_connections(s) + 4 * pl__srv_max_connections_per_ip(s);
  unsigned per_ip = 4 * pl__srv_max_connections_per_ip(s);
  struct MHD_Daemon *d = MHD_start_daemon(
      MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL | MHD_USE_ITC |
          MHD_USE_ERROR_LOG,
      0, NULL, NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s, MHD_OPTION_SOCK_ADDR,
      (struct sockaddr *)&sa, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONN_MEMORY,
      MHD_OPTION_CONNECTION_TIMEOUT, timeout, MHD_OPTION_CONNECTION_LIMIT, maxconn,
      MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_ip, MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
      MHD_OPTION_NOTIFY_CONNECTION, on_connection, s, MHD_OPTION_URI_LOG_CALLBACK, on_uri, s,
      MHD_OPTION_UNESCAPE_CALLBACK, no_unescape, s, MHD_OPTION_END);
  if (!d) {
    snprintf(err->msg, sizeof err->msg, "cannot listen on %s:%u: %s", s->listen_host,
             (unsigned)s->opt.port, strerror(errno));
    return err->code = PL_EIO;
  }
  if (pl__srv_conn_start(s) != 0) {
    MHD_stop_daemon(d);
    snprintf(err->msg, sizeof err->msg, "cannot start the connection watchdog");
    return err->code = PL_ENOMEM;
  }
  const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
  s->port = info ? info->port : s->opt.port;
  s->mhd = d;
  s->started = 1;
  snprintf(s->local_url, sizeof s->local_url, "http://%s:%u", s->listen_host, (unsigned)s->port);
  if (s->public_url_opt) {
    snprintf(s->base_url, sizeof s->base_url, "%s", s->public_url_opt);
    size_t n = strlen(s->base_url);
    while (n && s->base_url[n - 1] == '/') s->base_url[--n] = 0;
  } else {
    snprintf(s->base_url, sizeof s->base_url, "%s", s->local_url);
  }
  int rc = pl__site_webhooks_start(s, err); /* before imports, which emit events */
  if (rc == PL_OK) rc = pl__srv_import_start(s, err);
  if (rc != PL_OK) {
    pl__site_webhooks_stop(s);
    MHD_stop_daemon(d);
    pl__srv_conn_stop(s);
    s->mhd = NULL;
    s->started = 0;
    return err->code = rc;
  }
  if (port) *port = s->port;
  return PL_OK;
}

const char *pl_server_url(const pl_server *s) {
  return s->local_url;
}

const char *pl_server_created_key(const pl_server *s) {
  return s->auth.created_key;
}

void pl_server_get_stats(const pl_server *s, pl_server_stats *out) {
  memset(out, 0, sizeof *out);
  if (!s) return;
  out->signed_requests = atomic_load(&s->signed_requests);
  out->signed_requests_with_key = atomic_load(&s->signed_requests_with_key);
  pl__srv_budget_get((struct srv_budget *)&s->budget, &out->budget_used, &out->budget_peak,
                     &out->budget_refused);
  out->budget_total = s->budget.total;
}

static void stop_http(pl_server *s) {
  struct MHD_Daemon *d = s->mhd;
  if (!d) return;
  MHD_socket ls = MHD_quiesce_daemon(d);
  /* wait for in-flight requests, at most the connection timeout */
  unsigned timeout = pl__srv_conn_timeout(s);
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += (time_t)timeout;
  pthread_mutex_lock(&s->mu);
  while (s->inflight > 0)
    if (pthread_cond_timedwait(&s->cv, &s->mu, &until) != 0) break;
  pthread_mutex_unlock(&s->mu);
  MHD_stop_daemon(d);
  if (ls != MHD_INVALID_SOCKET) close(ls);
  pl__srv_conn_stop(s);
  s->mhd = NULL;
}

void pl_server_stop(pl_server *s) {
  if (!s || !s->started || s->stopped) return;
  stop_http(s);
  pl__srv_import_stop(s, 0);
  pl__site_webhooks_stop(s); /* after the imports, whose last events are queued on disk */
  s->stopped = 1;
  /* the counters of pl_server_get_stats, for servers run as a process */
  pl_server_stats st;
  pl_server_get_stats(s, &st);
  pl__srv_log(s, "signed links: %llu requests, %llu with an API key",
              (unsigned long long)st.signed_requests,
              (unsigned long long)st.signed_requests_with_key);
}

void pl_server_crash(pl_server *s) {
  if (!s || !s->started || s->stopped) return;
  pl__srv_import_stop(s, 1);
  stop_http(s);
  pl__site_webhooks_stop(s);
  s->stopped = 1;
}

void pl_server_free(pl_server *s) {
  if (!s) return;
  pl_server_stop(s);
  pthread_mutex_lock(&s->stream_mu);
  while (s->streams) {
    struct srv_stream_req *n = s->streams->next;
    pl__srv_stream_req_free(s->streams);
    s->streams = n;
  }
  pthread_mutex_unlock(&s->stream_mu);
  for (size_t i = 0; i < s->queue.n; i++) free(s->queue.items[i]);
  free(s->queue.items);
  pl__site_webhooks_free(s);
  if (s->store.data_dir) pl__srv_store_close(&s->store);
  pl__srv_auth_dispose(&s->auth);
  pl__srv_faults_dispose(&s->faults);
  if (s->ui_ready) pl__ui_sessions_dispose(&s->ui);
  pthread_mutex_destroy(&s->mu);
  pthread_cond_destroy(&s->cv);
  pthread_mutex_destroy(&s->stream_mu);
  pl__srv_budget_dispose(&s->budget);
  pthread_mutex_destroy(&s->conn_mu);
  pthread_cond_destroy(&s->conn_cv);
  pthread_mutex_destroy(&s->imp_mu);
  pthread_cond_destroy(&s->imp_cv);
  free(s->listen_host);
  free(s->public_url_opt);
  free(s);
}
