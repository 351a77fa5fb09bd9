#define _GNU_SOURCE /* renameat2(RENAME_EXCHANGE): swap a report in atomically */
#include "analysis/report.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "analysis/textfmt.h"
#include "core/cleanup.h"
#include "core/error.h"
#include "core/stats.h"
#include "core/json.h"
#include "core/banned.h"

void report_opts_init(struct report_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->gnuplot = "gnuplot";
	o->render = true;
}

/* ---- charts -------------------------------------------------------------- */

static const char *const side_color[2] = { "#c0392b", "#1f618d" };
static const char *const side_shade[2] = { "#c8e6b0aa", "#c8a9cce3" };
static const char *const side_dark[2] = { "#7b241c", "#154360" };

/* "before: " in a two-side chart's key, nothing for one side */
static void side_prefix(char *out, size_t size, const struct report_side *sides, size_t n, size_t s)
{
	snprintf(out, size, "%.24s%s", n > 1 ? sides[s].label : "", n > 1 ? ": " : "");
}

struct axis {
	double div;
	const char *unit;
};

static log_usec side_t0(const struct analysis *a)
{
	return a->nbuckets ? a->buckets[0].start : a->start;
}

static struct axis time_axis(const struct report_side *sides, size_t n)
{
	int64_t span = 0;
	for (size_t i = 0; i < n; i++) {
		const struct analysis *a = sides[i].a;
		int64_t s = a->nbuckets ? (int64_t)a->nbuckets * a->bucket_usec : 0;
		if (s > span)
			span = s;
	}
	if (span <= 600 * USEC_PER_SEC)
		return (struct axis){ 1e6, "s" };
	if (span <= 600 * 60 * USEC_PER_SEC)
		return (struct axis){ 60e6, "min" };
	return (struct axis){ 3600e6, "h" };
}

static double tx(const struct analysis *a, log_usec t, const struct axis *ax)
{
	return (double)(t - side_t0(a)) / ax->div;
}

static void bucket_label(char *out, size_t n, int64_t usec)
{
	struct strbuf sb = STRBUF_INIT;
	tf_step(&sb, usec);
	snprintf(out, n, "%s", sb.buf);
	strbuf_release(&sb);
}

/* The end of the time axis: the longest side. */
static double axis_end(const struct report_side *sides, size_t n, const struct axis *ax)
{
	double m = 0;
	for (size_t s = 0; s < n; s++) {
		const struct analysis *a = sides[s].a;
		double e = (double)((int64_t)a->nbuckets * a->bucket_usec) / ax->div;
		if (e > m)
			m = e;
	}
	return m > 0 ? m : NAN;
}

/* Batch windows of every side as shaded spans, their names as labels
 * (from the .dat file: names are log text). */
static void batch_spans(struct chart *c, const struct report_side *sides, size_t n,
			const struct axis *ax, double ytop)
{
	static const char *const cols[] = { "t", "y" };
	for (size_t s = 0; s < n; s++) {
		const struct analysis *a = sides[s].a;
		size_t blk;
		char name[48];
		if (!a->nbatches || a->start == LOG_USEC_NONE)
			continue;
		snprintf(name, sizeof(name), "%s batch names", sides[s].label);
		blk = chart_block_add(c, name, 2, cols);
		for (size_t b = 0; b < a->nbatches; b++) {
			const struct batch_window *w = &a->holds.batches[b];
			log_usec ws = w->start != LOG_USEC_NONE ? w->start : a->start;
			log_usec we = batch_window_end(w, a->end);
			double row[2] = { tx(a, ws, ax), isnan(ytop) ? NAN : ytop * (0.97 - 0.07 * (double)s) };
			chart_span_add(c, tx(a, ws, ax), tx(a, we, ax), side_shade[s & 1]);
			if (!isnan(ytop))
				chart_row(c, blk, row, w->name ? w->name : "batch");
		}
		if (!isnan(ytop)) {
			struct chart_series *se = chart_series_add(c, blk, 1, 2, CHART_LABELS, NULL, side_dark[s & 1]);
			se->label_col = 3;
		}
	}
}

