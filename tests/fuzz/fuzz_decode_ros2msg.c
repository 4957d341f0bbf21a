/*
 * fuzz_decode_ros2msg.c - fuzz target of pl_decode: ros2msg schemas, CDR messages
 * (the body is fuzz_decode.h).
 */
#define FUZZ_DECODE_FORMAT 0
#include "fuzz_decode.h"
