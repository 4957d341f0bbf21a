/*
 * index_json.c - the recording index to and from its JSON document
 * (docs/index-json.md, format_version 1), and the lake's lake.json. The only
 * file of the local import that includes json-c; every tree is released with
 * json_object_put before returning.
 *
 * Field choices, decided once: times are RFC 3339 strings with nine fraction
 * digits (null when there is no such time); counts, sizes and the attachment
 * crc are JSON numbers (u64 counts can exceed 2^53 only in theory; the API
 * sends them as numbers too); the schema is base64; keys of API-shaped
 * objects are the API's camelCase, top-level keys are lower_snake.
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "import_internal.h"

#define PRINT_FLAGS \
  (JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE)

const char *pl__severity_name(pl_severity s) {
  switch (s) {
    case PL_SEV_INFO:
      return "info";
    case PL_SEV_WARNING:
      return "warning";
    case PL_SEV_ERROR:
      return "error";
  }
  return "error";
}

/* ---------------------------------------------------------------- base64 */

static int b64val(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

/* Strict standard base64 with padding. 0 or -1. */
static int base64_decode(const char *s, size_t n, uint8_t **out, size_t *out_len) {
  *out = NULL;
  *out_len = 0;
  if (n % 4) return -1;
  uint8_t *d = malloc(n / 4 * 3 + 1);
  if (!d) return -1;
  size_t j = 0;
  for (size_t i = 0; i < n; i += 4) {
    int v[4];
    int pad = 0;
    for (int k = 0; k < 4; k++) {
      if (s[i + k] == '=' && i + 4 == n && k >= 2) {
        v[k] = 0;
        pad++;
      } else {
        if (pad) goto bad; /* data after '=' */
        v[k] = b64val(s[i + k]);
        if (v[k] < 0) goto bad;
      }
    }
    uint32_t x = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
    d[j++] = (uint8_t)(x >> 16);
    if (pad < 2) d[j++] = (uint8_t)(x >> 8);
    if (pad < 1) d[j++] = (uint8_t)x;
  }
  *out = d;
  *out_len = j;
  return 0;
bad:
  free(d);
  return -1;
}

/* ------------------------------------------------------------ building */

/* json-c's constructors return NULL only when out of memory; `oom` collects that. */
struct jb {
  int oom;
};

static json_object *jstr(struct jb *j, const char *s) {
  json_object *o = json_object_new_string(s ? s : "");
  if (!o) j->oom = 1;
  return o;
}

static json_object *jstr_or_null(struct jb *j, const char *s) {
  return s ? jstr(j, s) : NULL;
}

static json_object *ju64(struct jb *j, uint64_t v) {
  json_object *o = json_object_new_uint64(v);
  if (!o) j->oom = 1;
  return o;
}

static json_object *jtime(struct jb *j, uint64_t ns) {
  char buf[40];
  pl_format_time(ns, buf);
  return jstr(j, buf);
}

static void jadd(struct jb *j, json_object *obj, const char *key, json_object *v) {
  if (!obj) return;
  if (json_object_object_add(obj, key, v) != 0) {
    json_object_put(v);
    j->oom = 1;
  }
}

static void jpush(struct jb *j, json_object *arr, json_object *v) {
  if (!arr || !v) {
    if (!v) j->oom = 1;
    json_object_put(v);
    return;
  }
  if (json_object_array_add(arr, v) != 0) {
    json_object_put(v);
    j->oom = 1;
  }
}

static json_object *jobj(struct jb *j) {
  json_object *o = json_object_new_object();
  if (!o) j->oom = 1;
  return o;
}

static json_object *jarr(struct jb *j) {
  json_object *o = json_object_new_array();
  if (!o) j->oom = 1;
  return o;
}

static json_object *ranges_json(struct jb *j, const pl_range *r, size_t n) {
  json_object *a = jarr(j);
  for (size_t i = 0; i < n; i++) {
    json_object *o = jobj(j);
    jadd(j, o, "start", jtime(j, r[i].start));
    jadd(j, o, "end", jtime(j, r[i].end));
    jpush(j, a, o);
  }
  return a;
}

static json_object *index_tree(struct jb *j, const pl_recording_index *ix) {
  json_object *doc = jobj(j);
  jadd(j, doc, "format_version", ju64(j, PL_INDEX_FORMAT_VERSION));

  json_object *rec = jobj(j);
  jadd(j, rec, "path", jstr(j, ix->path));
  jadd(j, rec, "size", ju64(j, ix->size));
  jadd(j, rec, "contentHash", jstr(j, ix->content_hash));
  jadd(j, rec, "start", ix->has_messages ? jtime(j, ix->start) : NULL);
  jadd(j, rec, "end", ix->has_messages ? jtime(j, ix->end) : NULL);
  jadd(j, rec, "library", jstr(j, ix->library));
  jadd(j, rec, "profile", jstr(j, ix->profile));
  jadd(j, rec, "messageCount", ju64(j, ix->message_count));
  json_object *dev = jobj(j);
  jadd(j, dev, "id", jstr_or_null(j, ix->device_id));
  jadd(j, dev, "name", jstr_or_null(j, ix->device_name));
  jadd(j, rec, "device", dev);
  jadd(j, rec, "key", jstr_or_null(j, ix->key));
  jadd(j, rec, "coverageToleranceNs", ju64(j, ix->tolerance_ns));
  json_object *partial = json_object_new_boolean(ix->partial ? 1 : 0);
  if (!partial) j->oom = 1;
  jadd(j, rec, "partial", partial);
  jadd(j, doc, "recording", rec);

  json_object *topics = jarr(j);
  for (size_t i = 0; i < ix->n_topics; i++) {
    const pl_topic *t = &ix->topics[i];
    json_object *o = jobj(j);
    jadd(j, o, "topic", jstr(j, t->topic));
    jadd(j, o, "encoding", jstr(j, t->encoding));
    jadd(j, o, "schemaName", jstr(j, t->schema_name));
    jadd(j, o, "schemaEncoding", jstr(j, t->schema_encoding));
    char *s64 = pl_base64_dup(t->schema, t->schema_len);
    if (!s64) j->oom = 1;
    jadd(j, o, "schema", jstr(j, s64 ? s64 : ""));
    free(s64);
    jadd(j, o, "version", jstr(j, t->version));
    jadd(j, o, "messageCount", ju64(j, t->message_count));
    jadd(j, o, "bytes", ju64(j, t->bytes));
    jadd(j, o, "firstLogTime", t->message_count ? jtime(j, t->first_log_time) : NULL);
    jadd(j, o, "lastLogTime", t->message_count ? jtime(j, t->last_log_time) : NULL);
    /* fixed six decimals: the same text on every machine (golden files) */
    char f[64];
    snprintf(f, sizeof f, "%.6f", t->frequency);
    json_object *fo = json_object_new_double_s(t->frequency, f);
    if (!fo) j->oom = 1;
    jadd(j, o, "frequency", fo);
    jpush(j, topics, o);
  }
  jadd(j, doc, "topics", topics);

  jadd(j, doc, "coverage", ranges_json(j, ix->coverage, ix->n_coverage));
  json_object *tc = jobj(j);
  for (size_t i = 0; i < ix->n_topic_coverage; i++)
    jadd(j, tc, ix->topic_coverage[i].topic,
         ranges_json(j, ix->topic_coverage[i].ranges, ix->topic_coverage[i].n_ranges));
  jadd(j, doc, "topic_coverage", tc);

  json_object *atts = jarr(j);
  for (size_t i = 0; i < ix->n_attachments; i++) {
    const pl_attachment_info *a = &ix->attachments[i];
    json_object *o = jobj(j);
    jadd(j, o, "name", jstr(j, a->name));
    jadd(j, o, "mediaType", jstr(j, a->media_type));
    jadd(j, o, "logTime", jtime(j, a->log_time));
    jadd(j, o, "createTime", jtime(j, a->create_time));
    jadd(j, o, "crc", ju64(j, a->crc));
    jadd(j, o, "size", ju64(j, a->size));
    jadd(j, o, "fingerprint", jstr(j, a->fingerprint));
    jadd(j, o, "offset", ju64(j, a->offset));
    jpush(j, atts, o);
  }
  jadd(j, doc, "attachments", atts);

  json_object *metas = jarr(j);
  for (size_t i = 0; i < ix->n_metadata; i++) {
    const pl_metadata_info *m = &ix->metadata[i];
    json_object *o = jobj(j);
    jadd(j, o, "name", jstr(j, m->name));
    json_object *map = jobj(j);
    for (size_t k = 0; k < m->n_entries; k++)
      jadd(j, map, m->entries[k].key, jstr(j, m->entries[k].value));
    jadd(j, o, "metadata", map);
    jpush(j, metas, o);
  }
  jadd(j, doc, "metadata", metas);

  json_object *probs = jarr(j);
  for (size_t i = 0; i < ix->n_problems; i++) {
    const pl_finding *f = &ix->problems[i];
    json_object *o = jobj(j);
    jadd(j, o, "severity", jstr(j, pl__severity_name(f->severity)));
    jadd(j, o, "code", jstr(j, f->code));
    jadd(j, o, "offset", f->offset == UINT64_MAX ? NULL : ju64(j, f->offset));
    jadd(j, o, "message", jstr(j, f->message));
    jpush(j, probs, o);
  }
  jadd(j, doc, "problems", probs);
  return doc;
}

static int print_tree(json_object *doc, char **json, pl_error_info *err) {
  size_t len = 0;
  const char *s = json_object_to_json_string_length(doc, PRINT_FLAGS, &len);
  if (!s) {
    json_object_put(doc);
    return pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory printing JSON");
  }
  *json = malloc(len + 2);
  if (!*json) {
    json_object_put(doc);
    return pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory printing JSON");
  }
  memcpy(*json, s, len);
  (*json)[len] = '\n';
  (*json)[len + 1] = '\0';
  json_object_put(doc);
  return PL_OK;
}

int pl_index_to_json(const pl_recording_index *ix, char **json, pl_error_info *err) {
  if (!ix || !json) return pl_error_set(err, PL_EINVAL, UINT64_MAX, "invalid argument");
  *json = NULL;
  struct jb j = {0};
  json_object *doc = index_tree(&j, ix);
  if (j.oom || !doc) {
    json_object_put(doc);
    return pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory building JSON");
  }
  return print_tree(doc, json, err);
}

/* ------------------------------------------------------------- parsing */

struct jp {
  pl_error_info *err;
  int rc;
};

static int jfail(struct jp *p, const char *fmt, const char *field) {
  if (p->rc == PL_OK) p->rc = pl_error_set(p->err, PL_EJSON, UINT64_MAX, fmt, field);
  return p->rc;
}

static json_object *jget(struct jp *p, json_object *obj, const char *key, json_type type,
                         int nullable) {
  json_object *v = NULL;
  if (p->rc) return NULL;
  if (!obj || !json_object_object_get_ex(obj, key, &v)) {
    jfail(p, "index JSON: missing field '%s'", key);
    return NULL;
  }
  if (!v) {
    if (!nullable) jfail(p, "index JSON: field '%s' must not be null", key);
    return NULL;
  }
  if (!json_object_is_type(v, type)) {
    jfail(p, "index JSON: field '%s' has the wrong type", key);
    return NULL;
  }
  return v;
}

static char *jget_str(struct jp *p, json_object *obj, const char *key, int nullable) {
  json_object *v = jget(p, obj, key, json_type_string, nullable);
  if (!v) return NULL;
  char *s = pl_strdup(json_object_get_string(v));
  if (!s && p->rc == PL_OK) p->rc = pl_error_set(p->err, PL_ENOMEM, UINT64_MAX, "out of memory");
  return s;
}

static uint64_t jget_u64(struct jp *p, json_object *obj, const char *key) {
  json_object *v = jget(p, obj, key, json_type_int, 0);
  if (!v) return 0;
  if (json_object_get_int64(v) < 0 && json_object_get_uint64(v) == 0) {
    jfail(p, "index JSON: field '%s' must not be negative", key);
    return 0;
  }
  return json_object_get_uint64(v);
}

/* A time field: sets *has to 0 for null. */
static uint64_t jget_time(struct jp *p, json_object *obj, const char *key, int nullable, int *has) {
  json_object *v = jget(p, obj, key, json_type_string, nullable);
  uint64_t ns = 0;
  if (has) *has = v != NULL;
  if (!v) return 0;
  if (pl_parse_time(json_object_get_string(v), &ns) != PL_OK)
    jfail(p, "index JSON: field '%s' is not an RFC 3339 time", key);
  return ns;
}

static int parse_ranges(struct jp *p, json_object *arr, const char *what, pl_range **out,
                        size_t *n) {
  *out = NULL;
  *n = 0;
  if (!arr || !json_object_is_type(arr, json_type_array))
    return jfail(p, "index JSON: '%s' must be a list", what);
  size_t len = json_object_array_length(arr);
  if (!len) return PL_OK;
  *out = calloc(len, sizeof **out);
  if (!*out) return p->rc = pl_error_set(p->err, PL_ENOMEM, UINT64_MAX, "out of memory");
  for (size_t i = 0; i < len && !p->rc; i++) {
    json_object *o = json_object_array_get_idx(arr, i);
    if (!json_object_is_type(o, json_type_object))
      return jfail(p, "index JSON: '%s' entries must be objects", what);
    (*out)[i].start = jget_time(p, o, "start", 0, NULL);
    (*out)[i].end = jget_time(p, o, "end", 0, NULL);
    (*n)++;
  }
  return p->rc;
}

static pl_severity severity_from(const char *s, int *ok) {
  *ok = 1;
  if (strcmp(s, "info") == 0) return PL_SEV_INFO;
  if (strcmp(s, "warning") == 0) return PL_SEV_WARNING;
  if (strcmp(s, "error") == 0) return PL_SEV_ERROR;
  *ok = 0;
  return PL_SEV_ERROR;
}

static json_object *parse_text(const char *json, size_t len, pl_error_info *err) {
  if (len > INT32_MAX) {
    pl_error_set(err, PL_EJSON, UINT64_MAX, "JSON text too large");
    return NULL;
  }
  json_tokener *tok = json_tokener_new();
  if (!tok) {
    pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
    return NULL;
  }
  json_object *doc = json_tokener_parse_ex(tok, json, (int)len);
  enum json_tokener_error e = json_tokener_get_error(tok);
  size_t used = json_tokener_get_parse_end(tok);
  if (!doc || e != json_tokener_success) {
    pl_error_set(err, PL_EJSON, used, "malformed JSON at byte %zu: %s", used,
                 json_tokener_error_desc(e == json_tokener_success ? json_tokener_continue : e));
    json_object_put(doc);
    json_tokener_free(tok);
    return NULL;
  }
  for (size_t i = used; i < len; i++) {
    if (json[i] != ' ' && json[i] != '\n' && json[i] != '\r' && json[i] != '\t' &&
        json[i] != '\0') {
      pl_error_set(err, PL_EJSON, i, "malformed JSON: trailing bytes at byte %zu", i);
      json_object_put(doc);
      json_tokener_free(tok);
      return NULL;
    }
  }
  json_tokener_free(tok);
  return doc;
}

int pl_index_from_json(const char *json, size_t len, pl_recording_index **out, pl_error_info *err) {
  if (!json || !out) return pl_error_set(err, PL_EINVAL, UINT64_MAX, "invalid argument");
  *out = NULL;
  json_object *doc = parse_text(json, len, err);
  if (!doc) return err && err->code ? err->code : PL_EJSON;
  struct jp p = {err, PL_OK};
  pl_recording_index *ix = calloc(1, sizeof *ix);
  if (!ix) {
    json_object_put(doc);
    return pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
  }
  if (!json_object_is_type(doc, json_type_object)) {
    jfail(&p, "index JSON: %s is not an object", "the document");
    goto out;
  }
  uint64_t fv = jget_u64(&p, doc, "format_version");
  if (p.rc) goto out;
  if (fv != PL_INDEX_FORMAT_VERSION) {
    p.rc = pl_error_set(err, PL_EJSON, UINT64_MAX,
                        "index JSON: format_version %llu is not supported", (unsigned long long)fv);
    goto out;
  }
  json_object *rec = jget(&p, doc, "recording", json_type_object, 0);
  ix->path = jget_str(&p, rec, "path", 0);
  ix->size = jget_u64(&p, rec, "size");
  char *hash = jget_str(&p, rec, "contentHash", 0);
  if (hash) {
    if (strlen(hash) >= sizeof ix->content_hash)
      jfail(&p, "index JSON: field '%s' is too long", "contentHash");
    else
      memcpy(ix->content_hash, hash, strlen(hash) + 1);
    free(hash);
  }
  int has_start = 0, has_end = 0;
  ix->start = jget_time(&p, rec, "start", 1, &has_start);
  ix->end = jget_time(&p, rec, "end", 1, &has_end);
  ix->has_messages = has_start && has_end;
  ix->library = jget_str(&p, rec, "library", 0);
  ix->profile = jget_str(&p, rec, "profile", 0);
  ix->message_count = jget_u64(&p, rec, "messageCount");
  json_object *dev = jget(&p, rec, "device", json_type_object, 0);
  ix->device_id = jget_str(&p, dev, "id", 1);
  ix->device_name = jget_str(&p, dev, "name", 1);
  ix->key = jget_str(&p, rec, "key", 1);
  ix->tolerance_ns = jget_u64(&p, rec, "coverageToleranceNs");
  json_object *partial = jget(&p, rec, "partial", json_type_boolean, 0);
  ix->partial = partial ? json_object_get_boolean(partial) : 0;
  if (p.rc) goto out;

  json_object *topics = jget(&p, doc, "topics", json_type_array, 0);
  size_t n = topics ? json_object_array_length(topics) : 0;
  if (n && !(ix->topics = calloc(n, sizeof *ix->topics))) goto oom;
  for (size_t i = 0; i < n && !p.rc; i++) {
    json_object *o = json_object_array_get_idx(topics, i);
    pl_topic *t = &ix->topics[ix->n_topics++];
    if (!json_object_is_type(o, json_type_object)) {
      jfail(&p, "index JSON: %s entries must be objects", "topics");
      break;
    }
    t->topic = jget_str(&p, o, "topic", 0);
    t->encoding = jget_str(&p, o, "encoding", 0);
    t->schema_name = jget_str(&p, o, "schemaName", 0);
    t->schema_encoding = jget_str(&p, o, "schemaEncoding", 0);
    json_object *s64 = jget(&p, o, "schema", json_type_string, 0);
    if (s64 && base64_decode(json_object_get_string(s64), (size_t)json_object_get_string_len(s64),
                             &t->schema, &t->schema_len) != 0)
      jfail(&p, "index JSON: field '%s' is not base64", "schema");
    t->version = jget_str(&p, o, "version", 0);
    t->message_count = jget_u64(&p, o, "messageCount");
    t->bytes = jget_u64(&p, o, "bytes");
    t->first_log_time = jget_time(&p, o, "firstLogTime", 1, NULL);
    t->last_log_time = jget_time(&p, o, "lastLogTime", 1, NULL);
    json_object *fr = NULL;
    if (!p.rc && json_object_object_get_ex(o, "frequency", &fr) &&
        (json_object_is_type(fr, json_type_double) || json_object_is_type(fr, json_type_int)))
      t->frequency = json_object_get_double(fr);
    else
      jfail(&p, "index JSON: field '%s' must be a number", "frequency");
  }
  if (p.rc) goto out;

  parse_ranges(&p, jget(&p, doc, "coverage", json_type_array, 0), "coverage", &ix->coverage,
               &ix->n_coverage);
  json_object *tc = jget(&p, doc, "topic_coverage", json_type_object, 0);
  if (p.rc) goto out;
  n = (size_t)json_object_object_length(tc);
  if (n && !(ix->topic_coverage = calloc(n, sizeof *ix->topic_coverage))) goto oom;
  json_object_object_foreach(tc, key, val) {
    if (p.rc) break;
    pl_topic_coverage *c = &ix->topic_coverage[ix->n_topic_coverage++];
    c->topic = pl_strdup(key);
    if (!c->topic) goto oom;
    parse_ranges(&p, val, "topic_coverage", &c->ranges, &c->n_ranges);
  }
  if (p.rc) goto out;

  json_object *atts = jget(&p, doc, "attachments", json_type_array, 0);
  n = atts ? json_object_array_length(atts) : 0;
  if (n && !(ix->attachments = calloc(n, sizeof *ix->attachments))) goto oom;
  for (size_t i = 0; i < n && !p.rc; i++) {
    json_object *o = json_object_array_get_idx(atts, i);
    pl_attachment_info *a = &ix->attachments[ix->n_attachments++];
    if (!json_object_is_type(o, json_type_object)) {
      jfail(&p, "index JSON: %s entries must be objects", "attachments");
      break;
    }
    a->name = jget_str(&p, o, "name", 0);
    a->media_type = jget_str(&p, o, "mediaType", 0);
    a->log_time = jget_time(&p, o, "logTime", 0, NULL);
    a->create_time = jget_time(&p, o, "createTime", 0, NULL);
    uint64_t crc = jget_u64(&p, o, "crc");
    if (crc > UINT32_MAX) jfail(&p, "index JSON: field '%s' out of range", "crc");
    a->crc = (uint32_t)crc;
    a->size = jget_u64(&p, o, "size");
    char *fp = jget_str(&p, o, "fingerprint", 0);
    if (fp) {
      if (strlen(fp) >= sizeof a->fingerprint)
        jfail(&p, "index JSON: field '%s' is too long", "fingerprint");
      else
        memcpy(a->fingerprint, fp, strlen(fp) + 1);
      free(fp);
    }
    a->offset = jget_u64(&p, o, "offset");
  }
  if (p.rc) goto out;

  json_object *metas = jget(&p, doc, "metadata", json_type_array, 0);
  n = metas ? json_object_array_length(metas) : 0;
  if (n && !(ix->metadata = calloc(n, sizeof *ix->metadata))) goto oom;
  for (size_t i = 0; i < n && !p.rc; i++) {
    json_object *o = json_object_array_get_idx(metas, i);
    pl_metadata_info *m = &ix->metadata[ix->n_metadata++];
    if (!json_object_is_type(o, json_type_object)) {
      jfail(&p, "index JSON: %s entries must be objects", "metadata");
      break;
    }
    m->name = jget_str(&p, o, "name", 0);
    json_object *map = jget(&p, o, "metadata", json_type_object, 0);
    if (!map) break;
    size_t k = (size_t)json_object_object_length(map);
    if (k && !(m->entries = calloc(k, sizeof *m->entries))) goto oom;
    json_object_object_foreach(map, mk, mv) {
      if (!json_object_is_type(mv, json_type_string)) {
        jfail(&p, "index JSON: metadata values must be %s", "strings");
        break;
      }
      pl_kv *kv = &m->entries[m->n_entries++];
      kv->key = pl_strdup(mk);
      kv->value = pl_strdup(json_object_get_string(mv));
      if (!kv->key || !kv->value) goto oom;
    }
  }
  if (p.rc) goto out;

  json_object *probs = jget(&p, doc, "problems", json_type_array, 0);
  n = probs ? json_object_array_length(probs) : 0;
  if (n && !(ix->problems = calloc(n, sizeof *ix->problems))) goto oom;
  for (size_t i = 0; i < n && !p.rc; i++) {
    json_object *o = json_object_array_get_idx(probs, i);
    pl_finding *f = &ix->problems[ix->n_problems++];
    if (!json_object_is_type(o, json_type_object)) {
      jfail(&p, "index JSON: %s entries must be objects", "problems");
      break;
    }
    json_object *sv = jget(&p, o, "severity", json_type_string, 0);
    int ok = 1;
    if (sv) f->severity = severity_from(json_object_get_string(sv), &ok);
    if (!ok) jfail(&p, "index JSON: unknown %s", "severity");
    json_object *code = jget(&p, o, "code", json_type_string, 0);
    if (code) snprintf(f->code, sizeof f->code, "%s", json_object_get_string(code));
    json_object *off = NULL;
    f->offset = UINT64_MAX;
    if (!p.rc && json_object_object_get_ex(o, "offset", &off) && off)
      f->offset = jget_u64(&p, o, "offset");
    json_object *msg = jget(&p, o, "message", json_type_string, 0);
    if (msg) snprintf(f->message, sizeof f->message, "%s", json_object_get_string(msg));
  }
  goto out;
oom:
  if (!p.rc) p.rc = pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
out:
  json_object_put(doc);
  if (p.rc) {
    pl_recording_index_free(ix);
    return p.rc;
  }
  *out = ix;
  return PL_OK;
}

/* ------------------------------------------------------------ lake.json */

int pl__lake_json(const pl_lake_file *files, size_t n, char **json, pl_error_info *err) {
  struct jb j = {0};
  *json = NULL;
  json_object *arr = jarr(&j);
  for (size_t i = 0; i < n; i++) {
    json_object *o = jobj(&j);
    jadd(&j, o, "path", jstr(&j, files[i].path));
    json_object *t = jarr(&j);
    for (size_t k = 0; k < files[i].n_topics; k++) jpush(&j, t, jstr(&j, files[i].topics[k]));
    jadd(&j, o, "topics", t);
    jpush(&j, arr, o);
  }
  if (j.oom || !arr) {
    json_object_put(arr);
    return pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory building JSON");
  }
  return print_tree(arr, json, err);
}

void pl__lake_files_free(pl_lake_file *files, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(files[i].path);
    for (size_t k = 0; k < files[i].n_topics; k++) free(files[i].topics[k]);
    free(files[i].topics);
  }
  free(files);
}

