/*
 * cmd_version.c - 'mcapkit version [--json]': the versions of the tool and of
 * libmcap, and the Header.library string files written by it carry.
 */
#include <stddef.h>
#include <stdio.h>

#include "cmd.h"
#include "mcap/mcap.h"
#include "output.h"

#ifndef MCAPKIT_VERSION
#define MCAPKIT_VERSION "0.0.0"
#endif

struct version_args {
  int json;
};

static const cli_opt version_opts[] = {
    {"json", 0, CLI_OPT_FLAG, offsetof(struct version_args, json), NULL, "print JSON"},
    {NULL, 0, CLI_OPT_FLAG, 0, NULL, NULL},
};

const cli_spec cmd_version_spec = {
    "version", "[--json]", NULL, version_opts, 0, 0, CLI_ARGS_NONE, NULL,
};

int cmd_version(cli_ctx *ctx, int argc, char **argv) {
  struct version_args a = {0};
  int first;
  int rc = cli_parse(ctx, &cmd_version_spec, argc, argv, &a, &first);
  if (rc != CLI_CONTINUE) return rc;
  if (a.json || ctx->json) {
    json_object *doc = cli_json_document();
    cli_json_add_str(doc, "mcapkit", MCAPKIT_VERSION);
    cli_json_add_str(doc, "libmcap", mcap_version_string());
    cli_json_add_int(doc, "libmcap_version_number", MCAP_VERSION_NUMBER);
    cli_json_add_str(doc, "library", mcap_default_library());
    return cli_json_print(stdout, doc) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAILURE;
  }
  printf("mcapkit %s\n", MCAPKIT_VERSION);
  printf("libmcap %s (writes Header.library '%s')\n", mcap_version_string(),
         mcap_default_library());
  return CLI_EXIT_OK;
}
