/*
 * make_corpus.c - writes the fuzz seed corpus (bin/mcapkit-make-corpus).
 *
 *   mcapkit-make-corpus OUTDIR        (normally tests/fuzz/corpus)
 *
 * Writes, with the libmcap writer, a handful of tiny valid MCAP files
 * (chunked and unchunked; none/zstd/lz4; attachments and metadata; with and
 * without summary, indexes and CRCs) into OUTDIR/stream_reader/ and
 * OUTDIR/indexed_reader/, then cuts seeds for the other targets out of them:
 * each file's summary section into OUTDIR/summary/, every top-level record as
 * opcode+content into OUTDIR/record_parse/ (plus padded and private-record
 * variants), and up to two chunks per compression as selector+size+records into
 * OUTDIR/chunk_decompress/; make_corpus_decode.c adds the pl_decode seeds
 * (OUTDIR/decode/). Output is deterministic (fixed times, fixed
 * Header.library) and every file stays under 4 KiB. Existing files of the
 * same names are overwritten; others are left alone.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "endian.h"
#include "mcap/mcap.h"

#define MAX_SEED_SIZE 4096
/* At most this many record_parse seeds per opcode, and chunk seeds per compression. */
#define SEEDS_PER_KIND 2

struct corpus {
  const char *root;
  unsigned files;
  int failed;
  unsigned record_seeds[256];
  unsigned chunk_seeds[3];
};

static void write_file(struct corpus *c, const char *sub, const char *name, const uint8_t *a,
                       size_t alen, const uint8_t *b, size_t blen) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s/%s", c->root, sub, name);
  if (alen + blen >= MAX_SEED_SIZE) {
    fprintf(stderr, "make-corpus: '%s' would be %zu bytes, over the %d byte budget\n", path,
            alen + blen, MAX_SEED_SIZE);
    c->failed = 1;
    return;
  }
  FILE *f = fopen(path, "wb");
  if (!f) {
    fprintf(stderr, "make-corpus: cannot create '%s': %s\n", path, strerror(errno));
    c->failed = 1;
    return;
  }
  int ok = fwrite(a, 1, alen, f) == alen && (blen == 0 || fwrite(b, 1, blen, f) == blen);
  if (fclose(f) != 0) ok = 0;
  if (!ok) {
    fprintf(stderr, "make-corpus: cannot write '%s'\n", path);
    c->failed = 1;
    return;
  }
  c->files++;
}

static int make_dir(const char *root, const char *sub) {
  char path[4096];
  if (sub) {
    snprintf(path, sizeof path, "%s/%s", root, sub);
  } else {
    snprintf(path, sizeof path, "%s", root);
  }
  if (mkdir(path, 0777) != 0 && errno != EEXIST) {
    fprintf(stderr, "make-corpus: cannot create '%s': %s\n", path, strerror(errno));
    return -1;
  }
  return 0;
}

/* ---------------------------------------------------------------- record seeds */

static void write_record_seed(struct corpus *c, uint8_t opcode, const uint8_t *content,
                              uint64_t len, const char *tag) {
  char name[128];
  snprintf(name, sizeof name, "%s_%s.bin", mcap_opcode_name(opcode), tag);
  write_file(c, "record_parse", name, &opcode, 1, content, (size_t)len);
}

/* A seed cut from a written file: only the first few per opcode, numbered. */
static void record_seed(struct corpus *c, uint8_t opcode, const uint8_t *content, uint64_t len,
                        const char *tag) {
  if (c->record_seeds[opcode] >= SEEDS_PER_KIND) return;
  char numbered[96];
  snprintf(numbered, sizeof numbered, "%s_%u", tag, ++c->record_seeds[opcode]);
  write_record_seed(c, opcode, content, len, numbered);
}

