/*
 * bench.h - the pieces of the mcapkit-bench program shared between its files:
 * bench.c (main and the `all` suite), bench_read.c (the `read` mode),
 * bench_tools.c (the `tools` mode: timing the mcapkit CLI), bench_startup.c (the
 * `startup` mode: mcapkit's start-up next to a trivial program), bench_decode.c
 * (the `decode` mode: message decoding),
 * bench_corpus.c (corpus, write, CRC and raw decompression measurements) and
 * bench_util.c (clock, child processes, parsing, sinks).
 */
#ifndef MCAPKIT_BENCH_H
#define MCAPKIT_BENCH_H

#include <stddef.h>
#include <stdint.h>

#include "mcap/mcap.h"

#define BENCH_PROG "mcapkit-bench"

/* ------------------------------------------------------------------ util */

/** Seconds on CLOCK_MONOTONIC. */
double bench_now(void);

/** CPU seconds of the calling thread (CLOCK_THREAD_CPUTIME_ID). */
double bench_thread_cpu(void);

/** Print "mcapkit-bench: <message>" on stderr. */
void bench_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/** Parse a whole decimal string into *out. @return 0, or -1 (empty, junk, overflow). */
int bench_parse_u64(const char *s, uint64_t *out);

/* mkdir -p; 0 or -1 after a message. */
int bench_make_dirs(const char *path);

/* The corpus cache: $XDG_CACHE_HOME/mcapkit-bench, else ~/.cache/mcapkit-bench, else
 * /tmp/mcapkit-bench. 0, or -1 when it does not fit in cap (with room to spare). */
int bench_default_cache(char *dst, size_t cap);

/*
 * The page-cache states a measured read starts from, each made by plain system calls
 * (another program's work), never by mcapkit's reader:
 *   written  the file copied with write() calls just before (as a recorder or `cat > new`
 *            leaves it; on ext4 mostly 4 KiB folios): the copy is what is read
 *   read     evicted (POSIX_FADV_DONTNEED), then read back with read() calls (the kernel's
 *            read-ahead chooses the folios, large ones where the file system has them)
 *   cold     evicted: the read comes from the disk
 */
enum bench_state { BENCH_WRITTEN = 0, BENCH_READ = 1, BENCH_COLD = 2 };

/* 0 and *out, or -1 for an unknown name. */
int bench_state_parse(const char *name, enum bench_state *out);
const char *bench_state_name(enum bench_state st);

/* Put `path` into state st; for BENCH_WRITTEN it is copied to `copy` (replaced), which is
 * then the file to read. 0, or -1 with a message. */
int bench_state_prepare(const char *path, enum bench_state st, const char *copy);

/* Copy src to a new file dst with read()/write() calls of 128 KiB (as cat does), then
 * fdatasync it. 0, or -1 with a message (dst removed). */
int bench_copy_written(const char *src, const char *dst);

/* Drop a file's pages from the page cache (fdatasync, POSIX_FADV_DONTNEED; warns when
 * some stay). 0, or -1 with a message. */
int bench_evict(const char *path);

/* Read a whole file with read() calls of 128 KiB, throwing the bytes away. */
int bench_read_back(const char *path);

/** Read a whole file once and throw the bytes away (warms the page cache). */
int bench_warm_file(const char *path, uint64_t *bytes);

/** A sink that only counts the bytes written to it (*counter must outlive the sink). */
void bench_null_sink(mcap_sink *sink, uint64_t *counter);

/** Result of one measured child process. */
struct bench_child {
  int exit_code;      /* the program's exit code; -1 when it died by a signal */
  double seconds;     /* wall time from fork to exit (CLOCK_MONOTONIC) */
  double cpu_seconds; /* user + system CPU time of the program */
  long maxrss_kib;    /* peak resident set of the program alone */
  char out[1024];     /* its stdout (truncated) */
  char err[4096];     /* its stderr (truncated), without the launcher's report */
};

/**
 * Run `/proc/self/exe ARGS...` as a measured child. The child is started
 * through a freshly exec'd launcher (`mcapkit-bench __measure ...`) so its
 * ru_maxrss does not inherit this process's peak (Linux carries a process's
 * high-water mark across fork + exec).
 * @return 0 when the child ran (see exit_code), -1 when it could not be started.
 */
int bench_run_child(char *const args[], struct bench_child *res);

/**
 * Like bench_run_child, but the measured program is the executable `prog`
 * (an absolute or relative path, not searched in PATH) run as `prog ARGS...`;
 * prog NULL means mcapkit-bench itself. The launcher is
 * `mcapkit-bench __measure --exec PROG ARGS...`.
 */
int bench_run_child_exec(const char *prog, char *const args[], struct bench_child *res);

/** The `__measure` launcher mode (internal). */
int bench_measure_main(int argc, char **argv);

