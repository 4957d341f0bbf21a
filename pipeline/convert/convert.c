/*
 * convert.c - the pl_convert handle: input detection, the report, channel and
 * schema registration shared by the readers, and the run itself: every
 * input's streams merged by log time (a binary heap, ties in input order)
 * into one libmcap writer.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "convert_internal.h"

/* ------------------------------------------------------------------ names */

const char *pl_convert_strerror(int code) {
  switch (code) {
    case PL_CONVERT_OK: return "ok";
    case PL_CONVERT_EINVAL: return "invalid argument";
    case PL_CONVERT_ENOMEM: return "out of memory";
    case PL_CONVERT_EIO: return "input/output error";
    case PL_CONVERT_EFORMAT: return "input format error";
    case PL_CONVERT_EUNSUPPORTED: return "unsupported input";
    case PL_CONVERT_ELIMIT: return "safety limit exceeded";
    case PL_CONVERT_EWRITE: return "cannot write the output";
    case PL_CONVERT_ESTATE: return "call not valid now";
    default: return "unknown error";
  }
}

const char *pl_convert_kind_name(pl_convert_kind k) {
  switch (k) {
    case PL_CONVERT_KIND_MCAP: return "mcap";
    case PL_CONVERT_KIND_ROS1_BAG: return "ros1-bag";
    case PL_CONVERT_KIND_ROS2_DB3: return "ros2-db3";
    case PL_CONVERT_KIND_ROS2_DIR: return "ros2-folder";
    default: return "unknown";
  }
}

const char *pl_convert_schema_source_name(pl_convert_schema_source s) {
  switch (s) {
    case PL_CONVERT_SCHEMA_CONNECTION: return "connection";
    case PL_CONVERT_SCHEMA_DATABASE: return "message_definitions";
    case PL_CONVERT_SCHEMA_MSG_PATH: return "msg_path";
    default: return "missing";
  }
}

/* ---------------------------------------------------------------- helpers */

char *cv_strndup(const char *s, size_t n) {
  char *d = malloc(n + 1);
  if (!d) return NULL;
  if (n) memcpy(d, s, n);
  d[n] = '\0';
  return d;
}

char *cv_strdup(const char *s) { return cv_strndup(s ? s : "", s ? strlen(s) : 0); }

int cv_grow(void **arr, size_t *cap, size_t need, size_t elem) {
  if (need <= *cap) return 0;
  size_t n = *cap ? *cap : 8;
  while (n < need) {
    if (n > SIZE_MAX / 2 / elem) return -1;
    n *= 2;
  }
  void *p = realloc(*arr, n * elem);
  if (!p) return -1;
  *arr = p;
  *cap = n;
  return 0;
}

int cv_fail(struct pl_convert *c, int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(c->err, sizeof c->err, fmt, ap);
  va_end(ap);
  c->code = code;
  return code;
}

int cv_problem(struct pl_convert *c, int loss, const char *file, uint64_t offset, int64_t row,
               const char *fmt, ...) {
  pl_convert_report *r = &c->rep;
  r->n_problems_total++;
  if (loss) r->damaged++;
  if (r->n_problems >= CV_MAX_PROBLEMS) return PL_CONVERT_OK;
  if (cv_grow((void **)&r->problems, &c->cap_problems, r->n_problems + 1, sizeof *r->problems))
    return cv_fail(c, PL_CONVERT_ENOMEM, "out of memory recording a problem");
  char msg[400];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  pl_convert_problem *p = &r->problems[r->n_problems];
  p->loss = loss;
  p->offset = offset;
  p->row = row;
  p->file = cv_strdup(file);
  p->message = cv_strdup(msg);
  if (!p->file || !p->message) {
    free(p->file);
    free(p->message);
    return cv_fail(c, PL_CONVERT_ENOMEM, "out of memory recording a problem");
  }
  r->n_problems++;
  return PL_CONVERT_OK;
}

void cv_progress(struct pl_convert *c, uint64_t n) {
  c->done_bytes += n;
  if (c->o.progress) c->o.progress(c->o.progress_user, c->done_bytes, c->total_bytes);
}

