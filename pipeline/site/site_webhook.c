/*
 * site_webhook.c - webhooks of the local site (docs/serve.md, "Webhooks"):
 * each --webhook URL[,event,...] gets the reference's bodies of
 * recording.created, recording.imported, device.created, event.created and
 * ping, POSTed by a worker thread of its own (site_webhook_http.c).
 *
 * Reliability. A delivery (one event for one webhook) is written to
 * DATA/webhooks/<seq>.json (atomically, fsync'ed) before the event's caller
 * goes on, and removed only once the receiver answered 2xx, so deliveries
 * survive a stop or a crash and resume at the next start; one acknowledged is
 * never sent again (a crash between the answer and the removal is the one
 * window for a repeat: the delivery id tells the receiver). Deliveries of the
 * same recording go one at a time in order (a later one waits for an earlier
 * one that is being retried); the others do not wait for each other.
 * A 5xx, 408, 429, a timeout or a failed connection is retried with
 * exponential backoff (backoff_ms doubled per attempt, at most backoff_max_ms,
 * at most max_attempts attempts; a longer Retry-After is granted up to backoff_max_ms); another answer (a 4xx) drops the delivery
 * with a log line; so does a full queue (queue_max per webhook: the oldest).
 *
 * The body is built at each attempt (attemptedAt is its time), signed with
 * HMAC-SHA256 under the keys file's "webhookSecret" over its exact bytes.
 *
 * Locking: one mutex `mu` guards the queues and counters; the workers never
 * take the store's lock, so callers may emit while holding it (store lock,
 * then mu). Queued data is kept as JSON text: workers never touch json-c.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "server_internal.h"
#include "sha256.h"
#include "site_webhook.h"

#define WH_DEFAULT_TIMEOUT_MS 10000u
#define WH_DEFAULT_BACKOFF_MS 1000u
#define WH_DEFAULT_BACKOFF_MAX_MS 300000u
#define WH_DEFAULT_MAX_ATTEMPTS 20u
#define WH_DEFAULT_QUEUE_MAX 10000u
#define WH_MAX_URL 2048
#define WH_MAX_FILE (1u << 20) /* a queued delivery on disk (its data is a few hundred bytes) */

/* The event types, the bit of each in a webhook's filter and the key of its data. */
static const struct {
  const char *name;
  const char *key;
} k_types[] = {
    {"recording.created", "recording"},
    {"recording.imported", "recording"},
    {"device.created", "device"},
    {"event.created", "event"},
    {"ping", "webhook"},
};
#define N_TYPES (sizeof k_types / sizeof k_types[0])
#define TYPE_PING 4
#define ALL_EVENTS 0xfu /* the four a spec may list; ping goes to every webhook */

struct wh_delivery {
  uint64_t seq;                  /* its file: DATA/webhooks/<seq>.json */
  char id[SRV_ID_LEN + 1];       /* the same for every attempt */
  char event_id[SRV_ID_LEN + 1]; /* the same for every webhook */
  int type;                      /* index into k_types */
  char *order_key;               /* recording id: one at a time, in order; NULL = none */
  char timestamp[40];
  char *data; /* JSON text of the object under k_types[type].key */
  unsigned attempts;
  uint64_t next_ns; /* CLOCK_MONOTONIC: not before */
  int busy;         /* a worker is sending it */
};

struct wh_hook {
  struct srv_webhooks *w;
  char id[SRV_ID_LEN + 1];
  char *url;
  char label[160]; /* for the log: the id and scheme://host:port (a URL's path or query may
                      hold a token, as many receivers' do) */
  unsigned events; /* bits of k_types */
  int loopback;
  struct srv_vec q; /* struct wh_delivery *, in order of seq */
  pthread_t thread;
  int running;
  int cancel; /* set (__atomic) to cut off the transfer in flight: the server stops */
};

struct srv_webhooks {
  pl_server *s;
  pthread_mutex_t mu;
  pthread_cond_t cv; /* CLOCK_MONOTONIC */
  char *dir;         /* DATA/webhooks */
  int no_fsync;
  uint64_t next_seq;
  int stop;
  struct wh_hook *hooks;
  size_t n;
  unsigned timeout_ms, backoff_ms, backoff_max_ms, max_attempts, queue_max;
  uint64_t delivered, attempts, dropped;
};

static uint64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int type_index(const char *name) {
  for (size_t i = 0; i < N_TYPES; i++)
    if (strcmp(k_types[i].name, name) == 0) return (int)i;
  return -1;
}

/* "scheme://host:port" of a URL into out: what the log shows of it. */
static void url_origin(const char *url, char *out, size_t cap) {
  const char *p = strstr(url, "://");
  size_t n = p ? (size_t)(p - url) + 3 : 0;
  while (url[n] && url[n] != '/' && url[n] != '?' && url[n] != '#') n++;
  snprintf(out, cap, "%.*s", (int)(n > 120 ? 120 : n), url);
}

/* ------------------------------------------------------------- specs */

