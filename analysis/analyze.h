#ifndef POOLSCOPE_ANALYZE_H
#define POOLSCOPE_ANALYZE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "core/arena.h"
#include "core/holds.h"
#include "core/json.h"
#include "core/strbuf.h"
#include "core/timeline.h"
/*
 * The post-incident review of one run (one "side"): what the pool did, who
 * held connections and for how long, what HTTP and PostgreSQL saw, and the
 * incidents, each figure with the evidence it came from.  Computed once by
 * analysis_run() from a sorted timeline; rendered by several writers (JSON
 * for machines, text for people, Markdown for reports).  See
 * docs/analysis.md for the method: evidence ranking, percentile method,
 * origin split, incident rule.
 *
 * Durations are microseconds inside the struct and seconds in the output.
 */

/* Pool settings in force. */
struct pool_config {
	int32_t pool_size;     /* -1 unknown */
	int32_t max_overflow;  /* INT32_MIN unknown */
	int64_t timeout_usec;  /* -1 unknown */
	/* where they came from: "option", "timeout_message",
	 * "pool_stats" (pool_size only), "pool_stats+timeout_message", or NULL */
	const char *from;      /* static string */
};
#define POOL_CONFIG_INIT { -1, INT32_MIN, -1, NULL }
/* Parse "SIZE/OVERFLOW/TIMEOUT" ("20/30/45", timeout in seconds, may have a
 * fraction; "10/20" leaves the timeout unknown).  Returns 0 or -1 after
 * error(). */
int pool_config_parse(struct pool_config *c, const char *s);
/* pool_size + max_overflow, or -1 if either is unknown (or max_overflow is
 * -1, "no limit"). */
int32_t pool_config_capacity(const struct pool_config *c);

struct analysis_opts {
	struct pool_config pool;     /* --pool: overrides what the logs say */
	int64_t bucket_usec;         /* time-series resolution; default 60 s; 0 = auto
	                                (a "nice" width giving about 120 buckets) */
	double warn_pct;             /* usage above this is "warning" (default 80) */
	int64_t incident_gap_usec;   /* bad buckets closer than this merge (default 120 s) */
	int64_t match_tail_usec;     /* a request's hold may end this long after its
	                                access line (default 250 ms, see docs) */
	size_t max_evidence;         /* file:line references kept per incident (default 5) */
	size_t max_endpoints;        /* endpoints listed (default 20) */
	size_t sample_cap;           /* values a distribution keeps exactly (default
	                                ANALYSIS_SAMPLE_CAP); past it a histogram
	                                (core/stats.h), and the JSON says so; 0 = no cap */
	size_t req_memory;           /* HTTP requests kept in memory; past them they wait
	                                for the end in a temp file (core/recspill.h);
	                                0 = 65536 */
	size_t hold_memory;          /* bytes for the holds (one per checkout): the
	                                store keeps that much in memory, the rest in
	                                a temp file (core/recstore.h), and each sort
	                                of them takes as much again (half, doubled by
	                                qsort's copy); 0 = 16 MiB */
};
#define ANALYSIS_SAMPLE_CAP ((size_t)1000000)
/* The endpoints' distributions share the cap; each keeps at least this
 * many (a histogram costs about as much, docs/analysis.md "Percentiles"). */
#define ANALYSIS_SAMPLE_SHARE_MIN ((size_t)16384)
void analysis_opts_init(struct analysis_opts *o);

/* Percentiles of a sample (usec), type-7 interpolation (core/stats.h). */
struct analysis_dist {
	size_t count;
	double p50, p95, p99, max, mean, min;
};

enum pool_level {
	LEVEL_UNKNOWN = 0, /* no pool figure in this bucket */
	LEVEL_HEALTHY,
	LEVEL_WARNING,     /* usage above warn_pct of pool_size + max_overflow */
	LEVEL_EXHAUSTED,   /* usage at capacity, or a checkout timed out */
	LEVEL__COUNT
};
const char *pool_level_name(enum pool_level l);

