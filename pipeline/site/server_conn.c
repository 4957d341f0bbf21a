/*
 * server_conn.c - the connections of the local site, and the rules that keep
 * a few clients from locking everyone else out.
 *
 * libmicrohttpd runs one thread per connection and caps their number (in
 * total and per client address), but its own timeout only counts inactivity:
 * a client that trickles one byte every few seconds keeps a connection, and
 * idle sockets hold the slots until they time out. Every connection is
 * tracked here from accept to close, in one of three states:
 *
 *   HEAD  waiting for a complete request header: at most header_timeout_s
 *         from the connection (or connection_timeout_s after a previous
 *         authenticated request on it: keep-alive);
 *   BODY  the header was accepted, the body arrives: cut off when nothing
 *         came for body_idle_timeout_s, or when it falls behind the rate
 *         min_body_rate after a grace of connection_timeout_s (so the
 *         deadline scales with the size received; 1 byte every 3 s fails);
 *   BUSY  the request is handled or its response sent (libmicrohttpd's
 *         inactivity timeout applies).
 *
 * Slots are kept free for clients that authenticate: when the connections
 * of one address come within a reserve of the per-address limit, or all
 * connections within a reserve of the global ceiling, the oldest connections
 * that are waiting for a header and have never authenticated are dropped (once
 * they have had 100 ms to send one; one that is sending its request, bytes
 * waiting in the socket or its request line read, is kept for its first
 * second), at once when a connection arrives and again on every watchdog tick.
 * The limits themselves are enforced here too: a connection beyond them is
 * refused.
 *
 * Dropping is shutdown(2), not close: the descriptor stays libmicrohttpd's,
 * which sees the end of the stream and closes the connection itself; the
 * entry is unlinked in its "closed" notification.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "server_internal.h"

enum { CONN_HEAD = 0, CONN_BODY = 1, CONN_BUSY = 2 };

#define REAP_MIN_AGE_NS (100u * 1000000u)
/* a connection that has sent bytes of its request is not idle: it is kept this long */
#define REAP_ACTIVE_AGE_NS (1000u * 1000000u)

struct conn_track {
  int fd;
  uint32_t ip; /* client address (IPv4, network order) */
  int state;
  int authed;        /* a request on this connection was authenticated */
  int dropped;       /* shut down by us; closing */
  int line;          /* its request line has been read */
  int early;         /* its request was answered from the request line (status) */
  uint64_t since_ns; /* HEAD: connected or previous request done; BODY: header done */
  uint64_t last_ns;  /* BODY: last bytes received */
  uint64_t received; /* BODY: bytes so far */
  struct conn_track *next;
};

static uint64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

unsigned pl__srv_conn_timeout(const pl_server *s) {
  return s->opt.connection_timeout_s ? s->opt.connection_timeout_s : SRV_DEFAULT_CONN_TIMEOUT;
}

unsigned pl__srv_max_connections(const pl_server *s) {
  return s->opt.max_connections ? s->opt.max_connections : SRV_DEFAULT_MAX_CONNECTIONS;
}

unsigned pl__srv_max_connections_per_ip(const pl_server *s) {
  unsigned n = s->opt.max_connections_per_ip ? s->opt.max_connections_per_ip
                                             : SRV_DEFAULT_MAX_CONNECTIONS_PER_IP;
  unsigned all = pl__srv_max_connections(s);
  return n > all ? all : n;
}

static void drop(struct conn_track *t) {
  shutdown(t->fd, SHUT_RDWR);
  t->dropped = 1;
}

/* Connections of `ip` (0: all) that are not being closed. */
static unsigned count(const pl_server *s, uint32_t ip) {
  unsigned n = 0;
  for (const struct conn_track *t = s->conns; t; t = t->next)
    if (!t->dropped && (!ip || t->ip == ip)) n++;
  return n;
}

/* Whether a connection waiting for a header has sent any of it: its request line was
 * read, or bytes wait in the socket (a peek; the descriptor stays libmicrohttpd's). */
static int active(const struct conn_track *t) {
  if (t->line) return 1;
  char c;
  return recv(t->fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) > 0;
}

static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

/* How many of the sorted ips[0..n) are ip. */
static unsigned run_of(const uint32_t *ips, size_t n, uint32_t ip) {
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (ips[mid] < ip)
      lo = mid + 1;
    else
      hi = mid;
  }
  unsigned k = 0;
  while (lo + k < n && ips[lo + k] == ip) k++;
  return k;
}

