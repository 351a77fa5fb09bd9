#ifndef POOLSCOPE_PARSE_H
#define POOLSCOPE_PARSE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/arena.h"
#include "core/event.h"
#include "core/logtime.h"
#include "core/strbuf.h"
#include "core/timeline.h"
#include "parsers/reader.h"
/*
 * The parse pipeline for one input:
 *   reader (lines) -> format's record assembly (continuation lines glued)
 *   -> format's parse (0..n events per record) -> sink.
 * Formats are detected per file from its first lines (--format overrides).
 */

struct user_formats; /* parsers/formats.h: compiled --formats FILE */

struct parse_opts {
	const char *format;        /* forced format name, or NULL to detect */
	struct tzinfo tz;          /* zone for timestamps without one (default UTC) */
	const char *pg_prefix;     /* PostgreSQL log_line_prefix, or NULL to recognise */
	const struct user_formats *user; /* borrowed, or NULL */
	size_t max_line;           /* line length cap, bytes (default 1 MiB) */
	size_t max_record;         /* multi-line record cap, bytes (default 4 MiB) */
	bool quiet;                /* no per-file warnings on stderr */
};
void parse_opts_init(struct parse_opts *o);
void parse_opts_release(struct parse_opts *o);

/* Where events go.  ev and its strings are valid only during the call. */
struct event_sink {
	void (*emit)(void *data, const struct event *ev);
	void *data;
};

/* A logical record: one or more physical lines joined by '\n'. */
struct record {
	const char *s;     /* borrowed: valid during format->parse() only; NUL-terminated */
	size_t len;
	uint64_t line;     /* physical line number of its first line */
	uint32_t nlines;
	unsigned flags;    /* LINE_F_* of its lines, or-ed */
};

/*
 * Per-input parsing context handed to the formats.  Formats emit events with
 * parse_emit(), intern strings with parse_str() (valid until the record is
 * done), and report lines they cannot take with parse_unparsed().
 */
struct parse_ctx {
	const struct parse_opts *opts;
	struct source *src;       /* borrowed: counters for this input */
	uint32_t src_index;
	struct event_sink sink;
	struct arena scratch;     /* reset after every record */
	/* the date and minute of the last time read, for the formats' calls
	 * of logtime_parse_cached() (zeroed, i.e. empty, per input) */
	struct logtime_cache time_cache;
	log_usec last_ts;         /* last timestamp seen in this input */
	/* events without a timestamp seen before any timestamp in this input,
	 * at most PARSE_PENDING_MAX: past that the input counts as untimed
	 * (uvicorn's default access log) and its events go out with no time */
	struct event *pending;
	size_t npending, pending_alloc;
	struct arena pending_strings;
	bool untimed;
	const struct record *rec; /* the record being parsed */
	/* from a line wrapper (journald, Docker): used when an event has none */
	log_usec hint_ts;
	int32_t hint_pid;
};

#define PARSE_PENDING_MAX ((size_t)1 << 16)

/* Copy s[0..len) into the scratch arena (valid until the record is done). */
const char *parse_str(struct parse_ctx *ctx, const char *s, size_t len);
/* Emit ev (src, line filled from the current record unless already set).
 * An event without ts gets the last timestamp seen (EVENT_F_TS_INFERRED),
 * or waits for the first one. */
void parse_emit(struct parse_ctx *ctx, struct event *ev);
/* Tell the context a record carried this time (for placing untimed lines). */
void parse_note_ts(struct parse_ctx *ctx, log_usec ts, bool had_zone);
void parse_unparsed(struct parse_ctx *ctx, enum unparsed_reason r);

/* Parse one input into sink; counters go to src.  Returns 0, or -1 after
 * error() if the input could not be opened or reading failed part-way (what
 * was read has been emitted and counted; src->read_error says why). */
int parse_input(const char *path, const struct parse_opts *opts, struct source *src,
		uint32_t src_index, struct event_sink sink);

/*
 * Where reading of one input starts, for incremental reading (audit).
 * offset (uncompressed bytes) must be the start of a line and first_line
 * that line's number.  Format detection still samples the first lines of
 * the file, so a resumed read parses exactly as a full read would.
 * With hold_partial a final line without its newline is left unread (a
 * writer may still be writing it); src->end_offset/end_line then say where
 * to resume.
 */
struct parse_start {
	uint64_t offset;
	uint64_t first_line; /* 1-based; 0 means 1 */
	bool hold_partial;
};
#define PARSE_START_INIT { 0, 1, false }

/* parse_input() starting at *start (NULL: from the beginning, like
 * parse_input()).  Returns as parse_input(). */
int parse_input_at(const char *path, const struct parse_opts *opts,
		   const struct parse_start *start, struct source *src, uint32_t src_index,
		   struct event_sink sink);

/* Parse every input into a timeline (sorted).  Returns 0, or -1 if any input
 * failed (the others are still parsed). */
int parse_into_timeline(const char *const *paths, size_t npaths, const struct parse_opts *opts,
			struct timeline *tl);

/* Print the per-input unparsed summary and samples to stderr. */
void parse_report_unparsed(const struct source *src);
#endif
