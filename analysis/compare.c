#include "analysis/compare.h"
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "analysis/textfmt.h"
#include "core/error.h"
#include "core/banned.h"

static const char *const verdicts[] = { "unknown", "same", "better", "worse", "changed" };
static const char *const results[] = { "unknown", "pass", "fail" };

const char *cmp_verdict_name(enum cmp_verdict v)
{
	return (unsigned)v <= CMP_CHANGED ? verdicts[v] : "unknown";
}

const char *crit_result_name(enum crit_result r)
{
	return (unsigned)r <= CRIT_FAIL ? results[r] : "unknown";
}

void compare_opts_init(struct compare_opts *o)
{
	o->latency_bound_usec = 1 * USEC_PER_SEC;
	o->usage_limit_pct = 80;
	o->hold_p95_tolerance = 0.10;
}

static void fmt_val(char *out, size_t n, double v, const char *unit)
{
	if (isnan(v))
		snprintf(out, n, "-");
	else if (!strcmp(unit, "s"))
		snprintf(out, n, v < 1 ? "%.3f s" : "%.2f s", v);
	else if (!strcmp(unit, "%"))
		snprintf(out, n, "%.1f %%", v);
	else
		snprintf(out, n, "%.0f", v);
}

static struct cmp_row *row(struct comparison *c, const char *key, const char *label,
			   const char *unit, double b, double a, enum cmp_dir dir)
{
	struct cmp_row *r;
	if (c->nrows == CMP_MAX_ROWS)
		BUG("too many comparison rows");
	r = &c->rows[c->nrows++];
	memset(r, 0, sizeof(*r));
	r->key = key;
	r->label = label;
	r->unit = unit;
	r->before = b;
	r->after = a;
	r->dir = dir;
	fmt_val(r->before_text, sizeof(r->before_text), b, unit);
	fmt_val(r->after_text, sizeof(r->after_text), a, unit);
	if (isnan(a) || isnan(b))
		r->verdict = CMP_UNKNOWN;
	else if (fabs(a - b) <= 1e-9 * fmax(1, fabs(b)))
		r->verdict = CMP_SAME;
	else if (dir == CMP_NEUTRAL)
		r->verdict = CMP_CHANGED;
	else if ((dir == CMP_LOWER_BETTER) == (a < b))
		r->verdict = CMP_BETTER;
	else
		r->verdict = CMP_WORSE;
	return r;
}

static double secs(const struct analysis_dist *d, double usec)
{
	return d->count ? usec / 1e6 : NAN;
}

static void range_text(char *out, size_t n, int32_t lo, int32_t hi)
{
	if (lo < 0)
		snprintf(out, n, "-");
	else if (lo == hi)
		snprintf(out, n, "%d", (int)lo);
	else
		snprintf(out, n, "%d-%d", (int)lo, (int)hi);
}

static void capacity_text(char *out, size_t n, const struct pool_config *p)
{
	if (p->pool_size >= 0 && p->max_overflow != INT32_MIN)
		snprintf(out, n, "%d+%d=%d", (int)p->pool_size, (int)p->max_overflow,
			 (int)(p->pool_size + p->max_overflow));
	else if (p->pool_size >= 0)
		snprintf(out, n, "%d+?", (int)p->pool_size);
	else
		snprintf(out, n, "-");
}

static int32_t batch_peak_conns(const struct analysis *a)
{
	int32_t m = -1;
	for (size_t i = 0; i < a->nbatches; i++)
		if (a->batch_stats[i].peak_conns > m)
			m = a->batch_stats[i].peak_conns;
	return m;
}

static double num_or_nan(int64_t v, bool known)
{
	return known ? (double)v : NAN;
}

