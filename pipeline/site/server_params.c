/*
 * server_params.c - query parameters and JSON request bodies, parsed strictly:
 * unknown parameters and body fields are a 400 naming them, booleans are
 * "true"/"false", numbers are plain decimals, times follow ENDPOINTS.md
 * (pl_parse_time), limit is 0..2000 (default 2000) and offset >= 0.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server_internal.h"

static struct srv_param *find(struct srv_req *q, const char *name) {
  for (size_t i = 0; i < q->n_params; i++)
    if (strcmp(q->params[i].name, name) == 0) return &q->params[i];
  return NULL;
}

int pl__srv_params_allow(struct srv_req *q, struct srv_resp *r, const char *const *names) {
  for (size_t i = 0; i < q->n_params; i++) {
    int ok = 0;
    for (const char *const *n = names; n && *n; n++)
      if (strcmp(*n, q->params[i].name) == 0) ok = 1;
    if (!ok) {
      pl__srv_resp_error(r, 400, "unknown query parameter '%s'", q->params[i].name);
      return 0;
    }
  }
  return 1;
}

const char *pl__srv_param(struct srv_req *q, const char *name) {
  struct srv_param *p = find(q, name);
  return p ? p->value : NULL;
}

int pl__srv_param_time(struct srv_req *q, struct srv_resp *r, const char *name, uint64_t *ns) {
  const char *v = pl__srv_param(q, name);
  if (!v) return 0;
  if (pl_parse_time(v, ns) != PL_OK) {
    pl__srv_resp_error(r, 400,
                       "invalid '%s': '%s' is not an RFC 3339 / ISO 8601 time "
                       "(e.g. 2024-01-02T03:04:05.123456789Z)",
                       name, v);
    return -1;
  }
  return 1;
}

int pl__srv_param_bool(struct srv_req *q, struct srv_resp *r, const char *name, int *v) {
  const char *s = pl__srv_param(q, name);
  if (!s) return 0;
  if (strcmp(s, "true") == 0) {
    *v = 1;
  } else if (strcmp(s, "false") == 0) {
    *v = 0;
  } else {
    pl__srv_resp_error(r, 400, "invalid '%s': expected true or false, got '%s'", name, s);
    return -1;
  }
  return 1;
}

/* Plain decimal: digits with an optional fraction; no sign, exponent, spaces. */
static int parse_decimal(const char *s, double *out) {
  size_t i = 0, digits = 0;
  while (s[i] >= '0' && s[i] <= '9') i++, digits++;
  if (s[i] == '.') {
    i++;
    while (s[i] >= '0' && s[i] <= '9') i++, digits++;
  }
  if (s[i] != 0 || digits == 0 || i > 32) return -1;
  errno = 0;
  char *end = NULL;
  double d = strtod(s, &end);
  if (errno != 0 || !end || *end != 0 || !isfinite(d)) return -1;
  *out = d;
  return 0;
}

static int parse_uint(const char *s, uint64_t *out) {
  if (!s[0] || strlen(s) > 19) return -1;
  for (const char *p = s; *p; p++)
    if (*p < '0' || *p > '9') return -1;
  errno = 0;
  char *end = NULL;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno != 0 || *end != 0) return -1;
  *out = v;
  return 0;
}

int pl__srv_param_number(struct srv_req *q, struct srv_resp *r, const char *name, double *v) {
  const char *s = pl__srv_param(q, name);
  if (!s) return 0;
  if (parse_decimal(s, v) != 0) {
    pl__srv_resp_error(r, 400, "invalid '%s': expected a number >= 0, got '%s'", name, s);
    return -1;
  }
  return 1;
}

int pl__srv_param_paging(struct srv_req *q, struct srv_resp *r, size_t *limit, size_t *offset) {
  *limit = SRV_PAGE_MAX;
  *offset = 0;
  const char *l = pl__srv_param(q, "limit");
  const char *o = pl__srv_param(q, "offset");
  uint64_t v;
  if (l) {
    if (parse_uint(l, &v) != 0) {
      pl__srv_resp_error(r, 400, "invalid 'limit': expected an integer from 0 to %d, got '%s'",
                         SRV_PAGE_MAX, l);
      return -1;
    }
    if (v > SRV_PAGE_MAX) {
      pl__srv_resp_error(r, 400, "invalid 'limit': %s is more than %d", l, SRV_PAGE_MAX);
      return -1;
    }
    *limit = (size_t)v;
  }
  if (o) {
    if (parse_uint(o, &v) != 0) {
      pl__srv_resp_error(r, 400, "invalid 'offset': expected an integer >= 0, got '%s'", o);
      return -1;
    }
    *offset = v > SIZE_MAX ? SIZE_MAX : (size_t)v;
  }
  return 0;
}

