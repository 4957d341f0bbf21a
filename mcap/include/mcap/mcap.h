/*
 * mcap.h - libmcap, the MCAP reader/writer of mcapkit: the one public header.
 *
 * Sections, simplest first: version and errors; views and record structs;
 * record parsing and encoding; sources and sinks; the streamed reader; the
 * writer. The indexed reader lives in <mcap/indexed.h> (included below once it
 * exists).
 *
 * Conventions (see README "Architecture"):
 * - Every function that can fail returns an int: MCAP_OK (0) or a negative
 *   enum mcap_error value. Detail is on the handle (mcap_*_errmsg) or in a
 *   caller-supplied mcap_error_info.
 * - Constructors deliver the object through a first **out parameter;
 *   _free() accepts NULL and returns void.
 * - Views (mcap_str, mcap_bytes, mcap_map) handed out by a reader are borrowed:
 *   they point into the reader's buffers and stay valid until the next call on
 *   that handle.
 * - Handles are not thread-safe; distinct handles may be used from distinct
 *   threads. There is no global state.
 */
#ifndef MCAP_MCAP_H
#define MCAP_MCAP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- version */

#define MCAP_VERSION_MAJOR 0
#define MCAP_VERSION_MINOR 1
#define MCAP_VERSION_PATCH 0
#define MCAP_VERSION_NUMBER \
  (MCAP_VERSION_MAJOR * 10000 + MCAP_VERSION_MINOR * 100 + MCAP_VERSION_PATCH)

/** The library version as "MAJOR.MINOR.PATCH"; static storage. */
const char *mcap_version_string(void);

/** The default Header.library a writer records: "mcapkit/MAJOR.MINOR.PATCH". */
const char *mcap_default_library(void);

/* ----------------------------------------------------------------- errors */

/** Status codes. Values are pinned: never renumber, only append. */
typedef enum mcap_error {
  MCAP_OK = 0,
  MCAP_ITEROVER = -1,        /* end of iteration, not an error */
  MCAP_EINVAL = -2,          /* bad argument from the caller */
  MCAP_ENOMEM = -3,          /* allocation failed */
  MCAP_EIO = -4,             /* read/write/open failed (errno in the message) */
  MCAP_EMAGIC = -5,          /* leading or trailing magic wrong */
  MCAP_ETRUNCATED = -6,      /* input ended inside a record or before the footer */
  MCAP_ERECORD = -7,         /* record too short for its fields, or malformed */
  MCAP_EOPCODE = -8,         /* opcode not allowed where it appears */
  MCAP_ECRC = -9,            /* a CRC did not match */
  MCAP_ECOMPRESSION = -10,   /* unknown chunk compression */
  MCAP_EDECOMPRESS = -11,    /* decompression failed */
  MCAP_EDECOMPRESS_SIZE = -12, /* decompressed size differs from the declared one */
  MCAP_ELIMIT = -13,         /* a safety limit was exceeded */
  MCAP_ESCHEMA_ID = -14,     /* unknown or conflicting schema id */
  MCAP_ECHANNEL_ID = -15,    /* unknown or conflicting channel id */
  MCAP_EFOOTER = -16,        /* footer missing or inconsistent */
  MCAP_ESTATE = -17,         /* call not valid in the handle's state */
  MCAP_EUNSUPPORTED = -18,   /* operation not supported by this source/sink */
  MCAP_ECHUNK_OFFSET = -19,  /* an index points at the wrong place */
  MCAP_ECOMPRESS = -20,      /* compression failed */
  MCAP_EINDEX = -21          /* an index is inconsistent with the data */
} mcap_error;

/** Static text for a status code ("CRC mismatch", ...). Never NULL. */
const char *mcap_strerror(int code);

/** Error detail for handle-less calls: code, file offset (or UINT64_MAX), one line. */
typedef struct mcap_error_info {
  int code;
  uint64_t offset;
  char msg[256];
} mcap_error_info;

/**
 * What a reader could not read: the damaged or missing parts of its input it
 * skipped or stopped at (mcap_reader_damage, mcap_stream_reader_damage). All
 * zero (problems == 0) when the whole input was read. Lets every caller say
 * "complete" or "incomplete, and what is missing" the same way.
 */
typedef struct mcap_damage {
  uint64_t problems;         /* damaged places met (each skipped, or the one reading stopped at) */
  int code;                  /* mcap_error of the first one */
  uint64_t first_offset;     /* file offset of the first one (UINT64_MAX when none) */
  int rest_unread;           /* reading stopped before the end of the input: nothing from
                                stop_offset on was read */
  uint64_t stop_offset;      /* where it stopped (when rest_unread) */
  uint64_t bytes_skipped;    /* input bytes not read because of the damage, where known (a
                                stream's unread rest is not counted: its size is unknown) */
  uint64_t chunks_skipped;   /* Chunk records skipped whole */
  uint64_t messages_skipped; /* messages known (from message indexes) to be in what was
                                skipped; a lower bound, 0 when nothing says */
  int unreadable;            /* nothing could be read: no magic or no Header */
  char msg[256];             /* the first one: what and where */
} mcap_damage;

/* ------------------------------------------------------------------ views */

