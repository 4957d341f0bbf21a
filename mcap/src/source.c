/*
 * source.c - the built-in mcap_source implementations: caller memory, a file
 * read with pread through a read-ahead buffer, a whole-file mmap, and a
 * forward-only stream on a file descriptor (stdin, pipes).
 *
 * Buffered sources keep one window [win_off, win_off + win_len) of the input.
 * A read inside the window returns a pointer into it; otherwise the window is
 * moved (keeping any overlapping tail) and refilled. The window grows only to
 * the largest single read asked for, so memory is bounded by the largest
 * record the caller reads, not by the file.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

#define READ_AHEAD (4u << 20)


/* ---------------------------------------------------------------- memory */

struct mem_source {
  const uint8_t *data;
  uint64_t size;
};

static int mem_read(void *payload, uint64_t offset, uint64_t len, const uint8_t **out,
                    uint64_t *got, mcap_error_info *err) {
  struct mem_source *m = payload;
  (void)err;
  if (offset >= m->size) {
    *out = NULL;
    *got = 0;
    return MCAP_OK;
  }
  *out = m->data + offset;
  *got = len < m->size - offset ? len : m->size - offset;
  return MCAP_OK;
}

static void mem_close(void *payload) { mcap__free(payload); }

static int mem_read_at(void *payload, uint64_t offset, uint64_t len, uint8_t *dst,
                       mcap_error_info *err) {
  struct mem_source *m = payload;
  if (offset > m->size || len > m->size - offset) {
    return mcap__err(err, MCAP_ETRUNCATED, offset,
                     "truncated: %llu bytes at offset %llu are past the end (%llu bytes)",
                     (unsigned long long)len, (unsigned long long)offset,
                     (unsigned long long)m->size);
  }
  if (len) memcpy(dst, m->data + offset, (size_t)len);
  return MCAP_OK;
}

int mcap_source_from_memory(mcap_source *src, const void *data, uint64_t size) {
  struct mem_source *m;
  if (!src || (!data && size)) return MCAP_EINVAL;
  m = mcap__calloc(1, sizeof *m);
  if (!m) return MCAP_ENOMEM;
  m->data = data;
  m->size = size;
  src->payload = m;
  src->size = size;
  src->read = mem_read;
  src->close = mem_close;
  src->read_at = mem_read_at;
  return MCAP_OK;
}

/* ------------------------------------------------- buffered (pread / read) */

struct buf_source {
  int fd;
  int owns_fd;
  int seekable;    /* pread at any offset; else forward-only read() */
  uint64_t size;   /* MCAP_SIZE_UNKNOWN for streams */
  uint64_t pos;    /* stream: bytes consumed from the fd so far */
  uint8_t *win;
  uint64_t win_off;
  uint64_t win_len;
  uint64_t win_cap;
  char path[200];
};

/*
 * Read at least `need` bytes (fewer only at end of input) and at most `cap`
 * bytes at file offset off into dst. Files are read up to cap; streams stop as
 * soon as `need` is met, so a pipe never blocks for bytes not asked for.
 */
static int fill(struct buf_source *b, uint8_t *dst, uint64_t off, uint64_t need, uint64_t cap,
                uint64_t *done, mcap_error_info *err) {
  uint64_t have = 0;
  uint64_t n = b->seekable ? cap : need;
  while (have < n) {
    ssize_t r;
    uint64_t room = cap - have;
    size_t want = room > (1u << 30) ? (1u << 30) : (size_t)room;
    if (b->seekable) {
      r = pread(b->fd, dst + have, want, (off_t)(off + have));
    } else {
      r = read(b->fd, dst + have, want);
    }
    if (r < 0) {
      if (errno == EINTR) continue;
      return mcap__err(err, MCAP_EIO, off + have, "%s: read at offset %llu failed: %s", b->path,
                       (unsigned long long)(off + have), strerror(errno));
    }
    if (r == 0) break;
    have += (uint64_t)r;
  }
  if (!b->seekable) b->pos += have;
  *done = have;
  return MCAP_OK;
}

