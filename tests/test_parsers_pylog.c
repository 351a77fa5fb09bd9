#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "core/error.h"
#include "core/event.h"
#include "core/strbuf.h"
#include "parsers/format.h"
#include "parsers/parse.h"
#include "parsers/pylog.h"
#include "tests/testutil.h"

/*
 * The pylog format on real lines from ../shared/reference/sqlalchemy-pool.md
 * (sections 2-5), through the whole parse driver (reader, continues(),
 * parse), compared as JSON Lines.
 */

static void collect(void *data, const struct event *ev)
{
	struct strbuf *sb = data;
	event_to_json(ev, "t", sb);
	strbuf_addch(sb, '\n');
}

/* Parse text as a file (format forced unless NULL); JSONL into out. */
static void run_text(const char *text, const char *format, struct strbuf *out, struct source *src)
{
	struct parse_opts opts;
	struct event_sink sink = { collect, out };
	char *path = test_write_temp(text, strlen(text), ".log");
	cr_assert(path);
	parse_opts_init(&opts);
	opts.format = format;
	opts.quiet = true;
	source_init(src, path);
	cr_assert_eq(parse_input(path, &opts, src, 0, sink), 0);
	unlink(path);
	free(path);
	parse_opts_release(&opts);
}

struct pcase {
	const char *name;
	const char *in;
	const char *want; /* JSON Lines */
};

static void check_cases(const struct pcase *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct strbuf out = STRBUF_INIT;
		struct source src;
		run_text(c[i].in, "pylog", &out, &src);
		cr_expect_str_eq(out.buf, c[i].want, "case '%s':\n got: %s\nwant: %s", c[i].name,
				 out.buf, c[i].want);
		cr_expect_eq(src.unparsed, 0, "case '%s': %llu unparsed", c[i].name,
			     (unsigned long long)src.unparsed);
		source_release(&src);
		strbuf_release(&out);
	}
}
#define CHECK(t) check_cases((t), sizeof(t) / sizeof((t)[0]))

#define SQ "<sqlite3.Connection object at 0x7f775c54d300>"
#define TS "2026-11-26 14:50:34,565"
#define ECHO TS " DEBUG sqlalchemy.pool.impl.QueuePool "
#define J(kind) "{\"ts\":\"2026-11-26T14:50:34.565Z\",\"kind\":\"" kind "\",\"src\":\"t\",\"line\":1"

/* Every pool debug message of reference 3.3/3.4, SQLAlchemy echo layout. */
static const struct pcase pool_msgs[] = {
	{ "created", ECHO "Created new connection " SQ "\n",
	  J("pool_connect") ",\"conn\":\"0x7f775c54d300\"}\n" },
	{ "checked out", ECHO "Connection " SQ " checked out from pool\n",
	  J("pool_checkout") ",\"conn\":\"0x7f775c54d300\"}\n" },
	{ "fresh", ECHO "Connection " SQ " is fresh, skipping pre-ping\n",
	  J("pool_preping") ",\"conn\":\"0x7f775c54d300\",\"result\":\"fresh\"}\n" },
	{ "pre-ping", ECHO "Pool pre-ping on connection " SQ "\n",
	  J("pool_preping") ",\"conn\":\"0x7f775c54d300\",\"result\":\"ping\"}\n" },
	{ "pre-ping failed", ECHO "Pool pre-ping on connection <FakeConn 1> failed, will invalidate pool\n",
	  J("pool_preping") ",\"conn\":\"<FakeConn 1>\",\"result\":\"failed\"}\n" },
	{ "returned", ECHO "Connection " SQ " being returned to pool\n",
	  J("pool_checkin") ",\"conn\":\"0x7f775c54d300\"}\n" },
	{ "rollback", ECHO "Connection " SQ " rollback-on-return\n",
	  J("pool_reset") ",\"conn\":\"0x7f775c54d300\",\"reset\":\"rollback\"}\n" },
	{ "rollback 1.3", ECHO "Connection " SQ " rollback-on-return, via agent\n",
	  J("pool_reset") ",\"conn\":\"0x7f775c54d300\",\"reset\":\"rollback\"}\n" },
	{ "commit", ECHO "Connection " SQ " commit-on-return\n",
	  J("pool_reset") ",\"conn\":\"0x7f775c54d300\",\"reset\":\"commit\"}\n" },
	{ "already reset 2.0", ECHO "Connection <sqlite3.Connection object at 0x7fed2659f880> reset, transaction already reset\n",
	  J("pool_reset") ",\"conn\":\"0x7fed2659f880\",\"reset\":\"already\"}\n" },
	{ "closing", ECHO "Closing connection " SQ "\n",
	  J("pool_close") ",\"conn\":\"0x7f775c54d300\"}\n" },
	{ "hard-closing", ECHO "Hard-closing connection <FakeConn 4>\n",
	  J("pool_close") ",\"conn\":\"<FakeConn 4>\",\"mode\":\"hard\"}\n" },
	{ "invalidate", TS " INFO sqlalchemy.pool.impl.QueuePool Invalidate connection <FakeConn 4>\n",
	  J("pool_invalidate") ",\"conn\":\"<FakeConn 4>\",\"mode\":\"hard\"}\n" },
	{ "invalidate reason", TS " INFO sqlalchemy.pool.impl.QueuePool Invalidate connection <FakeConn 1> (reason: InvalidatePoolError:())\n",
	  J("pool_invalidate") ",\"conn\":\"<FakeConn 1>\",\"reason\":\"InvalidatePoolError:()\",\"mode\":\"hard\"}\n" },
	{ "invalidate real reason", TS " INFO sqlalchemy.pool.impl.QueuePool Invalidate connection <sqlite3.Connection object at 0x7fe375d59300> (reason: ProgrammingError:SQLite objects created in a thread can only be used in that same thread. ...)\n",
	  J("pool_invalidate") ",\"conn\":\"0x7fe375d59300\",\"reason\":\"ProgrammingError:SQLite objects created in a thread can only be used in that same thread. ...\",\"mode\":\"hard\"}\n" },
	{ "soft invalidate", TS " INFO sqlalchemy.pool.impl.QueuePool Soft Invalidate connection <FakeConn 2> (reason: x:y)\n",
	  J("pool_invalidate") ",\"conn\":\"<FakeConn 2>\",\"reason\":\"x:y\",\"mode\":\"soft\"}\n" },
	{ "recycle", TS " INFO sqlalchemy.pool.impl.QueuePool Connection <FakeConn 1> exceeded timeout; recycling\n",
	  J("pool_invalidate") ",\"conn\":\"<FakeConn 1>\",\"reason\":\"recycle\",\"mode\":\"recycle\"}\n" },
	{ "pool invalidation", TS " INFO sqlalchemy.pool.impl.QueuePool Connection <FakeConn 2> invalidated due to pool invalidation; recycling\n",
	  J("pool_invalidate") ",\"conn\":\"<FakeConn 2>\",\"reason\":\"pool invalidation\",\"mode\":\"recycle\"}\n" },
	{ "soft invalidation", TS " INFO sqlalchemy.pool.impl.QueuePool Connection <FakeConn 2> invalidated due to local soft invalidation; recycling\n",
	  J("pool_invalidate") ",\"conn\":\"<FakeConn 2>\",\"reason\":\"soft invalidation\",\"mode\":\"recycle\"}\n" },
	{ "connect error", ECHO "Error on connect(): connection refused\n",
	  J("pool_connect_error") ",\"message\":\"connection refused\"}\n" },
	{ "disposed", TS " INFO sqlalchemy.pool.impl.QueuePool Pool disposed. Pool size: 2  Connections in pool: 0 Current Overflow: -2 Current Checked out connections: 0\n",
	  J("pool_dispose") ",\"message\":\"Pool disposed\"}\n" J("pool_stats")
	  ",\"label\":\"Pool disposed\",\"pool_size\":2,\"checked_in\":0,\"checked_out\":0,\"overflow\":-2}\n" },
	{ "recreating", TS " INFO sqlalchemy.pool.impl.QueuePool Pool recreating\n",
	  J("pool_dispose") ",\"message\":\"Pool recreating\"}\n" },
	{ "exception closing: no event", TS " ERROR sqlalchemy.pool.impl.QueuePool Exception closing connection <FakeConn 1>\n", "" },
	{ "not the pool logger", TS " DEBUG app.db Connection " SQ " checked out from pool\n", "" },
};

