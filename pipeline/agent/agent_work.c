/*
 * agent_work.c - what a worker does with one recording, and the state
 * changes it journals on the way:
 *
 *   queued -> preparing -> prepared -> uploading -> waiting for import
 *          -> verified [-> deleted]
 *
 * Preparation writes at most two copies into work/<id>/ (named like the
 * original, ".mcap" for bags): a stale MCAP is recovered (pl_recover), a bag
 * or database converted (pl_convert); the doctor then checks the result (or
 * the original); an uncompressed file is compressed and excluded topics
 * dropped (pl_rewrite). Every copy is written through pl_output (unnamed
 * until an fsync and a rename), and its output goes through a sink that
 * fails once the agent cancels, so a stop cuts a long rewrite short. Before a
 * copy is made the file system of the state folder must keep min_free bytes
 * free after it: otherwise the recording is "paused" until there is room
 * (and a copy that fails for want of space pauses it too).
 *
 * The upload is pl_upload_files on the one file: its pre-flight index, the
 * content-hash key looked up on the platform before anything is sent, the
 * streamed PUT with retries and Retry-After, the import wait and the
 * reconcile. A failure is retried later with a doubling delay; a stop
 * request that cuts the transfer puts the recording back to "prepared".
 * Deletion happens only from "verified", after the identity of the original
 * (device, inode, size, mtime) was checked again.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent_internal.h"
#include "pipeline/convert.h"
#include "pipeline/rewrite.h"

/* ------------------------------------------------------------- states */

int ag_set_state(struct pl_agent *a, struct ag_entry *e, int state) {
  int old = e->state;
  uint64_t old_t = e->updated_ns;
  e->state = state;
  e->updated_ns = ag_wall_ns();
  if (ag_journal_append(a, e) != 0) {
    e->state = old;
    e->updated_ns = old_t;
    return -1;
  }
  a->dirty = 1;
  return 0;
}

struct ag_entry *ag_entry_add(struct pl_agent *a, const char *path, const struct ag_ident *id,
                              int kind, int stale) {
  struct ag_entry *e = calloc(1, sizeof *e);
  if (!e) return NULL;
  e->path = ag_strdup(path);
  if (!e->path) {
    free(e);
    return NULL;
  }
  e->ident = *id;
  e->kind = kind;
  e->stale = stale;
  pthread_mutex_lock(&a->mu);
  if (ag_grow((void **)&a->entries, &a->cap_entries, a->n_entries + 1, sizeof *a->entries) != 0) {
    pthread_mutex_unlock(&a->mu);
    ag_entry_free(e);
    return NULL;
  }
  e->id = a->next_id;
  e->state = AG_QUEUED;
  e->updated_ns = ag_wall_ns();
  if (ag_journal_append(a, e) != 0) {
    pthread_mutex_unlock(&a->mu);
    ag_event_path(a, "warning", path, id->size, "%s", a->errmsg);
    ag_entry_free(e);
    return NULL;
  }
  a->next_id++;
  a->entries[a->n_entries++] = e;
  ag_map_put(&a->by_path, e->path, e); /* failure only costs a lookup miss */
  a->dirty = 1;
  pthread_mutex_unlock(&a->mu);
  if (stale)
    ag_event(a, "stale", e, "unfinished and unchanged for %.0f s: it will be recovered into a copy",
             a->o.stale_after_s);
  else
    ag_event(a, "queued", e, NULL);
  return e;
}

static void set_reason(struct ag_entry *e, const char *msg) {
  char *r = ag_strdup(msg);
  if (!r && msg) return;
  free(e->reason);
  e->reason = r;
}

/* Failed: retried after a doubling delay (permanent: never). Takes mu. */
static void fail_entry(struct pl_agent *a, struct ag_entry *e, int permanent, const char *msg) {
  pthread_mutex_lock(&a->mu);
  e->attempts++;
  set_reason(e, msg);
  if (permanent) {
    e->next_retry_ns = 0;
  } else {
    double d = a->o.retry_initial_s;
    for (int i = 1; i < e->attempts && d < a->o.retry_max_s; i++) d *= 2;
    if (d > a->o.retry_max_s) d = a->o.retry_max_s;
    e->next_retry_ns = ag_wall_ns() + (uint64_t)(d * 1e9);
  }
  ag_set_state(a, e, AG_FAILED);
  pthread_mutex_unlock(&a->mu);
  if (permanent)
    ag_event(a, "failed", e, "%s (not retried)", msg);
  else
    ag_event(a, "failed", e, "%s (attempt %d; retried in %.0f s)", msg, e->attempts,
             (double)(e->next_retry_ns - ag_wall_ns()) / 1e9);
}

