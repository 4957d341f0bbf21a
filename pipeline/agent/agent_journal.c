/*
 * agent_journal.c - the agent's durable state and its live snapshot (the
 * only json-c user of pl_agent).
 *
 * agent-journal.jsonl: one JSON object per line, each the whole entry of a
 * recording at one moment (id, path, identity, kind, state, copy, key,
 * recording id, reason, attempts, next retry, losses). Appended with one
 * write(2) under O_APPEND and fdatasync'd before the state it records is
 * acted upon; a failed write is cut back off (ftruncate) so the next line
 * stands alone. Replay keeps the last line per id and skips lines that are
 * not whole entries (a torn last line after a power loss). Compaction writes
 * the live entries into agent-journal.jsonl.tmp, fsyncs it, renames it over
 * the journal and fsyncs the folder.
 *
 * agent-status.json: {"format_version": 1, "pid", "updated_ns", "stopping",
 * "counts", "omitted", "entries": [...]}, the same entry objects plus live
 * upload progress and the files still being written, replaced atomically
 * (temporary file + rename) at most once a second while something changes.
 *
 * Untrusted input: both files are read with every field type- and
 * range-checked; lines longer than 64 KiB and snapshots over 64 MiB are
 * refused; strings with NUL bytes are refused. Times travel as decimal
 * strings (keys ending _ns), counts and sizes as JSON numbers.
 */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent_internal.h"

#define MAX_LINE (64u * 1024u)
#define MAX_SNAPSHOT ((size_t)64 << 20)
#define MAX_PATH_LEN 4096u
#define MAX_TEXT_LEN 4096u
#define SNAPSHOT_TERMINAL_MAX 500 /* finished recordings listed in a snapshot */

/* ------------------------------------------------------------- encoding */

static void add_str(json_object *o, const char *k, const char *v) {
  json_object_object_add(o, k, v ? json_object_new_string(v) : NULL);
}

static void add_u64(json_object *o, const char *k, uint64_t v) {
  json_object_object_add(o, k, json_object_new_uint64(v));
}

static void add_ns(json_object *o, const char *k, int64_t v, int is_signed) {
  char b[32];
  if (is_signed)
    snprintf(b, sizeof b, "%lld", (long long)v);
  else
    snprintf(b, sizeof b, "%llu", (unsigned long long)(uint64_t)v);
  json_object_object_add(o, k, json_object_new_string(b));
}

static json_object *entry_json(const struct ag_entry *e, int live) {
  json_object *o = json_object_new_object();
  if (!o) return NULL;
  add_u64(o, "id", e->id);
  add_str(o, "path", e->path);
  add_u64(o, "dev", e->ident.dev);
  add_u64(o, "ino", e->ident.ino);
  add_u64(o, "size", e->ident.size);
  add_ns(o, "mtime_ns", e->ident.mtime_ns, 1);
  add_str(o, "kind", ag_kind_name(e->kind));
  json_object_object_add(o, "stale", json_object_new_boolean(e->stale));
  add_str(o, "state", ag_state_name(e->state));
  add_str(o, "copy", e->copy);
  add_str(o, "key", e->key);
  add_str(o, "recording_id", e->recording_id);
  add_str(o, "reason", e->reason);
  add_u64(o, "attempts", (uint64_t)e->attempts);
  add_ns(o, "next_retry_ns", (int64_t)e->next_retry_ns, 0);
  add_ns(o, "updated_ns", (int64_t)e->updated_ns, 0);
  add_u64(o, "messages_lost", e->messages_lost);
  json_object_object_add(o, "lost", json_object_new_boolean(e->lost));
  add_u64(o, "doctor_errors", e->doctor_errors);
  if (live) {
    add_u64(o, "bytes_sent", e->bytes_sent);
    add_u64(o, "bytes_total", e->bytes_total);
    json_object_object_add(o, "rate", json_object_new_double(e->rate));
  }
  return o;
}

/* ------------------------------------------------------------- decoding */

