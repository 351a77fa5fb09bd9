#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "core/event.h"
#include "core/strbuf.h"
#include "replay/workload.h"
#include "tests/testutil.h"

#define S(x) ((log_usec)llround((x) * 1000000.0))
#define T0 (INT64_C(1760968800) * USEC_PER_SEC)

static const char sample_file[] =
	"#poolscope-workload 1\n"
	"#config\tpool_size=10\tmax_overflow=20\ttimeout_s=3.000000\tper_entry_s=0.450000\ttimeouts=7\n"
	"type\ttime\tpid\tengine\torigin\tname\thold_s\tgap_s\tbatch\tlane\tentries\tevidence\tflags\n"
	"request\t2025-10-20T14:00:01.500000Z\t0\t0\tapi\tGET /api/v1/health\t0.012000\t-\t-\t-\t-\tpool_debug\t-\n"
	"request\t2025-10-20T14:00:00.250000Z\t12\t1\tapi\tPOST /api/v1/vitals\t0.100000\t-\t-\t-\t-\ttimeout\timputed,timed_out\n"
	"batch\t2025-10-20T14:00:02.000000Z\t0\t0\tbatch\tvitals\t-\t-\t1\t2\t4\tbatch_lines\tcommit=group\n"
	"hold\t-\t-\t-\tbatch\t-\t0.900000\t0.000000\t1\t1\t2\tbatch_lines\t-\n"
	"hold\t-\t-\t-\tbatch\t-\t0.450000\t0.000000\t1\t0\t1\tbatch_lines\t-\n"
	"hold\t-\t-\t-\tbatch\t-\t0.450000\t0.010000\t1\t0\t1\tbatch_lines\t-\n";

static char *write_tmp(const char *text)
{
	return test_write_temp(text, strlen(text), ".tsv");
}

Test(workload, read_sample)
{
	struct workload wl;
	char *path = write_tmp(sample_file);
	workload_init(&wl);
	cr_assert_eq(workload_read(&wl, path), 0);
	cr_assert_eq(wl.nreq, 2);
	cr_assert_eq(wl.rec_pool_size, 10);
	cr_assert_eq(wl.rec_max_overflow, 20);
	cr_assert_eq(wl.rec_timeout_usec, S(3));
	cr_assert_eq(wl.rec_timeouts, 7);
	/* sorted by arrival */
	cr_assert_eq(wl.req[0].t, T0 + S(0.25));
	cr_assert_eq(wl.req[0].pid, 12);
	cr_assert_eq(wl.req[0].engine, 1);
	cr_assert_eq(wl.req[0].flags, WL_F_IMPUTED | WL_F_TIMED_OUT);
	cr_assert_eq(wl.req[0].evidence, WL_EV_TIMEOUT);
	cr_assert_str_eq(workload_name_str(&wl, wl.req[0].name), "POST /api/v1/vitals");
	cr_assert_eq(wl.req[1].hold, S(0.012));
	cr_assert_eq(wl.nbatch, 1);
	cr_assert_eq(wl.batch[0].lanes, 2);
	cr_assert_eq(wl.batch[0].entries, 4);
	cr_assert_eq(wl.batch[0].commit, WL_COMMIT_GROUP);
	cr_assert_eq(wl.batch[0].gap, -1);
	cr_assert_eq(wl.batch[0].nholds, 3);
	/* holds grouped by lane, order kept within a lane */
	cr_assert_eq(wl.holds[0].lane, 0);
	cr_assert_eq(wl.holds[1].lane, 0);
	cr_assert_eq(wl.holds[1].gap, S(0.01));
	cr_assert_eq(wl.holds[2].lane, 1);
	cr_assert_eq(workload_batch_conn_time(&wl, &wl.batch[0]), S(1.8));
	cr_assert_eq(workload_measure_per_entry(&wl), S(0.45));
	workload_release(&wl);
	unlink(path);
	free(path);
}

