/*
 * agent_watch.c - discovery: inotify watches on every folder under the
 * watched ones (IN_CLOSE_WRITE, IN_MOVED_TO and IN_CREATE; a new subfolder
 * is watched and scanned at once), a full rescan every rescan_s (and after an
 * event queue overflow) for what inotify cannot see (network file systems, a
 * watch limit reached), and the candidates: files that match a pattern and
 * are not known yet. A candidate becomes an entry once it is finished and
 * has not changed for settle_s, or once it has stayed unfinished and
 * unchanged for stale_after_s.
 *
 * Finished means, by kind: MCAP - leading magic, a Footer record (opcode 2,
 * length 20, a summary start inside the file) and the trailing magic; ROS 1
 * bag - the header record's index_pos written (the recorder sets it when it
 * closes the bag); rosbag2 .db3 - the SQLite header and no -journal or -wal
 * file beside it. Hidden names (a leading '.') and the state folder are
 * never looked into; symbolic links are not followed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent_internal.h"
#include "mcap/mcap.h"
#include "pipeline/convert.h"

#define WATCH_MASK (IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_EXCL_UNLINK | IN_ONLYDIR)
#define MAX_DEPTH 32

/* ------------------------------------------------------------- finished */

static int pread_all(int fd, void *buf, size_t n, off_t off) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = pread(fd, (char *)buf + got, n - got, off + (off_t)got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return -1;
    got += (size_t)r;
  }
  return 0;
}

static uint64_t le64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}

static uint32_t le32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int mcap_finished(int fd, uint64_t size) {
  const uint64_t tail = MCAP_FOOTER_RECORD_SIZE + MCAP_MAGIC_SIZE;
  if (size < MCAP_MAGIC_SIZE + tail) return 0;
  uint8_t head[MCAP_MAGIC_SIZE], t[MCAP_FOOTER_RECORD_SIZE + MCAP_MAGIC_SIZE];
  if (pread_all(fd, head, sizeof head, 0) != 0) return -1;
  if (pread_all(fd, t, sizeof t, (off_t)(size - tail)) != 0) return -1;
  if (memcmp(head, MCAP_MAGIC, MCAP_MAGIC_SIZE) != 0) return 0;
  if (memcmp(t + MCAP_FOOTER_RECORD_SIZE, MCAP_MAGIC, MCAP_MAGIC_SIZE) != 0) return 0;
  if (t[0] != MCAP_OP_FOOTER || le64(t + 1) != 20) return 0;
  uint64_t summary_start = le64(t + 9);
  if (summary_start != 0 && summary_start >= size - tail) return 0;
  return 1;
}

/* The bag header record's index_pos: 0 while the recorder still writes. */
static int bag_finished(int fd, uint64_t size) {
  static const char magic[] = "#ROSBAG V2.0\n";
  uint8_t b[4096];
  size_t n = size < sizeof b ? (size_t)size : sizeof b;
  if (n < sizeof magic - 1 + 4) return 0;
  if (pread_all(fd, b, n, 0) != 0) return -1;
  if (memcmp(b, magic, sizeof magic - 1) != 0) return 0;
  size_t p = sizeof magic - 1;
  uint32_t hlen = le32(b + p);
  p += 4;
  if (hlen > n - p) return 0;
  size_t end = p + hlen;
  while (p + 4 <= end) {
    uint32_t flen = le32(b + p);
    p += 4;
    if (flen > end - p) return 0;
    const uint8_t *f = b + p;
    if (flen == 10 + 8 && memcmp(f, "index_pos=", 10) == 0) {
      uint64_t pos = le64(f + 10);
      return pos >= sizeof magic - 1 && pos < size ? 1 : 0;
    }
    p += flen;
  }
  return 0;
}