Test(pylog, pool_debug_messages)
{
	CHECK(pool_msgs);
}

/* Connection ids by driver (reference 3.5), logger names by version (3.1). */
static const struct pcase conn_ids[] = {
	{ "asyncpg adapted, dash layout, async pool",
	  "2026-11-26 14:50:16,687 - sqlalchemy.pool.impl.AsyncAdaptedQueuePool - DEBUG - Created new connection <AdaptedConnection <asyncpg.connection.Connection object at 0x7f3d87c88a90>>\n",
	  "{\"ts\":\"2026-11-26T14:50:16.687Z\",\"kind\":\"pool_connect\",\"src\":\"t\",\"line\":1,\"conn\":\"0x7f3d87c88a90\"}\n" },
	{ "psycopg2 with a password in the DSN",
	  ECHO "Connection <connection object at 0x7f0a1c2b3d40; dsn: 'user=app password=s3cr>t< host=db dbname=x', closed: 0> checked out from pool\n",
	  J("pool_checkout") ",\"conn\":\"0x7f0a1c2b3d40\"}\n" },
	{ "psycopg2 invalidate keeps the reason, drops the DSN",
	  TS " INFO sqlalchemy.pool.impl.QueuePool Invalidate connection <connection object at 0x7f0a1c2b3d40; dsn: 'password=s3cr>t (reason: x', closed: 0> (reason: OperationalError:server closed the connection unexpectedly)\n",
	  J("pool_invalidate") ",\"conn\":\"0x7f0a1c2b3d40\",\"reason\":\"OperationalError:server closed the connection unexpectedly\",\"mode\":\"hard\"}\n" },
	{ "aiosqlite has no address",
	  ECHO "Connection <AdaptedConnection <Connection(Thread-1, started daemon 140496415917760)>> checked out from pool\n",
	  J("pool_checkout") ",\"conn\":\"<AdaptedConnection <Connection(Thread-1, started daemon 140496415917760)>>\"}\n" },
	{ "SQLAlchemy <= 1.2 logger, basicConfig layout",
	  "DEBUG:sqlalchemy.pool.QueuePool:Connection <sqlite3.Connection object at 0x7f7e6d241300> checked out from pool\n",
	  "{\"ts\":null,\"kind\":\"pool_checkout\",\"src\":\"t\",\"line\":1,\"conn\":\"0x7f7e6d241300\"}\n" },
	{ "pool_logging_name suffix",
	  TS " - sqlalchemy.pool.impl.QueuePool.mypool - DEBUG - Connection " SQ " being returned to pool\n",
	  J("pool_checkin") ",\"conn\":\"0x7f775c54d300\"}\n" },
};

Test(pylog, connection_ids)
{
	CHECK(conn_ids);
}

Test(pylog, psycopg2_dsn_never_reaches_events)
{
	char out[64];
	const char *repr = "<connection object at 0x7f0a1c2b3d40; dsn: 'password=hunter2', closed: 0>";
	cr_assert_eq(pylog_conn_id(repr, strlen(repr), out, sizeof(out)), 14);
	cr_assert_str_eq(out, "0x7f0a1c2b3d40");
	/* no address at all: hashed, not copied */
	repr = "<Conn dsn='host=db password=hunter2'>";
	pylog_conn_id(repr, strlen(repr), out, sizeof(out));
	cr_assert_null(strstr(out, "hunter2"), "%s", out);
	cr_assert_eq(strncmp(out, "conn#", 5), 0, "%s", out);
}

#define TMO "QueuePool limit of size 10 overflow 20 reached, connection timed out, timeout "
#define JT(ts) "{\"ts\":\"" ts "\",\"kind\":\"pool_timeout\",\"src\":\"t\",\"line\":1"
#define T0 "2025-10-20 14:03:12,345 - app.api - ERROR - "
#define JT0 JT("2025-10-20T14:03:12.345Z") ",\"origin\":\"api\",\"pool_class\":\"QueuePool\",\"pool_size\":10,\"max_overflow\":20"

