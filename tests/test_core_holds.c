#include <criterion/criterion.h>
#include <string.h>
#include "core/holds.h"
#include "core/timeline.h"

/*
 * Hold reconstruction on event sequences shaped like the real pool debug
 * log (sqlalchemy-pool.md 3.4): times in ms from an origin, connection ids
 * as the log prints them.
 */

#define T0 INT64_C(1790000000000000)
#define MS(x) (T0 + (int64_t)(x) * 1000)

static void add(struct timeline *tl, uint32_t src, uint32_t line, int64_t ms,
		enum event_kind kind, const char *conn)
{
	struct event ev;
	event_init(&ev, kind);
	ev.ts = MS(ms);
	ev.src = src;
	ev.line = line;
	ev.conn = conn;
	timeline_append(tl, &ev);
}

static void setup(struct timeline *tl)
{
	timeline_init(tl);
	timeline_add_source(tl, "pool.log");
	timeline_add_source(tl, "pool2.log");
}

static const struct hold *find(const struct hold_set *hs, const char *conn, int64_t start_ms)
{
	for (size_t i = 0; i < hs->nr; i++) {
		const struct hold *h = hold_at(hs, i);
		if (h->evidence == HOLD_EV_POOL_DEBUG && h->conn && !strcmp(h->conn, conn) &&
		    (start_ms < 0 ? h->start == LOG_USEC_NONE : h->start == MS(start_ms)))
			return h;
	}
	return NULL;
}

/* The reference's sample run: three holds of ~200 ms, then a pre-ping
 * checkout. */
Test(holds, reference_sample_pairs)
{
	struct timeline tl;
	struct hold_set hs;
	const char *a = "0x7f775c54d300", *b = "0x7f775c54f880", *c = "0x7f775c54fc40";
	const struct hold *h;
	setup(&tl);
	add(&tl, 0, 1, 565, EVENT_POOL_CONNECT, a);
	add(&tl, 0, 2, 565, EVENT_POOL_CHECKOUT, a);
	add(&tl, 0, 4, 572, EVENT_POOL_CONNECT, b);
	add(&tl, 0, 5, 572, EVENT_POOL_CHECKOUT, b);
	add(&tl, 0, 7, 573, EVENT_POOL_CONNECT, c);
	add(&tl, 0, 8, 573, EVENT_POOL_CHECKOUT, c);
	add(&tl, 0, 10, 774, EVENT_POOL_CHECKIN, b);
	add(&tl, 0, 12, 776, EVENT_POOL_CHECKIN, c);
	add(&tl, 0, 14, 779, EVENT_POOL_CHECKIN, a);
	add(&tl, 0, 16, 779, EVENT_POOL_CLOSE, a);
	add(&tl, 0, 17, 779, EVENT_POOL_CHECKOUT, b);
	add(&tl, 0, 19, 780, EVENT_POOL_CHECKIN, b);
	timeline_sort(&tl);
	hold_set_init(&hs);
	holds_build(&hs, &tl, NULL);
	cr_assert_eq(hs.best, HOLD_EV_POOL_DEBUG);
	cr_assert_eq(hs.checkouts, 4);
	cr_assert_eq(hs.checkins, 4);
	cr_assert_eq(hs.complete[HOLD_EV_POOL_DEBUG], 4);
	h = find(&hs, a, 565);
	cr_assert_not_null(h);
	cr_assert_eq(h->dur, 214000);
	cr_assert_eq(h->line, 2);
	cr_assert_eq(h->end_line, 14);
	h = find(&hs, b, 779);
	cr_assert_not_null(h);
	cr_assert_eq(h->dur, 1000);
	cr_assert_eq(hs.open_at_end + hs.no_start + hs.lost, 0);
	cr_assert_str_eq(hold_evidence_name(hs.best), "pool_debug");
	hold_set_release(&hs);
	timeline_release(&tl);
}

Test(holds, mid_hold_start_and_open_end)
{
	struct timeline tl;
	struct hold_set hs;
	const struct hold *h;
	setup(&tl);
	add(&tl, 0, 1, 0, EVENT_POOL_CHECKIN, "0xa");     /* out before the log began */
	add(&tl, 0, 2, 10, EVENT_POOL_CHECKOUT, "0xb");   /* never returned */
	add(&tl, 0, 3, 20, EVENT_POOL_CHECKOUT, "0xa");
	add(&tl, 0, 4, 50, EVENT_POOL_CHECKIN, "0xa");
	timeline_sort(&tl);
	hold_set_init(&hs);
	holds_build(&hs, &tl, NULL);
	cr_assert_eq(hs.no_start, 1);
	cr_assert_eq(hs.open_at_end, 1);
	cr_assert_eq(hs.complete[HOLD_EV_POOL_DEBUG], 1);
	h = find(&hs, "0xa", -1);
	cr_assert_not_null(h);
	cr_assert(h->flags & HOLD_F_NO_START);
	cr_assert_eq(h->dur, EVENT_NO_DURATION);
	cr_assert_eq(h->end, MS(0));
	h = find(&hs, "0xb", 10);
	cr_assert_not_null(h);
	cr_assert(h->flags & HOLD_F_OPEN);
	cr_assert_eq(h->end, LOG_USEC_NONE, "no end may be invented");
	hold_set_release(&hs);
	timeline_release(&tl);
}

