/*
 * cmd_cat.c - 'mcapkit cat FILE...': print messages, as aligned text lines or
 * as NDJSON (one object per message).
 *
 * pl_inspect does the work: pl_inspect_merge queries each file (topic selection
 * from pl_inspect_topics, time range, order) and merges them by log time (ties:
 * earlier file first; reversed for --order reverse), or concatenates them for
 * --order file. Standard input ('-') alone in file order is streamed with the
 * streamed reader (constant memory, works on endless pipes); otherwise it is
 * copied to a temporary file and queried like a file. NDJSON lines and data
 * previews come from pl_inspect_ndjson_line / pl_inspect_preview; this file
 * parses options, lays out text lines and reports problems. With --decode,
 * messages that cannot be decoded are reported (the first few per channel) and
 * skipped, and the exit status is 3.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "inspect.h"
#include "mcap/mcap.h"
#include "output.h"
#include "pipeline/decode.h"
#include "pipeline/inspect.h"
#include "pipeline/rewrite.h"
#include "optgroups.h"
#include "timeparse.h"

#define NO_LIMIT UINT64_MAX

struct cat_args {
  cli_strlist topics;
  cli_strlist topic_regex;
  cli_time_args time;
  const char *order;
  const char *format;
  const char *data;
  const char *time_format;
  uint64_t limit;
  int json;
  int decode;
  const char *bytes;
};

static const cli_opt cat_opts[] = {
    {"topics", 't', CLI_OPT_LIST, offsetof(struct cat_args, topics), "A,B",
     "only these topics (comma-separated, exact names; repeatable)"},
    {"topic-regex", 0, CLI_OPT_LIST, offsetof(struct cat_args, topic_regex), "RE",
     "only topics fully matching this POSIX extended regex (repeatable)"},
    CLI_OPTS_TIME_RANGE(struct cat_args, time, "only messages logged at or after T",
                        "only messages logged at or before T"),
    {"order", 0, CLI_OPT_STRING, offsetof(struct cat_args, order), "log-time|file|reverse",
     "message order (default log-time; file for '-' alone)"},
    {"format", 0, CLI_OPT_STRING, offsetof(struct cat_args, format), "text|ndjson",
     "output format (default text)"},
    {"data", 0, CLI_OPT_STRING, offsetof(struct cat_args, data), "auto|base64|none",
     "message data: auto (JSON for json channels, else base64), base64, or none"},
    {"limit", 'n', CLI_OPT_U64, offsetof(struct cat_args, limit), "N", "stop after N messages"},
    {"time-format", 0, CLI_OPT_STRING, offsetof(struct cat_args, time_format),
     "auto|rfc3339|seconds|ns", "how text lines print log times (default auto)"},
    {"json", 0, CLI_OPT_FLAG, offsetof(struct cat_args, json), NULL, "same as --format ndjson"},
    {"decode", 0, CLI_OPT_FLAG, offsetof(struct cat_args, decode), NULL,
     "decode messages with their schema: NDJSON with the value under \"message\""},
    {"bytes", 0, CLI_OPT_STRING, offsetof(struct cat_args, bytes), "base64|length",
     "with --decode: byte arrays as base64 (default) or as their length"},
    {NULL, 0, CLI_OPT_FLAG, 0, NULL, NULL},
};

const cli_spec cmd_cat_spec = {
    "cat",
    "[options] FILE...",
    "Prints the messages of each FILE ('-' = standard input). Several files are merged in\n"
    "log-time order (ties: earlier file first); --order file prints them one after another.\n"
    "A channel is selected when no topic filter is given, or when its topic is listed in\n"
    "--topics or fully matches a --topic-regex. Both ends of --start/--end are inclusive.\n"
    "T is an RFC 3339 time (2026-01-01T00:00:00.5Z, 2026-01-01T02:00:00+02:00) or date\n"
    "(2026-01-01), a number with a unit (1767225600s, 1767225600.5s, 1767225600500ms, us, ns)\n"
    "or a bare integer: nanoseconds.\n"
    "text: one line per message: log time, topic, [schema], sequence, size and a preview.\n"
    "ndjson: one object per line with \"topic\", \"channel_id\", \"sequence\", \"log_time\" and\n"
    "\"publish_time\" (nanoseconds as decimal strings), \"data_encoding\" and \"data\": the JSON\n"
    "value itself for the json message encoding (when it parses), else base64. These message\n"
    "lines carry no \"format_version\" key.\n"
    "--decode: ndjson with the decoded message under \"message\" instead of \"data\" (ros2msg/\n"
    "ros2idl + cdr, ros1msg + ros1, json, protobuf); integers beyond 2^53 and NaN/Infinity are\n"
    "strings. A channel without a decoder, or a message that does not decode, is reported on\n"
    "stderr (topic, sequence, log time, byte offset) and skipped; the exit status is then 3.",
    cat_opts,
    1,
    -1,
    CLI_ARGS_FILES,
    NULL,
};

/* ------------------------------------------------------------ output */

