/*
 * server_signed.c - signed links: "<base>/signed/<kind>/<id>?expires=E&sig=S"
 * where S = hex(HMAC-SHA256(site secret, METHOD "\n" /signed/<kind>/<id> "\n" E))
 * and E is the expiry in Unix seconds. The API key never appears in a link
 * and is not needed to use one. The secret lives in DATA/state/secret (0600)
 * so links survive a restart.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server_internal.h"
#include "sha256.h"

/* 0, or -1 when libcrypto failed (then there is no signature: never one of zeros). */
static int signature(pl_server *s, const char *method, const char *kind, const char *id,
                     uint64_t expires, char out[2 * PL__SHA256_SIZE + 1]) {
  char msg[512];
  int n = snprintf(msg, sizeof msg, "%s\n/signed/%s/%s\n%llu", method, kind, id,
                   (unsigned long long)expires);
  if (n < 0) n = 0;
  if ((size_t)n >= sizeof msg) n = (int)sizeof msg - 1;
  uint8_t mac[PL__SHA256_SIZE];
  if (pl__hmac_sha256(s->store.secret, sizeof s->store.secret, msg, (size_t)n, mac) != 0)
    return -1;
  pl__srv_hex(mac, sizeof mac, out);
  return 0;
}

char *pl__srv_sign_link(pl_server *s, const char *method, const char *kind, const char *id,
                        uint64_t expires) {
  char sig[2 * PL__SHA256_SIZE + 1];
  if (signature(s, method, kind, id, expires, sig) != 0) return NULL;
  return pl__srv_printf("%s/signed/%s/%s?expires=%llu&sig=%s", s->base_url, kind, id,
                        (unsigned long long)expires, sig);
}

int pl__srv_verify_link(pl_server *s, const char *method, const char *kind, const char *id,
                        const char *expires, const char *sig, char *msg, size_t msg_len) {
  if (!expires || !sig) {
    snprintf(msg, msg_len, "missing 'expires' or 'sig' in the signed link");
    return 403;
  }
  size_t elen = strlen(expires);
  if (elen == 0 || elen > 19) {
    snprintf(msg, msg_len, "invalid signed link");
    return 403;
  }
  for (size_t i = 0; i < elen; i++)
    if (expires[i] < '0' || expires[i] > '9') {
      snprintf(msg, msg_len, "invalid signed link");
      return 403;
    }
  uint64_t e = strtoull(expires, NULL, 10);
  char want[2 * PL__SHA256_SIZE + 1];
  if (signature(s, method, kind, id, e, want) != 0) {
    snprintf(msg, msg_len, "the signature cannot be checked (libcrypto failed)");
    return 500;
  }
  /* constant-time comparison of the hex strings */
  size_t slen = strlen(sig);
  unsigned char diff = (unsigned char)(slen != sizeof want - 1);
  for (size_t i = 0; i < sizeof want - 1; i++)
    diff |= (unsigned char)(want[i] ^ (i < slen ? sig[i] : 0));
  if (diff) {
    snprintf(msg, msg_len, "invalid signature");
    return 403;
  }
  if (pl__srv_now_s() > e) {
    snprintf(msg, msg_len, "the signed link expired");
    return 403;
  }
  return 0;
}
