/*
 * lake_writer.c - pl_lake_write(): what a self-hosted site's lake holds after
 * importing a recording, written locally:
 *
 *   LAKE/<device>/<key>/<topic>.mcap     one file per topic: all of its channels and
 *                                        their schemas, every message unchanged (ids,
 *                                        sequence, times, bytes), chunked, every index,
 *                                        full summary with repeated definitions
 *   LAKE/<device>/<key>/_recording.mcap  the attachments and metadata, in file order
 *   LAKE/<device>/<key>/lake.json        [{path, topics}] as the lake-files endpoint
 *   LAKE/<device>/<key>/index.json       the recording index (docs/index-json.md)
 *
 * Atomic and re-runnable: everything is written into LAKE/tmp/<device>~<key>/
 * (under an flock on LAKE/tmp/<device>~<key>.lock, removed when the run ends) and
 * that directory is renamed into place as the last step, so a crash leaves no partial
 * recording visible; a re-run removes the leftover staging directory and
 * starts again; a recording whose folder exists with the same content hash is
 * skipped. Deterministic: the same input and options give the same bytes
 * (per-topic output depends only on the order of that topic's records, which
 * is file order, never on threads).
 *
 * One pass (pl__walk_file): each input chunk is decompressed once on the
 * calling thread and its records go straight to the per-topic writers. With
 * jobs >= 2 those writers share one libmcap compression pool of `jobs`
 * threads (mcap_pool: jobs - 1 threads plus the caller, which compresses a
 * queued chunk whenever a writer would wait), so the chunk compression (the
 * bulk of the work) runs on every core while each file keeps the bytes it has
 * with one thread. Memory is bounded by topics x (open chunk + the chunks in
 * flight, at most 2 x jobs per writer), not by the recording. (Measured on 2
 * cores against the earlier design, topics partitioned over worker threads
 * fed with 1 MiB batches of copied records: that ran 3-4 threads on 2 cores,
 * the biggest topic's worker set the pace, and it gained 1.4x from the second
 * core where the shared pool gains ~1.9x.) The input is walked with
 * pl__walk_file rather than the streamed reader so that a bad chunk can be
 * skipped (allow_partial) and attachments copied in pieces.
 *
 * Before the pass the recording is indexed without the doctor (fast path: no
 * chunk decompressed), which gives the topics, device, key and content hash;
 * the doctor runs on its own thread beside the pass and its findings are put
 * into index.json, which thus equals `mcapkit index --json --doctor` of the file. The
 * pass hands each chunk it decompressed (and CRC-checked) to the doctor
 * through a chunk feed, so every chunk is decompressed once, not twice (on
 * the 1 GiB zstd corpus that second decompression was a quarter of the CPU).
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "import_internal.h"

#define DEFAULT_LAKE_CHUNK (768u * 1024u)
#define FEED_DEPTH 4 /* decompressed chunks waiting for the doctor */
#define MAX_TOPICS 65536 /* at most one per channel id */

/* ======================================================== file helpers */

int pl__read_small_file(const char *path, size_t max, char **out, size_t *len, pl_error_info *err) {
  *out = NULL;
  *len = 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return pl_error_set_errno(err, errno, "cannot open '%s'", path);
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > max) {
    int e = errno;
    close(fd);
    if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > max)
      return pl_error_set(err, PL_EIO, UINT64_MAX,
                          "'%s' is not a regular file of at most %zu bytes", path, max);
    return pl_error_set_errno(err, e, "cannot stat '%s'", path);
  }
  size_t n = (size_t)st.st_size;
  char *buf = malloc(n + 1);
  if (!buf) {
    close(fd);
    return pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
  }
  size_t have = 0;
  while (have < n) {
    ssize_t r = read(fd, buf + have, n - have);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      int e = errno;
      free(buf);
      close(fd);
      return r == 0 ? pl_error_set(err, PL_EIO, UINT64_MAX, "'%s' shrank while being read", path)
                    : pl_error_set_errno(err, e, "reading '%s'", path);
    }
    have += (size_t)r;
  }
  close(fd);
  buf[n] = '\0';
  *out = buf;
  *len = n;
  return PL_OK;
}

int pl__write_file_atomic(const char *path, const void *data, size_t len, pl_error_info *err) {
  mcap_sink sink;
  mcap_error_info me;
  memset(&me, 0, sizeof me);
  int rc = mcap_sink_open_file(&sink, path, &me);
  if (rc) return pl_error_set_mcap(err, rc, UINT64_MAX, "%s", me.msg);
  rc = sink.write(sink.payload, data, len, &me);
  if (rc == MCAP_OK) rc = mcap_sink_commit(&sink, &me);
  if (rc) {
    pl_error_set_mcap(err, rc, UINT64_MAX, "%s", me.msg);
    mcap_sink_close(&sink, NULL);
    return err ? err->code : PL_EMCAP;
  }
  rc = mcap_sink_close(&sink, &me);
  if (rc) return pl_error_set_mcap(err, rc, UINT64_MAX, "%s", me.msg);
  return PL_OK;
}

