#ifndef POOLSCOPE_SIM_H
#define POOLSCOPE_SIM_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/event.h"
#include "core/logtime.h"
#include "core/stats.h"
#include "replay/pool.h"
#include "replay/workload.h"
/*
 * The discrete-event simulator: drives a workload through one pool model
 * (replay/pool.h) per process and engine, on a simulated clock.
 *
 * Deterministic: no clock, no randomness (the transforms that need a seed
 * run before, in workload_transform()).  Events at the same microsecond run
 * in a fixed order: connect completions, checkins, barging wake-ups,
 * deadlines, lane steps, batch starts, arrivals; within one kind in the
 * order they were scheduled.
 *
 * Processes: with workers = 0 every distinct recorded pid gets its own pool
 * (one pool if the log shows none); with workers = N, API requests are dealt
 * round-robin over N pools in arrival order and batches run in worker 0.
 * Each engine index within a process is a further pool.  PostgreSQL's
 * max_connections is a limit across all of them: a connect that would pass
 * it is refused (FATAL 53300), the pool gives the slot back (reference 1.6)
 * and the checkout fails; it is counted as a refusal.
 */

struct sim_config {
	struct pool_config pool;  /* per pool */
	int32_t workers;          /* 0: by recorded pid */
	int32_t max_connections;  /* 0: no limit */
	int32_t threads;          /* server threads per process for API requests
				   * (anyio: 40, gthread: --threads); 0: no limit */
	int64_t stats_every_usec; /* pool_stats sample period in emitted events (0: none) */
	bool keep_waits;          /* collect waits for percentiles (default on) */
	bool stop_at_failure;     /* end the run at the first timeout or refusal
				   * (sweeps: such a point is out anyway) */
};
void sim_config_init(struct sim_config *c);

/* Wait statistics.  A wait is the time a checkout spent blocked in the pool
 * (what counts toward the timeout); a timed-out checkout counts its full
 * wait.  Percentiles: type 7 over all checkouts, zeros included. */
struct sim_waits {
	uint64_t zero;            /* checkouts that did not wait */
	struct sample nonzero;    /* usec of the others */
};

struct sim_origin {
	uint64_t attempts;   /* checkouts asked for */
	uint64_t checkouts;  /* obtained */
	uint64_t waited;     /* obtained or failed after waiting */
	uint64_t timeouts;
	uint64_t refusals;   /* connect refused: max_connections */
	uint64_t late;       /* connected at the deadline (late success) */
	struct sim_waits waits;
};

struct sim_result {
	uint64_t requests;       /* API requests driven */
	uint64_t requests_failed;
	uint64_t batches, batches_failed;  /* a batch fails if a lane ended early */
	uint64_t lanes_aborted;  /* commit-once lanes that timed out */
	uint64_t groups_skipped; /* commit-per-group checkouts that failed */
	uint64_t checkouts, timeouts, refusals, late, connects, closes, handoffs;
	int32_t peak_checked_out; /* highest per pool */
	int32_t peak_overflow;    /* highest per pool (SQLAlchemy counter) */
	int32_t peak_open_total;  /* all pools together (PostgreSQL's view) */
	int32_t peak_waiters;
	int32_t peak_server_queue; /* requests queued for a server thread */
	uint64_t server_queued;    /* requests that queued for a thread */
	int32_t npools;
	struct sim_origin origin[ORIGIN__COUNT]; /* by origin of the caller */
	struct sim_origin all;    /* every origin together */
	log_usec start, end;     /* simulated span */
	log_usec first_timeout, last_timeout;
	uint64_t sim_events;     /* events processed (for the benchmark) */
	bool stopped;            /* stop_at_failure ended the run early: counts are
				  * lower bounds */
};
void sim_result_release(struct sim_result *r);
/* Percentile p (0..100) of waits in usec. */
double sim_waits_percentile(struct sim_waits *w, double p);
int64_t sim_waits_max(struct sim_waits *w);

/* Where simulated events go; NULL emit = none (faster).  The event and its
 * strings are valid only during the call. */
struct sim_sink {
	void (*emit)(void *data, const struct event *ev);
	void *data;
};

/*
 * Run the workload to the end (every request and batch finished).
 * result is filled (release with sim_result_release()).  Returns 0.
 */
int sim_run(const struct workload *wl, const struct sim_config *cfg, struct sim_sink sink,
	    struct sim_result *result);
#endif