/* TimeoutError text of every SQLAlchemy version (reference 2.1). */
static const struct pcase timeouts[] = {
	{ "<= 1.1: %d, no suffix", T0 "sqlalchemy.exc.TimeoutError: " TMO "30\n", JT0 ",\"timeout\":30}\n" },
	{ "1.2-1.3.17", T0 "sqlalchemy.exc.TimeoutError: " TMO "30 (Background on this error at: http://sqlalche.me/e/3o7r)\n",
	  JT0 ",\"timeout\":30}\n" },
	{ "1.3.18-1.3.24 truncates 7.5", T0 "sqlalchemy.exc.TimeoutError: " TMO "7 (Background on this error at: http://sqlalche.me/e/13/3o7r)\n",
	  JT0 ",\"timeout\":7}\n" },
	{ "1.4.0-1.4.20", T0 "sqlalchemy.exc.TimeoutError: " TMO "30.00 (Background on this error at: http://sqlalche.me/e/14/3o7r)\n",
	  JT0 ",\"timeout\":30}\n" },
	{ "1.4.21+", T0 "sqlalchemy.exc.TimeoutError: " TMO "7.50 (Background on this error at: https://sqlalche.me/e/14/3o7r)\n",
	  JT0 ",\"timeout\":7.5}\n" },
	{ "2.0", T0 "sqlalchemy.exc.TimeoutError: " TMO "45.00 (Background on this error at: https://sqlalche.me/e/20/3o7r)\n",
	  JT0 ",\"timeout\":45}\n" },
	{ "2.1", T0 "sqlalchemy.exc.TimeoutError: " TMO "0.01 (Background on this error at: https://sqlalche.me/e/21/3o7r)\n",
	  JT0 ",\"timeout\":0.01}\n" },
	{ "<class ...> form (ckan)", T0 "<class 'sqlalchemy.exc.TimeoutError'>: " TMO "30.00\n", JT0 ",\"timeout\":30}\n" },
	{ "bare str(e)", T0 TMO "30.00 (Background on this error at: https://sqlalche.me/e/14/3o7r)\n",
	  JT0 ",\"timeout\":30}\n" },
};

Test(pylog, timeout_error_every_version)
{
	CHECK(timeouts);
}

/* Reference 2.2, Python 3.11 with ^^^^ markers, logged by logger.exception. */
static const char tb_311[] =
	"2026-11-26 14:47:50,043 - app.db - ERROR - query failed\n"
	"Traceback (most recent call last):\n"
	"  File \"/srv/exp/exp2.py\", line 12, in <module>\n"
	"    s.execute(text(\"SELECT 1\"))\n"
	"  File \"/usr/lib/python3/dist-packages/sqlalchemy/pool/base.py\", line 493, in checkout\n"
	"    rec = pool._do_get()\n"
	"          ^^^^^^^^^^^^^^\n"
	"  File \"/usr/lib/python3/dist-packages/sqlalchemy/pool/impl.py\", line 134, in _do_get\n"
	"    raise exc.TimeoutError(\n"
	"sqlalchemy.exc.TimeoutError: QueuePool limit of size 1 overflow 0 reached, connection timed out, timeout 0.50 (Background on this error at: https://sqlalche.me/e/14/3o7r)\n"
	"2026-11-26 14:47:50,048 - app.db - INFO - pool status: Pool size: 1  Connections in pool: 0 Current Overflow: 0 Current Checked out connections: 1\n";

/* Python 3.13 collapses long expressions into "...<4 lines>..."; asyncio frames. */
static const char tb_313_async[] =
	"2026-11-26 14:47:50,043 - app.db - ERROR - query failed\n"
	"Traceback (most recent call last):\n"
	"  File \"/usr/lib/python3/dist-packages/sqlalchemy/util/_concurrency_py3k.py\", line 126, in greenlet_spawn\n"
	"    result = context.throw(*sys.exc_info())\n"
	"  File \"/usr/lib/python3/dist-packages/sqlalchemy/pool/impl.py\", line 167, in _do_get\n"
	"    raise exc.TimeoutError(\n"
	"    ...<4 lines>...\n"
	"    )\n"
	"           ~~~~~~~~~~~~~~~~~~~~~^^\n"
	"sqlalchemy.exc.TimeoutError: QueuePool limit of size 5 overflow 10 reached, connection timed out, timeout 30.00 (Background on this error at: https://sqlalche.me/e/20/3o7r)\n";

/* The same exception printed plainly and again inside an ExceptionGroup. */
static const char tb_group[] =
	"ERROR:    Exception in ASGI application\n"
	"Traceback (most recent call last):\n"
	"  File \"/usr/lib/python3/dist-packages/sqlalchemy/pool/impl.py\", line 134, in _do_get\n"
	"    raise exc.TimeoutError(\n"
	"sqlalchemy.exc.TimeoutError: QueuePool limit of size 10 overflow 20 reached, connection timed out, timeout 30.00 (Background on this error at: https://sqlalche.me/e/14/3o7r)\n"
	"\n"
	"During handling of the above exception, another exception occurred:\n"
	"\n"
	"  + Exception Group Traceback (most recent call last):\n"
	"  |   File \"/usr/lib/python3/dist-packages/anyio/_backends/_asyncio.py\", line 664, in __aexit__\n"
	"  |     raise BaseExceptionGroup(\n"
	"  | ExceptionGroup: unhandled errors in a TaskGroup (1 sub-exception)\n"
	"  +-+---------------- 1 ----------------\n"
	"    | Traceback (most recent call last):\n"
	"    |   File \"/usr/lib/python3/dist-packages/sqlalchemy/pool/impl.py\", line 134, in _do_get\n"
	"    |     raise exc.TimeoutError(\n"
	"    | sqlalchemy.exc.TimeoutError: QueuePool limit of size 10 overflow 20 reached, connection timed out, timeout 30.00 (Background on this error at: https://sqlalche.me/e/14/3o7r)\n"
	"    +------------------------------------\n"
	"INFO:     127.0.0.1:53472 - \"GET /slow HTTP/1.1\" 500 Internal Server Error\n";

