#include <criterion/criterion.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "analysis/analyze.h"
#include "analysis/audit.h"
#include "analysis/audit_trend.h"
#include "core/error.h"
#include "core/event.h"
#include "core/json.h"
#include "core/timeline.h"
#include "tests/testutil.h"

/*
 * Thresholds and findings over hand-built timelines (each case states the
 * events; the expected findings and exit code follow from the defaults in
 * docs/audit.md), the config file, excerpts, writers, and the trend files.
 */

#define T0 INT64_C(1760968800000000) /* 2025-10-20T14:00:00Z */
#define SEC INT64_C(1000000)

static void add(struct timeline *tl, struct event *ev, log_usec ts, uint32_t line)
{
	ev->ts = ts;
	ev->src = 0;
	ev->line = line;
	timeline_append(tl, ev);
}

static void add_timeouts(struct timeline *tl, int n)
{
	for (int i = 0; i < n; i++) {
		struct event ev;
		event_init(&ev, EVENT_POOL_TIMEOUT);
		ev.u.timeout.pool_size = 10;
		ev.u.timeout.max_overflow = 20;
		ev.u.timeout.timeout_usec = 30 * SEC;
		add(tl, &ev, T0 + (10 + i) * SEC, (uint32_t)(100 + i));
	}
}

static void add_stats(struct timeline *tl, int out)
{
	struct event ev;
	event_init(&ev, EVENT_POOL_STATS);
	ev.u.stats.pool_size = 10;
	ev.u.stats.checked_out = out;
	ev.u.stats.checked_in = 0;
	ev.u.stats.overflow = out - 10;
	ev.text = "before batch";
	add(tl, &ev, T0 + 5 * SEC, 50);
}

static void add_requests(struct timeline *tl, int n, int n500)
{
	for (int i = 0; i < n; i++) {
		struct event ev;
		event_init(&ev, EVENT_HTTP_REQUEST);
		ev.u.http.status = i < n500 ? 500 : 200;
		ev.dur = 20000;
		ev.text = "/api/v1/health";
		ev.text2 = "GET";
		add(tl, &ev, T0 + i * SEC / 10, (uint32_t)(1000 + i));
	}
}

static void add_refusal(struct timeline *tl)
{
	struct event ev;
	event_init(&ev, EVENT_PG_TOO_MANY_CLIENTS);
	add(tl, &ev, T0 + 3 * SEC, 7);
}

/* n pool-debug holds of `secs` each on connection 0x1 */
static void add_holds(struct timeline *tl, int n, int secs)
{
	for (int i = 0; i < n; i++) {
		struct event co, ci;
		log_usec t = T0 + (int64_t)i * (secs + 1) * SEC;
		event_init(&co, EVENT_POOL_CHECKOUT);
		co.conn = "0x7f01";
		co.pid = 42;
		add(tl, &co, t, (uint32_t)(2000 + 2 * i));
		event_init(&ci, EVENT_POOL_CHECKIN);
		ci.conn = "0x7f01";
		ci.pid = 42;
		add(tl, &ci, t + secs * SEC, (uint32_t)(2001 + 2 * i));
	}
}

struct judged {
	struct timeline tl;
	struct analysis a;
	struct audit_result r;
};

static void judge(struct judged *j, const struct audit_thresholds *t)
{
	struct analysis_opts ao;
	analysis_opts_init(&ao);
	ao.pool = t->pool;
	timeline_sort(&j->tl);
	cr_assert_eq(analysis_run(&j->tl, &ao, &j->a), 0);
	audit_result_init(&j->r);
	audit_evaluate(&j->a, t, &j->r);
}

static void judged_release(struct judged *j)
{
	audit_result_release(&j->r);
	analysis_release(&j->a);
	timeline_release(&j->tl);
}

static const struct audit_finding *find(const struct audit_result *r, const char *code)
{
	for (size_t i = 0; i < r->nr; i++)
		if (!strcmp(r->v[i].code, code))
			return &r->v[i];
	return NULL;
}

