/*
 * server_bounds.c - the sizes an upload declares, checked before the import
 * trusts them (issue #15 items 1 and 2).
 *
 * The readers behind an import (pl_index_file, pl_lake_write) and behind an
 * export of its lake files hold a chunk decompressed whole, so a few kilobytes
 * of zstd that declare a 1 GiB message or a 4 GiB chunk made them hold that
 * much (a 36 KB upload: ~2 GiB per export fetch; a 142 KB one: 4 GiB for 86 s
 * in the import queue). Here the file is walked record by record without
 * decompressing anything whole:
 *
 * - a Chunk whose uncompressed_size is above max_message may hold a message
 *   above it: its records are decompressed in 64 KiB pieces (zstd, lz4 or none)
 *   and walked, and the first message above max_message is refused, naming its
 *   topic and where it is; a chunk above max_message + SRV_CHUNK_SLACK (64 MiB:
 *   the chunk size of any usual writer) is refused whatever it holds;
 * - a Message outside chunks above max_message, and any other record above it
 *   except attachments (those are copied in 1 MiB pieces), is refused;
 * - the summary's ChunkIndex records are checked too (a reader may find
 *   chunks through them that a walk of the data section does not see), and so
 *   is the Chunk record each points at.
 *
 * Memory: a few 64 KiB buffers and the topics of the channels met (at most
 * MAX_CHANNELS, names cut at 200 bytes). Time: one read of the file's record
 * headers; a chunk above max_message is decompressed (in pieces) as far as its
 * declared size when that is at most max_message + SRV_CHUNK_SLACK, else only its
 * first SRV_CHUNK_SLACK bytes (it is refused whatever they hold).
 */
#include <errno.h>
#include <fcntl.h>
#include <lz4frame.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "server_internal.h"

#define PIECE (64u << 10)
#define MAX_CHANNELS 65536u
#define TOPIC_MAX 200u

#define OP_HEADER 0x01
#define OP_FOOTER 0x02
#define OP_CHANNEL 0x04
#define OP_MESSAGE 0x05
#define OP_CHUNK 0x06
#define OP_CHUNK_INDEX 0x08
#define OP_ATTACHMENT 0x09
#define OP_DATA_END 0x0F

struct bounds {
  int fd;
  uint64_t size;
  uint64_t max_message, max_chunk;
  uint64_t largest; /* largest chunk (uncompressed) or non-attachment record met */
  char **topics; /* by channel id; NULL = unknown */
  char *msg;
  size_t cap;
};

static uint64_t u64le(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
  return v;
}

