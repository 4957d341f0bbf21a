/*
 * cmd_extract_topic.c - 'mcapkit extract topic FILE TOPIC... -o OUT': the
 * decoded messages of some topics as NDJSON or CSV (cmd_extract.c hands
 * 'extract topic ...' over to this file).
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
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"
#include "inspect.h"
#include "mcap/mcap.h"
#include "optgroups.h"
#include "output.h"
#include "pipeline/decode.h"

#define FLUSH_AT ((size_t)1 << 20)
#define SHOWN_DECODE_ERRORS 5 /* per channel */

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

/* One output: an atomic file sink or standard output, with a text buffer. */
struct out {
  char *path; /* NULL: standard output */
  mcap_sink sink;
  int open;
  pl_text text;
  uint64_t rows;
  int failed;
};

/* A selected channel. */
struct chan {
  const mcap_channel *ch;
  pl_decoder *dec;
  pl_csv *csv; /* csv: the topic's table layout (made from its first channel) */
  int owns_csv;
  struct out *out; /* where its rows go */
  uint64_t messages, skipped;
};

struct run {
  const cli_ctx *ctx;
  const char *file;
  int csv;
  pl_json_options jo;
  pl_csv_options co;
  struct chan *chans;
  size_t n_chans;
  struct chan **by_id; /* 65536 slots */
  struct out *outs;
  size_t n_outs;
  int worst;
};

static int out_flush(struct run *r, struct out *o) {
  if (!o->text.len || o->failed) {
    o->text.len = 0;
    return o->failed ? -1 : 0;
  }
  mcap_error_info err;
  if (o->path) {
    if (o->sink.write(o->sink.payload, o->text.data, o->text.len, &err) != MCAP_OK) {
      cli_error(r->ctx, "cannot write '%s': %s", o->path, err.msg);
      o->failed = 1;
    }
  } else if (fwrite(o->text.data, 1, o->text.len, stdout) != o->text.len) {
    o->failed = 1; /* main() reports the write error of stdout */
  }
  o->text.len = 0;
  return o->failed ? -1 : 0;
}

static int out_open(struct run *r, struct out *o, const char *path) {
  memset(o, 0, sizeof *o);
  if (strcmp(path, "-") == 0) return 0;
  o->path = strdup(path);
  mcap_error_info err;
  if (!o->path) {
    cli_error(r->ctx, "out of memory");
    return -1;
  }
  if (mcap_sink_open_file(&o->sink, path, &err) != MCAP_OK) {
    char buf[600];
    cli_error(r->ctx, "%s", cli_open_error(buf, sizeof buf, path, &err, MCAP_EIO));
    return -1;
  }
  o->open = 1;
  return 0;
}

static int out_commit(struct run *r, struct out *o) {
  if (out_flush(r, o) != 0) return -1;
  if (!o->path) return fflush(stdout) == 0 ? 0 : -1;
  mcap_error_info err;
  if (mcap_sink_commit(&o->sink, &err) != MCAP_OK) {
    cli_error(r->ctx, "cannot write '%s': %s", o->path, err.msg);
    return -1;
  }
  return 0;
}

static void out_dispose(struct out *o) {
  if (o->open) mcap_sink_close(&o->sink, NULL); /* without a commit: discarded */
  free(o->path);
  pl_text_dispose(&o->text);
}

/* "camera/front/image.csv" -> "camera_front_image.csv": one safe path component. */
static char *csv_name(const char *dir, mcap_str topic, unsigned n) {
  size_t cap = strlen(dir) + topic.len + 32;
  char *p = malloc(cap);
  if (!p) return NULL;
  size_t o = (size_t)snprintf(p, cap, "%s/", dir);
  size_t start = o;
  for (uint32_t i = 0; i < topic.len && o + 24 < cap; i++) {
    unsigned char c = (unsigned char)topic.data[i];
    if (o == start && (c == '/' || c == '.')) continue; /* no leading '/' or hidden file */
    int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
             c == '-' || c == '.' || c == '_';
    p[o++] = ok ? (char)c : '_';
  }
  if (o == start) o += (size_t)snprintf(p + o, cap - o, "topic");
  if (n) o += (size_t)snprintf(p + o, cap - o, "-%u", n);
  snprintf(p + o, cap - o, ".csv");
  return p;
}

static int same_schema(const mcap_schema *a, const mcap_schema *b) {
  if (!a || !b) return a == b;
  return a->encoding.len == b->encoding.len && a->data.len == b->data.len &&
         a->name.len == b->name.len && memcmp(a->name.data, b->name.data, a->name.len) == 0 &&
         memcmp(a->encoding.data, b->encoding.data, a->encoding.len) == 0 &&
         (a->data.len == 0 || memcmp(a->data.data, b->data.data, (size_t)a->data.len) == 0);
}

