/*
 * ros2_bag.c - rosbag2 SQLite storage: a folder (metadata.yaml and its
 * database files, or only .db3 files) or a single .db3, one stream per
 * database file, each reading its messages in timestamp order.
 *
 * Databases are opened with SQLITE_OPEN_READONLY and the immutable URI
 * parameter: no lock, no journal, nothing written, so a bag on read-only media
 * converts. A database compressed as a whole (rosbag2 "file" compression,
 * NAME.db3.zstd) is decompressed into a temporary file first; messages
 * compressed one by one ("message" compression) are decompressed as they are
 * read. Schemas come from the message_definitions table, else from .msg files
 * (ros2_msgdef.c), else are empty with a warning. metadata.yaml (or the
 * database's own metadata table) becomes the Metadata record "rosbag2".
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>
#include <zstd.h>

#include "convert_internal.h"

#define MAX_YAML ((size_t)16 << 20)

/* ------------------------------------------------------------ metadata.yaml */

struct bagmeta {
  char *text; /* the whole file */
  size_t len;
  char *storage;
  char *compression_format;
  char *compression_mode;
  char **files; /* relative_file_paths */
  size_t n_files;
  mcap_kv *custom; /* views into custom_strs */
  char **custom_strs;
  size_t n_custom;
};

static void bagmeta_free(struct bagmeta *m) {
  free(m->text);
  free(m->storage);
  free(m->compression_format);
  free(m->compression_mode);
  for (size_t i = 0; i < m->n_files; i++) free(m->files[i]);
  free(m->files);
  for (size_t i = 0; i < 2 * m->n_custom; i++) free(m->custom_strs[i]);
  free(m->custom_strs);
  free(m->custom);
  memset(m, 0, sizeof *m);
}

static yaml_node_t *ymap_get(yaml_document_t *d, yaml_node_t *map, const char *key) {
  if (!map || map->type != YAML_MAPPING_NODE) return NULL;
  for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
    yaml_node_t *k = pl__cv_yaml.document_get_node(d, p->key);
    if (k && k->type == YAML_SCALAR_NODE && strlen(key) == k->data.scalar.length &&
        memcmp(k->data.scalar.value, key, k->data.scalar.length) == 0)
      return pl__cv_yaml.document_get_node(d, p->value);
  }
  return NULL;
}

static char *yscalar(yaml_node_t *n) {
  if (!n || n->type != YAML_SCALAR_NODE) return NULL;
  return cv_strndup((const char *)n->data.scalar.value, n->data.scalar.length);
}