static int safe_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

/* Sanitised copy; changed or overlong names get "-<8 hex>" of the original so they stay unique. */
static char *safe_name(const char *s, int topic_style) {
  size_t n = strlen(s);
  const char *in = s;
  if (topic_style && n && in[0] == '/') {
    in++;
    n--;
  }
  size_t keep = n > 180 ? 180 : n;
  char *out = malloc(keep + 16);
  if (!out) return NULL;
  int changed = keep != n;
  for (size_t i = 0; i < keep; i++) {
    char c = in[i];
    if (topic_style && c == '/') {
      out[i] = '.';
    } else if (safe_char(c)) {
      out[i] = c;
    } else {
      out[i] = '_';
      changed = 1;
    }
  }
  out[keep] = '\0';
  if (keep == 0) {
    out[0] = '_';
    out[1] = '\0';
    keep = 1;
    changed = 1;
  }
  if (out[0] == '.') {
    out[0] = '_';
    changed = 1;
  }
  if (!topic_style && strcmp(out, "tmp") == 0) changed = 1; /* LAKE/tmp is the staging area */
  if (changed) snprintf(out + keep, 16, "-%08x", (unsigned)pl_hash64(s, strlen(s)));
  return out;
}

char *pl__safe_component(const char *s) {
  return safe_name(s ? s : "", 0);
}

char *pl__lake_recording_dir(const pl_recording_index *ix, const char *device, const char *key) {
  const char *d = device && *device                     ? device
                  : ix->device_name && *ix->device_name ? ix->device_name
                  : ix->device_id && *ix->device_id     ? ix->device_id
                                                        : "unknown-device";
  const char *k = key && *key ? key : ix->key && *ix->key ? ix->key : ix->content_hash;
  char *sd = pl__safe_component(d), *sk = pl__safe_component(k);
  char *out = NULL;
  if (sd && sk) {
    size_t n = strlen(sd) + strlen(sk) + 2;
    out = malloc(n);
    if (out) snprintf(out, n, "%s/%s", sd, sk);
  }
  free(sd);
  free(sk);
  return out;
}

static char *join(const char *a, const char *b) {
  size_t n = strlen(a) + strlen(b) + 2;
  char *p = malloc(n);
  if (p) snprintf(p, n, "%s/%s", a, b);
  return p;
}

static int mkdirs(const char *path, pl_error_info *err) {
  char *p = pl_strdup(path);
  if (!p) return pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
  for (char *s = p + 1; *s; s++) {
    if (*s != '/') continue;
    *s = '\0';
    if (mkdir(p, 0777) != 0 && errno != EEXIST) {
      int e = errno;
      int rc = pl_error_set_errno(err, e, "cannot create directory '%s'", p);
      free(p);
      return rc;
    }
    *s = '/';
  }
  int rc = PL_OK;
  if (mkdir(p, 0777) != 0 && errno != EEXIST)
    rc = pl_error_set_errno(err, errno, "cannot create directory '%s'", p);
  free(p);
  return rc;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb;
  (void)ftw;
  if (flag == FTW_DP) return rmdir(path) != 0 && errno != ENOENT ? -1 : 0;
  return unlink(path) != 0 && errno != ENOENT ? -1 : 0;
}

