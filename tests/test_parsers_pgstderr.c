/*
 * pg-stderr: the log_line_prefix matcher, the message table through real
 * stderr lines, and the oddities of real logs (prefix changed by a reload,
 * jsonlog records in a stderr file, TAB continuations, auxiliary lines,
 * timestamps out of order, pre-authentication "[unknown]").
 *
 * Lines marked "real" are copied from ../shared/reference/samples/ or the
 * reference document; the others are PostgreSQL's format strings filled in
 * (wordings of other releases, other prefixes).
 */
#include "tests/pgtest.h"
#include "core/logtime.h"
#include "parsers/pglog.h"
#include "parsers/pgmsg.h"

static void iso(log_usec t, char out[32])
{
	logtime_format_iso(t, out);
}

/* ---- the prefix matcher ---- */

struct prefix_case {
	const char *prefix;
	const char *text; /* the line up to its severity word */
	bool ok;
	const char *ts;   /* ISO, or NULL for none */
	int32_t pid;
	const char *user, *db, *sqlstate;
};

static const struct prefix_case prefix_cases[] = {
	/* real: Debian's prefix, pre-authentication, session, background (%q) */
	{ "%m [%p] %q%u@%d ", "2026-11-26 14:46:30.456 UTC [6589] [unknown]@[unknown] ", true,
	  "2026-11-26T14:46:30.456Z", 6589, NULL, NULL, NULL },
	{ "%m [%p] %q%u@%d ", "2026-11-26 14:46:30.457 UTC [6589] postgres@postgres ", true,
	  "2026-11-26T14:46:30.457Z", 6589, "postgres", "postgres", NULL },
	{ "%m [%p] %q%u@%d ", "2026-11-26 14:47:28.193 UTC [10469] ", true,
	  "2026-11-26T14:47:28.193Z", 10469, NULL, NULL, NULL },
	/* the default prefix does not take a session line */
	{ "%m [%p] ", "2026-11-26 14:46:30.457 UTC [6589] postgres@postgres ", false, NULL, 0,
	  NULL, NULL, NULL },
	{ "%m [%p] ", "2026-11-26 14:46:07.575 UTC [6115] ", true, "2026-11-26T14:46:07.575Z",
	  6115, NULL, NULL, NULL },
	/* pgBadger's recommended prefix; an application name holding ", " and spaces */
	{ "%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h ",
	  "2026-11-26 14:46:30 UTC [6589]: [2-1] user=postgres,db=pgbench,app=psql,client=127.0.0.1 ",
	  true, "2026-11-26T14:46:30.000Z", 6589, "postgres", "pgbench", NULL },
	{ "%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h ",
	  "2026-11-26 14:46:30 UTC [6589]: [12-1] user=app,db=pgbench,app=my tool, v2,client=[local] ",
	  true, "2026-11-26T14:46:30.000Z", 6589, "app", "pgbench", NULL },
	/* Amazon RDS */
	{ "%t:%r:%u@%d:[%p]:", "2026-11-26 14:46:30 UTC:127.0.0.1(54796):app@pgbench:[6589]:", true,
	  "2026-11-26T14:46:30.000Z", 6589, "app", "pgbench", NULL },
	/* padding: %-10u pads right, %6p pads left */
	{ "%m [%6p] %-10u %d ", "2026-11-26 14:46:30.456 UTC [  6589] app        pgbench ", true,
	  "2026-11-26T14:46:30.456Z", 6589, "app", "pgbench", NULL },
	{ "%m [%6p] %-10u %d ", "2026-11-26 14:46:30.456 UTC [123456] verylongusername pgbench ",
	  true, "2026-11-26T14:46:30.456Z", 123456, "verylongusername", "pgbench", NULL },
	/* %e, %n (epoch), %i with spaces, %c %l %v %x, %%, an unknown escape */
	{ "%m [%p] %e ", "2026-11-26 14:46:43.729 UTC [7618] 53300 ", true,
	  "2026-11-26T14:46:43.729Z", 7618, NULL, NULL, "53300" },
	{ "%n [%p] ", "1795704390.456 [6589] ", true, "2026-11-26T14:46:30.456Z", 6589, NULL,
	  NULL, NULL },
	{ "%m [%p] %i: ", "2026-11-26 14:46:30.456 UTC [6589] idle in transaction: ", true,
	  "2026-11-26T14:46:30.456Z", 6589, NULL, NULL, NULL },
	{ "%m %c %l %v %x ", "2026-11-26 14:46:30.456 UTC 6b084646.19bd 3 3/0 0 ", true,
	  "2026-11-26T14:46:30.456Z", 0, NULL, NULL, NULL },
	{ "%m %% [%p] ", "2026-11-26 14:46:30.456 UTC % [6589] ", true, "2026-11-26T14:46:30.456Z",
	  6589, NULL, NULL, NULL },
	{ "%m %z[%p] ", "2026-11-26 14:46:30.456 UTC [6589] ", true, "2026-11-26T14:46:30.456Z",
	  6589, NULL, NULL, NULL },
	/* a zone abbreviation we cannot read: the time is read in --tz (UTC here) */
	{ "%m [%p] ", "2026-11-26 15:46:30.456 CET [6589] ", true, "2026-11-26T15:46:30.456Z", 6589,
	  NULL, NULL, NULL },
	{ "%m [%p] ", "2026-11-26 17:46:30.456 +03 [6589] ", true, "2026-11-26T14:46:30.456Z", 6589,
	  NULL, NULL, NULL },
	/* junk */
	{ "%m [%p] ", "not a time [6589] ", false, NULL, 0, NULL, NULL, NULL },
	{ "%m [%p] ", "2026-11-26 14:46:30.456 UTC [pid] ", false, NULL, 0, NULL, NULL, NULL },
};

