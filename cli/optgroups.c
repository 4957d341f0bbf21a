/*
 * optgroups.c - the shared option groups (see optgroups.h): compression,
 * time range, topic selection and API access, checked once for every
 * command that has them.
 */
#include "optgroups.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "output.h"
#include "pipeline/client.h"
#include "pipeline/rewrite.h"
#include "timeparse.h"

/* ------------------------------------------------------------ compression */

/* A level the codec has (when the codec is known: `c_known`), and --no-chunks alone
 * (--chunk-size, --compression and --compression-level apply to chunks only);
 * `compression_arg` is the --compression value as given (NULL if none). */
static int check_output_options(const cli_spec *spec, const char *compression_arg,
                                mcap_compression c, int c_known, int level, uint64_t chunk_size,
                                int no_chunks) {
  if (no_chunks && chunk_size)
    return cli_usage_error(spec, "'--no-chunks' and '--chunk-size' exclude each other");
  if (no_chunks && compression_arg)
    return cli_usage_error(spec,
                           "'--no-chunks' and '--compression' exclude each other "
                           "(only chunks are compressed)");
  if (no_chunks && level)
    return cli_usage_error(spec,
                           "'--no-chunks' and '--compression-level' exclude each other "
                           "(only chunks are compressed)");
  if (level && c_known) {
    int lo, hi;
    mcap_compression_levels(c, &lo, &hi);
    if (lo > hi)
      return cli_usage_error(spec, "'--compression-level' needs a compression (none has no level)");
    if (level < lo || level > hi)
      return cli_usage_error(spec, "'--compression-level %d' is out of range for %s (%d to %d)",
                             level, mcap_compression_name(c), lo, hi);
  }
  return CLI_CONTINUE;
}

int cli_compress_resolve(const cli_spec *spec, const cli_compress_args *g, mcap_compression dflt,
                         unsigned flags, mcap_compression *out) {
  int preserve = (flags & CLI_COMPRESS_PRESERVE) != 0;
  mcap_compression c = dflt;
  if (g->codec) {
    if (preserve && strcmp(g->codec, "preserve") == 0)
      c = MCAP_COMPRESSION_DEFAULT;
    else if (mcap_compression_parse(g->codec, &c) != MCAP_OK)
      return cli_usage_error(spec, "unknown compression '%s' (expected %s)", g->codec,
                             preserve ? "zstd, lz4, none or preserve" : "zstd, lz4 or none");
  }
  /* MCAP_COMPRESSION_DEFAULT stands for zstd where the input's codec is not kept */
  int known = !(preserve && c == MCAP_COMPRESSION_DEFAULT);
  if (known && c == MCAP_COMPRESSION_DEFAULT) c = MCAP_COMPRESSION_ZSTD;
  /* a command that always compresses treats a missing -c as "-c <default>" */
  const char *given = g->codec ? g->codec : (flags & CLI_COMPRESS_ALWAYS) ? "default" : NULL;
  int rc = check_output_options(spec, given, c, known, g->level, g->chunk_size, g->no_chunks);
  if (rc != CLI_CONTINUE) return rc;
  *out = c;
  return CLI_CONTINUE;
}

/* ------------------------------------------------------------- time range */

int cli_time_resolve(const cli_spec *spec, const cli_time_args *g, cli_time_range *out) {
  memset(out, 0, sizeof *out);
  char err[200];
  if (g->start) {
    if (cli_parse_time(g->start, &out->start, err, sizeof err) != 0)
      return cli_usage_error(spec, "bad '--start': %s", err);
    out->has_start = 1;
  }
  if (g->end) {
    if (cli_parse_time(g->end, &out->end, err, sizeof err) != 0)
      return cli_usage_error(spec, "bad '--end': %s", err);
    out->has_end = 1;
  }
  if (out->has_start && out->has_end && out->start > out->end)
    return cli_usage_error(spec, "the start (--start) is after the end (--end)");
  return CLI_CONTINUE;
}

/* -------------------------------------------------------- topic selection */

int cli_topics_resolve(const cli_spec *spec, const cli_topic_args *g) {
  const cli_strlist *lists[2] = {&g->include, &g->exclude};
  for (int i = 0; i < 2; i++) {
    if (!lists[i]->n) continue;
    pl_error_info err;
    memset(&err, 0, sizeof err);
    if (pl_rewrite_check_patterns(lists[i]->items, lists[i]->n, &err) != PL_OK)
      return cli_usage_error(spec, "%s", err.msg);
  }
  return CLI_CONTINUE;
}

