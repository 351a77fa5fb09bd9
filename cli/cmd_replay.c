#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/cli.h"
#include "cli/replay_input.h"
#include "core/json.h"
#include "core/numparse.h"
#include "core/strbuf.h"
#include "replay/live.h"
#include "replay/sim.h"
#include "replay/workload.h"
#include "core/banned.h"

static const char usage[] =
	"usage: poolscope replay [--pool SIZE/OVERFLOW/TIMEOUT] [options] FILE...\n"
	"\n"
	"Re-drive the recorded workload (logs, or a file from `poolscope workload`)\n"
	"against a model of SQLAlchemy's QueuePool and report what the pool would do:\n"
	"timeouts, waits, peak use.  The model follows the pool's own rules (idle\n"
	"connections first; a new one while overflow < max_overflow; a caller waits\n"
	"only when at the cap, with one total deadline; at the deadline it fails only\n"
	"if still at the cap; a return with pool_size idle closes the connection and\n"
	"wakes nobody); docs/replay.md states each rule with its source.\n"
	"\n"
	"Options:\n"
	"  --pool S/O/T       pool_size, max_overflow and pool_timeout (seconds), e.g.\n"
	"                     20/30/45 (default: the settings recorded in the logs,\n"
	"                     from TimeoutError messages and pool-stat lines)\n"
	"  --events FILE      write the simulated run as JSON Lines events, like\n"
	"                     `poolscope parse` does (`poolscope analyze FILE` reads it)\n"
	"  --stats-every S    pool_stats samples in --events every S seconds (default 5,\n"
	"                     0 for none)\n"
	"  --json             print the result as one JSON object\n"
	"  -q, --quiet        nothing on stderr but errors\n"
	"  -h, --help         show this help\n"
	"Live replay (docs/live-replay.md):\n"
	"  --live DSN         drive the workload through real libpq connections against\n"
	"                     PostgreSQL instead of the model, with the model's pool\n"
	"                     rules on the real clock; each checkout is a BEGIN READ ONLY\n"
	"                     transaction held for the recorded time (only read-only SQL\n"
	"                     is sent).  DSN: a libpq string, a postgresql:// URL, or -\n"
	"                     for DATABASE_URL / the PG* variables.  The password is\n"
	"                     never printed\n"
	"  --speed X          replay X times faster than recorded: arrivals, holds, gaps\n"
	"                     and the timeout are divided by X (default 1)\n"
	"  --compare-model    also run the model on the same workload and print both\n"
	"                     side by side\n"
	"  --live-hold idle|sleep  hold as an idle transaction (default) or as\n"
	"                     SELECT pg_sleep(hold)\n"
	REPLAY_MODEL_USAGE
	CLI_INPUT_USAGE
	"\n"
	"Examples:\n"
	"  poolscope replay fixtures/incident/before          # under its own settings\n"
	"  poolscope replay --pool 20/30/4.5 --batch-size 125 --batch-concurrency 5 \\\n"
	"      --commit group fixtures/incident/before        # would the fix hold?\n"
	"\n"
	"  poolscope replay --live 'host=127.0.0.1 dbname=app' --speed 10 \\\n"
	"      --compare-model fixtures/incident/before       # check the model live\n"
	"\n"
	"Exit status: 0 the replay ran (whatever it predicts), 2 an input could not be\n"
	"read, the settings are unknown, or (--live) the server could not be reached\n"
	"or went away mid-run (the partial result is still printed), 64 usage error,\n"
	"130 a live replay was interrupted (SIGINT/SIGTERM; partial result printed).\n";

struct events_out {
	struct out_file of;
	struct strbuf buf;
	bool failed;
};

/* event_to_json() has no key for the simulated flag; it is added here so
 * that `analyze` can tell a simulated run from a recorded one. */
static void emit_jsonl(void *data, const struct event *ev)
{
	struct events_out *eo = data;
	event_to_json(ev, "replay", &eo->buf);
	if (eo->buf.len && eo->buf.buf[eo->buf.len - 1] == '}') {
		strbuf_setlen(&eo->buf, eo->buf.len - 1);
		strbuf_addstr(&eo->buf, ev->flags & EVENT_F_LIVE ? ",\"live\":true}"
								 : ",\"simulated\":true}");
	}
	strbuf_addch(&eo->buf, '\n');
	if (eo->buf.len >= 1 << 16) {
		if (fwrite(eo->buf.buf, 1, eo->buf.len, eo->of.fp) != eo->buf.len)
			eo->failed = true;
		strbuf_reset(&eo->buf);
	}
}

