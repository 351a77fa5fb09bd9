#include "replay/sim.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "replay/driver_impl.h"
#include "core/banned.h"

/*
 * The simulated clock under the workload driver (replay/driver.h): a
 * binary min-heap of timed events, connects that take cfg.pool.connect_usec
 * (instant by default), and PostgreSQL's max_connections as a count.  How
 * jobs call the pool and what is done with its answers is the driver's.
 *
 * API arrivals are not put in the heap: they come sorted from the workload
 * and are merged with the heap's top (an arrival runs after every heap
 * event of the same microsecond), so the heap only holds what is in flight
 * (holds, deadlines, connects), a few dozen entries for a pool of 30.
 * Stale entries (a deadline of a waiter that was served) stay in the heap
 * and are dropped by their generation when they come up.
 */

/* Heap event types; the value is the tie-break order at equal times. */
enum ev_type {
	EV_CONNECT_DONE = 0,
	EV_HOLD_END = 1,
	EV_WAKEUP = 2,
	EV_DEADLINE = 3,
	EV_LANE_STEP = 4,
	EV_BATCH_START = 5,
	EV_STATS = 6,
	EV_ARRIVAL = 7 /* never in the heap */
};

/* enum drv_timer -> enum ev_type */
static const uint8_t timer_type[] = {
	[DRV_T_WAKEUP] = EV_WAKEUP,
	[DRV_T_DEADLINE] = EV_DEADLINE,
	[DRV_T_LANE_STEP] = EV_LANE_STEP,
	[DRV_T_BATCH_START] = EV_BATCH_START,
};

struct hent {
	uint64_t key; /* (t - t0) << 3 | type */
	uint32_t seq;
	uint32_t job; /* job slot, batch index (BATCH_START) */
	uint32_t gen;
	uint32_t pad;
};

struct sim {
	struct driver d;
	log_usec t0;
	struct hent *heap;
	size_t nheap, heap_alloc;
	uint32_t seq;
	int32_t open_total;  /* connections open in all pools (max_connections) */
};

void sim_config_init(struct sim_config *c)
{
	memset(c, 0, sizeof(*c));
	pool_config_init(&c->pool);
	c->keep_waits = true;
}

/* --- heap ------------------------------------------------------------------ */

static inline bool hless(const struct hent *a, const struct hent *b)
{
	return a->key < b->key || (a->key == b->key && a->seq < b->seq);
}

static void heap_push(struct sim *s, log_usec t, enum ev_type type, uint32_t job, uint32_t gen)
{
	struct hent e;
	size_t i;
	if (t < s->t0)
		BUG("sim: event before the start (%lld < %lld)", (long long)t, (long long)s->t0);
	e.key = ((uint64_t)(t - s->t0) << 3) | (uint64_t)type;
	e.seq = s->seq++;
	e.job = job;
	e.gen = gen;
	e.pad = 0;
	ALLOC_GROW(s->heap, s->nheap + 1, s->heap_alloc);
	i = s->nheap++;
	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (!hless(&e, &s->heap[parent]))
			break;
		s->heap[i] = s->heap[parent];
		i = parent;
	}
	s->heap[i] = e;
}

static struct hent heap_pop(struct sim *s)
{
	struct hent top = s->heap[0], last = s->heap[--s->nheap];
	size_t i = 0, n = s->nheap;
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= n)
			break;
		if (c + 1 < n && hless(&s->heap[c + 1], &s->heap[c]))
			c++;
		if (!hless(&s->heap[c], &last))
			break;
		s->heap[i] = s->heap[c];
		i = c;
	}
	if (n)
		s->heap[i] = last;
	return top;
}

static inline log_usec key_time(const struct sim *s, uint64_t key)
{
	return s->t0 + (log_usec)(key >> 3);
}

double sim_waits_percentile(struct sim_waits *w, double p)
{
	size_t nz = w->nonzero.nr;
	uint64_t n = w->zero + nz;
	double h, frac, a, b;
	uint64_t lo;
	if (!n)
		return 0;
	if (!nz)
		return 0;
	sample_percentile(&w->nonzero, 50); /* sorts */
	h = (double)(n - 1) * p / 100.0;
	lo = (uint64_t)h;
	frac = h - (double)lo;
	a = lo < w->zero ? 0 : (double)w->nonzero.v[lo - w->zero];
	if (lo + 1 >= n)
		return a;
	b = lo + 1 < w->zero ? 0 : (double)w->nonzero.v[lo + 1 - w->zero];
	return a + frac * (b - a);
}

int64_t sim_waits_max(struct sim_waits *w)
{
	return w->nonzero.nr ? sample_max(&w->nonzero) : 0;
}

void sim_result_release(struct sim_result *r)
{
	for (int i = 0; i < ORIGIN__COUNT; i++)
		sample_clear(&r->origin[i].waits.nonzero);
	sample_clear(&r->all.waits.nonzero);
}

/* --- the clock's side of the driver (driver_impl.h's clock_*()) ------------ */

static void clock_at(struct driver *d, log_usec t, enum drv_timer kind, uint32_t id, uint32_t gen)
{
	heap_push(d->clock, t, (enum ev_type)timer_type[kind], id, gen);
}

static void clock_after(struct driver *d, log_usec now, int64_t delay, enum drv_timer kind,
			uint32_t id, uint32_t gen)
{
	heap_push(d->clock, now + delay, (enum ev_type)timer_type[kind], id, gen);
}

/* Stale heap entries are dropped by their generation when they come up. */
static void clock_cancel(struct driver *d, enum drv_timer kind, uint32_t id)
{
}

