#ifndef POOLSCOPE_DRIVER_IMPL_H
#define POOLSCOPE_DRIVER_IMPL_H
#include "replay/driver.h"
/*
 * The workload driver's state machine (replay/driver.h), compiled into the
 * clock that includes this file: replay/sim.c and replay/live.c, each once.
 * Everything here is static; the clock calls the drv_*() entry points and
 * defines the clock_*() ops declared below, which this code calls.
 *
 * Per job the time line is
 *   t_req (checkout called) --wait--> slot/connection obtained
 *     [--connect latency--> connected]  --hold--> checkin
 * wait is what counts toward the pool timeout (reference 1.3); connect,
 * pre-ping and recycle reconnects are hold (reference 7.6).  An API
 * request's latency as emitted (http_request duration) is server queue +
 * wait + connect + hold.
 *
 * Every function takes `now` on the log's time line from the clock; none
 * reads a clock.
 */

/* ---- the ops: what the including clock defines ----------------------------- */

/* Call back `kind` for id (a job; a batch for DRV_T_BATCH_START, gen 0)
 * with gen at log time t (a pool deadline, a batch's recorded start). */
static void clock_at(struct driver *d, log_usec t, enum drv_timer kind, uint32_t id, uint32_t gen);
/* The same, `delay` after now (a lane's gap, the barging lag, the gap
 * after a batch). */
static void clock_after(struct driver *d, log_usec now, int64_t delay, enum drv_timer kind,
			uint32_t id, uint32_t gen);
/* The callback `kind` of job id is no longer wanted (a waiter was served
 * before its deadline).  Optional for correctness: stale callbacks are
 * ignored by their generation. */
static void clock_cancel(struct driver *d, enum drv_timer kind, uint32_t id);
/* pool.c reserved slot conn for job ji (MUST_CONNECT, CONNECT_LATE): open
 * it, then drv_connected() or drv_connect_failed(), now or later. */
static void clock_connect(struct driver *d, uint32_t ji, uint32_t conn, log_usec now);
/* Job ji got the pooled record conn (idle, handed over, after a wake-up);
 * recycled: it is to be reconnected inside the checkout.  Ends in
 * drv_hold(), now or later, or in a failed connect. */
static void clock_pooled(struct driver *d, uint32_t ji, uint32_t conn, bool recycled, log_usec now);
/* Job ji holds conn from now for jobs[ji].hold plus extra (connect or
 * pre-ping time); when the hold is over the clock calls drv_checkin(). */
static void clock_hold(struct driver *d, uint32_t ji, uint32_t conn, log_usec now, int64_t extra);
/* pool.c closed conn of pool at its checkin (the queue was full). */
static void clock_close(struct driver *d, uint16_t pool, uint32_t conn);
/* Job ji is being freed: drop what the clock keeps for it. */
static void clock_job_freed(struct driver *d, uint32_t ji);

/*
 * ---- the entry points: what the clock calls (defined below, all static) ----
 *
 *   drv_start(d)               schedule the batch starts that go by the clock
 *   drv_arrive(d, now)         the next API request (drv_next_arrival()) arrives
 *   drv_deadline(d, ji, gen, now), drv_wakeup(...), drv_lane_step(...),
 *   drv_batch_start(d, b, now) the callbacks asked for through clock_at() and
 *                              clock_after(); stale deadlines and wake-ups
 *                              (gen) are ignored, a stale lane step is a BUG
 *   drv_connected(d, pool, conn, ji, reconnect, now)
 *   drv_connect_failed(d, pool, conn, ji, reconnect, now)
 *                              the connect of conn for job ji ended.  ji is
 *                              DRV_NONE if the job was dropped meanwhile (the
 *                              clock then checks the connection in itself);
 *                              reconnect: a pooled record reconnected inside
 *                              a checkout (pool.c counts it as out already).
 *                              A failed new connect gives its slot back, a
 *                              failed reconnect returns the record (reference
 *                              1.6); the job's checkout fails as a refusal
 *   drv_hold(d, ji, conn, now, extra)   job ji holds conn from now
 *   drv_checkin(d, pool, conn, ji, now) a hold is over; ji DRV_NONE for a
 *                              connection without a job
 *   drv_job_free(d, ji)        drop a job (the run is cut short); it counts
 *                              as neither done nor failed
 */

/* ---- events: the bodies are in driver.c, off the hot path ----------------- */

