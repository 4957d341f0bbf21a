/*
 * bench_corpus.c - the in-process measurements of mcapkit-bench: making the
 * cached robot corpus (pl_synth_write), payload generation alone, writing a
 * pre-generated message set, CRC-32 speed, and the raw decompression speed of
 * zstd / lz4 on a file's chunks (the physical limit a reader can approach).
 *
 * Cache files: <cache>/robot-<compression>-<size>mib.mcap plus a `.meta`
 * sidecar (key=value lines) recording what was generated and how long it
 * took; a file whose sidecar is missing or does not match is regenerated.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lz4frame.h>
#include <zstd.h>

#include "bench.h"
#include "crc32.h"
#include "pipeline/synth.h"

#define META_FORMAT 1

static uint64_t le64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}

/* ----------------------------------------------------------------- corpus */

int bench_corpus_duration(uint64_t target_bytes, double *duration) {
  const double trial = 2.0;
  pl_synth_options o;
  pl_synth_stats st;
  mcap_sink sink;
  uint64_t written;
  char msg[256] = "";
  double rate, d;
  int rc;
  memset(&o, 0, sizeof o);
  o.profile = PL_SYNTH_ROBOT;
  o.duration = trial;
  o.compression = MCAP_COMPRESSION_NONE;
  o.n_attachments = PL_SYNTH_NONE;
  o.n_metadata = PL_SYNTH_NONE;
  bench_null_sink(&sink, &written);
  rc = pl_synth_write(&sink, &o, &st, msg, sizeof msg);
  if (rc) {
    bench_err("trial generation failed: %s", msg[0] ? msg : mcap_strerror(rc));
    return -1;
  }
  rate = (double)st.message_bytes / trial;
  if (rate <= 0) {
    bench_err("trial generation wrote no message bytes");
    return -1;
  }
  d = (double)target_bytes / rate;
  if (d < 0.1) d = 0.1;
  if (d > 1e5) d = 1e5;
  /* Milliseconds: the same value on every run, so cached files keep matching. */
  *duration = (double)(uint64_t)(d * 1000.0 + 0.5) / 1000.0;
  return 0;
}

static uint64_t duration_ns(double d) { return (uint64_t)(d * 1e9 + 0.5); }

static int meta_path(char *dst, size_t cap, const char *path) {
  int n = snprintf(dst, cap, "%s.meta", path);
  return n < 0 || (size_t)n >= cap ? -1 : 0;
}

/* Load the sidecar; 0 when it describes `path` as generated with these settings. */
static int meta_load(const char *path, mcap_compression compression, double duration,
                     uint64_t chunk_size, struct bench_corpus_info *info) {
  char mp[4096], text[1024];
  uint64_t fmt, comp, dur, msgs, mbytes, fbytes, gen, chunk = 0;
  struct stat st;
  size_t n;
  FILE *f;
  if (meta_path(mp, sizeof mp, path)) return -1;
  f = fopen(mp, "r");
  if (!f) return -1;
  n = fread(text, 1, sizeof text - 1, f);
  fclose(f);
  text[n] = '\0';
  if (bench_kv_u64(text, "format", &fmt) || fmt != META_FORMAT ||
      bench_kv_u64(text, "compression", &comp) || comp != (uint64_t)compression ||
      bench_kv_u64(text, "duration_ns", &dur) || dur != duration_ns(duration) ||
      bench_kv_u64(text, "messages", &msgs) || bench_kv_u64(text, "message_bytes", &mbytes) ||
      bench_kv_u64(text, "file_bytes", &fbytes) || bench_kv_u64(text, "gen_ns", &gen)) {
    return -1;
  }
  /* Files made before the chunk size was recorded used the default. */
  (void)bench_kv_u64(text, "chunk_size", &chunk);
  if (chunk != chunk_size) return -1;
  if (stat(path, &st) != 0 || (uint64_t)st.st_size != fbytes) return -1;
  info->messages = msgs;
  info->message_bytes = mbytes;
  info->file_bytes = fbytes;
  info->duration = duration;
  info->gen_seconds = (double)gen * 1e-9;
  info->generated_now = 0;
  return 0;
}

