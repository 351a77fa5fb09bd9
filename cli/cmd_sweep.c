#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include "analysis/chart.h"
#include "cli/cli.h"
#include "cli/replay_input.h"
#include "core/json.h"
#include "core/numparse.h"
#include "core/strbuf.h"
#include "replay/sweep.h"
#include "core/banned.h"

static const char usage[] =
	"usage: poolscope sweep [--size LO:HI[:STEP]] [--overflow LO:HI[:STEP]]\n"
	"                       [--timeout LO:HI[:STEP]] [--batch-sizes N,N,...]\n"
	"                       [--max-connections N] [--workers N] [--max-wait-p99 S]\n"
	"                       [-o DIR] [--json] FILE...\n"
	"\n"
	"Replay the recorded workload (logs, or a file from `poolscope workload`)\n"
	"under every combination of pool size, max overflow, timeout and batch size,\n"
	"and name the cheapest settings with no predicted timeouts or refusals: the\n"
	"fewest connections PostgreSQL may have to hold, (size + overflow) x\n"
	"processes, that also fit --max-connections and keep the wait p99 under\n"
	"--max-wait-p99.  Prints the frontier of cost against wait p99, and with -o\n"
	"a heatmap of predicted timeouts over size x overflow (gnuplot .dat and .gp,\n"
	"rendered to PNG and SVG when gnuplot is installed).  Settings are simulated\n"
	"on every core.  A setting with a failure stops at its first one (its counts\n"
	"are then lower bounds, marked \"complete\": false) unless --full is given;\n"
	"the heatmap's slice is always run in full.\n"
	"\n"
	"Options:\n"
	"  --size LO:HI[:STEP]      pool_size range (default 1:30:1)\n"
	"  --overflow LO:HI[:STEP]  max_overflow range (default 0:30:1)\n"
	"  --timeout LO:HI[:STEP]   pool_timeout range in seconds (default: the\n"
	"                           recorded timeout, else 30)\n"
	"  --batch-sizes N,N,...    re-cut batches to each size in turn (0 = as\n"
	"                           recorded; default: as recorded only)\n"
	"  --max-wait-p99 S         also require the wait p99 to be at most S seconds\n"
	"  --threads N              simulation threads (default: every core)\n"
	"  --full                   simulate failing settings to the end too\n"
	"  -o, --output DIR         write sweep-timeouts.dat/.gp (+ .png/.svg) there\n"
	"  --json                   print the result as one JSON object\n"
	"  -q, --quiet              nothing on stderr but errors\n"
	"  -h, --help               show this help\n"
	REPLAY_MODEL_USAGE
	CLI_INPUT_USAGE
	"\n"
	"Example:\n"
	"  poolscope sweep --workers 4 --max-connections 100 --max-wait-p99 0.5 \\\n"
	"      --batch-sizes 0,125,50 -o sweep/ fixtures/incident/before\n"
	"\n"
	"Exit status: 0 the sweep ran (1 if no setting is acceptable), 2 an input could\n"
	"not be read, 64 usage error.\n";

/* "LO:HI[:STEP]" or a single value. */
static int parse_range(const char *s, int64_t *lo, int64_t *hi, int64_t *step, bool seconds)
{
	char buf[128];
	char *p[3] = { buf, NULL, NULL };
	int n = 1;
	if (strlen(s) >= sizeof(buf))
		return -1;
	memcpy(buf, s, strlen(s) + 1);
	for (char *c = buf; *c && n < 3; c++)
		if (*c == ':') {
			*c = '\0';
			p[n++] = c + 1;
		}
	for (int i = 0; i < n; i++) {
		int64_t v;
		int r = seconds ? parse_duration_usec(p[i], &v) : parse_i64(p[i], &v);
		if (r < 0)
			return -1;
		if (i == 0)
			*lo = *hi = v;
		else if (i == 1)
			*hi = v;
		else
			*step = v;
	}
	return *hi >= *lo && *step > 0 ? 0 : -1;
}

static int parse_sizes(const char *s, int32_t **out, size_t *n)
{
	const char *p = s;
	*n = 0;
	*out = NULL;
	while (*p) {
		const char *e = strchr(p, ',');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		int64_t v;
		if (parse_i64_n(p, len, &v) < 0 || v < 0 || v > 100000000) {
			free(*out);
			*out = NULL;
			return -1;
		}
		*out = xrealloc(*out, (*n + 1) * sizeof(**out));
		(*out)[(*n)++] = (int32_t)v;
		p += len + (e ? 1 : 0);
	}
	return *n ? 0 : -1;
}