static const struct pcase tracebacks[] = {
	{ "3.11 traceback is one record", tb_311,
	  "{\"ts\":\"2026-11-26T14:47:50.043Z\",\"kind\":\"pool_timeout\",\"src\":\"t\",\"line\":1,\"pool_class\":\"QueuePool\",\"pool_size\":1,\"max_overflow\":0,\"timeout\":0.5}\n"
	  "{\"ts\":\"2026-11-26T14:47:50.048Z\",\"kind\":\"pool_stats\",\"src\":\"t\",\"line\":11,\"label\":\"status\",\"pool_size\":1,\"checked_in\":0,\"checked_out\":1,\"overflow\":0}\n" },
	{ "3.13 collapsed lines, async pool", tb_313_async,
	  "{\"ts\":\"2026-11-26T14:47:50.043Z\",\"kind\":\"pool_timeout\",\"src\":\"t\",\"line\":1,\"pool_class\":\"AsyncAdaptedQueuePool\",\"pool_size\":5,\"max_overflow\":10,\"timeout\":30}\n" },
};

Test(pylog, tracebacks_are_one_record)
{
	CHECK(tracebacks);
}

Test(pylog, exception_group_counts_once)
{
	struct strbuf out = STRBUF_INIT;
	struct source src;
	run_text(tb_group, "pylog", &out, &src);
	cr_assert_str_eq(out.buf,
		"{\"ts\":null,\"kind\":\"app_error\",\"src\":\"t\",\"line\":1,\"origin\":\"api\",\"message\":\"sqlalchemy.exc.TimeoutError: QueuePool limit of size 10 overflow 20 reached, connection timed out, timeout 30.00 (Background on this error at: https://sqlalche.me/e/14/3o7r)\",\"exception\":\"sqlalchemy.exc.TimeoutError\"}\n"
		"{\"ts\":null,\"kind\":\"pool_timeout\",\"src\":\"t\",\"line\":1,\"origin\":\"api\",\"pool_class\":\"QueuePool\",\"pool_size\":10,\"max_overflow\":20,\"timeout\":30}\n"
		"{\"ts\":null,\"kind\":\"http_request\",\"src\":\"t\",\"line\":19,\"path\":\"/slow\",\"method\":\"GET\",\"status\":500}\n");
	/* 19 lines: the traceback is one record, the access line another
	 * (taken by the access formats' parse_foreign) */
	cr_assert_eq(src.lines, 19);
	cr_assert_eq(src.records, 2);
	source_release(&src);
	strbuf_release(&out);
}

/*
 * Duplicate handlers (reference 3.2, 5.2, 7.12): one record written twice
 * in two layouts counts once; the same text twice in one layout is two
 * failures (a burst of waiters times out in the same millisecond).
 */
static const char dup_echo_root[] =
	"2026-11-26 14:50:16,687 DEBUG sqlalchemy.pool.impl.AsyncAdaptedQueuePool Connection <AdaptedConnection <asyncpg.connection.Connection object at 0x7f3d87c88a90>> checked out from pool\n"
	"2026-11-26 14:50:16,687 - sqlalchemy.pool.impl.AsyncAdaptedQueuePool - DEBUG - Connection <AdaptedConnection <asyncpg.connection.Connection object at 0x7f3d87c88a90>> checked out from pool\n";

static const char dup_uvicorn_018[] =
	"2026-11-26 14:51:56,425 - uvicorn.error - INFO - Started server process [17077]\n"
	"ERROR:    Exception in ASGI application\n"
	"Traceback (most recent call last):\n"
	"  File \"/usr/lib/python3/dist-packages/sqlalchemy/pool/impl.py\", line 134, in _do_get\n"
	"    raise exc.TimeoutError(\n"
	"sqlalchemy.exc.TimeoutError: QueuePool limit of size 1 overflow 1 reached, connection timed out, timeout 1.00 (Background on this error at: https://sqlalche.me/e/14/3o7r)\n"
	"2026-11-26 14:51:58,880 - uvicorn.error - ERROR - Exception in ASGI application\n"
	"Traceback (most recent call last):\n"
	"  File \"/usr/lib/python3/dist-packages/sqlalchemy/pool/impl.py\", line 134, in _do_get\n"
	"    raise exc.TimeoutError(\n"
	"sqlalchemy.exc.TimeoutError: QueuePool limit of size 1 overflow 1 reached, connection timed out, timeout 1.00 (Background on this error at: https://sqlalche.me/e/14/3o7r)\n";

static const char burst_same_layout[] =
	T0 "sqlalchemy.exc.TimeoutError: " TMO "30.00\n"
	T0 "sqlalchemy.exc.TimeoutError: " TMO "30.00\n"
	T0 "sqlalchemy.exc.TimeoutError: " TMO "30.00\n";

static const char far_apart[] =
	"2025-10-20 14:03:12,345 INFO app x: " TMO "30.00\n"
	"2025-10-20 14:03:12,445 - app - INFO - x: " TMO "30.00\n";

static const char echo_then_basic[] =
	"2026-11-26 14:50:34,565 DEBUG sqlalchemy.pool.impl.QueuePool Connection " SQ " checked out from pool\n"
	"DEBUG:sqlalchemy.pool.impl.QueuePool:Connection " SQ " checked out from pool\n"
	"2026-11-26 14:50:34,570 DEBUG sqlalchemy.pool.impl.QueuePool Connection " SQ " being returned to pool\n"
	"DEBUG:sqlalchemy.pool.impl.QueuePool:Connection " SQ " being returned to pool\n";

Test(pylog, duplicate_handlers_count_once)
{
	struct { const char *in; const char *kind; int want; } c[] = {
		{ dup_echo_root, "pool_checkout", 1 },
		{ dup_uvicorn_018, "pool_timeout", 1 },
		{ dup_uvicorn_018, "app_error", 1 },
		{ burst_same_layout, "pool_timeout", 3 },
		{ far_apart, "pool_timeout", 2 },
		{ echo_then_basic, "pool_checkout", 1 },
		{ echo_then_basic, "pool_checkin", 1 },
	};
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct strbuf out = STRBUF_INIT, k = STRBUF_INIT;
		struct source src;
		int n = 0;
		strbuf_addf(&k, "\"kind\":\"%s\"", c[i].kind);
		run_text(c[i].in, "pylog", &out, &src);
		for (const char *p = out.buf; (p = strstr(p, k.buf)); p++)
			n++;
		cr_expect_eq(n, c[i].want, "case %zu: %d %s, want %d:\n%s", i, n, c[i].kind, c[i].want,
			     out.buf);
		source_release(&src);
		strbuf_release(&out);
		strbuf_release(&k);
	}
}