static int get_u64(json_object *o, const char *k, uint64_t *v, int required) {
  json_object *x;
  if (!json_object_object_get_ex(o, k, &x) || !x) return required ? -1 : 0;
  if (!json_object_is_type(x, json_type_int)) return -1;
  errno = 0;
  int64_t s = json_object_get_int64(x);
  if (s < 0) return -1;
  if (s == INT64_MAX) { /* may be a larger unsigned value */
    *v = json_object_get_uint64(x);
    return 0;
  }
  *v = (uint64_t)s;
  return 0;
}

static int parse_dec(const char *s, size_t len, int allow_minus, int64_t *sv, uint64_t *uv) {
  size_t i = 0;
  int neg = 0;
  if (allow_minus && len > 0 && s[0] == '-') {
    neg = 1;
    i = 1;
  }
  if (i == len || len - i > 20) return -1;
  uint64_t v = 0;
  for (; i < len; i++) {
    if (s[i] < '0' || s[i] > '9') return -1;
    uint64_t d = (uint64_t)(s[i] - '0');
    if (v > (UINT64_MAX - d) / 10) return -1;
    v = v * 10 + d;
  }
  if (sv) {
    if (v > (uint64_t)INT64_MAX) return -1;
    *sv = neg ? -(int64_t)v : (int64_t)v;
  }
  if (uv) {
    if (neg) return -1;
    *uv = v;
  }
  return 0;
}

static int get_ns(json_object *o, const char *k, int64_t *sv, uint64_t *uv) {
  json_object *x;
  if (!json_object_object_get_ex(o, k, &x) || !x) return 0;
  if (!json_object_is_type(x, json_type_string)) return -1;
  return parse_dec(json_object_get_string(x), (size_t)json_object_get_string_len(x), sv != NULL,
                   sv, uv);
}

/* An optional string (null or absent = NULL). -1 on a wrong type, NUL byte or overlong. */
static int get_str(json_object *o, const char *k, char **out, size_t max) {
  *out = NULL;
  json_object *x;
  if (!json_object_object_get_ex(o, k, &x) || !x) return 0;
  if (!json_object_is_type(x, json_type_string)) return -1;
  const char *s = json_object_get_string(x);
  size_t n = (size_t)json_object_get_string_len(x);
  if (n > max || strlen(s) != n) return -1;
  *out = ag_strdup(s);
  return *out ? 0 : -1;
}

static int get_bool(json_object *o, const char *k, int *out) {
  json_object *x;
  *out = 0;
  if (!json_object_object_get_ex(o, k, &x) || !x) return 0;
  if (!json_object_is_type(x, json_type_boolean)) return -1;
  *out = json_object_get_boolean(x) ? 1 : 0;
  return 0;
}

/* One entry object; NULL when it is not a whole, valid entry. */
static struct ag_entry *entry_from_json(json_object *o, int allow_id0) {
  if (!json_object_is_type(o, json_type_object)) return NULL;
  struct ag_entry *e = calloc(1, sizeof *e);
  if (!e) return NULL;
  char *state = NULL, *kind = NULL;
  uint64_t attempts = 0;
  int ok = get_u64(o, "id", &e->id, 1) == 0 && (e->id > 0 || allow_id0) &&
           get_str(o, "path", &e->path, MAX_PATH_LEN) == 0 && e->path && e->path[0] == '/' &&
           get_str(o, "state", &state, 64) == 0 && state &&
           get_str(o, "kind", &kind, 16) == 0 && kind &&
           get_u64(o, "dev", &e->ident.dev, 0) == 0 && get_u64(o, "ino", &e->ident.ino, 0) == 0 &&
           get_u64(o, "size", &e->ident.size, 0) == 0 &&
           get_ns(o, "mtime_ns", &e->ident.mtime_ns, NULL) == 0 &&
           get_bool(o, "stale", &e->stale) == 0 &&
           get_str(o, "copy", &e->copy, MAX_PATH_LEN) == 0 &&
           get_str(o, "key", &e->key, MAX_TEXT_LEN) == 0 &&
           get_str(o, "recording_id", &e->recording_id, MAX_TEXT_LEN) == 0 &&
           get_str(o, "reason", &e->reason, MAX_TEXT_LEN) == 0 &&
           get_u64(o, "attempts", &attempts, 0) == 0 && attempts <= INT_MAX &&
           get_ns(o, "next_retry_ns", NULL, &e->next_retry_ns) == 0 &&
           get_ns(o, "updated_ns", NULL, &e->updated_ns) == 0 &&
           get_u64(o, "messages_lost", &e->messages_lost, 0) == 0 &&
           get_bool(o, "lost", &e->lost) == 0 &&
           get_u64(o, "doctor_errors", &e->doctor_errors, 0) == 0 &&
           get_u64(o, "bytes_sent", &e->bytes_sent, 0) == 0 &&
           get_u64(o, "bytes_total", &e->bytes_total, 0) == 0;
  if (ok && e->copy && e->copy[0] != '/') ok = 0;
  if (ok) {
    e->state = ag_state_parse(state);
    e->kind = ag_kind_parse(kind);
    e->attempts = (int)attempts;
    if (e->state < 0 || e->kind < 0) ok = 0;
    /* writing/settling exist only in live snapshots (id 0) */
    if (e->id > 0 && (e->state == AG_WRITING || e->state == AG_SETTLING)) ok = 0;
  }
  json_object *r;
  if (ok && json_object_object_get_ex(o, "rate", &r) && r) {
    if (json_object_is_type(r, json_type_double) || json_object_is_type(r, json_type_int)) {
      double d = json_object_get_double(r);
      e->rate = d >= 0 && d < 1e15 ? d : 0;
    } else {
      ok = 0;
    }
  }
  free(state);
  free(kind);
  if (!ok) {
    ag_entry_free(e);
    return NULL;
  }
  return e;
}

