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
#include "replay/driver_impl.h"
#include "core/banned.h"

/*
 * The live replay: the real clock under the workload driver
 * (replay/driver.h), the same driver the simulator runs on.  The driver
 * decides how the workload calls the pool and what is done with each of
 * pool.c's answers; this file carries those decisions out with libpq and
 * timers on CLOCK_MONOTONIC, and tells the driver when they are done.
 * Every call into the driver gets vnow (the real clock on the log's time
 * line, live.h).
 *
 * What only this clock has: a hold is a real transaction (BEGIN, the hold,
 * ROLLBACK/COMMIT), a connect is a real one that the server may refuse,
 * the schedule lag is measured, and a run can be cut short (signal, server
 * gone) with its open transactions rolled back.
 *
 * Objects:
 *   struct ljob   per driver job slot: its timers and its connection.
 *   struct pconn  one connection id of one pool (pool.c's small integers)
 *                 and the libpq connection behind it.
 *   struct run    the driver, the loop, the schedule, the monitor.
 */

#define MONITOR_APP_NAME "poolscope-monitor"

enum timer_kind {
	T_ARRIVAL = 1,  /* owner run: the next API request is due */
	T_DEADLINE,     /* owner ljob: its pool timeout */
	T_WAKEUP,       /* owner ljob: barging, a notified waiter runs */
	T_HOLD_END,     /* owner ljob: an idle-transaction hold is over */
	T_LANE_STEP,    /* owner ljob: a lane's gap is over, next checkout */
	T_BATCH_START,  /* owner run: run->bstart[b] */
	T_MONITOR,      /* owner run: poll pg_stat_activity */
	T_STATS,        /* owner run: pool_stats events */
	T_DRAIN         /* owner run: stop waiting for ROLLBACKs */
};

struct pconn;

/* What the clock keeps for driver job slot idx (allocated once per slot, so
 * the timers in it stay put while armed). */
struct ljob {
	uint32_t idx;
	uint32_t deadline_gen, wakeup_gen, timer_gen; /* the job's gen when armed */
	struct live_timer deadline; /* T_DEADLINE */
	struct live_timer wakeup;   /* T_WAKEUP */
	struct live_timer timer;    /* T_HOLD_END or T_LANE_STEP */
	struct pconn *pc;           /* borrowed: its connection while CONNECTING/HOLDING */
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
	uint32_t job;          /* driver job using it, DRV_NONE if idle in the pool */
	uint16_t pool;
	uint32_t id;
	enum phase phase;
	bool end_due;          /* the hold ended while BEGIN was in flight */
	bool reconnect;        /* PH_CONNECT of a record pool.c counts as out (recycle) */
};