/* Same address in two files without pids: two processes, two pools. */
Test(holds, pid_zero_scoped_by_source)
{
	struct timeline tl;
	struct hold_set hs;
	setup(&tl);
	add(&tl, 0, 1, 0, EVENT_POOL_CHECKOUT, "0xa");
	add(&tl, 1, 1, 5, EVENT_POOL_CHECKOUT, "0xa");
	add(&tl, 1, 2, 7, EVENT_POOL_CHECKIN, "0xa");
	add(&tl, 0, 2, 100, EVENT_POOL_CHECKIN, "0xa");
	timeline_sort(&tl);
	hold_set_init(&hs);
	holds_build(&hs, &tl, NULL);
	cr_assert_eq(hs.complete[HOLD_EV_POOL_DEBUG], 2);
	cr_assert_eq(find(&hs, "0xa", 0)->dur, 100000);
	cr_assert_eq(find(&hs, "0xa", 5)->dur, 2000);
	cr_assert_eq(find(&hs, "0xa", 0)->scope_src, 0);
	cr_assert_eq(find(&hs, "0xa", 5)->scope_src, 1);
	cr_assert_eq(hs.lost, 0);
	hold_set_release(&hs);
	timeline_release(&tl);
}

Test(holds, duplicate_lines_and_lost_return)
{
	struct timeline tl;
	struct hold_set hs;
	const struct hold *h;
	setup(&tl);
	add(&tl, 0, 1, 0, EVENT_POOL_CHECKOUT, "0xa");
	add(&tl, 0, 2, 0, EVENT_POOL_CHECKOUT, "0xa");  /* second handler */
	add(&tl, 0, 3, 30, EVENT_POOL_CHECKIN, "0xa");
	add(&tl, 0, 4, 30, EVENT_POOL_CHECKIN, "0xa");
	add(&tl, 0, 5, 40, EVENT_POOL_CHECKOUT, "0xa");
	/* return line lost */
	add(&tl, 0, 6, 90, EVENT_POOL_CHECKOUT, "0xa");
	add(&tl, 0, 7, 95, EVENT_POOL_CHECKIN, "0xa");
	timeline_sort(&tl);
	hold_set_init(&hs);
	holds_build(&hs, &tl, NULL);
	cr_assert_eq(hs.duplicates, 2);
	cr_assert_eq(hs.checkouts, 3);
	cr_assert_eq(hs.lost, 1);
	h = find(&hs, "0xa", 40);
	cr_assert(h->flags & HOLD_F_LOST);
	cr_assert_eq(h->dur, EVENT_NO_DURATION);
	cr_assert_eq(h->end_bound, MS(90));
	cr_assert_eq(find(&hs, "0xa", 0)->dur, 30000);
	cr_assert_eq(find(&hs, "0xa", 90)->dur, 5000);
	hold_set_release(&hs);
	timeline_release(&tl);
}

/* Pre-ping failure on checkout (sqlalchemy-pool.md 3.4): checked out as
 * <FakeConn 1>, invalidated and hard-closed, reconnected as <FakeConn 3>,
 * which is what comes back. */
Test(holds, preping_reconnect_carries_the_hold)
{
	struct timeline tl;
	struct hold_set hs;
	const struct hold *h;
	setup(&tl);
	add(&tl, 0, 1, 0, EVENT_POOL_CHECKOUT, "<FakeConn 1>");
	add(&tl, 0, 2, 1, EVENT_POOL_INVALIDATE, "<FakeConn 1>");
	add(&tl, 0, 3, 1, EVENT_POOL_CLOSE, "<FakeConn 1>");
	add(&tl, 0, 4, 2, EVENT_POOL_CONNECT, "<FakeConn 3>");
	add(&tl, 0, 5, 80, EVENT_POOL_CHECKIN, "<FakeConn 3>");
	/* invalidated while out with no reconnect: ends at the invalidation */
	add(&tl, 0, 6, 100, EVENT_POOL_CHECKOUT, "<FakeConn 2>");
	add(&tl, 0, 7, 150, EVENT_POOL_INVALIDATE, "<FakeConn 2>");
	/* an unrelated new connection that is checked out itself: no carry */
	add(&tl, 0, 8, 151, EVENT_POOL_CONNECT, "<FakeConn 4>");
	add(&tl, 0, 9, 151, EVENT_POOL_CHECKOUT, "<FakeConn 4>");
	add(&tl, 0, 10, 170, EVENT_POOL_CHECKIN, "<FakeConn 4>");
	timeline_sort(&tl);
	hold_set_init(&hs);
	holds_build(&hs, &tl, NULL);
	h = find(&hs, "<FakeConn 1>", 0);
	cr_assert_not_null(h);
	cr_assert(h->flags & HOLD_F_CARRIED);
	cr_assert_not(h->flags & HOLD_F_CLOSED_OUT);
	cr_assert_eq(h->dur, 80000);
	cr_assert_eq(h->end_line, 5);
	h = find(&hs, "<FakeConn 2>", 100);
	cr_assert(h->flags & HOLD_F_CLOSED_OUT);
	cr_assert_eq(h->dur, 50000);
	cr_assert_eq(find(&hs, "<FakeConn 4>", 151)->dur, 19000);
	cr_assert_eq(hs.carried, 1);
	cr_assert_eq(hs.closed_out, 1);
	cr_assert_eq(hs.no_start, 0);
	hold_set_release(&hs);
	timeline_release(&tl);
}

