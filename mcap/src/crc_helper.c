/*
 * crc_helper.c - a helper thread that computes a reader's CRC-32s beside it, so
 * that a reader on one thread checks every CRC in about the time it takes to
 * decompress (on a second core). Two channels:
 *
 * - segments: one running CRC over a sequence of byte ranges (the streamed
 *   reader's data section). At most one segment is pending; the owner waits for
 *   it (mcap__crch_seg_sync) before the bytes may go away.
 * - fill: the CRC of a buffer the owner is filling (a chunk being
 *   decompressed). The owner publishes how much is final (`produced`); the
 *   helper claims pieces of it from the front (`claimed`, compare-and-swap) and
 *   keeps the CRC of [0, helped). When the owner has finished the buffer it
 *   claims the rest itself (an exchange: every byte is claimed exactly once),
 *   computes that rest while the helper finishes its piece, and combines the
 *   two (mcap__crc32_combine). So the owner never waits for a helper that is
 *   asleep or busy: at worst it computes more itself.
 *
 * Waking: handing over work is an atomic store, not a futex wake per piece.
 * While a fill is open or work came recently, the helper naps in short sleeps,
 * and after HELPER_PARK_AFTER_NS without work sleeps on the condition variable,
 * which the owner then signals. Flags pair up Dekker-style with sequentially
 * consistent atomics: the side that goes to sleep sets its flag and re-checks
 * the other's state under the mutex; the other side stores its state, then
 * checks the flag.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "crc32.h"
#include "internal.h"

#define FILL_PIECE ((size_t)64 << 10)     /* the helper's unit of work on a fill */
#define SEG_STEP ((size_t)256 << 10)      /* segments are done in steps, fills first */
#define HELPER_NAP_NS 20000L              /* then nap (plus the kernel's timer slack) */
#define HELPER_PARK_AFTER_NS (2L * 1000000L) /* idle this long: sleep until signalled */
#define OWNER_SPINS 20000                 /* ~50-100 us of polling before the owner sleeps */

struct mcap__crch {
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t cv;   /* parks the helper, and the owner waiting for it */
  atomic_int parked;   /* the helper sleeps on cv: new work must signal it */
  atomic_int waiting;  /* the owner sleeps on cv: finished work must signal it */
  atomic_int stop;

  /* segments */
  const uint8_t *seg;  /* the pending segment: written before seg_busy is set */
  size_t seg_len;
  uint32_t seg_crc;    /* running CRC: the helper's result once seg_busy is clear */
  atomic_int seg_busy;

  /* fill */
  const uint8_t *fill;     /* written before fill_on is set */
  atomic_size_t produced;  /* bytes of fill that are final (owner) */
  atomic_size_t claimed;   /* bytes taken, by the helper or by the owner's final claim */
  atomic_size_t helped;    /* the helper's CRC covers [0, helped) */
  uint32_t fill_crc;       /* ... namely this (written before helped is advanced) */
  atomic_int fill_on;
};

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ volatile("yield");
#endif
}

/* Wake the owner if it sleeps waiting for us. */
static void wake_owner(struct mcap__crch *h) {
  if (atomic_load(&h->waiting)) {
    pthread_mutex_lock(&h->mu);
    pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
  }
}

/* One piece of fill work, if there is one; 1 when something was done. */
static int fill_step(struct mcap__crch *h) {
  size_t c, p, n;
  if (!atomic_load(&h->fill_on)) return 0;
  c = atomic_load(&h->claimed);
  p = atomic_load(&h->produced);
  if (p <= c) return 0;
  n = p - c;
  if (n > FILL_PIECE) n = FILL_PIECE;
  if (!atomic_compare_exchange_strong(&h->claimed, &c, c + n)) return 1; /* the owner took it */
  h->fill_crc = mcap_crc32(h->fill_crc, h->fill + c, n);
  atomic_store(&h->helped, c + n);
  wake_owner(h);
  return 1;
}

static void *helper_main(void *arg) {
  struct mcap__crch *h = arg;
  long napped_ns = 0;
  for (;;) {
    if (fill_step(h)) {
      napped_ns = 0;
      continue;
    }
    if (atomic_load(&h->seg_busy)) {
      /* A step at a time, so that a fill opened meanwhile is not kept waiting. */
      size_t n = h->seg_len < SEG_STEP ? h->seg_len : SEG_STEP;
      h->seg_crc = mcap_crc32(h->seg_crc, h->seg, n);
      h->seg += n;
      h->seg_len -= n;
      if (h->seg_len == 0) {
        atomic_store(&h->seg_busy, 0);
        wake_owner(h);
      }
      napped_ns = 0;
      continue;
    }
    if (atomic_load(&h->stop)) break;
    /* Idle: nap while work is likely to come soon (a fill is open, or work came a
     * moment ago), then park. Never spin: the second vCPU of a VM may share a core
     * with the owner's, and a spinning helper took a third of the owner's speed. */
    if (atomic_load(&h->fill_on) || napped_ns < HELPER_PARK_AFTER_NS) {
      struct timespec nap = {0, HELPER_NAP_NS};
      nanosleep(&nap, NULL);
      if (!atomic_load(&h->fill_on)) napped_ns += HELPER_NAP_NS * 3; /* with timer slack */
      continue;
    }
    pthread_mutex_lock(&h->mu);
    atomic_store(&h->parked, 1);
    while (!atomic_load(&h->seg_busy) && !atomic_load(&h->fill_on) && !atomic_load(&h->stop)) {
      pthread_cond_wait(&h->cv, &h->mu);
    }
    atomic_store(&h->parked, 0);
    pthread_mutex_unlock(&h->mu);
    napped_ns = 0;
  }
  return NULL;
}

