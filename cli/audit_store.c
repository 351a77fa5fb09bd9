#include "cli/audit_store.h"
#include <inttypes.h>
#include <libpq-fe.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "core/holds.h"
#include "core/json.h"
#include "core/numparse.h"
#include "core/strbuf.h"
#include "core/banned.h"

/* ---- migrations ----
 * Append only: migration N brings the schema from N-1 to N.  Never edit one
 * that has shipped; add the next.  Columns are added nullable so that older
 * binaries, which name their columns, keep working. */
static const char *const migrations[] = {
	/* 1: the first schema */
	"CREATE TABLE poolscope.audit_run ("
	" run_id bigserial PRIMARY KEY,"
	" host text NOT NULL,"
	" started_at timestamptz NOT NULL,"
	" poolscope_version text NOT NULL,"
	" span_start timestamptz,"
	" span_end timestamptz,"
	" files integer NOT NULL,"
	" lines bigint NOT NULL,"
	" bytes bigint NOT NULL,"
	" events bigint NOT NULL,"
	" unparsed bigint NOT NULL,"
	" pool_size integer,"
	" max_overflow integer,"
	" pool_timeout_s double precision,"
	" capacity integer,"
	" timeouts bigint NOT NULL,"
	" checkouts bigint,"
	" peak_checked_out integer,"
	" peak_usage_pct double precision,"
	" hold_evidence text NOT NULL,"
	" hold_count bigint NOT NULL,"
	" hold_p50_s double precision,"
	" hold_p95_s double precision,"
	" hold_p99_s double precision,"
	" hold_max_s double precision,"
	" http_requests bigint NOT NULL,"
	" http_5xx bigint NOT NULL,"
	" http_p95_s double precision,"
	" pg_connections bigint NOT NULL,"
	" pg_too_many_clients bigint NOT NULL,"
	" incidents integer NOT NULL,"
	" findings integer NOT NULL,"
	" worst_level text,"
	" exit_code integer NOT NULL);\n"
	"CREATE INDEX audit_run_host_started ON poolscope.audit_run (host, started_at);\n"
	"CREATE TABLE poolscope.audit_input ("
	" run_id bigint NOT NULL REFERENCES poolscope.audit_run ON DELETE CASCADE,"
	" host text NOT NULL,"
	" seq integer NOT NULL,"
	" path text NOT NULL,"
	" format text,"
	" reason text NOT NULL,"
	" first_line bigint NOT NULL,"
	" last_line bigint NOT NULL,"
	" start_offset bigint NOT NULL,"
	" end_offset bigint NOT NULL,"
	" lines bigint NOT NULL,"
	" events bigint NOT NULL,"
	" unparsed bigint NOT NULL,"
	" PRIMARY KEY (run_id, seq));\n"
	"CREATE TABLE poolscope.audit_minute ("
	" run_id bigint NOT NULL REFERENCES poolscope.audit_run ON DELETE CASCADE,"
	" host text NOT NULL,"
	" minute timestamptz NOT NULL,"
	" width_s integer NOT NULL,"
	" timeouts integer NOT NULL,"
	" checkouts integer NOT NULL,"
	" requests integer NOT NULL,"
	" http_5xx integer NOT NULL,"
	" pg_too_many integer NOT NULL,"
	" peak_checked_out integer,"
	" capacity integer,"
	" level text NOT NULL,"
	" PRIMARY KEY (run_id, minute));\n"
	"CREATE INDEX audit_minute_minute ON poolscope.audit_minute (minute);\n"
	"CREATE TABLE poolscope.audit_hold_hist ("
	" run_id bigint NOT NULL REFERENCES poolscope.audit_run ON DELETE CASCADE,"
	" host text NOT NULL,"
	" day date NOT NULL,"
	" bucket smallint NOT NULL,"
	" upper_s double precision,"
	" holds bigint NOT NULL,"
	" PRIMARY KEY (run_id, day, bucket));\n"
	"CREATE TABLE poolscope.audit_finding ("
	" run_id bigint NOT NULL REFERENCES poolscope.audit_run ON DELETE CASCADE,"
	" host text NOT NULL,"
	" seq integer NOT NULL,"
	" level text NOT NULL,"
	" code text NOT NULL,"
	" message text NOT NULL,"
	" value double precision,"
	" threshold double precision,"
	" more_evidence bigint NOT NULL,"
	" PRIMARY KEY (run_id, seq));\n"
	"CREATE TABLE poolscope.audit_evidence ("
	" run_id bigint NOT NULL REFERENCES poolscope.audit_run ON DELETE CASCADE,"
	" host text NOT NULL,"
	" finding_seq integer NOT NULL,"
	" seq integer NOT NULL,"
	" path text NOT NULL,"
	" line bigint NOT NULL,"
	" excerpt bytea,"
	" PRIMARY KEY (run_id, finding_seq, seq));\n",
};
#define NMIGRATIONS (sizeof(migrations) / sizeof(migrations[0]))

