/*
 * events.c - pl_events_add: events made from a recording (one per message of a
 * topic, or one per doctor finding) and created on the API once.
 *
 * 1. The file is read and every event planned in memory (start, end, metadata,
 *    and the idempotency key PL_EVENTS_KEY: an XXH3-128 of what the event is
 *    made from: topic, log and publish time, sequence and bytes of the message;
 *    or the finding with the file's size and span), at most max_events of them,
 *    before anything is sent: a file that cannot be read whole creates nothing.
 * 2. The device's events that carry a key are listed (query "KEY:*", every page).
 * 3. The planned events whose key is not there are created in file order. A run
 *    stopped half-way (network, Ctrl-C) is finished by running it again.
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mcap/mcap.h"
#include "pipeline/core.h"
#include "pipeline/decode.h"
#include "pipeline/doctor.h"
#include "pipeline/events.h"

#define DEFAULT_MAX_EVENTS 10000
#define MAX_VALUE 1024   /* bytes of one metadata value made from a field */
#define MAX_ENTRIES 100  /* metadata entries of one event (the API's local limit) */

struct planned {
  uint64_t start, end;
  pl_kv *md;
  size_t n_md;
  char key[33];
};

struct plan {
  struct planned *ev;
  size_t n, cap;
};

static void plan_dispose(struct plan *p) {
  for (size_t i = 0; i < p->n; i++) {
    for (size_t k = 0; k < p->ev[i].n_md; k++) {
      free(p->ev[i].md[k].key);
      free(p->ev[i].md[k].value);
    }
    free(p->ev[i].md);
  }
  free(p->ev);
  memset(p, 0, sizeof *p);
}

/* Set key=value (copies; a later value for the same key replaces the earlier). -1 on ENOMEM. */
static int md_set(struct planned *e, const char *key, const char *value, size_t vlen) {
  for (size_t i = 0; i < e->n_md; i++)
    if (strcmp(e->md[i].key, key) == 0) {
      char *v = malloc(vlen + 1);
      if (!v) return -1;
      memcpy(v, value, vlen);
      v[vlen] = 0;
      free(e->md[i].value);
      e->md[i].value = v;
      return 0;
    }
  if (e->n_md >= MAX_ENTRIES) return 0; /* the rest is left out */
  pl_kv *g = realloc(e->md, (e->n_md + 1) * sizeof *g);
  if (!g) return -1;
  e->md = g;
  char *k = pl_strdup(key), *v = malloc(vlen + 1);
  if (!k || !v) {
    free(k);
    free(v);
    return -1;
  }
  memcpy(v, value, vlen);
  v[vlen] = 0;
  e->md[e->n_md].key = k;
  e->md[e->n_md].value = v;
  e->n_md++;
  return 0;
}

static struct planned *plan_new(struct plan *p, uint64_t max, pl_error_info *err) {
  if (p->n >= max) {
    pl_error_set(err, PL_EINVAL, UINT64_MAX,
                 "the file gives more than %llu events (raise the limit to make them all)",
                 (unsigned long long)max);
    return NULL;
  }
  if (p->n == p->cap) {
    size_t cap = p->cap ? 2 * p->cap : 64;
    struct planned *g = realloc(p->ev, cap * sizeof *g);
    if (!g) {
      pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
      return NULL;
    }
    p->ev = g;
    p->cap = cap;
  }
  struct planned *e = &p->ev[p->n++];
  memset(e, 0, sizeof *e);
  return e;
}

/* Cut at most `max` bytes without splitting a UTF-8 sequence. */
static size_t utf8_cut(const char *s, size_t len, size_t max) {
  if (len <= max) return len;
  size_t n = max;
  while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80) n--;
  return n;
}

/* ------------------------------------------------------------- values */