static void chart_pool(struct chart *c, const struct report_side *sides, size_t n, const struct axis *ax)
{
	static const char *const cols[] = { "t", "checked_out", "overflow_in_use", "timeout_mark" };
	double ytop = 1;
	bool any = false;
	chart_init(c, "pool-usage");
	snprintf(c->title, sizeof(c->title), "Pool connections checked out%s",
		 n > 1 ? ", before and after" : "");
	snprintf(c->xlabel, sizeof(c->xlabel), "time since start of run (%s)", ax->unit);
	snprintf(c->ylabel, sizeof(c->ylabel), "connections (max per step)");
	for (size_t s = 0; s < n; s++) {
		const struct analysis *a = sides[s].a;
		if (a->peak_out > ytop)
			ytop = a->peak_out;
		if (a->capacity > ytop)
			ytop = a->capacity;
		if (a->config.pool_size > ytop)
			ytop = a->config.pool_size;
	}
	ytop = ceil(ytop * 1.18);
	c->ymin = 0;
	c->ymax = ytop;
	c->xmin = 0;
	c->xmax = axis_end(sides, n, ax);
	for (size_t s = 0; s < n; s++) {
		const struct analysis *a = sides[s].a;
		char title[128], name[48], pfx[32];
		size_t blk;
		bool ov = false, to = false;
		side_prefix(pfx, sizeof(pfx), sides, n, s);
		snprintf(name, sizeof(name), "%s pool per step", sides[s].label);
		blk = chart_block_add(c, name, 4, cols);
		for (size_t b = 0; b <= a->nbuckets && a->nbuckets; b++) {
			const struct analysis_bucket *k = &a->buckets[b < a->nbuckets ? b : a->nbuckets - 1];
			double row[4];
			row[0] = b < a->nbuckets ? tx(a, k->start, ax) : tx(a, k->start + a->bucket_usec, ax);
			row[1] = k->peak_out >= 0 ? k->peak_out : NAN;
			row[2] = k->peak_overflow != INT32_MIN ? (k->peak_overflow > 0 ? k->peak_overflow : 0) : NAN;
			row[3] = k->timeouts && b < a->nbuckets ?
					 (a->capacity > 0 ? a->capacity : (k->peak_out >= 0 ? k->peak_out : 0)) : NAN;
			if (k->peak_out >= 0)
				any = true;
			if (!isnan(row[2]))
				ov = true;
			if (!isnan(row[3]))
				to = true;
			chart_row(c, blk, row, NULL);
		}
		snprintf(title, sizeof(title), "%schecked out", pfx);
		chart_series_add(c, blk, 1, 2, CHART_STEPS, title, side_color[s & 1]);
		if (ov) {
			snprintf(title, sizeof(title), "%soverflow in use", pfx);
			chart_series_add(c, blk, 1, 3, CHART_STEPS, title, side_color[s & 1])->dash = 3;
		}
		if (to) {
			struct chart_series *se;
			snprintf(title, sizeof(title), "%sstep with timeouts", pfx);
			se = chart_series_add(c, blk, 1, 4, CHART_POINTS, title, side_dark[s & 1]);
			se->point = 2;
		}
		if (a->config.pool_size >= 0) {
			snprintf(title, sizeof(title), "%spool_size %d", pfx, (int)a->config.pool_size);
			chart_hline_add(c, a->config.pool_size, title, side_color[s & 1], 3);
		}
		if (a->capacity > 0) {
			snprintf(title, sizeof(title), "%ssize+overflow %d", pfx, (int)a->capacity);
			chart_hline_add(c, a->capacity, title, side_color[s & 1], 2);
		}
	}
	if (!any)
		snprintf(c->note, sizeof(c->note), "no pool occupancy in these logs "
			 "(no pool debug lines or pool-stat samples)");
	batch_spans(c, sides, n, ax, ytop);
}

static void chart_failures(struct chart *c, const struct report_side *sides, size_t n,
			   const struct axis *ax)
{
	static const char *const cols[] = { "t", "timeouts", "http_5xx" };
	char step[32];
	bool any = false;
	chart_init(c, "failures");
	bucket_label(step, sizeof(step), sides[0].a->bucket_usec);
	snprintf(c->title, sizeof(c->title), "Pool timeouts and HTTP 5xx per %s%s", step,
		 n > 1 ? ", before vs after" : "");
	snprintf(c->xlabel, sizeof(c->xlabel), "time since start of run (%s)", ax->unit);
	snprintf(c->ylabel, sizeof(c->ylabel), "count per %s", step);
	c->ymin = 0;
	c->xmin = 0;
	c->xmax = axis_end(sides, n, ax);
	for (size_t s = 0; s < n; s++) {
		const struct analysis *a = sides[s].a;
		char title[128], name[48], pfx[32];
		size_t blk;
		side_prefix(pfx, sizeof(pfx), sides, n, s);
		snprintf(name, sizeof(name), "%s failures per step", sides[s].label);
		blk = chart_block_add(c, name, 3, cols);
		for (size_t b = 0; b <= a->nbuckets && a->nbuckets; b++) {
			const struct analysis_bucket *k = &a->buckets[b < a->nbuckets ? b : a->nbuckets - 1];
			double row[3] = { b < a->nbuckets ? tx(a, k->start, ax) : tx(a, k->start + a->bucket_usec, ax),
					  k->timeouts, k->http_5xx };
			if (k->timeouts || k->http_5xx)
				any = true;
			chart_row(c, blk, row, NULL);
		}
		snprintf(title, sizeof(title), "%spool timeouts", pfx);
		chart_series_add(c, blk, 1, 2, CHART_STEPS, title, side_color[s & 1]);
		snprintf(title, sizeof(title), "%sHTTP 5xx", pfx);
		chart_series_add(c, blk, 1, 3, CHART_STEPS, title, side_color[s & 1])->dash = 2;
	}
	if (!any) {
		c->ymax = 1;
		snprintf(c->note, sizeof(c->note), "no pool timeouts and no HTTP 5xx");
	}
	batch_spans(c, sides, n, ax, NAN);
}

