/*
 * decoder.c - the pl_decoder handle: picks the format from the channel's
 * encodings, parses the schema once (schema.c files), and decodes messages
 * into the tree arena it owns, turning a failure into one line that names the
 * topic, sequence, log time, byte offset and field path.
 */
#include <stdio.h>
#include <stdlib.h>

#include "decode_internal.h"

enum fmt { FMT_CDR, FMT_ROS1, FMT_JSON, FMT_PROTO };

struct pl_decoder {
  enum fmt fmt;
  const char *format_name;
  char *topic;
  struct pl__schema schema;
  struct pl__arena tree;
  struct pl__scratch scratch;
  pl_decode_options o;
  char errmsg[1024];
};

static int streq(mcap_str s, const char *lit) {
  return s.len == strlen(lit) && memcmp(s.data, lit, s.len) == 0;
}

void pl_decoder_spec_from(pl_decoder_spec *spec, const mcap_channel *channel,
                          const mcap_schema *schema) {
  memset(spec, 0, sizeof *spec);
  spec->topic = channel->topic;
  spec->message_encoding = channel->message_encoding;
  if (schema) {
    spec->schema_encoding = schema->encoding;
    spec->schema_name = schema->name;
    spec->schema_data = schema->data;
  }
}

static void set_err(pl_decode_error_info *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(pl_decode_error_info *err, int code, const char *fmt, ...) {
  if (!err) return;
  va_list ap;
  err->code = code;
  va_start(ap, fmt);
  vsnprintf(err->msg, sizeof err->msg, fmt, ap);
  va_end(ap);
}

/* Shown names are cut so that one line stays readable. */
#define SHOW(s) (int)((s).len > 120 ? 120 : (s).len), (s).data

int pl_decoder_create(pl_decoder **out, const pl_decoder_spec *spec, const pl_decode_options *o,
                      pl_decode_error_info *err) {
  if (err) {
    err->code = 0;
    err->msg[0] = '\0';
  }
  if (!out || !spec) {
    set_err(err, PL_DECODE_EINVAL, "invalid argument");
    return PL_DECODE_EINVAL;
  }
  *out = NULL;
  mcap_str me = spec->message_encoding, se = spec->schema_encoding;
  enum fmt fmt;
  int sub = 0; /* rosmsg 1/2, idl 3, jsonschema 4, none 5 */
  const char *name;
  if (streq(me, "cdr") && streq(se, "ros2msg")) {
    fmt = FMT_CDR;
    sub = 2;
    name = "ros2msg+cdr";
  } else if (streq(me, "cdr") && streq(se, "ros2idl")) {
    fmt = FMT_CDR;
    sub = 3;
    name = "ros2idl+cdr";
  } else if (streq(me, "ros1") && streq(se, "ros1msg")) {
    fmt = FMT_ROS1;
    sub = 1;
    name = "ros1msg+ros1";
  } else if (streq(me, "json") && streq(se, "jsonschema")) {
    fmt = FMT_JSON;
    sub = 4;
    name = "jsonschema+json";
  } else if (streq(me, "json") && se.len == 0) {
    fmt = FMT_JSON;
    sub = 5;
    name = "json";
  } else if (streq(me, "protobuf") && streq(se, "protobuf")) {
    fmt = FMT_PROTO;
    name = "protobuf";
  } else {
    if (se.len)
      set_err(err, PL_DECODE_EUNSUPPORTED,
              "topic '%.*s': no decoder for message encoding '%.*s' with schema encoding '%.*s'",
              SHOW(spec->topic), SHOW(me), SHOW(se));
    else
      set_err(err, PL_DECODE_EUNSUPPORTED,
              "topic '%.*s': no decoder for message encoding '%.*s' without a schema",
              SHOW(spec->topic), SHOW(me));
    return PL_DECODE_EUNSUPPORTED;
  }
  if (spec->schema_data.len > UINT32_MAX) {
    set_err(err, PL_DECODE_ELIMIT, "topic '%.*s': schema larger than 4 GiB", SHOW(spec->topic));
    return PL_DECODE_ELIMIT;
  }
  pl_decoder *d = calloc(1, sizeof *d);
  if (!d) {
    set_err(err, PL_DECODE_ENOMEM, "out of memory");
    return PL_DECODE_ENOMEM;
  }
  if (o) d->o = *o;
  if (!d->o.max_depth) d->o.max_depth = 64;
  if (d->o.max_depth > 1000) d->o.max_depth = 1000;
  if (!d->o.max_tree_bytes) d->o.max_tree_bytes = (uint64_t)256 << 20;
  if (!d->o.max_fixed_array) d->o.max_fixed_array = 1u << 24;
  if (d->o.cdr_wchar_size != 2) d->o.cdr_wchar_size = 4;
  d->fmt = fmt;
  d->format_name = name;
  d->tree.limit = d->o.max_tree_bytes;
  d->schema.max_depth = d->o.max_depth;
  d->schema.max_fixed_array = d->o.max_fixed_array;
  d->topic = malloc((size_t)spec->topic.len + 1);
  /* the schema text is kept: parsed types may point into it */
  size_t sl = (size_t)spec->schema_data.len;
  char *text = pl__arena_alloc(&d->schema.arena, sl + 1);
  char *sname =
      pl__arena_strdup(&d->schema.arena, spec->schema_name.data ? spec->schema_name.data : "",
                       spec->schema_name.len);
  if (!d->topic || !text || !sname) {
    pl_decoder_free(d);
    set_err(err, PL_DECODE_ENOMEM, "out of memory");
    return PL_DECODE_ENOMEM;
  }
  if (spec->topic.len) memcpy(d->topic, spec->topic.data, spec->topic.len);
  d->topic[spec->topic.len] = '\0';
  if (sl) memcpy(text, spec->schema_data.data, sl);
  text[sl] = '\0';
  int rc;
  switch (sub) {
    case 1:
    case 2:
      rc = pl__rosmsg_parse(&d->schema, text, sl, sname, spec->schema_name.len, sub == 2);
      break;
    case 3:
      rc = pl__idl_parse(&d->schema, text, sl, sname, spec->schema_name.len);
      break;
    case 4:
      rc = pl__jsonschema_parse(&d->schema, text, sl);
      break;
    case 5:
      d->schema.root = pl__prim(PL__T_JSON);
      rc = PL_DECODE_OK;
      break;
    default:
      rc = pl__proto_parse(&d->schema, (const uint8_t *)text, sl, sname, spec->schema_name.len);
      break;
  }
  if (rc != PL_DECODE_OK) {
    if (rc == PL_DECODE_ENOMEM)
      set_err(err, rc, "out of memory");
    else
      set_err(err, rc, "topic '%.*s': schema '%.*s' (%.*s): %s", SHOW(spec->topic),
              SHOW(spec->schema_name), SHOW(se), d->schema.err);
    pl_decoder_free(d);
    return rc;
  }
  *out = d;
  return PL_DECODE_OK;
}

void pl_decoder_free(pl_decoder *d) {
  if (!d) return;
  pl__schema_dispose(&d->schema);
  pl__arena_dispose(&d->tree);
  pl__scratch_dispose(&d->scratch);
  free(d->topic);
  free(d);
}

static int decode(pl_decoder *d, const uint8_t *data, size_t len, uint32_t seq, uint64_t log_time,
                  const pl_value **out) {
  static const pl_value null_value = {0};
  *out = &null_value;
  if (!data) data = (const uint8_t *)""; /* an empty message's view may be NULL */
  d->errmsg[0] = '\0';
  pl__arena_reset(&d->tree);
  /* like the arena, do not keep a huge scratch stack from one big JSON message */
  if (d->scratch.cap > ((size_t)1 << 16)) pl__scratch_dispose(&d->scratch);
  pl_value *root = pl__arena_alloc(&d->tree, sizeof *root);
  struct pl__dctx c;
  pl__dctx_init(&c, &d->tree, data, len, d->o.max_depth);
  c.scratch = &d->scratch;
  c.wchar_size = d->o.cdr_wchar_size;
  int rc;
  if (!root) {
    rc = pl__fail_alloc(&c, 0);
  } else if (len > UINT32_MAX) {
    rc = pl__fail(&c, PL_DECODE_ELIMIT, 0, "message larger than 4 GiB");
  } else {
    switch (d->fmt) {
      case FMT_CDR:
        rc = pl__cdr_decode(&c, d->schema.root, root);
        break;
      case FMT_ROS1:
        rc = pl__ros1_decode(&c, d->schema.root, root);
        break;
      case FMT_JSON:
        rc = pl__json_decode(&c, root);
        break;
      default:
        rc = pl__proto_decode(&c, d->schema.root, root);
        break;
    }
  }
  if (rc == PL_DECODE_OK) {
    *out = root;
    return rc;
  }
  const char *path = c.path + c.path_start;
  if (*path == '.') path++;
  if (*path)
    snprintf(d->errmsg, sizeof d->errmsg,
             "topic '%s' sequence %u log time %llu: byte %zu of %zu, field '%s': %s", d->topic, seq,
             (unsigned long long)log_time, c.offset, len, path, c.why);
  else
    snprintf(d->errmsg, sizeof d->errmsg,
             "topic '%s' sequence %u log time %llu: byte %zu of %zu: %s", d->topic, seq,
             (unsigned long long)log_time, c.offset, len, c.why);
  return rc;
}

int pl_decoder_decode(pl_decoder *d, const mcap_message *m, const pl_value **out) {
  if (!d || !m || !out) return PL_DECODE_EINVAL;
  if (m->data.len > SIZE_MAX) return PL_DECODE_ELIMIT;
  return decode(d, m->data.data, (size_t)m->data.len, m->sequence, m->log_time, out);
}

int pl_decoder_decode_bytes(pl_decoder *d, const uint8_t *data, size_t len, const pl_value **out) {
  if (!d || (!data && len) || !out) return PL_DECODE_EINVAL;
  return decode(d, data ? data : (const uint8_t *)"", len, 0, 0, out);
}

const char *pl_decoder_errmsg(const pl_decoder *d) {
  return d ? d->errmsg : "";
}

const char *pl_decoder_format(const pl_decoder *d) {
  return d ? d->format_name : "";
}

const struct pl__schema *pl__decoder_schema(const pl_decoder *d) {
  return &d->schema;
}

uint32_t pl__decoder_max_depth(const pl_decoder *d) {
  return d->o.max_depth;
}