static int db3_finished(const char *path, int fd, uint64_t size) {
  static const char magic[16] = "SQLite format 3";
  uint8_t b[16];
  if (size < 100) return 0;
  if (pread_all(fd, b, sizeof b, 0) != 0) return -1;
  if (memcmp(b, magic, sizeof magic) != 0) return 0;
  const char *suffixes[] = {"-journal", "-wal"};
  for (size_t i = 0; i < 2; i++) {
    char *side = ag_printf("%s%s", path, suffixes[i]);
    struct stat sb;
    int exists = side && lstat(side, &sb) == 0;
    free(side);
    if (exists) return 0;
  }
  return 1;
}

int ag_file_finished(const char *path, int kind) {
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return -1;
  struct stat sb;
  int rc = -1;
  if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode)) {
    uint64_t size = (uint64_t)sb.st_size;
    if (kind == AG_KIND_BAG)
      rc = bag_finished(fd, size);
    else if (kind == AG_KIND_DB3)
      rc = db3_finished(path, fd, size);
    else
      rc = mcap_finished(fd, size);
  }
  close(fd);
  return rc;
}

static int ends_with(const char *s, const char *suffix) {
  size_t a = strlen(s), b = strlen(suffix);
  return a >= b && strcmp(s + a - b, suffix) == 0;
}

int ag_detect_kind(const struct pl_agent *a, const char *path) {
  if (!a->o.convert) return AG_KIND_MCAP;
  pl_convert_kind k = PL_CONVERT_KIND_UNKNOWN;
  if (pl_convert_detect(path, &k, NULL) == PL_CONVERT_OK) {
    if (k == PL_CONVERT_KIND_ROS1_BAG) return AG_KIND_BAG;
    if (k == PL_CONVERT_KIND_ROS2_DB3) return AG_KIND_DB3;
    if (k == PL_CONVERT_KIND_MCAP) return AG_KIND_MCAP;
  }
  /* too short to tell yet: by name */
  if (ends_with(path, ".bag")) return AG_KIND_BAG;
  if (ends_with(path, ".db3")) return AG_KIND_DB3;
  return AG_KIND_MCAP;
}

int ag_pattern_match(const struct pl_agent *a, const char *name) {
  if (a->o.n_patterns) {
    for (size_t i = 0; i < a->o.n_patterns; i++)
      if (fnmatch(a->o.patterns[i], name, 0) == 0) return 1;
    return 0;
  }
  if (fnmatch("*.mcap", name, 0) == 0) return 1;
  return a->o.convert && (fnmatch("*.bag", name, 0) == 0 || fnmatch("*.db3", name, 0) == 0);
}

/* ------------------------------------------------------------- candidates */

static struct ag_cand *cand_find(struct pl_agent *a, const char *path) {
  for (size_t i = 0; i < a->n_cands; i++)
    if (strcmp(a->cands[i].path, path) == 0) return &a->cands[i];
  return NULL;
}

static void cand_remove(struct pl_agent *a, size_t i) {
  pthread_mutex_lock(&a->mu);
  free(a->cands[i].path);
  a->cands[i] = a->cands[--a->n_cands];
  a->dirty = 1;
  pthread_mutex_unlock(&a->mu);
}