static void expect_span(const char *what, const char *got, size_t len, const char *want)
{
	if (!want) {
		cr_expect_null(got, "%s: got '%.*s', want none", what, (int)len, got ? got : "");
		return;
	}
	cr_assert_not_null(got, "%s: none, want '%s'", what, want);
	cr_expect(len == strlen(want) && !memcmp(got, want, len), "%s: got '%.*s', want '%s'",
		  what, (int)len, got, want);
}

Test(pg_prefix, table)
{
	struct tzinfo tz;
	tzinfo_utc(&tz);
	for (size_t i = 0; i < sizeof(prefix_cases) / sizeof(prefix_cases[0]); i++) {
		const struct prefix_case *c = &prefix_cases[i];
		struct pg_prefix *p = pg_prefix_compile(c->prefix);
		struct pg_prefix_fields f;
		bool ok = pg_prefix_match(p, c->text, strlen(c->text), &tz, &f);
		cr_expect_eq(ok, c->ok, "case %zu: '%s' on '%s': %d", i, c->prefix, c->text, ok);
		if (ok && c->ok) {
			char got[32] = "(none)";
			if (f.ts != LOG_USEC_NONE)
				iso(f.ts, got);
			if (c->ts)
				cr_expect_str_eq(got, c->ts, "case %zu: ts %s", i, got);
			cr_expect_eq(f.pid, c->pid, "case %zu: pid %d", i, f.pid);
			expect_span("user", f.user, f.user_len, c->user);
			expect_span("db", f.db, f.db_len, c->db);
			expect_span("sqlstate", f.sqlstate, f.sqlstate_len, c->sqlstate);
		}
		pg_prefix_free(p);
	}
}

Test(pg_prefix, zone_abbreviation_read_in_tz)
{
	struct tzinfo tz;
	struct pg_prefix *p = pg_prefix_compile("%m [%p] ");
	struct pg_prefix_fields f;
	const char *s = "2026-11-26 15:46:30.456 CET [6589] ";
	char got[32];
	cr_assert_eq(tzinfo_load(&tz, "+01:00"), 0);
	cr_assert(pg_prefix_match(p, s, strlen(s), &tz, &f));
	iso(f.ts, got);
	cr_expect_str_eq(got, "2026-11-26T14:46:30.456Z");
	cr_expect_not(f.had_zone);
	pg_prefix_free(p);
	tzinfo_release(&tz);
}

