/*
 * server_routes_stream.c - POST /v1/data/stream (a signed link valid 15 s)
 * and the GET of that link, which streams an MCAP assembled from lake files
 * by pl_export_write. The export runs on a producer thread that writes into
 * a pipe; libmicrohttpd's content reader reads the other end, so the file is
 * produced while it is sent and a slow client slows the export down (the
 * pipe is the bounded buffer). A client that goes away closes the read end:
 * the producer's next write fails with EPIPE and the export stops.
 *
 * Strict choices: outputFormat "mcap", "mcap0" or "" (bag1 is 400: only MCAP
 * uploads exist here); replayLookbackSeconds is validated but the whole
 * recording is searched for the last message per channel; a device selection
 * without data in the range gives a valid MCAP without messages.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server_internal.h"

void pl__srv_stream_req_free(struct srv_stream_req *sr) {
  if (!sr) return;
  if (sr->budget) pl__srv_budget_release(sr->budget, sr->reserved);
  for (size_t i = 0; i < sr->n_dirs; i++) free(sr->dirs[i]);
  free(sr->dirs);
  for (size_t i = 0; i < sr->n_topics; i++) free(sr->topics[i]);
  free(sr->topics);
  free(sr);
}

void pl__srv_stream_gc(pl_server *s) {
  uint64_t now = pl__srv_now_s();
  pthread_mutex_lock(&s->stream_mu);
  struct srv_stream_req **pp = &s->streams;
  while (*pp) {
    if ((*pp)->expires + 60 < now) {
      struct srv_stream_req *dead = *pp;
      *pp = dead->next;
      pl__srv_stream_req_free(dead);
    } else {
      pp = &(*pp)->next;
    }
  }
  pthread_mutex_unlock(&s->stream_mu);
}

static int topic_selected(const struct srv_stream_req *sr, const char *topic) {
  if (!sr->n_topics) return 1;
  for (size_t i = 0; i < sr->n_topics; i++)
    if (topic && strcmp(sr->topics[i], topic) == 0) return 1;
  return 0;
}

/* What a fetch of the export reserves from the memory budget (docs/serve.md, "Memory
 * budget"): pl_export_write opens every selected lake file at once and holds its current
 * chunk, decompressed, and the next one its decompression thread prepares; a lake chunk
 * is the lake writer's chunk size plus one message, and never more than the topic's
 * bytes. The writer holds its chunk (1 MiB plus one message) and the compressed copy.
 * A message is at most the largest chunk or record of the upload (kept at import). */
static uint64_t export_cost(const struct srv_stream_req *sr,
                            const struct srv_recording *const *recs, size_t n) {
  uint64_t files = 0, message = 0;
  for (size_t i = 0; i < n; i++) {
    const pl_recording_index *ix = recs[i]->index;
    for (size_t k = 0; ix && k < ix->n_topics; k++) {
      const pl_topic *t = &ix->topics[k];
      if (!topic_selected(sr, t->topic)) continue;
      uint64_t msg = recs[i]->largest && recs[i]->largest < t->bytes ? recs[i]->largest
                                                                     : t->bytes;
      uint64_t open = SRV_LAKE_CHUNK + msg;
      if (t->bytes + 4096 < open) open = t->bytes + 4096;
      files += 2 * open;
      if (msg > message) message = msg;
    }
  }
  return SRV_EXPORT_BASE + files + 2 * ((UINT64_C(1) << 20) + message);
}

static struct srv_stream_req *copy_req(const struct srv_stream_req *in) {
  struct srv_stream_req *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  *c = *in;
  c->next = NULL;
  c->dirs = calloc(in->n_dirs ? in->n_dirs : 1, sizeof *c->dirs);
  c->topics = calloc(in->n_topics ? in->n_topics : 1, sizeof *c->topics);
  if (!c->dirs || !c->topics) {
    free(c->dirs);
    free(c->topics);
    free(c);
    return NULL;
  }
  c->n_dirs = c->n_topics = 0;
  for (size_t i = 0; i < in->n_dirs; i++) c->dirs[c->n_dirs++] = pl__srv_strdup(in->dirs[i]);
  for (size_t i = 0; i < in->n_topics; i++)
    c->topics[c->n_topics++] = pl__srv_strdup(in->topics[i]);
  return c;
}

static int cmp_rec_start(const void *a, const void *b, void *ctx) {
  (void)ctx;
  const struct srv_recording *x = a, *y = b;
  int c = pl__srv_cmp_u64(x->index->start, y->index->start);
  return c ? c : pl__srv_cmp_str(x->id, y->id);
}

