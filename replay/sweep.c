#include "replay/sweep.h"
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "core/atomicfile.h"
#include "core/error.h"
#include "core/strbuf.h"
#include "core/banned.h"

void sweep_spec_init(struct sweep_spec *s)
{
	memset(s, 0, sizeof(*s));
	s->size_lo = 1, s->size_hi = 30, s->size_step = 1;
	s->ovf_lo = 0, s->ovf_hi = 30, s->ovf_step = 1;
	s->timeout_lo = s->timeout_hi = -1; /* as recorded */
	s->timeout_step = USEC_PER_SEC;
	wl_transform_init(&s->base);
	s->max_wait_p99_usec = -1;
}

void sweep_result_release(struct sweep_result *r)
{
	free(r->points);
	memset(r, 0, sizeof(*r));
}

/*
 * Two savings make a 1,000-point sweep over a day of traffic affordable:
 *
 * 1. Points that differ only in how the cap is split between pool_size and
 *    max_overflow behave the same when connects take no time, there is no
 *    pre-ping, recycle or barging: a caller waits iff checked_out >= cap
 *    (an idle record implies open > checked_out, so it is taken), and a
 *    record closed at checkin instead of queued costs nothing to reopen.
 *    Only pool_size's share of idle connections differs, which no reported
 *    figure but the server-side connection count depends on.  Such points
 *    are simulated once per (batch size, timeout, cap).
 * 2. A point with a timeout or refusal is not acceptable whatever else
 *    happens, so (unless spec->full) its run stops at the first failure and
 *    its counts are lower bounds (complete = false).  Only the heatmap slice
 *    is then re-run in full, so its cells show real counts.
 */
struct sweep_job {
	const struct workload *const *wls; /* one per batch size */
	const struct sim_config *cfg;
	struct sweep_point *points;
	size_t per_wl;              /* points per batch size */
	const size_t *todo;         /* point indices to simulate */
	size_t ntodo;
	bool stop_at_failure;
	atomic_size_t next;
};

static void run_point(struct sweep_job *job, size_t i)
{
	struct sweep_point *p = &job->points[i];
	struct sim_config c = *job->cfg;
	struct sim_result r;
	c.pool.pool_size = p->pool_size;
	c.pool.max_overflow = p->max_overflow;
	c.pool.timeout_usec = p->timeout_usec;
	c.stats_every_usec = 0;
	c.max_connections = 0; /* fitting is judged by cost; see sweep.h */
	c.stop_at_failure = job->stop_at_failure;
	sim_run(job->wls[i / job->per_wl], &c, (struct sim_sink){ NULL, NULL }, &r);
	p->processes = r.npools;
	p->timeouts = r.timeouts;
	p->refusals = r.refusals;
	p->late = r.late;
	p->checkouts = r.checkouts;
	p->complete = !r.stopped;
	p->wait_p99_usec = sim_waits_percentile(&r.all.waits, 99);
	p->wait_max_usec = sim_waits_max(&r.all.waits);
	p->peak_checked_out = r.peak_checked_out;
	p->simulated = true;
	sim_result_release(&r);
}

static void *worker(void *arg)
{
	struct sweep_job *job = arg;
	for (;;) {
		size_t i = atomic_fetch_add(&job->next, 1);
		if (i >= job->ntodo)
			return NULL;
		run_point(job, job->todo[i]);
	}
}

static int run_parallel(struct sweep_job *job, int nthreads)
{
	pthread_t *tids = xcalloc((size_t)nthreads + 1, sizeof(*tids));
	int started = 1;
	atomic_store(&job->next, 0);
	for (int k = 1; k < nthreads; k++) {
		if (pthread_create(&tids[k], NULL, worker, job)) {
			warning("cannot start sweep thread %d: %s", k, strerror(errno));
			break;
		}
		started++;
	}
	worker(job);
	for (int k = 1; k < started; k++)
		pthread_join(tids[k], NULL);
	free(tids);
	return started;
}