/* ------------------------------------------------------------- replay */

struct replay {
  struct ag_entry **e;
  size_t n, cap;
  size_t skipped;
  size_t lines;
  int oom;
  json_tokener *tok;
};

static void replay_line(struct replay *r, const char *line, size_t len) {
  while (len && (line[len - 1] == '\r' || line[len - 1] == ' ')) len--;
  if (len == 0) return;
  r->lines++;
  if (len > MAX_LINE || len > INT_MAX) {
    r->skipped++;
    return;
  }
  json_tokener_reset(r->tok);
  json_object *o = json_tokener_parse_ex(r->tok, line, (int)len);
  if (!o || json_tokener_get_error(r->tok) != json_tokener_success ||
      json_tokener_get_parse_end(r->tok) != len) {
    json_object_put(o);
    r->skipped++;
    return;
  }
  struct ag_entry *e = entry_from_json(o, 0);
  json_object_put(o);
  if (!e) {
    r->skipped++;
    return;
  }
  if (ag_grow((void **)&r->e, &r->cap, r->n + 1, sizeof *r->e) != 0) {
    ag_entry_free(e);
    r->oom = 1;
    return;
  }
  r->e[r->n++] = e;
}

static int replay_init(struct replay *r) {
  memset(r, 0, sizeof *r);
  r->tok = json_tokener_new_ex(32);
  return r->tok ? 0 : -1;
}

static void replay_dispose(struct replay *r) {
  for (size_t i = 0; i < r->n; i++) ag_entry_free(r->e[i]);
  free(r->e);
  if (r->tok) json_tokener_free(r->tok);
  memset(r, 0, sizeof *r);
}

struct id_line {
  uint64_t id;
  size_t line;
};

static int cmp_id_line(const void *x, const void *y) {
  const struct id_line *a = x, *b = y;
  if (a->id != b->id) return a->id < b->id ? -1 : 1;
  return a->line < b->line ? -1 : a->line > b->line ? 1 : 0;
}

/* Keep the last line per id, in id order. */
static void replay_finish(struct replay *r) {
  size_t n = r->n;
  if (n == 0) return;
  struct id_line *p = malloc(n * sizeof *p);
  struct ag_entry **keep = malloc(n * sizeof *keep);
  if (!p || !keep) {
    free(p);
    free(keep);
    r->oom = 1;
    return;
  }
  for (size_t i = 0; i < n; i++) {
    p[i].id = r->e[i]->id;
    p[i].line = i;
  }
  qsort(p, n, sizeof *p, cmp_id_line);
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    struct ag_entry *e = r->e[p[i].line];
    if (i + 1 < n && p[i + 1].id == p[i].id)
      ag_entry_free(e); /* replaced by a later line */
    else
      keep[k++] = e;
  }
  free(p);
  free(r->e);
  r->e = keep;
  r->n = k;
  r->cap = n;
}