static int remove_tree(const char *path, pl_error_info *err) {
  struct stat st;
  if (lstat(path, &st) != 0)
    return errno == ENOENT ? PL_OK : pl_error_set_errno(err, errno, "cannot stat '%s'", path);
  if (nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
    return pl_error_set_errno(err, errno, "cannot remove '%s'", path);
  return PL_OK;
}

static int fsync_dir(const char *path) {
  int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return -1;
  int rc = fsync(fd);
  if (rc != 0 && (errno == EINVAL || errno == EROFS)) rc = 0;
  close(fd);
  return rc;
}

/* ====================================================== the lake writer */

struct topic_out {
  char *topic;
  char *file;     /* "<safe>.mcap" */
  mcap_sink sink;
  int sink_open;
  mcap_writer *w;
};

struct lake {
  const pl_lake_options *o;
  pl_error_info *err;
  const pl_recording_index *ix;
  char *stage; /* staging directory */
  mcap_writer_options wo;
  struct topic_out **topics; /* MAX_TOPICS slots */
  size_t n_topics;
  int32_t *chan_topic;  /* [65536] channel id -> topic, -1 unknown */
  uint8_t *chan_skip;   /* [65536] channel dropped (partial mode) */
  mcap_schema *schemas; /* [65536] copies seen in the data (data.data NULL if none) */
  uint8_t *schema_seen; /* [65536] */
  mcap_pool *pool;      /* compression threads the writers share; NULL = one thread */
  mcap_sink rec_sink;
  int rec_sink_open;
  mcap_writer *rec;
  int files_done;
  int partial_seen;
};

/* The doctor, run beside the lake pass; its findings go into index.json as `mcapkit index`
 * would list them (the index itself is made without it, so the pass need not wait). */
struct doctor_job {
  const char *path;
  pl_feed *feed; /* the pass's decompressed chunks, so the doctor need not redo them */
  pthread_t th;
  int started;
  int rc;
  pl_doctor_report *report;
  pl_error_info err;
};

static void *doctor_main(void *arg) {
  struct doctor_job *d = arg;
  mcap_source src;
  mcap_error_info me;
  memset(&me, 0, sizeof me);
  if (mcap_source_open_file(&src, d->path, &me) != MCAP_OK) {
    d->rc = pl_error_set(&d->err, PL_EIO, UINT64_MAX, "%.200s", me.msg);
    return NULL;
  }
  d->rc = pl_doctor_run_fed(&src, NULL, d->feed, &d->report, &d->err);
  return NULL;
}

/* ---- writing records to a topic writer (the caller's thread) */

static int writer_err(struct lake *lk, struct topic_out *t, int rc, const char *what) {
  return pl_error_set(lk->err, rc == MCAP_ENOMEM ? PL_ENOMEM : PL_EMCAP, UINT64_MAX, "%s '%s': %s",
                      what, t->file, mcap_writer_errmsg(t->w));
}

static int route_def(struct lake *lk, int topic, const mcap_record *rec) {
  struct topic_out *t = lk->topics[topic];
  int rc = rec->opcode == MCAP_OP_SCHEMA ? mcap_writer_put_schema(t->w, &rec->u.schema)
                                         : mcap_writer_put_channel(t->w, &rec->u.channel);
  return rc ? writer_err(lk, t, rc, "writing") : PL_OK;
}

static int route_msg(struct lake *lk, int topic, const mcap_message *m) {
  struct topic_out *t = lk->topics[topic];
  int rc = mcap_writer_write_message(t->w, m);
  return rc ? writer_err(lk, t, rc, "writing") : PL_OK;
}

/* Finish every topic writer. */
static int close_writers(struct lake *lk) {
  for (size_t i = 0; i < lk->n_topics; i++) {
    struct topic_out *t = lk->topics[i];
    if (!t->w) continue;
    int rc = mcap_writer_close(t->w);
    if (rc) return writer_err(lk, t, rc, "finishing");
  }
  return PL_OK;
}

static int cmp_topic_name(const void *a, const void *b) {
  return strcmp((*(struct topic_out *const *)a)->topic, (*(struct topic_out *const *)b)->topic);
}

static int find_topic(const struct lake *lk, const char *topic, size_t len) {
  for (size_t i = 0; i < lk->n_topics; i++)
    if (strlen(lk->topics[i]->topic) == len && memcmp(lk->topics[i]->topic, topic, len) == 0)
      return (int)i;
  return -1;
}

/* Give topic i its file name: unique (case-insensitively) and not a reserved name. */
static int name_topic(struct lake *lk, size_t i) {
  struct topic_out *t = lk->topics[i];
  char *base = safe_name(t->topic, 1);
  if (!base) return PL_ENOMEM;
  size_t n = strlen(base) + 40;
  unsigned h = (unsigned)pl_hash64(t->topic, strlen(t->topic));
  for (int attempt = 0;; attempt++) {
    char *file = malloc(n);
    if (!file) {
      free(base);
      return PL_ENOMEM;
    }
    if (attempt == 0)
      snprintf(file, n, "%s.mcap", base);
    else if (attempt == 1)
      snprintf(file, n, "%s-%08x.mcap", base, h);
    else
      snprintf(file, n, "%s-%08x-%d.mcap", base, h, attempt);
    int clash = strcasecmp(file, PL_LAKE_RECORDING_FILE) == 0;
    for (size_t k = 0; k < lk->n_topics && !clash; k++)
      if (k != i && lk->topics[k]->file && strcasecmp(lk->topics[k]->file, file) == 0) clash = 1;
    if (!clash) {
      t->file = file;
      free(base);
      return PL_OK;
    }
    free(file);
  }
}

static int open_topic(struct lake *lk, size_t i) {
  struct topic_out *t = lk->topics[i];
  char *path = join(lk->stage, t->file);
  if (!path) return pl_error_set(lk->err, PL_ENOMEM, UINT64_MAX, "out of memory");
  mcap_error_info me;
  memset(&me, 0, sizeof me);
  int rc = mcap_sink_open_file(&t->sink, path, &me);
  free(path);
  if (rc) return pl_error_set_mcap(lk->err, rc, UINT64_MAX, "%s", me.msg);
  t->sink_open = 1;
  rc = mcap_writer_open(&t->w, &t->sink, &lk->wo);
  if (rc) return pl_error_set_mcap(lk->err, rc, UINT64_MAX, "opening a writer for '%s'", t->file);
  return PL_OK;
}

/* A topic met in the data that the index did not list (only possible for inconsistent files). */
static int add_topic(struct lake *lk, const char *topic, size_t len) {
  if (lk->n_topics >= MAX_TOPICS) return -1;
  struct topic_out *t = calloc(1, sizeof *t);
  if (!t) return -1;
  lk->topics[lk->n_topics] = t;
  t->topic = malloc(len + 1);
  if (!t->topic) return -1;
  memcpy(t->topic, topic, len);
  t->topic[len] = '\0';
  lk->n_topics++;
  if (name_topic(lk, lk->n_topics - 1) != PL_OK) return -1;
  return (int)lk->n_topics - 1;
}

/* ---- walker callbacks */

static int lk_schema(void *ctx, const mcap_schema *s) {
  struct lake *lk = ctx;
  if (s->id == 0 || lk->schema_seen[s->id]) return PL_OK;
  mcap_schema *c = &lk->schemas[s->id];
  *c = *s;
  size_t n = (size_t)s->name.len + s->encoding.len + (size_t)s->data.len;
  char *buf = malloc(n ? n : 1);
  if (!buf) return pl_error_set(lk->err, PL_ENOMEM, UINT64_MAX, "out of memory");
  if (s->name.len) memcpy(buf, s->name.data, s->name.len);
  if (s->encoding.len) memcpy(buf + s->name.len, s->encoding.data, s->encoding.len);
  if (s->data.len) memcpy(buf + s->name.len + s->encoding.len, s->data.data, (size_t)s->data.len);
  c->name.data = buf;
  c->encoding.data = buf + s->name.len;
  c->data.data = (const uint8_t *)buf + s->name.len + s->encoding.len;
  lk->schema_seen[s->id] = 1;
  return PL_OK;
}

static int lk_channel(void *ctx, const mcap_channel *c) {
  struct lake *lk = ctx;
  if (lk->chan_topic[c->id] >= 0 || lk->chan_skip[c->id]) {
    /* a repeated definition goes to the same topic file (the writer checks it is identical) */
    if (lk->chan_topic[c->id] < 0) return PL_OK;
    mcap_record rec;
    memset(&rec, 0, sizeof rec);
    rec.opcode = MCAP_OP_CHANNEL;
    rec.u.channel = *c;
    return route_def(lk, lk->chan_topic[c->id], &rec);
  }
  if (c->schema_id != 0 && !lk->schema_seen[c->schema_id]) {
    if (!lk->o->allow_partial)
      return pl_error_set(lk->err, PL_EPARTIAL, UINT64_MAX,
                          "channel %u ('%.*s') refers to schema %u, which is not defined before it",
                          c->id, (int)c->topic.len, c->topic.data, c->schema_id);
    lk->chan_skip[c->id] = 1;
    lk->partial_seen = 1;
    return PL_OK;
  }
  int t = find_topic(lk, c->topic.data ? c->topic.data : "", c->topic.len);
  if (t < 0) {
    t = add_topic(lk, c->topic.data ? c->topic.data : "", c->topic.len);
    if (t < 0) return pl_error_set(lk->err, PL_ENOMEM, UINT64_MAX, "out of memory");
    int rc = open_topic(lk, (size_t)t);
    if (rc) return rc;
  }
  lk->chan_topic[c->id] = t;
  mcap_record rec;
  int rc;
  if (c->schema_id != 0) {
    memset(&rec, 0, sizeof rec);
    rec.opcode = MCAP_OP_SCHEMA;
    rec.u.schema = lk->schemas[c->schema_id];
    if ((rc = route_def(lk, t, &rec))) return rc;
  }
  memset(&rec, 0, sizeof rec);
  rec.opcode = MCAP_OP_CHANNEL;
  rec.u.channel = *c;
  return route_def(lk, t, &rec);
}

static int lk_message(void *ctx, const mcap_message *m) {
  struct lake *lk = ctx;
  int t = lk->chan_topic[m->channel_id];
  if (t < 0) return PL_OK; /* undefined channel: not part of any topic (the index says so) */
  return route_msg(lk, t, m);
}

static int lk_att_begin(void *ctx, const mcap_attachment *a, uint64_t offset) {
  struct lake *lk = ctx;
  (void)offset;
  int rc = mcap_writer_attachment_begin(lk->rec, a->log_time, a->create_time, a->name,
                                        a->media_type, a->data.len);
  return rc ? pl_error_set_mcap(lk->err, rc, UINT64_MAX, "writing '%s': %s", PL_LAKE_RECORDING_FILE,
                                mcap_writer_errmsg(lk->rec))
            : PL_OK;
}

static int lk_att_data(void *ctx, const uint8_t *p, size_t n) {
  struct lake *lk = ctx;
  int rc = mcap_writer_attachment_write(lk->rec, p, n);
  return rc ? pl_error_set_mcap(lk->err, rc, UINT64_MAX, "writing '%s': %s", PL_LAKE_RECORDING_FILE,
                                mcap_writer_errmsg(lk->rec))
            : PL_OK;
}

static int lk_att_end(void *ctx, uint32_t stored, uint32_t computed) {
  struct lake *lk = ctx;
  (void)stored;
  (void)computed;
  int rc = mcap_writer_attachment_end(lk->rec);
  return rc ? pl_error_set_mcap(lk->err, rc, UINT64_MAX, "writing '%s': %s", PL_LAKE_RECORDING_FILE,
                                mcap_writer_errmsg(lk->rec))
            : PL_OK;
}

static int lk_metadata(void *ctx, const mcap_metadata *m, uint64_t offset) {
  struct lake *lk = ctx;
  (void)offset;
  int rc = mcap_writer_write_metadata_record(lk->rec, m);
  return rc ? pl_error_set_mcap(lk->err, rc, UINT64_MAX, "writing '%s': %s", PL_LAKE_RECORDING_FILE,
                                mcap_writer_errmsg(lk->rec))
            : PL_OK;
}

static int lk_problem(void *ctx, pl_severity sev, const char *code, uint64_t offset,
                      const char *msg) {
  struct lake *lk = ctx;
  (void)code;
  if (sev != PL_SEV_ERROR) return PL_OK;
  lk->partial_seen = 1;
  if (lk->o->allow_partial) return PL_OK;
  return pl_error_set(lk->err, PL_EPARTIAL, offset, "%s", msg);
}

/* ---- setup and teardown */

static void lake_dispose(struct lake *lk) {
  for (size_t i = 0; i < lk->n_topics && lk->topics; i++) {
    mcap_writer_free(lk->topics[i]->w);
    if (lk->topics[i]->sink_open) mcap_sink_close(&lk->topics[i]->sink, NULL);
    free(lk->topics[i]->topic);
    free(lk->topics[i]->file);
    free(lk->topics[i]);
  }
  free(lk->topics);
  mcap_writer_free(lk->rec);
  if (lk->rec_sink_open) mcap_sink_close(&lk->rec_sink, NULL);
  mcap_pool_free(lk->pool); /* after every writer that used it */
  if (lk->schemas) {
    for (size_t i = 0; i < 65536; i++)
      if (lk->schema_seen[i]) free((void *)lk->schemas[i].name.data);
  }
  free(lk->schemas);
  free(lk->schema_seen);
  free(lk->chan_topic);
  free(lk->chan_skip);
}

/* The compression pool the writers share (jobs: 0 = cores; 1 = none, the caller compresses). */
static int start_pool(struct lake *lk, int jobs) {
  if (jobs <= 0) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    jobs = n > 0 ? (int)(n > 64 ? 64 : n) : 1;
  }
  if (jobs < 2) return PL_OK;
  if (mcap_pool_new(&lk->pool, jobs) != MCAP_OK)
    return pl_error_set(lk->err, PL_ENOMEM, UINT64_MAX, "out of memory");
  lk->wo.pool = lk->pool;
  return PL_OK;
}

