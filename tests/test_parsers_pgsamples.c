/*
 * The three real PostgreSQL 15 samples in ../shared/reference/samples/
 * against pgBadger 12.0's figures (quoted in postgresql-and-other-pools.md)
 * and against counts taken independently with grep / Python's csv and json
 * modules:
 *
 *                          stderr   csvlog   jsonlog
 *   connection authorized     120      120       120   (pgBadger: 120 connections)
 *   disconnection             115      115       115   (pgBadger: 115 sessions)
 *   53300 refusals              4        4         4   (2 sorry + 2 reserved slots)
 *   duration ... statement    188      188       188
 *   parse/bind/execute       1628     2425      2430   (csv/json reach 49 ms further;
 *                                                      json holds 5 more records)
 *   session peak              100 at 14:46:43           (pgBadger's "session peak")
 *   connections in a second   100 at 14:46:40           (pgBadger's "connection peak")
 */
#include "tests/pgtest.h"
#include "core/strbuf.h"
#include "parsers/pgsessions.h"
#include "parsers/reader.h"

struct sample {
	const char *file;
	const char *format;
	size_t lines;
	size_t pbe; /* parse/bind/execute durations */
};

static const struct sample samples[] = {
	{ "pg15-stderr-first3000.log", "pg-stderr", 3000, 1628 },
	{ "pg15-csvlog-first3000.csv", "pg-csv", 3000, 2425 },
	{ "pg15-jsonlog-first3000.json", "pg-json", 3000, 2430 },
};

/* Physical lines of a file, for looking at the line an event came from. */
struct file_lines {
	struct strbuf text;
	const char **line; /* line[i] starts physical line i+1 */
	size_t *len;
	size_t n;
};

static void file_lines_read(struct file_lines *fl, const char *path)
{
	size_t alloc = 0;
	strbuf_init(&fl->text, 0);
	cr_assert_eq(test_read_file(path, &fl->text), 0);
	fl->line = NULL;
	fl->len = NULL;
	fl->n = 0;
	for (size_t i = 0; i < fl->text.len;) {
		const char *nl = memchr(fl->text.buf + i, '\n', fl->text.len - i);
		size_t e = nl ? (size_t)(nl - fl->text.buf) : fl->text.len;
		if (fl->n + 1 > alloc) {
			alloc = alloc ? alloc * 2 : 4096;
			fl->line = realloc(fl->line, alloc * sizeof(*fl->line));
			fl->len = realloc(fl->len, alloc * sizeof(*fl->len));
		}
		fl->line[fl->n] = fl->text.buf + i;
		fl->len[fl->n++] = e - i;
		i = e + 1;
	}
}

static void file_lines_release(struct file_lines *fl)
{
	strbuf_release(&fl->text);
	free(fl->line);
	free(fl->len);
}

static bool line_has(const struct file_lines *fl, uint32_t no, const char *needle)
{
	size_t nl = strlen(needle);
	cr_assert(no >= 1 && no <= fl->n, "line %u out of range", no);
	for (size_t i = 0; i + nl <= fl->len[no - 1]; i++)
		if (!memcmp(fl->line[no - 1] + i, needle, nl))
			return true;
	return false;
}

