/*
 * client.h - the Foxglove API client of the pipeline (prefix pl_): an HTTP
 * handle with retries and API-key safety (http.c), the API's resources as
 * plain structs with every list paged through (api_client.c, api_json.c),
 * upload with pre-flight check, import wait and a resumable batch journal
 * (upload.c), reconciliation of a local file against its remote recording
 * (reconcile.c), and export with resume and verification (export_client.c).
 *
 * Conventions as in pipeline/core.h: functions return PL_OK (0) or a negative
 * pl_error with detail in a caller-supplied pl_error_info (for HTTP failures
 * http_status and curl_code are set too). Structures returned through **out
 * are owned by the caller and released with their _free function; structs
 * the caller allocated and we filled are released with _dispose.
 *
 * Threads: a pl_http handle is a single-thread object (one libcurl easy
 * handle, reused for keep-alive); parallel work uses one handle per worker.
 * The process must have called pl_http_global_init() (libcurl's global
 * initialisation) before any handle is made (the CLI does it in main, for the
 * commands that use the network); the library never does it on its own.
 *
 * libcurl is not linked: it is opened (dlopen) the first time a handle is made
 * or pl_http_global_init() is called, so programs that never use the network
 * do not load it and its TLS/LDAP/Kerberos dependencies at start-up. Without a
 * loadable libcurl those calls fail with PL_EUNAVAILABLE and say why.
 *
 * The API key is copied into the handle and sent only in requests to the API
 * itself: never to signed upload, download or export links, never on a
 * redirect that leaves the API's origin or path, and it never appears in any
 * message this library produces. Signed links are not logged with their query.
 *
 * Times on the wire: requests and responses carry RFC 3339 UTC strings
 * ("...Z", nine fraction digits when we write them), parsed to uint64
 * nanoseconds here; JSON numbers are used only for sizes, counts and CRCs.
 */
#ifndef PIPELINE_CLIENT_H
#define PIPELINE_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "pipeline/import.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ================================================================== HTTP */

typedef struct pl_http pl_http;

/** A log sink: one line per call, no trailing newline, never holds the key. */
typedef void (*pl_log_fn)(void *user, const char *line);

/** HTTP options; all-zero means the defaults given per field. */
typedef struct pl_http_options {
  double connect_timeout_s;   /* 0 = 10 */
  double timeout_s;           /* total time of one API request (not transfers); 0 = 120 */
  double stall_timeout_s;     /* transfers: give up when under 1 byte/s for this long; 0 = 60 */
  int max_attempts;           /* tries per request, the first included; 0 = 8; 1 = no retry */
  double backoff_initial_s;   /* first backoff; doubles each retry; 0 = 0.5 */
  double backoff_max_s;       /* 0 = 30 */
  double retry_after_max_s;   /* longest Retry-After waited for; longer is an error; 0 = 300 */
  uint64_t max_body;          /* cap on a response body kept in memory; 0 = 64 MiB */
  uint64_t jitter_seed;       /* 0 = from the clock */
  const volatile int *cancel; /* optional: non-zero stops transfers and waits (PL_ECANCELED) */
  pl_log_fn log;              /* optional: one line per retry and redirect */
  /* (pl_upload_files calls `log` from its worker threads: it must be thread-safe) */
  void *log_user;
  const char *user_agent; /* NULL = "mcapkit/<version>" */
  uint64_t max_send_speed; /* bytes/s of a file PUT (CURLOPT_MAX_SEND_SPEED_LARGE); 0 = no limit */
} pl_http_options;

/**
 * Load libcurl (once per process) and run its global initialisation: call once,
 * before any thread exists, in a program that uses the network (the mcapkit CLI
 * does it for network commands). Pair with pl_http_global_cleanup().
 * @return PL_OK; PL_EUNAVAILABLE when libcurl cannot be loaded (the message
 *         names the library and the loader's reason); PL_ENET when its
 *         initialisation fails.
 */
int pl_http_global_init(pl_error_info *err);

/** libcurl's global cleanup, after the last handle is freed (once pl_http_global_init succeeded). */
void pl_http_global_cleanup(void);

/**
 * Make a handle for the API at `api_url` (e.g. "https://api.foxglove.dev" or
 * "http://127.0.0.1:8080"; a trailing '/' is ignored; a path prefix is kept).
 * @param api_key the key, copied; NULL or "" sends no Authorization header.
 * @param o NULL for the defaults; copied.
 * @return PL_OK, PL_EINVAL (URL not http(s)), PL_ENOMEM, PL_EUNAVAILABLE (no libcurl).
 */
