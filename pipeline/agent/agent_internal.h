/*
 * agent_internal.h - declarations shared by the files of pl_agent (prefix
 * ag_): the handle, recordings (entries) and the files still being written
 * (candidates), the state journal (agent_journal.c, the only json-c user),
 * discovery (agent_watch.c), the work on one recording (agent_work.c),
 * systemd notification (agent_notify.c) and small helpers (agent_util.c).
 * Private to pipeline/agent/.
 *
 * Invariants:
 * - Every field of an entry, the entry list, the job queue and the counters
 *   are guarded by agent.mu. A worker owns the entry it was given (busy = 1)
 *   and changes its state only through ag_set_state (under mu), which
 *   journals the entry before anyone can see the new state.
 * - A line of the journal is a whole entry; replay keeps the last line per id.
 *   A state is journaled (fdatasync) before the step it allows is taken:
 *   "verified" before a file is deleted, "prepared" (with its copy's path)
 *   only after the copy was fsynced and renamed into place.
 * - by_path maps a path to its latest entry (the highest id); it is rebuilt
 *   whenever entries are pruned.
 */
#ifndef PIPELINE_AGENT_INTERNAL_H
#define PIPELINE_AGENT_INTERNAL_H

#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "pipeline/agent.h"

/* States of a recording. Names are part of the journal and status formats. */
enum ag_state {
  AG_WRITING = 0,  /* candidate: not finished yet (never journaled) */
  AG_SETTLING,     /* candidate: finished, waiting to be unchanged for settle_s (never journaled) */
  AG_QUEUED,       /* finished (or stale): waiting for a worker */
  AG_PREPARING,    /* recover / convert / doctor / compress running */
  AG_PREPARED,     /* ready to upload (copy or original) */
  AG_UPLOADING,    /* the PUT is under way */
  AG_WAITING,      /* uploaded (or found on the platform): waiting for the import */
  AG_VERIFIED,     /* imported and reconciled clean */
  AG_DELETED,      /* verified, and the original was deleted (delete_after_verify) */
  AG_FAILED,       /* an attempt failed: retried at next_retry_ns (0 = not retried) */
  AG_REFUSED,      /* the doctor found errors (on_error refuse) */
  AG_DIFFERS,      /* the platform's copy differs from the file */
  AG_GONE,         /* the original disappeared or changed before it was verified */
  AG_PAUSED,       /* a copy would not fit (min_free): waits for room */
  AG_N_STATES
};

enum ag_kind { AG_KIND_MCAP = 0, AG_KIND_BAG = 1, AG_KIND_DB3 = 2 };

const char *ag_state_name(int state);
int ag_state_parse(const char *s);  /* -1 when unknown */
const char *ag_kind_name(int kind);
int ag_kind_parse(const char *s);   /* -1 when unknown */
int ag_state_terminal(int state);   /* verified, deleted, refused, differs, gone */

/* What identifies one version of a file. */
struct ag_ident {
  uint64_t dev, ino, size;
  int64_t mtime_ns;
};
int ag_ident_equal(const struct ag_ident *a, const struct ag_ident *b);
/* lstat a regular file; -1 (errno set) when missing or not a regular file. */
int ag_ident_stat(const char *path, struct ag_ident *out);

struct ag_entry {
  uint64_t id;
  char *path;
  struct ag_ident ident;
  int kind, stale, state;
  char *copy, *key, *recording_id, *reason;
  int attempts;
  uint64_t next_retry_ns, updated_ns, messages_lost, doctor_errors;
  int lost;
  /* live only (not journaled) */
  int busy;        /* a worker has it */
  int queued_job;  /* in the job queue */
  int finish_done; /* the verified steps (copy removal, deletion) ran in this run */
  uint64_t need_bytes; /* paused: room the copy needs */
  double paused_at;    /* paused: when (monotonic) */
  uint64_t bytes_sent, bytes_total;
  double rate, rate_t0;
  uint64_t rate_b0;
};

void ag_entry_free(struct ag_entry *e);

/* A file seen that is not (yet) an entry. */
struct ag_cand {
  char *path;
  struct ag_ident ident;
  int kind;
  int finished;
  double since; /* monotonic time the current ident was first seen */
  int seen_logged;
};

/* string -> pointer map (open addressing, no removal: rebuilt instead) */
struct ag_map {
  const char **keys;
  void **vals;
  size_t cap, n;
};
int ag_map_put(struct ag_map *m, const char *key, void *val); /* key borrowed; 0 / -1 */
void *ag_map_get(const struct ag_map *m, const char *key);
void ag_map_dispose(struct ag_map *m);

struct ag_watch {
  int wd;
  char *path;
};

