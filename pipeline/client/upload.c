/*
 * upload.c - pl_upload_files(): send recordings to the platform and prove
 * they arrived. Per file: pre-flight (the index with the doctor's findings;
 * errors refuse the file unless forced), the key (derived from the content
 * hash unless given, so a re-run can never make a duplicate), a look at the
 * remote first (a recording or pending import with that key means there is
 * nothing to send), the upload link, a streamed PUT (repeated whole on
 * retryable failures; a fresh link when one expired or was used), the import
 * wait, and the reconcile.
 *
 * Waiting: the pending import is polled by requestId until it is complete
 * (or "error": failed), then the recording by key until importStatus is
 * complete (or failed). Any other value, including ones this code does not
 * know, means "still running". Polls start at poll_initial_s and grow by half
 * each time up to 5 s; the wait ends with PL_ETIMEOUT naming the last status.
 *
 * Journal: DIR/upload-journal.jsonl, one JSON line per step reached
 * ("uploaded", "imported", "done"), appended with O_APPEND and fdatasync and
 * read back line by line (a torn last line from a crash is ignored). A file
 * whose latest line for the same API URL, absolute path, size and mtime says
 * "done" is skipped without being read. A batch holds an exclusive flock on
 * the journal, so two batches cannot interleave their lines.
 *
 * Parallelism: `jobs` worker threads, each with its own pl_http handle,
 * take the next file from a shared counter. Events go to the caller one at a
 * time under the batch mutex.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client_internal.h"
#include "pipeline/core.h"

#define DEFAULT_JOBS 4
#define DEFAULT_WAIT_S 600.0
#define DEFAULT_POLL_S 0.2
#define MAX_POLL_S 5.0
#define MAX_LINKS 6 /* upload links tried per file */
#define JOURNAL_NAME "upload-journal.jsonl"

const char *pl_upload_status_name(pl_upload_status s) {
  switch (s) {
    case PL_UPLOAD_DONE:
      return "done";
    case PL_UPLOAD_SKIPPED:
      return "skipped";
    case PL_UPLOAD_UPLOADED:
      return "uploaded";
    case PL_UPLOAD_IMPORTED:
      return "imported";
    case PL_UPLOAD_REFUSED:
      return "refused";
    case PL_UPLOAD_DIFFERS:
      return "differs";
    case PL_UPLOAD_FAILED:
      return "failed";
  }
  return "?";
}

void pl_upload_default_key(const char content_hash[33], char out[48]) {
  snprintf(out, 48, "mcapkit-%.32s", content_hash);
}

void pl_upload_results_free(pl_upload_result *r, size_t n) {
  if (!r) return;
  for (size_t i = 0; i < n; i++) {
    free(r[i].path);
    pl_reconcile_report_free(r[i].reconcile);
  }
  free(r);
}

/* ------------------------------------------------------------- journal */

struct journal {
  int fd; /* -1 when off */
  struct pl__journal_entry *e;
  size_t n, cap;
};

