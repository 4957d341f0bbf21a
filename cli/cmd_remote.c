/*
 * cmd_remote.c - 'mcapkit remote KIND [ACTION] [ARG] [filters]': the API's
 * resources from the command line. KIND is recordings, attachments, topics,
 * coverage, pending-imports, lake-files or devices; ACTION is list (the
 * default), get, delete, download (attachments) or create (devices). Lists
 * fetch every page (pages of 2000 until a short page; --limit stops early)
 * and print a table, or with --json one document holding the API's items as
 * received.
 *
 * Also here: the API configuration every network command shares
 * (cli_api_open, declared in cmd.h): --api-url or MCAPKIT_API_URL (default
 * https://api.foxglove.dev), the key from --api-key-file (refused when group
 * or others may read it) or FOXGLOVE_API_KEY. The key is never printed; with
 * -v retries and redirects are logged (without it). SIGINT/SIGTERM raise a
 * flag that stops transfers and waits cleanly.
 */
#include <errno.h>
#include <json-c/json.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cmd.h"
#include "output.h"
#include "pipeline/client.h"
#include "timeparse.h"

#define DEFAULT_API_URL "https://api.foxglove.dev"

/* ------------------------------------------------------------- shared */

static volatile int interrupted;

static void on_signal(int sig) {
  (void)sig;
  interrupted = 1;
}

const volatile int *cli_api_cancel_flag(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  return &interrupted;
}

static void log_line(void *user, const char *line) {
  const cli_ctx *ctx = user;
  cli_verbose(ctx, "%s", line);
}

void cli_api_http_options(const cli_ctx *ctx, pl_http_options *o) {
  memset(o, 0, sizeof *o);
  o->log = log_line;
  o->log_user = (void *)ctx;
  o->cancel = cli_api_cancel_flag();
  /* for tests and slow links: MCAPKIT_HTTP_BACKOFF (first backoff in seconds) */
  const char *b = getenv("MCAPKIT_HTTP_BACKOFF");
  if (b && *b) {
    char *end = NULL;
    double v = strtod(b, &end);
    if (end && !*end && v > 0 && v < 60) o->backoff_initial_s = v;
  }
}

const char *cli_api_url(const char *opt) {
  if (opt && *opt) return opt;
  const char *env = getenv("MCAPKIT_API_URL");
  return env && *env ? env : DEFAULT_API_URL;
}

int cli_api_key(const cli_ctx *ctx, const char *key_file, char **key) {
  *key = NULL;
  if (key_file) {
    FILE *f = fopen(key_file, "r");
    if (!f) {
      cli_error(ctx, "cannot open the API key file '%s': %s", key_file, strerror(errno));
      return CLI_EXIT_FAILURE;
    }
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0) {
      cli_error(ctx, "cannot stat '%s': %s", key_file, strerror(errno));
      fclose(f);
      return CLI_EXIT_FAILURE;
    }
    if (sb.st_mode & (S_IRGRP | S_IROTH)) {
      cli_error(ctx,
                "the API key file '%s' is readable by others (mode %04o); "
                "restrict it with 'chmod 600 %s'",
                key_file, (unsigned)(sb.st_mode & 07777), key_file);
      fclose(f);
      return CLI_EXIT_FAILURE;
    }
    char buf[4096];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    size_t s = 0;
    while (buf[s] == ' ' || buf[s] == '\t' || buf[s] == '\n' || buf[s] == '\r') s++;
    size_t e = s;
    while (buf[e] && buf[e] != '\n' && buf[e] != '\r') e++;
    while (e > s && (buf[e - 1] == ' ' || buf[e - 1] == '\t')) e--;
    if (e == s) {
      cli_error(ctx, "the API key file '%s' is empty", key_file);
      return CLI_EXIT_FAILURE;
    }
    buf[e] = 0;
    *key = strdup(buf + s);
    memset(buf, 0, sizeof buf);
  } else {
    const char *env = getenv("FOXGLOVE_API_KEY");
    if (!env || !*env) {
      cli_error(ctx, "no API key: set FOXGLOVE_API_KEY or give '--api-key-file FILE'");
      return CLI_EXIT_FAILURE;
    }
    *key = strdup(env);
  }
  if (!*key) {
    cli_error(ctx, "out of memory");
    return CLI_EXIT_FAILURE;
  }
  return CLI_EXIT_OK;
}

void cli_api_key_free(char *key) {
  if (!key) return;
  volatile char *p = key;
  while (*p) *p++ = 0;
  free(key);
}

