#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "core/event.h"
#include "core/timeline.h"
#include "parsers/parse.h"
#include "tests/testutil.h"

/* HikariCP and PgBouncer lines (postgresql-and-other-pools.md section 7,
 * marked [ref]; the Java prefixes are logback/log4j2/Spring Boot defaults). */

struct run {
	struct timeline tl;
	struct source *src;
	char *path;
};

static void sink_append(void *data, const struct event *ev)
{
	timeline_append(data, ev);
}

static void run_text(struct run *r, const char *text, const char *format)
{
	struct parse_opts opts;
	uint32_t idx;
	struct event_sink sink = { sink_append, NULL };
	r->path = test_write_temp(text, strlen(text), ".log");
	cr_assert_not_null(r->path);
	parse_opts_init(&opts);
	opts.format = format;
	opts.quiet = true;
	timeline_init(&r->tl);
	idx = timeline_add_source(&r->tl, r->path);
	sink.data = &r->tl;
	cr_assert_eq(parse_input(r->path, &opts, timeline_source(&r->tl, idx), idx, sink), 0);
	r->src = timeline_source(&r->tl, idx);
	parse_opts_release(&opts);
}

static void run_done(struct run *r)
{
	unlink(r->path);
	free(r->path);
	timeline_release(&r->tl);
}

static const char *iso(log_usec t)
{
	static char buf[32];
	if (t == LOG_USEC_NONE)
		return "(none)";
	logtime_format_iso(t, buf);
	return buf;
}

/* One record -> the one event it must give. */
struct one_case {
	const char *text;       /* one record, may be multi-line */
	const char *format;     /* forced, or NULL to detect */
	enum event_kind kind;
	const char *ts;         /* ISO ms, or "(none)" */
	const char *text1;      /* ev.text */
	const char *text2;      /* ev.text2, or NULL */
	int64_t timeout_usec;   /* pool_timeout */
	int32_t out, in, waiting; /* pool_stats */
	int64_t dur;
	int32_t pid;
};

#define NO EVENT_NO_DURATION

