/*
 * fuzz_decode_ros1.c - fuzz target of pl_decode: ros1msg schemas, ROS 1 messages
 * (the body is fuzz_decode.h).
 */
#define FUZZ_DECODE_FORMAT 2
#include "fuzz_decode.h"
