/*
 * query.c - message queries over the indexed reader: topic/channel selection,
 * an inclusive time range, and file, log-time or reverse log-time order.
 *
 * How it works. Each chunk that overlaps the time range and may hold a
 * selected channel is a "unit"; messages outside chunks form one extra unit.
 * Units are loaded in the order the output needs them (by start time for
 * log-time order, by end time for reverse, by offset for file order): a loaded
 * unit is decompressed once, its selected messages collected as (log_time,
 * offset) pairs and sorted, and it joins a heap keyed by its next message.
 * A unit is loaded as soon as its first possible message could come next, so
 * the merge is exact over overlapping chunks; ties fall back to file position,
 * which makes the order stable. A unit's buffer is freed when its last message
 * has been yielded.
 *
 * Memory: the memory budget caps decompressed bytes held; when overlapping
 * chunks exceed it, buffers of units not at the top of the heap are dropped
 * and decompressed again when their turn comes (their message lists are kept).
 *
 * Threads: with threads > 1, threads - 1 workers decompress and index the
 * next units in load order while the caller consumes the current ones; a caller
 * that would wait for a unit runs a queued job itself instead. Workers read the
 * chunks from windows the calling thread maps (see win_for), or with read_at
 * where the source cannot map; a unit's messages are ordered within it, so the
 * output order never depends on timing.
 *
 * With one thread, the calling thread decompresses one unit ahead: when a unit is
 * loaded, its CRC goes to a helper thread while the caller decompresses the next unit in
 * load order, and the unit's messages are used only once the helper has checked it. The
 * CRC then costs the caller nothing (zstd's one-shot decoding had it after each chunk,
 * ~8 % of the read), and no message is ever handed out before its chunk's CRC matched.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "indexed.h"

/* ------------------------------------------------------------ buffers */

/*
 * Chunk-sized buffers (compressed and decompressed) are recycled through a
 * small cache shared by the caller and the workers: a fresh allocation of a
 * megabyte per chunk means a fresh mapping and page faults every time, which
 * costs more than the copy it holds.
 */
#define BUF_CACHE_SLOTS 16
#define BUF_HDR 16 /* capacity, then the owner thread */
_Static_assert(sizeof(size_t) + sizeof(pthread_t) <= BUF_HDR, "buffer header");

struct bufcache {
  pthread_mutex_t mu;
  uint8_t *slot[BUF_CACHE_SLOTS]; /* base pointers (header included) */
  int n;
};

static size_t buf_cap(const uint8_t *p) {
  size_t cap;
  memcpy(&cap, p - BUF_HDR, sizeof cap);
  return cap;
}

/* The thread that last wrote a buffer (the header's second word). */
static pthread_t buf_owner(const uint8_t *base) {
  pthread_t t;
  memcpy(&t, base + sizeof(size_t), sizeof t);
  return t;
}

static uint8_t *buf_get(struct bufcache *bc, uint64_t need) {
  uint8_t *base = NULL;
  pthread_t self = pthread_self();
  size_t cap;
  if (need > SIZE_MAX - BUF_HDR - 65536) return NULL;
  pthread_mutex_lock(&bc->mu);
  /* Newest first, and this thread's own first: the buffer this thread put back last is
   * the likeliest to be in its cache (another core's would have to be fetched from it). */
  for (int pass = 0; pass < 2 && !base; pass++) {
    for (int i = bc->n - 1; i >= 0; i--) {
      if (buf_cap(bc->slot[i] + BUF_HDR) >= need &&
          (pass || pthread_equal(buf_owner(bc->slot[i]), self))) {
        base = bc->slot[i];
        memmove(&bc->slot[i], &bc->slot[i + 1], (size_t)(bc->n - 1 - i) * sizeof bc->slot[0]);
        bc->n--;
        break;
      }
    }
  }
  pthread_mutex_unlock(&bc->mu);
  if (!base) {
    cap = ((size_t)need + 65535) & ~(size_t)65535; /* round up so buffers fit later chunks */
    if (!cap) cap = 65536;
    base = mcap__malloc(cap + BUF_HDR);
    if (!base) return NULL;
    memcpy(base, &cap, sizeof cap);
  }
  memcpy(base + sizeof(size_t), &self, sizeof self);
  return base + BUF_HDR;
}

static void buf_put(struct bufcache *bc, uint8_t *p) {
  uint8_t *base;
  if (!p) return;
  base = p - BUF_HDR;
  pthread_mutex_lock(&bc->mu);
  if (bc->n < BUF_CACHE_SLOTS) {
    bc->slot[bc->n++] = base;
    base = NULL;
  }
  pthread_mutex_unlock(&bc->mu);
  mcap__free(base);
}

static void bufcache_dispose(struct bufcache *bc) {
  for (int i = 0; i < bc->n; i++) mcap__free(bc->slot[i]);
  bc->n = 0;
  pthread_mutex_destroy(&bc->mu);
}


struct ent {
  uint64_t t;
  uint64_t off; /* offset in the chunk's records, or file offset for loose messages */
};

struct unit {
  size_t chunk;          /* index in r->chunks; SIZE_MAX for the loose unit */
  uint64_t load_key;
  uint64_t file_pos;     /* chunk offset (loose: 0) */
  /* when loaded */
  int loaded;
  struct ent *ents;
  size_t n, i;
  uint8_t *data;         /* decompressed records (NULL: evicted or loose) */
  uint8_t *data_buf;     /* the buffer holding them (a stored chunk: its whole record) */
  struct qwin *win;      /* or the window holding a stored chunk's records */
  uint64_t data_len;
  struct job *job;       /* prefetch in flight */
  /* 1 thread: decompressed one unit ahead, its CRC not checked yet (see unit_load_ahead) */
  uint8_t *ahead;
  uint64_t ahead_len;
  uint32_t ahead_crc;    /* the CRC the chunk declares (0: none) */
};

