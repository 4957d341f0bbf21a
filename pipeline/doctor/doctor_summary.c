/*
 * doctor_summary.c - the doctor's summary checks: chunk, attachment and
 * metadata indexes against the records they point at (remembered from the
 * data section), summary offsets against the groups they describe, the
 * footer's offsets and CRC, and at the end statistics against what was
 * counted and index coverage (every chunk/attachment/metadata indexed, every
 * channel of an indexed chunk repeated in the summary).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doctor_internal.h"

/* Binary search of a vector of structs whose first member is a uint64 offset. */
static void *find_by_offset(const struct dvec *v, uint64_t offset) {
  size_t lo = 0, hi = v->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    void *e = (uint8_t *)v->p + mid * v->elem;
    uint64_t o;
    memcpy(&o, e, sizeof o);
    if (o < offset) {
      lo = mid + 1;
    } else if (o > offset) {
      hi = mid;
    } else {
      return e;
    }
  }
  return NULL;
}

#define U(x) ((unsigned long long)(x))

void pl__doctor_chunk_index(struct doctor *d, const mcap_record *rec) {
  const mcap_chunk_index *ci = &rec->u.chunk_index;
  uint64_t off = rec->offset;
  struct dr_chunk *c;
  uint32_t idx, n_map = 0;
  char comp[64];

  d->n_chunk_index++;
  pl__check_utf8(d, ci->compression, "ChunkIndex.compression", off);
  c = find_by_offset(&d->chunks, ci->chunk_start_offset);
  if (!c) {
    pl__doctor_add(d, DC_CHUNK_INDEX_OFFSET, off,
                   "ChunkIndex points at offset %llu, where no Chunk record starts",
                   U(ci->chunk_start_offset));
    return;
  }
  idx = (uint32_t)(c - (struct dr_chunk *)d->chunks.p);
  if (++c->n_index > 1) {
    pl__doctor_add(d, DC_DUPLICATE_CHUNK_INDEX, off, "another ChunkIndex for the chunk at %llu",
                   U(c->offset));
  }
  if (ci->chunk_length != c->length) {
    pl__doctor_add(d, DC_CHUNK_INDEX_MISMATCH, off,
                   "ChunkIndex for the chunk at %llu: chunk_length %llu, the record is %llu bytes",
                   U(c->offset), U(ci->chunk_length), U(c->length));
  }
  if (ci->message_start_time != c->start || ci->message_end_time != c->end) {
    pl__doctor_add(d, DC_CHUNK_INDEX_MISMATCH, off,
                   "ChunkIndex for the chunk at %llu: message times %llu..%llu, the chunk says "
                   "%llu..%llu",
                   U(c->offset), U(ci->message_start_time), U(ci->message_end_time), U(c->start),
                   U(c->end));
  }
  if (pl__hash_str(ci->compression) != c->compression_hash) {
    pl__doctor_add(d, DC_CHUNK_INDEX_MISMATCH, off,
                   "ChunkIndex for the chunk at %llu: compression '%s', the chunk has '%s'",
                   U(c->offset), pl__printable(comp, sizeof comp, ci->compression), c->compression);
  }
  if (ci->compressed_size != c->compressed_size) {
    pl__doctor_add(d, DC_CHUNK_INDEX_MISMATCH, off,
                   "ChunkIndex for the chunk at %llu: compressed_size %llu, the chunk has %llu",
                   U(c->offset), U(ci->compressed_size), U(c->compressed_size));
  }
  if (ci->uncompressed_size != c->uncompressed_size) {
    pl__doctor_add(d, DC_CHUNK_INDEX_MISMATCH, off,
                   "ChunkIndex for the chunk at %llu: uncompressed_size %llu, the chunk has %llu",
                   U(c->offset), U(ci->uncompressed_size), U(c->uncompressed_size));
  }
  if (ci->message_index_length != c->mi_length) {
    pl__doctor_add(d, DC_CHUNK_INDEX_MISMATCH, off,
                   "ChunkIndex for the chunk at %llu: message_index_length %llu, the MessageIndex "
                   "records after it take %llu bytes",
                   U(c->offset), U(ci->message_index_length), U(c->mi_length));
  }
  /* An empty map means "no message indexing for this chunk": nothing to compare. */
  n_map = mcap_map_u16u64_count(&ci->message_index_offsets);
  if (n_map > 0) {
    mcap_map_iter it = {0};
    uint16_t ch;
    uint64_t mo;
    while (mcap_map_next_u16u64(&ci->message_index_offsets, &it, &ch, &mo) == MCAP_OK) {
      const struct dr_mi *mi = find_by_offset(&d->mis, mo);
      if (!mi || mi->chunk != idx) {
        pl__doctor_add(d, DC_CHUNK_INDEX_MISMATCH, off,
                       "ChunkIndex for the chunk at %llu: message index offset %llu for channel "
                       "%u is not a MessageIndex record of that chunk",
                       U(c->offset), U(mo), ch);
      } else if (mi->channel != ch) {
        pl__doctor_add(d, DC_CHUNK_INDEX_MISMATCH, off,
                       "ChunkIndex for the chunk at %llu: message index offset %llu for channel "
                       "%u points at the MessageIndex of channel %u",
                       U(c->offset), U(mo), ch, mi->channel);
      }
    }
    if (n_map != c->mi_count) {
      pl__doctor_add(d, DC_CHUNK_INDEX_MISMATCH, off,
                     "ChunkIndex for the chunk at %llu lists %u message indexes, %u follow the "
                     "chunk",
                     U(c->offset), n_map, c->mi_count);
    }
  }
}

