#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "core/strbuf.h"
#include "replay/live.h"
#include "replay/live_pq.h"
#include "core/banned.h"

/*
 * The live replay driver.  It drives the workload exactly as replay/sim.c
 * does -- the same jobs (an API request: one checkout; a batch lane: its
 * checkouts one after another, separated by the recorded gaps), batches
 * chained per process, the same request-to-pool mapping and the same wait
 * and failure accounting -- but every "hold" is a real transaction on a
 * real connection and time is the real clock.  The functions below keep
 * sim.c's names (job_checkout, job_hold, on_hold_end, lane_next, ...) so
 * the two can be read side by side; a change to how the model drives a
 * workload must be made in both (NEEDSWORK: one shared driver, generic over
 * the clock, would remove that duty).
 *
 * pool.c decides everything about the pool; this file only carries its
 * decisions out with libpq and tells it when they are done.  Every call
 * into pool.c gets vnow (the real clock on the log's time line, live.h).
 *
 * Objects:
 *   struct job    one caller of the pool in flight (the sim's job); a free
 *                 list recycles them, so memory follows concurrency.
 *   struct pconn  one connection id of one pool (pool.c's small integers)
 *                 and the libpq connection behind it.
 *   struct bstate one batch: chain links and the timer that starts it.
 *   struct run    the rest: pools, loop, schedule, monitor.
 */

#define MONITOR_APP_NAME "poolscope-monitor"

enum timer_kind {
	T_ARRIVAL = 1,  /* owner run: the next API request is due */
	T_DEADLINE,     /* owner job: its pool timeout */
	T_WAKEUP,       /* owner job: barging, a notified waiter runs */
	T_HOLD_END,     /* owner job: an idle-transaction hold is over */
	T_LANE_STEP,    /* owner job: a lane's gap is over, next checkout */
	T_BATCH_START,  /* owner bstate */
	T_MONITOR,      /* owner run: poll pg_stat_activity */
	T_STATS,        /* owner run: pool_stats events */
	T_DRAIN         /* owner run: stop waiting for ROLLBACKs */
};

enum job_kind { JOB_API, JOB_LANE };
enum job_state { JS_FREE, JS_WAITING, JS_CONNECTING, JS_HOLDING, JS_GAP, JS_QUEUED };

struct pconn;

struct job {
	uint8_t kind, state, origin;
	bool late;
	bool threaded;              /* holds one of its process's server threads */
	log_usec t_req;             /* this checkout was asked for (vnow) */
	log_usec t_arrival;         /* API: the request arrived (latency base) */
	int64_t hold;               /* current hold, usec on the log's time line */
	struct pool_wait wait;      /* while WAITING */
	uint32_t idx;               /* request index, or batch index */
	uint32_t seg, seg_end;      /* lane: next hold in wl->holds, end of the lane */
	uint16_t pool;
	struct live_timer deadline; /* T_DEADLINE */
	struct live_timer wakeup;   /* T_WAKEUP */
	struct live_timer timer;    /* T_HOLD_END or T_LANE_STEP */
	struct pconn *pc;           /* borrowed: its connection while CONNECTING/HOLDING */
	struct job *next_free;      /* free list; also the server-thread queue (QUEUED) */
};

/* Per process: server threads (model.threads) and the FIFO of requests
 * queued for one (sim.c's struct proc). */
struct proc {
	int32_t busy;
	struct job *qhead, *qtail;  /* borrowed, linked through next_free */
	int32_t qn;
};

enum phase {
	PH_NONE = 0, /* idle in the pool, or closed */
	PH_CONNECT,  /* connecting for a checkout */
	PH_BEGIN,    /* BEGIN READ ONLY (with pg_sleep) in flight */
	PH_TXN,      /* transaction open, waiting for the hold to end */
	PH_END,      /* ROLLBACK/COMMIT in flight; checkin when done */
	PH_ABORT     /* the run is ending: ROLLBACK in flight, then close */
};

struct run;

struct pconn {
	struct live_conn lc;   /* lc.owner == this */
	struct run *run;       /* borrowed */
	struct job *job;       /* borrowed: who uses it, NULL if idle in the pool */
	uint16_t pool;
	uint32_t id;
	enum phase phase;
	bool end_due;          /* the hold ended while BEGIN was in flight */
	bool reconnect;        /* PH_CONNECT of a record pool.c counts as out (recycle) */
};

struct bstate {
	struct live_timer start; /* T_BATCH_START */
	uint32_t idx;
	uint32_t lanes_left;
	uint32_t next, prev;     /* same-process chain, UINT32_MAX none */
	log_usec started;
	uint8_t running, done, pending, failed;
};

struct run {
	const struct workload *wl;
	const struct live_opts *o;
	struct live_result *r;
	struct sim_result *res;  /* &r->sim */
	/* pools, as sim.c maps them */
	struct pool *pools;      /* owned */
	int32_t *pool_pid;       /* owned: pid shown in events */
	uint8_t *pool_engine;    /* owned */
	int32_t npools, nproc, nengines;
	int32_t *procs;          /* owned: distinct recorded pids (workers == 0) */
	uint32_t api_rr;
	struct proc *proc;       /* owned: nproc entries */
	bool releasing;          /* inside thread_release(): no nested draining */
	struct pconn ***pc;      /* owned: per pool, pointers by connection id */
	size_t *pc_alloc;        /* owned: per pool */
	struct bstate *bs;       /* owned: per batch */
	/* jobs */
	struct job *free_jobs;   /* owned list */
	struct job **all_jobs;   /* owned: every job allocated */
	size_t njobs, jobs_alloc;
	size_t live_jobs;
	int32_t open_total;      /* pconns with a libpq connection */
	/* http events */
	const char **ev_method, **ev_path; /* owned arrays; strings in ev_strings or wl */
	struct strtab ev_strings;
	/* the loop */
	struct live_loop loop;
	struct live_dsn dsn, mon_dsn;
	struct live_conn monitor;
	struct live_timer arrival, mon_timer, stats_timer, drain_timer;
	size_t ai;               /* next API request */
	mono_usec start;
	log_usec t0;
	bool stopping;           /* no more starts: interrupted, server gone, failed */
	bool drained;
	bool lag_warned;
	char monitor_sql[160];
};

/* ---- time ------------------------------------------------------------ */

static log_usec vnow(const struct run *run)
{
	double dt = (double)(mono_now() - run->start) * run->o->speed;
	return run->t0 + (log_usec)llround(dt);
}

static mono_usec mono_due(const struct run *run, log_usec t)
{
	double dt = (double)(t - run->t0) / run->o->speed;
	return run->start + (mono_usec)llround(dt);
}

/* A duration on the log's time line as real microseconds. */
static int64_t real_usec(const struct run *run, int64_t log_dur)
{
	return (int64_t)llround((double)log_dur / run->o->speed);
}

static void note_lag(struct run *run, mono_usec due)
{
	int64_t lag = mono_now() - due;
	if (lag < 0)
		lag = 0;
	sample_add(&run->r->lag_usec, lag);
	if (lag > run->o->lag_warn_usec && !run->lag_warned) {
		run->lag_warned = true;
		if (!run->o->quiet)
			warning("the live replay is %.0f ms behind its schedule (--speed %g); "
				"see lag_s in the result", (double)lag / 1000.0, run->o->speed);
	}
}

/* ---- options, results ------------------------------------------------- */

void live_opts_init(struct live_opts *o)
{
	memset(o, 0, sizeof(*o));
	sim_config_init(&o->model);
	o->speed = 1.0;
	o->application_name = "poolscope-replay";
	o->hold_mode = LIVE_HOLD_IDLE;
	o->lag_warn_usec = 100 * 1000;
	o->monitor_usec = 100 * 1000;
	o->drain_usec = 2 * USEC_PER_SEC;
}

