#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include "analysis/compare.h"
#include "analysis/report.h"
#include "cli/cmd_analysis.h"
#include "core/banned.h"

static const char usage[] =
	"usage: poolscope report [options] BEFORE AFTER -o DIR\n"
	"       poolscope report [options] FILE... -o DIR\n"
	"\n"
	"Write a report folder: report.html (self-contained, readable offline),\n"
	"report.md, report.json (the analysis, or the comparison with both analyses),\n"
	"and four charts, each as NAME.png and NAME.svg next to the NAME.gp gnuplot\n"
	"script and NAME.dat data that make them, so they can be restyled:\n"
	"  pool-usage  connections checked out (and overflow) over time, pool_size and\n"
	"              size+overflow limits, timeouts marked, batch windows shaded\n"
	"  failures    pool timeouts and HTTP 5xx per step\n"
	"  hold-cdf    hold-time distribution (CDF, log scale)\n"
	"  latency     API latency p50/p95 per step, batch windows shaded (requests\n"
	"              and 5xx per step when the access logs carry no latency)\n"
	"With two sides, before and after share one time-of-run axis and the report\n"
	"holds the `compare` table and success criteria.  Two arguments that are both\n"
	"folders are BEFORE and AFTER; anything else is one run (force with --compare\n"
	"or --single).  The folder is written under a temporary name and renamed into\n"
	"place, so it is complete or absent; an existing DIR is replaced only if it is\n"
	"a poolscope report.  Without gnuplot the report is still written (data and\n"
	"scripts, no images) and says so.\n"
	"\n"
	"Options:\n"
	"  -o, --output DIR     the report folder (required)\n"
	"  --compare            two sides: BEFORE AFTER (files or folders)\n"
	"  --single             one side: every argument is an input of one run\n"
	"  --pool S/O/T         pool settings in force (one side)\n"
	"  --pool-before S/O/T  pool settings before (default: from the logs)\n"
	"  --pool-after S/O/T   pool settings after (default: from the logs)\n"
	"  --bucket DUR         time-series step of the charts (default auto: about\n"
	"                       120 steps over the run)\n"
	CLI_ANALYSIS_USAGE
	"  --latency-bound DUR  'API responsive' p95 bound (default 1s)\n"
	"  --gnuplot PATH       gnuplot executable (default: gnuplot in PATH)\n"
	"  --no-render          write data and scripts only\n"
	"  -q, --quiet          do not list unparsed lines on stderr\n"
	"  -h, --help           show this help\n"
	CLI_INPUT_USAGE
	"\n"
	"Exit status: 0 written; 1 written, and the after side is worse on a headline\n"
	"figure (as `compare`); 2 an input could not be read, DIR could not be\n"
	"written, or gnuplot failed; 64 usage error.  A missing gnuplot is a warning.\n"
	"\n"
	"Examples:\n"
	"  poolscope report fixtures/incident/before/ fixtures/incident/after/ -o out/report\n"
	"  poolscope report --pool 10/20/30 app.log pool.log access.log -o out/incident\n";

enum {
	OPT_COMPARE = OPT__CMD_BASE,
	OPT_SINGLE,
	OPT_GNUPLOT,
	OPT_NO_RENDER,
};