Test(pylog, untimed_duplicate_takes_the_timed_copy)
{
	struct strbuf out = STRBUF_INIT;
	struct source src;
	run_text(dup_uvicorn_018, "pylog", &out, &src);
	cr_assert_str_eq(out.buf,
		"{\"ts\":\"2026-11-26T14:51:58.880Z\",\"kind\":\"app_error\",\"src\":\"t\",\"line\":7,\"origin\":\"api\",\"message\":\"sqlalchemy.exc.TimeoutError: QueuePool limit of size 1 overflow 1 reached, connection timed out, timeout 1.00 (Background on this error at: https://sqlalche.me/e/14/3o7r)\",\"exception\":\"sqlalchemy.exc.TimeoutError\"}\n"
		"{\"ts\":\"2026-11-26T14:51:58.880Z\",\"kind\":\"pool_timeout\",\"src\":\"t\",\"line\":7,\"origin\":\"api\",\"pool_class\":\"QueuePool\",\"pool_size\":1,\"max_overflow\":1,\"timeout\":1}\n");
	source_release(&src);
	strbuf_release(&out);
}

/* Each header layout (reference 5.1-5.4, the brief's generic one). */
static const struct pcase layouts_cases[] = {
	{ "dash", "2026-11-26 14:52:24,353 - app - INFO - pool stats: {'checked_out': 2}\n",
	  "{\"ts\":\"2026-11-26T14:52:24.353Z\",\"kind\":\"pool_stats\",\"src\":\"t\",\"line\":1,\"label\":\"pool stats\",\"checked_out\":2}\n" },
	{ "dash without name", "2026-11-26 14:52:24,353 - INFO - pool stats: {'checked_out': 2}\n",
	  "{\"ts\":\"2026-11-26T14:52:24.353Z\",\"kind\":\"pool_stats\",\"src\":\"t\",\"line\":1,\"label\":\"pool stats\",\"checked_out\":2}\n" },
	{ "basicConfig", "ERROR:app:x={'pool_size': 5, 'checked_in': 0, 'checked_out': 15, 'overflow': 10}\n",
	  "{\"ts\":null,\"kind\":\"pool_stats\",\"src\":\"t\",\"line\":1,\"label\":\"x\",\"pool_size\":5,\"checked_in\":0,\"checked_out\":15,\"overflow\":10}\n" },
	{ "gunicorn error log, pid",
	  "[2026-11-26 15:02:36 +0000] [9247] [ERROR] Error handling request /slow\n"
	  "Traceback (most recent call last):\n"
	  "  File \"/usr/lib/python3/dist-packages/gunicorn/workers/gthread.py\", line 271, in handle\n"
	  "    keepalive = self.handle_request(req, conn)\n"
	  "sqlalchemy.exc.TimeoutError: QueuePool limit of size 1 overflow 0 reached, connection timed out, timeout 1.00 (Background on this error at: https://sqlalche.me/e/14/3o7r)\n",
	  "{\"ts\":\"2026-11-26T15:02:36.000Z\",\"kind\":\"app_error\",\"src\":\"t\",\"line\":1,\"pid\":9247,\"origin\":\"api\",\"message\":\"sqlalchemy.exc.TimeoutError: QueuePool limit of size 1 overflow 0 reached, connection timed out, timeout 1.00 (Background on this error at: https://sqlalche.me/e/14/3o7r)\",\"exception\":\"sqlalchemy.exc.TimeoutError\"}\n"
	  "{\"ts\":\"2026-11-26T15:02:36.000Z\",\"kind\":\"pool_timeout\",\"src\":\"t\",\"line\":1,\"pid\":9247,\"origin\":\"api\",\"pool_class\":\"QueuePool\",\"pool_size\":1,\"max_overflow\":0,\"timeout\":1}\n" },
	{ "gunicorn zone", "[2026-11-26 17:02:36 +0200] [9247] [INFO] pool status: Pool size: 5  Connections in pool: 0 Current Overflow: 10 Current Checked out connections: 15\n",
	  "{\"ts\":\"2026-11-26T15:02:36.000Z\",\"kind\":\"pool_stats\",\"src\":\"t\",\"line\":1,\"pid\":9247,\"label\":\"status\",\"pool_size\":5,\"checked_in\":0,\"checked_out\":15,\"overflow\":10}\n" },
	{ "celery", "[2026-11-26 15:02:36,120: ERROR/ForkPoolWorker-1] Task failed: sqlalchemy.exc.TimeoutError: QueuePool limit of size 5 overflow 10 reached, connection timed out, timeout 30.00\n",
	  "{\"ts\":\"2026-11-26T15:02:36.120Z\",\"kind\":\"pool_timeout\",\"src\":\"t\",\"line\":1,\"pool_class\":\"QueuePool\",\"pool_size\":5,\"max_overflow\":10,\"timeout\":30}\n" },
	{ "generic [pid] LEVEL name:", "2026-11-26 15:02:36,120 [4242] INFO app.core.background_worker: Processing vitals batch: 100 entries\n",
	  "{\"ts\":\"2026-11-26T15:02:36.120Z\",\"kind\":\"batch_start\",\"src\":\"t\",\"line\":1,\"pid\":4242,\"origin\":\"batch\",\"name\":\"vitals\",\"entries\":100}\n" },
	{ "generic [LEVEL] name:", "2026-11-26 15:02:36,120 [INFO] app.worker: Vitals batch complete: 100 entries processed in 8.12s\n",
	  "{\"ts\":\"2026-11-26T15:02:36.120Z\",\"kind\":\"batch_end\",\"src\":\"t\",\"line\":1,\"origin\":\"batch\",\"name\":\"vitals\",\"entries\":100,\"processed\":100,\"duration\":8.12}\n" },
	{ "uvicorn with asctime, then untimed uvicorn",
	  "2026-11-26 14:52:24,353 INFO:     Application startup complete.\n"
	  "ERROR:    Exception in ASGI application\n"
	  "Traceback (most recent call last):\n"
	  "ValueError: bad\n",
	  "{\"ts\":\"2026-11-26T14:52:24.353Z\",\"kind\":\"app_error\",\"src\":\"t\",\"line\":2,\"origin\":\"api\",\"message\":\"ValueError: bad\",\"exception\":\"ValueError\",\"ts_inferred\":true}\n" },
};