/* ------------------------------------------------------------- cancel sink */

struct csink {
  mcap_sink *inner;
  volatile int *cancel;
  int nospace;
};

static int csink_write(void *p, const void *buf, size_t len, mcap_error_info *err) {
  struct csink *c = p;
  if (*c->cancel) {
    if (err) {
      err->code = MCAP_EIO;
      snprintf(err->msg, sizeof err->msg, "stopped (the agent is shutting down)");
    }
    return MCAP_EIO;
  }
  errno = 0;
  int rc = c->inner->write(c->inner->payload, buf, len, err);
  if (rc != MCAP_OK && (errno == ENOSPC || errno == EDQUOT)) c->nospace = 1;
  return rc;
}

static int csink_close(void *p, mcap_error_info *err) {
  (void)p;
  (void)err;
  return MCAP_OK;
}

static mcap_sink csink_wrap(struct csink *c, mcap_sink *inner, volatile int *cancel) {
  c->inner = inner;
  c->cancel = cancel;
  c->nospace = 0;
  mcap_sink s = {c, csink_write, csink_close};
  return s;
}

/* ------------------------------------------------------------- preparation */

/* What one preparation step reports. */
struct step {
  int rc;         /* 0 ok, -1 failed */
  int nospace;    /* failed for want of room */
  int cancelled;
  char msg[768];
};

static const char *base_name(const char *p) {
  const char *s = strrchr(p, '/');
  return s ? s + 1 : p;
}

/* work/<id>/<name>, with a bag's or database's extension replaced by ".mcap". */
static char *copy_path(const char *workdir, const char *orig, int kind) {
  const char *b = base_name(orig);
  if (kind == AG_KIND_MCAP) return ag_printf("%s/%s", workdir, b);
  const char *dot = strrchr(b, '.');
  int n = dot && dot != b ? (int)(dot - b) : (int)strlen(b);
  return ag_printf("%s/%.*s.mcap", workdir, n, b);
}

static int room_for(struct pl_agent *a, uint64_t need, uint64_t *free_out) {
  uint64_t f = ag_free_bytes(a->work_dir);
  *free_out = f;
  if (f == UINT64_MAX) return 1;
  return f >= need && f - need >= a->o.min_free;
}

static void step_failed(struct pl_agent *a, struct step *s, int nospace, uint64_t need,
                        const char *what, const char *detail) {
  s->rc = -1;
  uint64_t f;
  s->cancelled = a->cancel != 0;
  s->nospace = nospace || !room_for(a, need, &f);
  snprintf(s->msg, sizeof s->msg, "%s: %s", what, detail && *detail ? detail : "failed");
}

static void do_recover(struct pl_agent *a, struct ag_entry *e, const char *src, const char *out,
                       uint64_t need, struct step *s) {
  pl_output *o = NULL;
  pl_error_info err;
  memset(&err, 0, sizeof err);
  if (pl_output_open(&o, out, NULL, 0, 0, &err) != PL_OK) {
    step_failed(a, s, 0, need, "recover", err.msg);
    return;
  }
  struct csink cs;
  mcap_sink sink = csink_wrap(&cs, pl_output_sink(o), &a->cancel);
  pl_recover_options ro;
  memset(&ro, 0, sizeof ro);
  ro.threads = a->o.threads;
  pl_recover_report *rep = NULL;
  int rc = pl_recover(src, &sink, &ro, &rep, &err);
  if (rc == PL_OK && rep && rep->messages == 0 && rep->attachments == 0 && rep->metadata == 0) {
    s->rc = -1;
    snprintf(s->msg, sizeof s->msg, "recover: nothing recoverable in '%s'", src);
    pl_recover_report_free(rep);
    pl_output_free(o);
    return;
  }
  if (rc == PL_OK) rc = pl_output_commit(o, NULL, &err);
  pl_output_free(o);
  if (rc != PL_OK) {
    step_failed(a, s, cs.nospace, need, "recover", err.msg);
    pl_recover_report_free(rep);
    return;
  }
  pthread_mutex_lock(&a->mu);
  e->lost = rep->lost;
  e->messages_lost = rep->messages_lost;
  char r[512];
  snprintf(r, sizeof r,
           "recovered %llu messages; lost %llu messages%s, %llu attachments, %llu metadata, "
           "%llu bytes skipped%s",
           (unsigned long long)rep->messages, (unsigned long long)rep->messages_lost,
           rep->messages_lost_unknown ? " (or more)" : "",
           (unsigned long long)rep->attachments_lost, (unsigned long long)rep->metadata_lost,
           (unsigned long long)rep->bytes_skipped, rep->truncated ? "; the file was cut short" : "");
  set_reason(e, r);
  pthread_mutex_unlock(&a->mu);
  ag_event(a, "recovered", e, "%s", r);
  pl_recover_report_free(rep);
}