int pl__lake_json_parse(const char *json, size_t len, pl_lake_file **files, size_t *n,
                        pl_error_info *err) {
  *files = NULL;
  *n = 0;
  json_object *doc = parse_text(json, len, err);
  if (!doc) return err && err->code ? err->code : PL_EJSON;
  int rc = PL_OK;
  pl_lake_file *out = NULL;
  size_t cnt = 0;
  if (!json_object_is_type(doc, json_type_array)) {
    rc = pl_error_set(err, PL_EJSON, UINT64_MAX, "lake.json: not a list");
    goto done;
  }
  size_t len_a = json_object_array_length(doc);
  if (len_a && !(out = calloc(len_a, sizeof *out))) goto oom;
  for (size_t i = 0; i < len_a; i++) {
    json_object *o = json_object_array_get_idx(doc, i), *path = NULL, *topics = NULL;
    if (!json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, "path", &path) ||
        !json_object_is_type(path, json_type_string) ||
        !json_object_object_get_ex(o, "topics", &topics) ||
        !json_object_is_type(topics, json_type_array)) {
      rc = pl_error_set(err, PL_EJSON, UINT64_MAX, "lake.json: entry %zu is not {path, topics}", i);
      goto done;
    }
    pl_lake_file *f = &out[cnt++];
    f->path = pl_strdup(json_object_get_string(path));
    if (!f->path) goto oom;
    size_t nt = json_object_array_length(topics);
    if (nt && !(f->topics = calloc(nt, sizeof *f->topics))) goto oom;
    for (size_t k = 0; k < nt; k++) {
      json_object *t = json_object_array_get_idx(topics, k);
      if (!json_object_is_type(t, json_type_string)) {
        rc = pl_error_set(err, PL_EJSON, UINT64_MAX,
                          "lake.json: entry %zu has a topic that is not a string", i);
        goto done;
      }
      f->topics[f->n_topics] = pl_strdup(json_object_get_string(t));
      if (!f->topics[f->n_topics++]) goto oom;
    }
  }
  goto done;
oom:
  rc = pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
done:
  json_object_put(doc);
  if (rc) {
    pl__lake_files_free(out, cnt);
    return rc;
  }
  *files = out;
  *n = cnt;
  return PL_OK;
}