static void json_waits(struct jw *w, const char *key, struct sim_waits *ws)
{
	jw_key(w, key);
	jw_obj_begin(w);
	jw_knum(w, "p50", sim_waits_percentile(ws, 50) / 1e6, 6);
	jw_knum(w, "p95", sim_waits_percentile(ws, 95) / 1e6, 6);
	jw_knum(w, "p99", sim_waits_percentile(ws, 99) / 1e6, 6);
	jw_kusec_s(w, "max", sim_waits_max(ws));
	jw_obj_end(w);
}

static void json_origin(struct jw *w, const char *key, struct sim_origin *o)
{
	jw_key(w, key);
	jw_obj_begin(w);
	jw_kint(w, "checkouts_asked", (int64_t)o->attempts);
	jw_kint(w, "checkouts", (int64_t)o->checkouts);
	jw_kint(w, "waited", (int64_t)o->waited);
	jw_kint(w, "timeouts", (int64_t)o->timeouts);
	jw_kint(w, "refusals", (int64_t)o->refusals);
	jw_kint(w, "late_successes", (int64_t)o->late);
	json_waits(w, "wait_s", &o->waits);
	jw_obj_end(w);
}

static int32_t capacity(const struct pool_config *c)
{
	if (c->max_overflow < 0 || (c->semantics == POOL_SQLA_20 && c->pool_size == 0))
		return -1;
	return c->pool_size + c->max_overflow;
}

/* One sentence for people: what the model predicts and what it means. */
static void verdict(struct strbuf *sb, const struct sim_config *cfg, struct sim_result *r,
		    const struct workload *wl, bool recorded_settings)
{
	int32_t cap = capacity(&cfg->pool);
	double p99 = sim_waits_percentile(&r->origin[ORIGIN_API].waits, 99) / 1e6;
	if (r->timeouts || r->refusals) {
		strbuf_addf(sb, "%llu checkout%s would fail", (unsigned long long)(r->timeouts + r->refusals),
			    r->timeouts + r->refusals == 1 ? "" : "s");
		strbuf_addf(sb, " (%llu timeout%s: API %llu, batch %llu",
			    (unsigned long long)r->timeouts, r->timeouts == 1 ? "" : "s",
			    (unsigned long long)r->origin[ORIGIN_API].timeouts,
			    (unsigned long long)r->origin[ORIGIN_BATCH].timeouts);
		if (r->refusals)
			strbuf_addf(sb, "; %llu refused by max_connections",
				    (unsigned long long)r->refusals);
		strbuf_addstr(sb, ")");
		if (cap > 0)
			strbuf_addf(sb, "; the pool reaches %d of %d connections", r->peak_checked_out,
				    cap);
		strbuf_addstr(sb, ": these settings would not hold.");
	} else {
		strbuf_addstr(sb, "No checkout would fail");
		if (cap > 0)
			strbuf_addf(sb, "; peak %d of %d connections", r->peak_checked_out, cap);
		else
			strbuf_addf(sb, "; peak %d connections (no cap)", r->peak_checked_out);
		strbuf_addf(sb, "; API wait p99 %.3f s", p99);
		if (r->late)
			strbuf_addf(sb, "; %llu waiter%s succeeded only at the deadline",
				    (unsigned long long)r->late, r->late == 1 ? "" : "s");
		strbuf_addstr(sb, p99 > 1.0 ? ": no errors, but requests queue for the pool."
					    : ": these settings would hold.");
	}
	if (recorded_settings && wl->rec_timeouts >= 0)
		strbuf_addf(sb, " The logs recorded %lld timeouts and a peak of %d checked out.",
			    (long long)wl->rec_timeouts, wl->rec_peak_checked_out);
}