int pl_http_new(pl_http **out, const char *api_url, const char *api_key, const pl_http_options *o,
                pl_error_info *err);

/** Release a handle (wipes its copy of the key). Accepts NULL. */
void pl_http_free(pl_http *h);

/** The API URL the handle was made with (normalised, no trailing '/'). */
const char *pl_http_api_url(const pl_http *h);

/** Counters of a handle since it was made. */
typedef struct pl_http_stats {
  uint64_t requests;       /* HTTP exchanges attempted (each retry and redirect counts) */
  uint64_t retries;        /* of those, repeats after a retryable failure */
  uint64_t bytes_sent;     /* request bodies */
  uint64_t bytes_received; /* response bodies */
  uint64_t connections;    /* new connections opened (keep-alive keeps this low) */
} pl_http_stats;
void pl_http_get_stats(const pl_http *h, pl_http_stats *out);

/** A response kept in memory. */
typedef struct pl_http_response {
  long status; /* 0 when no response arrived */
  char *body;  /* NUL-terminated; NULL when empty */
  size_t len;
  char *location;     /* Location header of a 3xx, resolved to an absolute URL; or NULL */
  char *content_type; /* or NULL */
} pl_http_response;
void pl_http_response_dispose(pl_http_response *r);

/** Flags of pl_http_api. */
enum pl_http_flags {
  PL_HTTP_RETRY_POST = 1 << 0,  /* this POST is safe to repeat (e.g. carries an idempotency key) */
  PL_HTTP_NO_RETRY = 1 << 1,    /* never repeat, whatever the method */
  PL_HTTP_NO_REDIRECT = 1 << 2, /* return a 3xx as it is (status and location) */
  PL_HTTP_ANY_STATUS = 1 << 3   /* return PL_OK for every status that arrived (no mapping) */
};

/**
 * One request to the API, with the key. `path` is relative to the API URL
 * and may carry a query ("/v1/recordings?limit=10"); `json_body` (or NULL)
 * goes as application/json. GET, HEAD, PUT and DELETE are retried on
 * connection errors, 408, 429 and 5xx (POST only with PL_HTTP_RETRY_POST),
 * with exponential backoff and jitter, waiting at least Retry-After.
 * Redirects are followed here (at most 5): with the key only when the target
 * is the API's own origin and path, else without it.
 * @param[out] resp the final response (dispose it in every case).
 * @return PL_OK for 2xx (any status with PL_HTTP_ANY_STATUS; 3xx with
 *         PL_HTTP_NO_REDIRECT); else PL_EAUTH (401/403), PL_ENOTFOUND (404),
 *         PL_ECONFLICT (409), PL_EHTTP (other status; the API's "error"
 *         text in the message), PL_ENET (transport, after the last try),
 *         PL_ETIMEOUT, PL_ECANCELED, PL_ENOMEM, PL_EINVAL.
 */
int pl_http_api(pl_http *h, const char *method, const char *path, const char *json_body,
                unsigned flags, pl_http_response *resp, pl_error_info *err);

/** Progress of a transfer: bytes done and total (0 when unknown). Non-zero aborts. */
typedef int (*pl_progress_fn)(void *user, uint64_t done, uint64_t total);

/**
 * PUT a file to a signed link (never with the key) as
 * application/octet-stream, streamed from disk in constant memory. Repeated
 * whole on a retryable failure. `resp` gets the final response.
 * @return as pl_http_api (PL_EAUTH for an expired/refused link), PL_EIO for the file.
 */
int pl_http_put_file(pl_http *h, const char *url, const char *path, pl_progress_fn progress,
                     void *progress_user, pl_http_response *resp, pl_error_info *err);

/**
 * GET a link (never with the key) and append the body to file descriptor
 * `fd` as it arrives (constant memory). Redirects are followed without the
 * key. With `retry` the transfer is repeated whole on a retryable failure
 * (the file is truncated back to where it started); without it a broken
 * transfer returns PL_ENET and *written says how much arrived.
 * @param[out] written bytes appended by the final attempt (may be NULL).
 * @param[out] status the final HTTP status (may be NULL).
 */
int pl_http_get_to_fd(pl_http *h, const char *url, int fd, int retry, pl_progress_fn progress,
                      void *progress_user, uint64_t *written, long *status, pl_error_info *err);