void pl__srv_route_stream(struct srv_req *q, struct srv_resp *r) {
  static const char *const body[] = {
      "topics",     "outputFormat", "includeAttachments", "isHosted",    "replayLookbackSeconds",
      "replayPolicy", "deviceId",   "device.id",          "deviceName",  "device.name",
      "start",      "end",          "importId",           "recordingId", "recordingKey",
      "key",        "compressionFormat", NULL};
  if (!pl__srv_params_allow(q, r, (const char *const[]){NULL})) return;
  if (!pl__srv_body_allow(q, r, body)) return;
  struct srv_stream_req *sr = calloc(1, sizeof *sr);
  if (!sr) {
    pl__srv_resp_error(r, 500, "out of memory");
    return;
  }
  sr->compression = MCAP_COMPRESSION_ZSTD;
  const char *fmt, *policy, *comp, *did, *did_old, *dname, *dname_old, *iid, *rid, *rkey, *key;
  int hosted = 0, has_start, has_end;
  if (pl__srv_body_str(q, r, "outputFormat", &fmt) < 0 ||
      pl__srv_body_str(q, r, "replayPolicy", &policy) < 0 ||
      pl__srv_body_str(q, r, "compressionFormat", &comp) < 0 ||
      pl__srv_body_str(q, r, "deviceId", &did) < 0 ||
      pl__srv_body_str(q, r, "device.id", &did_old) < 0 ||
      pl__srv_body_str(q, r, "deviceName", &dname) < 0 ||
      pl__srv_body_str(q, r, "device.name", &dname_old) < 0 ||
      pl__srv_body_str(q, r, "importId", &iid) < 0 ||
      pl__srv_body_str(q, r, "recordingId", &rid) < 0 ||
      pl__srv_body_str(q, r, "recordingKey", &rkey) < 0 ||
      pl__srv_body_str(q, r, "key", &key) < 0 ||
      pl__srv_body_bool(q, r, "includeAttachments", &sr->include_attachments) < 0 ||
      pl__srv_body_bool(q, r, "isHosted", &hosted) < 0 ||
      pl__srv_body_time(q, r, "start", &has_start, &sr->start) < 0 ||
      pl__srv_body_time(q, r, "end", &has_end, &sr->end) < 0)
    goto fail;
  sr->has_start = has_start;
  sr->has_end = has_end;
  if (!did) did = did_old;
  if (!dname) dname = dname_old;
  if (!rkey) rkey = key;
  if (!rid) rid = iid;
  if (fmt && strcmp(fmt, "mcap") != 0 && strcmp(fmt, "mcap0") != 0 && fmt[0]) {
    pl__srv_resp_error(r, 400, "invalid 'outputFormat': '%s' (this site exports only mcap)", fmt);
    goto fail;
  }
  if (policy && policy[0] && strcmp(policy, "lastPerChannel") != 0) {
    pl__srv_resp_error(r, 400, "invalid 'replayPolicy': '%s' (expected \"\" or lastPerChannel)",
                       policy);
    goto fail;
  }
  sr->last_per_channel = policy && strcmp(policy, "lastPerChannel") == 0;
  if (comp) {
    if (strcmp(comp, "") == 0)
      sr->compression = MCAP_COMPRESSION_NONE;
    else if (strcmp(comp, "zstd") == 0)
      sr->compression = MCAP_COMPRESSION_ZSTD;
    else if (strcmp(comp, "lz4") == 0)
      sr->compression = MCAP_COMPRESSION_LZ4;
    else {
      pl__srv_resp_error(r, 400, "invalid 'compressionFormat': '%s' (expected \"\", zstd or lz4)",
                         comp);
      goto fail;
    }
  }
  json_object *lb = NULL;
  if (json_object_object_get_ex(q->body, "replayLookbackSeconds", &lb) && lb) {
    if (!(json_object_is_type(lb, json_type_int) || json_object_is_type(lb, json_type_double)) ||
        json_object_get_double(lb) < 0) {
      pl__srv_resp_error(r, 400, "'replayLookbackSeconds' must be a number >= 0");
      goto fail;
    }
  }
  json_object *topics = NULL;
  if (json_object_object_get_ex(q->body, "topics", &topics) && topics) {
    if (!json_object_is_type(topics, json_type_array)) {
      pl__srv_resp_error(r, 400, "field 'topics' must be an array of strings");
      goto fail;
    }
    size_t n = json_object_array_length(topics);
    sr->topics = calloc(n ? n : 1, sizeof *sr->topics);
    if (!sr->topics) {
      pl__srv_resp_error(r, 500, "out of memory");
      goto fail;
    }
    for (size_t i = 0; i < n; i++) {
      json_object *t = json_object_array_get_idx(topics, i);
      if (!json_object_is_type(t, json_type_string) || json_object_get_string_len(t) == 0) {
        pl__srv_resp_error(r, 400, "field 'topics' must be an array of non-empty strings");
        goto fail;
      }
      sr->topics[sr->n_topics++] = pl__srv_strdup(json_object_get_string(t));
    }
  }
  if (has_start != has_end) {
    pl__srv_resp_error(r, 400, "'start' and 'end' go together");
    goto fail;
  }
  if (has_start && sr->end < sr->start) {
    pl__srv_resp_error(r, 400, "'end' is before 'start'");
    goto fail;
  }
  int by_rec = rid || rkey;
  if (!by_rec && !did && !dname) {
    pl__srv_resp_error(r, 400,
                       "one of 'recordingId', 'recordingKey' or 'deviceId'/'deviceName' with "
                       "'start' and 'end' is required");
    goto fail;
  }
  if (!by_rec && !has_start) {
    pl__srv_resp_error(r, 400, "'start' and 'end' are required with a device");
    goto fail;
  }
  struct srv_store *st = &q->srv->store;
  pthread_rwlock_rdlock(&st->lock);
  struct srv_vec recs = {0};
  if (by_rec) {
    struct srv_recording *rec = rid ? pl__srv_rec_by_id(st, rid) : pl__srv_rec_by_key(st, rkey);
    if (!rec || rec->status != REC_COMPLETE || !rec->index) {
      pthread_rwlock_unlock(&st->lock);
      pl__srv_resp_error(r, 404, "recording '%s' not found", rid ? rid : rkey);
      goto fail;
    }
    pl__srv_vec_push(&recs, rec);
  } else {
    struct srv_device *d = did ? pl__srv_device_by_id(st, did) : pl__srv_device_by_name(st, dname);
    if (!d || (did && dname && strcmp(d->name, dname) != 0)) {
      pthread_rwlock_unlock(&st->lock);
      pl__srv_resp_error(r, 404, "device '%s' not found", did ? did : dname);
      goto fail;
    }
    for (size_t i = 0; i < st->recordings.n; i++) {
      struct srv_recording *rec = st->recordings.items[i];
      if (rec->status != REC_COMPLETE || !rec->index || !rec->device_id ||
          strcmp(rec->device_id, d->id) != 0)
        continue;
      if (rec->index->end < sr->start || rec->index->start > sr->end) continue;
      pl__srv_vec_push(&recs, rec);
    }
    pl__srv_sort(recs.items, recs.n, cmp_rec_start, NULL, 0);
  }
  sr->dirs = calloc(recs.n ? recs.n : 1, sizeof *sr->dirs);
  for (size_t i = 0; sr->dirs && i < recs.n; i++) {
    const struct srv_recording *rec = recs.items[i];
    sr->dirs[sr->n_dirs++] = pl__srv_printf("%s/%s", st->lake_dir, rec->lake_dir);
  }
  sr->cost = export_cost(sr, (const struct srv_recording *const *)recs.items, recs.n);
  if (recs.n == 1) {
    const struct srv_recording *rec = recs.items[0];
    snprintf(sr->filename, sizeof sr->filename, "%s", rec->id);
  } else {
    snprintf(sr->filename, sizeof sr->filename, "export");
  }
  pthread_rwlock_unlock(&st->lock);
  free(recs.items);
  if (!sr->dirs) {
    pl__srv_resp_error(r, 500, "out of memory");
    goto fail;
  }
  pl__srv_new_id("str", sr->token);
  uint64_t now = pl__srv_now_s();
  sr->expires = q->fault_expire ? now - 1 : now + SRV_STREAM_LINK_S;
  char *link = pl__srv_sign_link(q->srv, "GET", "stream", sr->token, sr->expires);
  if (!link) {
    pl__srv_resp_error(r, 500, "out of memory");
    goto fail;
  }
  pl__srv_stream_gc(q->srv);
  pthread_mutex_lock(&q->srv->stream_mu);
  size_t alive = 0;
  for (const struct srv_stream_req *p = q->srv->streams; p; p = p->next) alive++;
  if (alive >= SRV_MAX_STREAM_LINKS) {
    pthread_mutex_unlock(&q->srv->stream_mu);
    free(link);
    pl__srv_resp_error(r, 429, "%zu export links are alive; wait for them to expire", alive);
    r->retry_after = SRV_STREAM_LINK_S;
    goto fail;
  }
  sr->next = q->srv->streams;
  q->srv->streams = sr;
  pthread_mutex_unlock(&q->srv->stream_mu);
  json_object *o = json_object_new_object();
  json_object_object_add(o, "link", json_object_new_string(link));
  free(link);
  pl__srv_resp_json(r, 200, o);
  return;
fail:
  pl__srv_stream_req_free(sr);
}

