#include <criterion/criterion.h>
#include <jansson.h>
#include <string.h>
#include "analysis/analyze.h"
#include "core/json.h"
#include "core/timeline.h"

/*
 * analysis_run on a small timeline shaped like the incident: a batch that
 * takes 4 connections for 40 s while API requests hold theirs for 50 ms,
 * with a pool of 2+2 so the API times out during the batch.
 */

#include "tests/analysis_synth.h"

Test(analysis, incident_figures)
{
	struct timeline tl;
	struct analysis a;
	struct analysis_opts o;
	build(&tl);
	analysis_opts_init(&o);
	o.bucket_usec = 10 * 1000000;
	o.incident_gap_usec = 20 * 1000000;
	cr_assert_eq(analysis_run(&tl, &o, &a), 0);
	cr_assert_eq(a.timeouts, 29);
	cr_assert_eq(a.config.pool_size, 2);
	cr_assert_eq(a.config.max_overflow, 2);
	cr_assert_str_eq(a.config.from, "timeout_message");
	cr_assert_eq(a.capacity, 4);
	cr_assert_eq(a.checkouts, 91 + 4);
	cr_assert_eq(a.peak_out, 4);
	cr_assert_str_eq(a.peak_from, "pool_debug");
	cr_assert_eq(a.holds.best, HOLD_EV_POOL_DEBUG);
	cr_assert_eq(a.hold.count, 95);
	/* the batch's holds are split off by the batch window */
	cr_assert_eq(a.hold_by_origin[ORIGIN_BATCH].count, 4);
	cr_assert_eq(a.hold_by_origin[ORIGIN_API].count, 91);
	cr_assert_float_eq(a.hold_by_origin[ORIGIN_API].max, 50000, 0.5);
	cr_assert_float_eq(a.hold_by_origin[ORIGIN_BATCH].max, 37397000, 0.5);
	cr_assert_eq(a.holds_matched, 91);
	cr_assert_eq(a.nbatches, 1);
	cr_assert_eq(a.batch_stats[0].peak_conns, 4);
	cr_assert_eq(a.batch_stats[0].timeouts, 29);
	cr_assert_eq(a.timeouts_during_batches, 29);
	cr_assert_eq(a.http.requests, 120);
	cr_assert_eq(a.http.errors_5xx, 29);
	cr_assert_eq(a.nendpoints, 2);
	cr_assert_str_eq(a.endpoints[1].path, "/api/v1/vitals/{id}");
	cr_assert_eq(a.http_during.requests, 41);
	cr_assert_eq(a.nincidents, 1);
	cr_assert_eq(a.incidents[0].timeouts, 29);
	cr_assert_eq(a.incidents[0].start, MS(34000));
	cr_assert_eq(a.incidents[0].refs[0].line, 1031);
	cr_assert_eq(a.incidents[0].nbatches, 1);
	cr_assert_eq(a.incidents[0].peak_out, 4);
	cr_assert_geq(a.level_buckets[LEVEL_EXHAUSTED], 3);
	analysis_release(&a);
	timeline_release(&tl);
}

Test(analysis, json_contract_keys)
{
	struct timeline tl;
	struct analysis a;
	struct analysis_opts o;
	struct strbuf sb = STRBUF_INIT;
	struct jw w;
	json_error_t err;
	json_t *root, *v;
	static const char *paths[][3] = {
		{ "inputs", NULL, NULL }, { "span", "start", NULL }, { "span", "end", NULL },
		{ "pool", "config", "pool_size" }, { "pool", "config", "max_overflow" },
		{ "pool", "config", "timeout_s" }, { "pool", "timeouts", NULL },
		{ "pool", "checkouts", NULL }, { "pool", "peak_checked_out", NULL },
		{ "pool", "peak_overflow", NULL }, { "holds", "evidence", NULL },
		{ "holds", "count", NULL }, { "holds", "p50_s", NULL }, { "holds", "p95_s", NULL },
		{ "holds", "p99_s", NULL }, { "holds", "max_s", NULL }, { "http", "requests", NULL },
		{ "http", "status", NULL }, { "http", "latency_s", "p50" },
		{ "http", "latency_s", "max" }, { "postgres", "connections", NULL },
		{ "postgres", "disconnections", NULL }, { "postgres", "too_many_clients", NULL },
		{ "incidents", NULL, NULL },
	};
	build(&tl);
	analysis_opts_init(&o);
	cr_assert_eq(analysis_run(&tl, &o, &a), 0);
	jw_init(&w, &sb, true);
	analysis_write_json(&a, &w);
	root = json_loads(sb.buf, 0, &err);
	cr_assert_not_null(root, "not JSON: %s", err.text);
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		v = root;
		for (int k = 0; k < 3 && paths[i][k]; k++) {
			v = json_object_get(v, paths[i][k]);
			cr_assert_not_null(v, "missing key %s.%s.%s", paths[i][0], paths[i][1] ? paths[i][1] : "",
					   paths[i][2] ? paths[i][2] : "");
		}
	}
	cr_assert_eq(json_integer_value(json_object_get(json_object_get(root, "pool"), "timeouts")), 29);
	cr_assert_str_eq(json_string_value(json_object_get(json_object_get(root, "holds"), "evidence")),
			 "pool_debug");
	cr_assert_float_eq(json_number_value(json_object_get(json_object_get(json_object_get(root, "pool"),
								    "config"), "timeout_s")), 3.0, 1e-9);
	cr_assert_eq(json_integer_value(json_object_get(json_object_get(json_object_get(root, "http"),
								     "status"), "500")), 29);
	cr_assert_eq(json_array_size(json_object_get(root, "incidents")), 1);
	/* key order is fixed: inputs first, then span, pool, holds */
	cr_assert(strstr(sb.buf, "\"inputs\"") < strstr(sb.buf, "\"span\""));
	cr_assert(strstr(sb.buf, "\"span\"") < strstr(sb.buf, "\"pool\""));
	cr_assert(strstr(sb.buf, "\"pool\"") < strstr(sb.buf, "\"holds\""));
	json_decref(root);
	strbuf_release(&sb);
	analysis_release(&a);
	timeline_release(&tl);
}

