/*
 * cmd_du.c - 'mcapkit du FILE': where the bytes of an MCAP file go.
 *
 * Two tables: the file's bytes by top-level record kind (Chunk, MessageIndex,
 * Attachment, summary records, ...), and message bytes by topic with an
 * estimate of each topic's share of the file (a chunk's stored bytes split
 * between topics in proportion to their uncompressed message records in it).
 *
 * pl_inspect computes the figures: pl_inspect_du_exact streams every record
 * (chunks decompressed, CRCs checked); --approximate is pl_inspect_du_estimate,
 * which reads only the summary and the MessageIndex records. '-' (standard
 * input) is always measured exactly. This file parses, opens and renders.
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
#include "pipeline/inspect.h"

struct du_args {
  int approximate;
  int json;
};

static const cli_opt du_opts[] = {
    {"approximate", 'a', CLI_OPT_FLAG, offsetof(struct du_args, approximate), NULL,
     "estimate from the summary and message indexes, without decompressing"},
    {"json", 0, CLI_OPT_FLAG, offsetof(struct du_args, json), NULL, "print JSON"},
    {NULL, 0, CLI_OPT_FLAG, 0, NULL, NULL},
};

const cli_spec cmd_du_spec = {
    "du",
    "[--approximate] [--json] FILE",
    "Prints the bytes of FILE ('-' = standard input) by top-level record kind, and the message\n"
    "bytes by topic (payload bytes, without record headers) with each topic's estimated share\n"
    "of the stored file. The exact mode reads the whole file and checks every CRC;\n"
    "--approximate reads only the summary and the message indexes.",
    du_opts,
    1,
    1,
    CLI_ARGS_FILES,
    NULL,
};

static double pct(uint64_t part, uint64_t whole) {
  return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

static void print_human(const pl_inspect_du *d, const char *path) {
  const pl_inspect_du_topic *rows = d->topics;
  size_t n = d->n_topics;
  char b1[CLI_FMT_SIZE];
  printf("file: %s, %s (%llu bytes), %s\n\n", path, cli_fmt_bytes(b1, sizeof b1, d->file_size),
         (unsigned long long)d->file_size,
         d->approximate ? "approximate (from indexes)" : "exact (every record read)");
  cli_table t;
  cli_table_init(&t, 5, "lrrrr");
  cli_table_add(&t, "record");
  cli_table_add(&t, "count");
  cli_table_add(&t, "bytes");
  cli_table_add(&t, "size");
  cli_table_add(&t, "%s", "% of file");
  uint64_t sum = 0;
  for (size_t i = 0; i < d->n_kinds; i++) {
    const pl_inspect_du_kind *k = &d->kinds[i];
    sum += k->bytes;
    cli_table_add(&t, "%s", k->name);
    if (k->count)
      cli_table_add(&t, "%llu", (unsigned long long)k->count);
    else
      cli_table_add(&t, "-");
    cli_table_add(&t, "%llu", (unsigned long long)k->bytes);
    cli_table_add(&t, "%s", cli_fmt_bytes(b1, sizeof b1, k->bytes));
    cli_table_add(&t, "%.2f%%", pct(k->bytes, d->file_size));
  }
  cli_table_add(&t, "total");
  cli_table_add(&t, "%s", "");
  cli_table_add(&t, "%llu", (unsigned long long)sum);
  cli_table_add(&t, "%s", cli_fmt_bytes(b1, sizeof b1, sum));
  cli_table_add(&t, "%.2f%%", pct(sum, d->file_size));
  cli_table_print(&t, stdout, NULL);
  cli_table_dispose(&t);
  putchar('\n');

  cli_table_init(&t, 6, "lrrrrr");
  cli_table_add(&t, "topic");
  cli_table_add(&t, "messages");
  cli_table_add(&t, "message bytes");
  cli_table_add(&t, "size");
  cli_table_add(&t, "%s", "% of messages");
  cli_table_add(&t, "est. stored");
  for (size_t i = 0; i < n; i++) {
    cli_table_add(&t, "%s", rows[i].topic);
    cli_table_add(&t, "%llu", (unsigned long long)rows[i].messages);
    cli_table_add(&t, "%llu", (unsigned long long)rows[i].bytes);
    cli_table_add(&t, "%s", cli_fmt_bytes(b1, sizeof b1, rows[i].bytes));
    cli_table_add(&t, "%.2f%%", pct(rows[i].bytes, d->message_bytes));
    cli_table_add(&t, "%s", cli_fmt_bytes(b1, sizeof b1, (uint64_t)(rows[i].disk + 0.5)));
  }
  cli_table_add(&t, "total");
  cli_table_add(&t, "%llu", (unsigned long long)d->messages);
  cli_table_add(&t, "%llu", (unsigned long long)d->message_bytes);
  cli_table_add(&t, "%s", cli_fmt_bytes(b1, sizeof b1, d->message_bytes));
  cli_table_add(&t, "%.2f%%", d->message_bytes ? 100.0 : 0.0);
  double disk = 0;
  for (size_t i = 0; i < n; i++) disk += rows[i].disk;
  cli_table_add(&t, "%s", cli_fmt_bytes(b1, sizeof b1, (uint64_t)(disk + 0.5)));
  cli_table_print(&t, stdout, NULL);
  cli_table_dispose(&t);
}

static int print_json(const pl_inspect_du *d, const char *path) {
  const pl_inspect_du_topic *rows = d->topics;
  size_t n = d->n_topics;
  json_object *doc = cli_json_document();
  cli_json_add_str(doc, "file", path);
  cli_json_add_bool(doc, "approximate", d->approximate);
  cli_json_add_u64(doc, "file_size", d->file_size);
  json_object *recs = json_object_new_array();
  for (size_t i = 0; i < d->n_kinds; i++) {
    json_object *o = json_object_new_object();
    cli_json_add_str(o, "record", d->kinds[i].name);
    cli_json_add_u64(o, "count", d->kinds[i].count);
    cli_json_add_u64(o, "bytes", d->kinds[i].bytes);
    cli_json_add_double(o, "percent", pct(d->kinds[i].bytes, d->file_size), 3);
    json_object_array_add(recs, o);
  }
  json_object_object_add(doc, "records", recs);
  cli_json_add_u64(doc, "message_count", d->messages);
  cli_json_add_u64(doc, "message_bytes", d->message_bytes);
  json_object *tops = json_object_new_array();
  for (size_t i = 0; i < n; i++) {
    json_object *o = json_object_new_object();
    cli_json_add_str(o, "topic", rows[i].topic);
    cli_json_add_u64(o, "message_count", rows[i].messages);
    cli_json_add_u64(o, "message_bytes", rows[i].bytes);
    cli_json_add_double(o, "percent", pct(rows[i].bytes, d->message_bytes), 3);
    cli_json_add_u64(o, "stored_bytes_estimate", (uint64_t)(rows[i].disk + 0.5));
    json_object_array_add(tops, o);
  }
  json_object_object_add(doc, "topics", tops);
  cli_json_add_damage(doc, &d->damage); /* "complete", and what could not be read */
  return cli_json_print(stdout, doc);
}

