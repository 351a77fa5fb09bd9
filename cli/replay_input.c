#include "cli/replay_input.h"
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "cli/cli.h"
#include "core/numparse.h"
#include "core/timeline.h"
#include "core/banned.h"

int replay_load_workload(char **args, int n, const struct parse_opts *opts, struct workload *wl)
{
	struct strvec inputs = STRVEC_INIT;
	struct timeline tl;
	int ret = 0;
	if (n == 1 && strcmp(args[0], "-") && workload_file_sniff(args[0]))
		return workload_read(wl, args[0]);
	if (cli_expand_inputs(args, n, &inputs) < 0)
		return -1;
	for (size_t i = 0; i < inputs.nr; i++)
		if (strcmp(inputs.v[i], "-") && workload_file_sniff(inputs.v[i])) {
			error("'%s' is a workload file: give it alone, not with logs", inputs.v[i]);
			strvec_clear(&inputs);
			return -1;
		}
	timeline_init(&tl);
	if (parse_into_timeline((const char *const *)inputs.v, inputs.nr, opts, &tl) < 0)
		ret = -1;
	if (!opts->quiet)
		for (size_t i = 0; i < tl.nsrc; i++)
			parse_report_unparsed(&tl.src[i]);
	if (!ret)
		workload_extract(wl, &tl);
	timeline_release(&tl);
	strvec_clear(&inputs);
	return ret;
}

void replay_describe_workload(const struct workload *wl)
{
	fprintf(stderr,
		"workload: %zu requests (%zu with imputed holds, %zu with estimated arrivals), "
		"%zu batches; holds from %s\n",
		wl->nreq, wl->imputed, wl->arrival_est, wl->nbatch,
		wl->hold_evidence ? wl->hold_evidence : "none");
}

static int parse_count(const char *arg, const char *opt, int64_t lo, int64_t hi, int64_t *v)
{
	if (parse_i64(arg, v) < 0 || *v < lo || *v > hi)
		return error("%s wants a whole number from %lld to %lld, not '%s'", opt, (long long)lo,
			     (long long)hi, arg);
	return 0;
}

int replay_model_option(struct sim_config *cfg, struct wl_transform *t, int opt, const char *arg)
{
	int64_t v;
	double d;
	switch (opt) {
	case OPT_RP_WORKERS:
		if (parse_count(arg, "--workers", 1, 4096, &v) < 0)
			return -1;
		cfg->workers = (int32_t)v;
		return 1;
	case OPT_RP_MAXCONN:
		if (parse_count(arg, "--max-connections", 1, 1000000, &v) < 0)
			return -1;
		cfg->max_connections = (int32_t)v;
		return 1;
	case OPT_RP_BARGING:
		cfg->pool.barging = true;
		return 1;
	case OPT_RP_LIFO:
		cfg->pool.use_lifo = true;
		return 1;
	case OPT_RP_SQLA:
		if (!strcmp(arg, "1.4"))
			cfg->pool.semantics = POOL_SQLA_14;
		else if (!strcmp(arg, "2.0") || !strcmp(arg, "2.1"))
			cfg->pool.semantics = POOL_SQLA_20;
		else
			return error("--sqlalchemy wants 1.4 or 2.0, not '%s'", arg);
		return 1;
	case OPT_RP_CONNECT_MS:
		if (parse_double(arg, &d) < 0 || d < 0 || d > 3600e3)
			return error("--connect-ms wants milliseconds, not '%s'", arg);
		cfg->pool.connect_usec = (int64_t)llround(d * 1000);
		return 1;
	case OPT_RP_BATCH_SIZE:
		if (parse_count(arg, "--batch-size", 1, 100000000, &v) < 0)
			return -1;
		t->batch_size = (int32_t)v;
		return 1;
	case OPT_RP_BATCH_CONC:
		if (parse_count(arg, "--batch-concurrency", 1, 10000, &v) < 0)
			return -1;
		t->batch_concurrency = (int32_t)v;
		return 1;
	case OPT_RP_COMMIT:
		if (!strcmp(arg, "once"))
			t->commit = WL_COMMIT_ONCE;
		else if (!strcmp(arg, "group"))
			t->commit = WL_COMMIT_GROUP;
		else
			return error("--commit wants once or group, not '%s'", arg);
		return 1;
	case OPT_RP_GROUP:
		if (parse_count(arg, "--group-size", 1, 100000000, &v) < 0)
			return -1;
		t->group_size = (int32_t)v;
		return 1;
	case OPT_RP_BATCH_GAP:
		if (parse_duration_usec(arg, &v) < 0 || v < 0)
			return error("--batch-gap wants seconds, not '%s'", arg);
		t->batch_gap_usec = v;
		return 1;
	case OPT_RP_PER_ENTRY:
		if (parse_duration_usec(arg, &v) < 0 || v <= 0)
			return error("--per-entry-cost wants seconds, not '%s'", arg);
		t->per_entry_usec = v;
		return 1;
	case OPT_RP_SCALE:
		if (parse_double(arg, &d) < 0 || !(d >= 0) || d > 1000)
			return error("--scale-load wants a factor from 0 to 1000, not '%s'", arg);
		t->scale_load = d;
		return 1;
	case OPT_RP_THREADS:
		if (parse_count(arg, "--server-threads", 1, 100000, &v) < 0)
			return -1;
		cfg->threads = (int32_t)v;
		return 1;
	case OPT_RP_LOCK_WAITS:
		if (!strcmp(arg, "keep"))
			t->lock_waits = 0;
		else if (!strcmp(arg, "drop"))
			t->lock_waits = 1;
		else
			return error("--lock-waits wants keep or drop, not '%s'", arg);
		return 1;
	case OPT_RP_SEED:
		if (parse_count(arg, "--seed", 0, INT64_MAX, &v) < 0)
			return -1;
		t->seed = (uint64_t)v;
		return 1;
	default:
		return 0;
	}
}

/* The recorded settings, or -1 after error() naming what is missing. */
int replay_recorded_pool(const struct workload *wl, struct pool_config *pc)
{
	if (wl->rec_pool_size < 0 || wl->rec_max_overflow == INT32_MIN || wl->rec_timeout_usec < 0)
		return error("the logs do not state the pool settings (no TimeoutError message%s); "
			     "give --pool SIZE/OVERFLOW/TIMEOUT",
			     wl->rec_pool_size >= 0 ? ", only the pool size from pool-stat lines" : "");
	pc->pool_size = wl->rec_pool_size;
	pc->max_overflow = wl->rec_max_overflow;
	pc->timeout_usec = wl->rec_timeout_usec;
	return 0;
}
