/*
 * api_events.c - the API's events and custom properties over a pl_http handle,
 * and their JSON shapes (json-c trees <-> the plain structs of client.h; every
 * tree released before returning). Event lists are paged like every list
 * (api_client.c); custom properties come in one response (the reference does
 * not page them). Creating is a POST that is never repeated: a reply lost after
 * the server stored the event would otherwise make a second one (callers that
 * need idempotency look the event up first, as pl_events_add does).
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_internal.h"
#include "pipeline/core.h"

/* ------------------------------------------------------------- JSON -> structs */

static char *sdup(json_object *o, const char *k, int *oom) {
  json_object *v = NULL;
  if (!o || !json_object_object_get_ex(o, k, &v) || !v || !json_object_is_type(v, json_type_string))
    return NULL;
  char *s = pl_strdup(json_object_get_string(v));
  if (!s) *oom = 1;
  return s;
}

static uint64_t jtime(json_object *o, const char *k) {
  json_object *v = NULL;
  uint64_t ns = 0;
  if (json_object_object_get_ex(o, k, &v) && v && json_object_is_type(v, json_type_string) &&
      pl__api_time(json_object_get_string(v), &ns) == 0)
    return ns;
  return 0;
}

static void event_dispose(pl_api_event *e) {
  if (!e) return;
  free(e->id);
  free(e->device_id);
  free(e->device_name);
  for (size_t i = 0; i < e->n_metadata; i++) {
    free(e->metadata[i].key);
    free(e->metadata[i].value);
  }
  free(e->metadata);
  free(e->json);
  memset(e, 0, sizeof *e);
}

void pl_api_event_free(pl_api_event *e) {
  event_dispose(e);
  free(e);
}

void pl_api_events_free(pl_api_event *e, size_t n) {
  for (size_t i = 0; e && i < n; i++) event_dispose(&e[i]);
  free(e);
}

static int event_from(json_object *o, pl_api_event *e, pl_error_info *err) {
  memset(e, 0, sizeof *e);
  if (!json_object_is_type(o, json_type_object))
    return pl_error_set(err, PL_EJSON, UINT64_MAX, "event: not a JSON object");
  int oom = 0;
  e->id = sdup(o, "id", &oom);
  e->device_id = sdup(o, "deviceId", &oom);
  json_object *dev = NULL;
  if (json_object_object_get_ex(o, "device", &dev) && dev &&
      json_object_is_type(dev, json_type_object)) {
    e->device_name = sdup(dev, "name", &oom);
    if (!e->device_id) e->device_id = sdup(dev, "id", &oom);
  }
  e->start = jtime(o, "start");
  e->end = jtime(o, "end");
  e->created_at = jtime(o, "createdAt");
  e->updated_at = jtime(o, "updatedAt");
  json_object *md = NULL;
  if (json_object_object_get_ex(o, "metadata", &md) && md &&
      json_object_is_type(md, json_type_object)) {
    size_t n = (size_t)json_object_object_length(md);
    e->metadata = calloc(n ? n : 1, sizeof *e->metadata);
    if (!e->metadata) oom = 1;
    json_object_object_foreach(md, k, v) {
      if (oom || !v || !json_object_is_type(v, json_type_string)) continue;
      pl_kv *kv = &e->metadata[e->n_metadata];
      kv->key = pl_strdup(k);
      kv->value = pl_strdup(json_object_get_string(v));
      e->n_metadata++;
      if (!kv->key || !kv->value) oom = 1;
    }
  }
  const char *text =
      json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
  e->json = pl_strdup(text ? text : "{}");
  if (!e->json) oom = 1;
  if (oom) {
    event_dispose(e);
    return pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
  }
  if (!e->id) {
    event_dispose(e);
    return pl_error_set(err, PL_EJSON, UINT64_MAX, "event: no 'id'");
  }
  return PL_OK;
}

static int parse_event(const char *body, size_t len, pl_api_event **out, pl_error_info *err) {
  *out = NULL;
  json_object *root = pl__api_json_parse(body, len, err, "event");
  if (!root) return err ? err->code : PL_EJSON;
  pl_api_event *e = calloc(1, sizeof *e);
  int rc = e ? event_from(root, e, err) : pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
  json_object_put(root);
  if (rc != PL_OK) {
    free(e);
    return rc;
  }
  *out = e;
  return PL_OK;
}

