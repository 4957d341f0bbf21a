/*
 * opt.c - option tables to getopt_long parsing and --help text (see opt.h).
 */
#include "opt.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "exitcodes.h"

/* Long-only options are returned by getopt_long as OPT_BASE + table index. */
#define OPT_BASE 256

static size_t count_opts(const cli_spec *spec) {
  size_t n = 0;
  if (spec->opts)
    while (spec->opts[n].name) n++;
  return n;
}

static int takes_value(const cli_opt *o) {
  return o->kind != CLI_OPT_FLAG;
}

void cli_print_usage(FILE *f, const cli_spec *spec) {
  if (spec->synopsis && spec->synopsis[0])
    fprintf(f, "usage: mcapkit %s %s\n", spec->name, spec->synopsis);
  else
    fprintf(f, "usage: mcapkit %s\n", spec->name);
}

static void vusage_error(const cli_spec *spec, const char *fmt, va_list ap) {
  fprintf(stderr, "mcapkit %s: ", spec->name);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  cli_print_usage(stderr, spec);
}

int cli_usage_error(const cli_spec *spec, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vusage_error(spec, fmt, ap);
  va_end(ap);
  return CLI_EXIT_USAGE;
}

/* Left column of a help line: "  -o, --output FILE" / "      --seed N". */
static int help_left(char *buf, size_t n, const cli_opt *o) {
  int len;
  if (o->short_name)
    len = snprintf(buf, n, "  -%c, --%s", o->short_name, o->name);
  else
    len = snprintf(buf, n, "      --%s", o->name);
  if (len < 0) return 0;
  if ((size_t)len < n && takes_value(o)) {
    int more = snprintf(buf + len, n - (size_t)len, " %s", o->value_name ? o->value_name : "VALUE");
    if (more > 0) len += more;
  }
  return (size_t)len < n ? len : (int)n - 1;
}

void cli_print_help(FILE *f, const cli_spec *spec, const char *summary) {
  static const cli_opt help_opt = {"help", 'h', CLI_OPT_FLAG, 0, NULL, "show this help"};
  enum { MAX_LEFT = 34 };
  char left[128];
  size_t n = count_opts(spec);
  int width = 0;

  cli_print_usage(f, spec);
  if (summary && summary[0]) fprintf(f, "\n%s\n", summary);
  fputs("\noptions:\n", f);
  for (size_t i = 0; i <= n; i++) {
    const cli_opt *o = i < n ? &spec->opts[i] : &help_opt;
    if (!o->help) continue; /* a hidden alias */
    int len = help_left(left, sizeof left, o);
    if (len > width && len <= MAX_LEFT) width = len;
  }
  for (size_t i = 0; i <= n; i++) {
    const cli_opt *o = i < n ? &spec->opts[i] : &help_opt;
    if (!o->help) continue;
    int len = help_left(left, sizeof left, o);
    if (len > width)
      fprintf(f, "%s\n%*s  %s\n", left, width, "", o->help ? o->help : "");
    else
      fprintf(f, "%-*s  %s\n", width, left, o->help ? o->help : "");
  }
  if (spec->description && spec->description[0]) fprintf(f, "\n%s\n", spec->description);
}

int cli_parse_u64(const char *s, uint64_t *out) {
  if (!s || *s < '0' || *s > '9') return -1; /* no sign, no space, not empty */
  errno = 0;
  char *end = NULL;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno == ERANGE || *end != '\0') return -1;
  *out = (uint64_t)v;
  return 0;
}

int cli_parse_bytes(const char *s, uint64_t *out) {
  if (!s || *s < '0' || *s > '9') return -1;
  errno = 0;
  char *end = NULL;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno == ERANGE) return -1;
  uint64_t mult = 1;
  const char *suffix = end;
  if (*suffix) {
    switch (*suffix) {
      case 'k':
      case 'K':
        mult = UINT64_C(1) << 10;
        break;
      case 'm':
      case 'M':
        mult = UINT64_C(1) << 20;
        break;
      case 'g':
      case 'G':
        mult = UINT64_C(1) << 30;
        break;
      case 't':
      case 'T':
        mult = UINT64_C(1) << 40;
        break;
      case 'b':
      case 'B':
        break;
      default:
        return -1;
    }
    if (*suffix == 'b' || *suffix == 'B') {
      if (suffix[1]) return -1;
    } else if (suffix[1] && strcmp(suffix + 1, "iB") != 0 && strcmp(suffix + 1, "B") != 0) {
      return -1;
    }
  }
  uint64_t r;
  if (__builtin_mul_overflow((uint64_t)v, mult, &r)) return -1;
  *out = r;
  return 0;
}

