#include "core/strbuf.h"
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "core/banned.h"

char strbuf_slopbuf[1];

void strbuf_init(struct strbuf *sb, size_t hint)
{
	sb->alloc = sb->len = sb->cap = 0;
	sb->buf = strbuf_slopbuf;
	if (hint)
		strbuf_grow(sb, hint);
}

void strbuf_release(struct strbuf *sb)
{
	if (sb->alloc)
		free(sb->buf);
	sb->alloc = sb->len = 0;
	sb->buf = strbuf_slopbuf;
}

char *strbuf_detach(struct strbuf *sb, size_t *len)
{
	char *r;
	if (!sb->alloc)
		strbuf_grow(sb, 0);
	r = sb->buf;
	if (len)
		*len = sb->len;
	sb->alloc = sb->len = 0;
	sb->buf = strbuf_slopbuf;
	return r;
}

void strbuf_grow(struct strbuf *sb, size_t extra)
{
	bool fresh = !sb->alloc;
	if (sb->len + extra + 1 < sb->len)
		die("strbuf overflow");
	if (fresh)
		sb->buf = NULL;
	ALLOC_GROW(sb->buf, sb->len + extra + 1, sb->alloc);
	if (fresh)
		sb->buf[0] = '\0';
}

int strbuf_grow_capped(struct strbuf *sb, size_t extra)
{
	if (sb->cap && sb->len + extra > sb->cap)
		return -1;
	strbuf_grow(sb, extra);
	return 0;
}

void strbuf_setlen(struct strbuf *sb, size_t len)
{
	if (len > (sb->alloc ? sb->alloc - 1 : 0))
		BUG("strbuf_setlen() beyond buffer");
	sb->len = len;
	sb->buf[len] = '\0';
}

void strbuf_add(struct strbuf *sb, const void *data, size_t len)
{
	strbuf_grow(sb, len);
	memcpy(sb->buf + sb->len, data, len);
	sb->len += len;
	sb->buf[sb->len] = '\0';
}

void strbuf_addstr(struct strbuf *sb, const char *s)
{
	strbuf_add(sb, s, strlen(s));
}

void strbuf_add_i64(struct strbuf *sb, int64_t v)
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
	strbuf_add(sb, tmp + i, sizeof(tmp) - i);
}

void strbuf_addch_slow(struct strbuf *sb, int c)
{
	strbuf_grow(sb, 1);
	sb->buf[sb->len++] = (char)c;
	sb->buf[sb->len] = '\0';
}