int pl__srv_param_sort(struct srv_req *q, struct srv_resp *r, const char *const *names,
                       int *sort_by, int *desc) {
  *sort_by = -1;
  *desc = 0;
  const char *b = pl__srv_param(q, "sortBy");
  const char *o = pl__srv_param(q, "sortOrder");
  if (b) {
    for (int i = 0; names && names[i]; i++)
      if (strcmp(names[i], b) == 0) *sort_by = i;
    if (*sort_by < 0) {
      char list[512];
      size_t n = 0;
      list[0] = 0;
      for (int i = 0; names && names[i]; i++) {
        int k = snprintf(list + n, sizeof list - n, "%s%s", i ? ", " : "", names[i]);
        if (k < 0 || (size_t)k >= sizeof list - n) break;
        n += (size_t)k;
      }
      pl__srv_resp_error(r, 400, "invalid 'sortBy': '%s' (expected one of %s)", b, list);
      return -1;
    }
  }
  if (o) {
    if (strcmp(o, "asc") == 0) {
      *desc = 0;
    } else if (strcmp(o, "desc") == 0) {
      *desc = 1;
    } else {
      pl__srv_resp_error(r, 400, "invalid 'sortOrder': expected asc or desc, got '%s'", o);
      return -1;
    }
  }
  return 0;
}

void pl__srv_param_device(struct srv_req *q, const char **id, const char **name) {
  *id = pl__srv_param(q, "deviceId");
  if (!*id) *id = pl__srv_param(q, "device.id");
  *name = pl__srv_param(q, "deviceName");
  if (!*name) *name = pl__srv_param(q, "device.name");
}

/* ------------------------------------------------------------- JSON bodies */

int pl__srv_body_allow(struct srv_req *q, struct srv_resp *r, const char *const *names) {
  if (!q->body || !json_object_is_type(q->body, json_type_object)) {
    pl__srv_resp_error(r, 400, "the request body must be a JSON object");
    return 0;
  }
  json_object_object_foreach(q->body, k, v) {
    (void)v;
    int ok = 0;
    for (const char *const *n = names; *n; n++)
      if (strcmp(*n, k) == 0) ok = 1;
    if (!ok) {
      pl__srv_resp_error(r, 400, "unknown field '%s' in the request body", k);
      return 0;
    }
  }
  return 1;
}

int pl__srv_body_str(struct srv_req *q, struct srv_resp *r, const char *name, const char **v) {
  *v = NULL;
  json_object *o = NULL;
  if (!json_object_object_get_ex(q->body, name, &o) || !o) return 1; /* absent or null */
  if (!json_object_is_type(o, json_type_string)) {
    pl__srv_resp_error(r, 400, "field '%s' must be a string", name);
    return -1;
  }
  const char *s = json_object_get_string(o);
  if ((size_t)json_object_get_string_len(o) != strlen(s)) {
    pl__srv_resp_error(r, 400, "field '%s' contains a NUL character", name);
    return -1;
  }
  *v = s;
  return 1;
}

int pl__srv_body_bool(struct srv_req *q, struct srv_resp *r, const char *name, int *v) {
  json_object *o = NULL;
  if (!json_object_object_get_ex(q->body, name, &o) || !o) return 1;
  if (!json_object_is_type(o, json_type_boolean)) {
    pl__srv_resp_error(r, 400, "field '%s' must be true or false", name);
    return -1;
  }
  *v = json_object_get_boolean(o) ? 1 : 0;
  return 1;
}

int pl__srv_body_time(struct srv_req *q, struct srv_resp *r, const char *name, int *has,
                      uint64_t *ns) {
  const char *s;
  *has = 0;
  if (pl__srv_body_str(q, r, name, &s) < 0) return -1;
  if (!s) return 1;
  if (pl_parse_time(s, ns) != PL_OK) {
    pl__srv_resp_error(r, 400,
                       "invalid '%s': '%s' is not an RFC 3339 / ISO 8601 time "
                       "(e.g. 2024-01-02T03:04:05.123456789Z)",
                       name, s);
    return -1;
  }
  *has = 1;
  return 1;
}
