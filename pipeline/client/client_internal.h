/*
 * client_internal.h - declarations shared by the API client's source files
 * (pl__ prefix): URL building and cancellable waits (http.c, the only libcurl
 * user), the JSON side of the API (api_json.c: json-c trees <-> plain structs,
 * every tree released before returning) and the upload journal's line format.
 * Not installed.
 */
#ifndef PIPELINE_CLIENT_INTERNAL_H
#define PIPELINE_CLIENT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "pipeline/client.h"

/* ------------------------------------------------------------- http.c */

/* Percent-encode everything but RFC 3986 unreserved characters. malloc'd. */
char *pl__url_escape(const char *s);

/* "path?a=1&b=2" with every value escaped; limit/offset appended when
 * `paging` (limit 0 = not sent). malloc'd, NULL on ENOMEM. */
char *pl__build_path(const char *path, const pl_param *params, size_t n, int paging, size_t limit,
                     size_t offset);

/* Sleep `seconds`, waking early when the handle's cancel flag rises.
 * PL_OK or PL_ECANCELED. */
int pl__http_sleep(pl_http *h, double seconds);

/* Whether the handle's cancel flag is raised. */
int pl__http_cancelled(const pl_http *h);

/* A line to the handle's log (if any). */
void pl__http_log(pl_http *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A copy of `url` without its query and fragment (signed links carry their
 * signature there), for messages. */
void pl__url_for_message(const char *url, char *out, size_t n);

/* Monotonic seconds. */
double pl__now_s(void);

/* ---------------------------------------------------------- api_json.c */

/* Parse a complete JSON response (bytes that are not UTF-8 replaced by U+FFFD; nothing
 * after the value): the tree (release it with json_object_put) or NULL with err set,
 * naming `what` and the byte offset. For the other JSON files of the client
 * (api_events.c). */
struct json_object;
struct json_object *pl__api_json_parse(const char *body, size_t len, pl_error_info *err,
                                      const char *what);

/* The "error" text of an API error body, or NULL (malloc'd). */
char *pl__api_error_text(const char *body, size_t len);

/* Parse a page (a JSON array) of `kind` and append its items to `l`
 * (l->kind must be `kind`). *got = items on this page. */
int pl__api_parse_page(pl_api_kind kind, const char *body, size_t len, pl_api_list *l, size_t *got,
                       pl_error_info *err);

int pl__api_parse_recording(const char *body, size_t len, pl_api_recording **out,
                            pl_error_info *err);
int pl__api_parse_attachment(const char *body, size_t len, pl_api_attachment **out,
                             pl_error_info *err);
int pl__api_parse_device(const char *body, size_t len, pl_api_device **out, pl_error_info *err);

/* A string field of a JSON object body ({"link": ...}); *out malloc'd, NULL when absent. */
int pl__api_parse_string_field(const char *body, size_t len, const char *field, char **out,
                               pl_error_info *err);

/* Request bodies (malloc'd JSON text, NULL on ENOMEM). */
char *pl__api_upload_body(const char *filename, const char *device_id, const char *device_name,
                          const char *key);
char *pl__api_stream_body(const pl_api_stream_request *req);
char *pl__api_device_body(const char *name);

/* Parse an API time: RFC 3339 (pl_parse_time) or a bare date "YYYY-MM-DD". 0 or -1. */
int pl__api_time(const char *s, uint64_t *ns);

/* One line of the upload journal (.mcapkit/upload-journal.jsonl). */
struct pl__journal_entry {
  char *api_url;
  char *path; /* absolute */
  uint64_t size;
  int64_t mtime_ns;
  char hash[33];
  char *key;
  char *request_id;
  char *recording_id;
  char *state; /* "uploaded", "imported", "done" */
};
/* The entry as one compact JSON line with a trailing '\n' (malloc'd). */
char *pl__journal_format(const struct pl__journal_entry *e);
/* Parse a line; -1 when it is not a journal entry (a torn last line). */
int pl__journal_parse(const char *line, size_t len, struct pl__journal_entry *e);
void pl__journal_entry_dispose(struct pl__journal_entry *e);

/* Item disposers (api_json.c). */
void pl__api_recording_dispose(pl_api_recording *r);
void pl__api_import_dispose(pl_api_import *m);
void pl__api_attachment_dispose(pl_api_attachment *a);
void pl__api_topic_dispose(pl_api_topic *t);
void pl__api_coverage_dispose(pl_api_coverage *c);
void pl__api_lake_file_dispose(pl_api_lake_file *f);
void pl__api_device_dispose(pl_api_device *d);

/* ---------------------------------------------------------- reconcile.c */

/* Append a diff (copies the strings); 0 or PL_ENOMEM. */
int pl__diff_add(pl_diff **d, size_t *n, size_t *cap, const char *what, const char *local,
                 const char *remote);

#endif /* PIPELINE_CLIENT_INTERNAL_H */
