/*
 * cmd_get.c - 'mcapkit get attachment|metadata FILE --name N': one
 * attachment's data, or one metadata record's key/value pairs.
 *
 * Attachment data is streamed (memory does not depend on its size) to -o OUT,
 * written atomically (a temporary file renamed into place only after the
 * attachment CRC matched), or to standard output, which must not be a
 * terminal. Several attachments with the same name need --offset to choose.
 * Several metadata records with the same name are merged in file order (a
 * later value for a key wins), as the official mcap CLI does.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cmd.h"
#include "inspect.h"
#include "mcap/mcap.h"
#include "output.h"
#include "pipeline/rewrite.h"

#define NOT_GIVEN UINT64_MAX
#define COPY_BUF (1u << 20)

struct get_args {
  const char *name;
  uint64_t offset;
  const char *output;
  int json;
};

static const cli_opt get_opts[] = {
    {"name", 0, CLI_OPT_STRING, offsetof(struct get_args, name), "NAME",
     "name of the attachment or metadata record"},
    {"offset", 0, CLI_OPT_U64, offsetof(struct get_args, offset), "OFFSET",
     "file offset of the record (see 'mcapkit list'), to choose among equal names"},
    {"output", 'o', CLI_OPT_STRING, offsetof(struct get_args, output), "OUT",
     "attachment: write the data to OUT ('-' = standard output, the default)"},
    {"json", 0, CLI_OPT_FLAG, offsetof(struct get_args, json), NULL,
     "metadata: print JSON instead of a table"},
    {NULL, 0, CLI_OPT_FLAG, 0, NULL, NULL},
};

const cli_spec cmd_get_spec = {
    "get",
    "attachment|metadata FILE (--name NAME | --offset OFFSET) [-o OUT] [--json]",
    "attachment: writes the data of one attachment of FILE ('-' = standard input) to OUT or to\n"
    "standard output (refused when that is a terminal). OUT is written atomically and only\n"
    "after the attachment CRC matched. When several attachments have that name, the command\n"
    "lists their offsets; pick one with --offset.\n"
    "metadata: prints the key/value pairs of the metadata records with that name (merged in\n"
    "file order; a later value wins) as a table, or with --json as\n"
    "{\"format_version\": 1, \"name\": ..., \"offsets\": [...], \"metadata\": {...}}.",
    get_opts,
    2,
    2,
    CLI_ARGS_WORDS,
    "attachment metadata",
};

static int name_is(mcap_str s, const char *name) {
  return strlen(name) == s.len && memcmp(s.data, name, s.len) == 0;
}

static int matches(mcap_str name, uint64_t offset, const struct get_args *a) {
  return (!a->name || name_is(name, a->name)) && (a->offset == NOT_GIVEN || offset == a->offset);
}

static const char *what(const struct get_args *a, char *buf, size_t n) {
  if (a->name && a->offset != NOT_GIVEN)
    snprintf(buf, n, "named '%s' at offset %llu", a->name, (unsigned long long)a->offset);
  else if (a->name)
    snprintf(buf, n, "named '%s'", a->name);
  else
    snprintf(buf, n, "at offset %llu", (unsigned long long)a->offset);
  return buf;
}

static int same_file(const char *a, const char *b) {
  struct stat sa, sb;
  return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

static int get_attachment(cli_ctx *ctx, const struct get_args *a, const char *path,
                          mcap_reader *r) {
  char desc[512];
  size_t n = mcap_reader_attachment_count(r), n_match = 0;
  const mcap_attachment_index *pick = NULL;
  for (size_t i = 0; i < n; i++) {
    const mcap_attachment_index *ai = mcap_reader_attachment_at(r, i);
    if (!matches(ai->name, ai->offset, a)) continue;
    n_match++;
    if (!pick) pick = ai;
  }
  if (n_match == 0) {
    cli_error(ctx, "'%s' has no attachment %s (see 'mcapkit list attachments')", path,
              what(a, desc, sizeof desc));
    return CLI_EXIT_FAILURE;
  }
  if (n_match > 1) {
    cli_error(ctx, "'%s' has %zu attachments named '%s'; choose one with --offset:", path, n_match,
              a->name);
    for (size_t i = 0; i < n; i++) {
      const mcap_attachment_index *ai = mcap_reader_attachment_at(r, i);
      if (matches(ai->name, ai->offset, a))
        fprintf(stderr, "  --offset %llu  (%llu bytes, %.*s)\n", (unsigned long long)ai->offset,
                (unsigned long long)ai->data_size, (int)ai->media_type.len, ai->media_type.data);
    }
    return CLI_EXIT_USAGE;
  }

  int to_stdout = !a->output || strcmp(a->output, "-") == 0;
  if (to_stdout && ctx->stdout_tty) {
    cli_error(ctx,
              "refusing to write binary data to a terminal; use -o FILE or redirect standard "
              "output");
    return CLI_EXIT_USAGE;
  }
  if (!to_stdout && strcmp(path, "-") != 0 && same_file(path, a->output)) {
    cli_error(ctx, "'%s' is the input file; choose another output", a->output);
    return CLI_EXIT_USAGE;
  }
  /* pl_output: atomic, follows a symlink, refuses a directory, writes a device in place. */
  pl_output *out = NULL;
  pl_error_info perr;
  memset(&perr, 0, sizeof perr);
  int mrc = pl_output_open(&out, to_stdout ? "-" : a->output, NULL, 0, 0, &perr);
  if (mrc != PL_OK) {
    cli_error(ctx, "cannot write '%s': %s", a->output, perr.msg[0] ? perr.msg : pl_strerror(mrc));
    return mrc == PL_EINVAL ? CLI_EXIT_USAGE : CLI_EXIT_FAILURE;
  }
  mcap_sink *sink = pl_output_sink(out);
  mcap_error_info err;
  memset(&err, 0, sizeof err);
  mcap_attachment_stream *s = NULL;
  mcap_attachment fields;
  uint8_t *buf = malloc(COPY_BUF);
  int rc = CLI_EXIT_OK;
  if (!buf) {
    cli_error(ctx, "out of memory");
    rc = CLI_EXIT_FAILURE;
    goto out;
  }
  mrc = mcap_reader_attachment_open(r, pick, &s, &fields);
  if (mrc != MCAP_OK) {
    cli_error(ctx, "'%s': attachment at offset %llu: %s", path, (unsigned long long)pick->offset,
              mcap_reader_errmsg(r));
    rc = mrc == MCAP_EIO || mrc == MCAP_ENOMEM ? CLI_EXIT_FAILURE : CLI_EXIT_PROBLEMS;
    goto out;
  }
  for (;;) {
    size_t got = 0;
    mrc = mcap_attachment_stream_read(s, buf, COPY_BUF, &got);
    if (mrc != MCAP_OK) {
      cli_error(ctx, "'%s': attachment at offset %llu: %s", path, (unsigned long long)pick->offset,
                mcap_reader_errmsg(r));
      rc = mrc == MCAP_EIO || mrc == MCAP_ENOMEM ? CLI_EXIT_FAILURE : CLI_EXIT_PROBLEMS;
      goto out;
    }
    if (got == 0) break; /* the end; the CRC has been checked */
    mrc = sink->write(sink->payload, buf, got, &err);
    if (mrc != MCAP_OK) {
      cli_error(ctx, "writing '%s': %s", to_stdout ? "standard output" : a->output, err.msg);
      rc = CLI_EXIT_FAILURE;
      goto out;
    }
  }
  mrc = pl_output_commit(out, NULL, &perr);
  if (mrc != PL_OK) {
    cli_error(ctx, "cannot finish '%s': %s", to_stdout ? "standard output" : a->output,
              perr.msg[0] ? perr.msg : pl_strerror(mrc));
    rc = CLI_EXIT_FAILURE;
  } else if (!to_stdout) {
    cli_verbose(ctx, "wrote %llu bytes to '%s'", (unsigned long long)pick->data_size, a->output);
  }
