#ifndef POOLSCOPE_EXTSORT_H
#define POOLSCOPE_EXTSORT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
/*
 * Sorting fixed-size records in bounded memory: records are added one by
 * one; whenever mem_bytes of them have gathered they are sorted (qsort)
 * and written as one run to an unlinked temporary file in $TMPDIR
 * (core/atomicfile.h tmpfile_unnamed()); extsort_finish() sorts the last
 * run, and extsort_next() merges the runs (a binary heap, each run read
 * through its share of mem_bytes).  When everything fits in one run no
 * file is made.  Records comparing equal come out in an unspecified order:
 * give a total order.  For the analysis' holds (by start) and hold ends.
 *
 * A failure to create, write or read the file is reported once (error())
 * and leaves the sort failed: extsort_finish() returns -1, extsort_next()
 * returns NULL.
 */
typedef int extsort_cmp_fn(const void *, const void *);

struct extsort_run {
	uint64_t off, n;   /* first record's byte offset in the file, records */
	uint64_t next;     /* records of the run read so far */
	char *buf;         /* owned while merging: its read buffer */
	size_t nbuf, pos;  /* records in buf, next record in buf */
};

struct extsort {
	size_t size;          /* bytes per record */
	extsort_cmp_fn *cmp;
	size_t mem_max;       /* records per run */
	char *buf;            /* owned: the run being gathered (up to mem_max
	                       * records, grown as they come; freed when merging) */
	size_t nbuf, buf_alloc; /* records in buf, records buf can hold */
	uint64_t nr;          /* records added */
	FILE *f;              /* owned; NULL while one run holds everything */
	struct extsort_run *runs; /* owned */
	size_t nruns, runs_alloc;
	size_t *heap, nheap;  /* owned while merging: run indexes, smallest first */
	size_t mem_pos;       /* one run in memory: next record of buf */
	bool finished, failed;
	bool top_taken;       /* merging: the heap top's record was returned and
	                       * is advanced past at the next extsort_next() */
};

/* mem_bytes 0: 16 MiB (at least one record's worth). */
void extsort_init(struct extsort *s, size_t size, extsort_cmp_fn *cmp, size_t mem_bytes);
void extsort_release(struct extsort *s);
/* Before extsort_finish() only. */
void extsort_add(struct extsort *s, const void *rec);
/* Returns -1 if the sort failed (error() said why), else 0. */
int extsort_finish(struct extsort *s);
/* The records in ascending order, then NULL.  The pointer is valid until
 * the next call. */
const void *extsort_next(struct extsort *s);
#endif
