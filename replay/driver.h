#ifndef POOLSCOPE_DRIVER_H
#define POOLSCOPE_DRIVER_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/arena.h"
#include "core/event.h"
#include "core/logtime.h"
#include "replay/pool.h"
#include "replay/sim.h"
#include "replay/workload.h"
/*
 * The workload driver: how a recorded workload calls the pool, written
 * once for both clocks (issue 5: "one implementation of the rules, two
 * clocks").  It owns the jobs (an API request: one checkout; a batch lane:
 * its checkouts one after another, separated by the recorded gaps), the
 * batch chains of each process, the server threads, the mapping of
 * requests to pools, the wait and failure accounting in struct sim_result,
 * the events, and what it does with every outcome of pool.c.
 *
 * What it does not know is what time it is and what a connection is.  That
 * is the clock's: replay/sim.c (a heap of simulated events, connects that
 * take a fixed simulated time, max_connections as a count) and replay/live.c
 * (timers on CLOCK_MONOTONIC, libpq connections).  The clock supplies a
 * small ops table -- schedule a callback at or after a time, cancel one,
 * open a connection, use a pooled one, run a hold, close one -- and calls
 * the driver's entry points when what it asked for is due or done, always
 * passing `now` on the log's time line.  Every entry point may call back
 * into the ops (a checkin hands a connection to a waiter, which starts its
 * hold, ...).
 *
 * The ops are bound at compile time: the state machine is
 * replay/driver_impl.h, which each clock includes once and whose clock_*()
 * prototypes it then defines (the pattern of BSD's <sys/tree.h>).  Through
 * a table of function pointers the simulator's hot path (a checkout is a
 * handful of heap operations) ran 13.6 % more instructions than when the
 * driver was part of sim.c; bound, 0.8 % more.  This file and
 * replay/driver.c hold the cold half: set-up, events, totals.
 *
 * Jobs are small integers (slots reused through a free list, so memory
 * follows concurrency).  A job's generation `gen` changes whenever a
 * callback scheduled for it stops being wanted (it was served before its
 * deadline, it was freed); the clock hands back the gen it was given and
 * the driver ignores stale callbacks, so a clock need not cancel anything
 * (it may, to keep its timers few).
 */

enum drv_job_kind { DRV_JOB_API, DRV_JOB_LANE };
enum drv_job_state {
	DRV_JS_FREE,
	DRV_JS_WAITING,    /* blocked in the pool (has a deadline) */
	DRV_JS_CONNECTING, /* a connect for it is running */
	DRV_JS_HOLDING,    /* holds a connection */
	DRV_JS_GAP,        /* lane between two checkouts */
	DRV_JS_QUEUED      /* API request queued for a server thread */
};

/* Callbacks the driver asks a clock for; the clock answers with the
 * matching drv_*() call. */
enum drv_timer {
	DRV_T_WAKEUP,      /* drv_wakeup(): barging, a notified waiter runs */
	DRV_T_DEADLINE,    /* drv_deadline(): a waiter's pool timeout */
	DRV_T_LANE_STEP,   /* drv_lane_step(): a lane's gap is over */
	DRV_T_BATCH_START  /* drv_batch_start() (id = batch index, gen 0) */
};

#define DRV_NONE UINT32_MAX

struct drv_job {
	log_usec t_req;      /* this checkout was asked for */
	log_usec t_arrival;  /* API: the request arrived (latency base) */
	int64_t hold;        /* current hold, usec on the log's time line */
	struct pool_wait wait; /* while WAITING */
	uint32_t gen;
	uint32_t conn;       /* while CONNECTING/HOLDING */
	uint32_t idx;        /* request index, or batch index */
	uint32_t seg, seg_end; /* lane: next hold in wl->holds, end of the lane */
	uint16_t pool;
	uint8_t kind;        /* enum drv_job_kind */
	uint8_t state;       /* enum drv_job_state */
	uint8_t origin;
	uint8_t late;        /* connected at its deadline */
	uint8_t threaded;    /* holds one of its process's server threads */
	uint32_t next_free;
};

/* Per process: server threads (cfg->threads) and the requests queued for one. */
struct drv_proc {
	int32_t busy;
	uint32_t *q;         /* owned: ring of job slots */
	uint32_t qhead, qn, qalloc; /* qalloc: a power of two */
};

struct drv_batch {
	uint32_t lanes_left;
	uint32_t next;       /* next batch of the same process, DRV_NONE none */
	uint32_t prev;
	log_usec started;
	uint8_t running, done, pending, failed;
};

