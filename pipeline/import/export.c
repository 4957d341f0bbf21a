/*
 * export.c - pl_export_write(): one MCAP assembled from lake recordings, as
 * the export (data stream) endpoint returns it, written to a sink while it is
 * produced (never built in memory).
 *
 * Each selected per-topic file is opened with the indexed reader (one
 * decompression thread each) and queried in log-time order over the time
 * range; a k-way merge over those iterators (a binary heap keyed by log time,
 * ties by recording, file and then each file's own order) feeds the writer.
 * Memory is the open chunk of each file plus the writer's chunk.
 *
 * Ids: schemas and channels keep their original ids, so exporting one whole
 * recording gives back the original's message stream (ids, sequence, times,
 * bytes). Recordings exported together may reuse an id for different
 * content; such a channel gets the smallest free id (a schema: the writer's
 * next id), and identical definitions are shared.
 *
 * replayPolicy=lastPerChannel (last_per_channel with a start): each selected
 * channel's latest message before `start` is emitted first, in log-time
 * order. Attachments (include_attachments) come from each recording's
 * _recording.mcap, those with a log time in the range, before the messages.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "import_internal.h"

struct xchan {
  uint16_t in, out;
};

struct xfile {
  size_t rec, file; /* positions, for a stable order */
  mcap_reader *r;
  mcap_message_iter *it;
  mcap_message_view cur;
  struct xchan *chans;
  size_t n_chans;
};

struct xpre { /* a last-per-channel message, copied */
  uint64_t log_time, publish_time;
  uint32_t sequence;
  uint16_t out;
  size_t rec, file;
  uint8_t *data;
  uint64_t len;
};

struct xport {
  const pl_export_request *req;
  pl_error_info *err;
  mcap_writer *w;
  struct xfile *files;
  size_t n_files, cap_files;
  struct xfile **heap;
  size_t heap_len;
  uint8_t *used_channel; /* [65536] output channel ids taken */
  uint16_t *schema_map;  /* [65536] per file: input schema id -> output id */
};

static int topic_selected(const pl_export_request *req, const char *topic) {
  if (!req->topics || !req->n_topics) return 1;
  for (size_t i = 0; i < req->n_topics; i++)
    if (req->topics[i] && strcmp(req->topics[i], topic) == 0) return 1;
  return 0;
}

static int werr(struct xport *x, int mrc, const char *what) {
  return pl_error_set_mcap(x->err, mrc, UINT64_MAX, "%s: %s", what, mcap_writer_errmsg(x->w));
}

/* Register a file's channels (and their schemas) in the writer. */
static int register_channels(struct xport *x, struct xfile *f) {
  size_t n = mcap_reader_channel_count(f->r);
  f->chans = calloc(n ? n : 1, sizeof *f->chans);
  if (!f->chans) return pl_error_set(x->err, PL_ENOMEM, UINT64_MAX, "out of memory");
  memset(x->schema_map, 0, 65536 * sizeof *x->schema_map);
  for (size_t i = 0; i < n; i++) {
    const mcap_channel *c = mcap_reader_channel_at(f->r, i);
    char *topic = pl_strview(c->topic);
    if (!topic) return pl_error_set(x->err, PL_ENOMEM, UINT64_MAX, "out of memory");
    int sel = topic_selected(x->req, topic);
    free(topic);
    if (!sel) continue;
    mcap_channel oc = *c;
    if (c->schema_id) {
      const mcap_schema *s = mcap_reader_schema(f->r, c->schema_id);
      if (!s)
        return pl_error_set(x->err, PL_EMCAP, UINT64_MAX, "channel %u has no schema %u", c->id,
                            c->schema_id);
      uint16_t sid = x->schema_map[s->id];
      if (!sid) {
        int rc = mcap_writer_put_schema(x->w, s);
        if (rc == MCAP_OK) {
          sid = s->id;
        } else if (rc == MCAP_ESCHEMA_ID) {
          rc = mcap_writer_add_schema(x->w, s->name, s->encoding, s->data, &sid);
          if (rc) return werr(x, rc, "adding a schema");
        } else {
          return werr(x, rc, "adding a schema");
        }
        x->schema_map[s->id] = sid;
      }
      oc.schema_id = sid;
    }
    int rc = mcap_writer_put_channel(x->w, &oc);
    if (rc == MCAP_ECHANNEL_ID) {
      /* the id is taken by a different channel of another recording */
      uint32_t id = 1;
      while (id <= UINT16_MAX && x->used_channel[id]) id++;
      if (id > UINT16_MAX) return pl_error_set(x->err, PL_EMCAP, UINT64_MAX, "no channel ids left");
      oc.id = (uint16_t)id;
      rc = mcap_writer_put_channel(x->w, &oc);
    }
    if (rc) return werr(x, rc, "adding a channel");
    x->used_channel[oc.id] = 1;
    f->chans[f->n_chans].in = c->id;
    f->chans[f->n_chans].out = oc.id;
    f->n_chans++;
  }
  return PL_OK;
}