static void chunk_seed(struct corpus *c, const mcap_chunk *chunk, const char *tag) {
  static const char *const names[3] = {"none", "zstd", "lz4"};
  uint8_t head[5];
  int which;
  if (chunk->compression.len == 0) {
    which = 0;
  } else if (chunk->compression.len == 4 && memcmp(chunk->compression.data, "zstd", 4) == 0) {
    which = 1;
  } else if (chunk->compression.len == 3 && memcmp(chunk->compression.data, "lz4", 3) == 0) {
    which = 2;
  } else {
    return;
  }
  if (c->chunk_seeds[which] >= SEEDS_PER_KIND || chunk->uncompressed_size > UINT32_MAX) return;
  head[0] = (uint8_t)which;
  mcap__le32enc(head + 1, (uint32_t)chunk->uncompressed_size);
  char name[128];
  snprintf(name, sizeof name, "%s_%s_%u.bin", names[which], tag, ++c->chunk_seeds[which]);
  write_file(c, "chunk_decompress", name, head, sizeof head, chunk->records.data,
             (size_t)chunk->records.len);
}

/* Walk a file's top-level records (the writer's own output, so well formed). */
static void cut_seeds(struct corpus *c, const uint8_t *file, uint64_t size, const char *tag) {
  uint64_t pos = MCAP_MAGIC_SIZE;
  while (pos + MCAP_RECORD_HEADER_SIZE <= size) {
    const uint8_t opcode = file[pos];
    const uint64_t len = mcap__le64dec(file + pos + 1);
    const uint8_t *content = file + pos + MCAP_RECORD_HEADER_SIZE;
    if (len > size - pos - MCAP_RECORD_HEADER_SIZE) {
      fprintf(stderr, "make-corpus: %s: record at %llu runs past the end\n", tag,
              (unsigned long long)pos);
      c->failed = 1;
      return;
    }
    record_seed(c, opcode, content, len, tag);
    if (opcode == MCAP_OP_CHUNK) {
      mcap_record rec;
      memset(&rec, 0, sizeof rec);
      if (mcap_record_parse(opcode, content, len, pos, &rec, NULL) == MCAP_OK) {
        chunk_seed(c, &rec.u.chunk, tag);
      }
    }
    if (opcode == MCAP_OP_FOOTER) return;
    pos += MCAP_RECORD_HEADER_SIZE + len;
  }
}

/* For fuzz_summary: the bytes from Footer.summary_start up to the Footer, if any. */
static void summary_seed(struct corpus *c, const uint8_t *file, uint64_t size, const char *name) {
  if (size < MCAP_MAGIC_SIZE * 2 + MCAP_FOOTER_RECORD_SIZE) return;
  const uint64_t footer = size - MCAP_MAGIC_SIZE - MCAP_FOOTER_RECORD_SIZE;
  const uint64_t start = mcap__le64dec(file + footer + MCAP_RECORD_HEADER_SIZE);
  if (start == 0 || start >= footer) return;
  char seed[160];
  snprintf(seed, sizeof seed, "%s.summary", name);
  write_file(c, "summary", seed, file + start, (size_t)(footer - start), NULL, 0);
}

/* Seeds no writer produces: record extension bytes and a private record. */
static void extra_record_seeds(struct corpus *c) {
  static const uint8_t header_padded[] = {3, 0, 0, 0, 'r', 'o', 's', 0, 0, 0, 0, 0x01, 0xFF, 0xFF};
  static const uint8_t metadata_index_padded[] = {8, 0, 0, 0, 0, 0, 0, 0, 30,  0,    0,    0,
                                                  0, 0, 0, 0, 1, 0, 0, 0, 'm', 0x01, 0xFF, 0xFF};
  static const uint8_t private_record[] = {'a', 'p', 'p', 0, 1, 2, 3};
  write_record_seed(c, MCAP_OP_HEADER, header_padded, sizeof header_padded, "padded");
  write_record_seed(c, MCAP_OP_METADATA_INDEX, metadata_index_padded, sizeof metadata_index_padded,
                    "padded");
  write_record_seed(c, 0x80, private_record, sizeof private_record, "private");
}

/* ---------------------------------------------------------------- MCAP files */

struct file_spec {
  const char *name; /* without .mcap; also the seed tag */
  mcap_compression compression;
  uint64_t chunk_size;
  int no_chunking;
  int no_summary;
  int no_indexes_no_crcs;
  int messages;    /* per channel */
  int attachments; /* 0..2; the second one is written in pieces */
  int metadata;    /* 0..2 */
};

