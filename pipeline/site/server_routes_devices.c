/*
 * server_routes_devices.c - GET/POST /v1/devices and GET/PATCH/DELETE
 * /v1/devices/{nameOrId}.
 *
 * Strict choices: names follow the API rule (<= 100 of [A-Za-z0-9_.-]) and
 * must not be "." or ".."; names are unique (409 on a clash); a device with
 * recordings or events cannot be deleted (409); property keys follow the
 * custom property key rule (1..32 of A-Z a-z 0-9 _ -) with string, number or
 * boolean values; once the site defines any device custom property
 * (server_routes_properties.c), every key must be one of them and every value
 * of its type (enum: one of its values), else 400;
 * PATCH treats an empty "name" as "keep the name" (the foxglove CLI sends
 * one) and a null property value as "unset". A device has at most
 * SRV_MAX_PROPERTIES properties, string values of at most SRV_MAX_PROPERTY_VALUE
 * bytes (a PATCH that would go beyond is refused whole).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server_internal.h"

static const char *const k_sort[] = {"id", "name", NULL};

/* What a device's properties weigh: names and values (24 for a number or boolean). */
static size_t props_bytes(json_object *p) {
  size_t n = 0;
  json_object_object_foreach(p, k, v) {
    n += strlen(k) + (json_object_is_type(v, json_type_string) ? (size_t)json_object_get_string_len(v)
                                                                : 24);
  }
  return n;
}

static int check_properties(struct srv_req *q, struct srv_resp *r, json_object **props) {
  *props = NULL;
  json_object *p = NULL;
  if (!json_object_object_get_ex(q->body, "properties", &p) || !p) return 0;
  if (!json_object_is_type(p, json_type_object)) {
    pl__srv_resp_error(r, 400, "field 'properties' must be an object");
    return -1;
  }
  if (json_object_object_length(p) > SRV_MAX_PROPERTIES) {
    pl__srv_resp_error(r, 400, "a device has at most %d properties", SRV_MAX_PROPERTIES);
    return -1;
  }
  json_object_object_foreach(p, k, v) {
    if (strlen(k) == 0 || strlen(k) > 32) {
      pl__srv_resp_error(r, 400, "property key '%s' must have 1 to 32 characters", k);
      return -1;
    }
    if (v && !json_object_is_type(v, json_type_string) &&
        !json_object_is_type(v, json_type_boolean) && !json_object_is_type(v, json_type_int) &&
        !json_object_is_type(v, json_type_double)) {
      pl__srv_resp_error(r, 400, "property '%s' must be a string, number or boolean", k);
      return -1;
    }
    if (json_object_is_type(v, json_type_string) &&
        json_object_get_string_len(v) > SRV_MAX_PROPERTY_VALUE) {
      pl__srv_resp_error(r, 400, "property '%s' is longer than %d bytes", k,
                         SRV_MAX_PROPERTY_VALUE);
      return -1;
    }
    if (json_object_is_type(v, json_type_double) && !isfinite(json_object_get_double(v))) {
      pl__srv_resp_error(r, 400, "property '%s' is not a finite number", k);
      return -1;
    }
  }
  if (props_bytes(p) > SRV_MAX_PROPERTY_BYTES) {
    pl__srv_resp_error(r, 400, "the properties of a device hold at most %d bytes",
                       SRV_MAX_PROPERTY_BYTES);
    return -1;
  }
  *props = p;
  return 0;
}

/* Merge `in` into the device's properties; null values remove keys. */
static void merge_properties(struct srv_device *d, json_object *in) {
  json_object_object_foreach(in, k, v) {
    json_object *copy = NULL;
    if (!v)
      json_object_object_del(d->properties, k);
    else if (json_object_deep_copy(v, &copy, NULL) == 0)
      json_object_object_add(d->properties, k, copy);
  }
}

static const char *prop_text(json_object *v) {
  if (!v) return "";
  return json_object_get_string(v);
}

