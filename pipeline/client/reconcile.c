/*
 * reconcile.c - pl_reconcile(): prove that the platform holds what was sent,
 * by comparing a local recording index (pl_index_file) with the remote
 * recording and its attachments, topics, coverage and lake files, and
 * listing every difference with both values.
 *
 * Matching rules (the API gives no shared ids, so items are paired by what
 * identifies them on both sides):
 * - metadata records by name and content (a multiset: duplicates count);
 * - attachments by (name, log time, create time); then media type, CRC, size
 *   and, when both fingerprints look like the same hash (same length, hex),
 *   the fingerprint;
 * - topics first by equal (topic, encoding, schema name, schema encoding,
 *   schema bytes), then leftovers by topic name, field by field; the topic
 *   version is opaque and not compared;
 * - coverage ranges in order, exactly (ns), asked for with the index's own
 *   tolerance over the recording's time range;
 * - lake files (self-hosted sites only): every local topic in exactly one
 *   file, no file with a topic the recording does not have. Paths are opaque.
 *   A site that refuses the lake-files request, or lists no file at all for
 *   a recording with topics, is taken as not self-hosted (not checked).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "client_internal.h"
#include "pipeline/core.h"

int pl__diff_add(pl_diff **d, size_t *n, size_t *cap, const char *what, const char *local,
                 const char *remote) {
  if (pl_grow((void **)d, cap, *n + 1, sizeof **d) != 0) return PL_ENOMEM;
  pl_diff *x = &(*d)[*n];
  x->what = pl_strdup(what);
  x->local = pl_strdup(local ? local : "(none)");
  x->remote = pl_strdup(remote ? remote : "(none)");
  if (!x->what || !x->local || !x->remote) {
    free(x->what);
    free(x->local);
    free(x->remote);
    return PL_ENOMEM;
  }
  (*n)++;
  return PL_OK;
}

void pl_diffs_free(pl_diff *d, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(d[i].what);
    free(d[i].local);
    free(d[i].remote);
  }
  free(d);
}

void pl_reconcile_report_free(pl_reconcile_report *r) {
  if (!r) return;
  free(r->recording_id);
  free(r->recording_key);
  free(r->import_status);
  pl_diffs_free(r->diffs, r->n_diffs);
  free(r);
}

struct rc_ctx {
  pl_reconcile_report *r;
  size_t cap;
  int oom;
};

static void diff(struct rc_ctx *c, const char *local, const char *remote, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void diff(struct rc_ctx *c, const char *local, const char *remote, const char *fmt, ...) {
  char what[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  if (pl__diff_add(&c->r->diffs, &c->r->n_diffs, &c->cap, what, local, remote) != PL_OK) c->oom = 1;
}

static const char *tm(uint64_t ns, char buf[40]) {
  pl_format_time(ns, buf);
  return buf;
}

static int str_eq(const char *a, const char *b) {
  return strcmp(a ? a : "", b ? b : "") == 0;
}

/* ------------------------------------------------------------- metadata */

/* "name {k=v, k2=v2}" with sorted entries; malloc'd. */
static int cmp_kv(const void *a, const void *b) {
  const pl_kv *x = a, *y = b;
  int c = strcmp(x->key ? x->key : "", y->key ? y->key : "");
  return c ? c : strcmp(x->value ? x->value : "", y->value ? y->value : "");
}

static char *metadata_text(const pl_metadata_info *m) {
  pl_kv *sorted = malloc((m->n_entries ? m->n_entries : 1) * sizeof *sorted);
  if (!sorted) return NULL;
  if (m->n_entries) memcpy(sorted, m->entries, m->n_entries * sizeof *sorted);
  qsort(sorted, m->n_entries, sizeof *sorted, cmp_kv);
  struct pl_buf b = {0};
  int ok = pl_buf_append(&b, "{", 1) == 0;
  for (size_t i = 0; ok && i < m->n_entries; i++) {
    const char *k = sorted[i].key ? sorted[i].key : "", *v = sorted[i].value ? sorted[i].value : "";
    ok = (i == 0 || pl_buf_append(&b, ", ", 2) == 0) && pl_buf_append(&b, k, strlen(k)) == 0 &&
         pl_buf_append(&b, "=", 1) == 0 && pl_buf_append(&b, v, strlen(v)) == 0;
  }
  ok = ok && pl_buf_append(&b, "}", 2) == 0;
  free(sorted);
  if (!ok) {
    pl_buf_dispose(&b);
    return NULL;
  }
  return (char *)b.data;
}

