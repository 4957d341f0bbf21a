/*
 * agent.h - pl_agent: the long-running uploader behind `mcapkit agent`. It
 * watches a robot's recording folders and gets every finished recording to
 * the platform exactly once:
 *
 *   discover (inotify IN_CLOSE_WRITE / IN_MOVED_TO / new subfolders, plus a
 *   rescan every rescan_s) -> finished? (MCAP: valid footer and trailing
 *   magic; ROS 1 bag: the header's index position written; .db3: no journal
 *   beside it) and unchanged for settle_s -> prepare (a file unfinished for
 *   stale_after_s is recovered or walked into a copy in the state folder;
 *   bags converted; the doctor; compression of uncompressed files, topics
 *   excluded) -> upload through pl_upload_files (content-hash key, retries,
 *   Retry-After) -> wait for the import -> reconcile -> optionally delete the
 *   original, only after a clean reconcile.
 *
 *     pl_agent *a;
 *     if (pl_agent_new(&a, &opts) != PL_AGENT_OK) ...  // only ENOMEM
 *     int rc = pl_agent_run(a);   // until pl_agent_request_stop()
 *     if (rc != PL_AGENT_OK) puts(pl_agent_errmsg(a));
 *     pl_agent_free(a);
 *
 * State: a journal in the state folder (agent-journal.jsonl: one JSON object
 * per line, the whole entry of a recording each time it moves on, appended
 * with fdatasync; compacted into a new file that is fsynced and renamed over
 * it). After kill -9, a power loss or a restart the agent replays it and
 * resumes every recording where it was: a transfer that was cut off is sent
 * again, and pl_upload_files looks for its key on the platform first, so a
 * recording is never uploaded twice; a file is deleted only from the
 * "verified" state, and only when it is still the very file that was
 * uploaded (device, inode, size and modification time).
 * The folder also holds agent.lock (one agent per state folder), the live
 * snapshot agent-status.json (what `mcapkit agent status` reads while the
 * agent runs) and work/ (the prepared copies, removed once verified).
 *
 * systemd: with notify set and $NOTIFY_SOCKET present, READY=1 once the
 * watches are in place, STATUS=<counts> as they change, WATCHDOG=1 when
 * $WATCHDOG_USEC asks for it, STOPPING=1 on the way out (sd_notify).
 *
 * Conventions: functions return PL_AGENT_OK (0) or a negative
 * pl_agent_status; the detail (what, which file, offset or line, field) is on
 * the handle (pl_agent_errmsg). A handle is used from one thread, except
 * pl_agent_request_stop, which any thread or a signal handler may call.
 */
#ifndef PIPELINE_AGENT_H
#define PIPELINE_AGENT_H

#include <stddef.h>
#include <stdint.h>

#include "mcap/mcap.h"
#include "pipeline/client.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Status codes. Values are pinned: only append. */
typedef enum pl_agent_status {
  PL_AGENT_OK = 0,
  PL_AGENT_EINVAL = -1,   /* bad option */
  PL_AGENT_ENOMEM = -2,   /* allocation failed */
  PL_AGENT_EIO = -3,      /* the state folder or a watched folder cannot be used */
  PL_AGENT_ELOCKED = -4,  /* another agent uses the state folder */
  PL_AGENT_EJOURNAL = -5, /* the state journal cannot be read or written */
  PL_AGENT_ESTATE = -6    /* call not valid in the handle's state (run twice) */
} pl_agent_status;

/** Static text for a status. Never NULL. */
const char *pl_agent_strerror(int code);

/** What to do when the doctor finds errors in a recording. */
typedef enum pl_agent_on_error {
  PL_AGENT_ON_ERROR_REFUSE = 0, /* do not upload it (state "refused") */
  PL_AGENT_ON_ERROR_WARN = 1    /* upload it anyway, with a warning */
} pl_agent_on_error;

/** One thing that happened, for the log (one line per event). */
typedef struct pl_agent_event {
  const char *event;   /* stable name: "started", "seen", "queued", "stale", "preparing",
                          "recovered", "converted", "compressed", "doctor", "uploading",
                          "waiting", "verified", "deleted", "kept", "failed", "refused",
                          "differs", "gone", "paused", "resumed", "rescan", "warning",
                          "stopping", "stopped" */
  const char *path;    /* the recording (its original path), or NULL */
  const char *message; /* one line of detail, or NULL */
  uint64_t size;       /* bytes of the file it is about, or 0 */
  uint64_t messages_lost; /* recovered/converted: messages known to be lost */
  int attempts;           /* failed: attempts so far */
  uint64_t next_retry_ns; /* failed: wall-clock time of the next attempt (0 = none) */
  const char *key;          /* verified: the recording key, else NULL */
  const char *recording_id; /* verified: the recording id, else NULL */
} pl_agent_event;

