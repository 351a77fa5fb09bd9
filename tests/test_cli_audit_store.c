#include <criterion/criterion.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "analysis/analyze.h"
#include "analysis/audit.h"
#include "cli/audit_store.h"
#include "core/error.h"
#include "core/event.h"
#include "core/timeline.h"
#include "tests/testutil.h"

/*
 * The audit store against a real PostgreSQL (POOLSCOPE_TEST_DSN, started by
 * scripts/test.sh): each test gets its own database, stores runs through
 * audit_store_write() and reads the rows back with plain libpq.
 */

#define T0 INT64_C(1760968800000000) /* 2025-10-20T14:00:00Z */
#define SEC INT64_C(1000000)

static const char *base_dsn(void)
{
	const char *dsn = getenv("POOLSCOPE_TEST_DSN");
	if (dsn && *dsn)
		return dsn;
	if (getenv("CI") && !strcmp(getenv("CI"), "true"))
		cr_assert_fail("POOLSCOPE_TEST_DSN is not set and CI=true: PostgreSQL tests must run");
	cr_skip_test("POOLSCOPE_TEST_DSN not set (scripts/test.sh starts a server)");
	return NULL;
}

static PGconn *connect_or_die(const char *dsn)
{
	PGconn *pg = PQconnectdb(dsn);
	cr_assert_eq(PQstatus(pg), CONNECTION_OK, "connect: %s", PQerrorMessage(pg));
	return pg;
}

static void exec_ok(PGconn *pg, const char *sql)
{
	PGresult *res = PQexec(pg, sql);
	cr_assert(PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK,
		  "%s: %s", sql, PQerrorMessage(pg));
	PQclear(res);
}

/* A fresh database for one test; its DSN goes into dsn. */
static void fresh_db(char *dsn, size_t n, char *name, size_t nn)
{
	static int seq;
	const char *base = base_dsn();
	char sql[256];
	PGconn *pg;
	snprintf(name, nn, "poolscope_audit_%ld_%d", (long)getpid(), ++seq);
	snprintf(dsn, n, "%s dbname=postgres", base);
	pg = connect_or_die(dsn);
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s", name);
	exec_ok(pg, sql);
	PQfinish(pg);
	snprintf(dsn, n, "%s dbname=%s", base, name);
}

static void drop_db(const char *name)
{
	char dsn[1024], sql[256];
	PGconn *pg;
	snprintf(dsn, sizeof(dsn), "%s dbname=postgres", base_dsn());
	pg = connect_or_die(dsn);
	snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", name);
	exec_ok(pg, sql);
	PQfinish(pg);
}

static int64_t query_i64(PGconn *pg, const char *sql)
{
	PGresult *res = PQexec(pg, sql);
	int64_t v;
	cr_assert_eq(PQresultStatus(res), PGRES_TUPLES_OK, "%s: %s", sql, PQerrorMessage(pg));
	cr_assert_eq(PQntuples(res), 1, "%s", sql);
	v = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return v;
}

/* A run: two timeouts, a refusal and some requests, judged, with one
 * finding whose message and evidence hold hostile text. */
struct run {
	struct timeline tl;
	struct analysis a;
	struct audit_result r;
};

static const char hostile_msg[] = "it's \"quoted\" \\N back\\slash\ttab\nnewline\r'); DROP TABLE poolscope.audit_run; -- é";
static const char hostile_line[] = "x'); DROP TABLE poolscope.audit_finding; --\t\\.\n\\N\0\x01\xff\xfe end";