/** A string view; not NUL-terminated; data may be NULL when len is 0. */
typedef struct mcap_str {
  const char *data;
  uint32_t len;
} mcap_str;

/** A byte view. */
typedef struct mcap_bytes {
  const uint8_t *data;
  uint64_t len;
} mcap_bytes;

/**
 * A map as it is on the wire: the entry area (without its uint32 byte-length
 * prefix). Map<string,string> and Map<uint16,uint64> both use it; walk it with
 * mcap_map_next_str / mcap_map_next_u16u64. Parsing a record validates that
 * the entry area is well formed, so walking a parsed map cannot fail.
 */
typedef struct mcap_map {
  const uint8_t *data;
  uint32_t len;
} mcap_map;

/** A key/value pair to build a string map from (writer input). */
typedef struct mcap_kv {
  mcap_str key;
  mcap_str value;
} mcap_kv;

/** Make a view of a NUL-terminated string (NULL gives the empty view). */
mcap_str mcap_str_c(const char *s);

/** Iterator over a map's entries. Initialise with { 0 }. */
typedef struct mcap_map_iter {
  uint32_t pos;
} mcap_map_iter;

/**
 * Next entry of a Map<string,string>. @return MCAP_OK, MCAP_ITEROVER at the end,
 * MCAP_ERECORD if the area is malformed (only possible on unvalidated maps).
 */
int mcap_map_next_str(const mcap_map *m, mcap_map_iter *it, mcap_str *key, mcap_str *value);

/** Next entry of a Map<uint16,uint64>; returns as mcap_map_next_str. */
int mcap_map_next_u16u64(const mcap_map *m, mcap_map_iter *it, uint16_t *key, uint64_t *value);

/** Number of entries in a Map<uint16,uint64> (entries are 10 bytes). */
uint32_t mcap_map_u16u64_count(const mcap_map *m);

/** Look up a key in a Map<uint16,uint64>. @return 1 and sets *value if found, else 0. */
int mcap_map_find_u16u64(const mcap_map *m, uint16_t key, uint64_t *value);

/** Count the entries of a Map<string,string>. */
uint32_t mcap_map_str_count(const mcap_map *m);

/* ---------------------------------------------------------------- records */

/** The eight-byte magic at both ends of a file. */
#define MCAP_MAGIC "\x89MCAP0\r\n"
#define MCAP_MAGIC_SIZE 8
/** Record envelope: opcode (1) + content length (8). */
#define MCAP_RECORD_HEADER_SIZE 9
/** A Footer record is always 9 + 20 bytes. */
#define MCAP_FOOTER_RECORD_SIZE 29

typedef enum mcap_opcode {
  MCAP_OP_HEADER = 0x01,
  MCAP_OP_FOOTER = 0x02,
  MCAP_OP_SCHEMA = 0x03,
  MCAP_OP_CHANNEL = 0x04,
  MCAP_OP_MESSAGE = 0x05,
  MCAP_OP_CHUNK = 0x06,
  MCAP_OP_MESSAGE_INDEX = 0x07,
  MCAP_OP_CHUNK_INDEX = 0x08,
  MCAP_OP_ATTACHMENT = 0x09,
  MCAP_OP_ATTACHMENT_INDEX = 0x0A,
  MCAP_OP_STATISTICS = 0x0B,
  MCAP_OP_METADATA = 0x0C,
  MCAP_OP_METADATA_INDEX = 0x0D,
  MCAP_OP_SUMMARY_OFFSET = 0x0E,
  MCAP_OP_DATA_END = 0x0F
} mcap_opcode;

/** Record type name ("Header", "ChunkIndex", ...), "Private" for 0x80-0xFF, "Unknown" otherwise. */
const char *mcap_opcode_name(uint8_t opcode);

typedef struct mcap_header {
  mcap_str profile;
  mcap_str library;
} mcap_header;

typedef struct mcap_footer {
  uint64_t summary_start;
  uint64_t summary_offset_start;
  uint32_t summary_crc;
} mcap_footer;

typedef struct mcap_schema {
  uint16_t id;
  mcap_str name;
  mcap_str encoding;
  mcap_bytes data; /* uint32-prefixed on the wire */
} mcap_schema;

typedef struct mcap_channel {
  uint16_t id;
  uint16_t schema_id;
  mcap_str topic;
  mcap_str message_encoding;
  mcap_map metadata; /* Map<string,string> */
} mcap_channel;

typedef struct mcap_message {
  uint16_t channel_id;
  uint32_t sequence;
  uint64_t log_time;
  uint64_t publish_time;
  mcap_bytes data;
} mcap_message;

typedef struct mcap_chunk {
  uint64_t message_start_time;
  uint64_t message_end_time;
  uint64_t uncompressed_size;
  uint32_t uncompressed_crc;
  mcap_str compression;
  mcap_bytes records; /* compressed records, uint64-prefixed on the wire */
} mcap_chunk;

typedef struct mcap_message_index {
  uint16_t channel_id;
  mcap_bytes entries; /* (log_time u64, offset u64) pairs, 16 bytes each */
} mcap_message_index;

/** Number of entries in a MessageIndex, and the i-th entry (i < count). */
uint64_t mcap_message_index_count(const mcap_message_index *mi);
void mcap_message_index_entry(const mcap_message_index *mi, uint64_t i, uint64_t *log_time,
                              uint64_t *offset);