#define OBUF_CAP (1u << 20)

struct cat {
  const cli_ctx *ctx;
  pl_inspect_topics *topics;
  int has_start, has_end;
  uint64_t start, end; /* [start, end] */
  mcap_read_order order;
  int ndjson, decode;
  pl_inspect_data data;
  pl_bytes_mode bytes; /* --decode: how byte arrays are written */
  cli_time_style style;
  uint64_t limit, printed;
  pl_text ob; /* written with fwrite once it holds OBUF_CAP bytes */
  int err;    /* writing stdout failed */
  pl_inspect_columns cols; /* of text lines, grown as needed */
  int worst;               /* exit code for problems met so far */
  int oom;
};

static int ob_flush(void *ctx, pl_text *t) {
  struct cat *c = ctx;
  if (t->len && !c->err && fwrite(t->data, 1, t->len, stdout) != t->len) c->err = 1;
  t->len = 0;
  return c->err;
}

static void note_problem(struct cat *c, int mcap_rc) {
  int code = mcap_rc == MCAP_EIO || mcap_rc == MCAP_ENOMEM ? CLI_EXIT_FAILURE : CLI_EXIT_PROBLEMS;
  if (code == CLI_EXIT_FAILURE || c->worst == CLI_EXIT_OK) c->worst = code;
}

#define SHOWN_DECODE_ERRORS 5 /* per channel; later ones are counted in the exit status only */

static void write_ndjson(struct cat *c, pl_inspect_ndjson *w, const char *path, size_t input,
                         const mcap_message_view *v) {
  pl_inspect_skip skip;
  int rc = pl_inspect_ndjson_line(w, input, v, &c->ob, &skip);
  if (rc == PL_OK) {
    c->printed++;
  } else if (rc == PL_ENOMEM) {
    c->oom = 1;
  } else if (rc == PL_EPARTIAL && skip.no_decoder) {
    if (skip.nth == 1) {
      cli_error(c->ctx, "'%s': %s; its messages are skipped", path, skip.msg);
      note_problem(c, MCAP_ERECORD);
    }
  } else if (rc == PL_EPARTIAL) {
    note_problem(c, MCAP_ERECORD);
    if (skip.nth <= SHOWN_DECODE_ERRORS)
      cli_error(c->ctx, "'%s': %s%s", path, skip.msg,
                skip.nth == SHOWN_DECODE_ERRORS ? " (further errors on this topic not shown)"
                                                : "");
  }
}

static void write_text(struct cat *c, const mcap_message_view *v) {
  char tb[CLI_FMT_SIZE];
  const char *t = cli_fmt_time_as(tb, sizeof tb, v->message.log_time, c->style);
  if (pl_inspect_text_line(&c->cols, t, v, c->data, &c->ob) == PL_OK)
    c->printed++;
  else
    c->oom = 1;
}

/* ------------------------------------------------------------ the command */

struct cat_input {
  const char *path;
  mcap_reader *r; /* NULL for a stream */
};

/* What one input could not give: said on stderr, counted in the exit status. */
static void input_failed(struct cat *c, const pl_inspect_merge *m, const struct cat_input *in,
                         size_t i, int rc) {
  mcap_damage d;
  if (rc == MCAP_ENOMEM) {
    c->oom = 1;
    return;
  }
  if (pl_inspect_merge_damage(m, i, &d)) {
    if (cli_report_damage(c->ctx, in->path, &d) == CLI_EXIT_FAILURE) rc = MCAP_EIO;
  } else {
    cli_error(c->ctx, "'%s': %s", in->path, pl_inspect_merge_errmsg(m));
  }
  note_problem(c, rc);
}

static int open_input(struct cat *c, pl_inspect_merge *m, struct cat_input *in, int stream,
                      int threads) {
  if (!stream) {
    int rc = cli_open_reader(c->ctx, in->path, threads, &in->r);
    if (rc != CLI_EXIT_OK) return rc;
    if (pl_inspect_merge_add_reader(m, in->r) == MCAP_OK) return CLI_EXIT_OK;
    cli_error(c->ctx, "'%s': %s", in->path, pl_inspect_merge_errmsg(m));
    return CLI_EXIT_FAILURE;
  }
  if (strcmp(in->path, "-") == 0 && cli_check_stdin(c->ctx) != CLI_EXIT_OK) return CLI_EXIT_USAGE;
  mcap_source src;
  if (cli_open_stream(c->ctx, in->path, "standard input", &src) != CLI_EXIT_OK)
    return CLI_EXIT_FAILURE;
  if (pl_inspect_merge_add_stream(m, &src) == MCAP_OK) return CLI_EXIT_OK;
  cli_error(c->ctx, "out of memory");
  return CLI_EXIT_FAILURE;
}

