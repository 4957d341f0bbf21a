/*
 * rewrite.h - turning a recording into a better one: the rewrite engine
 * behind `mcapkit filter`, `compress`, `decompress` and `sort` (pl_rewrite),
 * the k-way merge (pl_merge), the rescue of damaged files (pl_recover),
 * amending a file in place with an attachment or metadata record (pl_amend,
 * behind `mcapkit add`), and the atomic output the rewrites write through
 * (pl_output).
 *
 * The engine reads one input, selects messages (topics by regular
 * expression, an inclusive time range, the last message per channel before
 * the start), and writes a new file through the libmcap writer, whose chunk
 * compression runs on `threads` threads (the caller's included). In file
 * order it passes chunks through without recompressing them when they are
 * kept whole (see pl_rewrite()).
 *
 * Conventions as in pipeline/core.h: functions return PL_OK (0) or a negative
 * pl_error with detail in a caller-supplied pl_error_info; option structs are
 * all-zero for the defaults; times are uint64 nanoseconds.
 */
#ifndef PIPELINE_REWRITE_H
#define PIPELINE_REWRITE_H

#include <stddef.h>
#include <stdint.h>

#include "mcap/mcap.h"
#include "pipeline/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ----------------------------------------------------------------- inputs */

/**
 * One grammar for input arguments: "-" is standard input, and a path that is
 * not a regular file (a pipe, /dev/fd/N, a process substitution "<(cmd)") is
 * read like it, as a stream. pl_input_open makes any of them a path that can
 * be opened (and read again, at any offset): a stream is copied into an
 * unnamed temporary file in tmp_dir (NULL = $TMPDIR, else /tmp); standard
 * input redirected from a regular file is used in place (/proc/self/fd/0); a
 * regular file is used as it is. Copying costs the disk space of the input;
 * readers that go forward only open streams directly instead.
 */
typedef struct pl_input {
  const char *path; /* what to open: the argument, /proc/self/fd/0, or the copy */
  int copied;       /* the input was a stream, copied into a temporary file */
  char *scratch;    /* the copy (internal) */
} pl_input;

/** 1 when `arg` is a stream: "-" on a pipe or terminal, or a path that is not a regular file. */
int pl_input_is_stream(const char *arg);

/** @return PL_OK; PL_EIO (cannot be read or copied); PL_ENOMEM. */
int pl_input_open(const char *arg, const char *tmp_dir, pl_input *in, pl_error_info *err);

/** Remove the copy, if any. Accepts a zeroed pl_input. */
void pl_input_release(pl_input *in);



/* ------------------------------------------------------------------ output */

/**
 * Where a rewrite's result goes: a file written atomically or standard
 * output. A file is written to a temporary file beside the target; commit
 * flushes it, fsyncs it, checks it (when asked) by reading it back, and only
 * then renames it over the target. Freeing an uncommitted output removes the
 * temporary file, so a failure never leaves a partial file or touches an
 * existing one.
 */
typedef struct pl_output pl_output;

/**
 * Open an output.
 * @param path the target; "-" = standard output. A symbolic link is followed (the file it
 *        points at is replaced, the link stays); a device or a FIFO is written in place.
 * @param inputs the input paths of the command (may be NULL when n_inputs is
 *        0): a target that is one of them (same file, also through links) is
 *        refused unless `in_place`.
 * @param in_place allow the target to be an input: it is replaced only after
 *        the new file is complete and verified.
 * @return PL_OK; PL_EINVAL when the target is an input and not `in_place`,
 *         or a directory; PL_EIO when the temporary file cannot be created.
 */
int pl_output_open(pl_output **out, const char *path, const char *const *inputs, size_t n_inputs,
                   int in_place, pl_error_info *err);

/** The sink to write into; borrowed, valid until pl_output_commit() or _free(). */
mcap_sink *pl_output_sink(pl_output *o);

/** 1 when the output is standard output (nothing to verify or rename). */
int pl_output_is_stdout(const pl_output *o);

/** What commit checks in the finished file before renaming it into place. */
typedef struct pl_output_check {
  uint64_t messages;    /* the file's message count must be this */
  uint64_t attachments; /* and its attachment and metadata counts these */
  uint64_t metadata;
  int full; /* also read every record back with every CRC checked */
} pl_output_check;