/* ---- COPY text format ---- */

/* Length of a valid UTF-8 sequence at s (1..4), or 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned c = s[0];
	size_t len;
	unsigned min, cp;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2, min = 0x80, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3, min = 0x800, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4, min = 0x10000, cp = c & 0x07;
	else
		return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

void copy_add_text(struct strbuf *row, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n;
	if (!s) {
		strbuf_addstr(row, "\\N");
		return;
	}
	n = strlen(s);
	for (size_t i = 0; i < n;) {
		size_t l = utf8_len(p + i, n - i);
		if (!l) {
			strbuf_addstr(row, "\xef\xbf\xbd"); /* U+FFFD */
			i++;
			continue;
		}
		if (l == 1) {
			switch (p[i]) {
			case '\\': strbuf_addstr(row, "\\\\"); break;
			case '\t': strbuf_addstr(row, "\\t"); break;
			case '\n': strbuf_addstr(row, "\\n"); break;
			case '\r': strbuf_addstr(row, "\\r"); break;
			default: strbuf_addch(row, (char)p[i]);
			}
		} else {
			strbuf_add(row, p + i, l);
		}
		i += l;
	}
}

void copy_add_bytea(struct strbuf *row, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	if (!s) {
		strbuf_addstr(row, "\\N");
		return;
	}
	/* bytea input "\x4142..."; COPY doubles the backslash */
	strbuf_addstr(row, "\\\\x");
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		strbuf_addch(row, hex[c >> 4]);
		strbuf_addch(row, hex[c & 15]);
	}
}

static void copy_sep(struct strbuf *row)
{
	strbuf_addch(row, '\t');
}

static void copy_i64(struct strbuf *row, int64_t v)
{
	strbuf_addf(row, "%" PRId64, v);
}

static void copy_num(struct strbuf *row, double v)
{
	char buf[48];
	if (isnan(v) || isinf(v)) {
		strbuf_addstr(row, "\\N");
		return;
	}
	format_num(buf, sizeof(buf), v, 6);
	strbuf_addstr(row, buf);
}

static void copy_ts(struct strbuf *row, log_usec t)
{
	char iso[32];
	if (t == LOG_USEC_NONE) {
		strbuf_addstr(row, "\\N");
		return;
	}
	logtime_format_iso(t, iso);
	strbuf_addstr(row, iso);
}

/* ---- libpq plumbing ---- */

/* The first line of a libpq message, without "ERROR:  " noise. */
static void first_line(const char *msg, char *out, size_t n)
{
	size_t len;
	if (!msg || !*msg)
		msg = "unknown error";
	len = strcspn(msg, "\n");
	if (len >= n)
		len = n - 1;
	memcpy(out, msg, len);
	out[len] = '\0';
}

static int pq_fail(PGconn *pg, PGresult *res, const char *what)
{
	char line[512];
	const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	first_line(primary ? primary : (res ? PQresultErrorMessage(res) : PQerrorMessage(pg)), line,
		   sizeof(line));
	if (res)
		PQclear(res);
	return error("PostgreSQL: %s: %s", what, line);
}

/* "schema already exists, skipping" is not news: drop NOTICEs; keep the
 * rest (WARNING) on stderr. */
static void on_notice(void *arg, const PGresult *res)
{
	const char *sev = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
	const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	(void)arg;
	if (sev && (!strcmp(sev, "NOTICE") || !strcmp(sev, "DEBUG") || !strcmp(sev, "LOG") ||
		    !strcmp(sev, "INFO")))
		return;
	warning("PostgreSQL: %s", msg ? msg : "(no message)");
}