static void json_point(struct jw *w, const struct sweep_point *p)
{
	jw_obj_begin(w);
	jw_kint(w, "pool_size", p->pool_size);
	jw_kint(w, "max_overflow", p->max_overflow);
	jw_kusec_s(w, "timeout_s", p->timeout_usec);
	if (p->batch_size)
		jw_kint(w, "batch_size", p->batch_size);
	else
		jw_key(w, "batch_size"), jw_null(w);
	if (p->cost == INT32_MAX)
		jw_key(w, "connections"), jw_null(w);
	else
		jw_kint(w, "connections", p->cost);
	jw_kint(w, "timeouts", (int64_t)p->timeouts);
	jw_kint(w, "refusals", (int64_t)p->refusals);
	jw_kint(w, "late_successes", (int64_t)p->late);
	jw_kint(w, "peak_checked_out", p->peak_checked_out);
	jw_knum(w, "wait_p99_s", p->wait_p99_usec / 1e6, 6);
	jw_kusec_s(w, "wait_max_s", p->wait_max_usec);
	jw_kbool(w, "complete", p->complete);
	jw_kbool(w, "fits", p->fits);
	jw_obj_end(w);
}

static void print_point_row(const struct sweep_point *p, bool best)
{
	char batch[16];
	if (p->batch_size)
		snprintf(batch, sizeof(batch), "%d", p->batch_size);
	else
		snprintf(batch, sizeof(batch), "rec");
	printf("  %5d  %4d  %8d  %7.2f  %5s  %8.3f  %8.3f  %4d%s\n", p->cost, p->pool_size,
	       p->max_overflow, (double)p->timeout_usec / 1e6, batch, p->wait_p99_usec / 1e6,
	       (double)p->wait_max_usec / 1e6, p->peak_checked_out, best ? "  <- cheapest" : "");
}

struct frow {
	int32_t cost;
	double p99;
	size_t i;
};

static int cmp_frow(const void *a, const void *b)
{
	const struct frow *x = a, *y = b;
	if (x->cost != y->cost)
		return x->cost < y->cost ? -1 : 1;
	if (x->p99 != y->p99)
		return x->p99 < y->p99 ? 1 : -1;
	return (x->i > y->i) - (x->i < y->i);
}

/* Frontier point indices by cost (then falling wait p99). */
static size_t frontier(const struct sweep_result *r, size_t **out)
{
	struct frow *v = xmalloc((r->npoints + 1) * sizeof(*v));
	size_t n = 0;
	for (size_t i = 0; i < r->npoints; i++)
		if (r->points[i].frontier)
			v[n++] = (struct frow){ r->points[i].cost, r->points[i].wait_p99_usec, i };
	qsort(v, n, sizeof(*v), cmp_frow);
	*out = xmalloc((n + 1) * sizeof(**out));
	for (size_t k = 0; k < n; k++)
		(*out)[k] = v[k].i;
	free(v);
	return n;
}

enum { OPT_SIZE = 1100, OPT_OVF, OPT_TIMEOUT, OPT_BATCHES, OPT_P99, OPT_THREADS, OPT_FULL,
       OPT_JSON };

