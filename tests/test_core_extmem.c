#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "core/extsort.h"
#include "core/recstore.h"
#include "tests/testutil.h"

/*
 * The bounded-memory containers behind the analysis' holds: a record store
 * checked against a plain array over random operations with a budget that
 * forces the temporary file, an external sort checked against qsort, and
 * both failing cleanly when $TMPDIR is unusable.
 */

static uint64_t rng_state;

static uint64_t rnd(void)
{
	/* xorshift64*: deterministic, so a failure reproduces */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ULL;
}

static void fill_random(unsigned char *p, size_t n)
{
	for (size_t k = 0; k < n; k++)
		p[k] = (unsigned char)rnd();
}

/* ---- recstore ---- */

/* The model: the same records in one plain array. */
struct model {
	unsigned char *rec;
	size_t n, alloc, size;
};

static unsigned char *model_push(struct model *m)
{
	if (m->n == m->alloc) {
		m->alloc = m->alloc ? m->alloc * 2 : 1024;
		m->rec = realloc(m->rec, m->alloc * m->size);
		cr_assert_not_null(m->rec);
	}
	memset(m->rec + m->n * m->size, 0, m->size);
	return m->rec + m->n++ * m->size;
}

static void check_rec(struct recstore *rs, struct model *m, uint64_t i, long op)
{
	const unsigned char *p = recstore_at(rs, i);
	cr_assert(memcmp(p, m->rec + i * m->size, m->size) == 0,
		  "size %zu, op %ld: record %llu differs from the model", m->size, op,
		  (unsigned long long)i);
}

/* ops random operations: pushes, reads and writes (uniform and near the
 * end, as the analysis' holds are), and now and then a full scan. */
static void recstore_vs_model(size_t size, size_t mem_bytes, long ops, bool want_file)
{
	struct recstore rs;
	struct model m = { .size = size };
	unsigned char *tmp = malloc(size);

	recstore_init(&rs, size, mem_bytes);
	for (long op = 0; op < ops; op++) {
		unsigned r = (unsigned)(rnd() % 1000);
		uint64_t i;
		if (r < 350 || !m.n) {
			unsigned char *p = recstore_push(&rs);
			unsigned char *q = model_push(&m);
			for (size_t k = 0; k < size; k++)
				cr_assert_eq(p[k], 0, "pushed record not zeroed");
			/* the pointer is valid until the next call: write through it */
			fill_random(q, size);
			memcpy(p, q, size);
			continue;
		}
		if (r < 600)
			i = rnd() % m.n;
		else
			i = m.n - 1 - rnd() % (m.n < 500 ? m.n : 500);
		if (r < 800) {
			check_rec(&rs, &m, i, op);
		} else if (r < 999) {
			unsigned char *p = recstore_at(&rs, i);
			cr_assert(memcmp(p, m.rec + i * size, size) == 0, "op %ld: record %llu before write",
				  op, (unsigned long long)i);
			fill_random(tmp, size);
			/* change only part of it: the rest must survive write-back */
			size_t from = rnd() % size;
			memcpy(p + from, tmp, size - from);
			memcpy(m.rec + i * size + from, tmp, size - from);
		} else {
			for (uint64_t j = 0; j < m.n; j++)
				check_rec(&rs, &m, j, op);
		}
	}
	cr_assert_eq(rs.nr, m.n);
	for (uint64_t j = m.n; j-- > 0;) /* backwards: against the LRU order */
		check_rec(&rs, &m, j, -1);
	cr_assert_not(rs.failed);
	cr_assert_eq(recstore_on_disk(&rs), want_file, "size %zu, %zu records: on disk %d", size,
		     m.n, recstore_on_disk(&rs));
	if (want_file)
		cr_assert_leq(rs.nblocks, RECSTORE_MIN_BLOCKS);
	recstore_release(&rs);
	free(m.rec);
	free(tmp);
}

Test(core_extmem, test_core_recstore_matches_model_on_disk)
{
	rng_state = 0x9e3779b97f4a7c15ULL;
	recstore_vs_model(80, 1, 200000, true);  /* 819 records a block, 80 bytes left over */
	rng_state = 0x1234567ULL;
	recstore_vs_model(24, 1, 200000, true);  /* 2730 a block */
	rng_state = 0xabcdefULL;
	recstore_vs_model(RECSTORE_BLOCK, 1, 3000, true); /* one record a block */
}

