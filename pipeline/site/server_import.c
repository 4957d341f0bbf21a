/*
 * server_import.c - the background import of received uploads on a pool of
 * workers (--import-workers, default 2), started in order of arrival, so that
 * one huge file does not hold the uploads behind it: quick checks (leading
 * magic, footer record, trailing magic), the full index (pl_index_file),
 * device and key resolution with de-duplication, lake files (pl_lake_write),
 * attachment bytes, commit.
 *
 * Crash safety: the upload stays in DATA/inbox until the commit has been
 * persisted, and every step persists the import's status first. On start,
 * imports that were received or in progress are queued again (their
 * recording id was reserved and persisted before anything was written, so a
 * resumed import rewrites the same lake folder instead of adding a second
 * recording); a completed import whose inbox file survived has it removed.
 * A file that cannot be imported is moved to DATA/inbox/_quarantine/ and its
 * import ends in "error" with the reason.
 *
 * Import statuses: received -> processing (checks, index) -> ready for
 * indexing (lake files, attachments) -> complete | error.
 *
 * Several at once: each reserves its memory from the budget first (import_cost;
 * stage "waiting for memory" meanwhile); two imports with the same recording
 * key never overlap (the later waits for the earlier to end, then de-duplicates
 * against it as one queue did); lake files go to a folder per recording id.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "server_internal.h"

/* ------------------------------------------------------------- queue */

void pl__srv_import_enqueue(pl_server *s, const char *request_id) {
  char *copy = pl__srv_strdup(request_id);
  if (!copy) return;
  pthread_mutex_lock(&s->imp_mu);
  if (pl__srv_vec_push(&s->queue, copy) != 0) free(copy);
  pthread_cond_broadcast(&s->imp_cv);
  pthread_mutex_unlock(&s->imp_mu);
}

static int crashed(pl_server *s) {
  pthread_mutex_lock(&s->imp_mu);
  int c = s->imp_crash;
  pthread_mutex_unlock(&s->imp_mu);
  return c;
}

/* ------------------------------------------------------------- status updates */

/* Under the write lock: set status and stage and persist. */
static void set_status_locked(pl_server *s, struct srv_import *m, int status, const char *stage) {
  m->status = status;
  free(m->stage);
  m->stage = pl__srv_strdup(stage);
  m->updated = pl__srv_now_ns();
  if (pl__srv_imp_save(&s->store, m) != 0)
    pl__srv_log(s, "cannot save import %s: %s", m->request_id, strerror(errno));
}

static void set_status(pl_server *s, const char *rid, int status, const char *stage) {
  if (crashed(s)) return;
  pthread_rwlock_wrlock(&s->store.lock);
  struct srv_import *m = pl__srv_imp_find(&s->store, rid);
  if (m) set_status_locked(s, m, status, stage);
  pthread_rwlock_unlock(&s->store.lock);
}

/* End an import in "error": quarantine its file, mark its recording failed. */
static void fail(pl_server *s, const char *rid, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void fail(pl_server *s, const char *rid, const char *fmt, ...) {
  if (crashed(s)) return;
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  struct srv_store *st = &s->store;
  char *from = pl__srv_inbox_path(st, rid, ".mcap");
  char *to = pl__srv_quarantine_path(st, rid);
  pthread_rwlock_wrlock(&st->lock);
  struct srv_import *m = pl__srv_imp_find(st, rid);
  if (from && to && rename(from, to) == 0) {
    char *q = pl__srv_printf("%s/inbox/_quarantine", st->data_dir);
    if (q) pl__srv_sync_dir(q, st->no_fsync);
    free(q);
  }
  if (m) {
    free(m->error);
    m->error = pl__srv_strdup(msg);
    m->quarantined = pl__srv_now_ns();
    struct srv_recording *rec = m->import_id ? pl__srv_rec_by_id(st, m->import_id) : NULL;
    if (rec && rec->status == REC_IMPORTING) {
      rec->status = REC_FAILED;
      pl__srv_rec_save(st, rec);
    }
    set_status_locked(s, m, IMP_ERROR, "quarantined");
  }
  pthread_rwlock_unlock(&st->lock);
  pl__srv_log(s, "import %s failed: %s", rid, msg);
  free(from);
  free(to);
}

/* ------------------------------------------------------------- quick checks */

static int quick_check(const char *path, char *msg, size_t len) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    snprintf(msg, len, "cannot open the upload: %s", strerror(errno));
    return -1;
  }
  struct stat sb;
  uint8_t head[8], tail[8 + 29];
  int rc = -1;
  if (fstat(fd, &sb) != 0) {
    snprintf(msg, len, "cannot stat the upload: %s", strerror(errno));
  } else if (sb.st_size < 8 + 29 + 8) {
    snprintf(msg, len, "not an MCAP file: %lld bytes is too short for magic, footer and magic",
             (long long)sb.st_size);
  } else if (pread(fd, head, 8, 0) != 8 || memcmp(head, MCAP_MAGIC, 8) != 0) {
    snprintf(msg, len, "not an MCAP file: bad magic at offset 0");
  } else if (pread(fd, tail, sizeof tail, sb.st_size - (off_t)sizeof tail) != (ssize_t)sizeof tail) {
    snprintf(msg, len, "cannot read the end of the upload: %s", strerror(errno));
  } else if (memcmp(tail + 29, MCAP_MAGIC, 8) != 0) {
    snprintf(msg, len, "truncated or damaged MCAP file: no trailing magic at offset %lld",
             (long long)(sb.st_size - 8));
  } else {
    uint64_t flen = 0;
    for (int i = 0; i < 8; i++) flen |= (uint64_t)tail[1 + i] << (8 * i);
    if (tail[0] != 0x02 || flen != 20)
      snprintf(msg, len, "damaged MCAP file: no footer record at offset %lld",
               (long long)(sb.st_size - (off_t)sizeof tail));
    else
      rc = 0;
  }
  close(fd);
  return rc;
}