void pl__srv_stream_open(pl_server *s, const char *token, struct srv_resp *r) {
  pthread_mutex_lock(&s->stream_mu);
  struct srv_stream_req *found = NULL;
  for (struct srv_stream_req *p = s->streams; p; p = p->next)
    if (strcmp(p->token, token) == 0) found = p;
  struct srv_stream_req *copy = found ? copy_req(found) : NULL;
  pthread_mutex_unlock(&s->stream_mu);
  if (!found) {
    pl__srv_resp_error(r, 404, "no such export");
    return;
  }
  if (!copy) {
    pl__srv_resp_error(r, 500, "out of memory");
    return;
  }
  /* heavy: the memory it will hold comes out of the budget first (released when the
   * copy is freed, after the producer has ended) */
  unsigned wait_ms = s->opt.budget_wait_ms ? s->opt.budget_wait_ms : SRV_DEFAULT_BUDGET_WAIT_MS;
  copy->reserved = pl__srv_budget_reserve(&s->budget, copy->cost, (int)wait_ms);
  if (!copy->reserved) {
    pl__srv_stream_req_free(copy);
    pl__srv_resp_error(r, 503,
                       "the server's memory budget is in use by other exports and imports; "
                       "retry later");
    r->retry_after = SRV_BUDGET_RETRY_S;
    return;
  }
  copy->budget = &s->budget;
  r->status = 200;
  r->kind = RESP_STREAM;
  r->stream = copy;
  r->content_type = "application/octet-stream";
  r->disposition = pl__srv_printf("attachment; filename=\"%s.mcap\"", copy->filename);
}