/* Read and parse metadata.yaml. @return 1 read, 0 absent, or a status. */
static int read_bagmeta(struct pl_convert *c, const char *path, struct bagmeta *m) {
  memset(m, 0, sizeof *m);
  FILE *f = fopen(path, "rb");
  if (!f) {
    if (errno == ENOENT) return 0;
    return cv_fail(c, PL_CONVERT_EIO, "'%s': %s", path, strerror(errno));
  }
  struct stat st;
  if (fstat(fileno(f), &st) != 0 || (size_t)st.st_size > MAX_YAML) {
    fclose(f);
    return cv_fail(c, PL_CONVERT_ELIMIT, "'%s': larger than %zu bytes", path, MAX_YAML);
  }
  m->text = malloc((size_t)st.st_size + 1);
  if (!m->text) {
    fclose(f);
    return cv_fail(c, PL_CONVERT_ENOMEM, "out of memory");
  }
  m->len = fread(m->text, 1, (size_t)st.st_size, f);
  m->text[m->len] = '\0';
  fclose(f);

  yaml_parser_t p;
  yaml_document_t d;
  int lrc = pl__cv_load_yaml(c);
  if (lrc) return lrc;
  if (!pl__cv_yaml.parser_initialize(&p)) return cv_fail(c, PL_CONVERT_ENOMEM, "out of memory");
  pl__cv_yaml.parser_set_input_string(&p, (const unsigned char *)m->text, m->len);
  if (!pl__cv_yaml.parser_load(&p, &d)) {
    int rc = cv_fail(c, PL_CONVERT_EFORMAT, "'%s': line %zu: %s", path,
                     (size_t)p.problem_mark.line + 1, p.problem ? p.problem : "bad YAML");
    pl__cv_yaml.parser_delete(&p);
    return rc;
  }
  pl__cv_yaml.parser_delete(&p);
  int rc = 1;
  yaml_node_t *info = ymap_get(&d, pl__cv_yaml.document_get_root_node(&d), "rosbag2_bagfile_information");
  if (!info) {
    rc = cv_fail(c, PL_CONVERT_EFORMAT, "'%s': no 'rosbag2_bagfile_information' mapping", path);
    goto out;
  }
  m->storage = yscalar(ymap_get(&d, info, "storage_identifier"));
  m->compression_format = yscalar(ymap_get(&d, info, "compression_format"));
  m->compression_mode = yscalar(ymap_get(&d, info, "compression_mode"));
  yaml_node_t *files = ymap_get(&d, info, "relative_file_paths");
  if (files && files->type == YAML_SEQUENCE_NODE) {
    size_t n = (size_t)(files->data.sequence.items.top - files->data.sequence.items.start);
    m->files = calloc(n ? n : 1, sizeof *m->files);
    if (!m->files) goto oom;
    for (size_t i = 0; i < n; i++) {
      char *s = yscalar(pl__cv_yaml.document_get_node(&d, files->data.sequence.items.start[i]));
      if (!s) continue;
      m->files[m->n_files++] = s;
    }
  }
  yaml_node_t *custom = ymap_get(&d, info, "custom_data");
  if (custom && custom->type == YAML_MAPPING_NODE) {
    size_t n = (size_t)(custom->data.mapping.pairs.top - custom->data.mapping.pairs.start);
    m->custom = calloc(n ? n : 1, sizeof *m->custom);
    m->custom_strs = calloc(2 * (n ? n : 1), sizeof *m->custom_strs);
    if (!m->custom || !m->custom_strs) goto oom;
    for (size_t i = 0; i < n; i++) {
      yaml_node_pair_t *pr = &custom->data.mapping.pairs.start[i];
      char *k = yscalar(pl__cv_yaml.document_get_node(&d, pr->key));
      char *v = yscalar(pl__cv_yaml.document_get_node(&d, pr->value));
      if (!k || !v) {
        free(k);
        free(v);
        continue;
      }
      m->custom_strs[2 * m->n_custom] = k;
      m->custom_strs[2 * m->n_custom + 1] = v;
      m->custom[m->n_custom].key = mcap_str_c(k);
      m->custom[m->n_custom].value = mcap_str_c(v);
      m->n_custom++;
    }
  }
  goto out;
oom:
  rc = cv_fail(c, PL_CONVERT_ENOMEM, "out of memory");
out:
  pl__cv_yaml.document_delete(&d);
  return rc;
}

/* ---------------------------------------------------------------- database */

struct topicmap {
  int64_t id;
  uint16_t channel;
  uint32_t topic;
};

struct db {
  struct cv_stream base;
  struct pl_convert *c;
  char *path;      /* as the user knows it (the .db3 or .db3.zstd) */
  sqlite3 *sql;
  sqlite3_stmt *st;
  struct topicmap *topics;
  size_t n_topics;
  int msg_zstd;    /* 1: every message is a zstd frame; -1: decide per message (no metadata) */
  ZSTD_DCtx *dctx;
  uint8_t *buf;
  size_t cap;
  int tmp_fd;      /* the decompressed copy of a .db3.zstd, or -1 */
};

/* Close the database and drop its buffers: a split bag's files are read one after
 * the other, so only the files in use hold an SQLite page cache. */
static void db_release(struct db *d) {
  if (d->sql) { /* else SQLite may never have been loaded */
    pl__cv_sqlite.finalize(d->st);
    pl__cv_sqlite.close(d->sql);
  }
  d->st = NULL;
  d->sql = NULL;
  if (d->tmp_fd >= 0) close(d->tmp_fd);
  d->tmp_fd = -1;
  free(d->buf);
  d->buf = NULL;
  d->cap = 0;
  ZSTD_freeDCtx(d->dctx);
  d->dctx = NULL;
}

static void db_free(struct cv_stream *s) {
  struct db *d = (struct db *)s;
  if (!d) return;
  db_release(d);
  free(d->topics);
  free(d->path);
  free(d);
}

static const struct topicmap *find_topic(const struct db *d, int64_t id) {
  size_t lo = 0, hi = d->n_topics;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (d->topics[mid].id == id) return &d->topics[mid];
    if (d->topics[mid].id < id) lo = mid + 1;
    else hi = mid;
  }
  return NULL;
}

