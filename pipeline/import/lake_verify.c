/*
 * lake_verify.c - pl_lake_verify(): prove that a recording's lake files hold
 * exactly what the original file holds.
 *
 * Both sides are read with the record walker and reduced to the same
 * summary: per topic the message count, payload bytes, first and last log
 * time, an ordered XXH3-128 digest over every message (channel id, sequence,
 * log and publish time, payload) and a digest of the channel and schema
 * definitions; the attachments in order (name, media type, times, size,
 * content fingerprint, CRC when the original has one) and the metadata
 * records in order (name and the map's bytes). Per-topic files keep the
 * original's file order, so the ordered digests of the original's topic
 * streams and of the per-topic files must be equal. Every difference becomes
 * one finding naming the topic and both values.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "import_internal.h"

struct vdef {
  uint16_t id;
  uint64_t h;
};

struct vtopic {
  char *topic;
  uint64_t count, bytes, first, last;
  pl_hash *h;
  struct vdef *defs;
  size_t n_defs, cap_defs;
};

struct vatt {
  char *name, *media_type;
  uint64_t log_time, create_time, size;
  uint32_t crc;
  char fingerprint[33];
};

struct vmeta {
  char *name;
  uint64_t map_hash;
  uint32_t n;
};

struct vside {
  const char *what; /* "original" / "lake" */
  struct vtopic *topics;
  size_t n_topics, cap_topics;
  int32_t *chan_topic;   /* [65536] */
  uint64_t *schema_hash; /* [65536], 0 = unknown */
  struct vatt *atts;
  size_t n_atts, cap_atts;
  struct vmeta *metas;
  size_t n_metas, cap_metas;
  pl_hash *att_hash;
  int expect_topic;        /* lake topic files: only this topic allowed (-1: any) */
  const char *file;        /* the file being read, for messages */
  int no_messages;         /* the recording file: messages not expected */
  uint64_t stray_messages; /* messages in the wrong lake file */
  /* problems met while reading */
  pl_finding **diffs;
  size_t *n_diffs, *cap_diffs;
  pl_severity problem_severity;
};

static void vside_dispose(struct vside *s) {
  for (size_t i = 0; i < s->n_topics; i++) {
    free(s->topics[i].topic);
    pl_hash_free(s->topics[i].h);
    free(s->topics[i].defs);
  }
  free(s->topics);
  free(s->chan_topic);
  free(s->schema_hash);
  for (size_t i = 0; i < s->n_atts; i++) {
    free(s->atts[i].name);
    free(s->atts[i].media_type);
  }
  free(s->atts);
  for (size_t i = 0; i < s->n_metas; i++) free(s->metas[i].name);
  free(s->metas);
  pl_hash_free(s->att_hash);
}

static int vside_init(struct vside *s, const char *what) {
  memset(s, 0, sizeof *s);
  s->what = what;
  s->chan_topic = malloc(65536 * sizeof *s->chan_topic);
  s->schema_hash = calloc(65536, sizeof *s->schema_hash);
  s->att_hash = pl_hash_new();
  if (!s->chan_topic || !s->schema_hash || !s->att_hash) return PL_ENOMEM;
  for (size_t i = 0; i < 65536; i++) s->chan_topic[i] = -1;
  s->expect_topic = -1;
  return PL_OK;
}

static int find_vtopic(struct vside *s, const char *t, size_t len, int create) {
  for (size_t i = 0; i < s->n_topics; i++)
    if (strlen(s->topics[i].topic) == len && memcmp(s->topics[i].topic, t, len) == 0) return (int)i;
  if (!create) return -1;
  if (pl_grow((void **)&s->topics, &s->cap_topics, s->n_topics + 1, sizeof *s->topics)) return -2;
  struct vtopic *v = &s->topics[s->n_topics];
  memset(v, 0, sizeof *v);
  v->topic = malloc(len + 1);
  v->h = pl_hash_new();
  if (!v->topic || !v->h) {
    free(v->topic);
    pl_hash_free(v->h);
    return -2;
  }
  memcpy(v->topic, t, len);
  v->topic[len] = '\0';
  return (int)s->n_topics++;
}