struct job {
  struct unit *u;
  const mcap_chunk_index *ci;
  int fetch; /* the worker reads the chunk itself (source has read_at) */
  int done;
  int rc;
  char msg[256];
  uint8_t *comp;
  mcap_chunk ck;
  uint64_t held; /* bytes counted in it->held for this job */
  uint64_t chunk_offset;
  uint8_t *data;
  uint8_t *data_buf; /* see struct unit */
  struct qwin *win;   /* the window the chunk lies in (mapped by the main thread), or NULL */
  const uint8_t *view; /* the Chunk record in it */
  struct ent *ents;
  size_t n;
  struct job *next; /* queue link */
};

struct pool {
  pthread_t *threads;
  int n_threads;
  pthread_mutex_t mu;
  pthread_cond_t work, done;
  struct job *head, *tail;
  int stop;
  struct mcap_message_iter *it;
};

struct mcap_message_iter {
  mcap_reader *r;
  mcap_read_order order;
  int has_start, has_end;
  uint64_t start, end;
  uint8_t *selected; /* [65536] */
  struct unit *units;
  size_t n_units, next_load;
  struct unit **heap;
  size_t heap_len;
  struct unit *release; /* exhausted unit to free on the next call */
  struct pool pool;
  struct bufcache bufs;
  pthread_mutex_t win_mu; /* guards the windows' reference counts */
  struct qwin *win;       /* the window prefetch maps chunks from (its reference), or NULL */
  int no_windows;         /* the source cannot map: workers pread instead */
  int outstanding; /* jobs in flight */
  size_t next_prefetch;
  uint64_t held, budget;
  mcap_iter_stats stats;
  mcap_decompressor *dec;
  struct mcap__crch *crc; /* 1 thread: the helper that checks chunk CRCs beside it, or NULL */
  struct mcap_buf loose_buf;
  int failed;
};

/* ------------------------------------------------------------- ordering */

/* Compare two heap entries: < 0 when a must come before b. */
static int before(const struct mcap_message_iter *it, const struct unit *a, const struct unit *b) {
  const struct ent *x = &a->ents[a->i], *y = &b->ents[b->i];
  uint64_t pa, pb;
  int asc = it->order != MCAP_ORDER_REVERSE;
  if (it->order == MCAP_ORDER_FILE) {
    pa = a->chunk == SIZE_MAX ? x->off : a->file_pos;
    pb = b->chunk == SIZE_MAX ? y->off : b->file_pos;
    if (pa != pb) return pa < pb;
    return x->off < y->off;
  }
  if (x->t != y->t) return asc ? x->t < y->t : x->t > y->t;
  /* ties: file position (loose messages use their own offset) */
  pa = a->chunk == SIZE_MAX ? x->off : a->file_pos;
  pb = b->chunk == SIZE_MAX ? y->off : b->file_pos;
  if (pa != pb) return asc ? pa < pb : pa > pb;
  return asc ? x->off < y->off : x->off > y->off;
}

static void heap_swap(struct unit **h, size_t i, size_t j) {
  struct unit *t = h[i];
  h[i] = h[j];
  h[j] = t;
}

static void heap_up(struct mcap_message_iter *it, size_t i) {
  while (i > 0) {
    size_t p = (i - 1) / 2;
    if (!before(it, it->heap[i], it->heap[p])) break;
    heap_swap(it->heap, i, p);
    i = p;
  }
}

static void heap_down(struct mcap_message_iter *it, size_t i) {
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, m = i;
    if (l < it->heap_len && before(it, it->heap[l], it->heap[m])) m = l;
    if (r < it->heap_len && before(it, it->heap[r], it->heap[m])) m = r;
    if (m == i) break;
    heap_swap(it->heap, i, m);
    i = m;
  }
}

static int ent_asc(const void *a, const void *b) {
  const struct ent *x = a, *y = b;
  if (x->t != y->t) return x->t < y->t ? -1 : 1;
  return (x->off > y->off) - (x->off < y->off);
}

static int ent_desc(const void *a, const void *b) { return ent_asc(b, a); }

static int ent_off(const void *a, const void *b) {
  const struct ent *x = a, *y = b;
  return (x->off > y->off) - (x->off < y->off);
}

static void sort_ents(mcap_read_order order, struct ent *e, size_t n) {
  int (*cmp)(const void *, const void *) =
      order == MCAP_ORDER_FILE ? ent_off : order == MCAP_ORDER_LOG_TIME ? ent_asc : ent_desc;
  /* Skip the sort when already in order (the common case for well-written chunks). */
  for (size_t i = 1; i < n; i++) {
    if (cmp(&e[i - 1], &e[i]) > 0) {
      qsort(e, n, sizeof *e, cmp);
      return;
    }
  }
}

static int in_range(const struct mcap_message_iter *it, uint64_t t) {
  return (!it->has_start || t >= it->start) && (!it->has_end || t <= it->end);
}

/* ------------------------------------------------------ chunk processing */

/* Collect the selected messages of decompressed records. Thread-safe (reads shared state only). */
static int collect(const struct mcap_message_iter *it, const uint8_t *data, uint64_t len,
                   uint64_t chunk_offset, struct ent **out, size_t *n_out, char *msg,
                   size_t msg_len) {
  uint64_t pos = 0;
  size_t n = 0, cap = 0;
  struct ent *e = NULL;
  while (pos < len) {
    uint64_t left = len - pos, rlen;
    uint8_t op;
    if (left < 9) {
      snprintf(msg, msg_len, "Chunk record at offset %llu: %llu stray bytes at its end",
               (unsigned long long)chunk_offset, (unsigned long long)left);
      goto bad;
    }
    op = data[pos];
    rlen = mcap__le64dec(data + pos + 1);
    if (rlen > left - 9) {
      snprintf(msg, msg_len,
               "Chunk record at offset %llu: %s record at chunk byte %llu overruns the chunk",
               (unsigned long long)chunk_offset, mcap_opcode_name(op), (unsigned long long)pos);
      goto bad;
    }
    if (op == MCAP_OP_MESSAGE) {
      if (rlen < 22) {
        snprintf(msg, msg_len, "Chunk record at offset %llu: Message at chunk byte %llu too short",
                 (unsigned long long)chunk_offset, (unsigned long long)pos);
        goto bad;
      }
      {
        uint16_t ch = mcap__le16dec(data + pos + 9);
        uint64_t t = mcap__le64dec(data + pos + 9 + 6);
        if (it->selected[ch] && in_range(it, t)) {
          if (n == cap) {
            size_t c = cap ? cap * 2 : 256;
            struct ent *p = mcap__realloc(e, c * sizeof *e);
            if (!p) {
              snprintf(msg, msg_len, "out of memory");
              mcap__free(e);
              return MCAP_ENOMEM;
            }
            e = p;
            cap = c;
          }
          e[n].t = t;
          e[n].off = pos;
          n++;
        }
      }
    }
    pos += 9 + rlen;
  }
  sort_ents(it->order, e, n);
  *out = e;
  *n_out = n;
  return MCAP_OK;
bad:
  mcap__free(e);
  return MCAP_ERECORD;
}