static const struct one_case cases[] = {
	/* HikariCP timeouts, old and new form, in several prefixes [ref] */
	{ "2024-01-01 12:00:32.125 [http-nio-8080-exec-1] ERROR o.h.engine.jdbc.spi.SqlExceptionHelper - HikariPool-1 - Connection is not available, request timed out after 30002ms.\n",
	  "hikaricp", EVENT_POOL_TIMEOUT, "2024-01-01T12:00:32.125Z", "HikariPool-1", NULL, 30002000, 0, 0, 0, NO, 0 },
	{ "2024-01-01T12:00:40.000+00:00 ERROR 12345 --- [nio-8080-exec-3] c.e.Demo : HikariPool-1 - Connection is not available, request timed out after 30000ms (total=10, active=10, idle=0, waiting=10)\n",
	  "hikaricp", EVENT_POOL_TIMEOUT, "2024-01-01T12:00:40.000Z", "HikariPool-1", NULL, 30000000, 0, 0, 0, NO, 12345 },
	{ "2019-03-05 10:57:51,112 WARN  [pool-2-thread-1] o.h.e.j.s.SqlExceptionHelper: SQL Error: 0, SQLState: 08001\n"
	  "java.sql.SQLTransientConnectionException: brdb_cnbiHikariCP - Connection is not available, request timed out after 300000ms.\n",
	  "hikaricp", EVENT_POOL_TIMEOUT, "2019-03-05T10:57:51.112Z", "brdb_cnbiHikariCP", NULL, 300000000, 0, 0, 0, NO, 0 },
	/* a wrapped exception with its stack and "Caused by:" is one failure */
	{ "2024-01-01 12:00:32.125 [exec-1] ERROR c.e.Api - request failed\n"
	  "org.springframework.jdbc.CannotGetJdbcConnectionException: Failed to obtain JDBC Connection; nested exception is java.sql.SQLTransientConnectionException: HikariPool-1 - Connection is not available, request timed out after 30096ms.\n"
	  "\tat org.springframework.jdbc.datasource.DataSourceUtils.getConnection(DataSourceUtils.java:82)\n"
	  "Caused by: java.sql.SQLTransientConnectionException: HikariPool-1 - Connection is not available, request timed out after 30096ms.\n"
	  "\tat com.zaxxer.hikari.pool.HikariPool.createTimeoutException(HikariPool.java:696)\n"
	  "\t... 12 more\n",
	  "hikaricp", EVENT_POOL_TIMEOUT, "2024-01-01T12:00:32.125Z", "HikariPool-1", NULL, 30096000, 0, 0, 0, NO, 0 },
	/* logback's time-only default: no date, so no time of its own */
	{ "12:00:00.123 [main] ERROR c.e.Demo - HikariPool-1 - Connection is not available, request timed out after 10003ms.\n",
	  "hikaricp", EVENT_POOL_TIMEOUT, "(none)", "HikariPool-1", NULL, 10003000, 0, 0, 0, NO, 0 },
	/* HikariCP stats, every prefix [ref] */
	{ "2024-01-01 12:00:30.123 [HikariPool-1 housekeeper] DEBUG com.zaxxer.hikari.pool.HikariPool - HikariPool-1 - Pool stats (total=10, active=10, idle=0, waiting=5)\n",
	  "hikaricp", EVENT_POOL_STATS, "2024-01-01T12:00:30.123Z", "HikariPool-1", "pool", -1, 10, 0, 5, NO, 0 },
	{ "2024-01-01 12:00:30.123 [HikariPool-1 housekeeper] DEBUG com.zaxxer.hikari.pool.HikariPool - HikariPool-1 - Before cleanup stats (total=10, active=7, idle=3, waiting=0)\n",
	  "hikaricp", EVENT_POOL_STATS, "2024-01-01T12:00:30.123Z", "HikariPool-1", "before cleanup", -1, 7, 3, 0, NO, 0 },
	{ "2024-01-01 12:00:30.124 [HikariPool-1 housekeeper] DEBUG com.zaxxer.hikari.pool.HikariPool - HikariPool-1 - After cleanup  stats (total=10, active=7, idle=3, waiting=0)\n",
	  "hikaricp", EVENT_POOL_STATS, "2024-01-01T12:00:30.124Z", "HikariPool-1", "after cleanup", -1, 7, 3, 0, NO, 0 },
	{ "2024-01-01 12:00:32.123 [http-nio-8080-exec-1] DEBUG com.zaxxer.hikari.pool.HikariPool - HikariPool-1 - Timeout failure stats (total=10, active=10, idle=0, waiting=5)\n",
	  "hikaricp", EVENT_POOL_STATS, "2024-01-01T12:00:32.123Z", "HikariPool-1", "timeout failure", -1, 10, 0, 5, NO, 0 },
	{ "HikariPool-1 - Pool stats (total=10, active=10, idle=0, waiting=5)\n",
	  "hikaricp", EVENT_POOL_STATS, "(none)", "HikariPool-1", "pool", -1, 10, 0, 5, NO, 0 },

	/* PgBouncer stats, three layouts [ref] */
	{ "2019-04-11 07:10:21.827 1525 LOG Stats: 580 req/s, in 136760 b/s, out 64757 b/s,query 21449 us\n",
	  "pgbouncer", EVENT_POOL_STATS, "2019-04-11T07:10:21.827Z", "pgbouncer", NULL, -1, -1, -1, -1, NO, 1525 },
	{ "2021-04-08 15:06:48.854 UTC [1] LOG stats: 0 xacts/s, 0 queries/s, in 0 B/s, out 0 B/s, xact 0 us, query 0 us, wait 0 us\n",
	  "pgbouncer", EVENT_POOL_STATS, "2021-04-08T15:06:48.854Z", "pgbouncer", NULL, -1, -1, -1, -1, 0, 1 },
	{ "2024-05-01 10:00:00.000 CEST [4242] LOG stats: 12 xacts/s, 30 queries/s, 2 client parses/s, 1 server parses/s, 4 binds/s, in 1000 B/s, out 2000 B/s, xact 1500 us, query 300 us, wait 181000 us\n",
	  "pgbouncer", EVENT_POOL_STATS, "2024-05-01T10:00:00.000Z", "pgbouncer", NULL, -1, -1, -1, -1, 181000, 4242 },
	{ "2024-05-01 10:00:00.000 UTC [4242] LOG stats: 12 xacts/s, 30 queries/s, 2 client parses/s, 1 server parses/s, 4 binds/s, in 1000 B/s, out 2000 B/s, xact 1500 us, query 300 us, wait 181000 us\n",
	  "pgbouncer", EVENT_POOL_STATS, "2024-05-01T10:00:00.000Z", "pgbouncer", NULL, -1, -1, -1, -1, 181000, 4242 },
	{ "2019-11-27 17:06:53.870 109039 LOG Stats: 0 xacts/s, 0 queries/s, in 0 B/s, out 0 B/s, xact 0 us, query 0 us wait time 181 us\n",
	  "pgbouncer", EVENT_POOL_STATS, "2019-11-27T17:06:53.870Z", "pgbouncer", NULL, -1, -1, -1, -1, 181, 109039 },
	/* waits and limits [ref] */
	{ "2025-12-31 01:45:00.000 UTC [1] LOG C-0x7f828e6b34c0: db/user@172.18.0.60:39630 closing because: query_wait_timeout (age=120s)\n",
	  "pgbouncer", EVENT_POOL_TIMEOUT, "2025-12-31T01:45:00.000Z", "pgbouncer", NULL, -1, 0, 0, 0, NO, 1 },
	{ "2025-12-31 01:45:00.000 UTC [1] WARNING C-0x7f828e6b34c0: db/user@172.18.0.60:39630 pooler error: query_wait_timeout\n",
	  "pgbouncer", EVENT_POOL_TIMEOUT, "2025-12-31T01:45:00.000Z", "pgbouncer", NULL, -1, 0, 0, 0, NO, 1 },
	{ "2025-12-31 01:45:01.000 UTC [1] WARNING C-0x7f828e6b3500: app/alice@172.18.0.61:39631 pooler error: no more connections allowed (max_client_conn)\n",
	  "pgbouncer", EVENT_PG_TOO_MANY_CLIENTS, "2025-12-31T01:45:01.000Z", "no more connections allowed (max_client_conn)", "alice", -1, 0, 0, 0, NO, 1 },
	{ "2025-12-31 01:45:01.000 UTC [1] WARNING C-0x7f828e6b3500: app/alice@172.18.0.61:39631 pooler error: client connections exceeded (max_db_client_connections)\n",
	  "pgbouncer", EVENT_PG_TOO_MANY_CLIENTS, "2025-12-31T01:45:01.000Z", "client connections exceeded (max_db_client_connections)", "alice", -1, 0, 0, 0, NO, 1 },
};