static void codes(const struct audit_result *r, char *out, size_t n)
{
	struct strbuf sb = STRBUF_INIT;
	for (size_t i = 0; i < r->nr; i++)
		strbuf_addf(&sb, "%s%s:%s", i ? " " : "", audit_level_name(r->v[i].level), r->v[i].code);
	snprintf(out, n, "%s", sb.buf);
	strbuf_release(&sb);
}

enum build {
	B_NOTHING, B_TIMEOUTS2, B_USAGE25, B_USAGE30, B_5XX_3_OF_200, B_5XX_3_OF_50, B_REFUSAL,
	B_HOLDS_40S, B_HOLDS_5S, B_UNPARSED_10_OF_100, B_UNPARSED_3_OF_10, B_USAGE25_NO_POOL
};

static const struct {
	const char *name;
	enum build build;
	const char *set[4];    /* key, value pairs */
	const char *want;      /* findings "level:code ..." */
	int exit_code;
} cases[] = {
	{ "quiet logs", B_NOTHING, { NULL }, "", 0 },
	{ "two timeouts", B_TIMEOUTS2, { NULL }, "critical:pool_timeouts", 1 },
	{ "two timeouts allowed", B_TIMEOUTS2, { "max-timeouts", "2" }, "", 0 },
	{ "timeouts off", B_TIMEOUTS2, { "max-timeouts", "off" }, "", 0 },
	{ "usage 83%", B_USAGE25, { NULL }, "warning:pool_usage", 1 },
	{ "usage 83% under 90", B_USAGE25, { "max-usage", "90" }, "", 0 },
	{ "usage warning, fail on critical", B_USAGE25, { "fail-on", "critical" }, "warning:pool_usage", 0 },
	{ "exhausted", B_USAGE30, { NULL }, "critical:pool_exhausted", 1 },
	{ "exhausted off: usage", B_USAGE30, { "exhausted", "off" }, "warning:pool_usage", 1 },
	{ "capacity unknown", B_USAGE25_NO_POOL, { NULL }, "info:pool_capacity_unknown", 0 },
	{ "5xx 1.5%", B_5XX_3_OF_200, { NULL }, "warning:http_5xx_rate", 1 },
	{ "5xx 1.5% under 2", B_5XX_3_OF_200, { "max-5xx", "2%" }, "", 0 },
	{ "5xx too few requests", B_5XX_3_OF_50, { NULL }, "", 0 },
	{ "5xx few requests judged", B_5XX_3_OF_50, { "min-requests", "10" }, "warning:http_5xx_rate", 1 },
	{ "refusal", B_REFUSAL, { NULL }, "critical:pg_too_many_clients", 1 },
	{ "refusal allowed", B_REFUSAL, { "max-too-many-clients", "1" }, "", 0 },
	{ "holds 40 s", B_HOLDS_40S, { NULL }, "warning:hold_p95", 1 },
	{ "holds 40 s under 1m", B_HOLDS_40S, { "max-hold-p95", "1m" }, "", 0 },
	{ "holds 5 s", B_HOLDS_5S, { NULL }, "", 0 },
	{ "holds 5 s over 2000ms", B_HOLDS_5S, { "max-hold-p95", "2000ms" }, "warning:hold_p95", 1 },
	{ "unparsed 10%", B_UNPARSED_10_OF_100, { NULL }, "warning:unparsed_lines", 1 },
	{ "unparsed 10% under 20", B_UNPARSED_10_OF_100, { "max-unparsed", "20" }, "", 0 },
	{ "unparsed, too few lines", B_UNPARSED_3_OF_10, { NULL }, "", 0 },
};