static void do_convert(struct pl_agent *a, struct ag_entry *e, const char *src, const char *out,
                       uint64_t need, struct step *s) {
  pl_output *o = NULL;
  pl_error_info err;
  memset(&err, 0, sizeof err);
  if (pl_output_open(&o, out, NULL, 0, 0, &err) != PL_OK) {
    step_failed(a, s, 0, need, "convert", err.msg);
    return;
  }
  pl_convert_options co;
  memset(&co, 0, sizeof co);
  co.writer.workers = a->o.threads > 1 ? a->o.threads : 0;
  co.tmp_dir = a->work_dir;
  pl_convert *c = NULL;
  if (pl_convert_new(&c, &co) != PL_CONVERT_OK) {
    pl_output_free(o);
    step_failed(a, s, 0, need, "convert", "out of memory");
    return;
  }
  struct csink cs;
  mcap_sink sink = csink_wrap(&cs, pl_output_sink(o), &a->cancel);
  const char *in[] = {src};
  int rc = pl_convert_run(c, in, 1, &sink);
  const pl_convert_report *rep = pl_convert_get_report(c);
  if (rc != PL_CONVERT_OK) {
    char m[600];
    snprintf(m, sizeof m, "%s", pl_convert_errmsg(c));
    pl_convert_free(c);
    pl_output_free(o);
    step_failed(a, s, cs.nospace, need, "convert", m);
    if (rc == PL_CONVERT_EFORMAT || rc == PL_CONVERT_EUNSUPPORTED || rc == PL_CONVERT_EINVAL)
      s->nospace = 0; /* the input, not the disk */
    return;
  }
  int crc = pl_output_commit(o, NULL, &err);
  pl_output_free(o);
  if (crc != PL_OK) {
    pl_convert_free(c);
    step_failed(a, s, cs.nospace, need, "convert", err.msg);
    return;
  }
  pthread_mutex_lock(&a->mu);
  e->lost = rep->damaged > 0;
  e->messages_lost = rep->messages_lost;
  char r[512];
  if (rep->damaged)
    snprintf(r, sizeof r, "converted %llu messages; lost %llu messages%s (%s)",
             (unsigned long long)rep->messages, (unsigned long long)rep->messages_lost,
             rep->messages_lost_unknown ? " (or more)" : "",
             rep->n_problems ? rep->problems[0].message : "damaged input");
  else
    snprintf(r, sizeof r, "converted %llu messages on %zu topics", (unsigned long long)rep->messages,
             rep->n_topics);
  if (rep->damaged) set_reason(e, r);
  pthread_mutex_unlock(&a->mu);
  ag_event(a, "converted", e, "%s", r);
  pl_convert_free(c);
}

/* 1 when every chunk is stored uncompressed (or there are no chunks), 0 if not, -1 error. */
static int uncompressed(const char *path) {
  mcap_source src;
  mcap_error_info me;
  memset(&me, 0, sizeof me);
  if (mcap_source_open_file(&src, path, &me) != MCAP_OK) return -1;
  mcap_indexed_options io;
  memset(&io, 0, sizeof io);
  io.threads = 1;
  mcap_reader *r = NULL;
  if (mcap_reader_open(&r, &src, &io, &me) != MCAP_OK) return -1;
  int all = 1;
  for (size_t i = 0; i < mcap_reader_chunk_count(r); i++)
    if (mcap_reader_chunk_at(r, i)->compression.len != 0) all = 0;
  mcap_reader_free(r);
  return all;
}