/** Called from the agent's threads, one event at a time (serialised). Views valid for the call. */
typedef void (*pl_agent_event_fn)(void *user, const pl_agent_event *ev);

/**
 * Options. All-zero (besides watch, api_url and a device) means the defaults
 * given per field. Pointers are borrowed until pl_agent_free.
 */
typedef struct pl_agent_options {
  const char *const *watch; /* folders to watch, recursively (at least one) */
  size_t n_watch;
  const char *state_dir; /* NULL = watch[0]/.mcapkit */
  const char *const *patterns; /* fnmatch globs on the file name; NULL/0 = "*.mcap", plus
                                  "*.bag" and "*.db3" with convert */
  size_t n_patterns;
  int convert;          /* ROS 1 bags and rosbag2 .db3 files are converted (pl_convert) */
  double settle_s;      /* a finished file must be unchanged this long; 0 = 5 */
  double stale_after_s; /* an unfinished file unchanged this long is recovered; 0 = 900 */
  double rescan_s;      /* full rescan period; 0 = 60 */
  pl_agent_on_error on_error;
  mcap_compression compress; /* DEFAULT/NONE = leave as is; ZSTD/LZ4: an uncompressed
                                recording is compressed before the upload */
  const char *const *exclude_topics; /* POSIX extended regexes (whole topic) to drop */
  size_t n_exclude_topics;
  int threads; /* compression threads of one preparation; 0 = 1 */

  /* The platform. */
  const char *api_url;     /* required */
  const char *api_key;     /* copied by the HTTP layer; NULL = none */
  const char *device_name; /* one of device_name / device_id is required */
  const char *device_id;
  pl_http_options http;    /* retries, timeouts, log; cancel is the agent's own */
  uint64_t max_rate;       /* bytes/s of all uploads together; 0 = unlimited */
  int parallel;            /* recordings prepared and uploaded at once; 0 = 1 */
  double wait_timeout_s;   /* import wait per recording; 0 = 600 */
  double tolerance_s;      /* reconcile coverage tolerance; 0 = 14 */

  int delete_after_verify; /* remove the original once the platform's copy reconciled clean
                              (never a stale file's original, which stays as it was) */
  uint64_t min_free;       /* bytes to keep free on the state folder's file system: a
                              preparation that would go below pauses until there is room
                              (looked at every 2 s, or retry_initial_s when shorter) */
  double stop_timeout_s;   /* after a stop request, how long work may go on before
                              transfers are cut and checkpointed; 0 = 20 */
  double retry_initial_s;  /* first retry of a failed recording; doubles each time; 0 = 30 */
  double retry_max_s;      /* 0 = 3600 */
  int once;                /* return when there is nothing more to do now (for cron and
                              tests): every finished file handled, retries not waited for */
  int notify;              /* talk to systemd through $NOTIFY_SOCKET when it is set */
  pl_agent_event_fn on_event;
  void *event_user;
} pl_agent_options;

typedef struct pl_agent pl_agent;

/**
 * Make an agent. The options are copied (their pointers borrowed until free);
 * they are checked by pl_agent_run.
 * @return PL_AGENT_OK or PL_AGENT_ENOMEM (*out NULL).
 */
int pl_agent_new(pl_agent **out, const pl_agent_options *o);

/**
 * Run until pl_agent_request_stop (or, with `once`, until idle): lock and
 * replay the state folder, watch, prepare, upload, verify. On a stop request
 * no new work starts; work in hand may go on for stop_timeout_s, then
 * transfers are cut (the journal says where each recording is).
 * @return PL_AGENT_OK after a clean stop; PL_AGENT_EINVAL (options),
 *         PL_AGENT_ELOCKED, PL_AGENT_EIO, PL_AGENT_EJOURNAL, PL_AGENT_ENOMEM,
 *         PL_AGENT_ESTATE (called twice). Failures of single recordings are
 *         not errors of the run: they are retried and reported.
 */
int pl_agent_run(pl_agent *a);

