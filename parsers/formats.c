#include "parsers/formats.h"
#include <stdlib.h>
#include "core/error.h"
#include "core/banned.h"

/* NEEDSWORK: the formats file is being written (issue 2, item 9); until then
 * --formats is refused with a clear error instead of being ignored. */
struct user_formats {
	int unused;
};

struct user_formats *user_formats_load(const char *path)
{
	error("--formats '%s': user formats files are not supported yet", path);
	return NULL;
}

void user_formats_free(struct user_formats *uf)
{
	free(uf);
}

int user_formats_apply(const struct user_formats *uf, struct parse_ctx *ctx,
		       const struct record *rec)
{
	(void)uf;
	(void)ctx;
	(void)rec;
	return 0;
}
