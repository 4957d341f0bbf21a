/*
 * agent_util.c - small helpers of pl_agent: clocks, strings, growable arrays,
 * the handle's error message, directory fsync and removal, free space, the
 * string map, state and kind names, file identity, and event emission.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "agent_internal.h"

static const char *const k_states[AG_N_STATES] = {
    "writing",  "settling", "queued",  "preparing", "prepared", "uploading", "waiting for import",
    "verified", "deleted",  "failed",  "refused",   "differs",  "gone",      "paused"};

const char *ag_state_name(int state) {
  return state >= 0 && state < AG_N_STATES ? k_states[state] : "?";
}

int ag_state_parse(const char *s) {
  for (int i = 0; i < AG_N_STATES; i++)
    if (strcmp(s, k_states[i]) == 0) return i;
  return -1;
}

int ag_state_terminal(int state) {
  return state == AG_VERIFIED || state == AG_DELETED || state == AG_REFUSED ||
         state == AG_DIFFERS || state == AG_GONE;
}

static const char *const k_kinds[] = {"mcap", "bag", "db3"};

const char *ag_kind_name(int kind) {
  return kind >= 0 && kind <= AG_KIND_DB3 ? k_kinds[kind] : "?";
}

int ag_kind_parse(const char *s) {
  for (int i = 0; i <= AG_KIND_DB3; i++)
    if (strcmp(s, k_kinds[i]) == 0) return i;
  return -1;
}

const char *pl_agent_strerror(int code) {
  switch (code) {
    case PL_AGENT_OK:
      return "ok";
    case PL_AGENT_EINVAL:
      return "invalid argument";
    case PL_AGENT_ENOMEM:
      return "out of memory";
    case PL_AGENT_EIO:
      return "input/output error";
    case PL_AGENT_ELOCKED:
      return "state folder in use by another agent";
    case PL_AGENT_EJOURNAL:
      return "state journal error";
    case PL_AGENT_ESTATE:
      return "invalid call in this state";
  }
  return "unknown error";
}

double ag_mono_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

uint64_t ag_wall_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

char *ag_strdup(const char *s) {
  if (!s) return NULL;
  size_t n = strlen(s) + 1;
  char *d = malloc(n);
  if (d) memcpy(d, s, n);
  return d;
}

char *ag_printf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0) return NULL;
  char *s = malloc((size_t)n + 1);
  if (!s) return NULL;
  va_start(ap, fmt);
  vsnprintf(s, (size_t)n + 1, fmt, ap);
  va_end(ap);
  return s;
}

int ag_grow(void **arr, size_t *cap, size_t need, size_t elem) {
  if (need <= *cap) return 0;
  size_t c = *cap ? *cap : 8;
  while (c < need) {
    if (c > SIZE_MAX / 2 / elem) return -1;
    c *= 2;
  }
  void *p = realloc(*arr, c * elem);
  if (!p) return -1;
  *arr = p;
  *cap = c;
  return 0;
}

int ag_fail(struct pl_agent *a, int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(a->errmsg, sizeof a->errmsg, fmt, ap);
  va_end(ap);
  return code;
}

int ag_fsync_dir(const char *dir) {
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return -1;
  int rc = fsync(fd);
  close(fd);
  return rc;
}

int ag_fsync_parent(const char *path) {
  const char *slash = strrchr(path, '/');
  if (!slash) return ag_fsync_dir(".");
  if (slash == path) return ag_fsync_dir("/");
  char *dir = malloc((size_t)(slash - path) + 1);
  if (!dir) return -1;
  memcpy(dir, path, (size_t)(slash - path));
  dir[slash - path] = 0;
  int rc = ag_fsync_dir(dir);
  free(dir);
  return rc;
}

int ag_mkdir_p(const char *dir, mode_t mode) {
  char *p = ag_strdup(dir);
  if (!p) {
    errno = ENOMEM;
    return -1;
  }
  for (char *s = p + 1; *s; s++) {
    if (*s != '/') continue;
    *s = 0;
    if (mkdir(p, mode) != 0 && errno != EEXIST) {
      free(p);
      return -1;
    }
    *s = '/';
  }
  int rc = mkdir(p, mode) != 0 && errno != EEXIST ? -1 : 0;
  free(p);
  return rc;
}

/* Remove a folder of plain files (the work folders: one level, no links followed). */
int ag_rmtree(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return errno == ENOENT ? 0 : -1;
  struct dirent *de;
  int rc = 0;
  while ((de = readdir(d)) != NULL) {
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
    if (unlinkat(dirfd(d), de->d_name, 0) != 0 && errno != ENOENT) {
      if (errno == EISDIR || errno == EPERM) {
        char *sub = ag_printf("%s/%s", dir, de->d_name);
        if (!sub || ag_rmtree(sub) != 0) rc = -1;
        free(sub);
      } else {
        rc = -1;
      }
    }
  }
  closedir(d);
  if (rmdir(dir) != 0 && errno != ENOENT) rc = -1;
  return rc;
}

