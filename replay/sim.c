#include "replay/sim.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "core/banned.h"

/*
 * Event-driven simulation over a binary min-heap of timed events.  API
 * arrivals are not put in the heap: they come sorted from the workload and
 * are merged with the heap's top (an arrival runs after every heap event
 * of the same microsecond), so the heap only holds what is in flight (holds,
 * deadlines, connects), a few dozen entries for a pool of 30.
 *
 * A "job" is one caller of the pool: an API request, or one lane (a batch
 * sub-worker) that checks out its holds one after another.  Jobs live in a
 * slot array reused through a free list, so memory follows concurrency,
 * not the length of the workload.
 *
 * Per job the time line is
 *   t_req (checkout called) --wait--> slot/connection obtained
 *     [--connect latency--> connected]  --hold--> checkin
 * wait is what counts toward the pool timeout (reference 1.3); connect,
 * pre-ping and recycle reconnects are hold (reference 7.6).  An API
 * request's latency as emitted (http_request duration) is wait + connect +
 * hold.
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

struct hent {
	uint64_t key; /* (t - t0) << 3 | type */
	uint32_t seq;
	uint32_t job; /* job slot, batch index (BATCH_START) */
	uint32_t gen;
	uint32_t pad;
};

enum job_kind { JOB_API, JOB_LANE };
enum job_state { JS_FREE, JS_WAITING, JS_CONNECTING, JS_HOLDING, JS_GAP, JS_QUEUED };

struct job {
	log_usec t_req;      /* this checkout was asked for */
	log_usec t_arrival;  /* API: the request arrived (latency base) */
	int64_t hold;        /* current hold, usec */
	int64_t extra;       /* connect/pre-ping time added to this hold */
	struct pool_wait wait;
	uint32_t gen;
	uint32_t conn;
	uint32_t idx;        /* request index, or batch index */
	uint32_t seg, seg_end; /* lane: next hold in wl->holds, end of the lane */
	uint16_t pool;
	uint8_t kind;
	uint8_t state;
	uint8_t origin;
	uint8_t late;
	uint8_t failed;
	uint8_t threaded;    /* holds one of its process's server threads */
	uint32_t next_free;
};

/* Per process: server threads (cfg->threads) and the requests queued for one. */
struct proc {
	int32_t busy;
	uint32_t *q;         /* owned: ring of job slots */
	uint32_t qhead, qn, qalloc; /* qalloc: a power of two */
};

struct bstate {
	uint32_t lanes_left;
	uint32_t next;       /* next batch of the same process, UINT32_MAX none */
	uint32_t prev;
	log_usec started;
	uint8_t running, done, pending, failed;
};

