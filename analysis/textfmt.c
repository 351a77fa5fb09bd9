#include "analysis/textfmt.h"
#include <math.h>
#include <string.h>
#include "core/banned.h"

void tf_time(struct strbuf *o, log_usec t)
{
	char iso[32];
	if (t == LOG_USEC_NONE) {
		strbuf_addstr(o, "?");
		return;
	}
	logtime_format_iso(t, iso);
	strbuf_add(o, iso + 11, 12);
}

void tf_iso(struct strbuf *o, log_usec t)
{
	char iso[32];
	if (t == LOG_USEC_NONE) {
		strbuf_addstr(o, "?");
		return;
	}
	logtime_format_iso(t, iso);
	strbuf_add(o, iso, 10);
	strbuf_addch(o, ' ');
	strbuf_add(o, iso + 11, 8);
	strbuf_addstr(o, " UTC");
}

void tf_dur(struct strbuf *o, double usec)
{
	double s = usec / 1e6;
	if (!isfinite(s) || s < 0) {
		strbuf_addstr(o, "?");
		return;
	}
	if (s < 0.001)
		strbuf_addf(o, "%.2f ms", s * 1000);
	else if (s < 1)
		strbuf_addf(o, "%.0f ms", s * 1000);
	else if (s < 60)
		strbuf_addf(o, "%.2f s", s);
	else if (s < 3600)
		strbuf_addf(o, "%dm%02ds", (int)(s / 60), (int)fmod(s, 60));
	else
		strbuf_addf(o, "%dh%02dm", (int)(s / 3600), (int)fmod(s / 60, 60));
}

void tf_dur_range(struct strbuf *o, double lo, double hi)
{
	if (lo / 1e6 >= 1 && hi / 1e6 < 60) {
		strbuf_addf(o, "%.1f-%.1f s", lo / 1e6, hi / 1e6);
		return;
	}
	tf_dur(o, lo);
	strbuf_addstr(o, " to ");
	tf_dur(o, hi);
}

void tf_clean(struct strbuf *o, const char *s, size_t max)
{
	size_t n;
	if (!s)
		return;
	n = strlen(s);
	for (size_t i = 0; i < n && i < max;) {
		/* controls (C0, DEL, C1 like U+009B CSI) and invalid UTF-8 as '?' */
		size_t skip, k = utf8_printable(s + i, n - i, &skip);
		if (!k) {
			strbuf_addch(o, '?');
			i += skip;
			continue;
		}
		strbuf_add(o, s + i, k);
		i += k;
	}
	if (n > max)
		strbuf_addstr(o, "...");
}

void tf_md(struct strbuf *o, const char *s, size_t max)
{
	size_t n;
	if (!s)
		return;
	n = strlen(s);
	for (size_t i = 0; i < n && i < max; i++) {
		unsigned char c = (unsigned char)s[i];
		size_t skip, k = utf8_printable(s + i, n - i, &skip);
		if (!k) {
			/* controls (C0, DEL, C1) and invalid UTF-8 */
			strbuf_addch(o, '?');
			i += skip - 1;
			continue;
		}
		if (k > 1) {
			strbuf_add(o, s + i, k);
			i += k - 1;
			continue;
		}
		/* Markdown punctuation, the table pipe, raw HTML, and $ (math
		 * on GitHub: "$(x)...$" would render as a formula) */
		if (strchr("\\`*_{}[]()#+-.!|<>&~$", c) && c) {
			if (c == '<')
				strbuf_addstr(o, "&lt;");
			else if (c == '>')
				strbuf_addstr(o, "&gt;");
			else if (c == '&')
				strbuf_addstr(o, "&amp;");
			else {
				strbuf_addch(o, '\\');
				strbuf_addch(o, (char)c);
			}
			continue;
		}
		strbuf_addch(o, (char)c);
	}
	if (n > max)
		strbuf_addstr(o, "...");
}

void tf_html(struct strbuf *o, const char *s, size_t max)
{
	size_t n;
	if (!s)
		return;
	n = strlen(s);
	for (size_t i = 0; i < n && i < max; i++) {
		unsigned char c = (unsigned char)s[i];
		switch (c) {
		case '&': strbuf_addstr(o, "&amp;"); break;
		case '<': strbuf_addstr(o, "&lt;"); break;
		case '>': strbuf_addstr(o, "&gt;"); break;
		case '"': strbuf_addstr(o, "&quot;"); break;
		case '\'': strbuf_addstr(o, "&#39;"); break;
		default: {
			/* controls (C0, DEL, C1) and invalid UTF-8 as '?' */
			size_t skip, k = utf8_printable(s + i, n - i, &skip);
			if (!k) {
				strbuf_addch(o, '?');
				i += skip - 1;
			} else {
				strbuf_add(o, s + i, k);
				i += k - 1;
			}
		}
		}
	}
	if (n > max)
		strbuf_addstr(o, "...");
}

void tf_ref(struct strbuf *o, const struct analysis *a, uint32_t src, uint32_t line, bool md)
{
	if (md) {
		strbuf_addch(o, '`');
		/* a backtick cannot be escaped inside a code span: replace it */
		for (const char *p = analysis_src_name(a, src); *p; p++)
			strbuf_addch(o, (*p == '`' || *p == '|' || (unsigned char)*p < 0x20) ? '?' : *p);
		strbuf_addf(o, ":%u`", line);
		return;
	}
	tf_clean(o, analysis_src_name(a, src), 200);
	strbuf_addf(o, ":%u", line);
}

void tf_quoted(struct strbuf *o, const char *s, bool md)
{
	if (md) {
		strbuf_addch(o, '\'');
		tf_md(o, s, 60);
		strbuf_addch(o, '\'');
	} else {
		strbuf_addch(o, '\'');
		tf_clean(o, s, 60);
		strbuf_addch(o, '\'');
	}
}

void tf_pool_config(struct strbuf *o, const struct pool_config *c)
{
	if (c->pool_size >= 0)
		strbuf_addf(o, "size %d", (int)c->pool_size);
	if (c->max_overflow != INT32_MIN)
		strbuf_addf(o, " + overflow %d", (int)c->max_overflow);
	if (c->timeout_usec >= 0) {
		strbuf_addstr(o, ", timeout ");
		tf_dur(o, (double)c->timeout_usec);
	}
}

void tf_step(struct strbuf *o, int64_t usec)
{
	if (usec > 0 && usec % (3600 * USEC_PER_SEC) == 0)
		strbuf_addf(o, "%lld h", (long long)(usec / (3600 * USEC_PER_SEC)));
	else if (usec > 0 && usec % (60 * USEC_PER_SEC) == 0)
		strbuf_addf(o, "%lld min", (long long)(usec / (60 * USEC_PER_SEC)));
	else if (usec > 0 && usec % USEC_PER_SEC == 0)
		strbuf_addf(o, "%lld s", (long long)(usec / USEC_PER_SEC));
	else
		strbuf_addf(o, "%.3g s", (double)usec / 1e6);
}