static const pl_value *value_at_path(const pl_value *root, const char *path) {
  char part[256];
  const pl_value *v = root;
  const char *p = path;
  while (v && *p) {
    const char *dot = strchr(p, '.');
    size_t n = dot ? (size_t)(dot - p) : strlen(p);
    if (n == 0 || n >= sizeof part) return NULL;
    memcpy(part, p, n);
    part[n] = 0;
    v = pl_value_member(v, part);
    p = dot ? dot + 1 : p + n;
  }
  return v;
}

/* A value as metadata text: strings unescaped, the rest compact JSON. malloc'd or NULL. */
static char *value_text(const pl_value *v, size_t *len) {
  pl_text t = PL_TEXT_INIT;
  if (pl_decode_json_value(v, NULL, &t) != PL_DECODE_OK) {
    pl_text_dispose(&t);
    return NULL;
  }
  char *out = NULL;
  if (t.len && t.data[0] == '"') {
    json_tokener *tok = json_tokener_new();
    json_object *o = tok && t.len < (size_t)INT32_MAX ? json_tokener_parse_ex(tok, t.data, (int)t.len)
                                                      : NULL;
    if (o && json_object_is_type(o, json_type_string)) {
      *len = (size_t)json_object_get_string_len(o);
      out = malloc(*len + 1);
      if (out) memcpy(out, json_object_get_string(o), *len + 1);
    }
    json_object_put(o);
    json_tokener_free(tok);
  }
  if (!out) {
    out = malloc(t.len + 1);
    if (out) {
      memcpy(out, t.data ? t.data : "", t.len);
      out[t.len] = 0;
      *len = t.len;
    }
  }
  pl_text_dispose(&t);
  /* metadata values are strings without NUL */
  if (out && memchr(out, 0, *len)) *len = strlen(out);
  return out;
}

static int parse_decimal_seconds(const char *s, size_t n, uint64_t *ns) {
  char buf[64];
  if (n == 0 || n >= sizeof buf) return -1;
  memcpy(buf, s, n);
  buf[n] = 0;
  int is_int = 1;
  for (size_t i = 0; i < n; i++)
    if (buf[i] < '0' || buf[i] > '9') is_int = 0;
  if (is_int) {
    char *end = NULL;
    unsigned long long v = strtoull(buf, &end, 10);
    if (*end) return -1;
    *ns = v;
    return 0;
  }
  char *end = NULL;
  double d = strtod(buf, &end);
  if (*end || !(d >= 0) || d > 1.8e10) return -1;
  *ns = (uint64_t)(d * 1e9 + 0.5);
  return 0;
}

static int num_of(const pl_value *v, uint64_t *out) {
  switch (v->kind) {
    case PL_VALUE_INT:
    case PL_VALUE_ENUM:
      if (v->v.i < 0) return -1;
      *out = (uint64_t)v->v.i;
      return 0;
    case PL_VALUE_UINT: *out = v->v.u; return 0;
    case PL_VALUE_NUMBER: {
      for (uint32_t i = 0; i < v->count; i++)
        if (v->v.str[i] < '0' || v->v.str[i] > '9') return -1;
      return parse_decimal_seconds(v->v.str, v->count, out);
    }
    default: return -1;
  }
}

