/*
 * doctor_chunk.c - the doctor's chunk checks: decompress each Chunk (with one
 * reusable buffer and decompressor), verify its CRC and time range, walk the
 * records inside, and check the MessageIndex records that follow it against
 * the messages actually there (offset, channel, log time, completeness).
 *
 * Memory: one decompressed chunk plus a 24-byte entry per message of that
 * chunk (d->msgs, reused), so the per-message cost is a few stores.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doctor_internal.h"

static struct dr_chunk *chunk_at(struct doctor *d, uint32_t i) {
  return &((struct dr_chunk *)d->chunks.p)[i];
}

static uint64_t le64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}

static int known_codec(mcap_str c) {
  return c.len == 0 || (c.len == 4 && memcmp(c.data, "zstd", 4) == 0) ||
         (c.len == 3 && memcmp(c.data, "lz4", 3) == 0);
}

/* Decompress the chunk; *data points at its records (the compressed bytes themselves
 * when uncompressed). Returns 0, or -1 after reporting why the contents are unreadable. */
static int chunk_records(struct doctor *d, const mcap_chunk *k, uint64_t off,
                         const uint8_t **data) {
  uint64_t size = k->uncompressed_size;
  mcap_error_info e;
  int rc;
  char name[64];
  if (!known_codec(k->compression)) {
    pl__doctor_add(d, DC_COMPRESSION_UNKNOWN, off, "unsupported chunk compression '%s'",
                   pl__printable(name, sizeof name, k->compression));
    return -1;
  }
  if (size > MCAP_DEFAULT_MAX_RECORD_SIZE || size > SIZE_MAX) {
    pl__doctor_add(d, DC_CHUNK_TOO_LARGE, off,
                   "chunk uncompressed size %llu exceeds the limit %llu; contents not checked",
                   (unsigned long long)size, (unsigned long long)MCAP_DEFAULT_MAX_RECORD_SIZE);
    return -1;
  }
  if (k->compression.len == 0) {
    if (k->records.len != size) {
      pl__doctor_add(d, DC_DECOMPRESS, off,
                     "uncompressed chunk holds %llu bytes of records, uncompressed_size says %llu",
                     (unsigned long long)k->records.len, (unsigned long long)size);
      return -1;
    }
    *data = k->records.data;
    return 0;
  }
  /* No codec expands by more than this; refuse before allocating for an absurd size. */
  if (!mcap_chunk_size_possible(k)) {
    pl__doctor_add(d, DC_DECOMPRESS, off,
                   "uncompressed size %llu is impossible for %llu compressed bytes",
                   (unsigned long long)size, (unsigned long long)k->records.len);
    return -1;
  }
  if (d->feed) {
    const uint8_t *fed;
    uint64_t fed_len;
    if (pl_feed_take(d->feed, off, &fed, &fed_len) && fed_len == size) {
      *data = fed;
      return 0;
    }
  }
  if (size > d->cbuf_cap) {
    uint8_t *p = realloc(d->cbuf, (size_t)size);
    if (!p) {
      d->fatal_oom = 1;
      return -1;
    }
    d->cbuf = p;
    d->cbuf_cap = (size_t)size;
  }
  memset(&e, 0, sizeof e);
  rc = mcap_chunk_decompress(d->dec, k, d->cbuf, size, 1, &e);
  if (rc == MCAP_ENOMEM) {
    d->fatal_oom = 1;
    return -1;
  }
  if (rc != MCAP_OK) {
    pl__doctor_add(d, DC_DECOMPRESS, off, "%s chunk does not decompress: %s",
                   pl__printable(name, sizeof name, k->compression),
                   e.msg[0] ? e.msg : mcap_strerror(rc));
    return -1;
  }
  *data = d->cbuf;
  return 0;
}

static void chunk_message(struct doctor *d, const mcap_message *m, uint64_t chunk_off, uint64_t pos,
                          uint32_t idx) {
  struct dr_channel *ch = pl__doctor_channel_at(d, m->channel_id);
  struct dr_msg e;
  pl__doctor_message(d, m, chunk_off, 1);
  if (ch->cur_chunk != idx + 1) {
    ch->cur_chunk = idx + 1;
    ch->cur_messages = 0;
    ch->cur_indexed = 0;
    pl__dvec_push(d, &d->cur_channels, &m->channel_id);
  }
  ch->cur_messages++;
  ch->flags |= SF_IN_CHUNK;
  e.offset = pos;
  e.log_time = m->log_time;
  e.channel = m->channel_id;
  e.indexed = 0;
  pl__dvec_push(d, &d->msgs, &e);
}