static int buf_read(void *payload, uint64_t offset, uint64_t len, const uint8_t **out,
                    uint64_t *got, mcap_error_info *err) {
  struct buf_source *b = payload;
  uint64_t end, keep = 0, want, n;
  int rc;
  if (b->size != MCAP_SIZE_UNKNOWN) {
    if (offset >= b->size) {
      *out = NULL;
      *got = 0;
      return MCAP_OK;
    }
    if (len > b->size - offset) len = b->size - offset;
  }
  if (mcap__add_overflow(offset, len, &end)) return MCAP_EINVAL;
  /* Fast path: the request lies inside the window. */
  if (offset >= b->win_off && end <= b->win_off + b->win_len) {
    *out = b->win + (offset - b->win_off);
    *got = len;
    return MCAP_OK;
  }
  if (!b->seekable && offset < b->win_off) {
    return mcap__err(err, MCAP_EUNSUPPORTED, offset,
                     "%s: cannot go back to offset %llu in a stream (at %llu)", b->path,
                     (unsigned long long)offset, (unsigned long long)b->win_off);
  }
  /* Keep the part of the window that overlaps the request. */
  if (offset >= b->win_off && offset < b->win_off + b->win_len) {
    keep = b->win_off + b->win_len - offset;
    memmove(b->win, b->win + (offset - b->win_off), keep);
  } else if (!b->seekable) {
    /* Skip forward in the stream to offset. */
    uint64_t skip = offset - (b->win_off + b->win_len);
    uint8_t tmp[4096];
    while (skip) {
      uint64_t step = skip < sizeof tmp ? skip : sizeof tmp;
      rc = fill(b, tmp, 0, step, step, &n, err);
      if (rc) return rc;
      if (n == 0) break;
      skip -= n;
    }
    if (skip) { /* hit EOF before offset */
      b->win_off = offset;
      b->win_len = 0;
      *out = NULL;
      *got = 0;
      return MCAP_OK;
    }
  }
  /* Read ahead only for sequential access; a random read (an indexed lookup) reads what it
   * asked for, so jumping around a large file does not pull megabytes per record. */
  want = len;
  if (!b->seekable || b->win_len == 0 || offset == b->win_off + b->win_len || keep) {
    want = len > READ_AHEAD ? len : READ_AHEAD;
  }
  if (b->size != MCAP_SIZE_UNKNOWN && want > b->size - offset) want = b->size - offset;
  if (want > b->win_cap) {
    /* Grow to what this read needs; the caller has checked len against its limits. */
    uint8_t *p = mcap__realloc(b->win, (size_t)want);
    if (!p) {
      return mcap__err(err, MCAP_ENOMEM, offset, "%s: cannot allocate %llu bytes for a read",
                       b->path, (unsigned long long)want);
    }
    b->win = p;
    b->win_cap = want;
  }
  b->win_off = offset;
  b->win_len = keep;
  if (want > keep) {
    uint64_t need = len > keep ? len - keep : 0;
    rc = fill(b, b->win + keep, offset + keep, need, want - keep, &n, err);
    if (rc) return rc;
    b->win_len = keep + n;
  }
  *out = b->win;
  *got = len < b->win_len ? len : b->win_len;
  return MCAP_OK;
}

static int buf_read_at(void *payload, uint64_t offset, uint64_t len, uint8_t *dst,
                       mcap_error_info *err) {
  struct buf_source *b = payload;
  uint64_t have = 0;
  while (have < len) {
    size_t want = len - have > (1u << 30) ? (1u << 30) : (size_t)(len - have);
    ssize_t r = pread(b->fd, dst + have, want, (off_t)(offset + have));
    if (r < 0) {
      if (errno == EINTR) continue;
      return mcap__err(err, MCAP_EIO, offset + have, "%s: read at offset %llu failed: %s",
                       b->path, (unsigned long long)(offset + have), strerror(errno));
    }
    if (r == 0) {
      return mcap__err(err, MCAP_ETRUNCATED, offset + have,
                       "truncated: %s ends at offset %llu, %llu bytes were needed from %llu",
                       b->path, (unsigned long long)(offset + have), (unsigned long long)len,
                       (unsigned long long)offset);
    }
    have += (uint64_t)r;
  }
  return MCAP_OK;
}