void pl__doctor_attachment_index(struct doctor *d, const mcap_record *rec) {
  const mcap_attachment_index *ai = &rec->u.attachment_index;
  uint64_t off = rec->offset;
  struct dr_att *a;
  char name[64], fields[160];
  size_t n = 0;

  d->n_attachment_index++;
  pl__check_utf8(d, ai->name, "AttachmentIndex.name", off);
  pl__check_utf8(d, ai->media_type, "AttachmentIndex.media_type", off);
  pl__printable(name, sizeof name, ai->name);
  a = find_by_offset(&d->atts, ai->offset);
  if (!a) {
    pl__doctor_add(d, DC_ATTACHMENT_INDEX_OFFSET, off,
                   "AttachmentIndex '%s' points at offset %llu, where no Attachment record starts",
                   name, U(ai->offset));
    return;
  }
  if (++a->n_index > 1) {
    pl__doctor_add(d, DC_DUPLICATE_ATTACHMENT_INDEX, off,
                   "another AttachmentIndex for the attachment at %llu", U(a->offset));
  }
  fields[0] = '\0';
#define DIFF(cond, text)                                                             \
  do {                                                                               \
    if ((cond) && n < sizeof fields) {                                               \
      int w_ = snprintf(fields + n, sizeof fields - n, "%s%s", n ? ", " : "", text); \
      if (w_ > 0) n += (size_t)w_;                                                   \
    }                                                                                \
  } while (0)
  DIFF(ai->length != a->length, "length");
  DIFF(ai->log_time != a->log_time, "log_time");
  DIFF(ai->create_time != a->create_time, "create_time");
  DIFF(ai->data_size != a->data_size, "data_size");
  DIFF(pl__hash_str(ai->name) != a->name_hash, "name");
  DIFF(pl__hash_str(ai->media_type) != a->media_type_hash, "media_type");
  if (n) {
    pl__doctor_add(d, DC_ATTACHMENT_INDEX_MISMATCH, off,
                   "AttachmentIndex '%s' differs from the attachment at %llu in: %s", name,
                   U(a->offset), fields);
  }
}

void pl__doctor_metadata_index(struct doctor *d, const mcap_record *rec) {
  const mcap_metadata_index *mi = &rec->u.metadata_index;
  uint64_t off = rec->offset;
  struct dr_meta *m;
  char name[64], fields[64];
  size_t n = 0;

  d->n_metadata_index++;
  pl__check_utf8(d, mi->name, "MetadataIndex.name", off);
  pl__printable(name, sizeof name, mi->name);
  m = find_by_offset(&d->metas, mi->offset);
  if (!m) {
    pl__doctor_add(d, DC_METADATA_INDEX_OFFSET, off,
                   "MetadataIndex '%s' points at offset %llu, where no Metadata record starts",
                   name, U(mi->offset));
    return;
  }
  if (++m->n_index > 1) {
    pl__doctor_add(d, DC_DUPLICATE_METADATA_INDEX, off,
                   "another MetadataIndex for the metadata record at %llu", U(m->offset));
  }
  fields[0] = '\0';
  DIFF(mi->length != m->length, "length");
  DIFF(pl__hash_str(mi->name) != m->name_hash, "name");
#undef DIFF
  if (n) {
    pl__doctor_add(d, DC_METADATA_INDEX_MISMATCH, off,
                   "MetadataIndex '%s' differs from the metadata record at %llu in: %s", name,
                   U(m->offset), fields);
  }
}