int cli_api_open(const cli_ctx *ctx, const char *api_url, const char *key_file, pl_http **out) {
  *out = NULL;
  char *key = NULL;
  int rc = cli_api_key(ctx, key_file, &key);
  if (rc != CLI_EXIT_OK) return rc;
  pl_http_options o;
  cli_api_http_options(ctx, &o);
  pl_error_info err;
  int prc = pl_http_new(out, cli_api_url(api_url), key, &o, &err);
  cli_api_key_free(key);
  if (prc != PL_OK) {
    cli_error(ctx, "%s", err.msg);
    return prc == PL_EINVAL ? CLI_EXIT_USAGE : CLI_EXIT_FAILURE;
  }
  return CLI_EXIT_OK;
}

int cli_api_exit_code(int pl_rc) {
  return pl_rc == PL_OK ? CLI_EXIT_OK : pl_rc == PL_EVERIFY ? CLI_EXIT_PROBLEMS : CLI_EXIT_FAILURE;
}

/* ------------------------------------------------------------- remote */

struct remote_args {
  const char *api_url;
  const char *api_key_file;
  int json;
  uint64_t limit;
  const char *out;
  const char *device_name, *device_id, *start, *end, *topic, *import_status, *path;
  const char *recording_id, *recording_key, *request_id, *key, *site_id, *filename, *error;
  const char *sort_by, *sort_order, *query;
  double tolerance;
  int include_schemas, show_completed, show_quarantined, include_edge;
  cli_strlist params;
};

#define RA(f) offsetof(struct remote_args, f)

static const cli_opt remote_opts[] = {
    {"api-url", 0, CLI_OPT_STRING, RA(api_url), "URL",
     "the API (default $MCAPKIT_API_URL, else https://api.foxglove.dev)"},
    {"api-key-file", 0, CLI_OPT_STRING, RA(api_key_file), "FILE",
     "read the API key from FILE (mode 600) instead of $FOXGLOVE_API_KEY"},
    {"json", 0, CLI_OPT_FLAG, RA(json), NULL, "print the API's items as one JSON document"},
    {"limit", 'n', CLI_OPT_U64, RA(limit), "N", "stop after N items (default: all pages)"},
    {"output", 'o', CLI_OPT_STRING, RA(out), "OUT", "where 'attachments download' writes"},
    {"device-name", 0, CLI_OPT_STRING, RA(device_name), "NAME", "filter: deviceName"},
    {"device-id", 0, CLI_OPT_STRING, RA(device_id), "ID", "filter: deviceId"},
    {"start", 0, CLI_OPT_STRING, RA(start), "T", "filter: start (RFC 3339, a number with a unit such as 12.5s, or ns)"},
    {"end", 0, CLI_OPT_STRING, RA(end), "T", "filter: end"},
    {"topic", 0, CLI_OPT_STRING, RA(topic), "TOPIC", "filter: topic"},
    {"import-status", 0, CLI_OPT_STRING, RA(import_status),
     "none|pending|importing|failed|complete", "filter: importStatus (recordings)"},
    {"path", 0, CLI_OPT_STRING, RA(path), "PATH", "filter: path (recordings)"},
    {"recording-id", 0, CLI_OPT_STRING, RA(recording_id), "ID", "filter: recordingId"},
    {"recording-key", 0, CLI_OPT_STRING, RA(recording_key), "KEY", "filter: recordingKey"},
    {"request-id", 0, CLI_OPT_STRING, RA(request_id), "ID", "filter: requestId (pending imports)"},
    {"key", 0, CLI_OPT_STRING, RA(key), "KEY", "filter: key (pending imports)"},
    {"site-id", 0, CLI_OPT_STRING, RA(site_id), "ID",
     "filter: siteId (lake-files; default: the recording's site)"},
    {"filename", 0, CLI_OPT_STRING, RA(filename), "NAME", "filter: filename (pending imports)"},
    {"error", 0, CLI_OPT_STRING, RA(error), "TEXT", "filter: error (pending imports)"},
    {"tolerance", 0, CLI_OPT_DOUBLE, RA(tolerance), "SECONDS", "coverage gap tolerance"},
    {"include-schemas", 0, CLI_OPT_FLAG, RA(include_schemas), NULL, "topics: with schemas"},
    {"show-completed", 0, CLI_OPT_FLAG, RA(show_completed), NULL, "pending imports: completed too"},
    {"show-quarantined", 0, CLI_OPT_FLAG, RA(show_quarantined), NULL,
     "pending imports: quarantined too"},
    {"include-edge", 0, CLI_OPT_FLAG, RA(include_edge), NULL, "coverage: edge recordings too"},
    {"sort-by", 0, CLI_OPT_STRING, RA(sort_by), "FIELD", "sortBy"},
    {"sort-order", 0, CLI_OPT_STRING, RA(sort_order), "asc|desc", "sortOrder"},
    {"query", 0, CLI_OPT_STRING, RA(query), "QUERY", "devices: custom property query"},
    {"param", 0, CLI_OPT_LIST, RA(params), "NAME=VALUE", "any other query parameter (repeatable)"},
    {NULL, 0, CLI_OPT_FLAG, 0, NULL, NULL},
};