static void replay_text(struct replay *r, const char *text, size_t len) {
  size_t start = 0;
  for (size_t i = 0; i < len; i++) {
    if (text[i] != '\n') continue;
    replay_line(r, text + start, i - start);
    start = i + 1;
  }
  if (start < len) replay_line(r, text + start, len - start); /* no newline: maybe torn */
}

/* Read a journal through a bounded buffer: a line longer than MAX_LINE is skipped. */
static int replay_fd(struct replay *r, int fd) {
  size_t cap = MAX_LINE + 65536;
  char *buf = malloc(cap);
  if (!buf) return -1;
  size_t have = 0;
  int skipping = 0;
  off_t off = 0;
  for (;;) {
    ssize_t got = pread(fd, buf + have, cap - have, off);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      free(buf);
      return -1;
    }
    if (got == 0) break;
    off += got;
    have += (size_t)got;
    size_t start = 0;
    for (size_t i = 0; i < have; i++) {
      if (buf[i] != '\n') continue;
      if (skipping) {
        skipping = 0;
        r->skipped++;
      } else {
        replay_line(r, buf + start, i - start);
      }
      start = i + 1;
    }
    memmove(buf, buf + start, have - start);
    have -= start;
    if (have > MAX_LINE) { /* an overlong line: drop what we hold, skip to its end */
      skipping = 1;
      have = 0;
    }
  }
  if (skipping)
    r->skipped++;
  else if (have)
    replay_line(r, buf, have);
  free(buf);
  return 0;
}

/* ------------------------------------------------------------- journal */

static int write_all(int fd, const char *p, size_t n) {
  while (n) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

static char *entry_line(const struct ag_entry *e, int live) {
  json_object *o = entry_json(e, live);
  if (!o) return NULL;
  const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
  char *line = s ? ag_printf("%s\n", s) : NULL;
  json_object_put(o);
  return line;
}

int ag_journal_append(struct pl_agent *a, const struct ag_entry *e) {
  if (a->journal_fd < 0) return ag_fail(a, PL_AGENT_EJOURNAL, "the state journal is not open");
  char *line = entry_line(e, 0);
  if (!line) return ag_fail(a, PL_AGENT_ENOMEM, "out of memory");
  struct stat sb;
  off_t before = fstat(a->journal_fd, &sb) == 0 ? sb.st_size : -1;
  int rc = 0;
  if (write_all(a->journal_fd, line, strlen(line)) != 0) {
    int e2 = errno;
    if (before >= 0 && ftruncate(a->journal_fd, before) != 0) { /* keep lines whole */
    }
    rc = ag_fail(a, PL_AGENT_EJOURNAL, "cannot write the state journal '%s': %s", a->journal_path,
                 strerror(e2));
  } else if (fdatasync(a->journal_fd) != 0) {
    rc = ag_fail(a, PL_AGENT_EJOURNAL, "cannot sync the state journal '%s': %s", a->journal_path,
                 strerror(errno));
  }
  free(line);
  if (rc == 0) a->journal_lines++;
  return rc;
}

int ag_journal_compact(struct pl_agent *a) {
  char *tmp = ag_printf("%s.tmp", a->journal_path);
  if (!tmp) return ag_fail(a, PL_AGENT_ENOMEM, "out of memory");
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    int rc = ag_fail(a, PL_AGENT_EJOURNAL, "cannot create '%s': %s", tmp, strerror(errno));
    free(tmp);
    return rc;
  }
  int rc = 0;
  for (size_t i = 0; i < a->n_entries && rc == 0; i++) {
    char *line = entry_line(a->entries[i], 0);
    if (!line) {
      rc = ag_fail(a, PL_AGENT_ENOMEM, "out of memory");
      break;
    }
    if (write_all(fd, line, strlen(line)) != 0)
      rc = ag_fail(a, PL_AGENT_EJOURNAL, "cannot write '%s': %s", tmp, strerror(errno));
    free(line);
  }
  if (rc == 0 && fsync(fd) != 0)
    rc = ag_fail(a, PL_AGENT_EJOURNAL, "cannot sync '%s': %s", tmp, strerror(errno));
  close(fd);
  if (rc == 0 && rename(tmp, a->journal_path) != 0)
    rc = ag_fail(a, PL_AGENT_EJOURNAL, "cannot rename '%s': %s", tmp, strerror(errno));
  if (rc != 0) {
    unlink(tmp);
    free(tmp);
    return rc;
  }
  free(tmp);
  ag_fsync_dir(a->state_dir);
  int nfd = open(a->journal_path, O_WRONLY | O_APPEND | O_CLOEXEC);
  if (nfd < 0)
    return ag_fail(a, PL_AGENT_EJOURNAL, "cannot reopen '%s': %s", a->journal_path,
                   strerror(errno));
  if (a->journal_fd >= 0) close(a->journal_fd);
  a->journal_fd = nfd;
  a->journal_lines = 0;
  return 0;
}

