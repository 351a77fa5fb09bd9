#include <criterion/criterion.h>
#include <math.h>
#include <signal.h>
#include "replay/pool.h"

/*
 * Each rule of the QueuePool model pinned with a tiny scenario that can be
 * checked by hand (section numbers: ../shared/reference/sqlalchemy-pool.md).
 * Times are microseconds from 0.
 */
#define S(x) ((log_usec)llround((x) * 1000000.0))

static void cfg(struct pool_config *c, int size, int ovf, double timeout_s)
{
	pool_config_init(c);
	c->pool_size = size;
	c->max_overflow = ovf;
	c->timeout_usec = S(timeout_s);
}

static uint32_t must_connect(struct pool *p, log_usec now, uint64_t id)
{
	struct pool_result r;
	pool_checkout(p, now, id, &r);
	cr_assert_eq(r.outcome, POOL_MUST_CONNECT, "id %llu: %s", (unsigned long long)id,
		     pool_outcome_name(r.outcome));
	pool_connect_done(p, now, r.conn);
	return r.conn;
}

static struct pool_wait must_wait(struct pool *p, log_usec now, uint64_t id, log_usec deadline)
{
	struct pool_result r;
	pool_checkout(p, now, id, &r);
	cr_assert_eq(r.outcome, POOL_MUST_WAIT, "id %llu: %s", (unsigned long long)id,
		     pool_outcome_name(r.outcome));
	cr_assert_eq(r.deadline, deadline);
	return r.wait;
}

/* The scenario: size 2, overflow 1, timeout 1 s, four 5 s holds
 * arriving together: three connect, the fourth waits and times out at 1 s
 * (ref 1.3); at 5 s two go back to the queue and the third is closed (1.4). */
Test(pool, four_holds_one_timeout_at_1s)
{
	struct pool_config c;
	struct pool p;
	struct pool_result r;
	uint32_t conn[3];
	struct pool_wait w;
	cfg(&c, 2, 1, 1.0);
	pool_init(&p, &c);
	cr_assert_eq(p.overflow, -2);
	for (int i = 0; i < 3; i++)
		conn[i] = must_connect(&p, 0, (uint64_t)i);
	cr_assert_eq(p.overflow, 1);
	cr_assert_eq(p.checked_out, 3);
	w = must_wait(&p, 0, 3, S(1));
	cr_assert_eq(p.waiters, 1);
	pool_deadline(&p, S(1), w, &r);
	cr_assert_eq(r.outcome, POOL_TIMEOUT);
	cr_assert_eq(p.c.timeouts, 1);
	cr_assert_eq(p.waiters, 0);
	pool_checkin(&p, S(5), conn[0], &r);
	cr_assert_eq(r.outcome, POOL_QUEUED);
	pool_checkin(&p, S(5), conn[1], &r);
	cr_assert_eq(r.outcome, POOL_QUEUED);
	pool_checkin(&p, S(5), conn[2], &r);
	cr_assert_eq(r.outcome, POOL_CLOSED);
	cr_assert_eq(p.overflow, 0);
	cr_assert_eq(pool_idle(&p), 2);
	cr_assert_eq(p.c.checkouts, 3);
	cr_assert_eq(p.c.peak_checked_out, 3);
	cr_assert_eq(p.c.peak_overflow, 1);
	pool_release(&p);
}

/* Idle records first: a pooled connection is reused, no connect (ref 1.3). */
Test(pool, idle_first_then_new)
{
	struct pool_config c;
	struct pool p;
	struct pool_result r;
	uint32_t a;
	cfg(&c, 2, 1, 1.0);
	pool_init(&p, &c);
	a = must_connect(&p, 0, 0);
	pool_checkin(&p, S(1), a, &r);
	cr_assert_eq(r.outcome, POOL_QUEUED);
	pool_checkout(&p, S(2), 1, &r);
	cr_assert_eq(r.outcome, POOL_GOT_IDLE);
	cr_assert_eq(r.conn, a);
	cr_assert_eq(p.c.connects, 1);
	/* queue empty and a slot free: connect, never wait */
	pool_checkout(&p, S(2), 2, &r);
	cr_assert_eq(r.outcome, POOL_MUST_CONNECT);
	cr_assert_neq(r.conn, a);
	pool_release(&p);
}