static PGconn *store_connect(const char *dsn)
{
	/* the DSN comes last so its own settings win (libpq keeps the last) */
	static const char *const keys[] = { "connect_timeout", "application_name", "dbname", NULL };
	const char *vals[] = { "10", "poolscope audit", dsn, NULL };
	PGconn *pg = PQconnectdbParams(keys, vals, 1);
	char line[512];
	if (!pg) {
		error("cannot connect to PostgreSQL: out of memory");
		return NULL;
	}
	if (PQstatus(pg) != CONNECTION_OK) {
		first_line(PQerrorMessage(pg), line, sizeof(line));
		error("cannot connect to PostgreSQL: %s", line);
		PQfinish(pg);
		return NULL;
	}
	PQsetNoticeReceiver(pg, on_notice, NULL);
	if (PQsetClientEncoding(pg, "UTF8") != 0) {
		first_line(PQerrorMessage(pg), line, sizeof(line));
		error("cannot set client encoding UTF8: %s", line);
		PQfinish(pg);
		return NULL;
	}
	return pg;
}

/* A statement without parameters (fixed text only). */
static int exec_fixed(PGconn *pg, const char *sql, const char *what)
{
	PGresult *res = PQexec(pg, sql);
	ExecStatusType st = PQresultStatus(res);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
		return pq_fail(pg, res, what);
	PQclear(res);
	return 0;
}

static PGresult *exec_params(PGconn *pg, const char *sql, int n, const char *const *vals,
			     const char *what)
{
	PGresult *res = PQexecParams(pg, sql, n, NULL, vals, NULL, NULL, 0);
	ExecStatusType st = PQresultStatus(res);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		pq_fail(pg, res, what);
		return NULL;
	}
	return res;
}

static void rollback(PGconn *pg)
{
	PGresult *res = PQexec(pg, "ROLLBACK");
	PQclear(res);
}

/* Create or upgrade the schema.  Its own transaction, under an advisory
 * lock: two hosts running their first audit at once must not both try. */
static int migrate(PGconn *pg, const char *host)
{
	char key[32], ver[32];
	const char *params[2];
	PGresult *res;
	int64_t have = 0;

	if (exec_fixed(pg, "BEGIN", "begin") < 0)
		return -1;
	snprintf(key, sizeof(key), "%" PRId64, AUDIT_STORE_LOCK_KEY);
	params[0] = key;
	res = exec_params(pg, "SELECT pg_advisory_xact_lock($1::bigint)", 1, params,
			  "cannot lock the schema");
	if (!res)
		goto fail;
	PQclear(res);
	if (exec_fixed(pg, "CREATE SCHEMA IF NOT EXISTS poolscope", "cannot create schema") < 0 ||
	    exec_fixed(pg,
		       "CREATE TABLE IF NOT EXISTS poolscope.schema_version ("
		       " version integer PRIMARY KEY,"
		       " applied_at timestamptz NOT NULL DEFAULT now(),"
		       " applied_by text NOT NULL)",
		       "cannot create poolscope.schema_version") < 0)
		goto fail;
	res = PQexec(pg, "SELECT coalesce(max(version), 0) FROM poolscope.schema_version");
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		pq_fail(pg, res, "cannot read the schema version");
		goto fail;
	}
	if (PQntuples(res) != 1 || parse_i64(PQgetvalue(res, 0, 0), &have) < 0) {
		PQclear(res);
		error("PostgreSQL: unreadable poolscope.schema_version");
		goto fail;
	}
	PQclear(res);
	for (int64_t v = have + 1; v <= (int64_t)NMIGRATIONS; v++) {
		char what[64];
		snprintf(what, sizeof(what), "schema migration %" PRId64, v);
		if (exec_fixed(pg, migrations[v - 1], what) < 0)
			goto fail;
		snprintf(ver, sizeof(ver), "%" PRId64, v);
		params[0] = ver;
		params[1] = host;
		res = exec_params(pg,
				  "INSERT INTO poolscope.schema_version (version, applied_by) "
				  "VALUES ($1::integer, $2)",
				  2, params, "cannot record the schema version");
		if (!res)
			goto fail;
		PQclear(res);
	}
	/* a newer schema (a newer poolscope elsewhere) is fine: migrations only add */
	return exec_fixed(pg, "COMMIT", "cannot commit the schema");
fail:
	rollback(pg);
	return -1;
}

/* COPY rows (built by the caller, each ending in '\n') into table(cols). */
static int copy_rows(PGconn *pg, const char *sql, const struct strbuf *rows, const char *what)
{
	PGresult *res = PQexec(pg, sql);
	if (PQresultStatus(res) != PGRES_COPY_IN)
		return pq_fail(pg, res, what);
	PQclear(res);
	/* in slices: PQputCopyData takes an int length */
	for (size_t off = 0; off < rows->len;) {
		size_t n = rows->len - off;
		if (n > (1u << 20))
			n = 1u << 20;
		if (PQputCopyData(pg, rows->buf + off, (int)n) != 1) {
			PQputCopyEnd(pg, "poolscope: send failed");
			while ((res = PQgetResult(pg)))
				PQclear(res);
			return pq_fail(pg, NULL, what);
		}
		off += n;
	}
	if (PQputCopyEnd(pg, NULL) != 1)
		return pq_fail(pg, NULL, what);
	res = PQgetResult(pg);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		int ret = pq_fail(pg, res, what);
		while ((res = PQgetResult(pg)))
			PQclear(res);
		return ret;
	}
	PQclear(res);
	while ((res = PQgetResult(pg)))
		PQclear(res);
	return 0;
}

