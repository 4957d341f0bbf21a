/*
 * crc_helper.c - a helper thread that computes a reader's CRC-32s beside it, so
 * that a reader on one thread checks every CRC in about the time it takes to
 * decompress (on a second core). Two lanes of the same kind:
 *
 * - segments: one running CRC over a sequence of byte ranges (the streamed
 *   reader's data section). At most one segment is pending; the owner collects
 *   it (mcap__crch_seg_sync) before the bytes may go away.
 * - fill: the CRC of a buffer the owner is filling (a chunk being
 *   decompressed).
 *
 * A lane is a byte range whose final part grows (`produced`; a segment is final
 * at once). The helper claims pieces of it from the front (`claimed`,
 * compare-and-swap) and keeps the CRC of [0, helped). When the owner needs the
 * result it claims the rest itself (an exchange: every byte is claimed exactly
 * once), computes that rest while the helper finishes its piece, and combines
 * the two (mcap__crc32_combine). So the owner never waits for a helper that is
 * asleep, busy or preempted: at worst it computes more itself, and it waits
 * only for one piece in flight. (Segments used to be the helper's alone: on 2
 * vCPUs the file source's read-ahead thread sometimes held the helper's CPU for
 * a millisecond, and a 1 GiB lz4 read waited 6-30 ms in ~40 such waits.)
 *
 * Waking: handing over work is an atomic store, not a futex wake per piece. While a
 * fill is open that may still grow the helper naps in short sleeps (the owner advances
 * a fill every few dozen KiB; a wake for each would cost the owner a system call each
 * time). Otherwise an idle helper sleeps on the condition variable at once, and the
 * owner signals it when it opens a lane: about one wake per chunk. (It used to nap for
 * 2 ms before it slept: on this project's 2-vCPU VM, the 1-thread lz4 read with 1 MiB
 * chunks took a median 852 ms with the naps against 687 ms without, 16 interleaved runs
 * each: the helper's many short sleeps between chunks slowed the decoding on the other
 * vCPU.) Flags pair up Dekker-style with sequentially consistent atomics: the side that
 * goes to sleep sets its flag and re-checks the other's state under the mutex; the
 * other side stores its state, then checks the flag.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "crc32.h"
#include "internal.h"

#define PIECE ((size_t)64 << 10) /* the helper's unit of work */
#define CLAIM_BITS 48            /* a lane is shorter than 2^48 bytes */
#define CLAIM_MASK ((UINT64_C(1) << CLAIM_BITS) - 1)
#define GEN_MASK ((UINT64_C(1) << (64 - CLAIM_BITS)) - 1)
#define HELPER_NAP_NS 20000L /* during a fill (plus the kernel's timer slack) */
#define OWNER_SPINS 20000    /* ~50-100 us of polling before the owner sleeps */

/* A byte range whose CRC the helper and the owner compute between them (see above). */
struct lane {
  const uint8_t *p;       /* written before on is set */
  atomic_size_t produced; /* bytes of p that are final (owner) */
  /* Bytes taken, by the helper or by the owner's final claim, in the low CLAIM_BITS; the
   * lane's generation above them. A helper that read a lane, then lost its CPU while the
   * owner closed it and opened the next, fails its compare-and-swap on the generation
   * instead of claiming bytes of the new lane by the old one's sizes (ABA). */
  atomic_uint_least64_t claimed;
  atomic_size_t helped; /* the helper's CRC covers [0, helped) */
  uint32_t crc;         /* ... namely this, continuing the lane's start value (written
                           before helped is advanced) */
  uint64_t gen;         /* the current generation (owner only) */
  atomic_int on;
  atomic_int grows; /* `produced` may still grow: a fill being decoded (set before on) */
  int id;           /* 0 fill, 1 segments: for the test hooks */
};

struct mcap__crch {
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t cv;  /* parks the helper, and the owner waiting for it */
  atomic_int parked;  /* the helper sleeps on cv: new work must signal it */
  atomic_int waiting; /* the owner sleeps on cv: finished work must signal it */
  atomic_int stop;

