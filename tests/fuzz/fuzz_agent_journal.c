/*
 * fuzz_agent_journal.c - fuzz target for the state journal of pl_agent (the
 * JSON-lines file the agent replays after a crash or restart): any bytes go
 * through pl_agent_journal_parse, which must never crash, hang or read past
 * the input, and whose entries must all be whole (a path, a state, a kind).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/agent.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* a copy of exactly `size` bytes, so that any read past the end is caught by ASan */
  char *text = malloc(size ? size : 1);
  if (!text) return 0;
  if (size) memcpy(text, data, size);
  pl_agent_snapshot *s = NULL;
  pl_error_info err;
  if (pl_agent_journal_parse(text, size, &s, &err) == PL_AGENT_OK) {
    for (size_t i = 0; i < s->n_entries; i++) {
      const pl_agent_entry *e = &s->entries[i];
      if (!e->path || e->path[0] != '/' || !e->state || !e->kind || e->id == 0) abort();
      if (i > 0 && s->entries[i - 1].id >= e->id) abort(); /* one entry per id, in order */
    }
    pl_agent_snapshot_free(s);
  }
  free(text);
  return 0;
}