static uint32_t u32le(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int read_at(struct bounds *b, void *buf, size_t n, uint64_t off) {
  if (off > b->size || n > b->size - off) return -1;
  size_t got = 0;
  while (got < n) {
    ssize_t r = pread(b->fd, (char *)buf + got, n - got, (off_t)(off + got));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return -1;
    got += (size_t)r;
  }
  return 0;
}

/* A printable topic for a message: its bytes made UTF-8, controls as '?'. */
static void topic_of(const struct bounds *b, uint16_t id, char *out, size_t cap) {
  const char *t = b->topics && b->topics[id] ? b->topics[id] : NULL;
  if (!t) {
    snprintf(out, cap, "(channel %u)", (unsigned)id);
    return;
  }
  char *fixed = pl_utf8_fix(t, strlen(t), NULL);
  snprintf(out, cap, "'%s'", fixed ? fixed : "?");
  for (char *p = out; *p; p++)
    if ((unsigned char)*p < 0x20 || *p == 0x7f) *p = '?';
  free(fixed);
}

/* A Channel record's content (at most its first TOPIC_MAX + 8 bytes): note the topic. */
static void note_channel(struct bounds *b, const uint8_t *p, size_t n) {
  if (n < 8 || !b->topics) return;
  uint16_t id = (uint16_t)(p[0] | p[1] << 8);
  uint32_t len = u32le(p + 4);
  if (len > n - 8) len = (uint32_t)(n - 8);
  char *t = malloc((size_t)len + 1);
  if (!t) return;
  memcpy(t, p + 8, len);
  t[len] = 0;
  free(b->topics[id]);
  b->topics[id] = t;
}

/* ------------------------------------------------------------- the records of a chunk */

/* Walks decompressed chunk records fed in pieces: channels noted, the first message
 * above the limit found. */
struct rec_walk {
  uint8_t head[9];
  size_t head_n;
  uint64_t left; /* bytes of the current record's content still to come */
  uint8_t op;
  uint8_t keep[TOPIC_MAX + 8];
  size_t keep_n, keep_want;
  uint64_t pos;       /* bytes of records seen */
  uint64_t rec_start; /* offset of the current record in the records */
  int found;
  uint16_t channel;
  uint64_t found_at, found_len;
};

static void walk_feed(struct bounds *b, struct rec_walk *w, const uint8_t *p, size_t n) {
  while (n && !w->found) {
    if (w->left == 0 && w->keep_want == 0) {
      /* a record header */
      if (w->head_n == 0) w->rec_start = w->pos;
      size_t k = 9 - w->head_n < n ? 9 - w->head_n : n;
      memcpy(w->head + w->head_n, p, k);
      w->head_n += k;
      p += k;
      n -= k;
      w->pos += k;
      if (w->head_n < 9) return;
      w->head_n = 0;
      w->op = w->head[0];
      w->left = u64le(w->head + 1);
      w->keep_n = 0;
      w->keep_want = 0;
      if (w->op == OP_CHANNEL)
        w->keep_want = w->left < sizeof w->keep ? (size_t)w->left : sizeof w->keep;
      else if (w->op == OP_MESSAGE)
        w->keep_want = w->left < 2 ? (size_t)w->left : 2;
      if (w->left == 0) continue;
      continue;
    }
    if (w->keep_want > w->keep_n) {
      size_t k = w->keep_want - w->keep_n < n ? w->keep_want - w->keep_n : n;
      memcpy(w->keep + w->keep_n, p, k);
      w->keep_n += k;
      p += k;
      n -= k;
      w->pos += k;
      w->left -= k;
      if (w->keep_n < w->keep_want) return;
      if (w->op == OP_CHANNEL) note_channel(b, w->keep, w->keep_n);
      if (w->op == OP_MESSAGE && w->keep_n == 2 && w->left + 2 > b->max_message + 22) {
        w->found = 1;
        w->channel = (uint16_t)(w->keep[0] | w->keep[1] << 8);
        w->found_at = w->rec_start;
        w->found_len = w->left + 2;
        return;
      }
      w->keep_want = 0;
      continue;
    }
    w->keep_want = 0;
    uint64_t k = w->left < n ? w->left : n;
    p += k;
    n -= (size_t)k;
    w->pos += k;
    w->left -= k;
  }
}

/* Decompress the chunk's records [off, off + len) in pieces, at most `usize` bytes out,
 * until a message above the limit is found. 0 when the walk ran (w says what it found). */
static int scan_chunk(struct bounds *b, const char *comp, uint64_t off, uint64_t len,
                      uint64_t usize, struct rec_walk *w) {
  uint8_t *in = malloc(PIECE), *out = malloc(PIECE);
  ZSTD_DStream *zd = NULL;
  LZ4F_dctx *ld = NULL;
  int rc = -1;
  if (!in || !out) goto done;
  int zstd = strcmp(comp, "zstd") == 0, lz4 = strcmp(comp, "lz4") == 0;
  if (!zstd && !lz4 && comp[0]) goto done; /* an unknown codec: the importer reports it */
  if (zstd && !(zd = ZSTD_createDStream())) goto done;
  if (zstd) ZSTD_DCtx_setParameter(zd, ZSTD_d_windowLogMax, 27); /* 128 MiB window at most */
  if (lz4 && LZ4F_isError(LZ4F_createDecompressionContext(&ld, LZ4F_VERSION))) {
    ld = NULL;
    goto done;
  }
  uint64_t done_in = 0, done_out = 0;
  rc = 0;
  while (done_in < len && done_out < usize && !w->found) {
    size_t k = len - done_in < PIECE ? (size_t)(len - done_in) : PIECE;
    if (read_at(b, in, k, off + done_in) != 0) break;
    done_in += k;
    if (!zstd && !lz4) {
      walk_feed(b, w, in, k);
      done_out += k;
      continue;
    }
    size_t ipos = 0;
    while (ipos < k && done_out < usize && !w->found) {
      size_t produced = 0, consumed = 0;
      if (zstd) {
        ZSTD_inBuffer ib = {in, k, ipos};
        ZSTD_outBuffer ob = {out, PIECE, 0};
        size_t r = ZSTD_decompressStream(zd, &ob, &ib);
        if (ZSTD_isError(r)) goto done; /* damaged: the importer reports it */
        produced = ob.pos;
        consumed = ib.pos - ipos;
      } else {
        size_t on = PIECE, inn = k - ipos;
        size_t r = LZ4F_decompress(ld, out, &on, in + ipos, &inn, NULL);
        if (LZ4F_isError(r)) goto done;
        produced = on;
        consumed = inn;
      }
      ipos += consumed;
      done_out += produced;
      walk_feed(b, w, out, produced);
      if (!produced && !consumed) break;
    }
  }
done:
  if (zd) ZSTD_freeDStream(zd);
  if (ld) LZ4F_freeDecompressionContext(ld);
  free(in);
  free(out);
  return rc;
}

/* The Chunk record whose content starts at `off` (length len); 1 and msg when refused. */
static int check_chunk(struct bounds *b, uint64_t rec_off, uint64_t off, uint64_t len) {
  uint8_t h[8 + 8 + 8 + 4 + 4 + 64];
  size_t hn = len < sizeof h ? (size_t)len : sizeof h;
  if (hn < 32 || read_at(b, h, hn, off) != 0) return 0; /* the importer reports it */
  uint64_t usize = u64le(h + 16);
  if (usize > b->largest) b->largest = usize;
  if (usize <= b->max_message) return 0; /* no message in it can be too large */
  uint32_t clen = u32le(h + 28);
  char comp[65] = "";
  uint64_t records_off = 0, records_len = 0;
  if (clen <= 64 && 32 + (uint64_t)clen + 8 <= len) {
    memcpy(comp, h + 32, clen);
    comp[clen] = 0;
    uint8_t rl[8];
    records_off = off + 32 + clen + 8;
    if (read_at(b, rl, 8, off + 32 + clen) == 0) records_len = u64le(rl);
    if (records_len > len - (32 + clen + 8)) records_len = len - (32 + clen + 8);
  }
  struct rec_walk w;
  memset(&w, 0, sizeof w);
  /* beyond max_chunk the chunk is refused anyway: the scan only looks for a message to
   * name in its first SRV_CHUNK_SLACK bytes (a writer closes a chunk at its chunk size,
   * so a large message comes after at most that much of other records) */
  uint64_t scan = usize <= b->max_chunk ? usize : SRV_CHUNK_SLACK;
  if (records_len) scan_chunk(b, comp, records_off, records_len, scan, &w);
  if (!w.found && usize <= b->max_chunk) return 0;
  if (w.found) {
    char topic[TOPIC_MAX + 32];
    topic_of(b, w.channel, topic, sizeof topic);
    snprintf(b->msg, b->cap,
             "the message on topic %s at byte %llu of the chunk at offset %llu holds %llu bytes; "
             "the limit (--max-message-size) is %llu",
             topic, (unsigned long long)w.found_at, (unsigned long long)rec_off,
             (unsigned long long)(w.found_len - 22), (unsigned long long)b->max_message);
  } else {
    snprintf(b->msg, b->cap,
             "the chunk at offset %llu declares %llu bytes uncompressed; a chunk may hold at most "
             "%llu (--max-message-size and %u MiB of other records)",
             (unsigned long long)rec_off, (unsigned long long)usize,
             (unsigned long long)b->max_chunk, (unsigned)(SRV_CHUNK_SLACK >> 20));
  }
  return 1;
}

/* ------------------------------------------------------------- the file */

static int walk_data(struct bounds *b) {
  uint64_t pos = 8;
  uint8_t h[9];
  while (pos + 9 <= b->size && read_at(b, h, 9, pos) == 0) {
    uint8_t op = h[0];
    uint64_t len = u64le(h + 1);
    if (len > b->size - pos - 9) return 0; /* truncated: the importer reports it */
    if (op == OP_DATA_END || op == OP_FOOTER) return 0;
    if (op != OP_CHUNK && op != OP_ATTACHMENT && len > b->largest) b->largest = len;
    if (op == OP_CHUNK) {
      if (check_chunk(b, pos, pos + 9, len)) return 1;
    } else if (op == OP_CHANNEL) {
      uint8_t c[TOPIC_MAX + 8];
      size_t n = len < sizeof c ? (size_t)len : sizeof c;
      if (read_at(b, c, n, pos + 9) == 0) note_channel(b, c, n);
    } else if (op == OP_MESSAGE && len > b->max_message + 22) {
      uint8_t c[2] = {0, 0};
      (void)read_at(b, c, 2, pos + 9);
      char topic[TOPIC_MAX + 32];
      topic_of(b, (uint16_t)(c[0] | c[1] << 8), topic, sizeof topic);
      snprintf(b->msg, b->cap,
               "the message on topic %s at offset %llu holds %llu bytes; the limit "
               "(--max-message-size) is %llu",
               topic, (unsigned long long)pos, (unsigned long long)(len - 22),
               (unsigned long long)b->max_message);
      return 1;
    } else if (op != OP_ATTACHMENT && op != OP_MESSAGE && len > b->max_message) {
      snprintf(b->msg, b->cap,
               "the record (opcode 0x%02x) at offset %llu holds %llu bytes; the limit "
               "(--max-message-size) is %llu",
               op, (unsigned long long)pos, (unsigned long long)len,
               (unsigned long long)b->max_message);
      return 1;
    }
    pos += 9 + len;
  }
  return 0;
}

/* The summary section: with check 0 only its Channel records are noted (topics for the
 * messages of the data section); with check 1 its ChunkIndex records are checked. */
static int walk_summary(struct bounds *b, int check) {
  uint8_t f[29];
  if (b->size < 8 + 29 + 8 || read_at(b, f, 29, b->size - 8 - 29) != 0 || f[0] != OP_FOOTER)
    return 0;
  uint64_t start = u64le(f + 9), end = b->size - 8 - 29;
  if (start == 0 || start < 8 || start >= end) return 0;
  uint64_t pos = start;
  uint8_t h[9];
  while (pos + 9 <= end && read_at(b, h, 9, pos) == 0) {
    uint64_t len = u64le(h + 1);
    if (len > end - pos - 9) return 0;
    if (!check && h[0] == OP_CHANNEL) {
      uint8_t c[TOPIC_MAX + 8];
      size_t n = len < sizeof c ? (size_t)len : sizeof c;
      if (read_at(b, c, n, pos + 9) == 0) note_channel(b, c, n);
    } else if (check && h[0] == OP_CHUNK_INDEX && len >= 8 * 4 + 4) {
      /* message times, chunk_start_offset, chunk_length, the message index offsets map,
       * message_index_length, compression, compressed_size, uncompressed_size */
      uint8_t a[36];
      if (read_at(b, a, 36, pos + 9) != 0) return 0;
      uint64_t chunk_off = u64le(a + 16);
      uint64_t map_len = u32le(a + 32);
      uint64_t p = pos + 9 + 36 + map_len + 8;
      uint8_t cl[4];
      if (map_len > len || read_at(b, cl, 4, p) != 0) return 0;
      uint64_t comp_len = u32le(cl);
      uint8_t sz[16];
      if (comp_len > len || read_at(b, sz, 16, p + 4 + comp_len) != 0) return 0;
      uint64_t usize = u64le(sz + 8);
      if (usize > b->largest) b->largest = usize;
      if (usize > b->max_chunk) {
        /* the chunk it points at names the message when it can */
        uint8_t ch[9];
        if (chunk_off >= 8 && read_at(b, ch, 9, chunk_off) == 0 && ch[0] == OP_CHUNK &&
            u64le(ch + 1) <= b->size - chunk_off - 9 &&
            check_chunk(b, chunk_off, chunk_off + 9, u64le(ch + 1)))
          return 1;
        snprintf(b->msg, b->cap,
                 "the chunk index names a chunk at offset %llu of %llu bytes uncompressed; a "
                 "chunk may hold at most %llu (--max-message-size and %u MiB of other records)",
                 (unsigned long long)chunk_off, (unsigned long long)usize,
                 (unsigned long long)b->max_chunk, (unsigned)(SRV_CHUNK_SLACK >> 20));
        return 1;
      }
      /* the Chunk record it points at, wherever that is */
      uint8_t ch[9];
      if (chunk_off >= 8 && read_at(b, ch, 9, chunk_off) == 0 && ch[0] == OP_CHUNK) {
        uint64_t clen = u64le(ch + 1);
        if (clen <= b->size - chunk_off - 9 && check_chunk(b, chunk_off, chunk_off + 9, clen))
          return 1;
      }
    }
    pos += 9 + len;
  }
  return 0;
}

int pl__srv_check_sizes(const char *path, uint64_t max_message, char *msg, size_t cap,
                        uint64_t *largest) {
  struct bounds b;
  memset(&b, 0, sizeof b);
  b.msg = msg;
  b.cap = cap;
  b.max_message = max_message;
  b.max_chunk = max_message + SRV_CHUNK_SLACK;
  b.fd = open(path, O_RDONLY | O_CLOEXEC);
  if (b.fd < 0) {
    snprintf(msg, cap, "cannot open the upload: %s", strerror(errno));
    return -1;
  }
  struct stat sb;
  int rc = 0;
  if (fstat(b.fd, &sb) != 0) {
    snprintf(msg, cap, "cannot stat the upload: %s", strerror(errno));
    rc = -1;
  } else {
    b.size = (uint64_t)sb.st_size;
    b.topics = calloc(MAX_CHANNELS, sizeof *b.topics);
    (void)walk_summary(&b, 0);
    rc = walk_data(&b);
    if (!rc) rc = walk_summary(&b, 1);
  }
  if (b.topics)
    for (size_t i = 0; i < MAX_CHANNELS; i++) free(b.topics[i]);
  free(b.topics);
  close(b.fd);
  if (largest) *largest = b.largest;
  return rc;
}
