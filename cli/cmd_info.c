/*
 * cmd_info.c - 'mcapkit info FILE... [--json]': what is in MCAP files.
 *
 * pl_inspect computes the description (pl_inspect_info_scan for standard input
 * and pipes: one streamed pass; pl_inspect_info_create for files: the summary,
 * plus each channel's first and last log time from its message indexes), and
 * print_human()/print_json() render it; `source` says which way it was made. A
 * channel's rate is pl_topic_frequency(), the same as `index`'s.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "inspect.h"
#include "mcap/mcap.h"
#include "output.h"
#include "pipeline/import.h"
#include "pipeline/inspect.h"
#include "pipeline/rewrite.h"

struct info_args {
  int json;
};

static const cli_opt info_opts[] = {
    {"json", 0, CLI_OPT_FLAG, offsetof(struct info_args, json), NULL, "print JSON"},
    {NULL, 0, CLI_OPT_FLAG, 0, NULL, NULL},
};

const cli_spec cmd_info_spec = {
    "info",
    "[--json] FILE...",
    "FILE may be '-' for standard input. A file with a summary section is described from its\n"
    "footer and summary, plus two message index records per channel for its first and last\n"
    "message (chunks are not read); a file without one, a damaged summary, or standard input\n"
    "is scanned in one pass ('source' says which). A channel's frequency is (messages - 1)\n"
    "over the span of its own messages, as 'mcapkit index' computes it. With several files:\n"
    "one block each, separated by a blank line; with --json one compact document per file and\n"
    "line (NDJSON). Exit status 0, or 1 if a file could not be read (the others are still\n"
    "described).",
    info_opts,
    1,
    -1,
    CLI_ARGS_FILES,
    NULL,
};

/* The channel's rate, as `index` computes a topic's (pl_topic_frequency: over the span of its
 * own messages); 0 when undefined. */
static double channel_hz(const pl_inspect_channel *c) {
  return c->have_times ? pl_topic_frequency(c->messages, c->first, c->last) : 0;
}

static const char *comp_label(const char *name) {
  return name[0] ? name : "none";
}

/* ------------------------------------------------------------ rendering */

static void print_human(FILE *f, const char *path, const pl_inspect_info *d) {
  char b1[CLI_FMT_SIZE], b2[CLI_FMT_SIZE];
  fprintf(f, "file:         %s\n", path);
  if (d->file_size != MCAP_SIZE_UNKNOWN)
    fprintf(f, "size:         %s (%llu bytes)\n", cli_fmt_bytes(b1, sizeof b1, d->file_size),
            (unsigned long long)d->file_size);
  fprintf(f, "library:      %s\n", d->library && d->library[0] ? d->library : "(none)");
  fprintf(f, "profile:      %s\n", d->profile && d->profile[0] ? d->profile : "(none)");
  fprintf(f, "messages:     %llu\n", (unsigned long long)d->messages);
  if (d->messages) {
    fprintf(f, "start:        %s\n", cli_fmt_time(b1, sizeof b1, d->start_time));
    fprintf(f, "end:          %s\n", cli_fmt_time(b1, sizeof b1, d->end_time));
    fprintf(f, "duration:     %s\n", cli_fmt_duration(b1, sizeof b1, d->end_time - d->start_time));
  }
  fprintf(f, "chunks:       %llu", (unsigned long long)d->chunks);
  if (d->chunks) {
    fprintf(f, " (at most %llu overlapping in time; largest %s, %s compressed, at offset %llu)",
            (unsigned long long)d->max_overlapping_chunks,
            cli_fmt_bytes(b1, sizeof b1, d->largest_uncompressed),
            cli_fmt_bytes(b2, sizeof b2, d->largest_compressed),
            (unsigned long long)d->largest_offset);
  }
  fputc('\n', f);
  if (d->n_comp) {
    cli_table t;
    cli_table_init(&t, 5, "lrrrr");
    cli_table_add(&t, "compression");
    cli_table_add(&t, "chunks");
    cli_table_add(&t, "compressed");
    cli_table_add(&t, "uncompressed");
    cli_table_add(&t, "ratio");
    for (size_t i = 0; i < d->n_comp; i++) {
      const pl_inspect_compression *c = &d->comp[i];
      cli_table_add(&t, "%s", comp_label(c->name));
      cli_table_add(&t, "%llu", (unsigned long long)c->chunks);
      cli_table_add(&t, "%s", cli_fmt_bytes(b1, sizeof b1, c->compressed));
      cli_table_add(&t, "%s", cli_fmt_bytes(b2, sizeof b2, c->uncompressed));
      if (c->compressed)
        cli_table_add(&t, "%.2fx", (double)c->uncompressed / (double)c->compressed);
      else
        cli_table_add(&t, "-");
    }
    cli_table_print(&t, f, "  ");
    cli_table_dispose(&t);
  }
  fprintf(f, "channels:     %zu\n", d->n_channels);
  if (d->n_channels) {
    cli_table t;
    cli_table_init(&t, 6, "rlrrll");
    cli_table_add(&t, "id");
    cli_table_add(&t, "topic");
    cli_table_add(&t, "messages");
    cli_table_add(&t, "frequency");
    cli_table_add(&t, "schema");
    cli_table_add(&t, "encoding");
    for (size_t i = 0; i < d->n_channels; i++) {
      const pl_inspect_channel *c = &d->channels[i];
      const pl_inspect_schema *sc = c->schema_id ? pl_inspect_info_schema(d, c->schema_id) : NULL;
      double hz = channel_hz(c);
      cli_table_add(&t, "%u", (unsigned)c->id);
      cli_table_add(&t, "%s", c->topic);
      cli_table_add(&t, "%llu", (unsigned long long)c->messages);
      if (hz > 0)
        cli_table_add(&t, "%.2f Hz", hz);
      else
        cli_table_add(&t, "-");
      if (sc)
        cli_table_add(&t, "%s [%s]", sc->name, sc->encoding[0] ? sc->encoding : "none");
      else if (c->schema_id)
        cli_table_add(&t, "(unknown schema %u)", (unsigned)c->schema_id);
      else
        cli_table_add(&t, "(none)");
      cli_table_add(&t, "%s", c->message_encoding);
    }
    cli_table_print(&t, f, "  ");
    cli_table_dispose(&t);
  }
  fprintf(f, "schemas:      %zu\n", d->n_schemas);
  fprintf(f, "attachments:  %llu\n", (unsigned long long)d->attachments);
  fprintf(f, "metadata:     %llu\n", (unsigned long long)d->metadata);
  fprintf(f, "summary:      %s", d->has_summary ? "yes" : "no");
  if (d->has_summary)
    fprintf(f, " (%s statistics, %s chunk indexes)", d->has_statistics ? "with" : "without",
            d->has_chunk_indexes ? "with" : "without");
  fputc('\n', f);
  if (d->rates_unknown)
    fputs("(no message indexes: channel frequencies need the chunks read; 'mcapkit index' "
          "does that)\n",
          f);
  if (strcmp(d->source, "summary") == 0)
    fputs("(read from the summary section)\n", f);
  else if (d->scan_why[0])
    fprintf(f, "(computed by scanning the whole file: %s)\n", d->scan_why);
  else
    fputs("(computed by scanning the whole file)\n", f);
}