static inline void emit_conn(struct driver *d, enum event_kind kind, log_usec t, uint16_t pool,
			     uint32_t conn, const struct drv_job *j, const char *text2)
{
	if (d->sink.emit)
		drv_emit_conn(d, kind, t, pool, conn, j, text2);
}

static inline void emit_timeout(struct driver *d, log_usec t, const struct drv_job *j)
{
	if (d->sink.emit)
		drv_emit_timeout(d, t, j);
}

static inline void emit_http(struct driver *d, log_usec t, const struct drv_job *j, int status)
{
	if (d->sink.emit)
		drv_emit_http(d, t, j, status);
}

static inline void emit_batch(struct driver *d, enum event_kind kind, log_usec t, uint32_t b,
			      uint16_t pool)
{
	if (d->sink.emit)
		drv_emit_batch(d, kind, t, b, pool);
}

/* --- jobs ------------------------------------------------------------------ */

static uint32_t job_new(struct driver *d)
{
	uint32_t i;
	if (d->job_free != DRV_NONE) {
		i = d->job_free;
		d->job_free = d->jobs[i].next_free;
	} else {
		ALLOC_GROW(d->jobs, d->njobs + 1, d->jobs_alloc);
		i = (uint32_t)d->njobs++;
		d->jobs[i].gen = 0;
	}
	d->jobs[i].gen++;
	d->jobs[i].late = 0;
	d->jobs[i].threaded = 0;
	d->live_jobs++;
	return i;
}

static void drv_job_free(struct driver *d, uint32_t i)
{
	clock_job_freed(d, i);
	d->jobs[i].state = DRV_JS_FREE;
	d->jobs[i].gen++;
	d->jobs[i].next_free = d->job_free;
	d->job_free = i;
	d->live_jobs--;
}

/* --- accounting ------------------------------------------------------------ */

static void note_wait(struct driver *d, struct drv_job *j, log_usec now)
{
	struct sim_origin *o = &d->res->origin[j->origin];
	int64_t w = now - j->t_req;
	if (w <= 0) {
		o->waits.zero++;
		return;
	}
	o->waited++;
	if (d->cfg->keep_waits)
		sample_add(&o->waits.nonzero, w);
	else
		o->waits.zero++; /* keeps the count right; percentiles not wanted */
}

static void note_timeout(struct driver *d, struct drv_job *j, log_usec now)
{
	d->res->origin[j->origin].timeouts++;
	d->failures++;
	if (d->res->first_timeout == LOG_USEC_NONE)
		d->res->first_timeout = now;
	d->res->last_timeout = now;
	emit_timeout(d, now, j);
}

/* --- the job life cycle ------------------------------------------------------- */

static void job_done(struct driver *d, uint32_t ji, log_usec now);
static void job_failed(struct driver *d, uint32_t ji, log_usec now);
static void lane_next(struct driver *d, uint32_t ji, log_usec now);
static void batch_end(struct driver *d, uint32_t b, log_usec now);

static void drv_hold(struct driver *d, uint32_t ji, uint32_t conn, log_usec now, int64_t extra)
{
	struct drv_job *j = &d->jobs[ji];
	j->conn = conn;
	j->state = DRV_JS_HOLDING;
	d->res->origin[j->origin].checkouts++;
	emit_conn(d, EVENT_POOL_CHECKOUT, now, j->pool, conn, j, NULL);
	clock_hold(d, ji, conn, now, extra);
}

static void job_connect(struct driver *d, uint32_t ji, log_usec now, uint32_t conn)
{
	struct drv_job *j = &d->jobs[ji];
	clock_cancel(d, DRV_T_DEADLINE, ji);
	j->conn = conn;
	j->state = DRV_JS_CONNECTING;
	clock_connect(d, ji, conn, now);
}

/* A pooled record was obtained (idle, handed over or after a wake-up). */
static void job_got_pooled(struct driver *d, uint32_t ji, log_usec now, const struct pool_result *r)
{
	clock_cancel(d, DRV_T_DEADLINE, ji);
	if (r->recycled) /* hard-close and reconnect inside this checkout (reference 1.7) */
		emit_conn(d, EVENT_POOL_CLOSE, now, d->jobs[ji].pool, r->conn, &d->jobs[ji],
			  "hard");
	clock_pooled(d, ji, r->conn, r->recycled, now);
}