Test(core_extmem, test_core_recstore_fits_in_memory)
{
	rng_state = 42;
	recstore_vs_model(80, 0, 20000, false); /* the default 16 MiB */
	rng_state = 43;
	/* exactly the minimum: eight full blocks never need the file */
	struct recstore rs;
	recstore_init(&rs, 64, 1);
	for (uint64_t i = 0; i < RECSTORE_MIN_BLOCKS * (RECSTORE_BLOCK / 64); i++)
		*(uint64_t *)recstore_push(&rs) = i;
	cr_assert_not(recstore_on_disk(&rs));
	for (uint64_t i = 0; i < rs.nr; i++)
		cr_assert_eq(*(uint64_t *)recstore_at(&rs, i), i);
	*(uint64_t *)recstore_push(&rs) = 7; /* one more block: one goes to the file */
	cr_assert(recstore_on_disk(&rs));
	for (uint64_t i = 0; i + 1 < rs.nr; i++)
		cr_assert_eq(*(uint64_t *)recstore_at(&rs, i), i);
	cr_assert_eq(*(uint64_t *)recstore_at(&rs, rs.nr - 1), 7);
	recstore_release(&rs);
}

Test(core_extmem, test_core_recstore_pointer_valid_after_one_access)
{
	struct recstore rs;
	recstore_init(&rs, 80, 1);
	for (int i = 0; i < 100000; i++)
		recstore_push(&rs);
	cr_assert(recstore_on_disk(&rs));
	for (uint64_t i = 0; i < rs.nr; i += 997) {
		char want[40];
		char *p = recstore_at(&rs, i); /* often a block that was evicted */
		snprintf(want, sizeof(want), "record %llu", (unsigned long long)i);
		memcpy(p, want, strlen(want) + 1);
		cr_assert_str_eq((const char *)recstore_at(&rs, i), want);
	}
	for (uint64_t i = 0; i < rs.nr; i++) {
		char want[40];
		const char *p = recstore_at(&rs, i);
		if (i % 997) {
			cr_assert_eq(p[0], 0, "record %llu was never written", (unsigned long long)i);
			continue;
		}
		snprintf(want, sizeof(want), "record %llu", (unsigned long long)i);
		cr_assert_str_eq(p, want);
	}
	cr_assert_not(rs.failed);
	recstore_release(&rs);
}

Test(core_extmem, test_core_recstore_no_tmpdir_fails_cleanly)
{
	struct recstore rs;
	struct test_capture c;
	char *text;
	uint64_t per_block;

	recstore_init(&rs, 80, 1);
	per_block = rs.per_block;
	for (uint64_t i = 0; i < per_block * RECSTORE_MIN_BLOCKS; i++)
		memset(recstore_push(&rs), 0xab, 80); /* fits: no file yet */
	cr_assert_not(rs.failed);
	test_capture_start(&c, "/nonexistent/poolscope");
	for (uint64_t i = 0; i < per_block * 3; i++) /* evictions, all failing */
		memset(recstore_push(&rs), 0xcd, 80);
	for (uint64_t i = 0; i < rs.nr; i += 101) {
		unsigned char *p = recstore_at(&rs, i);
		for (int k = 0; k < 80; k++)
			cr_assert_eq(p[k], 0, "record %llu byte %d of a failed store", (unsigned long long)i, k);
		memset(p, 0xef, 80); /* writes are lost, not remembered */
	}
	text = test_capture_end(&c);
	cr_assert(rs.failed);
	cr_assert_not(recstore_on_disk(&rs));
	cr_assert_eq(rs.nr, per_block * (RECSTORE_MIN_BLOCKS + 3));
	cr_assert_eq(test_count_lines(text), 1, "want one error line, got:\n%.500s", text);
	cr_assert(strstr(text, "cannot create a temporary file"), "%s", text);
	unsigned char *p = recstore_at(&rs, 0);
	for (int k = 0; k < 80; k++)
		cr_assert_eq(p[k], 0);
	free(text);
	recstore_release(&rs);
}