/* 800 evenly spaced ranks of the sample, first and last kept: the sorted
 * values while the sample is exact, its percentiles at those ranks once it
 * went past the run's cap (a histogram, within 0.4 %; a side keeps one
 * sample of all its holds, not every hold). */
static void cdf_block(struct chart *c, const char *name, struct sample *s)
{
	static const char *const cols[] = { "hold_s", "fraction" };
	size_t blk = chart_block_add(c, name, 2, cols);
	size_t nv = s->nr, m = nv < 800 ? nv : 800;
	bool hist = sample_is_hist(s);
	(void)sample_percentile(s, 50); /* sorts an exact sample */
	for (size_t i = 0; i < m; i++) {
		size_t idx = m > 1 ? (size_t)llround((double)i * (double)(nv - 1) / (double)(m - 1)) : 0;
		int64_t v = hist ? llround(sample_percentile(s, nv > 1 ? 100.0 * (double)idx / (double)(nv - 1) : 0))
				 : s->v[idx];
		/* a log with ms timestamps shows 0 ms holds; log x cannot: they
		 * are drawn at 0.5 ms (the title says so) */
		double row[2] = { (double)(v > 500 ? v : 500) / 1e6, (double)(idx + 1) / (double)nv };
		chart_row(c, blk, row, NULL);
	}
}

static void chart_holds(struct chart *c, const struct report_side *sides, size_t n)
{
	const char *ev = hold_evidence_name(sides[0].a->holds.best);
	bool same = true, any = false;
	chart_init(c, "hold-cdf");
	for (size_t s = 1; s < n; s++)
		if (sides[s].a->holds.best != sides[0].a->holds.best)
			same = false;
	snprintf(c->title, sizeof(c->title), "Connection hold time, cumulative distribution (evidence: %s)",
		 same ? ev : "differs per side");
	snprintf(c->xlabel, sizeof(c->xlabel), "hold time (s, log scale; under 0.5 ms drawn at 0.5 ms)");
	c->xmin = 0.0001;
	snprintf(c->ylabel, sizeof(c->ylabel), "fraction of holds at most x");
	c->logx = true;
	c->ymin = 0;
	c->ymax = 1;
	for (size_t s = 0; s < n; s++) {
		const struct analysis *a = sides[s].a;
		struct sample all, batch;
		char title[128], name[48], pfx[32];
		side_prefix(pfx, sizeof(pfx), sides, n, s);
		if (a->holds.best == HOLD_EV_NONE || a->holds.best == HOLD_EV_LITTLE)
			continue;
		sample_init_capped(&all, a->opts.sample_cap);
		sample_init_capped(&batch, a->opts.sample_cap);
		for (size_t i = 0; i < a->holds.nr; i++) {
			const struct hold *h = hold_at(&a->holds, i);
			if (h->evidence != a->holds.best || !hold_complete(h))
				continue;
			sample_add(&all, h->dur);
			if (h->origin == ORIGIN_BATCH && h->evidence == HOLD_EV_POOL_DEBUG)
				sample_add(&batch, h->dur);
		}
		if (all.nr) {
			any = true;
			snprintf(name, sizeof(name), "%s all holds", sides[s].label);
			cdf_block(c, name, &all);
			snprintf(title, sizeof(title), "%sall (%zu)", pfx, all.nr);
			chart_series_add(c, c->nblocks - 1, 1, 2, CHART_STEPS, title, side_color[s & 1]);
		}
		if (batch.nr) {
			snprintf(name, sizeof(name), "%s batch holds", sides[s].label);
			cdf_block(c, name, &batch);
			snprintf(title, sizeof(title), "%sbatch (%zu)", pfx, batch.nr);
			chart_series_add(c, c->nblocks - 1, 1, 2, CHART_STEPS, title, side_color[s & 1])->dash = 2;
		}
		sample_clear(&all);
		sample_clear(&batch);
	}
	if (!any)
		snprintf(c->note, sizeof(c->note), "no hold times in these logs (see the review)");
}