static void cprop_dispose(pl_api_custom_property *p) {
  free(p->id);
  free(p->key);
  free(p->label);
  free(p->resource_type);
  free(p->value_type);
  for (size_t i = 0; i < p->n_values; i++) free(p->values[i]);
  free(p->values);
  free(p->json);
  memset(p, 0, sizeof *p);
}

void pl_api_custom_properties_free(pl_api_custom_property *p, size_t n) {
  for (size_t i = 0; p && i < n; i++) cprop_dispose(&p[i]);
  free(p);
}

static int cprop_from(json_object *o, pl_api_custom_property *p, pl_error_info *err) {
  memset(p, 0, sizeof *p);
  if (!json_object_is_type(o, json_type_object))
    return pl_error_set(err, PL_EJSON, UINT64_MAX, "custom property: not a JSON object");
  int oom = 0;
  p->id = sdup(o, "id", &oom);
  p->key = sdup(o, "key", &oom);
  p->label = sdup(o, "label", &oom);
  p->resource_type = sdup(o, "resourceType", &oom);
  p->value_type = sdup(o, "valueType", &oom);
  json_object *vals = NULL;
  if (json_object_object_get_ex(o, "values", &vals) && vals &&
      json_object_is_type(vals, json_type_array)) {
    size_t n = json_object_array_length(vals);
    p->values = calloc(n ? n : 1, sizeof *p->values);
    if (!p->values) oom = 1;
    for (size_t i = 0; !oom && i < n; i++) {
      json_object *v = json_object_array_get_idx(vals, i);
      if (!v || !json_object_is_type(v, json_type_string)) continue;
      p->values[p->n_values] = pl_strdup(json_object_get_string(v));
      if (!p->values[p->n_values++]) oom = 1;
    }
  }
  const char *text =
      json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
  p->json = pl_strdup(text ? text : "{}");
  if (!p->json) oom = 1;
  if (oom) {
    cprop_dispose(p);
    return pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
  }
  if (!p->id || !p->key) {
    cprop_dispose(p);
    return pl_error_set(err, PL_EJSON, UINT64_MAX, "custom property: no 'id' or 'key'");
  }
  return PL_OK;
}

/* ------------------------------------------------------------- structs -> JSON */

static char *event_body(const pl_api_event_fields *f) {
  json_object *o = json_object_new_object();
  if (!o) return NULL;
  if (f->device_id) json_object_object_add(o, "deviceId", json_object_new_string(f->device_id));
  if (f->device_name)
    json_object_object_add(o, "deviceName", json_object_new_string(f->device_name));
  char buf[40];
  if (f->has_start) {
    pl_format_time(f->start, buf);
    json_object_object_add(o, "start", json_object_new_string(buf));
  }
  if (f->has_end) {
    pl_format_time(f->end, buf);
    json_object_object_add(o, "end", json_object_new_string(buf));
  }
  if (f->has_metadata) {
    json_object *md = json_object_new_object();
    for (size_t i = 0; md && i < f->n_metadata; i++)
      json_object_object_add(md, f->metadata[i].key, json_object_new_string(f->metadata[i].value));
    json_object_object_add(o, "metadata", md);
  }
  const char *s =
      json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
  char *d = s ? pl_strdup(s) : NULL;
  json_object_put(o);
  return d;
}

/* ------------------------------------------------------------- requests */

static char *item_path(const char *collection, const char *id) {
  char *e = pl__url_escape(id);
  if (!e) return NULL;
  size_t n = strlen(collection) + strlen(e) + 2;
  char *p = malloc(n);
  if (p) snprintf(p, n, "%s/%s", collection, e);
  free(e);
  return p;
}