/* Under conn_mu: while the address `ip` (or, with ip 0, the server) holds more than
 * `keep` connections, drop its oldest never-authenticated one waiting for a header, once
 * that has waited min_age. For the server, the one dropped is of the address that holds the
 * most connections (then the oldest): sockets that one address churns out push out its
 * own, never a client of another address that has not been served yet. When that
 * address's oldest is younger than min_age, nothing is dropped yet (the watchdog's next
 * tick comes back): skipping it for a lighter address's older socket dropped normal
 * clients beside a fast churner, whose sockets were all younger, when a loaded machine
 * held such a client 100 ms between its connect and its request (ServerAbuse in CI). */
static void reap(pl_server *s, uint32_t ip, unsigned keep, uint64_t now, uint64_t min_age) {
  unsigned n = count(s, ip);
  uint32_t *ips = NULL;
  size_t n_ips = 0;
  if (!ip && n > keep && (ips = malloc(n * sizeof *ips)) != NULL) {
    for (const struct conn_track *t = s->conns; t && n_ips < n; t = t->next)
      if (!t->dropped) ips[n_ips++] = t->ip;
    qsort(ips, n_ips, sizeof *ips, cmp_u32);
  }
  while (n > keep) {
    struct conn_track *pick = NULL;
    unsigned pick_w = 0;
    for (struct conn_track *t = s->conns; t; t = t->next) {
      if (t->dropped || (ip && t->ip != ip) || t->state != CONN_HEAD || t->authed) continue;
      /* a client that is sending its request (beside idle sockets of the same address,
       * which a burst of new ones would otherwise push out) gets its chance */
      if (now - t->since_ns < REAP_ACTIVE_AGE_NS && active(t)) continue;
      unsigned w = ips ? run_of(ips, n_ips, t->ip) : 0;
      if (!pick || w > pick_w || (w == pick_w && t->since_ns < pick->since_ns)) {
        pick = t;
        pick_w = w;
      }
    }
    if (!pick || now - pick->since_ns < min_age) break;
    drop(pick);
    s->conn_reaped++;
    n--;
    /* one fewer of its address: remove one entry of it from the sorted list */
    if (ips) {
      size_t lo = 0;
      while (lo < n_ips && ips[lo] != pick->ip) lo++;
      if (lo < n_ips) {
        memmove(ips + lo, ips + lo + 1, (n_ips - lo - 1) * sizeof *ips);
        n_ips--;
      }
    }
  }
  free(ips);
}

/* Under conn_mu: keep a reserve of free slots for the address and for the server; a
 * new connection `t` beyond the limits themselves is refused (libmicrohttpd's own limits
 * are set higher: they count connections that are shut down but not yet closed). */
static void keep_room(pl_server *s, struct conn_track *t) {
  unsigned all = pl__srv_max_connections(s), per_ip = pl__srv_max_connections_per_ip(s);
  unsigned reserve_all = all / 16 > 2 ? all / 16 : 2, reserve_ip = per_ip / 8 > 1 ? per_ip / 8 : 1;
  unsigned soft_ip = per_ip > reserve_ip ? per_ip - reserve_ip : 1;
  unsigned soft_all = all > reserve_all ? all - reserve_all : 1;
  uint64_t now = mono_ns();
  /* the reserve: never-authenticated sockets that have had REAP_MIN_AGE to send a
   * header (a client that has just connected gets its chance) */
  if (t) {
    reap(s, t->ip, soft_ip, now, REAP_MIN_AGE_NS);
  } else {
    for (struct conn_track *u = s->conns; u; u = u->next)
      if (!u->dropped && count(s, u->ip) > soft_ip) reap(s, u->ip, soft_ip, now, REAP_MIN_AGE_NS);
  }
  reap(s, 0, soft_all, now, REAP_MIN_AGE_NS);
  if (!t) return;
  /* the limits: the oldest such sockets go whatever their age, else the newcomer */
  reap(s, t->ip, per_ip, now, 0);
  reap(s, 0, all, now, 0);
  if (!t->dropped && (count(s, t->ip) > per_ip || count(s, 0) > all)) {
    drop(t);
    s->conn_refused++;
  }
}

struct conn_track *pl__srv_conn_open(pl_server *s, int fd, uint32_t ip) {
  struct conn_track *t = calloc(1, sizeof *t);
  if (!t) return NULL;
  t->fd = fd;
  t->ip = ip;
  t->state = CONN_HEAD;
  t->since_ns = mono_ns();
  pthread_mutex_lock(&s->conn_mu);
  t->next = s->conns;
  s->conns = t;
  keep_room(s, t);
  pthread_mutex_unlock(&s->conn_mu);
  return t;
}

