/*
 * rewrite_defs.c - the small building blocks of the rewrite engine, merge
 * and recover (rewrite_internal.h): owned copies of Schema and Channel
 * records by id, registering channels in a writer under their input ids,
 * topic selection by anchored regular expressions, message index entries for
 * raw chunk copies, the tolerant Chunk parser recover needs, and spooling a
 * stream to a temporary file.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rewrite_internal.h"

/* ------------------------------------------------------------ definitions */

int pl__defs_init(struct pl__defs *d) {
  memset(d, 0, sizeof *d);
  d->schemas = calloc(PL__IDS, sizeof *d->schemas);
  d->channels = calloc(PL__IDS, sizeof *d->channels);
  if (!d->schemas || !d->channels) {
    pl__defs_dispose(d);
    return PL_ENOMEM;
  }
  return PL_OK;
}

void pl__defs_dispose(struct pl__defs *d) {
  if (!d) return;
  for (size_t i = 0; i < PL__IDS; i++) {
    if (d->schemas && d->schemas[i]) {
      free(d->schemas[i]->content);
      free(d->schemas[i]);
    }
    if (d->channels && d->channels[i]) {
      free(d->channels[i]->content);
      free(d->channels[i]);
    }
  }
  free(d->schemas);
  free(d->channels);
  memset(d, 0, sizeof *d);
}

static int str_eq(mcap_str a, mcap_str b) {
  return a.len == b.len && (a.len == 0 || memcmp(a.data, b.data, a.len) == 0);
}

int pl__schema_equal(const mcap_schema *a, const mcap_schema *b) {
  return a->id == b->id && str_eq(a->name, b->name) && str_eq(a->encoding, b->encoding) &&
         a->data.len == b->data.len &&
         (a->data.len == 0 || memcmp(a->data.data, b->data.data, (size_t)a->data.len) == 0);
}

int pl__channel_equal(const mcap_channel *a, const mcap_channel *b) {
  return a->id == b->id && a->schema_id == b->schema_id && str_eq(a->topic, b->topic) &&
         str_eq(a->message_encoding, b->message_encoding) && a->metadata.len == b->metadata.len &&
         (a->metadata.len == 0 || memcmp(a->metadata.data, b->metadata.data, a->metadata.len) == 0);
}

int pl__defs_put(struct pl__defs *d, const mcap_record *rec) {
  int is_schema = rec->opcode == MCAP_OP_SCHEMA;
  uint16_t id = is_schema ? rec->u.schema.id : rec->u.channel.id;
  struct pl__def **slot = is_schema ? &d->schemas[id] : &d->channels[id];
  if (*slot) {
    int same = is_schema ? pl__schema_equal(&(*slot)->rec.u.schema, &rec->u.schema)
                         : pl__channel_equal(&(*slot)->rec.u.channel, &rec->u.channel);
    return same ? 1 : 2;
  }
  struct pl__def *def = calloc(1, sizeof *def);
  if (!def) return PL_ENOMEM;
  def->len = rec->content.len;
  def->content = malloc(def->len ? (size_t)def->len : 1);
  if (!def->content) {
    free(def);
    return PL_ENOMEM;
  }
  if (def->len) memcpy(def->content, rec->content.data, (size_t)def->len);
  /* Re-parse the copy so the views point into memory we own; it parsed before, so it parses. */
  if (mcap_record_parse(rec->opcode, def->content, def->len, 0, &def->rec, NULL) != MCAP_OK) {
    free(def->content);
    free(def);
    return PL_ENOMEM;
  }
  def->rec.content.data = def->content;
  def->rec.content.len = def->len;
  *slot = def;
  if (is_schema)
    d->n_schemas++;
  else
    d->n_channels++;
  return 0;
}

int pl__defs_put_parsed(struct pl__defs *d, const mcap_schema *s, const mcap_channel *c) {
  mcap_record rec;
  uint64_t size;
  memset(&rec, 0, sizeof rec);
  if (s) {
    rec.opcode = MCAP_OP_SCHEMA;
    rec.u.schema = *s;
  } else {
    rec.opcode = MCAP_OP_CHANNEL;
    rec.u.channel = *c;
  }
  if (mcap_record_encode(&rec, NULL, 0, &size) != MCAP_OK || size > SIZE_MAX) return PL_ENOMEM;
  uint8_t *buf = malloc((size_t)size);
  if (!buf) return PL_ENOMEM;
  if (mcap_record_encode(&rec, buf, size, &size) != MCAP_OK) {
    free(buf);
    return PL_ENOMEM;
  }
  rec.content.data = buf + 9;
  rec.content.len = size - 9;
  int rc = pl__defs_put(d, &rec);
  free(buf);
  return rc;
}