/* ------------------------------------------------------------------ files */

int cv_file_open(struct pl_convert *c, struct cv_file *f, const char *path) {
  struct stat st;
  f->path = path;
  f->fd = open(path, O_RDONLY | O_CLOEXEC);
  if (f->fd < 0) return cv_fail(c, PL_CONVERT_EIO, "'%s': %s", path, strerror(errno));
  const char *why = NULL;
  if (fstat(f->fd, &st) != 0) why = strerror(errno);
  else if (!S_ISREG(st.st_mode)) why = "not a regular file";
  if (why) {
    close(f->fd);
    f->fd = -1;
    return cv_fail(c, PL_CONVERT_EIO, "'%s': %s", path, why);
  }
  f->size = (uint64_t)st.st_size;
  (void)posix_fadvise(f->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  return PL_CONVERT_OK;
}

void cv_file_close(struct cv_file *f) {
  if (f->fd >= 0) close(f->fd);
  f->fd = -1;
}

int cv_file_read(struct pl_convert *c, const struct cv_file *f, uint64_t off, void *dst,
                 size_t len, size_t *got) {
  size_t done = 0;
  while (done < len) {
    ssize_t n = pread(f->fd, (uint8_t *)dst + done, len - done, (off_t)(off + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return cv_fail(c, PL_CONVERT_EIO, "'%s': read at offset %llu: %s", f->path,
                     (unsigned long long)(off + done), strerror(errno));
    }
    if (n == 0) break;
    done += (size_t)n;
  }
  *got = done;
  return PL_CONVERT_OK;
}

/* --------------------------------------------------------------- detection */

static int has_suffix(const char *s, const char *suffix) {
  size_t n = strlen(s), m = strlen(suffix);
  return n >= m && strcmp(s + n - m, suffix) == 0;
}

int pl_convert_detect(const char *path, pl_convert_kind *kind, mcap_error_info *err) {
  struct stat st;
  *kind = PL_CONVERT_KIND_UNKNOWN;
  if (!path || stat(path, &st) != 0) {
    if (err) {
      err->code = MCAP_EIO;
      err->offset = UINT64_MAX;
      snprintf(err->msg, sizeof err->msg, "'%s': %s", path ? path : "(null)",
               path ? strerror(errno) : "no path");
    }
    return PL_CONVERT_EIO;
  }
  if (S_ISDIR(st.st_mode)) {
    DIR *d = opendir(path);
    if (!d) return PL_CONVERT_OK;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
      if (strcmp(e->d_name, "metadata.yaml") == 0 || has_suffix(e->d_name, ".db3") ||
          has_suffix(e->d_name, ".db3.zstd")) {
        *kind = PL_CONVERT_KIND_ROS2_DIR;
        break;
      }
    }
    closedir(d);
    return PL_CONVERT_OK;
  }
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (err) {
      err->code = MCAP_EIO;
      err->offset = UINT64_MAX;
      snprintf(err->msg, sizeof err->msg, "'%s': %s", path, strerror(errno));
    }
    return PL_CONVERT_EIO;
  }
  uint8_t b[16];
  ssize_t n = pread(fd, b, sizeof b, 0);
  close(fd);
  if (n >= 9 && memcmp(b, "#ROSBAG V", 9) == 0)
    *kind = PL_CONVERT_KIND_ROS1_BAG;
  else if (n >= 8 && memcmp(b, "\x89MCAP0\r\n", 8) == 0)
    *kind = PL_CONVERT_KIND_MCAP;
  else if (n == 16 && memcmp(b, "SQLite format 3\0", 16) == 0)
    *kind = PL_CONVERT_KIND_ROS2_DB3;
  else if (n >= 4 && memcmp(b, "\x28\xb5\x2f\xfd", 4) == 0 && has_suffix(path, ".zstd"))
    *kind = PL_CONVERT_KIND_ROS2_DB3; /* a rosbag2 file-compressed database */
  return PL_CONVERT_OK;
}

/* ---------------------------------------------------------------- schemas */

