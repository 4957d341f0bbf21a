/*
 * inspect.c - shared helpers of the inspect/extract commands (see inspect.h).
 */
#include "inspect.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "output.h"

#define SPOOL_BUF (1u << 20)

static int write_all(int fd, const uint8_t *p, size_t n) {
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

int cli_check_stdin(const cli_ctx *ctx) {
  if (!isatty(STDIN_FILENO)) return CLI_EXIT_OK;
  cli_error(ctx, "standard input is a terminal; give a file, or pipe an MCAP file in");
  return CLI_EXIT_USAGE;
}

int cli_spool_stdin(const cli_ctx *ctx, mcap_source *src) {
  int rc = cli_check_stdin(ctx);
  if (rc != CLI_EXIT_OK) return rc;
  mcap_error_info err;
  memset(&err, 0, sizeof err);
  memset(src, 0, sizeof *src);
  /* Standard input redirected from a regular file can be mapped as it is. */
  struct stat st;
  if (fstat(STDIN_FILENO, &st) == 0 && S_ISREG(st.st_mode) &&
      lseek(STDIN_FILENO, 0, SEEK_CUR) == 0 &&
      mcap_source_open_file(src, "/proc/self/fd/0", &err) == MCAP_OK)
    return CLI_EXIT_OK;

  const char *dir = getenv("TMPDIR");
  if (!dir || !*dir) dir = "/tmp";
  char path[4096];
  if (snprintf(path, sizeof path, "%s/mcapkit-stdin-XXXXXX", dir) >= (int)sizeof path) {
    cli_error(ctx, "TMPDIR is too long");
    return CLI_EXIT_FAILURE;
  }
  /* Unnamed where possible (O_TMPFILE), so that a killed run leaves no copy behind. */
  int named = 0, fd = -1;
#ifdef O_TMPFILE
  fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd >= 0) {
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    if (access(path, F_OK) != 0) {
      close(fd);
      fd = -1;
      snprintf(path, sizeof path, "%s/mcapkit-stdin-XXXXXX", dir);
    }
  }
#endif
  if (fd < 0) {
    fd = mkstemp(path);
    named = fd >= 0;
  }
  if (fd < 0) {
    cli_error(ctx, "cannot create a temporary file in '%s' for standard input: %s", dir,
              strerror(errno));
    return CLI_EXIT_FAILURE;
  }
  uint8_t *buf = malloc(SPOOL_BUF);
  rc = CLI_EXIT_FAILURE;
  if (!buf) {
    cli_error(ctx, "out of memory");
    goto out;
  }
  for (;;) {
    ssize_t n = read(STDIN_FILENO, buf, SPOOL_BUF);
    if (n < 0) {
      if (errno == EINTR) continue;
      cli_error(ctx, "reading standard input: %s", strerror(errno));
      goto out;
    }
    if (n == 0) break;
    if (write_all(fd, buf, (size_t)n) != 0) {
      cli_error(ctx, "copying standard input to a temporary file in '%s': %s", dir,
                strerror(errno));
      goto out;
    }
  }
  if (mcap_source_open_file(src, path, &err) != MCAP_OK) {
    cli_error(ctx, "cannot open the copy of standard input: %s", err.msg);
    goto out;
  }
  rc = CLI_EXIT_OK;
out:
  free(buf);
  if (named) unlink(path); /* the source's own descriptor keeps the data alive */
  close(fd);
  return rc;
}

int cli_open_reader(const cli_ctx *ctx, const char *path, int threads, mcap_reader **out) {
  mcap_source src;
  mcap_error_info err;
  memset(&src, 0, sizeof src);
  memset(&err, 0, sizeof err);
  *out = NULL;
  if (strcmp(path, "-") == 0) {
    int rc = cli_spool_stdin(ctx, &src);
    if (rc != CLI_EXIT_OK) return rc;
  } else if (mcap_source_open_file(&src, path, &err) != MCAP_OK) {
    cli_error(ctx, "cannot open '%s': %s", path, err.msg[0] ? err.msg : "unknown error");
    return CLI_EXIT_FAILURE;
  }
  mcap_indexed_options o;
  memset(&o, 0, sizeof o);
  o.threads = threads;
  o.skip_bad_chunks = 1; /* what cannot be read is reported at the end (cli_close_reader) */
  int mrc = mcap_reader_open(out, &src, &o, &err); /* takes the source */
  if (mrc != MCAP_OK) {
    cli_error(ctx, "'%s': %s", path, err.msg[0] ? err.msg : mcap_strerror(mrc));
    return CLI_EXIT_FAILURE;
  }
  const char *why = NULL;
  if (mcap_reader_index_source(*out, &why) == MCAP_INDEX_FROM_SCAN)
    cli_verbose(ctx, "'%s': %s; indexed by scanning the file", path,
                why && *why ? why : "no summary");
  return CLI_EXIT_OK;
}

int cli_close_reader(const cli_ctx *ctx, const char *path, mcap_reader *r) {
  if (!r) return CLI_EXIT_OK;
  mcap_damage d;
  mcap_reader_damage(r, &d);
  mcap_reader_free(r);
  return cli_report_damage(ctx, path, &d);
}

char *cli_str_dup(mcap_str s) {
  char *p = malloc((size_t)s.len + 1);
  if (!p) return NULL;
  if (s.len) memcpy(p, s.data, s.len);
  p[s.len] = '\0';
  return p;
}

json_object *cli_json_str_map(const mcap_map *m) {
  json_object *o = json_object_new_object();
  if (!o) return NULL;
  mcap_map_iter it = {0};
  mcap_str k, v;
  while (mcap_map_next_str(m, &it, &k, &v) == MCAP_OK) {
    char *key = cli_str_dup(k);
    if (!key) break;
    json_object_object_add(o, key, json_object_new_string_len(v.data ? v.data : "", (int)v.len));
    free(key);
  }
  return o;
}

char *cli_str_map_text(const mcap_map *m) {
  json_object *o = cli_json_str_map(m);
  if (!o) return NULL;
  const char *s =
      json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
  char *r = s ? strdup(s) : NULL;
  json_object_put(o);
  return r;
}

const char *cli_compression_label(mcap_str compression, char *buf, size_t n) {
  if (compression.len == 0) return "none";
  snprintf(buf, n, "%.*s", (int)compression.len, compression.data);
  return buf;
}

char *cli_one_line(const char *s) {
  size_t n = strlen(s);
  char *o = malloc(4 * n + 1), *p = o;
  if (!o) return NULL;
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '\n' || c == '\t' || c == '\r') {
      *p++ = '\\';
      *p++ = c == '\n' ? 'n' : c == '\t' ? 't' : 'r';
    } else if (c < 0x20 || c == 0x7f) {
      snprintf(p, 5, "\\x%02x", c);
      p += 4;
    } else {
      *p++ = (char)c;
    }
  }
  *p = '\0';
  return o;
}

char *cli_one_line_view(mcap_str s) {
  char *tmp = cli_str_dup(s);
  if (!tmp) return NULL;
  char *r = cli_one_line(tmp);
  free(tmp);
  return r;
}
