#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <string.h>
#include "analysis/compare.h"
#include "tests/analysis_synth.h"

static const struct cmp_row *find_row(const struct comparison *c, const char *key)
{
	for (size_t i = 0; i < c->nrows; i++)
		if (!strcmp(c->rows[i].key, key))
			return &c->rows[i];
	cr_assert_fail("no row %s", key);
	return NULL;
}

static void run(struct timeline *tb, struct timeline *ta, struct analysis *b, struct analysis *a,
		bool swap, const char *pool_after)
{
	struct analysis_opts o;
	build_run(tb, swap);
	build_run(ta, !swap);
	analysis_opts_init(&o);
	cr_assert_eq(analysis_run(tb, &o, b), 0);
	if (pool_after)
		cr_assert_eq(pool_config_parse(&o.pool, pool_after), 0);
	cr_assert_eq(analysis_run(ta, &o, a), 0);
}

Test(compare, fix_is_measured_and_passes)
{
	struct timeline tb, ta;
	struct analysis b, a;
	struct comparison c;
	struct compare_opts co;
	struct strbuf sb = STRBUF_INIT;
	run(&tb, &ta, &b, &a, false, "5/5/4.5");
	compare_opts_init(&co);
	compare_run(&b, &a, &co, &c);
	cr_assert_not(c.regression);
	cr_assert_eq(find_row(&c, "timeouts")->before, 29);
	cr_assert_eq(find_row(&c, "timeouts")->after, 0);
	cr_assert_eq(find_row(&c, "timeouts")->verdict, CMP_BETTER);
	cr_assert_str_eq(find_row(&c, "pool_capacity")->before_text, "2+2=4");
	cr_assert_str_eq(find_row(&c, "pool_capacity")->after_text, "5+5=10");
	cr_assert_str_eq(find_row(&c, "batch_size")->after_text, "200");
	cr_assert_eq(find_row(&c, "batch_connections")->before, 4);
	cr_assert_eq(find_row(&c, "batch_connections")->after, 2);
	cr_assert_float_eq(find_row(&c, "hold_batch_max_s")->after, 5.0, 1e-9);
	cr_assert_eq(find_row(&c, "commits_per_batch")->verdict, CMP_BETTER);
	cr_assert_eq(c.ncrit, 3);
	cr_assert_eq(c.crit[0].result, CRIT_PASS);
	/* after: 1 API + 2 batch out of 10 at most */
	cr_assert_eq(c.crit[1].result, CRIT_PASS, "%s", c.crit[1].detail);
	cr_assert_eq(c.crit[2].result, CRIT_PASS, "%s", c.crit[2].detail);
	compare_write_text(&c, &sb);
	cr_assert(strstr(sb.buf, "No regression"), "%s", sb.buf);
	strbuf_reset(&sb);
	compare_write_markdown(&c, &sb);
	cr_assert(strstr(sb.buf, "| **Timeout errors** | 29 | 0 | -100 % | better |"), "%s", sb.buf);
	strbuf_release(&sb);
	analysis_release(&a);
	analysis_release(&b);
	timeline_release(&ta);
	timeline_release(&tb);
}

Test(compare, regression_when_swapped)
{
	struct timeline tb, ta;
	struct analysis b, a;
	struct comparison c;
	struct compare_opts co;
	struct strbuf sb = STRBUF_INIT;
	struct jw w;
	json_t *root;
	run(&tb, &ta, &b, &a, true, NULL);
	compare_opts_init(&co);
	compare_run(&b, &a, &co, &c);
	cr_assert(c.regression);
	cr_assert_eq(find_row(&c, "timeouts")->verdict, CMP_WORSE);
	cr_assert_eq(find_row(&c, "http_5xx")->verdict, CMP_WORSE);
	cr_assert_eq(c.crit[0].result, CRIT_FAIL);
	cr_assert_eq(c.crit[2].result, CRIT_FAIL);
	jw_init(&w, &sb, false);
	compare_write_json(&c, &w);
	root = json_loads(sb.buf, 0, NULL);
	cr_assert_not_null(root);
	cr_assert(json_is_true(json_object_get(root, "regression")));
	cr_assert_eq(json_integer_value(json_object_get(json_object_get(json_object_get(root, "after"),
								     "pool"), "timeouts")), 29);
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(root, "criteria"), 0),
							   "result")), "fail");
	json_decref(root);
	strbuf_release(&sb);
	analysis_release(&a);
	analysis_release(&b);
	timeline_release(&ta);
	timeline_release(&tb);
}

/* Without --pool-after and without a timeout message the capacity of the
 * fixed run is unknown: the usage criterion says so instead of guessing. */
Test(compare, unknown_capacity_is_not_a_pass)
{
	struct timeline tb, ta;
	struct analysis b, a;
	struct comparison c;
	struct compare_opts co;
	run(&tb, &ta, &b, &a, false, NULL);
	compare_opts_init(&co);
	compare_run(&b, &a, &co, &c);
	cr_assert_eq(a.config.pool_size, 5);
	cr_assert_str_eq(a.config.from, "pool_stats");
	cr_assert_eq(c.crit[1].result, CRIT_UNKNOWN);
	cr_assert(strstr(c.crit[1].detail, "--pool-after"));
	analysis_release(&a);
	analysis_release(&b);
	timeline_release(&ta);
	timeline_release(&tb);
}