void pl__doctor_chunk(struct doctor *d, const mcap_record *rec) {
  const mcap_chunk *k = &rec->u.chunk;
  uint64_t off = rec->offset;
  struct dr_chunk c;
  const uint8_t *data = NULL;
  uint64_t size = k->uncompressed_size, pos = 0, nmsg = 0, tmin = 0, tmax = 0;
  uint32_t idx;
  int bad = 0;

  memset(&c, 0, sizeof c);
  c.offset = off;
  c.length = MCAP_RECORD_HEADER_SIZE + rec->content.len;
  c.start = k->message_start_time;
  c.end = k->message_end_time;
  c.compressed_size = k->records.len;
  c.uncompressed_size = size;
  c.compression_hash = pl__hash_str(k->compression);
  pl__printable(c.compression, sizeof c.compression, k->compression);
  idx = (uint32_t)d->chunks.n;
  if (pl__dvec_push(d, &d->chunks, &c) != 0) return;
  d->rep->chunks++;
  d->open_chunk = idx; /* its MessageIndex records may follow */
  d->msgs.n = 0;
  d->cur_channels.n = 0;
  pl__check_utf8(d, k->compression, "Chunk.compression", off);

  if (chunk_records(d, k, off, &data) != 0) {
    d->contents_incomplete = 1;
    return;
  }
  if (k->uncompressed_crc == 0) d->rep->crcs_absent++;
  if (k->uncompressed_crc != 0) {
    uint32_t crc = mcap_crc32(0, data, (size_t)size);
    d->rep->crcs_checked++;
    if (crc != k->uncompressed_crc) {
      pl__doctor_add(d, DC_CRC_CHUNK, off, "chunk CRC mismatch: stored 0x%08x, computed 0x%08x",
                     k->uncompressed_crc, crc);
    }
  }

  while (pos < size) {
    mcap_record in;
    mcap_error_info e;
    uint64_t len;
    uint8_t op;
    if (size - pos < MCAP_RECORD_HEADER_SIZE) {
      pl__doctor_add(d, DC_RECORD_MALFORMED, off,
                     "%llu stray bytes at the end of the chunk records (chunk byte %llu)",
                     (unsigned long long)(size - pos), (unsigned long long)pos);
      bad = 1;
      break;
    }
    op = data[pos];
    len = le64(data + pos + 1);
    if (len > size - pos - MCAP_RECORD_HEADER_SIZE) {
      pl__doctor_add(d, DC_RECORD_MALFORMED, off,
                     "%s record at chunk byte %llu declares %llu bytes, only %llu left in the "
                     "chunk; rest of the chunk skipped",
                     mcap_opcode_name(op), (unsigned long long)pos, (unsigned long long)len,
                     (unsigned long long)(size - pos - MCAP_RECORD_HEADER_SIZE));
      bad = 1;
      break;
    }
    d->rep->records++;
    e.msg[0] = '\0';
    if (op == MCAP_OP_MESSAGE && len >= 22) {
      /* The hot path: a Message's fixed fields, read in place (same result as the parser). */
      const uint8_t *p = data + pos + MCAP_RECORD_HEADER_SIZE;
      in.opcode = op;
      in.u.message.channel_id = (uint16_t)(p[0] | p[1] << 8);
      in.u.message.sequence =
          (uint32_t)p[2] | (uint32_t)p[3] << 8 | (uint32_t)p[4] << 16 | (uint32_t)p[5] << 24;
      in.u.message.log_time = le64(p + 6);
      in.u.message.publish_time = le64(p + 14);
      in.u.message.data.data = p + 22;
      in.u.message.data.len = len - 22;
    } else if (op == MCAP_OP_MESSAGE || op == MCAP_OP_SCHEMA || op == MCAP_OP_CHANNEL) {
      /* Offsets in the parser's message are chunk bytes: it is told the record's position
       * in the decompressed records. */
      if (mcap_record_parse(op, data + pos + MCAP_RECORD_HEADER_SIZE, len, pos, &in, &e) !=
          MCAP_OK) {
        pl__doctor_add(d, DC_RECORD_MALFORMED, off,
                       "inside the chunk, at chunk byte %llu: %s; rest of the chunk skipped",
                       (unsigned long long)pos, e.msg);
        bad = 1;
        break;
      }
    }
    switch (op) {
      case MCAP_OP_MESSAGE: {
        uint64_t t = in.u.message.log_time;
        if (nmsg == 0 || t < tmin) tmin = t;
        if (nmsg == 0 || t > tmax) tmax = t;
        nmsg++;
        chunk_message(d, &in.u.message, off, pos, idx);
        break;
      }
      case MCAP_OP_SCHEMA:
        pl__doctor_schema(d, &in.u.schema, off, 1);
        break;
      case MCAP_OP_CHANNEL:
        pl__doctor_channel(d, &in.u.channel, off, 1);
        break;
      default:
        if (op >= 0x80) {
          pl__doctor_add(d, DC_OPCODE_PRIVATE, off,
                         "private record (opcode 0x%02x) inside the chunk at chunk byte %llu", op,
                         (unsigned long long)pos);
        } else if (op >= MCAP_OP_HEADER && op <= MCAP_OP_DATA_END) {
          pl__doctor_add(d, DC_RECORD_WRONG_SECTION, off,
                         "%s record inside a chunk (chunk byte %llu)", mcap_opcode_name(op),
                         (unsigned long long)pos);
        } else {
          pl__doctor_add(d, DC_OPCODE_UNKNOWN, off,
                         "unknown record opcode 0x%02x inside the chunk at chunk byte %llu", op,
                         (unsigned long long)pos);
        }
        break;
    }
    pos += MCAP_RECORD_HEADER_SIZE + len;
    if (d->fatal_oom) return;
  }

  if (bad) {
    d->contents_incomplete = 1;
    return;
  }
  chunk_at(d, idx)->readable = 1;
  if (nmsg) {
    d->chunks_with_messages++;
    if (tmin != k->message_start_time || tmax != k->message_end_time) {
      pl__doctor_add(d, DC_CHUNK_TIME_RANGE, off,
                     "chunk declares message times %llu..%llu, its messages span %llu..%llu",
                     (unsigned long long)k->message_start_time,
                     (unsigned long long)k->message_end_time, (unsigned long long)tmin,
                     (unsigned long long)tmax);
    }
  } else if (k->message_start_time || k->message_end_time) {
    pl__doctor_add(d, DC_CHUNK_EMPTY_TIME, off,
                   "chunk without messages declares message times %llu..%llu (should be 0)",
                   (unsigned long long)k->message_start_time,
                   (unsigned long long)k->message_end_time);
  }
}