static int meta_save(const char *path, mcap_compression compression, uint64_t chunk_size,
                     const struct bench_corpus_info *info) {
  char mp[4096], tmp[4200];
  FILE *f;
  int ok;
  if (meta_path(mp, sizeof mp, path)) return -1;
  snprintf(tmp, sizeof tmp, "%s.tmp", mp);
  f = fopen(tmp, "w");
  if (!f) {
    bench_err("cannot write '%s': %s", tmp, strerror(errno));
    return -1;
  }
  fprintf(f,
          "format=%d\ncompression=%d\nduration_ns=%" PRIu64 "\nmessages=%" PRIu64
          "\nmessage_bytes=%" PRIu64 "\nfile_bytes=%" PRIu64 "\ngen_ns=%" PRIu64
          "\nchunk_size=%" PRIu64 "\n",
          META_FORMAT, (int)compression, duration_ns(info->duration), info->messages,
          info->message_bytes, info->file_bytes, (uint64_t)(info->gen_seconds * 1e9), chunk_size);
  ok = fclose(f) == 0;
  if (!ok || rename(tmp, mp) != 0) {
    bench_err("cannot write '%s': %s", mp, strerror(errno));
    unlink(tmp);
    return -1;
  }
  return 0;
}

int bench_corpus_ensure(const char *path, mcap_compression compression, double duration,
                        struct bench_corpus_info *info) {
  return bench_corpus_ensure_chunked(path, compression, duration, 0, info);
}

int bench_corpus_ensure_chunked(const char *path, mcap_compression compression, double duration,
                                uint64_t chunk_size, struct bench_corpus_info *info) {
  pl_synth_options o;
  pl_synth_stats st;
  mcap_sink sink;
  mcap_error_info e = {0, 0, {0}};
  char msg[256] = "";
  double t0, t1;
  int rc;

  memset(info, 0, sizeof *info);
  if (meta_load(path, compression, duration, chunk_size, info) == 0) return 0;

  fprintf(stderr, "%s: generating '%s' (robot, %.3f s, %s, %s chunks)...\n", BENCH_PROG, path,
          duration,
          compression == MCAP_COMPRESSION_NONE ? "none" : mcap_compression_name(compression),
          chunk_size ? "custom" : "default");
  rc = mcap_sink_open_file(&sink, path, &e);
  if (rc) {
    bench_err("%s", e.msg[0] ? e.msg : mcap_strerror(rc));
    return -1;
  }
  memset(&o, 0, sizeof o);
  o.profile = PL_SYNTH_ROBOT;
  o.duration = duration;
  o.compression = compression;
  o.chunk_size = chunk_size;
  t0 = bench_now();
  rc = pl_synth_write(&sink, &o, &st, msg, sizeof msg);
  t1 = bench_now();
  if (rc) {
    bench_err("generating '%s' failed: %s", path, msg[0] ? msg : mcap_strerror(rc));
    mcap_sink_close(&sink, NULL);
    return -1;
  }
  rc = mcap_sink_commit(&sink, &e);
  if (rc == MCAP_OK) rc = mcap_sink_close(&sink, &e);
  else mcap_sink_close(&sink, NULL);
  if (rc) {
    bench_err("%s", e.msg[0] ? e.msg : mcap_strerror(rc));
    return -1;
  }
  info->messages = st.messages;
  info->message_bytes = st.message_bytes;
  info->file_bytes = st.file_bytes;
  info->duration = duration;
  info->gen_seconds = t1 - t0;
  info->generated_now = 1;
  fprintf(stderr, "%s: ... %.1f MB of messages in %.2f s\n", BENCH_PROG,
          (double)st.message_bytes / 1e6, info->gen_seconds);
  return meta_save(path, compression, chunk_size, info);
}

