/*
 * fuzz_decode_ros1.c - fuzz target for pl_decode: ros1msg schemas with ROS 1 messages
 * (message encoding "ros1", schema encoding "ros1msg"); the input layout and what is
 * exercised are in fuzz_decode.h.
 */
#include "fuzz_decode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  return fuzz_decode(data, size, "ros1", "ros1msg");
}
