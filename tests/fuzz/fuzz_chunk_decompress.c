/*
 * fuzz_chunk_decompress.c - fuzz target for mcap_chunk_decompress (the codecs).
 *
 * Input layout:
 *   byte 0      compression: low 2 bits 0 "", 1 "zstd", 2 "lz4", 3 an unknown
 *               name; bit 2 set = ask for the CRC check (against CRC 0x12345678,
 *               which almost never matches, to exercise the mismatch path)
 *   bytes 1..4  declared uncompressed size, little endian, reduced modulo 1 MiB + 1
 *   rest        the chunk's stored records
 * A successful call must have filled exactly the declared size (checked by
 * ASan: dst is allocated to that size) and must agree with the input for "".
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mcap/mcap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_DECLARED_SIZE ((uint64_t)1 << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const char *const names[4] = {"", "zstd", "lz4", "brotli"};
  if (size < 5) return 0;
  const uint8_t selector = data[0];
  uint64_t declared = (uint64_t)data[1] | (uint64_t)data[2] << 8 | (uint64_t)data[3] << 16 |
                      (uint64_t)data[4] << 24;
  declared %= MAX_DECLARED_SIZE + 1;
  const int check_crc = (selector & 4) != 0;

  mcap_chunk chunk;
  memset(&chunk, 0, sizeof chunk);
  chunk.uncompressed_size = declared;
  chunk.uncompressed_crc = check_crc ? 0x12345678u : 0;
  chunk.compression = mcap_str_c(names[selector & 3]);
  chunk.records.data = data + 5;
  chunk.records.len = size - 5;

  mcap_decompressor *d = NULL;
  if (mcap_decompressor_new(&d) != MCAP_OK) return 0;
  uint8_t *dst = malloc(declared ? (size_t)declared : 1);
  if (!dst) {
    mcap_decompressor_free(d);
    return 0;
  }
  mcap_error_info err;
  memset(&err, 0, sizeof err);
  int rc = mcap_chunk_decompress(d, &chunk, dst, declared, !check_crc, &err);
  if (rc == MCAP_OK) {
    if ((selector & 3) == 3) {
      fprintf(stderr, "fuzz_chunk_decompress: unknown compression accepted\n");
      abort();
    }
    if ((selector & 3) == 0 &&
        (chunk.records.len != declared ||
         (declared && memcmp(dst, chunk.records.data, (size_t)declared) != 0))) {
      fprintf(stderr, "fuzz_chunk_decompress: uncompressed chunk changed or resized\n");
      abort();
    }
  } else if (err.code != rc || memchr(err.msg, '\0', sizeof err.msg) == NULL) {
    fprintf(stderr, "fuzz_chunk_decompress: error %d reported as %d\n", rc, err.code);
    abort();
  }
  free(dst);
  mcap_decompressor_free(d);
  return 0;
}
