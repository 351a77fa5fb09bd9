/*
 * pg-csv and pg-json on real records (../shared/reference/samples/), the
 * older csvlog column sets, records spanning lines, broken records, and the
 * session-peak reconstruction.
 */
#include "tests/pgtest.h"
#include "core/strbuf.h"
#include "parsers/pgsessions.h"

/* real: PG 15, 26 columns */
#define CSV_TOO_MANY \
	"2026-11-26 14:46:43.729 UTC,\"postgres\",\"pgbench\",7618,\"127.0.0.1:47068\",6b084653.1dc2,2,\"initializing\",2026-11-26 14:46:43 UTC,,0,FATAL,53300,\"sorry, too many clients already\",,,,,,,,,\"\",\"client backend\",,0"
#define CSV_NOSUCHDB \
	"2026-11-26 14:46:40.063 UTC,\"app\",\"nosuchdb\",7329,\"127.0.0.1:46090\",6b084650.1ca1,3,\"startup\",2026-11-26 14:46:40 UTC,3/44,0,FATAL,3D000,\"database \"\"nosuchdb\"\" does not exist\",,,,,,,,,\"\",\"client backend\",,0"
#define CSV_MULTILINE \
	"2026-11-26 14:46:40.097 UTC,\"app\",\"pgbench\",7333,\"127.0.0.1:46106\",6b084650.1ca5,3,\"SELECT\",2026-11-26 14:46:40 UTC,3/0,0,LOG,00000,\"duration: 1.098 ms  statement: SELECT aid, abalance\n" \
	"  FROM pgbench_accounts\n" \
	" WHERE aid = 7\",,,,,,,,,\"psql\",\"client backend\",,0"
#define CSV_DEADLOCK \
	"2026-11-26 14:46:33.300 UTC,\"postgres\",\"pgbench\",7209,\"127.0.0.1:54840\",6b084648.1c29,4,\"UPDATE\",2026-11-26 14:46:32 UTC,3/35,740,ERROR,40P01,\"deadlock detected\",\"Process 7209 waits for ShareLock on transaction 741; blocked by process 7210.\n" \
	"Process 7210 waits for ShareLock on transaction 740; blocked by process 7209.\n" \
	"Process 7209: BEGIN; UPDATE pgbench_branches SET bbalance=bbalance WHERE bid=1; SELECT pg_sleep(0.5); UPDATE pgbench_branches SET bbalance=bbalance WHERE bid=2; COMMIT;\n" \
	"Process 7210: BEGIN; UPDATE pgbench_branches SET bbalance=bbalance WHERE bid=2; SELECT pg_sleep(0.5); UPDATE pgbench_branches SET bbalance=bbalance WHERE bid=1; COMMIT;\",\"See server log for query details.\",,,\"while updating tuple (0,2) in relation \"\"pgbench_branches\"\"\",\"BEGIN; UPDATE pgbench_branches SET bbalance=bbalance WHERE bid=1; SELECT pg_sleep(0.5); UPDATE pgbench_branches SET bbalance=bbalance WHERE bid=2; COMMIT;\",,,\"psql\",\"client backend\",,0"
#define CSV_LISTENING \
	"2026-11-26 14:46:07.577 UTC,,,6115,,6b08462f.17e3,2,,2026-11-26 14:46:07 UTC,,0,LOG,00000,\"listening on IPv4 address \"\"127.0.0.1\"\", port 55433\",,,,,,,,,\"\",\"postmaster\",,0"