static void run_build(struct run *ru, const char *path_of_src)
{
	struct analysis_opts ao;
	struct audit_thresholds t;
	struct audit_finding *f;
	struct event ev;
	uint32_t src;

	timeline_init(&ru->tl);
	src = timeline_add_source(&ru->tl, path_of_src);
	timeline_source(&ru->tl, src)->lines = 40;
	timeline_source(&ru->tl, src)->end_line = 40;
	timeline_source(&ru->tl, src)->end_offset = 4000;
	for (int i = 0; i < 2; i++) {
		event_init(&ev, EVENT_POOL_TIMEOUT);
		ev.u.timeout.pool_size = 10;
		ev.u.timeout.max_overflow = 20;
		ev.u.timeout.timeout_usec = 30 * SEC;
		ev.ts = T0 + (61 + i) * SEC;
		ev.line = (uint32_t)(10 + i);
		timeline_append(&ru->tl, &ev);
	}
	event_init(&ev, EVENT_PG_TOO_MANY_CLIENTS);
	ev.ts = T0 + 5 * SEC;
	ev.line = 3;
	timeline_append(&ru->tl, &ev);
	for (int i = 0; i < 4; i++) {
		struct event co, ci;
		event_init(&co, EVENT_POOL_CHECKOUT);
		co.conn = "0x1";
		co.pid = 7;
		co.ts = T0 + i * 10 * SEC;
		co.line = (uint32_t)(20 + 2 * i);
		timeline_append(&ru->tl, &co);
		event_init(&ci, EVENT_POOL_CHECKIN);
		ci.conn = "0x1";
		ci.pid = 7;
		ci.ts = co.ts + (i + 1) * SEC;
		ci.line = co.line + 1;
		timeline_append(&ru->tl, &ci);
	}
	timeline_sort(&ru->tl);
	analysis_opts_init(&ao);
	cr_assert_eq(analysis_run(&ru->tl, &ao, &ru->a), 0);
	audit_thresholds_init(&t);
	audit_result_init(&ru->r);
	audit_evaluate(&ru->a, &t, &ru->r);
	f = audit_add(&ru->r, AUDIT_WARNING, "hostile", 1.5, NAN, hostile_msg);
	audit_add_ref(f, "we\tird\npath'); --.log", 77);
	f->refs[0].excerpt = xmalloc(sizeof(hostile_line));
	memcpy(f->refs[0].excerpt, hostile_line, sizeof(hostile_line) - 1);
	f->refs[0].excerpt_len = sizeof(hostile_line) - 1;
}

static void run_release(struct run *ru)
{
	audit_result_release(&ru->r);
	analysis_release(&ru->a);
	timeline_release(&ru->tl);
}

static int store(const char *dsn, struct run *ru, const char *host, int64_t *id)
{
	struct audit_store_run sr;
	memset(&sr, 0, sizeof(sr));
	sr.host = host;
	sr.started = T0 + 3600 * SEC;
	sr.exit_code = audit_exit_code(&ru->r, &(struct audit_thresholds){ .fail_on = AUDIT_WARNING });
	sr.a = &ru->a;
	sr.r = &ru->r;
	return audit_store_write(dsn, &sr, id);
}

Test(audit_copy, escaping)
{
	struct strbuf sb = STRBUF_INIT;
	copy_add_text(&sb, "a\\b\tc\nd\re");
	cr_assert_str_eq(sb.buf, "a\\\\b\\tc\\nd\\re");
	strbuf_reset(&sb);
	copy_add_text(&sb, NULL);
	cr_assert_str_eq(sb.buf, "\\N");
	strbuf_reset(&sb);
	copy_add_text(&sb, "caf\xc3\xa9 \xff\xc3 ok \xed\xa0\x80!");
	cr_assert_str_eq(sb.buf, "caf\xc3\xa9 \xef\xbf\xbd\xef\xbf\xbd ok \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd!",
			 "invalid UTF-8 becomes U+FFFD");
	strbuf_reset(&sb);
	copy_add_bytea(&sb, "A\0\\\n", 4);
	cr_assert_str_eq(sb.buf, "\\\\x41005c0a");
	strbuf_release(&sb);
}