/* Count a committed file; the test hook fails after N of them. */
static int file_done(struct lake *lk) {
  lk->files_done++;
  if (lk->o->fail_after_files > 0 && lk->files_done >= lk->o->fail_after_files)
    return pl_error_set(lk->err, PL_EIO, UINT64_MAX, "injected failure after %d files (test hook)",
                        lk->files_done);
  return PL_OK;
}

static int commit_sink(struct lake *lk, mcap_sink *sink, int *open) {
  mcap_error_info me;
  memset(&me, 0, sizeof me);
  int rc = mcap_sink_commit(sink, &me);
  if (rc == MCAP_OK) {
    rc = mcap_sink_close(sink, &me);
    *open = 0;
  }
  if (rc) return pl_error_set_mcap(lk->err, rc, UINT64_MAX, "%s", me.msg);
  return file_done(lk);
}

static int topics_from_index(struct lake *lk) {
  const pl_recording_index *ix = lk->ix;
  for (size_t i = 0; i < ix->n_topics; i++) {
    if (find_topic(lk, ix->topics[i].topic, strlen(ix->topics[i].topic)) >= 0) continue;
    if (lk->n_topics >= MAX_TOPICS) return PL_ENOMEM;
    struct topic_out *o = calloc(1, sizeof *o);
    if (!o) return PL_ENOMEM;
    lk->topics[lk->n_topics] = o;
    o->topic = pl_strdup(ix->topics[i].topic);
    if (!o->topic) return PL_ENOMEM;
    lk->n_topics++;
  }
  if (lk->n_topics) qsort(lk->topics, lk->n_topics, sizeof *lk->topics, cmp_topic_name);
  for (size_t i = 0; i < lk->n_topics; i++)
    if (name_topic(lk, i) != PL_OK) return PL_ENOMEM;
  return PL_OK;
}

