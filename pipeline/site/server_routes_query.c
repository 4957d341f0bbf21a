/*
 * server_routes_query.c - GET /v1/data/topics, /v1/data/coverage and
 * /v1/lake-files: read-only views over the indexes of complete recordings.
 *
 * Strict choices: a recordingId/recordingKey/importId filter or a device
 * filter that names nothing known is 404 here (these endpoints describe one
 * recording or device); topics are merged across recordings by (topic,
 * version); coverage merges each device's ranges with the requested
 * tolerance (clamped to at least 14 s, as the hosted API does) and returns
 * the ranges that overlap [start, end] without clipping them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server_internal.h"

#define MIN_TOLERANCE_NS (UINT64_C(14) * 1000000000u)
#define DAY_NS (UINT64_C(86400) * 1000000000u)

/* Selection shared by the three endpoints. */
struct selection {
  const struct srv_recording *rec; /* recordingId / recordingKey / importId */
  const struct srv_device *dev;    /* deviceId / deviceName */
  int has_rec, has_dev;
};

/* 0 ok, -1 error response set. */
static int select_scope(struct srv_req *q, struct srv_resp *r, struct srv_store *st,
                        struct selection *sel, int allow_import_id) {
  memset(sel, 0, sizeof *sel);
  const char *rid = pl__srv_param(q, "recordingId"), *rkey = pl__srv_param(q, "recordingKey");
  const char *iid = allow_import_id ? pl__srv_param(q, "importId") : NULL;
  if (!rid) rid = iid;
  if (rid || rkey) {
    sel->has_rec = 1;
    sel->rec = rid ? pl__srv_rec_by_id(st, rid) : pl__srv_rec_by_key(st, rkey);
    if (sel->rec && rid && rkey && (!sel->rec->key || strcmp(sel->rec->key, rkey) != 0))
      sel->rec = NULL;
    if (!sel->rec || sel->rec->status != REC_COMPLETE) {
      pl__srv_resp_error(r, 404, "recording '%s' not found", rid ? rid : rkey);
      return -1;
    }
  }
  const char *did, *dname;
  pl__srv_param_device(q, &did, &dname);
  if (did || dname) {
    sel->has_dev = 1;
    sel->dev = did ? pl__srv_device_by_id(st, did) : pl__srv_device_by_name(st, dname);
    if (sel->dev && did && dname && strcmp(sel->dev->name, dname) != 0) sel->dev = NULL;
    if (!sel->dev) {
      pl__srv_resp_error(r, 404, "device '%s' not found", did ? did : dname);
      return -1;
    }
  }
  return 0;
}

static int in_scope(const struct selection *sel, const struct srv_recording *rec) {
  if (rec->status != REC_COMPLETE || !rec->index) return 0;
  if (sel->has_rec && rec != sel->rec) return 0;
  if (sel->has_dev && (!rec->device_id || strcmp(rec->device_id, sel->dev->id) != 0)) return 0;
  return 1;
}

/* ------------------------------------------------------------- topics */

static int cmp_topic(const void *a, const void *b, void *ctx) {
  const pl_topic *x = a, *y = b;
  int by = *(const int *)ctx;
  int c = by == 1 ? pl__srv_cmp_str(x->version, y->version) : pl__srv_cmp_str(x->topic, y->topic);
  if (!c) c = by == 1 ? pl__srv_cmp_str(x->topic, y->topic) : pl__srv_cmp_str(x->version, y->version);
  return c;
}

