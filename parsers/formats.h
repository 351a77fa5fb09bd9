#ifndef POOLSCOPE_FORMATS_H
#define POOLSCOPE_FORMATS_H
#include <stdint.h>
#include "core/logtime.h"
#include "parsers/parse.h"
/*
 * User formats file (--formats FILE): PCRE2 patterns with named groups
 * mapped to event kinds, for an application's own wording.  The file format
 * is documented in docs/formats-file.md (example: fixtures/formats/).
 *
 * Each rule is compiled once (JIT where available) when the file is loaded;
 * one match data block, sized for the largest pattern, is shared by all
 * rules.  A rule runs only after its literal prefilter (the `needle`, or a
 * literal derived from the pattern, or PCRE2's required code unit) is found
 * in the subject with memmem()/memchr().
 *
 * Not thread-safe: a loaded set matches through its one match data block,
 * so use one set per thread.
 */
struct user_formats;

/* `poolscope help formats-file`: the syntax in brief (docs/formats-file.md). */
extern const char user_formats_help[];

/* Compile FILE; NULL after error() naming file, line and offset. */
struct user_formats *user_formats_load(const char *path);
/* Compile rules from text[0..len); `name` stands for the file in error
 * messages.  NULL after error(). */
struct user_formats *user_formats_compile(const char *name, const char *text, size_t len);
void user_formats_free(struct user_formats *uf);
size_t user_formats_count(const struct user_formats *uf);
/* The literal prefilter of rule i (given as `needle` or derived from the
 * pattern), or NULL if the rule has none; valid until user_formats_free(). */
const char *user_formats_needle(const struct user_formats *uf, size_t i);

/*
 * Try the user patterns on rec (the whole record, lines joined by '\n');
 * emit through ctx and return 1 if one matched.  The event time is the
 * rule's `ts` group, else a timestamp at the start of the record (after an
 * optional '['), else it is placed by its neighbours.  A matched record
 * whose ts or number groups do not parse is counted as bad_field (and still
 * returns 1: the record was claimed).
 */
int user_formats_apply(const struct user_formats *uf, struct parse_ctx *ctx,
		       const struct record *rec);

/*
 * What a caller already knows about the text it matches: used for fields
 * the rule's groups do not give.  ts may be LOG_USEC_NONE, pid 0, origin
 * ORIGIN_UNKNOWN.
 */
struct user_match_defaults {
	log_usec ts;
	int32_t pid;
	uint8_t origin;
};

/*
 * Try the rules on s[0..len) (a message a format parser has cut out of its
 * record) and emit the first rule's event with defaults for what the rule
 * does not capture.  Returns 1 if a rule matched (emitted, or counted as
 * bad_field), else 0.
 */
int user_formats_match(const struct user_formats *uf, struct parse_ctx *ctx, const char *s,
		       size_t len, const struct user_match_defaults *d);
#endif