static void do_rewrite(struct pl_agent *a, struct ag_entry *e, const char *src, const char *out,
                       mcap_compression comp, uint64_t need, struct step *s) {
  pl_output *o = NULL;
  pl_error_info err;
  memset(&err, 0, sizeof err);
  int in_place = strcmp(src, out) == 0;
  if (pl_output_open(&o, out, &src, 1, in_place, &err) != PL_OK) {
    step_failed(a, s, 0, need, "rewrite", err.msg);
    return;
  }
  struct csink cs;
  mcap_sink sink = csink_wrap(&cs, pl_output_sink(o), &a->cancel);
  pl_rewrite_options ro;
  memset(&ro, 0, sizeof ro);
  ro.exclude_topics = a->o.exclude_topics;
  ro.n_exclude_topics = a->o.n_exclude_topics;
  ro.keep_unused_channels = a->o.n_exclude_topics == 0;
  ro.compression = comp;
  ro.threads = a->o.threads > 0 ? a->o.threads : 1;
  ro.tmp_dir = a->work_dir;
  pl_rewrite_stats st;
  memset(&st, 0, sizeof st);
  int rc = pl_rewrite(src, &sink, &ro, &st, &err);
  if (rc == PL_OK) rc = pl_output_commit(o, NULL, &err);
  pl_output_free(o);
  if (rc != PL_OK) {
    step_failed(a, s, cs.nospace, need, "rewrite", err.msg);
    return;
  }
  char what[64];
  snprintf(what, sizeof what, "%s%s%s", comp != MCAP_COMPRESSION_DEFAULT ? "compressed with " : "",
           comp != MCAP_COMPRESSION_DEFAULT ? mcap_compression_name(comp) : "",
           a->o.n_exclude_topics ? (comp != MCAP_COMPRESSION_DEFAULT ? ", topics excluded"
                                                                     : "topics excluded")
                                 : "");
  ag_event(a, "compressed", e, "%s: %llu -> %llu bytes, %llu messages", what,
           (unsigned long long)st.bytes_in, (unsigned long long)st.bytes_out,
           (unsigned long long)st.messages);
}

/* The doctor on `path`. 0 go on, -1 refused or failed (state set). */
static int do_doctor(struct pl_agent *a, struct ag_entry *e, const char *path, struct step *s) {
  mcap_source src;
  mcap_error_info me;
  memset(&me, 0, sizeof me);
  if (mcap_source_open_file(&src, path, &me) != MCAP_OK) {
    s->rc = -1;
    snprintf(s->msg, sizeof s->msg, "doctor: cannot open '%s': %s", path, me.msg);
    return -1;
  }
  pl_doctor_options dopt;
  memset(&dopt, 0, sizeof dopt);
  dopt.max_findings = 16;
  pl_doctor_report *rep = NULL;
  pl_error_info err;
  memset(&err, 0, sizeof err);
  if (pl_doctor_run(&src, &dopt, &rep, &err) != PL_OK) {
    s->rc = -1;
    snprintf(s->msg, sizeof s->msg, "doctor: %s", err.msg);
    return -1;
  }
  size_t errors = rep->n_errors;
  char first[400] = "";
  for (size_t i = 0; i < rep->n_findings; i++)
    if (rep->findings[i].severity == PL_SEV_ERROR) {
      if (rep->findings[i].offset != UINT64_MAX)
        snprintf(first, sizeof first, "%s at offset %llu: %s", rep->findings[i].code,
                 (unsigned long long)rep->findings[i].offset, rep->findings[i].message);
      else
        snprintf(first, sizeof first, "%s: %s", rep->findings[i].code, rep->findings[i].message);
      break;
    }
  pl_doctor_report_free(rep);
  pthread_mutex_lock(&a->mu);
  e->doctor_errors = errors;
  pthread_mutex_unlock(&a->mu);
  if (!errors) return 0;
  char r[600];
  snprintf(r, sizeof r, "the doctor found %zu error%s (%s)", errors, errors == 1 ? "" : "s", first);
  if (a->o.on_error == PL_AGENT_ON_ERROR_WARN) {
    ag_event(a, "doctor", e, "%s; uploading anyway (--on-error warn)", r);
    return 0;
  }
  pthread_mutex_lock(&a->mu);
  set_reason(e, r);
  ag_set_state(a, e, AG_REFUSED);
  pthread_mutex_unlock(&a->mu);
  ag_event(a, "refused", e, "%s; not uploaded (--on-error refuse)", r);
  s->rc = 1; /* handled */
  return -1;
}

