/*
 * cmd_filter.c - 'mcapkit filter IN -o OUT': copy a recording keeping only
 * the topics, time range, attachments and metadata asked for (the official
 * `mcap filter`'s flags are accepted too). Also the runner shared by the
 * rewrite commands (filter, compress, decompress, sort): output staging
 * (temporary file, verification, rename; --in-place), progress, the report.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "mcap/mcap.h"
#include "optgroups.h"
#include "output.h"
#include "pipeline/rewrite.h"
#include "timeparse.h"

/* ------------------------------------------------------- the shared runner */

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct run_progress {
  cli_progress bar;
  const char *name;
};

static void on_progress(void *user, uint64_t done, uint64_t total) {
  struct run_progress *rp = user;
  char b1[CLI_FMT_SIZE], b2[CLI_FMT_SIZE];
  if (total)
    cli_progress_update(&rp->bar, "%s: %s of %s (%u%%)", rp->name,
                        cli_fmt_bytes(b1, sizeof b1, done), cli_fmt_bytes(b2, sizeof b2, total),
                        (unsigned)((double)done * 100.0 / (double)total));
  else
    cli_progress_update(&rp->bar, "%s: %s", rp->name, cli_fmt_bytes(b1, sizeof b1, done));
}

int cli_rewrite_setup(const cli_spec *spec, const cli_compress_args *comp, unsigned flags,
                      const char *order, int threads, struct pl_rewrite_options *o) {
  /* with CLI_COMPRESS_PRESERVE the input's codec may be kept: the writer checks the level */
  int rc = cli_compress_resolve(spec, comp, o->compression, flags, &o->compression);
  if (rc != CLI_CONTINUE) return rc;
  o->compression_level = comp->level;
  o->chunk_size = comp->chunk_size;
  o->no_chunks = comp->no_chunks;
  if (order && pl_rewrite_order_parse(order, &o->order) != PL_OK)
    return cli_usage_error(spec, "unknown order '%s' (expected preserve, log-time or topic)",
                           order);
  if (threads < 0 || threads > 256)
    return cli_usage_error(spec, "'--threads' must be between 0 and 256");
  o->threads = threads;
  return CLI_CONTINUE;
}

static void print_json(const char *input, const char *output, const pl_rewrite_stats *st,
                       double secs, int *failed) {
  json_object *doc = cli_json_document();
  cli_json_add_str(doc, "input", input);
  cli_json_add_str(doc, "output", output);
  cli_json_add_u64(doc, "message_count", st->messages);
  cli_json_add_u64(doc, "last_per_channel_count", st->messages_last_per_channel);
  cli_json_add_u64(doc, "attachment_count", st->attachments);
  cli_json_add_u64(doc, "metadata_count", st->metadata);
  cli_json_add_u64(doc, "schema_count", st->schemas);
  cli_json_add_u64(doc, "channel_count", st->channels);
  cli_json_add_u64(doc, "chunks_in", st->chunks_in);
  cli_json_add_u64(doc, "chunks_copied", st->chunks_copied);
  cli_json_add_u64(doc, "chunks_decompressed", st->chunks_decompressed);
  cli_json_add_u64(doc, "chunks_skipped", st->chunks_skipped);
  cli_json_add_u64(doc, "bytes_in", st->bytes_in);
  cli_json_add_u64(doc, "bytes_out", st->bytes_out);
  cli_json_add_u64(doc, "bytes_copied", st->bytes_copied);
  cli_json_add_double(doc, "seconds", secs, 3);
  cli_json_add_damage(doc, &st->damage);
  if (cli_json_print(stdout, doc) != 0) *failed = 1;
}

