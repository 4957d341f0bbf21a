/*
 * server_events_query.c - the `query` mini-language of GET /v1/events: a
 * space-separated list of qualifiers that must all match an event's metadata.
 *
 *   key:value        the metadata has `key` with exactly `value`
 *   key:v1,v2        ... with `v1` or `v2`
 *   key:*            the metadata has `key` (any value)
 *   *:value          some key has exactly `value` (`*:v1,v2` too; `*:*`: any metadata)
 *   foo              some key or value contains `foo`
 *
 * Double quotes make a part literal: `key:"value with spaces"`, `"a b"` (free
 * text with a space), `key:"*"` (the value `*`), `k:"a,b"` (one value with a
 * comma); inside quotes `\"` and `\\` stand for `"` and `\`. Only the first
 * unquoted ':' separates the key, so `url:http://x` has the value `http://x`.
 * Comparisons are exact and case-sensitive (byte for byte, as metadata is
 * UTF-8); a quote in the middle of a word opens a quoted part there.
 * Errors (400 upstream): an unterminated quote, an empty key
 * (`:v`), an empty unquoted value (`k:`, `k:a,,b`), more than
 * SRV_MAX_EVQ_TERMS qualifiers, a NUL byte.
 *
 * The parser makes one pass over the text and allocates at most what the text
 * holds (every key and value is a copy of part of it).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server_internal.h"

/* A part being read: bytes, and whether any of them came from quotes. */
struct part {
  char *buf;
  size_t len;
  int quoted;
};

static void term_dispose(struct srv_evq_term *t) {
  free(t->key);
  for (size_t i = 0; i < t->n_values; i++) free(t->values[i]);
  free(t->values);
  memset(t, 0, sizeof *t);
}

void pl__srv_evq_dispose(struct srv_evq *q) {
  if (!q) return;
  for (size_t i = 0; i < q->n; i++) term_dispose(&q->terms[i]);
  free(q->terms);
  q->terms = NULL;
  q->n = 0;
}

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/* The finished part, cut to its size (parts are allocated for the rest of the text). */
static char *part_take(struct part *p) {
  char *s = p->buf;
  s[p->len] = 0;
  p->buf = NULL;
  char *small = realloc(s, p->len + 1);
  return small ? small : s;
}