const cli_spec cmd_remote_spec = {
    "remote",
    "recordings|attachments|topics|coverage|pending-imports|lake-files|devices "
    "[list|get|delete|download|create] [ID] [filters]",
    "Lists fetch every page (2000 items per request until a short page); --limit stops early.\n"
    "Actions: recordings get|delete KEY|ID; attachments get ID, attachments download ID -o F\n"
    "(follows the signed link without the API key and checks size and CRC); devices get|delete\n"
    "NAME|ID, devices create NAME. Filters map onto the API's query parameters, each kind taking\n"
    "its own (a filter the kind does not take is a usage error); --param adds any other.\n"
    "--recording-key on attachments is looked up as a recording and sent as its recordingId.\n"
    "The API key comes from --api-key-file or $FOXGLOVE_API_KEY and is never printed.",
    remote_opts,
    1,
    3,
    CLI_ARGS_WORDS,
    "recordings attachments topics coverage pending-imports lake-files devices",
};

static const struct {
  const char *name;
  pl_api_kind kind;
} k_kinds[] = {
    {"recordings", PL_API_RECORDINGS},
    {"attachments", PL_API_ATTACHMENTS},
    {"topics", PL_API_TOPICS},
    {"coverage", PL_API_COVERAGE},
    {"pending-imports", PL_API_PENDING_IMPORTS},
    {"lake-files", PL_API_LAKE_FILES},
    {"devices", PL_API_DEVICES},
};

/*
 * Which filters each kind takes (the API reference's query parameters): a filter given
 * to a kind that does not take it is a usage error, not a parameter the API would refuse
 * (or, worse, ignore). --site-id is `site.id` for recordings; --recording-key for
 * attachments is looked up as a recording and sent as its recordingId.
 */
#define K(k) (1u << (k))
#define K_ALL 0x7Fu
enum { F_STR, F_FLAG, F_DOUBLE };
static const struct {
  const char *opt;
  size_t off;
  int type;
  unsigned kinds;
} k_filters[] = {
    {"device-name", RA(device_name), F_STR, K_ALL & ~K(PL_API_DEVICES)},
    {"device-id", RA(device_id), F_STR, K_ALL & ~K(PL_API_DEVICES)},
    {"start", RA(start), F_STR,
     K(PL_API_RECORDINGS) | K(PL_API_TOPICS) | K(PL_API_COVERAGE) | K(PL_API_LAKE_FILES)},
    {"end", RA(end), F_STR,
     K(PL_API_RECORDINGS) | K(PL_API_TOPICS) | K(PL_API_COVERAGE) | K(PL_API_LAKE_FILES)},
    {"topic", RA(topic), F_STR, K(PL_API_RECORDINGS) | K(PL_API_LAKE_FILES)},
    {"import-status", RA(import_status), F_STR, K(PL_API_RECORDINGS)},
    {"path", RA(path), F_STR, K(PL_API_RECORDINGS)},
    {"recording-id", RA(recording_id), F_STR,
     K(PL_API_ATTACHMENTS) | K(PL_API_TOPICS) | K(PL_API_COVERAGE) | K(PL_API_LAKE_FILES)},
    {"recording-key", RA(recording_key), F_STR,
     K(PL_API_ATTACHMENTS) | K(PL_API_TOPICS) | K(PL_API_COVERAGE) | K(PL_API_LAKE_FILES)},
    {"request-id", RA(request_id), F_STR, K(PL_API_PENDING_IMPORTS)},
    {"key", RA(key), F_STR, K(PL_API_PENDING_IMPORTS)},
    {"filename", RA(filename), F_STR, K(PL_API_PENDING_IMPORTS)},
    {"error", RA(error), F_STR, K(PL_API_PENDING_IMPORTS)},
    {"site-id", RA(site_id), F_STR,
     K(PL_API_RECORDINGS) | K(PL_API_PENDING_IMPORTS) | K(PL_API_ATTACHMENTS) |
         K(PL_API_LAKE_FILES)},
    {"tolerance", RA(tolerance), F_DOUBLE, K(PL_API_COVERAGE)},
    {"include-schemas", RA(include_schemas), F_FLAG, K(PL_API_TOPICS)},
    {"show-completed", RA(show_completed), F_FLAG, K(PL_API_PENDING_IMPORTS)},
    {"show-quarantined", RA(show_quarantined), F_FLAG, K(PL_API_PENDING_IMPORTS)},
    {"include-edge", RA(include_edge), F_FLAG, K(PL_API_COVERAGE)},
    {"sort-by", RA(sort_by), F_STR, K_ALL & ~K(PL_API_LAKE_FILES)},
    {"sort-order", RA(sort_order), F_STR, K_ALL & ~K(PL_API_LAKE_FILES)},
    {"query", RA(query), F_STR, K(PL_API_DEVICES)},
};

