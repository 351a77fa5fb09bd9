#ifndef POOLSCOPE_PGLOG_H
#define POOLSCOPE_PGLOG_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/logtime.h"
#include "parsers/parse.h"
/*
 * PostgreSQL stderr logs (format "pg-stderr"): `<log_line_prefix><SEVERITY>:  <message>`,
 * embedded newlines written as newline + TAB.
 *
 * The prefix is given by --pg-prefix or recognised per line from the
 * common ones (pg_prefix_common[]); when the prefix in use stops matching
 * (a reload changed log_line_prefix) the next line is recognised again.  A
 * line no known prefix fits but that starts with a timestamp and has a
 * severity is still read, by a generic matcher: time at the start, pid from
 * the first "[digits", user and database from "user=/db=" or "user@db".
 *
 * Prefixes of the same shape cannot be told apart from the lines alone:
 * '%m [%p] %q%a@%d ' is read as Debian's '%m [%p] %q%u@%d ' (the
 * application name taken for the user) unless given with --pg-prefix.
 * Times whose zone PostgreSQL prints as an abbreviation we do not read
 * (CET, EDT) are read in --tz.
 */

struct format;
extern const struct format format_pg_stderr;

/* The log_line_prefix values recognised without --pg-prefix, in the order
 * they are tried; NULL-terminated. */
extern const char *const pg_prefix_common[];

/*
 * A compiled log_line_prefix: escapes %a %u %d %r %h %b %p %P %t %m %n %i %e
 * %c %l %s %v %x %q %Q %% with optional padding (%-10u, %10u); unknown
 * escapes print nothing, as in PostgreSQL.
 */
struct pg_prefix;
/* Compile spec; never fails (owned by the caller, free with pg_prefix_free). */
struct pg_prefix *pg_prefix_compile(const char *spec);
void pg_prefix_free(struct pg_prefix *p);
const char *pg_prefix_spec(const struct pg_prefix *p);

/* What a prefix gave; strings borrowed from the matched line. */
struct pg_prefix_fields {
	log_usec ts;          /* LOG_USEC_NONE if the prefix has no time */
	bool had_zone;
	int32_t pid;          /* 0 if none */
	const char *user;     /* NULL if absent, empty or "[unknown]" */
	size_t user_len;
	const char *db;
	size_t db_len;
	const char *sqlstate; /* %e, or NULL */
	size_t sqlstate_len;
};

/*
 * Match p against exactly s[0..len) (the text before the severity word).
 * Times without a zone PostgreSQL names in a way we read (UTC, GMT,
 * numeric) are read in tz.  Returns true and fills *out on a match.
 */
bool pg_prefix_match(const struct pg_prefix *p, const char *s, size_t len,
		     const struct tzinfo *tz, struct pg_prefix_fields *out);

/*
 * Find the severity of a stderr line: the first "<SEVERITY>:  " (two
 * spaces) within its first 4 KiB.  Returns the severity (an enum
 * pg_severity, 0 if none) and sets *sev_at to where the word starts and
 * *msg_at to where the message starts.
 */
int pg_stderr_find_severity(const char *s, size_t len, size_t *sev_at, size_t *msg_at);
#endif
