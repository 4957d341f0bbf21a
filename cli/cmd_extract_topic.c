/*
 * cmd_extract_topic.c - 'mcapkit extract topic FILE TOPIC... -o OUT': the
 * decoded messages of some topics as NDJSON or CSV (cmd_extract.c hands
 * 'extract topic ...' over to this file). Parses the options, opens the
 * reader and renders the summary; pl_extract_topics (pipeline/decode.h) does
 * the work:
 *
 * One indexed query reads the selected channels in the chosen order and time
 * range; each channel has a pl_decode decoder, made before anything is written
 * so that a topic without a decoder stops the command at once. NDJSON: one
 * output, the lines of every topic in query order (the `cat --decode` line).
 * CSV: one table per topic, its columns fixed by the schema (pl_csv); several
 * topics need OUT to be a directory and get one file each. Outputs are libmcap's
 * atomic file sinks (published only when everything was written) or standard
 * output; memory stays bounded whatever the file size (the reader holds a few
 * chunks, the text buffers are flushed every MiB). Messages that cannot be
 * decoded are reported (the first few per channel) and skipped: exit status 3.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cmd.h"
#include "inspect.h"
#include "mcap/mcap.h"
#include "optgroups.h"
#include "output.h"
#include "pipeline/decode.h"

struct topic_args {
  const char *output;
  const char *format;
  cli_time_args time;
  const char *order;
  const char *bytes;
  uint64_t max_array;
  int json;
};

static const cli_opt topic_opts[] = {
    {"output", 'o', CLI_OPT_STRING, offsetof(struct topic_args, output), "OUT",
     "output file ('-' = standard output), or a directory for several topics as CSV; required"},
    {"format", 'f', CLI_OPT_STRING, offsetof(struct topic_args, format), "ndjson|csv",
     "output format (default: from OUT's extension, .csv or else ndjson)"},
    CLI_OPTS_TIME_RANGE(struct topic_args, time, "only messages logged at or after T",
                        "only messages logged at or before T"),
    {"order", 0, CLI_OPT_STRING, offsetof(struct topic_args, order), "log-time|file|reverse",
     "message order (default log-time)"},
    {"max-array", 0, CLI_OPT_U64, offsetof(struct topic_args, max_array), "N",
     "csv: columns for the first N elements of each array (default 16)"},
    {"bytes", 0, CLI_OPT_STRING, offsetof(struct topic_args, bytes), "length|base64",
     "byte arrays as their length (csv default) or base64 (ndjson default)"},
    {"json", 0, CLI_OPT_FLAG, offsetof(struct topic_args, json), NULL,
     "print the summary as JSON (not with -o -)"},
    {NULL, 0, CLI_OPT_FLAG, 0, NULL, NULL},
};

const cli_spec cmd_extract_topic_spec = {
    "extract topic",
    "FILE TOPIC... -o OUT [--format ndjson|csv] [options]",
    "Decodes the messages of each TOPIC of FILE ('-' = standard input) with the channel's\n"
    "schema (ros2msg/ros2idl + cdr, ros1msg + ros1, json, protobuf) and writes them as:\n"
    "ndjson: one line per message, {\"topic\", \"channel_id\", \"sequence\", \"log_time\",\n"
    "  \"publish_time\", \"message\"}, as 'mcapkit cat --decode' writes them;\n"
    "csv: a header line, then one row per message: log_time (ns), log_time_rfc3339, then\n"
    "  the flattened fields (pose.position.x, position[0]); arrays get columns for their\n"
    "  first --max-array elements and a <path>.count column when their length varies or is\n"
    "  larger; byte arrays are one column (their length unless --bytes base64); maps and\n"
    "  recursive types are one column of JSON. One table per topic: several topics need OUT\n"
    "  to be a directory (created if missing), with one TOPIC.csv each ('/' made '_').\n"
    "Integers beyond 2^53 (JSON strings) and NaN/Infinity are written exactly. Both ends of\n"
    "--start/--end are inclusive (T as for 'mcapkit cat'). Outputs appear only once complete.\n"
    "A topic without a decoder stops the command before anything is written (exit 1);\n"
    "messages that cannot be decoded are reported with their sequence, log time and byte\n"
    "offset, skipped, and give exit status 3.",
    topic_opts,
    2,
    -1,
    CLI_ARGS_FILES,
    NULL,
};

/* How the library reports to us. */
struct ui {
  const cli_ctx *ctx;
  cli_progress prog;
  int stream_failed; /* writing standard output failed: main() says so */
};