typedef struct mcap_chunk_index {
  uint64_t message_start_time;
  uint64_t message_end_time;
  uint64_t chunk_start_offset;
  uint64_t chunk_length;
  mcap_map message_index_offsets; /* Map<uint16,uint64> */
  uint64_t message_index_length;
  mcap_str compression;
  uint64_t compressed_size;
  uint64_t uncompressed_size;
} mcap_chunk_index;

typedef struct mcap_attachment {
  uint64_t log_time;
  uint64_t create_time;
  mcap_str name;
  mcap_str media_type;
  mcap_bytes data; /* uint64-prefixed on the wire */
  uint32_t crc;
} mcap_attachment;

typedef struct mcap_attachment_index {
  uint64_t offset;
  uint64_t length;
  uint64_t log_time;
  uint64_t create_time;
  uint64_t data_size;
  mcap_str name;
  mcap_str media_type;
} mcap_attachment_index;

typedef struct mcap_statistics {
  uint64_t message_count;
  uint16_t schema_count;
  uint32_t channel_count;
  uint32_t attachment_count;
  uint32_t metadata_count;
  uint32_t chunk_count;
  uint64_t message_start_time;
  uint64_t message_end_time;
  mcap_map channel_message_counts; /* Map<uint16,uint64> */
} mcap_statistics;

typedef struct mcap_metadata {
  mcap_str name;
  mcap_map metadata; /* Map<string,string> */
} mcap_metadata;

typedef struct mcap_metadata_index {
  uint64_t offset;
  uint64_t length;
  mcap_str name;
} mcap_metadata_index;

typedef struct mcap_summary_offset {
  uint8_t group_opcode;
  uint64_t group_start;
  uint64_t group_length;
} mcap_summary_offset;

typedef struct mcap_data_end {
  uint32_t data_section_crc;
} mcap_data_end;

/**
 * One record. `content` is the raw record content (after the 9-byte envelope);
 * the union member matching `opcode` holds the parsed fields (none for private
 * and unknown opcodes, which are passed through unparsed).
 */
typedef struct mcap_record {
  uint8_t opcode;
  /* Absolute file offset of the opcode byte; for a record inside a chunk, the
   * offset of the opcode within the chunk's decompressed records. */
  uint64_t offset;
  /* Non-zero when the record came out of a chunk; chunk_offset is then the
   * file offset of that Chunk record. */
  int in_chunk;
  uint64_t chunk_offset;
  mcap_bytes content;
  union {
    mcap_header header;
    mcap_footer footer;
    mcap_schema schema;
    mcap_channel channel;
    mcap_message message;
    mcap_chunk chunk;
    mcap_message_index message_index;
    mcap_chunk_index chunk_index;
    mcap_attachment attachment;
    mcap_attachment_index attachment_index;
    mcap_statistics statistics;
    mcap_metadata metadata;
    mcap_metadata_index metadata_index;
    mcap_summary_offset summary_offset;
    mcap_data_end data_end;
  } u;
} mcap_record;

/**
 * Parse a record's content into rec->u. Views point into `content`.
 * Bytes after the known fields are ignored (record extension).
 * @param opcode the record's opcode; private/unknown opcodes parse to nothing.
 * @param err optional; on failure gets the code and the field that was short,
 *        with `offset` set to `base_offset` (the caller's offset of the record).
 * @return MCAP_OK, MCAP_ERECORD (too short / malformed field).
 */
int mcap_record_parse(uint8_t opcode, const uint8_t *content, uint64_t len, uint64_t base_offset,
                      mcap_record *rec, mcap_error_info *err);

/**
 * Encode a record (envelope included) from rec->opcode and rec->u. For private
 * and unknown opcodes rec->content is written as is.
 * @param dst buffer of at least `cap` bytes, or NULL to only compute the size.
 * @param[out] size bytes the record needs (written when dst is non-NULL and big enough).
 * @return MCAP_OK; MCAP_ELIMIT when a field is too long for its length prefix;
 *         MCAP_EINVAL when dst is non-NULL and cap < size.
 */
int mcap_record_encode(const mcap_record *rec, uint8_t *dst, uint64_t cap, uint64_t *size);

/**
 * CRC-32 (ISO-HDLC, as zlib) continued from `crc` (start with 0).
 * Uses carry-less multiplication where the CPU has it.
 */
uint32_t mcap_crc32(uint32_t crc, const void *data, size_t len);

/* ---------------------------------------------------------------- sources */

/** Size of a source whose length is not known (a pipe). */
#define MCAP_SIZE_UNKNOWN UINT64_MAX

/**
 * A readable input. `read` makes up to `len` bytes starting at `offset`
 * available through *out and sets *got; the bytes stay valid until the next
 * read or close. A source may hand out fewer bytes than asked for (the readers
 * then read on and assemble the pieces); *got == 0 means end of input. Sources
 * with unknown size are forward-only: offsets must not go below the previous
 * read's offset. Returns MCAP_OK or a negative mcap_error, detail in `err`.
 */
