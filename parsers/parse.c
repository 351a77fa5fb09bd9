#include "parsers/parse.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "parsers/format.h"
#include "parsers/formats.h"
#include "core/banned.h"

#define DETECT_LINES 200

void parse_opts_init(struct parse_opts *o)
{
	memset(o, 0, sizeof(*o));
	tzinfo_utc(&o->tz);
	o->max_line = 1 << 20;
	o->max_record = 4 << 20;
}

void parse_opts_release(struct parse_opts *o)
{
	tzinfo_release(&o->tz);
}

const char *parse_str(struct parse_ctx *ctx, const char *s, size_t len)
{
	return arena_strndup(&ctx->scratch, s, len);
}

static void deliver(struct parse_ctx *ctx, struct event *ev)
{
	struct source *src = ctx->src;
	src->events++;
	if (ev->ts != LOG_USEC_NONE) {
		if (src->first_ts == LOG_USEC_NONE || ev->ts < src->first_ts)
			src->first_ts = ev->ts;
		if (src->last_ts == LOG_USEC_NONE || ev->ts > src->last_ts)
			src->last_ts = ev->ts;
	}
	ctx->sink.emit(ctx->sink.data, ev);
}

static const char *pending_str(struct parse_ctx *ctx, const char *s)
{
	return s ? arena_strndup(&ctx->pending_strings, s, strlen(s)) : NULL;
}

static void flush_pending(struct parse_ctx *ctx)
{
	for (size_t i = 0; i < ctx->npending; i++) {
		struct event *ev = &ctx->pending[i];
		if (ctx->last_ts != LOG_USEC_NONE) {
			ev->ts = ctx->last_ts;
			ev->flags |= EVENT_F_TS_INFERRED;
		}
		deliver(ctx, ev);
	}
	ctx->npending = 0;
	arena_reset(&ctx->pending_strings);
}

void parse_note_ts(struct parse_ctx *ctx, log_usec ts, bool had_zone)
{
	if (ts == LOG_USEC_NONE)
		return;
	ctx->last_ts = ts;
	if (!had_zone)
		ctx->src->zone_assumed = true;
	if (ctx->npending)
		flush_pending(ctx);
}

void parse_emit(struct parse_ctx *ctx, struct event *ev)
{
	ev->src = ctx->src_index;
	if (!ev->line && ctx->rec)
		ev->line = (uint32_t)ctx->rec->line;
	if (!ev->pid && ctx->hint_pid)
		ev->pid = ctx->hint_pid;
	if (ev->ts == LOG_USEC_NONE && ctx->hint_ts != LOG_USEC_NONE)
		ev->ts = ctx->hint_ts;
	if (ev->ts == LOG_USEC_NONE) {
		if (ctx->last_ts == LOG_USEC_NONE) {
			/* no time seen yet in this input: hold it until one is, but
			 * not forever: PARSE_PENDING_MAX events without a time make
			 * an untimed input, whose events go out as they come */
			struct event *p;
			if (!ctx->untimed && ctx->npending == PARSE_PENDING_MAX) {
				ctx->untimed = true;
				flush_pending(ctx);
			}
			if (ctx->untimed) {
				deliver(ctx, ev);
				return;
			}
			ALLOC_GROW(ctx->pending, ctx->npending + 1, ctx->pending_alloc);
			p = &ctx->pending[ctx->npending++];
			*p = *ev;
			p->conn = pending_str(ctx, ev->conn);
			p->text = pending_str(ctx, ev->text);
			p->text2 = pending_str(ctx, ev->text2);
			return;
		}
		ev->ts = ctx->last_ts;
		ev->flags |= EVENT_F_TS_INFERRED;
	}
	deliver(ctx, ev);
}

void parse_unparsed(struct parse_ctx *ctx, enum unparsed_reason r)
{
	const struct record *rec = ctx->rec;
	if (!rec)
		BUG("parse_unparsed() outside a record");
	/* a multi-line record counts once per physical line it held */
	source_note_unparsed(ctx->src, rec->line, r, rec->s, rec->len);
	if (rec->nlines > 1) {
		ctx->src->unparsed += rec->nlines - 1;
		ctx->src->by_reason[r] += rec->nlines - 1;
	}
}

/* ---- the driver ---- */

