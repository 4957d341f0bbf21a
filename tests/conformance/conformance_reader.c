/*
 * conformance_reader.c - the MCAP conformance reader program.
 *
 *   mcap-conformance-reader FILE streamed   prints {"records": [...]}
 *   mcap-conformance-reader FILE indexed    (indexed reader: summary + log-time query)
 *
 * Output format (see ../shared/conformance/README.md): each record is
 * {"type": T, "fields": [[name, value], ...]} with fields sorted by name,
 * integers as decimal strings, byte fields as arrays of decimal strings,
 * Map<string,string> as an object and Map<uint16,uint64> as an object of
 * decimal strings. MessageIndex, Chunk and private records are left out (the
 * reader opens chunks, so their contents appear in place).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "mcap/mcap.h"

#define PROG "mcap-conformance-reader"

/* ------------------------------------------------------------ JSON values */

static json_object *j_u64(uint64_t v) {
  char buf[24];
  snprintf(buf, sizeof buf, "%" PRIu64, v);
  return json_object_new_string(buf);
}

static json_object *j_str(mcap_str s) {
  /* json-c takes an int length; MCAP strings are at most UINT32_MAX. */
  if (s.len > INT32_MAX) return NULL;
  return json_object_new_string_len(s.len ? s.data : "", (int)s.len);
}

static json_object *j_bytes(mcap_bytes b) {
  /* Presize (at least 1: json-c grows by doubling), capped for huge fields. */
  json_object *arr = json_object_new_array_ext(b.len == 0           ? 1
                                               : b.len > (1u << 20) ? 1 << 20
                                                                    : (int)b.len);
  if (!arr) return NULL;
  for (uint64_t i = 0; i < b.len; i++) {
    json_object *v = j_u64(b.data[i]);
    if (!v || json_object_array_add(arr, v) != 0) {
      json_object_put(v);
      json_object_put(arr);
      return NULL;
    }
  }
  return arr;
}

/* Add key (a view, not NUL-terminated) -> value to obj; takes value's reference. */
static int j_obj_add(json_object *obj, const char *key, size_t key_len, json_object *value) {
  char *k = malloc(key_len + 1);
  if (!k || !value) {
    free(k);
    json_object_put(value);
    return -1;
  }
  if (key_len) memcpy(k, key, key_len);
  k[key_len] = '\0';
  int rc = json_object_object_add(obj, k, value);
  free(k);
  return rc;
}

static json_object *j_str_map(const mcap_map *m) {
  json_object *obj = json_object_new_object();
  mcap_map_iter it = {0};
  mcap_str k, v;
  int rc;
  if (!obj) return NULL;
  while ((rc = mcap_map_next_str(m, &it, &k, &v)) == MCAP_OK) {
    if (j_obj_add(obj, k.data, k.len, j_str(v)) != 0) {
      json_object_put(obj);
      return NULL;
    }
  }
  if (rc != MCAP_ITEROVER) {
    json_object_put(obj);
    return NULL;
  }
  return obj;
}

static json_object *j_id_map(const mcap_map *m) {
  json_object *obj = json_object_new_object();
  mcap_map_iter it = {0};
  uint16_t k;
  uint64_t v;
  int rc;
  if (!obj) return NULL;
  while ((rc = mcap_map_next_u16u64(m, &it, &k, &v)) == MCAP_OK) {
    char key[8];
    int n = snprintf(key, sizeof key, "%u", (unsigned)k);
    if (j_obj_add(obj, key, (size_t)n, j_u64(v)) != 0) {
      json_object_put(obj);
      return NULL;
    }
  }
  if (rc != MCAP_ITEROVER) {
    json_object_put(obj);
    return NULL;
  }
  return obj;
}

/* ---------------------------------------------------------------- records */

enum { MAX_FIELDS = 12 };

struct field {
  const char *name;
  json_object *value;
};

struct fields {
  struct field f[MAX_FIELDS];
  int n;
  int failed;
};

static void add(struct fields *fs, const char *name, json_object *value) {
  if (!value || fs->n == MAX_FIELDS) {
    json_object_put(value);
    fs->failed = 1;
    return;
  }
  fs->f[fs->n].name = name;
  fs->f[fs->n].value = value;
  fs->n++;
}

static int field_cmp(const void *a, const void *b) {
  return strcmp(((const struct field *)a)->name, ((const struct field *)b)->name);
}

