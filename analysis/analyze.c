#include "analysis/analyze.h"
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "core/extsort.h"
#include "core/numparse.h"
#include "core/recspill.h"
#include "core/stats.h"
#include "core/banned.h"

/* ---- small pieces ------------------------------------------------------ */

int pool_config_parse(struct pool_config *c, const char *s)
{
	char buf[64];
	char *parts[3] = { NULL, NULL, NULL };
	size_t n = 0, len = strlen(s);
	int64_t size, overflow;
	if (len >= sizeof(buf))
		return error("bad pool settings '%s' (want SIZE/OVERFLOW/TIMEOUT, like 20/30/45)", s);
	memcpy(buf, s, len + 1);
	parts[n++] = buf;
	for (char *p = buf; *p; p++)
		if (*p == '/') {
			if (n == 3)
				return error("bad pool settings '%s' (want SIZE/OVERFLOW/TIMEOUT, like 20/30/45)", s);
			*p = '\0';
			parts[n++] = p + 1;
		}
	if (n < 2 || parse_i64(parts[0], &size) < 0 || size < 0 || size > 100000 ||
	    parse_i64(parts[1], &overflow) < 0 || overflow < -1 || overflow > 100000)
		return error("bad pool settings '%s' (want SIZE/OVERFLOW/TIMEOUT, like 20/30/45)", s);
	c->pool_size = (int32_t)size;
	c->max_overflow = (int32_t)overflow;
	c->timeout_usec = -1;
	if (n == 3) {
		double t;
		if (parse_double(parts[2], &t) < 0 || !(t >= 0) || t > 86400)
			return error("bad pool timeout '%s' in '%s' (seconds, like 30 or 2.5)", parts[2], s);
		c->timeout_usec = (int64_t)llround(t * 1e6);
	}
	c->from = "option";
	return 0;
}

int32_t pool_config_capacity(const struct pool_config *c)
{
	if (c->pool_size < 0 || c->max_overflow == INT32_MIN || c->max_overflow < 0)
		return -1;
	return c->pool_size + c->max_overflow;
}

static const char *const level_names[LEVEL__COUNT] = { "unknown", "healthy", "warning", "exhausted" };

const char *pool_level_name(enum pool_level l)
{
	return (unsigned)l < LEVEL__COUNT ? level_names[l] : "unknown";
}

void analysis_opts_init(struct analysis_opts *o)
{
	struct pool_config none = POOL_CONFIG_INIT;
	memset(o, 0, sizeof(*o));
	o->pool = none;
	o->bucket_usec = 60 * USEC_PER_SEC;
	o->warn_pct = 80;
	o->incident_gap_usec = 120 * USEC_PER_SEC;
	o->match_tail_usec = 250 * 1000;
	o->max_evidence = 5;
	o->max_endpoints = 20;
	o->sample_cap = ANALYSIS_SAMPLE_CAP;
}

const char *analysis_src_name(const struct analysis *a, uint32_t src)
{
	return src < a->tl->nsrc ? a->tl->src[src].path : "?";
}

/*
 * Sorting samples is most of the analysis' own time (a 1 GB log set has
 * millions of latencies, sorted overall, per step, per endpoint and per
 * batch part).  An LSD radix sort on the bits (sign flipped so negatives
 * order first), 16 bits a pass, skipping passes where every value shares
 * the digit, beats qsort's callback per comparison several times over.
 * The sample is then marked sorted, so core/stats.h does not sort again.
 */
static void sample_sort_fast(struct sample *s)
{
	uint64_t *a, *b, *tmp;
	size_t n = s->nr, *count;
	if (s->sorted || n < 2 || sample_is_hist(s))
		return;
	if (n >= 64 && n < 8192) {
		(void)sample_percentile(s, 50); /* qsort: the radix passes cost more */
		return;
	}
	if (n < 64) {
		for (size_t i = 1; i < n; i++) {
			int64_t v = s->v[i];
			size_t j = i;
			for (; j > 0 && s->v[j - 1] > v; j--)
				s->v[j] = s->v[j - 1];
			s->v[j] = v;
		}
		s->sorted = 1;
		return;
	}
	a = (uint64_t *)s->v;
	b = xmalloc(n * sizeof(*b));
	count = xmalloc((65536 + 1) * sizeof(*count));
	for (size_t i = 0; i < n; i++)
		a[i] ^= UINT64_C(1) << 63;
	for (int shift = 0; shift < 64; shift += 16) {
		memset(count, 0, (65536 + 1) * sizeof(*count));
		for (size_t i = 0; i < n; i++)
			count[((a[i] >> shift) & 0xffff) + 1]++;
		if (count[((a[0] >> shift) & 0xffff) + 1] == n)
			continue; /* every value has this digit */
		for (size_t d = 1; d <= 65536; d++)
			count[d] += count[d - 1];
		for (size_t i = 0; i < n; i++)
			b[count[(a[i] >> shift) & 0xffff]++] = a[i];
		tmp = a;
		a = b;
		b = tmp;
	}
	for (size_t i = 0; i < n; i++)
		a[i] ^= UINT64_C(1) << 63;
	if (a != (uint64_t *)s->v) {
		memcpy(s->v, a, n * sizeof(*a));
		b = a;
	}
	free(b);
	free(count);
	s->sorted = 1;
}

/* A sample with the run's cap (docs/analysis.md "Percentiles"). */
static struct sample capped(const struct analysis *a)
{
	struct sample s;
	sample_init_capped(&s, a->opts.sample_cap);
	return s;
}

/* One of a family of n samples alive together (the endpoints): the cap is
 * shared, so the family keeps at most cap exact values however many
 * endpoints there are, and no member less than a histogram's worth. */
static struct sample capped_share(const struct analysis *a, size_t n)
{
	struct sample s;
	size_t cap = a->opts.sample_cap;
	if (cap && n > 1) {
		cap /= n;
		if (cap < ANALYSIS_SAMPLE_SHARE_MIN)
			cap = ANALYSIS_SAMPLE_SHARE_MIN;
	}
	sample_init_capped(&s, cap);
	return s;
}

/* Ready a sample for its percentiles, counting it if they are estimates
 * (the JSON's "percentile_method" says so then). */
static void sample_ready(struct analysis *a, struct sample *s)
{
	if (sample_is_hist(s))
		a->approx_dists++;
	sample_sort_fast(s);
}

static void dist_from(struct analysis *a, struct analysis_dist *d, struct sample *s)
{
	memset(d, 0, sizeof(*d));
	sample_ready(a, s);
	d->count = s->nr;
	if (!s->nr)
		return;
	d->p50 = sample_percentile(s, 50);
	d->p95 = sample_percentile(s, 95);
	d->p99 = sample_percentile(s, 99);
	d->max = (double)sample_max(s);
	d->min = (double)sample_min(s);
	d->mean = sample_mean(s);
}

/* "Nice" bucket widths for auto mode. */
static int64_t auto_bucket(log_usec span)
{
	static const int64_t nice[] = { 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600,
					7200, 21600, 43200, 86400 };
	for (size_t i = 0; i < sizeof(nice) / sizeof(nice[0]); i++)
		if (span / (nice[i] * USEC_PER_SEC) <= 150)
			return nice[i] * USEC_PER_SEC;
	return 86400 * USEC_PER_SEC;
}

#define MAX_BUCKETS 200000

static size_t bucket_of(const struct analysis *a, log_usec t)
{
	if (t < a->buckets[0].start)
		return 0;
	size_t b = (size_t)((t - a->buckets[0].start) / a->bucket_usec);
	return b < a->nbuckets ? b : a->nbuckets - 1;
}

/* ---- endpoints -------------------------------------------------------- */

static bool id_segment(const char *s, size_t n)
{
	size_t digits = 0, hex = 0;
	if (!n)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c >= '0' && c <= '9')
			digits++;
		else if ((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == '-')
			hex++;
		else
			return false;
	}
	/* all digits (ids), or a long hex/uuid token */
	return digits == n || (n >= 16 && digits > 0);
}

/* "/api/v1/vitals/123?x=1" -> "/api/v1/vitals/{id}" */
static const char *normalize_path(struct strtab *names, const char *path, struct strbuf *tmp)
{
	const char *p = path, *end;
	strbuf_reset(tmp);
	if (!path)
		return strtab_intern(names, "?", 1);
	end = path + strcspn(path, "?#");
	while (p < end) {
		const char *seg;
		size_t n;
		if (*p == '/') {
			strbuf_addch(tmp, '/');
			p++;
			continue;
		}
		seg = p;
		while (p < end && *p != '/')
			p++;
		n = (size_t)(p - seg);
		if (id_segment(seg, n))
			strbuf_addstr(tmp, "{id}");
		else
			strbuf_add(tmp, seg, n);
		if (tmp->len > 200)
			break;
	}
	return strtab_intern(names, tmp->buf, tmp->len);
}

struct req {
	log_usec ts;
	int64_t dur;     /* usec, or EVENT_NO_DURATION */
	int32_t status;
	int32_t ep;
	uint32_t src;
};

/* ---- the streaming state ------------------------------------------------ */

struct cfg_tally {
	int32_t size, overflow;
	int64_t timeout;
	size_t n;
};

/* A pool_connect/pool_close: opens or closes a connection of a pool. */
struct pool_op {
	log_usec ts;
	uint64_t seq;    /* event number, for the order against pool stats */
	int32_t pid;
	uint32_t scope;  /* src when pid is 0, else UINT32_MAX */
	uint8_t pool;
	int8_t dopen;
};

/* The latest pool_stats pool_size of a process (pid 0: any process). */
struct pid_size {
	int32_t pid;
	int32_t size;
	uint64_t seq;
};

struct pid_count {
	int32_t pid;
	size_t n;
};

/* A step with failure lines (pool timeout, 5xx, too many clients): the first
 * and last and the first few refs, for the incidents. */
struct bad_step {
	size_t bucket;
	log_usec first, last;
	size_t nrefs;
	struct analysis_ref refs[INCIDENT_MAX_REFS];
};

/*
 * What analysis_feed() keeps between events.  Everything here is bounded
 * by the run's duration (steps) and its processes, pools and connections,
 * except what is listed as NEEDSWORK in docs/analysis.md (requests, holds,
 * connect/close lines, failure times).
 */