void pl__srv_route_topics(struct srv_req *q, struct srv_resp *r) {
  static const char *const allowed[] = {
      "start",     "end",         "importId",  "recordingId", "recordingKey",   "deviceId",
      "deviceName", "device.id",  "device.name", "includeSchemas", "sortBy",    "sortOrder",
      "limit",     "offset",      NULL};
  static const char *const sorts[] = {"topic", "version", NULL};
  if (!pl__srv_params_allow(q, r, allowed)) return;
  size_t limit, offset;
  int by, desc, schemas = 0;
  uint64_t start = 0, end = 0;
  if (pl__srv_param_paging(q, r, &limit, &offset) != 0) return;
  if (pl__srv_param_sort(q, r, sorts, &by, &desc) != 0) return;
  if (pl__srv_param_bool(q, r, "includeSchemas", &schemas) < 0) return;
  int has_start = pl__srv_param_time(q, r, "start", &start);
  if (has_start < 0) return;
  int has_end = pl__srv_param_time(q, r, "end", &end);
  if (has_end < 0) return;
  struct srv_store *st = &q->srv->store;
  pthread_rwlock_rdlock(&st->lock);
  struct selection sel;
  if (select_scope(q, r, st, &sel, 1) != 0) {
    pthread_rwlock_unlock(&st->lock);
    return;
  }
  struct srv_vec topics = {0};
  for (size_t i = 0; i < st->recordings.n; i++) {
    const struct srv_recording *rec = st->recordings.items[i];
    if (!in_scope(&sel, rec)) continue;
    if (has_start && rec->index->end < start) continue;
    if (has_end && rec->index->start > end) continue;
    for (size_t t = 0; t < rec->index->n_topics; t++) {
      pl_topic *tp = &rec->index->topics[t];
      int dup = 0;
      for (size_t k = 0; k < topics.n && !dup; k++) {
        const pl_topic *o = topics.items[k];
        dup = pl__srv_cmp_str(o->topic, tp->topic) == 0 &&
              pl__srv_cmp_str(o->version, tp->version) == 0;
      }
      if (!dup) pl__srv_vec_push(&topics, tp);
    }
  }
  if (by < 0) by = 0;
  pl__srv_sort(topics.items, topics.n, cmp_topic, &by, desc);
  json_object *arr = json_object_new_array();
  for (size_t i = offset; i < topics.n && i - offset < limit; i++) {
    const pl_topic *tp = topics.items[i];
    json_object *o = json_object_new_object();
    json_object_object_add(o, "topic", json_object_new_string(tp->topic ? tp->topic : ""));
    json_object_object_add(o, "version", json_object_new_string(tp->version ? tp->version : ""));
    json_object_object_add(o, "encoding", json_object_new_string(tp->encoding ? tp->encoding : ""));
    json_object_object_add(o, "schemaName",
                           json_object_new_string(tp->schema_name ? tp->schema_name : ""));
    json_object_object_add(o, "schemaEncoding",
                           json_object_new_string(tp->schema_encoding ? tp->schema_encoding : ""));
    if (schemas) {
      char *b64 = pl_base64_dup(tp->schema, tp->schema_len);
      json_object_object_add(o, "schema", json_object_new_string(b64 ? b64 : ""));
      free(b64);
    }
    json_object_array_add(arr, o);
  }
  pthread_rwlock_unlock(&st->lock);
  free(topics.items);
  pl__srv_resp_json(r, 200, arr);
}

/* ------------------------------------------------------------- coverage */

struct cov_item {
  const struct srv_device *dev;
  pl_range range;
};

static int cmp_cov(const void *a, const void *b, void *ctx) {
  const struct cov_item *x = a, *y = b;
  int by = *(const int *)ctx, c = 0;
  switch (by) {
    case 0:
    case 1: c = pl__srv_cmp_str(x->dev->id, y->dev->id); break;
    case 2:
    case 3: c = pl__srv_cmp_str(x->dev->name, y->dev->name); break;
    case 5: c = pl__srv_cmp_u64(x->range.end, y->range.end); break;
    default: break;
  }
  if (!c) c = pl__srv_cmp_u64(x->range.start, y->range.start);
  if (!c) c = pl__srv_cmp_str(x->dev->id, y->dev->id);
  return c;
}