/* Every message in order, rendered; stops at the limit or when output fails. */
static void run(struct cat *c, pl_inspect_merge *m, pl_inspect_ndjson *w,
                const struct cat_input *ins) {
  while (!c->err && !c->oom && c->printed < c->limit) {
    const mcap_message_view *v;
    size_t i = 0;
    int rc = pl_inspect_merge_next(m, &v, &i);
    if (rc == MCAP_ITEROVER) break;
    if (rc != MCAP_OK) {
      input_failed(c, m, &ins[i], i, rc);
      continue;
    }
    if (c->ndjson)
      write_ndjson(c, w, ins[i].path, i, v);
    else
      write_text(c, v);
    if (c->ob.len >= OBUF_CAP) ob_flush(c, &c->ob);
  }
}

static int make_topics(struct cat *c, const struct cat_args *a) {
  pl_error_info err;
  int rc = pl_inspect_topics_create(&c->topics, (const char *const *)a->topics.items, a->topics.n,
                                    (const char *const *)a->topic_regex.items, a->topic_regex.n,
                                    &err);
  if (rc == PL_EINVAL) /* "bad regex 'RE': why" */
    return cli_usage_error(&cmd_cat_spec, "bad --topic-regex %s", err.msg + strlen("bad regex "));
  if (rc == PL_OK) return CLI_CONTINUE;
  cli_error(c->ctx, "out of memory");
  return CLI_EXIT_FAILURE;
}

/* v among names[] ("name=value"; aliases share a value) into *out. @return 0, or the usage
 * error "unknown WHAT 'v' (expected EXPECTED)". */
static int pick(const char *what, const char *v, const char *expected, const char *const *names,
                int *out) {
  for (; *names; names++) {
    size_t len = strcspn(*names, "=");
    if (strlen(v) == len && strncmp(*names, v, len) == 0) {
      *out = (*names)[len + 1] - '0';
      return 0;
    }
  }
  return cli_usage_error(&cmd_cat_spec, "unknown %s '%s' (expected %s)", what, v, expected);
}

static int parse_options(struct cat *c, const struct cat_args *a, const cli_ctx *ctx, int n_files,
                         int only_stdin) {
  static const char *const formats[] = {"ndjson=1", "json=1", "text=0", NULL};
  static const char *const datas[] = {"auto=0", "base64=1", "none=2", NULL};
  static const char *const orders[] = {"file=0", "log-time=1", "log_time=1", "reverse=2", NULL};
  static const char *const bytes[] = {"base64=1", "length=2", NULL};
  _Static_assert(PL_INSPECT_DATA_BASE64 == 1 && PL_INSPECT_DATA_NONE == 2 &&
                     MCAP_ORDER_FILE == 0 && MCAP_ORDER_LOG_TIME == 1 && MCAP_ORDER_REVERSE == 2 &&
                     PL_BYTES_BASE64 == 1 && PL_BYTES_LENGTH == 2,
                 "the values of the tables above");
  int v = 0;
  cli_time_range tr;
  int rc = cli_time_resolve(&cmd_cat_spec, &a->time, &tr);
  if (rc != CLI_CONTINUE) return rc;
  c->has_start = tr.has_start;
  c->has_end = tr.has_end;
  c->start = tr.start;
  c->end = tr.end;
  c->ndjson = a->json || ctx->json;
  if (a->format) {
    if (pick("format", a->format, "text or ndjson", formats, &v)) return CLI_EXIT_USAGE;
    if (!v && a->json) return cli_usage_error(&cmd_cat_spec, "'--json' conflicts with '--format text'");
    c->ndjson = v;
  }
  if (a->data && pick("--data", a->data, "auto, base64 or none", datas, &v)) return CLI_EXIT_USAGE;
  c->data = a->data ? (pl_inspect_data)v : PL_INSPECT_DATA_AUTO;
  c->order = only_stdin && n_files == 1 ? MCAP_ORDER_FILE : MCAP_ORDER_LOG_TIME;
  if (a->order) {
    if (pick("order", a->order, "log-time, file or reverse", orders, &v)) return CLI_EXIT_USAGE;
    c->order = (mcap_read_order)v;
  }
  if (a->decode) {
    if (a->format && strcmp(a->format, "text") == 0)
      return cli_usage_error(&cmd_cat_spec, "--decode writes ndjson, not '--format text'");
    if (a->data) return cli_usage_error(&cmd_cat_spec, "'--data' and '--decode' exclude each other");
    c->decode = 1;
    c->ndjson = 1;
  }
  if (a->bytes) {
    if (!a->decode) return cli_usage_error(&cmd_cat_spec, "'--bytes' applies to --decode only");
    if (pick("--bytes", a->bytes, "base64 or length", bytes, &v)) return CLI_EXIT_USAGE;
    c->bytes = (pl_bytes_mode)v;
  }
  if (a->time_format && cli_time_style_parse(a->time_format, &c->style) != 0)
    return cli_usage_error(&cmd_cat_spec, "unknown time format '%s' (expected %s)", a->time_format,
                           CLI_TIME_STYLE_CHOICES);
  return CLI_CONTINUE;
}

