#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "core/event.h"
#include "core/strbuf.h"
#include "parsers/format.h"
#include "parsers/parse.h"
#include "tests/testutil.h"

/*
 * The poolscope-events format reads back what `poolscope parse` and
 * `poolscope replay --events` write: parse -> JSON -> events -> JSON must
 * give the same lines (src and line aside, which become the events file's).
 */

static void collect(void *data, const struct event *ev)
{
	struct strbuf *sb = data;
	event_to_json(ev, "x", sb);
	strbuf_addch(sb, '\n');
}

static void run_text(const char *text, const char *format, struct strbuf *out,
		     struct source *src)
{
	struct parse_opts opts;
	struct event_sink sink = { collect, out };
	char *path = test_write_temp(text, strlen(text), ".jsonl");
	parse_opts_init(&opts);
	opts.format = format;
	opts.quiet = true;
	source_init(src, path);
	cr_assert_eq(parse_input(path, &opts, src, 0, sink), 0);
	unlink(path);
	free(path);
	parse_opts_release(&opts);
}

/* Lines as `poolscope parse` wrote them for the captured incident (src and
 * line set to "x" and 1 so that the round trip compares equal), plus the
 * replay's extra keys. */
static const char *const lines[] = {
	"{\"ts\":\"2026-11-26T16:40:27.992Z\",\"kind\":\"pool_stats\",\"src\":\"x\",\"line\":1,\"label\":\"status\",\"pool_size\":10,\"checked_in\":0,\"checked_out\":0,\"overflow\":-10}",
	"{\"ts\":\"2026-11-26T16:40:42.997Z\",\"kind\":\"batch_start\",\"src\":\"x\",\"line\":1,\"origin\":\"batch\",\"name\":\"vitals\",\"entries\":144,\"connections\":18}",
	"{\"ts\":\"2026-11-26T16:40:47.971Z\",\"kind\":\"batch_end\",\"src\":\"x\",\"line\":1,\"origin\":\"batch\",\"name\":\"vitals\",\"entries\":144,\"processed\":144,\"connections\":18,\"commits\":18,\"duration\":4.98}",
	"{\"ts\":\"2026-11-26T16:41:37.834Z\",\"kind\":\"pool_timeout\",\"src\":\"x\",\"line\":1,\"origin\":\"api\",\"pool_class\":\"QueuePool\",\"pool_size\":10,\"max_overflow\":20,\"timeout\":3}",
	"{\"ts\":\"2026-11-26T16:40:28.138Z\",\"kind\":\"pool_connect\",\"src\":\"x\",\"line\":1,\"conn\":\"0x7f47340f6980\"}",
	"{\"ts\":\"2026-11-26T16:40:28.142Z\",\"kind\":\"pool_preping\",\"src\":\"x\",\"line\":1,\"conn\":\"0x7f47340f6980\",\"result\":\"fresh\"}",
	"{\"ts\":\"2026-11-26T16:40:58.283Z\",\"kind\":\"pool_invalidate\",\"src\":\"x\",\"line\":1,\"conn\":\"0x7f47340f7740\",\"reason\":\"recycle\",\"mode\":\"recycle\"}",
	"{\"ts\":\"2026-11-26T16:41:37.900Z\",\"kind\":\"http_request\",\"src\":\"x\",\"line\":1,\"pid\":7,\"origin\":\"api\",\"path\":\"/api/v1/health\",\"method\":\"GET\",\"status\":500,\"duration\":3.001}",
	"{\"ts\":\"2026-11-26T16:41:40.000Z\",\"kind\":\"pg_too_many_clients\",\"src\":\"x\",\"line\":1,\"pid\":6589,\"message\":\"sorry, too many clients already\",\"sqlstate\":\"53300\"}",
	"{\"ts\":\"2026-11-26T16:41:41.000Z\",\"kind\":\"pool_checkout\",\"src\":\"x\",\"line\":1,\"pid\":2,\"pool\":1,\"conn\":\"p3.c1\",\"origin\":\"batch\",\"late\":true}",
};

Test(events, roundtrip_real_lines)
{
	struct strbuf in = STRBUF_INIT, out = STRBUF_INIT;
	struct source src;
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		strbuf_addstr(&in, lines[i]);
		strbuf_addch(&in, '\n');
	}
	run_text(in.buf, NULL, &out, &src);
	cr_assert_str_eq(src.format, "poolscope-events");
	cr_assert_eq(src.events, sizeof(lines) / sizeof(lines[0]));
	cr_assert_eq(src.unparsed, 0);
	/* the writer puts line = the events file's line: rewrite to 1 */
	{
		struct strbuf norm = STRBUF_INIT;
		const char *p = out.buf;
		while (*p) {
			const char *q = strstr(p, "\"line\":");
			const char *e;
			if (!q) {
				strbuf_addstr(&norm, p);
				break;
			}
			strbuf_add(&norm, p, (size_t)(q - p));
			strbuf_addstr(&norm, "\"line\":1");
			e = q + 7;
			while (*e >= '0' && *e <= '9')
				e++;
			p = e;
		}
		cr_assert_str_eq(norm.buf, in.buf);
		strbuf_release(&norm);
	}
	source_release(&src);
	strbuf_release(&in);
	strbuf_release(&out);
}

/* The replay's simulated flag is read; summary lines are skipped, broken
 * lines counted by reason. */
Test(events, flags_summary_and_junk)
{
	static const char text[] =
		"{\"ts\":\"2026-11-26T16:41:41.000Z\",\"kind\":\"pool_checkin\",\"src\":\"replay\",\"line\":0,\"conn\":\"p0.c1\",\"simulated\":true}\n"
		"{\"summary\":{\"src\":\"a.log\",\"lines\":3}}\n"
		"{\"ts\":\"2026-11-26T16:41:41.000Z\",\"kind\":\"no_such_kind\",\"src\":\"x\",\"line\":1}\n"
		"{\"ts\":\"yesterday\",\"kind\":\"pool_checkin\",\"src\":\"x\",\"line\":1}\n"
		"{\"ts\":\"2026-11-26T16:41:41.000Z\",\"kind\":\"pool_stats\",\"src\":\"x\",\"line\":1,\"checked_out\":\"many\"}\n"
		"{\"ts\":\"2026-11-26T16:41:41.000Z\",\"kind\":\"pool_checkin\",\"src\":\"x\"\n";
	struct strbuf out = STRBUF_INIT;
	struct source src;
	run_text(text, "poolscope-events", &out, &src);
	cr_assert_eq(src.events, 1);
	cr_assert(strstr(out.buf, "\"kind\":\"pool_checkin\""));
	cr_assert_eq(src.by_reason[UNPARSED_BAD_FIELD], 2);
	cr_assert_eq(src.by_reason[UNPARSED_NO_TIMESTAMP], 1);
	cr_assert_eq(src.unparsed, 4);
	source_release(&src);
	strbuf_release(&out);
}

Test(events, detection)
{
	struct line l[2] = {
		{ lines[0], strlen(lines[0]), 1, 0, 0 },
		{ lines[3], strlen(lines[3]), 2, 0, 0 },
	};
	struct parse_opts opts;
	const struct format *f;
	parse_opts_init(&opts);
	f = format_detect(l, 2, &opts, NULL);
	cr_assert(f);
	cr_assert_str_eq(f->name, "poolscope-events");
	parse_opts_release(&opts);
}
