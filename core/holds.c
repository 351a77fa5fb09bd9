#include "core/holds.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "core/arena.h"
#include "core/extsort.h"
#include "core/error.h"
#include "core/strbuf.h"
#include "core/banned.h"

static const char *const ev_names[HOLD_EV__COUNT] = {
	[HOLD_EV_NONE] = "none",
	[HOLD_EV_LITTLE] = "littles_law",
	[HOLD_EV_PG_SESSION] = "pg_sessions",
	[HOLD_EV_BATCH] = "batch_spans",
	[HOLD_EV_POOL_DEBUG] = "pool_debug",
};

static const char *const ev_descr[HOLD_EV__COUNT] = {
	[HOLD_EV_NONE] = "no evidence of hold times in these logs",
	[HOLD_EV_LITTLE] = "pool-stat samples with Little's law (mean only, an estimate)",
	[HOLD_EV_PG_SESSION] = "PostgreSQL session spans (an upper bound: a pooled session outlives its holds)",
	[HOLD_EV_BATCH] = "batch start/end lines (the time a batch held its connections)",
	[HOLD_EV_POOL_DEBUG] = "pool debug checkout/return pairs (exact)",
};

const char *hold_evidence_name(enum hold_evidence e)
{
	return (unsigned)e < HOLD_EV__COUNT ? ev_names[e] : "none";
}

const char *hold_evidence_describe(enum hold_evidence e)
{
	return (unsigned)e < HOLD_EV__COUNT ? ev_descr[e] : ev_descr[0];
}

static void builder_free(struct hold_builder *b);

void hold_set_init(struct hold_set *hs)
{
	memset(hs, 0, sizeof(*hs));
	strtab_init(&hs->strings);
	recstore_init(&hs->store, sizeof(struct hold), 0);
	hs->little_mean_hold = EVENT_NO_DURATION;
}

void hold_set_release(struct hold_set *hs)
{
	recstore_release(&hs->store);
	free(hs->batches);
	builder_free(hs->b);
	strtab_release(&hs->strings);
	memset(hs, 0, sizeof(*hs));
}

/* ---- duplicates across inputs ---------------------------------------- */

static bool slot_str_eq(const struct dup_slot *o, int k, const char *s)
{
	if (!o->has[k] || !s)
		return !o->has[k] && !s;
	return o->str[k].len == strlen(s) && !memcmp(o->str[k].buf, s, o->str[k].len);
}

static bool same_fact(const struct dup_slot *o, const struct event *e)
{
	return o->kind == e->kind && o->ts == e->ts && o->pid == e->pid && o->dur == e->dur &&
	       slot_str_eq(o, 0, e->conn) && slot_str_eq(o, 1, e->text) && slot_str_eq(o, 2, e->text2);
}

void dup_window_init(struct dup_window *w)
{
	memset(w, 0, sizeof(*w));
	for (size_t i = 0; i < DUP_WINDOW; i++)
		for (int k = 0; k < 3; k++)
			strbuf_init(&w->slot[i].str[k], 0);
}

void dup_window_release(struct dup_window *w)
{
	for (size_t i = 0; i < DUP_WINDOW; i++)
		for (int k = 0; k < 3; k++)
			strbuf_release(&w->slot[i].str[k]);
	memset(w, 0, sizeof(*w));
}

bool dup_window_check(struct dup_window *w, const struct event *ev)
{
	struct dup_slot *o;
	const char *str[3] = { ev->conn, ev->text, ev->text2 };
	bool dup = false, cmp = !(ev->flags & EVENT_F_TS_INFERRED);
	if (ev->ts == LOG_USEC_NONE)
		return false;
	if (!w->n || ev->ts != w->ts) {
		/* a new instant: only events of one instant can be one fact */
		w->n = w->head = 0;
		w->ts = ev->ts;
	}
	for (size_t i = 0; cmp && i < w->n; i++) {
		o = &w->slot[i];
		if (!o->dup && o->cmp && o->src != ev->src && same_fact(o, ev)) {
			dup = true;
			break;
		}
	}
	/* keep it: the last DUP_WINDOW events of the instant (a long run of one
	 * instant, an access log with 1 s resolution, is capped so this stays
	 * linear) */
	o = &w->slot[w->head];
	w->head = (w->head + 1) % DUP_WINDOW;
	if (w->n < DUP_WINDOW)
		w->n++;
	o->ts = ev->ts;
	o->dur = ev->dur;
	o->pid = ev->pid;
	o->src = ev->src;
	o->kind = ev->kind;
	o->dup = dup;
	o->cmp = cmp;
	for (int k = 0; k < 3; k++) {
		o->has[k] = str[k] != NULL;
		strbuf_reset(&o->str[k]);
		/* an event that can never be matched needs no copy of its text */
		if (str[k] && cmp && !dup)
			strbuf_addstr(&o->str[k], str[k]);
	}
	return dup;
}