int ag_journal_open(struct pl_agent *a) {
  int fd = open(a->journal_path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0)
    return ag_fail(a, PL_AGENT_EJOURNAL, "cannot open the state journal '%s': %s",
                   a->journal_path, strerror(errno));
  struct replay r;
  if (replay_init(&r) != 0) {
    close(fd);
    return ag_fail(a, PL_AGENT_ENOMEM, "out of memory");
  }
  if (replay_fd(&r, fd) != 0) {
    int e2 = errno;
    replay_dispose(&r);
    close(fd);
    return ag_fail(a, PL_AGENT_EJOURNAL, "cannot read the state journal '%s': %s",
                   a->journal_path, strerror(e2));
  }
  replay_finish(&r);
  if (r.oom) {
    replay_dispose(&r);
    close(fd);
    return ag_fail(a, PL_AGENT_ENOMEM, "out of memory reading the state journal");
  }
  if (r.skipped)
    ag_event_path(a, "warning", NULL, 0,
                  "state journal '%s': %zu of %zu lines skipped (not whole entries: a torn "
                  "last line after a crash is expected)",
                  a->journal_path, r.skipped, r.lines);
  a->journal_fd = fd;
  a->entries = r.e;
  a->n_entries = r.n;
  a->cap_entries = r.cap;
  r.e = NULL;
  r.n = 0;
  uint64_t max_id = 0;
  for (size_t i = 0; i < a->n_entries; i++) {
    if (a->entries[i]->id > max_id) max_id = a->entries[i]->id;
    if (ag_map_put(&a->by_path, a->entries[i]->path, a->entries[i]) != 0) {
      replay_dispose(&r);
      return ag_fail(a, PL_AGENT_ENOMEM, "out of memory");
    }
  }
  a->next_id = max_id + 1;
  replay_dispose(&r);
  return ag_journal_compact(a);
}

void ag_journal_close(struct pl_agent *a) {
  if (a->journal_fd >= 0) close(a->journal_fd);
  a->journal_fd = -1;
}

/* ------------------------------------------------------------- counts */

void ag_count_entry(pl_agent_counts *c, int state, int lost) {
  switch (state) {
    case AG_VERIFIED:
      c->verified++;
      if (lost) c->lost++;
      break;
    case AG_DELETED:
      c->verified++;
      c->deleted++;
      if (lost) c->lost++;
      break;
    case AG_FAILED:
      c->failed++;
      break;
    case AG_REFUSED:
      c->refused++;
      break;
    case AG_DIFFERS:
      c->differs++;
      break;
    case AG_GONE:
      c->gone++;
      break;
    default:
      c->pending++;
      break;
  }
}

void pl_agent_get_counts(pl_agent *a, pl_agent_counts *out) {
  pthread_mutex_lock(&a->mu);
  *out = a->forgotten;
  for (size_t i = 0; i < a->n_entries; i++)
    ag_count_entry(out, a->entries[i]->state, a->entries[i]->lost);
  for (size_t i = 0; i < a->n_cands; i++) out->pending++;
  out->uploads = a->uploads;
  pthread_mutex_unlock(&a->mu);
}

/* ------------------------------------------------------------- snapshot */

