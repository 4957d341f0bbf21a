/*
 * api_json.c - the JSON side of the API client: json-c trees to and from the
 * plain structs of client.h, request bodies, API error texts and the upload
 * journal's lines. Every tree is released (json_object_put) before
 * returning; nothing here keeps a json-c object.
 *
 * Tolerance: unknown fields are ignored; enum values (importStatus, status)
 * are kept as the strings sent, so values added to the API later pass
 * through; a number may arrive as a JSON number or a decimal string; a field
 * of the wrong type counts as absent. Only an item that is not an object, or
 * lacks the field that identifies it (id, requestId, topic, path, start/end),
 * is an error, named with its position in the page.
 *
 * Times: the API writes RFC 3339 UTC; "start"/"end" of recordings are
 * documented as dates, so a bare "YYYY-MM-DD" is accepted too (midnight UTC).
 * In request bodies we write nine fraction digits and 'Z'.
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_internal.h"
#include "pipeline/core.h"

#define MAX_DEPTH 64

/* ------------------------------------------------------------- parsing */

static json_object *parse(const char *body, size_t len, pl_error_info *err, const char *what) {
  if (!body || len == 0) {
    pl_error_set(err, PL_EJSON, UINT64_MAX, "%s: empty response", what);
    return NULL;
  }
  if (len > (size_t)INT32_MAX) {
    pl_error_set(err, PL_EJSON, UINT64_MAX, "%s: response too large", what);
    return NULL;
  }
  /* Strings of a response are text for our callers (tables, --json): a server that
   * sends bytes that are not UTF-8 gets them replaced by U+FFFD, never passed on. */
  char *fixed = NULL;
  if (!pl_utf8_valid(body, len)) {
    fixed = pl_utf8_fix(body, len, &len);
    if (!fixed || len > (size_t)INT32_MAX) {
      free(fixed);
      pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
      return NULL;
    }
    body = fixed;
  }
  json_tokener *tok = json_tokener_new_ex(MAX_DEPTH);
  if (!tok) {
    free(fixed);
    pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
    return NULL;
  }
  json_object *o = json_tokener_parse_ex(tok, body, (int)len);
  enum json_tokener_error je = json_tokener_get_error(tok);
  size_t end = json_tokener_get_parse_end(tok);
  json_tokener_free(tok);
  if (je == json_tokener_continue) {
    /* the text ended inside a value */
    json_object_put(o);
    pl_error_set(err, PL_EJSON, (uint64_t)len, "%s: the JSON ends early (%zu bytes)", what, len);
    o = NULL;
  } else if (je != json_tokener_success || !o) {
    json_object_put(o);
    pl_error_set(err, PL_EJSON, (uint64_t)end, "%s: malformed JSON at byte %zu: %s", what, end,
                 json_tokener_error_desc(je));
    o = NULL;
  }
  for (size_t i = end; o && i < len; i++)
    if (!(body[i] == ' ' || body[i] == '\n' || body[i] == '\r' || body[i] == '\t')) {
      json_object_put(o);
      pl_error_set(err, PL_EJSON, (uint64_t)i, "%s: unexpected bytes after the JSON at byte %zu",
                   what, i);
      o = NULL;
    }
  free(fixed);
  return o;
}

struct json_object *pl__api_json_parse(const char *body, size_t len, pl_error_info *err,
                                      const char *what) {
  return parse(body, len, err, what);
}

static json_object *field(json_object *o, const char *k) {
  json_object *v = NULL;
  if (!o || !json_object_is_type(o, json_type_object)) return NULL;
  if (!json_object_object_get_ex(o, k, &v)) return NULL;
  return v;
}

/* A string field, copied; NULL when absent, null or not a string. *oom set on ENOMEM. */
static char *jstr(json_object *o, const char *k, int *oom) {
  json_object *v = field(o, k);
  if (!v || !json_object_is_type(v, json_type_string)) return NULL;
  char *s = pl_strdup(json_object_get_string(v));
  if (!s) *oom = 1;
  return s;
}