int cv_add_schema(struct pl_convert *c, mcap_str name, mcap_str encoding, mcap_bytes data,
                  uint16_t *id) {
  if (mcap_writer_add_schema(c->w, name, encoding, data, id) != MCAP_OK)
    return cv_fail(c, PL_CONVERT_EWRITE, "writing schema '%.*s': %s", (int)name.len,
                   name.data ? name.data : "", mcap_writer_errmsg(c->w));
  return PL_CONVERT_OK;
}

struct cv_type *cv_find_type(struct pl_convert *c, const char *name) {
  for (size_t i = 0; i < c->n_types; i++)
    if (strcmp(c->types[i].name, name) == 0) return &c->types[i];
  return NULL;
}

struct cv_type *cv_add_type(struct pl_convert *c, const char *name, uint16_t schema_id,
                            pl_convert_schema_source source) {
  if (cv_grow((void **)&c->types, &c->cap_types, c->n_types + 1, sizeof *c->types)) {
    cv_fail(c, PL_CONVERT_ENOMEM, "out of memory");
    return NULL;
  }
  struct cv_type *t = &c->types[c->n_types];
  t->name = cv_strdup(name);
  if (!t->name) {
    cv_fail(c, PL_CONVERT_ENOMEM, "out of memory");
    return NULL;
  }
  t->schema_id = schema_id;
  t->source = source;
  t->encoding = "ros2msg";
  c->n_types++;
  return t;
}

int cv_add_channel(struct pl_convert *c, const struct cv_channel_def *d, uint16_t *channel_id,
                   uint32_t *topic) {
  uint16_t sid = d->schema_id;
  int rc;
  if (!sid) {
    rc = cv_add_schema(c, d->schema_name, d->schema_encoding, d->schema_data, &sid);
    if (rc) return rc;
  }
  uint16_t cid;
  if (mcap_writer_add_channel(c->w, sid, d->topic, d->message_encoding, d->metadata,
                              d->n_metadata, &cid) != MCAP_OK)
    return cv_fail(c, PL_CONVERT_EWRITE, "writing channel '%.*s': %s", (int)d->topic.len,
                   d->topic.data ? d->topic.data : "", mcap_writer_errmsg(c->w));
  if (c->topic_of_channel[cid]) { /* an identical channel seen before (split bags) */
    *channel_id = cid;
    *topic = c->topic_of_channel[cid] - 1;
    return PL_CONVERT_OK;
  }
  pl_convert_report *r = &c->rep;
  if (cv_grow((void **)&r->topics, &c->cap_topics, r->n_topics + 1, sizeof *r->topics))
    return cv_fail(c, PL_CONVERT_ENOMEM, "out of memory");
  pl_convert_topic *t = &r->topics[r->n_topics];
  memset(t, 0, sizeof *t);
  t->topic = cv_strndup(d->topic.data ? d->topic.data : "", d->topic.len);
  t->type = cv_strndup(d->schema_name.data ? d->schema_name.data : "", d->schema_name.len);
  t->message_encoding =
      cv_strndup(d->message_encoding.data ? d->message_encoding.data : "", d->message_encoding.len);
  t->schema_encoding =
      cv_strndup(d->schema_encoding.data ? d->schema_encoding.data : "", d->schema_encoding.len);
  if (!t->topic || !t->type || !t->message_encoding || !t->schema_encoding) {
    free(t->topic);
    free(t->type);
    free(t->message_encoding);
    free(t->schema_encoding);
    return cv_fail(c, PL_CONVERT_ENOMEM, "out of memory");
  }
  t->schema_source = d->source;
  t->channel_id = cid;
  c->topic_of_channel[cid] = (uint32_t)r->n_topics + 1;
  *channel_id = cid;
  *topic = (uint32_t)r->n_topics;
  r->n_topics++;
  return PL_CONVERT_OK;
}

/* ----------------------------------------------------------------- handle */

