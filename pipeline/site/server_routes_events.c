/*
 * server_routes_events.c - GET/POST /v1/events and GET/PATCH/DELETE
 * /v1/events/{id}.
 *
 * List filters (all ANDed): `start`/`end` keep events whose inclusive span
 * [start, end] intersects the inclusive range (only `start`: events ending at
 * or after it; only `end`: events starting at or before it); `createdAfter`
 * and `updatedAfter` are strict (after, not at); `deviceId`/`deviceName` (and
 * the deprecated dotted forms, the new names winning); `query`
 * (server_events_query.c). Sorting: `sortBy` id, deviceId/device.id,
 * deviceName/device.name, start, createdAt, updatedAt (default: createdAt),
 * ties broken by creation and then id, so that paging is stable.
 *
 * Strict choices where the reference is silent: create needs `start` and one of
 * deviceId/deviceName (an unknown device is 404; both naming different devices
 * is 400); `end` defaults to `start` and must not be before it; `metadata` is an
 * object of strings (non-empty keys; at most SRV_MAX_EVENT_KEYS entries and
 * SRV_MAX_EVENT_BYTES bytes); PATCH replaces the metadata whole when given and
 * keeps the span valid; a device with events cannot be deleted (devices route).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server_internal.h"

static const char *const k_sort[] = {"id",        "deviceId",  "deviceName", "device.name",
                                     "device.id", "start",     "createdAt",  "updatedAt",
                                     NULL};

/* Check `metadata` of the body: 0 and *out (borrowed; NULL when absent), or -1 (400 set). */
static int body_metadata(struct srv_req *q, struct srv_resp *r, json_object **out) {
  *out = NULL;
  json_object *md = NULL;
  if (!json_object_object_get_ex(q->body, "metadata", &md) || !md) return 0;
  if (!json_object_is_type(md, json_type_object)) {
    pl__srv_resp_error(r, 400, "field 'metadata' must be an object of strings");
    return -1;
  }
  if (json_object_object_length(md) > SRV_MAX_EVENT_KEYS) {
    pl__srv_resp_error(r, 400, "'metadata' has more than %d entries", SRV_MAX_EVENT_KEYS);
    return -1;
  }
  size_t bytes = 0;
  json_object_object_foreach(md, k, v) {
    if (!k[0]) {
      pl__srv_resp_error(r, 400, "'metadata' has an empty key");
      return -1;
    }
    if (!v || !json_object_is_type(v, json_type_string)) {
      pl__srv_resp_error(r, 400, "'metadata.%.64s' must be a string", k);
      return -1;
    }
    if (strlen(json_object_get_string(v)) != (size_t)json_object_get_string_len(v)) {
      pl__srv_resp_error(r, 400, "'metadata.%.64s' contains a NUL character", k);
      return -1;
    }
    bytes += strlen(k) + (size_t)json_object_get_string_len(v);
  }
  if (bytes > SRV_MAX_EVENT_BYTES) {
    pl__srv_resp_error(r, 400, "'metadata' holds more than %d bytes", SRV_MAX_EVENT_BYTES);
    return -1;
  }
  *out = md;
  return 0;
}

static json_object *copy_obj(json_object *o) {
  json_object *c = NULL;
  if (json_object_deep_copy(o, &c, NULL) != 0) return NULL;
  return c;
}

/* ------------------------------------------------------------- list */

struct ev_sort {
  int by;
  struct srv_store *st;
};

static const char *dev_name(struct srv_store *st, const struct srv_event *e) {
  const struct srv_device *d = pl__srv_device_by_id(st, e->device_id);
  return d ? d->name : "";
}

static int cmp_event(const void *a, const void *b, void *ctx) {
  const struct srv_event *x = a, *y = b;
  const struct ev_sort *es = ctx;
  int c = 0;
  switch (es->by) {
    case 0: return pl__srv_cmp_str(x->id, y->id);
    case 1:
    case 4: c = pl__srv_cmp_str(x->device_id, y->device_id); break;
    case 2:
    case 3: c = pl__srv_cmp_str(dev_name(es->st, x), dev_name(es->st, y)); break;
    case 5: c = pl__srv_cmp_u64(x->start, y->start); break;
    case 7: c = pl__srv_cmp_u64(x->updated, y->updated); break;
    default: break;
  }
  if (!c) c = pl__srv_cmp_u64(x->created, y->created);
  return c ? c : pl__srv_cmp_str(x->id, y->id);
}

