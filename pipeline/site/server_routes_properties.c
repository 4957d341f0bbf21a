/*
 * server_routes_properties.c - GET/POST /v1/custom-properties and GET/PATCH
 * /v1/custom-properties/{id} (the reference's "Edit a custom property"; it has
 * no delete).
 *
 * Rules from the reference: `key` 1..32 of [A-Za-z0-9_-], immutable; `label`
 * 1..32 characters; `resourceType` "device"; `valueType` string, number, enum
 * or boolean; `values` unique strings, required for enum. Edits change `label`
 * and, for enums, `values`, which must keep every existing value.
 * Strict choices where it is silent: a key is unique per resource type (409);
 * `values` on a non-enum property is 400; an enum has 1..SRV_MAX_CPROP_VALUES
 * values of 1..SRV_MAX_CPROP_VALUE bytes; the list is in order of creation.
 * Once a device custom property exists, device properties are checked against
 * the definitions (pl__srv_cprop_check_device, server_store_events.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server_internal.h"

/* Characters (UTF-8 code points) of a valid UTF-8 string. */
static size_t utf8_chars(const char *s) {
  size_t n = 0;
  for (; *s; s++)
    if (((unsigned char)*s & 0xc0) != 0x80) n++;
  return n;
}

static int check_label(struct srv_resp *r, const char *label) {
  size_t n = utf8_chars(label);
  if (n == 0 || n > 32) {
    pl__srv_resp_error(r, 400, "invalid 'label': 1 to 32 characters");
    return -1;
  }
  return 0;
}

/* `values` of the body: 0 and *out (borrowed, NULL when absent), or -1 (400 set). */
static int body_values(struct srv_req *q, struct srv_resp *r, json_object **out) {
  *out = NULL;
  json_object *v = NULL;
  if (!json_object_object_get_ex(q->body, "values", &v) || !v) return 0;
  if (!json_object_is_type(v, json_type_array)) {
    pl__srv_resp_error(r, 400, "field 'values' must be an array of strings");
    return -1;
  }
  size_t n = json_object_array_length(v);
  if (n == 0 || n > SRV_MAX_CPROP_VALUES) {
    pl__srv_resp_error(r, 400, "'values' must hold 1 to %d strings", SRV_MAX_CPROP_VALUES);
    return -1;
  }
  for (size_t i = 0; i < n; i++) {
    json_object *s = json_object_array_get_idx(v, i);
    if (!s || !json_object_is_type(s, json_type_string)) {
      pl__srv_resp_error(r, 400, "'values[%zu]' must be a string", i);
      return -1;
    }
    size_t len = (size_t)json_object_get_string_len(s);
    if (len == 0 || len > SRV_MAX_CPROP_VALUE || strlen(json_object_get_string(s)) != len) {
      pl__srv_resp_error(r, 400, "'values[%zu]' must have 1 to %d bytes (no NUL)", i,
                         SRV_MAX_CPROP_VALUE);
      return -1;
    }
    for (size_t j = 0; j < i; j++)
      if (strcmp(json_object_get_string(json_object_array_get_idx(v, j)),
                 json_object_get_string(s)) == 0) {
        pl__srv_resp_error(r, 400, "'values' must be unique: '%.64s' is there twice",
                           json_object_get_string(s));
        return -1;
      }
  }
  *out = v;
  return 0;
}

static int has_value(json_object *arr, const char *v) {
  size_t n = json_object_array_length(arr);
  for (size_t i = 0; i < n; i++)
    if (strcmp(json_object_get_string(json_object_array_get_idx(arr, i)), v) == 0) return 1;
  return 0;
}