Test(audit_store, run_stored_and_read_back_byte_for_byte)
{
	char dsn[1024], db[128];
	struct run ru;
	int64_t id = 0;
	PGconn *pg;
	PGresult *res;
	const char *params[1];
	char idtext[32];

	fresh_db(dsn, sizeof(dsn), db, sizeof(db));
	run_build(&ru, "app.log");
	cr_assert_eq(store(dsn, &ru, "host'; DROP SCHEMA poolscope; --", &id), 0);
	cr_assert_gt(id, 0);
	pg = connect_or_die(dsn);
	cr_assert_eq(query_i64(pg, "SELECT count(*) FROM poolscope.audit_run"), 1);
	cr_assert_eq(query_i64(pg, "SELECT max(version) FROM poolscope.schema_version"),
		     AUDIT_STORE_SCHEMA_VERSION);
	cr_assert_eq(query_i64(pg, "SELECT timeouts FROM poolscope.audit_run"), 2);
	cr_assert_eq(query_i64(pg, "SELECT pg_too_many_clients FROM poolscope.audit_run"), 1);
	cr_assert_eq(query_i64(pg, "SELECT hold_count FROM poolscope.audit_run"), 4);
	cr_assert_eq(query_i64(pg, "SELECT lines FROM poolscope.audit_run"), 40);
	cr_assert_eq(query_i64(pg, "SELECT count(*) FROM poolscope.audit_input"), 1);
	cr_assert_eq(query_i64(pg, "SELECT sum(timeouts) FROM poolscope.audit_minute"), 2);
	cr_assert_eq(query_i64(pg, "SELECT count(*) FROM poolscope.audit_minute WHERE"
				   " minute = '2025-10-20T14:01:00Z' AND timeouts = 2"), 1);
	cr_assert_eq(query_i64(pg, "SELECT sum(holds) FROM poolscope.audit_hold_hist"), 4);
	cr_assert_eq(query_i64(pg, "SELECT count(*) FROM poolscope.audit_finding"),
		     (int64_t)ru.r.nr);
	cr_assert_eq(query_i64(pg, "SELECT count(DISTINCT host) FROM poolscope.audit_evidence"), 1);

	/* hostile text: stored as data, read back unchanged */
	snprintf(idtext, sizeof(idtext), "%lld", (long long)id);
	params[0] = idtext;
	res = PQexecParams(pg,
			   "SELECT f.message, e.path, e.line, e.excerpt, f.host FROM"
			   " poolscope.audit_finding f JOIN poolscope.audit_evidence e"
			   " ON e.run_id = f.run_id AND e.finding_seq = f.seq"
			   " WHERE f.run_id = $1 AND f.code = 'hostile'",
			   1, NULL, params, NULL, NULL, 1 /* binary: bytea as raw bytes */);
	cr_assert_eq(PQresultStatus(res), PGRES_TUPLES_OK, "%s", PQerrorMessage(pg));
	cr_assert_eq(PQntuples(res), 1);
	cr_assert_eq((size_t)PQgetlength(res, 0, 0), strlen(hostile_msg));
	cr_assert_eq(memcmp(PQgetvalue(res, 0, 0), hostile_msg, strlen(hostile_msg)), 0);
	cr_assert_str_eq(PQgetvalue(res, 0, 1), "we\tird\npath'); --.log");
	cr_assert_eq((size_t)PQgetlength(res, 0, 3), sizeof(hostile_line) - 1, "excerpt length");
	cr_assert_eq(memcmp(PQgetvalue(res, 0, 3), hostile_line, sizeof(hostile_line) - 1), 0,
		     "excerpt bytes (NUL included)");
	cr_assert_str_eq(PQgetvalue(res, 0, 4), "host'; DROP SCHEMA poolscope; --");
	PQclear(res);
	/* every table is still there */
	cr_assert_eq(query_i64(pg, "SELECT count(*) FROM pg_tables WHERE schemaname = 'poolscope'"), 7);

	/* a second run lands beside the first; the schema is not created twice */
	cr_assert_eq(store(dsn, &ru, "hostB", &id), 0);
	cr_assert_eq(query_i64(pg, "SELECT count(*) FROM poolscope.audit_run"), 2);
	cr_assert_eq(query_i64(pg, "SELECT count(*) FROM poolscope.schema_version"), 1);

	/* and the trend reads them per day */
	{
		struct audit_trend t;
		audit_trend_init(&t);
		cr_assert_eq(audit_store_trend(dsn, NULL, 30, &t), 0);
		cr_assert_eq(t.nr, 1);
		cr_assert_eq(t.v[0].runs, 2);
		cr_assert_eq(t.v[0].hosts, 2);
		cr_assert_eq(t.v[0].timeouts, 4);
		cr_assert_eq(t.v[0].holds, 8);
		cr_assert_eq(t.v[0].lines, 80);
		cr_assert_eq(t.v[0].findings_critical, 4, "2 runs x (timeouts + refusal)");
		audit_trend_release(&t);
		audit_trend_init(&t);
		cr_assert_eq(audit_store_trend(dsn, "hostB", 30, &t), 0);
		cr_assert_eq(t.v[0].runs, 1);
		audit_trend_release(&t);
	}
	PQfinish(pg);
	run_release(&ru);
	drop_db(db);
}

