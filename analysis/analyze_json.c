#include <stdio.h>
#include <string.h>
#include "analysis/analyze.h"
#include "core/banned.h"

/*
 * The `analyze --json` object (DESIGN.md "Interfaces that scripts rely
 * on").  Key order is fixed here and only ever extended; seconds have up to
 * 6 decimals, percentages 1; a figure the logs cannot give is null, never 0.
 */

static void kusec_or_null(struct jw *w, const char *key, double usec, bool known)
{
	jw_key(w, key);
	if (known)
		jw_num(w, usec / 1e6, 6);
	else
		jw_null(w);
}

/* {"count", "p50_s", "p95_s", "p99_s", "max_s", "mean_s"} */
static void dist_s(struct jw *w, const struct analysis_dist *d)
{
	bool k = d->count > 0;
	jw_obj_begin(w);
	jw_kint(w, "count", (int64_t)d->count);
	kusec_or_null(w, "p50_s", d->p50, k);
	kusec_or_null(w, "p95_s", d->p95, k);
	kusec_or_null(w, "p99_s", d->p99, k);
	kusec_or_null(w, "max_s", d->max, k);
	kusec_or_null(w, "mean_s", d->mean, k);
	jw_obj_end(w);
}

/* {"p50", "p95", "p99", "max"} in seconds, as DESIGN.md names them */
static void latency_s(struct jw *w, const struct analysis_dist *d)
{
	bool k = d->count > 0;
	jw_obj_begin(w);
	kusec_or_null(w, "p50", d->p50, k);
	kusec_or_null(w, "p95", d->p95, k);
	kusec_or_null(w, "p99", d->p99, k);
	kusec_or_null(w, "max", d->max, k);
	jw_obj_end(w);
}

static void http_part(struct jw *w, const struct http_part *p)
{
	jw_obj_begin(w);
	jw_kint(w, "requests", (int64_t)p->requests);
	jw_kint(w, "errors_5xx", (int64_t)p->errors_5xx);
	jw_kint(w, "errors_4xx", (int64_t)p->errors_4xx);
	jw_kint(w, "with_latency", (int64_t)p->timed);
	jw_key(w, "latency_s");
	latency_s(w, &p->latency);
	jw_obj_end(w);
}

static void kint_or_null(struct jw *w, const char *key, int64_t v, bool known)
{
	jw_key(w, key);
	if (known)
		jw_int(w, v);
	else
		jw_null(w);
}

static void ref(struct jw *w, const struct analysis *a, const struct analysis_ref *r)
{
	jw_obj_begin(w);
	jw_kts(w, "ts", r->ts);
	jw_kstr(w, "src", analysis_src_name(a, r->src));
	jw_kint(w, "line", r->line);
	jw_kstr(w, "kind", event_kind_name(r->kind));
	if (r->text)
		jw_kstr(w, "text", r->text);
	jw_obj_end(w);
}

static void inputs(struct jw *w, const struct analysis *a)
{
	jw_key(w, "inputs");
	jw_arr_begin(w);
	for (size_t i = 0; i < a->tl->nsrc; i++) {
		const struct source *s = &a->tl->src[i];
		jw_obj_begin(w);
		jw_kstr(w, "path", s->path);
		jw_kstr(w, "format", s->format);
		jw_kint(w, "lines", (int64_t)s->lines);
		jw_kint(w, "events", (int64_t)s->events);
		jw_kint(w, "unparsed", (int64_t)s->unparsed);
		jw_key(w, "unparsed_by_reason");
		jw_obj_begin(w);
		for (int r = 1; r < UNPARSED__COUNT; r++)
			if (s->by_reason[r])
				jw_kint(w, unparsed_reason_name(r), (int64_t)s->by_reason[r]);
		jw_obj_end(w);
		jw_kbool(w, "zone_assumed", s->zone_assumed);
		if (s->read_error)
			jw_kstr(w, "read_error", s->read_error);
		jw_obj_end(w);
	}
	jw_arr_end(w);
}

