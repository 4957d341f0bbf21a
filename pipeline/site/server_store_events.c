/*
 * server_store_events.c - events and custom property definitions in the
 * server's state, kept like devices (server_store.c): one JSON file per object
 * written atomically, all loaded at start.
 *
 *   DATA/state/events/<id>.json
 *   DATA/state/custom-properties/<id>.json
 *
 * File names are ids this server made (checked with pl__srv_valid_id when
 * loaded); metadata keys, values and property keys are only data inside them.
 * Callers hold the store lock (exclusive for changes).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server_internal.h"

/* ------------------------------------------------------------- helpers */

static const char *jstr(json_object *o, const char *k) {
  json_object *v;
  if (!json_object_object_get_ex(o, k, &v) || !v || !json_object_is_type(v, json_type_string))
    return NULL;
  return json_object_get_string(v);
}

static uint64_t ju64(json_object *o, const char *k) {
  json_object *v;
  if (!json_object_object_get_ex(o, k, &v) || !v || !json_object_is_type(v, json_type_int))
    return 0;
  return json_object_get_uint64(v);
}

static json_object *copy_of(json_object *o) {
  json_object *c = NULL;
  if (!o || json_object_deep_copy(o, &c, NULL) != 0) return NULL;
  return c;
}

void pl__srv_notify_created(pl_server *s, const char *type, json_object *resource) {
  if (!s || !s->on_created || !resource) return;
  s->on_created(s, type, resource);
}

/* ------------------------------------------------------------- events */

void pl__srv_event_free(struct srv_event *e) {
  if (!e) return;
  free(e->id);
  free(e->device_id);
  json_object_put(e->metadata);
  free(e);
}

struct srv_event *pl__srv_event_by_id(struct srv_store *st, const char *id) {
  for (size_t i = 0; i < st->events.n; i++) {
    struct srv_event *e = st->events.items[i];
    if (strcmp(e->id, id) == 0) return e;
  }
  return NULL;
}

size_t pl__srv_events_of_device(struct srv_store *st, const char *device_id) {
  size_t n = 0;
  for (size_t i = 0; i < st->events.n; i++) {
    const struct srv_event *e = st->events.items[i];
    if (strcmp(e->device_id, device_id) == 0) n++;
  }
  return n;
}

int pl__srv_event_save(struct srv_store *st, const struct srv_event *e) {
  json_object *o = json_object_new_object();
  json_object_object_add(o, "id", json_object_new_string(e->id));
  json_object_object_add(o, "deviceId", json_object_new_string(e->device_id));
  json_object_object_add(o, "start", json_object_new_uint64(e->start));
  json_object_object_add(o, "end", json_object_new_uint64(e->end));
  json_object *md = copy_of(e->metadata);
  json_object_object_add(o, "metadata", md ? md : json_object_new_object());
  json_object_object_add(o, "created", json_object_new_uint64(e->created));
  json_object_object_add(o, "updated", json_object_new_uint64(e->updated));
  char *file = pl__srv_printf("%s/state/events/%s.json", st->data_dir, e->id);
  int rc = file ? pl__srv_store_save_json(st, file, o) : (json_object_put(o), -1);
  free(file);
  return rc;
}

int pl__srv_event_add(struct srv_store *st, struct srv_event *e) {
  if (st->events.n >= SRV_MAX_EVENTS) {
    pl__srv_event_free(e);
    errno = ENOSPC;
    return -1;
  }
  if (pl__srv_event_save(st, e) != 0) {
    pl__srv_event_free(e);
    return -1;
  }
  if (pl__srv_vec_push(&st->events, e) != 0) {
    char *file = pl__srv_printf("%s/state/events/%s.json", st->data_dir, e->id);
    if (file) unlink(file);
    free(file);
    pl__srv_event_free(e);
    errno = ENOMEM;
    return -1;
  }
  return 0;
}

int pl__srv_event_delete(struct srv_store *st, struct srv_event *e) {
  char *file = pl__srv_printf("%s/state/events/%s.json", st->data_dir, e->id);
  if (!file) return -1;
  int rc = unlink(file);
  free(file);
  if (rc != 0 && errno != ENOENT) return -1;
  for (size_t i = 0; i < st->events.n; i++)
    if (st->events.items[i] == e) {
      pl__srv_vec_remove_at(&st->events, i);
      break;
    }
  pl__srv_event_free(e);
  return 0;
}

json_object *pl__srv_event_json(struct srv_store *st, const struct srv_event *e) {
  json_object *o = json_object_new_object();
  json_object_object_add(o, "id", json_object_new_string(e->id));
  json_object_object_add(o, "start", pl__srv_json_time(e->start));
  json_object_object_add(o, "end", pl__srv_json_time(e->end));
  json_object_object_add(o, "deviceId", json_object_new_string(e->device_id));
  const struct srv_device *d = pl__srv_device_by_id(st, e->device_id);
  json_object *dev = json_object_new_object();
  json_object_object_add(dev, "id", json_object_new_string(e->device_id));
  json_object_object_add(dev, "name", pl__srv_json_str(d ? d->name : NULL));
  json_object_object_add(o, "device", dev);
  /* a copy: responses are serialized outside the lock (see pl__srv_device_json) */
  json_object *md = copy_of(e->metadata);
  json_object_object_add(o, "metadata", md ? md : json_object_new_object());
  json_object_object_add(o, "createdAt", pl__srv_json_time(e->created));
  json_object_object_add(o, "updatedAt", pl__srv_json_time(e->updated));
  return o;
}

