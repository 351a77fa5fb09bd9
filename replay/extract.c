#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "core/event.h"
#include "core/holds.h"
#include "core/stats.h"
#include "replay/workload.h"
#include "core/banned.h"

/*
 * Workload extraction: from a parsed, sorted timeline to requests and
 * batches (docs/replay.md "Extraction").  Evidence, best first:
 *
 *   pool debug checkout/return pairs (core/holds.c pairs them): exact
 *     arrival and hold of every checkout that got a connection;
 *   access-log start and duration: arrival, and the latency as an upper
 *     bound of the hold (used only without a pool debug log);
 *   TimeoutError records: arrival = logged time - timeout (the checkout
 *     began one timeout before it failed), hold imputed;
 *   batch start/end lines: one span per batch and its connection count;
 *   pool-stat samples: Little's law, the mean hold only.
 *
 * Pool debug lines do not say which caller held a connection.  Checkouts
 * are told apart into batch lanes and API requests by this heuristic:
 *
 *   T_b = max(0.25 s, 2 x p99 of the holds that start outside every batch
 *         window): API holds are short when no batch runs, batch holds are
 *         entries x cost and long.
 *   For each batch window (start .. end from the batch lines, the start
 *   being the worker's own "t0" when the end line carries a duration):
 *   - the prep checkout: a short hold starting within 50 ms of the start;
 *   - lane heads: the first C holds (C = the batch's connection count, if
 *     logged) that start within 1 s of the start and last at least T_b:
 *     the sub-workers start together;
 *   - lane continuations: a lane whose checkout ended at t continues with
 *     an unassigned hold of at least T_b starting within 50 ms of t (a
 *     commit-per-group worker checks out its next group at once); lanes
 *     claim continuations in order of their end times.
 *   Everything else, long holds inside a window included (an API request
 *   waiting on a row lock the batch holds), is an API request; the ones
 *   inside a window are flagged origin_guess.
 *
 * A checkout that waited shows only when it got its connection.  Under
 * FIFO service with one fixed timeout, waiters leave the queue (served or
 * timed out) in the order they arrived.  So per saturation episode (the
 * pool at its cap, each checkin followed within 10 ms by a checkout: a
 * handoff), the arrivals of the served waiters are interpolated between
 * known anchors (the episode start, and each timed-out waiter's arrival =
 * failure time - timeout), then clamped to [served - timeout, served] and
 * kept in order.  These rows are flagged arrival_est.
 *
 * A checkout that timed out never held a connection; its hold is taken
 * from the nearest (in time) API hold of the log (hot-deck imputation:
 * same period, same mix), flagged imputed.
 */

#define PREP_WINDOW (50 * 1000)
#define LANE_START_WINDOW (1000 * 1000)
#define CHAIN_WINDOW (50 * 1000)
#define HANDOFF_WINDOW (10 * 1000)

struct xhold {
	log_usec start, end;
	int32_t pid;
	uint32_t scope;      /* pool scope: distinct (pid, src if pid 0, pool) */
	uint8_t engine;
	int8_t cls;          /* 0 api, 1 batch prep, 2 batch lane */
	bool in_window;
	bool waiter;         /* a handoff: arrived earlier than it started */
	log_usec arrival;
};

struct xtimeout {
	log_usec ts, arrival;
	int32_t pid;
	uint32_t scope;
	uint8_t origin;
	int64_t timeout;
};

struct scope_key {
	int32_t pid;
	uint32_t src;
	uint8_t pool;
};

struct extract {
	struct workload *wl;
	const struct timeline *tl;
	struct hold_set hs;
	struct xhold *h;
	size_t nh;
	struct xtimeout *to;
	size_t nto, to_alloc;
	struct scope_key *scopes;
	size_t nscopes, scopes_alloc;
	int64_t timeout;     /* recorded (or assumed) timeout */
	int32_t cap;         /* recorded size + overflow, -1 unknown */
};

