/*
 * server_internal.h - declarations shared by the server's source files
 * (server*.c; prefix pl__srv_). Not installed.
 *
 * Threads and locking:
 * - libmicrohttpd runs one thread per connection; each request is handled on
 *   its connection's thread (server.c routes it to a server_routes_*.c file).
 * - A pool of import workers (server_import.c, --import-workers) imports
 *   received uploads; they are started in order of arrival, several at once,
 *   and two imports of the same recording key never run at once.
 * - All state (devices, recordings, attachments, imports) lives in struct
 *   srv_store behind one rwlock `lock`: handlers that only read take it
 *   shared; every mutation takes it exclusive and persists the objects it
 *   changed before releasing it, so what is on disk never lags what a client
 *   was told.
 * - Objects are never freed while the lock is held shared by someone else;
 *   handlers copy what they need (or render JSON) under the lock.
 */
#ifndef PIPELINE_SERVER_INTERNAL_H
#define PIPELINE_SERVER_INTERNAL_H

#include <json-c/json.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "pipeline/core.h"
#include "pipeline/site.h"
#include "site_ui.h"


/* ------------------------------------------------------------- constants */

#define SRV_ID_LEN 24           /* ids: prefix + '_' + 16 base62 characters */
#define SRV_MAX_NAME 100        /* device names (API rule) */
#define SRV_MAX_KEY 512         /* recording keys (our rule) */
#define SRV_MAX_FILENAME 1024   /* upload file names, kept as data (our rule) */
#define SRV_PAGE_MAX 2000       /* limit default and maximum */
#define SRV_STREAM_LINK_S 15    /* stream links live 15 s */
#define SRV_DOWNLOAD_LINK_S 900 /* attachment download links: 15 min */
#define SRV_UPLOAD_LINK_S 3600  /* upload links: 1 h */
#define SRV_JSON_DEPTH 32       /* nesting of request bodies */

/* What a client can send (server_head.c; docs/serve.md lists them) */
#define SRV_MAX_URI 16384         /* request target bytes (414) */
#define SRV_MAX_QUERY 8192        /* query bytes (414) */
#define SRV_MAX_PARAMS 64         /* query parameters (414) */
#define SRV_MAX_HEADERS 64        /* header fields (431) */
#define SRV_MAX_HEADER_BYTES 32768 /* bytes of header names and values (431) */
#define SRV_LINGER_MS 1000        /* reading on after an early answer, at most */
#define SRV_MAX_PROPERTIES 100    /* custom properties per device */
#define SRV_MAX_PROPERTY_VALUE 1024 /* bytes of a string property */
#define SRV_MAX_PROPERTY_BYTES 16384 /* bytes of a device's properties (names and values) */
#define SRV_MAX_DEVICES 10000       /* devices of the site */
#define SRV_MAX_EVENTS 100000       /* events of the site (409 beyond) */
#define SRV_MAX_EVENT_KEYS 100      /* metadata entries of one event */
#define SRV_MAX_EVENT_BYTES 16384   /* bytes of one event's metadata (keys and values) */
#define SRV_MAX_CPROPS 1000         /* custom properties of the site */
#define SRV_MAX_CPROP_VALUES 1000   /* allowed values of one enum custom property */
#define SRV_MAX_CPROP_VALUE 256     /* bytes of one allowed value */
#define SRV_MAX_EVQ_TERMS 64        /* qualifiers of one events query */
#define SRV_MAX_WAITING_UPLOADS 1000 /* upload links handed out and not used yet (429) */
#define SRV_MAX_STREAM_LINKS 1000   /* export links alive at once (429) */
#define SRV_MAX_METADATA_BYTES (1u << 20) /* metadata of one recording (names, keys, values) */
#define SRV_MAX_ATTACHMENTS 10000   /* attachments of one recording */
#define SRV_MAX_RANGES 100000       /* coverage ranges of one recording, all topics */
#define SRV_LINGER_BYTES (64u << 20)

/* Sizes an upload declares (server_bounds.c) */
#define SRV_DEFAULT_MAX_MESSAGE (UINT64_C(256) << 20) /* --max-message-size */
#define SRV_CHUNK_SLACK (UINT64_C(64) << 20) /* a chunk: its largest message and this much more */

/* Memory budget (server_budget.c; the accounting is in docs/serve.md, "Memory budget") */
#define SRV_DEFAULT_MEMORY_BUDGET (UINT64_C(1) << 30) /* --memory-budget */
#define SRV_DEFAULT_BUDGET_WAIT_MS 2000u /* an export fetch waits this long, then 503 */
#define SRV_BUDGET_RETRY_S 2u            /* Retry-After of that 503 */
#define SRV_LAKE_CHUNK (UINT64_C(768) << 10) /* lake files' chunk size (lake_writer.c) */
#define SRV_EXPORT_BASE (UINT64_C(4) << 20)  /* an export: pipe, writer, contexts */
#define SRV_IMPORT_BASE (UINT64_C(16) << 20) /* an import: index, contexts, buffers */