static void pool(struct jw *w, const struct analysis *a)
{
	const struct pool_config *c = &a->config;
	jw_key(w, "pool");
	jw_obj_begin(w);
	jw_key(w, "config");
	jw_obj_begin(w);
	kint_or_null(w, "pool_size", c->pool_size, c->pool_size >= 0);
	kint_or_null(w, "max_overflow", c->max_overflow, c->max_overflow != INT32_MIN);
	kusec_or_null(w, "timeout_s", (double)c->timeout_usec, c->timeout_usec >= 0);
	jw_kstr(w, "from", c->from);
	jw_kint(w, "variants_seen", (int64_t)a->config_variants);
	jw_obj_end(w);
	kint_or_null(w, "capacity", a->capacity, a->capacity >= 0);
	jw_kint(w, "timeouts", (int64_t)a->timeouts);
	jw_kts(w, "first_timeout", a->first_timeout);
	jw_kts(w, "last_timeout", a->last_timeout);
	{
		uint32_t mx = 0;
		for (size_t b = 0; b < a->nbuckets; b++)
			if (a->buckets[b].timeouts > mx)
				mx = a->buckets[b].timeouts;
		jw_kint(w, "timeouts_max_per_bucket", mx);
	}
	kint_or_null(w, "checkouts", a->checkouts, a->checkouts >= 0);
	kint_or_null(w, "peak_checked_out", a->peak_out, a->peak_out >= 0);
	kint_or_null(w, "peak_overflow", a->peak_overflow, a->peak_overflow != INT32_MIN);
	jw_kts(w, "peak_at", a->peak_at);
	jw_kstr(w, "peak_from", a->peak_from);
	jw_kint(w, "pools", (int64_t)a->pools);
	jw_key(w, "per_pool");
	jw_arr_begin(w);
	for (size_t i = 0; i < a->npool_parts; i++) {
		const struct pool_part *pp = &a->pool_parts[i];
		jw_obj_begin(w);
		kint_or_null(w, "pid", pp->pid, pp->pid != 0);
		jw_kstr(w, "src", pp->pid ? NULL : analysis_src_name(a, pp->src));
		jw_kint(w, "checkouts", pp->checkouts);
		jw_kint(w, "peak_checked_out", pp->peak_out);
		kint_or_null(w, "peak_overflow", pp->peak_overflow, pp->peak_overflow != INT32_MIN);
		jw_kint(w, "timeouts", (int64_t)pp->timeouts);
		jw_obj_end(w);
	}
	jw_arr_end(w);
	jw_key(w, "peak_usage_pct");
	if (a->peak_usage_pct >= 0)
		jw_num(w, a->peak_usage_pct, 1);
	else
		jw_null(w);
	jw_key(w, "peak_usage_pct_during_batches");
	if (a->batch_peak_usage_pct >= 0)
		jw_num(w, a->batch_peak_usage_pct, 1);
	else
		jw_null(w);
	jw_key(w, "status_buckets");
	jw_obj_begin(w);
	for (int l = LEVEL_HEALTHY; l < LEVEL__COUNT; l++)
		jw_kint(w, pool_level_name(l), (int64_t)a->level_buckets[l]);
	jw_kint(w, "unknown", (int64_t)a->level_buckets[LEVEL_UNKNOWN]);
	jw_obj_end(w);
	jw_kint(w, "stats_samples", (int64_t)a->stats_samples);
	jw_obj_end(w);
}

