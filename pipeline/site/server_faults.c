/*
 * server_faults.c - fault injection for tests of clients:
 * "error=P,reset=P,throttle=P,delay=P:MS,expire=P", each P a fraction of
 * requests in [0, 1]. error answers 500 or 503 (alternately by the dice), reset
 * cuts the connection in the middle of the response body, throttle answers 429
 * with Retry-After: 1 (as the rate limit does, whatever the client's pace),
 * delay holds the response MS milliseconds, expire hands out signed links that
 * have already expired. error, reset and throttle exclude each other (one roll
 * decides); delay and expire
 * are rolled independently and leave authentication and validation intact.
 * The dice are a seeded xorshift generator, so a seed replays the same faults
 * for the same sequence of requests.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server_internal.h"

static int parse_p(const char *s, size_t len, double *out) {
  char buf[32];
  if (len == 0 || len >= sizeof buf) return -1;
  memcpy(buf, s, len);
  buf[len] = 0;
  for (size_t i = 0; i < len; i++)
    if (!((buf[i] >= '0' && buf[i] <= '9') || buf[i] == '.')) return -1;
  errno = 0;
  char *end = NULL;
  double d = strtod(buf, &end);
  if (errno || *end || d < 0 || d > 1) return -1;
  *out = d;
  return 0;
}

int pl__srv_faults_parse(struct srv_faults *f, const char *spec, uint64_t seed, char *msg,
                         size_t msg_len) {
  memset(f, 0, sizeof *f);
  pthread_mutex_init(&f->mu, NULL);
  f->rng = seed ? seed : pl__srv_now_ns() | 1;
  if (!spec || !*spec) return 0;
  const char *p = spec;
  while (*p) {
    const char *end = strchr(p, ',');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    const char *eq = memchr(p, '=', len);
    if (!eq) {
      snprintf(msg, msg_len, "fault '%.*s': expected NAME=P", (int)len, p);
      return -1;
    }
    size_t nlen = (size_t)(eq - p);
    const char *v = eq + 1;
    size_t vlen = len - nlen - 1;
    int ok = -1;
    if (nlen == 5 && strncmp(p, "error", 5) == 0) {
      ok = parse_p(v, vlen, &f->error);
    } else if (nlen == 5 && strncmp(p, "reset", 5) == 0) {
      ok = parse_p(v, vlen, &f->reset);
    } else if (nlen == 8 && strncmp(p, "throttle", 8) == 0) {
      ok = parse_p(v, vlen, &f->throttle);
    } else if (nlen == 6 && strncmp(p, "expire", 6) == 0) {
      ok = parse_p(v, vlen, &f->expire);
    } else if (nlen == 5 && strncmp(p, "delay", 5) == 0) {
      const char *colon = memchr(v, ':', vlen);
      if (colon && parse_p(v, (size_t)(colon - v), &f->delay) == 0) {
        size_t mlen = vlen - (size_t)(colon - v) - 1;
        char buf[16];
        if (mlen > 0 && mlen < sizeof buf) {
          memcpy(buf, colon + 1, mlen);
          buf[mlen] = 0;
          uint64_t ms = 0;
          int digits = 1;
          for (size_t i = 0; i < mlen; i++)
            if (buf[i] < '0' || buf[i] > '9') digits = 0;
          if (digits) ms = strtoull(buf, NULL, 10);
          if (digits && ms <= 600000) {
            f->delay_ms = (unsigned)ms;
            ok = 0;
          }
        }
      }
    } else {
      snprintf(msg, msg_len, "unknown fault '%.*s' (expected error, reset, throttle, delay or expire)",
               (int)nlen, p);
      return -1;
    }
    if (ok != 0) {
      snprintf(msg, msg_len,
               "fault '%.*s': expected a fraction from 0 to 1%s", (int)len, p,
               nlen == 5 && strncmp(p, "delay", 5) == 0 ? " and ':MS' (at most 600000)" : "");
      return -1;
    }
    if (!end) break;
    p = end + 1;
  }
  if (f->error + f->reset + f->throttle > 1) {
    snprintf(msg, msg_len, "faults: error + reset + throttle must not exceed 1");
    return -1;
  }
  return 0;
}

void pl__srv_faults_dispose(struct srv_faults *f) { pthread_mutex_destroy(&f->mu); }

static double next_unit(struct srv_faults *f) {
  uint64_t x = f->rng;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  f->rng = x;
  return (double)(x >> 11) / 9007199254740992.0;
}

int pl__srv_faults_roll(struct srv_faults *f, unsigned *delay_ms, int *expire) {
  *delay_ms = 0;
  *expire = 0;
  if (f->error <= 0 && f->reset <= 0 && f->throttle <= 0 && f->delay <= 0 && f->expire <= 0)
    return FAULT_NONE;
  pthread_mutex_lock(&f->mu);
  double a = next_unit(f), b = next_unit(f), c = next_unit(f);
  pthread_mutex_unlock(&f->mu);
  if (b < f->delay) *delay_ms = f->delay_ms;
  if (c < f->expire) *expire = 1;
  if (a < f->error) return a < f->error / 2 ? FAULT_ERROR_503 : FAULT_ERROR;
  if (a < f->error + f->reset) return FAULT_RESET;
  if (a < f->error + f->reset + f->throttle) return FAULT_THROTTLE;
  return FAULT_NONE;
}
