#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "analysis/analyze.h"
#include "analysis/chart.h"
#include "analysis/report.h"
#include "core/json.h"
#include "core/stats.h"
#include "parsers/parse.h"
#include "tests/testutil.h"

/*
 * The percentile cap of the analysis (analysis_opts.sample_cap,
 * docs/analysis.md "Percentiles"), forced small on a real capture: at the
 * cap nothing changes, byte for byte; one value under it, the JSON gains
 * "percentile_method" and every figure stays within the histogram's stated
 * error of the exact run.
 */

static const char *const before[] = { "app.log", "pool.log.gz", "access.log", "postgresql.log", NULL };

/* The before capture analysed with the cap; release a and sources. */
static void analyse_before(size_t cap, struct timeline *sources, struct analysis *a)
{
	const char *paths[8];
	char *owned[8];
	size_t n = 0;
	struct parse_opts po;
	struct analysis_opts ao;
	for (; before[n]; n++) {
		char rel[160];
		snprintf(rel, sizeof(rel), "fixtures/incident/before/%s", before[n]);
		owned[n] = strdup(test_path(rel));
		paths[n] = owned[n];
	}
	parse_opts_init(&po);
	po.quiet = true;
	analysis_opts_init(&ao);
	ao.sample_cap = cap;
	timeline_init(sources);
	cr_assert_eq(analysis_run_inputs(paths, n, &po, &ao, sources, a, 0), 0);
	parse_opts_release(&po);
	for (size_t i = 0; i < n; i++)
		free(owned[i]);
}

static json_t *run(size_t cap, size_t *holds)
{
	struct timeline sources;
	struct analysis a;
	struct strbuf out = STRBUF_INIT;
	struct jw w;
	json_error_t err;
	json_t *j;
	analyse_before(cap, &sources, &a);
	jw_init(&w, &out, true);
	analysis_write_json(&a, &w);
	j = json_loads(out.buf, 0, &err);
	cr_assert_not_null(j, "bad JSON: %s", err.text);
	if (holds)
		*holds = a.hold.count;
	analysis_release(&a);
	strbuf_release(&out);
	timeline_release(&sources);
	return j;
}

/* Every number of x within the histogram's error of the same number of y;
 * returns how many differ at all. */
static size_t close_numbers(json_t *x, json_t *y, const char *path)
{
	size_t diff = 0;
	if (json_is_object(x)) {
		const char *k;
		json_t *v;
		json_object_foreach(x, k, v) {
			json_t *o = json_object_get(y, k);
			char p[512];
			snprintf(p, sizeof(p), "%s.%s", path, k);
			cr_assert_not_null(o, "%s missing", p);
			diff += close_numbers(v, o, p);
		}
	} else if (json_is_array(x)) {
		size_t i;
		json_t *v;
		cr_assert_eq(json_array_size(x), json_array_size(y), "%s: length", path);
		json_array_foreach(x, i, v) {
			char p[512];
			snprintf(p, sizeof(p), "%s[%zu]", path, i);
			diff += close_numbers(v, json_array_get(y, i), p);
		}
	} else if (json_is_number(x)) {
		double a = json_number_value(x), b = json_number_value(y);
		/* + 1 us: seconds are written with 6 decimals */
		cr_assert_leq(fabs(a - b), fabs(a) * SAMPLE_HIST_REL_ERR + 1e-6, "%s: exact %g, capped %g",
			      path, a, b);
		diff += a != b;
	} else {
		cr_assert(json_equal(x, y), "%s differs", path);
	}
	return diff;
}

Test(analysis_sample_cap, at_cap_exact_under_it_close, .timeout = 60)
{
	size_t most = 0;
	json_t *exact = run(ANALYSIS_SAMPLE_CAP, &most), *same, *approx, *m;
	cr_assert_gt(most, 100);
	cr_assert_null(json_object_get(exact, "percentile_method"));
	/* the largest distribution is the holds' (no latency in uvicorn's log) */
	same = run(most, NULL);
	cr_assert(json_equal(exact, same), "a cap the samples reach changed the output");
	approx = run(most - 1, NULL);
	m = json_object_get(approx, "percentile_method");
	cr_assert_not_null(m);
	cr_assert_str_eq(json_string_value(m), "histogram");
	json_object_del(approx, "percentile_method");
	(void)close_numbers(exact, approx, "");
	json_decref(approx);
	/* a small cap: most distributions approximate, all still close */
	approx = run(16, NULL);
	json_object_del(approx, "percentile_method");
	cr_assert_gt(close_numbers(exact, approx, ""), 0, "a cap of 16 changed nothing");
	json_decref(approx);
	json_decref(exact);
	json_decref(same);
}