static void job_checkout(struct driver *d, uint32_t ji, log_usec now)
{
	struct drv_job *j = &d->jobs[ji];
	struct pool_result r;
	j->t_req = now;
	j->late = 0;
	d->res->origin[j->origin].attempts++;
	pool_checkout(&d->pools[j->pool], now, ji, &r);
	switch (r.outcome) {
	case POOL_GOT_IDLE:
		d->res->origin[j->origin].waits.zero++;
		job_got_pooled(d, ji, now, &r);
		break;
	case POOL_MUST_CONNECT:
		d->res->origin[j->origin].waits.zero++;
		job_connect(d, ji, now, r.conn);
		break;
	case POOL_MUST_WAIT:
		j->state = DRV_JS_WAITING;
		j->gen++;
		j->wait = r.wait;
		clock_at(d, r.deadline, DRV_T_DEADLINE, ji, j->gen);
		break;
	case POOL_TIMEOUT:
		d->res->origin[j->origin].waits.zero++;
		note_timeout(d, j, now);
		job_failed(d, ji, now);
		break;
	default:
		BUG("driver: checkout gave %s", pool_outcome_name(r.outcome));
	}
}

/* A checkin (or a failed reconnect's return) served a waiter. */
static void checkin_wakes(struct driver *d, uint16_t pool, const struct pool_result *r,
			  log_usec now)
{
	uint32_t wi = (uint32_t)r->waiter_id;
	struct drv_job *w = &d->jobs[wi];
	if (r->outcome == POOL_HANDED) {
		if (w->state != DRV_JS_WAITING)
			BUG("driver: handed to job %u in state %d", wi, w->state);
		note_wait(d, w, now);
		w->gen++; /* its deadline is now stale */
		job_got_pooled(d, wi, now, r);
	} else if (r->outcome == POOL_QUEUED_NOTIFY) {
		clock_after(d, now, d->pools[pool].cfg.wake_lag_usec, DRV_T_WAKEUP, wi,
			      w->gen);
	}
}

static void drv_checkin(struct driver *d, uint16_t pool, uint32_t conn, uint32_t ji, log_usec now)
{
	struct pool_result r;
	emit_conn(d, EVENT_POOL_CHECKIN, now, pool, conn, ji == DRV_NONE ? NULL : &d->jobs[ji],
		  NULL);
	pool_checkin(&d->pools[pool], now, conn, &r);
	switch (r.outcome) {
	case POOL_QUEUED:
		break;
	case POOL_CLOSED:
		emit_conn(d, EVENT_POOL_CLOSE, now, pool, r.conn,
			  ji == DRV_NONE ? NULL : &d->jobs[ji], NULL);
		clock_close(d, pool, r.conn);
		break;
	case POOL_HANDED:
	case POOL_QUEUED_NOTIFY:
		checkin_wakes(d, pool, &r, now);
		break;
	default:
		BUG("driver: checkin gave %s", pool_outcome_name(r.outcome));
	}
	if (ji != DRV_NONE)
		job_done(d, ji, now);
}

static void drv_connected(struct driver *d, uint16_t pool, uint32_t conn, uint32_t ji,
			  bool reconnect, log_usec now)
{
	if (!reconnect)
		pool_connect_done(&d->pools[pool], now, conn);
	emit_conn(d, EVENT_POOL_CONNECT, now, pool, conn, ji == DRV_NONE ? NULL : &d->jobs[ji],
		  NULL);
	if (ji != DRV_NONE)
		drv_hold(d, ji, conn, now, 0);
}

static void drv_connect_failed(struct driver *d, uint16_t pool, uint32_t conn, uint32_t ji,
			       bool reconnect, log_usec now)
{
	struct pool *p = &d->pools[pool];
	if (reconnect) {
		/* an existing record that fails to reconnect is invalidated and
		 * goes back to the queue without a connection (reference 1.6) */
		struct pool_result r;
		pool_checkin(p, now, conn, &r);
		checkin_wakes(d, pool, &r, now);
	} else {
		/* a new one gives its slot back at once and wakes nobody */
		pool_connect_failed(p, now, conn);
	}
	if (ji == DRV_NONE)
		return;
	d->res->origin[d->jobs[ji].origin].refusals++;
	d->failures++;
	job_failed(d, ji, now);
}