Test(pg_prefix, severity_needs_two_spaces)
{
	size_t sev_at, msg_at;
	const char *real = "2026-11-26 14:46:33.300 UTC [7209] postgres@pgbench ERROR:  deadlock detected";
	const char *rds = "2026-11-26 14:46:30 UTC:127.0.0.1(54796):app@pgbench:[6589]:LOG:  x";
	cr_assert_eq(pg_stderr_find_severity(real, strlen(real), &sev_at, &msg_at), PG_SEV_ERROR);
	cr_expect_eq(sev_at, 52);
	cr_expect_str_eq(real + msg_at, "deadlock detected");
	cr_expect_eq(pg_stderr_find_severity(rds, strlen(rds), &sev_at, &msg_at), PG_SEV_LOG);
	cr_expect_str_eq(rds + msg_at, "x");
	cr_expect_eq(pg_stderr_find_severity("ERROR: x", 8, &sev_at, &msg_at), PG_SEV_NONE);
	cr_expect_eq(pg_stderr_find_severity("2026 FOO:  x", 12, &sev_at, &msg_at), PG_SEV_NONE);
	cr_expect_eq(pg_stderr_find_severity("DEBUG3:  x", 10, &sev_at, &msg_at), PG_SEV_DEBUG);
}

/* ---- messages ---- */

struct msg_case {
	const char *line;
	enum event_kind kind;
	const char *text, *text2;
	int64_t dur;           /* EVENT_NO_DURATION to skip */
	const char *sqlstate;  /* NULL: none */
};

