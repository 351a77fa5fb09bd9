#include "replay/driver.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "core/banned.h"

/*
 * The workload driver's cold half: set-up (processes, pools, batch chains),
 * events, totals.  The state machine itself is in replay/driver_impl.h,
 * compiled into each clock.
 */

/* --- events out ------------------------------------------------------------ */

void drv_event_init(const struct driver *d, struct event *ev, enum event_kind kind, log_usec t,
		    uint16_t pool)
{
	event_init(ev, kind);
	ev->ts = t;
	ev->pid = d->pool_pid[pool];
	ev->pool = d->pool_engine[pool];
	ev->flags = d->event_flags;
}

void drv_emit_conn(struct driver *d, enum event_kind kind, log_usec t, uint16_t pool, uint32_t conn,
		   const struct drv_job *j, const char *text2)
{
	struct event ev;
	char name[32];
	if (!d->sink.emit)
		return;
	drv_event_init(d, &ev, kind, t, pool);
	snprintf(name, sizeof(name), "p%u.c%u", (unsigned)pool, (unsigned)conn);
	ev.conn = name;
	ev.origin = j ? j->origin : ORIGIN_UNKNOWN;
	ev.text2 = text2;
	if (kind == EVENT_POOL_CHECKOUT && j && j->late)
		ev.flags |= EVENT_F_LATE_OK;
	d->sink.emit(d->sink.data, &ev);
}

void drv_emit_timeout(struct driver *d, log_usec t, const struct drv_job *j)
{
	struct event ev;
	const struct pool_config *pc = &d->pools[j->pool].cfg;
	if (!d->sink.emit)
		return;
	drv_event_init(d, &ev, EVENT_POOL_TIMEOUT, t, j->pool);
	ev.origin = j->origin;
	ev.text = "QueuePool";
	ev.u.timeout.pool_size = pc->pool_size;
	ev.u.timeout.max_overflow = pc->max_overflow;
	ev.u.timeout.timeout_usec = pc->timeout_usec;
	d->sink.emit(d->sink.data, &ev);
}

void drv_emit_http(struct driver *d, log_usec t, const struct drv_job *j, int status)
{
	struct event ev;
	uint32_t name;
	if (!d->sink.emit)
		return;
	name = d->wl->req[j->idx].name;
	drv_event_init(d, &ev, EVENT_HTTP_REQUEST, j->t_arrival, j->pool);
	ev.origin = ORIGIN_API;
	ev.dur = t - j->t_arrival;
	ev.text = d->ev_path[name];
	ev.text2 = d->ev_method[name];
	ev.u.http.status = status;
	d->sink.emit(d->sink.data, &ev);
}

void drv_emit_batch(struct driver *d, enum event_kind kind, log_usec t, uint32_t b, uint16_t pool)
{
	const struct wl_batch *wb = &d->wl->batch[b];
	struct event ev;
	if (!d->sink.emit)
		return;
	drv_event_init(d, &ev, kind, t, pool);
	ev.origin = ORIGIN_BATCH;
	ev.text = workload_name_str(d->wl, wb->name);
	ev.u.batch.entries = wb->entries;
	ev.u.batch.connections = wb->lanes;
	if (kind == EVENT_BATCH_END) {
		ev.dur = t - d->bs[b].started;
		ev.u.batch.processed = d->bs[b].failed ? -1 : wb->entries;
		ev.u.batch.commits = wb->commit == WL_COMMIT_GROUP ? (int32_t)wb->nholds : wb->lanes;
	}
	d->sink.emit(d->sink.data, &ev);
}

void drv_emit_stats(struct driver *d, log_usec now)
{
	if (!d->sink.emit)
		return;
	for (int32_t i = 0; i < d->npools; i++) {
		struct event ev;
		const struct pool *p = &d->pools[i];
		drv_event_init(d, &ev, EVENT_POOL_STATS, now, (uint16_t)i);
		ev.text = "status";
		ev.u.stats.pool_size = p->cfg.pool_size;
		ev.u.stats.checked_in = pool_idle(p);
		ev.u.stats.checked_out = p->checked_out;
		ev.u.stats.overflow = p->overflow;
		ev.u.stats.waiting = p->waiters;
		d->sink.emit(d->sink.data, &ev);
	}
}

/* --- processes and pools ------------------------------------------------------ */