/* An unsigned number: a JSON integer/double >= 0 or a decimal string. 1 if present. */
static int ju64(json_object *o, const char *k, uint64_t *out) {
  json_object *v = field(o, k);
  if (!v) return 0;
  if (json_object_is_type(v, json_type_int)) {
    if (json_object_get_int64(v) < 0 && json_object_get_uint64(v) == 0) return 0;
    *out = json_object_get_uint64(v);
    return 1;
  }
  if (json_object_is_type(v, json_type_double)) {
    double d = json_object_get_double(v);
    if (!(d >= 0) || d > 1.8e19) return 0;
    *out = (uint64_t)d;
    return 1;
  }
  if (json_object_is_type(v, json_type_string)) {
    const char *s = json_object_get_string(v);
    if (!*s || *s < '0' || *s > '9') return 0;
    char *end = NULL;
    errno = 0;
    unsigned long long x = strtoull(s, &end, 10);
    if (errno || *end) return 0;
    *out = x;
    return 1;
  }
  return 0;
}

int pl__api_time(const char *s, uint64_t *ns) {
  if (!s) return -1;
  if (pl_parse_time(s, ns) == PL_OK) return 0;
  /* a bare date */
  if (strlen(s) == 10 && s[4] == '-' && s[7] == '-') {
    char buf[32];
    snprintf(buf, sizeof buf, "%sT00:00:00Z", s);
    if (pl_parse_time(buf, ns) == PL_OK) return 0;
  }
  return -1;
}

/* A time field; 1 if present and valid. */
static int jtime(json_object *o, const char *k, uint64_t *out) {
  json_object *v = field(o, k);
  if (!v || !json_object_is_type(v, json_type_string)) return 0;
  return pl__api_time(json_object_get_string(v), out) == 0;
}

static char *compact(json_object *o, int *oom) {
  const char *s =
      json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
  char *d = pl_strdup(s ? s : "null");
  if (!d) *oom = 1;
  return d;
}

static int b64val(int c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+' || c == '-') return 62;
  if (c == '/' || c == '_') return 63;
  return -1;
}

/* Decode base64 (standard or URL alphabet, padding optional). 0, -1 malformed, -2 ENOMEM. */
static int b64_decode(const char *s, uint8_t **out, size_t *n) {
  size_t len = strlen(s);
  while (len && s[len - 1] == '=') len--;
  uint8_t *b = malloc(len / 4 * 3 + 3);
  if (!b) return -2;
  size_t k = 0;
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < len; i++) {
    int v = b64val((unsigned char)s[i]);
    if (v < 0) {
      free(b);
      return -1;
    }
    acc = (acc << 6) | (uint32_t)v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      b[k++] = (uint8_t)(acc >> bits);
    }
  }
  if (len % 4 == 1) {
    free(b);
    return -1;
  }
  *out = b;
  *n = k;
  return 0;
}

/* ------------------------------------------------------------- items */

void pl__api_recording_dispose(pl_api_recording *r) {
  if (!r) return;
  free(r->id);
  free(r->path);
  free(r->key);
  free(r->import_status);
  free(r->site_id);
  free(r->site_name);
  free(r->edge_site_id);
  free(r->edge_site_name);
  free(r->device_id);
  free(r->device_name);
  for (size_t i = 0; i < r->n_metadata; i++) {
    free(r->metadata[i].name);
    for (size_t k = 0; k < r->metadata[i].n_entries; k++) {
      free(r->metadata[i].entries[k].key);
      free(r->metadata[i].entries[k].value);
    }
    free(r->metadata[i].entries);
  }
  free(r->metadata);
  free(r->json);
  memset(r, 0, sizeof *r);
}

void pl__api_import_dispose(pl_api_import *m) {
  if (!m) return;
  free(m->request_id);
  free(m->filename);
  free(m->device_id);
  free(m->device_name);
  free(m->key);
  free(m->status);
  free(m->error);
  free(m->import_id);
  free(m->site_id);
  free(m->org_id);
  free(m->pipeline_stage);
  free(m->json);
  memset(m, 0, sizeof *m);
}

