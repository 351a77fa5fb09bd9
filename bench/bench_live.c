/*
 * bench_live: scheduling fidelity and throughput of the live replay.
 *
 *   bench_live [--dsn DSN] [--seconds S] [--rate R] [--conns C]
 *
 * Phase 1 (fidelity): API requests arrive at R per second (default 1,000)
 * for S seconds (default 10), evenly spaced, each holding its connection
 * for C / R seconds (default 200 / 1,000 = 0.2 s), so by Little's law C
 * connections (default 200) are busy at once; the pool is C + 10 wide so
 * nothing waits.  Prints the schedule lag (actual start - due) p50/p99/max
 * and the replay's own CPU time.
 *
 * Phase 2 (throughput): 1 ms holds on a pool of 64 at rising rates (2,000,
 * 4,000, ... per second) until fewer than 95 % of the offered holds per
 * second are achieved; prints the highest achieved rate and the replay's
 * own CPU microseconds per hold (BEGIN READ ONLY, ROLLBACK and the pool's
 * bookkeeping), i.e. how many holds per second one core of replay drives.
 *
 * It needs a server with max_connections >= C + 10.  Without --dsn it
 * starts a private PostgreSQL (as scripts/pg-test-server.sh does, with
 * max_connections = C + 50) in a temporary folder and removes it at the
 * end; the server's own CPU is not counted.  On 2 cores the server and
 * the replay compete, so phase 2 measures the pair.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include "core/error.h"
#include "core/numparse.h"
#include "core/strbuf.h"
#include "replay/live.h"
#include "replay/workload.h"
#include "core/banned.h"

#define T0 INT64_C(1760969000000000)

static char pgdir[256], pgbin[256];

static int64_t cpu_usec(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (int64_t)ru.ru_utime.tv_sec * 1000000 + ru.ru_utime.tv_usec +
	       (int64_t)ru.ru_stime.tv_sec * 1000000 + ru.ru_stime.tv_usec;
}

static const char as_pg[] =
	"as_pg() { if [ \"$(id -u)\" -eq 0 ]; then runuser -u postgres -- \"$@\"; else \"$@\"; fi; }; ";

static int start_server(int max_connections, char *dsn, size_t dsn_size)
{
	struct strbuf cmd = STRBUF_INIT;
	char line[512] = "";
	int port = 0;
	FILE *p;
	strbuf_addf(&cmd,
		    "set -e; %s bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1); "
		    "dir=$(mktemp -d /tmp/poolscope-bench-pg.XXXXXX); "
		    "[ \"$(id -u)\" -eq 0 ] && chown postgres \"$dir\"; "
		    "as_pg \"$bin/initdb\" -D \"$dir/data\" -U postgres -A trust --no-sync "
		    "  >\"$dir/initdb.log\" 2>&1; "
		    "for p in $(shuf -i 20000-60000 -n 50); do "
		    "  if ! (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null; then port=$p; break; fi; "
		    "done; "
		    "as_pg \"$bin/pg_ctl\" -D \"$dir/data\" -l \"$dir/server.log\" -w -t 60 "
		    "  -o \"-p $port -c listen_addresses=127.0.0.1 -k $dir -c max_connections=%d "
		    "-c fsync=off\" start >/dev/null; "
		    "echo \"$dir $port $bin\"",
		    as_pg, max_connections);
	p = popen(cmd.buf, "r");
	strbuf_release(&cmd);
	if (!p || !fgets(line, sizeof(line), p)) {
		if (p)
			pclose(p);
		return error("could not start a private PostgreSQL (see --dsn)");
	}
	pclose(p);
	if (sscanf(line, "%255s %d %255s", pgdir, &port, pgbin) != 3)
		return error("could not start a private PostgreSQL: '%s'", line);
	snprintf(dsn, dsn_size, "host=127.0.0.1 port=%d user=postgres dbname=postgres", port);
	return 0;
}

static void stop_server(void)
{
	struct strbuf cmd = STRBUF_INIT;
	if (!pgdir[0])
		return;
	strbuf_addf(&cmd, "%s as_pg '%s/pg_ctl' -D '%s/data' -m immediate -w stop >/dev/null 2>&1;"
		    " rm -rf '%s'", as_pg, pgbin, pgdir, pgdir);
	if (system(cmd.buf) != 0)
		warning("could not stop the private server in %s", pgdir);
	strbuf_release(&cmd);
}

struct figures {
	double lag_p50_ms, lag_p99_ms, lag_max_ms;
	double holds_per_s;  /* checkouts / elapsed */
	double cpu_per_hold_us;
	double cpu_share;    /* replay CPU / elapsed */
	int peak_open, peak_backends;
	uint64_t timeouts, refusals;
	int ok;
};