static void build(struct timeline *tl, enum build b)
{
	struct source *s;
	timeline_init(tl);
	timeline_add_source(tl, "app.log");
	s = timeline_source(tl, 0);
	switch (b) {
	case B_NOTHING: break;
	case B_TIMEOUTS2: add_timeouts(tl, 2); break;
	case B_USAGE25:
	case B_USAGE25_NO_POOL: add_stats(tl, 25); break;
	case B_USAGE30: add_stats(tl, 30); break;
	case B_5XX_3_OF_200: add_requests(tl, 200, 3); break;
	case B_5XX_3_OF_50: add_requests(tl, 50, 3); break;
	case B_REFUSAL: add_refusal(tl); break;
	case B_HOLDS_40S: add_holds(tl, 20, 40); break;
	case B_HOLDS_5S: add_holds(tl, 20, 5); break;
	case B_UNPARSED_10_OF_100:
		s->lines = 100;
		for (int i = 0; i < 10; i++)
			source_note_unparsed(s, (uint64_t)(3 + i), UNPARSED_UNKNOWN_LAYOUT, "junk", 4);
		break;
	case B_UNPARSED_3_OF_10:
		s->lines = 10;
		for (int i = 0; i < 3; i++)
			source_note_unparsed(s, (uint64_t)(3 + i), UNPARSED_UNKNOWN_LAYOUT, "junk", 4);
		break;
	}
}

Test(audit, thresholds_table)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct audit_thresholds t;
		struct judged j;
		struct strbuf why = STRBUF_INIT;
		char got[256];
		audit_thresholds_init(&t);
		if (cases[i].build != B_USAGE25_NO_POOL)
			cr_assert_eq(audit_threshold_set(&t, "pool", "10/20/30", &why), 0);
		for (size_t k = 0; k < 4 && cases[i].set[k]; k += 2)
			cr_assert_eq(audit_threshold_set(&t, cases[i].set[k], cases[i].set[k + 1], &why), 0,
				     "%s: %s", cases[i].name, why.buf);
		build(&j.tl, cases[i].build);
		judge(&j, &t);
		codes(&j.r, got, sizeof(got));
		cr_assert_str_eq(got, cases[i].want, "case '%s'", cases[i].name);
		cr_assert_eq(audit_exit_code(&j.r, &t), cases[i].exit_code, "case '%s' exit code",
			     cases[i].name);
		judged_release(&j);
		strbuf_release(&why);
	}
}

Test(audit, findings_carry_figures_and_evidence)
{
	struct audit_thresholds t;
	struct judged j;
	const struct audit_finding *f;
	audit_thresholds_init(&t);
	build(&j.tl, B_TIMEOUTS2);
	add_timeouts(&j.tl, 6);
	judge(&j, &t);
	f = find(&j.r, "pool_timeouts");
	cr_assert_not_null(f);
	cr_assert_eq(f->value, 8);
	cr_assert_eq(f->threshold, 0);
	cr_assert_eq(f->nrefs, AUDIT_MAX_REFS);
	cr_assert_eq(f->more_refs, 3);
	cr_assert_str_eq(f->refs[0].path, "app.log");
	cr_assert_eq(f->refs[0].line, 100);
	cr_assert(strstr(f->message, "8 pool checkout timeouts (allowed 0)"), "%s", f->message);
	cr_assert(strstr(f->message, "(pool 10/20, timeout 30 s)"), "%s", f->message);
	judged_release(&j);

	/* usage: the pool-stat line is the evidence */
	audit_thresholds_init(&t);
	t.pool.pool_size = 10;
	t.pool.max_overflow = 20;
	build(&j.tl, B_USAGE25);
	judge(&j, &t);
	f = find(&j.r, "pool_usage");
	cr_assert_not_null(f);
	cr_assert_float_eq(f->value, 100.0 * 25 / 30, 1e-9);
	cr_assert_eq(f->nrefs, 1);
	cr_assert_eq(f->refs[0].line, 50);
	judged_release(&j);

	/* holds: the longest holds over the limit, longest first */
	audit_thresholds_init(&t);
	build(&j.tl, B_HOLDS_40S);
	judge(&j, &t);
	f = find(&j.r, "hold_p95");
	cr_assert_not_null(f);
	cr_assert_float_eq(f->value, 40.0, 1e-6);
	cr_assert_eq(f->nrefs, AUDIT_MAX_REFS);
	cr_assert_eq(f->more_refs, 15);
	judged_release(&j);
}