/*
 * Validate a whole Chunk record (as its chunk index describes it) held in `rec`
 * and parse it into *ck (views into rec). Thread-safe: reports into msg.
 */
static int parse_chunk(const mcap_chunk_index *ci, const uint8_t *rec, uint64_t max_unc,
                       mcap_chunk *ck, char *msg, size_t msg_len) {
  mcap_record r;
  mcap_error_info e = {0, 0, {0}};
  if (rec[0] != MCAP_OP_CHUNK || mcap__le64dec(rec + 1) != ci->chunk_length - 9) {
    snprintf(msg, msg_len,
             "chunk index points at a %s record of length %llu at offset %llu, not at its Chunk",
             mcap_opcode_name(rec[0]), (unsigned long long)mcap__le64dec(rec + 1),
             (unsigned long long)ci->chunk_start_offset);
    return MCAP_ECHUNK_OFFSET;
  }
  memset(&r, 0, sizeof r);
  if (mcap_record_parse(MCAP_OP_CHUNK, rec + 9, ci->chunk_length - 9, ci->chunk_start_offset, &r,
                        &e)) {
    snprintf(msg, msg_len, "%s", e.msg);
    return MCAP_ERECORD;
  }
  *ck = r.u.chunk;
  int rc = mcap_chunk_size_check(ck, ci->chunk_start_offset, max_unc, &e);
  if (rc != MCAP_OK) snprintf(msg, msg_len, "%s", e.msg);
  return rc;
}

static int chunk_length_ok(const mcap_reader *r, const mcap_chunk_index *ci) {
  return ci->chunk_length >= 9 + 40 && ci->chunk_length <= r->o.base.max_record_size + 9 &&
         ci->chunk_start_offset <= r->src.size &&
         ci->chunk_length <= r->src.size - ci->chunk_start_offset;
}

/*
 * Fetch a whole Chunk record into an owned buffer *comp and parse it. With
 * `concurrent`, reads through the source's read_at (any thread); otherwise
 * through its read (calling thread only). Errors go into msg.
 */
static int fetch_chunk(mcap_reader *r, struct bufcache *bc, const mcap_chunk_index *ci,
                       int concurrent, mcap_chunk *ck, uint8_t **comp, char *msg, size_t msg_len) {
  mcap_error_info e = {0, 0, {0}};
  int rc;
  *comp = NULL;
  if (!chunk_length_ok(r, ci)) {
    snprintf(msg, msg_len, "chunk index: bad chunk length %llu at offset %llu",
             (unsigned long long)ci->chunk_length, (unsigned long long)ci->chunk_start_offset);
    return MCAP_ECHUNK_OFFSET;
  }
  *comp = buf_get(bc, ci->chunk_length);
  if (!*comp) {
    snprintf(msg, msg_len, "out of memory for a %llu-byte chunk",
             (unsigned long long)ci->chunk_length);
    return MCAP_ENOMEM;
  }
  if (concurrent) {
    rc = r->src.read_at(r->src.payload, ci->chunk_start_offset, ci->chunk_length, *comp, &e);
  } else {
    const uint8_t *p;
    rc = mcap__reader_read(r, ci->chunk_start_offset, ci->chunk_length, &p, "Chunk record");
    if (!rc) memcpy(*comp, p, (size_t)ci->chunk_length);
    if (rc) snprintf(e.msg, sizeof e.msg, "%s", r->err.msg);
  }
  if (!rc) rc = parse_chunk(ci, *comp, r->o.base.max_chunk_uncompressed_size, ck, msg, msg_len);
  else snprintf(msg, msg_len, "%s", e.msg);
  if (rc) {
    buf_put(bc, *comp);
    *comp = NULL;
  }
  return rc;
}

/*
 * Parse a Chunk record straight from the source's own buffer (calling thread
 * only): *ck's views stay valid until the next read on r's source, which is
 * long enough to decompress it and saves copying the compressed bytes.
 */
static int view_chunk(mcap_reader *r, const mcap_chunk_index *ci, mcap_chunk *ck, char *msg,
                      size_t msg_len) {
  const uint8_t *p;
  if (!chunk_length_ok(r, ci)) {
    snprintf(msg, msg_len, "chunk index: bad chunk length %llu at offset %llu",
             (unsigned long long)ci->chunk_length, (unsigned long long)ci->chunk_start_offset);
    return MCAP_ECHUNK_OFFSET;
  }
  if (mcap__reader_read(r, ci->chunk_start_offset, ci->chunk_length, &p, "Chunk record")) {
    snprintf(msg, msg_len, "%s", r->err.msg);
    return r->err.code ? r->err.code : MCAP_EIO;
  }
  return parse_chunk(ci, p, r->o.base.max_chunk_uncompressed_size, ck, msg, msg_len);
}

/* Decompress (and CRC-check) a chunk into a new buffer. Thread-safe with a private `dec`;
 * `crc`: the calling thread's CRC helper, or NULL to check the CRC here. */
