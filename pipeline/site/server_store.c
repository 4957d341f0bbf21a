/*
 * server_store.c - the server's state under DATA: devices, recordings (with
 * their index, lake files and attachments) and upload imports. Every object
 * is one JSON file written atomically (tmp + fsync + rename), so a crash
 * leaves either the old or the new version; the whole state is loaded into
 * memory at start.
 *
 * Layout (see docs/serve.md):
 *   DATA/state/site.json             site id and name, org id
 *   DATA/state/secret                HMAC key of signed links (0600)
 *   DATA/state/devices/<id>.json
 *   DATA/state/recordings/<id>.json  + <id>.index.json (pl_index_to_json)
 *   DATA/state/imports/<requestId>.json
 *   DATA/state/events/<id>.json, DATA/state/custom-properties/<id>.json
 *                                    (server_store_events.c)
 *   DATA/inbox/<requestId>.mcap      received uploads until their import commits
 *   DATA/inbox/_quarantine/          uploads that could not be imported
 *   DATA/attachments/<recId>/<attId> attachment bytes
 *   DATA/lake/<deviceId>/<recId>/    lake files (pl_lake_write)
 *
 * Names used in paths are only ids this server generated (checked with
 * pl__srv_valid_id when loaded), never client-supplied strings.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server_internal.h"

#define STATE_FILE_MAX (64u << 20)

static char *path_join(const struct srv_store *st, const char *a, const char *b, const char *c) {
  if (c) return pl__srv_printf("%s/%s/%s/%s", st->data_dir, a, b, c);
  if (b) return pl__srv_printf("%s/%s/%s", st->data_dir, a, b);
  return pl__srv_printf("%s/%s", st->data_dir, a);
}

/* ------------------------------------------------------------- JSON field helpers */

static const char *jstr(json_object *o, const char *k) {
  json_object *v;
  if (!json_object_object_get_ex(o, k, &v) || !v || !json_object_is_type(v, json_type_string))
    return NULL;
  return json_object_get_string(v);
}

static uint64_t ju64(json_object *o, const char *k) {
  json_object *v;
  if (!json_object_object_get_ex(o, k, &v) || !v) return 0;
  if (json_object_is_type(v, json_type_int)) return json_object_get_uint64(v);
  if (json_object_is_type(v, json_type_string))
    return strtoull(json_object_get_string(v), NULL, 10);
  return 0;
}

static void add_str(json_object *o, const char *k, const char *v) {
  if (v) json_object_object_add(o, k, json_object_new_string(v));
}

static void add_u64(json_object *o, const char *k, uint64_t v) {
  json_object_object_add(o, k, json_object_new_uint64(v));
}

static int save_json(struct srv_store *st, const char *path, json_object *o, unsigned mode) {
  const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
                                                           JSON_C_TO_STRING_NOSLASHESCAPE);
  int rc = text ? pl__srv_write_atomic(path, text, strlen(text), st->no_fsync, mode) : -1;
  json_object_put(o);
  return rc;
}

static json_object *load_json(const char *path) {
  size_t len;
  char *text = pl__srv_read_file(path, STATE_FILE_MAX, &len);
  if (!text) return NULL;
  json_tokener *tok = json_tokener_new();
  json_object *o = tok ? json_tokener_parse_ex(tok, text, (int)len) : NULL;
  if (tok && json_tokener_get_error(tok) != json_tokener_success) {
    json_object_put(o);
    o = NULL;
  }
  json_tokener_free(tok);
  free(text);
  if (o && !json_object_is_type(o, json_type_object)) {
    json_object_put(o);
    return NULL;
  }
  return o;
}

/* ------------------------------------------------------------- devices */

static void device_free(struct srv_device *d) {
  if (!d) return;
  free(d->id);
  free(d->name);
  json_object_put(d->properties);
  free(d);
}

struct srv_device *pl__srv_device_by_id(struct srv_store *st, const char *id) {
  for (size_t i = 0; i < st->devices.n; i++) {
    struct srv_device *d = st->devices.items[i];
    if (strcmp(d->id, id) == 0) return d;
  }
  return NULL;
}

struct srv_device *pl__srv_device_by_name(struct srv_store *st, const char *name) {
  for (size_t i = 0; i < st->devices.n; i++) {
    struct srv_device *d = st->devices.items[i];
    if (strcmp(d->name, name) == 0) return d;
  }
  return NULL;
}