#define P "2026-11-26 14:46:43.729 UTC [7618] postgres@pgbench "
#define NO EVENT_NO_DURATION
static const struct msg_case msg_cases[] = {
	/* real lines */
	{ "2026-11-26 14:46:30.457 UTC [6589] postgres@postgres LOG:  connection authorized: user=postgres database=postgres application_name=psql",
	  EVENT_PG_CONNECT, "postgres", "postgres", NO, NULL },
	{ "2026-11-26 14:46:30.550 UTC [6589] postgres@postgres LOG:  disconnection: session time: 0:00:00.094 user=postgres database=postgres host=127.0.0.1 port=54796",
	  EVENT_PG_DISCONNECT, "postgres", "postgres", 94000, NULL },
	{ "2026-11-26 14:46:43.729 UTC [7618] postgres@pgbench FATAL:  sorry, too many clients already",
	  EVENT_PG_TOO_MANY_CLIENTS, "sorry, too many clients already", "postgres", NO, "53300" },
	{ "2026-11-26 14:46:43.189 UTC [7583] app@pgbench FATAL:  remaining connection slots are reserved for non-replication superuser connections",
	  EVENT_PG_TOO_MANY_CLIENTS, "remaining connection slots are reserved for non-replication superuser connections", "app", NO, "53300" },
	{ "2026-11-26 14:46:30.465 UTC [6589] postgres@postgres LOG:  duration: 1.159 ms  statement: CREATE ROLE app LOGIN",
	  EVENT_PG_SLOW_STATEMENT, "CREATE ROLE app LOGIN", "postgres", 1159, NULL },
	{ "2026-11-26 14:46:53.756 UTC [7920] postgres@pgbench LOG:  duration: 0.004 ms  execute P_0: BEGIN;",
	  EVENT_PG_SLOW_STATEMENT, "BEGIN;", "postgres", 4, NULL },
	{ "2026-11-26 14:46:31.980 UTC [7091] app@pgbench LOG:  process 7091 still waiting for ShareLock on transaction 738 after 200.342 ms",
	  EVENT_PG_LOCK_WAIT, "ShareLock on transaction 738", "waiting", 200342, NULL },
	{ "2026-11-26 14:46:32.582 UTC [7091] app@pgbench LOG:  process 7091 acquired ShareLock on transaction 738 after 803.035 ms",
	  EVENT_PG_LOCK_WAIT, "ShareLock on transaction 738", "acquired", 803035, NULL },
	{ "2026-11-26 14:46:33.300 UTC [7209] postgres@pgbench LOG:  process 7209 detected deadlock while waiting for ShareLock on transaction 741 after 200.128 ms",
	  EVENT_PG_LOCK_WAIT, "ShareLock on transaction 741", "deadlock", 200128, NULL },
	{ "2026-11-26 14:46:33.300 UTC [7209] postgres@pgbench ERROR:  deadlock detected",
	  EVENT_PG_ERROR, "deadlock detected", "ERROR", NO, "40P01" },
	{ "2026-11-26 14:46:33.418 UTC [7235] app@pgbench ERROR:  canceling statement due to statement timeout",
	  EVENT_PG_CANCEL, "statement timeout", "app", NO, "57014" },
	{ "2026-11-26 14:46:33.738 UTC [7240] app@pgbench ERROR:  canceling statement due to lock timeout",
	  EVENT_PG_CANCEL, "lock timeout", "app", NO, "55P03" },
	{ "2026-11-26 14:46:34.353 UTC [7244] app@pgbench FATAL:  terminating connection due to idle-in-transaction timeout",
	  EVENT_PG_CANCEL, "idle-in-transaction timeout", "app", NO, "25P03" },
	{ "2026-11-26 14:46:40.063 UTC [7329] app@nosuchdb FATAL:  database \"nosuchdb\" does not exist",
	  EVENT_PG_ERROR, "database \"nosuchdb\" does not exist", "FATAL", NO, "3D000" },
	{ "2026-11-26 14:46:40.083 UTC [7331] app@pgbench ERROR:  syntax error at or near \"SELEC\" at character 1",
	  EVENT_PG_ERROR, "syntax error at or near \"SELEC\"", "ERROR", NO, "42601" },
	/* real, not events */
	{ "2026-11-26 14:46:30.456 UTC [6589] [unknown]@[unknown] LOG:  connection received: host=127.0.0.1 port=54796",
	  EVENT_NONE, NULL, NULL, NO, NULL },
	{ "2026-11-26 14:46:35.560 UTC [7248] app@pgbench LOG:  unexpected EOF on client connection with an open transaction",
	  EVENT_NONE, NULL, NULL, NO, NULL },
	{ "2026-11-26 14:46:50.710 UTC [7870] app@pgbench WARNING:  skipping \"pgbench_branches\" --- only table or database owner can vacuum it",
	  EVENT_NONE, NULL, NULL, NO, NULL },
	/* other releases' wordings and messages the samples lack (format strings) */
	{ P "FATAL:  remaining connection slots are reserved for roles with the SUPERUSER attribute",
	  EVENT_PG_TOO_MANY_CLIENTS, "remaining connection slots are reserved for roles with the SUPERUSER attribute", "postgres", NO, "53300" },
	{ P "FATAL:  remaining connection slots are reserved for roles with privileges of the \"pg_use_reserved_connections\" role",
	  EVENT_PG_TOO_MANY_CLIENTS, NULL, "postgres", NO, "53300" },
	{ P "FATAL:  too many connections for role \"app\"", EVENT_PG_TOO_MANY_CLIENTS,
	  "too many connections for role \"app\"", "postgres", NO, "53300" },
	{ P "FATAL:  too many connections for database \"pgbench\"", EVENT_PG_TOO_MANY_CLIENTS,
	  NULL, "postgres", NO, "53300" },
	{ P "FATAL:  connection limit exceeded for non-superusers", EVENT_PG_TOO_MANY_CLIENTS,
	  NULL, "postgres", NO, "53300" },
	{ P "ERROR:  canceling statement due to user request", EVENT_PG_CANCEL, "user request",
	  "postgres", NO, "57014" },
	{ P "FATAL:  terminating connection due to idle-session timeout", EVENT_PG_CANCEL,
	  "idle-session timeout", "postgres", NO, "57P05" },
	{ P "FATAL:  terminating connection due to administrator command", EVENT_PG_CANCEL,
	  "administrator command", "postgres", NO, "57P01" },
	{ P "LOG:  duration: 0.123 ms", EVENT_PG_SLOW_STATEMENT, NULL, "postgres", 123, NULL },
	{ P "LOG:  duration: 0.012 ms  bind <unnamed>/C_1: SELECT 1", EVENT_PG_SLOW_STATEMENT,
	  "SELECT 1", "postgres", 12, NULL },
	{ P "LOG:  duration: 0.050 ms  execute fetch from S_1/C_2: SELECT x FROM t",
	  EVENT_PG_SLOW_STATEMENT, "SELECT x FROM t", "postgres", 50, NULL },
	{ P "LOG:  duration: 12345.678 ms  parse S_1: SELECT $1::int", EVENT_PG_SLOW_STATEMENT,
	  "SELECT $1::int", "postgres", 12345678, NULL },
	{ P "LOG:  process 7618 avoided deadlock for AccessExclusiveLock on relation 16384 of database 5 by rearranging queue order after 1000.123 ms",
	  EVENT_PG_LOCK_WAIT, "AccessExclusiveLock on relation 16384 of database 5", "avoided", 1000123, NULL },
	{ P "LOG:  process 7618 still waiting for ExclusiveLock on tuple (0,1) of relation 16390 of database 16384 after 1000.000 ms",
	  EVENT_PG_LOCK_WAIT, "ExclusiveLock on tuple (0,1) of relation 16390 of database 16384", "waiting", 1000000, NULL },
	{ P "LOG:  disconnection: session time: 123:04:05.678 user=app database=pgbench host=[local]",
	  EVENT_PG_DISCONNECT, "app", "pgbench", ((INT64_C(123) * 3600 + 4 * 60 + 5) * 1000000 + 678000), NULL },
	{ P "PANIC:  could not write to file \"pg_wal/xlogtemp.123\": No space left on device",
	  EVENT_PG_ERROR, NULL, "PANIC", NO, NULL },
	{ P "LOG:  process 7618 is not a lock message", EVENT_NONE, NULL, NULL, NO, NULL },
	{ P "LOG:  duration: junk ms  statement: x", EVENT_NONE, NULL, NULL, NO, NULL },
	{ P "LOG:  checkpoint starting: time", EVENT_NONE, NULL, NULL, NO, NULL },
	{ P "DETAIL:  Process holding the lock: 6977. Wait queue: 7091.", EVENT_NONE, NULL, NULL, NO, NULL },
};
#undef P