static const struct file_spec k_files[] = {
    {"empty", MCAP_COMPRESSION_NONE, 0, 0, 0, 0, 0, 0, 0},
    {"unchunked", MCAP_COMPRESSION_NONE, 0, 1, 0, 0, 3, 1, 1},
    {"chunked_none", MCAP_COMPRESSION_NONE, 0, 0, 0, 0, 4, 0, 0},
    {"chunked_zstd", MCAP_COMPRESSION_ZSTD, 256, 0, 0, 0, 6, 0, 0},
    {"chunked_lz4", MCAP_COMPRESSION_LZ4, 256, 0, 0, 0, 6, 0, 0},
    {"attachments_metadata", MCAP_COMPRESSION_ZSTD, 0, 0, 0, 0, 2, 2, 2},
    {"no_summary", MCAP_COMPRESSION_ZSTD, 0, 0, 1, 0, 3, 1, 1},
    {"no_indexes_no_crcs", MCAP_COMPRESSION_LZ4, 0, 0, 0, 1, 3, 1, 1},
};

#define CHECK(expr)                                                               \
  do {                                                                            \
    int rc_ = (expr);                                                             \
    if (rc_ != MCAP_OK) {                                                         \
      fprintf(stderr, "make-corpus: %s: %s failed: %s (%s)\n", spec->name, #expr, \
              mcap_strerror(rc_), w ? mcap_writer_errmsg(w) : "");                \
      goto out;                                                                   \
    }                                                                             \
  } while (0)