static void buf_close(void *payload) {
  struct buf_source *b = payload;
  if (b->owns_fd) close(b->fd);
  mcap__free(b->win);
  mcap__free(b);
}

static void set_path(char *dst, size_t cap, const char *path) {
  size_t n = strlen(path);
  if (n >= cap) n = cap - 1;
  memcpy(dst, path, n);
  dst[n] = '\0';
}

static int open_regular(const char *path, int *fd_out, uint64_t *size_out, mcap_error_info *err) {
  struct stat st;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return mcap__err(err, MCAP_EIO, UINT64_MAX, "cannot open '%s': %s", path, strerror(errno));
  }
  if (fstat(fd, &st) != 0) {
    int e = errno;
    close(fd);
    return mcap__err(err, MCAP_EIO, UINT64_MAX, "cannot stat '%s': %s", path, strerror(e));
  }
  if (S_ISDIR(st.st_mode)) {
    close(fd);
    return mcap__err(err, MCAP_EIO, UINT64_MAX, "'%s' is a directory", path);
  }
  *fd_out = fd;
  *size_out = S_ISREG(st.st_mode) ? (uint64_t)st.st_size : MCAP_SIZE_UNKNOWN;
  return MCAP_OK;
}

static int make_buf_source(mcap_source *src, int fd, int owns_fd, uint64_t size, const char *name,
                           mcap_error_info *err) {
  struct buf_source *b = mcap__calloc(1, sizeof *b);
  if (!b) {
    if (owns_fd) close(fd);
    return mcap__err(err, MCAP_ENOMEM, UINT64_MAX, "out of memory");
  }
  b->fd = fd;
  b->owns_fd = owns_fd;
  b->size = size;
  b->seekable = size != MCAP_SIZE_UNKNOWN;
  set_path(b->path, sizeof b->path, name);
  src->payload = b;
  src->size = size;
  src->read = buf_read;
  src->close = buf_close;
  src->read_at = b->seekable ? buf_read_at : NULL;
  return MCAP_OK;
}

/* ------------------------------------------------- sliding mapped window */

#define MAP_WINDOW (16u << 20)
/* Sequential windows start on this boundary (the x86-64 and arm64 PMD size), so that the
 * kernel can map a large page-cache folio with one page-table entry; see map_window. */
#define WINDOW_ALIGN ((uint64_t)2 << 20)
/* Read-ahead maps the next window this far before the current one ends, so that a record
 * straddling the boundary (up to this size) is inside it. */
#define AHEAD_OVERLAP (4u << 20)
/* A read this close after the last one is still sequential: the indexed reader reads
 * chunks and skips the message indexes between them, and a one-topic query skips the
 * chunks without the topic (a window ahead is cheaper than a mapping per chunk). */
#define SEQUENTIAL_GAP (MAP_WINDOW / 2)
/* ... and a read this far behind the furthest one so far (at most the overlap of windows
 * mapped ahead, which then still holds it). */
#define SEQUENTIAL_BACK AHEAD_OVERLAP
/* A sequential run's first window; each further window of the run doubles up to
 * MAP_WINDOW. Readers that alternate between places (info reads a message index here,
 * the summary there) then never map and fault in whole windows for a few KiB (a 343 MB
 * file's info: 2,490 minor faults with a full window at once), while a streamed read
 * reaches full windows after 6 of them (~16 MiB read). */
#define SEQ_WINDOW_MIN (256u << 10)

/*
 * Optional read-ahead (mcap__source_readahead): a helper thread maps and faults in the
 * window after the current one while the caller works on the current one (and unmaps
 * the one before), so the caller's reads find their pages mapped: the page-table work
 * is then no time the caller does not decompress.
 */