/* One document; with several files one compact line each (NDJSON). */
static int print_json(FILE *f, const char *path, const pl_inspect_info *d, int line) {
  char buf[CLI_FMT_SIZE];
  json_object *doc = cli_json_document();
  cli_json_add_str(doc, "source", d->source);
  if (d->scan_why[0]) cli_json_add_str(doc, "scan_reason", d->scan_why);
  cli_json_add_str(doc, "file", path);
  if (d->file_size != MCAP_SIZE_UNKNOWN) cli_json_add_u64(doc, "file_size", d->file_size);
  cli_json_add_str(doc, "library", d->library ? d->library : "");
  cli_json_add_str(doc, "profile", d->profile ? d->profile : "");
  cli_json_add_u64(doc, "message_count", d->messages);
  if (d->messages) {
    cli_json_add_time(doc, "start_time", d->start_time);
    cli_json_add_time(doc, "end_time", d->end_time);
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)(d->end_time - d->start_time));
    cli_json_add_str(doc, "duration_ns", buf);
    cli_json_add_double(doc, "duration", (double)(d->end_time - d->start_time) / 1e9, 9);
  }
  cli_json_add_u64(doc, "chunk_count", d->chunks);
  json_object *comps = json_object_new_array();
  for (size_t i = 0; i < d->n_comp; i++) {
    const pl_inspect_compression *c = &d->comp[i];
    json_object *o = json_object_new_object();
    cli_json_add_str(o, "compression", comp_label(c->name));
    cli_json_add_u64(o, "chunk_count", c->chunks);
    cli_json_add_u64(o, "compressed_size", c->compressed);
    cli_json_add_u64(o, "uncompressed_size", c->uncompressed);
    if (c->compressed)
      cli_json_add_double(o, "ratio", (double)c->uncompressed / (double)c->compressed, 3);
    else
      json_object_object_add(o, "ratio", NULL);
    json_object_array_add(comps, o);
  }
  json_object_object_add(doc, "compression", comps);
  if (d->have_largest) {
    json_object *o = json_object_new_object();
    cli_json_add_u64(o, "offset", d->largest_offset);
    cli_json_add_u64(o, "compressed_size", d->largest_compressed);
    cli_json_add_u64(o, "uncompressed_size", d->largest_uncompressed);
    json_object_object_add(doc, "largest_chunk", o);
  } else {
    json_object_object_add(doc, "largest_chunk", NULL);
  }
  cli_json_add_u64(doc, "max_overlapping_chunks", d->max_overlapping_chunks);
  cli_json_add_u64(doc, "schema_count", d->n_schemas);
  cli_json_add_u64(doc, "channel_count", d->n_channels);
  json_object *chans = json_object_new_array();
  for (size_t i = 0; i < d->n_channels; i++) {
    const pl_inspect_channel *c = &d->channels[i];
    const pl_inspect_schema *sc = c->schema_id ? pl_inspect_info_schema(d, c->schema_id) : NULL;
    json_object *o = json_object_new_object();
    cli_json_add_u64(o, "id", c->id);
    cli_json_add_str(o, "topic", c->topic);
    cli_json_add_u64(o, "message_count", c->messages);
    double hz = channel_hz(c);
    if (hz > 0)
      cli_json_add_double(o, "frequency_hz", hz, 3);
    else
      json_object_object_add(o, "frequency_hz", NULL);
    cli_json_add_u64(o, "schema_id", c->schema_id);
    cli_json_add_str(o, "schema_name", sc ? sc->name : NULL);
    cli_json_add_str(o, "schema_encoding", sc ? sc->encoding : NULL);
    cli_json_add_str(o, "message_encoding", c->message_encoding);
    json_object_array_add(chans, o);
  }
  json_object_object_add(doc, "channels", chans);
  cli_json_add_u64(doc, "attachment_count", d->attachments);
  cli_json_add_u64(doc, "metadata_count", d->metadata);
  cli_json_add_bool(doc, "has_summary", d->has_summary);
  cli_json_add_bool(doc, "has_statistics", d->has_statistics);
  cli_json_add_bool(doc, "has_chunk_indexes", d->has_chunk_indexes);
  cli_json_add_damage(doc, &d->damage); /* "complete", and what could not be read */
  return line ? cli_json_print_line(f, doc) : cli_json_print(f, doc);
}

