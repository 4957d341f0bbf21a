/*
 * server_test_hooks.c - the /v1/_test/... endpoints, served only when the
 * library option pl_server_options.test_hooks is set (never by default, and
 * no request can turn them on; without it these paths are 404 like any
 * unknown path). They still need a valid API key (any capabilities).
 *
 *   GET  /v1/_test/stats            {"signedRequests": N, "signedRequestsWithKey": M}
 *                                   (pl_server_get_stats, for a server run as a process)
 *   POST /v1/_test/recordings/bulk  {"count": N, "prefix"?: "bulk", "deviceName"?: NAME}
 *                                   creates N complete recordings without any file
 *                                   (keys and paths PREFIX-0 ... PREFIX-(N-1)), so that
 *                                   paging over thousands of recordings can be tested in
 *                                   a second; answers {"created": N}.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server_internal.h"

#define BULK_MAX 100000u /* recordings per bulk request */

static void stats(struct srv_req *q, struct srv_resp *r) {
  if (!pl__srv_params_allow(q, r, (const char *const[]){NULL})) return;
  pl_server_stats st;
  pl_server_get_stats(q->srv, &st);
  json_object *o = json_object_new_object();
  json_object_object_add(o, "signedRequests", json_object_new_uint64(st.signed_requests));
  json_object_object_add(o, "signedRequestsWithKey",
                         json_object_new_uint64(st.signed_requests_with_key));
  pl__srv_resp_json(r, 200, o);
}

/* A synthetic complete recording: no index, no lake files, no attachments. */
static struct srv_recording *synthetic(const char *key, const char *device_id, uint64_t created) {
  struct srv_recording *rec = calloc(1, sizeof *rec);
  if (!rec) return NULL;
  char id[SRV_ID_LEN + 1];
  pl__srv_new_id("rec", id);
  rec->id = pl__srv_strdup(id);
  rec->key = pl__srv_strdup(key);
  rec->path = pl__srv_printf("%s.mcap", key);
  rec->device_id = device_id ? pl__srv_strdup(device_id) : NULL;
  rec->created = rec->imported = created;
  rec->status = REC_COMPLETE;
  if (!rec->id || !rec->key || !rec->path || (device_id && !rec->device_id)) {
    pl__srv_rec_free(rec);
    return NULL;
  }
  return rec;
}

static void bulk_recordings(struct srv_req *q, struct srv_resp *r) {
  static const char *const fields[] = {"count", "prefix", "deviceName", NULL};
  if (!pl__srv_params_allow(q, r, (const char *const[]){NULL})) return;
  if (!pl__srv_body_allow(q, r, fields)) return;
  json_object *c = NULL;
  if (!json_object_object_get_ex(q->body, "count", &c) || !json_object_is_type(c, json_type_int)) {
    pl__srv_resp_error(r, 400, "field 'count' (an integer) is required");
    return;
  }
  int64_t count = json_object_get_int64(c);
  if (count < 1 || count > (int64_t)BULK_MAX) {
    pl__srv_resp_error(r, 400, "field 'count' must be 1 to %u", BULK_MAX);
    return;
  }
  const char *prefix = NULL, *dname = NULL;
  if (pl__srv_body_str(q, r, "prefix", &prefix) < 0) return;
  if (pl__srv_body_str(q, r, "deviceName", &dname) < 0) return;
  if (!prefix) prefix = "bulk";
  /* the longest key must be a valid key (and a valid file name once ".mcap" is added) */
  char last[SRV_MAX_FILENAME + 1];
  int n = snprintf(last, sizeof last, "%s-%lld.mcap", prefix, (long long)(count - 1));
  if (n < 0 || (size_t)n >= sizeof last || !pl__srv_valid_filename(last) ||
      !pl__srv_valid_key(last)) {
    pl__srv_resp_error(r, 400, "invalid 'prefix': keys and file names would be invalid");
    return;
  }
  if (dname && !pl__srv_valid_device_name(dname)) {
    pl__srv_resp_error(r, 400, "invalid device name '%s'", dname);
    return;
  }
  struct srv_store *st = &q->srv->store;
  pthread_rwlock_wrlock(&st->lock);
  /* refuse before creating anything when a key is taken */
  char key[SRV_MAX_FILENAME + 1];
  for (int64_t i = 0; i < count; i++) {
    snprintf(key, sizeof key, "%s-%lld", prefix, (long long)i);
    if (pl__srv_rec_by_key(st, key)) {
      pthread_rwlock_unlock(&st->lock);
      pl__srv_resp_error(r, 409, "a recording with key '%s' exists already", key);
      return;
    }
  }
  const char *device_id = NULL;
  if (dname) {
    struct srv_device *d = pl__srv_device_by_name(st, dname);
    if (!d) d = pl__srv_device_create(st, dname, NULL);
    if (!d) {
      pthread_rwlock_unlock(&st->lock);
      pl__srv_resp_error(r, 500, "cannot create device '%s'", dname);
      return;
    }
    device_id = d->id;
  }
  /* distinct creation times keep the default order (createdAt) the creation order */
  uint64_t t0 = pl__srv_now_ns();
  int64_t made = 0;
  for (; made < count; made++) {
    snprintf(key, sizeof key, "%s-%lld", prefix, (long long)made);
    struct srv_recording *rec = synthetic(key, device_id, t0 + (uint64_t)made);
    if (!rec) break;
    if (pl__srv_rec_save(st, rec) != 0 || pl__srv_vec_push(&st->recordings, rec) != 0) {
      pl__srv_rec_free(rec);
      break;
    }
  }
  pthread_rwlock_unlock(&st->lock);
  if (made < count) {
    pl__srv_resp_error(r, 500, "created only %lld of %lld recordings", (long long)made,
                       (long long)count);
    return;
  }
  json_object *o = json_object_new_object();
  json_object_object_add(o, "created", json_object_new_int64(made));
  pl__srv_resp_json(r, 200, o);
}

void pl__srv_route_test(struct srv_req *q, struct srv_resp *r) {
  /* the route table only sends here when opt.test_hooks is set; check again anyway */
  if (!q->srv->opt.test_hooks) {
    pl__srv_resp_error(r, 404, "no such endpoint");
    return;
  }
  if (q->n_seg == 2 && strcmp(q->seg[1], "stats") == 0) {
    stats(q, r);
    return;
  }
  bulk_recordings(q, r);
}
