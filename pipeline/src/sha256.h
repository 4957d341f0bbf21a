/*
 * sha256.h - SHA-256 (FIPS 180-4) and HMAC-SHA256 (RFC 2104), used by the
 * server for signed links. Internal to the pipeline library (pl__ prefix).
 */
#ifndef PIPELINE_SHA256_H
#define PIPELINE_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define PL__SHA256_SIZE 32

struct pl__sha256 {
  uint32_t h[8];
  uint64_t total; /* bytes hashed so far */
  uint8_t block[64];
  size_t used; /* bytes in block */
};

void pl__sha256_init(struct pl__sha256 *c);
void pl__sha256_update(struct pl__sha256 *c, const void *data, size_t len);
void pl__sha256_final(struct pl__sha256 *c, uint8_t out[PL__SHA256_SIZE]);

/** HMAC-SHA256 of `msg` under `key`. */
void pl__hmac_sha256(const void *key, size_t key_len, const void *msg, size_t msg_len,
                     uint8_t out[PL__SHA256_SIZE]);

#endif