struct driver {
	const struct workload *wl;    /* borrowed */
	const struct sim_config *cfg; /* borrowed: pool settings, workers, threads */
	struct sim_sink sink;         /* emit NULL: no events */
	uint32_t event_flags;         /* EVENT_F_SIMULATED or EVENT_F_LIVE */
	struct sim_result *res;       /* borrowed: what is measured */
	void *clock;                  /* borrowed: the clock's own state */
	log_usec t0;                  /* the workload's start */
	/* pools: processes x engines */
	struct pool *pools;           /* owned */
	int32_t *pool_pid;            /* owned: pid shown in events for each pool */
	uint8_t *pool_engine;         /* owned */
	int32_t npools, nproc, nengines;
	int32_t *procs;               /* owned: distinct recorded pids (workers == 0), sorted */
	uint32_t api_rr;
	struct drv_proc *proc;        /* owned: nproc entries */
	bool releasing;               /* inside thread_release(): no nested draining */
	struct drv_batch *bs;         /* owned: per batch */
	/* jobs; pointers into it are valid until the next job_new (a drv_*() call) */
	struct drv_job *jobs;         /* owned */
	size_t njobs, jobs_alloc;
	uint32_t job_free;
	size_t live_jobs;             /* jobs not free */
	size_t ai;                    /* next API request to arrive */
	uint64_t failures;            /* timeouts + refusals so far */
	bool stopping;                /* set by the clock: start nothing new (lanes
				       * end, chains stop, queued requests stay) */
	/* http method/path split of names, for events */
	const char **ev_method, **ev_path; /* owned arrays */
	struct strtab ev_strings;
};

/*
 * Set up pools, processes and batch chains for wl under cfg.  res must be
 * initialised (zeroed, samples empty, first/last_timeout NONE); its start,
 * end and npools are set here.  Nothing is scheduled yet (drv_start() in
 * driver_impl.h does that).
 */
void drv_init(struct driver *d, const struct workload *wl, const struct sim_config *cfg,
	      struct sim_sink sink, uint32_t event_flags, void *clock, struct sim_result *res);
/* Pool counters, peaks and origins into res (once, at the end). */
void drv_totals(struct driver *d);
void drv_release(struct driver *d);

/* When the next API request arrives, LOG_USEC_NONE when all have. */
static inline log_usec drv_next_arrival(const struct driver *d)
{
	return d->ai < d->wl->nreq ? d->wl->req[d->ai].t : LOG_USEC_NONE;
}

/* Index of a recorded pid among d->procs (workers == 0); BUG() if unknown. */
int32_t drv_proc_index(const struct driver *d, int32_t pid);
static inline uint16_t drv_pool_of(const struct driver *d, int32_t proc, uint8_t engine)
{
	return (uint16_t)(proc * d->nengines + engine);
}
/* The pool batch b runs in: its process's (worker 0 with --workers). */
static inline uint16_t drv_batch_pool(const struct driver *d, uint32_t b)
{
	const struct wl_batch *wb = &d->wl->batch[b];
	int32_t proc = d->cfg->workers > 0 ? 0 : drv_proc_index(d, wb->pid);
	return drv_pool_of(d, proc, wb->engine);
}
/* Queue API request ji for a server thread of process p. */
void drv_thread_enqueue(struct driver *d, struct drv_proc *p, uint32_t ji);

/*
 * Events, in the shapes the parsers give them, flagged d->event_flags.
 * Each returns at once when d->sink.emit is NULL.  Borrowed pointers are
 * valid only during the call.
 */
/* An event of the driver's shape: pid, engine and flags of pool. */
void drv_event_init(const struct driver *d, struct event *ev, enum event_kind kind, log_usec t,
		    uint16_t pool);
/* pool_checkout/checkin/connect/close of conn; j NULL for a connection
 * whose job was dropped (origin unknown). */
void drv_emit_conn(struct driver *d, enum event_kind kind, log_usec t, uint16_t pool,
		   uint32_t conn, const struct drv_job *j, const char *text2);
void drv_emit_timeout(struct driver *d, log_usec t, const struct drv_job *j);
/* http_request of API job j ending at t (duration from its arrival). */
void drv_emit_http(struct driver *d, log_usec t, const struct drv_job *j, int status);
void drv_emit_batch(struct driver *d, enum event_kind kind, log_usec t, uint32_t b,
		    uint16_t pool);
/* pool_stats events for every pool. */
void drv_emit_stats(struct driver *d, log_usec now);
#endif