Test(pg_stderr, message_table)
{
	for (size_t i = 0; i < sizeof(msg_cases) / sizeof(msg_cases[0]); i++) {
		const struct msg_case *c = &msg_cases[i];
		struct timeline tl;
		struct strbuf text = STRBUF_INIT;
		strbuf_addf(&text, "%s\n", c->line);
		pgt_parse_text(text.buf, ".log", "pg-stderr", NULL, &tl);
		cr_expect_eq(tl.src[0].unparsed, 0, "case %zu unparsed", i);
		if (c->kind == EVENT_NONE) {
			cr_expect_eq(tl.nr, 0, "case %zu: %zu events, want none", i, tl.nr);
		} else {
			const struct event *e;
			cr_assert_eq(tl.nr, 1, "case %zu: %zu events", i, tl.nr);
			e = &tl.ev[0];
			cr_expect_eq(e->kind, c->kind, "case %zu: %s", i, event_kind_name(e->kind));
			if (c->text)
				cr_expect_str_eq(pgt_str(e->text), c->text, "case %zu", i);
			if (c->text2)
				cr_expect_str_eq(pgt_str(e->text2), c->text2, "case %zu", i);
			if (c->dur != NO)
				cr_expect_eq(e->dur, c->dur, "case %zu: dur %lld", i, (long long)e->dur);
			cr_expect_eq(e->u.pg.sqlstate, c->sqlstate ? event_sqlstate_pack(c->sqlstate) : 0,
				     "case %zu: sqlstate", i);
			cr_expect_neq(e->pid, 0);
			cr_expect_neq(e->ts, LOG_USEC_NONE);
		}
		strbuf_release(&text);
		timeline_release(&tl);
	}
}

/* %e in the prefix gives the SQLSTATE of any message, and it wins over the table's. */
Test(pg_stderr, sqlstate_from_prefix)
{
	struct timeline tl;
	pgt_parse_text("2026-11-26 14:46:43.729 UTC [7618] 53300 FATAL:  a wording from PostgreSQL 42\n"
		       "2026-11-26 14:46:44.000 UTC [7619] 42P01 ERROR:  relation \"x\" does not exist\n"
		       "2026-11-26 14:46:44.100 UTC [7620] 57014 ERROR:  canceling statement due to user request\n",
		       ".log", NULL, "%m [%p] %e ", &tl);
	cr_assert_eq(tl.nr, 3);
	cr_expect_eq(tl.ev[0].kind, EVENT_PG_TOO_MANY_CLIENTS);
	cr_expect_eq(tl.ev[1].kind, EVENT_PG_ERROR);
	cr_expect_eq(tl.ev[1].u.pg.sqlstate, event_sqlstate_pack("42P01"));
	cr_expect_eq(tl.ev[2].kind, EVENT_PG_CANCEL);
	timeline_release(&tl);
}

