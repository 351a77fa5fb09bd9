#ifndef POOLSCOPE_TEST_ANALYSIS_SYNTH_H
#define POOLSCOPE_TEST_ANALYSIS_SYNTH_H
/*
 * A small timeline shaped like the incident, for the analysis suites: API
 * traffic every second for 120 s holding a connection 50 ms, and a batch
 * "vitals" from 30 s to 70 s taking 4 connections of a 2+2 pool, so API
 * checkouts time out (3 s) while it holds them.  build_after() is the fixed
 * run: a 5+5 pool, the batch takes 2 connections for 5 s, no timeouts.
 */
#include <stdbool.h>
#include "core/timeline.h"

#define T0 INT64_C(1760968800000000) /* 2025-10-20T14:00:00Z */
#define MS(x) (T0 + (int64_t)(x) * 1000)

static void ev_pool(struct timeline *tl, uint32_t src, uint32_t line, int64_t ms,
		    enum event_kind k, const char *conn)
{
	struct event ev;
	event_init(&ev, k);
	ev.ts = MS(ms);
	ev.src = src;
	ev.line = line;
	ev.conn = conn;
	timeline_append(tl, &ev);
}

static void ev_http(struct timeline *tl, uint32_t line, int64_t ms, int status, int64_t dur_ms,
		    const char *path)
{
	struct event ev;
	event_init(&ev, EVENT_HTTP_REQUEST);
	ev.ts = MS(ms);
	ev.src = 2;
	ev.line = line;
	ev.u.http.status = status;
	ev.dur = dur_ms < 0 ? EVENT_NO_DURATION : dur_ms * 1000;
	ev.text = path;
	ev.text2 = "GET";
	timeline_append(tl, &ev);
}

static void build_run(struct timeline *tl, bool fixed)
{
	struct event ev;
	static const char *bconn[] = { "0xb1", "0xb2", "0xb3", "0xb4" };
	uint32_t pl = 1, al = 1;
	timeline_init(tl);
	timeline_add_source(tl, "app.log");
	timeline_add_source(tl, "pool.log");
	timeline_add_source(tl, "access.log");
	/* API traffic every second from 0 to 119 s: 50 ms holds */
	for (int s = 0; s < 120; s++) {
		bool blocked = !fixed && s >= 31 && s < 60; /* pool full, timeouts */
		if (blocked) {
			event_init(&ev, EVENT_POOL_TIMEOUT);
			ev.ts = MS(s * 1000 + 3000);
			ev.src = 0;
			ev.line = (uint32_t)(1000 + s);
			ev.u.timeout.pool_size = 2;
			ev.u.timeout.max_overflow = 2;
			ev.u.timeout.timeout_usec = 3 * 1000000;
			timeline_append(tl, &ev);
			ev_http(tl, al++, s * 1000 + 3001, 500, 3001, "/api/v1/health");
			continue;
		}
		ev_pool(tl, 1, pl++, s * 1000 + 10, EVENT_POOL_CHECKOUT, "0xa1");
		ev_http(tl, al++, s * 1000, 200, 70, s % 2 ? "/api/v1/vitals/17" : "/api/v1/health");
		ev_pool(tl, 1, pl++, s * 1000 + 60, EVENT_POOL_CHECKIN, "0xa1");
	}
	/* batch "vitals" from 30 s to 70 s with 4 connections (the pool's cap) */
	event_init(&ev, EVENT_BATCH_START);
	ev.ts = MS(30000);
	ev.text = "vitals";
	ev.u.batch.entries = fixed ? 200 : 400;
	ev.line = 500;
	timeline_append(tl, &ev);
	for (int i = 0; i < (fixed ? 2 : 4); i++) {
		ev_pool(tl, 1, 5000 + (uint32_t)i, 30100 + i, EVENT_POOL_CHECKOUT, bconn[i]);
		ev_pool(tl, 1, 6000 + (uint32_t)i, fixed ? 35100 + i : 60000 + 2500 * i,
			EVENT_POOL_CHECKIN, bconn[i]);
	}
	event_init(&ev, EVENT_BATCH_END);
	ev.ts = MS(70000);
	ev.text = "Vitals";
	ev.u.batch.processed = 400;
	ev.u.batch.commits = fixed ? 8 : 1;
	ev.line = 700;
	timeline_append(tl, &ev);
	if (fixed) {
		/* a fixed run logs no TimeoutError; its pool-stat lines give the size */
		event_init(&ev, EVENT_POOL_STATS);
		ev.ts = MS(29000);
		ev.text = "before batch";
		ev.u.stats.pool_size = 5;
		ev.u.stats.checked_out = 0;
		ev.line = 499;
		timeline_append(tl, &ev);
	}
	timeline_sort(tl);
}

static inline void build(struct timeline *tl)
{
	build_run(tl, false);
}


#endif
