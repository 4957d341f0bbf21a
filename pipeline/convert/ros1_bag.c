/*
 * ros1_bag.c - ROS 1 bag (format 2.0) reader: one stream of messages in
 * log-time order.
 *
 * A bag is "#ROSBAG V2.0\n" then records: <u32 header_len><header><u32
 * data_len><data>, the header a list of <u32 len>name=value fields. The bag
 * header record (op 0x03) points at the index section (connection records
 * 0x07 and chunk info records 0x06) at the end; chunks (0x05, stored, bz2 or
 * lz4 frame) hold connection and message data (0x02) records, each followed
 * by index data records (0x04).
 *
 * Indexed bags: the chunk infos give every chunk's time range. Bags whose
 * index is missing, unfinished or damaged (a killed recording) are walked
 * record by record; every chunk is decompressed once during the walk to learn
 * its connections and times, and a truncated tail chunk keeps its whole
 * records. Either way, chunks are then opened in order of start time and
 * merged by message time, holding only the chunks that overlap (bounded by
 * the memory budget; past it, order gives way, never data).
 *
 * Every length read from the file is checked against the bytes really there
 * before use; decompressed sizes are capped (max_chunk_size) and buffers grow
 * only with real output, so a lying header cannot make us allocate.
 */
#include <bzlib.h>
#include <lz4frame.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convert_internal.h"

#define BAG_MAGIC "#ROSBAG V2.0\n"
#define BAG_MAGIC_LEN 13
#define OP_MSG 0x02
#define OP_BAG_HEADER 0x03
#define OP_INDEX_DATA 0x04
#define OP_CHUNK 0x05
#define OP_CHUNK_INFO 0x06
#define OP_CONNECTION 0x07
#define MAX_HEADER ((uint32_t)16 << 20) /* a record header (fields only) */
#define MAX_INDEX_RECORD ((uint32_t)64 << 20)
#define PIECE ((size_t)1 << 20)         /* compressed input is read in pieces this big */

static uint32_t le32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t le64(const uint8_t *p) { return le32(p) | (uint64_t)le32(p + 4) << 32; }
/* A ROS time (u32 seconds, u32 nanoseconds) in ns; never overflows (< 2^63). */
static uint64_t ros_time(const uint8_t *p) {
  return (uint64_t)le32(p) * 1000000000u + le32(p + 4);
}

/* ------------------------------------------------------------ header fields */

/* The fields of a record header that we use. */
struct hdr {
  int op; /* -1 when absent */
  int has_conn, has_time, has_size, has_index_pos, has_chunk_pos, has_start, has_end, has_count,
      has_ver, has_conn_count, has_chunk_count;
  uint32_t conn, size, count, ver, conn_count, chunk_count;
  uint64_t time, index_pos, chunk_pos, start, end;
  mcap_str compression, topic;
};

/* Walk "<u32 len>name=value" fields. @return 0 ok, -1 malformed (why in *what). */
static int fields_next(const uint8_t *p, size_t len, size_t *pos, mcap_str *name, mcap_bytes *val,
                       const char **what) {
  if (len - *pos < 4) {
    *what = "field length cut short";
    return -1;
  }
  uint32_t fl = le32(p + *pos);
  *pos += 4;
  if (fl > len - *pos) {
    *what = "field longer than its header";
    return -1;
  }
  const uint8_t *f = p + *pos;
  const uint8_t *eq = memchr(f, '=', fl);
  if (!eq) {
    *what = "field without '='";
    return -1;
  }
  name->data = (const char *)f;
  name->len = (uint32_t)(eq - f);
  val->data = eq + 1;
  val->len = fl - name->len - 1;
  *pos += fl;
  return 0;
}

static int name_is(mcap_str n, const char *s) {
  size_t l = strlen(s);
  return n.len == l && memcmp(n.data, s, l) == 0;
}

static int parse_hdr(const uint8_t *p, size_t len, struct hdr *h, const char **what) {
  memset(h, 0, sizeof *h);
  h->op = -1;
  size_t pos = 0;
  while (pos < len) {
    mcap_str n;
    mcap_bytes v;
    if (fields_next(p, len, &pos, &n, &v, what)) return -1;
#define U32F(key, field, flag)                      \
  if (name_is(n, key)) {                            \
    if (v.len != 4) goto bad_len;                   \
    h->field = le32(v.data);                        \
    h->flag = 1;                                    \
    continue;                                       \
  }
#define U64F(key, field, flag)                      \
  if (name_is(n, key)) {                            \
    if (v.len != 8) goto bad_len;                   \
    h->field = le64(v.data);                        \
    h->flag = 1;                                    \
    continue;                                       \
  }
#define TIMEF(key, field, flag)                     \
  if (name_is(n, key)) {                            \
    if (v.len != 8) goto bad_len;                   \
    h->field = ros_time(v.data);                    \
    h->flag = 1;                                    \
    continue;                                       \
  }
    if (name_is(n, "op")) {
      if (v.len != 1) goto bad_len;
      h->op = v.data[0];
      continue;
    }
    U32F("conn", conn, has_conn)
    U32F("size", size, has_size)
    U32F("count", count, has_count)
    U32F("ver", ver, has_ver)
    U32F("conn_count", conn_count, has_conn_count)
    U32F("chunk_count", chunk_count, has_chunk_count)
    U64F("index_pos", index_pos, has_index_pos)
    U64F("chunk_pos", chunk_pos, has_chunk_pos)
    TIMEF("time", time, has_time)
    TIMEF("start_time", start, has_start)
    TIMEF("end_time", end, has_end)
#undef U32F
#undef U64F
#undef TIMEF
    if (name_is(n, "compression")) {
      h->compression.data = (const char *)v.data;
      h->compression.len = (uint32_t)v.len;
    } else if (name_is(n, "topic")) {
      h->topic.data = (const char *)v.data;
      h->topic.len = (uint32_t)v.len;
    }
    continue;
  bad_len:
    *what = "field of the wrong size";
    return -1;
  }
  if (h->op < 0) {
    *what = "no 'op' field";
    return -1;
  }
  return 0;
}

