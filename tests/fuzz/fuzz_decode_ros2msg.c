/*
 * fuzz_decode_ros2msg.c - fuzz target for pl_decode: ros2msg schemas with CDR messages
 * (message encoding "cdr", schema encoding "ros2msg"); the input layout and what is
 * exercised are in fuzz_decode.h.
 */
#include "fuzz_decode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  return fuzz_decode(data, size, "cdr", "ros2msg");
}