struct sim {
	const struct workload *wl;
	const struct sim_config *cfg;
	struct sim_sink sink;
	struct sim_result *res;
	log_usec t0;
	struct hent *heap;
	size_t nheap, heap_alloc;
	uint32_t seq;
	struct job *jobs;
	size_t njobs, jobs_alloc;
	uint32_t job_free;
	struct pool *pools;
	int32_t *pool_pid;   /* pid shown in events for each pool */
	uint8_t *pool_engine;
	int32_t npools, nproc, nengines;
	int32_t *procs;      /* distinct recorded pids (workers == 0), sorted */
	uint32_t api_rr;
	struct bstate *bs;
	int32_t open_total;
	size_t live_jobs;
	uint64_t failures;   /* timeouts + refusals so far */
	struct proc *proc;   /* owned: nproc entries */
	bool releasing;      /* inside thread_release(): no nested draining */
	/* http method/path split of names, for events */
	const char **ev_method, **ev_path;
	struct strtab ev_strings;
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

/* --- jobs ------------------------------------------------------------------ */

static uint32_t job_new(struct sim *s)
{
	uint32_t i;
	if (s->job_free != UINT32_MAX) {
		i = s->job_free;
		s->job_free = s->jobs[i].next_free;
	} else {
		ALLOC_GROW(s->jobs, s->njobs + 1, s->jobs_alloc);
		i = (uint32_t)s->njobs++;
		s->jobs[i].gen = 0;
	}
	s->jobs[i].gen++;
	s->jobs[i].late = 0;
	s->jobs[i].failed = 0;
	s->live_jobs++;
	return i;
}

static void job_free(struct sim *s, uint32_t i)
{
	s->jobs[i].state = JS_FREE;
	s->jobs[i].gen++;
	s->jobs[i].next_free = s->job_free;
	s->job_free = i;
	s->live_jobs--;
}

/* --- events out ------------------------------------------------------------ */

static void emit_base(struct sim *s, struct event *ev, enum event_kind kind, log_usec t,
		      uint16_t pool)
{
	event_init(ev, kind);
	ev->ts = t;
	ev->pid = s->pool_pid[pool];
	ev->pool = s->pool_engine[pool];
	ev->flags = EVENT_F_SIMULATED;
}

static void emit_conn(struct sim *s, enum event_kind kind, log_usec t, const struct job *j,
		      uint32_t conn, const char *text2)
{
	struct event ev;
	char name[32];
	if (!s->sink.emit)
		return;
	emit_base(s, &ev, kind, t, j->pool);
	snprintf(name, sizeof(name), "p%u.c%u", (unsigned)j->pool, (unsigned)conn);
	ev.conn = name;
	ev.origin = j->origin;
	ev.text2 = text2;
	if (kind == EVENT_POOL_CHECKOUT && j->late)
		ev.flags |= EVENT_F_LATE_OK;
	s->sink.emit(s->sink.data, &ev);
}

static void emit_timeout(struct sim *s, log_usec t, const struct job *j)
{
	struct event ev;
	const struct pool_config *pc = &s->pools[j->pool].cfg;
	if (!s->sink.emit)
		return;
	emit_base(s, &ev, EVENT_POOL_TIMEOUT, t, j->pool);
	ev.origin = j->origin;
	ev.text = "QueuePool";
	ev.u.timeout.pool_size = pc->pool_size;
	ev.u.timeout.max_overflow = pc->max_overflow;
	ev.u.timeout.timeout_usec = pc->timeout_usec;
	s->sink.emit(s->sink.data, &ev);
}

static void emit_refusal(struct sim *s, log_usec t, const struct job *j)
{
	struct event ev;
	if (!s->sink.emit)
		return;
	emit_base(s, &ev, EVENT_PG_TOO_MANY_CLIENTS, t, j->pool);
	ev.origin = j->origin;
	ev.text = "sorry, too many clients already";
	ev.u.pg.sqlstate = event_sqlstate_pack("53300");
	s->sink.emit(s->sink.data, &ev);
}

static void emit_http(struct sim *s, log_usec t, const struct job *j, int status)
{
	struct event ev;
	uint32_t name;
	if (!s->sink.emit)
		return;
	name = s->wl->req[j->idx].name;
	emit_base(s, &ev, EVENT_HTTP_REQUEST, j->t_arrival, j->pool);
	ev.origin = ORIGIN_API;
	ev.dur = t - j->t_arrival;
	ev.text = s->ev_path[name];
	ev.text2 = s->ev_method[name];
	ev.u.http.status = status;
	s->sink.emit(s->sink.data, &ev);
}

static void emit_batch(struct sim *s, enum event_kind kind, log_usec t, uint32_t b, uint16_t pool)
{
	const struct wl_batch *wb = &s->wl->batch[b];
	struct event ev;
	if (!s->sink.emit)
		return;
	emit_base(s, &ev, kind, t, pool);
	ev.origin = ORIGIN_BATCH;
	ev.text = workload_name_str(s->wl, wb->name);
	ev.u.batch.entries = wb->entries;
	ev.u.batch.connections = wb->lanes;
	if (kind == EVENT_BATCH_END) {
		ev.dur = t - s->bs[b].started;
		ev.u.batch.processed = s->bs[b].failed ? -1 : wb->entries;
		ev.u.batch.commits = wb->commit == WL_COMMIT_GROUP ? (int32_t)wb->nholds : wb->lanes;
	}
	s->sink.emit(s->sink.data, &ev);
}

static void emit_stats(struct sim *s, log_usec t)
{
	for (int32_t i = 0; i < s->npools; i++) {
		struct event ev;
		const struct pool *p = &s->pools[i];
		emit_base(s, &ev, EVENT_POOL_STATS, t, (uint16_t)i);
		ev.text = "status";
		ev.u.stats.pool_size = p->cfg.pool_size;
		ev.u.stats.checked_in = pool_idle(p);
		ev.u.stats.checked_out = p->checked_out;
		ev.u.stats.overflow = p->overflow;
		ev.u.stats.waiting = p->waiters;
		s->sink.emit(s->sink.data, &ev);
	}
}

/* --- statistics -------------------------------------------------------------- */

static void note_wait(struct sim *s, struct job *j, log_usec now)
{
	struct sim_origin *o = &s->res->origin[j->origin];
	int64_t w = now - j->t_req;
	if (w == 0) {
		o->waits.zero++;
		return;
	}
	o->waited++;
	if (s->cfg->keep_waits)
		sample_add(&o->waits.nonzero, w);
	else
		o->waits.zero++; /* keeps the count right; percentiles not wanted */
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

static void merge_origins(struct sim_result *r)
{
	struct sim_origin *a = &r->all;
	size_t n = 0;
	for (int i = 0; i < ORIGIN__COUNT; i++) {
		const struct sim_origin *o = &r->origin[i];
		a->attempts += o->attempts;
		a->checkouts += o->checkouts;
		a->waited += o->waited;
		a->timeouts += o->timeouts;
		a->refusals += o->refusals;
		a->late += o->late;
		a->waits.zero += o->waits.zero;
		n += o->waits.nonzero.nr;
	}
	if (!n)
		return;
	a->waits.nonzero.v = xmalloc(n * sizeof(int64_t));
	a->waits.nonzero.alloc = n;
	a->waits.nonzero.sorted = 0;
	for (int i = 0; i < ORIGIN__COUNT; i++) {
		const struct sample *s = &r->origin[i].waits.nonzero;
		if (s->nr)
			memcpy(a->waits.nonzero.v + a->waits.nonzero.nr, s->v, s->nr * sizeof(int64_t));
		a->waits.nonzero.nr += s->nr;
	}
}

/* --- the job life cycle ------------------------------------------------------- */

static void note_timeout(struct sim *s, struct job *j, log_usec now)
{
	s->res->origin[j->origin].timeouts++;
	s->failures++;
	if (s->res->first_timeout == LOG_USEC_NONE)
		s->res->first_timeout = now;
	s->res->last_timeout = now;
	emit_timeout(s, now, j);
}

static void job_done(struct sim *s, uint32_t ji, log_usec now);
static void job_failed(struct sim *s, uint32_t ji, log_usec now);
static void lane_next(struct sim *s, uint32_t ji, log_usec now);

/* The job holds conn from `now`; extra is connect/pre-ping time in the hold. */
static void job_hold(struct sim *s, uint32_t ji, log_usec now, uint32_t conn, int64_t extra)
{
	struct job *j = &s->jobs[ji];
	j->conn = conn;
	j->state = JS_HOLDING;
	j->extra = extra;
	s->res->origin[j->origin].checkouts++;
	emit_conn(s, EVENT_POOL_CHECKOUT, now, j, conn, NULL);
	heap_push(s, now + extra + j->hold, EV_HOLD_END, ji, j->gen);
}

static void job_connect(struct sim *s, uint32_t ji, log_usec now, uint32_t conn)
{
	struct job *j = &s->jobs[ji];
	struct pool *p = &s->pools[j->pool];
	if (s->cfg->max_connections > 0 && s->open_total >= s->cfg->max_connections) {
		/* PostgreSQL refuses the backend: the pool gives the slot back */
		pool_connect_failed(p, now, conn);
		s->res->origin[j->origin].refusals++;
		s->failures++;
		emit_refusal(s, now, j);
		job_failed(s, ji, now);
		return;
	}
	s->open_total++;
	if (s->open_total > s->res->peak_open_total)
		s->res->peak_open_total = s->open_total;
	j->conn = conn;
	if (p->cfg.connect_usec > 0) {
		j->state = JS_CONNECTING;
		heap_push(s, now + p->cfg.connect_usec, EV_CONNECT_DONE, ji, j->gen);
		return;
	}
	pool_connect_done(p, now, conn);
	emit_conn(s, EVENT_POOL_CONNECT, now, j, conn, NULL);
	job_hold(s, ji, now, conn, 0);
}

/* A pooled record was obtained (idle, handed over or after a wake-up). */
static void job_got_pooled(struct sim *s, uint32_t ji, log_usec now, const struct pool_result *r)
{
	const struct pool_config *pc = &s->pools[s->jobs[ji].pool].cfg;
	int64_t extra = pc->preping_usec;
	if (r->recycled) {
		/* hard-close and reconnect inside this checkout (reference 1.7) */
		emit_conn(s, EVENT_POOL_CLOSE, now, &s->jobs[ji], r->conn, "hard");
		extra += pc->connect_usec;
	}
	job_hold(s, ji, now, r->conn, extra);
}

static void job_checkout(struct sim *s, uint32_t ji, log_usec now)
{
	struct job *j = &s->jobs[ji];
	struct pool_result r;
	j->t_req = now;
	j->late = 0;
	s->res->origin[j->origin].attempts++;
	pool_checkout(&s->pools[j->pool], now, ji, &r);
	switch (r.outcome) {
	case POOL_GOT_IDLE:
		s->res->origin[j->origin].waits.zero++;
		job_got_pooled(s, ji, now, &r);
		break;
	case POOL_MUST_CONNECT:
		s->res->origin[j->origin].waits.zero++;
		job_connect(s, ji, now, r.conn);
		break;
	case POOL_MUST_WAIT:
		j->state = JS_WAITING;
		j->gen++;
		j->wait = r.wait;
		heap_push(s, r.deadline, EV_DEADLINE, ji, j->gen);
		break;
	case POOL_TIMEOUT:
		s->res->origin[j->origin].waits.zero++;
		note_timeout(s, j, now);
		job_failed(s, ji, now);
		break;
	default:
		BUG("sim: checkout gave %s", pool_outcome_name(r.outcome));
	}
}

static void on_hold_end(struct sim *s, uint32_t ji, log_usec now)
{
	struct job *j = &s->jobs[ji];
	struct pool_result r;
	emit_conn(s, EVENT_POOL_CHECKIN, now, j, j->conn, NULL);
	pool_checkin(&s->pools[j->pool], now, j->conn, &r);
	switch (r.outcome) {
	case POOL_QUEUED:
		break;
	case POOL_CLOSED:
		s->open_total--;
		emit_conn(s, EVENT_POOL_CLOSE, now, j, r.conn, NULL);
		break;
	case POOL_HANDED: {
		uint32_t wi = (uint32_t)r.waiter_id;
		struct job *w = &s->jobs[wi];
		if (w->state != JS_WAITING)
			BUG("sim: handed to job %u in state %d", wi, w->state);
		note_wait(s, w, now);
		w->gen++; /* its deadline event is now stale */
		job_got_pooled(s, wi, now, &r);
		break;
	}
	case POOL_QUEUED_NOTIFY: {
		uint32_t wi = (uint32_t)r.waiter_id;
		heap_push(s, now + s->pools[j->pool].cfg.wake_lag_usec, EV_WAKEUP, wi,
			  s->jobs[wi].gen);
		break;
	}
	default:
		BUG("sim: checkin gave %s", pool_outcome_name(r.outcome));
	}
	job_done(s, ji, now);
}

static void on_deadline(struct sim *s, uint32_t ji, log_usec now)
{
	struct job *j = &s->jobs[ji];
	struct pool_result r;
	pool_deadline(&s->pools[j->pool], now, j->wait, &r);
	switch (r.outcome) {
	case POOL_STALE:
		BUG("sim: deadline of job %u stale in the pool", ji);
	case POOL_GOT_IDLE:
		note_wait(s, j, now);
		j->gen++;
		job_got_pooled(s, ji, now, &r);
		break;
	case POOL_CONNECT_LATE:
		note_wait(s, j, now);
		j->gen++;
		j->late = 1;
		s->res->origin[j->origin].late++;
		job_connect(s, ji, now, r.conn);
		break;
	case POOL_TIMEOUT:
		note_wait(s, j, now);
		j->gen++;
		note_timeout(s, j, now);
		job_failed(s, ji, now);
		break;
	default:
		BUG("sim: deadline gave %s", pool_outcome_name(r.outcome));
	}
}

static void on_wakeup(struct sim *s, uint32_t ji, log_usec now)
{
	struct job *j = &s->jobs[ji];
	struct pool_result r;
	pool_wakeup(&s->pools[j->pool], now, j->wait, &r);
	switch (r.outcome) {
	case POOL_STALE:
		break;
	case POOL_GOT_IDLE:
		note_wait(s, j, now);
		j->gen++;
		job_got_pooled(s, ji, now, &r);
		break;
	case POOL_MUST_WAIT:
		break; /* robbed: back in line, same deadline event */
	default:
		BUG("sim: wakeup gave %s", pool_outcome_name(r.outcome));
	}
}

/* --- batches ------------------------------------------------------------------ */

static uint16_t batch_pool(const struct sim *s, uint32_t b);

static void batch_end(struct sim *s, uint32_t b, log_usec now)
{
	struct bstate *st = &s->bs[b];
	st->running = 0;
	st->done = 1;
	s->res->batches++;
	if (st->failed)
		s->res->batches_failed++;
	emit_batch(s, EVENT_BATCH_END, now, b, batch_pool(s, b));
	if (st->next != UINT32_MAX) {
		uint32_t n = st->next;
		const struct wl_batch *nb = &s->wl->batch[n];
		if (nb->gap >= 0)
			heap_push(s, now + nb->gap, EV_BATCH_START, n, 0);
		else if (s->bs[n].pending)
			heap_push(s, now, EV_BATCH_START, n, 0);
	}
}

static void batch_start(struct sim *s, uint32_t b, log_usec now)
{
	const struct wl_batch *wb = &s->wl->batch[b];
	struct bstate *st = &s->bs[b];
	uint16_t pool = batch_pool(s, b);
	uint32_t i, end;
	if (st->running || st->done)
		return;
	if (st->prev != UINT32_MAX && !s->bs[st->prev].done) {
		st->pending = 1; /* the worker is still busy with the one before */
		return;
	}
	st->pending = 0;
	st->running = 1;
	st->started = now;
	st->lanes_left = 0;
	emit_batch(s, EVENT_BATCH_START, now, b, pool);
	end = wb->first + wb->nholds;
	for (i = wb->first; i < end;) {
		uint32_t k = i;
		uint32_t ji;
		struct job *j;
		while (k < end && s->wl->holds[k].lane == s->wl->holds[i].lane)
			k++;
		ji = job_new(s);
		j = &s->jobs[ji];
		j->kind = JOB_LANE;
		j->origin = ORIGIN_BATCH;
		j->idx = b;
		j->pool = pool;
		j->seg = i;
		j->seg_end = k;
		j->state = JS_GAP;
		st->lanes_left++;
		heap_push(s, now + s->wl->holds[i].gap, EV_LANE_STEP, ji, j->gen);
		i = k;
	}
	if (!st->lanes_left)
		batch_end(s, b, now);
}

static void lane_step(struct sim *s, uint32_t ji, log_usec now)
{
	struct job *j = &s->jobs[ji];
	j->hold = s->wl->holds[j->seg].hold;
	j->seg++;
	job_checkout(s, ji, now);
}

/* After a checkin or a skipped group: the lane's next checkout, or its end. */
static void lane_next(struct sim *s, uint32_t ji, log_usec now)
{
	struct job *j = &s->jobs[ji];
	uint32_t b = j->idx;
	if (j->seg < j->seg_end) {
		int64_t gap = s->wl->holds[j->seg].gap;
		j->state = JS_GAP;
		if (gap <= 0) {
			lane_step(s, ji, now); /* re-checks out right after its checkin */
			return;
		}
		heap_push(s, now + gap, EV_LANE_STEP, ji, j->gen);
		return;
	}
	job_free(s, ji);
	if (--s->bs[b].lanes_left == 0)
		batch_end(s, b, now);
}

/* --- completion ---------------------------------------------------------------- */

/*
 * Server threads (--threads): a request that finds all of its process's
 * threads busy queues at the server, before the pool, and that time does
 * not count toward the pool timeout (reference 7.6).  A freed thread takes
 * the oldest queued request, whose checkout starts then.
 */
static void thread_release(struct sim *s, uint32_t ji, log_usec now)
{
	struct proc *p = &s->proc[s->jobs[ji].pool / s->nengines];
	s->jobs[ji].threaded = 0;
	p->busy--;
	if (s->releasing)
		return; /* the outer loop below drains the queue */
	s->releasing = true;
	while (p->qn && p->busy < s->cfg->threads) {
		uint32_t qi = p->q[p->qhead];
		p->qhead = (p->qhead + 1) & (p->qalloc - 1);
		p->qn--;
		p->busy++;
		s->jobs[qi].threaded = 1;
		s->res->server_queued++;
		job_checkout(s, qi, now);
	}
	s->releasing = false;
}

static void thread_enqueue(struct sim *s, struct proc *p, uint32_t ji)
{
	if (p->qn == p->qalloc) {
		uint32_t na = p->qalloc ? p->qalloc * 2 : 64;
		uint32_t *n = xmalloc(na * sizeof(*n));
		for (uint32_t i = 0; i < p->qn; i++)
			n[i] = p->q[(p->qhead + i) & (p->qalloc - 1)];
		free(p->q);
		p->q = n;
		p->qalloc = na;
		p->qhead = 0;
	}
	p->q[(p->qhead + p->qn) & (p->qalloc - 1)] = ji;
	p->qn++;
	s->jobs[ji].state = JS_QUEUED;
	if ((int32_t)p->qn > s->res->peak_server_queue)
		s->res->peak_server_queue = (int32_t)p->qn;
}

static void job_done(struct sim *s, uint32_t ji, log_usec now)
{
	struct job *j = &s->jobs[ji];
	if (now > s->res->end)
		s->res->end = now;
	if (j->kind == JOB_API) {
		if (j->origin != ORIGIN_BATCH)
			emit_http(s, now, j, 200);
		if (j->threaded)
			thread_release(s, ji, now);
		job_free(s, ji);
		return;
	}
	lane_next(s, ji, now);
}

static void job_failed(struct sim *s, uint32_t ji, log_usec now)
{
	struct job *j = &s->jobs[ji];
	if (now > s->res->end)
		s->res->end = now;
	if (j->kind == JOB_API) {
		s->res->requests_failed++;
		if (j->origin != ORIGIN_BATCH)
			emit_http(s, now, j, 500);
		if (j->threaded)
			thread_release(s, ji, now);
		job_free(s, ji);
		return;
	}
	s->bs[j->idx].failed = 1;
	if (s->wl->batch[j->idx].commit == WL_COMMIT_ONCE) {
		/* one transaction: the sub-worker's slice fails as a whole */
		s->res->lanes_aborted++;
		j->seg = j->seg_end;
	} else {
		s->res->groups_skipped++;
	}
	lane_next(s, ji, now);
}

/* --- set-up -------------------------------------------------------------------- */

static int32_t proc_index(const struct sim *s, int32_t pid)
{
	int32_t lo = 0, hi = s->nproc - 1;
	while (lo <= hi) {
		int32_t mid = (lo + hi) / 2;
		if (s->procs[mid] == pid)
			return mid;
		if (s->procs[mid] < pid)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	BUG("sim: pid %d not mapped", pid);
}

static uint16_t pool_of(const struct sim *s, int32_t proc, uint8_t engine)
{
	return (uint16_t)(proc * s->nengines + engine);
}

static uint16_t batch_pool(const struct sim *s, uint32_t b)
{
	const struct wl_batch *wb = &s->wl->batch[b];
	int32_t proc = s->cfg->workers > 0 ? 0 : proc_index(s, wb->pid);
	return pool_of(s, proc, wb->engine);
}

static void map_processes(struct sim *s)
{
	const struct workload *wl = s->wl;
	int32_t maxeng = 0;
	size_t n = 0;
	for (size_t i = 0; i < wl->nreq; i++)
		if (wl->req[i].engine > maxeng)
			maxeng = wl->req[i].engine;
	for (size_t i = 0; i < wl->nbatch; i++)
		if (wl->batch[i].engine > maxeng)
			maxeng = wl->batch[i].engine;
	s->nengines = maxeng + 1;
	if (s->cfg->workers > 0) {
		s->nproc = s->cfg->workers;
		s->procs = NULL;
		return;
	}
	/* distinct pids, sorted: few, and runs of one pid are long, so a
	 * last-seen check and an insertion into a small sorted array suffice */
	{
		size_t alloc = 0;
		int32_t last = 0;
		bool have_last = false;
		s->procs = NULL;
		for (size_t i = 0; i < wl->nreq + wl->nbatch; i++) {
			int32_t pid = i < wl->nreq ? wl->req[i].pid : wl->batch[i - wl->nreq].pid;
			size_t lo = 0, hi = n;
			if (have_last && pid == last)
				continue;
			last = pid;
			have_last = true;
			while (lo < hi) {
				size_t mid = (lo + hi) / 2;
				if (s->procs[mid] < pid)
					lo = mid + 1;
				else
					hi = mid;
			}
			if (lo < n && s->procs[lo] == pid)
				continue;
			ALLOC_GROW(s->procs, n + 1, alloc);
			memmove(s->procs + lo + 1, s->procs + lo, (n - lo) * sizeof(*s->procs));
			s->procs[lo] = pid;
			n++;
		}
		if (!n) {
			ALLOC_GROW(s->procs, 1, alloc);
			s->procs[n++] = 0;
		}
	}
	s->nproc = (int32_t)n;
}

/* "GET /api/v1/health" -> method "GET", path "/api/v1/health". */
static void split_names(struct sim *s)
{
	const struct workload *wl = s->wl;
	s->ev_method = xcalloc(wl->nnames + 1, sizeof(*s->ev_method));
	s->ev_path = xcalloc(wl->nnames + 1, sizeof(*s->ev_path));
	strtab_init(&s->ev_strings);
	for (size_t i = 0; i < wl->nnames; i++) {
		const char *n = wl->names[i], *sp = strchr(n, ' ');
		size_t k = 0;
		if (sp) {
			for (k = 0; n + k < sp && n[k] >= 'A' && n[k] <= 'Z'; k++)
				;
		}
		if (sp && n + k == sp && k > 0) {
			s->ev_method[i] = strtab_intern(&s->ev_strings, n, k);
			s->ev_path[i] = sp + 1;
		} else {
			s->ev_path[i] = *n ? n : NULL;
		}
	}
}

int sim_run(const struct workload *wl, const struct sim_config *cfg, struct sim_sink sink,
	    struct sim_result *res)
{
	struct sim s;
	size_t ai = 0;
	uint64_t nev = 0;
	uint32_t *last_in_proc;

	memset(&s, 0, sizeof(s));
	memset(res, 0, sizeof(*res));
	for (int i = 0; i < ORIGIN__COUNT; i++)
		res->origin[i].waits.nonzero = (struct sample)SAMPLE_INIT;
	res->all.waits.nonzero = (struct sample)SAMPLE_INIT;
	res->first_timeout = res->last_timeout = LOG_USEC_NONE;
	s.wl = wl;
	s.cfg = cfg;
	s.sink = sink;
	s.res = res;
	s.job_free = UINT32_MAX;
	s.t0 = workload_start(wl);
	if (s.t0 == LOG_USEC_NONE)
		s.t0 = 0;
	res->start = res->end = s.t0;

	map_processes(&s);
	s.npools = s.nproc * s.nengines;
	if (s.npools > UINT16_MAX)
		BUG("sim: %d pools", s.npools);
	res->npools = s.npools;
	s.pools = xcalloc((size_t)s.npools, sizeof(*s.pools));
	s.proc = xcalloc((size_t)s.nproc, sizeof(*s.proc));
	s.pool_pid = xcalloc((size_t)s.npools, sizeof(*s.pool_pid));
	s.pool_engine = xcalloc((size_t)s.npools, sizeof(*s.pool_engine));
	for (int32_t p = 0; p < s.npools; p++) {
		int32_t proc = p / s.nengines;
		pool_init(&s.pools[p], &cfg->pool);
		s.pool_pid[p] = cfg->workers > 0 ? proc + 1 : s.procs[proc];
		s.pool_engine[p] = (uint8_t)(p % s.nengines);
	}
	if (sink.emit)
		split_names(&s);

	/* batch chains: one sequential worker per process */
	s.bs = xcalloc(wl->nbatch + 1, sizeof(*s.bs));
	last_in_proc = xmalloc(((size_t)s.nproc + 1) * sizeof(*last_in_proc));
	for (int32_t p = 0; p < s.nproc; p++)
		last_in_proc[p] = UINT32_MAX;
	for (size_t b = 0; b < wl->nbatch; b++) {
		int32_t proc = cfg->workers > 0 ? 0 : proc_index(&s, wl->batch[b].pid);
		s.bs[b].prev = last_in_proc[proc];
		s.bs[b].next = UINT32_MAX;
		if (last_in_proc[proc] != UINT32_MAX)
			s.bs[last_in_proc[proc]].next = (uint32_t)b;
		last_in_proc[proc] = (uint32_t)b;
		/* the first of a chain, and every anchored one, start by the clock */
		if (s.bs[b].prev == UINT32_MAX || wl->batch[b].gap < 0)
			heap_push(&s, wl->batch[b].start, EV_BATCH_START, (uint32_t)b, 0);
	}
	free(last_in_proc);
	if (sink.emit && cfg->stats_every_usec > 0)
		heap_push(&s, s.t0, EV_STATS, 0, 0);

	for (;;) {
		log_usec now;
		struct hent e;
		bool arrival = false;
		if (ai < wl->nreq) {
			uint64_t akey = ((uint64_t)(wl->req[ai].t - s.t0) << 3) | EV_ARRIVAL;
			arrival = !s.nheap || akey < s.heap[0].key;
		} else if (!s.nheap) {
			break;
		}
		nev++;
		if (s.failures && cfg->stop_at_failure) {
			res->stopped = true;
			break;
		}
		if (arrival) {
			const struct wl_request *rq = &wl->req[ai];
			uint32_t ji = job_new(&s);
			struct job *j = &s.jobs[ji];
			int32_t proc;
			now = rq->t;
			j->kind = JOB_API;
			j->idx = (uint32_t)ai;
			j->origin = rq->origin < ORIGIN__COUNT ? rq->origin : ORIGIN_UNKNOWN;
			j->hold = rq->hold;
			j->t_arrival = now;
			if (cfg->workers > 0)
				proc = (int32_t)(s.api_rr++ % (uint32_t)cfg->workers);
			else
				proc = s.nproc == 1 ? 0 : proc_index(&s, rq->pid);
			j->pool = pool_of(&s, proc, rq->engine);
			j->threaded = 0;
			res->requests++;
			ai++;
			if (cfg->threads > 0 && j->origin != ORIGIN_BATCH) {
				struct proc *pr = &s.proc[proc];
				if (pr->busy >= cfg->threads) {
					thread_enqueue(&s, pr, ji);
					continue;
				}
				pr->busy++;
				j->threaded = 1;
			}
			job_checkout(&s, ji, now);
			continue;
		}
		e = heap_pop(&s);
		now = key_time(&s, e.key);
		switch ((enum ev_type)(e.key & 7)) {
		case EV_CONNECT_DONE: {
			struct job *j = &s.jobs[e.job];
			if (j->gen != e.gen || j->state != JS_CONNECTING)
				BUG("sim: stale connect for job %u", e.job);
			pool_connect_done(&s.pools[j->pool], now, j->conn);
			emit_conn(&s, EVENT_POOL_CONNECT, now, j, j->conn, NULL);
			job_hold(&s, e.job, now, j->conn, 0);
			break;
		}
		case EV_HOLD_END:
			if (s.jobs[e.job].gen != e.gen || s.jobs[e.job].state != JS_HOLDING)
				BUG("sim: stale hold end for job %u", e.job);
			on_hold_end(&s, e.job, now);
			break;
		case EV_WAKEUP:
			if (s.jobs[e.job].gen == e.gen && s.jobs[e.job].state == JS_WAITING)
				on_wakeup(&s, e.job, now);
			break;
		case EV_DEADLINE:
			if (s.jobs[e.job].gen == e.gen && s.jobs[e.job].state == JS_WAITING)
				on_deadline(&s, e.job, now);
			break;
		case EV_LANE_STEP:
			if (s.jobs[e.job].gen != e.gen || s.jobs[e.job].state != JS_GAP)
				BUG("sim: stale lane step for job %u", e.job);
			lane_step(&s, e.job, now);
			break;
		case EV_BATCH_START:
			batch_start(&s, e.job, now);
			break;
		case EV_STATS:
			emit_stats(&s, now);
			if (s.nheap || ai < wl->nreq)
				heap_push(&s, now + cfg->stats_every_usec, EV_STATS, 0, 0);
			break;
		case EV_ARRIVAL:
			BUG("sim: arrival in the heap");
		}
	}
	res->sim_events = nev;
	if (s.live_jobs && !res->stopped)
		BUG("sim: %zu jobs left at the end", s.live_jobs);

	for (int32_t p = 0; p < s.npools; p++) {
		const struct pool_counters *c = &s.pools[p].c;
		res->checkouts += c->checkouts;
		res->timeouts += c->timeouts;
		res->late += c->late;
		res->connects += c->connects;
		res->closes += c->closes;
		res->handoffs += c->handoffs;
		res->refusals += c->connect_failures;
		if (c->peak_checked_out > res->peak_checked_out)
			res->peak_checked_out = c->peak_checked_out;
		if (p == 0 || c->peak_overflow > res->peak_overflow)
			res->peak_overflow = c->peak_overflow;
		if (c->peak_waiters > res->peak_waiters)
			res->peak_waiters = c->peak_waiters;
		pool_release(&s.pools[p]);
	}
	merge_origins(res);
	for (int32_t p = 0; p < s.nproc; p++)
		free(s.proc[p].q);
	free(s.proc);
	free(s.pools);
	free(s.pool_pid);
	free(s.pool_engine);
	free(s.procs);
	free(s.heap);
	free(s.jobs);
	free(s.bs);
	if (sink.emit) {
		free(s.ev_method);
		free(s.ev_path);
		strtab_release(&s.ev_strings);
	}
	return 0;
}
