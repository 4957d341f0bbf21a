/*
 * cmd_check.c - 'mcapkit check FILE...': stream every record of each file
 * through the streamed reader with every check on (magics, record structure,
 * chunk/data/summary/attachment CRCs) and report one line per file.
 *
 * Exit status: 0 all files valid, 3 some file invalid or corrupt, 1 some file
 * could not be read at all (that wins over 3).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "mcap/mcap.h"
#include "output.h"

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
    "Reads every record of each FILE ('-' = standard input) and verifies the magics, the record\n"
    "structure and every CRC the file carries. Prints 'OK FILE: ...' or 'FAIL FILE: <error>' per\n"
    "file. Exit status 0 if all are valid, 3 if some file is invalid, 1 if one could not be read.",
    check_opts,
    1,
    -1,
    CLI_ARGS_FILES,
    NULL,
};

struct check_result {
  int status; /* CLI_EXIT_OK, CLI_EXIT_PROBLEMS (invalid), CLI_EXIT_FAILURE (unreadable) */
  uint64_t records;
  uint64_t messages;
  uint64_t chunks;
  uint64_t crcs_present; /* non-zero CRC fields met (DataEnd, Footer, attachments) */
  uint64_t crcs_absent;  /* CRC fields written as 0 ("not available") */
  int code;              /* mcap_error on failure */
  uint64_t offset;       /* where, or UINT64_MAX */
  int open_failed;       /* msg already names the file */
  char msg[512];
};

static void note_crc(struct check_result *res, uint32_t crc) {
  if (crc)
    res->crcs_present++;
  else
    res->crcs_absent++;
}

static void check_file(const cli_ctx *ctx, const char *path, struct check_result *res) {
  memset(res, 0, sizeof *res);
  res->offset = UINT64_MAX;
  mcap_source src;
  memset(&src, 0, sizeof src);
  mcap_error_info err;
  memset(&err, 0, sizeof err);
  int rc = strcmp(path, "-") == 0 ? mcap_source_from_fd(&src, STDIN_FILENO, &err)
                                  : mcap_source_open_file(&src, path, &err);
  if (rc != MCAP_OK) {
    res->status = CLI_EXIT_FAILURE;
    res->code = rc;
    res->open_failed = 1;
    cli_open_error(res->msg, sizeof res->msg, path, &err, rc);
    return;
  }
  uint64_t size = src.size;
  mcap_stream_reader *r = NULL;
  rc = mcap_stream_reader_new(&r, &src, NULL); /* all checks on */
  if (rc != MCAP_OK) {
    res->status = CLI_EXIT_FAILURE;
    res->code = rc;
    snprintf(res->msg, sizeof res->msg, "%s", mcap_strerror(rc));
    return;
  }
  cli_progress bar;
  cli_progress_init(&bar, ctx);
  int have_chunk = 0;
  uint64_t last_chunk = 0;
  for (;;) {
    mcap_record rec;
    rc = mcap_stream_reader_next(r, &rec);
    if (rc == MCAP_ITEROVER) break;
    if (rc != MCAP_OK) {
      /* I/O and memory failures say nothing about the file's validity */
      res->status = rc == MCAP_EIO || rc == MCAP_ENOMEM ? CLI_EXIT_FAILURE : CLI_EXIT_PROBLEMS;
      res->code = rc;
      res->offset = mcap_stream_reader_error_offset(r);
      const char *m = mcap_stream_reader_errmsg(r);
      snprintf(res->msg, sizeof res->msg, "%s", m && m[0] ? m : mcap_strerror(rc));
      break;
    }
    res->records++;
    if (rec.in_chunk) {
      /* the reader opens chunks and yields their records; a new chunk shows
       * as a new chunk_offset */
      if (!have_chunk || rec.chunk_offset != last_chunk) res->chunks++;
      have_chunk = 1;
      last_chunk = rec.chunk_offset;
    }
    switch (rec.opcode) {
      case MCAP_OP_MESSAGE:
        res->messages++;
        break;
      case MCAP_OP_CHUNK:
        res->chunks++;
        break; /* only seen if chunks come raw */
      case MCAP_OP_DATA_END:
        note_crc(res, rec.u.data_end.data_section_crc);
        break;
      case MCAP_OP_FOOTER:
        note_crc(res, rec.u.footer.summary_crc);
        break;
      case MCAP_OP_ATTACHMENT:
        note_crc(res, rec.u.attachment.crc);
        break;
      default:
        break;
    }
    if (res->records % 4096 == 0 && size != MCAP_SIZE_UNKNOWN && size > 0)
      cli_progress_update(&bar, "check %s: %.0f%%", path,
                          100.0 * (double)mcap_stream_reader_position(r) / (double)size);
  }
  cli_progress_done(&bar);
  mcap_stream_reader_free(r);
}

