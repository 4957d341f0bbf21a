/*
 * fuzz_decode_json.c - fuzz target for pl_decode: JSON schemas with JSON messages
 * (message encoding "json", schema encoding "jsonschema"); the input layout and what is
 * exercised are in fuzz_decode.h.
 */
#include "fuzz_decode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  return fuzz_decode(data, size, "json", "jsonschema");
}
