#ifndef POOLSCOPE_FORMAT_H
#define POOLSCOPE_FORMAT_H
#include <stdbool.h>
#include <stddef.h>
#include "parsers/parse.h"
/*
 * A log format (a "source family" in DESIGN.md).  Each parser file defines
 * one or more `const struct format` and lists it in parsers/registry.c.
 *
 * detect   score 0..100 how well the sample of first lines fits (say, the
 *          percentage of lines it recognises); the highest score wins.
 * state_new/state_free  per-input state (may be NULL).
 * continues  true if `line` continues the record collected so far in `rec`
 *          (traceback lines, PostgreSQL TAB continuations, open csv quotes).
 *          NULL means every line is a record.
 * parse    turn one record into events through ctx; return UNPARSED_NONE if
 *          the record was taken (even if it gave no event: most lines of a
 *          log are not interesting), else the reason it was not.
 * parse_foreign  optional: parse a record of *another* format's file that
 *          this format recognises line by line (a uvicorn access line inside
 *          an app log, a jsonlog record in a stderr file).  Return
 *          UNPARSED_UNKNOWN_LAYOUT if it is not one of yours.  Stateless.
 * finish   end of input: flush state (e.g. a truncated record).
 */
struct format {
	const char *name;
	const char *description;
	int (*detect)(const struct line *lines, size_t n, const struct parse_opts *opts);
	void *(*state_new)(const struct parse_opts *opts);
	void (*state_free)(void *state);
	bool (*continues)(void *state, const struct record *rec, const struct line *line);
	enum unparsed_reason (*parse)(void *state, struct parse_ctx *ctx, const struct record *rec);
	enum unparsed_reason (*parse_foreign)(struct parse_ctx *ctx, const struct record *rec);
	void (*finish)(void *state, struct parse_ctx *ctx);
};

/* All formats, in detection tie-break order; NULL-terminated. */
extern const struct format *const format_registry[];
const struct format *format_find(const char *name);
/* Detect the format of a sample of lines; NULL if nothing fits. */
const struct format *format_detect(const struct line *lines, size_t n,
				   const struct parse_opts *opts, int *score);

/*
 * A line wrapper (journald short-iso, Docker json-file): detected from the
 * first lines like a format, it turns each physical line into the inner
 * line the application wrote, with the wrapper's time and pid as fallbacks
 * when the inner line has none.  Wrappers are listed in parsers/registry.c.
 */
struct wrapper {
	const char *name;
	int (*detect)(const struct line *lines, size_t n);
	/* Unwrap in into out (reset by the caller); return false if this line is
	 * not wrapped as expected (it is then passed on unchanged). */
	bool (*unwrap)(const struct line *in, struct strbuf *out, log_usec *ts, int32_t *pid);
};
extern const struct wrapper *const wrapper_registry[];
#endif
