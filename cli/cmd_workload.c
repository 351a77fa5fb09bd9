#include <getopt.h>
#include <stdio.h>
#include "cli/cli.h"
#include "cli/replay_input.h"
#include "replay/workload.h"
#include "core/banned.h"

static const char usage[] =
	"usage: poolscope workload [-o FILE] [input options] FILE...\n"
	"\n"
	"Extract the recorded demand on the connection pool from logs, as a plain\n"
	"tab-separated file that `poolscope replay` and `poolscope sweep` accept\n"
	"instead of the logs, and that people can read and edit (format:\n"
	"docs/replay.md).  Rows:\n"
	"  request  arrival time, process, endpoint, hold (seconds), evidence, flags\n"
	"  batch    start, gap after the previous batch, entries, lanes (connections),\n"
	"           commit pattern\n"
	"  hold     one checkout of a batch lane: hold and the gap before it\n"
	"Each row names its evidence: pool_debug (checkout/return pairs: exact),\n"
	"access_log, timeout (a TimeoutError: arrival = time - timeout, hold imputed\n"
	"from the nearest request), batch_lines, pool_stats (Little's law).  Flags\n"
	"say what was estimated: imputed, timed_out, arrival_est (it waited; arrival\n"
	"estimated from FIFO order), origin_guess (told apart from batch holds by\n"
	"the heuristic in docs/replay.md).\n"
	"\n"
	"Options:\n"
	"  -o, --output FILE  write the workload to FILE (atomically) instead of stdout\n"
	"  -q, --quiet        no summary and no unparsed-line report on stderr\n"
	"  -h, --help         show this help\n"
	CLI_INPUT_USAGE
	"\n"
	"Example:\n"
	"  poolscope workload fixtures/incident/before -o before.tsv\n"
	"  poolscope replay --pool 20/30/4.5 before.tsv\n"
	"\n"
	"Exit status: 0 written, 2 an input could not be read, 64 usage error.\n";

int cmd_workload(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		CLI_INPUT_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	struct parse_opts opts;
	const char *output = NULL;
	struct workload wl;
	struct out_file of;
	int c, ret = EXIT_OK;

	parse_opts_init(&opts);
	optind = 0;
	while ((c = getopt_long(argc, argv, "+o:qh", longopts, NULL)) != -1) {
		int r = cli_input_option(&opts, c, optarg);
		if (r < 0) {
			cli_input_release(&opts);
			return EXIT_USAGE;
		}
		if (r > 0)
			continue;
		switch (c) {
		case 'o': output = optarg; break;
		case 'q': opts.quiet = true; break;
		case 'h':
			cli_input_release(&opts);
			return cli_usage(usage, true, NULL);
		default:
			cli_input_release(&opts);
			return cli_usage(usage, false, NULL);
		}
	}
	if (optind >= argc) {
		cli_input_release(&opts);
		return cli_usage(usage, false, "no input files (use - for standard input)");
	}
	workload_init(&wl);
	if (replay_load_workload(argv + optind, argc - optind, &opts, &wl) < 0)
		ret = EXIT_OPERATIONAL;
	if (!opts.quiet)
		replay_describe_workload(&wl);
	/* after an error, what was read is still written (a cut gzip keeps its
	 * first hours), but an error before anything was read writes nothing */
	if (ret == EXIT_OK || wl.nreq || wl.nbatch) {
		if (out_open(&of, output) < 0) {
			ret = EXIT_OPERATIONAL;
		} else if (workload_write(&wl, of.fp) < 0) {
			out_abort(&of);
			ret = EXIT_OPERATIONAL;
		} else if (out_commit(&of) < 0) {
			ret = EXIT_OPERATIONAL;
		}
	}
	workload_release(&wl);
	cli_input_release(&opts);
	return ret;
}