int pl_convert_new(pl_convert **out, const pl_convert_options *opts) {
  if (!out) return PL_CONVERT_EINVAL;
  *out = NULL;
  pl_convert *c = calloc(1, sizeof *c);
  if (!c) return PL_CONVERT_ENOMEM;
  if (opts) c->o = *opts;
  if (!c->o.max_chunk_size) c->o.max_chunk_size = CV_DEFAULT_MAX_CHUNK;
  if (c->o.max_chunk_size > UINT32_MAX) c->o.max_chunk_size = UINT32_MAX; /* record offsets */
  if (!c->o.max_message_size) c->o.max_message_size = CV_DEFAULT_MAX_MESSAGE;
  if (!c->o.memory_budget) c->o.memory_budget = CV_DEFAULT_BUDGET;
  *out = c;
  return PL_CONVERT_OK;
}

static void report_clear(pl_convert *c) {
  pl_convert_report *r = &c->rep;
  for (size_t i = 0; i < r->n_inputs; i++) free(r->inputs[i].path);
  for (size_t i = 0; i < r->n_topics; i++) {
    free(r->topics[i].topic);
    free(r->topics[i].type);
    free(r->topics[i].message_encoding);
    free(r->topics[i].schema_encoding);
  }
  for (size_t i = 0; i < r->n_problems; i++) {
    free(r->problems[i].file);
    free(r->problems[i].message);
  }
  free(r->inputs);
  free(r->topics);
  free(r->problems);
  memset(r, 0, sizeof *r);
  c->cap_inputs = c->cap_topics = c->cap_problems = 0;
  for (size_t i = 0; i < c->n_types; i++) free(c->types[i].name);
  free(c->types);
  c->types = NULL;
  c->n_types = c->cap_types = 0;
  free(c->topic_of_channel);
  c->topic_of_channel = NULL;
}

void pl_convert_free(pl_convert *c) {
  if (!c) return;
  mcap_writer_free(c->w);
  report_clear(c);
  free(c);
}

const pl_convert_report *pl_convert_get_report(const pl_convert *c) { return c ? &c->rep : NULL; }

const char *pl_convert_errmsg(const pl_convert *c) { return c ? c->err : ""; }

/* ------------------------------------------------------------------ merge */

static int head_less(const struct cv_stream *a, const struct cv_stream *b) {
  if (a->head.time != b->head.time) return a->head.time < b->head.time;
  return a->order < b->order;
}

static void sift_down(struct cv_stream **h, size_t n, size_t i) {
  for (;;) {
    size_t l = 2 * i + 1, m = i;
    if (l < n && head_less(h[l], h[m])) m = l;
    if (l + 1 < n && head_less(h[l + 1], h[m])) m = l + 1;
    if (m == i) return;
    struct cv_stream *t = h[i];
    h[i] = h[m];
    h[m] = t;
    i = m;
  }
}

static int write_head(pl_convert *c, struct cv_stream *s) {
  pl_convert_report *r = &c->rep;
  pl_convert_topic *t = &r->topics[s->head.topic];
  mcap_message m;
  m.channel_id = s->head.channel_id;
  m.sequence = (uint32_t)t->messages;
  m.log_time = s->head.time;
  m.publish_time = s->head.time;
  m.data.data = s->head.data;
  m.data.len = s->head.len;
  if (mcap_writer_write_message(c->w, &m) != MCAP_OK)
    return cv_fail(c, PL_CONVERT_EWRITE, "writing the output: %s", mcap_writer_errmsg(c->w));
  if (r->messages && s->head.time < c->last_written) r->out_of_order++;
  if (!r->messages || s->head.time < r->start_time) r->start_time = s->head.time;
  if (!r->messages || s->head.time > r->end_time) r->end_time = s->head.time;
  c->last_written = s->head.time;
  if (!t->messages || s->head.time < t->first_time) t->first_time = s->head.time;
  if (!t->messages || s->head.time > t->last_time) t->last_time = s->head.time;
  t->messages++;
  t->bytes += s->head.len;
  r->messages++;
  r->bytes += s->head.len;
  r->inputs[s->input].messages++;
  return PL_CONVERT_OK;
}