/** Ask a running agent to stop. Async-signal-safe; any thread. */
void pl_agent_request_stop(pl_agent *a);

/** Counts at the end of a run (or so far). */
typedef struct pl_agent_counts {
  uint64_t verified; /* reconciled clean (deleted ones included) */
  uint64_t deleted;
  uint64_t failed;   /* waiting for a retry */
  uint64_t refused;  /* the doctor found errors (on_error refuse) */
  uint64_t differs;  /* the platform's copy differs */
  uint64_t gone;     /* disappeared or changed before they were verified */
  uint64_t lost;     /* recordings uploaded with data lost (stale, damaged) */
  uint64_t uploads;  /* uploads this run made (PUTs that went through) */
  uint64_t pending;  /* everything else: writing, settling, queued, in progress, paused */
} pl_agent_counts;

/** Fill *out with the counts of the recordings the agent knows of. */
void pl_agent_get_counts(pl_agent *a, pl_agent_counts *out);

/** One line about the last error ("" when none). Valid until the next call on the handle. */
const char *pl_agent_errmsg(const pl_agent *a);

/** Free the agent. Accepts NULL. Must not be called while pl_agent_run runs. */
void pl_agent_free(pl_agent *a);

/* ---------------------------------------------------------------- status */

/** One recording as the state folder describes it. */
typedef struct pl_agent_entry {
  uint64_t id;
  char *path;  /* the original */
  char *state; /* "writing", "settling", "queued", "preparing", "prepared", "uploading",
                  "waiting for import", "verified", "deleted", "failed", "refused",
                  "differs", "gone", "paused" */
  char *kind;  /* "mcap", "bag", "db3" */
  int stale;   /* unfinished: recovered (or walked) into a copy */
  char *copy;  /* the prepared copy, or NULL (the original is uploaded) */
  char *key, *recording_id; /* once known, else NULL */
  char *reason; /* why it failed, was refused or paused; what was lost; or NULL */
  uint64_t size;
  int attempts;
  uint64_t next_retry_ns; /* wall clock; 0 = none */
  uint64_t updated_ns;    /* wall clock of the last change */
  uint64_t messages_lost;
  int lost;
  uint64_t doctor_errors;
  /* live, while the agent runs and uploads it */
  uint64_t bytes_sent, bytes_total;
  double rate; /* bytes/s over the last seconds */
} pl_agent_entry;

typedef struct pl_agent_snapshot {
  int running;         /* an agent holds the state folder now */
  int from_journal;    /* 1: read from the journal (agent not running); 0: the live snapshot */
  int64_t pid;         /* the running agent's, or 0 */
  uint64_t updated_ns; /* when the snapshot was written (wall clock) */
  pl_agent_entry *entries; /* sorted by id; recordings still being written have id 0 */
  size_t n_entries;
  size_t omitted;          /* finished recordings left out of a live snapshot (the oldest) */
  pl_agent_counts counts;  /* over every recording, omitted ones included; from a running
                              agent also those it forgot (the oldest finished ones whose file
                              is gone, beyond 256) since it started */
  size_t skipped_lines; /* journal lines that could not be used (a torn last line) */
} pl_agent_snapshot;

/**
 * The state folder an agent uses when none is given: the first watched
 * folder's ".mcapkit". @return a malloc'd path (the caller frees it), or
 * NULL when `watch` is NULL or memory is short.
 */
char *pl_agent_default_state_dir(const char *watch);

/**
 * Read what the state folder says: the live snapshot when an agent runs,
 * else the journal replayed (entries in flight then show where they stood).
 * @param[out] out free with pl_agent_snapshot_free.
 * @param err optional detail.
 * @return PL_AGENT_OK; PL_AGENT_EIO (no such state folder, unreadable);
 *         PL_AGENT_EJOURNAL (unusable content); PL_AGENT_ENOMEM.
 */
int pl_agent_snapshot_read(const char *state_dir, pl_agent_snapshot **out, pl_error_info *err);

/**
 * Parse journal text (the content of agent-journal.jsonl) into entries, as
 * the agent replays it: the last line per id wins, lines that are not
 * complete entries are counted in skipped_lines. Never reads beyond `len`.
 */
int pl_agent_journal_parse(const char *text, size_t len, pl_agent_snapshot **out,
                           pl_error_info *err);

void pl_agent_snapshot_free(pl_agent_snapshot *s);

#ifdef __cplusplus
}
#endif

#endif /* PIPELINE_AGENT_H */