/* One step of the time series. */
struct analysis_bucket {
	log_usec start;
	uint32_t timeouts, checkouts, requests, http_5xx, pg_too_many;
	int32_t peak_out;       /* max checked out (one pool), -1 unknown */
	int32_t peak_overflow;  /* max SQLAlchemy overflow counter, INT32_MIN unknown */
	uint32_t lat_n;         /* requests with a latency */
	double lat_p50, lat_p95;/* usec, valid if lat_n */
	bool in_batch;          /* a batch ran during some of it */
	uint8_t level;          /* enum pool_level */
};

/* A file:line reference to the line an event came from. */
struct analysis_ref {
	log_usec ts;
	uint32_t src, line;
	uint16_t kind;          /* enum event_kind */
	const char *text;       /* owned by the analysis' strings, or NULL */
};

/* The first few events of one kind in feed (timeline) order and how many
 * there were: the audit's evidence, kept while the events pass. */
#define ANALYSIS_BOOK_REFS 5
struct analysis_book {
	size_t n;                            /* events noted */
	size_t nrefs;                        /* min(n, ANALYSIS_BOOK_REFS) */
	struct analysis_ref refs[ANALYSIS_BOOK_REFS];
	uint64_t seq[ANALYSIS_BOOK_REFS];    /* feed order, to merge books */
};
/* The pool-stat samples of one checked_out value. */
struct analysis_out_book {
	int32_t out;
	struct analysis_book b;
};

#define INCIDENT_MAX_REFS 8
#define INCIDENT_MAX_HOLDERS 5
#define INCIDENT_MAX_BATCHES 8
struct analysis_incident {
	log_usec start, end;    /* first and last bad event */
	uint32_t timeouts, http_errors, exhausted_buckets, too_many_clients;
	int32_t peak_out;       /* -1 unknown */
	size_t nrefs;
	struct analysis_ref refs[INCIDENT_MAX_REFS]; /* first few bad events */
	size_t nbatches;        /* batches running during it (may exceed the list) */
	size_t batch_idx[INCIDENT_MAX_BATCHES];  /* into holds.batches */
	size_t nholders;
	size_t holder_idx[INCIDENT_MAX_HOLDERS]; /* hold_at(&holds, i): longest overlapping */
	size_t held_at_start;   /* holds out at start (pool debug), or 0 */
};

/* HTTP figures of a part of the run. */
struct http_part {
	size_t requests, errors_5xx, errors_4xx, timed; /* timed: with a latency */
	struct analysis_dist latency;
};

struct endpoint_stats {
	const char *path;       /* owned by analysis->names: ids replaced by {id} */
	const char *method;     /* owned by analysis->strings, or NULL */
	struct http_part http;
	struct analysis_dist hold; /* holds matched to its requests */
};

/* One pool (a process's engine) as the pool debug log shows it. */
struct pool_part {
	int32_t pid;            /* 0 if the log shows none */
	uint32_t src;           /* the input, when pid is 0 */
	uint8_t pool;
	long checkouts;
	int32_t peak_out;
	int32_t peak_overflow;  /* INT32_MIN unknown */
	size_t timeouts;        /* pool timeouts logged with this pid (all, if one pool) */
};

/* What a batch did to the pool (parallel to holds.batches). */
struct batch_stats {
	int32_t peak_conns;        /* most batch-origin holds out at once, -1 unknown */
	struct analysis_dist hold; /* its batch-origin pool-debug holds */
	double held_min;           /* usec: the shortest of its holds begun after the
	                              start line (not the lead-in that fetched its
	                              work): "held N connections for held_min-max" */
	size_t timeouts;           /* pool timeouts logged while it ran */
	size_t http_5xx;           /* 5xx responses while it ran */
};

struct status_count {
	int32_t status;
	size_t n;
};

struct analysis_state; /* analyze.c: what the streaming pass keeps */

struct analysis {
	const struct timeline *tl; /* borrowed, must outlive the analysis: the inputs
	                              (tl->src); its events only for analysis_run() */
	struct analysis_opts opts;
	log_usec start, end;       /* span of timed events */
	size_t events;             /* events analysed (duplicates excluded) */
	size_t duplicates;         /* cross-input duplicates dropped */
	size_t approx_dists;       /* distributions past opts.sample_cap (histogram) */
	size_t untimed;            /* events with no time at all */
	struct hold_set holds;     /* owned */