void pl__doctor_statistics(struct doctor *d, const mcap_record *rec) {
  const mcap_statistics *s = &rec->u.statistics;
  if (d->have_stats) {
    pl__doctor_add(d, DC_DUPLICATE_STATISTICS, rec->offset,
                   "second Statistics record (the first is at %llu)", U(d->stats_offset));
    return;
  }
  d->have_stats = 1;
  d->stats_offset = rec->offset;
  d->stats = *s;
  d->stats.channel_message_counts.data = NULL;
  d->stats.channel_message_counts.len = 0;
  if (s->channel_message_counts.len) {
    d->stats_map = malloc(s->channel_message_counts.len);
    if (!d->stats_map) {
      d->fatal_oom = 1;
      return;
    }
    memcpy(d->stats_map, s->channel_message_counts.data, s->channel_message_counts.len);
    d->stats_map_len = s->channel_message_counts.len;
  }
}

void pl__doctor_summary_offset(struct doctor *d, const mcap_record *rec) {
  const mcap_summary_offset *so = &rec->u.summary_offset;
  uint64_t off = rec->offset;
  const struct dr_sum *sums = d->sums.p, *first;
  const char *name = mcap_opcode_name(so->group_opcode);
  uint64_t end, at;
  size_t i, n_other = 0;

  if (d->so_seen[so->group_opcode]++) {
    pl__doctor_add(d, DC_DUPLICATE_SUMMARY_OFFSET, off,
                   "another SummaryOffset for the %s group (opcode 0x%02x)", name,
                   so->group_opcode);
  }
  first = find_by_offset(&d->sums, so->group_start);
  if (!first || first->opcode == MCAP_OP_SUMMARY_OFFSET) {
    pl__doctor_add(d, DC_SUMMARY_OFFSET_START, off,
                   "SummaryOffset for %s: group_start %llu is not the start of a summary record",
                   name, U(so->group_start));
    return;
  }
  if (__builtin_add_overflow(so->group_start, so->group_length, &end)) end = UINT64_MAX;
  at = so->group_start;
  for (i = (size_t)(first - sums); i < d->sums.n && sums[i].offset < end; i++) {
    if (sums[i].opcode != so->group_opcode) n_other++;
    at = sums[i].offset + sums[i].length;
  }
  if (n_other) {
    pl__doctor_add(d, DC_SUMMARY_OFFSET_OPCODE, off,
                   "SummaryOffset for %s (opcode 0x%02x): %zu records in the group have another "
                   "opcode (first: %s)",
                   name, so->group_opcode, n_other, mcap_opcode_name(first->opcode));
  }
  if (n_other) {
    /* the group is wrong already; its extent says nothing more */
  } else if (at != end) {
    pl__doctor_add(d, DC_SUMMARY_OFFSET_LENGTH, off,
                   "SummaryOffset for %s: group %llu+%llu ends at %llu, not at a record boundary "
                   "(records end at %llu)",
                   name, U(so->group_start), U(so->group_length), U(end), U(at));
  } else if (i < d->sums.n && sums[i].opcode == so->group_opcode) {
    pl__doctor_add(d, DC_SUMMARY_OFFSET_LENGTH, off,
                   "SummaryOffset for %s: group %llu+%llu stops before the %s record at %llu", name,
                   U(so->group_start), U(so->group_length), name, U(sums[i].offset));
  }
}