int ag_snapshot_write(struct pl_agent *a, int stopping) {
  json_object *doc = json_object_new_object();
  json_object *arr = json_object_new_array();
  if (!doc || !arr) {
    json_object_put(doc);
    json_object_put(arr);
    return -1;
  }
  pl_agent_counts c = a->forgotten;
  size_t terminal = 0;
  for (size_t i = 0; i < a->n_entries; i++) {
    ag_count_entry(&c, a->entries[i]->state, a->entries[i]->lost);
    if (ag_state_terminal(a->entries[i]->state)) terminal++;
  }
  c.pending += a->n_cands;
  c.uploads = a->uploads;
  size_t skip_terminal = terminal > SNAPSHOT_TERMINAL_MAX ? terminal - SNAPSHOT_TERMINAL_MAX : 0;
  size_t omitted = 0;
  for (size_t i = 0; i < a->n_entries; i++) {
    const struct ag_entry *e = a->entries[i];
    if (ag_state_terminal(e->state) && omitted < skip_terminal) {
      omitted++;
      continue;
    }
    json_object_array_add(arr, entry_json(e, 1));
  }
  for (size_t i = 0; i < a->n_cands; i++) {
    struct ag_entry t;
    memset(&t, 0, sizeof t);
    t.path = a->cands[i].path;
    t.ident = a->cands[i].ident;
    t.kind = a->cands[i].kind;
    t.state = a->cands[i].finished ? AG_SETTLING : AG_WRITING;
    json_object_array_add(arr, entry_json(&t, 1));
  }
  json_object_object_add(doc, "format_version", json_object_new_int(1));
  json_object_object_add(doc, "pid", json_object_new_int64((int64_t)getpid()));
  add_ns(doc, "updated_ns", (int64_t)ag_wall_ns(), 0);
  json_object_object_add(doc, "stopping", json_object_new_boolean(stopping));
  json_object *co = json_object_new_object();
  add_u64(co, "verified", c.verified);
  add_u64(co, "deleted", c.deleted);
  add_u64(co, "failed", c.failed);
  add_u64(co, "refused", c.refused);
  add_u64(co, "differs", c.differs);
  add_u64(co, "gone", c.gone);
  add_u64(co, "lost", c.lost);
  add_u64(co, "uploads", c.uploads);
  add_u64(co, "pending", c.pending);
  json_object_object_add(doc, "counts", co);
  add_u64(doc, "omitted", omitted);
  json_object_object_add(doc, "entries", arr);
  const char *s = json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN);
  int rc = -1;
  char *tmp = ag_printf("%s.tmp", a->snapshot_path);
  if (s && tmp) {
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd >= 0) {
      rc = write_all(fd, s, strlen(s));
      if (write_all(fd, "\n", 1) != 0) rc = -1;
      close(fd);
      /* no fsync: a lost snapshot is rebuilt from the journal; rename keeps it whole */
      if (rc == 0 && rename(tmp, a->snapshot_path) != 0) rc = -1;
      if (rc != 0) unlink(tmp);
    }
  }
  free(tmp);
  json_object_put(doc);
  return rc;
}

/* ------------------------------------------------------------- reading */

static void to_public(pl_agent_entry *d, struct ag_entry *e) {
  memset(d, 0, sizeof *d);
  d->id = e->id;
  d->path = e->path;
  e->path = NULL;
  d->state = ag_strdup(ag_state_name(e->state));
  d->kind = ag_strdup(ag_kind_name(e->kind));
  d->stale = e->stale;
  d->copy = e->copy;
  e->copy = NULL;
  d->key = e->key;
  e->key = NULL;
  d->recording_id = e->recording_id;
  e->recording_id = NULL;
  d->reason = e->reason;
  e->reason = NULL;
  d->size = e->ident.size;
  d->attempts = e->attempts;
  d->next_retry_ns = e->next_retry_ns;
  d->updated_ns = e->updated_ns;
  d->messages_lost = e->messages_lost;
  d->lost = e->lost;
  d->doctor_errors = e->doctor_errors;
  d->bytes_sent = e->bytes_sent;
  d->bytes_total = e->bytes_total;
  d->rate = e->rate;
}