Test(pg_stderr, long_statement_is_cut)
{
	struct timeline tl;
	struct strbuf sb = STRBUF_INIT;
	strbuf_addstr(&sb, "2026-11-26 14:46:30.465 UTC [6589] postgres@postgres LOG:  duration: 1.0 ms  statement: SELECT ");
	for (int i = 0; i < 100; i++)
		strbuf_addstr(&sb, "\xc3\xa9t\xc3\xa9,\n\t "); /* "été," and a TAB continuation */
	strbuf_addch(&sb, '\n');
	pgt_parse_text(sb.buf, ".log", "pg-stderr", NULL, &tl);
	cr_assert_eq(tl.nr, 1);
	cr_expect_leq(strlen(tl.ev[0].text), PG_SUMMARY_MAX + 3);
	cr_expect(strstr(tl.ev[0].text, "...") == tl.ev[0].text + strlen(tl.ev[0].text) - 3);
	cr_expect_null(strchr(tl.ev[0].text, '\n'));
	cr_expect_null(strchr(tl.ev[0].text, '\t'));
	/* no half character before the dots */
	cr_expect_neq((unsigned char)tl.ev[0].text[strlen(tl.ev[0].text) - 4] & 0xC0, 0xC0);
	cr_expect_eq(tl.src[0].lines, 101);
	cr_expect_eq(tl.src[0].records, 1);
	strbuf_release(&sb);
	timeline_release(&tl);
}

/* ---- oddities of real logs ---- */

/* A reload changed log_line_prefix from Debian's to pgBadger's, and back. */
Test(pg_stderr, prefix_changes_mid_file)
{
	struct timeline tl;
	pgt_parse_text(
		"2026-11-26 14:46:07.575 UTC [6115] LOG:  starting PostgreSQL 15.18 (Debian 15.18-0+deb12u1) on x86_64-pc-linux-gnu, compiled by gcc (Debian 12.2.0-14+deb12u1) 12.2.0, 64-bit\n"
		"2026-11-26 14:46:30.456 UTC [6589] [unknown]@[unknown] LOG:  connection received: host=127.0.0.1 port=54796\n"
		"2026-11-26 14:46:30.457 UTC [6589] postgres@postgres LOG:  connection authorized: user=postgres database=postgres application_name=psql\n"
		"2026-11-26 14:46:31.000 UTC [6115] LOG:  received SIGHUP, reloading configuration files\n"
		"2026-11-26 14:46:31.001 UTC [6115] LOG:  parameter \"log_line_prefix\" changed to \"%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h \"\n"
		"2026-11-26 14:46:32 UTC [6590]: [1-1] user=[unknown],db=[unknown],app=[unknown],client=127.0.0.1 LOG:  connection received: host=127.0.0.1 port=54800\n"
		"2026-11-26 14:46:32 UTC [6590]: [2-1] user=app,db=pgbench,app=psql,client=127.0.0.1 LOG:  connection authorized: user=app database=pgbench application_name=psql\n"
		"2026-11-26 14:46:33 UTC [6590]: [3-1] user=app,db=pgbench,app=psql,client=127.0.0.1 ERROR:  canceling statement due to statement timeout\n"
		"2026-11-26 14:46:33 UTC [6590]: [4-1] user=app,db=pgbench,app=psql,client=127.0.0.1 STATEMENT:  SELECT pg_sleep(1)\n"
		"2026-11-26 14:46:34 UTC [6115]: [5-1] user=,db=,app=,client= LOG:  received SIGHUP, reloading configuration files\n"
		"2026-11-26 14:46:35.550 UTC [6589] postgres@postgres LOG:  disconnection: session time: 0:00:05.094 user=postgres database=postgres host=127.0.0.1 port=54796\n",
		".log", NULL, NULL, &tl);
	cr_expect_str_eq(tl.src[0].format, "pg-stderr");
	cr_expect_eq(tl.src[0].unparsed, 0);
	cr_assert_eq(pgt_count(&tl, EVENT_PG_CONNECT), 2);
	cr_expect_eq(pgt_nth(&tl, EVENT_PG_CONNECT, 1)->pid, 6590);
	cr_assert_eq(pgt_count(&tl, EVENT_PG_CANCEL), 1);
	cr_expect_str_eq(pgt_nth(&tl, EVENT_PG_CANCEL, 0)->text2, "app"); /* user from the new prefix */
	cr_expect_eq(pgt_nth(&tl, EVENT_PG_CANCEL, 0)->pid, 6590);
	cr_expect_eq(pgt_count(&tl, EVENT_PG_DISCONNECT), 1);
	timeline_release(&tl);
}