struct analysis_state {
	struct dup_window dups;
	uint64_t seq;              /* events fed (duplicates excluded) */
	log_usec last_ts;          /* order check */
	log_usec ev_first, ev_last;/* timed events, to check the span given */
	struct cfg_tally cfg[8];
	size_t ncfg;
	int32_t stats_pool_size;
	int64_t slow_max;
	struct strbuf slowest;     /* text of the slowest statement */
	bool slowest_null;
	struct strbuf tmp;
	size_t status_alloc, ep_alloc;
	struct recspill reqs;      /* struct req, in feed order (to disk past opts.req_memory) */
	bool *coarse;              /* per input, set by analysis_finish() */
	struct sample pg_sess, pg_slow, pg_lock;
	/* coarse inputs: sub-second parts of request times per input */
	uint32_t *bins;            /* nsrc * 1000 */
	size_t *bins_tot;
	/* pool_sweep inputs */
	struct pool_op *ops;
	size_t nops, ops_alloc;
	struct pid_size size_any;  /* pool_stats without a pid */
	struct pid_size *sizes;    /* with a pid */
	size_t nsizes, sizes_alloc;
	struct pid_count *tmo_pid; /* pool timeouts per pid */
	size_t ntmo_pid, tmo_pid_alloc;
	/* pool-stat peaks per step, used when there is no pool debug log */
	int32_t *st_out, *st_ov;
	int32_t st_peak;
	log_usec st_peak_at;
	int32_t st_peak_ov;
	/* incidents and batch effects */
	struct bad_step *bad;
	size_t nbad, bad_alloc;
	log_usec *tmo_ts, *e5xx_ts;  /* times of timeouts and 5xx, ascending */
	size_t ntmo_ts, tmo_alloc, n5xx_ts, e5xx_alloc;
};

/* ---- pool occupancy sweep -------------------------------------------- */

/*
 * One change of a pool's state, 16 bytes: two per hold and one per pool
 * connect/close line, made as they come due (struct delta_gen).  sd packs
 * the pool index (scope, 28 bits) with dout and dopen (-1, 0, +1, 2 bits
 * each, stored plus one).
 */
struct delta {
	log_usec ts;
	uint32_t seq;    /* order of creation: the last tie-break, so the order is total */
	uint32_t sd;     /* scope << 4 | (dout + 1) << 2 | (dopen + 1) */
};
#define DELTA_MAX_SCOPE ((UINT32_C(1) << 28) - 1)

static struct delta delta_make(log_usec ts, uint32_t scope, int dout, int dopen, uint32_t seq)
{
	if (scope > DELTA_MAX_SCOPE || dout < -1 || dout > 1 || dopen < -1 || dopen > 1)
		BUG("delta out of range: pool %u, %d out, %d open", scope, dout, dopen);
	return (struct delta){ ts, seq, scope << 4 | (uint32_t)(dout + 1) << 2 | (uint32_t)(dopen + 1) };
}

static uint32_t delta_scope(const struct delta *d)
{
	return d->sd >> 4;
}

static int delta_dout(const struct delta *d)
{
	return (int)(d->sd >> 2 & 3) - 1;
}

static int delta_dopen(const struct delta *d)
{
	return (int)(d->sd & 3) - 1;
}

struct pool_key {
	int32_t pid;
	uint32_t scope_src;
	uint8_t pool;
	int32_t size;    /* pool_size seen in stats for this pool, -1 */
};

/* The index of a pool in keys[0..n), or n if it is not there. */
static uint32_t pool_find(const struct pool_key *keys, size_t n, int32_t pid, uint32_t scope_src, uint8_t pool)
{
	size_t i = 0;
	while (i < n && !(keys[i].pid == pid && keys[i].scope_src == scope_src && keys[i].pool == pool))
		i++;
	return (uint32_t)i;
}

/* The index of a pool, added to keys if new. */
static uint32_t pool_index(struct pool_key **keys, size_t *n, size_t *alloc, int32_t pid,
			   uint32_t scope_src, uint8_t pool)
{
	uint32_t i = pool_find(*keys, *n, pid, scope_src, pool);
	if (i < *n)
		return i;
	ALLOC_GROW(*keys, *n + 1, *alloc);
	(*keys)[*n].pid = pid;
	(*keys)[*n].scope_src = scope_src;
	(*keys)[*n].pool = pool;
	(*keys)[*n].size = -1;
	return (uint32_t)(*n)++;
}

static int cmp_delta(const struct delta *x, const struct delta *y)
{
	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	/* at one instant, returns before checkouts: a handover is not a peak */
	if (delta_dout(x) != delta_dout(y))
		return delta_dout(x) < delta_dout(y) ? -1 : 1;
	return (x->seq > y->seq) - (x->seq < y->seq);
}

static int cmp_delta_out_first(const struct delta *x, const struct delta *y)
{
	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	if (delta_dout(x) != delta_dout(y))
		return delta_dout(x) > delta_dout(y) ? -1 : 1;
	if (delta_dopen(x) != delta_dopen(y))
		return delta_dopen(x) > delta_dopen(y) ? -1 : 1;
	return (x->seq > y->seq) - (x->seq < y->seq);
}

typedef int delta_cmp_fn(const struct delta *, const struct delta *);

/*
 * The deltas of the pool-debug holds and the pool connect/close lines, in
 * one of the two orders above, made as they come due rather than gathered
 * and sorted: the holds are sorted by start (a hold with no start by its
 * end), and none of a hold's deltas lies before that key; the connect and
 * close lines are in time order.  A delta is made when its hold (or line)
 * is reached and waits in a heap until everything at its instant has been
 * reached, so the heap holds what is out at once, not the run.  seq
 * numbers the hold deltas in the holds' order, then the lines: the order
 * is total, so it is the order a sort of all of them would give.
 */
struct delta_gen {
	struct analysis *a;
	delta_cmp_fn *cmp;
	const struct pool_key *keys; /* every pool already named */
	size_t nkeys;
	size_t hold;          /* next hold to reach */
	size_t op;            /* next connect/close line to reach */
	uint32_t seq, op_seq; /* next hold delta's seq, first line's */
	struct delta *heap;
	size_t nheap, alloc;
};

static void gen_push(struct delta_gen *g, struct delta d)
{
	size_t i = g->nheap++;
	ALLOC_GROW(g->heap, g->nheap, g->alloc);
	while (i > 0 && g->cmp(&d, &g->heap[(i - 1) / 2]) < 0) {
		g->heap[i] = g->heap[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	g->heap[i] = d;
}

static struct delta gen_pop(struct delta_gen *g)
{
	struct delta top = g->heap[0], last = g->heap[--g->nheap];
	size_t i = 0, n = g->nheap;
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= n)
			break;
		if (c + 1 < n && g->cmp(&g->heap[c + 1], &g->heap[c]) < 0)
			c++;
		if (g->cmp(&g->heap[c], &last) >= 0)
			break;
		g->heap[i] = g->heap[c];
		i = c;
	}
	if (n)
		g->heap[i] = last;
	return top;
}

static void gen_start(struct delta_gen *g, struct analysis *a, delta_cmp_fn *cmp, const struct pool_key *keys,
		      size_t nkeys, uint32_t op_seq)
{
	*g = (struct delta_gen){ .a = a, .cmp = cmp, .keys = keys, .nkeys = nkeys, .op_seq = op_seq };
}

/* The next delta in order; false at the end. */
static bool gen_next(struct delta_gen *g, struct delta *out)
{
	const struct analysis_state *st = g->a->st;
	const struct hold_set *hs = &g->a->holds;
	for (;;) {
		const struct hold *h = NULL;
		log_usec key = LOG_USEC_NONE;
		bool any = false;
		/* the next pool-debug hold, and the earlier of its key and the
		 * next line's time: nothing not yet reached lies before it */
		while (g->hold < hs->nr && (h = hold_at(hs, g->hold))->evidence != HOLD_EV_POOL_DEBUG) {
			g->hold++;
			h = NULL;
		}
		if (h) {
			key = hold_key(h);
			any = true;
		}
		if (g->op < st->nops && (!any || st->ops[g->op].ts < key)) {
			key = st->ops[g->op].ts;
			any = true;
			h = NULL;
		}
		if (g->nheap && (!any || g->heap[0].ts < key)) {
			*out = gen_pop(g);
			return true;
		}
		if (!any)
			return false;
		if (h) {
			uint32_t k = pool_find(g->keys, g->nkeys, h->pid, h->scope_src, h->pool);
			if (h->start != LOG_USEC_NONE)
				gen_push(g, delta_make(h->start, k, 1, 0, g->seq++));
			if (h->end_bound != LOG_USEC_NONE)
				gen_push(g, delta_make(h->end_bound, k, -1, 0, g->seq++));
			g->hold++;
		} else {
			const struct pool_op *op = &st->ops[g->op];
			uint32_t k = pool_find(g->keys, g->nkeys, op->pid, op->scope, op->pool);
			gen_push(g, delta_make(op->ts, k, 0, op->dopen, g->op_seq + (uint32_t)g->op));
			g->op++;
		}
	}
}

/* The pool_size the pool-stat lines gave a pool (-1 none): the latest sample
 * of its process or without a process, taken after the pool was first seen
 * (created_seq; 0 for pools with holds, which exist from the start). */
static int32_t pool_stats_size(const struct analysis_state *st, int32_t pid, uint64_t created_seq)
{
	const struct pid_size *best = st->size_any.seq ? &st->size_any : NULL;
	if (pid)
		for (size_t i = 0; i < st->nsizes; i++)
			if (st->sizes[i].pid == pid && (!best || st->sizes[i].seq > best->seq))
				best = &st->sizes[i];
	return best && best->seq > created_seq ? best->size : -1;
}