int cmd_cat(cli_ctx *ctx, int argc, char **argv) {
  struct cat_args a;
  memset(&a, 0, sizeof a);
  a.limit = NO_LIMIT;
  int first;
  int rc = cli_parse(ctx, &cmd_cat_spec, argc, argv, &a, &first);
  if (rc != CLI_CONTINUE) return rc;

  struct cat c;
  memset(&c, 0, sizeof c);
  c.ctx = ctx;
  size_t n = (size_t)(argc - first);
  int n_stdin = 0;
  for (int i = first; i < argc; i++) n_stdin += strcmp(argv[i], "-") == 0;
  /* one stream ('-', a pipe, /dev/fd/N): read as it comes, in file order by default */
  int one_stream = n == 1 && (n_stdin == 1 || pl_input_is_stream(argv[first]));
  struct cat_input *ins = NULL;
  pl_inspect_merge *m = NULL;
  pl_inspect_ndjson *w = NULL;
  rc = parse_options(&c, &a, ctx, (int)n, one_stream);
  if (rc != CLI_CONTINUE) goto out;
  rc = CLI_EXIT_OK;
  if (n_stdin > 1) {
    rc = cli_usage_error(&cmd_cat_spec, "standard input ('-') can be given only once");
    goto out;
  }
  c.limit = a.limit;
  c.worst = CLI_EXIT_OK;
  rc = make_topics(&c, &a);
  if (rc != CLI_CONTINUE) goto out;
  pl_inspect_merge_options mo = {pl_inspect_topics_match, c.topics, c.has_start, c.has_end,
                                 c.start, c.end, c.order, pl_inspect_columns_grow, &c.cols};
  pl_inspect_ndjson_options no = {c.data, c.decode, {c.bytes}, ob_flush, &c};
  ins = calloc(n, sizeof *ins);
  c.ob.data = malloc(OBUF_CAP);
  if (!ins || !c.ob.data || pl_inspect_merge_create(&m, &mo) != PL_OK ||
      pl_inspect_ndjson_create(&w, &no) != PL_OK) {
    cli_error(ctx, "out of memory");
    rc = CLI_EXIT_FAILURE;
    goto out;
  }
  c.ob.cap = OBUF_CAP;
  c.cols.seq = 5; /* typical widths, so columns rarely shift; they grow when needed */
  c.cols.size = 7;
  for (size_t i = 0; i < n; i++) {
    ins[i].path = argv[first + (int)i];
    /* many inputs: one decompression thread each, not one per core each */
    rc = open_input(&c, m, &ins[i], one_stream && c.order == MCAP_ORDER_FILE, n >= 4 ? 1 : 0);
    if (rc != CLI_EXIT_OK) goto out;
  }
  run(&c, m, w, ins);
  ob_flush(&c, &c.ob);
  if (c.oom) {
    cli_error(ctx, "out of memory");
    rc = CLI_EXIT_FAILURE;
  } else if (c.err) {
    /* main() reports the write error of stdout, or ends quietly if the reader went away */
    rc = ferror(stdout) ? CLI_EXIT_OK : CLI_EXIT_FAILURE;
  } else {
    rc = c.worst;
  }
  if (c.printed == 0 && pl_inspect_topics_any(c.topics) && c.cols.topic == 0)
    cli_verbose(ctx, "no channel matches the topic filter");
out:
  pl_inspect_merge_free(m); /* before the readers it queries */
  pl_inspect_ndjson_free(w);
  for (size_t i = 0; ins && i < n; i++) {
    int drc = ins[i].r ? cli_close_reader(ctx, ins[i].path, ins[i].r) : CLI_EXIT_OK;
    if (rc == CLI_EXIT_OK) rc = drc;
  }
  free(ins);
  pl_text_dispose(&c.ob);
  pl_inspect_topics_free(c.topics);
  cli_opt_dispose(&cmd_cat_spec, &a);
  return rc;
}
