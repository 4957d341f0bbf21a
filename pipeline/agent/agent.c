/*
 * agent.c - the pl_agent handle and its loop: options and defaults, the
 * state folder (lock, journal replay, leftover copies), the main loop
 * (inotify and wake-ups through poll, rescans, candidates, scheduling of
 * recordings onto `parallel` workers, journal compaction, the live snapshot,
 * systemd notification) and the stop (no new work, stop_timeout_s for the
 * work in hand, then transfers cut and checkpointed).
 *
 * The main thread alone touches the watches and candidates; workers take
 * recordings from the job queue (agent_work.c). Scheduling order is the
 * entries' id order, that is the order in which files were found finished.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent_internal.h"
#include "pipeline/rewrite.h"

#define DEFAULT_SETTLE_S 5.0
#define DEFAULT_STALE_S 900.0
#define DEFAULT_RESCAN_S 60.0
#define DEFAULT_STOP_S 20.0
#define DEFAULT_RETRY_S 30.0
#define DEFAULT_RETRY_MAX_S 3600.0
#define MAX_PARALLEL 64
#define KEEP_HISTORY 256 /* finished recordings whose file is gone, kept for 'status' */
#define PAUSE_RECHECK_S 2.0 /* or the retry delay when shorter */

int pl_agent_new(pl_agent **out, const pl_agent_options *o) {
  *out = NULL;
  struct pl_agent *a = calloc(1, sizeof *a);
  if (!a) return PL_AGENT_ENOMEM;
  if (o) a->o = *o;
  a->lock_fd = a->journal_fd = a->wake_fd = a->inotify_fd = -1;
  pthread_mutex_init(&a->mu, NULL);
  pthread_cond_init(&a->cv, NULL);
  pthread_mutex_init(&a->ev_mu, NULL);
  *out = a;
  return PL_AGENT_OK;
}

const char *pl_agent_errmsg(const pl_agent *a) { return a ? a->errmsg : ""; }

void pl_agent_request_stop(pl_agent *a) {
  if (!a) return;
  a->stop_requested = 1;
  if (a->wake_fd >= 0) {
    uint64_t one = 1;
    ssize_t w = write(a->wake_fd, &one, sizeof one);
    (void)w;
  }
}

void pl_agent_free(pl_agent *a) {
  if (!a) return;
  for (size_t i = 0; i < a->n_entries; i++) ag_entry_free(a->entries[i]);
  free(a->entries);
  for (size_t i = 0; i < a->n_cands; i++) free(a->cands[i].path);
  free(a->cands);
  free(a->jobs);
  free(a->threads);
  ag_map_dispose(&a->by_path);
  ag_watch_stop(a);
  ag_journal_close(a);
  if (a->lock_fd >= 0) close(a->lock_fd);
  if (a->wake_fd >= 0) close(a->wake_fd);
  for (size_t i = 0; i < a->n_watch_abs; i++) free(a->watch_abs[i]);
  free(a->watch_abs);
  free(a->state_dir);
  free(a->work_dir);
  free(a->journal_path);
  free(a->snapshot_path);
  free(a->lock_path);
  pthread_mutex_destroy(&a->mu);
  pthread_cond_destroy(&a->cv);
  pthread_mutex_destroy(&a->ev_mu);
  free(a);
}

/* ------------------------------------------------------------- options */

static int check_seconds(struct pl_agent *a, double *v, double def, const char *name) {
  if (!(*v >= 0) || *v > 1e9) return ag_fail(a, PL_AGENT_EINVAL, "invalid %s: %g", name, *v);
  if (*v == 0) *v = def;
  return PL_AGENT_OK;
}

