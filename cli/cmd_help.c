/*
 * cmd_help.c - 'mcapkit help [COMMAND]': the command list, or a command's
 * --help (by running the command with --help, so both are always identical).
 */
#include <stdio.h>

#include "cmd.h"
#include "output.h"

struct help_args {
  int unused;
};

static const cli_opt help_opts[] = {
    {NULL, 0, CLI_OPT_FLAG, 0, NULL, NULL},
};

const cli_spec cmd_help_spec = {
    "help",
    "[COMMAND]",
    "Without a command, lists the commands. 'mcapkit help CMD' is the same "
    "as 'mcapkit CMD --help'.",
    help_opts,
    0,
    1,
    CLI_ARGS_COMMAND,
    NULL,
};

int cmd_help(cli_ctx *ctx, int argc, char **argv) {
  struct help_args a = {0};
  int first;
  int rc = cli_parse(ctx, &cmd_help_spec, argc, argv, &a, &first);
  if (rc != CLI_CONTINUE) return rc;
  if (first >= argc) {
    cli_print_general_help(stdout);
    return CLI_EXIT_OK;
  }
  const cli_cmd *cmd = cli_find_cmd(argv[first]);
  if (!cmd) {
    fprintf(stderr, "mcapkit: '%s' is not a mcapkit command. See 'mcapkit help'.\n", argv[first]);
    return CLI_EXIT_USAGE;
  }
  static char help_flag[] = "--help";
  char *hargv[] = {argv[first], help_flag, NULL};
  ctx->cmd = cmd;
  return cmd->fn(ctx, 2, hargv);
}
