/*
 * cmd_extract.c - 'mcapkit extract attachments|schemas FILE -o DIR': every
 * attachment (or schema) into its own file in DIR, plus DIR/manifest.json.
 * ('extract topic ...', decoded messages as NDJSON or CSV, is cmd_extract_topic.c.)
 * Parses the options, opens the reader and renders; pl_extract_items
 * (pipeline/import.h) does the work, by these rules:
 *
 * Safety rules, because names come from the (untrusted) file:
 * - a name becomes one path component: '/', '\', control characters and
 *   characters Windows forbids are replaced by '_', invalid UTF-8 too; a
 *   leading '.' or '-' gets a '_' in front (no hidden files, no "." / ".."),
 *   an empty name becomes "attachment" / "schema", long names are cut to
 *   MAX_NAME bytes (keeping the extension);
 * - nothing is ever overwritten: data goes to a temporary file in DIR
 *   (O_EXCL), is checked (attachment CRC), fsynced, then moved to its name
 *   with renameat2(RENAME_NOREPLACE) (or link + unlink where that is not
 *   supported); a name that is taken gets numbered: "name-1.ext", ...;
 * - every operation is relative to a descriptor of DIR, so nothing lands
 *   outside it.
 * The manifest lists each extracted file with its source fields and an
 * XXH3-128 fingerprint of the content. Running again into the same DIR is
 * safe and idempotent: an item whose file is already there with the same
 * content (an earlier run's) is not written again, and the manifest of the
 * earlier run is replaced; a manifest.json that is not one of ours makes the
 * command refuse to start.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "inspect.h"
#include "mcap/mcap.h"
#include "output.h"
#include "pipeline/core.h"
#include "pipeline/import.h"

struct extract_args {
  const char *output;
  int json;
};

static const cli_opt extract_opts[] = {
    {"output", 'o', CLI_OPT_STRING, offsetof(struct extract_args, output), "DIR",
     "directory to extract into (created with its parents if missing); required"},
    {"json", 0, CLI_OPT_FLAG, offsetof(struct extract_args, json), NULL,
     "print the manifest to standard output as well"},
    {NULL, 0, CLI_OPT_FLAG, 0, NULL, NULL},
};

const cli_spec cmd_extract_spec = {
    "extract",
    "attachments|schemas FILE -o DIR [--json] | topic FILE TOPIC... -o OUT [options]",
    "attachments: writes each attachment of FILE ('-' = standard input) to its own file in DIR;\n"
    "a file counts as extracted only after the attachment CRC matched.\n"
    "schemas: writes each schema's data to a file named after the schema, with the customary\n"
    "extension of its encoding: .msg (ros1msg, ros2msg), .idl (ros2idl, omgidl), .json\n"
    "(jsonschema), .binpb (protobuf FileDescriptorSet), .bfbs (flatbuffer), .bin (other).\n"
    "Names are made safe (one path component, no hidden files, at most 200 bytes); existing\n"
    "files are never overwritten: taken names get numbered (name-1.ext). DIR/manifest.json\n"
    "lists every file with its fields and an XXH3-128 fingerprint (hex) of its content.\n"
    "Running it again into DIR writes nothing twice: a file already there with the same\n"
    "content is kept, and the manifest is replaced.\n"
    "Exit status 3 if some item could not be extracted (bad CRC, damaged record) or FILE\n"
    "could not be read whole.\n"
    "topic: decoded messages of topics as NDJSON or CSV; see 'mcapkit extract topic --help'.",
    extract_opts,
    2,
    2,
    CLI_ARGS_WORDS,
    "attachments schemas topic",
};

static void on_failure(void *user, const char *message) {
  cli_error(user, "%s", message);
}

static void on_note(void *user, const char *message) {
  cli_verbose(user, "%s", message);
}

int cmd_extract(cli_ctx *ctx, int argc, char **argv) {
  if (argc >= 2 && strcmp(argv[1], "topic") == 0) return cmd_extract_topic(ctx, argc - 1, argv + 1);
  struct extract_args a;
  memset(&a, 0, sizeof a);
  int first;
  int rc = cli_parse(ctx, &cmd_extract_spec, argc, argv, &a, &first);
  if (rc != CLI_CONTINUE) return rc;
  const char *kind = argv[first], *path = argv[first + 1];
  int schemas;
  if (strcmp(kind, "attachments") == 0 || strcmp(kind, "attachment") == 0)
    schemas = 0;
  else if (strcmp(kind, "schemas") == 0 || strcmp(kind, "schema") == 0)
    schemas = 1;
  else if (strcmp(kind, "topic") == 0)
    return cli_usage_error(&cmd_extract_spec, "'topic' goes right after 'extract': "
                                              "mcapkit extract topic FILE TOPIC... -o OUT");
  else
    return cli_usage_error(&cmd_extract_spec, "unknown kind '%s' (expected attachments, schemas or topic)",
                           kind);
  if (!a.output || !*a.output) return cli_usage_error(&cmd_extract_spec, "missing '-o DIR'");

  mcap_reader *r = NULL;
  pl_extract_report *rep = NULL;
  rc = cli_open_reader(ctx, path, 1, &r);
  if (rc != CLI_EXIT_OK) return rc;
  pl_extract_items_options o = {on_failure, on_note, ctx};
  pl_error_info err;
  memset(&err, 0, sizeof err);
  int prc = pl_extract_items(r, path, schemas ? PL_EXTRACT_SCHEMAS : PL_EXTRACT_ATTACHMENTS,
                             a.output, &o, &rep, &err);
  if (prc != PL_OK) {
    cli_error(ctx, "%s", err.msg[0] ? err.msg : pl_strerror(prc));
    rc = CLI_EXIT_FAILURE;
    goto out;
  }
  /* an item with bad data: 3; one that could not be read or written: 1 */
  rc = rep->io_failures ? CLI_EXIT_FAILURE : rep->n_failed ? CLI_EXIT_PROBLEMS : CLI_EXIT_OK;
  if (a.json || ctx->json) {
    if (fputs(rep->manifest, stdout) < 0 || fputc('\n', stdout) == EOF) rc = CLI_EXIT_FAILURE;
  } else {
    cli_table t;
    cli_table_init(&t, 3, "lrl");
    cli_table_add(&t, "file");
    cli_table_add(&t, "bytes");
    cli_table_add(&t, schemas ? "schema" : "attachment");
    for (size_t i = 0; i < rep->n_items; i++) {
      const pl_extract_item *it = &rep->items[i];
      cli_table_add(&t, "%s", it->file_name);
      cli_table_add(&t, "%llu", (unsigned long long)it->size);
      mcap_str name = {it->source_name, (uint32_t)it->source_name_len};
      char *shown = cli_one_line_view(name);
      cli_table_add(&t, "%s", shown ? shown : "?");
      free(shown);
    }
    if (rep->n_items) cli_table_print(&t, stdout, NULL);
    cli_table_dispose(&t);
    char already[64] = "";
    if (rep->already) snprintf(already, sizeof already, "%zu already there; ", rep->already);
    printf("extracted %zu %s%s to '%s' (%slist in '%s/manifest.json')\n", rep->n_items,
           schemas ? "schema" : "attachment", rep->n_items == 1 ? "" : "s", a.output, already,
           a.output);
  }
out:
  pl_extract_report_free(rep);
  {
    int drc = cli_close_reader(ctx, path, r);
    if (rc == CLI_EXIT_OK) rc = drc;
  }
  return rc;
}
