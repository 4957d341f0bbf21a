/*
 * merge.c - pl_inspect_merge: the messages of several recordings as one stream (`mcapkit
 * cat`), and pl_inspect_topics, the topic selection its queries use.
 *
 * Each indexed input gets one query (channel filter, inclusive time range, order); the
 * inputs are merged with a binary heap keyed by log time (ties: the input added first;
 * reversed for MCAP_ORDER_REVERSE), or concatenated for MCAP_ORDER_FILE. A streamed input
 * (a pipe) is read record by record with the streamed reader: its schemas and channels are
 * copied as they come (65536 slots each, allocated on first use) and its messages filtered
 * as a query would.
 */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inspect_internal.h"

/* ---------------------------------------------------------------- topics */

struct pl_inspect_topics {
  char **names; /* exact names */
  size_t n_names;
  regex_t *res;
  size_t n_res;
  int any; /* some name or regex given */
};

void pl_inspect_topics_free(pl_inspect_topics *f) {
  if (!f) return;
  for (size_t i = 0; i < f->n_names; i++) free(f->names[i]);
  free(f->names);
  for (size_t i = 0; i < f->n_res; i++) regfree(&f->res[i]);
  free(f->res);
  free(f);
}

static int add_names(pl_inspect_topics *f, const char *s) {
  while (*s) {
    const char *comma = strchr(s, ',');
    size_t len = comma ? (size_t)(comma - s) : strlen(s);
    if (len) {
      char **t = realloc(f->names, (f->n_names + 1) * sizeof *t);
      if (!t) return -1;
      f->names = t;
      mcap_str view = {s, (uint32_t)len};
      if (!(f->names[f->n_names] = pl__insp_dup(view))) return -1;
      f->n_names++;
    }
    s += len;
    if (*s == ',') s++;
  }
  return 0;
}

int pl_inspect_topics_create(pl_inspect_topics **out, const char *const *names, size_t n_names,
                             const char *const *regexes, size_t n_regexes, pl_error_info *err) {
  *out = NULL;
  pl_inspect_topics *f = calloc(1, sizeof *f);
  if (!f || (n_regexes && !(f->res = calloc(n_regexes, sizeof *f->res)))) goto nomem;
  for (size_t i = 0; i < n_names; i++)
    if (add_names(f, names[i]) != 0) goto nomem;
  for (size_t i = 0; i < n_regexes; i++) {
    size_t n = strlen(regexes[i]) + 5;
    char *anchored = malloc(n);
    if (!anchored) goto nomem;
    snprintf(anchored, n, "^(%s)$", regexes[i]); /* a full match, as mcap filter does */
    int rc = regcomp(&f->res[f->n_res], anchored, REG_EXTENDED | REG_NOSUB);
    free(anchored);
    if (rc != 0) {
      char msg[256];
      regerror(rc, &f->res[f->n_res], msg, sizeof msg);
      pl_inspect_topics_free(f);
      return pl__insp_fail(err, PL_EINVAL, 0, UINT64_MAX, "bad regex '%s': %s", regexes[i], msg);
    }
    f->n_res++;
  }
  f->any = n_names > 0 || n_regexes > 0;
  *out = f;
  return PL_OK;
nomem:
  pl_inspect_topics_free(f);
  return pl__insp_fail(err, PL_ENOMEM, 0, UINT64_MAX, "out of memory");
}

int pl_inspect_topics_any(const pl_inspect_topics *f) {
  return f && f->any;
}

