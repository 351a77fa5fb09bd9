#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "replay/live_pq.h"
#include "replay/live_timer.h"
#include "tests/testutil.h"

/* ---- without a server -------------------------------------------------- */

Test(live_timer, pops_in_time_order_and_cancels)
{
	enum { N = 2000 };
	static struct live_timer t[N];
	struct live_timer_heap h;
	struct live_timer *x;
	mono_usec last = -1;
	size_t popped = 0, expect = 0;
	unsigned seed = 12345;

	live_timer_heap_init(&h);
	for (size_t i = 0; i < N; i++) {
		seed = seed * 1103515245u + 12345u;
		live_timer_init(&t[i], 1, NULL);
		live_timer_arm(&h, &t[i], (mono_usec)(seed % 1000));
	}
	/* cancel every third, re-arm every fifth later */
	for (size_t i = 0; i < N; i += 3)
		live_timer_cancel(&h, &t[i]);
	for (size_t i = 1; i < N; i += 5)
		live_timer_arm(&h, &t[i], 5000 + (mono_usec)i);
	for (size_t i = 0; i < N; i++)
		expect += live_timer_armed(&t[i]) ? 1 : 0;
	cr_assert_eq(h.nr, expect);
	while ((x = live_timer_pop_due(&h, 1000000))) {
		cr_assert_geq(x->due, last);
		cr_assert_eq(x->slot, LIVE_TIMER_IDLE);
		last = x->due;
		popped++;
	}
	cr_assert_eq(popped, expect);
	cr_assert_eq(h.nr, 0);
	live_timer_heap_release(&h);
}

Test(live_timer, equal_times_fire_in_arming_order)
{
	struct live_timer t[4];
	struct live_timer_heap h;
	live_timer_heap_init(&h);
	for (int i = 0; i < 4; i++) {
		live_timer_init(&t[i], i, NULL);
		live_timer_arm(&h, &t[i], 10);
	}
	for (int i = 0; i < 4; i++)
		cr_assert_eq(live_timer_pop_due(&h, 10)->kind, i);
	cr_assert_null(live_timer_pop_due(&h, 10));
	live_timer_heap_release(&h);
}

Test(live_pq, sqlstate_from_verbose_libpq_messages)
{
	static const struct {
		const char *msg, *code;
	} cases[] = {
		{ "connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  53300: sorry, "
		  "too many clients already\nLOCATION:  InitProcess, proc.c:362\n", "53300" },
		{ "FATAL:  57P01: terminating connection due to administrator command\n", "57P01" },
		{ "connection to server at \"127.0.0.1\", port 1 failed: Connection refused\n"
		  "\tIs the server running on that host and accepting TCP/IP connections?\n", "" },
		{ "FATAL:  password authentication failed for user \"x\"\n", "" },
		{ "ERROR:  22012: division by zero", "22012" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char out[6];
		live_sqlstate_from_message(cases[i].msg, out);
		cr_assert_str_eq(out, cases[i].code, "case %zu: got '%s'", i, out);
	}
}

Test(live_pq, dsn_password_is_masked)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		{ "postgresql://app:s3cr%40t@db.example:5432/prod?sslmode=require",
		  "postgresql://app:****@db.example:5432/prod?sslmode=require" },
		{ "host=db user=app password=hunter2 dbname=prod",
		  "host=db user=app password=**** dbname=prod" },
		{ "host=db password = 'two words\\' here' dbname=x",
		  "host=db password = **** dbname=x" },
		{ "postgresql://db/prod?user=app&password=pw&sslmode=disable",
		  "postgresql://db/prod?user=app&password=****&sslmode=disable" },
		{ "host=db user=app dbname=prod", "host=db user=app dbname=prod" },
		{ "postgresql://app@db/prod", "postgresql://app@db/prod" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *m = live_dsn_mask(cases[i].in);
		cr_assert_str_eq(m, cases[i].want, "case %zu", i);
		free(m);
	}
}

