/*
 * records.c - parsing and encoding of the 15 MCAP record types, map and
 * message-index accessors, opcode names and version strings.
 *
 * Parsing is zero-copy: every string, byte and map field of the parsed record
 * is a view into the content it was parsed from. Fields after the known ones
 * are ignored (the spec's record extension rule).
 */
#include <string.h>

#include "internal.h"

#define STR2(x) #x
#define STR(x) STR2(x)
#define VERSION_STRING STR(MCAP_VERSION_MAJOR) "." STR(MCAP_VERSION_MINOR) "." STR(MCAP_VERSION_PATCH)

const char *mcap_version_string(void) { return VERSION_STRING; }

const char *mcap_default_library(void) { return "mcapkit/" VERSION_STRING; }

const char *mcap_opcode_name(uint8_t opcode) {
  static const char *const names[] = {
      "Invalid",    "Header",         "Footer",          "Schema",     "Channel",
      "Message",    "Chunk",          "MessageIndex",    "ChunkIndex", "Attachment",
      "AttachmentIndex", "Statistics", "Metadata",      "MetadataIndex", "SummaryOffset",
      "DataEnd"};
  if (opcode < sizeof names / sizeof names[0]) return names[opcode];
  return opcode >= 0x80 ? "Private" : "Unknown";
}

mcap_str mcap_str_c(const char *s) {
  mcap_str v = {s, 0};
  if (s) {
    size_t n = strlen(s);
    v.len = n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
  }
  return v;
}

/* ------------------------------------------------------------------ maps */

int mcap_map_next_str(const mcap_map *m, mcap_map_iter *it, mcap_str *key, mcap_str *value) {
  mcap_str *out[2] = {key, value};
  uint32_t pos = it->pos;
  if (pos >= m->len) return MCAP_ITEROVER;
  for (int i = 0; i < 2; i++) {
    uint32_t n;
    if (m->len - pos < 4) return MCAP_ERECORD;
    n = mcap__le32dec(m->data + pos);
    pos += 4;
    if (n > m->len - pos) return MCAP_ERECORD;
    out[i]->data = (const char *)(m->data + pos);
    out[i]->len = n;
    pos += n;
  }
  it->pos = pos;
  return MCAP_OK;
}

int mcap_map_next_u16u64(const mcap_map *m, mcap_map_iter *it, uint16_t *key, uint64_t *value) {
  if (it->pos >= m->len) return MCAP_ITEROVER;
  if (m->len - it->pos < 10) return MCAP_ERECORD;
  *key = mcap__le16dec(m->data + it->pos);
  *value = mcap__le64dec(m->data + it->pos + 2);
  it->pos += 10;
  return MCAP_OK;
}

uint32_t mcap_map_u16u64_count(const mcap_map *m) { return m->len / 10; }

int mcap_map_find_u16u64(const mcap_map *m, uint16_t key, uint64_t *value) {
  for (uint32_t pos = 0; pos < m->len && m->len - pos >= 10; pos += 10) {
    if (mcap__le16dec(m->data + pos) == key) {
      *value = mcap__le64dec(m->data + pos + 2);
      return 1;
    }
  }
  return 0;
}

uint32_t mcap_map_str_count(const mcap_map *m) {
  mcap_map_iter it = {0};
  mcap_str k, v;
  uint32_t n = 0;
  while (mcap_map_next_str(m, &it, &k, &v) == MCAP_OK) n++;
  return n;
}

uint64_t mcap_message_index_count(const mcap_message_index *mi) { return mi->entries.len / 16; }

void mcap_message_index_entry(const mcap_message_index *mi, uint64_t i, uint64_t *log_time,
                              uint64_t *offset) {
  const uint8_t *p = mi->entries.data + i * 16;
  *log_time = mcap__le64dec(p);
  *offset = mcap__le64dec(p + 8);
}

/* --------------------------------------------------------------- parsing */

#define TRY(expr)            \
  do {                       \
    int rc_ = (expr);        \
    if (rc_ != MCAP_OK) return rc_; \
  } while (0)