int pl_inspect_topics_match(void *ctx, const mcap_channel *ch, const mcap_schema *schema) {
  (void)schema;
  const pl_inspect_topics *f = ctx;
  if (!f || !f->any) return 1;
  for (size_t i = 0; i < f->n_names; i++)
    if (strlen(f->names[i]) == ch->topic.len &&
        memcmp(f->names[i], ch->topic.data, ch->topic.len) == 0)
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

/* ----------------------------------------------------------------- merge */

/* Copies of the schemas and channels a streamed input defines. */
struct owned_schema {
  mcap_schema s;
  char *name, *encoding;
  uint8_t *data;
};

struct owned_channel {
  mcap_channel c;
  char *topic, *encoding;
  int selected;
};

struct input {
  mcap_reader *r; /* indexed: borrowed */
  mcap_message_iter *it;
  mcap_stream_reader *sr; /* streamed */
  struct owned_schema **schemas;   /* 65536 slots */
  struct owned_channel **channels; /* 65536 slots */
  int stream_stopped;              /* the stream reader's error ended it (damage known) */
  mcap_damage damage;
  mcap_message_view cur;
  int done;
};

struct pl_inspect_merge {
  pl_inspect_merge_options o;
  struct input *in;
  size_t n, cap;
  size_t *heap; /* input indexes; built on the first next() */
  size_t hn;
  int started, heap_built;
  size_t current; /* MCAP_ORDER_FILE: the input being read */
  size_t last;    /* the input whose message was handed out last (advanced on the next call) */
  int pending;    /* `last` must be advanced */
  char msg[512];
};

int pl_inspect_merge_create(pl_inspect_merge **out, const pl_inspect_merge_options *o) {
  *out = calloc(1, sizeof **out);
  if (!*out) return PL_ENOMEM;
  if (o) (*out)->o = *o;
  return PL_OK;
}

static void input_dispose(struct input *in) {
  mcap_message_iter_free(in->it);
  mcap_stream_reader_free(in->sr);
  if (in->schemas) {
    for (size_t i = 0; i < 65536; i++) {
      if (!in->schemas[i]) continue;
      free(in->schemas[i]->name);
      free(in->schemas[i]->encoding);
      free(in->schemas[i]->data);
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
}

void pl_inspect_merge_free(pl_inspect_merge *m) {
  if (!m) return;
  for (size_t i = 0; i < m->n; i++) input_dispose(&m->in[i]);
  free(m->in);
  free(m->heap);
  free(m);
}

const char *pl_inspect_merge_errmsg(const pl_inspect_merge *m) {
  return m->msg;
}

int pl_inspect_merge_damage(const pl_inspect_merge *m, size_t input, mcap_damage *d) {
  if (input >= m->n || !m->in[input].stream_stopped) return 0;
  *d = m->in[input].damage;
  return 1;
}

static struct input *new_input(pl_inspect_merge *m) {
  if (m->started) return NULL;
  if (pl__insp_grow((void **)&m->in, &m->cap, m->n, sizeof *m->in) != 0) return NULL;
  struct input *in = &m->in[m->n];
  memset(in, 0, sizeof *in);
  return in;
}

static int select_channel(const pl_inspect_merge *m, const mcap_channel *ch,
                          const mcap_schema *s) {
  return !m->o.channel_filter || m->o.channel_filter(m->o.channel_filter_ctx, ch, s);
}

int pl_inspect_merge_add_reader(pl_inspect_merge *m, mcap_reader *r) {
  struct input *in = new_input(m);
  if (!in) {
    snprintf(m->msg, sizeof m->msg, "%s", m->started ? "inputs added after the first message"
                                                     : "out of memory");
    return m->started ? MCAP_ESTATE : MCAP_ENOMEM;
  }
  mcap_query q;
  memset(&q, 0, sizeof q);
  q.channel_filter = m->o.channel_filter;
  q.channel_filter_ctx = m->o.channel_filter_ctx;
  q.has_start = m->o.has_start;
  q.start = m->o.start;
  q.has_end = m->o.has_end;
  q.end = m->o.end; /* both inclusive, as the query's */
  q.order = m->o.order;
  int rc = mcap_reader_query(r, &q, &in->it);
  if (rc != MCAP_OK) {
    snprintf(m->msg, sizeof m->msg, "%s", mcap_reader_errmsg(r));
    return rc;
  }
  in->r = r;
  m->n++;
  if (m->o.on_channel) {
    size_t n = mcap_reader_channel_count(r);
    for (size_t i = 0; i < n; i++) {
      const mcap_channel *ch = mcap_reader_channel_at(r, i);
      const mcap_schema *s = ch->schema_id ? mcap_reader_schema(r, ch->schema_id) : NULL;
      if (select_channel(m, ch, s)) m->o.on_channel(m->o.on_channel_ctx, ch, s);
    }
  }
  return MCAP_OK;
}

int pl_inspect_merge_add_stream(pl_inspect_merge *m, mcap_source *src) {
  struct input *in = m->o.order == MCAP_ORDER_FILE || m->n == 0 ? new_input(m) : NULL;
  if (!in) {
    mcap_source_close(src);
    snprintf(m->msg, sizeof m->msg, "%s",
             m->o.order != MCAP_ORDER_FILE ? "a stream can only be read in file order"
                                           : "out of memory");
    return m->o.order != MCAP_ORDER_FILE ? MCAP_EINVAL : MCAP_ENOMEM;
  }
  in->schemas = calloc(65536, sizeof *in->schemas);
  in->channels = calloc(65536, sizeof *in->channels);
  int rc = MCAP_ENOMEM;
  if (!in->schemas || !in->channels)
    mcap_source_close(src);
  else
    rc = mcap_stream_reader_new(&in->sr, src, NULL); /* takes src, even on failure */
  if (rc != MCAP_OK) {
    input_dispose(in);
    snprintf(m->msg, sizeof m->msg, "out of memory");
    return MCAP_ENOMEM;
  }
  m->n++;
  return MCAP_OK;
}

static int keep_schema(struct input *in, const mcap_schema *s) {
  if (in->schemas[s->id]) return MCAP_OK;
  struct owned_schema *o = calloc(1, sizeof *o);
  if (!o) return MCAP_ENOMEM;
  o->name = pl__insp_dup(s->name);
  o->encoding = pl__insp_dup(s->encoding);
  o->data = malloc(s->data.len ? (size_t)s->data.len : 1);
  if (!o->name || !o->encoding || !o->data) {
    free(o->name);
    free(o->encoding);
    free(o->data);
    free(o);
    return MCAP_ENOMEM;
  }
  if (s->data.len) memcpy(o->data, s->data.data, (size_t)s->data.len);
  o->s = *s;
  o->s.name.data = o->name;
  o->s.encoding.data = o->encoding;
  o->s.data.data = o->data; /* a decoder needs it (cat --decode) */
  in->schemas[s->id] = o;
  return MCAP_OK;
}

static const mcap_schema *schema_of(const struct input *in, uint16_t id) {
  return id && in->schemas[id] ? &in->schemas[id]->s : NULL;
}

static int keep_channel(pl_inspect_merge *m, struct input *in, const mcap_channel *ch) {
  if (in->channels[ch->id]) return MCAP_OK;
  struct owned_channel *o = calloc(1, sizeof *o);
  if (!o) return MCAP_ENOMEM;
  o->topic = pl__insp_dup(ch->topic);
  o->encoding = pl__insp_dup(ch->message_encoding);
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
  const mcap_schema *s = schema_of(in, ch->schema_id);
  o->selected = select_channel(m, &o->c, s);
  in->channels[ch->id] = o;
  if (o->selected && m->o.on_channel) m->o.on_channel(m->o.on_channel_ctx, &o->c, s);
  return MCAP_OK;
}

/* Next message of a streamed input, filtered like a query would. */
static int stream_next(pl_inspect_merge *m, struct input *in) {
  for (;;) {
    mcap_record rec;
    int rc = mcap_stream_reader_next(in->sr, &rec);
    if (rc != MCAP_OK) {
      if (rc != MCAP_ITEROVER) {
        mcap_stream_reader_damage(in->sr, &in->damage);
        in->stream_stopped = 1;
        const char *why = mcap_stream_reader_errmsg(in->sr);
        snprintf(m->msg, sizeof m->msg, "%s", why && *why ? why : mcap_strerror(rc));
      }
      return rc;
    }
    if (rec.opcode == MCAP_OP_SCHEMA && rec.u.schema.id != 0) {
      if (keep_schema(in, &rec.u.schema) != MCAP_OK) goto nomem;
    } else if (rec.opcode == MCAP_OP_CHANNEL) {
      if (keep_channel(m, in, &rec.u.channel) != MCAP_OK) goto nomem;
    } else if (rec.opcode == MCAP_OP_MESSAGE) {
      const mcap_message *msg = &rec.u.message;
      struct owned_channel *oc = in->channels[msg->channel_id];
      if (!oc) {
        snprintf(m->msg, sizeof m->msg, "message at offset %llu on unknown channel %u",
                 (unsigned long long)rec.offset, (unsigned)msg->channel_id);
        return MCAP_ECHANNEL_ID;
      }
      if (!oc->selected) continue;
      if (m->o.has_start && msg->log_time < m->o.start) continue;
      if (m->o.has_end && msg->log_time > m->o.end) continue;
      memset(&in->cur, 0, sizeof in->cur);
      in->cur.message = *msg;
      in->cur.channel = &oc->c;
      in->cur.schema = schema_of(in, oc->c.schema_id);
      return MCAP_OK;
    }
  }
nomem:
  snprintf(m->msg, sizeof m->msg, "out of memory");
  return MCAP_ENOMEM;
}

/* Advance an input: MCAP_OK with in->cur set, MCAP_ITEROVER, or an error (m->msg). */
static int input_next(pl_inspect_merge *m, struct input *in) {
  int rc;
  if (in->sr) {
    rc = stream_next(m, in);
  } else {
    rc = mcap_message_iter_next(in->it, &in->cur);
    if (rc != MCAP_OK && rc != MCAP_ITEROVER) {
      const char *why = mcap_reader_errmsg(in->r);
      snprintf(m->msg, sizeof m->msg, "%s", why && *why ? why : mcap_strerror(rc));
    }
  }
  if (rc != MCAP_OK) in->done = 1;
  return rc;
}

/* Heap order: does input a come before input b? */
static int before(const pl_inspect_merge *m, size_t a, size_t b) {
  uint64_t ta = m->in[a].cur.message.log_time, tb = m->in[b].cur.message.log_time;
  if (m->o.order == MCAP_ORDER_REVERSE) {
    if (ta != tb) return ta > tb;
    return a > b;
  }
  if (ta != tb) return ta < tb;
  return a < b;
}

static void sift_down(pl_inspect_merge *m, size_t i) {
  size_t *h = m->heap, n = m->hn;
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, x = i;
    if (l < n && before(m, h[l], h[x])) x = l;
    if (r < n && before(m, h[r], h[x])) x = r;
    if (x == i) return;
    size_t t = h[i];
    h[i] = h[x];
    h[x] = t;
    i = x;
  }
}

/* One input after the other. */
static int next_concat(pl_inspect_merge *m, const mcap_message_view **out, size_t *input) {
  while (m->current < m->n) {
    struct input *in = &m->in[m->current];
    *input = m->current;
    int rc = input_next(m, in);
    if (rc == MCAP_OK) {
      *out = &in->cur;
      return MCAP_OK;
    }
    m->current++;
    if (rc != MCAP_ITEROVER) return rc;
  }
  return MCAP_ITEROVER;
}

/* The heap holds every input that has a current message; the top is the next one out. An
 * input that fails is reported once and leaves the heap. */
static int next_merged(pl_inspect_merge *m, const mcap_message_view **out, size_t *input) {
  m->started = 1; /* no more inputs; [current, n) are the ones not yet primed */
  if (!m->heap && !(m->heap = malloc((m->n ? m->n : 1) * sizeof *m->heap))) {
    snprintf(m->msg, sizeof m->msg, "out of memory");
    *input = 0;
    return MCAP_ENOMEM;
  }
  while (m->current < m->n) {
    size_t i = m->current++;
    int rc = input_next(m, &m->in[i]);
    if (rc == MCAP_OK) {
      m->heap[m->hn++] = i;
    } else if (rc != MCAP_ITEROVER) {
      *input = i;
      return rc;
    }
  }
  if (!m->heap_built) {
    m->heap_built = 1;
    for (size_t k = m->hn; k-- > 0;) sift_down(m, k);
  }
  if (m->pending) {
    m->pending = 0;
    int rc = input_next(m, &m->in[m->last]);
    if (rc != MCAP_OK) m->heap[0] = m->heap[--m->hn];
    sift_down(m, 0);
    if (rc != MCAP_OK && rc != MCAP_ITEROVER) {
      *input = m->last;
      return rc;
    }
  }
  if (m->hn == 0) return MCAP_ITEROVER;
  m->last = m->heap[0];
  m->pending = 1;
  *input = m->last;
  *out = &m->in[m->last].cur;
  return MCAP_OK;
}

int pl_inspect_merge_next(pl_inspect_merge *m, const mcap_message_view **out, size_t *input) {
  size_t dummy;
  if (!input) input = &dummy;
  *out = NULL;
  m->msg[0] = '\0';
  if (m->o.order == MCAP_ORDER_FILE) {
    m->started = 1;
    return next_concat(m, out, input);
  }
  return next_merged(m, out, input);
}
