/*
 * cmd_cat.c - 'mcapkit cat FILE...': print messages, as aligned text lines or
 * as NDJSON (one object per message).
 *
 * Each file gets one indexed-reader query (topic/regex filter through the
 * query's channel_filter, time range, order); several files are merged with a
 * heap keyed by log time (ties: earlier file first; reversed for --order
 * reverse), or concatenated for --order file. Standard input ('-') alone in
 * file order is streamed with the streamed reader (constant memory, works on
 * endless pipes); otherwise it is copied to a temporary file and queried like
 * a file.
 *
 * Output goes through one large buffer written with fwrite; NDJSON lines are
 * built by hand (no json-c objects per message) so that cat is fast.
 */
#include <regex.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base64.h"
#include "cmd.h"
#include "inspect.h"
#include "mcap/mcap.h"
#include "output.h"
#include "pipeline/pipeline.h"
#include "timeparse.h"

#define NO_LIMIT UINT64_MAX

struct cat_args {
  cli_strlist topics;
  cli_strlist topic_regex;
  const char *start;
  const char *end;
  const char *order;
  const char *format;
  const char *data;
  const char *time_format;
  uint64_t limit;
  int json;
};

static const cli_opt cat_opts[] = {
    {"topics", 't', CLI_OPT_LIST, offsetof(struct cat_args, topics), "A,B",
     "only these topics (comma-separated, exact names; repeatable)"},
    {"topic-regex", 0, CLI_OPT_LIST, offsetof(struct cat_args, topic_regex), "RE",
     "only topics fully matching this POSIX extended regex (repeatable)"},
    {"start", 'S', CLI_OPT_STRING, offsetof(struct cat_args, start), "T",
     "only messages logged at or after T"},
    {"end", 'E', CLI_OPT_STRING, offsetof(struct cat_args, end), "T",
     "only messages logged at or before T"},
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
    "lines carry no \"format_version\" key.",
    cat_opts,
    1,
    -1,
    CLI_ARGS_FILES,
    NULL,
};

enum cat_data { DATA_AUTO, DATA_BASE64, DATA_NONE };

/* ------------------------------------------------------------ output buffer */

#define OBUF_CAP (1u << 20)

struct obuf {
  char *p;
  size_t len, cap;
  int err;
  int mem; /* a memory buffer: grows instead of being flushed to stdout */
};

static void ob_flush(struct obuf *o) {
  if (o->len && !o->err && fwrite(o->p, 1, o->len, stdout) != o->len) o->err = 1;
  o->len = 0;
}

/* Room for n more bytes; 0 or -1 (out of memory). */
static int ob_reserve(struct obuf *o, size_t n) {
  if (o->cap - o->len >= n) return 0;
  if (!o->mem) {
    ob_flush(o);
    if (o->cap >= n) return 0;
  }
  size_t want = o->mem ? (o->len + n) * 2 : n;
  char *p = realloc(o->p, want);
  if (!p) {
    o->err = 1;
    return -1;
  }
  o->p = p;
  o->cap = want;
  return 0;
}

static void ob_put(struct obuf *o, const void *s, size_t n) {
  if (ob_reserve(o, n) != 0) return;
  memcpy(o->p + o->len, s, n);
  o->len += n;
}

static void ob_str(struct obuf *o, const char *s) {
  ob_put(o, s, strlen(s));
}

static void ob_ch(struct obuf *o, char c) {
  if (ob_reserve(o, 1) != 0) return;
  o->p[o->len++] = c;
}

static void ob_pad(struct obuf *o, size_t n) {
  if (ob_reserve(o, n) != 0) return;
  memset(o->p + o->len, ' ', n);
  o->len += n;
}

