/*
 * cmd_extract.c - 'mcapkit extract attachments|schemas FILE -o DIR': every
 * attachment (or schema) into its own file in DIR, plus DIR/manifest.json.
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
 * command refuse to start.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <json-c/json.h>
#include <xxhash.h>

#include "cmd.h"
#include "inspect.h"
#include "mcap/mcap.h"
#include "output.h"

#define MAX_NAME 200 /* bytes of a file name we create (NAME_MAX is 255) */
#define COPY_BUF (1u << 20)
#define MANIFEST "manifest.json"

struct extract_args {
  const char *output;
  int json;
};

static const cli_opt extract_opts[] = {
    {"output", 'o', CLI_OPT_STRING, offsetof(struct extract_args, output), "DIR",
     "directory to extract into (created with its parents if missing); required"},
    {"json", 0, CLI_OPT_FLAG, offsetof(struct extract_args, json), NULL,
     "print the manifest to standard output as well"},
    {NULL, 0, CLI_OPT_FLAG, 0, NULL, NULL},
};

const cli_spec cmd_extract_spec = {
    "extract",
    "attachments|schemas FILE -o DIR [--json]",
    "attachments: writes each attachment of FILE ('-' = standard input) to its own file in DIR;\n"
    "a file counts as extracted only after the attachment CRC matched.\n"
    "schemas: writes each schema's data to a file named after the schema, with the customary\n"
    "extension of its encoding: .msg (ros1msg, ros2msg), .idl (ros2idl, omgidl), .json\n"
    "(jsonschema), .binpb (protobuf FileDescriptorSet), .bfbs (flatbuffer), .bin (other).\n"
    "Names are made safe (one path component, no hidden files, at most 200 bytes); existing\n"
    "files are never overwritten: taken names get numbered (name-1.ext). DIR/manifest.json\n"
    "lists every file with its fields and an XXH3-128 fingerprint (hex) of its content.\n"
    "Running it again into DIR writes nothing twice: a file already there with the same\n"
    "content is kept, and the manifest is replaced.\n"
    "Exit status 3 if some item could not be extracted (bad CRC, damaged record) or FILE\n"
    "could not be read whole.",
    extract_opts,
    2,
    2,
    CLI_ARGS_WORDS,
    "attachments schemas",
};

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
  cli_ctx *ctx;
  const char *dir;
  int dirfd;
  char **used; /* names given out in this run */
  size_t n_used;
  unsigned tmp_counter;
  XXH3_state_t *xxh;
  uint8_t *buf;
  int worst;
  size_t already; /* items found in DIR with the same content (an earlier run) */
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
  if (!(u[x->n_used] = strdup(name))) return -1;
  x->n_used++;
  return 0;
}