int cli_rewrite_run(cli_ctx *ctx, const cli_spec *spec, const char *input, const char *output,
                    int in_place, int json, struct pl_rewrite_options *o) {
  pl_error_info err;
  memset(&err, 0, sizeof err);
  json = json || ctx->json;
  if (in_place) {
    if (strcmp(input, "-") == 0)
      return cli_usage_error(spec, "'--in-place' needs a file, not standard input");
    if (output && strcmp(output, input) != 0)
      return cli_usage_error(spec, "'--in-place' replaces IN; do not give '-o'");
    output = input;
  }
  if (!output) return cli_usage_error(spec, "missing '-o OUT' (or '--in-place')");
  int to_stdout = strcmp(output, "-") == 0;
  if (to_stdout && json) return cli_usage_error(spec, "'--json' cannot be used with '-o -'");
  if (to_stdout && ctx->stdout_tty) {
    cli_error(ctx,
              "refusing to write binary MCAP data to a terminal; use -o FILE or redirect "
              "standard output");
    return CLI_EXIT_FAILURE;
  }
  /* topic patterns were checked with the topic group (cli_topics_resolve) */
  if (o->n_last_per_channel &&
      pl_rewrite_check_patterns(o->last_per_channel, o->n_last_per_channel, &err) != PL_OK)
    return cli_usage_error(spec, "%s", err.msg);

  pl_output *out = NULL;
  int rc = pl_output_open(&out, output, &input, 1, in_place, &err);
  if (rc != PL_OK) {
    int over_input = rc == PL_EINVAL && strstr(err.msg, "refusing to write over the input");
    cli_error(ctx, "%s%s", err.msg, over_input ? " (use --in-place to replace it)" : "");
    return rc == PL_EINVAL ? CLI_EXIT_USAGE : CLI_EXIT_FAILURE;
  }
  struct run_progress rp;
  cli_progress_init(&rp.bar, ctx);
  rp.name = spec->name;
  o->progress = on_progress;
  o->progress_user = &rp;
  pl_rewrite_stats st;
  double t0 = now_s();
  rc = pl_rewrite(input, pl_output_sink(out), o, &st, &err);
  cli_progress_done(&rp.bar);
  if (rc == PL_EINVAL) {
    /* an option that turned out not to fit the input (a level for its codec) */
    pl_output_free(out);
    return cli_usage_error(spec, "%s", err.msg);
  }
  if (rc != PL_OK) {
    pl_output_free(out);
    if (strcmp(input, "-") == 0)
      cli_error(ctx, "standard input: %s", err.msg[0] ? err.msg : pl_strerror(rc));
    else
      cli_file_error(ctx, input, err.msg[0] ? err.msg : pl_strerror(rc));
    return CLI_EXIT_FAILURE;
  }
  if (in_place && st.damage.problems) {
    /* Replacing a damaged file with what could be read of it would lose the rest for good. */
    pl_output_free(out);
    cli_report_damage(ctx, input, &st.damage);
    cli_error(ctx, "'%s' left as it is: it could not be read whole ('mcapkit recover' rescues "
              "what can be rescued)", input);
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
  /* A damaged input was rewritten as far as it could be read: say what is missing (exit 3). */
  int drc = cli_report_damage(ctx, input, &st.damage);
  if (json) {
    int failed = 0;
    print_json(input, output, &st, secs, &failed);
    return failed ? CLI_EXIT_FAILURE : drc;
  }
  char b1[CLI_FMT_SIZE], b2[CLI_FMT_SIZE];
  char line[600];
  snprintf(line, sizeof line,
           "wrote '%s': %s on %s, %s, %s; chunks: %llu copied, %llu decompressed, %llu "
           "skipped; %s in %.2f s (%.0f MB/s)",
           output, CLI_COUNT(st.messages, "message", "messages"),
           CLI_COUNT(st.channels, "channel", "channels"),
           CLI_COUNT(st.attachments, "attachment", "attachments"),
           CLI_COUNT(st.metadata, "metadata record", "metadata records"),
           (unsigned long long)st.chunks_copied, (unsigned long long)st.chunks_decompressed,
           (unsigned long long)st.chunks_skipped, cli_fmt_bytes(b1, sizeof b1, st.bytes_out), secs,
           secs > 0 ? (double)st.bytes_in / 1e6 / secs : 0.0);
  (void)b2;
  if (to_stdout)
    cli_verbose(ctx, "%s", line);
  else
    printf("%s\n", line);
  return drc;
}

/* ------------------------------------------------------------------ filter */

struct filter_args {
  const char *output;
  cli_topic_args topics;
  cli_strlist last_per_channel;
  cli_time_args time;
  const char *start_secs;
  const char *end_secs;
  int no_attachments;
  int no_metadata;
  cli_compress_args comp;
  int no_crc;
  const char *order;
  int threads;
  int in_place;
  int no_passthrough;
  int json;
};

#define A(f) offsetof(struct filter_args, f)
static const cli_opt filter_opts[] = {
    {"output", 'o', CLI_OPT_STRING, A(output), "OUT",
     "where to write ('-' = standard output); required unless --in-place"},
    CLI_OPT_INCLUDE_TOPIC(struct filter_args, topics,
                          "keep topics matching this regular expression (whole topic; repeatable)"),
    CLI_OPT_EXCLUDE_TOPIC(struct filter_args, topics,
                          "drop topics matching this regular expression (whole topic; repeatable)"),
    {"last-per-channel", 0, CLI_OPT_LIST, A(last_per_channel), "REGEX",
     "for matching topics also keep the latest message before --start (repeatable)"},
    CLI_OPTS_TIME_RANGE(struct filter_args, time,
                        "keep messages logged at or after T (RFC 3339, 12.5s, 1500ms, or ns)",
                        "keep messages logged at or before T"),
    {"start-secs", 0, CLI_OPT_STRING, A(start_secs), "SECONDS", "--start in seconds"},
    {"end-secs", 0, CLI_OPT_STRING, A(end_secs), "SECONDS", "--end in seconds (0 = no end)"},
    {"no-attachments", 0, CLI_OPT_FLAG, A(no_attachments), NULL, "drop attachments"},
    {"no-metadata", 0, CLI_OPT_FLAG, A(no_metadata), NULL, "drop metadata records"},
    {"include-topic-regex", 0, CLI_OPT_LIST, A(topics.include), "REGEX", "same as --include-topic"},
    {"exclude-topic-regex", 0, CLI_OPT_LIST, A(topics.exclude), "REGEX", "same as --exclude-topic"},
    {"last-per-channel-topic-regex", 0, CLI_OPT_LIST, A(last_per_channel), "REGEX",
     "same as --last-per-channel"},
    {"exclude-attachments", 0, CLI_OPT_FLAG, A(no_attachments), NULL, "same as --no-attachments"},
    {"exclude-metadata", 0, CLI_OPT_FLAG, A(no_metadata), NULL, "same as --no-metadata"},
    CLI_OPTS_COMPRESSION(struct filter_args, comp, "zstd|lz4|none|preserve",
                         "chunk compression (default: the input's)",
                         "codec level (recompresses every chunk)",
                         "target uncompressed chunk size, e.g. 4M (re-chunks everything; "
                         "default 1M)"),
    CLI_OPT_NO_CHUNKS(struct filter_args, comp),
    {"no-crc", 0, CLI_OPT_FLAG, A(no_crc), NULL, "write every CRC field as 0"},
    {"order", 0, CLI_OPT_STRING, A(order), "preserve|log-time|topic",
     "message order of the output (default preserve)"},
    {"threads", 'j', CLI_OPT_INT, A(threads), "N", "worker threads (0 or default: one per core)"},
    {"jobs", 0, CLI_OPT_INT, A(threads), "N", "same as --threads"},
    {"in-place", 0, CLI_OPT_FLAG, A(in_place), NULL,
     "replace IN with the result (only once it is complete and verified)"},
    {"no-passthrough", 0, CLI_OPT_FLAG, A(no_passthrough), NULL,
     "decompress (and so check) every chunk, even those kept whole"},
    {"json", 0, CLI_OPT_FLAG, A(json), NULL, "print what was done as JSON"},
    {NULL, 0, CLI_OPT_FLAG, 0, NULL, NULL},
};
#undef A

const cli_spec cmd_filter_spec = {
    "filter",
    "IN -o OUT [options]",
    "Copies IN ('-' = standard input) to OUT keeping the messages of the selected topics in the\n"
    "time range (both ends inclusive), plus attachments (in the range) and metadata. A topic is\n"
    "kept when it matches an --include-topic (or there is none) and no --exclude-topic; patterns\n"
    "are POSIX extended regular expressions matched against the whole topic. Schemas and\n"
    "channels that no kept message uses are dropped. Chunks whose messages are all kept are\n"
    "copied without recompression when the compression stays the same. OUT is written to a\n"
    "temporary file, checked, and renamed into place; IN is never modified (unless --in-place).\n"
    "T is an RFC 3339 time or date, a number with a unit (1767225600.5s, 1500ms, us, ns) or a\n"
    "bare integer: nanoseconds. --start-secs/--end-secs take plain seconds.",
    filter_opts,
    1,
    1,
    CLI_ARGS_FILES,
    NULL,
};

/* Seconds (decimal, with a fraction) to ns. */
static int parse_secs(const char *s, uint64_t *ns) {
  char buf[64], err[16];
  size_t n = strlen(s);
  if (n == 0 || n + 2 > sizeof buf) return -1;
  memcpy(buf, s, n);
  if (strchr(s, 's') == NULL) buf[n++] = 's';
  buf[n] = '\0';
  return cli_parse_time(buf, ns, err, sizeof err);
}

int cmd_filter(cli_ctx *ctx, int argc, char **argv) {
  struct filter_args a;
  memset(&a, 0, sizeof a);
  int first;
  int rc = cli_parse(ctx, &cmd_filter_spec, argc, argv, &a, &first);
  if (rc != CLI_CONTINUE) {
    cli_opt_dispose(&cmd_filter_spec, &a);
    return rc;
  }
  pl_rewrite_options o;
  memset(&o, 0, sizeof o);
  cli_time_range tr;
  if (a.time.start && a.start_secs) {
    rc = cli_usage_error(&cmd_filter_spec, "give '--start' or '--start-secs', not both");
    goto out;
  }
  if (a.time.end && a.end_secs) {
    rc = cli_usage_error(&cmd_filter_spec, "give '--end' or '--end-secs', not both");
    goto out;
  }
  rc = cli_time_resolve(&cmd_filter_spec, &a.time, &tr);
  if (rc != CLI_CONTINUE) goto out;
  o.start = tr.start;
  o.end = tr.end;
  if (a.start_secs && parse_secs(a.start_secs, &o.start) != 0) {
    rc = cli_usage_error(&cmd_filter_spec, "bad '--start-secs' '%s'", a.start_secs);
    goto out;
  }
  o.has_start = tr.has_start || a.start_secs;
  if (a.end_secs && parse_secs(a.end_secs, &o.end) != 0) {
    rc = cli_usage_error(&cmd_filter_spec, "bad '--end-secs' '%s'", a.end_secs);
    goto out;
  }
  o.has_end = tr.has_end || (a.end_secs && o.end != 0);
  if (o.has_start && o.has_end && o.start > o.end) {
    rc = cli_usage_error(&cmd_filter_spec, "the start (--start) is after the end (--end)");
    goto out;
  }
  rc = cli_topics_resolve(&cmd_filter_spec, &a.topics);
  if (rc != CLI_CONTINUE) goto out;
  o.include_topics = a.topics.include.items;
  o.n_include_topics = a.topics.include.n;
  o.exclude_topics = a.topics.exclude.items;
  o.n_exclude_topics = a.topics.exclude.n;
  o.last_per_channel = a.last_per_channel.items;
  o.n_last_per_channel = a.last_per_channel.n;
  o.no_attachments = a.no_attachments;
  o.no_metadata = a.no_metadata;
  o.no_crc = a.no_crc;
  o.no_passthrough = a.no_passthrough;
  /* o.compression stays MCAP_COMPRESSION_DEFAULT: the input's codec unless -c says otherwise */
  rc = cli_rewrite_setup(&cmd_filter_spec, &a.comp, CLI_COMPRESS_PRESERVE, a.order, a.threads, &o);
  if (rc != CLI_CONTINUE) goto out;
  rc = cli_rewrite_run(ctx, &cmd_filter_spec, argv[first], a.output, a.in_place, a.json, &o);
out:
  cli_opt_dispose(&cmd_filter_spec, &a);
  return rc;
}