uint64_t ag_free_bytes(const char *path) {
  struct statvfs sv;
  if (statvfs(path, &sv) != 0) return UINT64_MAX;
  return (uint64_t)sv.f_bavail * (uint64_t)sv.f_frsize;
}

int ag_ident_equal(const struct ag_ident *a, const struct ag_ident *b) {
  return a->dev == b->dev && a->ino == b->ino && a->size == b->size && a->mtime_ns == b->mtime_ns;
}

int ag_ident_stat(const char *path, struct ag_ident *out) {
  struct stat sb;
  if (lstat(path, &sb) != 0) return -1;
  if (!S_ISREG(sb.st_mode)) {
    errno = EINVAL;
    return -1;
  }
  out->dev = (uint64_t)sb.st_dev;
  out->ino = (uint64_t)sb.st_ino;
  out->size = (uint64_t)sb.st_size;
  out->mtime_ns = (int64_t)sb.st_mtim.tv_sec * 1000000000 + sb.st_mtim.tv_nsec;
  return 0;
}

void ag_entry_free(struct ag_entry *e) {
  if (!e) return;
  free(e->path);
  free(e->copy);
  free(e->key);
  free(e->recording_id);
  free(e->reason);
  free(e);
}

/* ------------------------------------------------------------------ map */

static uint64_t hash_str(const char *s) {
  uint64_t h = 1469598103934665603ull; /* FNV-1a */
  for (; *s; s++) {
    h ^= (unsigned char)*s;
    h *= 1099511628211ull;
  }
  return h;
}

static int map_resize(struct ag_map *m, size_t cap) {
  const char **keys = calloc(cap, sizeof *keys);
  void **vals = calloc(cap, sizeof *vals);
  if (!keys || !vals) {
    free(keys);
    free(vals);
    return -1;
  }
  for (size_t i = 0; i < m->cap; i++) {
    if (!m->keys[i]) continue;
    size_t j = (size_t)(hash_str(m->keys[i]) & (cap - 1));
    while (keys[j]) j = (j + 1) & (cap - 1);
    keys[j] = m->keys[i];
    vals[j] = m->vals[i];
  }
  free(m->keys);
  free(m->vals);
  m->keys = keys;
  m->vals = vals;
  m->cap = cap;
  return 0;
}

int ag_map_put(struct ag_map *m, const char *key, void *val) {
  if ((m->n + 1) * 2 > m->cap && map_resize(m, m->cap ? m->cap * 2 : 64) != 0) return -1;
  size_t j = (size_t)(hash_str(key) & (m->cap - 1));
  while (m->keys[j] && strcmp(m->keys[j], key) != 0) j = (j + 1) & (m->cap - 1);
  if (!m->keys[j]) m->n++;
  m->keys[j] = key;
  m->vals[j] = val;
  return 0;
}

void *ag_map_get(const struct ag_map *m, const char *key) {
  if (!m->cap) return NULL;
  size_t j = (size_t)(hash_str(key) & (m->cap - 1));
  while (m->keys[j]) {
    if (strcmp(m->keys[j], key) == 0) return m->vals[j];
    j = (j + 1) & (m->cap - 1);
  }
  return NULL;
}

void ag_map_dispose(struct ag_map *m) {
  free(m->keys);
  free(m->vals);
  memset(m, 0, sizeof *m);
}

/* --------------------------------------------------------------- events */

static void emit(struct pl_agent *a, pl_agent_event *ev) {
  if (!a->o.on_event) return;
  pthread_mutex_lock(&a->ev_mu);
  a->o.on_event(a->o.event_user, ev);
  pthread_mutex_unlock(&a->ev_mu);
}

void ag_event(struct pl_agent *a, const char *event, const struct ag_entry *e, const char *fmt,
              ...) {
  char msg[1024];
  msg[0] = 0;
  if (fmt) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
  }
  pl_agent_event ev;
  memset(&ev, 0, sizeof ev);
  ev.event = event;
  ev.path = e ? e->path : NULL;
  ev.message = msg[0] ? msg : NULL;
  if (e) {
    ev.size = e->ident.size;
    ev.messages_lost = e->messages_lost;
    ev.attempts = e->attempts;
    ev.next_retry_ns = e->next_retry_ns;
    ev.key = e->key;
    ev.recording_id = e->recording_id;
  }
  emit(a, &ev);
}

void ag_event_path(struct pl_agent *a, const char *event, const char *path, uint64_t size,
                   const char *fmt, ...) {
  char msg[1024];
  msg[0] = 0;
  if (fmt) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
  }
  pl_agent_event ev;
  memset(&ev, 0, sizeof ev);
  ev.event = event;
  ev.path = path;
  ev.size = size;
  ev.message = msg[0] ? msg : NULL;
  emit(a, &ev);
}