static void pool_sweep(struct analysis *a)
{
	const struct analysis_state *st = a->st;
	struct pool_key *keys = NULL;
	size_t nkeys = 0, kalloc = 0, nhold_deltas = 0, nhold_keys;
	struct delta_gen g;
	struct delta d;
	int64_t *out, *open, *min_out, *min_open;
	uint64_t *created;
	bool any_debug = false;
	struct pool_part *parts;

	/* the pools in the order the holds, then the lines, first name them */
	for (size_t i = 0; i < a->holds.nr; i++) {
		const struct hold *h = hold_at(&a->holds, i);
		if (h->evidence != HOLD_EV_POOL_DEBUG)
			continue;
		any_debug = true;
		nhold_deltas += (h->start != LOG_USEC_NONE) + (h->end_bound != LOG_USEC_NONE);
		pool_index(&keys, &nkeys, &kalloc, h->pid, h->scope_src, h->pool);
	}
	if (!any_debug)
		return;
	if (nhold_deltas + st->nops > UINT32_MAX)
		BUG("%zu pool changes: more than seq counts", nhold_deltas + st->nops);
	nhold_keys = nkeys;
	created = xcalloc(nkeys + st->nops + 1, sizeof(*created));
	for (size_t i = 0; i < st->nops; i++) {
		const struct pool_op *op = &st->ops[i];
		uint32_t k = pool_index(&keys, &nkeys, &kalloc, op->pid, op->scope, op->pool);
		if (k >= nhold_keys && !created[k])
			created[k] = op->seq;
	}
	/* which pool a sample describes is not known when the sample has no
	 * pid; a single pool is the common case */
	for (size_t k = 0; k < nkeys; k++)
		keys[k].size = pool_stats_size(st, keys[k].pid, created[k]);
	free(created);
	out = xcalloc(nkeys, sizeof(*out));
	open = xcalloc(nkeys, sizeof(*open));
	min_out = xcalloc(nkeys, sizeof(*min_out));
	min_open = xcalloc(nkeys, sizeof(*min_open));
	/* Pass 1, checkouts first at one instant (so a 0 ms hold never dips
	 * below zero, which would read as "already out at the start"): a log
	 * that begins mid-run shows returns of checkouts (and closes of
	 * connections) it never saw; the deepest dip below zero is what was
	 * already out when it began. */
	gen_start(&g, a, cmp_delta_out_first, keys, nkeys, (uint32_t)nhold_deltas);
	while (gen_next(&g, &d)) {
		uint32_t k = delta_scope(&d);
		out[k] += delta_dout(&d);
		open[k] += delta_dopen(&d);
		if (out[k] < min_out[k])
			min_out[k] = out[k];
		if (open[k] < min_open[k])
			min_open[k] = open[k];
	}
	free(g.heap);
	for (size_t k = 0; k < nkeys; k++) {
		out[k] = -min_out[k];
		open[k] = -min_open[k];
	}
	parts = xcalloc(nkeys, sizeof(*parts));
	for (size_t k = 0; k < nkeys; k++) {
		parts[k].pid = keys[k].pid;
		parts[k].src = keys[k].scope_src == UINT32_MAX ? 0 : keys[k].scope_src;
		parts[k].pool = keys[k].pool;
		parts[k].peak_out = (int32_t)out[k];
		parts[k].peak_overflow = INT32_MIN;
	}
	/* pool timeouts by pid: to the first pool of that process (all of
	 * them to the one pool when there is one) */
	if (nkeys == 1) {
		parts[0].timeouts = a->timeouts;
	} else {
		for (size_t i = 0; i < st->ntmo_pid; i++)
			for (size_t k = 0; k < nkeys; k++)
				if (keys[k].pid == st->tmo_pid[i].pid) {
					parts[k].timeouts += st->tmo_pid[i].n;
					break;
				}
	}
	/* pass 2, returns first at one instant: a handover (one returned,
	 * another checked out in the same ms) is not a peak */
	a->peak_out = 0;
	gen_start(&g, a, cmp_delta, keys, nkeys, (uint32_t)nhold_deltas);
	{
		size_t last_b = SIZE_MAX;
		int32_t now = 0;            /* max over pools of what is out right now */
		int32_t now_ov = INT32_MIN; /* max over pools of overflow() right now */
		for (;;) {
			bool more = gen_next(&g, &d);
			size_t bi = more ? bucket_of(a, d.ts) : a->nbuckets - 1;
			uint32_t k;
			/* buckets without a change hold what was out when they began */
			for (size_t b = last_b == SIZE_MAX ? 0 : last_b + 1; b <= bi && b < a->nbuckets; b++) {
				if (now > a->buckets[b].peak_out)
					a->buckets[b].peak_out = now;
				if (now_ov > a->buckets[b].peak_overflow)
					a->buckets[b].peak_overflow = now_ov;
			}
			last_b = bi;
			if (!more)
				break;
			k = delta_scope(&d);
			if (delta_dout(&d) > 0) { /* a checkout */
				parts[k].checkouts++;
				a->buckets[bi].checkouts++;
			}
			out[k] += delta_dout(&d);
			open[k] += delta_dopen(&d);
			now = 0;
			now_ov = INT32_MIN;
			for (size_t j = 0; j < nkeys; j++) {
				int32_t size = keys[j].size >= 0 ? keys[j].size : a->config.pool_size;
				if (out[j] > now)
					now = (int32_t)out[j];
				/* SQLAlchemy's overflow(): open connections - pool_size */
				if (size >= 0 && open[j] - size > now_ov)
					now_ov = (int32_t)(open[j] - size);
			}
			if (out[k] > parts[k].peak_out)
				parts[k].peak_out = (int32_t)out[k];
			{
				int32_t size = keys[k].size >= 0 ? keys[k].size : a->config.pool_size;
				if (size >= 0 && open[k] - size > parts[k].peak_overflow)
					parts[k].peak_overflow = (int32_t)(open[k] - size);
			}
			if (now > a->buckets[bi].peak_out)
				a->buckets[bi].peak_out = now;
			if (now_ov > a->buckets[bi].peak_overflow)
				a->buckets[bi].peak_overflow = now_ov;
			if (out[k] > a->peak_out) {
				a->peak_out = (int32_t)out[k];
				a->peak_at = d.ts;
			}
			if (now_ov > a->peak_overflow)
				a->peak_overflow = now_ov;
		}
	}
	free(g.heap);
	a->peak_from = "pool_debug";
	a->pools = nkeys;
	a->pool_parts = parts;
	a->npool_parts = nkeys;
	free(out);
	free(open);
	free(min_out);
	free(min_open);
	free(keys);
}

/* ---- origin split: match holds to requests ----------------------------- */

static int cmp_win(const void *x, const void *y)
{
	const log_usec *a = x, *b = y;
	if (a[0] != b[0])
		return a[0] < b[0] ? -1 : 1;
	return (a[1] > b[1]) - (a[1] < b[1]);
}

/* The union of the batch windows as sorted, disjoint [start, end] pairs,
 * so "did a batch run at t" is a binary search. */
static void build_windows(struct analysis *a)
{
	const struct hold_set *hs = &a->holds;
	size_t n = 0, m = 0;
	a->win = xmalloc((hs->nbatches ? hs->nbatches : 1) * 2 * sizeof(*a->win));
	for (size_t i = 0; i < hs->nbatches; i++) {
		const struct batch_window *w = &hs->batches[i];
		if (w->start == LOG_USEC_NONE)
			continue;
		a->win[2 * n] = w->start;
		a->win[2 * n + 1] = batch_window_end(w, a->end);
		n++;
	}
	if (n > 1) /* qsort(NULL, 0) is undefined */
		qsort(a->win, n, 2 * sizeof(*a->win), cmp_win);
	for (size_t i = 0; i < n; i++) {
		if (m && a->win[2 * i] <= a->win[2 * (m - 1) + 1]) {
			if (a->win[2 * i + 1] > a->win[2 * (m - 1) + 1])
				a->win[2 * (m - 1) + 1] = a->win[2 * i + 1];
			continue;
		}
		a->win[2 * m] = a->win[2 * i];
		a->win[2 * m + 1] = a->win[2 * i + 1];
		m++;
	}
	a->nwin = m;
}