int cmd_sweep(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "size", required_argument, NULL, OPT_SIZE },
		{ "overflow", required_argument, NULL, OPT_OVF },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "batch-sizes", required_argument, NULL, OPT_BATCHES },
		{ "max-wait-p99", required_argument, NULL, OPT_P99 },
		{ "threads", required_argument, NULL, OPT_THREADS },
		{ "full", no_argument, NULL, OPT_FULL },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "output", required_argument, NULL, 'o' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		REPLAY_MODEL_LONGOPTS,
		CLI_INPUT_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	struct parse_opts opts;
	struct sim_config cfg;
	struct sweep_spec spec;
	struct sweep_result res;
	struct workload wl;
	const char *outdir = NULL;
	int32_t *sizes = NULL;
	bool json = false;
	int c, ret = EXIT_OK;
	int64_t lo, hi, step, v;
	double d;
	struct timespec t0, t1;
	size_t *fr = NULL, nf;

	parse_opts_init(&opts);
	sim_config_init(&cfg);
	sweep_spec_init(&spec);
	optind = 0;
	while ((c = getopt_long(argc, argv, "+o:qh", longopts, NULL)) != -1) {
		int r = cli_input_option(&opts, c, optarg);
		if (!r)
			r = replay_model_option(&cfg, &spec.base, c, optarg);
		if (r < 0)
			goto usage_err;
		if (r > 0)
			continue;
		switch (c) {
		case OPT_SIZE:
			step = 1;
			if (parse_range(optarg, &lo, &hi, &step, false) < 0 || lo < 0 || hi > 100000) {
				error("--size wants LO:HI[:STEP], not '%s'", optarg);
				goto usage_err;
			}
			spec.size_lo = (int32_t)lo, spec.size_hi = (int32_t)hi, spec.size_step = (int32_t)step;
			break;
		case OPT_OVF:
			step = 1;
			if (parse_range(optarg, &lo, &hi, &step, false) < 0 || lo < -1 || hi > 100000) {
				error("--overflow wants LO:HI[:STEP], not '%s'", optarg);
				goto usage_err;
			}
			spec.ovf_lo = (int32_t)lo, spec.ovf_hi = (int32_t)hi, spec.ovf_step = (int32_t)step;
			break;
		case OPT_TIMEOUT:
			step = USEC_PER_SEC;
			if (parse_range(optarg, &lo, &hi, &step, true) < 0 || lo < 0) {
				error("--timeout wants LO:HI[:STEP] seconds, not '%s'", optarg);
				goto usage_err;
			}
			spec.timeout_lo = lo, spec.timeout_hi = hi, spec.timeout_step = step;
			break;
		case OPT_BATCHES:
			free(sizes);
			if (parse_sizes(optarg, &sizes, &spec.nbatch_sizes) < 0) {
				error("--batch-sizes wants a list like 0,125,50, not '%s'", optarg);
				goto usage_err;
			}
			spec.batch_sizes = sizes;
			break;
		case OPT_P99:
			if (parse_double(optarg, &d) < 0 || d < 0) {
				error("--max-wait-p99 wants seconds, not '%s'", optarg);
				goto usage_err;
			}
			spec.max_wait_p99_usec = d * 1e6;
			break;
		case OPT_THREADS:
			if (parse_i64(optarg, &v) < 0 || v < 1 || v > 1024) {
				error("--threads wants 1 to 1024, not '%s'", optarg);
				goto usage_err;
			}
			spec.threads = (int)v;
			break;
		case OPT_FULL: spec.full = true; break;
		case OPT_JSON: json = true; break;
		case 'o': outdir = optarg; break;
		case 'q': opts.quiet = true; break;
		case 'h':
			cli_input_release(&opts);
			free(sizes);
			return cli_usage(usage, true, NULL);
		default:
			goto usage_err;
		}
	}
	if (optind >= argc) {
		cli_input_release(&opts);
		free(sizes);
		return cli_usage(usage, false, "no input files (use - for standard input)");
	}
	if (!spec.nbatch_sizes && spec.base.batch_size > 0) {
		/* --batch-size N alone: one batch size */
		sizes = xmalloc(sizeof(*sizes));
		sizes[0] = spec.base.batch_size;
		spec.batch_sizes = sizes;
		spec.nbatch_sizes = 1;
	}
	workload_init(&wl);
	if (replay_load_workload(argv + optind, argc - optind, &opts, &wl) < 0) {
		ret = EXIT_OPERATIONAL;
		goto out;
	}
	if (!opts.quiet)
		replay_describe_workload(&wl);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (sweep_run(&wl, &cfg, &spec, &res) < 0) {
		ret = EXIT_OPERATIONAL;
		goto out;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (!opts.quiet)
		fprintf(stderr, "sweep: %zu settings, %zu simulations on %d threads in %.2f s\n",
			res.npoints, res.simulations, res.threads,
			(double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	if (outdir) {
		struct stat st;
		if (stat(outdir, &st) < 0 && mkdir(outdir, 0777) < 0 && errno != EEXIST) {
			error("cannot create '%s': %s", outdir, strerror(errno));
			ret = EXIT_OPERATIONAL;
		} else if (sweep_write_heatmap(&res, outdir) < 0) {
			ret = EXIT_OPERATIONAL;
		} else {
			int r = chart_render(outdir, "sweep-timeouts", "gnuplot");
			if (r < 0)
				ret = EXIT_OPERATIONAL;
			else if (r > 0 && !opts.quiet)
				warning("gnuplot is not installed: wrote %s/sweep-timeouts.dat and .gp only",
					outdir);
		}
	}
	if (json) {
		struct strbuf sb = STRBUF_INIT;
		struct jw w;
		jw_init(&w, &sb, true);
		jw_obj_begin(&w);
		jw_key(&w, "space");
		jw_obj_begin(&w);
		jw_kint(&w, "settings", (int64_t)res.npoints);
		jw_kint(&w, "simulations", (int64_t)res.simulations);
		jw_kint(&w, "processes", res.npoints ? res.points[0].processes : 0);
		if (cfg.max_connections)
			jw_kint(&w, "max_connections", cfg.max_connections);
		else
			jw_key(&w, "max_connections"), jw_null(&w);
		if (spec.max_wait_p99_usec >= 0)
			jw_knum(&w, "max_wait_p99_s", spec.max_wait_p99_usec / 1e6, 6);
		else
			jw_key(&w, "max_wait_p99_s"), jw_null(&w);
		jw_obj_end(&w);
		jw_key(&w, "best");
		if (res.best != SIZE_MAX)
			json_point(&w, &res.points[res.best]);
		else
			jw_null(&w);
		jw_key(&w, "frontier");
		jw_arr_begin(&w);
		nf = frontier(&res, &fr);
		for (size_t k = 0; k < nf; k++)
			json_point(&w, &res.points[fr[k]]);
		free(fr);
		jw_arr_end(&w);
		jw_key(&w, "heatmap");
		jw_obj_begin(&w);
		jw_kusec_s(&w, "timeout_s", res.map_timeout_usec);
		if (res.map_batch_size)
			jw_kint(&w, "batch_size", res.map_batch_size);
		else
			jw_key(&w, "batch_size"), jw_null(&w);
		jw_key(&w, "cells");
		jw_arr_begin(&w);
		for (size_t i = 0; i < res.npoints; i++) {
			const struct sweep_point *p = &res.points[i];
			if (p->timeout_usec != res.map_timeout_usec || p->batch_size != res.map_batch_size)
				continue;
			jw_arr_begin(&w);
			jw_int(&w, p->pool_size);
			jw_int(&w, p->max_overflow);
			jw_int(&w, (int64_t)p->timeouts);
			jw_arr_end(&w);
		}
		jw_arr_end(&w);
		jw_obj_end(&w);
		jw_obj_end(&w);
		strbuf_addch(&sb, '\n');
		fwrite(sb.buf, 1, sb.len, stdout);
		strbuf_release(&sb);
	} else {
		printf("%zu settings, %d process%s%s\n", res.npoints,
		       res.npoints ? res.points[0].processes : 0,
		       res.npoints && res.points[0].processes == 1 ? "" : "es",
		       cfg.max_connections ? "" : ", no max_connections given");
		if (res.best == SIZE_MAX) {
			printf("no setting in the range avoids timeouts%s\n",
			       spec.max_wait_p99_usec >= 0 ? " within the wait bound" : "");
		} else {
			const struct sweep_point *b = &res.points[res.best];
			printf("cheapest with no predicted timeouts: pool_size=%d max_overflow=%d "
			       "pool_timeout=%.2f%s (%d connections in all)\n",
			       b->pool_size, b->max_overflow, (double)b->timeout_usec / 1e6,
			       b->batch_size ? ", re-cut batches" : "", b->cost);
			if (b->wait_p99_usec > 1e6 && spec.max_wait_p99_usec < 0)
				printf("note: its wait p99 is %.2f s; bound it with --max-wait-p99\n",
				       b->wait_p99_usec / 1e6);
		}
		printf("\nfrontier (no timeouts; each row is cheaper or waits less than the next):\n"
		       "   cost  size  overflow  timeout  batch  wait p99  wait max  peak\n");
		nf = frontier(&res, &fr);
		for (size_t k = 0; k < nf; k++)
			print_point_row(&res.points[fr[k]], fr[k] == res.best);
		free(fr);
	}
	if (res.best == SIZE_MAX && ret == EXIT_OK)
		ret = EXIT_FINDINGS;
	sweep_result_release(&res);
out:
	workload_release(&wl);
	cli_input_release(&opts);
	free(sizes);
	return ret;
usage_err:
	cli_input_release(&opts);
	free(sizes);
	return cli_usage(usage, false, NULL);
}