/**
 * Finish the output: flush and fsync the temporary file, check it against
 * `check` (NULL = no check), rename it over the target and fsync the
 * directory. For standard output only the flush is done.
 * @return PL_OK; PL_EVERIFY when the check found a difference (the target is
 *         left untouched); PL_EIO.
 */
int pl_output_commit(pl_output *o, const pl_output_check *check, pl_error_info *err);

/** Release the output; an uncommitted temporary file is removed. Accepts NULL. */
void pl_output_free(pl_output *o);

/* ----------------------------------------------------------------- rewrite */

typedef enum pl_rewrite_order {
  PL_REWRITE_ORDER_PRESERVE = 0, /* the input's file order (chunks may be passed through) */
  PL_REWRITE_ORDER_LOG_TIME = 1, /* ascending log time; ties in file order */
  PL_REWRITE_ORDER_TOPIC = 2     /* channel by channel (topic name, then channel id), each in
                                    log-time order */
} pl_rewrite_order;

/** Parse "preserve", "log-time" (or "log_time") or "topic". @return PL_OK or PL_EINVAL. */
int pl_rewrite_order_parse(const char *s, pl_rewrite_order *out);

/** "preserve", "log-time" or "topic" (static storage); NULL for an invalid value. */
const char *pl_rewrite_order_name(pl_rewrite_order o);

/** Progress: bytes of input dealt with so far, of `total` (0 when unknown). */
typedef void (*pl_rewrite_progress_fn)(void *user, uint64_t done, uint64_t total);

/**
 * Rewrite options. All-zero: every message, attachment and metadata record,
 * file order, the input's compression, 1 MiB chunks, CRCs, one compression
 * worker per core.
 */
typedef struct pl_rewrite_options {
  /* Selection. Topic patterns are POSIX extended regular expressions that
   * must match the whole topic. A channel is kept when it matches an include
   * pattern (or there are none) and no exclude pattern. */
  const char *const *include_topics;
  size_t n_include_topics;
  const char *const *exclude_topics;
  size_t n_exclude_topics;
  /* For kept channels whose topic matches one of these: also write the
   * latest message before `start` (replayPolicy=lastPerChannel). Needs a
   * seekable input with an index or summary (a stream is spooled first). */
  const char *const *last_per_channel;
  size_t n_last_per_channel;
  int has_start, has_end; /* message log-time bounds, both inclusive; they also apply to
                             attachment log times */
  uint64_t start, end;
  int no_attachments;
  int no_metadata;
  /* Keep schemas and channels without kept messages (compress/decompress/sort
   * keep a file's channel list whole; filter drops them). */
  int keep_unused_channels;

  /* Output. */
  pl_rewrite_order order;
  mcap_compression compression; /* DEFAULT = the input's (its first chunk's; zstd if it has
                                   none); NONE = uncompressed chunks */
  int compression_level;        /* 0 = codec default; non-zero recompresses every chunk */
  uint64_t chunk_size;          /* 0 = 1 MiB; non-zero re-chunks every chunk */
  int no_chunks;                /* messages straight into the data section */
  int no_crc;                   /* write every CRC field as 0 (copied chunks keep theirs) */
  int threads;                  /* compression threads and, when sorting, decompression
                                   threads, the caller's included (the writer's pool: N - 1
                                   threads + the caller); 0 = number of cores, 1 = none */
  int no_passthrough;           /* never copy chunks, always decompress and recompress */
  int no_input_crc;             /* do not check the input's chunk and attachment CRCs */
  uint64_t memory_budget;       /* sorting: max decompressed bytes held; 0 = 64 MiB */
  const char *tmp_dir;          /* where a stream input is spooled when it must be seekable;
                                   NULL = $TMPDIR or /tmp */

  pl_rewrite_progress_fn progress;
  void *progress_user;
} pl_rewrite_options;

/** What a rewrite did. */
typedef struct pl_rewrite_stats {
  uint64_t messages;                  /* written */
  uint64_t messages_last_per_channel; /* of which from before start (last per channel) */
  uint64_t attachments;
  uint64_t metadata;
  uint64_t schemas; /* registered in the output */
  uint64_t channels;
  uint64_t chunks_in;     /* Chunk records of the input met */
  uint64_t chunks_copied; /* passed through still compressed */
  uint64_t chunks_decompressed;
  uint64_t chunks_skipped; /* nothing selected in them: not decompressed */
  uint64_t bytes_copied;   /* compressed bytes of the chunks passed through */
  uint64_t bytes_in;       /* input size (0 for a stream) */
  uint64_t bytes_out;      /* bytes written */
  int passthrough_trusted; /* 1 once every schema and channel of the input's summary had
                              been seen, so chunks could be copied without a look inside */
  mcap_damage damage;      /* what of the input could not be read (problems == 0: all of
                              it); the output holds everything else */
} pl_rewrite_stats;

