#include <stdio.h>
#include <string.h>
#include "analysis/analyze.h"
#include "analysis/textfmt.h"
#include "core/banned.h"

/*
 * The review for people.  Order: what happened (incidents with time, size
 * and evidence), the likely cause, how bad (pool, HTTP, PostgreSQL), hold
 * times with their evidence, then the inputs.  Every finding carries the
 * file:line it rests on.  Text from logs is passed through tf_clean() so a
 * terminal never sees control characters from a log.
 */

static int64_t window_len(const struct analysis *a, const struct batch_window *w)
{
	log_usec e = batch_window_end(w, a->end);
	return w->start != LOG_USEC_NONE && e != LOG_USEC_NONE ? e - w->start : 0;
}

/* The batch whose holders did most to an incident (most connections held,
 * else longest), or SIZE_MAX. */
static size_t main_batch(const struct analysis *a, const struct analysis_incident *in)
{
	size_t best = SIZE_MAX;
	for (size_t i = 0; i < in->nbatches && i < INCIDENT_MAX_BATCHES; i++) {
		size_t b = in->batch_idx[i];
		const struct batch_stats *st = &a->batch_stats[b];
		const struct batch_window *w = &a->holds.batches[b];
		if (best == SIZE_MAX) {
			best = b;
			continue;
		}
		const struct batch_stats *bs = &a->batch_stats[best];
		const struct batch_window *bw = &a->holds.batches[best];
		if (st->peak_conns > bs->peak_conns ||
		    (st->peak_conns == bs->peak_conns && st->timeouts > bs->timeouts) ||
		    (st->peak_conns == bs->peak_conns && st->timeouts == bs->timeouts &&
		     window_len(a, w) > window_len(a, bw)))
			best = b;
	}
	return best;
}

/* One sentence: what most likely caused the incident. */
void analysis_likely_cause(const struct analysis *a, const struct analysis_incident *in,
			   struct strbuf *out, bool md)
{
	size_t b = main_batch(a, in);
	const char *what = in->timeouts ? "API requests timed out" :
			   in->http_errors ? "API requests failed" :
			   in->too_many_clients ? "PostgreSQL refused connections" : "the pool ran full";
	if (b != SIZE_MAX) {
		const struct batch_window *w = &a->holds.batches[b];
		const struct batch_stats *st = &a->batch_stats[b];
		strbuf_addstr(out, "batch ");
		tf_quoted(out, w->name ? w->name : "(unnamed)", md);
		if (w->entries >= 0)
			strbuf_addf(out, " (%d entries)", (int)w->entries);
		if (st->peak_conns > 0 && st->hold.count) {
			strbuf_addf(out, " held %d connection%s for ", (int)st->peak_conns,
				    st->peak_conns == 1 ? "" : "s");
			tf_dur_range(out, st->held_min, st->hold.max);
		} else if (w->start != LOG_USEC_NONE && w->end != LOG_USEC_NONE) {
			strbuf_addstr(out, " ran for ");
			tf_dur(out, (double)(w->end - w->start));
		} else {
			strbuf_addstr(out, " was running (no end line)");
		}
		strbuf_addf(out, " while %s", what);
		if (st->timeouts)
			strbuf_addf(out, " (%zu timeouts while it ran)", st->timeouts);
		strbuf_addstr(out, " [");
		tf_ref(out, a, w->src, w->line, md);
		strbuf_addstr(out, "]");
		if (in->nbatches > 1)
			strbuf_addf(out, "; %zu batches overlapped the incident", in->nbatches);
		return;
	}
	if (in->nholders) {
		const struct hold *h = hold_at(&a->holds, in->holder_idx[0]);
		strbuf_addf(out, "no batch ran; the longest hold was ");
		if (hold_complete(h))
			tf_dur(out, (double)h->dur);
		else
			strbuf_addstr(out, "never returned");
		strbuf_addf(out, " (%s, ", event_origin_name(h->origin));
		tf_ref(out, a, h->src, h->line, md);
		strbuf_addf(out, ") while %s", what);
		return;
	}
	strbuf_addf(out, "%s; these logs do not show who held the connections "
			 "(enable echo_pool=\"debug\" or log batch start/end)", what);
}

