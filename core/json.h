#ifndef POOLSCOPE_JSON_H
#define POOLSCOPE_JSON_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/logtime.h"
#include "core/strbuf.h"
/*
 * A small streaming JSON writer into a strbuf (hand-written rather than
 * jansson's dump, because machine output must have a fixed key order and
 * fixed number formats -- goldens need no sed -- and `parse` writes millions
 * of objects without building trees).  Reading JSON uses jansson.
 *
 * Commas are tracked per nesting level; keys are written in call order.
 * With pretty set, objects and arrays are indented by two spaces.
 */
#define JW_MAX_DEPTH 32
struct jw {
	struct strbuf *out; /* borrowed */
	int depth;
	bool pretty;
	bool first[JW_MAX_DEPTH];
	bool after_key;
};

void jw_init(struct jw *w, struct strbuf *out, bool pretty);
void jw_obj_begin(struct jw *w);
void jw_obj_end(struct jw *w);
void jw_arr_begin(struct jw *w);
void jw_arr_end(struct jw *w);
void jw_key(struct jw *w, const char *key);
void jw_str(struct jw *w, const char *s);  /* NULL writes null */
void jw_strn(struct jw *w, const char *s, size_t len);
void jw_int(struct jw *w, int64_t v);
/* A number with at most `decimals` digits after the point, trailing zeros
 * removed ("1.5", "30", "0.002"); NaN/inf write null. */
void jw_num(struct jw *w, double v, int decimals);
/* Microseconds as seconds with 6 decimals max ("1.25"). */
void jw_usec_s(struct jw *w, int64_t usec);
void jw_bool(struct jw *w, bool v);
void jw_null(struct jw *w);
void jw_ts(struct jw *w, log_usec t); /* ISO string, or null if LOG_USEC_NONE */
/* Key + value shorthands. */
void jw_kstr(struct jw *w, const char *key, const char *s);
void jw_kint(struct jw *w, const char *key, int64_t v);
void jw_knum(struct jw *w, const char *key, double v, int decimals);
void jw_kusec_s(struct jw *w, const char *key, int64_t usec);
void jw_kts(struct jw *w, const char *key, log_usec t);
void jw_kbool(struct jw *w, const char *key, bool v);

/* Format v like jw_num into out (at least 40 bytes); returns length. */
size_t format_num(char *out, size_t size, double v, int decimals);
#endif