static int filter_set(const struct remote_args *a, size_t i) {
  const char *base = (const char *)a + k_filters[i].off;
  switch (k_filters[i].type) {
    case F_STR: {
      const char *v;
      memcpy(&v, base, sizeof v);
      return v != NULL;
    }
    case F_FLAG: {
      int v;
      memcpy(&v, base, sizeof v);
      return v != 0;
    }
    default: {
      double v;
      memcpy(&v, base, sizeof v);
      return v >= 0;
    }
  }
}

/* CLI_CONTINUE, or a usage error naming the filter and what the kind takes. */
static int check_filters(const struct remote_args *a, int kind, const char *kind_name) {
  for (size_t i = 0; i < sizeof k_filters / sizeof k_filters[0]; i++) {
    if (!filter_set(a, i) || (k_filters[i].kinds & K(kind))) continue;
    char takes[512];
    size_t len = 0;
    takes[0] = '\0';
    for (size_t k = 0; k < sizeof k_filters / sizeof k_filters[0]; k++) {
      if (!(k_filters[k].kinds & K(kind))) continue;
      int w = snprintf(takes + len, sizeof takes - len, "%s--%s", len ? ", " : "",
                       k_filters[k].opt);
      if (w < 0 || (size_t)w >= sizeof takes - len) break;
      len += (size_t)w;
    }
    return cli_usage_error(&cmd_remote_spec, "'--%s' is not a filter of %s (it takes %s)",
                           k_filters[i].opt, kind_name, len ? takes : "none");
  }
  if (a->recording_id && a->recording_key) {
    return cli_usage_error(&cmd_remote_spec, "give --recording-id or --recording-key, not both");
  }
  return CLI_CONTINUE;
}

static const char *tfmt(char *buf, uint64_t ns) {
  if (!ns) return "-";
  pl_format_time(ns, buf);
  return buf;
}

static const char *nz(const char *s) {
  return s && *s ? s : "-";
}

/* Text from the server for the terminal: control characters shown as '?' (the client
 * library has made it UTF-8 already). */