void pl__doctor_footer(struct doctor *d, const mcap_record *rec) {
  const mcap_footer *f = &rec->u.footer;
  uint64_t off = rec->offset;
  uint64_t want_start = d->first_summary_offset == UINT64_MAX ? 0 : d->first_summary_offset;
  uint64_t want_so =
      d->first_summary_offset_record == UINT64_MAX ? 0 : d->first_summary_offset_record;
  d->saw_footer = 1;
  if (f->summary_start != want_start) {
    if (want_start == 0) {
      pl__doctor_add(d, DC_FOOTER_SUMMARY_START, off,
                     "Footer.summary_start is %llu, but the file has no summary section (0)",
                     U(f->summary_start));
    } else {
      pl__doctor_add(d, DC_FOOTER_SUMMARY_START, off,
                     "Footer.summary_start is %llu, the summary section starts at %llu",
                     U(f->summary_start), U(want_start));
    }
  }
  if (f->summary_offset_start != want_so) {
    pl__doctor_add(d, DC_FOOTER_SUMMARY_OFFSET_START, off,
                   "Footer.summary_offset_start is %llu, the first SummaryOffset is at %llu",
                   U(f->summary_offset_start), U(want_so));
  }
  if (f->summary_crc == 0)
    d->rep->crcs_absent++;
  else if (d->saw_data_end)
    d->rep->crcs_checked++;
  if (f->summary_crc != 0 && d->saw_data_end) {
    /* Covers everything after DataEnd through the footer's summary_offset_start. */
    uint8_t env[MCAP_RECORD_HEADER_SIZE] = {MCAP_OP_FOOTER, 20, 0, 0, 0, 0, 0, 0, 0};
    uint32_t crc = mcap_crc32(d->summary_crc, env, sizeof env);
    crc = mcap_crc32(crc, rec->content.data, 16);
    if (crc != f->summary_crc) {
      pl__doctor_add(d, DC_CRC_SUMMARY, off, "summary CRC mismatch: stored 0x%08x, computed 0x%08x",
                     f->summary_crc, crc);
    }
  }
}

/* Summary groups must be contiguous: report each opcode whose records are split. */
static void check_groups(struct doctor *d) {
  const struct dr_sum *s = d->sums.p;
  uint8_t ended[256];
  memset(ended, 0, sizeof ended);
  for (size_t i = 0; i < d->sums.n; i++) {
    uint8_t op = s[i].opcode;
    if (i > 0 && s[i - 1].opcode != op) ended[s[i - 1].opcode] = 1;
    if (ended[op] == 1) {
      ended[op] = 2; /* report once */
      pl__doctor_add(d, DC_SUMMARY_GROUP_SPLIT, s[i].offset,
                     "%s records in the summary are not contiguous (another group before this one)",
                     mcap_opcode_name(op));
    }
  }
}