int mcap_record_parse(uint8_t opcode, const uint8_t *content, uint64_t len, uint64_t base_offset,
                      mcap_record *rec, mcap_error_info *err) {
  struct mcap_cursor c;
  mcap__cursor_init(&c, content, len, mcap_opcode_name(opcode), base_offset, err);
  rec->opcode = opcode;
  rec->content.data = content;
  rec->content.len = len;
  switch (opcode) {
    case MCAP_OP_HEADER: {
      mcap_header *h = &rec->u.header;
      TRY(mcap__cursor_str(&c, "profile", &h->profile));
      TRY(mcap__cursor_str(&c, "library", &h->library));
      break;
    }
    case MCAP_OP_FOOTER: {
      mcap_footer *f = &rec->u.footer;
      TRY(mcap__cursor_u64(&c, "summary_start", &f->summary_start));
      TRY(mcap__cursor_u64(&c, "summary_offset_start", &f->summary_offset_start));
      TRY(mcap__cursor_u32(&c, "summary_crc", &f->summary_crc));
      break;
    }
    case MCAP_OP_SCHEMA: {
      mcap_schema *s = &rec->u.schema;
      TRY(mcap__cursor_u16(&c, "id", &s->id));
      TRY(mcap__cursor_str(&c, "name", &s->name));
      TRY(mcap__cursor_str(&c, "encoding", &s->encoding));
      TRY(mcap__cursor_bytes32(&c, "data", &s->data));
      break;
    }
    case MCAP_OP_CHANNEL: {
      mcap_channel *ch = &rec->u.channel;
      TRY(mcap__cursor_u16(&c, "id", &ch->id));
      TRY(mcap__cursor_u16(&c, "schema_id", &ch->schema_id));
      TRY(mcap__cursor_str(&c, "topic", &ch->topic));
      TRY(mcap__cursor_str(&c, "message_encoding", &ch->message_encoding));
      TRY(mcap__cursor_map(&c, "metadata", 1, &ch->metadata));
      break;
    }
    case MCAP_OP_MESSAGE: {
      mcap_message *m = &rec->u.message;
      TRY(mcap__cursor_u16(&c, "channel_id", &m->channel_id));
      TRY(mcap__cursor_u32(&c, "sequence", &m->sequence));
      TRY(mcap__cursor_u64(&c, "log_time", &m->log_time));
      TRY(mcap__cursor_u64(&c, "publish_time", &m->publish_time));
      TRY(mcap__cursor_rest(&c, &m->data));
      break;
    }
    case MCAP_OP_CHUNK: {
      mcap_chunk *k = &rec->u.chunk;
      TRY(mcap__cursor_u64(&c, "message_start_time", &k->message_start_time));
      TRY(mcap__cursor_u64(&c, "message_end_time", &k->message_end_time));
      TRY(mcap__cursor_u64(&c, "uncompressed_size", &k->uncompressed_size));
      TRY(mcap__cursor_u32(&c, "uncompressed_crc", &k->uncompressed_crc));
      TRY(mcap__cursor_str(&c, "compression", &k->compression));
      TRY(mcap__cursor_bytes64(&c, "records", &k->records));
      break;
    }
    case MCAP_OP_MESSAGE_INDEX: {
      mcap_message_index *mi = &rec->u.message_index;
      TRY(mcap__cursor_u16(&c, "channel_id", &mi->channel_id));
      TRY(mcap__cursor_bytes32(&c, "records", &mi->entries));
      if (mi->entries.len % 16 != 0) {
        return mcap__err(err, MCAP_ERECORD, base_offset,
                         "MessageIndex record at offset %llu: field 'records' length %llu is not a "
                         "multiple of 16",
                         (unsigned long long)base_offset, (unsigned long long)mi->entries.len);
      }
      break;
    }
    case MCAP_OP_CHUNK_INDEX: {
      mcap_chunk_index *ci = &rec->u.chunk_index;
      TRY(mcap__cursor_u64(&c, "message_start_time", &ci->message_start_time));
      TRY(mcap__cursor_u64(&c, "message_end_time", &ci->message_end_time));
      TRY(mcap__cursor_u64(&c, "chunk_start_offset", &ci->chunk_start_offset));
      TRY(mcap__cursor_u64(&c, "chunk_length", &ci->chunk_length));
      TRY(mcap__cursor_map(&c, "message_index_offsets", 0, &ci->message_index_offsets));
      TRY(mcap__cursor_u64(&c, "message_index_length", &ci->message_index_length));
      TRY(mcap__cursor_str(&c, "compression", &ci->compression));
      TRY(mcap__cursor_u64(&c, "compressed_size", &ci->compressed_size));
      TRY(mcap__cursor_u64(&c, "uncompressed_size", &ci->uncompressed_size));
      break;
    }
    case MCAP_OP_ATTACHMENT: {
      mcap_attachment *a = &rec->u.attachment;
      TRY(mcap__cursor_u64(&c, "log_time", &a->log_time));
      TRY(mcap__cursor_u64(&c, "create_time", &a->create_time));
      TRY(mcap__cursor_str(&c, "name", &a->name));
      TRY(mcap__cursor_str(&c, "media_type", &a->media_type));
      TRY(mcap__cursor_bytes64(&c, "data", &a->data));
      TRY(mcap__cursor_u32(&c, "crc", &a->crc));
      break;
    }
    case MCAP_OP_ATTACHMENT_INDEX: {
      mcap_attachment_index *ai = &rec->u.attachment_index;
      TRY(mcap__cursor_u64(&c, "offset", &ai->offset));
      TRY(mcap__cursor_u64(&c, "length", &ai->length));
      TRY(mcap__cursor_u64(&c, "log_time", &ai->log_time));
      TRY(mcap__cursor_u64(&c, "create_time", &ai->create_time));
      TRY(mcap__cursor_u64(&c, "data_size", &ai->data_size));
      TRY(mcap__cursor_str(&c, "name", &ai->name));
      TRY(mcap__cursor_str(&c, "media_type", &ai->media_type));
      break;
    }
    case MCAP_OP_STATISTICS: {
      mcap_statistics *s = &rec->u.statistics;
      TRY(mcap__cursor_u64(&c, "message_count", &s->message_count));
      TRY(mcap__cursor_u16(&c, "schema_count", &s->schema_count));
      TRY(mcap__cursor_u32(&c, "channel_count", &s->channel_count));
      TRY(mcap__cursor_u32(&c, "attachment_count", &s->attachment_count));
      TRY(mcap__cursor_u32(&c, "metadata_count", &s->metadata_count));
      TRY(mcap__cursor_u32(&c, "chunk_count", &s->chunk_count));
      TRY(mcap__cursor_u64(&c, "message_start_time", &s->message_start_time));
      TRY(mcap__cursor_u64(&c, "message_end_time", &s->message_end_time));
      TRY(mcap__cursor_map(&c, "channel_message_counts", 0, &s->channel_message_counts));
      break;
    }
    case MCAP_OP_METADATA: {
      mcap_metadata *md = &rec->u.metadata;
      TRY(mcap__cursor_str(&c, "name", &md->name));
      TRY(mcap__cursor_map(&c, "metadata", 1, &md->metadata));
      break;
    }
    case MCAP_OP_METADATA_INDEX: {
      mcap_metadata_index *mi = &rec->u.metadata_index;
      TRY(mcap__cursor_u64(&c, "offset", &mi->offset));
      TRY(mcap__cursor_u64(&c, "length", &mi->length));
      TRY(mcap__cursor_str(&c, "name", &mi->name));
      break;
    }
    case MCAP_OP_SUMMARY_OFFSET: {
      mcap_summary_offset *so = &rec->u.summary_offset;
      TRY(mcap__cursor_u8(&c, "group_opcode", &so->group_opcode));
      TRY(mcap__cursor_u64(&c, "group_start", &so->group_start));
      TRY(mcap__cursor_u64(&c, "group_length", &so->group_length));
      break;
    }
    case MCAP_OP_DATA_END:
      TRY(mcap__cursor_u32(&c, "data_section_crc", &rec->u.data_end.data_section_crc));
      break;
    default:
      /* Private and unknown records are passed through unparsed. */
      break;
  }
  return MCAP_OK;
}

