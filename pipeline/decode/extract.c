/*
 * extract.c - pl_extract_topics: the decoded messages of some topics of a
 * recording as NDJSON or CSV files (behind `mcapkit extract topic`).
 *
 * Everything that can refuse the run is done before anything is written:
 * each topic's channels are found, a decoder made for each (and one CSV
 * layout per topic, whose channels must share the schema). Then the outputs
 * open (atomic file sinks, or the caller's stream for "-"), one indexed query
 * over the selected channels fills them, and they are committed at the end,
 * so an output appears only once complete. A directory this run created is
 * removed again when the run fails.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pipeline/core.h"
#include "pipeline/decode.h"

#define FLUSH_AT ((size_t)1 << 20)
#define SHOWN_DECODE_ERRORS 5 /* per channel */

/* One output: an atomic file sink or the caller's stream, with a text buffer. */
struct out {
  char *path; /* NULL: the stream */
  mcap_sink sink;
  int open;
  pl_text text;
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
  const char *file;
  const pl_extract_options *o;
  pl_json_options jo;
  pl_csv_options co;
  struct chan *chans;
  size_t n_chans;
  struct chan **by_id; /* 65536 slots */
  struct out *outs;
  size_t n_outs;
  uint64_t skipped;
  pl_decode_error_info *err;
};

static int fail(struct run *r, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct run *r, int code, const char *fmt, ...) {
  if (r->err) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->err->msg, sizeof r->err->msg, fmt, ap);
    va_end(ap);
    r->err->code = code;
  }
  return code;
}

static char *dup_str(const char *s) {
  size_t n = strlen(s) + 1;
  char *p = malloc(n);
  if (p) memcpy(p, s, n);
  return p;
}

static int out_flush(struct run *r, struct out *o) {
  if (!o->text.len) return PL_DECODE_OK;
  mcap_error_info me;
  memset(&me, 0, sizeof me);
  size_t len = o->text.len;
  o->text.len = 0;
  if (o->path) {
    if (o->sink.write(o->sink.payload, o->text.data, len, &me) != MCAP_OK)
      return fail(r, PL_DECODE_EIO, "cannot write '%s': %s", o->path, me.msg);
  } else if (!r->o->write_stream || r->o->write_stream(r->o->user, o->text.data, len) != 0) {
    return fail(r, PL_DECODE_EIO, "cannot write the output");
  }
  return PL_DECODE_OK;
}

/* follow: the user's own -o path is written through a symlink; the per-topic files of a
 * directory, named after topics the recording chose, never are. */
static int out_open(struct run *r, struct out *o, const char *path, int follow) {
  memset(o, 0, sizeof *o);
  if (strcmp(path, "-") == 0) return PL_DECODE_OK;
  o->path = dup_str(path);
  if (!o->path) return fail(r, PL_DECODE_ENOMEM, "out of memory");
  mcap_error_info me;
  memset(&me, 0, sizeof me);
  char *target = follow ? pl_output_target(path) : dup_str(path);
  if (!target) return fail(r, PL_DECODE_ENOMEM, "out of memory");
  int orc = mcap_sink_open_file(&o->sink, target, &me);
  free(target);
  if (orc != MCAP_OK) {
    /* the sink's message names the file already */
    if (strstr(me.msg, path)) return fail(r, PL_DECODE_EIO, "%s", me.msg);
    return fail(r, PL_DECODE_EIO, "cannot open '%s': %s", path, me.msg);
  }
  o->open = 1;
  return PL_DECODE_OK;
}