static int inflate(struct bufcache *bc, mcap_decompressor *dec, const mcap_chunk *ck, int no_crc,
                   struct mcap__crch *crc, uint64_t offset, uint8_t **out, char *msg,
                   size_t msg_len) {
  mcap_error_info e = {0, 0, {0}};
  uint8_t *d = buf_get(bc, ck->uncompressed_size ? ck->uncompressed_size : 1);
  int rc;
  if (!d) {
    snprintf(msg, msg_len, "out of memory for a %llu-byte chunk",
             (unsigned long long)ck->uncompressed_size);
    return MCAP_ENOMEM;
  }
  rc = mcap__chunk_decompress_crch(dec, ck, d, ck->uncompressed_size, no_crc, crc, &e);
  if (rc) {
    snprintf(msg, msg_len, "Chunk record at offset %llu: %.200s", (unsigned long long)offset, e.msg);
    buf_put(bc, d);
    return rc;
  }
  *out = d;
  return MCAP_OK;
}

/* --------------------------------------------------------------- windows */

/*
 * The workers read chunks from windows of the file that the main thread maps as it
 * queues them, shared and reference-counted (the main thread's current window, each job,
 * each unit whose stored records lie in it). A munmap in a threaded process interrupts
 * every other core running it to flush its TLB; a window per 8 MiB keeps that to a few
 * dozen per GiB, where a mapping per chunk cost 15 % of a 2-thread lz4 read and pread's
 * copy a quarter of it. Workers fault in only their chunk's pages.
 */
#define QWIN_SIZE ((uint64_t)8 << 20)

struct qwin {
  void *base;
  size_t len;
  uint64_t off;        /* file offset of view */
  uint64_t avail;      /* bytes mapped from view on */
  const uint8_t *view;
  int refs;
};

static void win_unref(struct mcap_message_iter *it, struct qwin *w) {
  int last;
  if (!w) return;
  pthread_mutex_lock(&it->win_mu);
  last = --w->refs == 0;
  pthread_mutex_unlock(&it->win_mu);
  if (last) {
    mcap__source_unmap(w->base, w->len);
    mcap__free(w);
  }
}

/* A counted reference to a window holding the whole Chunk record of ci (main thread);
 * NULL to have the worker pread it (no mapping here, or a chunk index the worker will
 * report as bad). */
static struct qwin *win_for(struct mcap_message_iter *it, const mcap_chunk_index *ci,
                            const uint8_t **view) {
  mcap_reader *r = it->r;
  struct qwin *w = it->win;
  uint64_t off = ci->chunk_start_offset, len = ci->chunk_length;
  if (it->no_windows || !chunk_length_ok(r, ci)) return NULL;
  if (!w || off < w->off || off - w->off > w->avail || len > w->avail - (off - w->off)) {
    mcap_error_info e = {0, 0, {0}};
    uint64_t want = len > QWIN_SIZE ? len : QWIN_SIZE;
    if (want > r->src.size - off) want = r->src.size - off;
    w = mcap__calloc(1, sizeof *w);
    if (!w) return NULL;
    if (mcap__source_map(&r->src, off, want, &w->view, &w->base, &w->len, &e)) {
      mcap__free(w);
      it->no_windows = 1; /* EUNSUPPORTED, or mapping failed: pread from now on */
      return NULL;
    }
    w->off = off;
    w->avail = want;
    w->refs = 1;
    win_unref(it, it->win);
    it->win = w;
  }
  pthread_mutex_lock(&it->win_mu);
  w->refs++;
  pthread_mutex_unlock(&it->win_mu);
  *view = w->view + (off - w->off);
  return w;
}

/* ------------------------------------------------------------------ pool */

/* A worker's job: read (map or fetch) the chunk, decompress and CRC-check it, collect its
 * messages. Errors stay in the job; the main thread reports them in order. */
static void run_job(struct mcap_message_iter *it, mcap_decompressor *dec, struct job *j,
                    int no_crc) {
  if (!dec) {
    j->rc = MCAP_ENOMEM;
    snprintf(j->msg, sizeof j->msg, "out of memory creating a decompressor");
    return;
  }
  if (j->win) {
    mcap__source_prefault(j->view, (size_t)j->ci->chunk_length);
    j->rc = parse_chunk(j->ci, j->view, it->r->o.base.max_chunk_uncompressed_size, &j->ck, j->msg,
                        sizeof j->msg);
    if (j->rc) return;
  } else if (j->fetch) {
    j->rc = fetch_chunk(it->r, &it->bufs, j->ci, 1, &j->ck, &j->comp, j->msg, sizeof j->msg);
    if (j->rc) return;
  }
  if (j->ck.records.len && mcap__chunk_stored(&j->ck)) {
    /* A stored chunk: its records are used where they are, in the window or the buffer
     * read, which the job (then the unit) keeps until its messages are consumed. */
    mcap_error_info e = {0, 0, {0}};
    j->rc = mcap__chunk_crc_check(&j->ck, j->ck.records.data, no_crc, &e);
    if (j->rc) {
      snprintf(j->msg, sizeof j->msg, "Chunk record at offset %llu: %.200s",
               (unsigned long long)j->chunk_offset, e.msg);
      return;
    }
    j->data_buf = j->comp;
    j->comp = NULL;
    j->data = (uint8_t *)j->ck.records.data;
  } else {
    j->rc = inflate(&it->bufs, dec, &j->ck, no_crc, NULL, j->chunk_offset, &j->data, j->msg,
                    sizeof j->msg);
    j->data_buf = j->data;
    /* The compressed bytes are done with: the window may go (see win_unref). */
    win_unref(it, j->win);
    j->win = NULL;
    if (j->rc) return;
  }
  j->rc = collect(it, j->data, j->ck.uncompressed_size, j->chunk_offset, &j->ents, &j->n, j->msg,
                  sizeof j->msg);
}

static void *worker(void *arg) {
  struct pool *p = arg;
  mcap_decompressor *dec = NULL;
  int no_crc = p->it->r->o.base.no_chunk_crc;
  if (mcap_decompressor_new(&dec)) dec = NULL;
  pthread_mutex_lock(&p->mu);
  for (;;) {
    struct job *j;
    while (!p->head && !p->stop) pthread_cond_wait(&p->work, &p->mu);
    if (p->stop) break;
    j = p->head;
    p->head = j->next;
    if (!p->head) p->tail = NULL;
    pthread_mutex_unlock(&p->mu);
    run_job(p->it, dec, j, no_crc);
    pthread_mutex_lock(&p->mu);
    j->done = 1;
    pthread_cond_broadcast(&p->done);
  }
  pthread_mutex_unlock(&p->mu);
  mcap_decompressor_free(dec);
  return NULL;
}