static bool is_dir(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

int cmd_report(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "compare", no_argument, NULL, OPT_COMPARE },
		{ "single", no_argument, NULL, OPT_SINGLE },
		{ "pool", required_argument, NULL, OPT_AN_POOL },
		{ "pool-before", required_argument, NULL, OPT_AN_POOL_BEFORE },
		{ "pool-after", required_argument, NULL, OPT_AN_POOL_AFTER },
		{ "latency-bound", required_argument, NULL, OPT_AN_LATENCY },
		CLI_ANALYSIS_LONGOPTS,
		{ "gnuplot", required_argument, NULL, OPT_GNUPLOT },
		{ "no-render", no_argument, NULL, OPT_NO_RENDER },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		CLI_INPUT_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	struct parse_opts popts;
	struct analysis_opts ob, oa;
	struct compare_opts copts;
	struct report_opts ropts;
	struct cli_side sides[2];
	struct report_side rs[2];
	struct comparison cmp;
	int mode = 0; /* 0 detect, 1 single, 2 compare */
	int c, ret = EXIT_OK, r0 = 0, r1 = 0, nargs, w;
	size_t nsides;

	parse_opts_init(&popts);
	analysis_opts_init(&ob);
	analysis_opts_init(&oa);
	ob.bucket_usec = oa.bucket_usec = 0; /* auto: charts want ~120 steps */
	compare_opts_init(&copts);
	report_opts_init(&ropts);
	optind = 0;
	/* no "+": options may follow the inputs (report A B -o DIR) */
	while ((c = getopt_long(argc, argv, "o:qh", longopts, NULL)) != -1) {
		int r = cli_input_option(&popts, c, optarg);
		if (!r)
			r = cli_analysis_option(&ob, &oa, &copts, c, optarg);
		if (r < 0)
			goto usage_err;
		if (r > 0)
			continue;
		switch (c) {
		case 'o': ropts.outdir = optarg; break;
		case OPT_COMPARE: mode = 2; break;
		case OPT_SINGLE: mode = 1; break;
		case OPT_GNUPLOT: ropts.gnuplot = optarg; break;
		case OPT_NO_RENDER: ropts.render = false; break;
		case 'q': popts.quiet = true; break;
		case 'h':
			cli_input_release(&popts);
			return cli_usage(usage, true, NULL);
		default:
			goto usage_err;
		}
	}
	nargs = argc - optind;
	if (!ropts.outdir) {
		cli_input_release(&popts);
		return cli_usage(usage, false, "-o DIR is required");
	}
	if (nargs < 1) {
		cli_input_release(&popts);
		return cli_usage(usage, false, "no input files");
	}
	if (!mode)
		mode = nargs == 2 && is_dir(argv[optind]) && is_dir(argv[optind + 1]) ? 2 : 1;
	if (mode == 2 && nargs != 2) {
		cli_input_release(&popts);
		return cli_usage(usage, false, "--compare wants two inputs, BEFORE and AFTER");
	}
	if (mode == 2) {
		r0 = cli_side_load(&sides[0], "before", argv + optind, 1, &popts, &ob);
		r1 = r0 < 0 ? -1 : cli_side_load(&sides[1], "after", argv + optind + 1, 1, &popts, &oa);
		nsides = 2;
	} else {
		r0 = cli_side_load(&sides[0], "run", argv + optind, nargs, &popts, &ob);
		nsides = 1;
	}
	if (r0 < 0 || r1 < 0) {
		cli_side_release(&sides[0]);
		if (nsides == 2 && r0 >= 0)
			cli_side_release(&sides[1]);
		cli_input_release(&popts);
		return EXIT_OPERATIONAL;
	}
	for (size_t i = 0; i < nsides; i++) {
		rs[i].label = sides[i].label;
		rs[i].a = &sides[i].a;
	}
	if (nsides == 2)
		compare_run(&sides[0].a, &sides[1].a, &copts, &cmp);
	w = report_write(rs, nsides, nsides == 2 ? &cmp : NULL, &ropts);
	if (w < 0 || w == 2)
		ret = EXIT_OPERATIONAL;
	else if (r0 || r1)
		ret = EXIT_OPERATIONAL;
	else if (nsides == 2 && cmp.regression)
		ret = EXIT_FINDINGS;
	if (w == 1)
		warning("charts not rendered (gnuplot '%s' not found); data and scripts are in '%s'",
			ropts.gnuplot, ropts.outdir);
	for (size_t i = 0; i < nsides; i++)
		cli_side_release(&sides[i]);
	cli_input_release(&popts);
	return ret;
usage_err:
	cli_input_release(&popts);
	return cli_usage(usage, false, NULL);
}
