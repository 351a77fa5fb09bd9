#define _GNU_SOURCE 1 /* memmem() */
#include <jansson.h>
#include <math.h>
#include <string.h>
#include "core/error.h"
#include "parsers/format.h"
#include "core/banned.h"

/*
 * poolscope's own event stream (format "poolscope-events"): the JSON Lines
 * that `poolscope parse` and `poolscope replay --events` write
 * (event_to_json(): ts, kind, src, line, pid, pool, conn, origin, the kind's
 * text keys and payload, duration, flags).  Reading it back lets `analyze`,
 * `compare` and `report` work on a simulated run, or on events parsed once
 * and kept.  `{"summary": ...}` lines of `parse --summary` are skipped.
 *
 * The src/line an event names are those of the original log; they are
 * kept only as far as the event struct can (src becomes this file, line
 * this line), so evidence points at the JSON line, which names the original.
 */

/* The text and text2 keys per kind, as event_to_json() writes them. */
static const struct {
	const char *text, *text2;
} text_keys[EVENT_KIND__COUNT] = {
	[EVENT_POOL_CLOSE] = { NULL, "mode" },
	[EVENT_POOL_INVALIDATE] = { "reason", "mode" },
	[EVENT_POOL_RESET] = { "reset", NULL },
	[EVENT_POOL_PREPING] = { NULL, "result" },
	[EVENT_POOL_CONNECT_ERROR] = { "message", NULL },
	[EVENT_POOL_DISPOSE] = { "message", NULL },
	[EVENT_POOL_TIMEOUT] = { "pool_class", NULL },
	[EVENT_POOL_STATS] = { "label", "status" },
	[EVENT_HTTP_REQUEST] = { "path", "method" },
	[EVENT_APP_ERROR] = { "message", "exception" },
	[EVENT_BATCH_START] = { "name", NULL },
	[EVENT_BATCH_END] = { "name", NULL },
	[EVENT_PG_CONNECT] = { "user", "database" },
	[EVENT_PG_DISCONNECT] = { "user", "database" },
	[EVENT_PG_TOO_MANY_CLIENTS] = { "message", "user" },
	[EVENT_PG_SLOW_STATEMENT] = { "statement", "user" },
	[EVENT_PG_LOCK_WAIT] = { "lock", "state" },
	[EVENT_PG_CANCEL] = { "reason", "user" },
	[EVENT_PG_ERROR] = { "message", "severity" },
};

static bool looks_like_event(const char *s, size_t len)
{
	return len > 8 && !memcmp(s, "{\"ts\":", 6) && memmem(s, len, "\"kind\":\"", 8);
}

static int events_detect(const struct line *lines, size_t n, const struct parse_opts *opts)
{
	size_t hit = 0, seen = 0;
	(void)opts;
	for (size_t i = 0; i < n; i++) {
		if (!lines[i].len)
			continue;
		seen++;
		if (looks_like_event(lines[i].s, lines[i].len) ||
		    (lines[i].len > 11 && !memcmp(lines[i].s, "{\"summary\":", 11)))
			hit++;
	}
	return seen ? (int)(hit * 100 / seen) : 0;
}

static const char *str_of(struct parse_ctx *ctx, json_t *o, const char *key)
{
	json_t *v = key ? json_object_get(o, key) : NULL;
	if (!json_is_string(v))
		return NULL;
	return parse_str(ctx, json_string_value(v), json_string_length(v));
}

/* Integer field into *out if present and in range; false if present but bad. */
static bool get_i32(json_t *o, const char *key, int32_t *out)
{
	json_t *v = json_object_get(o, key);
	json_int_t x;
	if (!v)
		return true;
	if (!json_is_integer(v))
		return false;
	x = json_integer_value(v);
	if (x < INT32_MIN || x > INT32_MAX)
		return false;
	*out = (int32_t)x;
	return true;
}

/* Seconds (a JSON number) into microseconds. */
static bool get_secs(json_t *o, const char *key, int64_t *out)
{
	json_t *v = json_object_get(o, key);
	double d;
	if (!v)
		return true;
	if (!json_is_number(v))
		return false;
	d = json_number_value(v);
	if (!(d > -9.2e12 && d < 9.2e12))
		return false;
	*out = (int64_t)llround(d * 1e6);
	return true;
}