static void show_progress(void *bar, uint64_t done, uint64_t total) {
  cli_progress_update(bar, "du: %.0f%%", 100.0 * (double)done / (double)total);
}

static int du_exact(const cli_ctx *ctx, const char *path, pl_inspect_du **du) {
  if (strcmp(path, "-") == 0 && cli_check_stdin(ctx) != CLI_EXIT_OK) return CLI_EXIT_USAGE;
  mcap_source src;
  if (cli_open_stream(ctx, path, NULL, &src) != CLI_EXIT_OK) return CLI_EXIT_FAILURE;
  pl_error_info err;
  cli_progress bar;
  cli_progress_init(&bar, ctx);
  int rc = pl_inspect_du_exact(du, &src, show_progress, &bar, &err); /* takes src */
  cli_progress_done(&bar);
  if (rc == PL_ENOMEM) cli_error(ctx, "out of memory");
  else if (rc != PL_OK) cli_error(ctx, "'%s': %s", path, err.msg);
  return rc == PL_OK ? CLI_EXIT_OK : CLI_EXIT_FAILURE;
}

static int du_estimate(const cli_ctx *ctx, const char *path, pl_inspect_du **du) {
  mcap_reader *r = NULL;
  int rc = cli_open_reader(ctx, path, 1, &r);
  if (rc != CLI_EXIT_OK) return rc;
  mcap_source src;
  mcap_error_info merr;
  memset(&src, 0, sizeof src);
  memset(&merr, 0, sizeof merr);
  /* the windowed file source: it touches only the message indexes read */
  if (mcap_source_open_file(&src, path, &merr) != MCAP_OK) {
    char msg[600];
    cli_error(ctx, "%s", cli_open_error(msg, sizeof msg, path, &merr, MCAP_EIO));
    mcap_reader_free(r);
    return CLI_EXIT_FAILURE;
  }
  pl_error_info err;
  rc = pl_inspect_du_estimate(du, r, &src, &err);
  mcap_source_close(&src);
  mcap_reader_free(r); /* its damage is in the figures, reported beside the tables */
  if (rc != PL_OK) cli_error(ctx, "out of memory");
  return rc == PL_OK ? CLI_EXIT_OK : CLI_EXIT_FAILURE;
}

int cmd_du(cli_ctx *ctx, int argc, char **argv) {
  struct du_args a;
  memset(&a, 0, sizeof a);
  int first;
  int rc = cli_parse(ctx, &cmd_du_spec, argc, argv, &a, &first);
  if (rc != CLI_CONTINUE) return rc;
  const char *path = argv[first];
  int approximate = a.approximate && strcmp(path, "-") != 0;
  if (a.approximate && !approximate)
    cli_error(ctx, "note: standard input is measured exactly (no '--approximate' for '-')");
  pl_inspect_du *d = NULL;
  rc = approximate ? du_estimate(ctx, path, &d) : du_exact(ctx, path, &d);
  if (rc != CLI_EXIT_OK) return rc;
  if (a.json || ctx->json) {
    if (print_json(d, path) != 0) rc = CLI_EXIT_FAILURE;
  } else {
    print_human(d, path);
  }
  int drc = cli_report_damage(ctx, path, &d->damage);
  pl_inspect_du_free(d);
  return rc == CLI_EXIT_OK ? drc : rc;
}
