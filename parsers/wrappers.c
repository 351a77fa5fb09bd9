#include <jansson.h>
#include <string.h>
#include "core/strbuf.h"
#include "parsers/format.h"
#include "core/banned.h"

/*
 * Line wrappers: the envelope a log collector puts around each line the
 * application wrote.  The wrapper's time and pid reach the inner line's
 * events through parse_ctx hint_ts/hint_pid, used only when the inner line
 * has none of its own (uvicorn's access lines, for one, have no time).
 *
 * journald   `journalctl -o short-iso` / `short-iso-precise`:
 *              2026-11-26T15:02:33+0000 host app[1234]: message
 *              2026-11-26T15:02:33.123456+00:00 host app: message
 *            The identifier has no spaces; "[pid]" is optional.  journalctl's
 *            "-- Boot ... --" / "-- No entries --" banners become empty
 *            lines; the indented continuation lines of multi-line messages
 *            are passed on as they are (unwrap() has no state to know the
 *            indentation).
 *
 * docker     the json-file logging driver, one JSON object per line:
 *              {"log":"...\n","stream":"stdout","time":"2026-...789Z"}
 *            decoded with jansson (\u0000 allowed: the driver flags the
 *            inner line as binary); the trailing "\n" of "log" is dropped.
 *            NEEDSWORK: Docker splits lines over 16 KiB into several
 *            objects whose "log" lacks the "\n"; they are read as separate
 *            lines (unwrap() is stateless).
 */

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Split a journald short-iso line: returns the offset of the message, or 0. */
static size_t journald_split(const char *s, size_t len, log_usec *ts, int32_t *pid)
{
	size_t i, hs, is, ie;
	bool zone;

	*pid = 0;
	if (len < 26 || !is_digit(s[0]) || s[10] != 'T')
		return 0;
	i = logtime_parse(s, len, NULL, ts, &zone);
	if (!i || !zone || i >= len || s[i] != ' ')
		return 0;
	hs = ++i;
	while (i < len && s[i] != ' ')
		i++;
	if (i == hs || i >= len)
		return 0;
	is = ++i;
	while (i < len && s[i] != ' ' && !(s[i] == ':' && (i + 1 == len || s[i + 1] == ' ')))
		i++;
	if (i == is || i >= len || s[i] != ':')
		return 0;
	ie = i;
	if (s[ie - 1] == ']') {
		size_t b = ie - 1;
		int64_t v = 0;
		while (b > is && is_digit(s[b - 1]))
			b--;
		if (b > is && s[b - 1] == '[' && b < ie - 1 && ie - 1 - b <= 9) {
			for (size_t k = b; k < ie - 1; k++)
				v = v * 10 + (s[k] - '0');
			*pid = (int32_t)v;
		}
	}
	return i + 1 < len ? i + 2 : len;
}

static bool journald_unwrap(const struct line *in, struct strbuf *out, log_usec *ts,
			    int32_t *pid)
{
	log_usec t;
	int32_t p;
	size_t off;
	/* journalctl's own "-- Boot ... --" / "-- No entries --" banners are
	 * not the application's: an empty inner line */
	if (in->len >= 6 && !memcmp(in->s, "-- ", 3) && !memcmp(in->s + in->len - 3, " --", 3)) {
		*ts = LOG_USEC_NONE;
		*pid = 0;
		return true;
	}
	off = journald_split(in->s, in->len, &t, &p);
	if (!off)
		return false;
	strbuf_add(out, in->s + off, in->len - off);
	*ts = t;
	*pid = p;
	return true;
}

static int journald_detect(const struct line *lines, size_t n)
{
	size_t total = 0, hits = 0;
	for (size_t i = 0; i < n; i++) {
		log_usec t;
		int32_t p;
		const char *s = lines[i].s;
		if (!lines[i].len || (lines[i].len >= 3 && !memcmp(s, "-- ", 3)) || s[0] == ' ')
			continue;
		total++;
		hits += journald_split(s, lines[i].len, &t, &p) != 0;
	}
	return total ? (int)(100 * hits / total) : 0;
}

static bool docker_unwrap(const struct line *in, struct strbuf *out, log_usec *ts, int32_t *pid)
{
	json_error_t err;
	json_t *root, *log, *time;
	const char *v;
	size_t n;
	bool ok = false;

	/* the driver writes "log" first; anything else is not ours */
	if (in->len < 10 || memcmp(in->s, "{\"log\":", 7))
		return false;
	root = json_loadb(in->s, in->len, JSON_ALLOW_NUL, &err);
	if (!root)
		return false;
	log = json_object_get(root, "log");
	if (json_is_string(log)) {
		v = json_string_value(log);
		n = json_string_length(log);
		if (n && v[n - 1] == '\n')
			n--;
		if (n && v[n - 1] == '\r')
			n--;
		strbuf_add(out, v, n);
		*ts = LOG_USEC_NONE;
		time = json_object_get(root, "time");
		if (json_is_string(time)) {
			log_usec t;
			bool zone;
			const char *tv = json_string_value(time);
			if (logtime_parse(tv, json_string_length(time), NULL, &t, &zone))
				*ts = t;
		}
		*pid = 0;
		ok = true;
	}
	json_decref(root);
	return ok;
}

static int docker_detect(const struct line *lines, size_t n)
{
	size_t total = 0, hits = 0;
	struct strbuf sb = STRBUF_INIT;
	for (size_t i = 0; i < n; i++) {
		log_usec t;
		int32_t p;
		if (!lines[i].len)
			continue;
		total++;
		strbuf_reset(&sb);
		hits += docker_unwrap(&lines[i], &sb, &t, &p);
	}
	strbuf_release(&sb);
	return total ? (int)(100 * hits / total) : 0;
}

const struct wrapper wrapper_journald = {
	.name = "journald",
	.detect = journald_detect,
	.unwrap = journald_unwrap,
};

const struct wrapper wrapper_docker = {
	.name = "docker",
	.detect = docker_detect,
	.unwrap = docker_unwrap,
};