static int journal_open(struct journal *j, const char *dir, pl_error_info *err) {
  memset(j, 0, sizeof *j);
  j->fd = -1;
  if (mkdir(dir, 0755) != 0 && errno != EEXIST)
    return pl_error_set_errno(err, errno, "cannot create the journal directory '%s'", dir);
  size_t len = strlen(dir) + sizeof JOURNAL_NAME + 2;
  char *path = malloc(len);
  if (!path) return pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
  snprintf(path, len, "%s/%s", dir, JOURNAL_NAME);
  int fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    int rc = pl_error_set_errno(err, errno, "cannot open the journal '%s'", path);
    free(path);
    return rc;
  }
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int rc = errno == EWOULDBLOCK
                 ? pl_error_set(err, PL_ECONFLICT, UINT64_MAX,
                                "another upload is using the journal '%s'", path)
                 : pl_error_set_errno(err, errno, "cannot lock the journal '%s'", path);
    close(fd);
    free(path);
    return rc;
  }
  /* read it back */
  struct pl_buf b = {0};
  char chunk[65536];
  for (;;) {
    ssize_t r = pread(fd, chunk, sizeof chunk, (off_t)b.len);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      int rc = pl_error_set_errno(err, errno, "cannot read the journal '%s'", path);
      pl_buf_dispose(&b);
      close(fd);
      free(path);
      return rc;
    }
    if (r == 0) break;
    if (pl_buf_append(&b, chunk, (size_t)r) != 0) {
      pl_buf_dispose(&b);
      close(fd);
      free(path);
      return pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
    }
  }
  size_t start = 0;
  for (size_t i = 0; i < b.len; i++) {
    if (b.data[i] != '\n') continue;
    struct pl__journal_entry e;
    if (i > start && pl__journal_parse((const char *)b.data + start, i - start, &e) == 0) {
      if (pl_grow((void **)&j->e, &j->cap, j->n + 1, sizeof *j->e) == 0)
        j->e[j->n++] = e;
      else
        pl__journal_entry_dispose(&e);
    }
    start = i + 1;
  }
  /* a torn last line (a crash mid-write): end it, so the next line stands alone */
  if (b.len && b.data[b.len - 1] != '\n') {
    ssize_t w = write(fd, "\n", 1);
    (void)w;
  }
  pl_buf_dispose(&b);
  free(path);
  j->fd = fd;
  return PL_OK;
}

static void journal_close(struct journal *j) {
  for (size_t i = 0; i < j->n; i++) pl__journal_entry_dispose(&j->e[i]);
  free(j->e);
  if (j->fd >= 0) close(j->fd); /* releases the lock */
  memset(j, 0, sizeof *j);
  j->fd = -1;
}

/* The latest entry for (api, path); NULL if none. Caller holds the batch mutex. */
static const struct pl__journal_entry *journal_find(const struct journal *j, const char *api,
                                                    const char *path) {
  for (size_t i = j->n; i-- > 0;)
    if (strcmp(j->e[i].api_url, api) == 0 && strcmp(j->e[i].path, path) == 0) return &j->e[i];
  return NULL;
}

/* Append a line (caller holds the batch mutex). Failure to journal is reported, not fatal. */
static int journal_add(struct journal *j, const struct pl__journal_entry *e, pl_error_info *err) {
  if (j->fd < 0) return PL_OK;
  char *line = pl__journal_format(e);
  if (!line) return pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
  size_t len = strlen(line);
  ssize_t w;
  do {
    w = write(j->fd, line, len); /* one write with O_APPEND: the line stays whole */
  } while (w < 0 && errno == EINTR);
  int rc = PL_OK;
  if (w < 0 || (size_t)w != len)
    rc = pl_error_set_errno(err, w < 0 ? errno : EIO, "cannot write the upload journal");
  else if (fdatasync(j->fd) != 0)
    rc = pl_error_set_errno(err, errno, "cannot sync the upload journal");
  if (rc == PL_OK) {
    struct pl__journal_entry copy;
    memset(&copy, 0, sizeof copy);
    copy.api_url = pl_strdup(e->api_url);
    copy.path = pl_strdup(e->path);
    copy.size = e->size;
    copy.mtime_ns = e->mtime_ns;
    memcpy(copy.hash, e->hash, sizeof copy.hash);
    copy.key = pl_strdup(e->key);
    copy.request_id = pl_strdup(e->request_id);
    copy.recording_id = pl_strdup(e->recording_id);
    copy.state = pl_strdup(e->state);
    if (copy.api_url && copy.path && copy.state &&
        pl_grow((void **)&j->e, &j->cap, j->n + 1, sizeof *j->e) == 0)
      j->e[j->n++] = copy;
    else
      pl__journal_entry_dispose(&copy);
  }
  free(line);
  return rc;
}

/* ------------------------------------------------------------- the batch */

struct batch {
  const char *api_url;
  const char *api_key;
  pl_http_options http;
  const pl_upload_options *o;
  const char *const *paths;
  size_t n;
  pl_upload_result *results;
  pthread_mutex_t mu;
  size_t next;
  struct journal journal;
};

