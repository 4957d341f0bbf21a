/*
 * doctor.c - pl_doctor_run(): the pre-flight check of an MCAP file before an
 * upload, in ONE streamed pass (works on pipes; costs about one streamed
 * read). Every check of the official `mcap doctor` (Go and Rust CLIs) plus
 * those it skips: message index contents, attachment/metadata indexes against
 * their records, summary offsets against their groups, every statistics
 * count, footer offsets and the UTF-8 of every string.
 *
 * How: libmcap's streamed reader walks the top-level records with raw chunks
 * and with all of its own CRC checks off (a CRC mismatch would kill it); the
 * doctor verifies every CRC itself so a bad CRC is a finding and the pass goes
 * on. Chunks are decompressed here (doctor_chunk.c) to walk their records and
 * check the message indexes that follow them. Data-section records that an
 * index may point at (chunks, message indexes, attachments, metadata) are
 * remembered compactly (offset, length, a few fields, hashes of strings), so
 * the summary can be checked against them when it arrives (doctor_summary.c).
 * A record that cannot be parsed or a truncated file ends the pass with a
 * finding; everything found until then is still reported.
 *
 * Finding codes: the table below (stable codes, one fixed severity each, the
 * structural ones marked S for `mcapkit check`). docs/doctor.md explains each
 * code and why it has its severity: an error is data unreadable, wrong or lost
 * for a reader that trusts the file; the layouts widespread writers produce
 * are warnings (DoctorDocs.EveryCodeIsDocumented keeps the two in step).
 *
 * Offsets are file offsets of the record concerned; for a record inside a
 * chunk, the offset of the Chunk (the message gives the byte within it).
 * After a chunk that cannot be read, references to undefined schemas and
 * channels are not reported (their definitions may be in that chunk), nor
 * are the statistics that depend on the chunk's contents (statistics-skipped).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "doctor_internal.h"

#define E PL_SEV_ERROR
#define W PL_SEV_WARNING
#define I PL_SEV_INFO
#define S 1 /* structural: part of `mcapkit check` */

