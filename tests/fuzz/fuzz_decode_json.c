/*
 * fuzz_decode_json.c - fuzz target of pl_decode: JSON messages, with a jsonschema or none
 * (the body is fuzz_decode.h).
 */
#define FUZZ_DECODE_FORMAT 3
#include "fuzz_decode.h"