/* ============================================================ resources */

/** A query parameter; the value is percent-encoded when sent. */
typedef struct pl_param {
  const char *name;
  const char *value;
} pl_param;

/** GET /v1/recordings item (and GET /v1/recordings/{keyOrId}). */
typedef struct pl_api_recording {
  char *id, *path, *key;
  uint64_t size;
  uint64_t message_count;                       /* 0 unless the site sends it */
  uint64_t created_at, imported_at, start, end; /* ns; 0 when absent */
  char *import_status; /* as sent: none, pending, importing, failed, complete, or newer */
  char *site_id, *site_name, *edge_site_id, *edge_site_name;
  char *device_id, *device_name;
  pl_metadata_info *metadata;
  size_t n_metadata;
  char *json; /* the item as received (compact), for --json output */
} pl_api_recording;

/** GET /v1/data/pending-imports item. */
typedef struct pl_api_import {
  char *request_id, *filename, *device_id, *device_name, *key;
  char *status; /* received, processing, ready for indexing, error, complete, or newer */
  char *error, *import_id, *site_id, *org_id, *pipeline_stage;
  uint64_t created_at, updated_at, quarantined_at;
  char *json;
} pl_api_import;

/** GET /v1/recording-attachments item. */
typedef struct pl_api_attachment {
  char *id, *recording_id, *site_id, *name, *media_type, *fingerprint, *lake_path;
  uint64_t log_time, create_time;
  uint32_t crc;
  uint64_t size;
  char *json;
} pl_api_attachment;

/** GET /v1/data/topics item (schema decoded from base64 when included). */
typedef struct pl_api_topic {
  char *topic, *encoding, *schema_name, *schema_encoding, *version;
  uint8_t *schema;
  size_t schema_len;
  int has_schema;
  char *json;
} pl_api_topic;

/** GET /v1/data/coverage item. */
typedef struct pl_api_coverage {
  char *device_id, *device_name, *status, *import_status;
  uint64_t start, end;
  char *json;
} pl_api_coverage;

/** GET /v1/lake-files item. */
typedef struct pl_api_lake_file {
  char *path;
  char **topics;
  size_t n_topics;
  char *json;
} pl_api_lake_file;

/** GET /v1/devices item. */
typedef struct pl_api_device {
  char *id, *name, *org_id;
  char *json;
} pl_api_device;

/** The kinds of list the API has. */
typedef enum pl_api_kind {
  PL_API_RECORDINGS = 0,
  PL_API_PENDING_IMPORTS,
  PL_API_ATTACHMENTS,
  PL_API_TOPICS,
  PL_API_COVERAGE,
  PL_API_LAKE_FILES,
  PL_API_DEVICES
} pl_api_kind;

/** A list of one kind: exactly one of the arrays is set (by `kind`). */
typedef struct pl_api_list {
  pl_api_kind kind;
  size_t n;
  pl_api_recording *recordings;
  pl_api_import *imports;
  pl_api_attachment *attachments;
  pl_api_topic *topics;
  pl_api_coverage *coverage;
  pl_api_lake_file *lake_files;
  pl_api_device *devices;
  size_t pages; /* requests it took */
} pl_api_list;

void pl_api_list_dispose(pl_api_list *l);
void pl_api_recording_free(pl_api_recording *r);
void pl_api_attachment_free(pl_api_attachment *a);
void pl_api_device_free(pl_api_device *d);

/** The list endpoint's path ("/v1/recordings", ...) and whether it pages (limit/offset). */
const char *pl_api_kind_path(pl_api_kind kind, int *pages);

/** "recordings", "attachments", "topics", "coverage", "pending-imports", "lake-files" or
 * "devices" to the kind. @return PL_OK or PL_EINVAL. */
int pl_api_kind_parse(const char *name, pl_api_kind *out);

/** The kind's name as pl_api_kind_parse() takes it (static storage); NULL if invalid. */
const char *pl_api_kind_name(pl_api_kind kind);

/**
 * The filters of a list request, by field; each kind takes its own (the API
 * reference's query parameters). Unset: NULL strings, 0 flags, a negative
 * tolerance (pl_api_query_init()). In messages a filter is named as mcapkit's
 * option for it ("--device-name").
 */