const pl_doctor_code pl__doctor_codes[DC__COUNT] = {
    [DC_MAGIC_LEADING] = {"magic-leading", E, "file does not start with the MCAP magic", S,
                          MCAP_EMAGIC},
    [DC_MAGIC_TRAILING] = {"magic-trailing", E, "no MCAP magic after the footer", S, MCAP_EMAGIC},
    [DC_TRUNCATED] = {"truncated", E, "input ends inside a record or before the footer", S,
                      MCAP_ETRUNCATED},
    [DC_RECORD_MALFORMED] = {"record-malformed", E, "record too short for its fields", S,
                             MCAP_ERECORD},
    [DC_RECORD_TOO_LARGE] = {"record-too-large", E, "record above the 4 GiB safety limit", S,
                             MCAP_ELIMIT},
    [DC_HEADER_MISSING] = {"header-missing", E, "first record is not a Header", S, MCAP_EOPCODE},
    [DC_DUPLICATE_HEADER] = {"duplicate-header", E, "second Header record", S, MCAP_EOPCODE},
    [DC_DUPLICATE_DATA_END] = {"duplicate-data-end", E, "second DataEnd record", S, MCAP_EOPCODE},
    [DC_DATA_END_MISSING] = {"data-end-missing", E, "no DataEnd record", S, MCAP_EOPCODE},
    [DC_FOOTER_MISSING] = {"footer-missing", E, "no Footer record", S, MCAP_ETRUNCATED},
    [DC_TRAILING_BYTES] = {"trailing-bytes", W, "bytes after the trailing magic", S, MCAP_EMAGIC},
    [DC_RECORD_WRONG_SECTION] = {"record-wrong-section", E,
                                 "record in a section (or chunk) where it is not allowed", S,
                                 MCAP_EOPCODE},
    [DC_OPCODE_UNKNOWN] = {"opcode-unknown", W, "reserved opcode unknown to this version", S,
                           MCAP_EOPCODE},
    [DC_OPCODE_PRIVATE] = {"opcode-private", I, "private (0x80-0xFF) record", S, 0},
    [DC_CRC_DATA] = {"crc-data", E, "data section CRC mismatch", S, MCAP_ECRC},
    [DC_CRC_SUMMARY] = {"crc-summary", E, "summary CRC mismatch", S, MCAP_ECRC},
    [DC_CRC_CHUNK] = {"crc-chunk", E, "chunk CRC mismatch", S, MCAP_ECRC},
    [DC_CRC_ATTACHMENT] = {"crc-attachment", E, "attachment CRC mismatch", S, MCAP_ECRC},
    [DC_HEADER_LIBRARY_EMPTY] = {"header-library-empty", W, "Header.library is empty"},
    [DC_HEADER_PROFILE_UNKNOWN] = {"header-profile-unknown", W,
                                   "Header.profile is not a well-known profile"},
    [DC_SCHEMA_ID_ZERO] = {"schema-id-zero", E, "Schema with the reserved id 0"},
    [DC_SCHEMA_CONFLICT] = {"schema-conflict", E, "two different Schemas with one id"},
    [DC_DUPLICATE_SCHEMA] = {"duplicate-schema", I,
                             "identical schema defined again in the data section"},
    [DC_SCHEMA_DATA_WITHOUT_ENCODING] = {"schema-data-without-encoding", E,
                                         "Schema has data but no encoding"},
    [DC_SCHEMA_EMPTY] = {"schema-empty", W, "Schema has neither encoding nor data"},
    [DC_CHANNEL_CONFLICT] = {"channel-conflict", E, "two different Channels with one id"},
    [DC_DUPLICATE_CHANNEL] = {"duplicate-channel", I,
                              "identical channel defined again in the data section"},
    [DC_CHANNEL_UNKNOWN_SCHEMA] = {"channel-unknown-schema", E,
                                   "Channel names a schema not defined before it"},
    [DC_CHANNEL_ENCODING_EMPTY] = {"channel-encoding-empty", E,
                                   "Channel.message_encoding is empty"},
    [DC_SUMMARY_SCHEMA_UNKNOWN] = {"summary-schema-unknown", W,
                                   "Schema only in the summary (a topic without messages)"},
    [DC_SUMMARY_CHANNEL_UNKNOWN] = {"summary-channel-unknown", W,
                                    "Channel only in the summary (a topic without messages)"},
    [DC_SUMMARY_SCHEMA_MISSING] = {"summary-schema-missing", W,
                                   "schema of indexed chunks not repeated in the summary"},
    [DC_SUMMARY_CHANNEL_MISSING] = {"summary-channel-missing", W,
                                    "channel of indexed chunks not repeated in the summary"},
    [DC_MESSAGE_UNKNOWN_CHANNEL] = {"message-unknown-channel", E,
                                    "Message before or without its Channel"},
    [DC_LOG_TIME_ORDER] = {"log-time-order", W, "message log time below an earlier one"},
    [DC_MESSAGE_OUTSIDE_CHUNK] = {"message-outside-chunk", E,
                                  "messages outside chunks in an indexed file"},
    [DC_COMPRESSION_UNKNOWN] = {"compression-unknown", E, "unsupported chunk compression", S,
                                MCAP_ECOMPRESSION},
    [DC_DECOMPRESS] = {"decompress", E, "chunk does not decompress to its declared size", S,
                       MCAP_EDECOMPRESS},
    [DC_CHUNK_TOO_LARGE] = {"chunk-too-large", E,
                            "chunk uncompressed size above the 4 GiB safety limit", S, MCAP_ELIMIT},
    [DC_CHUNK_TIME_RANGE] = {"chunk-time-range", E,
                             "chunk start/end time differ from its messages"},
    [DC_CHUNK_EMPTY_TIME] = {"chunk-empty-time", W,
                             "chunk without messages has non-zero start/end time"},
    [DC_MESSAGE_INDEX_ORPHAN] = {"message-index-orphan", W, "MessageIndex not after a chunk"},
    [DC_DUPLICATE_MESSAGE_INDEX] = {"duplicate-message-index", E,
                                    "two MessageIndex records for one channel of a chunk"},
    [DC_MESSAGE_INDEX_OFFSET] = {"message-index-offset", E,
                                 "MessageIndex entry points at no Message"},
    [DC_MESSAGE_INDEX_CHANNEL] = {"message-index-channel", E,
                                  "MessageIndex entry points at another channel's message"},
    [DC_MESSAGE_INDEX_TIME] = {"message-index-time", E,
                               "MessageIndex entry log time differs from the message's"},
    [DC_MESSAGE_INDEX_ENTRY_MISSING] = {"message-index-entry-missing", E,
                                        "message missing from its channel's MessageIndex"},
    [DC_MESSAGE_INDEX_MISSING] = {"message-index-missing", E,
                                  "indexed chunk has messages on a channel without MessageIndex"},
    [DC_MESSAGE_INDEX_EXTRA] = {"message-index-extra", W,
                                "MessageIndex for a channel without messages in the chunk"},
    [DC_MESSAGE_INDEX_ABSENT] = {"message-index-absent", W,
                                 "chunks with messages but no message indexes"},
    [DC_CHUNK_INDEX_OFFSET] = {"chunk-index-offset", E, "ChunkIndex points at no Chunk"},
    [DC_CHUNK_INDEX_MISMATCH] = {"chunk-index-mismatch", E,
                                 "ChunkIndex field differs from its chunk"},
    [DC_CHUNK_INDEX_MISSING] = {"chunk-index-missing", E, "chunk without ChunkIndex"},
    [DC_DUPLICATE_CHUNK_INDEX] = {"duplicate-chunk-index", E, "two ChunkIndexes for one chunk"},
    [DC_ATTACHMENT_INDEX_OFFSET] = {"attachment-index-offset", E,
                                    "AttachmentIndex points at no Attachment"},
    [DC_ATTACHMENT_INDEX_MISMATCH] = {"attachment-index-mismatch", E,
                                      "AttachmentIndex field differs from its attachment"},
    [DC_ATTACHMENT_INDEX_MISSING] = {"attachment-index-missing", E,
                                     "attachment without AttachmentIndex"},
    [DC_DUPLICATE_ATTACHMENT_INDEX] = {"duplicate-attachment-index", E,
                                       "two AttachmentIndexes for one attachment"},
    [DC_METADATA_INDEX_OFFSET] = {"metadata-index-offset", E,
                                  "MetadataIndex points at no Metadata"},
    [DC_METADATA_INDEX_MISMATCH] = {"metadata-index-mismatch", E,
                                    "MetadataIndex field differs from its record"},
    [DC_METADATA_INDEX_MISSING] = {"metadata-index-missing", E, "Metadata without MetadataIndex"},
    [DC_DUPLICATE_METADATA_INDEX] = {"duplicate-metadata-index", E,
                                     "two MetadataIndexes for one Metadata"},
    [DC_DUPLICATE_STATISTICS] = {"duplicate-statistics", E, "more than one Statistics record"},
    [DC_STATISTICS_MESSAGE_COUNT] = {"statistics-message-count", E,
                                     "Statistics.message_count wrong"},
    [DC_STATISTICS_TIME_RANGE] = {"statistics-time-range", E, "Statistics start/end time wrong"},
    [DC_STATISTICS_START_ZERO] = {"statistics-start-zero", W,
                                  "Statistics start skips log time 0 (writer took 0 as unset)"},
    [DC_STATISTICS_CHANNEL_MESSAGES] = {"statistics-channel-messages", E,
                                        "per-channel message count wrong"},
    [DC_STATISTICS_SCHEMA_COUNT] = {"statistics-schema-count", E, "Statistics.schema_count wrong"},
    [DC_STATISTICS_CHANNEL_COUNT] = {"statistics-channel-count", E,
                                     "Statistics.channel_count wrong"},
    [DC_STATISTICS_ATTACHMENT_COUNT] = {"statistics-attachment-count", E,
                                        "Statistics.attachment_count wrong"},
    [DC_STATISTICS_METADATA_COUNT] = {"statistics-metadata-count", E,
                                      "Statistics.metadata_count wrong"},
    [DC_STATISTICS_CHUNK_COUNT] = {"statistics-chunk-count", E, "Statistics.chunk_count wrong"},
    [DC_STATISTICS_CHANNELS_MISSING] = {"statistics-channels-missing", W,
                                        "per-channel counts without all Channels before them"},
    [DC_STATISTICS_SKIPPED] = {"statistics-skipped", I,
                               "statistics not fully checked (unreadable chunk)"},
    [DC_SUMMARY_OFFSET_START] = {"summary-offset-start", E,
                                 "SummaryOffset.group_start is not a summary record"},
    [DC_SUMMARY_OFFSET_OPCODE] = {"summary-offset-opcode", E,
                                  "summary group holds records of another opcode"},
    [DC_SUMMARY_OFFSET_LENGTH] = {"summary-offset-length", E,
                                  "SummaryOffset.group_length does not cover the group"},
    [DC_DUPLICATE_SUMMARY_OFFSET] = {"duplicate-summary-offset", W,
                                     "two SummaryOffsets for one opcode"},
    [DC_SUMMARY_GROUP_SPLIT] = {"summary-group-split", W,
                                "records of one opcode not contiguous in the summary"},
    [DC_FOOTER_SUMMARY_START] = {"footer-summary-start", E,
                                 "Footer.summary_start is not the summary start"},
    [DC_FOOTER_SUMMARY_OFFSET_START] = {"footer-summary-offset-start", E,
                                        "Footer.summary_offset_start is not the first "
                                        "SummaryOffset"},
    [DC_UTF8_INVALID] = {"utf8-invalid", E, "string field is not valid UTF-8"},
    [DC_FINDINGS_OMITTED] = {"findings-omitted", I, "more findings than kept", S, 0},
};

