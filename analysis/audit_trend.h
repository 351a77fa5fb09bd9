#ifndef POOLSCOPE_AUDIT_TREND_H
#define POOLSCOPE_AUDIT_TREND_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/strbuf.h"
/*
 * The audit history per day (`poolscope audit --trend`): figures summed or
 * maxed over the stored runs of each UTC day, written as a table (text and
 * Markdown) and as gnuplot charts (.dat data + .gp script, rendered to PNG
 * and SVG by a separate step).  The data comes from PostgreSQL
 * (cli/audit_store.c); nothing here talks to the database.
 *
 * Hold p95 per day cannot be averaged from per-run percentiles, so runs
 * store a histogram of hold times (AUDIT_HIST_PER_DECADE log-spaced buckets
 * per decade from 1 ms) and the day's p95 is read from the merged
 * histogram: the upper edge of the bucket where the cumulative count first
 * reaches 95 %, at most 12.2 % (10^(1/20)) above the exact value.
 */

#define AUDIT_HIST_PER_DECADE 20
#define AUDIT_HIST_BUCKETS 142 /* 0: <= 1 ms; 1..140: up to 10^4 s; 141: above */

/* Bucket of a hold time in microseconds, and the bucket's upper edge in
 * seconds (INFINITY for the last). */
int audit_hist_bucket(int64_t usec);
double audit_hist_upper_s(int bucket);

struct audit_trend_day {
	int64_t day;           /* days since 1970-01-01 (UTC) */
	int64_t runs, hosts;
	int64_t lines;
	int64_t timeouts;
	int64_t requests, http_5xx;
	int64_t too_many_clients;
	int32_t peak_out;      /* -1 unknown */
	double peak_usage_pct; /* < 0 unknown */
	int64_t holds;         /* holds in the histogram */
	int64_t hist[AUDIT_HIST_BUCKETS];
	int64_t findings_warning, findings_critical;
};

struct audit_trend {
	struct audit_trend_day *v; /* owned, by day ascending */
	size_t nr, alloc;
};

void audit_trend_init(struct audit_trend *t);
void audit_trend_release(struct audit_trend *t);
/* The day's entry, added (zeroed, in order) if missing. */
struct audit_trend_day *audit_trend_day(struct audit_trend *t, int64_t day);
/* Hold p95 in seconds from a day's histogram; NAN if it has no holds. */
double audit_trend_hold_p95(const struct audit_trend_day *d);

/* A table: text (aligned columns) or Markdown. */
void audit_trend_write_table(const struct audit_trend *t, bool markdown, struct strbuf *out);
/*
 * Write DIR/trend.md and, per chart (trend-timeouts, trend-hold-p95,
 * trend-peak-usage), NAME.dat and NAME.gp (atomically).  The scripts hold
 * only fixed text; every figure is in the .dat files.  Returns 0 or -1
 * after error().
 */
int audit_trend_write_files(const struct audit_trend *t, const char *dir);
/* Run gnuplot (fork/exec, no shell) on each NAME.gp inside dir, giving
 * NAME.png and NAME.svg.  Returns 0 or -1 after error(). */
int audit_trend_render(const char *dir);
#endif