/* Store one value; on a bad value print the usage error and return CLI_EXIT_USAGE. */
static int store_value(const cli_spec *spec, const cli_opt *o, const char *val, void *args) {
  char *base = (char *)args + o->offset;
  switch (o->kind) {
    case CLI_OPT_FLAG: {
      int v;
      memcpy(&v, base, sizeof v);
      v++;
      memcpy(base, &v, sizeof v);
      return 0;
    }
    case CLI_OPT_STRING:
      memcpy(base, &val, sizeof val);
      return 0;
    case CLI_OPT_U64: {
      uint64_t v;
      if (cli_parse_u64(val, &v) != 0)
        return cli_usage_error(spec, "option '--%s' expects a non-negative integer, got '%s'",
                               o->name, val);
      memcpy(base, &v, sizeof v);
      return 0;
    }
    case CLI_OPT_BYTES: {
      uint64_t v;
      if (cli_parse_bytes(val, &v) != 0)
        return cli_usage_error(spec,
                               "option '--%s' expects a byte count like 4096, 512K or 4M, got '%s'",
                               o->name, val);
      memcpy(base, &v, sizeof v);
      return 0;
    }
    case CLI_OPT_INT: {
      errno = 0;
      char *end = NULL;
      long v = *val ? strtol(val, &end, 10) : 0;
      if (!*val || errno == ERANGE || *end != '\0' || v < INT_MIN || v > INT_MAX)
        return cli_usage_error(spec, "option '--%s' expects an integer, got '%s'", o->name, val);
      int iv = (int)v;
      memcpy(base, &iv, sizeof iv);
      return 0;
    }
    case CLI_OPT_DOUBLE: {
      errno = 0;
      char *end = NULL;
      double v = *val ? strtod(val, &end) : 0;
      if (!*val || errno == ERANGE || *end != '\0' || !isfinite(v))
        return cli_usage_error(spec, "option '--%s' expects a number, got '%s'", o->name, val);
      memcpy(base, &v, sizeof v);
      return 0;
    }
    case CLI_OPT_LIST: {
      cli_strlist l;
      memcpy(&l, base, sizeof l);
      const char **items = realloc(l.items, (l.n + 1) * sizeof *items);
      if (!items) {
        fprintf(stderr, "mcapkit %s: out of memory\n", spec->name);
        return CLI_EXIT_FAILURE;
      }
      items[l.n++] = val;
      l.items = items;
      memcpy(base, &l, sizeof l);
      return 0;
    }
  }
  return 0;
}

void cli_opt_dispose(const cli_spec *spec, void *args) {
  size_t n = count_opts(spec);
  for (size_t i = 0; i < n; i++) {
    if (spec->opts[i].kind != CLI_OPT_LIST) continue;
    char *base = (char *)args + spec->opts[i].offset;
    cli_strlist l;
    memcpy(&l, base, sizeof l);
    free(l.items);
    l.items = NULL;
    l.n = 0;
    memcpy(base, &l, sizeof l);
  }
}

int cli_parse(const cli_ctx *ctx, const cli_spec *spec, int argc, char **argv, void *args,
              int *first_arg) {
  size_t n = count_opts(spec);
  struct option *lo = calloc(n + 2, sizeof *lo);
  char *shorts = malloc(3 * n + 8);
  int rc = CLI_CONTINUE;
  if (!lo || !shorts) {
    fprintf(stderr, "mcapkit %s: out of memory\n", spec->name);
    rc = CLI_EXIT_FAILURE;
    goto out;
  }
  /* ':' first: report a missing value as ':' instead of printing anything */
  size_t k = 0;
  shorts[k++] = ':';
  for (size_t i = 0; i < n; i++) {
    const cli_opt *o = &spec->opts[i];
    lo[i].name = o->name;
    lo[i].has_arg = takes_value(o) ? required_argument : no_argument;
    lo[i].flag = NULL;
    lo[i].val = OPT_BASE + (int)i;
    if (o->short_name) {
      shorts[k++] = (char)o->short_name;
      if (takes_value(o)) shorts[k++] = ':';
    }
  }
  shorts[k++] = 'h';
  shorts[k] = '\0';
  lo[n].name = "help";
  lo[n].has_arg = no_argument;
  lo[n].val = 'h';

  optind = 0; /* full reinitialisation of GNU getopt */
  opterr = 0;
  for (;;) {
    int c = getopt_long(argc, argv, shorts, lo, NULL);
    if (c == -1) break;
    if (c == 'h') {
      const char *summary = ctx && ctx->cmd && ctx->cmd->spec == spec ? ctx->cmd->desc : NULL;
      cli_print_help(stdout, spec, summary);
      rc = CLI_EXIT_OK;
      goto out;
    }
    if (c == '?') {
      if (optopt > 0 && optopt < OPT_BASE)
        rc = cli_usage_error(spec, "unknown option '-%c'", optopt);
      else
        rc = cli_usage_error(spec, "unknown option '%s'", argv[optind - 1]);
      goto out;
    }
    if (c == ':') {
      if (optopt >= OPT_BASE && (size_t)(optopt - OPT_BASE) < n)
        rc = cli_usage_error(spec, "option '--%s' needs a value",
                             spec->opts[optopt - OPT_BASE].name);
      else
        rc = cli_usage_error(spec, "option '-%c' needs a value", optopt);
      goto out;
    }
    const cli_opt *o = NULL;
    if (c >= OPT_BASE && (size_t)(c - OPT_BASE) < n) {
      o = &spec->opts[c - OPT_BASE];
    } else {
      for (size_t i = 0; i < n; i++)
        if (spec->opts[i].short_name == c) o = &spec->opts[i];
    }
    if (!o) {
      rc = cli_usage_error(spec, "unknown option '%s'", argv[optind - 1]);
      goto out;
    }
    int st = store_value(spec, o, optarg, args);
    if (st != 0) {
      rc = st;
      goto out;
    }
  }
  int nargs = argc - optind;
  if (nargs < spec->min_args) {
    rc = cli_usage_error(spec, "%s", nargs == 0 ? "missing arguments" : "too few arguments");
    goto out;
  }
  if (spec->max_args >= 0 && nargs > spec->max_args) {
    rc = cli_usage_error(spec, "unexpected argument '%s'", argv[optind + spec->max_args]);
    goto out;
  }
  *first_arg = optind;
out:
  free(lo);
  free(shorts);
  if (rc != CLI_CONTINUE) cli_opt_dispose(spec, args);
  return rc;
}