static void chart_latency(struct chart *c, const struct report_side *sides, size_t n,
			  const struct axis *ax)
{
	bool timed = false;
	char step[32];
	double ytop = 0;
	chart_init(c, "latency");
	for (size_t s = 0; s < n; s++)
		if (sides[s].a->http.timed)
			timed = true;
	bucket_label(step, sizeof(step), sides[0].a->bucket_usec);
	snprintf(c->xlabel, sizeof(c->xlabel), "time since start of run (%s)", ax->unit);
	c->xmin = 0;
	c->xmax = axis_end(sides, n, ax);
	c->ymin = 0;
	if (timed) {
		static const char *const cols[] = { "t", "p50_s", "p95_s" };
		snprintf(c->title, sizeof(c->title), "API latency p50 and p95 per %s, batch windows shaded", step);
		snprintf(c->ylabel, sizeof(c->ylabel), "latency (s)");
		for (size_t s = 0; s < n; s++) {
			const struct analysis *a = sides[s].a;
			char title[128], name[48], pfx[32];
			size_t blk;
			side_prefix(pfx, sizeof(pfx), sides, n, s);
			snprintf(name, sizeof(name), "%s latency per step", sides[s].label);
			blk = chart_block_add(c, name, 3, cols);
			for (size_t b = 0; b < a->nbuckets; b++) {
				const struct analysis_bucket *k = &a->buckets[b];
				double row[3] = { tx(a, k->start, ax) + (double)a->bucket_usec / ax->div / 2,
						  k->lat_n ? k->lat_p50 / 1e6 : NAN, k->lat_n ? k->lat_p95 / 1e6 : NAN };
				if (k->lat_n && k->lat_p95 / 1e6 > ytop)
					ytop = k->lat_p95 / 1e6;
				chart_row(c, blk, row, NULL);
			}
			snprintf(title, sizeof(title), "%sp50", pfx);
			chart_series_add(c, blk, 1, 2, CHART_LINESPOINTS, title, side_color[s & 1]);
			snprintf(title, sizeof(title), "%sp95", pfx);
			chart_series_add(c, blk, 1, 3, CHART_LINESPOINTS, title, side_color[s & 1])->dash = 2;
		}
	} else {
		static const char *const cols[] = { "t", "requests", "http_5xx" };
		snprintf(c->title, sizeof(c->title),
			 "API requests and 5xx per %s (these access logs carry no latency)", step);
		snprintf(c->ylabel, sizeof(c->ylabel), "requests per %s", step);
		for (size_t s = 0; s < n; s++) {
			const struct analysis *a = sides[s].a;
			char title[128], name[48], pfx[32];
			size_t blk;
			side_prefix(pfx, sizeof(pfx), sides, n, s);
			snprintf(name, sizeof(name), "%s requests per step", sides[s].label);
			blk = chart_block_add(c, name, 3, cols);
			for (size_t b = 0; b <= a->nbuckets && a->nbuckets; b++) {
				const struct analysis_bucket *k = &a->buckets[b < a->nbuckets ? b : a->nbuckets - 1];
				double row[3] = { b < a->nbuckets ? tx(a, k->start, ax) :
								    tx(a, k->start + a->bucket_usec, ax),
						  k->requests, k->http_5xx };
				if (k->requests > ytop)
					ytop = k->requests;
				chart_row(c, blk, row, NULL);
			}
			snprintf(title, sizeof(title), "%srequests", pfx);
			chart_series_add(c, blk, 1, 2, CHART_STEPS, title, side_color[s & 1]);
			snprintf(title, sizeof(title), "%sHTTP 5xx", pfx);
			chart_series_add(c, blk, 1, 3, CHART_STEPS, title, side_color[s & 1])->dash = 2;
		}
		if (ytop == 0)
			snprintf(c->note, sizeof(c->note), "no access-log lines");
	}
	ytop = ytop > 0 ? ytop * 1.2 : 1;
	c->ymax = ytop;
	batch_spans(c, sides, n, ax, ytop);
}

void report_charts(const struct report_side *sides, size_t n, struct chart charts[REPORT_NCHARTS])
{
	struct axis ax = time_axis(sides, n);
	chart_pool(&charts[0], sides, n, &ax);
	chart_failures(&charts[1], sides, n, &ax);
	chart_holds(&charts[2], sides, n);
	chart_latency(&charts[3], sides, n, &ax);
}

/* ---- HTML -------------------------------------------------------------- */

void base64_encode(const unsigned char *p, size_t n, struct strbuf *o)
{
	static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i;
	strbuf_grow(o, (n + 2) / 3 * 4 + 1);
	for (i = 0; i + 2 < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 | p[i + 2];
		char q[4] = { tbl[v >> 18], tbl[(v >> 12) & 63], tbl[(v >> 6) & 63], tbl[v & 63] };
		strbuf_add(o, q, 4);
	}
	if (i < n) {
		unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0);
		char q[4] = { tbl[v >> 18], tbl[(v >> 12) & 63], i + 1 < n ? tbl[(v >> 6) & 63] : '=', '=' };
		strbuf_add(o, q, 4);
	}
}

static const char css[] =
	"body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;max-width:1100px;margin:2em auto;"
	"padding:0 1em;color:#222;line-height:1.45}"
	"h1{font-size:1.6em;margin-bottom:.2em}h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.6em}"
	"table{border-collapse:collapse;margin:.6em 0;font-size:.92em}"
	"th,td{border:1px solid #ddd;padding:.3em .6em;text-align:left;vertical-align:top}"
	"th{background:#f4f4f4}td.n{text-align:right;font-variant-numeric:tabular-nums}"
	".pass{color:#1e7e34;font-weight:600}.fail{color:#b52a1c;font-weight:600}.unknown{color:#8a6d00;font-weight:600}"
	".worse{color:#b52a1c;font-weight:600}.better{color:#1e7e34}"
	"pre{background:#f7f7f7;border:1px solid #e3e3e3;padding:.8em;overflow-x:auto;font-size:.85em}"
	"figure{margin:1em 0}figure img{max-width:100%;border:1px solid #e3e3e3}"
	"figcaption{font-size:.9em;color:#555}.meta{color:#555;font-size:.92em}"
	".note{background:#fff8e1;border:1px solid #f0d58c;padding:.5em .8em}";

