#include <string.h>
#include "cli/cmd_analysis.h"
#include "analysis/compare.h"
#include "core/error.h"
#include "core/numparse.h"
#include "core/banned.h"

int cli_parse_bucket(const char *arg, int64_t *usec)
{
	if (!strcmp(arg, "auto")) {
		*usec = 0;
		return 0;
	}
	if (parse_duration_usec(arg, usec) < 0 || *usec < 1000 || *usec > 7 * 86400 * USEC_PER_SEC)
		return error("bad duration '%s' (like 60s, 10s, 5m, or auto)", arg);
	return 0;
}

/* A duration that must not be "auto" (0). */
static int parse_span(const char *opt, const char *arg, int64_t *usec)
{
	if (cli_parse_bucket(arg, usec) < 0)
		return -1;
	if (!*usec)
		return error("%s wants a duration, not '%s'", opt, arg);
	return 0;
}

int cli_analysis_option(struct analysis_opts *before, struct analysis_opts *after,
			struct compare_opts *cmp, int opt, const char *arg)
{
	double pct;
	switch (opt) {
	case OPT_AN_POOL:
	case OPT_AN_POOL_BEFORE:
		return pool_config_parse(&before->pool, arg) < 0 ? -1 : 1;
	case OPT_AN_POOL_AFTER:
		if (!after)
			BUG("--pool-after for a command with one side");
		return pool_config_parse(&after->pool, arg) < 0 ? -1 : 1;
	case OPT_AN_LATENCY:
		if (!cmp)
			BUG("--latency-bound without a comparison");
		return parse_span("--latency-bound", arg, &cmp->latency_bound_usec) < 0 ? -1 : 1;
	case OPT_AN_BUCKET:
		if (cli_parse_bucket(arg, &before->bucket_usec) < 0)
			return -1;
		break;
	case OPT_AN_GAP:
		if (parse_span("--incident-gap", arg, &before->incident_gap_usec) < 0)
			return -1;
		break;
	case OPT_AN_WARN:
		if (parse_double(arg, &pct) < 0 || !(pct > 0 && pct <= 100))
			return error("--warn-pct wants a percentage from 0 to 100, not '%s'", arg);
		before->warn_pct = pct;
		break;
	default:
		return 0;
	}
	/* the step, gap and warning level are the same on both sides */
	if (after) {
		after->bucket_usec = before->bucket_usec;
		after->incident_gap_usec = before->incident_gap_usec;
		after->warn_pct = before->warn_pct;
	}
	return 1;
}

int cli_side_load(struct cli_side *s, const char *label, char **args, int nargs,
		  const struct parse_opts *popts, const struct analysis_opts *aopts)
{
	int ret;
	memset(s, 0, sizeof(*s));
	s->label = label;
	timeline_init(&s->tl);
	if (cli_expand_inputs(args, nargs, &s->inputs) < 0)
		return -1;
	if (!s->inputs.nr)
		return error("no input files in '%s'", args[0]);
	/* s->tl holds the inputs only: the events stream through */
	ret = analysis_run_inputs((const char *const *)s->inputs.v, s->inputs.nr, popts, aopts,
				  &s->tl, &s->a, 0);
	if (ret < 0)
		return -1;
	s->analysed = true;
	return ret;
}

void cli_side_release(struct cli_side *s)
{
	if (s->analysed)
		analysis_release(&s->a);
	timeline_release(&s->tl);
	strvec_clear(&s->inputs);
	memset(s, 0, sizeof(*s));
}