static int out_channel(const struct xfile *f, uint16_t in, uint16_t *out) {
  for (size_t i = 0; i < f->n_chans; i++)
    if (f->chans[i].in == in) {
      *out = f->chans[i].out;
      return 1;
    }
  return 0;
}

/* ---- heap of files by their current message */

static int before(const struct xfile *a, const struct xfile *b) {
  if (a->cur.message.log_time != b->cur.message.log_time)
    return a->cur.message.log_time < b->cur.message.log_time;
  if (a->rec != b->rec) return a->rec < b->rec;
  return a->file < b->file;
}

static void heap_push(struct xport *x, struct xfile *f) {
  size_t i = x->heap_len++;
  x->heap[i] = f;
  while (i > 0) {
    size_t p = (i - 1) / 2;
    if (!before(x->heap[i], x->heap[p])) break;
    struct xfile *t = x->heap[i];
    x->heap[i] = x->heap[p];
    x->heap[p] = t;
    i = p;
  }
}

static void heap_pop(struct xport *x) {
  x->heap[0] = x->heap[--x->heap_len];
  size_t i = 0;
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, m = i;
    if (l < x->heap_len && before(x->heap[l], x->heap[m])) m = l;
    if (r < x->heap_len && before(x->heap[r], x->heap[m])) m = r;
    if (m == i) break;
    struct xfile *t = x->heap[i];
    x->heap[i] = x->heap[m];
    x->heap[m] = t;
    i = m;
  }
}

/* Advance a file's iterator; 1 = has a message, 0 = done, <0 = error. */
static int advance(struct xport *x, struct xfile *f) {
  int rc = mcap_message_iter_next(f->it, &f->cur);
  if (rc == MCAP_ITEROVER) return 0;
  if (rc)
    return pl_error_set_mcap(x->err, rc, UINT64_MAX, "reading a lake file: %s",
                             mcap_reader_errmsg(f->r));
  return 1;
}

/* ---- last message per channel before start */

struct one_channel {
  uint16_t id;
};

static int only_channel(void *ctx, const mcap_channel *c, const mcap_schema *s) {
  (void)s;
  return c->id == ((const struct one_channel *)ctx)->id;
}

static int cmp_pre(const void *a, const void *b) {
  const struct xpre *x = a, *y = b;
  if (x->log_time != y->log_time) return x->log_time < y->log_time ? -1 : 1;
  if (x->rec != y->rec) return x->rec < y->rec ? -1 : 1;
  if (x->file != y->file) return x->file < y->file ? -1 : 1;
  return x->out < y->out ? -1 : x->out > y->out;
}

