/*
 * optgroups.h - option groups that several commands share, defined once:
 * compression (--compression, --compression-level, --chunk-size,
 * --no-chunks), time range (--start, --end), topic selection
 * (--include-topic, --exclude-topic) and API access (--api-url,
 * --api-key-file, $MCAPKIT_API_URL, $FOXGLOVE_API_KEY).
 *
 * A command embeds the group's struct in its argument struct and puts the
 * group's CLI_OPTS_* entries in its option table (so each option still shows
 * in the command's --help, man page and completion, generated from the table);
 * after cli_parse() it calls the group's resolve function, which checks the
 * values and prints the same usage errors for every command.
 */
#ifndef CLI_OPTGROUPS_H
#define CLI_OPTGROUPS_H

#include <stddef.h>
#include <stdint.h>

#include "cmd.h"
#include "mcap/mcap.h"
#include "opt.h"

/* ------------------------------------------------------------ compression */

/** What the compression options hold after cli_parse(). */
typedef struct cli_compress_args {
  const char *codec;   /* --compression as given; NULL when absent */
  int level;           /* --compression-level; 0 = the codec's default */
  uint64_t chunk_size; /* --chunk-size; 0 = the default */
  int no_chunks;       /* --no-chunks */
} cli_compress_args;

/**
 * Table entries for --compression (-c), --compression-level and --chunk-size
 * of the group `m` in the argument struct `T`. `codecs` is the value name
 * ("zstd|lz4|none", with "|preserve" where the input's codec can be kept);
 * the help texts say the command's defaults.
 */
#define CLI_OPTS_COMPRESSION(T, m, codecs, codec_help, level_help, chunk_help)             \
  {"compression", 'c', CLI_OPT_STRING, offsetof(T, m.codec), codecs, codec_help},          \
      {"compression-level", 0, CLI_OPT_INT, offsetof(T, m.level), "N", level_help},        \
      {"chunk-size", 0, CLI_OPT_BYTES, offsetof(T, m.chunk_size), "BYTES", chunk_help}

/** The table entry for --no-chunks of the group `m` (commands that can write unchunked). */
#define CLI_OPT_NO_CHUNKS(T, m)                                                    \
  {"no-chunks", 0, CLI_OPT_FLAG, offsetof(T, m.no_chunks), NULL,                  \
   "write messages outside chunks"}

/** How a command uses the compression group. */
enum cli_compress_flags {
  /* "preserve" is accepted: keep the input's codec (MCAP_COMPRESSION_DEFAULT); its level is
     then checked by the library once the input's codec is known */
  CLI_COMPRESS_PRESERVE = 1u << 0,
  /* the command always compresses chunks (compress): --no-chunks conflicts even without -c */
  CLI_COMPRESS_ALWAYS = 1u << 1
};

/**
 * Check the compression group and pick the codec: `dflt` when --compression
 * is absent (MCAP_COMPRESSION_DEFAULT only with CLI_COMPRESS_PRESERVE: keep
 * the input's). Usage errors: an unknown codec; a level outside the codec's
 * range (mcap_compression_levels) or for none; --no-chunks with --chunk-size,
 * --compression or --compression-level.
 * @param[out] out the codec to write with.
 * @return CLI_CONTINUE, or CLI_EXIT_USAGE after printing why.
 */
int cli_compress_resolve(const cli_spec *spec, const cli_compress_args *g, mcap_compression dflt,
                         unsigned flags, mcap_compression *out);

/* ------------------------------------------------------------- time range */

/** What the time range options hold after cli_parse(). */
typedef struct cli_time_args {
  const char *start; /* --start as given; NULL when absent */
  const char *end;
} cli_time_args;

/** A parsed time range: both ends inclusive, each optional. */
typedef struct cli_time_range {
  int has_start, has_end;
  uint64_t start, end; /* ns */
} cli_time_range;

/**
 * Table entries for --start (-S) and --end (-E) of the group `m` in `T`; the
 * values take the one time syntax of timeparse.h.
 */
#define CLI_OPTS_TIME_RANGE(T, m, start_help, end_help)                        \
  {"start", 'S', CLI_OPT_STRING, offsetof(T, m.start), "T", start_help},       \
      {"end", 'E', CLI_OPT_STRING, offsetof(T, m.end), "T", end_help}