/* The message of the open chunk at `offset`, or NULL (d->msgs is sorted by offset).
 * Index entries usually come in offset order, so first look a few messages past the
 * previous hit (*hint) before falling back to a binary search. */
static struct dr_msg *find_msg(struct doctor *d, uint64_t offset, size_t *hint) {
  struct dr_msg *m = d->msgs.p;
  size_t lo = 0, hi = d->msgs.n;
  for (size_t i = *hint; i < hi && i < *hint + 32 && m[i].offset <= offset; i++) {
    if (m[i].offset == offset) {
      *hint = i + 1;
      return &m[i];
    }
  }
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (m[mid].offset < offset) {
      lo = mid + 1;
    } else if (m[mid].offset > offset) {
      hi = mid;
    } else {
      *hint = mid + 1;
      return &m[mid];
    }
  }
  return NULL;
}

void pl__doctor_message_index(struct doctor *d, const mcap_record *rec) {
  const mcap_message_index *mi = &rec->u.message_index;
  uint64_t off = rec->offset;
  struct dr_chunk *c;
  struct dr_channel *ch = pl__doctor_channel_at(d, mi->channel_id);
  struct dr_mi e;
  uint64_t n, bad_off = 0, bad_ch = 0, bad_time = 0;
  uint64_t ex_off = 0, ex_ch = 0, ex_time = 0, ex_want = 0, ex_have = 0;
  uint16_t ex_other = 0;
  size_t hint = 0;

  if (d->open_chunk == NO_CHUNK) {
    pl__doctor_add(d, DC_MESSAGE_INDEX_ORPHAN, off,
                   "MessageIndex for channel %u does not follow a chunk (previous record: %s); "
                   "readers ignore it",
                   mi->channel_id, mcap_opcode_name(d->last_opcode));
    return;
  }
  c = chunk_at(d, d->open_chunk);
  c->mi_length += MCAP_RECORD_HEADER_SIZE + rec->content.len;
  e.offset = off;
  e.chunk = d->open_chunk;
  e.channel = mi->channel_id;
  if (pl__dvec_push(d, &d->mis, &e) != 0) return;
  if (c->mi_count == 0) c->mi_first = (uint32_t)(d->mis.n - 1);
  c->mi_count++;

  if (ch->mi_chunk == d->open_chunk + 1) {
    pl__doctor_add(d, DC_DUPLICATE_MESSAGE_INDEX, off,
                   "second MessageIndex for channel %u after the chunk at %llu; readers that "
                   "read every index record yield its messages twice",
                   mi->channel_id, (unsigned long long)c->offset);
    return;
  }
  ch->mi_chunk = d->open_chunk + 1;
  if (!c->readable) return; /* nothing to compare with */

  n = mcap_message_index_count(mi);
  if (ch->cur_chunk != d->open_chunk + 1 || ch->cur_messages == 0) {
    if (n == 0) {
      pl__doctor_add(d, DC_MESSAGE_INDEX_EXTRA, off,
                     "MessageIndex for channel %u, which has no messages in the chunk at %llu",
                     mi->channel_id, (unsigned long long)c->offset);
      return;
    }
  }
  for (uint64_t i = 0; i < n; i++) {
    uint64_t t, o;
    struct dr_msg *m;
    t = le64(mi->entries.data + 16 * i);
    o = le64(mi->entries.data + 16 * i + 8);
    m = find_msg(d, o, &hint);
    if (!m) {
      if (bad_off++ == 0) ex_off = o;
    } else if (m->channel != mi->channel_id) {
      if (bad_ch++ == 0) {
        ex_ch = o;
        ex_other = m->channel;
      }
    } else {
      if (m->log_time != t && bad_time++ == 0) {
        ex_time = o;
        ex_want = t;
        ex_have = m->log_time;
      }
      if (!m->indexed) {
        m->indexed = 1;
        ch->cur_indexed++;
      }
    }
  }
  if (bad_off) {
    pl__doctor_add(d, DC_MESSAGE_INDEX_OFFSET, off,
                   "MessageIndex for channel %u: %llu of %llu entries point at no Message record "
                   "of the chunk at %llu (first: chunk byte %llu)",
                   mi->channel_id, (unsigned long long)bad_off, (unsigned long long)n,
                   (unsigned long long)c->offset, (unsigned long long)ex_off);
  }
  if (bad_ch) {
    pl__doctor_add(d, DC_MESSAGE_INDEX_CHANNEL, off,
                   "MessageIndex for channel %u: %llu entries point at messages of another channel "
                   "(first: chunk byte %llu, channel %u)",
                   mi->channel_id, (unsigned long long)bad_ch, (unsigned long long)ex_ch, ex_other);
  }
  if (bad_time) {
    pl__doctor_add(d, DC_MESSAGE_INDEX_TIME, off,
                   "MessageIndex for channel %u: %llu entries have the wrong log time (first: "
                   "chunk byte %llu, index says %llu, message has %llu)",
                   mi->channel_id, (unsigned long long)bad_time, (unsigned long long)ex_time,
                   (unsigned long long)ex_want, (unsigned long long)ex_have);
  }
}

