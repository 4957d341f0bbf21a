/*
 * sink.c - the built-in mcap_sink outputs: an atomic file (an unnamed or hidden
 * temporary file beside the target + fsync + rename on commit), a file
 * descriptor, and a capped memory buffer.
 *
 * File and fd sinks buffer small writes (1 MiB) and pass large ones straight
 * to write(2); write_all() copes with short writes, EINTR and non-blocking
 * descriptors. A sink whose write failed stays failed: later writes and a
 * commit return the error again instead of producing a file with a hole.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

#define SINK_BUF_SIZE ((size_t)1 << 20)
/* Largest single write(2); Linux caps a write at just under 2 GiB anyway. */
#define MAX_WRITE ((size_t)1 << 30)

/* Thread-safe errno text (GNU and XSI strerror_r differ in return type). */
static const char *errtext(int e, char *buf, size_t cap) {
#if defined(__GLIBC__) && defined(_GNU_SOURCE)
  return strerror_r(e, buf, cap);
#else
  if (strerror_r(e, buf, cap) != 0) snprintf(buf, cap, "error %d", e);
  return buf;
#endif
}

static char *dup_str(const char *s) {
  size_t n = strlen(s) + 1;
  char *p = mcap__malloc(n);
  if (p) memcpy(p, s, n);
  return p;
}

/* ------------------------------------------------ buffered descriptor output */

struct out {
  int fd;        /* -1 once closed */
  uint8_t *buf;  /* SINK_BUF_SIZE bytes */
  size_t len;    /* bytes waiting in buf */
  uint64_t pos;  /* bytes accepted so far (file offset of the next byte) */
  int error;     /* first failure (an mcap_error), kept so later calls fail too */
  int saved_errno;
  const char *name; /* what messages call the output */
  int writeback;    /* start writeback as data arrives (regular files only) */
  uint64_t base;    /* file offset of the first byte written through the sink */
  uint64_t kicked;  /* bytes already handed to writeback */
};

/*
 * Bytes between writeback kicks. A commit fsyncs the whole file; started early,
 * the disk writes run while the writer still computes instead of all at once at
 * the end (a 600 MB rewrite spent a fifth of its time in that final fsync).
 */
#define WRITEBACK_STEP ((uint64_t)8 << 20)

/* Ask the kernel to start writing what has reached the file; never waits. */
static void out_kick(struct out *o) {
#if defined(__linux__) && defined(SYNC_FILE_RANGE_WRITE)
  uint64_t written = o->pos - o->len;
  if (!o->writeback || written - o->kicked < WRITEBACK_STEP) return;
  /* Advisory: a failure here only means the final fsync does all the work. */
  (void)sync_file_range(o->fd, (off_t)(o->base + o->kicked), (off_t)(written - o->kicked),
                        SYNC_FILE_RANGE_WRITE);
  o->kicked = written;
#else
  (void)o;
#endif
}

/* Write all n bytes; returns 0 or an errno value. */
static int write_all(int fd, const uint8_t *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n > MAX_WRITE ? MAX_WRITE : n);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        /* A non-blocking descriptor: wait until it takes more. */
        struct pollfd pfd = {.fd = fd, .events = POLLOUT};
        if (poll(&pfd, 1, -1) < 0 && errno != EINTR) return errno;
        continue;
      }
      return errno;
    }
    if (w == 0) return EIO; /* write(2) never returns 0 for n > 0; do not spin */
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

static int out_fail(struct out *o, int e, mcap_error_info *err) {
  char tmp[128];
  o->error = MCAP_EIO;
  o->saved_errno = e;
  return mcap__err(err, MCAP_EIO, o->pos, "writing %s: %s", o->name, errtext(e, tmp, sizeof tmp));
}

/* Report an earlier failure again. */
static int out_failed(const struct out *o, mcap_error_info *err) {
  char tmp[128];
  return mcap__err(err, o->error, o->pos, "writing %s: an earlier write failed: %s", o->name,
                   errtext(o->saved_errno, tmp, sizeof tmp));
}

static int out_flush(struct out *o, mcap_error_info *err) {
  if (o->error) return out_failed(o, err);
  if (o->len == 0) return MCAP_OK;
  int e = write_all(o->fd, o->buf, o->len);
  if (e) {
    o->pos -= o->len; /* the buffered bytes are not in the file */
    o->len = 0;
    return out_fail(o, e, err);
  }
  o->len = 0;
  out_kick(o);
  return MCAP_OK;
}

