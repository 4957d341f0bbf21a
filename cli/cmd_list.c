/*
 * cmd_list.c - 'mcapkit list channels|schemas|chunks|attachments|metadata FILE':
 * one row per record of that kind, every field the record carries, as an
 * aligned table or (--json) as NDJSON: one object per row, each carrying
 * "format_version" so every line stands alone (grep/jq friendly).
 *
 * Everything comes from the indexed reader: the summary section when the file
 * has a usable one, else the index it builds by scanning. Metadata rows read
 * each Metadata record for its key/value pairs.
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
#include "pipeline/inspect.h"
#include "timeparse.h"

struct list_args {
  int json;
  const char *time_format;
};

static const cli_opt list_opts[] = {
    {"json", 0, CLI_OPT_FLAG, offsetof(struct list_args, json), NULL,
     "print NDJSON: one object per row"},
    {"time-format", 0, CLI_OPT_STRING, offsetof(struct list_args, time_format),
     CLI_TIME_STYLE_CHOICES, "how to print times in tables (default auto)"},
    {NULL, 0, CLI_OPT_FLAG, 0, NULL, NULL},
};

const cli_spec cmd_list_spec = {
    "list",
    "channels|schemas|chunks|attachments|metadata [--json] [--time-format STYLE] FILE",
    "Lists the records of one kind in FILE ('-' = standard input, copied to a temporary file\n"
    "first). Uses the summary section when the file has a usable one, else scans the file.\n"
    "channels:    id, topic, schema, message encoding, message count, metadata\n"
    "schemas:     id, name, encoding, data size (--json adds the data: text, or base64)\n"
    "chunks:      offset, length, message time range, compression, compressed and\n"
    "             uncompressed size, ratio, message index length (--json: index offsets)\n"
    "attachments: offset, length, name, media type, log and create time, data size\n"
    "metadata:    offset, length, name, key/value pairs\n"
    "Tables cut values longer than 80 characters (metadata) with \"...\"; with --json every\n"
    "line is one JSON object with \"format_version\": 1 and whole values; times appear as\n"
    "\"<key>_ns\" (decimal string) and \"<key>\" (readable).",
    list_opts,
    2,
    2,
    CLI_ARGS_WORDS,
    "channels schemas chunks attachments metadata",
};

enum list_kind { LIST_CHANNELS, LIST_SCHEMAS, LIST_CHUNKS, LIST_ATTACHMENTS, LIST_METADATA };

/* The plural ("channels") or the singular ("channel") of a kind. @return 0 or -1. */
static int parse_kind(const char *s, enum list_kind *k) {
  static const char *const names[] = {"channels", "schemas", "chunks", "attachments", "metadata"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    size_t n = strlen(names[i]), len = strlen(s);
    if (strncmp(s, names[i], len) == 0 && (len == n || (len == n - 1 && names[i][len] == 's'))) {
      *k = (enum list_kind)i;
      return 0;
    }
  }
  return -1;
}

struct list_out {
  const cli_ctx *ctx;
  int json;
  cli_time_style style;
  int failed; /* JSON or table output could not be produced */
};

static void emit_line(struct list_out *o, json_object *obj) {
  if (!obj) {
    o->failed = 1;
    return;
  }
  if (cli_json_print_line(stdout, obj) != 0) o->failed = 1;
}

/* Metadata maps can be kilobytes (rosbag2 QoS profiles): a table shows the start of them;
 * --json has them whole. */
#define MAX_CELL_CHARS 80

static void add_text_cell(struct list_out *o, cli_table *t, mcap_str s) {
  if (cli_table_add_text(t, s) != 0) o->failed = 1;
}

static void add_long_cell(struct list_out *o, cli_table *t, const char *text) {
  if (cli_table_add_long(t, text, MAX_CELL_CHARS) != 0) o->failed = 1;
}

static void table_end(struct list_out *o, cli_table *t) {
  if (t->oom) o->failed = 1;
  cli_table_print(t, stdout, NULL);
  cli_table_dispose(t);
}

/* {"format_version": 1}, or NULL (out of memory: the output has failed). */
static json_object *row_object(struct list_out *o) {
  json_object *j = cli_json_document();
  if (!j) o->failed = 1;
  return j;
}