/* Waiters are served oldest first; a record returned while someone waits
 * goes straight to the oldest waiter, never to the queue (ref 1.5, 7.3). */
Test(pool, fifo_handoff)
{
	struct pool_config c;
	struct pool p;
	struct pool_result r;
	uint32_t a;
	struct pool_wait w[3];
	cfg(&c, 1, 0, 10.0);
	pool_init(&p, &c);
	a = must_connect(&p, 0, 100);
	for (int i = 0; i < 3; i++)
		w[i] = must_wait(&p, S(i + 1) / 10, (uint64_t)i, S(10) + S(i + 1) / 10);
	for (int i = 0; i < 3; i++) {
		pool_checkin(&p, S(i + 1), a, &r);
		cr_assert_eq(r.outcome, POOL_HANDED);
		cr_assert_eq(r.waiter_id, (uint64_t)i);
		cr_assert_eq(r.conn, a);
		cr_assert_eq(pool_idle(&p), 0);
	}
	/* served waiters' deadlines are stale */
	pool_deadline(&p, S(10.1), w[0], &r);
	cr_assert_eq(r.outcome, POOL_STALE);
	cr_assert_eq(p.c.timeouts, 0);
	cr_assert_eq(p.c.handoffs, 3);
	cr_assert_eq(p.c.checkouts, 4);
	pool_release(&p);
}

/* A connect failure gives its slot back and wakes nobody (ref 1.6); the
 * waiter finds the slot free at its deadline and succeeds late, after
 * exactly `timeout` (ref 1.3, 7.4). A newcomer in between connects at once. */
Test(pool, connect_failure_then_late_success)
{
	struct pool_config c;
	struct pool p;
	struct pool_result r, r2;
	struct pool_wait w;
	cfg(&c, 1, 1, 1.0);
	pool_init(&p, &c);
	must_connect(&p, 0, 0);
	pool_checkout(&p, 0, 1, &r);
	cr_assert_eq(r.outcome, POOL_MUST_CONNECT);
	w = must_wait(&p, S(0.001), 2, S(1.001));
	pool_connect_failed(&p, S(0.010), r.conn);
	cr_assert_eq(p.overflow, 0);
	cr_assert_eq(p.waiters, 1, "a failed connect must not wake a waiter");
	pool_deadline(&p, S(1.001), w, &r2);
	cr_assert_eq(r2.outcome, POOL_CONNECT_LATE);
	cr_assert_eq(p.c.late, 1);
	cr_assert_eq(p.c.timeouts, 0);
	cr_assert_eq(p.overflow, 1);
	cr_assert_eq(p.c.connect_failures, 1);
	pool_release(&p);
}

/* A waiter still at the cap at its deadline fails; one not at the cap does
 * not.  With a free slot a newcomer connects even while others wait. */
Test(pool, newcomer_connects_past_waiters_when_a_slot_is_free)
{
	struct pool_config c;
	struct pool p;
	struct pool_result r;
	cfg(&c, 0, 2, 1.0);
	c.semantics = POOL_SQLA_14;
	pool_init(&p, &c);
	must_connect(&p, 0, 0);
	pool_checkout(&p, 0, 1, &r);
	cr_assert_eq(r.outcome, POOL_MUST_CONNECT);
	must_wait(&p, 0, 2, S(1));
	pool_connect_failed(&p, S(0.5), r.conn);
	pool_checkout(&p, S(0.6), 3, &r);
	cr_assert_eq(r.outcome, POOL_MUST_CONNECT, "the newcomer overtakes the waiter");
	pool_release(&p);
}

/* exp3b (ref 1.4, 7.3), barging mode: two checkins with no gap while two
 * waiters wait.  The first is queued and notifies W1; the second finds the
 * queue full (pool_size 1 idle) and closes its connection, waking nobody.
 * W1 takes the record after the wake lag; W2 sleeps to its deadline, finds
 * a free slot and connects: ok after exactly 1.0 s. */
