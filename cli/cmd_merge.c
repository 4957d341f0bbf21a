/*
 * cmd_merge.c - 'mcapkit merge IN... -o OUT': merge recordings into one in
 * log-time order (pipeline/rewrite.h pl_merge): ids renumbered, identical
 * schemas shared, channels coalesced per --coalesce-channels, identical
 * metadata kept once, every attachment kept. OUT is written to a temporary
 * file beside it, checked and renamed into place; inputs are never touched.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cmd.h"
#include "mcap/mcap.h"
#include "optgroups.h"
#include "output.h"
#include "pipeline/rewrite.h"

struct merge_args {
  const char *output;
  cli_compress_args comp;
  int no_crc;
  const char *coalesce;
  int allow_duplicate_metadata;
  int no_attachments;
  int no_metadata;
  int threads;
  uint64_t max_open;
  int json;
};

#define A(f) offsetof(struct merge_args, f)
static const cli_opt merge_opts[] = {
    {"output", 'o', CLI_OPT_STRING, A(output), "OUT", "where to write ('-' = standard output)"},
    CLI_OPTS_COMPRESSION(struct merge_args, comp, "zstd|lz4|none", "chunk compression (default zstd)",
                         "codec level", "target uncompressed chunk size, e.g. 4M (default 1M)"),
    CLI_OPT_NO_CHUNKS(struct merge_args, comp),
    {"no-crc", 0, CLI_OPT_FLAG, A(no_crc), NULL, "write every CRC field as 0"},
    {"coalesce-channels", 0, CLI_OPT_STRING, A(coalesce), "auto|force|none",
     "merge equal channels: auto (same topic, encoding, schema, metadata), force (metadata "
     "aside), none (default auto)"},
    {"allow-duplicate-metadata", 0, CLI_OPT_FLAG, A(allow_duplicate_metadata), NULL,
     "keep metadata records that share a name but differ (else an error)"},
    {"no-attachments", 0, CLI_OPT_FLAG, A(no_attachments), NULL, "drop attachments"},
    {"no-metadata", 0, CLI_OPT_FLAG, A(no_metadata), NULL, "drop metadata records"},
    {"threads", 'j', CLI_OPT_INT, A(threads), "N",
     "compression threads (0 or default: one per core)"},
    {"jobs", 0, CLI_OPT_INT, A(threads), "N", "same as --threads"},
    {"max-open", 0, CLI_OPT_U64, A(max_open), "N",
     "inputs read at once, 2 to 4096; more are merged in rounds via temporary files "
     "(default 8)"},
    {"json", 0, CLI_OPT_FLAG, A(json), NULL, "print what was done as JSON"},
    {NULL, 0, CLI_OPT_FLAG, 0, NULL, NULL},
};
#undef A

const cli_spec cmd_merge_spec = {
    "merge",
    "IN... -o OUT [options]",
    "Merges the messages of every IN by log time (ties in the order the files are given).\n"
    "Schema and channel ids are renumbered; metadata and attachments of every input come first.\n"
    "Memory does not grow with the number of inputs (see --max-open).",
    merge_opts,
    1,
    -1,
    CLI_ARGS_FILES,
    NULL,
};

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct merge_progress {
  cli_progress bar;
};

#define NOT_GIVEN UINT64_MAX

static void on_progress(void *user, uint64_t done, uint64_t total) {
  struct merge_progress *mp = user;
  cli_progress_update(&mp->bar, "merge: %llu of %llu messages", (unsigned long long)done,
                      (unsigned long long)total);
}

int cmd_merge(cli_ctx *ctx, int argc, char **argv) {
  struct merge_args a;
  memset(&a, 0, sizeof a);
  a.max_open = NOT_GIVEN;
  int first;
  int rc = cli_parse(ctx, &cmd_merge_spec, argc, argv, &a, &first);
  if (rc != CLI_CONTINUE) return rc;
  int json = a.json || ctx->json;
  pl_merge_options o;
  memset(&o, 0, sizeof o);
  if (!a.output) return cli_usage_error(&cmd_merge_spec, "missing '-o OUT'");
  rc = cli_compress_resolve(&cmd_merge_spec, &a.comp, MCAP_COMPRESSION_ZSTD, 0, &o.compression);
  if (rc != CLI_CONTINUE) return rc;
  if (a.coalesce && pl_coalesce_parse(a.coalesce, &o.coalesce) != PL_OK)
    return cli_usage_error(&cmd_merge_spec,
                           "unknown --coalesce-channels '%s' (expected auto, force or none)",
                           a.coalesce);
  if (a.threads < 0 || a.threads > 256)
    return cli_usage_error(&cmd_merge_spec, "'--threads' must be between 0 and 256");
  if (a.max_open == NOT_GIVEN)
    a.max_open = 0; /* the default, 8 */
  else if (a.max_open < 2 || a.max_open > 4096)
    return cli_usage_error(&cmd_merge_spec, "'--max-open' must be between 2 and 4096");
  o.compression_level = a.comp.level;
  o.chunk_size = a.comp.chunk_size;
  o.no_chunks = a.comp.no_chunks;
  o.no_crc = a.no_crc;
  o.allow_duplicate_metadata = a.allow_duplicate_metadata;
  o.no_attachments = a.no_attachments;
  o.no_metadata = a.no_metadata;
  o.threads = a.threads;
  o.max_open_inputs = (size_t)a.max_open;

  int to_stdout = strcmp(a.output, "-") == 0;
  if (to_stdout && json)
    return cli_usage_error(&cmd_merge_spec, "'--json' cannot be used with '-o -'");
  if (to_stdout && ctx->stdout_tty) {
    cli_error(ctx,
              "refusing to write binary MCAP data to a terminal; use -o FILE or redirect "
              "standard output");
    return CLI_EXIT_FAILURE;
  }
  size_t n = (size_t)(argc - first);
  const char *const *inputs = (const char *const *)(argv + first);
  size_t n_stdin = 0;
  for (size_t i = 0; i < n; i++) n_stdin += strcmp(inputs[i], "-") == 0;
  if (n_stdin > 1) return cli_usage_error(&cmd_merge_spec, "standard input can be read only once");

  pl_error_info err;
  memset(&err, 0, sizeof err);
  pl_output *out = NULL;
  rc = pl_output_open(&out, a.output, inputs, n, 0, &err);
  if (rc != PL_OK) {
    cli_error(ctx, "%s", err.msg);
    return rc == PL_EINVAL ? CLI_EXIT_USAGE : CLI_EXIT_FAILURE;
  }
  /* Temporary files of the rounds go beside the output (same disk as the result). */
  char dir[4096];
  const char *slash = strrchr(a.output, '/');
  if (!to_stdout && slash && (size_t)(slash - a.output) < sizeof dir) {
    memcpy(dir, a.output, (size_t)(slash - a.output));
    dir[slash - a.output] = '\0';
    o.tmp_dir = dir[0] ? dir : "/";
  } else if (!to_stdout) {
    o.tmp_dir = ".";
  }
  struct merge_progress mp;
  cli_progress_init(&mp.bar, ctx);
  o.progress = on_progress;
  o.progress_user = &mp;
  pl_merge_stats st;
  double t0 = now_s();
  rc = pl_merge(inputs, n, pl_output_sink(out), &o, &st, &err);
  cli_progress_done(&mp.bar);
  if (rc != PL_OK) {
    pl_output_free(out);
    cli_error(ctx, "%s", err.msg[0] ? err.msg : pl_strerror(rc));
    return CLI_EXIT_FAILURE;
  }
  pl_output_check check = {st.messages, st.attachments, st.metadata, 0};
  rc = pl_output_commit(out, &check, &err);
  pl_output_free(out);
  if (rc != PL_OK) {
    cli_error(ctx, "%s", err.msg[0] ? err.msg : pl_strerror(rc));
    return CLI_EXIT_FAILURE;
  }
  double secs = now_s() - t0;
  /* Damaged inputs were merged as far as they could be read: say what is missing (exit 3). */
  int drc = CLI_EXIT_OK;
  if (st.damaged_inputs) {
    drc = cli_report_damage(ctx, inputs[st.first_damaged], &st.damage);
    if (st.damaged_inputs > 1)
      cli_error(ctx, "%zu inputs could not be read whole (the first is named above)",
                st.damaged_inputs);
  }
  if (json) {
    json_object *doc = cli_json_document();
    json_object *arr = json_object_new_array();
    for (size_t i = 0; i < n; i++) json_object_array_add(arr, json_object_new_string(inputs[i]));
    json_object_object_add(doc, "inputs", arr);
    cli_json_add_str(doc, "output", a.output);
    cli_json_add_u64(doc, "message_count", st.messages);
    cli_json_add_u64(doc, "attachment_count", st.attachments);
    cli_json_add_u64(doc, "metadata_count", st.metadata);
    cli_json_add_u64(doc, "metadata_duplicates", st.metadata_duplicates);
    cli_json_add_u64(doc, "schema_count", st.schemas);
    cli_json_add_u64(doc, "channel_count", st.channels);
    cli_json_add_u64(doc, "input_channel_count", st.channels_in);
    cli_json_add_u64(doc, "rounds", st.rounds);
    cli_json_add_u64(doc, "chunks_copied", st.chunks_copied);
    cli_json_add_u64(doc, "chunks_decompressed", st.chunks_decompressed);
    cli_json_add_u64(doc, "bytes_out", st.bytes_out);
    cli_json_add_double(doc, "seconds", secs, 3);
    cli_json_add_damage(doc, &st.damage);
    return cli_json_print(stdout, doc) != 0 ? CLI_EXIT_FAILURE : drc;
  }
  char b1[CLI_FMT_SIZE];
  char line[600];
  snprintf(line, sizeof line,
           "wrote '%s': %s on %s (from %llu), %s, %s (%llu %s dropped); chunks: %llu copied; "
           "%s in %.2f s",
           a.output, CLI_COUNT(st.messages, "message", "messages"),
           CLI_COUNT(st.channels, "channel", "channels"), (unsigned long long)st.channels_in,
           CLI_COUNT(st.attachments, "attachment", "attachments"),
           CLI_COUNT(st.metadata, "metadata record", "metadata records"),
           (unsigned long long)st.metadata_duplicates,
           cli_plural(st.metadata_duplicates, "duplicate", "duplicates"),
           (unsigned long long)st.chunks_copied, cli_fmt_bytes(b1, sizeof b1, st.bytes_out), secs);
  if (to_stdout)
    cli_verbose(ctx, "%s", line);
  else
    printf("%s\n", line);
  return drc;
}