static int add_event(struct srv_store *st, json_object *o) {
  const char *id = jstr(o, "id"), *dev = jstr(o, "deviceId");
  json_object *md = NULL;
  if (!id || !dev || !pl__srv_valid_id(id) || !json_object_object_get_ex(o, "metadata", &md) ||
      !md || !json_object_is_type(md, json_type_object))
    return -1;
  struct srv_event *e = calloc(1, sizeof *e);
  if (!e) return -1;
  e->id = pl__srv_strdup(id);
  e->device_id = pl__srv_strdup(dev);
  e->metadata = copy_of(md);
  e->start = ju64(o, "start");
  e->end = ju64(o, "end");
  e->created = ju64(o, "created");
  e->updated = ju64(o, "updated");
  if (!e->id || !e->device_id || !e->metadata || e->end < e->start ||
      pl__srv_vec_push(&st->events, e) != 0) {
    pl__srv_event_free(e);
    return -1;
  }
  return 0;
}

/* ------------------------------------------------------------- custom properties */

static const char *const k_types[] = {"string", "number", "enum", "boolean"};

const char *pl__srv_cprop_type_name(int type) {
  return type >= 0 && type <= CPROP_BOOLEAN ? k_types[type] : "string";
}

int pl__srv_valid_cprop_key(const char *key) {
  size_t n = strlen(key);
  if (n == 0 || n > 32) return 0;
  for (size_t i = 0; i < n; i++) {
    char c = key[i];
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
          c == '_' || c == '-'))
      return 0;
  }
  return 1;
}

void pl__srv_cprop_free(struct srv_cprop *p) {
  if (!p) return;
  free(p->id);
  free(p->key);
  free(p->label);
  free(p->resource_type);
  json_object_put(p->values);
  free(p);
}

struct srv_cprop *pl__srv_cprop_by_id(struct srv_store *st, const char *id) {
  for (size_t i = 0; i < st->cprops.n; i++) {
    struct srv_cprop *p = st->cprops.items[i];
    if (strcmp(p->id, id) == 0) return p;
  }
  return NULL;
}

struct srv_cprop *pl__srv_cprop_by_key(struct srv_store *st, const char *resource_type,
                                       const char *key) {
  for (size_t i = 0; i < st->cprops.n; i++) {
    struct srv_cprop *p = st->cprops.items[i];
    if (strcmp(p->resource_type, resource_type) == 0 && strcmp(p->key, key) == 0) return p;
  }
  return NULL;
}

json_object *pl__srv_cprop_json(const struct srv_cprop *p) {
  json_object *o = json_object_new_object();
  json_object_object_add(o, "id", json_object_new_string(p->id));
  json_object_object_add(o, "key", json_object_new_string(p->key));
  json_object_object_add(o, "label", json_object_new_string(p->label));
  json_object_object_add(o, "resourceType", json_object_new_string(p->resource_type));
  json_object_object_add(o, "valueType",
                         json_object_new_string(pl__srv_cprop_type_name(p->value_type)));
  if (p->values) json_object_object_add(o, "values", copy_of(p->values));
  return o;
}

int pl__srv_cprop_save(struct srv_store *st, const struct srv_cprop *p) {
  json_object *o = pl__srv_cprop_json(p);
  json_object_object_add(o, "created", json_object_new_uint64(p->created));
  json_object_object_add(o, "updated", json_object_new_uint64(p->updated));
  char *file = pl__srv_printf("%s/state/custom-properties/%s.json", st->data_dir, p->id);
  int rc = file ? pl__srv_store_save_json(st, file, o) : (json_object_put(o), -1);
  free(file);
  return rc;
}

int pl__srv_cprop_add(struct srv_store *st, struct srv_cprop *p) {
  if (st->cprops.n >= SRV_MAX_CPROPS) {
    pl__srv_cprop_free(p);
    errno = ENOSPC;
    return -1;
  }
  if (pl__srv_cprop_save(st, p) != 0) {
    pl__srv_cprop_free(p);
    return -1;
  }
  if (pl__srv_vec_push(&st->cprops, p) != 0) {
    char *file = pl__srv_printf("%s/state/custom-properties/%s.json", st->data_dir, p->id);
    if (file) unlink(file);
    free(file);
    pl__srv_cprop_free(p);
    errno = ENOMEM;
    return -1;
  }
  return 0;
}