static const char *fmt_i64(char *buf, size_t n, int64_t v, bool known)
{
	if (!known)
		return NULL;
	snprintf(buf, n, "%" PRId64, v);
	return buf;
}

static const char *fmt_num(char *buf, size_t n, double v, bool known)
{
	if (!known || isnan(v) || isinf(v))
		return NULL;
	format_num(buf, n, v, 6);
	return buf;
}

static const char *fmt_ts(char *buf, log_usec t)
{
	if (t == LOG_USEC_NONE)
		return NULL;
	logtime_format_iso(t, buf);
	return buf;
}

enum run_col {
	C_HOST, C_STARTED, C_VERSION, C_SPAN_START, C_SPAN_END, C_FILES, C_LINES, C_BYTES,
	C_EVENTS, C_UNPARSED, C_POOL_SIZE, C_MAX_OVERFLOW, C_TIMEOUT_S, C_CAPACITY, C_TIMEOUTS,
	C_CHECKOUTS, C_PEAK_OUT, C_PEAK_PCT, C_HOLD_EV, C_HOLD_N, C_HOLD_P50, C_HOLD_P95,
	C_HOLD_P99, C_HOLD_MAX, C_HTTP_N, C_HTTP_5XX, C_HTTP_P95, C_PG_CONN, C_PG_TMC,
	C_INCIDENTS, C_FINDINGS, C_WORST, C_EXIT, C__COUNT
};