static void drv_deadline(struct driver *d, uint32_t ji, uint32_t gen, log_usec now)
{
	struct drv_job *j = &d->jobs[ji];
	struct pool_result r;
	if (j->gen != gen || j->state != DRV_JS_WAITING)
		return; /* served in the meantime */
	pool_deadline(&d->pools[j->pool], now, j->wait, &r);
	switch (r.outcome) {
	case POOL_STALE:
		BUG("driver: deadline of job %u stale in the pool", ji);
	case POOL_GOT_IDLE:
		note_wait(d, j, now);
		j->gen++;
		job_got_pooled(d, ji, now, &r);
		break;
	case POOL_CONNECT_LATE:
		note_wait(d, j, now);
		j->gen++;
		j->late = 1;
		d->res->origin[j->origin].late++;
		job_connect(d, ji, now, r.conn);
		break;
	case POOL_TIMEOUT:
		note_wait(d, j, now);
		j->gen++;
		note_timeout(d, j, now);
		job_failed(d, ji, now);
		break;
	default:
		BUG("driver: deadline gave %s", pool_outcome_name(r.outcome));
	}
}

static void drv_wakeup(struct driver *d, uint32_t ji, uint32_t gen, log_usec now)
{
	struct drv_job *j = &d->jobs[ji];
	struct pool_result r;
	if (j->gen != gen || j->state != DRV_JS_WAITING)
		return;
	pool_wakeup(&d->pools[j->pool], now, j->wait, &r);
	switch (r.outcome) {
	case POOL_STALE:
		break;
	case POOL_GOT_IDLE:
		note_wait(d, j, now);
		j->gen++;
		job_got_pooled(d, ji, now, &r);
		break;
	case POOL_MUST_WAIT:
		break; /* robbed: back in line, same deadline */
	default:
		BUG("driver: wakeup gave %s", pool_outcome_name(r.outcome));
	}
}

/* --- batches ------------------------------------------------------------------ */

static void batch_end(struct driver *d, uint32_t b, log_usec now)
{
	struct drv_batch *st = &d->bs[b];
	st->running = 0;
	st->done = 1;
	d->res->batches++;
	if (st->failed)
		d->res->batches_failed++;
	emit_batch(d, EVENT_BATCH_END, now, b, drv_batch_pool(d, b));
	if (st->next != DRV_NONE && !d->stopping) {
		uint32_t n = st->next;
		const struct wl_batch *nb = &d->wl->batch[n];
		if (nb->gap >= 0)
			clock_after(d, now, nb->gap, DRV_T_BATCH_START, n, 0);
		else if (d->bs[n].pending)
			clock_after(d, now, 0, DRV_T_BATCH_START, n, 0);
	}
}

static void drv_batch_start(struct driver *d, uint32_t b, log_usec now)
{
	const struct wl_batch *wb = &d->wl->batch[b];
	struct drv_batch *st = &d->bs[b];
	uint16_t pool = drv_batch_pool(d, b);
	uint32_t i, end;
	if (st->running || st->done)
		return;
	if (st->prev != DRV_NONE && !d->bs[st->prev].done) {
		st->pending = 1; /* the worker is still busy with the one before */
		return;
	}
	st->pending = 0;
	st->running = 1;
	st->started = now;
	st->lanes_left = 0;
	emit_batch(d, EVENT_BATCH_START, now, b, pool);
	end = wb->first + wb->nholds;
	for (i = wb->first; i < end;) {
		uint32_t k = i;
		uint32_t ji;
		struct drv_job *j;
		while (k < end && d->wl->holds[k].lane == d->wl->holds[i].lane)
			k++;
		ji = job_new(d);
		j = &d->jobs[ji];
		j->kind = DRV_JOB_LANE;
		j->origin = ORIGIN_BATCH;
		j->idx = b;
		j->pool = pool;
		j->seg = i;
		j->seg_end = k;
		j->state = DRV_JS_GAP;
		st->lanes_left++;
		clock_after(d, now, d->wl->holds[i].gap, DRV_T_LANE_STEP, ji, j->gen);
		i = k;
	}
	if (!st->lanes_left)
		batch_end(d, b, now);
}

static void lane_step(struct driver *d, uint32_t ji, log_usec now)
{
	struct drv_job *j = &d->jobs[ji];
	j->hold = d->wl->holds[j->seg].hold;
	j->seg++;
	job_checkout(d, ji, now);
}

static void drv_lane_step(struct driver *d, uint32_t ji, uint32_t gen, log_usec now)
{
	if (d->jobs[ji].gen != gen || d->jobs[ji].state != DRV_JS_GAP)
		BUG("driver: stale lane step for job %u", ji);
	lane_step(d, ji, now);
}