#undef E
#undef W
#undef I
#undef S

#define DEFAULT_MAX_FINDINGS 1000
#define PROGRESS_STEP (4u << 20) /* bytes between progress calls */

/* ------------------------------------------------------------ public helpers */

const pl_doctor_code *pl_doctor_codes(size_t *n) {
  if (n) *n = DC__COUNT;
  return pl__doctor_codes;
}

int pl_doctor_report_ok(const pl_doctor_report *r, int strict) {
  if (!r) return 0;
  return r->n_errors == 0 && (!strict || r->n_warnings == 0);
}

void pl_doctor_report_free(pl_doctor_report *r) {
  if (!r) return;
  free(r->findings);
  free(r);
}

/* ------------------------------------------------------------------ findings */

void pl__doctor_add(struct doctor *d, enum dc_code code, uint64_t offset, const char *fmt, ...) {
  pl_doctor_report *r = d->rep;
  const pl_doctor_code *c = &pl__doctor_codes[code];
  size_t max = (size_t)d->o.max_findings;
  pl_finding *f;
  va_list ap;

  if (d->o.structural_only && !c->structural) return;
  switch (c->severity) {
    case PL_SEV_ERROR:
      r->n_errors++;
      break;
    case PL_SEV_WARNING:
      r->n_warnings++;
      break;
    case PL_SEV_INFO:
      r->n_infos++;
      break;
  }
  /* One flooding code must not crowd out the others; the omitted note is always kept. */
  if (code != DC_FINDINGS_OMITTED &&
      (r->n_findings >= max || d->kept_per_code[code] >= d->per_code_cap)) {
    d->omitted++;
    return;
  }
  if ((r->n_findings & (r->n_findings - 1)) == 0) { /* grow at powers of two */
    size_t cap = r->n_findings ? r->n_findings * 2 : 16;
    pl_finding *p = realloc(r->findings, cap * sizeof *p);
    if (!p) {
      d->fatal_oom = 1;
      return;
    }
    r->findings = p;
  }
  f = &r->findings[r->n_findings++];
  d->kept_per_code[code]++;
  memset(f, 0, sizeof *f);
  f->severity = c->severity;
  snprintf(f->code, sizeof f->code, "%s", c->code);
  f->offset = offset;
  va_start(ap, fmt);
  vsnprintf(f->message, sizeof f->message, fmt, ap);
  va_end(ap);
}

int pl__dvec_push(struct doctor *d, struct dvec *v, const void *elem) {
  if (v->n == v->cap) {
    size_t cap = v->cap ? v->cap * 2 : 64;
    void *p = realloc(v->p, cap * v->elem);
    if (!p) {
      d->fatal_oom = 1;
      return -1;
    }
    v->p = p;
    v->cap = cap;
  }
  memcpy((uint8_t *)v->p + v->n * v->elem, elem, v->elem);
  v->n++;
  return 0;
}

/* A table of 65,536 entries of zeroed pages, touched only where used (NULL: no memory). */
#define TABLE_SIZE(t) ((size_t)65536 * sizeof *(t))
static void *table_new(size_t size) {
  void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return p == MAP_FAILED ? NULL : p;
}

/* The first use of an id puts it on its table's list of ids in use. */
static void note_used(struct doctor *d, uint8_t *listed, struct dvec *used, uint16_t id) {
  if (!*listed) {
    *listed = 1;
    pl__dvec_push(d, used, &id);
  }
}

struct dr_schema *pl__doctor_schema_at(struct doctor *d, uint16_t id) {
  note_used(d, &d->schemas[id].listed, &d->used_schemas, id);
  return &d->schemas[id];
}

struct dr_channel *pl__doctor_channel_at(struct doctor *d, uint16_t id) {
  note_used(d, &d->channels[id].listed, &d->used_channels, id);
  return &d->channels[id];
}

static int cmp_u16(const void *a, const void *b) {
  uint16_t x = *(const uint16_t *)a, y = *(const uint16_t *)b;
  return (x > y) - (x < y);
}

const uint16_t *pl__doctor_used_ids(struct dvec *v, size_t *n) {
  if (v->n > 1) qsort(v->p, v->n, sizeof(uint16_t), cmp_u16);
  *n = v->n;
  return v->p;
}

/* FNV-1a, 64 bits: strings are compared by hash (a collision would hide a difference, at
 * odds of 2^-64, in exchange for not keeping every string of the file). */
uint64_t pl__doctor_fnv(const void *p, size_t n) {
  const uint8_t *b = p;
  uint64_t h = UINT64_C(0xcbf29ce484222325);
  for (size_t i = 0; i < n; i++) {
    h ^= b[i];
    h *= UINT64_C(0x100000001b3);
  }
  return h;
}

uint64_t pl__hash_str(mcap_str s) {
  return pl__doctor_fnv(s.data, s.len);
}

/* Order-insensitive hash of a Map<string,string> (maps with the same entries are equal). */
static uint64_t hash_str_map(const mcap_map *m) {
  mcap_map_iter it = {0};
  mcap_str k, v;
  uint64_t h = (uint64_t)m->len * UINT64_C(0x9E3779B97F4A7C15);
  while (mcap_map_next_str(m, &it, &k, &v) == MCAP_OK) {
    uint64_t e = pl__hash_str(k) ^ (pl__hash_str(v) * UINT64_C(0xff51afd7ed558ccd));
    e ^= e >> 33;
    h += e * UINT64_C(0xc4ceb9fe1a85ec53);
  }
  return h;
}

const char *pl__printable(char *buf, size_t cap, mcap_str s) {
  size_t n = 0;
  uint32_t i;
  for (i = 0; i < s.len && i < 48 && n + 4 < cap; i++) {
    unsigned char ch = (unsigned char)s.data[i];
    buf[n++] = (ch >= 0x20 && ch < 0x7f) ? (char)ch : '?';
  }
  if (i < s.len && n + 4 <= cap) {
    memcpy(buf + n, "...", 3);
    n += 3;
  }
  buf[n] = '\0';
  return buf;
}