typedef struct pl_api_query {
  const char *device_name, *device_id, *topic, *import_status, *path;
  const char *recording_id;  /* by id */
  const char *recording_key; /* by key; attachments are listed by id only, so the recording
                                is looked up (pl_api_query_params) */
  const char *request_id, *key, *site_id, *filename, *error;
  const char *sort_by, *sort_order, *query;
  int has_start, has_end; /* an inclusive time range (sent as RFC 3339) */
  uint64_t start, end;
  double tolerance; /* coverage gap tolerance in seconds; < 0: not sent */
  int include_schemas, show_completed, show_quarantined, include_edge;
  const char *const *extra; /* any other parameters, "NAME=VALUE" each (not limit/offset) */
  size_t n_extra;
} pl_api_query;

/** Clear a query: no filter at all. */
void pl_api_query_init(pl_api_query *q);

/**
 * Check a query for a kind without sending anything: every filter set must
 * be one the kind takes, --recording-id and --recording-key exclude each
 * other, the start is not after the end, `extra` items are NAME=VALUE.
 * @return PL_OK, or PL_EINVAL with the reason (naming what the kind takes).
 */
int pl_api_query_check(pl_api_kind kind, const pl_api_query *q, pl_error_info *err);

/** The query parameters of a request, owned (pl_api_params_free). */
typedef struct pl_api_params pl_api_params;

/**
 * Make the query parameters of `q` for `kind` (checked as by
 * pl_api_query_check). Lookups over `h` where the API needs them: a
 * --recording-key of attachments is sent as that recording's id, and lake
 * files without --site-id get the site of the recording given.
 * @param h used only for those lookups (may be NULL when none is needed).
 * @param[out] out the parameters; free with pl_api_params_free().
 * @return PL_OK; PL_EINVAL; what pl_api_get_recording() returns for a lookup.
 */
int pl_api_query_params(pl_http *h, pl_api_kind kind, const pl_api_query *q,
                        pl_api_params **out, pl_error_info *err);

/** The parameters as an array for pl_api_list_all(); borrowed, valid until the free. */
const pl_param *pl_api_params_items(const pl_api_params *p, size_t *n);

/** Release parameters; accepts NULL. */
void pl_api_params_free(pl_api_params *p);

/** PL_API_PAGE_LIMIT: the largest page the API serves (and the default). */
#define PL_API_PAGE_LIMIT 2000

/**
 * Fetch a whole list: pages of up to 2000 (limit, offset) until a short
 * page, or until `max_items` (0 = all). Lists that do not page (lake files)
 * take one request. `params` are the API's filters, passed as given (do not
 * pass limit/offset). Items of an unknown shape are an error (PL_EJSON);
 * unknown fields are ignored and unknown enum values kept as strings.
 * @param[out] out filled (dispose with pl_api_list_dispose), also on error.
 */
int pl_api_list_all(pl_http *h, pl_api_kind kind, const pl_param *params, size_t n_params,
                    size_t max_items, pl_api_list *out, pl_error_info *err);

/** GET /v1/recordings/{keyOrId}. PL_ENOTFOUND when there is none. */
int pl_api_get_recording(pl_http *h, const char *key_or_id, pl_api_recording **out,
                         pl_error_info *err);

/** DELETE /v1/recordings/{keyOrId}; *deleted_id (may be NULL) gets the id (malloc'd). */
int pl_api_delete_recording(pl_http *h, const char *key_or_id, char **deleted_id,
                            pl_error_info *err);

/** GET /v1/recording-attachments/{id}. */
int pl_api_get_attachment(pl_http *h, const char *id, pl_api_attachment **out, pl_error_info *err);

/**
 * Download an attachment to `path` (written atomically): GET .../download,
 * then follow its 302 to the signed link without the key, and check the
 * size and CRC against the attachment's record.
 * @return PL_OK, PL_EVERIFY (size or CRC differ; the file is not kept), or as pl_http_api.
 */
int pl_api_download_attachment(pl_http *h, const char *id, const char *path, pl_error_info *err);

/** GET /v1/devices/{nameOrId}. */
int pl_api_get_device(pl_http *h, const char *name_or_id, pl_api_device **out, pl_error_info *err);

/** DELETE /v1/devices/{nameOrId}. */
int pl_api_delete_device(pl_http *h, const char *name_or_id, pl_error_info *err);

/** POST /v1/devices {name}: *out gets the new device's id (malloc'd). */
int pl_api_create_device(pl_http *h, const char *name, char **id, pl_error_info *err);

/* ============================================================ events, custom properties */