static void criteria(struct comparison *c)
{
	const struct analysis *a = c->after;
	struct cmp_criterion *k;

	k = &c->crit[c->ncrit++];
	k->key = "no_timeouts";
	k->label = "No timeout errors";
	k->result = a->timeouts ? CRIT_FAIL : CRIT_PASS;
	snprintf(k->detail, sizeof(k->detail), "%zu pool timeouts after (%zu before)", a->timeouts,
		 c->before->timeouts);

	k = &c->crit[c->ncrit++];
	k->key = "usage_during_aggregation";
	k->label = "Pool usage during aggregation below 80 %";
	if (!a->nbatches) {
		k->result = CRIT_UNKNOWN;
		snprintf(k->detail, sizeof(k->detail), "no batch start/end lines in the after logs");
	} else if (a->capacity <= 0) {
		k->result = CRIT_UNKNOWN;
		snprintf(k->detail, sizeof(k->detail),
			 "pool capacity unknown on the after side (no TimeoutError message): "
			 "give --pool-after SIZE/OVERFLOW/TIMEOUT");
	} else if (a->batch_peak_usage_pct < 0) {
		k->result = CRIT_UNKNOWN;
		snprintf(k->detail, sizeof(k->detail), "no pool figure while batches ran "
			 "(neither pool debug lines nor pool-stat samples)");
	} else {
		k->result = a->batch_peak_usage_pct < c->opts.usage_limit_pct ? CRIT_PASS : CRIT_FAIL;
		snprintf(k->detail, sizeof(k->detail),
			 "peak %.1f %% of %d connections while batches ran (limit %.0f %%; from %s)",
			 a->batch_peak_usage_pct, (int)a->capacity, c->opts.usage_limit_pct,
			 !strcmp(a->peak_from, "pool_debug") ? "pool debug checkouts/returns" :
							       "pool-stat samples, a lower bound");
	}

	k = &c->crit[c->ncrit++];
	k->key = "api_responsive_during_aggregation";
	k->label = "API responsive during aggregation";
	if (!a->nbatches) {
		k->result = CRIT_UNKNOWN;
		snprintf(k->detail, sizeof(k->detail), "no batch start/end lines in the after logs");
	} else if (!a->http_during.requests) {
		k->result = CRIT_UNKNOWN;
		snprintf(k->detail, sizeof(k->detail), "no access-log lines while batches ran");
	} else if (a->http_during.timed) {
		bool ok = a->http_during.latency.p95 <= (double)c->opts.latency_bound_usec &&
			  !a->http_during.errors_5xx && !a->timeouts_during_batches;
		k->result = ok ? CRIT_PASS : CRIT_FAIL;
		snprintf(k->detail, sizeof(k->detail),
			 "%zu requests while batches ran: p95 %.3f s (bound %.3f s), %zu 5xx, %zu pool timeouts",
			 a->http_during.requests, a->http_during.latency.p95 / 1e6,
			 (double)c->opts.latency_bound_usec / 1e6, a->http_during.errors_5xx,
			 a->timeouts_during_batches);
	} else {
		/* uvicorn access lines carry no latency: judge by failures */
		bool ok = !a->http_during.errors_5xx && !a->timeouts_during_batches;
		k->result = ok ? CRIT_PASS : CRIT_FAIL;
		snprintf(k->detail, sizeof(k->detail),
			 "%zu requests while batches ran: %zu 5xx, %zu pool timeouts (status only: "
			 "these access logs carry no latency)",
			 a->http_during.requests, a->http_during.errors_5xx, a->timeouts_during_batches);
	}
}

void compare_run(const struct analysis *b, const struct analysis *a, const struct compare_opts *opts,
		 struct comparison *c)
{
	struct cmp_row *r;
	bool same_ev = b->holds.best == a->holds.best;
	memset(c, 0, sizeof(*c));
	c->before = b;
	c->after = a;
	c->opts = *opts;

