#include <stdlib.h>
#include <string.h>
#include "core/arena.h"
#include "core/error.h"
#include "core/numparse.h"
#include "parsers/format.h"
#include "parsers/pgmsg.h"
#include "core/banned.h"

/*
 * PostgreSQL csvlog (format "pg-csv").  Columns, in order (csvlog.c;
 * docs "Using CSV-Format Log Output"):
 *
 *    1 log_time            8 command_tag          15 detail          22 location
 *    2 user_name           9 session_start_time   16 hint            23 application_name (9.0+)
 *    3 database_name      10 virtual_transaction  17 internal_query  24 backend_type     (13+)
 *    4 process_id         11 transaction_id       18 internal_query_pos
 *    5 connection_from    12 error_severity       19 context         25 leader_pid       (14+)
 *    6 session_id         13 sql_state_code       20 query           26 query_id         (14+)
 *    7 session_line_num   14 message              21 query_pos
 *
 * So a record has 22 fields (8.3-8.4), 23 (9.0-12), 24 (13) or 26 (14+;
 * 25 in PostgreSQL 14 development builds between the leader_pid and
 * query_id commits).  Every set is a prefix of the next, and we read only
 * columns 1-4 and 12-14, so any count from 22 up is taken (later releases
 * may append more).  Text fields are quoted with "" escapes and keep
 * embedded newlines, so one record may span physical lines: `continues`
 * tracks quote parity.
 */

#define CSV_MIN_FIELDS 22
#define CSV_MAX_FIELDS 40
/* a record still inside quotes after this many lines, when a line that
 * starts like a new record arrives, is taken to have a stray quote */
#define CSV_MAX_LINES 10000

enum {
	COL_TIME = 0,
	COL_USER = 1,
	COL_DB = 2,
	COL_PID = 3,
	COL_SEVERITY = 11,
	COL_SQLSTATE = 12,
	COL_MESSAGE = 13,
};

struct csv_field {
	const char *s; /* borrowed: inside the record, quotes excluded */
	size_t len;
	bool escaped;  /* holds "" pairs */
};

/* Split s[0..len) into fields; returns their number, or -1 if a quote is
 * left open or a closing quote is followed by junk. */
static int csv_split(const char *s, size_t len, struct csv_field *f, int max)
{
	size_t i = 0;
	int n = 0;
	for (;;) {
		if (n == max)
			return max + 1; /* more than we take */
		f[n].escaped = false;
		if (i < len && s[i] == '"') {
			size_t a = ++i;
			for (;;) {
				const char *q = memchr(s + i, '"', len - i);
				if (!q)
					return -1;
				i = (size_t)(q - s);
				if (i + 1 < len && s[i + 1] == '"') {
					f[n].escaped = true;
					i += 2;
					continue;
				}
				break;
			}
			f[n].s = s + a;
			f[n].len = i - a;
			i++; /* closing quote */
			if (i < len && s[i] != ',')
				return -1;
		} else {
			const char *c = memchr(s + i, ',', len - i);
			size_t e = c ? (size_t)(c - s) : len;
			f[n].s = s + i;
			f[n].len = e - i;
			i = e;
		}
		n++;
		if (i >= len)
			return n;
		i++; /* the comma */
		if (i == len) {
			/* a trailing comma: one more empty field */
			if (n == max)
				return max + 1;
			f[n].s = s + i;
			f[n].len = 0;
			f[n].escaped = false;
			return n + 1;
		}
	}
}

/* The field's text with "" turned into ", in the scratch arena if needed. */
static const char *field_text(struct parse_ctx *ctx, const struct csv_field *f, size_t *len)
{
	char *out;
	size_t o = 0;
	if (!f->escaped) {
		*len = f->len;
		return f->s;
	}
	out = arena_alloc(&ctx->scratch, f->len + 1);
	/* runs through each quote in one memcpy(), dropping the second quote
	 * of a pair: a statement with quoted identifiers is mostly runs */
	for (const char *p = f->s, *end = f->s + f->len; p < end;) {
		const char *q = memchr(p, '"', (size_t)(end - p));
		size_t n = q ? (size_t)(q - p) + 1 : (size_t)(end - p);
		memcpy(out + o, p, n);
		o += n;
		p += n;
		if (q && p < end && *p == '"')
			p++;
	}
	out[o] = '\0';
	*len = o;
	return out;
}

static bool parity_odd(const char *s, size_t len)
{
	bool odd = false;
	const char *end = s + len;
	while ((s = memchr(s, '"', (size_t)(end - s))) != NULL) {
		odd = !odd;
		s++;
	}
	return odd;
}

/* Starts like a csvlog record: a timestamp, then a comma. */
static bool looks_like_record(const char *s, size_t len, const struct tzinfo *tz)
{
	log_usec t;
	bool zone;
	size_t n = logtime_parse(s, len, tz, &t, &zone);
	if (!n)
		return false;
	while (n < len && s[n] != ',' && s[n] != ' ' && n < 40)
		n++; /* a zone abbreviation logtime_parse() did not read */
	if (n < len && s[n] == ' ')
		while (n < len && s[n] != ',' && n < 48)
			n++;
	return n < len && s[n] == ',';
}

struct pgcsv_state {
	const struct tzinfo *tz; /* borrowed */
	bool started;            /* `continues` has seen a line of this input */
	bool open;               /* the record being collected is inside quotes */
};