/* 64-bit digest of length-prefixed fields. */
static uint64_t fields_hash(const void *const *p, const uint64_t *n, int k) {
  pl_hash *h = pl_hash_new();
  if (!h) return 0;
  for (int i = 0; i < k; i++) {
    pl_hash_u64(h, n[i]);
    if (n[i]) pl_hash_update(h, p[i], (size_t)n[i]);
  }
  char hex[33];
  pl_hash_hex(h, hex);
  pl_hash_free(h);
  return pl_hash64(hex, 32);
}

static int v_schema(void *ctx, const mcap_schema *sc) {
  struct vside *s = ctx;
  if (s->schema_hash[sc->id]) return PL_OK;
  const void *p[3] = {sc->name.data, sc->encoding.data, sc->data.data};
  uint64_t n[3] = {sc->name.len, sc->encoding.len, sc->data.len};
  s->schema_hash[sc->id] = fields_hash(p, n, 3) | 1; /* never 0 */
  return PL_OK;
}

static int v_problem(void *ctx, pl_severity sev, const char *code, uint64_t offset,
                     const char *msg) {
  struct vside *s = ctx;
  (void)code;
  if (sev != PL_SEV_ERROR) return PL_OK;
  return pl_finding_add(s->diffs, s->n_diffs, s->cap_diffs, s->problem_severity, "lake-unreadable",
                        offset, "%s '%s': %.200s", s->what, s->file, msg);
}

static int v_channel(void *ctx, const mcap_channel *c) {
  struct vside *s = ctx;
  if (s->chan_topic[c->id] >= 0) return PL_OK;
  int t = find_vtopic(s, c->topic.data ? c->topic.data : "", c->topic.len, 1);
  if (t < 0) return PL_ENOMEM;
  if (s->expect_topic >= 0 && t != s->expect_topic) {
    int rc = pl_finding_add(s->diffs, s->n_diffs, s->cap_diffs, PL_SEV_ERROR, "lake-wrong-file",
                            UINT64_MAX, "lake file '%s' has channel %u of topic '%s'", s->file,
                            c->id, s->topics[t].topic);
    if (rc) return rc;
  }
  s->chan_topic[c->id] = t;
  uint64_t sh = c->schema_id ? s->schema_hash[c->schema_id] : 0;
  uint8_t ids[10];
  for (int i = 0; i < 2; i++) ids[i] = (uint8_t)(c->schema_id >> (8 * i));
  for (int i = 0; i < 8; i++) ids[2 + i] = (uint8_t)(sh >> (8 * i));
  const void *p[4] = {ids, c->topic.data, c->message_encoding.data, c->metadata.data};
  uint64_t n[4] = {10, c->topic.len, c->message_encoding.len, c->metadata.len};
  struct vtopic *v = &s->topics[t];
  if (pl_grow((void **)&v->defs, &v->cap_defs, v->n_defs + 1, sizeof *v->defs)) return PL_ENOMEM;
  v->defs[v->n_defs].id = c->id;
  v->defs[v->n_defs].h = fields_hash(p, n, 4);
  v->n_defs++;
  return PL_OK;
}