struct srv_device *pl__srv_device_find(struct srv_store *st, const char *name_or_id) {
  /* API: a device named with another device's id wins */
  struct srv_device *d = pl__srv_device_by_name(st, name_or_id);
  return d ? d : pl__srv_device_by_id(st, name_or_id);
}

int pl__srv_device_save(struct srv_store *st, const struct srv_device *d) {
  json_object *o = json_object_new_object();
  add_str(o, "id", d->id);
  add_str(o, "name", d->name);
  json_object *props = NULL;
  if (json_object_deep_copy(d->properties, &props, NULL) != 0) props = json_object_new_object();
  json_object_object_add(o, "properties", props);
  add_u64(o, "created", d->created);
  add_u64(o, "updated", d->updated);
  char *file = pl__srv_printf("%s/state/devices/%s.json", st->data_dir, d->id);
  int rc = file ? save_json(st, file, o, 0600) : (json_object_put(o), -1);
  free(file);
  return rc;
}

struct srv_device *pl__srv_device_create(struct srv_store *st, const char *name,
                                         json_object *properties) {
  if (st->devices.n >= SRV_MAX_DEVICES) {
    errno = ENOSPC; /* the site holds the most devices it takes */
    return NULL;
  }
  struct srv_device *d = calloc(1, sizeof *d);
  char id[SRV_ID_LEN + 1];
  if (!d) return NULL;
  pl__srv_new_id("dev", id);
  d->id = pl__srv_strdup(id);
  d->name = pl__srv_strdup(name);
  d->properties = NULL;
  /* Own a private copy: the request body the properties came from is freed by its thread. */
  if (!properties || json_object_deep_copy(properties, &d->properties, NULL) != 0) {
    d->properties = json_object_new_object();
  }
  d->created = d->updated = pl__srv_now_ns();
  if (!d->id || !d->name || !d->properties || pl__srv_device_save(st, d) != 0 ||
      pl__srv_vec_push(&st->devices, d) != 0) {
    device_free(d);
    return NULL;
  }
  if (st->owner && st->owner->on_created) { /* webhooks: device.created */
    json_object *j = pl__srv_device_json(d);
    pl__srv_notify_created(st->owner, "device.created", j);
    json_object_put(j);
  }
  return d;
}

int pl__srv_device_delete(struct srv_store *st, struct srv_device *d) {
  char *file = pl__srv_printf("%s/state/devices/%s.json", st->data_dir, d->id);
  if (!file) return -1;
  int rc = unlink(file);
  free(file);
  if (rc != 0 && errno != ENOENT) return -1;
  for (size_t i = 0; i < st->devices.n; i++)
    if (st->devices.items[i] == d) pl__srv_vec_remove_at(&st->devices, i);
  device_free(d);
  return 0;
}

json_object *pl__srv_device_json(const struct srv_device *d) {
  json_object *o = json_object_new_object();
  add_str(o, "id", d->id);
  add_str(o, "name", d->name);
  json_object_object_add(o, "createdAt", pl__srv_json_time(d->created));
  json_object_object_add(o, "updatedAt", pl__srv_json_time(d->updated));
  /* A copy, not a shared reference: responses are serialized outside the store lock, by
   * many threads at once, and json-c objects are not safe to share across threads. */
  json_object *props = NULL;
  if (json_object_deep_copy(d->properties, &props, NULL) != 0) props = json_object_new_object();
  json_object_object_add(o, "properties", props);
  return o;
}

static struct srv_device *device_load(json_object *o) {
  const char *id = jstr(o, "id"), *name = jstr(o, "name");
  if (!id || !name || !pl__srv_valid_id(id)) return NULL;
  struct srv_device *d = calloc(1, sizeof *d);
  if (!d) return NULL;
  d->id = pl__srv_strdup(id);
  d->name = pl__srv_strdup(name);
  json_object *p = NULL;
  if (json_object_object_get_ex(o, "properties", &p) && p &&
      json_object_is_type(p, json_type_object))
    d->properties = json_object_get(p);
  else
    d->properties = json_object_new_object();
  d->created = ju64(o, "created");
  d->updated = ju64(o, "updated");
  if (!d->id || !d->name) {
    device_free(d);
    return NULL;
  }
  return d;
}

/* ------------------------------------------------------------- recordings */

static void lake_free(struct srv_lakefile *l, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(l[i].path);
    for (size_t k = 0; k < l[i].n_topics; k++) free(l[i].topics[k]);
    free(l[i].topics);
  }
  free(l);
}

static void atts_free(struct srv_attachment *a, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(a[i].id);
    free(a[i].recording_id);
    free(a[i].name);
    free(a[i].media_type);
  }
  free(a);
}