/* The result's file list (topic files, by topic) from the plan. */
static int fill_files(struct lake *lk, const char *recdir, pl_lake_file **files, size_t *n) {
  *files = calloc(lk->n_topics ? lk->n_topics : 1, sizeof **files);
  *n = 0;
  if (!*files) return PL_ENOMEM;
  for (size_t i = 0; i < lk->n_topics; i++) {
    pl_lake_file *f = &(*files)[(*n)++];
    f->path = join(recdir, lk->topics[i]->file);
    f->topics = malloc(sizeof *f->topics);
    if (!f->path || !f->topics) return PL_ENOMEM;
    f->topics[0] = pl_strdup(lk->topics[i]->topic);
    if (!f->topics[0]) return PL_ENOMEM;
    f->n_topics = 1;
  }
  return PL_OK;
}

/* An existing recording folder: skipped when it holds this content, else a conflict. */
static int check_existing(const char *dest, const char *recdir, const pl_recording_index *ix,
                          pl_lake_result *res, pl_error_info *err) {
  char *ipath = join(dest, PL_LAKE_INDEX_JSON), *lpath = join(dest, PL_LAKE_JSON);
  char *text = NULL;
  size_t len = 0;
  pl_recording_index *old = NULL;
  int rc = PL_OK;
  if (!ipath || !lpath) {
    rc = pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
    goto out;
  }
  pl_error_info e;
  memset(&e, 0, sizeof e);
  if (pl__read_small_file(ipath, (size_t)1 << 30, &text, &len, &e) != PL_OK ||
      pl_index_from_json(text, len, &old, &e) != PL_OK) {
    rc = pl_error_set(err, PL_ECONFLICT, UINT64_MAX,
                      "'%s' exists but is not a complete lake recording (%s)", dest, e.msg);
    goto out;
  }
  if (strcmp(old->content_hash, ix->content_hash) != 0) {
    rc = pl_error_set(err, PL_ECONFLICT, UINT64_MAX,
                      "'%s' holds a different recording (content %s, this file %s)", dest,
                      old->content_hash, ix->content_hash);
    goto out;
  }
  free(text);
  text = NULL;
  if ((rc = pl__read_small_file(lpath, (size_t)1 << 30, &text, &len, err))) goto out;
  if ((rc = pl__lake_json_parse(text, len, &res->files, &res->n_files, err))) goto out;
  res->skipped = 1;
  res->recording_dir = pl_strdup(recdir);
  if (!res->recording_dir) rc = pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
out:
  free(ipath);
  free(lpath);
  free(text);
  pl_recording_index_free(old);
  return rc;
}