/* A file that matches a pattern was seen (event or scan). */
static void consider(struct pl_agent *a, const char *path) {
  struct ag_ident id;
  if (ag_ident_stat(path, &id) != 0) return;
  pthread_mutex_lock(&a->mu);
  struct ag_entry *e = ag_map_get(&a->by_path, path);
  int known = e && ag_ident_equal(&e->ident, &id);
  pthread_mutex_unlock(&a->mu);
  if (known) return;
  struct ag_cand *c = cand_find(a, path);
  if (c) {
    if (!ag_ident_equal(&c->ident, &id)) {
      c->ident = id;
      c->since = ag_mono_s();
      c->kind = ag_detect_kind(a, path);
      c->finished = ag_file_finished(path, c->kind) == 1;
      a->dirty = 1;
    }
    return;
  }
  struct ag_cand nc;
  memset(&nc, 0, sizeof nc);
  nc.path = ag_strdup(path);
  if (!nc.path) return;
  nc.ident = id;
  nc.since = ag_mono_s();
  nc.kind = ag_detect_kind(a, path);
  nc.finished = ag_file_finished(path, nc.kind) == 1;
  struct stat sb;
  if (nc.finished && lstat(path, &sb) == 0) {
    /* a finished file whose inode has not changed (ctime: no write, no utimes) for the
     * settle time already, as found by the first scan after a restart, is not waited for
     * again; an unfinished one still waits the whole stale time (clock jumps) */
    double age = ((double)ag_wall_ns() - ((double)sb.st_ctim.tv_sec * 1e9 + (double)sb.st_ctim.tv_nsec)) / 1e9;
    if (age > 0) nc.since -= age < a->o.settle_s ? age : a->o.settle_s;
  }
  pthread_mutex_lock(&a->mu);
  if (ag_grow((void **)&a->cands, &a->cap_cands, a->n_cands + 1, sizeof *a->cands) != 0) {
    pthread_mutex_unlock(&a->mu);
    free(nc.path);
    return;
  }
  a->cands[a->n_cands++] = nc;
  a->dirty = 1;
  pthread_mutex_unlock(&a->mu);
  ag_event_path(a, "seen", path, id.size, "%s %s", ag_kind_name(nc.kind),
                nc.finished ? "finished, settling" : "being written");
}

void ag_watch_tick(struct pl_agent *a) {
  double now = ag_mono_s();
  for (size_t i = 0; i < a->n_cands;) {
    struct ag_cand *c = &a->cands[i];
    struct ag_ident id;
    if (ag_ident_stat(c->path, &id) != 0) {
      cand_remove(a, i); /* moved away or deleted before it was finished */
      continue;
    }
    if (!ag_ident_equal(&id, &c->ident)) {
      c->ident = id;
      c->since = now;
      c->kind = ag_detect_kind(a, c->path);
      c->finished = ag_file_finished(c->path, c->kind) == 1;
      a->dirty = 1;
      i++;
      continue;
    }
    int stale = 0;
    if (c->finished && now - c->since >= a->o.settle_s) {
      /* unchanged all along: check the end once more (a rewrite in place keeps size and mtime
       * only by accident, but the check is cheap) */
      if (ag_file_finished(c->path, c->kind) != 1) {
        c->finished = 0;
        c->since = now;
        i++;
        continue;
      }
    } else if (!c->finished && now - c->since >= a->o.stale_after_s) {
      stale = 1;
    } else {
      i++;
      continue;
    }
    struct ag_entry *e = ag_entry_add(a, c->path, &c->ident, c->kind, stale);
    if (!e) {
      i++; /* out of memory or journal: try again next tick */
      continue;
    }
    cand_remove(a, i);
  }
}

/* ------------------------------------------------------------- watches */

static void watch_add(struct pl_agent *a, const char *dir) {
  if (a->inotify_fd < 0) return;
  int wd = inotify_add_watch(a->inotify_fd, dir, WATCH_MASK);
  if (wd < 0) {
    static const char *const why_limit = "the inotify watch limit is reached";
    ag_event_path(a, "warning", dir, 0, "cannot watch the folder (%s); rescans will find its files",
                  errno == ENOSPC ? why_limit : strerror(errno));
    return;
  }
  for (size_t i = 0; i < a->n_watches; i++)
    if (a->watches[i].wd == wd) {
      if (strcmp(a->watches[i].path, dir) != 0) {
        char *p = ag_strdup(dir);
        if (p) {
          free(a->watches[i].path);
          a->watches[i].path = p;
        }
      }
      return;
    }
  char *p = ag_strdup(dir);
  if (!p || ag_grow((void **)&a->watches, &a->cap_watches, a->n_watches + 1,
                    sizeof *a->watches) != 0) {
    free(p);
    inotify_rm_watch(a->inotify_fd, wd);
    return;
  }
  a->watches[a->n_watches].wd = wd;
  a->watches[a->n_watches].path = p;
  a->n_watches++;
}

