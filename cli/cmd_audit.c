#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "analysis/analyze.h"
#include "analysis/audit.h"
#include "analysis/audit_trend.h"
#include "cli/audit_store.h"
#include "cli/cli.h"
#include "core/json.h"
#include "core/numparse.h"
#include "parsers/incremental.h"
#include "parsers/stream.h"
#include "core/banned.h"

static const char usage[] =
	"usage: poolscope audit [--state FILE] [--config FILE] [THRESHOLDS] [--json]\n"
	"                       [--store DSN [--host-tag NAME]] FILE...\n"
	"   or: poolscope audit --trend --store DSN -o DIR [--days N] [--host-tag NAME]\n"
	"   or: poolscope audit --print-config [--config FILE] [THRESHOLDS]\n"
	"\n"
	"The nightly log audit, for cron or a systemd timer.  Reads the logs (with\n"
	"--state only the lines written since the previous run, following rotated,\n"
	"truncated and gzipped files), analyses them as `poolscope analyze` does, and\n"
	"holds the result to thresholds: each breach is one finding with file:line\n"
	"evidence, and the exit code says whether any threshold was breached.\n"
	"Optionally stores the run in PostgreSQL; --trend charts the stored history.\n"
	"See docs/audit.md for the state file, the schema and cron/systemd examples.\n"
	"\n"
	"Reading:\n"
	"  --state FILE       remember in FILE how far each log was read, and read only\n"
	"                     new lines next time (default: read everything, remember\n"
	"                     nothing).  A lock on FILE.lock keeps two audits apart\n"
	"  --wait[=SECONDS]   if another audit holds the lock, wait for it (for ever,\n"
	"                     or SECONDS) instead of failing at once with exit 2\n"
	"  --dry-run          read and judge, but leave the state file as it was\n"
	"\n"
	"Thresholds (key = value lines in --config FILE use the same names; options\n"
	"win over the file; 'off' disables one):\n"
	"  --max-timeouts N   pool checkout timeouts allowed (default 0; critical)\n"
	"  --max-usage PCT    peak pool usage, % of pool_size + max_overflow, above\n"
	"                     which to warn (default 80)\n"
	"  --exhausted on|off a pool at capacity is critical (default on)\n"
	"  --max-hold-p95 DUR 95th percentile of connection hold times (default 30s:\n"
	"                     a hold longer than the pool timeout starves waiters)\n"
	"  --max-5xx PCT      share of HTTP 5xx responses (default 1), judged with at\n"
	"  --min-requests N   least N requests (default 100)\n"
	"  --max-too-many-clients N\n"
	"                     PostgreSQL 'too many clients' refusals (default 0; critical)\n"
	"  --max-unparsed PCT share of an input's lines no format understood (default\n"
	"  --min-lines N      5), judged with at least N lines (default 20): a changed\n"
	"                     log format must not pass unseen\n"
	"  --fail-on LEVEL    warning (default) or critical: the lowest finding level\n"
	"                     that makes the exit code 1\n"
	"  --pool S/O/T       pool_size/max_overflow/timeout when the logs do not say\n"
	"                     (overrides them)\n"
	"  --config FILE      thresholds as 'key = value' lines, '#' comments\n"
	"  --print-config     print the thresholds in force as a config file and exit\n"
	"\n"
	"Output:\n"
	"  --json             the `analyze --json` object of the lines read, plus\n"
	"                     read {files, lines, bytes}, result and findings[]\n"
	"  -v, --verbose      show each evidence line under its finding\n"
	"  -q, --quiet        print nothing when the audit passes (cron mails only\n"
	"                     trouble)\n"
	"\n"
	"Storing and trends:\n"
	"  --store DSN        store the run (span, inputs, figures, per-minute series,\n"
	"                     hold histogram, findings with evidence) in PostgreSQL,\n"
	"                     schema 'poolscope', created on first use.  If storing\n"
	"                     fails the state is not advanced: the next run reads the\n"
	"                     same lines again\n"
	"  --host-tag NAME    host name stored with every row (default: this host's)\n"
	"  --trend            instead of auditing: per-day table on stdout, and in DIR\n"
	"                     trend.md and charts (timeouts, hold p95, peak usage per\n"
	"                     day) as PNG and SVG with their .gp and .dat files\n"
	"  -o, --output DIR   folder for --trend\n"
	"  --days N           days of history for --trend (default 30, ending at the\n"
	"                     newest stored minute); --host-tag limits it to one host\n"
	CLI_INPUT_USAGE
	"\n"
	"Exit status: 0 all thresholds hold; 1 a threshold was breached (a finding at\n"
	"--fail-on level or above); 2 operational error (unreadable log or state,\n"
	"lock held, database unreachable); 64 usage error.\n"
	"\n"
	"Examples:\n"
	"  poolscope audit --state /var/lib/poolscope/app.state /var/log/app/app.log\n"
	"  poolscope audit --state s.state --max-usage 70 --store 'host=db dbname=ops' app.log\n"
	"  poolscope audit --trend --store 'host=db dbname=ops' -o /srv/www/pool-trend\n";