/* Decompress one zstd frame into d->buf. @return 0, or 1 (not decodable: *why). */
static int unzstd(struct db *d, const uint8_t *src, size_t len, size_t *out, const char **why) {
  struct pl_convert *c = d->c;
  if (!d->dctx && !(d->dctx = ZSTD_createDCtx())) return cv_fail(c, PL_CONVERT_ENOMEM, "zstd");
  unsigned long long fs = ZSTD_getFrameContentSize(src, len);
  if (fs == ZSTD_CONTENTSIZE_ERROR) {
    *why = "not a zstd frame";
    return 1;
  }
  size_t want = fs == ZSTD_CONTENTSIZE_UNKNOWN ? len * 4 + 4096 : (size_t)fs;
  if (fs != ZSTD_CONTENTSIZE_UNKNOWN && fs > c->o.max_message_size) {
    *why = "decompressed size exceeds the limit";
    return 1;
  }
  ZSTD_DCtx_reset(d->dctx, ZSTD_reset_session_only);
  ZSTD_inBuffer in = {src, len, 0};
  size_t o = 0;
  for (;;) {
    if (want > c->o.max_message_size) want = (size_t)c->o.max_message_size;
    if (cv_grow((void **)&d->buf, &d->cap, want ? want : 1, 1))
      return cv_fail(c, PL_CONVERT_ENOMEM, "out of memory (message of %zu bytes)", want);
    ZSTD_outBuffer ob = {d->buf, d->cap, o};
    size_t r = ZSTD_decompressStream(d->dctx, &ob, &in);
    o = ob.pos;
    if (ZSTD_isError(r)) {
      *why = ZSTD_getErrorName(r);
      return 1;
    }
    if (r == 0) break;
    if (in.pos == in.size && ob.pos < ob.size) {
      *why = "zstd frame cut short";
      return 1;
    }
    if (ob.pos == ob.size) {
      if (d->cap >= c->o.max_message_size) {
        *why = "decompressed size exceeds the limit";
        return 1;
      }
      want = d->cap * 2;
    }
  }
  *out = o;
  return 0;
}

static int db_next(struct cv_stream *s) {
  struct db *d = (struct db *)s;
  struct pl_convert *c = d->c;
  if (!d->st) return 0;
  for (;;) {
    int r = pl__cv_sqlite.step(d->st);
    if (r == SQLITE_DONE) {
      db_release(d);
      return 0;
    }
    if (r != SQLITE_ROW)
      return cv_fail(c, PL_CONVERT_EFORMAT, "'%s': reading the messages table: %s", d->path,
                     pl__cv_sqlite.errmsg(d->sql));
    int64_t row = pl__cv_sqlite.column_int64(d->st, 0);
    int64_t topic_id = pl__cv_sqlite.column_int64(d->st, 1);
    int64_t ts = pl__cv_sqlite.column_int64(d->st, 2);
    const uint8_t *data = pl__cv_sqlite.column_blob(d->st, 3);
    size_t len = (size_t)pl__cv_sqlite.column_bytes(d->st, 3);
    cv_progress(c, len + 24);
    const struct topicmap *t = find_topic(d, topic_id);
    if (!t) {
      c->rep.messages_lost++;
      int rc = cv_problem(c, 1, d->path, CV_NO_OFFSET, row,
                          "messages row %lld: topic_id %lld has no row in the topics table; "
                          "message dropped",
                          (long long)row, (long long)topic_id);
      if (rc) return rc;
      continue;
    }
    if (ts < 0 || pl__cv_sqlite.column_type(d->st, 2) != SQLITE_INTEGER) {
      c->rep.messages_lost++;
      int rc = cv_problem(c, 1, d->path, CV_NO_OFFSET, row,
                          "messages row %lld: timestamp is not a non-negative integer; message "
                          "dropped",
                          (long long)row);
      if (rc) return rc;
      continue;
    }
    if (d->msg_zstd && len >= 4 && (d->msg_zstd > 0 || memcmp(data, "\x28\xb5\x2f\xfd", 4) == 0)) {
      size_t out = 0;
      const char *why = NULL;
      int rc = unzstd(d, data, len, &out, &why);
      if (rc < 0) return rc;
      if (rc) {
        c->rep.messages_lost++;
        rc = cv_problem(c, 1, d->path, CV_NO_OFFSET, row,
                        "messages row %lld: cannot decompress the message (%s); dropped",
                        (long long)row, why);
        if (rc) return rc;
        continue;
      }
      data = d->buf;
      len = out;
    } else if (len > c->o.max_message_size) {
      return cv_fail(c, PL_CONVERT_ELIMIT, "'%s': messages row %lld: %zu bytes exceed the limit",
                     d->path, (long long)row, len);
    }
    s->head.time = (uint64_t)ts;
    s->head.channel_id = t->channel;
    s->head.topic = t->topic;
    s->head.data = data;
    s->head.len = len;
    return 1;
  }
}

static const struct cv_stream_ops db_ops = {db_next, db_free};

