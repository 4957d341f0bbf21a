/*
 * cmd_add.c - 'mcapkit add attachment|metadata FILE ...': amend a recording
 * in place, safely. Parses the options and calls pl_amend (pipeline/rewrite.h),
 * which does the work:
 *
 * The original is never written to. The amended file is built beside it as a
 * temporary file (libmcap's atomic file sink: unnamed until the rename where
 * Linux allows), checked, and renamed over the original, so a crash at any
 * moment leaves either the old or the new file at FILE:
 *
 * 1. Survey: stream FILE's records (raw chunks; magic, structure, data,
 *    summary and attachment CRCs checked) to find its DataEnd and the layout
 *    of its summary. A file that does not read cleanly is refused.
 * 2. Write: the data section [0, DataEnd) is copied byte for byte (chunks,
 *    message indexes, private records, all unchanged, so every offset in the
 *    old indexes stays right), then the new Attachment (streamed from --file,
 *    its CRC computed) or Metadata record, a new DataEnd, and the summary: the
 *    old summary records regrouped by opcode, with the new AttachmentIndex /
 *    MetadataIndex added to their group and the Statistics counts raised;
 *    then SummaryOffsets, the Footer and the magic. The data and summary CRCs
 *    are recomputed where the original had them (0 stays 0).
 * 3. Check: fsync, then read the temporary file back with the streamed reader
 *    (chunks decompressed, every CRC verified) and with the indexed reader
 *    (the new item must be there), and make sure FILE has not changed since
 *    the survey.
 * 4. Commit: keep FILE's permissions, rename over FILE, fsync the directory.
 *
 * A new index record is written only when the index of that kind is complete
 * afterwards: when the summary already has that index group, or when the file
 * held no record of that kind before. A file without a summary stays without
 * one (readers find the new record by scanning).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "mcap/mcap.h"
#include "output.h"
#include "pipeline/rewrite.h"
#include "timeparse.h"

struct add_args {
  const char *file;
  const char *name;
  const char *media_type;
  const char *content_type;
  const char *log_time;
  const char *create_time;
  cli_strlist keys;
};

static const cli_opt add_opts[] = {
    {"file", 'f', CLI_OPT_STRING, offsetof(struct add_args, file), "FILE",
     "attachment: the file to attach; required"},
    {"name", 0, CLI_OPT_STRING, offsetof(struct add_args, name), "NAME",
     "attachment name (default: the base name of --file); metadata name (required)"},
    {"media-type", 'm', CLI_OPT_STRING, offsetof(struct add_args, media_type), "TYPE",
     "attachment media type (default application/octet-stream)"},
    {"content-type", 0, CLI_OPT_STRING, offsetof(struct add_args, content_type), "TYPE",
     "same as --media-type"},
    {"log-time", 0, CLI_OPT_STRING, offsetof(struct add_args, log_time), "T",
     "attachment log time (default: now)"},
    {"create-time", 0, CLI_OPT_STRING, offsetof(struct add_args, create_time), "T",
     "attachment create time (default: the modification time of --file)"},
    {"key", 'k', CLI_OPT_LIST, offsetof(struct add_args, keys), "KEY=VALUE",
     "metadata: one key/value pair (repeatable; at least one)"},
    {NULL, 0, CLI_OPT_FLAG, 0, NULL, NULL},
};

const cli_spec cmd_add_spec = {
    "add",
    "attachment|metadata FILE [options]",
    "attachment: mcapkit add attachment FILE --file DATA [--name N] [--media-type T]\n"
    "                                          [--log-time T] [--create-time T]\n"
    "metadata:   mcapkit add metadata FILE --name N --key K=V [--key K=V...]\n"
    "Adds the record to FILE in place, safely: the amended file is written beside FILE,\n"
    "read back with every CRC checked, and only then renamed over FILE; a failure or crash\n"
    "at any point leaves FILE as it was. T is integer nanoseconds, seconds with a fraction,\n"
    "or an RFC 3339 time. FILE must be a complete, valid MCAP file.",
    add_opts,
    2,
    2,
    CLI_ARGS_WORDS,
    "attachment metadata",
};

/* MCAPKIT_TEST_ADD_FAIL=before-rename: the tests' failure injection at the last moment. */
static int fail_before_rename(void *user) {
  (void)user;
  const char *fail = getenv("MCAPKIT_TEST_ADD_FAIL");
  return fail && strcmp(fail, "before-rename") == 0;
}