/** An event: GET /v1/events item, and what GET/POST/PATCH /v1/events... return. */
typedef struct pl_api_event {
  char *id, *device_id, *device_name; /* device_name NULL when not sent */
  uint64_t start, end, created_at, updated_at; /* ns; 0 when absent */
  pl_kv *metadata; /* string entries, in the order received */
  size_t n_metadata;
  char *json; /* the item as received (compact), for --json output */
} pl_api_event;

/** What an event is created with or changed to: NULL pointers and has_* = 0 are left
 * out of the body. Create needs device_id or device_name, and start. */
typedef struct pl_api_event_fields {
  const char *device_id, *device_name;
  int has_start, has_end;
  uint64_t start, end; /* ns */
  int has_metadata;    /* send `metadata` (replaces it whole on update) */
  const pl_kv *metadata;
  size_t n_metadata;
} pl_api_event_fields;

/**
 * Every event matching `params` (start, end, deviceId, deviceName, query, sortBy, ...),
 * paged like pl_api_list_all (max_items 0 = all).
 * @param[out] out the events (free with pl_api_events_free(*out, *n)), also on error.
 * @return PL_OK or the codes of pl_http_api, PL_EJSON.
 */
int pl_api_list_events(pl_http *h, const pl_param *params, size_t n_params, size_t max_items,
                       pl_api_event **out, size_t *n, pl_error_info *err);
/** GET /v1/events/{id}. *out: free with pl_api_event_free. */
int pl_api_get_event(pl_http *h, const char *id, pl_api_event **out, pl_error_info *err);
/** POST /v1/events (never repeated: a lost reply could mean a second event). *out (may be
 * NULL): the created event, free with pl_api_event_free. */
int pl_api_create_event(pl_http *h, const pl_api_event_fields *f, pl_api_event **out,
                        pl_error_info *err);
/** PATCH /v1/events/{id} with the given fields. *out as for pl_api_create_event. */
int pl_api_update_event(pl_http *h, const char *id, const pl_api_event_fields *f,
                        pl_api_event **out, pl_error_info *err);
/** DELETE /v1/events/{id}. */
int pl_api_delete_event(pl_http *h, const char *id, pl_error_info *err);
void pl_api_event_free(pl_api_event *e);       /* accepts NULL */
void pl_api_events_free(pl_api_event *e, size_t n); /* an array from pl_api_list_events */

/** A custom property definition (GET /v1/custom-properties item). */
typedef struct pl_api_custom_property {
  char *id, *key, *label, *resource_type, *value_type;
  char **values; /* enum values; n_values 0 otherwise */
  size_t n_values;
  char *json;
} pl_api_custom_property;

/** GET /v1/custom-properties (resource_type NULL = all). *out: free with
 * pl_api_custom_properties_free(*out, *n), also on error. */
int pl_api_list_custom_properties(pl_http *h, const char *resource_type,
                                  pl_api_custom_property **out, size_t *n, pl_error_info *err);
/** GET /v1/custom-properties/{id}; *out: free with pl_api_custom_properties_free(*out, 1). */
int pl_api_get_custom_property(pl_http *h, const char *id, pl_api_custom_property **out,
                               pl_error_info *err);
/** POST /v1/custom-properties; values only for value_type "enum". *out (may be NULL) as
 * for pl_api_get_custom_property. */
int pl_api_create_custom_property(pl_http *h, const char *key, const char *label,
                                  const char *resource_type, const char *value_type,
                                  const char *const *values, size_t n_values,
                                  pl_api_custom_property **out, pl_error_info *err);
void pl_api_custom_properties_free(pl_api_custom_property *p, size_t n); /* accepts NULL */

/**
 * POST /v1/data/upload. One of device_id/device_name/key is required by the
 * API. Safe to repeat (retried) when `key` is set.
 * @param[out] link, request_id malloc'd.
 */
int pl_api_upload_link(pl_http *h, const char *filename, const char *device_id,
                       const char *device_name, const char *key, char **link, char **request_id,
                       pl_error_info *err);

/** What to export (POST /v1/data/stream). */
typedef struct pl_api_stream_request {
  const char *recording_id;  /* or */
  const char *recording_key; /* or a device with start and end: */
  const char *device_id, *device_name;
  int has_start, has_end;
  uint64_t start, end;
  const char *const *topics; /* NULL/0 = all */
  size_t n_topics;
  int include_attachments;
} pl_api_stream_request;