  struct lane fill;
  struct lane seg;
  struct mcap__crch_hooks hooks; /* tests only; set before any work is handed over */
  size_t seg_len;                /* the pending segment's length (owner only) */
  uint32_t seg_crc;              /* the running CRC of the segments collected so far (owner only) */
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

static int lane_has_work(struct lane *l) {
  return atomic_load(&l->on) && (atomic_load(&l->claimed) & CLAIM_MASK) < atomic_load(&l->produced);
}

/* A fill is open that the owner may still advance (it does not wake the helper for that). */
static int fill_growing(struct mcap__crch *h) {
  return atomic_load(&h->fill.on) && atomic_load(&h->fill.grows);
}

/* One piece of a lane's work, if there is one; 1 when something was done. */
static int lane_step(struct mcap__crch *h, struct lane *l) {
  uint_least64_t cl;
  size_t c, p, n;
  if (!atomic_load(&l->on)) return 0;
  cl = atomic_load(&l->claimed);
  c = (size_t)(cl & CLAIM_MASK);
  p = atomic_load(&l->produced);
  if (h->hooks.helper_read) {
    h->hooks.helper_read(h->hooks.arg, l->id, c == CLAIM_MASK ? SIZE_MAX : c, p);
  }
  if (p <= c) return 0;
  n = p - c;
  if (n > PIECE) n = PIECE;
  /* Fails when the owner took the rest, or closed this lane and opened another. */
  if (!atomic_compare_exchange_strong(&l->claimed, &cl, cl + n)) return 1;
  l->crc = mcap_crc32(l->crc, l->p + c, n);
  atomic_store(&l->helped, c + n);
  wake_owner(h);
  return 1;
}

static void *helper_main(void *arg) {
  struct mcap__crch *h = arg;
  for (;;) {
    /* Fills first: the owner is waiting to use that buffer, a segment only to move on. */
    if (lane_step(h, &h->fill) || lane_step(h, &h->seg)) continue;
    if (atomic_load(&h->stop)) break;
    /* Idle. Never spin: the second vCPU of a VM may share a core with the owner's, and a
     * spinning helper took a third of the owner's speed. */
    if (fill_growing(h)) {
      struct timespec nap = {0, HELPER_NAP_NS};
      nanosleep(&nap, NULL);
      continue;
    }
    pthread_mutex_lock(&h->mu);
    atomic_store(&h->parked, 1);
    while (!lane_has_work(&h->seg) && !lane_has_work(&h->fill) && !fill_growing(h) &&
           !atomic_load(&h->stop)) {
      pthread_cond_wait(&h->cv, &h->mu);
    }
    atomic_store(&h->parked, 0);
    pthread_mutex_unlock(&h->mu);
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

/* Wait until the helper's CRC of the lane reaches `upto`: poll a while, then sleep until
 * the helper signals. It is then finishing its last piece, which ends exactly there. */
static void owner_wait(struct mcap__crch *h, struct lane *l, size_t upto) {
  for (int spin = 0; spin < OWNER_SPINS && atomic_load(&l->helped) != upto; spin++) cpu_relax();
  if (atomic_load(&l->helped) == upto) return;
  pthread_mutex_lock(&h->mu);
  atomic_store(&h->waiting, 1);
  while (atomic_load(&l->helped) != upto) pthread_cond_wait(&h->cv, &h->mu);
  atomic_store(&h->waiting, 0);
  pthread_mutex_unlock(&h->mu);
}

static void lane_init(struct lane *l, int id) {
  l->id = id;
  l->p = NULL;
  l->crc = 0;
  atomic_init(&l->produced, 0);
  atomic_init(&l->claimed, 0);
  l->gen = 0;
  atomic_init(&l->helped, 0);
  atomic_init(&l->on, 0);
  atomic_init(&l->grows, 0);
}

/* Open a lane over p with the running CRC `start`; `produced` bytes are final already. */
static void lane_open(struct mcap__crch *h, struct lane *l, const uint8_t *p, uint32_t start,
                      size_t produced, int grows) {
  /* First the new generation, with everything claimed: a helper that read the last lane
   * fails its compare-and-swap, and one that reads this fills nothing, while the fields
   * change. (Without it a helper that read the closed lane's claim and this lane's larger
   * `produced` claimed bytes of this lane by the last one's offset: a wrong data-section
   * CRC in Rewrite.FeatureMatrixMatchesQueries under CI's load.) */
  l->gen = (l->gen + 1) & GEN_MASK;
  atomic_store(&l->claimed, l->gen << CLAIM_BITS | CLAIM_MASK);
  l->p = p;
  l->crc = start;
  atomic_store(&l->produced, produced);
  atomic_store(&l->helped, 0);
  atomic_store(&l->grows, grows);
  atomic_store(&l->on, 1);
  if (h->hooks.owner_opening) h->hooks.owner_opening(h->hooks.arg, l->id);
  /* Last: a claim of this generation can only follow every store above (helped = 0 after
   * a claim would leave the owner waiting for the helper forever). */
  atomic_store(&l->claimed, l->gen << CLAIM_BITS);
  wake_helper(h);
}

/*
 * Close a lane of `total` bytes: the helper may still take [claimed, own_from); the owner
 * claims what it has not taken, computes that here, and adds own_crc, its CRC of
 * [own_from, total). Returns the lane's start value continued over all of it.
 */
static uint32_t lane_close(struct mcap__crch *h, struct lane *l, size_t total, size_t own_from,
                           uint32_t own_crc) {
  size_t c, own_len = total - own_from;
  uint32_t rest, crc;
  atomic_store(&l->produced, own_from);
  c = (size_t)(atomic_exchange(&l->claimed, l->gen << CLAIM_BITS | own_from) & CLAIM_MASK);
  if (c > own_from) c = own_from; /* cannot happen: the helper claims only produced bytes */
  rest = mcap_crc32(0, l->p + c, own_from - c);
  if (own_len) rest = mcap__crc32_combine(rest, own_crc, own_len);
  /* The helper may still be on its last piece, which ends exactly at c. */
  if (atomic_load(&l->helped) != c) owner_wait(h, l, c);
  atomic_store(&l->on, 0);
  crc = mcap__crc32_combine(l->crc, rest, total - c);
  l->p = NULL;
  return crc;
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
  lane_init(&h->fill, 0);
  lane_init(&h->seg, 1);
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

void mcap__crch_set_hooks(struct mcap__crch *h, const struct mcap__crch_hooks *hooks) {
  h->hooks = *hooks; /* seen by the helper through the next lane's `on` (seq_cst) */
}

/* ---------------------------------------------------------------- segments */

uint32_t mcap__crch_seg_sync(struct mcap__crch *h) {
  if (atomic_load(&h->seg.on)) h->seg_crc = lane_close(h, &h->seg, h->seg_len, h->seg_len, 0);
  return h->seg_crc;
}

void mcap__crch_seg_set(struct mcap__crch *h, uint32_t crc) {
  (void)mcap__crch_seg_sync(h);
  h->seg_crc = crc;
}

void mcap__crch_seg_push(struct mcap__crch *h, const void *p, size_t len) {
  (void)mcap__crch_seg_sync(h);
  if (!len) return;
  h->seg_len = len;
  lane_open(h, &h->seg, p, h->seg_crc, len, 0);
}

/* -------------------------------------------------------------------- fill */

void mcap__crch_fill_begin(struct mcap__crch *h, const void *buf) {
  lane_open(h, &h->fill, buf, 0, 0, 1);
}

void mcap__crch_fill_whole(struct mcap__crch *h, const void *buf, size_t len) {
  lane_open(h, &h->fill, buf, 0, len, 0);
}

void mcap__crch_fill_advance(struct mcap__crch *h, size_t produced) {
  atomic_store(&h->fill.produced, produced);
}

uint32_t mcap__crch_fill_end(struct mcap__crch *h, size_t total, size_t own_from,
                             uint32_t own_crc) {
  return lane_close(h, &h->fill, total, own_from, own_crc);
}

void mcap__crch_fill_abort(struct mcap__crch *h) {
  /* No claim can succeed after this; the helper's piece in flight (if any) ends at c. */
  struct lane *l = &h->fill;
  size_t c = (size_t)(atomic_exchange(&l->claimed, l->gen << CLAIM_BITS | CLAIM_MASK) & CLAIM_MASK);
  if (c != CLAIM_MASK && atomic_load(&l->helped) != c) owner_wait(h, l, c);
  atomic_store(&h->fill.on, 0);
  h->fill.p = NULL;
}