static int last_before_start(struct xport *x, struct xpre **pre, size_t *n_pre, size_t *cap_pre) {
  const pl_export_request *req = x->req;
  if (!req->last_per_channel || !req->has_start || req->start == 0) return PL_OK;
  for (size_t i = 0; i < x->n_files; i++) {
    struct xfile *f = &x->files[i];
    for (size_t k = 0; k < f->n_chans; k++) {
      struct one_channel oc = {f->chans[k].in};
      mcap_query q;
      memset(&q, 0, sizeof q);
      q.channel_filter = only_channel;
      q.channel_filter_ctx = &oc;
      q.has_end = 1;
      q.end = req->start - 1;
      q.order = MCAP_ORDER_REVERSE;
      mcap_message_iter *it = NULL;
      int rc = mcap_reader_query(f->r, &q, &it);
      if (rc)
        return pl_error_set_mcap(x->err, rc, UINT64_MAX, "querying a lake file: %s",
                                 mcap_reader_errmsg(f->r));
      mcap_message_view v;
      rc = mcap_message_iter_next(it, &v);
      if (rc == MCAP_OK) {
        if (pl_grow((void **)pre, cap_pre, *n_pre + 1, sizeof **pre)) {
          mcap_message_iter_free(it);
          return pl_error_set(x->err, PL_ENOMEM, UINT64_MAX, "out of memory");
        }
        struct xpre *p = &(*pre)[*n_pre];
        p->log_time = v.message.log_time;
        p->publish_time = v.message.publish_time;
        p->sequence = v.message.sequence;
        p->out = f->chans[k].out;
        p->rec = f->rec;
        p->file = f->file;
        p->len = v.message.data.len;
        p->data = malloc(p->len ? (size_t)p->len : 1);
        if (!p->data) {
          mcap_message_iter_free(it);
          return pl_error_set(x->err, PL_ENOMEM, UINT64_MAX, "out of memory");
        }
        if (p->len) memcpy(p->data, v.message.data.data, (size_t)p->len);
        (*n_pre)++;
      } else if (rc != MCAP_ITEROVER) {
        mcap_message_iter_free(it);
        return pl_error_set_mcap(x->err, rc, UINT64_MAX, "reading a lake file: %s",
                                 mcap_reader_errmsg(f->r));
      }
      mcap_message_iter_free(it);
    }
  }
  if (*n_pre) qsort(*pre, *n_pre, sizeof **pre, cmp_pre);
  return PL_OK;
}

/* ---- attachments */

static int in_range(const pl_export_request *req, uint64_t t) {
  return (!req->has_start || t >= req->start) && (!req->has_end || t <= req->end);
}

static int copy_attachments(struct xport *x, const char *path) {
  mcap_source src;
  mcap_error_info me;
  memset(&me, 0, sizeof me);
  int rc = mcap_source_open_file(&src, path, &me);
  if (rc) return pl_error_set_mcap(x->err, rc, UINT64_MAX, "%s", me.msg);
  mcap_indexed_options io;
  memset(&io, 0, sizeof io);
  io.threads = 1;
  mcap_reader *r = NULL;
  rc = mcap_reader_open(&r, &src, &io, &me);
  if (rc) return pl_error_set_mcap(x->err, rc, UINT64_MAX, "'%s': %s", path, me.msg);
  uint8_t *buf = malloc(1u << 20);
  if (!buf) {
    mcap_reader_free(r);
    return pl_error_set(x->err, PL_ENOMEM, UINT64_MAX, "out of memory");
  }
  for (size_t i = 0; i < mcap_reader_attachment_count(r) && rc == PL_OK; i++) {
    const mcap_attachment_index *ai = mcap_reader_attachment_at(r, i);
    if (!in_range(x->req, ai->log_time)) continue;
    mcap_attachment_stream *s = NULL;
    mcap_attachment a;
    int mrc = mcap_reader_attachment_open(r, ai, &s, &a);
    if (mrc) {
      rc = pl_error_set_mcap(x->err, mrc, ai->offset, "'%s': %s", path, mcap_reader_errmsg(r));
      break;
    }
    mrc = mcap_writer_attachment_begin(x->w, a.log_time, a.create_time, a.name, a.media_type,
                                       a.data.len);
    while (mrc == MCAP_OK) {
      size_t got = 0;
      mrc = mcap_attachment_stream_read(s, buf, 1u << 20, &got);
      if (mrc) {
        rc = pl_error_set_mcap(x->err, mrc, ai->offset, "'%s': %s", path, mcap_reader_errmsg(r));
        break;
      }
      if (!got) {
        mrc = mcap_writer_attachment_end(x->w);
        if (mrc) rc = werr(x, mrc, "writing an attachment");
        break;
      }
      mrc = mcap_writer_attachment_write(x->w, buf, got);
    }
    if (mrc && rc == PL_OK) rc = werr(x, mrc, "writing an attachment");
    mcap_attachment_stream_free(s);
  }
  free(buf);
  mcap_reader_free(r);
  return rc;
}