void pl__srv_conn_close(pl_server *s, struct conn_track *t) {
  if (!t) return;
  pthread_mutex_lock(&s->conn_mu);
  for (struct conn_track **pp = &s->conns; *pp; pp = &(*pp)->next)
    if (*pp == t) {
      *pp = t->next;
      break;
    }
  pthread_mutex_unlock(&s->conn_mu);
  free(t);
}

static void set_state(pl_server *s, struct conn_track *t, int state) {
  if (!t) return;
  pthread_mutex_lock(&s->conn_mu);
  t->state = state;
  t->since_ns = t->last_ns = mono_ns();
  t->received = 0;
  pthread_mutex_unlock(&s->conn_mu);
}

void pl__srv_conn_head_done(pl_server *s, struct conn_track *t) {
  set_state(s, t, CONN_BODY);
}
void pl__srv_conn_busy(pl_server *s, struct conn_track *t) {
  set_state(s, t, CONN_BUSY);
}
void pl__srv_conn_idle(pl_server *s, struct conn_track *t) {
  set_state(s, t, CONN_HEAD);
  if (!t) return;
  pthread_mutex_lock(&s->conn_mu);
  t->line = 0;
  pthread_mutex_unlock(&s->conn_mu);
}

void pl__srv_conn_line(pl_server *s, struct conn_track *t, int early) {
  if (!t) return;
  pthread_mutex_lock(&s->conn_mu);
  t->line = 1;
  if (early) t->early = early;
  pthread_mutex_unlock(&s->conn_mu);
}

int pl__srv_conn_early(pl_server *s, struct conn_track *t) {
  if (!t) return 0;
  pthread_mutex_lock(&s->conn_mu);
  int early = t->early;
  t->early = 0;
  pthread_mutex_unlock(&s->conn_mu);
  return early;
}

void pl__srv_conn_authed(pl_server *s, struct conn_track *t) {
  if (!t) return;
  pthread_mutex_lock(&s->conn_mu);
  t->authed = 1;
  pthread_mutex_unlock(&s->conn_mu);
}

void pl__srv_conn_body(pl_server *s, struct conn_track *t, uint64_t n) {
  if (!t) return;
  pthread_mutex_lock(&s->conn_mu);
  t->last_ns = mono_ns();
  t->received += n;
  pthread_mutex_unlock(&s->conn_mu);
}

static void *watchdog(void *arg) {
  pl_server *s = arg;
  uint64_t conn = (uint64_t)pl__srv_conn_timeout(s) * 1000000000u;
  uint64_t head =
      (uint64_t)(s->opt.header_timeout_s ? s->opt.header_timeout_s : SRV_DEFAULT_HEADER_TIMEOUT) *
      1000000000u;
  uint64_t idle =
      s->opt.body_idle_timeout_s ? (uint64_t)s->opt.body_idle_timeout_s * 1000000000u : conn;
  double rate = s->opt.min_body_rate ? (double)s->opt.min_body_rate : SRV_DEFAULT_MIN_BODY_RATE;
  pthread_mutex_lock(&s->conn_mu);
  while (!s->watchdog_stop) {
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += 100 * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
      until.tv_sec++;
      until.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&s->conn_cv, &s->conn_mu, &until);
    uint64_t now = mono_ns();
    for (struct conn_track *t = s->conns; t; t = t->next) {
      if (t->dropped) continue;
      if (t->state == CONN_HEAD) {
        if (now - t->since_ns > (t->authed ? conn : head)) {
          drop(t);
          s->conn_timed_out++;
        }
      } else if (t->state == CONN_BODY) {
        double allowed = (double)conn + (double)t->received / rate * 1e9;
        if (now - t->last_ns > idle || (double)(now - t->since_ns) > allowed) {
          drop(t);
          s->conn_timed_out++;
        }
      }
    }
    keep_room(s, NULL);
  }
  pthread_mutex_unlock(&s->conn_mu);
  return NULL;
}

int pl__srv_conn_start(pl_server *s) {
  s->watchdog_stop = 0;
  if (pthread_create(&s->watchdog, NULL, watchdog, s) != 0) return -1;
  s->watchdog_running = 1;
  return 0;
}

void pl__srv_conn_stop(pl_server *s) {
  if (!s->watchdog_running) return;
  pthread_mutex_lock(&s->conn_mu);
  s->watchdog_stop = 1;
  pthread_cond_broadcast(&s->conn_cv);
  pthread_mutex_unlock(&s->conn_mu);
  pthread_join(s->watchdog, NULL);
  s->watchdog_running = 0;
}