static int setup_options(struct pl_agent *a) {
  pl_agent_options *o = &a->o;
  if (!o->watch || o->n_watch == 0) return ag_fail(a, PL_AGENT_EINVAL, "no folder to watch");
  if (!o->api_url || !*o->api_url) return ag_fail(a, PL_AGENT_EINVAL, "no API URL");
  if (!o->device_name && !o->device_id)
    return ag_fail(a, PL_AGENT_EINVAL, "a device name or id is required");
  int rc;
  if ((rc = check_seconds(a, &o->settle_s, DEFAULT_SETTLE_S, "settle time")) ||
      (rc = check_seconds(a, &o->stale_after_s, DEFAULT_STALE_S, "stale time")) ||
      (rc = check_seconds(a, &o->rescan_s, DEFAULT_RESCAN_S, "rescan period")) ||
      (rc = check_seconds(a, &o->stop_timeout_s, DEFAULT_STOP_S, "stop timeout")) ||
      (rc = check_seconds(a, &o->retry_initial_s, DEFAULT_RETRY_S, "retry delay")) ||
      (rc = check_seconds(a, &o->retry_max_s, DEFAULT_RETRY_MAX_S, "longest retry delay")) ||
      (rc = check_seconds(a, &o->wait_timeout_s, 0, "import wait")))
    return rc;
  if (o->retry_max_s < o->retry_initial_s) o->retry_max_s = o->retry_initial_s;
  if (o->parallel < 0 || o->parallel > MAX_PARALLEL)
    return ag_fail(a, PL_AGENT_EINVAL, "parallel must be from 1 to %d", MAX_PARALLEL);
  if (o->parallel == 0) o->parallel = 1;
  if (o->threads < 0 || o->threads > 256)
    return ag_fail(a, PL_AGENT_EINVAL, "threads must be from 1 to 256");
  if (o->threads == 0) o->threads = 1;
  if (o->compress != MCAP_COMPRESSION_DEFAULT && o->compress != MCAP_COMPRESSION_NONE &&
      o->compress != MCAP_COMPRESSION_ZSTD && o->compress != MCAP_COMPRESSION_LZ4)
    return ag_fail(a, PL_AGENT_EINVAL, "compression must be zstd or lz4");
  if (o->on_error != PL_AGENT_ON_ERROR_REFUSE && o->on_error != PL_AGENT_ON_ERROR_WARN)
    return ag_fail(a, PL_AGENT_EINVAL, "invalid on_error");
  if (o->n_exclude_topics) {
    pl_error_info err;
    memset(&err, 0, sizeof err);
    if (pl_rewrite_check_patterns(o->exclude_topics, o->n_exclude_topics, &err) != PL_OK)
      return ag_fail(a, PL_AGENT_EINVAL, "%s", err.msg);
  }
  a->watch_abs = calloc(o->n_watch, sizeof *a->watch_abs);
  if (!a->watch_abs) return ag_fail(a, PL_AGENT_ENOMEM, "out of memory");
  for (size_t i = 0; i < o->n_watch; i++) {
    char real[PATH_MAX];
    struct stat sb;
    if (!o->watch[i] || !realpath(o->watch[i], real) || stat(real, &sb) != 0)
      return ag_fail(a, PL_AGENT_EIO, "cannot watch '%s': %s", o->watch[i] ? o->watch[i] : "",
                     strerror(errno));
    if (!S_ISDIR(sb.st_mode)) return ag_fail(a, PL_AGENT_EIO, "'%s' is not a folder", o->watch[i]);
    a->watch_abs[i] = ag_strdup(real);
    if (!a->watch_abs[i]) return ag_fail(a, PL_AGENT_ENOMEM, "out of memory");
    a->n_watch_abs++;
  }
  o->watch = (const char *const *)a->watch_abs;
  return PL_AGENT_OK;
}

/* ------------------------------------------------------------- state folder */

char *pl_agent_default_state_dir(const char *watch) {
  return watch ? ag_printf("%s/.mcapkit", watch) : NULL;
}