static int add_cprop(struct srv_store *st, json_object *o) {
  const char *id = jstr(o, "id"), *key = jstr(o, "key"), *label = jstr(o, "label");
  const char *rt = jstr(o, "resourceType"), *vt = jstr(o, "valueType");
  if (!id || !key || !label || !rt || !vt || !pl__srv_valid_id(id) ||
      !pl__srv_valid_cprop_key(key))
    return -1;
  int type = -1;
  for (int i = 0; i <= CPROP_BOOLEAN; i++)
    if (strcmp(vt, k_types[i]) == 0) type = i;
  json_object *values = NULL;
  json_object_object_get_ex(o, "values", &values);
  if (type < 0 || (values && !json_object_is_type(values, json_type_array)) ||
      (type == CPROP_ENUM) != (values != NULL))
    return -1;
  struct srv_cprop *p = calloc(1, sizeof *p);
  if (!p) return -1;
  p->id = pl__srv_strdup(id);
  p->key = pl__srv_strdup(key);
  p->label = pl__srv_strdup(label);
  p->resource_type = pl__srv_strdup(rt);
  p->value_type = type;
  p->values = values ? copy_of(values) : NULL;
  p->created = ju64(o, "created");
  p->updated = ju64(o, "updated");
  if (!p->id || !p->key || !p->label || !p->resource_type || (values && !p->values) ||
      pl__srv_vec_push(&st->cprops, p) != 0) {
    pl__srv_cprop_free(p);
    return -1;
  }
  return 0;
}

static int value_allowed(const struct srv_cprop *p, const char *v) {
  size_t n = p->values ? json_object_array_length(p->values) : 0;
  for (size_t i = 0; i < n; i++)
    if (strcmp(json_object_get_string(json_object_array_get_idx(p->values, i)), v) == 0) return 1;
  return 0;
}

int pl__srv_cprop_check_device(struct srv_store *st, json_object *props, char *msg, size_t cap) {
  if (!props) return 0;
  int registry = 0;
  for (size_t i = 0; i < st->cprops.n && !registry; i++)
    if (strcmp(((struct srv_cprop *)st->cprops.items[i])->resource_type, "device") == 0)
      registry = 1;
  json_object_object_foreach(props, k, v) {
    if (!pl__srv_valid_cprop_key(k)) {
      snprintf(msg, cap, "invalid property key '%.64s': use 1 to 32 of A-Z a-z 0-9 _ -", k);
      return -1;
    }
    if (!registry || !v) continue; /* null unsets */
    const struct srv_cprop *p = pl__srv_cprop_by_key(st, "device", k);
    if (!p) {
      snprintf(msg, cap,
               "property '%s' is not a custom property of devices "
               "(define it with POST /v1/custom-properties)",
               k);
      return -1;
    }
    int ok = 0;
    switch (p->value_type) {
      case CPROP_STRING: ok = json_object_is_type(v, json_type_string); break;
      case CPROP_NUMBER:
        ok = json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double);
        break;
      case CPROP_BOOLEAN: ok = json_object_is_type(v, json_type_boolean); break;
      case CPROP_ENUM:
        ok = json_object_is_type(v, json_type_string) && value_allowed(p, json_object_get_string(v));
        break;
      default: break;
    }
    if (!ok) {
      if (p->value_type == CPROP_ENUM)
        snprintf(msg, cap, "property '%s' must be one of the values of its enum", k);
      else
        snprintf(msg, cap, "property '%s' must be a %s", k, pl__srv_cprop_type_name(p->value_type));
      return -1;
    }
  }
  return 0;
}

/* ------------------------------------------------------------- load / dispose */

static int cmp_event_created(const void *a, const void *b, void *ctx) {
  (void)ctx;
  const struct srv_event *x = a, *y = b;
  int c = pl__srv_cmp_u64(x->created, y->created);
  return c ? c : pl__srv_cmp_str(x->id, y->id);
}

static int cmp_cprop_created(const void *a, const void *b, void *ctx) {
  (void)ctx;
  const struct srv_cprop *x = a, *y = b;
  int c = pl__srv_cmp_u64(x->created, y->created);
  return c ? c : pl__srv_cmp_str(x->id, y->id);
}

int pl__srv_events_load(struct srv_store *st) {
  if (pl__srv_store_load_dir(st, "events", add_event) != 0 ||
      pl__srv_store_load_dir(st, "custom-properties", add_cprop) != 0)
    return -1;
  pl__srv_sort(st->events.items, st->events.n, cmp_event_created, NULL, 0);
  pl__srv_sort(st->cprops.items, st->cprops.n, cmp_cprop_created, NULL, 0);
  return 0;
}

void pl__srv_events_dispose(struct srv_store *st) {
  for (size_t i = 0; i < st->events.n; i++) pl__srv_event_free(st->events.items[i]);
  for (size_t i = 0; i < st->cprops.n; i++) pl__srv_cprop_free(st->cprops.items[i]);
  free(st->events.items);
  free(st->cprops.items);
  memset(&st->events, 0, sizeof st->events);
  memset(&st->cprops, 0, sizeof st->cprops);
}