Test(pool, barging_close_without_wake_gives_late_success)
{
	struct pool_config c;
	struct pool p;
	struct pool_result r, wake;
	uint32_t a, b;
	struct pool_wait w1, w2;
	cfg(&c, 1, 1, 1.0);
	c.barging = true;
	pool_init(&p, &c);
	a = must_connect(&p, 0, 0);
	b = must_connect(&p, 0, 1);
	w1 = must_wait(&p, S(0.1), 11, S(1.1));
	w2 = must_wait(&p, S(0.1), 12, S(1.1));
	pool_checkin(&p, S(0.5), a, &wake);
	cr_assert_eq(wake.outcome, POOL_QUEUED_NOTIFY);
	cr_assert_eq(wake.waiter_id, 11);
	pool_checkin(&p, S(0.5), b, &r);
	cr_assert_eq(r.outcome, POOL_CLOSED);
	cr_assert_eq(p.waiters, 2);
	pool_wakeup(&p, S(0.5) + c.wake_lag_usec, wake.wait, &r);
	cr_assert_eq(r.outcome, POOL_GOT_IDLE);
	cr_assert_eq(r.conn, a);
	(void)w1;
	pool_deadline(&p, S(1.1), w2, &r);
	cr_assert_eq(r.outcome, POOL_CONNECT_LATE);
	cr_assert_eq(p.c.timeouts, 0);
	cr_assert_eq(p.c.late, 1);
	pool_release(&p);
}

/* Same, with a 50 ms gap between the checkins: each waiter is notified in
 * turn and gets a record at once (exp3b's second case). */
Test(pool, barging_with_gap_serves_both)
{
	struct pool_config c;
	struct pool p;
	struct pool_result r, wake;
	uint32_t a, b;
	cfg(&c, 1, 1, 1.0);
	c.barging = true;
	pool_init(&p, &c);
	a = must_connect(&p, 0, 0);
	b = must_connect(&p, 0, 1);
	must_wait(&p, S(0.1), 11, S(1.1));
	must_wait(&p, S(0.1), 12, S(1.1));
	pool_checkin(&p, S(0.5), a, &wake);
	pool_wakeup(&p, S(0.505), wake.wait, &r);
	cr_assert_eq(r.outcome, POOL_GOT_IDLE);
	pool_checkin(&p, S(0.55), b, &wake);
	cr_assert_eq(wake.outcome, POOL_QUEUED_NOTIFY);
	cr_assert_eq(wake.waiter_id, 12);
	pool_wakeup(&p, S(0.555), wake.wait, &r);
	cr_assert_eq(r.outcome, POOL_GOT_IDLE);
	cr_assert_eq(r.conn, b);
	cr_assert_eq(p.c.late + p.c.timeouts, 0);
	pool_release(&p);
}

/* Barging: a newcomer arriving within the wake lag takes the record; the
 * robbed waiter goes to the back with its ORIGINAL deadline (one total
 * wait, ref 1.3) and times out there. */
Test(pool, barging_robbed_waiter_keeps_deadline)
{
	struct pool_config c;
	struct pool p;
	struct pool_result r, wake, n;
	uint32_t a;
	struct pool_wait w;
	cfg(&c, 1, 0, 1.0);
	c.barging = true;
	pool_init(&p, &c);
	a = must_connect(&p, 0, 0);
	w = must_wait(&p, 0, 1, S(1));
	pool_checkin(&p, S(0.5), a, &wake);
	cr_assert_eq(wake.outcome, POOL_QUEUED_NOTIFY);
	pool_checkout(&p, S(0.501), 2, &n);
	cr_assert_eq(n.outcome, POOL_GOT_IDLE, "newcomer barges in");
	pool_wakeup(&p, S(0.505), wake.wait, &r);
	cr_assert_eq(r.outcome, POOL_MUST_WAIT);
	cr_assert_eq(r.deadline, S(1));
	cr_assert_eq(p.c.robbed, 1);
	pool_deadline(&p, S(1), w, &r);
	cr_assert_eq(r.outcome, POOL_TIMEOUT);
	pool_release(&p);
}

/* Without barging the same newcomer must wait behind the served waiter. */
Test(pool, no_barging_newcomer_waits)
{
	struct pool_config c;
	struct pool p;
	struct pool_result r;
	uint32_t a;
	cfg(&c, 1, 0, 1.0);
	pool_init(&p, &c);
	a = must_connect(&p, 0, 0);
	must_wait(&p, 0, 1, S(1));
	pool_checkin(&p, S(0.5), a, &r);
	cr_assert_eq(r.outcome, POOL_HANDED);
	cr_assert_eq(r.waiter_id, 1);
	must_wait(&p, S(0.501), 2, S(1.501));
	pool_release(&p);
}

