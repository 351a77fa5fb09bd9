#include "parsers/stream.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "core/arena.h"
#include "core/atomicfile.h"
#include "core/error.h"
#include "core/banned.h"

/* A run's strings may not hold the buffer hostage: a run is also cut when
 * its strings pass this many bytes (one record can be 4 MiB). */
#define RUN_STRING_BYTES ((size_t)32 << 20)
/* Each run is read back through its own buffer: 64 KiB while the runs are
 * few, then a share of READ_BUDGET (at least 4 KiB), so the merge does not
 * grow by 64 KiB per 131,072 events (11 MB at 4 GB of logs). */
#define READ_BUF (64 * 1024)
#define READ_BUF_MIN (4 * 1024)
#define READ_BUDGET ((size_t)4 << 20)

/* Sort key of a buffered event: time, then position (a stable sort). */
struct run_key {
	log_usec ts;
	uint32_t idx;
};

/*
 * A spilled event: this header, then each present string with its NUL.
 * The file is read back by the process that wrote it, so the header is the
 * struct's bytes.
 */
struct spill_hdr {
	log_usec ts;
	int64_t dur;
	uint32_t src, line;
	int32_t pid;
	uint32_t flags;
	uint16_t kind;
	uint8_t origin, pool;
	uint32_t len[3]; /* UINT32_MAX: NULL */
	uint8_t u[sizeof(((struct event *)0)->u)];
};

struct run_reader {
	off_t off, end;      /* next byte to read, end of the run in the file */
	char *buf;           /* owned */
	size_t cap, pos, len;
	struct event cur;    /* strings point into buf */
	bool have;
};

struct event_stream {
	/* the run buffer */
	struct event *ev;    /* owned, run_max entries */
	size_t nev, run_max;
	struct arena strings;
	struct run_key *keys, *tmp; /* owned, run_max entries each */
	/* spill file and its runs */
	FILE *spill;         /* owned, NULL until the first spill */
	struct run_reader *runs; /* owned */
	size_t nruns, runs_alloc;
	bool write_failed;
	/* merge */
	size_t *heap;        /* owned: run indices, min-heap by (ts, run) */
	size_t nheap;
	size_t last;         /* run whose event was returned last, or SIZE_MAX */
	size_t mem_pos;      /* in-memory case: next key */
	size_t count;
	bool merging;
	const struct timeline *sources;
	struct event_sink observe;
};

/* Bottom-up merge sort of the keys by time, ties by position: the order
 * timeline_sort() gives.  Adjacent runs already in order (log files nearly
 * are) are copied, not merged. */
static void sort_keys(struct event_stream *s)
{
	struct run_key *a = s->keys, *b = s->tmp, *t;
	size_t n = s->nev;
	for (size_t i = 0; i < n; i++) {
		a[i].ts = s->ev[i].ts;
		a[i].idx = (uint32_t)i;
	}
	for (size_t width = 1; width < n; width *= 2) {
		for (size_t lo = 0; lo < n; lo += 2 * width) {
			size_t mid = lo + width < n ? lo + width : n;
			size_t hi = lo + 2 * width < n ? lo + 2 * width : n;
			size_t i = lo, j = mid, k = lo;
			if (mid >= hi || a[mid - 1].ts <= a[mid].ts) {
				memcpy(b + lo, a + lo, (hi - lo) * sizeof(*a));
				continue;
			}
			while (i < mid && j < hi)
				b[k++] = a[j].ts < a[i].ts ? a[j++] : a[i++];
			while (i < mid)
				b[k++] = a[i++];
			while (j < hi)
				b[k++] = a[j++];
		}
		t = a;
		a = b;
		b = t;
	}
	if (a != s->keys) {
		s->tmp = s->keys;
		s->keys = a;
	}
}

static int open_spill(struct event_stream *s)
{
	if (!(s->spill = tmpfile_unnamed("stream")))
		return -1;
	setvbuf(s->spill, NULL, _IOFBF, 1 << 20);
	return 0;
}

static void put_str(FILE *f, const char *p, uint32_t len)
{
	if (len != UINT32_MAX)
		fwrite(p, 1, (size_t)len + 1, f);
}

