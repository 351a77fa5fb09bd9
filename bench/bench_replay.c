/*
 * Replay benchmark: prints figures, asserts nothing.
 *
 *   bench_replay [NREQ] [SETTINGS]
 *
 * 1. simulated checkouts per second on a day-long synthetic workload of
 *    NREQ API requests (default 5,000,000) plus the incident's batches every
 *    10 minutes, pool 10/20/30 s, one core;
 * 2. a sweep of SETTINGS (default 1,000) pool settings over the same
 *    workload on every core (replay/sweep.h);
 * 3. peak RSS (getrusage), and bytes per request of the workload.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>
#include "core/logtime.h"
#include "replay/sim.h"
#include "replay/sweep.h"
#include "replay/workload.h"
#include "core/banned.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long peak_rss_kib(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

int main(int argc, char **argv)
{
	size_t nreq = argc > 1 ? strtoul(argv[1], NULL, 10) : 5000000;
	int nsettings = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 1000;
	struct workload wl;
	struct sim_config cfg;
	struct sim_result res;
	struct sweep_spec spec;
	struct sweep_result sw;
	double t0, t1, c0, c1, best = 1e30, best_cpu = 1e30;
	long rss_wl;

	workload_init(&wl);
	t0 = now_s();
	workload_synthetic(&wl, nreq, 86400 * USEC_PER_SEC, 600 * USEC_PER_SEC, 20251020);
	t1 = now_s();
	rss_wl = peak_rss_kib();
	printf("workload: %zu requests, %zu batches (%zu batch holds) over 24 h, built in %.2f s\n",
	       wl.nreq, wl.nbatch, wl.nholds, t1 - t0);

	sim_config_init(&cfg);
	cfg.pool.pool_size = 10;
	cfg.pool.max_overflow = 20;
	cfg.pool.timeout_usec = 30 * USEC_PER_SEC;
	for (int rep = 0; rep < 3; rep++) {
		t0 = now_s();
		c0 = cpu_s(CLOCK_THREAD_CPUTIME_ID);
		sim_run(&wl, &cfg, (struct sim_sink){ NULL, NULL }, &res);
		c1 = cpu_s(CLOCK_THREAD_CPUTIME_ID);
		t1 = now_s();
		if (t1 - t0 < best)
			best = t1 - t0;
		if (c1 - c0 < best_cpu)
			best_cpu = c1 - c0;
		if (rep < 2)
			sim_result_release(&res);
	}
	printf("simulate 10/20/30: %llu checkouts, %llu events in %.3f s wall / %.3f s CPU (best of 3):\n"
	       "  %.1f M checkouts/s wall, %.1f M checkouts/s per CPU second (one core)\n",
	       (unsigned long long)res.checkouts, (unsigned long long)res.sim_events, best, best_cpu,
	       (double)res.checkouts / best / 1e6, (double)res.checkouts / best_cpu / 1e6);
	printf("  result: timeouts %llu, peak checked out %d, wait p99 %.3f s\n",
	       (unsigned long long)res.timeouts, res.peak_checked_out,
	       sim_waits_percentile(&res.all.waits, 99) / 1e6);
	sim_result_release(&res);

	sweep_spec_init(&spec);
	/* 10 x 10 x 10 = 1,000 settings: size 2..20, overflow 0..27, timeout 5..50 s */
	spec.size_lo = 2, spec.size_hi = 20, spec.size_step = 2;
	spec.ovf_lo = 0, spec.ovf_hi = 27, spec.ovf_step = 3;
	spec.timeout_lo = 5 * USEC_PER_SEC, spec.timeout_hi = 50 * USEC_PER_SEC;
	spec.timeout_step = 5 * USEC_PER_SEC;
	if (nsettings != 1000) {
		spec.timeout_hi = spec.timeout_lo;
		spec.size_hi = spec.size_lo + (nsettings / 10 - 1) * spec.size_step;
	}
	spec.threads = 0; /* every core */
	t0 = now_s();
	c0 = cpu_s(CLOCK_PROCESS_CPUTIME_ID);
	if (sweep_run(&wl, &cfg, &spec, &sw) < 0)
		return 2;
	c1 = cpu_s(CLOCK_PROCESS_CPUTIME_ID);
	t1 = now_s();
	printf("sweep: %zu settings in %.2f s wall, %.2f s CPU on %d threads (%zu simulator runs, "
	       "%.1f M checkouts simulated)\n",
	       sw.npoints, t1 - t0, c1 - c0, sw.threads, sw.simulations,
	       (double)sw.total_checkouts / 1e6);
	if (sw.best != SIZE_MAX)
		printf("  cheapest with zero timeouts: %d/%d/%.0f s\n", sw.points[sw.best].pool_size,
		       sw.points[sw.best].max_overflow, (double)sw.points[sw.best].timeout_usec / 1e6);
	sweep_result_release(&sw);
	printf("memory: peak RSS %.1f MiB (workload alone %.1f MiB, %.1f bytes/request)\n",
	       (double)peak_rss_kib() / 1024, (double)rss_wl / 1024,
	       (double)rss_wl * 1024 / (double)(nreq ? nreq : 1));
	workload_release(&wl);
	return 0;
}
