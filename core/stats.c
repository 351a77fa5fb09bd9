#include "core/stats.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "core/banned.h"

/*
 * The histogram a capped sample turns into.  Magnitudes u = |v| below 128
 * have a bucket each (exact); above, the octave [2^e, 2^(e+1)) is cut into
 * 128 buckets of width 2^(e-7): index 128 + (e-7)*128 + (u >> (e-7)) - 128.
 * A bucket [lo, lo + w - 1] with lo >= 128 * w is represented by its middle
 * lo + (w-1)/2, off by at most (w-1)/2 < lo/256: under 0.4 % relative.
 * Negative values have a mirrored array.  Octaves 7..63: 128 + 57*128
 * buckets each side, 116 KB in all, whatever the count.
 */
#define HIST_NB (SAMPLE_HIST_SUB + 57 * SAMPLE_HIST_SUB)

struct sample_hist {
	uint64_t pos[HIST_NB], neg[HIST_NB];
	int64_t min, max;
	double sum;
};

static size_t hist_index(uint64_t u)
{
	int e;
	if (u < SAMPLE_HIST_SUB)
		return (size_t)u;
	e = 63 - __builtin_clzll(u);
	return SAMPLE_HIST_SUB + (size_t)(e - 7) * SAMPLE_HIST_SUB +
	       (size_t)((u >> (e - 7)) - SAMPLE_HIST_SUB);
}

/* the middle of a bucket's magnitudes */
static double hist_mid(size_t idx)
{
	size_t e, sub;
	double lo, w;
	if (idx < SAMPLE_HIST_SUB)
		return (double)idx;
	e = 7 + (idx - SAMPLE_HIST_SUB) / SAMPLE_HIST_SUB;
	sub = (idx - SAMPLE_HIST_SUB) % SAMPLE_HIST_SUB;
	w = ldexp(1.0, (int)e - 7);
	lo = (double)(SAMPLE_HIST_SUB + sub) * w;
	return lo + (w - 1) / 2;
}

static void hist_add(struct sample_hist *h, int64_t v)
{
	if (v < 0)
		h->neg[hist_index(v == INT64_MIN ? UINT64_C(1) << 63 : (uint64_t)-v)]++;
	else
		h->pos[hist_index((uint64_t)v)]++;
	if (v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
	h->sum += (double)v;
}

/* The estimate of x[k] (0-based rank in ascending order), k < n. */
static double hist_rank(const struct sample_hist *h, uint64_t k)
{
	double x = (double)h->max;
	uint64_t seen = 0;
	bool found = false;
	for (size_t i = HIST_NB; i-- > 0 && !found;) {
		seen += h->neg[i];
		if (seen > k) {
			x = -hist_mid(i);
			found = true;
		}
	}
	for (size_t i = 0; i < HIST_NB && !found; i++) {
		seen += h->pos[i];
		if (seen > k) {
			x = hist_mid(i);
			found = true;
		}
	}
	if (x < (double)h->min)
		x = (double)h->min;
	if (x > (double)h->max)
		x = (double)h->max;
	return x;
}

/* Moves the exact values into a new histogram and frees them. */
static void to_hist(struct sample *s)
{
	struct sample_hist *h = xcalloc(1, sizeof(*h));
	h->min = INT64_MAX;
	h->max = INT64_MIN;
	for (size_t i = 0; i < s->nr; i++)
		hist_add(h, s->v[i]);
	free(s->v);
	s->v = NULL;
	s->alloc = 0;
	s->sorted = 1;
	s->hist = h;
}

void sample_init_capped(struct sample *s, size_t cap)
{
	*s = (struct sample)SAMPLE_INIT;
	s->cap = cap;
}

void sample_add(struct sample *s, int64_t v)
{
	if (!s->hist && s->cap && s->nr >= s->cap)
		to_hist(s);
	if (s->hist) {
		hist_add(s->hist, v);
		s->nr++;
		return;
	}
	if (s->cap && s->nr + 1 > s->alloc) {
		/* grow as ALLOC_GROW would, but never past the cap: a full
		 * sample is cap values, not up to half as many again */
		size_t a = s->alloc ? s->alloc / 2 * 3 + 16 : 16;
		if (a > s->cap)
			a = s->cap; /* >= nr + 1: nr < cap here */
		s->v = xrealloc(s->v, a * sizeof(*s->v));
		s->alloc = a;
	} else {
		ALLOC_GROW(s->v, s->nr + 1, s->alloc);
	}
	if (s->nr && v < s->v[s->nr - 1])
		s->sorted = 0;
	s->v[s->nr++] = v;
}

void sample_clear(struct sample *s)
{
	free(s->v);
	free(s->hist);
	*s = (struct sample)SAMPLE_INIT;
}

void sample_reset(struct sample *s)
{
	free(s->hist);
	s->hist = NULL;
	s->nr = 0;
	s->sorted = 1;
}

bool sample_is_hist(const struct sample *s)
{
	return s->hist != NULL;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

static void ensure_sorted(struct sample *s)
{
	if (!s->sorted) {
		qsort(s->v, s->nr, sizeof(*s->v), cmp_i64);
		s->sorted = 1;
	}
}

double percentile_sorted(const int64_t *v, size_t n, double p)
{
	double h, frac;
	size_t lo;
	if (!n)
		return 0;
	if (p <= 0)
		return (double)v[0];
	if (p >= 100)
		return (double)v[n - 1];
	h = (double)(n - 1) * p / 100.0;
	lo = (size_t)floor(h);
	frac = h - (double)lo;
	if (lo + 1 >= n)
		return (double)v[n - 1];
	return (double)v[lo] + frac * (double)(v[lo + 1] - v[lo]);
}

double sample_percentile(struct sample *s, double p)
{
	if (s->hist) {
		const struct sample_hist *h = s->hist;
		double hh, frac, x0;
		uint64_t lo;
		if (p <= 0)
			return (double)h->min;
		if (p >= 100)
			return (double)h->max;
		hh = (double)(s->nr - 1) * p / 100.0;
		lo = (uint64_t)floor(hh);
		frac = hh - (double)lo;
		if (lo + 1 >= s->nr)
			return (double)h->max;
		x0 = hist_rank(h, lo);
		return x0 + frac * (hist_rank(h, lo + 1) - x0);
	}
	ensure_sorted(s);
	return percentile_sorted(s->v, s->nr, p);
}

int64_t sample_max(struct sample *s)
{
	if (s->hist)
		return s->hist->max;
	ensure_sorted(s);
	return s->nr ? s->v[s->nr - 1] : 0;
}

int64_t sample_min(struct sample *s)
{
	if (s->hist)
		return s->hist->min;
	ensure_sorted(s);
	return s->nr ? s->v[0] : 0;
}

double sample_mean(const struct sample *s)
{
	double sum = 0;
	if (s->hist)
		return s->nr ? s->hist->sum / (double)s->nr : 0;
	for (size_t i = 0; i < s->nr; i++)
		sum += (double)s->v[i];
	return s->nr ? sum / (double)s->nr : 0;
}
