#ifndef POOLSCOPE_EVENT_H
#define POOLSCOPE_EVENT_H
#include <stdbool.h>
#include <stdint.h>
#include "core/logtime.h"
/*
 * One record type flows through everything (DESIGN.md): parsers produce
 * events, the replay emits the same kinds, analysis consumes them.
 *
 * String fields (conn, text, text2) are borrowed.  Coming out of a parser
 * they are valid only until the sink callback returns (they live in the
 * parse context's scratch arena); a timeline re-interns them into its own
 * string table (valid until timeline_release()).
 */

enum event_kind {
	EVENT_NONE = 0,
	/* SQLAlchemy pool (debug log) */
	EVENT_POOL_CHECKOUT,   /* conn */
	EVENT_POOL_CHECKIN,    /* conn; "being returned to pool" */
	EVENT_POOL_CONNECT,    /* conn; "Created new connection" */
	EVENT_POOL_CLOSE,      /* conn; "Closing"/"Hard-closing connection"; text2="hard" */
	EVENT_POOL_INVALIDATE, /* conn; text = reason; also recycle ("recycle") */
	EVENT_POOL_RESET,      /* conn; text = "rollback"|"commit"|"already" */
	EVENT_POOL_PREPING,    /* conn; text2 = "failed" on failure */
	EVENT_POOL_CONNECT_ERROR, /* "Error on connect(): ..." text = message */
	EVENT_POOL_DISPOSE,    /* "Pool disposed" / "Pool recreating" */
	/* pool failures and samples, any pool (QueuePool, HikariCP, PgBouncer) */
	EVENT_POOL_TIMEOUT,    /* u.timeout; text = pool class/name */
	EVENT_POOL_STATS,      /* u.stats; text = label ("before batch", "status"; the pool
				  name for HikariCP, "pgbouncer" for PgBouncer, whose
				  dur = average client wait in the stats period) */
	/* HTTP */
	EVENT_HTTP_REQUEST,    /* u.http; text = path, text2 = method; dur = latency or -1 */
	EVENT_APP_ERROR,       /* an unhandled exception record ("Exception in ASGI application") */
	/* batch worker */
	EVENT_BATCH_START,     /* u.batch; text = batch name ("vitals") */
	EVENT_BATCH_END,       /* u.batch; text = batch name; dur = batch time */
	/* PostgreSQL */
	EVENT_PG_CONNECT,      /* one per session, at "connection authorized"; text=user, text2=db */
	EVENT_PG_DISCONNECT,   /* dur = session time; text=user, text2=db */
	EVENT_PG_TOO_MANY_CLIENTS, /* FATAL 53300 (too many clients, reserved slots, per role/db) */
	EVENT_PG_SLOW_STATEMENT, /* dur = statement duration; text = statement (truncated) */
	EVENT_PG_LOCK_WAIT,    /* dur = waited so far; text2 = "waiting"|"acquired"|"deadlock" */
	EVENT_PG_CANCEL,       /* text = reason ("statement timeout", "lock timeout", "user request", "idle-in-transaction timeout") */
	EVENT_PG_ERROR,        /* other ERROR/FATAL/PANIC; text = message, text2 = severity, u.pg.sqlstate */
	EVENT_KIND__COUNT
};

/* Where an event came from, for split statistics and replay origins. */
enum event_origin {
	ORIGIN_UNKNOWN = 0,
	ORIGIN_API,
	ORIGIN_BATCH,
	ORIGIN__COUNT
};

/* flags */
#define EVENT_F_TS_INFERRED 0x0001u /* line had no timestamp; placed by its neighbours */
#define EVENT_F_SIMULATED   0x0002u /* produced by the replay model */
#define EVENT_F_LIVE        0x0004u /* produced by a live replay */
#define EVENT_F_LATE_OK     0x0008u /* replay: waiter that connected at its deadline */
/* dur is a lower bound: gunicorn restarts its clock on a 500 from an
 * unhandled exception, so the pool wait is not in it (parsers/access.h) */
#define EVENT_F_DUR_PARTIAL 0x0010u

#define EVENT_NO_DURATION INT64_MIN

struct event {
	log_usec ts;         /* UTC microseconds */
	int64_t dur;         /* microseconds, EVENT_NO_DURATION if unknown */
	const char *conn;    /* borrowed: connection id ("0x7f..."), or NULL */
	const char *text;    /* borrowed: kind-specific (see enum), or NULL */
	const char *text2;   /* borrowed: kind-specific, or NULL */
	uint32_t src;        /* index of the input (struct source) */
	uint32_t line;       /* 1-based physical line where the record starts */
	int32_t pid;         /* process id, 0 if unknown */
	uint16_t kind;       /* enum event_kind */
	uint8_t origin;      /* enum event_origin */
	uint8_t pool;        /* engine/pool index within a process (0 default) */
	uint32_t flags;
	union {
		struct {
			int32_t pool_size;
			int32_t max_overflow;
			int64_t timeout_usec; /* configured timeout, or measured elapsed (HikariCP) */
		} timeout;
		struct {
			int32_t pool_size;   /* -1 unknown */
			int32_t checked_in;  /* idle connections, -1 unknown */
			int32_t checked_out; /* in use, -1 unknown */
			int32_t overflow;    /* SQLAlchemy overflow counter (often negative), INT32_MIN unknown */
			int32_t waiting;     /* waiters (HikariCP/PgBouncer), -1 unknown */
		} stats;
		struct {
			int32_t status;
			int32_t reserved;
			int64_t bytes; /* -1 unknown */
		} http;
		struct {
			int32_t entries;     /* batch size, -1 unknown */
			int32_t connections; /* connections the batch used, -1 unknown */
			int32_t commits;     /* commits in the batch, -1 unknown */
			int32_t processed;   /* entries processed (batch_end), -1 unknown */
		} batch;
		struct {
			int32_t backend_pid;
			int32_t sqlstate; /* packed 5-char SQLSTATE, 0 if none; see event_sqlstate_pack */
		} pg;
	} u;
};

/* An event with every field "unknown". */
void event_init(struct event *ev, enum event_kind kind);
const char *event_kind_name(enum event_kind kind);
/* Kind from its name ("pool_timeout"); EVENT_NONE if unknown. */
enum event_kind event_kind_from_name(const char *name, size_t len);
const char *event_origin_name(enum event_origin o);
enum event_origin event_origin_from_name(const char *name, size_t len);

/* Packs a 5-character SQLSTATE ("53300") into an int (base-36 digits). */
int32_t event_sqlstate_pack(const char *s);
void event_sqlstate_unpack(int32_t v, char out[6]);

struct strbuf;
/*
 * Append the event as one JSON object (no newline), fixed key order:
 * ts, kind, src, line, pid (if known), then the kind's own fields.
 * src_name is the input's path as given on the command line.
 */
void event_to_json(const struct event *ev, const char *src_name, struct strbuf *out);
/*
 * The same for a caller that writes many events of one source: src_json is
 * the "src" value already in JSON (quoted and escaped, or null), as
 * event_json_src() makes it once per source.
 */
void event_to_json_src(const struct event *ev, const char *src_json, size_t src_len,
		       struct strbuf *out);
/* The JSON value of a source name (quoted and escaped; null for NULL) into out. */
void event_json_src(struct strbuf *out, const char *src_name);
#endif
