#ifndef POOLSCOPE_CMD_ANALYSIS_H
#define POOLSCOPE_CMD_ANALYSIS_H
#include <stdint.h>
#include "analysis/analyze.h"
#include "cli/cli.h"
/* Helpers shared by analyze, compare and report. */

/* Parse a duration option ("60s", "5m", "1.5"); "auto" gives 0.  Returns 0
 * or -1 after error(). */
int cli_parse_bucket(const char *arg, int64_t *usec);

/*
 * Options that shape an analysis, shared by analyze, compare and report so
 * that each means the same everywhere.  A command lists the ones it takes in
 * its getopt table (CLI_ANALYSIS_LONGOPTS, plus OPT_AN_POOL and/or
 * OPT_AN_POOL_BEFORE/AFTER, OPT_AN_LATENCY), and passes each option to
 * cli_analysis_option(), which returns 1 if it took it, 0 if the option is
 * not one of these, -1 after error() for a bad value.  --pool and
 * --pool-before set before's pool, --pool-after after's; the others set
 * both sides.  after (and cmp) may be NULL for a command with one side.
 */
enum {
	OPT_AN_POOL = 1200,
	OPT_AN_POOL_BEFORE,
	OPT_AN_POOL_AFTER,
	OPT_AN_BUCKET,
	OPT_AN_GAP,
	OPT_AN_WARN,
	OPT_AN_LATENCY,
};
#define CLI_ANALYSIS_LONGOPTS                                           \
	{ "bucket", required_argument, NULL, OPT_AN_BUCKET },           \
	{ "incident-gap", required_argument, NULL, OPT_AN_GAP },        \
	{ "warn-pct", required_argument, NULL, OPT_AN_WARN }
/* --bucket's default differs (analyze and compare 60s, report auto): each
 * command describes it; these two are the same everywhere */
#define CLI_ANALYSIS_USAGE                                                         \
	"  --incident-gap DUR   bad steps closer than this form one incident\n"      \
	"                       (default 2m)\n"                                       \
	"  --warn-pct N         pool usage above N % of size+overflow is 'warning'\n" \
	"                       (default 80, the incident's dashboard rule)\n"
struct compare_opts;
int cli_analysis_option(struct analysis_opts *before, struct analysis_opts *after,
			struct compare_opts *cmp, int opt, const char *arg);

/* One analysed run: its inputs, timeline and analysis. */
struct cli_side {
	const char *label;       /* borrowed: "before", "after", or NULL */
	struct strvec inputs;    /* owned: expanded paths */
	struct timeline tl;      /* owned: the inputs (no events, they stream) */
	struct analysis a;       /* owned; borrows tl */
	bool analysed;
};

/*
 * Expand args (files or folders), parse them and analyse them in one
 * streaming pass (analysis_run_inputs()).  Returns 0, 1 if some input could not be read (the rest is analysed),
 * or -1 after error() if nothing could be analysed.
 */
int cli_side_load(struct cli_side *s, const char *label, char **args, int nargs,
		  const struct parse_opts *popts, const struct analysis_opts *aopts);
void cli_side_release(struct cli_side *s);
#endif
