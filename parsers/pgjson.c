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

/*
 * The fields of a record that pg_message_emit() needs.  Strings are borrowed
 * from the record or from the jansson object, whichever decoded it.
 */
enum jf_key { JF_TIMESTAMP, JF_SEVERITY, JF_MESSAGE, JF_PID, JF_USER, JF_DBNAME, JF_STATE, JF__COUNT };
static const struct { const char *name; size_t len; } jf_names[JF__COUNT] = {
	[JF_TIMESTAMP] = { "timestamp", 9 }, [JF_SEVERITY] = { "error_severity", 14 },
	[JF_MESSAGE] = { "message", 7 },     [JF_PID] = { "pid", 3 },
	[JF_USER] = { "user", 4 },           [JF_DBNAME] = { "dbname", 6 },
	[JF_STATE] = { "state_code", 10 },
};

/* 1 + the jf_key of each name length (0: none); the lengths are distinct */
static const uint8_t jf_by_len[15] = {
	[9] = 1 + JF_TIMESTAMP, [14] = 1 + JF_SEVERITY, [7] = 1 + JF_MESSAGE, [3] = 1 + JF_PID,
	[4] = 1 + JF_USER,      [6] = 1 + JF_DBNAME,    [10] = 1 + JF_STATE,
};

struct jf_value {
	const char *s; /* borrowed: the string value, or NULL if absent or not a string */
	size_t len;
	bool is_int;   /* an integer value, in num */
	int64_t num;
};

/*
 * Fast path: most jsonlog records are a flat object of plain ASCII strings
 * without escapes and small non-negative integers, and for those the
 * decoded strings are the bytes between the quotes.  jansson builds a hash
 * table and copies every one of the ~17 values (about 88k instructions per
 * record, 87% of a pg-json parse); this scanner only finds the fields above.
 *
 * It accepts a strict subset of JSON and returns false for anything else --
 * a backslash, a byte outside printable ASCII, a nested value, a fraction,
 * exponent, sign or leading zero, an integer of more than 18 digits, white
 * space other than ' ', a truncated record -- and the caller hands those to
 * jansson, which keeps all real decoding and all error handling.  On the
 * subset both agree: same strings, same integers, the last of duplicate
 * keys wins (as json_object_set()), and nothing after the closing brace is
 * read (JSON_DISABLE_EOF_CHECK).
 */
/*
 * Whether every byte of s[0..len) is printable ASCII other than '\\'
 * (quotes allowed), 8 bytes per test (SWAR: with ones = 0x01..01 and highs
 * = 0x80..80, (v - n * ones) & ~v & highs is non-zero exactly when a byte
 * of v is below n, for n <= 0x80, and v ^ c..c turns "is c" into "is 0").
 */
static bool all_plain(const char *s, size_t len)
{
	const uint64_t ones = UINT64_C(0x0101010101010101), highs = UINT64_C(0x8080808080808080);
	size_t i = 0;
	for (; i + 8 <= len; i += 8) {
		uint64_t v, b, d;
		memcpy(&v, s + i, 8);
		b = v ^ ('\\' * ones);
		d = v ^ (0x7f * ones);
		if ((((v - 0x20 * ones) & ~v) | v | ((b - ones) & ~b) | ((d - ones) & ~d)) & highs)
			return false;
	}
	for (; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c >= 0x7F || c == '\\')
			return false;
	}
	return true;
}

static bool flat_plain_object(const char *s, size_t len, struct jf_value f[JF__COUNT])
{
	size_t i = 1;
	/* A record of plain bytes throughout (the usual case, checked 8 bytes
	 * at a time) needs no check per string byte, only the search for the
	 * closing quote.  Otherwise each string is checked as it is read, so
	 * that junk after the closing brace still does not matter. */
	bool plain = all_plain(s, len);
#define SKIP_SP() do { while (i < len && s[i] == ' ') i++; } while (0)
	/* a plain string starting at s[i] == '"': sets a, n; false if not plain */
#define PLAIN_STRING(a, n) do {                                                        \
		size_t st_ = ++i;                                                     \
		if (plain)                                                            \
			while (i < len && s[i] != '"')                                \
				i++;                                                  \
		while (i < len && s[i] != '"') {                                      \
			unsigned char c_ = (unsigned char)s[i];                       \
			if (c_ < 0x20 || c_ >= 0x7F || c_ == '\\')                    \
				return false;                                         \
			i++;                                                          \
		}                                                                     \
		if (i >= len)                                                         \
			return false;                                                 \
		(a) = s + st_;                                                        \
		(n) = i - st_;                                                        \
		i++;                                                                  \
	} while (0)

	for (int k = 0; k < JF__COUNT; k++)
		f[k] = (struct jf_value){ NULL, 0, false, 0 };
	SKIP_SP();
	if (i < len && s[i] == '}')
		return true;
	for (;;) {
		const char *key, *str = NULL;
		size_t klen, slen = 0;
		int which = -1;
		bool is_int = false;
		int64_t num = 0;

		if (i >= len || s[i] != '"')
			return false;
		PLAIN_STRING(key, klen);
		SKIP_SP();
		if (i >= len || s[i] != ':')
			return false;
		i++;
		SKIP_SP();
		if (i >= len)
			return false;
		if (s[i] == '"') {
			PLAIN_STRING(str, slen);
		} else if (s[i] >= '0' && s[i] <= '9') {
			size_t st = i;
			/* at most 18 digits: fits int64_t, and longer goes to jansson */
			while (i < len && s[i] >= '0' && s[i] <= '9') {
				if (i - st == 18)
					return false;
				num = num * 10 + (s[i++] - '0');
			}
			if (s[st] == '0' && i - st > 1)
				return false;
			is_int = true;
		} else if (len - i >= 4 && (!memcmp(s + i, "true", 4) || !memcmp(s + i, "null", 4))) {
			i += 4;
		} else if (len - i >= 5 && !memcmp(s + i, "false", 5)) {
			i += 5;
		} else {
			return false;
		}
		/* a number or literal must end here too: "12.5", "truex" go to jansson */
		SKIP_SP();
		if (i >= len || (s[i] != ',' && s[i] != '}'))
			return false;
		/* the names we want differ in length: one compare per key */
		if (klen < sizeof(jf_by_len) && jf_by_len[klen] &&
		    !memcmp(key, jf_names[jf_by_len[klen] - 1].name, klen))
			which = jf_by_len[klen] - 1;
		if (which >= 0)
			f[which] = (struct jf_value){ str, slen, is_int, num };
		if (s[i++] == '}')
			return true;
		SKIP_SP();
	}
