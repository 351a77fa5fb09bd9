#include "analysis/audit_trend.h"
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "analysis/chart.h"
#include "core/atomicfile.h"
#include "core/error.h"
#include "core/json.h"
#include "core/logtime.h"
#include "core/banned.h"

int audit_hist_bucket(int64_t usec)
{
	double ms = (double)usec / 1000.0;
	double b;
	if (ms <= 1.0)
		return 0;
	/* bucket b holds (10^((b-1)/20), 10^(b/20)] ms */
	b = ceil(AUDIT_HIST_PER_DECADE * log10(ms) - 1e-9);
	if (b < 1)
		b = 1;
	if (b > AUDIT_HIST_BUCKETS - 1)
		b = AUDIT_HIST_BUCKETS - 1;
	return (int)b;
}

double audit_hist_upper_s(int bucket)
{
	if (bucket >= AUDIT_HIST_BUCKETS - 1)
		return INFINITY;
	return pow(10.0, (double)bucket / AUDIT_HIST_PER_DECADE) / 1000.0;
}

void audit_trend_init(struct audit_trend *t)
{
	memset(t, 0, sizeof(*t));
}

void audit_trend_release(struct audit_trend *t)
{
	free(t->v);
	memset(t, 0, sizeof(*t));
}

struct audit_trend_day *audit_trend_day(struct audit_trend *t, int64_t day)
{
	size_t i = t->nr;
	while (i > 0 && t->v[i - 1].day > day)
		i--;
	if (i > 0 && t->v[i - 1].day == day)
		return &t->v[i - 1];
	ALLOC_GROW(t->v, t->nr + 1, t->alloc);
	memmove(&t->v[i + 1], &t->v[i], (t->nr - i) * sizeof(*t->v));
	t->nr++;
	memset(&t->v[i], 0, sizeof(t->v[i]));
	t->v[i].day = day;
	t->v[i].peak_out = -1;
	t->v[i].peak_usage_pct = -1;
	return &t->v[i];
}

double audit_trend_hold_p95(const struct audit_trend_day *d)
{
	int64_t total = 0, cum = 0;
	for (int b = 0; b < AUDIT_HIST_BUCKETS; b++)
		total += d->hist[b];
	if (!total)
		return NAN;
	for (int b = 0; b < AUDIT_HIST_BUCKETS; b++) {
		cum += d->hist[b];
		/* first bucket holding the 95th percentile (cum >= 0.95 total) */
		if (cum * 100 >= total * 95)
			return audit_hist_upper_s(b);
	}
	BUG("histogram percentile ran off the end");
}

static void day_text(int64_t day, char out[16])
{
	int64_t y;
	unsigned m, d;
	civil_from_days(day, &y, &m, &d);
	snprintf(out, 16, "%04" PRId64 "-%02u-%02u", y, m, d);
}

static void num_or_dash(char *out, size_t n, double v, int decimals)
{
	if (isnan(v) || v < 0)
		snprintf(out, n, "-");
	else if (isinf(v))
		snprintf(out, n, "inf");
	else
		format_num(out, n, v, decimals);
}

void audit_trend_write_table(const struct audit_trend *t, bool md, struct strbuf *out)
{
	static const char *const head[] = { "day", "runs", "hosts", "lines", "timeouts",
					    "hold p95 s", "peak usage %", "peak out",
					    "5xx", "requests", "too many clients", "warnings",
					    "criticals" };
	enum { NCOL = 13 };
	static const int width[NCOL] = { 10, 5, 5, 10, 8, 10, 12, 8, 7, 9, 16, 8, 9 };
	char cell[NCOL][48];

	if (md) {
		strbuf_addstr(out, "|");
		for (int c = 0; c < NCOL; c++)
			strbuf_addf(out, " %s |", head[c]);
		strbuf_addstr(out, "\n|");
		for (int c = 0; c < NCOL; c++)
			strbuf_addstr(out, c ? " ---: |" : " --- |");
		strbuf_addch(out, '\n');
	} else {
		for (int c = 0; c < NCOL; c++)
			strbuf_addf(out, c ? "  %*s" : "%-*s", width[c], head[c]);
		strbuf_addch(out, '\n');
	}
	for (size_t i = 0; i < t->nr; i++) {
		const struct audit_trend_day *d = &t->v[i];
		day_text(d->day, cell[0]);
		snprintf(cell[1], 48, "%" PRId64, d->runs);
		snprintf(cell[2], 48, "%" PRId64, d->hosts);
		snprintf(cell[3], 48, "%" PRId64, d->lines);
		snprintf(cell[4], 48, "%" PRId64, d->timeouts);
		num_or_dash(cell[5], 48, audit_trend_hold_p95(d), 3);
		num_or_dash(cell[6], 48, d->peak_usage_pct, 1);
		if (d->peak_out < 0)
			snprintf(cell[7], 48, "-");
		else
			snprintf(cell[7], 48, "%" PRId32, d->peak_out);
		snprintf(cell[8], 48, "%" PRId64, d->http_5xx);
		snprintf(cell[9], 48, "%" PRId64, d->requests);
		snprintf(cell[10], 48, "%" PRId64, d->too_many_clients);
		snprintf(cell[11], 48, "%" PRId64, d->findings_warning);
		snprintf(cell[12], 48, "%" PRId64, d->findings_critical);
		if (md) {
			strbuf_addstr(out, "|");
			for (int c = 0; c < NCOL; c++)
				strbuf_addf(out, " %s |", cell[c]);
		} else {
			for (int c = 0; c < NCOL; c++)
				strbuf_addf(out, c ? "  %*s" : "%-*s", width[c], cell[c]);
		}
		strbuf_addch(out, '\n');
	}
	if (!t->nr)
		strbuf_addstr(out, md ? "\nNo stored audit runs in the period.\n"
				      : "(no stored audit runs in the period)\n");
}