static void worse(struct extract *x, int code) {
  if (code == CLI_EXIT_FAILURE || x->worst == CLI_EXIT_OK) x->worst = code;
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
static int same_file(struct extract *x, const char *name, uint64_t size, XXH128_hash_t fp) {
  int fd = openat(x->dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return 0;
  struct stat st;
  int same = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size == size;
  if (same) {
    XXH3_128bits_reset(x->xxh);
    for (;;) {
      ssize_t n = read(fd, x->buf, COPY_BUF);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) same = 0;
      if (n <= 0) break;
      XXH3_128bits_update(x->xxh, x->buf, (size_t)n);
    }
    same = same && XXH128_isEqual(XXH3_128bits_digest(x->xxh), fp);
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
                 XXH128_hash_t fp, char *out, size_t cap, int *existed) {
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

/*
 * Copy one item into DIR under (a variant of) `name`. On success the final
 * name is in final_name and the fingerprint in hex (33 bytes).
 * @return CLI_EXIT_OK, CLI_EXIT_PROBLEMS (the data is bad; message in why),
 *         CLI_EXIT_FAILURE (I/O; message in why).
 */
static int extract_one(struct extract *x, mcap_reader *r, struct item_src *src, const char *name,
                       char *final_name, size_t cap, uint64_t *size, char *hex, char *why,
                       size_t why_len) {
  char tmp[96];
  int fd = open_tmp(x, tmp, sizeof tmp);
  if (fd < 0) {
    snprintf(why, why_len, "cannot create a file in '%s': %s", x->dir, strerror(errno));
    return CLI_EXIT_FAILURE;
  }
  int rc = CLI_EXIT_OK;
  XXH3_128bits_reset(x->xxh);
  *size = 0;
  for (;;) {
    size_t got = 0;
    int mrc = src_read(src, x->buf, COPY_BUF, &got);
    if (mrc != MCAP_OK) {
      snprintf(why, why_len, "%s", r ? mcap_reader_errmsg(r) : mcap_strerror(mrc));
      rc = mrc == MCAP_EIO || mrc == MCAP_ENOMEM ? CLI_EXIT_FAILURE : CLI_EXIT_PROBLEMS;
      break;
    }
    if (got == 0) break; /* for attachments: the CRC has been checked */
    XXH3_128bits_update(x->xxh, x->buf, got);
    if (write_all(fd, x->buf, got) != 0) {
      snprintf(why, why_len, "writing in '%s': %s", x->dir, strerror(errno));
      rc = CLI_EXIT_FAILURE;
      break;
    }
    *size += got;
  }
  if (rc == CLI_EXIT_OK && fsync(fd) != 0) {
    snprintf(why, why_len, "writing in '%s': %s", x->dir, strerror(errno));
    rc = CLI_EXIT_FAILURE;
  }
  if (close(fd) != 0 && rc == CLI_EXIT_OK) {
    snprintf(why, why_len, "writing in '%s': %s", x->dir, strerror(errno));
    rc = CLI_EXIT_FAILURE;
  }
  XXH128_hash_t fp = XXH3_128bits_digest(x->xxh);
  int existed = 0;
  if (rc == CLI_EXIT_OK && place(x, tmp, name, *size, fp, final_name, cap, &existed) != 0) {
    snprintf(why, why_len, "cannot name a file '%s' in '%s': %s", name, x->dir, strerror(errno));
    rc = CLI_EXIT_FAILURE;
  }
  if (rc != CLI_EXIT_OK) {
    unlinkat(x->dirfd, tmp, 0);
    return rc;
  }
  x->already += existed;
  if (remember(x, final_name) != 0) {
    snprintf(why, why_len, "out of memory");
    return CLI_EXIT_FAILURE;
  }
  XXH128_canonical_t canon;
  XXH128_canonicalFromHash(&canon, fp);
  for (int i = 0; i < 16; i++) snprintf(hex + 2 * i, 3, "%02x", canon.digest[i]);
  return CLI_EXIT_OK;
}

static void add_failure(json_object *failed, const char *name_key, mcap_str name, uint64_t offset,
                        const char *why) {
  json_object *o = json_object_new_object();
  cli_json_add_strn(o, name_key, name.data, name.len);
  cli_json_add_u64(o, "offset", offset);
  cli_json_add_str(o, "error", why);
  json_object_array_add(failed, o);
}

static void extract_attachments(struct extract *x, mcap_reader *r, const char *path,
                                json_object *items, json_object *failed, cli_table *t) {
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
      rc = mrc == MCAP_EIO || mrc == MCAP_ENOMEM ? CLI_EXIT_FAILURE : CLI_EXIT_PROBLEMS;
    } else {
      rc =
          extract_one(x, r, &src, base, final_name, sizeof final_name, &size, hex, why, sizeof why);
    }
    mcap_attachment_stream_free(src.stream);
    if (rc != CLI_EXIT_OK) {
      cli_error(x->ctx, "'%s': attachment '%.*s' at offset %llu not extracted: %s", path,
                (int)ai->name.len, ai->name.data, (unsigned long long)ai->offset, why);
      add_failure(failed, "name", ai->name, ai->offset, why);
      worse(x, rc);
      continue;
    }
    json_object *o = json_object_new_object();
    cli_json_add_strn(o, "name", ai->name.data, ai->name.len);
    cli_json_add_strn(o, "media_type", fields.media_type.data, fields.media_type.len);
    cli_json_add_time(o, "log_time", fields.log_time);
    cli_json_add_time(o, "create_time", fields.create_time);
    cli_json_add_u64(o, "crc", fields.crc);
    cli_json_add_bool(o, "crc_checked", fields.crc != 0);
    cli_json_add_u64(o, "size", size);
    cli_json_add_u64(o, "offset", ai->offset);
    cli_json_add_str(o, "file_name", final_name);
    cli_json_add_str(o, "fingerprint", hex);
    json_object_array_add(items, o);
    cli_table_add(t, "%s", final_name);
    cli_table_add(t, "%llu", (unsigned long long)size);
    char *shown = cli_one_line_view(ai->name);
    cli_table_add(t, "%s", shown ? shown : "?");
    free(shown);
  }
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

static void extract_schemas(struct extract *x, mcap_reader *r, const char *path, json_object *items,
                            json_object *failed, cli_table *t) {
  size_t n = mcap_reader_schema_count(r);
  for (size_t i = 0; i < n; i++) {
    const mcap_schema *s = mcap_reader_schema_at(r, i);
    if (s->encoding.len == 0 && s->data.len == 0) {
      cli_verbose(x->ctx, "schema %u has no data; skipped", (unsigned)s->id);
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
    if (rc != CLI_EXIT_OK) {
      cli_error(x->ctx, "'%s': schema %u not extracted: %s", path, (unsigned)s->id, why);
      add_failure(failed, "name", s->name, s->id, why);
      worse(x, rc);
      continue;
    }
    json_object *o = json_object_new_object();
    cli_json_add_u64(o, "id", s->id);
    cli_json_add_strn(o, "name", s->name.data, s->name.len);
    cli_json_add_strn(o, "encoding", s->encoding.data, s->encoding.len);
    cli_json_add_u64(o, "size", size);
    cli_json_add_str(o, "file_name", final_name);
    cli_json_add_str(o, "fingerprint", hex);
    json_object_array_add(items, o);
    cli_table_add(t, "%s", final_name);
    cli_table_add(t, "%llu", (unsigned long long)size);
    char *shown = cli_one_line_view(s->name);
    cli_table_add(t, "%s", shown ? shown : "?");
    free(shown);
  }
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

int cmd_extract(cli_ctx *ctx, int argc, char **argv) {
  struct extract_args a;
  memset(&a, 0, sizeof a);
  int first;
  int rc = cli_parse(ctx, &cmd_extract_spec, argc, argv, &a, &first);
  if (rc != CLI_CONTINUE) return rc;
  const char *kind = argv[first], *path = argv[first + 1];
  int schemas;
  if (strcmp(kind, "attachments") == 0 || strcmp(kind, "attachment") == 0)
    schemas = 0;
  else if (strcmp(kind, "schemas") == 0 || strcmp(kind, "schema") == 0)
    schemas = 1;
  else
    return cli_usage_error(&cmd_extract_spec, "unknown kind '%s' (expected attachments or schemas)",
                           kind);
  if (!a.output || !*a.output) return cli_usage_error(&cmd_extract_spec, "missing '-o DIR'");

  struct extract x;
  memset(&x, 0, sizeof x);
  x.ctx = ctx;
  x.dir = a.output;
  x.dirfd = -1;
  x.worst = CLI_EXIT_OK;
  mcap_reader *r = NULL;
  json_object *doc = NULL;
  cli_table t;
  cli_table_init(&t, 3, "lrl");
  cli_table_add(&t, "file");
  cli_table_add(&t, "bytes");
  cli_table_add(&t, schemas ? "schema" : "attachment");

  if (make_dirs(a.output) != 0) {
    cli_error(ctx, "cannot create directory '%s': %s", a.output, strerror(errno));
    rc = CLI_EXIT_FAILURE;
    goto out;
  }
  x.dirfd = open(a.output, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (x.dirfd < 0) {
    cli_error(ctx, "cannot open directory '%s': %s", a.output, strerror(errno));
    rc = CLI_EXIT_FAILURE;
    goto out;
  }
  x.xxh = XXH3_createState();
  x.buf = malloc(COPY_BUF);
  if (!x.xxh || !x.buf || remember(&x, MANIFEST) != 0) {
    cli_error(ctx, "out of memory");
    rc = CLI_EXIT_FAILURE;
    goto out;
  }
  struct stat st;
  int replace_manifest = 0;
  if (fstatat(x.dirfd, MANIFEST, &st, AT_SYMLINK_NOFOLLOW) == 0 || errno != ENOENT) {
    replace_manifest = our_manifest(&x);
    if (!replace_manifest) {
      cli_error(ctx,
                "'%s/%s' exists and is not a manifest of 'mcapkit extract'; extract into "
                "another directory",
                a.output, MANIFEST);
      rc = CLI_EXIT_FAILURE;
      goto out;
    }
  }
  rc = cli_open_reader(ctx, path, 1, &r);
  if (rc != CLI_EXIT_OK) goto out;

  doc = cli_json_document();
  json_object *items = json_object_new_array();
  json_object *failed = json_object_new_array();
  cli_json_add_str(doc, "file", path);
  cli_json_add_str(doc, "kind", schemas ? "schemas" : "attachments");
  cli_json_add_str(doc, "fingerprint_algorithm", "xxh3-128");
  json_object_object_add(doc, schemas ? "schemas" : "attachments", items);
  json_object_object_add(doc, "failed", failed);
  if (schemas)
    extract_schemas(&x, r, path, items, failed, &t);
  else
    extract_attachments(&x, r, path, items, failed, &t);

  const char *text = json_object_to_json_string_ext(
      doc, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE);
  if (!text || write_manifest(&x, text, replace_manifest) != 0) {
    cli_error(ctx, "cannot write '%s/%s': %s", a.output, MANIFEST, strerror(errno));
    rc = CLI_EXIT_FAILURE;
    goto out;
  }
  fsync(x.dirfd);
  if (a.json || ctx->json) {
    if (cli_json_print(stdout, doc) != 0) x.worst = CLI_EXIT_FAILURE;
    doc = NULL; /* released by cli_json_print */
  } else {
    size_t n_items = json_object_array_length(items);
    if (n_items) cli_table_print(&t, stdout, NULL);
    char already[64] = "";
    if (x.already) snprintf(already, sizeof already, "%zu already there; ", x.already);
    printf("extracted %zu %s%s to '%s' (%slist in '%s/%s')\n", n_items,
           schemas ? "schema" : "attachment", n_items == 1 ? "" : "s", a.output, already,
           a.output, MANIFEST);
  }
  rc = x.worst;
out:
  json_object_put(doc);
  cli_table_dispose(&t);
  {
    int drc = cli_close_reader(ctx, path, r);
    if (rc == CLI_EXIT_OK) rc = drc;
  }
  if (x.dirfd >= 0) close(x.dirfd);
  for (size_t i = 0; i < x.n_used; i++) free(x.used[i]);
  free(x.used);
  free(x.buf);
  XXH3_freeState(x.xxh);
  return rc;
}