static void list_cprops(struct srv_req *q, struct srv_resp *r) {
  static const char *const allowed[] = {"resourceType", NULL};
  if (!pl__srv_params_allow(q, r, allowed)) return;
  const char *rt = pl__srv_param(q, "resourceType");
  if (rt && strcmp(rt, "device") != 0) {
    pl__srv_resp_error(r, 400, "invalid 'resourceType': '%s' (expected device)", rt);
    return;
  }
  struct srv_store *st = &q->srv->store;
  json_object *arr = json_object_new_array();
  pthread_rwlock_rdlock(&st->lock);
  for (size_t i = 0; i < st->cprops.n; i++) {
    const struct srv_cprop *p = st->cprops.items[i];
    if (rt && strcmp(rt, p->resource_type) != 0) continue;
    json_object_array_add(arr, pl__srv_cprop_json(p));
  }
  pthread_rwlock_unlock(&st->lock);
  pl__srv_resp_json(r, 200, arr);
}

static void create_cprop(struct srv_req *q, struct srv_resp *r) {
  static const char *const body[] = {"key", "label", "resourceType", "valueType", "values", NULL};
  if (!pl__srv_params_allow(q, r, (const char *const[]){NULL})) return;
  if (!pl__srv_body_allow(q, r, body)) return;
  const char *key, *label, *rt, *vt;
  if (pl__srv_body_str(q, r, "key", &key) < 0 || pl__srv_body_str(q, r, "label", &label) < 0 ||
      pl__srv_body_str(q, r, "resourceType", &rt) < 0 ||
      pl__srv_body_str(q, r, "valueType", &vt) < 0)
    return;
  static const char *const required[] = {"key", "label", "resourceType", "valueType"};
  const char *got[] = {key, label, rt, vt};
  for (size_t i = 0; i < 4; i++)
    if (!got[i]) {
      pl__srv_resp_error(r, 400, "field '%s' is required", required[i]);
      return;
    }
  if (!pl__srv_valid_cprop_key(key)) {
    pl__srv_resp_error(r, 400, "invalid 'key' '%.64s': use 1 to 32 of A-Z a-z 0-9 _ -", key);
    return;
  }
  if (check_label(r, label) != 0) return;
  if (strcmp(rt, "device") != 0) {
    pl__srv_resp_error(r, 400, "invalid 'resourceType': '%.64s' (expected device)", rt);
    return;
  }
  int type = -1;
  for (int i = 0; i <= CPROP_BOOLEAN; i++)
    if (strcmp(vt, pl__srv_cprop_type_name(i)) == 0) type = i;
  if (type < 0) {
    pl__srv_resp_error(r, 400,
                       "invalid 'valueType': '%.64s' (expected string, number, enum or boolean)",
                       vt);
    return;
  }
  json_object *values;
  if (body_values(q, r, &values) != 0) return;
  if (type == CPROP_ENUM && !values) {
    pl__srv_resp_error(r, 400, "field 'values' is required for an enum");
    return;
  }
  if (type != CPROP_ENUM && values) {
    pl__srv_resp_error(r, 400, "field 'values' is only for an enum");
    return;
  }
  struct srv_store *st = &q->srv->store;
  pthread_rwlock_wrlock(&st->lock);
  if (pl__srv_cprop_by_key(st, rt, key)) {
    pthread_rwlock_unlock(&st->lock);
    pl__srv_resp_error(r, 409, "a %s custom property with key '%s' already exists", rt, key);
    return;
  }
  if (st->cprops.n >= SRV_MAX_CPROPS) {
    pthread_rwlock_unlock(&st->lock);
    pl__srv_resp_error(r, 409, "the site has the most custom properties it holds (%d)",
                       SRV_MAX_CPROPS);
    return;
  }
  struct srv_cprop *p = calloc(1, sizeof *p);
  char id[SRV_ID_LEN + 1];
  pl__srv_new_id("prop", id);
  json_object *out = NULL;
  if (p) {
    p->id = pl__srv_strdup(id);
    p->key = pl__srv_strdup(key);
    p->label = pl__srv_strdup(label);
    p->resource_type = pl__srv_strdup(rt);
    p->value_type = type;
    if (values && json_object_deep_copy(values, &p->values, NULL) != 0) p->values = NULL;
    p->created = p->updated = pl__srv_now_ns();
    if (!p->id || !p->key || !p->label || !p->resource_type || (values && !p->values))
      pl__srv_cprop_free(p);
    else if (pl__srv_cprop_add(st, p) == 0)
      out = pl__srv_cprop_json(p);
  }
  pthread_rwlock_unlock(&st->lock);
  if (!out) {
    pl__srv_resp_error(r, 500, "cannot store the custom property");
    return;
  }
  pl__srv_resp_json(r, 200, out);
}