Test(core_extmem, test_core_recstore_index_past_end_is_a_bug, .signal = SIGABRT)
{
	struct recstore rs;
	recstore_init(&rs, 24, 0);
	recstore_push(&rs);
	cr_redirect_stderr();
	recstore_at(&rs, 1);
}

/* ---- extsort ---- */

struct small {
	uint32_t key, payload;
};

static int cmp_small(const void *a, const void *b)
{
	const struct small *x = a, *y = b;
	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return x->payload < y->payload ? -1 : x->payload > y->payload;
}

struct wide {
	int64_t start;
	uint32_t conn;
	char name[68];
};

static int cmp_wide(const void *a, const void *b)
{
	const struct wide *x = a, *y = b;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	if (x->conn != y->conn)
		return x->conn < y->conn ? -1 : 1;
	return memcmp(x->name, y->name, sizeof(x->name));
}

/* Sorts n random records (keys from a small range, so many duplicates, some
 * whole-record ones) with the given budget, and compares with qsort. */
static void sort_vs_qsort(size_t size, extsort_cmp_fn *cmp, void (*gen)(void *), size_t mem_bytes,
			  size_t n, bool want_file)
{
	struct extsort s;
	unsigned char *all = malloc(n * size + 1);
	const void *r;
	size_t i = 0;

	extsort_init(&s, size, cmp, mem_bytes);
	for (size_t k = 0; k < n; k++) {
		gen(all + k * size);
		extsort_add(&s, all + k * size);
	}
	cr_assert_eq(extsort_finish(&s), 0);
	cr_assert_eq(s.f != NULL, want_file, "n %zu, mem %zu: file %d", n, mem_bytes, s.f != NULL);
	if (n)
		qsort(all, n, size, cmp);
	while ((r = extsort_next(&s))) {
		cr_assert_lt(i, n, "more records out than in");
		cr_assert(memcmp(r, all + i * size, size) == 0, "n %zu, mem %zu: record %zu differs", n,
			  mem_bytes, i);
		i++;
	}
	cr_assert_eq(i, n, "n %zu, mem %zu: %zu records out", n, mem_bytes, i);
	cr_assert_null(extsort_next(&s));
	cr_assert_not(s.failed);
	extsort_release(&s);
	free(all);
}

static void gen_small(void *p)
{
	struct small *x = p;
	x->key = (uint32_t)(rnd() % 50);
	x->payload = (uint32_t)(rnd() % 4); /* whole duplicates */
}

static void gen_wide(void *p)
{
	struct wide *x = p;
	memset(x, 0, sizeof(*x));
	x->start = (int64_t)(rnd() % 1000) - 500;
	x->conn = (uint32_t)(rnd() % 3);
	snprintf(x->name, sizeof(x->name), "conn-%u", (unsigned)(rnd() % 5));
}

Test(core_extmem, test_core_extsort_matches_qsort)
{
	const size_t sz = sizeof(struct small), run = 100;
	rng_state = 7;
	sort_vs_qsort(sz, cmp_small, gen_small, run * sz, 0, false);
	sort_vs_qsort(sz, cmp_small, gen_small, run * sz, 1, false);
	sort_vs_qsort(sz, cmp_small, gen_small, run * sz, run, false);          /* exactly one run */
	sort_vs_qsort(sz, cmp_small, gen_small, run * sz, run + 1, true);       /* one record more */
	sort_vs_qsort(sz, cmp_small, gen_small, run * sz, 2 * run, true);       /* two full runs */
	sort_vs_qsort(sz, cmp_small, gen_small, run * sz, 100 * run, true);     /* 100 runs, 1 record each read */
	sort_vs_qsort(sz, cmp_small, gen_small, run * sz, 100 * run - 37, true); /* a partial last run */
	sort_vs_qsort(sz, cmp_small, gen_small, 1, 500, true);                  /* one record a run */
	sort_vs_qsort(sz, cmp_small, gen_small, 1000 * sz, 5000, true);         /* 5 runs, refilled 5 times */
	sort_vs_qsort(sz, cmp_small, gen_small, 0, 100000, false);              /* the default 16 MiB */
}