size_t events_mark_duplicates(const struct timeline *tl, uint8_t *dup)
{
	struct dup_window w;
	size_t marked = 0;
	dup_window_init(&w);
	for (size_t i = 0; i < tl->nr; i++) {
		dup[i] = dup_window_check(&w, &tl->ev[i]);
		marked += dup[i];
	}
	dup_window_release(&w);
	return marked;
}

/* ---- connection state map ---------------------------------------------- */

struct conn_key {
	const char *conn; /* interned */
	int32_t pid;
	uint32_t scope;   /* src when pid is 0, else UINT32_MAX */
	uint8_t pool;
};

struct conn_state {
	struct conn_key key;
	bool used;
	long open;       /* hold index checked out now, or -1 */
	long tentative;  /* hold ended by close/invalidate while out, or -1 */
	long carry_from; /* hold this new connection may continue, or -1 */
	log_usec last_checkin;
};

struct conn_map {
	struct conn_state *slots;
	size_t nslots, count;
};

static uint32_t key_hash(const struct conn_key *k)
{
	uint64_t h = (uint64_t)(uintptr_t)k->conn * 0x9E3779B97F4A7C15ull;
	h ^= (uint64_t)(uint32_t)k->pid * 0xC2B2AE3D27D4EB4Full;
	h ^= (uint64_t)k->scope * 0x165667B19E3779F9ull + k->pool;
	return (uint32_t)(h ^ (h >> 29));
}

static bool key_eq(const struct conn_key *a, const struct conn_key *b)
{
	return a->conn == b->conn && a->pid == b->pid && a->scope == b->scope && a->pool == b->pool;
}

static struct conn_state *map_get(struct conn_map *m, const struct conn_key *k)
{
	size_t i;
	if ((m->count + 1) * 2 > m->nslots) {
		struct conn_map n = { NULL, m->nslots ? m->nslots * 2 : 64, 0 };
		n.slots = xcalloc(n.nslots, sizeof(*n.slots));
		for (size_t j = 0; j < m->nslots; j++) {
			if (!m->slots[j].used)
				continue;
			i = key_hash(&m->slots[j].key) & (n.nslots - 1);
			while (n.slots[i].used)
				i = (i + 1) & (n.nslots - 1);
			n.slots[i] = m->slots[j];
			n.count++;
		}
		free(m->slots);
		*m = n;
	}
	i = key_hash(k) & (m->nslots - 1);
	while (m->slots[i].used) {
		if (key_eq(&m->slots[i].key, k))
			return &m->slots[i];
		i = (i + 1) & (m->nslots - 1);
	}
	m->slots[i].used = true;
	m->slots[i].key = *k;
	m->slots[i].open = m->slots[i].tentative = m->slots[i].carry_from = -1;
	m->slots[i].last_checkin = LOG_USEC_NONE;
	m->count++;
	return &m->slots[i];
}

/* A connection closed while out, waiting to see whether a reconnect takes
 * over its checkout. */
struct carry {
	struct conn_key scope; /* conn unused */
	long hold;
	log_usec ts;
};
#define CARRY_MAX 16
/* a pre-ping reconnect creates the new connection within milliseconds */
#define CARRY_WINDOW (2 * USEC_PER_SEC)

