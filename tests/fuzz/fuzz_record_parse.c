/*
 * fuzz_record_parse.c - fuzz target for mcap_record_parse / mcap_record_encode.
 *
 * Input: first byte = opcode, the rest = record content. When the content
 * parses, the record is encoded again and the result must parse to the same
 * fields (bytes after the known fields are dropped by the round trip, so
 * fields are compared, not contents). Parsed maps must walk without error,
 * since parsing promises to validate them. Any broken promise aborts.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "endian.h"
#include "mcap/mcap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what, uint8_t opcode) {
  fprintf(stderr, "fuzz_record_parse: %s (opcode 0x%02x %s)\n", what, opcode,
          mcap_opcode_name(opcode));
  abort();
}

static int str_eq(mcap_str a, mcap_str b) {
  return a.len == b.len && (a.len == 0 || memcmp(a.data, b.data, a.len) == 0);
}

static int bytes_eq(mcap_bytes a, mcap_bytes b) {
  return a.len == b.len && (a.len == 0 || memcmp(a.data, b.data, (size_t)a.len) == 0);
}

static int map_eq(mcap_map a, mcap_map b) {
  return a.len == b.len && (a.len == 0 || memcmp(a.data, b.data, a.len) == 0);
}

/* Walk a parsed Map<string,string>: must not fail, and must agree with the count. */
static void walk_str_map(const mcap_map *m, uint8_t opcode) {
  mcap_map_iter it = {0};
  mcap_str k;
  mcap_str v;
  uint32_t n = 0;
  int rc;
  while ((rc = mcap_map_next_str(m, &it, &k, &v)) == MCAP_OK) n++;
  if (rc != MCAP_ITEROVER) fail("walking a parsed string map failed", opcode);
  if (n != mcap_map_str_count(m)) fail("string map count disagrees with its walk", opcode);
}

/* Walk a parsed Map<uint16,uint64>: every key found by the walk must be found by lookup. */
static void walk_u16u64_map(const mcap_map *m, uint8_t opcode) {
  mcap_map_iter it = {0};
  uint16_t k;
  uint64_t v;
  uint64_t found;
  uint32_t n = 0;
  int rc;
  while ((rc = mcap_map_next_u16u64(m, &it, &k, &v)) == MCAP_OK) {
    if (!mcap_map_find_u16u64(m, k, &found)) fail("map key from the walk not found", opcode);
    n++;
  }
  if (rc != MCAP_ITEROVER) fail("walking a parsed u16->u64 map failed", opcode);
  if (n != mcap_map_u16u64_count(m)) fail("u16->u64 map count disagrees with its walk", opcode);
}

/* Exercise the accessors that rely on parse-time validation. */
static void check_views(const mcap_record *r) {
  switch (r->opcode) {
    case MCAP_OP_CHANNEL:
      walk_str_map(&r->u.channel.metadata, r->opcode);
      break;
    case MCAP_OP_METADATA:
      walk_str_map(&r->u.metadata.metadata, r->opcode);
      break;
    case MCAP_OP_CHUNK_INDEX:
      walk_u16u64_map(&r->u.chunk_index.message_index_offsets, r->opcode);
      break;
    case MCAP_OP_STATISTICS:
      walk_u16u64_map(&r->u.statistics.channel_message_counts, r->opcode);
      break;
    case MCAP_OP_MESSAGE_INDEX: {
      uint64_t n = mcap_message_index_count(&r->u.message_index);
      if (n * 16 != r->u.message_index.entries.len) fail("message index count", r->opcode);
      for (uint64_t i = 0; i < n; i++) {
        uint64_t t;
        uint64_t off;
        mcap_message_index_entry(&r->u.message_index, i, &t, &off);
      }
      break;
    }
    default:
      break;
  }
}