#undef PLAIN_STRING
#undef SKIP_SP
}

/* The same fields from a jansson object (strings borrowed from o). */
static void fields_from_json(json_t *o, struct jf_value f[JF__COUNT])
{
	for (int k = 0; k < JF__COUNT; k++) {
		json_t *v = json_object_get(o, jf_names[k].name);
		f[k] = (struct jf_value){ NULL, 0, false, 0 };
		if (json_is_string(v)) {
			f[k].s = json_string_value(v);
			f[k].len = json_string_length(v);
		} else if (json_is_integer(v)) {
			f[k].is_int = true;
			f[k].num = json_integer_value(v);
		}
	}
}

/*
 * Whether s holds "\"error_severity\":".  glibc's memmem() prepares a
 * shift table per call (5% of a pg-json parse); instead memchr() for its
 * 'y', rare in a record, and a memcmp() around each hit.
 */
static bool has_severity_key(const char *s, size_t len)
{
	static const char key[] = "\"error_severity\":";
	const size_t kl = sizeof(key) - 1, k = 14; /* key[14] == 'y' */
	const char *p, *end;
	if (len < kl)
		return false;
	p = s + k;
	end = s + len - kl + k + 1; /* one past the last place key[k] can be */
	while (p < end && (p = memchr(p, key[k], (size_t)(end - p)))) {
		if (!memcmp(p - k, key, kl))
			return true;
		p++;
	}
	return false;
}

static enum unparsed_reason json_record(struct parse_ctx *ctx, const struct record *rec,
					bool foreign)
{
	json_t *o = NULL;
	json_error_t err;
	struct jf_value f[JF__COUNT];
	struct pg_message m;
	bool zone;
	enum unparsed_reason r = UNPARSED_NONE;

	if (!rec->len || rec->s[0] != '{')
		return UNPARSED_UNKNOWN_LAYOUT;
	/* cheap test before the parser: every jsonlog record has these keys */
	if (!has_severity_key(rec->s, rec->len))
		return UNPARSED_UNKNOWN_LAYOUT;
	if (!flat_plain_object(rec->s, rec->len, f)) {
		o = json_loadb(rec->s, rec->len, JSON_DISABLE_EOF_CHECK, &err);
		if (!json_is_object(o)) {
			json_decref(o);
			return foreign || !(rec->flags & LINE_F_NO_EOL) ? UNPARSED_UNKNOWN_LAYOUT
								       : UNPARSED_TRUNCATED;
		}
		fields_from_json(o, f);
	}
	pg_message_init(&m);
	if (f[JF_SEVERITY].s)
		m.sev = pg_severity_from(f[JF_SEVERITY].s, f[JF_SEVERITY].len);
	m.msg = f[JF_MESSAGE].s;
	m.msg_len = f[JF_MESSAGE].len;
	if (!f[JF_TIMESTAMP].s || !m.msg || m.sev == PG_SEV_NONE || pg_severity_is_aux(m.sev)) {
		r = foreign ? UNPARSED_UNKNOWN_LAYOUT : UNPARSED_BAD_FIELD;
		goto out;
	}
	if (!logtime_parse_cached(&ctx->time_cache, f[JF_TIMESTAMP].s, f[JF_TIMESTAMP].len,
				  &ctx->opts->tz, &m.ts, &zone)) {
		r = foreign ? UNPARSED_UNKNOWN_LAYOUT : UNPARSED_NO_TIMESTAMP;
		goto out;
	}
	parse_note_ts(ctx, m.ts, zone);
	if (f[JF_PID].is_int && f[JF_PID].num > 0 && f[JF_PID].num <= INT32_MAX)
		m.pid = (int32_t)f[JF_PID].num;
	m.user = f[JF_USER].s;
	m.user_len = f[JF_USER].len;
	m.db = f[JF_DBNAME].s;
	m.db_len = f[JF_DBNAME].len;
	if (f[JF_STATE].s)
		m.sqlstate = pg_sqlstate_pack(f[JF_STATE].s, f[JF_STATE].len);
	/* the strings live in rec or in o: emit before releasing o */
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
