/*
 * main.c - the mcapkit entry point: global options, the command table and
 * dispatch. main() is the one place that turns a command's outcome into the
 * process exit code (exitcodes.h).
 *
 *   mcapkit [--help] [--version] [-v|--verbose] [--json] COMMAND [ARGS...]
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "output.h"
#include "pipeline/client.h"

/* Sorted by name; 'mcapkit help' lists them in this order. */
const cli_cmd cli_cmds[] = {
    {"add", cmd_add, "add an attachment or metadata to an MCAP file, safely in place", 0,
     &cmd_add_spec},
    {"agent", cmd_agent, "watch recording folders and upload each finished recording once",
     CLI_CMD_NEEDS_NETWORK | CLI_CMD_NEEDS_API, &cmd_agent_spec},
    {"cat", cmd_cat, "print messages as text or NDJSON, merging files by log time", 0,
     &cmd_cat_spec},
    {"check", cmd_check, "verify the structure and every CRC of MCAP files", 0, &cmd_check_spec},
    {"completion", cmd_completion, "print a shell completion script", 0, &cmd_completion_spec},
    {"compress", cmd_compress, "rewrite an MCAP file with every chunk compressed (zstd, lz4)", 0,
     &cmd_compress_spec},
    {"convert", cmd_convert, "convert ROS 1 bags and ROS 2 SQLite bags (.db3) to MCAP", 0,
     &cmd_convert_spec},
    {"coverage", cmd_coverage, "time ranges covered by recordings, by device (and topic)", 0,
     &cmd_coverage_spec},
    {"decompress", cmd_decompress, "rewrite an MCAP file with uncompressed chunks", 0,
     &cmd_decompress_spec},
    {"doctor", cmd_doctor, "check an MCAP file before an upload: every structural problem",
     0, &cmd_doctor_spec},
    {"du", cmd_du, "show where the bytes go: by record kind and by topic", 0, &cmd_du_spec},
    {"events", cmd_events, "add events to a device's timeline from a topic or doctor findings",
     CLI_CMD_NEEDS_NETWORK | CLI_CMD_NEEDS_API, &cmd_events_spec},
    {"export", cmd_export, "download data through the API, resumed when broken, and verified",
     CLI_CMD_NEEDS_NETWORK | CLI_CMD_NEEDS_API, &cmd_export_spec},
    {"extract", cmd_extract, "write attachments or schemas to files, or topics as NDJSON or CSV", 0,
     &cmd_extract_spec},
    {"filter", cmd_filter, "copy an MCAP file keeping chosen topics, time range, attachments", 0,
     &cmd_filter_spec},
    {"get", cmd_get, "write one attachment's data or one metadata record", 0, &cmd_get_spec},
    {"help", cmd_help, "show help for mcapkit or one of its commands", 0, &cmd_help_spec},
    {"index", cmd_index, "index recordings: topics, coverage, attachments, metadata, problems",
     0, &cmd_index_spec},
    {"info", cmd_info, "summarize an MCAP file: time range, chunks, channels", 0, &cmd_info_spec},
    {"lake", cmd_lake, "write (or verify) the per-topic lake files of recordings", 0,
     &cmd_lake_spec},
    {"list", cmd_list, "list channels, schemas, chunks, attachments or metadata", 0,
     &cmd_list_spec},
    {"man", cmd_man, "print the manual pages, generated from the option tables", CLI_CMD_HIDDEN,
     &cmd_man_spec},
    {"merge", cmd_merge, "merge MCAP files into one in log-time order", 0, &cmd_merge_spec},
    {"recover", cmd_recover, "rescue what can be rescued from a truncated or damaged MCAP file",
     0, &cmd_recover_spec},
    {"reconcile", cmd_reconcile, "compare a local recording with its copy on the platform",
     CLI_CMD_NEEDS_NETWORK | CLI_CMD_NEEDS_API, &cmd_reconcile_spec},
    {"remote", cmd_remote, "list, get, delete or download the platform's resources",
     CLI_CMD_NEEDS_NETWORK | CLI_CMD_NEEDS_API, &cmd_remote_spec},
    {"report", cmd_report, "write a report page: timeline, rates, topics, storage, findings", 0,
     &cmd_report_spec},
    {"serve", cmd_serve, "run a local site that speaks the Foxglove API", 0, &cmd_serve_spec},
    {"sort", cmd_sort, "rewrite an MCAP file with its messages in log-time order", 0,
     &cmd_sort_spec},
    {"synth", cmd_synth, "write a deterministic synthetic recording", 0, &cmd_synth_spec},
    {"upload", cmd_upload, "upload recordings, wait for the import and reconcile",
     CLI_CMD_NEEDS_NETWORK | CLI_CMD_NEEDS_API, &cmd_upload_spec},
    {"version", cmd_version, "print the versions of mcapkit and libmcap", 0, &cmd_version_spec},
    {NULL, NULL, NULL, 0, NULL},
};

const cli_cmd *cli_find_cmd(const char *name) {
  for (const cli_cmd *c = cli_cmds; c->name; c++)
    if (strcmp(c->name, name) == 0) return c;
  return NULL;
}