static void emit(struct batch *b, const pl_upload_event *ev) {
  if (!b->o->on_event) return;
  pthread_mutex_lock(&b->mu);
  b->o->on_event(b->o->event_user, ev);
  pthread_mutex_unlock(&b->mu);
}

static void emit_state(struct batch *b, size_t i, const char *state) {
  pl_upload_event ev;
  memset(&ev, 0, sizeof ev);
  ev.kind = PL_UPLOAD_EV_STATE;
  ev.index = i;
  ev.path = b->paths[i];
  ev.state = state;
  emit(b, &ev);
}

struct progress_ctx {
  struct batch *b;
  size_t i;
  double last;
};

static int on_progress(void *user, uint64_t done, uint64_t total) {
  struct progress_ctx *p = user;
  double now = pl__now_s();
  if (now - p->last < 0.1 && done != total) return 0;
  p->last = now;
  pl_upload_event ev;
  memset(&ev, 0, sizeof ev);
  ev.kind = PL_UPLOAD_EV_PROGRESS;
  ev.index = p->i;
  ev.path = p->b->paths[p->i];
  ev.done = done;
  ev.total = total;
  emit(p->b, &ev);
  return 0;
}

/* Everything known about one file while it goes through. */
struct item {
  struct batch *b;
  pl_http *h;
  size_t i;
  pl_upload_result *res;
  char *abspath;
  struct stat sb;
  pl_recording_index *ix;
};

static void record(struct item *it, const char *state) {
  struct pl__journal_entry e;
  memset(&e, 0, sizeof e);
  e.api_url = (char *)it->b->api_url;
  e.path = it->abspath;
  e.size = (uint64_t)it->sb.st_size;
  e.mtime_ns = (int64_t)it->sb.st_mtim.tv_sec * 1000000000 + it->sb.st_mtim.tv_nsec;
  if (it->ix) memcpy(e.hash, it->ix->content_hash, sizeof e.hash);
  e.key = it->res->key[0] ? it->res->key : NULL;
  e.request_id = it->res->request_id[0] ? it->res->request_id : NULL;
  e.recording_id = it->res->recording_id[0] ? it->res->recording_id : NULL;
  e.state = (char *)state;
  pl_error_info jerr;
  pthread_mutex_lock(&it->b->mu);
  int rc = journal_add(&it->b->journal, &e, &jerr);
  pthread_mutex_unlock(&it->b->mu);
  if (rc != PL_OK) pl__http_log(it->h, "%s", jerr.msg);
}

static int fail(struct item *it, int rc) {
  it->res->status = PL_UPLOAD_FAILED;
  it->res->rc = rc;
  return rc;
}

/* A pending import by request id (with completed and quarantined ones).
 * *found 0 when not listed. *status / *error malloc'd copies. */
static int pending_by_request(pl_http *h, const char *rid, int *found, char **status, char **error,
                              pl_error_info *err) {
  *found = 0;
  *status = *error = NULL;
  pl_param p[3] = {{"requestId", rid}, {"showCompleted", "true"}, {"showQuarantined", "true"}};
  pl_api_list l;
  int rc = pl_api_list_all(h, PL_API_PENDING_IMPORTS, p, 3, 0, &l, err);
  if (rc == PL_OK) {
    for (size_t k = 0; k < l.n; k++)
      if (l.imports[k].request_id && strcmp(l.imports[k].request_id, rid) == 0) {
        *found = 1;
        *status = pl_strdup(l.imports[k].status ? l.imports[k].status : "");
        *error = pl_strdup(l.imports[k].error);
        break;
      }
  }
  pl_api_list_dispose(&l);
  return rc;
}

