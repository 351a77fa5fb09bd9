#ifndef POOLSCOPE_HOLDS_H
#define POOLSCOPE_HOLDS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/event.h"
#include "core/arena.h"
#include "core/logtime.h"
#include "core/strbuf.h"
#include "core/timeline.h"
#include "core/recstore.h"
/*
 * Hold reconstruction: how long pool connections were held, from the best
 * evidence a log set holds (DESIGN.md "Evidence, stated"), weakest last:
 *
 *   HOLD_EV_POOL_DEBUG  SQLAlchemy pool debug "checked out" / "being
 *                       returned" pairs per connection: exact hold times
 *   HOLD_EV_BATCH       batch start/end lines: one span per batch, the time
 *                       the batch held its connections (an upper bound for
 *                       each of them)
 *   HOLD_EV_PG_SESSION  PostgreSQL session spans (pg_connect ->
 *                       pg_disconnect with session time): an upper bound,
 *                       a pooled session outlives many holds
 *   HOLD_EV_LITTLE      pool-stat samples with Little's law: only the mean
 *                       hold, mean checked_out / checkout rate (an estimate)
 *
 * Every hold says which evidence it came from; a hold_set names the best
 * evidence present, and consumers compute distributions from that evidence
 * only (mixing an exact 50 ms checkout with a 5-minute session span would
 * describe nothing).
 *
 * Pairing (pool debug): a connection is (pid, pool, conn) where conn is the
 * logged connection id; pid 0 ("unknown") is scoped by source file, because
 * two files without pids may be two processes whose 0x... addresses
 * collide.  Real logs are messy, so:
 *   - a checkin with no checkout (the log began mid-hold) gives a hold with
 *     no start (HOLD_F_NO_START): counted, never in a distribution;
 *   - a checkout never returned is open at the end (HOLD_F_OPEN): reported
 *     separately, no end is invented;
 *   - a second checkout of a connection that is out (a lost "being returned"
 *     line, or an address reused after an unlogged close) leaves the first
 *     hold open-ended (HOLD_F_LOST);
 *   - the same line logged twice (root and pool handler both attached: the
 *     same event at the same instant) counts once;
 *   - a connection invalidated or hard-closed while out ends its hold
 *     tentatively (HOLD_F_CLOSED_OUT); a later "being returned" of the same
 *     id extends it, and a "Created new connection" right after in the same
 *     scope (pre-ping reconnect: the caller keeps its checkout but gets a new
 *     DBAPI connection, sqlalchemy-pool.md 3.4 note a) carries the hold over
 *     to the new id.
 */

enum hold_evidence {
	HOLD_EV_NONE = 0,
	HOLD_EV_LITTLE,
	HOLD_EV_PG_SESSION,
	HOLD_EV_BATCH,
	HOLD_EV_POOL_DEBUG,
	HOLD_EV__COUNT
};
/* "pool_debug", "batch_spans", "pg_sessions", "littles_law", "none" */
const char *hold_evidence_name(enum hold_evidence e);
/* One-line human description ("pool debug checkout/return pairs (exact)"). */
const char *hold_evidence_describe(enum hold_evidence e);

#define HOLD_F_OPEN       0x01u /* never returned before the log ended: no end */
#define HOLD_F_NO_START   0x02u /* returned, but its checkout predates the log */
#define HOLD_F_LOST       0x04u /* checked out again before any return: no end */
#define HOLD_F_CLOSED_OUT 0x08u /* invalidated/closed while out; end = that time */
#define HOLD_F_CARRIED    0x10u /* carried over to a new connection id (reconnect) */

/* 80 bytes: one per checkout, kept to the end of the analysis in a
 * core/recstore (bounded memory, the rest in a temporary file), so a field
 * here costs 0.5 M x its size per GB of logs of $TMPDIR (docs/analysis.md
 * "Memory").  A batch span's entries, commits and connections are in its
 * batch_window. */