	r = row(c, "pool_capacity", "Connection pool (size + overflow)", "",
		num_or_nan(b->capacity, b->capacity >= 0), num_or_nan(a->capacity, a->capacity >= 0),
		CMP_NEUTRAL);
	capacity_text(r->before_text, sizeof(r->before_text), &b->config);
	capacity_text(r->after_text, sizeof(r->after_text), &a->config);
	row(c, "pool_timeout_s", "Pool timeout", "s",
	    b->config.timeout_usec >= 0 ? (double)b->config.timeout_usec / 1e6 : NAN,
	    a->config.timeout_usec >= 0 ? (double)a->config.timeout_usec / 1e6 : NAN, CMP_NEUTRAL);
	r = row(c, "batch_size", "Batch size (entries)", "", num_or_nan(b->batch_entries_max, b->batch_entries_max >= 0),
		num_or_nan(a->batch_entries_max, a->batch_entries_max >= 0), CMP_NEUTRAL);
	range_text(r->before_text, sizeof(r->before_text), b->batch_entries_min, b->batch_entries_max);
	range_text(r->after_text, sizeof(r->after_text), a->batch_entries_min, a->batch_entries_max);
	row(c, "batch_connections", "Connections held by one batch (peak)", "",
	    num_or_nan(batch_peak_conns(b), batch_peak_conns(b) >= 0),
	    num_or_nan(batch_peak_conns(a), batch_peak_conns(a) >= 0), CMP_LOWER_BETTER);
	r = row(c, "hold_batch_p50_s", "Connection hold time, batch p50", "s",
		secs(&b->hold_by_origin[ORIGIN_BATCH], b->hold_by_origin[ORIGIN_BATCH].p50),
		secs(&a->hold_by_origin[ORIGIN_BATCH], a->hold_by_origin[ORIGIN_BATCH].p50), CMP_LOWER_BETTER);
	r = row(c, "hold_batch_p95_s", "Connection hold time, batch p95", "s",
		secs(&b->hold_by_origin[ORIGIN_BATCH], b->hold_by_origin[ORIGIN_BATCH].p95),
		secs(&a->hold_by_origin[ORIGIN_BATCH], a->hold_by_origin[ORIGIN_BATCH].p95), CMP_LOWER_BETTER);
	r = row(c, "hold_batch_max_s", "Connection hold time, batch max", "s",
		secs(&b->hold_by_origin[ORIGIN_BATCH], b->hold_by_origin[ORIGIN_BATCH].max),
		secs(&a->hold_by_origin[ORIGIN_BATCH], a->hold_by_origin[ORIGIN_BATCH].max), CMP_LOWER_BETTER);
	r = row(c, "hold_api_p50_s", "Connection hold time, API p50", "s",
		secs(&b->hold_by_origin[ORIGIN_API], b->hold_by_origin[ORIGIN_API].p50),
		secs(&a->hold_by_origin[ORIGIN_API], a->hold_by_origin[ORIGIN_API].p50), CMP_LOWER_BETTER);
	r = row(c, "hold_api_p95_s", "Connection hold time, API p95", "s",
		secs(&b->hold_by_origin[ORIGIN_API], b->hold_by_origin[ORIGIN_API].p95),
		secs(&a->hold_by_origin[ORIGIN_API], a->hold_by_origin[ORIGIN_API].p95), CMP_LOWER_BETTER);
	r = row(c, "hold_api_max_s", "Connection hold time, API max", "s",
		secs(&b->hold_by_origin[ORIGIN_API], b->hold_by_origin[ORIGIN_API].max),
		secs(&a->hold_by_origin[ORIGIN_API], a->hold_by_origin[ORIGIN_API].max), CMP_LOWER_BETTER);
	r = row(c, "hold_p95_s", "Connection hold time, all p95", "s", secs(&b->hold, b->hold.p95),
		secs(&a->hold, a->hold.p95), CMP_LOWER_BETTER);
	/*
	 * The headline hold figure is the batch p95 when both sides have batch
	 * holds: the fix is about what batches do to the pool, and shorter
	 * batch holds raise the all-holds p95 simply by being many more of the
	 * holds (the captured fix: 0.15 s -> 0.46 s while batch p95 fell from
	 * 10.8 s to 2.7 s).  Without batch holds it is the all-holds p95.
	 */
	{
		bool by_batch = b->hold_by_origin[ORIGIN_BATCH].count && a->hold_by_origin[ORIGIN_BATCH].count;
		struct cmp_row *hl = by_batch ? &c->rows[5] : r;
		if (by_batch && strcmp(hl->key, "hold_batch_p95_s"))
			BUG("row order changed");
		hl->headline = true;
		if (!same_ev) {
			hl->verdict = CMP_UNKNOWN;
			hl->note = "different hold evidence on the two sides: not comparable";
		} else if (hl->verdict == CMP_WORSE &&
			   hl->after <= hl->before * (1 + opts->hold_p95_tolerance)) {
			hl->verdict = CMP_SAME;
			hl->note = "within the 10 % tolerance";
		}
		if (!hl->note && b->holds.best != HOLD_EV_POOL_DEBUG && b->holds.best != HOLD_EV_NONE)
			hl->note = hold_evidence_describe(b->holds.best);
	}
	r = row(c, "commits_per_batch", "Commits per batch", "",
		num_or_nan(b->batch_commits_max, b->batch_commits_max >= 0),
		num_or_nan(a->batch_commits_max, a->batch_commits_max >= 0), CMP_HIGHER_BETTER);
	range_text(r->before_text, sizeof(r->before_text), b->batch_commits_min, b->batch_commits_max);
	range_text(r->after_text, sizeof(r->after_text), a->batch_commits_min, a->batch_commits_max);
	if (isnan(r->before) && isnan(r->after))
		r->note = "not in these logs";
	r = row(c, "timeouts", "Timeout errors", "", (double)b->timeouts, (double)a->timeouts,
		CMP_LOWER_BETTER);
	r->headline = true;
	r = row(c, "http_5xx", "HTTP 5xx responses", "", (double)b->http.errors_5xx,
		(double)a->http.errors_5xx, CMP_LOWER_BETTER);
	r->headline = true;
	if (r->verdict == CMP_WORSE && b->http.requests && a->http.requests &&
	    (double)a->http.errors_5xx / (double)a->http.requests <=
		    (double)b->http.errors_5xx / (double)b->http.requests) {
		r->verdict = CMP_SAME;
		r->note = "more requests, same or lower 5xx share";
	}
	row(c, "peak_checked_out", "Peak connections checked out", "",
	    num_or_nan(b->peak_out, b->peak_out >= 0), num_or_nan(a->peak_out, a->peak_out >= 0),
	    CMP_NEUTRAL);
	row(c, "peak_usage_during_batches_pct", "Peak pool usage during aggregation", "%",
	    b->batch_peak_usage_pct >= 0 ? b->batch_peak_usage_pct : NAN,
	    a->batch_peak_usage_pct >= 0 ? a->batch_peak_usage_pct : NAN, CMP_LOWER_BETTER);
	r = row(c, "api_latency_during_batches_p50_s", "API latency during aggregation p50", "s",
		secs(&b->http_during.latency, b->http_during.latency.p50),
		secs(&a->http_during.latency, a->http_during.latency.p50), CMP_LOWER_BETTER);
	if (!b->http_during.timed && !a->http_during.timed)
		r->note = "these access logs carry no latency";
	r = row(c, "api_latency_during_batches_p95_s", "API latency during aggregation p95", "s",
		secs(&b->http_during.latency, b->http_during.latency.p95),
		secs(&a->http_during.latency, a->http_during.latency.p95), CMP_LOWER_BETTER);
	if (!b->http_during.timed && !a->http_during.timed)
		r->note = "these access logs carry no latency";
	row(c, "http_5xx_during_batches", "HTTP 5xx during aggregation", "",
	    (double)b->http_during.errors_5xx, (double)a->http_during.errors_5xx, CMP_LOWER_BETTER);
	row(c, "requests", "HTTP requests", "", (double)b->http.requests, (double)a->http.requests,
	    CMP_NEUTRAL);

