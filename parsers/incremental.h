#ifndef POOLSCOPE_INCREMENTAL_H
#define POOLSCOPE_INCREMENTAL_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/strvec.h"
#include "core/timeline.h"
#include "parsers/parse.h"
/*
 * Incremental reading for `poolscope audit --state FILE`: a run reads only
 * the lines written since the previous run, across log rotation.
 *
 * The state remembers log *streams*, not names.  A stream is identified by
 * (st_dev, st_ino) and by a hash of its first bytes (up to INC_HEAD_MAX of
 * the uncompressed content, never more than was consumed), and carries the
 * uncompressed offset and line number just past the last complete line
 * read.  Each run looks for every stream it knows among the inputs and the
 * rotated files beside them ("app.log.1", "app.log.2.gz", "app.log-20251020",
 * "app.log.2025-10-20"):
 *
 *   same inode, same head, not shorter   -> continue at the offset
 *   same head, other inode, .gz or copy  -> the rotated stream: skip the part
 *                                           already read, read the rest
 *   input with other inode / other head  -> replaced or truncated ("restart"):
 *   or shorter than the offset              read from line 1
 *
 * A rotated file beside an input that matches no known stream appeared since
 * the last run (the log rotated twice) and is read whole; on the first run of
 * an input its existing rotated files are remembered as "ignored" (history
 * from before auditing began) and never read.  A final line without its
 * newline is left for the next run (except in .gz files, which are final).
 * If an input was rotated and its previous file cannot be found, a warning
 * note says lines may have been missed.
 *
 * The state file is text (see docs/audit.md), written atomically (temp file,
 * fsync, rename, fsync of the folder); a killed run leaves the previous state
 * intact.  A lock on "<state>.lock" (flock) keeps two audits apart.
 */

#define INC_HEAD_MAX 256
/* hash-only matching (no common inode) needs at least this much head */
#define INC_HEAD_MATCH_MIN 32

enum inc_kind {
	INC_LIVE,    /* the content of an input path */
	INC_ROTATED, /* a rotated file of an input, read (tracked for late writes) */
	INC_IGNORED  /* a rotated file that predates auditing; never read */
};

struct inc_entry {
	enum inc_kind kind;
	char *path;        /* owned: name when last seen */
	char *origin;      /* owned: the input whose rotated file this is, or NULL */
	uint64_t dev, ino;
	bool gz;
	uint64_t fsize;    /* size on disk when last seen (compressed for .gz) */
	int64_t mtime_ns;
	uint32_t head_len; /* bytes of content hashed */
	uint64_t head_hash;
	uint64_t offset;   /* uncompressed bytes consumed: end of the last complete line */
	uint64_t line;     /* lines consumed */
	int64_t seen;      /* unix time of the run that last saw it */
};

struct inc_state {
	char *path;        /* owned: the state file */
	int lock_fd;       /* -1 when not locked */
	int64_t last_run;  /* unix time of the run that wrote it, 0 if none */
	struct inc_entry *v; /* owned */
	size_t nr, alloc;
};

void inc_state_init(struct inc_state *st, const char *path);
/* Unlock and free everything. */
void inc_state_release(struct inc_state *st);
/*
 * Take the lock "<path>.lock" (created if missing).  wait_ms < 0 waits as
 * long as it takes, 0 does not wait, > 0 waits that long.  Removes temp files
 * left by killed runs.  Returns 0, or -1 after error() naming the holder.
 */
int inc_state_lock(struct inc_state *st, int wait_ms);
/* Load the state; a missing file is an empty state.  Returns 0, or -1 after
 * error() naming file:line if it is unreadable or malformed. */
int inc_state_load(struct inc_state *st);
/* Write the state atomically.  Returns 0 or -1 after error(). */
int inc_state_save(const struct inc_state *st, int64_t now);

enum inc_why {
	INC_WHY_NEW,       /* never seen: from line 1 */
	INC_WHY_CONTINUE,  /* known stream, continue */
	/* the input holds other content than last time, from line 1: replaced
	 * (other inode) or truncated; inode numbers are reused, so the two
	 * cannot be told apart reliably */
	INC_WHY_RESTART,
	INC_WHY_ROTATED,   /* a known stream found under a rotated name: its rest */
	INC_WHY_GAP        /* a rotated file never seen (log rotated twice): whole */
};
const char *inc_why_name(enum inc_why w);

/* One file to read in this run. */
struct inc_segment {
	char *path;        /* owned: the file to read, named as the input was */
	char *abspath;     /* owned: its absolute name, as stored in the state */
	char *input;       /* owned: the input (command line) it belongs to */
	char *abs_input;   /* owned: the input's absolute name */
	enum inc_why why;
	struct parse_start start;
	bool is_input;
	/* identity at planning time */
	uint64_t dev, ino, fsize;
	int64_t mtime_ns;
	bool gz;
	uint32_t head_n;   /* bytes of head read */
	unsigned char head[INC_HEAD_MAX];
	/* results, filled by inc_plan_read() */
	bool read;
	bool failed;
	uint32_t src_index; /* its source in the timeline */
	uint64_t end_offset, end_line;
};

/* A note about rotation for the audit's findings. */
struct inc_note {
	bool warning;      /* lines may have been missed (else info) */
	char *path;        /* owned: the input concerned */
	uint64_t line;     /* last line read of the lost stream, or 0 */
	char *text;        /* owned */
};

struct inc_plan {
	struct inc_segment *seg; /* owned */
	size_t nseg, seg_alloc;
	struct inc_entry *keep;  /* owned: entries to carry to the new state as they are */
	size_t nkeep, keep_alloc;
	struct inc_note *notes;  /* owned */
	size_t nnotes, notes_alloc;
};

void inc_plan_init(struct inc_plan *p);
void inc_plan_release(struct inc_plan *p);
/*
 * Decide what to read for inputs[] given the state (NULL = no state: every
 * input from line 1, no rotated files).  Inputs must be files (not "-").
 * Returns 0, or -1 after error() if an input cannot be examined.
 */
int inc_plan_make(struct inc_plan *p, const struct inc_state *st, const char *const *inputs,
		  size_t ninputs);
/*
 * Read every segment into tl (one source each, named by the file read) with
 * opts.  Returns 0, or -1 if any segment failed to read (the others are read;
 * seg->failed says which).
 */
int inc_plan_read(struct inc_plan *p, const struct parse_opts *opts, struct timeline *tl);
/*
 * The same without a timeline: the segments are parsed into *es, an event
 * stream (parsers/stream.h) in bounded memory, their sources added to
 * sources and observe shown every event (see event_stream_open()).
 * Returns 0; 1 if a segment failed to read (the others are read;
 * seg->failed says which); -1 after error() if the stream's temporary
 * file failed (*es is NULL).
 */
struct event_stream;
int inc_plan_stream(struct inc_plan *p, const struct parse_opts *opts, struct timeline *sources,
		    struct event_sink observe, struct event_stream **es);
/*
 * Replace st's entries by the outcome of the plan: entries of other inputs
 * are kept, streams read move to where reading stopped.  Call only after a
 * successful inc_plan_read().
 */
void inc_state_update(struct inc_state *st, const struct inc_plan *p, int64_t now);

/* 64-bit FNV-1a, the head hash. */
uint64_t inc_hash(const void *p, size_t len);
#endif