/* ------------------------------------------------------------- attachments */

static int safe_rel_path(const char *p) {
  if (!p || !*p || p[0] == '/') return 0;
  const char *s = p;
  while (*s) {
    const char *e = strchr(s, '/');
    size_t n = e ? (size_t)(e - s) : strlen(s);
    if (n == 0 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.')) return 0;
    if (!e) break;
    s = e + 1;
  }
  return 1;
}

/* Copy every attachment's bytes to DATA/attachments/<recId>/<attId>; fills
 * atts (ids assigned here). 0 or -1 with msg. */
static int extract_attachments(pl_server *s, const char *path, const char *rec_id,
                               const pl_recording_index *ix, struct srv_attachment **out,
                               size_t *n_out, char *msg, size_t len) {
  *out = NULL;
  *n_out = 0;
  struct srv_store *st = &s->store;
  char *dir = pl__srv_printf("%s/attachments/%s", st->data_dir, rec_id);
  if (!dir) return -1;
  pl__srv_rmtree(dir);
  if (ix->n_attachments == 0) {
    free(dir);
    return 0;
  }
  if (pl__srv_mkdirs(dir, 0700) != 0) {
    snprintf(msg, len, "cannot create '%s': %s", dir, strerror(errno));
    free(dir);
    return -1;
  }
  struct srv_attachment *atts = calloc(ix->n_attachments, sizeof *atts);
  mcap_source src;
  memset(&src, 0, sizeof src);
  mcap_error_info merr;
  memset(&merr, 0, sizeof merr);
  mcap_reader *rd = NULL;
  int rc = -1;
  uint8_t *buf = malloc(1 << 20);
  if (!atts || !buf) goto out;
  if (mcap_source_open_file(&src, path, &merr) != MCAP_OK) {
    snprintf(msg, len, "cannot open the upload for attachments: %s", merr.msg);
    goto out;
  }
  if (mcap_reader_open(&rd, &src, NULL, &merr) != MCAP_OK) {
    snprintf(msg, len, "cannot read attachments: %s", merr.msg);
    goto out;
  }
  for (size_t i = 0; i < ix->n_attachments; i++) {
    const pl_attachment_info *info = &ix->attachments[i];
    const mcap_attachment_index *ai = NULL;
    for (size_t k = 0; k < mcap_reader_attachment_count(rd); k++)
      if (mcap_reader_attachment_at(rd, k)->offset == info->offset)
        ai = mcap_reader_attachment_at(rd, k);
    if (!ai) {
      snprintf(msg, len, "attachment '%s' at offset %llu is not in the file's index",
               info->name ? info->name : "", (unsigned long long)info->offset);
      goto out;
    }
    struct srv_attachment *a = &atts[*n_out];
    char id[SRV_ID_LEN + 1];
    pl__srv_new_id("att", id);
    a->id = pl__srv_strdup(id);
    a->recording_id = pl__srv_strdup(rec_id);
    a->name = pl__srv_strdup(info->name ? info->name : "");
    a->media_type = pl__srv_strdup(info->media_type ? info->media_type : "");
    a->log_time = info->log_time;
    a->create_time = info->create_time;
    a->crc = info->crc;
    a->size = info->size;
    a->offset = info->offset;
    memcpy(a->fingerprint, info->fingerprint, sizeof a->fingerprint);
    (*n_out)++;
    char *file = pl__srv_att_path(st, rec_id, id);
    int fd = file ? open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600) : -1;
    free(file);
    if (fd < 0) {
      snprintf(msg, len, "cannot store attachment '%s': %s", a->name, strerror(errno));
      goto out;
    }
    mcap_attachment_stream *as = NULL;
    mcap_attachment fields;
    int mrc = mcap_reader_attachment_open(rd, ai, &as, &fields);
    uint64_t total = 0;
    while (mrc == MCAP_OK) {
      size_t got = 0;
      mrc = mcap_attachment_stream_read(as, buf, 1 << 20, &got);
      if (mrc != MCAP_OK || got == 0) break;
      const uint8_t *p = buf;
      size_t left = got;
      while (left) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) {
          mrc = MCAP_EIO;
          break;
        }
        p += w;
        left -= (size_t)w;
      }
      total += got;
    }
    mcap_attachment_stream_free(as);
    if (mrc == MCAP_OK && !st->no_fsync && fsync(fd) != 0) mrc = MCAP_EIO;
    close(fd);
    if (mrc != MCAP_OK) {
      snprintf(msg, len, "cannot copy attachment '%s': %s", a->name,
               mrc == MCAP_EIO ? strerror(errno) : mcap_reader_errmsg(rd));
      goto out;
    }
    a->size = total;
  }
  pl__srv_sync_dir(dir, st->no_fsync);
  rc = 0;