static int open_state(struct pl_agent *a) {
  char *dir = a->o.state_dir ? ag_strdup(a->o.state_dir)
                             : pl_agent_default_state_dir(a->watch_abs[0]);
  if (!dir) return ag_fail(a, PL_AGENT_ENOMEM, "out of memory");
  if (ag_mkdir_p(dir, 0755) != 0) {
    int rc = ag_fail(a, PL_AGENT_EIO, "cannot create the state folder '%s': %s", dir,
                     strerror(errno));
    free(dir);
    return rc;
  }
  char real[PATH_MAX];
  if (!realpath(dir, real)) {
    int rc = ag_fail(a, PL_AGENT_EIO, "cannot use the state folder '%s': %s", dir, strerror(errno));
    free(dir);
    return rc;
  }
  free(dir);
  struct stat sb;
  if (stat(real, &sb) != 0 || !S_ISDIR(sb.st_mode))
    return ag_fail(a, PL_AGENT_EIO, "the state folder '%s' is not a folder", real);
  a->state_dev = (uint64_t)sb.st_dev;
  a->state_ino = (uint64_t)sb.st_ino;
  a->state_dir = ag_strdup(real);
  a->work_dir = ag_printf("%s/work", real);
  a->journal_path = ag_printf("%s/agent-journal.jsonl", real);
  a->snapshot_path = ag_printf("%s/agent-status.json", real);
  a->lock_path = ag_printf("%s/agent.lock", real);
  if (!a->state_dir || !a->work_dir || !a->journal_path || !a->snapshot_path || !a->lock_path)
    return ag_fail(a, PL_AGENT_ENOMEM, "out of memory");
  a->lock_fd = open(a->lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (a->lock_fd < 0)
    return ag_fail(a, PL_AGENT_EIO, "cannot open '%s': %s", a->lock_path, strerror(errno));
  struct flock fl;
  memset(&fl, 0, sizeof fl);
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  if (fcntl(a->lock_fd, F_OFD_SETLK, &fl) != 0) {
    char b[32] = "";
    ssize_t n = pread(a->lock_fd, b, sizeof b - 1, 0);
    if (n > 0) b[n] = 0;
    b[strcspn(b, "\n")] = 0;
    return ag_fail(a, PL_AGENT_ELOCKED, "another agent%s%s%s uses the state folder '%s'",
                   b[0] ? " (pid " : "", b, b[0] ? ")" : "", a->state_dir);
  }
  char pid[32];
  int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
  if (ftruncate(a->lock_fd, 0) != 0 || pwrite(a->lock_fd, pid, (size_t)n, 0) != n)
    return ag_fail(a, PL_AGENT_EIO, "cannot write '%s': %s", a->lock_path, strerror(errno));
  if (ag_mkdir_p(a->work_dir, 0755) != 0)
    return ag_fail(a, PL_AGENT_EIO, "cannot create '%s': %s", a->work_dir, strerror(errno));
  int rc = ag_journal_open(a);
  if (rc != PL_AGENT_OK) return rc;
  /* copies: keep those a resumed entry still needs, remove every other leftover */
  for (size_t i = 0; i < a->n_entries; i++) {
    struct ag_entry *e = a->entries[i];
    if (e->copy && access(e->copy, R_OK) != 0) {
      free(e->copy);
      e->copy = NULL;
      if (e->state == AG_PREPARED || e->state == AG_UPLOADING || e->state == AG_WAITING) {
        e->state = AG_QUEUED; /* prepare it again */
        e->updated_ns = ag_wall_ns();
        if (ag_journal_append(a, e) != 0) return PL_AGENT_EJOURNAL;
      }
    }
  }
  DIR *d = opendir(a->work_dir);
  if (d) {
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
      if (de->d_name[0] == '.') continue;
      char *end = NULL;
      unsigned long long id = strtoull(de->d_name, &end, 10);
      int keep = 0;
      for (size_t i = 0; end && !*end && i < a->n_entries; i++)
        if (a->entries[i]->id == id && a->entries[i]->copy) keep = 1;
      if (!keep) {
        char *p = ag_printf("%s/%s", a->work_dir, de->d_name);
        if (p) ag_rmtree(p);
        free(p);
      }
    }
    closedir(d);
  }
  return PL_AGENT_OK;
}

/* ------------------------------------------------------------- scheduling */

static int runnable(struct pl_agent *a, struct ag_entry *e, uint64_t now_ns, double now) {
  switch (e->state) {
    case AG_QUEUED:
    case AG_PREPARING:
    case AG_PREPARED:
    case AG_UPLOADING:
    case AG_WAITING:
      return 1;
    case AG_FAILED:
      return e->next_retry_ns != 0 && now_ns >= e->next_retry_ns;
    case AG_PAUSED: {
      double recheck = a->o.retry_initial_s < PAUSE_RECHECK_S ? a->o.retry_initial_s : PAUSE_RECHECK_S;
      if (now - e->paused_at < recheck) return 0;
      uint64_t f = ag_free_bytes(a->work_dir);
      if (f != UINT64_MAX && (f < e->need_bytes || f - e->need_bytes < a->o.min_free)) {
        e->paused_at = now;
        return 0;
      }
      return 1;
    }
    case AG_VERIFIED:
      return !e->finish_done && (e->copy || (a->o.delete_after_verify && !e->stale));
    default:
      return 0;
  }
}

/* Queue what can run; caller holds mu. Returns how many recordings are queued or busy. */
static size_t schedule(struct pl_agent *a) {
  uint64_t now_ns = ag_wall_ns();
  double now = ag_mono_s();
  int added = 0;
  for (size_t i = 0; i < a->n_entries; i++) {
    struct ag_entry *e = a->entries[i];
    if (e->busy || !runnable(a, e, now_ns, now)) continue;
    if (ag_grow((void **)&a->jobs, &a->cap_jobs, a->n_jobs + 1, sizeof *a->jobs) != 0) break;
    if (e->state == AG_PAUSED) {
      pthread_mutex_unlock(&a->mu);
      ag_event(a, "resumed", e, "there is room for the copy now");
      pthread_mutex_lock(&a->mu);
    }
    e->busy = 1;
    e->queued_job = 1;
    a->jobs[a->n_jobs++] = e;
    added = 1;
  }
  if (added) pthread_cond_broadcast(&a->cv);
  return a->n_jobs + (size_t)a->n_busy;
}

