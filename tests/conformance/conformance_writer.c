/*
 * conformance_writer.c - the MCAP conformance writer program.
 *
 *   mcap-conformance-writer SPEC.json > OUT.mcap
 *
 * Reads a conformance test case (records in the streamed-reader JSON format
 * plus meta.variant.features), maps the features onto mcap_writer_options and
 * writes the records with libmcap's writer to stdout. The harness compares the
 * output byte for byte with the official file, so nothing here may add bytes
 * of its own: ids come from the JSON, maps keep the JSON order, Header strings
 * are used exactly. Records after DataEnd (summary, Footer) are the writer's job.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "mcap/mcap.h"

#define PROG "mcap-conformance-writer"

/* Returned by the write_* helpers for a malformed spec (already reported). */
#define SPEC_ERROR 1

/* Feature codes of the conformance variants. */
enum {
  F_CH = 1 << 0,  /* one chunk */
  F_MX = 1 << 1,  /* message indexes */
  F_ST = 1 << 2,  /* statistics */
  F_RSH = 1 << 3, /* schemas repeated in summary */
  F_RCH = 1 << 4, /* channels repeated in summary */
  F_AX = 1 << 5,  /* attachment indexes */
  F_MDX = 1 << 6, /* metadata indexes */
  F_CHX = 1 << 7, /* chunk indexes */
  F_SUM = 1 << 8, /* summary offsets */
  F_PAD = 1 << 9  /* padded records (reader-only variants) */
};

static const struct {
  const char *code;
  int bit;
} feature_codes[] = {{"ch", F_CH}, {"mx", F_MX},   {"st", F_ST},   {"rsh", F_RSH}, {"rch", F_RCH},
                     {"ax", F_AX}, {"mdx", F_MDX}, {"chx", F_CHX}, {"sum", F_SUM}, {"pad", F_PAD}};

/* ------------------------------------------------------ JSON field access */

/* The value of field `name` of a record {"type", "fields": [[name, value], ...]}. */
static json_object *field(json_object *rec, const char *name) {
  json_object *fields;
  if (!json_object_object_get_ex(rec, "fields", &fields) ||
      !json_object_is_type(fields, json_type_array))
    return NULL;
  size_t n = json_object_array_length(fields);
  for (size_t i = 0; i < n; i++) {
    json_object *pair = json_object_array_get_idx(fields, i);
    if (!json_object_is_type(pair, json_type_array) || json_object_array_length(pair) != 2)
      continue;
    const char *key = json_object_get_string(json_object_array_get_idx(pair, 0));
    if (key && strcmp(key, name) == 0) return json_object_array_get_idx(pair, 1);
  }
  return NULL;
}

/* A decimal string (no sign, no spaces) <= max. */
static int parse_uint(json_object *v, uint64_t max, uint64_t *out) {
  const char *s;
  char *end;
  unsigned long long x;
  if (!v || !json_object_is_type(v, json_type_string)) return -1;
  s = json_object_get_string(v);
  if (s[0] < '0' || s[0] > '9') return -1;
  errno = 0;
  x = strtoull(s, &end, 10);
  if (errno != 0 || *end != '\0' || x > max) return -1;
  *out = (uint64_t)x;
  return 0;
}

static int get_uint(json_object *rec, const char *name, uint64_t max, uint64_t *out) {
  if (parse_uint(field(rec, name), max, out) == 0) return 0;
  fprintf(stderr, PROG ": field '%s': expected a decimal string <= %llu\n", name,
          (unsigned long long)max);
  return -1;
}

/* A string view into the JSON tree (valid while the tree lives). */
static int get_str(json_object *rec, const char *name, mcap_str *out) {
  json_object *v = field(rec, name);
  if (!v || !json_object_is_type(v, json_type_string)) {
    fprintf(stderr, PROG ": field '%s': expected a string\n", name);
    return -1;
  }
  out->data = json_object_get_string(v);
  out->len = (uint32_t)json_object_get_string_len(v);
  return 0;
}