struct pl__def *pl__defs_get(const struct pl__defs *d, uint8_t opcode, uint16_t id) {
  return opcode == MCAP_OP_SCHEMA ? d->schemas[id] : d->channels[id];
}

const mcap_schema *pl__defs_schema(const struct pl__defs *d, uint16_t id) {
  return d->schemas[id] ? &d->schemas[id]->rec.u.schema : NULL;
}

const mcap_channel *pl__defs_channel(const struct pl__defs *d, uint16_t id) {
  return d->channels[id] ? &d->channels[id]->rec.u.channel : NULL;
}

/* ----------------------------------------------------------- registration */

int pl__reg_init(struct pl__reg *g) {
  memset(g, 0, sizeof *g);
  g->schema = calloc(PL__IDS, 1);
  g->channel = calloc(PL__IDS, 1);
  if (!g->schema || !g->channel) {
    pl__reg_dispose(g);
    return PL_ENOMEM;
  }
  return PL_OK;
}

void pl__reg_dispose(struct pl__reg *g) {
  if (!g) return;
  free(g->schema);
  free(g->channel);
  memset(g, 0, sizeof *g);
}

int pl__werr(mcap_writer *w, int rc, pl_error_info *err, const char *what) {
  const char *m = w ? mcap_writer_errmsg(w) : "";
  return pl_error_set_mcap(err, rc, UINT64_MAX, "%s: %s", what, m && m[0] ? m : mcap_strerror(rc));
}

int pl__reg_channel(mcap_writer *w, struct pl__reg *g, const struct pl__defs *defs, uint16_t id,
                    pl_error_info *err) {
  if (g->channel[id]) return PL_OK;
  const mcap_channel *c = pl__defs_channel(defs, id);
  if (!c)
    return pl_error_set_mcap(err, MCAP_ECHANNEL_ID, UINT64_MAX, "channel %u is not defined", id);
  if (c->schema_id != 0 && !g->schema[c->schema_id]) {
    const mcap_schema *s = pl__defs_schema(defs, c->schema_id);
    if (!s) {
      return pl_error_set_mcap(err, MCAP_ESCHEMA_ID, UINT64_MAX,
                               "channel %u refers to schema %u, which is not defined", id,
                               c->schema_id);
    }
    int rc = mcap_writer_put_schema(w, s);
    if (rc) return pl__werr(w, rc, err, "writing a schema");
    g->schema[c->schema_id] = 1;
    g->n_schemas++;
  }
  int rc = mcap_writer_put_channel(w, c);
  if (rc) return pl__werr(w, rc, err, "writing a channel");
  g->channel[id] = 1;
  g->n_channels++;
  return PL_OK;
}

/* -------------------------------------------------------------- selection */

static int compile_all(regex_t **out, size_t *n_out, const char *const *pats, size_t n,
                       pl_error_info *err) {
  *out = NULL;
  *n_out = 0;
  if (!n) return PL_OK;
  if (!pats) return pl_error_set(err, PL_EINVAL, UINT64_MAX, "invalid argument: patterns");
  regex_t *res = calloc(n, sizeof *res);
  if (!res) return pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
  for (size_t i = 0; i < n; i++) {
    /* Anchor the pattern so it must match the whole topic: "^(" P ")$". */
    size_t len = strlen(pats[i]);
    char *wrapped = malloc(len + 5);
    if (!wrapped) {
      for (size_t k = 0; k < i; k++) regfree(&res[k]);
      free(res);
      return pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
    }
    wrapped[0] = '^';
    wrapped[1] = '(';
    memcpy(wrapped + 2, pats[i], len);
    wrapped[len + 2] = ')';
    wrapped[len + 3] = '$';
    wrapped[len + 4] = '\0';
    int rc = regcomp(&res[i], wrapped, REG_EXTENDED | REG_NOSUB);
    free(wrapped);
    if (rc != 0) {
      char why[160];
      regerror(rc, NULL, why, sizeof why);
      for (size_t k = 0; k < i; k++) regfree(&res[k]);
      free(res);
      return pl_error_set(err, PL_EINVAL, UINT64_MAX, "invalid topic pattern '%s': %s", pats[i],
                          why);
    }
  }
  *out = res;
  *n_out = n;
  return PL_OK;
}

static void free_all(regex_t *res, size_t n) {
  for (size_t i = 0; i < n; i++) regfree(&res[i]);
  free(res);
}

