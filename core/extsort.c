#include "core/extsort.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>
#include "core/atomicfile.h"
#include "core/error.h"
#include "core/banned.h"

void extsort_init(struct extsort *s, size_t size, extsort_cmp_fn *cmp, size_t mem_bytes)
{
	if (!size || !cmp)
		BUG("extsort needs a record size and a comparator");
	memset(s, 0, sizeof(*s));
	s->size = size;
	s->cmp = cmp;
	if (!mem_bytes)
		mem_bytes = (size_t)16 * 1024 * 1024;
	s->mem_max = mem_bytes / size;
	if (!s->mem_max)
		s->mem_max = 1;
}

void extsort_release(struct extsort *s)
{
	for (size_t k = 0; k < s->nruns; k++)
		free(s->runs[k].buf);
	free(s->runs);
	free(s->heap);
	free(s->buf);
	if (s->f)
		fclose(s->f);
	memset(s, 0, sizeof(*s));
}

/* Sorts buf and appends it to the file as one run (creating the file),
 * then empties buf.  A failed sort drops what it is given. */
static void write_run(struct extsort *s)
{
	struct extsort_run *r;
	uint64_t off = 0;

	if (s->nbuf && !s->failed)
		qsort(s->buf, s->nbuf, s->size, s->cmp);
	if (!s->failed && !s->f && !(s->f = tmpfile_unnamed("sort")))
		s->failed = true; /* tmpfile_unnamed() said why */
	if (!s->failed && fwrite(s->buf, s->size, s->nbuf, s->f) != s->nbuf) {
		error("cannot write a temporary file: %s", strerror(errno));
		s->failed = true;
	}
	if (!s->failed) {
		if (s->nruns)
			off = s->runs[s->nruns - 1].off + s->runs[s->nruns - 1].n * s->size;
		ALLOC_GROW(s->runs, s->nruns + 1, s->runs_alloc);
		r = &s->runs[s->nruns++];
		memset(r, 0, sizeof(*r));
		r->off = off;
		r->n = s->nbuf;
	}
	s->nbuf = 0;
}

void extsort_add(struct extsort *s, const void *rec)
{
	if (s->finished)
		BUG("extsort_add() after extsort_finish()");
	if (s->nbuf == s->mem_max)
		write_run(s);
	if (s->nbuf == s->buf_alloc) {
		/* grown as records come, so a small sort stays small */
		size_t n = s->buf_alloc ? s->buf_alloc * 2 : 64;
		if (n > s->mem_max)
			n = s->mem_max;
		s->buf = xrealloc(s->buf, n * s->size);
		s->buf_alloc = n;
	}
	memcpy(s->buf + s->nbuf * s->size, rec, s->size);
	s->nbuf++;
	s->nr++;
}

/* Reads run k's next records into its buffer.  Returns -1 after error(). */
static int refill(struct extsort *s, size_t k, size_t per_run)
{
	struct extsort_run *r = &s->runs[k];
	uint64_t left = r->n - r->next;
	size_t want = left < per_run ? (size_t)left : per_run;
	size_t bytes = want * s->size, got = 0;
	off_t off = (off_t)(r->off + r->next * s->size);

	while (got < bytes) {
		ssize_t n = pread(fileno(s->f), r->buf + got, bytes - got, off + (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			s->failed = true;
			return error("cannot read back a temporary file: %s",
				     n < 0 ? strerror(errno) : "unexpected end of file");
		}
		got += (size_t)n;
	}
	r->nbuf = want;
	r->pos = 0;
	r->next += want;
	return 0;
}

static const void *run_rec(const struct extsort *s, size_t k)
{
	const struct extsort_run *r = &s->runs[k];
	return r->buf + r->pos * s->size;
}

/* Heap order: the smaller record, and between equal ones the lower run,
 * so that equal records keep the order of the runs they came from. */
static int heap_less(const struct extsort *s, size_t a, size_t b)
{
	int c = s->cmp(run_rec(s, a), run_rec(s, b));
	return c < 0 || (c == 0 && a < b);
}

static void sift_down(struct extsort *s, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, m = i;
		if (l < s->nheap && heap_less(s, s->heap[l], s->heap[m]))
			m = l;
		if (l + 1 < s->nheap && heap_less(s, s->heap[l + 1], s->heap[m]))
			m = l + 1;
		if (m == i)
			return;
		size_t t = s->heap[i];
		s->heap[i] = s->heap[m];
		s->heap[m] = t;
		i = m;
	}
}

int extsort_finish(struct extsort *s)
{
	size_t per_run;

	if (s->finished)
		return s->failed ? -1 : 0;
	s->finished = true;
	if (!s->f && !s->failed) {
		/* one run: it stays in buf */
		if (s->nbuf)
			qsort(s->buf, s->nbuf, s->size, s->cmp);
		s->mem_pos = 0;
		return 0;
	}
	if (s->nbuf)
		write_run(s);
	if (s->failed)
		return -1;
	if (fflush(s->f) == EOF) {
		s->failed = true;
		return error("cannot write a temporary file: %s", strerror(errno));
	}
	/* the gathering buffer's memory goes to the runs' read buffers */
	free(s->buf);
	s->buf = NULL;
	s->nbuf = s->buf_alloc = 0;
	per_run = s->mem_max / s->nruns;
	if (!per_run)
		per_run = 1;
	s->heap = xmalloc(s->nruns * sizeof(*s->heap));
	s->nheap = 0;
	for (size_t k = 0; k < s->nruns; k++) {
		struct extsort_run *r = &s->runs[k];
		if (!r->n)
			continue;
		r->buf = xmalloc((r->n < per_run ? (size_t)r->n : per_run) * s->size);
		if (refill(s, k, per_run) < 0)
			return -1;
		s->heap[s->nheap++] = k;
	}
	for (size_t i = s->nheap / 2; i-- > 0;)
		sift_down(s, i);
	s->top_taken = false;
	return 0;
}

const void *extsort_next(struct extsort *s)
{
	if (!s->finished)
		BUG("extsort_next() before extsort_finish()");
	if (s->failed)
		return NULL;
	if (!s->f) {
		if (s->mem_pos >= s->nbuf)
			return NULL;
		return s->buf + s->mem_pos++ * s->size;
	}
	if (s->top_taken) {
		/* step past the record returned last time, now that it may go */
		size_t k = s->heap[0];
		struct extsort_run *r = &s->runs[k];
		size_t per_run = s->mem_max / s->nruns ? s->mem_max / s->nruns : 1;
		s->top_taken = false;
		if (++r->pos == r->nbuf) {
			if (r->next == r->n) {
				free(r->buf);
				r->buf = NULL;
				r->nbuf = r->pos = 0;
				s->heap[0] = s->heap[--s->nheap];
			} else if (refill(s, k, per_run) < 0) {
				return NULL;
			}
		}
		if (s->nheap)
			sift_down(s, 0);
	}
	if (!s->nheap)
		return NULL;
	s->top_taken = true;
	return run_rec(s, s->heap[0]);
}