Test(pylog, layouts)
{
	CHECK(layouts_cases);
}

#define D "2026-11-20 09:00:01,250 - app.core.background_worker - DEBUG - "
#define JD(kind) "{\"ts\":\"2026-11-20T09:00:01.250Z\",\"kind\":\"" kind "\",\"src\":\"t\",\"line\":1"

/* Pool-stat lines (reference 4, incident.md). */
static const struct pcase stats_cases[] = {
	{ "incident, emoji", D "\xf0\x9f\x94\x8c Connection pool before batch: {'checked_out': 5, 'status': 'healthy'}\n",
	  JD("pool_stats") ",\"origin\":\"batch\",\"label\":\"before batch\",\"status\":\"healthy\",\"checked_out\":5}\n" },
	{ "incident, no emoji, after", D "Connection pool after batch: {'checked_out': 5, 'status': 'healthy'}\n",
	  JD("pool_stats") ",\"origin\":\"batch\",\"label\":\"after batch\",\"status\":\"healthy\",\"checked_out\":5}\n" },
	{ "helper with every key", D "\xf0\x9f\x94\x8c Connection pool before batch: {'pool_size': 10, 'checked_in': 0, 'checked_out': 30, 'overflow': 20, 'total_connections': 30, 'max_capacity': 30, 'usage_percent': 100.0, 'status': 'exhausted'}\n",
	  JD("pool_stats") ",\"origin\":\"batch\",\"label\":\"before batch\",\"status\":\"exhausted\",\"pool_size\":10,\"checked_in\":0,\"checked_out\":30,\"overflow\":20}\n" },
	{ "status() inside the dict: one event", "2026-11-26 14:51:59,831 - app - INFO - pool stats: {'pool_size': 1, 'checked_in': 0, 'checked_out': 2, 'overflow': 1, 'status': 'Pool size: 1  Connections in pool: 0 Current Overflow: 1 Current Checked out connections: 2'}\n",
	  "{\"ts\":\"2026-11-26T14:51:59.831Z\",\"kind\":\"pool_stats\",\"src\":\"t\",\"line\":1,\"label\":\"pool stats\",\"pool_size\":1,\"checked_in\":0,\"checked_out\":2,\"overflow\":1}\n" },
	{ "JSON dict", D "pool: {\"pool_size\": 20, \"checked_in\": 3, \"checked_out\": 2, \"overflow\": -15}\n",
	  JD("pool_stats") ",\"origin\":\"batch\",\"label\":\"pool\",\"pool_size\":20,\"checked_in\":3,\"checked_out\":2,\"overflow\":-15}\n" },
	{ "status() text, negative overflow", "2026-11-20 09:00:01,250 - app.core.database_utils - INFO - Pool status: Pool size: 5  Connections in pool: 0 Current Overflow: -5 Current Checked out connections: 0\n",
	  JD("pool_stats") ",\"label\":\"status\",\"pool_size\":5,\"checked_in\":0,\"checked_out\":0,\"overflow\":-5}\n" },
	{ "no pool word: not stats", D "config: {'checked_out': 5}\n", "" },
	{ "settings are not a sample (fixtures startup line)",
	  "2026-11-26 16:40:27,990 - app.api - INFO - healthapp starting: mode=before settings={\"batch_first_delay_s\": 15.0, \"max_overflow\": 20, \"pool_pre_ping\": true, \"pool_size\": 10, \"pool_timeout\": 3.0}\n", "" },
	{ "status() alone in a dict", D "pool: {'status': 'Pool size: 5  Connections in pool: 1 Current Overflow: -4 Current Checked out connections: 0'}\n",
	  JD("pool_stats") ",\"origin\":\"batch\",\"label\":\"pool\",\"pool_size\":5,\"checked_in\":1,\"checked_out\":0,\"overflow\":-4}\n" },
};

Test(pylog, pool_stat_lines)
{
	CHECK(stats_cases);
}

#define JB(kind) "{\"ts\":\"2026-11-20T09:00:01.250Z\",\"kind\":\"" kind "\",\"src\":\"t\",\"line\":1,\"origin\":\"batch\""

/* Batch wording: the incident's, the fixtures harness's, common variants. */
static const struct pcase batch_cases[] = {
	{ "incident start", D "Processing vitals batch: 100 entries\n",
	  JB("batch_start") ",\"name\":\"vitals\",\"entries\":100}\n" },
	{ "harness start", D "Processing nutrition batch: 137 entries (batch_id=2, groups=61, workers=18)\n",
	  JB("batch_start") ",\"name\":\"nutrition\",\"entries\":137,\"connections\":18}\n" },
	{ "incident end", D "Vitals batch complete: 100 entries processed in 8.12s\n",
	  JB("batch_end") ",\"name\":\"vitals\",\"entries\":100,\"processed\":100,\"duration\":8.12}\n" },
	{ "harness end", D "Lab batch complete: 412 entries processed in 61.37s (batch_id=3, workers=18, commits=18, failed_workers=0)\n",
	  JB("batch_end") ",\"name\":\"lab\",\"entries\":412,\"processed\":412,\"connections\":18,\"commits\":18,\"duration\":61.37}\n" },
	{ "batch start k=v", D "batch start: vitals entries=100\n",
	  JB("batch_start") ",\"name\":\"vitals\",\"entries\":100}\n" },
	{ "batch end k=v", D "batch end: vitals processed=100 duration=8.12s\n",
	  JB("batch_end") ",\"name\":\"vitals\",\"entries\":100,\"processed\":100,\"duration\":8.12}\n" },
	{ "name batch started", D "nutrition batch started (50 entries)\n",
	  JB("batch_start") ",\"name\":\"nutrition\",\"entries\":50}\n" },
	{ "starting ... of", D "Starting lab batch of 200 entries\n",
	  JB("batch_start") ",\"name\":\"lab\",\"entries\":200}\n" },
	{ "finished in ms", D "Nutrition batch finished: 50 entries in 812ms\n",
	  JB("batch_end") ",\"name\":\"nutrition\",\"entries\":50,\"duration\":0.812}\n" },
	{ "not a batch line", D "Aggregation worker finished: no more batches scheduled\n", "" },
	{ "a failed batch is not an end", D "Vitals batch 2 failed\n", "" },
};