/* ------------------------------------------------------------------ state */

struct conn {
  uint32_t id;
  uint16_t channel;
  uint32_t topic;
};

struct chunk_ref {
  uint64_t pos;        /* offset of the chunk record */
  uint64_t start, end; /* message times */
  uint64_t claimed;    /* messages the index says it holds */
  int has_claim;
};

struct rec {
  uint64_t time;
  uint32_t off, len; /* data within the chunk buffer */
  uint32_t seq;      /* position in the chunk: ties keep file order */
  uint16_t channel;
  uint32_t topic;
};

struct ochunk {
  uint8_t *buf;
  size_t len, cap;
  struct rec *recs;
  size_t n, cap_recs, i;
};

struct bag {
  struct cv_stream base;
  struct pl_convert *c;
  struct cv_file f;
  char *path;
  struct conn *conns;
  size_t n_conns, cap_conns;
  struct chunk_ref *chunks;
  size_t n_chunks, cap_chunks, next_chunk;
  struct ochunk **heap; /* open chunks, by their current message's time */
  size_t n_open, cap_open;
  struct ochunk **spare; /* closed chunks whose buffers are reused */
  size_t n_spare, cap_spare;
  uint64_t open_bytes;
  uint8_t *piece;
  LZ4F_dctx *lz4;
  int primed; /* heap[0]'s current message was handed out */
  int quiet;  /* problems already reported (the second decode in walk mode) */
};

static const char *bag_path(const struct bag *b) { return b->path; }

/* A loss found in the bag. In walk mode every chunk is decoded twice (to learn
 * it, then to merge it): the second time is quiet, so nothing counts twice. */
__attribute__((format(printf, 3, 4))) static int bag_problem(struct bag *b, uint64_t offset,
                                                             const char *fmt, ...) {
  if (b->quiet) return PL_CONVERT_OK;
  char msg[400];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return cv_problem(b->c, 1, b->path, offset, -1, "%s", msg);
}

static void bag_lost(struct bag *b, uint64_t messages, int unknown, uint64_t bytes) {
  if (b->quiet) return;
  b->c->rep.messages_lost += messages;
  if (unknown) b->c->rep.messages_lost_unknown = 1;
  b->c->rep.bytes_skipped += bytes;
}

/* ------------------------------------------------------------ connections */

static struct conn *find_conn(struct bag *b, uint32_t id) {
  size_t lo = 0, hi = b->n_conns;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (b->conns[mid].id == id) return &b->conns[mid];
    if (b->conns[mid].id < id) lo = mid + 1;
    else hi = mid;
  }
  return NULL;
}

/* Register connection `id` from its connection header (the record's data). A
 * connection seen again (chunk and index both carry it) keeps its first
 * definition. */
static int add_conn(struct bag *b, uint32_t id, mcap_str rec_topic, const uint8_t *data,
                    size_t len, uint64_t offset) {
  if (find_conn(b, id)) return PL_CONVERT_OK;
  struct pl_convert *c = b->c;
  mcap_str topic = rec_topic, type = {0}, callerid = {0}, latching = {0};
  mcap_bytes def = {0};
  int has_callerid = 0, has_latching = 0;
  size_t pos = 0;
  const char *what = NULL;
  while (pos < len) {
    mcap_str n;
    mcap_bytes v;
    if (fields_next(data, len, &pos, &n, &v, &what))
      return bag_problem(b, offset,
                        "connection %u: bad connection header (%s); its messages are dropped",
                        id, what);
    mcap_str vs = {(const char *)v.data, (uint32_t)v.len};
    if (name_is(n, "topic") && !topic.len) topic = vs;
    else if (name_is(n, "type")) type = vs;
    else if (name_is(n, "message_definition")) def = v;
    else if (name_is(n, "callerid")) callerid = vs, has_callerid = 1;
    else if (name_is(n, "latching")) latching = vs, has_latching = 1;
  }
  if (!type.len)
    return bag_problem(b, offset,
                      "connection %u ('%.*s'): no message type; its messages are dropped", id,
                      (int)topic.len, topic.data ? topic.data : "");
  if (b->n_conns >= 65535)
    return cv_fail(c, PL_CONVERT_ELIMIT, "'%s': more than 65535 connections", bag_path(b));
  mcap_kv md[2];
  size_t nmd = 0;
  if (has_callerid) {
    md[nmd].key = mcap_str_c("callerid");
    md[nmd++].value = callerid;
  }
  if (has_latching) {
    md[nmd].key = mcap_str_c("latching");
    /* The profile wants "true"/"false"; ROS 1 writes "1"/"0". */
    if (latching.len == 1 && latching.data[0] == '1') md[nmd++].value = mcap_str_c("true");
    else if (latching.len == 1 && latching.data[0] == '0') md[nmd++].value = mcap_str_c("false");
    else md[nmd++].value = latching;
  }
  struct cv_channel_def d;
  memset(&d, 0, sizeof d);
  d.topic = topic;
  d.message_encoding = mcap_str_c("ros1");
  d.schema_name = type;
  d.schema_encoding = mcap_str_c("ros1msg");
  d.schema_data = def;
  d.metadata = md;
  d.n_metadata = nmd;
  d.source = def.len ? PL_CONVERT_SCHEMA_CONNECTION : PL_CONVERT_SCHEMA_MISSING;
  uint16_t cid;
  uint32_t topic_idx;
  size_t topics_before = c->rep.n_topics;
  int rc = cv_add_channel(c, &d, &cid, &topic_idx);
  if (rc) return rc;
  if (!def.len && c->rep.n_topics > topics_before) {
    c->rep.schemas_missing++;
    rc = b->quiet ? 0 : cv_problem(c, 0, bag_path(b), offset, -1,
                    "connection %u ('%.*s'): no message definition for '%.*s'; its schema is "
                    "empty",
                    id, (int)topic.len, topic.data, (int)type.len, type.data);
    if (rc) return rc;
  }
  if (cv_grow((void **)&b->conns, &b->cap_conns, b->n_conns + 1, sizeof *b->conns))
    return cv_fail(c, PL_CONVERT_ENOMEM, "out of memory");
  size_t at = b->n_conns;
  while (at > 0 && b->conns[at - 1].id > id) {
    b->conns[at] = b->conns[at - 1];
    at--;
  }
  b->conns[at].id = id;
  b->conns[at].channel = cid;
  b->conns[at].topic = topic_idx;
  b->n_conns++;
  return PL_CONVERT_OK;
}