static int write_file(const char *dir, const char *name, const struct strbuf *sb)
{
	struct strbuf path = STRBUF_INIT;
	int ret;
	strbuf_addf(&path, "%s/%s", dir, name);
	ret = file_write_atomic(path.buf, sb->buf, sb->len);
	strbuf_release(&path);
	return ret;
}

/*
 * The charts use analysis/chart (the report's writer and renderer), with x
 * as days before the newest day, so every figure sits in the .dat file and
 * the script holds only our own quoted text.
 */
static const struct trend_chart {
	const char *name;
	const char *title;
	const char *ylabel;
	enum chart_style style;
	const char *color;
} charts[] = {
	{ "trend-timeouts", "Pool checkout timeouts per day", "timeouts", CHART_IMPULSES, "#c0392b" },
	{ "trend-hold-p95", "Connection hold p95 per day (histogram bucket upper edge)", "seconds",
	  CHART_LINESPOINTS, "#2471a3" },
	{ "trend-peak-usage", "Peak pool usage per day", "% of pool_size + max_overflow",
	  CHART_LINESPOINTS, "#d68910" },
};
#define NCHARTS (sizeof(charts) / sizeof(charts[0]))

static double chart_value(const struct audit_trend_day *d, size_t which)
{
	switch (which) {
	case 0: return (double)d->timeouts;
	case 1: return audit_trend_hold_p95(d);
	default: return d->peak_usage_pct < 0 ? NAN : d->peak_usage_pct;
	}
}

static void chart_fill(const struct audit_trend *t, size_t which, struct chart *c)
{
	static const char *const cols[] = { "days_before_last", "value" };
	const struct trend_chart *tc = &charts[which];
	int64_t last = t->nr ? t->v[t->nr - 1].day : 0;
	char day[16];
	size_t blk;
	bool any = false;
	struct chart_series *s;

	chart_init(c, tc->name);
	c->width = 900;
	c->height = 420;
	snprintf(c->title, sizeof(c->title), "%s", tc->title);
	snprintf(c->ylabel, sizeof(c->ylabel), "%s", tc->ylabel);
	day_text(last, day);
	snprintf(c->xlabel, sizeof(c->xlabel), "days before %s (UTC)", day);
	blk = chart_block_add(c, "per day", 2, cols);
	for (size_t i = 0; i < t->nr; i++) {
		double v[2];
		v[0] = (double)(t->v[i].day - last);
		v[1] = chart_value(&t->v[i], which);
		if (!isfinite(v[1]))
			v[1] = NAN; /* gnuplot skips NaN: a day without the figure */
		else
			any = true;
		chart_row(c, blk, v, NULL);
	}
	if (any) {
		/* gnuplot refuses a series without a single point */
		s = chart_series_add(c, blk, 1, 2, tc->style, "", tc->color);
		s->width = tc->style == CHART_IMPULSES ? 8 : 2;
		s->point = 7;
	}
	c->xmin = t->nr ? (double)(t->v[0].day - last) - 0.5 : -1;
	c->xmax = 0.5;
	c->ymin = 0;
	if (which == 2) {
		c->ymax = 110;
		chart_hline_add(c, 80, "warning (80 %)", "#888888", 2);
	}
	if (!any) {
		snprintf(c->note, sizeof(c->note), "no data in the period");
		if (which != 2)
			c->ymax = 1;
	}
	else if (which == 0 && chart_value(&t->v[0], 0) >= 0) {
		bool zero = true;
		for (size_t i = 0; i < t->nr; i++)
			zero = zero && chart_value(&t->v[i], 0) == 0;
		if (zero)
			c->ymax = 1; /* an all-zero series still needs a y range */
	}
}

int audit_trend_write_files(const struct audit_trend *t, const char *dir)
{
	struct strbuf sb = STRBUF_INIT, name = STRBUF_INIT;
	int ret = 0;

	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		ret = error("cannot create folder '%s': %s", dir, strerror(errno));
		goto out;
	}
	strbuf_addstr(&sb, "# poolscope audit trend\n\n");
	audit_trend_write_table(t, true, &sb);
	strbuf_addch(&sb, '\n');
	for (size_t i = 0; i < NCHARTS; i++)
		strbuf_addf(&sb, "![%s](%s.svg)\n\n", charts[i].title, charts[i].name);
	if (write_file(dir, "trend.md", &sb) < 0) {
		ret = -1;
		goto out;
	}
	for (size_t i = 0; i < NCHARTS && !ret; i++) {
		struct chart c;
		struct strbuf gp = STRBUF_INIT;
		strbuf_reset(&sb);
		chart_fill(t, i, &c);
		chart_write(&c, &sb, &gp);
		strbuf_reset(&name);
		strbuf_addf(&name, "%s.dat", charts[i].name);
		ret = write_file(dir, name.buf, &sb);
		strbuf_reset(&name);
		strbuf_addf(&name, "%s.gp", charts[i].name);
		if (!ret)
			ret = write_file(dir, name.buf, &gp);
		strbuf_release(&gp);
		chart_release(&c);
	}
out:
	strbuf_release(&sb);
	strbuf_release(&name);
	return ret;
}

int audit_trend_render(const char *dir)
{
	for (size_t i = 0; i < NCHARTS; i++) {
		int r = chart_render(dir, charts[i].name, "gnuplot");
		if (r > 0)
			return error("gnuplot not found: install it (Debian: gnuplot-nox); the .gp and "
				     ".dat files are in '%s'", dir);
		if (r < 0)
			return -1;
	}
	return 0;
}
