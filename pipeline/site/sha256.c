/*
 * sha256.c - SHA-256 and HMAC-SHA256 from libcrypto (OpenSSL 3), opened with
 * dlopen on first use: the one place that knows the library's file name and the
 * functions pl_site takes from it. Tested against the FIPS 180-4 and RFC 4231
 * vectors in tests/pipeline/test_server_unit.cc.
 *
 * Why dlopen: the mcapkit binary would otherwise map libcrypto (4 MiB of
 * relocations) at every start, for a hash that only `mcapkit serve` computes;
 * libcurl and libmicrohttpd are opened the same way (client/http_curl.h).
 */
#include "sha256.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "pipeline/core.h"

struct crypto_api {
  __typeof__(EVP_sha256) *sha256;
  __typeof__(EVP_MD_CTX_new) *ctx_new;
  __typeof__(EVP_MD_CTX_free) *ctx_free;
  __typeof__(EVP_DigestInit_ex) *init;
  __typeof__(EVP_DigestUpdate) *update;
  __typeof__(EVP_DigestFinal_ex) *final;
  __typeof__(HMAC) *hmac;
};
static struct crypto_api crypto; /* written once (pthread_once), then only read */

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static int load_failed;
static char load_msg[200];

static void load(void) {
  static const struct pl_dl_fn fns[] = {
#define F(sym, field) {#sym, offsetof(struct crypto_api, field)}
      F(EVP_sha256, sha256),
      F(EVP_MD_CTX_new, ctx_new),
      F(EVP_MD_CTX_free, ctx_free),
      F(EVP_DigestInit_ex, init),
      F(EVP_DigestUpdate, update),
      F(EVP_DigestFinal_ex, final),
      F(HMAC, hmac),
#undef F
  };
  load_failed = pl_dl_open_table(PL__CRYPTO_SONAME, fns, sizeof fns / sizeof fns[0], &crypto,
                                 sizeof crypto, NULL, load_msg, sizeof load_msg) != 0;
}

int pl__crypto_load(pl_error_info *err) {
  pthread_once(&load_once, load);
  if (!load_failed) return PL_OK;
  return pl_error_set(err, PL_EUNAVAILABLE, UINT64_MAX,
                      "signed links need libcrypto, which cannot be loaded (%s); install it "
                      "(Debian: apt install libssl3)",
                      load_msg);
}

int pl__sha256_init(struct pl__sha256 *c) {
  c->ctx = NULL;
  c->failed = 1;
  if (pl__crypto_load(NULL) != PL_OK) return -1;
  EVP_MD_CTX *ctx = crypto.ctx_new();
  if (!ctx) return -1;
  if (crypto.init(ctx, crypto.sha256(), NULL) != 1) {
    crypto.ctx_free(ctx);
    return -1;
  }
  c->ctx = ctx;
  c->failed = 0;
  return 0;
}

void pl__sha256_update(struct pl__sha256 *c, const void *data, size_t len) {
  if (c->failed || len == 0) return;
  if (crypto.update(c->ctx, data, len) != 1) c->failed = 1;
}

int pl__sha256_final(struct pl__sha256 *c, uint8_t out[PL__SHA256_SIZE]) {
  unsigned n = 0;
  int ok = !c->failed && crypto.final(c->ctx, out, &n) == 1 && n == PL__SHA256_SIZE;
  if (c->ctx) crypto.ctx_free(c->ctx);
  c->ctx = NULL;
  c->failed = 1;
  if (!ok) memset(out, 0, PL__SHA256_SIZE);
  return ok ? 0 : -1;
}

int pl__hmac_sha256(const void *key, size_t key_len, const void *msg, size_t msg_len,
                    uint8_t out[PL__SHA256_SIZE]) {
  unsigned n = 0;
  int ok = pl__crypto_load(NULL) == PL_OK && key_len <= INT32_MAX &&
           crypto.hmac(crypto.sha256(), key, (int)key_len, msg, msg_len, out, &n) != NULL &&
           n == PL__SHA256_SIZE;
  if (!ok) memset(out, 0, PL__SHA256_SIZE);
  return ok ? 0 : -1;
}