/* One term of the devices query: "properties.k:v1,v2", "properties.k:*" or "text". */
static int term_matches(const struct srv_device *d, const char *term) {
  if (strncmp(term, "properties.", 11) == 0) {
    const char *kv = term + 11;
    const char *colon = strchr(kv, ':');
    if (!colon) return 0;
    char key[64];
    size_t klen = (size_t)(colon - kv);
    if (klen == 0 || klen >= sizeof key) return 0;
    memcpy(key, kv, klen);
    key[klen] = 0;
    json_object *v = NULL;
    if (!json_object_object_get_ex(d->properties, key, &v) || !v) return 0;
    const char *want = colon + 1;
    if (strcmp(want, "*") == 0) return 1;
    const char *have = prop_text(v);
    /* comma-separated alternatives */
    const char *p = want;
    for (;;) {
      const char *comma = strchr(p, ',');
      size_t len = comma ? (size_t)(comma - p) : strlen(p);
      if (strlen(have) == len && strncmp(have, p, len) == 0) return 1;
      if (!comma) break;
      p = comma + 1;
    }
    return 0;
  }
  json_object_object_foreach(d->properties, k, v) {
    if (strstr(k, term) || strstr(prop_text(v), term)) return 1;
  }
  return 0;
}

static int query_matches(const struct srv_device *d, const char *query) {
  char *copy = pl__srv_strdup(query);
  if (!copy) return 0;
  int ok = 1;
  char *save = NULL;
  for (char *t = strtok_r(copy, " ", &save); t && ok; t = strtok_r(NULL, " ", &save))
    if (!term_matches(d, t)) ok = 0;
  free(copy);
  return ok;
}

struct dev_sort {
  int by;           /* 0 id, 1 name, 2 property, -1 default (created) */
  const char *prop; /* for 2 */
};

static int cmp_dev(const void *a, const void *b, void *ctx) {
  const struct srv_device *x = a, *y = b;
  const struct dev_sort *ds = ctx;
  int c = 0;
  if (ds->by == 0) return pl__srv_cmp_str(x->id, y->id);
  if (ds->by == 1) c = pl__srv_cmp_str(x->name, y->name);
  if (ds->by == 2) {
    json_object *vx = NULL, *vy = NULL;
    json_object_object_get_ex(x->properties, ds->prop, &vx);
    json_object_object_get_ex(y->properties, ds->prop, &vy);
    if (!vx != !vy) return vx ? -1 : 1;
    if (vx && vy) c = pl__srv_cmp_str(prop_text(vx), prop_text(vy));
  }
  if (ds->by < 0 || !c) c = pl__srv_cmp_u64(x->created, y->created);
  return c ? c : pl__srv_cmp_str(x->id, y->id);
}

static void list_devices(struct srv_req *q, struct srv_resp *r) {
  static const char *const allowed[] = {"sortBy", "sortOrder", "limit", "offset", "query", NULL};
  if (!pl__srv_params_allow(q, r, allowed)) return;
  size_t limit, offset;
  if (pl__srv_param_paging(q, r, &limit, &offset) != 0) return;
  struct dev_sort ds = {-1, NULL};
  const char *sort_by = pl__srv_param(q, "sortBy");
  int desc = 0, by = -1;
  if (sort_by && strncmp(sort_by, "properties.", 11) == 0 && sort_by[11]) {
    ds.by = 2;
    ds.prop = sort_by + 11;
    const char *o = pl__srv_param(q, "sortOrder");
    if (o && strcmp(o, "asc") != 0 && strcmp(o, "desc") != 0) {
      pl__srv_resp_error(r, 400, "invalid 'sortOrder': expected asc or desc, got '%s'", o);
      return;
    }
    desc = o && strcmp(o, "desc") == 0;
  } else {
    if (pl__srv_param_sort(q, r, k_sort, &by, &desc) != 0) return;
    ds.by = by;
  }
  const char *query = pl__srv_param(q, "query");
  if (query) {
    char *copy = pl__srv_strdup(query);
    char *save = NULL;
    for (char *t = copy ? strtok_r(copy, " ", &save) : NULL; t; t = strtok_r(NULL, " ", &save)) {
      if (strncmp(t, "properties.", 11) == 0 && !strchr(t + 11, ':')) {
        pl__srv_resp_error(r, 400, "invalid 'query': '%s' needs ':value'", t);
        free(copy);
        return;
      }
    }
    free(copy);
  }
  struct srv_store *st = &q->srv->store;
  pthread_rwlock_rdlock(&st->lock);
  void **items = malloc((st->devices.n ? st->devices.n : 1) * sizeof *items);
  size_t n = 0;
  for (size_t i = 0; items && i < st->devices.n; i++) {
    struct srv_device *d = st->devices.items[i];
    if (query && !query_matches(d, query)) continue;
    items[n++] = d;
  }
  if (!items) {
    pthread_rwlock_unlock(&st->lock);
    pl__srv_resp_error(r, 500, "out of memory");
    return;
  }
  pl__srv_sort(items, n, cmp_dev, &ds, desc);
  json_object *arr = json_object_new_array();
  for (size_t i = offset; i < n && i - offset < limit; i++)
    json_object_array_add(arr, pl__srv_device_json(items[i]));
  pthread_rwlock_unlock(&st->lock);
  free(items);
  pl__srv_resp_json(r, 200, arr);
}

