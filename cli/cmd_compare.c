#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "analysis/compare.h"
#include "cli/cmd_analysis.h"
#include "core/json.h"
#include "core/numparse.h"
#include "core/banned.h"

static const char usage[] =
	"usage: poolscope compare [--json] [--pool-before S/O/T] [--pool-after S/O/T] BEFORE AFTER\n"
	"\n"
	"Compare two runs (each a log file or a folder of logs, analysed as with\n"
	"`analyze`) in a table like the incident's \"Performance Improvements\", but\n"
	"measured: pool capacity and timeout, batch sizes, connections per batch,\n"
	"hold time p50/p95/max for batch and API work, commits per batch, timeouts,\n"
	"HTTP 5xx, peak pool use and API latency during aggregation; each row with\n"
	"before, after and change.  Then the fix's success criteria, checked from\n"
	"data:\n"
	"  no timeout errors                     no pool timeout on the after side\n"
	"  pool usage during aggregation < 80 %   peak checked out / (size+overflow)\n"
	"                                        while batches ran\n"
	"  API responsive during aggregation     p95 latency while batches ran at\n"
	"                                        most --latency-bound, no 5xx and no\n"
	"                                        pool timeouts (access logs without\n"
	"                                        latency, like uvicorn's, are judged\n"
	"                                        by the failures alone)\n"
	"\n"
	"Options:\n"
	"  --json               one JSON object: both analyses, the rows, the criteria\n"
	"  --pool-before S/O/T  pool settings in force before (default: from the logs)\n"
	"  --pool-after S/O/T   pool settings in force after (default: from the logs;\n"
	"                       a fixed run logs no TimeoutError to read them from)\n"
	"  --latency-bound DUR  'API responsive' p95 bound (default 1s)\n"
	"  --bucket DUR         time-series step (default 60s, or auto)\n"
	CLI_ANALYSIS_USAGE
	"  -q, --quiet          do not list unparsed lines on stderr\n"
	"  -h, --help           show this help\n"
	CLI_INPUT_USAGE
	"\n"
	"Exit status: 0 no regression; 1 the after side is worse on a headline figure\n"
	"(more pool timeouts; more HTTP 5xx, in count and share; hold p95 more than\n"
	"10 % up on the same evidence); 2 an input could not be read; 64 usage error.\n"
	"\n"
	"Example:\n"
	"  poolscope compare --pool-after 20/30/45 logs/2025-10-19/ logs/2025-10-21/\n";

enum {
	OPT_JSON = OPT__CMD_BASE,
};

int cmd_compare(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, OPT_JSON },
		{ "pool-before", required_argument, NULL, OPT_AN_POOL_BEFORE },
		{ "pool-after", required_argument, NULL, OPT_AN_POOL_AFTER },
		{ "latency-bound", required_argument, NULL, OPT_AN_LATENCY },
		CLI_ANALYSIS_LONGOPTS,
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		CLI_INPUT_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	struct parse_opts popts;
	struct analysis_opts ob, oa;
	struct compare_opts copts;
	struct cli_side before, after;
	struct comparison cmp;
	struct strbuf out = STRBUF_INIT;
	bool json = false;
	int c, rb, ra, ret;

	parse_opts_init(&popts);
	analysis_opts_init(&ob);
	analysis_opts_init(&oa);
	compare_opts_init(&copts);
	optind = 0;
	while ((c = getopt_long(argc, argv, "+qh", longopts, NULL)) != -1) {
		int r = cli_input_option(&popts, c, optarg);
		if (!r)
			r = cli_analysis_option(&ob, &oa, &copts, c, optarg);
		if (r < 0)
			goto usage_err;
		if (r > 0)
			continue;
		switch (c) {
		case OPT_JSON: json = true; break;
		case 'q': popts.quiet = true; break;
		case 'h':
			cli_input_release(&popts);
			return cli_usage(usage, true, NULL);
		default:
			goto usage_err;
		}
	}
	if (argc - optind != 2) {
		cli_input_release(&popts);
		return cli_usage(usage, false, "want two inputs, BEFORE and AFTER (files or folders)");
	}
	rb = cli_side_load(&before, "before", argv + optind, 1, &popts, &ob);
	ra = rb < 0 ? -1 : cli_side_load(&after, "after", argv + optind + 1, 1, &popts, &oa);
	if (rb < 0 || ra < 0) {
		cli_side_release(&before);
		if (rb >= 0)
			cli_side_release(&after);
		cli_input_release(&popts);
		return EXIT_OPERATIONAL;
	}
	compare_run(&before.a, &after.a, &copts, &cmp);
	if (json) {
		struct jw w;
		jw_init(&w, &out, true);
		compare_write_json(&cmp, &w);
		strbuf_addch(&out, '\n');
	} else {
		compare_write_text(&cmp, &out);
	}
	fwrite(out.buf, 1, out.len, stdout);
	ret = rb || ra ? EXIT_OPERATIONAL : cmp.regression ? EXIT_FINDINGS : EXIT_OK;
	if (fflush(stdout) == EOF)
		ret = EXIT_OPERATIONAL;
	strbuf_release(&out);
	cli_side_release(&before);
	cli_side_release(&after);
	cli_input_release(&popts);
	return ret;
usage_err:
	cli_input_release(&popts);
	return cli_usage(usage, false, NULL);
}