/* {"type": type, "fields": [[name, value], ...] sorted by name}; consumes fs. */
static json_object *make_record(const char *type, struct fields *fs) {
  json_object *rec = NULL, *arr = NULL;
  int i;
  if (fs->failed) goto fail;
  qsort(fs->f, (size_t)fs->n, sizeof fs->f[0], field_cmp);
  rec = json_object_new_object();
  arr = json_object_new_array();
  if (!rec || !arr) goto fail;
  for (i = 0; i < fs->n; i++) {
    json_object *pair = json_object_new_array();
    json_object *name = json_object_new_string(fs->f[i].name);
    if (!pair || !name) {
      json_object_put(pair);
      json_object_put(name);
      goto fail;
    }
    json_object_array_add(pair, name);
    json_object_array_add(pair, fs->f[i].value);
    fs->f[i].value = NULL;
    if (json_object_array_add(arr, pair) != 0) {
      json_object_put(pair);
      goto fail;
    }
  }
  if (json_object_object_add(rec, "type", json_object_new_string(type)) != 0 ||
      json_object_object_add(rec, "fields", arr) != 0) {
    arr = NULL;
    goto fail;
  }
  return rec;
fail:
  for (i = 0; i < fs->n; i++) json_object_put(fs->f[i].value);
  fs->n = 0;
  json_object_put(arr);
  json_object_put(rec);
  return NULL;
}

/*
 * One record as conformance JSON. *skip is set (and NULL returned) for records
 * the format leaves out; NULL without *skip means out of memory.
 */
static json_object *record_to_json(const mcap_record *rec, int *skip) {
  struct fields fs = {{{0}}, 0, 0};
  *skip = 0;
  switch (rec->opcode) {
    case MCAP_OP_HEADER: {
      const mcap_header *h = &rec->u.header;
      add(&fs, "library", j_str(h->library));
      add(&fs, "profile", j_str(h->profile));
      return make_record("Header", &fs);
    }
    case MCAP_OP_FOOTER: {
      const mcap_footer *f = &rec->u.footer;
      add(&fs, "summary_crc", j_u64(f->summary_crc));
      add(&fs, "summary_offset_start", j_u64(f->summary_offset_start));
      add(&fs, "summary_start", j_u64(f->summary_start));
      return make_record("Footer", &fs);
    }
    case MCAP_OP_SCHEMA: {
      const mcap_schema *s = &rec->u.schema;
      add(&fs, "data", j_bytes(s->data));
      add(&fs, "encoding", j_str(s->encoding));
      add(&fs, "id", j_u64(s->id));
      add(&fs, "name", j_str(s->name));
      return make_record("Schema", &fs);
    }
    case MCAP_OP_CHANNEL: {
      const mcap_channel *c = &rec->u.channel;
      add(&fs, "id", j_u64(c->id));
      add(&fs, "message_encoding", j_str(c->message_encoding));
      add(&fs, "metadata", j_str_map(&c->metadata));
      add(&fs, "schema_id", j_u64(c->schema_id));
      add(&fs, "topic", j_str(c->topic));
      return make_record("Channel", &fs);
    }
    case MCAP_OP_MESSAGE: {
      const mcap_message *m = &rec->u.message;
      add(&fs, "channel_id", j_u64(m->channel_id));
      add(&fs, "data", j_bytes(m->data));
      add(&fs, "log_time", j_u64(m->log_time));
      add(&fs, "publish_time", j_u64(m->publish_time));
      add(&fs, "sequence", j_u64(m->sequence));
      return make_record("Message", &fs);
    }
    case MCAP_OP_CHUNK_INDEX: {
      const mcap_chunk_index *ci = &rec->u.chunk_index;
      add(&fs, "chunk_length", j_u64(ci->chunk_length));
      add(&fs, "chunk_start_offset", j_u64(ci->chunk_start_offset));
      add(&fs, "compressed_size", j_u64(ci->compressed_size));
      add(&fs, "compression", j_str(ci->compression));
      add(&fs, "message_end_time", j_u64(ci->message_end_time));
      add(&fs, "message_index_length", j_u64(ci->message_index_length));
      add(&fs, "message_index_offsets", j_id_map(&ci->message_index_offsets));
      add(&fs, "message_start_time", j_u64(ci->message_start_time));
      add(&fs, "uncompressed_size", j_u64(ci->uncompressed_size));
      return make_record("ChunkIndex", &fs);
    }
    case MCAP_OP_ATTACHMENT: {
      const mcap_attachment *a = &rec->u.attachment;
      add(&fs, "create_time", j_u64(a->create_time));
      add(&fs, "data", j_bytes(a->data));
      add(&fs, "log_time", j_u64(a->log_time));
      add(&fs, "media_type", j_str(a->media_type));
      add(&fs, "name", j_str(a->name));
      return make_record("Attachment", &fs);
    }
    case MCAP_OP_ATTACHMENT_INDEX: {
      const mcap_attachment_index *ai = &rec->u.attachment_index;
      add(&fs, "create_time", j_u64(ai->create_time));
      add(&fs, "data_size", j_u64(ai->data_size));
      add(&fs, "length", j_u64(ai->length));
      add(&fs, "log_time", j_u64(ai->log_time));
      add(&fs, "media_type", j_str(ai->media_type));
      add(&fs, "name", j_str(ai->name));
      add(&fs, "offset", j_u64(ai->offset));
      return make_record("AttachmentIndex", &fs);
    }
    case MCAP_OP_STATISTICS: {
      const mcap_statistics *st = &rec->u.statistics;
      add(&fs, "attachment_count", j_u64(st->attachment_count));
      add(&fs, "channel_count", j_u64(st->channel_count));
      add(&fs, "channel_message_counts", j_id_map(&st->channel_message_counts));
      add(&fs, "chunk_count", j_u64(st->chunk_count));
      add(&fs, "message_count", j_u64(st->message_count));
      add(&fs, "message_end_time", j_u64(st->message_end_time));
      add(&fs, "message_start_time", j_u64(st->message_start_time));
      add(&fs, "metadata_count", j_u64(st->metadata_count));
      add(&fs, "schema_count", j_u64(st->schema_count));
      return make_record("Statistics", &fs);
    }
    case MCAP_OP_METADATA: {
      const mcap_metadata *md = &rec->u.metadata;
      add(&fs, "metadata", j_str_map(&md->metadata));
      add(&fs, "name", j_str(md->name));
      return make_record("Metadata", &fs);
    }
    case MCAP_OP_METADATA_INDEX: {
      const mcap_metadata_index *mi = &rec->u.metadata_index;
      add(&fs, "length", j_u64(mi->length));
      add(&fs, "name", j_str(mi->name));
      add(&fs, "offset", j_u64(mi->offset));
      return make_record("MetadataIndex", &fs);
    }
    case MCAP_OP_SUMMARY_OFFSET: {
      const mcap_summary_offset *so = &rec->u.summary_offset;
      add(&fs, "group_length", j_u64(so->group_length));
      add(&fs, "group_opcode", j_u64(so->group_opcode));
      add(&fs, "group_start", j_u64(so->group_start));
      return make_record("SummaryOffset", &fs);
    }
    case MCAP_OP_DATA_END:
      add(&fs, "data_section_crc", j_u64(rec->u.data_end.data_section_crc));
      return make_record("DataEnd", &fs);
    default:
      /* MessageIndex, Chunk (only with raw_chunks), private and unknown records. */
      *skip = 1;
      return NULL;
  }
}