/* timeout=0 fails at once at the cap (ref 1.3 [exp]: 0.0 s). */
Test(pool, timeout_zero_fails_immediately)
{
	struct pool_config c;
	struct pool p;
	struct pool_result r;
	cfg(&c, 1, 0, 0);
	pool_init(&p, &c);
	must_connect(&p, 0, 0);
	pool_checkout(&p, S(0.2), 1, &r);
	cr_assert_eq(r.outcome, POOL_TIMEOUT);
	cr_assert_eq(p.c.timeouts, 1);
	cr_assert_eq(p.waiters, 0);
	pool_release(&p);
}

/* max_overflow=-1: no limit, never waits; size 1 with 5 out -> overflow 4
 * (ref 1.9 [exp]).  Returns beyond pool_size idle are closed. */
Test(pool, unlimited_overflow)
{
	struct pool_config c;
	struct pool p;
	struct pool_result r;
	uint32_t conn[5];
	cfg(&c, 1, -1, 1.0);
	pool_init(&p, &c);
	for (int i = 0; i < 5; i++)
		conn[i] = must_connect(&p, 0, (uint64_t)i);
	cr_assert_eq(p.overflow, 4);
	cr_assert_eq(pool_capacity(&p), -1);
	pool_checkin(&p, S(1), conn[0], &r);
	cr_assert_eq(r.outcome, POOL_QUEUED);
	for (int i = 1; i < 5; i++) {
		pool_checkin(&p, S(1), conn[i], &r);
		cr_assert_eq(r.outcome, POOL_CLOSED);
	}
	cr_assert_eq(p.overflow, 0);
	pool_release(&p);
}

/* pool_size=0 (ref 1.9): 1.4 caps at max_overflow and keeps every returned
 * record; 2.0 forces max_overflow=-1: unlimited, never times out. */
Test(pool, size_zero_14_vs_20)
{
	struct pool_config c;
	struct pool p14, p20;
	struct pool_result r;
	uint32_t a, b, d;
	struct pool_wait w;
	cfg(&c, 0, 2, 1.0);
	c.semantics = POOL_SQLA_14;
	pool_init(&p14, &c);
	a = must_connect(&p14, 0, 0);
	b = must_connect(&p14, 0, 1);
	cr_assert_eq(pool_capacity(&p14), 2);
	w = must_wait(&p14, 0, 2, S(1));
	pool_deadline(&p14, S(1), w, &r);
	cr_assert_eq(r.outcome, POOL_TIMEOUT);
	pool_checkin(&p14, S(2), a, &r);
	cr_assert_eq(r.outcome, POOL_QUEUED);
	pool_checkin(&p14, S(2), b, &r);
	cr_assert_eq(r.outcome, POOL_QUEUED, "1.4 size 0: the queue has no maximum");
	cr_assert_eq(p14.overflow, 2);
	pool_release(&p14);

	c.semantics = POOL_SQLA_20;
	pool_init(&p20, &c);
	a = must_connect(&p20, 0, 0);
	b = must_connect(&p20, 0, 1);
	d = must_connect(&p20, 0, 2);
	cr_assert_eq(pool_capacity(&p20), -1);
	cr_assert_eq(p20.overflow, 3);
	pool_checkin(&p20, S(2), a, &r);
	cr_assert_eq(r.outcome, POOL_QUEUED);
	pool_checkin(&p20, S(2), b, &r);
	pool_checkin(&p20, S(2), d, &r);
	cr_assert_eq(r.outcome, POOL_QUEUED);
	cr_assert_eq(pool_idle(&p20), 3);
	cr_assert_eq(p20.c.timeouts, 0);
	pool_release(&p20);
}

