/*
 * server_routes_data.c - POST /v1/data/upload (hands out a signed upload link
 * and records the pending import) and GET /v1/data/pending-imports.
 *
 * Strict choices: "filename" is data, never a path: any non-empty UTF-8 text
 * of at most 1024 bytes ("run-7/front.mcap" and "../x.mcap" too), kept as the
 * recording's path; "key" must be a plain name (no '/' or '\\', no control
 * characters, not "." or "..") of 1..512 bytes; an unknown deviceId is 404;
 * deviceName must be a valid device name (the device is created by the import
 * if it does not exist); deviceId
 * and deviceName together must name the same device. Pending imports are
 * listed from the moment their upload is received; failed imports are
 * quarantined, so they are listed only with showQuarantined=true.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server_internal.h"

void pl__srv_route_upload(struct srv_req *q, struct srv_resp *r) {
  static const char *const body[] = {"filename",  "deviceId",    "deviceName", "device.id",
                                     "device.name", "key", NULL};
  if (!pl__srv_params_allow(q, r, (const char *const[]){NULL})) return;
  if (!pl__srv_body_allow(q, r, body)) return;
  const char *filename, *dev_id, *dev_name, *dev_id_old, *dev_name_old, *key;
  if (pl__srv_body_str(q, r, "filename", &filename) < 0 ||
      pl__srv_body_str(q, r, "deviceId", &dev_id) < 0 ||
      pl__srv_body_str(q, r, "deviceName", &dev_name) < 0 ||
      pl__srv_body_str(q, r, "device.id", &dev_id_old) < 0 ||
      pl__srv_body_str(q, r, "device.name", &dev_name_old) < 0 ||
      pl__srv_body_str(q, r, "key", &key) < 0)
    return;
  if (!dev_id) dev_id = dev_id_old;
  if (!dev_name) dev_name = dev_name_old;
  if (!filename) {
    pl__srv_resp_error(r, 400, "field 'filename' is required");
    return;
  }
  if (!pl__srv_valid_filename(filename)) {
    pl__srv_resp_error(r, 400, "invalid 'filename': expected 1 to %d bytes of UTF-8 text",
                       SRV_MAX_FILENAME);
    return;
  }
  if (!dev_id && !dev_name && !key) {
    pl__srv_resp_error(r, 400, "one of 'deviceId', 'deviceName' or 'key' is required");
    return;
  }
  if (key && !pl__srv_valid_key(key)) {
    pl__srv_resp_error(r, 400,
                       "invalid 'key': 1 to %d bytes without '/', '\\\\' or control characters",
                       SRV_MAX_KEY);
    return;
  }
  if (dev_name && !pl__srv_valid_device_name(dev_name)) {
    pl__srv_resp_error(r, 400, "invalid device name '%s'", dev_name);
    return;
  }
  struct srv_store *st = &q->srv->store;
  pthread_rwlock_wrlock(&st->lock);
  struct srv_device *d = NULL;
  if (dev_id) {
    d = pl__srv_device_by_id(st, dev_id);
    if (!d) {
      pthread_rwlock_unlock(&st->lock);
      pl__srv_resp_error(r, 404, "device '%s' not found", dev_id);
      return;
    }
    if (dev_name && strcmp(d->name, dev_name) != 0) {
      pthread_rwlock_unlock(&st->lock);
      pl__srv_resp_error(r, 400, "'deviceId' and 'deviceName' name different devices");
      return;
    }
  } else if (dev_name) {
    d = pl__srv_device_by_name(st, dev_name);
  }
  uint64_t now = pl__srv_now_s();
  size_t waiting = 0;
  for (size_t i = 0; i < st->imports.n; i++) {
    const struct srv_import *w = st->imports.items[i];
    if (w->status == IMP_AWAITING && w->link_expires >= now) waiting++;
  }
  if (waiting >= SRV_MAX_WAITING_UPLOADS) {
    pthread_rwlock_unlock(&st->lock);
    pl__srv_resp_error(r, 429, "%zu upload links are waiting for their upload; use them or let "
                               "them expire",
                       waiting);
    r->retry_after = 60;
    return;
  }
  struct srv_import *m = calloc(1, sizeof *m);
  char rid[SRV_ID_LEN + 1];
  pl__srv_new_id("req", rid);
  if (m) {
    m->request_id = pl__srv_strdup(rid);
    m->filename = pl__srv_strdup(filename);
    m->device_id = d ? pl__srv_strdup(d->id) : NULL;
    m->device_name = pl__srv_strdup(d ? d->name : dev_name);
    m->key = pl__srv_strdup(key);
    m->status = IMP_AWAITING;
    m->stage = pl__srv_strdup("awaiting upload");
    m->created = m->updated = pl__srv_now_ns();
    m->link_expires = q->fault_expire ? now - 1 : now + SRV_UPLOAD_LINK_S;
  }
  if (!m || !m->request_id || !m->filename || pl__srv_imp_save(st, m) != 0 ||
      pl__srv_vec_push(&st->imports, m) != 0) {
    pthread_rwlock_unlock(&st->lock);
    pl__srv_imp_free(m);
    pl__srv_resp_error(r, 500, "cannot record the upload request");
    return;
  }
  uint64_t expires = m->link_expires;
  pthread_rwlock_unlock(&st->lock);
  char *link = pl__srv_sign_link(q->srv, "PUT", "upload", rid, expires);
  if (!link) {
    pl__srv_resp_error(r, 500, "out of memory");
    return;
  }
  json_object *o = json_object_new_object();
  json_object_object_add(o, "link", json_object_new_string(link));
  json_object_object_add(o, "requestId", json_object_new_string(rid));
  free(link);
  pl__srv_resp_json(r, 200, o);
}

/* ------------------------------------------------------------- pending imports */