Test(pg_csv, real_records_spanning_lines)
{
	struct timeline tl;
	pgt_parse_text(CSV_MULTILINE "\n" CSV_LISTENING "\n" CSV_DEADLOCK "\n" CSV_NOSUCHDB "\n" CSV_TOO_MANY "\n",
		       ".csv", NULL, NULL, &tl);
	cr_expect_str_eq(tl.src[0].format, "pg-csv");
	cr_expect_eq(tl.src[0].lines, 10);
	cr_expect_eq(tl.src[0].records, 5);
	cr_expect_eq(tl.src[0].unparsed, 0);
	cr_assert_eq(tl.nr, 4);
	cr_expect_eq(tl.ev[0].kind, EVENT_PG_ERROR);
	cr_expect_str_eq(tl.ev[0].text, "deadlock detected");
	cr_expect_eq(tl.ev[0].line, 5);
	cr_expect_eq(tl.ev[1].kind, EVENT_PG_ERROR);
	cr_expect_str_eq(tl.ev[1].text, "database \"nosuchdb\" does not exist");
	cr_expect_eq(tl.ev[1].u.pg.sqlstate, event_sqlstate_pack("3D000"));
	cr_expect_eq(tl.ev[2].kind, EVENT_PG_SLOW_STATEMENT);
	cr_expect_str_eq(tl.ev[2].text, "SELECT aid, abalance FROM pgbench_accounts WHERE aid = 7");
	cr_expect_str_eq(tl.ev[2].text2, "app");
	cr_expect_eq(tl.ev[2].dur, 1098);
	cr_expect_eq(tl.ev[2].line, 1);
	cr_expect_eq(tl.ev[3].kind, EVENT_PG_TOO_MANY_CLIENTS);
	cr_expect_eq(tl.ev[3].pid, 7618);
	timeline_release(&tl);
}

/*
 * Older column sets are prefixes of PG 15's: PG 14 has 26 columns, PG 13
 * 24 (no leader_pid, query_id), PG 9.0-12 23 (no backend_type), 8.3-8.4 22
 * (no application_name).  The same record cut to each width.
 */
static char *cut_columns(const char *rec, int keep)
{
	int commas = 0;
	bool quoted = false;
	for (size_t i = 0; rec[i]; i++) {
		if (rec[i] == '"')
			quoted = !quoted;
		if (rec[i] == ',' && !quoted && ++commas == keep)
			return strndup(rec, i);
	}
	return strdup(rec);
}

Test(pg_csv, column_sets_of_older_releases)
{
	static const int widths[] = { 26, 25, 24, 23, 22 };
	for (size_t i = 0; i < sizeof(widths) / sizeof(widths[0]); i++) {
		struct timeline tl;
		char *a = cut_columns(CSV_TOO_MANY, widths[i]);
		char *b = cut_columns(CSV_NOSUCHDB, widths[i]);
		struct strbuf sb = STRBUF_INIT;
		strbuf_addf(&sb, "%s\n%s\n", b, a);
		pgt_parse_text(sb.buf, ".csv", NULL, NULL, &tl);
		cr_expect_str_eq(pgt_str(tl.src[0].format), "pg-csv", "%d columns", widths[i]);
		cr_expect_eq(tl.src[0].unparsed, 0, "%d columns", widths[i]);
		cr_assert_eq(tl.nr, 2, "%d columns: %zu events", widths[i], tl.nr);
		cr_expect_eq(tl.ev[1].kind, EVENT_PG_TOO_MANY_CLIENTS);
		cr_expect_str_eq(tl.ev[1].text2, "postgres");
		cr_expect_eq(tl.ev[1].u.pg.sqlstate, event_sqlstate_pack("53300"));
		free(a);
		free(b);
		strbuf_release(&sb);
		timeline_release(&tl);
	}
}

