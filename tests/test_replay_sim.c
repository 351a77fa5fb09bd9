#include <criterion/criterion.h>
#include <math.h>
#include <string.h>
#include "core/event.h"
#include "replay/sim.h"
#include "replay/workload.h"

/* The simulator on tiny workloads whose outcome is known by hand. */
#define S(x) ((log_usec)llround((x) * 1000000.0))
#define T0 (INT64_C(1760968800) * USEC_PER_SEC)

static void add_req(struct workload *wl, double at, double hold, int origin, int32_t pid)
{
	struct wl_request *r = workload_add_request(wl);
	r->t = T0 + S(at);
	r->hold = S(hold);
	r->origin = (uint8_t)origin;
	r->pid = pid;
	r->name = workload_name(wl, "GET /x", 6);
}

static void cfg(struct sim_config *c, int size, int ovf, double timeout)
{
	sim_config_init(c);
	c->pool.pool_size = size;
	c->pool.max_overflow = ovf;
	c->pool.timeout_usec = S(timeout);
}

struct collect {
	struct event ev[256];
	size_t n;
	size_t kinds[EVENT_KIND__COUNT];
};

static void collect_emit(void *data, const struct event *ev)
{
	struct collect *c = data;
	c->kinds[ev->kind]++;
	if (c->n < 256) {
		c->ev[c->n] = *ev;
		c->ev[c->n].conn = NULL; /* borrowed: not kept */
		c->ev[c->n].text = NULL;
		c->ev[c->n].text2 = NULL;
		c->n++;
	}
}

/* The scenario through the whole simulator: size 2, overflow 1,
 * timeout 1 s, four 5 s holds arriving together -> exactly one timeout, at
 * t = 1 s; peak checked out 3; the three others succeed without waiting. */
Test(sim, four_holds_one_timeout)
{
	struct workload wl;
	struct sim_config c;
	struct sim_result r;
	struct collect col;
	struct sim_sink sink = { collect_emit, &col };
	memset(&col, 0, sizeof(col));
	workload_init(&wl);
	for (int i = 0; i < 4; i++)
		add_req(&wl, 0, 5, ORIGIN_API, 0);
	cfg(&c, 2, 1, 1);
	sim_run(&wl, &c, sink, &r);
	cr_assert_eq(r.timeouts, 1);
	cr_assert_eq(r.first_timeout, T0 + S(1));
	cr_assert_eq(r.checkouts, 3);
	cr_assert_eq(r.peak_checked_out, 3);
	cr_assert_eq(r.peak_overflow, 1);
	cr_assert_eq(r.requests, 4);
	cr_assert_eq(r.requests_failed, 1);
	cr_assert_eq(r.closes, 1);
	cr_assert_eq(col.kinds[EVENT_POOL_TIMEOUT], 1);
	cr_assert_eq(col.kinds[EVENT_POOL_CHECKOUT], 3);
	cr_assert_eq(col.kinds[EVENT_POOL_CHECKIN], 3);
	cr_assert_eq(col.kinds[EVENT_HTTP_REQUEST], 4);
	for (size_t i = 0; i < col.n; i++) {
		cr_assert(col.ev[i].flags & EVENT_F_SIMULATED);
		if (col.ev[i].kind == EVENT_POOL_TIMEOUT) {
			cr_assert_eq(col.ev[i].ts, T0 + S(1));
			cr_assert_eq(col.ev[i].u.timeout.pool_size, 2);
		}
		if (col.ev[i].kind == EVENT_HTTP_REQUEST && col.ev[i].u.http.status == 500)
			cr_assert_eq(col.ev[i].dur, S(1));
	}
	/* waits: 3 zero, one of 1 s */
	cr_assert_eq(r.all.waits.zero, 3);
	cr_assert_eq(sim_waits_max(&r.all.waits), S(1));
	cr_assert_float_eq(sim_waits_percentile(&r.all.waits, 50), 0, 1e-9);
	cr_assert_float_eq(sim_waits_percentile(&r.all.waits, 100), S(1), 1e-6);
	sim_result_release(&r);
	workload_release(&wl);
}

/* A waiter served before its deadline: its wait is the time to the first
 * checkin, and it is not a timeout. */
Test(sim, waiter_served_by_checkin)
{
	struct workload wl;
	struct sim_config c;
	struct sim_result r;
	workload_init(&wl);
	add_req(&wl, 0, 0.5, ORIGIN_API, 0);
	add_req(&wl, 0.1, 0.2, ORIGIN_API, 0);
	cfg(&c, 1, 0, 1);
	sim_run(&wl, &c, (struct sim_sink){ NULL, NULL }, &r);
	cr_assert_eq(r.timeouts, 0);
	cr_assert_eq(r.handoffs, 1);
	cr_assert_eq(sim_waits_max(&r.all.waits), S(0.4));
	cr_assert_eq(r.end, T0 + S(0.7));
	sim_result_release(&r);
	workload_release(&wl);
}