/* The options of one kind of record into `o`; --key pairs into kv (views into argv). */
static int parse_item(const struct add_args *a, int is_attachment, pl_amend_options *o,
                      mcap_kv *kv) {
  char err[256];
  if (!is_attachment) {
    if (a->file || a->media_type || a->content_type || a->log_time || a->create_time)
      return cli_usage_error(&cmd_add_spec,
                             "--file, --media-type, --log-time and --create-time are for "
                             "attachments");
    if (!a->name) return cli_usage_error(&cmd_add_spec, "missing '--name NAME'");
    if (a->keys.n == 0) return cli_usage_error(&cmd_add_spec, "missing '--key KEY=VALUE'");
    for (size_t i = 0; i < a->keys.n; i++) {
      const char *item = a->keys.items[i], *eq = strchr(item, '=');
      if (!eq || eq == item)
        return cli_usage_error(&cmd_add_spec,
                               "--key expects KEY=VALUE with a non-empty KEY, got '%s'", item);
      if ((size_t)(eq - item) > UINT32_MAX || strlen(eq + 1) > UINT32_MAX)
        return cli_usage_error(&cmd_add_spec, "the metadata is too large");
      kv[i].key.data = item;
      kv[i].key.len = (uint32_t)(eq - item);
      kv[i].value = mcap_str_c(eq + 1);
    }
    o->metadata_name = a->name;
    o->metadata = kv;
    o->n_metadata = a->keys.n;
    return CLI_CONTINUE;
  }
  if (a->keys.n) return cli_usage_error(&cmd_add_spec, "--key is for metadata");
  if (!a->file) return cli_usage_error(&cmd_add_spec, "missing '--file FILE'");
  if (a->media_type && a->content_type)
    return cli_usage_error(&cmd_add_spec, "give --media-type or --content-type, not both");
  if (a->log_time && cli_parse_time(a->log_time, &o->log_time, err, sizeof err) != 0)
    return cli_usage_error(&cmd_add_spec, "--log-time: %s", err);
  if (a->create_time && cli_parse_time(a->create_time, &o->create_time, err, sizeof err) != 0)
    return cli_usage_error(&cmd_add_spec, "--create-time: %s", err);
  o->has_log_time = a->log_time != NULL;
  o->has_create_time = a->create_time != NULL;
  o->attachment_file = a->file;
  o->name = a->name;
  o->media_type = a->media_type ? a->media_type : a->content_type;
  return CLI_CONTINUE;
}

int cmd_add(cli_ctx *ctx, int argc, char **argv) {
  struct add_args a;
  memset(&a, 0, sizeof a);
  int first;
  int rc = cli_parse(ctx, &cmd_add_spec, argc, argv, &a, &first);
  if (rc != CLI_CONTINUE) return rc;
  const char *kind = argv[first], *path = argv[first + 1];
  mcap_kv *kv = NULL;
  pl_amend_options o;
  memset(&o, 0, sizeof o);
  int is_att = strcmp(kind, "attachment") == 0;
  if (!is_att && strcmp(kind, "metadata") != 0) {
    rc =
        cli_usage_error(&cmd_add_spec, "unknown kind '%s' (expected attachment or metadata)", kind);
    goto out;
  }
  if (strcmp(path, "-") == 0) {
    rc = cli_usage_error(&cmd_add_spec, "FILE must be a file, not standard input");
    goto out;
  }
  kv = calloc(a.keys.n ? a.keys.n : 1, sizeof *kv);
  if (!kv) {
    cli_error(ctx, "out of memory");
    rc = CLI_EXIT_FAILURE;
    goto out;
  }
  rc = parse_item(&a, is_att, &o, kv);
  if (rc != CLI_CONTINUE) goto out;
  o.before_commit = fail_before_rename;
  pl_amend_result res;
  pl_error_info err;
  memset(&err, 0, sizeof err);
  int prc = pl_amend(path, &o, &res, &err);
  if (prc == PL_EINVAL) {
    rc = cli_usage_error(&cmd_add_spec, "%s", err.msg);
    goto out;
  }
  if (prc != PL_OK) {
    cli_error(ctx, "%s", err.msg[0] ? err.msg : pl_strerror(prc));
    rc = CLI_EXIT_FAILURE;
    goto out;
  }
  if (is_att)
    cli_verbose(ctx, "added attachment '%s' (%llu bytes) at offset %llu%s",
                o.name ? o.name : (strrchr(a.file, '/') ? strrchr(a.file, '/') + 1 : a.file),
                (unsigned long long)res.data_size, (unsigned long long)res.offset,
                res.indexed ? "" : " (not indexed: the file has no complete attachment index)");
  else
    cli_verbose(ctx, "added metadata '%s' at offset %llu%s", a.name,
                (unsigned long long)res.offset,
                res.indexed ? "" : " (not indexed: the file has no complete metadata index)");
  rc = CLI_EXIT_OK;
out:
  free(kv);
  cli_opt_dispose(&cmd_add_spec, &a);
  return rc;
}