Test(audit, threshold_values_are_checked)
{
	static const struct {
		const char *key, *value, *why;
	} bad[] = {
		{ "max-timeout", "1", "unknown threshold 'max-timeout'" },
		{ "max-timeouts", "-1", "wants a count" },
		{ "max-timeouts", "2x", "wants a count" },
		{ "max-usage", "101", "percentage from 0 to 100" },
		{ "max-usage", "abc", "percentage" },
		{ "max-hold-p95", "soon", "wants a duration" },
		{ "exhausted", "maybe", "on or off" },
		{ "fail-on", "info", "warning or critical" },
		{ "pool", "10", "SIZE/OVERFLOW/TIMEOUT" },
		{ "pool", "10/x/30", "SIZE/OVERFLOW/TIMEOUT" },
		{ "min-lines", "off", "cannot be off" },
	};
	struct audit_thresholds t;
	audit_thresholds_init(&t);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct strbuf why = STRBUF_INIT;
		cr_assert_eq(audit_threshold_set(&t, bad[i].key, bad[i].value, &why), -1,
			     "%s = %s accepted", bad[i].key, bad[i].value);
		cr_assert(strstr(why.buf, bad[i].why), "%s = %s: '%s'", bad[i].key, bad[i].value,
			  why.buf);
		strbuf_release(&why);
	}
	/* and the good forms */
	{
		struct strbuf why = STRBUF_INIT;
		cr_assert_eq(audit_threshold_set(&t, "max-usage", "75%", &why), 0);
		cr_assert_float_eq(t.max_usage_pct, 75, 1e-9);
		cr_assert_eq(audit_threshold_set(&t, "max-hold-p95", "1500ms", &why), 0);
		cr_assert_eq(t.max_hold_p95_usec, 1500000);
		cr_assert_eq(audit_threshold_set(&t, "max-hold-p95", "off", &why), 0);
		cr_assert_eq(t.max_hold_p95_usec, -1);
		cr_assert_eq(audit_threshold_set(&t, "pool", "20/30/45", &why), 0);
		cr_assert_eq(t.pool.pool_size, 20);
		cr_assert_eq(t.pool.max_overflow, 30);
		cr_assert_eq(t.pool.timeout_usec, 45000000);
		strbuf_release(&why);
	}
}

static char *capture_stderr_begin(int *saved)
{
	char *path = test_write_temp("", 0, ".err");
	int fd = open(path, O_WRONLY | O_TRUNC);
	fflush(stderr);
	*saved = dup(2);
	dup2(fd, 2);
	close(fd);
	return path;
}

static void capture_stderr_end(int saved, char *path, struct strbuf *out)
{
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	test_read_file(path, out);
	unlink(path);
	free(path);
}

Test(audit, config_file_and_its_errors)
{
	struct audit_thresholds t;
	static const char good[] = "# nightly audit of app-1\n"
				   "max-timeouts = 3   # a few are tolerated\n"
				   "\n"
				   "  max-usage=70\n"
				   "max-hold-p95 = 45s\r\n"
				   "pool = 20/30/45\n"
				   "fail-on = critical\n";
	static const struct {
		const char *text, *want;
	} bad[] = {
		{ "max-timeouts = 1\nmax-usage\n", ":2: want 'key = value'" },
		{ "\n\nmax-usage = lots\n", ":3: max-usage wants a percentage" },
		{ "max-tiemouts = 1\n", ":1: unknown threshold 'max-tiemouts'" },
	};
	char *path = test_write_temp(good, strlen(good), ".conf");
	audit_thresholds_init(&t);
	cr_assert_eq(audit_config_load(&t, path), 0);
	cr_assert_eq(t.max_timeouts, 3);
	cr_assert_float_eq(t.max_usage_pct, 70, 1e-9);
	cr_assert_eq(t.max_hold_p95_usec, 45 * SEC);
	cr_assert_eq(t.pool.pool_size, 20);
	cr_assert_eq(t.fail_on, AUDIT_CRITICAL);
	cr_assert_eq(t.max_5xx_pct, 1, "untouched keys keep their defaults");
	unlink(path);
	free(path);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct strbuf err = STRBUF_INIT;
		int saved;
		char *cap;
		path = test_write_temp(bad[i].text, strlen(bad[i].text), ".conf");
		cap = capture_stderr_begin(&saved);
		cr_assert_eq(audit_config_load(&t, path), -1);
		capture_stderr_end(saved, cap, &err);
		cr_assert(strstr(err.buf, path), "names the file: %s", err.buf);
		cr_assert(strstr(err.buf, bad[i].want), "'%s' lacks '%s'", err.buf, bad[i].want);
		unlink(path);
		free(path);
		strbuf_release(&err);
	}
}

