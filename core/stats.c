#include "core/stats.h"
#include <math.h>
#include <stdlib.h>
#include "core/error.h"
#include "core/banned.h"

void sample_add(struct sample *s, int64_t v)
{
	ALLOC_GROW(s->v, s->nr + 1, s->alloc);
	if (s->nr && v < s->v[s->nr - 1])
		s->sorted = 0;
	s->v[s->nr++] = v;
}

void sample_clear(struct sample *s)
{
	free(s->v);
	s->v = NULL;
	s->nr = s->alloc = 0;
	s->sorted = 1;
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
	ensure_sorted(s);
	return percentile_sorted(s->v, s->nr, p);
}

int64_t sample_max(struct sample *s)
{
	ensure_sorted(s);
	return s->nr ? s->v[s->nr - 1] : 0;
}

int64_t sample_min(struct sample *s)
{
	ensure_sorted(s);
	return s->nr ? s->v[0] : 0;
}

double sample_mean(const struct sample *s)
{
	double sum = 0;
	for (size_t i = 0; i < s->nr; i++)
		sum += (double)s->v[i];
	return s->nr ? sum / (double)s->nr : 0;
}