struct win_ahead {
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int started, stop;
  int want, busy;             /* a request is pending / being mapped */
  uint64_t req_off, req_len;  /* the request */
  uint8_t *map;               /* the mapped window, or NULL */
  uint64_t off, len;
  uint8_t *old;               /* a window the caller is done with: the helper unmaps it */
  uint64_t old_len;
};

struct win_source {
  int fd;
  uint64_t size;
  uint8_t *map;
  uint64_t map_off, map_len;
  uint64_t last_end; /* the furthest end of a read in the current sequential run (UINT64_MAX
                        before the first read) */
  uint64_t seq_win;  /* size of the next sequential window (SEQ_WINDOW_MIN..MAP_WINDOW) */
  uint64_t page;
  struct win_ahead *ahead; /* NULL unless read-ahead is on */
  char path[200];
};

/*
 * Fault [p, p + len) of a file mapping in by touching it every PREFAULT_STRIDE bytes. Each
 * fault maps the page-cache pages around it (the kernel's fault-around, 64 KiB by
 * default) in one batch, where MADV_POPULATE_READ faults every 4 KiB page on its own:
 * for 691 MB in the page cache as write() leaves it (4 KiB folios) touching took 6-10 ms
 * here, MADV_POPULATE_READ 40 ms. A stride below the fault-around size keeps every page
 * mapped even where the kernel maps less per fault. The caller's range lies inside the
 * file (a mapping past its end would fault SIGBUS).
 */
#define PREFAULT_STRIDE ((size_t)16 << 10)

static void prefault(const void *p, size_t len) {
  const volatile uint8_t *q = p;
  if (!len) return;
  for (size_t i = 0; i < len; i += PREFAULT_STRIDE) (void)q[i];
  (void)q[len - 1];
}

/*
 * Huge-page advice for a mapping, then fault in [p, p + len) of it. The advice comes
 * first: a file read cold then comes into the page cache in 2 MiB folios (the kernel's
 * read-ahead takes the order from the mapping), which map with one entry each. Where the
 * kernel has no MADV_HUGEPAGE the advice is ignored.
 */
static void advise_prefault(void *map, size_t map_len, void *p, size_t len) {
#ifdef MADV_HUGEPAGE
  (void)madvise(map, map_len, MADV_HUGEPAGE);
#else
  (void)map_len;
#endif
  prefault(p, len);
}

/* Map [off, off + len) of the file; a sequential window is faulted in at once. */
static void *map_window(int fd, uint64_t off, uint64_t len, int sequential) {
  void *m = mmap(NULL, (size_t)len, PROT_READ, MAP_PRIVATE, fd, (off_t)off);
  if (m == MAP_FAILED || !sequential) return m;
  advise_prefault(m, (size_t)len, m, (size_t)len);
  return m;
}

static void *ahead_main(void *arg) {
  struct win_source *w = arg;
  struct win_ahead *a = w->ahead;
  pthread_mutex_lock(&a->mu);
  for (;;) {
    uint64_t off, len, old_len;
    uint8_t *old;
    void *m;
    while (!a->want && !a->stop) pthread_cond_wait(&a->cv, &a->mu);
    if (a->stop) break;
    off = a->req_off;
    len = a->req_len;
    old = a->old;
    old_len = a->old_len;
    a->old = NULL;
    a->want = 0;
    a->busy = 1;
    pthread_mutex_unlock(&a->mu);
    /* Unmapping costs the caller as much as mapping; it is no longer looking at it. */
    if (old) munmap(old, (size_t)old_len);
    m = map_window(w->fd, off, len, 1);
    pthread_mutex_lock(&a->mu);
    if (m != MAP_FAILED) {
      a->map = m;
      a->off = off;
      a->len = len;
    }
    a->busy = 0;
    pthread_cond_broadcast(&a->cv);
  }
  pthread_mutex_unlock(&a->mu);
  return NULL;
}