void pl__srv_rec_clear_files(struct srv_recording *rec) {
  lake_free(rec->lake, rec->n_lake);
  atts_free(rec->atts, rec->n_atts);
  rec->lake = NULL;
  rec->n_lake = 0;
  rec->atts = NULL;
  rec->n_atts = 0;
}

void pl__srv_rec_free(struct srv_recording *rec) {
  if (!rec) return;
  free(rec->id);
  free(rec->path);
  free(rec->key);
  free(rec->device_id);
  free(rec->request_id);
  pl_recording_index_free(rec->index);
  free(rec->lake_dir);
  lake_free(rec->lake, rec->n_lake);
  atts_free(rec->atts, rec->n_atts);
  free(rec);
}

struct srv_recording *pl__srv_rec_by_id(struct srv_store *st, const char *id) {
  for (size_t i = 0; i < st->recordings.n; i++) {
    struct srv_recording *r = st->recordings.items[i];
    if (strcmp(r->id, id) == 0) return r;
  }
  return NULL;
}

struct srv_recording *pl__srv_rec_by_key(struct srv_store *st, const char *key) {
  struct srv_recording *best = NULL;
  for (size_t i = 0; i < st->recordings.n; i++) {
    struct srv_recording *r = st->recordings.items[i];
    if (!r->key || strcmp(r->key, key) != 0) continue;
    /* a complete recording wins over failed attempts with the same key */
    if (!best || (r->status == REC_COMPLETE && best->status != REC_COMPLETE)) best = r;
  }
  return best;
}

struct srv_recording *pl__srv_rec_find(struct srv_store *st, const char *key_or_id) {
  struct srv_recording *r = pl__srv_rec_by_id(st, key_or_id);
  return r ? r : pl__srv_rec_by_key(st, key_or_id);
}

const char *pl__srv_rec_status_name(int status) {
  switch (status) {
    case REC_IMPORTING: return "importing";
    case REC_COMPLETE: return "complete";
    default: return "failed";
  }
}

int pl__srv_rec_save(struct srv_store *st, const struct srv_recording *rec) {
  if (rec->index) {
    char *json = NULL;
    pl_error_info e;
    memset(&e, 0, sizeof e);
    if (pl_index_to_json(rec->index, &json, &e) != PL_OK) return -1;
    char *ipath = pl__srv_printf("%s/state/recordings/%s.index.json", st->data_dir, rec->id);
    int rc = ipath ? pl__srv_write_atomic(ipath, json, strlen(json), st->no_fsync, 0600) : -1;
    free(ipath);
    free(json);
    if (rc != 0) return -1;
  }
  json_object *o = json_object_new_object();
  add_str(o, "id", rec->id);
  add_str(o, "path", rec->path);
  add_str(o, "key", rec->key);
  add_str(o, "deviceId", rec->device_id);
  add_str(o, "requestId", rec->request_id);
  add_u64(o, "size", rec->size);
  add_u64(o, "created", rec->created);
  add_u64(o, "imported", rec->imported);
  add_str(o, "status", pl__srv_rec_status_name(rec->status));
  add_str(o, "contentHash", rec->content_hash);
  add_u64(o, "largest", rec->largest);
  add_str(o, "lakeDir", rec->lake_dir);
  json_object *lake = json_object_new_array();
  for (size_t i = 0; i < rec->n_lake; i++) {
    json_object *f = json_object_new_object();
    add_str(f, "path", rec->lake[i].path);
    json_object *t = json_object_new_array();
    for (size_t k = 0; k < rec->lake[i].n_topics; k++)
      json_object_array_add(t, json_object_new_string(rec->lake[i].topics[k]));
    json_object_object_add(f, "topics", t);
    json_object_array_add(lake, f);
  }
  json_object_object_add(o, "lake", lake);
  json_object *atts = json_object_new_array();
  for (size_t i = 0; i < rec->n_atts; i++) {
    const struct srv_attachment *a = &rec->atts[i];
    json_object *f = json_object_new_object();
    add_str(f, "id", a->id);
    add_str(f, "name", a->name);
    add_str(f, "mediaType", a->media_type);
    add_u64(f, "logTime", a->log_time);
    add_u64(f, "createTime", a->create_time);
    add_u64(f, "crc", a->crc);
    add_u64(f, "size", a->size);
    add_str(f, "fingerprint", a->fingerprint);
    add_u64(f, "offset", a->offset);
    json_object_array_add(atts, f);
  }
  json_object_object_add(o, "attachments", atts);
  char *file = pl__srv_printf("%s/state/recordings/%s.json", st->data_dir, rec->id);
  int rc = file ? save_json(st, file, o, 0600) : (json_object_put(o), -1);
  free(file);
  return rc;
}