/* A time from a field: see pl_events_options. 0, or -1 when it is not a time. */
static int value_time(const pl_value *v, uint64_t *ns) {
  switch (v->kind) {
    case PL_VALUE_INT:
    case PL_VALUE_UINT:
      return num_of(v, ns);
    case PL_VALUE_FLOAT32:
    case PL_VALUE_FLOAT64: {
      double d = v->kind == PL_VALUE_FLOAT32 ? v->v.f32 : v->v.f64;
      if (!(d >= 0) || d > 1.8e10) return -1;
      *ns = (uint64_t)(d * 1e9 + 0.5);
      return 0;
    }
    case PL_VALUE_NUMBER: /* JSON: digits are nanoseconds, a decimal is seconds */
      return parse_decimal_seconds(v->v.str, v->count, ns);
    case PL_VALUE_STRING: {
      char buf[64];
      if (v->count == 0 || v->count >= sizeof buf) return -1;
      memcpy(buf, v->v.str, v->count);
      buf[v->count] = 0;
      return pl_parse_time(buf, ns) == PL_OK ? 0 : -1;
    }
    case PL_VALUE_STRUCT: {
      /* ROS 2 {sec, nanosec}, ROS 1 {secs, nsecs}, {sec, nsec}, protobuf {seconds, nanos} */
      static const char *const secs[] = {"sec", "secs", "seconds"};
      static const char *const nsecs[] = {"nanosec", "nsec", "nsecs", "nanos"};
      const pl_value *s = NULL, *n = NULL;
      for (size_t i = 0; !s && i < 3; i++) s = pl_value_member(v, secs[i]);
      for (size_t i = 0; !n && i < 4; i++) n = pl_value_member(v, nsecs[i]);
      uint64_t sec = 0, nsec = 0;
      if (!s || !n || num_of(s, &sec) != 0 || num_of(n, &nsec) != 0 || sec > 18000000000ull ||
          nsec >= 1000000000ull)
        return -1;
      *ns = sec * 1000000000ull + nsec;
      return 0;
    }
    default: return -1;
  }
}

/* ------------------------------------------------------------- from a topic */

struct chan_dec {
  uint16_t id;
  pl_decoder *d;
};

static int is_scalar(const pl_value *v) {
  return v->kind != PL_VALUE_STRUCT && v->kind != PL_VALUE_ARRAY && v->kind != PL_VALUE_NULL;
}

static int add_field(struct planned *e, const char *key, const pl_value *v) {
  size_t len = 0;
  char *text = value_text(v, &len);
  if (!text) return -1;
  int rc = md_set(e, key, text, utf8_cut(text, len, MAX_VALUE));
  free(text);
  return rc;
}

static int plan_message(const pl_events_options *o, struct plan *p, const mcap_message_view *mv,
                        const pl_value *root, uint64_t max, pl_error_info *err) {
  char when[40];
  pl_format_time(mv->message.log_time, when);
  uint64_t start = mv->message.log_time, end;
  if (o->start_field) {
    const pl_value *v = value_at_path(root, o->start_field);
    if (!v || value_time(v, &start) != 0)
      return pl_error_set(err, PL_EINVAL, UINT64_MAX,
                          "topic '%s', message at %s: field '%s' is %s, not a time", o->topic, when,
                          o->start_field, v ? pl_value_kind_name(v->kind) : "missing");
  }
  end = start;
  if (o->end_field) {
    const pl_value *v = value_at_path(root, o->end_field);
    if (!v || value_time(v, &end) != 0)
      return pl_error_set(err, PL_EINVAL, UINT64_MAX,
                          "topic '%s', message at %s: field '%s' is %s, not a time", o->topic, when,
                          o->end_field, v ? pl_value_kind_name(v->kind) : "missing");
  }
  if (end < start)
    return pl_error_set(err, PL_EINVAL, UINT64_MAX,
                        "topic '%s', message at %s: the end is before the start", o->topic, when);
  struct planned *e = plan_new(p, max, err);
  if (!e) return err ? err->code : PL_EINVAL;
  e->start = start;
  e->end = end;
  int oom = md_set(e, "topic", o->topic, strlen(o->topic)) != 0;
  if (o->n_fields) {
    for (size_t i = 0; !oom && i < o->n_fields; i++) {
      const pl_value *v = value_at_path(root, o->fields[i]);
      if (v && v->kind != PL_VALUE_NULL) oom = add_field(e, o->fields[i], v) != 0;
    }
  } else if (root->kind == PL_VALUE_STRUCT) {
    for (uint32_t i = 0; !oom && i < root->count; i++) {
      const pl_value *v = &root->v.items[i];
      if (!is_scalar(v)) continue;
      char name[256];
      uint32_t n = root->names[i].len;
      if (n == 0 || n >= sizeof name) continue;
      memcpy(name, root->names[i].data, n);
      name[n] = 0;
      if (memchr(name, 0, n) || strcmp(name, PL_EVENTS_KEY) == 0) continue;
      oom = add_field(e, name, v) != 0;
    }
  }
  for (size_t i = 0; !oom && i < o->n_extra; i++)
    oom = md_set(e, o->extra[i].key, o->extra[i].value, strlen(o->extra[i].value)) != 0;
  pl_hash *hs = pl_hash_new();
  if (!hs) oom = 1;
  if (hs) {
    pl_hash_update(hs, "topic", 6);
    pl_hash_update(hs, o->topic, strlen(o->topic) + 1);
    pl_hash_u64(hs, mv->message.log_time);
    pl_hash_u64(hs, mv->message.publish_time);
    pl_hash_u64(hs, mv->message.sequence);
    pl_hash_u64(hs, mv->message.data.len);
    pl_hash_update(hs, mv->message.data.data, (size_t)mv->message.data.len);
    pl_hash_hex(hs, e->key);
    pl_hash_free(hs);
  }
  if (!oom) oom = md_set(e, PL_EVENTS_KEY, e->key, strlen(e->key)) != 0;
  if (oom) return pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
  return PL_OK;
}