/* R requests/s for S seconds, each held `hold` seconds; pool size `pool`. */
static struct figures run_rate(const char *dsn, double rate, double seconds, double hold,
			       int pool)
{
	struct workload wl;
	struct live_opts o;
	struct live_result r;
	struct figures f;
	size_t n = (size_t)(rate * seconds);
	int64_t cpu0;

	memset(&f, 0, sizeof(f));
	workload_init(&wl);
	for (size_t i = 0; i < n; i++) {
		struct wl_request *rq = workload_add_request(&wl);
		rq->t = T0 + (log_usec)((double)i * 1e6 / rate);
		rq->hold = (int64_t)(hold * 1e6);
		rq->origin = ORIGIN_API;
		rq->evidence = WL_EV_SYNTHETIC;
	}
	workload_sort(&wl);
	live_opts_init(&o);
	o.dsn = dsn;
	o.model.pool.pool_size = pool;
	o.model.pool.max_overflow = 0;
	o.model.pool.timeout_usec = 30 * USEC_PER_SEC;
	o.quiet = true;
	live_result_init(&r);
	cpu0 = cpu_usec();
	f.ok = live_replay_run(&wl, &o, &r) == 0;
	if (!f.ok)
		fprintf(stderr, "bench_live: run failed: %s\n", r.error);
	f.cpu_per_hold_us = r.sim.checkouts ? (double)(cpu_usec() - cpu0) / (double)r.sim.checkouts : 0;
	f.cpu_share = r.elapsed_usec ? (double)(cpu_usec() - cpu0) / (double)r.elapsed_usec : 0;
	f.lag_p50_ms = sample_percentile(&r.lag_usec, 50) / 1e3;
	f.lag_p99_ms = sample_percentile(&r.lag_usec, 99) / 1e3;
	f.lag_max_ms = (double)(r.lag_usec.nr ? sample_max(&r.lag_usec) : 0) / 1e3;
	f.holds_per_s = r.elapsed_usec ? (double)r.sim.checkouts * 1e6 / (double)r.elapsed_usec : 0;
	f.peak_open = r.sim.peak_open_total;
	fprintf(stderr, "  (%llu loop wakeups; longest callback, wall clock: socket %lld us, "
		"timer %lld us)\n",
		(unsigned long long)r.loop_wakeups, (long long)r.max_io_usec,
		(long long)r.max_timer_usec);
	f.peak_backends = (int)r.peak_backends;
	f.timeouts = r.sim.timeouts;
	f.refusals = r.refusals;
	live_result_release(&r);
	workload_release(&wl);
	return f;
}

static void print_row(const char *what, double rate, const struct figures *f)
{
	printf("%-12s %8.0f/s %9.0f/s %7d %8d %9.3f %9.3f %9.3f %8.1f %6.0f%%  %s\n", what, rate,
	       f->holds_per_s, f->peak_open, f->peak_backends, f->lag_p50_ms, f->lag_p99_ms,
	       f->lag_max_ms, f->cpu_per_hold_us, f->cpu_share * 100,
	       f->ok ? (f->timeouts || f->refusals ? "timeouts/refusals!" : "ok") : "FAILED");
	fflush(stdout);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "dsn", required_argument, NULL, 'd' },
		{ "seconds", required_argument, NULL, 's' },
		{ "rate", required_argument, NULL, 'r' },
		{ "conns", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 }
	};
	const char *dsn = NULL;
	char own_dsn[256];
	double seconds = 10, rate = 1000;
	int conns = 200, c;
	struct figures f;
	double best = 0, best_cpu = 0;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'd': dsn = optarg; break;
		case 's':
			if (parse_double(optarg, &seconds) < 0 || seconds <= 0)
				die("bad --seconds '%s'", optarg);
			break;
		case 'r':
			if (parse_double(optarg, &rate) < 0 || rate <= 0)
				die("bad --rate '%s'", optarg);
			break;
		case 'c':
			if (parse_int(optarg, &conns) < 0 || conns <= 0)
				die("bad --conns '%s'", optarg);
			break;
		default:
			fprintf(stderr, "usage: bench_live [--dsn DSN] [--seconds S] [--rate R] "
					"[--conns C]\n");
			return 64;
		}
	}
	if (!dsn) {
		if (start_server(conns + 50, own_dsn, sizeof(own_dsn)) < 0)
			return 2;
		dsn = own_dsn;
	}
	printf("%-12s %10s %11s %7s %8s %9s %9s %9s %8s %7s\n", "phase", "offered", "achieved",
	       "conns", "backends", "lag p50", "lag p99", "lag max", "cpu/hold", "cpu");
	printf("%-12s %10s %11s %7s %8s %9s %9s %9s %8s %7s\n", "", "holds", "holds", "peak",
	       "peak", "ms", "ms", "ms", "us", "");
	f = run_rate(dsn, rate, seconds, (double)conns / rate, conns + 10);
	print_row("fidelity", rate, &f);

	/* throughput: rising rates of 1 ms holds until the pair (replay +
	 * server) no longer keeps up (achieved under 95 % of offered) */
	for (double r = 2000; r <= 64000; r *= 2) {
		sleep(1); /* let the last run's backends exit (peak_backends) */
		f = run_rate(dsn, r, seconds / 2, 0.001, 64);
		print_row("throughput", r, &f);
		if (f.ok && f.holds_per_s > best)
			best = f.holds_per_s;
		if (f.cpu_per_hold_us > 0 && (best_cpu == 0 || f.cpu_per_hold_us < best_cpu))
			best_cpu = f.cpu_per_hold_us;
		if (!f.ok || f.holds_per_s < 0.95 * r)
			break;
	}
	printf("\nhighest rate sustained with the server on the same machine: %.0f holds/s\n",
	       best);
	if (best_cpu > 0)
		printf("replay CPU per hold (BEGIN READ ONLY + ROLLBACK + pool bookkeeping): %.1f us, "
		       "i.e. one core drives about %.0f holds/s\n", best_cpu, 1e6 / best_cpu);
	stop_server();
	return 0;
}