static struct srv_recording *rec_load(struct srv_store *st, json_object *o) {
  const char *id = jstr(o, "id");
  if (!id || !pl__srv_valid_id(id)) return NULL;
  struct srv_recording *r = calloc(1, sizeof *r);
  if (!r) return NULL;
  r->id = pl__srv_strdup(id);
  r->path = pl__srv_strdup(jstr(o, "path") ? jstr(o, "path") : "");
  r->key = pl__srv_strdup(jstr(o, "key"));
  r->device_id = pl__srv_strdup(jstr(o, "deviceId"));
  r->request_id = pl__srv_strdup(jstr(o, "requestId"));
  r->size = ju64(o, "size");
  r->created = ju64(o, "created");
  r->imported = ju64(o, "imported");
  const char *status = jstr(o, "status");
  r->status = status && strcmp(status, "complete") == 0    ? REC_COMPLETE
              : status && strcmp(status, "importing") == 0 ? REC_IMPORTING
                                                           : REC_FAILED;
  const char *hash = jstr(o, "contentHash");
  if (hash) snprintf(r->content_hash, sizeof r->content_hash, "%s", hash);
  r->largest = ju64(o, "largest");
  r->lake_dir = pl__srv_strdup(jstr(o, "lakeDir"));
  json_object *lake = NULL, *atts = NULL;
  if (json_object_object_get_ex(o, "lake", &lake) && json_object_is_type(lake, json_type_array)) {
    size_t n = json_object_array_length(lake);
    r->lake = calloc(n ? n : 1, sizeof *r->lake);
    for (size_t i = 0; r->lake && i < n; i++) {
      json_object *f = json_object_array_get_idx(lake, i);
      if (!jstr(f, "path")) continue;
      struct srv_lakefile *lf = &r->lake[r->n_lake++];
      lf->path = pl__srv_strdup(jstr(f, "path"));
      json_object *t = NULL;
      if (json_object_object_get_ex(f, "topics", &t) && json_object_is_type(t, json_type_array)) {
        size_t k = json_object_array_length(t);
        lf->topics = calloc(k ? k : 1, sizeof *lf->topics);
        for (size_t j = 0; lf->topics && j < k; j++) {
          json_object *s = json_object_array_get_idx(t, j);
          if (json_object_is_type(s, json_type_string))
            lf->topics[lf->n_topics++] = pl__srv_strdup(json_object_get_string(s));
        }
      }
    }
  }
  if (json_object_object_get_ex(o, "attachments", &atts) &&
      json_object_is_type(atts, json_type_array)) {
    size_t n = json_object_array_length(atts);
    r->atts = calloc(n ? n : 1, sizeof *r->atts);
    for (size_t i = 0; r->atts && i < n; i++) {
      json_object *f = json_object_array_get_idx(atts, i);
      const char *aid = jstr(f, "id");
      if (!aid || !pl__srv_valid_id(aid)) continue;
      struct srv_attachment *a = &r->atts[r->n_atts++];
      a->id = pl__srv_strdup(aid);
      a->recording_id = pl__srv_strdup(r->id);
      a->name = pl__srv_strdup(jstr(f, "name") ? jstr(f, "name") : "");
      a->media_type = pl__srv_strdup(jstr(f, "mediaType") ? jstr(f, "mediaType") : "");
      a->log_time = ju64(f, "logTime");
      a->create_time = ju64(f, "createTime");
      a->crc = (uint32_t)ju64(f, "crc");
      a->size = ju64(f, "size");
      a->offset = ju64(f, "offset");
      const char *fp = jstr(f, "fingerprint");
      if (fp) snprintf(a->fingerprint, sizeof a->fingerprint, "%s", fp);
    }
  }
  char *ipath = pl__srv_printf("%s/state/recordings/%s.index.json", st->data_dir, r->id);
  size_t len = 0;
  char *json = ipath ? pl__srv_read_file(ipath, STATE_FILE_MAX, &len) : NULL;
  if (json) {
    pl_error_info e;
    memset(&e, 0, sizeof e);
    if (pl_index_from_json(json, len, &r->index, &e) != PL_OK) r->index = NULL;
  }
  free(json);
  free(ipath);
  return r;
}

