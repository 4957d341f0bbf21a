/*
 * bag_input.c - ROS bags given to commands that read MCAP: converted into a
 * temporary MCAP file through pl_convert_to_temp (see bag_input.h).
 */
#include "bag_input.h"

#include <errno.h>
#include <libgen.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "output.h"
#include "pipeline/convert.h"

void cli_print_convert_problem(const cli_ctx *ctx, const pl_convert_problem *p) {
  if (p->offset != UINT64_MAX)
    cli_error(ctx, "%s'%s': offset %llu: %s", p->loss ? "" : "warning: ", p->file,
              (unsigned long long)p->offset, p->message);
  else if (p->row >= 0)
    cli_error(ctx, "%s'%s': row %lld: %s", p->loss ? "" : "warning: ", p->file,
              (long long)p->row, p->message);
  else
    cli_error(ctx, "%s'%s': %s", p->loss ? "" : "warning: ", p->file, p->message);
}

static const char *kind_phrase(pl_convert_kind k) {
  switch (k) {
    case PL_CONVERT_KIND_ROS1_BAG: return "ROS 1 bag";
    case PL_CONVERT_KIND_ROS2_DB3: return "rosbag2 SQLite database";
    case PL_CONVERT_KIND_ROS2_DIR: return "rosbag2 folder";
    default: return "file of another format";
  }
}

/* A private folder for converted files: $TMPDIR or /tmp, mode 0700. */
static char *make_dir(const cli_ctx *ctx) {
  const char *base = getenv("TMPDIR");
  if (!base || !*base) base = "/tmp";
  size_t len = strlen(base) + 32;
  char *d = malloc(len);
  if (!d) {
    cli_error(ctx, "out of memory");
    return NULL;
  }
  snprintf(d, len, "%s/mcapkit-bag-XXXXXX", base);
  if (!mkdtemp(d)) {
    cli_error(ctx, "cannot create a temporary folder in '%s': %s", base, strerror(errno));
    free(d);
    return NULL;
  }
  return d;
}

/* DIR/STEM.mcap, STEM the input's last name component without .bag/.db3/.db3.zstd. */
static char *named_path(const char *dir, const char *input) {
  char *copy = strdup(input);
  if (!copy) return NULL;
  size_t l = strlen(copy);
  while (l > 1 && copy[l - 1] == '/') copy[--l] = '\0';
  char *stem = basename(copy);
  static const char *const exts[] = {".db3.zstd", ".bag", ".db3", ".mcap"};
  size_t sl = strlen(stem);
  for (size_t k = 0; k < sizeof exts / sizeof exts[0]; k++) {
    size_t el = strlen(exts[k]);
    if (sl > el && strcmp(stem + sl - el, exts[k]) == 0) {
      stem[sl - el] = '\0';
      break;
    }
  }
  if (!*stem || strcmp(stem, ".") == 0 || strcmp(stem, "..") == 0 || strcmp(stem, "/") == 0)
    stem = "converted";
  size_t len = strlen(dir) + strlen(stem) + 8;
  char *p = malloc(len);
  if (p) snprintf(p, len, "%s/%s.mcap", dir, stem);
  free(copy);
  return p;
}