/* An array of decimal strings as bytes; *out is malloc'd (caller frees). */
static int get_bytes(json_object *rec, const char *name, uint8_t **out, uint64_t *len) {
  json_object *v = field(rec, name);
  size_t n;
  *out = NULL;
  *len = 0;
  if (!v || !json_object_is_type(v, json_type_array)) {
    fprintf(stderr, PROG ": field '%s': expected an array\n", name);
    return -1;
  }
  n = json_object_array_length(v);
  *out = malloc(n ? n : 1);
  if (!*out) {
    fprintf(stderr, PROG ": out of memory\n");
    return -1;
  }
  for (size_t i = 0; i < n; i++) {
    uint64_t b;
    if (parse_uint(json_object_array_get_idx(v, i), 255, &b) != 0) {
      fprintf(stderr, PROG ": field '%s': element %zu is not a byte\n", name, i);
      free(*out);
      *out = NULL;
      return -1;
    }
    (*out)[i] = (uint8_t)b;
  }
  *len = n;
  return 0;
}

static char *dup_str(mcap_str s) {
  char *p = malloc((size_t)s.len + 1);
  if (p) {
    if (s.len) memcpy(p, s.data, s.len);
    p[s.len] = '\0';
  }
  return p;
}

static void le32enc(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/*
 * A JSON object of strings encoded as a Map<string,string> entry area, in the
 * object's order (json-c keeps insertion order). *out is malloc'd.
 */
static int get_str_map(json_object *rec, const char *name, uint8_t **out, uint32_t *len) {
  json_object *v = field(rec, name);
  size_t total = 0, pos = 0;
  *out = NULL;
  *len = 0;
  if (!v || !json_object_is_type(v, json_type_object)) {
    fprintf(stderr, PROG ": field '%s': expected an object\n", name);
    return -1;
  }
  json_object_object_foreach(v, k1, v1) {
    if (!json_object_is_type(v1, json_type_string)) {
      fprintf(stderr, PROG ": field '%s': value of '%s' is not a string\n", name, k1);
      return -1;
    }
    total += 8 + strlen(k1) + (size_t)json_object_get_string_len(v1);
  }
  if (total > UINT32_MAX) {
    fprintf(stderr, PROG ": field '%s': map too large\n", name);
    return -1;
  }
  *out = malloc(total ? total : 1);
  if (!*out) {
    fprintf(stderr, PROG ": out of memory\n");
    return -1;
  }
  json_object_object_foreach(v, k2, v2) {
    size_t kn = strlen(k2), vn = (size_t)json_object_get_string_len(v2);
    le32enc(*out + pos, (uint32_t)kn);
    memcpy(*out + pos + 4, k2, kn);
    pos += 4 + kn;
    le32enc(*out + pos, (uint32_t)vn);
    memcpy(*out + pos + 4, json_object_get_string(v2), vn);
    pos += 4 + vn;
  }
  *len = (uint32_t)total;
  return 0;
}

/* ------------------------------------------------------------------ spec */

static int read_features(json_object *spec, int *features) {
  json_object *meta, *variant, *list;
  *features = 0;
  if (!json_object_object_get_ex(spec, "meta", &meta) ||
      !json_object_object_get_ex(meta, "variant", &variant) ||
      !json_object_object_get_ex(variant, "features", &list) ||
      !json_object_is_type(list, json_type_array)) {
    fprintf(stderr, PROG ": spec has no meta.variant.features array\n");
    return -1;
  }
  for (size_t i = 0; i < json_object_array_length(list); i++) {
    const char *code = json_object_get_string(json_object_array_get_idx(list, i));
    size_t k;
    for (k = 0; k < sizeof feature_codes / sizeof feature_codes[0]; k++) {
      if (code && strcmp(code, feature_codes[k].code) == 0) break;
    }
    if (k == sizeof feature_codes / sizeof feature_codes[0]) {
      fprintf(stderr, PROG ": unknown feature '%s'\n", code ? code : "(null)");
      return -1;
    }
    *features |= feature_codes[k].bit;
  }
  return 0;
}

/* Writer options for a variant; profile/library point into the Header record. */
static void options_for(int features, const char *profile, const char *library,
                        mcap_writer_options *o) {
  mcap_writer_options_init(o);
  o->profile = profile;
  o->library = library;
  if (features & F_CH) {
    /* Everything in one uncompressed chunk, flushed at DataEnd. */
    o->compression = MCAP_COMPRESSION_NONE;
    o->chunk_size = UINT64_C(1) << 40;
  } else {
    o->no_chunking = 1;
  }
  o->no_message_index = !(features & F_MX);
  o->no_chunk_index = !(features & F_CHX);
  o->no_statistics = !(features & F_ST);
  o->no_repeated_schemas = !(features & F_RSH);
  o->no_repeated_channels = !(features & F_RCH);
  o->no_attachment_index = !(features & F_AX);
  o->no_metadata_index = !(features & F_MDX);
  o->no_summary_offsets = !(features & F_SUM);
}

static int write_schema(mcap_writer *w, json_object *rec) {
  mcap_schema s;
  uint64_t id, len;
  uint8_t *data = NULL;
  int rc;
  if (get_uint(rec, "id", UINT16_MAX, &id) || get_str(rec, "name", &s.name) ||
      get_str(rec, "encoding", &s.encoding) || get_bytes(rec, "data", &data, &len))
    return -1;
  s.id = (uint16_t)id;
  s.data.data = data;
  s.data.len = len;
  rc = mcap_writer_put_schema(w, &s);
  free(data);
  return rc;
}

static int write_channel(mcap_writer *w, json_object *rec) {
  mcap_channel c;
  uint64_t id, schema_id;
  uint8_t *map = NULL;
  uint32_t map_len;
  int rc;
  if (get_uint(rec, "id", UINT16_MAX, &id) || get_uint(rec, "schema_id", UINT16_MAX, &schema_id) ||
      get_str(rec, "topic", &c.topic) || get_str(rec, "message_encoding", &c.message_encoding) ||
      get_str_map(rec, "metadata", &map, &map_len))
    return SPEC_ERROR;
  c.id = (uint16_t)id;
  c.schema_id = (uint16_t)schema_id;
  c.metadata.data = map;
  c.metadata.len = map_len;
  rc = mcap_writer_put_channel(w, &c);
  free(map);
  return rc;
}

static int write_message(mcap_writer *w, json_object *rec) {
  mcap_message m;
  uint64_t channel_id, sequence, len;
  uint8_t *data = NULL;
  int rc;
  if (get_uint(rec, "channel_id", UINT16_MAX, &channel_id) ||
      get_uint(rec, "sequence", UINT32_MAX, &sequence) ||
      get_uint(rec, "log_time", UINT64_MAX, &m.log_time) ||
      get_uint(rec, "publish_time", UINT64_MAX, &m.publish_time) ||
      get_bytes(rec, "data", &data, &len))
    return SPEC_ERROR;
  m.channel_id = (uint16_t)channel_id;
  m.sequence = (uint32_t)sequence;
  m.data.data = data;
  m.data.len = len;
  rc = mcap_writer_write_message(w, &m);
  free(data);
  return rc;
}

static int write_attachment(mcap_writer *w, json_object *rec) {
  mcap_attachment a;
  uint64_t len;
  uint8_t *data = NULL;
  int rc;
  if (get_uint(rec, "log_time", UINT64_MAX, &a.log_time) ||
      get_uint(rec, "create_time", UINT64_MAX, &a.create_time) || get_str(rec, "name", &a.name) ||
      get_str(rec, "media_type", &a.media_type) || get_bytes(rec, "data", &data, &len))
    return SPEC_ERROR;
  a.data.data = data;
  a.data.len = len;
  a.crc = 0; /* computed by the writer */
  rc = mcap_writer_write_attachment(w, &a);
  free(data);
  return rc;
}

static int write_metadata(mcap_writer *w, json_object *rec) {
  mcap_metadata md;
  uint8_t *map = NULL;
  uint32_t map_len;
  int rc;
  if (get_str(rec, "name", &md.name) || get_str_map(rec, "metadata", &map, &map_len))
    return SPEC_ERROR;
  md.metadata.data = map;
  md.metadata.len = map_len;
  rc = mcap_writer_write_metadata_record(w, &md);
  free(map);
  return rc;
}

/* Write the spec's records to the sink; returns 0 on success. */
static int write_spec(json_object *spec, mcap_sink *sink) {
  json_object *records;
  mcap_writer *w = NULL;
  int features, rc, status = -1, done = 0;
  char *profile = NULL, *library = NULL;

  if (read_features(spec, &features) != 0) return -1;
  if (!json_object_object_get_ex(spec, "records", &records) ||
      !json_object_is_type(records, json_type_array)) {
    fprintf(stderr, PROG ": spec has no records array\n");
    return -1;
  }
  for (size_t i = 0; i < json_object_array_length(records) && !done; i++) {
    json_object *rec = json_object_array_get_idx(records, i), *t;
    const char *type =
        json_object_object_get_ex(rec, "type", &t) ? json_object_get_string(t) : NULL;
    if (!type) {
      fprintf(stderr, PROG ": record %zu has no type\n", i);
      goto out;
    }
    if (i == 0) {
      mcap_str p, l;
      mcap_writer_options o;
      if (strcmp(type, "Header") != 0) {
        fprintf(stderr, PROG ": first record is %s, not Header\n", type);
        goto out;
      }
      /* The writer options take NUL-terminated strings. */
      if (get_str(rec, "profile", &p) || get_str(rec, "library", &l)) goto out;
      profile = dup_str(p);
      library = dup_str(l);
      if (!profile || !library) {
        fprintf(stderr, PROG ": out of memory\n");
        goto out;
      }
      options_for(features, profile, library, &o);
      rc = mcap_writer_open(&w, sink, &o);
      if (rc != MCAP_OK) {
        fprintf(stderr, PROG ": cannot start the file: %s\n", mcap_strerror(rc));
        goto out;
      }
      continue;
    }
    if (strcmp(type, "Schema") == 0) {
      rc = write_schema(w, rec);
    } else if (strcmp(type, "Channel") == 0) {
      rc = write_channel(w, rec);
    } else if (strcmp(type, "Message") == 0) {
      rc = write_message(w, rec);
    } else if (strcmp(type, "Attachment") == 0) {
      rc = write_attachment(w, rec);
    } else if (strcmp(type, "Metadata") == 0) {
      rc = write_metadata(w, rec);
    } else if (strcmp(type, "DataEnd") == 0) {
      rc = mcap_writer_close(w);
      done = 1;
    } else {
      fprintf(stderr, PROG ": record %zu: unexpected %s in the data section\n", i, type);
      goto out;
    }
    if (rc == SPEC_ERROR) goto out;
    if (rc != MCAP_OK) {
      fprintf(stderr, PROG ": record %zu (%s): %s: %s\n", i, type, mcap_strerror(rc),
              mcap_writer_errmsg(w));
      goto out;
    }
  }
  if (!done) {
    fprintf(stderr, PROG ": spec has no DataEnd record\n");
    goto out;
  }
  status = 0;
out:
  mcap_writer_free(w);
  free(profile);
  free(library);
  return status;
}

int main(int argc, char **argv) {
  json_object *spec;
  mcap_sink sink;
  mcap_error_info info;
  int status;

  if (argc != 2) {
    fprintf(stderr, "usage: " PROG " SPEC.json > OUT.mcap\n");
    return 2;
  }
  spec = json_object_from_file(argv[1]);
  if (!spec) {
    fprintf(stderr, PROG ": %s: %s\n", argv[1], json_util_get_last_err());
    return 1;
  }
  if (mcap_sink_from_fd(&sink, 1, &info) != MCAP_OK) {
    fprintf(stderr, PROG ": stdout: %s\n", info.msg);
    json_object_put(spec);
    return 1;
  }
  status = write_spec(spec, &sink);
  if (mcap_sink_close(&sink, &info) != MCAP_OK && status == 0) {
    fprintf(stderr, PROG ": stdout: %s\n", info.msg);
    status = -1;
  }
  json_object_put(spec);
  return status == 0 ? 0 : 1;
}