void pl__api_attachment_dispose(pl_api_attachment *a) {
  if (!a) return;
  free(a->id);
  free(a->recording_id);
  free(a->site_id);
  free(a->name);
  free(a->media_type);
  free(a->fingerprint);
  free(a->lake_path);
  free(a->json);
  memset(a, 0, sizeof *a);
}

void pl__api_topic_dispose(pl_api_topic *t) {
  if (!t) return;
  free(t->topic);
  free(t->encoding);
  free(t->schema_name);
  free(t->schema_encoding);
  free(t->version);
  free(t->schema);
  free(t->json);
  memset(t, 0, sizeof *t);
}

void pl__api_coverage_dispose(pl_api_coverage *c) {
  if (!c) return;
  free(c->device_id);
  free(c->device_name);
  free(c->status);
  free(c->import_status);
  free(c->json);
  memset(c, 0, sizeof *c);
}

void pl__api_lake_file_dispose(pl_api_lake_file *f) {
  if (!f) return;
  free(f->path);
  for (size_t i = 0; i < f->n_topics; i++) free(f->topics[i]);
  free(f->topics);
  free(f->json);
  memset(f, 0, sizeof *f);
}

void pl__api_device_dispose(pl_api_device *d) {
  if (!d) return;
  free(d->id);
  free(d->name);
  free(d->org_id);
  free(d->json);
  memset(d, 0, sizeof *d);
}

/* Each item parser fills a zeroed struct; returns 0, PL_ENOMEM, or PL_EJSON
 * with `missing` naming the absent identifying field. */

static int summary(json_object *o, const char *k, char **id, char **name, int *oom) {
  json_object *s = field(o, k);
  if (!s || !json_object_is_type(s, json_type_object)) return 0;
  *id = jstr(s, "id", oom);
  *name = jstr(s, "name", oom);
  return 1;
}

static int metadata_list(json_object *arr, pl_metadata_info **out, size_t *n, int *oom) {
  if (!arr || !json_object_is_type(arr, json_type_array)) return 0;
  size_t len = json_object_array_length(arr);
  pl_metadata_info *m = calloc(len ? len : 1, sizeof *m);
  if (!m) {
    *oom = 1;
    return 0;
  }
  size_t k = 0;
  for (size_t i = 0; i < len; i++) {
    json_object *e = json_object_array_get_idx(arr, i);
    if (!json_object_is_type(e, json_type_object)) continue;
    pl_metadata_info *mi = &m[k++];
    mi->name = jstr(e, "name", oom);
    if (!mi->name) mi->name = pl_strdup("");
    json_object *map = field(e, "metadata");
    if (map && json_object_is_type(map, json_type_object)) {
      size_t cnt = (size_t)json_object_object_length(map);
      mi->entries = calloc(cnt ? cnt : 1, sizeof *mi->entries);
      if (!mi->entries) {
        *oom = 1;
        continue;
      }
      json_object_object_foreach(map, key, val) {
        if (!json_object_is_type(val, json_type_string)) continue;
        pl_kv *kv = &mi->entries[mi->n_entries++];
        kv->key = pl_strdup(key);
        kv->value = pl_strdup(json_object_get_string(val));
        if (!kv->key || !kv->value) *oom = 1;
      }
    }
  }
  *out = m;
  *n = k;
  return 1;
}