/* max_connections across processes: two processes (pids 1 and 2), each
 * with pool 2/0; PostgreSQL allows 3.  Four simultaneous requests, two per
 * process: the fourth connect is refused, its slot given back. */
Test(sim, max_connections_refusals_across_processes)
{
	struct workload wl;
	struct sim_config c;
	struct sim_result r;
	workload_init(&wl);
	add_req(&wl, 0, 1, ORIGIN_API, 1);
	add_req(&wl, 0, 1, ORIGIN_API, 2);
	add_req(&wl, 0, 1, ORIGIN_API, 1);
	add_req(&wl, 0, 1, ORIGIN_API, 2);
	cfg(&c, 2, 0, 1);
	c.max_connections = 3;
	sim_run(&wl, &c, (struct sim_sink){ NULL, NULL }, &r);
	cr_assert_eq(r.npools, 2);
	cr_assert_eq(r.refusals, 1);
	cr_assert_eq(r.origin[ORIGIN_API].refusals, 1);
	cr_assert_eq(r.peak_open_total, 3);
	cr_assert_eq(r.checkouts, 3);
	cr_assert_eq(r.timeouts, 0);
	sim_result_release(&r);
	workload_release(&wl);
}

/* --workers spreads requests round-robin: 4 at once over 2 pools of 1/0
 * do not wait at all, where one pool would make two wait. */
Test(sim, workers_round_robin)
{
	struct workload wl;
	struct sim_config c;
	struct sim_result r;
	workload_init(&wl);
	for (int i = 0; i < 4; i++)
		add_req(&wl, 0, 1, ORIGIN_API, 0);
	cfg(&c, 2, 0, 5);
	sim_run(&wl, &c, (struct sim_sink){ NULL, NULL }, &r);
	cr_assert_eq(r.all.waited, 2);
	sim_result_release(&r);
	c.workers = 2;
	sim_run(&wl, &c, (struct sim_sink){ NULL, NULL }, &r);
	cr_assert_eq(r.npools, 2);
	cr_assert_eq(r.all.waited, 0);
	cr_assert_eq(r.peak_checked_out, 2);
	cr_assert_eq(r.peak_open_total, 4);
	sim_result_release(&r);
	workload_release(&wl);
}

static void add_batch(struct workload *wl, double at, int lanes, int per_lane, double hold,
		      int commit)
{
	struct wl_batch *b = workload_add_batch(wl);
	uint32_t bi = (uint32_t)(wl->nbatch - 1);
	b->start = T0 + S(at);
	b->lanes = (uint16_t)lanes;
	b->commit = (uint8_t)commit;
	b->entries = lanes * per_lane;
	b->name = workload_name(wl, "vitals", 6);
	for (int l = 0; l < lanes; l++)
		for (int k = 0; k < per_lane; k++) {
			struct wl_hold *h = workload_add_hold(wl, bi);
			h->lane = (uint16_t)l;
			h->hold = S(hold);
			h->entries = 1;
		}
}

/* Batch lanes check out their holds one after another; commit per group
 * re-checks out right after each checkin.  3 lanes x 2 holds of 1 s on a
 * pool of 3: the batch takes 2 s and never waits. */
Test(sim, batch_lanes_sequential)
{
	struct workload wl;
	struct sim_config c;
	struct sim_result r;
	struct collect col;
	memset(&col, 0, sizeof(col));
	workload_init(&wl);
	add_batch(&wl, 0, 3, 2, 1, WL_COMMIT_GROUP);
	workload_sort(&wl);
	cfg(&c, 3, 0, 1);
	sim_run(&wl, &c, (struct sim_sink){ collect_emit, &col }, &r);
	cr_assert_eq(r.batches, 1);
	cr_assert_eq(r.checkouts, 6);
	cr_assert_eq(r.all.waited, 0);
	cr_assert_eq(r.end, T0 + S(2));
	cr_assert_eq(col.kinds[EVENT_BATCH_START], 1);
	cr_assert_eq(col.kinds[EVENT_BATCH_END], 1);
	for (size_t i = 0; i < col.n; i++)
		if (col.ev[i].kind == EVENT_BATCH_END)
			cr_assert_eq(col.ev[i].dur, S(2));
	sim_result_release(&r);
	workload_release(&wl);
}

/* A commit-once lane that times out is lost as a whole; a per-group lane
 * skips the group and goes on.  Pool 1/0, timeout 0.5 s; an API request
 * holds the only connection for 2 s; a batch of 1 lane x 2 holds starts at
 * 0.1 s. */
