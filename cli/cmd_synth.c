/*
 * cmd_synth.c - 'mcapkit synth': write a deterministic synthetic recording
 * (pipeline/synth.h) to a file, atomically, or to stdout.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "mcap/mcap.h"
#include "optgroups.h"
#include "output.h"
#include "pipeline/rewrite.h"
#include "pipeline/synth.h"

#define NOT_GIVEN UINT64_MAX

struct synth_args {
  const char *output;
  double duration;
  const char *profile;
  cli_compress_args comp;
  uint64_t seed;
  uint64_t attachments;
  uint64_t metadata;
  int no_summary;
  int no_message_index;
  int no_crcs;
  int json;
};

static const cli_opt synth_opts[] = {
    {"output", 'o', CLI_OPT_STRING, offsetof(struct synth_args, output), "OUT.mcap",
     "where to write ('-' = standard output); required"},
    {"duration", 'd', CLI_OPT_DOUBLE, offsetof(struct synth_args, duration), "SECONDS",
     "length of the recording (default 10)"},
    {"profile", 'p', CLI_OPT_STRING, offsetof(struct synth_args, profile), "tiny|robot",
     "what to simulate (default robot)"},
    CLI_OPTS_COMPRESSION(struct synth_args, comp, "zstd|lz4|none", "chunk compression (default zstd)",
                         "codec level (default: the codec's default)",
                         "target uncompressed chunk size, e.g. 4M (default 1M)"),
    {"seed", 's', CLI_OPT_U64, offsetof(struct synth_args, seed), "N",
     "random seed; the same seed gives the same bytes (default 0)"},
    {"attachments", 0, CLI_OPT_U64, offsetof(struct synth_args, attachments), "N",
     "number of attachments (default: tiny 1, robot 2)"},
    {"metadata", 0, CLI_OPT_U64, offsetof(struct synth_args, metadata), "N",
     "number of metadata records (default 2)"},
    {"no-summary", 0, CLI_OPT_FLAG, offsetof(struct synth_args, no_summary), NULL,
     "write no summary section"},
    {"no-chunks", 0, CLI_OPT_FLAG, offsetof(struct synth_args, comp.no_chunks), NULL,
     "write messages straight into the data section, without chunks"},
    {"no-message-index", 0, CLI_OPT_FLAG, offsetof(struct synth_args, no_message_index), NULL,
     "write no MessageIndex records"},
    {"no-crc", 0, CLI_OPT_FLAG, offsetof(struct synth_args, no_crcs), NULL,
     "write every CRC field as 0"},
    {"no-crcs", 0, CLI_OPT_FLAG, offsetof(struct synth_args, no_crcs), NULL, NULL}, /* old name */
    {"json", 0, CLI_OPT_FLAG, offsetof(struct synth_args, json), NULL,
     "print what was written as JSON"},
    {NULL, 0, CLI_OPT_FLAG, 0, NULL, NULL},
};

const cli_spec cmd_synth_spec = {
    "synth",
    "-o OUT.mcap [options]",
    "The robot profile simulates a camera (30 Hz), a lidar (10 Hz), IMU (1 kHz), TF, odometry,\n"
    "JSON diagnostics and log messages; tiny writes two small topics. The file is written to a\n"
    "temporary name and renamed when complete, so a failure leaves nothing behind.",
    synth_opts,
    0,
    0,
    CLI_ARGS_NONE,
    NULL,
};

struct progress_state {
  cli_progress bar;
};

static void on_progress(void *user, uint64_t done_ns, uint64_t total_ns) {
  struct progress_state *ps = user;
  unsigned pct = total_ns ? (unsigned)((double)done_ns * 100.0 / (double)total_ns) : 100;
  cli_progress_update(&ps->bar, "synth: %.1f of %.1f s (%u%%)", (double)done_ns / 1e9,
                      (double)total_ns / 1e9, pct);
}

static void print_json_stats(const struct synth_args *a, const pl_synth_options *o,
                             const pl_synth_stats *st, int *failed) {
  char buf[CLI_FMT_SIZE];
  json_object *doc = cli_json_document();
  cli_json_add_str(doc, "output", a->output);
  cli_json_add_str(doc, "profile", pl_synth_profile_name(o->profile));
  cli_json_add_u64(doc, "seed", o->seed);
  const char *comp = mcap_compression_name(o->compression);
  cli_json_add_str(doc, "compression", comp && comp[0] ? comp : "none");
  cli_json_add_u64(doc, "message_count", st->messages);
  cli_json_add_u64(doc, "message_bytes", st->message_bytes);
  cli_json_add_u64(doc, "file_bytes", st->file_bytes);
  cli_json_add_u64(doc, "schema_count", st->schemas);
  cli_json_add_u64(doc, "channel_count", st->channels);
  cli_json_add_u64(doc, "attachment_count", st->attachments);
  cli_json_add_u64(doc, "metadata_count", st->metadata);
  cli_json_add_time(doc, "start_time", st->start_time);
  cli_json_add_time(doc, "end_time", st->end_time);
  snprintf(buf, sizeof buf, "%llu", (unsigned long long)(st->end_time - st->start_time));
  cli_json_add_str(doc, "duration_ns", buf);
  json_object *topics = json_object_new_array();
  for (size_t i = 0; i < st->n_topics; i++) {
    json_object *t = json_object_new_object();
    cli_json_add_str(t, "topic", st->topics[i].topic);
    cli_json_add_u64(t, "channel_id", st->topics[i].channel_id);
    cli_json_add_u64(t, "message_count", st->topics[i].messages);
    cli_json_add_u64(t, "message_bytes", st->topics[i].message_bytes);
    json_object_array_add(topics, t);
  }
  json_object_object_add(doc, "topics", topics);
  if (cli_json_print(stdout, doc) != 0) *failed = 1;
}