struct run {
	struct driver d;         /* jobs, pools, batches, accounting */
	const struct workload *wl;
	const struct live_opts *o;
	struct live_result *r;
	struct pconn ***pc;      /* owned: per pool, pointers by connection id */
	size_t *pc_alloc;        /* owned: per pool */
	struct ljob **lj;        /* owned: per driver job slot */
	size_t lj_alloc;
	struct live_timer *bstart; /* owned: per batch, T_BATCH_START */
	int32_t open_total;      /* pconns with a libpq connection */
	/* the loop */
	struct live_loop loop;
	struct live_dsn dsn, mon_dsn;
	struct live_conn monitor;
	struct live_timer arrival, mon_timer, stats_timer, drain_timer;
	mono_usec start;
	log_usec t0;
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

/* ---- connections and the clock's per-job state ---------------------------- */

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
		pc->job = DRV_NONE;
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

static struct ljob *ljob_get(struct run *run, uint32_t ji)
{
	if (ji >= run->lj_alloc) {
		size_t old = run->lj_alloc;
		ALLOC_GROW(run->lj, (size_t)ji + 1, run->lj_alloc);
		memset(run->lj + old, 0, (run->lj_alloc - old) * sizeof(*run->lj));
	}
	if (!run->lj[ji]) {
		struct ljob *lj = xcalloc(1, sizeof(*lj));
		lj->idx = ji;
		live_timer_init(&lj->deadline, T_DEADLINE, lj);
		live_timer_init(&lj->wakeup, T_WAKEUP, lj);
		live_timer_init(&lj->timer, T_HOLD_END, lj);
		run->lj[ji] = lj;
	}
	return run->lj[ji];
}

/* NULL if the clock never kept anything for slot ji */
static struct ljob *ljob_find(struct run *run, uint32_t ji)
{
	return ji < run->lj_alloc ? run->lj[ji] : NULL;
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
	run->d.stopping = true;
	live_loop_cancel(&run->loop, &run->arrival);
}

/* A connection broke under us: the server went away (restart, shutdown,
 * crash) or dropped us; the run can no longer be faithful. */
static void server_gone(struct run *run, const struct live_conn *c)
{
	if (c->sqlstate[0] || !run->d.stopping)
		count_error(run->r, c->sqlstate);
	stop_run(run, LIVE_SERVER_GONE, "lost the connection to %s: %s", run->r->server,
		 c->errmsg[0] ? c->errmsg : "connection closed");
}

static void emit_connect_error(struct run *run, uint32_t ji, const struct pconn *pc, log_usec now)
{
	struct driver *d = &run->d;
	struct event ev;
	uint8_t origin = ji == DRV_NONE ? ORIGIN_UNKNOWN : d->jobs[ji].origin;
	if (!d->sink.emit)
		return;
	drv_event_init(d, &ev, EVENT_POOL_CONNECT_ERROR, now, pc->pool);
	ev.origin = origin;
	ev.text = pc->lc.errmsg;
	d->sink.emit(d->sink.data, &ev);
	if (strcmp(pc->lc.sqlstate, "53300"))
		return;
	drv_event_init(d, &ev, EVENT_PG_TOO_MANY_CLIENTS, now, pc->pool);
	ev.origin = origin;
	ev.text = pc->lc.errmsg;
	ev.u.pg.sqlstate = event_sqlstate_pack("53300");
	d->sink.emit(d->sink.data, &ev);
}

static void send_or_gone(struct run *run, struct pconn *pc, const char *sql)
{
	if (live_conn_send(&run->loop, &pc->lc, sql) < 0)
		conn_done(&run->loop, &pc->lc, 0);
}

static void end_hold(struct run *run, struct pconn *pc)
{
	pc->phase = PH_END;
	send_or_gone(run, pc, run->o->hold_mode == LIVE_HOLD_SLEEP ? "COMMIT" : "ROLLBACK");
}

/* Open a real connection for job ji on pc (a new one, or a reconnect). */
static void real_connect(struct run *run, uint32_t ji, struct pconn *pc, bool reconnect)
{
	struct ljob *lj = ljob_get(run, ji);
	run->d.jobs[ji].state = DRV_JS_CONNECTING;
	run->d.jobs[ji].conn = pc->id;
	lj->pc = pc;
	pc->job = ji;
	pc->phase = PH_CONNECT;
	pc->reconnect = reconnect;
	run->r->connects++;
	run->open_total++;
	if (run->open_total > run->d.res->peak_open_total)
		run->d.res->peak_open_total = run->open_total;
	if (live_conn_start(&run->loop, &pc->lc, run->dsn.keys, run->dsn.vals) < 0)
		conn_done(&run->loop, &pc->lc, 0); /* failed at once: the same path */
}

/* ---- the clock's side of the driver (driver_impl.h's clock_*()) ------------ */

static void arm(struct run *run, enum drv_timer kind, uint32_t id, uint32_t gen, mono_usec due)
{
	struct ljob *lj;
	if (kind == DRV_T_BATCH_START) {
		live_loop_arm(&run->loop, &run->bstart[id], due);
		return;
	}
	lj = ljob_get(run, id);
	switch (kind) {
	case DRV_T_WAKEUP:
		lj->wakeup_gen = gen;
		live_loop_arm(&run->loop, &lj->wakeup, due);
		return;
	case DRV_T_DEADLINE:
		lj->deadline_gen = gen;
		live_loop_arm(&run->loop, &lj->deadline, due);
		return;
	case DRV_T_LANE_STEP:
		lj->timer_gen = gen;
		lj->timer.kind = T_LANE_STEP;
		live_loop_arm(&run->loop, &lj->timer, due);
		return;
	case DRV_T_BATCH_START:
		break;
	}
	BUG("live: timer %d", (int)kind);
}

static void clock_at(struct driver *d, log_usec t, enum drv_timer kind, uint32_t id, uint32_t gen)
{
	struct run *run = d->clock;
	arm(run, kind, id, gen, mono_due(run, t));
}

/* Relative to the real now, so the time spent in this callback does not
 * shorten a gap. */
static void clock_after(struct driver *d, log_usec now, int64_t delay, enum drv_timer kind,
			uint32_t id, uint32_t gen)
{
	struct run *run = d->clock;
	arm(run, kind, id, gen, mono_now() + real_usec(run, delay));
}

static void clock_cancel(struct driver *d, enum drv_timer kind, uint32_t id)
{
	struct run *run = d->clock;
	struct ljob *lj = ljob_find(run, id);
	if (lj && kind == DRV_T_DEADLINE)
		live_loop_cancel(&run->loop, &lj->deadline);
}

static void clock_job_freed(struct driver *d, uint32_t ji)
{
	struct run *run = d->clock;
	struct ljob *lj = ljob_find(run, ji);
	if (!lj)
		return;
	live_loop_cancel(&run->loop, &lj->deadline);
	live_loop_cancel(&run->loop, &lj->wakeup);
	live_loop_cancel(&run->loop, &lj->timer);
	if (lj->pc && lj->pc->job == ji)
		lj->pc->job = DRV_NONE;
	lj->pc = NULL;
}

/* pool.c reserved slot conn for job ji: open a real connection. */
static void clock_connect(struct driver *d, uint32_t ji, uint32_t conn, log_usec now)
{
	struct run *run = d->clock;
	real_connect(run, ji, pconn_get(run, d->jobs[ji].pool, conn), false);
}

/* A pooled record: reuse its libpq connection, or reconnect it (recycled,
 * or it lost its connection when a reconnect failed). */
static void clock_pooled(struct driver *d, uint32_t ji, uint32_t conn, bool recycled, log_usec now)
{
	struct run *run = d->clock;
	struct pconn *pc = pconn_get(run, d->jobs[ji].pool, conn);
	if (recycled || pc->lc.state != LIVE_CONN_READY) {
		/* hard-close and reconnect inside this checkout (reference 1.7) */
		pconn_close(run, pc);
		real_connect(run, ji, pc, true);
		return;
	}
	drv_hold(d, ji, conn, now, 0);
}

/* Run the hold as a real transaction (extra is always 0 here: connect
 * latency is real). */
static void clock_hold(struct driver *d, uint32_t ji, uint32_t conn, log_usec now, int64_t extra)
{
	struct run *run = d->clock;
	const struct drv_job *j = &d->jobs[ji];
	struct pconn *pc = pconn_get(run, j->pool, conn);
	struct ljob *lj = ljob_get(run, ji);
	lj->pc = pc;
	pc->job = ji;
	pc->end_due = false;
	pc->phase = PH_BEGIN;
	if (run->o->hold_mode == LIVE_HOLD_SLEEP) {
		char sql[96];
		snprintf(sql, sizeof(sql), "BEGIN READ ONLY; SELECT pg_sleep(%.6f)",
			 (double)real_usec(run, j->hold) / 1e6);
		send_or_gone(run, pc, sql);
		return;
	}
	lj->timer.kind = T_HOLD_END;
	lj->timer_gen = j->gen;
	live_loop_arm(&run->loop, &lj->timer, mono_now() + real_usec(run, j->hold));
	send_or_gone(run, pc, "BEGIN READ ONLY");
}

static void clock_close(struct driver *d, uint16_t pool, uint32_t conn)
{
	struct run *run = d->clock;
	pconn_close(run, pconn_get(run, pool, conn));
}

/* ---- libpq completions ------------------------------------------------------ */

/* The hold's ROLLBACK/COMMIT is done (or a connection without a job came
 * up): return the connection. */
static void on_hold_end(struct run *run, struct pconn *pc)
{
	uint32_t ji = pc->job;
	pc->phase = PH_NONE;
	pc->job = DRV_NONE;
	if (ji != DRV_NONE)
		run->lj[ji]->pc = NULL;
	drv_checkin(&run->d, pc->pool, pc->id, ji, vnow(run));
}

/* The connect of pc ended. */
static void connect_done(struct run *run, struct pconn *pc, int ok)
{
	uint32_t ji = pc->job;
	bool reconnect = pc->reconnect;
	log_usec now = vnow(run);

	pc->reconnect = false;
	pc->phase = PH_NONE;
	if (ok) {
		drv_connected(&run->d, pc->pool, pc->id, ji, reconnect, now);
		if (ji == DRV_NONE)
			on_hold_end(run, pc); /* its job was dropped when the run was cut short */
		return;
	}
	count_error(run->r, pc->lc.sqlstate);
	emit_connect_error(run, ji, pc, now);
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
	pc->job = DRV_NONE;
	if (ji != DRV_NONE)
		run->lj[ji]->pc = NULL;
	drv_connect_failed(&run->d, pc->pool, pc->id, ji, reconnect, now);
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
		if (pc->job != DRV_NONE) {
			run->r->abandoned++;
			if (pc->phase == PH_BEGIN || pc->phase == PH_TXN)
				run->r->rolled_back++; /* the server rolled it back */
			drv_job_free(&run->d, pc->job);
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
	log_usec t = drv_next_arrival(&run->d);
	if (t != LOG_USEC_NONE && !run->d.stopping)
		live_loop_arm(&run->loop, &run->arrival, mono_due(run, t));
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
	struct driver *d = &run->d;
	struct ljob *lj = t->owner;

	switch ((enum timer_kind)t->kind) {
	case T_ARRIVAL:
		/* every request due by now, each at its own clock reading */
		while (drv_next_arrival(d) != LOG_USEC_NONE && !d->stopping) {
			mono_usec due = mono_due(run, drv_next_arrival(d));
			if (due > mono_now())
				break;
			note_lag(run, due);
			drv_arrive(d, vnow(run));
		}
		arm_arrival(run);
		return;
	case T_DEADLINE:
		drv_deadline(d, lj->idx, lj->deadline_gen, vnow(run));
		return;
	case T_WAKEUP:
		drv_wakeup(d, lj->idx, lj->wakeup_gen, vnow(run));
		return;
	case T_HOLD_END:
		if (!lj->pc || d->jobs[lj->idx].state != DRV_JS_HOLDING)
			return;
		if (lj->pc->phase == PH_TXN)
			end_hold(run, lj->pc);
		else
			lj->pc->end_due = true;
		return;
	case T_LANE_STEP:
		if (d->stopping)
			return;
		note_lag(run, t->due);
		drv_lane_step(d, lj->idx, lj->timer_gen, vnow(run));
		return;
	case T_BATCH_START: {
		uint32_t b = (uint32_t)(t - run->bstart);
		if (d->stopping)
			return;
		if (!d->bs[b].pending)
			note_lag(run, t->due);
		drv_batch_start(d, b, vnow(run));
		return;
	}
	case T_MONITOR:
		if (run->monitor.state == LIVE_CONN_READY &&
		    live_conn_send(&run->loop, &run->monitor, run->monitor_sql) < 0)
			monitor_done(&run->loop, &run->monitor, 0);
		if (!d->stopping)
			live_loop_arm(&run->loop, &run->mon_timer, t->due + run->o->monitor_usec);
		return;
	case T_STATS:
		drv_emit_stats(d, vnow(run));
		if (!d->stopping)
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
	for (int32_t p = 0; p < run->d.npools; p++)
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
	struct driver *d = &run->d;
	for (size_t b = 0; b < run->wl->nbatch; b++)
		live_loop_cancel(&run->loop, &run->bstart[b]);
	for (size_t i = 0; i < d->njobs; i++) {
		struct drv_job *j = &d->jobs[i];
		if (j->state == DRV_JS_WAITING) {
			pool_cancel_wait(&d->pools[j->pool], j->wait);
			run->r->abandoned++;
			drv_job_free(d, (uint32_t)i);
		} else if (j->state == DRV_JS_GAP) {
			drv_job_free(d, (uint32_t)i);
		} else if (j->state == DRV_JS_QUEUED) {
			run->r->abandoned++; /* queued for a server thread */
			drv_job_free(d, (uint32_t)i);
		}
	}
	for (int32_t p = 0; p < d->npools; p++)
		for (size_t i = 0; i < run->pc_alloc[p]; i++) {
			struct pconn *pc = run->pc[p][i];
			if (!pc)
				continue;
			if (pc->job != DRV_NONE) {
				run->r->abandoned++;
				drv_job_free(d, pc->job);
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
	struct driver *d = &run->d;
	live_loop_cancel(&run->loop, &run->arrival);
	live_loop_cancel(&run->loop, &run->mon_timer);
	live_loop_cancel(&run->loop, &run->stats_timer);
	if (run->r->status != LIVE_COMPLETED)
		cut_short(run);
	for (int32_t p = 0; p < d->npools; p++)
		for (size_t i = 0; i < run->pc_alloc[p]; i++) {
			struct pconn *pc = run->pc[p][i];
			if (!pc)
				continue;
			pconn_close(run, pc);
			if (pc->job != DRV_NONE)
				drv_job_free(d, pc->job);
		}
	for (size_t i = 0; i < d->njobs; i++)
		if (d->jobs[i].state != DRV_JS_FREE) {
			run->r->abandoned++;
			drv_job_free(d, (uint32_t)i);
		}
	live_conn_close(&run->loop, &run->monitor);
}

static void run_release(struct run *run)
{
	for (int32_t p = 0; p < run->d.npools; p++) {
		for (size_t i = 0; i < run->pc_alloc[p]; i++)
			free(run->pc[p][i]);
		free(run->pc[p]);
	}
	for (size_t i = 0; i < run->lj_alloc; i++)
		free(run->lj[i]);
	free(run->lj);
	free(run->pc);
	free(run->pc_alloc);
	free(run->bstart);
	drv_release(&run->d);
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
	r->speed = o->speed;
	r->requests_total = wl->nreq;
	r->batches_total = wl->nbatch;
	if (!(o->speed > 0) || !isfinite(o->speed))
		BUG("live: speed %g", o->speed);
	for (const char *c = o->application_name; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-' || *c == '_'))
			BUG("live: application_name '%s' must be [a-z0-9_-]", o->application_name);

	drv_init(&run.d, wl, &o->model, o->sink, EVENT_F_LIVE, &run, &r->sim);
	run.t0 = run.d.t0;
	run.pc = xcalloc((size_t)run.d.npools, sizeof(*run.pc));
	run.pc_alloc = xcalloc((size_t)run.d.npools, sizeof(*run.pc_alloc));
	run.bstart = xcalloc(wl->nbatch + 1, sizeof(*run.bstart));
	for (size_t b = 0; b < wl->nbatch; b++)
		live_timer_init(&run.bstart[b], T_BATCH_START, &run);
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
	drv_start(&run.d); /* the batches that start by the clock */
	if (o->monitor_usec > 0)
		live_loop_arm(&run.loop, &run.mon_timer, run.start);
	if (o->sink.emit && o->model.stats_every_usec > 0)
		live_loop_arm(&run.loop, &run.stats_timer, run.start);
	/* done when every request arrived, every batch ended and nothing is
	 * in flight */
	while (!run.d.stopping && (drv_next_arrival(&run.d) != LOG_USEC_NONE || run.d.live_jobs ||
				   r->sim.batches < wl->nbatch))
		if (!loop_step(&run))
			break;
	r->elapsed_usec = mono_now() - run.start;
	finish(&run);
	r->loop_wakeups = run.loop.wakeups;
	r->max_io_usec = run.loop.max_io_usec;
	r->max_timer_usec = run.loop.max_timer_usec;
	drv_totals(&run.d);
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