Test(audit, print_config_round_trips)
{
	struct audit_thresholds t, back;
	struct strbuf sb = STRBUF_INIT, why = STRBUF_INIT, again = STRBUF_INIT;
	char *path;
	audit_thresholds_init(&t);
	audit_threshold_set(&t, "max-hold-p95", "off", &why);
	audit_threshold_set(&t, "max-usage", "72.5", &why);
	audit_threshold_set(&t, "pool", "10/20/30", &why);
	audit_thresholds_dump(&t, &sb);
	path = test_write_temp(sb.buf, sb.len, ".conf");
	audit_thresholds_init(&back);
	cr_assert_eq(audit_config_load(&back, path), 0, "%s", sb.buf);
	audit_thresholds_dump(&back, &again);
	cr_assert_str_eq(again.buf, sb.buf);
	unlink(path);
	free(path);
	strbuf_release(&sb);
	strbuf_release(&why);
	strbuf_release(&again);
}

static const char hostile[] = "2025-10-20 14:00:01,000 - it's \"quoted\" \\ back\tslash'); DROP TABLE poolscope.audit_run; --\x1b[31m";

Test(audit, excerpts_are_the_raw_line_bytes)
{
	struct strbuf text = STRBUF_INIT, out = STRBUF_INIT;
	struct audit_result r;
	struct audit_finding *f;
	struct timeline tl;
	char *path;
	json_t *root;
	json_error_t jerr;

	strbuf_addstr(&text, "line one\n");
	strbuf_addstr(&text, hostile);
	strbuf_addch(&text, '\n');
	strbuf_add(&text, "nul\0here\n", 9);
	path = test_write_temp(text.buf, text.len, ".log");
	audit_result_init(&r);
	f = audit_add(&r, AUDIT_WARNING, "test", 1, NAN, "message with 'quotes' and \\ and \ttab");
	audit_add_ref(f, path, 2);
	audit_add_ref(f, path, 3);
	audit_add_ref(f, path, 99); /* beyond the end: no excerpt */
	timeline_init(&tl);
	audit_fill_excerpts(&r, &tl);
	cr_assert_eq(f->refs[0].excerpt_len, strlen(hostile));
	cr_assert_eq(memcmp(f->refs[0].excerpt, hostile, strlen(hostile)), 0);
	cr_assert_eq(f->refs[1].excerpt_len, 8);
	cr_assert_eq(memcmp(f->refs[1].excerpt, "nul\0here", 8), 0);
	cr_assert_null(f->refs[2].excerpt);

	/* text output: one line per finding, log bytes escaped */
	{
		struct analysis a;
		struct analysis_opts ao;
		struct audit_thresholds t;
		struct jw w;
		const char *got;
		size_t len;
		analysis_opts_init(&ao);
		timeline_sort(&tl);
		cr_assert_eq(analysis_run(&tl, &ao, &a), 0);
		audit_thresholds_init(&t);
		audit_write_text(&a, &r, &t, true, &out);
		cr_assert_null(strchr(out.buf, '\x1b'), "escape sequence leaked: %s", out.buf);
		cr_assert(strstr(out.buf, "back\\x09slash"), "%s", out.buf);
		cr_assert(strstr(out.buf, "nul\\x00here"), "%s", out.buf);
		cr_assert(strstr(out.buf, "\\x1b[31m"), "%s", out.buf);
		/* JSON: the excerpt comes back byte for byte (NUL included) */
		strbuf_reset(&out);
		jw_init(&w, &out, false);
		audit_write_json(&a, &r, &t, &w);
		root = json_loads(out.buf, JSON_ALLOW_NUL, &jerr);
		cr_assert_not_null(root, "bad JSON: %s", jerr.text);
		{
			json_t *ev = json_object_get(json_array_get(json_object_get(root, "findings"), 0),
						     "evidence");
			json_t *t0 = json_object_get(json_array_get(ev, 0), "text");
			json_t *t1 = json_object_get(json_array_get(ev, 1), "text");
			got = json_string_value(t0);
			cr_assert_str_eq(got, hostile);
			got = json_string_value(t1);
			len = json_string_length(t1);
			cr_assert_eq(len, 8);
			cr_assert_eq(memcmp(got, "nul\0here", 8), 0);
			cr_assert(json_is_null(json_object_get(json_array_get(ev, 2), "text")));
			cr_assert_eq(json_integer_value(json_object_get(json_object_get(root, "read"), "files")), 0);
			cr_assert_str_eq(json_string_value(json_object_get(root, "result")), "breached");
		}
		json_decref(root);
		analysis_release(&a);
	}
	audit_result_release(&r);
	timeline_release(&tl);
	unlink(path);
	free(path);
	strbuf_release(&text);
	strbuf_release(&out);
}