enum {
	OPT_STATE = OPT__CMD_BASE,
	OPT_WAIT,
	OPT_DRY_RUN,
	OPT_CONFIG,
	OPT_PRINT_CONFIG,
	OPT_JSON,
	OPT_STORE,
	OPT_HOST_TAG,
	OPT_TREND,
	OPT_DAYS,
	OPT_THRESHOLD /* + index into threshold_opts */
};

/* Threshold options map 1:1 onto config keys. */
static const char *const threshold_opts[] = {
	"max-timeouts", "max-usage", "exhausted", "max-hold-p95", "max-5xx", "min-requests",
	"max-too-many-clients", "max-unparsed", "min-lines", "fail-on", "pool",
};
#define NTHRESHOLD_OPTS (sizeof(threshold_opts) / sizeof(threshold_opts[0]))

struct audit_args {
	const char *state;
	int wait_ms;          /* 0 no wait, < 0 for ever */
	bool dry_run;
	const char *config;
	bool print_config;
	bool json;
	bool verbose;
	bool quiet;
	const char *store;
	const char *host_tag;
	bool trend;
	const char *outdir;
	int days;
	struct strvec kv;     /* "key", "value" pairs from the command line */
};

static log_usec wall_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (log_usec)ts.tv_sec * USEC_PER_SEC + ts.tv_nsec / 1000;
}

static int load_thresholds(const struct audit_args *args, struct audit_thresholds *t)
{
	struct strbuf why = STRBUF_INIT;
	audit_thresholds_init(t);
	if (args->config && audit_config_load(t, args->config) < 0)
		return -1;
	for (size_t i = 0; i + 1 < args->kv.nr; i += 2) {
		strbuf_reset(&why);
		if (audit_threshold_set(t, args->kv.v[i], args->kv.v[i + 1], &why) < 0) {
			error("--%s", why.buf);
			strbuf_release(&why);
			return -2;
		}
	}
	strbuf_release(&why);
	return 0;
}

static int run_trend(const struct audit_args *args)
{
	struct audit_trend t;
	struct strbuf out = STRBUF_INIT;
	int ret = EXIT_OK;

	audit_trend_init(&t);
	if (audit_store_trend(args->store, args->host_tag, args->days, &t) < 0) {
		ret = EXIT_OPERATIONAL;
		goto out;
	}
	audit_trend_write_table(&t, false, &out);
	fwrite(out.buf, 1, out.len, stdout);
	if (audit_trend_write_files(&t, args->outdir) < 0 || audit_trend_render(args->outdir) < 0)
		ret = EXIT_OPERATIONAL;
out:
	strbuf_release(&out);
	audit_trend_release(&t);
	return ret;
}

/* Rotation notes from the incremental reader become findings. */
static void add_notes(struct audit_result *r, const struct inc_plan *plan)
{
	for (size_t i = 0; i < plan->nnotes; i++) {
		const struct inc_note *n = &plan->notes[i];
		struct audit_finding *f =
			audit_add(r, n->warning ? AUDIT_WARNING : AUDIT_INFO,
				  n->warning ? "rotation_gap" : "rotation", NAN, NAN, n->text);
		if (n->line)
			audit_add_ref(f, n->path, n->line);
	}
}