int pl_rewrite_check_patterns(const char *const *patterns, size_t n, pl_error_info *err) {
  regex_t *res;
  size_t cnt;
  int rc = compile_all(&res, &cnt, patterns, n, err);
  if (rc == PL_OK) free_all(res, cnt);
  return rc;
}

int pl__sel_init(struct pl__sel *s, const pl_rewrite_options *o, pl_error_info *err) {
  memset(s, 0, sizeof *s);
  int rc = compile_all(&s->inc, &s->n_inc, o->include_topics, o->n_include_topics, err);
  if (!rc) rc = compile_all(&s->exc, &s->n_exc, o->exclude_topics, o->n_exclude_topics, err);
  if (!rc) rc = compile_all(&s->lpc, &s->n_lpc, o->last_per_channel, o->n_last_per_channel, err);
  if (rc) pl__sel_dispose(s);
  return rc;
}

void pl__sel_dispose(struct pl__sel *s) {
  free_all(s->inc, s->n_inc);
  free_all(s->exc, s->n_exc);
  free_all(s->lpc, s->n_lpc);
  memset(s, 0, sizeof *s);
}

/* Does any pattern match the whole topic? A topic with a NUL byte cannot match. */
static int match_any(const regex_t *res, size_t n, mcap_str topic) {
  char small[256];
  char *buf = small;
  int hit = 0;
  if (!n) return 0;
  if (topic.len && memchr(topic.data, '\0', topic.len)) return 0;
  if (topic.len >= sizeof small) {
    buf = malloc((size_t)topic.len + 1);
    if (!buf) return 0;
  }
  if (topic.len) memcpy(buf, topic.data, topic.len);
  buf[topic.len] = '\0';
  for (size_t i = 0; i < n && !hit; i++) hit = regexec(&res[i], buf, 0, NULL, 0) == 0;
  if (buf != small) free(buf);
  return hit;
}

int pl__sel_keep(const struct pl__sel *s, mcap_str topic) {
  if (s->n_inc && !match_any(s->inc, s->n_inc, topic)) return 0;
  return !match_any(s->exc, s->n_exc, topic);
}

int pl__sel_lpc(const struct pl__sel *s, mcap_str topic) {
  return match_any(s->lpc, s->n_lpc, topic);
}

/* ----------------------------------------------------------------- chunks */

static int rd_u64(const uint8_t *p, uint64_t have, uint64_t at, uint64_t *v) {
  if (at > have || have - at < 8) return -1;
  *v = (uint64_t)p[at] | (uint64_t)p[at + 1] << 8 | (uint64_t)p[at + 2] << 16 |
       (uint64_t)p[at + 3] << 24 | (uint64_t)p[at + 4] << 32 | (uint64_t)p[at + 5] << 40 |
       (uint64_t)p[at + 6] << 48 | (uint64_t)p[at + 7] << 56;
  return 0;
}

static int rd_u32(const uint8_t *p, uint64_t have, uint64_t at, uint32_t *v) {
  if (at > have || have - at < 4) return -1;
  *v = (uint32_t)p[at] | (uint32_t)p[at + 1] << 8 | (uint32_t)p[at + 2] << 16 |
       (uint32_t)p[at + 3] << 24;
  return 0;
}

int pl__chunk_parse_partial(const uint8_t *content, uint64_t have, uint64_t declared_len,
                            mcap_chunk *ck, int *truncated) {
  uint32_t clen;
  uint64_t rlen, at;
  *truncated = 0;
  memset(ck, 0, sizeof *ck);
  if (have > declared_len) have = declared_len;
  if (rd_u64(content, have, 0, &ck->message_start_time) ||
      rd_u64(content, have, 8, &ck->message_end_time) ||
      rd_u64(content, have, 16, &ck->uncompressed_size) ||
      rd_u32(content, have, 24, &ck->uncompressed_crc) || rd_u32(content, have, 28, &clen)) {
    return -1;
  }
  at = 32;
  if (clen > have - at) return -1;
  ck->compression.data = (const char *)content + at;
  ck->compression.len = clen;
  at += clen;
  if (rd_u64(content, have, at, &rlen)) return -1;
  at += 8;
  /* The records must fit in what the envelope declares. */
  if (at > declared_len || rlen > declared_len - at) return -1;
  ck->records.data = content + at;
  if (rlen <= have - at) {
    ck->records.len = rlen;
  } else {
    ck->records.len = have - at;
    *truncated = 1;
  }
  return 0;
}

void pl__mi_reset(struct pl__mi *m) {
  m->n = 0;
  m->n_idx = 0;
  m->bytes.len = 0;
}

