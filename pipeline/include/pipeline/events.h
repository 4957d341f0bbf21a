/*
 * events.h - pl_events: events made from a recording, one per message of a topic
 * (JSON, or any encoding pl_decode reads) or one per doctor finding, created on
 * the API once (prefix pl_events_). Conventions of pipeline/core.h.
 *
 * Idempotent: every event carries the metadata entry PL_EVENTS_KEY, a content
 * hash of what it was made from (topic, log time and message bytes; or the
 * finding and the file's size and time range). The device's events that have
 * one are listed first, and only the missing ones are created: running it
 * again creates nothing.
 */
#ifndef PIPELINE_EVENTS_H
#define PIPELINE_EVENTS_H

#include <stddef.h>
#include <stdint.h>

#include "pipeline/client.h"
#include "pipeline/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The metadata key of the idempotency key. */
#define PL_EVENTS_KEY "mcapkitEventKey"

/** What to make events from, and how; all-zero fields mean the defaults given. */
typedef struct pl_events_options {
  const char *topic; /* one event per message of this topic; or NULL with from_doctor */
  int from_doctor;   /* one event per finding of the doctor (pl_doctor_run), spanning the
                        file's messages (its modification time when it has none) */
  /* `path` is a recording (key or id) on the API rather than a local file: it is exported
   * (pl_export_run; only `topic` in topic mode) to a temporary file that is removed after. */
  int recording;
  const char *name; /* what the doctor events' "file" entry says; NULL: the file's base name
                       (for a recording: its key or id) */
  const char *device_id, *device_name; /* the events' device: one is required, except for a
                                          recording (default: the recording's device) */
  /* A local file's events go to the device of this recording on the API (key or id) when
   * neither device_id nor device_name is given: `upload --events-from-topic`, after the
   * import, names the recording it just uploaded. NULL: not used. */
  const char *device_of;
  /* Message fields (dotted paths, "header.stamp") holding the start and end: an integer
   * is nanoseconds, a float seconds, a {sec,nsec} or {secs,nsecs} struct ROS time, a
   * string RFC 3339. NULL: the start is the log time, the end the start. */
  const char *start_field, *end_field;
  /* Fields copied into the metadata (key: the path; strings as they are, anything
   * else as compact JSON, cut to 1024 bytes). NULL/0: every top-level member that is
   * not a struct or an array. */
  const char *const *fields;
  size_t n_fields;
  const pl_kv *extra; /* entries added to every event (they win over fields) */
  size_t n_extra;
  uint64_t max_events; /* more found is PL_EINVAL before anything is created; 0 = 10000 */
  int dry_run;         /* look up, create nothing */
} pl_events_options;

typedef struct pl_events_result {
  uint64_t found;    /* events the file gives */
  uint64_t existing; /* of them already on the API (same PL_EVENTS_KEY): not created */
  uint64_t created;  /* created now (0 with dry_run) */
} pl_events_result;

/**
 * Make the events of the recording at `path` and create those the API does not have.
 * @param h the API (borrowed).
 * @param[out] res counts, also on error (what was created before it).
 * @return PL_OK; PL_EINVAL (options, a message that cannot be decoded, a missing or
 *         unreadable time field, too many events: the message names topic and log
 *         time); PL_EIO, PL_EMCAP (the file); PL_ENOMEM; the codes of pl_http_api.
 */
int pl_events_add(pl_http *h, const char *path, const pl_events_options *o,
                  pl_events_result *res, pl_error_info *err);

#ifdef __cplusplus
}
#endif

#endif /* PIPELINE_EVENTS_H */