void live_result_init(struct live_result *r)
{
	memset(r, 0, sizeof(*r));
	for (int i = 0; i < ORIGIN__COUNT; i++)
		r->sim.origin[i].waits.nonzero = (struct sample)SAMPLE_INIT;
	r->sim.all.waits.nonzero = (struct sample)SAMPLE_INIT;
	r->sim.first_timeout = r->sim.last_timeout = LOG_USEC_NONE;
	r->lag_usec = (struct sample)SAMPLE_INIT;
	r->peak_backends = -1;
	r->max_connections = -1;
	r->reserved_connections = -1;
	r->speed = 1.0;
}

void live_result_release(struct live_result *r)
{
	sim_result_release(&r->sim);
	sample_clear(&r->lag_usec);
	free(r->errors);
	r->errors = NULL;
	r->nerrors = r->errors_alloc = 0;
}

const char *live_status_name(enum live_status s)
{
	switch (s) {
	case LIVE_COMPLETED: return "completed";
	case LIVE_INTERRUPTED: return "interrupted";
	case LIVE_SERVER_GONE: return "server_gone";
	case LIVE_FAILED: return "failed";
	}
	return "?";
}

int live_exit_code(const struct live_result *r)
{
	switch (r->status) {
	case LIVE_COMPLETED: return EXIT_OK;
	case LIVE_INTERRUPTED: return 130; /* 128 + SIGINT, what shells report */
	case LIVE_SERVER_GONE:
	case LIVE_FAILED: return EXIT_OPERATIONAL;
	}
	return EXIT_OPERATIONAL;
}

static void count_error(struct live_result *r, const char *sqlstate)
{
	for (size_t i = 0; i < r->nerrors; i++)
		if (!strcmp(r->errors[i].code, sqlstate)) {
			r->errors[i].n++;
			return;
		}
	ALLOC_GROW(r->errors, r->nerrors + 1, r->errors_alloc);
	snprintf(r->errors[r->nerrors].code, sizeof(r->errors[0].code), "%s", sqlstate);
	r->errors[r->nerrors++].n = 1;
}

/* ---- events out (the shapes of sim.c's) ---------------------------------- */

static void emit_base(struct run *run, struct event *ev, enum event_kind kind, log_usec t,
		      uint16_t pool)
{
	event_init(ev, kind);
	ev->ts = t;
	ev->pid = run->pool_pid[pool];
	ev->pool = run->pool_engine[pool];
	ev->flags = EVENT_F_LIVE;
}

static void emit_conn(struct run *run, enum event_kind kind, const struct job *j, uint16_t pool,
		      uint32_t conn, const char *text2)
{
	struct event ev;
	char name[32];
	if (!run->o->sink.emit)
		return;
	emit_base(run, &ev, kind, vnow(run), pool);
	snprintf(name, sizeof(name), "p%u.c%u", (unsigned)pool, (unsigned)conn);
	ev.conn = name;
	ev.origin = j ? j->origin : ORIGIN_UNKNOWN;
	ev.text2 = text2;
	if (kind == EVENT_POOL_CHECKOUT && j && j->late)
		ev.flags |= EVENT_F_LATE_OK;
	run->o->sink.emit(run->o->sink.data, &ev);
}

static void emit_timeout(struct run *run, const struct job *j)
{
	struct event ev;
	const struct pool_config *pc = &run->pools[j->pool].cfg;
	if (!run->o->sink.emit)
		return;
	emit_base(run, &ev, EVENT_POOL_TIMEOUT, vnow(run), j->pool);
	ev.origin = j->origin;
	ev.text = "QueuePool";
	ev.u.timeout.pool_size = pc->pool_size;
	ev.u.timeout.max_overflow = pc->max_overflow;
	ev.u.timeout.timeout_usec = pc->timeout_usec;
	run->o->sink.emit(run->o->sink.data, &ev);
}

static void emit_connect_error(struct run *run, const struct job *j, const struct pconn *pc)
{
	struct event ev;
	if (!run->o->sink.emit)
		return;
	emit_base(run, &ev, EVENT_POOL_CONNECT_ERROR, vnow(run), pc->pool);
	ev.origin = j ? j->origin : ORIGIN_UNKNOWN;
	ev.text = pc->lc.errmsg;
	run->o->sink.emit(run->o->sink.data, &ev);
	if (strcmp(pc->lc.sqlstate, "53300"))
		return;
	emit_base(run, &ev, EVENT_PG_TOO_MANY_CLIENTS, vnow(run), pc->pool);
	ev.origin = j ? j->origin : ORIGIN_UNKNOWN;
	ev.text = pc->lc.errmsg;
	ev.u.pg.sqlstate = event_sqlstate_pack("53300");
	run->o->sink.emit(run->o->sink.data, &ev);
}

static void emit_http(struct run *run, const struct job *j, int status)
{
	struct event ev;
	uint32_t name;
	if (!run->o->sink.emit)
		return;
	name = run->wl->req[j->idx].name;
	emit_base(run, &ev, EVENT_HTTP_REQUEST, j->t_arrival, j->pool);
	ev.origin = ORIGIN_API;
	ev.dur = vnow(run) - j->t_arrival;
	ev.text = run->ev_path[name];
	ev.text2 = run->ev_method[name];
	ev.u.http.status = status;
	run->o->sink.emit(run->o->sink.data, &ev);
}

static uint16_t batch_pool(const struct run *run, uint32_t b);

static void emit_batch(struct run *run, enum event_kind kind, uint32_t b)
{
	const struct wl_batch *wb = &run->wl->batch[b];
	struct event ev;
	log_usec now = vnow(run);
	if (!run->o->sink.emit)
		return;
	emit_base(run, &ev, kind, now, batch_pool(run, b));
	ev.origin = ORIGIN_BATCH;
	ev.text = workload_name_str(run->wl, wb->name);
	ev.u.batch.entries = wb->entries;
	ev.u.batch.connections = wb->lanes;
	if (kind == EVENT_BATCH_END) {
		ev.dur = now - run->bs[b].started;
		ev.u.batch.processed = run->bs[b].failed ? -1 : wb->entries;
		ev.u.batch.commits = wb->commit == WL_COMMIT_GROUP ? (int32_t)wb->nholds : wb->lanes;
	}
	run->o->sink.emit(run->o->sink.data, &ev);
}

static void emit_stats(struct run *run)
{
	log_usec now = vnow(run);
	for (int32_t i = 0; i < run->npools; i++) {
		struct event ev;
		const struct pool *p = &run->pools[i];
		emit_base(run, &ev, EVENT_POOL_STATS, now, (uint16_t)i);
		ev.text = "status";
		ev.u.stats.pool_size = p->cfg.pool_size;
		ev.u.stats.checked_in = pool_idle(p);
		ev.u.stats.checked_out = p->checked_out;
		ev.u.stats.overflow = p->overflow;
		ev.u.stats.waiting = p->waiters;
		run->o->sink.emit(run->o->sink.data, &ev);
	}
}

/* ---- jobs and connections ---------------------------------------------- */

static struct job *job_new(struct run *run)
{
	struct job *j = run->free_jobs;
	if (j) {
		run->free_jobs = j->next_free;
	} else {
		j = xmalloc(sizeof(*j));
		ALLOC_GROW(run->all_jobs, run->njobs + 1, run->jobs_alloc);
		run->all_jobs[run->njobs++] = j;
	}
	memset(j, 0, sizeof(*j));
	live_timer_init(&j->deadline, T_DEADLINE, j);
	live_timer_init(&j->wakeup, T_WAKEUP, j);
	live_timer_init(&j->timer, T_HOLD_END, j);
	run->live_jobs++;
	return j;
}

static void job_free(struct run *run, struct job *j)
{
	live_loop_cancel(&run->loop, &j->deadline);
	live_loop_cancel(&run->loop, &j->wakeup);
	live_loop_cancel(&run->loop, &j->timer);
	if (j->pc && j->pc->job == j)
		j->pc->job = NULL;
	j->pc = NULL;
	j->state = JS_FREE;
	j->next_free = run->free_jobs;
	run->free_jobs = j;
	run->live_jobs--;
}

static void conn_done(struct live_loop *loop, struct live_conn *c, int ok);

