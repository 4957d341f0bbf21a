/*
 * scan.c - the indexed reader's fallback: one linear pass over the data
 * section that builds the same index a summary would give (schemas, channels,
 * chunk ranges and the channels in each chunk, message index offsets,
 * attachment and metadata offsets, per-channel counts). Chunks are
 * decompressed once each to learn what they hold, as the Rust and Go readers
 * do for files without message indexes.
 *
 * A scan stops at DataEnd, or at the first error (a truncated or corrupt
 * file): what was indexed before it stays usable and scan_problem says why it
 * stopped.
 */
#include <stdio.h>
#include <string.h>

#include "indexed.h"

/* A source that reads through the reader's own source without owning it. */
static int borrowed_read(void *payload, uint64_t offset, uint64_t len, const uint8_t **out,
                         uint64_t *got, mcap_error_info *err) {
  mcap_source *s = payload;
  return s->read(s->payload, offset, len, out, got, err);
}

static void borrowed_close(void *payload) { (void)payload; }

struct scan_state {
  mcap_reader *r;
  struct mcap_buf chunk;       /* decompressed records */
  struct mcap_buf mio;         /* message index offsets of the last chunk */
  uint64_t mi_start, mi_end;   /* extent of its MessageIndex records */
  int have_chunk;              /* the last data record was a chunk (or its indexes) */
  uint16_t *ids;               /* channels seen in the current chunk */
  uint8_t *seen;               /* [65536] flags for the current chunk */
};

static void count_message(mcap_reader *r, uint16_t channel_id, uint64_t log_time, int *any) {
  uint64_t *t = &r->channel_times[2 * (size_t)channel_id];
  if (r->channel_counts[channel_id]++ == 0 || log_time < t[0]) t[0] = log_time;
  if (r->channel_counts[channel_id] == 1 || log_time > t[1]) t[1] = log_time;
  if (!*any || log_time < r->scan_start) r->scan_start = log_time;
  if (!*any || log_time > r->scan_end) r->scan_end = log_time;
  *any = 1;
}

/* Attach the collected message indexes to the last chunk. */
static int finish_chunk(struct scan_state *st) {
  mcap_reader *r = st->r;
  struct mcap__chunk *c;
  if (!st->have_chunk) return MCAP_OK;
  st->have_chunk = 0;
  c = &r->chunks[r->n_chunks - 1];
  if (st->mio.len) {
    c->ci.message_index_offsets.data = mcap__arena_copy(&r->arena, st->mio.data, st->mio.len);
    if (!c->ci.message_index_offsets.data) return MCAP_ENOMEM;
    c->ci.message_index_offsets.len = (uint32_t)st->mio.len;
    c->ci.message_index_length = st->mi_end - st->mi_start;
  }
  st->mio.len = 0;
  return MCAP_OK;
}