/* Schema data as JSON: text for the textual encodings when it is printable UTF-8. */
static void add_schema_data(json_object *o, const mcap_schema *s) {
  if (s->data.len > (uint64_t)INT32_MAX / 2) {
    json_object_object_add(o, "data", NULL); /* too big for json-c */
    return;
  }
  if (pl_inspect_schema_data_is_text(s)) {
    cli_json_add_strn(o, "data", (const char *)s->data.data, (size_t)s->data.len);
    return;
  }
  char *b = pl_base64_dup(s->data.data, (size_t)s->data.len);
  if (!b) {
    json_object_object_add(o, "data_base64", NULL);
    return;
  }
  cli_json_add_str(o, "data_base64", b);
  free(b);
}

static void list_schemas(struct list_out *o, mcap_reader *r) {
  cli_table t;
  size_t n = mcap_reader_schema_count(r);
  static const char *const head[] = {"id", "name", "encoding", "data size"};
  if (!o->json) cli_table_head(&t, "rllr", head);
  for (size_t i = 0; i < n; i++) {
    const mcap_schema *s = mcap_reader_schema_at(r, i);
    if (o->json) {
      json_object *j = row_object(o);
      if (!j) return;
      cli_json_add_u64(j, "id", s->id);
      cli_json_add_strn(j, "name", s->name.data, s->name.len);
      cli_json_add_strn(j, "encoding", s->encoding.data, s->encoding.len);
      cli_json_add_u64(j, "data_size", s->data.len);
      add_schema_data(j, s);
      emit_line(o, j);
    } else {
      cli_table_add(&t, "%u", (unsigned)s->id);
      add_text_cell(o, &t, s->name);
      add_text_cell(o, &t, s->encoding);
      cli_table_add(&t, "%llu", (unsigned long long)s->data.len);
    }
  }
  if (!o->json) table_end(o, &t);
}

static void list_channels(struct list_out *o, mcap_reader *r) {
  int counts_known = pl_inspect_channel_counts_known(r);
  cli_table t;
  static const char *const head[] = {"id", "topic", "schema id", "schema", "message encoding",
                                      "messages", "metadata"};
  if (!o->json) cli_table_head(&t, "rlrllrl", head);
  size_t n = mcap_reader_channel_count(r);
  for (size_t i = 0; i < n; i++) {
    const mcap_channel *c = mcap_reader_channel_at(r, i);
    const mcap_schema *s = c->schema_id ? mcap_reader_schema(r, c->schema_id) : NULL;
    uint64_t count = mcap_reader_channel_message_count(r, c->id);
    if (o->json) {
      json_object *j = row_object(o);
      if (!j) return;
      cli_json_add_u64(j, "id", c->id);
      cli_json_add_strn(j, "topic", c->topic.data, c->topic.len);
      cli_json_add_u64(j, "schema_id", c->schema_id);
      if (s)
        cli_json_add_strn(j, "schema_name", s->name.data, s->name.len);
      else
        json_object_object_add(j, "schema_name", NULL);
      cli_json_add_strn(j, "message_encoding", c->message_encoding.data, c->message_encoding.len);
      if (counts_known)
        cli_json_add_u64(j, "message_count", count);
      else
        json_object_object_add(j, "message_count", NULL);
      json_object_object_add(j, "metadata", cli_json_str_map(&c->metadata));
      emit_line(o, j);
    } else {
      char *meta = cli_str_map_text(&c->metadata);
      cli_table_add(&t, "%u", (unsigned)c->id);
      add_text_cell(o, &t, c->topic);
      cli_table_add(&t, "%u", (unsigned)c->schema_id);
      if (s)
        add_text_cell(o, &t, s->name);
      else
        cli_table_add(&t, "%s", c->schema_id ? "(unknown)" : "(none)");
      add_text_cell(o, &t, c->message_encoding);
      if (counts_known)
        cli_table_add(&t, "%llu", (unsigned long long)count);
      else
        cli_table_add(&t, "-");
      add_long_cell(o, &t, meta);
      if (!meta) o->failed = 1;
      free(meta);
    }
  }
  if (!o->json) table_end(o, &t);
}