/* --------------------------------------------------------------- modes */

static int print_json(json_object *root) {
  const char *text =
      json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
  if (!text) return -1;
  if (fputs(text, stdout) == EOF || fputc('\n', stdout) == EOF || fflush(stdout) != 0) return -1;
  return 0;
}

static int dump_streamed(const char *path) {
  mcap_source src = {0};
  mcap_error_info info;
  mcap_stream_reader *r = NULL;
  mcap_record rec;
  json_object *root = NULL, *records = NULL;
  int rc, status = 1;

  rc = mcap_source_open_file(&src, path, &info);
  if (rc != MCAP_OK) {
    fprintf(stderr, PROG ": %s: %s\n", path, info.msg);
    return 1;
  }
  rc = mcap_stream_reader_new(&r, &src, NULL);
  if (rc != MCAP_OK) {
    fprintf(stderr, PROG ": %s: %s\n", path, mcap_strerror(rc));
    return 1;
  }
  root = json_object_new_object();
  records = json_object_new_array();
  if (!root || !records || json_object_object_add(root, "records", records) != 0) {
    json_object_put(records);
    fprintf(stderr, PROG ": out of memory\n");
    goto out;
  }
  while ((rc = mcap_stream_reader_next(r, &rec)) == MCAP_OK) {
    int skip;
    json_object *j = record_to_json(&rec, &skip);
    if (skip) continue;
    if (!j || json_object_array_add(records, j) != 0) {
      json_object_put(j);
      fprintf(stderr, PROG ": out of memory\n");
      goto out;
    }
  }
  if (rc != MCAP_ITEROVER) {
    fprintf(stderr, PROG ": %s: %s: %s\n", path, mcap_strerror(rc), mcap_stream_reader_errmsg(r));
    goto out;
  }
  if (print_json(root) != 0) {
    fprintf(stderr, PROG ": cannot write output\n");
    goto out;
  }
  status = 0;
out:
  json_object_put(root);
  mcap_stream_reader_free(r);
  return status;
}