static int item_recording(json_object *o, pl_api_recording *r, const char **missing) {
  int oom = 0;
  r->id = jstr(o, "id", &oom);
  if (!r->id && !oom) {
    *missing = "id";
    return PL_EJSON;
  }
  r->path = jstr(o, "path", &oom);
  r->key = jstr(o, "key", &oom);
  ju64(o, "size", &r->size);
  ju64(o, "messageCount", &r->message_count);
  jtime(o, "createdAt", &r->created_at);
  jtime(o, "importedAt", &r->imported_at);
  jtime(o, "start", &r->start);
  jtime(o, "end", &r->end);
  r->import_status = jstr(o, "importStatus", &oom);
  summary(o, "site", &r->site_id, &r->site_name, &oom);
  summary(o, "edgeSite", &r->edge_site_id, &r->edge_site_name, &oom);
  if (!summary(o, "device", &r->device_id, &r->device_name, &oom)) {
    r->device_id = jstr(o, "deviceId", &oom);
    r->device_name = jstr(o, "deviceName", &oom);
  }
  metadata_list(field(o, "metadata"), &r->metadata, &r->n_metadata, &oom);
  r->json = compact(o, &oom);
  return oom ? PL_ENOMEM : PL_OK;
}

static int item_import(json_object *o, pl_api_import *m, const char **missing) {
  int oom = 0;
  m->request_id = jstr(o, "requestId", &oom);
  if (!m->request_id && !oom) {
    *missing = "requestId";
    return PL_EJSON;
  }
  m->filename = jstr(o, "filename", &oom);
  m->device_id = jstr(o, "deviceId", &oom);
  m->device_name = jstr(o, "deviceName", &oom);
  m->key = jstr(o, "key", &oom);
  m->status = jstr(o, "status", &oom);
  m->error = jstr(o, "error", &oom);
  m->import_id = jstr(o, "importId", &oom);
  m->site_id = jstr(o, "siteId", &oom);
  m->org_id = jstr(o, "orgId", &oom);
  m->pipeline_stage = jstr(o, "pipelineStage", &oom);
  jtime(o, "createdAt", &m->created_at);
  jtime(o, "updatedAt", &m->updated_at);
  jtime(o, "quarantinedAt", &m->quarantined_at);
  m->json = compact(o, &oom);
  return oom ? PL_ENOMEM : PL_OK;
}

static int item_attachment(json_object *o, pl_api_attachment *a, const char **missing) {
  int oom = 0;
  a->id = jstr(o, "id", &oom);
  if (!a->id && !oom) {
    *missing = "id";
    return PL_EJSON;
  }
  a->recording_id = jstr(o, "recordingId", &oom);
  a->site_id = jstr(o, "siteId", &oom);
  a->name = jstr(o, "name", &oom);
  a->media_type = jstr(o, "mediaType", &oom);
  a->fingerprint = jstr(o, "fingerprint", &oom);
  a->lake_path = jstr(o, "lakePath", &oom);
  jtime(o, "logTime", &a->log_time);
  jtime(o, "createTime", &a->create_time);
  uint64_t crc = 0;
  if (ju64(o, "crc", &crc)) a->crc = (uint32_t)crc;
  ju64(o, "size", &a->size);
  a->json = compact(o, &oom);
  return oom ? PL_ENOMEM : PL_OK;
}

static int item_topic(json_object *o, pl_api_topic *t, const char **missing) {
  int oom = 0;
  t->topic = jstr(o, "topic", &oom);
  if (!t->topic && !oom) {
    *missing = "topic";
    return PL_EJSON;
  }
  t->encoding = jstr(o, "encoding", &oom);
  t->schema_name = jstr(o, "schemaName", &oom);
  t->schema_encoding = jstr(o, "schemaEncoding", &oom);
  t->version = jstr(o, "version", &oom);
  json_object *s = field(o, "schema");
  if (s && json_object_is_type(s, json_type_string)) {
    int rc = b64_decode(json_object_get_string(s), &t->schema, &t->schema_len);
    if (rc == -2) oom = 1;
    if (rc == -1) {
      *missing = "schema (not base64)";
      return PL_EJSON;
    }
    t->has_schema = rc == 0;
  }
  t->json = compact(o, &oom);
  return oom ? PL_ENOMEM : PL_OK;
}

