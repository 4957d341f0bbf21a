/*
 * hash.c - every content hash of the local import, and the only file that
 * includes xxHash: XXH3-128 for file content hashes, attachment fingerprints,
 * topic versions and the lake's per-topic digests (streaming, so memory does
 * not depend on the input), and a source wrapper that hashes a file while
 * another reader (the doctor) reads it.
 *
 * Digests are written as 32 lower-case hex digits of XXH128's canonical
 * (big-endian) form, so they match `xxh128sum`.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
/* for XXH3_state_t on the stack (same library version as the header) */
#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include "pipeline/core.h"

struct pl_hash {
  XXH3_state_t *st;
};

pl_hash *pl_hash_new(void) {
  pl_hash *h = malloc(sizeof *h);
  if (!h) return NULL;
  h->st = XXH3_createState();
  if (!h->st) {
    free(h);
    return NULL;
  }
  XXH3_128bits_reset(h->st);
  return h;
}

void pl_hash_free(pl_hash *h) {
  if (!h) return;
  XXH3_freeState(h->st);
  free(h);
}

void pl_hash_reset(pl_hash *h) {
  XXH3_128bits_reset(h->st);
}

void pl_hash_update(pl_hash *h, const void *p, size_t n) {
  if (n) XXH3_128bits_update(h->st, p, n);
}

void pl_hash_u64(pl_hash *h, uint64_t v) {
  uint8_t b[8];
  for (int i = 0; i < 8; i++) b[i] = (uint8_t)(v >> (8 * i));
  XXH3_128bits_update(h->st, b, 8);
}

static void to_hex(XXH128_hash_t v, char out[33]) {
  static const char hex[] = "0123456789abcdef";
  XXH128_canonical_t c;
  XXH128_canonicalFromHash(&c, v);
  for (int i = 0; i < 16; i++) {
    out[2 * i] = hex[c.digest[i] >> 4];
    out[2 * i + 1] = hex[c.digest[i] & 15];
  }
  out[32] = '\0';
}

void pl_hash_hex(const pl_hash *h, char out[33]) {
  to_hex(XXH3_128bits_digest(h->st), out);
}

void pl_hash_buffer_hex(const void *p, size_t n, char out[33]) {
  to_hex(XXH3_128bits(p, n), out);
}

uint64_t pl_hash64(const void *p, size_t n) {
  return XXH3_64bits(p, n);
}

void pl_topic_version(mcap_str encoding, mcap_str schema_name, mcap_str schema_encoding,
                      mcap_bytes schema, char out[33]) {
  /* length-prefixed fields, so ("ab","c") and ("a","bc") differ */
  XXH3_state_t st;
  XXH3_INITSTATE(&st);
  XXH3_128bits_reset(&st);
  uint8_t b[8];
  const struct {
    const void *p;
    uint64_t n;
  } f[4] = {{encoding.data, encoding.len},
            {schema_name.data, schema_name.len},
            {schema_encoding.data, schema_encoding.len},
            {schema.data, schema.len}};
  for (int i = 0; i < 4; i++) {
    for (int k = 0; k < 8; k++) b[k] = (uint8_t)(f[i].n >> (8 * k));
    XXH3_128bits_update(&st, b, 8);
    if (f[i].n) XXH3_128bits_update(&st, f[i].p, (size_t)f[i].n);
  }
  to_hex(XXH3_128bits_digest(&st), out);
}

/*
 * The content hash of a whole file. Reading it from the page cache costs about
 * four times the hashing, so a second thread reads too: blocks are claimed in
 * order by whichever thread is free, into a ring of slots, and hashed in order
 * by the calling thread (on the 1 GiB corpus, 543 MB: ~120 ms alone, ~65 ms so).
 * The file is hashed up to the size it had when opened.
 */
enum { HBLOCK = 1 << 20, HSLOTS = 8 };
enum { SLOT_FREE, SLOT_READING, SLOT_READY };

struct hfile {
  int fd;
  uint64_t size, n_blocks;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  uint8_t *buf; /* HSLOTS x HBLOCK */
  int state[HSLOTS];
  uint64_t next_claim, next_hash;
  int failed_errno; /* a read failed (EIO for a short read) */
  uint64_t failed_off; /* where */
};

/* Claim and read the next block if its slot is free. Locked on entry and exit; 1 if it
 * read one. */
static int hfile_read_one(struct hfile *h) {
  uint64_t b = h->next_claim;
  int slot = (int)(b % HSLOTS);
  if (b >= h->n_blocks || h->state[slot] != SLOT_FREE || h->failed_errno) return 0;
  h->next_claim++;
  h->state[slot] = SLOT_READING;
  pthread_mutex_unlock(&h->mu);
  uint64_t off = b * HBLOCK, want = h->size - off < HBLOCK ? h->size - off : HBLOCK, have = 0;
  int e = 0;
  while (have < want) {
    ssize_t n = pread(h->fd, h->buf + (size_t)slot * HBLOCK + have, (size_t)(want - have),
                      (off_t)(off + have));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      e = n < 0 ? errno : EIO; /* EOF early: the file shrank */
      break;
    }
    have += (uint64_t)n;
  }
  pthread_mutex_lock(&h->mu);
  if (e && !h->failed_errno) {
    h->failed_errno = e;
    h->failed_off = off + have;
  }
  h->state[slot] = SLOT_READY;
  pthread_cond_broadcast(&h->cv);
  return 1;
}

static void *hfile_reader(void *arg) {
  struct hfile *h = arg;
  pthread_mutex_lock(&h->mu);
  while (h->next_claim < h->n_blocks && !h->failed_errno) {
    if (!hfile_read_one(h)) pthread_cond_wait(&h->cv, &h->mu);
  }
  pthread_mutex_unlock(&h->mu);
  return NULL;
}