static void print_text(const struct sim_config *cfg, const struct wl_transform *t,
		       struct sim_result *r, const struct workload *wl, bool recorded)
{
	struct strbuf v = STRBUF_INIT;
	int32_t cap = capacity(&cfg->pool);
	printf("pool        %d/%d/%.2f s (%s)%s, %d process%s",
	       cfg->pool.pool_size, cfg->pool.max_overflow, (double)cfg->pool.timeout_usec / 1e6,
	       recorded ? "recorded" : "--pool", cfg->pool.barging ? ", barging" : "", r->npools,
	       r->npools == 1 ? "" : "es");
	if (cfg->max_connections)
		printf(", max_connections %d", cfg->max_connections);
	printf("\nworkload    %zu requests, %zu batches (%zu batch checkouts)", wl->nreq, wl->nbatch,
	       wl->nholds);
	if (!wl_transform_is_identity(t))
		printf(", transformed");
	if (wl->lock_waits_dropped)
		printf(", %zu lock waits dropped", wl->lock_waits_dropped);
	printf("\n");
	printf("checkouts   %llu ok, %llu timed out, %llu refused, %llu late successes\n",
	       (unsigned long long)r->checkouts, (unsigned long long)r->timeouts,
	       (unsigned long long)r->refusals, (unsigned long long)r->late);
	printf("peak        %d checked out", r->peak_checked_out);
	if (cap > 0)
		printf(" of %d", cap);
	printf(", overflow %d, %d waiting, %d open across processes\n", r->peak_overflow,
	       r->peak_waiters, r->peak_open_total);
	for (int o = ORIGIN_API; o <= ORIGIN_BATCH; o++) {
		struct sim_origin *so = &r->origin[o];
		if (!so->attempts)
			continue;
		printf("wait %-6s p50 %.3f s, p95 %.3f s, p99 %.3f s, max %.3f s (%llu of %llu waited, "
		       "%llu timed out)\n",
		       o == ORIGIN_API ? "api" : "batch", sim_waits_percentile(&so->waits, 50) / 1e6,
		       sim_waits_percentile(&so->waits, 95) / 1e6,
		       sim_waits_percentile(&so->waits, 99) / 1e6,
		       (double)sim_waits_max(&so->waits) / 1e6, (unsigned long long)so->waited,
		       (unsigned long long)so->attempts, (unsigned long long)so->timeouts);
	}
	if (r->batches)
		printf("batches     %llu run, %llu with failed checkouts\n",
		       (unsigned long long)r->batches, (unsigned long long)r->batches_failed);
	verdict(&v, cfg, r, wl, recorded);
	printf("\n%s\n", v.buf);
	strbuf_release(&v);
}

/* Keys a live replay adds after the model's (live, server, lag_s, compare). */
struct json_extra {
	void (*fn)(struct jw *w, void *data);
	void *data;
};

