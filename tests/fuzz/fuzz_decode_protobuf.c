/*
 * fuzz_decode_protobuf.c - fuzz target of pl_decode: protobuf descriptor sets and messages
 * (the body is fuzz_decode.h).
 */
#define FUZZ_DECODE_FORMAT 4
#include "fuzz_decode.h"