static void list_chunks(struct list_out *o, mcap_reader *r) {
  cli_table t;
  char b1[CLI_FMT_SIZE], b2[CLI_FMT_SIZE], comp[64];
  static const char *const head[] = {"offset", "length", "start", "end", "channels", "compression",
                                      "compressed", "uncompressed", "ratio",
                                      "message index length"};
  if (!o->json) cli_table_head(&t, "rrllrlrrrr", head);
  size_t n = mcap_reader_chunk_count(r);
  for (size_t i = 0; i < n; i++) {
    const mcap_chunk_index *c = mcap_reader_chunk_at(r, i);
    const char *cl = cli_compression_label(c->compression, comp, sizeof comp);
    uint32_t n_idx = mcap_map_u16u64_count(&c->message_index_offsets);
    if (o->json) {
      json_object *j = row_object(o);
      if (!j) return;
      cli_json_add_u64(j, "offset", c->chunk_start_offset);
      cli_json_add_u64(j, "length", c->chunk_length);
      cli_json_add_time(j, "message_start_time", c->message_start_time);
      cli_json_add_time(j, "message_end_time", c->message_end_time);
      cli_json_add_str(j, "compression", cl);
      cli_json_add_u64(j, "compressed_size", c->compressed_size);
      cli_json_add_u64(j, "uncompressed_size", c->uncompressed_size);
      if (c->compressed_size)
        cli_json_add_double(j, "ratio", (double)c->uncompressed_size / (double)c->compressed_size,
                            3);
      else
        json_object_object_add(j, "ratio", NULL);
      cli_json_add_u64(j, "message_index_length", c->message_index_length);
      json_object *mio = json_object_new_object();
      mcap_map_iter it = {0};
      uint16_t ch;
      uint64_t off;
      while (mcap_map_next_u16u64(&c->message_index_offsets, &it, &ch, &off) == MCAP_OK) {
        char key[8];
        snprintf(key, sizeof key, "%u", (unsigned)ch);
        json_object_object_add(mio, key, json_object_new_uint64(off));
      }
      json_object_object_add(j, "message_index_offsets", mio);
      emit_line(o, j);
    } else {
      cli_table_add(&t, "%llu", (unsigned long long)c->chunk_start_offset);
      cli_table_add(&t, "%llu", (unsigned long long)c->chunk_length);
      cli_table_add(&t, "%s", cli_fmt_time_as(b1, sizeof b1, c->message_start_time, o->style));
      cli_table_add(&t, "%s", cli_fmt_time_as(b2, sizeof b2, c->message_end_time, o->style));
      if (n_idx)
        cli_table_add(&t, "%u", (unsigned)n_idx);
      else
        cli_table_add(&t, "-");
      cli_table_add(&t, "%s", cl);
      cli_table_add(&t, "%llu", (unsigned long long)c->compressed_size);
      cli_table_add(&t, "%llu", (unsigned long long)c->uncompressed_size);
      if (c->compressed_size)
        cli_table_add(&t, "%.2fx", (double)c->uncompressed_size / (double)c->compressed_size);
      else
        cli_table_add(&t, "-");
      cli_table_add(&t, "%llu", (unsigned long long)c->message_index_length);
    }
  }
  if (!o->json) table_end(o, &t);
}

static void list_attachments(struct list_out *o, mcap_reader *r) {
  cli_table t;
  char b1[CLI_FMT_SIZE], b2[CLI_FMT_SIZE];
  static const char *const head[] = {"offset", "length", "name", "media type", "log time",
                                      "create time", "data size"};
  if (!o->json) cli_table_head(&t, "rrllllr", head);
  size_t n = mcap_reader_attachment_count(r);
  for (size_t i = 0; i < n; i++) {
    const mcap_attachment_index *a = mcap_reader_attachment_at(r, i);
    if (o->json) {
      json_object *j = row_object(o);
      if (!j) return;
      cli_json_add_u64(j, "offset", a->offset);
      cli_json_add_u64(j, "length", a->length);
      cli_json_add_strn(j, "name", a->name.data, a->name.len);
      cli_json_add_strn(j, "media_type", a->media_type.data, a->media_type.len);
      cli_json_add_time(j, "log_time", a->log_time);
      cli_json_add_time(j, "create_time", a->create_time);
      cli_json_add_u64(j, "data_size", a->data_size);
      emit_line(o, j);
    } else {
      cli_table_add(&t, "%llu", (unsigned long long)a->offset);
      cli_table_add(&t, "%llu", (unsigned long long)a->length);
      add_text_cell(o, &t, a->name);
      add_text_cell(o, &t, a->media_type);
      cli_table_add(&t, "%s", cli_fmt_time_as(b1, sizeof b1, a->log_time, o->style));
      cli_table_add(&t, "%s", cli_fmt_time_as(b2, sizeof b2, a->create_time, o->style));
      cli_table_add(&t, "%llu", (unsigned long long)a->data_size);
    }
  }
  if (!o->json) table_end(o, &t);
}