typedef struct mcap_source {
  void *payload;
  uint64_t size; /* MCAP_SIZE_UNKNOWN for streams */
  int (*read)(void *payload, uint64_t offset, uint64_t len, const uint8_t **out, uint64_t *got,
              mcap_error_info *err);
  void (*close)(void *payload);
  /* Optional (NULL when not supported): copy exactly `len` bytes at `offset` into dst.
   * Must be safe to call from several threads at once, also while `read` is in use:
   * the indexed reader's workers use it to fetch chunks in parallel. */
  int (*read_at)(void *payload, uint64_t offset, uint64_t len, uint8_t *dst,
                 mcap_error_info *err);
} mcap_source;

/** A source over caller memory (not copied; must outlive the source). */
int mcap_source_from_memory(mcap_source *src, const void *data, uint64_t size);

/**
 * A file for reading with bounded memory: a sliding memory-mapped window
 * (zero-copy; 16 MiB ahead for sequential reads, just the asked range for
 * random ones), falling back to pread through a read-ahead buffer where mapping
 * fails. Memory use is bounded by the window and the largest single read,
 * not by the file. Supports read_at (pread); the indexed reader's workers map
 * the chunks they decompress from it directly. Like every mapping, it assumes
 * the file is not truncated while it is read: touching a mapped page past a new
 * end raises SIGBUS, which a library cannot catch for its caller.
 */
int mcap_source_open_file(mcap_source *src, const char *path, mcap_error_info *err);

/**
 * A file mapped whole into memory (zero-copy); falls back to pread if mmap fails.
 * Note: pages touched stay resident (and count in the process's RSS) until the
 * source is closed; prefer mcap_source_open_file for large files. The file must
 * not be truncated while mapped (SIGBUS), as for mcap_source_open_file.
 */
int mcap_source_open_mmap(mcap_source *src, const char *path, mcap_error_info *err);

/** A forward-only stream on a file descriptor (stdin, a pipe). The fd is not closed. */
int mcap_source_from_fd(mcap_source *src, int fd, mcap_error_info *err);

/** Release a source (calls its close); accepts a zeroed source. */
void mcap_source_close(mcap_source *src);

/* ------------------------------------------------------------------ sinks */

/**
 * A writable output. `write` writes all `len` bytes or fails; `close` flushes
 * and releases (it may fail). Sinks never seek.
 */
typedef struct mcap_sink {
  void *payload;
  int (*write)(void *payload, const void *buf, size_t len, mcap_error_info *err);
  int (*close)(void *payload, mcap_error_info *err);
} mcap_sink;

/**
 * A sink writing to `path` atomically: bytes go to a temporary file beside it,
 * which mcap_sink_commit() fsyncs and renames over `path`; closing without a
 * commit removes the temporary file and leaves `path` untouched. Where Linux
 * allows (O_TMPFILE and /proc), the temporary file has no name until the
 * commit, so a process killed before it leaves nothing behind either. The
 * result has the mode of the file it replaces, else a new file's (0666 less
 * the umask). A symlink at `path` is replaced, not followed. A `path` that is
 * not a regular file (a device such as /dev/null, a FIFO) is written where it
 * is, as a shell redirection would: nothing is replaced or removed there. A
 * directory is refused (MCAP_EINVAL).
 */
int mcap_sink_open_file(mcap_sink *sink, const char *path, mcap_error_info *err);

/**
 * Flush and fsync an atomic file sink without publishing it, so that its bytes can
 * be checked before mcap_sink_commit(): *path (the sink's, valid until the commit or
 * close) reads them back; NULL when the target is not a regular file (nothing can be
 * read back). Only for mcap_sink_open_file.
 */
int mcap_sink_sync(mcap_sink *sink, const char **path, mcap_error_info *err);

/** Make an atomic file sink's output visible (fsync + rename). Only for mcap_sink_open_file. */
int mcap_sink_commit(mcap_sink *sink, mcap_error_info *err);

/** A sink on a file descriptor (stdout, a pipe). The fd is not closed. */
int mcap_sink_from_fd(mcap_sink *sink, int fd, mcap_error_info *err);

/** A sink into a growable memory buffer, capped at `max_size` bytes (0 = no cap). */
int mcap_sink_memory(mcap_sink *sink, uint64_t max_size);

/** The bytes written so far to a memory sink; borrowed, valid until the next write or close. */
const uint8_t *mcap_sink_memory_data(const mcap_sink *sink, uint64_t *size);

/** Close and release a sink (for file sinks without commit: discard); returns close's status. */
int mcap_sink_close(mcap_sink *sink, mcap_error_info *err);

/* -------------------------------------------------------- streamed reader */

/**
 * Reader options. All-zero means the recommended defaults: every check on,
 * chunks opened, limits at their defaults.
 */
typedef struct mcap_reader_options {
  int no_magic_check;      /* skip leading/trailing magic checks */
  int no_chunk_crc;        /* skip Chunk.uncompressed_crc */
  int no_data_crc;         /* skip DataEnd.data_section_crc */
  int no_summary_crc;      /* skip Footer.summary_crc */
  int no_attachment_crc;   /* skip Attachment.crc */
  int raw_chunks;          /* yield Chunk records instead of their contents */
  int allow_no_footer;     /* end of input after DataEnd or a whole record is not an error */
  uint64_t max_record_size;            /* 0 = 4 GiB */
  uint64_t max_chunk_uncompressed_size; /* 0 = 4 GiB */
} mcap_reader_options;

