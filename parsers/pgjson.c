#define _GNU_SOURCE 1 /* memmem() */
#include <jansson.h>
#include <string.h>
#include "core/error.h"
#include "parsers/format.h"
#include "parsers/pgmsg.h"
#include "core/banned.h"

/*
 * PostgreSQL jsonlog (format "pg-json", PostgreSQL 15+): one JSON object
 * per line, keys in the order of jsonlog.c (timestamp, user, dbname, pid,
 * remote_host, remote_port, session_id, line_num, ps, session_start, vxid,
 * txid, error_severity, state_code, message, detail, ...).  A key is left
 * out when its value is NULL (user/dbname before authentication,
 * state_code when it is 00000); numbers (pid, line_num, txid, query_id,
 * remote_port) are unquoted.  Read with jansson.
 *
 * parse_foreign lets the driver take jsonlog records met inside another
 * file (a stderr log that also received jsonlog output).
 */

/* Borrowed string value of key, or NULL (absent or not a string). */
static const char *get_str(json_t *o, const char *key, size_t *len)
{
	json_t *v = json_object_get(o, key);
	if (!json_is_string(v))
		return NULL;
	*len = json_string_length(v);
	return json_string_value(v);
}

static enum unparsed_reason json_record(struct parse_ctx *ctx, const struct record *rec,
					bool foreign)
{
	json_t *o;
	json_error_t err;
	const char *s, *ts;
	size_t len = 0, ts_len = 0;
	struct pg_message m;
	bool zone;
	json_t *pid;
	enum unparsed_reason r = UNPARSED_NONE;

	if (!rec->len || rec->s[0] != '{')
		return UNPARSED_UNKNOWN_LAYOUT;
	/* cheap test before the parser: every jsonlog record has these keys */
	if (!memmem(rec->s, rec->len, "\"error_severity\":", 17))
		return UNPARSED_UNKNOWN_LAYOUT;
	o = json_loadb(rec->s, rec->len, JSON_DISABLE_EOF_CHECK, &err);
	if (!json_is_object(o)) {
		json_decref(o);
		return foreign || !(rec->flags & LINE_F_NO_EOL) ? UNPARSED_UNKNOWN_LAYOUT
							       : UNPARSED_TRUNCATED;
	}
	pg_message_init(&m);
	ts = get_str(o, "timestamp", &ts_len);
	s = get_str(o, "error_severity", &len);
	if (s)
		m.sev = pg_severity_from(s, len);
	m.msg = get_str(o, "message", &m.msg_len);
	if (!ts || !m.msg || m.sev == PG_SEV_NONE || pg_severity_is_aux(m.sev)) {
		r = foreign ? UNPARSED_UNKNOWN_LAYOUT : UNPARSED_BAD_FIELD;
		goto out;
	}
	if (!logtime_parse(ts, ts_len, &ctx->opts->tz, &m.ts, &zone)) {
		r = foreign ? UNPARSED_UNKNOWN_LAYOUT : UNPARSED_NO_TIMESTAMP;
		goto out;
	}
	parse_note_ts(ctx, m.ts, zone);
	pid = json_object_get(o, "pid");
	if (json_is_integer(pid) && json_integer_value(pid) > 0 &&
	    json_integer_value(pid) <= INT32_MAX)
		m.pid = (int32_t)json_integer_value(pid);
	m.user = get_str(o, "user", &m.user_len);
	m.db = get_str(o, "dbname", &m.db_len);
	s = get_str(o, "state_code", &len);
	if (s)
		m.sqlstate = pg_sqlstate_pack(s, len);
	/* the strings live in o: emit before releasing it */
	pg_message_emit(ctx, &m);
out:
	json_decref(o);
	return r;
}

static enum unparsed_reason pgjson_parse(void *data, struct parse_ctx *ctx,
					 const struct record *rec)
{
	(void)data;
	return json_record(ctx, rec, false);
}

static enum unparsed_reason pgjson_parse_foreign(struct parse_ctx *ctx, const struct record *rec)
{
	return json_record(ctx, rec, true);
}

static int pgjson_detect(const struct line *lines, size_t n, const struct parse_opts *opts)
{
	size_t considered = 0, good = 0;
	(void)opts;
	for (size_t i = 0; i < n; i++) {
		const struct line *ln = &lines[i];
		if (!ln->len)
			continue;
		considered++;
		if (ln->len > 14 && !memcmp(ln->s, "{\"timestamp\":\"", 14) &&
		    memmem(ln->s, ln->len, "\"error_severity\":\"", 18))
			good++;
	}
	return considered ? (int)(good * 100 / considered) : 0;
}

const struct format format_pg_json = {
	.name = "pg-json",
	.description = "PostgreSQL jsonlog (PostgreSQL 15+)",
	.detect = pgjson_detect,
	.state_new = NULL,
	.state_free = NULL,
	.continues = NULL,
	.parse = pgjson_parse,
	.parse_foreign = pgjson_parse_foreign,
	.finish = NULL,
};