/* Pause for want of room (takes mu). */
static void pause_entry(struct pl_agent *a, struct ag_entry *e, uint64_t need, const char *why) {
  uint64_t f = ag_free_bytes(a->work_dir);
  char r[400];
  snprintf(r, sizeof r, "%s: %llu bytes free on the state folder's file system, %llu needed%s",
           why, (unsigned long long)f, (unsigned long long)need,
           a->o.min_free ? " plus --min-free" : "");
  pthread_mutex_lock(&a->mu);
  int was = e->state == AG_PAUSED;
  e->need_bytes = need;
  e->paused_at = ag_mono_s();
  set_reason(e, r);
  if (!was) ag_set_state(a, e, AG_PAUSED);
  pthread_mutex_unlock(&a->mu);
  if (!was) ag_event(a, "paused", e, "%s", r);
}

/* The path of the copy made by preparation stage `stage` (1: conversion or recovery, 2:
 * compression or topic exclusion), in its own folder under workdir so that a second stage never
 * writes over the first one's output it is reading, and named like the original (the platform
 * sees that name). NULL when there is no room (the entry is paused) or the folder cannot be
 * made (the entry failed); the caller frees the path. */
static char *new_copy(struct pl_agent *a, struct ag_entry *e, const char *workdir, int stage,
                      const char *path, int kind, uint64_t need) {
  uint64_t f;
  if (!room_for(a, need, &f)) {
    pause_entry(a, e, need, "paused before making a copy");
    return NULL;
  }
  char *dir = ag_printf("%s/%d", workdir, stage);
  if (!dir) {
    fail_entry(a, e, 0, "out of memory");
    return NULL;
  }
  if (ag_mkdir_p(dir, 0755) != 0) {
    free(dir);
    fail_entry(a, e, 0, "cannot create the work folder");
    return NULL;
  }
  char *copy = copy_path(dir, path, kind);
  free(dir);
  if (!copy) fail_entry(a, e, 0, "out of memory");
  return copy;
}

/* Back to `state` after a stop cut the work short (takes mu). */
static void checkpoint(struct pl_agent *a, struct ag_entry *e, int state) {
  pthread_mutex_lock(&a->mu);
  ag_set_state(a, e, state);
  pthread_mutex_unlock(&a->mu);
  ag_event(a, "warning", e, "interrupted by the stop: left %s, resumed on the next start",
           ag_state_name(state));
}

