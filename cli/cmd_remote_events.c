/*
 * cmd_remote_events.c - 'mcapkit remote events ...' and 'mcapkit remote
 * custom-properties ...' (reached through cmd_remote.c): the API's events
 * (list with every filter of the reference, get, create, update, delete) and
 * custom property definitions (list, get, create). A thin shell over
 * pl_api_*_event and pl_api_*_custom_propert* (pipeline/client.h): tables by
 * default, the API's items as received with --json.
 */
#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "optgroups.h"
#include "output.h"
#include "pipeline/client.h"
#include "timeparse.h"

struct ev_args {
  cli_api_args api;
  int json;
  uint64_t limit;
  const char *device_name, *device_id, *start, *end, *created_after, *updated_after, *query;
  const char *sort_by, *sort_order;
  cli_strlist meta;
  int clear_metadata;
  const char *label, *value_type, *resource_type;
  cli_strlist values;
};

#define EA(f) offsetof(struct ev_args, f)

static const cli_opt ev_opts[] = {
    CLI_OPTS_API(struct ev_args, api),
    {"json", 0, CLI_OPT_FLAG, EA(json), NULL, "print the API's items as one JSON document"},
    {"limit", 'n', CLI_OPT_U64, EA(limit), "N", "list: stop after N items (default: all pages)"},
    {"device-name", 0, CLI_OPT_STRING, EA(device_name), "NAME", "list filter / create: the device"},
    {"device-id", 0, CLI_OPT_STRING, EA(device_id), "ID", "list filter / create: the device"},
    {"start", 0, CLI_OPT_STRING, EA(start), "T",
     "list: range start; create/update: the event's start (RFC 3339, 12.5s, or ns)"},
    {"end", 0, CLI_OPT_STRING, EA(end), "T", "list: range end; create/update: the event's end"},
    {"created-after", 0, CLI_OPT_STRING, EA(created_after), "T", "list filter: createdAfter"},
    {"updated-after", 0, CLI_OPT_STRING, EA(updated_after), "T", "list filter: updatedAfter"},
    {"query", 0, CLI_OPT_STRING, EA(query), "QUERY",
     "list filter: key:value, key:v1,v2, key:*, *:value, text (ANDed)"},
    {"sort-by", 0, CLI_OPT_STRING, EA(sort_by), "FIELD", "list: sortBy"},
    {"sort-order", 0, CLI_OPT_STRING, EA(sort_order), "asc|desc", "list: sortOrder"},
    {"meta", 0, CLI_OPT_LIST, EA(meta), "KEY=VALUE",
     "create/update: a metadata entry (repeatable; update replaces the metadata)"},
    {"clear-metadata", 0, CLI_OPT_FLAG, EA(clear_metadata), NULL, "update: set empty metadata"},
    {"label", 0, CLI_OPT_STRING, EA(label), "TEXT", "custom-properties create: the label"},
    {"value-type", 0, CLI_OPT_STRING, EA(value_type), "string|number|enum|boolean",
     "custom-properties create: the type"},
    {"value", 0, CLI_OPT_LIST, EA(values), "TEXT",
     "custom-properties create: an enum value (repeatable)"},
    {"resource-type", 0, CLI_OPT_STRING, EA(resource_type), "device",
     "custom-properties: the resource type (default device)"},
    {NULL, 0, CLI_OPT_FLAG, 0, NULL, NULL},
};

const cli_spec cmd_remote_events_spec = {
    "remote",
    "events [list|get|create|update|delete] [ID] [options] | "
    "custom-properties [list|get|create] [ID|KEY] [options]",
    "events list: every page, filtered by --device-name/--device-id, --start/--end (events whose\n"
    "span meets the inclusive range), --created-after, --updated-after and --query.\n"
    "events create --device-name N --start T [--end T] [--meta K=V ...]; events update ID\n"
    "[--start T] [--end T] [--meta K=V ... | --clear-metadata]; events get|delete ID.\n"
    "custom-properties list [--resource-type device]; custom-properties get ID;\n"
    "custom-properties create KEY --label L --value-type T [--value V ...].",
    ev_opts,
    1,
    3,
    CLI_ARGS_WORDS,
    "events custom-properties",
};

static int report(const cli_ctx *ctx, int rc, const pl_error_info *err) {
  if (rc == PL_OK) return CLI_EXIT_OK;
  cli_error(ctx, "%s", err->msg[0] ? err->msg : pl_strerror(rc));
  return cli_api_exit_code(rc);
}

static int parse_t(const char *opt, const char *s, uint64_t *ns) {
  char msg[160];
  if (cli_parse_time(s, ns, msg, sizeof msg) != 0)
    return cli_usage_error(&cmd_remote_events_spec, "--%s: %s", opt, msg);
  return CLI_CONTINUE;
}