/** Find "key=" in text and parse the decimal after it. @return 0 or -1. */
int bench_kv_u64(const char *text, const char *key, uint64_t *out);

/* ------------------------------------------------------------------ read */

/** `mcapkit-bench read FILE [options]`: see README.md. Returns the exit code. */
int bench_read_main(int argc, char **argv);
/* One read of a whole file in this process, as `read` does it: the streamed reader
 * (stream) or the indexed reader in log-time order with `threads`; *bytes = payload bytes. */
int bench_read_once(const char *file, int stream, int threads, int no_crc, uint64_t *bytes);
/* `mcapkit-bench rounds FILE [--rounds N] [--json]` (bench_rounds.c). */
int bench_rounds_main(int argc, char **argv);

/* ----------------------------------------------------------------- tools */

/** `mcapkit-bench tools [options]`: the mcapkit CLI's rewrite and lake commands. */
int bench_tools_main(int argc, char **argv);

/* ---------------------------------------------------------------- decode */

/** `mcapkit-bench decode [options]`: pl_decode's speed (bench_decode.c). */
int bench_decode_main(int argc, char **argv);

/* --------------------------------------------------------------- convert */

/** `mcapkit-bench convert [options]`: 'mcapkit convert' on bags and a db3 (bench_convert.c). */
int bench_convert_main(int argc, char **argv);
/** `mcapkit-bench startup [options]`: start-up time of mcapkit next to a trivial program. */
int bench_startup_main(int argc, char **argv);

/* ---------------------------------------------------------------- corpus */

/** What the corpus files hold (the same messages in every compression). */
struct bench_corpus_info {
  uint64_t messages;
  uint64_t message_bytes;
  uint64_t file_bytes;
  double duration;       /* seconds of recording asked for */
  double gen_seconds;    /* pl_synth_write into the file (without the final fsync) */
  int generated_now;     /* 0: the file came from the cache */
};

/** Recording duration (s) giving about `target_bytes` of message payload (a short trial run). */
int bench_corpus_duration(uint64_t target_bytes, double *duration);

/**
 * Make sure `path` holds the robot corpus for `compression` and `duration`,
 * generating it (plus a `path.meta` sidecar) when missing or inconsistent.
 */
int bench_corpus_ensure(const char *path, mcap_compression compression, double duration,
                        struct bench_corpus_info *info);
/** The same with a target uncompressed chunk size (0 = the writer's default, 1 MiB). */
int bench_corpus_ensure_chunked(const char *path, mcap_compression compression, double duration,
                                uint64_t chunk_size, struct bench_corpus_info *info);

/** Payload generation alone: the robot profile unchunked, uncompressed, into a null sink. */
int bench_generate_only(double duration, double *seconds, uint64_t *message_bytes);

/** Messages of an uncompressed corpus file, as views into its mapping. */
struct bench_msgset;
int bench_msgset_load(const char *none_path, struct bench_msgset **out);
void bench_msgset_free(struct bench_msgset *m);
uint64_t bench_msgset_bytes(const struct bench_msgset *m);

/** Write a message set through the writer into a null sink. */
int bench_write_only(const struct bench_msgset *m, mcap_compression compression, double *seconds,
                     uint64_t *out_bytes);

/** CRC-32 speed (bytes/s) of the fast and table versions on a `size`-byte buffer. */
/* CRC-32 speeds in bytes/s, [0] fast (the one the library uses), [1] the 128-bit
 * pclmul folding, [2] the slicing-by-16 table; over `size` bytes once (from
 * memory) and over `cache_size` bytes many times (in cache). */
struct bench_crc {
  double memory_bps[3];
  double cache_bps[3];
  const char *impl; /* mcap__crc32_impl() */
};
int bench_crc(size_t size, size_t cache_size, int repeats, struct bench_crc *out);

/** Chunk facts and raw decompression time of a file's chunks (compressed bytes preloaded). */
struct bench_raw {
  uint64_t chunks;
  uint64_t compressed_bytes;
  uint64_t uncompressed_bytes;
  uint64_t largest_chunk;       /* largest uncompressed chunk */
  double seconds;               /* decompression only, best of `repeats` */
  double seconds_crc;           /* decompression + chunk CRC + CRC of the compressed bytes */
  double cpu_seconds;           /* `seconds` in thread CPU time (robust against other load) */
  double seconds_file;          /* decompression only, of the chunks mapped from the file */
};
/* The raw figures of a file; with keep, its chunks stay loaded for bench_raw_pass (free them
 * with bench_raw_free), so that reads can be paired with a raw pass just before each. */
struct bench_raw_set;
int bench_raw_decompress(const char *path, int repeats, struct bench_raw_set **keep,
                         struct bench_raw *out);
/* One raw pass over the loaded chunks (no CRC): its wall time. */
int bench_raw_pass(struct bench_raw_set *rs, double *seconds);
void bench_raw_free(struct bench_raw_set *rs); /* NULL is fine */

#endif