Test(otherpools, one_event_per_record)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct one_case *c = &cases[i];
		struct run r = { 0 };
		const struct event *ev;
		run_text(&r, c->text, c->format);
		cr_assert_eq(r.tl.nr, 1, "%zu events from %s", r.tl.nr, c->text);
		ev = &r.tl.ev[0];
		cr_expect_eq(ev->kind, c->kind, "kind of %s", c->text);
		cr_expect_str_eq(iso(ev->ts), c->ts, "time of %s", c->text);
		cr_expect_str_eq(ev->text ? ev->text : "(null)", c->text1, "text of %s", c->text);
		cr_expect_str_eq(ev->text2 ? ev->text2 : "(null)", c->text2 ? c->text2 : "(null)",
				 "text2 of %s", c->text);
		cr_expect_eq(ev->dur, c->dur, "dur of %s", c->text);
		cr_expect_eq(ev->pid, c->pid, "pid of %s", c->text);
		if (c->kind == EVENT_POOL_TIMEOUT)
			cr_expect_eq(ev->u.timeout.timeout_usec, c->timeout_usec, "timeout of %s", c->text);
		if (c->kind == EVENT_POOL_STATS) {
			cr_expect_eq(ev->u.stats.checked_out, c->out, "active of %s", c->text);
			cr_expect_eq(ev->u.stats.checked_in, c->in, "idle of %s", c->text);
			cr_expect_eq(ev->u.stats.waiting, c->waiting, "waiting of %s", c->text);
			cr_expect_eq(ev->u.stats.pool_size, -1);
		}
		if (c->kind == EVENT_PG_TOO_MANY_CLIENTS) {
			char st[6];
			event_sqlstate_unpack(ev->u.pg.sqlstate, st);
			cr_expect_str_eq(st, "08P01");
		}
		cr_expect_eq(r.src->unparsed, 0, "unparsed lines in %s", c->text);
		run_done(&r);
	}
}

/* A Java log read whole: detection, glued traces, lines without events. */
Test(otherpools, hikari_log_detected_and_glued)
{
	struct run r = { 0 };
	run_text(&r,
		 "2024-01-01 12:00:00.123 [main] INFO  com.zaxxer.hikari.HikariDataSource - HikariPool-1 - Starting...\n"
		 "2024-01-01 12:00:00.456 [main] INFO  com.zaxxer.hikari.HikariDataSource - HikariPool-1 - Start completed.\n"
		 "2024-01-01 12:00:30.123 [HikariPool-1 housekeeper] DEBUG com.zaxxer.hikari.pool.HikariPool - HikariPool-1 - Pool stats (total=10, active=10, idle=0, waiting=5)\n"
		 "2024-01-01 12:00:32.123 [exec-1] DEBUG com.zaxxer.hikari.pool.HikariPool - HikariPool-1 - Timeout failure stats (total=10, active=10, idle=0, waiting=5)\n"
		 "2024-01-01 12:00:32.125 [exec-1] ERROR c.e.Api - request failed\n"
		 "java.sql.SQLTransientConnectionException: HikariPool-1 - Connection is not available, request timed out after 30002ms.\n"
		 "\tat com.zaxxer.hikari.pool.HikariPool.createTimeoutException(HikariPool.java:696)\n"
		 "Caused by: java.sql.SQLTransientConnectionException: HikariPool-1 - Connection is not available, request timed out after 30002ms.\n"
		 "\t... 12 more\n"
		 "2024-01-01 12:00:33.000 [HikariPool-1 housekeeper] WARN  com.zaxxer.hikari.pool.HikariPool - HikariPool-1 - Thread starvation or clock leap detected (housekeeper delta=1m2s).\n",
		 NULL);
	cr_expect_str_eq(r.src->format, "hikaricp");
	cr_expect_eq(r.src->records, 6);
	cr_expect_eq(r.src->unparsed, 0);
	cr_assert_eq(r.tl.nr, 3);
	cr_expect_eq(r.tl.ev[0].kind, EVENT_POOL_STATS);
	cr_expect_eq(r.tl.ev[1].kind, EVENT_POOL_STATS);
	cr_expect_eq(r.tl.ev[2].kind, EVENT_POOL_TIMEOUT);
	cr_expect_eq(r.tl.ev[2].line, 5);
	run_done(&r);
}

