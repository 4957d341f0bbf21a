/*
 * opt.h - declarative command-line options: each command describes its
 * options once in a static table; cli_parse() builds a getopt_long parser
 * from it and cli_print_help() renders --help from it, so the help text never
 * drifts from what is accepted. The bash completion script is generated from
 * the same tables.
 *
 * Values are stored into the command's own argument struct at `offset`
 * (use offsetof), so the tables are const and there is no global state.
 * Storage per kind: FLAG int (incremented), STRING const char * (points into
 * argv), U64 / BYTES uint64_t, INT int, DOUBLE double, LIST cli_strlist (each
 * occurrence appends; release with cli_opt_dispose()).
 */
#ifndef CLI_OPT_H
#define CLI_OPT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct cli_ctx;

typedef enum cli_opt_kind {
  CLI_OPT_FLAG,   /* no value */
  CLI_OPT_STRING, /* any text */
  CLI_OPT_U64,    /* decimal unsigned integer */
  CLI_OPT_BYTES,  /* unsigned integer with an optional K/M/G (KiB/MiB/GiB) suffix */
  CLI_OPT_INT,    /* decimal signed integer (int range) */
  CLI_OPT_DOUBLE, /* finite decimal number */
  CLI_OPT_LIST    /* repeatable text value */
} cli_opt_kind;

typedef struct cli_opt {
  const char *name; /* long name without "--"; NULL ends the table */
  int short_name;   /* single-letter alias, 0 for none */
  cli_opt_kind kind;
  size_t offset;          /* where the value goes in the argument struct */
  const char *value_name; /* e.g. "SECONDS"; "a|b|c" lists the choices (used by completion);
                             FILE/OUT/PATH/DIR complete file names */
  const char *help;       /* one line, lower case; NULL: a hidden alias kept for old command
                             lines (accepted, not listed in --help or completion) */
} cli_opt;

/** A list of values (views into argv). */
typedef struct cli_strlist {
  const char **items;
  size_t n;
} cli_strlist;

/** How arguments after the options complete in the shell. */
typedef enum cli_args_kind {
  CLI_ARGS_NONE,    /* no positional arguments */
  CLI_ARGS_FILES,   /* file names */
  CLI_ARGS_COMMAND, /* a mcapkit command name */
  CLI_ARGS_WORDS    /* fixed words listed in `arg_words` */
} cli_args_kind;

/** Everything about a command's command line. */
typedef struct cli_spec {
  const char *name;        /* command name */
  const char *synopsis;    /* what follows "mcapkit NAME" in the usage line */
  const char *description; /* optional paragraph printed after the options, or NULL */
  const cli_opt *opts;     /* terminated by an entry with name NULL; -h/--help is implicit */
  int min_args;            /* positional arguments accepted */
  int max_args;            /* -1 = unlimited */
  cli_args_kind args_kind;
  const char *arg_words; /* for CLI_ARGS_WORDS: space-separated words */
} cli_spec;

/** Returned by cli_parse() when the command should go on. */
#define CLI_CONTINUE (-1)

/**
 * Parse argv (argv[0] is the command name) into `args` according to the spec.
 * On success *first_arg is the index of the first positional argument (GNU
 * permutation: options and arguments may be mixed; "--" ends options).
 * @return CLI_CONTINUE; CLI_EXIT_OK after printing --help to stdout;
 *         CLI_EXIT_USAGE after printing "mcapkit CMD: ..." and the usage line
 *         to stderr.
 */
int cli_parse(const struct cli_ctx *ctx, const cli_spec *spec, int argc, char **argv, void *args,
              int *first_arg);

/** Render the --help text of a command. `summary` is the one-line description (may be NULL). */
void cli_print_help(FILE *f, const cli_spec *spec, const char *summary);

/** Print "usage: mcapkit NAME SYNOPSIS" to `f`. */
void cli_print_usage(FILE *f, const cli_spec *spec);

/**
 * Report a usage error found after parsing: "mcapkit CMD: <message>" and the
 * usage line on stderr. @return CLI_EXIT_USAGE.
 */
int cli_usage_error(const cli_spec *spec, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/** Release what cli_parse() allocated in `args` (the lists). Safe to call twice. */
void cli_opt_dispose(const cli_spec *spec, void *args);

/**
 * Parse a byte count: decimal digits with an optional K, M, G, T suffix
 * (binary multiples; "KiB", "MiB", ... and "B" accepted too).
 * @return 0 on success, -1 if malformed or out of range.
 */
int cli_parse_bytes(const char *s, uint64_t *out);

/** Parse a decimal uint64 (no sign, no garbage). @return 0 or -1. */
int cli_parse_u64(const char *s, uint64_t *out);

#endif /* CLI_OPT_H */
