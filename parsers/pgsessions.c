#include "parsers/pgsessions.h"
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "core/banned.h"

struct ref {
	uint32_t src;
	int32_t pid;
	size_t idx; /* into ev[], for a stable order within a session key */
	log_usec ts;
};

static int cmp_ref(const void *a, const void *b)
{
	const struct ref *x = a, *y = b;
	if (x->src != y->src)
		return x->src < y->src ? -1 : 1;
	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

struct edge {
	log_usec ts;
	int delta; /* +1 start, -1 end */
};

static int cmp_edge(const void *a, const void *b)
{
	const struct edge *x = a, *y = b;
	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	return x->delta - y->delta; /* ends (-1) first */
}

static bool is_startup_fatal(const struct event *e)
{
	if (e->kind == EVENT_PG_TOO_MANY_CLIENTS)
		return true;
	return e->kind == EVENT_PG_ERROR && e->text2 && !strcmp(e->text2, "FATAL");
}

void pg_session_peak(const struct event *ev, size_t n, struct pg_session_peak *out)
{
	struct ref *refs = NULL;
	struct edge *edges = NULL;
	size_t nrefs = 0, refs_alloc = 0, nedges = 0, edges_alloc = 0;
	log_usec log_end = LOG_USEC_NONE;
	int64_t cur = 0;

	memset(out, 0, sizeof(*out));
	out->at = LOG_USEC_NONE;
	for (size_t i = 0; i < n; i++) {
		const struct event *e = &ev[i];
		if (e->ts != LOG_USEC_NONE && (log_end == LOG_USEC_NONE || e->ts > log_end))
			log_end = e->ts;
		if (e->kind != EVENT_PG_CONNECT && e->kind != EVENT_PG_DISCONNECT &&
		    !is_startup_fatal(e))
			continue;
		if (e->ts == LOG_USEC_NONE)
			continue;
		ALLOC_GROW(refs, nrefs + 1, refs_alloc);
		refs[nrefs++] = (struct ref){ e->src, e->pid, i, e->ts };
	}
	if (nrefs) /* qsort(NULL, 0) is undefined */
		qsort(refs, nrefs, sizeof(*refs), cmp_ref);

#define ADD_SPAN(a, b)                                                    \
	do {                                                              \
		ALLOC_GROW(edges, nedges + 2, edges_alloc);               \
		edges[nedges++] = (struct edge){ (a), +1 };               \
		edges[nedges++] = (struct edge){ (b), -1 };               \
		out->sessions++;                                          \
	} while (0)

	for (size_t i = 0; i < nrefs;) {
		size_t j = i;
		bool open = false;
		log_usec start = 0, fatal_at = LOG_USEC_NONE;
		/* one (input, pid) at a time, in time order */
		for (; j < nrefs && refs[j].src == refs[i].src && refs[j].pid == refs[i].pid; j++) {
			const struct event *e = &ev[refs[j].idx];
			if (e->kind == EVENT_PG_CONNECT) {
				if (open) {
					/* pid reused: the earlier session ended unseen */
					ADD_SPAN(start, fatal_at != LOG_USEC_NONE ? fatal_at : e->ts);
					if (fatal_at != LOG_USEC_NONE)
						out->ended_by_fatal++;
				}
				open = true;
				start = e->ts;
				fatal_at = LOG_USEC_NONE;
			} else if (e->kind == EVENT_PG_DISCONNECT) {
				if (open) {
					ADD_SPAN(start, e->ts);
				} else if (e->dur != EVENT_NO_DURATION) {
					ADD_SPAN(e->ts - e->dur, e->ts);
					out->open_at_start++;
				}
				open = false;
			} else if (open && fatal_at == LOG_USEC_NONE) {
				fatal_at = e->ts;
			}
		}
		if (open) {
			if (fatal_at != LOG_USEC_NONE) {
				ADD_SPAN(start, fatal_at);
				out->ended_by_fatal++;
			} else {
				ADD_SPAN(start, log_end);
				out->open_at_end++;
			}
		}
		i = j;
	}
#undef ADD_SPAN

	if (nedges)
		qsort(edges, nedges, sizeof(*edges), cmp_edge);
	for (size_t i = 0; i < nedges; i++) {
		cur += edges[i].delta;
		if (cur > out->peak) {
			out->peak = cur;
			out->at = edges[i].ts;
		}
	}
	free(refs);
	free(edges);
}