/** POST /v1/data/stream; *link (malloc'd) is valid for 15 seconds. */
int pl_api_stream_link(pl_http *h, const pl_api_stream_request *req, char **link,
                       pl_error_info *err);

/* ============================================================ reconcile */

/** One difference between the local file and the remote copy. */
typedef struct pl_diff {
  char *what; /* "recording.start", "attachment 'calib.yaml' (log 1.5 s).crc", "topic '/imu'" ... */
  char *local;  /* the local value ("(missing)" when the local side has none) */
  char *remote; /* the remote value ("(missing)" when the remote side has none) */
} pl_diff;

/* The coverage is compared with the index's own tolerance (ix->tolerance_ns),
 * which is also what the remote is asked to use. */
typedef struct pl_reconcile_options {
  const char *device_name; /* expected device (the upload's); NULL = the file's own, if any */
  const char *device_id;
  int no_lake; /* skip the lake-file check */
} pl_reconcile_options;

typedef struct pl_reconcile_report {
  char *recording_id;
  char *recording_key;
  char *import_status;
  pl_diff *diffs;
  size_t n_diffs;
  /* what was compared */
  size_t n_attachments, n_topics, n_coverage, n_metadata, n_lake_files;
  int lake_checked; /* 0 when the site has no lake files (not self-hosted) or no_lake */
} pl_reconcile_report;

/**
 * Compare a local recording index with the remote recording `key_or_id`:
 * the recording (start, end, size, device, metadata), its attachments (name,
 * media type, log and create time, CRC, size; fingerprints when both sides
 * use the same hash), its topics (topic, encoding, schema name, schema
 * encoding, schema bytes), its coverage (same tolerance) and, on a
 * self-hosted site, its lake files (one per topic).
 * @return PL_OK when the comparison ran (the report lists the differences,
 *         none = equal); PL_ENOTFOUND, or as pl_http_api.
 */
int pl_reconcile(pl_http *h, const pl_recording_index *ix, const char *key_or_id,
                 const pl_reconcile_options *o, pl_reconcile_report **out, pl_error_info *err);
void pl_reconcile_report_free(pl_reconcile_report *r);

/** Free an array of diffs. */
void pl_diffs_free(pl_diff *d, size_t n);

/* =============================================================== upload */

/** What an upload event is about. */
typedef enum pl_upload_event_kind {
  PL_UPLOAD_EV_STATE = 0,    /* a file moved on: `state` says where */
  PL_UPLOAD_EV_PROGRESS = 1, /* bytes of the PUT: done/total */
  PL_UPLOAD_EV_DONE = 2      /* a file is finished: see `result` */
} pl_upload_event_kind;

struct pl_upload_result;

typedef struct pl_upload_event {
  pl_upload_event_kind kind;
  size_t index; /* which file (position in the list) */
  const char *path;
  const char *state;    /* "checking", "uploading", "waiting for import", "reconciling" */
  uint64_t done, total; /* progress */
  const struct pl_upload_result *result;
} pl_upload_event;

/** Events are delivered one at a time (serialised), from worker threads. */
typedef void (*pl_upload_event_fn)(void *user, const pl_upload_event *ev);

typedef struct pl_upload_options {
  const char *device_name; /* sent with the upload; NULL = none (the file's metadata decides) */
  const char *device_id;
  const char *key;         /* only for a single file; NULL = derived from the content hash */
  int force;               /* upload even when the doctor finds errors */
  int strict;              /* refuse files with doctor warnings too (as doctor --strict) */
  int no_wait;             /* return once the file is uploaded */
  int no_reconcile;        /* wait, but do not reconcile */
  double wait_timeout_s;   /* import wait per file; 0 = 600 */
  double poll_initial_s;   /* first poll interval, growing to 5 s; 0 = 0.2 */
  int jobs;                /* files at once; 0 = 4 */
  const char *journal_dir; /* NULL = ".mcapkit" (relative to the working directory) */
  int no_journal;
  double tolerance_s; /* reconcile coverage tolerance; < 0 or 0 = default 14 */
  pl_upload_event_fn on_event;
  void *event_user;
  const volatile int *cancel; /* optional: stop starting files, abort transfers */
} pl_upload_options;