/* ---------------------------------------------------------------- records */

/* A record's header and where its data is. */
struct recinfo {
  struct hdr h;
  uint64_t pos;      /* offset of the record */
  uint64_t data_off; /* offset of its data */
  uint32_t data_len;
  int truncated;     /* its data runs past the end of the file */
};

/* Read the record at `pos` of the file. @return 1 ok, 0 no whole header there
 * (*why says what), or a negative status. */
static int read_record(struct bag *b, uint64_t pos, struct recinfo *ri, const char **why) {
  struct pl_convert *c = b->c;
  uint8_t lenbuf[4];
  size_t got;
  memset(ri, 0, sizeof *ri);
  ri->pos = pos;
  if (pos > b->f.size || b->f.size - pos < 8) {
    *why = "the file ends inside a record header";
    return 0;
  }
  int rc = cv_file_read(c, &b->f, pos, lenbuf, 4, &got);
  if (rc) return rc;
  uint32_t hl = le32(lenbuf);
  if (hl > MAX_HEADER || (uint64_t)hl + 8 > b->f.size - pos) {
    *why = hl > MAX_HEADER ? "header length too large" : "the file ends inside a record header";
    return 0;
  }
  uint8_t *hb = malloc(hl + 4u);
  if (!hb) return cv_fail(c, PL_CONVERT_ENOMEM, "out of memory");
  rc = cv_file_read(c, &b->f, pos + 4, hb, hl + 4u, &got);
  if (rc || got != hl + 4u) {
    free(hb);
    if (rc) return rc;
    *why = "the file ends inside a record header";
    return 0;
  }
  if (parse_hdr(hb, hl, &ri->h, why)) {
    free(hb);
    return 0;
  }
  ri->data_len = le32(hb + hl);
  ri->data_off = pos + 8 + hl;
  ri->truncated = ri->data_len > b->f.size - ri->data_off;
  /* The views point into hb: keep the compression name as a static string. */
  static const char *const known[] = {"none", "bz2", "lz4"};
  mcap_str comp = ri->h.compression;
  ri->h.compression.data = NULL;
  ri->h.compression.len = 0;
  for (size_t i = 0; i < 3; i++)
    if (name_is(comp, known[i])) ri->h.compression = mcap_str_c(known[i]);
  if (comp.len && !ri->h.compression.len) ri->h.compression = mcap_str_c("?");
  ri->h.topic.data = NULL;
  ri->h.topic.len = 0;
  free(hb);
  return 1;
}

/* Read a whole small record (header and data) into a malloc'd buffer. */
static int read_whole(struct bag *b, const struct recinfo *ri, uint8_t **hdr, uint32_t *hl,
                      uint8_t **data) {
  struct pl_convert *c = b->c;
  size_t got;
  uint8_t lenbuf[4];
  *hdr = *data = NULL;
  int rc = cv_file_read(c, &b->f, ri->pos, lenbuf, 4, &got);
  if (rc) return rc;
  *hl = le32(lenbuf);
  *hdr = malloc(*hl ? *hl : 1);
  *data = malloc(ri->data_len ? ri->data_len : 1);
  if (!*hdr || !*data) {
    free(*hdr);
    free(*data);
    *hdr = *data = NULL;
    return cv_fail(c, PL_CONVERT_ENOMEM, "out of memory");
  }
  rc = cv_file_read(c, &b->f, ri->pos + 4, *hdr, *hl, &got);
  if (!rc) rc = cv_file_read(c, &b->f, ri->data_off, *data, ri->data_len, &got);
  if (rc) {
    free(*hdr);
    free(*data);
    *hdr = *data = NULL;
  }
  return rc;
}