/* Imports (server_import.c) */
#define SRV_DEFAULT_IMPORT_WORKERS 2 /* --import-workers */
#define SRV_MAX_IMPORT_WORKERS 64

/* Connections (server_conn.c) */
#define SRV_DEFAULT_CONN_TIMEOUT 30u          /* s: idle keep-alive, body grace */
#define SRV_DEFAULT_HEADER_TIMEOUT 10u        /* s: a request header must be complete */
#define SRV_DEFAULT_MIN_BODY_RATE (64u << 10) /* bytes/s a body averages after the grace */
#define SRV_DEFAULT_MAX_CONNECTIONS 256u
#define SRV_DEFAULT_MAX_CONNECTIONS_PER_IP 64u

/* ------------------------------------------------------------- model */

struct srv_device {
  char *id;
  char *name;
  json_object *properties; /* object; owned */
  uint64_t created, updated; /* ns */
};

struct srv_attachment {
  char *id;
  char *recording_id;
  char *name;
  char *media_type;
  uint64_t log_time, create_time;
  uint32_t crc;
  uint64_t size;
  char fingerprint[33];
  uint64_t offset; /* of the record in the uploaded file */
};

struct srv_lakefile {
  char *path; /* relative to the lake root */
  char **topics;
  size_t n_topics;
};

/* An event (server_store_events.c): a device's time span with string metadata. */
struct srv_event {
  char *id;
  char *device_id;
  uint64_t start, end;       /* ns, inclusive, start <= end */
  json_object *metadata;     /* object of strings; owned */
  uint64_t created, updated; /* ns */
};

/* A custom property definition (server_store_events.c). */
enum srv_cprop_type { CPROP_STRING = 0, CPROP_NUMBER = 1, CPROP_ENUM = 2, CPROP_BOOLEAN = 3 };
struct srv_cprop {
  char *id;
  char *key;           /* ^[A-Za-z0-9_-]{1,32}$, immutable */
  char *label;         /* 1..32 characters */
  char *resource_type; /* "device" */
  int value_type;      /* enum srv_cprop_type */
  json_object *values; /* array of unique strings (enum) or NULL; owned */
  uint64_t created, updated;
};

enum srv_rec_status { REC_IMPORTING = 0, REC_COMPLETE = 1, REC_FAILED = 2 };

struct srv_recording {
  char *id;
  char *path;       /* the upload's file name */
  char *key;        /* NULL when none */
  char *device_id;
  char *request_id; /* the upload that created it */
  uint64_t size;
  uint64_t created, imported; /* imported 0 until complete */
  int status;                 /* enum srv_rec_status */
  char content_hash[33];
  pl_recording_index *index; /* owned */
  uint64_t largest; /* largest chunk (uncompressed) or record a reader of the upload holds;
                       0 = unknown (recordings imported before it was kept) */
  char *lake_dir;            /* relative to the lake root: <deviceId>/<recordingId> */
  struct srv_lakefile *lake;
  size_t n_lake;
  struct srv_attachment *atts;
  size_t n_atts;
};

enum srv_imp_status {
  IMP_AWAITING = 0, /* link handed out, no upload yet (not listed) */
  IMP_RECEIVED = 1,
  IMP_PROCESSING = 2,
  IMP_READY = 3, /* "ready for indexing": writing lake files */
  IMP_ERROR = 4,
  IMP_COMPLETE = 5
};

struct srv_import {
  char *request_id;
  char *filename;
  char *device_id;   /* from the request, or resolved during import */
  char *device_name;
  char *key;         /* from the request (NULL = none) */
  int status;        /* enum srv_imp_status */
  char *stage;       /* pipelineStage */
  char *error;
  uint64_t created, updated, quarantined; /* quarantined 0 = not */
  char *import_id;   /* recording id (reserved while processing) */
  uint64_t size;
  uint64_t link_expires; /* unix seconds of the upload link */
  /* memory only */
  int uploading;     /* a PUT is receiving the body */
};

/** Permission bits taken away from group and others (pl__srv_tighten). */
struct srv_tighten {
  size_t fixed, failed;
};

/* A dynamic array of pointers. */
struct srv_vec {
  void **items;
  size_t n, cap;
};
int pl__srv_vec_push(struct srv_vec *v, void *item);
void pl__srv_vec_remove_at(struct srv_vec *v, size_t i);

struct srv_store {
  pthread_rwlock_t lock;
  char *data_dir;
  char *lake_dir; /* DATA/lake */
  int no_fsync;
  char site_id[SRV_ID_LEN + 1];
  char site_name[64];
  uint8_t secret[32]; /* HMAC key of signed links */
  struct srv_vec devices;    /* struct srv_device * */
  struct srv_vec recordings; /* struct srv_recording * */
  struct srv_vec imports;    /* struct srv_import * */
  struct srv_vec events;     /* struct srv_event *, in order of creation */
  struct srv_vec cprops;     /* struct srv_cprop *, in order of creation */
  struct srv_tighten tightened; /* what opening the store had to make private */
  pl_server *owner; /* the server (for pl__srv_notify_created); NULL when none */
};