void pl__srv_route_coverage(struct srv_req *q, struct srv_resp *r) {
  static const char *const allowed[] = {
      "start",     "end",       "tolerance", "deviceId",  "deviceName", "device.id",
      "device.name", "includeEdgeRecordings", "importId", "recordingId", "recordingKey",
      "sortBy",    "sortOrder", "limit",     "offset",    NULL};
  static const char *const sorts[] = {"deviceId", "device.id", "device.name", "deviceName",
                                      "start",    "end",       NULL};
  if (!pl__srv_params_allow(q, r, allowed)) return;
  size_t limit, offset;
  int by, desc, edge = 0;
  uint64_t start = 0, end = 0;
  double tol = 0;
  if (pl__srv_param_paging(q, r, &limit, &offset) != 0) return;
  if (pl__srv_param_sort(q, r, sorts, &by, &desc) != 0) return;
  if (pl__srv_param_bool(q, r, "includeEdgeRecordings", &edge) < 0) return;
  int has_tol = pl__srv_param_number(q, r, "tolerance", &tol);
  if (has_tol < 0) return;
  int has_start = pl__srv_param_time(q, r, "start", &start);
  if (has_start < 0) return;
  int has_end = pl__srv_param_time(q, r, "end", &end);
  if (has_end < 0) return;
  if (!has_start || !has_end) {
    pl__srv_resp_error(r, 400, "'start' and 'end' are required");
    return;
  }
  if (end < start) {
    pl__srv_resp_error(r, 400, "'end' is before 'start'");
    return;
  }
  uint64_t tol_ns = MIN_TOLERANCE_NS;
  if (has_tol && tol * 1e9 > (double)MIN_TOLERANCE_NS)
    tol_ns = tol * 1e9 >= 1.8e19 ? UINT64_MAX / 2 : (uint64_t)(tol * 1e9);
  struct srv_store *st = &q->srv->store;
  pthread_rwlock_rdlock(&st->lock);
  struct selection sel;
  if (select_scope(q, r, st, &sel, 1) != 0) {
    pthread_rwlock_unlock(&st->lock);
    return;
  }
  struct cov_item *items = NULL;
  size_t n_items = 0, cap_items = 0;
  int failed = 0;
  for (size_t d = 0; d < st->devices.n && !failed; d++) {
    const struct srv_device *dev = st->devices.items[d];
    if (sel.has_dev && dev != sel.dev) continue;
    pl_range *ranges = NULL;
    size_t n = 0, cap = 0;
    for (size_t i = 0; i < st->recordings.n; i++) {
      const struct srv_recording *rec = st->recordings.items[i];
      if (!in_scope(&sel, rec) || !rec->device_id || strcmp(rec->device_id, dev->id) != 0)
        continue;
      for (size_t k = 0; k < rec->index->n_coverage; k++) {
        if (n == cap) {
          cap = cap ? 2 * cap : 16;
          pl_range *p = realloc(ranges, cap * sizeof *p);
          if (!p) {
            failed = 1;
            break;
          }
          ranges = p;
        }
        ranges[n++] = rec->index->coverage[k];
      }
    }
    pl_range *merged = NULL;
    size_t n_merged = 0;
    if (n && !failed && pl_coverage_merge(ranges, n, tol_ns, &merged, &n_merged) != PL_OK)
      failed = 1;
    for (size_t k = 0; k < n_merged && !failed; k++) {
      if (merged[k].end < start || merged[k].start > end) continue;
      if (n_items == cap_items) {
        cap_items = cap_items ? 2 * cap_items : 16;
        struct cov_item *p = realloc(items, cap_items * sizeof *p);
        if (!p) {
          failed = 1;
          break;
        }
        items = p;
      }
      items[n_items].dev = dev;
      items[n_items].range = merged[k];
      n_items++;
    }
    free(merged);
    free(ranges);
  }
  if (failed) {
    pthread_rwlock_unlock(&st->lock);
    free(items);
    pl__srv_resp_error(r, 500, "cannot compute the coverage");
    return;
  }
  void **ptrs = malloc((n_items ? n_items : 1) * sizeof *ptrs);
  for (size_t i = 0; ptrs && i < n_items; i++) ptrs[i] = &items[i];
  json_object *arr = json_object_new_array();
  if (ptrs) {
    pl__srv_sort(ptrs, n_items, cmp_cov, &by, desc);
    for (size_t i = offset; i < n_items && i - offset < limit; i++) {
      const struct cov_item *c = ptrs[i];
      json_object *o = json_object_new_object();
      json_object_object_add(o, "deviceId", json_object_new_string(c->dev->id));
      json_object *dj = json_object_new_object();
      json_object_object_add(dj, "id", json_object_new_string(c->dev->id));
      json_object_object_add(dj, "name", json_object_new_string(c->dev->name));
      json_object_object_add(o, "device", dj);
      json_object_object_add(o, "start", pl__srv_json_time(c->range.start));
      json_object_object_add(o, "end", pl__srv_json_time(c->range.end));
      json_object_object_add(o, "status", json_object_new_string("imported"));
      json_object_object_add(o, "importStatus", json_object_new_string("complete"));
      json_object_array_add(arr, o);
    }
  }
  pthread_rwlock_unlock(&st->lock);
  free(ptrs);
  free(items);
  pl__srv_resp_json(r, 200, arr);
}