static void print_json(const struct sim_config *cfg, const struct wl_transform *t,
		       struct sim_result *r, const struct workload *wl, bool recorded,
		       struct json_extra extra)
{
	struct strbuf sb = STRBUF_INIT, v = STRBUF_INIT;
	struct jw w;
	jw_init(&w, &sb, true);
	jw_obj_begin(&w);
	jw_key(&w, "config");
	jw_obj_begin(&w);
	jw_kint(&w, "pool_size", cfg->pool.pool_size);
	jw_kint(&w, "max_overflow", cfg->pool.max_overflow);
	jw_kusec_s(&w, "timeout_s", cfg->pool.timeout_usec);
	jw_kstr(&w, "source", recorded ? "recorded" : "option");
	jw_kint(&w, "processes", r->npools);
	if (cfg->max_connections)
		jw_kint(&w, "max_connections", cfg->max_connections);
	else
		jw_key(&w, "max_connections"), jw_null(&w);
	jw_kbool(&w, "barging", cfg->pool.barging);
	jw_kstr(&w, "sqlalchemy", cfg->pool.semantics == POOL_SQLA_14 ? "1.4" : "2.0");
	jw_kbool(&w, "use_lifo", cfg->pool.use_lifo);
	jw_kusec_s(&w, "connect_s", cfg->pool.connect_usec);
	jw_obj_end(&w);
	jw_key(&w, "transform");
	jw_obj_begin(&w);
	if (t->batch_size > 0)
		jw_kint(&w, "batch_size", t->batch_size);
	if (t->batch_concurrency > 0)
		jw_kint(&w, "batch_concurrency", t->batch_concurrency);
	if (t->commit >= 0)
		jw_kstr(&w, "commit", t->commit == WL_COMMIT_GROUP ? "group" : "once");
	if (t->group_size > 0)
		jw_kint(&w, "group_size", t->group_size);
	if (t->batch_gap_usec >= 0)
		jw_kusec_s(&w, "batch_gap_s", t->batch_gap_usec);
	if (t->per_entry_usec > 0)
		jw_kusec_s(&w, "per_entry_s", t->per_entry_usec);
	jw_knum(&w, "scale_load", t->scale_load, 6);
	jw_kint(&w, "lock_waits_dropped", (int64_t)wl->lock_waits_dropped);
	jw_obj_end(&w);
	jw_key(&w, "workload");
	jw_obj_begin(&w);
	jw_kint(&w, "requests", (int64_t)wl->nreq);
	jw_kint(&w, "batches", (int64_t)wl->nbatch);
	jw_kint(&w, "batch_checkouts", (int64_t)wl->nholds);
	jw_kint(&w, "imputed", (int64_t)wl->imputed);
	jw_kint(&w, "arrival_estimated", (int64_t)wl->arrival_est);
	jw_kstr(&w, "hold_evidence", wl->hold_evidence);
	if (wl->per_entry_usec >= 0)
		jw_kusec_s(&w, "per_entry_s", wl->per_entry_usec);
	jw_kts(&w, "start", workload_start(wl));
	jw_key(&w, "recorded");
	jw_obj_begin(&w);
	if (wl->rec_pool_size >= 0)
		jw_kint(&w, "pool_size", wl->rec_pool_size);
	if (wl->rec_max_overflow != INT32_MIN)
		jw_kint(&w, "max_overflow", wl->rec_max_overflow);
	if (wl->rec_timeout_usec >= 0)
		jw_kusec_s(&w, "timeout_s", wl->rec_timeout_usec);
	if (wl->rec_timeouts >= 0)
		jw_kint(&w, "timeouts", wl->rec_timeouts);
	if (wl->rec_peak_checked_out >= 0)
		jw_kint(&w, "peak_checked_out", wl->rec_peak_checked_out);
	jw_obj_end(&w);
	jw_obj_end(&w);
	jw_key(&w, "result");
	jw_obj_begin(&w);
	jw_kint(&w, "timeouts", (int64_t)r->timeouts);
	jw_kint(&w, "checkouts", (int64_t)r->checkouts);
	jw_kint(&w, "peak_checked_out", r->peak_checked_out);
	jw_kint(&w, "peak_overflow", r->peak_overflow);
	json_waits(&w, "wait_s", &r->all.waits);
	jw_kint(&w, "refusals", (int64_t)r->refusals);
	jw_kint(&w, "late_successes", (int64_t)r->late);
	jw_kint(&w, "requests", (int64_t)r->requests);
	jw_kint(&w, "requests_failed", (int64_t)r->requests_failed);
	jw_kint(&w, "batches", (int64_t)r->batches);
	jw_kint(&w, "batches_failed", (int64_t)r->batches_failed);
	jw_kint(&w, "peak_waiters", r->peak_waiters);
	jw_kint(&w, "peak_open_total", r->peak_open_total);
	jw_kts(&w, "first_timeout", r->first_timeout);
	jw_kts(&w, "last_timeout", r->last_timeout);
	jw_kts(&w, "end", r->end);
	jw_key(&w, "by_origin");
	jw_obj_begin(&w);
	json_origin(&w, "api", &r->origin[ORIGIN_API]);
	json_origin(&w, "batch", &r->origin[ORIGIN_BATCH]);
	if (r->origin[ORIGIN_UNKNOWN].attempts)
		json_origin(&w, "unknown", &r->origin[ORIGIN_UNKNOWN]);
	jw_obj_end(&w);
	jw_obj_end(&w);
	verdict(&v, cfg, r, wl, recorded);
	jw_kstr(&w, "verdict", v.buf);
	if (extra.fn)
		extra.fn(&w, extra.data);
	jw_obj_end(&w);
	strbuf_addch(&sb, '\n');
	fwrite(sb.buf, 1, sb.len, stdout);
	strbuf_release(&sb);
	strbuf_release(&v);
}