struct driver {
	const struct format *fmt;
	void *state;
	const struct wrapper *wrap;
	struct parse_ctx ctx;
	struct strbuf rec;        /* current record text */
	struct record cur;
	bool have_rec;
	struct strbuf unwrapped;
	log_usec wrap_ts;
	int32_t wrap_pid;
	/* resume point (struct parse_start): end of the last complete line fed */
	bool hold_partial;
	bool long_pending;        /* last line fed was cut (too long); its end is
				   * known once the next line starts */
	uint64_t end_offset, end_line;
	bool read_failed;         /* reading stopped on an error (truncated gzip) */
	uint64_t last_no;         /* number of the last line fed */
};

static void try_record(struct driver *d)
{
	struct parse_ctx *ctx = &d->ctx;
	struct record *rec = &d->cur;
	enum unparsed_reason r;

	rec->s = d->rec.buf;
	rec->len = d->rec.len;
	ctx->rec = rec;
	ctx->src->records++;
	if (rec->flags & LINE_F_NUL) {
		parse_unparsed(ctx, UNPARSED_BINARY);
		goto done;
	}
	if (d->read_failed && (rec->flags & LINE_F_NO_EOL)) {
		/* the line the read error cut off: parsing it could invent a
		 * wrong status or duration ("D=60" of "D=6080") */
		parse_unparsed(ctx, UNPARSED_TRUNCATED);
		goto done;
	}
	if (ctx->opts->user && user_formats_apply(ctx->opts->user, ctx, rec))
		goto done;
	r = d->fmt ? d->fmt->parse(d->state, ctx, rec) : UNPARSED_UNKNOWN_LAYOUT;
	if (r == UNPARSED_UNKNOWN_LAYOUT) {
		/* mixed streams: an access line or jsonlog record inside another file */
		for (const struct format *const *f = format_registry; *f; f++) {
			if (*f == d->fmt || !(*f)->parse_foreign)
				continue;
			if ((*f)->parse_foreign(ctx, rec) == UNPARSED_NONE) {
				r = UNPARSED_NONE;
				break;
			}
		}
	}
	if (r == UNPARSED_UNKNOWN_LAYOUT && (rec->flags & LINE_F_TOO_LONG))
		r = UNPARSED_TOO_LONG;
	if (r != UNPARSED_NONE)
		parse_unparsed(ctx, r);
done:
	ctx->rec = NULL;
	arena_reset(&ctx->scratch);
	strbuf_reset(&d->rec);
	d->have_rec = false;
}

static void feed_line(struct driver *d, const struct line *in)
{
	const struct line *ln = in;
	struct line inner;

	d->ctx.src->lines++;
	d->ctx.src->bytes += in->len + 1;
	if (d->wrap) {
		strbuf_reset(&d->unwrapped);
		if (d->wrap->unwrap(in, &d->unwrapped, &d->wrap_ts, &d->wrap_pid)) {
			inner = *in;
			inner.s = d->unwrapped.buf;
			inner.len = d->unwrapped.len;
			/* a Docker "log" may decode to NUL bytes the reader never saw */
			if (memchr(inner.s, '\0', inner.len))
				inner.flags |= LINE_F_NUL;
			ln = &inner;
		}
	}
	/* the record so far, as continues() sees it (buf moves as it grows) */
	d->cur.s = d->rec.buf;
	d->cur.len = d->rec.len;
	if (d->have_rec && d->fmt && d->fmt->continues &&
	    d->fmt->continues(d->state, &d->cur, ln)) {
		if (d->rec.len + ln->len + 1 <= d->ctx.opts->max_record) {
			strbuf_addch(&d->rec, '\n');
			strbuf_add(&d->rec, ln->s, ln->len);
		} else {
			d->cur.flags |= LINE_F_TOO_LONG;
		}
		d->cur.nlines++;
		d->cur.flags |= ln->flags;
		return;
	}
	if (d->have_rec)
		try_record(d);
	strbuf_add(&d->rec, ln->s, ln->len);
	d->cur.line = ln->no;
	d->cur.nlines = 1;
	d->ctx.hint_ts = ln == in ? LOG_USEC_NONE : d->wrap_ts;
	d->ctx.hint_pid = ln == in ? 0 : d->wrap_pid;
	d->cur.flags = ln->flags;
	d->have_rec = true;
}