static int insert_run(PGconn *pg, const struct audit_store_run *run, int64_t *run_id)
{
	const struct analysis *a = run->a;
	const struct audit_result *r = run->r;
	char buf[C__COUNT][48];
	const char *v[C__COUNT];
	uint64_t unparsed = 0;
	int worst = audit_worst(r);
	PGresult *res;
	bool hk = a->hold.count > 0;

	for (size_t i = 0; i < a->tl->nsrc; i++)
		unparsed += a->tl->src[i].unparsed;
	v[C_HOST] = run->host;
	v[C_STARTED] = fmt_ts(buf[C_STARTED], run->started);
	v[C_VERSION] = POOLSCOPE_VERSION;
	v[C_SPAN_START] = fmt_ts(buf[C_SPAN_START], a->start);
	v[C_SPAN_END] = fmt_ts(buf[C_SPAN_END], a->end);
	v[C_FILES] = fmt_i64(buf[C_FILES], 48, (int64_t)r->files, true);
	v[C_LINES] = fmt_i64(buf[C_LINES], 48, (int64_t)r->lines, true);
	v[C_BYTES] = fmt_i64(buf[C_BYTES], 48, (int64_t)r->bytes, true);
	v[C_EVENTS] = fmt_i64(buf[C_EVENTS], 48, (int64_t)a->events, true);
	v[C_UNPARSED] = fmt_i64(buf[C_UNPARSED], 48, (int64_t)unparsed, true);
	v[C_POOL_SIZE] = fmt_i64(buf[C_POOL_SIZE], 48, a->config.pool_size, a->config.pool_size >= 0);
	v[C_MAX_OVERFLOW] = fmt_i64(buf[C_MAX_OVERFLOW], 48, a->config.max_overflow,
				    a->config.max_overflow != INT32_MIN);
	v[C_TIMEOUT_S] = fmt_num(buf[C_TIMEOUT_S], 48, a->config.timeout_usec / 1e6,
				 a->config.timeout_usec >= 0);
	v[C_CAPACITY] = fmt_i64(buf[C_CAPACITY], 48, a->capacity, a->capacity >= 0);
	v[C_TIMEOUTS] = fmt_i64(buf[C_TIMEOUTS], 48, (int64_t)a->timeouts, true);
	v[C_CHECKOUTS] = fmt_i64(buf[C_CHECKOUTS], 48, a->checkouts, a->checkouts >= 0);
	v[C_PEAK_OUT] = fmt_i64(buf[C_PEAK_OUT], 48, a->peak_out, a->peak_out >= 0);
	v[C_PEAK_PCT] = fmt_num(buf[C_PEAK_PCT], 48, a->peak_usage_pct, a->peak_usage_pct >= 0);
	v[C_HOLD_EV] = hold_evidence_name(a->holds.best);
	v[C_HOLD_N] = fmt_i64(buf[C_HOLD_N], 48, (int64_t)a->hold.count, true);
	v[C_HOLD_P50] = fmt_num(buf[C_HOLD_P50], 48, a->hold.p50 / 1e6, hk);
	v[C_HOLD_P95] = fmt_num(buf[C_HOLD_P95], 48, a->hold.p95 / 1e6, hk);
	v[C_HOLD_P99] = fmt_num(buf[C_HOLD_P99], 48, a->hold.p99 / 1e6, hk);
	v[C_HOLD_MAX] = fmt_num(buf[C_HOLD_MAX], 48, a->hold.max / 1e6, hk);
	v[C_HTTP_N] = fmt_i64(buf[C_HTTP_N], 48, (int64_t)a->http.requests, true);
	v[C_HTTP_5XX] = fmt_i64(buf[C_HTTP_5XX], 48, (int64_t)a->http.errors_5xx, true);
	v[C_HTTP_P95] = fmt_num(buf[C_HTTP_P95], 48, a->http.latency.p95 / 1e6,
				a->http.latency.count > 0);
	v[C_PG_CONN] = fmt_i64(buf[C_PG_CONN], 48, (int64_t)a->pg_connections, true);
	v[C_PG_TMC] = fmt_i64(buf[C_PG_TMC], 48, (int64_t)a->pg_too_many, true);
	v[C_INCIDENTS] = fmt_i64(buf[C_INCIDENTS], 48, (int64_t)a->nincidents, true);
	v[C_FINDINGS] = fmt_i64(buf[C_FINDINGS], 48, (int64_t)r->nr, true);
	v[C_WORST] = worst >= 0 ? audit_level_name((enum audit_level)worst) : NULL;
	v[C_EXIT] = fmt_i64(buf[C_EXIT], 48, run->exit_code, true);

	res = exec_params(pg,
			  "INSERT INTO poolscope.audit_run (host, started_at, poolscope_version,"
			  " span_start, span_end, files, lines, bytes, events, unparsed, pool_size,"
			  " max_overflow, pool_timeout_s, capacity, timeouts, checkouts,"
			  " peak_checked_out, peak_usage_pct, hold_evidence, hold_count, hold_p50_s,"
			  " hold_p95_s, hold_p99_s, hold_max_s, http_requests, http_5xx, http_p95_s,"
			  " pg_connections, pg_too_many_clients, incidents, findings, worst_level,"
			  " exit_code) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12,"
			  " $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26,"
			  " $27, $28, $29, $30, $31, $32, $33) RETURNING run_id",
			  C__COUNT, v, "cannot store the run");
	if (!res)
		return -1;
	if (PQntuples(res) != 1 || parse_i64(PQgetvalue(res, 0, 0), run_id) < 0) {
		PQclear(res);
		return error("PostgreSQL: no run id returned");
	}
	PQclear(res);
	return 0;
}

static void row_start(struct strbuf *rows, int64_t run_id, const char *host)
{
	copy_i64(rows, run_id);
	copy_sep(rows);
	copy_add_text(rows, host);
}

static const char *segment_reason(const struct audit_store_run *run, uint32_t src)
{
	if (!run->plan)
		return "full";
	for (size_t i = 0; i < run->plan->nseg; i++)
		if (run->plan->seg[i].src_index == src)
			return inc_why_name(run->plan->seg[i].why);
	return "full";
}

static void rows_inputs(struct strbuf *rows, const struct audit_store_run *run, int64_t id)
{
	const struct timeline *tl = run->a->tl;
	for (size_t i = 0; i < tl->nsrc; i++) {
		const struct source *s = &tl->src[i];
		row_start(rows, id, run->host);
		copy_sep(rows);
		copy_i64(rows, (int64_t)i);
		copy_sep(rows);
		copy_add_text(rows, s->path);
		copy_sep(rows);
		copy_add_text(rows, s->format);
		copy_sep(rows);
		copy_add_text(rows, segment_reason(run, (uint32_t)i));
		copy_sep(rows);
		copy_i64(rows, (int64_t)(s->end_line + 1 - s->lines));
		copy_sep(rows);
		copy_i64(rows, (int64_t)s->end_line);
		copy_sep(rows);
		copy_i64(rows, (int64_t)s->start_offset);
		copy_sep(rows);
		copy_i64(rows, (int64_t)s->end_offset);
		copy_sep(rows);
		copy_i64(rows, (int64_t)s->lines);
		copy_sep(rows);
		copy_i64(rows, (int64_t)s->events);
		copy_sep(rows);
		copy_i64(rows, (int64_t)s->unparsed);
		strbuf_addch(rows, '\n');
	}
}

