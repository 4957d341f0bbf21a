/*
 * api_query.c - the filters of the API's list endpoints: which query
 * parameters each kind of list takes (the API reference's), how a
 * pl_api_query becomes those parameters (times as RFC 3339, recordings for
 * the site-id form of each endpoint), and the lookups some filters need
 * (attachments are listed by recording id only, lake files by site).
 *
 * A filter given to a kind that does not take it is refused (PL_EINVAL)
 * rather than sent to an API that would refuse or, worse, ignore it.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_internal.h"
#include "pipeline/core.h"

static const struct {
  const char *name;
  pl_api_kind kind;
} k_kinds[] = {
    {"recordings", PL_API_RECORDINGS},
    {"attachments", PL_API_ATTACHMENTS},
    {"topics", PL_API_TOPICS},
    {"coverage", PL_API_COVERAGE},
    {"pending-imports", PL_API_PENDING_IMPORTS},
    {"lake-files", PL_API_LAKE_FILES},
    {"devices", PL_API_DEVICES},
};

int pl_api_kind_parse(const char *name, pl_api_kind *out) {
  for (size_t i = 0; name && i < sizeof k_kinds / sizeof k_kinds[0]; i++) {
    if (strcmp(k_kinds[i].name, name) == 0) {
      *out = k_kinds[i].kind;
      return PL_OK;
    }
  }
  return PL_EINVAL;
}

const char *pl_api_kind_name(pl_api_kind kind) {
  for (size_t i = 0; i < sizeof k_kinds / sizeof k_kinds[0]; i++)
    if (k_kinds[i].kind == kind) return k_kinds[i].name;
  return NULL;
}

#define K(k) (1u << (k))
#define K_ALL 0x7Fu
enum { F_STR, F_FLAG, F_DOUBLE, F_TIME };

/* Each filter: its name (as mcapkit's options), where it is in pl_api_query, the kinds
 * that take it. Order: as the parameters are sent. */
static const struct {
  const char *name;
  size_t off;
  int type;
  unsigned kinds;
} k_filters[] = {
    {"device-name", offsetof(pl_api_query, device_name), F_STR, K_ALL & ~K(PL_API_DEVICES)},
    {"device-id", offsetof(pl_api_query, device_id), F_STR, K_ALL & ~K(PL_API_DEVICES)},
    {"start", offsetof(pl_api_query, has_start), F_TIME,
     K(PL_API_RECORDINGS) | K(PL_API_TOPICS) | K(PL_API_COVERAGE) | K(PL_API_LAKE_FILES)},
    {"end", offsetof(pl_api_query, has_end), F_TIME,
     K(PL_API_RECORDINGS) | K(PL_API_TOPICS) | K(PL_API_COVERAGE) | K(PL_API_LAKE_FILES)},
    {"topic", offsetof(pl_api_query, topic), F_STR, K(PL_API_RECORDINGS) | K(PL_API_LAKE_FILES)},
    {"import-status", offsetof(pl_api_query, import_status), F_STR, K(PL_API_RECORDINGS)},
    {"path", offsetof(pl_api_query, path), F_STR, K(PL_API_RECORDINGS)},
    {"recording-id", offsetof(pl_api_query, recording_id), F_STR,
     K(PL_API_ATTACHMENTS) | K(PL_API_TOPICS) | K(PL_API_COVERAGE) | K(PL_API_LAKE_FILES)},
    {"recording-key", offsetof(pl_api_query, recording_key), F_STR,
     K(PL_API_ATTACHMENTS) | K(PL_API_TOPICS) | K(PL_API_COVERAGE) | K(PL_API_LAKE_FILES)},
    {"request-id", offsetof(pl_api_query, request_id), F_STR, K(PL_API_PENDING_IMPORTS)},
    {"key", offsetof(pl_api_query, key), F_STR, K(PL_API_PENDING_IMPORTS)},
    {"filename", offsetof(pl_api_query, filename), F_STR, K(PL_API_PENDING_IMPORTS)},
    {"error", offsetof(pl_api_query, error), F_STR, K(PL_API_PENDING_IMPORTS)},
    {"site-id", offsetof(pl_api_query, site_id), F_STR,
     K(PL_API_RECORDINGS) | K(PL_API_PENDING_IMPORTS) | K(PL_API_ATTACHMENTS) |
         K(PL_API_LAKE_FILES)},
    {"tolerance", offsetof(pl_api_query, tolerance), F_DOUBLE, K(PL_API_COVERAGE)},
    {"include-schemas", offsetof(pl_api_query, include_schemas), F_FLAG, K(PL_API_TOPICS)},
    {"show-completed", offsetof(pl_api_query, show_completed), F_FLAG, K(PL_API_PENDING_IMPORTS)},
    {"show-quarantined", offsetof(pl_api_query, show_quarantined), F_FLAG,
     K(PL_API_PENDING_IMPORTS)},
    {"include-edge", offsetof(pl_api_query, include_edge), F_FLAG, K(PL_API_COVERAGE)},
    {"sort-by", offsetof(pl_api_query, sort_by), F_STR, K_ALL & ~K(PL_API_LAKE_FILES)},
    {"sort-order", offsetof(pl_api_query, sort_order), F_STR, K_ALL & ~K(PL_API_LAKE_FILES)},
    {"query", offsetof(pl_api_query, query), F_STR, K(PL_API_DEVICES)},
};
#define N_FILTERS (sizeof k_filters / sizeof k_filters[0])