/* The channels of the topics, their decoders and layouts; nothing is written yet.
 * chans[topic_first[t]] .. are topic t's. @return an exit code. */
static int select_topics(struct run *r, mcap_reader *rd, char **topics, size_t n_topics,
                         size_t *topic_first) {
  size_t nch = mcap_reader_channel_count(rd);
  r->chans = calloc(nch ? nch : 1, sizeof *r->chans);
  r->by_id = calloc(65536, sizeof *r->by_id);
  r->outs = calloc(n_topics, sizeof *r->outs);
  if (!r->chans || !r->by_id || !r->outs) {
    cli_error(r->ctx, "out of memory");
    return CLI_EXIT_FAILURE;
  }
  for (size_t t = 0; t < n_topics; t++) {
    size_t first = r->n_chans;
    topic_first[t] = first;
    for (size_t i = 0; i < nch; i++) {
      const mcap_channel *ch = mcap_reader_channel_at(rd, i);
      if (ch->topic.len != strlen(topics[t]) || memcmp(ch->topic.data, topics[t], ch->topic.len))
        continue;
      if (r->by_id[ch->id]) continue; /* the topic was named twice */
      const mcap_schema *s = ch->schema_id ? mcap_reader_schema(rd, ch->schema_id) : NULL;
      struct chan *c = &r->chans[r->n_chans++];
      c->ch = ch;
      r->by_id[ch->id] = c;
      pl_decoder_spec spec;
      pl_decode_error_info err;
      pl_decoder_spec_from(&spec, ch, s);
      if (pl_decoder_create(&c->dec, &spec, NULL, &err) != PL_DECODE_OK) {
        cli_error(r->ctx, "'%s': %s", r->file, err.msg);
        return CLI_EXIT_FAILURE;
      }
      if (!r->csv) continue;
      if (r->n_chans > first + 1) {
        /* one table per topic: its channels must share the schema */
        const mcap_channel *f = r->chans[first].ch;
        const mcap_schema *fs = f->schema_id ? mcap_reader_schema(rd, f->schema_id) : NULL;
        if (!same_schema(fs, s) || f->message_encoding.len != ch->message_encoding.len ||
            memcmp(f->message_encoding.data, ch->message_encoding.data, ch->message_encoding.len)) {
          cli_error(r->ctx,
                    "'%s': topic '%s' has channels with different schemas; one CSV table cannot "
                    "hold them (use --format ndjson)",
                    r->file, topics[t]);
          return CLI_EXIT_FAILURE;
        }
        c->csv = r->chans[first].csv; /* same schema: the same columns */
      } else {
        if (pl_csv_create(&c->csv, c->dec, &r->co, &err) != PL_DECODE_OK) {
          cli_error(r->ctx, "'%s': topic '%s': %s", r->file, topics[t], err.msg);
          return CLI_EXIT_FAILURE;
        }
        c->owns_csv = 1;
      }
    }
    if (r->n_chans == first) {
      int dup = 0; /* named twice: the earlier mention has its channels already */
      for (size_t k = 0; k < t; k++) dup |= strcmp(topics[k], topics[t]) == 0;
      if (dup) continue;
      cli_error(r->ctx, "'%s': no channel has topic '%s'", r->file, topics[t]);
      return CLI_EXIT_FAILURE;
    }
  }
  return CLI_EXIT_OK;
}

/* The outputs (after select_topics) and the CSV headers. @return an exit code. */
static int open_outputs(struct run *r, size_t n_topics, const size_t *topic_first,
                        const char *output, int dir) {
  if (!dir) {
    r->n_outs = 1;
    if (out_open(r, &r->outs[0], output) != 0) return CLI_EXIT_FAILURE;
  }
  for (size_t t = 0; t < n_topics; t++) {
    size_t first = topic_first[t];
    size_t end = t + 1 < n_topics ? topic_first[t + 1] : r->n_chans;
    if (first == end) continue; /* a topic named twice */
    struct out *o = &r->outs[0];
    if (dir) {
      /* one file per topic, numbered when two topics make the same name */
      o = &r->outs[r->n_outs];
      char *path = NULL;
      for (unsigned n = 0; n < 1000 && !path; n++) {
        path = csv_name(output, r->chans[first].ch->topic, n);
        if (!path) break;
        for (size_t k = 0; k < r->n_outs && path; k++)
          if (strcmp(r->outs[k].path, path) == 0) {
            free(path);
            path = NULL;
          }
      }
      if (!path) {
        cli_error(r->ctx, "out of memory");
        return CLI_EXIT_FAILURE;
      }
      int rc = out_open(r, o, path);
      free(path);
      r->n_outs++;
      if (rc != 0) return CLI_EXIT_FAILURE;
    }
    for (size_t i = first; i < end; i++) r->chans[i].out = o;
    if (r->csv && pl_csv_write_header(r->chans[first].csv, &o->text) != PL_DECODE_OK) {
      cli_error(r->ctx, "out of memory");
      return CLI_EXIT_FAILURE;
    }
  }
  return CLI_EXIT_OK;
}