static int pool_start(struct mcap_message_iter *it, int n) {
  struct pool *p = &it->pool;
  p->it = it;
  p->threads = mcap__calloc((size_t)n, sizeof *p->threads);
  if (!p->threads) return MCAP_ENOMEM;
  pthread_mutex_init(&p->mu, NULL);
  pthread_cond_init(&p->work, NULL);
  pthread_cond_init(&p->done, NULL);
  for (int i = 0; i < n; i++) {
    if (pthread_create(&p->threads[i], NULL, worker, p) != 0) break;
    p->n_threads++;
  }
  return MCAP_OK;
}

static void pool_stop(struct pool *p) {
  if (!p->threads) return;
  pthread_mutex_lock(&p->mu);
  p->stop = 1;
  pthread_cond_broadcast(&p->work);
  pthread_mutex_unlock(&p->mu);
  for (int i = 0; i < p->n_threads; i++) pthread_join(p->threads[i], NULL);
  /* Jobs still queued were never started; the iterator frees them with their units. */
  pthread_mutex_destroy(&p->mu);
  pthread_cond_destroy(&p->work);
  pthread_cond_destroy(&p->done);
  mcap__free(p->threads);
  p->threads = NULL;
}

static void free_job(struct mcap_message_iter *it, struct job *j) {
  if (!j) return;
  buf_put(&it->bufs, j->comp);
  buf_put(&it->bufs, j->data_buf);
  win_unref(it, j->win);
  mcap__free(j->ents);
  mcap__free(j);
}

/* Queue decompression of upcoming units, within the memory budget. */
static void prefetch(struct mcap_message_iter *it) {
  mcap_reader *r = it->r;
  if (!it->pool.n_threads) return;
  if (it->next_prefetch < it->next_load) it->next_prefetch = it->next_load;
  while (it->outstanding < 3 * (it->pool.n_threads + 1) && it->next_prefetch < it->n_units) {
    struct unit *u = &it->units[it->next_prefetch];
    struct job *j;
    if (u->chunk == SIZE_MAX || u->job || u->loaded) {
      it->next_prefetch++;
      continue;
    }
    if (it->budget && it->held && it->held + r->chunks[u->chunk].ci.uncompressed_size > it->budget) {
      break;
    }
    j = mcap__calloc(1, sizeof *j);
    if (!j) return;
    j->u = u;
    j->ci = &r->chunks[u->chunk].ci;
    j->chunk_offset = j->ci->chunk_start_offset;
    if (r->src.read_at) {
      j->fetch = 1; /* the worker reads it: the main thread only consumes */
      j->ck.uncompressed_size = j->ci->uncompressed_size;
      j->win = win_for(it, j->ci, &j->view);
    } else {
      char msg[256];
      if (fetch_chunk(r, &it->bufs, j->ci, 0, &j->ck, &j->comp, msg, sizeof msg)) {
        /* Leave it for the main thread, which reports the error in order. */
        free_job(it, j);
        return;
      }
    }
    j->held = j->ck.uncompressed_size;
    it->held += j->held;
    u->job = j;
    it->outstanding++;
    it->next_prefetch++;
    pthread_mutex_lock(&it->pool.mu);
    if (it->pool.tail) it->pool.tail->next = j; else it->pool.head = j;
    it->pool.tail = j;
    pthread_cond_signal(&it->pool.work);
    pthread_mutex_unlock(&it->pool.mu);
  }
}

/* ---------------------------------------------------------------- units */

static void unit_drop(struct mcap_message_iter *it, struct unit *u) {
  if (u->data) {
    it->held -= u->data_len;
    buf_put(&it->bufs, u->data_buf);
    win_unref(it, u->win);
    u->data = u->data_buf = NULL;
    u->win = NULL;
  }
}

static void unit_free(struct mcap_message_iter *it, struct unit *u) {
  unit_drop(it, u);
  mcap__free(u->ents);
  u->ents = NULL;
  u->n = u->i = 0;
}

static void note_held(struct mcap_message_iter *it) {
  uint64_t chunks = 0;
  for (size_t i = 0; i < it->heap_len; i++) chunks += it->heap[i]->data != NULL;
  if (chunks > it->stats.peak_chunks_held) it->stats.peak_chunks_held = chunks;
  if (it->held > it->stats.peak_bytes_held) it->stats.peak_bytes_held = it->held;
}

/* Decompress a unit's chunk on the calling thread. */
static int unit_inflate(struct mcap_message_iter *it, struct unit *u, int collect_too) {
  mcap_reader *r = it->r;
  mcap_chunk ck;
  char msg[256];
  uint64_t off = r->chunks[u->chunk].ci.chunk_start_offset;
  int rc;
  if (!it->dec && mcap_decompressor_new(&it->dec)) {
    return mcap__rfail(r, MCAP_ENOMEM, off, "out of memory");
  }
  rc = view_chunk(r, &r->chunks[u->chunk].ci, &ck, msg, sizeof msg);
  if (rc) return mcap__rfail(r, rc, off, "%s", msg);
  /* Nothing reads the source between the view and the decompression. */
  rc = inflate(&it->bufs, it->dec, &ck, r->o.base.no_chunk_crc, it->crc, off, &u->data, msg,
               sizeof msg);
  u->data_buf = u->data;
  if (rc) return mcap__rfail(r, rc, off, "%s", msg);
  u->data_len = ck.uncompressed_size;
  it->held += u->data_len;
  it->stats.chunks_decompressed++;
  it->stats.bytes_decompressed += u->data_len;
  if (collect_too) {
    rc = collect(it, u->data, u->data_len, off, &u->ents, &u->n, msg, sizeof msg);
    if (rc) return mcap__rfail(r, rc, off, "%s", msg);
  }
  return MCAP_OK;
}