Test(sim, batch_timeout_policies)
{
	for (int commit = 0; commit <= 1; commit++) {
		struct workload wl;
		struct sim_config c;
		struct sim_result r;
		workload_init(&wl);
		add_req(&wl, 0, 2, ORIGIN_API, 0);
		add_batch(&wl, 0.1, 1, 2, 1, commit);
		workload_sort(&wl);
		cfg(&c, 1, 0, 0.5);
		sim_run(&wl, &c, (struct sim_sink){ NULL, NULL }, &r);
		cr_assert_eq(r.batches_failed, 1);
		if (commit == WL_COMMIT_ONCE) {
			cr_assert_eq(r.timeouts, 1);
			cr_assert_eq(r.lanes_aborted, 1);
			cr_assert_eq(r.origin[ORIGIN_BATCH].checkouts, 0);
		} else {
			/* 0.1 -> times out at 0.6; second group asks at 0.6,
			 * times out at 1.1; both skipped */
			cr_assert_eq(r.timeouts, 2);
			cr_assert_eq(r.groups_skipped, 2);
			cr_assert_eq(r.last_timeout, T0 + S(1.1));
		}
		sim_result_release(&r);
		workload_release(&wl);
	}
}

/* Batches of one process run one after another: the second (gap 1 s after
 * the first ends) starts at 2 s + 1 s even though its recorded start is
 * earlier; an anchored batch waits for the previous one to end. */
Test(sim, batch_chain)
{
	struct workload wl;
	struct sim_config c;
	struct sim_result r;
	struct collect col;
	memset(&col, 0, sizeof(col));
	workload_init(&wl);
	add_batch(&wl, 0, 1, 1, 2, WL_COMMIT_ONCE);
	add_batch(&wl, 0.5, 1, 1, 1, WL_COMMIT_ONCE);
	wl.batch[1].gap = S(1);
	add_batch(&wl, 1, 1, 1, 1, WL_COMMIT_ONCE); /* anchored at 1 s */
	workload_sort(&wl);
	cfg(&c, 5, 0, 1);
	sim_run(&wl, &c, (struct sim_sink){ collect_emit, &col }, &r);
	cr_assert_eq(r.batches, 3);
	{
		log_usec starts[3];
		size_t n = 0;
		for (size_t i = 0; i < col.n; i++)
			if (col.ev[i].kind == EVENT_BATCH_START)
				starts[n++] = col.ev[i].ts;
		cr_assert_eq(n, 3);
		cr_assert_eq(starts[0], T0);
		cr_assert_eq(starts[1], T0 + S(3));
		cr_assert_eq(starts[2], T0 + S(4));
	}
	sim_result_release(&r);
	workload_release(&wl);
}

/* Connect latency is hold, not wait: with 100 ms connects nobody waits, the
 * connection is out 100 ms longer, and the request's latency includes it. */
Test(sim, connect_latency_is_hold)
{
	struct workload wl;
	struct sim_config c;
	struct sim_result r;
	struct collect col;
	memset(&col, 0, sizeof(col));
	workload_init(&wl);
	add_req(&wl, 0, 1, ORIGIN_API, 0);
	add_req(&wl, 1.05, 1, ORIGIN_API, 0);
	cfg(&c, 1, 0, 5);
	c.pool.connect_usec = S(0.1);
	sim_run(&wl, &c, (struct sim_sink){ collect_emit, &col }, &r);
	cr_assert_eq(r.all.waited, 1, "second arrives while the first is out");
	cr_assert_eq(sim_waits_max(&r.all.waits), S(0.05));
	for (size_t i = 0; i < col.n; i++)
		if (col.ev[i].kind == EVENT_HTTP_REQUEST && col.ev[i].ts == T0)
			cr_assert_eq(col.ev[i].dur, S(1.1));
	sim_result_release(&r);
	workload_release(&wl);
}

/* The same workload and config give the same result, run after run. */
Test(sim, deterministic)
{
	struct workload wl;
	struct sim_config c;
	struct sim_result a, b;
	workload_init(&wl);
	workload_synthetic(&wl, 20000, S(3600), S(600), 42);
	cfg(&c, 10, 20, 30);
	sim_run(&wl, &c, (struct sim_sink){ NULL, NULL }, &a);
	sim_run(&wl, &c, (struct sim_sink){ NULL, NULL }, &b);
	cr_assert_eq(a.checkouts, b.checkouts);
	cr_assert_eq(a.timeouts, b.timeouts);
	cr_assert_eq(a.sim_events, b.sim_events);
	cr_assert_float_eq(sim_waits_percentile(&a.all.waits, 99),
			   sim_waits_percentile(&b.all.waits, 99), 1e-9);
	cr_assert_gt(a.checkouts, 20000);
	sim_result_release(&a);
	sim_result_release(&b);
	workload_release(&wl);
}
