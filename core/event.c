#include "core/event.h"
#include <string.h>
#include "core/json.h"
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

void event_to_json(const struct event *ev, const char *src_name, struct strbuf *out)
{
	struct jw w;
	const struct kind_info *ki = &kinds[ev->kind < EVENT_KIND__COUNT ? ev->kind : 0];

	jw_init(&w, out, false);
	jw_obj_begin(&w);
	jw_kts(&w, "ts", ev->ts);
	jw_kstr(&w, "kind", ki->name);
	jw_kstr(&w, "src", src_name);
	jw_kint(&w, "line", ev->line);
	if (ev->pid)
		jw_kint(&w, "pid", ev->pid);
	if (ev->pool)
		jw_kint(&w, "pool", ev->pool);
	if (ev->conn)
		jw_kstr(&w, "conn", ev->conn);
	if (ev->origin)
		jw_kstr(&w, "origin", event_origin_name(ev->origin));
	if (ev->text && ki->text_key)
		jw_kstr(&w, ki->text_key, ev->text);
	if (ev->text2 && ki->text2_key)
		jw_kstr(&w, ki->text2_key, ev->text2);
	switch (ki->payload) {
	case P_TIMEOUT:
		if (ev->u.timeout.pool_size >= 0)
			jw_kint(&w, "pool_size", ev->u.timeout.pool_size);
		if (ev->u.timeout.max_overflow != INT32_MIN)
			jw_kint(&w, "max_overflow", ev->u.timeout.max_overflow);
		if (ev->u.timeout.timeout_usec >= 0)
			jw_kusec_s(&w, "timeout", ev->u.timeout.timeout_usec);
		break;
	case P_STATS:
		if (ev->u.stats.pool_size >= 0)
			jw_kint(&w, "pool_size", ev->u.stats.pool_size);
		if (ev->u.stats.checked_in >= 0)
			jw_kint(&w, "checked_in", ev->u.stats.checked_in);
		if (ev->u.stats.checked_out >= 0)
			jw_kint(&w, "checked_out", ev->u.stats.checked_out);
		if (ev->u.stats.overflow != INT32_MIN)
			jw_kint(&w, "overflow", ev->u.stats.overflow);
		if (ev->u.stats.waiting >= 0)
			jw_kint(&w, "waiting", ev->u.stats.waiting);
		break;
	case P_HTTP:
		jw_kint(&w, "status", ev->u.http.status);
		if (ev->u.http.bytes >= 0)
			jw_kint(&w, "bytes", ev->u.http.bytes);
		break;
	case P_BATCH:
		if (ev->u.batch.entries >= 0)
			jw_kint(&w, "entries", ev->u.batch.entries);
		if (ev->u.batch.processed >= 0)
			jw_kint(&w, "processed", ev->u.batch.processed);
		if (ev->u.batch.connections >= 0)
			jw_kint(&w, "connections", ev->u.batch.connections);
		if (ev->u.batch.commits >= 0)
			jw_kint(&w, "commits", ev->u.batch.commits);
		break;
	case P_PG:
		if (ev->u.pg.sqlstate) {
			char st[6];
			event_sqlstate_unpack(ev->u.pg.sqlstate, st);
			jw_kstr(&w, "sqlstate", st);
		}
		break;
	case P_NONE:
		break;
	}
	if (ev->dur != EVENT_NO_DURATION)
		jw_kusec_s(&w, "duration", ev->dur);
	if (ev->flags & EVENT_F_TS_INFERRED)
		jw_kbool(&w, "ts_inferred", true);
	if (ev->flags & EVENT_F_LATE_OK)
		jw_kbool(&w, "late", true);
	if (ev->flags & EVENT_F_DUR_PARTIAL)
		jw_kbool(&w, "duration_partial", true);
	jw_obj_end(&w);
}
