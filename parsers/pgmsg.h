#ifndef POOLSCOPE_PGMSG_H
#define POOLSCOPE_PGMSG_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/event.h"
#include "parsers/parse.h"
/*
 * PostgreSQL message classification shared by the three PostgreSQL formats
 * (pg-stderr, pg-csv, pg-json).  Each format cuts a record into a
 * struct pg_message (time, pid, severity, message text, the session's user
 * and database where the format shows them, SQLSTATE where it carries one);
 * pg_message_emit() turns it into at most one event through a table of
 * message prefixes, so the three formats give the same events for the same
 * server activity.
 *
 * Message texts are those of PostgreSQL 9.x to 17 (the exact PG 15.18
 * strings are in ../shared/reference/postgresql-and-other-pools.md, 5.4).
 */

enum pg_severity {
	PG_SEV_NONE = 0,
	PG_SEV_DEBUG,   /* DEBUG1..DEBUG5 */
	PG_SEV_INFO,
	PG_SEV_NOTICE,
	PG_SEV_WARNING,
	PG_SEV_ERROR,
	PG_SEV_LOG,
	PG_SEV_FATAL,
	PG_SEV_PANIC,
	/* auxiliary lines of the preceding message (stderr only) */
	PG_SEV_DETAIL,
	PG_SEV_HINT,
	PG_SEV_QUERY,
	PG_SEV_CONTEXT,
	PG_SEV_LOCATION,
	PG_SEV_STATEMENT,
	PG_SEV__COUNT
};

/* The severity named by exactly s[0..len) ("LOG", "DEBUG3", "STATEMENT"),
 * or PG_SEV_NONE.  Cheap: dispatches on length and first byte. */
enum pg_severity pg_severity_from(const char *s, size_t len);
const char *pg_severity_name(enum pg_severity sev);
static inline bool pg_severity_is_aux(enum pg_severity sev)
{
	return sev >= PG_SEV_DETAIL;
}

/* One server message, fields borrowed from the record being parsed. */
struct pg_message {
	log_usec ts;          /* LOG_USEC_NONE if the format shows no time */
	int32_t pid;          /* 0 if unknown */
	enum pg_severity sev;
	const char *msg;      /* the primary message (may span lines) */
	size_t msg_len;
	const char *user;     /* session user, or NULL (unknown, "[unknown]") */
	size_t user_len;
	const char *db;       /* session database, or NULL */
	size_t db_len;
	int32_t sqlstate;     /* event_sqlstate_pack() value, 0 if not carried */
};

/* A message with every field unknown. */
void pg_message_init(struct pg_message *m);

/*
 * Pack a SQLSTATE field of a csv/json record: "00000" (successful
 * completion, which jsonlog omits) and anything that is not 5 [0-9A-Z]
 * characters give 0, so every format reports the same value.
 */
int32_t pg_sqlstate_pack(const char *s, size_t len);

/*
 * Classify m and emit its event (if it is one of the facts poolscope
 * records) through ctx.  Returns the kind emitted, or EVENT_NONE for
 * messages that are not events (most of a log: checkpoints, `connection
 * received`, auxiliary lines).
 *
 *   connection authorized   pg_connect     text=user text2=db (from the message)
 *   disconnection           pg_disconnect  dur=session time, text=user text2=db
 *   53300 messages          pg_too_many_clients  text=message text2=user
 *   duration: N ms ...      pg_slow_statement    dur, text=statement (<= ~200 bytes)
 *   process N still waiting/acquired/detected deadlock/avoided deadlock
 *                           pg_lock_wait   dur, text=lock, text2=state
 *   canceling statement due to ... / terminating connection due to ...
 *                           pg_cancel      text=reason text2=user
 *   other ERROR/FATAL/PANIC pg_error       text=message text2=severity
 * u.pg.sqlstate is the record's SQLSTATE, else the one PostgreSQL uses
 * for that message when the table knows it; u.pg.backend_pid is the pid.
 */
enum event_kind pg_message_emit(struct parse_ctx *ctx, const struct pg_message *m);

/*
 * Copy s[0..len) into the scratch arena as a one-line summary: runs of
 * white space (including the newline + TAB of stderr continuation lines)
 * become one space, and text beyond max bytes is cut at a UTF-8 character
 * boundary and ends in "...".  Valid until the record is done.
 */
const char *pg_summary(struct parse_ctx *ctx, const char *s, size_t len, size_t max);

#define PG_SUMMARY_MAX 200
#endif
