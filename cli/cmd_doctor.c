/*
 * cmd_doctor.c - 'mcapkit doctor FILE... [--strict] [--json]': the pre-flight
 * check of recordings before an upload. Runs pl_doctor_run on each (one
 * streamed pass; '-' reads standard input) and prints one line per finding and
 * a summary line per file, or one JSON document per file (NDJSON for several).
 *
 * Exit status: 0 no errors (warnings allowed; with --strict none either),
 * 3 errors found, 1 a file cannot be opened or read, 2 usage; the worst of
 * the files.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bag_input.h"
#include "cmd.h"
#include "mcap/mcap.h"
#include "output.h"
#include "pipeline/core.h"
#include "pipeline/doctor.h"

struct doctor_args {
  int strict;
  int json;
  int max_findings;
};

static const cli_opt doctor_opts[] = {
    {"strict", 0, CLI_OPT_FLAG, offsetof(struct doctor_args, strict), NULL,
     "warnings count as errors (exit 3)"},
    {"json", 0, CLI_OPT_FLAG, offsetof(struct doctor_args, json), NULL, "print JSON"},
    {"max-findings", 0, CLI_OPT_INT, offsetof(struct doctor_args, max_findings), "N",
     "keep at most N findings (default 1000); counts stay exact"},
    {NULL, 0, CLI_OPT_FLAG, 0, NULL, NULL},
};

const cli_spec cmd_doctor_spec = {
    "doctor",
    "[--strict] [--json] FILE...",
    "Checks each FILE ('-' = standard input) in one streamed pass: magics, every CRC, record\n"
    "structure and sections, schemas and channels, chunk contents and times, message, chunk,\n"
    "attachment and metadata indexes, statistics, summary offsets, footer, UTF-8 strings.\n"
    "It reports every problem it finds; only a truncated file or an unparseable record ends\n"
    "the pass early (with a finding at its offset). A ROS bag (ROS 1 .bag, rosbag2 .db3 or\n"
    "folder, recognised by content) is converted to a temporary MCAP file first, as 'mcapkit\n"
    "convert' would write it, and that is checked; what the conversion lost makes the exit 3.\n"
    "\n"
    "Severity policy: severities follow what happens to the data (docs/doctor.md gives the\n"
    "reason per code):\n"
    "  error    some data is unreadable, wrong or lost for a reader that relies on what the\n"
    "           file says (bad CRC, unparseable record, an index or statistic that disagrees\n"
    "           with the data, messages indexed readers cannot reach, ...); upload refuses it\n"
    "  warning  the data is all there and right, but the layout is unusual or costly, or some\n"
    "           readers treat it differently; also the layouts widespread writers produce\n"
    "           (rosbag2's summary-only topics, a first message at log time 0), each named\n"
    "  info     worth knowing, nothing wrong (private records, identical repeated definitions)\n"
    "Each code has a fixed severity (table below). 'mcapkit check' reports the structural codes\n"
    "only (is every byte readable and intact), with the same counts.\n"
    "\n"
    "Output: one line per finding, 'SEVERITY  CODE  @OFFSET  MESSAGE' (offset of the record;\n"
    "for records inside a chunk, of the chunk), then a summary line. --json prints\n"
    "{format_version, file, ok, errors, warnings, infos, findings: [{severity, code, offset,\n"
    "message}], stats: {records, messages, chunks, bytes}}; offset is null when unknown. With\n"
    "several files: each file's lines and summary line, then 'N of M files OK'; with --json one\n"
    "compact document per file and line (NDJSON). A progress line shows on a terminal.\n"
    "\n"
    "Exit status: 0 no errors (warnings allowed), 3 errors found (with --strict, warnings\n"
    "too), 1 a file cannot be opened or read, 2 usage error; with several files the worst\n"
    "of them (1 before 3 before 0).",
    doctor_opts,
    1,
    -1,
    CLI_ARGS_FILES,
    NULL,
};

/* The code table, from the library so that it never drifts from what is reported. */
static void print_codes(FILE *f) {
  size_t n, width = 0;
  const pl_doctor_code *codes = pl_doctor_codes(&n);
  for (size_t i = 0; i < n; i++)
    if (strlen(codes[i].code) > width) width = strlen(codes[i].code);
  fputs("\nfinding codes (E error, W warning, I info; S: also reported by 'mcapkit check'):\n", f);
  for (size_t i = 0; i < n; i++) {
    char sev = codes[i].severity == PL_SEV_ERROR     ? 'E'
               : codes[i].severity == PL_SEV_WARNING ? 'W'
                                                     : 'I';
    fprintf(f, "  %-*s  %c %c  %s\n", (int)width, codes[i].code, sev,
            codes[i].structural ? 'S' : ' ', codes[i].summary);
  }
}