/* write(read(x)) == x once sorted: the file is the model, nothing lost. */
Test(workload, roundtrip)
{
	struct workload a, b;
	char *p1 = write_tmp(sample_file), *p2;
	struct strbuf out = STRBUF_INIT, again = STRBUF_INIT;
	FILE *fp;
	workload_init(&a);
	cr_assert_eq(workload_read(&a, p1), 0);
	p2 = write_tmp("");
	fp = fopen(p2, "w");
	cr_assert_eq(workload_write(&a, fp), 0);
	fclose(fp);
	workload_init(&b);
	cr_assert_eq(workload_read(&b, p2), 0);
	cr_assert_eq(test_read_file(p2, &out), 0);
	fp = fopen(p2, "w");
	workload_write(&b, fp);
	fclose(fp);
	cr_assert_eq(test_read_file(p2, &again), 0);
	cr_assert_str_eq(out.buf, again.buf);
	cr_assert(strstr(out.buf, "request\t2025-10-20T14:00:00.250000Z\t12\t1\tapi\tPOST /api/v1/vitals\t0.100000"));
	workload_release(&a);
	workload_release(&b);
	strbuf_release(&out);
	strbuf_release(&again);
	unlink(p1);
	unlink(p2);
	free(p1);
	free(p2);
}

Test(workload, bad_rows_name_the_line)
{
	static const char *const bad[] = {
		"#poolscope-workload 1\nrequest\tnot-a-time\t0\t0\tapi\t-\t0.1\t-\t-\t-\t-\tuser\t-\n",
		"#poolscope-workload 1\nrequest\t2025-10-20T14:00:00Z\t0\t0\tapi\t-\t-0.1\t-\t-\t-\t-\tuser\t-\n",
		"#poolscope-workload 1\nhold\t-\t-\t-\tbatch\t-\t0.1\t0\t1\t0\t-\tuser\t-\n",
		"#poolscope-workload 1\nbatch\t2025-10-20T14:00:00Z\t0\t0\tbatch\tx\t-\t-\t2\t1\t5\tuser\t-\n",
		"#poolscope-workload 1\nrequest\t2025-10-20T14:00:00Z\t0\t0\tapi\t-\t0.1\n",
		"#poolscope-workload 1\nrequest\t2025-10-20T14:00:00Z\t0\t0\tapi\t-\t0.1\t-\t-\t-\t-\tuser\tweird\n",
		"#poolscope-workload 1\n#config\tpool_size=x\n",
		"hello\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct workload wl;
		char *p = write_tmp(bad[i]);
		workload_init(&wl);
		cr_assert_eq(workload_read(&wl, p), -1, "case %zu", i);
		workload_release(&wl);
		unlink(p);
		free(p);
	}
}

static void make_batch(struct workload *wl, int entries, int lanes, double per_lane_s)
{
	struct wl_batch *b = workload_add_batch(wl);
	b->start = T0;
	b->entries = entries;
	b->lanes = (uint16_t)lanes;
	b->name = workload_name(wl, "vitals", 6);
	for (int l = 0; l < lanes; l++) {
		struct wl_hold *h = workload_add_hold(wl, (uint32_t)(wl->nbatch - 1));
		h->lane = (uint16_t)l;
		h->hold = S(per_lane_s);
	}
}

/* Re-cut: 300 entries over 18 lanes at 0.45 s/entry (7.5 s per lane),
 * re-cut to batches of 125 over 5 lanes, commit per group of 2. */
