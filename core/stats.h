#ifndef POOLSCOPE_STATS_H
#define POOLSCOPE_STATS_H
#include <stddef.h>
#include <stdint.h>
/*
 * Exact percentiles over a sample of int64 values (microseconds, counts).
 *
 * Method: sort, then linear interpolation between closest ranks (Hyndman &
 * Fan type 7, the default of numpy.percentile and R): for p in [0,100] the
 * position is h = (n-1)*p/100, and the value x[floor h] + (h - floor h) *
 * (x[floor h + 1] - x[floor h]).  Exact, and the same figures a user gets
 * from numpy on the same data, which is what the truth files were made with.
 */
struct sample {
	int64_t *v;    /* owned */
	size_t nr, alloc;
	int sorted;
};
#define SAMPLE_INIT { NULL, 0, 0, 1 }
void sample_add(struct sample *s, int64_t v);
void sample_clear(struct sample *s);
/* Sorts in place on first use after an add.  Returns 0 for an empty sample. */
double sample_percentile(struct sample *s, double p);
int64_t sample_max(struct sample *s);
int64_t sample_min(struct sample *s);
double sample_mean(const struct sample *s);
/* Percentile of a sorted array (same method). */
double percentile_sorted(const int64_t *v, size_t n, double p);
#endif