/* Sort the buffer and write it as one run. */
static int spill_run(struct event_stream *s)
{
	struct run_reader *r;
	off_t start;
	if (!s->nev)
		return 0;
	if (!s->spill && open_spill(s) < 0)
		return -1;
	sort_keys(s);
	start = ftello(s->spill);
	for (size_t i = 0; i < s->nev; i++) {
		const struct event *ev = &s->ev[s->keys[i].idx];
		struct spill_hdr h;
		const char *str[3] = { ev->conn, ev->text, ev->text2 };
		memset(&h, 0, sizeof(h));
		h.ts = ev->ts;
		h.dur = ev->dur;
		h.src = ev->src;
		h.line = ev->line;
		h.pid = ev->pid;
		h.flags = ev->flags;
		h.kind = ev->kind;
		h.origin = ev->origin;
		h.pool = ev->pool;
		for (int k = 0; k < 3; k++) {
			size_t n = str[k] ? strlen(str[k]) : 0;
			h.len[k] = str[k] ? (uint32_t)(n < UINT32_MAX - 1 ? n : UINT32_MAX - 2) : UINT32_MAX;
		}
		memcpy(h.u, &ev->u, sizeof(h.u));
		fwrite(&h, sizeof(h), 1, s->spill);
		for (int k = 0; k < 3; k++)
			put_str(s->spill, str[k], h.len[k]);
	}
	if (fflush(s->spill) == EOF || ferror(s->spill)) {
		s->write_failed = true;
		return error("cannot write the temporary file of the event merge: %s", strerror(errno));
	}
	ALLOC_GROW(s->runs, s->nruns + 1, s->runs_alloc);
	r = &s->runs[s->nruns++];
	memset(r, 0, sizeof(*r));
	r->off = start;
	r->end = ftello(s->spill);
	s->nev = 0;
	arena_reset(&s->strings);
	return 0;
}

static const char *keep_str(struct event_stream *s, const char *p)
{
	return p ? arena_strndup(&s->strings, p, strlen(p)) : NULL;
}

static void stream_sink(void *data, const struct event *ev)
{
	struct event_stream *s = data;
	struct event *e;
	if (s->observe.emit)
		s->observe.emit(s->observe.data, ev);
	if (s->write_failed)
		return;
	if (s->nev == s->run_max || s->strings.used_total > RUN_STRING_BYTES)
		if (spill_run(s) < 0) {
			/* one error, not one per event: no later spill can do
			 * better, and event_stream_open() fails on this flag */
			s->write_failed = true;
			return;
		}
	e = &s->ev[s->nev++];
	*e = *ev;
	e->conn = keep_str(s, ev->conn);
	e->text = keep_str(s, ev->text);
	e->text2 = keep_str(s, ev->text2);
	s->count++;
}

/* ---- reading runs back ---- */

/* Make n bytes from pos contiguous in r->buf.  Returns 0, or -1 after
 * error(). */
static int run_need(struct run_reader *r, int fd, size_t n)
{
	if (r->len - r->pos >= n)
		return 0;
	memmove(r->buf, r->buf + r->pos, r->len - r->pos);
	r->len -= r->pos;
	r->pos = 0;
	if (n > r->cap) {
		r->cap = n > 2 * r->cap ? n : 2 * r->cap;
		r->buf = xrealloc(r->buf, r->cap);
	}
	while (r->len < n) {
		size_t want = r->cap - r->len;
		ssize_t got;
		if ((off_t)want > r->end - r->off)
			want = (size_t)(r->end - r->off);
		if (!want)
			return error("the temporary file of the event merge is shorter than written");
		got = pread(fd, r->buf + r->len, want, r->off);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			return error("cannot read the temporary file of the event merge: %s", strerror(errno));
		}
		if (!got)
			return error("the temporary file of the event merge is shorter than written");
		r->len += (size_t)got;
		r->off += got;
	}
	return 0;
}

/* Decode the run's next event into r->cur (r->have = false at its end). */
static int run_advance(struct run_reader *r, int fd)
{
	struct spill_hdr h;
	const char **str[3];
	size_t total = 0;
	if (r->pos == r->len && r->off == r->end) {
		r->have = false;
		return 0;
	}
	if (run_need(r, fd, sizeof(h)) < 0)
		return -1;
	memcpy(&h, r->buf + r->pos, sizeof(h));
	r->pos += sizeof(h);
	for (int k = 0; k < 3; k++)
		if (h.len[k] != UINT32_MAX)
			total += (size_t)h.len[k] + 1;
	if (run_need(r, fd, total) < 0)
		return -1;
	memset(&r->cur, 0, sizeof(r->cur));
	r->cur.ts = h.ts;
	r->cur.dur = h.dur;
	r->cur.src = h.src;
	r->cur.line = h.line;
	r->cur.pid = h.pid;
	r->cur.flags = h.flags;
	r->cur.kind = h.kind;
	r->cur.origin = h.origin;
	r->cur.pool = h.pool;
	memcpy(&r->cur.u, h.u, sizeof(h.u));
	str[0] = &r->cur.conn;
	str[1] = &r->cur.text;
	str[2] = &r->cur.text2;
	for (int k = 0; k < 3; k++) {
		if (h.len[k] == UINT32_MAX) {
			*str[k] = NULL;
			continue;
		}
		*str[k] = r->buf + r->pos;
		r->pos += (size_t)h.len[k] + 1;
	}
	r->have = true;
	return 0;
}

static bool heap_less(const struct event_stream *s, size_t a, size_t b)
{
	const struct event *x = &s->runs[a].cur, *y = &s->runs[b].cur;
	if (x->ts != y->ts)
		return x->ts < y->ts;
	return a < b; /* the earlier run holds the earlier events */
}