void cli_print_general_help(FILE *f) {
  size_t width = 0;
  for (const cli_cmd *c = cli_cmds; c->name; c++)
    if (!(c->flags & CLI_CMD_HIDDEN) && strlen(c->name) > width) width = strlen(c->name);
  fputs(
      "usage: mcapkit [--help] [--version] [-v | --verbose] [--json] COMMAND [ARGS...]\n"
      "\n"
      "Inspect, verify and generate MCAP robot recordings.\n"
      "\n"
      "commands:\n",
      f);
  for (const cli_cmd *c = cli_cmds; c->name; c++)
    if (!(c->flags & CLI_CMD_HIDDEN)) fprintf(f, "  %-*s  %s\n", (int)width, c->name, c->desc);
  fputs(
      "\n"
      "global options:\n"
      "  -h, --help     show this help\n"
      "      --version  same as 'mcapkit version'\n"
      "  -v, --verbose  say more on stderr (repeat for more)\n"
      "      --json     JSON output, for commands that have it\n"
      "\n"
      "exit status: 0 ok, 1 failure, 2 usage error, 3 completed but found problems.\n"
      "See 'mcapkit help COMMAND' for the options of a command.\n",
      f);
}

/* Is standard output a pipe whose reading end was closed (EPIPE on the next write)? */
static int stdout_reader_gone(void) {
  struct pollfd p = {STDOUT_FILENO, POLLOUT, 0};
  return poll(&p, 1, 0) == 1 && (p.revents & POLLERR) != 0;
}

/* Run `cmd` with its own argument vector (argv[0] = its name). */
static int run(cli_ctx *ctx, const cli_cmd *cmd, int argc, char **argv) {
  ctx->cmd = cmd;
  /* Per-command global setup driven by cmd->flags goes here (network init
   * for CLI_CMD_NEEDS_NETWORK, API configuration for CLI_CMD_NEEDS_API). */
  /* libcurl (loaded here, not linked, so that other commands start without it) and its
   * global state, once, before any thread exists: only for commands that use the network */
  int net = (cmd->flags & CLI_CMD_NEEDS_NETWORK) != 0;
  if (net) {
    pl_error_info err;
    memset(&err, 0, sizeof err);
    if (pl_http_global_init(&err) != PL_OK) {
      fprintf(stderr, "mcapkit %s: %s\n", cmd->name, err.msg);
      return CLI_EXIT_FAILURE;
    }
  }
  int rc = cmd->fn(ctx, argc, argv);
  if (net) pl_http_global_cleanup();
  if (rc < CLI_EXIT_OK || rc > CLI_EXIT_PROBLEMS) rc = CLI_EXIT_FAILURE;
  /* Exit 0 means complete: a command that could not read all of an input (and said so)
   * did not complete, whatever it printed. */
  if (rc == CLI_EXIT_OK && ctx->incomplete && *ctx->incomplete) rc = CLI_EXIT_PROBLEMS;
  return rc;
}

int main(int argc, char **argv) {
  cli_ctx ctx;
  int incomplete = 0;
  /* A closed pipe (mcapkit cat ... | head) must be a write error (EPIPE), not a kill. */
  signal(SIGPIPE, SIG_IGN);
  memset(&ctx, 0, sizeof ctx);
  ctx.incomplete = &incomplete;
  ctx.stdout_tty = isatty(STDOUT_FILENO);
  ctx.stderr_tty = isatty(STDERR_FILENO);

  int i = 1;
  for (; i < argc; i++) {
    const char *a = argv[i];
    if (a[0] != '-' || strcmp(a, "-") == 0) break;
    if (strcmp(a, "--") == 0) {
      i++;
      break;
    }
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      cli_print_general_help(stdout);
      return CLI_EXIT_OK;
    }
    if (strcmp(a, "--version") == 0) {
      static char name[] = "version";
      char *vargv[] = {name, NULL};
      return run(&ctx, cli_find_cmd("version"), 1, vargv);
    }
    if (strcmp(a, "--verbose") == 0) {
      ctx.verbose++;
    } else if (a[1] == 'v' && strspn(a + 1, "v") == strlen(a + 1)) {
      ctx.verbose += (int)strlen(a + 1); /* -v, -vv, ... */
    } else if (strcmp(a, "--json") == 0) {
      ctx.json = 1;
    } else {
      fprintf(stderr, "mcapkit: unknown option '%s'\nSee 'mcapkit help'.\n", a);
      return CLI_EXIT_USAGE;
    }
  }
  if (i >= argc) {
    cli_print_general_help(stderr);
    return CLI_EXIT_USAGE;
  }
  const cli_cmd *cmd = cli_find_cmd(argv[i]);
  if (!cmd) {
    fprintf(stderr, "mcapkit: '%s' is not a mcapkit command. See 'mcapkit help'.\n", argv[i]);
    return CLI_EXIT_USAGE;
  }
  int rc = run(&ctx, cmd, argc - i, argv + i);
  /* A result that did not reach stdout (full disk) is a failure; a reader that went away
   * (mcapkit cat f | head -1) is not: like git log | head, end quietly. */
  if (fflush(stdout) != 0 || ferror(stdout)) {
    if (errno == EPIPE || stdout_reader_gone()) {
      if (rc == CLI_EXIT_FAILURE) rc = CLI_EXIT_OK;
    } else {
      fprintf(stderr, "mcapkit %s: error writing to standard output: %s\n", cmd->name,
              strerror(errno));
      if (rc == CLI_EXIT_OK) rc = CLI_EXIT_FAILURE;
    }
  }
  return rc;
}
