#include "analysis/analyze.h"
#include "core/error.h"
#include "parsers/parse.h"
#include "parsers/stream.h"
#include "core/banned.h"

/*
 * The inputs, parsed and merged by parsers/stream.c, go through the
 * analysis one event at a time: the events are never all in memory.  The
 * span the time series needs is taken while parsing, before the merge.
 */
int analysis_run_inputs(const char *const *paths, size_t npaths, const struct parse_opts *popts,
			const struct analysis_opts *aopts, struct timeline *sources,
			struct analysis *a, size_t run_events)
{
	struct analysis_span span;
	struct event_sink observe = { analysis_span_sink, &span };
	struct event_stream *es;
	int ret;

	analysis_span_init(&span);
	ret = event_stream_open(&es, paths, npaths, popts, sources, observe, run_events);
	if (ret < 0)
		return -1;
	if (analysis_run_stream(es, sources, &span, aopts, a) < 0)
		return -1;
	return ret;
}

int analysis_run_stream(struct event_stream *es, const struct timeline *sources,
			const struct analysis_span *span, const struct analysis_opts *aopts,
			struct analysis *a)
{
	struct event ev;
	int r;
	if (analysis_begin(a, sources, aopts, span) < 0) {
		event_stream_free(es);
		return -1;
	}
	while ((r = event_stream_next(es, &ev)) > 0)
		analysis_feed(a, &ev);
	event_stream_free(es);
	if (r < 0) {
		analysis_release(a);
		return -1;
	}
	if (analysis_finish(a) < 0) {
		analysis_release(a);
		return -1;
	}
	return 0;
}