out:
  mcap_attachment_stream_free(s);
  free(buf);
  pl_output_free(out); /* uncommitted: the temporary file goes */
  return rc;
}

static int get_metadata(cli_ctx *ctx, const struct get_args *a, const char *path, mcap_reader *r) {
  char desc[512];
  json_object *merged = json_object_new_object();
  json_object *offsets = json_object_new_array();
  int rc = CLI_EXIT_OK;
  size_t n = mcap_reader_metadata_count(r), n_match = 0;
  if (!merged || !offsets) goto nomem;
  for (size_t i = 0; i < n; i++) {
    const mcap_metadata_index *mi = mcap_reader_metadata_at(r, i);
    if (!matches(mi->name, mi->offset, a)) continue;
    mcap_metadata m;
    int mrc = mcap_reader_read_metadata(r, mi, &m);
    if (mrc != MCAP_OK) {
      cli_error(ctx, "'%s': metadata at offset %llu: %s", path, (unsigned long long)mi->offset,
                mcap_reader_errmsg(r));
      rc = mrc == MCAP_EIO || mrc == MCAP_ENOMEM ? CLI_EXIT_FAILURE : CLI_EXIT_PROBLEMS;
      continue;
    }
    n_match++;
    json_object_array_add(offsets, json_object_new_uint64(mi->offset));
    mcap_map_iter it = {0};
    mcap_str k, v;
    while (mcap_map_next_str(&m.metadata, &it, &k, &v) == MCAP_OK) {
      char *key = cli_str_dup(k);
      if (!key) goto nomem;
      json_object_object_add(merged, key,
                             json_object_new_string_len(v.data ? v.data : "", (int)v.len));
      free(key);
    }
  }
  if (n_match == 0) {
    if (rc == CLI_EXIT_OK) {
      cli_error(ctx, "'%s' has no metadata %s (see 'mcapkit list metadata')", path,
                what(a, desc, sizeof desc));
      rc = CLI_EXIT_FAILURE;
    }
    json_object_put(merged);
    json_object_put(offsets);
    return rc;
  }
  if (n_match > 1) cli_verbose(ctx, "merged %zu metadata records", n_match);
  if (a->json || ctx->json) {
    json_object *doc = cli_json_document();
    if (!doc) goto nomem;
    cli_json_add_str(doc, "name", a->name);
    json_object_object_add(doc, "offsets", offsets);
    json_object_object_add(doc, "metadata", merged);
    if (cli_json_print(stdout, doc) != 0) rc = CLI_EXIT_FAILURE;
    return rc;
  }
  cli_table t;
  cli_table_init(&t, 2, "ll");
  cli_table_add(&t, "key");
  cli_table_add(&t, "value");
  json_object_object_foreach(merged, key, val) {
    char *k = cli_one_line(key), *v = cli_one_line(json_object_get_string(val));
    cli_table_add(&t, "%s", k ? k : "?");
    cli_table_add(&t, "%s", v ? v : "?");
    free(k);
    free(v);
  }
  cli_table_print(&t, stdout, NULL);
  cli_table_dispose(&t);
  json_object_put(merged);
  json_object_put(offsets);
  return rc;
nomem:
  json_object_put(merged);
  json_object_put(offsets);
  cli_error(ctx, "out of memory");
  return CLI_EXIT_FAILURE;
}