/* Keep decompressed bytes within the budget by dropping buffers of units waiting in the heap. */
static void enforce_budget(struct mcap_message_iter *it) {
  if (!it->budget) return;
  while (it->held > it->budget) {
    struct unit *victim = NULL;
    for (size_t i = 1; i < it->heap_len; i++) { /* never the top */
      struct unit *u = it->heap[i];
      if (u->data && (!victim || before(it, victim, u))) victim = u;
    }
    if (!victim) break;
    unit_drop(it, victim);
  }
}

/*
 * A unit's chunk could not be read (rc, detail in r->err): with skip_bad_chunks a damaged
 * chunk is counted once in the reader's damage and the query goes on without it
 * (MCAP_OK); I/O errors and lack of memory end the query.
 */
static int unit_failed(struct mcap_message_iter *it, struct unit *u, int rc) {
  mcap_reader *r = it->r;
  struct mcap__chunk *c = &r->chunks[u->chunk];
  if (!r->o.skip_bad_chunks || rc == MCAP_ENOMEM || rc == MCAP_EIO) return rc;
  unit_free(it, u);
  if (!c->damaged) {
    c->damaged = 1;
    mcap__reader_note_damage(r, rc, c->ci.chunk_start_offset, c->ci.chunk_length, 1,
                             mcap__chunk_message_count(&c->ci), 0, r->err.msg);
  }
  return MCAP_OK;
}

/* Decompress a unit's chunk here without checking its CRC (the caller has it checked):
 * *data (from the buffer cache), its length and the CRC the chunk declares. */
static int unit_decode(struct mcap_message_iter *it, struct unit *u, uint8_t **data,
                       uint64_t *len, uint32_t *want, char *msg, size_t msg_len) {
  mcap_reader *r = it->r;
  mcap_chunk ck;
  int rc;
  *data = NULL;
  if (!it->dec && mcap_decompressor_new(&it->dec)) {
    snprintf(msg, msg_len, "out of memory");
    return MCAP_ENOMEM;
  }
  rc = view_chunk(r, &r->chunks[u->chunk].ci, &ck, msg, msg_len);
  if (rc) return rc;
  rc = inflate(&it->bufs, it->dec, &ck, 1, NULL, r->chunks[u->chunk].ci.chunk_start_offset,
               data, msg, msg_len);
  if (rc) return rc;
  *len = ck.uncompressed_size;
  *want = ck.uncompressed_crc;
  return MCAP_OK;
}

/* The next unit in load order that this thread may decompress ahead, or NULL. */
static struct unit *next_ahead(struct mcap_message_iter *it) {
  for (size_t i = it->next_load; i < it->n_units; i++) {
    struct unit *v = &it->units[i];
    if (v->chunk == SIZE_MAX || v->loaded) continue;
    if (v->ahead) return NULL; /* already done */
    if (it->budget && it->held + it->r->chunks[v->chunk].ci.uncompressed_size > it->budget) {
      return NULL;
    }
    return v;
  }
  return NULL;
}

/*
 * Load a unit on the calling thread with its CRC checked on the helper (it->crc) while
 * this thread decompresses the next unit. A failure to decompress that next unit is not
 * reported here: its own load does it again and reports it in order.
 */
static int unit_load_ahead(struct mcap_message_iter *it, struct unit *u) {
  mcap_reader *r = it->r;
  uint64_t off = r->chunks[u->chunk].ci.chunk_start_offset, len;
  uint32_t want;
  uint8_t *data;
  struct unit *v;
  mcap_error_info e = {0, 0, {0}};
  char msg[256];
  int rc;
  if (u->ahead) {
    data = u->ahead;
    len = u->ahead_len;
    want = u->ahead_crc;
    u->ahead = NULL;
    it->held -= len;
  } else {
    rc = unit_decode(it, u, &data, &len, &want, msg, sizeof msg);
    if (rc) return mcap__rfail(r, rc, off, "%s", msg);
  }
  if (want) {
    mcap__crch_seg_set(it->crc, 0);
    mcap__crch_seg_push(it->crc, data, (size_t)len);
  }
  v = next_ahead(it);
  if (v && unit_decode(it, v, &v->ahead, &v->ahead_len, &v->ahead_crc, msg, sizeof msg) == 0) {
    it->held += v->ahead_len;
  }
  if (want && mcap__chunk_crc_result(want, mcap__crch_seg_sync(it->crc), &e)) {
    buf_put(&it->bufs, data);
    return mcap__rfail(r, MCAP_ECRC, off, "Chunk record at offset %llu: %s",
                       (unsigned long long)off, e.msg);
  }
  u->data = u->data_buf = data;
  u->data_len = len;
  it->held += len;
  it->stats.chunks_decompressed++;
  it->stats.bytes_decompressed += len;
  rc = collect(it, u->data, u->data_len, off, &u->ents, &u->n, msg, sizeof msg);
  if (rc) return mcap__rfail(r, rc, off, "%s", msg);
  return MCAP_OK;
}

/* Load a unit: take its prefetched job or do the work here; push it if it has messages. */
static int unit_load(struct mcap_message_iter *it, struct unit *u) {
  mcap_reader *r = it->r;
  int rc;
  u->loaded = 1;
  if (u->chunk == SIZE_MAX) {
    /* loose messages: ents were prepared at query time */
  } else if (u->job) {
    struct job *j = u->job;
    pthread_mutex_lock(&it->pool.mu);
    while (!j->done) {
      /* Not done yet: run a queued job here (this one, or one needed soon) rather than
       * sleep; the calling thread is one of the `threads`. */
      struct job *h = it->pool.head;
      if (!h) {
        pthread_cond_wait(&it->pool.done, &it->pool.mu);
        continue;
      }
      it->pool.head = h->next;
      if (!it->pool.head) it->pool.tail = NULL;
      pthread_mutex_unlock(&it->pool.mu);
      if (!it->dec && mcap_decompressor_new(&it->dec)) it->dec = NULL;
      run_job(it, it->dec, h, r->o.base.no_chunk_crc);
      pthread_mutex_lock(&it->pool.mu);
      h->done = 1;
    }
    pthread_mutex_unlock(&it->pool.mu);
    it->outstanding--;
    u->job = NULL;
    it->held -= j->held;
    if (j->rc) {
      rc = mcap__rfail(r, j->rc, j->chunk_offset, "%s", j->msg);
      free_job(it, j);
      return unit_failed(it, u, rc);
    }
    u->data = j->data;
    u->data_buf = j->data_buf;
    u->win = j->win;
    u->data_len = j->ck.uncompressed_size;
    it->held += u->data_len;
    u->ents = j->ents;
    u->n = j->n;
    j->data = j->data_buf = NULL;
    j->win = NULL;
    j->ents = NULL;
    it->stats.chunks_decompressed++;
    it->stats.bytes_decompressed += u->data_len;
    free_job(it, j);
  } else if (it->crc) {
    rc = unit_load_ahead(it, u);
    if (rc) return unit_failed(it, u, rc);
  } else {
    rc = unit_inflate(it, u, 1);
    if (rc) return unit_failed(it, u, rc);
  }
  if (u->n == 0) {
    unit_free(it, u);
    return MCAP_OK;
  }
  it->heap[it->heap_len++] = u;
  heap_up(it, it->heap_len - 1);
  note_held(it);
  enforce_budget(it);
  return MCAP_OK;
}