int pl_hash_file(const char *path, char out[33], pl_error_info *err) {
  struct hfile h;
  struct stat st;
  pthread_t th;
  int have_thread = 0, rc = PL_OK;
  XXH3_state_t *xs = NULL;
  memset(&h, 0, sizeof h);
  h.fd = open(path, O_RDONLY | O_CLOEXEC);
  if (h.fd < 0) return pl_error_set_errno(err, errno, "cannot open '%s'", path);
  if (fstat(h.fd, &st) != 0) {
    rc = pl_error_set_errno(err, errno, "cannot stat '%s'", path);
    close(h.fd);
    return rc;
  }
#ifdef POSIX_FADV_SEQUENTIAL
  (void)posix_fadvise(h.fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
  h.size = st.st_size > 0 ? (uint64_t)st.st_size : 0;
  h.n_blocks = (h.size + HBLOCK - 1) / HBLOCK;
  h.buf = malloc((size_t)HSLOTS * HBLOCK);
  xs = XXH3_createState();
  if (!h.buf || !xs) {
    free(h.buf);
    XXH3_freeState(xs);
    close(h.fd);
    return pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory hashing '%s'", path);
  }
  XXH3_128bits_reset(xs);
  pthread_mutex_init(&h.mu, NULL);
  pthread_cond_init(&h.cv, NULL);
  /* Small files: one thread is as fast as two. */
  if (h.n_blocks > 4 && pthread_create(&th, NULL, hfile_reader, &h) == 0) have_thread = 1;

  pthread_mutex_lock(&h.mu);
  while (h.next_hash < h.n_blocks && !h.failed_errno) {
    int slot = (int)(h.next_hash % HSLOTS);
    if (h.state[slot] == SLOT_READY && h.next_claim > h.next_hash) {
      uint64_t off = h.next_hash * HBLOCK;
      size_t n = (size_t)(h.size - off < HBLOCK ? h.size - off : HBLOCK);
      pthread_mutex_unlock(&h.mu);
      XXH3_128bits_update(xs, h.buf + (size_t)slot * HBLOCK, n);
      pthread_mutex_lock(&h.mu);
      h.state[slot] = SLOT_FREE;
      h.next_hash++;
      pthread_cond_broadcast(&h.cv);
    } else if (!hfile_read_one(&h)) {
      pthread_cond_wait(&h.cv, &h.mu);
    }
  }
  int failed = h.failed_errno;
  pthread_cond_broadcast(&h.cv);
  pthread_mutex_unlock(&h.mu);
  if (have_thread) pthread_join(th, NULL);
  if (failed) {
    rc = pl_error_set_errno(err, failed, "reading '%s' at offset %llu (of %llu bytes when opened)",
                            path, (unsigned long long)h.failed_off, (unsigned long long)h.size);
  }
  else to_hex(XXH3_128bits_digest(xs), out);
  pthread_mutex_destroy(&h.mu);
  pthread_cond_destroy(&h.cv);
  XXH3_freeState(xs);
  free(h.buf);
  close(h.fd);
  return rc;
}

/* ------------------------------------------------------- hashing source */

struct hsrc {
  mcap_source inner;
  struct pl_hashing_state *st;
};

static int hsrc_read(void *payload, uint64_t offset, uint64_t len, const uint8_t **out,
                     uint64_t *got, mcap_error_info *err) {
  struct hsrc *h = payload;
  int rc = h->inner.read(h->inner.payload, offset, len, out, got, err);
  if (rc == MCAP_OK && *got && offset <= h->st->hashed && offset + *got > h->st->hashed) {
    uint64_t skip = h->st->hashed - offset;
    pl_hash_update(h->st->h, *out + skip, (size_t)(*got - skip));
    h->st->hashed = offset + *got;
  }
  return rc;
}

static void hsrc_close(void *payload) {
  struct hsrc *h = payload;
  struct pl_hashing_state *st = h->st;
  /* hash whatever the reader did not ask for (the tail after an early stop) */
  while (st->rc == PL_OK && st->hashed < st->size) {
    const uint8_t *p = NULL;
    uint64_t got = 0, want = st->size - st->hashed;
    mcap_error_info e;
    memset(&e, 0, sizeof e);
    if (want > (UINT64_C(4) << 20)) want = UINT64_C(4) << 20;
    int rc = h->inner.read(h->inner.payload, st->hashed, want, &p, &got, &e);
    if (rc != MCAP_OK || got == 0) {
      st->rc = PL_EIO;
      snprintf(st->msg, sizeof st->msg, "hashing at offset %llu: %.200s",
               (unsigned long long)st->hashed, rc ? e.msg : "file shrank while being read");
      break;
    }
    pl_hash_update(st->h, p, (size_t)got);
    st->hashed += got;
  }
  mcap_source_close(&h->inner);
  free(h);
}

int pl_hashing_source(mcap_source *out, mcap_source *inner, struct pl_hashing_state *st) {
  struct hsrc *h = malloc(sizeof *h);
  if (!h) {
    mcap_source_close(inner);
    return PL_ENOMEM;
  }
  h->inner = *inner;
  memset(inner, 0, sizeof *inner);
  h->st = st;
  st->size = h->inner.size;
  st->hashed = 0;
  st->rc = PL_OK;
  st->msg[0] = '\0';
  out->payload = h;
  out->size = h->inner.size;
  out->read = hsrc_read;
  out->close = hsrc_close;
  return PL_OK;
}
