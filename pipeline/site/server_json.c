/*
 * server_json.c - JSON in and out of the local site.
 *
 * In: request bodies are strict RFC 8259 JSON in UTF-8 (RFC 3629), checked
 * here before json-c parses them, because json-c accepts much more even in its
 * strict mode (single-quoted names, NaN, Infinity, "1.", raw control
 * characters in strings, surrogates and overlong forms in UTF-8). Also refused:
 * escaped lone surrogates (no Unicode text has them), \u0000 (every string
 * here becomes a C string, which would end there), nesting deeper than
 * SRV_JSON_DEPTH, and member names given twice in one object. A refusal names
 * the byte offset and what was expected, never the bytes themselves.
 *
 * Out: names that come from recordings (topics, schema names, metadata,
 * attachment names, ...) are kept byte-exact on disk, but a JSON text must be
 * UTF-8: every response body goes through pl_utf8_fix(), which replaces
 * each ill-formed sequence by U+FFFD, one per maximal subpart (the Unicode
 * standard's recommended practice, also what WHATWG decoders do; utf8.c).
 * json-c escapes control characters itself, so the bodies are valid JSON.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/core.h"
#include "server_internal.h"

/* ------------------------------------------------------------- strict RFC 8259 */

struct jcheck {
  const unsigned char *p;
  size_t n, i;
  size_t members; /* object members seen, to find names given twice after parsing */
  char *msg;
  size_t cap;
};

static int jfail(struct jcheck *j, const char *what) {
  if (j->i >= j->n)
    snprintf(j->msg, j->cap, "the request body is not valid JSON: it ends where %s was expected",
             what);
  else
    snprintf(j->msg, j->cap, "the request body is not valid JSON: %s expected at byte %zu", what,
             j->i);
  return -1;
}

static void jws(struct jcheck *j) {
  while (j->i < j->n && (j->p[j->i] == ' ' || j->p[j->i] == '\t' || j->p[j->i] == '\n' ||
                         j->p[j->i] == '\r'))
    j->i++;
}

static int hex4(struct jcheck *j, unsigned *v) {
  *v = 0;
  for (int k = 0; k < 4; k++) {
    if (j->i >= j->n) return jfail(j, "four hex digits after \\u");
    unsigned char c = j->p[j->i];
    unsigned d;
    if (c >= '0' && c <= '9')
      d = c - '0';
    else if (c >= 'a' && c <= 'f')
      d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
      d = c - 'A' + 10;
    else
      return jfail(j, "four hex digits after \\u");
    *v = *v * 16 + d;
    j->i++;
  }
  return 0;
}

static int jstring(struct jcheck *j) {
  j->i++; /* the opening quote */
  for (;;) {
    if (j->i >= j->n) return jfail(j, "the end of a string");
    unsigned char c = j->p[j->i];
    if (c == '"') {
      j->i++;
      return 0;
    }
    if (c < 0x20) return jfail(j, "an escape sequence for a control character");
    if (c == '\\') {
      j->i++;
      if (j->i >= j->n) return jfail(j, "an escape sequence");
      c = j->p[j->i++];
      if (c == 'u') {
        unsigned v;
        if (hex4(j, &v)) return -1;
        if (v == 0) {
          j->i -= 6;
          return jfail(j, "a character other than NUL (\\u0000 is not taken)");
        }
        if (v >= 0xDC00 && v <= 0xDFFF) {
          j->i -= 6;
          return jfail(j, "a character (an escaped low surrogate needs a high one before it)");
        }
        if (v >= 0xD800 && v <= 0xDBFF) {
          if (j->i + 2 > j->n || j->p[j->i] != '\\' || j->p[j->i + 1] != 'u')
            return jfail(j, "the low surrogate of an escaped surrogate pair");
          j->i += 2;
          unsigned lo;
          if (hex4(j, &lo)) return -1;
          if (lo < 0xDC00 || lo > 0xDFFF) {
            j->i -= 6;
            return jfail(j, "the low surrogate of an escaped surrogate pair");
          }
        }
      } else if (!strchr("\"\\/bfnrt", c) || c == 0) {
        j->i--;
        return jfail(j, "one of \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u");
      }
      continue;
    }
    if (c < 0x80) {
      j->i++;
      continue;
    }
    size_t k = pl_utf8_next(j->p + j->i, j->n - j->i, NULL, NULL);
    if (!k) return jfail(j, "UTF-8 text");
    j->i += k;
  }
}