/** Default cap on one record's content and on a chunk's decompressed size. */
#define MCAP_DEFAULT_MAX_RECORD_SIZE (UINT64_C(4) << 30)

/** Fill opts with the defaults (same as zeroing it). */
void mcap_reader_options_init(mcap_reader_options *opts);

typedef struct mcap_stream_reader mcap_stream_reader;

/**
 * Create a streamed reader that walks every record in file order.
 * @param src the input; the reader takes ownership and closes it on free.
 * @param opts NULL for defaults; copied.
 * @return MCAP_OK or MCAP_ENOMEM. On failure src is closed.
 */
int mcap_stream_reader_new(mcap_stream_reader **out, mcap_source *src,
                           const mcap_reader_options *opts);

/**
 * Next record. Chunks are opened and their records yielded in place (rec->in_chunk
 * set) unless raw_chunks is set. Summary records, SummaryOffsets, DataEnd and the
 * Footer are yielded too; after the Footer (and trailing magic) comes MCAP_ITEROVER.
 * The record and every view in it are borrowed until the next call.
 * @return MCAP_OK, MCAP_ITEROVER, or an error; after an error the reader is dead
 *         and returns the same error again.
 */
int mcap_stream_reader_next(mcap_stream_reader *r, mcap_record *rec);

/** One line saying what went wrong and where (offset, record, field). "" if nothing did. */
const char *mcap_stream_reader_errmsg(const mcap_stream_reader *r);

/** File offset of the last error (UINT64_MAX if not at a known place). */
uint64_t mcap_stream_reader_error_offset(const mcap_stream_reader *r);

/**
 * What the reader could not read (all zero while it has met no error): after
 * an error, where it stopped and why; `unreadable` when the input did not even
 * start like an MCAP file (magic, Header). A stream reader never skips: the
 * error that ends it is its one problem.
 */
void mcap_stream_reader_damage(const mcap_stream_reader *r, mcap_damage *out);

/** Bytes of the input consumed so far. */
uint64_t mcap_stream_reader_position(const mcap_stream_reader *r);

/** Free the reader and close its source. Accepts NULL. */
void mcap_stream_reader_free(mcap_stream_reader *r);

/**
 * Decompress a chunk's records into dst (of exactly chunk->uncompressed_size
 * bytes) and check its CRC unless no_crc. Handle-less helper; a reusable codec
 * context is kept inside `ctx` (create with mcap_decompressor_new).
 */
typedef struct mcap_decompressor mcap_decompressor;
int mcap_decompressor_new(mcap_decompressor **out);
void mcap_decompressor_free(mcap_decompressor *d);
int mcap_chunk_decompress(mcap_decompressor *d, const mcap_chunk *chunk, uint8_t *dst,
                          uint64_t dst_len, int no_crc, mcap_error_info *err);

/**
 * 1 when a chunk's declared uncompressed size is possible for its compressed bytes: no
 * codec expands more than 2^17:1 (zstd's bound per block is below it), so a larger claim
 * is damage, to be refused before allocating for it. Every reader of this library and the
 * pipeline checks it. Reads only *chunk; safe from any thread.
 */
int mcap_chunk_size_possible(const mcap_chunk *chunk);

/**
 * The checks of a chunk's declared uncompressed size before anything is allocated for it:
 * MCAP_OK, MCAP_ELIMIT when it exceeds `limit` (or SIZE_MAX), MCAP_ERECORD when it is
 * impossible for its compressed bytes (mcap_chunk_size_possible). `err` (may be NULL) gets
 * the one message every reader gives, naming the Chunk record at `offset`.
 */
int mcap_chunk_size_check(const mcap_chunk *chunk, uint64_t offset, uint64_t limit,
                          mcap_error_info *err);

/* ----------------------------------------------------------------- writer */

typedef enum mcap_compression {
  MCAP_COMPRESSION_DEFAULT = 0, /* zstd */
  MCAP_COMPRESSION_NONE = 1,
  MCAP_COMPRESSION_ZSTD = 2,
  MCAP_COMPRESSION_LZ4 = 3
} mcap_compression;

/** "" / "zstd" / "lz4" for a compression; NULL for an invalid value. */
const char *mcap_compression_name(mcap_compression c);

/** Parse "none"/""/"zstd"/"lz4". @return MCAP_OK or MCAP_EINVAL. */
int mcap_compression_parse(const char *name, mcap_compression *out);

/**
 * A pool of compression threads that writers share (mcap_writer_options.pool):
 * the chunks any of them seals are compressed in parallel while each writer
 * still writes its chunks in its own order, so the files are byte-identical to
 * those written without a pool. `threads` counts the callers' share: threads - 1
 * threads are started, and a writer that must wait for one of its chunks
 * compresses the oldest queued chunk (of any writer) itself meanwhile, so a
 * program that writes from one thread keeps `threads` cores busy.
 * Thread-safe: writers used from different threads may share a pool.
 * @param threads at least 1 (1: no thread is started; callers compress).
 * @return MCAP_OK or MCAP_ENOMEM.
 */