/* Wake the helper if it is parked (after the owner stored new work). */
static void wake_helper(struct mcap__crch *h) {
  if (atomic_load(&h->parked)) {
    pthread_mutex_lock(&h->mu);
    pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
  }
}

/* Wait until cond(h) holds: poll a while, then sleep until the helper signals. */
static void owner_wait(struct mcap__crch *h, int (*cond)(struct mcap__crch *, size_t), size_t arg) {
  for (int spin = 0; spin < OWNER_SPINS && !cond(h, arg); spin++) cpu_relax();
  if (cond(h, arg)) return;
  pthread_mutex_lock(&h->mu);
  atomic_store(&h->waiting, 1);
  while (!cond(h, arg)) pthread_cond_wait(&h->cv, &h->mu);
  atomic_store(&h->waiting, 0);
  pthread_mutex_unlock(&h->mu);
}

int mcap__crch_new(struct mcap__crch **out) {
  struct mcap__crch *h = mcap__calloc(1, sizeof *h);
  *out = NULL;
  if (!h) return MCAP_ENOMEM;
  pthread_mutex_init(&h->mu, NULL);
  pthread_cond_init(&h->cv, NULL);
  atomic_init(&h->parked, 0);
  atomic_init(&h->waiting, 0);
  atomic_init(&h->stop, 0);
  atomic_init(&h->seg_busy, 0);
  atomic_init(&h->produced, 0);
  atomic_init(&h->claimed, 0);
  atomic_init(&h->helped, 0);
  atomic_init(&h->fill_on, 0);
  if (pthread_create(&h->thread, NULL, helper_main, h) != 0) {
    pthread_mutex_destroy(&h->mu);
    pthread_cond_destroy(&h->cv);
    mcap__free(h);
    return MCAP_ENOMEM;
  }
  *out = h;
  return MCAP_OK;
}

void mcap__crch_free(struct mcap__crch *h) {
  if (!h) return;
  pthread_mutex_lock(&h->mu);
  atomic_store(&h->stop, 1);
  pthread_cond_broadcast(&h->cv);
  pthread_mutex_unlock(&h->mu);
  pthread_join(h->thread, NULL);
  pthread_mutex_destroy(&h->mu);
  pthread_cond_destroy(&h->cv);
  mcap__free(h);
}

/* ---------------------------------------------------------------- segments */

static int seg_idle(struct mcap__crch *h, size_t unused) {
  (void)unused;
  return !atomic_load(&h->seg_busy);
}

uint32_t mcap__crch_seg_sync(struct mcap__crch *h) {
  if (atomic_load(&h->seg_busy)) owner_wait(h, seg_idle, 0);
  return h->seg_crc;
}

void mcap__crch_seg_set(struct mcap__crch *h, uint32_t crc) {
  (void)mcap__crch_seg_sync(h);
  h->seg_crc = crc;
}

void mcap__crch_seg_push(struct mcap__crch *h, const void *p, size_t len) {
  (void)mcap__crch_seg_sync(h);
  if (!len) return;
  h->seg = p;
  h->seg_len = len;
  atomic_store(&h->seg_busy, 1);
  wake_helper(h);
}

/* -------------------------------------------------------------------- fill */

void mcap__crch_fill_begin(struct mcap__crch *h, const void *buf) {
  h->fill = buf;
  h->fill_crc = 0;
  atomic_store(&h->produced, 0);
  atomic_store(&h->claimed, 0);
  atomic_store(&h->helped, 0);
  atomic_store(&h->fill_on, 1);
  wake_helper(h);
}

void mcap__crch_fill_advance(struct mcap__crch *h, size_t produced) {
  atomic_store(&h->produced, produced);
}

static int fill_caught_up(struct mcap__crch *h, size_t upto) {
  return atomic_load(&h->helped) == upto;
}

uint32_t mcap__crch_fill_end(struct mcap__crch *h, size_t total, size_t own_from,
                             uint32_t own_crc) {
  size_t c, own_len = total - own_from;
  uint32_t rest, crc;
  /* Everything up to own_from is the helper's to take; the owner claims what is left. */
  atomic_store(&h->produced, own_from);
  c = atomic_exchange(&h->claimed, own_from);
  if (c > own_from) c = own_from; /* cannot happen: the helper claims only produced bytes */
  rest = mcap_crc32(0, h->fill + c, own_from - c);
  if (own_len) rest = mcap__crc32_combine(rest, own_crc, own_len);
  /* The helper may still be on its last piece, which ends exactly at c. */
  if (atomic_load(&h->helped) != c) owner_wait(h, fill_caught_up, c);
  atomic_store(&h->fill_on, 0);
  crc = mcap__crc32_combine(h->fill_crc, rest, total - c);
  h->fill = NULL;
  return crc;
}

void mcap__crch_fill_abort(struct mcap__crch *h) {
  /* No claim can succeed after this; the helper's piece in flight (if any) ends at c. */
  size_t c = atomic_exchange(&h->claimed, SIZE_MAX);
  if (c != SIZE_MAX && atomic_load(&h->helped) != c) owner_wait(h, fill_caught_up, c);
  atomic_store(&h->fill_on, 0);
  h->fill = NULL;
}