static void check_sample(const struct sample *s)
{
	const char *path = pgt_sample(s->file);
	struct timeline tl;
	struct file_lines fl;
	struct pg_session_peak pk;
	size_t stmt = 0, pbe = 0, sorry = 0, reserved = 0;
	log_usec peak_second = logtime_from_civil(2026, 11, 26, 14, 46, 43, 0);
	log_usec conn_second = logtime_from_civil(2026, 11, 26, 14, 46, 40, 0);
	size_t per_second = 0;

	cr_assert_eq(pgt_parse_file(path, NULL, NULL, &tl), 0);
	cr_assert_str_eq(tl.src[0].format, s->format, "%s detected as %s", s->file,
			 tl.src[0].format);
	cr_assert_eq(tl.src[0].lines, s->lines);
	cr_assert_eq(tl.src[0].unparsed, 0, "%s: %llu lines unparsed", s->file,
		     (unsigned long long)tl.src[0].unparsed);

	cr_expect_eq(pgt_count(&tl, EVENT_PG_CONNECT), 120, "%s: pg_connect %zu", s->file,
		     pgt_count(&tl, EVENT_PG_CONNECT));
	cr_expect_eq(pgt_count(&tl, EVENT_PG_DISCONNECT), 115, "%s: pg_disconnect %zu", s->file,
		     pgt_count(&tl, EVENT_PG_DISCONNECT));
	cr_expect_eq(pgt_count(&tl, EVENT_PG_TOO_MANY_CLIENTS), 4);
	for (size_t i = 0; i < tl.nr; i++) {
		const struct event *e = &tl.ev[i];
		if (e->kind == EVENT_PG_TOO_MANY_CLIENTS) {
			cr_expect_eq(e->u.pg.sqlstate, event_sqlstate_pack("53300"));
			sorry += !strcmp(e->text, "sorry, too many clients already");
			reserved += !strncmp(e->text, "remaining connection slots are reserved", 39);
		}
		if (e->kind == EVENT_PG_CONNECT && e->ts >= conn_second &&
		    e->ts < conn_second + USEC_PER_SEC)
			per_second++;
	}
	cr_expect_eq(sorry, 2);
	cr_expect_eq(reserved, 2);
	cr_expect_eq(per_second, 100, "%s: %zu connections in 14:46:40", s->file, per_second);

	/* slow statements, told apart by the line they came from */
	file_lines_read(&fl, path);
	for (size_t i = 0; i < tl.nr; i++) {
		const struct event *e = &tl.ev[i];
		if (e->kind != EVENT_PG_SLOW_STATEMENT)
			continue;
		cr_assert(e->dur > 0);
		if (line_has(&fl, e->line, " ms  statement: "))
			stmt++;
		else if (line_has(&fl, e->line, " ms  parse ") || line_has(&fl, e->line, " ms  bind ") ||
			 line_has(&fl, e->line, " ms  execute "))
			pbe++;
		else
			cr_assert_fail("%s:%u: slow statement from an unexpected line", s->file, e->line);
	}
	cr_expect_eq(stmt, 188, "%s: %zu statement durations", s->file, stmt);
	cr_expect_eq(pbe, s->pbe, "%s: %zu parse/bind/execute durations", s->file, pbe);
	file_lines_release(&fl);

	pg_session_peak(tl.ev, tl.nr, &pk);
	cr_expect_eq(pk.peak, 100, "%s: session peak %lld", s->file, (long long)pk.peak);
	cr_expect(pk.at >= peak_second && pk.at < peak_second + USEC_PER_SEC,
		  "%s: peak not within 14:46:43", s->file);
	/* 120 authorized: 115 disconnected, 3 ended by a start-up FATAL (nosuchdb, 2
	 * reserved slots), 2 pgbench sessions still open when the sample ends */
	cr_expect_eq(pk.sessions, 120);
	cr_expect_eq(pk.ended_by_fatal, 3);
	cr_expect_eq(pk.open_at_end, 2);
	cr_expect_eq(pk.open_at_start, 0);
	timeline_release(&tl);
}

Test(pg_samples, stderr_matches_pgbadger)
{
	check_sample(&samples[0]);
}

Test(pg_samples, csvlog_matches_pgbadger)
{
	check_sample(&samples[1]);
}

Test(pg_samples, jsonlog_matches_pgbadger)
{
	check_sample(&samples[2]);
}

/* The same server activity gives the same events in every format. */
/* Every event of a (optionally only non-slow ones) is in b, once each. */
static void expect_subset(const struct timeline *a, const struct timeline *b, bool all)
{
	bool *used = calloc(b->nr, sizeof(*used));
	for (size_t i = 0; i < a->nr; i++) {
		const struct event *e = &a->ev[i];
		bool found = false;
		if (!all && e->kind == EVENT_PG_SLOW_STATEMENT)
			continue;
		for (size_t j = 0; j < b->nr; j++) {
			const struct event *f = &b->ev[j];
			if (f->ts > e->ts)
				break;
			if (!used[j] && f->ts == e->ts && !strcmp(pgt_str(e->text), pgt_str(f->text)) &&
			    !strcmp(pgt_str(e->text2), pgt_str(f->text2)) && e->kind == f->kind &&
			    e->pid == f->pid && e->dur == f->dur && e->u.pg.sqlstate == f->u.pg.sqlstate) {
				used[j] = found = true;
				break;
			}
		}
		cr_expect(found, "event of line %u (%s, pid %d, %s) has no twin", e->line,
			  event_kind_name(e->kind), e->pid, pgt_str(e->text));
	}
	free(used);
}