/* Order for "cheapest": cost, then wait p99, then fewer persistent
 * connections, shorter timeout, bigger batches (fewer of them). */
static bool cheaper(const struct sweep_point *a, const struct sweep_point *b)
{
	if (a->cost != b->cost)
		return a->cost < b->cost;
	if (a->wait_p99_usec != b->wait_p99_usec)
		return a->wait_p99_usec < b->wait_p99_usec;
	if (a->pool_size != b->pool_size)
		return a->pool_size < b->pool_size;
	if (a->timeout_usec != b->timeout_usec)
		return a->timeout_usec < b->timeout_usec;
	return a->batch_size > b->batch_size;
}

/*
 * Pareto frontier over (cost, wait p99) among acceptable points: sorted by
 * cost then p99 (then the "cheaper" order), a point is on the frontier when
 * its p99 is strictly below every cheaper point's.  O(n log n).
 */
struct ranked {
	struct sweep_point p; /* a copy: qsort has no context argument */
	size_t i;
};

static int cmp_ranked(const void *a, const void *b)
{
	const struct ranked *x = a, *y = b;
	if (cheaper(&x->p, &y->p))
		return -1;
	if (cheaper(&y->p, &x->p))
		return 1;
	return (x->i > y->i) - (x->i < y->i);
}

static void mark_frontier(struct sweep_result *res)
{
	struct ranked *v = xmalloc((res->npoints + 1) * sizeof(*v));
	size_t n = 0;
	double best = 0;
	for (size_t i = 0; i < res->npoints; i++)
		if (res->points[i].ok) {
			v[n].p = res->points[i];
			v[n++].i = i;
		}
	qsort(v, n, sizeof(*v), cmp_ranked);
	for (size_t k = 0; k < n; k++) {
		if (k == 0 || v[k].p.wait_p99_usec < best) {
			res->points[v[k].i].frontier = true;
			best = v[k].p.wait_p99_usec;
		}
	}
	free(v);
}

static bool same_cap(const struct sweep_point *a, const struct sweep_point *b,
		     enum pool_semantics sem)
{
	bool ua = a->max_overflow < 0 || (sem == POOL_SQLA_20 && a->pool_size == 0);
	bool ub = b->max_overflow < 0 || (sem == POOL_SQLA_20 && b->pool_size == 0);
	if (ua || ub)
		return ua && ub;
	return a->pool_size + a->max_overflow == b->pool_size + b->max_overflow;
}

static void copy_from_reps(struct sweep_result *res, const size_t *rep)
{
	for (size_t i = 0; i < res->npoints; i++) {
		struct sweep_point *p = &res->points[i];
		const struct sweep_point *r = &res->points[rep[i]];
		if (rep[i] == i)
			continue;
		p->processes = r->processes;
		p->timeouts = r->timeouts;
		p->refusals = r->refusals;
		p->late = r->late;
		p->checkouts = r->checkouts;
		p->complete = r->complete;
		p->wait_p99_usec = r->wait_p99_usec;
		p->wait_max_usec = r->wait_max_usec;
		p->peak_checked_out = r->peak_checked_out;
		p->simulated = false;
	}
}

static void judge(struct sweep_result *res, const struct sim_config *cfg,
		  const struct sweep_spec *spec)
{
	res->best = SIZE_MAX;
	res->total_checkouts = 0;
	for (size_t i = 0; i < res->npoints; i++) {
		struct sweep_point *p = &res->points[i];
		int64_t per = p->max_overflow < 0 ? -1 : (int64_t)p->pool_size + p->max_overflow;
		if (p->max_overflow >= 0 && cfg->pool.semantics == POOL_SQLA_20 && p->pool_size == 0)
			per = -1;
		p->cost = per < 0 ? INT32_MAX : (int32_t)(per * p->processes);
		p->fits = cfg->max_connections <= 0 || (per >= 0 && p->cost <= cfg->max_connections);
		p->ok = p->fits && !p->timeouts && !p->refusals &&
			(spec->max_wait_p99_usec < 0 || p->wait_p99_usec <= spec->max_wait_p99_usec);
		p->frontier = false;
		if (p->simulated)
			res->total_checkouts += p->checkouts;
		if (p->ok && (res->best == SIZE_MAX || cheaper(p, &res->points[res->best])))
			res->best = i;
	}
	mark_frontier(res);
}