/** Where a file ended. */
typedef enum pl_upload_status {
  PL_UPLOAD_DONE = 0,     /* uploaded (or already there), imported, reconciled clean */
  PL_UPLOAD_SKIPPED = 1,  /* the journal says it is done: nothing was sent */
  PL_UPLOAD_UPLOADED = 2, /* uploaded, not waited for (no_wait) */
  PL_UPLOAD_IMPORTED = 3, /* imported, not reconciled (no_reconcile) */
  PL_UPLOAD_REFUSED = 4,  /* the doctor found errors, or warnings when strict (and no force) */
  PL_UPLOAD_DIFFERS = 5,  /* imported but reconcile found differences */
  PL_UPLOAD_FAILED = 6    /* an error: see rc and err */
} pl_upload_status;

typedef struct pl_upload_result {
  char *path;
  pl_upload_status status;
  int rc; /* PL_OK or the error */
  pl_error_info err;
  char key[600];
  char request_id[128];
  char recording_id[128];
  int already_there;              /* the recording existed: no new upload was made */
  int uploads;                    /* PUTs that went through for this file in this run (0 or 1) */
  pl_reconcile_report *reconcile; /* when reconciled; owned by the result */
  size_t doctor_errors;
  size_t doctor_warnings;
  uint64_t size;
} pl_upload_result;

/** The key derived from a content hash: "mcapkit-" + 32 hex digits (malloc'd into out). */
void pl_upload_default_key(const char content_hash[33], char out[48]);

/**
 * Upload files with `jobs` workers (one pl_http each): pre-flight doctor,
 * key, upload link, streamed PUT, import wait, reconcile; a journal in
 * `journal_dir` records progress so a re-run skips what is done.
 * @param results array of n results filled (dispose with pl_upload_results_free).
 * @return PL_OK when every file ended DONE, SKIPPED, UPLOADED or IMPORTED;
 *         PL_EVERIFY when some were refused or differ; the first error
 *         otherwise (each result says its own).
 */
int pl_upload_files(const char *api_url, const char *api_key, const pl_http_options *http,
                    const char *const *paths, size_t n, const pl_upload_options *o,
                    pl_upload_result **results, pl_error_info *err);
void pl_upload_results_free(pl_upload_result *r, size_t n);

/** Short name of a status ("done", "skipped", ...). */
const char *pl_upload_status_name(pl_upload_status s);

/* =============================================================== export */

typedef struct pl_export_options {
  const char *recording; /* key or id; or a device with start and end: */
  const char *device_name;
  const char *device_id;
  int has_start, has_end;
  uint64_t start, end;
  const char *const *topics; /* NULL/0 = all */
  size_t n_topics;
  int include_attachments;
  const char *out_path;       /* written atomically */
  const char *verify_against; /* optional local file */
  int max_parts;              /* transfers (first + resumes) at most; 0 = 8 */
  pl_progress_fn progress;    /* bytes of the current part */
  void *progress_user;
} pl_export_options;

typedef struct pl_export_result {
  uint64_t bytes; /* size of the result */
  uint64_t messages;
  uint64_t attachments;
  int parts;            /* transfers joined (1 when nothing broke) */
  size_t doctor_errors; /* in the result; non-zero fails the export */
  int verified;         /* verify_against was checked */
  pl_diff *diffs;       /* differences against verify_against */
  size_t n_diffs;
  uint64_t local_messages; /* messages selected in verify_against */
} pl_export_result;

/**
 * Export: POST /v1/data/stream, GET the link at once (no key), stream to
 * disk; when a transfer breaks, request again from the last complete log
 * time and join the parts without duplicates; check the result is complete
 * and doctor-clean; with verify_against, compare per topic with the local
 * file's messages in the same selection.
 * @return PL_OK; PL_EVERIFY (differences, or the result is not clean); or an error.
 */
int pl_export_run(pl_http *h, const pl_export_options *o, pl_export_result *res,
                  pl_error_info *err);
void pl_export_result_dispose(pl_export_result *r);

/**
 * Compare the messages of two MCAP files (per topic: log time, publish time,
 * sequence-independent content digest) within a selection; the diffs say
 * which messages are missing from `got`, extra in it, or changed.
 * @param[out] n_want messages selected in `want` (may be NULL).
 * @return PL_OK (diffs may be empty), or an error reading a file.
 */
int pl_messages_compare(const char *want, const char *got, const char *const *topics,
                        size_t n_topics, int has_start, uint64_t start, int has_end, uint64_t end,
                        pl_diff **diffs, size_t *n_diffs, uint64_t *n_want, pl_error_info *err);

#ifdef __cplusplus
}
#endif

#endif /* PIPELINE_CLIENT_H */
