/*
 * site_ui_session.c - the sessions of the browser pages (site_ui.h): an
 * in-memory table with a cap, fixed lifetimes, constant-time lookups; the
 * session cookie; the login form's CSRF token; form bodies.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server_internal.h"
#include "sha256.h"
#include "site_ui.h"

int pl__ui_sessions_init(struct ui_sessions *ss, size_t max, uint64_t lifetime_s) {
  memset(ss, 0, sizeof *ss);
  ss->max = max ? max : UI_DEFAULT_MAX_SESSIONS;
  ss->lifetime_ns = (lifetime_s ? lifetime_s : UI_DEFAULT_SESSION_S) * UINT64_C(1000000000);
  return pthread_mutex_init(&ss->mu, NULL) == 0 ? 0 : -1;
}

void pl__ui_sessions_dispose(struct ui_sessions *ss) {
  if (ss->v) memset(ss->v, 0, ss->n * sizeof *ss->v); /* no ids left in freed memory */
  free(ss->v);
  pthread_mutex_destroy(&ss->mu);
  memset(ss, 0, sizeof *ss);
}

int pl__ui_same(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  unsigned char diff = (unsigned char)(la != lb);
  for (size_t i = 0; i < la && i < lb; i++) diff |= (unsigned char)(a[i] ^ b[i]);
  return diff == 0;
}

int pl__ui_is_token(const char *s) {
  if (!s) return 0;
  size_t i = 0;
  for (; s[i]; i++)
    if (i >= UI_TOKEN_HEX || !((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
      return 0;
  return i == UI_TOKEN_HEX;
}

static int random_hex(char out[UI_TOKEN_HEX + 1]) {
  uint8_t rnd[UI_TOKEN_HEX / 2];
  if (pl__srv_random(rnd, sizeof rnd) != 0) return -1;
  pl__srv_hex(rnd, sizeof rnd, out);
  out[UI_TOKEN_HEX] = 0;
  return 0;
}

static void drop_at(struct ui_sessions *ss, size_t i) {
  ss->v[i] = ss->v[ss->n - 1];
  memset(&ss->v[ss->n - 1], 0, sizeof ss->v[0]);
  ss->n--;
}

int pl__ui_session_new(struct ui_sessions *ss, const struct srv_key *key, uint64_t now_ns,
                       char id[UI_TOKEN_HEX + 1], char csrf[UI_TOKEN_HEX + 1]) {
  struct ui_session s;
  memset(&s, 0, sizeof s);
  if (random_hex(s.id) != 0 || random_hex(s.csrf) != 0) return -1;
  s.key = key;
  s.created = s.used = now_ns;
  s.expires = now_ns + ss->lifetime_ns;
  pthread_mutex_lock(&ss->mu);
  if (ss->n >= ss->max) {
    for (size_t i = ss->n; i-- > 0;)
      if (ss->v[i].expires <= now_ns) drop_at(ss, i);
  }
  if (ss->n >= ss->max && ss->n) {
    size_t lru = 0;
    for (size_t i = 1; i < ss->n; i++)
      if (ss->v[i].used < ss->v[lru].used) lru = i;
    drop_at(ss, lru);
    ss->evicted++;
  }
  if (!ss->v) {
    ss->v = calloc(ss->max, sizeof *ss->v);
    if (!ss->v) {
      pthread_mutex_unlock(&ss->mu);
      return -1;
    }
  }
  ss->v[ss->n++] = s;
  pthread_mutex_unlock(&ss->mu);
  memcpy(id, s.id, sizeof s.id);
  memcpy(csrf, s.csrf, sizeof s.csrf);
  return 0;
}

/* Index of the session with this id, or -1; every entry is compared (constant time per
 * entry, no early exit). Lock held. */
static long find(const struct ui_sessions *ss, const char *id) {
  long found = -1;
  for (size_t i = 0; i < ss->n; i++)
    if (pl__ui_same(ss->v[i].id, id)) found = (long)i;
  return found;
}

int pl__ui_session_get(struct ui_sessions *ss, const char *id, uint64_t now_ns,
                       const struct srv_key **key, char csrf[UI_TOKEN_HEX + 1]) {
  if (!pl__ui_is_token(id)) return 0;
  pthread_mutex_lock(&ss->mu);
  long i = find(ss, id);
  int ok = 0;
  if (i >= 0 && ss->v[i].expires <= now_ns) {
    drop_at(ss, (size_t)i);
  } else if (i >= 0) {
    ok = 1;
    ss->v[i].used = now_ns;
    if (key) *key = ss->v[i].key;
    if (csrf) memcpy(csrf, ss->v[i].csrf, UI_TOKEN_HEX + 1);
  }
  pthread_mutex_unlock(&ss->mu);
  return ok;
}

int pl__ui_session_end(struct ui_sessions *ss, const char *id) {
  if (!pl__ui_is_token(id)) return 0;
  pthread_mutex_lock(&ss->mu);
  long i = find(ss, id);
  if (i >= 0) drop_at(ss, (size_t)i);
  pthread_mutex_unlock(&ss->mu);
  return i >= 0;
}

size_t pl__ui_session_count(struct ui_sessions *ss) {
  pthread_mutex_lock(&ss->mu);
  size_t n = ss->n;
  pthread_mutex_unlock(&ss->mu);
  return n;
}

size_t pl__ui_cookie(char *buf, size_t cap, const char *name, const char *value, const char *path,
                     uint64_t max_age_s, int secure) {
  int n = snprintf(buf, cap, "%s=%s; Path=%s; Max-Age=%llu; HttpOnly; SameSite=Strict%s", name,
                   value, path, (unsigned long long)max_age_s, secure ? "; Secure" : "");
  return n < 0 ? 0 : (size_t)n;
}

int pl__ui_login_token(const uint8_t secret[32], const char *nonce, char out[UI_TOKEN_HEX + 1]) {
  static const char domain[] = "mcapkit-ui-login:";
  char msg[sizeof domain + UI_TOKEN_HEX + 1];
  out[0] = 0;
  if (!pl__ui_is_token(nonce)) return -1;
  int n = snprintf(msg, sizeof msg, "%s%s", domain, nonce);
  uint8_t mac[PL__SHA256_SIZE];
  if (n < 0 || pl__hmac_sha256(secret, 32, msg, (size_t)n, mac) != 0) return -1;
  pl__srv_hex(mac, sizeof mac, out);
  out[UI_TOKEN_HEX] = 0;
  return 0;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

int pl__ui_form_field(const char *body, size_t len, const char *name, char *out, size_t cap) {
  size_t nlen = strlen(name);
  size_t i = 0;
  while (i < len) {
    size_t end = i;
    while (end < len && body[end] != '&') end++;
    if (end - i > nlen && memcmp(body + i, name, nlen) == 0 && body[i + nlen] == '=') {
      size_t k = 0;
      for (size_t p = i + nlen + 1; p < end; p++) {
        char c = body[p];
        if (c == '+') {
          c = ' ';
        } else if (c == '%') {
          if (p + 2 >= end) return -1;
          int hi = hexval(body[p + 1]), lo = hexval(body[p + 2]);
          if (hi < 0 || lo < 0) return -1;
          c = (char)(hi * 16 + lo);
          if (c == 0) return -1;
          p += 2;
        }
        if (k + 1 >= cap) return -1;
        out[k++] = c;
      }
      if (cap) out[k] = 0;
      return 1;
    } else if (end - i == nlen && memcmp(body + i, name, nlen) == 0) {
      if (cap) out[0] = 0;
      return 1;
    }
    i = end + 1;
  }
  return 0;
}