static void list_events(struct srv_req *q, struct srv_resp *r) {
  static const char *const allowed[] = {
      "start",     "end",       "createdAfter", "updatedAfter", "deviceId", "deviceName",
      "device.id", "device.name", "query",      "sortBy",       "sortOrder", "limit",
      "offset",    NULL};
  if (!pl__srv_params_allow(q, r, allowed)) return;
  size_t limit, offset;
  int by, desc;
  uint64_t start = 0, end = 0, created_after = 0, updated_after = 0;
  if (pl__srv_param_paging(q, r, &limit, &offset) != 0) return;
  if (pl__srv_param_sort(q, r, k_sort, &by, &desc) != 0) return;
  int has_start = pl__srv_param_time(q, r, "start", &start);
  if (has_start < 0) return;
  int has_end = pl__srv_param_time(q, r, "end", &end);
  if (has_end < 0) return;
  int has_ca = pl__srv_param_time(q, r, "createdAfter", &created_after);
  if (has_ca < 0) return;
  int has_ua = pl__srv_param_time(q, r, "updatedAfter", &updated_after);
  if (has_ua < 0) return;
  if (has_start && has_end && end < start) {
    pl__srv_resp_error(r, 400, "invalid range: 'end' is before 'start'");
    return;
  }
  struct srv_evq query = {NULL, 0};
  const char *qtext = pl__srv_param(q, "query");
  if (qtext) {
    char msg[160];
    if (pl__srv_evq_parse(qtext, strlen(qtext), &query, msg, sizeof msg) != 0) {
      pl__srv_resp_error(r, 400, "invalid 'query': %s", msg);
      return;
    }
  }
  const char *did, *dname;
  pl__srv_param_device(q, &did, &dname);
  struct srv_store *st = &q->srv->store;
  pthread_rwlock_rdlock(&st->lock);
  const struct srv_device *named = dname ? pl__srv_device_by_name(st, dname) : NULL;
  void **items = malloc((st->events.n ? st->events.n : 1) * sizeof *items);
  size_t n = 0;
  int none = dname && !named;
  for (size_t i = 0; items && !none && i < st->events.n; i++) {
    struct srv_event *e = st->events.items[i];
    if (has_start && e->end < start) continue;
    if (has_end && e->start > end) continue;
    if (has_ca && e->created <= created_after) continue;
    if (has_ua && e->updated <= updated_after) continue;
    if (did && strcmp(did, e->device_id) != 0) continue;
    if (named && strcmp(named->id, e->device_id) != 0) continue;
    if (qtext && !pl__srv_evq_match(&query, e->metadata)) continue;
    items[n++] = e;
  }
  pl__srv_evq_dispose(&query);
  if (!items) {
    pthread_rwlock_unlock(&st->lock);
    pl__srv_resp_error(r, 500, "out of memory");
    return;
  }
  struct ev_sort es = {by, st};
  pl__srv_sort(items, n, cmp_event, &es, desc);
  json_object *arr = json_object_new_array();
  for (size_t i = offset; i < n && i - offset < limit; i++)
    json_object_array_add(arr, pl__srv_event_json(st, items[i]));
  pthread_rwlock_unlock(&st->lock);
  free(items);
  pl__srv_resp_json(r, 200, arr);
}

/* ------------------------------------------------------------- create */

static void create_event(struct srv_req *q, struct srv_resp *r) {
  static const char *const body[] = {"deviceId", "deviceName", "device.id", "device.name",
                                     "metadata", "start",      "end",       NULL};
  if (!pl__srv_params_allow(q, r, (const char *const[]){NULL})) return;
  if (!pl__srv_body_allow(q, r, body)) return;
  const char *did, *dname, *did_old, *dname_old;
  if (pl__srv_body_str(q, r, "deviceId", &did) < 0 ||
      pl__srv_body_str(q, r, "deviceName", &dname) < 0 ||
      pl__srv_body_str(q, r, "device.id", &did_old) < 0 ||
      pl__srv_body_str(q, r, "device.name", &dname_old) < 0)
    return;
  if (!did) did = did_old;
  if (!dname) dname = dname_old;
  int has_start, has_end;
  uint64_t start = 0, end = 0;
  if (pl__srv_body_time(q, r, "start", &has_start, &start) < 0 ||
      pl__srv_body_time(q, r, "end", &has_end, &end) < 0)
    return;
  json_object *md;
  if (body_metadata(q, r, &md) != 0) return;
  if (!did && !dname) {
    pl__srv_resp_error(r, 400, "one of 'deviceId' or 'deviceName' is required");
    return;
  }
  if (!has_start) {
    pl__srv_resp_error(r, 400, "field 'start' is required");
    return;
  }
  if (!has_end) end = start;
  if (end < start) {
    pl__srv_resp_error(r, 400, "invalid 'end': before 'start'");
    return;
  }
  struct srv_store *st = &q->srv->store;
  pthread_rwlock_wrlock(&st->lock);
  struct srv_device *d = did ? pl__srv_device_by_id(st, did) : NULL;
  struct srv_device *dn = dname ? pl__srv_device_by_name(st, dname) : NULL;
  int status = 0;
  if (did && !d) {
    status = 404;
    pl__srv_resp_error(r, 404, "device '%s' not found", did);
  } else if (dname && !dn) {
    status = 404;
    pl__srv_resp_error(r, 404, "device '%s' not found", dname);
  } else if (d && dn && d != dn) {
    status = 400;
    pl__srv_resp_error(r, 400, "'deviceId' and 'deviceName' name different devices");
  } else if (st->events.n >= SRV_MAX_EVENTS) {
    status = 409;
    pl__srv_resp_error(r, 409, "the site has the most events it holds (%d)", SRV_MAX_EVENTS);
  }
  if (status) {
    pthread_rwlock_unlock(&st->lock);
    return;
  }
  if (!d) d = dn;
  struct srv_event *e = calloc(1, sizeof *e);
  char id[SRV_ID_LEN + 1];
  pl__srv_new_id("evt", id);
  if (e) {
    e->id = pl__srv_strdup(id);
    e->device_id = pl__srv_strdup(d->id);
    e->metadata = md ? copy_obj(md) : json_object_new_object();
    e->start = start;
    e->end = end;
    e->created = e->updated = pl__srv_now_ns();
  }
  json_object *out = NULL;
  if (!e || !e->id || !e->device_id || !e->metadata) {
    pl__srv_event_free(e);
  } else if (pl__srv_event_add(st, e) == 0) {
    out = pl__srv_event_json(st, e);
    pl__srv_notify_created(q->srv, "event.created", out);
  }
  pthread_rwlock_unlock(&st->lock);
  if (!out) {
    pl__srv_resp_error(r, 500, "cannot store the event");
    return;
  }
  pl__srv_resp_json(r, 200, out);
}

