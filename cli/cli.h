#ifndef POOLSCOPE_CLI_H
#define POOLSCOPE_CLI_H
#include <stdbool.h>
#include <stdio.h>
#include "core/error.h"
#include "core/strvec.h"
#include "parsers/parse.h"
/*
 * The command table lives in cli/main.c; each subcommand is one
 * cmd_<name>.c with `int cmd_<name>(int argc, char **argv)` returning an
 * exit code (enum exit_code).  argv[0] is the subcommand name.
 */
int cmd_parse(int argc, char **argv);
int cmd_analyze(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_workload(int argc, char **argv);
int cmd_replay(int argc, char **argv);
int cmd_sweep(int argc, char **argv);
int cmd_audit(int argc, char **argv);

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};
extern const struct command commands[];

/*
 * Options shared by every command that reads logs.  Use CLI_INPUT_LONGOPTS
 * inside a getopt_long option array and pass unknown options to
 * cli_input_option() first.
 */
enum {
	OPT_FORMAT = 1000,
	OPT_TZ,
	OPT_PG_PREFIX,
	OPT_FORMATS,
	OPT_MAX_LINE,
	OPT__CMD_BASE = 1100 /* commands number their own long options from here */
};
#define CLI_INPUT_LONGOPTS                                              \
	{ "format", required_argument, NULL, OPT_FORMAT },              \
	{ "tz", required_argument, NULL, OPT_TZ },                      \
	{ "pg-prefix", required_argument, NULL, OPT_PG_PREFIX },        \
	{ "formats", required_argument, NULL, OPT_FORMATS },            \
	{ "max-line", required_argument, NULL, OPT_MAX_LINE }
#define CLI_INPUT_USAGE                                                                   \
	"Input options:\n"                                                                \
	"  --format NAME      read every input as format NAME instead of detecting it\n"  \
	"                     per file (see `poolscope help formats`)\n"                  \
	"  --tz ZONE          zone of timestamps that carry none: UTC (default), an\n"    \
	"                     offset like +02:00, or an IANA name like Europe/Berlin\n"   \
	"  --pg-prefix STR    PostgreSQL log_line_prefix of stderr logs (default:\n"      \
	"                     recognise the common ones)\n"                               \
	"  --formats FILE     extra PCRE2 patterns mapping an application's own lines\n"  \
	"                     to events (see `poolscope help formats-file`)\n"            \
	"  --max-line BYTES   longest line kept (default 1048576); longer lines are\n"    \
	"                     counted as too_long\n"                                      \
	"Inputs are files, folders (their files, sorted) or - for standard input;\n"      \
	".gz files are decompressed.\n"

/* Returns 1 if opt was an input option (applied to o), 0 if not, -1 on a bad
 * value (after error()). */
int cli_input_option(struct parse_opts *o, int opt, const char *arg);
/* Release what cli_input_option() loaded (user formats). */
void cli_input_release(struct parse_opts *o);
/* Expand files and folders into paths; -1 after error() if one is missing. */
int cli_expand_inputs(char **args, int n, struct strvec *out);

/* Print usage: to stdout and return 0 for --help, else to stderr and return
 * EXIT_USAGE.  `why` (may be NULL) is printed first as "error: why". */
int cli_usage(const char *usage, bool help, const char *why, ...) __attribute__((format(printf, 3, 4)));

/*
 * Atomic output: write to "<path>.tmp.<pid>" and rename over path on commit,
 * so an interrupted run never leaves a half-written file that looks complete.
 * path "-" or NULL means stdout (no rename); an existing non-regular file
 * (/dev/null, a FIFO) is written in place.
 */
struct out_file {
	FILE *fp;
	char *path;
	char *tmp;
	bool direct; /* path is not a regular file (/dev/null, a FIFO): written in place */
};
int out_open(struct out_file *of, const char *path);
/* Flush, fsync and rename; returns 0 or -1 after error() (temp removed). */
int out_commit(struct out_file *of);
void out_abort(struct out_file *of);

/* True if stderr is a terminal (progress is shown only then). */
bool cli_progress_enabled(void);
#endif