/* An error about the file: the library's message when it names the file, else "'PATH': msg". */
static int file_err(pl_error_info *err, int code, uint64_t offset, const char *path,
                    const char *msg) {
  if (strstr(msg, path)) return pl_error_set(err, code, offset, "%s", msg);
  return pl_error_set(err, code, offset, "'%s': %s", path, msg);
}

/* Events from part of a file would be created once and never completed (their keys would
 * then exist): a damaged file is refused. PL_OK when the reader met no damage. */
static int damaged(const mcap_reader *r, const char *path, pl_error_info *err) {
  mcap_damage d;
  mcap_reader_damage(r, &d);
  if (!d.problems && !d.rest_unread) return PL_OK;
  uint64_t at = d.rest_unread ? d.stop_offset : d.first_offset;
  return pl_error_set(
      err, PL_EPARTIAL, at,
      "'%s' is damaged (at offset %llu): repair it with 'mcapkit recover' first, or "
      "make events of its problems with --from-doctor",
      path, (unsigned long long)at);
}

static int plan_topic(const char *path, const pl_events_options *o, struct plan *p, uint64_t max,
                      pl_error_info *err) {
  mcap_source src;
  mcap_error_info me;
  memset(&me, 0, sizeof me);
  if (mcap_source_open_file(&src, path, &me) != MCAP_OK)
    return file_err(err, PL_EIO, UINT64_MAX, path, me.msg);
  mcap_reader *r = NULL;
  if (mcap_reader_open(&r, &src, NULL, &me) != MCAP_OK)
    return file_err(err, PL_EMCAP, me.offset, path, me.msg);
  mcap_query q;
  memset(&q, 0, sizeof q);
  q.topics = &o->topic;
  q.n_topics = 1;
  q.order = MCAP_ORDER_LOG_TIME;
  mcap_message_iter *it = NULL;
  struct chan_dec decs[16];
  size_t n_decs = 0;
  int rc = PL_OK, found_channel = 0;
  for (size_t i = 0; i < mcap_reader_channel_count(r); i++) {
    const mcap_channel *c = mcap_reader_channel_at(r, i);
    if (c->topic.len == strlen(o->topic) && memcmp(c->topic.data, o->topic, c->topic.len) == 0)
      found_channel = 1;
  }
  if (!found_channel) {
    rc = damaged(r, path, err);
    if (rc == PL_OK)
      rc = pl_error_set(err, PL_EINVAL, UINT64_MAX, "'%s' has no topic '%s'", path, o->topic);
    goto out;
  }
  if (mcap_reader_query(r, &q, &it) != MCAP_OK) {
    rc = file_err(err, PL_EMCAP, UINT64_MAX, path, mcap_reader_errmsg(r));
    goto out;
  }
  mcap_message_view mv;
  int mrc;
  while ((mrc = mcap_message_iter_next(it, &mv)) == MCAP_OK) {
    pl_decoder *d = NULL;
    for (size_t i = 0; i < n_decs; i++)
      if (decs[i].id == mv.channel->id) d = decs[i].d;
    if (!d) {
      if (n_decs == sizeof decs / sizeof decs[0]) {
        rc = pl_error_set(err, PL_EINVAL, UINT64_MAX, "topic '%s' has more than %zu channels",
                          o->topic, sizeof decs / sizeof decs[0]);
        goto out;
      }
      pl_decoder_spec spec;
      pl_decoder_spec_from(&spec, mv.channel, mv.schema);
      pl_decode_error_info de;
      memset(&de, 0, sizeof de);
      if (pl_decoder_create(&d, &spec, NULL, &de) != PL_DECODE_OK) {
        rc = pl_error_set(err, PL_EINVAL, UINT64_MAX, "%s", de.msg);
        goto out;
      }
      decs[n_decs].id = mv.channel->id;
      decs[n_decs++].d = d;
    }
    const pl_value *root = NULL;
    if (pl_decoder_decode(d, &mv.message, &root) != PL_DECODE_OK) {
      rc = pl_error_set(err, PL_EINVAL, UINT64_MAX, "%s", pl_decoder_errmsg(d));
      goto out;
    }
    rc = plan_message(o, p, &mv, root, max, err);
    if (rc != PL_OK) goto out;
  }
  if (mrc != MCAP_ITEROVER) {
    rc = file_err(err, PL_EMCAP, UINT64_MAX, path, mcap_reader_errmsg(r));
    goto out;
  }
  rc = damaged(r, path, err);
out:
  mcap_message_iter_free(it);
  for (size_t i = 0; i < n_decs; i++) pl_decoder_free(decs[i].d);
  mcap_reader_free(r);
  return rc;
}