static void compare_metadata(struct rc_ctx *c, const pl_recording_index *ix,
                             const pl_api_recording *rec) {
  size_t nl = ix->n_metadata, nr = rec->n_metadata;
  char **lt = calloc(nl ? nl : 1, sizeof *lt), **rt = calloc(nr ? nr : 1, sizeof *rt);
  char *lused = calloc(nl ? nl : 1, 1), *rused = calloc(nr ? nr : 1, 1);
  if (!lt || !rt || !lused || !rused) {
    c->oom = 1;
    goto out;
  }
  for (size_t i = 0; i < nl; i++)
    if (!(lt[i] = metadata_text(&ix->metadata[i]))) c->oom = 1;
  for (size_t i = 0; i < nr; i++)
    if (!(rt[i] = metadata_text(&rec->metadata[i]))) c->oom = 1;
  if (c->oom) goto out;
  /* equal records first */
  for (size_t i = 0; i < nl; i++)
    for (size_t j = 0; j < nr; j++)
      if (!rused[j] && str_eq(ix->metadata[i].name, rec->metadata[j].name) &&
          strcmp(lt[i], rt[j]) == 0) {
        lused[i] = rused[j] = 1;
        break;
      }
  /* then the same name with other content */
  for (size_t i = 0; i < nl; i++) {
    if (lused[i]) continue;
    const char *name = ix->metadata[i].name ? ix->metadata[i].name : "";
    size_t j = 0;
    for (; j < nr; j++)
      if (!rused[j] && str_eq(name, rec->metadata[j].name)) break;
    if (j < nr) {
      rused[j] = 1;
      diff(c, lt[i], rt[j], "metadata '%s'", name);
    } else {
      diff(c, lt[i], "(missing)", "metadata '%s'", name);
    }
  }
  for (size_t j = 0; j < nr; j++)
    if (!rused[j])
      diff(c, "(missing)", rt[j], "metadata '%s'",
           rec->metadata[j].name ? rec->metadata[j].name : "");
out:
  for (size_t i = 0; lt && i < nl; i++) free(lt[i]);
  for (size_t i = 0; rt && i < nr; i++) free(rt[i]);
  free(lt);
  free(rt);
  free(lused);
  free(rused);
}

/* ------------------------------------------------------------- attachments */

static int is_hex(const char *s) {
  if (!s || !*s) return 0;
  for (; *s; s++)
    if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f') || (*s >= 'A' && *s <= 'F')))
      return 0;
  return 1;
}

static int att_same_id(const pl_attachment_info *l, const pl_api_attachment *r) {
  return str_eq(l->name, r->name) && l->log_time == r->log_time && l->create_time == r->create_time;
}

static void compare_attachments(struct rc_ctx *c, const pl_recording_index *ix,
                                const pl_api_list *ra) {
  size_t nl = ix->n_attachments, nr = ra->n;
  char *lused = calloc(nl ? nl : 1, 1), *rused = calloc(nr ? nr : 1, 1);
  if (!lused || !rused) {
    c->oom = 1;
    free(lused);
    free(rused);
    return;
  }
  char t[40], a[64], b[64];
  for (size_t i = 0; i < nl; i++) {
    const pl_attachment_info *l = &ix->attachments[i];
    size_t j = 0;
    for (; j < nr; j++)
      if (!rused[j] && att_same_id(l, &ra->attachments[j])) break;
    tm(l->log_time, t);
    if (j == nr) {
      /* not found by identity: a changed time or name is shown as missing + extra */
      continue;
    }
    const pl_api_attachment *r = &ra->attachments[j];
    lused[i] = rused[j] = 1;
    const char *name = l->name ? l->name : "";
    if (!str_eq(l->media_type, r->media_type))
      diff(c, l->media_type, r->media_type, "attachment '%s' at %s: media type", name, t);
    if (l->crc != r->crc) {
      snprintf(a, sizeof a, "%u", l->crc);
      snprintf(b, sizeof b, "%u", r->crc);
      diff(c, a, b, "attachment '%s' at %s: crc", name, t);
    }
    if (l->size != r->size) {
      snprintf(a, sizeof a, "%llu", (unsigned long long)l->size);
      snprintf(b, sizeof b, "%llu", (unsigned long long)r->size);
      diff(c, a, b, "attachment '%s' at %s: size", name, t);
    }
    /* fingerprints only when both sides evidently use the same hash */
    if (l->fingerprint[0] && r->fingerprint && strlen(l->fingerprint) == strlen(r->fingerprint) &&
        is_hex(l->fingerprint) && is_hex(r->fingerprint) &&
        strcasecmp(l->fingerprint, r->fingerprint) != 0)
      diff(c, l->fingerprint, r->fingerprint, "attachment '%s' at %s: fingerprint", name, t);
  }
  for (size_t i = 0; i < nl; i++)
    if (!lused[i]) {
      const pl_attachment_info *l = &ix->attachments[i];
      snprintf(a, sizeof a, "%llu bytes, crc %u", (unsigned long long)l->size, l->crc);
      diff(c, a, "(missing)", "attachment '%s' at %s", l->name ? l->name : "", tm(l->log_time, t));
    }
  for (size_t j = 0; j < nr; j++)
    if (!rused[j]) {
      const pl_api_attachment *r = &ra->attachments[j];
      snprintf(b, sizeof b, "%llu bytes, crc %u", (unsigned long long)r->size, r->crc);
      diff(c, "(missing)", b, "attachment '%s' at %s", r->name ? r->name : "", tm(r->log_time, t));
    }
  free(lused);
  free(rused);
}

