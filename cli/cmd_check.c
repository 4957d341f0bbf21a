/*
 * cmd_check.c - 'mcapkit check FILE...': the structural subset of the doctor
 * (pl_doctor_run with structural_only): can every record be read, and does
 * every byte match its CRC (magics, record framing and sections, chunk
 * decompression, every CRC the file carries). One line per file; the counts
 * are the doctor's, from the same pass. Indexes, statistics and definitions
 * are the doctor's business (docs/doctor.md).
 *
 * Exit status: 0 all files intact, 3 some file has a structural error, 1 some
 * file could not be read at all (that wins over 3).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "mcap/mcap.h"
#include "output.h"
#include "pipeline/core.h"
#include "pipeline/doctor.h"

struct check_args {
  int json;
};

static const cli_opt check_opts[] = {
    {"json", 0, CLI_OPT_FLAG, offsetof(struct check_args, json), NULL, "print JSON"},
    {NULL, 0, CLI_OPT_FLAG, 0, NULL, NULL},
};

const cli_spec cmd_check_spec = {
    "check",
    "[--json] FILE...",
    "Reads every record of each FILE ('-' = standard input) and verifies that it can be read:\n"
    "the magics, the record structure and sections, chunk decompression and every CRC the file\n"
    "carries. It is the structural part of 'mcapkit doctor' (same pass, same counts); the doctor\n"
    "also checks indexes, statistics and definitions. Prints 'OK FILE: ...' or 'FAIL FILE:\n"
    "<first error>' per file. Exit status 0 if all are intact, 3 if some file has an error, 1 if\n"
    "one could not be read.",
    check_opts,
    1,
    -1,
    CLI_ARGS_FILES,
    NULL,
};

struct check_result {
  int status; /* CLI_EXIT_OK, CLI_EXIT_PROBLEMS (invalid), CLI_EXIT_FAILURE (unreadable) */
  pl_doctor_report *rep;   /* NULL when the file could not be read */
  const pl_finding *first; /* first error, or NULL */
  int code;                /* on failure: the pl_error */
  int open_failed;         /* msg already names the file */
  char msg[600];
};

struct check_progress {
  cli_progress bar;
  const char *path;
};

static void on_progress(void *ctx, uint64_t done, uint64_t total) {
  struct check_progress *p = ctx;
  char a[CLI_FMT_SIZE], b[CLI_FMT_SIZE];
  if (total != MCAP_SIZE_UNKNOWN && total > 0)
    cli_progress_update(&p->bar, "check %s: %s of %s (%.0f%%)", p->path,
                        cli_fmt_bytes(a, sizeof a, done), cli_fmt_bytes(b, sizeof b, total),
                        100.0 * (double)done / (double)total);
  else
    cli_progress_update(&p->bar, "check %s: %s", p->path, cli_fmt_bytes(a, sizeof a, done));
}

static void check_file(const cli_ctx *ctx, const char *path, struct check_result *res) {
  memset(res, 0, sizeof *res);
  mcap_source src;
  memset(&src, 0, sizeof src);
  mcap_error_info oerr;
  memset(&oerr, 0, sizeof oerr);
  int rc = strcmp(path, "-") == 0 ? mcap_source_from_fd(&src, STDIN_FILENO, &oerr)
                                  : mcap_source_open_file(&src, path, &oerr);
  if (rc != MCAP_OK) {
    res->status = CLI_EXIT_FAILURE;
    res->open_failed = 1;
    cli_open_error(res->msg, sizeof res->msg, path, &oerr, rc);
    return;
  }
  struct check_progress pg;
  cli_progress_init(&pg.bar, ctx);
  pg.path = path;
  pl_doctor_options o;
  memset(&o, 0, sizeof o);
  o.structural_only = 1;
  o.progress = on_progress;
  o.progress_ctx = &pg;
  pl_error_info err;
  rc = pl_doctor_run(&src, &o, &res->rep, &err);
  cli_progress_done(&pg.bar);
  if (rc != PL_OK) {
    /* I/O and memory failures say nothing about the file's validity */
    res->status = CLI_EXIT_FAILURE;
    res->code = rc;
    if (err.offset != UINT64_MAX)
      snprintf(res->msg, sizeof res->msg, "%s (at offset %llu)",
               err.msg[0] ? err.msg : pl_strerror(rc), (unsigned long long)err.offset);
    else
      snprintf(res->msg, sizeof res->msg, "%s", err.msg[0] ? err.msg : pl_strerror(rc));
    return;
  }
  for (size_t i = 0; i < res->rep->n_findings && !res->first; i++)
    if (res->rep->findings[i].severity == PL_SEV_ERROR) res->first = &res->rep->findings[i];
  if (res->rep->n_errors == 0) return;
  res->status = CLI_EXIT_PROBLEMS;
  if (!res->first) {
    snprintf(res->msg, sizeof res->msg, "%zu errors", res->rep->n_errors);
  } else if (res->first->offset != UINT64_MAX) {
    snprintf(res->msg, sizeof res->msg, "offset %llu: %s (%s)",
             (unsigned long long)res->first->offset, res->first->message, res->first->code);
  } else {
    snprintf(res->msg, sizeof res->msg, "%s (%s)", res->first->message, res->first->code);
  }
}