Test(holds, batch_spans_and_pg_sessions_rank_below_pool_debug)
{
	struct timeline tl;
	struct hold_set hs;
	struct event ev;
	setup(&tl);
	event_init(&ev, EVENT_BATCH_START);
	ev.ts = MS(1000);
	ev.text = "vitals";
	ev.u.batch.entries = 400;
	ev.line = 10;
	timeline_append(&tl, &ev);
	event_init(&ev, EVENT_BATCH_END);
	ev.ts = MS(61000);
	ev.text = "Vitals";
	ev.dur = 60500 * 1000; /* measured from before the start line */
	ev.u.batch.commits = 1;
	ev.line = 90;
	timeline_append(&tl, &ev);
	event_init(&ev, EVENT_PG_DISCONNECT);
	ev.ts = MS(70000);
	ev.pid = 4242;
	ev.dur = 65 * 1000000;
	ev.src = 1;
	timeline_append(&tl, &ev);
	timeline_sort(&tl);
	hold_set_init(&hs);
	holds_build(&hs, &tl, NULL);
	cr_assert_eq(hs.best, HOLD_EV_BATCH);
	cr_assert_eq(hs.nbatches, 1);
	cr_assert_eq(hs.batches[0].start, MS(500));
	cr_assert_eq(hs.batches[0].end, MS(61000));
	cr_assert_eq(hs.batches[0].entries, 400);
	cr_assert_eq(hs.batches[0].commits, 1);
	cr_assert_eq(hs.complete[HOLD_EV_PG_SESSION], 1);
	cr_assert_eq(hs.complete[HOLD_EV_BATCH], 1);
	for (size_t i = 0; i < hs.nr; i++)
		if (hold_at(&hs, i)->evidence == HOLD_EV_BATCH) {
			cr_assert_eq(hold_at(&hs, i)->origin, ORIGIN_BATCH);
			cr_assert_eq(hold_at(&hs, i)->dur, 60500 * 1000);
		}
	hold_set_release(&hs);
	timeline_release(&tl);
}

Test(holds, littles_law_when_nothing_better)
{
	struct timeline tl;
	struct hold_set hs;
	struct event ev;
	setup(&tl);
	/* 10 requests per second for 10 s, 2 connections out on average */
	for (int i = 0; i <= 100; i++) {
		event_init(&ev, EVENT_HTTP_REQUEST);
		ev.ts = MS(i * 100);
		ev.u.http.status = 200;
		timeline_append(&tl, &ev);
	}
	for (int i = 0; i < 4; i++) {
		event_init(&ev, EVENT_POOL_STATS);
		ev.ts = MS(i * 2500 + 1);
		ev.u.stats.checked_out = i % 2 ? 3 : 1;
		timeline_append(&tl, &ev);
	}
	timeline_sort(&tl);
	hold_set_init(&hs);
	holds_build(&hs, &tl, NULL);
	cr_assert_eq(hs.best, HOLD_EV_LITTLE);
	cr_assert_eq(hs.little_samples, 4);
	cr_assert_str_eq(hs.little_rate_from, "http_requests");
	cr_assert_eq(hs.little_mean_hold, 200000, "W = L / lambda = 2 / 10 per s = 0.2 s, got %lld",
		     (long long)hs.little_mean_hold);
	hold_set_release(&hs);
	timeline_release(&tl);
}

Test(holds, duplicates_across_inputs)
{
	struct timeline tl;
	uint8_t dup[4];
	struct event ev;
	setup(&tl);
	for (uint32_t s = 0; s < 2; s++) {
		event_init(&ev, EVENT_PG_TOO_MANY_CLIENTS);
		ev.ts = MS(5);
		ev.pid = 77;
		ev.src = s;
		ev.text = "sorry, too many clients already";
		timeline_append(&tl, &ev);
	}
	/* same instant, same input: two real events */
	event_init(&ev, EVENT_POOL_TIMEOUT);
	ev.ts = MS(5);
	ev.src = 0;
	timeline_append(&tl, &ev);
	timeline_append(&tl, &ev);
	timeline_sort(&tl);
	cr_assert_eq(events_mark_duplicates(&tl, dup), 1);
	cr_assert_eq(dup[0] + dup[1], 1);
	cr_assert_eq(dup[2] + dup[3], 0);
	timeline_release(&tl);
}
