/*
 * fuzz_inspect.c - fuzz target for pl_inspect (what info, du and cat compute from a
 * recording read as a stream, and the tests `cat` runs on message data).
 *
 * Input: a selector byte, then the data.
 *   0: pl_inspect_info_scan over the data as an MCAP stream
 *   1: pl_inspect_du_exact over it
 *   2: pl_inspect_merge over it as a stream, every message rendered as an NDJSON line and a
 *      text line (data auto), capped in messages
 *   3: the data as message bytes: pl_inspect_json_valid, pl_inspect_looks_like_text, and a
 *      walk with pl_utf8_next (each step 1-4 bytes, never past the end)
 * Checked beyond "no crash, no leak": du's record bytes never exceed what was read, info's
 * channels are sorted by id, a JSON-valid text is also valid after one more space.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mcap/mcap.h"
#include "pipeline/inspect.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_MESSAGES 10000

static void fail(const char *what) {
  fprintf(stderr, "fuzz_inspect: %s\n", what);
  abort();
}

static void info(const uint8_t *p, size_t n) {
  mcap_source src;
  if (mcap_source_from_memory(&src, p, n) != MCAP_OK) return;
  pl_inspect_info *d = NULL;
  pl_error_info err;
  (void)pl_inspect_info_scan(&d, &src, NULL, NULL, &err);
  for (size_t i = 1; d && i < d->n_channels; i++)
    if (d->channels[i - 1].id >= d->channels[i].id) fail("info: channels not sorted by id");
  pl_inspect_info_free(d);
}

static void du(const uint8_t *p, size_t n) {
  mcap_source src;
  if (mcap_source_from_memory(&src, p, n) != MCAP_OK) return;
  pl_inspect_du *d = NULL;
  pl_error_info err;
  if (pl_inspect_du_exact(&d, &src, NULL, NULL, &err) != PL_OK) return;
  uint64_t sum = 0;
  for (size_t i = 0; i < d->n_kinds; i++) sum += d->kinds[i].bytes;
  /* what was read, the magic that was not there and what damage skipped */
  if (sum > n + 2 * MCAP_MAGIC_SIZE + d->damage.bytes_skipped) fail("du: more bytes than read");
  pl_inspect_du_free(d);
}

static void cat(const uint8_t *p, size_t n) {
  mcap_source src;
  if (mcap_source_from_memory(&src, p, n) != MCAP_OK) return;
  pl_inspect_merge *m = NULL;
  pl_inspect_ndjson *w = NULL;
  pl_inspect_columns cols = {0, 0, 5, 7};
  pl_text out = PL_TEXT_INIT;
  if (pl_inspect_merge_create(&m, NULL) != PL_OK) {
    mcap_source_close(&src);
    return;
  }
  if (pl_inspect_merge_add_stream(m, &src) != MCAP_OK || pl_inspect_ndjson_create(&w, NULL)) {
    pl_inspect_merge_free(m);
    return;
  }
  for (int i = 0; i < MAX_MESSAGES; i++) {
    const mcap_message_view *v;
    size_t in;
    int rc = pl_inspect_merge_next(m, &v, &in);
    if (rc == MCAP_ITEROVER) break;
    if (rc != MCAP_OK) {
      mcap_damage d;
      (void)pl_inspect_merge_damage(m, in, &d);
      if (!pl_inspect_merge_errmsg(m)[0]) fail("cat: an error without a message");
      continue;
    }
    out.len = 0;
    (void)pl_inspect_ndjson_line(w, in, v, &out, NULL);
    if (out.len && out.data[out.len - 1] != '\n') fail("cat: an NDJSON line without its end");
    out.len = 0;
    (void)pl_inspect_text_line(&cols, "t", v, PL_INSPECT_DATA_AUTO, &out);
  }
  pl_text_dispose(&out);
  pl_inspect_ndjson_free(w);
  pl_inspect_merge_free(m);
}

static void text(const uint8_t *p, size_t n) {
  if (pl_inspect_json_valid(p, n)) {
    uint8_t *q = malloc(n + 1);
    if (!q) return;
    memcpy(q, p, n);
    q[n] = ' ';
    if (!pl_inspect_json_valid(q, n + 1)) fail("json: valid text invalid after a space");
    free(q);
  }
  (void)pl_inspect_looks_like_text(p, n);
  for (size_t i = 0; i < n;) {
    uint32_t cp;
    size_t adv, len = pl_utf8_next(p + i, n - i, &cp, &adv);
    if (adv < 1 || adv > 4 || adv > n - i) fail("utf8: a step out of range");
    if (len && (len != adv || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)))
      fail("utf8: a well-formed sequence that is not");
    i += adv;
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  const uint8_t *p = data + 1;
  size_t n = size - 1;
  switch (data[0] % 4) {
    case 0:
      info(p, n);
      break;
    case 1:
      du(p, n);
      break;
    case 2:
      cat(p, n);
      break;
    default:
      text(p, n);
      break;
  }
  return 0;
}