/* Field-by-field equality of two parsed records of the same opcode. */
static int same_fields(const mcap_record *a, const mcap_record *b) {
  switch (a->opcode) {
    case MCAP_OP_HEADER:
      return str_eq(a->u.header.profile, b->u.header.profile) &&
             str_eq(a->u.header.library, b->u.header.library);
    case MCAP_OP_FOOTER:
      return a->u.footer.summary_start == b->u.footer.summary_start &&
             a->u.footer.summary_offset_start == b->u.footer.summary_offset_start &&
             a->u.footer.summary_crc == b->u.footer.summary_crc;
    case MCAP_OP_SCHEMA:
      return a->u.schema.id == b->u.schema.id && str_eq(a->u.schema.name, b->u.schema.name) &&
             str_eq(a->u.schema.encoding, b->u.schema.encoding) &&
             bytes_eq(a->u.schema.data, b->u.schema.data);
    case MCAP_OP_CHANNEL:
      return a->u.channel.id == b->u.channel.id &&
             a->u.channel.schema_id == b->u.channel.schema_id &&
             str_eq(a->u.channel.topic, b->u.channel.topic) &&
             str_eq(a->u.channel.message_encoding, b->u.channel.message_encoding) &&
             map_eq(a->u.channel.metadata, b->u.channel.metadata);
    case MCAP_OP_MESSAGE:
      return a->u.message.channel_id == b->u.message.channel_id &&
             a->u.message.sequence == b->u.message.sequence &&
             a->u.message.log_time == b->u.message.log_time &&
             a->u.message.publish_time == b->u.message.publish_time &&
             bytes_eq(a->u.message.data, b->u.message.data);
    case MCAP_OP_CHUNK:
      return a->u.chunk.message_start_time == b->u.chunk.message_start_time &&
             a->u.chunk.message_end_time == b->u.chunk.message_end_time &&
             a->u.chunk.uncompressed_size == b->u.chunk.uncompressed_size &&
             a->u.chunk.uncompressed_crc == b->u.chunk.uncompressed_crc &&
             str_eq(a->u.chunk.compression, b->u.chunk.compression) &&
             bytes_eq(a->u.chunk.records, b->u.chunk.records);
    case MCAP_OP_MESSAGE_INDEX:
      return a->u.message_index.channel_id == b->u.message_index.channel_id &&
             bytes_eq(a->u.message_index.entries, b->u.message_index.entries);
    case MCAP_OP_CHUNK_INDEX: {
      const mcap_chunk_index *x = &a->u.chunk_index;
      const mcap_chunk_index *y = &b->u.chunk_index;
      return x->message_start_time == y->message_start_time &&
             x->message_end_time == y->message_end_time &&
             x->chunk_start_offset == y->chunk_start_offset && x->chunk_length == y->chunk_length &&
             map_eq(x->message_index_offsets, y->message_index_offsets) &&
             x->message_index_length == y->message_index_length &&
             str_eq(x->compression, y->compression) && x->compressed_size == y->compressed_size &&
             x->uncompressed_size == y->uncompressed_size;
    }
    case MCAP_OP_ATTACHMENT:
      return a->u.attachment.log_time == b->u.attachment.log_time &&
             a->u.attachment.create_time == b->u.attachment.create_time &&
             str_eq(a->u.attachment.name, b->u.attachment.name) &&
             str_eq(a->u.attachment.media_type, b->u.attachment.media_type) &&
             bytes_eq(a->u.attachment.data, b->u.attachment.data) &&
             a->u.attachment.crc == b->u.attachment.crc;
    case MCAP_OP_ATTACHMENT_INDEX: {
      const mcap_attachment_index *x = &a->u.attachment_index;
      const mcap_attachment_index *y = &b->u.attachment_index;
      return x->offset == y->offset && x->length == y->length && x->log_time == y->log_time &&
             x->create_time == y->create_time && x->data_size == y->data_size &&
             str_eq(x->name, y->name) && str_eq(x->media_type, y->media_type);
    }
    case MCAP_OP_STATISTICS: {
      const mcap_statistics *x = &a->u.statistics;
      const mcap_statistics *y = &b->u.statistics;
      return x->message_count == y->message_count && x->schema_count == y->schema_count &&
             x->channel_count == y->channel_count && x->attachment_count == y->attachment_count &&
             x->metadata_count == y->metadata_count && x->chunk_count == y->chunk_count &&
             x->message_start_time == y->message_start_time &&
             x->message_end_time == y->message_end_time &&
             map_eq(x->channel_message_counts, y->channel_message_counts);
    }
    case MCAP_OP_METADATA:
      return str_eq(a->u.metadata.name, b->u.metadata.name) &&
             map_eq(a->u.metadata.metadata, b->u.metadata.metadata);
    case MCAP_OP_METADATA_INDEX:
      return a->u.metadata_index.offset == b->u.metadata_index.offset &&
             a->u.metadata_index.length == b->u.metadata_index.length &&
             str_eq(a->u.metadata_index.name, b->u.metadata_index.name);
    case MCAP_OP_SUMMARY_OFFSET:
      return a->u.summary_offset.group_opcode == b->u.summary_offset.group_opcode &&
             a->u.summary_offset.group_start == b->u.summary_offset.group_start &&
             a->u.summary_offset.group_length == b->u.summary_offset.group_length;
    case MCAP_OP_DATA_END:
      return a->u.data_end.data_section_crc == b->u.data_end.data_section_crc;
    default:
      /* Private and unknown records pass through as their raw content. */
      return bytes_eq(a->content, b->content);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  const uint8_t opcode = data[0];
  const uint8_t *content = data + 1;
  const uint64_t len = size - 1;
  if (mcap_opcode_name(opcode) == NULL) fail("mcap_opcode_name returned NULL", opcode);

  mcap_record rec;
  memset(&rec, 0, sizeof rec);
  mcap_error_info err;
  memset(&err, 0, sizeof err);
  if (mcap_record_parse(opcode, content, len, 0, &rec, &err) != MCAP_OK) {
    if (err.code >= 0) fail("parse failed without an error code in err", opcode);
    if (memchr(err.msg, '\0', sizeof err.msg) == NULL) fail("error message not terminated", opcode);
    return 0;
  }
  rec.opcode = opcode;
  rec.content.data = content;
  rec.content.len = len;
  check_views(&rec);

  uint64_t need = 0;
  if (mcap_record_encode(&rec, NULL, 0, &need) != MCAP_OK) {
    /* Only a field too long for its prefix may refuse, and parsed fields never are. */
    fail("encoding a parsed record failed", opcode);
  }
  if (need < MCAP_RECORD_HEADER_SIZE || need > len + MCAP_RECORD_HEADER_SIZE) {
    /* Re-encoding drops unknown trailing bytes and adds nothing but the envelope. */
    fail("encoded size out of range", opcode);
  }
  uint8_t *buf = malloc((size_t)need);
  if (!buf) return 0;
  uint64_t got = 0;
  if (mcap_record_encode(&rec, buf, need, &got) != MCAP_OK || got != need) {
    fail("encoding into a buffer of the computed size failed", opcode);
  }
  if (buf[0] != opcode || mcap__le64dec(buf + 1) != need - MCAP_RECORD_HEADER_SIZE) {
    fail("encoded envelope is wrong", opcode);
  }
  if (need > MCAP_RECORD_HEADER_SIZE + 1) {
    uint64_t small = 0;
    if (mcap_record_encode(&rec, buf, need - 1, &small) == MCAP_OK) {
      fail("encoding into a too small buffer succeeded", opcode);
    }
  }

  mcap_record again;
  memset(&again, 0, sizeof again);
  if (mcap_record_parse(opcode, buf + MCAP_RECORD_HEADER_SIZE, need - MCAP_RECORD_HEADER_SIZE, 0,
                        &again, NULL) != MCAP_OK) {
    fail("re-parsing an encoded record failed", opcode);
  }
  again.opcode = opcode;
  again.content.data = buf + MCAP_RECORD_HEADER_SIZE;
  again.content.len = need - MCAP_RECORD_HEADER_SIZE;
  if (!same_fields(&rec, &again)) fail("fields changed in an encode/parse round trip", opcode);
  free(buf);
  return 0;
}
