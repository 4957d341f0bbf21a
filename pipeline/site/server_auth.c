/*
 * server_auth.c - API keys and the per-key rate limit.
 *
 * KEYS.json is {"keys": [{"token": "fox_sk_...", "capabilities": ["recordings.list", ...]}]};
 * "*" grants every capability. An optional "webhookSecret" (a string) beside "keys" signs
 * webhook deliveries (site_webhook.c). Without --keys, DATA/keys.json is created on
 * the first start with one all-capabilities key (mode 0600), which the caller
 * prints once. Tokens are compared in constant time.
 *
 * The rate limit is a token bucket per key: `rate` requests per second with a
 * burst of max(1, rate); a request that finds the bucket empty gets 429 and
 * Retry-After (whole seconds until the next token, at least 1).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "server_internal.h"

static void key_dispose(struct srv_key *k) {
  free(k->token);
  for (size_t i = 0; i < k->n_caps; i++) free(k->caps[i]);
  free(k->caps);
}

static int parse_keys(struct srv_auth *a, const char *path, const char *text, size_t len,
                      pl_error_info *err) {
  json_tokener *tok = json_tokener_new();
  json_object *root = tok ? json_tokener_parse_ex(tok, text, (int)len) : NULL;
  int bad = !tok || json_tokener_get_error(tok) != json_tokener_success;
  json_tokener_free(tok);
  json_object *keys = NULL;
  if (bad || !root || !json_object_object_get_ex(root, "keys", &keys) ||
      !json_object_is_type(keys, json_type_array)) {
    json_object_put(root);
    snprintf(err->msg, sizeof err->msg, "'%s': expected {\"keys\": [{\"token\": ..., "
             "\"capabilities\": [...]}]}", path);
    return PL_EJSON;
  }
  json_object *ws = NULL;
  if (json_object_object_get_ex(root, "webhookSecret", &ws)) {
    /* signs webhook deliveries (site_webhook.c) */
    if (!json_object_is_type(ws, json_type_string) || json_object_get_string_len(ws) == 0) {
      json_object_put(root);
      snprintf(err->msg, sizeof err->msg, "'%s': \"webhookSecret\" must be a non-empty string",
               path);
      return PL_EJSON;
    }
    a->webhook_secret = pl__srv_strdup(json_object_get_string(ws));
    if (!a->webhook_secret) {
      json_object_put(root);
      return PL_ENOMEM;
    }
  }
  size_t n = json_object_array_length(keys);
  a->keys = calloc(n ? n : 1, sizeof *a->keys);
  if (!a->keys) {
    json_object_put(root);
    return PL_ENOMEM;
  }
  for (size_t i = 0; i < n; i++) {
    json_object *k = json_object_array_get_idx(keys, i), *tv = NULL, *cv = NULL;
    if (!json_object_is_type(k, json_type_object) || !json_object_object_get_ex(k, "token", &tv) ||
        !json_object_is_type(tv, json_type_string) || json_object_get_string_len(tv) < 8 ||
        !json_object_object_get_ex(k, "capabilities", &cv) ||
        !json_object_is_type(cv, json_type_array)) {
      json_object_put(root);
      snprintf(err->msg, sizeof err->msg,
               "'%s': key %zu needs a \"token\" (at least 8 characters) and a "
               "\"capabilities\" array", path, i);
      return PL_EJSON;
    }
    struct srv_key *key = &a->keys[a->n_keys++];
    key->token = pl__srv_strdup(json_object_get_string(tv));
    size_t nc = json_object_array_length(cv);
    key->caps = calloc(nc ? nc : 1, sizeof *key->caps);
    if (!key->token || !key->caps) {
      json_object_put(root);
      return PL_ENOMEM;
    }
    for (size_t c = 0; c < nc; c++) {
      json_object *s = json_object_array_get_idx(cv, c);
      if (!json_object_is_type(s, json_type_string)) {
        json_object_put(root);
        snprintf(err->msg, sizeof err->msg, "'%s': key %zu: capabilities must be strings", path,
                 i);
        return PL_EJSON;
      }
      const char *cap = json_object_get_string(s);
      if (strcmp(cap, "*") == 0) key->all = 1;
      key->caps[key->n_caps++] = pl__srv_strdup(cap);
    }
    key->tokens = a->rate > 1 ? a->rate : 1;
    key->last_ns = pl__srv_now_ns();
  }
  json_object_put(root);
  return PL_OK;
}

