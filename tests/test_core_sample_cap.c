#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include "core/stats.h"

/*
 * A capped sample (core/stats.h): exact and unchanged up to its cap, a
 * log-linear histogram past it whose percentiles stay within
 * SAMPLE_HIST_REL_ERR of the exact type-7 figure, with min, max and count
 * exact.  Checked against an uncapped sample of the same values.
 */

static const double pcts[] = { 0, 1, 10, 25, 50, 75, 90, 95, 99, 99.9, 100 };

/* xorshift: the same values on every run */
static uint64_t next(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/* latency-like: log-uniform over 1 us .. 100 s, in usec */
static int64_t latency(uint64_t *x)
{
	double u = (double)(next(x) >> 11) / 9007199254740992.0;
	return (int64_t)exp(u * log(1e8));
}

static void fill(struct sample *capped, struct sample *exact, size_t n, uint64_t seed,
		 int64_t (*gen)(uint64_t *))
{
	uint64_t x = seed;
	for (size_t i = 0; i < n; i++) {
		int64_t v = gen(&x);
		sample_add(capped, v);
		sample_add(exact, v);
	}
}

Test(sample_cap, under_cap_is_exact)
{
	struct sample c, e = SAMPLE_INIT;
	sample_init_capped(&c, 5000);
	fill(&c, &e, 5000, 42, latency); /* exactly the cap: still exact */
	cr_assert_not(sample_is_hist(&c));
	/* the buffer grew to the cap, not past it */
	cr_assert_eq(c.alloc, 5000, "alloc %zu for a cap of 5000", c.alloc);
	for (size_t i = 0; i < sizeof(pcts) / sizeof(pcts[0]); i++)
		cr_assert_eq(sample_percentile(&c, pcts[i]), sample_percentile(&e, pcts[i]),
			     "p%g", pcts[i]);
	cr_assert_eq(sample_mean(&c), sample_mean(&e));
	sample_add(&c, 7); /* one past it */
	cr_assert(sample_is_hist(&c));
	cr_assert_eq(c.nr, 5001);
	cr_assert_null(c.v);
	sample_clear(&c);
	sample_clear(&e);
}

Test(sample_cap, histogram_within_stated_error)
{
	struct sample c, e = SAMPLE_INIT;
	const size_t n = 300000;
	sample_init_capped(&c, 1000);
	fill(&c, &e, n, 7, latency);
	cr_assert(sample_is_hist(&c));
	cr_assert_eq(c.nr, n);
	cr_assert_eq(sample_min(&c), sample_min(&e));
	cr_assert_eq(sample_max(&c), sample_max(&e));
	for (double p = 0; p <= 100; p += 0.5) {
		double x = sample_percentile(&e, p), y = sample_percentile(&c, p);
		cr_assert_leq(fabs(y - x), x * SAMPLE_HIST_REL_ERR + 1e-9,
			      "p%g: histogram %.3f, exact %.3f", p, y, x);
	}
	cr_assert_float_eq(sample_mean(&c), sample_mean(&e), sample_mean(&e) * 1e-9);
	sample_clear(&c);
	sample_clear(&e);
}

static int64_t small_signed(uint64_t *x)
{
	return (int64_t)(next(x) % 255) - 127;
}

Test(sample_cap, small_and_negative_values_exact)
{
	/* magnitudes under 128 have a bucket each: no error at all */
	struct sample c, e = SAMPLE_INIT;
	sample_init_capped(&c, 10);
	fill(&c, &e, 20000, 3, small_signed);
	cr_assert(sample_is_hist(&c));
	for (size_t i = 0; i < sizeof(pcts) / sizeof(pcts[0]); i++)
		cr_assert_float_eq(sample_percentile(&c, pcts[i]), sample_percentile(&e, pcts[i]), 1e-9,
				   "p%g", pcts[i]);
	sample_clear(&c);
	sample_clear(&e);
}

static int64_t wide_signed(uint64_t *x)
{
	int64_t v = latency(x) * 1000003;
	return (next(x) & 1) ? -v : v;
}

Test(sample_cap, large_negative_values)
{
	struct sample c, e = SAMPLE_INIT;
	sample_init_capped(&c, 100);
	fill(&c, &e, 50000, 11, wide_signed);
	sample_add(&c, INT64_MIN + 1);
	sample_add(&e, INT64_MIN + 1);
	cr_assert_eq(sample_min(&c), INT64_MIN + 1);
	for (double p = 1; p < 100; p += 1) {
		double x = sample_percentile(&e, p), y = sample_percentile(&c, p);
		cr_assert_leq(fabs(y - x), fabs(x) * SAMPLE_HIST_REL_ERR + 1e-9,
			      "p%g: histogram %.3f, exact %.3f", p, y, x);
	}
	sample_clear(&c);
	sample_clear(&e);
}

Test(sample_cap, reset_keeps_the_cap)
{
	struct sample c;
	sample_init_capped(&c, 3);
	for (int i = 0; i < 10; i++)
		sample_add(&c, i);
	cr_assert(sample_is_hist(&c));
	sample_reset(&c);
	cr_assert_eq(c.nr, 0);
	cr_assert_not(sample_is_hist(&c));
	cr_assert_float_eq(sample_percentile(&c, 50), 0, 1e-12);
	for (int i = 0; i < 3; i++)
		sample_add(&c, 10 - i);
	cr_assert_not(sample_is_hist(&c));
	cr_assert_float_eq(sample_percentile(&c, 50), 9, 1e-12);
	sample_add(&c, 1);
	cr_assert(sample_is_hist(&c));
	cr_assert_float_eq(sample_percentile(&c, 0), 1, 1e-12);
	cr_assert_float_eq(sample_percentile(&c, 100), 10, 1e-12);
	sample_clear(&c);
	cr_assert_eq(c.cap, 0);
}