static void heap_down(struct event_stream *s, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i, t;
		if (l < s->nheap && heap_less(s, s->heap[l], s->heap[m]))
			m = l;
		if (r < s->nheap && heap_less(s, s->heap[r], s->heap[m]))
			m = r;
		if (m == i)
			return;
		t = s->heap[i];
		s->heap[i] = s->heap[m];
		s->heap[m] = t;
		i = m;
	}
}

static int start_merge(struct event_stream *s)
{
	int fd = fileno(s->spill);
	size_t cap = READ_BUDGET / s->nruns;
	if (cap > READ_BUF)
		cap = READ_BUF;
	if (cap < READ_BUF_MIN)
		cap = READ_BUF_MIN;
	s->heap = xmalloc(s->nruns * sizeof(*s->heap));
	for (size_t i = 0; i < s->nruns; i++) {
		struct run_reader *r = &s->runs[i];
		r->cap = cap;
		r->buf = xmalloc(r->cap);
		if (run_advance(r, fd) < 0)
			return -1;
		if (r->have)
			s->heap[s->nheap++] = i;
	}
	for (size_t i = s->nheap / 2; i-- > 0;)
		heap_down(s, i);
	s->last = SIZE_MAX;
	s->merging = true;
	return 0;
}

int event_stream_open(struct event_stream **out, const char *const *paths, size_t npaths,
		      const struct parse_opts *opts, struct timeline *sources,
		      struct event_sink observe, size_t run_events)
{
	return event_stream_open_at(out, paths, NULL, NULL, npaths, opts, sources, observe, run_events);
}

int event_stream_open_at(struct event_stream **out, const char *const *paths,
			 const struct parse_start *const *starts, int *input_rc, size_t npaths,
			 const struct parse_opts *opts, struct timeline *sources,
			 struct event_sink observe, size_t run_events)
{
	struct event_stream *s = xcalloc(1, sizeof(*s));
	int ret = 0;
	*out = NULL;
	s->run_max = run_events ? run_events : EVENT_STREAM_RUN_EVENTS;
	if (s->run_max > UINT32_MAX)
		s->run_max = UINT32_MAX;
	s->ev = xmalloc(s->run_max * sizeof(*s->ev));
	s->keys = xmalloc(s->run_max * sizeof(*s->keys));
	s->tmp = xmalloc(s->run_max * sizeof(*s->tmp));
	arena_init(&s->strings, 256 * 1024);
	s->sources = sources;
	s->observe = observe;
	for (size_t i = 0; i < npaths; i++) {
		uint32_t idx = timeline_add_source(sources, paths[i]);
		struct event_sink sink = { stream_sink, s };
		int rc = parse_input_at(paths[i], opts, starts ? starts[i] : NULL, timeline_source(sources, idx),
					idx, sink);
		if (input_rc)
			input_rc[i] = rc;
		if (rc < 0)
			ret = 1;
		if (!opts->quiet)
			parse_report_unparsed(timeline_source(sources, idx));
	}
	if (!s->write_failed && s->nruns && spill_run(s) < 0)
		s->write_failed = true;
	/* (a failed first spill leaves nruns 0 with events lost: the flag,
	 * not the runs, says whether the stream is whole) */
	if (s->write_failed) {
		event_stream_free(s);
		return -1;
	}
	if (s->nruns) {
		/* everything is on disk now: give the buffer back */
		free(s->ev);
		free(s->keys);
		free(s->tmp);
		s->ev = NULL;
		s->keys = s->tmp = NULL;
		arena_release(&s->strings);
		if (start_merge(s) < 0) {
			event_stream_free(s);
			return -1;
		}
	} else {
		sort_keys(s);
		free(s->tmp);
		s->tmp = NULL;
	}
	*out = s;
	return ret;
}

int event_stream_next(struct event_stream *s, struct event *ev)
{
	if (!s->merging) {
		if (s->mem_pos >= s->nev)
			return 0;
		*ev = s->ev[s->keys[s->mem_pos++].idx];
		return 1;
	}
	if (s->last != SIZE_MAX) {
		/* the event returned last is consumed: move its run on */
		if (run_advance(&s->runs[s->last], fileno(s->spill)) < 0)
			return -1;
		if (!s->runs[s->last].have)
			s->heap[0] = s->heap[--s->nheap];
		heap_down(s, 0);
		s->last = SIZE_MAX;
	}
	if (!s->nheap)
		return 0;
	s->last = s->heap[0];
	*ev = s->runs[s->last].cur;
	return 1;
}

size_t event_stream_count(const struct event_stream *s)
{
	return s->count;
}

size_t event_stream_spilled_runs(const struct event_stream *s)
{
	return s->nruns;
}

void event_stream_free(struct event_stream *s)
{
	if (!s)
		return;
	free(s->ev);
	free(s->keys);
	free(s->tmp);
	arena_release(&s->strings);
	if (s->spill)
		fclose(s->spill);
	for (size_t i = 0; i < s->nruns; i++)
		free(s->runs[i].buf);
	free(s->runs);
	free(s->heap);
	free(s);
}