int32_t drv_proc_index(const struct driver *d, int32_t pid)
{
	int32_t lo = 0, hi = d->nproc - 1;
	while (lo <= hi) {
		int32_t mid = (lo + hi) / 2;
		if (d->procs[mid] == pid)
			return mid;
		if (d->procs[mid] < pid)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	BUG("driver: pid %d not mapped", pid);
}

/* --- server threads and set-up ------------------------------------------------ */

void drv_thread_enqueue(struct driver *d, struct drv_proc *p, uint32_t ji)
{
	if (p->qn == p->qalloc) {
		uint32_t na = p->qalloc ? p->qalloc * 2 : 64;
		uint32_t *n = xmalloc(na * sizeof(*n));
		for (uint32_t i = 0; i < p->qn; i++)
			n[i] = p->q[(p->qhead + i) & (p->qalloc - 1)];
		free(p->q);
		p->q = n;
		p->qalloc = na;
		p->qhead = 0;
	}
	p->q[(p->qhead + p->qn) & (p->qalloc - 1)] = ji;
	p->qn++;
	d->jobs[ji].state = DRV_JS_QUEUED;
	if ((int32_t)p->qn > d->res->peak_server_queue)
		d->res->peak_server_queue = (int32_t)p->qn;
}

static void map_processes(struct driver *d)
{
	const struct workload *wl = d->wl;
	int32_t maxeng = 0;
	size_t n = 0;
	for (size_t i = 0; i < wl->nreq; i++)
		if (wl->req[i].engine > maxeng)
			maxeng = wl->req[i].engine;
	for (size_t i = 0; i < wl->nbatch; i++)
		if (wl->batch[i].engine > maxeng)
			maxeng = wl->batch[i].engine;
	d->nengines = maxeng + 1;
	if (d->cfg->workers > 0) {
		d->nproc = d->cfg->workers;
		d->procs = NULL;
		return;
	}
	/* distinct pids, sorted: few, and runs of one pid are long, so a
	 * last-seen check and an insertion into a small sorted array suffice */
	{
		size_t alloc = 0;
		int32_t last = 0;
		bool have_last = false;
		d->procs = NULL;
		for (size_t i = 0; i < wl->nreq + wl->nbatch; i++) {
			int32_t pid = i < wl->nreq ? wl->req[i].pid : wl->batch[i - wl->nreq].pid;
			size_t lo = 0, hi = n;
			if (have_last && pid == last)
				continue;
			last = pid;
			have_last = true;
			while (lo < hi) {
				size_t mid = (lo + hi) / 2;
				if (d->procs[mid] < pid)
					lo = mid + 1;
				else
					hi = mid;
			}
			if (lo < n && d->procs[lo] == pid)
				continue;
			ALLOC_GROW(d->procs, n + 1, alloc);
			memmove(d->procs + lo + 1, d->procs + lo, (n - lo) * sizeof(*d->procs));
			d->procs[lo] = pid;
			n++;
		}
		if (!n) {
			ALLOC_GROW(d->procs, 1, alloc);
			d->procs[n++] = 0;
		}
	}
	d->nproc = (int32_t)n;
}

/* "GET /api/v1/health" -> method "GET", path "/api/v1/health". */
static void split_names(struct driver *d)
{
	const struct workload *wl = d->wl;
	d->ev_method = xcalloc(wl->nnames + 1, sizeof(*d->ev_method));
	d->ev_path = xcalloc(wl->nnames + 1, sizeof(*d->ev_path));
	strtab_init(&d->ev_strings);
	for (size_t i = 0; i < wl->nnames; i++) {
		const char *n = wl->names[i], *sp = strchr(n, ' ');
		size_t k = 0;
		if (sp) {
			for (k = 0; n + k < sp && n[k] >= 'A' && n[k] <= 'Z'; k++)
				;
		}
		if (sp && n + k == sp && k > 0) {
			d->ev_method[i] = strtab_intern(&d->ev_strings, n, k);
			d->ev_path[i] = sp + 1;
		} else {
			d->ev_path[i] = *n ? n : NULL;
		}
	}
}

void drv_init(struct driver *d, const struct workload *wl, const struct sim_config *cfg,
	      struct sim_sink sink, uint32_t event_flags, void *clock, struct sim_result *res)
{
	uint32_t *last_in_proc;

	memset(d, 0, sizeof(*d));
	d->wl = wl;
	d->cfg = cfg;
	d->sink = sink;
	d->event_flags = event_flags;
	d->res = res;
	d->clock = clock;
	d->job_free = DRV_NONE;
	d->t0 = workload_start(wl);
	if (d->t0 == LOG_USEC_NONE)
		d->t0 = 0;
	res->start = res->end = d->t0;

	map_processes(d);
	d->npools = d->nproc * d->nengines;
	if (d->npools > UINT16_MAX)
		BUG("driver: %d pools", d->npools);
	res->npools = d->npools;
	d->pools = xcalloc((size_t)d->npools, sizeof(*d->pools));
	d->proc = xcalloc((size_t)d->nproc, sizeof(*d->proc));
	d->pool_pid = xcalloc((size_t)d->npools, sizeof(*d->pool_pid));
	d->pool_engine = xcalloc((size_t)d->npools, sizeof(*d->pool_engine));
	for (int32_t p = 0; p < d->npools; p++) {
		int32_t proc = p / d->nengines;
		pool_init(&d->pools[p], &cfg->pool);
		d->pool_pid[p] = cfg->workers > 0 ? proc + 1 : d->procs[proc];
		d->pool_engine[p] = (uint8_t)(p % d->nengines);
	}
	if (sink.emit)
		split_names(d);

	/* batch chains: one sequential worker per process */
	d->bs = xcalloc(wl->nbatch + 1, sizeof(*d->bs));
	last_in_proc = xmalloc(((size_t)d->nproc + 1) * sizeof(*last_in_proc));
	for (int32_t p = 0; p < d->nproc; p++)
		last_in_proc[p] = DRV_NONE;
	for (size_t b = 0; b < wl->nbatch; b++) {
		int32_t proc = cfg->workers > 0 ? 0 : drv_proc_index(d, wl->batch[b].pid);
		d->bs[b].prev = last_in_proc[proc];
		d->bs[b].next = DRV_NONE;
		if (last_in_proc[proc] != DRV_NONE)
			d->bs[last_in_proc[proc]].next = (uint32_t)b;
		last_in_proc[proc] = (uint32_t)b;
	}
	free(last_in_proc);
}

static void merge_origins(struct sim_result *r)
{
	struct sim_origin *a = &r->all;
	size_t n = 0;
	for (int i = 0; i < ORIGIN__COUNT; i++) {
		const struct sim_origin *o = &r->origin[i];
		a->attempts += o->attempts;
		a->checkouts += o->checkouts;
		a->waited += o->waited;
		a->timeouts += o->timeouts;
		a->refusals += o->refusals;
		a->late += o->late;
		a->waits.zero += o->waits.zero;
		n += o->waits.nonzero.nr;
	}
	if (!n)
		return;
	a->waits.nonzero.v = xmalloc(n * sizeof(int64_t));
	a->waits.nonzero.alloc = n;
	a->waits.nonzero.sorted = 0;
	for (int i = 0; i < ORIGIN__COUNT; i++) {
		const struct sample *s = &r->origin[i].waits.nonzero;
		if (s->nr)
			memcpy(a->waits.nonzero.v + a->waits.nonzero.nr, s->v, s->nr * sizeof(int64_t));
		a->waits.nonzero.nr += s->nr;
	}
}

void drv_totals(struct driver *d)
{
	struct sim_result *res = d->res;
	for (int32_t p = 0; p < d->npools; p++) {
		const struct pool_counters *c = &d->pools[p].c;
		res->checkouts += c->checkouts;
		res->timeouts += c->timeouts;
		res->late += c->late;
		res->connects += c->connects;
		res->closes += c->closes;
		res->handoffs += c->handoffs;
		res->refusals += c->connect_failures;
		if (c->peak_checked_out > res->peak_checked_out)
			res->peak_checked_out = c->peak_checked_out;
		if (p == 0 || c->peak_overflow > res->peak_overflow)
			res->peak_overflow = c->peak_overflow;
		if (c->peak_waiters > res->peak_waiters)
			res->peak_waiters = c->peak_waiters;
	}
	merge_origins(res);
}

void drv_release(struct driver *d)
{
	for (int32_t p = 0; p < d->npools; p++)
		pool_release(&d->pools[p]);
	for (int32_t p = 0; p < d->nproc; p++)
		free(d->proc[p].q);
	free(d->proc);
	free(d->pools);
	free(d->pool_pid);
	free(d->pool_engine);
	free(d->procs);
	free(d->jobs);
	free(d->bs);
	if (d->sink.emit) {
		free(d->ev_method);
		free(d->ev_path);
		strtab_release(&d->ev_strings);
	}
}