/* Take the read-ahead window if it holds [offset, offset + len); else drop it. */
static int ahead_take(struct win_source *w, uint64_t offset, uint64_t len) {
  struct win_ahead *a = w->ahead;
  uint8_t *m;
  uint64_t off, mlen;
  pthread_mutex_lock(&a->mu);
  while (a->busy || a->want) {
    if (a->want && !a->busy) break; /* not begun: the caller maps it itself */
    pthread_cond_wait(&a->cv, &a->mu);
  }
  a->want = 0;
  m = a->map;
  off = a->off;
  mlen = a->len;
  a->map = NULL;
  pthread_mutex_unlock(&a->mu);
  if (!m) return 0;
  if (offset >= off && offset - off <= mlen && len <= mlen - (offset - off)) {
    if (w->map) {
      /* The helper unmaps it with the next request (ahead_request follows at once). */
      pthread_mutex_lock(&a->mu);
      if (a->old) munmap(a->old, (size_t)a->old_len);
      a->old = w->map;
      a->old_len = w->map_len;
      pthread_mutex_unlock(&a->mu);
    }
    w->map = m;
    w->map_off = off;
    w->map_len = mlen;
    return 1;
  }
  munmap(m, (size_t)mlen);
  return 0;
}

/* Ask for the window after the current one. */
static void ahead_request(struct win_source *w) {
  struct win_ahead *a = w->ahead;
  uint64_t end = w->map_off + w->map_len, start;
  if (end >= w->size) return;
  start = end > AHEAD_OVERLAP && end - AHEAD_OVERLAP > w->map_off ? end - AHEAD_OVERLAP : end;
  start &= ~(WINDOW_ALIGN - 1);
  if (start <= w->map_off) start = end & ~(w->page - 1);
  pthread_mutex_lock(&a->mu);
  a->req_off = start;
  a->req_len = w->size - start < MAP_WINDOW ? w->size - start : MAP_WINDOW;
  a->want = 1;
  pthread_cond_signal(&a->cv);
  pthread_mutex_unlock(&a->mu);
}

static void ahead_stop(struct win_source *w) {
  struct win_ahead *a = w->ahead;
  if (!a) return;
  if (a->started) {
    pthread_mutex_lock(&a->mu);
    a->stop = 1;
    pthread_cond_broadcast(&a->cv);
    pthread_mutex_unlock(&a->mu);
    pthread_join(a->thread, NULL);
  }
  if (a->map) munmap(a->map, (size_t)a->len);
  if (a->old) munmap(a->old, (size_t)a->old_len);
  pthread_mutex_destroy(&a->mu);
  pthread_cond_destroy(&a->cv);
  mcap__free(a);
  w->ahead = NULL;
}

static void note_end(struct win_source *w, uint64_t end) {
  if (w->last_end == UINT64_MAX || end > w->last_end) w->last_end = end;
}

