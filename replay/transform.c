#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "core/event.h"
#include "core/stats.h"
#include "replay/workload.h"
#include "core/banned.h"

/*
 * What-if transforms of a workload (docs/replay.md "What-if transforms").
 *
 * Load scaling (API requests only; batch-origin rows are left alone):
 *   each request is kept floor(X) times plus once more with probability
 *   frac(X), drawn from a splitmix64 stream seeded by --seed, so X = 0.5
 *   keeps about half and X = 2.3 makes 2 or 3 of each.  A copy arrives at
 *   t + u * g, where g is the gap to the next recorded arrival and u is
 *   uniform: copies fill the gaps, so the arrival rate is multiplied without
 *   changing its shape over the day.
 *
 * Batch re-cut (--batch-size B, --batch-concurrency C, --commit, --group-size):
 *   the entries of each recorded batch are cut into ceil(E/B) batches run
 *   one after another by the same worker; each is split over C lanes
 *   (sub-workers) as evenly as entries allow.  A lane's connection time is
 *   entries x k, where k is the per-entry cost: the batch's recorded
 *   connection time / its entries (the global measurement when the batch
 *   lacks one, or --per-entry-cost).  Commit once: one checkout per lane for
 *   its whole slice.  Commit per group: one checkout per group of g entries,
 *   with the recorded gap between a lane's checkouts.
 *
 * Lock waits (--lock-waits drop; the default when --commit group replaces
 *   batches that committed once): a batch that commits once per lane holds
 *   its row locks for the lane's whole slice, and API requests that touch
 *   those rows hold their connection while they wait, so their recorded
 *   holds are the batch's doing.  An API hold that overlaps a batch's span
 *   and is longer than L = 2 x p99 of the API holds that overlap no batch is
 *   taken to contain such a wait: it is replaced by the hold of the nearest
 *   request (by arrival) that overlaps no batch, and flagged lock_wait.
 *   Committing per group releases the locks after each group, which is
 *   what the fix did; keeping the recorded holds would charge the new
 *   batches with the old batches' lock waits.
 */

void wl_transform_init(struct wl_transform *t)
{
	memset(t, 0, sizeof(*t));
	t->commit = -1;
	t->batch_gap_usec = -1;
	t->scale_load = 1.0;
	t->seed = 1;
	t->lock_waits = -1;
}

bool wl_transform_is_identity(const struct wl_transform *t)
{
	return t->batch_size <= 0 && t->batch_concurrency <= 0 && t->commit < 0 &&
	       t->batch_gap_usec < 0 && t->scale_load == 1.0 && t->lock_waits != 1 &&
	       t->group_size <= 0 && t->per_entry_usec <= 0;
}

struct span {
	log_usec s, e;
};

static int cmp_span(const void *a, const void *b)
{
	const struct span *x = a, *y = b;
	return (x->s > y->s) - (x->s < y->s);
}

/* Does [s, e) overlap any span?  spans sorted by start, merged. */
static bool overlaps(const struct span *sp, size_t n, log_usec s, log_usec e)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (sp[mid].e <= s)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && sp[lo].s < e;
}