static int convert_one(const cli_ctx *ctx, cli_bag_inputs *b, size_t i, char **paths) {
  pl_convert_options o;
  memset(&o, 0, sizeof o);
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  o.writer.workers = cores > 1 ? (int)cores : 0;
  pl_convert *cv = NULL;
  if (pl_convert_new(&cv, &o) != PL_CONVERT_OK) {
    cli_error(ctx, "out of memory");
    return CLI_EXIT_FAILURE;
  }
  char *tmp = NULL;
  const char *in = paths[i];
  /* The MCAP is named after the input (run1.bag -> run1.mcap) in a private folder, so the
     name a command shows or uploads is the user's, not a random one. */
  char *dir = make_dir(ctx);
  if (!dir) {
    pl_convert_free(cv);
    return CLI_EXIT_FAILURE;
  }
  b->dir[i] = dir;
  int rc = pl_convert_to_temp(cv, &in, 1, dir, &tmp);
  const pl_convert_report *r = pl_convert_get_report(cv);
  for (size_t k = 0; k < r->n_problems; k++) cli_print_convert_problem(ctx, &r->problems[k]);
  if (r->n_problems_total > r->n_problems)
    cli_error(ctx, "%zu more problems not shown", r->n_problems_total - r->n_problems);
  if (rc != PL_CONVERT_OK) {
    const char *m = pl_convert_errmsg(cv);
    cli_error(ctx, "'%s': cannot convert: %s", in, m[0] ? m : pl_convert_strerror(rc));
    pl_convert_free(cv);
    return CLI_EXIT_FAILURE;
  }
  char *named = named_path(dir, in);
  if (!named || rename(tmp, named) != 0) {
    cli_error(ctx, "'%s': cannot rename the converted file: %s", tmp,
              named ? strerror(errno) : "out of memory");
    unlink(tmp);
    free(tmp);
    free(named);
    pl_convert_free(cv);
    return CLI_EXIT_FAILURE;
  }
  free(tmp);
  tmp = named;
  if (r->damaged) b->lost = 1;
  cli_verbose(ctx, "'%s': converted to '%s' (%llu messages on %zu topics)", in, tmp,
              (unsigned long long)r->messages, r->n_topics);
  pl_convert_free(cv);
  b->orig[i] = strdup(in);
  if (!b->orig[i]) {
    unlink(tmp);
    free(tmp);
    cli_error(ctx, "out of memory");
    return CLI_EXIT_FAILURE;
  }
  b->tmp[i] = tmp;
  b->converted++;
  paths[i] = tmp;
  return CLI_CONTINUE;
}

int cli_bag_inputs_prepare(const cli_ctx *ctx, cli_bag_inputs *b, char **paths, size_t n,
                           int allow, const char *hint) {
  memset(b, 0, sizeof *b);
  if (n == 0) return CLI_CONTINUE;
  b->orig = calloc(n, sizeof *b->orig);
  b->tmp = calloc(n, sizeof *b->tmp);
  b->dir = calloc(n, sizeof *b->dir);
  if (!b->orig || !b->tmp || !b->dir) {
    cli_error(ctx, "out of memory");
    return CLI_EXIT_FAILURE;
  }
  b->n = n;
  for (size_t i = 0; i < n; i++) {
    /* Only named regular files and folders: looking at the first bytes of a pipe would
     * consume them, and a descriptor path has no name to give the converted file. */
    struct stat st;
    if (strcmp(paths[i], "-") == 0 || strncmp(paths[i], "/dev/fd/", 8) == 0 ||
        strncmp(paths[i], "/proc/", 6) == 0 || stat(paths[i], &st) != 0 ||
        !(S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)))
      continue;
    pl_convert_kind k = PL_CONVERT_KIND_UNKNOWN;
    mcap_error_info e;
    memset(&e, 0, sizeof e);
    /* An input that cannot be opened is left to the command, which says so in its words. */
    if (pl_convert_detect(paths[i], &k, &e) != PL_CONVERT_OK) continue;
    if (k == PL_CONVERT_KIND_MCAP || k == PL_CONVERT_KIND_UNKNOWN) continue;
    if (!allow) {
      cli_error(ctx, "'%s': a %s, not an MCAP file; %s", paths[i], kind_phrase(k),
                hint);
      return CLI_EXIT_FAILURE;
    }
    int rc = convert_one(ctx, b, i, paths);
    if (rc != CLI_CONTINUE) return rc;
  }
  return CLI_CONTINUE;
}

const char *cli_bag_inputs_name(const cli_bag_inputs *b, size_t i, const char *path) {
  return i < b->n && b->orig[i] ? b->orig[i] : path;
}

const char *cli_bag_inputs_shown(const cli_bag_inputs *b, const char *path) {
  for (size_t i = 0; i < b->n; i++)
    if (b->tmp[i] && strcmp(b->tmp[i], path) == 0) return b->orig[i];
  return path;
}

void cli_bag_inputs_dispose(cli_bag_inputs *b) {
  for (size_t i = 0; i < b->n; i++) {
    if (b->tmp && b->tmp[i]) {
      unlink(b->tmp[i]);
      free(b->tmp[i]);
    }
    if (b->dir && b->dir[i]) {
      rmdir(b->dir[i]);
      free(b->dir[i]);
    }
    if (b->orig) free(b->orig[i]);
  }
  free(b->dir);
  free(b->tmp);
  free(b->orig);
  memset(b, 0, sizeof *b);
}