/* Wait for the import of key (and request id, if known). */
static int wait_import(struct item *it) {
  const pl_upload_options *o = it->b->o;
  pl_upload_result *res = it->res;
  pl_error_info *err = &res->err;
  double timeout = o->wait_timeout_s > 0 ? o->wait_timeout_s : DEFAULT_WAIT_S;
  double poll = o->poll_initial_s > 0 ? o->poll_initial_s : DEFAULT_POLL_S;
  double deadline = pl__now_s() + timeout;
  int by_request = res->request_id[0] != 0;
  char last[128] = "not listed yet";
  for (;;) {
    if (by_request) {
      int found = 0;
      char *status = NULL, *error = NULL;
      int rc = pending_by_request(it->h, res->request_id, &found, &status, &error, err);
      if (rc != PL_OK) return rc;
      if (found) {
        snprintf(last, sizeof last, "pending import %s", status ? status : "?");
        if (status && strcmp(status, "error") == 0) {
          rc = pl_error_set(err, PL_EHTTP, UINT64_MAX, "the import of '%s' failed: %s", res->path,
                            error ? error : "(no reason given)");
          free(status);
          free(error);
          return rc;
        }
        if (status && strcmp(status, "complete") == 0) by_request = 0;
      } else {
        /* not listed (any more): look for the recording */
        by_request = 0;
      }
      free(status);
      free(error);
    }
    if (!by_request) {
      pl_api_recording *rec = NULL;
      pl_error_info e2;
      int rc = pl_api_get_recording(it->h, res->key, &rec, &e2);
      if (rc == PL_OK) {
        snprintf(res->recording_id, sizeof res->recording_id, "%s", rec->id);
        snprintf(last, sizeof last, "recording %s", rec->import_status ? rec->import_status : "?");
        int done = rec->import_status && strcmp(rec->import_status, "complete") == 0;
        int failed = rec->import_status && strcmp(rec->import_status, "failed") == 0;
        pl_api_recording_free(rec);
        if (done) return PL_OK;
        if (failed)
          return pl_error_set(err, PL_EHTTP, UINT64_MAX, "the import of '%s' failed (key '%s')",
                              res->path, res->key);
      } else if (rc != PL_ENOTFOUND) {
        *err = e2;
        return rc;
      } else if (res->request_id[0]) {
        /* complete but no recording yet, or listed late: ask the import again */
        by_request = 1;
      }
    }
    double now = pl__now_s();
    if (now >= deadline)
      return pl_error_set(err, PL_ETIMEOUT, UINT64_MAX,
                          "the import of '%s' did not finish within %.0f s (last seen: %s)",
                          res->path, timeout, last);
    double wait = poll < deadline - now ? poll : deadline - now;
    if (pl__http_sleep(it->h, wait) != PL_OK)
      return pl_error_set(err, PL_ECANCELED, UINT64_MAX,
                          "interrupted while waiting for the import");
    poll *= 1.5;
    if (poll > MAX_POLL_S) poll = MAX_POLL_S;
  }
}

/* Is there already something with our key? 1 = a recording (complete or
 * importing), 2 = a pending import (request id set), 0 = nothing. */
static int find_existing(struct item *it, int *rc_out) {
  pl_upload_result *res = it->res;
  *rc_out = PL_OK;
  pl_api_recording *rec = NULL;
  pl_error_info e2;
  int rc = pl_api_get_recording(it->h, res->key, &rec, &e2);
  if (rc == PL_OK) {
    snprintf(res->recording_id, sizeof res->recording_id, "%s", rec->id);
    int failed = rec->import_status && strcmp(rec->import_status, "failed") == 0;
    pl_api_recording_free(rec);
    if (!failed) return 1;
    /* a failed import under this key: send it again */
    res->recording_id[0] = 0;
  } else if (rc != PL_ENOTFOUND) {
    res->err = e2;
    *rc_out = rc;
    return 0;
  }
  pl_param p[3] = {{"key", res->key}, {"showCompleted", "true"}, {"showQuarantined", "false"}};
  pl_api_list l;
  rc = pl_api_list_all(it->h, PL_API_PENDING_IMPORTS, p, 3, 0, &l, &res->err);
  if (rc != PL_OK) {
    pl_api_list_dispose(&l);
    *rc_out = rc;
    return 0;
  }
  int found = 0;
  for (size_t k = 0; k < l.n && !found; k++) {
    const pl_api_import *m = &l.imports[k];
    if (!m->key || strcmp(m->key, res->key) != 0) continue;
    if (m->status && strcmp(m->status, "error") == 0) continue;
    snprintf(res->request_id, sizeof res->request_id, "%s", m->request_id);
    found = 2;
  }
  pl_api_list_dispose(&l);
  return found;
}