/* ----------------------------------------------------------------- query */

static int unit_cmp_asc(const void *a, const void *b) {
  const struct unit *x = a, *y = b;
  if (x->load_key != y->load_key) return x->load_key < y->load_key ? -1 : 1;
  return (x->file_pos > y->file_pos) - (x->file_pos < y->file_pos);
}

static int unit_cmp_desc(const void *a, const void *b) {
  const struct unit *x = a, *y = b;
  if (x->load_key != y->load_key) return x->load_key > y->load_key ? -1 : 1;
  return (x->file_pos < y->file_pos) - (x->file_pos > y->file_pos);
}

static int topic_selected(const mcap_query *q, const mcap_channel *c) {
  if (!q->topics || !q->n_topics) return 1;
  for (size_t i = 0; i < q->n_topics; i++) {
    size_t n = strlen(q->topics[i]);
    if (n == c->topic.len && (!n || memcmp(q->topics[i], c->topic.data, n) == 0)) return 1;
  }
  return 0;
}

int mcap_reader_query(mcap_reader *r, const mcap_query *q, mcap_message_iter **out) {
  mcap_message_iter *it;
  mcap_query dflt;
  int rc;
  if (!r || !out) return MCAP_EINVAL;
  *out = NULL;
  if (!q) {
    memset(&dflt, 0, sizeof dflt);
    q = &dflt;
  }
  if (q->order != MCAP_ORDER_FILE && q->order != MCAP_ORDER_LOG_TIME &&
      q->order != MCAP_ORDER_REVERSE) {
    return mcap__rfail(r, MCAP_EINVAL, UINT64_MAX, "invalid query order %d", (int)q->order);
  }
  if (r->iter_open) return mcap__rfail(r, MCAP_ESTATE, UINT64_MAX, "an iterator is already open");
  it = mcap__calloc(1, sizeof *it);
  if (!it) return MCAP_ENOMEM;
  it->r = r;
  it->order = q->order;
  it->has_start = q->has_start;
  it->has_end = q->has_end;
  it->start = q->start;
  it->end = q->end;
  it->budget = r->o.memory_budget;
  pthread_mutex_init(&it->bufs.mu, NULL);
  pthread_mutex_init(&it->win_mu, NULL);
  it->selected = mcap__calloc(65536, 1);
  it->units = mcap__calloc(r->n_chunks + 1, sizeof *it->units);
  it->heap = mcap__calloc(r->n_chunks + 1, sizeof *it->heap);
  if (!it->selected || !it->units || !it->heap) goto oom;
  for (size_t i = 0; i < r->n_channels; i++) {
    const mcap_channel *c = &r->channels[i];
    if (!topic_selected(q, c)) continue;
    if (q->channel_filter &&
        !q->channel_filter(q->channel_filter_ctx, c, mcap_reader_schema(r, c->schema_id))) {
      continue;
    }
    it->selected[c->id] = 1;
  }
  /* Chunks that may hold selected messages in the range. */
  for (size_t i = 0; i < r->n_chunks; i++) {
    const struct mcap__chunk *c = &r->chunks[i];
    int want = !c->channels_known;
    if (c->damaged && r->o.skip_bad_chunks) continue; /* skipped (and counted) before */
    if (c->channels_known) {
      for (uint32_t k = 0; k < c->n_channels && !want; k++) want = it->selected[c->channels[k]];
      if (c->n_channels == 0) want = 0;
    }
    if (!want) continue;
    if (it->has_start && c->ci.message_end_time < it->start) continue;
    if (it->has_end && c->ci.message_start_time > it->end) continue;
    {
      struct unit *u = &it->units[it->n_units++];
      u->chunk = i;
      u->file_pos = c->ci.chunk_start_offset;
      u->load_key = q->order == MCAP_ORDER_FILE      ? c->ci.chunk_start_offset
                    : q->order == MCAP_ORDER_REVERSE ? c->ci.message_end_time
                                                     : c->ci.message_start_time;
    }
  }
  /* Messages outside chunks. */
  if (r->n_loose) {
    struct unit *u = &it->units[it->n_units];
    size_t n = 0;
    u->ents = mcap__malloc(r->n_loose * sizeof *u->ents);
    if (!u->ents) goto oom;
    for (size_t i = 0; i < r->n_loose; i++) {
      if (it->selected[r->loose[i].channel_id] && in_range(it, r->loose[i].log_time)) {
        u->ents[n].t = r->loose[i].log_time;
        u->ents[n].off = r->loose[i].offset;
        n++;
      }
    }
    if (n) {
      sort_ents(q->order, u->ents, n);
      u->n = n;
      u->chunk = SIZE_MAX;
      u->file_pos = 0;
      /* Load it first: its key is then exact in the heap. */
      u->load_key = q->order == MCAP_ORDER_REVERSE ? UINT64_MAX : 0;
      it->n_units++;
    } else {
      mcap__free(u->ents);
      u->ents = NULL;
    }
  }
  if (it->n_units > 1) {
    qsort(it->units, it->n_units, sizeof *it->units,
          q->order == MCAP_ORDER_REVERSE ? unit_cmp_desc : unit_cmp_asc);
  }
  if (r->o.threads > 1 && it->n_units > 1) {
    rc = pool_start(it, r->o.threads - 1); /* the calling thread works too */
    if (rc) goto oom;
  } else if (it->n_units > 1) {
    /* One thread decompresses. A helper thread checks each chunk's CRC while the next
     * one decodes (unit_load_ahead), and a file source read forward maps the next window
     * ahead on another (both best effort: without them the work is done here). */
    if (!r->o.base.no_chunk_crc && mcap__crch_new(&it->crc) != MCAP_OK) it->crc = NULL;
    if (q->order != MCAP_ORDER_REVERSE) (void)mcap__source_readahead(&r->src);
  }
  r->iter_open = 1;
  *out = it;
  return MCAP_OK;
oom:
  mcap_message_iter_free(it);
  return mcap__rfail(r, MCAP_ENOMEM, UINT64_MAX, "out of memory starting a query");
}

