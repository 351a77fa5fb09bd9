#ifndef POOLSCOPE_LIVE_H
#define POOLSCOPE_LIVE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "core/event.h"
#include "core/json.h"
#include "core/logtime.h"
#include "core/stats.h"
#include "replay/pool.h"
#include "replay/sim.h"
#include "replay/workload.h"
/*
 * Live replay: the recorded workload driven through real libpq connections
 * against a real PostgreSQL, managed by the SAME QueuePool rules as the model
 * (replay/pool.c): one implementation of the rules, two clocks.  The
 * simulator (replay/sim.c) feeds pool.c simulated time; the live loop feeds
 * it the real monotonic clock mapped onto the log's time line:
 *
 *     due(t) = start + (t - t0) / speed       (pgreplay's formula)
 *     vnow   = t0 + (mono_now() - start) * speed
 *
 * where t0 is the workload's start and `start` the moment the replay began.
 * Holds, gaps and the pool timeout are compressed by the same factor, so
 * pool.c sees the log's own seconds, and every figure reported (waits,
 * deadlines, event times) is on the log's time line and comparable with the
 * model.  What stays real: connect latency and round trips (stretched by
 * `speed` when mapped back) and the schedule lag.
 *
 * The workload is driven by the simulator's own driver (replay/driver.h:
 * the same jobs -- API requests, batch lanes with their gaps, batches
 * chained per process --, the same mapping of requests to pools, the same
 * wait and failure accounting, compiled from one source), so
 * live_result.sim has the meaning of a sim_result and is written by the
 * same code.  Each checkout pool.c grants runs on a real connection:
 * BEGIN READ ONLY, the transaction held open for the hold time (the server
 * sees `idle in transaction`) and ended with ROLLBACK; or, with
 * LIVE_HOLD_SLEEP, `SELECT pg_sleep(hold)` inside it and COMMIT.  Only
 * read-only SQL is ever sent.  MUST_CONNECT opens a real connection (its
 * latency is real and is hold, as in SQLAlchemy); a refused connect
 * (SQLSTATE 53300) is counted and the slot given back (reference 1.6); a
 * CLOSED checkin really closes it.
 *
 * Not carried over from the model's settings: pool.connect_usec and
 * pool.preping_usec (the network decides), sim.max_connections (the server
 * decides).
 */

enum live_hold_mode {
	LIVE_HOLD_IDLE = 0, /* BEGIN READ ONLY ... idle in transaction ... ROLLBACK */
	LIVE_HOLD_SLEEP     /* BEGIN READ ONLY; SELECT pg_sleep(hold) ... COMMIT */
};

struct live_opts {
	const char *dsn;          /* borrowed: --live; NULL or "-" = DATABASE_URL / PG* */
	struct sim_config model;  /* pool settings, workers, stats period: as for sim_run() */
	double speed;             /* time compression, > 0 (1 = real time) */
	const char *application_name; /* borrowed: [a-z0-9_-]+, "poolscope-replay"; the
				   * monitor counts the backends that carry it */
	enum live_hold_mode hold_mode;
	int64_t lag_warn_usec;    /* warn once when a start is this late (100 ms) */
	int64_t monitor_usec;     /* pg_stat_activity poll period (100 ms); 0 = no polling */
	int64_t drain_usec;       /* when cut short, time allowed for ROLLBACKs (2 s) */
	bool catch_signals;       /* SIGINT/SIGTERM end the run cleanly (the CLI sets it) */
	bool quiet;               /* no warnings on stderr */
	struct sim_sink sink;     /* events, flagged EVENT_F_LIVE; emit may be NULL */
};
/* speed 1, sim_config_init(), idle holds, 100 ms lag warning and monitor
 * period, 2 s drain, no signals, no events. */
void live_opts_init(struct live_opts *o);

enum live_status {
	LIVE_COMPLETED = 0, /* the whole workload was replayed */
	LIVE_INTERRUPTED,   /* SIGINT/SIGTERM: stopped early, partial result */
	LIVE_SERVER_GONE,   /* the server went away or dropped a connection */
	LIVE_FAILED         /* could not start or go on (bad DSN, auth, no database) */
};

struct live_sqlstate_count {
	char code[6];       /* "53300"; "" = none (connection refused, lost) */
	uint64_t n;
};

struct live_result {
	/* what the model reports, measured live (same meaning as from sim_run) */
	struct sim_result sim;

	enum live_status status;
	int signo;                 /* INTERRUPTED: the signal */
	char error[400];           /* not COMPLETED: one line, without "error: " */
	char server[128];          /* "user@host:port/db", never the password */
	int server_version;        /* PQserverVersion(), 0 unknown */

	/* progress through the workload (less than the workload's when cut short) */
	uint64_t requests_total, batches_total;
	uint64_t abandoned;        /* checkouts in flight when the run was cut short */

	/* the server's side */
	uint64_t connects;         /* real connections opened for the pools */
	uint64_t refusals;         /* connects refused with 53300 */
	struct live_sqlstate_count *errors; /* owned: errors by SQLSTATE, first-seen order */
	size_t nerrors, errors_alloc;
	int64_t peak_backends;     /* pg_stat_activity rows of the replay, -1 unknown */
	int64_t max_connections;   /* SHOW max_connections, -1 unknown */
	int64_t reserved_connections; /* SHOW superuser_reserved_connections, -1 unknown */
	uint64_t rolled_back;      /* transactions open when the run was cut short */

	/* scheduling */
	double speed;
	struct sample lag_usec;    /* per start (request, lane step, batch): actual - due */
	int64_t elapsed_usec;      /* real time of the replay */
	uint64_t loop_wakeups;     /* event-loop iterations (benchmark) */
	int64_t max_io_usec, max_timer_usec; /* longest callbacks (benchmark) */
};
void live_result_init(struct live_result *r);
void live_result_release(struct live_result *r);
const char *live_status_name(enum live_status s);

/*
 * Replay wl against the server.  Blocks for about the workload's span /
 * speed.  Returns 0 when the run completed and -1 otherwise; either way r
 * holds what was measured, r->status says why it ended and r->error the
 * one-line reason (printed by the caller, not here; empty when a DSN that
 * cannot be parsed was already reported through error()).  Warnings (lag)
 * go to stderr unless o->quiet.
 */
int live_replay_run(const struct workload *wl, const struct live_opts *o,
		    struct live_result *r);

/*
 * Write the live-only keys into the JSON object w is inside: "live"
 * {status, error, speed, hold_mode, elapsed_s, requests, requests_total,
 * batches, batches_total, abandoned, rolled_back}, "server" {version,
 * max_connections, reserved_connections, connects, refusals, errors
 * {SQLSTATE: n}, peak_backends} and "lag_s" {p50, p95, p99, max}.  The
 * model's "result" keys come from r->sim, written by the replay command's
 * own writer.  Sorts r's samples.
 */
void live_result_json(struct jw *w, struct live_result *r, const struct live_opts *o);
/* The same as a few lines of text. */
void live_result_print(FILE *fp, struct live_result *r, const struct live_opts *o);
/*
 * --compare-model: the model's prediction (sim_run() on the same workload
 * and settings) beside the live figures, as a table (metric, model, live,
 * live - model and the relative difference), or as a JSON "compare" object
 * {metric: {model, live}} in fixed order.  Sorts the wait samples.
 */
void live_compare_print(FILE *fp, struct sim_result *model, struct live_result *live);
void live_compare_json(struct jw *w, struct sim_result *model, struct live_result *live);
/* Exit code for a finished run: 0, 130 (interrupted) or 2 (server gone,
 * failed). */
int live_exit_code(const struct live_result *r);
#endif