Test(live_pq, dsn_forms_and_where)
{
	struct live_dsn d;
	bool has_app = false, has_pw = false;
	cr_assert_eq(live_dsn_init(&d, "postgresql+psycopg2://app:pw@db.example:6543/prod",
				   "poolscope-replay"), 0);
	cr_assert_str_eq(d.where, "app@db.example:6543/prod");
	for (size_t i = 0; d.keys[i]; i++) {
		if (!strcmp(d.keys[i], "application_name"))
			has_app = !strcmp(d.vals[i], "poolscope-replay");
		if (!strcmp(d.keys[i], "password"))
			has_pw = !strcmp(d.vals[i], "pw");
	}
	cr_assert(has_app);
	cr_assert(has_pw);
	live_dsn_release(&d);

	cr_assert_eq(live_dsn_init(&d, "host=h port=1 user=u dbname=x application_name=other",
				   "poolscope-replay"), 0);
	cr_assert_str_eq(d.where, "u@h:1/x");
	for (size_t i = 0; d.keys[i]; i++)
		if (!strcmp(d.keys[i], "application_name"))
			cr_assert_str_eq(d.vals[i], "poolscope-replay");
	live_dsn_release(&d);

	cr_assert_eq(live_dsn_init(&d, "mydb", NULL), 0);
	cr_assert(strstr(d.where, "/mydb") != NULL);
	live_dsn_release(&d);
}

Test(live_pq, dsn_parse_error_hides_password, .init = cr_redirect_stderr)
{
	struct live_dsn d;
	cr_assert_eq(live_dsn_init(&d, "postgresql://app:p%zzsecret@db/prod", NULL), -1);
	fflush(stderr);
	{
		FILE *f = cr_get_redirected_stderr();
		char buf[1024];
		size_t n = fread(buf, 1, sizeof(buf) - 1, f);
		buf[n] = '\0';
		cr_assert(strstr(buf, "error: cannot parse") != NULL, "%s", buf);
		cr_assert(strstr(buf, "secret") == NULL, "password shown: %s", buf);
	}
}


/* ---- the engine against the shared test server ---------------------------- */

static const char *test_dsn(void)
{
	const char *dsn = getenv("POOLSCOPE_TEST_DSN");
	if (dsn && *dsn)
		return dsn;
	if (getenv("CI") && !strcmp(getenv("CI"), "true"))
		cr_assert_fail("POOLSCOPE_TEST_DSN is not set and CI=true: PostgreSQL tests must run");
	cr_skip_test("POOLSCOPE_TEST_DSN not set (scripts/test.sh starts a server)");
	return NULL;
}

/* Each connection: connect, one read-only transaction, close. */
struct walk {
	struct live_conn c;
	int step;
	int64_t value;
	bool failed;
	char sqlstate[6];
};

static int walks_done;

static void walk_done(struct live_loop *l, struct live_conn *c, int ok)
{
	struct walk *w = c->owner;
	if (!ok) {
		w->failed = true;
		memcpy(w->sqlstate, c->sqlstate, 6);
		live_conn_close(l, c);
		walks_done++;
		return;
	}
	switch (w->step++) {
	case 0:
		cr_assert_eq(live_conn_send(l, c, "BEGIN READ ONLY; SELECT 41 + 1"), 0);
		return;
	case 1:
		w->value = c->value;
		cr_assert_eq(live_conn_txn(c), PQTRANS_INTRANS);
		cr_assert_eq(live_conn_send(l, c, "ROLLBACK"), 0);
		return;
	default:
		cr_assert_eq(live_conn_txn(c), PQTRANS_IDLE);
		live_conn_close(l, c);
		walks_done++;
		return;
	}
}

static void no_timer(struct live_loop *l, struct live_timer *t)
{
	(void)l;
	(void)t;
	cr_assert_fail("no timer was armed");
}

static void dsn_arrays(struct live_dsn *d)
{
	cr_assert_eq(live_dsn_init(d, test_dsn(), "poolscope-test"), 0);
}

/* Forty connections opened at once by one thread, each running a
 * read-only transaction: the loop multiplexes them all. */
Test(live_loop, forty_connections_at_once)
{
	enum { N = 40 };
	static struct walk w[N];
	struct live_loop l;
	struct live_dsn d;
	dsn_arrays(&d);
	cr_assert_eq(live_loop_init(&l, false), 0);
	l.on_timer = no_timer;
	walks_done = 0;
	for (int i = 0; i < N; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		live_conn_init(&w[i].c, walk_done, &w[i]);
		cr_assert_eq(live_conn_start(&l, &w[i].c, d.keys, d.vals), 0);
	}
	cr_assert_eq(l.open_conns, N);
	while (walks_done < N)
		cr_assert_eq(live_loop_once(&l, mono_now() + 10 * USEC_PER_SEC), 0);
	for (int i = 0; i < N; i++) {
		cr_assert_not(w[i].failed, "connection %d failed: %s", i, w[i].sqlstate);
		cr_assert_eq(w[i].value, 42);
	}
	cr_assert_eq(l.open_conns, 0);
	live_loop_release(&l);
	live_dsn_release(&d);
}