int pl__srv_rec_delete(struct srv_store *st, struct srv_recording *rec) {
  char *f1 = pl__srv_printf("%s/state/recordings/%s.json", st->data_dir, rec->id);
  char *f2 = pl__srv_printf("%s/state/recordings/%s.index.json", st->data_dir, rec->id);
  char *att = pl__srv_printf("%s/attachments/%s", st->data_dir, rec->id);
  char *lake = rec->lake_dir ? pl__srv_printf("%s/%s", st->lake_dir, rec->lake_dir) : NULL;
  int rc = 0;
  /* the state file goes first: after a crash the recording is gone, and the
   * leftovers are only files nobody refers to */
  if (f1 && unlink(f1) != 0 && errno != ENOENT) rc = -1;
  if (rc == 0) {
    if (f2) unlink(f2);
    if (att) pl__srv_rmtree(att);
    if (lake) pl__srv_rmtree(lake);
    for (size_t i = 0; i < st->recordings.n; i++)
      if (st->recordings.items[i] == rec) pl__srv_vec_remove_at(&st->recordings, i);
    pl__srv_rec_free(rec);
  }
  free(f1);
  free(f2);
  free(att);
  free(lake);
  return rc;
}

static json_object *site_json(struct srv_store *st) {
  json_object *s = json_object_new_object();
  add_str(s, "id", st->site_id);
  add_str(s, "name", st->site_name);
  return s;
}

json_object *pl__srv_rec_json(struct srv_store *st, const struct srv_recording *rec) {
  json_object *o = json_object_new_object();
  add_str(o, "id", rec->id);
  add_str(o, "path", rec->path);
  add_u64(o, "size", rec->size);
  if (rec->index) add_u64(o, "messageCount", rec->index->message_count);
  json_object_object_add(o, "createdAt", pl__srv_json_time(rec->created));
  if (rec->imported) json_object_object_add(o, "importedAt", pl__srv_json_time(rec->imported));
  uint64_t start = rec->index ? rec->index->start : 0, end = rec->index ? rec->index->end : 0;
  json_object_object_add(o, "start", pl__srv_json_time(start));
  json_object_object_add(o, "end", pl__srv_json_time(end));
  add_str(o, "importStatus", pl__srv_rec_status_name(rec->status));
  json_object_object_add(o, "site", site_json(st));
  struct srv_device *d = rec->device_id ? pl__srv_device_by_id(st, rec->device_id) : NULL;
  if (d) {
    json_object *dj = json_object_new_object();
    add_str(dj, "id", d->id);
    add_str(dj, "name", d->name);
    json_object_object_add(o, "device", dj);
  }
  json_object *md = json_object_new_array();
  for (size_t i = 0; rec->index && i < rec->index->n_metadata; i++) {
    const pl_metadata_info *m = &rec->index->metadata[i];
    json_object *e = json_object_new_object();
    add_str(e, "name", m->name ? m->name : "");
    json_object *map = json_object_new_object();
    for (size_t k = 0; k < m->n_entries; k++)
      json_object_object_add(map, m->entries[k].key ? m->entries[k].key : "",
                             json_object_new_string(m->entries[k].value ? m->entries[k].value : ""));
    json_object_object_add(e, "metadata", map);
    json_object_array_add(md, e);
  }
  json_object_object_add(o, "metadata", md);
  if (rec->key) add_str(o, "key", rec->key);
  return o;
}

struct srv_attachment *pl__srv_att_find(struct srv_store *st, const char *id,
                                        struct srv_recording **rec) {
  for (size_t i = 0; i < st->recordings.n; i++) {
    struct srv_recording *r = st->recordings.items[i];
    for (size_t k = 0; k < r->n_atts; k++)
      if (strcmp(r->atts[k].id, id) == 0) {
        if (rec) *rec = r;
        return &r->atts[k];
      }
  }
  return NULL;
}

json_object *pl__srv_att_json(struct srv_store *st, const struct srv_attachment *a) {
  json_object *o = json_object_new_object();
  add_str(o, "id", a->id);
  add_str(o, "recordingId", a->recording_id);
  add_str(o, "siteId", st->site_id);
  add_str(o, "name", a->name);
  add_str(o, "mediaType", a->media_type);
  json_object_object_add(o, "logTime", pl__srv_json_time(a->log_time));
  json_object_object_add(o, "createTime", pl__srv_json_time(a->create_time));
  add_u64(o, "crc", a->crc);
  add_u64(o, "size", a->size);
  add_str(o, "fingerprint", a->fingerprint);
  struct srv_recording *rec = pl__srv_rec_by_id(st, a->recording_id);
  if (rec) {
    /* the recording-level lake file (no topics) holds the attachments */
    for (size_t i = 0; i < rec->n_lake; i++)
      if (rec->lake[i].n_topics == 0) {
        add_str(o, "lakePath", rec->lake[i].path);
        break;
      }
  }
  return o;
}