/* Replace API holds that contain waits on a batch's locks (see the top). */
static void drop_lock_waits(struct workload *out, const struct workload *in)
{
	struct span *sp = xmalloc((in->nbatch + 1) * sizeof(*sp));
	size_t n = 0, m = 0;
	struct sample base = SAMPLE_INIT;
	size_t *clean = xmalloc((out->nreq + 1) * sizeof(*clean)), nclean = 0;
	int64_t limit;
	for (size_t b = 0; b < in->nbatch; b++) {
		const struct wl_batch *wb = &in->batch[b];
		log_usec end = wb->start, lane_end = wb->start;
		uint32_t lane = UINT32_MAX;
		for (uint32_t k = 0; k < wb->nholds; k++) {
			const struct wl_hold *h = &in->holds[wb->first + k];
			if (h->lane != lane) {
				lane = h->lane;
				lane_end = wb->start;
			}
			lane_end += h->gap + h->hold;
			if (lane_end > end)
				end = lane_end;
		}
		if (end > wb->start)
			sp[n++] = (struct span){ wb->start, end };
	}
	qsort(sp, n, sizeof(*sp), cmp_span);
	for (size_t i = 0; i < n; i++) {
		if (m && sp[i].s <= sp[m - 1].e) {
			if (sp[i].e > sp[m - 1].e)
				sp[m - 1].e = sp[i].e;
		} else {
			sp[m++] = sp[i];
		}
	}
	for (size_t i = 0; i < out->nreq; i++) {
		const struct wl_request *r = &out->req[i];
		if (r->origin == ORIGIN_BATCH || (r->flags & WL_F_TIMED_OUT))
			continue;
		if (!overlaps(sp, m, r->t, r->t + r->hold + 1)) {
			sample_add(&base, r->hold);
			clean[nclean++] = i;
		}
	}
	if (!nclean)
		goto out;
	limit = (int64_t)(2 * sample_percentile(&base, 99));
	for (size_t i = 0, c = 0; i < out->nreq; i++) {
		struct wl_request *r = &out->req[i];
		size_t best;
		if (r->origin == ORIGIN_BATCH || r->hold <= limit ||
		    !overlaps(sp, m, r->t, r->t + r->hold + 1))
			continue;
		/* nearest clean request by arrival: clean[] is in arrival order */
		while (c + 1 < nclean && out->req[clean[c + 1]].t <= r->t)
			c++;
		best = clean[c];
		if (c + 1 < nclean && out->req[clean[c + 1]].t - r->t < r->t - out->req[best].t)
			best = clean[c + 1];
		r->hold = out->req[best].hold;
		r->flags |= WL_F_LOCK_WAIT;
		out->lock_waits_dropped++;
	}
out:
	sample_clear(&base);
	free(clean);
	free(sp);
}

static bool batch_recut(const struct wl_transform *t)
{
	return t->batch_size > 0 || t->batch_concurrency > 0 || t->commit >= 0 || t->group_size > 0 ||
	       t->per_entry_usec > 0;
}

static void copy_header(struct workload *out, const struct workload *in)
{
	out->rec_pool_size = in->rec_pool_size;
	out->rec_max_overflow = in->rec_max_overflow;
	out->rec_timeout_usec = in->rec_timeout_usec;
	out->per_entry_usec = in->per_entry_usec;
	out->rec_timeouts = in->rec_timeouts;
	out->rec_peak_checked_out = in->rec_peak_checked_out;
	out->imputed = in->imputed;
	out->arrival_est = in->arrival_est;
	out->origin_guess = in->origin_guess;
	out->hold_evidence = in->hold_evidence;
	for (size_t i = 1; i < in->nnames; i++)
		if (workload_name(out, in->names[i], strlen(in->names[i])) != i)
			BUG("transform: names out of step");
}

static void scale_requests(struct workload *out, const struct workload *in, double x, uint64_t seed)
{
	uint64_t rng = seed;
	double whole = floor(x), frac = x - whole;
	int64_t mean_gap = 0;
	if (x == 1.0) {
		for (size_t i = 0; i < in->nreq; i++)
			*workload_add_request(out) = in->req[i];
		return;
	}
	if (in->nreq > 1)
		mean_gap = (in->req[in->nreq - 1].t - in->req[0].t) / (int64_t)(in->nreq - 1);
	for (size_t i = 0; i < in->nreq; i++) {
		const struct wl_request *r = &in->req[i];
		int64_t gap = i + 1 < in->nreq ? in->req[i + 1].t - r->t : mean_gap;
		unsigned n;
		if (r->origin == ORIGIN_BATCH) {
			*workload_add_request(out) = *r;
			continue;
		}
		n = (unsigned)whole + (wl_rand_unit(&rng) < frac ? 1u : 0u);
		for (unsigned k = 0; k < n; k++) {
			struct wl_request *c = workload_add_request(out);
			*c = *r;
			if (k > 0) {
				c->t = r->t + (int64_t)(wl_rand_unit(&rng) * (double)gap);
				c->flags |= WL_F_COPY;
			}
		}
	}
}

/* Mean entries per checkout over batches that committed per group, or 0. */
static int32_t measured_group_size(const struct workload *in)
{
	int64_t e = 0, n = 0;
	for (size_t i = 0; i < in->nbatch; i++) {
		const struct wl_batch *b = &in->batch[i];
		if (b->commit != WL_COMMIT_GROUP || b->entries <= 0 || !b->nholds)
			continue;
		e += b->entries;
		n += b->nholds;
	}
	return n ? (int32_t)((e + n / 2) / n) : 0;
}