Test(audit_trend, histogram_buckets_and_p95)
{
	struct audit_trend t;
	struct audit_trend_day *d;
	cr_assert_eq(audit_hist_bucket(0), 0);
	cr_assert_eq(audit_hist_bucket(1000), 0);
	cr_assert_eq(audit_hist_bucket(1001), 1);
	cr_assert_eq(audit_hist_bucket(10000), 20);
	cr_assert_eq(audit_hist_bucket(10001), 21);
	cr_assert_eq(audit_hist_bucket(INT64_C(1) << 60), AUDIT_HIST_BUCKETS - 1);
	for (int b = 1; b < AUDIT_HIST_BUCKETS - 1; b++) {
		/* every bucket holds its own upper edge, and the next one starts above it */
		int64_t up = (int64_t)floor(audit_hist_upper_s(b) * 1e6);
		cr_assert_eq(audit_hist_bucket(up), b, "bucket %d", b);
		cr_assert_eq(audit_hist_bucket(up + 2), b + 1, "bucket %d", b);
	}
	audit_trend_init(&t);
	d = audit_trend_day(&t, 20381);
	/* 100 holds: 94 of 10 ms, 6 of 40 s: p95 is a 40 s hold */
	d->hist[audit_hist_bucket(10000)] = 94;
	d->hist[audit_hist_bucket(40 * SEC)] = 6;
	cr_assert_float_eq(audit_trend_hold_p95(d), audit_hist_upper_s(audit_hist_bucket(40 * SEC)),
			   1e-12);
	cr_assert(audit_trend_hold_p95(d) >= 40 && audit_trend_hold_p95(d) < 40 * 1.123);
	d->hist[audit_hist_bucket(10000)] = 95;
	d->hist[audit_hist_bucket(40 * SEC)] = 5;
	cr_assert_float_eq(audit_trend_hold_p95(d), 0.01, 1e-12);
	cr_assert(isnan(audit_trend_hold_p95(audit_trend_day(&t, 20379))));
	/* days stay in order */
	cr_assert_eq(t.nr, 2);
	cr_assert_eq(t.v[0].day, 20379);
	cr_assert_eq(t.v[1].day, 20381);
	audit_trend_release(&t);
}

static bool file_nonempty(const char *dir, const char *name)
{
	char p[512];
	struct stat st;
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return stat(p, &st) == 0 && st.st_size > 0;
}