char *pl__srv_att_path(struct srv_store *st, const char *rec_id, const char *att_id) {
  return pl__srv_printf("%s/attachments/%s/%s", st->data_dir, rec_id, att_id);
}

/* ------------------------------------------------------------- imports */

void pl__srv_imp_free(struct srv_import *imp) {
  if (!imp) return;
  free(imp->request_id);
  free(imp->filename);
  free(imp->device_id);
  free(imp->device_name);
  free(imp->key);
  free(imp->stage);
  free(imp->error);
  free(imp->import_id);
  free(imp);
}

struct srv_import *pl__srv_imp_find(struct srv_store *st, const char *request_id) {
  for (size_t i = 0; i < st->imports.n; i++) {
    struct srv_import *m = st->imports.items[i];
    if (strcmp(m->request_id, request_id) == 0) return m;
  }
  return NULL;
}

static const char *imp_status_key(int s) {
  switch (s) {
    case IMP_AWAITING: return "awaiting-upload";
    default: return pl__srv_imp_status_name(s);
  }
}

const char *pl__srv_imp_status_name(int s) {
  switch (s) {
    case IMP_RECEIVED: return "received";
    case IMP_PROCESSING: return "processing";
    case IMP_READY: return "ready for indexing";
    case IMP_ERROR: return "error";
    case IMP_COMPLETE: return "complete";
    default: return "received";
  }
}

int pl__srv_imp_save(struct srv_store *st, const struct srv_import *m) {
  json_object *o = json_object_new_object();
  add_str(o, "requestId", m->request_id);
  add_str(o, "filename", m->filename);
  add_str(o, "deviceId", m->device_id);
  add_str(o, "deviceName", m->device_name);
  add_str(o, "key", m->key);
  add_str(o, "status", imp_status_key(m->status));
  add_str(o, "stage", m->stage);
  add_str(o, "error", m->error);
  add_u64(o, "created", m->created);
  add_u64(o, "updated", m->updated);
  add_u64(o, "quarantined", m->quarantined);
  add_str(o, "importId", m->import_id);
  add_u64(o, "size", m->size);
  add_u64(o, "linkExpires", m->link_expires);
  char *file = pl__srv_printf("%s/state/imports/%s.json", st->data_dir, m->request_id);
  int rc = file ? save_json(st, file, o, 0600) : (json_object_put(o), -1);
  free(file);
  return rc;
}

static struct srv_import *imp_load(json_object *o) {
  const char *rid = jstr(o, "requestId");
  if (!rid || !pl__srv_valid_id(rid)) return NULL;
  struct srv_import *m = calloc(1, sizeof *m);
  if (!m) return NULL;
  m->request_id = pl__srv_strdup(rid);
  m->filename = pl__srv_strdup(jstr(o, "filename") ? jstr(o, "filename") : "");
  m->device_id = pl__srv_strdup(jstr(o, "deviceId"));
  m->device_name = pl__srv_strdup(jstr(o, "deviceName"));
  m->key = pl__srv_strdup(jstr(o, "key"));
  const char *s = jstr(o, "status");
  m->status = IMP_ERROR;
  static const int all[] = {IMP_AWAITING, IMP_RECEIVED, IMP_PROCESSING,
                            IMP_READY,    IMP_ERROR,    IMP_COMPLETE};
  for (size_t i = 0; s && i < sizeof all / sizeof all[0]; i++)
    if (strcmp(s, imp_status_key(all[i])) == 0) m->status = all[i];
  m->stage = pl__srv_strdup(jstr(o, "stage") ? jstr(o, "stage") : "");
  m->error = pl__srv_strdup(jstr(o, "error"));
  m->created = ju64(o, "created");
  m->updated = ju64(o, "updated");
  m->quarantined = ju64(o, "quarantined");
  m->import_id = pl__srv_strdup(jstr(o, "importId"));
  m->size = ju64(o, "size");
  m->link_expires = ju64(o, "linkExpires");
  return m;
}