/**
 * Rewrite one recording into `sink`.
 *
 * Chunk pass-through (chunking on, no compression level or chunk size asked
 * for): a chunk whose messages are all kept (its channels, from the
 * MessageIndex records after it, all selected and its time range inside the
 * bounds) and whose compression is the output's is copied as it is, its
 * indexes rebuilt by the writer. A copy must not carry Schema or Channel
 * records the output does not want, so chunks are looked into (decompressed,
 * not recompressed) until every schema and channel listed in the input's
 * summary has been seen in the data section; after that, chunks whose first
 * record is a message are copied unopened, unless the input was seen
 * repeating definitions. Chunks without message indexes are decompressed to
 * index them and then copied when kept whole. Chunks with nothing selected
 * are skipped unread. This applies to file order, and to log-time order when
 * the input's chunks follow each other in time (then chunks whose messages
 * are in order are copied, the others sorted on their own); other inputs are
 * sorted through the indexed reader's queries.
 *
 * @param in_path the input; "-" = standard input (spooled to a temporary file
 *        when the order or last_per_channel needs random access).
 * @param sink borrowed; not closed or committed.
 * @param o NULL for defaults.
 * @param[out] st optional; filled also on failure with what was done.
 * A damaged input (truncated, garbage inside, a chunk that cannot be read) is
 * rewritten as far as it can be read: after its Header, a damaged record ends
 * the pass there (st->damage says where and how many bytes were not read);
 * with a usable summary the pass instead resumes at the next record the
 * summary indexes (chunk, attachment, metadata), counting each damaged part.
 * The sorted orders skip the chunks they cannot read. The output is then a
 * complete, valid file of everything else (pl_recover rescues more: partial
 * chunks, resynchronisation without a summary).
 *
 * @return PL_OK (check st->damage); PL_EINVAL (bad pattern or options);
 *         PL_EMCAP (not an MCAP file, or its Header is damaged; or the
 *         writer failed); PL_EIO; PL_ENOMEM.
 */
int pl_rewrite(const char *in_path, mcap_sink *sink, const pl_rewrite_options *o,
               pl_rewrite_stats *st, pl_error_info *err);

/**
 * Check topic patterns: each must compile as a POSIX extended regular
 * expression. @return PL_OK or PL_EINVAL naming the bad pattern.
 */
int pl_rewrite_check_patterns(const char *const *patterns, size_t n, pl_error_info *err);

/* ------------------------------------------------------------------- merge */

typedef enum pl_coalesce {
  PL_COALESCE_AUTO = 0,  /* one output channel for channels equal in topic, encoding, schema
                            and metadata */
  PL_COALESCE_FORCE = 1, /* ... equal in topic, encoding and schema (first one's metadata) */
  PL_COALESCE_NONE = 2   /* every input channel gets its own output channel */
} pl_coalesce;

/** Parse "auto", "force" or "none". @return PL_OK or PL_EINVAL. */
int pl_coalesce_parse(const char *s, pl_coalesce *out);

typedef struct pl_merge_options {
  mcap_compression compression; /* DEFAULT = zstd */
  int compression_level;
  uint64_t chunk_size; /* 0 = 1 MiB */
  int no_chunks;
  int no_crc;
  int threads; /* compression threads, the caller's included; 0 = cores */
  pl_coalesce coalesce;
  int allow_duplicate_metadata; /* keep metadata records that share a name but differ (else
                                   that is an error); identical ones are always kept once */
  int no_attachments;
  int no_metadata;
  size_t max_open_inputs; /* inputs read at once; 0 = 8. More inputs are merged in
                             rounds through temporary files, so memory does not grow
                             with the number of inputs */
  const char *tmp_dir;    /* for those rounds; NULL = $TMPDIR or /tmp */
  int no_passthrough;     /* never copy chunks compressed */
  pl_rewrite_progress_fn progress;
  void *progress_user;
} pl_merge_options;