Test(pylog, batch_lines)
{
	CHECK(batch_cases);
}

/* A whole file in the driver: counts of events, records, unparsed lines. */
static const char whole[] =
	"binary \x01 junk that is no record\n"
	"INFO:     Started server process [17077]\n"
	"2026-11-26 14:51:56,425 - uvicorn.error - INFO - Started server process [17077]\n"
	"INFO:     Waiting for application startup.\n"
	"2026-11-26 14:51:57,001 - app.core.background_worker - DEBUG - \xf0\x9f\x94\x8c Connection pool before batch: {'checked_out': 5, 'status': 'healthy'}\n"
	"2026-11-26 14:51:57,002 - app.core.background_worker - INFO - Processing vitals batch: 100 entries\n"
	"ERROR:    Exception in ASGI application\n"
	"Traceback (most recent call last):\n"
	"  File \"/usr/lib/python3/dist-packages/uvicorn/protocols/http/h11_impl.py\", line 366, in run_asgi\n"
	"    result = await app(self.scope, self.receive, self.send)\n"
	"             ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^\n"
	"sqlalchemy.exc.TimeoutError: QueuePool limit of size 10 overflow 20 reached, connection timed out, timeout 30.00 (Background on this error at: https://sqlalche.me/e/14/3o7r)\n"
	"2026-11-26 14:51:58,880 - uvicorn.error - ERROR - Exception in ASGI application\n"
	"Traceback (most recent call last):\n"
	"  File \"/usr/lib/python3/dist-packages/uvicorn/protocols/http/h11_impl.py\", line 366, in run_asgi\n"
	"    result = await app(self.scope, self.receive, self.send)\n"
	"             ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^\n"
	"sqlalchemy.exc.TimeoutError: QueuePool limit of size 10 overflow 20 reached, connection timed out, timeout 30.00 (Background on this error at: https://sqlalche.me/e/14/3o7r)\n"
	"2026-11-26 14:52:30,100 - app.core.background_worker - INFO - Vitals batch complete: 100 entries processed in 33.10s\n"
	"2026-11-26 14:52:30,101 - app.core.background_worker - DEBUG - \xf0\x9f\x94\x8c Connection pool after batch: {'checked_out': 5, 'status': 'healthy'}\n"
	"a second line of a multi-line message\n"
	"INFO:     Shutting down\n";

Test(pylog, whole_file_through_the_driver)
{
	struct strbuf out = STRBUF_INIT;
	struct source src;
	run_text(whole, NULL, &out, &src);
	cr_assert_str_eq(src.format, "pylog");
	cr_assert_eq(src.lines, 22);
	cr_assert_eq(src.records, 11, "records %llu", (unsigned long long)src.records);
	/* stats x2, batch start+end, one app_error + one pool_timeout (the
	 * uvicorn copy and the root copy are one record) */
	cr_assert_eq(src.events, 6, "events %llu:\n%s", (unsigned long long)src.events, out.buf);
	cr_assert_eq(src.unparsed, 1);
	cr_assert_eq(src.by_reason[UNPARSED_UNKNOWN_LAYOUT], 1);
	cr_assert_eq(src.samples[0].line, 1);
	source_release(&src);
	strbuf_release(&out);
}

Test(pylog, detection)
{
	struct { const char *in; int min, max; } c[] = {
		{ tb_311, 90, 100 },
		{ dup_uvicorn_018, 90, 100 },
		{ "INFO:     127.0.0.1:53438 - \"GET /fast?q=1 HTTP/1.1\" 200 OK\n"
		  "INFO:     127.0.0.1:53446 - \"GET /nope HTTP/1.1\" 404 Not Found\n", 0, 0 },
		{ "2026-11-26 14:46:30.456 UTC [6589] LOG:  connection received: host=[local]\n"
		  "2026-11-26 14:46:30.457 UTC [6589] FATAL:  sorry, too many clients already\n", 0, 0 },
		{ "127.0.0.1 - - [26/Nov/2026:15:02:35 +0000] \"GET /fast?x=1 HTTP/1.1\" 200 2 \"-\" \"curl/7.88.1\"\n", 0, 0 },
	};
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct line lines[64];
		struct parse_opts opts;
		size_t n = 0;
		const char *p = c[i].in;
		int score;
		parse_opts_init(&opts);
		while (*p && n < 64) {
			const char *nl = strchr(p, '\n');
			lines[n].s = p;
			lines[n].len = nl ? (size_t)(nl - p) : strlen(p);
			lines[n].no = n + 1;
			lines[n].flags = 0;
			n++;
			p = nl ? nl + 1 : p + strlen(p);
		}
		score = format_pylog.detect(lines, n, &opts);
		cr_expect(score >= c[i].min && score <= c[i].max, "case %zu: score %d", i, score);
		parse_opts_release(&opts);
	}
}

Test(pylog, message_offset_for_other_parsers)
{
	const char *a = "2026-11-26 14:52:24,353 - uvicorn.access - INFO - 127.0.0.1:39244 - \"GET /slow HTTP/1.1\" 500";
	const char *b = "2026-11-26 14:52:24,353 INFO:     127.0.0.1:39244 - \"GET /slow HTTP/1.1\" 500 Internal Server Error";
	cr_assert_str_eq(a + pylog_message_offset(a, strlen(a)), "127.0.0.1:39244 - \"GET /slow HTTP/1.1\" 500");
	cr_assert_str_eq(b + pylog_message_offset(b, strlen(b)),
			 "127.0.0.1:39244 - \"GET /slow HTTP/1.1\" 500 Internal Server Error");
	cr_assert_eq(pylog_message_offset("  File \"x\"", 10), 0);
}

/*
 * The real captures (fixtures/incident/, fixtures/harness/README.md) against
 * their ground truth, which the app recorded from SQLAlchemy pool events and
 * not from the logs: one pool_timeout per failed checkout, one checkout per
 * pool checkout, one batch_start/batch_end per batch.
 */
#include <jansson.h>