static int lower_eq(const char *a, size_t n, const char *b) {
  if (strlen(b) != n) return 0;
  for (size_t i = 0; i < n; i++) {
    char c = a[i];
    if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
    if (c != b[i]) return 0;
  }
  return 1;
}

/* 1 when the host (brackets kept for IPv6) is a loopback address or "localhost". */
static int loopback_host(const char *h, size_t n) {
  char buf[64];
  if (n == 0 || n >= sizeof buf) return 0;
  memcpy(buf, h, n);
  buf[n] = 0;
  if (lower_eq(buf, n, "localhost")) return 1;
  if (buf[0] == '[' && buf[n - 1] == ']') {
    buf[n - 1] = 0;
    struct in6_addr a6;
    return inet_pton(AF_INET6, buf + 1, &a6) == 1 && memcmp(&a6, &in6addr_loopback, sizeof a6) == 0;
  }
  struct in_addr a4; /* inet_pton takes dotted decimal only: no octal, hex or short forms */
  return inet_pton(AF_INET, buf, &a4) == 1 && ((const uint8_t *)&a4.s_addr)[0] == 127;
}

/* Check a URL; *loopback for http:// ones. 0, or -1 with msg. */
static int check_url(const char *url, size_t len, int *loopback, char *msg, size_t cap) {
  if (len == 0 || len > WH_MAX_URL) {
    snprintf(msg, cap, "webhook URL: expected 1 to %d bytes", WH_MAX_URL);
    return -1;
  }
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)url[i];
    if (c <= 0x20 || c >= 0x7f || c == '\\') {
      snprintf(msg, cap, "webhook URL: byte %zu is not allowed (spaces, controls, '\\' and "
               "non-ASCII must be percent-encoded)", i);
      return -1;
    }
  }
  size_t p;
  int https;
  if (len >= 8 && lower_eq(url, 8, "https://")) {
    https = 1;
    p = 8;
  } else if (len >= 7 && lower_eq(url, 7, "http://")) {
    https = 0;
    p = 7;
  } else {
    snprintf(msg, cap, "webhook URL '%.*s': only https:// URLs, or http:// to a loopback "
             "address, are accepted", (int)(len > 200 ? 200 : len), url);
    return -1;
  }
  size_t a = p;
  while (p < len && url[p] != '/' && url[p] != '?' && url[p] != '#') p++;
  const char *auth = url + a;
  size_t alen = p - a;
  if (memchr(auth, '@', alen)) {
    snprintf(msg, cap, "webhook URL: no user name or password may be given in it");
    return -1;
  }
  size_t hlen;
  if (alen && auth[0] == '[') {
    const char *close = memchr(auth, ']', alen);
    hlen = close ? (size_t)(close - auth) + 1 : alen + 1;
    if (!close) {
      snprintf(msg, cap, "webhook URL: unterminated '[' in the host");
      return -1;
    }
  } else {
    const char *colon = memchr(auth, ':', alen);
    hlen = colon ? (size_t)(colon - auth) : alen;
  }
  if (hlen == 0) {
    snprintf(msg, cap, "webhook URL: no host");
    return -1;
  }
  if (hlen < alen) {
    if (auth[hlen] != ':' || alen - hlen < 2 || alen - hlen > 6) {
      snprintf(msg, cap, "webhook URL: expected ':PORT' after the host");
      return -1;
    }
    unsigned port = 0;
    for (size_t i = hlen + 1; i < alen; i++) {
      if (auth[i] < '0' || auth[i] > '9') {
        snprintf(msg, cap, "webhook URL: the port is not a number");
        return -1;
      }
      port = port * 10 + (unsigned)(auth[i] - '0');
    }
    if (port == 0 || port > 65535) {
      snprintf(msg, cap, "webhook URL: port %u is out of range", port);
      return -1;
    }
  }
  int lo = loopback_host(auth, hlen);
  if (!https && !lo) {
    snprintf(msg, cap, "webhook URL '%.*s': http:// is accepted only to a loopback address "
             "(127.0.0.0/8, localhost, [::1]); use https://", (int)(len > 200 ? 200 : len), url);
    return -1;
  }
  *loopback = !https;
  return 0;
}

