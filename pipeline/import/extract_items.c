/*
 * extract_items.c - pl_extract_items: every attachment (or schema) of a
 * recording into its own file in a directory, plus DIR/manifest.json
 * (behind `mcapkit extract attachments|schemas`).
 *
 * Safety rules, because names come from the (untrusted) file:
 * - a name becomes one path component: '/', '\', control characters and
 *   characters Windows forbids are replaced by '_', invalid UTF-8 too; a
 *   leading '.' or '-' gets a '_' in front (no hidden files, no "." / ".."),
 *   an empty name becomes "attachment" / "schema", long names are cut to
 *   MAX_NAME bytes (keeping the extension);
 * - nothing is ever overwritten: data goes to a temporary file in DIR
 *   (O_EXCL), is checked (attachment CRC), fsynced, then moved to its name
 *   with renameat2(RENAME_NOREPLACE) (or link + unlink where that is not
 *   supported); a name that is taken gets numbered: "name-1.ext", ...;
 * - every operation is relative to a descriptor of DIR, so nothing lands
 *   outside it.
 * The manifest lists each extracted file with its source fields and an
 * XXH3-128 fingerprint of the content. Running again into the same DIR is
 * safe and idempotent: an item whose file is already there with the same
 * content (an earlier run's) is not written again, and the manifest of the
 * earlier run is replaced; a manifest.json that is not one of ours makes the
 * run refuse to start.
 */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "import_internal.h"

#define MAX_NAME 200 /* bytes of a file name we create (NAME_MAX is 255) */
#define COPY_BUF ((size_t)1 << 20)
#define MANIFEST "manifest.json"

/* ------------------------------------------------------------- file names */

static size_t utf8_len(const uint8_t *p, size_t n) {
  uint8_t c = p[0];
  size_t len = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
  if (!len || n < len || c == 0xC0 || c == 0xC1 || c > 0xF4) return 0;
  for (size_t i = 1; i < len; i++)
    if ((p[i] & 0xC0) != 0x80) return 0;
  return len;
}

/*
 * Make `name` (len bytes, untrusted) + `ext` a safe file name in out (at least
 * MAX_NAME + 1 bytes).
 */
static void safe_name(const char *name, size_t len, const char *ext, const char *fallback,
                      char *out) {
  const uint8_t *p = (const uint8_t *)name;
  size_t ext_len = strlen(ext);
  size_t limit = MAX_NAME - ext_len; /* room for the stem */
  size_t o = 0, i = 0;
  if (len && (p[0] == '.' || p[0] == '-')) out[o++] = '_';
  while (i < len) {
    uint8_t c = p[i];
    size_t k = 1;
    const char *piece;
    char one[2] = {0, 0};
    if (c >= 0x80) {
      k = utf8_len(p + i, len - i);
      if (k == 0) {
        k = 1;
        piece = "_";
      } else {
        piece = (const char *)p + i;
      }
    } else if (c < 0x20 || c == 0x7f || strchr("/\\:*?\"<>|", c)) {
      piece = "_";
    } else {
      one[0] = (char)c;
      piece = one;
    }
    size_t plen = piece == (const char *)p + i ? k : 1;
    if (o + plen > limit) break; /* cut on a character boundary */
    memcpy(out + o, piece, plen);
    o += plen;
    i += k;
  }
  if (o == 0 || (o == 1 && out[0] == '_' && len == 0)) {
    o = strlen(fallback);
    memcpy(out, fallback, o);
  }
  memcpy(out + o, ext, ext_len);
  out[o + ext_len] = '\0';
}

/* "stem-N.ext" for the N-th alternative of a taken name. */
static void numbered(const char *base, unsigned n, char *out, size_t cap) {
  /* an extension is a short run of letters and digits after the last '.' */
  const char *dot = strrchr(base, '.');
  size_t ext_len = dot ? strlen(dot + 1) : 0;
  int is_ext = dot && dot != base && ext_len >= 1 && ext_len <= 16;
  for (size_t i = 0; is_ext && i < ext_len; i++) {
    char c = dot[1 + i];
    is_ext = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  }
  if (!is_ext) dot = base + strlen(base);
  size_t stem = (size_t)(dot - base);
  char suffix[16];
  int sl = snprintf(suffix, sizeof suffix, "-%u", n);
  size_t ext = strlen(dot);
  if (stem + (size_t)sl + ext >= cap) stem = cap - 1 - (size_t)sl - ext;
  /* do not cut a UTF-8 sequence */
  while (stem > 0 && ((uint8_t)base[stem] & 0xC0) == 0x80) stem--;
  snprintf(out, cap, "%.*s%s%s", (int)stem, base, suffix, dot);
}