/* Index one chunk: decompress it and learn its schemas, channels and message range. */
static int scan_chunk(struct scan_state *st, const mcap_record *rec, int *any) {
  mcap_reader *r = st->r;
  const mcap_chunk *ck = &rec->u.chunk;
  struct mcap__chunk *c;
  uint64_t pos = 0, n_ids = 0;
  int rc, has_msg = 0;
  uint64_t start = 0, end = 0;
  mcap_error_info e = {0, 0, {0}};

  if (mcap_chunk_size_check(ck, rec->offset, r->o.base.max_chunk_uncompressed_size, &e)) {
    return mcap__rfail(r, e.code, rec->offset, "%s", e.msg);
  }
  if (!r->dec && mcap_decompressor_new(&r->dec)) return MCAP_ENOMEM;
  if (mcap__buf_ensure(&st->chunk, (size_t)ck->uncompressed_size + 1)) return MCAP_ENOMEM;
  rc = mcap_chunk_decompress(r->dec, ck, st->chunk.data, ck->uncompressed_size,
                             r->o.base.no_chunk_crc, &e);
  if (rc) {
    return mcap__rfail(r, rc, rec->offset, "Chunk record at offset %llu: %s",
                       (unsigned long long)rec->offset, e.msg);
  }
  /* Check every record first: a chunk that turns out bad is skipped whole, and must not
   * have been counted in part. */
  while (pos < ck->uncompressed_size) {
    mcap_record in;
    uint64_t left = ck->uncompressed_size - pos, len;
    uint8_t op;
    if (left < 9) break;
    op = st->chunk.data[pos];
    len = mcap__le64dec(st->chunk.data + pos + 1);
    if (len > left - 9) {
      return mcap__rfail(r, MCAP_ERECORD, rec->offset,
                         "Chunk record at offset %llu: record at chunk byte %llu overruns it",
                         (unsigned long long)rec->offset, (unsigned long long)pos);
    }
    memset(&in, 0, sizeof in);
    rc = mcap_record_parse(op, st->chunk.data + pos + 9, len, rec->offset, &in, &e);
    if (rc) {
      return mcap__rfail(r, rc, rec->offset, "in chunk at offset %llu: %s",
                         (unsigned long long)rec->offset, e.msg);
    }
    pos += 9 + len;
  }
  pos = 0;
  while (pos < ck->uncompressed_size) {
    mcap_record in;
    uint64_t left = ck->uncompressed_size - pos, len;
    uint8_t op;
    if (left < 9) break;
    op = st->chunk.data[pos];
    len = mcap__le64dec(st->chunk.data + pos + 1);
    memset(&in, 0, sizeof in);
    rc = mcap_record_parse(op, st->chunk.data + pos + 9, len, rec->offset, &in, &e);
    if (rc) return mcap__rfail(r, rc, rec->offset, "in chunk at offset %llu: %s",
                               (unsigned long long)rec->offset, e.msg);
    if (op == MCAP_OP_SCHEMA) {
      if (mcap__reader_add_schema_copy(r, &in.u.schema)) return MCAP_ENOMEM;
    } else if (op == MCAP_OP_CHANNEL) {
      if (mcap__reader_add_channel_copy(r, &in.u.channel)) return MCAP_ENOMEM;
    } else if (op == MCAP_OP_MESSAGE) {
      uint16_t id = in.u.message.channel_id;
      uint64_t t = in.u.message.log_time;
      if (!st->seen[id]) {
        st->seen[id] = 1;
        st->ids[n_ids++] = id;
      }
      if (!has_msg || t < start) start = t;
      if (!has_msg || t > end) end = t;
      has_msg = 1;
      count_message(r, id, t, any);
    }
    pos += 9 + len;
  }
  rc = finish_chunk(st);
  if (rc) return rc;
  if (mcap__grow_array((void **)&r->chunks, &r->cap_chunks, r->n_chunks + 1, sizeof *r->chunks)) {
    return MCAP_ENOMEM;
  }
  c = &r->chunks[r->n_chunks++];
  memset(c, 0, sizeof *c);
  c->ci.message_start_time = has_msg ? start : 0;
  c->ci.message_end_time = has_msg ? end : 0;
  c->ci.chunk_start_offset = rec->offset;
  c->ci.chunk_length = 9 + rec->content.len;
  c->ci.compression = ck->compression;
  if (ck->compression.len) {
    c->ci.compression.data = mcap__arena_copy(&r->arena, ck->compression.data, ck->compression.len);
    if (!c->ci.compression.data) return MCAP_ENOMEM;
  }
  c->ci.compressed_size = ck->records.len;
  c->ci.uncompressed_size = ck->uncompressed_size;
  c->channels_known = 1;
  c->n_channels = (uint32_t)n_ids;
  if (n_ids) {
    c->channels = mcap__arena_copy(&r->arena, st->ids, n_ids * sizeof *st->ids);
    if (!c->channels) return MCAP_ENOMEM;
  }
  for (uint64_t i = 0; i < n_ids; i++) st->seen[st->ids[i]] = 0;
  st->have_chunk = 1;
  st->mi_start = st->mi_end = rec->offset + 9 + rec->content.len;
  return MCAP_OK;
}