/* ------------------------------------------------------------- command */

static void show_progress(void *bar, uint64_t done, uint64_t total) {
  cli_progress_update(bar, "info: %.0f%%", 100.0 * (double)done / (double)total);
}

/* One file: CLI_EXIT_OK, CLI_EXIT_PROBLEMS (some of it could not be read) or
 * CLI_EXIT_FAILURE (could not be read at all); said on stderr. */
static int info_one(cli_ctx *ctx, const struct info_args *a, const char *path, int several) {
  pl_inspect_info *d = NULL;
  pl_error_info err;
  memset(&err, 0, sizeof err);
  int rc;
  if (strcmp(path, "-") == 0 || pl_input_is_stream(path)) {
    /* A pipe (standard input, /dev/fd/N, <(cmd)) cannot be indexed: one streamed pass. */
    mcap_source src;
    if (cli_open_stream(ctx, path, NULL, &src) != CLI_EXIT_OK) return CLI_EXIT_FAILURE;
    cli_progress bar;
    cli_progress_init(&bar, ctx);
    rc = pl_inspect_info_scan(&d, &src, show_progress, &bar, &err); /* takes src */
    cli_progress_done(&bar);
  } else {
    rc = pl_inspect_info_create(&d, path, &err);
  }
  if (rc != PL_OK) {
    cli_file_error(ctx, strcmp(path, "-") == 0 ? "standard input" : path,
                   err.msg[0] ? err.msg : pl_strerror(rc));
    pl_inspect_info_free(d);
    return CLI_EXIT_FAILURE;
  }
  rc = CLI_EXIT_OK;
  if (a->json || ctx->json) {
    if (print_json(stdout, path, d, several) != 0) rc = CLI_EXIT_FAILURE;
  } else {
    print_human(stdout, path, d);
  }
  int drc = cli_report_damage(ctx, path, &d->damage);
  pl_inspect_info_free(d);
  return rc != CLI_EXIT_OK ? rc : drc;
}

int cmd_info(cli_ctx *ctx, int argc, char **argv) {
  struct info_args a = {0};
  int first;
  int rc = cli_parse(ctx, &cmd_info_spec, argc, argv, &a, &first);
  if (rc != CLI_CONTINUE) return rc;
  int n = argc - first, stdin_uses = 0;
  for (int i = first; i < argc; i++) stdin_uses += strcmp(argv[i], "-") == 0;
  if (stdin_uses > 1) return cli_usage_error(&cmd_info_spec, "'-' can be given once");
  /* Each file in turn; the exit status is the worst (1 over 3 over 0). */
  int worst = CLI_EXIT_OK, printed = 0;
  for (int i = first; i < argc; i++) {
    if (!(a.json || ctx->json) && printed) fputc('\n', stdout);
    int st = info_one(ctx, &a, argv[i], n > 1);
    printed = st != CLI_EXIT_FAILURE;
    if (st == CLI_EXIT_FAILURE) worst = CLI_EXIT_FAILURE;
    if (st == CLI_EXIT_PROBLEMS && worst == CLI_EXIT_OK) worst = CLI_EXIT_PROBLEMS;
  }
  return worst;
}
