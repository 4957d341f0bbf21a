/*
 * cmd_compress.c - 'mcapkit compress' and 'mcapkit decompress': presets of
 * the rewrite engine (see cmd_filter.c) that keep every message, attachment,
 * metadata record and channel and change only how chunks are stored.
 * Chunks already in the wanted compression are copied as they are (unless a
 * level or chunk size is asked for, or --no-passthrough).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cmd.h"
#include "mcap/mcap.h"
#include "optgroups.h"
#include "output.h"
#include "pipeline/rewrite.h"

struct compress_args {
  const char *output;
  cli_compress_args comp;
  int no_crc;
  const char *order;
  int threads;
  int in_place;
  int no_passthrough;
  int json;
};

#define A(f) offsetof(struct compress_args, f)
static const cli_opt compress_opts[] = {
    CLI_OPTS_COMPRESSION(struct compress_args, comp, "zstd|lz4|none",
                         "chunk compression (default zstd)",
                         "codec level (recompresses every chunk)",
                         "target uncompressed chunk size, e.g. 4M (re-chunks everything; "
                         "default 1M)"),
    {"output", 'o', CLI_OPT_STRING, A(output), "OUT",
     "where to write ('-' = standard output); required unless --in-place"},
    CLI_OPT_NO_CHUNKS(struct compress_args, comp),
    {"no-crc", 0, CLI_OPT_FLAG, A(no_crc), NULL, "write every CRC field as 0"},
    {"order", 0, CLI_OPT_STRING, A(order), "preserve|log-time|topic",
     "message order of the output (default preserve)"},
    {"threads", 'j', CLI_OPT_INT, A(threads), "N",
     "compression threads (0 or default: one per core)"},
    {"jobs", 0, CLI_OPT_INT, A(threads), "N", "same as --threads"},
    {"in-place", 0, CLI_OPT_FLAG, A(in_place), NULL,
     "replace IN with the result (only once it is complete and verified)"},
    {"no-passthrough", 0, CLI_OPT_FLAG, A(no_passthrough), NULL,
     "decompress (and so check) every chunk, even those copied"},
    {"json", 0, CLI_OPT_FLAG, A(json), NULL, "print what was done as JSON"},
    {NULL, 0, CLI_OPT_FLAG, 0, NULL, NULL},
};

/* The same options without the compression ones. */
static const cli_opt decompress_opts[] = {
    {"output", 'o', CLI_OPT_STRING, A(output), "OUT",
     "where to write ('-' = standard output); required unless --in-place"},
    {"chunk-size", 0, CLI_OPT_BYTES, A(comp.chunk_size), "BYTES",
     "target uncompressed chunk size, e.g. 4M (re-chunks everything; default 1M)"},
    CLI_OPT_NO_CHUNKS(struct compress_args, comp),
    {"no-crc", 0, CLI_OPT_FLAG, A(no_crc), NULL, "write every CRC field as 0"},
    {"order", 0, CLI_OPT_STRING, A(order), "preserve|log-time|topic",
     "message order of the output (default preserve)"},
    {"threads", 'j', CLI_OPT_INT, A(threads), "N",
     "compression threads (0 or default: one per core)"},
    {"jobs", 0, CLI_OPT_INT, A(threads), "N", "same as --threads"},
    {"in-place", 0, CLI_OPT_FLAG, A(in_place), NULL,
     "replace IN with the result (only once it is complete and verified)"},
    {"no-passthrough", 0, CLI_OPT_FLAG, A(no_passthrough), NULL,
     "decompress (and so check) every chunk, even those copied"},
    {"json", 0, CLI_OPT_FLAG, A(json), NULL, "print what was done as JSON"},
    {NULL, 0, CLI_OPT_FLAG, 0, NULL, NULL},
};
#undef A

const cli_spec cmd_compress_spec = {
    "compress",
    "IN -o OUT [options]",
    "Copies IN ('-' = standard input) to OUT with every chunk in the given compression, keeping\n"
    "every message, attachment, metadata record and channel. Chunks already compressed that way\n"
    "are copied as they are. Same as 'mcapkit filter --compression zstd', keeping every channel.",
    compress_opts,
    1,
    1,
    CLI_ARGS_FILES,
    NULL,
};

const cli_spec cmd_decompress_spec = {
    "decompress",
    "IN -o OUT [options]",
    "Copies IN ('-' = standard input) to OUT with uncompressed chunks, keeping every message,\n"
    "attachment, metadata record and channel. Same as 'mcapkit compress --compression none'.",
    decompress_opts,
    1,
    1,
    CLI_ARGS_FILES,
    NULL,
};

static int run(cli_ctx *ctx, const cli_spec *spec, int argc, char **argv, int decompress) {
  struct compress_args a;
  memset(&a, 0, sizeof a);
  int first;
  int rc = cli_parse(ctx, spec, argc, argv, &a, &first);
  if (rc != CLI_CONTINUE) return rc;
  pl_rewrite_options o;
  memset(&o, 0, sizeof o);
  o.keep_unused_channels = 1;
  o.compression = decompress ? MCAP_COMPRESSION_NONE : MCAP_COMPRESSION_ZSTD;
  o.no_crc = a.no_crc;
  o.no_passthrough = a.no_passthrough;
  /* compress always compresses: --no-chunks conflicts with it even without -c */
  rc = cli_rewrite_setup(spec, &a.comp, decompress ? 0u : CLI_COMPRESS_ALWAYS, a.order, a.threads,
                         &o);
  if (rc != CLI_CONTINUE) return rc;
  return cli_rewrite_run(ctx, spec, argv[first], a.output, a.in_place, a.json, &o);
}

int cmd_compress(cli_ctx *ctx, int argc, char **argv) {
  return run(ctx, &cmd_compress_spec, argc, argv, 0);
}

int cmd_decompress(cli_ctx *ctx, int argc, char **argv) {
  return run(ctx, &cmd_decompress_spec, argc, argv, 1);
}