static int out_write(struct out *o, const void *data, size_t n, mcap_error_info *err) {
  if (o->error) return out_failed(o, err);
  if (n == 0) return MCAP_OK;
  if (!data) return mcap__err(err, MCAP_EINVAL, o->pos, "writing %s: NULL data", o->name);
  if (o->len + n > SINK_BUF_SIZE) {
    int rc = out_flush(o, err);
    if (rc) return rc;
  }
  if (n >= SINK_BUF_SIZE) {
    /* Large writes skip the buffer (it is empty here). */
    int e = write_all(o->fd, data, n);
    if (e) return out_fail(o, e, err);
    o->pos += n;
    out_kick(o);
    return MCAP_OK;
  } else {
    memcpy(o->buf + o->len, data, n);
    o->len += n;
  }
  o->pos += n;
  return MCAP_OK;
}

/* ------------------------------------------------------- atomic file sink */

struct file_sink {
  struct out o;
  char *path;     /* the target */
  char *dir;      /* its directory, to fsync after the rename */
  char *tmp_path; /* the temporary file's name ("...XXXXXX" until it has one); NULL once renamed */
  int named;      /* tmp_path exists (an unnamed file gets it just before the rename) */
  char proc[32];  /* "/proc/self/fd/N" of an unnamed file: where mcap_sink_sync's reader looks */
  char *label;    /* "'path'" for messages */
  int committed;
  int direct;     /* the target is not a regular file (a device, a FIFO): written where it is */
};

/*
 * An unnamed file in dir (O_TMPFILE), linked in through /proc at the commit: a process
 * killed before then (Ctrl-C, SIGKILL, a crash) leaves nothing behind, where a named
 * temporary file stayed as ".NAME.tmp-XXXXXX". -1 where the kernel, the file system or a
 * missing /proc do not allow it (then a named temporary file is used).
 */
static int open_unnamed(const char *dir) {
#ifdef O_TMPFILE
  char proc[64];
  int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0) return -1;
  snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
  if (access(proc, F_OK) != 0) {
    close(fd);
    return -1;
  }
  return fd;
#else
  (void)dir;
  return -1;
#endif
}

/* Give an unnamed file a name from `tmpl` (its "XXXXXX" replaced); 0 or an errno. A unique
 * name is reserved with mkostemp and given up just before the link takes it. */
static int link_unnamed(int fd, char *tmpl) {
  char proc[64];
  size_t n = strlen(tmpl);
  if (n < 6) return EINVAL;
  snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
  for (int attempt = 0; attempt < 8; attempt++) {
    int p;
    memcpy(tmpl + n - 6, "XXXXXX", 6);
    p = mkostemp(tmpl, O_CLOEXEC);
    if (p < 0) return errno;
    close(p);
    unlink(tmpl);
    if (linkat(AT_FDCWD, proc, AT_FDCWD, tmpl, AT_SYMLINK_FOLLOW) == 0) return 0;
    if (errno != EEXIST) return errno; /* EEXIST: taken in between, try another name */
  }
  return EEXIST;
}

static void file_sink_free(struct file_sink *f) {
  mcap__free(f->o.buf);
  mcap__free(f->path);
  mcap__free(f->dir);
  mcap__free(f->tmp_path);
  mcap__free(f->label);
  mcap__free(f);
}

static int file_write(void *payload, const void *buf, size_t len, mcap_error_info *err) {
  struct file_sink *f = payload;
  if (f->committed) {
    return mcap__err(err, MCAP_ESTATE, f->o.pos, "writing '%s': the file is already committed",
                     f->path);
  }
  return out_write(&f->o, buf, len, err);
}

/* Without a commit this discards: the temporary file goes, the target stays as it was. */
static int file_close(void *payload, mcap_error_info *err) {
  struct file_sink *f = payload;
  (void)err;
  if (f->o.fd >= 0) close(f->o.fd);
  if (f->tmp_path && f->named) unlink(f->tmp_path);
  file_sink_free(f);
  return MCAP_OK;
}

/*
 * The process umask, read without changing it (umask(2) can only be read by
 * setting it, which races with other threads). Linux has it in /proc.
 */
static mode_t current_umask(void) {
  mode_t mask = 022;
  char text[2048];
  int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return mask;
  ssize_t n = read(fd, text, sizeof text - 1);
  close(fd);
  if (n <= 0) return mask;
  text[n] = '\0';
  const char *line = strstr(text, "\nUmask:");
  if (line) {
    char *end = NULL;
    unsigned long v = strtoul(line + 7, &end, 8);
    if (end != line + 7 && v <= 0777) mask = (mode_t)v;
  }
  return mask;
}