	for (size_t i = 0; i < c->nrows; i++)
		if (c->rows[i].headline && c->rows[i].verdict == CMP_WORSE)
			c->regression = true;
	criteria(c);
}

static double change_pct(const struct cmp_row *r)
{
	if (isnan(r->before) || isnan(r->after) || r->before == 0)
		return NAN;
	return 100.0 * (r->after - r->before) / fabs(r->before);
}

static void change_text(struct strbuf *o, const struct cmp_row *r)
{
	double p = change_pct(r);
	if (isnan(r->before) || isnan(r->after))
		strbuf_addstr(o, "-");
	else if (!isnan(p))
		strbuf_addf(o, "%+.0f %%", p);
	else if (r->after == r->before)
		strbuf_addstr(o, "0");
	else
		strbuf_addf(o, "%+g", r->after - r->before);
}

void compare_write_json(const struct comparison *c, struct jw *w)
{
	jw_obj_begin(w);
	jw_key(w, "before");
	analysis_write_json(c->before, w);
	jw_key(w, "after");
	analysis_write_json(c->after, w);
	jw_key(w, "rows");
	jw_arr_begin(w);
	for (size_t i = 0; i < c->nrows; i++) {
		const struct cmp_row *r = &c->rows[i];
		double p = change_pct(r);
		jw_obj_begin(w);
		jw_kstr(w, "key", r->key);
		jw_kstr(w, "label", r->label);
		jw_kstr(w, "unit", r->unit);
		jw_key(w, "before");
		jw_num(w, r->before, 6); /* NaN writes null */
		jw_key(w, "after");
		jw_num(w, r->after, 6);
		jw_kstr(w, "before_text", r->before_text);
		jw_kstr(w, "after_text", r->after_text);
		jw_key(w, "change_pct");
		jw_num(w, p, 1);
		jw_kstr(w, "verdict", cmp_verdict_name(r->verdict));
		jw_kbool(w, "headline", r->headline);
		jw_kstr(w, "note", r->note);
		jw_obj_end(w);
	}
	jw_arr_end(w);
	jw_key(w, "criteria");
	jw_arr_begin(w);
	for (size_t i = 0; i < c->ncrit; i++) {
		jw_obj_begin(w);
		jw_kstr(w, "key", c->crit[i].key);
		jw_kstr(w, "label", c->crit[i].label);
		jw_kstr(w, "result", crit_result_name(c->crit[i].result));
		jw_kstr(w, "detail", c->crit[i].detail);
		jw_obj_end(w);
	}
	jw_arr_end(w);
	jw_key(w, "latency_bound_s");
	jw_num(w, (double)c->opts.latency_bound_usec / 1e6, 6);
	jw_kbool(w, "regression", c->regression);
	jw_obj_end(w);
}

