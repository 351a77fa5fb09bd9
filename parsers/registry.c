#include <string.h>
#include "parsers/format.h"
#include "parsers/pylog.h"
#include "core/banned.h"

/*
 * Every format and wrapper poolscope knows.  Order matters only to break
 * detection ties and to order the mixed-stream fallbacks (cheapest first).
 * Each parser file exports its `const struct format format_<name>`.
 */

/* parsers/pg*.c */
extern const struct format format_pg_stderr, format_pg_csv, format_pg_json;
/* parsers/access.c, parsers/otherpools.c, parsers/wrappers.c */
extern const struct format format_uvicorn_access, format_gunicorn_access, format_nginx_access;
extern const struct format format_hikaricp, format_pgbouncer;
extern const struct wrapper wrapper_journald, wrapper_docker;
/* parsers/events.c */
extern const struct format format_poolscope_events;

const struct format *const format_registry[] = {
	&format_poolscope_events,
	&format_pg_csv,
	&format_pg_json,
	&format_pg_stderr,
	&format_uvicorn_access,
	&format_gunicorn_access,
	&format_nginx_access,
	&format_pylog,
	&format_pgbouncer,
	&format_hikaricp,
	NULL
};

const struct wrapper *const wrapper_registry[] = {
	&wrapper_docker,
	&wrapper_journald,
	NULL
};

const struct format *format_find(const char *name)
{
	for (const struct format *const *f = format_registry; *f; f++)
		if (!strcmp((*f)->name, name))
			return *f;
	return NULL;
}

const struct format *format_detect(const struct line *lines, size_t n,
				   const struct parse_opts *opts, int *score)
{
	const struct format *best = NULL;
	int best_score = 0;
	for (const struct format *const *f = format_registry; *f; f++) {
		int s = (*f)->detect ? (*f)->detect(lines, n, opts) : 0;
		if (s > best_score) {
			best = *f;
			best_score = s;
		}
	}
	if (score)
		*score = best_score;
	return best;
}
