#include "core/event.h"
#include <string.h>
#include "core/error.h"
#include "core/logtime.h"
#include "core/strbuf.h"
#include "core/banned.h"

enum payload { P_NONE, P_TIMEOUT, P_STATS, P_HTTP, P_BATCH, P_PG };

/* Per kind: its contract name, the JSON keys of text/text2, its union member. */
static const struct kind_info {
	const char *name;
	const char *text_key;
	const char *text2_key;
	enum payload payload;
} kinds[EVENT_KIND__COUNT] = {
	[EVENT_NONE] = { "none", NULL, NULL, P_NONE },
	[EVENT_POOL_CHECKOUT] = { "pool_checkout", NULL, NULL, P_NONE },
	[EVENT_POOL_CHECKIN] = { "pool_checkin", NULL, NULL, P_NONE },
	[EVENT_POOL_CONNECT] = { "pool_connect", NULL, NULL, P_NONE },
	[EVENT_POOL_CLOSE] = { "pool_close", NULL, "mode", P_NONE },
	[EVENT_POOL_INVALIDATE] = { "pool_invalidate", "reason", "mode", P_NONE },
	[EVENT_POOL_RESET] = { "pool_reset", "reset", NULL, P_NONE },
	[EVENT_POOL_PREPING] = { "pool_preping", NULL, "result", P_NONE },
	[EVENT_POOL_CONNECT_ERROR] = { "pool_connect_error", "message", NULL, P_NONE },
	[EVENT_POOL_DISPOSE] = { "pool_dispose", "message", NULL, P_NONE },
	[EVENT_POOL_TIMEOUT] = { "pool_timeout", "pool_class", NULL, P_TIMEOUT },
	[EVENT_POOL_STATS] = { "pool_stats", "label", "status", P_STATS },
	[EVENT_HTTP_REQUEST] = { "http_request", "path", "method", P_HTTP },
	[EVENT_APP_ERROR] = { "app_error", "message", "exception", P_NONE },
	[EVENT_BATCH_START] = { "batch_start", "name", NULL, P_BATCH },
	[EVENT_BATCH_END] = { "batch_end", "name", NULL, P_BATCH },
	[EVENT_PG_CONNECT] = { "pg_connect", "user", "database", P_PG },
	[EVENT_PG_DISCONNECT] = { "pg_disconnect", "user", "database", P_PG },
	[EVENT_PG_TOO_MANY_CLIENTS] = { "pg_too_many_clients", "message", "user", P_PG },
	[EVENT_PG_SLOW_STATEMENT] = { "pg_slow_statement", "statement", "user", P_PG },
	[EVENT_PG_LOCK_WAIT] = { "pg_lock_wait", "lock", "state", P_PG },
	[EVENT_PG_CANCEL] = { "pg_cancel", "reason", "user", P_PG },
	[EVENT_PG_ERROR] = { "pg_error", "message", "severity", P_PG },
};

static const char *const origins[ORIGIN__COUNT] = { "unknown", "api", "batch" };

void event_init(struct event *ev, enum event_kind kind)
{
	memset(ev, 0, sizeof(*ev));
	ev->ts = LOG_USEC_NONE;
	ev->dur = EVENT_NO_DURATION;
	ev->kind = (uint16_t)kind;
	switch (kinds[kind].payload) {
	case P_TIMEOUT:
		ev->u.timeout.pool_size = -1;
		ev->u.timeout.max_overflow = INT32_MIN;
		ev->u.timeout.timeout_usec = -1;
		break;
	case P_STATS:
		ev->u.stats.pool_size = -1;
		ev->u.stats.checked_in = -1;
		ev->u.stats.checked_out = -1;
		ev->u.stats.overflow = INT32_MIN;
		ev->u.stats.waiting = -1;
		break;
	case P_HTTP:
		ev->u.http.bytes = -1;
		break;
	case P_BATCH:
		ev->u.batch.entries = -1;
		ev->u.batch.connections = -1;
		ev->u.batch.commits = -1;
		ev->u.batch.processed = -1;
		break;
	default:
		break;
	}
}

const char *event_kind_name(enum event_kind kind)
{
	return (unsigned)kind < EVENT_KIND__COUNT ? kinds[kind].name : "none";
}

enum event_kind event_kind_from_name(const char *name, size_t len)
{
	for (int k = 1; k < EVENT_KIND__COUNT; k++)
		if (strlen(kinds[k].name) == len && !memcmp(kinds[k].name, name, len))
			return (enum event_kind)k;
	return EVENT_NONE;
}

const char *event_origin_name(enum event_origin o)
{
	return (unsigned)o < ORIGIN__COUNT ? origins[o] : "unknown";
}

enum event_origin event_origin_from_name(const char *name, size_t len)
{
	for (int o = 0; o < ORIGIN__COUNT; o++)
		if (strlen(origins[o]) == len && !memcmp(origins[o], name, len))
			return (enum event_origin)o;
	return ORIGIN_UNKNOWN;
}

static int b36(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'Z')
		return c - 'A' + 10;
	return -1;
}