static void holds(struct jw *w, const struct analysis *a)
{
	const struct hold_set *hs = &a->holds;
	jw_key(w, "holds");
	jw_obj_begin(w);
	jw_kstr(w, "evidence", hold_evidence_name(hs->best));
	jw_kstr(w, "evidence_description", hold_evidence_describe(hs->best));
	jw_kint(w, "count", (int64_t)a->hold.count);
	kusec_or_null(w, "p50_s", a->hold.p50, a->hold.count > 0);
	kusec_or_null(w, "p95_s", a->hold.p95, a->hold.count > 0);
	kusec_or_null(w, "p99_s", a->hold.p99, a->hold.count > 0);
	kusec_or_null(w, "max_s", a->hold.max, a->hold.count > 0);
	kusec_or_null(w, "mean_s", a->hold.mean, a->hold.count > 0 || hs->best == HOLD_EV_LITTLE);
	jw_key(w, "by_origin");
	jw_obj_begin(w);
	jw_key(w, "api");
	dist_s(w, &a->hold_by_origin[ORIGIN_API]);
	jw_key(w, "batch");
	dist_s(w, &a->hold_by_origin[ORIGIN_BATCH]);
	jw_key(w, "unknown");
	dist_s(w, &a->hold_by_origin[ORIGIN_UNKNOWN]);
	jw_obj_end(w);
	jw_kint(w, "matched_to_requests", (int64_t)a->holds_matched);
	jw_kint(w, "open_at_end", (int64_t)hs->open_at_end);
	jw_kint(w, "returned_without_checkout", (int64_t)hs->no_start);
	jw_kint(w, "return_missing", (int64_t)hs->lost);
	jw_kint(w, "closed_while_out", (int64_t)hs->closed_out);
	jw_kint(w, "reconnected_while_out", (int64_t)hs->carried);
	jw_key(w, "evidence_available");
	jw_obj_begin(w);
	for (int e = HOLD_EV__COUNT - 1; e > HOLD_EV_LITTLE; e--)
		jw_kint(w, hold_evidence_name(e), (int64_t)hs->complete[e]);
	jw_obj_end(w);
	jw_key(w, "littles_law");
	jw_obj_begin(w);
	jw_kint(w, "samples", (int64_t)hs->little_samples);
	jw_key(w, "mean_checked_out");
	if (hs->little_samples)
		jw_num(w, hs->little_mean_out, 3);
	else
		jw_null(w);
	jw_key(w, "checkouts_per_s");
	if (hs->little_rate > 0)
		jw_num(w, hs->little_rate, 3);
	else
		jw_null(w);
	jw_kstr(w, "rate_from", hs->little_rate_from);
	kusec_or_null(w, "mean_hold_s", (double)hs->little_mean_hold,
		      hs->little_mean_hold != EVENT_NO_DURATION);
	jw_obj_end(w);
	jw_obj_end(w);
}

static void batches(struct jw *w, const struct analysis *a)
{
	jw_key(w, "batches");
	jw_obj_begin(w);
	jw_kint(w, "count", (int64_t)a->nbatches);
	kint_or_null(w, "entries_min", a->batch_entries_min, a->batch_entries_min >= 0);
	kint_or_null(w, "entries_max", a->batch_entries_max, a->batch_entries_max >= 0);
	kint_or_null(w, "commits_min", a->batch_commits_min, a->batch_commits_min >= 0);
	kint_or_null(w, "commits_max", a->batch_commits_max, a->batch_commits_max >= 0);
	jw_key(w, "duration_s");
	dist_s(w, &a->batch_dur);
	jw_key(w, "list");
	jw_arr_begin(w);
	for (size_t i = 0; i < a->holds.nbatches; i++) {
		const struct batch_window *b = &a->holds.batches[i];
		jw_obj_begin(w);
		jw_kstr(w, "name", b->name);
		jw_kts(w, "start", b->start);
		jw_kts(w, "end", b->end);
		jw_kts(w, "over_by", b->end == LOG_USEC_NONE ? b->end_bound : LOG_USEC_NONE);
		{
			bool known = b->start != LOG_USEC_NONE && b->end != LOG_USEC_NONE;
			kusec_or_null(w, "duration_s", known ? (double)(b->end - b->start) : 0, known);
		}
		kint_or_null(w, "entries", b->entries, b->entries >= 0);
		kint_or_null(w, "processed", b->processed, b->processed >= 0);
		kint_or_null(w, "connections", b->connections, b->connections >= 0);
		kint_or_null(w, "commits", b->commits, b->commits >= 0);
		jw_kstr(w, "src", analysis_src_name(a, b->line ? b->src : b->end_src));
		jw_kint(w, "line", b->line);
		jw_obj_end(w);
	}
	jw_arr_end(w);
	jw_obj_end(w);
}