/* A --pg-prefix that is wrong for the file: recognition takes over. */
Test(pg_stderr, wrong_given_prefix_falls_back)
{
	struct timeline tl;
	pgt_parse_text(
		"2026-11-26 14:46:43.729 UTC [7618] postgres@pgbench FATAL:  sorry, too many clients already\n",
		".log", "pg-stderr", "%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h ", &tl);
	cr_assert_eq(tl.nr, 1);
	cr_expect_eq(tl.ev[0].pid, 7618);
	cr_expect_str_eq(tl.ev[0].text2, "postgres");
	timeline_release(&tl);
}

/* jsonlog records written into a stderr file are taken through pg-json. */
Test(pg_stderr, jsonlog_records_inside)
{
	struct timeline tl;
	pgt_parse_text(
		"2026-11-26 14:46:43.189 UTC [7583] app@pgbench FATAL:  remaining connection slots are reserved for non-replication superuser connections\n"
		"{\"timestamp\":\"2026-11-26 14:46:43.729 UTC\",\"user\":\"postgres\",\"dbname\":\"pgbench\",\"pid\":7618,\"remote_host\":\"127.0.0.1\",\"remote_port\":47068,\"session_id\":\"6b084653.1dc2\",\"line_num\":2,\"ps\":\"initializing\",\"session_start\":\"2026-11-26 14:46:43 UTC\",\"txid\":0,\"error_severity\":\"FATAL\",\"state_code\":\"53300\",\"message\":\"sorry, too many clients already\",\"backend_type\":\"client backend\",\"query_id\":0}\n"
		"2026-11-26 14:46:43.738 UTC [7620] postgres@pgbench FATAL:  sorry, too many clients already\n"
		"{\"timestamp\":\"2026-11-26 14:46:07.575 UTC\",\"pid\":6115,\"session_id\":\"6b08462f.17e3\",\"line_num\":1,\"session_start\":\"2026-11-26 14:46:07 UTC\",\"txid\":0,\"error_severity\":\"LOG\",\"message\":\"starting PostgreSQL 15.18\",\"backend_type\":\"postmaster\",\"query_id\":0}\n"
		"{\"not\": \"jsonlog\"}\n",
		".log", NULL, NULL, &tl);
	cr_expect_str_eq(tl.src[0].format, "pg-stderr");
	cr_expect_eq(pgt_count(&tl, EVENT_PG_TOO_MANY_CLIENTS), 3);
	cr_expect_eq(tl.src[0].unparsed, 1); /* only the object that is not a jsonlog record */
	cr_expect_eq(tl.src[0].by_reason[UNPARSED_UNKNOWN_LAYOUT], 1);
	timeline_release(&tl);
}

/* Real: the deadlock report, its multi-line DETAIL, HINT, CONTEXT and
 * STATEMENT; a multi-line statement; timestamps out of order; junk. */