int pl__srv_evq_parse(const char *text, size_t len, struct srv_evq *out, char *msg, size_t cap) {
  memset(out, 0, sizeof *out);
  struct srv_evq q = {NULL, 0};
  struct srv_evq_term t;
  struct part cur = {NULL, 0, 0};
  memset(&t, 0, sizeof t);
  size_t i = 0;
  if (memchr(text, 0, len)) {
    const char *nul = memchr(text, 0, len);
    snprintf(msg, cap, "byte %zu: NUL in the query", (size_t)(nul - text));
    return -1;
  }
  for (;;) {
    while (i < len && is_space(text[i])) i++;
    if (i >= len) break;
    size_t tok_start = i;
    if (q.n >= SRV_MAX_EVQ_TERMS) {
      snprintf(msg, cap, "byte %zu: more than %d qualifiers", tok_start, SRV_MAX_EVQ_TERMS);
      goto fail;
    }
    /* Each part is at most as long as the rest of the text. */
    int seen_colon = 0;
    memset(&t, 0, sizeof t);
    t.kind = EVQ_TEXT;
    for (;;) {
      if (!cur.buf) {
        cur.buf = malloc(len - i + 1);
        cur.len = 0;
        cur.quoted = 0;
        if (!cur.buf) {
          snprintf(msg, cap, "out of memory");
          goto fail;
        }
      }
      int end_tok = i >= len || is_space(text[i]);
      char c = end_tok ? 0 : text[i];
      if (!end_tok && c == '"') {
        size_t open = i++;
        cur.quoted = 1;
        for (;;) {
          if (i >= len) {
            snprintf(msg, cap, "byte %zu: unterminated quote", open);
            goto fail;
          }
          if (text[i] == '"') {
            i++;
            break;
          }
          if (text[i] == '\\' && i + 1 < len && (text[i + 1] == '"' || text[i + 1] == '\\')) i++;
          cur.buf[cur.len++] = text[i++];
        }
        continue;
      }
      int sep_colon = !end_tok && c == ':' && !seen_colon;
      int sep_comma = !end_tok && c == ',' && seen_colon;
      if (!end_tok && !sep_colon && !sep_comma) {
        cur.buf[cur.len++] = c;
        i++;
        continue;
      }
      /* a part ends */
      int star = !cur.quoted && cur.len == 1 && cur.buf[0] == '*';
      if (!seen_colon) {
        if (sep_colon) {
          if (cur.len == 0 && !cur.quoted) {
            snprintf(msg, cap, "byte %zu: a qualifier needs a key before ':'", tok_start);
            goto fail;
          }
          t.kind = EVQ_FIELD;
          t.any_key = star;
          if (star) {
            free(cur.buf);
            cur.buf = NULL;
          } else {
            t.key = part_take(&cur);
          }
          seen_colon = 1;
          i++;
          continue;
        }
        /* free text: the whole token */
        if (cur.len == 0) {
          snprintf(msg, cap, "byte %zu: empty quoted text", tok_start);
          goto fail;
        }
        t.key = part_take(&cur);
        break;
      }
      /* a value */
      if (cur.len == 0 && !cur.quoted) {
        snprintf(msg, cap, "byte %zu: a qualifier needs a value after ':' (or '*')", tok_start);
        goto fail;
      }
      if (star && t.n_values == 0 && !sep_comma) {
        t.any_value = 1;
        free(cur.buf);
        cur.buf = NULL;
      } else if (star || t.any_value) {
        snprintf(msg, cap, "byte %zu: '*' stands alone after ':' (quote it: \"*\")", tok_start);
        goto fail;
      } else {
        if ((t.n_values & (t.n_values - 1)) == 0) { /* 0, 1, 2, 4, ...: double */
          char **v = realloc(t.values, (t.n_values ? 2 * t.n_values : 1) * sizeof *v);
          if (!v) {
            snprintf(msg, cap, "out of memory");
            goto fail;
          }
          t.values = v;
        }
        t.values[t.n_values++] = part_take(&cur);
      }
      if (end_tok) break;
      i++; /* the comma */
    }
    struct srv_evq_term *grown = realloc(q.terms, (q.n + 1) * sizeof *grown);
    if (!grown) {
      snprintf(msg, cap, "out of memory");
      goto fail;
    }
    q.terms = grown;
    q.terms[q.n++] = t;
    memset(&t, 0, sizeof t);
  }
  free(cur.buf);
  *out = q;
  return 0;
fail:
  free(cur.buf);
  term_dispose(&t);
  pl__srv_evq_dispose(&q);
  return -1;
}

static int value_in(const struct srv_evq_term *t, const char *v, size_t vlen) {
  for (size_t i = 0; i < t->n_values; i++)
    if (strlen(t->values[i]) == vlen && memcmp(t->values[i], v, vlen) == 0) return 1;
  return 0;
}

static int term_match(const struct srv_evq_term *t, json_object *md) {
  if (t->kind == EVQ_TEXT) {
    json_object_object_foreach(md, k, v) {
      if (strstr(k, t->key)) return 1;
      if (v && json_object_is_type(v, json_type_string) && strstr(json_object_get_string(v), t->key))
        return 1;
    }
    return 0;
  }
  if (!t->any_key) {
    json_object *v = NULL;
    if (!json_object_object_get_ex(md, t->key, &v) || !v ||
        !json_object_is_type(v, json_type_string))
      return 0;
    return t->any_value ||
           value_in(t, json_object_get_string(v), (size_t)json_object_get_string_len(v));
  }
  json_object_object_foreach(md, k, v) {
    (void)k;
    if (!v || !json_object_is_type(v, json_type_string)) continue;
    if (t->any_value ||
        value_in(t, json_object_get_string(v), (size_t)json_object_get_string_len(v)))
      return 1;
  }
  return 0;
}

int pl__srv_evq_match(const struct srv_evq *q, json_object *metadata) {
  if (!metadata || !json_object_is_type(metadata, json_type_object)) return q->n == 0;
  for (size_t i = 0; i < q->n; i++)
    if (!term_match(&q->terms[i], metadata)) return 0;
  return 1;
}