static void incident_text(struct strbuf *o, const struct analysis *a, size_t i)
{
	const struct analysis_incident *in = &a->incidents[i];
	strbuf_addf(o, "  %zu. ", i + 1);
	tf_time(o, in->start);
	strbuf_addstr(o, " - ");
	tf_time(o, in->end);
	strbuf_addstr(o, " (");
	tf_dur(o, (double)(in->end - in->start));
	strbuf_addf(o, "): %u pool timeout%s, %u HTTP 5xx", in->timeouts, in->timeouts == 1 ? "" : "s",
		    in->http_errors);
	if (in->too_many_clients)
		strbuf_addf(o, ", %u 'too many clients'", in->too_many_clients);
	if (in->peak_out >= 0) {
		strbuf_addf(o, "; peak %d checked out", (int)in->peak_out);
		if (a->capacity > 0)
			strbuf_addf(o, " of %d", (int)a->capacity);
	}
	strbuf_addstr(o, "\n     likely cause: ");
	analysis_likely_cause(a, in, o, false);
	strbuf_addch(o, '\n');
	if (in->nholders) {
		strbuf_addstr(o, "     longest holders:");
		for (size_t h = 0; h < in->nholders && h < 3; h++) {
			const struct hold *hd = hold_at(&a->holds, in->holder_idx[h]);
			strbuf_addstr(o, h ? ";" : "");
			strbuf_addch(o, ' ');
			if (hd->conn)
				tf_clean(o, hd->conn, 40);
			else if (hd->name)
				tf_clean(o, hd->name, 40);
			strbuf_addf(o, " (%s) ", event_origin_name(hd->origin));
			if (hold_complete(hd))
				tf_dur(o, (double)hd->dur);
			else
				strbuf_addstr(o, "not returned");
			strbuf_addstr(o, " from ");
			tf_time(o, hd->start);
			strbuf_addch(o, ' ');
			tf_ref(o, a, hd->src, hd->line, false);
		}
		strbuf_addch(o, '\n');
	}
	if (in->nrefs) {
		strbuf_addstr(o, "     evidence:");
		for (size_t r = 0; r < in->nrefs; r++) {
			strbuf_addstr(o, r ? "," : "");
			strbuf_addch(o, ' ');
			tf_ref(o, a, in->refs[r].src, in->refs[r].line, false);
			strbuf_addf(o, " %s", event_kind_name(in->refs[r].kind));
		}
		strbuf_addch(o, '\n');
	}
}

static void dist_line(struct strbuf *o, const char *label, const struct analysis_dist *d)
{
	strbuf_addf(o, "  %-8s n=%-7zu", label, d->count);
	if (!d->count) {
		strbuf_addstr(o, " -\n");
		return;
	}
	strbuf_addstr(o, " p50 ");
	tf_dur(o, d->p50);
	strbuf_addstr(o, "  p95 ");
	tf_dur(o, d->p95);
	strbuf_addstr(o, "  p99 ");
	tf_dur(o, d->p99);
	strbuf_addstr(o, "  max ");
	tf_dur(o, d->max);
	strbuf_addch(o, '\n');
}