int bench_generate_only(double duration, double *seconds, uint64_t *message_bytes) {
  pl_synth_options o;
  pl_synth_stats st;
  mcap_sink sink;
  uint64_t written;
  char msg[256] = "";
  double t0;
  int rc;
  memset(&o, 0, sizeof o);
  o.profile = PL_SYNTH_ROBOT;
  o.duration = duration;
  o.compression = MCAP_COMPRESSION_NONE;
  o.no_chunking = 1;
  o.n_attachments = PL_SYNTH_NONE;
  o.n_metadata = PL_SYNTH_NONE;
  bench_null_sink(&sink, &written);
  t0 = bench_now();
  rc = pl_synth_write(&sink, &o, &st, msg, sizeof msg);
  *seconds = bench_now() - t0;
  if (rc) {
    bench_err("generation failed: %s", msg[0] ? msg : mcap_strerror(rc));
    return -1;
  }
  *message_bytes = st.message_bytes;
  return 0;
}

/* ------------------------------------------------------------ message set */

struct bench_msgset {
  uint8_t *map;
  size_t map_len;
  mcap_schema *schemas;
  size_t n_schemas, cap_schemas;
  mcap_channel *channels;
  size_t n_channels, cap_channels;
  mcap_message *msgs;
  size_t n_msgs, cap_msgs;
  uint64_t bytes;
};

static int grow(void **arr, size_t *cap, size_t need, size_t elem) {
  void *p;
  size_t c;
  if (need <= *cap) return 0;
  c = *cap ? *cap * 2 : 64;
  while (c < need) c *= 2;
  p = realloc(*arr, c * elem);
  if (!p) return -1;
  *arr = p;
  *cap = c;
  return 0;
}

/* Keep a schema / channel / message found in the file (first definition of an id wins). */
static int msgset_add(struct bench_msgset *m, const mcap_record *rec) {
  switch (rec->opcode) {
    case MCAP_OP_SCHEMA:
      for (size_t i = 0; i < m->n_schemas; i++) {
        if (m->schemas[i].id == rec->u.schema.id) return 0;
      }
      if (grow((void **)&m->schemas, &m->cap_schemas, m->n_schemas + 1, sizeof *m->schemas)) {
        return -1;
      }
      m->schemas[m->n_schemas++] = rec->u.schema;
      return 0;
    case MCAP_OP_CHANNEL:
      for (size_t i = 0; i < m->n_channels; i++) {
        if (m->channels[i].id == rec->u.channel.id) return 0;
      }
      if (grow((void **)&m->channels, &m->cap_channels, m->n_channels + 1, sizeof *m->channels)) {
        return -1;
      }
      m->channels[m->n_channels++] = rec->u.channel;
      return 0;
    case MCAP_OP_MESSAGE:
      if (grow((void **)&m->msgs, &m->cap_msgs, m->n_msgs + 1, sizeof *m->msgs)) return -1;
      m->msgs[m->n_msgs++] = rec->u.message;
      m->bytes += rec->u.message.data.len;
      return 0;
    default:
      return 0;
  }
}

/* Walk the records of an uncompressed chunk (views stay in the mapping). */
static int msgset_chunk(struct bench_msgset *m, const mcap_chunk *ck, uint64_t offset) {
  const uint8_t *p = ck->records.data;
  uint64_t len = ck->records.len, pos = 0;
  if (ck->compression.len != 0) {
    bench_err("chunk at offset %" PRIu64 " is compressed; the message set needs the 'none' corpus",
              offset);
    return -1;
  }
  while (pos < len) {
    mcap_record rec;
    uint64_t rlen;
    if (len - pos < MCAP_RECORD_HEADER_SIZE) goto bad;
    rlen = le64(p + pos + 1);
    if (rlen > len - pos - MCAP_RECORD_HEADER_SIZE) goto bad;
    memset(&rec, 0, sizeof rec);
    if (mcap_record_parse(p[pos], p + pos + MCAP_RECORD_HEADER_SIZE, rlen, offset, &rec, NULL)) {
      goto bad;
    }
    rec.opcode = p[pos];
    if (msgset_add(m, &rec)) return -1;
    pos += MCAP_RECORD_HEADER_SIZE + rlen;
  }
  return 0;
bad:
  bench_err("chunk at offset %" PRIu64 ": malformed record at chunk byte %" PRIu64, offset, pos);
  return -1;
}