enum {
	OPT_POOL = 1100, OPT_EVENTS, OPT_JSON, OPT_STATS_EVERY,
	OPT_LIVE, OPT_SPEED, OPT_COMPARE_MODEL, OPT_LIVE_HOLD
};

struct live_run {
	struct live_opts o;
	struct live_result r;
	struct sim_result model;
	bool compare;
};

static void live_json(struct jw *w, void *data)
{
	struct live_run *lr = data;
	live_result_json(w, &lr->r, &lr->o);
	if (lr->compare)
		live_compare_json(w, &lr->model, &lr->r);
}

/*
 * --live: the workload through real connections (replay/live.h); the
 * model's writers print r.sim, then the live-only figures.  Returns the
 * exit code: 0, 2 (server gone, cannot connect) or 130 (interrupted).
 */
static int replay_live(struct live_run *lr, const struct sim_config *cfg,
		       const struct wl_transform *t, const struct workload *wl, bool recorded,
		       struct sim_sink sink, bool json)
{
	int code;
	lr->o.model = *cfg;
	lr->o.sink = sink;
	lr->o.catch_signals = true;
	live_result_init(&lr->r);
	if (lr->compare)
		sim_run(wl, cfg, (struct sim_sink){ NULL, NULL }, &lr->model);
	live_replay_run(wl, &lr->o, &lr->r);
	if (lr->r.status == LIVE_FAILED && !lr->r.sim.requests && !lr->r.sim.batches) {
		/* never started: nothing measured to show */
		if (lr->r.error[0])
			error("%s", lr->r.error);
	} else {
		if (json) {
			print_json(cfg, t, &lr->r.sim, wl, recorded,
				   (struct json_extra){ live_json, lr });
		} else {
			print_text(cfg, t, &lr->r.sim, wl, recorded);
			putchar('\n');
			live_result_print(stdout, &lr->r, &lr->o);
			if (lr->compare) {
				printf("\nmodel versus live (log time line):\n");
				live_compare_print(stdout, &lr->model, &lr->r);
			}
		}
		fflush(stdout);
		if (lr->r.status != LIVE_COMPLETED)
			error("%s", lr->r.error);
	}
	code = live_exit_code(&lr->r);
	if (lr->compare)
		sim_result_release(&lr->model);
	live_result_release(&lr->r);
	return code;
}