out:
  mcap_reader_free(rd);
  if (!rd) mcap_source_close(&src);
  free(buf);
  if (rc != 0) {
    pl__srv_rmtree(dir);
    for (size_t i = 0; atts && i < *n_out; i++) {
      free(atts[i].id);
      free(atts[i].recording_id);
      free(atts[i].name);
      free(atts[i].media_type);
    }
    free(atts);
    atts = NULL;
    *n_out = 0;
  }
  free(dir);
  *out = atts;
  return rc;
}

/* ------------------------------------------------------------- one import */

/* What a recording keeps in the site's state and lists are bounded (docs/serve.md). */
static int index_too_large(const pl_recording_index *ix, char *msg, size_t len) {
  uint64_t meta = 0, ranges = ix->n_coverage;
  for (size_t i = 0; i < ix->n_metadata; i++) {
    meta += strlen(ix->metadata[i].name ? ix->metadata[i].name : "");
    for (size_t k = 0; k < ix->metadata[i].n_entries; k++)
      meta += strlen(ix->metadata[i].entries[k].key) + strlen(ix->metadata[i].entries[k].value);
  }
  for (size_t i = 0; i < ix->n_topic_coverage; i++) ranges += ix->topic_coverage[i].n_ranges;
  if (meta > SRV_MAX_METADATA_BYTES)
    snprintf(msg, len, "the file's metadata records hold %llu bytes; a recording keeps at most "
                       "%u",
             (unsigned long long)meta, SRV_MAX_METADATA_BYTES);
  else if (ix->n_attachments > SRV_MAX_ATTACHMENTS)
    snprintf(msg, len, "the file has %zu attachments; a recording keeps at most %d",
             ix->n_attachments, SRV_MAX_ATTACHMENTS);
  else if (ranges > SRV_MAX_RANGES)
    snprintf(msg, len, "the file's coverage has %llu ranges (topics included); a recording keeps "
                       "at most %d",
             (unsigned long long)ranges, SRV_MAX_RANGES);
  else
    return 0;
  return 1;
}

/* What an import reserves from the memory budget (docs/serve.md, "Memory budget"): the
 * readers of the upload hold one chunk (at most `largest` bytes uncompressed) per thread
 * and one more in hand; with the index known, the lake writers hold an open chunk per
 * topic (their chunk size plus one message, at most the topic's bytes) and its compressed
 * copy. */
static uint64_t import_cost(pl_server *s, uint64_t largest, const pl_recording_index *ix) {
  uint64_t threads = s->opt.import_threads > 0 ? (uint64_t)s->opt.import_threads : 0;
  if (!threads) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    threads = n > 0 ? (uint64_t)n : 1;
  }
  uint64_t cost = SRV_IMPORT_BASE + (threads + 1) * largest;
  for (size_t i = 0; ix && i < ix->n_topics; i++) {
    uint64_t open = SRV_LAKE_CHUNK + largest;
    if (ix->topics[i].bytes + 4096 < open) open = ix->topics[i].bytes + 4096;
    cost += 2 * open;
  }
  return cost;
}

