/*
 * cmd.h - the command table of mcapkit, the context every command receives,
 * and the command entry points (one cmd_<name>.c file each).
 *
 * A command is `int cmd_<name>(cli_ctx *ctx, int argc, char **argv)`: argv[0]
 * is the command name, the rest its arguments; it returns an exit code from
 * exitcodes.h. Each command file also defines `cmd_<name>_spec`, its option
 * table and synopsis (opt.h), which drive parsing, --help and completion.
 */
#ifndef CLI_CMD_H
#define CLI_CMD_H

#include <stdio.h>

#include "exitcodes.h"
#include "opt.h"

struct cli_cmd;

/** What the dispatcher set up once for the command. */
typedef struct cli_ctx {
  const struct cli_cmd *cmd; /* the running command */
  int verbose;               /* number of -v given before the command */
  int json;                  /* --json given before the command */
  int stdout_tty;            /* stdout / stderr are terminals */
  int stderr_tty;
  int *incomplete; /* set (through a const context) when an input could not be read whole
                      (cli_report_damage); main() then turns an exit 0 into 3 */
} cli_ctx;

typedef int (*cli_cmd_fn)(cli_ctx *ctx, int argc, char **argv);

/** Command flags: what the dispatcher must prepare or how to list it. */
enum cli_cmd_flags {
  CLI_CMD_HIDDEN = 1 << 0,        /* not listed by 'mcapkit help' */
  CLI_CMD_NEEDS_NETWORK = 1 << 1, /* global network init (curl) before running */
  CLI_CMD_NEEDS_API = 1 << 2      /* needs API configuration */
};

typedef struct cli_cmd {
  const char *name;
  cli_cmd_fn fn;
  const char *desc; /* one line, lower case, no trailing period */
  unsigned flags;
  const cli_spec *spec; /* options and synopsis */
} cli_cmd;

/** The command table (main.c), terminated by an entry with name NULL. */
extern const cli_cmd cli_cmds[];

/** Look up a command by name; NULL if there is none. */
const cli_cmd *cli_find_cmd(const char *name);

/** Print the general usage and the command list to `f`. */
void cli_print_general_help(FILE *f);

/* ---- commands */
int cmd_help(cli_ctx *ctx, int argc, char **argv);
int cmd_filter(cli_ctx *ctx, int argc, char **argv);
int cmd_compress(cli_ctx *ctx, int argc, char **argv);
int cmd_decompress(cli_ctx *ctx, int argc, char **argv);
int cmd_sort(cli_ctx *ctx, int argc, char **argv);
int cmd_merge(cli_ctx *ctx, int argc, char **argv);
int cmd_recover(cli_ctx *ctx, int argc, char **argv);
int cmd_version(cli_ctx *ctx, int argc, char **argv);
int cmd_completion(cli_ctx *ctx, int argc, char **argv);
int cmd_synth(cli_ctx *ctx, int argc, char **argv);
int cmd_serve(cli_ctx *ctx, int argc, char **argv);
int cmd_info(cli_ctx *ctx, int argc, char **argv);
int cmd_check(cli_ctx *ctx, int argc, char **argv);
int cmd_list(cli_ctx *ctx, int argc, char **argv);
int cmd_cat(cli_ctx *ctx, int argc, char **argv);
int cmd_du(cli_ctx *ctx, int argc, char **argv);
int cmd_get(cli_ctx *ctx, int argc, char **argv);
int cmd_extract(cli_ctx *ctx, int argc, char **argv);
int cmd_extract_topic(cli_ctx *ctx, int argc, char **argv); /* 'extract topic', argv[0] "topic" */
int cmd_add(cli_ctx *ctx, int argc, char **argv);
int cmd_doctor(cli_ctx *ctx, int argc, char **argv);
int cmd_index(cli_ctx *ctx, int argc, char **argv);
int cmd_coverage(cli_ctx *ctx, int argc, char **argv);
int cmd_lake(cli_ctx *ctx, int argc, char **argv);
int cmd_upload(cli_ctx *ctx, int argc, char **argv);
int cmd_reconcile(cli_ctx *ctx, int argc, char **argv);
int cmd_export(cli_ctx *ctx, int argc, char **argv);
int cmd_remote(cli_ctx *ctx, int argc, char **argv);
int cmd_remote_events(cli_ctx *ctx, int argc, char **argv); /* from cmd_remote */
int cmd_events(cli_ctx *ctx, int argc, char **argv);
int cmd_convert(cli_ctx *ctx, int argc, char **argv);
int cmd_man(cli_ctx *ctx, int argc, char **argv);
int cmd_agent(cli_ctx *ctx, int argc, char **argv);
int cmd_report(cli_ctx *ctx, int argc, char **argv);

extern const cli_spec cmd_help_spec;
extern const cli_spec cmd_filter_spec;
extern const cli_spec cmd_compress_spec;
extern const cli_spec cmd_decompress_spec;
extern const cli_spec cmd_sort_spec;
extern const cli_spec cmd_merge_spec;
extern const cli_spec cmd_recover_spec;
extern const cli_spec cmd_version_spec;
extern const cli_spec cmd_completion_spec;
extern const cli_spec cmd_synth_spec;
extern const cli_spec cmd_serve_spec;
extern const cli_spec cmd_info_spec;
extern const cli_spec cmd_check_spec;
extern const cli_spec cmd_list_spec;
extern const cli_spec cmd_cat_spec;
extern const cli_spec cmd_du_spec;
extern const cli_spec cmd_get_spec;
extern const cli_spec cmd_extract_spec;
extern const cli_spec cmd_extract_topic_spec;
extern const cli_spec cmd_add_spec;
extern const cli_spec cmd_doctor_spec;
extern const cli_spec cmd_index_spec;
extern const cli_spec cmd_coverage_spec;
extern const cli_spec cmd_lake_spec;
extern const cli_spec cmd_upload_spec;
extern const cli_spec cmd_reconcile_spec;
extern const cli_spec cmd_export_spec;
extern const cli_spec cmd_remote_spec;
extern const cli_spec cmd_remote_events_spec;
extern const cli_spec cmd_events_spec;
extern const cli_spec cmd_convert_spec;
extern const cli_spec cmd_man_spec;
extern const cli_spec cmd_agent_spec;
extern const cli_spec cmd_report_spec;

/* ---- the API configuration shared by upload, reconcile, export, remote and agent: the
 * API access option group of optgroups.h (cli_api_open, cli_api_key, ...). */

/* ---- shared by the rewrite commands (filter, compress, decompress, sort; cmd_filter.c) */
struct pl_rewrite_options;
struct cli_compress_args;
/* Apply the compression group (cli_compress_resolve with `flags`; o->compression holds the
 * codec used when --compression is absent), --order and --threads to `o`.
 * @return CLI_CONTINUE or a usage exit code. */
int cli_rewrite_setup(const cli_spec *spec, const struct cli_compress_args *comp, unsigned flags,
                      const char *order, int threads, struct pl_rewrite_options *o);
/* Rewrite `input` into `output` (or over it with in_place) and report. @return an exit code. */
int cli_rewrite_run(cli_ctx *ctx, const cli_spec *spec, const char *input, const char *output,
                    int in_place, int json, struct pl_rewrite_options *o);

#endif /* CLI_CMD_H */