static struct pconn *pconn_get(struct run *run, uint16_t pool, uint32_t id)
{
	struct pconn ***tab = &run->pc[pool];
	size_t old = run->pc_alloc[pool];
	if (id >= old) {
		ALLOC_GROW(*tab, (size_t)id + 1, run->pc_alloc[pool]);
		memset(*tab + old, 0, (run->pc_alloc[pool] - old) * sizeof(**tab));
	}
	if (!(*tab)[id]) {
		struct pconn *pc = xcalloc(1, sizeof(*pc));
		live_conn_init(&pc->lc, conn_done, pc);
		pc->run = run;
		pc->pool = pool;
		pc->id = id;
		(*tab)[id] = pc;
	}
	return (*tab)[id];
}

static void pconn_close(struct run *run, struct pconn *pc)
{
	if (pc->lc.state != LIVE_CONN_CLOSED) {
		live_conn_close(&run->loop, &pc->lc);
		run->open_total--;
	}
	pc->phase = PH_NONE;
}

/* Stop starting anything; the first reason given is the one reported. */
static void stop_run(struct run *run, enum live_status why, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void stop_run(struct run *run, enum live_status why, const char *fmt, ...)
{
	if (run->r->status == LIVE_COMPLETED) {
		run->r->status = why;
		if (fmt) {
			va_list ap;
			va_start(ap, fmt);
			vsnprintf(run->r->error, sizeof(run->r->error), fmt, ap);
			va_end(ap);
		}
	}
	run->stopping = true;
	live_loop_cancel(&run->loop, &run->arrival);
}

/* A connection broke under us: the server went away (restart, shutdown,
 * crash) or dropped us; the run can no longer be faithful. */
static void server_gone(struct run *run, const struct live_conn *c)
{
	if (c->sqlstate[0] || !run->stopping)
		count_error(run->r, c->sqlstate);
	stop_run(run, LIVE_SERVER_GONE, "lost the connection to %s: %s", run->r->server,
		 c->errmsg[0] ? c->errmsg : "connection closed");
}

/* ---- the job life cycle (sim.c's, on real connections) ------------------- */

static void job_done(struct run *run, struct job *j);
static void job_failed(struct run *run, struct job *j);
static void job_checkout(struct run *run, struct job *j);
static void lane_next(struct run *run, struct job *j);
static void real_connect(struct run *run, struct job *j, struct pconn *pc, bool reconnect);

static void note_wait(struct run *run, struct job *j)
{
	struct sim_origin *o = &run->res->origin[j->origin];
	int64_t w = vnow(run) - j->t_req;
	if (w <= 0) {
		o->waits.zero++;
		return;
	}
	o->waited++;
	sample_add(&o->waits.nonzero, w);
}

static void note_timeout(struct run *run, struct job *j)
{
	log_usec now = vnow(run);
	run->res->origin[j->origin].timeouts++;
	if (run->res->first_timeout == LOG_USEC_NONE)
		run->res->first_timeout = now;
	run->res->last_timeout = now;
	emit_timeout(run, j);
}

static void send_or_gone(struct run *run, struct pconn *pc, const char *sql)
{
	if (live_conn_send(&run->loop, &pc->lc, sql) < 0)
		conn_done(&run->loop, &pc->lc, 0);
}

/* The job holds pc from now: run the hold as a real transaction. */
static void job_hold(struct run *run, struct job *j, struct pconn *pc)
{
	j->pc = pc;
	j->state = JS_HOLDING;
	pc->job = j;
	pc->end_due = false;
	pc->phase = PH_BEGIN;
	run->res->origin[j->origin].checkouts++;
	emit_conn(run, EVENT_POOL_CHECKOUT, j, pc->pool, pc->id, NULL);
	if (run->o->hold_mode == LIVE_HOLD_SLEEP) {
		char sql[96];
		snprintf(sql, sizeof(sql), "BEGIN READ ONLY; SELECT pg_sleep(%.6f)",
			 (double)real_usec(run, j->hold) / 1e6);
		send_or_gone(run, pc, sql);
		return;
	}
	j->timer.kind = T_HOLD_END;
	live_loop_arm(&run->loop, &j->timer, mono_now() + real_usec(run, j->hold));
	send_or_gone(run, pc, "BEGIN READ ONLY");
}

static void end_hold(struct run *run, struct pconn *pc)
{
	pc->phase = PH_END;
	send_or_gone(run, pc, run->o->hold_mode == LIVE_HOLD_SLEEP ? "COMMIT" : "ROLLBACK");
}

/* A pooled record was obtained (idle, handed over, or after a wake-up). */
static void job_got_pooled(struct run *run, struct job *j, const struct pool_result *r)
{
	struct pconn *pc = pconn_get(run, j->pool, r->conn);
	live_loop_cancel(&run->loop, &j->deadline);
	if (r->recycled || pc->lc.state != LIVE_CONN_READY) {
		/* hard-close and reconnect inside this checkout (reference 1.7) */
		if (r->recycled)
			emit_conn(run, EVENT_POOL_CLOSE, j, j->pool, r->conn, "hard");
		pconn_close(run, pc);
		real_connect(run, j, pc, true);
		return;
	}
	job_hold(run, j, pc);
}

/* pool.c reserved slot `conn` for j: open a real connection. */
static void job_connect(struct run *run, struct job *j, uint32_t conn)
{
	live_loop_cancel(&run->loop, &j->deadline);
	real_connect(run, j, pconn_get(run, j->pool, conn), false);
}

static void real_connect(struct run *run, struct job *j, struct pconn *pc, bool reconnect)
{
	j->state = JS_CONNECTING;
	j->pc = pc;
	pc->job = j;
	pc->phase = PH_CONNECT;
	pc->reconnect = reconnect;
	run->r->connects++;
	run->open_total++;
	if (run->open_total > run->res->peak_open_total)
		run->res->peak_open_total = run->open_total;
	if (live_conn_start(&run->loop, &pc->lc, run->dsn.keys, run->dsn.vals) < 0)
		conn_done(&run->loop, &pc->lc, 0); /* failed at once: the same path */
}

static void job_checkout(struct run *run, struct job *j)
{
	struct pool_result r;
	j->t_req = vnow(run);
	j->late = false;
	run->res->origin[j->origin].attempts++;
	pool_checkout(&run->pools[j->pool], j->t_req, (uint64_t)(uintptr_t)j, &r);
	switch (r.outcome) {
	case POOL_GOT_IDLE:
		run->res->origin[j->origin].waits.zero++;
		job_got_pooled(run, j, &r);
		break;
	case POOL_MUST_CONNECT:
		run->res->origin[j->origin].waits.zero++;
		job_connect(run, j, r.conn);
		break;
	case POOL_MUST_WAIT:
		j->state = JS_WAITING;
		j->wait = r.wait;
		live_loop_arm(&run->loop, &j->deadline, mono_due(run, r.deadline));
		break;
	case POOL_TIMEOUT:
		run->res->origin[j->origin].waits.zero++;
		note_timeout(run, j);
		job_failed(run, j);
		break;
	default:
		BUG("live: checkout gave %s", pool_outcome_name(r.outcome));
	}
}

/* The hold's ROLLBACK/COMMIT is done: return the connection. */
static void on_hold_end(struct run *run, struct pconn *pc)
{
	struct job *j = pc->job;
	struct pool_result r;
	emit_conn(run, EVENT_POOL_CHECKIN, j, pc->pool, pc->id, NULL);
	pc->phase = PH_NONE;
	pc->job = NULL;
	if (j)
		j->pc = NULL;
	pool_checkin(&run->pools[pc->pool], vnow(run), pc->id, &r);
	switch (r.outcome) {
	case POOL_QUEUED:
		break;
	case POOL_CLOSED:
		emit_conn(run, EVENT_POOL_CLOSE, j, pc->pool, pc->id, NULL);
		pconn_close(run, pc);
		break;
	case POOL_HANDED: {
		struct job *w = (struct job *)(uintptr_t)r.waiter_id;
		if (w->state != JS_WAITING)
			BUG("live: handed to a job in state %d", w->state);
		note_wait(run, w);
		job_got_pooled(run, w, &r);
		break;
	}
	case POOL_QUEUED_NOTIFY: {
		struct job *w = (struct job *)(uintptr_t)r.waiter_id;
		live_loop_arm(&run->loop, &w->wakeup,
			      mono_now() + real_usec(run, run->pools[pc->pool].cfg.wake_lag_usec));
		break;
	}
	default:
		BUG("live: checkin gave %s", pool_outcome_name(r.outcome));
	}
	if (j)
		job_done(run, j);
}

static void on_deadline(struct run *run, struct job *j)
{
	struct pool_result r;
	pool_deadline(&run->pools[j->pool], vnow(run), j->wait, &r);
	switch (r.outcome) {
	case POOL_STALE:
		return; /* served in the meantime */
	case POOL_GOT_IDLE:
		note_wait(run, j);
		job_got_pooled(run, j, &r);
		break;
	case POOL_CONNECT_LATE:
		note_wait(run, j);
		j->late = true;
		run->res->origin[j->origin].late++;
		job_connect(run, j, r.conn);
		break;
	case POOL_TIMEOUT:
		note_wait(run, j);
		note_timeout(run, j);
		job_failed(run, j);
		break;
	default:
		BUG("live: deadline gave %s", pool_outcome_name(r.outcome));
	}
}

static void on_wakeup(struct run *run, struct job *j)
{
	struct pool_result r;
	pool_wakeup(&run->pools[j->pool], vnow(run), j->wait, &r);
	switch (r.outcome) {
	case POOL_STALE:
	case POOL_MUST_WAIT: /* robbed: back in line, same deadline */
		break;
	case POOL_GOT_IDLE:
		note_wait(run, j);
		job_got_pooled(run, j, &r);
		break;
	default:
		BUG("live: wakeup gave %s", pool_outcome_name(r.outcome));
	}
}

/* ---- batches ------------------------------------------------------------- */

static void batch_end(struct run *run, uint32_t b)
{
	struct bstate *st = &run->bs[b];
	st->running = 0;
	st->done = 1;
	run->res->batches++;
	if (st->failed)
		run->res->batches_failed++;
	emit_batch(run, EVENT_BATCH_END, b);
	if (st->next != UINT32_MAX && !run->stopping) {
		uint32_t n = st->next;
		const struct wl_batch *nb = &run->wl->batch[n];
		if (nb->gap >= 0)
			live_loop_arm(&run->loop, &run->bs[n].start,
				      mono_now() + real_usec(run, nb->gap));
		else if (run->bs[n].pending)
			live_loop_arm(&run->loop, &run->bs[n].start, mono_now());
	}
}

static void batch_start(struct run *run, uint32_t b)
{
	const struct wl_batch *wb = &run->wl->batch[b];
	struct bstate *st = &run->bs[b];
	uint16_t pool = batch_pool(run, b);
	uint32_t end = wb->first + wb->nholds;
	if (st->running || st->done)
		return;
	if (st->prev != UINT32_MAX && !run->bs[st->prev].done) {
		st->pending = 1; /* the worker is still busy with the one before */
		return;
	}
	st->pending = 0;
	st->running = 1;
	st->started = vnow(run);
	st->lanes_left = 0;
	emit_batch(run, EVENT_BATCH_START, b);
	for (uint32_t i = wb->first; i < end;) {
		uint32_t k = i;
		struct job *j;
		while (k < end && run->wl->holds[k].lane == run->wl->holds[i].lane)
			k++;
		j = job_new(run);
		j->kind = JOB_LANE;
		j->origin = ORIGIN_BATCH;
		j->idx = b;
		j->pool = pool;
		j->seg = i;
		j->seg_end = k;
		j->state = JS_GAP;
		j->timer.kind = T_LANE_STEP;
		st->lanes_left++;
		live_loop_arm(&run->loop, &j->timer,
			      mono_now() + real_usec(run, run->wl->holds[i].gap));
		i = k;
	}
	if (!st->lanes_left)
		batch_end(run, b);
}

static void lane_step(struct run *run, struct job *j)
{
	j->hold = run->wl->holds[j->seg].hold;
	j->seg++;
	job_checkout(run, j);
}

/* After a checkin or a skipped group: the lane's next checkout, or its end. */
static void lane_next(struct run *run, struct job *j)
{
	uint32_t b = j->idx;
	if (j->seg < j->seg_end && !run->stopping) {
		int64_t gap = run->wl->holds[j->seg].gap;
		j->state = JS_GAP;
		if (gap <= 0) {
			lane_step(run, j); /* re-checks out right after its checkin */
			return;
		}
		j->timer.kind = T_LANE_STEP;
		live_loop_arm(&run->loop, &j->timer, mono_now() + real_usec(run, gap));
		return;
	}
	job_free(run, j);
	if (--run->bs[b].lanes_left == 0)
		batch_end(run, b);
}

/*
 * Server threads (sim_config.threads, as sim.c): a request that finds all
 * of its process's threads busy queues at the server, before the pool; that
 * time does not count toward the pool timeout.  A freed thread takes the
 * oldest queued request, whose checkout starts then.
 */
static void thread_release(struct run *run, struct job *j)
{
	struct proc *p = &run->proc[j->pool / run->nengines];
	j->threaded = false;
	p->busy--;
	if (run->releasing)
		return; /* the outer loop below drains the queue */
	run->releasing = true;
	while (p->qn && p->busy < run->o->model.threads && !run->stopping) {
		struct job *q = p->qhead;
		p->qhead = q->next_free;
		if (!p->qhead)
			p->qtail = NULL;
		p->qn--;
		p->busy++;
		q->threaded = true;
		run->res->server_queued++;
		job_checkout(run, q);
	}
	run->releasing = false;
}

static void thread_enqueue(struct run *run, struct proc *p, struct job *j)
{
	j->next_free = NULL;
	if (p->qtail)
		p->qtail->next_free = j;
	else
		p->qhead = j;
	p->qtail = j;
	p->qn++;
	j->state = JS_QUEUED;
	if (p->qn > run->res->peak_server_queue)
		run->res->peak_server_queue = p->qn;
}

static void job_done(struct run *run, struct job *j)
{
	log_usec now = vnow(run);
	if (now > run->res->end)
		run->res->end = now;
	if (j->kind == JOB_API) {
		if (j->origin != ORIGIN_BATCH)
			emit_http(run, j, 200);
		if (j->threaded)
			thread_release(run, j);
		job_free(run, j);
		return;
	}
	lane_next(run, j);
}

static void job_failed(struct run *run, struct job *j)
{
	log_usec now = vnow(run);
	if (now > run->res->end)
		run->res->end = now;
	if (j->kind == JOB_API) {
		run->res->requests_failed++;
		if (j->origin != ORIGIN_BATCH)
			emit_http(run, j, 500);
		if (j->threaded)
			thread_release(run, j);
		job_free(run, j);
		return;
	}
	run->bs[j->idx].failed = 1;
	if (run->wl->batch[j->idx].commit == WL_COMMIT_ONCE) {
		/* one transaction: the sub-worker's slice fails as a whole */
		run->res->lanes_aborted++;
		j->seg = j->seg_end;
	} else {
		run->res->groups_skipped++;
	}
	lane_next(run, j);
}

/* ---- libpq completions ------------------------------------------------------ */

/* The connect of pc ended. */
static void connect_done(struct run *run, struct pconn *pc, int ok)
{
	struct pool *p = &run->pools[pc->pool];
	struct job *j = pc->job;
	bool reconnect = pc->reconnect;

	pc->reconnect = false;
	pc->phase = PH_NONE;
	if (ok) {
		if (!reconnect)
			pool_connect_done(p, vnow(run), pc->id);
		emit_conn(run, EVENT_POOL_CONNECT, j, pc->pool, pc->id, NULL);
		if (!j) {
			/* its job was dropped when the run was cut short */
			on_hold_end(run, pc);
			return;
		}
		job_hold(run, j, pc);
		return;
	}
	count_error(run->r, pc->lc.sqlstate);
	emit_connect_error(run, j, pc);
	if (!strcmp(pc->lc.sqlstate, "53300")) {
		/* too many clients: what this replay is here to find out */
		run->r->refusals++;
	} else if (!strncmp(pc->lc.sqlstate, "57P", 3) || !pc->lc.sqlstate[0]) {
		/* shutting down, starting up, crashed, or nobody listening */
		stop_run(run, LIVE_SERVER_GONE, "cannot connect to %s: %s", run->r->server,
			 pc->lc.errmsg);
	} else {
		/* bad password, no such database, ...: nothing left to measure */
		stop_run(run, LIVE_FAILED, "cannot connect to %s: %s", run->r->server,
			 pc->lc.errmsg);
	}
	pconn_close(run, pc);
	pc->job = NULL;
	if (reconnect) {
		/* an existing record that fails to reconnect is invalidated and
		 * goes back to the queue without a connection (reference 1.6) */
		struct pool_result r;
		pool_checkin(p, vnow(run), pc->id, &r);
		if (r.outcome == POOL_HANDED) {
			struct job *w = (struct job *)(uintptr_t)r.waiter_id;
			note_wait(run, w);
			job_got_pooled(run, w, &r);
		} else if (r.outcome == POOL_QUEUED_NOTIFY) {
			struct job *w = (struct job *)(uintptr_t)r.waiter_id;
			live_loop_arm(&run->loop, &w->wakeup,
				      mono_now() + real_usec(run, p->cfg.wake_lag_usec));
		}
	} else {
		/* a new one gives its slot back at once and wakes nobody */
		pool_connect_failed(p, vnow(run), pc->id);
	}
	if (j) {
		j->pc = NULL;
		run->res->origin[j->origin].refusals++;
		job_failed(run, j);
	}
}

static void conn_done(struct live_loop *loop, struct live_conn *c, int ok)
{
	struct pconn *pc = c->owner;
	struct run *run = pc->run;
	(void)loop;

	if (pc->phase == PH_CONNECT) {
		connect_done(run, pc, ok);
		return;
	}
	if (c->state == LIVE_CONN_BROKEN) {
		/* dropped while holding, idle in the pool, or ending */
		server_gone(run, c);
		if (pc->job) {
			struct job *j = pc->job;
			run->r->abandoned++;
			if (pc->phase == PH_BEGIN || pc->phase == PH_TXN)
				run->r->rolled_back++; /* the server rolled it back */
			job_free(run, j);
		}
		pconn_close(run, pc);
		return;
	}
	if (pc->phase == PH_ABORT) {
		/* the ROLLBACK (or the command we gave up on) of a run cut short */
		pconn_close(run, pc);
		return;
	}
	if (!ok)
		count_error(run->r, c->sqlstate); /* a statement failed; the hold goes on */
	switch (pc->phase) {
	case PH_BEGIN:
		if (run->o->hold_mode == LIVE_HOLD_SLEEP) {
			end_hold(run, pc);
			return;
		}
		pc->phase = PH_TXN;
		if (pc->end_due)
			end_hold(run, pc);
		return;
	case PH_END:
		on_hold_end(run, pc);
		return;
	default:
		BUG("live: connection p%u.c%u done in phase %d", pc->pool, pc->id, (int)pc->phase);
	}
}

/* ---- the schedule --------------------------------------------------------- */

static void arm_arrival(struct run *run)
{
	if (run->ai < run->wl->nreq && !run->stopping)
		live_loop_arm(&run->loop, &run->arrival, mono_due(run, run->wl->req[run->ai].t));
}

static int32_t proc_index(const struct run *run, int32_t pid)
{
	int32_t lo = 0, hi = run->nproc - 1;
	while (lo <= hi) {
		int32_t mid = (lo + hi) / 2;
		if (run->procs[mid] == pid)
			return mid;
		if (run->procs[mid] < pid)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	BUG("live: pid %d not mapped", pid);
}

static uint16_t pool_of(const struct run *run, int32_t proc, uint8_t engine)
{
	return (uint16_t)(proc * run->nengines + engine);
}

static uint16_t batch_pool(const struct run *run, uint32_t b)
{
	const struct wl_batch *wb = &run->wl->batch[b];
	int32_t proc = run->o->model.workers > 0 ? 0 : proc_index(run, wb->pid);
	return pool_of(run, proc, wb->engine);
}

static void arrive(struct run *run, mono_usec due)
{
	const struct wl_request *rq = &run->wl->req[run->ai];
	struct job *j = job_new(run);
	int32_t proc;
	note_lag(run, due);
	j->kind = JOB_API;
	j->idx = (uint32_t)run->ai;
	j->origin = rq->origin < ORIGIN__COUNT ? rq->origin : ORIGIN_UNKNOWN;
	j->hold = rq->hold;
	j->t_arrival = vnow(run);
	if (run->o->model.workers > 0)
		proc = (int32_t)(run->api_rr++ % (uint32_t)run->o->model.workers);
	else
		proc = run->nproc == 1 ? 0 : proc_index(run, rq->pid);
	j->pool = pool_of(run, proc, rq->engine);
	run->res->requests++;
	run->ai++;
	if (run->o->model.threads > 0 && j->origin != ORIGIN_BATCH) {
		struct proc *pr = &run->proc[proc];
		if (pr->busy >= run->o->model.threads) {
			thread_enqueue(run, pr, j);
			return;
		}
		pr->busy++;
		j->threaded = true;
	}
	job_checkout(run, j);
}

static void monitor_done(struct live_loop *loop, struct live_conn *c, int ok)
{
	struct run *run = c->owner;
	(void)loop;
	if (c->state == LIVE_CONN_BROKEN) {
		server_gone(run, c);
		live_conn_close(&run->loop, c);
		return;
	}
	if (ok && c->value > run->r->peak_backends)
		run->r->peak_backends = c->value;
}

static void on_timer(struct live_loop *loop, struct live_timer *t)
{
	struct run *run = loop->data;
	struct job *j = t->owner;

	switch ((enum timer_kind)t->kind) {
	case T_ARRIVAL:
		/* every request due by now, each at its own clock reading */
		while (run->ai < run->wl->nreq && !run->stopping) {
			mono_usec due = mono_due(run, run->wl->req[run->ai].t);
			if (due > mono_now())
				break;
			arrive(run, due);
		}
		arm_arrival(run);
		return;
	case T_DEADLINE:
		if (j->state == JS_WAITING)
			on_deadline(run, j);
		return;
	case T_WAKEUP:
		if (j->state == JS_WAITING)
			on_wakeup(run, j);
		return;
	case T_HOLD_END:
		if (!j->pc || j->state != JS_HOLDING)
			return;
		if (j->pc->phase == PH_TXN)
			end_hold(run, j->pc);
		else
			j->pc->end_due = true;
		return;
	case T_LANE_STEP:
		if (run->stopping)
			return;
		note_lag(run, t->due);
		lane_step(run, j);
		return;
	case T_BATCH_START: {
		struct bstate *st = t->owner;
		if (run->stopping)
			return;
		if (!st->pending)
			note_lag(run, t->due);
		batch_start(run, st->idx);
		return;
	}
	case T_MONITOR:
		if (run->monitor.state == LIVE_CONN_READY &&
		    live_conn_send(&run->loop, &run->monitor, run->monitor_sql) < 0)
			monitor_done(&run->loop, &run->monitor, 0);
		if (!run->stopping)
			live_loop_arm(&run->loop, &run->mon_timer, t->due + run->o->monitor_usec);
		return;
	case T_STATS:
		emit_stats(run);
		if (!run->stopping)
			live_loop_arm(&run->loop, &run->stats_timer,
				      t->due + real_usec(run, run->o->model.stats_every_usec));
		return;
	case T_DRAIN:
		run->drained = true;
		return;
	}
	BUG("live: unknown timer kind %d", t->kind);
}

/* ---- set-up, the run, the end ---------------------------------------------- */

static int cmp_i32(const void *a, const void *b)
{
	int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
	return (x > y) - (x < y);
}

/* sim.c's map_processes(): pools = processes x engines. */
static void map_processes(struct run *run)
{
	const struct workload *wl = run->wl;
	int32_t maxeng = 0;
	size_t n = 0;
	for (size_t i = 0; i < wl->nreq; i++)
		if (wl->req[i].engine > maxeng)
			maxeng = wl->req[i].engine;
	for (size_t i = 0; i < wl->nbatch; i++)
		if (wl->batch[i].engine > maxeng)
			maxeng = wl->batch[i].engine;
	run->nengines = maxeng + 1;
	if (run->o->model.workers > 0) {
		run->nproc = run->o->model.workers;
		return;
	}
	run->procs = xmalloc((wl->nreq + wl->nbatch + 1) * sizeof(*run->procs));
	for (size_t i = 0; i < wl->nreq; i++)
		run->procs[n++] = wl->req[i].pid;
	for (size_t i = 0; i < wl->nbatch; i++)
		run->procs[n++] = wl->batch[i].pid;
	if (!n)
		run->procs[n++] = 0;
	qsort(run->procs, n, sizeof(*run->procs), cmp_i32);
	{
		size_t u = 0;
		for (size_t i = 0; i < n; i++)
			if (!u || run->procs[u - 1] != run->procs[i])
				run->procs[u++] = run->procs[i];
		n = u;
	}
	run->nproc = (int32_t)n;
}

/* "GET /api/v1/health" -> method "GET", path "/api/v1/health" (as sim.c). */
static void split_names(struct run *run)
{
	const struct workload *wl = run->wl;
	run->ev_method = xcalloc(wl->nnames + 1, sizeof(*run->ev_method));
	run->ev_path = xcalloc(wl->nnames + 1, sizeof(*run->ev_path));
	for (size_t i = 0; i < wl->nnames; i++) {
		const char *n = wl->names[i], *sp = strchr(n, ' ');
		size_t k = 0;
		if (sp)
			for (k = 0; n + k < sp && n[k] >= 'A' && n[k] <= 'Z'; k++)
				;
		if (sp && n + k == sp && k > 0) {
			run->ev_method[i] = strtab_intern(&run->ev_strings, n, k);
			run->ev_path[i] = sp + 1;
		} else {
			run->ev_path[i] = *n ? n : NULL;
		}
	}
}

static void setup_batches(struct run *run)
{
	const struct workload *wl = run->wl;
	uint32_t *last = xmalloc(((size_t)run->nproc + 1) * sizeof(*last));
	run->bs = xcalloc(wl->nbatch + 1, sizeof(*run->bs));
	for (int32_t p = 0; p < run->nproc; p++)
		last[p] = UINT32_MAX;
	for (size_t b = 0; b < wl->nbatch; b++) {
		int32_t proc = run->o->model.workers > 0 ? 0 : proc_index(run, wl->batch[b].pid);
		struct bstate *st = &run->bs[b];
		live_timer_init(&st->start, T_BATCH_START, st);
		st->idx = (uint32_t)b;
		st->prev = last[proc];
		st->next = UINT32_MAX;
		if (last[proc] != UINT32_MAX)
			run->bs[last[proc]].next = (uint32_t)b;
		last[proc] = (uint32_t)b;
	}
	free(last);
}

/* The first batch of each chain, and every anchored one, start by the clock. */
static void arm_batches(struct run *run)
{
	for (size_t b = 0; b < run->wl->nbatch; b++)
		if (run->bs[b].prev == UINT32_MAX || run->wl->batch[b].gap < 0)
			live_loop_arm(&run->loop, &run->bs[b].start,
				      mono_due(run, run->wl->batch[b].start));
}

static bool loop_step(struct run *run)
{
	if (live_loop_once(&run->loop, 0) < 0) {
		stop_run(run, LIVE_FAILED, "the event loop failed");
		return false;
	}
	if (run->loop.signo && run->r->status == LIVE_COMPLETED) {
		run->r->signo = run->loop.signo;
		stop_run(run, LIVE_INTERRUPTED, "interrupted by %s; the result is partial",
			 run->loop.signo == SIGTERM ? "SIGTERM" : "SIGINT");
	}
	return true;
}

static bool monitor_settled(const struct run *run)
{
	return run->monitor.state != LIVE_CONN_CONNECTING && run->monitor.state != LIVE_CONN_BUSY;
}

static void monitor_quiet_done(struct live_loop *loop, struct live_conn *c, int ok)
{
	(void)loop;
	(void)c;
	(void)ok;
}

/* Query the monitor connection synchronously (through the loop). */
static int64_t monitor_value(struct run *run, const char *sql)
{
	if (run->monitor.state != LIVE_CONN_READY ||
	    live_conn_send(&run->loop, &run->monitor, sql) < 0)
		return -1;
	while (!monitor_settled(run) && !run->loop.signo)
		if (!loop_step(run))
			return -1;
	return run->monitor.state == LIVE_CONN_READY ? run->monitor.value : -1;
}

/*
 * Connect the monitor before the clock starts: it proves the server is
 * there and the DSN works, and it keeps its slot, so pg_stat_activity can
 * still be read when the replay fills the server.
 */
static int open_monitor(struct run *run)
{
	struct live_result *r = run->r;
	live_conn_init(&run->monitor, monitor_quiet_done, run);
	if (live_conn_start(&run->loop, &run->monitor, run->mon_dsn.keys, run->mon_dsn.vals) == 0)
		while (!monitor_settled(run) && !run->loop.signo)
			if (!loop_step(run))
				break;
	if (run->monitor.state != LIVE_CONN_READY) {
		if (run->loop.signo) {
			r->status = LIVE_INTERRUPTED;
			r->signo = run->loop.signo;
			snprintf(r->error, sizeof(r->error), "interrupted while connecting to %s",
				 r->server);
		} else {
			r->status = LIVE_FAILED;
			snprintf(r->error, sizeof(r->error), "cannot connect to %s: %s", r->server,
				 run->monitor.errmsg[0] ? run->monitor.errmsg : "unknown error");
		}
		return -1;
	}
	r->server_version = PQserverVersion(run->monitor.pg);
	r->max_connections = monitor_value(run, "SHOW max_connections");
	r->reserved_connections = monitor_value(run, "SHOW superuser_reserved_connections");
	run->monitor.done = monitor_done;
	return 0;
}

static bool drained(struct run *run)
{
	if (run->drained)
		return true;
	for (int32_t p = 0; p < run->npools; p++)
		for (size_t i = 0; i < run->pc_alloc[p]; i++) {
			struct pconn *pc = run->pc[p][i];
			if (pc && (pc->lc.state == LIVE_CONN_BUSY ||
				   pc->lc.state == LIVE_CONN_CONNECTING))
				return false;
		}
	return true;
}

/*
 * Cut short: drop waiters and lanes between checkouts, roll back every open
 * transaction (a ROLLBACK on idle ones; a command in flight is let finish
 * and its connection closed, which makes the server roll back), wait at
 * most drain_usec for that, then close everything.
 */
static void cut_short(struct run *run)
{
	for (size_t b = 0; b < run->wl->nbatch; b++)
		live_loop_cancel(&run->loop, &run->bs[b].start);
	for (size_t i = 0; i < run->njobs; i++) {
		struct job *j = run->all_jobs[i];
		if (j->state == JS_WAITING) {
			pool_cancel_wait(&run->pools[j->pool], j->wait);
			run->r->abandoned++;
			job_free(run, j);
		} else if (j->state == JS_GAP) {
			job_free(run, j);
		} else if (j->state == JS_QUEUED) {
			run->r->abandoned++; /* queued for a server thread */
			job_free(run, j);
		}
	}
	for (int32_t p = 0; p < run->npools; p++)
		for (size_t i = 0; i < run->pc_alloc[p]; i++) {
			struct pconn *pc = run->pc[p][i];
			if (!pc)
				continue;
			if (pc->job) {
				run->r->abandoned++;
				job_free(run, pc->job);
			}
			if (pc->phase == PH_BEGIN || pc->phase == PH_TXN)
				run->r->rolled_back++;
			if (pc->lc.state == LIVE_CONN_READY &&
			    live_conn_txn(&pc->lc) == PQTRANS_INTRANS) {
				pc->phase = PH_ABORT;
				if (live_conn_send(&run->loop, &pc->lc, "ROLLBACK") < 0)
					pconn_close(run, pc);
			} else if (pc->lc.state == LIVE_CONN_BUSY ||
				   pc->lc.state == LIVE_CONN_CONNECTING) {
				pc->phase = pc->lc.state == LIVE_CONN_BUSY ? PH_ABORT : PH_CONNECT;
				if (run->o->hold_mode == LIVE_HOLD_SLEEP &&
				    run->r->status == LIVE_INTERRUPTED && pc->lc.state == LIVE_CONN_BUSY) {
					/* stop pg_sleep now rather than at its end */
					PGcancel *cn = PQgetCancel(pc->lc.pg);
					char buf[256];
					if (cn) {
						PQcancel(cn, buf, sizeof(buf));
						PQfreeCancel(cn);
					}
				}
			}
		}
	live_loop_arm(&run->loop, &run->drain_timer, mono_now() + run->o->drain_usec);
	while (!drained(run))
		if (!loop_step(run))
			break;
	live_loop_cancel(&run->loop, &run->drain_timer);
}

static void finish(struct run *run)
{
	live_loop_cancel(&run->loop, &run->arrival);
	live_loop_cancel(&run->loop, &run->mon_timer);
	live_loop_cancel(&run->loop, &run->stats_timer);
	if (run->r->status != LIVE_COMPLETED)
		cut_short(run);
	for (int32_t p = 0; p < run->npools; p++)
		for (size_t i = 0; i < run->pc_alloc[p]; i++) {
			struct pconn *pc = run->pc[p][i];
			if (!pc)
				continue;
			pconn_close(run, pc);
			if (pc->job)
				job_free(run, pc->job);
		}
	for (size_t i = 0; i < run->njobs; i++)
		if (run->all_jobs[i]->state != JS_FREE) {
			run->r->abandoned++;
			job_free(run, run->all_jobs[i]);
		}
	live_conn_close(&run->loop, &run->monitor);
}

/* sim.c's totals: pool counters summed, peaks per pool, origins merged. */
static void totals(struct run *run)
{
	struct sim_result *res = run->res;
	struct sim_origin *a = &res->all;
	for (int32_t p = 0; p < run->npools; p++) {
		const struct pool_counters *c = &run->pools[p].c;
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
	}
	for (int i = 0; i < ORIGIN__COUNT; i++) {
		const struct sim_origin *o = &res->origin[i];
		a->attempts += o->attempts;
		a->checkouts += o->checkouts;
		a->waited += o->waited;
		a->timeouts += o->timeouts;
		a->refusals += o->refusals;
		a->late += o->late;
		a->waits.zero += o->waits.zero;
	}
	for (int i = 0; i < ORIGIN__COUNT; i++) {
		const struct sample *s = &res->origin[i].waits.nonzero;
		for (size_t k = 0; k < s->nr; k++)
			sample_add(&a->waits.nonzero, s->v[k]);
	}
}

static void run_release(struct run *run)
{
	for (int32_t p = 0; p < run->npools; p++) {
		for (size_t i = 0; i < run->pc_alloc[p]; i++)
			free(run->pc[p][i]);
		free(run->pc[p]);
		pool_release(&run->pools[p]);
	}
	for (size_t i = 0; i < run->njobs; i++)
		free(run->all_jobs[i]);
	free(run->all_jobs);
	free(run->pc);
	free(run->pc_alloc);
	free(run->pools);
	free(run->proc);
	free(run->pool_pid);
	free(run->pool_engine);
	free(run->procs);
	free(run->bs);
	free(run->ev_method);
	free(run->ev_path);
	strtab_release(&run->ev_strings);
	live_dsn_release(&run->dsn);
	live_dsn_release(&run->mon_dsn);
	live_loop_release(&run->loop);
}

int live_replay_run(const struct workload *wl, const struct live_opts *o, struct live_result *r)
{
	struct run run;

	memset(&run, 0, sizeof(run));
	run.wl = wl;
	run.o = o;
	run.r = r;
	run.res = &r->sim;
	r->speed = o->speed;
	r->requests_total = wl->nreq;
	r->batches_total = wl->nbatch;
	if (!(o->speed > 0) || !isfinite(o->speed))
		BUG("live: speed %g", o->speed);
	for (const char *c = o->application_name; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-' || *c == '_'))
			BUG("live: application_name '%s' must be [a-z0-9_-]", o->application_name);
	run.t0 = workload_start(wl);
	if (run.t0 == LOG_USEC_NONE)
		run.t0 = 0;
	r->sim.start = r->sim.end = run.t0;

	map_processes(&run);
	run.npools = run.nproc * run.nengines;
	if (run.npools > UINT16_MAX)
		BUG("live: %d pools", run.npools);
	r->sim.npools = run.npools;
	run.pools = xcalloc((size_t)run.npools, sizeof(*run.pools));
	run.proc = xcalloc((size_t)run.nproc, sizeof(*run.proc));
	run.pool_pid = xcalloc((size_t)run.npools, sizeof(*run.pool_pid));
	run.pool_engine = xcalloc((size_t)run.npools, sizeof(*run.pool_engine));
	run.pc = xcalloc((size_t)run.npools, sizeof(*run.pc));
	run.pc_alloc = xcalloc((size_t)run.npools, sizeof(*run.pc_alloc));
	for (int32_t p = 0; p < run.npools; p++) {
		int32_t proc = p / run.nengines;
		pool_init(&run.pools[p], &o->model.pool);
		run.pool_pid[p] = o->model.workers > 0 ? proc + 1 : run.procs[proc];
		run.pool_engine[p] = (uint8_t)(p % run.nengines);
	}
	strtab_init(&run.ev_strings);
	split_names(&run);
	setup_batches(&run);
	live_timer_init(&run.arrival, T_ARRIVAL, &run);
	live_timer_init(&run.mon_timer, T_MONITOR, &run);
	live_timer_init(&run.stats_timer, T_STATS, &run);
	live_timer_init(&run.drain_timer, T_DRAIN, &run);
	live_conn_init(&run.monitor, monitor_quiet_done, &run);

	if (live_loop_init(&run.loop, o->catch_signals) < 0) {
		r->status = LIVE_FAILED;
		snprintf(r->error, sizeof(r->error), "cannot set up the event loop");
		run_release(&run);
		return -1;
	}
	run.loop.on_timer = on_timer;
	run.loop.data = &run;
	snprintf(run.monitor_sql, sizeof(run.monitor_sql),
		 "SELECT count(*) FROM pg_stat_activity WHERE application_name = '%s'",
		 o->application_name);
	if (live_dsn_init(&run.dsn, o->dsn, o->application_name) < 0 ||
	    live_dsn_init(&run.mon_dsn, o->dsn, MONITOR_APP_NAME) < 0) {
		r->status = LIVE_FAILED; /* live_dsn_init() said why, with the password masked */
		r->error[0] = '\0';
		run_release(&run);
		return -1;
	}
	snprintf(r->server, sizeof(r->server), "%s", run.dsn.where);
	if (open_monitor(&run) < 0) {
		live_conn_close(&run.loop, &run.monitor);
		run_release(&run);
		return -1;
	}

	run.start = mono_now();
	arm_arrival(&run);
	arm_batches(&run);
	if (o->monitor_usec > 0)
		live_loop_arm(&run.loop, &run.mon_timer, run.start);
	if (o->sink.emit && o->model.stats_every_usec > 0)
		live_loop_arm(&run.loop, &run.stats_timer, run.start);
	/* done when every request arrived, every batch ended and nothing is
	 * in flight */
	while (!run.stopping && (run.ai < wl->nreq || run.live_jobs || run.res->batches < wl->nbatch))
		if (!loop_step(&run))
			break;
	r->elapsed_usec = mono_now() - run.start;
	finish(&run);
	r->loop_wakeups = run.loop.wakeups;
	r->max_io_usec = run.loop.max_io_usec;
	r->max_timer_usec = run.loop.max_timer_usec;
	totals(&run);
	run_release(&run);
	return r->status == LIVE_COMPLETED ? 0 : -1;
}

/* ---- output ------------------------------------------------------------------ */

static void json_quantiles(struct jw *w, const char *key, struct sample *s)
{
	jw_key(w, key);
	jw_obj_begin(w);
	jw_kusec_s(w, "p50", (int64_t)llround(sample_percentile(s, 50)));
	jw_kusec_s(w, "p95", (int64_t)llround(sample_percentile(s, 95)));
	jw_kusec_s(w, "p99", (int64_t)llround(sample_percentile(s, 99)));
	jw_kusec_s(w, "max", s->nr ? sample_max(s) : 0);
	jw_obj_end(w);
}

void live_result_json(struct jw *w, struct live_result *r, const struct live_opts *o)
{
	jw_key(w, "live");
	jw_obj_begin(w);
	jw_kstr(w, "status", live_status_name(r->status));
	jw_kstr(w, "error", r->error[0] ? r->error : NULL);
	jw_knum(w, "speed", r->speed, 3);
	jw_kstr(w, "hold_mode", o && o->hold_mode == LIVE_HOLD_SLEEP ? "sleep" : "idle");
	jw_kusec_s(w, "elapsed_s", r->elapsed_usec);
	jw_kint(w, "requests", (int64_t)r->sim.requests);
	jw_kint(w, "requests_total", (int64_t)r->requests_total);
	jw_kint(w, "batches", (int64_t)r->sim.batches);
	jw_kint(w, "batches_total", (int64_t)r->batches_total);
	jw_kint(w, "abandoned", (int64_t)r->abandoned);
	jw_kint(w, "rolled_back", (int64_t)r->rolled_back);
	jw_obj_end(w);

	jw_key(w, "server");
	jw_obj_begin(w);
	jw_kint(w, "version", r->server_version);
	jw_kint(w, "max_connections", r->max_connections);
	jw_kint(w, "reserved_connections", r->reserved_connections);
	jw_kint(w, "connects", (int64_t)r->connects);
	jw_kint(w, "refusals", (int64_t)r->refusals);
	jw_key(w, "errors");
	jw_obj_begin(w);
	for (size_t i = 0; i < r->nerrors; i++)
		jw_kint(w, r->errors[i].code[0] ? r->errors[i].code : "none",
			(int64_t)r->errors[i].n);
	jw_obj_end(w);
	jw_kint(w, "peak_backends", r->peak_backends);
	jw_obj_end(w);

	json_quantiles(w, "lag_s", &r->lag_usec);
}

void live_result_print(FILE *fp, struct live_result *r, const struct live_opts *o)
{
	fprintf(fp, "live: %s against %s (PostgreSQL %d.%d) at speed %g, %s holds, %.1f s\n",
		live_status_name(r->status), r->server, r->server_version / 10000,
		r->server_version % 10000, r->speed,
		o && o->hold_mode == LIVE_HOLD_SLEEP ? "pg_sleep" : "idle-in-transaction",
		(double)r->elapsed_usec / 1e6);
	if (r->status != LIVE_COMPLETED)
		fprintf(fp, "live: partial: %llu of %llu requests, %llu of %llu batches; "
			"%llu checkouts abandoned, %llu transactions rolled back\n",
			(unsigned long long)r->sim.requests, (unsigned long long)r->requests_total,
			(unsigned long long)r->sim.batches, (unsigned long long)r->batches_total,
			(unsigned long long)r->abandoned, (unsigned long long)r->rolled_back);
	fprintf(fp, "server: %llu connections opened, %llu refused (53300), peak %lld backends "
		"of max_connections %lld\n",
		(unsigned long long)r->connects, (unsigned long long)r->refusals,
		(long long)r->peak_backends, (long long)r->max_connections);
	fprintf(fp, "schedule lag: p50 %.3f ms, p99 %.3f ms, max %.3f ms over %zu starts\n",
		sample_percentile(&r->lag_usec, 50) / 1e3,
		sample_percentile(&r->lag_usec, 99) / 1e3,
		(double)(r->lag_usec.nr ? sample_max(&r->lag_usec) : 0) / 1e3, r->lag_usec.nr);
}

/* ---- model versus live ------------------------------------------------------ */

enum cmp_kind { CMP_COUNT, CMP_SECONDS };

struct cmp_row {
	const char *name;
	enum cmp_kind kind;
	double model, live;
};

static size_t compare_rows(struct sim_result *m, struct live_result *l, struct cmp_row *row)
{
	struct sim_result *s = &l->sim;
	size_t n = 0;
#define COUNT(key, field) row[n++] = (struct cmp_row){ key, CMP_COUNT, (double)m->field, (double)s->field }
#define WAIT(key, p)                                                                    \
	row[n++] = (struct cmp_row){ key, CMP_SECONDS,                                 \
				     sim_waits_percentile(&m->all.waits, p) / 1e6,      \
				     sim_waits_percentile(&s->all.waits, p) / 1e6 }
	COUNT("requests", requests);
	COUNT("checkouts", checkouts);
	COUNT("timeouts", timeouts);
	COUNT("late", late);
	COUNT("refusals", refusals);
	COUNT("requests_failed", requests_failed);
	COUNT("batches_failed", batches_failed);
	COUNT("connects", connects);
	COUNT("closes", closes);
	COUNT("peak_checked_out", peak_checked_out);
	COUNT("peak_overflow", peak_overflow);
	COUNT("peak_open_total", peak_open_total);
	COUNT("waited", all.waited);
	WAIT("wait_p50_s", 50);
	WAIT("wait_p95_s", 95);
	WAIT("wait_p99_s", 99);
	row[n++] = (struct cmp_row){ "wait_max_s", CMP_SECONDS,
				     (double)sim_waits_max(&m->all.waits) / 1e6,
				     (double)sim_waits_max(&s->all.waits) / 1e6 };
#undef COUNT
#undef WAIT
	return n;
}

void live_compare_print(FILE *fp, struct sim_result *model, struct live_result *live)
{
	struct cmp_row row[24];
	size_t n = compare_rows(model, live, row);
	fprintf(fp, "%-18s %12s %12s %10s\n", "", "model", "live", "live-model");
	for (size_t i = 0; i < n; i++) {
		double d = row[i].live - row[i].model;
		if (row[i].kind == CMP_COUNT)
			fprintf(fp, "%-18s %12.0f %12.0f %+10.0f", row[i].name, row[i].model,
				row[i].live, d);
		else
			fprintf(fp, "%-18s %12.3f %12.3f %+10.3f", row[i].name, row[i].model,
				row[i].live, d);
		if (row[i].model != 0 && d != 0)
			fprintf(fp, "  (%+.1f %%)", 100.0 * d / fabs(row[i].model));
		fputc('\n', fp);
	}
}

void live_compare_json(struct jw *w, struct sim_result *model, struct live_result *live)
{
	struct cmp_row row[24];
	size_t n = compare_rows(model, live, row);
	jw_key(w, "compare");
	jw_obj_begin(w);
	for (size_t i = 0; i < n; i++) {
		jw_key(w, row[i].name);
		jw_obj_begin(w);
		if (row[i].kind == CMP_COUNT) {
			jw_kint(w, "model", (int64_t)row[i].model);
			jw_kint(w, "live", (int64_t)row[i].live);
		} else {
			jw_knum(w, "model", row[i].model, 6);
			jw_knum(w, "live", row[i].live, 6);
		}
		jw_obj_end(w);
	}
	jw_obj_end(w);
}
