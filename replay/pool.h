#ifndef POOLSCOPE_POOL_H
#define POOLSCOPE_POOL_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/logtime.h"
/*
 * SQLAlchemy's QueuePool as a clock-agnostic state machine: one
 * implementation of the rules, driven by two clocks (the discrete-event
 * simulator in replay/sim.c and the live libpq replay).  The caller passes
 * `now` into every call; the pool never reads a clock and never schedules
 * anything.  When a call says "wait until T" or "connect", the caller arranges
 * for the matching pool_deadline()/pool_connect_done() call later.
 *
 * The rules (../shared/reference/sqlalchemy-pool.md, sections 1.3, 1.4, 1.9
 * and 7) are written out beside the code in pool.c.  In short:
 *   - an idle connection is always taken first (FIFO, or LIFO with use_lifo);
 *   - else a new connection while overflow < max_overflow (the slot is
 *     reserved before the connect, and connect time is hold, not wait);
 *   - else the caller waits, with ONE total deadline = arrival + timeout;
 *   - at the deadline it fails only if overflow >= max_overflow still holds,
 *     else it connects and succeeds late;
 *   - a checkin when pool_size records are idle closes the connection
 *     (overflow -= 1) and wakes nobody;
 *   - waiters are served FIFO.  Without barging (default) a returned record
 *     goes straight to the oldest waiter.  With barging the record is put in
 *     the queue and the oldest waiter is only *notified*: it runs wake_lag
 *     later (the GIL switch interval), and a newcomer arriving in between
 *     takes the record first (#7679); the robbed waiter queues again at the
 *     back with its remaining time.
 *
 * Connections are small integers (0, 1, ...), reused after a close the way a
 * DBAPI object address is.  Waiters are named by the caller (waiter_id, e.g.
 * a request index) and addressed by the handle pool_checkout() returns.
 *
 * Impossible calls (checkin of a connection that is not checked out, a
 * connect_done for a connection that is not connecting) are bugs: BUG().
 */

enum pool_semantics {
	POOL_SQLA_14 = 14, /* pool_size=0: no queue maximum, capped at max_overflow */
	POOL_SQLA_20 = 20  /* pool_size=0: max_overflow forced to -1 (unlimited) */
};

struct pool_config {
	int32_t pool_size;      /* >= 0 */
	int32_t max_overflow;   /* >= -1; -1 = no limit, never waits */
	int64_t timeout_usec;   /* >= 0; 0 = fail at once when at the cap */
	bool use_lifo;          /* pool_use_lifo */
	enum pool_semantics semantics;
	bool barging;           /* see above; off = idealised FIFO handoff */
	int64_t wake_lag_usec;  /* barging: notify -> waiter runs (default 5 ms) */
	/*
	 * Hold-time add-ons, applied by the caller (they are hold, not wait;
	 * reference 7.6): connect latency of a new connection, pre-ping per
	 * checkout of a pooled connection, and recycle (pool_recycle, -1 off):
	 * a pooled connection older than this is reconnected at checkout.
	 */
	int64_t connect_usec;
	int64_t preping_usec;
	int64_t recycle_usec;
};
/* SQLAlchemy's defaults: 5/10/30 s, FIFO, 2.0 semantics, no barging. */
void pool_config_init(struct pool_config *c);
/* "SIZE/OVERFLOW/TIMEOUT" (timeout in seconds, decimals allowed), e.g.
 * "20/30/45".  Returns 0, or -1 (no message) if malformed. */
int pool_config_from_string(struct pool_config *c, const char *s);

enum pool_outcome {
	POOL_GOT_IDLE,      /* checkout/deadline/wakeup: res.conn is the caller's */
	POOL_MUST_CONNECT,  /* checkout: slot reserved as res.conn; connect, then
			     * pool_connect_done() or pool_connect_failed() */
	POOL_CONNECT_LATE,  /* deadline: not at the cap any more; as MUST_CONNECT,
			     * the checkout succeeds after waiting the full timeout */
	POOL_MUST_WAIT,     /* checkout: call pool_deadline(res.wait) at res.deadline */
	POOL_TIMEOUT,       /* checkout (timeout 0) or deadline: TimeoutError */
	POOL_QUEUED,        /* checkin: record kept idle, nobody woken */
	POOL_QUEUED_NOTIFY, /* checkin (barging): kept idle and waiter res.waiter_id
			     * notified; call pool_wakeup(res.wait) at now + wake_lag */
	POOL_HANDED,        /* checkin (no barging): res.conn now belongs to waiter
			     * res.waiter_id, which stops waiting */
	POOL_CLOSED,        /* checkin: queue full, record closed, nobody woken */
	POOL_STALE          /* deadline/wakeup for a handle that no longer waits */
};

/* A waiter handle: a slot and the generation it was issued with. */
struct pool_wait {
	uint32_t slot;
	uint32_t seq;
};