static int run_audit(const struct audit_args *args, const struct audit_thresholds *th,
		     const struct parse_opts *popts, char **files, int nfiles)
{
	struct strvec inputs = STRVEC_INIT;
	struct inc_state st;
	struct inc_plan plan;
	struct timeline sources;    /* one per file read; the events stream past */
	struct analysis_span span;
	struct event_sink observe = { analysis_span_sink, &span };
	struct event_stream *es = NULL;
	struct analysis a;
	struct analysis_opts aopts;
	struct audit_result r;
	struct strbuf out = STRBUF_INIT;
	bool have_state = args->state != NULL, analysed = false;
	log_usec started = wall_now();
	char host[256];
	int ret = EXIT_OK, verdict;

	inc_plan_init(&plan);
	timeline_init(&sources);
	analysis_span_init(&span);
	audit_result_init(&r);
	if (have_state)
		inc_state_init(&st, args->state);
	if (cli_expand_inputs(files, nfiles, &inputs) < 0) {
		ret = EXIT_OPERATIONAL;
		goto out;
	}
	if (have_state && (inc_state_lock(&st, args->wait_ms) < 0 || inc_state_load(&st) < 0)) {
		ret = EXIT_OPERATIONAL;
		goto out;
	}
	if (inc_plan_make(&plan, have_state ? &st : NULL, (const char *const *)inputs.v, inputs.nr) < 0) {
		ret = EXIT_OPERATIONAL;
		goto out;
	}
	switch (inc_plan_stream(&plan, popts, &sources, observe, &es)) {
	case 0:
		break;
	case 1:
		/* what was read is judged below, but the state must not move past
		 * a file that was not read to the end */
		ret = EXIT_OPERATIONAL;
		break;
	default:
		ret = EXIT_OPERATIONAL;
		goto out;
	}
	analysis_opts_init(&aopts);
	aopts.pool = th->pool;
	if (th->max_usage_pct >= 0 && th->max_usage_pct > 0)
		aopts.warn_pct = th->max_usage_pct;
	if (analysis_run_stream(es, &sources, &span, &aopts, &a) < 0) {
		ret = EXIT_OPERATIONAL;
		goto out;
	}
	analysed = true;
	audit_evaluate(&a, th, &r);
	add_notes(&r, &plan);
	if (r.files && !r.lines)
		audit_add(&r, AUDIT_INFO, "no_new_lines",
			  0, NAN, have_state ? "no new lines since the last run" : "the inputs are empty");
	audit_fill_excerpts(&r, &sources);
	verdict = audit_exit_code(&r, th);

	if (args->store && ret == EXIT_OK) {
		struct audit_store_run run;
		int64_t id;
		if (args->host_tag) {
			snprintf(host, sizeof(host), "%s", args->host_tag);
		} else if (gethostname(host, sizeof(host)) < 0) {
			snprintf(host, sizeof(host), "unknown");
		}
		host[sizeof(host) - 1] = '\0';
		memset(&run, 0, sizeof(run));
		run.host = host;
		run.started = started;
		run.exit_code = verdict;
		run.a = &a;
		run.r = &r;
		run.plan = &plan;
		if (audit_store_write(args->store, &run, &id) < 0)
			ret = EXIT_OPERATIONAL;
	}

	if (args->json) {
		struct jw w;
		jw_init(&w, &out, true);
		audit_write_json(&a, &r, th, &w);
		strbuf_addch(&out, '\n');
	} else if (!(args->quiet && verdict == EXIT_OK && ret == EXIT_OK)) {
		audit_write_text(&a, &r, th, args->verbose, &out);
	}
	fwrite(out.buf, 1, out.len, stdout);
	if (fflush(stdout) == EOF) {
		error("cannot write to standard output");
		ret = EXIT_OPERATIONAL;
	}

	/* the state moves only after everything else succeeded: a failed read,
	 * store or output means the next run sees these lines again */
	if (have_state && ret == EXIT_OK && !args->dry_run) {
		int64_t now = started / USEC_PER_SEC;
		inc_state_update(&st, &plan, now);
		if (inc_state_save(&st, now) < 0)
			ret = EXIT_OPERATIONAL;
	}
	if (ret == EXIT_OK)
		ret = verdict;
out:
	if (analysed)
		analysis_release(&a);
	strbuf_release(&out);
	audit_result_release(&r);
	timeline_release(&sources);
	inc_plan_release(&plan);
	if (have_state)
		inc_state_release(&st);
	strvec_clear(&inputs);
	return ret;
}

