/*
 * bag_input.h - commands that read MCAP (doctor, index, lake, upload) taking
 * ROS bags too: a ROS 1 bag, a rosbag2 .db3 or a rosbag2 folder (recognised
 * by content, pl_convert_detect) is converted into a temporary MCAP file
 * first, and the command reads that while showing the original name.
 */
#ifndef CLI_BAG_INPUT_H
#define CLI_BAG_INPUT_H

#include <stddef.h>

#include "cmd.h"

/** What cli_bag_inputs_prepare did; dispose with cli_bag_inputs_dispose. */
typedef struct cli_bag_inputs {
  size_t n;       /* inputs looked at */
  char **orig;    /* per input: the name given when it was converted, else NULL (owned) */
  char **tmp;     /* per input: the temporary MCAP made from it, else NULL (owned, unlinked
                     by dispose), named after the input: DIR/run1.mcap for run1.bag */
  char **dir;     /* per input: the private folder holding tmp[i] (owned, removed by dispose) */
  int converted;  /* inputs converted */
  int lost;       /* a conversion lost data or met damage: the command exits 3 at least */
} cli_bag_inputs;

/**
 * Convert every ROS bag among paths[0..n) into a temporary MCAP file (zstd
 * chunks, named after the input, in a private folder of $TMPDIR or /tmp) and
 * replace paths[i] by the temporary path.
 * '-', streams, descriptor paths and MCAP files are left alone; so is anything unrecognised (the command
 * reports it as it always has). With allow = 0 a bag is refused with a message
 * that names `hint` (e.g. "add --convert"). Conversion problems go to stderr.
 * @param paths borrowed; entries replaced by strings owned by `b`.
 * @return CLI_CONTINUE, or an exit code after printing why.
 */
int cli_bag_inputs_prepare(const cli_ctx *ctx, cli_bag_inputs *b, char **paths, size_t n,
                           int allow, const char *hint);

/** The name to show for paths[i]: the original input when it was converted, else `path`. */
const char *cli_bag_inputs_name(const cli_bag_inputs *b, size_t i, const char *path);

/** The name to show for `path` if it is one of the temporary files, else `path`. */
const char *cli_bag_inputs_shown(const cli_bag_inputs *b, const char *path);

struct pl_convert_problem;

/**
 * One problem of a conversion on stderr: "'FILE': offset N: what" (or "row N",
 * or neither), prefixed "warning: " when nothing was lost. Shared by convert.
 */
void cli_print_convert_problem(const cli_ctx *ctx, const struct pl_convert_problem *p);

/** Remove the temporary files and free everything. Accepts a zeroed struct. */
void cli_bag_inputs_dispose(cli_bag_inputs *b);

#endif /* CLI_BAG_INPUT_H */