static const char *mark(enum cmp_verdict v)
{
	switch (v) {
	case CMP_BETTER: return "better";
	case CMP_WORSE: return "WORSE";
	case CMP_SAME: return "same";
	case CMP_CHANGED: return "changed";
	default: return "?";
	}
}

static void side_line(struct strbuf *o, const char *label, const struct analysis *a)
{
	strbuf_addf(o, "  %-7s ", label);
	for (size_t i = 0; i < a->tl->nsrc; i++) {
		if (i)
			strbuf_addstr(o, ", ");
		tf_clean(o, a->tl->src[i].path, 120);
	}
	strbuf_addstr(o, "\n          ");
	tf_iso(o, a->start);
	strbuf_addstr(o, " to ");
	tf_iso(o, a->end);
	strbuf_addf(o, ", hold evidence: %s\n", hold_evidence_name(a->holds.best));
}

void compare_write_text(const struct comparison *c, struct strbuf *o)
{
	strbuf_addstr(o, "poolscope compare\n");
	side_line(o, "before", c->before);
	side_line(o, "after", c->after);
	strbuf_addf(o, "\n  %-40s %14s %14s %8s  %s\n", "metric", "before", "after", "change", "");
	for (size_t i = 0; i < c->nrows; i++) {
		const struct cmp_row *r = &c->rows[i];
		struct strbuf ch = STRBUF_INIT;
		change_text(&ch, r);
		strbuf_addf(o, "  %-40s %14s %14s %8s  %s%s", r->label, r->before_text, r->after_text,
			    ch.buf, mark(r->verdict), r->headline ? " (headline)" : "");
		if (r->note)
			strbuf_addf(o, "  [%s]", r->note);
		strbuf_addch(o, '\n');
		strbuf_release(&ch);
	}
	strbuf_addstr(o, "\nSuccess criteria (incident.md)\n");
	for (size_t i = 0; i < c->ncrit; i++)
		strbuf_addf(o, "  [%s] %s: %s\n", c->crit[i].result == CRIT_PASS ? "pass" :
						  c->crit[i].result == CRIT_FAIL ? "FAIL" : " ?? ",
			    c->crit[i].label, c->crit[i].detail);
	strbuf_addf(o, "\n%s\n", c->regression ? "Regression: the after side is worse on a headline figure "
						 "(timeouts, 5xx or hold p95)." :
						 "No regression on the headline figures (timeouts, 5xx, hold p95).");
}

void compare_write_markdown(const struct comparison *c, struct strbuf *o)
{
	strbuf_addstr(o, "| Metric | Before | After | Change | |\n|---|---:|---:|---:|---|\n");
	for (size_t i = 0; i < c->nrows; i++) {
		const struct cmp_row *r = &c->rows[i];
		strbuf_addstr(o, "| ");
		if (r->headline)
			strbuf_addf(o, "**%s**", r->label);
		else
			strbuf_addstr(o, r->label);
		strbuf_addf(o, " | %s | %s | ", r->before_text, r->after_text);
		change_text(o, r);
		strbuf_addf(o, " | %s", r->verdict == CMP_WORSE ? "**worse**" : mark(r->verdict));
		if (r->note)
			strbuf_addf(o, " (%s)", r->note);
		strbuf_addstr(o, " |\n");
	}
	strbuf_addstr(o, "\n");
	for (size_t i = 0; i < c->ncrit; i++) {
		strbuf_addf(o, "- [%c] **%s** (%s): ", c->crit[i].result == CRIT_PASS ? 'x' : ' ',
			    c->crit[i].label, crit_result_name(c->crit[i].result));
		tf_md(o, c->crit[i].detail, 400);
		strbuf_addch(o, '\n');
	}
}