/* Index of the first byte that is not valid UTF-8, or -1 (overlongs, surrogates and code
 * points above U+10FFFF are invalid). */
static int64_t utf8_bad(const uint8_t *p, uint64_t n) {
  uint64_t i = 0;
  while (i < n) {
    uint8_t c = p[i];
    uint64_t need;
    uint32_t cp;
    if (c < 0x80) {
      i++;
      continue;
    }
    if (c >= 0xC2 && c <= 0xDF) {
      need = 1;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      need = 2;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      need = 3;
      cp = c & 0x07;
    } else {
      return (int64_t)i;
    }
    if (n - i <= need) return (int64_t)i;
    for (uint64_t k = 1; k <= need; k++) {
      if ((p[i + k] & 0xC0) != 0x80) return (int64_t)i;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    if ((need == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
        (need == 3 && (cp < 0x10000 || cp > 0x10FFFF))) {
      return (int64_t)i;
    }
    i += need + 1;
  }
  return -1;
}

void pl__check_utf8(struct doctor *d, mcap_str s, const char *what, uint64_t offset) {
  int64_t bad;
  if (s.len == 0) return;
  bad = utf8_bad((const uint8_t *)s.data, s.len);
  if (bad >= 0) {
    char buf[64];
    pl__doctor_add(d, DC_UTF8_INVALID, offset, "%s is not valid UTF-8 (byte %lld): '%s'", what,
                   (long long)bad, pl__printable(buf, sizeof buf, s));
  }
}

void pl__check_utf8_map(struct doctor *d, const mcap_map *m, const char *what, uint64_t offset) {
  mcap_map_iter it = {0};
  mcap_str k, v;
  char buf[96];
  while (mcap_map_next_str(m, &it, &k, &v) == MCAP_OK) {
    snprintf(buf, sizeof buf, "%s key", what);
    pl__check_utf8(d, k, buf, offset);
    snprintf(buf, sizeof buf, "%s value", what);
    pl__check_utf8(d, v, buf, offset);
  }
}

/* ---------------------------------------------------- schemas and channels */

/* Content checks of a Schema; skipped for an identical repeat (reported once). */
static void schema_content(struct doctor *d, const mcap_schema *s, uint64_t offset,
                           const char *name) {
  pl__check_utf8(d, s->name, "Schema.name", offset);
  pl__check_utf8(d, s->encoding, "Schema.encoding", offset);
  if (s->encoding.len == 0) {
    if (s->data.len) {
      pl__doctor_add(d, DC_SCHEMA_DATA_WITHOUT_ENCODING, offset,
                     "schema %u '%s' has empty encoding but %llu bytes of data", s->id, name,
                     (unsigned long long)s->data.len);
    } else {
      pl__doctor_add(d, DC_SCHEMA_EMPTY, offset,
                     "schema %u '%s' has empty encoding and data (use schema id 0 instead)", s->id,
                     name);
    }
  }
}

void pl__doctor_schema(struct doctor *d, const mcap_schema *s, uint64_t offset, int in_chunk) {
  int in_summary = !in_chunk && d->section != SEC_DATA;
  struct dr_schema *e;
  uint64_t nh, eh, dh;
  char name[64];

  pl__printable(name, sizeof name, s->name);
  if (s->id == 0) {
    schema_content(d, s, offset, name);
    pl__doctor_add(d, DC_SCHEMA_ID_ZERO, offset,
                   "schema '%s' has the reserved id 0; readers ignore it", name);
    return;
  }
  e = pl__doctor_schema_at(d, s->id);
  nh = pl__hash_str(s->name);
  eh = pl__hash_str(s->encoding);
  dh = pl__doctor_fnv(s->data.data, (size_t)s->data.len);
  if (e->flags & (SF_DATA | SF_SUMMARY)) {
    const char *what = e->name_hash != nh       ? "name"
                       : e->encoding_hash != eh ? "encoding"
                       : e->data_hash != dh     ? "data"
                                                : NULL;
    if (what) {
      schema_content(d, s, offset, name);
      pl__doctor_add(d, DC_SCHEMA_CONFLICT, offset,
                     "schema %u '%s' differs in its %s from an earlier Schema with this id", s->id,
                     name, what);
    }
  } else {
    schema_content(d, s, offset, name);
    e->name_hash = nh;
    e->encoding_hash = eh;
    e->data_hash = dh;
    d->n_schemas++;
  }
  if (in_summary) {
    /* After an unreadable chunk the definition may have been in it: say nothing. */
    if (!(e->flags & SF_DATA) && !d->contents_incomplete) {
      pl__doctor_add(d, DC_SUMMARY_SCHEMA_UNKNOWN, offset,
                     "schema %u '%s' is defined in the summary only (for a topic without "
                     "messages, as rosbag2 writes them); streamed readers do not see it",
                     s->id, name);
    }
    e->flags |= SF_SUMMARY;
  } else {
    if ((e->flags & SF_DATA) && !(e->flags & SF_DUP_WARNED)) {
      e->flags |= SF_DUP_WARNED;
      pl__doctor_add(d, DC_DUPLICATE_SCHEMA, offset, "schema %u defined again in the data section",
                     s->id);
    }
    e->flags |= SF_DATA;
  }
}

/* Content checks of a Channel; skipped for an identical repeat (reported once). A channel
 * of the summary may use a schema the summary defined before it (what indexed readers see). */
static void channel_content(struct doctor *d, const mcap_channel *c, uint64_t offset,
                            const char *topic, int in_summary) {
  pl__check_utf8(d, c->topic, "Channel.topic", offset);
  pl__check_utf8(d, c->message_encoding, "Channel.message_encoding", offset);
  pl__check_utf8_map(d, &c->metadata, "Channel.metadata", offset);
  if (c->message_encoding.len == 0) {
    pl__doctor_add(d, DC_CHANNEL_ENCODING_EMPTY, offset,
                   "channel %u '%s' has an empty message_encoding: no reader can tell how to "
                   "decode its messages",
                   c->id, topic);
  }
  if (c->schema_id == 0 || (pl__doctor_schema_at(d, c->schema_id)->flags & SF_DATA) ||
      d->contents_incomplete)
    return;
  if (in_summary) {
    struct dr_late l;
    l.offset = offset;
    l.channel = c->id;
    l.schema = c->schema_id;
    pl__dvec_push(d, &d->late_schema, &l);
    return;
  }
  pl__doctor_add(d, DC_CHANNEL_UNKNOWN_SCHEMA, offset,
                 "channel %u '%s' uses schema %u, which is not defined before it; streamed "
                 "readers cannot decode its messages",
                 c->id, topic, c->schema_id);
}

void pl__doctor_channel(struct doctor *d, const mcap_channel *c, uint64_t offset, int in_chunk) {
  int in_summary = !in_chunk && d->section != SEC_DATA;
  struct dr_channel *e = pl__doctor_channel_at(d, c->id);
  uint64_t th, eh, mh;
  char topic[64];

  pl__printable(topic, sizeof topic, c->topic);
  th = pl__hash_str(c->topic);
  eh = pl__hash_str(c->message_encoding);
  mh = hash_str_map(&c->metadata);
  if (e->flags & (SF_DATA | SF_SUMMARY)) {
    const char *what = e->schema_id != c->schema_id ? "schema id"
                       : e->topic_hash != th        ? "topic"
                       : e->encoding_hash != eh     ? "message encoding"
                       : e->metadata_hash != mh     ? "metadata"
                                                    : NULL;
    if (what) {
      channel_content(d, c, offset, topic, in_summary);
      pl__doctor_add(d, DC_CHANNEL_CONFLICT, offset,
                     "channel %u '%s' differs in its %s from an earlier Channel with this id",
                     c->id, topic, what);
    }
  } else {
    channel_content(d, c, offset, topic, in_summary);
    e->topic_hash = th;
    e->encoding_hash = eh;
    e->metadata_hash = mh;
    e->schema_id = c->schema_id;
    d->n_channels++;
  }
  if (in_summary) {
    if (!(e->flags & SF_DATA) && !d->contents_incomplete) {
      pl__doctor_add(d, DC_SUMMARY_CHANNEL_UNKNOWN, offset,
                     "channel %u '%s' is defined in the summary only (a topic without messages, "
                     "as rosbag2 writes them); streamed readers do not list it",
                     c->id, topic);
    }
    if (!(e->flags & SF_SUMMARY)) {
      d->n_channels_summary++;
      if (!d->have_stats) d->n_channels_summary_before_stats++;
    }
    e->flags |= SF_SUMMARY;
  } else {
    if ((e->flags & SF_DATA) && !(e->flags & SF_DUP_WARNED)) {
      e->flags |= SF_DUP_WARNED;
      pl__doctor_add(d, DC_DUPLICATE_CHANNEL, offset,
                     "channel %u defined again in the data section", c->id);
    }
    e->flags |= SF_DATA;
  }
}

void pl__doctor_message(struct doctor *d, const mcap_message *m, uint64_t offset, int in_chunk) {
  struct dr_channel *ch = pl__doctor_channel_at(d, m->channel_id);
  d->messages++;
  d->rep->messages++;
  if (!(ch->flags & SF_DATA) && !d->contents_incomplete) {
    pl__doctor_add(d, DC_MESSAGE_UNKNOWN_CHANNEL, offset,
                   "message on channel %u (log time %llu) before any Channel record for it",
                   m->channel_id, (unsigned long long)m->log_time);
  }
  ch->messages++;
  if (d->messages > 1 && m->log_time < d->max_log_time) {
    pl__doctor_add(d, DC_LOG_TIME_ORDER, offset,
                   "message on channel %u has log time %llu, below the latest log time %llu",
                   m->channel_id, (unsigned long long)m->log_time,
                   (unsigned long long)d->max_log_time);
  }
  if (d->messages == 1 || m->log_time < d->min_log_time) d->min_log_time = m->log_time;
  if (m->log_time != 0 && (d->min_nonzero_log_time == 0 || m->log_time < d->min_nonzero_log_time))
    d->min_nonzero_log_time = m->log_time;
  if (d->messages == 1 || m->log_time > d->max_log_time) d->max_log_time = m->log_time;
  if (!in_chunk && d->top_level_messages++ == 0) d->first_top_level_message = offset;
}

/* ------------------------------------------------------------ top level */

static void on_header(struct doctor *d, const mcap_record *rec) {
  const mcap_header *h = &rec->u.header;
  char buf[64];
  d->saw_header = 1;
  pl__check_utf8(d, h->profile, "Header.profile", rec->offset);
  pl__check_utf8(d, h->library, "Header.library", rec->offset);
  if (h->library.len == 0) {
    pl__doctor_add(d, DC_HEADER_LIBRARY_EMPTY, rec->offset,
                   "Header.library is empty; set it to the software that wrote the file");
  }
  if (h->profile.len != 0 && !(h->profile.len == 4 && (memcmp(h->profile.data, "ros1", 4) == 0 ||
                                                       memcmp(h->profile.data, "ros2", 4) == 0))) {
    pl__doctor_add(d, DC_HEADER_PROFILE_UNKNOWN, rec->offset,
                   "Header.profile '%s' is not a well-known profile",
                   pl__printable(buf, sizeof buf, h->profile));
  }
}

static void on_attachment(struct doctor *d, const mcap_record *rec) {
  const mcap_attachment *a = &rec->u.attachment;
  struct dr_att e;
  char name[64];
  pl__check_utf8(d, a->name, "Attachment.name", rec->offset);
  pl__check_utf8(d, a->media_type, "Attachment.media_type", rec->offset);
  if (a->crc == 0) d->rep->crcs_absent++;
  if (a->crc != 0) {
    /* The CRC covers log_time through the last data byte (not any extension bytes). */
    d->rep->crcs_checked++;
    size_t covered = (size_t)(a->data.data + a->data.len - rec->content.data);
    uint32_t crc = mcap_crc32(0, rec->content.data, covered);
    if (crc != a->crc) {
      pl__doctor_add(d, DC_CRC_ATTACHMENT, rec->offset,
                     "attachment '%s' CRC mismatch: stored 0x%08x, computed 0x%08x",
                     pl__printable(name, sizeof name, a->name), a->crc, crc);
    }
  }
  memset(&e, 0, sizeof e);
  e.offset = rec->offset;
  e.length = MCAP_RECORD_HEADER_SIZE + rec->content.len;
  e.log_time = a->log_time;
  e.create_time = a->create_time;
  e.data_size = a->data.len;
  e.name_hash = pl__hash_str(a->name);
  e.media_type_hash = pl__hash_str(a->media_type);
  pl__dvec_push(d, &d->atts, &e);
}

static void on_metadata(struct doctor *d, const mcap_record *rec) {
  const mcap_metadata *m = &rec->u.metadata;
  struct dr_meta e;
  pl__check_utf8(d, m->name, "Metadata.name", rec->offset);
  pl__check_utf8_map(d, &m->metadata, "Metadata.metadata", rec->offset);
  memset(&e, 0, sizeof e);
  e.offset = rec->offset;
  e.length = MCAP_RECORD_HEADER_SIZE + rec->content.len;
  e.name_hash = pl__hash_str(m->name);
  pl__dvec_push(d, &d->metas, &e);
}

static int is_summary_only(uint8_t op) {
  return op == MCAP_OP_CHUNK_INDEX || op == MCAP_OP_ATTACHMENT_INDEX ||
         op == MCAP_OP_METADATA_INDEX || op == MCAP_OP_STATISTICS || op == MCAP_OP_SUMMARY_OFFSET;
}

static const char *section_name(enum section s) {
  switch (s) {
    case SEC_DATA:
      return "data section";
    case SEC_SUMMARY:
      return "summary section";
    case SEC_SUMMARY_OFFSETS:
      return "summary offset section";
  }
  return "?";
}

static void wrong_section(struct doctor *d, const mcap_record *rec) {
  pl__doctor_add(d, DC_RECORD_WRONG_SECTION, rec->offset, "%s record in the %s",
                 mcap_opcode_name(rec->opcode), section_name(d->section));
}

static void on_unknown_opcode(struct doctor *d, uint8_t op, uint64_t offset, const char *where) {
  if (op >= 0x80) {
    pl__doctor_add(d, DC_OPCODE_PRIVATE, offset, "private record (opcode 0x%02x)%s", op, where);
  } else {
    pl__doctor_add(d, DC_OPCODE_UNKNOWN, offset, "unknown record opcode 0x%02x%s", op, where);
  }
}

/* The bytes of a record's envelope, for the CRCs (the reader hands out the content only). */
static uint32_t crc_record(uint32_t crc, const mcap_record *rec) {
  uint8_t env[MCAP_RECORD_HEADER_SIZE];
  uint64_t len = rec->content.len;
  env[0] = rec->opcode;
  for (int i = 0; i < 8; i++) env[1 + i] = (uint8_t)(len >> (8 * i));
  crc = mcap_crc32(crc, env, sizeof env);
  return mcap_crc32(crc, rec->content.data, (size_t)len);
}

static void on_record(struct doctor *d, const mcap_record *rec) {
  uint8_t op = rec->opcode;
  uint64_t off = rec->offset;
  d->rep->records++;

  if (op != MCAP_OP_MESSAGE_INDEX && d->open_chunk != NO_CHUNK) pl__doctor_close_chunk(d);

  /* A writer that forgot DataEnd: the summary starts with its first summary-only record. */
  if (d->section == SEC_DATA && !d->saw_data_end && is_summary_only(op)) {
    d->section = SEC_SUMMARY;
    d->implicit_summary = 1;
  }

  /* CRCs: the data section up to DataEnd; then the summary through the footer. */
  if (op != MCAP_OP_FOOTER && op != MCAP_OP_DATA_END) {
    if (!d->saw_data_end && !d->implicit_summary) {
      d->data_crc = crc_record(d->data_crc, rec);
    } else if (d->saw_data_end) {
      d->summary_crc = crc_record(d->summary_crc, rec);
    }
  }

  /* Remember the layout of the summary and summary-offset sections. */
  if (d->section != SEC_DATA && op != MCAP_OP_FOOTER) {
    struct dr_sum s;
    if (d->first_summary_offset == UINT64_MAX && op != MCAP_OP_SUMMARY_OFFSET) {
      d->first_summary_offset = off;
    }
    if (op == MCAP_OP_SUMMARY_OFFSET && d->section == SEC_SUMMARY) {
      d->section = SEC_SUMMARY_OFFSETS;
      d->first_summary_offset_record = off;
    }
    if (d->section == SEC_SUMMARY_OFFSETS && op != MCAP_OP_SUMMARY_OFFSET) {
      wrong_section(d, rec);
    }
    s.offset = off;
    s.length = MCAP_RECORD_HEADER_SIZE + rec->content.len;
    s.opcode = op;
    pl__dvec_push(d, &d->sums, &s);
  }

  switch (op) {
    case MCAP_OP_HEADER:
      on_header(d, rec);
      break;
    case MCAP_OP_SCHEMA:
      pl__doctor_schema(d, &rec->u.schema, off, 0);
      break;
    case MCAP_OP_CHANNEL:
      pl__doctor_channel(d, &rec->u.channel, off, 0);
      break;
    case MCAP_OP_MESSAGE:
      if (d->section != SEC_DATA) {
        wrong_section(d, rec);
        break;
      }
      pl__doctor_message(d, &rec->u.message, off, 0);
      break;
    case MCAP_OP_CHUNK:
      if (d->section != SEC_DATA) {
        wrong_section(d, rec);
        break;
      }
      pl__doctor_chunk(d, rec);
      break;
    case MCAP_OP_MESSAGE_INDEX:
      if (d->section != SEC_DATA) {
        wrong_section(d, rec);
        break;
      }
      pl__doctor_message_index(d, rec);
      break;
    case MCAP_OP_ATTACHMENT:
      if (d->section != SEC_DATA) {
        wrong_section(d, rec);
        break;
      }
      on_attachment(d, rec);
      break;
    case MCAP_OP_METADATA:
      if (d->section != SEC_DATA) {
        wrong_section(d, rec);
        break;
      }
      on_metadata(d, rec);
      break;
    case MCAP_OP_DATA_END: {
      uint32_t want = rec->u.data_end.data_section_crc;
      if (want == 0)
        d->rep->crcs_absent++;
      else if (!d->implicit_summary)
        d->rep->crcs_checked++;
      if (d->implicit_summary) {
        pl__doctor_add(d, DC_RECORD_WRONG_SECTION, off,
                       "DataEnd record after summary records (the data section ended before it)");
      } else if (want != 0 && want != d->data_crc) {
        pl__doctor_add(d, DC_CRC_DATA, off,
                       "data section CRC mismatch: stored 0x%08x, computed 0x%08x", want,
                       d->data_crc);
      }
      d->saw_data_end = 1;
      d->section = SEC_SUMMARY;
      d->data_end_next = off + MCAP_RECORD_HEADER_SIZE + rec->content.len;
      d->summary_crc = 0;
      break;
    }
    case MCAP_OP_CHUNK_INDEX:
      pl__doctor_chunk_index(d, rec);
      break;
    case MCAP_OP_ATTACHMENT_INDEX:
      pl__doctor_attachment_index(d, rec);
      break;
    case MCAP_OP_METADATA_INDEX:
      pl__doctor_metadata_index(d, rec);
      break;
    case MCAP_OP_STATISTICS:
      pl__doctor_statistics(d, rec);
      break;
    case MCAP_OP_SUMMARY_OFFSET:
      pl__doctor_summary_offset(d, rec);
      break;
    case MCAP_OP_FOOTER:
      pl__doctor_footer(d, rec);
      break;
    default:
      on_unknown_opcode(d, op, off, "");
      break;
  }
  d->last_opcode = op;
}

/* ------------------------------------------------------------ the source tap */

static int tap_read(void *payload, uint64_t offset, uint64_t len, const uint8_t **out,
                    uint64_t *got, mcap_error_info *err) {
  struct dr_tap *t = payload;
  int rc = t->inner.read(t->inner.payload, offset, len, out, got, err);
  if (rc == MCAP_OK && offset<sizeof t->head && * got> 0) {
    /* Keep the leading magic: the reader is told not to check it, the doctor does. */
    uint64_t n = *got;
    if (n > sizeof t->head - offset) n = sizeof t->head - offset;
    memcpy(t->head + offset, *out, (size_t)n);
    if (offset + n > t->head_len) t->head_len = (uint32_t)(offset + n);
  }
  return rc;
}

static void tap_close(void *payload) {
  struct dr_tap *t = payload;
  mcap_source_close(&t->inner);
}

/* Read up to n (<= 8) bytes at off into buf, however the source hands them out. */
static uint64_t tap_peek(struct doctor *d, uint64_t off, uint8_t *buf, uint64_t n) {
  uint64_t have = 0;
  while (have < n) {
    const uint8_t *p = NULL;
    uint64_t got = 0;
    mcap_error_info e;
    memset(&e, 0, sizeof e);
    if (d->tap.inner.read(d->tap.inner.payload, off + have, n - have, &p, &got, &e) != MCAP_OK ||
        got == 0) {
      break;
    }
    if (got > n - have) got = n - have;
    memcpy(buf + have, p, (size_t)got);
    have += got;
  }
  return have;
}

/* After the Footer: the trailing magic and anything behind it. */
static void check_tail(struct doctor *d, uint64_t footer_offset) {
  uint8_t magic[MCAP_MAGIC_SIZE], extra;
  uint64_t at = footer_offset + MCAP_FOOTER_RECORD_SIZE;
  if (tap_peek(d, at, magic, sizeof magic) < sizeof magic) {
    pl__doctor_add(d, DC_MAGIC_TRAILING, at, "trailing magic missing");
    return;
  }
  if (memcmp(magic, MCAP_MAGIC, MCAP_MAGIC_SIZE) != 0) {
    pl__doctor_add(d, DC_MAGIC_TRAILING, at, "bad trailing magic after the Footer");
  }
  at += MCAP_MAGIC_SIZE;
  if (tap_peek(d, at, &extra, 1) == 1) {
    if (d->tap.inner.size != MCAP_SIZE_UNKNOWN && d->tap.inner.size > at) {
      pl__doctor_add(d, DC_TRAILING_BYTES, at, "%llu bytes after the trailing magic",
                     (unsigned long long)(d->tap.inner.size - at));
    } else {
      pl__doctor_add(d, DC_TRAILING_BYTES, at, "data after the trailing magic");
    }
  }
}

static void check_leading_magic(struct doctor *d) {
  const uint8_t *h = d->tap.head;
  if (d->tap.head_len < MCAP_MAGIC_SIZE) return; /* the reader reports the truncation */
  if (memcmp(h, MCAP_MAGIC, MCAP_MAGIC_SIZE) == 0) return;
  if (memcmp(h, MCAP_MAGIC, 5) == 0 && h[5] != '0' && memcmp(h + 6, "\r\n", 2) == 0) {
    pl__doctor_add(d, DC_MAGIC_LEADING, 0, "unsupported MCAP major version '%c'",
                   h[5] >= 0x20 && h[5] < 0x7f ? h[5] : '?');
  } else {
    pl__doctor_add(d, DC_MAGIC_LEADING, 0,
                   "not an MCAP file: leading bytes %02x %02x %02x %02x %02x %02x %02x %02x", h[0],
                   h[1], h[2], h[3], h[4], h[5], h[6], h[7]);
  }
}

/* Turn the reader's fatal error into the finding that ends the pass. */
static void reader_error(struct doctor *d, mcap_stream_reader *r, int rc) {
  uint64_t at = mcap_stream_reader_error_offset(r);
  const char *msg = mcap_stream_reader_errmsg(r);
  enum dc_code code;
  switch (rc) {
    case MCAP_ETRUNCATED:
      code = DC_TRUNCATED;
      break;
    case MCAP_ELIMIT:
      code = DC_RECORD_TOO_LARGE;
      break;
    case MCAP_EOPCODE:
      /* The reader's opcode errors: no Header first, a second Header, a second DataEnd. */
      if (!d->saw_header) {
        code = DC_HEADER_MISSING;
      } else if (!d->saw_data_end || strstr(msg, "Header") != NULL) {
        code = DC_DUPLICATE_HEADER;
      } else {
        code = DC_DUPLICATE_DATA_END;
      }
      break;
    default:
      code = DC_RECORD_MALFORMED;
      break;
  }
  pl__doctor_add(d, code, at, "%s; the check stops here", msg[0] ? msg : mcap_strerror(rc));
}

static void set_err(pl_error_info *err, int code, int mcap_code, uint64_t offset, const char *msg) {
  if (!err) return;
  memset(err, 0, sizeof *err);
  err->code = code;
  err->mcap_code = mcap_code;
  err->offset = offset;
  snprintf(err->msg, sizeof err->msg, "%s", msg);
}

static void doctor_free(struct doctor *d) {
  if (!d) return;
  mcap_decompressor_free(d->dec);
  free(d->cbuf);
  if (d->schemas) munmap(d->schemas, TABLE_SIZE(d->schemas));
  if (d->channels) munmap(d->channels, TABLE_SIZE(d->channels));
  free(d->used_schemas.p);
  free(d->used_channels.p);
  free(d->chunks.p);
  free(d->mis.p);
  free(d->atts.p);
  free(d->metas.p);
  free(d->sums.p);
  free(d->late_schema.p);
  free(d->msgs.p);
  free(d->cur_channels.p);
  free(d->stats_map);
  pl_doctor_report_free(d->rep);
  free(d);
}

int pl_doctor_run(mcap_source *src, const pl_doctor_options *o, pl_doctor_report **out,
                  pl_error_info *err) {
  return pl_doctor_run_fed(src, o, NULL, out, err);
}

static int doctor_run(mcap_source *src, const pl_doctor_options *o, pl_feed *feed,
                      pl_doctor_report **out, pl_error_info *err);

int pl_doctor_run_fed(mcap_source *src, const pl_doctor_options *o, pl_feed *feed,
                      pl_doctor_report **out, pl_error_info *err) {
  int rc = doctor_run(src, o, feed, out, err);
  if (feed) pl_feed_close(feed); /* the producer must not wait for a doctor that is gone */
  return rc;
}

static int doctor_run(mcap_source *src, const pl_doctor_options *o, pl_feed *feed,
                      pl_doctor_report **out, pl_error_info *err) {
  struct doctor *d = NULL;
  mcap_stream_reader *r = NULL;
  mcap_reader_options ro;
  mcap_source tapped;
  mcap_record rec;
  int rc, complete = 0, first = 1;
  uint64_t progress_at = 0;

  set_err(err, PL_OK, 0, UINT64_MAX, "");
  if (out) *out = NULL;
  if (!out || !src || !src->read) {
    if (src) mcap_source_close(src);
    set_err(err, PL_EINVAL, 0, UINT64_MAX, "invalid argument to pl_doctor_run");
    return PL_EINVAL;
  }
  d = calloc(1, sizeof *d);
  if (d) {
    d->rep = calloc(1, sizeof *d->rep);
    d->schemas = table_new(TABLE_SIZE(d->schemas));
    d->channels = table_new(TABLE_SIZE(d->channels));
  }
  if (!d || !d->rep || !d->schemas || !d->channels || mcap_decompressor_new(&d->dec) != MCAP_OK) {
    doctor_free(d);
    mcap_source_close(src);
    set_err(err, PL_ENOMEM, 0, UINT64_MAX, "out of memory");
    return PL_ENOMEM;
  }
  if (o) d->o = *o;
  d->feed = feed;
  if (d->o.max_findings <= 0) d->o.max_findings = DEFAULT_MAX_FINDINGS;
  d->per_code_cap = (size_t)d->o.max_findings / 10;
  if (d->per_code_cap < 10) d->per_code_cap = 10;
  d->chunks.elem = sizeof(struct dr_chunk);
  d->mis.elem = sizeof(struct dr_mi);
  d->atts.elem = sizeof(struct dr_att);
  d->metas.elem = sizeof(struct dr_meta);
  d->late_schema.elem = sizeof(struct dr_late);
  d->sums.elem = sizeof(struct dr_sum);
  d->msgs.elem = sizeof(struct dr_msg);
  d->cur_channels.elem = sizeof(uint16_t);
  d->used_schemas.elem = sizeof(uint16_t);
  d->used_channels.elem = sizeof(uint16_t);
  d->open_chunk = NO_CHUNK;
  d->first_summary_offset = UINT64_MAX;
  d->first_summary_offset_record = UINT64_MAX;
  d->section = SEC_DATA;

  /* The reader checks structure only; every CRC and magic is checked here, so that a bad
   * one is a finding instead of the end of the pass. */
  d->tap.inner = *src;
  memset(src, 0, sizeof *src);
  tapped.payload = &d->tap;
  tapped.size = d->tap.inner.size;
  tapped.read = tap_read;
  tapped.close = tap_close;
  mcap_reader_options_init(&ro);
  ro.no_magic_check = 1;
  ro.no_chunk_crc = 1;
  ro.no_data_crc = 1;
  ro.no_summary_crc = 1;
  ro.no_attachment_crc = 1;
  ro.raw_chunks = 1;
  ro.allow_no_footer = 1;
  rc = mcap_stream_reader_new(&r, &tapped, &ro);
  if (rc != MCAP_OK) {
    doctor_free(d);
    set_err(err, PL_ENOMEM, rc, UINT64_MAX, "out of memory");
    return PL_ENOMEM;
  }

  for (;;) {
    rc = mcap_stream_reader_next(r, &rec);
    if (first) {
      first = 0;
      check_leading_magic(d);
      d->data_crc = mcap_crc32(0, d->tap.head, d->tap.head_len);
    }
    if (rc == MCAP_ITEROVER) {
      complete = 1;
      break;
    }
    if (rc == MCAP_EIO || rc == MCAP_ENOMEM || rc == MCAP_EUNSUPPORTED) {
      set_err(err, rc == MCAP_ENOMEM ? PL_ENOMEM : PL_EIO, rc, mcap_stream_reader_error_offset(r),
              mcap_stream_reader_errmsg(r));
      mcap_stream_reader_free(r);
      doctor_free(d);
      return err ? err->code : PL_EIO;
    }
    if (rc != MCAP_OK) {
      reader_error(d, r, rc);
      break;
    }
    on_record(d, &rec);
    if (rec.opcode == MCAP_OP_FOOTER) check_tail(d, rec.offset); /* rec is stale after this */
    if (d->fatal_oom) break;
    if (d->o.progress) {
      uint64_t pos = mcap_stream_reader_position(r);
      if (pos - progress_at >= PROGRESS_STEP) {
        progress_at = pos;
        d->o.progress(d->o.progress_ctx, pos, d->tap.inner.size);
      }
    }
  }

  if (!d->fatal_oom) {
    if (d->open_chunk != NO_CHUNK) pl__doctor_close_chunk(d);
    if (complete && !d->saw_footer) {
      uint64_t at = mcap_stream_reader_position(r);
      if (!d->saw_data_end) {
        pl__doctor_add(d, DC_DATA_END_MISSING, at, "the file has no DataEnd record");
      }
      pl__doctor_add(d, DC_FOOTER_MISSING, at,
                     "input ends at offset %llu without a Footer (last record: %s)",
                     (unsigned long long)at, mcap_opcode_name(d->last_opcode));
    } else if (complete && !d->saw_data_end) {
      pl__doctor_add(d, DC_DATA_END_MISSING, UINT64_MAX, "the file has no DataEnd record");
    }
    pl__doctor_finish(d, complete);
    if (d->omitted) {
      pl__doctor_add(d, DC_FINDINGS_OMITTED, UINT64_MAX,
                     "%zu more findings not listed (at most %d kept, %zu per code)", d->omitted,
                     d->o.max_findings, d->per_code_cap);
    }
  }
  d->rep->bytes = mcap_stream_reader_position(r);
  mcap_stream_reader_free(r);
  if (d->fatal_oom) {
    doctor_free(d);
    set_err(err, PL_ENOMEM, 0, UINT64_MAX, "out of memory");
    return PL_ENOMEM;
  }
  *out = d->rep;
  d->rep = NULL;
  doctor_free(d);
  return PL_OK;
}
