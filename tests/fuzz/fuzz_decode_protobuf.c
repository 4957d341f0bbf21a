/*
 * fuzz_decode_protobuf.c - fuzz target for pl_decode: FileDescriptorSets with protobuf messages
 * (message encoding "protobuf", schema encoding "protobuf"); the input layout and what is
 * exercised are in fuzz_decode.h.
 */
#include "fuzz_decode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  return fuzz_decode(data, size, "protobuf", "protobuf");
}