/* ------------------------------------------------------------- topics */

static int schema_eq(const pl_topic *l, const pl_api_topic *r) {
  if (!r->has_schema) return 1; /* not sent: nothing to compare */
  return l->schema_len == r->schema_len &&
         (l->schema_len == 0 || memcmp(l->schema, r->schema, l->schema_len) == 0);
}

static int topic_eq(const pl_topic *l, const pl_api_topic *r) {
  return str_eq(l->topic, r->topic) && str_eq(l->encoding, r->encoding) &&
         str_eq(l->schema_name, r->schema_name) && str_eq(l->schema_encoding, r->schema_encoding) &&
         schema_eq(l, r);
}

static void schema_text(const uint8_t *p, size_t n, char *out, size_t len) {
  snprintf(out, len, "%zu bytes, xxh3 %016llx", n, (unsigned long long)(n ? pl_hash64(p, n) : 0));
}

static void compare_topics(struct rc_ctx *c, const pl_recording_index *ix, const pl_api_list *rt) {
  size_t nl = ix->n_topics, nr = rt->n;
  char *lused = calloc(nl ? nl : 1, 1), *rused = calloc(nr ? nr : 1, 1);
  if (!lused || !rused) {
    c->oom = 1;
    free(lused);
    free(rused);
    return;
  }
  for (size_t i = 0; i < nl; i++)
    for (size_t j = 0; j < nr; j++)
      if (!rused[j] && topic_eq(&ix->topics[i], &rt->topics[j])) {
        lused[i] = rused[j] = 1;
        break;
      }
  char a[96], b[96];
  for (size_t i = 0; i < nl; i++) {
    if (lused[i]) continue;
    const pl_topic *l = &ix->topics[i];
    size_t j = 0;
    for (; j < nr; j++)
      if (!rused[j] && str_eq(l->topic, rt->topics[j].topic)) break;
    if (j == nr) {
      snprintf(a, sizeof a, "%s, schema '%s'", l->encoding ? l->encoding : "",
               l->schema_name ? l->schema_name : "");
      diff(c, a, "(missing)", "topic '%s'", l->topic);
      continue;
    }
    const pl_api_topic *r = &rt->topics[j];
    lused[i] = rused[j] = 1;
    if (!str_eq(l->encoding, r->encoding))
      diff(c, l->encoding, r->encoding, "topic '%s': encoding", l->topic);
    if (!str_eq(l->schema_name, r->schema_name))
      diff(c, l->schema_name, r->schema_name, "topic '%s': schema name", l->topic);
    if (!str_eq(l->schema_encoding, r->schema_encoding))
      diff(c, l->schema_encoding, r->schema_encoding, "topic '%s': schema encoding", l->topic);
    if (!schema_eq(l, r)) {
      schema_text(l->schema, l->schema_len, a, sizeof a);
      schema_text(r->schema, r->schema_len, b, sizeof b);
      diff(c, a, b, "topic '%s': schema", l->topic);
    }
  }
  for (size_t j = 0; j < nr; j++)
    if (!rused[j]) {
      const pl_api_topic *r = &rt->topics[j];
      snprintf(b, sizeof b, "%s, schema '%s'", r->encoding ? r->encoding : "",
               r->schema_name ? r->schema_name : "");
      diff(c, "(missing)", b, "topic '%s'", r->topic);
    }
  free(lused);
  free(rused);
}