/* ------------------------------------------------------------- one event */

static void one_event(struct srv_req *q, struct srv_resp *r) {
  if (!pl__srv_params_allow(q, r, (const char *const[]){NULL})) return;
  const char *id = q->seg[1];
  struct srv_store *st = &q->srv->store;
  if (strcmp(q->method, "GET") == 0) {
    pthread_rwlock_rdlock(&st->lock);
    struct srv_event *e = pl__srv_event_by_id(st, id);
    json_object *out = e ? pl__srv_event_json(st, e) : NULL;
    pthread_rwlock_unlock(&st->lock);
    if (!out) {
      pl__srv_resp_error(r, 404, "event '%s' not found", id);
      return;
    }
    pl__srv_resp_json(r, 200, out);
    return;
  }
  if (strcmp(q->method, "PATCH") == 0) {
    static const char *const body[] = {"metadata", "start", "end", NULL};
    if (!pl__srv_body_allow(q, r, body)) return;
    int has_start, has_end;
    uint64_t start = 0, end = 0;
    if (pl__srv_body_time(q, r, "start", &has_start, &start) < 0 ||
        pl__srv_body_time(q, r, "end", &has_end, &end) < 0)
      return;
    json_object *md;
    if (body_metadata(q, r, &md) != 0) return;
    pthread_rwlock_wrlock(&st->lock);
    struct srv_event *e = pl__srv_event_by_id(st, id);
    if (!e) {
      pthread_rwlock_unlock(&st->lock);
      pl__srv_resp_error(r, 404, "event '%s' not found", id);
      return;
    }
    uint64_t ns = has_start ? start : e->start, ne = has_end ? end : e->end;
    if (ne < ns) {
      pthread_rwlock_unlock(&st->lock);
      pl__srv_resp_error(r, 400, "invalid 'end': before 'start'");
      return;
    }
    json_object *new_md = md ? copy_obj(md) : NULL;
    if (md && !new_md) {
      pthread_rwlock_unlock(&st->lock);
      pl__srv_resp_error(r, 500, "out of memory");
      return;
    }
    struct srv_event old = *e;
    e->start = ns;
    e->end = ne;
    if (new_md) e->metadata = new_md;
    e->updated = pl__srv_now_ns();
    if (pl__srv_event_save(st, e) != 0) {
      /* roll back so memory matches the disk */
      json_object_put(new_md);
      *e = old;
      pthread_rwlock_unlock(&st->lock);
      pl__srv_resp_error(r, 500, "cannot store the event");
      return;
    }
    if (new_md) json_object_put(old.metadata);
    json_object *out = pl__srv_event_json(st, e);
    pthread_rwlock_unlock(&st->lock);
    pl__srv_resp_json(r, 200, out);
    return;
  }
  /* DELETE */
  pthread_rwlock_wrlock(&st->lock);
  struct srv_event *e = pl__srv_event_by_id(st, id);
  if (!e) {
    pthread_rwlock_unlock(&st->lock);
    pl__srv_resp_error(r, 404, "event '%s' not found", id);
    return;
  }
  char keep[SRV_ID_LEN + 1];
  snprintf(keep, sizeof keep, "%s", e->id);
  int rc = pl__srv_event_delete(st, e);
  pthread_rwlock_unlock(&st->lock);
  if (rc != 0) {
    pl__srv_resp_error(r, 500, "cannot delete the event");
    return;
  }
  json_object *o = json_object_new_object();
  json_object_object_add(o, "id", json_object_new_string(keep));
  pl__srv_resp_json(r, 200, o);
}

void pl__srv_route_events(struct srv_req *q, struct srv_resp *r) {
  if (q->n_seg == 1) {
    if (strcmp(q->method, "POST") == 0)
      create_event(q, r);
    else
      list_events(q, r);
    return;
  }
  one_event(q, r);
}