static uint32_t scope_of(struct extract *x, int32_t pid, uint32_t src, uint8_t pool)
{
	struct scope_key k = { pid, pid ? 0 : src, pool };
	for (size_t i = 0; i < x->nscopes; i++)
		if (x->scopes[i].pid == k.pid && x->scopes[i].src == k.src && x->scopes[i].pool == k.pool)
			return (uint32_t)i;
	ALLOC_GROW(x->scopes, x->nscopes + 1, x->scopes_alloc);
	x->scopes[x->nscopes] = k;
	return (uint32_t)x->nscopes++;
}

/* The settings the logs state: the most frequent TimeoutError triple, else
 * the pool size of the stats lines.  Also counts the recorded timeouts. */
struct triple {
	int32_t size, ovf;
	int64_t timeout;
	size_t n;
};

static void recorded_settings(struct extract *x, const uint8_t *dup)
{
	struct workload *wl = x->wl;
	struct triple t[16];
	size_t nt = 0, best = SIZE_MAX;
	wl->rec_timeouts = 0;
	for (size_t i = 0; i < x->tl->nr; i++) {
		const struct event *ev = &x->tl->ev[i];
		if (dup[i])
			continue;
		if (ev->kind == EVENT_POOL_TIMEOUT) {
			size_t k;
			wl->rec_timeouts++;
			if (ev->u.timeout.pool_size < 0 || ev->u.timeout.max_overflow == INT32_MIN ||
			    ev->u.timeout.timeout_usec < 0)
				continue;
			for (k = 0; k < nt; k++)
				if (t[k].size == ev->u.timeout.pool_size &&
				    t[k].ovf == ev->u.timeout.max_overflow &&
				    t[k].timeout == ev->u.timeout.timeout_usec)
					break;
			if (k == nt) {
				if (nt == 16)
					continue; /* a 17th distinct setting in one log set: ignore */
				t[nt++] = (struct triple){ ev->u.timeout.pool_size,
							   ev->u.timeout.max_overflow,
							   ev->u.timeout.timeout_usec, 0 };
			}
			t[k].n++;
			if (best == SIZE_MAX || t[k].n > t[best].n)
				best = k;
		} else if (ev->kind == EVENT_POOL_STATS) {
			if (ev->u.stats.checked_out > wl->rec_peak_checked_out)
				wl->rec_peak_checked_out = ev->u.stats.checked_out;
			if (ev->u.stats.pool_size >= 0)
				wl->rec_pool_size = ev->u.stats.pool_size;
		}
	}
	if (best != SIZE_MAX) {
		wl->rec_pool_size = t[best].size;
		wl->rec_max_overflow = t[best].ovf;
		wl->rec_timeout_usec = t[best].timeout;
	}
}

static int cmp_xhold(const void *a, const void *b)
{
	const struct xhold *x = a, *y = b;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return (x->end > y->end) - (x->end < y->end);
}