/* ----------------------------------------------------------------- chunks */

static struct ochunk *take_chunk(struct bag *b) {
  if (b->n_spare) return b->spare[--b->n_spare];
  return calloc(1, sizeof(struct ochunk));
}

static void drop_chunk(struct bag *b, struct ochunk *oc) {
  if (!oc) return;
  b->open_bytes -= oc->len <= b->open_bytes ? oc->len : b->open_bytes;
  oc->len = oc->n = oc->i = 0;
  /* Keep a few buffers for reuse; free big ones beyond the budget. */
  if (b->n_spare < 4 &&
      !cv_grow((void **)&b->spare, &b->cap_spare, b->n_spare + 1, sizeof *b->spare)) {
    b->spare[b->n_spare++] = oc;
    return;
  }
  free(oc->buf);
  free(oc->recs);
  free(oc);
}

static int out_room(struct pl_convert *c, struct ochunk *oc, size_t want) {
  if (want <= oc->cap) return PL_CONVERT_OK;
  uint8_t *p = realloc(oc->buf, want);
  if (!p) return cv_fail(c, PL_CONVERT_ENOMEM, "out of memory (chunk of %zu bytes)", want);
  oc->buf = p;
  oc->cap = want;
  return PL_CONVERT_OK;
}

/* Decompress a bz2 or lz4 chunk's data (`avail` of its bytes are in the file)
 * into oc->buf, at most `usize` bytes, reading the input in pieces.
 * @return 0 decoded whole; 1 stopped early (*why); negative status. */
static int decode_stream(struct bag *b, const struct recinfo *ri, uint64_t avail, size_t usize,
                         struct ochunk *oc, const char **why) {
  struct pl_convert *c = b->c;
  int bz = ri->h.compression.data[0] == 'b';
  bz_stream bs;
  int rc = PL_CONVERT_OK, ended = 0;
  /* One byte more than declared: output beyond the declared size is then seen as such,
   * while a stream that ends exactly there can still report its end. */
  size_t limit = usize + 1, want = limit;
  /* Grow with the real output: start near what the input could plausibly give. */
  if (avail < want / 8) want = (size_t)(avail * 8 > 65536 ? avail * 8 : 65536);
  if (want > limit) want = limit;
  rc = out_room(c, oc, want ? want : 1);
  if (rc) return rc;
  if (!b->piece && !(b->piece = malloc(PIECE)))
    return cv_fail(c, PL_CONVERT_ENOMEM, "out of memory");
  if (bz) {
    rc = pl__cv_load_bz2(c);
    if (rc) return rc;
    memset(&bs, 0, sizeof bs);
    if (pl__cv_bz2.decompress_init(&bs, 0, 0) != BZ_OK) return cv_fail(c, PL_CONVERT_ENOMEM, "bz2");
  } else if (!b->lz4) {
    if (LZ4F_isError(LZ4F_createDecompressionContext(&b->lz4, LZ4F_VERSION)))
      return cv_fail(c, PL_CONVERT_ENOMEM, "lz4");
  }
  *why = NULL;
  uint64_t in_off = 0;
  size_t out = 0;
  while (!ended && !*why) {
    size_t chunk = avail - in_off > PIECE ? PIECE : (size_t)(avail - in_off);
    size_t got = 0;
    if (chunk) {
      rc = cv_file_read(c, &b->f, ri->data_off + in_off, b->piece, chunk, &got);
      if (rc) break;
      in_off += got;
    }
    if (!got) {
      *why = "compressed data cut short";
      break;
    }
    size_t in_pos = 0;
    while (in_pos < got && !ended && !*why) {
      if (out == oc->cap) {
        if (oc->cap >= limit) {
          *why = "decompresses to more than the chunk's declared size";
          break;
        }
        size_t n = oc->cap * 2 > limit ? limit : oc->cap * 2;
        rc = out_room(c, oc, n);
        if (rc) goto done;
      }
      if (bz) {
        bs.next_in = (char *)b->piece + in_pos;
        bs.avail_in = (unsigned)(got - in_pos);
        bs.next_out = (char *)oc->buf + out;
        bs.avail_out = (unsigned)(oc->cap - out > UINT32_MAX ? UINT32_MAX : oc->cap - out);
        unsigned before_in = bs.avail_in, before_out = bs.avail_out;
        int r = pl__cv_bz2.decompress(&bs);
        in_pos += before_in - bs.avail_in;
        out += before_out - bs.avail_out;
        if (r == BZ_STREAM_END) ended = 1;
        else if (r != BZ_OK) *why = "bz2 data damaged";
        else if (before_in == bs.avail_in && before_out == bs.avail_out && out < oc->cap)
          *why = "bz2 decoder made no progress";
      } else {
        size_t src = got - in_pos, dst = oc->cap - out;
        size_t r = LZ4F_decompress(b->lz4, oc->buf + out, &dst, b->piece + in_pos, &src, NULL);
        in_pos += src;
        out += dst;
        if (LZ4F_isError(r)) {
          *why = "lz4 frame damaged";
          LZ4F_freeDecompressionContext(b->lz4); /* a fresh decoder for the next chunk */
          b->lz4 = NULL;
        } else if (r == 0) {
          ended = 1;
        } else if (!src && !dst && out < oc->cap) {
          *why = "lz4 decoder made no progress";
        }
      }
    }
  }
done:
  if (bz) pl__cv_bz2.decompress_end(&bs);
  else if (!ended && b->lz4) {
    LZ4F_freeDecompressionContext(b->lz4);
    b->lz4 = NULL;
  }
  if (out > usize) {
    out = usize;
    if (!*why) *why = "decompresses to more than the chunk's declared size";
  }
  oc->len = out;
  if (rc) return rc;
  if (!*why && out != usize) *why = "decompressed size differs from the declared one";
  return *why ? 1 : 0;
}