/* use_lifo takes the record returned last; FIFO the one returned first. */
Test(pool, lifo_vs_fifo)
{
	for (int lifo = 0; lifo <= 1; lifo++) {
		struct pool_config c;
		struct pool p;
		struct pool_result r;
		uint32_t a, b;
		cfg(&c, 2, 0, 1.0);
		c.use_lifo = lifo;
		pool_init(&p, &c);
		a = must_connect(&p, 0, 0);
		b = must_connect(&p, 0, 1);
		pool_checkin(&p, S(1), a, &r);
		pool_checkin(&p, S(2), b, &r);
		pool_checkout(&p, S(3), 2, &r);
		cr_assert_eq(r.outcome, POOL_GOT_IDLE);
		cr_assert_eq(r.conn, lifo ? b : a, "lifo=%d", lifo);
		pool_release(&p);
	}
}

/* pool_recycle: a pooled record older than recycle is reconnected at
 * checkout; the age counts from its connect, not its last use (ref 1.7). */
Test(pool, recycle_by_age_from_connect)
{
	struct pool_config c;
	struct pool p;
	struct pool_result r;
	uint32_t a;
	cfg(&c, 1, 0, 1.0);
	c.recycle_usec = S(30);
	pool_init(&p, &c);
	a = must_connect(&p, 0, 0);
	pool_checkin(&p, S(29), a, &r);
	pool_checkout(&p, S(29.5), 1, &r);
	cr_assert_eq(r.outcome, POOL_GOT_IDLE);
	cr_assert_not(r.recycled);
	pool_checkin(&p, S(29.9), a, &r);
	pool_checkout(&p, S(30.5), 2, &r);
	cr_assert(r.recycled);
	cr_assert_eq(p.c.recycles, 1);
	pool_release(&p);
}

/* Waiter slots are reused; a stale handle from an earlier generation is
 * recognised. */
Test(pool, stale_handles_after_reuse)
{
	struct pool_config c;
	struct pool p;
	struct pool_result r;
	uint32_t a;
	struct pool_wait w1, w2;
	cfg(&c, 1, 0, 5.0);
	pool_init(&p, &c);
	a = must_connect(&p, 0, 0);
	w1 = must_wait(&p, 0, 1, S(5));
	pool_checkin(&p, S(1), a, &r);
	cr_assert_eq(r.outcome, POOL_HANDED);
	w2 = must_wait(&p, S(2), 2, S(7));
	cr_assert_eq(w1.slot, w2.slot);
	pool_deadline(&p, S(5), w1, &r);
	cr_assert_eq(r.outcome, POOL_STALE);
	cr_assert_eq(p.waiters, 1);
	pool_cancel_wait(&p, w2);
	cr_assert_eq(p.waiters, 0);
	pool_release(&p);
}

Test(pool, checkin_of_idle_connection_is_a_bug, .signal = SIGABRT)
{
	struct pool_config c;
	struct pool p;
	struct pool_result r;
	uint32_t a;
	cfg(&c, 1, 0, 1.0);
	pool_init(&p, &c);
	a = must_connect(&p, 0, 0);
	pool_checkin(&p, S(1), a, &r);
	pool_checkin(&p, S(2), a, &r);
}

Test(pool, connect_done_twice_is_a_bug, .signal = SIGABRT)
{
	struct pool_config c;
	struct pool p;
	uint32_t a;
	cfg(&c, 1, 0, 1.0);
	pool_init(&p, &c);
	a = must_connect(&p, 0, 0);
	pool_connect_done(&p, 0, a);
}

Test(pool, config_from_string)
{
	struct pool_config c;
	pool_config_init(&c);
	cr_assert_eq(pool_config_from_string(&c, "20/30/45"), 0);
	cr_assert_eq(c.pool_size, 20);
	cr_assert_eq(c.max_overflow, 30);
	cr_assert_eq(c.timeout_usec, S(45));
	cr_assert_eq(pool_config_from_string(&c, "10/-1/4.5"), 0);
	cr_assert_eq(c.max_overflow, -1);
	cr_assert_eq(c.timeout_usec, S(4.5));
	cr_assert_eq(pool_config_from_string(&c, "0/5/0"), 0);
	cr_assert_eq(c.timeout_usec, 0);
	cr_assert_eq(pool_config_from_string(&c, "10/20"), -1);
	cr_assert_eq(pool_config_from_string(&c, "10/-2/3"), -1);
	cr_assert_eq(pool_config_from_string(&c, "x/2/3"), -1);
	cr_assert_eq(pool_config_from_string(&c, "1/2/-3"), -1);
	cr_assert_eq(c.pool_size, 0, "a failed parse leaves the config alone");
}