/* Take the lock of a recording's staging directory (LAKE/tmp/<device>~<key>.lock).
 * The holder removes the file before it lets go, so a run that opened the old file
 * just before may get a lock on a file that no longer has that name: it checks that
 * the name still leads to the file it locked and otherwise tries again. */
static int lock_stage(const char *lockpath, const char *recdir, int *out, pl_error_info *err) {
  *out = -1;
  for (int attempt = 0; attempt < 100; attempt++) {
    int fd = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (fd < 0) return pl_error_set_errno(err, errno, "cannot create '%s'", lockpath);
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
      int e = errno;
      close(fd);
      return e == EWOULDBLOCK ? pl_error_set(err, PL_ECONFLICT, UINT64_MAX,
                                             "'%s' is being written by another process", recdir)
                              : pl_error_set_errno(err, e, "cannot lock '%s'", lockpath);
    }
    struct stat held, named;
    if (fstat(fd, &held) == 0 && stat(lockpath, &named) == 0 && held.st_dev == named.st_dev &&
        held.st_ino == named.st_ino) {
      *out = fd;
      return PL_OK;
    }
    close(fd);
  }
  return pl_error_set(err, PL_ECONFLICT, UINT64_MAX, "'%s' is being written by another process",
                      recdir);
}

void pl_lake_result_dispose(pl_lake_result *res) {
  if (!res) return;
  free(res->recording_dir);
  pl__lake_files_free(res->files, res->n_files);
  memset(res, 0, sizeof *res);
}