/* 0 prepared; -1 not (the state says why). */
static int prepare(struct pl_agent *a, struct ag_entry *e) {
  pthread_mutex_lock(&a->mu);
  char *path = ag_strdup(e->path);
  struct ag_ident want = e->ident;
  int kind = e->kind, stale = e->stale, prev = e->state;
  char *workdir = ag_printf("%s/%llu", a->work_dir, (unsigned long long)e->id);
  pthread_mutex_unlock(&a->mu);
  char *copy1 = NULL, *copy2 = NULL;
  int ret = -1;
  struct step s;
  memset(&s, 0, sizeof s);
  if (!path || !workdir) {
    fail_entry(a, e, 0, "out of memory");
    goto out;
  }
  struct ag_ident now;
  if (ag_ident_stat(path, &now) != 0 || !ag_ident_equal(&now, &want)) {
    pthread_mutex_lock(&a->mu);
    set_reason(e, "the file disappeared or changed before it was uploaded");
    ag_set_state(a, e, AG_GONE);
    pthread_mutex_unlock(&a->mu);
    ag_event(a, "gone", e, "disappeared or changed before it was uploaded");
    goto out;
  }
  pthread_mutex_lock(&a->mu);
  if (ag_set_state(a, e, AG_PREPARING) != 0) {
    pthread_mutex_unlock(&a->mu);
    pause_entry(a, e, 0, a->errmsg);
    goto out;
  }
  pthread_mutex_unlock(&a->mu);
  if (prev != AG_PAUSED) ag_event(a, "preparing", e, NULL);
  ag_rmtree(workdir); /* what an earlier, interrupted preparation left */
  uint64_t need = want.size;
  const char *src = path;
  if (kind != AG_KIND_MCAP || stale) {
    copy1 = new_copy(a, e, workdir, 1, path, kind, need);
    if (!copy1) goto out;
    if (kind != AG_KIND_MCAP)
      do_convert(a, e, src, copy1, need, &s);
    else
      do_recover(a, e, src, copy1, need, &s);
    if (s.rc != 0) goto step_error;
    src = copy1;
  }
  if (do_doctor(a, e, src, &s) != 0) {
    if (s.rc == 1) { /* refused */
      ag_rmtree(workdir);
      goto out;
    }
    goto step_error;
  }
  mcap_compression comp = MCAP_COMPRESSION_DEFAULT;
  if (a->o.compress == MCAP_COMPRESSION_ZSTD || a->o.compress == MCAP_COMPRESSION_LZ4) {
    int u = uncompressed(src);
    if (u == 1) comp = a->o.compress;
  }
  if (comp != MCAP_COMPRESSION_DEFAULT || a->o.n_exclude_topics) {
    struct stat sb;
    if (stat(src, &sb) == 0) need = (uint64_t)sb.st_size;
    copy2 = new_copy(a, e, workdir, 2, path, kind, need);
    if (!copy2) goto out;
    do_rewrite(a, e, src, copy2, comp, need, &s);
    if (s.rc != 0) goto step_error;
    if (copy1) unlink(copy1); /* the first stage's output is no longer needed: give back room */
    src = copy2;
  }
  pthread_mutex_lock(&a->mu);
  free(e->copy);
  e->copy = src != path ? ag_strdup(src) : NULL;
  if (ag_set_state(a, e, AG_PREPARED) != 0) {
    pthread_mutex_unlock(&a->mu);
    pause_entry(a, e, 0, a->errmsg);
    goto out;
  }
  pthread_mutex_unlock(&a->mu);
  ret = 0;
  goto out;

step_error:
  ag_rmtree(workdir);
  if (s.cancelled)
    checkpoint(a, e, AG_QUEUED);
  else if (s.nospace)
    pause_entry(a, e, need, "paused: the copy did not fit");
  else
    fail_entry(a, e, stale && strstr(s.msg, "nothing recoverable") != NULL, s.msg);
out:
  free(copy1);
  free(copy2);
  free(path);
  free(workdir);
  return ret;
}

/* ------------------------------------------------------------- upload */

struct up_ctx {
  struct pl_agent *a;
  struct ag_entry *e;
};

static void on_upload_event(void *user, const pl_upload_event *ev) {
  struct up_ctx *u = user;
  struct pl_agent *a = u->a;
  struct ag_entry *e = u->e;
  if (ev->kind == PL_UPLOAD_EV_STATE && ev->state) {
    int st = strcmp(ev->state, "uploading") == 0            ? AG_UPLOADING
             : strcmp(ev->state, "waiting for import") == 0 ? AG_WAITING
                                                            : -1;
    if (st < 0) return;
    pthread_mutex_lock(&a->mu);
    if (st == AG_UPLOADING) {
      e->bytes_sent = 0;
      e->bytes_total = e->copy ? 0 : e->ident.size;
      e->rate = 0;
      e->rate_t0 = ag_mono_s();
      e->rate_b0 = 0;
    }
    int changed = e->state != st;
    if (changed) ag_set_state(a, e, st);
    pthread_mutex_unlock(&a->mu);
    if (changed) ag_event(a, st == AG_UPLOADING ? "uploading" : "waiting", e, NULL);
  } else if (ev->kind == PL_UPLOAD_EV_PROGRESS) {
    pthread_mutex_lock(&a->mu);
    double now = ag_mono_s();
    e->bytes_sent = ev->done;
    e->bytes_total = ev->total;
    if (now - e->rate_t0 >= 1.0) {
      e->rate = (double)(ev->done - (ev->done >= e->rate_b0 ? e->rate_b0 : ev->done)) /
                (now - e->rate_t0);
      e->rate_t0 = now;
      e->rate_b0 = ev->done;
    }
    a->dirty = 1;
    pthread_mutex_unlock(&a->mu);
  }
}

static void differs_reason(const pl_reconcile_report *r, char *buf, size_t n) {
  size_t off = (size_t)snprintf(buf, n, "the platform's copy differs in %zu place%s",
                                r ? r->n_diffs : 0, r && r->n_diffs == 1 ? "" : "s");
  for (size_t i = 0; r && i < r->n_diffs && i < 3 && off < n; i++)
    off += (size_t)snprintf(buf + off, n - off, "%s %s: local %s, remote %s", i ? ";" : ":",
                            r->diffs[i].what, r->diffs[i].local, r->diffs[i].remote);
}