static int v_message(void *ctx, const mcap_message *m) {
  struct vside *s = ctx;
  int t = s->chan_topic[m->channel_id];
  if (t < 0) return PL_OK; /* undefined channel: belongs to no topic on either side */
  if (s->no_messages || (s->expect_topic >= 0 && t != s->expect_topic)) {
    s->stray_messages++;
    if (s->no_messages) return PL_OK;
  }
  struct vtopic *v = &s->topics[t];
  if (!v->count || m->log_time < v->first) v->first = m->log_time;
  if (!v->count || m->log_time > v->last) v->last = m->log_time;
  v->count++;
  v->bytes += m->data.len;
  uint8_t hdr[2 + 4 + 8 + 8 + 8];
  size_t k = 0;
  for (int i = 0; i < 2; i++) hdr[k++] = (uint8_t)(m->channel_id >> (8 * i));
  for (int i = 0; i < 4; i++) hdr[k++] = (uint8_t)(m->sequence >> (8 * i));
  for (int i = 0; i < 8; i++) hdr[k++] = (uint8_t)(m->log_time >> (8 * i));
  for (int i = 0; i < 8; i++) hdr[k++] = (uint8_t)(m->publish_time >> (8 * i));
  for (int i = 0; i < 8; i++) hdr[k++] = (uint8_t)(m->data.len >> (8 * i));
  pl_hash_update(v->h, hdr, sizeof hdr);
  pl_hash_update(v->h, m->data.data, (size_t)m->data.len);
  return PL_OK;
}

static int v_att_begin(void *ctx, const mcap_attachment *a, uint64_t offset) {
  struct vside *s = ctx;
  (void)offset;
  if (pl_grow((void **)&s->atts, &s->cap_atts, s->n_atts + 1, sizeof *s->atts)) return PL_ENOMEM;
  struct vatt *x = &s->atts[s->n_atts++];
  memset(x, 0, sizeof *x);
  x->name = pl_strview(a->name);
  x->media_type = pl_strview(a->media_type);
  if (!x->name || !x->media_type) return PL_ENOMEM;
  x->log_time = a->log_time;
  x->create_time = a->create_time;
  x->size = a->data.len;
  pl_hash_reset(s->att_hash);
  return PL_OK;
}

static int v_att_data(void *ctx, const uint8_t *p, size_t n) {
  pl_hash_update(((struct vside *)ctx)->att_hash, p, n);
  return PL_OK;
}

static int v_att_end(void *ctx, uint32_t stored, uint32_t computed) {
  struct vside *s = ctx;
  (void)computed;
  struct vatt *x = &s->atts[s->n_atts - 1];
  x->crc = stored;
  pl_hash_hex(s->att_hash, x->fingerprint);
  return PL_OK;
}

static int v_metadata(void *ctx, const mcap_metadata *m, uint64_t offset) {
  struct vside *s = ctx;
  (void)offset;
  if (pl_grow((void **)&s->metas, &s->cap_metas, s->n_metas + 1, sizeof *s->metas))
    return PL_ENOMEM;
  struct vmeta *x = &s->metas[s->n_metas++];
  x->name = pl_strview(m->name);
  if (!x->name) return PL_ENOMEM;
  x->map_hash = pl_hash64(m->metadata.data ? (const void *)m->metadata.data : "", m->metadata.len);
  x->n = mcap_map_str_count(&m->metadata);
  return PL_OK;
}

/* A lake file must also be readable in place: footer, summary and indexes intact. */
static int check_summary(struct vside *s, const char *path) {
  mcap_source src;
  mcap_error_info me;
  memset(&me, 0, sizeof me);
  int rc = mcap_source_open_mmap(&src, path, &me);
  mcap_reader *r = NULL;
  const char *why = "";
  if (rc == MCAP_OK) {
    mcap_indexed_options io;
    memset(&io, 0, sizeof io);
    io.threads = 1;
    rc = mcap_reader_open(&r, &src, &io, &me);
  }
  int ok = rc == MCAP_OK && mcap_reader_index_source(r, &why) == MCAP_INDEX_FROM_SUMMARY;
  char msg[300];
  snprintf(msg, sizeof msg, "%.250s", rc == MCAP_OK ? why : me.msg);
  mcap_reader_free(r);
  if (ok) return PL_OK;
  return pl_finding_add(s->diffs, s->n_diffs, s->cap_diffs, PL_SEV_ERROR, "lake-summary",
                        UINT64_MAX, "lake file '%s' cannot be read by its summary: %s", path, msg);
}

