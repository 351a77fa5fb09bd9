#ifndef POOLSCOPE_TIMELINE_H
#define POOLSCOPE_TIMELINE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/arena.h"
#include "core/event.h"
/*
 * The merged, sorted event stream of one run (a "side" of a comparison),
 * plus what was read to build it.
 */

/* Why a line was not turned into events.  Counted per input. */
enum unparsed_reason {
	UNPARSED_NONE = 0,
	UNPARSED_UNKNOWN_LAYOUT,  /* the line fits no known layout of its file's format */
	UNPARSED_NO_TIMESTAMP,    /* a timestamp was required and missing/invalid */
	UNPARSED_BAD_FIELD,       /* layout matched, a field (number, date) did not parse */
	UNPARSED_TOO_LONG,        /* line over the length cap; the rest was skipped */
	UNPARSED_BINARY,          /* NUL bytes or mostly non-text */
	UNPARSED_TRUNCATED,       /* record cut off (end of file inside a record) */
	UNPARSED_ORPHAN,          /* continuation line with no record to continue */
	UNPARSED__COUNT
};
const char *unparsed_reason_name(enum unparsed_reason r);

#define SOURCE_MAX_SAMPLES 5
struct unparsed_sample {
	uint64_t line;
	enum unparsed_reason reason;
	char excerpt[128]; /* first bytes of the line, control characters replaced */
};

/* One input (a file or stdin) and what reading it gave. */
struct source {
	char *path;           /* owned: as named on the command line ("-" for stdin) */
	char *format;         /* owned: detected or forced format name, or NULL */
	uint64_t lines;       /* physical lines read */
	uint64_t bytes;       /* bytes read (uncompressed) */
	uint64_t records;     /* logical records (multi-line records count once) */
	uint64_t events;      /* events produced */
	uint64_t unparsed;    /* lines not taken, sum of by_reason */
	uint64_t by_reason[UNPARSED__COUNT];
	size_t nsamples;
	struct unparsed_sample samples[SOURCE_MAX_SAMPLES];
	bool zone_assumed;    /* some timestamps had no zone; --tz was applied */
	bool read_failed;     /* reading stopped early (truncated gzip, I/O error) */
	char *read_error;     /* owned: the one-line error, or NULL */
	log_usec first_ts, last_ts;
	/* The resume point of an incremental reader (audit): reading started at
	 * uncompressed byte start_offset; end_offset is just past the last
	 * complete line consumed and end_line that line's number (start_offset
	 * and first line - 1 if none was). */
	uint64_t start_offset, end_offset, end_line;
};

void source_init(struct source *s, const char *path);
void source_release(struct source *s);
/* Count an unparsed line and keep it as a sample while there is room. */
void source_note_unparsed(struct source *s, uint64_t line, enum unparsed_reason r,
			  const char *text, size_t len);

struct timeline {
	struct event *ev;      /* owned */
	size_t nr, alloc;
	struct strtab strings; /* interned strings the events point to */
	struct source *src;    /* owned array */
	size_t nsrc, src_alloc;
	bool sorted;
};

void timeline_init(struct timeline *tl);
void timeline_release(struct timeline *tl);
/* Add an input; returns its index (event.src).  The pointer returned by
 * timeline_source() is valid until the next timeline_add_source(). */
uint32_t timeline_add_source(struct timeline *tl, const char *path);
static inline struct source *timeline_source(struct timeline *tl, uint32_t i)
{
	return &tl->src[i];
}
/* Append a copy of ev; its strings are interned into tl->strings. */
void timeline_append(struct timeline *tl, const struct event *ev);
/* Stable sort by time (events without a time go first); ties keep input order. */
void timeline_sort(struct timeline *tl);
log_usec timeline_start(const struct timeline *tl);
log_usec timeline_end(const struct timeline *tl);
#endif