/* 0 verified; -1 not (the state says why). */
static int upload(struct pl_agent *a, struct ag_entry *e) {
  pthread_mutex_lock(&a->mu);
  char *file = ag_strdup(e->copy ? e->copy : e->path);
  int is_copy = e->copy != NULL;
  struct ag_ident want = e->ident;
  pthread_mutex_unlock(&a->mu);
  if (!file) {
    fail_entry(a, e, 0, "out of memory");
    return -1;
  }
  struct ag_ident now;
  if (is_copy ? access(file, R_OK) != 0
              : (ag_ident_stat(file, &now) != 0 || !ag_ident_equal(&now, &want))) {
    free(file);
    if (is_copy) { /* the copy is gone (removed by hand?): prepare again */
      pthread_mutex_lock(&a->mu);
      free(e->copy);
      e->copy = NULL;
      ag_set_state(a, e, AG_QUEUED);
      pthread_mutex_unlock(&a->mu);
      return -1;
    }
    pthread_mutex_lock(&a->mu);
    set_reason(e, "the file disappeared or changed before it was uploaded");
    ag_set_state(a, e, AG_GONE);
    pthread_mutex_unlock(&a->mu);
    ag_event(a, "gone", e, "disappeared or changed before it was uploaded");
    return -1;
  }
  pl_http_options ho = a->o.http;
  ho.cancel = &a->cancel;
  if (a->o.max_rate) ho.max_send_speed = a->o.max_rate / (uint64_t)a->o.parallel;
  if (a->o.max_rate && !ho.max_send_speed) ho.max_send_speed = 1;
  pl_upload_options uo;
  memset(&uo, 0, sizeof uo);
  uo.device_name = a->o.device_name;
  uo.device_id = a->o.device_id;
  uo.force = a->o.on_error == PL_AGENT_ON_ERROR_WARN;
  uo.wait_timeout_s = a->o.wait_timeout_s;
  uo.jobs = 1;
  uo.no_journal = 1; /* the agent's journal is the one that counts */
  uo.tolerance_s = a->o.tolerance_s;
  struct up_ctx u = {a, e};
  uo.on_event = on_upload_event;
  uo.event_user = &u;
  uo.cancel = &a->cancel;
  pl_upload_result *res = NULL;
  pl_error_info err;
  memset(&err, 0, sizeof err);
  const char *paths[] = {file};
  int rc = pl_upload_files(a->o.api_url, a->o.api_key, &ho, paths, 1, &uo, &res, &err);
  free(file);
  if (!res) {
    fail_entry(a, e, 0, err.msg[0] ? err.msg : pl_strerror(rc));
    return -1;
  }
  int ret = -1;
  char r[1024];
  switch (res->status) {
    case PL_UPLOAD_DONE:
      pthread_mutex_lock(&a->mu);
      free(e->key);
      free(e->recording_id);
      e->key = ag_strdup(res->key);
      e->recording_id = ag_strdup(res->recording_id);
      a->uploads += (uint64_t)res->uploads;
      e->bytes_sent = e->bytes_total;
      e->rate = 0;
      if (!e->lost) set_reason(e, NULL);
      if (ag_set_state(a, e, AG_VERIFIED) == 0) ret = 0;
      pthread_mutex_unlock(&a->mu);
      if (ret == 0)
        ag_event(a, "verified", e, "recording %s (%s)", res->recording_id,
                 res->already_there ? "already on the platform" : "uploaded");
      else
        pause_entry(a, e, 0, a->errmsg);
      break;
    case PL_UPLOAD_REFUSED:
      pthread_mutex_lock(&a->mu);
      set_reason(e, res->err.msg);
      e->doctor_errors = res->doctor_errors;
      ag_set_state(a, e, AG_REFUSED);
      pthread_mutex_unlock(&a->mu);
      ag_event(a, "refused", e, "%s", res->err.msg);
      break;
    case PL_UPLOAD_DIFFERS:
      differs_reason(res->reconcile, r, sizeof r);
      pthread_mutex_lock(&a->mu);
      set_reason(e, r);
      free(e->key);
      free(e->recording_id);
      e->key = ag_strdup(res->key);
      e->recording_id = ag_strdup(res->recording_id);
      a->uploads += (uint64_t)res->uploads;
      ag_set_state(a, e, AG_DIFFERS);
      pthread_mutex_unlock(&a->mu);
      ag_event(a, "differs", e, "%s; the file is kept", r);
      break;
    default:
      pthread_mutex_lock(&a->mu);
      a->uploads += (uint64_t)res->uploads;
      pthread_mutex_unlock(&a->mu);
      if (res->rc == PL_ECANCELED && a->cancel)
        checkpoint(a, e, AG_PREPARED);
      else
        fail_entry(a, e, 0, res->err.msg[0] ? res->err.msg : pl_strerror(res->rc));
      break;
  }
  pl_upload_results_free(res, 1);
  return ret;
}

