#ifndef POOLSCOPE_SWEEP_H
#define POOLSCOPE_SWEEP_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "replay/sim.h"
#include "replay/workload.h"
/*
 * A search over pool settings: pool size x max overflow x timeout x batch
 * size, one simulation per point, spread over threads (the points are
 * independent; each thread runs its own simulator over the shared,
 * read-only workload).
 *
 * "Cheapest" is the fewest connections PostgreSQL may have to hold for the
 * app: (pool_size + max_overflow) x processes.  A point is acceptable when
 * the model predicts no timeouts and no refusals, the wait p99 is within the
 * bound (if given) and the cost fits max_connections (if given).
 */

struct sweep_spec {
	int32_t size_lo, size_hi, size_step;
	int32_t ovf_lo, ovf_hi, ovf_step;
	int64_t timeout_lo, timeout_hi, timeout_step;
	int32_t *batch_sizes;     /* borrowed; 0 in the list = as recorded */
	size_t nbatch_sizes;      /* 0: only as recorded */
	struct wl_transform base; /* applied to every point (batch_size replaced) */
	double max_wait_p99_usec; /* < 0: no bound */
	int threads;              /* 0: every online core */
	bool full;                /* simulate failing points to the end too */
};
/* Defaults: size 1..30, overflow 0..30, timeout as recorded (or 30 s), step 1. */
void sweep_spec_init(struct sweep_spec *s);

struct sweep_point {
	int32_t pool_size, max_overflow;
	int64_t timeout_usec;
	int32_t batch_size;       /* 0 = as recorded */
	int32_t processes;
	int32_t cost;             /* (size + overflow) x processes */
	uint64_t timeouts, refusals, late, checkouts;
	double wait_p99_usec;
	int64_t wait_max_usec;
	int32_t peak_checked_out;
	bool complete;            /* simulated to the end (else counts are lower bounds) */
	bool simulated;           /* run itself, not copied from an equal-cap point */
	bool fits;                /* cost <= max_connections (or no limit) */
	bool ok;                  /* acceptable (see above) */
	bool frontier;            /* on the cost / wait-p99 Pareto frontier */
};

struct sweep_result {
	struct sweep_point *points; /* owned; batch size, timeout, size, overflow order */
	size_t npoints;
	size_t best;              /* index of the cheapest acceptable point, SIZE_MAX if none */
	int threads;
	size_t simulations;       /* simulator runs (<= npoints, see sweep.c) */
	uint64_t total_checkouts; /* simulated checkouts, over all runs */
	/* the heatmap slice: timeout and batch size of `best` (else the largest) */
	int64_t map_timeout_usec;
	int32_t map_batch_size;
};
void sweep_result_release(struct sweep_result *r);

/* Run every point.  cfg gives everything but the pool's size, overflow and
 * timeout (workers, max_connections, semantics, barging...).  Returns 0, or
 * -1 after error() (a transform failed, bad ranges). */
int sweep_run(const struct workload *wl, const struct sim_config *cfg,
	      const struct sweep_spec *spec, struct sweep_result *res);

/* Write the heatmap of timeouts over size x overflow (the map slice) as
 * DIR/sweep-timeouts.dat and DIR/sweep-timeouts.gp (PNG and SVG outputs
 * named in the script).  Returns 0 or -1 after error(). */
int sweep_write_heatmap(const struct sweep_result *r, const char *dir);
#endif