/* ------------------------------------------------------------- memory budget */

struct srv_budget_waiter;
struct srv_budget {
  pthread_mutex_t mu;
  pthread_cond_t cv; /* CLOCK_MONOTONIC */
  uint64_t total, used, peak;
  uint64_t refused; /* reservations given up after their wait (503s) */
  struct srv_budget_waiter *waiters; /* in order of arrival */
  int cancel;                        /* stopping: every wait ends without a reservation */
};

void pl__srv_budget_init(struct srv_budget *b, uint64_t total); /* 0 = the default */
void pl__srv_budget_dispose(struct srv_budget *b);
/** Reserve `want` bytes (cut to the whole budget), waiting at most wait_ms (< 0: until it
 * fits or the budget is cancelled) behind earlier waiters. The amount reserved (give it to
 * pl__srv_budget_release), or 0 when the wait ended without it. */
uint64_t pl__srv_budget_reserve(struct srv_budget *b, uint64_t want, int wait_ms);
void pl__srv_budget_release(struct srv_budget *b, uint64_t amount); /* 0 is a no-op */
void pl__srv_budget_cancel(struct srv_budget *b);
void pl__srv_budget_get(struct srv_budget *b, uint64_t *used, uint64_t *peak,
                        uint64_t *refused);

/* ------------------------------------------------------------- keys, limits */

struct srv_key {
  char *token;
  char **caps;
  size_t n_caps;
  int all; /* "*" */
  /* rate limit bucket */
  double tokens;
  uint64_t last_ns;
};

struct srv_auth {
  struct srv_key *keys;
  size_t n_keys;
  double rate; /* per second; 0 = off */
  pthread_mutex_t mu;
  char *created_key; /* printed once */
  char *webhook_secret; /* the keys file's "webhookSecret"; NULL = deliveries unsigned */
};

struct srv_faults {
  double error, reset, throttle, delay, expire;
  unsigned delay_ms;
  uint64_t rng;
  pthread_mutex_t mu;
};

enum srv_fault {
  FAULT_NONE = 0,
  FAULT_ERROR = 1,
  FAULT_RESET = 2,
  FAULT_ERROR_503 = 3,
  FAULT_THROTTLE = 4
};

/* ------------------------------------------------------------- stream links */

struct srv_stream_req {
  char token[SRV_ID_LEN + 1];
  uint64_t expires; /* unix seconds */
  char **dirs;      /* absolute lake recording folders */
  size_t n_dirs;
  char **topics;
  size_t n_topics;
  int has_start, has_end;
  uint64_t start, end;
  int include_attachments;
  int last_per_channel;
  mcap_compression compression;
  char filename[128];
  uint64_t cost;      /* bytes an export fetch reserves from the budget */
  uint64_t reserved;  /* reserved by this copy (released when it is freed) */
  struct srv_budget *budget;
  struct srv_stream_req *next;
};

/* ------------------------------------------------------------- the server */

struct pl_server {
  pl_server_options opt;
  char *listen_host;
  char *public_url_opt;
  char base_url[256];   /* public base for links */
  char local_url[128];  /* http://HOST:PORT */
  uint16_t port;
  struct srv_store store;
  struct srv_auth auth;
  struct srv_faults faults;
  void *mhd; /* struct MHD_Daemon * */
  int started, stopped;

  /* in-flight request counting for graceful stop */
  pthread_mutex_t mu;
  pthread_cond_t cv;
  unsigned inflight;

  /* connections (server_conn.c) */
  pthread_mutex_t conn_mu;
  pthread_cond_t conn_cv;
  struct conn_track *conns;
  pthread_t watchdog;
  int watchdog_running, watchdog_stop;
  uint64_t conn_timed_out; /* dropped for a late header or a slow body */
  uint64_t conn_reaped;    /* dropped to keep slots for clients that authenticate */
  uint64_t conn_refused;   /* beyond the connection limits */

  struct srv_budget budget; /* --memory-budget (server_budget.c) */

  /* stream links */
  pthread_mutex_t stream_mu;
  struct srv_stream_req *streams;

  /* import workers (a pool: --import-workers) */
  pthread_t workers[SRV_MAX_IMPORT_WORKERS];
  int n_workers; /* started */
  pthread_mutex_t imp_mu;
  pthread_cond_t imp_cv;
  struct srv_vec queue; /* char * request ids, owned */
  int imp_busy;         /* imports being imported now */
  uint64_t imp_done;    /* imports ended so far (a generation: waits for a key in use) */
  int imp_stop;         /* stop after the current import */
  int imp_crash;        /* abandon: record nothing more */
  int imp_hold;

