/*
 * exitcodes.h - the exit codes of mcapkit, defined once (also listed in the
 * README). Commands return one of these; main() passes it to exit.
 */
#ifndef CLI_EXITCODES_H
#define CLI_EXITCODES_H

enum cli_exit_code {
  CLI_EXIT_OK = 0,      /* success */
  CLI_EXIT_FAILURE = 1, /* runtime failure: I/O error, unreadable input, out of memory */
  CLI_EXIT_USAGE = 2,   /* usage error: unknown command or option, bad option value */
  CLI_EXIT_PROBLEMS = 3 /* completed, but found problems (invalid/corrupt input) or lost data */
};

#endif /* CLI_EXITCODES_H */