/* A new hold, at index hs->nr - 1 (the pointer is hold_at()'s) */
static struct hold *new_hold(struct hold_set *hs, const struct event *ev, enum hold_evidence e)
{
	struct hold *h = recstore_push(&hs->store);
	hs->nr++;
	h->start = h->end = h->end_bound = LOG_USEC_NONE;
	h->dur = EVENT_NO_DURATION;
	h->conn = ev->conn;
	h->pid = ev->pid;
	h->src = ev->src;
	h->line = ev->line;
	h->scope_src = ev->pid ? UINT32_MAX : ev->src;
	h->pool = ev->pool;
	h->endpoint = -1;
	h->origin = ev->origin;
	h->evidence = (uint8_t)e;
	return h;
}

static void end_hold(struct hold *h, const struct event *ev)
{
	h->end = h->end_bound = ev->ts;
	h->end_src = ev->src;
	h->end_line = ev->line;
	if (h->start != LOG_USEC_NONE && h->end >= h->start)
		h->dur = h->end - h->start;
	if (h->origin == ORIGIN_UNKNOWN)
		h->origin = ev->origin;
}

static void pool_event(struct hold_set *hs, struct conn_map *map, struct carry *carry,
		       size_t *ncarry, const struct event *ev)
{
	struct conn_key k = { ev->conn, ev->pid, ev->pid ? UINT32_MAX : ev->src, ev->pool };
	struct conn_state *st;
	struct hold *h;

	if (!ev->conn || ev->ts == LOG_USEC_NONE)
		return;
	st = map_get(map, &k);
	switch (ev->kind) {
	case EVENT_POOL_CHECKOUT:
		if (st->open >= 0) {
			h = hold_at(hs, (size_t)st->open);
			if (h->start == ev->ts && h->src == ev->src) {
				hs->duplicates++; /* same line written twice */
				return;
			}
			/* never returned, yet checked out again: the return line is
			 * missing (or the address was reused after an unlogged close) */
			h->flags |= HOLD_F_LOST;
			h->end_bound = ev->ts;
		}
		hs->checkouts++;
		st->tentative = st->carry_from = -1;
		h = new_hold(hs, ev, HOLD_EV_POOL_DEBUG);
		h->start = ev->ts;
		st->open = (long)hs->nr - 1;
		break;
	case EVENT_POOL_CHECKIN:
		if (st->open < 0 && st->last_checkin == ev->ts) {
			hs->duplicates++;
			return;
		}
		hs->checkins++;
		st->last_checkin = ev->ts;
		if (st->open >= 0) {
			end_hold(hold_at(hs, (size_t)st->open), ev);
			st->open = -1;
		} else if (st->tentative >= 0) {
			/* closed while out but returned after all: the real end */
			h = hold_at(hs, (size_t)st->tentative);
			h->flags &= (uint8_t)~HOLD_F_CLOSED_OUT;
			end_hold(h, ev);
			st->tentative = -1;
		} else if (st->carry_from >= 0) {
			/* a reconnect's new connection returned: the original
			 * checkout ends here */
			h = hold_at(hs, (size_t)st->carry_from);
			h->flags &= (uint8_t)~HOLD_F_CLOSED_OUT;
			h->flags |= HOLD_F_CARRIED;
			end_hold(h, ev);
			st->carry_from = -1;
		} else {
			/* checked out before the log began */
			h = new_hold(hs, ev, HOLD_EV_POOL_DEBUG);
			h->flags |= HOLD_F_NO_START;
			end_hold(h, ev);
		}
		break;
	case EVENT_POOL_INVALIDATE:
	case EVENT_POOL_CLOSE:
		if (st->open >= 0) {
			h = hold_at(hs, (size_t)st->open);
			h->flags |= HOLD_F_CLOSED_OUT;
			end_hold(h, ev);
			st->tentative = st->open;
			st->open = -1;
			if (*ncarry == CARRY_MAX) {
				memmove(carry, carry + 1, (CARRY_MAX - 1) * sizeof(*carry));
				(*ncarry)--;
			}
			carry[*ncarry].scope = k;
			carry[*ncarry].hold = st->tentative;
			carry[*ncarry].ts = ev->ts;
			(*ncarry)++;
		} else if (st->tentative < 0) {
			st->carry_from = -1;
		}
		break;
	case EVENT_POOL_CONNECT:
		st->tentative = -1;
		st->carry_from = -1;
		for (size_t i = *ncarry; i-- > 0;) {
			struct carry *c = &carry[i];
			if (ev->ts - c->ts > CARRY_WINDOW || c->scope.pid != k.pid ||
			    c->scope.scope != k.scope || c->scope.pool != k.pool)
				continue;
			st->carry_from = c->hold;
			memmove(c, c + 1, (*ncarry - i - 1) * sizeof(*c));
			(*ncarry)--;
			break;
		}
		break;
	default:
		break;
	}
}