/* Can units[next_load] hold a message that must come before the heap's top? */
static int must_load(const struct mcap_message_iter *it) {
  const struct unit *u, *top;
  const struct ent *e;
  if (it->next_load >= it->n_units) return 0;
  if (!it->heap_len) return 1;
  u = &it->units[it->next_load];
  top = it->heap[0];
  e = &top->ents[top->i];
  switch (it->order) {
    case MCAP_ORDER_FILE:
      return u->load_key <= (top->chunk == SIZE_MAX ? e->off : top->file_pos);
    case MCAP_ORDER_REVERSE:
      return u->load_key >= e->t;
    default:
      return u->load_key <= e->t;
  }
}

int mcap_message_iter_next(mcap_message_iter *it, mcap_message_view *out) {
  mcap_reader *r;
  struct unit *u;
  struct ent *e;
  int rc;
  if (!it || !out) return MCAP_EINVAL;
  r = it->r;
  if (it->failed) return it->failed;
  if (it->release) {
    unit_free(it, it->release);
    it->release = NULL;
  }
  while (must_load(it)) {
    prefetch(it);
    rc = unit_load(it, &it->units[it->next_load++]);
    if (rc) return it->failed = rc;
  }
  prefetch(it);
  if (!it->heap_len) return MCAP_ITEROVER;
  u = it->heap[0];
  e = &u->ents[u->i];
  memset(out, 0, sizeof *out);
  if (u->chunk == SIZE_MAX) {
    /* A message outside chunks: read its record from the file. */
    const uint8_t *p;
    uint64_t len;
    mcap_record rec;
    rc = mcap__reader_read(r, e->off, 9, &p, "Message record");
    if (rc) return it->failed = rc;
    len = mcap__le64dec(p + 1);
    if (p[0] != MCAP_OP_MESSAGE || len > r->src.size - e->off - 9 || len < 22) {
      return it->failed = mcap__rfail(r, MCAP_ECHUNK_OFFSET, e->off,
                                      "expected a Message record at offset %llu",
                                      (unsigned long long)e->off);
    }
    rc = mcap__reader_read(r, e->off + 9, len, &p, "Message record");
    if (rc) return it->failed = rc;
    it->loose_buf.len = 0;
    if (mcap__buf_append(&it->loose_buf, p, (size_t)len)) {
      return it->failed = mcap__rfail(r, MCAP_ENOMEM, e->off, "out of memory");
    }
    memset(&rec, 0, sizeof rec);
    rc = mcap_record_parse(MCAP_OP_MESSAGE, it->loose_buf.data, len, e->off, &rec, &r->err);
    if (rc) return it->failed = rc;
    out->message = rec.u.message;
    out->chunk_offset = UINT64_MAX;
    out->record_offset = e->off;
  } else {
    mcap_record rec;
    if (!u->data) { /* evicted under the memory budget: decompress again */
      rc = unit_inflate(it, u, 0);
      if (rc) return it->failed = rc;
      note_held(it);
    }
    memset(&rec, 0, sizeof rec);
    rc = mcap_record_parse(MCAP_OP_MESSAGE, u->data + e->off + 9,
                           mcap__le64dec(u->data + e->off + 1), u->file_pos, &rec, &r->err);
    if (rc) return it->failed = rc;
    out->message = rec.u.message;
    out->chunk_offset = u->file_pos;
    out->record_offset = e->off;
  }
  out->channel = mcap_reader_channel(r, out->message.channel_id);
  out->schema = out->channel && out->channel->schema_id
                    ? mcap_reader_schema(r, out->channel->schema_id)
                    : NULL;
  /* Advance this unit; an exhausted one is freed on the next call (its data is borrowed now). */
  u->i++;
  if (u->i < u->n) {
    heap_down(it, 0);
  } else {
    it->heap[0] = it->heap[--it->heap_len];
    if (it->heap_len) heap_down(it, 0);
    it->release = u;
  }
  return MCAP_OK;
}

void mcap_message_iter_stats(const mcap_message_iter *it, mcap_iter_stats *out) {
  if (it && out) *out = it->stats;
}

void mcap_message_iter_free(mcap_message_iter *it) {
  if (!it) return;
  pool_stop(&it->pool);
  if (it->units) {
    for (size_t i = 0; i < it->n_units; i++) {
      struct unit *u = &it->units[i];
      if (u->job) {
        free_job(it, u->job);
        u->job = NULL;
      }
      buf_put(&it->bufs, u->data_buf);
      buf_put(&it->bufs, u->ahead);
      win_unref(it, u->win);
      mcap__free(u->ents);
    }
    /* A loose unit prepared but not counted (no messages) was freed at query time. */
  }
  win_unref(it, it->win);
  pthread_mutex_destroy(&it->win_mu);
  it->r->iter_open = 0;
  mcap__free(it->units);
  mcap__free(it->heap);
  mcap__free(it->selected);
  mcap__buf_dispose(&it->loose_buf);
  mcap_decompressor_free(it->dec);
  mcap__crch_free(it->crc);
  bufcache_dispose(&it->bufs);
  mcap__free(it);
}