int bench_msgset_load(const char *none_path, struct bench_msgset **out) {
  struct bench_msgset *m = calloc(1, sizeof *m);
  mcap_reader_options o;
  mcap_stream_reader *r = NULL;
  mcap_source src;
  mcap_record rec;
  struct stat st;
  void *map;
  int fd, rc;

  *out = NULL;
  if (!m) return -1;
  fd = open(none_path, O_RDONLY | O_CLOEXEC);
  if (fd < 0 || fstat(fd, &st) != 0 || st.st_size <= 0) {
    bench_err("cannot open '%s': %s", none_path, strerror(errno));
    if (fd >= 0) close(fd);
    free(m);
    return -1;
  }
  map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
  close(fd);
  if (map == MAP_FAILED) {
    bench_err("cannot map '%s': %s", none_path, strerror(errno));
    free(m);
    return -1;
  }
  m->map = map;
  m->map_len = (size_t)st.st_size;
  (void)madvise(map, m->map_len, MADV_WILLNEED);

  mcap_reader_options_init(&o);
  o.raw_chunks = 1;
  if (mcap_source_from_memory(&src, m->map, m->map_len) ||
      mcap_stream_reader_new(&r, &src, &o)) {
    bench_msgset_free(m);
    return -1;
  }
  for (;;) {
    rc = mcap_stream_reader_next(r, &rec);
    if (rc != MCAP_OK) break;
    if (rec.opcode == MCAP_OP_CHUNK) {
      if (msgset_chunk(m, &rec.u.chunk, rec.offset)) break;
    } else if (msgset_add(m, &rec)) {
      break;
    }
  }
  if (rc != MCAP_ITEROVER) {
    if (rc != MCAP_OK) bench_err("reading '%s': %s", none_path, mcap_stream_reader_errmsg(r));
    mcap_stream_reader_free(r);
    bench_msgset_free(m);
    return -1;
  }
  mcap_stream_reader_free(r);
  *out = m;
  return 0;
}

void bench_msgset_free(struct bench_msgset *m) {
  if (!m) return;
  if (m->map) munmap(m->map, m->map_len);
  free(m->schemas);
  free(m->channels);
  free(m->msgs);
  free(m);
}

uint64_t bench_msgset_bytes(const struct bench_msgset *m) { return m ? m->bytes : 0; }

int bench_write_only(const struct bench_msgset *m, mcap_compression compression, double *seconds,
                     uint64_t *out_bytes) {
  mcap_writer_options o;
  mcap_writer *w = NULL;
  mcap_sink sink;
  uint64_t written;
  double t0;
  int rc;
  mcap_writer_options_init(&o);
  o.profile = "ros2";
  o.compression = compression;
  bench_null_sink(&sink, &written);
  t0 = bench_now();
  rc = mcap_writer_open(&w, &sink, &o);
  for (size_t i = 0; rc == MCAP_OK && i < m->n_schemas; i++) {
    rc = mcap_writer_put_schema(w, &m->schemas[i]);
  }
  for (size_t i = 0; rc == MCAP_OK && i < m->n_channels; i++) {
    rc = mcap_writer_put_channel(w, &m->channels[i]);
  }
  for (size_t i = 0; rc == MCAP_OK && i < m->n_msgs; i++) {
    rc = mcap_writer_write_message(w, &m->msgs[i]);
  }
  if (rc == MCAP_OK) rc = mcap_writer_close(w);
  *seconds = bench_now() - t0;
  if (rc) bench_err("writing the message set: %s", w ? mcap_writer_errmsg(w) : mcap_strerror(rc));
  mcap_writer_free(w);
  mcap_sink_close(&sink, NULL);
  *out_bytes = written;
  return rc ? -1 : 0;
}

/* -------------------------------------------------------------------- CRC */