/* ---- batch windows --------------------------------------------------- */

static bool names_match(const char *a, const char *b)
{
	if (!a || !b)
		return true;
	return a == b || !strcasecmp(a, b);
}

static void batch_event(struct hold_set *hs, size_t *open, size_t *nopen, const struct event *ev)
{
	struct batch_window *w;
	if (ev->ts == LOG_USEC_NONE)
		return;
	if (ev->kind == EVENT_BATCH_START) {
		/* a batch of this name still open in this process lost its end
		 * line: it was over when the next one began */
		for (size_t i = *nopen; i-- > 0;) {
			w = &hs->batches[open[i]];
			if (w->pid != ev->pid || (!ev->pid && w->src != ev->src) || !names_match(w->name, ev->text) ||
			    !w->name || !ev->text)
				continue;
			w->end_bound = ev->ts;
			memmove(open + i, open + i + 1, (*nopen - i - 1) * sizeof(*open));
			(*nopen)--;
			break;
		}
		ALLOC_GROW(hs->batches, hs->nbatches + 1, hs->batches_alloc);
		w = &hs->batches[hs->nbatches];
		memset(w, 0, sizeof(*w));
		w->start = w->start_line = ev->ts;
		w->end = w->end_bound = LOG_USEC_NONE;
		w->name = ev->text;
		w->pid = ev->pid;
		w->src = ev->src;
		w->line = ev->line;
		w->entries = ev->u.batch.entries;
		w->processed = ev->u.batch.processed;
		w->connections = ev->u.batch.connections;
		w->commits = ev->u.batch.commits;
		open[(*nopen)++] = hs->nbatches++;
		return;
	}
	/* batch_end: the most recent open batch of that name and process */
	for (size_t i = *nopen; i-- > 0;) {
		w = &hs->batches[open[i]];
		if (w->pid != ev->pid || (!ev->pid && w->src != ev->src) || !names_match(w->name, ev->text))
			continue;
		memmove(open + i, open + i + 1, (*nopen - i - 1) * sizeof(*open));
		(*nopen)--;
		goto found;
	}
	ALLOC_GROW(hs->batches, hs->nbatches + 1, hs->batches_alloc);
	w = &hs->batches[hs->nbatches++];
	memset(w, 0, sizeof(*w));
	w->start = w->start_line = w->end_bound = LOG_USEC_NONE;
	w->name = ev->text;
	w->pid = ev->pid;
	w->src = ev->src;
	w->line = ev->line;
	w->entries = w->processed = w->connections = w->commits = -1;
found:
	w->end = ev->ts;
	w->end_src = ev->src;
	w->end_line = ev->line;
	/* The end line's own duration is measured by the worker from before
	 * its first query; it beats the start line's time when earlier. */
	if (ev->dur != EVENT_NO_DURATION && ev->dur >= 0 &&
	    (w->start == LOG_USEC_NONE || ev->ts - ev->dur < w->start))
		w->start = ev->ts - ev->dur;
	if (ev->u.batch.entries >= 0)
		w->entries = ev->u.batch.entries;
	if (ev->u.batch.processed >= 0)
		w->processed = ev->u.batch.processed;
	if (ev->u.batch.connections >= 0)
		w->connections = ev->u.batch.connections;
	if (ev->u.batch.commits >= 0)
		w->commits = ev->u.batch.commits;
	if (!w->name)
		w->name = ev->text;
}

static int cmp_batch(const void *a, const void *b)
{
	const struct batch_window *x = a, *y = b;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	if (x->src != y->src)
		return x->src < y->src ? -1 : 1;
	return (x->line > y->line) - (x->line < y->line);
}

/* every checkout of a run is one of these until the analysis ends */
_Static_assert(sizeof(struct hold) <= 80, "struct hold grew past 80 bytes");