Test(audit_store, two_hosts_storing_at_once_on_an_empty_database)
{
	char dsn[1024], db[128];
	pid_t kids[4];
	PGconn *pg;
	int rounds = 3;

	fresh_db(dsn, sizeof(dsn), db, sizeof(db));
	/* several rounds: the first creates the schema while others race it */
	for (int round = 0; round < rounds; round++) {
		for (int k = 0; k < 4; k++) {
			kids[k] = fork();
			cr_assert_neq(kids[k], -1);
			if (kids[k] == 0) {
				struct run ru;
				char host[32];
				int64_t id;
				snprintf(host, sizeof(host), "host-%d", k);
				run_build(&ru, "app.log");
				_exit(store(dsn, &ru, host, &id) == 0 ? 0 : 1);
			}
		}
		for (int k = 0; k < 4; k++) {
			int st;
			cr_assert_eq(waitpid(kids[k], &st, 0), kids[k]);
			cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "audit %d of round %d failed", k,
				  round);
		}
	}
	pg = connect_or_die(dsn);
	cr_assert_eq(query_i64(pg, "SELECT count(*) FROM poolscope.audit_run"), 4 * rounds);
	cr_assert_eq(query_i64(pg, "SELECT count(DISTINCT host) FROM poolscope.audit_run"), 4);
	cr_assert_eq(query_i64(pg, "SELECT count(DISTINCT host) FROM poolscope.audit_minute"), 4);
	cr_assert_eq(query_i64(pg, "SELECT count(*) FROM poolscope.schema_version"), 1);
	/* each run's rows are whole: as many minute rows per run */
	cr_assert_eq(query_i64(pg, "SELECT count(DISTINCT n) FROM (SELECT count(*) AS n FROM"
				   " poolscope.audit_minute GROUP BY run_id) x"), 1);
	PQfinish(pg);
	drop_db(db);
}

Test(audit_store, unreachable_database_is_one_error_line)
{
	struct run ru;
	int64_t id = 0;
	struct strbuf err = STRBUF_INIT;
	char *errpath = test_write_temp("", 0, ".err");
	int saved, fd;
	const char *nl;

	run_build(&ru, "app.log");
	fflush(stderr);
	saved = dup(2);
	fd = open(errpath, O_WRONLY | O_TRUNC);
	dup2(fd, 2);
	close(fd);
	/* port 1 on loopback: refused at once */
	cr_assert_eq(store("host=127.0.0.1 port=1 dbname=nothing connect_timeout=3", &ru, "h", &id), -1);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	test_read_file(errpath, &err);
	cr_assert(!strncmp(err.buf, "error: cannot connect to PostgreSQL: ", 37), "%s", err.buf);
	nl = strchr(err.buf, '\n');
	cr_assert(nl && nl[1] == '\0', "one line: '%s'", err.buf);
	unlink(errpath);
	free(errpath);
	strbuf_release(&err);
	run_release(&ru);
}

/* Run the poolscope binary with argv (no shell); returns its exit code. */
static int run_bin(char *const argv[])
{
	pid_t pid = fork();
	int st;
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		int devnull = open("/dev/null", O_WRONLY);
		dup2(devnull, 1);
		execv(argv[0], argv);
		_exit(127);
	}
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/*
 * End to end: a log of hostile lines the parsers cannot read becomes an
 * unparsed_lines finding whose evidence is stored through `poolscope audit
 * --store` and comes back from the database byte for byte, NUL included;
 * the host tag is SQL-looking text too.  The state file moves only once
 * the store succeeded.
 */
