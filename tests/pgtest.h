#ifndef POOLSCOPE_PGTEST_H
#define POOLSCOPE_PGTEST_H
/* Helpers shared by the PostgreSQL parser suites (tests/test_parsers_pg*.c). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "core/event.h"
#include "core/timeline.h"
#include "parsers/parse.h"
#include "tests/testutil.h"

/* Parse path into tl (sorted) with the given forced format / prefix. */
static inline int pgt_parse_file(const char *path, const char *format, const char *prefix,
				 struct timeline *tl)
{
	struct parse_opts opts;
	int r;
	parse_opts_init(&opts);
	opts.quiet = true;
	opts.format = format;
	opts.pg_prefix = prefix;
	timeline_init(tl);
	r = parse_into_timeline(&path, 1, &opts, tl);
	parse_opts_release(&opts);
	return r;
}

/* Parse text (written to a temp file with suffix) into tl. */
static inline void pgt_parse_text(const char *text, const char *suffix, const char *format,
				  const char *prefix, struct timeline *tl)
{
	char *path = test_write_temp(text, strlen(text), suffix);
	cr_assert(path, "cannot write a temp file");
	cr_assert_eq(pgt_parse_file(path, format, prefix, tl), 0);
	unlink(path);
	free(path);
}

static inline size_t pgt_count(const struct timeline *tl, enum event_kind kind)
{
	size_t n = 0;
	for (size_t i = 0; i < tl->nr; i++)
		n += tl->ev[i].kind == kind;
	return n;
}

/* The i-th event of kind (in time order), or NULL. */
static inline const struct event *pgt_nth(const struct timeline *tl, enum event_kind kind,
					  size_t i)
{
	for (size_t k = 0; k < tl->nr; k++)
		if (tl->ev[k].kind == kind && i-- == 0)
			return &tl->ev[k];
	return NULL;
}

static inline const char *pgt_str(const char *s)
{
	return s ? s : "(null)";
}

/*
 * A file of ../shared/reference/samples/.  The shared folder sits beside
 * the source tree in CI and in /work/main; a worktree elsewhere may point
 * to it with POOLSCOPE_SHARED.  Missing: the test is skipped, except under
 * CI=true where it fails.
 */
static inline const char *pgt_sample(const char *name)
{
	static char buf[4096];
	const char *env = getenv("POOLSCOPE_SHARED");
	const char *ci = getenv("CI");
	struct stat st;
	snprintf(buf, sizeof(buf), "reference/samples/%s", name);
	{
		const char *p = test_shared_path(buf);
		if (p) {
			snprintf(buf, sizeof(buf), "%s", p);
			return buf;
		}
	}
	if (env) {
		snprintf(buf, sizeof(buf), "%s/reference/samples/%s", env, name);
		if (!stat(buf, &st))
			return buf;
	}
	if (ci && !strcmp(ci, "true"))
		cr_assert_fail("sample %s missing (../shared/reference/samples)", name);
	cr_skip_test("sample %s not found (set POOLSCOPE_SHARED)", name);
	return NULL;
}
#endif