int pl__mi_add(struct pl__mi *m, uint16_t channel, uint64_t log_time, uint64_t offset) {
  if (pl_grow((void **)&m->ents, &m->cap, m->n + 1, sizeof *m->ents) != 0) return PL_ENOMEM;
  m->ents[m->n].channel = channel;
  m->ents[m->n].log_time = log_time;
  m->ents[m->n].offset = offset;
  m->n++;
  return PL_OK;
}

static int ent_cmp(const void *a, const void *b) {
  const struct pl__mi_ent *x = a, *y = b;
  if (x->channel != y->channel) return x->channel < y->channel ? -1 : 1;
  /* Entries were added in record order, so the offset keeps that order. */
  return (x->offset > y->offset) - (x->offset < y->offset);
}

int pl__mi_build(struct pl__mi *m) {
  m->n_idx = 0;
  m->bytes.len = 0;
  if (!m->n) return PL_OK;
  qsort(m->ents, m->n, sizeof *m->ents, ent_cmp);
  if (pl_buf_reserve(&m->bytes, m->n * 16) != 0) return PL_ENOMEM;
  size_t groups = 0;
  for (size_t i = 0; i < m->n; i++)
    if (i == 0 || m->ents[i].channel != m->ents[i - 1].channel) groups++;
  if (pl_grow((void **)&m->idx, &m->cap_idx, groups, sizeof *m->idx) != 0) return PL_ENOMEM;
  for (size_t i = 0; i < m->n; i++) {
    uint8_t *p = m->bytes.data + m->bytes.len;
    if (i == 0 || m->ents[i].channel != m->ents[i - 1].channel) {
      m->idx[m->n_idx].channel_id = m->ents[i].channel;
      m->idx[m->n_idx].entries.data = p;
      m->idx[m->n_idx].entries.len = 0;
      m->n_idx++;
    }
    for (int k = 0; k < 8; k++) p[k] = (uint8_t)(m->ents[i].log_time >> (8 * k));
    for (int k = 0; k < 8; k++) p[8 + k] = (uint8_t)(m->ents[i].offset >> (8 * k));
    m->bytes.len += 16;
    m->idx[m->n_idx - 1].entries.len += 16;
  }
  return PL_OK;
}

void pl__mi_dispose(struct pl__mi *m) {
  free(m->ents);
  free(m->idx);
  pl_buf_dispose(&m->bytes);
  memset(m, 0, sizeof *m);
}

/* ------------------------------------------------------------------- misc */

int pl__cores(void) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  if (n < 1) return 1;
  return n > 256 ? 256 : (int)n;
}

int pl__compression_of(mcap_str s, mcap_compression *out) {
  if (s.len == 0) {
    *out = MCAP_COMPRESSION_NONE;
  } else if (s.len == 4 && memcmp(s.data, "zstd", 4) == 0) {
    *out = MCAP_COMPRESSION_ZSTD;
  } else if (s.len == 3 && memcmp(s.data, "lz4", 3) == 0) {
    *out = MCAP_COMPRESSION_LZ4;
  } else {
    return -1;
  }
  return 0;
}

int pl__scratch_open(const char *dir, const char *prefix, char **path_out, pl_error_info *err) {
  size_t n = strlen(dir) + strlen(prefix) + 32;
  char *path = malloc(n);
  *path_out = NULL;
  if (!path) {
    pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
    return -1;
  }
#ifdef O_TMPFILE
  int keep = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (keep >= 0) {
    snprintf(path, n, "/proc/self/fd/%d", keep);
    int fd = access(path, F_OK) == 0 ? fcntl(keep, F_DUPFD_CLOEXEC, 0) : -1;
    if (fd >= 0) {
      *path_out = path;
      return fd;
    }
    close(keep);
  }
#endif
  snprintf(path, n, "%s/%s-XXXXXX", dir, prefix);
  int fd = mkstemp(path);
  if (fd < 0) {
    pl_error_set_errno(err, errno, "cannot create a temporary file in '%s'", dir);
    free(path);
    return -1;
  }
  *path_out = path;
  return fd;
}

void pl__scratch_release(char *path) {
  static const char proc[] = "/proc/self/fd/";
  if (!path) return;
  if (strncmp(path, proc, sizeof proc - 1) == 0) {
    char *end = NULL;
    unsigned long fd = strtoul(path + sizeof proc - 1, &end, 10);
    /* the unnamed file goes with its last descriptor */
    if (end && *end == '\0' && fd <= INT_MAX) close((int)fd);
  } else {
    unlink(path);
  }
  free(path);
}