Test(pg_stderr, continuations_aux_lines_and_order)
{
	struct timeline tl;
	pgt_parse_text(
		"\tan orphan continuation line\n"
		"2026-11-26 14:46:33.300 UTC [7209] postgres@pgbench ERROR:  deadlock detected\n"
		"2026-11-26 14:46:33.300 UTC [7209] postgres@pgbench DETAIL:  Process 7209 waits for ShareLock on transaction 741; blocked by process 7210.\n"
		"\tProcess 7210 waits for ShareLock on transaction 740; blocked by process 7209.\n"
		"\tProcess 7209: BEGIN; UPDATE pgbench_branches SET bbalance=bbalance WHERE bid=1; SELECT pg_sleep(0.5); UPDATE pgbench_branches SET bbalance=bbalance WHERE bid=2; COMMIT;\n"
		"\tProcess 7210: BEGIN; UPDATE pgbench_branches SET bbalance=bbalance WHERE bid=2; SELECT pg_sleep(0.5); UPDATE pgbench_branches SET bbalance=bbalance WHERE bid=1; COMMIT;\n"
		"2026-11-26 14:46:33.300 UTC [7209] postgres@pgbench HINT:  See server log for query details.\n"
		"2026-11-26 14:46:33.300 UTC [7209] postgres@pgbench CONTEXT:  while updating tuple (0,2) in relation \"pgbench_branches\"\n"
		"2026-11-26 14:46:33.300 UTC [7209] postgres@pgbench STATEMENT:  BEGIN; UPDATE pgbench_branches SET bbalance=bbalance WHERE bid=1; SELECT pg_sleep(0.5); UPDATE pgbench_branches SET bbalance=bbalance WHERE bid=2; COMMIT;\n"
		"2026-11-26 14:46:40.097 UTC [7333] app@pgbench LOG:  duration: 1.098 ms  statement: SELECT aid, abalance\n"
		"\t  FROM pgbench_accounts\n"
		"\t WHERE aid = 7\n"
		"2026-11-26 14:46:50.721 UTC [7871] app@pgbench LOG:  duration: 0.010 ms  statement: SELECT 1\n"
		"2026-11-26 14:46:50.720 UTC [7872] app@pgbench LOG:  duration: 0.020 ms  statement: SELECT 2\n"
		"pg_ctl: another server might be running; trying to start server anyway\n",
		".log", NULL, NULL, &tl);
	cr_expect_str_eq(tl.src[0].format, "pg-stderr");
	cr_expect_eq(tl.src[0].lines, 15);
	cr_expect_eq(tl.src[0].unparsed, 2);
	cr_expect_eq(tl.src[0].by_reason[UNPARSED_ORPHAN], 1);
	cr_expect_eq(tl.src[0].by_reason[UNPARSED_UNKNOWN_LAYOUT], 1);
	cr_assert_eq(tl.nr, 4);
	cr_expect_eq(tl.ev[0].kind, EVENT_PG_ERROR);
	cr_expect_str_eq(tl.ev[1].text, "SELECT aid, abalance FROM pgbench_accounts WHERE aid = 7");
	cr_expect_eq(tl.ev[1].line, 10);
	/* sorted by time although logged the other way round */
	cr_expect_eq(tl.ev[2].pid, 7872);
	cr_expect_eq(tl.ev[3].pid, 7871);
	timeline_release(&tl);
}

/* A prefix none of the common ones match still gives time and pid. */
Test(pg_stderr, unknown_prefix_generic)
{
	struct timeline tl;
	pgt_parse_text(
		"2026-11-26 14:46:43.729 UTC host=db1 pid=[7618] u=postgres d=pgbench FATAL:  sorry, too many clients already\n"
		"2026-11-26 14:46:43.800 UTC host=db1 pid=[7619] app@pgbench LOG:  connection authorized: user=app database=pgbench\n"
		"LOG:  redirecting log output to logging collector process\n",
		".log", NULL, NULL, &tl);
	cr_expect_str_eq(tl.src[0].format, "pg-stderr");
	cr_expect_eq(tl.src[0].unparsed, 0);
	cr_assert_eq(tl.nr, 2);
	cr_expect_eq(tl.ev[0].pid, 7618);
	cr_expect_eq(tl.ev[1].pid, 7619);
	cr_expect_str_eq(tl.ev[1].text, "app");
	cr_expect_str_eq(tl.ev[1].text2, "pgbench");
	timeline_release(&tl);
}

Test(pg_stderr, detected_with_pgbadger_prefix)
{
	struct timeline tl;
	pgt_parse_text(
		"2026-11-26 14:46:32 UTC [6590]: [1-1] user=[unknown],db=[unknown],app=[unknown],client=127.0.0.1 LOG:  connection received: host=127.0.0.1 port=54800\n"
		"2026-11-26 14:46:32 UTC [6590]: [2-1] user=app,db=pgbench,app=psql,client=127.0.0.1 LOG:  connection authorized: user=app database=pgbench application_name=psql\n",
		".log", NULL, NULL, &tl);
	cr_expect_str_eq(tl.src[0].format, "pg-stderr");
	cr_expect_eq(tl.nr, 1);
	timeline_release(&tl);
}