typedef struct mcap_pool mcap_pool;
int mcap_pool_new(mcap_pool **out, int threads);

/** Stop the pool's threads. Every writer that uses it must be freed first. Accepts NULL. */
void mcap_pool_free(mcap_pool *p);

/** The `threads` the pool was made with (0 for NULL). */
int mcap_pool_threads(const mcap_pool *p);

/**
 * The compression levels a codec takes, besides 0 (its default): zstd its own
 * range (1 to 22; negative levels are faster), lz4 1 to 12 (3 and up are its
 * high-compression mode), none no level at all (min > max). The writer refuses
 * any other level (MCAP_EINVAL).
 * @return MCAP_OK or MCAP_EINVAL for an invalid compression.
 */
int mcap_compression_levels(mcap_compression c, int *min, int *max);

/**
 * Writer options. All-zero means the recommended defaults: zstd level 3 chunks
 * of 1 MiB, every index, statistics, repeated schemas and channels, summary
 * offsets and CRCs.
 */
typedef struct mcap_writer_options {
  const char *profile;    /* Header.profile; NULL = "" */
  const char *library;    /* Header.library; NULL = mcap_default_library() */
  uint64_t chunk_size;    /* target uncompressed chunk size; 0 = 1 MiB */
  mcap_compression compression;
  int compression_level;  /* 0 = codec default (zstd 3, lz4 0) */
  int no_chunking;        /* write messages, schemas, channels straight into the data section */
  int no_message_index;
  int no_chunk_index;
  int no_attachment_index;
  int no_metadata_index;
  int no_statistics;
  int no_repeated_schemas;
  int no_repeated_channels;
  int no_summary_offsets;
  int no_summary;         /* no summary section at all (implies the five above) */
  int no_chunk_crc;       /* Chunk.uncompressed_crc = 0 */
  int no_data_crc;        /* DataEnd.data_section_crc = 0 */
  int no_summary_crc;     /* Footer.summary_crc = 0 */
  int no_attachment_crc;  /* Attachment.crc = 0 */
  int force_compression;  /* compress even when it does not pay (else chunks that shrink by
                             less than 2% are stored uncompressed) */
  int workers;            /* compression threads, the caller's included: 0 or 1 = compress
                             inline; N >= 2 = a pool of N of its own (see mcap_pool) */
  mcap_pool *pool;        /* borrowed: compress on this shared pool instead (workers is then
                             ignored); it must outlive the writer */
} mcap_writer_options;

/** Fill opts with the defaults (same as zeroing it). */
void mcap_writer_options_init(mcap_writer_options *opts);

typedef struct mcap_writer mcap_writer;

/**
 * Start a file: writes the magic and the Header.
 * @param sink where bytes go; borrowed: the caller closes (and commits) it after
 *        mcap_writer_close().
 * @param opts NULL for defaults; strings are copied.
 */
int mcap_writer_open(mcap_writer **out, mcap_sink *sink, const mcap_writer_options *opts);

/**
 * Register a schema and get its id (from 1). Registering one identical to an
 * earlier one returns that one's id. The record is written at once: into the
 * open chunk when chunking, else into the data section.
 */
int mcap_writer_add_schema(mcap_writer *w, mcap_str name, mcap_str encoding, mcap_bytes data,
                           uint16_t *out_id);

/**
 * Register a channel and get its id (from 1, as the official writers do).
 * Metadata keys are sorted on the wire. Identical re-registration returns the
 * existing id. schema_id 0 = no schema.
 */
int mcap_writer_add_channel(mcap_writer *w, uint16_t schema_id, mcap_str topic,
                            mcap_str message_encoding, const mcap_kv *metadata, size_t n_metadata,
                            uint16_t *out_id);

/**
 * Register a schema / channel under the caller's id (rewriting tools keep ids).
 * An id already registered with different content is MCAP_ESCHEMA_ID /
 * MCAP_ECHANNEL_ID; an identical one is a no-op. Written at once as above.
 */
int mcap_writer_put_schema(mcap_writer *w, const mcap_schema *s);
int mcap_writer_put_channel(mcap_writer *w, const mcap_channel *c);

/** Write a message on a registered channel. */
int mcap_writer_write_message(mcap_writer *w, const mcap_message *m);

/** Write an attachment whose data is all in memory (crc computed unless disabled). */
int mcap_writer_write_attachment(mcap_writer *w, const mcap_attachment *a);

/**
 * Write an attachment in pieces: begin with its total size, then write exactly
 * that many bytes in any number of calls, then end. Nothing else may be written
 * in between. Memory use does not depend on the size.
 */
int mcap_writer_attachment_begin(mcap_writer *w, uint64_t log_time, uint64_t create_time,
                                 mcap_str name, mcap_str media_type, uint64_t data_size);
int mcap_writer_attachment_write(mcap_writer *w, const void *data, size_t len);
int mcap_writer_attachment_end(mcap_writer *w);

/**
 * Copy a chunk into the file as it is (its compressed bytes untouched): for
 * rewriting tools that keep a whole chunk. `indexes` describe its messages, one
 * per channel, as read from the input's MessageIndex records (offsets within
 * the chunk's decompressed records); they become the output's message indexes,
 * chunk index and statistics. Every channel they name must be registered
 * first (mcap_writer_put_channel). The open chunk is flushed before it, so
 * file order is kept. @return MCAP_ECHANNEL_ID for an unregistered channel.
 */