/* -------------------------------------------------------------- encoding */

/* A writer that only counts when dst is NULL or too small. */
struct enc {
  uint8_t *p;
  uint64_t n;   /* bytes produced (or that would be) */
  uint64_t cap;
  int too_long; /* a field does not fit its length prefix */
};

static void put(struct enc *e, const void *src, uint64_t len) {
  if (e->p && e->n + len <= e->cap && len) memcpy(e->p + e->n, src, len);
  e->n += len;
}
static void put_u8(struct enc *e, uint8_t v) { put(e, &v, 1); }
static void put_u16(struct enc *e, uint16_t v) {
  uint8_t b[2];
  mcap__le16enc(b, v);
  put(e, b, 2);
}
static void put_u32(struct enc *e, uint32_t v) {
  uint8_t b[4];
  mcap__le32enc(b, v);
  put(e, b, 4);
}
static void put_u64(struct enc *e, uint64_t v) {
  uint8_t b[8];
  mcap__le64enc(b, v);
  put(e, b, 8);
}
static void put_str(struct enc *e, mcap_str s) {
  put_u32(e, s.len);
  put(e, s.data, s.len);
}
static void put_bytes32(struct enc *e, mcap_bytes b) {
  if (b.len > UINT32_MAX) e->too_long = 1;
  put_u32(e, (uint32_t)b.len);
  put(e, b.data, b.len);
}
static void put_bytes64(struct enc *e, mcap_bytes b) {
  put_u64(e, b.len);
  put(e, b.data, b.len);
}
static void put_map(struct enc *e, mcap_map m) {
  put_u32(e, m.len);
  put(e, m.data, m.len);
}