/* ------------------------------------------------------------- from the doctor */

static int plan_doctor(const char *path, const pl_events_options *o, struct plan *p, uint64_t max,
                       pl_error_info *err) {
  struct stat sb;
  if (stat(path, &sb) != 0) return pl_error_set_errno(err, errno, "cannot stat '%s'", path);
  uint64_t start = (uint64_t)sb.st_mtim.tv_sec * 1000000000ull + (uint64_t)sb.st_mtim.tv_nsec;
  uint64_t end = start;
  /* the span of the file's messages, when a reader can tell */
  mcap_source src;
  mcap_error_info me;
  mcap_reader *r = NULL;
  if (mcap_source_open_file(&src, path, &me) == MCAP_OK &&
      mcap_reader_open(&r, &src, NULL, &me) == MCAP_OK) {
    const mcap_statistics *st = mcap_reader_statistics(r, NULL);
    if (st && st->message_count && st->message_end_time >= st->message_start_time) {
      start = st->message_start_time;
      end = st->message_end_time;
    }
  }
  mcap_reader_free(r);
  if (mcap_source_open_file(&src, path, &me) != MCAP_OK)
    return file_err(err, PL_EIO, UINT64_MAX, path, me.msg);
  pl_doctor_report *rep = NULL;
  pl_doctor_options dopt;
  memset(&dopt, 0, sizeof dopt);
  int rc = pl_doctor_run(&src, &dopt, &rep, err);
  if (rc != PL_OK) return rc;
  const char *base = o->name ? o->name : strrchr(path, '/');
  base = o->name ? base : base ? base + 1 : path;
  for (size_t i = 0; rc == PL_OK && i < rep->n_findings; i++) {
    const pl_finding *f = &rep->findings[i];
    struct planned *e = plan_new(p, max, err);
    if (!e) {
      rc = err ? err->code : PL_EINVAL;
      break;
    }
    e->start = start;
    e->end = end;
    char off[32] = "";
    if (f->offset != UINT64_MAX) snprintf(off, sizeof off, "%llu", (unsigned long long)f->offset);
    int oom = md_set(e, "source", "mcapkit doctor", 14) || md_set(e, "file", base, strlen(base)) ||
              md_set(e, "code", f->code, strlen(f->code)) ||
              md_set(e, "severity", pl_severity_name(f->severity),
                     strlen(pl_severity_name(f->severity))) ||
              md_set(e, "message", f->message, strlen(f->message)) ||
              (off[0] && md_set(e, "offset", off, strlen(off)));
    for (size_t k = 0; !oom && k < o->n_extra; k++)
      oom = md_set(e, o->extra[k].key, o->extra[k].value, strlen(o->extra[k].value)) != 0;
    pl_hash *hs = pl_hash_new();
    if (!hs) oom = 1;
    if (hs) {
      pl_hash_update(hs, "doctor", 7);
      pl_hash_u64(hs, (uint64_t)sb.st_size);
      pl_hash_u64(hs, start);
      pl_hash_u64(hs, end);
      pl_hash_update(hs, f->code, strlen(f->code) + 1);
      pl_hash_u64(hs, f->offset);
      pl_hash_update(hs, f->message, strlen(f->message) + 1);
      pl_hash_hex(hs, e->key);
      pl_hash_free(hs);
    }
    if (!oom) oom = md_set(e, PL_EVENTS_KEY, e->key, strlen(e->key)) != 0;
    if (oom) rc = pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
  }
  pl_doctor_report_free(rep);
  return rc;
}

