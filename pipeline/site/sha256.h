/*
 * sha256.h - SHA-256 and HMAC-SHA256 for the server's signed links, computed by
 * libcrypto (OpenSSL), which sha256.c opens with dlopen when the site starts
 * (like libmicrohttpd: commands that serve nothing do not load it). Private to
 * pl_site (pl__ prefix).
 */
#ifndef PIPELINE_SHA256_H
#define PIPELINE_SHA256_H

#include <stddef.h>
#include <stdint.h>

#include "pipeline/core.h"

#define PL__SHA256_SIZE 32

/* The soname of OpenSSL 3's libcrypto (Debian 12: libssl3). */
#define PL__CRYPTO_SONAME "libcrypto.so.3"

/*
 * Load libcrypto once per process (later calls return the first result; thread-safe).
 * @return PL_OK, or PL_EUNAVAILABLE with a message naming the library and why.
 */
int pl__crypto_load(pl_error_info *err);

/* An incremental SHA-256: init, any number of updates, then final, which also releases
 * what init took (a state that failed stays failed and gives a digest of zeros). */
typedef struct pl__sha256 {
  void *ctx; /* libcrypto's EVP_MD_CTX, NULL once failed or finished */
  int failed;
} pl__sha256;

/* 0, or -1 when libcrypto cannot be loaded or is out of memory. */
int pl__sha256_init(struct pl__sha256 *c);
void pl__sha256_update(struct pl__sha256 *c, const void *data, size_t len);
/* 0, or -1 (out is then all zeros) when any step failed. */
int pl__sha256_final(struct pl__sha256 *c, uint8_t out[PL__SHA256_SIZE]);

/* HMAC-SHA256 of `msg` under `key` (RFC 2104). 0, or -1 (out is then all zeros) when
 * libcrypto cannot be loaded or fails. */
int pl__hmac_sha256(const void *key, size_t key_len, const void *msg, size_t msg_len,
                    uint8_t out[PL__SHA256_SIZE]);

#endif