Test(pg_csv, broken_records)
{
	struct timeline tl;
	char *short_rec = cut_columns(CSV_TOO_MANY, 21);
	struct strbuf sb = STRBUF_INIT;
	/* too few columns, a bad severity, a bad time, then a record cut inside its quotes */
	strbuf_addf(&sb, "%s\n", short_rec);
	strbuf_addstr(&sb, CSV_LISTENING "\n");
	strbuf_addstr(&sb, "2026-11-26 14:46:43.729 UTC,\"postgres\",\"pgbench\",7618,\"127.0.0.1:47068\",6b084653.1dc2,2,\"initializing\",2026-11-26 14:46:43 UTC,,0,SEVERE,53300,\"x\",,,,,,,,,\"\",\"client backend\",,0\n");
	strbuf_addstr(&sb, "2026-11-26 99:46:43.729 UTC,\"postgres\",\"pgbench\",7618,\"127.0.0.1:47068\",6b084653.1dc2,2,\"initializing\",2026-11-26 14:46:43 UTC,,0,FATAL,53300,\"x\",,,,,,,,,\"\",\"client backend\",,0\n");
	strbuf_addstr(&sb, CSV_TOO_MANY "\n");
	strbuf_addstr(&sb, "2026-11-26 14:46:40.097 UTC,\"app\",\"pgbench\",7333,\"127.0.0.1:46106\",6b084650.1ca5,3,\"SELECT\",2026-11-26 14:46:40 UTC,3/0,0,LOG,00000,\"duration: 1.098 ms  statement: SELECT aid, abalance\n  FROM pgbench_acc");
	pgt_parse_text(sb.buf, ".csv", "pg-csv", NULL, &tl);
	cr_expect_eq(tl.nr, 1);
	cr_expect_eq(tl.src[0].by_reason[UNPARSED_UNKNOWN_LAYOUT], 1);
	cr_expect_eq(tl.src[0].by_reason[UNPARSED_BAD_FIELD], 1);
	cr_expect_eq(tl.src[0].by_reason[UNPARSED_NO_TIMESTAMP], 1);
	cr_expect_eq(tl.src[0].by_reason[UNPARSED_TRUNCATED], 2); /* one record, two lines */
	free(short_rec);
	strbuf_release(&sb);
	timeline_release(&tl);
}

/* The first record of a file spanning lines (its parity is inferred). */
Test(pg_csv, first_record_spans_lines)
{
	struct timeline tl;
	pgt_parse_text(CSV_DEADLOCK "\n" CSV_TOO_MANY "\n", ".csv", NULL, NULL, &tl);
	cr_expect_eq(tl.src[0].records, 2);
	cr_expect_eq(tl.src[0].unparsed, 0);
	cr_expect_eq(tl.nr, 2);
	timeline_release(&tl);
}

/* ---- jsonlog ---- */

#define JSON_RECEIVED \
	"{\"timestamp\":\"2026-11-26 14:46:40.094 UTC\",\"pid\":7333,\"remote_host\":\"127.0.0.1\",\"remote_port\":46106,\"session_id\":\"6b084650.1ca5\",\"line_num\":1,\"ps\":\"\",\"session_start\":\"2026-11-26 14:46:40 UTC\",\"txid\":0,\"error_severity\":\"LOG\",\"message\":\"connection received: host=127.0.0.1 port=46106\",\"backend_type\":\"not initialized\",\"query_id\":0}"
#define JSON_AUTHORIZED \
	"{\"timestamp\":\"2026-11-26 14:46:40.095 UTC\",\"user\":\"app\",\"dbname\":\"pgbench\",\"pid\":7333,\"remote_host\":\"127.0.0.1\",\"remote_port\":46106,\"session_id\":\"6b084650.1ca5\",\"line_num\":2,\"ps\":\"authentication\",\"session_start\":\"2026-11-26 14:46:40 UTC\",\"vxid\":\"3/47\",\"txid\":0,\"error_severity\":\"LOG\",\"message\":\"connection authorized: user=app database=pgbench application_name=psql\",\"backend_type\":\"client backend\",\"query_id\":0}"