json_object *pl__srv_imp_json(struct srv_store *st, const struct srv_import *m) {
  json_object *o = json_object_new_object();
  json_object_object_add(o, "createdAt", pl__srv_json_time(m->created));
  add_str(o, "deviceId", m->device_id);
  add_str(o, "deviceName", m->device_name);
  add_str(o, "error", m->error);
  add_str(o, "filename", m->filename);
  if (m->status == IMP_COMPLETE) add_str(o, "importId", m->import_id);
  add_str(o, "orgId", st->site_id); /* one local organisation: the site stands for it */
  add_str(o, "pipelineStage", m->stage ? m->stage : "");
  add_str(o, "requestId", m->request_id);
  add_str(o, "siteId", st->site_id);
  add_str(o, "status", pl__srv_imp_status_name(m->status));
  json_object_object_add(o, "updatedAt", pl__srv_json_time(m->updated));
  if (m->quarantined)
    json_object_object_add(o, "quarantinedAt", pl__srv_json_time(m->quarantined));
  if (m->key) add_str(o, "key", m->key);
  return o;
}

char *pl__srv_inbox_path(struct srv_store *st, const char *request_id, const char *suffix) {
  return pl__srv_printf("%s/inbox/%s%s", st->data_dir, request_id, suffix);
}

char *pl__srv_quarantine_path(struct srv_store *st, const char *request_id) {
  return pl__srv_printf("%s/inbox/_quarantine/%s.mcap", st->data_dir, request_id);
}

/* ------------------------------------------------------------- open / close */

/* Load every "*.json" (but not "*.index.json") in DATA/state/<sub>. Leftover
 * temporary files of interrupted writes are removed. */
static int load_dir(struct srv_store *st, const char *sub,
                    int (*add)(struct srv_store *, json_object *)) {
  char *dir = path_join(st, "state", sub, NULL);
  if (!dir) return -1;
  DIR *d = opendir(dir);
  if (!d) {
    free(dir);
    return -1;
  }
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    size_t n = strlen(e->d_name);
    if (n > 4 && strcmp(e->d_name + n - 4, ".tmp") == 0) {
      char *p = pl__srv_printf("%s/%s", dir, e->d_name);
      if (p) unlink(p);
      free(p);
      continue;
    }
    if (n < 6 || strcmp(e->d_name + n - 5, ".json") != 0) continue;
    if (n > 11 && strcmp(e->d_name + n - 11, ".index.json") == 0) continue;
    char *p = pl__srv_printf("%s/%s", dir, e->d_name);
    json_object *o = p ? load_json(p) : NULL;
    free(p);
    if (o) {
      add(st, o);
      json_object_put(o);
    }
  }
  closedir(d);
  free(dir);
  return 0;
}

static int add_device(struct srv_store *st, json_object *o) {
  struct srv_device *d = device_load(o);
  if (!d) return -1;
  if (pl__srv_vec_push(&st->devices, d) != 0) {
    device_free(d);
    return -1;
  }
  return 0;
}

static int add_rec(struct srv_store *st, json_object *o) {
  struct srv_recording *r = rec_load(st, o);
  if (!r) return -1;
  if (pl__srv_vec_push(&st->recordings, r) != 0) {
    pl__srv_rec_free(r);
    return -1;
  }
  return 0;
}

static int add_imp(struct srv_store *st, json_object *o) {
  struct srv_import *m = imp_load(o);
  if (!m) return -1;
  if (pl__srv_vec_push(&st->imports, m) != 0) {
    pl__srv_imp_free(m);
    return -1;
  }
  return 0;
}

static int cmp_created_dev(const void *a, const void *b, void *ctx) {
  (void)ctx;
  const struct srv_device *x = a, *y = b;
  int c = pl__srv_cmp_u64(x->created, y->created);
  return c ? c : pl__srv_cmp_str(x->id, y->id);
}