static void *pgcsv_state_new(const struct parse_opts *opts)
{
	struct pgcsv_state *st = xcalloc(1, sizeof(*st));
	st->tz = &opts->tz;
	return st;
}

static void pgcsv_state_free(void *data)
{
	free(data);
}

/*
 * Quote parity is tracked line by line: `continues` sees every line but
 * the first of the input, and the record text it is handed is not kept up
 * to date while lines are glued, so it is not read.  For the first record
 * the parity is inferred from the second line: a line that starts like a
 * record starts one, anything else continues an open quote.
 */
static bool pgcsv_continues(void *data, const struct record *rec, const struct line *line)
{
	struct pgcsv_state *st = data;
	bool odd = parity_odd(line->s, line->len);
	if (!st->started) {
		st->started = true;
		if (looks_like_record(line->s, line->len, st->tz)) {
			st->open = odd;
			return false;
		}
		st->open = !odd;
		return true;
	}
	if (st->open && !(rec->nlines >= CSV_MAX_LINES &&
			  looks_like_record(line->s, line->len, st->tz))) {
		if (odd)
			st->open = false;
		return true;
	}
	st->open = odd;
	return false;
}

/* Cut a record into the fields of a pg_message; returns the reason it
 * cannot be read, or UNPARSED_NONE. */
static enum unparsed_reason csv_message(struct parse_ctx *ctx, const struct record *rec,
					const struct tzinfo *tz, struct pg_message *m)
{
	struct csv_field f[CSV_MAX_FIELDS];
	int n = csv_split(rec->s, rec->len, f, CSV_MAX_FIELDS);
	size_t len;
	const char *s;
	int64_t pid;
	bool zone;

	if (n < 0)
		return rec->flags & LINE_F_NO_EOL || rec->nlines >= CSV_MAX_LINES ? UNPARSED_TRUNCATED
										   : UNPARSED_UNKNOWN_LAYOUT;
	if (n < CSV_MIN_FIELDS || n > CSV_MAX_FIELDS)
		return UNPARSED_UNKNOWN_LAYOUT;
	pg_message_init(m);
	if (!f[COL_TIME].len ||
	    !logtime_parse_cached(&ctx->time_cache, f[COL_TIME].s, f[COL_TIME].len, tz, &m->ts, &zone))
		return UNPARSED_NO_TIMESTAMP;
	m->sev = pg_severity_from(f[COL_SEVERITY].s, f[COL_SEVERITY].len);
	if (m->sev == PG_SEV_NONE || pg_severity_is_aux(m->sev))
		return UNPARSED_BAD_FIELD;
	if (f[COL_PID].len && parse_i64_n(f[COL_PID].s, f[COL_PID].len, &pid) == 0 && pid > 0 &&
	    pid <= INT32_MAX)
		m->pid = (int32_t)pid;
	s = field_text(ctx, &f[COL_USER], &len);
	if (len) {
		m->user = s;
		m->user_len = len;
	}
	s = field_text(ctx, &f[COL_DB], &len);
	if (len) {
		m->db = s;
		m->db_len = len;
	}
	m->sqlstate = pg_sqlstate_pack(f[COL_SQLSTATE].s, f[COL_SQLSTATE].len);
	m->msg = field_text(ctx, &f[COL_MESSAGE], &m->msg_len);
	parse_note_ts(ctx, m->ts, zone);
	return UNPARSED_NONE;
}

static enum unparsed_reason pgcsv_parse(void *data, struct parse_ctx *ctx,
					const struct record *rec)
{
	struct pgcsv_state *st = data;
	struct pg_message m;
	enum unparsed_reason r = csv_message(ctx, rec, st->tz, &m);
	if (r != UNPARSED_NONE)
		return r;
	pg_message_emit(ctx, &m);
	return UNPARSED_NONE;
}

static int pgcsv_detect(const struct line *lines, size_t n, const struct parse_opts *opts)
{
	size_t records = 0, good = 0, i = 0;
	struct strbuf rec = STRBUF_INIT;
	struct csv_field f[CSV_MAX_FIELDS];

	/* glue physical lines into records by quote parity, as `continues` does */
	while (i < n) {
		bool open;
		int nf;
		strbuf_reset(&rec);
		strbuf_add(&rec, lines[i].s, lines[i].len);
		open = parity_odd(lines[i].s, lines[i].len);
		for (i++; open && i < n; i++) {
			strbuf_addch(&rec, '\n');
			strbuf_add(&rec, lines[i].s, lines[i].len);
			if (parity_odd(lines[i].s, lines[i].len))
				open = false;
		}
		if (open)
			break; /* cut by the end of the sample */
		records++;
		nf = csv_split(rec.buf, rec.len, f, CSV_MAX_FIELDS);
		if (nf >= CSV_MIN_FIELDS && nf <= CSV_MAX_FIELDS &&
		    looks_like_record(rec.buf, rec.len, &opts->tz) &&
		    pg_severity_from(f[COL_SEVERITY].s, f[COL_SEVERITY].len) != PG_SEV_NONE)
			good++;
	}
	strbuf_release(&rec);
	return records ? (int)(good * 100 / records) : 0;
}

const struct format format_pg_csv = {
	.name = "pg-csv",
	.description = "PostgreSQL csvlog (PostgreSQL 8.3 to 17 column sets)",
	.detect = pgcsv_detect,
	.state_new = pgcsv_state_new,
	.state_free = pgcsv_state_free,
	.continues = pgcsv_continues,
	.parse = pgcsv_parse,
	.parse_foreign = NULL,
	.finish = NULL,
};
