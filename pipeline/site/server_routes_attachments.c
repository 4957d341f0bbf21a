/*
 * server_routes_attachments.c - GET /v1/recording-attachments,
 * GET /v1/recording-attachments/{id} and .../{id}/download (302 to a signed
 * link valid 15 minutes that serves the bytes without the API key).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server_internal.h"

static const char *const k_sort[] = {"logTime", NULL};

struct att_ref {
  const struct srv_attachment *a;
};

static int cmp_att(const void *a, const void *b, void *ctx) {
  (void)ctx;
  const struct srv_attachment *x = a, *y = b;
  int c = pl__srv_cmp_u64(x->log_time, y->log_time);
  if (!c) c = pl__srv_cmp_str(x->recording_id, y->recording_id);
  if (!c) c = pl__srv_cmp_u64(x->offset, y->offset);
  return c ? c : pl__srv_cmp_str(x->id, y->id);
}

static void list_attachments(struct srv_req *q, struct srv_resp *r) {
  static const char *const allowed[] = {"recordingId", "siteId", "deviceId", "deviceName",
                                        "device.id",   "device.name", "sortBy", "sortOrder",
                                        "limit",       "offset", NULL};
  if (!pl__srv_params_allow(q, r, allowed)) return;
  size_t limit, offset;
  int by, desc;
  if (pl__srv_param_paging(q, r, &limit, &offset) != 0) return;
  if (pl__srv_param_sort(q, r, k_sort, &by, &desc) != 0) return;
  const char *rid = pl__srv_param(q, "recordingId"), *site = pl__srv_param(q, "siteId");
  const char *did, *dname;
  pl__srv_param_device(q, &did, &dname);
  struct srv_store *st = &q->srv->store;
  pthread_rwlock_rdlock(&st->lock);
  size_t total = 0;
  for (size_t i = 0; i < st->recordings.n; i++)
    total += ((struct srv_recording *)st->recordings.items[i])->n_atts;
  void **items = malloc((total ? total : 1) * sizeof *items);
  size_t n = 0;
  int none = site && strcmp(site, st->site_id) != 0;
  struct srv_device *dev = NULL;
  if (dname) {
    dev = pl__srv_device_by_name(st, dname);
    if (!dev) none = 1;
  }
  for (size_t i = 0; items && !none && i < st->recordings.n; i++) {
    struct srv_recording *rec = st->recordings.items[i];
    if (rec->status != REC_COMPLETE) continue;
    if (rid && strcmp(rid, rec->id) != 0) continue;
    if (did && (!rec->device_id || strcmp(did, rec->device_id) != 0)) continue;
    if (dev && (!rec->device_id || strcmp(dev->id, rec->device_id) != 0)) continue;
    for (size_t k = 0; k < rec->n_atts; k++) items[n++] = &rec->atts[k];
  }
  if (!items) {
    pthread_rwlock_unlock(&st->lock);
    pl__srv_resp_error(r, 500, "out of memory");
    return;
  }
  pl__srv_sort(items, n, cmp_att, NULL, desc);
  json_object *arr = json_object_new_array();
  for (size_t i = offset; i < n && i - offset < limit; i++)
    json_object_array_add(arr, pl__srv_att_json(st, items[i]));
  pthread_rwlock_unlock(&st->lock);
  free(items);
  pl__srv_resp_json(r, 200, arr);
}

void pl__srv_route_attachments(struct srv_req *q, struct srv_resp *r) {
  if (q->n_seg == 1) {
    list_attachments(q, r);
    return;
  }
  if (!pl__srv_params_allow(q, r, (const char *const[]){NULL})) return;
  const char *id = q->seg[1];
  struct srv_store *st = &q->srv->store;
  pthread_rwlock_rdlock(&st->lock);
  struct srv_recording *rec = NULL;
  struct srv_attachment *a = pl__srv_att_find(st, id, &rec);
  if (a && rec->status != REC_COMPLETE) a = NULL;
  json_object *out = a && q->n_seg == 2 ? pl__srv_att_json(st, a) : NULL;
  pthread_rwlock_unlock(&st->lock);
  if (!a) {
    pl__srv_resp_error(r, 404, "attachment '%s' not found", id);
    return;
  }
  if (q->n_seg == 2) {
    pl__srv_resp_json(r, 200, out);
    return;
  }
  uint64_t now = pl__srv_now_s();
  uint64_t expires = q->fault_expire ? now - 1 : now + SRV_DOWNLOAD_LINK_S;
  char *link = pl__srv_sign_link(q->srv, "GET", "attachment", id, expires);
  if (!link) {
    pl__srv_resp_error(r, 500, "out of memory");
    return;
  }
  json_object *o = json_object_new_object();
  json_object_object_add(o, "link", json_object_new_string(link));
  pl__srv_resp_json(r, 302, o);
  r->location = link;
}

/* Media types go into a header: accept only token/token characters. */
static int safe_media_type(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n > 127 || !strchr(s, '/')) return 0;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
          strchr("/+-.=; _", c)))
      return 0;
  }
  return 1;
}

void pl__srv_attachment_open(pl_server *s, const char *att_id, struct srv_resp *r) {
  struct srv_store *st = &s->store;
  pthread_rwlock_rdlock(&st->lock);
  struct srv_recording *rec = NULL;
  struct srv_attachment *a = pl__srv_att_find(st, att_id, &rec);
  char *path = a ? pl__srv_att_path(st, rec->id, a->id) : NULL;
  char media[128] = "application/octet-stream";
  char name[128] = "attachment";
  if (a && safe_media_type(a->media_type)) snprintf(media, sizeof media, "%s", a->media_type);
  if (a) {
    /* a file name for Content-Disposition: keep [A-Za-z0-9._-] */
    size_t k = 0;
    for (const char *p = a->name; *p && k + 1 < sizeof name; p++) {
      char c = *p;
      name[k++] = ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                   c == '.' || c == '-' || c == '_')
                      ? c
                      : '_';
    }
    if (k) name[k] = 0;
  }
  pthread_rwlock_unlock(&st->lock);
  if (!a) {
    pl__srv_resp_error(r, 404, "attachment '%s' not found", att_id);
    return;
  }
  int fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
  free(path);
  struct stat sb;
  if (fd < 0 || fstat(fd, &sb) != 0) {
    if (fd >= 0) close(fd);
    pl__srv_resp_error(r, 404, "attachment '%s' has no stored content", att_id);
    return;
  }
  r->status = 200;
  r->kind = RESP_FILE;
  r->fd = fd;
  r->size = (uint64_t)sb.st_size;
  r->content_type = strcmp(media, "application/octet-stream") == 0 ? "application/octet-stream"
                                                                   : NULL;
  if (!r->content_type) {
    /* the static strings above cannot hold a per-request value: keep a copy */
    r->disposition = NULL;
    static const char *const common[] = {"application/octet-stream", "application/json",
                                         "text/plain", "image/png", "image/jpeg",
                                         "application/yaml", "text/yaml", NULL};
    for (int i = 0; common[i]; i++)
      if (strcmp(common[i], media) == 0) r->content_type = common[i];
    if (!r->content_type) r->content_type = "application/octet-stream";
  }
  r->disposition = pl__srv_printf("attachment; filename=\"%s\"", name);
}