static void one_cprop(struct srv_req *q, struct srv_resp *r) {
  if (!pl__srv_params_allow(q, r, (const char *const[]){NULL})) return;
  const char *id = q->seg[1];
  struct srv_store *st = &q->srv->store;
  if (strcmp(q->method, "GET") == 0) {
    pthread_rwlock_rdlock(&st->lock);
    const struct srv_cprop *p = pl__srv_cprop_by_id(st, id);
    json_object *out = p ? pl__srv_cprop_json(p) : NULL;
    pthread_rwlock_unlock(&st->lock);
    if (!out) {
      pl__srv_resp_error(r, 404, "custom property '%s' not found", id);
      return;
    }
    pl__srv_resp_json(r, 200, out);
    return;
  }
  /* PATCH: label and (enum) values */
  static const char *const body[] = {"label", "values", NULL};
  if (!pl__srv_body_allow(q, r, body)) return;
  const char *label;
  if (pl__srv_body_str(q, r, "label", &label) < 0) return;
  if (label && check_label(r, label) != 0) return;
  json_object *values;
  if (body_values(q, r, &values) != 0) return;
  pthread_rwlock_wrlock(&st->lock);
  struct srv_cprop *p = pl__srv_cprop_by_id(st, id);
  if (!p) {
    pthread_rwlock_unlock(&st->lock);
    pl__srv_resp_error(r, 404, "custom property '%s' not found", id);
    return;
  }
  if (values && p->value_type != CPROP_ENUM) {
    pthread_rwlock_unlock(&st->lock);
    pl__srv_resp_error(r, 400, "field 'values' is only for an enum");
    return;
  }
  for (size_t i = 0; values && i < json_object_array_length(p->values); i++) {
    const char *old = json_object_get_string(json_object_array_get_idx(p->values, i));
    if (!has_value(values, old)) {
      pthread_rwlock_unlock(&st->lock);
      pl__srv_resp_error(r, 400, "'values' must keep every existing value: '%.64s' is missing",
                         old);
      return;
    }
  }
  char *new_label = label ? pl__srv_strdup(label) : NULL;
  json_object *new_values = NULL;
  if ((label && !new_label) ||
      (values && (json_object_deep_copy(values, &new_values, NULL) != 0 || !new_values))) {
    free(new_label);
    json_object_put(new_values);
    pthread_rwlock_unlock(&st->lock);
    pl__srv_resp_error(r, 500, "out of memory");
    return;
  }
  struct srv_cprop old = *p;
  if (new_label) p->label = new_label;
  if (new_values) p->values = new_values;
  p->updated = pl__srv_now_ns();
  if (pl__srv_cprop_save(st, p) != 0) {
    free(new_label);
    json_object_put(new_values);
    *p = old;
    pthread_rwlock_unlock(&st->lock);
    pl__srv_resp_error(r, 500, "cannot store the custom property");
    return;
  }
  if (new_label) free(old.label);
  if (new_values) json_object_put(old.values);
  json_object *out = pl__srv_cprop_json(p);
  pthread_rwlock_unlock(&st->lock);
  pl__srv_resp_json(r, 200, out);
}

void pl__srv_route_custom_properties(struct srv_req *q, struct srv_resp *r) {
  if (q->n_seg == 1) {
    if (strcmp(q->method, "POST") == 0)
      create_cprop(q, r);
    else
      list_cprops(q, r);
    return;
  }
  one_cprop(q, r);
}
