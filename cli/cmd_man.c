/*
 * cmd_man.c - 'mcapkit man' (hidden): the manual pages mcapkit(1) and
 * mcapkit-COMMAND(1), written in roff from the command table and each
 * command's option table, the same ones that drive parsing and --help. The
 * build runs `mcapkit man -o DIR` (cmake/GenerateDocs.cmake), so the installed
 * pages never drift from what the command accepts.
 *
 *   mcapkit man [COMMAND]       one page on stdout (mcapkit(1) without COMMAND)
 *   mcapkit man -o DIR          every page, as DIR/mcapkit.1 and DIR/mcapkit-COMMAND.1
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "output.h"

#ifndef MCAPKIT_VERSION
#define MCAPKIT_VERSION "unknown"
#endif

struct man_args {
  const char *output_dir;
};

static const cli_opt man_opts[] = {
    {"output-dir", 'o', CLI_OPT_STRING, offsetof(struct man_args, output_dir), "DIR",
     "write every page into DIR (mcapkit.1, mcapkit-COMMAND.1) instead of one to stdout"},
    {NULL, 0, CLI_OPT_FLAG, 0, NULL, NULL},
};

const cli_spec cmd_man_spec = {
    "man",
    "[-o DIR] [COMMAND]",
    "Prints the manual page of mcapkit, or of one command, in roff (man -l - renders it).\n"
    "The pages are generated from the same option tables as --help.",
    man_opts,
    0,
    1,
    CLI_ARGS_COMMAND,
    NULL,
};

/*
 * Text as roff: backslashes escaped; every '-' of an option-like word (one that
 * starts with '-', such as --chunk-size) written as the ASCII minus \- so that
 * it can be copied; a line that would start with a control character ('.' or
 * '\'') guarded.
 */
static void put_text(FILE *f, const char *s, size_t n) {
  int option_word = 0;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    char before = i > 0 ? s[i - 1] : ' ';
    if (i == 0 && (c == '.' || c == '\'')) fputs("\\&", f);
    if (c == '-' && strchr(" ([|'/,\"", before)) option_word = 1;
    if (!(c == '-' || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) option_word = 0;
    if (c == '\\')
      fputs("\\e", f);
    else if (c == '-' && option_word)
      fputs("\\-", f);
    else
      fputc(c, f);
  }
}

static void put_str(FILE *f, const char *s) {
  put_text(f, s, strlen(s));
}

/* The upper-case page title, "MCAPKIT-FILTER". */
static void put_title(FILE *f, const char *cmd) {
  fputs(".TH MCAPKIT", f);
  if (cmd) {
    fputs("\\-", f);
    for (const char *p = cmd; *p; p++)
      fputc(*p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p, f);
  }
  fputs(" 1 \"\" \"mcapkit " MCAPKIT_VERSION "\" \"mcapkit manual\"\n", f);
  /* Left-aligned, no hyphenation: option names and URLs must not be split. */
  fputs(".nh\n.ad l\n", f);
}

/* The one-line description as a sentence: capitalized, with a period. */
static void put_sentence(FILE *f, const char *desc) {
  fputs(".PP\n", f);
  if (desc[0] >= 'a' && desc[0] <= 'z') {
    fputc(desc[0] - 'a' + 'A', f);
    desc++;
  }
  put_str(f, desc);
  fputs(".\n", f);
}

/*
 * A description from a spec: lines are joined into filled paragraphs; an empty
 * line starts a new paragraph; lines indented by two spaces (examples) are kept
 * as they are, in an indented block.
 */
static void put_paragraphs(FILE *f, const char *text) {
  int literal = 0;
  fputs(".PP\n", f);
  for (const char *p = text; *p;) {
    const char *nl = strchr(p, '\n');
    size_t n = nl ? (size_t)(nl - p) : strlen(p);
    int indented = n >= 2 && p[0] == ' ' && p[1] == ' ';
    if (indented && !literal) {
      fputs(".RS 4\n.nf\n", f);
      literal = 1;
    } else if (!indented && literal) {
      fputs(".fi\n.RE\n", f);
      literal = 0;
    }
    if (n == 0) {
      if (!literal) fputs(".PP\n", f);
    } else {
      if (indented) {
        p += 2;
        n -= 2;
      }
      put_text(f, p, n);
      fputc('\n', f);
    }
    p += n + (nl ? 1 : 0);
    if (!nl) break;
  }
  if (literal) fputs(".fi\n.RE\n", f);
}