int mcap_sink_open_file(mcap_sink *sink, const char *path, mcap_error_info *err) {
  struct file_sink *f;
  const char *slash, *base;
  size_t dir_len, n;
  char tmp[128];

  if (sink) memset(sink, 0, sizeof *sink);
  if (!sink || !path || !*path) {
    return mcap__err(err, MCAP_EINVAL, UINT64_MAX, "mcap_sink_open_file: no path");
  }
  slash = strrchr(path, '/');
  base = slash ? slash + 1 : path;
  if (!*base || strcmp(base, ".") == 0 || strcmp(base, "..") == 0) {
    return mcap__err(err, MCAP_EINVAL, UINT64_MAX, "'%s' is not a file name", path);
  }
  f = mcap__calloc(1, sizeof *f);
  if (!f) goto nomem;
  f->o.fd = -1;
  f->path = dup_str(path);
  /* "dir/.name.tmp-XXXXXX" beside the target, so rename() stays on one filesystem. */
  dir_len = slash ? (size_t)(slash - path) : 0;
  f->dir = mcap__malloc(dir_len + 2);
  n = strlen(path) + 16;
  f->tmp_path = mcap__malloc(n);
  f->label = mcap__malloc(strlen(path) + 3);
  f->o.buf = mcap__malloc(SINK_BUF_SIZE);
  if (!f->path || !f->dir || !f->tmp_path || !f->label || !f->o.buf) goto nomem;
  if (!slash) {
    memcpy(f->dir, ".", 2);
  } else if (dir_len == 0) {
    memcpy(f->dir, "/", 2);
  } else {
    memcpy(f->dir, path, dir_len);
    f->dir[dir_len] = '\0';
  }
  snprintf(f->tmp_path, n, "%.*s.%s.tmp-XXXXXX", (int)(slash ? dir_len + 1 : 0), path, base);
  snprintf(f->label, strlen(path) + 3, "'%s'", path);
  f->o.name = f->label;

  /* A target that exists and is not a regular file (a device such as /dev/null, a FIFO, a
   * socket) is written where it is, as a shell redirection would: a temporary file renamed
   * over it would replace it (as root, `-o /dev/null` left a regular file there). */
  {
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
      /* refused now, not by the rename after all the work */
      file_sink_free(f);
      return mcap__err(err, MCAP_EINVAL, UINT64_MAX, "'%s' is a directory", path);
    }
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
      mcap__free(f->tmp_path);
      f->tmp_path = NULL; /* nothing to name, rename or unlink */
      f->direct = 1;
      f->o.fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
      if (f->o.fd < 0) {
        int e = errno;
        file_sink_free(f);
        return mcap__err(err, MCAP_EIO, UINT64_MAX, "cannot open '%s' for writing: %s", path,
                         errtext(e, tmp, sizeof tmp));
      }
      sink->payload = f;
      sink->write = file_write;
      sink->close = file_close;
      return MCAP_OK;
    }
  }
  f->o.writeback = 1;
  f->o.fd = open_unnamed(f->dir);
  if (f->o.fd >= 0) {
    snprintf(f->proc, sizeof f->proc, "/proc/self/fd/%d", f->o.fd);
  } else {
    f->o.fd = mkostemp(f->tmp_path, O_CLOEXEC);
    f->named = f->o.fd >= 0;
  }
  if (f->o.fd < 0) {
    int e = errno;
    mcap__free(f->tmp_path);
    f->tmp_path = NULL; /* nothing to unlink */
    file_sink_free(f);
    return mcap__err(err, MCAP_EIO, UINT64_MAX, "cannot create a temporary file beside '%s': %s",
                     path, errtext(e, tmp, sizeof tmp));
  }
  /* Both kinds start as 0600: give the result the mode of the file it replaces, or the one
   * a plain open() would. */
  {
    struct stat st;
    mode_t mode = (mode_t)(0666 & ~current_umask());
    if (lstat(path, &st) == 0 && S_ISREG(st.st_mode)) mode = st.st_mode & 07777;
    (void)fchmod(f->o.fd, mode);
  }

  sink->payload = f;
  sink->write = file_write;
  sink->close = file_close;
  return MCAP_OK;

nomem:
  if (f) file_sink_free(f);
  return mcap__err(err, MCAP_ENOMEM, UINT64_MAX, "out of memory opening '%s'", path);
}