static void put_text(const char *s) {
  for (; s && *s; s++) putchar((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s);
}

static void print_table(const pl_api_list *l) {
  cli_table t;
  char a[40], b[40], c[CLI_FMT_SIZE];
  switch (l->kind) {
    case PL_API_RECORDINGS:
      cli_table_init(&t, 7, "lllllrl");
      cli_table_add(&t, "id");
      cli_table_add(&t, "device");
      cli_table_add(&t, "start");
      cli_table_add(&t, "end");
      cli_table_add(&t, "status");
      cli_table_add(&t, "size");
      cli_table_add(&t, "path");
      for (size_t i = 0; i < l->n; i++) {
        const pl_api_recording *r = &l->recordings[i];
        cli_table_add(&t, "%s", r->id);
        cli_table_add(&t, "%s", nz(r->device_name));
        cli_table_add(&t, "%s", tfmt(a, r->start));
        cli_table_add(&t, "%s", tfmt(b, r->end));
        cli_table_add(&t, "%s", nz(r->import_status));
        cli_table_add(&t, "%s", cli_fmt_bytes(c, sizeof c, r->size));
        cli_table_add(&t, "%s", nz(r->path));
      }
      break;
    case PL_API_ATTACHMENTS:
      cli_table_init(&t, 7, "llllrrl");
      cli_table_add(&t, "id");
      cli_table_add(&t, "recording");
      cli_table_add(&t, "name");
      cli_table_add(&t, "media type");
      cli_table_add(&t, "size");
      cli_table_add(&t, "crc");
      cli_table_add(&t, "log time");
      for (size_t i = 0; i < l->n; i++) {
        const pl_api_attachment *x = &l->attachments[i];
        cli_table_add(&t, "%s", x->id);
        cli_table_add(&t, "%s", nz(x->recording_id));
        cli_table_add(&t, "%s", nz(x->name));
        cli_table_add(&t, "%s", nz(x->media_type));
        cli_table_add(&t, "%s", cli_fmt_bytes(c, sizeof c, x->size));
        cli_table_add(&t, "%u", x->crc);
        cli_table_add(&t, "%s", tfmt(a, x->log_time));
      }
      break;
    case PL_API_TOPICS:
      cli_table_init(&t, 5, "lllll");
      cli_table_add(&t, "topic");
      cli_table_add(&t, "encoding");
      cli_table_add(&t, "schema name");
      cli_table_add(&t, "schema encoding");
      cli_table_add(&t, "version");
      for (size_t i = 0; i < l->n; i++) {
        const pl_api_topic *x = &l->topics[i];
        cli_table_add(&t, "%s", x->topic);
        cli_table_add(&t, "%s", nz(x->encoding));
        cli_table_add(&t, "%s", nz(x->schema_name));
        cli_table_add(&t, "%s", nz(x->schema_encoding));
        cli_table_add(&t, "%s", nz(x->version));
      }
      break;
    case PL_API_COVERAGE:
      cli_table_init(&t, 4, "llll");
      cli_table_add(&t, "device");
      cli_table_add(&t, "start");
      cli_table_add(&t, "end");
      cli_table_add(&t, "status");
      for (size_t i = 0; i < l->n; i++) {
        const pl_api_coverage *x = &l->coverage[i];
        cli_table_add(&t, "%s", x->device_name ? x->device_name : nz(x->device_id));
        cli_table_add(&t, "%s", tfmt(a, x->start));
        cli_table_add(&t, "%s", tfmt(b, x->end));
        cli_table_add(&t, "%s", x->import_status ? x->import_status : nz(x->status));
      }
      break;
    case PL_API_PENDING_IMPORTS:
      cli_table_init(&t, 6, "llllll");
      cli_table_add(&t, "request id");
      cli_table_add(&t, "filename");
      cli_table_add(&t, "device");
      cli_table_add(&t, "status");
      cli_table_add(&t, "updated");
      cli_table_add(&t, "error");
      for (size_t i = 0; i < l->n; i++) {
        const pl_api_import *x = &l->imports[i];
        cli_table_add(&t, "%s", x->request_id);
        cli_table_add(&t, "%s", nz(x->filename));
        cli_table_add(&t, "%s", x->device_name ? x->device_name : nz(x->device_id));
        cli_table_add(&t, "%s", nz(x->status));
        cli_table_add(&t, "%s", tfmt(a, x->updated_at));
        cli_table_add(&t, "%s", nz(x->error));
      }
      break;
    case PL_API_LAKE_FILES:
      cli_table_init(&t, 2, "ll");
      cli_table_add(&t, "path");
      cli_table_add(&t, "topics");
      for (size_t i = 0; i < l->n; i++) {
        const pl_api_lake_file *x = &l->lake_files[i];
        cli_table_add(&t, "%s", x->path);
        char topics[512] = "";
        size_t used = 0;
        for (size_t k = 0; k < x->n_topics && used + 1 < sizeof topics; k++) {
          int w = snprintf(topics + used, sizeof topics - used, "%s%s", k ? "," : "", x->topics[k]);
          if (w < 0) break;
          used += (size_t)w;
        }
        cli_table_add(&t, "%s", x->n_topics ? topics : "-");
      }
      break;
    case PL_API_DEVICES:
    default:
      cli_table_init(&t, 2, "ll");
      cli_table_add(&t, "id");
      cli_table_add(&t, "name");
      for (size_t i = 0; i < l->n; i++) {
        cli_table_add(&t, "%s", l->devices[i].id);
        cli_table_add(&t, "%s", nz(l->devices[i].name));
      }
      break;
  }
  cli_table_print(&t, stdout, "");
  cli_table_dispose(&t);
}

static const char *item_json(const pl_api_list *l, size_t i) {
  switch (l->kind) {
    case PL_API_RECORDINGS:
      return l->recordings[i].json;
    case PL_API_ATTACHMENTS:
      return l->attachments[i].json;
    case PL_API_TOPICS:
      return l->topics[i].json;
    case PL_API_COVERAGE:
      return l->coverage[i].json;
    case PL_API_PENDING_IMPORTS:
      return l->imports[i].json;
    case PL_API_LAKE_FILES:
      return l->lake_files[i].json;
    case PL_API_DEVICES:
      return l->devices[i].json;
  }
  return "null";
}

static int print_json_list(const char *kind, const pl_api_list *l) {
  json_object *doc = cli_json_document();
  cli_json_add_str(doc, "kind", kind);
  cli_json_add_u64(doc, "count", l->n);
  cli_json_add_u64(doc, "pages", l->pages);
  json_object *items = json_object_new_array();
  for (size_t i = 0; i < l->n; i++) {
    json_object *o = json_tokener_parse(item_json(l, i));
    json_object_array_add(items, o ? o : json_object_new_null());
  }
  json_object_object_add(doc, "items", items);
  return cli_json_print(stdout, doc);
}

static int print_json_item(const char *kind, const char *json) {
  json_object *doc = cli_json_document();
  json_object *o = json_tokener_parse(json ? json : "null");
  json_object_object_add(doc, kind, o);
  return cli_json_print(stdout, doc);
}

/* Collect the filters into params; 0, or a usage error printed. */
static int build_params(const struct remote_args *a, int kind, pl_param *p, size_t cap, size_t *n,
                        char times[2][40], char *tol, size_t tol_len) {
  *n = 0;
#define ADD(nm, val)         \
  do {                       \
    if ((val) && *n < cap) { \
      p[*n].name = (nm);     \
      p[*n].value = (val);   \
      (*n)++;                \
    }                        \
  } while (0)
  ADD("deviceName", a->device_name);
  ADD("deviceId", a->device_id);
  const char *se[2] = {a->start, a->end};
  const char *names[2] = {"start", "end"};
  uint64_t t[2] = {0, 0};
  for (int i = 0; i < 2; i++) {
    if (!se[i]) continue;
    char e[128];
    if (cli_parse_time(se[i], &t[i], e, sizeof e) != 0)
      return cli_usage_error(&cmd_remote_spec, "invalid '--%s %s': %s", names[i], se[i], e);
  }
  if (se[0] && se[1] && t[0] > t[1])
    return cli_usage_error(&cmd_remote_spec, "'--end' is before '--start'");
  for (int i = 0; i < 2; i++) {
    if (!se[i]) continue;
    pl_format_time(t[i], times[i]);
    ADD(names[i], times[i]);
  }
  ADD("topic", a->topic);
  ADD("importStatus", a->import_status);
  ADD("path", a->path);
  ADD("recordingId", a->recording_id);
  if (kind != PL_API_ATTACHMENTS) ADD("recordingKey", a->recording_key); /* see cmd_remote */
  ADD("requestId", a->request_id);
  ADD("key", a->key);
  ADD(kind == PL_API_RECORDINGS ? "site.id" : "siteId", a->site_id);
  ADD("filename", a->filename);
  ADD("error", a->error);
  ADD("sortBy", a->sort_by);
  ADD("sortOrder", a->sort_order);
  ADD("query", a->query);
  if (a->tolerance >= 0) {
    snprintf(tol, tol_len, "%.9g", a->tolerance);
    ADD("tolerance", tol);
  }
  if (a->include_schemas) ADD("includeSchemas", "true");
  if (a->show_completed) ADD("showCompleted", "true");
  if (a->show_quarantined) ADD("showQuarantined", "true");
  if (a->include_edge) ADD("includeEdgeRecordings", "true");
  for (size_t i = 0; i < a->params.n; i++) {
    const char *kv = a->params.items[i];
    const char *eq = strchr(kv, '=');
    if (!eq || eq == kv)
      return cli_usage_error(&cmd_remote_spec, "invalid '--param %s' (expected NAME=VALUE)", kv);
    if (strncmp(kv, "limit=", 6) == 0 || strncmp(kv, "offset=", 7) == 0)
      return cli_usage_error(&cmd_remote_spec,
                             "'--param %s': paging is done here; use --limit to stop early", kv);
  }
#undef ADD
  return CLI_CONTINUE;
}

static int report(const cli_ctx *ctx, int rc, const pl_error_info *err) {
  if (rc == PL_OK) return CLI_EXIT_OK;
  cli_error(ctx, "%s", err->msg[0] ? err->msg : pl_strerror(rc));
  return cli_api_exit_code(rc);
}

/*
 * Look a recording up (by key or id) and add its id (site = 0) or its site's id (site = 1)
 * as the query parameter `name`; *value holds the copy (the caller frees it). A recording
 * without an id is an error; one without a site adds nothing (the API will say siteId is
 * required). A CLI exit code.
 */
static int recording_param(const cli_ctx *ctx, pl_http *h, const char *key_or_id, int site,
                           const char *name, pl_param *params, size_t *n_params, char **value) {
  pl_error_info err;
  pl_api_recording *r = NULL;
  memset(&err, 0, sizeof err);
  int prc = pl_api_get_recording(h, key_or_id, &r, &err);
  if (prc != PL_OK) {
    pl_api_recording_free(r);
    return report(ctx, prc, &err);
  }
  const char *v = site ? r->site_id : r->id;
  if (v && *n_params < 64) {
    *value = strdup(v);
    if (!*value) {
      pl_api_recording_free(r);
      cli_error(ctx, "out of memory");
      return CLI_EXIT_FAILURE;
    }
    params[*n_params].name = name;
    params[*n_params].value = *value;
    (*n_params)++;
  }
  pl_api_recording_free(r);
  if (!site && !*value) {
    cli_error(ctx, "recording '%s' has no id", key_or_id);
    return CLI_EXIT_FAILURE;
  }
  return CLI_EXIT_OK;
}

int cmd_remote(cli_ctx *ctx, int argc, char **argv) {
  /* events and custom properties have their own options (cmd_remote_events.c) */
  if (argc > 1 && (strcmp(argv[1], "events") == 0 || strcmp(argv[1], "custom-properties") == 0))
    return cmd_remote_events(ctx, argc, argv);
  struct remote_args a;
  memset(&a, 0, sizeof a);
  a.tolerance = -1;
  int first;
  int rc = cli_parse(ctx, &cmd_remote_spec, argc, argv, &a, &first);
  if (rc != CLI_CONTINUE) return rc;
  int json = a.json || ctx->json;
  const char *kind_name = argv[first];
  const char *action = first + 1 < argc ? argv[first + 1] : "list";
  const char *arg = first + 2 < argc ? argv[first + 2] : NULL;
  int kind = -1;
  for (size_t i = 0; i < sizeof k_kinds / sizeof k_kinds[0]; i++)
    if (strcmp(k_kinds[i].name, kind_name) == 0) kind = (int)k_kinds[i].kind;
  if (kind < 0) {
    rc = cli_usage_error(&cmd_remote_spec, "unknown kind '%s'", kind_name);
    cli_opt_dispose(&cmd_remote_spec, &a);
    return rc;
  }
  int needs_arg = strcmp(action, "list") != 0;
  int ok_action =
      strcmp(action, "list") == 0 ||
      (strcmp(action, "get") == 0 &&
       (kind == PL_API_RECORDINGS || kind == PL_API_ATTACHMENTS || kind == PL_API_DEVICES)) ||
      (strcmp(action, "delete") == 0 && (kind == PL_API_RECORDINGS || kind == PL_API_DEVICES)) ||
      (strcmp(action, "download") == 0 && kind == PL_API_ATTACHMENTS) ||
      (strcmp(action, "create") == 0 && kind == PL_API_DEVICES);
  if (!ok_action) {
    rc = cli_usage_error(&cmd_remote_spec, "'%s' cannot '%s'", kind_name, action);
    cli_opt_dispose(&cmd_remote_spec, &a);
    return rc;
  }
  if (needs_arg && !arg) {
    rc = cli_usage_error(&cmd_remote_spec, "'%s %s' needs an id or name", kind_name, action);
    cli_opt_dispose(&cmd_remote_spec, &a);
    return rc;
  }
  if (!needs_arg && first + 2 < argc) {
    rc = cli_usage_error(&cmd_remote_spec, "unexpected argument '%s'", argv[first + 2]);
    cli_opt_dispose(&cmd_remote_spec, &a);
    return rc;
  }
  if (strcmp(action, "download") == 0 && !a.out) {
    rc = cli_usage_error(&cmd_remote_spec, "'attachments download' needs '-o FILE'");
    cli_opt_dispose(&cmd_remote_spec, &a);
    return rc;
  }
  pl_param params[64];
  size_t n_params = 0;
  char times[2][40], tol[40];
  rc = check_filters(&a, kind, kind_name);
  if (rc == CLI_CONTINUE) rc = build_params(&a, kind, params, 32, &n_params, times, tol, sizeof tol);
  if (rc != CLI_CONTINUE) {
    cli_opt_dispose(&cmd_remote_spec, &a);
    return rc;
  }
  /* --param NAME=VALUE: split copies */
  char *split[32];
  size_t n_split = 0;
  for (size_t i = 0; i < a.params.n && n_split < 32; i++) {
    char *c = strdup(a.params.items[i]);
    if (!c) break;
    char *eq = strchr(c, '=');
    *eq = 0;
    split[n_split++] = c;
    params[n_params].name = c;
    params[n_params].value = eq + 1;
    n_params++;
  }

  pl_http *h = NULL;
  char *site = NULL, *rec_id = NULL; /* looked-up filter values */
  rc = cli_api_open(ctx, a.api_url, a.api_key_file, &h);
  if (rc != CLI_EXIT_OK) goto out;
  pl_error_info err;
  memset(&err, 0, sizeof err);
  int prc = PL_OK;
  if (kind == PL_API_ATTACHMENTS && a.recording_key) {
    /* Attachments are listed by recordingId only: look the key up. */
    rc = recording_param(ctx, h, a.recording_key, 0, "recordingId", params, &n_params, &rec_id);
    if (rc != CLI_EXIT_OK) goto out;
  }
  if (kind == PL_API_LAKE_FILES && !a.site_id && (a.recording_id || a.recording_key)) {
    /* the site is the recording's own: look it up instead of asking for --site-id */
    rc = recording_param(ctx, h, a.recording_id ? a.recording_id : a.recording_key, 1, "siteId",
                         params, &n_params, &site);
    if (rc != CLI_EXIT_OK) goto out;
  }
  if (strcmp(action, "list") == 0) {
    pl_api_list l;
    prc = pl_api_list_all(h, (pl_api_kind)kind, params, n_params, (size_t)a.limit, &l, &err);
    if (prc == PL_OK) {
      if (json ? print_json_list(kind_name, &l) != 0 : (print_table(&l), 0)) prc = PL_EIO;
    }
    pl_api_list_dispose(&l);
    rc = prc == PL_EIO ? CLI_EXIT_FAILURE : report(ctx, prc, &err);
  } else if (kind == PL_API_RECORDINGS && strcmp(action, "get") == 0) {
    pl_api_recording *r = NULL;
    prc = pl_api_get_recording(h, arg, &r, &err);
    if (prc == PL_OK) {
      if (json) {
        print_json_item("recording", r->json);
      } else {
        pl_api_list one;
        memset(&one, 0, sizeof one);
        one.kind = PL_API_RECORDINGS;
        one.n = 1;
        one.recordings = r;
        print_table(&one);
        if (r->key) {
          fputs("key: ", stdout);
          put_text(r->key);
          putchar('\n');
        }
        for (size_t i = 0; i < r->n_metadata; i++) {
          fputs("metadata '", stdout);
          put_text(r->metadata[i].name);
          fputs("':", stdout);
          for (size_t k = 0; k < r->metadata[i].n_entries; k++) {
            putchar(' ');
            put_text(r->metadata[i].entries[k].key);
            putchar('=');
            put_text(r->metadata[i].entries[k].value);
          }
          putchar('\n');
        }
      }
    }
    pl_api_recording_free(r);
    rc = report(ctx, prc, &err);
  } else if (kind == PL_API_ATTACHMENTS && strcmp(action, "get") == 0) {
    pl_api_attachment *x = NULL;
    prc = pl_api_get_attachment(h, arg, &x, &err);
    if (prc == PL_OK) {
      if (json) {
        print_json_item("attachment", x->json);
      } else {
        pl_api_list one;
        memset(&one, 0, sizeof one);
        one.kind = PL_API_ATTACHMENTS;
        one.n = 1;
        one.attachments = x;
        print_table(&one);
        printf("fingerprint: %s\n", nz(x->fingerprint));
      }
    }
    pl_api_attachment_free(x);
    rc = report(ctx, prc, &err);
  } else if (kind == PL_API_ATTACHMENTS) { /* download */
    prc = pl_api_download_attachment(h, arg, a.out, &err);
    if (prc == PL_OK && !json) printf("wrote '%s' (size and CRC checked)\n", a.out);
    if (prc == PL_OK && json) {
      json_object *doc = cli_json_document();
      cli_json_add_str(doc, "attachment_id", arg);
      cli_json_add_str(doc, "output", a.out);
      cli_json_add_bool(doc, "verified", 1);
      cli_json_print(stdout, doc);
    }
    rc = report(ctx, prc, &err);
  } else if (kind == PL_API_DEVICES && strcmp(action, "get") == 0) {
    pl_api_device *d = NULL;
    prc = pl_api_get_device(h, arg, &d, &err);
    if (prc == PL_OK) {
      if (json) {
        print_json_item("device", d->json);
      } else {
        pl_api_list one;
        memset(&one, 0, sizeof one);
        one.kind = PL_API_DEVICES;
        one.n = 1;
        one.devices = d;
        print_table(&one);
      }
    }
    pl_api_device_free(d);
    rc = report(ctx, prc, &err);
  } else if (kind == PL_API_DEVICES && strcmp(action, "create") == 0) {
    char *id = NULL;
    prc = pl_api_create_device(h, arg, &id, &err);
    if (prc == PL_OK) printf("created device '%s' (id %s)\n", arg, id ? id : "?");
    free(id);
    rc = report(ctx, prc, &err);
  } else if (kind == PL_API_DEVICES) { /* delete */
    prc = pl_api_delete_device(h, arg, &err);
    if (prc == PL_OK) printf("deleted device '%s'\n", arg);
    rc = report(ctx, prc, &err);
  } else { /* recordings delete */
    char *id = NULL;
    prc = pl_api_delete_recording(h, arg, &id, &err);
    if (prc == PL_OK) printf("deleted recording %s\n", id ? id : arg);
    free(id);
    rc = report(ctx, prc, &err);
  }
out:
  pl_http_free(h);
  free(site);
  free(rec_id);
  for (size_t i = 0; i < n_split; i++) free(split[i]);
  cli_opt_dispose(&cmd_remote_spec, &a);
  return rc;
}