Test(pg_samples, three_formats_agree)
{
	const char *p0 = pgt_sample(samples[0].file);
	struct timeline t[3];
	char *paths[3];
	paths[0] = strdup(p0);
	paths[1] = strdup(pgt_sample(samples[1].file));
	paths[2] = strdup(pgt_sample(samples[2].file));
	for (int i = 0; i < 3; i++)
		cr_assert_eq(pgt_parse_file(paths[i], NULL, NULL, &t[i]), 0);
	/* everything the stderr sample shows is in the csv one, which is in the json one */
	expect_subset(&t[0], &t[1], true);
	expect_subset(&t[1], &t[2], true);
	/* and apart from the last 49 ms of statements, the reverse holds too */
	expect_subset(&t[2], &t[0], false);
	for (int i = 0; i < 3; i++) {
		timeline_release(&t[i]);
		free(paths[i]);
	}
}

/* The lock, cancel and error events of the scenario, field by field. */
Test(pg_samples, scenario_events)
{
	struct timeline tl;
	const struct event *e;
	cr_assert_eq(pgt_parse_file(pgt_sample(samples[0].file), NULL, NULL, &tl), 0);
	cr_assert_eq(pgt_count(&tl, EVENT_PG_LOCK_WAIT), 3);
	e = pgt_nth(&tl, EVENT_PG_LOCK_WAIT, 0);
	cr_expect_eq(e->pid, 7091);
	cr_expect_str_eq(e->text, "ShareLock on transaction 738");
	cr_expect_str_eq(e->text2, "waiting");
	cr_expect_eq(e->dur, 200342);
	e = pgt_nth(&tl, EVENT_PG_LOCK_WAIT, 1);
	cr_expect_str_eq(e->text2, "acquired");
	cr_expect_eq(e->dur, 803035);
	e = pgt_nth(&tl, EVENT_PG_LOCK_WAIT, 2);
	cr_expect_eq(e->pid, 7209);
	cr_expect_str_eq(e->text2, "deadlock");
	cr_expect_str_eq(e->text, "ShareLock on transaction 741");

	cr_assert_eq(pgt_count(&tl, EVENT_PG_CANCEL), 3);
	cr_expect_str_eq(pgt_nth(&tl, EVENT_PG_CANCEL, 0)->text, "statement timeout");
	cr_expect_eq(pgt_nth(&tl, EVENT_PG_CANCEL, 0)->u.pg.sqlstate, event_sqlstate_pack("57014"));
	cr_expect_str_eq(pgt_nth(&tl, EVENT_PG_CANCEL, 1)->text, "lock timeout");
	cr_expect_eq(pgt_nth(&tl, EVENT_PG_CANCEL, 1)->u.pg.sqlstate, event_sqlstate_pack("55P03"));
	cr_expect_str_eq(pgt_nth(&tl, EVENT_PG_CANCEL, 2)->text, "idle-in-transaction timeout");

	cr_assert_eq(pgt_count(&tl, EVENT_PG_ERROR), 3);
	cr_expect_str_eq(pgt_nth(&tl, EVENT_PG_ERROR, 0)->text, "deadlock detected");
	cr_expect_eq(pgt_nth(&tl, EVENT_PG_ERROR, 0)->u.pg.sqlstate, event_sqlstate_pack("40P01"));
	cr_expect_str_eq(pgt_nth(&tl, EVENT_PG_ERROR, 1)->text, "database \"nosuchdb\" does not exist");
	cr_expect_str_eq(pgt_nth(&tl, EVENT_PG_ERROR, 1)->text2, "FATAL");
	cr_expect_str_eq(pgt_nth(&tl, EVENT_PG_ERROR, 2)->text, "syntax error at or near \"SELEC\"");

	/* the first session: psql as postgres, 94 ms */
	e = pgt_nth(&tl, EVENT_PG_DISCONNECT, 0);
	cr_expect_eq(e->pid, 6589);
	cr_expect_eq(e->dur, 94000);
	cr_expect_str_eq(e->text, "postgres");
	cr_expect_str_eq(e->text2, "postgres");
	/* the multi-line statement is glued and flattened */
	for (size_t i = 0; i < tl.nr; i++)
		if (tl.ev[i].kind == EVENT_PG_SLOW_STATEMENT && tl.ev[i].pid == 7333)
			cr_expect_str_eq(tl.ev[i].text, "SELECT aid, abalance FROM pgbench_accounts WHERE aid = 7");
	timeline_release(&tl);
}