static int out_commit(struct run *r, struct out *o) {
  int rc = out_flush(r, o);
  if (rc != PL_DECODE_OK || !o->path) return rc;
  mcap_error_info me;
  memset(&me, 0, sizeof me);
  if (mcap_sink_commit(&o->sink, &me) != MCAP_OK)
    return fail(r, PL_DECODE_EIO, "cannot write '%s': %s", o->path, me.msg);
  o->open = 0;
  mcap_sink_close(&o->sink, NULL);
  return PL_DECODE_OK;
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
 * chans[topic_first[t]] .. are topic t's. */
static int select_topics(struct run *r, mcap_reader *rd, const char *const *topics, size_t n_topics,
                         size_t *topic_first) {
  size_t nch = mcap_reader_channel_count(rd);
  r->chans = calloc(nch ? nch : 1, sizeof *r->chans);
  r->by_id = calloc(65536, sizeof *r->by_id);
  r->outs = calloc(n_topics ? n_topics : 1, sizeof *r->outs);
  if (!r->chans || !r->by_id || !r->outs) return fail(r, PL_DECODE_ENOMEM, "out of memory");
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
      pl_decode_error_info e;
      memset(&e, 0, sizeof e);
      pl_decoder_spec_from(&spec, ch, s);
      int rc = pl_decoder_create(&c->dec, &spec, NULL, &e);
      if (rc != PL_DECODE_OK) return fail(r, rc, "'%s': %s", r->file, e.msg);
      if (!r->o->csv) continue;
      if (r->n_chans > first + 1) {
        /* one table per topic: its channels must share the schema */
        const mcap_channel *f = r->chans[first].ch;
        const mcap_schema *fs = f->schema_id ? mcap_reader_schema(rd, f->schema_id) : NULL;
        if (!same_schema(fs, s) || f->message_encoding.len != ch->message_encoding.len ||
            memcmp(f->message_encoding.data, ch->message_encoding.data, ch->message_encoding.len))
          return fail(r, PL_DECODE_EINVAL,
                      "'%s': topic '%s' has channels with different schemas; one CSV table "
                      "cannot hold them (use --format ndjson)",
                      r->file, topics[t]);
        c->csv = r->chans[first].csv; /* same schema: the same columns */
      } else {
        rc = pl_csv_create(&c->csv, c->dec, &r->co, &e);
        if (rc != PL_DECODE_OK)
          return fail(r, rc, "'%s': topic '%s': %s", r->file, topics[t], e.msg);
        c->owns_csv = 1;
      }
    }
    if (r->n_chans == first) {
      int dup = 0; /* named twice: the earlier mention has its channels already */
      for (size_t k = 0; k < t; k++) dup |= strcmp(topics[k], topics[t]) == 0;
      if (dup) continue;
      return fail(r, PL_DECODE_EINVAL, "'%s': no channel has topic '%s'", r->file, topics[t]);
    }
  }
  return PL_DECODE_OK;
}

/* The outputs (after select_topics) and the CSV headers. */
static int open_outputs(struct run *r, size_t n_topics, const size_t *topic_first,
                        const char *output) {
  int dir = r->o->csv && r->o->to_dir;
  if (!dir) {
    r->n_outs = 1;
    int rc = out_open(r, &r->outs[0], output, 1);
    if (rc != PL_DECODE_OK) return rc;
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
      if (!path) return fail(r, PL_DECODE_ENOMEM, "out of memory");
      int rc = out_open(r, o, path, 0);
      free(path);
      r->n_outs++;
      if (rc != PL_DECODE_OK) return rc;
    }
    for (size_t i = first; i < end; i++) r->chans[i].out = o;
    if (r->o->csv && pl_csv_write_header(r->chans[first].csv, &o->text) != PL_DECODE_OK)
      return fail(r, PL_DECODE_ENOMEM, "out of memory");
  }
  return PL_DECODE_OK;
}

/* The channel predicate of the query. */
static int selected(void *ctx, const mcap_channel *ch, const mcap_schema *schema) {
  (void)schema;
  struct run *r = ctx;
  return r->by_id[ch->id] != NULL;
}

/* One message into its output. */
static int one(struct run *r, const mcap_message_view *v) {
  struct chan *c = r->by_id[v->channel->id];
  const pl_value *val;
  c->messages++;
  int rc = pl_decoder_decode(c->dec, &v->message, &val);
  if (rc == PL_DECODE_ENOMEM) return fail(r, rc, "out of memory");
  if (rc != PL_DECODE_OK) {
    c->skipped++;
    r->skipped++;
    if (c->skipped <= SHOWN_DECODE_ERRORS && r->o->on_skip) {
      char msg[700];
      snprintf(msg, sizeof msg, "'%s': %s", r->file, pl_decoder_errmsg(c->dec));
      r->o->on_skip(r->o->user, msg, c->skipped < SHOWN_DECODE_ERRORS);
    }
    return PL_DECODE_OK;
  }
  struct out *o = c->out;
  if (r->o->csv)
    rc = pl_csv_write_row(c->csv, v->message.log_time, val, &o->text);
  else
    rc = pl_decode_ndjson_line(v->channel, &v->message, val, &r->jo, &o->text);
  if (rc != PL_DECODE_OK) return fail(r, PL_DECODE_ENOMEM, "out of memory");
  if (o->text.len >= FLUSH_AT) return out_flush(r, o);
  return PL_DECODE_OK;
}