struct hold {
	log_usec start;      /* checkout time, LOG_USEC_NONE if HOLD_F_NO_START */
	log_usec end;        /* return time, LOG_USEC_NONE if open/lost */
	int64_t dur;         /* end - start (usec), EVENT_NO_DURATION if either is unknown */
	const char *conn;    /* owned by the hold_set's strings: connection id, or NULL */
	const char *name;    /* owned by the hold_set's strings: batch name, PG user, or NULL */
	int32_t pid;
	uint32_t src;        /* input of the start event (of the end if no start) */
	uint32_t line;       /* line of the start event (of the end if no start) */
	uint32_t end_src, end_line; /* the end event, 0/0 if none */
	uint32_t scope_src;  /* src when pid is 0, else UINT32_MAX: with pid and pool,
	                        the pool this hold belongs to */
	log_usec end_bound;  /* latest possible end: end, or for HOLD_F_LOST the
	                        re-checkout that proves it was returned; else NONE */
	int32_t endpoint;    /* the analysis' index into its endpoints, or -1 */
	uint8_t origin;      /* enum event_origin; after the analysis' split, its verdict */
	uint8_t evidence;    /* enum hold_evidence */
	uint8_t flags;       /* HOLD_F_* */
	uint8_t pool;
};

/* A stretch where a batch ran (from batch_start/batch_end), for splitting
 * HTTP and holds into "during aggregation" and not. */
struct batch_window {
	log_usec start, end; /* end = LOG_USEC_NONE if the batch never ended */
	log_usec end_bound;  /* no end line, but the next start of the same batch
	                        in the same process proves it was over: that start;
	                        else LOG_USEC_NONE (still running when the log ends) */
	log_usec start_line; /* time of the batch_start line, or LOG_USEC_NONE;
	                        start is earlier when the end line's duration says so */
	const char *name;    /* owned by the hold_set's strings, or NULL */
	int32_t pid;
	uint32_t src, line;  /* where it starts (batch_start, else batch_end) */
	uint32_t end_src, end_line;
	int32_t entries, processed, connections, commits; /* -1 unknown */
};

struct hold_builder; /* holds.c: pairing state between holds_begin() and holds_finish() */

struct hold_set {
	struct strtab strings;     /* owned: the strings holds and batches point to */
	struct hold_builder *b;    /* owned: between holds_begin() and holds_finish() */
	struct recstore store;     /* owned: the holds, in order of start (ends for
	                              NO_START) once holds_finish() sorted them;
	                              read them with hold_at() */
	size_t nr;                 /* holds in the store */
	size_t mem_bytes;          /* memory for the store and its sort, 0: 16 MiB;
	                              set before holds_begin() */
	struct batch_window *batches; /* owned, in order of start */
	size_t nbatches, batches_alloc;
	enum hold_evidence best;   /* best evidence with at least one complete hold */
	size_t complete[HOLD_EV__COUNT]; /* holds with a known duration, per evidence */
	/* pool debug pairing diagnostics */
	size_t checkouts;          /* pool_checkout events (duplicates removed) */
	size_t checkins;           /* pool_checkin events (duplicates removed) */
	size_t duplicates;         /* checkout/checkin lines seen twice and dropped */
	size_t open_at_end;        /* HOLD_F_OPEN */
	size_t no_start;           /* HOLD_F_NO_START */
	size_t lost;               /* HOLD_F_LOST */
	size_t closed_out;         /* HOLD_F_CLOSED_OUT */
	size_t carried;            /* HOLD_F_CARRIED */
	/* Little's law (always computed when pool_stats samples exist) */
	size_t little_samples;     /* pool_stats samples with checked_out */
	double little_mean_out;    /* mean checked_out over the samples */
	double little_rate;        /* checkouts per second used (see holds.c) */
	const char *little_rate_from; /* "pool_debug" | "http_requests" | NULL */
	int64_t little_mean_hold;  /* usec, EVENT_NO_DURATION if not estimable */
};

void hold_set_init(struct hold_set *hs);
void hold_set_release(struct hold_set *hs);
/* Hold i (i < hs->nr).  The pointer is valid until the next access to the
 * set (core/recstore.h): copy a hold that must outlive another access.
 * Writing through it is allowed (the analysis records its verdicts). */