/* PgBouncer logs a refusal twice for one client; count it once. */
Test(otherpools, pgbouncer_detected_and_deduplicated)
{
	struct run r = { 0 };
	size_t timeouts = 0, refused = 0, stats = 0;
	run_text(&r,
		 "2025-12-31 01:44:00.000 UTC [1] LOG kernel file descriptor limit: 1024 (hard: 524288); max_client_conn: 100, max expected fd use: 112\n"
		 "2025-12-31 01:44:00.000 UTC [1] LOG listening on 0.0.0.0:6432\n"
		 "2025-12-31 01:44:48.854 UTC [1] LOG stats: 0 xacts/s, 0 queries/s, in 0 B/s, out 0 B/s, xact 0 us, query 0 us, wait 0 us\n"
		 "2025-12-31 01:45:00.000 UTC [1] WARNING C-0x7f828e6b34c0: db/user@172.18.0.60:39630 pooler error: query_wait_timeout\n"
		 "2025-12-31 01:45:00.001 UTC [1] LOG C-0x7f828e6b34c0: db/user@172.18.0.60:39630 closing because: query_wait_timeout (age=120s)\n"
		 "2025-12-31 01:45:00.002 UTC [1] LOG C-0x7f828e6b3540: db/user@172.18.0.60:39634 closing because: query_wait_timeout (age=121s)\n"
		 "2025-12-31 01:45:01.000 UTC [1] WARNING C-0x7f828e6b3500: (nodb)/(nouser)@172.18.0.61:39631 pooler error: no more connections allowed (max_client_conn)\n"
		 "2025-12-31 01:45:01.000 UTC [1] LOG C-0x7f828e6b3500: (nodb)/(nouser)@172.18.0.61:39631 closing because: no more connections allowed (max_client_conn) (age=0s)\n"
		 "2025-12-31 01:45:02.000 UTC [1] LOG C-0x7f828e6b3600: db/user@172.18.0.60:39632 login attempt: db=db user=user tls=no replication=no\n"
		 "2025-12-31 01:45:02.000 UTC [1] LOG S-0x7f828e6b3700: db/user@10.0.0.5:5432 new connection to server (from 10.0.0.5:43271)\n"
		 "2025-12-31 01:45:03.000 UTC [1] WARNING pooler error: no such database: test\n",
		 NULL);
	cr_expect_str_eq(r.src->format, "pgbouncer");
	cr_expect_eq(r.src->unparsed, 0);
	for (size_t i = 0; i < r.tl.nr; i++) {
		timeouts += r.tl.ev[i].kind == EVENT_POOL_TIMEOUT;
		refused += r.tl.ev[i].kind == EVENT_PG_TOO_MANY_CLIENTS;
		stats += r.tl.ev[i].kind == EVENT_POOL_STATS;
	}
	cr_expect_eq(timeouts, 2);
	cr_expect_eq(refused, 1);
	cr_expect_eq(stats, 1);
	cr_expect_eq(r.tl.nr, 4);
	run_done(&r);
}

/* PostgreSQL's own stderr lines ("LOG:  ") are not PgBouncer's ("LOG "). */
Test(otherpools, postgres_log_is_not_pgbouncer)
{
	struct run r = { 0 };
	run_text(&r,
		 "2026-11-26 14:46:30.456 UTC [6589] LOG:  connection received: host=[local]\n"
		 "2026-11-26 14:46:30.457 UTC [6589] LOG:  connection authorized: user=postgres database=postgres\n",
		 NULL);
	cr_expect(!r.src->format || strcmp(r.src->format, "pgbouncer"),
		  "detected as %s", r.src->format);
	run_done(&r);
}