static bool in_window(const struct analysis *a, log_usec t)
{
	size_t lo = 0, hi = a->nwin;
	/* the last window starting at or before t */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (a->win[2 * mid] <= t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo > 0 && t <= a->win[2 * (lo - 1) + 1];
}

struct hold_ref {
	log_usec end, start;
	size_t idx;
};

static int cmp_hold_ref(const void *a, const void *b)
{
	const struct hold_ref *x = a, *y = b;
	if (x->end != y->end)
		return x->end < y->end ? -1 : 1;
	return (x->idx > y->idx) - (x->idx < y->idx);
}

/* The holds requests may take, in order of end: a window that slides
 * forward over the sorted ends (positions base .. base + n of the sort),
 * each with whether it is taken. */
struct ref_window {
	struct extsort ends;
	struct hold_ref *v;
	uint8_t *taken;
	size_t base, n, alloc, talloc;
};

/* Position j (j >= base) of the sorted ends, or NULL past the last. */
static struct hold_ref *ref_get(struct ref_window *w, size_t j)
{
	while (j >= w->base + w->n) {
		const struct hold_ref *r = extsort_next(&w->ends);
		if (!r)
			return NULL;
		ALLOC_GROW(w->v, w->n + 1, w->alloc);
		ALLOC_GROW(w->taken, w->n + 1, w->talloc);
		w->v[w->n] = *r;
		w->taken[w->n++] = 0;
	}
	return &w->v[j - w->base];
}

/* Forgets the positions before lo: no request can take them any more. */
static void ref_forget(struct ref_window *w, size_t lo)
{
	size_t drop = lo - w->base;
	if (drop < 4096 || drop * 2 < w->n)
		return;
	memmove(w->v, w->v + drop, (w->n - drop) * sizeof(*w->v));
	memmove(w->taken, w->taken + drop, w->n - drop);
	w->n -= drop;
	w->base = lo;
}

/*
 * Attribute pool-debug holds to requests.  The SQLAlchemy debug log does not
 * name the thread, so a hold is matched to an access-log line by time: the
 * request's Session is returned when the endpoint (or its yield dependency)
 * finishes, which is at or just after the response (uvicorn logs the access
 * line when the response starts; FastAPI runs yield teardown after sending
 * before 0.106 and from 0.118).  For each request (in time order, 5xx left
 * out: a timed-out checkout holds nothing) the unmatched hold that began
 * before the request's reference time and ended closest after it, within
 * match_tail, is taken.  Requests with a latency use [start, start + dur] as
 * the span the hold must fit in.  The holds are walked in order of end
 * (core/extsort), through a window as wide as one request's reach.
 * Returns -1 if a temporary file failed (error() said so).
 */
static int match_holds(struct analysis *a, struct recspill *reqs)
{
	struct hold_set *hs = &a->holds;
	struct ref_window w;
	size_t lo = 0;
	int ret = 0;
	const int64_t slack = 5000; /* clock rounding between two logs (ms) */

	if (hold_set_failed(hs))
		return -1; /* said once; another temporary file would say it again */
	if (!reqs->nr)
		return 0;
	memset(&w, 0, sizeof(w));
	extsort_init(&w.ends, sizeof(struct hold_ref), cmp_hold_ref, hold_sort_memory(a->opts.hold_memory));
	for (size_t i = 0; i < hs->nr; i++) {
		const struct hold *h = hold_at(hs, i);
		if (h->evidence == HOLD_EV_POOL_DEBUG && h->start != LOG_USEC_NONE && h->end != LOG_USEC_NONE) {
			struct hold_ref r = { h->end, h->start, i };
			extsort_add(&w.ends, &r);
		}
	}
	if (!w.ends.nr)
		goto out;
	if (extsort_finish(&w.ends) < 0 || recspill_rewind(reqs) < 0) {
		ret = -1;
		goto out;
	}
	for (const struct req *q; (q = recspill_next(reqs));) {
		log_usec anchor, begin, hi;
		size_t best = SIZE_MAX;
		const struct hold_ref *r;
		struct hold *h;
		if (q->ts == LOG_USEC_NONE || q->status >= 500 || (q->src < a->tl->nsrc && a->st->coarse[q->src]))
			continue;
		if (q->dur != EVENT_NO_DURATION && q->dur >= 0) {
			begin = q->ts - slack;
			anchor = q->ts + q->dur;
		} else {
			begin = LOG_USEC_NONE;
			anchor = q->ts;
		}
		hi = anchor + a->opts.match_tail_usec;
		/* both kinds of request have ts - slack as the earliest end, and
		 * requests come in ts order, so lo only moves forward */
		while ((r = ref_get(&w, lo)) && r->end < q->ts - slack)
			lo++;
		ref_forget(&w, lo);
		for (size_t j = lo; (r = ref_get(&w, j)) && r->end <= hi; j++) {
			if (w.taken[j - w.base])
				continue;
			if (begin != LOG_USEC_NONE) {
				/* the hold lies inside the request: the end closest
				 * to the response wins */
				int64_t dist = r->end > anchor ? r->end - anchor : anchor - r->end;
				int64_t bd;
				if (r->start < begin)
					continue;
				if (best != SIZE_MAX) {
					const struct hold_ref *b = &w.v[best - w.base];
					bd = b->end > anchor ? b->end - anchor : anchor - b->end;
					if (bd <= dist)
						continue;
				}
				best = j;
			} else {
				/* no latency: the first return at or after the access
				 * line of a checkout made before it */
				if (r->end < anchor - slack || r->start > anchor + slack)
					continue;
				best = j;
				break;
			}
		}
		if (best == SIZE_MAX)
			continue;
		w.taken[best - w.base] = 1;
		h = hold_at(hs, w.v[best - w.base].idx);
		h->origin = ORIGIN_API;
		h->endpoint = q->ep;
		a->holds_matched++;
	}
	if (reqs->failed || w.ends.failed)
		ret = -1;
out:
	extsort_release(&w.ends);
	free(w.v);
	free(w.taken);
	return ret;
}


static int64_t hold_len(const struct hold *h, log_usec span_end)
{
	if (hold_complete(h))
		return h->dur;
	if (h->start != LOG_USEC_NONE)
		return (h->end_bound != LOG_USEC_NONE ? h->end_bound : span_end) - h->start;
	return 0;
}

#define BURST_BEFORE (50 * 1000)
#define BURST_AFTER (250 * 1000)
#define BURST_MIN_HOLD (500 * 1000)
#define CHAIN_GAP (3 * 1000)

struct burst_ref {
	int64_t len;
	size_t idx;
};

static int cmp_burst(const void *x, const void *y)
{
	const struct burst_ref *a = x, *b = y;
	if (a->len != b->len)
		return a->len > b->len ? -1 : 1;
	return (a->idx > b->idx) - (a->idx < b->idx);
}

/*
 * Which pool-debug holds were batch work.  The pool debug log names no
 * thread, so this is read from the timing the batch lines give (documented
 * in docs/analysis.md, measured against the captured truth):
 *   burst  a batch's workers take their connections together right after
 *          the batch starts: of the holds beginning within 50 ms before to
 *          250 ms after the start, the `workers=N` longest (N from the batch
 *          lines; without N, those lasting 0.5 s or more) are batch holds;
 *   chain  a worker that commits per group checks a connection out again
 *          within milliseconds of returning one: a checkout within 3 ms
 *          after a batch hold's return, in the same pool and while the
 *          batch runs, continues that worker.  Only for batches that
 *          committed more often than they had workers (or did not say):
 *          a worker that commits once returns its connection for good, and
 *          the checkout right after it is an API request taking it over;
 *   lead-in  a batch that fetched its work before logging its start (the
 *          end line's duration reaches back before the start line): the
 *          hold returned last before the start line, begun after the batch
 *          began, fetched it.
 * Holds already matched to an access-log line stay API.
 */
static void attribute_batches(struct analysis *a)
{
	struct hold_set *hs = &a->holds;
	size_t *stack = NULL, nstack = 0, salloc = 0;
	struct burst_ref *burst = NULL;
	size_t balloc = 0;
	for (size_t b = 0; b < hs->nbatches; b++) {
		const struct batch_window *w = &hs->batches[b];
		log_usec we = batch_window_end(w, a->end);
		size_t nb = 0, take;
		bool chain;
		if (w->start == LOG_USEC_NONE)
			continue;
		if (w->start_line != LOG_USEC_NONE && w->start_line > w->start) {
			size_t lead = SIZE_MAX;
			log_usec lead_end = LOG_USEC_NONE;
			for (size_t i = holds_lower_bound(hs, w->start); i < hs->nr; i++) {
				const struct hold *h = hold_at(hs, i);
				if (h->start == LOG_USEC_NONE || h->start > w->start_line)
					break;
				if (h->evidence != HOLD_EV_POOL_DEBUG || h->origin != ORIGIN_UNKNOWN ||
				    h->end == LOG_USEC_NONE || h->end > w->start_line)
					continue;
				if (lead == SIZE_MAX || h->end > lead_end) {
					lead = i;
					lead_end = h->end;
				}
			}
			if (lead != SIZE_MAX)
				hold_at(hs, lead)->origin = ORIGIN_BATCH;
		}
		for (size_t i = holds_lower_bound(hs, w->start - BURST_BEFORE); i < hs->nr; i++) {
			const struct hold *h = hold_at(hs, i);
			if (h->start == LOG_USEC_NONE)
				continue;
			if (h->start > w->start + BURST_AFTER)
				break;
			if (h->evidence != HOLD_EV_POOL_DEBUG || h->origin != ORIGIN_UNKNOWN)
				continue;
			ALLOC_GROW(burst, nb + 1, balloc);
			burst[nb].len = hold_len(h, a->end);
			burst[nb++].idx = i;
		}
		if (nb > 1) /* qsort(NULL, 0) is undefined */
			qsort(burst, nb, sizeof(*burst), cmp_burst);
		take = w->connections > 0 ? (size_t)w->connections : nb;
		for (size_t k = 0; k < nb && k < take; k++) {
			if (w->connections <= 0 && burst[k].len < BURST_MIN_HOLD)
				break;
			hold_at(hs, burst[k].idx)->origin = ORIGIN_BATCH;
			ALLOC_GROW(stack, nstack + 1, salloc);
			stack[nstack++] = burst[k].idx;
		}
		chain = w->commits < 0 || w->connections <= 0 || w->commits > w->connections;
		while (nstack) {
			/* a copy: the walk below reads other holds */
			const struct hold pc = *hold_at(hs, stack[--nstack]), *p = &pc;
			if (!chain || p->end == LOG_USEC_NONE || p->end > we)
				continue;
			for (size_t i = holds_lower_bound(hs, p->end); i < hs->nr; i++) {
				struct hold *h = hold_at(hs, i);
				if (h->start == LOG_USEC_NONE)
					continue;
				if (h->start > p->end + CHAIN_GAP || h->start > we)
					break;
				if (h->evidence != HOLD_EV_POOL_DEBUG || h->origin != ORIGIN_UNKNOWN ||
				    h->pid != p->pid || h->scope_src != p->scope_src || h->pool != p->pool)
					continue;
				h->origin = ORIGIN_BATCH;
				ALLOC_GROW(stack, nstack + 1, salloc);
				stack[nstack++] = i;
				break;
			}
		}
	}
	free(stack);
	free(burst);
}

/* Each hold's origin (the event's, where a parser knew it) becomes the
 * verdict, in place; matched holds get their endpoint.  Returns -1 if a
 * temporary file failed. */
static int split_origins(struct analysis *a, struct recspill *reqs)
{
	struct hold_set *hs = &a->holds;
	bool any_context = hs->nbatches > 0 || reqs->nr > 0;
	int ret = match_holds(a, reqs);
	attribute_batches(a);
	/* the rest: API work when the logs show API traffic or batch lines
	 * (whatever is not a batch), else unknown */
	for (size_t i = 0; i < hs->nr && any_context; i++) {
		struct hold *h = hold_at(hs, i);
		if (h->origin == ORIGIN_UNKNOWN && h->evidence == HOLD_EV_POOL_DEBUG)
			h->origin = ORIGIN_API;
	}
	return ret;
}

/* ---- incidents ---------------------------------------------------------- */

static bool bucket_bad(const struct analysis_bucket *b)
{
	return b->timeouts || b->http_5xx || b->pg_too_many || b->level == LEVEL_EXHAUSTED;
}

static bool event_bad(const struct event *ev)
{
	return ev->kind == EVENT_POOL_TIMEOUT || ev->kind == EVENT_PG_TOO_MANY_CLIENTS ||
	       (ev->kind == EVENT_HTTP_REQUEST && ev->u.http.status >= 500);
}

static int64_t overlap_dur(const struct hold *h, log_usec s, log_usec e)
{
	log_usec hs = h->start, he = h->end_bound != LOG_USEC_NONE ? h->end_bound : e;
	if (hs == LOG_USEC_NONE)
		return 0;
	if (hs > e || he < s)
		return -1;
	return he - hs;
}

static void find_incidents(struct analysis *a)
{
	const struct analysis_state *st = a->st;
	size_t alloc = 0;
	size_t i = 0, bad = 0;
	int64_t max_len = 0;
	size_t *unended = NULL, nunended = 0, ualloc = 0;
	for (size_t h = 0; h < a->holds.nr; h++) {
		const struct hold *hd = hold_at(&a->holds, h);
		if (hd->end_bound == LOG_USEC_NONE) {
			ALLOC_GROW(unended, nunended + 1, ualloc);
			unended[nunended++] = h;
		} else if (hd->start != LOG_USEC_NONE && hd->end_bound - hd->start > max_len) {
			max_len = hd->end_bound - hd->start;
		}
	}
	while (i < a->nbuckets) {
		struct analysis_incident *inc;
		size_t j, last;
		log_usec bs, be;
		if (!bucket_bad(&a->buckets[i])) {
			i++;
			continue;
		}
		last = i;
		for (j = i + 1; j < a->nbuckets; j++) {
			if (!bucket_bad(&a->buckets[j]))
				continue;
			/* gap between the end of the last bad bucket and this one */
			if (a->buckets[j].start - (a->buckets[last].start + a->bucket_usec) >=
			    a->opts.incident_gap_usec)
				break;
			last = j;
		}
		ALLOC_GROW(a->incidents, a->nincidents + 1, alloc);
		inc = &a->incidents[a->nincidents++];
		memset(inc, 0, sizeof(*inc));
		inc->peak_out = -1;
		bs = a->buckets[i].start;
		be = a->buckets[last].start + a->bucket_usec;
		/* a failure line's step is [start, start + width): the steps i..last
		 * hold exactly the lines in [bs, be) */
		inc->start = inc->end = LOG_USEC_NONE;
		for (size_t b = i; b <= last; b++) {
			const struct analysis_bucket *k = &a->buckets[b];
			inc->timeouts += k->timeouts;
			inc->http_errors += k->http_5xx;
			inc->too_many_clients += k->pg_too_many;
			if (k->level == LEVEL_EXHAUSTED)
				inc->exhausted_buckets++;
			if (k->peak_out > inc->peak_out)
				inc->peak_out = k->peak_out;
		}
		/* the failure lines of its steps, in time order */
		while (bad < st->nbad && st->bad[bad].bucket < i)
			bad++;
		for (; bad < st->nbad && st->bad[bad].bucket <= last; bad++) {
			const struct bad_step *k = &st->bad[bad];
			if (inc->start == LOG_USEC_NONE)
				inc->start = k->first;
			inc->end = k->last;
			for (size_t r = 0; r < k->nrefs; r++)
				if (inc->nrefs < a->opts.max_evidence && inc->nrefs < INCIDENT_MAX_REFS)
					inc->refs[inc->nrefs++] = k->refs[r];
		}
		if (inc->start == LOG_USEC_NONE) {
			/* exhaustion without a failure line: the bucket bounds */
			inc->start = bs;
			inc->end = be;
		}
		for (size_t b = 0; b < a->holds.nbatches; b++) {
			const struct batch_window *w = &a->holds.batches[b];
			log_usec ws = w->start != LOG_USEC_NONE ? w->start : a->start;
			log_usec we = batch_window_end(w, a->end);
			if (ws > inc->end || we < inc->start)
				continue;
			if (inc->nbatches < INCIDENT_MAX_BATCHES)
				inc->batch_idx[inc->nbatches] = b;
			inc->nbatches++;
		}
		/* the longest holds overlapping the incident (best evidence):
		 * holds are sorted by start, so only those starting after
		 * start - longest can overlap, plus the few with no end */
		for (size_t h = holds_lower_bound(&a->holds, inc->start - max_len), u = 0; ; ) {
			struct hold hc; /* a copy: the holders are read below */
			const struct hold *hd = &hc;
			size_t hi;
			int64_t d;
			size_t k;
			if (h < a->holds.nr && hold_key(hold_at(&a->holds, h)) <= inc->end) {
				hi = h++;
				hc = *hold_at(&a->holds, hi);
				if (hd->end_bound == LOG_USEC_NONE)
					continue; /* counted from the unended list */
			} else if (u < nunended) {
				hi = unended[u++];
				hc = *hold_at(&a->holds, hi);
				if (hd->start != LOG_USEC_NONE && hd->start > inc->end)
					continue;
			} else {
				break;
			}
			if (hd->evidence != a->holds.best)
				continue;
			d = overlap_dur(hd, inc->start, inc->end);
			if (d < 0)
				continue;
			if (hd->evidence == HOLD_EV_POOL_DEBUG && hd->start <= inc->start &&
			    (hd->end_bound == LOG_USEC_NONE || hd->end_bound > inc->start))
				inc->held_at_start++;
			for (k = inc->nholders; k > 0; k--) {
				const struct hold *o = hold_at(&a->holds, inc->holder_idx[k - 1]);
				if (overlap_dur(o, inc->start, inc->end) >= d)
					break;
				if (k < INCIDENT_MAX_HOLDERS)
					inc->holder_idx[k] = inc->holder_idx[k - 1];
			}
			if (k < INCIDENT_MAX_HOLDERS) {
				inc->holder_idx[k] = hi;
				if (inc->nholders < INCIDENT_MAX_HOLDERS)
					inc->nholders++;
			}
		}
		i = last + 1;
	}
	free(unended);
}

/* ---- per batch --------------------------------------------------------- */

static int cmp_i64p(const void *x, const void *y)
{
	int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
	return (a > b) - (a < b);
}

/*
 * For each batch window: its batch-origin pool-debug holds (those starting
 * inside it, see split_origins), the most of them out at once, and the
 * failures logged while it ran.
 */
/* How many of the ascending times v[0..n) lie in [lo, hi]. */
static size_t count_in(const log_usec *v, size_t n, log_usec lo, log_usec hi)
{
	size_t a = 0, b = n, c = 0, d = n;
	while (a < b) {
		size_t m = a + (b - a) / 2;
		if (v[m] < lo)
			a = m + 1;
		else
			b = m;
	}
	while (c < d) {
		size_t m = c + (d - c) / 2;
		if (v[m] <= hi)
			c = m + 1;
		else
			d = m;
	}
	return c > a ? c - a : 0;
}

static void batch_effects(struct analysis *a)
{
	const struct analysis_state *sta = a->st;
	const struct hold_set *hs = &a->holds;
	int64_t *edges = NULL;
	size_t edges_alloc = 0;
	a->batch_stats = xcalloc(hs->nbatches ? hs->nbatches : 1, sizeof(*a->batch_stats));
	for (size_t b = 0; b < hs->nbatches; b++) {
		const struct batch_window *w = &hs->batches[b];
		struct batch_stats *st = &a->batch_stats[b];
		log_usec ws = w->start != LOG_USEC_NONE ? w->start : a->start;
		log_usec we = batch_window_end(w, a->end);
		struct sample s = capped(a);
		size_t ne = 0;
		int32_t cur = 0;
		int64_t work_min = INT64_MAX;
		st->peak_conns = -1;
		if (ws == LOG_USEC_NONE)
			continue;
		for (size_t i = holds_lower_bound(hs, ws); i < hs->nr; i++) {
			const struct hold *h = hold_at(hs, i);
			if (h->start == LOG_USEC_NONE)
				continue;
			if (h->start > we)
				break;
			if (h->evidence != HOLD_EV_POOL_DEBUG || h->origin != ORIGIN_BATCH)
				continue;
			if (hold_complete(h)) {
				sample_add(&s, h->dur);
				if ((w->start_line == LOG_USEC_NONE || h->start >= w->start_line) && h->dur < work_min)
					work_min = h->dur;
			}
			/* +1 at start (even), -1 at end (odd): ends sort first */
			ALLOC_GROW(edges, ne + 2, edges_alloc);
			edges[ne++] = h->start * 2 + 1;
			edges[ne++] = (h->end_bound != LOG_USEC_NONE ? h->end_bound : we) * 2;
		}
		if (ne > 1) /* qsort(NULL, 0) is undefined */
			qsort(edges, ne, sizeof(*edges), cmp_i64p);
		if (ne)
			st->peak_conns = 0;
		for (size_t i = 0; i < ne; i++) {
			cur += (edges[i] & 1) ? 1 : -1;
			if (cur > st->peak_conns)
				st->peak_conns = cur;
		}
		dist_from(a, &st->hold, &s);
		st->held_min = work_min != INT64_MAX ? (double)work_min : st->hold.min;
		sample_clear(&s);
		st->timeouts = count_in(sta->tmo_ts, sta->ntmo_ts, ws, we);
		st->http_5xx = count_in(sta->e5xx_ts, sta->n5xx_ts, ws, we);
	}
	free(edges);
	/* timeouts inside any window (windows may overlap: count each once) */
	for (size_t e = 0; e < sta->ntmo_ts; e++)
		if (in_window(a, sta->tmo_ts[e]))
			a->timeouts_during_batches++;
}

/* ---- the run ----------------------------------------------------------- */

static int cmp_status(const void *a, const void *b)
{
	const struct status_count *x = a, *y = b;
	return (x->status > y->status) - (x->status < y->status);
}

static int cmp_endpoint(const void *a, const void *b)
{
	const struct endpoint_stats *x = a, *y = b;
	int c;
	if (x->http.requests != y->http.requests)
		return x->http.requests > y->http.requests ? -1 : 1;
	c = strcmp(x->path, y->path);
	if (c)
		return c;
	return strcmp(x->method ? x->method : "", y->method ? y->method : "");
}

static void http_part_from(struct analysis *a, struct http_part *p, struct sample *lat)
{
	dist_from(a, &p->latency, lat);
	p->timed = lat->nr;
}

void analysis_span_init(struct analysis_span *sp)
{
	sp->start = sp->end = LOG_USEC_NONE;
}

/*
 * The span analysis_finish() will find: the first and last time of the
 * events, the start moved back by any batch whose end line's duration
 * reaches before the first event (holds.c, batch_event()).  A duplicate has
 * the time and duration of the event it repeats, so counting it changes
 * nothing.
 */
void analysis_span_note(struct analysis_span *sp, const struct event *ev)
{
	log_usec t = ev->ts;
	if (t == LOG_USEC_NONE)
		return;
	if (sp->end == LOG_USEC_NONE || t > sp->end)
		sp->end = t;
	if (ev->kind == EVENT_BATCH_END && ev->dur != EVENT_NO_DURATION && ev->dur >= 0)
		t -= ev->dur;
	if (sp->start == LOG_USEC_NONE || t < sp->start)
		sp->start = t;
}

void analysis_span_sink(void *span, const struct event *ev)
{
	analysis_span_note(span, ev);
}

static void state_free(struct analysis_state *st)
{
	if (!st)
		return;
	dup_window_release(&st->dups);
	strbuf_release(&st->slowest);
	strbuf_release(&st->tmp);
	recspill_release(&st->reqs);
	free(st->coarse);
	sample_clear(&st->pg_sess);
	sample_clear(&st->pg_slow);
	sample_clear(&st->pg_lock);
	free(st->bins);
	free(st->bins_tot);
	free(st->ops);
	free(st->sizes);
	free(st->tmo_pid);
	free(st->st_out);
	free(st->st_ov);
	free(st->bad);
	free(st->tmo_ts);
	free(st->e5xx_ts);
	free(st);
}

static void count_pid(struct analysis_state *st, int32_t pid)
{
	for (size_t i = 0; i < st->ntmo_pid; i++)
		if (st->tmo_pid[i].pid == pid) {
			st->tmo_pid[i].n++;
			return;
		}
	ALLOC_GROW(st->tmo_pid, st->ntmo_pid + 1, st->tmo_pid_alloc);
	st->tmo_pid[st->ntmo_pid++] = (struct pid_count){ pid, 1 };
}

static void note_stats_size(struct analysis_state *st, int32_t pid, int32_t size)
{
	struct pid_size *p = NULL;
	if (!pid) {
		p = &st->size_any;
	} else {
		for (size_t i = 0; i < st->nsizes && !p; i++)
			if (st->sizes[i].pid == pid)
				p = &st->sizes[i];
		if (!p) {
			ALLOC_GROW(st->sizes, st->nsizes + 1, st->sizes_alloc);
			p = &st->sizes[st->nsizes++];
		}
	}
	*p = (struct pid_size){ pid, size, st->seq };
}

static void note_bad(struct analysis *a, size_t bucket, const struct event *ev)
{
	struct analysis_state *st = a->st;
	struct bad_step *k;
	if (!st->nbad || st->bad[st->nbad - 1].bucket != bucket) {
		ALLOC_GROW(st->bad, st->nbad + 1, st->bad_alloc);
		k = &st->bad[st->nbad++];
		memset(k, 0, sizeof(*k));
		k->bucket = bucket;
		k->first = ev->ts;
	}
	k = &st->bad[st->nbad - 1];
	k->last = ev->ts;
	if (k->nrefs < INCIDENT_MAX_REFS)
		k->refs[k->nrefs++] = (struct analysis_ref){
			ev->ts, ev->src, ev->line, ev->kind,
			ev->kind == EVENT_HTTP_REQUEST ? strtab_intern_cstr(&a->strings, ev->text) : NULL
		};
}

int analysis_begin(struct analysis *a, const struct timeline *sources,
		   const struct analysis_opts *opts, const struct analysis_span *span)
{
	struct analysis_state *st;
	size_t ns = sources->nsrc ? sources->nsrc : 1;

	memset(a, 0, sizeof(*a));
	a->tl = sources;
	a->opts = *opts;
	strtab_init(&a->names);
	strtab_init(&a->strings);
	a->start = span->start;
	a->end = span->end;
	a->first_timeout = a->last_timeout = LOG_USEC_NONE;
	a->checkouts = -1;
	a->peak_out = -1;
	a->peak_overflow = INT32_MIN;
	a->peak_at = LOG_USEC_NONE;
	a->peak_usage_pct = a->batch_peak_usage_pct = -1;
	a->batch_entries_min = a->batch_entries_max = -1;
	a->batch_commits_min = a->batch_commits_max = -1;
	a->config = opts->pool;
	hold_set_init(&a->holds);
	a->holds.mem_bytes = opts->hold_memory;
	holds_begin(&a->holds);

	/* buckets: the time series needs the span before the first event */
	if (a->start != LOG_USEC_NONE) {
		log_usec sp = a->end - a->start;
		a->bucket_usec = opts->bucket_usec > 0 ? opts->bucket_usec : auto_bucket(sp);
		while (sp / a->bucket_usec + 2 > MAX_BUCKETS)
			a->bucket_usec *= 2;
		{
			/* align to the epoch so before/after runs line up */
			log_usec first = a->start - (((a->start % a->bucket_usec) + a->bucket_usec) %
						     a->bucket_usec);
			a->nbuckets = (size_t)((a->end - first) / a->bucket_usec) + 1;
			a->buckets = xcalloc(a->nbuckets, sizeof(*a->buckets));
			for (size_t b = 0; b < a->nbuckets; b++) {
				a->buckets[b].start = first + (log_usec)b * a->bucket_usec;
				a->buckets[b].peak_out = -1;
				a->buckets[b].peak_overflow = INT32_MIN;
			}
		}
	} else {
		a->bucket_usec = opts->bucket_usec > 0 ? opts->bucket_usec : 60 * USEC_PER_SEC;
	}

	st = a->st = xcalloc(1, sizeof(*st));
	dup_window_init(&st->dups);
	st->last_ts = st->ev_first = st->ev_last = LOG_USEC_NONE;
	st->stats_pool_size = -1;
	strbuf_init(&st->slowest, 0);
	strbuf_init(&st->tmp, 0);
	recspill_init(&st->reqs, sizeof(struct req), opts->req_memory);
	st->pg_sess = st->pg_slow = st->pg_lock = capped(a);
	st->bins = xcalloc(ns * 1000, sizeof(*st->bins));
	st->bins_tot = xcalloc(ns, sizeof(*st->bins_tot));
	st->st_out = xmalloc((a->nbuckets ? a->nbuckets : 1) * sizeof(*st->st_out));
	st->st_ov = xmalloc((a->nbuckets ? a->nbuckets : 1) * sizeof(*st->st_ov));
	for (size_t b = 0; b < a->nbuckets; b++) {
		st->st_out[b] = -1;
		st->st_ov[b] = INT32_MIN;
	}
	st->st_peak = 0;
	st->st_peak_at = LOG_USEC_NONE;
	st->st_peak_ov = INT32_MIN;
	return 0;
}

static void book_note(struct analysis_book *b, const struct event *ev, uint64_t seq)
{
	if (b->nrefs < ANALYSIS_BOOK_REFS) {
		b->refs[b->nrefs] = (struct analysis_ref){ ev->ts, ev->src, ev->line, ev->kind, NULL };
		b->seq[b->nrefs++] = seq;
	}
	b->n++;
}

/* The book of pool-stat samples at checked_out = out (made if new). */
static struct analysis_book *out_book(struct analysis *a, int32_t out)
{
	size_t lo = 0, hi = a->nbook_out;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (a->book_out[mid].out < out)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == a->nbook_out || a->book_out[lo].out != out) {
		ALLOC_GROW(a->book_out, a->nbook_out + 1, a->book_out_alloc);
		memmove(a->book_out + lo + 1, a->book_out + lo, (a->nbook_out - lo) * sizeof(*a->book_out));
		memset(&a->book_out[lo], 0, sizeof(a->book_out[lo]));
		a->book_out[lo].out = out;
		a->nbook_out++;
	}
	return &a->book_out[lo].b;
}