static int walk_side(struct vside *s, const char *path, pl_error_info *err) {
  mcap_source src;
  mcap_error_info me;
  memset(&me, 0, sizeof me);
  if (s->problem_severity == PL_SEV_ERROR) {
    int crc = check_summary(s, path);
    if (crc) return crc;
  }
  int rc = mcap_source_open_file(&src, path, &me);
  if (rc) {
    return pl_finding_add(s->diffs, s->n_diffs, s->cap_diffs, PL_SEV_ERROR, "lake-unreadable",
                          UINT64_MAX, "%s '%s': %.200s", s->what, path, me.msg);
  }
  s->file = path;
  /* ids are unique within a recording, but each file is read on its own */
  for (size_t i = 0; i < 65536; i++) s->chan_topic[i] = -1;
  memset(s->schema_hash, 0, 65536 * sizeof *s->schema_hash);
  pl__walk_cb cb;
  memset(&cb, 0, sizeof cb);
  cb.ctx = s;
  cb.schema = v_schema;
  cb.channel = v_channel;
  cb.message = v_message;
  cb.attachment_begin = v_att_begin;
  cb.attachment_data = v_att_data;
  cb.attachment_end = v_att_end;
  cb.metadata = v_metadata;
  cb.problem = v_problem;
  cb.summary_defs = 1; /* as the lake writer walks the original */
  pl__walk_stats st;
  pl_error_info e;
  memset(&e, 0, sizeof e);
  rc = pl__walk_file(&src, 0, &cb, &st, &e);
  mcap_source_close(&src);
  if (rc == PL_ENOMEM) return pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
  if (rc)
    return pl_finding_add(s->diffs, s->n_diffs, s->cap_diffs, PL_SEV_ERROR, "lake-unreadable",
                          UINT64_MAX, "%s '%s': %.200s", s->what, path, e.msg);
  return PL_OK;
}

static int cmp_def(const void *a, const void *b) {
  const struct vdef *x = a, *y = b;
  return x->id < y->id ? -1 : x->id > y->id;
}

static uint64_t defs_digest(struct vtopic *v) {
  if (v->n_defs) qsort(v->defs, v->n_defs, sizeof *v->defs, cmp_def);
  /* identical repeated definitions count once */
  size_t k = 0;
  for (size_t i = 0; i < v->n_defs; i++)
    if (k == 0 || v->defs[k - 1].id != v->defs[i].id || v->defs[k - 1].h != v->defs[i].h)
      v->defs[k++] = v->defs[i];
  v->n_defs = k;
  /* field by field: the struct has padding */
  uint64_t acc = pl_hash64("", 0);
  for (size_t i = 0; i < k; i++) {
    uint8_t b[18];
    for (int j = 0; j < 8; j++) b[j] = (uint8_t)(acc >> (8 * j));
    for (int j = 0; j < 2; j++) b[8 + j] = (uint8_t)(v->defs[i].id >> (8 * j));
    for (int j = 0; j < 8; j++) b[10 + j] = (uint8_t)(v->defs[i].h >> (8 * j));
    acc = pl_hash64(b, sizeof b);
  }
  return acc;
}

/* Does a lake recording folder hold the recording with this content hash? */
static int dir_matches(const char *dir, const char *hash) {
  size_t n = strlen(dir) + sizeof PL_LAKE_INDEX_JSON + 2;
  char *p = malloc(n), *text = NULL;
  size_t len = 0;
  pl_recording_index *x = NULL;
  int found = 0;
  if (p) {
    snprintf(p, n, "%s/%s", dir, PL_LAKE_INDEX_JSON);
    found = pl__read_small_file(p, (size_t)1 << 30, &text, &len, NULL) == PL_OK &&
            pl_index_from_json(text, len, &x, NULL) == PL_OK && strcmp(x->content_hash, hash) == 0;
  }
  free(p);
  free(text);
  pl_recording_index_free(x);
  return found;
}

