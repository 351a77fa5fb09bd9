#ifndef POOLSCOPE_STREAM_H
#define POOLSCOPE_STREAM_H
#include <stddef.h>
#include "core/event.h"
#include "core/timeline.h"
#include "parsers/parse.h"
/*
 * The events of several inputs in timeline order without a timeline: the
 * same order parse_into_timeline() + timeline_sort() give (by time, events
 * without a time first, ties in input order then line order), in memory
 * that does not grow with the input.
 *
 * How: every input is parsed in turn (parse_input()) into a run buffer of
 * a fixed number of events.  When the buffer fills, it is sorted (stably)
 * and written to an unlinked temporary file in $TMPDIR (default /tmp); at
 * the end the sorted runs are merged with a heap, ties going to the earlier
 * run, which is the earlier event.  Inputs that fit in one buffer (every
 * fixture) never touch the disk.  Memory: the buffer (RUN_EVENTS events and
 * their strings) plus a read buffer per spilled run; disk: about 70 bytes
 * per event plus its strings.  An external merge sort is exact whatever the
 * disorder of an input (access logs write a request at its end but carry
 * its start), unlike a bounded reorder window.
 */

struct event_stream; /* opaque */

/*
 * Parse paths[0..npaths) with opts and prepare the merged stream.  One
 * source per input is added to sources (timeline_add_source(); no events
 * are appended to it), which must outlive the stream.  observe (emit may
 * be NULL) sees every event as it is parsed, in input order, before the
 * merge: a consumer that needs the run's span before the first event can
 * take it there.  Per-input warnings go to stderr unless opts->quiet, as
 * parse_into_timeline() does.  run_events is the run buffer's size in
 * events (0: the default, EVENT_STREAM_RUN_EVENTS; tests pass a few to make
 * every input spill).
 * Returns 0; 1 if some input could not be read (the rest are parsed, as
 * parse_into_timeline() returning -1); -1 after error() if the temporary
 * file could not be written (*out is NULL then).
 */
int event_stream_open(struct event_stream **out, const char *const *paths, size_t npaths,
		      const struct parse_opts *opts, struct timeline *sources,
		      struct event_sink observe, size_t run_events);
/* The same with a start per input: starts[i] (starts or starts[i] NULL:
 * the whole file) is where input i is read from (parse_input_at(); the
 * audit's new lines), and input_rc[i] (if not NULL) what its parse
 * returned. */
int event_stream_open_at(struct event_stream **out, const char *const *paths,
			 const struct parse_start *const *starts, int *input_rc, size_t npaths,
			 const struct parse_opts *opts, struct timeline *sources,
			 struct event_sink observe, size_t run_events);
#define EVENT_STREAM_RUN_EVENTS ((size_t)1 << 17)
/* The next event into *ev.  Its strings stay valid until the next call.
 * Returns 1, 0 at the end, -1 after error() on a read error. */
int event_stream_next(struct event_stream *s, struct event *ev);
/* Events in the stream, and runs spilled to disk (0: all in memory). */
size_t event_stream_count(const struct event_stream *s);
size_t event_stream_spilled_runs(const struct event_stream *s);
void event_stream_free(struct event_stream *s);
#endif