int mcap__reader_scan(mcap_reader *r) {
  mcap_source b = {&r->src, r->src.size, borrowed_read, borrowed_close, NULL};
  mcap_stream_reader *sr = NULL;
  mcap_reader_options o = r->o.base;
  struct scan_state st;
  mcap_record rec;
  int rc, any = 0;

  memset(&st, 0, sizeof st);
  st.r = r;
  r->channel_counts = mcap__calloc(65536, sizeof *r->channel_counts);
  r->channel_times = mcap__calloc(2 * 65536, sizeof *r->channel_times);
  st.ids = mcap__malloc(65536 * sizeof *st.ids);
  st.seen = mcap__calloc(65536, 1);
  if (!r->channel_counts || !r->channel_times || !st.ids || !st.seen) {
    rc = mcap__rfail(r, MCAP_ENOMEM, UINT64_MAX, "out of memory");
    goto out;
  }
  r->counts_known = 1;
  o.raw_chunks = 1;
  o.allow_no_footer = 1;
  rc = mcap_stream_reader_new(&sr, &b, &o);
  if (rc) goto out;
  for (;;) {
    rc = mcap_stream_reader_next(sr, &rec);
    if (rc == MCAP_ITEROVER) break;
    if (rc) {
      uint64_t at = mcap_stream_reader_error_offset(sr);
      if (rc == MCAP_EIO || rc == MCAP_ENOMEM) {
        /* not damage: the file could not be read at all from here */
        rc = mcap__rfail(r, rc, at, "%s", mcap_stream_reader_errmsg(sr));
        goto out;
      }
      snprintf(r->scan_problem, sizeof r->scan_problem, "%s", mcap_stream_reader_errmsg(sr));
      if (at == UINT64_MAX || at > r->src.size) at = mcap_stream_reader_position(sr);
      mcap__reader_note_damage(r, rc, at, r->src.size > at ? r->src.size - at : 0, 0, 0, 1,
                               r->scan_problem);
      rc = MCAP_OK;
      break;
    }
    if (rec.opcode != MCAP_OP_MESSAGE_INDEX && st.have_chunk) {
      if ((rc = finish_chunk(&st))) goto out;
    }
    switch (rec.opcode) {
      case MCAP_OP_SCHEMA:
        if (mcap__reader_add_schema_copy(r, &rec.u.schema)) goto oom;
        break;
      case MCAP_OP_CHANNEL:
        if (mcap__reader_add_channel_copy(r, &rec.u.channel)) goto oom;
        break;
      case MCAP_OP_MESSAGE:
        if (mcap__grow_array((void **)&r->loose, &r->cap_loose, r->n_loose + 1, sizeof *r->loose)) goto oom;
        r->loose[r->n_loose].log_time = rec.u.message.log_time;
        r->loose[r->n_loose].offset = rec.offset;
        r->loose[r->n_loose].channel_id = rec.u.message.channel_id;
        r->n_loose++;
        count_message(r, rec.u.message.channel_id, rec.u.message.log_time, &any);
        break;
      case MCAP_OP_CHUNK:
        rc = scan_chunk(&st, &rec, &any);
        if (rc == MCAP_ENOMEM) goto oom;
        if (rc) {
          /* A bad chunk is skipped; the scan goes on with the next record. */
          if (!r->scan_problem[0]) {
            snprintf(r->scan_problem, sizeof r->scan_problem, "%s", r->err.msg);
          }
          mcap__reader_note_damage(r, rc, rec.offset, 9 + rec.content.len, 1, 0, 0, r->err.msg);
          rc = MCAP_OK;
        }
        break;
      case MCAP_OP_MESSAGE_INDEX:
        if (st.have_chunk) {
          uint8_t ent[10];
          mcap__le16enc(ent, rec.u.message_index.channel_id);
          mcap__le64enc(ent + 2, rec.offset);
          if (mcap__buf_append(&st.mio, ent, 10)) goto oom;
          st.mi_end = rec.offset + 9 + rec.content.len;
        }
        break;
      case MCAP_OP_ATTACHMENT: {
        mcap_attachment_index ai;
        const mcap_attachment *a = &rec.u.attachment;
        memset(&ai, 0, sizeof ai);
        ai.offset = rec.offset;
        ai.length = 9 + rec.content.len;
        ai.log_time = a->log_time;
        ai.create_time = a->create_time;
        ai.data_size = a->data.len;
        ai.name = a->name;
        ai.media_type = a->media_type;
        if (ai.name.len && !(ai.name.data = mcap__arena_copy(&r->arena, a->name.data, a->name.len))) goto oom;
        if (ai.media_type.len &&
            !(ai.media_type.data = mcap__arena_copy(&r->arena, a->media_type.data, a->media_type.len))) {
          goto oom;
        }
        if (mcap__grow_array((void **)&r->attachments, &r->cap_attachments, r->n_attachments + 1,
                 sizeof *r->attachments)) {
          goto oom;
        }
        r->attachments[r->n_attachments++] = ai;
        break;
      }
      case MCAP_OP_METADATA: {
        mcap_metadata_index mi;
        memset(&mi, 0, sizeof mi);
        mi.offset = rec.offset;
        mi.length = 9 + rec.content.len;
        mi.name = rec.u.metadata.name;
        if (mi.name.len &&
            !(mi.name.data = mcap__arena_copy(&r->arena, mi.name.data, mi.name.len))) {
          goto oom;
        }
        if (mcap__grow_array((void **)&r->metadata, &r->cap_metadata, r->n_metadata + 1,
                 sizeof *r->metadata)) {
          goto oom;
        }
        r->metadata[r->n_metadata++] = mi;
        break;
      }
      default:
        break;
    }
    if (rec.opcode == MCAP_OP_DATA_END || rec.opcode == MCAP_OP_FOOTER) {
      r->data_end = rec.offset;
      break;
    }
  }
  rc = finish_chunk(&st);
  if (!r->data_end) r->data_end = mcap_stream_reader_position(sr);
  goto out;
oom:
  rc = mcap__rfail(r, MCAP_ENOMEM, UINT64_MAX, "out of memory while scanning");
out:
  mcap_stream_reader_free(sr);
  mcap__buf_dispose(&st.chunk);
  mcap__buf_dispose(&st.mio);
  mcap__free(st.ids);
  mcap__free(st.seen);
  return rc;
}