typedef struct pl_merge_stats {
  uint64_t messages;
  uint64_t attachments;
  uint64_t metadata;
  uint64_t metadata_duplicates; /* identical metadata records written once */
  uint64_t schemas;
  uint64_t channels;            /* output channels */
  uint64_t channels_in;         /* input channels */
  uint64_t rounds;              /* 1, or more when inputs exceeded max_open_inputs */
  uint64_t chunks_copied;       /* passed through compressed (last round) */
  uint64_t chunks_decompressed; /* read chunk by chunk and merged message by message */
  uint64_t bytes_out;
  mcap_damage damage;     /* what of the inputs could not be read, all together (problems ==
                             0: every input whole); the output holds everything else */
  size_t damaged_inputs;  /* how many inputs had damage */
  size_t first_damaged;   /* index (in `inputs`) of the first of them */
} pl_merge_stats;

/**
 * Merge recordings into one, messages in log-time order (ties in input
 * order, then file order); schema and channel ids are renumbered (an input's
 * own id is kept when it is free), identical schemas are written once and
 * channels coalesced per `coalesce`; metadata then attachments of every input
 * come first. An input whose chunks follow each other in time is read chunk
 * by chunk, and a chunk that no other input's messages interleave with, whose
 * ids are unchanged and whose compression is the output's is copied without
 * recompression (merging consecutive parts of a recording runs at copy speed).
 * @param inputs paths (seekable files; "-" is spooled).
 * @param sink borrowed; not closed or committed.
 * A damaged input is merged as far as it can be read: chunks that cannot be
 * read are skipped, a truncated input ends where it is cut (st->damage).
 * @return PL_OK (check st->damage); PL_ECONFLICT for two metadata records
 *         with one name and different content in different inputs (without
 *         allow_duplicate_metadata); PL_EMCAP for an input that is not an
 *         MCAP file; PL_EINVAL (more than 65535 channels or schemas); PL_EIO;
 *         PL_ENOMEM.
 */
int pl_merge(const char *const *inputs, size_t n_inputs, mcap_sink *sink, const pl_merge_options *o,
             pl_merge_stats *st, pl_error_info *err);

/* ----------------------------------------------------------------- recover */

typedef struct pl_recover_options {
  mcap_compression compression; /* DEFAULT = the input's (its first chunk's; zstd if none) */
  int compression_level;
  uint64_t chunk_size; /* 0 = 1 MiB */
  int no_crc;
  int threads;             /* compression threads, the caller's included; 0 = cores */
  int no_passthrough;      /* recompress even chunks that are intact */
  uint64_t max_chunk_size; /* largest decompressed chunk accepted; 0 = 1 GiB */
  pl_rewrite_progress_fn progress;
  void *progress_user;
} pl_recover_options;

/** What pl_recover found, kept and lost. */
typedef struct pl_recover_report {
  /* recovered (written) */
  uint64_t messages, attachments, metadata, schemas, channels;
  uint64_t chunks_ok;      /* decompressed whole with a good CRC */
  uint64_t chunks_copied;  /* of which copied compressed */
  uint64_t chunks_partial; /* truncated or damaged: their leading records kept */
  uint64_t chunks_dropped; /* nothing trustworthy in them (CRC mismatch, ...) */
  /* lost */
  uint64_t messages_lost;    /* known to be lost (counted from indexes or statistics) */
  int messages_lost_unknown; /* more may be lost than counted (nothing says how many) */
  uint64_t attachments_lost, metadata_lost, records_lost;
  uint64_t bytes_skipped; /* damaged bytes skipped while resynchronising */
  uint64_t skipped_regions;
  int truncated;     /* the input ends before its data section does */
  uint64_t data_end; /* offset where usable data ended (the input size, or the
                        start of the damaged tail) */
  /* what the file claimed, when its summary survived */
  int has_summary;
  uint64_t claimed_messages, claimed_attachments, claimed_metadata, claimed_chunks;
  int lost;             /* something was lost */
  pl_finding *problems; /* what happened where, in file order */
  size_t n_problems;
  size_t n_problems_total; /* including those not kept (at most 1000 kept) */
} pl_recover_report;