/* sqlite URI of a path: "file:" + the path with %, ? and # escaped. */
static char *sqlite_uri(const char *path) {
  size_t n = strlen(path);
  char *u = malloc(n * 3 + 32);
  if (!u) return NULL;
  size_t o = 0;
  memcpy(u, "file:", 5);
  o = 5;
  for (size_t i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)path[i];
    if (ch == '%' || ch == '?' || ch == '#') {
      static const char hex[] = "0123456789abcdef";
      u[o++] = '%';
      u[o++] = hex[ch >> 4];
      u[o++] = hex[ch & 15];
    } else {
      u[o++] = (char)ch;
    }
  }
  memcpy(u + o, "?immutable=1", 13);
  return u;
}

static int table_exists(sqlite3 *db, const char *name) {
  sqlite3_stmt *st = NULL;
  int found = 0;
  if (pl__cv_sqlite.prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", -1, &st,
                         NULL) != SQLITE_OK)
    return -1;
  pl__cv_sqlite.bind_text(st, 1, name, -1, SQLITE_STATIC);
  int r = pl__cv_sqlite.step(st);
  if (r == SQLITE_ROW) found = 1;
  else if (r != SQLITE_DONE) found = -1;
  pl__cv_sqlite.finalize(st);
  return found;
}

static int column_exists(sqlite3 *db, const char *table, const char *col) {
  char q[128];
  sqlite3_stmt *st = NULL;
  int found = 0;
  snprintf(q, sizeof q, "PRAGMA table_info(%s)", table);
  if (pl__cv_sqlite.prepare_v2(db, q, -1, &st, NULL) != SQLITE_OK) return 0;
  while (pl__cv_sqlite.step(st) == SQLITE_ROW) {
    const unsigned char *n = pl__cv_sqlite.column_text(st, 1);
    if (n && strcmp((const char *)n, col) == 0) found = 1;
  }
  pl__cv_sqlite.finalize(st);
  return found;
}

/* Decompress a .db3.zstd into a temporary file that has no name (O_TMPFILE) while
 * it is written; SQLite needs a name to open it, so it gets one in `name` just
 * before (the caller unlinks it once SQLite has it open). @return fd or -1. */
static int decompress_file(struct pl_convert *c, const char *path, char *name, size_t name_len) {
  const char *dir = c->o.tmp_dir ? c->o.tmp_dir : getenv("TMPDIR");
  if (!dir || !*dir) dir = "/tmp";
  int unnamed = 1;
  int out = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (out < 0) { /* no O_TMPFILE here: a named file from the start */
    unnamed = 0;
    snprintf(name, name_len, "%s/.mcapkit-db3-XXXXXX", dir);
    out = mkostemp(name, O_CLOEXEC);
  }
  if (out < 0) {
    cv_fail(c, PL_CONVERT_EIO, "cannot create a temporary file in '%s': %s", dir, strerror(errno));
    return -1;
  }
  struct cv_file f;
  if (cv_file_open(c, &f, path)) {
    close(out);
    return -1;
  }
  ZSTD_DCtx *z = ZSTD_createDCtx();
  size_t ic = ZSTD_DStreamInSize(), oc = ZSTD_DStreamOutSize();
  uint8_t *ib = malloc(ic), *ob = malloc(oc);
  int rc = PL_CONVERT_OK;
  uint64_t off = 0;
  size_t last = 1;
  if (!z || !ib || !ob) rc = cv_fail(c, PL_CONVERT_ENOMEM, "out of memory");
  while (!rc && off < f.size) {
    size_t got = 0;
    rc = cv_file_read(c, &f, off, ib, ic, &got);
    if (rc || !got) break;
    ZSTD_inBuffer in = {ib, got, 0};
    while (!rc && in.pos < in.size) {
      ZSTD_outBuffer o = {ob, oc, 0};
      last = ZSTD_decompressStream(z, &o, &in);
      if (ZSTD_isError(last)) {
        rc = cv_fail(c, PL_CONVERT_EFORMAT, "'%s': zstd data damaged near offset %llu: %s", path,
                     (unsigned long long)off, ZSTD_getErrorName(last));
        break;
      }
      size_t w = 0;
      while (w < o.pos) {
        ssize_t n = write(out, ob + w, o.pos - w);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
          rc = cv_fail(c, PL_CONVERT_EIO, "writing the decompressed '%s' to '%s': %s", path, dir,
                       strerror(errno));
          break;
        }
        w += (size_t)n;
      }
    }
    off += got;
    cv_progress(c, got);
  }
  if (!rc && last != 0)
    rc = cv_fail(c, PL_CONVERT_EFORMAT, "'%s': zstd data cut short at offset %llu", path,
                 (unsigned long long)f.size);
  cv_file_close(&f);
  ZSTD_freeDCtx(z);
  free(ib);
  free(ob);
  if (!rc && unnamed) {
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", out);
    for (int tries = 0;; tries++) {
      snprintf(name, name_len, "%s/.mcapkit-db3-XXXXXX", dir);
      int t = mkostemp(name, O_CLOEXEC); /* reserve a fresh name, then link the file to it */
      if (t >= 0) {
        close(t);
        unlink(name);
      }
      if (t >= 0 && linkat(AT_FDCWD, proc, AT_FDCWD, name, AT_SYMLINK_FOLLOW) == 0) break;
      if (t < 0 || errno != EEXIST || tries > 100) {
        rc = cv_fail(c, PL_CONVERT_EIO, "cannot name a temporary file in '%s': %s", dir,
                     strerror(errno));
        break;
      }
    }
  }
  if (rc) {
    if (!unnamed) unlink(name);
    close(out);
    name[0] = '\0';
    return -1;
  }
  return out;
}