static void http(struct jw *w, const struct analysis *a)
{
	size_t n = a->nendpoints < a->opts.max_endpoints ? a->nendpoints : a->opts.max_endpoints;
	jw_key(w, "http");
	jw_obj_begin(w);
	jw_kint(w, "requests", (int64_t)a->http.requests);
	jw_key(w, "status");
	jw_obj_begin(w);
	for (size_t i = 0; i < a->nstatus; i++) {
		char code[16];
		snprintf(code, sizeof(code), "%d", (int)a->status[i].status);
		jw_kint(w, code, (int64_t)a->status[i].n);
	}
	jw_obj_end(w);
	jw_kint(w, "errors_5xx", (int64_t)a->http.errors_5xx);
	jw_kint(w, "with_latency", (int64_t)a->http.timed);
	jw_key(w, "latency_s");
	latency_s(w, &a->http.latency);
	jw_kstr(w, "latency_from", a->http.timed ? "access_log" : NULL);
	jw_kint(w, "untimed", (int64_t)a->http_untimed);
	jw_key(w, "during_batches");
	http_part(w, &a->http_during);
	jw_key(w, "outside_batches");
	http_part(w, &a->http_outside);
	jw_key(w, "endpoints");
	jw_arr_begin(w);
	for (size_t i = 0; i < n; i++) {
		const struct endpoint_stats *e = &a->endpoints[i];
		jw_obj_begin(w);
		jw_kstr(w, "method", e->method);
		jw_kstr(w, "path", e->path);
		jw_kint(w, "requests", (int64_t)e->http.requests);
		jw_kint(w, "errors_5xx", (int64_t)e->http.errors_5xx);
		jw_key(w, "latency_s");
		latency_s(w, &e->http.latency);
		jw_key(w, "hold_s");
		dist_s(w, &e->hold);
		jw_obj_end(w);
	}
	jw_arr_end(w);
	jw_obj_end(w);
}

static void postgres(struct jw *w, const struct analysis *a)
{
	jw_key(w, "postgres");
	jw_obj_begin(w);
	jw_kint(w, "connections", (int64_t)a->pg_connections);
	jw_kint(w, "disconnections", (int64_t)a->pg_disconnections);
	jw_kint(w, "too_many_clients", (int64_t)a->pg_too_many);
	jw_key(w, "session_s");
	dist_s(w, &a->pg_session);
	jw_kint(w, "slow_statements", (int64_t)a->pg_slow);
	jw_key(w, "slow_statement_s");
	dist_s(w, &a->pg_slow_dur);
	jw_kint(w, "lock_waits", (int64_t)a->pg_lock_waits);
	jw_key(w, "lock_wait_s");
	dist_s(w, &a->pg_lock_dur);
	jw_kint(w, "deadlocks", (int64_t)a->pg_deadlocks);
	jw_kint(w, "cancels", (int64_t)a->pg_cancels);
	jw_kint(w, "errors", (int64_t)a->pg_errors);
	jw_key(w, "slowest");
	if (a->pg_slowest.kind)
		ref(w, a, &a->pg_slowest);
	else
		jw_null(w);
	jw_obj_end(w);
}

