#ifndef POOLSCOPE_REPORT_H
#define POOLSCOPE_REPORT_H
#include <stdbool.h>
#include <stddef.h>
#include "analysis/analyze.h"
#include "analysis/chart.h"
#include "analysis/compare.h"
/*
 * The report folder: report.html (self-contained: inline CSS, charts as
 * base64 PNG, every log text HTML-escaped), report.md, report.json, and for
 * each chart NAME.dat + NAME.gp (+ NAME.png and NAME.svg when gnuplot ran).
 *
 * Charts (report_charts()):
 *   pool-usage     checked out and overflow in use over time, pool_size and
 *                  size+overflow limits, timeouts marked, batch windows
 *                  shaded; sides on one time-of-run axis
 *   failures       pool timeouts and HTTP 5xx per bucket, sides overlaid
 *   hold-cdf       hold-time CDF, log x, sides overlaid (all and batch)
 *   latency        API latency p50/p95 per bucket, batch windows shaded
 *                  (requests and 5xx per bucket when the logs have no latency)
 *
 * The folder appears complete or not at all: everything is written into a
 * temporary sibling folder that is renamed into place at the end.  An
 * existing folder is replaced only if it is a poolscope report (it holds a
 * report.json and nothing but report files).
 */

struct report_side {
	const char *label;               /* "before", "after", or "run" */
	const struct analysis *a;        /* borrowed */
};

struct report_opts {
	const char *outdir;
	const char *gnuplot;             /* executable (default "gnuplot") */
	bool render;                     /* run gnuplot (default true) */
};
void report_opts_init(struct report_opts *o);

/* Fill the four charts for one or two sides.  charts[4] are initialised
 * here; release them with chart_release(). */
#define REPORT_NCHARTS 4
void report_charts(const struct report_side *sides, size_t nsides, struct chart charts[REPORT_NCHARTS]);

/* Write the report.  cmp is NULL for a one-side report.  Returns 0; 1 if
 * the report was written but gnuplot is not installed, 2 if gnuplot failed
 * (after error(); the report says so, data and scripts are there); -1 after
 * error() if nothing was written. */
int report_write(const struct report_side *sides, size_t nsides, const struct comparison *cmp,
		 const struct report_opts *opts);

/* Pieces, for tests. */
void report_html(const struct report_side *sides, size_t nsides, const struct comparison *cmp,
		 const struct chart *charts, const char *const *png_b64, const char *render_note,
		 struct strbuf *out);
void base64_encode(const unsigned char *p, size_t n, struct strbuf *out);
#endif