  /* requests to signed links, and those of them that carried an API key
   * (pl_server_get_stats; counted before faults and link checks) */
  atomic_uint_least64_t signed_requests;
  atomic_uint_least64_t signed_requests_with_key;

  struct srv_webhooks *webhooks; /* site_webhook.c; NULL without --webhook */
  struct ui_sessions ui; /* sessions of the browser pages (site_ui_session.c) */
  int ui_ready;          /* ui initialised (pl_server_create got that far) */
  /* Call point for webhooks (site_webhook*.c): NULL unless set. Called through
   * pl__srv_notify_created once a device or an event has been created and persisted,
   * with the store lock held exclusive (so notifications come in the order of
   * creation): it must not take the store lock and should only queue. `type` is
   * "device.created" or "event.created"; `resource` is the API JSON of the new object
   * (borrowed: valid during the call only). */
  void (*on_created)(pl_server *s, const char *type, json_object *resource);
};

/* ------------------------------------------------------------- requests */

struct srv_param {
  char *name;
  char *value;
  int used;
};

/** One API request as the routes see it (no libmicrohttpd types). */
struct srv_req {
  pl_server *srv;
  const char *method;
  char **seg; /* decoded path segments after "/v1" */
  size_t n_seg;
  struct srv_param *params;
  size_t n_params;
  json_object *body; /* parsed JSON body or NULL */
  int has_body;
  const struct srv_key *key;
  int fault_expire; /* hand out expired links */
};

enum srv_resp_kind { RESP_BUFFER = 0, RESP_FILE = 1, RESP_STREAM = 2 };

struct srv_resp {
  int status;
  int kind;
  char *body; /* malloc'd */
  size_t len;
  const char *content_type;
  char *location;
  char *disposition; /* Content-Disposition or NULL */
  unsigned retry_after;
  int close; /* send Connection: close */
  int html; /* a browser page (site_ui*.c): the page's security headers are added */
  char *cookies[2]; /* Set-Cookie values (malloc'd) or NULL */
  int fd; /* RESP_FILE */
  uint64_t size;
  struct srv_stream_req *stream; /* RESP_STREAM (owned) */
};

/* ------------------------------------------------------------- utilities (server_util.c) */

uint64_t pl__srv_now_ns(void);
uint64_t pl__srv_now_s(void);
/** Random id "<prefix>_<16 base62 chars>" into out[SRV_ID_LEN + 1]. */
void pl__srv_new_id(const char *prefix, char out[SRV_ID_LEN + 1]);
int pl__srv_random(void *buf, size_t len);
char *pl__srv_strdup(const char *s);
char *pl__srv_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void pl__srv_hex(const uint8_t *in, size_t n, char *out);
/** Log through opt.log; every configured API key token in the line is replaced by
 * "[redacted]" first (pl__srv_log_line too). */