static void put_exit_status(FILE *f) {
  fputs(
      ".SH \"EXIT STATUS\"\n"
      ".TP\n0\nsuccess\n"
      ".TP\n1\nfailure: an input could not be read, an output could not be written, "
      "a request failed\n"
      ".TP\n2\nusage error: unknown command or option, bad option value\n"
      ".TP\n3\ncompleted, but found problems (invalid or damaged input) or could not read "
      "an input whole\n",
      f);
}

/* One option as a .TP entry: "-o, --output FILE" then its help line. */
static void put_option(FILE *f, const cli_opt *o) {
  fputs(".TP\n", f);
  if (o->short_name) fprintf(f, "\\fB\\-%c\\fR, ", o->short_name);
  fputs("\\fB\\-\\-", f);
  for (const char *p = o->name; *p; p++) {
    if (*p == '-')
      fputs("\\-", f);
    else
      fputc(*p, f);
  }
  fputs("\\fR", f);
  if (o->kind != CLI_OPT_FLAG) {
    fputs(" \\fI", f);
    put_str(f, o->value_name ? o->value_name : "VALUE");
    fputs("\\fR", f);
  }
  fputc('\n', f);
  put_str(f, o->help);
  fputc('\n', f);
}

static void put_command_page(FILE *f, const cli_cmd *c) {
  static const cli_opt help_opt = {"help", 'h', CLI_OPT_FLAG, 0, NULL, "show this help"};
  const cli_spec *spec = c->spec;
  put_title(f, c->name);
  fputs(".SH NAME\nmcapkit\\-", f);
  put_str(f, c->name);
  fputs(" \\- ", f);
  put_str(f, c->desc);
  fputs("\n.SH SYNOPSIS\n.B mcapkit ", f);
  put_str(f, c->name);
  fputc('\n', f);
  if (spec && spec->synopsis && spec->synopsis[0]) {
    put_str(f, spec->synopsis);
    fputc('\n', f);
  }
  fputs(".SH DESCRIPTION\n", f);
  put_sentence(f, c->desc);
  if (spec && spec->description && spec->description[0]) put_paragraphs(f, spec->description);
  fputs(".SH OPTIONS\n", f);
  for (const cli_opt *o = spec ? spec->opts : NULL; o && o->name; o++)
    if (o->help) put_option(f, o); /* a NULL help is a hidden alias */
  put_option(f, &help_opt);
  fputs(
      ".PP\n"
      "The global options of \\fBmcapkit\\fR(1) (\\fB\\-v\\fR, \\fB\\-\\-json\\fR) go before "
      "the command name.\n",
      f);
  put_exit_status(f);
  fputs(".SH \"SEE ALSO\"\n.BR mcapkit (1)\n", f);
}

