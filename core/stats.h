#ifndef POOLSCOPE_STATS_H
#define POOLSCOPE_STATS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
/*
 * Percentiles over a sample of int64 values (microseconds, counts).
 *
 * Method: sort, then linear interpolation between closest ranks (Hyndman &
 * Fan type 7, the default of numpy.percentile and R): for p in [0,100] the
 * position is h = (n-1)*p/100, and the value x[floor h] + (h - floor h) *
 * (x[floor h + 1] - x[floor h]).  Exact, and the same figures a user gets
 * from numpy on the same data, which is what the truth files were made with.
 *
 * Memory cap: a sample made with sample_init_capped(s, cap) keeps its values
 * exactly up to cap values; the value after that moves them all into a
 * log-linear histogram (struct sample_hist, see core/stats.c: 128
 * sub-buckets per octave, values below 128 exact), and the values are
 * freed.  Percentiles then take x[k] as the middle of the bucket holding
 * rank k, clamped to the exact min and max, so they are within 0.4 % of the
 * exact figure (SAMPLE_HIST_REL_ERR); min, max, count and mean stay exact
 * (the mean up to the order of a floating-point sum).  A sample of
 * SAMPLE_INIT has no cap and is exact at any size.
 */
#define SAMPLE_HIST_SUB 128
#define SAMPLE_HIST_REL_ERR (1.0 / 256)

struct sample_hist;

struct sample {
	int64_t *v;    /* owned; the values while exact, NULL once hist is set */
	size_t nr;     /* values added (exact or not) */
	size_t alloc;
	int sorted;
	size_t cap;    /* exact values kept at most; 0: no cap */
	struct sample_hist *hist; /* owned; NULL while exact */
};
#define SAMPLE_INIT { NULL, 0, 0, 1, 0, NULL }
/* An empty sample that turns into a histogram past cap values (0: never). */
void sample_init_capped(struct sample *s, size_t cap);
void sample_add(struct sample *s, int64_t v);
/* Frees everything; the sample is SAMPLE_INIT again (the cap is dropped). */
void sample_clear(struct sample *s);
/* Empties the sample, keeping its cap and its value buffer. */
void sample_reset(struct sample *s);
/* True once the sample went past its cap: percentiles are approximate. */
bool sample_is_hist(const struct sample *s);
/* Sorts in place on first use after an add.  Returns 0 for an empty sample. */
double sample_percentile(struct sample *s, double p);
int64_t sample_max(struct sample *s);
int64_t sample_min(struct sample *s);
double sample_mean(const struct sample *s);
/* Percentile of a sorted array (same method). */
double percentile_sorted(const int64_t *v, size_t n, double p);
#endif