Test(workload, recut_batches)
{
	struct workload in, out;
	struct wl_transform t;
	workload_init(&in);
	workload_init(&out);
	make_batch(&in, 300, 18, 7.5);
	in.per_entry_usec = workload_measure_per_entry(&in);
	cr_assert_eq(in.per_entry_usec, S(0.45));
	wl_transform_init(&t);
	t.batch_size = 125;
	t.batch_concurrency = 5;
	t.commit = WL_COMMIT_GROUP;
	t.group_size = 2;
	cr_assert_eq(workload_transform(&out, &in, &t), 0);
	cr_assert_eq(out.nbatch, 3);
	cr_assert_eq(out.batch[0].entries, 125);
	cr_assert_eq(out.batch[2].entries, 50);
	cr_assert_eq(out.batch[0].lanes, 5);
	cr_assert_eq(out.batch[0].gap, -1, "first piece keeps its anchor");
	cr_assert_eq(out.batch[1].gap, 0, "later pieces follow at once");
	/* 125 / 5 = 25 entries per lane -> 12 groups of 2 + 1 of 1 = 13 holds */
	cr_assert_eq(out.batch[0].nholds, 5 * 13);
	cr_assert_eq(out.holds[0].hold, S(0.9));
	cr_assert_eq(workload_batch_conn_time(&out, &out.batch[0]), 125 * S(0.45));
	/* the work is conserved */
	cr_assert_eq(workload_batch_conn_time(&out, &out.batch[0]) +
			     workload_batch_conn_time(&out, &out.batch[1]) +
			     workload_batch_conn_time(&out, &out.batch[2]),
		     workload_batch_conn_time(&in, &in.batch[0]));
	workload_release(&in);
	workload_release(&out);
}

Test(workload, recut_needs_entries)
{
	struct workload in, out;
	struct wl_transform t;
	workload_init(&in);
	workload_init(&out);
	make_batch(&in, -1, 2, 1);
	wl_transform_init(&t);
	t.batch_size = 10;
	cr_assert_eq(workload_transform(&out, &in, &t), -1);
	workload_release(&in);
	workload_release(&out);
}

/* Load scaling is deterministic for a seed, keeps about X times the API
 * requests and leaves batch-origin rows alone. */
Test(workload, scale_load)
{
	struct workload in, a, b, c;
	struct wl_transform t;
	size_t api = 0;
	workload_init(&in);
	for (int i = 0; i < 10000; i++) {
		struct wl_request *r = workload_add_request(&in);
		r->t = T0 + S(i * 0.1);
		r->hold = S(0.01);
		r->origin = i % 100 == 0 ? ORIGIN_BATCH : ORIGIN_API;
	}
	wl_transform_init(&t);
	t.scale_load = 2.5;
	t.seed = 7;
	workload_init(&a);
	workload_init(&b);
	workload_transform(&a, &in, &t);
	workload_transform(&b, &in, &t);
	cr_assert_eq(a.nreq, b.nreq);
	for (size_t i = 0; i < a.nreq; i++)
		cr_assert_eq(a.req[i].t, b.req[i].t);
	for (size_t i = 0; i < a.nreq; i++)
		api += a.req[i].origin == ORIGIN_API;
	cr_assert(api > 9900 * 2.5 * 0.97 && api < 9900 * 2.5 * 1.03, "api %zu", api);
	cr_assert_eq(a.nreq - api, 100);
	for (size_t i = 1; i < a.nreq; i++)
		cr_assert_geq(a.req[i].t, a.req[i - 1].t);
	t.scale_load = 0.5;
	workload_init(&c);
	workload_transform(&c, &in, &t);
	cr_assert(c.nreq > 100 + 9900 * 0.5 * 0.95 && c.nreq < 100 + 9900 * 0.5 * 1.05);
	workload_release(&in);
	workload_release(&a);
	workload_release(&b);
	workload_release(&c);
}

/* --- extraction on a hand-made timeline ---------------------------------- */

static void ev_pool(struct timeline *tl, enum event_kind k, double at, const char *conn)
{
	struct event ev;
	event_init(&ev, k);
	ev.ts = T0 + S(at);
	ev.conn = conn;
	timeline_append(tl, &ev);
}

