#include <string.h>
#include "cli/cmd_analysis.h"
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