#define JSON_STATEMENT \
	"{\"timestamp\":\"2026-11-26 14:46:40.097 UTC\",\"user\":\"app\",\"dbname\":\"pgbench\",\"pid\":7333,\"remote_host\":\"127.0.0.1\",\"remote_port\":46106,\"session_id\":\"6b084650.1ca5\",\"line_num\":3,\"ps\":\"SELECT\",\"session_start\":\"2026-11-26 14:46:40 UTC\",\"vxid\":\"3/0\",\"txid\":0,\"error_severity\":\"LOG\",\"message\":\"duration: 1.098 ms  statement: SELECT aid, abalance\\n  FROM pgbench_accounts\\n WHERE aid = 7\",\"application_name\":\"psql\",\"backend_type\":\"client backend\",\"query_id\":0}"
#define JSON_DISCONNECT \
	"{\"timestamp\":\"2026-11-26 14:46:40.097 UTC\",\"user\":\"app\",\"dbname\":\"pgbench\",\"pid\":7333,\"remote_host\":\"127.0.0.1\",\"remote_port\":46106,\"session_id\":\"6b084650.1ca5\",\"line_num\":4,\"ps\":\"idle\",\"session_start\":\"2026-11-26 14:46:40 UTC\",\"txid\":0,\"error_severity\":\"LOG\",\"message\":\"disconnection: session time: 0:00:00.003 user=app database=pgbench host=127.0.0.1 port=46106\",\"application_name\":\"psql\",\"backend_type\":\"client backend\",\"query_id\":0}"
/* real, with state_code: the table's SQLSTATE is not needed */
#define JSON_TIMEOUT \
	"{\"timestamp\":\"2026-11-26 14:46:33.418 UTC\",\"user\":\"app\",\"dbname\":\"pgbench\",\"pid\":7235,\"error_severity\":\"ERROR\",\"state_code\":\"57014\",\"message\":\"canceling statement due to statement timeout\",\"statement\":\"SELECT pg_sleep(1)\"}"

Test(pg_json, real_records)
{
	struct timeline tl;
	pgt_parse_text(JSON_RECEIVED "\n" JSON_AUTHORIZED "\n" JSON_STATEMENT "\n" JSON_DISCONNECT "\n" JSON_TIMEOUT "\n",
		       ".json", NULL, NULL, &tl);
	cr_expect_str_eq(tl.src[0].format, "pg-json");
	cr_expect_eq(tl.src[0].unparsed, 0);
	cr_assert_eq(tl.nr, 4);
	cr_expect_eq(tl.ev[0].kind, EVENT_PG_CANCEL);
	cr_expect_str_eq(tl.ev[0].text, "statement timeout");
	cr_expect_eq(tl.ev[0].u.pg.sqlstate, event_sqlstate_pack("57014"));
	cr_expect_eq(tl.ev[1].kind, EVENT_PG_CONNECT);
	cr_expect_str_eq(tl.ev[1].text, "app");
	cr_expect_str_eq(tl.ev[1].text2, "pgbench");
	cr_expect_eq(tl.ev[1].u.pg.sqlstate, 0);
	cr_expect_eq(tl.ev[2].kind, EVENT_PG_SLOW_STATEMENT);
	cr_expect_str_eq(tl.ev[2].text, "SELECT aid, abalance FROM pgbench_accounts WHERE aid = 7");
	cr_expect_eq(tl.ev[3].kind, EVENT_PG_DISCONNECT);
	cr_expect_eq(tl.ev[3].dur, 3000);
	cr_expect_eq(tl.ev[3].pid, 7333);
	timeline_release(&tl);
}

Test(pg_json, broken_records)
{
	struct timeline tl;
	pgt_parse_text(JSON_AUTHORIZED "\n"
		       "{\"timestamp\":\"2026-11-26 14:46:40.095 UTC\",\"error_severity\":\"LOG\"}\n"
		       "{\"timestamp\":\"yesterday\",\"error_severity\":\"LOG\",\"message\":\"x\"}\n"
		       "[1, 2, \"error_severity\": ]\n"
		       "{\"timestamp\":\"2026-11-26 14:46:40.097 UTC\",\"user\":\"app\",\"error_severity\":\"LOG\",\"message\":\"dura",
		       ".json", "pg-json", NULL, &tl);
	cr_expect_eq(tl.nr, 1);
	cr_expect_eq(tl.src[0].by_reason[UNPARSED_BAD_FIELD], 1);
	cr_expect_eq(tl.src[0].by_reason[UNPARSED_NO_TIMESTAMP], 1);
	cr_expect_eq(tl.src[0].by_reason[UNPARSED_UNKNOWN_LAYOUT], 1);
	cr_expect_eq(tl.src[0].by_reason[UNPARSED_TRUNCATED], 1);
	timeline_release(&tl);
}