static int load_site(struct srv_store *st, pl_error_info *err) {
  char *file = path_join(st, "state", "site.json", NULL);
  char *secret_file = path_join(st, "state", "secret", NULL);
  int rc = -1;
  if (!file || !secret_file) goto out;
  json_object *o = load_json(file);
  if (o && jstr(o, "id") && pl__srv_valid_id(jstr(o, "id"))) {
    snprintf(st->site_id, sizeof st->site_id, "%s", jstr(o, "id"));
    snprintf(st->site_name, sizeof st->site_name, "%s",
             jstr(o, "name") ? jstr(o, "name") : "mcapkit-local");
    json_object_put(o);
  } else {
    json_object_put(o);
    pl__srv_new_id("site", st->site_id);
    snprintf(st->site_name, sizeof st->site_name, "mcapkit-local");
    json_object *s = json_object_new_object();
    add_str(s, "id", st->site_id);
    add_str(s, "name", st->site_name);
    add_str(s, "type", "self-hosted");
    if (save_json(st, file, s, 0600) != 0) {
      snprintf(err->msg, sizeof err->msg, "cannot write '%s': %s", file, strerror(errno));
      goto out;
    }
  }
  size_t len = 0;
  char *hex = pl__srv_read_file(secret_file, 4096, &len);
  if (hex && len >= 64) {
    for (size_t i = 0; i < 32; i++) {
      unsigned v = 0;
      if (sscanf(hex + 2 * i, "%2x", &v) != 1) break;
      st->secret[i] = (uint8_t)v;
    }
  } else {
    char text[65];
    if (pl__srv_random(st->secret, sizeof st->secret) != 0 ||
        (pl__srv_hex(st->secret, sizeof st->secret, text),
         pl__srv_write_atomic(secret_file, text, 64, st->no_fsync, 0600) != 0)) {
      snprintf(err->msg, sizeof err->msg, "cannot write '%s': %s", secret_file, strerror(errno));
      free(hex);
      goto out;
    }
  }
  free(hex);
  rc = 0;
out:
  free(file);
  free(secret_file);
  return rc;
}

int pl__srv_store_open(struct srv_store *st, const char *data_dir, int no_fsync,
                       pl_error_info *err) {
  memset(st, 0, sizeof *st);
  pthread_rwlock_init(&st->lock, NULL);
  st->no_fsync = no_fsync;
  st->data_dir = pl__srv_strdup(data_dir);
  if (!st->data_dir) return PL_ENOMEM;
  /* keep "DATA/" and "DATA" the same */
  size_t n = strlen(st->data_dir);
  while (n > 1 && st->data_dir[n - 1] == '/') st->data_dir[--n] = 0;
  st->lake_dir = pl__srv_printf("%s/lake", st->data_dir);
  static const char *const dirs[] = {"",
                                     "/state",
                                     "/state/devices",
                                     "/state/recordings",
                                     "/state/imports",
                                     "/state/events",
                                     "/state/custom-properties",
                                     "/inbox",
                                     "/inbox/_quarantine",
                                     "/attachments",
                                     "/lake"};
  for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
    char *p = pl__srv_printf("%s%s", st->data_dir, dirs[i]);
    if (!p || pl__srv_mkdirs(p, 0700) != 0) {
      snprintf(err->msg, sizeof err->msg, "cannot create '%s': %s", p ? p : dirs[i],
               strerror(errno));
      free(p);
      return PL_EIO;
    }
    free(p);
  }
  /* nothing under DATA is anyone else's business: a tree made by an older version
   * (or copied in) is tightened, and the caller warns about what was changed */
  pl__srv_tighten(st->data_dir, 1, &st->tightened);
  if (load_site(st, err) != 0) return PL_EIO;
  if (load_dir(st, "devices", add_device) != 0 || load_dir(st, "recordings", add_rec) != 0 ||
      load_dir(st, "imports", add_imp) != 0 || pl__srv_events_load(st) != 0) {
    snprintf(err->msg, sizeof err->msg, "cannot read the state under '%s/state': %s",
             st->data_dir, strerror(errno));
    return PL_EIO;
  }
  pl__srv_sort(st->devices.items, st->devices.n, cmp_created_dev, NULL, 0);
  return PL_OK;
}

void pl__srv_store_close(struct srv_store *st) {
  for (size_t i = 0; i < st->devices.n; i++) device_free(st->devices.items[i]);
  for (size_t i = 0; i < st->recordings.n; i++) pl__srv_rec_free(st->recordings.items[i]);
  for (size_t i = 0; i < st->imports.n; i++) pl__srv_imp_free(st->imports.items[i]);
  free(st->devices.items);
  free(st->recordings.items);
  free(st->imports.items);
  pl__srv_events_dispose(st);
  free(st->data_dir);
  free(st->lake_dir);
  pthread_rwlock_destroy(&st->lock);
  memset(st, 0, sizeof *st);
}

/* ------------------------------------------------------------- for the other state files */

int pl__srv_store_save_json(struct srv_store *st, const char *path, json_object *o) {
  return save_json(st, path, o, 0600);
}

int pl__srv_store_load_dir(struct srv_store *st, const char *sub,
                           int (*add)(struct srv_store *, json_object *)) {
  return load_dir(st, sub, add);
}