/**
 * Parse --start and --end (timeparse.h). Usage errors: a malformed time
 * ("bad '--start': why"), a start after the end (equal ends are a range of
 * one instant).
 * @param[out] out the range.
 * @return CLI_CONTINUE, or CLI_EXIT_USAGE after printing why.
 */
int cli_time_resolve(const cli_spec *spec, const cli_time_args *g, cli_time_range *out);

/* -------------------------------------------------------- topic selection */

/** What the topic selection options hold after cli_parse(). */
typedef struct cli_topic_args {
  cli_strlist include; /* --include-topic REGEX (repeatable) */
  cli_strlist exclude; /* --exclude-topic REGEX (repeatable) */
} cli_topic_args;

/** The table entry for --include-topic (-y) of the group `m` in `T`. */
#define CLI_OPT_INCLUDE_TOPIC(T, m, help) \
  {"include-topic", 'y', CLI_OPT_LIST, offsetof(T, m.include), "REGEX", help}

/** The table entry for --exclude-topic of the group `m` in `T`. */
#define CLI_OPT_EXCLUDE_TOPIC(T, m, help) \
  {"exclude-topic", 0, CLI_OPT_LIST, offsetof(T, m.exclude), "REGEX", help}

/**
 * Check that every pattern is a POSIX extended regular expression (matched
 * against the whole topic by pl_rewrite). A bad one is a usage error naming it.
 * @return CLI_CONTINUE, or CLI_EXIT_USAGE after printing why.
 */
int cli_topics_resolve(const cli_spec *spec, const cli_topic_args *g);

/* ------------------------------------------------------------- API access */

/** What the API options hold after cli_parse(). */
typedef struct cli_api_args {
  const char *url;      /* --api-url; NULL: $MCAPKIT_API_URL, else https://api.foxglove.dev */
  const char *key_file; /* --api-key-file; NULL: $FOXGLOVE_API_KEY */
} cli_api_args;

/** Table entries for --api-url and --api-key-file of the group `m` in `T`. */
#define CLI_OPTS_API(T, m)                                                        \
  {"api-url", 0, CLI_OPT_STRING, offsetof(T, m.url), "URL",                       \
   "the API (default $MCAPKIT_API_URL, else https://api.foxglove.dev)"},          \
      {"api-key-file", 0, CLI_OPT_STRING, offsetof(T, m.key_file), "FILE",        \
       "read the API key from FILE (mode 600) instead of $FOXGLOVE_API_KEY"}

struct pl_http;
struct pl_http_options;

/** The API base URL: --api-url, else $MCAPKIT_API_URL, else https://api.foxglove.dev. */
const char *cli_api_url(const cli_api_args *g);

/**
 * Read the API key: from --api-key-file (refused when group or others may read
 * it; first line, blanks trimmed) or $FOXGLOVE_API_KEY. Prints why on failure.
 * @param[out] key a copy the caller releases with cli_api_key_free().
 * @return CLI_EXIT_OK or CLI_EXIT_FAILURE.
 */
int cli_api_key(const cli_ctx *ctx, const cli_api_args *g, char **key);

/** Wipe and free a key from cli_api_key(); accepts NULL. */
void cli_api_key_free(char *key);

/**
 * Open an API connection with the group's URL and key and the CLI's HTTP
 * options (cli_api_http_options). Prints why on failure.
 * @param[out] out the handle; the caller frees it with pl_http_free().
 * @return CLI_EXIT_OK, CLI_EXIT_USAGE (a bad URL) or CLI_EXIT_FAILURE.
 */
int cli_api_open(const cli_ctx *ctx, const cli_api_args *g, struct pl_http **out);

/**
 * HTTP options of every network command: -v logs retries and redirects (never
 * the key), SIGINT/SIGTERM cancel transfers, $MCAPKIT_HTTP_BACKOFF sets the
 * first backoff (tests, slow links). `ctx` must outlive the options.
 */
void cli_api_http_options(const cli_ctx *ctx, struct pl_http_options *o);

/** Install the SIGINT/SIGTERM handlers; the flag they raise. */
const volatile int *cli_api_cancel_flag(void);

/** A pl_client outcome as an exit code: PL_OK 0, PL_EVERIFY 3, anything else 1. */
int cli_api_exit_code(int pl_rc);

#endif /* CLI_OPTGROUPS_H */