static void put_main_page(FILE *f) {
  put_title(f, NULL);
  fputs(
      ".SH NAME\n"
      "mcapkit \\- inspect, verify, rewrite and upload MCAP robot recordings\n"
      ".SH SYNOPSIS\n"
      ".B mcapkit\n"
      "[\\fB\\-\\-help\\fR] [\\fB\\-\\-version\\fR] [\\fB\\-v\\fR | \\fB\\-\\-verbose\\fR] "
      "[\\fB\\-\\-json\\fR] \\fICOMMAND\\fR [\\fIARGS\\fR...]\n"
      ".SH DESCRIPTION\n"
      "mcapkit checks, repairs, slims and splits MCAP recordings, indexes them as the "
      "Foxglove data platform does on import, uploads them through its HTTP API and "
      "verifies what the platform holds. Each command has its own page, "
      "\\fBmcapkit\\-\\fICOMMAND\\fR(1), and its own \\fB\\-\\-help\\fR.\n"
      ".SH COMMANDS\n",
      f);
  for (const cli_cmd *c = cli_cmds; c->name; c++) {
    if (c->flags & CLI_CMD_HIDDEN) continue;
    fputs(".TP\n\\fBmcapkit\\-", f);
    put_str(f, c->name);
    fputs("\\fR(1)\n", f);
    put_str(f, c->desc);
    fputc('\n', f);
  }
  fputs(
      ".SH OPTIONS\n"
      ".TP\n\\fB\\-h\\fR, \\fB\\-\\-help\\fR\nshow the list of commands\n"
      ".TP\n\\fB\\-\\-version\\fR\nsame as \\fBmcapkit version\\fR\n"
      ".TP\n\\fB\\-v\\fR, \\fB\\-\\-verbose\\fR\nsay more on standard error "
      "(repeat for more)\n"
      ".TP\n\\fB\\-\\-json\\fR\nJSON output, for commands that have it\n",
      f);
  put_exit_status(f);
  fputs(".SH \"SEE ALSO\"\n", f);
  int first = 1;
  for (const cli_cmd *c = cli_cmds; c->name; c++) {
    if (c->flags & CLI_CMD_HIDDEN) continue;
    fprintf(f, "%s.BR mcapkit\\-", first ? "" : ",\n");
    put_str(f, c->name);
    fputs(" (1)", f);
    first = 0;
  }
  fputc('\n', f);
}

/* Write one page to DIR/NAME.1 through a temporary file renamed into place. */
static int write_page(const cli_ctx *ctx, const char *dir, const cli_cmd *c) {
  char path[4096], tmp[4096];
  int n = snprintf(path, sizeof path, "%s/mcapkit%s%s.1", dir, c ? "-" : "", c ? c->name : "");
  int m = snprintf(tmp, sizeof tmp, "%s.tmp", path);
  if (n < 0 || (size_t)n >= sizeof path || m < 0 || (size_t)m >= sizeof tmp) {
    cli_error(ctx, "output directory name too long: '%s'", dir);
    return -1;
  }
  FILE *f = fopen(tmp, "w");
  if (!f) {
    cli_error(ctx, "cannot create '%s': %s", tmp, strerror(errno));
    return -1;
  }
  if (c)
    put_command_page(f, c);
  else
    put_main_page(f);
  int bad = ferror(f);
  if (fclose(f) != 0 || bad) {
    cli_error(ctx, "cannot write '%s': %s", tmp, strerror(errno));
    remove(tmp);
    return -1;
  }
  if (rename(tmp, path) != 0) {
    cli_error(ctx, "cannot rename '%s' to '%s': %s", tmp, path, strerror(errno));
    remove(tmp);
    return -1;
  }
  return 0;
}

int cmd_man(cli_ctx *ctx, int argc, char **argv) {
  struct man_args a = {0};
  int first;
  int rc = cli_parse(ctx, &cmd_man_spec, argc, argv, &a, &first);
  if (rc != CLI_CONTINUE) return rc;
  const cli_cmd *cmd = NULL;
  if (first < argc) {
    cmd = cli_find_cmd(argv[first]);
    if (!cmd || (cmd->flags & CLI_CMD_HIDDEN))
      return cli_usage_error(&cmd_man_spec, "'%s' is not a mcapkit command", argv[first]);
  }
  if (!a.output_dir) {
    if (cmd)
      put_command_page(stdout, cmd);
    else
      put_main_page(stdout);
    return CLI_EXIT_OK;
  }
  if (cmd) return cli_usage_error(&cmd_man_spec, "--output-dir writes every page: no COMMAND");
  if (write_page(ctx, a.output_dir, NULL) != 0) return CLI_EXIT_FAILURE;
  for (const cli_cmd *c = cli_cmds; c->name; c++)
    if (!(c->flags & CLI_CMD_HIDDEN) && write_page(ctx, a.output_dir, c) != 0)
      return CLI_EXIT_FAILURE;
  return CLI_EXIT_OK;
}