int pl__srv_auth_init(struct srv_auth *a, const char *keys_path, const char *data_dir,
                      double rate, pl_error_info *err) {
  memset(a, 0, sizeof *a);
  pthread_mutex_init(&a->mu, NULL);
  a->rate = rate > 0 ? rate : 0;
  char *path = keys_path ? pl__srv_strdup(keys_path) : pl__srv_printf("%s/keys.json", data_dir);
  if (!path) return PL_ENOMEM;
  struct stat sb;
  if (!keys_path && stat(path, &sb) != 0 && errno == ENOENT) {
    uint8_t rnd[24];
    char hex[49];
    if (pl__srv_random(rnd, sizeof rnd) != 0) {
      free(path);
      snprintf(err->msg, sizeof err->msg, "no random numbers for a key: %s", strerror(errno));
      return PL_EIO;
    }
    pl__srv_hex(rnd, sizeof rnd, hex);
    a->created_key = pl__srv_printf("fox_sk_%s", hex);
    char *text = pl__srv_printf("{\n  \"keys\": [\n    {\"token\": \"%s\", \"capabilities\": "
                                "[\"*\"]}\n  ]\n}\n",
                                a->created_key);
    if (!text || pl__srv_write_atomic(path, text, strlen(text), 0, 0600) != 0) {
      snprintf(err->msg, sizeof err->msg, "cannot create '%s': %s", path, strerror(errno));
      free(text);
      free(path);
      return PL_EIO;
    }
    free(text);
  }
  size_t len = 0;
  char *text = pl__srv_read_file(path, 16u << 20, &len);
  if (!text) {
    snprintf(err->msg, sizeof err->msg, "cannot read keys file '%s': %s", path, strerror(errno));
    free(path);
    return PL_EIO;
  }
  int rc = parse_keys(a, path, text, len, err);
  free(text);
  free(path);
  return rc;
}

void pl__srv_auth_dispose(struct srv_auth *a) {
  for (size_t i = 0; i < a->n_keys; i++) key_dispose(&a->keys[i]);
  free(a->keys);
  free(a->created_key);
  free(a->webhook_secret);
  pthread_mutex_destroy(&a->mu);
  memset(a, 0, sizeof *a);
}

static int same_token(const char *a, size_t alen, const char *b) {
  size_t blen = strlen(b);
  unsigned char diff = (unsigned char)(alen != blen);
  for (size_t i = 0; i < alen && i < blen; i++) diff |= (unsigned char)(a[i] ^ b[i]);
  return diff == 0;
}

const struct srv_key *pl__srv_auth_lookup(struct srv_auth *a, const char *authorization) {
  if (!authorization) return NULL;
  /* "Bearer <token>", scheme case-insensitive as HTTP says */
  if (strncasecmp(authorization, "Bearer ", 7) != 0) return NULL;
  const char *t = authorization + 7;
  while (*t == ' ') t++;
  size_t len = strlen(t);
  while (len && t[len - 1] == ' ') len--;
  if (len == 0) return NULL;
  const struct srv_key *found = NULL;
  for (size_t i = 0; i < a->n_keys; i++)
    if (same_token(t, len, a->keys[i].token)) found = &a->keys[i];
  return found;
}

int pl__srv_auth_contains_token(const struct srv_auth *a, const char *text) {
  if (!text) return 0;
  for (size_t i = 0; i < a->n_keys; i++)
    if (a->keys[i].token && a->keys[i].token[0] && strstr(text, a->keys[i].token)) return 1;
  return 0;
}

void pl__srv_auth_redact(const struct srv_auth *a, char *line, size_t cap) {
  static const char mark[] = "[redacted]";
  const size_t mlen = sizeof mark - 1;
  for (size_t i = 0; i < a->n_keys; i++) {
    const char *tok = a->keys[i].token;
    size_t tlen = tok ? strlen(tok) : 0;
    if (!tlen) continue;
    char *p = line;
    while ((p = strstr(p, tok)) != NULL) {
      size_t len = strlen(line), at = (size_t)(p - line);
      size_t tail = len - at - tlen; /* bytes after the token */
      if (at + mlen >= cap) {
        /* no room for the mark: cut the line where the token began */
        *p = 0;
        break;
      }
      if (at + mlen + tail >= cap) tail = cap - 1 - at - mlen; /* the end is cut short */
      memmove(p + mlen, p + tlen, tail);
      memcpy(p, mark, mlen);
      p[mlen + tail] = 0;
      p += mlen;
    }
  }
}

int pl__srv_auth_has(const struct srv_key *k, const char *cap) {
  if (k->all) return 1;
  for (size_t i = 0; i < k->n_caps; i++)
    if (strcmp(k->caps[i], cap) == 0) return 1;
  return 0;
}

unsigned pl__srv_rate_take(struct srv_auth *a, const struct srv_key *ck) {
  if (a->rate <= 0) return 0;
  struct srv_key *k = (struct srv_key *)ck; /* the bucket is the only mutable part */
  pthread_mutex_lock(&a->mu);
  uint64_t now = pl__srv_now_ns();
  double cap = a->rate > 1 ? a->rate : 1;
  if (now > k->last_ns) {
    k->tokens += (double)(now - k->last_ns) / 1e9 * a->rate;
    if (k->tokens > cap) k->tokens = cap;
  }
  k->last_ns = now;
  unsigned wait = 0;
  if (k->tokens >= 1) {
    k->tokens -= 1;
  } else {
    double secs = (1 - k->tokens) / a->rate;
    wait = (unsigned)secs;
    if ((double)wait < secs) wait++; /* round up */
    if (wait < 1) wait = 1;
  }
  pthread_mutex_unlock(&a->mu);
  return wait;
}