void analysis_feed(struct analysis *a, const struct event *ev)
{
	struct analysis_state *st = a->st;
	struct analysis_bucket *b = NULL;

	if (!st)
		BUG("analysis_feed outside analysis_begin/analysis_finish");
	if (ev->ts < st->last_ts && ev->ts != LOG_USEC_NONE)
		BUG("analysis_feed: events out of time order");
	if (ev->ts != LOG_USEC_NONE)
		st->last_ts = ev->ts;
	if (dup_window_check(&st->dups, ev)) {
		a->duplicates++;
		return;
	}
	st->seq++;
	a->events++;
	if (ev->ts == LOG_USEC_NONE) {
		a->untimed++;
	} else {
		if (st->ev_first == LOG_USEC_NONE)
			st->ev_first = ev->ts;
		st->ev_last = ev->ts;
	}
	holds_feed(&a->holds, ev);

	if (ev->ts != LOG_USEC_NONE && a->nbuckets) {
		if (ev->ts < a->buckets[0].start || ev->ts > a->end)
			BUG("analysis_feed: an event outside the span given to analysis_begin");
		b = &a->buckets[bucket_of(a, ev->ts)];
		if (event_bad(ev))
			note_bad(a, (size_t)(b - a->buckets), ev);
	}
	switch (ev->kind) {
	case EVENT_POOL_TIMEOUT: {
		size_t c;
		book_note(&a->book_timeouts, ev, st->seq);
		a->timeouts++;
		a->timeouts_by_origin[ev->origin < ORIGIN__COUNT ? ev->origin : 0]++;
		if (ev->pid)
			count_pid(st, ev->pid);
		if (b) {
			ALLOC_GROW(st->tmo_ts, st->ntmo_ts + 1, st->tmo_alloc);
			st->tmo_ts[st->ntmo_ts++] = ev->ts;
		}
		if (b) {
			b->timeouts++;
			if (a->first_timeout == LOG_USEC_NONE) {
				a->first_timeout = ev->ts;
				a->first_timeout_ref = (struct analysis_ref){ ev->ts, ev->src, ev->line,
									     ev->kind, NULL };
			}
			a->last_timeout = ev->ts;
		}
		if (ev->u.timeout.pool_size < 0)
			break;
		for (c = 0; c < st->ncfg; c++)
			if (st->cfg[c].size == ev->u.timeout.pool_size &&
			    st->cfg[c].overflow == ev->u.timeout.max_overflow &&
			    st->cfg[c].timeout == ev->u.timeout.timeout_usec)
				break;
		if (c == st->ncfg && st->ncfg < sizeof(st->cfg) / sizeof(st->cfg[0]))
			st->cfg[st->ncfg++] = (struct cfg_tally){ ev->u.timeout.pool_size,
							  ev->u.timeout.max_overflow,
							  ev->u.timeout.timeout_usec, 0 };
		if (c < st->ncfg)
			st->cfg[c].n++;
		break;
	}
	case EVENT_POOL_STATS:
		if (ev->u.stats.checked_out >= 0)
			book_note(out_book(a, ev->u.stats.checked_out), ev, st->seq);
		if (ev->u.stats.pool_size >= 0)
			st->stats_pool_size = ev->u.stats.pool_size;
		if (ev->u.stats.checked_out >= 0)
			a->stats_samples++;
		if (ev->ts == LOG_USEC_NONE)
			break;
		if (ev->u.stats.pool_size >= 0)
			note_stats_size(st, ev->pid, ev->u.stats.pool_size);
		if (b) {
			size_t k = (size_t)(b - a->buckets);
			if (ev->u.stats.checked_out > st->st_out[k])
				st->st_out[k] = ev->u.stats.checked_out;
			if (ev->u.stats.checked_out > st->st_peak) {
				st->st_peak = ev->u.stats.checked_out;
				st->st_peak_at = ev->ts;
			}
			if (ev->u.stats.overflow != INT32_MIN) {
				if (ev->u.stats.overflow > st->st_ov[k])
					st->st_ov[k] = ev->u.stats.overflow;
				if (ev->u.stats.overflow > st->st_peak_ov)
					st->st_peak_ov = ev->u.stats.overflow;
			}
		}
		break;
	case EVENT_HTTP_REQUEST: {
		struct req qr, *q = &qr;
		const char *path, *method;
		size_t e, sc;
		memset(q, 0, sizeof(*q)); /* the padding goes to disk too */
		q->ts = ev->ts;
		q->dur = ev->dur;
		q->status = ev->u.http.status;
		q->src = ev->src;
		if (ev->ts != LOG_USEC_NONE && ev->src < a->tl->nsrc) {
			log_usec t = ev->ts;
			if (ev->dur != EVENT_NO_DURATION && ev->dur >= 0)
				t += ev->dur;
			st->bins_tot[ev->src]++;
			st->bins[ev->src * 1000 + (size_t)(((t % USEC_PER_SEC) + USEC_PER_SEC) % USEC_PER_SEC / 1000)]++;
		}
		path = normalize_path(&a->names, ev->text, &st->tmp);
		method = strtab_intern_cstr(&a->strings, ev->text2);
		for (e = 0; e < a->nendpoints; e++)
			if (a->endpoints[e].path == path && a->endpoints[e].method == method)
				break;
		if (e == a->nendpoints) {
			ALLOC_GROW(a->endpoints, a->nendpoints + 1, st->ep_alloc);
			memset(&a->endpoints[e], 0, sizeof(a->endpoints[e]));
			a->endpoints[e].path = path;
			a->endpoints[e].method = method;
			a->nendpoints++;
		}
		q->ep = (int32_t)e;
		for (sc = 0; sc < a->nstatus; sc++)
			if (a->status[sc].status == q->status)
				break;
		if (sc == a->nstatus) {
			ALLOC_GROW(a->status, a->nstatus + 1, st->status_alloc);
			a->status[a->nstatus++] = (struct status_count){ q->status, 0 };
		}
		a->status[sc].n++;
		if (q->status >= 500 && q->status <= 599)
			book_note(&a->book_5xx, ev, st->seq);
		recspill_add(&st->reqs, q);
		if (b) {
			b->requests++;
			if (q->status >= 500) {
				b->http_5xx++;
				ALLOC_GROW(st->e5xx_ts, st->n5xx_ts + 1, st->e5xx_alloc);
				st->e5xx_ts[st->n5xx_ts++] = ev->ts;
			}
		} else {
			a->http_untimed++;
		}
		break;
	}
	case EVENT_PG_CONNECT:
		a->pg_connections++;
		break;
	case EVENT_PG_DISCONNECT:
		a->pg_disconnections++;
		if (ev->dur != EVENT_NO_DURATION && ev->dur >= 0)
			sample_add(&st->pg_sess, ev->dur);
		break;
	case EVENT_PG_TOO_MANY_CLIENTS:
		book_note(&a->book_too_many, ev, st->seq);
		a->pg_too_many++;
		if (b)
			b->pg_too_many++;
		if (!a->pg_first_refusal.kind)
			a->pg_first_refusal = (struct analysis_ref){ ev->ts, ev->src, ev->line, ev->kind,
								    strtab_intern_cstr(&a->strings, ev->text) };
		break;
	case EVENT_PG_SLOW_STATEMENT:
		a->pg_slow++;
		if (ev->dur != EVENT_NO_DURATION && ev->dur >= 0) {
			sample_add(&st->pg_slow, ev->dur);
			if (!a->pg_slowest.kind || ev->dur > st->slow_max) {
				/* the text is kept at the end: only the slowest's */
				a->pg_slowest = (struct analysis_ref){ ev->ts, ev->src, ev->line,
								       ev->kind, NULL };
				strbuf_reset(&st->slowest);
				if (ev->text)
					strbuf_addstr(&st->slowest, ev->text);
				st->slowest_null = !ev->text;
				st->slow_max = ev->dur;
			}
		}
		break;
	case EVENT_PG_LOCK_WAIT:
		if (ev->text2 && !strcmp(ev->text2, "deadlock"))
			a->pg_deadlocks++;
		else if (!ev->text2 || strcmp(ev->text2, "acquired"))
			a->pg_lock_waits++;
		if (ev->dur != EVENT_NO_DURATION && ev->dur >= 0)
			sample_add(&st->pg_lock, ev->dur);
		break;
	case EVENT_PG_CANCEL:
		a->pg_cancels++;
		break;
	case EVENT_PG_ERROR:
		a->pg_errors++;
		break;
	case EVENT_POOL_CONNECT:
	case EVENT_POOL_CLOSE:
		if (ev->ts == LOG_USEC_NONE)
			break;
		ALLOC_GROW(st->ops, st->nops + 1, st->ops_alloc);
		st->ops[st->nops++] = (struct pool_op){ ev->ts, st->seq, ev->pid,
							ev->pid ? UINT32_MAX : ev->src, ev->pool,
							(int8_t)(ev->kind == EVENT_POOL_CONNECT ? 1 : -1) };
		break;
	default:
		break;
	}
}