struct pool_result {
	enum pool_outcome outcome;
	uint32_t conn;        /* the connection concerned, where one is */
	bool recycled;        /* GOT_IDLE, HANDED: older than recycle; caller reconnects */
	struct pool_wait wait; /* MUST_WAIT: own handle; QUEUED_NOTIFY: the woken one */
	uint64_t waiter_id;   /* HANDED, QUEUED_NOTIFY: who */
	log_usec deadline;    /* MUST_WAIT */
};

struct pool_counters {
	uint64_t checkouts;      /* successful checkouts (idle, new, handed, late) */
	uint64_t connects;       /* connects started */
	uint64_t connect_failures;
	uint64_t closes;         /* records closed at checkin (queue full) */
	uint64_t timeouts;
	uint64_t waits;          /* checkouts that had to wait */
	uint64_t late;           /* waiters that connected at their deadline */
	uint64_t handoffs;       /* records handed straight to a waiter */
	uint64_t notifies;       /* barging: waiters notified */
	uint64_t robbed;         /* barging: woken waiters that found the queue empty */
	uint64_t recycles;
	int32_t peak_checked_out;
	int32_t peak_overflow;   /* of the SQLAlchemy counter (may stay negative) */
	int32_t peak_open;       /* idle + checked out */
	int32_t peak_waiters;
};

enum pool_conn_state {
	POOL_CONN_FREE = 0, /* id not in use */
	POOL_CONN_CONNECTING,
	POOL_CONN_OUT,
	POOL_CONN_IDLE
};

struct pool_waiter {
	uint64_t id;          /* caller's name for it */
	log_usec deadline;
	uint32_t seq;
	uint32_t prev, next;  /* FIFO links (WAITING), free list (next) */
	uint8_t state;        /* enum in pool.c */
};

struct pool {
	struct pool_config cfg;  /* max_overflow already adjusted (2.0, size 0) */
	bool use_overflow;       /* max_overflow > -1 */
	int32_t overflow;        /* SQLAlchemy's _overflow: open records - pool_size */
	int32_t checked_out;     /* connecting + in use */
	int32_t waiters;         /* waiting + notified */
	/* idle records: a ring of connection ids */
	uint32_t *idle;          /* owned */
	uint32_t idle_head, idle_nr, idle_alloc; /* idle_alloc: a power of two */
	/* connections */
	uint8_t *conn_state;     /* owned: enum pool_conn_state by id */
	log_usec *conn_born;     /* owned: connect time (recycle) */
	uint32_t nconn;
	size_t conn_alloc;
	uint32_t *free_ids;      /* owned: closed ids to reuse (a stack) */
	size_t nfree, free_alloc;
	/* waiters */
	struct pool_waiter *w;   /* owned */
	uint32_t nw, w_alloc;
	uint32_t w_head, w_tail, w_free; /* POOL_NIL if none */
	struct pool_counters c;
};
#define POOL_NIL UINT32_MAX

void pool_init(struct pool *p, const struct pool_config *cfg);
void pool_release(struct pool *p);

/* A caller wants a connection at `now`.  waiter_id names it if it must wait. */
void pool_checkout(struct pool *p, log_usec now, uint64_t waiter_id, struct pool_result *res);
/* The connect for conn (MUST_CONNECT / CONNECT_LATE) finished. */
void pool_connect_done(struct pool *p, log_usec now, uint32_t conn);
/* It failed (e.g. PostgreSQL "too many clients"): the slot is given back at
 * once and nobody is woken (reference 1.6); the checkout fails. */
void pool_connect_failed(struct pool *p, log_usec now, uint32_t conn);
/* conn is returned.  res says whether it was kept, handed or closed. */
void pool_checkin(struct pool *p, log_usec now, uint32_t conn, struct pool_result *res);
/* A waiter's deadline came: GOT_IDLE (barging: the queue holds a record),
 * CONNECT_LATE, TIMEOUT, or STALE if it was served already. */
void pool_deadline(struct pool *p, log_usec now, struct pool_wait h, struct pool_result *res);
/* Barging: a notified waiter runs: GOT_IDLE, or MUST_WAIT again (at the back,
 * same deadline), or STALE. */
void pool_wakeup(struct pool *p, log_usec now, struct pool_wait h, struct pool_result *res);
/* Drop a waiter (its caller went away); no-op for a stale handle. */
void pool_cancel_wait(struct pool *p, struct pool_wait h);

static inline int32_t pool_idle(const struct pool *p)
{
	return (int32_t)p->idle_nr;
}
static inline int32_t pool_open(const struct pool *p)
{
	return p->checked_out + (int32_t)p->idle_nr;
}
/* The cap on open connections, or -1 if unlimited. */
int32_t pool_capacity(const struct pool *p);
const char *pool_outcome_name(enum pool_outcome o);
#endif