Test(audit_store, cli_stores_hostile_log_lines_byte_for_byte)
{
	static const char *const lines[] = {
		"'); DROP TABLE poolscope.audit_evidence; --",
		"back\\slash \\N \\. and\ttabs\tand 'quotes' \"dq\"",
		"carriage\rreturn",
		"nul\0byte in the middle",
		"\xff\xfe not utf-8 \xc3\x28",
	};
	static const size_t lens[] = { 0, 0, 0, 22, 0 };
	char dsn[1024], db[128], dir[] = "/tmp/poolscope-cli-store-XXXXXX", log[600], state[600];
	const char *bin = test_bin();
	struct strbuf text = STRBUF_INIT;
	PGconn *pg;
	PGresult *res;
	FILE *f;

	if (!bin)
		cr_skip_test("POOLSCOPE_BIN not set");
	fresh_db(dsn, sizeof(dsn), db, sizeof(db));
	cr_assert_not_null(mkdtemp(dir));
	snprintf(log, sizeof(log), "%s/app.log", dir);
	snprintf(state, sizeof(state), "%s/audit.state", dir);
	for (int rep = 0; rep < 5; rep++)
		for (size_t i = 0; i < 5; i++) {
			size_t n = lens[i] ? lens[i] : strlen(lines[i]);
			strbuf_add(&text, lines[i], n);
			strbuf_addch(&text, '\n');
		}
	f = fopen(log, "wb");
	cr_assert_not_null(f);
	cr_assert_eq(fwrite(text.buf, 1, text.len, f), text.len);
	fclose(f);
	{
		/* a database that is gone first: exit 2 and no state file */
		char *argv[] = { (char *)bin, (char *)"audit", (char *)"--state", state,
				 (char *)"--store", (char *)"host=127.0.0.1 port=1 dbname=x connect_timeout=3",
				 log, NULL };
		struct stat st;
		cr_assert_eq(run_bin(argv), 2);
		cr_assert_eq(stat(state, &st), -1, "state written although the store failed");
	}
	{
		char *argv[] = { (char *)bin, (char *)"audit", (char *)"--state", state, (char *)"--store",
				 dsn, (char *)"--host-tag", (char *)"x'); DROP SCHEMA poolscope; --", log,
				 NULL };
		cr_assert_eq(run_bin(argv), 1, "25 unparsed lines of 25: a warning");
	}
	pg = connect_or_die(dsn);
	res = PQexecParams(pg,
			   "SELECT e.line, e.excerpt, e.host, e.path FROM poolscope.audit_evidence e"
			   " JOIN poolscope.audit_finding f ON f.run_id = e.run_id AND f.seq = e.finding_seq"
			   " WHERE f.code = 'unparsed_lines' ORDER BY e.seq",
			   0, NULL, NULL, NULL, NULL, 1);
	cr_assert_eq(PQresultStatus(res), PGRES_TUPLES_OK, "%s", PQerrorMessage(pg));
	cr_assert_eq(PQntuples(res), 5, "the first five lines are the evidence");
	for (int r = 0; r < 5; r++) {
		size_t n = lens[r] ? lens[r] : strlen(lines[r]);
		const char *got = PQgetvalue(res, r, 1);
		cr_assert_eq((size_t)PQgetlength(res, r, 1), n, "line %d length", r + 1);
		cr_assert_eq(memcmp(got, lines[r], n), 0, "line %d bytes", r + 1);
		cr_assert_str_eq(PQgetvalue(res, r, 2), "x'); DROP SCHEMA poolscope; --");
		cr_assert_str_eq(PQgetvalue(res, r, 3), log);
	}
	PQclear(res);
	cr_assert_eq(query_i64(pg, "SELECT count(*) FROM pg_tables WHERE schemaname = 'poolscope'"), 7);
	cr_assert_eq(query_i64(pg, "SELECT lines FROM poolscope.audit_run"), 25);
	PQfinish(pg);
	{
		/* the state moved: a second run reads nothing */
		char *argv[] = { (char *)bin, (char *)"audit", (char *)"--state", state, (char *)"--store",
				 dsn, log, NULL };
		cr_assert_eq(run_bin(argv), 0);
		pg = connect_or_die(dsn);
		cr_assert_eq(query_i64(pg, "SELECT lines FROM poolscope.audit_run ORDER BY run_id DESC LIMIT 1"), 0);
		PQfinish(pg);
	}
	snprintf(log, sizeof(log), "rm -rf '%s'", dir);
	cr_assert_eq(system(log), 0);
	strbuf_release(&text);
	drop_db(db);
}