Test(analysis, text_review_names_cause_and_evidence)
{
	struct timeline tl;
	struct analysis a;
	struct analysis_opts o;
	struct strbuf sb = STRBUF_INIT;
	build(&tl);
	analysis_opts_init(&o);
	cr_assert_eq(analysis_run(&tl, &o, &a), 0);
	analysis_write_text(&a, &sb);
	cr_assert(strstr(sb.buf, "batch 'vitals' (400 entries) held 4 connections for 29.9-37.4 s while "
				 "API requests timed out"), "%s", sb.buf);
	cr_assert(strstr(sb.buf, "app.log:1031"), "%s", sb.buf);
	cr_assert(strstr(sb.buf, "app.log:500"), "%s", sb.buf);
	cr_assert(strstr(sb.buf, "29 pool timeouts"), "%s", sb.buf);
	strbuf_release(&sb);
	analysis_release(&a);
	timeline_release(&tl);
}

Test(analysis, empty_timeline)
{
	struct timeline tl;
	struct analysis a;
	struct analysis_opts o;
	struct strbuf sb = STRBUF_INIT;
	struct jw w;
	json_t *root;
	timeline_init(&tl);
	analysis_opts_init(&o);
	cr_assert_eq(analysis_run(&tl, &o, &a), 0);
	cr_assert_eq(a.nincidents, 0);
	cr_assert_eq(a.holds.best, HOLD_EV_NONE);
	jw_init(&w, &sb, false);
	analysis_write_json(&a, &w);
	root = json_loads(sb.buf, 0, NULL);
	cr_assert_not_null(root, "%s", sb.buf);
	cr_assert(json_is_null(json_object_get(json_object_get(root, "pool"), "checkouts")));
	json_decref(root);
	strbuf_reset(&sb);
	analysis_write_text(&a, &sb);
	cr_assert(strstr(sb.buf, "No incident"));
	strbuf_release(&sb);
	analysis_release(&a);
	timeline_release(&tl);
}

Test(analysis, pool_option_parse)
{
	struct pool_config c = POOL_CONFIG_INIT;
	cr_assert_eq(pool_config_parse(&c, "20/30/45"), 0);
	cr_assert_eq(c.pool_size, 20);
	cr_assert_eq(c.max_overflow, 30);
	cr_assert_eq(c.timeout_usec, 45000000);
	cr_assert_eq(pool_config_capacity(&c), 50);
	cr_assert_eq(pool_config_parse(&c, "10/20/0.5"), 0);
	cr_assert_eq(c.timeout_usec, 500000);
	cr_assert_eq(pool_config_parse(&c, "10/-1"), 0);
	cr_assert_eq(pool_config_capacity(&c), -1);
	cr_assert_eq(pool_config_parse(&c, "10"), -1);
	cr_assert_eq(pool_config_parse(&c, "a/b/c"), -1);
	cr_assert_eq(pool_config_parse(&c, "10/20/30/40"), -1);
}

/* Big samples take the radix-sort path: percentiles must equal type 7 on a
 * known permutation. */
Test(analysis, big_latency_sample_percentiles)
{
	struct timeline tl;
	struct analysis a;
	struct analysis_opts o;
	struct event ev;
	const int n = 20000;
	timeline_init(&tl);
	timeline_add_source(&tl, "access.log");
	for (int i = 0; i < n; i++) {
		event_init(&ev, EVENT_HTTP_REQUEST);
		ev.ts = MS(i);
		ev.dur = (int64_t)((i * 7919) % n) * 1000; /* 0..19999 ms, shuffled */
		ev.u.http.status = 200;
		ev.text = "/x";
		timeline_append(&tl, &ev);
	}
	timeline_sort(&tl);
	analysis_opts_init(&o);
	cr_assert_eq(analysis_run(&tl, &o, &a), 0);
	cr_assert_eq(a.http.latency.count, (size_t)n);
	cr_assert_float_eq(a.http.latency.p50, 9999.5 * 1000, 1e-6);
	cr_assert_float_eq(a.http.latency.p95, 18999.05 * 1000, 1e-3);
	cr_assert_float_eq(a.http.latency.max, 19999.0 * 1000, 1e-6);
	cr_assert_float_eq(a.http.latency.min, 0, 1e-6);
	analysis_release(&a);
	timeline_release(&tl);
}