/* Decimal digits of v into buf (at least 20 bytes); returns the length. */
static size_t u64_text(char *buf, uint64_t v) {
  char tmp[20];
  size_t n = 0;
  do {
    tmp[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  for (size_t i = 0; i < n; i++) buf[i] = tmp[n - 1 - i];
  return n;
}

static void ob_u64(struct obuf *o, uint64_t v) {
  if (ob_reserve(o, 20) != 0) return;
  o->len += u64_text(o->p + o->len, v);
}

/* Length of a valid UTF-8 sequence at p (at most n bytes), or 0 if invalid. */
static size_t utf8_seq(const uint8_t *p, size_t n) {
  uint8_t c = p[0];
  size_t len;
  uint32_t cp;
  if (c < 0x80) return 1;
  if ((c & 0xE0) == 0xC0) {
    len = 2;
    cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    len = 3;
    cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    len = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (n < len) return 0;
  for (size_t i = 1; i < len; i++) {
    if ((p[i] & 0xC0) != 0x80) return 0;
    cp = cp << 6 | (p[i] & 0x3F);
  }
  /* no overlong forms, no surrogates, nothing above U+10FFFF */
  if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
      (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
    return 0;
  return len;
}

/* A JSON string literal (with quotes); invalid UTF-8 becomes U+FFFD. */
static void ob_json_str(struct obuf *o, const char *s, size_t n) {
  static const char hex[] = "0123456789abcdef";
  const uint8_t *p = (const uint8_t *)s;
  ob_ch(o, '"');
  size_t i = 0;
  while (i < n) {
    size_t run = i;
    while (run < n && p[run] >= 0x20 && p[run] < 0x80 && p[run] != '"' && p[run] != '\\') run++;
    if (run > i) {
      ob_put(o, p + i, run - i);
      i = run;
      continue;
    }
    uint8_t c = p[i];
    if (c == '"' || c == '\\') {
      char e[2] = {'\\', (char)c};
      ob_put(o, e, 2);
      i++;
    } else if (c < 0x20) {
      char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
      if (c == '\n') {
        ob_put(o, "\\n", 2);
      } else if (c == '\t') {
        ob_put(o, "\\t", 2);
      } else if (c == '\r') {
        ob_put(o, "\\r", 2);
      } else {
        ob_put(o, e, 6);
      }
      i++;
    } else {
      size_t len = utf8_seq(p + i, n - i);
      if (len) {
        ob_put(o, p + i, len);
        i += len;
      } else {
        ob_put(o, "\\ufffd", 6);
        i++;
      }
    }
  }
  ob_ch(o, '"');
}

static void ob_base64(struct obuf *o, const uint8_t *p, size_t n) {
  /* encode in pieces so the buffer never needs to hold a huge message at once */
  const size_t piece = 3 * 16384;
  while (n) {
    size_t k = n < piece ? n : piece;
    size_t need = cli_base64_len(k);
    if (ob_reserve(o, need) != 0) return;
    o->len += cli_base64_encode(o->p + o->len, p, k);
    p += k;
    n -= k;
  }
}

/* --------------------------------------------------------- JSON validation */

/*
 * A strict RFC 8259 validator for message data of the json encoding, so that
 * only text that is one well-formed JSON value (valid UTF-8, nesting at most
 * JSON_MAX_DEPTH) is embedded into the NDJSON output as it is.
 */
#define JSON_MAX_DEPTH 256

struct jv {
  const uint8_t *p;
  size_t n, i;
};

static void jv_ws(struct jv *v) {
  while (v->i < v->n &&
         (v->p[v->i] == ' ' || v->p[v->i] == '\t' || v->p[v->i] == '\n' || v->p[v->i] == '\r'))
    v->i++;
}

static int jv_lit(struct jv *v, const char *lit) {
  size_t len = strlen(lit);
  if (v->n - v->i < len || memcmp(v->p + v->i, lit, len) != 0) return -1;
  v->i += len;
  return 0;
}

static int jv_digits(struct jv *v) {
  size_t s = v->i;
  while (v->i < v->n && v->p[v->i] >= '0' && v->p[v->i] <= '9') v->i++;
  return v->i > s ? 0 : -1;
}

static int jv_number(struct jv *v) {
  if (v->i < v->n && v->p[v->i] == '-') v->i++;
  if (v->i >= v->n) return -1;
  if (v->p[v->i] == '0') {
    v->i++;
  } else if (jv_digits(v) != 0) {
    return -1;
  }
  if (v->i < v->n && v->p[v->i] == '.') {
    v->i++;
    if (jv_digits(v) != 0) return -1;
  }
  if (v->i < v->n && (v->p[v->i] == 'e' || v->p[v->i] == 'E')) {
    v->i++;
    if (v->i < v->n && (v->p[v->i] == '+' || v->p[v->i] == '-')) v->i++;
    if (jv_digits(v) != 0) return -1;
  }
  return 0;
}

static int is_hex(uint8_t c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int jv_string(struct jv *v) {
  v->i++; /* the opening quote */
  while (v->i < v->n) {
    uint8_t c = v->p[v->i];
    if (c == '"') {
      v->i++;
      return 0;
    }
    if (c < 0x20) return -1;
    if (c == '\\') {
      if (v->i + 1 >= v->n) return -1;
      uint8_t e = v->p[v->i + 1];
      if (e == 'u') {
        if (v->n - v->i < 6) return -1;
        for (size_t k = 2; k < 6; k++)
          if (!is_hex(v->p[v->i + k])) return -1;
        v->i += 6;
      } else if (strchr("\"\\/bfnrt", e) && e) {
        v->i += 2;
      } else {
        return -1;
      }
      continue;
    }
    size_t len = utf8_seq(v->p + v->i, v->n - v->i);
    if (!len) return -1;
    v->i += len;
  }
  return -1;
}

static int jv_value(struct jv *v, int depth) {
  jv_ws(v);
  if (v->i >= v->n) return -1;
  uint8_t c = v->p[v->i];
  if (c == '"') return jv_string(v);
  if (c == '{' || c == '[') {
    if (depth >= JSON_MAX_DEPTH) return -1;
    uint8_t close = c == '{' ? '}' : ']';
    v->i++;
    jv_ws(v);
    if (v->i < v->n && v->p[v->i] == close) {
      v->i++;
      return 0;
    }
    for (;;) {
      if (c == '{') {
        jv_ws(v);
        if (v->i >= v->n || v->p[v->i] != '"' || jv_string(v) != 0) return -1;
        jv_ws(v);
        if (v->i >= v->n || v->p[v->i] != ':') return -1;
        v->i++;
      }
      if (jv_value(v, depth + 1) != 0) return -1;
      jv_ws(v);
      if (v->i >= v->n) return -1;
      if (v->p[v->i] == ',') {
        v->i++;
        continue;
      }
      if (v->p[v->i] == close) {
        v->i++;
        return 0;
      }
      return -1;
    }
  }
  if (c == 't') return jv_lit(v, "true");
  if (c == 'f') return jv_lit(v, "false");
  if (c == 'n') return jv_lit(v, "null");
  return jv_number(v);
}

static int json_valid(const uint8_t *p, size_t n) {
  struct jv v = {p, n, 0};
  if (jv_value(&v, 0) != 0) return 0;
  jv_ws(&v);
  return v.i == n;
}

/* Valid JSON text with its line breaks (whitespace only, outside strings) made spaces. */
static void ob_json_embed(struct obuf *o, const uint8_t *p, size_t n) {
  if (ob_reserve(o, n) != 0) return;
  char *d = o->p + o->len;
  memcpy(d, p, n);
  for (size_t i = 0; i < n; i++)
    if (d[i] == '\n' || d[i] == '\r') d[i] = ' ';
  o->len += n;
}

/* ------------------------------------------------------------ the command */

struct cat_filter {
  char **topics; /* exact names */
  size_t n_topics;
  regex_t *res;
  size_t n_res;
  int any; /* some filter given */
};

/* The channel predicate of every query: listed topic or full regex match. */
static int select_channel(void *ctx, const mcap_channel *ch, const mcap_schema *schema) {
  (void)schema;
  const struct cat_filter *f = ctx;
  if (!f->any) return 1;
  for (size_t i = 0; i < f->n_topics; i++)
    if (strlen(f->topics[i]) == ch->topic.len &&
        memcmp(f->topics[i], ch->topic.data, ch->topic.len) == 0)
      return 1;
  if (f->n_res == 0 || memchr(ch->topic.data, '\0', ch->topic.len)) return 0;
  char small[256];
  char *t = ch->topic.len < sizeof small ? small : malloc((size_t)ch->topic.len + 1);
  if (!t) return 0;
  memcpy(t, ch->topic.data, ch->topic.len);
  t[ch->topic.len] = '\0';
  int hit = 0;
  for (size_t i = 0; i < f->n_res && !hit; i++) hit = regexec(&f->res[i], t, 0, NULL, 0) == 0;
  if (t != small) free(t);
  return hit;
}

/* Per (input, channel id) cache of what every line about that channel repeats. */
struct chan_cache {
  int ready;
  int json_enc; /* message_encoding is "json" */
  char *prefix; /* ndjson: {"topic":"...","channel_id":N,"sequence": */
  size_t prefix_len;
};

/* Owned copies of schemas/channels seen by the streamed reader. */
struct owned_schema {
  mcap_schema s;
  char *name, *encoding;
};

struct owned_channel {
  mcap_channel c;
  char *topic, *encoding;
  int selected;
};

struct cat_input {
  const char *path;
  size_t index;
  /* indexed */
  mcap_reader *r;
  mcap_message_iter *it;
  /* streamed */
  mcap_stream_reader *sr;
  struct owned_schema **schemas;   /* 65536 slots */
  struct owned_channel **channels; /* 65536 slots */
  /* current message */
  mcap_message_view cur;
  int has_cur;
  struct chan_cache *cache; /* 65536 slots, calloc'ed (untouched pages cost nothing) */
};

struct cat {
  const cli_ctx *ctx;
  struct cat_filter filter;
  int has_start, has_end;
  uint64_t start, end; /* [start, end] */
  mcap_read_order order;
  int ndjson;
  enum cat_data data;
  cli_time_style style;
  uint64_t limit, printed;
  struct obuf ob;
  size_t topic_w, schema_w, seq_w, size_w; /* text column widths, grown as needed */
  int worst;                               /* exit code for problems met so far */
  int oom;
};

/* Release an input, saying what of it could not be read. @return an exit code. */
static int input_dispose(const cli_ctx *ctx, struct cat_input *in) {
  mcap_message_iter_free(in->it);
  int rc = in->r ? cli_close_reader(ctx, in->path, in->r) : CLI_EXIT_OK;
  mcap_stream_reader_free(in->sr);
  if (in->schemas) {
    for (size_t i = 0; i < 65536; i++) {
      if (!in->schemas[i]) continue;
      free(in->schemas[i]->name);
      free(in->schemas[i]->encoding);
      free(in->schemas[i]);
    }
    free(in->schemas);
  }
  if (in->channels) {
    for (size_t i = 0; i < 65536; i++) {
      if (!in->channels[i]) continue;
      free(in->channels[i]->topic);
      free(in->channels[i]->encoding);
      free(in->channels[i]);
    }
    free(in->channels);
  }
  if (in->cache) {
    for (size_t i = 0; i < 65536; i++) free(in->cache[i].prefix);
    free(in->cache);
  }
  memset(in, 0, sizeof *in);
  return rc;
}

static void note_problem(struct cat *c, int mcap_rc) {
  int code = mcap_rc == MCAP_EIO || mcap_rc == MCAP_ENOMEM ? CLI_EXIT_FAILURE : CLI_EXIT_PROBLEMS;
  if (code == CLI_EXIT_FAILURE || c->worst == CLI_EXIT_OK) c->worst = code;
}

static void grow_widths(struct cat *c, const mcap_channel *ch, const mcap_schema *s) {
  if (ch->topic.len > c->topic_w) c->topic_w = ch->topic.len;
  size_t sw = s ? s->name.len + 2 : 11; /* "[name]" or "[no schema]" */
  if (sw > c->schema_w) c->schema_w = sw;
}

static int open_indexed(struct cat *c, struct cat_input *in, int threads) {
  int rc = cli_open_reader(c->ctx, in->path, threads, &in->r);
  if (rc != CLI_EXIT_OK) return rc;
  mcap_query q;
  memset(&q, 0, sizeof q);
  q.channel_filter = select_channel;
  q.channel_filter_ctx = &c->filter;
  q.has_start = c->has_start;
  q.start = c->start;
  q.has_end = c->has_end;
  q.end = c->end; /* both inclusive, as the query's */
  q.order = c->order;
  int mrc = mcap_reader_query(in->r, &q, &in->it);
  if (mrc != MCAP_OK) {
    cli_error(c->ctx, "'%s': %s", in->path, mcap_reader_errmsg(in->r));
    return CLI_EXIT_FAILURE;
  }
  size_t n = mcap_reader_channel_count(in->r);
  for (size_t i = 0; i < n; i++) {
    const mcap_channel *ch = mcap_reader_channel_at(in->r, i);
    const mcap_schema *s = ch->schema_id ? mcap_reader_schema(in->r, ch->schema_id) : NULL;
    if (select_channel(&c->filter, ch, s)) grow_widths(c, ch, s);
  }
  return CLI_EXIT_OK;
}

static int open_streamed(struct cat *c, struct cat_input *in) {
  int is_stdin = strcmp(in->path, "-") == 0;
  if (is_stdin && cli_check_stdin(c->ctx) != CLI_EXIT_OK) return CLI_EXIT_USAGE;
  mcap_source src;
  mcap_error_info err;
  memset(&src, 0, sizeof src);
  memset(&err, 0, sizeof err);
  int mrc = is_stdin ? mcap_source_from_fd(&src, STDIN_FILENO, &err)
                     : mcap_source_open_file(&src, in->path, &err); /* a pipe: a stream */
  if (mrc != MCAP_OK) {
    char msg[600];
    cli_error(c->ctx, "%s", cli_open_error(msg, sizeof msg, is_stdin ? "standard input" : in->path,
                                           &err, mrc));
    return CLI_EXIT_FAILURE;
  }
  in->schemas = calloc(65536, sizeof *in->schemas);
  in->channels = calloc(65536, sizeof *in->channels);
  if (!in->schemas || !in->channels) {
    mcap_source_close(&src);
    cli_error(c->ctx, "out of memory");
    return CLI_EXIT_FAILURE;
  }
  if (mcap_stream_reader_new(&in->sr, &src, NULL) != MCAP_OK) {
    cli_error(c->ctx, "out of memory");
    return CLI_EXIT_FAILURE;
  }
  return CLI_EXIT_OK;
}

static int keep_schema(struct cat_input *in, const mcap_schema *s) {
  if (in->schemas[s->id]) return MCAP_OK;
  struct owned_schema *o = calloc(1, sizeof *o);
  if (!o) return MCAP_ENOMEM;
  o->name = cli_str_dup(s->name);
  o->encoding = cli_str_dup(s->encoding);
  if (!o->name || !o->encoding) {
    free(o->name);
    free(o->encoding);
    free(o);
    return MCAP_ENOMEM;
  }
  o->s.id = s->id;
  o->s.name.data = o->name;
  o->s.name.len = s->name.len;
  o->s.encoding.data = o->encoding;
  o->s.encoding.len = s->encoding.len;
  in->schemas[s->id] = o; /* data is not needed for printing */
  return MCAP_OK;
}

static int keep_channel(struct cat *c, struct cat_input *in, const mcap_channel *ch) {
  if (in->channels[ch->id]) return MCAP_OK;
  struct owned_channel *o = calloc(1, sizeof *o);
  if (!o) return MCAP_ENOMEM;
  o->topic = cli_str_dup(ch->topic);
  o->encoding = cli_str_dup(ch->message_encoding);
  if (!o->topic || !o->encoding) {
    free(o->topic);
    free(o->encoding);
    free(o);
    return MCAP_ENOMEM;
  }
  o->c.id = ch->id;
  o->c.schema_id = ch->schema_id;
  o->c.topic.data = o->topic;
  o->c.topic.len = ch->topic.len;
  o->c.message_encoding.data = o->encoding;
  o->c.message_encoding.len = ch->message_encoding.len;
  const mcap_schema *s =
      ch->schema_id && in->schemas[ch->schema_id] ? &in->schemas[ch->schema_id]->s : NULL;
  o->selected = select_channel(&c->filter, &o->c, s);
  if (o->selected) grow_widths(c, &o->c, s);
  in->channels[ch->id] = o;
  return MCAP_OK;
}

/* Next message of a streamed input, filtered like a query would. */
static int stream_next(struct cat *c, struct cat_input *in) {
  for (;;) {
    mcap_record rec;
    int rc = mcap_stream_reader_next(in->sr, &rec);
    if (rc != MCAP_OK) {
      if (rc != MCAP_ITEROVER) {
        mcap_damage d;
        mcap_stream_reader_damage(in->sr, &d);
        if (cli_report_damage(c->ctx, in->path, &d) == CLI_EXIT_FAILURE) rc = MCAP_EIO;
      }
      return rc;
    }
    switch (rec.opcode) {
      case MCAP_OP_SCHEMA:
        if (rec.u.schema.id == 0) break;
        if (keep_schema(in, &rec.u.schema) != MCAP_OK) goto nomem;
        break;
      case MCAP_OP_CHANNEL:
        if (keep_channel(c, in, &rec.u.channel) != MCAP_OK) goto nomem;
        break;
      case MCAP_OP_MESSAGE: {
        const mcap_message *m = &rec.u.message;
        struct owned_channel *oc = in->channels[m->channel_id];
        if (!oc) {
          cli_error(c->ctx, "'%s': message at offset %llu on unknown channel %u", in->path,
                    (unsigned long long)rec.offset, (unsigned)m->channel_id);
          return MCAP_ECHANNEL_ID;
        }
        if (!oc->selected) break;
        if (c->has_start && m->log_time < c->start) break;
        if (c->has_end && m->log_time > c->end) break;
        memset(&in->cur, 0, sizeof in->cur);
        in->cur.message = *m;
        in->cur.channel = &oc->c;
        in->cur.schema = oc->c.schema_id && in->schemas[oc->c.schema_id]
                             ? &in->schemas[oc->c.schema_id]->s
                             : NULL;
        return MCAP_OK;
      }
      default:
        break;
    }
  }
nomem:
  cli_error(c->ctx, "out of memory");
  return MCAP_ENOMEM;
}

/* Advance an input: MCAP_OK with in->cur set, MCAP_ITEROVER, or an error (printed). */
static int input_next(struct cat *c, struct cat_input *in) {
  int rc;
  if (in->sr) {
    rc = stream_next(c, in);
  } else {
    rc = mcap_message_iter_next(in->it, &in->cur);
    if (rc != MCAP_OK && rc != MCAP_ITEROVER)
      cli_error(c->ctx, "'%s': %s", in->path, mcap_reader_errmsg(in->r));
  }
  in->has_cur = rc == MCAP_OK;
  if (rc != MCAP_OK && rc != MCAP_ITEROVER) note_problem(c, rc);
  return rc;
}

static struct chan_cache *chan_info(struct cat *c, struct cat_input *in, const mcap_channel *ch) {
  if (!in->cache) {
    in->cache = calloc(65536, sizeof *in->cache);
    if (!in->cache) return NULL;
  }
  struct chan_cache *cc = &in->cache[ch->id];
  if (cc->ready) return cc;
  cc->json_enc = ch->message_encoding.len == 4 && memcmp(ch->message_encoding.data, "json", 4) == 0;
  if (c->ndjson) {
    struct obuf tmp = {NULL, 0, 0, 0, 1};
    ob_str(&tmp, "{\"topic\":");
    ob_json_str(&tmp, ch->topic.data, ch->topic.len);
    ob_str(&tmp, ",\"channel_id\":");
    ob_u64(&tmp, ch->id);
    ob_str(&tmp, ",\"sequence\":");
    if (tmp.err) {
      free(tmp.p);
      return NULL;
    }
    cc->prefix = tmp.p;
    cc->prefix_len = tmp.len;
  }
  cc->ready = 1;
  return cc;
}

static void write_ndjson(struct cat *c, struct cat_input *in, const mcap_message_view *v) {
  struct obuf *o = &c->ob;
  struct chan_cache *cc = chan_info(c, in, v->channel);
  if (!cc) {
    c->oom = 1;
    return;
  }
  const mcap_message *m = &v->message;
  if (ob_reserve(o, cc->prefix_len + 100) != 0) return;
  char *d = o->p + o->len;
  memcpy(d, cc->prefix, cc->prefix_len);
  d += cc->prefix_len;
  d += u64_text(d, m->sequence);
  memcpy(d, ",\"log_time\":\"", 13);
  d += 13;
  d += u64_text(d, m->log_time);
  memcpy(d, "\",\"publish_time\":\"", 18);
  d += 18;
  d += u64_text(d, m->publish_time);
  *d++ = '"';
  o->len = (size_t)(d - o->p);
  if (c->data != DATA_NONE) {
    if (c->data == DATA_AUTO && cc->json_enc && json_valid(m->data.data, (size_t)m->data.len)) {
      ob_str(o, ",\"data_encoding\":\"json\",\"data\":");
      ob_json_embed(o, m->data.data, (size_t)m->data.len);
    } else {
      ob_str(o, ",\"data_encoding\":\"base64\",\"data\":\"");
      ob_base64(o, m->data.data, (size_t)m->data.len);
      ob_ch(o, '"');
    }
  }
  ob_put(o, "}\n", 2);
}

#define PREVIEW_BYTES 16
#define PREVIEW_TEXT 64

/* Printable text (ASCII or UTF-8, no control characters but tab/newline). */
static int looks_like_text(const uint8_t *p, size_t n) {
  size_t i = 0;
  if (n == 0) return 0;
  while (i < n) {
    uint8_t ch = p[i];
    if (ch < 0x20 && ch != '\n' && ch != '\t' && ch != '\r') return 0;
    if (ch == 0x7f) return 0;
    size_t len = utf8_seq(p + i, n - i);
    if (!len) return 0;
    i += len;
  }
  return 1;
}

static void write_preview(struct cat *c, const mcap_message_view *v) {
  static const char hex[] = "0123456789abcdef";
  struct obuf *o = &c->ob;
  const uint8_t *p = v->message.data.data;
  size_t n = (size_t)v->message.data.len;
  if (c->data == DATA_NONE || n == 0) return;
  ob_str(o, "  ");
  if (c->data == DATA_BASE64) {
    size_t k = n < 48 ? n : 48;
    ob_base64(o, p, k);
    if (k < n) ob_str(o, "...");
    return;
  }
  if (looks_like_text(p, n < 4096 ? n : 4096)) {
    /* a quoted, escaped prefix of the text, cut on a character boundary */
    size_t k = 0, chars = 0;
    while (k < n && chars < PREVIEW_TEXT) {
      size_t len = utf8_seq(p + k, n - k);
      if (!len) break;
      k += len;
      chars++;
    }
    ob_json_str(o, (const char *)p, k);
    if (k < n) ob_str(o, "...");
    return;
  }
  size_t k = n < PREVIEW_BYTES ? n : PREVIEW_BYTES;
  for (size_t i = 0; i < k; i++) {
    char b[3] = {hex[p[i] >> 4], hex[p[i] & 15], ' '};
    ob_put(o, b, i + 1 < k ? 3 : 2);
  }
  if (k < n) ob_str(o, " ...");
  ob_str(o, "  |");
  for (size_t i = 0; i < k; i++) ob_ch(o, p[i] >= 0x20 && p[i] < 0x7f ? (char)p[i] : '.');
  ob_ch(o, '|');
}

static void write_text(struct cat *c, const mcap_message_view *v) {
  struct obuf *o = &c->ob;
  char tb[CLI_FMT_SIZE], num[24];
  const mcap_message *m = &v->message;
  const mcap_channel *ch = v->channel;
  grow_widths(c, ch, v->schema); /* a streamed channel may be new */
  ob_str(o, cli_fmt_time_as(tb, sizeof tb, m->log_time, c->style));
  ob_str(o, "  ");
  ob_put(o, ch->topic.data, ch->topic.len);
  ob_pad(o, c->topic_w - ch->topic.len + 2);
  size_t sw;
  if (v->schema) {
    ob_ch(o, '[');
    ob_put(o, v->schema->name.data, v->schema->name.len);
    ob_ch(o, ']');
    sw = v->schema->name.len + 2;
  } else {
    ob_str(o, "[no schema]");
    sw = 11;
  }
  ob_pad(o, c->schema_w - sw + 2);
  size_t len = u64_text(num, m->sequence);
  if (len > c->seq_w) c->seq_w = len;
  ob_str(o, "seq ");
  ob_pad(o, c->seq_w - len);
  ob_put(o, num, len);
  ob_str(o, "  ");
  len = u64_text(num, m->data.len);
  if (len > c->size_w) c->size_w = len;
  ob_pad(o, c->size_w - len);
  ob_put(o, num, len);
  ob_str(o, " B");
  write_preview(c, v);
  ob_ch(o, '\n');
}

static void emit(struct cat *c, struct cat_input *in) {
  if (c->ndjson)
    write_ndjson(c, in, &in->cur);
  else
    write_text(c, &in->cur);
  c->printed++;
}

/* Heap order: does input a come before input b? */
static int before(const struct cat *c, const struct cat_input *a, const struct cat_input *b) {
  uint64_t ta = a->cur.message.log_time, tb = b->cur.message.log_time;
  if (c->order == MCAP_ORDER_REVERSE) {
    if (ta != tb) return ta > tb;
    return a->index > b->index;
  }
  if (ta != tb) return ta < tb;
  return a->index < b->index;
}

static void sift_down(const struct cat *c, struct cat_input **h, size_t n, size_t i) {
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, m = i;
    if (l < n && before(c, h[l], h[m])) m = l;
    if (r < n && before(c, h[r], h[m])) m = r;
    if (m == i) return;
    struct cat_input *t = h[i];
    h[i] = h[m];
    h[m] = t;
    i = m;
  }
}

static int out_ok(const struct cat *c) {
  return !c->ob.err && !c->oom && c->printed < c->limit;
}

/* One input after the other (file order). */
static void run_concat(struct cat *c, struct cat_input *ins, size_t n) {
  for (size_t i = 0; i < n && out_ok(c); i++) {
    while (out_ok(c) && input_next(c, &ins[i]) == MCAP_OK) emit(c, &ins[i]);
  }
}

/* K-way merge by log time. */
static void run_merge(struct cat *c, struct cat_input *ins, size_t n) {
  struct cat_input **heap = malloc((n ? n : 1) * sizeof *heap);
  if (!heap) {
    c->oom = 1;
    return;
  }
  size_t hn = 0;
  for (size_t i = 0; i < n; i++)
    if (input_next(c, &ins[i]) == MCAP_OK) heap[hn++] = &ins[i];
  for (size_t i = hn; i-- > 0;) sift_down(c, heap, hn, i);
  while (hn && out_ok(c)) {
    struct cat_input *top = heap[0];
    emit(c, top);
    if (input_next(c, top) != MCAP_OK) heap[0] = heap[--hn];
    sift_down(c, heap, hn, 0);
  }
  free(heap);
}

static int parse_filter(struct cat *c, const struct cat_args *a) {
  struct cat_filter *f = &c->filter;
  for (size_t i = 0; i < a->topics.n; i++) {
    const char *s = a->topics.items[i];
    while (*s) {
      const char *comma = strchr(s, ',');
      size_t len = comma ? (size_t)(comma - s) : strlen(s);
      if (len) {
        char **t = realloc(f->topics, (f->n_topics + 1) * sizeof *t);
        if (!t) return -1;
        f->topics = t;
        mcap_str view = {s, (uint32_t)len};
        if (!(f->topics[f->n_topics] = cli_str_dup(view))) return -1;
        f->n_topics++;
      }
      s += len;
      if (*s == ',') s++;
    }
  }
  if (a->topic_regex.n) {
    f->res = calloc(a->topic_regex.n, sizeof *f->res);
    if (!f->res) return -1;
  }
  for (size_t i = 0; i < a->topic_regex.n; i++) {
    const char *re = a->topic_regex.items[i];
    size_t n = strlen(re) + 5;
    char *anchored = malloc(n);
    if (!anchored) return -1;
    snprintf(anchored, n, "^(%s)$", re); /* a full match, as mcap filter does */
    int rc = regcomp(&f->res[f->n_res], anchored, REG_EXTENDED | REG_NOSUB);
    free(anchored);
    if (rc != 0) {
      char msg[256];
      regerror(rc, &f->res[f->n_res], msg, sizeof msg);
      cli_usage_error(&cmd_cat_spec, "bad --topic-regex '%s': %s", re, msg);
      return -2;
    }
    f->n_res++;
  }
  f->any = a->topics.n > 0 || a->topic_regex.n > 0;
  return 0;
}

static void filter_dispose(struct cat_filter *f) {
  for (size_t i = 0; i < f->n_topics; i++) free(f->topics[i]);
  free(f->topics);
  for (size_t i = 0; i < f->n_res; i++) regfree(&f->res[i]);
  free(f->res);
  memset(f, 0, sizeof *f);
}

static int parse_options(struct cat *c, const struct cat_args *a, const cli_ctx *ctx, int n_files,
                         int only_stdin) {
  char err[256];
  if (a->start) {
    if (cli_parse_time(a->start, &c->start, err, sizeof err) != 0)
      return cli_usage_error(&cmd_cat_spec, "--start: %s", err);
    c->has_start = 1;
  }
  if (a->end) {
    if (cli_parse_time(a->end, &c->end, err, sizeof err) != 0)
      return cli_usage_error(&cmd_cat_spec, "--end: %s", err);
    c->has_end = 1;
  }
  if (c->has_start && c->has_end && c->start > c->end)
    return cli_usage_error(&cmd_cat_spec, "the start (--start) is after the end (--end)");
  c->ndjson = a->json || ctx->json;
  if (a->format) {
    if (strcmp(a->format, "ndjson") == 0 || strcmp(a->format, "json") == 0) {
      c->ndjson = 1;
    } else if (strcmp(a->format, "text") == 0) {
      if (a->json) return cli_usage_error(&cmd_cat_spec, "'--json' conflicts with '--format text'");
      c->ndjson = 0;
    } else {
      return cli_usage_error(&cmd_cat_spec, "unknown format '%s' (expected text or ndjson)",
                             a->format);
    }
  }
  c->data = DATA_AUTO;
  if (a->data) {
    if (strcmp(a->data, "auto") == 0)
      c->data = DATA_AUTO;
    else if (strcmp(a->data, "base64") == 0)
      c->data = DATA_BASE64;
    else if (strcmp(a->data, "none") == 0)
      c->data = DATA_NONE;
    else
      return cli_usage_error(&cmd_cat_spec, "unknown --data '%s' (expected auto, base64 or none)",
                             a->data);
  }
  c->order = only_stdin && n_files == 1 ? MCAP_ORDER_FILE : MCAP_ORDER_LOG_TIME;
  if (a->order) {
    if (strcmp(a->order, "file") == 0)
      c->order = MCAP_ORDER_FILE;
    else if (strcmp(a->order, "log-time") == 0 || strcmp(a->order, "log_time") == 0)
      c->order = MCAP_ORDER_LOG_TIME;
    else if (strcmp(a->order, "reverse") == 0)
      c->order = MCAP_ORDER_REVERSE;
    else
      return cli_usage_error(&cmd_cat_spec,
                             "unknown order '%s' (expected log-time, file or reverse)", a->order);
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
  rc = parse_options(&c, &a, ctx, (int)n, one_stream);
  if (rc != CLI_CONTINUE) goto out;
  rc = CLI_EXIT_OK;
  if (n_stdin > 1) {
    rc = cli_usage_error(&cmd_cat_spec, "standard input ('-') can be given only once");
    goto out;
  }
  c.limit = a.limit;
  c.worst = CLI_EXIT_OK;
  int fr = parse_filter(&c, &a);
  if (fr == -2) {
    rc = CLI_EXIT_USAGE;
    goto out;
  }
  if (fr != 0) {
    cli_error(ctx, "out of memory");
    rc = CLI_EXIT_FAILURE;
    goto out;
  }

  c.ob.p = malloc(OBUF_CAP);
  ins = calloc(n, sizeof *ins);
  if (!c.ob.p || !ins) {
    cli_error(ctx, "out of memory");
    rc = CLI_EXIT_FAILURE;
    goto out;
  }
  c.ob.cap = OBUF_CAP;
  c.seq_w = 5; /* typical widths, so columns rarely shift; they grow when needed */
  c.size_w = 7;
  for (size_t i = 0; i < n; i++) {
    ins[i].path = argv[first + (int)i];
    ins[i].index = i;
    int stream = one_stream && c.order == MCAP_ORDER_FILE;
    /* many inputs: one decompression thread each, not one per core each */
    rc = stream ? open_streamed(&c, &ins[i]) : open_indexed(&c, &ins[i], n >= 4 ? 1 : 0);
    if (rc != CLI_EXIT_OK) goto out;
  }
  if (c.order == MCAP_ORDER_FILE)
    run_concat(&c, ins, n);
  else
    run_merge(&c, ins, n);
  ob_flush(&c.ob);
  if (c.oom) {
    cli_error(ctx, "out of memory");
    rc = CLI_EXIT_FAILURE;
  } else if (c.ob.err) {
    /* main() reports the write error of stdout, or ends quietly if the reader went away */
    rc = ferror(stdout) ? CLI_EXIT_OK : CLI_EXIT_FAILURE;
  } else {
    rc = c.worst;
  }
  if (c.printed == 0 && c.filter.any && c.topic_w == 0)
    cli_verbose(ctx, "no channel matches the topic filter");
out:
  if (ins) {
    for (size_t i = 0; i < n; i++) {
      int drc = input_dispose(ctx, &ins[i]);
      if (rc == CLI_EXIT_OK) rc = drc;
    }
  }
  free(ins);
  free(c.ob.p);
  filter_dispose(&c.filter);
  cli_opt_dispose(&cmd_cat_spec, &a);
  return rc;
}
