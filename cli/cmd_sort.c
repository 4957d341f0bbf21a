/*
 * cmd_sort.c - 'mcapkit sort IN -o OUT': a preset of the rewrite engine (see
 * cmd_filter.c) that writes every message in log-time order (or grouped by
 * topic), keeping every attachment, metadata record and channel. Files whose
 * chunks follow each other in time are sorted chunk by chunk (chunks already
 * in order are copied); others through the indexed reader's sorted queries.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cmd.h"
#include "mcap/mcap.h"
#include "optgroups.h"
#include "output.h"
#include "pipeline/rewrite.h"

struct sort_args {
  const char *output;
  cli_compress_args comp;
  int no_crc;
  const char *order;
  int threads;
  int in_place;
  int json;
};

#define A(f) offsetof(struct sort_args, f)
static const cli_opt sort_opts[] = {
    {"output", 'o', CLI_OPT_STRING, A(output), "OUT",
     "where to write ('-' = standard output); required unless --in-place"},
    CLI_OPTS_COMPRESSION(struct sort_args, comp, "zstd|lz4|none|preserve",
                         "chunk compression (default: the input's)", "codec level",
                         "target uncompressed chunk size, e.g. 4M (default 1M)"),
    CLI_OPT_NO_CHUNKS(struct sort_args, comp),
    {"no-crc", 0, CLI_OPT_FLAG, A(no_crc), NULL, "write every CRC field as 0"},
    {"order", 0, CLI_OPT_STRING, A(order), "log-time|topic|preserve",
     "message order of the output (default log-time)"},
    {"threads", 'j', CLI_OPT_INT, A(threads), "N", "worker threads (0 or default: one per core)"},
    {"jobs", 0, CLI_OPT_INT, A(threads), "N", "same as --threads"},
    {"in-place", 0, CLI_OPT_FLAG, A(in_place), NULL,
     "replace IN with the result (only once it is complete and verified)"},
    {"json", 0, CLI_OPT_FLAG, A(json), NULL, "print what was done as JSON"},
    {NULL, 0, CLI_OPT_FLAG, 0, NULL, NULL},
};
#undef A

const cli_spec cmd_sort_spec = {
    "sort",
    "IN -o OUT [options]",
    "Copies IN ('-' = standard input, spooled to a temporary file) to OUT with its messages in\n"
    "log-time order (ties keep file order), or with --order topic channel by channel (topic\n"
    "name, then channel id), each in log-time order. When IN's chunks follow each other in time,\n"
    "chunks already in order are copied without recompression and the others sorted one by one.\n"
    "Attachments, metadata and every channel are kept.",
    sort_opts,
    1,
    1,
    CLI_ARGS_FILES,
    NULL,
};

int cmd_sort(cli_ctx *ctx, int argc, char **argv) {
  struct sort_args a;
  memset(&a, 0, sizeof a);
  int first;
  int rc = cli_parse(ctx, &cmd_sort_spec, argc, argv, &a, &first);
  if (rc != CLI_CONTINUE) return rc;
  pl_rewrite_options o;
  memset(&o, 0, sizeof o);
  o.keep_unused_channels = 1;
  o.order = PL_REWRITE_ORDER_LOG_TIME;
  o.no_crc = a.no_crc;
  rc = cli_rewrite_setup(&cmd_sort_spec, &a.comp, CLI_COMPRESS_PRESERVE, a.order, a.threads, &o);
  if (rc != CLI_CONTINUE) return rc;
  return cli_rewrite_run(ctx, &cmd_sort_spec, argv[first], a.output, a.in_place, a.json, &o);
}
