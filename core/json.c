#include "core/json.h"
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "core/error.h"
#include "core/banned.h"

void jw_init(struct jw *w, struct strbuf *out, bool pretty)
{
	memset(w, 0, sizeof(*w));
	w->out = out;
	w->pretty = pretty;
	w->first[0] = true;
}

static void newline_indent(struct jw *w)
{
	if (!w->pretty)
		return;
	strbuf_addch(w->out, '\n');
	for (int i = 0; i < w->depth; i++)
		strbuf_add(w->out, "  ", 2);
}

/* Before any value: a comma if needed, unless the value follows a key. */
static void pre_value(struct jw *w)
{
	if (w->after_key) {
		w->after_key = false;
		return;
	}
	if (!w->first[w->depth])
		strbuf_addch(w->out, ',');
	w->first[w->depth] = false;
	if (w->depth)
		newline_indent(w);
}

static void open(struct jw *w, char c)
{
	pre_value(w);
	strbuf_addch(w->out, c);
	if (++w->depth >= JW_MAX_DEPTH)
		BUG("JSON nesting too deep");
	w->first[w->depth] = true;
}

static void close_(struct jw *w, char c)
{
	bool empty = w->first[w->depth];
	if (w->depth == 0)
		BUG("JSON close without open");
	w->depth--;
	if (!empty)
		newline_indent(w);
	strbuf_addch(w->out, c);
}

void jw_obj_begin(struct jw *w) { open(w, '{'); }
void jw_obj_end(struct jw *w) { close_(w, '}'); }
void jw_arr_begin(struct jw *w) { open(w, '['); }
void jw_arr_end(struct jw *w) { close_(w, ']'); }

void jw_key(struct jw *w, const char *key)
{
	pre_value(w);
	/* keys are program literals: plain ASCII, nothing to escape */
	strbuf_addch(w->out, '"');
	strbuf_addstr(w->out, key);
	strbuf_add(w->out, w->pretty ? "\": " : "\":", w->pretty ? 3 : 2);
	w->after_key = true;
}

void jw_strn(struct jw *w, const char *s, size_t len)
{
	pre_value(w);
	strbuf_addch(w->out, '"');
	strbuf_add_json_escaped(w->out, s, len);
	strbuf_addch(w->out, '"');
}

void jw_str(struct jw *w, const char *s)
{
	if (!s) {
		jw_null(w);
		return;
	}
	jw_strn(w, s, strlen(s));
}

void jw_int(struct jw *w, int64_t v)
{
	pre_value(w);
	strbuf_add_i64(w->out, v);
}

size_t format_num(char *out, size_t size, double v, int decimals)
{
	int n;
	if (!isfinite(v))
		return (size_t)snprintf(out, size, "null");
	if (decimals < 0)
		decimals = 0;
	if (decimals > 9)
		decimals = 9;
	n = snprintf(out, size, "%.*f", decimals, v);
	if (n < 0 || (size_t)n >= size)
		BUG("format_num overflow");
	if (memchr(out, '.', (size_t)n)) {
		while (n > 0 && out[n - 1] == '0')
			n--;
		if (n > 0 && out[n - 1] == '.')
			n--;
		out[n] = '\0';
	}
	if (!strcmp(out, "-0")) {
		out[0] = '0';
		out[1] = '\0';
		n = 1;
	}
	return (size_t)n;
}

void jw_num(struct jw *w, double v, int decimals)
{
	char buf[400];
	size_t n = format_num(buf, sizeof(buf), v, decimals);
	pre_value(w);
	strbuf_add(w->out, buf, n);
}

void jw_usec_s(struct jw *w, int64_t usec)
{
	char buf[40];
	int n;
	uint64_t a = usec < 0 ? (uint64_t)(-(usec + 1)) + 1 : (uint64_t)usec;
	pre_value(w);
	/* exact: integer seconds and a 6-digit fraction with trailing zeros removed */
	uint64_t frac = a % 1000000;
	if (usec < 0)
		strbuf_addch(w->out, '-');
	strbuf_add_i64(w->out, (int64_t)(a / 1000000));
	if (!frac)
		return;
	buf[0] = '.';
	for (n = 6; n >= 1; n--) {
		buf[n] = (char)('0' + frac % 10);
		frac /= 10;
	}
	for (n = 6; buf[n] == '0'; n--)
		;
	strbuf_add(w->out, buf, (size_t)n + 1);
}

void jw_bool(struct jw *w, bool v)
{
	pre_value(w);
	strbuf_addstr(w->out, v ? "true" : "false");
}

void jw_null(struct jw *w)
{
	pre_value(w);
	strbuf_add(w->out, "null", 4);
}

void jw_ts(struct jw *w, log_usec t)
{
	char buf[32];
	if (t == LOG_USEC_NONE) {
		jw_null(w);
		return;
	}
	logtime_format_iso(t, buf);
	pre_value(w);
	strbuf_addch(w->out, '"');
	strbuf_addstr(w->out, buf);
	strbuf_addch(w->out, '"');
}

void jw_kstr(struct jw *w, const char *key, const char *s) { jw_key(w, key); jw_str(w, s); }
void jw_kint(struct jw *w, const char *key, int64_t v) { jw_key(w, key); jw_int(w, v); }
void jw_knum(struct jw *w, const char *key, double v, int d) { jw_key(w, key); jw_num(w, v, d); }
void jw_kusec_s(struct jw *w, const char *key, int64_t u) { jw_key(w, key); jw_usec_s(w, u); }
void jw_kts(struct jw *w, const char *key, log_usec t) { jw_key(w, key); jw_ts(w, t); }
void jw_kbool(struct jw *w, const char *key, bool v) { jw_key(w, key); jw_bool(w, v); }