static void h(struct strbuf *o, const char *s)
{
	tf_html(o, s, 100000);
}

static void html_side_summary(struct strbuf *o, const struct report_side *sd)
{
	const struct analysis *a = sd->a;
	struct strbuf t = STRBUF_INIT;
	strbuf_addstr(o, "<li><b>");
	h(o, sd->label);
	strbuf_addstr(o, "</b>: ");
	if (!a->nincidents) {
		strbuf_addf(o, "no incident; %zu pool timeouts, %zu HTTP 5xx.", a->timeouts, a->http.errors_5xx);
	} else {
		strbuf_addf(o, "%zu incident%s, %zu pool timeouts, %zu HTTP 5xx. ", a->nincidents,
			    a->nincidents == 1 ? "" : "s", a->timeouts, a->http.errors_5xx);
		for (size_t i = 0; i < a->nincidents && i < 3; i++) {
			const struct analysis_incident *in = &a->incidents[i];
			strbuf_reset(&t);
			tf_time(&t, in->start);
			strbuf_addstr(&t, " - ");
			tf_time(&t, in->end);
			strbuf_addstr(&t, ": ");
			analysis_likely_cause(a, in, &t, false);
			strbuf_addstr(o, "<br>");
			h(o, t.buf);
		}
	}
	strbuf_addstr(o, "</li>\n");
	strbuf_release(&t);
}

static void html_compare(struct strbuf *o, const struct comparison *c)
{
	strbuf_addstr(o, "<section id=\"criteria\"><h2>Success criteria</h2>\n<table><tr><th>Criterion</th>"
			 "<th>Result</th><th>Evidence</th></tr>\n");
	for (size_t i = 0; i < c->ncrit; i++) {
		const char *r = crit_result_name(c->crit[i].result);
		strbuf_addstr(o, "<tr><td>");
		h(o, c->crit[i].label);
		strbuf_addf(o, "</td><td class=\"%s\">%s</td><td>", r, r);
		h(o, c->crit[i].detail);
		strbuf_addstr(o, "</td></tr>\n");
	}
	strbuf_addf(o, "</table>\n<p>API responsive means p95 latency while batches ran at most %.3f s, no "
		       "5xx and no pool timeouts.</p></section>\n",
		    (double)c->opts.latency_bound_usec / 1e6);
	strbuf_addstr(o, "<section id=\"comparison\"><h2>Before and after</h2>\n<table><tr><th>Metric</th>"
			 "<th>Before</th><th>After</th><th>Change</th><th>Verdict</th></tr>\n");
	for (size_t i = 0; i < c->nrows; i++) {
		const struct cmp_row *r = &c->rows[i];
		strbuf_addstr(o, "<tr><td>");
		if (r->headline)
			strbuf_addstr(o, "<b>");
		h(o, r->label);
		if (r->headline)
			strbuf_addstr(o, "</b>");
		strbuf_addstr(o, "</td><td class=\"n\">");
		h(o, r->before_text);
		strbuf_addstr(o, "</td><td class=\"n\">");
		h(o, r->after_text);
		strbuf_addstr(o, "</td><td class=\"n\">");
		if (!isnan(r->before) && !isnan(r->after) && r->before != 0)
			strbuf_addf(o, "%+.0f %%", 100.0 * (r->after - r->before) / fabs(r->before));
		else
			strbuf_addstr(o, "-");
		strbuf_addf(o, "</td><td class=\"%s\">%s", cmp_verdict_name(r->verdict), cmp_verdict_name(r->verdict));
		if (r->note) {
			strbuf_addstr(o, " (");
			h(o, r->note);
			strbuf_addstr(o, ")");
		}
		strbuf_addstr(o, "</td></tr>\n");
	}
	strbuf_addf(o, "</table>\n<p>%s</p></section>\n",
		    c->regression ? "<span class=\"fail\">Regression</span>: the after side is worse on a "
				    "headline figure (timeouts, 5xx or hold p95)." :
				    "No regression on the headline figures (timeouts, 5xx, hold p95).");
}