static void incidents(struct jw *w, const struct analysis *a)
{
	jw_key(w, "incidents");
	jw_arr_begin(w);
	for (size_t i = 0; i < a->nincidents; i++) {
		const struct analysis_incident *in = &a->incidents[i];
		jw_obj_begin(w);
		jw_kts(w, "start", in->start);
		jw_kts(w, "end", in->end);
		jw_kusec_s(w, "duration_s", in->end - in->start);
		jw_kint(w, "timeouts", in->timeouts);
		jw_kint(w, "http_errors", in->http_errors);
		jw_kint(w, "too_many_clients", in->too_many_clients);
		jw_kint(w, "exhausted_buckets", in->exhausted_buckets);
		kint_or_null(w, "peak_checked_out", in->peak_out, in->peak_out >= 0);
		jw_key(w, "evidence");
		jw_arr_begin(w);
		for (size_t r = 0; r < in->nrefs; r++)
			ref(w, a, &in->refs[r]);
		jw_arr_end(w);
		jw_kint(w, "batches_running", (int64_t)in->nbatches);
		jw_key(w, "batches");
		jw_arr_begin(w);
		for (size_t b = 0; b < in->nbatches && b < INCIDENT_MAX_BATCHES; b++) {
			const struct batch_window *bw = &a->holds.batches[in->batch_idx[b]];
			jw_obj_begin(w);
			jw_kstr(w, "name", bw->name);
			jw_kts(w, "start", bw->start);
			jw_kts(w, "end", bw->end);
			kint_or_null(w, "entries", bw->entries, bw->entries >= 0);
			jw_kstr(w, "src", analysis_src_name(a, bw->src));
			jw_kint(w, "line", bw->line);
			jw_obj_end(w);
		}
		jw_arr_end(w);
		jw_kint(w, "held_at_start", (int64_t)in->held_at_start);
		jw_key(w, "top_holders");
		jw_arr_begin(w);
		for (size_t h = 0; h < in->nholders; h++) {
			size_t idx = in->holder_idx[h];
			const struct hold *hd = hold_at(&a->holds, idx);
			jw_obj_begin(w);
			jw_kstr(w, "conn", hd->conn);
			jw_kstr(w, "name", hd->name);
			jw_kstr(w, "origin", event_origin_name(hd->origin));
			jw_kts(w, "start", hd->start);
			jw_kts(w, "end", hd->end);
			kusec_or_null(w, "duration_s", (double)hd->dur, hold_complete(hd));
			jw_kstr(w, "src", analysis_src_name(a, hd->src));
			jw_kint(w, "line", hd->line);
			jw_obj_end(w);
		}
		jw_arr_end(w);
		jw_obj_end(w);
	}
	jw_arr_end(w);
}

static void series(struct jw *w, const struct analysis *a)
{
	jw_key(w, "series");
	jw_obj_begin(w);
	jw_kusec_s(w, "bucket_s", a->bucket_usec);
	jw_key(w, "buckets");
	jw_arr_begin(w);
	for (size_t i = 0; i < a->nbuckets; i++) {
		const struct analysis_bucket *b = &a->buckets[i];
		bool pct = a->capacity > 0 && b->peak_out >= 0;
		jw_obj_begin(w);
		jw_kts(w, "start", b->start);
		jw_kint(w, "timeouts", b->timeouts);
		jw_kint(w, "checkouts", b->checkouts);
		jw_kint(w, "requests", b->requests);
		jw_kint(w, "errors_5xx", b->http_5xx);
		kint_or_null(w, "checked_out_max", b->peak_out, b->peak_out >= 0);
		kint_or_null(w, "overflow_max", b->peak_overflow, b->peak_overflow != INT32_MIN);
		jw_key(w, "usage_pct");
		if (pct)
			jw_num(w, 100.0 * b->peak_out / a->capacity, 1);
		else
			jw_null(w);
		jw_kstr(w, "level", pool_level_name(b->level));
		jw_kbool(w, "batch", b->in_batch);
		kusec_or_null(w, "latency_p50_s", b->lat_p50, b->lat_n > 0);
		kusec_or_null(w, "latency_p95_s", b->lat_p95, b->lat_n > 0);
		jw_obj_end(w);
	}
	jw_arr_end(w);
	jw_obj_end(w);
}