int pl_api_list_events(pl_http *h, const pl_param *params, size_t n_params, size_t max_items,
                       pl_api_event **out, size_t *n, pl_error_info *err) {
  *out = NULL;
  *n = 0;
  size_t cap = 0, offset = 0;
  for (;;) {
    size_t want = PL_API_PAGE_LIMIT;
    if (max_items && max_items - *n < want) want = max_items - *n;
    char *path = pl__build_path("/v1/events", params, n_params, 1, want, offset);
    if (!path) return pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
    pl_http_response r;
    int rc = pl_http_api(h, "GET", path, NULL, 0, &r, err);
    free(path);
    json_object *root = rc == PL_OK ? pl__api_json_parse(r.body, r.len, err, "events") : NULL;
    pl_http_response_dispose(&r);
    if (rc != PL_OK) return rc;
    if (!root) return err ? err->code : PL_EJSON;
    if (!json_object_is_type(root, json_type_array)) {
      json_object_put(root);
      return pl_error_set(err, PL_EJSON, UINT64_MAX, "events: the response is not a JSON array");
    }
    size_t got = json_object_array_length(root);
    if (got > want) got = want; /* a server sending more than asked for: ignore the rest */
    if (*n + got > cap) {
      size_t ncap = cap ? cap : 16;
      while (ncap < *n + got) ncap *= 2;
      pl_api_event *g = realloc(*out, ncap * sizeof *g);
      if (!g) {
        json_object_put(root);
        return pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
      }
      *out = g;
      cap = ncap;
    }
    for (size_t i = 0; i < got; i++) {
      rc = event_from(json_object_array_get_idx(root, i), &(*out)[*n], err);
      if (rc != PL_OK) {
        json_object_put(root);
        return rc;
      }
      (*n)++;
    }
    json_object_put(root);
    if (got < want || (max_items && *n >= max_items)) break;
    offset += got;
  }
  return PL_OK;
}

int pl_api_get_event(pl_http *h, const char *id, pl_api_event **out, pl_error_info *err) {
  *out = NULL;
  if (!id || !*id) return pl_error_set(err, PL_EINVAL, UINT64_MAX, "no event id given");
  char *path = item_path("/v1/events", id);
  if (!path) return pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
  pl_http_response r;
  int rc = pl_http_api(h, "GET", path, NULL, 0, &r, err);
  free(path);
  if (rc == PL_OK) rc = parse_event(r.body, r.len, out, err);
  pl_http_response_dispose(&r);
  return rc;
}

static int send_event(pl_http *h, const char *method, const char *path,
                      const pl_api_event_fields *f, pl_api_event **out, pl_error_info *err) {
  if (out) *out = NULL;
  char *body = event_body(f);
  if (!body) return pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
  pl_http_response r;
  int rc = pl_http_api(h, method, path, body, 0, &r, err);
  free(body);
  pl_api_event *e = NULL;
  if (rc == PL_OK) rc = parse_event(r.body, r.len, &e, err);
  pl_http_response_dispose(&r);
  if (out)
    *out = e;
  else
    pl_api_event_free(e);
  return rc;
}

int pl_api_create_event(pl_http *h, const pl_api_event_fields *f, pl_api_event **out,
                        pl_error_info *err) {
  if (!f || (!f->device_id && !f->device_name) || !f->has_start) {
    if (out) *out = NULL;
    return pl_error_set(err, PL_EINVAL, UINT64_MAX, "an event needs a device and a start time");
  }
  return send_event(h, "POST", "/v1/events", f, out, err);
}

int pl_api_update_event(pl_http *h, const char *id, const pl_api_event_fields *f,
                        pl_api_event **out, pl_error_info *err) {
  if (!id || !*id || !f) {
    if (out) *out = NULL;
    return pl_error_set(err, PL_EINVAL, UINT64_MAX, "no event id given");
  }
  char *path = item_path("/v1/events", id);
  if (!path) return pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
  int rc = send_event(h, "PATCH", path, f, out, err);
  free(path);
  return rc;
}

int pl_api_delete_event(pl_http *h, const char *id, pl_error_info *err) {
  if (!id || !*id) return pl_error_set(err, PL_EINVAL, UINT64_MAX, "no event id given");
  char *path = item_path("/v1/events", id);
  if (!path) return pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
  pl_http_response r;
  int rc = pl_http_api(h, "DELETE", path, NULL, 0, &r, err);
  free(path);
  pl_http_response_dispose(&r);
  return rc;
}