void analysis_write_text(const struct analysis *a, struct strbuf *o)
{
	const struct hold_set *hs = &a->holds;
	strbuf_addstr(o, "poolscope review: ");
	if (a->start == LOG_USEC_NONE) {
		strbuf_addstr(o, "no timed events in these logs\n");
	} else {
		tf_iso(o, a->start);
		strbuf_addstr(o, " to ");
		tf_iso(o, a->end);
		strbuf_addstr(o, " (");
		tf_dur(o, (double)(a->end - a->start));
		strbuf_addf(o, "), %zu input%s, %zu events\n", a->tl->nsrc, a->tl->nsrc == 1 ? "" : "s",
			    a->events);
	}

	strbuf_addstr(o, "\nWhat happened\n");
	if (!a->nincidents) {
		strbuf_addstr(o, "  No incident: no pool timeouts, HTTP 5xx, 'too many clients' or pool "
				 "exhaustion in these logs.\n");
	} else {
		strbuf_addf(o, "  %zu incident%s (", a->nincidents, a->nincidents == 1 ? "" : "s");
		strbuf_addstr(o, "steps with a timeout, 5xx, refusal or a full pool, merged across gaps under ");
		tf_step(o, a->opts.incident_gap_usec);
		strbuf_addstr(o, "):\n");
		for (size_t i = 0; i < a->nincidents; i++)
			incident_text(o, a, i);
	}

	strbuf_addstr(o, "\nPool\n");
	if (a->config.from) {
		strbuf_addstr(o, "  settings: ");
		tf_pool_config(o, &a->config);
		strbuf_addf(o, " (from %s", a->config.from);
		if (a->config_variants > 1)
			strbuf_addf(o, "; %zu different settings in timeout messages, the most frequent shown",
				    a->config_variants);
		strbuf_addstr(o, ")\n");
	} else {
		strbuf_addstr(o, "  settings: unknown (no timeout message or pool-stat line; use --pool)\n");
	}
	strbuf_addf(o, "  timeouts: %zu", a->timeouts);
	if (a->timeouts) {
		strbuf_addstr(o, ", first ");
		tf_time(o, a->first_timeout);
		strbuf_addch(o, ' ');
		tf_ref(o, a, a->first_timeout_ref.src, a->first_timeout_ref.line, false);
		strbuf_addstr(o, ", last ");
		tf_time(o, a->last_timeout);
		if (a->nbatches)
			strbuf_addf(o, "; %zu while a batch ran", a->timeouts_during_batches);
	}
	strbuf_addch(o, '\n');
	if (a->checkouts >= 0)
		strbuf_addf(o, "  checkouts: %ld\n", a->checkouts);
	if (a->peak_out >= 0) {
		strbuf_addf(o, "  peak checked out: %d", (int)a->peak_out);
		if (a->capacity > 0)
			strbuf_addf(o, " of %d (%.0f %%)", (int)a->capacity, a->peak_usage_pct);
		if (a->peak_overflow != INT32_MIN)
			strbuf_addf(o, ", overflow %d", (int)a->peak_overflow);
		strbuf_addstr(o, " at ");
		tf_time(o, a->peak_at);
		strbuf_addf(o, " (from %s)\n", !strcmp(a->peak_from, "pool_debug") ?
				"pool debug checkouts/returns" : "pool-stat samples, a lower bound");
	}
	if (a->npool_parts > 1) {
		strbuf_addf(o, "  %zu pools (one per process and engine):", a->npool_parts);
		for (size_t i = 0; i < a->npool_parts; i++) {
			const struct pool_part *pp = &a->pool_parts[i];
			strbuf_addstr(o, i ? ";" : "");
			if (pp->pid)
				strbuf_addf(o, " pid %d", (int)pp->pid);
			else {
				strbuf_addch(o, ' ');
				tf_clean(o, analysis_src_name(a, pp->src), 80);
			}
			strbuf_addf(o, " %ld checkouts, peak %d, %zu timeouts", pp->checkouts, (int)pp->peak_out,
				    pp->timeouts);
		}
		strbuf_addch(o, '\n');
	}
	if (a->nbuckets) {
		strbuf_addf(o, "  status per ");
		tf_step(o, a->bucket_usec);
		strbuf_addf(o, ": %zu healthy, %zu warning (> %.0f %%), %zu exhausted, %zu unknown\n",
			    a->level_buckets[LEVEL_HEALTHY], a->level_buckets[LEVEL_WARNING],
			    a->opts.warn_pct, a->level_buckets[LEVEL_EXHAUSTED],
			    a->level_buckets[LEVEL_UNKNOWN]);
	}

	strbuf_addf(o, "\nHold times (%s)\n", hold_evidence_describe(hs->best));
	if (hs->best == HOLD_EV_LITTLE) {
		strbuf_addstr(o, "  mean ");
		tf_dur(o, (double)hs->little_mean_hold);
		strbuf_addf(o, " = %.2f checked out on average / %.2f checkouts per s (from %s)\n",
			    hs->little_mean_out, hs->little_rate, hs->little_rate_from);
	} else if (hs->best != HOLD_EV_NONE) {
		dist_line(o, "all", &a->hold);
		if (hs->best == HOLD_EV_POOL_DEBUG) {
			dist_line(o, "api", &a->hold_by_origin[ORIGIN_API]);
			dist_line(o, "batch", &a->hold_by_origin[ORIGIN_BATCH]);
			if (a->hold_by_origin[ORIGIN_UNKNOWN].count)
				dist_line(o, "unknown", &a->hold_by_origin[ORIGIN_UNKNOWN]);
		}
		if (hs->open_at_end || hs->no_start || hs->lost)
			strbuf_addf(o, "  not in the figures: %zu never returned before the log ended, "
				       "%zu returned with the checkout before the log began, %zu with the "
				       "return line missing\n", hs->open_at_end, hs->no_start, hs->lost);
	}
	for (size_t b = 0; b < a->nbatches && b < 12; b++) {
		const struct batch_window *w = &hs->batches[b];
		const struct batch_stats *st = &a->batch_stats[b];
		if (!b)
			strbuf_addstr(o, "  batches:\n");
		strbuf_addstr(o, "    ");
		tf_time(o, w->start);
		strbuf_addch(o, ' ');
		tf_clean(o, w->name ? w->name : "(unnamed)", 40);
		if (w->entries >= 0)
			strbuf_addf(o, " %d entries", (int)w->entries);
		strbuf_addstr(o, ", ");
		if (w->start != LOG_USEC_NONE && w->end != LOG_USEC_NONE)
			tf_dur(o, (double)(w->end - w->start));
		else
			strbuf_addstr(o, "unfinished");
		if (st->peak_conns >= 0)
			strbuf_addf(o, ", up to %d connections", (int)st->peak_conns);
		if (st->hold.count) {
			strbuf_addstr(o, " held ");
			tf_dur_range(o, st->held_min, st->hold.max);
		}
		if (w->commits >= 0)
			strbuf_addf(o, ", %d commits", (int)w->commits);
		if (st->timeouts)
			strbuf_addf(o, ", %zu timeouts meanwhile", st->timeouts);
		strbuf_addch(o, ' ');
		tf_ref(o, a, w->src, w->line, false);
		strbuf_addch(o, '\n');
	}
	if (a->nbatches > 12)
		strbuf_addf(o, "    ... %zu more\n", a->nbatches - 12);

	strbuf_addstr(o, "\nHTTP\n");
	if (!a->http.requests) {
		strbuf_addstr(o, "  no access-log lines\n");
	} else {
		strbuf_addf(o, "  %zu requests, %zu 5xx (%.1f %%), status:", a->http.requests,
			    a->http.errors_5xx, 100.0 * a->http.errors_5xx / a->http.requests);
		for (size_t s = 0; s < a->nstatus; s++)
			strbuf_addf(o, " %d=%zu", (int)a->status[s].status, a->status[s].n);
		strbuf_addch(o, '\n');
		if (!a->http.timed) {
			strbuf_addstr(o, "  latency: not in these logs (uvicorn access lines carry none; "
					 "gunicorn %(D)s or nginx $request_time do)\n");
		} else {
			dist_line(o, "latency", &a->http.latency);
		}
		if (a->http_untimed)
			strbuf_addf(o, "  %zu requests carry no time (uvicorn access lines have none): counted, "
				       "not placed in time\n", a->http_untimed);
		if (a->nbatches && a->http_untimed < a->http.requests) {
			strbuf_addf(o, "  during batches: %zu requests, %zu 5xx", a->http_during.requests,
				    a->http_during.errors_5xx);
			if (a->http_during.timed) {
				strbuf_addstr(o, ", p95 ");
				tf_dur(o, a->http_during.latency.p95);
			}
			strbuf_addf(o, "; outside: %zu requests, %zu 5xx", a->http_outside.requests,
				    a->http_outside.errors_5xx);
			if (a->http_outside.timed) {
				strbuf_addstr(o, ", p95 ");
				tf_dur(o, a->http_outside.latency.p95);
			}
			strbuf_addch(o, '\n');
		}
	}

	if (a->pg_connections || a->pg_disconnections || a->pg_too_many || a->pg_slow ||
	    a->pg_lock_waits || a->pg_errors) {
		strbuf_addstr(o, "\nPostgreSQL\n");
		strbuf_addf(o, "  %zu connections, %zu disconnections", a->pg_connections,
			    a->pg_disconnections);
		if (a->pg_session.count) {
			strbuf_addstr(o, ", session p50 ");
			tf_dur(o, a->pg_session.p50);
			strbuf_addstr(o, " max ");
			tf_dur(o, a->pg_session.max);
		}
		strbuf_addch(o, '\n');
		strbuf_addf(o, "  %zu 'too many clients' refusals", a->pg_too_many);
		if (a->pg_first_refusal.kind) {
			strbuf_addstr(o, ", first ");
			tf_ref(o, a, a->pg_first_refusal.src, a->pg_first_refusal.line, false);
		}
		strbuf_addf(o, "; %zu slow statements", a->pg_slow);
		if (a->pg_slowest.kind) {
			strbuf_addstr(o, ", slowest ");
			tf_dur(o, a->pg_slow_dur.max);
			strbuf_addch(o, ' ');
			tf_ref(o, a, a->pg_slowest.src, a->pg_slowest.line, false);
		}
		strbuf_addf(o, "; %zu lock waits, %zu deadlocks, %zu cancels, %zu other errors\n",
			    a->pg_lock_waits, a->pg_deadlocks, a->pg_cancels, a->pg_errors);
	}

	strbuf_addstr(o, "\nInputs\n");
	for (size_t i = 0; i < a->tl->nsrc; i++) {
		const struct source *s = &a->tl->src[i];
		strbuf_addstr(o, "  ");
		tf_clean(o, s->path, 200);
		strbuf_addf(o, ": %s, %llu lines, %llu events, %llu unparsed%s\n",
			    s->format ? s->format : "format not recognised",
			    (unsigned long long)s->lines, (unsigned long long)s->events,
			    (unsigned long long)s->unparsed,
			    s->zone_assumed ? " (times without a zone read as --tz)" : "");
	}
	if (a->duplicates)
		strbuf_addf(o, "  %zu events seen in two inputs at the same instant counted once\n",
			    a->duplicates);
	if (a->approx_dists)
		strbuf_addf(o, "  %zu distributions have more than the %zu values kept exactly (shared by the endpoints): their percentiles come from a histogram (within 0.4 %%)\n",
			    a->approx_dists, a->opts.sample_cap);
}
