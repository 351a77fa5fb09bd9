#ifndef POOLSCOPE_LIVE_TIMER_H
#define POOLSCOPE_LIVE_TIMER_H
#include <stddef.h>
#include <stdint.h>
#include "core/logtime.h"
/*
 * Timers of the live replay: an indexed binary min-heap on mono_usec.
 *
 * A timer is embedded in its owner (a hold, a waiter, the monitor) and
 * remembers its slot in the heap, so cancelling one (a waiter that got a
 * connection before its deadline) is O(log n) and leaves no tombstone.
 * Timers with the same due time fire in arming order (a sequence number
 * breaks ties), so the live loop is as deterministic as real time allows.
 */
#define LIVE_TIMER_IDLE SIZE_MAX

struct live_timer {
	mono_usec due;
	uint64_t seq;  /* arming order, breaks ties */
	size_t slot;   /* index in the heap, LIVE_TIMER_IDLE when not armed */
	int kind;      /* owner-defined: what to do when it fires */
	void *owner;   /* borrowed: what the timer belongs to */
};

struct live_timer_heap {
	struct live_timer **v; /* owned array of borrowed timers */
	size_t nr, alloc;
	uint64_t seq;
};

void live_timer_init(struct live_timer *t, int kind, void *owner);
void live_timer_heap_init(struct live_timer_heap *h);
void live_timer_heap_release(struct live_timer_heap *h);
/* Arm t at due (re-arms if already armed). */
void live_timer_arm(struct live_timer_heap *h, struct live_timer *t, mono_usec due);
/* Disarm t; a no-op if it is not armed. */
void live_timer_cancel(struct live_timer_heap *h, struct live_timer *t);
static inline int live_timer_armed(const struct live_timer *t)
{
	return t->slot != LIVE_TIMER_IDLE;
}
/* The earliest timer, or NULL; borrowed, stays in the heap. */
static inline struct live_timer *live_timer_top(const struct live_timer_heap *h)
{
	return h->nr ? h->v[0] : NULL;
}
/* Remove and return the earliest timer if it is due at or before now. */
struct live_timer *live_timer_pop_due(struct live_timer_heap *h, mono_usec now);
#endif