static void on_skip(void *user, const char *message, int more) {
  const struct ui *u = user;
  cli_error(u->ctx, "%s%s", message, more ? "" : " (further errors on this topic not shown)");
}

static void on_progress(void *user, uint64_t messages) {
  struct ui *u = user;
  cli_progress_update(&u->prog, "extract: %llu messages", (unsigned long long)messages);
}

static int write_stdout(void *user, const void *data, size_t len) {
  struct ui *u = user;
  if (fwrite(data, 1, len, stdout) == len) return 0;
  u->stream_failed = 1;
  return -1;
}

/* The summary on stdout. @return 0, or -1 when it could not be written. */
static int summary(const char *file, int csv, const pl_extract_result *res, int json,
                   const char *output) {
  if (json) {
    json_object *doc = cli_json_document();
    cli_json_add_str(doc, "file", file);
    cli_json_add_str(doc, "format", csv ? "csv" : "ndjson");
    cli_json_add_str(doc, "output", output);
    json_object *arr = json_object_new_array();
    for (size_t i = 0; i < res->n_channels; i++) {
      const pl_extract_channel *c = &res->channels[i];
      json_object *o = json_object_new_object();
      cli_json_add_strn(o, "topic", c->channel->topic.data, c->channel->topic.len);
      cli_json_add_u64(o, "channel_id", c->channel->id);
      cli_json_add_str(o, "decoder", c->decoder);
      cli_json_add_u64(o, "messages", c->messages);
      cli_json_add_u64(o, "written", c->messages - c->skipped);
      cli_json_add_u64(o, "skipped", c->skipped);
      cli_json_add_str(o, "output", c->output);
      if (csv) cli_json_add_u64(o, "columns", c->columns);
      json_object_array_add(arr, o);
    }
    json_object_object_add(doc, "channels", arr);
    return cli_json_print(stdout, doc);
  }
  cli_table t;
  cli_table_init(&t, 5, "lrrrl");
  cli_table_add(&t, "topic");
  cli_table_add(&t, "written");
  cli_table_add(&t, "skipped");
  cli_table_add(&t, csv ? "columns" : "");
  cli_table_add(&t, "output");
  for (size_t i = 0; i < res->n_channels; i++) {
    const pl_extract_channel *c = &res->channels[i];
    char *topic = cli_one_line_view(c->channel->topic);
    cli_table_add(&t, "%s", topic ? topic : "?");
    free(topic);
    cli_table_add(&t, "%llu", (unsigned long long)(c->messages - c->skipped));
    cli_table_add(&t, "%llu", (unsigned long long)c->skipped);
    if (csv)
      cli_table_add(&t, "%zu", c->columns);
    else
      cli_table_add(&t, "%s", "");
    cli_table_add(&t, "%s", c->output);
  }
  cli_table_print(&t, stdout, NULL);
  int oom = t.oom;
  cli_table_dispose(&t);
  return oom ? -1 : 0;
}

static int parse_order(const char *s, mcap_read_order *o) {
  if (!s || strcmp(s, "log-time") == 0 || strcmp(s, "log_time") == 0)
    *o = MCAP_ORDER_LOG_TIME;
  else if (strcmp(s, "file") == 0)
    *o = MCAP_ORDER_FILE;
  else if (strcmp(s, "reverse") == 0)
    *o = MCAP_ORDER_REVERSE;
  else
    return -1;
  return 0;
}

static int ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), k = strlen(suffix);
  return n >= k && strcmp(s + n - k, suffix) == 0;
}

