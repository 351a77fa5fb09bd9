#include <string.h>
#include "analysis/analyze.h"
#include "analysis/textfmt.h"
#include "core/banned.h"

/*
 * The review in Markdown: the same findings as the text writer, as
 * headings and tables.  Log text goes through tf_md() (escaped, pipes
 * included) and references are code spans, so a log cannot inject links,
 * HTML or table cells.
 */

static void md_dist_row(struct strbuf *o, const char *label, const struct analysis_dist *d)
{
	strbuf_addf(o, "| %s | %zu | ", label, d->count);
	if (!d->count) {
		strbuf_addstr(o, "- | - | - | - |\n");
		return;
	}
	tf_dur(o, d->p50);
	strbuf_addstr(o, " | ");
	tf_dur(o, d->p95);
	strbuf_addstr(o, " | ");
	tf_dur(o, d->p99);
	strbuf_addstr(o, " | ");
	tf_dur(o, d->max);
	strbuf_addstr(o, " |\n");
}

void analysis_write_markdown_body(const struct analysis *a, struct strbuf *o, int level)
{
	const struct hold_set *hs = &a->holds;
	char h[8];
	int n = level < 1 ? 1 : level > 5 ? 5 : level;
	memset(h, '#', (size_t)n);
	h[n] = '\0';

	strbuf_addf(o, "%s What happened\n\n", h);
	if (a->start != LOG_USEC_NONE) {
		strbuf_addstr(o, "Logs from ");
		tf_iso(o, a->start);
		strbuf_addstr(o, " to ");
		tf_iso(o, a->end);
		strbuf_addstr(o, " (");
		tf_dur(o, (double)(a->end - a->start));
		strbuf_addf(o, "), %zu events from %zu inputs.\n\n", a->events, a->tl->nsrc);
	}
	if (!a->nincidents) {
		strbuf_addstr(o, "No incident: no pool timeouts, HTTP 5xx, 'too many clients' or pool "
				 "exhaustion in these logs.\n\n");
	} else {
		strbuf_addstr(o, "| # | Start | End | Timeouts | 5xx | Peak out | Likely cause | First evidence |\n"
				 "|---:|---|---|---:|---:|---:|---|---|\n");
		for (size_t i = 0; i < a->nincidents; i++) {
			const struct analysis_incident *in = &a->incidents[i];
			strbuf_addf(o, "| %zu | ", i + 1);
			tf_time(o, in->start);
			strbuf_addstr(o, " | ");
			tf_time(o, in->end);
			strbuf_addf(o, " | %u | %u | ", in->timeouts, in->http_errors);
			if (in->peak_out >= 0)
				strbuf_addf(o, "%d", (int)in->peak_out);
			else
				strbuf_addstr(o, "-");
			strbuf_addstr(o, " | ");
			analysis_likely_cause(a, in, o, true);
			strbuf_addstr(o, " | ");
			for (size_t r = 0; r < in->nrefs && r < 3; r++) {
				if (r)
					strbuf_addstr(o, ", ");
				tf_ref(o, a, in->refs[r].src, in->refs[r].line, true);
			}
			strbuf_addstr(o, " |\n");
		}
		strbuf_addch(o, '\n');
	}

	strbuf_addf(o, "%s Pool\n\n| Figure | Value |\n|---|---|\n", h);
	strbuf_addstr(o, "| Settings | ");
	if (a->config.from) {
		tf_pool_config(o, &a->config);
		strbuf_addf(o, " (from %s)", a->config.from);
	} else {
		strbuf_addstr(o, "unknown");
	}
	strbuf_addf(o, " |\n| Timeouts | %zu", a->timeouts);
	if (a->timeouts) {
		strbuf_addstr(o, " (first ");
		tf_ref(o, a, a->first_timeout_ref.src, a->first_timeout_ref.line, true);
		strbuf_addstr(o, ")");
	}
	strbuf_addstr(o, " |\n| Checkouts | ");
	if (a->checkouts >= 0)
		strbuf_addf(o, "%ld", a->checkouts);
	else
		strbuf_addstr(o, "unknown (no pool debug log)");
	strbuf_addstr(o, " |\n| Peak checked out | ");
	if (a->peak_out >= 0) {
		strbuf_addf(o, "%d", (int)a->peak_out);
		if (a->capacity > 0)
			strbuf_addf(o, " of %d (%.0f %%)", (int)a->capacity, a->peak_usage_pct);
		strbuf_addf(o, ", from %s", a->peak_from);
	} else {
		strbuf_addstr(o, "unknown");
	}
	strbuf_addf(o, " |\n| Status per bucket | %zu healthy, %zu warning, %zu exhausted, %zu unknown |\n\n",
		    a->level_buckets[LEVEL_HEALTHY], a->level_buckets[LEVEL_WARNING],
		    a->level_buckets[LEVEL_EXHAUSTED], a->level_buckets[LEVEL_UNKNOWN]);

	strbuf_addf(o, "%s Hold times\n\nEvidence: %s.\n\n", h, hold_evidence_describe(hs->best));
	if (hs->best == HOLD_EV_LITTLE) {
		strbuf_addstr(o, "Mean hold ");
		tf_dur(o, (double)hs->little_mean_hold);
		strbuf_addf(o, " (%.2f checked out on average / %.2f checkouts per s).\n\n",
			    hs->little_mean_out, hs->little_rate);
	} else if (hs->best != HOLD_EV_NONE) {
		strbuf_addstr(o, "| Holds | Count | p50 | p95 | p99 | Max |\n|---|---:|---:|---:|---:|---:|\n");
		md_dist_row(o, "all", &a->hold);
		if (hs->best == HOLD_EV_POOL_DEBUG) {
			md_dist_row(o, "API", &a->hold_by_origin[ORIGIN_API]);
			md_dist_row(o, "batch", &a->hold_by_origin[ORIGIN_BATCH]);
		}
		strbuf_addch(o, '\n');
	}
	if (a->nbatches) {
		strbuf_addstr(o, "| Batch | Start | Entries | Duration | Connections | Held | Commits | Timeouts meanwhile | Line |\n"
				 "|---|---|---:|---:|---:|---|---:|---:|---|\n");
		for (size_t b = 0; b < a->nbatches && b < 50; b++) {
			const struct batch_window *w = &hs->batches[b];
			const struct batch_stats *st = &a->batch_stats[b];
			strbuf_addstr(o, "| ");
			tf_md(o, w->name ? w->name : "(unnamed)", 40);
			strbuf_addstr(o, " | ");
			tf_time(o, w->start);
			strbuf_addstr(o, " | ");
			if (w->entries >= 0)
				strbuf_addf(o, "%d", (int)w->entries);
			strbuf_addstr(o, " | ");
			if (w->start != LOG_USEC_NONE && w->end != LOG_USEC_NONE)
				tf_dur(o, (double)(w->end - w->start));
			strbuf_addstr(o, " | ");
			if (st->peak_conns >= 0)
				strbuf_addf(o, "%d", (int)st->peak_conns);
			strbuf_addstr(o, " | ");
			if (st->hold.count)
				tf_dur_range(o, st->held_min, st->hold.max);
			strbuf_addstr(o, " | ");
			if (w->commits >= 0)
				strbuf_addf(o, "%d", (int)w->commits);
			strbuf_addf(o, " | %zu | ", st->timeouts);
			tf_ref(o, a, w->src, w->line, true);
			strbuf_addstr(o, " |\n");
		}
		if (a->nbatches > 50)
			strbuf_addf(o, "\n%zu more batches in report.json.\n", a->nbatches - 50);
		strbuf_addch(o, '\n');
	}

	strbuf_addf(o, "%s HTTP\n\n", h);
	if (!a->http.requests) {
		strbuf_addstr(o, "No access-log lines.\n\n");
	} else {
		strbuf_addf(o, "%zu requests, %zu 5xx. Status:", a->http.requests, a->http.errors_5xx);
		for (size_t s = 0; s < a->nstatus; s++)
			strbuf_addf(o, " %d: %zu%s", (int)a->status[s].status, a->status[s].n,
				    s + 1 < a->nstatus ? "," : ".");
		strbuf_addstr(o, "\n\n");
		if (!a->http.timed)
			strbuf_addstr(o, "Latency is not in these logs (uvicorn access lines carry none).\n\n");
		strbuf_addstr(o, "| Requests | Count | 5xx | p50 | p95 | p99 | Max |\n|---|---:|---:|---:|---:|---:|---:|\n");
		{
			const struct http_part *parts[] = { &a->http, &a->http_during, &a->http_outside };
			const char *names[] = { "all", "during batches", "outside batches" };
			for (int p = 0; p < (a->nbatches ? 3 : 1); p++) {
				strbuf_addf(o, "| %s | %zu | %zu | ", names[p], parts[p]->requests,
					    parts[p]->errors_5xx);
				if (parts[p]->timed) {
					tf_dur(o, parts[p]->latency.p50);
					strbuf_addstr(o, " | ");
					tf_dur(o, parts[p]->latency.p95);
					strbuf_addstr(o, " | ");
					tf_dur(o, parts[p]->latency.p99);
					strbuf_addstr(o, " | ");
					tf_dur(o, parts[p]->latency.max);
					strbuf_addstr(o, " |\n");
				} else {
					strbuf_addstr(o, "- | - | - | - |\n");
				}
			}
		}
		strbuf_addch(o, '\n');
		strbuf_addstr(o, "| Endpoint | Requests | 5xx | Latency p95 | Hold p95 |\n|---|---:|---:|---:|---:|\n");
		for (size_t e = 0; e < a->nendpoints && e < a->opts.max_endpoints; e++) {
			const struct endpoint_stats *ep = &a->endpoints[e];
			strbuf_addstr(o, "| ");
			if (ep->method) {
				tf_md(o, ep->method, 10);
				strbuf_addch(o, ' ');
			}
			tf_md(o, ep->path, 80);
			strbuf_addf(o, " | %zu | %zu | ", ep->http.requests, ep->http.errors_5xx);
			if (ep->http.timed)
				tf_dur(o, ep->http.latency.p95);
			else
				strbuf_addstr(o, "-");
			strbuf_addstr(o, " | ");
			if (ep->hold.count)
				tf_dur(o, ep->hold.p95);
			else
				strbuf_addstr(o, "-");
			strbuf_addstr(o, " |\n");
		}
		strbuf_addch(o, '\n');
	}

	strbuf_addf(o, "%s PostgreSQL\n\n", h);
	strbuf_addf(o, "%zu connections, %zu disconnections, %zu 'too many clients' refusals, "
		       "%zu slow statements, %zu lock waits, %zu deadlocks, %zu cancels, %zu other errors.",
		    a->pg_connections, a->pg_disconnections, a->pg_too_many, a->pg_slow, a->pg_lock_waits,
		    a->pg_deadlocks, a->pg_cancels, a->pg_errors);
	if (a->pg_session.count) {
		strbuf_addstr(o, " Session time p50 ");
		tf_dur(o, a->pg_session.p50);
		strbuf_addstr(o, ", max ");
		tf_dur(o, a->pg_session.max);
		strbuf_addch(o, '.');
	}
	if (a->pg_slowest.kind) {
		strbuf_addstr(o, " Slowest statement ");
		tf_dur(o, a->pg_slow_dur.max);
		strbuf_addstr(o, " at ");
		tf_ref(o, a, a->pg_slowest.src, a->pg_slowest.line, true);
		strbuf_addch(o, '.');
	}
	strbuf_addstr(o, "\n\n");

	strbuf_addf(o, "%s Inputs\n\n| Input | Format | Lines | Events | Unparsed |\n|---|---|---:|---:|---:|\n", h);
	for (size_t i = 0; i < a->tl->nsrc; i++) {
		const struct source *s = &a->tl->src[i];
		strbuf_addstr(o, "| ");
		tf_md(o, s->path, 200);
		strbuf_addf(o, " | %s | %llu | %llu | %llu |\n", s->format ? s->format : "not recognised",
			    (unsigned long long)s->lines, (unsigned long long)s->events,
			    (unsigned long long)s->unparsed);
	}
	strbuf_addch(o, '\n');
}

void analysis_write_markdown(const struct analysis *a, struct strbuf *out)
{
	strbuf_addstr(out, "# poolscope review\n\n");
	analysis_write_markdown_body(a, out, 2);
}