/* Parse the records of a decoded chunk into oc->recs (messages), registering
 * the connections met. Damaged records end the chunk (what came before is
 * kept). *dropped counts message records that could not be used. */
static int parse_chunk(struct bag *b, struct ochunk *oc, uint64_t pos, uint64_t *dropped) {
  struct pl_convert *c = b->c;
  size_t p = 0, len = oc->len;
  uint32_t seq = 0, unknown_conn = 0;
  int rc;
  oc->n = oc->i = 0;
  *dropped = 0;
  while (p < len) {
    const char *what = NULL;
    struct hdr h;
    uint32_t hl = 0, dl = 0;
    if (len - p < 8 || (hl = le32(oc->buf + p)) > len - p - 8) {
      what = "record header cut short";
    } else if ((dl = le32(oc->buf + p + 4 + hl)) > len - p - 8 - hl) {
      what = "record data cut short";
    } else if (parse_hdr(oc->buf + p + 4, hl, &h, &what) == 0) {
      size_t doff = p + 8 + hl;
      if (h.op == OP_MSG) {
        struct conn *cn = h.has_conn ? find_conn(b, h.conn) : NULL;
        if (!h.has_conn || !h.has_time) {
          (*dropped)++;
        } else if (!cn) {
          (*dropped)++;
          unknown_conn = h.conn;
        } else {
          if (cv_grow((void **)&oc->recs, &oc->cap_recs, oc->n + 1, sizeof *oc->recs))
            return cv_fail(c, PL_CONVERT_ENOMEM, "out of memory");
          struct rec *r = &oc->recs[oc->n++];
          r->time = h.time;
          r->off = (uint32_t)doff;
          r->len = dl;
          r->seq = seq++;
          r->channel = cn->channel;
          r->topic = cn->topic;
        }
      } else if (h.op == OP_CONNECTION && h.has_conn) {
        rc = add_conn(b, h.conn, h.topic, oc->buf + doff, dl, pos);
        if (rc) return rc;
      }
      p = doff + dl;
      continue;
    }
    bag_lost(b, 0, 1, 0);
    rc = bag_problem(b, pos,
                     "chunk at offset %llu: %s at byte %zu of its %zu decompressed bytes; the "
                     "records from there on are lost",
                     (unsigned long long)pos, what, p, len);
    if (rc) return rc;
    break;
  }
  if (!*dropped) return PL_CONVERT_OK;
  bag_lost(b, *dropped, 0, 0);
  if (unknown_conn)
    return bag_problem(b, pos,
                       "chunk at offset %llu: %llu messages of connection %u, which has no "
                       "connection record, dropped",
                       (unsigned long long)pos, (unsigned long long)*dropped, unknown_conn);
  return bag_problem(b, pos, "chunk at offset %llu: %llu message records without conn or time "
                     "dropped", (unsigned long long)pos, (unsigned long long)*dropped);
}