int cmd_get(cli_ctx *ctx, int argc, char **argv) {
  struct get_args a;
  memset(&a, 0, sizeof a);
  a.offset = NOT_GIVEN;
  int first;
  int rc = cli_parse(ctx, &cmd_get_spec, argc, argv, &a, &first);
  if (rc != CLI_CONTINUE) return rc;
  const char *kind = argv[first];
  const char *path = argv[first + 1];
  int attachment = strcmp(kind, "attachment") == 0 || strcmp(kind, "attachments") == 0;
  if (!attachment && strcmp(kind, "metadata") != 0)
    return cli_usage_error(&cmd_get_spec, "unknown kind '%s' (expected attachment or metadata)",
                           kind);
  if (!a.name && a.offset == NOT_GIVEN)
    return cli_usage_error(&cmd_get_spec, "missing '--name NAME' (or '--offset OFFSET')");
  if (!attachment && a.output)
    return cli_usage_error(&cmd_get_spec, "'-o' is for attachments; metadata prints as text");
  if (attachment && (a.json || ctx->json))
    return cli_usage_error(&cmd_get_spec, "'--json' is for metadata");
  /* refuse before reading anything (standard input may be big) */
  if (attachment && (!a.output || strcmp(a.output, "-") == 0) && ctx->stdout_tty) {
    cli_error(ctx,
              "refusing to write binary data to a terminal; use -o FILE or redirect standard "
              "output");
    return CLI_EXIT_USAGE;
  }
  mcap_reader *r = NULL;
  rc = cli_open_reader(ctx, path, 1, &r);
  if (rc != CLI_EXIT_OK) return rc;
  rc = attachment ? get_attachment(ctx, &a, path, r) : get_metadata(ctx, &a, path, r);
  int drc = cli_close_reader(ctx, path, r);
  return rc != CLI_EXIT_OK ? rc : drc;
}
