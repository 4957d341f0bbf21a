/*
 * fuzz_decode_ros2idl.c - fuzz target of pl_decode: ros2idl schemas, CDR messages
 * (the body is fuzz_decode.h).
 */
#define FUZZ_DECODE_FORMAT 1
#include "fuzz_decode.h"