static int merge(pl_convert *c, struct cv_stream **streams, size_t n) {
  struct cv_stream **heap = malloc((n ? n : 1) * sizeof *heap);
  if (!heap) return cv_fail(c, PL_CONVERT_ENOMEM, "out of memory");
  size_t h = 0;
  int rc = PL_CONVERT_OK;
  for (size_t i = 0; i < n; i++) {
    int got = streams[i]->ops->next(streams[i]);
    if (got < 0) {
      rc = got;
      goto out;
    }
    if (got) heap[h++] = streams[i];
  }
  for (size_t i = h / 2; i-- > 0;) sift_down(heap, h, i);
  while (h) {
    struct cv_stream *s = heap[0];
    rc = write_head(c, s);
    if (rc) goto out;
    int got = s->ops->next(s);
    if (got < 0) {
      rc = got;
      goto out;
    }
    if (!got) heap[0] = heap[--h];
    sift_down(heap, h, 0);
  }
out:
  free(heap);
  return rc;
}

/* -------------------------------------------------------------------- run */

static int add_input(pl_convert *c, const char *path, pl_convert_kind kind) {
  pl_convert_report *r = &c->rep;
  if (cv_grow((void **)&r->inputs, &c->cap_inputs, r->n_inputs + 1, sizeof *r->inputs))
    return cv_fail(c, PL_CONVERT_ENOMEM, "out of memory");
  pl_convert_input *in = &r->inputs[r->n_inputs];
  memset(in, 0, sizeof *in);
  in->path = cv_strdup(path);
  if (!in->path) return cv_fail(c, PL_CONVERT_ENOMEM, "out of memory");
  in->kind = kind;
  r->n_inputs++;
  return PL_CONVERT_OK;
}

static uint64_t path_size(const char *path, int dir) {
  struct stat st;
  if (!dir) return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
  uint64_t total = 0;
  DIR *d = opendir(path);
  if (!d) return 0;
  struct dirent *e;
  char buf[4096];
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.') continue;
    snprintf(buf, sizeof buf, "%s/%s", path, e->d_name);
    if (stat(buf, &st) == 0 && S_ISREG(st.st_mode)) total += (uint64_t)st.st_size;
  }
  closedir(d);
  return total;
}