/* @return CLI_EXIT_OK, or CLI_EXIT_PROBLEMS when a Metadata record could not be read. */
static int list_metadata(struct list_out *o, mcap_reader *r) {
  int rc = CLI_EXIT_OK;
  cli_table t;
  static const char *const head[] = {"offset", "length", "name", "metadata"};
  if (!o->json) cli_table_head(&t, "rrll", head);
  size_t n = mcap_reader_metadata_count(r);
  for (size_t i = 0; i < n; i++) {
    const mcap_metadata_index *mi = mcap_reader_metadata_at(r, i);
    mcap_metadata m;
    int mrc = mcap_reader_read_metadata(r, mi, &m);
    if (mrc != MCAP_OK) {
      cli_error(o->ctx, "metadata '%.*s' at offset %llu: %s", (int)mi->name.len, mi->name.data,
                (unsigned long long)mi->offset, mcap_reader_errmsg(r));
      rc = CLI_EXIT_PROBLEMS;
      continue;
    }
    if (o->json) {
      json_object *j = row_object(o);
      if (!j) break;
      cli_json_add_u64(j, "offset", mi->offset);
      cli_json_add_u64(j, "length", mi->length);
      cli_json_add_strn(j, "name", m.name.data, m.name.len);
      json_object_object_add(j, "metadata", cli_json_str_map(&m.metadata));
      emit_line(o, j);
    } else {
      char *text = cli_str_map_text(&m.metadata);
      cli_table_add(&t, "%llu", (unsigned long long)mi->offset);
      cli_table_add(&t, "%llu", (unsigned long long)mi->length);
      add_text_cell(o, &t, m.name);
      add_long_cell(o, &t, text);
      if (!text) o->failed = 1;
      free(text);
    }
  }
  if (!o->json) table_end(o, &t);
  return rc;
}

int cmd_list(cli_ctx *ctx, int argc, char **argv) {
  struct list_args a;
  memset(&a, 0, sizeof a);
  int first;
  int rc = cli_parse(ctx, &cmd_list_spec, argc, argv, &a, &first);
  if (rc != CLI_CONTINUE) return rc;
  enum list_kind kind;
  if (parse_kind(argv[first], &kind) != 0)
    return cli_usage_error(&cmd_list_spec,
                           "unknown kind '%s' (expected channels, schemas, chunks, attachments "
                           "or metadata)",
                           argv[first]);
  struct list_out o;
  memset(&o, 0, sizeof o);
  o.ctx = ctx;
  o.json = a.json || ctx->json;
  if (a.time_format && cli_time_style_parse(a.time_format, &o.style) != 0)
    return cli_usage_error(&cmd_list_spec, "unknown time format '%s' (expected %s)", a.time_format,
                           CLI_TIME_STYLE_CHOICES);
  const char *path = argv[first + 1];
  mcap_reader *r = NULL;
  rc = cli_open_reader(ctx, path, 1, &r);
  if (rc != CLI_EXIT_OK) return rc;
  rc = CLI_EXIT_OK;
  switch (kind) {
    case LIST_CHANNELS:
      list_channels(&o, r);
      break;
    case LIST_SCHEMAS:
      list_schemas(&o, r);
      break;
    case LIST_CHUNKS:
      list_chunks(&o, r);
      break;
    case LIST_ATTACHMENTS:
      list_attachments(&o, r);
      break;
    case LIST_METADATA:
      rc = list_metadata(&o, r);
      break;
  }
  int drc = cli_close_reader(ctx, path, r);
  if (o.failed && ferror(stdout)) return CLI_EXIT_OK; /* main() reports the write error */
  if (o.failed) {
    cli_error(ctx, "out of memory");
    return CLI_EXIT_FAILURE;
  }
  return rc != CLI_EXIT_OK ? rc : drc;
}