static void rows_minutes(struct strbuf *rows, const struct audit_store_run *run, int64_t id)
{
	const struct analysis *a = run->a;
	for (size_t i = 0; i < a->nbuckets; i++) {
		const struct analysis_bucket *b = &a->buckets[i];
		row_start(rows, id, run->host);
		copy_sep(rows);
		copy_ts(rows, b->start);
		copy_sep(rows);
		copy_i64(rows, a->bucket_usec / USEC_PER_SEC);
		copy_sep(rows);
		copy_i64(rows, b->timeouts);
		copy_sep(rows);
		copy_i64(rows, b->checkouts);
		copy_sep(rows);
		copy_i64(rows, b->requests);
		copy_sep(rows);
		copy_i64(rows, b->http_5xx);
		copy_sep(rows);
		copy_i64(rows, b->pg_too_many);
		copy_sep(rows);
		if (b->peak_out >= 0)
			copy_i64(rows, b->peak_out);
		else
			strbuf_addstr(rows, "\\N");
		copy_sep(rows);
		if (a->capacity >= 0)
			copy_i64(rows, a->capacity);
		else
			strbuf_addstr(rows, "\\N");
		copy_sep(rows);
		copy_add_text(rows, pool_level_name((enum pool_level)b->level));
		strbuf_addch(rows, '\n');
	}
}

/* Hold-time histogram per UTC day of the hold's start, from the best
 * evidence only (the figure hold_p95 is judged on). */
static void rows_hist(struct strbuf *rows, const struct audit_store_run *run, int64_t id)
{
	const struct analysis *a = run->a;
	struct audit_trend days;
	audit_trend_init(&days);
	for (size_t i = 0; i < a->holds.nr; i++) {
		const struct hold *h = hold_at(&a->holds, i);
		int64_t day;
		if (h->evidence != a->holds.best || !hold_complete(h) || h->start == LOG_USEC_NONE)
			continue;
		day = h->start / (86400 * USEC_PER_SEC) - (h->start % (86400 * USEC_PER_SEC) < 0);
		audit_trend_day(&days, day)->hist[audit_hist_bucket(h->dur)]++;
	}
	for (size_t d = 0; d < days.nr; d++) {
		int64_t y;
		unsigned m, dd;
		civil_from_days(days.v[d].day, &y, &m, &dd);
		for (int b = 0; b < AUDIT_HIST_BUCKETS; b++) {
			if (!days.v[d].hist[b])
				continue;
			row_start(rows, id, run->host);
			strbuf_addf(rows, "\t%04" PRId64 "-%02u-%02u\t%d\t", y, m, dd, b);
			copy_num(rows, audit_hist_upper_s(b));
			copy_sep(rows);
			copy_i64(rows, days.v[d].hist[b]);
			strbuf_addch(rows, '\n');
		}
	}
	audit_trend_release(&days);
}

static void rows_findings(struct strbuf *rows, struct strbuf *ev, const struct audit_store_run *run,
			  int64_t id)
{
	const struct audit_result *r = run->r;
	for (size_t i = 0; i < r->nr; i++) {
		const struct audit_finding *f = &r->v[i];
		row_start(rows, id, run->host);
		copy_sep(rows);
		copy_i64(rows, (int64_t)i);
		copy_sep(rows);
		copy_add_text(rows, audit_level_name(f->level));
		copy_sep(rows);
		copy_add_text(rows, f->code);
		copy_sep(rows);
		copy_add_text(rows, f->message);
		copy_sep(rows);
		copy_num(rows, f->value);
		copy_sep(rows);
		copy_num(rows, f->threshold);
		copy_sep(rows);
		copy_i64(rows, (int64_t)f->more_refs);
		strbuf_addch(rows, '\n');
		for (size_t j = 0; j < f->nrefs; j++) {
			row_start(ev, id, run->host);
			copy_sep(ev);
			copy_i64(ev, (int64_t)i);
			copy_sep(ev);
			copy_i64(ev, (int64_t)j);
			copy_sep(ev);
			copy_add_text(ev, f->refs[j].path);
			copy_sep(ev);
			copy_i64(ev, (int64_t)f->refs[j].line);
			copy_sep(ev);
			copy_add_bytea(ev, f->refs[j].excerpt, f->refs[j].excerpt_len);
			strbuf_addch(ev, '\n');
		}
	}
}