/* Append one record built from its parsed fields to `arr`. */
static int add_record(json_object *arr, uint8_t opcode, const void *fields, size_t size) {
  mcap_record rec;
  int skip = 0;
  json_object *j;
  memset(&rec, 0, sizeof rec);
  rec.opcode = opcode;
  memcpy(&rec.u, fields, size);
  j = record_to_json(&rec, &skip);
  if (!j || json_object_array_add(arr, j) != 0) {
    json_object_put(j);
    return -1;
  }
  return 0;
}

/*
 * Indexed mode: the indexed reader opens the file by its footer and summary;
 * schemas and channels come from the index (sorted by id), messages from a
 * log-time-ordered query over the chunk indexes, statistics only when the file
 * has a Statistics record.
 */
static int dump_indexed(const char *path) {
  mcap_source src = {0};
  mcap_error_info info;
  mcap_reader *r = NULL;
  mcap_message_iter *it = NULL;
  mcap_message_view v;
  mcap_query q;
  json_object *root = json_object_new_object();
  json_object *schemas = json_object_new_array(), *channels = json_object_new_array();
  json_object *messages = json_object_new_array(), *statistics = json_object_new_array();
  int rc, from_file = 0, status = 1;
  const mcap_statistics *st;

  if (!root || !schemas || !channels || !messages || !statistics ||
      json_object_object_add(root, "schemas", schemas) != 0) {
    fprintf(stderr, PROG ": out of memory\n");
    json_object_put(schemas);
    json_object_put(channels);
    json_object_put(messages);
    json_object_put(statistics);
    json_object_put(root);
    return 1;
  }
  json_object_object_add(root, "channels", channels);
  json_object_object_add(root, "messages", messages);
  json_object_object_add(root, "statistics", statistics);
  rc = mcap_source_open_file(&src, path, &info);
  if (rc != MCAP_OK) {
    fprintf(stderr, PROG ": %s: %s\n", path, info.msg);
    goto out;
  }
  rc = mcap_reader_open(&r, &src, NULL, &info);
  if (rc != MCAP_OK) {
    fprintf(stderr, PROG ": %s: %s\n", path, info.msg);
    goto out;
  }
  for (size_t i = 0; i < mcap_reader_schema_count(r); i++) {
    if (add_record(schemas, MCAP_OP_SCHEMA, mcap_reader_schema_at(r, i), sizeof(mcap_schema))) {
      goto oom;
    }
  }
  for (size_t i = 0; i < mcap_reader_channel_count(r); i++) {
    if (add_record(channels, MCAP_OP_CHANNEL, mcap_reader_channel_at(r, i),
                   sizeof(mcap_channel))) {
      goto oom;
    }
  }
  st = mcap_reader_statistics(r, &from_file);
  if (from_file && add_record(statistics, MCAP_OP_STATISTICS, st, sizeof *st)) goto oom;
  memset(&q, 0, sizeof q);
  q.order = MCAP_ORDER_LOG_TIME;
  rc = mcap_reader_query(r, &q, &it);
  if (rc != MCAP_OK) {
    fprintf(stderr, PROG ": %s: %s\n", path, mcap_reader_errmsg(r));
    goto out;
  }
  while ((rc = mcap_message_iter_next(it, &v)) == MCAP_OK) {
    if (add_record(messages, MCAP_OP_MESSAGE, &v.message, sizeof v.message)) goto oom;
  }
  if (rc != MCAP_ITEROVER) {
    fprintf(stderr, PROG ": %s: %s: %s\n", path, mcap_strerror(rc), mcap_reader_errmsg(r));
    goto out;
  }
  if (print_json(root) != 0) {
    fprintf(stderr, PROG ": cannot write output\n");
    goto out;
  }
  status = 0;
  goto out;
oom:
  fprintf(stderr, PROG ": out of memory\n");
out:
  mcap_message_iter_free(it);
  mcap_reader_free(r);
  json_object_put(root);
  return status;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: " PROG " FILE.mcap streamed|indexed\n");
    return 2;
  }
  if (strcmp(argv[2], "streamed") == 0) return dump_streamed(argv[1]);
  if (strcmp(argv[2], "indexed") == 0) return dump_indexed(argv[1]);
  fprintf(stderr, PROG ": unknown mode '%s' (expected streamed or indexed)\n", argv[2]);
  return 2;
}