/* ------------------------------------------------------------- coverage */

static char *ranges_text(const pl_range *l, size_t nl, const pl_api_coverage *r, size_t nr) {
  size_t n = l ? nl : nr;
  struct pl_buf b = {0};
  char head[32], x[40], y[40];
  int len = snprintf(head, sizeof head, "%zu range%s", n, n == 1 ? "" : "s");
  int ok = pl_buf_append(&b, head, (size_t)len) == 0;
  for (size_t i = 0; ok && i < n && i < 4; i++) {
    uint64_t s = l ? l[i].start : r[i].start, e = l ? l[i].end : r[i].end;
    char piece[100];
    int pl = snprintf(piece, sizeof piece, "%s%s .. %s", i ? ", " : ": ", tm(s, x), tm(e, y));
    ok = pl_buf_append(&b, piece, (size_t)pl) == 0;
  }
  if (ok && n > 4) ok = pl_buf_append(&b, ", ...", 5) == 0;
  if (ok) ok = pl_buf_append(&b, "", 1) == 0;
  if (!ok) {
    pl_buf_dispose(&b);
    return NULL;
  }
  return (char *)b.data;
}

static int cmp_cov(const void *a, const void *b) {
  const pl_api_coverage *x = a, *y = b;
  return x->start < y->start ? -1 : x->start > y->start ? 1 : 0;
}

static void compare_coverage(struct rc_ctx *c, const pl_recording_index *ix, pl_api_list *rc) {
  qsort(rc->coverage, rc->n, sizeof *rc->coverage, cmp_cov);
  int same = ix->n_coverage == rc->n;
  for (size_t i = 0; same && i < rc->n; i++)
    same = ix->coverage[i].start == rc->coverage[i].start &&
           ix->coverage[i].end == rc->coverage[i].end;
  if (same) return;
  char *a = ranges_text(ix->coverage, ix->n_coverage, NULL, 0);
  char *b = ranges_text(NULL, 0, rc->coverage, rc->n);
  if (!a || !b)
    c->oom = 1;
  else
    diff(c, a, b, "coverage (tolerance %.9g s)", (double)ix->tolerance_ns / 1e9);
  free(a);
  free(b);
}

/* ------------------------------------------------------------- lake files */

static void compare_lake(struct rc_ctx *c, const pl_recording_index *ix, const pl_api_list *lf) {
  char buf[64];
  for (size_t i = 0; i < ix->n_topics; i++) {
    const char *topic = ix->topics[i].topic;
    /* a topic with several schemas is still one topic */
    int dup = 0;
    for (size_t k = 0; k < i; k++)
      if (str_eq(ix->topics[k].topic, topic)) dup = 1;
    if (dup) continue;
    size_t files = 0;
    for (size_t j = 0; j < lf->n; j++)
      for (size_t t = 0; t < lf->lake_files[j].n_topics; t++)
        if (str_eq(lf->lake_files[j].topics[t], topic)) files++;
    if (files != 1) {
      snprintf(buf, sizeof buf, "%zu files", files);
      diff(c, "1 file", files ? buf : "(missing)", "lake file of topic '%s'", topic);
    }
  }
  for (size_t j = 0; j < lf->n; j++)
    for (size_t t = 0; t < lf->lake_files[j].n_topics; t++) {
      const char *topic = lf->lake_files[j].topics[t];
      int known = 0;
      for (size_t i = 0; i < ix->n_topics && !known; i++)
        known = str_eq(ix->topics[i].topic, topic);
      if (!known) diff(c, "(missing)", lf->lake_files[j].path, "lake file topic '%s'", topic);
    }
}

/* ------------------------------------------------------------- driver */