/* Find the lake folder of a recording: where pl_lake_write puts it by default, else by hash. */
static int find_recording(const char *lake, const pl_recording_index *ix, char **out,
                          pl_error_info *err) {
  *out = NULL;
  char *rd = pl__lake_recording_dir(ix, NULL, NULL);
  if (!rd) return pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
  size_t n = strlen(lake) + strlen(rd) + 2;
  char *cand = malloc(n);
  if (!cand) {
    free(rd);
    return pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
  }
  snprintf(cand, n, "%s/%s", lake, rd);
  free(rd);
  int found;
  found = dir_matches(cand, ix->content_hash);
  if (found) {
    *out = cand;
    return PL_OK;
  }
  free(cand);
  DIR *d1 = opendir(lake);
  if (!d1) return pl_error_set_errno(err, errno, "cannot open lake '%s'", lake);
  struct dirent *e1;
  while (!*out && (e1 = readdir(d1))) {
    if (e1->d_name[0] == '.' || strcmp(e1->d_name, "tmp") == 0) continue;
    size_t n1 = strlen(lake) + strlen(e1->d_name) + 2;
    char *dev = malloc(n1);
    if (!dev) break;
    snprintf(dev, n1, "%s/%s", lake, e1->d_name);
    DIR *d2 = opendir(dev);
    if (d2) {
      struct dirent *e2;
      while (!*out && (e2 = readdir(d2))) {
        if (e2->d_name[0] == '.') continue;
        size_t n2 = strlen(dev) + strlen(e2->d_name) + 2;
        char *rec = malloc(n2);
        if (!rec) break;
        snprintf(rec, n2, "%s/%s", dev, e2->d_name);
        found = dir_matches(rec, ix->content_hash);
        if (found)
          *out = rec;
        else
          free(rec);
      }
      closedir(d2);
    }
    free(dev);
  }
  closedir(d1);
  if (!*out)
    return pl_error_set(err, PL_ENOTFOUND, UINT64_MAX,
                        "no recording with content hash %s in lake '%s'", ix->content_hash, lake);
  return PL_OK;
}

static void fmt_t(uint64_t ns, char buf[40]) {
  pl_format_time(ns, buf);
}