int32_t event_sqlstate_pack(const char *s)
{
	int32_t v = 0;
	if (!s)
		return 0;
	for (int i = 0; i < 5; i++) {
		int d = b36(s[i]);
		if (d < 0)
			return 0;
		v = v * 36 + d;
	}
	return v + 1; /* 0 stays "none" */
}

void event_sqlstate_unpack(int32_t v, char out[6])
{
	static const char digits[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
	out[0] = '\0';
	if (v <= 0)
		return;
	v -= 1;
	for (int i = 4; i >= 0; i--) {
		out[i] = digits[v % 36];
		v /= 36;
	}
	out[5] = '\0';
}

/*
 * event_to_json() is the hot path of `poolscope parse` (one call per event,
 * millions per run), so it does not go through the generic struct jw writer:
 * it reserves the worst-case size once and writes with plain stores and
 * memcpy of literal keys.  The output is byte for byte what the jw calls
 * below each step would write (jw_kstr, jw_kint, jw_kusec_s, jw_kts).
 */

/* Literal text: sizeof gives its length at compile time. */
#define PUT(p, lit) (memcpy((p), (lit), sizeof(lit) - 1), (p) + sizeof(lit) - 1)

/* Room for the fixed parts of one event: keys, numbers, the timestamp, the
 * kind and origin names (about 400 bytes at most; twice that for margin). */
#define EVENT_JSON_FIXED 1024

static char *put_i64(char *p, int64_t v)
{
	char tmp[24];
	size_t i = sizeof(tmp);
	uint64_t u = v < 0 ? (uint64_t)(-(v + 1)) + 1 : (uint64_t)v;
	do {
		tmp[--i] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		tmp[--i] = '-';
	memcpy(p, tmp + i, sizeof(tmp) - i);
	return p + sizeof(tmp) - i;
}

/* As jw_usec_s(): seconds with up to 6 decimals, trailing zeros removed. */
static char *put_usec_s(char *p, int64_t usec)
{
	uint64_t a = usec < 0 ? (uint64_t)(-(usec + 1)) + 1 : (uint64_t)usec;
	uint64_t frac = a % 1000000;
	char buf[7];
	int n;
	if (usec < 0)
		*p++ = '-';
	p = put_i64(p, (int64_t)(a / 1000000));
	if (!frac)
		return p;
	buf[0] = '.';
	for (n = 6; n >= 1; n--) {
		buf[n] = (char)('0' + frac % 10);
		frac /= 10;
	}
	for (n = 6; buf[n] == '0'; n--)
		;
	memcpy(p, buf, (size_t)n + 1);
	return p + n + 1;
}

/* ,"key": -- key is a program literal (plain ASCII, nothing to escape). */
static char *put_key(char *p, const char *key, size_t len)
{
	*p++ = ',';
	*p++ = '"';
	memcpy(p, key, len);
	p += len;
	*p++ = '"';
	*p++ = ':';
	return p;
}

static char *put_str(char *p, const char *s, size_t len)
{
	*p++ = '"';
	p = json_escape_to(p, s, len);
	*p++ = '"';
	return p;
}

/* Quoted text that needs no escaping: program literals and formatted numbers. */
static char *put_plain(char *p, const char *s, size_t len)
{
	*p++ = '"';
	memcpy(p, s, len);
	p += len;
	*p++ = '"';
	return p;
}

void event_json_src(struct strbuf *out, const char *src_name)
{
	strbuf_reset(out);
	if (!src_name) {
		strbuf_add(out, "null", 4);
		return;
	}
	strbuf_addch(out, '"');
	strbuf_add_json_escaped(out, src_name, strlen(src_name));
	strbuf_addch(out, '"');
}

void event_to_json(const struct event *ev, const char *src_name, struct strbuf *out)
{
	char buf[256];
	size_t len = src_name ? strlen(src_name) : 0;
	struct strbuf src = STRBUF_INIT;

	/* a short name is escaped on the stack: no allocation per event */
	if (src_name && len <= (sizeof(buf) - 2) / JSON_ESCAPE_MAX) {
		char *p = put_str(buf, src_name, len);
		event_to_json_src(ev, buf, (size_t)(p - buf), out);
		return;
	}
	event_json_src(&src, src_name);
	event_to_json_src(ev, src.buf, src.len, out);
	strbuf_release(&src);
}

void event_to_json_src(const struct event *ev, const char *src_json, size_t src_len,
		       struct strbuf *out)
{
	const struct kind_info *ki = &kinds[ev->kind < EVENT_KIND__COUNT ? ev->kind : 0];
	size_t conn_len = ev->conn ? strlen(ev->conn) : 0;
	bool text = ev->text && ki->text_key, text2 = ev->text2 && ki->text2_key;
	size_t text_len = text ? strlen(ev->text) : 0;
	size_t text2_len = text2 ? strlen(ev->text2) : 0;
	size_t kind_len = strlen(ki->name);
	size_t need;
	char *p, ts[32];

	/* the strings may need 6 bytes a byte escaped; the rest fits the fixed part */
	need = conn_len + text_len + text2_len;
	if (need > (SIZE_MAX - EVENT_JSON_FIXED - src_len - out->len - 1) / JSON_ESCAPE_MAX)
		BUG("event too large to write");
	strbuf_grow(out, need * JSON_ESCAPE_MAX + src_len + EVENT_JSON_FIXED);
	p = out->buf + out->len;

	p = PUT(p, "{\"ts\":");
	if (ev->ts == LOG_USEC_NONE) {
		p = PUT(p, "null");
	} else {
		logtime_format_iso(ev->ts, ts);
		p = put_plain(p, ts, strlen(ts));
	}
	p = PUT(p, ",\"kind\":");
	p = put_plain(p, ki->name, kind_len);
	p = PUT(p, ",\"src\":");
	memcpy(p, src_json, src_len);
	p += src_len;
	p = PUT(p, ",\"line\":");
	p = put_i64(p, ev->line);
	if (ev->pid) {
		p = PUT(p, ",\"pid\":");
		p = put_i64(p, ev->pid);
	}
	if (ev->pool) {
		p = PUT(p, ",\"pool\":");
		p = put_i64(p, ev->pool);
	}
	if (ev->conn) {
		p = PUT(p, ",\"conn\":");
		p = put_str(p, ev->conn, conn_len);
	}
	if (ev->origin) {
		const char *o = event_origin_name(ev->origin);
		p = PUT(p, ",\"origin\":");
		p = put_plain(p, o, strlen(o));
	}
	if (text) {
		p = put_key(p, ki->text_key, strlen(ki->text_key));
		p = put_str(p, ev->text, text_len);
	}
	if (text2) {
		p = put_key(p, ki->text2_key, strlen(ki->text2_key));
		p = put_str(p, ev->text2, text2_len);
	}
	switch (ki->payload) {
	case P_TIMEOUT:
		if (ev->u.timeout.pool_size >= 0) {
			p = PUT(p, ",\"pool_size\":");
			p = put_i64(p, ev->u.timeout.pool_size);
		}
		if (ev->u.timeout.max_overflow != INT32_MIN) {
			p = PUT(p, ",\"max_overflow\":");
			p = put_i64(p, ev->u.timeout.max_overflow);
		}
		if (ev->u.timeout.timeout_usec >= 0) {
			p = PUT(p, ",\"timeout\":");
			p = put_usec_s(p, ev->u.timeout.timeout_usec);
		}
		break;
	case P_STATS:
		if (ev->u.stats.pool_size >= 0) {
			p = PUT(p, ",\"pool_size\":");
			p = put_i64(p, ev->u.stats.pool_size);
		}
		if (ev->u.stats.checked_in >= 0) {
			p = PUT(p, ",\"checked_in\":");
			p = put_i64(p, ev->u.stats.checked_in);
		}
		if (ev->u.stats.checked_out >= 0) {
			p = PUT(p, ",\"checked_out\":");
			p = put_i64(p, ev->u.stats.checked_out);
		}
		if (ev->u.stats.overflow != INT32_MIN) {
			p = PUT(p, ",\"overflow\":");
			p = put_i64(p, ev->u.stats.overflow);
		}
		if (ev->u.stats.waiting >= 0) {
			p = PUT(p, ",\"waiting\":");
			p = put_i64(p, ev->u.stats.waiting);
		}
		break;
	case P_HTTP:
		p = PUT(p, ",\"status\":");
		p = put_i64(p, ev->u.http.status);
		if (ev->u.http.bytes >= 0) {
			p = PUT(p, ",\"bytes\":");
			p = put_i64(p, ev->u.http.bytes);
		}
		break;
	case P_BATCH:
		if (ev->u.batch.entries >= 0) {
			p = PUT(p, ",\"entries\":");
			p = put_i64(p, ev->u.batch.entries);
		}
		if (ev->u.batch.processed >= 0) {
			p = PUT(p, ",\"processed\":");
			p = put_i64(p, ev->u.batch.processed);
		}
		if (ev->u.batch.connections >= 0) {
			p = PUT(p, ",\"connections\":");
			p = put_i64(p, ev->u.batch.connections);
		}
		if (ev->u.batch.commits >= 0) {
			p = PUT(p, ",\"commits\":");
			p = put_i64(p, ev->u.batch.commits);
		}
		break;
	case P_PG:
		if (ev->u.pg.sqlstate) {
			char st[6];
			event_sqlstate_unpack(ev->u.pg.sqlstate, st);
			p = PUT(p, ",\"sqlstate\":");
			p = put_plain(p, st, strlen(st));
		}
		break;
	case P_NONE:
		break;
	}
	if (ev->dur != EVENT_NO_DURATION) {
		p = PUT(p, ",\"duration\":");
		p = put_usec_s(p, ev->dur);
	}
	if (ev->flags & EVENT_F_TS_INFERRED)
		p = PUT(p, ",\"ts_inferred\":true");
	if (ev->flags & EVENT_F_LATE_OK)
		p = PUT(p, ",\"late\":true");
	if (ev->flags & EVENT_F_DUR_PARTIAL)
		p = PUT(p, ",\"duration_partial\":true");
	*p++ = '}';
	out->len = (size_t)(p - out->buf);
	out->buf[out->len] = '\0';
}