/* Parse "URL[,event,...]": *url (malloc'd), *events. 0, or -1 with msg. */
static int parse_spec(const char *spec, char **url, unsigned *events, int *loopback, char *msg,
                      size_t cap) {
  *url = NULL;
  *events = 0;
  if (!spec) {
    snprintf(msg, cap, "webhook: no URL");
    return -1;
  }
  const char *comma = strchr(spec, ',');
  size_t ulen = comma ? (size_t)(comma - spec) : strlen(spec);
  if (check_url(spec, ulen, loopback, msg, cap) != 0) return -1;
  unsigned ev = 0;
  const char *p = comma;
  while (p) {
    const char *start = p + 1;
    const char *end = strchr(start, ',');
    size_t n = end ? (size_t)(end - start) : strlen(start);
    int found = -1;
    for (size_t i = 0; i < N_TYPES; i++)
      if (strlen(k_types[i].name) == n && memcmp(k_types[i].name, start, n) == 0)
        found = (int)i;
    if (found == TYPE_PING) {
      snprintf(msg, cap, "webhook events: 'ping' is not listed (--webhook-ping sends one to "
               "every webhook)");
      return -1;
    }
    if (found < 0) {
      snprintf(msg, cap, "webhook events: unknown event '%.*s' (expected recording.created, "
               "recording.imported, device.created, event.created)", (int)(n > 100 ? 100 : n),
               start);
      return -1;
    }
    ev |= 1u << found;
    p = end;
  }
  *url = malloc(ulen + 1);
  if (!*url) {
    snprintf(msg, cap, "out of memory");
    return -1;
  }
  memcpy(*url, spec, ulen);
  (*url)[ulen] = 0;
  *events = ev ? ev : ALL_EVENTS;
  return 0;
}

int pl_server_check_webhook(const char *spec, char *msg, size_t cap) {
  char *url = NULL;
  unsigned ev;
  int lo;
  char dummy[8];
  if (!msg || !cap) {
    msg = dummy;
    cap = sizeof dummy;
  }
  msg[0] = 0;
  int rc = parse_spec(spec, &url, &ev, &lo, msg, cap);
  free(url);
  return rc == 0 ? PL_OK : PL_EINVAL;
}

/* ------------------------------------------------------------- deliveries on disk */

static void delivery_free(struct wh_delivery *d) {
  if (!d) return;
  free(d->order_key);
  free(d->data);
  free(d);
}

static char *delivery_path(const struct srv_webhooks *w, uint64_t seq) {
  return pl__srv_printf("%s/%020llu.json", w->dir, (unsigned long long)seq);
}

static void delivery_unlink(struct srv_webhooks *w, const struct wh_delivery *d) {
  char *path = delivery_path(w, d->seq);
  if (path && unlink(path) != 0 && errno != ENOENT)
    pl__srv_log(w->s, "warning: webhooks: cannot remove '%s': %s", path, strerror(errno));
  free(path);
  pl__srv_sync_dir(w->dir, w->no_fsync);
}

static int delivery_save(struct srv_webhooks *w, const struct wh_hook *h,
                         const struct wh_delivery *d) {
  json_object *data = NULL;
  char msg[200];
  if (pl__srv_json_parse_strict(d->data, strlen(d->data), &data, msg, sizeof msg) != 0)
    data = NULL;
  json_object *o = json_object_new_object();
  json_object_object_add(o, "deliveryId", json_object_new_string(d->id));
  json_object_object_add(o, "webhookId", json_object_new_string(h->id));
  json_object_object_add(o, "url", json_object_new_string(h->url));
  json_object_object_add(o, "type", json_object_new_string(k_types[d->type].name));
  json_object_object_add(o, "webhookEventId", json_object_new_string(d->event_id));
  json_object_object_add(o, "timestamp", json_object_new_string(d->timestamp));
  if (d->order_key) json_object_object_add(o, "orderKey", json_object_new_string(d->order_key));
  json_object_object_add(o, "data", data);
  const char *text =
      json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
  char *path = delivery_path(w, d->seq);
  int rc = data && text && path ? pl__srv_write_atomic(path, text, strlen(text), w->no_fsync, 0600)
                                : -1;
  if (rc == 0) pl__srv_sync_dir(w->dir, w->no_fsync);
  free(path);
  json_object_put(o);
  return rc;
}

static const char *obj_str(json_object *o, const char *key) {
  json_object *v = NULL;
  if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
    return NULL;
  return json_object_get_string(v);
}

/* Parse a queued delivery's file; NULL when it is not one (*hook_id, *url borrowed from
 * *root, which the caller releases). */