int cmd_audit(int argc, char **argv)
{
	struct option longopts[NTHRESHOLD_OPTS + 32];
	static const struct option fixed[] = {
		{ "state", required_argument, NULL, OPT_STATE },
		{ "wait", optional_argument, NULL, OPT_WAIT },
		{ "dry-run", no_argument, NULL, OPT_DRY_RUN },
		{ "config", required_argument, NULL, OPT_CONFIG },
		{ "print-config", no_argument, NULL, OPT_PRINT_CONFIG },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "store", required_argument, NULL, OPT_STORE },
		{ "host-tag", required_argument, NULL, OPT_HOST_TAG },
		{ "trend", no_argument, NULL, OPT_TREND },
		{ "output", required_argument, NULL, 'o' },
		{ "days", required_argument, NULL, OPT_DAYS },
		{ "help", no_argument, NULL, 'h' },
		CLI_INPUT_LONGOPTS,
	};
	size_t nopt = 0;
	struct audit_args args;
	struct audit_thresholds th;
	struct parse_opts popts;
	int c, ret, lr;
	int64_t v;
	double secs;

	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		longopts[nopt++] = fixed[i];
	for (size_t i = 0; i < NTHRESHOLD_OPTS; i++) {
		struct option o = { threshold_opts[i], required_argument, NULL, OPT_THRESHOLD + (int)i };
		longopts[nopt++] = o;
	}
	memset(&longopts[nopt], 0, sizeof(longopts[nopt]));

	memset(&args, 0, sizeof(args));
	args.days = 30;
	parse_opts_init(&popts);
	optind = 0;
	while ((c = getopt_long(argc, argv, "+o:vqh", longopts, NULL)) != -1) {
		int r = cli_input_option(&popts, c, optarg);
		if (r < 0)
			goto usage_err;
		if (r > 0)
			continue;
		if (c >= OPT_THRESHOLD && c < OPT_THRESHOLD + (int)NTHRESHOLD_OPTS) {
			strvec_push(&args.kv, threshold_opts[c - OPT_THRESHOLD]);
			strvec_push(&args.kv, optarg);
			continue;
		}
		switch (c) {
		case OPT_STATE: args.state = optarg; break;
		case OPT_WAIT:
			args.wait_ms = -1;
			if (optarg) {
				if (parse_double(optarg, &secs) < 0 || !(secs >= 0 && secs <= 86400)) {
					error("--wait wants seconds (0 to 86400), not '%s'", optarg);
					goto usage_err;
				}
				args.wait_ms = (int)(secs * 1000);
			}
			break;
		case OPT_DRY_RUN: args.dry_run = true; break;
		case OPT_CONFIG: args.config = optarg; break;
		case OPT_PRINT_CONFIG: args.print_config = true; break;
		case OPT_JSON: args.json = true; break;
		case 'v': args.verbose = true; break;
		case 'q': args.quiet = true; break;
		case OPT_STORE: args.store = optarg; break;
		case OPT_HOST_TAG:
			if (!*optarg || strlen(optarg) > 200) {
				error("--host-tag wants a name of 1 to 200 bytes");
				goto usage_err;
			}
			args.host_tag = optarg;
			break;
		case OPT_TREND: args.trend = true; break;
		case 'o': args.outdir = optarg; break;
		case OPT_DAYS:
			if (parse_i64(optarg, &v) < 0 || v < 1 || v > 36600) {
				error("--days wants a number of days from 1 to 36600, not '%s'", optarg);
				goto usage_err;
			}
			args.days = (int)v;
			break;
		case 'h':
			strvec_clear(&args.kv);
			cli_input_release(&popts);
			return cli_usage(usage, true, NULL);
		default:
			goto usage_err;
		}
	}
	/* the audit reports unparsed lines as findings, not on stderr */
	popts.quiet = true;

	lr = load_thresholds(&args, &th);
	if (lr == -2)
		goto usage_err;
	if (lr < 0) {
		ret = EXIT_OPERATIONAL;
		goto out;
	}
	if (args.print_config) {
		struct strbuf sb = STRBUF_INIT;
		audit_thresholds_dump(&th, &sb);
		fwrite(sb.buf, 1, sb.len, stdout);
		strbuf_release(&sb);
		ret = EXIT_OK;
		goto out;
	}
	if (args.trend) {
		if (!args.store || !args.outdir) {
			strvec_clear(&args.kv);
			cli_input_release(&popts);
			return cli_usage(usage, false, "--trend needs --store DSN and -o DIR");
		}
		if (optind < argc) {
			strvec_clear(&args.kv);
			cli_input_release(&popts);
			return cli_usage(usage, false, "--trend reads no log files");
		}
		ret = run_trend(&args);
		goto out;
	}
	if (args.outdir) {
		strvec_clear(&args.kv);
		cli_input_release(&popts);
		return cli_usage(usage, false, "-o is for --trend");
	}
	if (optind >= argc) {
		strvec_clear(&args.kv);
		cli_input_release(&popts);
		return cli_usage(usage, false, "no log files");
	}
	ret = run_audit(&args, &th, &popts, argv + optind, argc - optind);
out:
	strvec_clear(&args.kv);
	cli_input_release(&popts);
	return ret;
usage_err:
	strvec_clear(&args.kv);
	cli_input_release(&popts);
	return cli_usage(usage, false, NULL);
}