/* Mean gap between a lane's consecutive checkouts in per-group batches. */
static int64_t measured_group_gap(const struct workload *in)
{
	int64_t sum = 0, n = 0;
	for (size_t i = 0; i < in->nbatch; i++) {
		const struct wl_batch *b = &in->batch[i];
		if (b->commit != WL_COMMIT_GROUP)
			continue;
		for (uint32_t k = 1; k < b->nholds; k++) {
			const struct wl_hold *h = &in->holds[b->first + k];
			if (h->lane == in->holds[b->first + k - 1].lane) {
				sum += h->gap;
				n++;
			}
		}
	}
	return n ? sum / n : 0;
}

static void add_piece(struct workload *out, const struct wl_batch *b, log_usec start, int64_t gap,
		      int32_t entries, int32_t lanes, int commit, int32_t group, int64_t k,
		      int64_t group_gap)
{
	uint32_t bi;
	struct wl_batch *nb = workload_add_batch(out);
	bi = (uint32_t)(out->nbatch - 1);
	nb->start = start;
	nb->gap = gap;
	nb->name = b->name;
	nb->pid = b->pid;
	nb->engine = b->engine;
	nb->entries = entries;
	nb->evidence = b->evidence;
	nb->commit = (uint8_t)commit;
	if (lanes > entries)
		lanes = entries;
	if (lanes < 1)
		lanes = entries > 0 ? 1 : 0;
	nb->lanes = (uint16_t)lanes;
	for (int32_t l = 0; l < lanes; l++) {
		int32_t le = entries / lanes + (l < entries % lanes ? 1 : 0);
		if (commit == WL_COMMIT_ONCE) {
			struct wl_hold *h = workload_add_hold(out, bi);
			h->lane = (uint16_t)l;
			h->entries = le;
			h->hold = le * k;
			h->gap = 0;
			continue;
		}
		for (int32_t done = 0; done < le;) {
			int32_t g = le - done < group ? le - done : group;
			struct wl_hold *h = workload_add_hold(out, bi);
			h->lane = (uint16_t)l;
			h->entries = g;
			h->hold = g * k;
			h->gap = done ? group_gap : 0;
			done += g;
		}
	}
}

static int recut_batches(struct workload *out, const struct workload *in,
			 const struct wl_transform *t)
{
	int32_t group = t->group_size > 0 ? t->group_size : measured_group_size(in);
	int64_t group_gap = measured_group_gap(in);
	if (group <= 0)
		group = 1;
	for (size_t i = 0; i < in->nbatch; i++) {
		const struct wl_batch *b = &in->batch[i];
		int64_t conn = workload_batch_conn_time(in, b);
		int64_t k = t->per_entry_usec > 0 ? t->per_entry_usec : -1;
		int32_t e = b->entries;
		int32_t size, lanes;
		int commit = t->commit >= 0 ? t->commit : b->commit;
		if (k < 0 && e > 0 && conn > 0)
			k = conn / e;
		if (k < 0)
			k = in->per_entry_usec;
		if (k < 0)
			return error("batch %zu has no measured cost per entry (its entries are "
				     "unknown); give --per-entry-cost", i + 1);
		if (e < 0)
			e = (int32_t)(conn / (k ? k : 1));
		size = t->batch_size > 0 ? t->batch_size : (e > 0 ? e : 1);
		lanes = t->batch_concurrency > 0 ? t->batch_concurrency : (b->lanes ? b->lanes : 1);
		for (int32_t done = 0, piece = 0; done < e || (e == 0 && piece == 0); piece++) {
			int32_t pe = e - done < size ? e - done : size;
			int64_t gap;
			if (piece == 0)
				gap = (t->batch_gap_usec >= 0 && b->gap >= 0) ? t->batch_gap_usec : b->gap;
			else
				gap = t->batch_gap_usec >= 0 ? t->batch_gap_usec : 0;
			add_piece(out, b, b->start, gap, pe, lanes, commit, group, k, group_gap);
			done += pe;
			if (e == 0)
				break;
		}
	}
	return 0;
}