static int item_coverage(json_object *o, pl_api_coverage *c, const char **missing) {
  int oom = 0;
  if (!jtime(o, "start", &c->start)) {
    *missing = "start";
    return PL_EJSON;
  }
  if (!jtime(o, "end", &c->end)) {
    *missing = "end";
    return PL_EJSON;
  }
  c->device_id = jstr(o, "deviceId", &oom);
  char *sid = NULL;
  if (summary(o, "device", &sid, &c->device_name, &oom)) {
    if (!c->device_id)
      c->device_id = sid;
    else
      free(sid);
  }
  c->status = jstr(o, "status", &oom);
  c->import_status = jstr(o, "importStatus", &oom);
  c->json = compact(o, &oom);
  return oom ? PL_ENOMEM : PL_OK;
}

static int item_lake_file(json_object *o, pl_api_lake_file *f, const char **missing) {
  int oom = 0;
  f->path = jstr(o, "path", &oom);
  if (!f->path && !oom) {
    *missing = "path";
    return PL_EJSON;
  }
  json_object *t = field(o, "topics");
  if (t && json_object_is_type(t, json_type_array)) {
    size_t n = json_object_array_length(t);
    f->topics = calloc(n ? n : 1, sizeof *f->topics);
    if (!f->topics) oom = 1;
    for (size_t i = 0; f->topics && i < n; i++) {
      json_object *e = json_object_array_get_idx(t, i);
      if (!json_object_is_type(e, json_type_string)) continue;
      f->topics[f->n_topics] = pl_strdup(json_object_get_string(e));
      if (!f->topics[f->n_topics]) oom = 1;
      f->n_topics++;
    }
  }
  f->json = compact(o, &oom);
  return oom ? PL_ENOMEM : PL_OK;
}

static int item_device(json_object *o, pl_api_device *d, const char **missing) {
  int oom = 0;
  d->id = jstr(o, "id", &oom);
  if (!d->id && !oom) {
    *missing = "id";
    return PL_EJSON;
  }
  d->name = jstr(o, "name", &oom);
  d->org_id = jstr(o, "orgId", &oom);
  d->json = compact(o, &oom);
  return oom ? PL_ENOMEM : PL_OK;
}

static const char *kind_name(pl_api_kind k) {
  switch (k) {
    case PL_API_RECORDINGS:
      return "recording";
    case PL_API_PENDING_IMPORTS:
      return "pending import";
    case PL_API_ATTACHMENTS:
      return "attachment";
    case PL_API_TOPICS:
      return "topic";
    case PL_API_COVERAGE:
      return "coverage range";
    case PL_API_LAKE_FILES:
      return "lake file";
    case PL_API_DEVICES:
      return "device";
  }
  return "item";
}

static size_t elem_size(pl_api_kind k) {
  switch (k) {
    case PL_API_RECORDINGS:
      return sizeof(pl_api_recording);
    case PL_API_PENDING_IMPORTS:
      return sizeof(pl_api_import);
    case PL_API_ATTACHMENTS:
      return sizeof(pl_api_attachment);
    case PL_API_TOPICS:
      return sizeof(pl_api_topic);
    case PL_API_COVERAGE:
      return sizeof(pl_api_coverage);
    case PL_API_LAKE_FILES:
      return sizeof(pl_api_lake_file);
    case PL_API_DEVICES:
      return sizeof(pl_api_device);
  }
  return 1;
}

static void **list_array(pl_api_list *l) {
  switch (l->kind) {
    case PL_API_RECORDINGS:
      return (void **)&l->recordings;
    case PL_API_PENDING_IMPORTS:
      return (void **)&l->imports;
    case PL_API_ATTACHMENTS:
      return (void **)&l->attachments;
    case PL_API_TOPICS:
      return (void **)&l->topics;
    case PL_API_COVERAGE:
      return (void **)&l->coverage;
    case PL_API_LAKE_FILES:
      return (void **)&l->lake_files;
    case PL_API_DEVICES:
      return (void **)&l->devices;
  }
  return NULL;
}

