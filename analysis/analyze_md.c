#include <string.h>
#include "analysis/analyze.h"
#include "core/banned.h"

/* NEEDSWORK: first version: the text review in a fenced block (fences in
 * log text are broken up).  Tables come with the report writer. */
void analysis_write_markdown(const struct analysis *a, struct strbuf *out)
{
	struct strbuf t = STRBUF_INIT;
	analysis_write_text(a, &t);
	strbuf_addstr(out, "# poolscope review\n\n```text\n");
	for (size_t i = 0; i < t.len; i++) {
		if (t.buf[i] == '`' && i + 2 < t.len && t.buf[i + 1] == '`' && t.buf[i + 2] == '`') {
			strbuf_addstr(out, "`\u200b`\u200b`");
			i += 2;
			continue;
		}
		strbuf_addch(out, t.buf[i]);
	}
	strbuf_addstr(out, "```\n");
	strbuf_release(&t);
}