static void make_file(struct corpus *c, const struct file_spec *spec) {
  static const char schema_text[] = "{\"type\":\"object\",\"properties\":{\"x\":{}}}";
  mcap_sink sink;
  mcap_writer *w = NULL;
  int ok = 0;
  if (mcap_sink_memory(&sink, 0) != MCAP_OK) {
    c->failed = 1;
    return;
  }

  mcap_writer_options opts;
  mcap_writer_options_init(&opts);
  opts.profile = "";
  opts.library = "mcapkit-make-corpus"; /* fixed, so seeds do not change with the version */
  opts.compression = spec->compression;
  opts.chunk_size = spec->chunk_size;
  opts.no_chunking = spec->no_chunking;
  opts.no_summary = spec->no_summary;
  opts.force_compression = 1; /* tiny chunks would otherwise be stored uncompressed */
  if (spec->no_indexes_no_crcs) {
    opts.no_message_index = 1;
    opts.no_chunk_index = 1;
    opts.no_attachment_index = 1;
    opts.no_metadata_index = 1;
    opts.no_chunk_crc = 1;
    opts.no_data_crc = 1;
    opts.no_summary_crc = 1;
    opts.no_attachment_crc = 1;
  }
  CHECK(mcap_writer_open(&w, &sink, &opts));

  if (spec->messages > 0) {
    uint16_t schema = 0;
    uint16_t channels[2] = {0, 0};
    const mcap_kv meta[2] = {{mcap_str_c("frame"), mcap_str_c("base_link")},
                             {mcap_str_c("rate_hz"), mcap_str_c("10")}};
    mcap_bytes schema_data = {(const uint8_t *)schema_text, sizeof schema_text - 1};
    CHECK(mcap_writer_add_schema(w, mcap_str_c("Pose"), mcap_str_c("jsonschema"), schema_data,
                                 &schema));
    CHECK(mcap_writer_add_channel(w, schema, mcap_str_c("/pose"), mcap_str_c("json"), meta, 2,
                                  &channels[0]));
    /* A schemaless channel too. */
    CHECK(mcap_writer_add_channel(w, 0, mcap_str_c("/log"), mcap_str_c("json"), NULL, 0,
                                  &channels[1]));
    for (int i = 0; i < spec->messages; i++) {
      for (int ch = 0; ch < 2; ch++) {
        char payload[64];
        int n = ch == 0 ? snprintf(payload, sizeof payload, "{\"x\":%d.5}", i)
                        : snprintf(payload, sizeof payload, "{\"msg\":\"tick %d\"}", i);
        mcap_message m;
        memset(&m, 0, sizeof m);
        m.channel_id = channels[ch];
        m.sequence = (uint32_t)i;
        /* Not sorted on purpose: readers must not assume log-time order. */
        m.log_time = 1000000000ull + (uint64_t)((i ^ 1) * 100000000 + ch * 1000);
        m.publish_time = m.log_time;
        m.data.data = (const uint8_t *)payload;
        m.data.len = (uint64_t)n;
        CHECK(mcap_writer_write_message(w, &m));
      }
    }
  }

  if (spec->attachments >= 1) {
    static const uint8_t blob[] = {0x00, 0x01, 0x02, 0xFF, 'c', 'a', 'l'};
    mcap_attachment a;
    memset(&a, 0, sizeof a);
    a.log_time = 1000000000ull;
    a.create_time = 999000000ull;
    a.name = mcap_str_c("calibration.bin");
    a.media_type = mcap_str_c("application/octet-stream");
    a.data.data = blob;
    a.data.len = sizeof blob;
    CHECK(mcap_writer_write_attachment(w, &a));
  }
  if (spec->attachments >= 2) {
    static const char text[] = "robot: r2\nsite: lab\n";
    CHECK(mcap_writer_attachment_begin(w, 1100000000ull, 0, mcap_str_c("robot.yaml"),
                                       mcap_str_c("application/yaml"), sizeof text - 1));
    CHECK(mcap_writer_attachment_write(w, text, 7));
    CHECK(mcap_writer_attachment_write(w, text + 7, sizeof text - 1 - 7));
    CHECK(mcap_writer_attachment_end(w));
  }
  if (spec->metadata >= 1) {
    const mcap_kv kv[2] = {{mcap_str_c("robot"), mcap_str_c("r2")},
                           {mcap_str_c("operator"), mcap_str_c("ana")}};
    CHECK(mcap_writer_write_metadata(w, mcap_str_c("session"), kv, 2));
  }
  if (spec->metadata >= 2) {
    CHECK(mcap_writer_write_metadata(w, mcap_str_c("empty"), NULL, 0));
  }
  CHECK(mcap_writer_close(w));
  ok = 1;

out:
  mcap_writer_free(w);
  if (ok) {
    uint64_t size = 0;
    const uint8_t *bytes = mcap_sink_memory_data(&sink, &size);
    char name[128];
    snprintf(name, sizeof name, "%s.mcap", spec->name);
    write_file(c, "stream_reader", name, bytes, (size_t)size, NULL, 0);
    write_file(c, "indexed_reader", name, bytes, (size_t)size, NULL, 0);
    summary_seed(c, bytes, size, name);
    cut_seeds(c, bytes, size, spec->name);
  } else {
    c->failed = 1;
  }
  mcap_sink_close(&sink, NULL);
}

/* make_corpus_decode.c: the pl_decode targets' seeds. */
int make_decode_corpus(const char *root, unsigned *files);

int main(int argc, char **argv) {
  if (argc != 2 || argv[1][0] == '-') {
    fprintf(stderr, "usage: mcapkit-make-corpus OUTDIR   (normally tests/fuzz/corpus)\n");
    return 2;
  }
  struct corpus c;
  memset(&c, 0, sizeof c);
  c.root = argv[1];
  static const char *const subdirs[] = {"stream_reader", "indexed_reader", "summary",
                                        "record_parse", "chunk_decompress"};
  if (make_dir(c.root, NULL)) return 1;
  for (size_t i = 0; i < sizeof subdirs / sizeof subdirs[0]; i++) {
    if (make_dir(c.root, subdirs[i])) return 1;
  }
  for (size_t i = 0; i < sizeof k_files / sizeof k_files[0]; i++) make_file(&c, &k_files[i]);
  extra_record_seeds(&c);
  if (make_decode_corpus(c.root, &c.files) != 0) c.failed = 1;
  printf("make-corpus: wrote %u files under %s\n", c.files, c.root);
  return c.failed ? 1 : 0;
}
