#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "core/recspill.h"

/*
 * Records come back in the order they went in, every time they are read,
 * whether they stayed in memory, went to the temporary file, or both.
 */

struct rec {
	int64_t a;
	uint32_t b;
	char c;
};

static void roundtrip(size_t mem_max, size_t n, bool expect_file)
{
	struct recspill s;
	recspill_init(&s, sizeof(struct rec), mem_max);
	for (size_t i = 0; i < n; i++) {
		struct rec r;
		memset(&r, 0, sizeof(r)); /* the padding is written too */
		r.a = (int64_t)i * 1000003;
		r.b = (uint32_t)(i ^ 0x5a5a);
		r.c = (char)(i % 127);
		recspill_add(&s, &r);
	}
	cr_assert_eq(s.nr, n);
	cr_assert_eq(s.f != NULL, expect_file, "mem_max %zu, n %zu: file %d", mem_max, n, s.f != NULL);
	for (int pass = 0; pass < 3; pass++) {
		const struct rec *r;
		size_t i = 0;
		cr_assert_eq(recspill_rewind(&s), 0);
		while ((r = recspill_next(&s))) {
			cr_assert_lt(i, n);
			cr_assert_eq(r->a, (int64_t)i * 1000003, "pass %d record %zu", pass, i);
			cr_assert_eq(r->b, (uint32_t)(i ^ 0x5a5a));
			cr_assert_eq(r->c, (char)(i % 127));
			i++;
		}
		cr_assert_eq(i, n, "pass %d: %zu of %zu records", pass, i, n);
		cr_assert_null(recspill_next(&s));
	}
	cr_assert_not(s.failed);
	recspill_release(&s);
}

Test(recspill, in_memory)
{
	roundtrip(100, 0, false);
	roundtrip(100, 1, false);
	roundtrip(100, 100, false);
}

Test(recspill, to_disk)
{
	roundtrip(100, 101, true);  /* one past memory */
	roundtrip(1, 50, true);     /* one record at a time */
	roundtrip(7, 10000, true);  /* a partial last chunk */
	roundtrip(0, 200000, true); /* the default size */
}

Test(recspill, no_tmpdir_fails_cleanly)
{
	struct recspill s;
	struct rec r;
	memset(&r, 0, sizeof(r));
	setenv("TMPDIR", "/nonexistent/poolscope", 1);
	recspill_init(&s, sizeof(r), 2);
	for (int i = 0; i < 50; i++) /* past the buffer, many times: nothing overflows */
		recspill_add(&s, &r);
	cr_assert_eq(s.nr, 50);
	cr_assert(s.failed);
	cr_assert_eq(recspill_rewind(&s), -1);
	cr_assert_null(recspill_next(&s));
	recspill_release(&s);
	unsetenv("TMPDIR");
}