/* ---- session peak ---- */

static struct event sev(enum event_kind k, uint32_t src, int32_t pid, int64_t ts_ms, int64_t dur_ms,
			const char *text2)
{
	struct event e;
	event_init(&e, k);
	e.src = src;
	e.pid = pid;
	e.ts = ts_ms * 1000;
	e.dur = dur_ms >= 0 ? dur_ms * 1000 : EVENT_NO_DURATION;
	e.text2 = text2;
	return e;
}

Test(pg_sessions, spans_and_peak)
{
	struct event ev[] = {
		/* pid 1 began before the log: only its disconnection, 10 s at t=5 s */
		sev(EVENT_PG_DISCONNECT, 0, 1, 5000, 10000, NULL),
		/* pid 2: 1 s .. 3 s */
		sev(EVENT_PG_CONNECT, 0, 2, 1000, -1, NULL),
		sev(EVENT_PG_DISCONNECT, 0, 2, 3000, 2000, NULL),
		/* pid 3: refused after authorization at 2 s, no disconnection */
		sev(EVENT_PG_CONNECT, 0, 3, 2000, -1, NULL),
		sev(EVENT_PG_TOO_MANY_CLIENTS, 0, 3, 2000, -1, NULL),
		/* pid 4: database does not exist at 2.5 s */
		sev(EVENT_PG_CONNECT, 0, 4, 2500, -1, NULL),
		sev(EVENT_PG_ERROR, 0, 4, 2500, -1, "FATAL"),
		/* pid 5: an ERROR does not end a session; starts as pid 2 ends */
		sev(EVENT_PG_CONNECT, 0, 5, 3000, -1, NULL),
		sev(EVENT_PG_ERROR, 0, 5, 3500, -1, "ERROR"),
		sev(EVENT_PG_DISCONNECT, 0, 5, 4000, 1000, NULL),
		/* pid 2 again (reused), still open at the end (t=9 s) */
		sev(EVENT_PG_CONNECT, 0, 2, 6000, -1, NULL),
		/* the same pid in another input is another session */
		sev(EVENT_PG_CONNECT, 1, 5, 3200, -1, NULL),
		sev(EVENT_PG_DISCONNECT, 1, 5, 9000, 5800, NULL),
	};
	struct pg_session_peak pk;
	pg_session_peak(ev, sizeof(ev) / sizeof(ev[0]), &pk);
	cr_expect_eq(pk.sessions, 7);
	cr_expect_eq(pk.open_at_start, 1);
	cr_expect_eq(pk.ended_by_fatal, 2);
	cr_expect_eq(pk.open_at_end, 1);
	/*
	 * 1-3 s: pids 1 and 2; pids 3 and 4 open and close at once (no overlap);
	 * at 3 s pid 2 ends as pid 5 begins (still 2); at 3.2 s input 1's pid 5
	 * makes 3.
	 */
	cr_expect_eq(pk.peak, 3, "peak %lld", (long long)pk.peak);
	cr_expect_eq(pk.at, 3200 * 1000, "at %lld", (long long)pk.at);
}

Test(pg_sessions, empty)
{
	struct pg_session_peak pk;
	pg_session_peak(NULL, 0, &pk);
	cr_expect_eq(pk.peak, 0);
	cr_expect_eq(pk.at, LOG_USEC_NONE);
}
