#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "analysis/analyze.h"
#include "cli/cmd_analysis.h"
#include "core/json.h"
#include "core/numparse.h"
#include "core/banned.h"

static const char usage[] =
	"usage: poolscope analyze [--json] [--tz ZONE] [--pool S/O/T] [--bucket DUR] FILE...\n"
	"\n"
	"Reconstruct what the connection pool did from the logs a service left and\n"
	"write the post-incident review: the incidents (when timeouts, HTTP 5xx,\n"
	"'too many clients' or a full pool clustered) with the file:line evidence\n"
	"that defines them and what was running at the time; the pool settings in\n"
	"force, timeouts, checkouts, peak use and the healthy/warning/exhausted\n"
	"levels over time; hold-time percentiles from the best evidence present\n"
	"(pool debug pairs > batch spans > PostgreSQL sessions > Little's law), split\n"
	"into API and batch work; HTTP status and latency inside and outside batch\n"
	"windows; PostgreSQL connections, refusals, slow statements and lock waits.\n"
	"All inputs are merged into one timeline.  See docs/analysis.md for the method.\n"
	"\n"
	"Options:\n"
	"  --json               print the analysis as one JSON object (the stable\n"
	"                       interface of DESIGN.md) instead of the review\n"
	"  --pool S/O/T         pool_size/max_overflow/timeout in seconds in force,\n"
	"                       e.g. 10/20/30; overrides what the logs say (default:\n"
	"                       read from TimeoutError messages, else pool-stat lines)\n"
	"  --bucket DUR         time-series step: 60s (default), 10s, 5m, ... or auto\n"
	"                       (about 120 steps over the span)\n"
	CLI_ANALYSIS_USAGE
	"  --holds-tsv FILE     also write every reconstructed hold (start, end,\n"
	"                       duration, connection, origin, evidence, file:line) to\n"
	"                       FILE as tab-separated values\n"
	"  -o, --output FILE    write to FILE (atomically) instead of standard output\n"
	"  -q, --quiet          do not list unparsed lines on stderr\n"
	"  -h, --help           show this help\n"
	CLI_INPUT_USAGE
	"\n"
	"Environment: POOLSCOPE_SAMPLE_CAP=N keeps N values of a distribution\n"
	"exactly (default 1000000); past that its percentiles come from a histogram\n"
	"within 0.4 % and the JSON says \"percentile_method\": \"histogram\".\n"
	"POOLSCOPE_HOLD_MEMORY=BYTES keeps that much of the holds (one per\n"
	"checkout, 80 bytes) in memory (default 16 MiB); the rest wait in a\n"
	"temporary file in $TMPDIR, as do HTTP requests past 65536 and the event\n"
	"merge of large inputs.\n"
	"\n"
	"Exit status: 0 the review was written (whatever it found); 2 an input could\n"
	"not be read (the others are still analysed); 64 usage error.\n"
	"\n"
	"Examples:\n"
	"  poolscope analyze fixtures/incident/before/\n"
	"  poolscope analyze --json --bucket 10s app.log pool.log access.log | jq .pool\n";

enum {
	OPT_JSON = OPT__CMD_BASE,
	OPT_HOLDS_TSV,
};

int cmd_analyze(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, OPT_JSON },
		{ "pool", required_argument, NULL, OPT_AN_POOL },
		CLI_ANALYSIS_LONGOPTS,
		{ "holds-tsv", required_argument, NULL, OPT_HOLDS_TSV },
		{ "output", required_argument, NULL, 'o' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		CLI_INPUT_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	struct parse_opts popts;
	struct analysis_opts aopts;
	struct strvec inputs = STRVEC_INIT;
	struct timeline tl;
	struct analysis a;
	struct strbuf out = STRBUF_INIT;
	struct out_file of;
	const char *output = NULL, *holds_tsv = NULL;
	bool json = false;
	int c, nread, ret = EXIT_OK;

	parse_opts_init(&popts);
	analysis_opts_init(&aopts);
	optind = 0;
	while ((c = getopt_long(argc, argv, "+o:qh", longopts, NULL)) != -1) {
		int r = cli_input_option(&popts, c, optarg);
		if (!r)
			r = cli_analysis_option(&aopts, NULL, NULL, c, optarg);
		if (r < 0)
			goto usage_err;
		if (r > 0)
			continue;
		switch (c) {
		case OPT_JSON: json = true; break;
		case OPT_HOLDS_TSV: holds_tsv = optarg; break;
		case 'o': output = optarg; break;
		case 'q': popts.quiet = true; break;
		case 'h':
			cli_input_release(&popts);
			return cli_usage(usage, true, NULL);
		default:
			goto usage_err;
		}
	}
	{
		/* for tests: the histogram path without millions of values, the
		 * holds' temporary file without millions of holds */
		static const char *const names[] = { "POOLSCOPE_SAMPLE_CAP", "POOLSCOPE_HOLD_MEMORY" };
		size_t *fields[] = { &aopts.sample_cap, &aopts.hold_memory };
		for (size_t i = 0; i < 2; i++) {
			const char *v = getenv(names[i]);
			int64_t n;
			if (!v || !*v)
				continue;
			if (parse_i64(v, &n) < 0 || n < 0) {
				cli_input_release(&popts);
				error("bad %s '%s'", names[i], v);
				return EXIT_OPERATIONAL;
			}
			*fields[i] = (size_t)n;
		}
	}
	if (optind >= argc) {
		cli_input_release(&popts);
		return cli_usage(usage, false, "no input files (use - for standard input)");
	}
	if (cli_expand_inputs(argv + optind, argc - optind, &inputs) < 0) {
		cli_input_release(&popts);
		return EXIT_OPERATIONAL;
	}
	timeline_init(&tl);
	/* tl gets the inputs only: the events stream through the analysis */
	nread = analysis_run_inputs((const char *const *)inputs.v, inputs.nr, &popts, &aopts, &tl, &a, 0);
	if (nread < 0) {
		ret = EXIT_OPERATIONAL;
		goto out;
	}
	if (nread > 0)
		ret = EXIT_OPERATIONAL;
	if (json) {
		struct jw w;
		jw_init(&w, &out, true);
		analysis_write_json(&a, &w);
		strbuf_addch(&out, '\n');
	} else {
		analysis_write_text(&a, &out);
	}
	if (holds_tsv) {
		struct out_file hf;
		if (out_open(&hf, holds_tsv) < 0) {
			ret = EXIT_OPERATIONAL;
		} else {
			/* a write error shows again at the commit, which says why */
			(void)analysis_write_holds_tsv_file(&a, hf.fp);
			if (out_commit(&hf) < 0)
				ret = EXIT_OPERATIONAL;
		}
	}
	analysis_release(&a);
	if (out_open(&of, output) < 0) {
		ret = EXIT_OPERATIONAL;
		goto out;
	}
	fwrite(out.buf, 1, out.len, of.fp);
	if (out_commit(&of) < 0)
		ret = EXIT_OPERATIONAL;
out:
	strbuf_release(&out);
	timeline_release(&tl);
	strvec_clear(&inputs);
	cli_input_release(&popts);
	return ret;
usage_err:
	cli_input_release(&popts);
	return cli_usage(usage, false, NULL);
}