int mcap_writer_write_chunk_raw(mcap_writer *w, const mcap_chunk *chunk,
                                const mcap_message_index *indexes, size_t n_indexes);

/** Write a Metadata record from key/value pairs (written in the order given). */
int mcap_writer_write_metadata(mcap_writer *w, mcap_str name, const mcap_kv *kv, size_t n);

/** Write a Metadata record whose map is already encoded. */
int mcap_writer_write_metadata_record(mcap_writer *w, const mcap_metadata *m);

/**
 * Finish the file: flush the open chunk, write DataEnd, the summary, summary
 * offsets, Footer and magic. Does not close the sink.
 */
int mcap_writer_close(mcap_writer *w);

/** Free the writer (after close, or to abandon a failed file). Accepts NULL. */
void mcap_writer_free(mcap_writer *w);

/** One line about the last error. */
const char *mcap_writer_errmsg(const mcap_writer *w);

/** Bytes written to the sink so far. */
uint64_t mcap_writer_bytes_written(const mcap_writer *w);

/* -------------------------------------------------------- indexed reader */

/**
 * The indexed reader opens a seekable source by its footer and summary and
 * answers queries by topic and time in file, log-time or reverse log-time
 * order, reading only the chunks a query needs. Without a usable summary it
 * builds the same index with one linear scan (mcap_reader_index_source says
 * which happened and why).
 */
typedef struct mcap_reader mcap_reader;

typedef enum mcap_index_source {
  MCAP_INDEX_FROM_SUMMARY = 0, /* footer + summary section */
  MCAP_INDEX_FROM_SCAN = 1     /* one linear pass over the data section */
} mcap_index_source;

typedef struct mcap_indexed_options {
  mcap_reader_options base;  /* CRC toggles and limits, as for the streamed reader */
  int force_scan;            /* ignore the summary and scan */
  int threads;               /* decompressing threads, the caller's included: 0 = number of
                                cores, 1 = the caller alone decompresses (a query of several
                                chunks still starts a helper thread that checks chunk CRCs
                                beside it, and a file source one that maps ahead) */
  uint64_t memory_budget;    /* max bytes of decompressed chunks held at once; 0 = unlimited
                                (at least one chunk per worker is always allowed) */
  int skip_bad_chunks;       /* a query skips a chunk it cannot read (truncated, malformed,
                                bad CRC, cannot be decompressed) and goes on, counting it in
                                mcap_reader_damage, instead of failing; I/O errors and lack of
                                memory still fail */
  /* Optional: called once for each damaged place as it is met (a scan that stops early, a
   * chunk skipped by the scan or by a query), on the thread that called the reader. */
  void (*on_problem)(void *user, const mcap_error_info *problem);
  void *problem_user;
} mcap_indexed_options;

/**
 * Open a file for indexed reading.
 * @param src a source with a known size; the reader takes ownership (closed on free,
 *        also on failure).
 * @param opts NULL for defaults.
 * @return MCAP_OK; MCAP_EMAGIC, MCAP_ETRUNCATED, MCAP_EIO, ... when not even a scan
 *         can make sense of the file (message in *err when err is non-NULL).
 */
int mcap_reader_open(mcap_reader **out, mcap_source *src, const mcap_indexed_options *opts,
                     mcap_error_info *err);

/** Free the reader, its index and its source. Accepts NULL. Iterators must be freed first. */
void mcap_reader_free(mcap_reader *r);

/** One line about the last error on this reader. */
const char *mcap_reader_errmsg(const mcap_reader *r);

/** Where the index came from, and (for a scan) why: "no summary", "summary CRC mismatch", ... */
mcap_index_source mcap_reader_index_source(const mcap_reader *r, const char **why);

/** After a scan: why it stopped before DataEnd ("" when it read the whole data section). */
const char *mcap_reader_scan_problem(const mcap_reader *r);

/**
 * What the reader could not read so far: a scan that stopped before the end of
 * the data section (rest_unread, with the bytes after it), chunks the scan or
 * a query (with skip_bad_chunks) skipped. It grows as queries meet damaged
 * chunks; each chunk is counted once. All zero for an intact file.
 */
void mcap_reader_damage(const mcap_reader *r, mcap_damage *out);

/** The file's Header (views valid for the reader's life). */
const mcap_header *mcap_reader_header(const mcap_reader *r);

/** The footer as read (zeroed when the file has none and was scanned). */
const mcap_footer *mcap_reader_footer(const mcap_reader *r);

/**
 * Statistics: the file's Statistics record, or, after a scan or when the file
 * has none, statistics computed from the index (chunk_count etc. exact;
 * per-channel counts from message indexes or the scan). NULL never.
 * @param[out] from_file set to 1 when it is the file's own record.
 */
const mcap_statistics *mcap_reader_statistics(const mcap_reader *r, int *from_file);

/** Per-channel message count (from statistics or index); 0 if unknown channel. */
uint64_t mcap_reader_channel_message_count(const mcap_reader *r, uint16_t channel_id);