int audit_store_write(const char *dsn, const struct audit_store_run *run, int64_t *run_id)
{
	PGconn *pg = store_connect(dsn);
	struct strbuf rows = STRBUF_INIT, ev = STRBUF_INIT;
	int64_t id = 0;
	int ret = -1;

	if (!pg)
		return -1;
	if (migrate(pg, run->host) < 0)
		goto out;
	if (exec_fixed(pg, "BEGIN", "begin") < 0)
		goto out;
	if (insert_run(pg, run, &id) < 0)
		goto fail;
	rows_inputs(&rows, run, id);
	if (copy_rows(pg,
		      "COPY poolscope.audit_input (run_id, host, seq, path, format, reason,"
		      " first_line, last_line, start_offset, end_offset, lines, events, unparsed)"
		      " FROM STDIN",
		      &rows, "cannot store inputs") < 0)
		goto fail;
	strbuf_reset(&rows);
	rows_minutes(&rows, run, id);
	if (copy_rows(pg,
		      "COPY poolscope.audit_minute (run_id, host, minute, width_s, timeouts,"
		      " checkouts, requests, http_5xx, pg_too_many, peak_checked_out, capacity,"
		      " level) FROM STDIN",
		      &rows, "cannot store the per-minute series") < 0)
		goto fail;
	strbuf_reset(&rows);
	rows_hist(&rows, run, id);
	if (copy_rows(pg,
		      "COPY poolscope.audit_hold_hist (run_id, host, day, bucket, upper_s, holds)"
		      " FROM STDIN",
		      &rows, "cannot store the hold histogram") < 0)
		goto fail;
	strbuf_reset(&rows);
	rows_findings(&rows, &ev, run, id);
	if (copy_rows(pg,
		      "COPY poolscope.audit_finding (run_id, host, seq, level, code, message,"
		      " value, threshold, more_evidence) FROM STDIN",
		      &rows, "cannot store findings") < 0 ||
	    copy_rows(pg,
		      "COPY poolscope.audit_evidence (run_id, host, finding_seq, seq, path, line,"
		      " excerpt) FROM STDIN",
		      &ev, "cannot store evidence") < 0)
		goto fail;
	if (exec_fixed(pg, "COMMIT", "cannot commit the run") < 0)
		goto out;
	*run_id = id;
	ret = 0;
	goto out;
fail:
	if (PQstatus(pg) == CONNECTION_OK)
		rollback(pg);
out:
	strbuf_release(&rows);
	strbuf_release(&ev);
	PQfinish(pg);
	return ret;
}

/* ---- trend ---- */

static int64_t day_of(const char *iso_date)
{
	/* "YYYY-MM-DD" from date::text */
	int64_t y, m, d;
	if (strlen(iso_date) != 10 || parse_i64_n(iso_date, 4, &y) < 0 ||
	    parse_i64_n(iso_date + 5, 2, &m) < 0 || parse_i64_n(iso_date + 8, 2, &d) < 0)
		return INT64_MIN;
	return days_from_civil(y, (unsigned)m, (unsigned)d);
}

static int64_t get_i64(PGresult *res, int row, int col)
{
	int64_t v = 0;
	if (PQgetisnull(res, row, col) || parse_i64(PQgetvalue(res, row, col), &v) < 0)
		return -1;
	return v;
}

