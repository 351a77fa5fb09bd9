#include <stdlib.h>
#include "core/error.h"
#include "replay/live_timer.h"
#include "core/banned.h"

void live_timer_init(struct live_timer *t, int kind, void *owner)
{
	t->due = 0;
	t->seq = 0;
	t->slot = LIVE_TIMER_IDLE;
	t->kind = kind;
	t->owner = owner;
}

void live_timer_heap_init(struct live_timer_heap *h)
{
	h->v = NULL;
	h->nr = h->alloc = 0;
	h->seq = 0;
}

void live_timer_heap_release(struct live_timer_heap *h)
{
	for (size_t i = 0; i < h->nr; i++)
		h->v[i]->slot = LIVE_TIMER_IDLE;
	free(h->v);
	live_timer_heap_init(h);
}

static int earlier(const struct live_timer *a, const struct live_timer *b)
{
	return a->due < b->due || (a->due == b->due && a->seq < b->seq);
}

static void place(struct live_timer_heap *h, size_t i, struct live_timer *t)
{
	h->v[i] = t;
	t->slot = i;
}

static void sift_up(struct live_timer_heap *h, size_t i)
{
	struct live_timer *t = h->v[i];
	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (!earlier(t, h->v[parent]))
			break;
		place(h, i, h->v[parent]);
		i = parent;
	}
	place(h, i, t);
}

static void sift_down(struct live_timer_heap *h, size_t i)
{
	struct live_timer *t = h->v[i];
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= h->nr)
			break;
		if (c + 1 < h->nr && earlier(h->v[c + 1], h->v[c]))
			c++;
		if (!earlier(h->v[c], t))
			break;
		place(h, i, h->v[c]);
		i = c;
	}
	place(h, i, t);
}

void live_timer_cancel(struct live_timer_heap *h, struct live_timer *t)
{
	size_t i = t->slot;
	struct live_timer *last;
	if (i == LIVE_TIMER_IDLE)
		return;
	if (i >= h->nr || h->v[i] != t)
		BUG("timer slot %zu is not in the heap", i);
	t->slot = LIVE_TIMER_IDLE;
	last = h->v[--h->nr];
	if (last == t)
		return;
	place(h, i, last);
	/* the moved timer may belong above or below its new slot */
	if (i > 0 && earlier(last, h->v[(i - 1) / 2]))
		sift_up(h, i);
	else
		sift_down(h, i);
}

void live_timer_arm(struct live_timer_heap *h, struct live_timer *t, mono_usec due)
{
	live_timer_cancel(h, t);
	t->due = due;
	t->seq = h->seq++;
	ALLOC_GROW(h->v, h->nr + 1, h->alloc);
	h->v[h->nr] = t;
	t->slot = h->nr++;
	sift_up(h, t->slot);
}

struct live_timer *live_timer_pop_due(struct live_timer_heap *h, mono_usec now)
{
	struct live_timer *t = live_timer_top(h);
	if (!t || t->due > now)
		return NULL;
	live_timer_cancel(h, t);
	return t;
}