static const char *watch_path(const struct pl_agent *a, int wd) {
  for (size_t i = 0; i < a->n_watches; i++)
    if (a->watches[i].wd == wd) return a->watches[i].path;
  return NULL;
}

static void watch_forget(struct pl_agent *a, int wd) {
  for (size_t i = 0; i < a->n_watches; i++)
    if (a->watches[i].wd == wd) {
      free(a->watches[i].path);
      a->watches[i] = a->watches[--a->n_watches];
      return;
    }
}

static int is_state_dir(const struct pl_agent *a, const struct stat *sb) {
  return (uint64_t)sb->st_dev == a->state_dev && (uint64_t)sb->st_ino == a->state_ino;
}

/* Watch `dir` and everything below it; consider the files that match. */
static void scan_dir(struct pl_agent *a, const char *dir, int depth) {
  if (depth > MAX_DEPTH) return;
  watch_add(a, dir);
  DIR *d = opendir(dir);
  if (!d) return;
  struct dirent *de;
  while ((de = readdir(d)) != NULL) {
    if (de->d_name[0] == '.') continue; /* ".", "..", hidden files, .mcapkit */
    char *path = ag_printf("%s/%s", dir, de->d_name);
    if (!path) break;
    struct stat sb;
    if (lstat(path, &sb) == 0) {
      if (S_ISDIR(sb.st_mode) && !is_state_dir(a, &sb))
        scan_dir(a, path, depth + 1);
      else if (S_ISREG(sb.st_mode) && ag_pattern_match(a, de->d_name))
        consider(a, path);
    }
    free(path);
  }
  closedir(d);
}

void ag_watch_rescan(struct pl_agent *a) {
  a->rescan_now = 0;
  for (size_t i = 0; i < a->o.n_watch; i++) scan_dir(a, a->o.watch[i], 0);
}

int ag_watch_start(struct pl_agent *a) {
  a->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (a->inotify_fd < 0)
    ag_event_path(a, "warning", NULL, 0, "inotify is not available (%s): only rescans find files",
                  strerror(errno));
  ag_watch_rescan(a);
  return PL_AGENT_OK;
}

void ag_watch_stop(struct pl_agent *a) {
  if (a->inotify_fd >= 0) close(a->inotify_fd);
  a->inotify_fd = -1;
  for (size_t i = 0; i < a->n_watches; i++) free(a->watches[i].path);
  free(a->watches);
  a->watches = NULL;
  a->n_watches = a->cap_watches = 0;
}

void ag_watch_drain(struct pl_agent *a) {
  if (a->inotify_fd < 0) return;
  _Alignas(struct inotify_event) char buf[16384];
  for (;;) {
    ssize_t n = read(a->inotify_fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    for (char *p = buf; p < buf + n;) {
      const struct inotify_event *ev = (const struct inotify_event *)p;
      p += sizeof *ev + ev->len;
      if (ev->mask & IN_Q_OVERFLOW) {
        a->rescan_now = 1;
        continue;
      }
      if (ev->mask & IN_IGNORED) {
        watch_forget(a, ev->wd);
        continue;
      }
      const char *dir = watch_path(a, ev->wd);
      if (!dir || ev->len == 0 || ev->name[0] == '.') continue;
      char *path = ag_printf("%s/%s", dir, ev->name);
      if (!path) continue;
      if (ev->mask & IN_ISDIR) {
        struct stat sb;
        if ((ev->mask & (IN_CREATE | IN_MOVED_TO)) && lstat(path, &sb) == 0 &&
            S_ISDIR(sb.st_mode) && !is_state_dir(a, &sb))
          scan_dir(a, path, 1); /* depth is approximate for folders added later */
      } else if (ag_pattern_match(a, ev->name)) {
        consider(a, path);
      }
      free(path);
    }
  }
}