/* Wait until an import ends after `done_before` imports had ended; 0 on a crash. (A
 * graceful stop lets the import it waits for finish: workers end after their import.) */
static int wait_for_an_import(pl_server *s, uint64_t done_before) {
  pthread_mutex_lock(&s->imp_mu);
  while (!s->imp_crash && s->imp_done == done_before)
    pthread_cond_wait(&s->imp_cv, &s->imp_mu);
  int ok = !s->imp_crash;
  pthread_mutex_unlock(&s->imp_mu);
  return ok;
}

/* Reserve from the budget, showing "waiting for memory" while it is not there; 0 on a
 * crash meanwhile. The stage before it is put back. A key-wait below holds a reservation,
 * but the import it waits for is past all of its own, so nothing waits in a circle. */
static uint64_t reserve(pl_server *s, const char *rid, uint64_t want) {
  uint64_t got = pl__srv_budget_reserve(&s->budget, want, 0);
  if (got) return got;
  struct srv_store *st = &s->store;
  char *stage = NULL;
  int status = IMP_PROCESSING;
  pthread_rwlock_rdlock(&st->lock);
  struct srv_import *m = pl__srv_imp_find(st, rid);
  if (m) {
    stage = pl__srv_strdup(m->stage);
    status = m->status;
  }
  pthread_rwlock_unlock(&st->lock);
  set_status(s, rid, status, "waiting for memory");
  got = pl__srv_budget_reserve(&s->budget, want, -1);
  if (got && stage) set_status(s, rid, status, stage);
  free(stage);
  return got;
}

/* A device an upload names, created (store lock held exclusive); the store's creation hook
 * queues device.created. */
static struct srv_device *device_create(pl_server *s, const char *name) {
  return pl__srv_device_create(&s->store, name, NULL);
}