static int filter_set(const pl_api_query *q, size_t i) {
  const char *base = (const char *)q + k_filters[i].off;
  switch (k_filters[i].type) {
    case F_STR: {
      const char *v;
      memcpy(&v, base, sizeof v);
      return v != NULL;
    }
    case F_FLAG:
    case F_TIME: {
      int v;
      memcpy(&v, base, sizeof v);
      return v != 0;
    }
    default: {
      double v;
      memcpy(&v, base, sizeof v);
      return v >= 0;
    }
  }
}

void pl_api_query_init(pl_api_query *q) {
  memset(q, 0, sizeof *q);
  q->tolerance = -1;
}

int pl_api_query_check(pl_api_kind kind, const pl_api_query *q, pl_error_info *err) {
  const char *kind_name = pl_api_kind_name(kind);
  if (!q || !kind_name) return pl_error_set(err, PL_EINVAL, UINT64_MAX, "invalid argument");
  for (size_t i = 0; i < N_FILTERS; i++) {
    if (!filter_set(q, i) || (k_filters[i].kinds & K(kind))) continue;
    char takes[512];
    size_t len = 0;
    takes[0] = '\0';
    for (size_t k = 0; k < N_FILTERS; k++) {
      if (!(k_filters[k].kinds & K(kind))) continue;
      int w =
          snprintf(takes + len, sizeof takes - len, "%s--%s", len ? ", " : "", k_filters[k].name);
      if (w < 0 || (size_t)w >= sizeof takes - len) break;
      len += (size_t)w;
    }
    return pl_error_set(err, PL_EINVAL, UINT64_MAX, "'--%s' is not a filter of %s (it takes %s)",
                        k_filters[i].name, kind_name, len ? takes : "none");
  }
  if (q->recording_id && q->recording_key)
    return pl_error_set(err, PL_EINVAL, UINT64_MAX,
                        "give --recording-id or --recording-key, not both");
  if (q->has_start && q->has_end && q->start > q->end)
    return pl_error_set(err, PL_EINVAL, UINT64_MAX, "the start (--start) is after the end (--end)");
  for (size_t i = 0; i < q->n_extra; i++) {
    const char *kv = q->extra[i];
    const char *eq = kv ? strchr(kv, '=') : NULL;
    if (!eq || eq == kv)
      return pl_error_set(err, PL_EINVAL, UINT64_MAX, "invalid '--param %s' (expected NAME=VALUE)",
                          kv ? kv : "");
    if (strncmp(kv, "limit=", 6) == 0 || strncmp(kv, "offset=", 7) == 0)
      return pl_error_set(err, PL_EINVAL, UINT64_MAX,
                          "'--param %s': paging is done here; use --limit to stop early", kv);
  }
  return PL_OK;
}

/* ------------------------------------------------------------ the params */

/* The parameters and the strings they point to, in one allocation each. */
struct pl_api_params {
  pl_param *items;
  size_t n, cap;
  char **owned; /* copies the items point into */
  size_t n_owned, cap_owned;
};

static int add(pl_api_params *p, const char *name, const char *value, int copy_name, int copy_value,
               pl_error_info *err) {
  if (!value) return PL_OK;
  if (pl_grow((void **)&p->items, &p->cap, p->n + 1, sizeof *p->items) != 0 ||
      pl_grow((void **)&p->owned, &p->cap_owned, p->n_owned + 2, sizeof *p->owned) != 0)
    return pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
  if (copy_name) {
    char *c = pl_strdup(name);
    if (!c) return pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
    p->owned[p->n_owned++] = c;
    name = c;
  }
  if (copy_value) {
    char *c = pl_strdup(value);
    if (!c) return pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
    p->owned[p->n_owned++] = c;
    value = c;
  }
  p->items[p->n].name = name;
  p->items[p->n].value = value;
  p->n++;
  return PL_OK;
}

/*
 * Look a recording up (by key or id) and add its id (site = 0) or its site's id (site = 1)
 * as the parameter `name`. A recording without an id is an error; one without a site adds
 * nothing (the API will say siteId is required).
 */