static enum unparsed_reason events_parse(void *state, struct parse_ctx *ctx,
					 const struct record *rec)
{
	json_t *o, *v;
	json_error_t err;
	struct event ev;
	enum event_kind kind;
	const char *s;
	bool ok = true, zone;
	log_usec ts;
	int32_t i32;
	(void)state;

	if (!rec->len)
		return UNPARSED_NONE;
	if (rec->len > 11 && !memcmp(rec->s, "{\"summary\":", 11))
		return UNPARSED_NONE; /* parse --summary: not an event */
	if (!looks_like_event(rec->s, rec->len))
		return UNPARSED_UNKNOWN_LAYOUT;
	o = json_loadb(rec->s, rec->len, 0, &err);
	if (!json_is_object(o)) {
		json_decref(o);
		return (rec->flags & LINE_F_NO_EOL) ? UNPARSED_TRUNCATED : UNPARSED_UNKNOWN_LAYOUT;
	}
	v = json_object_get(o, "kind");
	kind = json_is_string(v) ? event_kind_from_name(json_string_value(v), json_string_length(v))
				 : EVENT_NONE;
	if (kind == EVENT_NONE) {
		json_decref(o);
		return UNPARSED_BAD_FIELD;
	}
	event_init(&ev, kind);
	v = json_object_get(o, "ts");
	if (json_is_string(v)) {
		if (logtime_parse(json_string_value(v), json_string_length(v), NULL, &ts, &zone) !=
		    json_string_length(v)) {
			json_decref(o);
			return UNPARSED_NO_TIMESTAMP;
		}
		ev.ts = ts;
		parse_note_ts(ctx, ts, true);
	} else if (!json_is_null(v)) {
		json_decref(o);
		return UNPARSED_NO_TIMESTAMP;
	}
	ok &= get_i32(o, "pid", &ev.pid);
	i32 = 0;
	ok &= get_i32(o, "pool", &i32);
	ev.pool = (uint8_t)(i32 >= 0 && i32 < 256 ? i32 : 0);
	ev.conn = str_of(ctx, o, "conn");
	v = json_object_get(o, "origin");
	if (json_is_string(v))
		ev.origin = (uint8_t)event_origin_from_name(json_string_value(v), json_string_length(v));
	ev.text = str_of(ctx, o, text_keys[kind].text);
	ev.text2 = str_of(ctx, o, text_keys[kind].text2);
	switch (kind) {
	case EVENT_POOL_TIMEOUT:
		ok &= get_i32(o, "pool_size", &ev.u.timeout.pool_size);
		ok &= get_i32(o, "max_overflow", &ev.u.timeout.max_overflow);
		ok &= get_secs(o, "timeout", &ev.u.timeout.timeout_usec);
		break;
	case EVENT_POOL_STATS:
		ok &= get_i32(o, "pool_size", &ev.u.stats.pool_size);
		ok &= get_i32(o, "checked_in", &ev.u.stats.checked_in);
		ok &= get_i32(o, "checked_out", &ev.u.stats.checked_out);
		ok &= get_i32(o, "overflow", &ev.u.stats.overflow);
		ok &= get_i32(o, "waiting", &ev.u.stats.waiting);
		break;
	case EVENT_HTTP_REQUEST:
		ok &= get_i32(o, "status", &ev.u.http.status);
		v = json_object_get(o, "bytes");
		if (json_is_integer(v))
			ev.u.http.bytes = json_integer_value(v);
		break;
	case EVENT_BATCH_START:
	case EVENT_BATCH_END:
		ok &= get_i32(o, "entries", &ev.u.batch.entries);
		ok &= get_i32(o, "processed", &ev.u.batch.processed);
		ok &= get_i32(o, "connections", &ev.u.batch.connections);
		ok &= get_i32(o, "commits", &ev.u.batch.commits);
		break;
	case EVENT_PG_CONNECT:
	case EVENT_PG_DISCONNECT:
	case EVENT_PG_TOO_MANY_CLIENTS:
	case EVENT_PG_SLOW_STATEMENT:
	case EVENT_PG_LOCK_WAIT:
	case EVENT_PG_CANCEL:
	case EVENT_PG_ERROR:
		s = str_of(ctx, o, "sqlstate");
		if (s && strlen(s) == 5)
			ev.u.pg.sqlstate = event_sqlstate_pack(s);
		break;
	default:
		break;
	}
	ok &= get_secs(o, "duration", &ev.dur);
	if (json_is_true(json_object_get(o, "ts_inferred")))
		ev.flags |= EVENT_F_TS_INFERRED;
	if (json_is_true(json_object_get(o, "late")))
		ev.flags |= EVENT_F_LATE_OK;
	if (json_is_true(json_object_get(o, "simulated")))
		ev.flags |= EVENT_F_SIMULATED;
	if (json_is_true(json_object_get(o, "live")))
		ev.flags |= EVENT_F_LIVE;
	if (!ok) {
		json_decref(o);
		return UNPARSED_BAD_FIELD;
	}
	parse_emit(ctx, &ev);
	json_decref(o);
	return UNPARSED_NONE;
}

const struct format format_poolscope_events = {
	.name = "poolscope-events",
	.description = "poolscope's own JSON Lines events (`parse`, `replay --events`)",
	.detect = events_detect,
	.parse = events_parse,
};