/* The channel predicate of the query. */
static int selected(void *ctx, const mcap_channel *ch, const mcap_schema *schema) {
  (void)schema;
  struct run *r = ctx;
  return r->by_id[ch->id] != NULL;
}

static void problem(struct run *r) {
  if (r->worst == CLI_EXIT_OK) r->worst = CLI_EXIT_PROBLEMS;
}

/* One message into its output. @return 0, or -1 for a fatal error (printed). */
static int one(struct run *r, const mcap_message_view *v) {
  struct chan *c = r->by_id[v->channel->id];
  const pl_value *val;
  c->messages++;
  int rc = pl_decoder_decode(c->dec, &v->message, &val);
  if (rc == PL_DECODE_ENOMEM) {
    cli_error(r->ctx, "out of memory");
    return -1;
  }
  if (rc != PL_DECODE_OK) {
    c->skipped++;
    problem(r);
    if (c->skipped <= SHOWN_DECODE_ERRORS)
      cli_error(
          r->ctx, "'%s': %s%s", r->file, pl_decoder_errmsg(c->dec),
          c->skipped == SHOWN_DECODE_ERRORS ? " (further errors on this topic not shown)" : "");
    return 0;
  }
  struct out *o = c->out;
  if (r->csv)
    rc = pl_csv_write_row(c->csv, v->message.log_time, val, &o->text);
  else
    rc = pl_decode_ndjson_line(v->channel, &v->message, val, &r->jo, &o->text);
  if (rc != PL_DECODE_OK) {
    cli_error(r->ctx, "out of memory");
    return -1;
  }
  o->rows++;
  if (o->text.len >= FLUSH_AT && out_flush(r, o) != 0) return -1;
  return 0;
}