static struct wh_delivery *delivery_parse(const char *text, size_t len, uint64_t seq,
                                          json_object **root, const char **hook_id,
                                          const char **url) {
  *root = NULL;
  char msg[200];
  if (pl__srv_json_parse_strict(text, len, root, msg, sizeof msg) != 0) return NULL;
  json_object *o = *root, *data = NULL;
  const char *id = obj_str(o, "deliveryId"), *ev = obj_str(o, "webhookEventId");
  const char *type = obj_str(o, "type"), *ts = obj_str(o, "timestamp");
  const char *key = obj_str(o, "orderKey");
  *hook_id = obj_str(o, "webhookId");
  *url = obj_str(o, "url");
  int t = type ? type_index(type) : -1;
  if (!id || !ev || !ts || !*hook_id || !*url || t < 0 || !pl__srv_valid_id(id) ||
      !pl__srv_valid_id(ev) || strlen(ts) >= 40 || strspn(ts, "0123456789-:.TZ") != strlen(ts) || (key && !pl__srv_valid_id(key)) ||
      !json_object_object_get_ex(o, "data", &data) || !json_object_is_type(data, json_type_object))
    return NULL;
  struct wh_delivery *d = calloc(1, sizeof *d);
  if (!d) return NULL;
  d->seq = seq;
  snprintf(d->id, sizeof d->id, "%s", id);
  snprintf(d->event_id, sizeof d->event_id, "%s", ev);
  snprintf(d->timestamp, sizeof d->timestamp, "%s", ts);
  d->type = t;
  d->order_key = key ? pl__srv_strdup(key) : NULL;
  d->data = pl__srv_strdup(
      json_object_to_json_string_ext(data, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
  if (!d->data || (key && !d->order_key)) {
    delivery_free(d);
    return NULL;
  }
  return d;
}

static int cmp_seq(const void *a, const void *b, void *ctx) {
  (void)ctx;
  return pl__srv_cmp_u64(((const struct wh_delivery *)a)->seq,
                         ((const struct wh_delivery *)b)->seq);
}

/* Is `name` "<20 digits>.json"? Its number in *seq. */
static int queue_name(const char *name, uint64_t *seq) {
  if (strlen(name) != 25 || strcmp(name + 20, ".json") != 0) return 0;
  uint64_t v = 0;
  for (int i = 0; i < 20; i++) {
    if (name[i] < '0' || name[i] > '9') return 0;
    if (v > (UINT64_MAX - 9) / 10) return 0;
    v = v * 10 + (uint64_t)(name[i] - '0');
  }
  *seq = v;
  return 1;
}

/* Load DATA/webhooks: each delivery to its webhook, in order. Deliveries of webhooks not
 * configured now stay on disk (logged); unreadable files are renamed to *.bad. */
static void queue_load(struct srv_webhooks *w) {
  DIR *dir = opendir(w->dir);
  if (!dir) return;
  struct srv_vec all = {0};
  size_t kept = 0, bad = 0;
  char kept_url[128] = "";
  struct dirent *e;
  while ((e = readdir(dir)) != NULL) {
    uint64_t seq;
    size_t nlen = strlen(e->d_name);
    if (nlen > 4 && strcmp(e->d_name + nlen - 4, ".tmp") == 0) {
      /* a write cut short by a crash: its delivery was never queued */
      char *tmp = pl__srv_printf("%s/%s", w->dir, e->d_name);
      if (tmp) unlink(tmp);
      free(tmp);
      continue;
    }
    if (!queue_name(e->d_name, &seq)) continue;
    if (seq >= w->next_seq) w->next_seq = seq + 1;
    char *path = pl__srv_printf("%s/%s", w->dir, e->d_name);
    size_t len = 0;
    char *text = path ? pl__srv_read_file(path, WH_MAX_FILE, &len) : NULL;
    json_object *root = NULL;
    const char *hook_id = NULL, *url = NULL;
    struct wh_delivery *d = text ? delivery_parse(text, len, seq, &root, &hook_id, &url) : NULL;
    struct wh_hook *h = NULL;
    for (size_t i = 0; d && i < w->n; i++)
      if (strcmp(w->hooks[i].id, hook_id) == 0) h = &w->hooks[i];
    if (!d) {
      bad++;
      char *to = path ? pl__srv_printf("%s.bad", path) : NULL;
      if (to && rename(path, to) != 0)
        pl__srv_log(w->s, "warning: webhooks: cannot rename '%s': %s", path, strerror(errno));
      free(to);
    } else if (!h) {
      if (!kept++) url_origin(url, kept_url, sizeof kept_url);
      delivery_free(d);
    } else {
      /* the webhook's index rides in `attempts` until the sort below */
      d->attempts = (unsigned)(h - w->hooks);
      if (pl__srv_vec_push(&all, d) != 0) delivery_free(d);
    }
    json_object_put(root);
    free(text);
    free(path);
  }
  closedir(dir);
  pl__srv_sort(all.items, all.n, cmp_seq, NULL, 0);
  for (size_t i = 0; i < all.n; i++) {
    struct wh_delivery *d = all.items[i];
    struct wh_hook *h = &w->hooks[d->attempts];
    d->attempts = 0;
    if (pl__srv_vec_push(&h->q, d) != 0) delivery_free(d);
  }
  free(all.items);
  for (size_t i = 0; i < w->n; i++)
    if (w->hooks[i].q.n)
      pl__srv_log(w->s, "webhook %s: %zu deliveries resumed from the queue", w->hooks[i].label,
                  w->hooks[i].q.n);
  if (kept)
    pl__srv_log(w->s, "warning: webhooks: %zu queued deliveries kept in '%s' for webhooks not "
                "configured now (such as %s)", kept, w->dir, kept_url);
  if (bad)
    pl__srv_log(w->s, "warning: webhooks: %zu unreadable queue files renamed to *.bad in '%s'",
                bad, w->dir);
}

/* ------------------------------------------------------------- queueing */

/* Queue one delivery for `h` (mu held): on disk first, then in memory. Consumes nothing. */
static void enqueue(struct srv_webhooks *w, struct wh_hook *h, int type, const char *event_id,
                    const char *timestamp, const char *order_key, const char *data) {
  if (h->q.n >= w->queue_max) {
    /* full: the oldest waiting one goes (never the one being sent) */
    size_t i = 0;
    while (i < h->q.n && ((struct wh_delivery *)h->q.items[i])->busy) i++;
    if (i < h->q.n) {
      struct wh_delivery *old = h->q.items[i];
      pl__srv_log(w->s, "warning: webhook %s: queue full (%u deliveries): dropped the oldest, "
                  "delivery %s (%s)", h->label, w->queue_max, old->id, k_types[old->type].name);
      delivery_unlink(w, old);
      pl__srv_vec_remove_at(&h->q, i);
      delivery_free(old);
      w->dropped++;
    }
  }
  struct wh_delivery *d = calloc(1, sizeof *d);
  if (!d) goto nomem;
  d->seq = w->next_seq++;
  pl__srv_new_id("dlv", d->id);
  snprintf(d->event_id, sizeof d->event_id, "%s", event_id);
  snprintf(d->timestamp, sizeof d->timestamp, "%s", timestamp);
  d->type = type;
  d->order_key = order_key ? pl__srv_strdup(order_key) : NULL;
  d->data = pl__srv_strdup(data);
  if (!d->data || (order_key && !d->order_key)) goto nomem;
  if (delivery_save(w, h, d) != 0)
    pl__srv_log(w->s, "warning: webhook %s: cannot write delivery %s (%s) to '%s': %s; it is "
                "queued in memory only", h->label, d->id, k_types[type].name, w->dir,
                strerror(errno));
  if (pl__srv_vec_push(&h->q, d) != 0) goto nomem;
  pthread_cond_broadcast(&w->cv);
  return;
nomem:
  if (d) {
    delivery_unlink(w, d);
    delivery_free(d);
  }
  w->dropped++;
  pl__srv_log(w->s, "warning: webhook %s: out of memory: %s event %s dropped", h->label,
              k_types[type].name, event_id);
}

void pl__site_webhook_emit(pl_server *s, const char *type, json_object *data) {
  struct srv_webhooks *w = s ? s->webhooks : NULL;
  int t = type ? type_index(type) : -1;
  if (!w || t < 0 || t == TYPE_PING || !data || !json_object_is_type(data, json_type_object)) {
    json_object_put(data);
    return;
  }
  char event_id[SRV_ID_LEN + 1], ts[40];
  pl__srv_new_id("whe", event_id);
  pl__srv_time_str(pl__srv_now_ns(), ts);
  const char *key = NULL;
  if (strcmp(k_types[t].key, "recording") == 0) {
    key = obj_str(data, "id");
    if (key && !pl__srv_valid_id(key)) key = NULL;
  }
  const char *text =
      json_object_to_json_string_ext(data, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
  pthread_mutex_lock(&w->mu);
  for (size_t i = 0; text && i < w->n; i++)
    if (w->hooks[i].events & (1u << t)) enqueue(w, &w->hooks[i], t, event_id, ts, key, text);
  pthread_mutex_unlock(&w->mu);
  json_object_put(data);
}

int pl__site_webhook_emit_text(pl_server *s, const char *type, const char *data_json) {
  json_object *o = NULL;
  char msg[200];
  if (!data_json || pl__srv_json_parse_strict(data_json, strlen(data_json), &o, msg, sizeof msg) != 0 ||
      !json_object_is_type(o, json_type_object)) {
    json_object_put(o);
    return -1;
  }
  pl__site_webhook_emit(s, type, o);
  return 0;
}

json_object *pl__site_webhook_recording(pl_server *s, const struct srv_recording *rec) {
  struct srv_store *st = &s->store;
  json_object *o = json_object_new_object();
  json_object_object_add(o, "id", json_object_new_string(rec->id));
  json_object_object_add(o, "importStatus",
                         json_object_new_string(pl__srv_rec_status_name(rec->status)));
  json_object_object_add(o, "path", json_object_new_string(rec->path ? rec->path : ""));
  const struct srv_device *d = rec->device_id ? pl__srv_device_by_id(st, rec->device_id) : NULL;
  if (d) {
    json_object *dj = json_object_new_object();
    json_object_object_add(dj, "id", json_object_new_string(d->id));
    json_object_object_add(dj, "name", json_object_new_string(d->name));
    json_object_object_add(o, "device", dj);
  }
  /* no "edgeSite": recordings of a primary site have none (as GET /recordings shows) */
  json_object *sj = json_object_new_object();
  json_object_object_add(sj, "id", json_object_new_string(st->site_id));
  json_object_object_add(sj, "name", json_object_new_string(st->site_name));
  json_object_object_add(o, "site", sj);
  return o;
}

/* The store's creation hook (pl_server.on_created, called with the store lock held for every
 * device and event created, by a request or an import): device.created and event.created
 * carry only the new object's id, as the reference shows. */
static void on_created(pl_server *s, const char *type, json_object *resource) {
  json_object *id = NULL;
  if (!json_object_object_get_ex(resource, "id", &id) || !json_object_is_type(id, json_type_string))
    return;
  json_object *o = json_object_new_object();
  if (!o) return;
  json_object_object_add(o, "id", json_object_new_string(json_object_get_string(id)));
  pl__site_webhook_emit(s, type, o);
}

/* ------------------------------------------------------------- the workers */

/* Exponential backoff before attempt `done` + 1. */
static uint64_t backoff_ms(const struct srv_webhooks *w, unsigned done) {
  uint64_t ms = w->backoff_ms;
  for (unsigned i = 1; i < done && ms < w->backoff_max_ms; i++) ms *= 2;
  return ms < w->backoff_max_ms ? ms : w->backoff_max_ms;
}

/* The first delivery that may be sent now (mu held): the earliest of its recording and due.
 * Otherwise NULL and *wake the monotonic time the next one is due (UINT64_MAX: none). */
static struct wh_delivery *pick(struct wh_hook *h, uint64_t now, uint64_t *wake) {
  *wake = UINT64_MAX;
  size_t n = h->q.n, cap = 16;
  while (cap < 2 * n) cap *= 2;
  uint64_t stack[64], *seen = cap <= 64 ? stack : calloc(cap, sizeof *seen);
  if (seen == stack) memset(stack, 0, sizeof stack);
  struct wh_delivery *found = NULL;
  for (size_t i = 0; i < n && !found; i++) {
    struct wh_delivery *d = h->q.items[i];
    if (d->order_key) {
      /* an earlier delivery of the same recording goes first (hashes: a collision only
       * makes one wait for the other) */
      uint64_t k = pl_hash64(d->order_key, strlen(d->order_key)) | 1;
      int blocked = 0;
      if (seen) {
        size_t j = (size_t)k & (cap - 1);
        while (seen[j] && seen[j] != k) j = (j + 1) & (cap - 1);
        blocked = seen[j] == k;
        seen[j] = k;
      } else {
        for (size_t j = 0; j < i && !blocked; j++) {
          const struct wh_delivery *e = h->q.items[j];
          blocked = e->order_key && strcmp(e->order_key, d->order_key) == 0;
        }
      }
      if (blocked) continue;
    }
    if (d->busy) continue;
    if (d->next_ns <= now)
      found = d;
    else if (d->next_ns < *wake)
      *wake = d->next_ns;
  }
  if (seen != stack) free(seen);
  return found;
}

static void remove_delivery(struct wh_hook *h, struct wh_delivery *d) {
  for (size_t i = 0; i < h->q.n; i++)
    if (h->q.items[i] == d) {
      pl__srv_vec_remove_at(&h->q, i);
      break;
    }
  delivery_unlink(h->w, d);
  delivery_free(d);
}

/* The body of an attempt: the reference's field order, data under its key. */
static char *render(const struct wh_hook *h, const struct wh_delivery *d, const char *attempted) {
  /* every piece but the data is an id, a type name or a time: no escaping is needed */
  return pl__srv_printf("{\"type\":\"%s\",\"timestamp\":\"%s\",\"attemptedAt\":\"%s\","
                        "\"webhookEventId\":\"%s\",\"webhookId\":\"%s\",\"%s\":%s}",
                        k_types[d->type].name, d->timestamp, attempted, d->event_id, h->id,
                        k_types[d->type].key, d->data);
}

static void *worker(void *arg) {
  struct wh_hook *h = arg;
  struct srv_webhooks *w = h->w;
  pl_server *s = w->s;
  void *http = pl__wh_http_new();
  const char *secret = s->auth.webhook_secret;
  pthread_mutex_lock(&w->mu);
  while (!w->stop) {
    uint64_t now = mono_ns(), wake;
    struct wh_delivery *d = pick(h, now, &wake);
    if (!d) {
      if (wake == UINT64_MAX) {
        pthread_cond_wait(&w->cv, &w->mu);
      } else {
        struct timespec until = {(time_t)(wake / 1000000000u), (long)(wake % 1000000000u)};
        pthread_cond_timedwait(&w->cv, &w->mu, &until);
      }
      continue;
    }
    d->busy = 1;
    d->attempts++;
    w->attempts++;
    char attempted[40];
    pl__srv_time_str(pl__srv_now_ns(), attempted);
    char *body = render(h, d, attempted);
    char hdr_id[80], hdr_ev[80], hdr_hook[80], hdr_try[48], hdr_sig[128];
    snprintf(hdr_id, sizeof hdr_id, "X-Mcapkit-Delivery: %s", d->id);
    snprintf(hdr_ev, sizeof hdr_ev, "X-Mcapkit-Event: %s", k_types[d->type].name);
    snprintf(hdr_hook, sizeof hdr_hook, "X-Mcapkit-Webhook-Id: %s", h->id);
    snprintf(hdr_try, sizeof hdr_try, "X-Mcapkit-Attempt: %u", d->attempts);
    const char *headers[8] = {"Content-Type: application/json", "User-Agent: mcapkit-serve",
                              "Expect:", hdr_id, hdr_ev, hdr_hook, hdr_try, NULL};
    size_t n_headers = 7;
    if (secret && body) {
      uint8_t mac[PL__SHA256_SIZE];
      char hex[2 * PL__SHA256_SIZE + 1];
      pl__hmac_sha256(secret, strlen(secret), body, strlen(body), mac);
      pl__srv_hex(mac, sizeof mac, hex);
      snprintf(hdr_sig, sizeof hdr_sig, "X-Mcapkit-Signature-256: sha256=%s", hex);
      headers[n_headers++] = hdr_sig;
    }
    const char *url = h->url, *label = h->label;
    unsigned timeout = w->timeout_ms, attempt = d->attempts;
    pthread_mutex_unlock(&w->mu);

    struct pl__wh_result res;
    memset(&res, 0, sizeof res);
    int rc = body ? pl__wh_http_post(http, url, h->loopback, headers, n_headers, body,
                                     strlen(body), timeout, &h->cancel, &res)
                  : -1;
    if (!body) snprintf(res.error, sizeof res.error, "out of memory");
    free(body);

    pthread_mutex_lock(&w->mu);
    d->busy = 0;
    if (w->stop && rc != 0) break; /* cut off by the stop: it stays queued */
    long st = rc == 0 ? res.status : 0;
    if (st >= 200 && st < 300) {
      w->delivered++;
      pl__srv_log(s, "webhook %s: delivery %s (%s) acknowledged (%ld) at attempt %u", label, d->id,
                  k_types[d->type].name, st, attempt);
      remove_delivery(h, d);
    } else if (st && st != 408 && st != 429 && st < 500) {
      w->dropped++;
      pl__srv_log(s, "warning: webhook %s: delivery %s (%s) refused with %ld: dropped (%.100s)",
                  label, d->id, k_types[d->type].name, st, res.body);
      remove_delivery(h, d);
    } else if (attempt >= w->max_attempts) {
      w->dropped++;
      if (st)
        pl__srv_log(s, "warning: webhook %s: delivery %s (%s) dropped after %u attempts: the "
                    "last answered %ld", label, d->id, k_types[d->type].name, attempt, st);
      else
        pl__srv_log(s, "warning: webhook %s: delivery %s (%s) dropped after %u attempts: %s",
                    label, d->id, k_types[d->type].name, attempt, res.error);
      remove_delivery(h, d);
    } else {
      uint64_t ms = backoff_ms(w, attempt);
      /* a Retry-After asks for longer: granted up to the longest backoff */
      uint64_t asked = (uint64_t)(st && res.retry_after > 0 ? res.retry_after : 0) * 1000u;
      if (asked > ms) ms = asked < w->backoff_max_ms ? asked : w->backoff_max_ms;
      d->next_ns = mono_ns() + ms * 1000000u;
      if (st)
        pl__srv_log(s, "webhook %s: delivery %s (%s) attempt %u answered %ld: retry in %llu ms",
                    label, d->id, k_types[d->type].name, attempt, st, (unsigned long long)ms);
      else
        pl__srv_log(s, "webhook %s: delivery %s (%s) attempt %u failed (%s): retry in %llu ms",
                    label, d->id, k_types[d->type].name, attempt, res.error,
                    (unsigned long long)ms);
    }
  }
  pthread_mutex_unlock(&w->mu);
  pl__wh_http_free(http);
  return NULL;
}

/* ------------------------------------------------------------- life cycle */

static void free_all(struct srv_webhooks *w) {
  for (size_t i = 0; i < w->n; i++) {
    struct wh_hook *h = &w->hooks[i];
    for (size_t k = 0; k < h->q.n; k++) delivery_free(h->q.items[k]);
    free(h->q.items);
    free(h->url);
  }
  free(w->hooks);
  free(w->dir);
  pthread_mutex_destroy(&w->mu);
  pthread_cond_destroy(&w->cv);
  free(w);
}

int pl__site_webhooks_create(pl_server *s, pl_error_info *err) {
  const pl_server_options *o = &s->opt;
  s->webhooks = NULL;
  if (o->n_webhooks == 0) return PL_OK;
  if (!o->webhooks) return pl_error_set(err, PL_EINVAL, UINT64_MAX, "webhooks: no specs given");
  struct srv_webhooks *w = calloc(1, sizeof *w);
  if (!w) return pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
  w->s = s;
  pthread_mutex_init(&w->mu, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&w->cv, &ca);
  pthread_condattr_destroy(&ca);
  w->no_fsync = s->store.no_fsync;
  w->timeout_ms = o->webhook_timeout_ms ? o->webhook_timeout_ms : WH_DEFAULT_TIMEOUT_MS;
  w->backoff_ms = o->webhook_backoff_ms ? o->webhook_backoff_ms : WH_DEFAULT_BACKOFF_MS;
  w->backoff_max_ms =
      o->webhook_backoff_max_ms ? o->webhook_backoff_max_ms : WH_DEFAULT_BACKOFF_MAX_MS;
  if (w->backoff_max_ms < w->backoff_ms) w->backoff_max_ms = w->backoff_ms;
  w->max_attempts = o->webhook_max_attempts ? o->webhook_max_attempts : WH_DEFAULT_MAX_ATTEMPTS;
  w->queue_max = o->webhook_queue_max ? o->webhook_queue_max : WH_DEFAULT_QUEUE_MAX;
  w->hooks = calloc(o->n_webhooks, sizeof *w->hooks);
  w->dir = pl__srv_printf("%s/webhooks", s->store.data_dir);
  if (!w->hooks || !w->dir) {
    free_all(w);
    return pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
  }
  for (size_t i = 0; i < o->n_webhooks; i++) {
    struct wh_hook *h = &w->hooks[w->n];
    char msg[300];
    if (parse_spec(o->webhooks[i], &h->url, &h->events, &h->loopback, msg, sizeof msg) != 0) {
      free_all(w);
      return pl_error_set(err, PL_EINVAL, UINT64_MAX, "%s", msg);
    }
    w->n++;
    h->w = w;
    h->cancel = 0;
    /* the id follows the URL, so that queued deliveries find their webhook after a restart */
    snprintf(h->id, sizeof h->id, "wh_%016llx",
             (unsigned long long)pl_hash64(h->url, strlen(h->url)));
    char origin[128];
    url_origin(h->url, origin, sizeof origin);
    snprintf(h->label, sizeof h->label, "%s (%s)", h->id, origin);
    for (size_t k = 0; k + 1 < w->n; k++)
      if (strcmp(w->hooks[k].url, h->url) == 0) {
        int rc = pl_error_set(err, PL_EINVAL, UINT64_MAX,
                              "webhook URL '%s' is given twice (list its events once)", h->url);
        free_all(w);
        return rc;
      }
  }
  if (pl__srv_mkdirs(w->dir, 0700) != 0) {
    int rc =
        pl_error_set(err, PL_EIO, UINT64_MAX, "cannot create '%s': %s", w->dir, strerror(errno));
    free_all(w);
    return rc;
  }
  queue_load(w);
  s->webhooks = w;
  s->on_created = on_created;
  return PL_OK;
}

int pl__site_webhooks_start(pl_server *s, pl_error_info *err) {
  struct srv_webhooks *w = s->webhooks;
  if (!w) return PL_OK;
  int rc = pl__wh_http_load(err);
  if (rc != PL_OK) return rc;
  pthread_mutex_lock(&w->mu);
  w->stop = 0;
  if (s->opt.webhook_ping) {
    char event_id[SRV_ID_LEN + 1], ts[40];
    pl__srv_new_id("whe", event_id);
    pl__srv_time_str(pl__srv_now_ns(), ts);
    for (size_t i = 0; i < w->n; i++) {
      char data[64];
      snprintf(data, sizeof data, "{\"id\":\"%s\"}", w->hooks[i].id);
      enqueue(w, &w->hooks[i], TYPE_PING, event_id, ts, NULL, data);
    }
  }
  pthread_mutex_unlock(&w->mu);
  for (size_t i = 0; i < w->n; i++) {
    struct wh_hook *h = &w->hooks[i];
    __atomic_store_n(&h->cancel, 0, __ATOMIC_RELAXED);
    if (pthread_create(&h->thread, NULL, worker, h) != 0) {
      pl__site_webhooks_stop(s);
      return pl_error_set(err, PL_ENOMEM, UINT64_MAX, "cannot start a webhook worker");
    }
    h->running = 1;
  }
  return PL_OK;
}

void pl__site_webhooks_stop(pl_server *s) {
  struct srv_webhooks *w = s->webhooks;
  if (!w) return;
  pthread_mutex_lock(&w->mu);
  w->stop = 1;
  for (size_t i = 0; i < w->n; i++) __atomic_store_n(&w->hooks[i].cancel, 1, __ATOMIC_RELAXED);
  pthread_cond_broadcast(&w->cv);
  pthread_mutex_unlock(&w->mu);
  for (size_t i = 0; i < w->n; i++)
    if (w->hooks[i].running) {
      pthread_join(w->hooks[i].thread, NULL);
      w->hooks[i].running = 0;
    }
}

void pl__site_webhooks_free(pl_server *s) {
  if (!s->webhooks) return;
  pl__site_webhooks_stop(s);
  free_all(s->webhooks);
  s->webhooks = NULL;
}

void pl_server_get_webhook_stats(pl_server *s, pl_server_webhook_stats *out) {
  memset(out, 0, sizeof *out);
  struct srv_webhooks *w = s ? s->webhooks : NULL;
  if (!w) return;
  pthread_mutex_lock(&w->mu);
  for (size_t i = 0; i < w->n; i++) out->queued += w->hooks[i].q.n;
  out->delivered = w->delivered;
  out->attempts = w->attempts;
  out->dropped = w->dropped;
  pthread_mutex_unlock(&w->mu);
}