static int count_steps(int64_t lo, int64_t hi, int64_t step, const char *what)
{
	if (step <= 0 || hi < lo)
		return error("bad %s range %lld..%lld step %lld", what, (long long)lo, (long long)hi,
			     (long long)step);
	if ((hi - lo) / step + 1 > 100000)
		return error("%s range has too many steps", what);
	return (int)((hi - lo) / step + 1);
}

int sweep_run(const struct workload *wl, const struct sim_config *cfg,
	      const struct sweep_spec *spec, struct sweep_result *res)
{
	int nsize, novf, nto;
	size_t nbs = spec->nbatch_sizes ? spec->nbatch_sizes : 1;
	int64_t tlo = spec->timeout_lo, thi = spec->timeout_hi;
	struct workload *wls;
	const struct workload **wlp;
	struct sweep_job job;
	int nthreads = spec->threads;
	size_t i, *rep = NULL, *top = NULL, *todo = NULL, ntodo = 0, job_per_wl;
	bool memo;
	int ret = 0;

	memset(res, 0, sizeof(*res));
	res->best = SIZE_MAX;
	if (tlo < 0) {
		tlo = thi = wl->rec_timeout_usec >= 0 ? wl->rec_timeout_usec : 30 * USEC_PER_SEC;
	}
	if ((nsize = count_steps(spec->size_lo, spec->size_hi, spec->size_step, "size")) < 0 ||
	    (novf = count_steps(spec->ovf_lo, spec->ovf_hi, spec->ovf_step, "overflow")) < 0 ||
	    (nto = count_steps(tlo, thi, spec->timeout_step, "timeout")) < 0)
		return -1;
	if (spec->size_lo < 0 || spec->ovf_lo < -1)
		return error("pool size and overflow cannot be negative");

	/* one transformed workload per batch size, shared by the threads */
	wls = xcalloc(nbs, sizeof(*wls));
	wlp = xcalloc(nbs, sizeof(*wlp));
	for (i = 0; i < nbs; i++) {
		struct wl_transform t = spec->base;
		if (spec->nbatch_sizes)
			t.batch_size = spec->batch_sizes[i];
		workload_init(&wls[i]);
		if (wl_transform_is_identity(&t) && t.lock_waits != 1) {
			wlp[i] = wl; /* no copy: memory stays one workload */
			continue;
		}
		if (workload_transform(&wls[i], wl, &t) < 0) {
			ret = -1;
			nbs = i + 1;
			goto out;
		}
		wlp[i] = &wls[i];
	}

	res->npoints = nbs * (size_t)nto * (size_t)nsize * (size_t)novf;
	res->points = xcalloc(res->npoints, sizeof(*res->points));
	i = 0;
	for (size_t b = 0; b < nbs; b++)
		for (int t = 0; t < nto; t++)
			for (int s = 0; s < nsize; s++)
				for (int o = 0; o < novf; o++) {
					struct sweep_point *p = &res->points[i++];
					p->batch_size = spec->nbatch_sizes ? spec->batch_sizes[b] : 0;
					p->timeout_usec = tlo + t * spec->timeout_step;
					p->pool_size = spec->size_lo + s * spec->size_step;
					p->max_overflow = spec->ovf_lo + o * spec->ovf_step;
				}

	job_per_wl = (size_t)nto * (size_t)nsize * (size_t)novf;
	if (nthreads <= 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		nthreads = n > 0 ? (int)n : 1;
	}
	memo = !cfg->pool.barging && cfg->pool.connect_usec == 0 && cfg->pool.preping_usec == 0 &&
	       cfg->pool.recycle_usec < 0;
	rep = xmalloc(res->npoints * sizeof(*rep));
	top = xmalloc(res->npoints * sizeof(*top));
	todo = xmalloc(res->npoints * sizeof(*todo));
	/* points are in (batch, timeout, size, overflow) order: a representative
	 * is the first point of its (batch, timeout) block with the same cap */
	for (i = 0; i < res->npoints; i++) {
		size_t block = i / (size_t)(nsize * novf) * (size_t)(nsize * novf);
		rep[i] = i;
		if (memo)
			for (size_t k = block; k < i; k++)
				if (rep[k] == k && same_cap(&res->points[k], &res->points[i],
							   cfg->pool.semantics)) {
					rep[i] = k;
					break;
				}
	}
	/* the representative of the same cap at the longest timeout of its batch */
	for (i = 0; i < res->npoints; i++) {
		size_t bblock = i / job_per_wl * job_per_wl;
		top[i] = i;
		if (rep[i] != i || !memo)
			continue;
		for (size_t k = bblock; k < bblock + job_per_wl; k++)
			if (rep[k] == k && same_cap(&res->points[k], &res->points[i], cfg->pool.semantics) &&
			    res->points[k].timeout_usec > res->points[top[i]].timeout_usec)
				top[i] = k;
	}
	job.wls = wlp;
	job.cfg = cfg;
	job.points = res->points;
	job.per_wl = job_per_wl;
	job.todo = todo;
	job.stop_at_failure = !spec->full;
	/* phase 1: every cap at its longest timeout */
	for (i = 0; i < res->npoints; i++)
		if (rep[i] == i && top[i] == i)
			todo[ntodo++] = i;
	job.ntodo = ntodo;
	res->simulations = ntodo;
	res->threads = run_parallel(&job, nthreads < (int)ntodo ? nthreads : (int)ntodo);
	/*
	 * phase 2: a shorter timeout T changes nothing when, at the longest,
	 * nobody failed and nobody waited as long as T (no deadline fires
	 * before its waiter is served, so no deadline ever matters); only
	 * the others are simulated.
	 */
	ntodo = 0;
	for (i = 0; i < res->npoints; i++) {
		const struct sweep_point *t = &res->points[top[i]];
		if (rep[i] != i || top[i] == i)
			continue;
		if (t->complete && !t->timeouts && !t->refusals &&
		    t->wait_max_usec < res->points[i].timeout_usec)
			rep[i] = top[i];
		else
			todo[ntodo++] = i;
	}
	if (ntodo) {
		job.ntodo = ntodo;
		res->simulations += ntodo;
		run_parallel(&job, nthreads < (int)ntodo ? nthreads : (int)ntodo);
	}
	for (i = 0; i < res->npoints; i++)
		rep[i] = rep[rep[i]]; /* a point's rep may itself share its top's run */
	copy_from_reps(res, rep);
	judge(res, cfg, spec);
	if (res->best != SIZE_MAX) {
		res->map_timeout_usec = res->points[res->best].timeout_usec;
		res->map_batch_size = res->points[res->best].batch_size;
	} else {
		res->map_timeout_usec = thi - (thi - tlo) % spec->timeout_step;
		res->map_batch_size = spec->nbatch_sizes ? spec->batch_sizes[0] : 0;
	}
	/* the heatmap slice in full */
	ntodo = 0;
	for (i = 0; i < res->npoints; i++) {
		const struct sweep_point *p = &res->points[i];
		if (rep[i] == i && !p->complete && p->timeout_usec == res->map_timeout_usec &&
		    p->batch_size == res->map_batch_size)
			todo[ntodo++] = i;
	}
	if (ntodo) {
		job.ntodo = ntodo;
		job.stop_at_failure = false;
		res->simulations += ntodo;
		run_parallel(&job, nthreads < (int)ntodo ? nthreads : (int)ntodo);
		copy_from_reps(res, rep);
		judge(res, cfg, spec);
	}
	free(rep);
	free(top);
	free(todo);
out:
	for (i = 0; i < nbs; i++)
		workload_release(&wls[i]);
	free(wls);
	free(wlp);
	return ret;
}