static const char *crc_summary(const struct check_result *res, char *buf, size_t n) {
  if (res->crcs_absent == 0)
    snprintf(buf, n, "CRCs verified");
  else if (res->crcs_present == 0)
    snprintf(buf, n, "no CRCs to verify");
  else
    snprintf(buf, n, "CRCs verified (%llu of %llu CRC fields are 0)",
             (unsigned long long)res->crcs_absent,
             (unsigned long long)(res->crcs_absent + res->crcs_present));
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
    char crcs[96];
    check_file(ctx, path, &res);
    /* no readable record at all: not an MCAP file, a failure (exit 1) as for every command */
    if (res.status == CLI_EXIT_PROBLEMS && res.records == 0) res.status = CLI_EXIT_FAILURE;
    if (res.status == CLI_EXIT_FAILURE) worst = CLI_EXIT_FAILURE;
    if (res.status == CLI_EXIT_PROBLEMS && worst == CLI_EXIT_OK) worst = CLI_EXIT_PROBLEMS;
    if (res.status != CLI_EXIT_OK) n_bad++;
    crc_summary(&res, crcs, sizeof crcs);
    if (json) {
      json_object *o = json_object_new_object();
      cli_json_add_str(o, "file", path);
      cli_json_add_str(o, "status",
                       res.status == CLI_EXIT_OK         ? "ok"
                       : res.status == CLI_EXIT_PROBLEMS ? "invalid"
                                                         : "error");
      cli_json_add_bool(o, "ok", res.status == CLI_EXIT_OK);
      cli_json_add_u64(o, "record_count", res.records);
      cli_json_add_u64(o, "message_count", res.messages);
      cli_json_add_u64(o, "chunk_count", res.chunks);
      cli_json_add_u64(o, "crcs_verified", res.crcs_present);
      cli_json_add_u64(o, "crcs_absent", res.crcs_absent);
      if (res.status != CLI_EXIT_OK) {
        cli_json_add_str(o, "error", res.msg);
        cli_json_add_str(o, "error_kind", mcap_strerror(res.code));
        if (res.offset != UINT64_MAX) cli_json_add_u64(o, "error_offset", res.offset);
      }
      json_object_array_add(files, o);
    } else if (res.status == CLI_EXIT_OK) {
      printf("OK %s: %s, %s, %s, %s\n", path, CLI_COUNT(res.records, "record", "records"),
             CLI_COUNT(res.messages, "message", "messages"),
             CLI_COUNT(res.chunks, "chunk", "chunks"), crcs);
    } else if (res.status == CLI_EXIT_PROBLEMS) {
      printf("FAIL %s: %s\n", path, res.msg);
      cli_error(ctx, "'%s': invalid: %s", path, res.msg);
    } else if (!res.open_failed && res.records == 0) {
      printf("FAIL %s: %s\n", path, res.msg);
      cli_error(ctx, "'%s': %s%s", path,
                strncmp(res.msg, "not an MCAP file", 16) ? "not an MCAP file: " : "", res.msg);
    } else {
      if (res.open_failed)
        cli_error(ctx, "%s", res.msg);
      else
        cli_error(ctx, "'%s': %s", path, res.msg);
    }
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