int pl_lake_verify(const char *lake_dir, const char *mcap_path, pl_finding **diffs, size_t *n_diffs,
                   pl_error_info *err) {
  if (!lake_dir || !mcap_path || !diffs || !n_diffs)
    return pl_error_set(err, PL_EINVAL, UINT64_MAX, "invalid argument");
  *diffs = NULL;
  *n_diffs = 0;
  size_t cap = 0;
  pl_recording_index *ix = NULL;
  char *recdir = NULL, *text = NULL;
  pl_lake_file *files = NULL;
  size_t n_files = 0, len = 0;
  struct vside orig, lake;
  int rc = vside_init(&orig, "original");
  if (rc == PL_OK)
    rc = vside_init(&lake, "lake file");
  else
    memset(&lake, 0, sizeof lake);
  if (rc) {
    rc = pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
    goto out;
  }
  orig.diffs = lake.diffs = diffs;
  orig.n_diffs = lake.n_diffs = n_diffs;
  orig.cap_diffs = lake.cap_diffs = &cap;
  orig.problem_severity = PL_SEV_WARNING; /* a damaged original: we compare what can be read */
  lake.problem_severity = PL_SEV_ERROR;

  pl_index_options io;
  memset(&io, 0, sizeof io);
  io.tolerance_s = -1;
  io.no_doctor = 1;
  io.threads = 1;
  if ((rc = pl_index_file(mcap_path, &io, &ix, err))) goto out;
  if ((rc = find_recording(lake_dir, ix, &recdir, err))) goto out;
  {
    size_t n = strlen(recdir) + sizeof PL_LAKE_JSON + 2;
    char *p = malloc(n);
    if (!p) goto oom;
    snprintf(p, n, "%s/%s", recdir, PL_LAKE_JSON);
    rc = pl__read_small_file(p, (size_t)1 << 30, &text, &len, err);
    free(p);
    if (rc) goto out;
    if ((rc = pl__lake_json_parse(text, len, &files, &n_files, err))) goto out;
  }

  /* the original */
  if ((rc = walk_side(&orig, mcap_path, err))) goto out;
  /* the lake: every topic file, then the recording file */
  for (size_t i = 0; i < n_files; i++) {
    /* lake.json paths are relative to the lake root; the files sit in the recording's folder
     * (only the file name is used, so a crafted lake.json cannot point outside it) */
    const char *base = strrchr(files[i].path, '/');
    base = base ? base + 1 : files[i].path;
    size_t n = strlen(recdir) + strlen(base) + 2;
    char *p = malloc(n);
    if (!p) goto oom;
    snprintf(p, n, "%s/%s", recdir, base);
    lake.expect_topic = -1;
    if (files[i].n_topics == 1) {
      int t = find_vtopic(&lake, files[i].topics[0], strlen(files[i].topics[0]), 1);
      if (t < 0) {
        free(p);
        goto oom;
      }
      lake.expect_topic = t;
    }
    lake.no_messages = 0;
    rc = walk_side(&lake, p, err);
    free(p);
    if (rc) goto out;
  }
  {
    size_t n = strlen(recdir) + sizeof PL_LAKE_RECORDING_FILE + 2;
    char *p = malloc(n);
    if (!p) goto oom;
    snprintf(p, n, "%s/%s", recdir, PL_LAKE_RECORDING_FILE);
    lake.expect_topic = -1;
    lake.no_messages = 1;
    rc = walk_side(&lake, p, err);
    free(p);
    if (rc) goto out;
  }
  if (lake.stray_messages &&
      (rc = pl_finding_add(diffs, n_diffs, &cap, PL_SEV_ERROR, "lake-wrong-file", UINT64_MAX,
                           "%llu messages are in a lake file of another topic or in %s",
                           (unsigned long long)lake.stray_messages, PL_LAKE_RECORDING_FILE)))
    goto out;

  /* topics */
  for (size_t i = 0; i < orig.n_topics; i++) {
    struct vtopic *a = &orig.topics[i];
    int j = find_vtopic(&lake, a->topic, strlen(a->topic), 0);
    if (j < 0) {
      if ((rc = pl_finding_add(diffs, n_diffs, &cap, PL_SEV_ERROR, "lake-topic-missing", UINT64_MAX,
                               "topic '%.150s' (%llu messages) has no lake file", a->topic,
                               (unsigned long long)a->count)))
        goto out;
      continue;
    }
    struct vtopic *b = &lake.topics[j];
    char ta[40], tb[40], tc[40], td[40], ha[33], hb[33];
    if (a->count != b->count &&
        (rc = pl_finding_add(diffs, n_diffs, &cap, PL_SEV_ERROR, "lake-count", UINT64_MAX,
                             "topic '%.150s': %llu messages in the original, %llu in the lake",
                             a->topic, (unsigned long long)a->count, (unsigned long long)b->count)))
      goto out;
    if (a->bytes != b->bytes &&
        (rc = pl_finding_add(diffs, n_diffs, &cap, PL_SEV_ERROR, "lake-bytes", UINT64_MAX,
                             "topic '%.150s': %llu payload bytes in the original, %llu in the lake",
                             a->topic, (unsigned long long)a->bytes, (unsigned long long)b->bytes)))
      goto out;
    if (a->count && b->count && (a->first != b->first || a->last != b->last)) {
      fmt_t(a->first, ta);
      fmt_t(a->last, tb);
      fmt_t(b->first, tc);
      fmt_t(b->last, td);
      if ((rc = pl_finding_add(diffs, n_diffs, &cap, PL_SEV_ERROR, "lake-times", UINT64_MAX,
                               "topic '%.100s': original %s..%s, lake %s..%s", a->topic, ta, tb, tc,
                               td)))
        goto out;
    }
    pl_hash_hex(a->h, ha);
    pl_hash_hex(b->h, hb);
    if (strcmp(ha, hb) != 0 &&
        (rc = pl_finding_add(diffs, n_diffs, &cap, PL_SEV_ERROR, "lake-digest", UINT64_MAX,
                             "topic '%.150s': message digest %s in the original, %s in the lake",
                             a->topic, ha, hb)))
      goto out;
    if (defs_digest(a) != defs_digest(b) &&
        (rc = pl_finding_add(diffs, n_diffs, &cap, PL_SEV_ERROR, "lake-channels", UINT64_MAX,
                             "topic '%.150s': channel or schema definitions differ (%zu channels "
                             "in the original, %zu in the lake)",
                             a->topic, a->n_defs, b->n_defs)))
      goto out;
  }
  for (size_t j = 0; j < lake.n_topics; j++) {
    if (find_vtopic(&orig, lake.topics[j].topic, strlen(lake.topics[j].topic), 0) >= 0) continue;
    if ((rc = pl_finding_add(diffs, n_diffs, &cap, PL_SEV_ERROR, "lake-topic-extra", UINT64_MAX,
                             "the lake has topic '%.150s' (%llu messages), the original has not",
                             lake.topics[j].topic, (unsigned long long)lake.topics[j].count)))
      goto out;
  }

  /* attachments and metadata, in order */
  if (orig.n_atts != lake.n_atts &&
      (rc = pl_finding_add(diffs, n_diffs, &cap, PL_SEV_ERROR, "lake-attachments", UINT64_MAX,
                           "%zu attachments in the original, %zu in the lake", orig.n_atts,
                           lake.n_atts)))
    goto out;
  for (size_t i = 0; i < orig.n_atts && i < lake.n_atts; i++) {
    const struct vatt *a = &orig.atts[i], *b = &lake.atts[i];
    const char *what = strcmp(a->name, b->name)                 ? "name"
                       : strcmp(a->media_type, b->media_type)   ? "media type"
                       : a->log_time != b->log_time             ? "log time"
                       : a->create_time != b->create_time       ? "create time"
                       : a->size != b->size                     ? "size"
                       : strcmp(a->fingerprint, b->fingerprint) ? "content"
                       : a->crc && a->crc != b->crc             ? "crc"
                                                                : NULL;
    if (what &&
        (rc = pl_finding_add(diffs, n_diffs, &cap, PL_SEV_ERROR, "lake-attachment", UINT64_MAX,
                             "attachment %zu ('%.100s'): %s differs", i, a->name, what)))
      goto out;
  }
  if (orig.n_metas != lake.n_metas &&
      (rc = pl_finding_add(diffs, n_diffs, &cap, PL_SEV_ERROR, "lake-metadata", UINT64_MAX,
                           "%zu metadata records in the original, %zu in the lake", orig.n_metas,
                           lake.n_metas)))
    goto out;
  for (size_t i = 0; i < orig.n_metas && i < lake.n_metas; i++) {
    const struct vmeta *a = &orig.metas[i], *b = &lake.metas[i];
    if ((strcmp(a->name, b->name) || a->map_hash != b->map_hash) &&
        (rc = pl_finding_add(diffs, n_diffs, &cap, PL_SEV_ERROR, "lake-metadata", UINT64_MAX,
                             "metadata %zu ('%.100s'): %s differs", i, a->name,
                             strcmp(a->name, b->name) ? "name" : "content")))
      goto out;
  }
  goto out;
oom:
  rc = pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
out:
  vside_dispose(&orig);
  vside_dispose(&lake);
  pl__lake_files_free(files, n_files);
  free(text);
  free(recdir);
  pl_recording_index_free(ix);
  if (rc == PL_ENOMEM && err && !err->msg[0])
    pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
  if (rc) {
    free(*diffs);
    *diffs = NULL;
    *n_diffs = 0;
    return rc;
  }
  for (size_t i = 0; i < *n_diffs; i++)
    if ((*diffs)[i].severity == PL_SEV_ERROR)
      return pl_error_set(err, PL_EVERIFY, UINT64_MAX,
                          "%zu differences between '%s' and its lake files", *n_diffs, mcap_path);
  return PL_OK;
}