static int win_read(void *payload, uint64_t offset, uint64_t len, const uint8_t **out,
                    uint64_t *got, mcap_error_info *err) {
  struct win_source *w = payload;
  uint64_t start, want;
  int sequential;
  void *m;
  if (offset >= w->size) {
    *out = NULL;
    *got = 0;
    return MCAP_OK;
  }
  if (len > w->size - offset) len = w->size - offset;
  if (w->map && offset >= w->map_off && offset + len <= w->map_off + w->map_len) {
    *out = w->map + (offset - w->map_off);
    *got = len;
    note_end(w, offset + len);
    return MCAP_OK;
  }
  /* Sequential readers get a window ahead; random readers only what they asked for. A
   * reader that looks a record ahead and comes back (the streamed reader decodes the next
   * chunk before the message indexes in between) is still sequential. */
  sequential = (w->last_end != UINT64_MAX && offset + SEQUENTIAL_BACK >= w->last_end &&
                offset <= w->last_end + SEQUENTIAL_GAP) ||
               (w->map && offset >= w->map_off && offset <= w->map_off + w->map_len);
  if (!sequential) {
    w->seq_win = SEQ_WINDOW_MIN; /* a new run starts small */
    w->last_end = offset + len;  /* ... and from here */
  }
  if (sequential && w->ahead && ahead_take(w, offset, len)) {
    ahead_request(w);
    note_end(w, offset + len);
    *out = w->map + (offset - w->map_off);
    *got = len;
    return MCAP_OK;
  }
  int full = sequential && w->seq_win >= MAP_WINDOW;
  start = offset & ~((full ? WINDOW_ALIGN : w->page) - 1);
  want = offset + len - start;
  if (sequential && want < w->seq_win) want = w->seq_win;
  if (sequential && w->seq_win < MAP_WINDOW) w->seq_win *= 2;
  if (want > w->size - start) want = w->size - start;
  if (want > SIZE_MAX) return mcap__err(err, MCAP_ELIMIT, offset, "%s: read too large", w->path);
  if (w->map) munmap(w->map, (size_t)w->map_len);
  w->map = NULL;
  m = map_window(w->fd, start, want, sequential);
  if (m == MAP_FAILED) {
    return mcap__err(err, MCAP_EIO, offset, "%s: cannot map %llu bytes at offset %llu: %s",
                     w->path, (unsigned long long)want, (unsigned long long)start,
                     strerror(errno));
  }
  w->map = m;
  w->map_off = start;
  w->map_len = want;
  if (full && w->ahead) ahead_request(w);
  note_end(w, offset + len);
  *out = w->map + (offset - start);
  *got = len;
  return MCAP_OK;
}

static int win_read_at(void *payload, uint64_t offset, uint64_t len, uint8_t *dst,
                       mcap_error_info *err) {
  struct win_source *w = payload;
  uint64_t have = 0;
  while (have < len) {
    size_t want = len - have > (1u << 30) ? (1u << 30) : (size_t)(len - have);
    ssize_t r = pread(w->fd, dst + have, want, (off_t)(offset + have));
    if (r < 0) {
      if (errno == EINTR) continue;
      return mcap__err(err, MCAP_EIO, offset + have, "%s: read at offset %llu failed: %s",
                       w->path, (unsigned long long)(offset + have), strerror(errno));
    }
    if (r == 0) {
      return mcap__err(err, MCAP_ETRUNCATED, offset + have,
                       "truncated: %s ends at offset %llu", w->path,
                       (unsigned long long)(offset + have));
    }
    have += (uint64_t)r;
  }
  return MCAP_OK;
}

static void win_close(void *payload) {
  struct win_source *w = payload;
  ahead_stop(w);
  if (w->map) munmap(w->map, (size_t)w->map_len);
  close(w->fd);
  mcap__free(w);
}

/* A windowed mapping of a regular file; MCAP_EUNSUPPORTED when mapping does not work here. */
static int make_win_source(mcap_source *src, int fd, uint64_t size, const char *path,
                           mcap_error_info *err) {
  struct win_source *w;
  long page = sysconf(_SC_PAGESIZE);
  void *probe;
  if (size == 0 || size == MCAP_SIZE_UNKNOWN || page <= 0) return MCAP_EUNSUPPORTED;
  probe = mmap(NULL, 1, PROT_READ, MAP_PRIVATE, fd, 0);
  if (probe == MAP_FAILED) return MCAP_EUNSUPPORTED;
  munmap(probe, 1);
  w = mcap__calloc(1, sizeof *w);
  if (!w) return mcap__err(err, MCAP_ENOMEM, UINT64_MAX, "out of memory");
  w->fd = fd;
  w->size = size;
  w->page = (uint64_t)page;
  /* No read yet: the first one is not taken as sequential, so an indexed open reading the
   * 8-byte magic maps a page, not a whole window (info of a 343 MB file: 2,490 minor
   * faults before, see the commit). A streamed reader's second read makes it sequential. */
  w->last_end = UINT64_MAX;
  w->seq_win = SEQ_WINDOW_MIN;
  set_path(w->path, sizeof w->path, path);
  src->payload = w;
  src->size = size;
  src->read = win_read;
  src->close = win_close;
  src->read_at = win_read_at;
  return MCAP_OK;
}