int cmd_replay(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "pool", required_argument, NULL, OPT_POOL },
		{ "events", required_argument, NULL, OPT_EVENTS },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "stats-every", required_argument, NULL, OPT_STATS_EVERY },
		{ "live", required_argument, NULL, OPT_LIVE },
		{ "speed", required_argument, NULL, OPT_SPEED },
		{ "compare-model", no_argument, NULL, OPT_COMPARE_MODEL },
		{ "live-hold", required_argument, NULL, OPT_LIVE_HOLD },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		REPLAY_MODEL_LONGOPTS,
		CLI_INPUT_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	struct parse_opts opts;
	struct sim_config cfg;
	struct wl_transform t;
	struct workload wl, twl;
	struct sim_result res;
	struct events_out eo;
	const char *pool_arg = NULL, *events = NULL;
	bool json = false, live = false, live_only = false;
	int64_t stats_every = 5 * USEC_PER_SEC;
	int c, ret = EXIT_OK;
	struct live_run lr;

	parse_opts_init(&opts);
	sim_config_init(&cfg);
	wl_transform_init(&t);
	memset(&lr, 0, sizeof(lr));
	live_opts_init(&lr.o);
	optind = 0;
	while ((c = getopt_long(argc, argv, "+qh", longopts, NULL)) != -1) {
		int r = cli_input_option(&opts, c, optarg);
		if (!r)
			r = replay_model_option(&cfg, &t, c, optarg);
		if (r < 0) {
			cli_input_release(&opts);
			return EXIT_USAGE;
		}
		if (r > 0)
			continue;
		switch (c) {
		case OPT_POOL: pool_arg = optarg; break;
		case OPT_EVENTS: events = optarg; break;
		case OPT_JSON: json = true; break;
		case OPT_STATS_EVERY:
			if (parse_duration_usec(optarg, &stats_every) < 0 || stats_every < 0) {
				cli_input_release(&opts);
				return cli_usage(usage, false, "--stats-every wants seconds, not '%s'",
						 optarg);
			}
			break;
		case OPT_LIVE:
			live = true;
			lr.o.dsn = optarg;
			break;
		case OPT_SPEED:
			live_only = true;
			if (parse_double(optarg, &lr.o.speed) < 0 || !(lr.o.speed >= 0.001) ||
			    lr.o.speed > 1e6) {
				cli_input_release(&opts);
				return cli_usage(usage, false,
						 "--speed wants a factor from 0.001 to 1000000, not '%s'",
						 optarg);
			}
			break;
		case OPT_COMPARE_MODEL:
			live_only = true;
			lr.compare = true;
			break;
		case OPT_LIVE_HOLD:
			live_only = true;
			if (!strcmp(optarg, "idle")) {
				lr.o.hold_mode = LIVE_HOLD_IDLE;
			} else if (!strcmp(optarg, "sleep")) {
				lr.o.hold_mode = LIVE_HOLD_SLEEP;
			} else {
				cli_input_release(&opts);
				return cli_usage(usage, false, "--live-hold wants idle or sleep, not '%s'",
						 optarg);
			}
			break;
		case 'q': opts.quiet = true; break;
		case 'h':
			cli_input_release(&opts);
			return cli_usage(usage, true, NULL);
		default:
			cli_input_release(&opts);
			return cli_usage(usage, false, NULL);
		}
	}
	if (pool_arg && pool_config_from_string(&cfg.pool, pool_arg) < 0) {
		cli_input_release(&opts);
		return cli_usage(usage, false, "--pool wants SIZE/OVERFLOW/TIMEOUT like 20/30/45, not '%s'",
				 pool_arg);
	}
	if (live_only && !live) {
		cli_input_release(&opts);
		return cli_usage(usage, false, "--speed, --compare-model and --live-hold need --live");
	}
	if (optind >= argc) {
		cli_input_release(&opts);
		return cli_usage(usage, false, "no input files (use - for standard input)");
	}
	workload_init(&wl);
	workload_init(&twl);
	if (replay_load_workload(argv + optind, argc - optind, &opts, &wl) < 0) {
		ret = EXIT_OPERATIONAL;
		goto out;
	}
	if (!opts.quiet)
		replay_describe_workload(&wl);
	if (!pool_arg && replay_recorded_pool(&wl, &cfg.pool) < 0) {
		ret = EXIT_OPERATIONAL;
		goto out;
	}
	if (workload_transform(&twl, &wl, &t) < 0) {
		ret = EXIT_OPERATIONAL;
		goto out;
	}
	cfg.stats_every_usec = stats_every;
	memset(&eo, 0, sizeof(eo));
	if (events) {
		if (out_open(&eo.of, events) < 0) {
			ret = EXIT_OPERATIONAL;
			goto out;
		}
		strbuf_init(&eo.buf, 1 << 17);
	}
	lr.o.quiet = opts.quiet;
	if (live && !opts.quiet && (cfg.max_connections || cfg.pool.connect_usec))
		warning("--max-connections and --connect-ms are the model's: the live replay "
			"meets the server's own (they still apply to --compare-model)");
	if (live)
		ret = replay_live(&lr, &cfg, &t, &twl, !pool_arg,
				  (struct sim_sink){ events ? emit_jsonl : NULL, &eo }, json);
	else
		sim_run(&twl, &cfg, (struct sim_sink){ events ? emit_jsonl : NULL, &eo }, &res);
	if (events) {
		if (fwrite(eo.buf.buf, 1, eo.buf.len, eo.of.fp) != eo.buf.len || eo.failed) {
			error("cannot write '%s'", events);
			out_abort(&eo.of);
			ret = EXIT_OPERATIONAL;
		} else if (out_commit(&eo.of) < 0) {
			ret = EXIT_OPERATIONAL;
		}
		strbuf_release(&eo.buf);
	}
	if (live)
		goto out;
	if (json)
		print_json(&cfg, &t, &res, &twl, !pool_arg, (struct json_extra){ NULL, NULL });
	else
		print_text(&cfg, &t, &res, &twl, !pool_arg);
	sim_result_release(&res);
out:
	workload_release(&wl);
	workload_release(&twl);
	cli_input_release(&opts);
	return ret;
}
