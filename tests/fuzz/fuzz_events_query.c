/*
 * fuzz_events_query.c - fuzz target for the `query` mini-language of the local
 * site's GET /v1/events (pipeline/site/server_events_query.c): any bytes go
 * through pl__srv_evq_parse, which must never crash, hang or read past the
 * input; a parsed query must be whole (every qualifier has its key or star and
 * its values or star) and is matched against a small fixed metadata object.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* a copy of exactly `size` bytes, so that any read past the end is caught by ASan */
  char *text = malloc(size ? size : 1);
  if (!text) return 0;
  if (size) memcpy(text, data, size);
  struct srv_evq q;
  char msg[160];
  if (pl__srv_evq_parse(text, size, &q, msg, sizeof msg) == 0) {
    if (q.n > SRV_MAX_EVQ_TERMS) abort();
    for (size_t i = 0; i < q.n; i++) {
      const struct srv_evq_term *t = &q.terms[i];
      if (t->kind == EVQ_TEXT && (!t->key || !t->key[0])) abort();
      if (t->kind == EVQ_FIELD && !t->any_key && !t->key) abort();
      if (t->kind == EVQ_FIELD && !t->any_value && t->n_values == 0) abort();
      for (size_t k = 0; k < t->n_values; k++)
        if (!t->values[k]) abort();
    }
    json_object *md = json_object_new_object();
    json_object_object_add(md, "kind", json_object_new_string("grasp"));
    json_object_object_add(md, "loc", json_object_new_string("lab 3"));
    json_object_object_add(md, "a,b", json_object_new_string("*:\""));
    (void)pl__srv_evq_match(&q, md);
    json_object_put(md);
    pl__srv_evq_dispose(&q);
  } else if (!memchr(msg, 0, sizeof msg)) {
    abort(); /* the message is always a string */
  }
  free(text);
  return 0;
}