static int parse_item(pl_api_kind k, json_object *o, void *dst, const char **missing) {
  switch (k) {
    case PL_API_RECORDINGS:
      return item_recording(o, dst, missing);
    case PL_API_PENDING_IMPORTS:
      return item_import(o, dst, missing);
    case PL_API_ATTACHMENTS:
      return item_attachment(o, dst, missing);
    case PL_API_TOPICS:
      return item_topic(o, dst, missing);
    case PL_API_COVERAGE:
      return item_coverage(o, dst, missing);
    case PL_API_LAKE_FILES:
      return item_lake_file(o, dst, missing);
    case PL_API_DEVICES:
      return item_device(o, dst, missing);
  }
  return PL_EINVAL;
}

static void dispose_item(pl_api_kind k, void *p) {
  switch (k) {
    case PL_API_RECORDINGS:
      pl__api_recording_dispose(p);
      break;
    case PL_API_PENDING_IMPORTS:
      pl__api_import_dispose(p);
      break;
    case PL_API_ATTACHMENTS:
      pl__api_attachment_dispose(p);
      break;
    case PL_API_TOPICS:
      pl__api_topic_dispose(p);
      break;
    case PL_API_COVERAGE:
      pl__api_coverage_dispose(p);
      break;
    case PL_API_LAKE_FILES:
      pl__api_lake_file_dispose(p);
      break;
    case PL_API_DEVICES:
      pl__api_device_dispose(p);
      break;
  }
}

void pl_api_list_dispose(pl_api_list *l) {
  if (!l) return;
  void **arr = list_array(l);
  if (arr && *arr) {
    size_t es = elem_size(l->kind);
    for (size_t i = 0; i < l->n; i++) dispose_item(l->kind, (char *)*arr + i * es);
    free(*arr);
  }
  pl_api_kind k = l->kind;
  memset(l, 0, sizeof *l);
  l->kind = k;
}

int pl__api_parse_page(pl_api_kind kind, const char *body, size_t len, pl_api_list *l, size_t *got,
                       pl_error_info *err) {
  *got = 0;
  char what[64];
  snprintf(what, sizeof what, "%s list", kind_name(kind));
  json_object *root = parse(body, len, err, what);
  if (!root) return err ? err->code : PL_EJSON;
  if (!json_object_is_type(root, json_type_array)) {
    json_object_put(root);
    return pl_error_set(err, PL_EJSON, UINT64_MAX, "%s: expected a JSON array", what);
  }
  size_t n = json_object_array_length(root);
  void **arr = list_array(l);
  size_t es = elem_size(kind);
  void *grown = realloc(*arr, (l->n + n + 1) * es);
  if (!grown) {
    json_object_put(root);
    return pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
  }
  *arr = grown;
  int rc = PL_OK;
  for (size_t i = 0; i < n; i++) {
    json_object *o = json_object_array_get_idx(root, i);
    char *dst = (char *)*arr + l->n * es;
    memset(dst, 0, es);
    if (!json_object_is_type(o, json_type_object)) {
      rc = pl_error_set(err, PL_EJSON, UINT64_MAX, "%s: item %zu is not an object", what, i);
      break;
    }
    const char *missing = "?";
    rc = parse_item(kind, o, dst, &missing);
    if (rc != PL_OK) {
      dispose_item(kind, dst);
      if (rc == PL_EJSON)
        pl_error_set(err, PL_EJSON, UINT64_MAX, "%s: item %zu has no valid '%s'", what, i, missing);
      else
        pl_error_set(err, rc, UINT64_MAX, "out of memory");
      break;
    }
    l->n++;
    (*got)++;
  }
  json_object_put(root);
  return rc;
}