static void print_human(FILE *f, const char *path, const pl_doctor_report *r, int ok) {
  size_t width = 0;
  for (size_t i = 0; i < r->n_findings; i++)
    if (strlen(r->findings[i].code) > width) width = strlen(r->findings[i].code);
  for (size_t i = 0; i < r->n_findings; i++) {
    const pl_finding *fd = &r->findings[i];
    char at[32];
    if (fd->offset == UINT64_MAX)
      snprintf(at, sizeof at, "@-");
    else
      snprintf(at, sizeof at, "@%llu", (unsigned long long)fd->offset);
    fprintf(f, "%-7s %-*s  %s  %s\n", pl_severity_name(fd->severity), (int)width, fd->code, at,
            fd->message);
  }
  fprintf(f,
          "%s %s: %zu error%s, %zu warning%s, %zu info%s (%s, %s, %s, %s)\n",
          ok ? "OK" : "FAIL", path, r->n_errors, r->n_errors == 1 ? "" : "s", r->n_warnings,
          r->n_warnings == 1 ? "" : "s", r->n_infos, r->n_infos == 1 ? "" : "s",
          CLI_COUNT(r->records, "record", "records"), CLI_COUNT(r->messages, "message", "messages"),
          CLI_COUNT(r->chunks, "chunk", "chunks"), CLI_COUNT(r->bytes, "byte", "bytes"));
}

/* One document; with several files one compact line each (NDJSON). */
static int print_json(FILE *f, const char *path, const pl_doctor_report *r, int ok, int line) {
  json_object *doc = cli_json_document();
  json_object *arr = json_object_new_array();
  json_object *stats = json_object_new_object();
  cli_json_add_str(doc, "file", path);
  cli_json_add_bool(doc, "ok", ok);
  cli_json_add_u64(doc, "errors", r->n_errors);
  cli_json_add_u64(doc, "warnings", r->n_warnings);
  cli_json_add_u64(doc, "infos", r->n_infos);
  for (size_t i = 0; i < r->n_findings; i++) {
    const pl_finding *fd = &r->findings[i];
    json_object *o = json_object_new_object();
    cli_json_add_str(o, "severity", pl_severity_name(fd->severity));
    cli_json_add_str(o, "code", fd->code);
    if (fd->offset == UINT64_MAX)
      json_object_object_add(o, "offset", NULL);
    else
      cli_json_add_u64(o, "offset", fd->offset);
    cli_json_add_str(o, "message", fd->message);
    json_object_array_add(arr, o);
  }
  json_object_object_add(doc, "findings", arr);
  cli_json_add_u64(stats, "records", r->records);
  cli_json_add_u64(stats, "messages", r->messages);
  cli_json_add_u64(stats, "chunks", r->chunks);
  cli_json_add_u64(stats, "bytes", r->bytes);
  json_object_object_add(doc, "stats", stats);
  return line ? cli_json_print_line(f, doc) : cli_json_print(f, doc);
}

struct doctor_progress {
  cli_progress bar;
  const char *path;
};

static void on_progress(void *ctx, uint64_t done, uint64_t total) {
  struct doctor_progress *p = ctx;
  char a[CLI_FMT_SIZE], b[CLI_FMT_SIZE];
  if (total != MCAP_SIZE_UNKNOWN && total > 0)
    cli_progress_update(&p->bar, "doctor %s: %s of %s (%.0f%%)", p->path,
                        cli_fmt_bytes(a, sizeof a, done), cli_fmt_bytes(b, sizeof b, total),
                        100.0 * (double)done / (double)total);
  else
    cli_progress_update(&p->bar, "doctor %s: %s", p->path, cli_fmt_bytes(a, sizeof a, done));
}

/* One file: CLI_EXIT_OK, CLI_EXIT_PROBLEMS or CLI_EXIT_FAILURE (could not be read). */
/* `path` is opened; `name` is what the user called it (a converted bag's temporary MCAP is
 * shown as the bag). */
