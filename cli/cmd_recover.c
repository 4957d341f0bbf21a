/*
 * cmd_recover.c - 'mcapkit recover IN -o OUT': rescue everything that can be
 * trusted from a truncated or damaged file (pipeline/rewrite.h pl_recover),
 * read the result back with every CRC checked before it is renamed into
 * place, and say what was recovered and what was lost.
 *
 * Exit status: 0 nothing was lost, 3 something was lost (the output holds
 * the rest), 1 nothing could be recovered (no output is written) or a
 * failure.
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

struct recover_args {
  const char *output;
  cli_compress_args comp;
  int no_crc;
  int threads;
  int in_place;
  int no_passthrough;
  int json;
};

#define A(f) offsetof(struct recover_args, f)
static const cli_opt recover_opts[] = {
    {"output", 'o', CLI_OPT_STRING, A(output), "OUT",
     "where to write ('-' = standard output); required unless --in-place"},
    CLI_OPTS_COMPRESSION(struct recover_args, comp, "zstd|lz4|none|preserve",
                         "chunk compression (default preserve: the input's)",
                         "codec level (recompresses every chunk)",
                         "target uncompressed chunk size (re-chunks everything; default 1M)"),
    {"no-crc", 0, CLI_OPT_FLAG, A(no_crc), NULL, "write every CRC field as 0"},
    {"threads", 'j', CLI_OPT_INT, A(threads), "N",
     "compression threads (0 or default: one per core)"},
    {"jobs", 0, CLI_OPT_INT, A(threads), "N", "same as --threads"},
    {"in-place", 0, CLI_OPT_FLAG, A(in_place), NULL,
     "replace IN with the result (only once it is complete and verified)"},
    {"no-passthrough", 0, CLI_OPT_FLAG, A(no_passthrough), NULL, "recompress even intact chunks"},
    {"json", 0, CLI_OPT_FLAG, A(json), NULL, "print the report as JSON"},
    {NULL, 0, CLI_OPT_FLAG, 0, NULL, NULL},
};
#undef A

const cli_spec cmd_recover_spec = {
    "recover",
    "IN -o OUT [options]",
    "Writes to OUT every record of IN that can be trusted: messages of intact chunks, the\n"
    "leading records of a truncated or broken chunk, and, after damaged bytes, whatever follows\n"
    "the next plausible record. Attachments are kept when their CRC agrees. The result is read\n"
    "back and checked before it is renamed into place. Exit status: 0 nothing lost, 3 something\n"
    "lost, 1 nothing could be recovered.",
    recover_opts,
    1,
    1,
    CLI_ARGS_FILES,
    NULL,
};

struct rprogress {
  cli_progress bar;
};

static void on_progress(void *user, uint64_t done, uint64_t total) {
  struct rprogress *rp = user;
  char b1[CLI_FMT_SIZE], b2[CLI_FMT_SIZE];
  cli_progress_update(&rp->bar, "recover: %s of %s", cli_fmt_bytes(b1, sizeof b1, done),
                      cli_fmt_bytes(b2, sizeof b2, total));
}

static void print_json(const char *input, const char *output, const pl_recover_report *r,
                       int status, int *failed) {
  json_object *doc = cli_json_document();
  cli_json_add_str(doc, "input", input);
  if (output)
    cli_json_add_str(doc, "output", output);
  else
    json_object_object_add(doc, "output", NULL);
  json_object *rec = json_object_new_object();
  cli_json_add_u64(rec, "message_count", r->messages);
  cli_json_add_u64(rec, "attachment_count", r->attachments);
  cli_json_add_u64(rec, "metadata_count", r->metadata);
  cli_json_add_u64(rec, "schema_count", r->schemas);
  cli_json_add_u64(rec, "channel_count", r->channels);
  cli_json_add_u64(rec, "chunks_ok", r->chunks_ok);
  cli_json_add_u64(rec, "chunks_copied", r->chunks_copied);
  cli_json_add_u64(rec, "chunks_partial", r->chunks_partial);
  json_object_object_add(doc, "recovered", rec);
  json_object *lost = json_object_new_object();
  cli_json_add_bool(lost, "any", r->lost);
  cli_json_add_u64(lost, "message_count", r->messages_lost);
  cli_json_add_bool(lost, "message_count_exact", !r->messages_lost_unknown);
  cli_json_add_u64(lost, "attachment_count", r->attachments_lost);
  cli_json_add_u64(lost, "metadata_count", r->metadata_lost);
  cli_json_add_u64(lost, "chunks_dropped", r->chunks_dropped);
  cli_json_add_u64(lost, "bytes_skipped", r->bytes_skipped);
  cli_json_add_u64(lost, "skipped_regions", r->skipped_regions);
  cli_json_add_bool(lost, "truncated", r->truncated);
  json_object_object_add(doc, "lost", lost);
  if (r->has_summary) {
    json_object *cl = json_object_new_object();
    cli_json_add_u64(cl, "message_count", r->claimed_messages);
    cli_json_add_u64(cl, "attachment_count", r->claimed_attachments);
    cli_json_add_u64(cl, "metadata_count", r->claimed_metadata);
    cli_json_add_u64(cl, "chunk_count", r->claimed_chunks);
    json_object_object_add(doc, "claimed", cl);
  } else {
    json_object_object_add(doc, "claimed", NULL);
  }
  json_object *probs = json_object_new_array();
  for (size_t i = 0; i < r->n_problems; i++) {
    const pl_finding *f = &r->problems[i];
    json_object *p = json_object_new_object();
    cli_json_add_str(p, "severity", pl_severity_name(f->severity));
    cli_json_add_str(p, "code", f->code);
    if (f->offset != UINT64_MAX)
      cli_json_add_u64(p, "offset", f->offset);
    else
      json_object_object_add(p, "offset", NULL);
    cli_json_add_str(p, "message", f->message);
    json_object_array_add(probs, p);
  }
  json_object_object_add(doc, "problems", probs);
  cli_json_add_u64(doc, "problem_count", r->n_problems_total);
  cli_json_add_int(doc, "exit_status", status);
  if (cli_json_print(stdout, doc) != 0) *failed = 1;
}

int cmd_recover(cli_ctx *ctx, int argc, char **argv) {
  struct recover_args a;
  memset(&a, 0, sizeof a);
  int first;
  int rc = cli_parse(ctx, &cmd_recover_spec, argc, argv, &a, &first);
  if (rc != CLI_CONTINUE) return rc;
  int json = a.json || ctx->json;
  const char *input = argv[first];
  pl_recover_options o;
  memset(&o, 0, sizeof o);
  /* preserve (the default) keeps the input's codec: its level is checked once it is known */
  rc = cli_compress_resolve(&cmd_recover_spec, &a.comp, MCAP_COMPRESSION_DEFAULT,
                            CLI_COMPRESS_PRESERVE, &o.compression);
  if (rc != CLI_CONTINUE) return rc;
  if (a.threads < 0 || a.threads > 256)
    return cli_usage_error(&cmd_recover_spec, "'--threads' must be between 0 and 256");
  o.compression_level = a.comp.level;
  o.chunk_size = a.comp.chunk_size;
  o.no_crc = a.no_crc;
  o.threads = a.threads;
  o.no_passthrough = a.no_passthrough;
  const char *output = a.output;
  if (a.in_place) {
    if (strcmp(input, "-") == 0)
      return cli_usage_error(&cmd_recover_spec, "'--in-place' needs a file, not standard input");
    if (output && strcmp(output, input) != 0)
      return cli_usage_error(&cmd_recover_spec, "'--in-place' replaces IN; do not give '-o'");
    output = input;
  }
  if (!output) return cli_usage_error(&cmd_recover_spec, "missing '-o OUT' (or '--in-place')");
  int to_stdout = strcmp(output, "-") == 0;
  if (to_stdout && json)
    return cli_usage_error(&cmd_recover_spec, "'--json' cannot be used with '-o -'");
  if (to_stdout && ctx->stdout_tty) {
    cli_error(ctx,
              "refusing to write binary MCAP data to a terminal; use -o FILE or redirect "
              "standard output");
    return CLI_EXIT_FAILURE;
  }

  pl_error_info err;
  memset(&err, 0, sizeof err);
  pl_output *out = NULL;
  rc = pl_output_open(&out, output, &input, 1, a.in_place, &err);
  if (rc != PL_OK) {
    int over_input = rc == PL_EINVAL && strstr(err.msg, "refusing to write over the input");
    cli_error(ctx, "%s%s", err.msg, over_input ? " (use --in-place to replace it)" : "");
    return rc == PL_EINVAL ? CLI_EXIT_USAGE : CLI_EXIT_FAILURE;
  }
  struct rprogress rp;
  cli_progress_init(&rp.bar, ctx);
  o.progress = on_progress;
  o.progress_user = &rp;
  pl_recover_report *rep = NULL;
  rc = pl_recover(input, pl_output_sink(out), &o, &rep, &err);
  cli_progress_done(&rp.bar);
  if (rc != PL_OK) {
    pl_output_free(out);
    pl_recover_report_free(rep);
    cli_error(ctx, "%s", err.msg[0] ? err.msg : pl_strerror(rc));
    return CLI_EXIT_FAILURE;
  }
  int nothing = rep->messages == 0 && rep->attachments == 0 && rep->metadata == 0 &&
                rep->channels == 0 && rep->schemas == 0;
  int status = rep->lost ? (nothing ? CLI_EXIT_FAILURE : CLI_EXIT_PROBLEMS) : CLI_EXIT_OK;
  const char *written = NULL;
  if (status != CLI_EXIT_FAILURE) {
    pl_output_check check = {rep->messages, rep->attachments, rep->metadata, 1};
    rc = pl_output_commit(out, &check, &err);
    if (rc != PL_OK) {
      pl_output_free(out);
      pl_recover_report_free(rep);
      cli_error(ctx, "%s", err.msg[0] ? err.msg : pl_strerror(rc));
      return CLI_EXIT_FAILURE;
    }
    written = output;
  }
  pl_output_free(out);

  if (json) {
    int failed = 0;
    print_json(input, written, rep, status, &failed);
    pl_recover_report_free(rep);
    return failed ? CLI_EXIT_FAILURE : status;
  }
  /* The report: results on stdout (on stderr, as diagnostics, when the data went to stdout). */
  FILE *f = to_stdout ? stderr : stdout;
  const char *pre = to_stdout ? "mcapkit recover: " : "";
  for (size_t i = 0; i < rep->n_problems; i++) {
    const pl_finding *p = &rep->problems[i];
    if (p->offset != UINT64_MAX)
      fprintf(f, "%s%s: %s at offset %llu: %s\n", pre, pl_severity_name(p->severity), p->code,
              (unsigned long long)p->offset, p->message);
    else
      fprintf(f, "%s%s: %s: %s\n", pre, pl_severity_name(p->severity), p->code, p->message);
  }
  if (rep->n_problems_total > rep->n_problems)
    fprintf(f, "%s(%zu more problems not shown)\n", pre, rep->n_problems_total - rep->n_problems);
  fprintf(f, "%srecovered %llu %s, %llu %s, %llu metadata %s (%llu %s intact, %llu partly)", pre,
          (unsigned long long)rep->messages, cli_plural(rep->messages, "message", "messages"),
          (unsigned long long)rep->attachments,
          cli_plural(rep->attachments, "attachment", "attachments"),
          (unsigned long long)rep->metadata, cli_plural(rep->metadata, "record", "records"),
          (unsigned long long)rep->chunks_ok, cli_plural(rep->chunks_ok, "chunk", "chunks"),
          (unsigned long long)rep->chunks_partial);
  if (rep->has_summary)
    fprintf(f, "; the file claimed %llu %s", (unsigned long long)rep->claimed_messages,
            cli_plural(rep->claimed_messages, "message", "messages"));
  fputc('\n', f);
  char lost[400] = "";
  if (rep->lost) {
    size_t n = 0;
    if (rep->messages_lost_unknown && rep->messages_lost == 0)
      n += (size_t)snprintf(lost + n, sizeof lost - n, "an unknown number of messages");
    else
      n += (size_t)snprintf(lost + n, sizeof lost - n, "%s%llu %s",
                            rep->messages_lost_unknown ? "at least " : "",
                            (unsigned long long)rep->messages_lost,
                            cli_plural(rep->messages_lost, "message", "messages"));
    if (n < sizeof lost)
      n += (size_t)snprintf(lost + n, sizeof lost - n, ", %llu %s, %llu metadata %s",
                            (unsigned long long)rep->attachments_lost,
                            cli_plural(rep->attachments_lost, "attachment", "attachments"),
                            (unsigned long long)rep->metadata_lost,
                            cli_plural(rep->metadata_lost, "record", "records"));
    if (rep->bytes_skipped && n < sizeof lost)
      n += (size_t)snprintf(lost + n, sizeof lost - n, "; %llu damaged %s skipped in %llu %s",
                            (unsigned long long)rep->bytes_skipped,
                            cli_plural(rep->bytes_skipped, "byte", "bytes"),
                            (unsigned long long)rep->skipped_regions,
                            cli_plural(rep->skipped_regions, "place", "places"));
    if (rep->chunks_dropped && n < sizeof lost)
      n += (size_t)snprintf(lost + n, sizeof lost - n, "; %llu %s dropped",
                            (unsigned long long)rep->chunks_dropped,
                            cli_plural(rep->chunks_dropped, "chunk", "chunks"));
    if (rep->truncated && n < sizeof lost)
      snprintf(lost + n, sizeof lost - n, "; the data section ends early (truncated)");
    fprintf(f, "%slost: %s\n", pre, lost);
  } else {
    fprintf(f, "%snothing was lost\n", pre);
  }
  if (written)
    fprintf(f, "%swrote '%s'\n", pre, written);
  else
    fprintf(f, "%snothing could be recovered: no output written\n", pre);
  /* What went wrong, in one line on stderr (the report above is the result). */
  if (!to_stdout && status == CLI_EXIT_PROBLEMS) {
    char brief[400] = "";
    size_t n = 0;
#define PART(cond, ...)                                                                    \
  do {                                                                                     \
    if ((cond) && n < sizeof brief)                                                        \
      n += (size_t)snprintf(brief + n, sizeof brief - n, "%s", n ? ", " : "");             \
    if ((cond) && n < sizeof brief) n += (size_t)snprintf(brief + n, sizeof brief - n, __VA_ARGS__); \
  } while (0)
    /* "at least 0 messages" says nothing: say that the number is unknown */
    PART(!rep->messages_lost && rep->messages_lost_unknown, "an unknown number of messages lost");
    PART(rep->messages_lost, "%s%llu %s lost", rep->messages_lost_unknown ? "at least " : "",
         (unsigned long long)rep->messages_lost,
         cli_plural(rep->messages_lost, "message", "messages"));
    PART(rep->attachments_lost, "%llu %s lost", (unsigned long long)rep->attachments_lost,
         cli_plural(rep->attachments_lost, "attachment", "attachments"));
    PART(rep->metadata_lost, "%llu metadata %s lost", (unsigned long long)rep->metadata_lost,
         cli_plural(rep->metadata_lost, "record", "records"));
    PART(rep->bytes_skipped, "%llu damaged %s skipped", (unsigned long long)rep->bytes_skipped,
         cli_plural(rep->bytes_skipped, "byte", "bytes"));
    PART(rep->chunks_dropped, "%llu %s dropped", (unsigned long long)rep->chunks_dropped,
         cli_plural(rep->chunks_dropped, "chunk", "chunks"));
    PART(rep->truncated, "truncated at offset %llu", (unsigned long long)rep->data_end);
#undef PART
    cli_error(ctx, "'%s': incomplete: %s; what was recovered is in '%s'", input,
              n ? brief : "data lost",
              written ? written : "");
  }
  else if (!to_stdout && status == CLI_EXIT_FAILURE)
    cli_error(ctx, "'%s': nothing could be recovered%s%s", input,
              rep->n_problems ? ": " : "", rep->n_problems ? rep->problems[0].message : "");
  pl_recover_report_free(rep);
  return status;
}