/* n endpoints of per requests each, latencies spread 1..500 ms */
static void endpoints_run(size_t cap, size_t n, size_t per, struct analysis *a)
{
	static const char *const paths[] = { "/a", "/b", "/c", "/d", "/e", "/f" };
	struct timeline tl;
	struct analysis_opts ao;
	uint64_t x = 88172645463325252ull;
	timeline_init(&tl);
	timeline_add_source(&tl, "access.log");
	for (size_t i = 0; i < n * per; i++) {
		struct event ev;
		event_init(&ev, EVENT_HTTP_REQUEST);
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		ev.ts = INT64_C(1760968800000000) + (int64_t)i * 1000;
		ev.line = (uint32_t)i + 1;
		ev.u.http.status = 200;
		ev.dur = 1000 + (int64_t)(x % 499000);
		ev.text = paths[i % n];
		ev.text2 = "GET";
		timeline_append(&tl, &ev);
	}
	timeline_sort(&tl);
	analysis_opts_init(&ao);
	ao.sample_cap = cap;
	cr_assert_eq(analysis_run(&tl, &ao, a), 0);
	timeline_release(&tl);
}

/* The endpoints share one cap: together they keep at most that many exact
 * values (each at least ANALYSIS_SAMPLE_SHARE_MIN), so 5 endpoints of
 * 20,000 under a cap of 99,999 each go past their share of 19,999, and
 * stay within the histogram's error. */
Test(analysis_sample_cap, endpoints_share_the_cap, .timeout = 60)
{
	struct analysis exact, shared;
	endpoints_run(0, 5, 20000, &exact);
	endpoints_run(99999, 5, 20000, &shared);
	cr_assert_eq(exact.approx_dists, 0);
	cr_assert_eq(exact.nendpoints, 5);
	cr_assert_eq(shared.nendpoints, 5);
	/* the run's latencies (100,000, one over), those outside batches
	 * (all of them), and the five endpoints */
	cr_assert_eq(shared.approx_dists, 2 + 5, "%zu approximate", shared.approx_dists);
	for (size_t e = 0; e < 5; e++) {
		const struct http_part *x = &exact.endpoints[e].http, *y = &shared.endpoints[e].http;
		cr_assert_eq(x->requests, 20000);
		cr_assert_leq(fabs(x->latency.p95 - y->latency.p95), x->latency.p95 * SAMPLE_HIST_REL_ERR);
		cr_assert_leq(fabs(x->latency.p50 - y->latency.p50), x->latency.p50 * SAMPLE_HIST_REL_ERR);
		cr_assert_eq(x->latency.max, y->latency.max);
	}
	analysis_release(&exact);
	analysis_release(&shared);
	/* a floor: with a cap of 1,000 each still keeps 16,384 exact; past
	 * the cap are the run's, those outside batches and the two 60 s steps'
	 * (82 s of requests), not the endpoints' */
	endpoints_run(1000, 5, 16384, &shared);
	cr_assert_eq(shared.approx_dists, 4, "%zu approximate", shared.approx_dists);
	analysis_release(&shared);
}

/* The report's hold-time chart (800 ranks of each side's holds) from a
 * sample past its cap: the same ranks, each value within the histogram's
 * error of the exact chart's. */
Test(analysis_sample_cap, report_hold_chart_past_the_cap, .timeout = 60)
{
	struct timeline ta, tb;
	struct analysis exact, capped;
	struct chart cx[REPORT_NCHARTS], cy[REPORT_NCHARTS];
	struct report_side sx = { "run", &exact }, sy = { "run", &capped };
	const struct chart *x = NULL, *y = NULL;
	size_t moved = 0;
	analyse_before(0, &ta, &exact);
	analyse_before(64, &tb, &capped);
	report_charts(&sx, 1, cx);
	report_charts(&sy, 1, cy);
	for (size_t i = 0; i < REPORT_NCHARTS; i++)
		if (!strcmp(cx[i].name, "hold-cdf")) {
			x = &cx[i];
			y = &cy[i];
		}
	cr_assert_not_null(x);
	cr_assert_eq(x->nblocks, y->nblocks);
	cr_assert_geq(x->nblocks, 1);
	for (size_t b = 0; b < x->nblocks; b++) {
		const struct chart_block *p = &x->blocks[b], *q = &y->blocks[b];
		cr_assert_eq(p->nrows, q->nrows);
		cr_assert_gt(p->nrows, 64, "block %zu: %zu points", b, p->nrows);
		for (size_t r = 0; r < p->nrows; r++) {
			double u = p->v[r * 2], v = q->v[r * 2];
			cr_assert_eq(p->v[r * 2 + 1], q->v[r * 2 + 1], "rank %zu differs", r);
			cr_assert_leq(fabs(u - v), u * SAMPLE_HIST_REL_ERR, "block %zu row %zu: %g, %g", b, r, u, v);
			moved += u != v;
		}
	}
	cr_assert_gt(moved, 0, "a cap of 64 changed no point");
	for (size_t i = 0; i < REPORT_NCHARTS; i++) {
		chart_release(&cx[i]);
		chart_release(&cy[i]);
	}
	analysis_release(&exact);
	analysis_release(&capped);
	timeline_release(&ta);
	timeline_release(&tb);
}