void report_html(const struct report_side *sides, size_t n, const struct comparison *cmp,
		 const struct chart *charts, const char *const *png_b64, const char *render_note,
		 struct strbuf *o)
{
	strbuf_addstr(o, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
			 "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
			 "<title>poolscope report</title>\n<style>");
	strbuf_addstr(o, css);
	strbuf_addstr(o, "</style>\n</head>\n<body>\n<h1>poolscope report</h1>\n<p class=\"meta\">");
	for (size_t s = 0; s < n; s++) {
		const struct analysis *a = sides[s].a;
		struct strbuf t = STRBUF_INIT;
		h(o, sides[s].label);
		strbuf_addstr(o, ": ");
		tf_iso(&t, a->start);
		strbuf_addstr(&t, " to ");
		tf_iso(&t, a->end);
		h(o, t.buf);
		strbuf_addf(o, ", %zu input%s<br>\n", a->tl->nsrc, a->tl->nsrc == 1 ? "" : "s");
		strbuf_release(&t);
	}
	strbuf_addstr(o, "</p>\n<section id=\"summary\"><h2>Summary</h2>\n<ul>\n");
	for (size_t s = 0; s < n; s++)
		html_side_summary(o, &sides[s]);
	strbuf_addstr(o, "</ul></section>\n");
	if (cmp)
		html_compare(o, cmp);
	strbuf_addstr(o, "<section id=\"charts\"><h2>Charts</h2>\n");
	if (render_note) {
		strbuf_addstr(o, "<p class=\"note\">");
		h(o, render_note);
		strbuf_addstr(o, "</p>\n");
	}
	for (size_t i = 0; i < REPORT_NCHARTS; i++) {
		strbuf_addstr(o, "<figure>");
		if (png_b64 && png_b64[i]) {
			strbuf_addstr(o, "<img alt=\"");
			h(o, charts[i].title);
			strbuf_addstr(o, "\" src=\"data:image/png;base64,");
			strbuf_addstr(o, png_b64[i]);
			strbuf_addstr(o, "\">");
		}
		strbuf_addstr(o, "<figcaption>");
		h(o, charts[i].title);
		strbuf_addstr(o, " &middot; files: ");
		if (png_b64 && png_b64[i])
			strbuf_addf(o, "<a href=\"%s.png\">PNG</a>, <a href=\"%s.svg\">SVG</a>, ", charts[i].name,
				    charts[i].name);
		strbuf_addf(o, "<a href=\"%s.gp\">gnuplot script</a>, <a href=\"%s.dat\">data</a>"
			       "</figcaption></figure>\n", charts[i].name, charts[i].name);
	}
	strbuf_addstr(o, "</section>\n");
	for (size_t s = 0; s < n; s++) {
		struct strbuf t = STRBUF_INIT;
		analysis_write_text(sides[s].a, &t);
		strbuf_addstr(o, "<section id=\"review-");
		h(o, sides[s].label);
		strbuf_addstr(o, "\" class=\"review\"><h2>Review: ");
		h(o, sides[s].label);
		strbuf_addstr(o, "</h2>\n<pre>");
		h(o, t.buf);
		strbuf_addstr(o, "</pre></section>\n");
		strbuf_release(&t);
	}
	strbuf_addstr(o, "<section id=\"inputs\"><h2>Inputs</h2>\n<table><tr><th>Side</th><th>Input</th>"
			 "<th>Format</th><th>Lines</th><th>Events</th><th>Unparsed</th></tr>\n");
	for (size_t s = 0; s < n; s++) {
		const struct analysis *a = sides[s].a;
		for (size_t i = 0; i < a->tl->nsrc; i++) {
			const struct source *src = &a->tl->src[i];
			strbuf_addstr(o, "<tr><td>");
			h(o, sides[s].label);
			strbuf_addstr(o, "</td><td>");
			h(o, src->path);
			strbuf_addstr(o, "</td><td>");
			h(o, src->format ? src->format : "not recognised");
			strbuf_addf(o, "</td><td class=\"n\">%llu</td><td class=\"n\">%llu</td><td class=\"n\">%llu</td></tr>\n",
				    (unsigned long long)src->lines, (unsigned long long)src->events,
				    (unsigned long long)src->unparsed);
		}
	}
	strbuf_addstr(o, "</table></section>\n<p class=\"meta\">Written by poolscope; method in "
			 "docs/analysis.md.  All figures are computed from the logs listed above.</p>\n"
			 "</body>\n</html>\n");
}

/* ---- files --------------------------------------------------------------- */

static int write_file(const char *dir, const char *name, const struct strbuf *sb)
{
	struct strbuf p = STRBUF_INIT;
	int fd, ret = 0;
	size_t off = 0;
	strbuf_addf(&p, "%s/%s", dir, name);
	fd = open(p.buf, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		ret = error("cannot write '%s': %s", p.buf, strerror(errno));
		strbuf_release(&p);
		return ret;
	}
	while (off < sb->len) {
		ssize_t w = write(fd, sb->buf + off, sb->len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			ret = error("cannot write '%s': %s", p.buf, strerror(errno));
			break;
		}
		off += (size_t)w;
	}
	if (!ret && fsync(fd) < 0)
		ret = error("cannot write '%s': %s", p.buf, strerror(errno));
	if (close(fd) < 0 && !ret)
		ret = error("cannot write '%s': %s", p.buf, strerror(errno));
	strbuf_release(&p);
	return ret;
}

static int read_file(const char *dir, const char *name, struct strbuf *sb)
{
	struct strbuf p = STRBUF_INIT;
	char buf[65536];
	ssize_t r;
	int fd;
	strbuf_addf(&p, "%s/%s", dir, name);
	fd = open(p.buf, O_RDONLY | O_CLOEXEC);
	strbuf_release(&p);
	if (fd < 0)
		return -1;
	while ((r = read(fd, buf, sizeof(buf))) > 0)
		strbuf_add(sb, buf, (size_t)r);
	close(fd);
	return r < 0 ? -1 : 0;
}