static void clock_job_freed(struct driver *d, uint32_t ji)
{
}

/* A new connection: refused beyond max_connections (the pool gives the
 * slot back, reference 1.6), else open after connect_usec (default 0). */
static void clock_connect(struct driver *d, uint32_t ji, uint32_t conn, log_usec now)
{
	struct sim *s = d->clock;
	const struct drv_job *j = &d->jobs[ji];
	const struct pool_config *pc = &d->pools[j->pool].cfg;
	if (d->cfg->max_connections > 0 && s->open_total >= d->cfg->max_connections) {
		if (d->sink.emit) {
			struct event ev;
			drv_event_init(d, &ev, EVENT_PG_TOO_MANY_CLIENTS, now, j->pool);
			ev.origin = j->origin;
			ev.text = "sorry, too many clients already";
			ev.u.pg.sqlstate = event_sqlstate_pack("53300");
			d->sink.emit(d->sink.data, &ev);
		}
		drv_connect_failed(d, j->pool, conn, ji, false, now);
		return;
	}
	s->open_total++;
	if (s->open_total > d->res->peak_open_total)
		d->res->peak_open_total = s->open_total;
	if (pc->connect_usec > 0) {
		heap_push(s, now + pc->connect_usec, EV_CONNECT_DONE, ji, j->gen);
		return;
	}
	drv_connected(d, j->pool, conn, ji, false, now);
}

/* A pooled record: pre-ping and a recycle's reconnect are part of the hold. */
static void clock_pooled(struct driver *d, uint32_t ji, uint32_t conn, bool recycled, log_usec now)
{
	const struct pool_config *pc = &d->pools[d->jobs[ji].pool].cfg;
	int64_t extra = pc->preping_usec;
	if (recycled)
		extra += pc->connect_usec;
	drv_hold(d, ji, conn, now, extra);
}

static void clock_hold(struct driver *d, uint32_t ji, uint32_t conn, log_usec now, int64_t extra)
{
	const struct drv_job *j = &d->jobs[ji];
	heap_push(d->clock, now + extra + j->hold, EV_HOLD_END, ji, j->gen);
}

static void clock_close(struct driver *d, uint16_t pool, uint32_t conn)
{
	struct sim *s = d->clock;
	s->open_total--;
}

/* --- the run ------------------------------------------------------------------ */

int sim_run(const struct workload *wl, const struct sim_config *cfg, struct sim_sink sink,
	    struct sim_result *res)
{
	struct sim s;
	struct driver *d = &s.d;
	uint64_t nev = 0;

	memset(&s, 0, sizeof(s));
	memset(res, 0, sizeof(*res));
	for (int i = 0; i < ORIGIN__COUNT; i++)
		res->origin[i].waits.nonzero = (struct sample)SAMPLE_INIT;
	res->all.waits.nonzero = (struct sample)SAMPLE_INIT;
	res->first_timeout = res->last_timeout = LOG_USEC_NONE;
	drv_init(d, wl, cfg, sink, EVENT_F_SIMULATED, &s, res);
	s.t0 = d->t0;
	drv_start(d);
	if (sink.emit && cfg->stats_every_usec > 0)
		heap_push(&s, s.t0, EV_STATS, 0, 0);

	for (;;) {
		log_usec now;
		struct hent e;
		bool arrival = false;
		if (d->ai < wl->nreq) {
			uint64_t akey = ((uint64_t)(wl->req[d->ai].t - s.t0) << 3) | EV_ARRIVAL;
			arrival = !s.nheap || akey < s.heap[0].key;
		} else if (!s.nheap) {
			break;
		}
		nev++;
		if (d->failures && cfg->stop_at_failure) {
			res->stopped = true;
			break;
		}
		if (arrival) {
			drv_arrive(d, wl->req[d->ai].t);
			continue;
		}
		e = heap_pop(&s);
		now = key_time(&s, e.key);
		switch ((enum ev_type)(e.key & 7)) {
		case EV_CONNECT_DONE: {
			const struct drv_job *j = &d->jobs[e.job];
			if (j->gen != e.gen || j->state != DRV_JS_CONNECTING)
				BUG("sim: stale connect for job %u", e.job);
			drv_connected(d, j->pool, j->conn, e.job, false, now);
			break;
		}
		case EV_HOLD_END: {
			const struct drv_job *j = &d->jobs[e.job];
			if (j->gen != e.gen || j->state != DRV_JS_HOLDING)
				BUG("sim: stale hold end for job %u", e.job);
			drv_checkin(d, j->pool, j->conn, e.job, now);
			break;
		}
		case EV_WAKEUP:
			drv_wakeup(d, e.job, e.gen, now);
			break;
		case EV_DEADLINE:
			drv_deadline(d, e.job, e.gen, now);
			break;
		case EV_LANE_STEP:
			drv_lane_step(d, e.job, e.gen, now);
			break;
		case EV_BATCH_START:
			drv_batch_start(d, e.job, now);
			break;
		case EV_STATS:
			drv_emit_stats(d, now);
			if (s.nheap || d->ai < wl->nreq)
				heap_push(&s, now + cfg->stats_every_usec, EV_STATS, 0, 0);
			break;
		case EV_ARRIVAL:
			BUG("sim: arrival in the heap");
		}
	}
	res->sim_events = nev;
	if (d->live_jobs && !res->stopped)
		BUG("sim: %zu jobs left at the end", d->live_jobs);
	drv_totals(d);
	drv_release(d);
	free(s.heap);
	return 0;
}