/* ------------------------------------------------------------- the API side */

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Export the recording `key_or_id` (only `topic` when given) to a new temporary file:
 * its path in *tmp (malloc'd; the caller removes and frees it) and the recording's
 * device id in *device (malloc'd, NULL when it has none). */
static int fetch_recording(pl_http *h, const char *key_or_id, const char *topic, char **tmp,
                           char **device, pl_error_info *err) {
  *tmp = NULL;
  *device = NULL;
  pl_api_recording *rec = NULL;
  int rc = pl_api_get_recording(h, key_or_id, &rec, err);
  if (rc != PL_OK) {
    pl_api_recording_free(rec);
    return rc;
  }
  if (rec->device_id) *device = pl_strdup(rec->device_id);
  const char *dir = getenv("TMPDIR");
  size_t n = strlen(dir && *dir ? dir : "/tmp") + 40;
  char *path = malloc(n);
  if (!path || (rec->device_id && !*device)) {
    free(path);
    pl_api_recording_free(rec);
    return pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
  }
  snprintf(path, n, "%s/mcapkit-events-XXXXXX", dir && *dir ? dir : "/tmp");
  int fd = mkstemp(path);
  if (fd < 0) {
    rc = pl_error_set_errno(err, errno, "cannot create a temporary file in '%s'",
                            dir && *dir ? dir : "/tmp");
    free(path);
    pl_api_recording_free(rec);
    return rc;
  }
  close(fd);
  *tmp = path;
  pl_export_options eo;
  memset(&eo, 0, sizeof eo);
  eo.recording = rec->id ? rec->id : key_or_id;
  eo.topics = topic ? &topic : NULL;
  eo.n_topics = topic ? 1 : 0;
  eo.out_path = path;
  pl_export_result er;
  memset(&er, 0, sizeof er);
  rc = pl_export_run(h, &eo, &er, err);
  pl_export_result_dispose(&er);
  pl_api_recording_free(rec);
  return rc;
}

int pl_events_add(pl_http *h, const char *path, const pl_events_options *o,
                  pl_events_result *res, pl_error_info *err) {
  memset(res, 0, sizeof *res);
  if (!path || !o || (!o->topic == !o->from_doctor))
    return pl_error_set(err, PL_EINVAL, UINT64_MAX, "give a topic or the doctor as the source");
  if (!o->device_id && !o->device_name && !o->recording && o->device_of) {
    /* the device of a recording on the API (its import made or named it) */
    pl_api_recording *rec = NULL;
    int rc = pl_api_get_recording(h, o->device_of, &rec, err);
    if (rc == PL_OK && (!rec->device_id || !rec->device_id[0]))
      rc = pl_error_set(err, PL_EINVAL, UINT64_MAX, "recording '%s' has no device: give one",
                        o->device_of);
    if (rc == PL_OK) {
      pl_events_options local = *o;
      local.device_of = NULL;
      local.device_id = rec->device_id;
      rc = pl_events_add(h, path, &local, res, err);
    }
    pl_api_recording_free(rec);
    return rc;
  }
  if (!o->device_id && !o->device_name && !o->recording)
    return pl_error_set(err, PL_EINVAL, UINT64_MAX, "events need a device (a name or an id)");
  if (o->recording) {
    char *tmp = NULL, *device = NULL;
    int rc = fetch_recording(h, path, o->topic, &tmp, &device, err);
    if (rc == PL_OK && !o->device_id && !o->device_name && !device)
      rc = pl_error_set(err, PL_EINVAL, UINT64_MAX, "recording '%s' has no device: give one", path);
    if (rc == PL_OK) {
      pl_events_options local = *o;
      local.recording = 0;
      if (!local.device_id && !local.device_name) local.device_id = device;
      if (!local.name) local.name = path;
      rc = pl_events_add(h, tmp, &local, res, err);
    }
    if (tmp) unlink(tmp);
    free(tmp);
    free(device);
    return rc;
  }
  for (size_t i = 0; i < o->n_extra; i++)
    if (!o->extra[i].key || !o->extra[i].key[0] || !o->extra[i].value)
      return pl_error_set(err, PL_EINVAL, UINT64_MAX, "an extra metadata entry has no key");
  uint64_t max = o->max_events ? o->max_events : DEFAULT_MAX_EVENTS;
  struct plan p;
  memset(&p, 0, sizeof p);
  char **have = NULL;
  size_t n_have = 0;
  pl_api_event *ev = NULL;
  size_t n_ev = 0;
  int rc = o->topic ? plan_topic(path, o, &p, max, err) : plan_doctor(path, o, &p, max, err);
  if (rc != PL_OK) goto out;
  res->found = p.n;
  /* the keys the device's events have */
  pl_param q[2] = {{o->device_id ? "deviceId" : "deviceName",
                    o->device_id ? o->device_id : o->device_name},
                   {"query", PL_EVENTS_KEY ":*"}};
  rc = pl_api_list_events(h, q, 2, 0, &ev, &n_ev, err);
  if (rc != PL_OK) goto out;
  have = calloc(n_ev ? n_ev : 1, sizeof *have);
  if (!have) {
    rc = pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
    goto out;
  }
  for (size_t i = 0; i < n_ev; i++)
    for (size_t k = 0; k < ev[i].n_metadata; k++)
      if (strcmp(ev[i].metadata[k].key, PL_EVENTS_KEY) == 0) have[n_have++] = ev[i].metadata[k].value;
  qsort(have, n_have, sizeof *have, cmp_str);
  for (size_t i = 0; i < p.n; i++) {
    const char *k = p.ev[i].key;
    if (bsearch(&k, have, n_have, sizeof *have, cmp_str)) {
      res->existing++;
      continue;
    }
    if (o->dry_run) continue;
    pl_api_event_fields f;
    memset(&f, 0, sizeof f);
    f.device_id = o->device_id;
    f.device_name = o->device_id ? NULL : o->device_name;
    f.has_start = f.has_end = 1;
    f.start = p.ev[i].start;
    f.end = p.ev[i].end;
    f.has_metadata = 1;
    f.metadata = p.ev[i].md;
    f.n_metadata = p.ev[i].n_md;
    rc = pl_api_create_event(h, &f, NULL, err);
    if (rc != PL_OK) goto out;
    res->created++;
  }
out:
  free(have);
  pl_api_events_free(ev, n_ev);
  plan_dispose(&p);
  return rc;
}