/* Names a report folder may hold (and that we may delete when replacing). */
static bool report_file_name(const char *n)
{
	size_t l = strlen(n);
	static const char *const sfx[] = { ".gp", ".dat", ".png", ".svg" };
	if (!strcmp(n, "report.html") || !strcmp(n, "report.md") || !strcmp(n, "report.json"))
		return true;
	if (strspn(n, "abcdefghijklmnopqrstuvwxyz0123456789-.") != l)
		return false;
	for (size_t i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		size_t k = strlen(sfx[i]);
		if (l > k && !strcmp(n + l - k, sfx[i]))
			return true;
	}
	return false;
}

/* 1 if dir holds report.json and only report files, 0 if not, -1 if it
 * cannot be read. */
static int is_report_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int has_json = 0, others = 0;
	if (!d)
		return -1;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (!strcmp(de->d_name, "report.json"))
			has_json = 1;
		else if (!report_file_name(de->d_name))
			others = 1;
	}
	closedir(d);
	return has_json && !others;
}

/* Remove the report files in dir and dir itself (never anything else). */
static void remove_report_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	if (!d)
		return;
	while ((de = readdir(d))) {
		struct strbuf p = STRBUF_INIT;
		if (!report_file_name(de->d_name))
			continue;
		strbuf_addf(&p, "%s/%s", dir, de->d_name);
		unlink(p.buf);
		strbuf_release(&p);
	}
	closedir(d);
	rmdir(dir);
}

static void charts_json(struct jw *w, const struct chart *charts, const bool *rendered)
{
	jw_key(w, "charts");
	jw_arr_begin(w);
	for (size_t i = 0; i < REPORT_NCHARTS; i++) {
		char f[64];
		jw_obj_begin(w);
		jw_kstr(w, "name", charts[i].name);
		jw_kstr(w, "title", charts[i].title);
		snprintf(f, sizeof(f), "%.31s.dat", charts[i].name);
		jw_kstr(w, "data", f);
		snprintf(f, sizeof(f), "%.31s.gp", charts[i].name);
		jw_kstr(w, "script", f);
		snprintf(f, sizeof(f), "%.31s.png", charts[i].name);
		jw_kstr(w, "png", rendered[i] ? f : NULL);
		snprintf(f, sizeof(f), "%.31s.svg", charts[i].name);
		jw_kstr(w, "svg", rendered[i] ? f : NULL);
		jw_obj_end(w);
	}
	jw_arr_end(w);
}