/* ------------------------------------------------------------- verified */

static void finish(struct pl_agent *a, struct ag_entry *e) {
  pthread_mutex_lock(&a->mu);
  e->finish_done = 1;
  char *copy = ag_strdup(e->copy);
  char *path = ag_strdup(e->path);
  struct ag_ident want = e->ident;
  int stale = e->stale;
  char *workdir = ag_printf("%s/%llu", a->work_dir, (unsigned long long)e->id);
  pthread_mutex_unlock(&a->mu);
  if (!path || !workdir) goto out;
  if (copy || access(workdir, F_OK) == 0) {
    ag_rmtree(workdir);
    ag_fsync_dir(a->work_dir);
    pthread_mutex_lock(&a->mu);
    free(e->copy);
    e->copy = NULL;
    ag_set_state(a, e, AG_VERIFIED);
    pthread_mutex_unlock(&a->mu);
  }
  if (!a->o.delete_after_verify) goto out;
  if (stale) {
    ag_event(a, "kept", e, "the original of a recovered recording is left as it was");
    goto out;
  }
  struct ag_ident now;
  if (ag_ident_stat(path, &now) != 0) goto out; /* removed by someone else */
  if (!ag_ident_equal(&now, &want)) {
    ag_event(a, "kept", e, "changed since it was uploaded: not deleted");
    goto out;
  }
  if (unlink(path) != 0) {
    ag_event(a, "warning", e, "cannot delete: %s", strerror(errno));
    goto out;
  }
  ag_fsync_parent(path);
  pthread_mutex_lock(&a->mu);
  ag_set_state(a, e, AG_DELETED);
  pthread_mutex_unlock(&a->mu);
  ag_event(a, "deleted", e, NULL);
out:
  free(copy);
  free(path);
  free(workdir);
}

/* ------------------------------------------------------------- the worker */

static void run_job(struct pl_agent *a, struct ag_entry *e) {
  pthread_mutex_lock(&a->mu);
  int st = e->state;
  pthread_mutex_unlock(&a->mu);
  switch (st) {
    case AG_QUEUED:
    case AG_PREPARING:
    case AG_FAILED:
    case AG_PAUSED:
      if (prepare(a, e) != 0) return;
      /* fall through */
    case AG_PREPARED:
    case AG_UPLOADING:
    case AG_WAITING:
      if (a->cancel) return;
      if (upload(a, e) != 0) return;
      /* fall through */
    case AG_VERIFIED:
      finish(a, e);
      break;
    default:
      break;
  }
}

void *ag_worker_main(void *arg) {
  struct pl_agent *a = arg;
  pthread_mutex_lock(&a->mu);
  for (;;) {
    while (!a->workers_stop && a->n_jobs == 0) pthread_cond_wait(&a->cv, &a->mu);
    if (a->workers_stop) break;
    struct ag_entry *e = a->jobs[0];
    memmove(a->jobs, a->jobs + 1, (a->n_jobs - 1) * sizeof *a->jobs);
    a->n_jobs--;
    e->queued_job = 0;
    a->n_busy++;
    pthread_mutex_unlock(&a->mu);
    run_job(a, e);
    pthread_mutex_lock(&a->mu);
    e->busy = 0;
    a->n_busy--;
    a->dirty = 1;
    uint64_t one = 1;
    ssize_t w = write(a->wake_fd, &one, sizeof one); /* the loop schedules again */
    (void)w;
  }
  pthread_mutex_unlock(&a->mu);
  return NULL;
}