int mcap__source_map(const mcap_source *src, uint64_t offset, uint64_t len, const uint8_t **view,
                     void **base, size_t *base_len, mcap_error_info *err) {
  const struct win_source *w;
  uint64_t start, end;
  uint8_t *m;
  if (!src || src->read != win_read) return MCAP_EUNSUPPORTED;
  w = src->payload;
  if (offset > w->size || len > w->size - offset) {
    return mcap__err(err, MCAP_ETRUNCATED, offset,
                     "%s: %llu bytes at offset %llu go past the end of the file (%llu bytes)",
                     w->path, (unsigned long long)len, (unsigned long long)offset,
                     (unsigned long long)w->size);
  }
  /* Whole 2 MiB blocks around the range, so that large folios map with single entries. */
  start = offset & ~(WINDOW_ALIGN - 1);
  end = (offset + len + WINDOW_ALIGN - 1) & ~(WINDOW_ALIGN - 1);
  if (end > w->size) end = w->size;
  if (end - start > SIZE_MAX) {
    return mcap__err(err, MCAP_ELIMIT, offset, "%s: read too large", w->path);
  }
  m = mmap(NULL, (size_t)(end - start), PROT_READ, MAP_PRIVATE, w->fd, (off_t)start);
  if (m == MAP_FAILED) {
    return mcap__err(err, MCAP_EIO, offset, "%s: cannot map %llu bytes at offset %llu: %s",
                     w->path, (unsigned long long)(end - start), (unsigned long long)start,
                     strerror(errno));
  }
  advise_prefault(m, (size_t)(end - start), NULL, 0); /* the huge-page advice only */
  *base = m;
  *base_len = (size_t)(end - start);
  *view = m + (offset - start);
  return MCAP_OK;
}

void mcap__source_prefault(const void *p, size_t len) { prefault(p, len); }

void mcap__source_unmap(void *base, size_t len) {
  if (base) munmap(base, len);
}

int mcap__source_readahead(mcap_source *src) {
  struct win_source *w;
  struct win_ahead *a;
  if (!src || src->read != win_read) return MCAP_EUNSUPPORTED;
  w = src->payload;
  if (w->ahead) return MCAP_OK;
  if (w->size <= MAP_WINDOW) return MCAP_EUNSUPPORTED; /* one window holds it all */
  a = mcap__calloc(1, sizeof *a);
  if (!a) return MCAP_ENOMEM;
  pthread_mutex_init(&a->mu, NULL);
  pthread_cond_init(&a->cv, NULL);
  w->ahead = a;
  if (pthread_create(&a->thread, NULL, ahead_main, w) != 0) {
    ahead_stop(w);
    return MCAP_ENOMEM;
  }
  a->started = 1;
  return MCAP_OK;
}

int mcap_source_open_file(mcap_source *src, const char *path, mcap_error_info *err) {
  int fd, rc;
  uint64_t size;
  if (!src || !path) return MCAP_EINVAL;
  memset(src, 0, sizeof *src);
  rc = open_regular(path, &fd, &size, err);
  if (rc) return rc;
  rc = make_win_source(src, fd, size, path, err);
  if (rc != MCAP_EUNSUPPORTED) {
    if (rc) close(fd);
    return rc;
  }
#ifdef POSIX_FADV_SEQUENTIAL
  if (size != MCAP_SIZE_UNKNOWN) (void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
  return make_buf_source(src, fd, 1, size, path, err);
}

int mcap_source_from_fd(mcap_source *src, int fd, mcap_error_info *err) {
  struct stat st;
  uint64_t size = MCAP_SIZE_UNKNOWN;
  if (!src || fd < 0) return MCAP_EINVAL;
  memset(src, 0, sizeof *src);
  /* A regular file on stdin (mcapkit info - < file) is seekable: use its size. */
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && lseek(fd, 0, SEEK_CUR) == 0) {
    size = (uint64_t)st.st_size;
  }
  return make_buf_source(src, fd, 0, size, "<stdin>", err);
}

