/*
 * cmd_report.c - 'mcapkit report FILE -o OUT.html [--svg OUT.svg]': a
 * recording report page (pl_report): summary, timeline of coverage, gaps and
 * message rates per topic, topics, attachments, metadata, storage and the
 * doctor's findings, as one self-contained HTML file; --svg writes the
 * timeline alone. Outputs are written atomically ('-' = standard output).
 *
 * Exit status: 0 written, 3 written but the recording has errors (a damaged
 * file: see its findings), 1 the file could not be read or an output not
 * written, 2 usage.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "output.h"
#include "pipeline/import.h"
#include "pipeline/report.h"

struct report_args {
  const char *output;
  const char *svg;
  double tolerance;
  int doctor;
  int no_doctor;
  int no_hash;
  int max_rows;
  int json;
};

static const cli_opt report_opts[] = {
    {"output", 'o', CLI_OPT_STRING, offsetof(struct report_args, output), "OUT",
     "write the HTML report to OUT ('-' = standard output)"},
    {"svg", 0, CLI_OPT_STRING, offsetof(struct report_args, svg), "OUT",
     "write the timeline alone as an SVG file"},
    {"tolerance", 0, CLI_OPT_DOUBLE, offsetof(struct report_args, tolerance), "SECONDS",
     "coverage gap tolerance (default 14; any value >= 0)"},
    {"doctor", 0, CLI_OPT_FLAG, offsetof(struct report_args, doctor), NULL,
     "always run the doctor's full check (every chunk decompressed)"},
    {"no-doctor", 0, CLI_OPT_FLAG, offsetof(struct report_args, no_doctor), NULL,
     "never run it: findings are what indexing met"},
    {"no-hash", 0, CLI_OPT_FLAG, offsetof(struct report_args, no_hash), NULL,
     "skip the content hash (saves one read of the file)"},
    {"max-rows", 0, CLI_OPT_INT, offsetof(struct report_args, max_rows), "N",
     "timeline rows before topics are grouped by name prefix (default 200)"},
    {"json", 0, CLI_OPT_FLAG, offsetof(struct report_args, json), NULL,
     "print what was written as JSON"},
    {NULL, 0, CLI_OPT_FLAG, 0, NULL, NULL},
};

const cli_spec cmd_report_spec = {
    "report",
    "FILE -o OUT.html [--svg OUT.svg] [--tolerance SECONDS] [--doctor | --no-doctor]",
    "Writes a report of FILE as one self-contained HTML page (inline SVG and CSS: no script,\n"
    "nothing loaded from elsewhere): the summary (device, times, size, library, profile,\n"
    "content hash), a timeline with one row per topic showing its coverage ranges, the gaps\n"
    "longer than the tolerance and its message rate over time (UTC axis), the topic table,\n"
    "attachments and metadata, where the bytes go (record kinds, chunk compression) and the\n"
    "findings. --svg writes the timeline alone. Beyond --max-rows topics, timeline rows group\n"
    "topics by name prefix (the page says so); tables show at most 1000 rows.\n"
    "\n"
    "A file with a summary and message indexes is reported without decompressing any chunk;\n"
    "one without is read in one streamed pass, and then the doctor's full check runs beside\n"
    "it (--doctor: always). Outputs are written atomically.\n"
    "\n"
    "Exit status: 0 written, 3 written but the recording has errors, 1 failure, 2 usage.",
    report_opts,
    1,
    1,
    CLI_ARGS_FILES,
    NULL,
};

static int has_errors(const pl_recording_index *ix) {
  if (ix->partial) return 1;
  for (size_t i = 0; i < ix->n_problems; i++)
    if (ix->problems[i].severity == PL_SEV_ERROR) return 1;
  return 0;
}

/* Write one document to a file, or to standard output for '-'. */
static int write_doc(const cli_ctx *ctx, pl_report *r, pl_report_format fmt,
                     const pl_report_render_options *ro, const char *out) {
  if (strcmp(out, "-") != 0) {
    if (pl_report_write_file(r, fmt, ro, out) != PL_REPORT_OK) {
      cli_error(ctx, "%s", pl_report_errmsg(r));
      return -1;
    }
    return 0;
  }
  char *doc = NULL;
  size_t len = 0;
  if (pl_report_render(r, fmt, ro, &doc, &len) != PL_REPORT_OK) {
    cli_error(ctx, "%s", pl_report_errmsg(r));
    return -1;
  }
  int rc = fwrite(doc, 1, len, stdout) == len ? 0 : -1;
  free(doc);
  if (rc) cli_error(ctx, "error writing to standard output");
  return rc;
}