static void import_one(pl_server *s, const char *rid) {
  struct srv_store *st = &s->store;
  uint64_t reserved = 0;
  char msg[1024];
  char *path = pl__srv_inbox_path(st, rid, ".mcap");
  pl_recording_index *ix = NULL;
  pl_lake_result res;
  memset(&res, 0, sizeof res);
  struct srv_attachment *atts = NULL;
  size_t n_atts = 0;
  if (!path) return;
  if (s->opt.import_hook) {
    char *name = NULL;
    pthread_rwlock_rdlock(&st->lock);
    struct srv_import *h = pl__srv_imp_find(st, rid);
    if (h) name = pl__srv_strdup(h->filename);
    pthread_rwlock_unlock(&st->lock);
    s->opt.import_hook(s->opt.import_hook_user, name ? name : "");
    free(name);
  }
  set_status(s, rid, IMP_PROCESSING, "checking");
  if (quick_check(path, msg, sizeof msg) != 0) {
    fail(s, rid, "%s", msg);
    goto out;
  }
  /* before any reader trusts the sizes the file declares (server_bounds.c) */
  uint64_t largest = 0;
  if (pl__srv_check_sizes(path, s->opt.max_message_size ? s->opt.max_message_size
                                                        : SRV_DEFAULT_MAX_MESSAGE,
                          msg, sizeof msg, &largest) != 0) {
    fail(s, rid, "%s", msg);
    goto out;
  }
  /* the index holds one chunk per reader thread and one more in hand */
  reserved = reserve(s, rid, import_cost(s, largest, NULL));
  if (!reserved) goto out; /* crashed: the import stays queued on disk and resumes */
  set_status(s, rid, IMP_PROCESSING, "indexing");
  pl_index_options io;
  memset(&io, 0, sizeof io);
  io.tolerance_s = -1;
  io.threads = s->opt.import_threads;
  pl_error_info perr;
  memset(&perr, 0, sizeof perr);
  int rc = pl_index_file(path, &io, &ix, &perr);
  if (rc != PL_OK) {
    fail(s, rid, "cannot index the file: %s", perr.msg[0] ? perr.msg : pl_strerror(rc));
    goto out;
  }
  if (ix->partial) {
    fail(s, rid, "the file could only be read in part%s%s",
         ix->n_problems ? ": " : "", ix->n_problems ? ix->problems[0].message : "");
    goto out;
  }
  if (index_too_large(ix, msg, sizeof msg)) {
    fail(s, rid, "%s", msg);
    goto out;
  }
  /* the lake step also holds an open chunk per topic: reserve again, for it (released
   * first, so that two imports never wait for each other holding a part) */
  pl__srv_budget_release(&s->budget, reserved);
  reserved = reserve(s, rid, import_cost(s, largest, ix));
  if (!reserved) goto out;

  /* ---- resolve device, key, de-duplication; reserve the recording */
  if (crashed(s)) goto out;
  char rec_id[SRV_ID_LEN + 1], dev_id[SRV_ID_LEN + 1];
  uint64_t done_before;
resolve:
  pthread_mutex_lock(&s->imp_mu);
  done_before = s->imp_done;
  pthread_mutex_unlock(&s->imp_mu);
  pthread_rwlock_wrlock(&st->lock);
  struct srv_import *m = pl__srv_imp_find(st, rid);
  if (!m) {
    pthread_rwlock_unlock(&st->lock);
    goto out;
  }
  struct srv_device *d = NULL;
  const char *why = NULL;
  char whybuf[512];
  if (m->device_id) {
    d = pl__srv_device_by_id(st, m->device_id);
    if (!d) why = "the upload's device no longer exists";
  } else if (m->device_name) {
    d = pl__srv_device_by_name(st, m->device_name);
    if (!d) d = device_create(s, m->device_name);
    if (!d) why = "cannot create the device";
  } else if (ix->device_id) {
    d = pl__srv_device_by_id(st, ix->device_id);
    if (!d && ix->device_name && pl__srv_valid_device_name(ix->device_name)) {
      d = pl__srv_device_by_name(st, ix->device_name);
      if (!d) d = device_create(s, ix->device_name);
    }
    if (!d) {
      snprintf(whybuf, sizeof whybuf, "device id '%s' from the file's 'foxglove' metadata not found",
               ix->device_id);
      why = whybuf;
    }
  } else if (ix->device_name) {
    if (!pl__srv_valid_device_name(ix->device_name)) {
      snprintf(whybuf, sizeof whybuf,
               "invalid device name '%s' in the file's 'foxglove' metadata", ix->device_name);
      why = whybuf;
    } else {
      d = pl__srv_device_by_name(st, ix->device_name);
      if (!d) d = device_create(s, ix->device_name);
      if (!d) why = "cannot create the device";
    }
  } else {
    why = "no device: give deviceId or deviceName with the upload, or a 'foxglove' metadata "
          "record with deviceName or deviceId in the file";
  }
  const char *key = m->key ? m->key : ix->key;
  if (!why && key && !pl__srv_valid_key(key)) {
    snprintf(whybuf, sizeof whybuf, "invalid key in the file's 'foxglove' metadata");
    why = whybuf;
  }
  struct srv_recording *same = NULL;
  if (!why && key) {
    int busy = 0;
    for (size_t i = 0; i < st->recordings.n; i++) {
      struct srv_recording *r = st->recordings.items[i];
      if (!r->key || strcmp(r->key, key) != 0) continue;
      if (r->status == REC_COMPLETE) same = r;
      if (r->status == REC_IMPORTING && (!r->request_id || strcmp(r->request_id, rid) != 0))
        busy = 1;
    }
    if (busy) {
      /* another worker imports a recording with this key: as with one queue, this one
       * waits for it to end, then de-duplicates against it (or conflicts) */
      pthread_rwlock_unlock(&st->lock);
      if (!wait_for_an_import(s, done_before)) goto out; /* crashed: resumes next start */
      goto resolve;
    }
    if (same && strcmp(same->content_hash, ix->content_hash) != 0) {
      snprintf(whybuf, sizeof whybuf,
               "key '%s' already belongs to recording %s with different content", key, same->id);
      why = whybuf;
    }
  }
  if (why) {
    pthread_rwlock_unlock(&st->lock);
    fail(s, rid, "%s", why);
    goto out;
  }
  free(m->device_id);
  free(m->device_name);
  m->device_id = pl__srv_strdup(d->id);
  m->device_name = pl__srv_strdup(d->name);
  if (same) {
    /* same key, same content: de-duplicated onto the existing recording */
    free(m->import_id);
    m->import_id = pl__srv_strdup(same->id);
    if (!crashed(s)) set_status_locked(s, m, IMP_COMPLETE, "complete (duplicate)");
    pthread_rwlock_unlock(&st->lock);
    if (!crashed(s)) unlink(path);
    goto out;
  }
  if (m->import_id && pl__srv_valid_id(m->import_id)) {
    snprintf(rec_id, sizeof rec_id, "%s", m->import_id);
  } else {
    pl__srv_new_id("rec", rec_id);
    free(m->import_id);
    m->import_id = pl__srv_strdup(rec_id);
  }
  snprintf(dev_id, sizeof dev_id, "%s", d->id);
  if (crashed(s)) {
    pthread_rwlock_unlock(&st->lock);
    goto out;
  }
  /* the reserved id is on disk before anything else is written */
  set_status_locked(s, m, IMP_PROCESSING, "indexed");
  struct srv_recording *rec = pl__srv_rec_by_id(st, rec_id);
  int created = !rec;
  if (!rec) {
    rec = calloc(1, sizeof *rec);
    if (!rec || pl__srv_vec_push(&st->recordings, rec) != 0) {
      free(rec);
      pthread_rwlock_unlock(&st->lock);
      fail(s, rid, "out of memory");
      goto out;
    }
    rec->id = pl__srv_strdup(rec_id);
  }
  free(rec->path);
  free(rec->key);
  free(rec->device_id);
  free(rec->request_id);
  free(rec->lake_dir);
  pl_recording_index_free(rec->index);
  pl__srv_rec_clear_files(rec);
  rec->path = pl__srv_strdup(m->filename);
  rec->key = pl__srv_strdup(key);
  rec->device_id = pl__srv_strdup(dev_id);
  rec->request_id = pl__srv_strdup(rid);
  rec->size = ix->size;
  rec->created = m->created;
  rec->imported = 0;
  rec->status = REC_IMPORTING;
  memcpy(rec->content_hash, ix->content_hash, sizeof rec->content_hash);
  rec->index = ix;
  rec->largest = largest;
  ix = NULL;
  rec->lake_dir = pl__srv_printf("%s/%s", dev_id, rec_id);
  if (pl__srv_rec_save(st, rec) != 0) pl__srv_log(s, "cannot save recording %s", rec_id);
  /* the recording exists from here (a resumed import finds it and announces nothing) */
  if (created) pl__site_webhook_emit(s, "recording.created", pl__site_webhook_recording(s, rec));
  set_status_locked(s, m, IMP_READY, "writing lake files");
  char *lake_rel = pl__srv_strdup(rec->lake_dir);
  const pl_recording_index *rix = rec->index; /* stays valid: only this thread replaces it */
  pthread_rwlock_unlock(&st->lock);

  /* ---- lake files: a resumed import starts from an empty folder */
  char *lake_abs = lake_rel ? pl__srv_printf("%s/%s", st->lake_dir, lake_rel) : NULL;
  if (lake_abs) pl__srv_rmtree(lake_abs);
  pl_lake_options lo;
  memset(&lo, 0, sizeof lo);
  lo.jobs = s->opt.import_threads;
  lo.device = dev_id;
  lo.key = rec_id;
  memset(&perr, 0, sizeof perr);
  rc = lake_abs ? pl_lake_write(path, st->lake_dir, &lo, &res, &perr) : PL_ENOMEM;
  if (rc == PL_OK) {
    for (size_t i = 0; i < res.n_files; i++)
      if (!safe_rel_path(res.files[i].path)) {
        snprintf(perr.msg, sizeof perr.msg, "unexpected lake path '%s'", res.files[i].path);
        rc = PL_EIO;
      }
  }
  if (rc != PL_OK) {
    if (lake_abs) pl__srv_rmtree(lake_abs);
    free(lake_abs);
    free(lake_rel);
    fail(s, rid, "cannot write lake files: %s", perr.msg[0] ? perr.msg : pl_strerror(rc));
    goto out;
  }
  /* the lake writer makes files as the umask allows; here they are private */
  struct srv_tighten tt = {0, 0};
  pl__srv_tighten(lake_abs, 1, &tt);
  char *up = pl__srv_printf("%s/%s", st->lake_dir, dev_id);
  if (up) pl__srv_tighten(up, 0, &tt);
  free(up);
  up = pl__srv_printf("%s/tmp", st->lake_dir);
  if (up) pl__srv_tighten(up, 0, &tt);
  free(up);
  free(lake_abs);
  free(lake_rel);
  if (crashed(s)) goto out;
  set_status(s, rid, IMP_READY, "storing attachments");
  if (extract_attachments(s, path, rec_id, rix, &atts, &n_atts, msg, sizeof msg) != 0) {
    fail(s, rid, "%s", msg);
    goto out;
  }

  /* ---- commit */
  if (crashed(s)) goto out;
  pthread_rwlock_wrlock(&st->lock);
  m = pl__srv_imp_find(st, rid);
  rec = pl__srv_rec_by_id(st, rec_id);
  if (!m || !rec) {
    pthread_rwlock_unlock(&st->lock);
    goto out;
  }
  pl__srv_rec_clear_files(rec);
  rec->lake = calloc(res.n_files ? res.n_files : 1, sizeof *rec->lake);
  for (size_t i = 0; rec->lake && i < res.n_files; i++) {
    struct srv_lakefile *lf = &rec->lake[rec->n_lake++];
    lf->path = pl__srv_strdup(res.files[i].path);
    lf->topics = calloc(res.files[i].n_topics ? res.files[i].n_topics : 1, sizeof *lf->topics);
    for (size_t k = 0; lf->topics && k < res.files[i].n_topics; k++)
      lf->topics[lf->n_topics++] = pl__srv_strdup(res.files[i].topics[k]);
  }
  rec->atts = atts;
  rec->n_atts = n_atts;
  atts = NULL;
  n_atts = 0;
  rec->status = REC_COMPLETE;
  rec->imported = pl__srv_now_ns();
  if (pl__srv_rec_save(st, rec) != 0) {
    pthread_rwlock_unlock(&st->lock);
    fail(s, rid, "cannot save the recording: %s", strerror(errno));
    goto out;
  }
  set_status_locked(s, m, IMP_COMPLETE, "complete");
  pl__site_webhook_emit(s, "recording.imported", pl__site_webhook_recording(s, rec));
  pthread_rwlock_unlock(&st->lock);
  unlink(path);
  char *inbox = pl__srv_printf("%s/inbox", st->data_dir);
  if (inbox) pl__srv_sync_dir(inbox, st->no_fsync);
  free(inbox);
  pl__srv_log(s, "import %s complete: recording %s", rid, rec_id);
out:
  for (size_t i = 0; atts && i < n_atts; i++) {
    free(atts[i].id);
    free(atts[i].recording_id);
    free(atts[i].name);
    free(atts[i].media_type);
  }
  free(atts);
  pl_lake_result_dispose(&res);
  pl_recording_index_free(ix);
  free(path);
  pl__srv_budget_release(&s->budget, reserved);
}