int cmd_extract_topic(cli_ctx *ctx, int argc, char **argv) {
  const cli_spec *spec = &cmd_extract_topic_spec;
  struct topic_args a;
  memset(&a, 0, sizeof a);
  a.max_array = UINT64_MAX;
  int first;
  int rc = cli_parse(ctx, spec, argc, argv, &a, &first);
  if (rc != CLI_CONTINUE) return rc;
  if (!a.output || !*a.output) return cli_usage_error(spec, "missing '-o OUT'");

  const char *file = argv[first];
  pl_extract_options o;
  memset(&o, 0, sizeof o);
  int to_stdout = strcmp(a.output, "-") == 0;
  struct stat st;
  int is_dir = !to_stdout && stat(a.output, &st) == 0 && S_ISDIR(st.st_mode);
  if (a.format) {
    if (strcmp(a.format, "csv") == 0)
      o.csv = 1;
    else if (strcmp(a.format, "ndjson") != 0 && strcmp(a.format, "json") != 0)
      return cli_usage_error(spec, "unknown format '%s' (expected ndjson or csv)", a.format);
  } else {
    o.csv = ends_with(a.output, ".csv");
  }
  size_t n_topics = (size_t)(argc - first - 1);
  const char *const *topics = (const char *const *)argv + first + 1;
  o.to_dir = o.csv && (n_topics > 1 || is_dir);
  if (o.to_dir && to_stdout)
    return cli_usage_error(spec, "several topics as CSV need a directory, not '-o -'");
  if (!o.csv && is_dir)
    return cli_usage_error(spec, "'%s' is a directory; ndjson goes to one file", a.output);
  if (a.json && to_stdout)
    return cli_usage_error(spec, "'--json' prints a summary, which '-o -' leaves no room for");
  pl_csv_options_init(&o.csv_options);
  if (a.max_array != UINT64_MAX) {
    if (!o.csv) return cli_usage_error(spec, "'--max-array' applies to csv only");
    if (a.max_array > 100000) return cli_usage_error(spec, "--max-array: at most 100000");
    o.csv_options.max_array = (uint32_t)a.max_array;
  }
  if (a.bytes) {
    pl_bytes_mode m;
    if (strcmp(a.bytes, "base64") == 0)
      m = PL_BYTES_BASE64;
    else if (strcmp(a.bytes, "length") == 0)
      m = PL_BYTES_LENGTH;
    else
      return cli_usage_error(spec, "unknown --bytes '%s' (expected length or base64)", a.bytes);
    o.csv_options.bytes = m;
    o.json.bytes = m;
  }
  cli_time_range tr; /* both ends inclusive, as the query's (and cat's and filter's) */
  rc = cli_time_resolve(spec, &a.time, &tr);
  if (rc != CLI_CONTINUE) return rc;
  o.query.has_start = tr.has_start;
  o.query.start = tr.start;
  o.query.has_end = tr.has_end;
  o.query.end = tr.end;
  if (parse_order(a.order, &o.query.order) != 0)
    return cli_usage_error(spec, "unknown order '%s' (expected log-time, file or reverse)",
                           a.order);

  struct ui u = {ctx, {0}, 0};
  cli_progress_init(&u.prog, ctx);
  o.on_skip = on_skip;
  o.progress = on_progress;
  o.write_stream = write_stdout;
  o.user = &u;
  mcap_reader *rd = NULL;
  pl_extract_result *res = NULL;
  rc = cli_open_reader(ctx, file, 0, &rd);
  if (rc != CLI_EXIT_OK) return rc;
  pl_decode_error_info err;
  int prc = pl_extract_topics(rd, file, topics, n_topics, a.output, &o, &res, &err);
  cli_progress_done(&u.prog);
  if (prc != PL_DECODE_OK) {
    if (!u.stream_failed) cli_error(ctx, "%s", err.msg[0] ? err.msg : pl_decode_strerror(prc));
    rc = CLI_EXIT_FAILURE;
  } else if (to_stdout && fflush(stdout) != 0) {
    rc = CLI_EXIT_FAILURE; /* main() reports the write error of stdout */
  } else {
    rc = res->skipped ? CLI_EXIT_PROBLEMS : CLI_EXIT_OK;
    if (!to_stdout && summary(file, o.csv, res, a.json || ctx->json, a.output) != 0)
      rc = CLI_EXIT_FAILURE;
  }
  pl_extract_result_free(res);
  mcap_reader_free(rd);
  return rc;
}
