/*
 * server_routes_recordings.c - GET /v1/recordings, GET and DELETE
 * /v1/recordings/{keyOrId}.
 *
 * Filters: start/end keep recordings whose data overlaps the inclusive range;
 * path is an exact match; site.id must be this site's id (another id matches
 * nothing) and edgeSite.id matches nothing (there are no edge sites); topic
 * keeps recordings that have the topic. Default order: createdAt ascending.
 * A recording that is still importing cannot be deleted (409).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server_internal.h"

static const char *const k_sort[] = {"deviceName", "device.name", "createdAt", "start",
                                     "end",        "duration",    "path",      "importedAt",
                                     NULL};

static const char *const k_status[] = {"none", "pending", "importing", "failed", "complete", NULL};

struct rec_sort {
  int by;
  struct srv_store *st;
};

static const char *dev_name(struct srv_store *st, const struct srv_recording *r) {
  struct srv_device *d = r->device_id ? pl__srv_device_by_id(st, r->device_id) : NULL;
  return d ? d->name : NULL;
}

static uint64_t rstart(const struct srv_recording *r) { return r->index ? r->index->start : 0; }
static uint64_t rend(const struct srv_recording *r) { return r->index ? r->index->end : 0; }

static int cmp_rec(const void *a, const void *b, void *ctx) {
  const struct srv_recording *x = a, *y = b;
  const struct rec_sort *rs = ctx;
  int c = 0;
  switch (rs->by) {
    case 0:
    case 1: c = pl__srv_cmp_str(dev_name(rs->st, x), dev_name(rs->st, y)); break;
    case 3: c = pl__srv_cmp_u64(rstart(x), rstart(y)); break;
    case 4: c = pl__srv_cmp_u64(rend(x), rend(y)); break;
    case 5: c = pl__srv_cmp_u64(rend(x) - rstart(x), rend(y) - rstart(y)); break;
    case 6: c = pl__srv_cmp_str(x->path, y->path); break;
    case 7: c = pl__srv_cmp_u64(x->imported, y->imported); break;
    default: break;
  }
  if (!c) c = pl__srv_cmp_u64(x->created, y->created);
  return c ? c : pl__srv_cmp_str(x->id, y->id);
}

static int has_topic(const struct srv_recording *r, const char *topic) {
  for (size_t i = 0; r->index && i < r->index->n_topics; i++)
    if (r->index->topics[i].topic && strcmp(r->index->topics[i].topic, topic) == 0) return 1;
  return 0;
}

static void list_recordings(struct srv_req *q, struct srv_resp *r) {
  static const char *const allowed[] = {
      "start",     "end",         "path",         "site.id", "edgeSite.id",
      "deviceId",  "deviceName",  "device.id",    "device.name", "topic",
      "importStatus", "limit",    "offset",       "sortBy",  "sortOrder", NULL};
  if (!pl__srv_params_allow(q, r, allowed)) return;
  size_t limit, offset;
  int by, desc;
  uint64_t start = 0, end = 0;
  if (pl__srv_param_paging(q, r, &limit, &offset) != 0) return;
  if (pl__srv_param_sort(q, r, k_sort, &by, &desc) != 0) return;
  int has_start = pl__srv_param_time(q, r, "start", &start);
  if (has_start < 0) return;
  int has_end = pl__srv_param_time(q, r, "end", &end);
  if (has_end < 0) return;
  const char *status = pl__srv_param(q, "importStatus");
  int want_status = -1;
  if (status) {
    int ok = 0;
    for (int i = 0; k_status[i]; i++)
      if (strcmp(k_status[i], status) == 0) ok = 1;
    if (!ok) {
      pl__srv_resp_error(r, 400,
                         "invalid 'importStatus': '%s' (expected none, pending, importing, "
                         "failed or complete)",
                         status);
      return;
    }
    want_status = strcmp(status, "importing") == 0  ? REC_IMPORTING
                  : strcmp(status, "complete") == 0 ? REC_COMPLETE
                  : strcmp(status, "failed") == 0   ? REC_FAILED
                                                    : -2; /* none/pending: no such here */
  }
  const char *path = pl__srv_param(q, "path"), *site = pl__srv_param(q, "site.id");
  const char *edge = pl__srv_param(q, "edgeSite.id"), *topic = pl__srv_param(q, "topic");
  const char *did, *dname;
  pl__srv_param_device(q, &did, &dname);
  struct srv_store *st = &q->srv->store;
  pthread_rwlock_rdlock(&st->lock);
  void **items = malloc((st->recordings.n ? st->recordings.n : 1) * sizeof *items);
  size_t n = 0;
  int none = (site && strcmp(site, st->site_id) != 0) || edge || want_status == -2;
  for (size_t i = 0; items && !none && i < st->recordings.n; i++) {
    struct srv_recording *rec = st->recordings.items[i];
    if (want_status >= 0 && rec->status != want_status) continue;
    if (has_start && rend(rec) < start) continue;
    if (has_end && rstart(rec) > end) continue;
    if (path && strcmp(path, rec->path) != 0) continue;
    if (did && (!rec->device_id || strcmp(did, rec->device_id) != 0)) continue;
    if (dname) {
      const char *dn = dev_name(st, rec);
      if (!dn || strcmp(dn, dname) != 0) continue;
    }
    if (topic && !has_topic(rec, topic)) continue;
    items[n++] = rec;
  }
  if (!items) {
    pthread_rwlock_unlock(&st->lock);
    pl__srv_resp_error(r, 500, "out of memory");
    return;
  }
  struct rec_sort rs = {by, st};
  pl__srv_sort(items, n, cmp_rec, &rs, desc);
  json_object *arr = json_object_new_array();
  for (size_t i = offset; i < n && i - offset < limit; i++)
    json_object_array_add(arr, pl__srv_rec_json(st, items[i]));
  pthread_rwlock_unlock(&st->lock);
  free(items);
  pl__srv_resp_json(r, 200, arr);
}