Test(core_extmem, test_core_extsort_wide_records)
{
	const size_t sz = sizeof(struct wide);
	cr_assert_eq(sz, 80);
	rng_state = 99;
	sort_vs_qsort(sz, cmp_wide, gen_wide, 64 * sz, 64, false);
	sort_vs_qsort(sz, cmp_wide, gen_wide, 64 * sz, 6400, true);
	sort_vs_qsort(sz, cmp_wide, gen_wide, 1000 * sz + 79, 20011, true); /* budget not a multiple */
}

static int cmp_key_only(const void *a, const void *b)
{
	const struct small *x = a, *y = b;
	return x->key < y->key ? -1 : x->key > y->key;
}

Test(core_extmem, test_core_extsort_ties_come_from_lower_runs_first)
{
	const size_t run = 10;
	struct extsort s;
	const struct small *r;
	uint32_t last_key = 0, last_run = 0;
	size_t n = 0;

	rng_state = 5;
	extsort_init(&s, sizeof(struct small), cmp_key_only, run * sizeof(struct small));
	for (uint32_t k = 0; k < 1000; k++) {
		struct small x = { (uint32_t)(rnd() % 20), k }; /* payload: insertion order */
		extsort_add(&s, &x);
	}
	cr_assert_eq(extsort_finish(&s), 0);
	while ((r = extsort_next(&s))) {
		uint32_t in_run = r->payload / run;
		cr_assert_geq(r->key, last_key);
		if (n && r->key == last_key)
			cr_assert_geq(in_run, last_run, "key %u: run %u after run %u", r->key, in_run,
				      last_run);
		last_key = r->key;
		last_run = in_run;
		n++;
	}
	cr_assert_eq(n, 1000);
	extsort_release(&s);
}

Test(core_extmem, test_core_extsort_no_tmpdir_fails_cleanly)
{
	struct extsort s;
	struct test_capture c;
	char *text;
	int r;

	rng_state = 11;
	test_capture_start(&c, "/nonexistent/poolscope");
	extsort_init(&s, sizeof(struct small), cmp_small, 10 * sizeof(struct small));
	for (int k = 0; k < 1000; k++) { /* 100 runs, none can be written */
		struct small x;
		gen_small(&x);
		extsort_add(&s, &x);
	}
	r = extsort_finish(&s);
	text = test_capture_end(&c);
	cr_assert_eq(r, -1);
	cr_assert(s.failed);
	cr_assert_null(extsort_next(&s));
	cr_assert_eq(test_count_lines(text), 1, "want one error line, got:\n%.500s", text);
	cr_assert(strstr(text, "cannot create a temporary file"), "%s", text);
	free(text);
	extsort_release(&s);
}

Test(core_extmem, test_core_extsort_add_after_finish_is_a_bug, .signal = SIGABRT)
{
	struct extsort s;
	struct small x = { 1, 2 };
	extsort_init(&s, sizeof(x), cmp_small, 0);
	extsort_add(&s, &x);
	cr_assert_eq(extsort_finish(&s), 0);
	cr_redirect_stderr();
	extsort_add(&s, &x);
}

Test(core_extmem, test_core_recstore_evicts_least_recently_used)
{
	struct recstore rs;
	recstore_init(&rs, 64, 1);
	for (uint64_t i = 0; i < RECSTORE_MIN_BLOCKS * rs.per_block; i++)
		recstore_push(&rs);
	/* blocks 0..7 resident; 0 and 2 used again, so 1 is the oldest */
	recstore_at(&rs, 0);
	recstore_at(&rs, 2 * rs.per_block + 5);
	recstore_push(&rs); /* block 8 evicts block 1 */
	cr_assert(recstore_on_disk(&rs));
	cr_assert_eq(rs.slot_of[1], 0, "block 1 should have been evicted");
	cr_assert_neq(rs.slot_of[0], 0, "block 0 was used recently");
	cr_assert_neq(rs.slot_of[2], 0, "block 2 was used recently");
	recstore_push(&rs);
	recstore_at(&rs, 0);
	for (uint64_t i = 0; i < rs.per_block; i++) /* a whole new block: block 3 goes */
		recstore_push(&rs);
	cr_assert_eq(rs.slot_of[3], 0, "block 3 should have been evicted");
	cr_assert_neq(rs.slot_of[0], 0);
	recstore_release(&rs);
}