int pl_lake_write(const char *mcap_path, const char *lake_dir, const pl_lake_options *opts,
                  pl_lake_result *res, pl_error_info *err) {
  if (!mcap_path || !lake_dir || !res)
    return pl_error_set(err, PL_EINVAL, UINT64_MAX, "invalid argument");
  memset(res, 0, sizeof *res);
  pl_lake_options defaults;
  memset(&defaults, 0, sizeof defaults);
  const pl_lake_options *o = opts ? opts : &defaults;
  if (!mcap_compression_name(o->compression))
    return pl_error_set(err, PL_EINVAL, UINT64_MAX, "invalid compression %d", (int)o->compression);

  struct lake lk;
  memset(&lk, 0, sizeof lk);
  lk.o = o;
  lk.err = err;
  pl_recording_index *ix = NULL;
  struct doctor_job doc;
  memset(&doc, 0, sizeof doc);
  doc.path = mcap_path;
  char *recdir = NULL, *dest = NULL, *tmpdir = NULL, *lockpath = NULL, *devdir = NULL;
  char *json = NULL;
  int lockfd = -1, keep_stage = 0, rc;

  /* 1. the index: topics, device and key, content hash, and whether all data can be read */
  pl_index_options io;
  memset(&io, 0, sizeof io);
  io.tolerance_s = -1;
  io.threads = 1;
  io.no_doctor = 1; /* run below, beside the pass */
  if ((rc = pl_index_file(mcap_path, &io, &ix, err))) goto out;
  if (ix->partial && !o->allow_partial) {
    const char *why = "";
    for (size_t i = 0; i < ix->n_problems && !*why; i++)
      if (ix->problems[i].severity == PL_SEV_ERROR) why = ix->problems[i].message;
    rc = pl_error_set(err, PL_EPARTIAL, UINT64_MAX, "'%s' cannot be read completely (%s)",
                      mcap_path, why);
    goto out;
  }

  /* 2. where it goes; done already? */
  recdir = pl__lake_recording_dir(ix, o->device, o->key);
  if (!recdir) goto oom;
  dest = join(lake_dir, recdir);
  tmpdir = join(lake_dir, "tmp");
  if (!dest || !tmpdir) goto oom;
  struct stat st;
  if (stat(dest, &st) == 0) {
    rc = check_existing(dest, recdir, ix, res, err);
    goto out;
  }
  if ((rc = mkdirs(tmpdir, err))) goto out;
  {
    const char *slash = strchr(recdir, '/');
    size_t n = strlen(tmpdir) + strlen(recdir) + 8;
    lk.stage = malloc(n);
    lockpath = malloc(n);
    devdir = malloc(strlen(lake_dir) + strlen(recdir) + 2);
    if (!lk.stage || !lockpath || !devdir) goto oom;
    snprintf(lk.stage, n, "%s/%.*s~%s", tmpdir, (int)(slash - recdir), recdir, slash + 1);
    snprintf(lockpath, n, "%s.lock", lk.stage);
    snprintf(devdir, strlen(lake_dir) + strlen(recdir) + 2, "%s/%.*s", lake_dir,
             (int)(slash - recdir), recdir);
  }
  if ((rc = lock_stage(lockpath, recdir, &lockfd, err))) goto out;
  /* another process may have finished it while we waited for nothing */
  if (stat(dest, &st) == 0) {
    rc = check_existing(dest, recdir, ix, res, err);
    goto out;
  }
  /* a leftover from a run that crashed: start again */
  if ((rc = remove_tree(lk.stage, err))) goto out;
  if (mkdir(lk.stage, 0777) != 0) {
    rc = pl_error_set_errno(err, errno, "cannot create directory '%s'", lk.stage);
    goto out;
  }

  /* 3. the plan: one file per topic, writers open */
  lk.ix = ix;
  mcap_writer_options_init(&lk.wo);
  lk.wo.profile = ix->profile;
  lk.wo.compression =
      o->compression == MCAP_COMPRESSION_DEFAULT ? MCAP_COMPRESSION_ZSTD : o->compression;
  lk.wo.compression_level = o->compression_level;
  lk.wo.chunk_size = o->chunk_size ? o->chunk_size : DEFAULT_LAKE_CHUNK;
  lk.topics = calloc(MAX_TOPICS, sizeof *lk.topics);
  lk.chan_topic = malloc(65536 * sizeof *lk.chan_topic);
  lk.chan_skip = calloc(65536, 1);
  lk.schemas = calloc(65536, sizeof *lk.schemas);
  lk.schema_seen = calloc(65536, 1);
  if (!lk.topics || !lk.chan_topic || !lk.chan_skip || !lk.schemas || !lk.schema_seen) goto oom;
  for (size_t i = 0; i < 65536; i++) lk.chan_topic[i] = -1;
  if (topics_from_index(&lk)) goto oom;
  if ((rc = start_pool(&lk, o->jobs))) goto out;
  for (size_t i = 0; i < lk.n_topics; i++)
    if ((rc = open_topic(&lk, i))) goto out;
  {
    char *rpath = join(lk.stage, PL_LAKE_RECORDING_FILE);
    if (!rpath) goto oom;
    mcap_error_info me;
    memset(&me, 0, sizeof me);
    rc = mcap_sink_open_file(&lk.rec_sink, rpath, &me);
    free(rpath);
    if (rc) {
      rc = pl_error_set_mcap(err, rc, UINT64_MAX, "%s", me.msg);
      goto out;
    }
    lk.rec_sink_open = 1;
    if ((rc = mcap_writer_open(&lk.rec, &lk.rec_sink, &lk.wo))) {
      rc = pl_error_set_mcap(err, rc, UINT64_MAX, "opening the writer of %s",
                             PL_LAKE_RECORDING_FILE);
      goto out;
    }
  }
  /* Beside the pass the doctor takes the chunks it decompressed; run alone (no thread) it
   * must decompress them itself. A feed that cannot be made only costs that time. */
  if (pl_feed_new(&doc.feed, FEED_DEPTH) != PL_OK) doc.feed = NULL;
  if (pthread_create(&doc.th, NULL, doctor_main, &doc) == 0) {
    doc.started = 1;
  } else {
    pl_feed_free(doc.feed);
    doc.feed = NULL;
    doctor_main(&doc);
  }

  /* 4. one pass */
  {
    mcap_source src;
    mcap_error_info me;
    memset(&me, 0, sizeof me);
    rc = mcap_source_open_file(&src, mcap_path, &me);
    if (rc) {
      rc = pl_error_set_mcap(err, rc, UINT64_MAX, "%s", me.msg);
      goto out;
    }
    pl__walk_cb cb;
    memset(&cb, 0, sizeof cb);
    cb.ctx = &lk;
    cb.schema = lk_schema;
    cb.channel = lk_channel;
    cb.message = lk_message;
    cb.attachment_begin = lk_att_begin;
    cb.attachment_data = lk_att_data;
    cb.attachment_end = lk_att_end;
    cb.metadata = lk_metadata;
    cb.problem = lk_problem;
    cb.feed = doc.feed;
    cb.summary_defs = 1; /* a topic the summary alone defines gets its (empty) file too */
    cb.progress = o->progress;
    cb.progress_ctx = o->progress_ctx;
    pl__walk_stats ws;
    rc = pl__walk_file(&src, 0, &cb, &ws, err);
    if (doc.feed) pl_feed_finish(doc.feed);
    mcap_source_close(&src);
    if (rc) goto out;
  }
  if ((rc = close_writers(&lk))) goto out;
  if ((rc = mcap_writer_close(lk.rec))) {
    rc = pl_error_set_mcap(err, rc, UINT64_MAX, "finishing %s: %s", PL_LAKE_RECORDING_FILE,
                           mcap_writer_errmsg(lk.rec));
    goto out;
  }

  /* 5. commit the files, then the listings */
  for (size_t i = 0; i < lk.n_topics; i++) {
    if ((rc = commit_sink(&lk, &lk.topics[i]->sink, &lk.topics[i]->sink_open))) {
      keep_stage = 1;
      goto out;
    }
  }
  if ((rc = commit_sink(&lk, &lk.rec_sink, &lk.rec_sink_open))) {
    keep_stage = 1;
    goto out;
  }
  if ((rc = fill_files(&lk, recdir, &res->files, &res->n_files))) goto oom;
  {
    char *p = join(lk.stage, PL_LAKE_JSON);
    if (!p) goto oom;
    rc = pl__lake_json(res->files, res->n_files, &json, err);
    if (rc == PL_OK) rc = pl__write_file_atomic(p, json, strlen(json), err);
    free(p);
    free(json);
    json = NULL;
    if (rc == PL_OK) rc = file_done(&lk);
    if (rc) {
      keep_stage = 1;
      goto out;
    }
    p = join(lk.stage, PL_LAKE_INDEX_JSON);
    if (!p) goto oom;
    if (doc.started) pthread_join(doc.th, NULL);
    doc.started = 0;
    rc = pl__index_add_doctor(ix, doc.rc, doc.report, &doc.err);
    if (rc) rc = pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
    if (rc == PL_OK) rc = pl_index_to_json(ix, &json, err);
    if (rc == PL_OK) rc = pl__write_file_atomic(p, json, strlen(json), err);
    free(p);
    if (rc == PL_OK) rc = file_done(&lk);
    if (rc) {
      keep_stage = 1;
      goto out;
    }
  }

  /* 6. publish: one rename makes the whole recording visible */
  if (fsync_dir(lk.stage) != 0) {
    rc = pl_error_set_errno(err, errno, "syncing '%s'", lk.stage);
    goto out;
  }
  if ((rc = mkdirs(devdir, err))) goto out;
  if (rename(lk.stage, dest) != 0) {
    int e = errno;
    if ((e == EEXIST || e == ENOTEMPTY) && stat(dest, &st) == 0) {
      pl_lake_result_dispose(res);
      rc = check_existing(dest, recdir, ix, res, err);
      goto out;
    }
    rc = pl_error_set_errno(err, e, "cannot rename '%s' to '%s'", lk.stage, dest);
    goto out;
  }
  (void)fsync_dir(devdir);
  (void)fsync_dir(tmpdir);
  if (ix->partial || lk.partial_seen) {
    res->damage = ix->damage;
    if (!res->damage.problems) {
      res->damage.problems = 1;
      res->damage.code = MCAP_ESCHEMA_ID;
      res->damage.first_offset = UINT64_MAX;
      snprintf(res->damage.msg, sizeof res->damage.msg,
               "channels whose schema is not defined before them were left out");
    }
  }
  res->recording_dir = pl_strdup(recdir);
  if (!res->recording_dir) goto oom;
  rc = PL_OK;
  goto out;
oom:
  rc = pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
out:
  if (doc.feed) pl_feed_finish(doc.feed); /* a failed pass: the doctor must not wait for it */
  if (doc.started) pthread_join(doc.th, NULL);
  pl_feed_free(doc.feed);
  pl_doctor_report_free(doc.report);
  lake_dispose(&lk);
  if (rc != PL_OK) {
    /* once files are committed, a failure (or the injected one) leaves the staging directory as
     * a crash would; the next run removes it */
    if (lk.stage && !keep_stage) remove_tree(lk.stage, NULL);
    pl_lake_result_dispose(res);
  }
  if (lockfd >= 0) {
    /* removed while still held, so that no run leaves it behind (see lock_stage) */
    unlink(lockpath);
    close(lockfd);
  }
  free(json);
  free(lk.stage);
  free(lockpath);
  free(devdir);
  free(recdir);
  free(dest);
  free(tmpdir);
  pl_recording_index_free(ix);
  return rc;
}