/* Copy everything readable from `in` into a new scratch file; *path_out names it. */
static int spool_fd(int in, const char *name, const char *tmp_dir, char **path_out,
                    pl_error_info *err) {
  const char *dir = tmp_dir ? tmp_dir : getenv("TMPDIR");
  if (!dir || !dir[0]) dir = "/tmp";
  char *path = NULL;
  int fd = pl__scratch_open(dir, "mcapkit-stdin", &path, err);
  if (fd < 0) return PL_EIO;
  static const size_t kBuf = (size_t)1 << 20;
  uint8_t *buf = malloc(kBuf);
  int rc = PL_OK;
  if (!buf) rc = pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
  while (rc == PL_OK) {
    ssize_t r = read(in, buf, kBuf);
    if (r < 0) {
      if (errno == EINTR) continue;
      rc = pl_error_set_errno(err, errno, "reading %s", name);
      break;
    }
    if (r == 0) break;
    for (ssize_t done = 0; done < r;) {
      ssize_t w = write(fd, buf + done, (size_t)(r - done));
      if (w < 0) {
        if (errno == EINTR) continue;
        rc = pl_error_set_errno(err, errno, "writing the copy of %s in '%s'", name, dir);
        break;
      }
      done += w;
    }
  }
  free(buf);
  close(fd);
  if (rc != PL_OK) {
    pl__scratch_release(path);
    return rc;
  }
  *path_out = path;
  return PL_OK;
}

int pl__spool_stdin(const char *tmp_dir, mcap_source *src, char **path_out, pl_error_info *err) {
  char *path = NULL;
  int rc = spool_fd(STDIN_FILENO, "standard input", tmp_dir, &path, err);
  if (rc) return rc;
  mcap_error_info me;
  memset(&me, 0, sizeof me);
  int mrc = mcap_source_open_file(src, path, &me);
  if (mrc) {
    pl__scratch_release(path);
    return pl_error_set_mcap(err, mrc, UINT64_MAX, "%s", me.msg);
  }
  *path_out = path;
  return PL_OK;
}

/* Standard input redirected from a regular file, read from its start: usable in place. */
static int stdin_is_file(void) {
  struct stat st;
  return fstat(STDIN_FILENO, &st) == 0 && S_ISREG(st.st_mode) &&
         lseek(STDIN_FILENO, 0, SEEK_CUR) == 0 && access("/proc/self/fd/0", R_OK) == 0;
}

int pl_input_is_stream(const char *arg) {
  struct stat st;
  if (!arg) return 0;
  if (strcmp(arg, "-") == 0) return !stdin_is_file();
  /* a path that exists but is no regular file or directory: a pipe, a device, a socket */
  return stat(arg, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode);
}

int pl_input_open(const char *arg, const char *tmp_dir, pl_input *in, pl_error_info *err) {
  memset(in, 0, sizeof *in);
  if (!arg) return pl_error_set(err, PL_EINVAL, UINT64_MAX, "invalid argument");
  int is_stdin = strcmp(arg, "-") == 0;
  if (is_stdin && stdin_is_file()) {
    in->path = "/proc/self/fd/0";
    return PL_OK;
  }
  if (!is_stdin && !pl_input_is_stream(arg)) {
    in->path = arg;
    return PL_OK;
  }
  int fd = is_stdin ? STDIN_FILENO : open(arg, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return pl_error_set_errno(err, errno, "cannot open '%s'", arg);
  char name[300];
  snprintf(name, sizeof name, is_stdin ? "standard input" : "'%.280s'", arg);
  int rc = spool_fd(fd, name, tmp_dir, &in->scratch, err);
  if (!is_stdin) close(fd);
  if (rc) return rc;
  in->path = in->scratch;
  in->copied = 1;
  return PL_OK;
}

void pl_input_release(pl_input *in) {
  if (!in) return;
  pl__scratch_release(in->scratch);
  memset(in, 0, sizeof *in);
}

int pl__read_envelope(mcap_source *src, struct pl_buf *tmp, uint64_t off, uint8_t *opcode,
                      uint64_t *len, int *eof, pl_error_info *err) {
  const uint8_t *p;
  uint64_t got;
  int rc = pl_source_pull(src, tmp, off, 9, &p, &got, err);
  if (rc) return rc;
  /* 1: clean end of input; 2: it ends inside the envelope */
  *eof = got == 0 ? 1 : got < 9 ? 2 : 0;
  if (*eof) return PL_OK;
  *opcode = p[0];
  rd_u64(p, 9, 1, len);
  return PL_OK;
}