static int cmp_hold(const void *a, const void *b)
{
	const struct hold *x = a, *y = b;
	log_usec kx = hold_key(x), ky = hold_key(y);
	if (kx != ky)
		return kx < ky ? -1 : 1;
	if (x->evidence != y->evidence)
		return x->evidence > y->evidence ? -1 : 1;
	if (x->src != y->src)
		return x->src < y->src ? -1 : 1;
	return (x->line > y->line) - (x->line < y->line);
}

/* An empty store in the set's budget.  A budget under RECSTORE_MIN_BLOCKS
 * blocks (tests) gets smaller blocks, down to one hold each, so the file
 * is reached with a few holds. */
static void store_init(struct hold_set *hs)
{
	size_t block = RECSTORE_BLOCK;
	if (hs->mem_bytes && hs->mem_bytes < RECSTORE_MIN_BLOCKS * RECSTORE_BLOCK) {
		block = hs->mem_bytes / RECSTORE_MIN_BLOCKS / sizeof(struct hold) * sizeof(struct hold);
		if (block < sizeof(struct hold))
			block = sizeof(struct hold);
	}
	recstore_init_block(&hs->store, sizeof(struct hold), hs->mem_bytes, block);
}

/* Sorts the store by cmp_hold (a total order: a line makes one hold), in
 * the set's memory budget: the sort reads the store, which is then emptied
 * before the merge fills a new one. */
static void sort_holds(struct hold_set *hs)
{
	struct extsort sort;
	bool failed = hs->store.failed;
	if (hs->nr < 2 || failed)
		return; /* a failed store: said once, the analysis fails */
	extsort_init(&sort, sizeof(struct hold), cmp_hold, hold_sort_memory(hs->mem_bytes));
	for (size_t j = 0; j < hs->nr; j++)
		extsort_add(&sort, hold_at(hs, j));
	recstore_release(&hs->store);
	store_init(hs);
	if (extsort_finish(&sort) < 0)
		failed = true;
	for (size_t j = 0; j < hs->nr; j++) {
		const struct hold *h = failed ? NULL : extsort_next(&sort);
		void *rec = recstore_push(&hs->store); /* zeroes if h is lost: the count stays */
		if (h)
			memcpy(rec, h, sizeof(*h));
		else
			failed = true;
	}
	/* what went wrong was said: the analysis fails on hold_set_failed() */
	hs->store.failed = hs->store.failed || failed;
	extsort_release(&sort);
}