/* ------------------------------------------------------------- lake files */

void pl__srv_route_lake_files(struct srv_req *q, struct srv_resp *r) {
  static const char *const allowed[] = {"siteId",       "deviceId", "deviceName", "recordingId",
                                        "recordingKey", "start",    "end",        "topic",
                                        NULL};
  if (!pl__srv_params_allow(q, r, allowed)) return;
  const char *site = pl__srv_param(q, "siteId"), *topic = pl__srv_param(q, "topic");
  uint64_t start = 0, end = 0;
  int has_start = pl__srv_param_time(q, r, "start", &start);
  if (has_start < 0) return;
  int has_end = pl__srv_param_time(q, r, "end", &end);
  if (has_end < 0) return;
  if (!site) {
    pl__srv_resp_error(r, 400, "'siteId' is required");
    return;
  }
  int by_dev = pl__srv_param(q, "deviceId") || pl__srv_param(q, "deviceName");
  int by_rec = pl__srv_param(q, "recordingId") || pl__srv_param(q, "recordingKey");
  if (!by_dev && !by_rec) {
    pl__srv_resp_error(r, 400,
                       "one of 'deviceId', 'deviceName', 'recordingId' or 'recordingKey' is "
                       "required");
    return;
  }
  if (has_start != has_end) {
    pl__srv_resp_error(r, 400, "'start' and 'end' go together");
    return;
  }
  if (by_dev && !has_start) {
    pl__srv_resp_error(r, 400, "'start' and 'end' are required with a device");
    return;
  }
  if (has_start && end < start) {
    pl__srv_resp_error(r, 400, "'end' is before 'start'");
    return;
  }
  if (has_start && by_dev && end - start > DAY_NS) {
    pl__srv_resp_error(r, 400, "'start' and 'end' must be at most 24 hours apart");
    return;
  }
  struct srv_store *st = &q->srv->store;
  pthread_rwlock_rdlock(&st->lock);
  if (strcmp(site, st->site_id) != 0) {
    pthread_rwlock_unlock(&st->lock);
    pl__srv_resp_error(r, 404, "site '%s' not found", site);
    return;
  }
  struct selection sel;
  if (select_scope(q, r, st, &sel, 0) != 0) {
    pthread_rwlock_unlock(&st->lock);
    return;
  }
  json_object *arr = json_object_new_array();
  for (size_t i = 0; i < st->recordings.n; i++) {
    const struct srv_recording *rec = st->recordings.items[i];
    if (!in_scope(&sel, rec)) continue;
    if (has_start && (rec->index->end < start || rec->index->start > end)) continue;
    for (size_t k = 0; k < rec->n_lake; k++) {
      const struct srv_lakefile *f = &rec->lake[k];
      if (topic) {
        int found = 0;
        for (size_t t = 0; t < f->n_topics; t++)
          if (strcmp(f->topics[t], topic) == 0) found = 1;
        if (!found) continue;
      }
      json_object *o = json_object_new_object();
      json_object_object_add(o, "path", json_object_new_string(f->path));
      json_object *ta = json_object_new_array();
      for (size_t t = 0; t < f->n_topics; t++)
        json_object_array_add(ta, json_object_new_string(f->topics[t]));
      json_object_object_add(o, "topics", ta);
      json_object_array_add(arr, o);
    }
  }
  pthread_rwlock_unlock(&st->lock);
  pl__srv_resp_json(r, 200, arr);
}