/* The libmcap error name of a structural code ("CRC mismatch", ...), for error_kind. */
static const char *error_kind(const pl_finding *f) {
  size_t n = 0;
  const pl_doctor_code *codes = pl_doctor_codes(&n);
  for (size_t i = 0; f && i < n; i++)
    if (strcmp(codes[i].code, f->code) == 0 && codes[i].mcap_code)
      return mcap_strerror(codes[i].mcap_code);
  return "invalid file";
}

static const char *crc_summary(const pl_doctor_report *r, char *buf, size_t n) {
  if (r->crcs_absent == 0)
    snprintf(buf, n, "CRCs verified");
  else if (r->crcs_checked == 0)
    snprintf(buf, n, "no CRCs to verify");
  else
    snprintf(buf, n, "CRCs verified (%llu of %llu CRC fields are 0)",
             (unsigned long long)r->crcs_absent,
             (unsigned long long)(r->crcs_absent + r->crcs_checked));
  return buf;
}

int cmd_check(cli_ctx *ctx, int argc, char **argv) {
  struct check_args a = {0};
  int first;
  int rc = cli_parse(ctx, &cmd_check_spec, argc, argv, &a, &first);
  if (rc != CLI_CONTINUE) return rc;
  int json = a.json || ctx->json;

  int worst = CLI_EXIT_OK;
  int n_bad = 0;
  json_object *doc = json ? cli_json_document() : NULL;
  json_object *files = json ? json_object_new_array() : NULL;
  for (int i = first; i < argc; i++) {
    const char *path = argv[i];
    struct check_result res;
    char crcs[96] = "";
    check_file(ctx, path, &res);
    const pl_doctor_report *r = res.rep;
    uint64_t records = r ? r->records : 0;
    /* no readable record at all: not an MCAP file, a failure (exit 1) as for every command */
    if (res.status == CLI_EXIT_PROBLEMS && records == 0) res.status = CLI_EXIT_FAILURE;
    if (res.status == CLI_EXIT_FAILURE) worst = CLI_EXIT_FAILURE;
    if (res.status == CLI_EXIT_PROBLEMS && worst == CLI_EXIT_OK) worst = CLI_EXIT_PROBLEMS;
    if (res.status != CLI_EXIT_OK) n_bad++;
    if (r) crc_summary(r, crcs, sizeof crcs);
    if (json) {
      json_object *o = json_object_new_object();
      cli_json_add_str(o, "file", path);
      cli_json_add_str(o, "status",
                       res.status == CLI_EXIT_OK         ? "ok"
                       : res.status == CLI_EXIT_PROBLEMS ? "invalid"
                                                         : "error");
      cli_json_add_bool(o, "ok", res.status == CLI_EXIT_OK);
      cli_json_add_u64(o, "record_count", r ? r->records : 0);
      cli_json_add_u64(o, "message_count", r ? r->messages : 0);
      cli_json_add_u64(o, "chunk_count", r ? r->chunks : 0);
      cli_json_add_u64(o, "crcs_verified", r ? r->crcs_checked : 0);
      cli_json_add_u64(o, "crcs_absent", r ? r->crcs_absent : 0);
      cli_json_add_u64(o, "errors", r ? r->n_errors : 0);
      cli_json_add_u64(o, "warnings", r ? r->n_warnings : 0);
      if (res.status != CLI_EXIT_OK) {
        cli_json_add_str(o, "error", res.msg);
        cli_json_add_str(o, "error_kind",
                         res.status == CLI_EXIT_PROBLEMS ? error_kind(res.first) : "unreadable");
        /* the doctor's code, also when no record at all could be read */
        if (res.first) cli_json_add_str(o, "error_code", res.first->code);
        if (res.first && res.first->offset != UINT64_MAX)
          cli_json_add_u64(o, "error_offset", res.first->offset);
      }
      json_object_array_add(files, o);
    } else if (res.status == CLI_EXIT_OK) {
      printf("OK %s: %s, %s, %s, %s\n", path, CLI_COUNT(r->records, "record", "records"),
             CLI_COUNT(r->messages, "message", "messages"), CLI_COUNT(r->chunks, "chunk", "chunks"),
             crcs);
    } else if (res.status == CLI_EXIT_PROBLEMS) {
      if (r->n_errors > 1)
        printf("FAIL %s: %s; %zu more errors\n", path, res.msg, r->n_errors - 1);
      else
        printf("FAIL %s: %s\n", path, res.msg);
      cli_error(ctx, "'%s': invalid: %s", path, res.msg);
    } else if (!res.open_failed && records == 0) {
      printf("FAIL %s: %s\n", path, res.msg);
      cli_error(ctx, "'%s': %s%s", path,
                strncmp(res.msg, "not an MCAP file", 16) ? "not an MCAP file: " : "", res.msg);
    } else {
      if (res.open_failed)
        cli_error(ctx, "%s", res.msg);
      else
        cli_error(ctx, "'%s': %s", path, res.msg);
    }
    pl_doctor_report_free(res.rep);
  }
  if (json) {
    json_object_object_add(doc, "files", files);
    cli_json_add_bool(doc, "ok", worst == CLI_EXIT_OK);
    if (cli_json_print(stdout, doc) != 0) return CLI_EXIT_FAILURE;
  } else if (argc - first > 1) {
    printf("%d of %d files valid\n", argc - first - n_bad, argc - first);
  }
  return worst;
}