/* Drop the oldest finished entries whose file is gone (beyond KEEP_HISTORY); caller holds mu. */
static void prune(struct pl_agent *a) {
  size_t np = 0;
  unsigned char *mark = calloc(a->n_entries ? a->n_entries : 1, 1);
  if (!mark) return;
  for (size_t i = 0; i < a->n_entries; i++) {
    struct ag_entry *e = a->entries[i];
    if (e->busy || !ag_state_terminal(e->state)) continue;
    struct stat sb;
    if (e->state == AG_DELETED || e->state == AG_GONE || lstat(e->path, &sb) != 0) {
      mark[i] = 1;
      np++;
    }
  }
  if (np <= KEEP_HISTORY) {
    free(mark);
    return;
  }
  size_t drop = np - KEEP_HISTORY, k = 0;
  for (size_t i = 0; i < a->n_entries; i++) {
    if (mark[i] && drop) {
      ag_count_entry(&a->forgotten, a->entries[i]->state, a->entries[i]->lost);
      ag_entry_free(a->entries[i]);
      drop--;
    } else {
      a->entries[k++] = a->entries[i];
    }
  }
  a->n_entries = k;
  free(mark);
  ag_map_dispose(&a->by_path);
  for (size_t i = 0; i < a->n_entries; i++) ag_map_put(&a->by_path, a->entries[i]->path, a->entries[i]);
}

static void maybe_compact(struct pl_agent *a) {
  pthread_mutex_lock(&a->mu);
  if (a->journal_lines >= 2 * a->n_entries + 256) {
    prune(a);
    if (ag_journal_compact(a) != 0) {
      char m[512];
      snprintf(m, sizeof m, "%s", a->errmsg);
      a->journal_lines = 0; /* try again later, not on every tick */
      pthread_mutex_unlock(&a->mu);
      ag_event_path(a, "warning", NULL, 0, "%s", m);
      return;
    }
  }
  pthread_mutex_unlock(&a->mu);
}

static void snapshot(struct pl_agent *a, int force, int stopping) {
  double now = ag_mono_s();
  pthread_mutex_lock(&a->mu);
  if (force || (a->dirty && now - a->last_snapshot >= 0.5)) {
    a->dirty = 0;
    a->last_snapshot = now;
    ag_snapshot_write(a, stopping);
  }
  pthread_mutex_unlock(&a->mu);
}

static void drain_wake(struct pl_agent *a) {
  uint64_t v;
  while (read(a->wake_fd, &v, sizeof v) > 0) {
  }
}

/* Wait for events or `timeout` seconds. */
static void wait_events(struct pl_agent *a, double timeout) {
  struct pollfd p[2];
  int n = 0;
  p[n].fd = a->wake_fd;
  p[n].events = POLLIN;
  p[n++].revents = 0;
  if (a->inotify_fd >= 0) {
    p[n].fd = a->inotify_fd;
    p[n].events = POLLIN;
    p[n++].revents = 0;
  }
  int ms = (int)(timeout * 1000);
  if (ms < 1) ms = 1;
  if (poll(p, (nfds_t)n, ms) > 0) {
    if (p[0].revents) drain_wake(a);
    if (n > 1 && p[1].revents) ag_watch_drain(a);
  }
}

static void report_counts(struct pl_agent *a) {
  pl_agent_counts c;
  pl_agent_get_counts(a, &c);
  ag_notify_tick(a, &c);
}

/* With `once`: nothing settling, queued or running, nothing runnable. Caller holds mu. */
static int idle(struct pl_agent *a, size_t active) {
  if (active) return 0;
  for (size_t i = 0; i < a->n_cands; i++)
    if (a->cands[i].finished) return 0;
  return 1;
}

