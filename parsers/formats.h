#ifndef POOLSCOPE_FORMATS_H
#define POOLSCOPE_FORMATS_H
#include "parsers/parse.h"
/*
 * User formats file (--formats FILE): PCRE2 patterns with named groups
 * mapped to event kinds, for an application's own wording.
 */
struct user_formats;

/* Compile FILE; NULL after error() naming file, line and offset. */
struct user_formats *user_formats_load(const char *path);
void user_formats_free(struct user_formats *uf);
/* Try the user patterns on rec; emit through ctx and return 1 if one matched. */
int user_formats_apply(const struct user_formats *uf, struct parse_ctx *ctx,
		       const struct record *rec);
#endif