/* ---- the export */

static char *join3(const char *a, const char *b) {
  size_t n = strlen(a) + strlen(b) + 2;
  char *p = malloc(n);
  if (p) snprintf(p, n, "%s/%s", a, b);
  return p;
}

static int open_recording(struct xport *x, size_t rec_idx, const char *recdir) {
  char *lj = join3(recdir, PL_LAKE_JSON), *text = NULL;
  size_t len = 0, n = 0;
  pl_lake_file *files = NULL;
  int rc;
  if (!lj) {
    rc = pl_error_set(x->err, PL_ENOMEM, UINT64_MAX, "out of memory");
    goto out;
  }
  if ((rc = pl__read_small_file(lj, (size_t)1 << 30, &text, &len, x->err))) goto out;
  if ((rc = pl__lake_json_parse(text, len, &files, &n, x->err))) goto out;
  for (size_t i = 0; i < n; i++) {
    int any = 0;
    for (size_t k = 0; k < files[i].n_topics; k++)
      any |= topic_selected(x->req, files[i].topics[k]);
    if (!any) continue;
    /* lake.json paths are relative to the lake root; the file sits in this folder */
    const char *base = strrchr(files[i].path, '/');
    base = base ? base + 1 : files[i].path;
    if (!*base || strcmp(base, "..") == 0 || strcmp(base, ".") == 0) {
      rc = pl_error_set(x->err, PL_EJSON, UINT64_MAX, "lake.json: bad path '%s'", files[i].path);
      goto out;
    }
    char *path = join3(recdir, base);
    if (!path) {
      rc = pl_error_set(x->err, PL_ENOMEM, UINT64_MAX, "out of memory");
      goto out;
    }
    if (pl_grow((void **)&x->files, &x->cap_files, x->n_files + 1, sizeof *x->files)) {
      free(path);
      rc = pl_error_set(x->err, PL_ENOMEM, UINT64_MAX, "out of memory");
      goto out;
    }
    struct xfile *f = &x->files[x->n_files];
    memset(f, 0, sizeof *f);
    f->rec = rec_idx;
    f->file = i;
    mcap_source src;
    mcap_error_info me;
    memset(&me, 0, sizeof me);
    rc = mcap_source_open_file(&src, path, &me);
    if (rc == MCAP_OK) {
      mcap_indexed_options io;
      memset(&io, 0, sizeof io);
      io.threads = 1;
      rc = mcap_reader_open(&f->r, &src, &io, &me);
    }
    free(path);
    if (rc) {
      rc = pl_error_set_mcap(x->err, rc, UINT64_MAX, "lake file '%s': %s", files[i].path, me.msg);
      goto out;
    }
    x->n_files++;
  }
  rc = PL_OK;
out:
  free(lj);
  free(text);
  pl__lake_files_free(files, n);
  return rc;
}