static void check_statistics(struct doctor *d) {
  const mcap_statistics *s = &d->stats;
  uint64_t off = d->stats_offset;
  mcap_map counts;
  counts.data = d->stats_map;
  counts.len = d->stats_map_len;

  if (s->attachment_count != d->atts.n) {
    pl__doctor_add(d, DC_STATISTICS_ATTACHMENT_COUNT, off,
                   "Statistics.attachment_count is %u, the file has %zu attachments",
                   s->attachment_count, d->atts.n);
  }
  if (s->metadata_count != d->metas.n) {
    pl__doctor_add(d, DC_STATISTICS_METADATA_COUNT, off,
                   "Statistics.metadata_count is %u, the file has %zu metadata records",
                   s->metadata_count, d->metas.n);
  }
  if (s->chunk_count != d->chunks.n) {
    pl__doctor_add(d, DC_STATISTICS_CHUNK_COUNT, off,
                   "Statistics.chunk_count is %u, the file has %zu chunks", s->chunk_count,
                   d->chunks.n);
  }
  if (counts.len && d->n_channels_summary_before_stats < d->n_channels) {
    pl__doctor_add(d, DC_STATISTICS_CHANNELS_MISSING, off,
                   "Statistics has per-channel counts, but only %llu of %llu channels are in the "
                   "summary before it",
                   U(d->n_channels_summary_before_stats), U(d->n_channels));
  }
  if (d->contents_incomplete) {
    pl__doctor_add(d, DC_STATISTICS_SKIPPED, off,
                   "schema, channel and message counts not checked: some chunk could not be read");
    return;
  }
  {
    /* Writers that put definitions of topics without messages in the summary only (the
     * official C++ writer under rosbag2) count the data section's: both counts are taken. */
    uint64_t data_schemas = 0, data_channels = 0;
    size_t n_ids;
    const uint16_t *ids = pl__doctor_used_ids(&d->used_schemas, &n_ids);
    for (size_t i = 0; i < n_ids; i++) {
      if (ids[i] && (d->schemas[ids[i]].flags & SF_DATA)) data_schemas++;
    }
    ids = pl__doctor_used_ids(&d->used_channels, &n_ids);
    for (size_t i = 0; i < n_ids; i++) {
      if (d->channels[ids[i]].flags & SF_DATA) data_channels++;
    }
    if (s->schema_count != d->n_schemas && s->schema_count != data_schemas) {
      pl__doctor_add(d, DC_STATISTICS_SCHEMA_COUNT, off,
                     "Statistics.schema_count is %u, the file defines %llu schemas",
                     s->schema_count, U(d->n_schemas));
    }
    if (s->channel_count != d->n_channels && s->channel_count != data_channels) {
      pl__doctor_add(d, DC_STATISTICS_CHANNEL_COUNT, off,
                     "Statistics.channel_count is %u, the file defines %llu channels",
                     s->channel_count, U(d->n_channels));
    }
  }
  if (s->message_count != d->messages) {
    pl__doctor_add(d, DC_STATISTICS_MESSAGE_COUNT, off,
                   "Statistics.message_count is %llu, the file has %llu messages",
                   U(s->message_count), U(d->messages));
  }
  {
    uint64_t lo = d->messages ? d->min_log_time : 0, hi = d->messages ? d->max_log_time : 0;
    if (s->message_start_time == lo && s->message_end_time == hi) {
      /* right */
    } else if (lo == 0 && d->min_nonzero_log_time != 0 &&
               s->message_start_time == d->min_nonzero_log_time && s->message_end_time == hi) {
      /* The official C++ and Go writers keep the start time as "0 = not set yet", so messages
       * at log time 0 leave it at the next message's time. The messages are all there. */
      pl__doctor_add(d, DC_STATISTICS_START_ZERO, off,
                     "Statistics.message_start_time is %llu, but messages have log time 0: the "
                     "writer took 0 for 'unset' (official C++/Go writers do); readers that trust "
                     "the Statistics start the recording late",
                     U(s->message_start_time));
    } else {
      pl__doctor_add(d, DC_STATISTICS_TIME_RANGE, off,
                     "Statistics message times are %llu..%llu, the messages span %llu..%llu",
                     U(s->message_start_time), U(s->message_end_time), U(lo), U(hi));
    }
  }
  if (counts.len) {
    mcap_map_iter it = {0};
    uint16_t id;
    uint64_t n;
    while (mcap_map_next_u16u64(&counts, &it, &id, &n) == MCAP_OK) {
      if (n != d->channels[id].messages) {
        pl__doctor_add(d, DC_STATISTICS_CHANNEL_MESSAGES, off,
                       "Statistics counts %llu messages on channel %u, the file has %llu", U(n), id,
                       U(d->channels[id].messages));
      }
    }
    size_t n_ids;
    const uint16_t *ids = pl__doctor_used_ids(&d->used_channels, &n_ids);
    for (size_t i = 0; i < n_ids; i++) {
      uint16_t c = ids[i];
      uint64_t dummy;
      if (d->channels[c].messages && !mcap_map_find_u16u64(&counts, c, &dummy)) {
        pl__doctor_add(d, DC_STATISTICS_CHANNEL_MESSAGES, off,
                       "Statistics has no message count for channel %u, which has %llu messages", c,
                       U(d->channels[c].messages));
      }
    }
  }
}

/* Summary Channels whose schema was not defined before them: fine if the summary defines it
 * anywhere (indexed readers read the whole summary first). */
static void check_late_schemas(struct doctor *d) {
  const struct dr_late *l = d->late_schema.p;
  for (size_t i = 0; i < d->late_schema.n; i++) {
    if (d->schemas[l[i].schema].flags & (SF_DATA | SF_SUMMARY)) continue;
    pl__doctor_add(d, DC_CHANNEL_UNKNOWN_SCHEMA, l[i].offset,
                   "channel %u in the summary uses schema %u, which the file does not define; "
                   "readers cannot decode its messages",
                   l[i].channel, l[i].schema);
  }
}