static int jnumber(struct jcheck *j) {
  if (j->p[j->i] == '-') j->i++;
  if (j->i >= j->n || j->p[j->i] < '0' || j->p[j->i] > '9') return jfail(j, "a digit");
  if (j->p[j->i] == '0') {
    j->i++;
  } else {
    while (j->i < j->n && j->p[j->i] >= '0' && j->p[j->i] <= '9') j->i++;
  }
  if (j->i < j->n && j->p[j->i] == '.') {
    j->i++;
    if (j->i >= j->n || j->p[j->i] < '0' || j->p[j->i] > '9')
      return jfail(j, "a digit after the decimal point");
    while (j->i < j->n && j->p[j->i] >= '0' && j->p[j->i] <= '9') j->i++;
  }
  if (j->i < j->n && (j->p[j->i] == 'e' || j->p[j->i] == 'E')) {
    j->i++;
    if (j->i < j->n && (j->p[j->i] == '+' || j->p[j->i] == '-')) j->i++;
    if (j->i >= j->n || j->p[j->i] < '0' || j->p[j->i] > '9')
      return jfail(j, "a digit in the exponent");
    while (j->i < j->n && j->p[j->i] >= '0' && j->p[j->i] <= '9') j->i++;
  }
  return 0;
}

static int jliteral(struct jcheck *j, const char *word) {
  size_t len = strlen(word);
  if (j->n - j->i < len || memcmp(j->p + j->i, word, len) != 0)
    return jfail(j, "a value (string, number, object, array, true, false or null)");
  j->i += len;
  return 0;
}

static int jvalue(struct jcheck *j, int depth) {
  jws(j);
  if (j->i >= j->n) return jfail(j, "a value");
  unsigned char c = j->p[j->i];
  if (c == '{' || c == '[') {
    if (depth >= SRV_JSON_DEPTH) {
      snprintf(j->msg, j->cap, "the request body nests deeper than %d levels (byte %zu)",
               SRV_JSON_DEPTH, j->i);
      return -1;
    }
    unsigned char close = c == '{' ? '}' : ']';
    j->i++;
    jws(j);
    if (j->i < j->n && j->p[j->i] == close) {
      j->i++;
      return 0;
    }
    for (;;) {
      if (c == '{') {
        jws(j);
        if (j->i >= j->n || j->p[j->i] != '"') return jfail(j, "a member name in double quotes");
        if (jstring(j)) return -1;
        jws(j);
        if (j->i >= j->n || j->p[j->i] != ':') return jfail(j, "':' after a member name");
        j->i++;
        j->members++;
      }
      if (jvalue(j, depth + 1)) return -1;
      jws(j);
      if (j->i < j->n && j->p[j->i] == ',') {
        j->i++;
        continue;
      }
      if (j->i < j->n && j->p[j->i] == close) {
        j->i++;
        return 0;
      }
      return jfail(j, c == '{' ? "',' or '}'" : "',' or ']'");
    }
  }
  if (c == '"') return jstring(j);
  if (c == '-' || (c >= '0' && c <= '9')) return jnumber(j);
  if (c == 't') return jliteral(j, "true");
  if (c == 'f') return jliteral(j, "false");
  if (c == 'n') return jliteral(j, "null");
  return jfail(j, "a value (string, number, object, array, true, false or null)");
}

static size_t count_members(json_object *o) {
  size_t n = 0;
  if (json_object_is_type(o, json_type_object)) {
    json_object_object_foreach(o, k, v) {
      (void)k;
      n += 1 + count_members(v);
    }
  } else if (json_object_is_type(o, json_type_array)) {
    for (size_t i = 0; i < json_object_array_length(o); i++)
      n += count_members(json_object_array_get_idx(o, i));
  }
  return n;
}

int pl__srv_json_parse_strict(const char *text, size_t len, json_object **out, char *msg,
                              size_t cap) {
  *out = NULL;
  struct jcheck j = {(const unsigned char *)text, len, 0, 0, msg, cap};
  if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) {
    snprintf(msg, cap, "the request body is not valid JSON: it starts with a byte order mark");
    return -1;
  }
  if (jvalue(&j, 0)) return -1;
  jws(&j);
  if (j.i != len) return jfail(&j, "the end of the body");
  if (len > INT32_MAX) {
    snprintf(msg, cap, "the request body is too large");
    return -1;
  }
  json_tokener *tok = json_tokener_new_ex(SRV_JSON_DEPTH + 1);
  json_object *o = tok ? json_tokener_parse_ex(tok, text, (int)len) : NULL;
  int ok = tok && json_tokener_get_error(tok) == json_tokener_success;
  json_tokener_free(tok);
  if (!ok) {
    json_object_put(o);
    snprintf(msg, cap, "the request body could not be parsed");
    return -1;
  }
  /* json-c keeps the last of members with the same name: the count tells */
  if (count_members(o) != j.members) {
    json_object_put(o);
    snprintf(msg, cap, "the request body is not valid here: a member name appears twice in "
                       "one object");
    return -1;
  }
  *out = o;
  return 0;
}