/*
 * Feed one line and move the resume point.  `end` is the reader's offset
 * right after it returned the line: the end of a complete line.  A cut line
 * (too long) ends where the next line starts; a final line without newline
 * is held back when asked (the writer may not have finished it).
 * Returns false when reading should stop.
 */
static bool take_line(struct driver *d, const struct line *ln, uint64_t end)
{
	if (d->long_pending) {
		d->end_offset = ln->off;
		d->end_line = ln->no - 1;
		d->long_pending = false;
	}
	if ((ln->flags & LINE_F_NO_EOL) && d->hold_partial)
		return false;
	feed_line(d, ln);
	d->last_no = ln->no;
	if (ln->flags & LINE_F_TOO_LONG) {
		d->long_pending = true;
	} else {
		d->end_offset = end;
		d->end_line = ln->no;
	}
	return true;
}

static int collect_sample(struct reader *rd, struct arena *a, struct line *sample,
			  uint64_t *ends, size_t *n, int *status)
{
	struct line ln;
	*n = 0;
	while (*n < DETECT_LINES && (*status = reader_next(rd, &ln)) > 0) {
		sample[*n] = ln;
		sample[*n].s = arena_strndup(a, ln.s, ln.len);
		ends[*n] = reader_offset(rd);
		(*n)++;
	}
	return 0;
}

int parse_input(const char *path, const struct parse_opts *opts, struct source *src,
		uint32_t src_index, struct event_sink sink)
{
	return parse_input_at(path, opts, NULL, src, src_index, sink);
}

int parse_input_at(const char *path, const struct parse_opts *opts,
		   const struct parse_start *start, struct source *src, uint32_t src_index,
		   struct event_sink sink)
{
	static const struct parse_start from_top = PARSE_START_INIT;
	struct reader *rd;
	struct driver d;
	struct arena sample_arena = ARENA_INIT;
	struct line *sample;
	uint64_t *sample_end;
	size_t nsample = 0;
	int status = 1, score = 0;
	bool more = true;
	struct line ln;

	if (!start)
		start = &from_top;
	src->start_offset = src->end_offset = start->offset;
	src->end_line = start->first_line ? start->first_line - 1 : 0;
	rd = reader_open(path, opts->max_line);
	if (!rd) {
		src->read_failed = true;
		free(src->read_error);
		src->read_error = xstrdup("cannot open");
		return -1;
	}
	memset(&d, 0, sizeof(d));
	d.hold_partial = start->hold_partial;
	d.end_offset = src->end_offset;
	d.end_line = src->end_line;
	strbuf_init(&d.rec, 0);
	strbuf_init(&d.unwrapped, 0);
	d.ctx.opts = opts;
	d.ctx.src = src;
	d.ctx.src_index = src_index;
	d.ctx.sink = sink;
	d.ctx.last_ts = LOG_USEC_NONE;
	arena_init(&d.ctx.scratch, 16 * 1024);
	arena_init(&d.ctx.pending_strings, 16 * 1024);
	d.wrap_ts = LOG_USEC_NONE;
	d.ctx.hint_ts = LOG_USEC_NONE;

	/* detection always samples the top of the file, so a resumed read
	 * picks the format a full read would */
	sample = xcalloc(DETECT_LINES, sizeof(*sample));
	sample_end = xcalloc(DETECT_LINES, sizeof(*sample_end));
	collect_sample(rd, &sample_arena, sample, sample_end, &nsample, &status);

	for (const struct wrapper *const *w = wrapper_registry; *w; w++)
		if ((*w)->detect(sample, nsample) >= 50) {
			d.wrap = *w;
			break;
		}
	if (opts->format) {
		d.fmt = format_find(opts->format);
		if (!d.fmt)
			BUG("unknown format '%s' passed validation", opts->format);
	} else if (nsample) {
		/* detect on unwrapped lines */
		struct line *probe = sample;
		struct arena ua = ARENA_INIT;
		if (d.wrap) {
			probe = xcalloc(nsample, sizeof(*probe));
			for (size_t i = 0; i < nsample; i++) {
				log_usec ts;
				int32_t pid;
				strbuf_reset(&d.unwrapped);
				probe[i] = sample[i];
				if (d.wrap->unwrap(&sample[i], &d.unwrapped, &ts, &pid)) {
					probe[i].s = arena_strndup(&ua, d.unwrapped.buf, d.unwrapped.len);
					probe[i].len = d.unwrapped.len;
				}
			}
		}
		d.fmt = format_detect(probe, nsample, opts, &score);
		if (probe != sample)
			free(probe);
		arena_release(&ua);
	}
	free(src->format);
	src->format = d.fmt ? xstrdup(d.fmt->name) : NULL;
	if (src->format && d.wrap) {
		size_t n = strlen(d.fmt->name) + strlen(d.wrap->name) + 2;
		free(src->format);
		src->format = xmalloc(n);
		snprintf(src->format, n, "%s+%s", d.wrap->name, d.fmt->name);
	}
	if (d.fmt && d.fmt->state_new)
		d.state = d.fmt->state_new(opts);