/* ------------------------------------------------------------- worker */

static void *worker(void *arg) {
  pl_server *s = arg;
  for (;;) {
    pthread_mutex_lock(&s->imp_mu);
    while (!s->imp_stop && (s->queue.n == 0 || s->imp_hold))
      pthread_cond_wait(&s->imp_cv, &s->imp_mu);
    if (s->imp_stop) {
      pthread_mutex_unlock(&s->imp_mu);
      break;
    }
    char *rid = s->queue.items[0]; /* the oldest: imports start in order of arrival */
    pl__srv_vec_remove_at(&s->queue, 0);
    s->imp_busy++;
    pthread_mutex_unlock(&s->imp_mu);
    import_one(s, rid);
    free(rid);
    pthread_mutex_lock(&s->imp_mu);
    s->imp_busy--;
    s->imp_done++;
    pthread_cond_broadcast(&s->imp_cv);
    pthread_mutex_unlock(&s->imp_mu);
  }
  return NULL;
}

static int cmp_created_imp(const void *a, const void *b, void *ctx) {
  (void)ctx;
  const struct srv_import *x = a, *y = b;
  int c = pl__srv_cmp_u64(x->created, y->created);
  return c ? c : pl__srv_cmp_str(x->request_id, y->request_id);
}

/* Bring the state back in line after a stop or a crash, and queue what was in flight. */
static void recover(pl_server *s) {
  struct srv_store *st = &s->store;
  uint64_t now = pl__srv_now_s();
  struct srv_vec resume = {0};
  pthread_rwlock_wrlock(&st->lock);
  for (size_t i = 0; i < st->imports.n;) {
    struct srv_import *m = st->imports.items[i];
    char *part = pl__srv_inbox_path(st, m->request_id, ".part");
    char *file = pl__srv_inbox_path(st, m->request_id, ".mcap");
    struct stat sb;
    int have = file && stat(file, &sb) == 0;
    if (part) unlink(part); /* an upload cut off by the stop: the client retries the PUT */
    if (m->status == IMP_AWAITING && m->link_expires + 3600 < now) {
      /* an upload link nobody used: forget it */
      char *state = pl__srv_printf("%s/state/imports/%s.json", st->data_dir, m->request_id);
      if (state) unlink(state);
      free(state);
      pl__srv_vec_remove_at(&st->imports, i);
      pl__srv_imp_free(m);
      free(part);
      free(file);
      continue;
    }
    if (m->status == IMP_RECEIVED || m->status == IMP_PROCESSING || m->status == IMP_READY) {
      if (have) {
        set_status_locked(s, m, IMP_RECEIVED, "received (resumed)");
        pl__srv_vec_push(&resume, m);
      } else {
        free(m->error);
        m->error = pl__srv_strdup("the uploaded file was missing after a restart");
        set_status_locked(s, m, IMP_ERROR, "failed");
      }
    } else if (m->status == IMP_COMPLETE && have) {
      unlink(file); /* committed; only the cleanup was missing */
    }
    free(part);
    free(file);
    i++;
  }
  /* recordings left "importing" by an import that is not resumed have failed */
  for (size_t i = 0; i < st->recordings.n; i++) {
    struct srv_recording *rec = st->recordings.items[i];
    if (rec->status != REC_IMPORTING) continue;
    int resumed = 0;
    for (size_t k = 0; k < resume.n; k++) {
      const struct srv_import *m = resume.items[k];
      if (m->import_id && strcmp(m->import_id, rec->id) == 0) resumed = 1;
    }
    if (!resumed) {
      rec->status = REC_FAILED;
      pl__srv_rec_save(st, rec);
    }
  }
  pl__srv_sort(resume.items, resume.n, cmp_created_imp, NULL, 0);
  pthread_mutex_lock(&s->imp_mu);
  for (size_t k = 0; k < resume.n; k++) {
    const struct srv_import *m = resume.items[k];
    char *copy = pl__srv_strdup(m->request_id);
    if (copy && pl__srv_vec_push(&s->queue, copy) != 0) free(copy);
  }
  pthread_mutex_unlock(&s->imp_mu);
  pthread_rwlock_unlock(&st->lock);
  free(resume.items);
}