/* *out: the file sink of a sink not yet committed; else an error. */
static int uncommitted(mcap_sink *sink, const char *what, struct file_sink **out,
                       mcap_error_info *err) {
  struct file_sink *f;
  if (!sink || !sink->payload) return mcap__err(err, MCAP_EINVAL, UINT64_MAX, "%s: no sink", what);
  if (sink->close != file_close) {
    return mcap__err(err, MCAP_EUNSUPPORTED, UINT64_MAX, "%s: only file sinks can be committed",
                     what);
  }
  f = sink->payload;
  if (f->committed) {
    return mcap__err(err, MCAP_ESTATE, UINT64_MAX, "'%s' is already committed", f->path);
  }
  *out = f;
  return MCAP_OK;
}

static int flush_sync(struct file_sink *f, mcap_error_info *err) {
  char tmp[128];
  int rc = out_flush(&f->o, err);
  if (rc) return rc;
  if (f->direct) return MCAP_OK; /* a device or a FIFO: nothing to make durable here */
  if (fsync(f->o.fd) != 0) {
    int e = errno;
    return mcap__err(err, MCAP_EIO, f->o.pos, "syncing '%s': %s", f->path,
                     errtext(e, tmp, sizeof tmp));
  }
  return MCAP_OK;
}

int mcap_sink_sync(mcap_sink *sink, const char **path, mcap_error_info *err) {
  struct file_sink *f = NULL;
  int rc = uncommitted(sink, "mcap_sink_sync", &f, err);
  if (rc) return rc;
  rc = flush_sync(f, err);
  if (rc) return rc;
  if (path) *path = f->direct ? NULL : f->named ? f->tmp_path : f->proc;
  return MCAP_OK;
}

/* Close the file's descriptor; close() can report delayed write errors (NFS), so it is
 * checked before anything is published. */
static int close_checked(struct file_sink *f, mcap_error_info *err) {
  char tmp[128];
  int rc = close(f->o.fd);
  f->o.fd = -1;
  if (rc != 0 && errno != EINTR) {
    int e = errno;
    f->o.error = MCAP_EIO;
    f->o.saved_errno = e;
    return mcap__err(err, MCAP_EIO, f->o.pos, "closing '%s': %s", f->path,
                     errtext(e, tmp, sizeof tmp));
  }
  return MCAP_OK;
}

int mcap_sink_commit(mcap_sink *sink, mcap_error_info *err) {
  struct file_sink *f = NULL;
  char tmp[128];
  int rc, dfd;

  if ((rc = uncommitted(sink, "mcap_sink_commit", &f, err))) return rc;
  if ((rc = flush_sync(f, err))) return rc;
  if (f->direct) {
    f->committed = 1;
    return close_checked(f, err);
  }
  if (!f->named) {
    int e = link_unnamed(f->o.fd, f->tmp_path);
    if (e) {
      return mcap__err(err, MCAP_EIO, UINT64_MAX, "naming the temporary file beside '%s': %s",
                       f->path, errtext(e, tmp, sizeof tmp));
    }
    f->named = 1;
  }
  if ((rc = close_checked(f, err))) return rc;
  if (rename(f->tmp_path, f->path) != 0) {
    int e = errno;
    return mcap__err(err, MCAP_EIO, UINT64_MAX, "renaming '%s' to '%s': %s", f->tmp_path,
                     f->path, errtext(e, tmp, sizeof tmp));
  }
  mcap__free(f->tmp_path);
  f->tmp_path = NULL;
  f->committed = 1;
  /* Make the rename itself durable. */
  dfd = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) {
    int e = errno;
    return mcap__err(err, MCAP_EIO, UINT64_MAX, "opening directory '%s' to sync it: %s", f->dir,
                     errtext(e, tmp, sizeof tmp));
  }
  rc = fsync(dfd);
  if (rc != 0 && errno != EINVAL && errno != EROFS) {
    /* EINVAL/EROFS: the filesystem cannot sync directories; nothing more to do. */
    int e = errno;
    close(dfd);
    return mcap__err(err, MCAP_EIO, UINT64_MAX, "syncing directory '%s': %s", f->dir,
                     errtext(e, tmp, sizeof tmp));
  }
  close(dfd);
  return MCAP_OK;
}

/* ---------------------------------------------------------------- fd sink */

struct fd_sink {
  struct out o;
  char label[32]; /* "fd N" */
};

