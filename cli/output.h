/*
 * output.h - how mcapkit talks: diagnostics on stderr ("mcapkit CMD: ..."),
 * aligned text tables and JSON documents on stdout, time and size
 * formatting, and a progress line shown only when stderr is a terminal.
 *
 * JSON contract (every command's --json output):
 * - a top-level "format_version" (currently 1); keys are lower_snake and
 *   stable; new keys may be added, existing ones are never renamed;
 * - counts and byte sizes are JSON numbers;
 * - nanosecond timestamps and durations are decimal strings in keys ending in
 *   "_ns" (they exceed 2^53, where JavaScript numbers lose precision, as the
 *   MCAP conformance JSON does); a readable form sits beside them in the key
 *   without the suffix (RFC 3339 UTC for Unix times);
 * - summaries are one (pretty-printed) document; streams are NDJSON.
 */
#ifndef CLI_OUTPUT_H
#define CLI_OUTPUT_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cmd.h"
#include "mcap/mcap.h"

/* ---- diagnostics */

/** "mcapkit CMD: <message>" (or "mcapkit: <message>" outside a command) on stderr. */
void cli_error(const cli_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/** cli_error() of "'PATH': <msg>", or of msg alone when it names the file already. */
void cli_file_error(const cli_ctx *ctx, const char *path, const char *msg);

/**
 * The text for a failure to open `path` (a source or sink): the library's
 * message when it already names the file, else "cannot open 'PATH': <why>".
 * @return buf
 */
const char *cli_open_error(char *buf, size_t n, const char *path, const mcap_error_info *err,
                           int code);

/**
 * Say what of `path` could not be read, in one line on stderr ("'f': incomplete:
 * stopped at offset X, N bytes not read: why"; skipped chunks with their bytes
 * and messages), and mark the run incomplete so that main() exits 3 instead of 0.
 * When `d` says the input was not even an MCAP file (or an I/O error), prints
 * "'f': why" instead and returns CLI_EXIT_FAILURE. Nothing when d->problems is 0.
 * @return CLI_EXIT_OK (nothing lost), CLI_EXIT_PROBLEMS or CLI_EXIT_FAILURE.
 */
int cli_report_damage(const cli_ctx *ctx, const char *path, const mcap_damage *d);

/** Mark the run incomplete (main() exits 3 instead of 0), for losses reported otherwise. */
void cli_mark_incomplete(const cli_ctx *ctx);

/** `one` when n is 1, else `many`: "1 chunk", "2 chunks". */
const char *cli_plural(uint64_t n, const char *one, const char *many);

/** "N one" or "N many" into buf ("1 message", "2 messages"); returns buf. */
const char *cli_count(char *buf, size_t size, uint64_t n, const char *one, const char *many);

/** cli_count into a fresh compound literal, for printf arguments. */
#define CLI_COUNT(n, one, many) cli_count((char[48]){0}, 48, (n), (one), (many))

/** Like cli_error, only when -v was given. */
void cli_verbose(const cli_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- formatting; each returns buf */

/** Big enough for every cli_fmt_* result. */
#define CLI_FMT_SIZE 64

/**
 * A timestamp in ns: RFC 3339 UTC with nine fraction digits
 * ("2026-01-01T00:00:00.000000000Z") when it looks like a Unix time (between
 * 1990 and 2200), else seconds with nine fraction digits ("12.500000000").
 */
const char *cli_fmt_time(char *buf, size_t n, uint64_t ns);

/** A duration in ns as seconds: "1.999002148 s". */
const char *cli_fmt_duration(char *buf, size_t n, uint64_t ns);

/** A byte count: "512 B", "1.5 KiB", "200.0 MiB", "3.21 GiB". */
const char *cli_fmt_bytes(char *buf, size_t n, uint64_t bytes);

/* ---- aligned text tables */

typedef struct cli_table {
  size_t ncols;
  const char *align; /* per column: 'l' or 'r'; shorter strings mean 'l' */
  char **cells;      /* row-major */
  size_t ncells;
  size_t cap;
  int oom;
} cli_table;

/** Start a table; the first row added is usually the header. */
void cli_table_init(cli_table *t, size_t ncols, const char *align);

/** Append one cell (rows fill left to right, then wrap). */
void cli_table_add(cli_table *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/** Print with columns padded to their widest cell, each line prefixed by `indent`. */
void cli_table_print(const cli_table *t, FILE *f, const char *indent);

void cli_table_dispose(cli_table *t);

/* ---- JSON (json-c) */

/** A new object with "format_version": 1. */
json_object *cli_json_document(void);

/** Shorthands for json_object_object_add(obj, key, json_object_new_*(v)). */
void cli_json_add_str(json_object *obj, const char *key, const char *s);
void cli_json_add_strn(json_object *obj, const char *key, const char *s, size_t len);
void cli_json_add_u64(json_object *obj, const char *key, uint64_t v);
void cli_json_add_int(json_object *obj, const char *key, int64_t v);
void cli_json_add_bool(json_object *obj, const char *key, int v);
/** A double printed with `decimals` fraction digits (no binary noise). */
void cli_json_add_double(json_object *obj, const char *key, double v, int decimals);
/**
 * Adds "complete" (bool) and, when an input could not be read whole, "damage":
 * {"problems", "first_offset", "stop_offset" (or null), "bytes_skipped",
 * "chunks_skipped", "messages_skipped", "message"}.
 */
void cli_json_add_damage(json_object *obj, const mcap_damage *d);

/** Adds "<key>_ns" (decimal string) and "<key>" (cli_fmt_time) for a timestamp. */
void cli_json_add_time(json_object *obj, const char *key, uint64_t ns);

/**
 * Print a document (pretty) followed by a newline to `f`, then release it.
 * @return 0, or -1 if it could not be serialised or written.
 */
int cli_json_print(FILE *f, json_object *doc);

/** Print one NDJSON line (compact) and release the object. @return 0 or -1. */
int cli_json_print_line(FILE *f, json_object *obj);

/* ---- progress (stderr, terminals only) */

typedef struct cli_progress {
  int enabled;
  double last; /* monotonic seconds of the last update */
  int shown;
} cli_progress;

/** Enabled only when stderr is a terminal. */
void cli_progress_init(cli_progress *p, const cli_ctx *ctx);

/** Replace the progress line (at most ten times a second). */
void cli_progress_update(cli_progress *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/** Erase the progress line. */
void cli_progress_done(cli_progress *p);

/* ---- API resources (remote): tables of the API's lists, their JSON as received */

struct pl_api_list;

/** `s`, or "-" when it is NULL or empty. */
const char *cli_or_dash(const char *s);

/** Text from a server for the terminal: control characters shown as '?'. */
void cli_put_text(const char *s);

/** A list of the API's resources as a text table on stdout (columns by kind). */
void cli_print_api_list(const struct pl_api_list *l);

/** {"format_version", "kind", "count", "pages", "items": [as received]} on stdout. @return 0 or -1. */
int cli_print_api_list_json(const char *kind, const struct pl_api_list *l);

/** {"format_version", KIND: the item as received} on stdout. @return 0 or -1. */
int cli_print_api_item_json(const char *kind, const char *json);

/* ---- the upload agent's status (agent status) */

struct pl_agent_entry;
struct pl_agent_counts;

/** Add one recording of an agent's state folder to the JSON array `arr`. */
void cli_agent_entry_json(json_object *arr, const struct pl_agent_entry *e);

/** Add "counts": {verified, deleted, failed, ...} to `doc`. */
void cli_agent_counts_json(json_object *doc, const struct pl_agent_counts *c);

struct pl_agent_event;

/** One event of the agent's log as a JSON line on `f` (agent --json); `now` is its time. */
void cli_agent_event_json(FILE *f, uint64_t now, const struct pl_agent_event *ev);

/** The DETAIL column of 'agent status' for a recording (bytes and rate, retry, reason). */
void cli_agent_entry_detail(const struct pl_agent_entry *e, uint64_t now, char *buf, size_t n);

#endif /* CLI_OUTPUT_H */