/* One object body into a fresh item. */
static int parse_one(pl_api_kind kind, const char *body, size_t len, void **out,
                     pl_error_info *err) {
  *out = NULL;
  json_object *root = parse(body, len, err, kind_name(kind));
  if (!root) return err ? err->code : PL_EJSON;
  if (!json_object_is_type(root, json_type_object)) {
    json_object_put(root);
    return pl_error_set(err, PL_EJSON, UINT64_MAX, "%s: expected a JSON object", kind_name(kind));
  }
  void *item = calloc(1, elem_size(kind));
  if (!item) {
    json_object_put(root);
    return pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
  }
  const char *missing = "?";
  int rc = parse_item(kind, root, item, &missing);
  json_object_put(root);
  if (rc != PL_OK) {
    dispose_item(kind, item);
    free(item);
    return rc == PL_EJSON ? pl_error_set(err, PL_EJSON, UINT64_MAX, "%s: no valid '%s'",
                                         kind_name(kind), missing)
                          : pl_error_set(err, rc, UINT64_MAX, "out of memory");
  }
  *out = item;
  return PL_OK;
}

int pl__api_parse_recording(const char *body, size_t len, pl_api_recording **out,
                            pl_error_info *err) {
  return parse_one(PL_API_RECORDINGS, body, len, (void **)out, err);
}

int pl__api_parse_attachment(const char *body, size_t len, pl_api_attachment **out,
                             pl_error_info *err) {
  return parse_one(PL_API_ATTACHMENTS, body, len, (void **)out, err);
}

int pl__api_parse_device(const char *body, size_t len, pl_api_device **out, pl_error_info *err) {
  return parse_one(PL_API_DEVICES, body, len, (void **)out, err);
}

int pl__api_parse_string_field(const char *body, size_t len, const char *name, char **out,
                               pl_error_info *err) {
  *out = NULL;
  json_object *root = parse(body, len, err, "response");
  if (!root) return err ? err->code : PL_EJSON;
  int oom = 0;
  *out = jstr(root, name, &oom);
  json_object_put(root);
  if (oom) return pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
  return PL_OK;
}

char *pl__api_error_text(const char *body, size_t len) {
  if (!body || !len) return NULL;
  /* the server's words end up on a terminal: UTF-8 text without control characters */
  char *fixed = pl_utf8_valid(body, len) ? NULL : pl_utf8_fix(body, len, NULL);
  const char *text_in = fixed ? fixed : body;
  size_t text_len = fixed ? strlen(fixed) : len;
  json_tokener *tok = json_tokener_new_ex(MAX_DEPTH);
  json_object *o = tok && text_len < (size_t)INT32_MAX
                       ? json_tokener_parse_ex(tok, text_in, (int)text_len)
                       : NULL;
  int ok = tok && json_tokener_get_error(tok) == json_tokener_success;
  json_tokener_free(tok);
  free(fixed);
  char *text = NULL;
  if (ok && o) {
    int oom = 0;
    text = jstr(o, "error", &oom);
    if (!text) text = jstr(o, "message", &oom);
  }
  json_object_put(o);
  if (text) {
    for (char *p = text; *p; p++)
      if ((unsigned char)*p < 0x20 || *p == 0x7f) *p = ' ';
    return text;
  }
  /* not the API's JSON (a proxy's page?): a printable excerpt */
  size_t n = len < 160 ? len : 160;
  char *s = malloc(n + 4);
  if (!s) return NULL;
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)body[i];
    s[k++] = (c >= 0x20 && c < 0x7f) ? (char)c : ' ';
  }
  if (n < len) {
    memcpy(s + k, "...", 3);
    k += 3;
  }
  s[k] = 0;
  return s;
}

/* ------------------------------------------------------------- bodies */

static char *serialize(json_object *o) {
  if (!o) return NULL;
  const char *s =
      json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
  char *d = pl_strdup(s);
  json_object_put(o);
  return d;
}

static void add_str(json_object *o, const char *k, const char *v) {
  if (v) json_object_object_add(o, k, json_object_new_string(v));
}

static void add_time(json_object *o, const char *k, uint64_t ns) {
  char buf[40];
  pl_format_time(ns, buf);
  json_object_object_add(o, k, json_object_new_string(buf));
}

