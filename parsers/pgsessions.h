#ifndef POOLSCOPE_PGSESSIONS_H
#define POOLSCOPE_PGSESSIONS_H
#include <stddef.h>
#include <stdint.h>
#include "core/event.h"
/*
 * Concurrent PostgreSQL sessions over time, from the pg_connect /
 * pg_disconnect / FATAL events of one or more inputs.
 *
 * A session is keyed by (input, pid) and runs
 *   from  its pg_connect ("connection authorized"), or, when the log holds
 *         only its disconnection (it began before the log did), from the
 *         disconnection time minus the session time PostgreSQL printed;
 *   to    its pg_disconnect; or, when there is none, to the FATAL that
 *         ended it during start-up (too many clients / reserved slots after
 *         authorization, database does not exist: PostgreSQL logs no
 *         disconnection for those), or to the end of the log (still open).
 * Reconstructing spans from the disconnection's session time is how
 * pgBadger counts sessions open at the start of its input; on the PG 15
 * samples both give its "session peak 100 at 14:46:43".
 *
 * The peak is found by a sweep over the span ends; at equal times ends are
 * taken before starts (a session that ends when another starts does not
 * overlap it).
 */
struct pg_session_peak {
	int64_t peak;            /* most sessions open at once */
	log_usec at;             /* first time the peak was reached */
	uint64_t sessions;       /* spans reconstructed */
	uint64_t open_at_start;  /* disconnections without their connection */
	uint64_t open_at_end;    /* connections without disconnection or FATAL */
	uint64_t ended_by_fatal; /* sessions a start-up FATAL ended */
};

/* Compute over ev[0..n) (any order); events of other kinds are ignored. */
void pg_session_peak(const struct event *ev, size_t n, struct pg_session_peak *out);
#endif