struct pl_agent {
  pl_agent_options o;
  char **watch_abs; /* the watched folders, absolute (o.watch points here once running) */
  size_t n_watch_abs;
  char errmsg[512];
  int ran;
  /* paths in the state folder */
  char *state_dir, *work_dir, *journal_path, *snapshot_path, *lock_path;
  uint64_t state_dev, state_ino;
  int lock_fd;
  int journal_fd;
  uint64_t journal_lines; /* since the last compaction */
  /* stop */
  volatile sig_atomic_t stop_requested;
  int wake_fd;        /* eventfd: stop requests and finished jobs wake the loop */
  volatile int cancel; /* cuts transfers and copies (after stop_timeout_s) */
  /* discovery */
  int inotify_fd;
  struct ag_watch *watches;
  size_t n_watches, cap_watches;
  struct ag_cand *cands;
  size_t n_cands, cap_cands;
  int rescan_now;
  /* entries */
  pthread_mutex_t mu;
  pthread_cond_t cv;
  pthread_mutex_t ev_mu; /* serialises events */
  struct ag_entry **entries; /* by id, ascending */
  size_t n_entries, cap_entries;
  struct ag_map by_path;
  uint64_t next_id;
  /* jobs */
  struct ag_entry **jobs;
  size_t n_jobs, cap_jobs;
  int workers_stop;
  int n_busy;
  pthread_t *threads;
  int n_threads;
  uint64_t uploads;
  pl_agent_counts forgotten; /* entries pruned from memory in this run, by state */
  int dirty; /* the snapshot is out of date */
  double last_snapshot;
  /* systemd */
  int notify_on;
  uint64_t watchdog_usec;
  double last_watchdog;
  char last_status[256];
};

/* ---- agent_util.c */
double ag_mono_s(void);
uint64_t ag_wall_ns(void);
char *ag_strdup(const char *s);
char *ag_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int ag_grow(void **arr, size_t *cap, size_t need, size_t elem);
/* Set the handle message; return code. */
int ag_fail(struct pl_agent *a, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int ag_fsync_dir(const char *dir);
int ag_fsync_parent(const char *path);
int ag_mkdir_p(const char *dir, mode_t mode);
int ag_rmtree(const char *dir);
/* Free bytes for an unprivileged writer on the file system of `path`; UINT64_MAX if unknown. */
uint64_t ag_free_bytes(const char *path);
/* Emit an event (serialised). */
void ag_event(struct pl_agent *a, const char *event, const struct ag_entry *e, const char *fmt,
              ...) __attribute__((format(printf, 4, 5)));
void ag_event_path(struct pl_agent *a, const char *event, const char *path, uint64_t size,
                   const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* ---- agent_journal.c (json-c) */
/* Open (create) the journal, replay it into a->entries; compact it. */
int ag_journal_open(struct pl_agent *a);
/* Append the entry as one line (write + fdatasync). Caller holds mu. 0 / -1 (message on handle). */
int ag_journal_append(struct pl_agent *a, const struct ag_entry *e);
/* Rewrite the journal with the live entries (fsync, rename, fsync dir). Caller holds mu. */
int ag_journal_compact(struct pl_agent *a);
void ag_journal_close(struct pl_agent *a);
/* Add one entry in `state` to the counts. */
void ag_count_entry(pl_agent_counts *c, int state, int lost);
/* Write agent-status.json (temporary file + rename). Caller holds mu. */
int ag_snapshot_write(struct pl_agent *a, int stopping);

/* ---- agent_watch.c */
int ag_watch_start(struct pl_agent *a);  /* inotify + first scan */
void ag_watch_stop(struct pl_agent *a);
void ag_watch_drain(struct pl_agent *a); /* read inotify events */
void ag_watch_rescan(struct pl_agent *a);
/* Re-check candidates: settled -> entries (queued). Caller does NOT hold mu. */
void ag_watch_tick(struct pl_agent *a);
int ag_pattern_match(const struct pl_agent *a, const char *name);
/* 1 when the file is complete (see agent.h), 0 not, -1 unreadable. */
int ag_file_finished(const char *path, int kind);
int ag_detect_kind(const struct pl_agent *a, const char *path);

/* ---- agent_work.c */
void *ag_worker_main(void *arg);
/* Move an entry to a state and journal it (caller holds mu). */
int ag_set_state(struct pl_agent *a, struct ag_entry *e, int state);
/* Add a new entry for a settled or stale file (takes mu). */
struct ag_entry *ag_entry_add(struct pl_agent *a, const char *path, const struct ag_ident *id,
                              int kind, int stale);

/* ---- agent_notify.c */
void ag_notify_init(struct pl_agent *a);
void ag_notify(struct pl_agent *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ag_notify_tick(struct pl_agent *a, const pl_agent_counts *c);

#endif /* PIPELINE_AGENT_INTERNAL_H */