void pl__srv_route_recordings(struct srv_req *q, struct srv_resp *r) {
  if (q->n_seg == 1) {
    list_recordings(q, r);
    return;
  }
  if (!pl__srv_params_allow(q, r, (const char *const[]){NULL})) return;
  const char *key_or_id = q->seg[1];
  struct srv_store *st = &q->srv->store;
  if (strcmp(q->method, "GET") == 0) {
    pthread_rwlock_rdlock(&st->lock);
    struct srv_recording *rec = pl__srv_rec_find(st, key_or_id);
    json_object *out = rec ? pl__srv_rec_json(st, rec) : NULL;
    pthread_rwlock_unlock(&st->lock);
    if (!out) {
      pl__srv_resp_error(r, 404, "recording '%s' not found", key_or_id);
      return;
    }
    pl__srv_resp_json(r, 200, out);
    return;
  }
  pthread_rwlock_wrlock(&st->lock);
  struct srv_recording *rec = pl__srv_rec_find(st, key_or_id);
  if (!rec) {
    pthread_rwlock_unlock(&st->lock);
    pl__srv_resp_error(r, 404, "recording '%s' not found", key_or_id);
    return;
  }
  if (rec->status == REC_IMPORTING) {
    pthread_rwlock_unlock(&st->lock);
    pl__srv_resp_error(r, 409, "recording '%s' is still importing", key_or_id);
    return;
  }
  char id[SRV_ID_LEN + 1];
  snprintf(id, sizeof id, "%s", rec->id);
  int rc = pl__srv_rec_delete(st, rec);
  pthread_rwlock_unlock(&st->lock);
  if (rc != 0) {
    pl__srv_resp_error(r, 500, "cannot delete recording '%s'", key_or_id);
    return;
  }
  json_object *o = json_object_new_object();
  json_object_object_add(o, "recordingId", json_object_new_string(id));
  pl__srv_resp_json(r, 200, o);
}