int sweep_write_heatmap(const struct sweep_result *r, const char *dir)
{
	struct strbuf path = STRBUF_INIT, dat = STRBUF_INIT, gp = STRBUF_INIT;
	int32_t last_size = INT32_MIN, smin = INT32_MAX, smax = INT32_MIN, omin = INT32_MAX,
		omax = INT32_MIN;
	uint64_t tmax = 0;
	int ret = 0;

	strbuf_addf(&dat, "# poolscope sweep: predicted timeouts over pool_size x max_overflow\n"
			  "# timeout %.3f s, batch size %s%d\n# pool_size\tmax_overflow\ttimeouts\n",
		    (double)r->map_timeout_usec / 1e6, r->map_batch_size ? "" : "as recorded, ",
		    r->map_batch_size);
	for (size_t i = 0; i < r->npoints; i++) {
		const struct sweep_point *p = &r->points[i];
		if (p->timeout_usec != r->map_timeout_usec || p->batch_size != r->map_batch_size)
			continue;
		if (last_size != INT32_MIN && p->pool_size != last_size)
			strbuf_addch(&dat, '\n'); /* gnuplot: a new scan line */
		last_size = p->pool_size;
		strbuf_addf(&dat, "%d\t%d\t%llu\n", p->pool_size, p->max_overflow,
			    (unsigned long long)p->timeouts);
		if (p->pool_size < smin) smin = p->pool_size;
		if (p->pool_size > smax) smax = p->pool_size;
		if (p->max_overflow < omin) omin = p->max_overflow;
		if (p->max_overflow > omax) omax = p->max_overflow;
		if (p->timeouts > tmax) tmax = p->timeouts;
	}
	/* the same convention as analysis/chart.c: `term` picks PNG or SVG */
	strbuf_addf(&gp,
		    "# poolscope sweep heatmap: gnuplot sweep-timeouts.gp (PNG),\n"
		    "# gnuplot -e \"term='svg'\" sweep-timeouts.gp (SVG)\n"
		    "if (!exists('term')) term = 'png'\n"
		    "if (term eq 'svg') {\n"
		    "  set terminal svg size 900,700 dynamic font 'Sans,11'\n"
		    "  set output 'sweep-timeouts.svg'\n"
		    "} else {\n"
		    "  set terminal pngcairo size 900,700 font 'Sans,10'\n"
		    "  set output 'sweep-timeouts.png'\n"
		    "}\n"
		    "set title 'Predicted pool timeouts (timeout %.2f s%s)' noenhanced\n"
		    "set xlabel 'pool_size' noenhanced\nset ylabel 'max_overflow' noenhanced\n"
		    "set cblabel 'timeouts'\nset view map\n"
		    "set palette defined (0 '#f7fbff', 1 '#fdae6b', 2 '#d94801', 3 '#7f2704')\n"
		    /* a fixed colour range: with no timeouts anywhere gnuplot would
		     * warn about an empty one and pick [-1:1] */
		    "set cbrange [0:%llu]\n"
		    "set xrange [%g:%g]\nset yrange [%g:%g]\nset tics out\n"
		    "plot 'sweep-timeouts.dat' using 1:2:3 with image notitle\n",
		    (double)r->map_timeout_usec / 1e6, r->map_batch_size ? ", re-cut batches" : "",
		    (unsigned long long)(tmax ? tmax : 1), smin - 0.5, smax + 0.5, omin - 0.5, omax + 0.5);
	/* each file complete or absent (a Ctrl-C or a full disk mid-write) */
	strbuf_addf(&path, "%s/sweep-timeouts.dat", dir);
	if ((ret = file_write_atomic(path.buf, dat.buf, dat.len)) < 0)
		goto out;
	strbuf_reset(&path);
	strbuf_addf(&path, "%s/sweep-timeouts.gp", dir);
	ret = file_write_atomic(path.buf, gp.buf, gp.len);
out:
	strbuf_release(&path);
	strbuf_release(&dat);
	strbuf_release(&gp);
	return ret;
}