int cmd_synth(cli_ctx *ctx, int argc, char **argv) {
  struct synth_args a;
  memset(&a, 0, sizeof a);
  a.attachments = NOT_GIVEN;
  a.metadata = NOT_GIVEN;
  a.duration = 10.0;
  int first;
  int rc = cli_parse(ctx, &cmd_synth_spec, argc, argv, &a, &first);
  if (rc != CLI_CONTINUE) return rc;
  int json = a.json || ctx->json;

  pl_synth_options o;
  memset(&o, 0, sizeof o);
  if (!a.output) return cli_usage_error(&cmd_synth_spec, "missing '-o OUT.mcap'");
  if (!(a.duration > 0 && a.duration <= 1e6))
    return cli_usage_error(&cmd_synth_spec, "'--duration' must be above 0 and at most 1000000");
  o.duration = a.duration;
  o.profile = PL_SYNTH_ROBOT;
  if (a.profile && pl_synth_profile_parse(a.profile, &o.profile) != 0)
    return cli_usage_error(&cmd_synth_spec, "unknown profile '%s' (expected tiny or robot)",
                           a.profile);
  if (a.attachments != NOT_GIVEN && a.attachments > 1000)
    return cli_usage_error(&cmd_synth_spec, "'--attachments' must be at most 1000");
  if (a.metadata != NOT_GIVEN && a.metadata > 1000)
    return cli_usage_error(&cmd_synth_spec, "'--metadata' must be at most 1000");
  rc = cli_compress_resolve(&cmd_synth_spec, &a.comp, MCAP_COMPRESSION_ZSTD, 0, &o.compression);
  if (rc != CLI_CONTINUE) return rc;
  o.compression_level = a.comp.level;
  o.chunk_size = a.comp.chunk_size;
  o.seed = a.seed;
  o.n_attachments = a.attachments == NOT_GIVEN ? 0
                    : a.attachments == 0       ? PL_SYNTH_NONE
                                               : (int)a.attachments;
  o.n_metadata = a.metadata == NOT_GIVEN ? 0 : a.metadata == 0 ? PL_SYNTH_NONE : (int)a.metadata;
  o.no_summary = a.no_summary;
  o.no_chunking = a.comp.no_chunks;
  o.no_message_index = a.no_message_index;
  o.no_crcs = a.no_crcs;

  int to_stdout = strcmp(a.output, "-") == 0;
  if (to_stdout && json)
    return cli_usage_error(&cmd_synth_spec, "'--json' cannot be used with '-o -'");
  if (to_stdout && ctx->stdout_tty) {
    cli_error(ctx,
              "refusing to write binary MCAP data to a terminal; use -o FILE or redirect "
              "standard output");
    return CLI_EXIT_FAILURE;
  }

  /* pl_output: atomic, follows a symlink, refuses a directory, writes a device in place. */
  pl_output *out = NULL;
  pl_error_info perr;
  memset(&perr, 0, sizeof perr);
  int mrc = pl_output_open(&out, a.output, NULL, 0, 0, &perr);
  if (mrc != PL_OK) {
    cli_error(ctx, "cannot write '%s': %s", a.output, perr.msg[0] ? perr.msg : pl_strerror(mrc));
    return mrc == PL_EINVAL ? CLI_EXIT_USAGE : CLI_EXIT_FAILURE;
  }

  struct progress_state ps;
  cli_progress_init(&ps.bar, ctx);
  o.progress = on_progress;
  o.progress_user = &ps;
  pl_synth_stats st;
  char errbuf[512];
  mrc = pl_synth_write(pl_output_sink(out), &o, &st, errbuf, sizeof errbuf);
  cli_progress_done(&ps.bar);
  if (mrc != MCAP_OK) {
    pl_output_free(out); /* discards the temporary file */
    cli_error(ctx, "writing '%s': %s", a.output, errbuf[0] ? errbuf : mcap_strerror(mrc));
    return CLI_EXIT_FAILURE;
  }
  mrc = pl_output_commit(out, NULL, &perr);
  pl_output_free(out);
  if (mrc != PL_OK) {
    cli_error(ctx, "cannot finish '%s': %s", a.output, perr.msg[0] ? perr.msg : pl_strerror(mrc));
    return CLI_EXIT_FAILURE;
  }

  char b1[CLI_FMT_SIZE];
  if (json) {
    int failed = 0;
    print_json_stats(&a, &o, &st, &failed);
    return failed ? CLI_EXIT_FAILURE : CLI_EXIT_OK;
  }
  if (!to_stdout) {
    printf("wrote '%s': %s on %s, %s, %s, %s\n", a.output,
           CLI_COUNT(st.messages, "message", "messages"),
           CLI_COUNT(st.n_topics, "topic", "topics"),
           CLI_COUNT(st.attachments, "attachment", "attachments"),
           CLI_COUNT(st.metadata, "metadata record", "metadata records"),
           cli_fmt_bytes(b1, sizeof b1, st.file_bytes));
  } else {
    cli_verbose(ctx, "wrote %s, %s", CLI_COUNT(st.messages, "message", "messages"),
                cli_fmt_bytes(b1, sizeof b1, st.file_bytes));
  }
  return CLI_EXIT_OK;
}