void pl__doctor_close_chunk(struct doctor *d) {
  struct dr_chunk *c = chunk_at(d, d->open_chunk);
  const uint16_t *ids = d->cur_channels.p;
  if (c->readable) {
    if (c->mi_count == 0) {
      if (d->cur_channels.n > 0) d->chunks_without_mi++;
    } else {
      for (size_t i = 0; i < d->cur_channels.n; i++) {
        struct dr_channel *ch = pl__doctor_channel_at(d, ids[i]);
        if (ch->mi_chunk != d->open_chunk + 1) {
          pl__doctor_add(d, DC_MESSAGE_INDEX_MISSING, c->offset,
                         "chunk has %llu messages on channel %u but no MessageIndex for it; "
                         "readers that go through the message indexes skip them",
                         (unsigned long long)ch->cur_messages, ids[i]);
        } else if (ch->cur_indexed < ch->cur_messages) {
          pl__doctor_add(d, DC_MESSAGE_INDEX_ENTRY_MISSING, c->offset,
                         "MessageIndex for channel %u lists %llu of its %llu messages in the "
                         "chunk; readers that go through it skip the others",
                         ids[i], (unsigned long long)ch->cur_indexed,
                         (unsigned long long)ch->cur_messages);
        }
      }
    }
  }
  d->cur_channels.n = 0;
  d->msgs.n = 0;
  d->open_chunk = NO_CHUNK;
}