static const char *base_name(const char *p) {
  const char *s = strrchr(p, '/');
  return s ? s + 1 : p;
}

/* Link + PUT, with fresh links when one is refused. */
static int send_file(struct item *it) {
  struct batch *b = it->b;
  pl_upload_result *res = it->res;
  const pl_upload_options *o = b->o;
  int rc = PL_OK;
  for (int tries = 1;; tries++) {
    char *link = NULL, *rid = NULL;
    rc = pl_api_upload_link(it->h, base_name(res->path), o->device_id, o->device_name, res->key,
                            &link, &rid, &res->err);
    if (rc != PL_OK) return rc;
    snprintf(res->request_id, sizeof res->request_id, "%s", rid);
    emit_state(b, it->i, "uploading");
    struct progress_ctx pc = {b, it->i, 0};
    pl_http_response resp;
    rc = pl_http_put_file(it->h, link, res->path, on_progress, &pc, &resp, &res->err);
    pl_http_response_dispose(&resp);
    free(link);
    free(rid);
    if (rc == PL_OK) {
      res->uploads = 1;
      return PL_OK;
    }
    if (rc == PL_ECONFLICT) {
      /* "already used": an earlier try may have gone through with its reply lost */
      int found = 0;
      char *status = NULL, *error = NULL;
      pl_error_info e2;
      int prc = pending_by_request(it->h, res->request_id, &found, &status, &error, &e2);
      free(status);
      free(error);
      if (prc == PL_OK && found) {
        res->uploads = 1;
        return PL_OK;
      }
    } else if (rc != PL_EAUTH && rc != PL_ENOTFOUND) {
      return rc; /* transport errors were retried already */
    }
    if (tries >= MAX_LINKS) return rc;
    pl__http_log(it->h, "'%s': %s; asking for a new upload link", res->path, res->err.msg);
  }
}