static int snapshot_from(struct ag_entry **e, size_t n, pl_agent_snapshot **out) {
  pl_agent_snapshot *s = calloc(1, sizeof *s);
  if (!s) return -1;
  s->entries = calloc(n ? n : 1, sizeof *s->entries);
  if (!s->entries) {
    free(s);
    return -1;
  }
  for (size_t i = 0; i < n; i++) {
    to_public(&s->entries[i], e[i]);
    if (!s->entries[i].state || !s->entries[i].kind) {
      s->n_entries = i + 1;
      pl_agent_snapshot_free(s);
      return -1;
    }
    ag_count_entry(&s->counts, e[i]->state, e[i]->lost);
  }
  s->n_entries = n;
  *out = s;
  return 0;
}

static int err_set(pl_error_info *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int err_set(pl_error_info *err, int code, const char *fmt, ...) {
  if (err) {
    memset(err, 0, sizeof *err);
    err->code = code;
    err->offset = UINT64_MAX;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
  }
  return code;
}

int pl_agent_journal_parse(const char *text, size_t len, pl_agent_snapshot **out,
                           pl_error_info *err) {
  *out = NULL;
  struct replay r;
  if (replay_init(&r) != 0) return err_set(err, PL_AGENT_ENOMEM, "out of memory");
  replay_text(&r, text, len);
  replay_finish(&r);
  if (r.oom || snapshot_from(r.e, r.n, out) != 0) {
    replay_dispose(&r);
    return err_set(err, PL_AGENT_ENOMEM, "out of memory");
  }
  (*out)->skipped_lines = r.skipped;
  (*out)->from_journal = 1;
  replay_dispose(&r);
  return PL_AGENT_OK;
}

/* The live snapshot; -1 when missing or unusable (then the journal is read). */
static int read_live(const char *path, pl_agent_snapshot **out) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  struct stat sb;
  if (fstat(fd, &sb) != 0 || (uint64_t)sb.st_size > MAX_SNAPSHOT) {
    close(fd);
    return -1;
  }
  size_t n = (size_t)sb.st_size;
  char *buf = malloc(n + 1);
  size_t got = 0;
  while (buf && got < n) {
    ssize_t r = pread(fd, buf + got, n - got, (off_t)got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    got += (size_t)r;
  }
  close(fd);
  if (!buf || got != n) {
    free(buf);
    return -1;
  }
  json_tokener *tok = json_tokener_new_ex(32);
  json_object *doc = tok && n <= INT_MAX ? json_tokener_parse_ex(tok, buf, (int)n) : NULL;
  int ok = doc && json_tokener_get_error(tok) == json_tokener_success &&
           json_object_is_type(doc, json_type_object);
  if (tok) json_tokener_free(tok);
  free(buf);
  json_object *arr = NULL;
  if (ok) ok = json_object_object_get_ex(doc, "entries", &arr) && arr &&
               json_object_is_type(arr, json_type_array);
  struct ag_entry **e = NULL;
  size_t ne = 0;
  if (ok) {
    size_t len = json_object_array_length(arr);
    e = calloc(len ? len : 1, sizeof *e);
    ok = e != NULL;
    for (size_t i = 0; ok && i < len; i++) {
      e[ne] = entry_from_json(json_object_array_get_idx(arr, i), 1);
      if (e[ne]) ne++;
    }
  }
  int rc = -1;
  if (ok && snapshot_from(e, ne, out) == 0) {
    rc = 0;
    uint64_t v = 0;
    if (get_u64(doc, "pid", &v, 0) == 0 && v < INT64_MAX) (*out)->pid = (int64_t)v;
    get_ns(doc, "updated_ns", NULL, &(*out)->updated_ns);
    get_u64(doc, "omitted", &v, 0);
    (*out)->omitted = (size_t)v;
    json_object *co;
    if (json_object_object_get_ex(doc, "counts", &co) && co &&
        json_object_is_type(co, json_type_object)) {
      pl_agent_counts *c = &(*out)->counts;
      get_u64(co, "verified", &c->verified, 0);
      get_u64(co, "deleted", &c->deleted, 0);
      get_u64(co, "failed", &c->failed, 0);
      get_u64(co, "refused", &c->refused, 0);
      get_u64(co, "differs", &c->differs, 0);
      get_u64(co, "gone", &c->gone, 0);
      get_u64(co, "lost", &c->lost, 0);
      get_u64(co, "uploads", &c->uploads, 0);
      get_u64(co, "pending", &c->pending, 0);
    }
  }
  for (size_t i = 0; i < ne; i++) ag_entry_free(e[i]);
  free(e);
  json_object_put(doc);
  return rc;
}

/* Is an agent holding the lock? (an OFD lock test: nothing is taken) */
static int agent_running(const char *lock_path, int64_t *pid) {
  *pid = 0;
  int fd = open(lock_path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  struct flock fl;
  memset(&fl, 0, sizeof fl);
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  int running = fcntl(fd, F_OFD_GETLK, &fl) == 0 && fl.l_type != F_UNLCK;
  if (running) {
    char b[32];
    ssize_t n = pread(fd, b, sizeof b - 1, 0);
    if (n > 0) {
      b[n] = 0;
      size_t len = strcspn(b, "\n");
      int64_t v;
      if (parse_dec(b, len, 0, &v, NULL) == 0) *pid = v;
    }
  }
  close(fd);
  return running;
}

int pl_agent_snapshot_read(const char *state_dir, pl_agent_snapshot **out, pl_error_info *err) {
  *out = NULL;
  struct stat sb;
  if (!state_dir || stat(state_dir, &sb) != 0)
    return err_set(err, PL_AGENT_EIO, "cannot open the state folder '%s': %s",
                   state_dir ? state_dir : "(null)", strerror(errno));
  if (!S_ISDIR(sb.st_mode))
    return err_set(err, PL_AGENT_EIO, "'%s' is not a folder", state_dir);
  char *lock = ag_printf("%s/agent.lock", state_dir);
  char *snap = ag_printf("%s/agent-status.json", state_dir);
  char *jpath = ag_printf("%s/agent-journal.jsonl", state_dir);
  int rc = PL_AGENT_OK;
  if (!lock || !snap || !jpath) {
    rc = err_set(err, PL_AGENT_ENOMEM, "out of memory");
    goto out;
  }
  int64_t pid = 0;
  int running = agent_running(lock, &pid);
  if (running && read_live(snap, out) == 0) {
    (*out)->running = 1;
    if (pid) (*out)->pid = pid;
    goto out;
  }
  int fd = open(jpath, O_RDONLY | O_CLOEXEC);
  struct replay r;
  if (replay_init(&r) != 0) {
    if (fd >= 0) close(fd);
    rc = err_set(err, PL_AGENT_ENOMEM, "out of memory");
    goto out;
  }
  if (fd >= 0) {
    if (replay_fd(&r, fd) != 0) {
      int e2 = errno;
      close(fd);
      replay_dispose(&r);
      rc = err_set(err, PL_AGENT_EJOURNAL, "cannot read '%s': %s", jpath, strerror(e2));
      goto out;
    }
    close(fd);
  } else if (errno != ENOENT) {
    replay_dispose(&r);
    rc = err_set(err, PL_AGENT_EIO, "cannot open '%s': %s", jpath, strerror(errno));
    goto out;
  }
  replay_finish(&r);
  if (r.oom || snapshot_from(r.e, r.n, out) != 0) {
    replay_dispose(&r);
    rc = err_set(err, PL_AGENT_ENOMEM, "out of memory");
    goto out;
  }
  (*out)->skipped_lines = r.skipped;
  (*out)->from_journal = 1;
  (*out)->running = running;
  (*out)->pid = pid;
  replay_dispose(&r);
out:
  free(lock);
  free(snap);
  free(jpath);
  return rc;
}

void pl_agent_snapshot_free(pl_agent_snapshot *s) {
  if (!s) return;
  for (size_t i = 0; i < s->n_entries; i++) {
    pl_agent_entry *e = &s->entries[i];
    free(e->path);
    free(e->state);
    free(e->kind);
    free(e->copy);
    free(e->key);
    free(e->recording_id);
    free(e->reason);
  }
  free(s->entries);
  free(s);
}