int cmd_report(cli_ctx *ctx, int argc, char **argv) {
  struct report_args a;
  memset(&a, 0, sizeof a);
  a.tolerance = -INFINITY;
  int first;
  int rc = cli_parse(ctx, &cmd_report_spec, argc, argv, &a, &first);
  if (rc != CLI_CONTINUE) return rc;
  int json = a.json || ctx->json;
  if (!a.output && !a.svg)
    return cli_usage_error(&cmd_report_spec, "nothing to write: give -o OUT.html or --svg OUT.svg");
  if (a.tolerance == -INFINITY)
    a.tolerance = -1;
  else if (a.tolerance < 0)
    return cli_usage_error(&cmd_report_spec, "option '--tolerance' must be >= 0");
  if (a.doctor && a.no_doctor)
    return cli_usage_error(&cmd_report_spec, "--doctor and --no-doctor exclude each other");
  if (a.max_rows < 0) return cli_usage_error(&cmd_report_spec, "option '--max-rows' must be >= 1");
  if (a.output && a.svg && strcmp(a.output, "-") == 0 && strcmp(a.svg, "-") == 0)
    return cli_usage_error(&cmd_report_spec, "only one output can be standard output");
  if (json && ((a.output && strcmp(a.output, "-") == 0) || (a.svg && strcmp(a.svg, "-") == 0)))
    return cli_usage_error(&cmd_report_spec, "--json and an output on standard output exclude "
                                             "each other");
  const char *path = argv[first];
  if (strcmp(path, "-") == 0)
    return cli_usage_error(&cmd_report_spec, "FILE must be a file (the report reads it twice)");

  pl_report *r = NULL;
  if (pl_report_create(&r) != PL_REPORT_OK) {
    cli_error(ctx, "out of memory");
    return CLI_EXIT_FAILURE;
  }
  pl_report_options o;
  memset(&o, 0, sizeof o);
  o.tolerance_s = a.tolerance;
  o.doctor = a.doctor;
  o.no_doctor = a.no_doctor;
  o.no_hash = a.no_hash;
  if (pl_report_load_file(r, path, &o) != PL_REPORT_OK) {
    cli_error(ctx, "%s", pl_report_errmsg(r));
    pl_report_free(r);
    return CLI_EXIT_FAILURE;
  }
  pl_report_render_options ro;
  memset(&ro, 0, sizeof ro);
  ro.max_rows = (size_t)a.max_rows;
  int out_rc = CLI_EXIT_OK;
  if (a.output && write_doc(ctx, r, PL_REPORT_HTML, &ro, a.output) != 0) out_rc = CLI_EXIT_FAILURE;
  if (out_rc == CLI_EXIT_OK && a.svg && write_doc(ctx, r, PL_REPORT_SVG, &ro, a.svg) != 0)
    out_rc = CLI_EXIT_FAILURE;
  const pl_recording_index *ix = pl_report_index(r);
  /* what could not be read, on stderr too (the findings are on the page) */
  if (ix->partial) cli_report_damage(ctx, path, &ix->damage);
  pl_report_stats st;
  pl_report_get_stats(r, &st);
  if (out_rc == CLI_EXIT_OK) {
    size_t errors = 0, warnings = 0;
    for (size_t i = 0; i < ix->n_problems; i++) {
      errors += ix->problems[i].severity == PL_SEV_ERROR;
      warnings += ix->problems[i].severity == PL_SEV_WARNING;
    }
    if (json) {
      json_object *doc = cli_json_document();
      cli_json_add_str(doc, "file", path);
      if (a.output) cli_json_add_str(doc, "html", a.output);
      if (a.svg) cli_json_add_str(doc, "svg", a.svg);
      cli_json_add_u64(doc, "topics", ix->n_topics);
      cli_json_add_u64(doc, "messages", ix->message_count);
      cli_json_add_u64(doc, "errors", errors);
      cli_json_add_u64(doc, "warnings", warnings);
      cli_json_add_bool(doc, "from_summary", st.from_summary);
      cli_json_add_bool(doc, "doctor_ran", st.doctor_ran);
      cli_json_add_u64(doc, "chunks_decompressed", st.chunks_decompressed);
      if (cli_json_print(stdout, doc) != 0) out_rc = CLI_EXIT_FAILURE;
    } else if (!(a.output && strcmp(a.output, "-") == 0) && !(a.svg && strcmp(a.svg, "-") == 0)) {
      printf("%s: %zu topic%s, %llu messages, %zu error%s, %zu warning%s", path, ix->n_topics,
             ix->n_topics == 1 ? "" : "s", (unsigned long long)ix->message_count, errors,
             errors == 1 ? "" : "s", warnings, warnings == 1 ? "" : "s");
      printf(" (%s)\n", st.from_summary ? "from the summary and message indexes"
                                        : "one streamed pass");
      if (a.output) printf("wrote %s\n", a.output);
      if (a.svg) printf("wrote %s\n", a.svg);
    }
    cli_verbose(ctx, "'%s': %llu chunks decompressed", path,
                (unsigned long long)st.chunks_decompressed);
    if (out_rc == CLI_EXIT_OK && has_errors(ix)) out_rc = CLI_EXIT_PROBLEMS;
  }
  pl_report_free(r);
  return out_rc;
}