/* The excerpts in fixtures/pg/ (always present) give identical events. */
Test(pg_samples, fixture_excerpts_agree)
{
	static const char *const files[] = { "fixtures/pg/pg15-stderr-scenario.log",
					     "fixtures/pg/pg15-csvlog-scenario.csv",
					     "fixtures/pg/pg15-jsonlog-scenario.json" };
	struct timeline t[3];
	for (int i = 0; i < 3; i++) {
		char *p = strdup(test_path(files[i]));
		cr_assert_eq(pgt_parse_file(p, NULL, NULL, &t[i]), 0);
		free(p);
		cr_expect_eq(t[i].src[0].unparsed, 0);
		cr_expect_eq(t[i].nr, 147, "%s: %zu events", files[i], t[i].nr);
		cr_expect_eq(pgt_count(&t[i], EVENT_PG_TOO_MANY_CLIENTS), 4);
	}
	expect_subset(&t[0], &t[1], true);
	expect_subset(&t[1], &t[2], true);
	expect_subset(&t[2], &t[0], true);
	for (int i = 0; i < 3; i++)
		timeline_release(&t[i]);
}

/*
 * The captured incident (fixtures/incident/, real PostgreSQL 15 under the
 * harness): every pool connection the app opened, as SQLAlchemy's connect
 * events recorded it with its backend pid (truth/pool_events.tsv.gz), is
 * one pg_connect with that pid in each of the three logs; the two other
 * sessions are the harness's psql and seed.py.
 */
static void check_incident(const char *run, size_t truth_connects)
{
	static const char *const logs[] = { "postgresql.log", "postgresql.csv", "postgresql.json" };
	struct strbuf p = STRBUF_INIT;
	struct reader *rd;
	struct line ln;
	int32_t *pids = NULL;
	size_t npids = 0, alloc = 0;
	struct timeline t[3];

	strbuf_addf(&p, "fixtures/incident/%s/truth/pool_events.tsv.gz", run);
	rd = reader_open(test_path(p.buf), 1 << 20);
	cr_assert_not_null(rd, "%s missing", p.buf);
	while (reader_next(rd, &ln) > 0) {
		/* ts, event, conn_id, backend_pid, ... */
		const char *f = memchr(ln.s, '\t', ln.len);
		if (!f || ln.len - (size_t)(f - ln.s) < 9 || memcmp(f, "\tconnect\t", 9))
			continue;
		f = memchr(f + 9, '\t', ln.len - (size_t)(f + 9 - ln.s));
		cr_assert_not_null(f);
		if (npids == alloc) {
			alloc = alloc ? alloc * 2 : 64;
			pids = realloc(pids, alloc * sizeof(*pids));
		}
		pids[npids++] = (int32_t)strtol(f + 1, NULL, 10);
	}
	reader_close(rd);
	cr_assert_eq(npids, truth_connects, "%s: %zu connect rows", run, npids);

	for (int i = 0; i < 3; i++) {
		char *path;
		strbuf_reset(&p);
		strbuf_addf(&p, "fixtures/incident/%s/%s", run, logs[i]);
		path = strdup(test_path(p.buf));
		cr_assert_eq(pgt_parse_file(path, NULL, NULL, &t[i]), 0);
		free(path);
		cr_expect_eq(t[i].src[0].unparsed, 0, "%s", p.buf);
		cr_expect_eq(pgt_count(&t[i], EVENT_PG_CONNECT), truth_connects + 2, "%s: %zu", p.buf,
			     pgt_count(&t[i], EVENT_PG_CONNECT));
		cr_expect_eq(pgt_count(&t[i], EVENT_PG_DISCONNECT), truth_connects + 2, "%s", p.buf);
		for (size_t k = 0; k < npids; k++) {
			bool found = false;
			for (size_t j = 0; j < t[i].nr && !found; j++)
				found = t[i].ev[j].kind == EVENT_PG_CONNECT && t[i].ev[j].pid == pids[k];
			cr_expect(found, "%s: no pg_connect for backend pid %d", p.buf, pids[k]);
		}
	}
	expect_subset(&t[0], &t[1], true);
	expect_subset(&t[1], &t[2], true);
	expect_subset(&t[2], &t[0], true);
	for (int i = 0; i < 3; i++)
		timeline_release(&t[i]);
	free(pids);
	strbuf_release(&p);
}

Test(pg_incident, before_connections_match_truth)
{
	check_incident("before", 160);
}

Test(pg_incident, after_connections_match_truth)
{
	check_incident("after", 72);
}