/* Best time over `repeats` of `passes` CRCs of buf[0..size) with f; its value in *out. */
static double crc_time(uint32_t (*f)(uint32_t, const void *, size_t), const uint8_t *buf,
                       size_t size, int passes, int repeats, uint32_t *out) {
  double best = 1e30;
  for (int r = 0; r < repeats; r++) {
    uint32_t c = 0;
    double t0 = bench_now();
    for (int k = 0; k < passes; k++) c = f(0, buf, size);
    double t = bench_now() - t0;
    if (t < best) best = t;
    *out = c;
  }
  return best / passes;
}

int bench_crc(size_t size, size_t cache_size, int repeats, struct bench_crc *out) {
  uint32_t (*const fn[3])(uint32_t, const void *, size_t) = {mcap__crc32_fast, mcap__crc32_pclmul,
                                                             mcap__crc32_table};
  uint8_t *buf = malloc(size);
  uint64_t x = UINT64_C(0x9E3779B97F4A7C15);
  uint32_t v[3];
  if (!buf || cache_size > size || cache_size == 0) {
    free(buf);
    return -1;
  }
  for (size_t i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    buf[i] = (uint8_t)(x >> 32);
  }
  /* From memory: one pass over a buffer much larger than the caches. */
  for (int k = 0; k < 3; k++) out->memory_bps[k] = (double)size / crc_time(fn[k], buf, size, 1, repeats, &v[k]);
  if (v[0] != v[2] || v[1] != v[2]) goto disagree;
  /* In cache: as a chunk just decompressed, many passes over one cache-sized buffer. */
  for (int k = 0; k < 3; k++) {
    out->cache_bps[k] = (double)cache_size / crc_time(fn[k], buf, cache_size, 32, repeats, &v[k]);
  }
  if (v[0] != v[2] || v[1] != v[2]) goto disagree;
  free(buf);
  out->impl = mcap__crc32_impl();
  return 0;
disagree:
  bench_err("CRC-32 implementations disagree: fast 0x%08x, pclmul 0x%08x, table 0x%08x", v[0],
            v[1], v[2]);
  free(buf);
  return -1;
}

/* ------------------------------------------------------ raw decompression */

enum { RAW_NONE, RAW_ZSTD, RAW_LZ4 };

struct raw_chunk {
  size_t at;      /* offset in the arena */
  size_t file_at; /* offset of the same bytes in the file */
  size_t clen, ulen;
  uint32_t crc;
  int codec;
};

/* Decompress every chunk once; with_crc adds the CRCs the streamed reader computes. */
static int raw_pass(const struct raw_chunk *ch, size_t n, const uint8_t *arena, uint8_t *out,
                    ZSTD_DCtx *zd, LZ4F_dctx *ld, int with_crc, int from_file) {
  LZ4F_decompressOptions_t lo;
  memset(&lo, 0, sizeof lo);
  lo.stableDst = 1;
  for (size_t i = 0; i < n; i++) {
    const uint8_t *src = arena + (from_file ? ch[i].file_at : ch[i].at);
    size_t got = 0;
    if (ch[i].codec == RAW_ZSTD) {
      got = ZSTD_decompressDCtx(zd, out, ch[i].ulen, src, ch[i].clen);
      if (ZSTD_isError(got)) got = SIZE_MAX;
    } else if (ch[i].codec == RAW_LZ4) {
      size_t in = 0;
      while (in < ch[i].clen) {
        size_t dsz = ch[i].ulen - got, ssz = ch[i].clen - in;
        size_t r = LZ4F_decompress(ld, out + got, &dsz, src + in, &ssz, &lo);
        if (LZ4F_isError(r) || (ssz == 0 && dsz == 0)) {
          got = SIZE_MAX;
          break;
        }
        in += ssz;
        got += dsz;
      }
    } else {
      memcpy(out, src, ch[i].ulen);
      got = ch[i].ulen;
    }
    if (got != ch[i].ulen) {
      bench_err("raw decompression of chunk %zu failed", i);
      return -1;
    }
    if (with_crc) {
      uint32_t c = mcap__crc32_fast(0, out, ch[i].ulen);
      if (ch[i].crc && c != ch[i].crc) {
        bench_err("chunk %zu: CRC mismatch after raw decompression", i);
        return -1;
      }
      (void)mcap__crc32_fast(0, src, ch[i].clen);
    }
  }
  return 0;
}