int report_write(const struct report_side *sides, size_t n, const struct comparison *cmp,
		 const struct report_opts *opts)
{
	struct chart charts[REPORT_NCHARTS];
	bool rendered[REPORT_NCHARTS] = { false };
	char *png_b64[REPORT_NCHARTS] = { NULL };
	struct strbuf tmp = STRBUF_INIT, sb = STRBUF_INIT;
	const char *render_note = NULL, *gnuplot_state = "skipped";
	char note[256];
	struct stat st;
	int ret = 0, exists;
	size_t len = strlen(opts->outdir);

	/* "out/" and "out" are the same folder; the temp folder is a sibling */
	while (len > 1 && opts->outdir[len - 1] == '/')
		len--;
	strbuf_add(&tmp, opts->outdir, len);
	strbuf_addstr(&tmp, ".tmp.XXXXXX");
	exists = stat(opts->outdir, &st) == 0;
	if (exists && !S_ISDIR(st.st_mode))
		return error("'%s' exists and is not a folder", opts->outdir), strbuf_release(&tmp), -1;
	if (exists && is_report_dir(opts->outdir) != 1) {
		DIR *d = opendir(opts->outdir);
		struct dirent *de;
		int empty = 1;
		while (d && (de = readdir(d)))
			if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
				empty = 0;
		if (d)
			closedir(d);
		if (!d || !empty) {
			strbuf_release(&tmp);
			return error("'%s' exists and is not a poolscope report; choose another -o folder",
				     opts->outdir);
		}
	}
	if (!mkdtemp(tmp.buf)) {
		ret = error("cannot create a folder beside '%s': %s", opts->outdir, strerror(errno));
		strbuf_release(&tmp);
		return ret;
	}
	/* Ctrl-C while the charts render must not leave the half-made folder */
	cleanup_register_dir(tmp.buf);

	{
		/* mkdtemp makes 0700; a report is for sharing: 0777 minus umask */
		mode_t um = umask(022);
		umask(um);
		chmod(tmp.buf, 0777 & ~um);
	}
	report_charts(sides, n, charts);
	for (size_t i = 0; i < REPORT_NCHARTS && !ret; i++) {
		struct strbuf dat = STRBUF_INIT, gp = STRBUF_INIT;
		char f[64];
		chart_write(&charts[i], &dat, &gp);
		snprintf(f, sizeof(f), "%.31s.dat", charts[i].name);
		if (write_file(tmp.buf, f, &dat) < 0)
			ret = -1;
		snprintf(f, sizeof(f), "%.31s.gp", charts[i].name);
		if (!ret && write_file(tmp.buf, f, &gp) < 0)
			ret = -1;
		strbuf_release(&dat);
		strbuf_release(&gp);
	}
	if (ret)
		goto fail;

	if (opts->render) {
		gnuplot_state = "rendered";
		for (size_t i = 0; i < REPORT_NCHARTS; i++) {
			int r = chart_render(tmp.buf, charts[i].name, opts->gnuplot);
			char f[64];
			if (r == 1) {
				gnuplot_state = "not_found";
				snprintf(note, sizeof(note), "Charts were not rendered: gnuplot ('%.60s') is not "
					 "installed.  The data (.dat) and scripts (.gp) are here: run `gnuplot "
					 "NAME.gp` in this folder.", opts->gnuplot);
				render_note = note;
				break;
			}
			if (r < 0) {
				gnuplot_state = "failed";
				snprintf(note, sizeof(note), "gnuplot failed on %.31s.gp; the data and scripts are "
					 "here to inspect.", charts[i].name);
				render_note = note;
				continue;
			}
			rendered[i] = true;
			strbuf_reset(&sb);
			snprintf(f, sizeof(f), "%.31s.png", charts[i].name);
			if (read_file(tmp.buf, f, &sb) == 0) {
				struct strbuf b = STRBUF_INIT;
				base64_encode((const unsigned char *)sb.buf, sb.len, &b);
				png_b64[i] = strbuf_detach(&b, NULL);
			}
		}
	} else {
		render_note = "Charts were not rendered (--no-render): run `gnuplot NAME.gp` in this folder.";
	}

	/* report.json */
	{
		struct jw w;
		strbuf_reset(&sb);
		jw_init(&w, &sb, true);
		jw_obj_begin(&w);
		jw_kstr(&w, "mode", cmp ? "compare" : "single");
		jw_key(&w, cmp ? "comparison" : "analysis");
		if (cmp)
			compare_write_json(cmp, &w);
		else
			analysis_write_json(sides[0].a, &w);
		charts_json(&w, charts, rendered);
		jw_kstr(&w, "gnuplot", gnuplot_state);
		jw_obj_end(&w);
		strbuf_addch(&sb, '\n');
		if (write_file(tmp.buf, "report.json", &sb) < 0)
			goto fail;
	}
	/* report.md */
	strbuf_reset(&sb);
	strbuf_addstr(&sb, "# poolscope report\n\n");
	if (cmp) {
		strbuf_addstr(&sb, "## Before and after\n\n");
		compare_write_markdown(cmp, &sb);
		strbuf_addch(&sb, '\n');
	}
	strbuf_addstr(&sb, "## Charts\n\n");
	if (render_note) {
		tf_md(&sb, render_note, 400);
		strbuf_addstr(&sb, "\n\n");
	}
	for (size_t i = 0; i < REPORT_NCHARTS; i++) {
		if (rendered[i]) {
			strbuf_addstr(&sb, "![");
			tf_md(&sb, charts[i].title, 200);
			strbuf_addf(&sb, "](%s.png)\n\n", charts[i].name);
		}
		tf_md(&sb, charts[i].title, 200);
		strbuf_addf(&sb, ": [data](%s.dat), [script](%s.gp)", charts[i].name, charts[i].name);
		if (rendered[i])
			strbuf_addf(&sb, ", [SVG](%s.svg)", charts[i].name);
		strbuf_addstr(&sb, "\n\n");
	}
	for (size_t s = 0; s < n; s++) {
		strbuf_addstr(&sb, "## Review: ");
		tf_md(&sb, sides[s].label, 40);
		strbuf_addstr(&sb, "\n\n");
		analysis_write_markdown_body(sides[s].a, &sb, 3);
	}
	if (write_file(tmp.buf, "report.md", &sb) < 0)
		goto fail;
	/* report.html */
	strbuf_reset(&sb);
	report_html(sides, n, cmp, charts, (const char *const *)png_b64, render_note, &sb);
	if (write_file(tmp.buf, "report.html", &sb) < 0)
		goto fail;

	/* into place: swap with an old report atomically, else rename */
	if (exists) {
		if (renameat2(AT_FDCWD, tmp.buf, AT_FDCWD, opts->outdir, RENAME_EXCHANGE) < 0) {
			error("cannot replace '%s': %s", opts->outdir, strerror(errno));
			goto fail;
		}
		remove_report_dir(tmp.buf); /* now the old report */
	} else if (rename(tmp.buf, opts->outdir) < 0) {
		error("cannot rename '%s' to '%s': %s", tmp.buf, opts->outdir, strerror(errno));
		goto fail;
	}
	ret = !opts->render || !strcmp(gnuplot_state, "rendered") ? 0 :
	      !strcmp(gnuplot_state, "not_found") ? 1 : 2;
	goto out;
fail:
	remove_report_dir(tmp.buf);
	ret = -1;
out:
	cleanup_unregister_dir(tmp.buf);
	for (size_t i = 0; i < REPORT_NCHARTS; i++) {
		free(png_b64[i]);
		chart_release(&charts[i]);
	}
	strbuf_release(&sb);
	strbuf_release(&tmp);
	return ret;
}