/* ------------------------------------------------------------------ mmap */

struct map_source {
  uint8_t *base;
  uint64_t size;
};

static int map_read(void *payload, uint64_t offset, uint64_t len, const uint8_t **out,
                    uint64_t *got, mcap_error_info *err) {
  struct map_source *m = payload;
  (void)err;
  if (offset >= m->size) {
    *out = NULL;
    *got = 0;
    return MCAP_OK;
  }
  *out = m->base + offset;
  *got = len < m->size - offset ? len : m->size - offset;
  return MCAP_OK;
}

static int map_read_at(void *payload, uint64_t offset, uint64_t len, uint8_t *dst,
                       mcap_error_info *err) {
  struct map_source *m = payload;
  if (offset > m->size || len > m->size - offset) {
    return mcap__err(err, MCAP_ETRUNCATED, offset,
                     "truncated: %llu bytes at offset %llu are past the end of the file",
                     (unsigned long long)len, (unsigned long long)offset);
  }
  if (len) memcpy(dst, m->base + offset, (size_t)len);
  return MCAP_OK;
}

static void map_close(void *payload) {
  struct map_source *m = payload;
  if (m->base) munmap(m->base, (size_t)m->size);
  mcap__free(m);
}

int mcap_source_open_mmap(mcap_source *src, const char *path, mcap_error_info *err) {
  int fd, rc;
  uint64_t size;
  void *base;
  struct map_source *m;
  if (!src || !path) return MCAP_EINVAL;
  memset(src, 0, sizeof *src);
  rc = open_regular(path, &fd, &size, err);
  if (rc) return rc;
  if (size == MCAP_SIZE_UNKNOWN || size == 0 || size > SIZE_MAX) {
    return make_buf_source(src, fd, 1, size, path, err);
  }
  base = mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE, fd, 0);
  if (base == MAP_FAILED) return make_buf_source(src, fd, 1, size, path, err);
  close(fd);
  m = mcap__calloc(1, sizeof *m);
  if (!m) {
    munmap(base, (size_t)size);
    return mcap__err(err, MCAP_ENOMEM, UINT64_MAX, "out of memory");
  }
  m->base = base;
  m->size = size;
  src->payload = m;
  src->size = size;
  src->read = map_read;
  src->close = map_close;
  src->read_at = map_read_at;
  return MCAP_OK;
}

void mcap_source_close(mcap_source *src) {
  if (!src) return;
  if (src->close) src->close(src->payload);
  memset(src, 0, sizeof *src);
}

int mcap__source_pull(mcap_source *src, struct mcap_buf *tmp, uint64_t off, uint64_t n,
                      const uint8_t **p, uint64_t *got, mcap_error_info *err) {
  const uint8_t *q;
  uint64_t have, g = 0;
  int rc = src->read(src->payload, off, n, &q, &g, err);
  if (rc) return rc;
  if (g >= n || g == 0) {
    *p = q;
    *got = g < n ? g : n;
    return MCAP_OK;
  }
  /* A source that hands out pieces: assemble them (bounded by n, which the caller checked). */
  if (n > SIZE_MAX) return MCAP_ELIMIT;
  tmp->len = 0;
  rc = mcap__buf_ensure(tmp, (size_t)n);
  if (rc) return mcap__err(err, rc, off, "cannot allocate %llu bytes", (unsigned long long)n);
  memcpy(tmp->data, q, (size_t)g);
  have = g;
  while (have < n) {
    rc = src->read(src->payload, off + have, n - have, &q, &g, err);
    if (rc) return rc;
    if (g == 0) break;
    if (g > n - have) g = n - have;
    memcpy(tmp->data + have, q, (size_t)g);
    have += g;
  }
  tmp->len = (size_t)have;
  *p = tmp->data;
  *got = have;
  return MCAP_OK;
}