static void create_device(struct srv_req *q, struct srv_resp *r) {
  static const char *const body[] = {"name", "properties", NULL};
  if (!pl__srv_params_allow(q, r, (const char *const[]){NULL})) return;
  if (!pl__srv_body_allow(q, r, body)) return;
  const char *name;
  json_object *props;
  if (pl__srv_body_str(q, r, "name", &name) < 0) return;
  if (!name) {
    pl__srv_resp_error(r, 400, "field 'name' is required");
    return;
  }
  if (!pl__srv_valid_device_name(name)) {
    pl__srv_resp_error(r, 400,
                       "invalid device name '%s': use 1 to 100 of A-Z a-z 0-9 _ . - "
                       "(not '.' or '..')",
                       name);
    return;
  }
  if (check_properties(q, r, &props) != 0) return;
  struct srv_store *st = &q->srv->store;
  char msg[256];
  pthread_rwlock_wrlock(&st->lock);
  if (pl__srv_cprop_check_device(st, props, msg, sizeof msg) != 0) {
    pthread_rwlock_unlock(&st->lock);
    pl__srv_resp_error(r, 400, "%s", msg);
    return;
  }
  if (pl__srv_device_by_name(st, name)) {
    pthread_rwlock_unlock(&st->lock);
    pl__srv_resp_error(r, 409, "a device named '%s' already exists", name);
    return;
  }
  if (st->devices.n >= SRV_MAX_DEVICES) {
    pthread_rwlock_unlock(&st->lock);
    pl__srv_resp_error(r, 409, "the site has the most devices it holds (%d)", SRV_MAX_DEVICES);
    return;
  }
  json_object *clean = json_object_new_object();
  if (props) {
    json_object_object_foreach(props, k, v) {
      if (v) json_object_object_add(clean, k, json_object_get(v));
    }
  }
  struct srv_device *d = pl__srv_device_create(st, name, clean);
  json_object_put(clean);
  json_object *out = d ? pl__srv_device_json(d) : NULL;
  pthread_rwlock_unlock(&st->lock);
  if (!out) {
    pl__srv_resp_error(r, 500, "cannot store the device");
    return;
  }
  pl__srv_resp_json(r, 200, out);
}