static void record_done(struct live_loop *l, struct live_conn *c, int ok)
{
	int *res = c->owner;
	(void)l;
	*res = ok ? 1 : 0;
}

static void run_until_set(struct live_loop *l, int *flag)
{
	mono_usec give_up = mono_now() + 10 * USEC_PER_SEC;
	while (*flag < 0 && mono_now() < give_up)
		cr_assert_eq(live_loop_once(l, give_up), 0);
	cr_assert_geq(*flag, 0, "no answer within 10 s");
}

/* A statement error is reported with its SQLSTATE and the connection stays
 * usable; a backend terminated under an idle connection is reported as
 * broken with the server's reason (57P01), which is how the live replay
 * notices a restart. */
Test(live_loop, statement_error_and_dropped_connection)
{
	struct live_loop l;
	struct live_dsn d;
	struct live_conn victim, killer;
	int vflag, kflag;
	char sql[128];
	dsn_arrays(&d);
	cr_assert_eq(live_loop_init(&l, false), 0);
	l.on_timer = no_timer;
	live_conn_init(&victim, record_done, &vflag);
	live_conn_init(&killer, record_done, &kflag);
	vflag = kflag = -1;
	cr_assert_eq(live_conn_start(&l, &victim, d.keys, d.vals), 0);
	run_until_set(&l, &vflag);
	cr_assert_eq(vflag, 1, "%s", victim.errmsg);
	cr_assert_eq(live_conn_start(&l, &killer, d.keys, d.vals), 0);
	run_until_set(&l, &kflag);
	cr_assert_eq(kflag, 1, "%s", killer.errmsg);

	vflag = kflag = -1;
	cr_assert_eq(live_conn_send(&l, &victim, "SELECT 1 / 0"), 0);
	run_until_set(&l, &vflag);
	cr_assert_eq(vflag, 0);
	cr_assert_str_eq(victim.sqlstate, "22012");
	cr_assert(strstr(victim.errmsg, "division by zero") != NULL, "%s", victim.errmsg);
	cr_assert_eq(victim.state, LIVE_CONN_READY);

	snprintf(sql, sizeof(sql), "SELECT pg_terminate_backend(%d)::int", PQbackendPID(victim.pg));
	vflag = kflag = -1;
	cr_assert_eq(live_conn_send(&l, &killer, sql), 0);
	run_until_set(&l, &kflag);
	cr_assert_eq(kflag, 1, "%s", killer.errmsg);
	cr_assert_eq(killer.value, 1);
	run_until_set(&l, &vflag);
	cr_assert_eq(vflag, 0);
	cr_assert_eq(victim.state, LIVE_CONN_BROKEN);
	cr_assert_str_eq(victim.sqlstate, "57P01", "msg [%s] raw [%s]", victim.errmsg, PQerrorMessage(victim.pg));
	cr_assert(strstr(victim.errmsg, "terminating connection") != NULL, "%s", victim.errmsg);
	live_conn_close(&l, &victim);
	live_conn_close(&l, &killer);
	cr_assert_eq(l.open_conns, 0);
	live_loop_release(&l);
	live_dsn_release(&d);
}

/* A refused connect carries its SQLSTATE even though libpq gives no PGresult
 * for it: here a database that does not exist (3D000). */
Test(live_loop, refused_connect_has_sqlstate)
{
	struct live_loop l;
	struct live_dsn d;
	struct live_conn c;
	const char *keys[32], *vals[32];
	int flag;
	size_t n = 0;
	dsn_arrays(&d);
	for (size_t i = 0; d.keys[i] && n < 30; i++)
		if (strcmp(d.keys[i], "dbname")) {
			keys[n] = d.keys[i];
			vals[n++] = d.vals[i];
		}
	keys[n] = "dbname";
	vals[n++] = "poolscope_no_such_db";
	keys[n] = vals[n] = NULL;
	cr_assert_eq(live_loop_init(&l, false), 0);
	l.on_timer = no_timer;
	live_conn_init(&c, record_done, &flag);
	flag = -1;
	cr_assert_eq(live_conn_start(&l, &c, keys, vals), 0);
	run_until_set(&l, &flag);
	cr_assert_eq(flag, 0);
	cr_assert_eq(c.state, LIVE_CONN_BROKEN);
	cr_assert_str_eq(c.sqlstate, "3D000");
	cr_assert(strstr(c.errmsg, "poolscope_no_such_db") != NULL, "%s", c.errmsg);
	cr_assert(strstr(c.errmsg, "3D000") == NULL, "code left in the message: %s", c.errmsg);
	live_conn_close(&l, &c);
	live_loop_release(&l);
	live_dsn_release(&d);
}