/* The result: every selected channel, with the output it went to. */
static int make_result(struct run *r, pl_extract_result **out) {
  pl_extract_result *res = calloc(1, sizeof *res);
  if (!res) return fail(r, PL_DECODE_ENOMEM, "out of memory");
  res->channels = calloc(r->n_chans ? r->n_chans : 1, sizeof *res->channels);
  if (!res->channels) {
    free(res);
    return fail(r, PL_DECODE_ENOMEM, "out of memory");
  }
  for (size_t i = 0; i < r->n_chans; i++) {
    const struct chan *c = &r->chans[i];
    pl_extract_channel *x = &res->channels[res->n_channels++];
    x->channel = c->ch;
    x->decoder = pl_decoder_format(c->dec);
    x->messages = c->messages;
    x->skipped = c->skipped;
    x->columns = c->csv ? pl_csv_column_count(c->csv) : 0;
    x->output = dup_str(c->out && c->out->path ? c->out->path : "-");
    if (!x->output) {
      pl_extract_result_free(res);
      return fail(r, PL_DECODE_ENOMEM, "out of memory");
    }
  }
  res->skipped = r->skipped;
  *out = res;
  return PL_DECODE_OK;
}

int pl_extract_topics(mcap_reader *rd, const char *file, const char *const *topics, size_t n_topics,
                      const char *output, const pl_extract_options *o, pl_extract_result **out,
                      pl_decode_error_info *err) {
  static const pl_extract_options defaults;
  if (err) memset(err, 0, sizeof *err);
  if (!rd || !output || (n_topics && !topics) || !out) {
    if (err) snprintf(err->msg, sizeof err->msg, "invalid argument");
    return PL_DECODE_EINVAL;
  }
  *out = NULL;
  struct run r;
  memset(&r, 0, sizeof r);
  r.file = file ? file : "";
  r.o = o ? o : &defaults;
  r.jo = r.o->json;
  r.co = r.o->csv_options;
  r.err = err;
  int made_dir = 0, rc;
  mcap_message_iter *it = NULL;
  size_t *topic_first = calloc(n_topics ? n_topics : 1, sizeof *topic_first);
  if (!topic_first) {
    rc = fail(&r, PL_DECODE_ENOMEM, "out of memory");
    goto out;
  }
  rc = select_topics(&r, rd, topics, n_topics, topic_first);
  if (rc != PL_DECODE_OK) goto out;
  struct stat st;
  if (r.o->csv && r.o->to_dir && !(stat(output, &st) == 0 && S_ISDIR(st.st_mode))) {
    if (mkdir(output, 0777) != 0) {
      rc = fail(&r, PL_DECODE_EIO, "cannot create directory '%s': %s", output, strerror(errno));
      goto out;
    }
    made_dir = 1;
  }
  rc = open_outputs(&r, n_topics, topic_first, output);
  if (rc != PL_DECODE_OK) goto out;
  mcap_query q = r.o->query;
  q.channel_filter = selected;
  q.channel_filter_ctx = &r;
  if (mcap_reader_query(rd, &q, &it) != MCAP_OK) {
    rc = fail(&r, PL_DECODE_EIO, "'%s': %s", r.file, mcap_reader_errmsg(rd));
    goto out;
  }
  mcap_message_view v;
  uint64_t n = 0;
  int mrc;
  while ((mrc = mcap_message_iter_next(it, &v)) == MCAP_OK) {
    rc = one(&r, &v);
    if (rc != PL_DECODE_OK) goto out;
    if ((++n & 4095) == 0 && r.o->progress) r.o->progress(r.o->user, n);
  }
  if (mrc != MCAP_ITEROVER) {
    rc = fail(&r, PL_DECODE_EIO, "'%s': %s", r.file, mcap_reader_errmsg(rd));
    goto out;
  }
  for (size_t i = 0; i < r.n_outs; i++) {
    rc = out_commit(&r, &r.outs[i]);
    if (rc != PL_DECODE_OK) goto out;
  }
  made_dir = 0; /* it holds the outputs now */
  rc = make_result(&r, out);
out:
  mcap_message_iter_free(it);
  for (size_t i = 0; i < r.n_chans; i++) {
    if (r.chans[i].owns_csv) pl_csv_free(r.chans[i].csv);
    pl_decoder_free(r.chans[i].dec);
  }
  for (size_t i = 0; i < r.n_outs; i++) out_dispose(&r.outs[i]);
  if (made_dir) rmdir(output); /* ours and empty: nothing was written */
  free(topic_first);
  free(r.outs);
  free(r.chans);
  free(r.by_id);
  return rc;
}

void pl_extract_result_free(pl_extract_result *r) {
  if (!r) return;
  for (size_t i = 0; i < r->n_channels; i++) free(r->channels[i].output);
  free(r->channels);
  free(r);
}