	if (start->offset > 0 || start->first_line > 1) {
		/* the sample was for detection only: resume where asked */
		nsample = 0;
		status = reader_seek(rd, start->offset, start->first_line) < 0 ? -2 : 1;
	}
	for (size_t i = 0; i < nsample && more; i++)
		more = take_line(&d, &sample[i], sample_end[i]);
	free(sample);
	free(sample_end);
	arena_release(&sample_arena);
	if (status > 0 && more)
		while ((status = reader_next(rd, &ln)) > 0)
			if (!take_line(&d, &ln, reader_offset(rd)))
				break;
	if (d.long_pending) {
		/* NEEDSWORK: a cut line at the very end counts as complete even if
		 * its tail has no newline yet; the reader cannot tell these apart */
		d.end_offset = reader_offset(rd);
		d.end_line = d.last_no;
	}
	if (status > 0)
		status = 0;
	d.read_failed = status == -1;
	src->end_offset = d.end_offset;
	src->end_line = d.end_line;
	if (d.have_rec)
		try_record(&d);
	if (d.fmt && d.fmt->finish)
		d.fmt->finish(d.state, &d.ctx);
	if (d.ctx.npending)
		flush_pending(&d.ctx);
	if (d.fmt && d.fmt->state_free)
		d.fmt->state_free(d.state);
	if (status == -2) {
		src->read_failed = true;
		free(src->read_error);
		src->read_error = xstrdup("cannot seek");
	} else if (status < 0) {
		src->read_failed = true;
		free(src->read_error);
		src->read_error = xstrdup(reader_error(rd));
		error("%s (kept the %llu lines read before it)", reader_error(rd),
		      (unsigned long long)src->lines);
	}
	reader_close(rd);
	strbuf_release(&d.rec);
	strbuf_release(&d.unwrapped);
	arena_release(&d.ctx.scratch);
	arena_release(&d.ctx.pending_strings);
	free(d.ctx.pending);
	return status < 0 ? -1 : 0;
}

static void timeline_sink(void *data, const struct event *ev)
{
	timeline_append(data, ev);
}

int parse_into_timeline(const char *const *paths, size_t npaths, const struct parse_opts *opts,
			struct timeline *tl)
{
	int ret = 0;
	for (size_t i = 0; i < npaths; i++) {
		uint32_t idx = timeline_add_source(tl, paths[i]);
		struct event_sink sink = { timeline_sink, tl };
		if (parse_input(paths[i], opts, timeline_source(tl, idx), idx, sink) < 0)
			ret = -1;
		if (!opts->quiet)
			parse_report_unparsed(timeline_source(tl, idx));
	}
	timeline_sort(tl);
	return ret;
}

void parse_report_unparsed(const struct source *src)
{
	struct strbuf sb = STRBUF_INIT;
	bool first = true;
	if (!src->unparsed)
		return;
	for (int r = 1; r < UNPARSED__COUNT; r++) {
		if (!src->by_reason[r])
			continue;
		strbuf_addf(&sb, "%s%s %llu", first ? "" : ", ", unparsed_reason_name(r),
			    (unsigned long long)src->by_reason[r]);
		first = false;
	}
	fprintf(stderr, "warning: %s: %llu of %llu lines not parsed (%s)\n", src->path,
		(unsigned long long)src->unparsed, (unsigned long long)src->lines, sb.buf);
	for (size_t i = 0; i < src->nsamples; i++)
		fprintf(stderr, "  %s:%llu: %s: %.100s\n", src->path,
			(unsigned long long)src->samples[i].line,
			unparsed_reason_name(src->samples[i].reason), src->samples[i].excerpt);
	strbuf_release(&sb);
}