/* The summary on stdout. @return 0, or -1 when it could not be written. */
static int summary(const struct run *r, int json, const char *output) {
  if (json) {
    json_object *doc = cli_json_document();
    cli_json_add_str(doc, "file", r->file);
    cli_json_add_str(doc, "format", r->csv ? "csv" : "ndjson");
    cli_json_add_str(doc, "output", output);
    json_object *arr = json_object_new_array();
    for (size_t i = 0; i < r->n_chans; i++) {
      const struct chan *c = &r->chans[i];
      json_object *o = json_object_new_object();
      cli_json_add_strn(o, "topic", c->ch->topic.data, c->ch->topic.len);
      cli_json_add_u64(o, "channel_id", c->ch->id);
      cli_json_add_str(o, "decoder", pl_decoder_format(c->dec));
      cli_json_add_u64(o, "messages", c->messages);
      cli_json_add_u64(o, "written", c->messages - c->skipped);
      cli_json_add_u64(o, "skipped", c->skipped);
      cli_json_add_str(o, "output", c->out->path ? c->out->path : "-");
      if (c->csv) cli_json_add_u64(o, "columns", pl_csv_column_count(c->csv));
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
  cli_table_add(&t, r->csv ? "columns" : "");
  cli_table_add(&t, "output");
  for (size_t i = 0; i < r->n_chans; i++) {
    const struct chan *c = &r->chans[i];
    char *topic = cli_one_line_view(c->ch->topic);
    cli_table_add(&t, "%s", topic ? topic : "?");
    free(topic);
    cli_table_add(&t, "%llu", (unsigned long long)(c->messages - c->skipped));
    cli_table_add(&t, "%llu", (unsigned long long)c->skipped);
    if (c->csv)
      cli_table_add(&t, "%zu", pl_csv_column_count(c->csv));
    else
      cli_table_add(&t, "%s", "");
    cli_table_add(&t, "%s", c->out->path ? c->out->path : "-");
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

  struct run r;
  memset(&r, 0, sizeof r);
  r.ctx = ctx;
  r.file = argv[first];
  r.worst = CLI_EXIT_OK;
  int to_stdout = strcmp(a.output, "-") == 0;
  struct stat st;
  int is_dir = !to_stdout && stat(a.output, &st) == 0 && S_ISDIR(st.st_mode);
  if (a.format) {
    if (strcmp(a.format, "csv") == 0)
      r.csv = 1;
    else if (strcmp(a.format, "ndjson") != 0 && strcmp(a.format, "json") != 0)
      return cli_usage_error(spec, "unknown format '%s' (expected ndjson or csv)", a.format);
  } else {
    r.csv = ends_with(a.output, ".csv");
  }
  size_t n_topics = (size_t)(argc - first - 1);
  char **topics = argv + first + 1;
  int dir = r.csv && (n_topics > 1 || is_dir);
  if (dir && to_stdout)
    return cli_usage_error(spec, "several topics as CSV need a directory, not '-o -'");
  if (!r.csv && is_dir)
    return cli_usage_error(spec, "'%s' is a directory; ndjson goes to one file", a.output);
  if (a.json && to_stdout)
    return cli_usage_error(spec, "'--json' prints a summary, which '-o -' leaves no room for");
  pl_csv_options_init(&r.co);
  if (a.max_array != UINT64_MAX) {
    if (!r.csv) return cli_usage_error(spec, "'--max-array' applies to csv only");
    if (a.max_array > 100000) return cli_usage_error(spec, "--max-array: at most 100000");
    r.co.max_array = (uint32_t)a.max_array;
  }
  if (a.bytes) {
    pl_bytes_mode m;
    if (strcmp(a.bytes, "base64") == 0)
      m = PL_BYTES_BASE64;
    else if (strcmp(a.bytes, "length") == 0)
      m = PL_BYTES_LENGTH;
    else
      return cli_usage_error(spec, "unknown --bytes '%s' (expected length or base64)", a.bytes);
    r.co.bytes = m;
    r.jo.bytes = m;
  }
  mcap_query q;
  memset(&q, 0, sizeof q);
  cli_time_range tr; /* both ends inclusive, as the query's (and cat's and filter's) */
  rc = cli_time_resolve(spec, &a.time, &tr);
  if (rc != CLI_CONTINUE) return rc;
  q.has_start = tr.has_start;
  q.start = tr.start;
  q.has_end = tr.has_end;
  q.end = tr.end;
  if (parse_order(a.order, &q.order) != 0)
    return cli_usage_error(spec, "unknown order '%s' (expected log-time, file or reverse)",
                           a.order);

  mcap_reader *rd = NULL;
  mcap_message_iter *it = NULL;
  int made_dir = 0;
  size_t *topic_first = calloc(n_topics, sizeof *topic_first);
  cli_progress prog;
  cli_progress_init(&prog, ctx);
  if (!topic_first) {
    cli_error(ctx, "out of memory");
    return CLI_EXIT_FAILURE;
  }
  rc = cli_open_reader(ctx, r.file, 0, &rd);
  if (rc != CLI_EXIT_OK) goto out;
  rc = select_topics(&r, rd, topics, n_topics, topic_first);
  if (rc != CLI_EXIT_OK) goto out;
  if (dir && !is_dir) {
    if (mkdir(a.output, 0777) != 0) {
      cli_error(ctx, "cannot create directory '%s': %s", a.output, strerror(errno));
      rc = CLI_EXIT_FAILURE;
      goto out;
    }
    made_dir = 1;
  }
  rc = open_outputs(&r, n_topics, topic_first, a.output, dir);
  if (rc != CLI_EXIT_OK) goto out;
  q.channel_filter = selected;
  q.channel_filter_ctx = &r;
  if (mcap_reader_query(rd, &q, &it) != MCAP_OK) {
    cli_error(ctx, "'%s': %s", r.file, mcap_reader_errmsg(rd));
    rc = CLI_EXIT_FAILURE;
    goto out;
  }
  mcap_message_view v;
  uint64_t n = 0;
  int mrc;
  while ((mrc = mcap_message_iter_next(it, &v)) == MCAP_OK) {
    if (one(&r, &v) != 0) {
      rc = CLI_EXIT_FAILURE;
      goto out;
    }
    if ((++n & 4095) == 0)
      cli_progress_update(&prog, "extract: %llu messages", (unsigned long long)n);
  }
  if (mrc != MCAP_ITEROVER) {
    cli_error(ctx, "'%s': %s", r.file, mcap_reader_errmsg(rd));
    rc = CLI_EXIT_FAILURE;
    goto out;
  }
  cli_progress_done(&prog);
  for (size_t i = 0; i < r.n_outs; i++)
    if (out_commit(&r, &r.outs[i]) != 0) {
      rc = CLI_EXIT_FAILURE;
      goto out;
    }
  made_dir = 0; /* it holds the outputs now */
  rc = r.worst;
  if (!to_stdout && summary(&r, a.json || ctx->json, a.output) != 0) rc = CLI_EXIT_FAILURE;
out:
  cli_progress_done(&prog);
  mcap_message_iter_free(it);
  for (size_t i = 0; i < r.n_chans; i++) {
    if (r.chans[i].owns_csv) pl_csv_free(r.chans[i].csv);
    pl_decoder_free(r.chans[i].dec);
  }
  for (size_t i = 0; i < r.n_outs; i++) out_dispose(&r.outs[i]);
  if (made_dir) rmdir(a.output); /* ours and empty: nothing was written */
  free(topic_first);
  free(r.outs);
  free(r.chans);
  free(r.by_id);
  mcap_reader_free(rd);
  return rc;
}
