#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "replay/sim.h"
#include "replay/sweep.h"
#include "replay/workload.h"
#include "tests/testutil.h"

/*
 * The sweep's savings (sweep.c: equal caps simulated once, timeouts shared
 * when no deadline can matter, failing points stopped early) must not
 * change any figure: every point is checked against a direct simulation of
 * its own settings.
 */
#define S(x) ((log_usec)llround((x) * 1000000.0))

static void small_workload(struct workload *wl)
{
	workload_init(wl);
	/* an hour of 8 req/s with batches of 18 lanes every 10 minutes */
	workload_synthetic(wl, 30000, S(3600), S(600), 99);
}

Test(sweep, every_point_equals_a_direct_run, .timeout = 120)
{
	struct workload wl;
	struct sim_config cfg;
	struct sweep_spec spec;
	struct sweep_result res;
	size_t checked = 0;
	small_workload(&wl);
	sim_config_init(&cfg);
	sweep_spec_init(&spec);
	spec.size_lo = 2, spec.size_hi = 14, spec.size_step = 4;
	spec.ovf_lo = 0, spec.ovf_hi = 12, spec.ovf_step = 4;
	spec.timeout_lo = S(2), spec.timeout_hi = S(10), spec.timeout_step = S(4);
	spec.threads = 2;
	cr_assert_eq(sweep_run(&wl, &cfg, &spec, &res), 0);
	cr_assert_eq(res.npoints, 4 * 4 * 3);
	cr_assert_lt(res.simulations, res.npoints, "the savings saved nothing");
	for (size_t i = 0; i < res.npoints; i++) {
		const struct sweep_point *p = &res.points[i];
		struct sim_config c = cfg;
		struct sim_result r;
		c.pool.pool_size = p->pool_size;
		c.pool.max_overflow = p->max_overflow;
		c.pool.timeout_usec = p->timeout_usec;
		sim_run(&wl, &c, (struct sim_sink){ NULL, NULL }, &r);
		if (p->complete) {
			cr_assert_eq(p->timeouts, r.timeouts, "%d/%d/%lld", p->pool_size,
				     p->max_overflow, (long long)p->timeout_usec);
			cr_assert_eq(p->checkouts, r.checkouts);
			cr_assert_eq(p->peak_checked_out, r.peak_checked_out);
			cr_assert_float_eq(p->wait_p99_usec, sim_waits_percentile(&r.all.waits, 99),
					   1e-6);
			cr_assert_eq(p->wait_max_usec, sim_waits_max(&r.all.waits));
			checked++;
		} else {
			/* stopped at its first failure: a lower bound that is not 0 */
			cr_assert_geq(p->timeouts + p->refusals, 1);
			cr_assert_geq(r.timeouts, p->timeouts);
		}
		cr_assert_eq(p->ok, r.timeouts == 0 && r.refusals == 0);
		sim_result_release(&r);
	}
	cr_assert_gt(checked, res.npoints / 4);
	/* the cheapest acceptable point has the smallest cap among the ok ones */
	cr_assert_neq(res.best, SIZE_MAX);
	for (size_t i = 0; i < res.npoints; i++)
		if (res.points[i].ok)
			cr_assert_geq(res.points[i].cost, res.points[res.best].cost);
	sweep_result_release(&res);
	workload_release(&wl);
}

/* --max-connections across workers rules settings out by their cost. */
Test(sweep, max_connections_and_workers)
{
	struct workload wl;
	struct sim_config cfg;
	struct sweep_spec spec;
	struct sweep_result res;
	small_workload(&wl);
	sim_config_init(&cfg);
	cfg.workers = 3;
	cfg.max_connections = 60;
	sweep_spec_init(&spec);
	spec.size_lo = 5, spec.size_hi = 30, spec.size_step = 5;
	spec.ovf_lo = 0, spec.ovf_hi = 10, spec.ovf_step = 5;
	spec.timeout_lo = spec.timeout_hi = S(5);
	cr_assert_eq(sweep_run(&wl, &cfg, &spec, &res), 0);
	for (size_t i = 0; i < res.npoints; i++) {
		const struct sweep_point *p = &res.points[i];
		cr_assert_eq(p->processes, 3);
		cr_assert_eq(p->cost, (p->pool_size + p->max_overflow) * 3);
		cr_assert_eq(p->fits, p->cost <= 60);
		if (p->ok)
			cr_assert(p->fits);
	}
	sweep_result_release(&res);
	workload_release(&wl);
}

/* The heatmap files: one row per (size, overflow) of the slice, and a
 * script that names its outputs. */
Test(sweep, heatmap_files)
{
	struct workload wl;
	struct sim_config cfg;
	struct sweep_spec spec;
	struct sweep_result res;
	char dir[] = "/tmp/poolscope-sweep-XXXXXX";
	char path[256];
	struct strbuf dat = STRBUF_INIT, gp = STRBUF_INIT;
	size_t rows = 0;
	small_workload(&wl);
	sim_config_init(&cfg);
	sweep_spec_init(&spec);
	spec.size_lo = 1, spec.size_hi = 4;
	spec.ovf_lo = 0, spec.ovf_hi = 3;
	cr_assert(mkdtemp(dir));
	cr_assert_eq(sweep_run(&wl, &cfg, &spec, &res), 0);
	cr_assert_eq(sweep_write_heatmap(&res, dir), 0);
	snprintf(path, sizeof(path), "%s/sweep-timeouts.dat", dir);
	cr_assert_eq(test_read_file(path, &dat), 0);
	unlink(path);
	snprintf(path, sizeof(path), "%s/sweep-timeouts.gp", dir);
	cr_assert_eq(test_read_file(path, &gp), 0);
	unlink(path);
	/* nothing else left behind: no temp names */
	cr_assert_eq(rmdir(dir), 0, "%s holds more than the two files", dir);
	for (const char *p = dat.buf; *p; p++)
		if (*p == '\n' && p[1] >= '0' && p[1] <= '9')
			rows++;
	cr_assert_eq(rows, 16);
	{
		/* the colour range is the slice's own: 0 to its most timeouts
		 * (at least 1, or gnuplot warns of an empty range) */
		uint64_t tmax = 0;
		char want[64];
		for (size_t i = 0; i < res.npoints; i++)
			if (res.points[i].timeout_usec == res.map_timeout_usec &&
			    res.points[i].batch_size == res.map_batch_size &&
			    res.points[i].timeouts > tmax)
				tmax = res.points[i].timeouts;
		snprintf(want, sizeof(want), "set cbrange [0:%llu]\n",
			 (unsigned long long)(tmax ? tmax : 1));
		cr_assert(strstr(gp.buf, want), "no '%s' in the script", want);
		cr_assert_gt(tmax, 0, "the small workload should time out at size 1");
	}
	cr_assert(strstr(gp.buf, "'sweep-timeouts.png'"));
	cr_assert(strstr(gp.buf, "'sweep-timeouts.svg'"));
	cr_assert(strstr(gp.buf, "with image"));
	strbuf_release(&dat);
	strbuf_release(&gp);
	sweep_result_release(&res);
	workload_release(&wl);
}
