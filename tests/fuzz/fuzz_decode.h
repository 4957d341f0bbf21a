/*
 * fuzz_decode.h - the body of the pl_decode fuzz targets, one per decoder
 * (fuzz_decode_<format>.c defines FUZZ_DECODE_FORMAT and includes this). An input is
 *
 *   u8 selector, u8 name_len, name, u16 schema_len (little endian), schema, message (the rest)
 *
 * The target's format decides (message encoding, schema encoding): 0 (cdr, ros2msg),
 * 1 (cdr, ros2idl), 2 (ros1, ros1msg), 3 (json, jsonschema), 4 (protobuf, protobuf); the
 * selector byte names the format a seed was written for and is otherwise skipped (the seeds of
 * every target share one layout). Inputs too short for the header give an empty name/schema.
 * A decoder that can be made then decodes the message, and a decoded tree is rendered as JSON,
 * as an NDJSON line and as a CSV row, so the renderers see every tree the decoders can build.
 * Limits are lowered (tree memory, CSV columns) to keep each run small. Seeds:
 * corpus/decode_<format>/ (tests/fuzz/make_corpus_decode.c).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "pipeline/decode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const k_formats[5][2] = {
    {"cdr", "ros2msg"}, {"cdr", "ros2idl"}, {"ros1", "ros1msg"},
    {"json", "jsonschema"}, {"protobuf", "protobuf"},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  const char *message_encoding = k_formats[FUZZ_DECODE_FORMAT][0];
  const char *schema_encoding = k_formats[FUZZ_DECODE_FORMAT][1];
  data++; /* the selector byte */
  size--;
  size_t pos = 0, name_len = 0, schema_len = 0;
  if (size >= 1) {
    name_len = data[0];
    pos = 1;
  }
  if (name_len > size - pos) name_len = size - pos;
  const char *name = (const char *)data + pos;
  pos += name_len;
  if (size - pos >= 2) {
    schema_len = (size_t)data[pos] | (size_t)data[pos + 1] << 8;
    pos += 2;
  }
  if (schema_len > size - pos) schema_len = size - pos;
  const uint8_t *schema = data + pos;
  pos += schema_len;

  pl_decoder_spec spec;
  memset(&spec, 0, sizeof spec);
  spec.topic.data = "/fuzz";
  spec.topic.len = 5;
  spec.message_encoding.data = message_encoding;
  spec.message_encoding.len = (uint32_t)strlen(message_encoding);
  spec.schema_encoding.data = schema_encoding;
  spec.schema_encoding.len = (uint32_t)strlen(schema_encoding);
  spec.schema_name.data = name;
  spec.schema_name.len = (uint32_t)name_len;
  spec.schema_data.data = schema;
  spec.schema_data.len = schema_len;
  pl_decode_options o;
  memset(&o, 0, sizeof o);
  o.max_tree_bytes = 16u << 20;
  o.max_fixed_array = 1u << 16;
  o.cdr_wchar_size = size & 1 ? 2 : 4;
  pl_decoder *d = NULL;
  if (pl_decoder_create(&d, &spec, &o, NULL) != PL_DECODE_OK) return 0;

  mcap_message m;
  memset(&m, 0, sizeof m);
  m.sequence = 1;
  m.log_time = 1767225600000000000ull;
  m.data.data = data + pos;
  m.data.len = size - pos;
  const pl_value *v = NULL;
  pl_text t = PL_TEXT_INIT;
  if (pl_decoder_decode(d, &m, &v) == PL_DECODE_OK) {
    pl_json_options jo = {PL_BYTES_DEFAULT};
    (void)pl_decode_json_value(v, &jo, &t);
    mcap_channel ch;
    memset(&ch, 0, sizeof ch);
    ch.topic = spec.topic;
    jo.bytes = PL_BYTES_LENGTH;
    (void)pl_decode_ndjson_line(&ch, &m, v, &jo, &t);
    pl_csv_options co;
    pl_csv_options_init(&co);
    co.max_array = 3;
    co.max_columns = 4096;
    co.bytes = size & 2 ? PL_BYTES_BASE64 : PL_BYTES_LENGTH;
    pl_csv *c = NULL;
    if (pl_csv_create(&c, d, &co, NULL) == PL_DECODE_OK) {
      (void)pl_csv_write_header(c, &t);
      (void)pl_csv_write_row(c, m.log_time, v, &t);
      pl_csv_free(c);
    }
  } else {
    (void)pl_decoder_errmsg(d);
  }
  pl_text_dispose(&t);
  pl_decoder_free(d);
  return 0;
}