static int add_recording(pl_http *h, pl_api_params *p, const char *key_or_id, int site,
                         const char *name, pl_error_info *err) {
  pl_api_recording *r = NULL;
  int rc = pl_api_get_recording(h, key_or_id, &r, err);
  if (rc != PL_OK) {
    pl_api_recording_free(r);
    return rc;
  }
  const char *v = site ? r->site_id : r->id;
  if (!site && !v)
    rc = pl_error_set(err, PL_EJSON, UINT64_MAX, "recording '%s' has no id", key_or_id);
  if (rc == PL_OK) rc = add(p, name, v, 0, 1, err);
  pl_api_recording_free(r);
  return rc;
}

int pl_api_query_params(pl_http *h, pl_api_kind kind, const pl_api_query *q, pl_api_params **out,
                        pl_error_info *err) {
  if (!out) return pl_error_set(err, PL_EINVAL, UINT64_MAX, "invalid argument");
  *out = NULL;
  int rc = pl_api_query_check(kind, q, err);
  if (rc != PL_OK) return rc;
  pl_api_params *p = calloc(1, sizeof *p);
  if (!p) return pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
  char t[40], tol[40];
  rc = add(p, "deviceName", q->device_name, 0, 0, err);
  if (!rc) rc = add(p, "deviceId", q->device_id, 0, 0, err);
  if (!rc && q->has_start) {
    pl_format_time(q->start, t);
    rc = add(p, "start", t, 0, 1, err);
  }
  if (!rc && q->has_end) {
    pl_format_time(q->end, t);
    rc = add(p, "end", t, 0, 1, err);
  }
  if (!rc) rc = add(p, "topic", q->topic, 0, 0, err);
  if (!rc) rc = add(p, "importStatus", q->import_status, 0, 0, err);
  if (!rc) rc = add(p, "path", q->path, 0, 0, err);
  if (!rc) rc = add(p, "recordingId", q->recording_id, 0, 0, err);
  /* attachments are listed by recordingId only: the key is looked up below */
  if (!rc && kind != PL_API_ATTACHMENTS) rc = add(p, "recordingKey", q->recording_key, 0, 0, err);
  if (!rc) rc = add(p, "requestId", q->request_id, 0, 0, err);
  if (!rc) rc = add(p, "key", q->key, 0, 0, err);
  if (!rc) rc = add(p, kind == PL_API_RECORDINGS ? "site.id" : "siteId", q->site_id, 0, 0, err);
  if (!rc) rc = add(p, "filename", q->filename, 0, 0, err);
  if (!rc) rc = add(p, "error", q->error, 0, 0, err);
  if (!rc) rc = add(p, "sortBy", q->sort_by, 0, 0, err);
  if (!rc) rc = add(p, "sortOrder", q->sort_order, 0, 0, err);
  if (!rc) rc = add(p, "query", q->query, 0, 0, err);
  if (!rc && q->tolerance >= 0) {
    snprintf(tol, sizeof tol, "%.9g", q->tolerance);
    rc = add(p, "tolerance", tol, 0, 1, err);
  }
  if (!rc && q->include_schemas) rc = add(p, "includeSchemas", "true", 0, 0, err);
  if (!rc && q->show_completed) rc = add(p, "showCompleted", "true", 0, 0, err);
  if (!rc && q->show_quarantined) rc = add(p, "showQuarantined", "true", 0, 0, err);
  if (!rc && q->include_edge) rc = add(p, "includeEdgeRecordings", "true", 0, 0, err);
  for (size_t i = 0; !rc && i < q->n_extra; i++) {
    char *name = pl_strdup(q->extra[i]); /* checked: NAME=VALUE */
    if (!name) {
      rc = pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
      break;
    }
    char *eq = strchr(name, '=');
    *eq = '\0';
    rc = add(p, name, eq + 1, 1, 1, err);
    free(name);
  }
  if (!rc && kind == PL_API_ATTACHMENTS && q->recording_key) {
    if (!h)
      rc = pl_error_set(err, PL_EINVAL, UINT64_MAX, "invalid argument");
    else
      rc = add_recording(h, p, q->recording_key, 0, "recordingId", err);
  }
  if (!rc && kind == PL_API_LAKE_FILES && !q->site_id && (q->recording_id || q->recording_key)) {
    /* the site is the recording's own: look it up instead of asking for --site-id */
    if (!h)
      rc = pl_error_set(err, PL_EINVAL, UINT64_MAX, "invalid argument");
    else
      rc = add_recording(h, p, q->recording_id ? q->recording_id : q->recording_key, 1, "siteId",
                         err);
  }
  if (rc) {
    pl_api_params_free(p);
    return rc;
  }
  *out = p;
  return PL_OK;
}

const pl_param *pl_api_params_items(const pl_api_params *p, size_t *n) {
  *n = p ? p->n : 0;
  return p ? p->items : NULL;
}

void pl_api_params_free(pl_api_params *p) {
  if (!p) return;
  for (size_t i = 0; i < p->n_owned; i++) free(p->owned[i]);
  free(p->owned);
  free(p->items);
  free(p);
}