static void one_device(struct srv_req *q, struct srv_resp *r) {
  if (!pl__srv_params_allow(q, r, (const char *const[]){NULL})) return;
  const char *name_or_id = q->seg[1];
  struct srv_store *st = &q->srv->store;
  if (strcmp(q->method, "GET") == 0) {
    pthread_rwlock_rdlock(&st->lock);
    struct srv_device *d = pl__srv_device_find(st, name_or_id);
    json_object *out = d ? pl__srv_device_json(d) : NULL;
    pthread_rwlock_unlock(&st->lock);
    if (!out) {
      pl__srv_resp_error(r, 404, "device '%s' not found", name_or_id);
      return;
    }
    pl__srv_resp_json(r, 200, out);
    return;
  }
  if (strcmp(q->method, "PATCH") == 0) {
    static const char *const body[] = {"name", "properties", NULL};
    if (!pl__srv_body_allow(q, r, body)) return;
    const char *name;
    json_object *props;
    if (pl__srv_body_str(q, r, "name", &name) < 0) return;
    if (name && !name[0]) name = NULL;
    if (name && !pl__srv_valid_device_name(name)) {
      pl__srv_resp_error(r, 400,
                         "invalid device name '%s': use 1 to 100 of A-Z a-z 0-9 _ . - "
                         "(not '.' or '..')",
                         name);
      return;
    }
    if (check_properties(q, r, &props) != 0) return;
    char msg[256];
    pthread_rwlock_wrlock(&st->lock);
    struct srv_device *d = pl__srv_device_find(st, name_or_id);
    if (!d) {
      pthread_rwlock_unlock(&st->lock);
      pl__srv_resp_error(r, 404, "device '%s' not found", name_or_id);
      return;
    }
    if (pl__srv_cprop_check_device(st, props, msg, sizeof msg) != 0) {
      pthread_rwlock_unlock(&st->lock);
      pl__srv_resp_error(r, 400, "%s", msg);
      return;
    }
    struct srv_device *other = name ? pl__srv_device_by_name(st, name) : NULL;
    if (other && other != d) {
      pthread_rwlock_unlock(&st->lock);
      pl__srv_resp_error(r, 409, "a device named '%s' already exists", name);
      return;
    }
    char *old_name = d->name;
    json_object *old_props = json_object_get(d->properties);
    json_object *copy = NULL;
    if (json_object_deep_copy(d->properties, &copy, NULL) != 0 || !copy) {
      json_object_put(old_props);
      pthread_rwlock_unlock(&st->lock);
      pl__srv_resp_error(r, 500, "out of memory");
      return;
    }
    d->properties = copy;
    json_object_put(old_props); /* the reference taken above */
    if (name) d->name = pl__srv_strdup(name);
    if (props) merge_properties(d, props);
    uint64_t old_updated = d->updated;
    d->updated = pl__srv_now_ns();
    int too_many = json_object_object_length(d->properties) > SRV_MAX_PROPERTIES ||
                   props_bytes(d->properties) > SRV_MAX_PROPERTY_BYTES;
    if (!d->name || too_many || pl__srv_device_save(st, d) != 0) {
      /* roll back so memory matches the disk */
      if (d->name != old_name) free(d->name);
      d->name = old_name;
      if (copy) {
        json_object_put(d->properties);
        d->properties = old_props;
      }
      d->updated = old_updated;
      pthread_rwlock_unlock(&st->lock);
      if (too_many)
        pl__srv_resp_error(r, 400, "a device has at most %d properties of at most %d bytes in all",
                           SRV_MAX_PROPERTIES, SRV_MAX_PROPERTY_BYTES);
      else
        pl__srv_resp_error(r, 500, "cannot store the device");
      return;
    }
    if (name) free(old_name);
    if (copy) json_object_put(old_props);
    json_object *out = pl__srv_device_json(d);
    pthread_rwlock_unlock(&st->lock);
    pl__srv_resp_json(r, 200, out);
    return;
  }
  /* DELETE */
  pthread_rwlock_wrlock(&st->lock);
  struct srv_device *d = pl__srv_device_find(st, name_or_id);
  if (!d) {
    pthread_rwlock_unlock(&st->lock);
    pl__srv_resp_error(r, 404, "device '%s' not found", name_or_id);
    return;
  }
  size_t recs = 0;
  for (size_t i = 0; i < st->recordings.n; i++) {
    struct srv_recording *rec = st->recordings.items[i];
    if (rec->device_id && strcmp(rec->device_id, d->id) == 0) recs++;
  }
  if (recs) {
    pthread_rwlock_unlock(&st->lock);
    pl__srv_resp_error(r, 409, "device '%s' still has %zu recording(s): delete them first",
                       name_or_id, recs);
    return;
  }
  size_t evs = pl__srv_events_of_device(st, d->id);
  if (evs) {
    pthread_rwlock_unlock(&st->lock);
    pl__srv_resp_error(r, 409, "device '%s' still has %zu event(s): delete them first",
                       name_or_id, evs);
    return;
  }
  char id[SRV_ID_LEN + 1];
  snprintf(id, sizeof id, "%s", d->id);
  int rc = pl__srv_device_delete(st, d);
  pthread_rwlock_unlock(&st->lock);
  if (rc != 0) {
    pl__srv_resp_error(r, 500, "cannot delete the device");
    return;
  }
  json_object *o = json_object_new_object();
  json_object_object_add(o, "id", json_object_new_string(id));
  pl__srv_resp_json(r, 200, o);
}

void pl__srv_route_devices(struct srv_req *q, struct srv_resp *r) {
  if (q->n_seg == 1) {
    if (strcmp(q->method, "POST") == 0)
      create_device(q, r);
    else
      list_devices(q, r);
    return;
  }
  one_device(q, r);
}