static int doctor_one(cli_ctx *ctx, const struct doctor_args *a, const char *path,
                      const char *name, int json, int several, int *printed) {
  mcap_source src;
  mcap_error_info oerr;
  memset(&src, 0, sizeof src);
  memset(&oerr, 0, sizeof oerr);
  int rc = strcmp(path, "-") == 0 ? mcap_source_from_fd(&src, STDIN_FILENO, &oerr)
                                  : mcap_source_open_file(&src, path, &oerr);
  if (rc != MCAP_OK) {
    char buf[512];
    cli_error(ctx, "%s", cli_open_error(buf, sizeof buf, name, &oerr, rc));
    return CLI_EXIT_FAILURE;
  }

  struct doctor_progress pg;
  cli_progress_init(&pg.bar, ctx);
  pg.path = name;
  pl_doctor_options o;
  memset(&o, 0, sizeof o);
  o.strict = a->strict;
  o.max_findings = a->max_findings;
  o.progress = on_progress;
  o.progress_ctx = &pg;
  pl_doctor_report *rep = NULL;
  pl_error_info err;
  rc = pl_doctor_run(&src, &o, &rep, &err);
  cli_progress_done(&pg.bar);
  if (rc != PL_OK) {
    if (err.offset != UINT64_MAX)
      cli_error(ctx, "'%s': %s (at offset %llu)", name, err.msg[0] ? err.msg : "check failed",
                (unsigned long long)err.offset);
    else
      cli_error(ctx, "'%s': %s", name, err.msg[0] ? err.msg : "check failed");
    return CLI_EXIT_FAILURE;
  }
  int ok = pl_doctor_report_ok(rep, a->strict);
  int status = ok ? CLI_EXIT_OK : CLI_EXIT_PROBLEMS;
  if (!ok) {
    /* One line on stderr as well. Input with no readable record at all is not a recording
     * with problems but no MCAP file: a failure (exit 1), as for every command. */
    const pl_finding *f1 = rep->n_findings ? &rep->findings[0] : NULL;
    if (rep->records == 0) {
      status = CLI_EXIT_FAILURE;
      const char *why = f1 ? f1->message : "no records";
      cli_error(ctx, "'%s': %s%s", name,
                strncmp(why, "not an MCAP file", 16) ? "not an MCAP file: " : "", why);
    } else {
      cli_error(ctx, "'%s': %zu %s, %zu %s%s%s", name, rep->n_errors,
                cli_plural(rep->n_errors, "error", "errors"), rep->n_warnings,
                cli_plural(rep->n_warnings, "warning", "warnings"), f1 ? "; the first: " : "",
                f1 ? f1->message : "");
    }
  }
  *printed = 1;
  if (json) {
    if (print_json(stdout, name, rep, ok, several) != 0) status = CLI_EXIT_FAILURE;
  } else {
    print_human(stdout, name, rep, ok);
  }
  pl_doctor_report_free(rep);
  return status;
}

int cmd_doctor(cli_ctx *ctx, int argc, char **argv) {
  struct doctor_args a = {0};
  int first;
  int rc = cli_parse(ctx, &cmd_doctor_spec, argc, argv, &a, &first);
  if (rc == CLI_EXIT_OK) {
    print_codes(stdout); /* cli_parse printed --help; the code table follows it */
    return rc;
  }
  if (rc != CLI_CONTINUE) return rc;
  if (a.max_findings < 0) return cli_usage_error(&cmd_doctor_spec, "--max-findings must be >= 0");
  int json = a.json || ctx->json;
  int n = argc - first, stdin_uses = 0;
  for (int i = first; i < argc; i++) stdin_uses += strcmp(argv[i], "-") == 0;
  if (stdin_uses > 1) return cli_usage_error(&cmd_doctor_spec, "'-' can be given once");

  /* ROS bags are converted to temporary MCAP files first, which are then examined. */
  cli_bag_inputs bags;
  rc = cli_bag_inputs_prepare(ctx, &bags, argv + first, (size_t)n, 1, "");
  if (rc != CLI_CONTINUE) {
    cli_bag_inputs_dispose(&bags);
    return rc;
  }
  /* The worst outcome wins: a file that could not be read (1) over problems found (3). */
  int worst = CLI_EXIT_OK, n_ok = 0, printed = 0;
  for (int i = first; i < argc; i++) {
    if (!json && printed) fputc('\n', stdout); /* a blank line between files' reports */
    printed = 0;
    int st = doctor_one(ctx, &a, argv[i], cli_bag_inputs_name(&bags, (size_t)(i - first), argv[i]),
                        json, n > 1, &printed);
    if (st == CLI_EXIT_OK) n_ok++;
    if (st == CLI_EXIT_FAILURE) worst = CLI_EXIT_FAILURE;
    if (st == CLI_EXIT_PROBLEMS && worst == CLI_EXIT_OK) worst = CLI_EXIT_PROBLEMS;
  }
  if (!json && n > 1) printf("%s%d of %d files OK\n", printed ? "\n" : "", n_ok, n);
  if (bags.lost && worst == CLI_EXIT_OK) worst = CLI_EXIT_PROBLEMS; /* lost converting */
  cli_bag_inputs_dispose(&bags);
  return worst;
}
