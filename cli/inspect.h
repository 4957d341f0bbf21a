/*
 * inspect.h - helpers shared by the inspect/extract commands (list, cat, du,
 * get, extract, add): opening an input for indexed reading, including
 * standard input, and small conversions of record fields for output.
 */
#ifndef CLI_INSPECT_H
#define CLI_INSPECT_H

#include <json-c/json.h>
#include <stdint.h>

#include "bag_input.h"
#include "cmd.h"
#include "mcap/mcap.h"
#include "output.h"

/**
 * Refuse to read MCAP data from a terminal: prints why and returns CLI_EXIT_USAGE
 * when standard input is one, else returns CLI_EXIT_OK.
 */
int cli_check_stdin(const cli_ctx *ctx);

/**
 * Open `path` with the indexed reader. '-' (standard input) and paths that are
 * streams (a pipe, /dev/fd/N, <(cmd)) are copied into an unnamed temporary file
 * first (pl_input_open); standard input redirected from a file is read in place.
 * `threads` is mcap_indexed_options.threads (0 = one per core). Says with -v
 * when the index had to be built by scanning. Damaged chunks are skipped by
 * queries (skip_bad_chunks); close with cli_close_reader, which reports them.
 * @return CLI_EXIT_OK, or CLI_EXIT_FAILURE after printing why.
 */
int cli_open_reader(const cli_ctx *ctx, const char *path, int threads, mcap_reader **out);

/**
 * Open `path` for streamed reading into *src: '-' is standard input, anything else is opened
 * as a file (a pipe then reads as the stream it is). Messages name '-' as `stdin_name` (NULL:
 * as '-'). @return CLI_EXIT_OK, or CLI_EXIT_FAILURE after printing why.
 */
int cli_open_stream(const cli_ctx *ctx, const char *path, const char *stdin_name,
                    mcap_source *src);

/**
 * Done with a reader from cli_open_reader: say what of `path` it could not read
 * (cli_report_damage: one line, and the run ends with exit 3 instead of 0),
 * then free it. Accepts NULL. @return CLI_EXIT_OK or CLI_EXIT_PROBLEMS.
 */
int cli_close_reader(const cli_ctx *ctx, const char *path, mcap_reader *r);

/** The recordings named by FILE|DIR arguments (index, coverage, lake, upload). */
typedef struct cli_recordings {
  char **paths;        /* what to open, from pl_collect_recordings */
  const char **names;  /* what to call each one: the argument that named it ('-', /dev/fd/N
                          for copies of streams), else its path */
  size_t n;
  struct pl_input *inputs; /* copies of '-' and streams, released with the list */
  size_t n_inputs;
  cli_bag_inputs bags;     /* ROS bags converted to temporary MCAP files, removed with the list */
} cli_recordings;

/**
 * Collect the recordings of FILE|DIR arguments (pl_collect_recordings): '-' and
 * streams (a pipe, /dev/fd/N, <(cmd)) are copied into temporary files first
 * (pl_input_open) unless `no_streams`, when they are a usage error naming why.
 * An argument list that names no recording is a failure ("no recordings found").
 * @return CLI_EXIT_OK, or an exit code after printing why.
 */
int cli_collect_recordings(const cli_ctx *ctx, const cli_spec *spec, char **args, size_t n,
                           const char *no_streams, cli_recordings *out);

/** How cli_collect_recordings_bags treats arguments that are ROS bags (bag_input.h). */
enum cli_bag_mode {
  CLI_BAGS_CONVERT = 1, /* converted to temporary MCAP files, named as given */
  CLI_BAGS_REFUSE = 0   /* a failure whose message says how to convert (`hint`) */
};

/**
 * cli_collect_recordings, with the ROS bags among `args` (a ROS 1 bag, a rosbag2
 * .db3 or folder, recognised by content) converted or refused as `mode` says.
 * out->bags.lost is set when a conversion lost data (the command then exits 3).
 */
int cli_collect_recordings_bags(const cli_ctx *ctx, const cli_spec *spec, char **args, size_t n,
                                const char *no_streams, enum cli_bag_mode mode, const char *hint,
                                cli_recordings *out);
void cli_recordings_free(cli_recordings *r);

/** A NUL-terminated heap copy of a string view (free() it); NULL when out of memory. */
char *cli_str_dup(mcap_str s);

/** A JSON object from a Map<string,string> (later duplicates win). */
json_object *cli_json_str_map(const mcap_map *m);

/** Same object serialised compactly ("{"a":"1"}"); free() it. NULL when out of memory. */
char *cli_str_map_text(const mcap_map *m);

/** A table cell from untrusted text, control characters escaped (cli_one_line); "?" and -1
 * when out of memory, else 0. */
int cli_table_add_text(cli_table *t, mcap_str s);

/** A cell of at most `max_chars` characters (UTF-8; at least 4), "..." ending a cut one; "?"
 * and -1 for a NULL text (what failed to be made), else 0. */
int cli_table_add_long(cli_table *t, const char *text, size_t max_chars);

/** Start a table whose header row is names[] (one per character of `align`). */
void cli_table_head(cli_table *t, const char *align, const char *const *names);

/** "none" for the empty compression string, else the string (not copied). */
const char *cli_compression_label(mcap_str compression, char *buf, size_t n);

/**
 * A copy of `s` for a table cell: line breaks and tabs become \n, \t, \r, other
 * control characters \xNN. free() it; NULL when out of memory.
 */
char *cli_one_line(const char *s);

/** cli_one_line() of a string view (stops at an embedded NUL). */
char *cli_one_line_view(mcap_str s);

#endif /* CLI_INSPECT_H */