int pl__srv_import_start(pl_server *s, pl_error_info *err) {
  recover(s);
  int n = s->opt.import_workers > 0 ? s->opt.import_workers : SRV_DEFAULT_IMPORT_WORKERS;
  if (n > SRV_MAX_IMPORT_WORKERS) n = SRV_MAX_IMPORT_WORKERS;
  for (int i = 0; i < n; i++) {
    if (pthread_create(&s->workers[i], NULL, worker, s) != 0) {
      pl__srv_import_stop(s, 0);
      snprintf(err->msg, sizeof err->msg, "cannot start the import workers");
      return PL_ENOMEM;
    }
    s->n_workers++;
  }
  return PL_OK;
}

void pl__srv_import_stop(pl_server *s, int crash) {
  if (!s->n_workers) return;
  pthread_mutex_lock(&s->imp_mu);
  s->imp_stop = 1;
  if (crash) s->imp_crash = 1;
  pthread_cond_broadcast(&s->imp_cv);
  pthread_mutex_unlock(&s->imp_mu);
  /* a crash abandons an import waiting for memory (it resumes from its inbox file next
   * start); a graceful stop lets it wait: only running imports hold the budget by now
   * (requests have ended) and each gives its share back as it ends */
  if (crash) pl__srv_budget_cancel(&s->budget);
  for (int i = 0; i < s->n_workers; i++) pthread_join(s->workers[i], NULL);
  s->n_workers = 0;
}

int pl_server_wait_imports(pl_server *s, double timeout_s) {
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  double whole = (double)(time_t)timeout_s;
  until.tv_sec += (time_t)timeout_s;
  until.tv_nsec += (long)((timeout_s - whole) * 1e9);
  if (until.tv_nsec >= 1000000000L) {
    until.tv_sec++;
    until.tv_nsec -= 1000000000L;
  }
  int idle = 0;
  pthread_mutex_lock(&s->imp_mu);
  for (;;) {
    if (s->queue.n == 0 && s->imp_busy == 0) {
      idle = 1;
      break;
    }
    if (pthread_cond_timedwait(&s->imp_cv, &s->imp_mu, &until) != 0) {
      idle = s->queue.n == 0 && s->imp_busy == 0;
      break;
    }
  }
  pthread_mutex_unlock(&s->imp_mu);
  return idle;
}

void pl_server_release_imports(pl_server *s) {
  pthread_mutex_lock(&s->imp_mu);
  s->imp_hold = 0;
  pthread_cond_broadcast(&s->imp_cv);
  pthread_mutex_unlock(&s->imp_mu);
}