static const char *const k_sort[] = {"createdAt", "deviceId", "deviceName", "device.name",
                                     "device.id", "error",    "importId",   "requestId",
                                     "updatedAt", NULL};

static int cmp_imp(const void *a, const void *b, void *ctx) {
  const struct srv_import *x = a, *y = b;
  int by = *(const int *)ctx, c = 0;
  switch (by) {
    case 1:
    case 4: c = pl__srv_cmp_str(x->device_id, y->device_id); break;
    case 2:
    case 3: c = pl__srv_cmp_str(x->device_name, y->device_name); break;
    case 5: c = pl__srv_cmp_str(x->error, y->error); break;
    case 6:
      c = pl__srv_cmp_str(x->status == IMP_COMPLETE ? x->import_id : NULL,
                          y->status == IMP_COMPLETE ? y->import_id : NULL);
      break;
    case 7: return pl__srv_cmp_str(x->request_id, y->request_id);
    case 8: c = pl__srv_cmp_u64(x->updated, y->updated); break;
    default: break;
  }
  if (!c) c = pl__srv_cmp_u64(x->created, y->created);
  return c ? c : pl__srv_cmp_str(x->request_id, y->request_id);
}

void pl__srv_route_pending(struct srv_req *q, struct srv_resp *r) {
  static const char *const allowed[] = {
      "requestId", "key",          "deviceId",      "deviceName",      "device.id",
      "device.name", "error",      "filename",      "updatedSince",    "showCompleted",
      "showQuarantined", "siteId", "sortBy",        "sortOrder",       "limit",
      "offset",    NULL};
  if (!pl__srv_params_allow(q, r, allowed)) return;
  size_t limit, offset;
  int by, desc, completed = 0, quarantined = 0;
  uint64_t since = 0;
  if (pl__srv_param_paging(q, r, &limit, &offset) != 0) return;
  if (pl__srv_param_sort(q, r, k_sort, &by, &desc) != 0) return;
  if (pl__srv_param_bool(q, r, "showCompleted", &completed) < 0) return;
  if (pl__srv_param_bool(q, r, "showQuarantined", &quarantined) < 0) return;
  int has_since = pl__srv_param_time(q, r, "updatedSince", &since);
  if (has_since < 0) return;
  const char *rid = pl__srv_param(q, "requestId"), *key = pl__srv_param(q, "key");
  const char *error = pl__srv_param(q, "error"), *filename = pl__srv_param(q, "filename");
  const char *site = pl__srv_param(q, "siteId");
  const char *dev_id, *dev_name;
  pl__srv_param_device(q, &dev_id, &dev_name);
  struct srv_store *st = &q->srv->store;
  pthread_rwlock_rdlock(&st->lock);
  void **items = malloc((st->imports.n ? st->imports.n : 1) * sizeof *items);
  size_t n = 0;
  int site_ok = !site || strcmp(site, st->site_id) == 0;
  for (size_t i = 0; items && site_ok && i < st->imports.n; i++) {
    struct srv_import *m = st->imports.items[i];
    if (m->status == IMP_AWAITING) continue;
    if (m->status == IMP_COMPLETE && !completed) continue;
    if (m->quarantined && !quarantined) continue;
    if (rid && strcmp(rid, m->request_id) != 0) continue;
    if (key && (!m->key || strcmp(key, m->key) != 0)) continue;
    if (dev_id && (!m->device_id || strcmp(dev_id, m->device_id) != 0)) continue;
    if (dev_name && (!m->device_name || strcmp(dev_name, m->device_name) != 0)) continue;
    if (error && (!m->error || !strstr(m->error, error))) continue;
    if (filename && strcmp(filename, m->filename) != 0) continue;
    if (has_since && m->updated < since) continue;
    items[n++] = m;
  }
  if (!items) {
    pthread_rwlock_unlock(&st->lock);
    pl__srv_resp_error(r, 500, "out of memory");
    return;
  }
  pl__srv_sort(items, n, cmp_imp, &by, desc);
  json_object *arr = json_object_new_array();
  for (size_t i = offset; i < n && i - offset < limit; i++)
    json_object_array_add(arr, pl__srv_imp_json(st, items[i]));
  pthread_rwlock_unlock(&st->lock);
  free(items);
  pl__srv_resp_json(r, 200, arr);
}
