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
#include "pipeline/import.h"
#include "pipeline/rewrite.h"

int cli_check_stdin(const cli_ctx *ctx) {
  if (!isatty(STDIN_FILENO)) return CLI_EXIT_OK;
  cli_error(ctx, "standard input is a terminal; give a file, or pipe an MCAP file in");
  return CLI_EXIT_USAGE;
}

int cli_open_reader(const cli_ctx *ctx, const char *path, int threads, mcap_reader **out) {
  mcap_source src;
  mcap_error_info err;
  memset(&src, 0, sizeof src);
  memset(&err, 0, sizeof err);
  *out = NULL;
  int is_stdin = strcmp(path, "-") == 0;
  if (is_stdin && cli_check_stdin(ctx) != CLI_EXIT_OK) return CLI_EXIT_USAGE;
  if (is_stdin || pl_input_is_stream(path)) {
    /* standard input or a pipe (/dev/fd/N, <(cmd)): indexed reading needs a file to seek in */
    pl_input in;
    pl_error_info perr;
    memset(&perr, 0, sizeof perr);
    if (pl_input_open(path, NULL, &in, &perr) != PL_OK) {
      cli_error(ctx, "%s", perr.msg);
      return CLI_EXIT_FAILURE;
    }
    int mrc = mcap_source_open_file(&src, in.path, &err);
    pl_input_release(&in); /* the source's own descriptor keeps the copy */
    if (mrc != MCAP_OK) {
      cli_error(ctx, "%s: %s", is_stdin ? "standard input" : path, err.msg);
      return CLI_EXIT_FAILURE;
    }
  } else if (mcap_source_open_file(&src, path, &err) != MCAP_OK) {
    char msg[600];
    cli_error(ctx, "%s", cli_open_error(msg, sizeof msg, path, &err, MCAP_EIO));
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

int cli_open_stream(const cli_ctx *ctx, const char *path, const char *stdin_name,
                    mcap_source *src) {
  mcap_error_info err;
  memset(src, 0, sizeof *src);
  memset(&err, 0, sizeof err);
  int is_stdin = strcmp(path, "-") == 0;
  int mrc = is_stdin ? mcap_source_from_fd(src, STDIN_FILENO, &err)
                     : mcap_source_open_file(src, path, &err);
  if (mrc == MCAP_OK) return CLI_EXIT_OK;
  char msg[600];
  cli_error(ctx, "%s",
            cli_open_error(msg, sizeof msg, is_stdin && stdin_name ? stdin_name : path, &err, mrc));
  return CLI_EXIT_FAILURE;
}

int cli_collect_recordings(const cli_ctx *ctx, const cli_spec *spec, char **args, size_t n,
                           const char *no_streams, cli_recordings *out) {
  return cli_collect_recordings_bags(ctx, spec, args, n, no_streams, -1, NULL, out);
}

/* mode -1: bags are not looked for (the command reads them as the MCAP files they are not). */
int cli_collect_recordings_bags(const cli_ctx *ctx, const cli_spec *spec, char **args, size_t n,
                                const char *no_streams, enum cli_bag_mode mode, const char *hint,
                                cli_recordings *out) {
  memset(out, 0, sizeof *out);
  const char **resolved = calloc(n ? n : 1, sizeof *resolved);
  out->inputs = calloc(n ? n : 1, sizeof *out->inputs);
  if (!resolved || !out->inputs) {
    free(resolved);
    cli_error(ctx, "out of memory");
    return CLI_EXIT_FAILURE;
  }
  pl_error_info err;
  memset(&err, 0, sizeof err);
  int rc = CLI_EXIT_OK;
  for (size_t i = 0; i < n; i++) resolved[i] = args[i];
  if ((int)mode >= 0) {
    int brc = cli_bag_inputs_prepare(ctx, &out->bags, (char **)resolved, n,
                                     mode == CLI_BAGS_CONVERT, hint ? hint : "");
    if (brc != CLI_CONTINUE) rc = brc;
  }
  for (size_t i = 0; i < n && rc == CLI_EXIT_OK; i++) {
    if (resolved[i] != args[i]) continue; /* a converted bag */
    int is_stdin = strcmp(args[i], "-") == 0;
    /* a descriptor path has no file name to keep, even when it leads to a regular file */
    if (no_streams && (strncmp(args[i], "/dev/fd/", 8) == 0 ||
                       strncmp(args[i], "/proc/self/fd/", 14) == 0)) {
      rc = cli_usage_error(spec, "'%s' is a file descriptor: %s", args[i], no_streams);
      break;
    }
    if (!is_stdin && !pl_input_is_stream(args[i])) continue;
    if (no_streams) {
      rc = cli_usage_error(spec, "'%s' is %s: %s", args[i],
                           is_stdin ? "standard input" : "not a regular file", no_streams);
      break;
    }
    if (is_stdin && cli_check_stdin(ctx) != CLI_EXIT_OK) {
      rc = CLI_EXIT_USAGE;
      break;
    }
    if (pl_input_open(args[i], NULL, &out->inputs[out->n_inputs], &err) != PL_OK) {
      cli_error(ctx, "%s", err.msg);
      rc = CLI_EXIT_FAILURE;
      break;
    }
    resolved[i] = out->inputs[out->n_inputs++].path;
  }
  if (rc == CLI_EXIT_OK && pl_collect_recordings(resolved, n, &out->paths, &out->n, &err) != PL_OK) {
    cli_error(ctx, "%s", err.msg);
    rc = CLI_EXIT_FAILURE;
  }
  if (rc == CLI_EXIT_OK && out->n == 0) {
    cli_error(ctx, "no recordings found in %s%s%s", n == 1 ? "'" : "the ", n == 1 ? args[0] : "arguments",
              n == 1 ? "'" : "");
    rc = CLI_EXIT_FAILURE;
  }
  if (rc == CLI_EXIT_OK) {
    out->names = calloc(out->n, sizeof *out->names);
    if (!out->names) {
      cli_error(ctx, "out of memory");
      rc = CLI_EXIT_FAILURE;
    }
  }
  for (size_t i = 0; rc == CLI_EXIT_OK && i < out->n; i++) {
    out->names[i] = out->paths[i];
    for (size_t k = 0; k < n; k++)
      if (resolved[k] != args[k] && strcmp(out->paths[i], resolved[k]) == 0)
        out->names[i] = args[k];
  }
  free(resolved);
  if (rc != CLI_EXIT_OK) cli_recordings_free(out);
  return rc;
}

void cli_recordings_free(cli_recordings *r) {
  pl_paths_free(r->paths, r->n);
  free(r->names);
  for (size_t i = 0; i < r->n_inputs; i++) pl_input_release(&r->inputs[i]);
  free(r->inputs);
  cli_bag_inputs_dispose(&r->bags);
  memset(r, 0, sizeof *r);
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

int cli_table_add_text(cli_table *t, mcap_str s) {
  char *cell = cli_one_line_view(s);
  int rc = cell ? 0 : -1;
  cli_table_add(t, "%s", cell ? cell : "?");
  free(cell);
  return rc;
}

int cli_table_add_long(cli_table *t, const char *text, size_t max_chars) {
  if (!text) {
    cli_table_add(t, "?");
    return -1;
  }
  size_t i = 0, chars = 0;
  while (text[i] && chars < max_chars - 3) {
    i++;
    while (((unsigned char)text[i] & 0xC0) == 0x80) i++; /* the rest of a character */
    chars++;
  }
  size_t more = 0;
  for (size_t k = i; text[k] && more <= 3; k++) more += ((unsigned char)text[k] & 0xC0) != 0x80;
  if (more <= 3)
    cli_table_add(t, "%s", text); /* fits (at most three characters were left) */
  else
    cli_table_add(t, "%.*s...", (int)i, text);
  return 0;
}

void cli_table_head(cli_table *t, const char *align, const char *const *names) {
  size_t n = strlen(align);
  cli_table_init(t, n, align);
  for (size_t i = 0; i < n; i++) cli_table_add(t, "%s", names[i]);
}