	/* pool */
	struct pool_config config;
	size_t config_variants;    /* distinct configs in timeout messages */
	int32_t capacity;          /* pool_size + max_overflow, -1 unknown */
	size_t timeouts;
	size_t timeouts_by_origin[ORIGIN__COUNT];
	log_usec first_timeout, last_timeout;
	struct analysis_ref first_timeout_ref;
	long checkouts;            /* -1 unknown (no pool debug log) */
	int32_t peak_out;          /* -1 unknown */
	int32_t peak_overflow;     /* INT32_MIN unknown */
	log_usec peak_at;
	const char *peak_from;     /* "pool_debug" | "pool_stats" | NULL (static) */
	size_t pools;              /* distinct pools (process, engine) seen */
	struct pool_part *pool_parts; /* owned, pools entries when from pool debug */
	size_t npool_parts;
	double peak_usage_pct;     /* < 0 unknown */
	double batch_peak_usage_pct; /* max usage in buckets with a batch, < 0 unknown */
	size_t level_buckets[LEVEL__COUNT];
	size_t stats_samples;

	/* holds, from holds.best evidence only */
	struct analysis_dist hold;
	struct analysis_dist hold_by_origin[ORIGIN__COUNT];
	size_t holds_matched;      /* pool-debug holds matched to a request */

	/* batches */
	size_t nbatches;
	int32_t batch_entries_min, batch_entries_max;   /* -1 unknown */
	int32_t batch_commits_min, batch_commits_max;   /* -1 unknown */
	struct analysis_dist batch_dur;
	struct batch_stats *batch_stats; /* owned, nbatches entries */
	size_t timeouts_during_batches;

	/* HTTP */
	struct http_part http, http_during, http_outside;
	struct status_count *status; /* owned, by status code */
	size_t nstatus;
	struct endpoint_stats *endpoints; /* owned, by requests desc, then path */
	size_t nendpoints;
	size_t http_untimed;       /* requests with no time (outside the series) */

	/* PostgreSQL */
	size_t pg_connections, pg_disconnections, pg_too_many, pg_slow, pg_lock_waits,
		pg_deadlocks, pg_cancels, pg_errors;
	struct analysis_dist pg_session, pg_slow_dur, pg_lock_dur;
	struct analysis_ref pg_slowest;  /* kind == 0 if none */
	struct analysis_ref pg_first_refusal;
	/* evidence books (audit): pool timeouts, "too many clients", HTTP
	 * 500-599, and pool-stat samples by checked_out (ascending, owned) */
	struct analysis_book book_timeouts, book_too_many, book_5xx;
	struct analysis_out_book *book_out;
	size_t nbook_out, book_out_alloc;

	/* time series */
	int64_t bucket_usec;
	struct analysis_bucket *buckets; /* owned */
	size_t nbuckets;

	struct analysis_incident *incidents; /* owned */
	size_t nincidents;

	struct strtab names;       /* owned: normalized endpoint paths */
	struct strtab strings;     /* owned: log text the figures point to (methods,
	                              evidence texts); holds' are in holds.strings */
	struct analysis_state *st; /* owned: between analysis_begin() and _finish() */
	log_usec *win;             /* owned, internal: merged batch windows */
	size_t nwin;
};

/*
 * The analysis is one pass over the events in timeline order (sorted by
 * time, events without a time first), keeping what the report needs
 * rather than the events (docs/analysis.md, "Memory"):
 *
 *   analysis_begin(a, sources, opts, &span);
 *   for each event in order: analysis_feed(a, ev);
 *   analysis_finish(a);
 *
 * The time series needs the run's span before the first event: the caller
 * passes every event to analysis_span_note() first (while parsing, e.g. as
 * the observer of parsers/stream.h; analysis_span_sink() has the sink's
 * signature).  Fed events' strings need to live only during the call.
 * sources (tl->src) must outlive the analysis.  analysis_finish() BUG()s if
 * the events did not match the span.  Both return 0 (-1 is kept for
 * impossible options).
 */