/**
 * Rescue what can be rescued from a truncated or damaged file: every record
 * that can be trusted is written to `sink` (a valid MCAP with rebuilt
 * indexes, statistics and summary). Messages in intact chunks; the leading
 * whole records of a truncated last chunk (the zstd/lz4 frame is
 * decompressed as far as it goes) or of a chunk damaged in the middle; after
 * damaged bytes the scan resynchronises on the next plausible record and
 * goes on. A chunk that decompresses whole but fails its CRC is dropped (its
 * content cannot be trusted). Message indexes, when they survive, check the
 * records found and count what a damaged chunk held; the summary, when it
 * survives, supplies schema and channel definitions lost with the data and
 * the counts the result is compared with.
 * @param in_path a file ("-" = standard input, spooled first).
 * @param sink borrowed; not closed or committed.
 * @param[out] out the report (also on most failures, else NULL); free with
 *        pl_recover_report_free.
 * @return PL_OK when the scan ran (out->lost says whether anything was lost);
 *         PL_EIO, PL_ENOMEM, or PL_EMCAP when writing failed.
 */
int pl_recover(const char *in_path, mcap_sink *sink, const pl_recover_options *o,
               pl_recover_report **out, pl_error_info *err);
void pl_recover_report_free(pl_recover_report *r);

/* ------------------------------------------------------------------- amend */

/**
 * What pl_amend() adds to a recording: an attachment whose data is a file's
 * bytes (streamed: memory does not depend on its size), or a Metadata record.
 * All-zero fields take the defaults said beside them.
 */
typedef struct pl_amend_options {
  /* an attachment: exactly one of attachment_file and metadata_name is set */
  const char *attachment_file; /* a regular file: its bytes are the attachment's data */
  const char *name;            /* the attachment's name; NULL: attachment_file's base name */
  const char *media_type;      /* NULL: application/octet-stream */
  int has_log_time;            /* else the log time is now */
  uint64_t log_time;           /* ns */
  int has_create_time;         /* else attachment_file's modification time */
  uint64_t create_time;        /* ns */
  /* a Metadata record */
  const char *metadata_name;
  const mcap_kv *metadata;     /* the pairs (at least one; keys non-empty and distinct), stored
                                  sorted by key as the official writers do; borrowed */
  size_t n_metadata;
  /* called after the amended file was written and checked, just before it replaces the
     original; a non-zero return abandons it (the original stays as it was). For tests. */
  int (*before_commit)(void *user);
  void *before_commit_user;
} pl_amend_options;

/** What pl_amend() did. */
typedef struct pl_amend_result {
  uint64_t offset;    /* where the new record starts in the amended file (the old DataEnd) */
  uint64_t length;    /* the new record's length, opcode and length prefix included */
  uint64_t data_size; /* attachment: its data bytes */
  int indexed;        /* an AttachmentIndex / MetadataIndex was added to the summary: only
                         when that index stays complete (the summary had that index group,
                         or the file held no record of that kind) */
} pl_amend_result;

/**
 * Add an attachment or a metadata record to the recording at `path`, in
 * place and atomically: the data section is copied byte for byte (chunks,
 * message indexes and private records unchanged, so every offset in the old
 * indexes stays right), then the new record and a new DataEnd (with the data
 * CRC recomputed when the original had one), then the summary: the old
 * summary records regrouped by opcode, the new index record in its group,
 * Statistics counting the new record, new SummaryOffsets, the Footer (with a
 * summary CRC when the original had one). Records are encoded by libmcap
 * (the attachment and metadata by its writer, the others by
 * mcap_record_encode). The result goes to a temporary file beside `path`
 * (libmcap's atomic file sink: the mode of `path` is kept), is read back with
 * every CRC checked and with the indexed reader (the new record must be
 * listed when indexed; a summary that was usable must stay so), and replaces
 * `path` only if `path` did not change meanwhile. On any failure `path` is
 * left byte for byte as it was and no temporary file remains. A symbolic
 * link at `path` is followed: the file it names is amended.
 * @param[out] res what was done (may be NULL).
 * @return PL_OK; PL_EINVAL for bad options (with the reason: a metadata key
 *         given twice, ...); PL_EIO when a file cannot be read or written;
 *         PL_EMCAP when `path` is not a complete, valid MCAP file; PL_EVERIFY
 *         when the amended file did not check out or `path` changed meanwhile;
 *         PL_ECANCELED when before_commit refused; PL_ENOMEM.
 */
int pl_amend(const char *path, const pl_amend_options *o, pl_amend_result *res,
             pl_error_info *err);

#ifdef __cplusplus
}
#endif

#endif /* PIPELINE_REWRITE_H */