static int rec_cmp(const void *a, const void *b) {
  const struct rec *x = a, *y = b;
  if (x->time != y->time) return x->time < y->time ? -1 : 1;
  return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Open the chunk at ref->pos: decode and parse it. A damaged chunk keeps its
 * intact leading records and is reported; *oc_out is NULL when nothing in it
 * is usable. @return status. */
static int open_chunk(struct bag *b, const struct chunk_ref *ref, struct ochunk **oc_out) {
  struct pl_convert *c = b->c;
  struct recinfo ri;
  const char *why = NULL;
  *oc_out = NULL;
  int rc = read_record(b, ref->pos, &ri, &why);
  if (rc < 0) return rc;
  if (rc == 0 || ri.h.op != OP_CHUNK || !ri.h.has_size) {
    bag_lost(b, ref->claimed, !ref->has_claim, 0);
    return bag_problem(b, ref->pos, "no chunk at offset %llu (%s); its %llu messages are lost",
                       (unsigned long long)ref->pos,
                       rc == 0 ? why
                               : (ri.h.op != OP_CHUNK ? "another record is there"
                                                      : "chunk without 'size'"),
                       (unsigned long long)ref->claimed);
  }
  uint64_t avail = ri.truncated ? b->f.size - ri.data_off : ri.data_len;
  if (!b->quiet) cv_progress(c, avail + (ri.data_off - ri.pos));
  if (ri.h.size > c->o.max_chunk_size) {
    bag_lost(b, ref->claimed, !ref->has_claim, avail);
    return bag_problem(b, ref->pos,
                       "chunk at offset %llu: declared size %u exceeds the limit %llu; skipped",
                       (unsigned long long)ref->pos, ri.h.size,
                       (unsigned long long)c->o.max_chunk_size);
  }
  if (!ri.h.compression.len || ri.h.compression.data[0] == '?') {
    bag_lost(b, ref->claimed, !ref->has_claim, avail);
    return bag_problem(b, ref->pos, "chunk at offset %llu: %s compression; skipped",
                       (unsigned long long)ref->pos,
                       ri.h.compression.len ? "unknown" : "no");
  }
  struct ochunk *oc = take_chunk(b);
  if (!oc) return cv_fail(c, PL_CONVERT_ENOMEM, "out of memory");
  int stopped = 0;
  if (ri.h.compression.data[0] == 'n') {
    size_t n = (size_t)(avail < ri.h.size ? avail : ri.h.size), got = 0;
    rc = out_room(c, oc, n ? n : 1);
    if (!rc) rc = cv_file_read(c, &b->f, ri.data_off, oc->buf, n, &got);
    oc->len = got;
    if (!rc && (got != ri.h.size || ri.data_len != ri.h.size)) {
      stopped = 1;
      why = got < ri.h.size ? "stored data cut short" : "stored size differs from its length";
    }
  } else {
    rc = decode_stream(b, &ri, avail, ri.h.size, oc, &why);
    if (rc == 1) stopped = 1, rc = 0;
  }
  if (!rc && stopped) {
    bag_lost(b, 0, 1, 0);
    rc = bag_problem(b, ref->pos, "chunk at offset %llu (%s): %s%s; its whole records are kept",
                     (unsigned long long)ref->pos, ri.h.compression.data, why,
                     ri.truncated ? " (the file ends inside it)" : "");
  }
  uint64_t dropped = 0;
  if (!rc) rc = parse_chunk(b, oc, ref->pos, &dropped);
  if (!rc && ref->has_claim && oc->n + dropped < ref->claimed) {
    bag_lost(b, ref->claimed - oc->n - dropped, 0, 0);
    if (!stopped)
      rc = bag_problem(b, ref->pos, "chunk at offset %llu: holds %zu messages, its index says "
                       "%llu", (unsigned long long)ref->pos, oc->n,
                       (unsigned long long)ref->claimed);
  }
  if (rc || !oc->n) {
    drop_chunk(b, oc);
    return rc;
  }
  int sorted = 1;
  for (size_t i = 1; i < oc->n && sorted; i++)
    if (oc->recs[i].time < oc->recs[i - 1].time) sorted = 0;
  if (!sorted) qsort(oc->recs, oc->n, sizeof *oc->recs, rec_cmp);
  b->open_bytes += oc->len;
  *oc_out = oc;
  return PL_CONVERT_OK;
}

/* ------------------------------------------------------------ open chunks */

static uint64_t oc_time(const struct ochunk *oc) { return oc->recs[oc->i].time; }

static void heap_down(struct bag *b, size_t i) {
  struct ochunk **h = b->heap;
  size_t n = b->n_open;
  for (;;) {
    size_t l = 2 * i + 1, m = i;
    if (l < n && oc_time(h[l]) < oc_time(h[m])) m = l;
    if (l + 1 < n && oc_time(h[l + 1]) < oc_time(h[m])) m = l + 1;
    if (m == i) return;
    struct ochunk *t = h[i];
    h[i] = h[m];
    h[m] = t;
    i = m;
  }
}

static int heap_push(struct bag *b, struct ochunk *oc) {
  if (cv_grow((void **)&b->heap, &b->cap_open, b->n_open + 1, sizeof *b->heap))
    return cv_fail(b->c, PL_CONVERT_ENOMEM, "out of memory");
  size_t i = b->n_open++;
  b->heap[i] = oc;
  while (i > 0) {
    size_t p = (i - 1) / 2;
    if (oc_time(b->heap[p]) <= oc_time(b->heap[i])) break;
    struct ochunk *t = b->heap[p];
    b->heap[p] = b->heap[i];
    b->heap[i] = t;
    i = p;
  }
  return PL_CONVERT_OK;
}

static int bag_next(struct cv_stream *s) {
  struct bag *b = (struct bag *)s;
  int rc;
  if (b->primed) { /* the message handed out last time is done with */
    struct ochunk *top = b->heap[0];
    if (++top->i == top->n) {
      b->heap[0] = b->heap[--b->n_open];
      drop_chunk(b, top);
    }
    if (b->n_open) heap_down(b, 0);
    b->primed = 0;
  }
  /* Open every chunk that may hold a message before the earliest one held. */
  while (b->next_chunk < b->n_chunks) {
    const struct chunk_ref *ref = &b->chunks[b->next_chunk];
    if (b->n_open &&
        (ref->start > oc_time(b->heap[0]) || b->open_bytes >= b->c->o.memory_budget))
      break;
    struct ochunk *oc = NULL;
    b->next_chunk++;
    rc = open_chunk(b, ref, &oc);
    if (rc) return rc;
    if (oc) {
      rc = heap_push(b, oc);
      if (rc) {
        drop_chunk(b, oc);
        return rc;
      }
    }
  }
  if (!b->n_open) { /* the end: keep nothing while the other inputs go on */
    for (size_t i = 0; i < b->n_spare; i++) {
      free(b->spare[i]->buf);
      free(b->spare[i]->recs);
      free(b->spare[i]);
    }
    b->n_spare = 0;
    free(b->piece);
    b->piece = NULL;
    if (b->lz4) LZ4F_freeDecompressionContext(b->lz4);
    b->lz4 = NULL;
    cv_file_close(&b->f);
    return 0;
  }
  const struct ochunk *top = b->heap[0];
  const struct rec *r = &top->recs[top->i];
  s->head.time = r->time;
  s->head.channel_id = r->channel;
  s->head.topic = r->topic;
  s->head.data = top->buf + r->off;
  s->head.len = r->len;
  b->primed = 1;
  return 1;
}

static void bag_free(struct cv_stream *s) {
  struct bag *b = (struct bag *)s;
  if (!b) return;
  for (size_t i = 0; i < b->n_open; i++) {
    free(b->heap[i]->buf);
    free(b->heap[i]->recs);
    free(b->heap[i]);
  }
  for (size_t i = 0; i < b->n_spare; i++) {
    free(b->spare[i]->buf);
    free(b->spare[i]->recs);
    free(b->spare[i]);
  }
  free(b->heap);
  free(b->spare);
  free(b->conns);
  free(b->chunks);
  free(b->piece);
  if (b->lz4) LZ4F_freeDecompressionContext(b->lz4);
  cv_file_close(&b->f);
  free(b->path);
  free(b);
}

static const struct cv_stream_ops bag_ops = {bag_next, bag_free};

/* ---------------------------------------------------------------- opening */

static int add_chunk_ref(struct bag *b, uint64_t pos, uint64_t start, uint64_t end,
                         uint64_t claimed, int has_claim) {
  if (cv_grow((void **)&b->chunks, &b->cap_chunks, b->n_chunks + 1, sizeof *b->chunks))
    return cv_fail(b->c, PL_CONVERT_ENOMEM, "out of memory");
  struct chunk_ref *r = &b->chunks[b->n_chunks++];
  r->pos = pos;
  r->start = start;
  r->end = end;
  r->claimed = claimed;
  r->has_claim = has_claim;
  return PL_CONVERT_OK;
}

/* Read the index section. @return 1 used, 0 unusable (*why), or a status. */
static int read_index(struct bag *b, const struct hdr *bh, const char **why, uint64_t *where) {
  uint64_t pos = bh->index_pos;
  uint32_t conns = 0, infos = 0;
  *where = pos;
  if (pos < BAG_MAGIC_LEN || pos >= b->f.size) {
    *why = "the index position is outside the file";
    return 0;
  }
  while (pos < b->f.size) {
    struct recinfo ri;
    *where = pos;
    int rc = read_record(b, pos, &ri, why);
    if (rc <= 0) return rc;
    if (ri.truncated) {
      *why = "an index record is cut short";
      return 0;
    }
    if (ri.data_len > MAX_INDEX_RECORD) {
      *why = "an index record is too large";
      return 0;
    }
    if (ri.h.op == OP_CONNECTION || ri.h.op == OP_CHUNK_INFO) {
      uint8_t *hdr, *data;
      uint32_t hl;
      rc = read_whole(b, &ri, &hdr, &hl, &data);
      if (rc) return rc;
      struct hdr h;
      if (parse_hdr(hdr, hl, &h, why)) {
        free(hdr);
        free(data);
        return 0;
      }
      if (ri.h.op == OP_CONNECTION) {
        if (!h.has_conn) {
          *why = "a connection record without 'conn'";
          rc = 0;
        } else {
          rc = add_conn(b, h.conn, h.topic, data, ri.data_len, pos);
          if (!rc) rc = 1;
          conns++;
        }
      } else {
        if (!h.has_chunk_pos || !h.has_start || !h.has_end || !h.has_count ||
            (uint64_t)h.count * 8 > ri.data_len) {
          *why = "a chunk info record lacks fields";
          rc = 0;
        } else {
          uint64_t claimed = 0;
          for (uint32_t i = 0; i < h.count; i++) claimed += le32(data + (size_t)i * 8 + 4);
          rc = add_chunk_ref(b, h.chunk_pos, h.start, h.end, claimed, 1);
          if (!rc) rc = 1;
          infos++;
        }
      }
      free(hdr);
      free(data);
      if (rc <= 0) return rc;
    }
    pos = ri.data_off + ri.data_len;
  }
  if (bh->has_chunk_count && infos != bh->chunk_count) {
    *why = "the index lists fewer chunks than the bag header says";
    return 0;
  }
  (void)conns;
  return 1;
}

/* Walk every record from the first after the bag header: each chunk is
 * decoded once to learn its connections, times and problems (the merge
 * decodes it again, quietly). */
static int walk(struct bag *b, uint64_t pos) {
  int rc;
  while (pos < b->f.size) {
    struct recinfo ri;
    const char *why = NULL;
    rc = read_record(b, pos, &ri, &why);
    if (rc < 0) return rc;
    if (rc == 0) {
      bag_lost(b, 0, 1, b->f.size - pos);
      return bag_problem(b, pos, "record at offset %llu: %s; the %llu bytes from there are lost",
                         (unsigned long long)pos, why, (unsigned long long)(b->f.size - pos));
    }
    if (ri.h.op == OP_CHUNK) {
      struct chunk_ref ref = {pos, 0, 0, 0, 0};
      struct ochunk *oc = NULL;
      rc = open_chunk(b, &ref, &oc);
      if (rc) return rc;
      if (oc) {
        uint64_t lo = UINT64_MAX, hi = 0;
        for (size_t i = 0; i < oc->n; i++) {
          if (oc->recs[i].time < lo) lo = oc->recs[i].time;
          if (oc->recs[i].time > hi) hi = oc->recs[i].time;
        }
        drop_chunk(b, oc);
        rc = add_chunk_ref(b, pos, lo, hi, 0, 0);
        if (rc) return rc;
      }
    } else if (ri.h.op == OP_CONNECTION && !ri.truncated && ri.data_len <= MAX_INDEX_RECORD) {
      uint8_t *hdr, *data;
      uint32_t hl;
      struct hdr h;
      rc = read_whole(b, &ri, &hdr, &hl, &data);
      if (rc) return rc;
      if (parse_hdr(hdr, hl, &h, &why) == 0 && h.has_conn)
        rc = add_conn(b, h.conn, h.topic, data, ri.data_len, pos);
      free(hdr);
      free(data);
      if (rc) return rc;
    } else if (ri.h.op == OP_MSG) {
      bag_lost(b, 1, 0, 0);
      rc = bag_problem(b, pos, "message record at offset %llu outside a chunk; dropped",
                       (unsigned long long)pos);
      if (rc) return rc;
    }
    if (ri.truncated) {
      if (ri.h.op == OP_CHUNK) return PL_CONVERT_OK; /* reported by open_chunk */
      bag_lost(b, 0, 1, b->f.size - pos);
      return bag_problem(b, pos, "record at offset %llu is cut short by the end of the file",
                         (unsigned long long)pos);
    }
    pos = ri.data_off + ri.data_len;
  }
  return PL_CONVERT_OK;
}

static int ref_cmp(const void *x, const void *y) {
  const struct chunk_ref *a = x, *b = y;
  if (a->start != b->start) return a->start < b->start ? -1 : 1;
  return a->pos < b->pos ? -1 : a->pos > b->pos;
}

int cv_ros1_open(struct pl_convert *c, const char *path, size_t input, struct cv_stream **out) {
  *out = NULL;
  struct bag *b = calloc(1, sizeof *b);
  if (!b) return cv_fail(c, PL_CONVERT_ENOMEM, "out of memory");
  b->base.ops = &bag_ops;
  b->base.input = input;
  b->c = c;
  b->f.fd = -1;
  b->path = cv_strdup(path);
  int rc = PL_CONVERT_OK;
  if (!b->path) {
    rc = cv_fail(c, PL_CONVERT_ENOMEM, "out of memory");
    goto fail;
  }
  rc = cv_file_open(c, &b->f, path);
  if (rc) goto fail;
  uint8_t magic[BAG_MAGIC_LEN];
  size_t got = 0;
  rc = cv_file_read(c, &b->f, 0, magic, sizeof magic, &got);
  if (rc) goto fail;
  if (got != BAG_MAGIC_LEN || memcmp(magic, BAG_MAGIC, BAG_MAGIC_LEN) != 0) {
    if (got >= 9 && memcmp(magic, "#ROSBAG V", 9) == 0)
      rc = cv_fail(c, PL_CONVERT_EUNSUPPORTED,
                   "'%s': bag format '%.*s' is not supported (only 2.0)", path,
                   (int)(got > 9 ? got - 10 : 0), (const char *)magic + 9);
    else
      rc = cv_fail(c, PL_CONVERT_EFORMAT, "'%s': not a ROS 1 bag (no '#ROSBAG V2.0' at offset 0)",
                   path);
    goto fail;
  }
  struct recinfo ri;
  const char *why = NULL;
  rc = read_record(b, BAG_MAGIC_LEN, &ri, &why);
  if (rc < 0) goto fail;
  if (rc == 0 || ri.h.op != OP_BAG_HEADER) {
    rc = cv_fail(c, PL_CONVERT_EFORMAT, "'%s': offset %d: no bag header record (%s)", path,
                 BAG_MAGIC_LEN, rc == 0 ? why : "another record is there");
    goto fail;
  }
  uint8_t *hdr = NULL, *data = NULL;
  uint32_t hl = 0;
  struct hdr bh;
  if (ri.truncated || ri.data_len > MAX_INDEX_RECORD) {
    memset(&bh, 0, sizeof bh);
  } else {
    rc = read_whole(b, &ri, &hdr, &hl, &data);
    if (rc) goto fail;
    if (parse_hdr(hdr, hl, &bh, &why)) memset(&bh, 0, sizeof bh);
    free(hdr);
    free(data);
  }
  uint64_t first = ri.truncated ? b->f.size : ri.data_off + ri.data_len;
  int indexed = 0;
  uint64_t where = BAG_MAGIC_LEN;
  if (bh.has_index_pos && bh.index_pos != 0) {
    rc = read_index(b, &bh, &why, &where);
    if (rc < 0) goto fail;
    indexed = rc;
  } else {
    why = "the bag header has no index position (the recording was not closed)";
  }
  if (!indexed) {
    /* Start over without what the damaged index gave. */
    b->n_chunks = 0;
    c->rep.inputs[input].indexed = 0;
    rc = cv_problem(c, 1, path, where, -1, "no usable index (%s): the chunks were walked", why);
    if (rc) goto fail;
    rc = walk(b, first);
    if (rc) goto fail;
    b->quiet = 1; /* every chunk's problems were reported during the walk */
  } else {
    c->rep.inputs[input].indexed = 1;
  }
  if (b->n_chunks > 1) qsort(b->chunks, b->n_chunks, sizeof *b->chunks, ref_cmp);
  c->rep.inputs[input].chunks = b->n_chunks;
  *out = &b->base;
  return PL_CONVERT_OK;
fail:
  bag_free(&b->base);
  return rc;
}