/* ------------------------------------------------------------- producer */

struct producer {
  pthread_t thread;
  int wfd;
  struct srv_stream_req *sr;
  int result;
  pl_server *srv;
};

static int pipe_write(void *payload, const void *buf, size_t len, mcap_error_info *err) {
  struct producer *p = payload;
  const char *b = buf;
  while (len) {
    ssize_t n = write(p->wfd, b, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (err) {
        err->code = MCAP_EIO;
        snprintf(err->msg, sizeof err->msg, "client went away: %s", strerror(errno));
      }
      return MCAP_EIO;
    }
    b += n;
    len -= (size_t)n;
  }
  return MCAP_OK;
}

static int pipe_close(void *payload, mcap_error_info *err) {
  (void)payload;
  (void)err;
  return MCAP_OK;
}

static void *produce(void *arg) {
  struct producer *p = arg;
  /* a client that leaves makes write() fail with EPIPE instead of killing us */
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  mcap_sink sink = {p, pipe_write, pipe_close};
  struct srv_stream_req *sr = p->sr;
  if (sr->n_dirs == 0) {
    /* nothing selected: a valid MCAP without messages */
    mcap_writer *w = NULL;
    mcap_writer_options wo;
    memset(&wo, 0, sizeof wo);
    wo.compression = sr->compression;
    p->result = mcap_writer_open(&w, &sink, &wo);
    if (p->result == MCAP_OK) p->result = mcap_writer_close(w);
    mcap_writer_free(w);
  } else {
    pl_export_request req;
    memset(&req, 0, sizeof req);
    req.recording_dirs = (const char *const *)sr->dirs;
    req.n_recording_dirs = sr->n_dirs;
    req.topics = sr->n_topics ? (const char *const *)sr->topics : NULL;
    req.n_topics = sr->n_topics;
    req.has_start = sr->has_start;
    req.has_end = sr->has_end;
    req.start = sr->start;
    req.end = sr->end;
    req.include_attachments = sr->include_attachments;
    req.last_per_channel = sr->last_per_channel;
    req.compression = sr->compression;
    pl_error_info err;
    memset(&err, 0, sizeof err);
    p->result = pl_export_write(&req, &sink, &err);
    if (p->result != PL_OK) pl__srv_log(p->srv, "export failed: %s", err.msg);
  }
  close(p->wfd);
  p->wfd = -1;
  return NULL;
}

int pl__srv_stream_start(pl_server *s, struct srv_stream_req *sr, void **handle) {
  *handle = NULL;
  struct producer *p = calloc(1, sizeof *p);
  int fds[2];
  if (!p || pipe2(fds, O_CLOEXEC) != 0) {
    free(p);
    pl__srv_stream_req_free(sr);
    return -1;
  }
  (void)fcntl(fds[1], F_SETPIPE_SZ, 1 << 20);
  p->wfd = fds[1];
  p->sr = sr;
  p->srv = s;
  if (pthread_create(&p->thread, NULL, produce, p) != 0) {
    close(fds[0]);
    close(fds[1]);
    pl__srv_stream_req_free(sr);
    free(p);
    return -1;
  }
  *handle = p;
  return fds[0];
}

int pl__srv_stream_finish(void *handle) {
  struct producer *p = handle;
  if (!p) return -1;
  pthread_join(p->thread, NULL);
  int rc = p->result;
  pl__srv_stream_req_free(p->sr);
  free(p);
  return rc == 0 ? 0 : -1;
}