/* Resolve the schema of a ROS 2 type once per run. */
static int resolve_type(struct pl_convert *c, struct db *d, const char *type, int has_defs,
                        const char *topic, struct cv_type **out) {
  struct cv_type *t = cv_find_type(c, type);
  int rc;
  if (t) {
    *out = t;
    return PL_CONVERT_OK;
  }
  uint16_t sid = 0;
  pl_convert_schema_source src = PL_CONVERT_SCHEMA_MISSING;
  int idl = 0;
  if (has_defs) {
    sqlite3_stmt *st = NULL;
    if (pl__cv_sqlite.prepare_v2(d->sql,
                           "SELECT encoding, encoded_message_definition FROM message_definitions "
                           "WHERE topic_type = ? ORDER BY id LIMIT 1",
                           -1, &st, NULL) == SQLITE_OK) {
      pl__cv_sqlite.bind_text(st, 1, type, -1, SQLITE_STATIC);
      if (pl__cv_sqlite.step(st) == SQLITE_ROW) {
        const char *enc = (const char *)pl__cv_sqlite.column_text(st, 0);
        const uint8_t *def = pl__cv_sqlite.column_text(st, 1);
        size_t dl = (size_t)pl__cv_sqlite.column_bytes(st, 1);
        if (enc && def && dl && (strcmp(enc, "ros2msg") == 0 || strcmp(enc, "ros2idl") == 0)) {
          rc = cv_add_schema(c, mcap_str_c(type), mcap_str_c(enc),
                             (mcap_bytes){def, (uint64_t)dl}, &sid);
          if (rc) {
            pl__cv_sqlite.finalize(st);
            return rc;
          }
          src = PL_CONVERT_SCHEMA_DATABASE;
          idl = strcmp(enc, "ros2idl") == 0;
        }
      }
      pl__cv_sqlite.finalize(st);
    }
  }
  char *missing = NULL;
  if (!sid && c->o.n_msg_paths) {
    char *text = NULL;
    size_t tl = 0;
    rc = cv_msgdef_resolve(c->o.msg_paths, c->o.n_msg_paths, type, &text, &tl, &missing);
    if (rc == PL_CONVERT_ENOMEM) return cv_fail(c, rc, "out of memory");
    if (rc == PL_CONVERT_OK) {
      rc = cv_add_schema(c, mcap_str_c(type), mcap_str_c("ros2msg"),
                         (mcap_bytes){(const uint8_t *)text, tl}, &sid);
      free(text);
      if (rc) {
        free(missing);
        return rc;
      }
      src = PL_CONVERT_SCHEMA_MSG_PATH;
    }
  }
  if (!sid) {
    rc = cv_add_schema(c, mcap_str_c(type), mcap_str_c("ros2msg"), (mcap_bytes){NULL, 0}, &sid);
    if (!rc) {
      c->rep.schemas_missing++;
      if (missing && strcmp(missing, type) != 0)
        rc = cv_problem(c, 0, d->path, CV_NO_OFFSET, -1,
                        "type '%s' (topic '%s'): its dependency '%s' is not under the msg "
                        "paths; its schema is empty",
                        type, topic, missing);
      else
        rc = cv_problem(c, 0, d->path, CV_NO_OFFSET, -1,
                        "type '%s' (topic '%s'): no message definition found%s; its schema is "
                        "empty",
                        type, topic, c->o.n_msg_paths ? " under the msg paths" : " (give --msg-path)");
    }
    if (rc) {
      free(missing);
      return rc;
    }
  }
  free(missing);
  t = cv_add_type(c, type, sid, src);
  if (!t) return c->code;
  if (idl) t->encoding = "ros2idl";
  *out = t;
  return PL_CONVERT_OK;
}

static int topic_cmp(const void *a, const void *b) {
  const struct topicmap *x = a, *y = b;
  return x->id < y->id ? -1 : x->id > y->id;
}