void analysis_write_json_fields(const struct analysis *a, struct jw *w)
{
	inputs(w, a);
	jw_key(w, "span");
	jw_obj_begin(w);
	jw_kts(w, "start", a->start);
	jw_kts(w, "end", a->end);
	kusec_or_null(w, "duration_s", (double)(a->end - a->start), a->start != LOG_USEC_NONE);
	jw_obj_end(w);
	jw_kint(w, "events", (int64_t)a->events);
	jw_kint(w, "duplicates_dropped", (int64_t)a->duplicates);
	/* only past the cap, so runs under it keep their exact output */
	if (a->approx_dists)
		jw_kstr(w, "percentile_method", "histogram");
	pool(w, a);
	holds(w, a);
	batches(w, a);
	http(w, a);
	postgres(w, a);
	incidents(w, a);
	series(w, a);
}

void analysis_write_json(const struct analysis *a, struct jw *w)
{
	jw_obj_begin(w);
	analysis_write_json_fields(a, w);
	jw_obj_end(w);
}

static void tsv_field(struct strbuf *o, const char *s)
{
	for (; s && *s; s++)
		strbuf_addch(o, (*s == '\t' || *s == '\n' || *s == '\r') ? ' ' : *s);
}

/* o into fp (if any), emptied; -1 on a write error. */
static int tsv_flush(struct strbuf *o, FILE *fp)
{
	if (!fp)
		return 0;
	if (fwrite(o->buf, 1, o->len, fp) != o->len)
		return -1;
	strbuf_reset(o);
	return 0;
}

/* The TSV into o; with fp, o is emptied into fp whenever it passes 64 KiB
 * and at the end.  Returns -1 on a write error. */
static int holds_tsv(const struct analysis *a, struct strbuf *o, FILE *fp)
{
	static const char *const flag_names[] = { "open", "no_start", "lost", "closed_out", "carried" };
	strbuf_addstr(o, "start\tend\tduration_s\tconn\torigin\tevidence\tflags\tendpoint\tsrc\tline\n");
	for (size_t i = 0; i < a->holds.nr; i++) {
		const struct hold *h = hold_at(&a->holds, i);
		char iso[32];
		int nf = 0;
		if (h->start != LOG_USEC_NONE) {
			logtime_format_iso(h->start, iso);
			strbuf_addstr(o, iso);
		}
		strbuf_addch(o, '\t');
		if (h->end != LOG_USEC_NONE) {
			logtime_format_iso(h->end, iso);
			strbuf_addstr(o, iso);
		}
		strbuf_addch(o, '\t');
		if (hold_complete(h))
			strbuf_addf(o, "%.6f", (double)h->dur / 1e6);
		strbuf_addch(o, '\t');
		tsv_field(o, h->conn ? h->conn : h->name);
		strbuf_addf(o, "\t%s\t%s\t", event_origin_name(h->origin),
			    hold_evidence_name(h->evidence));
		for (int f = 0; f < 5; f++)
			if (h->flags & (1u << f))
				strbuf_addf(o, "%s%s", nf++ ? "," : "", flag_names[f]);
		strbuf_addch(o, '\t');
		if (h->endpoint >= 0) {
			const struct endpoint_stats *e = &a->endpoints[h->endpoint];
			if (e->method) {
				tsv_field(o, e->method);
				strbuf_addch(o, ' ');
			}
			tsv_field(o, e->path);
		}
		strbuf_addch(o, '\t');
		tsv_field(o, analysis_src_name(a, h->src));
		strbuf_addf(o, "\t%u\n", h->line);
		if (o->len > 65536 && tsv_flush(o, fp) < 0)
			return -1;
	}
	return tsv_flush(o, fp);
}

void analysis_write_holds_tsv(const struct analysis *a, struct strbuf *o)
{
	(void)holds_tsv(a, o, NULL);
}

int analysis_write_holds_tsv_file(const struct analysis *a, FILE *fp)
{
	struct strbuf o = STRBUF_INIT;
	int ret = holds_tsv(a, &o, fp);
	strbuf_release(&o);
	return ret;
}