int workload_transform(struct workload *out, const struct workload *in,
		       const struct wl_transform *t)
{
	int lock = t->lock_waits;
	copy_header(out, in);
	scale_requests(out, in, t->scale_load, t->seed);
	if (lock < 0) {
		lock = 0;
		if (t->commit == WL_COMMIT_GROUP)
			for (size_t i = 0; i < in->nbatch; i++)
				if (in->batch[i].commit == WL_COMMIT_ONCE)
					lock = 1;
	}
	if (lock) {
		workload_sort(out);
		drop_lock_waits(out, in);
	}
	if (batch_recut(t)) {
		if (recut_batches(out, in, t) < 0)
			return -1;
	} else {
		for (size_t i = 0; i < in->nbatch; i++) {
			const struct wl_batch *b = &in->batch[i];
			struct wl_batch *nb = workload_add_batch(out);
			uint32_t first = nb->first;
			*nb = *b;
			nb->first = first;
			nb->nholds = 0;
			if (t->batch_gap_usec >= 0 && b->gap >= 0)
				nb->gap = t->batch_gap_usec;
			for (uint32_t k = 0; k < b->nholds; k++)
				*workload_add_hold(out, (uint32_t)(out->nbatch - 1)) =
					in->holds[b->first + k];
		}
	}
	workload_sort(out);
	return 0;
}

/*
 * A deterministic synthetic workload: Poisson API arrivals at a rate that
 * follows the day (rate(t) = base x (1 + 0.5 sin(2 pi t / 24 h))), holds of
 * 5 ms + an exponential with mean 40 ms over six endpoints, and every
 * batch_every a batch of 100-500 entries over 18 lanes at 0.45 s per entry,
 * committed once per lane: the incident's shape, stretched over a day.
 */
void workload_synthetic(struct workload *wl, size_t nreq, int64_t span_usec,
			int64_t batch_every_usec, uint64_t seed)
{
	static const char *const endpoints[] = {
		"GET /api/v1/health", "GET /api/v1/vitals/{user_id}", "POST /api/v1/vitals",
		"POST /api/v1/auth/login", "GET /api/v1/nutrition/{user_id}",
		"GET /api/v1/labs/{user_id}",
	};
	uint32_t names[6];
	uint64_t rng = seed;
	const log_usec t0 = INT64_C(1760968800) * USEC_PER_SEC; /* 2025-10-20T14:00:00Z */
	double mean_gap = nreq ? (double)span_usec / (double)nreq : 1;
	double t = 0;
	uint32_t bname;
	for (int i = 0; i < 6; i++)
		names[i] = workload_name(wl, endpoints[i], strlen(endpoints[i]));
	bname = workload_name(wl, "vitals", 6);
	wl->rec_pool_size = 10;
	wl->rec_max_overflow = 20;
	wl->rec_timeout_usec = 30 * USEC_PER_SEC;
	wl->per_entry_usec = 450000;
	wl->hold_evidence = "synthetic";
	if (wl->req_alloc < nreq) {
		wl->req = xrealloc(wl->req, nreq * sizeof(*wl->req));
		wl->req_alloc = nreq;
	}
	for (size_t i = 0; i < nreq; i++) {
		struct wl_request *r = workload_add_request(wl);
		double phase = 2 * 3.141592653589793 * t / 86400e6;
		double rate_mul = 1 + 0.5 * sin(phase);
		t += -log(1 - wl_rand_unit(&rng)) * mean_gap / rate_mul;
		r->t = t0 + (log_usec)t;
		r->hold = 5000 + (int64_t)(-log(1 - wl_rand_unit(&rng)) * 40000);
		r->name = names[wl_rand_next(&rng) % 6];
		r->origin = ORIGIN_API;
		r->evidence = WL_EV_SYNTHETIC;
	}
	if (batch_every_usec > 0) {
		for (int64_t bt = batch_every_usec / 2; bt < span_usec; bt += batch_every_usec) {
			struct wl_batch *b = workload_add_batch(wl);
			uint32_t bi = (uint32_t)(wl->nbatch - 1);
			int32_t e = 100 + (int32_t)(wl_rand_next(&rng) % 401);
			b->start = t0 + bt;
			b->name = bname;
			b->entries = e;
			b->lanes = 18;
			b->commit = WL_COMMIT_ONCE;
			b->evidence = WL_EV_SYNTHETIC;
			for (int l = 0; l < 18; l++) {
				struct wl_hold *h = workload_add_hold(wl, bi);
				int32_t le = e / 18 + (l < e % 18 ? 1 : 0);
				h->lane = (uint16_t)l;
				h->entries = le;
				h->hold = le * wl->per_entry_usec;
			}
		}
	}
	workload_sort(wl);
}