static void stop_workers(struct pl_agent *a) {
  double deadline = ag_mono_s() + a->o.stop_timeout_s;
  pthread_mutex_lock(&a->mu);
  a->workers_stop = 1;
  /* queued jobs are not started: they stay in their (journaled) state */
  for (size_t i = 0; i < a->n_jobs; i++) {
    a->jobs[i]->busy = 0;
    a->jobs[i]->queued_job = 0;
  }
  a->n_jobs = 0;
  pthread_cond_broadcast(&a->cv);
  int cut = 0;
  while (a->n_busy > 0) {
    pthread_mutex_unlock(&a->mu);
    double now = ag_mono_s();
    if (!cut && now >= deadline) {
      cut = 1;
      a->cancel = 1;
      ag_event_path(a, "warning", NULL, 0,
                    "stop timeout (%g s) reached: cutting the transfers in progress; they "
                    "resume on the next start",
                    a->o.stop_timeout_s);
    }
    wait_events(a, cut ? 0.2 : (deadline - now < 0.2 ? deadline - now : 0.2));
    snapshot(a, 0, 1);
    pthread_mutex_lock(&a->mu);
  }
  pthread_mutex_unlock(&a->mu);
  for (int i = 0; i < a->n_threads; i++) pthread_join(a->threads[i], NULL);
  a->n_threads = 0;
}

int pl_agent_run(pl_agent *a) {
  if (!a) return PL_AGENT_EINVAL;
  if (a->ran) return ag_fail(a, PL_AGENT_ESTATE, "an agent runs only once");
  a->ran = 1;
  a->errmsg[0] = 0;
  int rc = setup_options(a);
  if (rc != PL_AGENT_OK) return rc;
  a->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (a->wake_fd < 0) return ag_fail(a, PL_AGENT_EIO, "eventfd: %s", strerror(errno));
  rc = open_state(a);
  if (rc != PL_AGENT_OK) return rc;
  ag_notify_init(a);
  ag_watch_start(a);
  a->threads = calloc((size_t)a->o.parallel, sizeof *a->threads);
  if (!a->threads) return ag_fail(a, PL_AGENT_ENOMEM, "out of memory");
  for (int i = 0; i < a->o.parallel; i++) {
    if (pthread_create(&a->threads[i], NULL, ag_worker_main, a) != 0) {
      stop_workers(a);
      return ag_fail(a, PL_AGENT_ENOMEM, "cannot start worker threads");
    }
    a->n_threads++;
  }
  ag_event_path(a, "started", NULL, 0,
                "watching %zu folder%s (%zu with subfolders), state in '%s'%s", a->o.n_watch,
                a->o.n_watch == 1 ? "" : "s", a->n_watches, a->state_dir,
                a->n_entries ? ", resuming from the journal" : "");
  ag_notify(a, "READY=1");
  double next_rescan = ag_mono_s() + a->o.rescan_s;
  while (!a->stop_requested) {
    double tick = a->n_cands ? a->o.settle_s / 4 : 1.0;
    if (tick > a->o.retry_initial_s) tick = a->o.retry_initial_s; /* retries, paused ones */
    if (tick > 1.0) tick = 1.0;
    pthread_mutex_lock(&a->mu);
    double snap_due = a->dirty ? a->last_snapshot + 0.5 - ag_mono_s() : tick;
    pthread_mutex_unlock(&a->mu);
    if (tick > snap_due) tick = snap_due; /* 'agent status' sees a change within 0.5 s */
    if (tick < 0.05) tick = 0.05;
    wait_events(a, tick);
    if (a->stop_requested) break;
    double now = ag_mono_s();
    if (a->rescan_now || now >= next_rescan) {
      ag_watch_rescan(a);
      next_rescan = now + a->o.rescan_s;
    }
    ag_watch_tick(a);
    pthread_mutex_lock(&a->mu);
    size_t active = schedule(a);
    int done = a->o.once && idle(a, active);
    pthread_mutex_unlock(&a->mu);
    maybe_compact(a);
    snapshot(a, 0, 0);
    report_counts(a);
    if (done) break;
  }
  ag_event_path(a, "stopping", NULL, 0, a->stop_requested ? "stop requested" : "nothing left to do");
  ag_notify(a, "STOPPING=1");
  stop_workers(a);
  pthread_mutex_lock(&a->mu);
  ag_journal_compact(a);
  pthread_mutex_unlock(&a->mu);
  snapshot(a, 1, 1);
  report_counts(a);
  ag_watch_stop(a);
  pl_agent_counts c;
  pl_agent_get_counts(a, &c);
  ag_event_path(a, "stopped", NULL, 0,
                "%llu verified (%llu uploaded this run), %llu failed, %llu refused, %llu differ, "
                "%llu pending",
                (unsigned long long)c.verified, (unsigned long long)c.uploads,
                (unsigned long long)c.failed, (unsigned long long)c.refused,
                (unsigned long long)c.differs, (unsigned long long)c.pending);
  return PL_AGENT_OK;
}