/* Open one database file as a stream. `shown` is the name used in messages. */
static int open_db(struct pl_convert *c, const char *file, size_t input, int msg_zstd,
                   struct db **out, const char **meta_text) {
  *out = NULL;
  struct db *d = calloc(1, sizeof *d);
  if (!d) return cv_fail(c, PL_CONVERT_ENOMEM, "out of memory");
  d->base.ops = &db_ops;
  d->base.input = input;
  d->c = c;
  d->tmp_fd = -1;
  d->msg_zstd = msg_zstd;
  d->path = cv_strdup(file);
  int rc = PL_CONVERT_OK;
  char *uri = NULL;
  char tmpname[4096] = "";
  if (!d->path) {
    rc = cv_fail(c, PL_CONVERT_ENOMEM, "out of memory");
    goto fail;
  }
  uint8_t head[4] = {0};
  int fd = open(file, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    rc = cv_fail(c, PL_CONVERT_EIO, "'%s': %s", file, strerror(errno));
    goto fail;
  }
  ssize_t hn = read(fd, head, 4);
  close(fd);
  const char *dbpath = file;
  if (hn == 4 && memcmp(head, "\x28\xb5\x2f\xfd", 4) == 0) {
    d->tmp_fd = decompress_file(c, file, tmpname, sizeof tmpname);
    if (d->tmp_fd < 0) {
      rc = c->code;
      goto fail;
    }
    dbpath = tmpname;
  }
  uri = sqlite_uri(dbpath);
  if (!uri) {
    rc = cv_fail(c, PL_CONVERT_ENOMEM, "out of memory");
    goto fail;
  }
  rc = pl__cv_load_sqlite(c);
  if (rc) goto fail;
  int orc = pl__cv_sqlite.open_v2(uri, &d->sql, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL);
  if (orc == SQLITE_OK && tmpname[0]) /* make SQLite open the file now, then drop its name */
    orc = pl__cv_sqlite.exec(d->sql, "SELECT count(*) FROM sqlite_master", NULL, NULL, NULL);
  if (tmpname[0]) unlink(tmpname);
  if (orc != SQLITE_OK) {
    rc = cv_fail(c, PL_CONVERT_EIO, "'%s': cannot open the database: %s", file,
                 d->sql ? pl__cv_sqlite.errmsg(d->sql) : "out of memory");
    goto fail;
  }
  int has_topics = table_exists(d->sql, "topics");
  int has_messages = table_exists(d->sql, "messages");
  if (has_topics < 0 || has_messages < 0) {
    rc = cv_fail(c, PL_CONVERT_EFORMAT, "'%s': not an SQLite database (%s)", file,
                 pl__cv_sqlite.errmsg(d->sql));
    goto fail;
  }
  if (!has_topics || !has_messages || !column_exists(d->sql, "messages", "topic_id") ||
      !column_exists(d->sql, "messages", "timestamp") ||
      !column_exists(d->sql, "messages", "data") || !column_exists(d->sql, "topics", "name") ||
      !column_exists(d->sql, "topics", "type")) {
    rc = cv_fail(c, PL_CONVERT_EFORMAT,
                 "'%s': not a rosbag2 database (no %s table with the rosbag2 columns)", file,
                 !has_topics ? "'topics'" : "'messages'");
    goto fail;
  }
  int has_format = column_exists(d->sql, "topics", "serialization_format");
  int has_qos = column_exists(d->sql, "topics", "offered_qos_profiles");
  int has_defs = table_exists(d->sql, "message_definitions") == 1 &&
                 column_exists(d->sql, "message_definitions", "encoded_message_definition");
  char q[256];
  snprintf(q, sizeof q, "SELECT id, name, type, %s, %s FROM topics ORDER BY id",
           has_format ? "serialization_format" : "'cdr'", has_qos ? "offered_qos_profiles" : "''");
  sqlite3_stmt *st = NULL;
  if (pl__cv_sqlite.prepare_v2(d->sql, q, -1, &st, NULL) != SQLITE_OK) {
    rc = cv_fail(c, PL_CONVERT_EFORMAT, "'%s': reading the topics table: %s", file,
                 pl__cv_sqlite.errmsg(d->sql));
    goto fail;
  }
  size_t cap = 0;
  int r;
  while ((r = pl__cv_sqlite.step(st)) == SQLITE_ROW) {
    int64_t id = pl__cv_sqlite.column_int64(st, 0);
    const char *name = (const char *)pl__cv_sqlite.column_text(st, 1);
    const char *type = (const char *)pl__cv_sqlite.column_text(st, 2);
    const char *fmt = (const char *)pl__cv_sqlite.column_text(st, 3);
    const char *qos = (const char *)pl__cv_sqlite.column_text(st, 4);
    if (!name || !type) {
      rc = cv_problem(c, 1, file, CV_NO_OFFSET, id,
                      "topics row %lld: no name or type; its messages are dropped", (long long)id);
      if (rc) break;
      continue;
    }
    struct cv_type *t = NULL;
    rc = resolve_type(c, d, type, has_defs, name, &t);
    if (rc) break;
    mcap_kv md = {mcap_str_c("offered_qos_profiles"), mcap_str_c(qos ? qos : "")};
    struct cv_channel_def def;
    memset(&def, 0, sizeof def);
    def.topic = mcap_str_c(name);
    def.message_encoding = mcap_str_c(fmt ? fmt : "");
    def.schema_name = mcap_str_c(type);
    def.schema_encoding = mcap_str_c(t->encoding);
    def.schema_id = t->schema_id;
    def.source = t->source;
    def.metadata = &md;
    def.n_metadata = 1;
    uint16_t cid;
    uint32_t ti;
    rc = cv_add_channel(c, &def, &cid, &ti);
    if (rc) break;
    if (cv_grow((void **)&d->topics, &cap, d->n_topics + 1, sizeof *d->topics)) {
      rc = cv_fail(c, PL_CONVERT_ENOMEM, "out of memory");
      break;
    }
    d->topics[d->n_topics].id = id;
    d->topics[d->n_topics].channel = cid;
    d->topics[d->n_topics].topic = ti;
    d->n_topics++;
  }
  if (!rc && r != SQLITE_DONE)
    rc = cv_fail(c, PL_CONVERT_EFORMAT, "'%s': reading the topics table: %s", file,
                 pl__cv_sqlite.errmsg(d->sql));
  pl__cv_sqlite.finalize(st);
  if (rc) goto fail;
  /* The schema encoding of each topic follows its definition (ros2idl or ros2msg). */
  if (d->n_topics > 1) qsort(d->topics, d->n_topics, sizeof *d->topics, topic_cmp);
  if (pl__cv_sqlite.prepare_v2(d->sql,
                         "SELECT id, topic_id, timestamp, data FROM messages ORDER BY timestamp, id",
                         -1, &d->st, NULL) != SQLITE_OK) {
    rc = cv_fail(c, PL_CONVERT_EFORMAT, "'%s': reading the messages table: %s", file,
                 pl__cv_sqlite.errmsg(d->sql));
    goto fail;
  }
  /* rosbag2 (since Iron) keeps its metadata in the database too. */
  if (meta_text && table_exists(d->sql, "metadata") == 1) {
    sqlite3_stmt *m = NULL;
    if (pl__cv_sqlite.prepare_v2(d->sql, "SELECT metadata FROM metadata ORDER BY id DESC LIMIT 1", -1,
                           &m, NULL) == SQLITE_OK &&
        pl__cv_sqlite.step(m) == SQLITE_ROW && pl__cv_sqlite.column_text(m, 0)) {
      *meta_text = cv_strdup((const char *)pl__cv_sqlite.column_text(m, 0));
    }
    pl__cv_sqlite.finalize(m);
  }
  free(uri);
  *out = d;
  return PL_CONVERT_OK;
fail:
  if (tmpname[0]) unlink(tmpname);
  free(uri);
  db_free(&d->base);
  return rc;
}