int pl_reconcile(pl_http *h, const pl_recording_index *ix, const char *key_or_id,
                 const pl_reconcile_options *o, pl_reconcile_report **out, pl_error_info *err) {
  *out = NULL;
  pl_reconcile_options defaults;
  memset(&defaults, 0, sizeof defaults);
  if (!o) o = &defaults;
  pl_api_recording *rec = NULL;
  int rc = pl_api_get_recording(h, key_or_id, &rec, err);
  if (rc != PL_OK) return rc;
  pl_reconcile_report *r = calloc(1, sizeof *r);
  if (!r) {
    pl_api_recording_free(rec);
    return pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
  }
  struct rc_ctx c = {r, 0, 0};
  r->recording_id = pl_strdup(rec->id);
  r->recording_key = pl_strdup(rec->key);
  r->import_status = pl_strdup(rec->import_status);
  pl_api_list atts = {0}, topics = {0}, cov = {0}, lake = {0};
  char a[64], b[64];

  if (!str_eq(rec->import_status, "complete"))
    diff(&c, "complete", rec->import_status ? rec->import_status : "(none)",
         "recording: import status");
  if (ix->has_messages) {
    if (ix->start != rec->start) diff(&c, tm(ix->start, a), tm(rec->start, b), "recording: start");
    if (ix->end != rec->end) diff(&c, tm(ix->end, a), tm(rec->end, b), "recording: end");
  }
  if (ix->size != rec->size) {
    snprintf(a, sizeof a, "%llu", (unsigned long long)ix->size);
    snprintf(b, sizeof b, "%llu", (unsigned long long)rec->size);
    diff(&c, a, b, "recording: size");
  }
  const char *want_name = o->device_name ? o->device_name : ix->device_name;
  const char *want_id = o->device_id ? o->device_id : (o->device_name ? NULL : ix->device_id);
  if (want_name && !str_eq(want_name, rec->device_name))
    diff(&c, want_name, rec->device_name ? rec->device_name : "(none)", "recording: device name");
  if (want_id && !str_eq(want_id, rec->device_id))
    diff(&c, want_id, rec->device_id ? rec->device_id : "(none)", "recording: device id");
  compare_metadata(&c, ix, rec);
  r->n_metadata = ix->n_metadata;

  pl_param p[6];
  p[0] = (pl_param){"recordingId", rec->id};
  rc = pl_api_list_all(h, PL_API_ATTACHMENTS, p, 1, 0, &atts, err);
  if (rc != PL_OK) goto out;
  compare_attachments(&c, ix, &atts);
  r->n_attachments = atts.n;

  p[1] = (pl_param){"includeSchemas", "true"};
  rc = pl_api_list_all(h, PL_API_TOPICS, p, 2, 0, &topics, err);
  if (rc != PL_OK) goto out;
  compare_topics(&c, ix, &topics);
  r->n_topics = topics.n;

  if (ix->has_messages) {
    char s[40], e[40], tol[40];
    pl_format_time(ix->start, s);
    pl_format_time(ix->end, e);
    snprintf(tol, sizeof tol, "%.9g", (double)ix->tolerance_ns / 1e9);
    p[1] = (pl_param){"start", s};
    p[2] = (pl_param){"end", e};
    p[3] = (pl_param){"tolerance", tol};
    rc = pl_api_list_all(h, PL_API_COVERAGE, p, 4, 0, &cov, err);
    if (rc != PL_OK) goto out;
    compare_coverage(&c, ix, &cov);
    r->n_coverage = cov.n;
  }

  if (!o->no_lake && rec->site_id) {
    p[0] = (pl_param){"siteId", rec->site_id};
    p[1] = (pl_param){"recordingId", rec->id};
    pl_error_info lerr;
    int lrc = pl_api_list_all(h, PL_API_LAKE_FILES, p, 2, 0, &lake, &lerr);
    if (lrc == PL_OK && (lake.n > 0 || ix->n_topics == 0)) {
      r->lake_checked = 1;
      r->n_lake_files = lake.n;
      compare_lake(&c, ix, &lake);
    } else if (lrc == PL_ECANCELED || lrc == PL_ENOMEM || lrc == PL_ENET || lrc == PL_ETIMEOUT) {
      /* a transport problem is an error; a refusal means "not self-hosted" */
      if (err) *err = lerr;
      rc = lrc;
      goto out;
    }
  }
  rc = PL_OK;
out:
  pl_api_list_dispose(&atts);
  pl_api_list_dispose(&topics);
  pl_api_list_dispose(&cov);
  pl_api_list_dispose(&lake);
  pl_api_recording_free(rec);
  if (rc == PL_OK && c.oom) rc = pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
  if (rc != PL_OK) {
    pl_reconcile_report_free(r);
    return rc;
  }
  *out = r;
  return PL_OK;
}