int pl_convert_run(pl_convert *c, const char *const *inputs, size_t n_inputs, mcap_sink *sink) {
  if (!c) return PL_CONVERT_EINVAL;
  if (c->running) return cv_fail(c, PL_CONVERT_ESTATE, "a conversion is already running");
  report_clear(c);
  c->err[0] = '\0';
  c->code = 0;
  c->done_bytes = c->total_bytes = 0;
  c->last_written = 0;
  if (!inputs || !n_inputs || !sink) return cv_fail(c, PL_CONVERT_EINVAL, "no input to convert");
  c->topic_of_channel = calloc(65536, sizeof *c->topic_of_channel);
  if (!c->topic_of_channel) return cv_fail(c, PL_CONVERT_ENOMEM, "out of memory");

  /* Recognise every input before writing anything. */
  int ros1 = 0, ros2 = 0, rc = PL_CONVERT_OK;
  for (size_t i = 0; i < n_inputs; i++) {
    pl_convert_kind k;
    mcap_error_info e;
    memset(&e, 0, sizeof e);
    if (!inputs[i]) return cv_fail(c, PL_CONVERT_EINVAL, "input %zu is NULL", i);
    if (pl_convert_detect(inputs[i], &k, &e) != PL_CONVERT_OK)
      return cv_fail(c, PL_CONVERT_EIO, "%s", e.msg);
    if (k == PL_CONVERT_KIND_MCAP)
      return cv_fail(c, PL_CONVERT_EINVAL, "'%s': already an MCAP file; nothing to convert",
                     inputs[i]);
    if (k == PL_CONVERT_KIND_UNKNOWN)
      return cv_fail(c, PL_CONVERT_EFORMAT,
                     "'%s': not a ROS 1 bag, a rosbag2 SQLite database or a rosbag2 folder",
                     inputs[i]);
    rc = add_input(c, inputs[i], k);
    if (rc) return rc;
    if (k == PL_CONVERT_KIND_ROS1_BAG) ros1 = 1;
    else ros2 = 1;
    uint64_t sz = path_size(inputs[i], k == PL_CONVERT_KIND_ROS2_DIR);
    c->rep.inputs[i].bytes = sz;
    c->rep.bytes_in += sz;
  }
  c->total_bytes = c->rep.bytes_in;

  mcap_writer_options wo = c->o.writer;
  if (!wo.profile) wo.profile = ros1 && !ros2 ? "ros1" : (ros2 && !ros1 ? "ros2" : "");
  if (mcap_writer_open(&c->w, sink, &wo) != MCAP_OK)
    return cv_fail(c, PL_CONVERT_EWRITE, "cannot start the output");
  c->running = 1;

  struct cv_stream **streams = NULL;
  size_t n = 0, cap = 0;
  for (size_t i = 0; i < n_inputs && !rc; i++) {
    pl_convert_kind k = c->rep.inputs[i].kind;
    if (k == PL_CONVERT_KIND_ROS1_BAG) {
      struct cv_stream *s = NULL;
      rc = cv_ros1_open(c, inputs[i], i, &s);
      if (!rc && cv_grow((void **)&streams, &cap, n + 1, sizeof *streams)) {
        s->ops->free(s);
        rc = cv_fail(c, PL_CONVERT_ENOMEM, "out of memory");
      }
      if (!rc) streams[n++] = s;
    } else {
      rc = cv_ros2_open(c, inputs[i], k, i, &streams, &n, &cap);
    }
  }
  for (size_t i = 0; i < n; i++) streams[i]->order = i;
  if (!rc) rc = merge(c, streams, n);
  for (size_t i = 0; i < n; i++) streams[i]->ops->free(streams[i]);
  free(streams);
  if (!rc && mcap_writer_close(c->w) != MCAP_OK)
    rc = cv_fail(c, PL_CONVERT_EWRITE, "finishing the output: %s", mcap_writer_errmsg(c->w));
  c->rep.bytes_out = mcap_writer_bytes_written(c->w);
  mcap_writer_free(c->w);
  c->w = NULL;
  c->running = 0;
  return rc;
}

int pl_convert_to_temp(pl_convert *c, const char *const *inputs, size_t n_inputs,
                       const char *tmp_dir, char **path) {
  if (!c || !path) return PL_CONVERT_EINVAL;
  *path = NULL;
  const char *dir = tmp_dir ? tmp_dir : c->o.tmp_dir;
  if (!dir) dir = getenv("TMPDIR");
  if (!dir || !*dir) dir = "/tmp";
  size_t len = strlen(dir) + 40;
  char *p = malloc(len);
  if (!p) return cv_fail(c, PL_CONVERT_ENOMEM, "out of memory");
  snprintf(p, len, "%s/mcapkit-convert-XXXXXX.mcap", dir);
  int fd = mkostemps(p, 5, O_CLOEXEC);
  if (fd < 0) {
    int rc = cv_fail(c, PL_CONVERT_EIO, "cannot create a temporary file in '%s': %s", dir,
                     strerror(errno));
    free(p);
    return rc;
  }
  mcap_sink sink;
  mcap_error_info e;
  int rc = PL_CONVERT_OK;
  if (mcap_sink_from_fd(&sink, fd, &e) != MCAP_OK) {
    rc = cv_fail(c, PL_CONVERT_EIO, "'%s': %s", p, e.msg);
  } else {
    rc = pl_convert_run(c, inputs, n_inputs, &sink);
    if (mcap_sink_close(&sink, &e) != MCAP_OK && !rc)
      rc = cv_fail(c, PL_CONVERT_EWRITE, "'%s': %s", p, e.msg);
  }
  /* No fsync: the file is a scratch copy removed when the command ends; a crash loses
   * nothing that the bag itself does not still hold. */
  close(fd);
  if (rc) {
    unlink(p);
    free(p);
    return rc;
  }
  *path = p;
  return PL_CONVERT_OK;
}
