#ifndef POOLSCOPE_CMD_ANALYSIS_H
#define POOLSCOPE_CMD_ANALYSIS_H
#include <stdint.h>
#include "analysis/analyze.h"
#include "cli/cli.h"
/* Helpers shared by analyze, compare and report. */

/* Parse a duration option ("60s", "5m", "1.5"); "auto" gives 0.  Returns 0
 * or -1 after error(). */
int cli_parse_bucket(const char *arg, int64_t *usec);

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