/* A file's chunks loaded for raw decompression (bench_raw_load). */
struct bench_raw_set {
  struct raw_chunk *ch;
  size_t n;
  uint8_t *arena, *buf;
  ZSTD_DCtx *zd;
  LZ4F_dctx *ld;
  int fd;
  size_t map_len;
  struct bench_raw facts; /* counts and sizes; the times stay 0 */
};

void bench_raw_free(struct bench_raw_set *rs) {
  if (!rs) return;
  if (rs->fd >= 0) close(rs->fd);
  ZSTD_freeDCtx(rs->zd);
  LZ4F_freeDecompressionContext(rs->ld);
  free(rs->buf);
  free(rs->arena);
  free(rs->ch);
  free(rs);
}

static int bench_raw_load(const char *path, struct bench_raw_set **out) {
  mcap_source src;
  mcap_reader *r = NULL;
  mcap_error_info e = {0, 0, {0}};
  struct bench_raw_set *rs = calloc(1, sizeof *rs);
  struct bench_raw *f;
  uint8_t *map = MAP_FAILED;
  struct stat st;
  int rc = -1;

  *out = NULL;
  if (!rs) return -1;
  rs->fd = -1;
  f = &rs->facts;
  if (mcap_source_open_mmap(&src, path, &e) || mcap_reader_open(&r, &src, NULL, &e)) {
    bench_err("%s", e.msg[0] ? e.msg : mcap_strerror(e.code));
    bench_raw_free(rs);
    return -1;
  }
  rs->fd = open(path, O_RDONLY | O_CLOEXEC);
  if (rs->fd < 0 || fstat(rs->fd, &st) != 0) goto io;
  rs->map_len = (size_t)st.st_size;
  map = mmap(NULL, rs->map_len, PROT_READ, MAP_PRIVATE, rs->fd, 0);
  if (map == MAP_FAILED) goto io;
  rs->n = mcap_reader_chunk_count(r);
  rs->ch = calloc(rs->n ? rs->n : 1, sizeof *rs->ch);
  if (!rs->ch) goto done;
  for (size_t i = 0; i < rs->n; i++) {
    const mcap_chunk_index *ci = mcap_reader_chunk_at(r, i);
    if (ci->chunk_start_offset > rs->map_len ||
        ci->chunk_length > rs->map_len - ci->chunk_start_offset) {
      goto bad;
    }
    f->compressed_bytes += ci->compressed_size;
  }
  rs->arena = malloc(f->compressed_bytes ? (size_t)f->compressed_bytes : 1);
  if (!rs->arena) goto done;
  /* Copy every chunk's compressed records into memory before any timing. */
  for (size_t i = 0, at = 0; i < rs->n; i++) {
    const mcap_chunk_index *ci = mcap_reader_chunk_at(r, i);
    const uint8_t *p = map + ci->chunk_start_offset;
    struct raw_chunk *c = &rs->ch[i];
    mcap_record rec;
    const mcap_chunk *ck = &rec.u.chunk;
    memset(&rec, 0, sizeof rec);
    if (ci->chunk_length < MCAP_RECORD_HEADER_SIZE || p[0] != MCAP_OP_CHUNK ||
        mcap_record_parse(MCAP_OP_CHUNK, p + MCAP_RECORD_HEADER_SIZE,
                          ci->chunk_length - MCAP_RECORD_HEADER_SIZE, ci->chunk_start_offset,
                          &rec, NULL) ||
        ck->records.len > f->compressed_bytes - at || ck->uncompressed_size > SIZE_MAX / 2) {
      goto bad;
    }
    if (ck->compression.len == 0) c->codec = RAW_NONE;
    else if (ck->compression.len == 4 && memcmp(ck->compression.data, "zstd", 4) == 0)
      c->codec = RAW_ZSTD;
    else if (ck->compression.len == 3 && memcmp(ck->compression.data, "lz4", 3) == 0)
      c->codec = RAW_LZ4;
    else goto bad;
    c->at = at;
    c->file_at = (size_t)(ck->records.data - map);
    c->clen = (size_t)ck->records.len;
    c->ulen = (size_t)ck->uncompressed_size;
    c->crc = ck->uncompressed_crc;
    memcpy(rs->arena + at, ck->records.data, c->clen);
    at += c->clen;
    f->uncompressed_bytes += c->ulen;
    if (c->ulen > f->largest_chunk) f->largest_chunk = c->ulen;
  }
  f->chunks = rs->n;
  rs->buf = malloc(f->largest_chunk ? (size_t)f->largest_chunk : 1);
  rs->zd = ZSTD_createDCtx();
  if (!rs->buf || !rs->zd || LZ4F_isError(LZ4F_createDecompressionContext(&rs->ld, LZ4F_VERSION)))
    goto done;
  memset(rs->buf, 0, f->largest_chunk ? (size_t)f->largest_chunk : 1);
  /* A first pass with CRCs checks the data and warms caches and contexts. */
  if (raw_pass(rs->ch, rs->n, rs->arena, rs->buf, rs->zd, rs->ld, 1, 0)) goto done;
  rc = 0;
  goto done;
io:
  bench_err("cannot read '%s': %s", path, strerror(errno));
  goto done;
bad:
  bench_err("'%s': a chunk index does not point at a readable chunk", path);
done:
  if (map != MAP_FAILED) munmap(map, rs->map_len);
  mcap_reader_free(r);
  if (rc) bench_raw_free(rs);
  else *out = rs;
  return rc;
}