void pl__doctor_finish(struct doctor *d, int complete) {
  if (d->chunks_without_mi) {
    /* Legal ("no message indexing"): readers decompress such chunks whole, but Foxglove's
     * TypeScript indexed reader refuses an indexed chunk with messages and no index. */
    if (d->chunks_without_mi == d->chunks_with_messages) {
      pl__doctor_add(d, DC_MESSAGE_INDEX_ABSENT, UINT64_MAX,
                     "no chunk has MessageIndex records: readers must decompress whole chunks, "
                     "and some indexed readers (Foxglove's TypeScript one) refuse such chunks");
    } else {
      pl__doctor_add(d, DC_MESSAGE_INDEX_ABSENT, UINT64_MAX,
                     "%llu of %llu chunks with messages have no MessageIndex records: readers "
                     "must decompress them whole, and some indexed readers refuse them",
                     U(d->chunks_without_mi), U(d->chunks_with_messages));
    }
  }
  if (d->top_level_messages && (d->mis.n || d->n_chunk_index)) {
    pl__doctor_add(d, DC_MESSAGE_OUTSIDE_CHUNK, d->first_top_level_message,
                   "%llu messages outside chunks in a file with chunk or message indexes; indexed "
                   "readers will miss them",
                   U(d->top_level_messages));
  }
  /* What follows compares the summary with the whole data section: only meaningful when the
   * pass read everything. */
  if (!complete) return;
  check_late_schemas(d);
  check_groups(d);
  if (d->n_chunk_index) {
    const struct dr_chunk *c = d->chunks.p;
    uint8_t *schema_warned = calloc(65536, 1);
    if (!schema_warned) {
      d->fatal_oom = 1;
      return;
    }
    for (size_t i = 0; i < d->chunks.n; i++) {
      if (c[i].n_index == 0) {
        pl__doctor_add(d, DC_CHUNK_INDEX_MISSING, c[i].offset,
                       "chunk has no ChunkIndex; indexed readers will not see it");
      }
    }
    size_t n_ids;
    const uint16_t *ids = pl__doctor_used_ids(&d->used_channels, &n_ids);
    for (size_t i = 0; i < n_ids; i++) {
      uint16_t id = ids[i];
      const struct dr_channel *ch = &d->channels[id];
      uint16_t sid = ch->schema_id;
      if (!(ch->flags & SF_IN_CHUNK) || !(ch->flags & SF_DATA)) continue;
      if (!(ch->flags & SF_SUMMARY)) {
        pl__doctor_add(d, DC_SUMMARY_CHANNEL_MISSING, UINT64_MAX,
                       "channel %u has messages in indexed chunks but is not repeated in the "
                       "summary",
                       id);
      }
      if (sid != 0 && (d->schemas[sid].flags & SF_DATA) && !(d->schemas[sid].flags & SF_SUMMARY) &&
          !schema_warned[sid]) {
        schema_warned[sid] = 1;
        pl__doctor_add(d, DC_SUMMARY_SCHEMA_MISSING, UINT64_MAX,
                       "schema %u is used in indexed chunks but not repeated in the summary", sid);
      }
    }
    free(schema_warned);
  }
  if (d->n_attachment_index) {
    const struct dr_att *a = d->atts.p;
    for (size_t i = 0; i < d->atts.n; i++) {
      if (a[i].n_index == 0) {
        pl__doctor_add(d, DC_ATTACHMENT_INDEX_MISSING, a[i].offset,
                       "attachment has no AttachmentIndex; indexed readers will not see it");
      }
    }
  }
  if (d->n_metadata_index) {
    const struct dr_meta *m = d->metas.p;
    for (size_t i = 0; i < d->metas.n; i++) {
      if (m[i].n_index == 0) {
        pl__doctor_add(d, DC_METADATA_INDEX_MISSING, m[i].offset,
                       "metadata record has no MetadataIndex; indexed readers will not see it");
      }
    }
  }
  if (d->have_stats) check_statistics(d);
}