Test(audit_trend, files_are_fixed_scripts_over_data_and_render)
{
	struct audit_trend t;
	char dir[] = "/tmp/poolscope-trend-XXXXXX";
	struct strbuf gp = STRBUF_INIT, dat = STRBUF_INIT, md = STRBUF_INIT;
	char p[512];
	cr_assert_not_null(mkdtemp(dir));
	audit_trend_init(&t);
	for (int i = 0; i < 10; i++) {
		struct audit_trend_day *d = audit_trend_day(&t, 20381 + i);
		d->runs = 1;
		d->hosts = 1;
		d->timeouts = i < 3 ? 40 - 10 * i : 0;
		d->peak_out = 30 - i;
		d->peak_usage_pct = 100.0 * (30 - i) / 30;
		d->hist[audit_hist_bucket((120 - 10 * i) * SEC)] = 5;
		d->hist[audit_hist_bucket(20000)] = 95;
	}
	audit_trend_day(&t, 20395)->runs = 1; /* a day with no figures */
	cr_assert_eq(audit_trend_write_files(&t, dir), 0);
	snprintf(p, sizeof(p), "%s/trend-timeouts.gp", dir);
	cr_assert_eq(test_read_file(p, &gp), 0);
	cr_assert(strstr(gp.buf, "'trend-timeouts.dat' index 0 using 1:2"), "%s", gp.buf);
	cr_assert_null(strstr(gp.buf, "EOD"), "figures belong in the .dat file, not inline");
	cr_assert_null(strstr(gp.buf, "-14 40"), "figures belong in the .dat file");
	cr_assert(strstr(gp.buf, "set xlabel 'days before 2025-11-03 (UTC)'"), "%s", gp.buf);
	snprintf(p, sizeof(p), "%s/trend-timeouts.dat", dir);
	cr_assert_eq(test_read_file(p, &dat), 0);
	/* x is days before the newest day (2025-11-03): 2025-10-20 is -14 */
	cr_assert(strstr(dat.buf, "\n-14 40\n"), "%s", dat.buf);
	cr_assert(strstr(dat.buf, "\n-12 20\n"), "%s", dat.buf);
	cr_assert(strstr(dat.buf, "\n0 0\n"), "%s", dat.buf);
	snprintf(p, sizeof(p), "%s/trend.md", dir);
	cr_assert_eq(test_read_file(p, &md), 0);
	cr_assert(strstr(md.buf, "| 2025-10-20 | 1 | 1 | 0 | 40 |"), "%s", md.buf);
	cr_assert(strstr(md.buf, "| 2025-11-03 | 1 | 0 | 0 | 0 | - | - | - |"), "%s", md.buf);
	if (test_run("command -v gnuplot >/dev/null", NULL) != 0) {
		if (getenv("CI") && !strcmp(getenv("CI"), "true"))
			cr_assert_fail("gnuplot missing under CI=true");
		cr_skip_test("gnuplot not installed");
	}
	cr_assert_eq(audit_trend_render(dir), 0);
	cr_assert(file_nonempty(dir, "trend-timeouts.png"));
	cr_assert(file_nonempty(dir, "trend-timeouts.svg"));
	cr_assert(file_nonempty(dir, "trend-hold-p95.png"));
	cr_assert(file_nonempty(dir, "trend-peak-usage.svg"));
	snprintf(p, sizeof(p), "rm -rf '%s'", dir);
	cr_assert_eq(system(p), 0);
	audit_trend_release(&t);
	strbuf_release(&gp);
	strbuf_release(&dat);
	strbuf_release(&md);
}

Test(audit_trend, empty_history_still_renders)
{
	struct audit_trend t;
	char dir[] = "/tmp/poolscope-trend-XXXXXX";
	char p[512];
	cr_assert_not_null(mkdtemp(dir));
	audit_trend_init(&t);
	cr_assert_eq(audit_trend_write_files(&t, dir), 0);
	if (test_run("command -v gnuplot >/dev/null", NULL) == 0) {
		cr_assert_eq(audit_trend_render(dir), 0);
		cr_assert(file_nonempty(dir, "trend-hold-p95.png"));
	}
	snprintf(p, sizeof(p), "rm -rf '%s'", dir);
	cr_assert_eq(system(p), 0);
	audit_trend_release(&t);
}