void pl__srv_log(pl_server *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void pl__srv_log_line(pl_server *s, char *line, size_t cap);
/** Make a directory and its parents (with `mode`; the server uses 0700). 0 or -1 (errno). */
int pl__srv_mkdirs(const char *path, unsigned mode);
/** Make `path` (and with `recursive` everything below it) private to its owner:
 * directories u+rwx, no group/other bits; symlinks are left alone. */
void pl__srv_tighten(const char *path, int recursive, struct srv_tighten *t);
/** Remove a directory tree (does not follow symlinks). 0 or -1. */
int pl__srv_rmtree(const char *path);
/** Write a file atomically (tmp + fsync + rename + fsync dir). 0 or -1 (errno). */
int pl__srv_write_atomic(const char *path, const void *data, size_t len, int no_fsync,
                         unsigned mode);
/** Read a whole small file (at most max bytes). NULL on error (errno set). */
char *pl__srv_read_file(const char *path, size_t max, size_t *len);
/** fsync a directory (ignored when no_fsync). */
void pl__srv_sync_dir(const char *dir, int no_fsync);
void pl__srv_time_str(uint64_t ns, char buf[40]);
json_object *pl__srv_json_time(uint64_t ns);
json_object *pl__srv_json_str(const char *s); /* NULL -> JSON null */

/* Name rules: 1 when acceptable. */
int pl__srv_valid_device_name(const char *s);
int pl__srv_valid_key(const char *s);
int pl__srv_valid_filename(const char *s);
int pl__srv_valid_id(const char *s);

/* ------------------------------------------------------------- JSON (server_json.c) */

/** Parse a request body that must be strict RFC 8259 JSON in UTF-8. 0 and *out
 * (owned by the caller), or -1 and a message naming the byte offset in msg. */
int pl__srv_json_parse_strict(const char *text, size_t len, json_object **out, char *msg,
                              size_t cap);

/* ------------------------------------------------------------- responses (server_util.c) */

void pl__srv_resp_error(struct srv_resp *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/** Serialize `obj` (consumed) as the body. */
void pl__srv_resp_json(struct srv_resp *r, int status, json_object *obj);

/* ------------------------------------------------------------- params (server_params.c) */

/** 1 if every query parameter is in the NULL-terminated list, else a 400 and 0. */
int pl__srv_params_allow(struct srv_req *q, struct srv_resp *r, const char *const *names);
/** The value of a parameter or NULL. */
const char *pl__srv_param(struct srv_req *q, const char *name);
/** Parse a time parameter: 1 set, 0 absent, -1 bad (400 set). */
int pl__srv_param_time(struct srv_req *q, struct srv_resp *r, const char *name, uint64_t *ns);
/** Parse a boolean ("true"/"false"): 1 set, 0 absent, -1 bad. */
int pl__srv_param_bool(struct srv_req *q, struct srv_resp *r, const char *name, int *v);
/** Parse a number >= 0 (seconds, may be fractional): 1, 0, -1. */
int pl__srv_param_number(struct srv_req *q, struct srv_resp *r, const char *name, double *v);
/** limit/offset: 0 ok, -1 bad (400 set). */
int pl__srv_param_paging(struct srv_req *q, struct srv_resp *r, size_t *limit, size_t *offset);
/** sortBy among `names` (index into it, -1 = not given) and sortOrder: 0 ok, -1 bad. */
int pl__srv_param_sort(struct srv_req *q, struct srv_resp *r, const char *const *names,
                       int *sort_by, int *desc);
/** deviceId/device.id and deviceName/device.name, the new names winning. */
void pl__srv_param_device(struct srv_req *q, const char **id, const char **name);

/* JSON body helpers: 1 ok (value or absent), -1 wrong type (400 set). */
int pl__srv_body_allow(struct srv_req *q, struct srv_resp *r, const char *const *names);
int pl__srv_body_str(struct srv_req *q, struct srv_resp *r, const char *name, const char **v);
int pl__srv_body_bool(struct srv_req *q, struct srv_resp *r, const char *name, int *v);
int pl__srv_body_time(struct srv_req *q, struct srv_resp *r, const char *name, int *has,
                      uint64_t *ns);

/* ------------------------------------------------------------- store (server_store.c) */

int pl__srv_store_open(struct srv_store *st, const char *data_dir, int no_fsync,
                       pl_error_info *err);
void pl__srv_store_close(struct srv_store *st);

struct srv_device *pl__srv_device_find(struct srv_store *st, const char *name_or_id);
struct srv_device *pl__srv_device_by_id(struct srv_store *st, const char *id);
struct srv_device *pl__srv_device_by_name(struct srv_store *st, const char *name);
/** Create and persist (exclusive lock held). NULL on I/O error (errno). */
struct srv_device *pl__srv_device_create(struct srv_store *st, const char *name,
                                         json_object *properties);
int pl__srv_device_save(struct srv_store *st, const struct srv_device *d);
int pl__srv_device_delete(struct srv_store *st, struct srv_device *d);
json_object *pl__srv_device_json(const struct srv_device *d);

struct srv_recording *pl__srv_rec_find(struct srv_store *st, const char *key_or_id);
struct srv_recording *pl__srv_rec_by_id(struct srv_store *st, const char *id);
struct srv_recording *pl__srv_rec_by_key(struct srv_store *st, const char *key);
int pl__srv_rec_save(struct srv_store *st, const struct srv_recording *rec);
/** Remove state, lake files and attachments; frees rec. */
int pl__srv_rec_delete(struct srv_store *st, struct srv_recording *rec);
void pl__srv_rec_free(struct srv_recording *rec);
/** Drop a recording's lake file and attachment lists (memory only). */
void pl__srv_rec_clear_files(struct srv_recording *rec);
json_object *pl__srv_rec_json(struct srv_store *st, const struct srv_recording *rec);
struct srv_attachment *pl__srv_att_find(struct srv_store *st, const char *id,
                                        struct srv_recording **rec);
json_object *pl__srv_att_json(struct srv_store *st, const struct srv_attachment *a);
/** DATA/attachments/<recId>/<attId> (malloc'd). */
char *pl__srv_att_path(struct srv_store *st, const char *rec_id, const char *att_id);

struct srv_import *pl__srv_imp_find(struct srv_store *st, const char *request_id);
int pl__srv_imp_save(struct srv_store *st, const struct srv_import *imp);
void pl__srv_imp_free(struct srv_import *imp);
json_object *pl__srv_imp_json(struct srv_store *st, const struct srv_import *imp);
const char *pl__srv_imp_status_name(int status);
const char *pl__srv_rec_status_name(int status);
/** DATA/inbox/<requestId>.mcap and the quarantine path (malloc'd). */
char *pl__srv_inbox_path(struct srv_store *st, const char *request_id, const char *suffix);
char *pl__srv_quarantine_path(struct srv_store *st, const char *request_id);

/* Exported helpers of server_store.c for the state kept in other files. */
/** Write `o` (consumed) atomically to `path` with mode 0600. 0 or -1. */
int pl__srv_store_save_json(struct srv_store *st, const char *path, json_object *o);
/** Load every DATA/state/<sub>/<*.json> through `add`. 0 or -1 (the folder unreadable). */
int pl__srv_store_load_dir(struct srv_store *st, const char *sub,
                           int (*add)(struct srv_store *, json_object *));

/* ------------------------------------------------------------- events (server_store_events.c) */

/** Load DATA/state/events and DATA/state/custom-properties (at open). 0 or -1. */
int pl__srv_events_load(struct srv_store *st);
void pl__srv_events_dispose(struct srv_store *st);
struct srv_event *pl__srv_event_by_id(struct srv_store *st, const char *id);
/** Add a new event (exclusive lock held): takes ownership of `e` and persists it;
 * -1 (errno; `e` freed) on I/O error or when the site holds SRV_MAX_EVENTS. */
int pl__srv_event_add(struct srv_store *st, struct srv_event *e);
int pl__srv_event_save(struct srv_store *st, const struct srv_event *e);
/** Remove state and memory; frees e. */
int pl__srv_event_delete(struct srv_store *st, struct srv_event *e);
void pl__srv_event_free(struct srv_event *e);
/** The API JSON (device name looked up now). */
json_object *pl__srv_event_json(struct srv_store *st, const struct srv_event *e);
size_t pl__srv_events_of_device(struct srv_store *st, const char *device_id);

struct srv_cprop *pl__srv_cprop_by_id(struct srv_store *st, const char *id);
struct srv_cprop *pl__srv_cprop_by_key(struct srv_store *st, const char *resource_type,
                                       const char *key);
int pl__srv_cprop_add(struct srv_store *st, struct srv_cprop *p); /* as pl__srv_event_add */
int pl__srv_cprop_save(struct srv_store *st, const struct srv_cprop *p);
void pl__srv_cprop_free(struct srv_cprop *p);
json_object *pl__srv_cprop_json(const struct srv_cprop *p);
const char *pl__srv_cprop_type_name(int type);
/** 1 if `key` matches ^[A-Za-z0-9_-]{1,32}$ (custom property keys). */
int pl__srv_valid_cprop_key(const char *key);
/** Check device properties (an object; null values unset) against the site's device
 * custom properties (any lock held): keys follow the key pattern; once the site defines
 * any device custom property, every key must be one and values must have its type
 * (enum: one of its values). 0, or -1 with msg naming the key. */
int pl__srv_cprop_check_device(struct srv_store *st, json_object *props, char *msg, size_t cap);

/** Tell the webhook call point (pl_server.on_created) about a new resource. */
void pl__srv_notify_created(pl_server *s, const char *type, json_object *resource);

/* ------------------------------------------------------------- events query (server_events_query.c) */

enum srv_evq_kind { EVQ_TEXT = 0, EVQ_FIELD = 1 };
/* One qualifier: "text" (EVQ_TEXT: any key or value contains it), or "key:v1,v2",
 * "key:*", "*:v1,v2", "*:*" (EVQ_FIELD; any_key / any_value for the stars). */
struct srv_evq_term {
  int kind;
  int any_key, any_value;
  char *key;     /* EVQ_FIELD without any_key; the text of EVQ_TEXT */
  char **values; /* EVQ_FIELD without any_value */
  size_t n_values;
};
struct srv_evq {
  struct srv_evq_term *terms; /* all must match (AND) */
  size_t n;
};
/** Parse an events query (`key:value`, `key:v1,v2`, `key:*`, `*:value`, free text;
 * double quotes around any part keep spaces, commas, colons and stars literal, with
 * \" and \\ inside). 0 and *out (release with pl__srv_evq_dispose), or -1 with msg
 * naming the byte offset (nothing to release). */
int pl__srv_evq_parse(const char *text, size_t len, struct srv_evq *out, char *msg, size_t cap);
/** 1 if `metadata` (an object of strings) matches every qualifier. */
int pl__srv_evq_match(const struct srv_evq *q, json_object *metadata);
void pl__srv_evq_dispose(struct srv_evq *q);

/* ------------------------------------------------------------- auth (server_auth.c) */

int pl__srv_auth_init(struct srv_auth *a, const char *keys_path, const char *data_dir,
                      double rate, pl_error_info *err);
void pl__srv_auth_dispose(struct srv_auth *a);
const struct srv_key *pl__srv_auth_lookup(struct srv_auth *a, const char *authorization);
/** 1 if `text` contains a configured API key token (a non-empty one). The keys
 * never change after pl__srv_auth_init, so no lock is needed. */
int pl__srv_auth_contains_token(const struct srv_auth *a, const char *text);
/** Replace every configured token in the NUL-terminated `line` by "[redacted]"
 * (as far as `cap` bytes allow; a token is never left partly visible). */
void pl__srv_auth_redact(const struct srv_auth *a, char *line, size_t cap);
int pl__srv_auth_has(const struct srv_key *k, const char *cap);
/** 0 = allowed; otherwise the seconds to wait (for Retry-After). */
unsigned pl__srv_rate_take(struct srv_auth *a, const struct srv_key *k);

/* ------------------------------------------------------------- faults (server_faults.c) */

int pl__srv_faults_parse(struct srv_faults *f, const char *spec, uint64_t seed, char *msg,
                         size_t msg_len);
void pl__srv_faults_dispose(struct srv_faults *f);
/** Roll the dice for one request: the fault, the delay (ms) and expired links. */
int pl__srv_faults_roll(struct srv_faults *f, unsigned *delay_ms, int *expire);

/* ------------------------------------------------------------- signed links (server_signed.c) */

/** "<base>/signed/<kind>/<id>?expires=E&sig=S" (malloc'd). */
char *pl__srv_sign_link(pl_server *s, const char *method, const char *kind, const char *id,
                        uint64_t expires);
/** Check a signed request: 0 ok, else the status to answer (403: forged, malformed, expired). */
int pl__srv_verify_link(pl_server *s, const char *method, const char *kind, const char *id,
                        const char *expires, const char *sig, char *msg, size_t msg_len);

/* ------------------------------------------------------------- imports (server_import.c) */

int pl__srv_import_start(pl_server *s, pl_error_info *err);
void pl__srv_import_stop(pl_server *s, int crash);
/** Queue a received upload (takes the lock of the queue only). */
void pl__srv_import_enqueue(pl_server *s, const char *request_id);

/* ------------------------------------------------------------- routes (server_routes_*.c) */

void pl__srv_route_devices(struct srv_req *q, struct srv_resp *r);
void pl__srv_route_upload(struct srv_req *q, struct srv_resp *r);
void pl__srv_route_pending(struct srv_req *q, struct srv_resp *r);
void pl__srv_route_recordings(struct srv_req *q, struct srv_resp *r);
void pl__srv_route_attachments(struct srv_req *q, struct srv_resp *r);
void pl__srv_route_topics(struct srv_req *q, struct srv_resp *r);
void pl__srv_route_coverage(struct srv_req *q, struct srv_resp *r);
void pl__srv_route_lake_files(struct srv_req *q, struct srv_resp *r);
void pl__srv_route_stream(struct srv_req *q, struct srv_resp *r);
void pl__srv_route_events(struct srv_req *q, struct srv_resp *r);
void pl__srv_route_custom_properties(struct srv_req *q, struct srv_resp *r);
/** /v1/_test/... (server_test_hooks.c); routed only when opt.test_hooks is set. */
void pl__srv_route_test(struct srv_req *q, struct srv_resp *r);

/** GET of a signed stream link: sets up a RESP_STREAM (or an error). */
void pl__srv_stream_open(pl_server *s, const char *token, struct srv_resp *r);
/** GET of a signed attachment link: RESP_FILE. */
void pl__srv_attachment_open(pl_server *s, const char *att_id, struct srv_resp *r);
void pl__srv_stream_req_free(struct srv_stream_req *sr);
/** Drop expired stream links. */
void pl__srv_stream_gc(pl_server *s);

/* Producer for RESP_STREAM (server_routes_stream.c): starts a thread writing the
 * export into a pipe; returns the read end or -1. */
int pl__srv_stream_start(pl_server *s, struct srv_stream_req *sr, void **handle);
/* Join the producer; 0 when the export succeeded. Accepts NULL (returns -1). */
int pl__srv_stream_finish(void *handle);

/* ------------------------------------------------------------- browser pages (site_ui*.c) */

/** One request for the browser pages (/ and /ui/...), as server.c hands it over. */
struct srv_ui_req {
  pl_server *srv;
  const char *method;
  const char *url;        /* the path, "/ui/..." (not decoded) */
  struct srv_req *q;      /* decoded path segments after "/ui" and query parameters */
  const char *session;    /* the session cookie's value, or NULL */
  const char *login;      /* the login form's nonce cookie, or NULL */
  const char *origin;     /* the Origin header, or NULL */
  const char *host;       /* the Host header, or NULL */
  const char *content_type;
  const char *body;       /* a form body (POST), NUL-terminated, or NULL */
  size_t body_len;
};

/** 1 when `url` is one of the browser pages' paths ("/", "/ui", "/ui/..."). */
int pl__srv_ui_path(const char *url);
/** Answer a browser request (always sets r). */
void pl__srv_ui_handle(const struct srv_ui_req *u, struct srv_resp *r);

/* ------------------------------------------------------------- sizes (server_bounds.c) */

/** Check the sizes the MCAP file at `path` declares without decompressing anything whole:
 * 0 when every message is at most max_message bytes and every chunk at most max_message +
 * SRV_CHUNK_SLACK uncompressed (data section and chunk index); 1 with msg naming the first
 * message (topic, offset) or chunk beyond them; -1 with msg when the file cannot be read.
 * *largest: the largest chunk (uncompressed) or other record (attachments aside) met, what
 * a reader of the file holds at once per chunk. */
int pl__srv_check_sizes(const char *path, uint64_t max_message, char *msg, size_t cap,
                        uint64_t *largest);

/* ------------------------------------------------------------- connections (server_conn.c) */

struct conn_track;
unsigned pl__srv_max_connections(const pl_server *s);
unsigned pl__srv_max_connections_per_ip(const pl_server *s);
/* connection_timeout_s, or its default: keep-alive and libmicrohttpd's inactivity timeout */
unsigned pl__srv_conn_timeout(const pl_server *s);
/** Track a new connection (fd, IPv4 address in network order); NULL when out of memory
 * (the connection then goes untracked). Drops idle unauthenticated ones to keep room. */
struct conn_track *pl__srv_conn_open(pl_server *s, int fd, uint32_t ip);
void pl__srv_conn_close(pl_server *s, struct conn_track *t); /* accepts NULL */
/* State changes of a connection's current request; all accept NULL. */
void pl__srv_conn_head_done(pl_server *s, struct conn_track *t); /* header in: body phase */
void pl__srv_conn_body(pl_server *s, struct conn_track *t, uint64_t n); /* body bytes */
void pl__srv_conn_busy(pl_server *s, struct conn_track *t);  /* handled / answering */
void pl__srv_conn_idle(pl_server *s, struct conn_track *t);  /* done: waiting for a header */
void pl__srv_conn_authed(pl_server *s, struct conn_track *t); /* authenticated request */
/* The request line was read; early: the status it was answered with from that line. */
void pl__srv_conn_line(pl_server *s, struct conn_track *t, int early);
/** The status of an answer from the request line, once (0: none). */
int pl__srv_conn_early(pl_server *s, struct conn_track *t);
/** The watchdog thread that enforces the deadlines. 0 or -1. */
int pl__srv_conn_start(pl_server *s);
void pl__srv_conn_stop(pl_server *s);

/* ------------------------------------------------------------- strict HTTP (server_head.c) */

struct MHD_Connection;
/** Limits on the request target; 0 or the status to answer (414) with msg. */
int pl__srv_check_target(const char *uri, char *msg, size_t cap);
/** Write a complete error response straight to a socket and end its sending side; then
 * read and drop what the client still sends, for at most linger_ms (so that closing
 * does not reset the connection before the client has read the answer). */
void pl__srv_send_raw_error(int fd, int status, const char *reason, const char *json_body,
                            unsigned linger_ms);
/** Checks of the header fields; 0 or the status to answer (400/431) with msg. */
int pl__srv_check_head(struct MHD_Connection *c, const char *method, const char *version,
                       char *msg, size_t cap);

/* ------------------------------------------------------------- webhooks (site_webhook*.c) */

struct srv_webhooks;
/** Parse opt.webhooks and load the queue of DATA/webhooks (pl_server_create, after the
 * store and the keys); s->webhooks stays NULL without webhooks. PL_OK, PL_EINVAL (a bad
 * spec), PL_EIO, PL_ENOMEM. */
int pl__site_webhooks_create(pl_server *s, pl_error_info *err);
/** Load libcurl, queue the pings (opt.webhook_ping), start one worker per webhook. */
int pl__site_webhooks_start(pl_server *s, pl_error_info *err);
/** Stop the workers (a delivery being sent is cut off and stays queued). Safe twice. */
void pl__site_webhooks_stop(pl_server *s);
void pl__site_webhooks_free(pl_server *s);
/**
 * Queue the event `type` ("recording.created", "recording.imported", "device.created",
 * "event.created") with `data`, the object the reference shows under the body's
 * "recording", "device" or "event" key (consumed; NULL is ignored), for every webhook that
 * wants it: on disk (fsync'ed) before it returns. Deliveries whose data has the "id" of a
 * recording go in order per recording. Any thread; the store's lock may be held (never
 * the reverse order). A no-op without webhooks.
 */
void pl__site_webhook_emit(pl_server *s, const char *type, json_object *data);
/** The "recording" object of recording.created/imported (store lock held; caller owns). */
json_object *pl__site_webhook_recording(pl_server *s, const struct srv_recording *rec);

/* ------------------------------------------------------------- list helpers */

/** Sort `items` (n pointers) with cmp and a direction. */
void pl__srv_sort(void **items, size_t n, int (*cmp)(const void *, const void *, void *),
                  void *ctx, int desc);
int pl__srv_cmp_str(const char *a, const char *b);
int pl__srv_cmp_u64(uint64_t a, uint64_t b);

#endif /* PIPELINE_SERVER_INTERNAL_H */
