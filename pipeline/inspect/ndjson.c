/*
 * ndjson.c - the lines `mcapkit cat` prints: pl_inspect_ndjson, the NDJSON line of a
 * message (`--format ndjson`, and with decoding `--decode`), and pl_inspect_text_line, the
 * aligned text line with pl_inspect_preview, the short view of a message's data.
 *
 * Lines are built by hand into a pl_text (no JSON objects per message) so that printing
 * millions of messages is fast: what every line about a channel repeats
 * ({"topic":"...","channel_id":N,"sequence":) is made once per (input, channel) and copied.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inspect_internal.h"

/* -------------------------------------------------------------- pl_text */

static int tx_str(pl_text *t, const char *s) {
  return pl_text_append(t, s, strlen(s));
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

/* ---------------------------------------------------------------- NDJSON */

struct chan_cache {
  int ready;
  int json_enc; /* message_encoding is "json" */
  char *prefix; /* {"topic":"...","channel_id":N,"sequence": */
  size_t prefix_len;
  pl_decoder *dec; /* decoding: made on the channel's first message */
  int dec_state;   /* 0 not tried, 1 ready, -1 no decoder */
  uint64_t dec_errors;
};

struct pl_inspect_ndjson {
  pl_inspect_ndjson_options o;
  struct chan_cache **caches; /* per input: 65536 slots, calloc'ed (untouched pages cost
                                 nothing), made on the input's first message */
  size_t n_inputs;
  pl_text dtext; /* one decoded value's JSON */
};

int pl_inspect_ndjson_create(pl_inspect_ndjson **out, const pl_inspect_ndjson_options *o) {
  *out = calloc(1, sizeof **out);
  if (!*out) return PL_ENOMEM;
  if (o) (*out)->o = *o;
  return PL_OK;
}

void pl_inspect_ndjson_free(pl_inspect_ndjson *w) {
  if (!w) return;
  for (size_t i = 0; i < w->n_inputs; i++) {
    if (!w->caches[i]) continue;
    for (size_t k = 0; k < 65536; k++) {
      free(w->caches[i][k].prefix);
      pl_decoder_free(w->caches[i][k].dec);
    }
    free(w->caches[i]);
  }
  free(w->caches);
  pl_text_dispose(&w->dtext);
  free(w);
}

static struct chan_cache *chan_info(pl_inspect_ndjson *w, size_t input, const mcap_channel *ch) {
  if (input >= w->n_inputs) {
    struct chan_cache **c = realloc(w->caches, (input + 1) * sizeof *c);
    if (!c) return NULL;
    for (size_t i = w->n_inputs; i <= input; i++) c[i] = NULL;
    w->caches = c;
    w->n_inputs = input + 1;
  }
  if (!w->caches[input] && !(w->caches[input] = calloc(65536, sizeof *w->caches[input])))
    return NULL;
  struct chan_cache *cc = &w->caches[input][ch->id];
  if (cc->ready) return cc;
  cc->json_enc = ch->message_encoding.len == 4 && memcmp(ch->message_encoding.data, "json", 4) == 0;
  pl_text tmp = PL_TEXT_INIT;
  char num[24];
  if (tx_str(&tmp, "{\"topic\":") || pl_text_json_string(&tmp, ch->topic.data, ch->topic.len) ||
      tx_str(&tmp, ",\"channel_id\":") || pl_text_append(&tmp, num, u64_text(num, ch->id)) ||
      tx_str(&tmp, ",\"sequence\":")) {
    pl_text_dispose(&tmp);
    return NULL;
  }
  cc->prefix = tmp.data;
  cc->prefix_len = tmp.len;
  cc->ready = 1;
  return cc;
}

/* The message's decoded value into w->dtext as JSON. @return PL_OK, PL_ENOMEM or PL_EPARTIAL
 * (skipped, `skip` says why). */
static int decode_message(pl_inspect_ndjson *w, struct chan_cache *cc, const mcap_message_view *v,
                          pl_inspect_skip *skip) {
  memset(skip, 0, sizeof *skip);
  if (cc->dec_state == 0) {
    pl_decoder_spec spec;
    pl_decode_error_info err;
    pl_decoder_spec_from(&spec, v->channel, v->schema);
    if (pl_decoder_create(&cc->dec, &spec, NULL, &err) == PL_DECODE_OK) {
      cc->dec_state = 1;
    } else {
      if (err.code == PL_DECODE_ENOMEM) return PL_ENOMEM; /* tried again next time */
      cc->dec_state = -1;
      snprintf(skip->msg, sizeof skip->msg, "%s", err.msg);
    }
  }
  if (cc->dec_state < 0) {
    skip->no_decoder = 1;
    skip->nth = ++cc->dec_errors;
    return PL_EPARTIAL;
  }
  const pl_value *val;
  int rc = pl_decoder_decode(cc->dec, &v->message, &val);
  if (rc == PL_DECODE_OK) {
    w->dtext.len = 0;
    return pl_decode_json_value(val, &w->o.json, &w->dtext) == PL_DECODE_OK ? PL_OK : PL_ENOMEM;
  }
  if (rc == PL_DECODE_ENOMEM) return PL_ENOMEM;
  skip->nth = ++cc->dec_errors;
  snprintf(skip->msg, sizeof skip->msg, "%s", pl_decoder_errmsg(cc->dec));
  return PL_EPARTIAL;
}

/* Valid JSON text with its line breaks (whitespace only, outside strings) made spaces. */
static int tx_json_embed(pl_text *t, const uint8_t *p, size_t n) {
  if (pl_text_reserve(t, n) != 0) return -1;
  char *d = t->data + t->len;
  memcpy(d, p, n);
  for (size_t i = 0; i < n; i++)
    if (d[i] == '\n' || d[i] == '\r') d[i] = ' ';
  t->len += n;
  return 0;
}

int pl_inspect_ndjson_line(pl_inspect_ndjson *w, size_t input, const mcap_message_view *v,
                           pl_text *out, pl_inspect_skip *skip) {
  pl_inspect_skip dummy;
  if (!skip) skip = &dummy;
  memset(skip, 0, sizeof *skip);
  struct chan_cache *cc = chan_info(w, input, v->channel);
  if (!cc) return PL_ENOMEM;
  if (w->o.decode) {
    int rc = decode_message(w, cc, v, skip);
    if (rc != PL_OK) return rc;
  }
  const mcap_message *m = &v->message;
  size_t start = out->len;
  if (pl_text_reserve(out, cc->prefix_len + 100) != 0) return PL_ENOMEM;
  char *d = out->data + out->len;
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
  out->len = (size_t)(d - out->data);
  int bad = 0;
  if (w->o.decode) {
    bad = tx_str(out, ",\"message\":") || pl_text_append(out, w->dtext.data, w->dtext.len);
  } else if (w->o.data != PL_INSPECT_DATA_NONE) {
    const uint8_t *p = m->data.data;
    size_t n = (size_t)m->data.len;
    if (w->o.data == PL_INSPECT_DATA_AUTO && cc->json_enc && pl_inspect_json_valid(p, n)) {
      bad = tx_str(out, ",\"data_encoding\":\"json\",\"data\":") || tx_json_embed(out, p, n);
    } else {
      bad = tx_str(out, ",\"data_encoding\":\"base64\",\"data\":\"");
      /* in pieces, handed to the flush callback as they come, so that a huge message never
       * needs its whole base64 text in memory at once */
      const size_t piece = 3 * 16384;
      while (n && !bad) {
        size_t k = n < piece ? n : piece;
        bad = pl_text_base64(out, p, k);
        p += k;
        n -= k;
        if (!bad && n && w->o.flush && out->len >= PL_INSPECT_FLUSH_AT) {
          if (w->o.flush(w->o.flush_ctx, out) != 0) return PL_EIO;
          start = 0; /* what was handed out is gone: no rollback past it */
        }
      }
      bad = bad || pl_text_append(out, "\"", 1);
    }
  }
  if (bad || pl_text_append(out, "}\n", 2)) {
    out->len = start; /* no half line (unless a piece was flushed already) */
    return PL_ENOMEM;
  }
  return PL_OK;
}

/* --------------------------------------------------------------- preview */

#define PREVIEW_BYTES 16
#define PREVIEW_TEXT 64

int pl_inspect_preview(const mcap_message_view *v, pl_inspect_data data, pl_text *out) {
  static const char hex[] = "0123456789abcdef";
  const uint8_t *p = v->message.data.data;
  size_t n = (size_t)v->message.data.len;
  size_t start = out->len;
  int bad = 0;
  if (data == PL_INSPECT_DATA_NONE || n == 0) return PL_OK;
  bad = tx_str(out, "  ");
  if (data == PL_INSPECT_DATA_BASE64) {
    size_t k = n < 48 ? n : 48;
    bad = bad || pl_text_base64(out, p, k) || (k < n && tx_str(out, "..."));
  } else if (pl_inspect_looks_like_text(p, n < 4096 ? n : 4096)) {
    /* a quoted, escaped prefix of the text, cut on a character boundary */
    size_t k = 0, chars = 0;
    while (k < n && chars < PREVIEW_TEXT) {
      size_t len = pl_utf8_next(p + k, n - k, NULL, NULL);
      if (!len) break;
      k += len;
      chars++;
    }
    bad = bad || pl_text_json_string(out, (const char *)p, k) || (k < n && tx_str(out, "..."));
  } else {
    size_t k = n < PREVIEW_BYTES ? n : PREVIEW_BYTES;
    for (size_t i = 0; i < k && !bad; i++) {
      char b[3] = {hex[p[i] >> 4], hex[p[i] & 15], ' '};
      bad = pl_text_append(out, b, i + 1 < k ? 3 : 2);
    }
    bad = bad || (k < n && tx_str(out, " ...")) || tx_str(out, "  |");
    for (size_t i = 0; i < k && !bad; i++) {
      char ch = p[i] >= 0x20 && p[i] < 0x7f ? (char)p[i] : '.';
      bad = pl_text_append(out, &ch, 1);
    }
    bad = bad || pl_text_append(out, "|", 1);
  }
  if (bad) {
    out->len = start;
    return PL_ENOMEM;
  }
  return PL_OK;
}

/* ------------------------------------------------------------- text line */

void pl_inspect_columns_grow(void *cols, const mcap_channel *ch, const mcap_schema *schema) {
  pl_inspect_columns *c = cols;
  if (ch->topic.len > c->topic) c->topic = ch->topic.len;
  size_t sw = schema ? schema->name.len + 2 : 11; /* "[name]" or "[no schema]" */
  if (sw > c->schema) c->schema = sw;
}

static int tx_pad(pl_text *t, size_t n) {
  if (pl_text_reserve(t, n) != 0) return -1;
  memset(t->data + t->len, ' ', n);
  t->len += n;
  return 0;
}

/* A right-aligned number in a column that grows to fit it. */
static int tx_column_u64(pl_text *t, size_t *width, uint64_t v) {
  char num[24];
  size_t len = u64_text(num, v);
  if (len > *width) *width = len;
  return tx_pad(t, *width - len) || pl_text_append(t, num, len);
}

int pl_inspect_text_line(pl_inspect_columns *cols, const char *time_text,
                         const mcap_message_view *v, pl_inspect_data data, pl_text *out) {
  const mcap_channel *ch = v->channel;
  const mcap_schema *sc = v->schema;
  size_t start = out->len;
  pl_inspect_columns_grow(cols, ch, sc);
  size_t sw = sc ? sc->name.len + 2 : 11;
  int bad = tx_str(out, time_text) || tx_str(out, "  ") ||
            pl_text_append(out, ch->topic.data, ch->topic.len) ||
            tx_pad(out, cols->topic - ch->topic.len + 2);
  if (sc)
    bad = bad || pl_text_append(out, "[", 1) || pl_text_append(out, sc->name.data, sc->name.len) ||
          pl_text_append(out, "]", 1);
  else
    bad = bad || tx_str(out, "[no schema]");
  bad = bad || tx_pad(out, cols->schema - sw + 2) || tx_str(out, "seq ") ||
        tx_column_u64(out, &cols->seq, v->message.sequence) || tx_str(out, "  ") ||
        tx_column_u64(out, &cols->size, v->message.data.len) || tx_str(out, " B") ||
        pl_inspect_preview(v, data, out) != PL_OK || pl_text_append(out, "\n", 1);
  if (bad) {
    out->len = start;
    return PL_ENOMEM;
  }
  return PL_OK;
}
