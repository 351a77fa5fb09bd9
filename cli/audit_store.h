#ifndef POOLSCOPE_AUDIT_STORE_H
#define POOLSCOPE_AUDIT_STORE_H
#include <stdint.h>
#include "analysis/analyze.h"
#include "analysis/audit.h"
#include "analysis/audit_trend.h"
#include "core/logtime.h"
#include "parsers/incremental.h"
/*
 * Audit runs in PostgreSQL (`poolscope audit --store DSN`), for trends.
 *
 * Schema `poolscope`, versioned by poolscope.schema_version and created on
 * first use; migrations run in their own transaction under
 * pg_advisory_xact_lock(AUDIT_STORE_LOCK_KEY), so hosts that start at the
 * same moment do not collide.  Migrations only ever add (tables, nullable
 * columns), and every statement names its columns, so an older poolscope
 * keeps storing into a newer schema.  docs/audit.md shows the tables.
 *
 * One run is one transaction: the run row (parameterized INSERT ...
 * RETURNING), then inputs, per-minute series, hold histogram, findings and
 * evidence through COPY (text format, every field escaped).  No log text is
 * ever part of an SQL string.  Every row carries the host tag.
 */

#define AUDIT_STORE_SCHEMA_VERSION 1
#define AUDIT_STORE_LOCK_KEY INT64_C(0x706f6f6c73636f70) /* "poolscop" */

struct audit_store_run {
	const char *host;            /* borrowed: --host-tag or gethostname() */
	log_usec started;            /* wall clock at the start of the run */
	int exit_code;               /* the audit's own exit code (0/1) */
	const struct analysis *a;    /* borrowed; a->tl holds the sources read */
	const struct audit_result *r; /* borrowed */
	const struct inc_plan *plan; /* borrowed, or NULL: why each input was read */
};

/*
 * Store one run.  Returns 0 and the new run id, or -1 after one
 * `error: ...` line (nothing is stored then: the transaction is rolled back
 * or never committed).
 */
int audit_store_write(const char *dsn, const struct audit_store_run *run, int64_t *run_id);

/*
 * The stored history per UTC day, for the last `days` days up to the newest
 * stored minute; host NULL = all hosts.  Returns 0, or -1 after error().
 */
int audit_store_trend(const char *dsn, const char *host, int days, struct audit_trend *out);

/* Append s to a COPY text-format row: \\, tab, newline and CR escaped and
 * invalid UTF-8 replaced by U+FFFD (a text column must be valid UTF-8);
 * NULL writes \N. */
void copy_add_text(struct strbuf *row, const char *s);
/* Append bytes as a bytea value (\\x hex, escaped for COPY): byte-exact,
 * NUL included.  NULL writes \N. */
void copy_add_bytea(struct strbuf *row, const char *s, size_t len);
#endif