int pl_export_write(const pl_export_request *req, mcap_sink *sink, pl_error_info *err) {
  if (!req || !sink || (req->n_recording_dirs && !req->recording_dirs))
    return pl_error_set(err, PL_EINVAL, UINT64_MAX, "invalid argument");
  if (!mcap_compression_name(req->compression))
    return pl_error_set(err, PL_EINVAL, UINT64_MAX, "invalid compression %d",
                        (int)req->compression);
  if (req->has_start && req->has_end && req->end < req->start)
    return pl_error_set(err, PL_EINVAL, UINT64_MAX, "the time range ends before it starts");
  struct xport x;
  memset(&x, 0, sizeof x);
  x.req = req;
  x.err = err;
  struct xpre *pre = NULL;
  size_t n_pre = 0, cap_pre = 0;
  int rc = PL_OK;
  x.used_channel = calloc(65536, 1);
  x.schema_map = calloc(65536, sizeof *x.schema_map);
  if (!x.used_channel || !x.schema_map) {
    rc = pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
    goto out;
  }
  for (size_t i = 0; i < req->n_recording_dirs; i++)
    if ((rc = open_recording(&x, i, req->recording_dirs[i]))) goto out;

  mcap_writer_options wo;
  mcap_writer_options_init(&wo);
  wo.compression = req->compression;
  char *profile = NULL;
  if (x.n_files) {
    profile = pl_strview(mcap_reader_header(x.files[0].r)->profile);
    if (!profile) {
      rc = pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
      goto out;
    }
    wo.profile = profile;
  }
  int mrc = mcap_writer_open(&x.w, sink, &wo);
  free(profile);
  if (mrc) {
    rc = pl_error_set_mcap(err, mrc, UINT64_MAX, "opening the writer: %s",
                           x.w ? mcap_writer_errmsg(x.w) : mcap_strerror(mrc));
    goto out;
  }
  for (size_t i = 0; i < x.n_files; i++)
    if ((rc = register_channels(&x, &x.files[i]))) goto out;

  if (req->include_attachments) {
    for (size_t i = 0; i < req->n_recording_dirs; i++) {
      char *p = join3(req->recording_dirs[i], PL_LAKE_RECORDING_FILE);
      if (!p) {
        rc = pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
        goto out;
      }
      rc = copy_attachments(&x, p);
      free(p);
      if (rc) goto out;
    }
  }

  if ((rc = last_before_start(&x, &pre, &n_pre, &cap_pre))) goto out;
  for (size_t i = 0; i < n_pre; i++) {
    mcap_message m;
    m.channel_id = pre[i].out;
    m.sequence = pre[i].sequence;
    m.log_time = pre[i].log_time;
    m.publish_time = pre[i].publish_time;
    m.data.data = pre[i].data;
    m.data.len = pre[i].len;
    if ((mrc = mcap_writer_write_message(x.w, &m))) {
      rc = werr(&x, mrc, "writing a message");
      goto out;
    }
  }

  x.heap = malloc((x.n_files ? x.n_files : 1) * sizeof *x.heap);
  if (!x.heap) {
    rc = pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
    goto out;
  }
  for (size_t i = 0; i < x.n_files; i++) {
    struct xfile *f = &x.files[i];
    if (!f->n_chans) continue;
    mcap_query q;
    memset(&q, 0, sizeof q);
    q.has_start = req->has_start;
    q.start = req->start;
    q.has_end = req->has_end;
    q.end = req->end;
    q.order = MCAP_ORDER_LOG_TIME;
    if (req->topics && req->n_topics) {
      q.topics = req->topics;
      q.n_topics = req->n_topics;
    }
    if ((mrc = mcap_reader_query(f->r, &q, &f->it))) {
      rc = pl_error_set_mcap(err, mrc, UINT64_MAX, "querying a lake file: %s",
                             mcap_reader_errmsg(f->r));
      goto out;
    }
    rc = advance(&x, f);
    if (rc < 0) goto out;
    if (rc == 1) heap_push(&x, f);
    rc = PL_OK;
  }
  while (x.heap_len) {
    struct xfile *f = x.heap[0];
    mcap_message m = f->cur.message;
    if (!out_channel(f, m.channel_id, &m.channel_id)) {
      rc =
          pl_error_set(err, PL_EMCAP, UINT64_MAX, "a lake file has a message on unknown channel %u",
                       f->cur.message.channel_id);
      goto out;
    }
    if ((mrc = mcap_writer_write_message(x.w, &m))) {
      rc = werr(&x, mrc, "writing a message");
      goto out;
    }
    rc = advance(&x, f);
    if (rc < 0) goto out;
    heap_pop(&x);
    if (rc == 1) heap_push(&x, f);
    rc = PL_OK;
  }
  if ((mrc = mcap_writer_close(x.w))) rc = werr(&x, mrc, "finishing the export");
out:
  for (size_t i = 0; i < n_pre; i++) free(pre[i].data);
  free(pre);
  mcap_writer_free(x.w);
  for (size_t i = 0; i < x.n_files; i++) {
    mcap_message_iter_free(x.files[i].it);
    mcap_reader_free(x.files[i].r);
    free(x.files[i].chans);
  }
  free(x.files);
  free(x.heap);
  free(x.used_channel);
  free(x.schema_map);
  return rc;
}