struct kind_counts {
	uint64_t n[EVENT_KIND__COUNT];
	uint64_t api_timeouts;
};

static void count_kinds(void *data, const struct event *ev)
{
	struct kind_counts *c = data;
	c->n[ev->kind]++;
	if (ev->kind == EVENT_POOL_TIMEOUT && ev->origin == ORIGIN_API)
		c->api_timeouts++;
}

static void parse_counts(const char *path, struct kind_counts *c, struct source *src)
{
	struct parse_opts opts;
	struct event_sink sink = { count_kinds, c };
	parse_opts_init(&opts);
	opts.quiet = true;
	source_init(src, path);
	cr_assert_eq(parse_input(path, &opts, src, 0, sink), 0, "%s", path);
	cr_assert_str_eq(src->format, "pylog", "%s", path);
	parse_opts_release(&opts);
}

static int64_t truth_int(json_t *root, const char *a, const char *b)
{
	json_t *v = json_object_get(json_object_get(root, a), b);
	cr_assert(json_is_integer(v), "truth.json: %s.%s", a, b);
	return json_integer_value(v);
}

static int64_t count_lines(const char *path)
{
	struct strbuf sb = STRBUF_INIT;
	int64_t n = 0;
	cr_assert_eq(test_read_file(path, &sb), 0, "%s", path);
	for (size_t i = 0; i < sb.len; i++)
		n += sb.buf[i] == '\n';
	strbuf_release(&sb);
	return n;
}

Test(pylog, incident_fixtures_match_truth)
{
	static const char *const runs[] = { "before", "after" };
	for (size_t r = 0; r < 2; r++) {
		char dir[256], p[512];
		struct kind_counts app = { { 0 }, 0 }, pool = { { 0 }, 0 }, console = { { 0 }, 0 };
		struct source src;
		json_error_t jerr;
		json_t *truth;
		int64_t batches;

		snprintf(dir, sizeof(dir), "%s", test_path("fixtures/incident"));
		snprintf(p, sizeof(p), "%s/%s/truth/truth.json", dir, runs[r]);
		truth = json_load_file(p, 0, &jerr);
		cr_assert(truth, "%s: %s", p, jerr.text);

		snprintf(p, sizeof(p), "%s/%s/app.log", dir, runs[r]);
		parse_counts(p, &app, &src);
		cr_expect_eq(src.unparsed, 0, "%s: %llu unparsed", p, (unsigned long long)src.unparsed);
		source_release(&src);
		cr_expect_eq((int64_t)app.n[EVENT_POOL_TIMEOUT], truth_int(truth, "pool", "timeouts"),
			     "%s: %llu timeouts", runs[r], (unsigned long long)app.n[EVENT_POOL_TIMEOUT]);
		cr_expect_eq((int64_t)app.api_timeouts,
			     json_integer_value(json_object_get(
				     json_object_get(json_object_get(truth, "pool"), "timeouts_by_origin"), "api")),
			     "%s: api timeouts", runs[r]);
		snprintf(p, sizeof(p), "%s/%s/truth/batches.tsv", dir, runs[r]);
		batches = count_lines(p) - 1;
		cr_expect_eq((int64_t)app.n[EVENT_BATCH_START], batches, "%s: batch starts", runs[r]);
		cr_expect_eq((int64_t)app.n[EVENT_BATCH_END], batches, "%s: batch ends", runs[r]);
		/* before and after each batch, plus the 5 s monitor's status() lines */
		cr_expect_geq(app.n[EVENT_POOL_STATS], 2 * (uint64_t)batches + 30, "%s: pool_stats", runs[r]);

		snprintf(p, sizeof(p), "%s/%s/pool.log.gz", dir, runs[r]);
		parse_counts(p, &pool, &src);
		cr_expect_eq(src.unparsed, 0, "%s: unparsed", p);
		source_release(&src);
		cr_expect_eq((int64_t)pool.n[EVENT_POOL_CHECKOUT], truth_int(truth, "pool", "checkouts"),
			     "%s: checkouts", runs[r]);
		cr_expect_eq(pool.n[EVENT_POOL_CHECKIN], pool.n[EVENT_POOL_CHECKOUT], "%s: checkins", runs[r]);
		cr_expect_eq((int64_t)pool.n[EVENT_POOL_CONNECT], truth_int(truth, "pool", "connects"),
			     "%s: connects", runs[r]);
		cr_expect_eq((int64_t)pool.n[EVENT_POOL_CLOSE], truth_int(truth, "pool", "closes"),
			     "%s: closes", runs[r]);

		/* uvicorn's own handler: the unhandled timeouts, untimed, once each */
		snprintf(p, sizeof(p), "%s/%s/console/uvicorn-stderr.log", dir, runs[r]);
		parse_counts(p, &console, &src);
		source_release(&src);
		cr_expect_eq(console.n[EVENT_POOL_TIMEOUT], app.n[EVENT_APP_ERROR], "%s: console", runs[r]);
		json_decref(truth);
	}
}

/* No logging configured: logger.exception() goes to lastResort as a bare
 * message plus traceback (reference 2.2, last variant).  The record is
 * glued by its traceback lines; junk lines stay apart. */
Test(pylog, last_resort_bare_records)
{
	struct strbuf out = STRBUF_INIT;
	struct source src;
	run_text("checkout failed\n"
		 "Traceback (most recent call last):\n"
		 "  File \"/usr/lib/python3/dist-packages/sqlalchemy/pool/impl.py\", line 134, in _do_get\n"
		 "    raise exc.TimeoutError(\n"
		 "sqlalchemy.exc.TimeoutError: QueuePool limit of size 3 overflow 2 reached, connection timed out, timeout 0.00\n"
		 "some junk\n"
		 "more junk\n",
		 "pylog", &out, &src);
	cr_assert_str_eq(out.buf,
		"{\"ts\":null,\"kind\":\"pool_timeout\",\"src\":\"t\",\"line\":1,\"pool_class\":\"QueuePool\",\"pool_size\":3,\"max_overflow\":2,\"timeout\":0}\n");
	cr_assert_eq(src.records, 3);
	cr_assert_eq(src.by_reason[UNPARSED_UNKNOWN_LAYOUT], 2);
	source_release(&src);
	strbuf_release(&out);
}
