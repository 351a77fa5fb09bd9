#ifndef POOLSCOPE_WORKLOAD_H
#define POOLSCOPE_WORKLOAD_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "core/arena.h"
#include "core/logtime.h"
#include "core/timeline.h"
/*
 * The recorded demand on a pool, as the replay needs it: API requests
 * (arrival, endpoint, process, hold) and batches (start, entries, lanes of
 * holds, commit pattern).  Extracted from a parsed timeline by
 * workload_extract(), written and read as a plain TSV file that people can
 * read and edit (format in docs/replay.md and workload_write()), transformed
 * for what-if questions by workload_transform(), driven by replay/sim.c.
 *
 * Times are log_usec (UTC microseconds); holds and gaps are microseconds.
 * "Arrival" is the moment the pool's checkout was called; the hold is how
 * long the connection was kept once obtained (connect/pre-ping included
 * when the log shows them inside the hold).
 */

/* Where a row's figures came from, best first (DESIGN.md "Evidence"). */
enum wl_evidence {
	WL_EV_NONE = 0,
	WL_EV_POOL_DEBUG,   /* checkout/return pair in the pool debug log */
	WL_EV_ACCESS_LOG,   /* access-log time and duration */
	WL_EV_TIMEOUT,      /* TimeoutError time minus timeout; hold imputed */
	WL_EV_BATCH_LINES,  /* batch start/end lines */
	WL_EV_POOL_STATS,   /* pool-stat samples (Little's law) */
	WL_EV_SYNTHETIC,    /* generated (bench, tests) */
	WL_EV_USER,         /* written by hand */
	WL_EV__COUNT
};
const char *wl_evidence_name(enum wl_evidence e);
enum wl_evidence wl_evidence_from_name(const char *s, size_t len);

/* request flags */
#define WL_F_IMPUTED    0x01u /* hold imputed from similar requests */
#define WL_F_TIMED_OUT  0x02u /* this checkout timed out in the log */
#define WL_F_ARRIVAL_EST 0x04u /* arrival estimated: it waited in the queue */
#define WL_F_ORIGIN_GUESS 0x08u /* api/batch told apart by the heuristic */
#define WL_F_COPY       0x10u /* a replica made by --scale-load > 1 */
#define WL_F_LOCK_WAIT  0x20u /* transform: a hold taken to include a wait on the
			       * batch's row locks, replaced by a baseline hold */

struct wl_request {
	log_usec t;       /* arrival: pool checkout called */
	int64_t hold;     /* usec the connection is kept */
	uint32_t name;    /* endpoint: index into wl->names, 0 = unknown */
	int32_t pid;      /* recorded process id, 0 unknown */
	uint8_t engine;   /* pool/engine within the process */
	uint8_t origin;   /* enum event_origin */
	uint8_t evidence; /* enum wl_evidence */
	uint8_t flags;    /* WL_F_* */
};

enum wl_commit {
	WL_COMMIT_ONCE = 0,  /* one transaction per lane: a lane's checkout spans its
			      * whole slice; a timeout ends the lane */
	WL_COMMIT_GROUP = 1  /* commit per group: one checkout per group; a timeout
			      * skips that group and the lane goes on */
};

/* One checkout of a batch lane (a sub-worker's connection). */
struct wl_hold {
	int64_t hold;     /* usec */
	int64_t gap;      /* usec from the lane's previous checkin (or batch start) to this checkout */
	int32_t entries;  /* entries this checkout covered, -1 unknown */
	uint16_t lane;
	uint16_t reserved;
};

struct wl_batch {
	log_usec start;     /* recorded start */
	int64_t gap;        /* usec from the end of the previous batch of the same
			     * process to this start (the worker's sleep), -1: start
			     * at `start` (or when the previous one ends, if later) */
	uint32_t name;      /* index into wl->names */
	int32_t pid;
	int32_t entries;    /* -1 unknown */
	uint32_t first, nholds; /* its holds: wl->holds[first .. first+nholds), by lane then order */
	uint16_t lanes;     /* concurrent connections (sub-workers) */
	uint8_t engine;
	uint8_t commit;     /* enum wl_commit */
	uint8_t evidence;
	uint8_t flags;
};