size_t holds_lower_bound(const struct hold_set *hs, log_usec t)
{
	size_t lo = 0, hi = hs->nr;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (hold_key(hold_at(hs, mid)) < t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* ---- PostgreSQL sessions --------------------------------------------- */

struct pg_open {
	int32_t pid;
	uint32_t src;
	long hold;
};

static void pg_event(struct hold_set *hs, struct pg_open **open, size_t *nopen, size_t *alloc,
		     const struct event *ev)
{
	struct hold *h;
	int32_t bpid = ev->u.pg.backend_pid ? ev->u.pg.backend_pid : ev->pid;
	if (ev->ts == LOG_USEC_NONE)
		return;
	if (ev->kind == EVENT_PG_CONNECT) {
		h = new_hold(hs, ev, HOLD_EV_PG_SESSION);
		h->start = ev->ts;
		h->name = ev->text;
		h->flags |= HOLD_F_OPEN;
		ALLOC_GROW(*open, *nopen + 1, *alloc);
		(*open)[*nopen].pid = bpid;
		(*open)[*nopen].src = ev->src;
		(*open)[(*nopen)++].hold = (long)hs->nr - 1;
		return;
	}
	for (size_t i = *nopen; i-- > 0;) {
		struct pg_open *o = &(*open)[i];
		if (o->pid != bpid || o->src != ev->src || !bpid)
			continue;
		h = hold_at(hs, (size_t)o->hold);
		h->flags &= (uint8_t)~HOLD_F_OPEN;
		end_hold(h, ev);
		if (ev->dur != EVENT_NO_DURATION && ev->dur >= 0) {
			/* the session time PostgreSQL measured beats our pairing */
			h->dur = ev->dur;
			h->start = ev->ts - ev->dur;
		}
		memmove(o, o + 1, (*nopen - i - 1) * sizeof(*o));
		(*nopen)--;
		return;
	}
	if (ev->dur == EVENT_NO_DURATION || ev->dur < 0)
		return; /* a disconnect without its connect and without a time */
	h = new_hold(hs, ev, HOLD_EV_PG_SESSION);
	h->name = ev->text;
	end_hold(h, ev);
	h->start = ev->ts - ev->dur;
	h->dur = ev->dur;
}

/* ---- driver ------------------------------------------------------------ */

struct hold_builder {
	struct conn_map map;
	struct carry carry[CARRY_MAX];
	size_t ncarry;
	size_t *bopen, nbopen, bopen_alloc;
	struct pg_open *pgopen;
	size_t npgopen, pgalloc;
	double sum_out;
	size_t nreq;
	log_usec req_first, req_last;
	log_usec pool_first, pool_last;
};

static void builder_free(struct hold_builder *b)
{
	if (!b)
		return;
	free(b->map.slots);
	free(b->bopen);
	free(b->pgopen);
	free(b);
}

void holds_begin(struct hold_set *hs)
{
	struct hold_builder *b = xcalloc(1, sizeof(*b));
	recstore_release(&hs->store);
	store_init(hs);
	hs->nr = 0;
	b->req_first = b->req_last = LOG_USEC_NONE;
	b->pool_first = b->pool_last = LOG_USEC_NONE;
	builder_free(hs->b);
	hs->b = b;
}

void holds_feed(struct hold_set *hs, const struct event *in)
{
	struct hold_builder *b = hs->b;
	struct event e;
	const struct event *ev = &e;
	switch (in->kind) {
	case EVENT_POOL_CHECKOUT:
	case EVENT_POOL_CHECKIN:
	case EVENT_POOL_INVALIDATE:
	case EVENT_POOL_CLOSE:
	case EVENT_POOL_CONNECT:
	case EVENT_BATCH_START:
	case EVENT_BATCH_END:
	case EVENT_PG_CONNECT:
	case EVENT_PG_DISCONNECT:
		/* holds and batches keep these: equal strings, equal pointers */
		e = *in;
		e.conn = strtab_intern_cstr(&hs->strings, in->conn);
		e.text = strtab_intern_cstr(&hs->strings, in->text);
		e.text2 = NULL;
		break;
	default:
		ev = in;
		break;
	}
	switch (ev->kind) {
	case EVENT_POOL_CHECKOUT:
	case EVENT_POOL_CHECKIN:
	case EVENT_POOL_INVALIDATE:
	case EVENT_POOL_CLOSE:
	case EVENT_POOL_CONNECT:
		pool_event(hs, &b->map, b->carry, &b->ncarry, ev);
		if (ev->ts != LOG_USEC_NONE && ev->kind == EVENT_POOL_CHECKOUT) {
			if (b->pool_first == LOG_USEC_NONE)
				b->pool_first = ev->ts;
			b->pool_last = ev->ts;
		}
		break;
	case EVENT_BATCH_START:
	case EVENT_BATCH_END:
		if (b->nbopen + 1 > b->bopen_alloc)
			ALLOC_GROW(b->bopen, b->nbopen + 1, b->bopen_alloc);
		batch_event(hs, b->bopen, &b->nbopen, ev);
		break;
	case EVENT_PG_CONNECT:
	case EVENT_PG_DISCONNECT:
		pg_event(hs, &b->pgopen, &b->npgopen, &b->pgalloc, ev);
		break;
	case EVENT_POOL_STATS:
		if (ev->u.stats.checked_out >= 0) {
			b->sum_out += ev->u.stats.checked_out;
			hs->little_samples++;
		}
		break;
	case EVENT_HTTP_REQUEST:
		if (ev->ts != LOG_USEC_NONE) {
			if (b->req_first == LOG_USEC_NONE)
				b->req_first = ev->ts;
			b->req_last = ev->ts;
			b->nreq++;
		}
		break;
	default:
		break;
	}
}

void holds_build(struct hold_set *hs, const struct timeline *tl, const uint8_t *dup)
{
	if (!tl->sorted)
		BUG("holds_build needs a sorted timeline");
	holds_begin(hs);
	for (size_t i = 0; i < tl->nr; i++)
		if (!dup || !dup[i])
			holds_feed(hs, &tl->ev[i]);
	holds_finish(hs);
}

void holds_finish(struct hold_set *hs)
{
	struct hold_builder *bld = hs->b;
	if (!bld)
		BUG("holds_finish without holds_begin");
	/* what is still out at the end stays open: no end is invented */
	for (size_t j = 0; j < bld->map.nslots; j++)
		if (bld->map.slots[j].used && bld->map.slots[j].open >= 0)
			hold_at(hs, (size_t)bld->map.slots[j].open)->flags |= HOLD_F_OPEN;

	/* batch spans are holds too (the next best evidence) */
	if (hs->nbatches > 1) /* qsort(NULL, 0) is undefined behaviour */
		qsort(hs->batches, hs->nbatches, sizeof(*hs->batches), cmp_batch);
	for (size_t b = 0; b < hs->nbatches; b++) {
		const struct batch_window *w = &hs->batches[b];
		struct event fake;
		struct hold *h;
		event_init(&fake, EVENT_BATCH_START);
		fake.pid = w->pid;
		fake.src = w->src;
		fake.line = w->line;
		fake.origin = ORIGIN_BATCH;
		h = new_hold(hs, &fake, HOLD_EV_BATCH);
		h->start = w->start;
		h->end = h->end_bound = w->end;
		h->end_src = w->end_src;
		h->end_line = w->end_line;
		h->name = w->name;
		if (w->start == LOG_USEC_NONE)
			h->flags |= HOLD_F_NO_START;
		else if (w->end == LOG_USEC_NONE)
			h->flags |= HOLD_F_OPEN;
		else
			h->dur = w->end - w->start;
	}

	sort_holds(hs);
	for (size_t j = 0; j < hs->nr; j++) {
		const struct hold *h = hold_at(hs, j);
		if (hold_complete(h))
			hs->complete[h->evidence]++;
		if (h->evidence != HOLD_EV_POOL_DEBUG)
			continue;
		if (h->flags & HOLD_F_OPEN)
			hs->open_at_end++;
		if (h->flags & HOLD_F_NO_START)
			hs->no_start++;
		if (h->flags & HOLD_F_LOST)
			hs->lost++;
		if (h->flags & HOLD_F_CLOSED_OUT)
			hs->closed_out++;
		if (h->flags & HOLD_F_CARRIED)
			hs->carried++;
	}

	/*
	 * Little's law, L = lambda * W, for a pool in steady state: L is the
	 * mean number checked out, lambda the checkout rate, so the mean hold
	 * is W = L / lambda.  L comes from the pool-stat samples (an average
	 * of point samples; samples taken around batches bias it upwards),
	 * lambda from the counted checkouts when the debug log has them, else
	 * from the request rate (one checkout per request; batch checkouts
	 * are missed, so W is an overestimate).
	 */
	if (hs->little_samples) {
		hs->little_mean_out = bld->sum_out / (double)hs->little_samples;
		if (hs->checkouts > 1 && bld->pool_last > bld->pool_first) {
			hs->little_rate = (double)(hs->checkouts - 1) /
					  ((double)(bld->pool_last - bld->pool_first) / 1e6);
			hs->little_rate_from = "pool_debug";
		} else if (bld->nreq > 1 && bld->req_last > bld->req_first) {
			hs->little_rate = (double)(bld->nreq - 1) / ((double)(bld->req_last - bld->req_first) / 1e6);
			hs->little_rate_from = "http_requests";
		}
		if (hs->little_rate > 0)
			hs->little_mean_hold = (int64_t)(hs->little_mean_out / hs->little_rate * 1e6);
	}

	hs->best = HOLD_EV_NONE;
	for (int e = HOLD_EV__COUNT - 1; e > HOLD_EV_LITTLE; e--)
		if (hs->complete[e]) {
			hs->best = (enum hold_evidence)e;
			break;
		}
	if (hs->best == HOLD_EV_NONE && hs->little_mean_hold != EVENT_NO_DURATION)
		hs->best = HOLD_EV_LITTLE;
	builder_free(bld);
	hs->b = NULL;
}