/* ----------------------------------------------------------- the extractor */

struct extract {
  const pl_extract_items_options *o;
  const char *dir;
  int dirfd;
  char **used; /* names given out in this run */
  size_t n_used;
  unsigned tmp_counter;
  pl_hash *hash;
  uint8_t *buf;
  pl_extract_report *rep;
};

static int name_used(const struct extract *x, const char *name) {
  for (size_t i = 0; i < x->n_used; i++)
    if (strcmp(x->used[i], name) == 0) return 1;
  return 0;
}

static int remember(struct extract *x, const char *name) {
  char **u = realloc(x->used, (x->n_used + 1) * sizeof *u);
  if (!u) return -1;
  x->used = u;
  if (!(u[x->n_used] = pl_strdup(name))) return -1;
  x->n_used++;
  return 0;
}

static void tell(const struct extract *x, int verbose, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void tell(const struct extract *x, int verbose, const char *fmt, ...) {
  void (*fn)(void *, const char *) = verbose ? x->o->on_note : x->o->on_failure;
  if (!fn) return;
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  fn(x->o->user, msg);
}

/* A new temporary file in DIR; its name in tmp. @return fd or -1 (errno). */
static int open_tmp(struct extract *x, char *tmp, size_t cap) {
  for (int tries = 0; tries < 1000; tries++) {
    snprintf(tmp, cap, ".mcapkit-extract-%ld-%u.tmp", (long)getpid(), x->tmp_counter++);
    int fd = openat(x->dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd >= 0 || errno != EEXIST) return fd;
  }
  errno = EEXIST;
  return -1;
}

static int write_all(int fd, const void *buf, size_t n) {
  const uint8_t *p = buf;
  while (n) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

/* Is DIR/name a regular file of `size` bytes with fingerprint `fp` (an earlier run's copy)? */
static int same_file(struct extract *x, const char *name, uint64_t size, const char *fp) {
  int fd = openat(x->dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return 0;
  struct stat st;
  int same = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size == size;
  if (same) {
    pl_hash_reset(x->hash);
    for (;;) {
      ssize_t n = read(fd, x->buf, COPY_BUF);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) same = 0;
      if (n <= 0) break;
      pl_hash_update(x->hash, x->buf, (size_t)n);
    }
    char hex[33];
    pl_hash_hex(x->hash, hex);
    same = same && strcmp(hex, fp) == 0;
  }
  close(fd);
  return same;
}

/*
 * Move tmp to `name` or a numbered variant without replacing anything; final name in out.
 * A candidate that already holds the same content is taken as it is (tmp is removed and
 * *existed set): running extract again gives the same names and writes nothing twice.
 */
static int place(struct extract *x, const char *tmp, const char *name, uint64_t size,
                 const char *fp, char *out, size_t cap, int *existed) {
  *existed = 0;
  for (unsigned n = 0; n < 100000; n++) {
    if (n == 0)
      snprintf(out, cap, "%s", name);
    else
      numbered(name, n, out, cap);
    if (name_used(x, out)) continue;
    if (renameat2(x->dirfd, tmp, x->dirfd, out, RENAME_NOREPLACE) == 0) return 0;
    if (errno == EINVAL || errno == ENOSYS) {
      /* no RENAME_NOREPLACE on this filesystem: link() does not replace either */
      if (linkat(x->dirfd, tmp, x->dirfd, out, 0) == 0) {
        unlinkat(x->dirfd, tmp, 0);
        return 0;
      }
    }
    if (errno != EEXIST) return -1;
    if (same_file(x, out, size, fp)) {
      unlinkat(x->dirfd, tmp, 0);
      *existed = 1;
      return 0;
    }
  }
  errno = EEXIST;
  return -1;
}

/* Data source of one item: an attachment stream or a memory block. */
struct item_src {
  mcap_attachment_stream *stream;
  const uint8_t *mem;
  uint64_t mem_len, mem_pos;
};

static int src_read(struct item_src *s, uint8_t *buf, size_t cap, size_t *got) {
  if (s->stream) return mcap_attachment_stream_read(s->stream, buf, cap, got);
  uint64_t left = s->mem_len - s->mem_pos;
  size_t n = left < cap ? (size_t)left : cap;
  if (n) memcpy(buf, s->mem + s->mem_pos, n);
  s->mem_pos += n;
  *got = n;
  return MCAP_OK;
}

/* How an item failed: its data is bad, or reading/writing failed. */
enum { ITEM_OK = 0, ITEM_BAD = 1, ITEM_IO = 2 };

/*
 * Copy one item into DIR under (a variant of) `name`. On success the final
 * name is in final_name and the fingerprint in hex (33 bytes).
 * @return ITEM_OK, ITEM_BAD (the data is bad; message in why), ITEM_IO (message in why).
 */
static int extract_one(struct extract *x, mcap_reader *r, struct item_src *src, const char *name,
                       char *final_name, size_t cap, uint64_t *size, char *hex, char *why,
                       size_t why_len) {
  char tmp[96];
  int fd = open_tmp(x, tmp, sizeof tmp);
  if (fd < 0) {
    snprintf(why, why_len, "cannot create a file in '%s': %s", x->dir, strerror(errno));
    return ITEM_IO;
  }
  int rc = ITEM_OK;
  pl_hash_reset(x->hash);
  *size = 0;
  for (;;) {
    size_t got = 0;
    int mrc = src_read(src, x->buf, COPY_BUF, &got);
    if (mrc != MCAP_OK) {
      snprintf(why, why_len, "%s", r ? mcap_reader_errmsg(r) : mcap_strerror(mrc));
      rc = mrc == MCAP_EIO || mrc == MCAP_ENOMEM ? ITEM_IO : ITEM_BAD;
      break;
    }
    if (got == 0) break; /* for attachments: the CRC has been checked */
    pl_hash_update(x->hash, x->buf, got);
    if (write_all(fd, x->buf, got) != 0) {
      snprintf(why, why_len, "writing in '%s': %s", x->dir, strerror(errno));
      rc = ITEM_IO;
      break;
    }
    *size += got;
  }
  if (rc == ITEM_OK && fsync(fd) != 0) {
    snprintf(why, why_len, "writing in '%s': %s", x->dir, strerror(errno));
    rc = ITEM_IO;
  }
  if (close(fd) != 0 && rc == ITEM_OK) {
    snprintf(why, why_len, "writing in '%s': %s", x->dir, strerror(errno));
    rc = ITEM_IO;
  }
  pl_hash_hex(x->hash, hex);
  int existed = 0;
  if (rc == ITEM_OK && place(x, tmp, name, *size, hex, final_name, cap, &existed) != 0) {
    snprintf(why, why_len, "cannot name a file '%s' in '%s': %s", name, x->dir, strerror(errno));
    rc = ITEM_IO;
  }
  if (rc != ITEM_OK) {
    unlinkat(x->dirfd, tmp, 0);
    return rc;
  }
  x->rep->already += (size_t)existed;
  if (remember(x, final_name) != 0) {
    snprintf(why, why_len, "out of memory");
    return ITEM_IO;
  }
  return ITEM_OK;
}

/* ------------------------------------------------------------ the manifest */

static void add_str(json_object *o, const char *key, const char *s) {
  json_object_object_add(o, key, json_object_new_string(s));
}

static void add_strn(json_object *o, const char *key, mcap_str s) {
  json_object_object_add(o, key, json_object_new_string_len(s.data ? s.data : "", (int)s.len));
}

static void add_u64(json_object *o, const char *key, uint64_t v) {
  json_object_object_add(o, key, json_object_new_uint64(v));
}

/* KEY_ns: the decimal string; KEY: RFC 3339 for a Unix time, else seconds (as the CLI's
 * JSON contract has it). */
static void add_time(json_object *o, const char *key, uint64_t ns) {
  char k[96], v[48];
  snprintf(k, sizeof k, "%s_ns", key);
  snprintf(v, sizeof v, "%llu", (unsigned long long)ns);
  json_object_object_add(o, k, json_object_new_string(v));
  uint64_t secs = ns / 1000000000u;
  if (secs >= UINT64_C(631152000) && secs < UINT64_C(7258118400))
    pl_format_time(ns, v);
  else
    snprintf(v, sizeof v, "%llu.%09llu", (unsigned long long)secs,
             (unsigned long long)(ns % 1000000000u));
  json_object_object_add(o, key, json_object_new_string(v));
}

static void add_failure(json_object *failed, mcap_str name, uint64_t offset, const char *why) {
  json_object *o = json_object_new_object();
  add_strn(o, "name", name);
  add_u64(o, "offset", offset);
  add_str(o, "error", why);
  json_object_array_add(failed, o);
}

static int add_item(struct extract *x, const char *file_name, uint64_t size, mcap_str source) {
  pl_extract_report *rep = x->rep;
  if (pl_grow((void **)&rep->items, &rep->cap_items, rep->n_items + 1, sizeof *rep->items))
    return -1;
  pl_extract_item *it = &rep->items[rep->n_items];
  memset(it, 0, sizeof *it);
  it->file_name = pl_strdup(file_name);
  it->source_name = pl_strview(source);
  it->source_name_len = source.len;
  it->size = size;
  if (!it->file_name || !it->source_name) {
    free(it->file_name);
    free(it->source_name);
    return -1;
  }
  rep->n_items++;
  return 0;
}

static void item_failed(struct extract *x, int how) {
  x->rep->n_failed++;
  if (how == ITEM_IO) x->rep->io_failures++;
}

static int extract_attachments(struct extract *x, mcap_reader *r, const char *path,
                               json_object *items, json_object *failed) {
  size_t n = mcap_reader_attachment_count(r);
  for (size_t i = 0; i < n; i++) {
    const mcap_attachment_index *ai = mcap_reader_attachment_at(r, i);
    char base[MAX_NAME + 1], final_name[MAX_NAME + 32], hex[33], why[512];
    uint64_t size = 0;
    safe_name(ai->name.data, ai->name.len, "", "attachment", base);
    struct item_src src;
    memset(&src, 0, sizeof src);
    mcap_attachment fields;
    int mrc = mcap_reader_attachment_open(r, ai, &src.stream, &fields);
    int rc;
    if (mrc != MCAP_OK) {
      snprintf(why, sizeof why, "%s", mcap_reader_errmsg(r));
      rc = mrc == MCAP_EIO || mrc == MCAP_ENOMEM ? ITEM_IO : ITEM_BAD;
    } else {
      rc =
          extract_one(x, r, &src, base, final_name, sizeof final_name, &size, hex, why, sizeof why);
    }
    mcap_attachment_stream_free(src.stream);
    if (rc != ITEM_OK) {
      tell(x, 0, "'%s': attachment '%.*s' at offset %llu not extracted: %s", path,
           (int)ai->name.len, ai->name.data, (unsigned long long)ai->offset, why);
      add_failure(failed, ai->name, ai->offset, why);
      item_failed(x, rc);
      continue;
    }
    json_object *o = json_object_new_object();
    add_strn(o, "name", ai->name);
    add_strn(o, "media_type", fields.media_type);
    add_time(o, "log_time", fields.log_time);
    add_time(o, "create_time", fields.create_time);
    add_u64(o, "crc", fields.crc);
    json_object_object_add(o, "crc_checked", json_object_new_boolean(fields.crc != 0));
    add_u64(o, "size", size);
    add_u64(o, "offset", ai->offset);
    add_str(o, "file_name", final_name);
    add_str(o, "fingerprint", hex);
    json_object_array_add(items, o);
    if (add_item(x, final_name, size, ai->name) != 0) return -1;
  }
  return 0;
}

/* The customary extension of a schema encoding. */
static const char *schema_ext(mcap_str enc) {
  static const struct {
    const char *enc, *ext;
  } map[] = {{"ros1msg", ".msg"},     {"ros2msg", ".msg"},     {"ros2idl", ".idl"},
             {"omgidl", ".idl"},      {"jsonschema", ".json"}, {"protobuf", ".binpb"},
             {"flatbuffer", ".bfbs"}, {"capnproto", ".bin"}};
  for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
    if (strlen(map[i].enc) == enc.len && memcmp(map[i].enc, enc.data, enc.len) == 0)
      return map[i].ext;
  return ".bin";
}

static int extract_schemas(struct extract *x, mcap_reader *r, const char *path, json_object *items,
                           json_object *failed) {
  size_t n = mcap_reader_schema_count(r);
  for (size_t i = 0; i < n; i++) {
    const mcap_schema *s = mcap_reader_schema_at(r, i);
    if (s->encoding.len == 0 && s->data.len == 0) {
      tell(x, 1, "schema %u has no data; skipped", (unsigned)s->id);
      continue;
    }
    char base[MAX_NAME + 1], final_name[MAX_NAME + 32], hex[33], why[512];
    uint64_t size = 0;
    safe_name(s->name.data, s->name.len, schema_ext(s->encoding), "schema", base);
    struct item_src src;
    memset(&src, 0, sizeof src);
    src.mem = s->data.data;
    src.mem_len = s->data.len;
    int rc = extract_one(x, NULL, &src, base, final_name, sizeof final_name, &size, hex, why,
                         sizeof why);
    if (rc != ITEM_OK) {
      tell(x, 0, "'%s': schema %u not extracted: %s", path, (unsigned)s->id, why);
      add_failure(failed, s->name, s->id, why);
      item_failed(x, rc);
      continue;
    }
    json_object *o = json_object_new_object();
    add_u64(o, "id", s->id);
    add_strn(o, "name", s->name);
    add_strn(o, "encoding", s->encoding);
    add_u64(o, "size", size);
    add_str(o, "file_name", final_name);
    add_str(o, "fingerprint", hex);
    json_object_array_add(items, o);
    if (add_item(x, final_name, size, s->name) != 0) return -1;
  }
  return 0;
}

/* Is DIR/manifest.json a manifest an earlier run wrote (so that it may be replaced)? */
static int our_manifest(struct extract *x) {
  int fd = openat(x->dirfd, MANIFEST, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return 0;
  struct stat st;
  int ours = 0;
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 && st.st_size < (64 << 20)) {
    char *text = malloc((size_t)st.st_size + 1);
    size_t have = 0;
    while (text && have < (size_t)st.st_size) {
      ssize_t n = read(fd, text + have, (size_t)st.st_size - have);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      have += (size_t)n;
    }
    if (text) {
      text[have] = '\0';
      json_object *doc = json_tokener_parse(text);
      json_object *alg = NULL;
      ours = doc && json_object_is_type(doc, json_type_object) &&
             json_object_object_get_ex(doc, "fingerprint_algorithm", &alg) &&
             json_object_object_get_ex(doc, "format_version", NULL);
      json_object_put(doc);
    }
    free(text);
  }
  close(fd);
  return ours;
}

/* Write the manifest text to DIR/manifest.json: never replacing a file, except an earlier
 * run's manifest when `replace` (then atomically). */
static int write_manifest(struct extract *x, const char *text, int replace) {
  char tmp[96];
  int fd = open_tmp(x, tmp, sizeof tmp);
  if (fd < 0) return -1;
  int ok = write_all(fd, text, strlen(text)) == 0 && write_all(fd, "\n", 1) == 0 && fsync(fd) == 0;
  int e = errno;
  if (close(fd) != 0 && ok) {
    ok = 0;
    e = errno;
  }
  if (ok && replace) {
    if (renameat(x->dirfd, tmp, x->dirfd, MANIFEST) != 0) {
      ok = 0;
      e = errno;
    }
  } else if (ok && renameat2(x->dirfd, tmp, x->dirfd, MANIFEST, RENAME_NOREPLACE) != 0) {
    e = errno;
    if (e == EINVAL || e == ENOSYS) {
      ok = linkat(x->dirfd, tmp, x->dirfd, MANIFEST, 0) == 0;
      e = errno;
    } else {
      ok = 0;
    }
  }
  unlinkat(x->dirfd, tmp, 0); /* gone already after a rename */
  if (ok) fsync(x->dirfd);
  errno = e;
  return ok ? 0 : -1;
}

/* mkdir -p: `path` and its missing parents. @return 0, or -1 (errno). */
static int make_dirs(const char *path) {
  char buf[4096];
  size_t n = strlen(path);
  if (n == 0 || n >= sizeof buf) {
    errno = ENAMETOOLONG;
    return -1;
  }
  memcpy(buf, path, n + 1);
  for (size_t i = 1; i <= n; i++) {
    if (buf[i] != '/' && buf[i] != '\0') continue;
    char c = buf[i];
    buf[i] = '\0';
    if (mkdir(buf, 0777) != 0 && errno != EEXIST) return -1;
    buf[i] = c;
  }
  return 0;
}

int pl_extract_items(mcap_reader *r, const char *file, pl_extract_kind kind, const char *dir,
                     const pl_extract_items_options *o, pl_extract_report **out,
                     pl_error_info *err) {
  static const pl_extract_items_options defaults;
  if (!r || !dir || !out || (kind != PL_EXTRACT_ATTACHMENTS && kind != PL_EXTRACT_SCHEMAS))
    return pl_error_set(err, PL_EINVAL, UINT64_MAX, "invalid argument");
  *out = NULL;
  int schemas = kind == PL_EXTRACT_SCHEMAS;
  struct extract x;
  memset(&x, 0, sizeof x);
  x.o = o ? o : &defaults;
  x.dir = dir;
  x.dirfd = -1;
  json_object *doc = NULL;
  int rc = PL_OK;
  x.rep = calloc(1, sizeof *x.rep);
  if (!x.rep) return pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
  if (make_dirs(dir) != 0) {
    rc = pl_error_set(err, PL_EIO, UINT64_MAX, "cannot create directory '%s': %s", dir,
                      strerror(errno));
    goto out;
  }
  x.dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (x.dirfd < 0) {
    rc = pl_error_set(err, PL_EIO, UINT64_MAX, "cannot open directory '%s': %s", dir,
                      strerror(errno));
    goto out;
  }
  x.hash = pl_hash_new();
  x.buf = malloc(COPY_BUF);
  if (!x.hash || !x.buf || remember(&x, MANIFEST) != 0) {
    rc = pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
    goto out;
  }
  struct stat st;
  int replace_manifest = 0;
  if (fstatat(x.dirfd, MANIFEST, &st, AT_SYMLINK_NOFOLLOW) == 0 || errno != ENOENT) {
    replace_manifest = our_manifest(&x);
    if (!replace_manifest) {
      rc = pl_error_set(err, PL_EINVAL, UINT64_MAX,
                        "'%s/%s' exists and is not a manifest of 'mcapkit extract'; extract into "
                        "another directory",
                        dir, MANIFEST);
      goto out;
    }
  }
  doc = json_object_new_object();
  json_object *items = json_object_new_array();
  json_object *failed = json_object_new_array();
  if (!doc || !items || !failed) {
    json_object_put(items);
    json_object_put(failed);
    rc = pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
    goto out;
  }
  json_object_object_add(doc, "format_version", json_object_new_int(1));
  add_str(doc, "file", file ? file : "");
  add_str(doc, "kind", schemas ? "schemas" : "attachments");
  add_str(doc, "fingerprint_algorithm", "xxh3-128");
  json_object_object_add(doc, schemas ? "schemas" : "attachments", items);
  json_object_object_add(doc, "failed", failed);
  if ((schemas ? extract_schemas(&x, r, file, items, failed)
               : extract_attachments(&x, r, file, items, failed)) != 0) {
    rc = pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
    goto out;
  }
  const char *text = json_object_to_json_string_ext(
      doc, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE);
  if (!text || write_manifest(&x, text, replace_manifest) != 0) {
    rc = pl_error_set(err, PL_EIO, UINT64_MAX, "cannot write '%s/%s': %s", dir, MANIFEST,
                      strerror(errno));
    goto out;
  }
  fsync(x.dirfd);
  x.rep->manifest = pl_strdup(text);
  if (!x.rep->manifest) rc = pl_error_set(err, PL_ENOMEM, UINT64_MAX, "out of memory");
out:
  json_object_put(doc);
  if (x.dirfd >= 0) close(x.dirfd);
  for (size_t i = 0; i < x.n_used; i++) free(x.used[i]);
  free(x.used);
  free(x.buf);
  pl_hash_free(x.hash);
  if (rc != PL_OK) {
    pl_extract_report_free(x.rep);
    return rc;
  }
  *out = x.rep;
  return PL_OK;
}

void pl_extract_report_free(pl_extract_report *r) {
  if (!r) return;
  for (size_t i = 0; i < r->n_items; i++) {
    free(r->items[i].file_name);
    free(r->items[i].source_name);
  }
  free(r->items);
  free(r->manifest);
  free(r);
}