void strbuf_addf(struct strbuf *sb, const char *fmt, ...)
{
	va_list ap;
	int n;
	if (!sb->alloc)
		strbuf_grow(sb, 64);
	va_start(ap, fmt);
	n = vsnprintf(sb->buf + sb->len, sb->alloc - sb->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		BUG("vsnprintf failed");
	if ((size_t)n >= sb->alloc - sb->len) {
		strbuf_grow(sb, (size_t)n);
		va_start(ap, fmt);
		n = vsnprintf(sb->buf + sb->len, sb->alloc - sb->len, fmt, ap);
		va_end(ap);
	}
	sb->len += (size_t)n;
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if invalid. */
static size_t utf8_seq_len(const unsigned char *s, size_t avail)
{
	unsigned char c = s[0];
	size_t n, i;
	uint32_t cp;
	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		n = 2, cp = c & 0x1F;
	else if (c >= 0xE0 && c <= 0xEF)
		n = 3, cp = c & 0x0F;
	else if (c >= 0xF0 && c <= 0xF4)
		n = 4, cp = c & 0x07;
	else
		return 0;
	if (avail < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3F);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
		return 0;
	return n;
}

/*
 * Byte classes for JSON string escaping: 0 is copied as is, 1 needs an
 * escape ('"', '\\', control characters and DEL), 2 starts a multi-byte
 * UTF-8 sequence that is validated.  A table keeps the inner loop to one
 * load and one test per byte, and plain runs are copied with one memcpy.
 */
static const unsigned char json_class[256] = {
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
};

/*
 * Eight bytes at a time ("SWAR"): for v holding 8 bytes, (v - 0x01..01) &
 * ~v & 0x80..80 is non-zero exactly when one of the bytes is zero (a borrow
 * can only start at a byte below 0x01), and with 0x20..20 in place of
 * 0x01..01, when one is below 0x20.  XOR with a repeated byte turns "equals
 * c" into "is zero".
 */
#define SWAR_ONES UINT64_C(0x0101010101010101)
#define SWAR_HIGHS UINT64_C(0x8080808080808080)
#define SWAR_BELOW(v, n) (((v) - (n) * SWAR_ONES) & ~(v) & SWAR_HIGHS)
#define SWAR_HAS(v, c) SWAR_BELOW((v) ^ ((c) * SWAR_ONES), 1)

/*
 * Whether any of the 8 bytes at s has a json_class other than 0: below
 * 0x20, '"', '\\', DEL, or 0x80 and up.  Never false when one has; a true
 * answer is settled by the byte loop, so the word test decides nothing on
 * its own.
 */
static inline bool json_special8(const unsigned char *s)
{
	uint64_t v;
	memcpy(&v, s, 8);
	return (SWAR_BELOW(v, 0x20) | (v & SWAR_HIGHS) | SWAR_HAS(v, '"') | SWAR_HAS(v, '\\') |
		SWAR_HAS(v, 0x7f)) != 0;
}

char *json_escape_to(char *dst, const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str, *end = s + len;
	static const char hex[] = "0123456789abcdef";

	while (s < end) {
		const unsigned char *run = s;
		size_t n;
		/* most text is plain ASCII: skip it 8 bytes per test */
		while (end - s >= 8 && !json_special8(s))
			s += 8;
		while (s < end && !json_class[*s])
			s++;
		if (s > run) {
			memcpy(dst, run, (size_t)(s - run));
			dst += s - run;
			if (s == end)
				break;
		}
		if (json_class[*s] == 2) {
			n = utf8_seq_len(s, (size_t)(end - s));
			if (n == 2 && s[0] == 0xC2 && s[1] < 0xA0) {
				/* C1 control: escaped, so a terminal showing the JSON
				 * never sees a raw CSI (U+009B) */
				memcpy(dst, "\\u00", 4);
				dst[4] = hex[s[1] >> 4];
				dst[5] = hex[s[1] & 15];
				dst += 6;
				s += 2;
			} else if (n) {
				memcpy(dst, s, n);
				dst += n;
				s += n;
			} else {
				memcpy(dst, "\xEF\xBF\xBD", 3);
				dst += 3;
				s++;
			}
			continue;
		}
		*dst++ = '\\';
		switch (*s) {
		case '"': *dst++ = '"'; break;
		case '\\': *dst++ = '\\'; break;
		case '\n': *dst++ = 'n'; break;
		case '\r': *dst++ = 'r'; break;
		case '\t': *dst++ = 't'; break;
		default:
			memcpy(dst, "u00", 3);
			dst[3] = hex[*s >> 4];
			dst[4] = hex[*s & 15];
			dst += 5;
		}
		s++;
	}
	return dst;
}

void strbuf_add_json_escaped(struct strbuf *sb, const char *str, size_t len)
{
	if (len > (SIZE_MAX - sb->len - 1) / JSON_ESCAPE_MAX)
		die("strbuf overflow");
	strbuf_grow(sb, len * JSON_ESCAPE_MAX);
	sb->len = (size_t)(json_escape_to(sb->buf + sb->len, str, len) - sb->buf);
	sb->buf[sb->len] = '\0';
}

size_t utf8_printable(const char *str, size_t avail, size_t *skip)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t n;
	*skip = 1;
	if (!avail)
		return 0;
	if (s[0] < 0x80)
		return (s[0] < 0x20 || s[0] == 0x7F) ? 0 : 1;
	n = utf8_seq_len(s, avail);
	if (n == 2 && s[0] == 0xC2 && s[1] < 0xA0) {
		*skip = 2;
		return 0;
	}
	return n;
}

bool strbuf_ends_with(const struct strbuf *sb, const char *suffix)
{
	size_t n = strlen(suffix);
	return sb->len >= n && !memcmp(sb->buf + sb->len - n, suffix, n);
}