/* Text on a terminal: control characters shown as '?'. */
static void put_text(const char *s) {
  for (; s && *s; s++) putchar((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s);
}

static void print_events(const pl_api_event *e, size_t n) {
  printf("%-24s %-20s %-30s %-30s %s\n", "ID", "DEVICE", "START", "END", "METADATA");
  for (size_t i = 0; i < n; i++) {
    char s[40], t[40];
    pl_format_time(e[i].start, s);
    pl_format_time(e[i].end, t);
    put_text(e[i].id);
    printf(" ");
    put_text(e[i].device_name ? e[i].device_name : e[i].device_id ? e[i].device_id : "-");
    printf(" %s %s ", s, t);
    for (size_t k = 0; k < e[i].n_metadata; k++) {
      if (k) putchar(' ');
      put_text(e[i].metadata[k].key);
      putchar('=');
      put_text(e[i].metadata[k].value);
    }
    putchar('\n');
  }
}

static int print_json_items(const char *kind, const char *const *jsons, size_t n) {
  json_object *doc = cli_json_document();
  cli_json_add_str(doc, "kind", kind);
  cli_json_add_u64(doc, "count", n);
  json_object *items = json_object_new_array();
  for (size_t i = 0; i < n; i++) {
    json_object *o = json_tokener_parse(jsons[i] ? jsons[i] : "null");
    json_object_array_add(items, o ? o : json_object_new_null());
  }
  json_object_object_add(doc, "items", items);
  return cli_json_print(stdout, doc);
}

static int print_json_one(const char *kind, const char *json) {
  json_object *doc = cli_json_document();
  json_object *o = json_tokener_parse(json ? json : "null");
  json_object_object_add(doc, kind, o);
  return cli_json_print(stdout, doc);
}

static int print_event_out(int json, const pl_api_event *e, const char *verb) {
  if (json) return print_json_one("event", e->json);
  if (verb) printf("%s event %s\n", verb, e->id);
  print_events(e, 1);
  return 0;
}

/* --meta K=V into kv (views into argv split at '='); usage error when malformed. */
static int split_meta(const struct ev_args *a, pl_kv *kv, char **copies) {
  for (size_t i = 0; i < a->meta.n; i++) {
    const char *eq = strchr(a->meta.items[i], '=');
    if (!eq || eq == a->meta.items[i])
      return cli_usage_error(&cmd_remote_events_spec, "--meta '%s': expected KEY=VALUE",
                             a->meta.items[i]);
    copies[i] = strdup(a->meta.items[i]);
    if (!copies[i]) return CLI_EXIT_FAILURE;
    copies[i][eq - a->meta.items[i]] = 0;
    kv[i].key = copies[i];
    kv[i].value = copies[i] + (eq - a->meta.items[i]) + 1;
  }
  return CLI_CONTINUE;
}

static int events_cmd(const cli_ctx *ctx, struct ev_args *a, const char *action, const char *arg) {
  int json = a->json || ctx->json;
  pl_error_info err;
  memset(&err, 0, sizeof err);
  int list = strcmp(action, "list") == 0, create = strcmp(action, "create") == 0;
  int update = strcmp(action, "update") == 0;
  if (!list && !create && !update && strcmp(action, "get") != 0 && strcmp(action, "delete") != 0)
    return cli_usage_error(&cmd_remote_events_spec, "'events' cannot '%s'", action);
  if ((list || create) && arg)
    return cli_usage_error(&cmd_remote_events_spec, "unexpected argument '%s'", arg);
  if (!list && !create && !arg)
    return cli_usage_error(&cmd_remote_events_spec, "'events %s' needs an event id", action);
  if (!list && (a->created_after || a->updated_after || a->query || a->sort_by || a->sort_order))
    return cli_usage_error(&cmd_remote_events_spec, "list filters are for 'events list'");
  if (!create && !update && (a->meta.n || a->clear_metadata))
    return cli_usage_error(&cmd_remote_events_spec, "--meta is for 'events create' and 'update'");
  if (!list && !create && (a->device_id || a->device_name))
    return cli_usage_error(&cmd_remote_events_spec,
                           "--device-name and --device-id are for 'events list' and 'create' "
                           "(an event's device does not change)");
  if (a->clear_metadata && a->meta.n)
    return cli_usage_error(&cmd_remote_events_spec, "--clear-metadata and --meta exclude each other");
  uint64_t start = 0, end = 0, ca = 0, ua = 0;
  int rc = CLI_CONTINUE;
  if (a->start) rc = parse_t("start", a->start, &start);
  if (rc == CLI_CONTINUE && a->end) rc = parse_t("end", a->end, &end);
  if (rc == CLI_CONTINUE && a->created_after) rc = parse_t("created-after", a->created_after, &ca);
  if (rc == CLI_CONTINUE && a->updated_after) rc = parse_t("updated-after", a->updated_after, &ua);
  if (rc != CLI_CONTINUE) return rc;
  if (create && !a->start)
    return cli_usage_error(&cmd_remote_events_spec, "'events create' needs --start");
  if (create && !a->device_id && !a->device_name)
    return cli_usage_error(&cmd_remote_events_spec,
                           "'events create' needs --device-name or --device-id");
  pl_kv *kv = calloc(a->meta.n ? a->meta.n : 1, sizeof *kv);
  char **copies = calloc(a->meta.n ? a->meta.n : 1, sizeof *copies);
  pl_http *h = NULL;
  if (!kv || !copies) {
    cli_error(ctx, "out of memory");
    rc = CLI_EXIT_FAILURE;
    goto out;
  }
  rc = split_meta(a, kv, copies);
  if (rc != CLI_CONTINUE) goto out;
  rc = cli_api_open(ctx, &a->api, &h);
  if (rc != CLI_EXIT_OK) goto out;
  int prc = PL_OK;
  if (list) {
    char tb[4][40];
    pl_param p[12];
    size_t n = 0;
#define ADD(name_, val_) \
  do {                   \
    if (val_) {          \
      p[n].name = name_; \
      p[n].value = val_; \
      n++;               \
    }                    \
  } while (0)
    ADD("deviceName", a->device_name);
    ADD("deviceId", a->device_id);
    if (a->start) pl_format_time(start, tb[0]);
    if (a->end) pl_format_time(end, tb[1]);
    if (a->created_after) pl_format_time(ca, tb[2]);
    if (a->updated_after) pl_format_time(ua, tb[3]);
    ADD("start", a->start ? tb[0] : NULL);
    ADD("end", a->end ? tb[1] : NULL);
    ADD("createdAfter", a->created_after ? tb[2] : NULL);
    ADD("updatedAfter", a->updated_after ? tb[3] : NULL);
    ADD("query", a->query);
    ADD("sortBy", a->sort_by);
    ADD("sortOrder", a->sort_order);
#undef ADD
    pl_api_event *ev = NULL;
    size_t count = 0;
    prc = pl_api_list_events(h, p, n, (size_t)a->limit, &ev, &count, &err);
    if (prc == PL_OK) {
      if (json) {
        const char **js = calloc(count ? count : 1, sizeof *js);
        for (size_t i = 0; js && i < count; i++) js[i] = ev[i].json;
        if (!js || print_json_items("events", js, count) != 0) prc = PL_EIO;
        free(js);
      } else {
        print_events(ev, count);
      }
    }
    pl_api_events_free(ev, count);
    rc = prc == PL_EIO ? CLI_EXIT_FAILURE : report(ctx, prc, &err);
  } else if (create || update) {
    pl_api_event_fields f;
    memset(&f, 0, sizeof f);
    f.device_id = a->device_id;
    f.device_name = a->device_name;
    f.has_start = a->start != NULL;
    f.start = start;
    f.has_end = a->end != NULL;
    f.end = end;
    f.has_metadata = a->meta.n > 0 || a->clear_metadata;
    f.metadata = kv;
    f.n_metadata = a->meta.n;
    pl_api_event *e = NULL;
    prc = create ? pl_api_create_event(h, &f, &e, &err) : pl_api_update_event(h, arg, &f, &e, &err);
    if (prc == PL_OK && print_event_out(json, e, create ? "created" : "updated") != 0) prc = PL_EIO;
    pl_api_event_free(e);
    rc = prc == PL_EIO ? CLI_EXIT_FAILURE : report(ctx, prc, &err);
  } else if (strcmp(action, "get") == 0) {
    pl_api_event *e = NULL;
    prc = pl_api_get_event(h, arg, &e, &err);
    if (prc == PL_OK && print_event_out(json, e, NULL) != 0) prc = PL_EIO;
    pl_api_event_free(e);
    rc = prc == PL_EIO ? CLI_EXIT_FAILURE : report(ctx, prc, &err);
  } else {
    prc = pl_api_delete_event(h, arg, &err);
    if (prc == PL_OK) {
      if (json) {
        json_object *doc = cli_json_document();
        cli_json_add_str(doc, "deleted", arg);
        cli_json_print(stdout, doc);
      } else {
        printf("deleted event %s\n", arg);
      }
    }
    rc = report(ctx, prc, &err);
  }
out:
  for (size_t i = 0; copies && i < a->meta.n; i++) free(copies[i]);
  free(copies);
  free(kv);
  pl_http_free(h);
  return rc;
}

static void print_cprops(const pl_api_custom_property *p, size_t n) {
  printf("%-24s %-32s %-10s %-8s %s\n", "ID", "KEY", "TYPE", "RESOURCE", "LABEL");
  for (size_t i = 0; i < n; i++) {
    put_text(p[i].id);
    putchar(' ');
    put_text(p[i].key);
    printf(" %s %s ", p[i].value_type ? p[i].value_type : "?",
           p[i].resource_type ? p[i].resource_type : "?");
    put_text(p[i].label);
    for (size_t k = 0; k < p[i].n_values; k++) {
      fputs(k ? ", " : " [", stdout);
      put_text(p[i].values[k]);
      if (k + 1 == p[i].n_values) putchar(']');
    }
    putchar('\n');
  }
}

static int cprops_cmd(const cli_ctx *ctx, struct ev_args *a, const char *action, const char *arg) {
  int json = a->json || ctx->json;
  int list = strcmp(action, "list") == 0, create = strcmp(action, "create") == 0;
  if (!list && !create && strcmp(action, "get") != 0)
    return cli_usage_error(&cmd_remote_events_spec, "'custom-properties' cannot '%s'", action);
  if (list && arg) return cli_usage_error(&cmd_remote_events_spec, "unexpected argument '%s'", arg);
  if (!list && !arg)
    return cli_usage_error(&cmd_remote_events_spec, "'custom-properties %s' needs %s", action,
                           create ? "a KEY" : "an id");
  if (create && (!a->label || !a->value_type))
    return cli_usage_error(&cmd_remote_events_spec,
                           "'custom-properties create' needs --label and --value-type");
  if (!create && (a->label || a->value_type || a->values.n))
    return cli_usage_error(&cmd_remote_events_spec,
                           "--label, --value-type and --value are for 'create'");
  pl_http *h = NULL;
  int rc = cli_api_open(ctx, &a->api, &h);
  if (rc != CLI_EXIT_OK) return rc;
  pl_error_info err;
  memset(&err, 0, sizeof err);
  pl_api_custom_property *p = NULL;
  size_t n = 0;
  int prc;
  if (list) {
    prc = pl_api_list_custom_properties(h, a->resource_type, &p, &n, &err);
  } else if (create) {
    prc = pl_api_create_custom_property(h, arg, a->label, a->resource_type, a->value_type,
                                        a->values.n ? a->values.items : NULL, a->values.n, &p,
                                        &err);
    n = p ? 1 : 0;
  } else {
    prc = pl_api_get_custom_property(h, arg, &p, &err);
    n = p ? 1 : 0;
  }
  if (prc == PL_OK) {
    if (json && list) {
      const char **js = calloc(n ? n : 1, sizeof *js);
      for (size_t i = 0; js && i < n; i++) js[i] = p[i].json;
      if (!js || print_json_items("custom-properties", js, n) != 0) prc = PL_EIO;
      free(js);
    } else if (json) {
      if (print_json_one("customProperty", p->json) != 0) prc = PL_EIO;
    } else {
      if (create) printf("created custom property '%s' (id %s)\n", p->key, p->id);
      print_cprops(p, n);
    }
  }
  pl_api_custom_properties_free(p, n);
  pl_http_free(h);
  return prc == PL_EIO ? CLI_EXIT_FAILURE : report(ctx, prc, &err);
}

int cmd_remote_events(cli_ctx *ctx, int argc, char **argv) {
  struct ev_args a;
  memset(&a, 0, sizeof a);
  int first;
  int rc = cli_parse(ctx, &cmd_remote_events_spec, argc, argv, &a, &first);
  if (rc != CLI_CONTINUE) return rc;
  const char *kind = argv[first];
  const char *action = first + 1 < argc ? argv[first + 1] : "list";
  const char *arg = first + 2 < argc ? argv[first + 2] : NULL;
  if (a.resource_type && strcmp(kind, "custom-properties") != 0)
    rc = cli_usage_error(&cmd_remote_events_spec, "--resource-type is for custom-properties");
  else if (strcmp(kind, "events") == 0)
    rc = events_cmd(ctx, &a, action, arg);
  else if (strcmp(kind, "custom-properties") == 0)
    rc = cprops_cmd(ctx, &a, action, arg);
  else
    rc = cli_usage_error(&cmd_remote_events_spec, "unknown kind '%s'", kind);
  cli_opt_dispose(&cmd_remote_events_spec, &a);
  return rc;
}