int audit_store_trend(const char *dsn, const char *host, int days, struct audit_trend *out)
{
	PGconn *pg = store_connect(dsn);
	PGresult *res;
	char ndays[16];
	const char *params[2];
	int ret = -1;

	if (!pg)
		return -1;
	snprintf(ndays, sizeof(ndays), "%d", days);
	params[0] = host;
	params[1] = ndays;
	res = PQexec(pg, "SELECT 1 FROM pg_tables WHERE schemaname = 'poolscope'"
			 " AND tablename = 'audit_minute'");
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		pq_fail(pg, res, "cannot read the catalog");
		goto out;
	}
	if (PQntuples(res) == 0) {
		PQclear(res);
		error("no audit history in this database (run `poolscope audit --store DSN` first)");
		goto out;
	}
	PQclear(res);
	/* the period ends at the newest stored minute (not now()), so a trend
	 * of old logs is reproducible */
	res = exec_params(
		pg,
		"WITH m AS (SELECT mi.*, r.started_at FROM poolscope.audit_minute mi"
		"  JOIN poolscope.audit_run r USING (run_id)"
		"  WHERE ($1::text IS NULL OR mi.host = $1)),"
		" lim AS (SELECT (max(minute) AT TIME ZONE 'UTC')::date - ($2::integer - 1) AS d0 FROM m)"
		" SELECT (minute AT TIME ZONE 'UTC')::date::text AS day,"
		"  count(DISTINCT run_id), count(DISTINCT host), sum(timeouts), sum(requests),"
		"  sum(http_5xx), sum(pg_too_many), max(peak_checked_out),"
		"  max(100.0 * peak_checked_out / NULLIF(capacity, 0))"
		" FROM m, lim WHERE (minute AT TIME ZONE 'UTC')::date >= lim.d0"
		" GROUP BY 1 ORDER BY 1",
		2, params, "cannot read the per-minute history");
	if (!res)
		goto out;
	for (int i = 0; i < PQntuples(res); i++) {
		int64_t day = day_of(PQgetvalue(res, i, 0));
		struct audit_trend_day *d;
		double pct;
		if (day == INT64_MIN)
			continue;
		d = audit_trend_day(out, day);
		d->runs = get_i64(res, i, 1);
		d->hosts = get_i64(res, i, 2);
		d->timeouts = get_i64(res, i, 3);
		d->requests = get_i64(res, i, 4);
		d->http_5xx = get_i64(res, i, 5);
		d->too_many_clients = get_i64(res, i, 6);
		d->peak_out = (int32_t)get_i64(res, i, 7);
		if (!PQgetisnull(res, i, 8) && parse_double(PQgetvalue(res, i, 8), &pct) == 0)
			d->peak_usage_pct = pct;
	}
	PQclear(res);
	res = exec_params(
		pg,
		"WITH lim AS (SELECT (max(minute) AT TIME ZONE 'UTC')::date - ($2::integer - 1) AS d0"
		"  FROM poolscope.audit_minute WHERE ($1::text IS NULL OR host = $1))"
		" SELECT day::text, bucket, sum(holds) FROM poolscope.audit_hold_hist, lim"
		" WHERE ($1::text IS NULL OR host = $1) AND day >= lim.d0"
		" GROUP BY day, bucket ORDER BY day, bucket",
		2, params, "cannot read the hold histograms");
	if (!res)
		goto out;
	for (int i = 0; i < PQntuples(res); i++) {
		int64_t day = day_of(PQgetvalue(res, i, 0));
		int64_t b = get_i64(res, i, 1), n = get_i64(res, i, 2);
		struct audit_trend_day *d;
		if (day == INT64_MIN || b < 0 || b >= AUDIT_HIST_BUCKETS || n < 0)
			continue;
		d = audit_trend_day(out, day);
		d->hist[b] += n;
		d->holds += n;
	}
	PQclear(res);
	/* lines and findings per day of the run's span start */
	res = exec_params(
		pg,
		"WITH lim AS (SELECT (max(minute) AT TIME ZONE 'UTC')::date - ($2::integer - 1) AS d0"
		"  FROM poolscope.audit_minute WHERE ($1::text IS NULL OR host = $1))"
		" SELECT (r.span_start AT TIME ZONE 'UTC')::date::text, sum(r.lines),"
		"  sum((SELECT count(*) FROM poolscope.audit_finding f"
		"   WHERE f.run_id = r.run_id AND f.level = 'warning')),"
		"  sum((SELECT count(*) FROM poolscope.audit_finding f"
		"   WHERE f.run_id = r.run_id AND f.level = 'critical'))"
		" FROM poolscope.audit_run r, lim"
		" WHERE r.span_start IS NOT NULL AND ($1::text IS NULL OR r.host = $1)"
		"  AND (r.span_start AT TIME ZONE 'UTC')::date >= lim.d0"
		" GROUP BY 1 ORDER BY 1",
		2, params, "cannot read the run history");
	if (!res)
		goto out;
	for (int i = 0; i < PQntuples(res); i++) {
		int64_t day = day_of(PQgetvalue(res, i, 0));
		struct audit_trend_day *d;
		if (day == INT64_MIN)
			continue;
		d = audit_trend_day(out, day);
		d->lines = get_i64(res, i, 1);
		d->findings_warning = get_i64(res, i, 2);
		d->findings_critical = get_i64(res, i, 3);
	}
	PQclear(res);
	ret = 0;
out:
	PQfinish(pg);
	return ret;
}
