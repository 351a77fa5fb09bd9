#ifndef POOLSCOPE_STRBUF_H
#define POOLSCOPE_STRBUF_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
/*
 * Length-carrying, NUL-terminated growable string (after git's strbuf).
 * buf is owned by the strbuf; it is never NULL after STRBUF_INIT (it points
 * to a shared empty string until the first growth).  Pointers into buf go
 * stale at the next call that may grow it.
 *
 * A strbuf may carry a cap (sb->cap, 0 = none): growth beyond the cap fails
 * with strbuf_*_capped() returning -1 and the buffer unchanged, so one corrupt
 * 10 GB "line" cannot eat memory.
 */
struct strbuf {
	size_t alloc;
	size_t len;
	size_t cap;
	char *buf;
};

extern char strbuf_slopbuf[];
#define STRBUF_INIT { 0, 0, 0, strbuf_slopbuf }

void strbuf_init(struct strbuf *sb, size_t hint);
void strbuf_release(struct strbuf *sb);
/* Take the buffer (owned by the caller, never NULL); sb is reset. */
char *strbuf_detach(struct strbuf *sb, size_t *len);
void strbuf_grow(struct strbuf *sb, size_t extra);
/* As strbuf_grow(), but returns -1 (and grows nothing) if cap would be passed. */
int strbuf_grow_capped(struct strbuf *sb, size_t extra);
static inline void strbuf_reset(struct strbuf *sb)
{
	sb->len = 0;
	if (sb->alloc)
		sb->buf[0] = '\0';
}
void strbuf_setlen(struct strbuf *sb, size_t len);
void strbuf_add(struct strbuf *sb, const void *data, size_t len);
void strbuf_addstr(struct strbuf *sb, const char *s);
void strbuf_addch_slow(struct strbuf *sb, int c);
/* Hot path inline: the JSON writer calls this for every comma and quote. */
static inline void strbuf_addch(struct strbuf *sb, int c)
{
	if (sb->alloc && sb->len + 1 < sb->alloc) {
		sb->buf[sb->len++] = (char)c;
		sb->buf[sb->len] = '\0';
		return;
	}
	strbuf_addch_slow(sb, c);
}
/* Append a signed decimal integer (no printf). */
void strbuf_add_i64(struct strbuf *sb, int64_t v);
void strbuf_addf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append s with JSON string escaping (no quotes added).  Invalid UTF-8 bytes
 * become U+FFFD, control characters (C0, DEL and the C1 range U+0080-U+009F,
 * which terminals obey as ESC sequences) \u00XX. */
void strbuf_add_json_escaped(struct strbuf *sb, const char *s, size_t len);
/* Worst-case growth of JSON escaping: one input byte becomes at most 6
 * ("\u00XX"; an invalid UTF-8 byte becomes 3, U+FFFD; a C1 control 6 for 2). */
#define JSON_ESCAPE_MAX 6
/* The escaping of strbuf_add_json_escaped() written at dst, which must have
 * room for len * JSON_ESCAPE_MAX bytes; returns the end (not terminated). */
char *json_escape_to(char *dst, const char *s, size_t len);
/*
 * For text bound for a terminal: the number of bytes of the character at s
 * if it is valid UTF-8 and printable, else 0 with *skip set to how many
 * bytes to replace by one '?' (a control character: C0, DEL, or C1
 * U+0080-U+009F, which xterm and others obey like ESC [; or 1 invalid byte).
 */
size_t utf8_printable(const char *s, size_t avail, size_t *skip);
bool strbuf_ends_with(const struct strbuf *sb, const char *suffix);
#endif