char *pl__api_upload_body(const char *filename, const char *device_id, const char *device_name,
                          const char *key) {
  json_object *o = json_object_new_object();
  if (!o) return NULL;
  add_str(o, "filename", filename);
  add_str(o, "deviceId", device_id);
  add_str(o, "deviceName", device_name);
  add_str(o, "key", key);
  return serialize(o);
}

char *pl__api_stream_body(const pl_api_stream_request *req) {
  json_object *o = json_object_new_object();
  if (!o) return NULL;
  add_str(o, "recordingId", req->recording_id);
  add_str(o, "recordingKey", req->recording_key);
  add_str(o, "deviceId", req->device_id);
  add_str(o, "deviceName", req->device_name);
  if (req->has_start) add_time(o, "start", req->start);
  if (req->has_end) add_time(o, "end", req->end);
  if (req->topics && req->n_topics) {
    json_object *t = json_object_new_array();
    for (size_t i = 0; i < req->n_topics; i++)
      json_object_array_add(t, json_object_new_string(req->topics[i]));
    json_object_object_add(o, "topics", t);
  }
  json_object_object_add(o, "outputFormat", json_object_new_string("mcap"));
  json_object_object_add(o, "includeAttachments",
                         json_object_new_boolean(req->include_attachments ? 1 : 0));
  return serialize(o);
}

char *pl__api_device_body(const char *name) {
  json_object *o = json_object_new_object();
  if (!o) return NULL;
  add_str(o, "name", name);
  return serialize(o);
}

/* ------------------------------------------------------------- journal */

char *pl__journal_format(const struct pl__journal_entry *e) {
  json_object *o = json_object_new_object();
  if (!o) return NULL;
  add_str(o, "api", e->api_url);
  add_str(o, "path", e->path);
  json_object_object_add(o, "size", json_object_new_uint64(e->size));
  json_object_object_add(o, "mtime_ns", json_object_new_int64(e->mtime_ns));
  if (e->hash[0]) add_str(o, "hash", e->hash);
  add_str(o, "key", e->key);
  add_str(o, "request_id", e->request_id);
  add_str(o, "recording_id", e->recording_id);
  add_str(o, "state", e->state);
  char *s = serialize(o);
  if (!s) return NULL;
  size_t n = strlen(s);
  char *line = realloc(s, n + 2);
  if (!line) {
    free(s);
    return NULL;
  }
  line[n] = '\n';
  line[n + 1] = 0;
  return line;
}

int pl__journal_parse(const char *line, size_t len, struct pl__journal_entry *e) {
  memset(e, 0, sizeof *e);
  json_object *o = parse(line, len, NULL, "journal");
  if (!o || !json_object_is_type(o, json_type_object)) {
    json_object_put(o);
    return -1;
  }
  int oom = 0;
  e->api_url = jstr(o, "api", &oom);
  e->path = jstr(o, "path", &oom);
  e->key = jstr(o, "key", &oom);
  e->request_id = jstr(o, "request_id", &oom);
  e->recording_id = jstr(o, "recording_id", &oom);
  e->state = jstr(o, "state", &oom);
  ju64(o, "size", &e->size);
  json_object *m = field(o, "mtime_ns");
  if (m && json_object_is_type(m, json_type_int)) e->mtime_ns = json_object_get_int64(m);
  json_object *hv = field(o, "hash");
  if (hv && json_object_is_type(hv, json_type_string) && json_object_get_string_len(hv) == 32)
    memcpy(e->hash, json_object_get_string(hv), 33);
  json_object_put(o);
  if (oom || !e->api_url || !e->path || !e->state) {
    pl__journal_entry_dispose(e);
    return -1;
  }
  return 0;
}

void pl__journal_entry_dispose(struct pl__journal_entry *e) {
  if (!e) return;
  free(e->api_url);
  free(e->path);
  free(e->key);
  free(e->request_id);
  free(e->recording_id);
  free(e->state);
  memset(e, 0, sizeof *e);
}