/* ------------------------------------------------------------- API access */

#define DEFAULT_API_URL "https://api.foxglove.dev"

static volatile int interrupted;

static void on_signal(int sig) {
  (void)sig;
  interrupted = 1;
}

const volatile int *cli_api_cancel_flag(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  return &interrupted;
}

static void log_line(void *user, const char *line) {
  const cli_ctx *ctx = user;
  cli_verbose(ctx, "%s", line);
}

void cli_api_http_options(const cli_ctx *ctx, pl_http_options *o) {
  memset(o, 0, sizeof *o);
  o->log = log_line;
  o->log_user = (void *)ctx;
  o->cancel = cli_api_cancel_flag();
  /* for tests and slow links: MCAPKIT_HTTP_BACKOFF (first backoff in seconds) */
  const char *b = getenv("MCAPKIT_HTTP_BACKOFF");
  if (b && *b) {
    char *end = NULL;
    double v = strtod(b, &end);
    if (end && !*end && v > 0 && v < 60) o->backoff_initial_s = v;
  }
}

const char *cli_api_url(const cli_api_args *g) {
  if (g && g->url && *g->url) return g->url;
  const char *env = getenv("MCAPKIT_API_URL");
  return env && *env ? env : DEFAULT_API_URL;
}

int cli_api_key(const cli_ctx *ctx, const cli_api_args *g, char **key) {
  *key = NULL;
  const char *key_file = g ? g->key_file : NULL;
  if (key_file) {
    FILE *f = fopen(key_file, "r");
    if (!f) {
      cli_error(ctx, "cannot open the API key file '%s': %s", key_file, strerror(errno));
      return CLI_EXIT_FAILURE;
    }
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0) {
      cli_error(ctx, "cannot stat '%s': %s", key_file, strerror(errno));
      fclose(f);
      return CLI_EXIT_FAILURE;
    }
    if (sb.st_mode & (S_IRGRP | S_IROTH)) {
      cli_error(ctx,
                "the API key file '%s' is readable by others (mode %04o); "
                "restrict it with 'chmod 600 %s'",
                key_file, (unsigned)(sb.st_mode & 07777), key_file);
      fclose(f);
      return CLI_EXIT_FAILURE;
    }
    char buf[4096];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    size_t s = 0;
    while (buf[s] == ' ' || buf[s] == '\t' || buf[s] == '\n' || buf[s] == '\r') s++;
    size_t e = s;
    while (buf[e] && buf[e] != '\n' && buf[e] != '\r') e++;
    while (e > s && (buf[e - 1] == ' ' || buf[e - 1] == '\t')) e--;
    if (e == s) {
      cli_error(ctx, "the API key file '%s' is empty", key_file);
      return CLI_EXIT_FAILURE;
    }
    buf[e] = 0;
    *key = strdup(buf + s);
    memset(buf, 0, sizeof buf);
  } else {
    const char *env = getenv("FOXGLOVE_API_KEY");
    if (!env || !*env) {
      cli_error(ctx, "no API key: set FOXGLOVE_API_KEY or give '--api-key-file FILE'");
      return CLI_EXIT_FAILURE;
    }
    *key = strdup(env);
  }
  if (!*key) {
    cli_error(ctx, "out of memory");
    return CLI_EXIT_FAILURE;
  }
  return CLI_EXIT_OK;
}

void cli_api_key_free(char *key) {
  if (!key) return;
  volatile char *p = key;
  while (*p) *p++ = 0;
  free(key);
}

int cli_api_open(const cli_ctx *ctx, const cli_api_args *g, pl_http **out) {
  *out = NULL;
  char *key = NULL;
  int rc = cli_api_key(ctx, g, &key);
  if (rc != CLI_EXIT_OK) return rc;
  pl_http_options o;
  cli_api_http_options(ctx, &o);
  pl_error_info err;
  int prc = pl_http_new(out, cli_api_url(g), key, &o, &err);
  cli_api_key_free(key);
  if (prc != PL_OK) {
    cli_error(ctx, "%s", err.msg);
    return prc == PL_EINVAL ? CLI_EXIT_USAGE : CLI_EXIT_FAILURE;
  }
  return CLI_EXIT_OK;
}

int cli_api_exit_code(int pl_rc) {
  return pl_rc == PL_OK ? CLI_EXIT_OK : pl_rc == PL_EVERIFY ? CLI_EXIT_PROBLEMS : CLI_EXIT_FAILURE;
}