int bench_raw_pass(struct bench_raw_set *rs, double *seconds) {
  double t0 = bench_now();
  if (raw_pass(rs->ch, rs->n, rs->arena, rs->buf, rs->zd, rs->ld, 0, 0)) return -1;
  *seconds = bench_now() - t0;
  return 0;
}

int bench_raw_decompress(const char *path, int repeats, struct bench_raw_set **keep,
                         struct bench_raw *out) {
  struct bench_raw_set *rs = NULL;
  memset(out, 0, sizeof *out);
  if (keep) *keep = NULL;
  if (bench_raw_load(path, &rs)) return -1;
  *out = rs->facts;
  out->seconds = out->seconds_crc = out->cpu_seconds = out->seconds_file = 1e30;
  for (int k = 0; k < repeats; k++) {
    double c0 = bench_thread_cpu(), t0 = bench_now();
    if (raw_pass(rs->ch, rs->n, rs->arena, rs->buf, rs->zd, rs->ld, 0, 0)) goto fail;
    double t1 = bench_now(), c1 = bench_thread_cpu();
    if (raw_pass(rs->ch, rs->n, rs->arena, rs->buf, rs->zd, rs->ld, 1, 0)) goto fail;
    double t2 = bench_now();
    if (t1 - t0 < out->seconds) out->seconds = t1 - t0;
    if (c1 - c0 < out->cpu_seconds) out->cpu_seconds = c1 - c0;
    if (t2 - t1 < out->seconds_crc) out->seconds_crc = t2 - t1;
    /* The same chunks where they lie in the file: a fresh mapping each time, so the
     * kernel's work of mapping the page cache is counted as a reader meets it. */
    {
      double t3 = bench_now();
      uint8_t *fm = mmap(NULL, rs->map_len, PROT_READ, MAP_PRIVATE, rs->fd, 0);
      if (fm == MAP_FAILED) {
        bench_err("cannot map '%s': %s", path, strerror(errno));
        goto fail;
      }
      int bad = raw_pass(rs->ch, rs->n, fm, rs->buf, rs->zd, rs->ld, 0, 1);
      munmap(fm, rs->map_len);
      if (bad) goto fail;
      double t4 = bench_now();
      if (t4 - t3 < out->seconds_file) out->seconds_file = t4 - t3;
    }
  }
  if (keep) *keep = rs;
  else bench_raw_free(rs);
  return 0;
fail:
  bench_raw_free(rs);
  return -1;
}