struct analysis_span {
	log_usec start, end;
};
void analysis_span_init(struct analysis_span *sp);
void analysis_span_note(struct analysis_span *sp, const struct event *ev);
void analysis_span_sink(void *span, const struct event *ev);
int analysis_begin(struct analysis *a, const struct timeline *sources,
		   const struct analysis_opts *opts, const struct analysis_span *span);
void analysis_feed(struct analysis *a, const struct event *ev);
int analysis_finish(struct analysis *a);

/*
 * Analyse a sorted timeline: the same pass over tl's events.  The analysis
 * borrows tl until analysis_release().  Returns 0; -1 after error() only
 * for an unsorted timeline or impossible options.
 */
int analysis_run(const struct timeline *tl, const struct analysis_opts *opts,
		 struct analysis *a);
void analysis_release(struct analysis *a);

struct parse_opts;
/*
 * Parse paths with popts and analyse them in one pass without keeping the
 * events (parsers/stream.h merges the inputs in timeline order, spilling
 * sorted runs to $TMPDIR when they do not fit in its buffer).  One source
 * per input is added to sources, which the analysis borrows (a->tl) and
 * which must outlive it; its events stay empty.  run_events: the stream's
 * buffer (0: default).  Returns 0, 1 if some input could not be read (the
 * rest is analysed), or -1 after error() (then a needs no release).
 */
int analysis_run_inputs(const char *const *paths, size_t npaths, const struct parse_opts *popts,
			const struct analysis_opts *aopts, struct timeline *sources,
			struct analysis *a, size_t run_events);
struct event_stream;
/*
 * The same over a stream already opened (parsers/stream.h; the audit's new
 * lines, inc_plan_stream()), whose observer filled span: the stream is
 * freed.  Returns 0, or -1 after error() (then a needs no release).
 */
int analysis_run_stream(struct event_stream *es, const struct timeline *sources,
			const struct analysis_span *span, const struct analysis_opts *aopts,
			struct analysis *a);

/* Path of input src ("?" if out of range). */
const char *analysis_src_name(const struct analysis *a, uint32_t src);

/*
 * Writers.  JSON: the DESIGN.md `analyze --json` object, fixed key order,
 * numbers in fixed formats (seconds with up to 6 decimals, percentages with
 * 1), unknown figures as null.  analysis_write_json_fields() writes the
 * object's members into an object the caller opened (audit adds its own
 * keys after them).
 */
void analysis_write_json(const struct analysis *a, struct jw *w);
void analysis_write_json_fields(const struct analysis *a, struct jw *w);
/* A short review an SRE would write: what happened, when, how bad, the
 * likely cause, each finding with file:line. */
void analysis_write_text(const struct analysis *a, struct strbuf *out);
/* One sentence: the likely cause of incident in ("batch 'vitals' (400
 * entries) held 18 connections for 3.0-12.1 s while API requests timed out
 * [app.log:120]"); md escapes log text for Markdown. */
void analysis_likely_cause(const struct analysis *a, const struct analysis_incident *in,
			   struct strbuf *out, bool md);
/* The same review in Markdown (tables; log text escaped for Markdown). */
void analysis_write_markdown(const struct analysis *a, struct strbuf *out);
/* The sections only, headings at the given level (2 = "##"). */
void analysis_write_markdown_body(const struct analysis *a, struct strbuf *out, int level);

/* Every reconstructed hold as TSV with a header line: start, end (ISO),
 * duration_s, conn, origin, evidence, flags, endpoint, src, line.  Log
 * text has tabs and newlines replaced. */
void analysis_write_holds_tsv(const struct analysis *a, struct strbuf *out);
/* The same into fp, 64 KiB at a time (one row per hold: the whole TSV of a
 * huge run need not be in memory).  Returns -1 on a write error (errno). */
int analysis_write_holds_tsv_file(const struct analysis *a, FILE *fp);

/* Seconds of a usec duration for printing. */
static inline double usec_s(double usec)
{
	return usec / 1e6;
}
#endif