/* After a checkin or a skipped group: the lane's next checkout, or its end. */
static void lane_next(struct driver *d, uint32_t ji, log_usec now)
{
	struct drv_job *j = &d->jobs[ji];
	uint32_t b = j->idx;
	if (j->seg < j->seg_end && !d->stopping) {
		int64_t gap = d->wl->holds[j->seg].gap;
		j->state = DRV_JS_GAP;
		if (gap <= 0) {
			lane_step(d, ji, now); /* re-checks out right after its checkin */
			return;
		}
		clock_after(d, now, gap, DRV_T_LANE_STEP, ji, j->gen);
		return;
	}
	drv_job_free(d, ji);
	if (--d->bs[b].lanes_left == 0)
		batch_end(d, b, now);
}

/* --- server threads and completion ---------------------------------------------- */

/*
 * Server threads (--threads): a request that finds all of its process's
 * threads busy queues at the server, before the pool, and that time does
 * not count toward the pool timeout (reference 7.6).  A freed thread takes
 * the oldest queued request, whose checkout starts then.
 */
static void thread_release(struct driver *d, uint32_t ji, log_usec now)
{
	struct drv_proc *p = &d->proc[d->jobs[ji].pool / d->nengines];
	d->jobs[ji].threaded = 0;
	p->busy--;
	if (d->releasing)
		return; /* the outer loop below drains the queue */
	d->releasing = true;
	while (p->qn && p->busy < d->cfg->threads && !d->stopping) {
		uint32_t qi = p->q[p->qhead];
		p->qhead = (p->qhead + 1) & (p->qalloc - 1);
		p->qn--;
		p->busy++;
		d->jobs[qi].threaded = 1;
		d->res->server_queued++;
		job_checkout(d, qi, now);
	}
	d->releasing = false;
}

static void job_done(struct driver *d, uint32_t ji, log_usec now)
{
	struct drv_job *j = &d->jobs[ji];
	if (now > d->res->end)
		d->res->end = now;
	if (j->kind == DRV_JOB_API) {
		if (j->origin != ORIGIN_BATCH)
			emit_http(d, now, j, 200);
		if (j->threaded)
			thread_release(d, ji, now);
		drv_job_free(d, ji);
		return;
	}
	lane_next(d, ji, now);
}

static void job_failed(struct driver *d, uint32_t ji, log_usec now)
{
	struct drv_job *j = &d->jobs[ji];
	if (now > d->res->end)
		d->res->end = now;
	if (j->kind == DRV_JOB_API) {
		d->res->requests_failed++;
		if (j->origin != ORIGIN_BATCH)
			emit_http(d, now, j, 500);
		if (j->threaded)
			thread_release(d, ji, now);
		drv_job_free(d, ji);
		return;
	}
	d->bs[j->idx].failed = 1;
	if (d->wl->batch[j->idx].commit == WL_COMMIT_ONCE) {
		/* one transaction: the sub-worker's slice fails as a whole */
		d->res->lanes_aborted++;
		j->seg = j->seg_end;
	} else {
		d->res->groups_skipped++;
	}
	lane_next(d, ji, now);
}

static void drv_arrive(struct driver *d, log_usec now)
{
	const struct wl_request *rq = &d->wl->req[d->ai];
	uint32_t ji = job_new(d);
	struct drv_job *j = &d->jobs[ji];
	int32_t proc;
	j->kind = DRV_JOB_API;
	j->idx = (uint32_t)d->ai;
	j->origin = rq->origin < ORIGIN__COUNT ? rq->origin : ORIGIN_UNKNOWN;
	j->hold = rq->hold;
	j->t_arrival = now;
	if (d->cfg->workers > 0)
		proc = (int32_t)(d->api_rr++ % (uint32_t)d->cfg->workers);
	else
		proc = d->nproc == 1 ? 0 : drv_proc_index(d, rq->pid);
	j->pool = drv_pool_of(d, proc, rq->engine);
	d->res->requests++;
	d->ai++;
	if (d->cfg->threads > 0 && j->origin != ORIGIN_BATCH) {
		struct drv_proc *pr = &d->proc[proc];
		if (pr->busy >= d->cfg->threads) {
			drv_thread_enqueue(d, pr, ji);
			return;
		}
		pr->busy++;
		j->threaded = 1;
	}
	job_checkout(d, ji, now);
}

static void drv_start(struct driver *d)
{
	/* the first of a chain, and every anchored one, start by the clock */
	for (size_t b = 0; b < d->wl->nbatch; b++)
		if (d->bs[b].prev == DRV_NONE || d->wl->batch[b].gap < 0)
			clock_at(d, d->wl->batch[b].start, DRV_T_BATCH_START, (uint32_t)b, 0);
}

#endif