static void process(struct item *it) {
  struct batch *b = it->b;
  const pl_upload_options *o = b->o;
  pl_upload_result *res = it->res;
  pl_error_info *err = &res->err;
  emit_state(b, it->i, "checking");
  if (stat(res->path, &it->sb) != 0) {
    fail(it, pl_error_set_errno(err, errno, "cannot stat '%s'", res->path));
    return;
  }
  res->size = (uint64_t)it->sb.st_size;
  char real[PATH_MAX];
  it->abspath = pl_strdup(realpath(res->path, real) ? real : res->path);
  if (!it->abspath) {
    fail(it, pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory"));
    return;
  }
  int64_t mtime = (int64_t)it->sb.st_mtim.tv_sec * 1000000000 + it->sb.st_mtim.tv_nsec;
  pthread_mutex_lock(&b->mu);
  const struct pl__journal_entry *je = journal_find(&b->journal, b->api_url, it->abspath);
  int skip = je && je->size == (uint64_t)it->sb.st_size && je->mtime_ns == mtime &&
             strcmp(je->state, "done") == 0;
  if (skip) {
    snprintf(res->key, sizeof res->key, "%s", je->key ? je->key : "");
    snprintf(res->recording_id, sizeof res->recording_id, "%s",
             je->recording_id ? je->recording_id : "");
  }
  pthread_mutex_unlock(&b->mu);
  if (skip) {
    res->status = PL_UPLOAD_SKIPPED;
    return;
  }

  /* pre-flight: the index with the doctor's findings */
  pl_index_options io;
  memset(&io, 0, sizeof io);
  io.tolerance_s = o->tolerance_s > 0 ? o->tolerance_s : -1;
  io.threads = 1;
  int rc = pl_index_file(res->path, &io, &it->ix, err);
  if (rc != PL_OK) {
    fail(it, rc);
    return;
  }
  const pl_finding *first = NULL, *first_warning = NULL;
  for (size_t k = 0; k < it->ix->n_problems; k++) {
    if (it->ix->problems[k].severity == PL_SEV_ERROR) {
      res->doctor_errors++;
      if (!first) first = &it->ix->problems[k];
    } else if (it->ix->problems[k].severity == PL_SEV_WARNING) {
      res->doctor_warnings++;
      if (!first_warning) first_warning = &it->ix->problems[k];
    }
  }
  if (it->ix->partial && !res->doctor_errors) res->doctor_errors = 1;
  if (res->doctor_errors && !o->force) {
    res->status = PL_UPLOAD_REFUSED;
    res->rc = PL_EVERIFY;
    pl_error_set(
        err, PL_EVERIFY, first ? first->offset : UINT64_MAX,
        "'%s': the doctor found %zu error%s (%s%s%s); not uploaded (--force sends it anyway)",
        res->path, res->doctor_errors, res->doctor_errors == 1 ? "" : "s",
        first ? first->code : "partial", first ? ": " : "", first ? first->message : "");
    return;
  }
  if (o->strict && res->doctor_warnings && !o->force) {
    res->status = PL_UPLOAD_REFUSED;
    res->rc = PL_EVERIFY;
    pl_error_set(err, PL_EVERIFY, first_warning->offset,
                 "'%s': the doctor found %zu warning%s (%s: %s); not uploaded with --strict",
                 res->path, res->doctor_warnings, res->doctor_warnings == 1 ? "" : "s",
                 first_warning->code, first_warning->message);
    return;
  }
  if (o->key && b->n == 1)
    snprintf(res->key, sizeof res->key, "%s", o->key);
  else
    pl_upload_default_key(it->ix->content_hash, res->key);

  int frc = PL_OK;
  int existing = find_existing(it, &frc);
  if (frc != PL_OK) {
    fail(it, frc);
    return;
  }
  if (existing) {
    res->already_there = 1;
  } else {
    rc = send_file(it);
    if (rc != PL_OK) {
      fail(it, rc);
      return;
    }
    record(it, "uploaded");
  }
  if (o->no_wait) {
    res->status = PL_UPLOAD_UPLOADED;
    return;
  }
  emit_state(b, it->i, "waiting for import");
  rc = wait_import(it);
  if (rc != PL_OK) {
    fail(it, rc);
    return;
  }
  record(it, "imported");
  if (o->no_reconcile) {
    res->status = PL_UPLOAD_IMPORTED;
    return;
  }
  emit_state(b, it->i, "reconciling");
  pl_reconcile_options ro;
  memset(&ro, 0, sizeof ro);
  ro.device_name = o->device_name;
  ro.device_id = o->device_id;
  rc = pl_reconcile(it->h, it->ix, res->recording_id[0] ? res->recording_id : res->key, &ro,
                    &res->reconcile, err);
  if (rc != PL_OK) {
    fail(it, rc);
    return;
  }
  if (res->reconcile->n_diffs) {
    res->status = PL_UPLOAD_DIFFERS;
    res->rc = PL_EVERIFY;
    pl_error_set(err, PL_EVERIFY, UINT64_MAX, "'%s': the remote recording differs in %zu place%s",
                 res->path, res->reconcile->n_diffs, res->reconcile->n_diffs == 1 ? "" : "s");
    return;
  }
  res->status = PL_UPLOAD_DONE;
  record(it, "done");
}

static void *worker(void *arg) {
  struct batch *b = arg;
  pl_http *h = NULL;
  pl_error_info herr;
  int hrc = pl_http_new(&h, b->api_url, b->api_key, &b->http, &herr);
  for (;;) {
    pthread_mutex_lock(&b->mu);
    size_t i = b->next < b->n ? b->next++ : b->n;
    pthread_mutex_unlock(&b->mu);
    if (i >= b->n) break;
    pl_upload_result *res = &b->results[i];
    res->path = pl_strdup(b->paths[i]);
    res->err.offset = UINT64_MAX;
    if (hrc != PL_OK) {
      res->status = PL_UPLOAD_FAILED;
      res->rc = hrc;
      res->err = herr;
    } else if (b->o->cancel && *b->o->cancel) {
      res->status = PL_UPLOAD_FAILED;
      res->rc = pl_error_set(&res->err, PL_ECANCELED, UINT64_MAX, "not started (interrupted)");
    } else if (!res->path) {
      res->status = PL_UPLOAD_FAILED;
      res->rc = pl_error_set(&res->err, PL_ENOMEM, UINT64_MAX, "out of memory");
    } else {
      struct item it;
      memset(&it, 0, sizeof it);
      it.b = b;
      it.h = h;
      it.i = i;
      it.res = res;
      process(&it);
      pl_recording_index_free(it.ix);
      free(it.abspath);
    }
    pl_upload_event ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = PL_UPLOAD_EV_DONE;
    ev.index = i;
    ev.path = b->paths[i];
    ev.result = res;
    emit(b, &ev);
  }
  pl_http_free(h);
  return NULL;
}

int pl_upload_files(const char *api_url, const char *api_key, const pl_http_options *http,
                    const char *const *paths, size_t n, const pl_upload_options *o,
                    pl_upload_result **results, pl_error_info *err) {
  *results = NULL;
  pl_upload_options defaults;
  memset(&defaults, 0, sizeof defaults);
  if (!o) o = &defaults;
  if (o->key && n > 1)
    return pl_error_set(err, PL_EINVAL, UINT64_MAX, "a key can only be given for a single file");
  /* check the URL once, before any thread starts */
  pl_http *probe = NULL;
  int rc = pl_http_new(&probe, api_url, api_key, http, err);
  if (rc != PL_OK) return rc;
  struct batch b;
  memset(&b, 0, sizeof b);
  b.api_url = pl_http_api_url(probe);
  b.api_key = api_key;
  if (http) b.http = *http;
  if (!b.http.cancel) b.http.cancel = o->cancel;
  b.o = o;
  b.paths = paths;
  b.n = n;
  b.journal.fd = -1;
  b.results = calloc(n ? n : 1, sizeof *b.results);
  if (!b.results) {
    pl_http_free(probe);
    return pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
  }
  if (!o->no_journal) {
    rc = journal_open(&b.journal, o->journal_dir ? o->journal_dir : ".mcapkit", err);
    if (rc != PL_OK) {
      free(b.results);
      pl_http_free(probe);
      return rc;
    }
  }
  pthread_mutex_init(&b.mu, NULL);
  int jobs = o->jobs > 0 ? o->jobs : DEFAULT_JOBS;
  if ((size_t)jobs > n) jobs = (int)(n ? n : 1);
  pthread_t *th = calloc((size_t)jobs, sizeof *th);
  int started = 0;
  for (int k = 0; th && k < jobs; k++) {
    if (pthread_create(&th[k], NULL, worker, &b) != 0) break;
    started++;
  }
  if (started == 0) worker(&b); /* no threads: do it here */
  for (int k = 0; k < started; k++) pthread_join(th[k], NULL);
  free(th);
  pthread_mutex_destroy(&b.mu);
  journal_close(&b.journal);

  rc = PL_OK;
  int verify = 0;
  for (size_t i = 0; i < n; i++) {
    const pl_upload_result *r = &b.results[i];
    if (r->status == PL_UPLOAD_FAILED && rc == PL_OK) {
      rc = r->rc ? r->rc : PL_EINVAL;
      if (err) *err = r->err;
    }
    if (r->status == PL_UPLOAD_REFUSED || r->status == PL_UPLOAD_DIFFERS) verify = 1;
  }
  if (rc == PL_OK && verify)
    rc = pl_error_set(err, PL_EVERIFY, UINT64_MAX, "some files were refused or differ remotely");
  pl_http_free(probe);
  *results = b.results;
  return rc;
}