int analysis_finish(struct analysis *a)
{
	struct analysis_state *st = a->st;
	struct sample s_lat = capped(a), s_lat_in = capped(a), s_lat_out = capped(a);
	struct sample s;
	bool failed = false;

	if (!st)
		BUG("analysis_finish without analysis_begin");
	holds_finish(&a->holds);
	{
		/* the span the events and batches give must be the one the
		 * buckets were made for */
		log_usec start = st->ev_first;
		for (size_t i = 0; i < a->holds.nbatches; i++) {
			const struct batch_window *w = &a->holds.batches[i];
			if (w->start != LOG_USEC_NONE && (start == LOG_USEC_NONE || w->start < start))
				start = w->start;
		}
		if (start != a->start || st->ev_last != a->end)
			BUG("analysis span %" PRId64 "..%" PRId64 " differs from the one given, %" PRId64 "..%" PRId64,
			    start, st->ev_last, a->start, a->end);
	}
	if (a->pg_slowest.kind && !st->slowest_null)
		a->pg_slowest.text = strtab_intern(&a->strings, st->slowest.buf, st->slowest.len);

	build_windows(a);

	/*
	 * An access log with whole-second times (gunicorn's %(t)s, nginx's
	 * $time_local) cannot tell which of the ~25 holds of that second was
	 * its request: such inputs are not matched to holds.  An input is
	 * coarse when 90 % of its logged times (start + latency when the
	 * format gave a latency) share one sub-second part (a parser may
	 * place whole-second times mid-second).
	 */
	{
		const struct timeline *tl = a->tl;
		bool *coarse = st->coarse = xcalloc(tl->nsrc ? tl->nsrc : 1, sizeof(*coarse));
		for (size_t i = 0; i < tl->nsrc; i++) {
			uint32_t mx = 0;
			for (size_t k = 0; k < 1000; k++)
				if (st->bins[i * 1000 + k] > mx)
					mx = st->bins[i * 1000 + k];
			coarse[i] = st->bins_tot[i] >= 10 && (size_t)mx * 10 >= st->bins_tot[i] * 9;
		}
	}

	/* pool settings: --pool, else the timeout messages, else pool stats */
	if (!a->config.from) {
		size_t best = SIZE_MAX;
		for (size_t c = 0; c < st->ncfg; c++)
			if (best == SIZE_MAX || st->cfg[c].n > st->cfg[best].n)
				best = c;
		if (best != SIZE_MAX) {
			a->config.pool_size = st->cfg[best].size;
			a->config.max_overflow = st->cfg[best].overflow;
			a->config.timeout_usec = st->cfg[best].timeout;
			a->config.from = "timeout_message";
		} else if (st->stats_pool_size >= 0) {
			a->config.pool_size = st->stats_pool_size;
			a->config.from = "pool_stats";
		}
	}
	a->config_variants = st->ncfg;
	a->capacity = pool_config_capacity(&a->config);

	/* checkouts (per step: the sweep counts them) and occupancy */
	if (a->holds.checkouts || a->holds.checkins)
		a->checkouts = (long)a->holds.checkouts;
	if (a->nbuckets)
		pool_sweep(a);
	if (!a->peak_from && a->stats_samples && a->nbuckets) {
		/* no debug log: the pool-stat samples (a lower bound of the peak) */
		a->peak_out = st->st_peak;
		a->peak_at = st->st_peak_at;
		a->peak_overflow = st->st_peak_ov;
		for (size_t b = 0; b < a->nbuckets; b++) {
			if (st->st_out[b] > a->buckets[b].peak_out)
				a->buckets[b].peak_out = st->st_out[b];
			if (st->st_ov[b] > a->buckets[b].peak_overflow)
				a->buckets[b].peak_overflow = st->st_ov[b];
		}
		a->peak_from = "pool_stats";
		a->pools = 1;
	}
	/* batch windows per bucket, and batch summary */
	a->nbatches = a->holds.nbatches;
	for (size_t i = 0; i < a->holds.nbatches; i++) {
		const struct batch_window *w = &a->holds.batches[i];
		log_usec ws = w->start != LOG_USEC_NONE ? w->start : a->start;
		log_usec we = batch_window_end(w, a->end);
		int32_t ent = w->entries >= 0 ? w->entries : w->processed;
		if (a->nbuckets && ws != LOG_USEC_NONE)
			for (size_t b = bucket_of(a, ws); b <= bucket_of(a, we); b++)
				a->buckets[b].in_batch = true;
		if (ent >= 0) {
			if (a->batch_entries_min < 0 || ent < a->batch_entries_min)
				a->batch_entries_min = ent;
			if (ent > a->batch_entries_max)
				a->batch_entries_max = ent;
		}
		if (w->commits >= 0) {
			if (a->batch_commits_min < 0 || w->commits < a->batch_commits_min)
				a->batch_commits_min = w->commits;
			if (w->commits > a->batch_commits_max)
				a->batch_commits_max = w->commits;
		}
	}
	s = capped(a);
	for (size_t i = 0; i < a->holds.nbatches; i++) {
		const struct batch_window *w = &a->holds.batches[i];
		if (w->start != LOG_USEC_NONE && w->end != LOG_USEC_NONE)
			sample_add(&s, w->end - w->start);
	}
	dist_from(a, &a->batch_dur, &s);
	sample_clear(&s);

	/* levels */
	for (size_t b = 0; b < a->nbuckets; b++) {
		struct analysis_bucket *k = &a->buckets[b];
		double pct = -1;
		if (a->capacity > 0 && k->peak_out >= 0)
			pct = 100.0 * k->peak_out / a->capacity;
		if (k->timeouts || (a->capacity > 0 && k->peak_out >= a->capacity))
			k->level = LEVEL_EXHAUSTED;
		else if (pct > a->opts.warn_pct)
			k->level = LEVEL_WARNING;
		else if (pct >= 0)
			k->level = LEVEL_HEALTHY;
		else
			k->level = LEVEL_UNKNOWN;
		a->level_buckets[k->level]++;
		if (pct > a->peak_usage_pct)
			a->peak_usage_pct = pct;
		if (k->in_batch && pct > a->batch_peak_usage_pct)
			a->batch_peak_usage_pct = pct;
	}

	/* origins and hold distributions */
	if (split_origins(a, &st->reqs) < 0)
		failed = true;
	if (a->holds.best == HOLD_EV_LITTLE) {
		a->hold.mean = (double)a->holds.little_mean_hold;
	} else if (a->holds.best != HOLD_EV_NONE) {
		struct sample by[ORIGIN__COUNT] = { capped(a), capped(a), capped(a) };
		struct sample *ep = xcalloc(a->nendpoints ? a->nendpoints : 1, sizeof(*ep));
		for (size_t e = 0; e < a->nendpoints; e++)
			ep[e] = capped_share(a, a->nendpoints);
		s = capped(a);
		for (size_t i = 0; i < a->holds.nr; i++) {
			const struct hold *h = hold_at(&a->holds, i);
			if (h->evidence != a->holds.best || !hold_complete(h))
				continue;
			sample_add(&s, h->dur);
			sample_add(&by[h->origin < ORIGIN__COUNT ? h->origin : 0], h->dur);
			if (h->endpoint >= 0)
				sample_add(&ep[h->endpoint], h->dur);
		}
		dist_from(a, &a->hold, &s);
		sample_clear(&s);
		for (int o = 0; o < ORIGIN__COUNT; o++) {
			dist_from(a, &a->hold_by_origin[o], &by[o]);
			sample_clear(&by[o]);
		}
		for (size_t e = 0; e < a->nendpoints; e++) {
			dist_from(a, &a->endpoints[e].hold, &ep[e]);
			sample_clear(&ep[e]);
		}
		free(ep);
	}

	/* HTTP: overall, during/outside batches, per endpoint, per bucket */
	{
		struct sample *ep = xcalloc(a->nendpoints ? a->nendpoints : 1, sizeof(*ep));
		struct sample bl = capped(a);
		for (size_t e = 0; e < a->nendpoints; e++)
			ep[e] = capped_share(a, a->nendpoints);
		struct http_part untimed_part;
		size_t cur = SIZE_MAX;
		memset(&untimed_part, 0, sizeof(untimed_part));
		if (recspill_rewind(&st->reqs) < 0)
			failed = true;
		for (;;) {
			const struct req *q = failed ? NULL : recspill_next(&st->reqs);
			size_t bk = q && q->ts != LOG_USEC_NONE && a->nbuckets ? bucket_of(a, q->ts) : SIZE_MAX;
			bool timed = q && q->dur != EVENT_NO_DURATION && q->dur >= 0;
			bool during;
			struct http_part *part;
			if (cur != SIZE_MAX && (bk != cur || !q)) {
				/* untimed requests come first (sorted), so buckets are contiguous */
				struct analysis_bucket *k = &a->buckets[cur];
				k->lat_n = (uint32_t)bl.nr;
				sample_ready(a, &bl);
				if (bl.nr) {
					k->lat_p50 = sample_percentile(&bl, 50);
					k->lat_p95 = sample_percentile(&bl, 95);
				}
				sample_reset(&bl);
			}
			cur = bk;
			if (!q)
				break;
			during = q->ts != LOG_USEC_NONE && a->holds.nbatches && in_window(a, q->ts);
			/* a request with no time is in neither part */
			part = q->ts == LOG_USEC_NONE ? &untimed_part : during ? &a->http_during : &a->http_outside;
			a->http.requests++;
			part->requests++;
			a->endpoints[q->ep].http.requests++;
			if (q->status >= 500) {
				a->http.errors_5xx++;
				part->errors_5xx++;
				a->endpoints[q->ep].http.errors_5xx++;
			} else if (q->status >= 400) {
				a->http.errors_4xx++;
				part->errors_4xx++;
				a->endpoints[q->ep].http.errors_4xx++;
			}
			if (timed) {
				sample_add(&s_lat, q->dur);
				if (q->ts != LOG_USEC_NONE)
					sample_add(during ? &s_lat_in : &s_lat_out, q->dur);
				sample_add(&ep[q->ep], q->dur);
				if (bk != SIZE_MAX)
					sample_add(&bl, q->dur);
			}
		}
		sample_clear(&bl);
		http_part_from(a, &a->http, &s_lat);
		http_part_from(a, &a->http_during, &s_lat_in);
		http_part_from(a, &a->http_outside, &s_lat_out);
		for (size_t e = 0; e < a->nendpoints; e++) {
			http_part_from(a, &a->endpoints[e].http, &ep[e]);
			sample_clear(&ep[e]);
		}
		free(ep);
	}
	{
		/* endpoint order: by requests, then path; the holds' endpoints follow */
		int32_t *map = xmalloc((a->nendpoints ? a->nendpoints : 1) * sizeof(*map));
		const char **paths = xmalloc((a->nendpoints ? a->nendpoints : 1) * sizeof(*paths));
		const char **methods = xmalloc((a->nendpoints ? a->nendpoints : 1) * sizeof(*methods));
		for (size_t e = 0; e < a->nendpoints; e++) {
			paths[e] = a->endpoints[e].path;
			methods[e] = a->endpoints[e].method;
		}
		if (a->nendpoints > 1) /* qsort(NULL, 0) is undefined */
			qsort(a->endpoints, a->nendpoints, sizeof(*a->endpoints), cmp_endpoint);
		for (size_t e = 0; e < a->nendpoints; e++)
			for (size_t f = 0; f < a->nendpoints; f++)
				if (paths[f] == a->endpoints[e].path && methods[f] == a->endpoints[e].method) {
					map[f] = (int32_t)e;
					break;
				}
		for (size_t i = 0; i < a->holds.nr && a->nendpoints; i++) {
			struct hold *h = hold_at(&a->holds, i);
			if (h->endpoint >= 0)
				h->endpoint = map[h->endpoint];
		}
		free(map);
		free(paths);
		free(methods);
	}
	if (a->nstatus > 1) /* qsort(NULL, 0) is undefined */
		qsort(a->status, a->nstatus, sizeof(*a->status), cmp_status);

	dist_from(a, &a->pg_session, &st->pg_sess);
	dist_from(a, &a->pg_slow_dur, &st->pg_slow);
	dist_from(a, &a->pg_lock_dur, &st->pg_lock);

	batch_effects(a);
	find_incidents(a);

	sample_clear(&s_lat);
	sample_clear(&s_lat_in);
	sample_clear(&s_lat_out);
	if (st->reqs.failed || hold_set_failed(&a->holds))
		failed = true; /* error() said why */
	state_free(st);
	a->st = NULL;
	return failed ? -1 : 0;
}

int analysis_run(const struct timeline *tl, const struct analysis_opts *opts, struct analysis *a)
{
	struct analysis_span span;
	if (!tl->sorted) {
		memset(a, 0, sizeof(*a));
		return error("analysis needs a sorted timeline");
	}
	analysis_span_init(&span);
	for (size_t i = 0; i < tl->nr; i++)
		analysis_span_note(&span, &tl->ev[i]);
	if (analysis_begin(a, tl, opts, &span) < 0)
		return -1;
	for (size_t i = 0; i < tl->nr; i++)
		analysis_feed(a, &tl->ev[i]);
	return analysis_finish(a);
}

void analysis_release(struct analysis *a)
{
	state_free(a->st);
	hold_set_release(&a->holds);
	free(a->status);
	free(a->endpoints);
	free(a->buckets);
	free(a->incidents);
	free(a->batch_stats);
	free(a->pool_parts);
	free(a->win);
	free(a->book_out);
	strtab_release(&a->names);
	strtab_release(&a->strings);
	memset(a, 0, sizeof(*a));
}