static inline struct hold *hold_at(const struct hold_set *hs, size_t i)
{
	return (struct hold *)recstore_at((struct recstore *)&hs->store, i);
}
/* The memory of one sort of holds (or of records about them) in a budget
 * of mem_bytes (0: 16 MiB): half, since qsort() copies each run it sorts. */
static inline size_t hold_sort_memory(size_t mem_bytes)
{
	size_t m = (mem_bytes ? mem_bytes : (size_t)16 << 20) / 2;
	return m ? m : 1; /* extsort's 0 is its default */
}
/* True if the store failed (a temporary file could not be written or
 * read: error() said so); the holds read since are zeroes. */
static inline bool hold_set_failed(const struct hold_set *hs)
{
	return hs->store.failed;
}

/*
 * Duplicates across inputs: an event that repeats an event of *another*
 * input at the same instant (same kind, ts, pid, conn, texts and duration)
 * among the DUP_WINDOW events before it at that instant.  One record written
 * to two destinations (PostgreSQL's stderr + csvlog + jsonlog; a traceback
 * in app.log and on the console) is one fact.  Events whose time was
 * inferred are never marked.
 *
 * dup_window_check() sees the events in timeline order and says whether
 * this one is a duplicate; it keeps copies of the texts of the current
 * instant's last DUP_WINDOW events only.
 */
#define DUP_WINDOW 64
struct dup_slot {
	log_usec ts;
	int64_t dur;
	int32_t pid;
	uint32_t src;
	uint16_t kind;
	bool dup, cmp, has[3];
	struct strbuf str[3]; /* conn, text, text2 */
};
struct dup_window {
	struct dup_slot slot[DUP_WINDOW];
	size_t n, head;
	log_usec ts;
};
void dup_window_init(struct dup_window *w);
void dup_window_release(struct dup_window *w);
bool dup_window_check(struct dup_window *w, const struct event *ev);
/* The same over a sorted timeline: dup has tl->nr bytes (1 = duplicate);
 * returns how many were marked. */
size_t events_mark_duplicates(const struct timeline *tl, uint8_t *dup);

/*
 * Reconstruct holds and batch windows from events in timeline order:
 * holds_begin(), holds_feed() for each event (duplicates left out), then
 * holds_finish(), which closes what is still open, adds the batch spans and
 * sorts (core/extsort: in bounded memory too).  The hold_set copies the
 * strings it keeps (hs->strings), so fed events' strings need to live only
 * during the call.  Origins come from the
 * events (a parser that knows the thread or logger sets them) and batch
 * spans are ORIGIN_BATCH; the API/batch split by time is the analysis' job.
 */
void holds_begin(struct hold_set *hs);
void holds_feed(struct hold_set *hs, const struct event *ev);
void holds_finish(struct hold_set *hs);
/* All three over a sorted timeline (BUG() if it is not sorted); dup (may be
 * NULL) is from events_mark_duplicates(): marked events are skipped. */
void holds_build(struct hold_set *hs, const struct timeline *tl, const uint8_t *dup);

/* Where a batch window ends for splitting by time: its end, else the end
 * bound, else span_end. */
static inline log_usec batch_window_end(const struct batch_window *w, log_usec span_end)
{
	return w->end != LOG_USEC_NONE ? w->end : w->end_bound != LOG_USEC_NONE ? w->end_bound : span_end;
}

/* What the holds are sorted by: the start, or the end of a hold with none. */
static inline log_usec hold_key(const struct hold *h)
{
	return h->start != LOG_USEC_NONE ? h->start : h->end;
}
/* The first hold (after holds_finish()) whose key is t or later. */
size_t holds_lower_bound(const struct hold_set *hs, log_usec t);

/* True if the hold has a duration usable in a distribution. */
static inline bool hold_complete(const struct hold *h)
{
	return h->dur != EVENT_NO_DURATION;
}
#endif