static int write_meta(struct pl_convert *c, const char *text, size_t len, const mcap_kv *custom,
                      size_t n_custom) {
  mcap_kv kv = {mcap_str_c("serialized_metadata"), {text, (uint32_t)len}};
  if (mcap_writer_write_metadata(c->w, mcap_str_c("rosbag2"), &kv, 1) != MCAP_OK)
    return cv_fail(c, PL_CONVERT_EWRITE, "writing metadata: %s", mcap_writer_errmsg(c->w));
  c->rep.metadata++;
  if (n_custom) {
    if (mcap_writer_write_metadata(c->w, mcap_str_c("rosbag2_custom_data"), custom, n_custom) !=
        MCAP_OK)
      return cv_fail(c, PL_CONVERT_EWRITE, "writing metadata: %s", mcap_writer_errmsg(c->w));
    c->rep.metadata++;
  }
  return PL_CONVERT_OK;
}

static int name_cmp(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static int ends_with(const char *s, const char *suf) {
  size_t n = strlen(s), m = strlen(suf);
  return n >= m && strcmp(s + n - m, suf) == 0;
}

int cv_ros2_open(struct pl_convert *c, const char *path, pl_convert_kind kind, size_t input,
                 struct cv_stream ***streams, size_t *n, size_t *cap) {
  struct bagmeta m;
  memset(&m, 0, sizeof m);
  char **files = NULL;
  size_t n_files = 0, cap_files = 0;
  int rc = PL_CONVERT_OK, msg_zstd = -1;
  char *db_meta = NULL;
  char buf[4096];
  if (kind == PL_CONVERT_KIND_ROS2_DIR) {
    snprintf(buf, sizeof buf, "%s/metadata.yaml", path);
    rc = read_bagmeta(c, buf, &m);
    if (rc < 0) goto out;
    if (rc == 1) {
      rc = PL_CONVERT_OK;
      if (m.storage && *m.storage && strcmp(m.storage, "sqlite3") != 0) {
        rc = cv_fail(c, PL_CONVERT_EUNSUPPORTED,
                     "'%s': storage '%s' is not supported (only sqlite3; an 'mcap' bag is "
                     "already MCAP)",
                     buf, m.storage);
        goto out;
      }
      if (m.compression_format && *m.compression_format &&
          strcmp(m.compression_format, "zstd") != 0) {
        rc = cv_fail(c, PL_CONVERT_EUNSUPPORTED, "'%s': compression '%s' is not supported", buf,
                     m.compression_format);
        goto out;
      }
      msg_zstd = m.compression_mode && strcasecmp(m.compression_mode, "message") == 0 ? 1 : 0;
      for (size_t i = 0; i < m.n_files; i++) {
        if (cv_grow((void **)&files, &cap_files, n_files + 1, sizeof *files)) goto oom;
        /* Relative to the folder; early rosbag2 versions wrote "FOLDER/FILE". */
        struct stat st;
        if (m.files[i][0] == '/') snprintf(buf, sizeof buf, "%s", m.files[i]);
        else snprintf(buf, sizeof buf, "%s/%s", path, m.files[i]);
        const char *base = strrchr(m.files[i], '/');
        if (stat(buf, &st) != 0 && base) snprintf(buf, sizeof buf, "%s/%s", path, base + 1);
        if (stat(buf, &st) != 0) {
          c->rep.messages_lost_unknown = 1;
          rc = cv_problem(c, 1, buf, CV_NO_OFFSET, -1,
                          "listed in metadata.yaml but missing: its messages are lost");
          if (rc) goto out;
          continue;
        }
        if (!(files[n_files] = cv_strdup(buf))) goto oom;
        n_files++;
      }
    } else {
      rc = PL_CONVERT_OK;
    }
    if (!m.text) { /* no metadata.yaml: every database file in the folder */
      DIR *dir = opendir(path);
      if (!dir) {
        rc = cv_fail(c, PL_CONVERT_EIO, "'%s': %s", path, strerror(errno));
        goto out;
      }
      struct dirent *e;
      while ((e = readdir(dir)) != NULL) {
        if (e->d_name[0] == '.' || !(ends_with(e->d_name, ".db3") || ends_with(e->d_name, ".db3.zstd")))
          continue;
        if (cv_grow((void **)&files, &cap_files, n_files + 1, sizeof *files)) {
          closedir(dir);
          goto oom;
        }
        snprintf(buf, sizeof buf, "%s/%s", path, e->d_name);
        if (!(files[n_files] = cv_strdup(buf))) {
          closedir(dir);
          goto oom;
        }
        n_files++;
      }
      closedir(dir);
      if (n_files > 1) qsort(files, n_files, sizeof *files, name_cmp);
    }
    if (!n_files) {
      rc = cv_fail(c, PL_CONVERT_EFORMAT, "'%s': no database file in this rosbag2 folder", path);
      goto out;
    }
  } else {
    if (cv_grow((void **)&files, &cap_files, 1, sizeof *files) || !(files[0] = cv_strdup(path)))
      goto oom;
    n_files = 1;
  }

  for (size_t i = 0; i < n_files; i++) {
    struct db *d = NULL;
    rc = open_db(c, files[i], input, msg_zstd, &d, !m.text && !db_meta ? (const char **)&db_meta
                                                                        : NULL);
    if (rc) goto out;
    if (cv_grow((void **)streams, cap, *n + 1, sizeof **streams)) {
      db_free(&d->base);
      goto oom;
    }
    (*streams)[(*n)++] = &d->base;
    c->rep.inputs[input].files++;
  }
  if (m.text) rc = write_meta(c, m.text, m.len, m.custom, m.n_custom);
  else if (db_meta) rc = write_meta(c, db_meta, strlen(db_meta), NULL, 0);
  goto out;
oom:
  rc = cv_fail(c, PL_CONVERT_ENOMEM, "out of memory");
out:
  for (size_t i = 0; i < n_files; i++) free(files[i]);
  free(files);
  free(db_meta);
  bagmeta_free(&m);
  return rc;
}