/**
 * The log time of a channel's first and last message, exact: from the MessageIndex records
 * of the chunks that can hold them (a few small reads), else by reading those chunks.
 * Not while an iterator is open on the reader.
 * @param[out] first, last set on MCAP_OK.
 * @return MCAP_OK, MCAP_ITEROVER when the channel has no messages (or is not defined),
 *         MCAP_EINVAL, MCAP_ESTATE, or a read error (message on the reader).
 */
int mcap_reader_channel_time_range(mcap_reader *r, uint16_t channel_id, uint64_t *first,
                                   uint64_t *last);

/* Schemas and channels: by position (0..count-1, ordered by id) or by id. NULL if none.
 * All views stay valid for the reader's life. */
size_t mcap_reader_schema_count(const mcap_reader *r);
const mcap_schema *mcap_reader_schema_at(const mcap_reader *r, size_t i);
const mcap_schema *mcap_reader_schema(const mcap_reader *r, uint16_t id);
size_t mcap_reader_channel_count(const mcap_reader *r);
const mcap_channel *mcap_reader_channel_at(const mcap_reader *r, size_t i);
const mcap_channel *mcap_reader_channel(const mcap_reader *r, uint16_t id);

/* Chunk, attachment and metadata indexes in file order; valid for the reader's life. */
size_t mcap_reader_chunk_count(const mcap_reader *r);
const mcap_chunk_index *mcap_reader_chunk_at(const mcap_reader *r, size_t i);
size_t mcap_reader_attachment_count(const mcap_reader *r);
const mcap_attachment_index *mcap_reader_attachment_at(const mcap_reader *r, size_t i);
size_t mcap_reader_metadata_count(const mcap_reader *r);
const mcap_metadata_index *mcap_reader_metadata_at(const mcap_reader *r, size_t i);

/**
 * Read one attachment by its index entry, CRC checked (unless disabled).
 * The record's views are borrowed until the next call on the reader.
 */
int mcap_reader_read_attachment(mcap_reader *r, const mcap_attachment_index *ai,
                                mcap_attachment *out);

/** Read one Metadata record by its index entry; views borrowed until the next call. */
int mcap_reader_read_metadata(mcap_reader *r, const mcap_metadata_index *mi, mcap_metadata *out);

/**
 * Stream a large attachment's data in pieces: open gives the record's fields
 * (data view empty), then read fills `buf` with up to `cap` bytes at a time
 * (0 at the end, when the CRC has been checked). Memory use is independent of
 * the attachment's size.
 */
typedef struct mcap_attachment_stream mcap_attachment_stream;
int mcap_reader_attachment_open(mcap_reader *r, const mcap_attachment_index *ai,
                                mcap_attachment_stream **out, mcap_attachment *fields);
int mcap_attachment_stream_read(mcap_attachment_stream *s, void *buf, size_t cap, size_t *got);
void mcap_attachment_stream_free(mcap_attachment_stream *s);

typedef enum mcap_read_order {
  MCAP_ORDER_FILE = 0,      /* chunk by chunk in file order, records in chunk order */
  MCAP_ORDER_LOG_TIME = 1,  /* ascending log_time; ties in file order */
  MCAP_ORDER_REVERSE = 2    /* descending log_time; ties in reverse file order */
} mcap_read_order;

/** A query. Zero it, then set what you need. */
typedef struct mcap_query {
  const char *const *topics; /* exact topic names; NULL/0 = all topics */
  size_t n_topics;
  /* Optional predicate over channels (applied after `topics`); non-zero keeps. */
  int (*channel_filter)(void *ctx, const mcap_channel *channel, const mcap_schema *schema);
  void *channel_filter_ctx;
  int has_start, has_end;    /* time bounds, both inclusive */
  uint64_t start, end;
  mcap_read_order order;
} mcap_query;

/** One message with its channel and schema (schema NULL when schemaless). All borrowed. */
typedef struct mcap_message_view {
  mcap_message message;
  const mcap_channel *channel;
  const mcap_schema *schema;
  uint64_t chunk_offset;  /* file offset of its Chunk, or UINT64_MAX outside chunks */
  uint64_t record_offset; /* offset of the Message record in the chunk (or in the file) */
} mcap_message_view;

typedef struct mcap_message_iter mcap_message_iter;

/** Start a query. The iterator borrows the reader: one iterator at a time per reader. */
int mcap_reader_query(mcap_reader *r, const mcap_query *q, mcap_message_iter **out);

/**
 * Next message. Views are borrowed until the next call.
 * @return MCAP_OK, MCAP_ITEROVER, or an error (message on the reader).
 */
int mcap_message_iter_next(mcap_message_iter *it, mcap_message_view *out);

/** Work counters of an iterator, for benchmarks and tests. */
typedef struct mcap_iter_stats {
  uint64_t chunks_decompressed;
  uint64_t bytes_decompressed;
  uint64_t peak_chunks_held;
  uint64_t peak_bytes_held;
} mcap_iter_stats;
void mcap_message_iter_stats(const mcap_message_iter *it, mcap_iter_stats *out);

void mcap_message_iter_free(mcap_message_iter *it);

#ifdef __cplusplus
}
#endif

#endif /* MCAP_MCAP_H */