/* ------------------------------------------------------------- custom properties */

static int cprops_from_body(const char *body, size_t len, int array,
                            pl_api_custom_property **out, size_t *n, pl_error_info *err) {
  json_object *root = pl__api_json_parse(body, len, err, "custom properties");
  if (!root) return err ? err->code : PL_EJSON;
  int rc = PL_OK;
  if (array != json_object_is_type(root, json_type_array)) {
    rc = pl_error_set(err, PL_EJSON, UINT64_MAX, "custom properties: unexpected JSON shape");
  } else {
    size_t count = array ? json_object_array_length(root) : 1;
    *out = calloc(count ? count : 1, sizeof **out);
    if (!*out) rc = pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
    for (size_t i = 0; rc == PL_OK && i < count; i++) {
      rc = cprop_from(array ? json_object_array_get_idx(root, i) : root, &(*out)[i], err);
      if (rc == PL_OK) (*n)++;
    }
  }
  json_object_put(root);
  return rc;
}

int pl_api_list_custom_properties(pl_http *h, const char *resource_type,
                                  pl_api_custom_property **out, size_t *n, pl_error_info *err) {
  *out = NULL;
  *n = 0;
  pl_param p = {"resourceType", resource_type};
  char *path = pl__build_path("/v1/custom-properties", &p, resource_type ? 1 : 0, 0, 0, 0);
  if (!path) return pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
  pl_http_response r;
  int rc = pl_http_api(h, "GET", path, NULL, 0, &r, err);
  free(path);
  if (rc == PL_OK) rc = cprops_from_body(r.body, r.len, 1, out, n, err);
  pl_http_response_dispose(&r);
  return rc;
}

int pl_api_get_custom_property(pl_http *h, const char *id, pl_api_custom_property **out,
                               pl_error_info *err) {
  *out = NULL;
  if (!id || !*id) return pl_error_set(err, PL_EINVAL, UINT64_MAX, "no custom property id given");
  char *path = item_path("/v1/custom-properties", id);
  if (!path) return pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
  pl_http_response r;
  int rc = pl_http_api(h, "GET", path, NULL, 0, &r, err);
  free(path);
  size_t n = 0;
  if (rc == PL_OK) rc = cprops_from_body(r.body, r.len, 0, out, &n, err);
  pl_http_response_dispose(&r);
  if (rc != PL_OK) {
    pl_api_custom_properties_free(*out, n);
    *out = NULL;
  }
  return rc;
}

int pl_api_create_custom_property(pl_http *h, const char *key, const char *label,
                                  const char *resource_type, const char *value_type,
                                  const char *const *values, size_t n_values,
                                  pl_api_custom_property **out, pl_error_info *err) {
  if (out) *out = NULL;
  json_object *o = json_object_new_object();
  if (!o) return pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
  if (key) json_object_object_add(o, "key", json_object_new_string(key));
  if (label) json_object_object_add(o, "label", json_object_new_string(label));
  json_object_object_add(o, "resourceType",
                         json_object_new_string(resource_type ? resource_type : "device"));
  if (value_type) json_object_object_add(o, "valueType", json_object_new_string(value_type));
  if (values) {
    json_object *arr = json_object_new_array();
    for (size_t i = 0; arr && i < n_values; i++)
      json_object_array_add(arr, json_object_new_string(values[i]));
    json_object_object_add(o, "values", arr);
  }
  const char *s =
      json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
  char *body = s ? pl_strdup(s) : NULL;
  json_object_put(o);
  if (!body) return pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
  pl_http_response r;
  int rc = pl_http_api(h, "POST", "/v1/custom-properties", body, 0, &r, err);
  free(body);
  pl_api_custom_property *p = NULL;
  size_t n = 0;
  if (rc == PL_OK) rc = cprops_from_body(r.body, r.len, 0, &p, &n, err);
  pl_http_response_dispose(&r);
  if (rc == PL_OK && out) {
    *out = p;
  } else {
    pl_api_custom_properties_free(p, n);
  }
  return rc;
}