static void encode_content(struct enc *e, const mcap_record *rec) {
  const void *u = &rec->u;
  switch (rec->opcode) {
    case MCAP_OP_HEADER: {
      const mcap_header *h = u;
      put_str(e, h->profile);
      put_str(e, h->library);
      break;
    }
    case MCAP_OP_FOOTER: {
      const mcap_footer *f = u;
      put_u64(e, f->summary_start);
      put_u64(e, f->summary_offset_start);
      put_u32(e, f->summary_crc);
      break;
    }
    case MCAP_OP_SCHEMA: {
      const mcap_schema *s = u;
      put_u16(e, s->id);
      put_str(e, s->name);
      put_str(e, s->encoding);
      put_bytes32(e, s->data);
      break;
    }
    case MCAP_OP_CHANNEL: {
      const mcap_channel *c = u;
      put_u16(e, c->id);
      put_u16(e, c->schema_id);
      put_str(e, c->topic);
      put_str(e, c->message_encoding);
      put_map(e, c->metadata);
      break;
    }
    case MCAP_OP_MESSAGE: {
      const mcap_message *m = u;
      put_u16(e, m->channel_id);
      put_u32(e, m->sequence);
      put_u64(e, m->log_time);
      put_u64(e, m->publish_time);
      put(e, m->data.data, m->data.len);
      break;
    }
    case MCAP_OP_CHUNK: {
      const mcap_chunk *k = u;
      put_u64(e, k->message_start_time);
      put_u64(e, k->message_end_time);
      put_u64(e, k->uncompressed_size);
      put_u32(e, k->uncompressed_crc);
      put_str(e, k->compression);
      put_bytes64(e, k->records);
      break;
    }
    case MCAP_OP_MESSAGE_INDEX: {
      const mcap_message_index *mi = u;
      put_u16(e, mi->channel_id);
      put_bytes32(e, mi->entries);
      break;
    }
    case MCAP_OP_CHUNK_INDEX: {
      const mcap_chunk_index *ci = u;
      put_u64(e, ci->message_start_time);
      put_u64(e, ci->message_end_time);
      put_u64(e, ci->chunk_start_offset);
      put_u64(e, ci->chunk_length);
      put_map(e, ci->message_index_offsets);
      put_u64(e, ci->message_index_length);
      put_str(e, ci->compression);
      put_u64(e, ci->compressed_size);
      put_u64(e, ci->uncompressed_size);
      break;
    }
    case MCAP_OP_ATTACHMENT: {
      const mcap_attachment *a = u;
      put_u64(e, a->log_time);
      put_u64(e, a->create_time);
      put_str(e, a->name);
      put_str(e, a->media_type);
      put_bytes64(e, a->data);
      put_u32(e, a->crc);
      break;
    }
    case MCAP_OP_ATTACHMENT_INDEX: {
      const mcap_attachment_index *ai = u;
      put_u64(e, ai->offset);
      put_u64(e, ai->length);
      put_u64(e, ai->log_time);
      put_u64(e, ai->create_time);
      put_u64(e, ai->data_size);
      put_str(e, ai->name);
      put_str(e, ai->media_type);
      break;
    }
    case MCAP_OP_STATISTICS: {
      const mcap_statistics *s = u;
      put_u64(e, s->message_count);
      put_u16(e, s->schema_count);
      put_u32(e, s->channel_count);
      put_u32(e, s->attachment_count);
      put_u32(e, s->metadata_count);
      put_u32(e, s->chunk_count);
      put_u64(e, s->message_start_time);
      put_u64(e, s->message_end_time);
      put_map(e, s->channel_message_counts);
      break;
    }
    case MCAP_OP_METADATA: {
      const mcap_metadata *md = u;
      put_str(e, md->name);
      put_map(e, md->metadata);
      break;
    }
    case MCAP_OP_METADATA_INDEX: {
      const mcap_metadata_index *mi = u;
      put_u64(e, mi->offset);
      put_u64(e, mi->length);
      put_str(e, mi->name);
      break;
    }
    case MCAP_OP_SUMMARY_OFFSET: {
      const mcap_summary_offset *so = u;
      put_u8(e, so->group_opcode);
      put_u64(e, so->group_start);
      put_u64(e, so->group_length);
      break;
    }
    case MCAP_OP_DATA_END:
      put_u32(e, rec->u.data_end.data_section_crc);
      break;
    default:
      put(e, rec->content.data, rec->content.len);
      break;
  }
}

int mcap_record_encode(const mcap_record *rec, uint8_t *dst, uint64_t cap, uint64_t *size) {
  struct enc e = {NULL, 0, 0, 0};
  uint64_t content_len, total;
  if (!rec || !size) return MCAP_EINVAL;
  encode_content(&e, rec); /* measure */
  if (e.too_long) return MCAP_ELIMIT;
  content_len = e.n;
  total = MCAP_RECORD_HEADER_SIZE + content_len;
  *size = total;
  if (!dst) return MCAP_OK;
  if (cap < total) return MCAP_EINVAL;
  e.p = dst;
  e.n = 0;
  e.cap = cap;
  put_u8(&e, rec->opcode);
  put_u64(&e, content_len);
  encode_content(&e, rec);
  return MCAP_OK;
}