struct workload {
	struct wl_request *req;  /* owned, sorted by t */
	size_t nreq, req_alloc;
	struct wl_batch *batch;  /* owned, sorted by start */
	size_t nbatch, batch_alloc;
	struct wl_hold *holds;   /* owned */
	size_t nholds, holds_alloc;
	/* names: index 0 is "" (unknown) */
	const char **names;      /* owned array of strings owned by `strings` */
	size_t nnames, names_alloc;
	struct strtab strings;
	/* settings recorded in the logs (from TimeoutError text, pool stats) */
	int32_t rec_pool_size;     /* -1 unknown */
	int32_t rec_max_overflow;  /* INT32_MIN unknown */
	int64_t rec_timeout_usec;  /* -1 unknown */
	/* measured per-entry cost: batch connection time / entries, -1 unknown */
	int64_t per_entry_usec;
	/* what the log itself showed, for the validation line of `replay` */
	int64_t rec_timeouts;      /* pool_timeout events (-1 unknown) */
	int32_t rec_peak_checked_out; /* from pool debug / stats, -1 unknown */
	/* extraction diagnostics */
	size_t imputed, arrival_est, origin_guess;
	size_t lock_waits_dropped; /* transform: holds replaced (WL_F_LOCK_WAIT) */
	const char *hold_evidence; /* static: best evidence for holds ("pool_debug") */
};

void workload_init(struct workload *wl);
void workload_release(struct workload *wl);
/* Intern a name; returns its index (0 for NULL or ""). */
uint32_t workload_name(struct workload *wl, const char *s, size_t len);
static inline const char *workload_name_str(const struct workload *wl, uint32_t i)
{
	return i < wl->nnames ? wl->names[i] : "";
}
struct wl_request *workload_add_request(struct workload *wl);
/* Append a batch; its holds are added with workload_add_hold() right after. */
struct wl_batch *workload_add_batch(struct workload *wl);
struct wl_hold *workload_add_hold(struct workload *wl, uint32_t batch);
/* Sort requests by arrival and batches by start (stable). */
void workload_sort(struct workload *wl);
/* Sum of lane holds (usec) of batch b. */
int64_t workload_batch_conn_time(const struct workload *wl, const struct wl_batch *b);
/* Measured per-entry cost over batches with known entries (usec), or -1. */
int64_t workload_measure_per_entry(const struct workload *wl);
log_usec workload_start(const struct workload *wl);
log_usec workload_end(const struct workload *wl);

/*
 * Build the workload from a parsed, sorted timeline (replay/extract.c says
 * how, and which evidence wins).  wl must be freshly initialised.  The
 * timeline must outlive nothing: strings are copied.  Returns 0.
 */
int workload_extract(struct workload *wl, const struct timeline *tl);

/*
 * The TSV file (docs/replay.md):
 *   #poolscope-workload 1
 *   #config <tab> pool_size=N <tab> max_overflow=N <tab> timeout_s=X ...
 *   header row, then one row per request, batch and batch hold.
 * workload_write() returns 0 or -1 after error(); workload_read() returns 0,
 * or -1 after error() naming path:line for a bad row.
 */
int workload_write(const struct workload *wl, FILE *fp);
int workload_read(struct workload *wl, const char *path);
/* True if the file starts with the workload magic line. */
bool workload_file_sniff(const char *path);

/*
 * What-if transforms.  A field left at its "keep" value changes nothing.
 */
struct wl_transform {
	int32_t batch_size;        /* > 0: re-cut batches into pieces of this many entries */
	int32_t batch_concurrency; /* > 0: lanes per batch */
	int commit;                /* -1 keep, else enum wl_commit */
	int64_t batch_gap_usec;    /* >= 0: gap between batches (incl. re-cut pieces) */
	double scale_load;         /* 1.0 keep; < 1 thins, > 1 replicates API arrivals */
	int64_t per_entry_usec;    /* > 0: override the measured per-entry cost */
	int32_t group_size;        /* > 0: entries per checkout with commit per group
				    * (default: measured from per-group batches, else 1) */
	int lock_waits;            /* 1 drop, 0 keep, -1 auto: drop when --commit group
				    * replaces batches that committed once (see transform.c) */
	uint64_t seed;
};
void wl_transform_init(struct wl_transform *t);
bool wl_transform_is_identity(const struct wl_transform *t);
/* Build out (initialised by the caller) from in.  Returns 0, or -1 after
 * error() when a transform needs a figure the workload lacks (re-cutting
 * batches whose entries or per-entry cost are unknown). */
int workload_transform(struct workload *out, const struct workload *in,
		       const struct wl_transform *t);

/* A deterministic synthetic day (bench, tests): nreq API requests spread
 * over `span`, with busy batches every `batch_every` usec. */
void workload_synthetic(struct workload *wl, size_t nreq, int64_t span_usec,
			int64_t batch_every_usec, uint64_t seed);

/* splitmix64: the replay's deterministic PRNG */
static inline uint64_t wl_rand_next(uint64_t *s)
{
	uint64_t z = (*s += UINT64_C(0x9E3779B97F4A7C15));
	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}
/* uniform in [0, 1) */
static inline double wl_rand_unit(uint64_t *s)
{
	return (double)(wl_rand_next(s) >> 11) * (1.0 / 9007199254740992.0);
}
#endif