/*
 * A batch of 2 lanes (connections a, b: 3 s holds from 0.01 s), an API
 * request before the batch (c: 20 ms at -5 s) and one inside it (c: 30 ms at
 * 1 s), and a TimeoutError at 4 s with a 3 s timeout.  Expected: one batch
 * with 2 lanes of 3 s, two API requests with exact holds, and a timed-out
 * request arriving at 1 s whose hold is imputed from the nearest API hold
 * (the 30 ms one at 1 s).
 */
Test(workload, extract_attribution_and_imputation)
{
	struct timeline tl;
	struct workload wl;
	struct event ev;
	size_t api = 0, to = 0;
	timeline_init(&tl);
	timeline_add_source(&tl, "t.log");
	ev_pool(&tl, EVENT_POOL_CHECKOUT, -5, "c");
	ev_pool(&tl, EVENT_POOL_CHECKIN, -4.98, "c");
	event_init(&ev, EVENT_BATCH_START);
	ev.ts = T0;
	ev.text = "vitals";
	ev.u.batch.entries = 20;
	ev.u.batch.connections = 2;
	timeline_append(&tl, &ev);
	ev_pool(&tl, EVENT_POOL_CHECKOUT, 0.01, "a");
	ev_pool(&tl, EVENT_POOL_CHECKOUT, 0.02, "b");
	ev_pool(&tl, EVENT_POOL_CHECKOUT, 1, "c");
	ev_pool(&tl, EVENT_POOL_CHECKIN, 1.03, "c");
	ev_pool(&tl, EVENT_POOL_CHECKIN, 3.01, "a");
	ev_pool(&tl, EVENT_POOL_CHECKIN, 3.02, "b");
	event_init(&ev, EVENT_BATCH_END);
	ev.ts = T0 + S(3.05);
	ev.text = "vitals";
	ev.u.batch.entries = 20;
	ev.u.batch.processed = 20;
	ev.u.batch.connections = 2;
	ev.u.batch.commits = 2;
	timeline_append(&tl, &ev);
	event_init(&ev, EVENT_POOL_TIMEOUT);
	ev.ts = T0 + S(4);
	ev.origin = ORIGIN_API;
	ev.u.timeout.pool_size = 2;
	ev.u.timeout.max_overflow = 1;
	ev.u.timeout.timeout_usec = S(3);
	timeline_append(&tl, &ev);
	timeline_sort(&tl);

	workload_init(&wl);
	cr_assert_eq(workload_extract(&wl, &tl), 0);
	cr_assert_eq(wl.rec_pool_size, 2);
	cr_assert_eq(wl.rec_max_overflow, 1);
	cr_assert_eq(wl.rec_timeout_usec, S(3));
	cr_assert_eq(wl.rec_timeouts, 1);
	cr_assert_eq(wl.nbatch, 1);
	cr_assert_eq(wl.batch[0].lanes, 2);
	cr_assert_eq(wl.batch[0].nholds, 2);
	cr_assert_eq(wl.batch[0].entries, 20);
	cr_assert_eq(wl.batch[0].commit, WL_COMMIT_ONCE);
	cr_assert_eq(wl.holds[0].hold, S(3));
	cr_assert_eq(wl.per_entry_usec, S(0.3));
	for (size_t i = 0; i < wl.nreq; i++) {
		const struct wl_request *r = &wl.req[i];
		if (r->flags & WL_F_TIMED_OUT) {
			to++;
			cr_assert_eq(r->t, T0 + S(1));
			cr_assert_eq(r->hold, S(0.03));
			cr_assert(r->flags & WL_F_IMPUTED);
			cr_assert_eq(r->evidence, WL_EV_TIMEOUT);
		} else {
			api++;
			cr_assert_eq(r->origin, ORIGIN_API);
			cr_assert_eq(r->evidence, WL_EV_POOL_DEBUG);
		}
	}
	cr_assert_eq(api, 2);
	cr_assert_eq(to, 1);
	cr_assert_eq(wl.rec_peak_checked_out, 3);
	workload_release(&wl);
	timeline_release(&tl);
}