/* first index with start >= t */
static size_t lower_bound(const struct xhold *h, size_t n, log_usec t)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (h[mid].start < t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int64_t batch_threshold(struct extract *x)
{
	struct sample s = SAMPLE_INIT;
	int64_t t;
	for (size_t i = 0; i < x->nh; i++) {
		bool inside = false;
		for (size_t b = 0; b < x->hs.nbatches && !inside; b++) {
			const struct batch_window *w = &x->hs.batches[b];
			log_usec ws = w->start != LOG_USEC_NONE ? w->start : w->end;
			log_usec we = w->end != LOG_USEC_NONE ? w->end : w->start;
			if (x->h[i].end >= ws - USEC_PER_SEC && x->h[i].start <= we + USEC_PER_SEC)
				inside = true;
		}
		if (!inside)
			sample_add(&s, x->h[i].end - x->h[i].start);
	}
	t = s.nr ? (int64_t)(2 * sample_percentile(&s, 99)) : USEC_PER_SEC;
	sample_clear(&s);
	return t < 250000 ? 250000 : t;
}

struct lane {
	log_usec end;
	uint32_t last;   /* index of its last hold in x->h */
	bool open;
};

/* Assign the pool debug holds of one batch window to lanes; append the
 * batch and its holds to the workload. */
static void extract_batch(struct extract *x, const struct batch_window *w, int64_t tb,
			  log_usec prev_end)
{
	struct workload *wl = x->wl;
	struct wl_batch *b;
	uint32_t bi;
	struct lane *lanes = NULL;
	size_t nlanes = 0, lalloc = 0, i;
	size_t *seq = NULL, nseq = 0, salloc = 0; /* (lane, hold) pairs in order */
	uint16_t *seq_lane = NULL;
	size_t sl_alloc = 0;
	int32_t want = w->connections > 0 ? w->connections : INT32_MAX;
	bool chained = false;

	/* the prep checkout */
	for (i = lower_bound(x->h, x->nh, w->start - PREP_WINDOW);
	     i < x->nh && x->h[i].start <= w->start + PREP_WINDOW; i++)
		if (!x->h[i].cls && x->h[i].end - x->h[i].start < tb && x->h[i].pid == w->pid) {
			x->h[i].cls = 1;
			break;
		}
	/* lane heads */
	for (i = lower_bound(x->h, x->nh, w->start);
	     i < x->nh && x->h[i].start <= w->start + LANE_START_WINDOW && (int32_t)nlanes < want; i++) {
		struct xhold *h = &x->h[i];
		if (h->cls || h->end - h->start < tb || h->pid != w->pid)
			continue;
		if (w->end != LOG_USEC_NONE && h->start > w->end)
			break;
		h->cls = 2;
		ALLOC_GROW(lanes, nlanes + 1, lalloc);
		lanes[nlanes].end = h->end;
		lanes[nlanes].last = (uint32_t)i;
		lanes[nlanes].open = true;
		ALLOC_GROW(seq, nseq + 1, salloc);
		ALLOC_GROW(seq_lane, nseq + 1, sl_alloc);
		seq[nseq] = i;
		seq_lane[nseq++] = (uint16_t)nlanes;
		nlanes++;
	}
	/* continuations, earliest-ending lane first; not when the batch line
	 * says one commit per connection (then a hold right after a lane's end
	 * is a waiter the pool handed that connection to) */
	if (w->commits >= 0 && w->connections > 0 && w->commits <= w->connections)
		for (size_t l = 0; l < nlanes; l++)
			lanes[l].open = false;
	for (;;) {
		size_t best = SIZE_MAX;
		for (size_t l = 0; l < nlanes; l++)
			if (lanes[l].open && (best == SIZE_MAX || lanes[l].end < lanes[best].end))
				best = l;
		if (best == SIZE_MAX)
			break;
		lanes[best].open = false;
		if (w->end != LOG_USEC_NONE && lanes[best].end >= w->end)
			continue;
		for (i = lower_bound(x->h, x->nh, lanes[best].end);
		     i < x->nh && x->h[i].start <= lanes[best].end + CHAIN_WINDOW; i++) {
			struct xhold *h = &x->h[i];
			if (h->cls || h->end - h->start < tb || h->pid != w->pid)
				continue;
			h->cls = 2;
			lanes[best].end = h->end;
			lanes[best].last = (uint32_t)i;
			lanes[best].open = true;
			ALLOC_GROW(seq, nseq + 1, salloc);
			ALLOC_GROW(seq_lane, nseq + 1, sl_alloc);
			seq[nseq] = i;
			seq_lane[nseq++] = (uint16_t)best;
			chained = true;
			break;
		}
	}

	b = workload_add_batch(wl);
	bi = (uint32_t)(wl->nbatch - 1);
	b->start = w->start;
	b->gap = prev_end != LOG_USEC_NONE && w->start >= prev_end ? w->start - prev_end : -1;
	b->name = workload_name(wl, w->name, w->name ? strlen(w->name) : 0);
	b->pid = w->pid;
	b->entries = w->entries >= 0 ? w->entries : w->processed;
	b->evidence = WL_EV_POOL_DEBUG;
	if (w->commits >= 0 && w->connections > 0)
		b->commit = w->commits > w->connections ? WL_COMMIT_GROUP : WL_COMMIT_ONCE;
	else
		b->commit = chained ? WL_COMMIT_GROUP : WL_COMMIT_ONCE;
	if (!nlanes) {
		/* no debug holds matched: fall back to the batch lines */
		int32_t c = w->connections > 0 ? w->connections : 1;
		b->evidence = WL_EV_BATCH_LINES;
		b->lanes = (uint16_t)c;
		if (w->end != LOG_USEC_NONE)
			for (int32_t l = 0; l < c; l++) {
				struct wl_hold *wh = workload_add_hold(wl, bi);
				wh->lane = (uint16_t)l;
				wh->hold = w->end - w->start;
			}
	} else {
		b->lanes = (uint16_t)nlanes;
		for (size_t l = 0; l < nlanes; l++) {
			log_usec prev = w->start;
			for (size_t k = 0; k < nseq; k++) {
				const struct xhold *h;
				struct wl_hold *wh;
				if (seq_lane[k] != l)
					continue;
				h = &x->h[seq[k]];
				wh = workload_add_hold(wl, bi);
				wh->lane = (uint16_t)l;
				wh->hold = h->end - h->start;
				wh->gap = h->start > prev ? h->start - prev : 0;
				prev = h->end;
			}
		}
	}
	free(lanes);
	free(seq);
	free(seq_lane);
}

/*
 * Mark handoffs and estimate waiters' arrivals (see the comment at the
 * top).  Holds are sorted by start; this walks checkouts and checkins of
 * one scope in time order.
 */
struct pev {
	log_usec t;
	uint32_t h;  /* hold index, or timeout index for kind 2 */
	uint8_t kind; /* 0 checkin, 1 checkout (checkins first at equal times) */
};

static int cmp_pev(const void *a, const void *b)
{
	const struct pev *x = a, *y = b;
	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	return (x->h > y->h) - (x->h < y->h);
}

struct dep {
	log_usec d;       /* departure: served or failed */
	log_usec a;       /* arrival: known for timeouts, estimated for handoffs */
	uint32_t idx;
	bool known;
};

static int cmp_dep(const void *a, const void *b)
{
	const struct dep *x = a, *y = b;
	if (x->d != y->d)
		return x->d < y->d ? -1 : 1;
	return (x->idx > y->idx) - (x->idx < y->idx);
}

static void backfill_episode(struct extract *x, log_usec e0, struct dep *d, size_t n)
{
	size_t i = 0;
	log_usec prev_a = e0;
	qsort(d, n, sizeof(*d), cmp_dep);
	while (i < n) {
		size_t j = i;
		log_usec next_a;
		while (j < n && !d[j].known)
			j++;
		/* handoffs d[i..j) lie between prev_a and the next anchor */
		next_a = j < n ? d[j].a : d[j - 1].d;
		if (next_a < prev_a)
			next_a = prev_a;
		for (size_t k = i; k < j; k++) {
			log_usec a = prev_a + (log_usec)((double)(next_a - prev_a) * (double)(k - i + 1) /
							 (double)(j - i + 1));
			if (a < d[k].d - x->timeout)
				a = d[k].d - x->timeout;
			if (a > d[k].d)
				a = d[k].d;
			if (a < prev_a && prev_a <= d[k].d)
				a = prev_a;
			d[k].a = a;
			prev_a = a;
			x->h[d[k].idx].arrival = a;
			x->h[d[k].idx].waiter = true;
		}
		if (j < n) {
			if (d[j].a > prev_a)
				prev_a = d[j].a;
			j++;
		}
		i = j;
	}
}

static void backfill_scope(struct extract *x, uint32_t scope)
{
	struct pev *ev = NULL;
	size_t nev = 0, alloc = 0;
	struct dep *dep = NULL;
	size_t ndep = 0, dalloc = 0;
	log_usec *pending = NULL; /* checkin times not yet taken */
	size_t npend = 0, palloc = 0, phead = 0;
	int32_t out = 0, peak = 0;
	bool in_episode = false;
	log_usec e0 = 0, e_end = 0;

	for (size_t i = 0; i < x->nh; i++) {
		if (x->h[i].scope != scope)
			continue;
		ALLOC_GROW(ev, nev + 2, alloc);
		ev[nev++] = (struct pev){ x->h[i].start, (uint32_t)i, 1 };
		ev[nev++] = (struct pev){ x->h[i].end, (uint32_t)i, 0 };
	}
	qsort(ev, nev, sizeof(*ev), cmp_pev);
	for (size_t k = 0; k < nev; k++) {
		const struct pev *e = &ev[k];
		/* pending checkins older than the window were not taken: the queue
		 * of waiters was empty, the episode is over */
		while (phead < npend && e->t - pending[phead] > HANDOFF_WINDOW)
			phead++;
		if (in_episode && phead == npend && out < x->cap && e->t - e_end > HANDOFF_WINDOW) {
			/* close it: timeouts whose arrival falls inside belong to it */
			for (size_t t = 0; t < x->nto; t++)
				if (x->to[t].scope == scope && x->to[t].arrival >= e0 &&
				    x->to[t].arrival <= e_end) {
					ALLOC_GROW(dep, ndep + 1, dalloc);
					dep[ndep++] = (struct dep){ x->to[t].ts, x->to[t].arrival,
								    (uint32_t)t, true };
				}
			if (ndep)
				backfill_episode(x, e0, dep, ndep);
			ndep = 0;
			in_episode = false;
		}
		if (e->kind == 0) {
			out--;
			if (in_episode) {
				ALLOC_GROW(pending, npend + 1, palloc);
				pending[npend++] = e->t;
				e_end = e->t;
			}
			continue;
		}
		if (in_episode && phead < npend) {
			/* served right after a checkin while at the cap: a waiter */
			phead++;
			ALLOC_GROW(dep, ndep + 1, dalloc);
			dep[ndep++] = (struct dep){ e->t, 0, e->h, false };
			e_end = e->t;
		}
		out++;
		if (out > peak)
			peak = out;
		if (out >= x->cap && !in_episode) {
			in_episode = true;
			e0 = e->t;
			e_end = e->t;
			npend = phead = 0;
		}
	}
	if (in_episode) {
		for (size_t t = 0; t < x->nto; t++)
			if (x->to[t].scope == scope && x->to[t].arrival >= e0) {
				ALLOC_GROW(dep, ndep + 1, dalloc);
				dep[ndep++] = (struct dep){ x->to[t].ts, x->to[t].arrival, (uint32_t)t, true };
			}
		if (ndep)
			backfill_episode(x, e0, dep, ndep);
	}
	if (peak > x->wl->rec_peak_checked_out)
		x->wl->rec_peak_checked_out = peak;
	free(ev);
	free(dep);
	free(pending);
}

/* nearest API hold to t by start time (hot deck); -1 if none */
static int64_t impute_hold(const struct extract *x, log_usec t, int origin)
{
	size_t i = lower_bound(x->h, x->nh, t);
	size_t lo = i, hi = i;
	int want = origin == ORIGIN_BATCH ? 2 : 0;
	for (;;) {
		bool any = false;
		if (lo > 0) {
			lo--;
			any = true;
			if (x->h[lo].cls == want || (want == 2 && x->h[lo].cls == 1)) {
				if (hi < x->nh && x->h[hi].cls == want && x->h[hi].start - t < t - x->h[lo].start)
					return x->h[hi].end - x->h[hi].start;
				return x->h[lo].end - x->h[lo].start;
			}
		}
		if (hi < x->nh) {
			any = true;
			if (x->h[hi].cls == want)
				return x->h[hi].end - x->h[hi].start;
			hi++;
		}
		if (!any)
			return -1;
	}
}

static void add_requests_from_access_log(struct extract *x, const uint8_t *dup)
{
	struct workload *wl = x->wl;
	for (size_t i = 0; i < x->tl->nr; i++) {
		const struct event *ev = &x->tl->ev[i];
		struct wl_request *r;
		int64_t hold;
		int evid = WL_EV_ACCESS_LOG;
		if (dup[i] || ev->kind != EVENT_HTTP_REQUEST || ev->ts == LOG_USEC_NONE ||
		    (ev->flags & EVENT_F_TS_INFERRED))
			continue;
		if (ev->dur != EVENT_NO_DURATION && ev->dur >= 0) {
			hold = ev->dur;
			/* a 5xx as long as the timeout is the failed checkout, which
			 * the TimeoutError rows carry */
			if (ev->u.http.status >= 500 && wl->rec_timeouts > 0 &&
			    hold >= x->timeout * 9 / 10)
				continue;
		} else if (x->hs.little_mean_hold != EVENT_NO_DURATION) {
			hold = x->hs.little_mean_hold;
			evid = WL_EV_POOL_STATS;
		} else {
			continue;
		}
		r = workload_add_request(wl);
		r->t = ev->ts;
		r->hold = hold;
		r->pid = ev->pid;
		r->engine = ev->pool;
		r->origin = ORIGIN_API;
		r->evidence = (uint8_t)evid;
		{
			char name[512];
			int n = snprintf(name, sizeof(name), "%s%s%s", ev->text2 ? ev->text2 : "",
					 ev->text2 ? " " : "", ev->text ? ev->text : "");
			r->name = workload_name(wl, name, n > 0 && (size_t)n < sizeof(name) ? (size_t)n : 0);
		}
	}
}

int workload_extract(struct workload *wl, const struct timeline *tl)
{
	struct extract x;
	uint8_t *dup = xcalloc(tl->nr + 1, 1);
	int64_t tb = 0;
	size_t ndebug = 0;

	memset(&x, 0, sizeof(x));
	x.wl = wl;
	x.tl = tl;
	events_mark_duplicates(tl, dup);
	recorded_settings(&x, dup);
	x.timeout = wl->rec_timeout_usec >= 0 ? wl->rec_timeout_usec : 30 * USEC_PER_SEC;
	x.cap = wl->rec_pool_size >= 0 && wl->rec_max_overflow >= 0 ?
			wl->rec_pool_size + wl->rec_max_overflow : -1;
	hold_set_init(&x.hs);
	holds_build(&x.hs, tl, dup);

	for (size_t i = 0; i < x.hs.nr; i++)
		if (hold_at(&x.hs, i)->evidence == HOLD_EV_POOL_DEBUG && hold_complete(hold_at(&x.hs, i)))
			ndebug++;
	x.h = xcalloc(ndebug + 1, sizeof(*x.h));
	for (size_t i = 0; i < x.hs.nr; i++) {
		const struct hold *h = hold_at(&x.hs, i);
		struct xhold *xh;
		if (h->evidence != HOLD_EV_POOL_DEBUG || !hold_complete(h))
			continue;
		xh = &x.h[x.nh++];
		xh->start = xh->arrival = h->start;
		xh->end = h->end;
		xh->pid = h->pid;
		xh->engine = h->pool;
		xh->scope = scope_of(&x, h->pid, h->pid ? 0 : h->scope_src, h->pool);
		if (h->origin == ORIGIN_BATCH)
			xh->cls = 2;
	}
	qsort(x.h, x.nh, sizeof(*x.h), cmp_xhold);

	/* timeouts: arrival = failure - timeout; scoped like the holds of
	 * their process (pid 0: the only scope, or the first) */
	for (size_t i = 0; i < tl->nr; i++) {
		const struct event *ev = &tl->ev[i];
		struct xtimeout *t;
		if (dup[i] || ev->kind != EVENT_POOL_TIMEOUT || ev->ts == LOG_USEC_NONE)
			continue;
		ALLOC_GROW(x.to, x.nto + 1, x.to_alloc);
		t = &x.to[x.nto++];
		t->ts = ev->ts;
		t->timeout = ev->u.timeout.timeout_usec >= 0 ? ev->u.timeout.timeout_usec : x.timeout;
		t->arrival = ev->ts - t->timeout;
		t->pid = ev->pid;
		t->origin = ev->origin;
		t->scope = 0;
		for (size_t s = 0; s < x.nscopes; s++)
			if (x.scopes[s].pid == ev->pid) {
				t->scope = (uint32_t)s;
				break;
			}
	}

	/* batches and the lane heuristic */
	if (x.nh && x.hs.nbatches)
		tb = batch_threshold(&x);
	{
		log_usec prev_end = LOG_USEC_NONE;
		int32_t prev_pid = INT32_MIN;
		for (size_t b = 0; b < x.hs.nbatches; b++) {
			const struct batch_window *w = &x.hs.batches[b];
			if (w->start == LOG_USEC_NONE)
				continue;
			if (w->pid != prev_pid)
				prev_end = LOG_USEC_NONE;
			if (x.nh) {
				extract_batch(&x, w, tb, prev_end);
			} else {
				/* batch lines only */
				struct wl_batch *wb = workload_add_batch(wl);
				uint32_t bi = (uint32_t)(wl->nbatch - 1);
				int32_t c = w->connections > 0 ? w->connections : 1;
				wb->start = w->start;
				wb->gap = prev_end != LOG_USEC_NONE && w->start >= prev_end ?
						  w->start - prev_end : -1;
				wb->name = workload_name(wl, w->name, w->name ? strlen(w->name) : 0);
				wb->pid = w->pid;
				wb->entries = w->entries >= 0 ? w->entries : w->processed;
				wb->lanes = (uint16_t)c;
				wb->evidence = WL_EV_BATCH_LINES;
				wb->commit = w->commits > c ? WL_COMMIT_GROUP : WL_COMMIT_ONCE;
				if (w->end != LOG_USEC_NONE) {
					int32_t per = wb->commit == WL_COMMIT_GROUP ? (w->commits + c - 1) / c : 1;
					for (int32_t l = 0; l < c; l++)
						for (int32_t k = 0; k < per; k++) {
							struct wl_hold *wh = workload_add_hold(wl, bi);
							wh->lane = (uint16_t)l;
							wh->hold = (w->end - w->start) / per;
						}
				}
			}
			prev_end = w->end;
			prev_pid = w->pid;
		}
	}
	for (size_t i = 0; i < x.nh; i++)
		for (size_t b = 0; b < x.hs.nbatches; b++) {
			const struct batch_window *w = &x.hs.batches[b];
			if (w->start != LOG_USEC_NONE && w->end != LOG_USEC_NONE &&
			    x.h[i].start >= w->start && x.h[i].start <= w->end) {
				x.h[i].in_window = true;
				break;
			}
		}

	/* waiters' arrivals */
	if (x.cap > 0)
		for (uint32_t s = 0; s < x.nscopes; s++)
			backfill_scope(&x, s);

	/* requests: API holds and batch preps */
	for (size_t i = 0; i < x.nh; i++) {
		const struct xhold *h = &x.h[i];
		struct wl_request *r;
		if (h->cls == 2)
			continue;
		r = workload_add_request(wl);
		r->t = h->arrival;
		r->hold = h->end - h->start;
		r->pid = h->pid;
		r->engine = h->engine;
		r->origin = h->cls == 1 ? ORIGIN_BATCH : ORIGIN_API;
		r->evidence = WL_EV_POOL_DEBUG;
		if (h->waiter) {
			r->flags |= WL_F_ARRIVAL_EST;
			wl->arrival_est++;
		}
		if (h->in_window || h->cls == 1) {
			r->flags |= WL_F_ORIGIN_GUESS;
			wl->origin_guess++;
		}
	}
	if (!x.nh)
		add_requests_from_access_log(&x, dup);
	/* timed-out checkouts, demand imputed */
	for (size_t t = 0; t < x.nto; t++) {
		const struct xtimeout *to = &x.to[t];
		int origin = to->origin == ORIGIN_BATCH ? ORIGIN_BATCH : ORIGIN_API;
		int64_t hold = impute_hold(&x, to->arrival, origin);
		struct wl_request *r;
		if (hold < 0 && wl->nreq) {
			/* no debug holds: the nearest request of the workload so far */
			hold = wl->req[wl->nreq / 2].hold;
		}
		if (hold < 0)
			hold = 0;
		r = workload_add_request(wl);
		r->t = to->arrival;
		r->hold = hold;
		r->pid = to->pid;
		r->origin = (uint8_t)origin;
		r->evidence = WL_EV_TIMEOUT;
		r->flags = WL_F_TIMED_OUT | WL_F_IMPUTED;
		wl->imputed++;
	}
	wl->hold_evidence = x.nh ? "pool_debug" : hold_evidence_name(x.hs.best);
	wl->per_entry_usec = workload_measure_per_entry(wl);
	workload_sort(wl);

	free(x.h);
	free(x.to);
	free(x.scopes);
	free(dup);
	hold_set_release(&x.hs);
	return 0;
}