static int fd_write(void *payload, const void *buf, size_t len, mcap_error_info *err) {
  struct fd_sink *s = payload;
  return out_write(&s->o, buf, len, err);
}

/* Flushes; never closes the descriptor (it belongs to the caller). */
static int fd_close(void *payload, mcap_error_info *err) {
  struct fd_sink *s = payload;
  int rc = out_flush(&s->o, err); /* repeats an earlier write error, if any */
  mcap__free(s->o.buf);
  mcap__free(s);
  return rc;
}

int mcap_sink_from_fd(mcap_sink *sink, int fd, mcap_error_info *err) {
  struct fd_sink *s;
  if (sink) memset(sink, 0, sizeof *sink);
  if (!sink || fd < 0) {
    return mcap__err(err, MCAP_EINVAL, UINT64_MAX, "mcap_sink_from_fd: bad file descriptor %d",
                     fd);
  }
  s = mcap__calloc(1, sizeof *s);
  if (s) s->o.buf = mcap__malloc(SINK_BUF_SIZE);
  if (!s || !s->o.buf) {
    mcap__free(s);
    return mcap__err(err, MCAP_ENOMEM, UINT64_MAX, "out of memory opening a sink on fd %d", fd);
  }
  s->o.fd = fd;
  {
    /* A regular file gets the same early writeback as the atomic file sink (a caller
     * writing its own temporary file fsyncs it too); pipes and terminals do not. */
    struct stat st;
    off_t at = lseek(fd, 0, SEEK_CUR);
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && at >= 0) {
      s->o.writeback = 1;
      s->o.base = (uint64_t)at;
    }
  }
  snprintf(s->label, sizeof s->label, "fd %d", fd);
  s->o.name = s->label;
  sink->payload = s;
  sink->write = fd_write;
  sink->close = fd_close;
  return MCAP_OK;
}

/* ------------------------------------------------------------ memory sink */

struct mem_sink {
  struct mcap_buf b;
  uint64_t max; /* 0 = none */
};

static int mem_write(void *payload, const void *buf, size_t len, mcap_error_info *err) {
  struct mem_sink *m = payload;
  int rc;
  if (len == 0) return MCAP_OK;
  if (!buf) return mcap__err(err, MCAP_EINVAL, m->b.len, "writing to memory: NULL data");
  if (m->max && (len > m->max || m->b.len > m->max - len)) {
    return mcap__err(err, MCAP_ELIMIT, m->b.len,
                     "memory sink limit of %llu bytes exceeded (%zu bytes held, %zu more)",
                     (unsigned long long)m->max, m->b.len, len);
  }
  rc = mcap__buf_append(&m->b, buf, len);
  if (rc == MCAP_ELIMIT) {
    return mcap__err(err, rc, m->b.len, "memory sink cannot hold %zu more bytes", len);
  }
  if (rc) {
    return mcap__err(err, rc, m->b.len, "out of memory growing a memory sink of %zu bytes",
                     m->b.len);
  }
  return MCAP_OK;
}

static int mem_close(void *payload, mcap_error_info *err) {
  struct mem_sink *m = payload;
  (void)err;
  mcap__buf_dispose(&m->b);
  mcap__free(m);
  return MCAP_OK;
}

int mcap_sink_memory(mcap_sink *sink, uint64_t max_size) {
  struct mem_sink *m;
  if (!sink) return MCAP_EINVAL;
  memset(sink, 0, sizeof *sink);
  m = mcap__calloc(1, sizeof *m);
  if (!m) return MCAP_ENOMEM;
  m->max = max_size;
  /* The buffer's own hard maximum as well, so it never over-allocates past the cap. */
  m->b.max = (max_size == 0 || max_size > SIZE_MAX) ? 0 : (size_t)max_size;
  sink->payload = m;
  sink->write = mem_write;
  sink->close = mem_close;
  return MCAP_OK;
}

const uint8_t *mcap_sink_memory_data(const mcap_sink *sink, uint64_t *size) {
  const struct mem_sink *m;
  if (!sink || sink->write != mem_write || !sink->payload) {
    if (size) *size = 0;
    return NULL;
  }
  m = sink->payload;
  if (size) *size = m->b.len;
  return m->b.data;
}

/* ------------------------------------------------------------------ close */

int mcap_sink_close(mcap_sink *sink, mcap_error_info *err) {
  int rc = MCAP_OK;
  if (!sink) return MCAP_OK;
  if (sink->close) rc = sink->close(sink->payload, err);
  memset(sink, 0, sizeof *sink);
  return rc;
}
