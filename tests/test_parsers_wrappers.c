#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "core/event.h"
#include "core/strbuf.h"
#include "core/timeline.h"
#include "parsers/format.h"
#include "parsers/parse.h"
#include "tests/testutil.h"

/* journald short-iso(-precise) and Docker json-file wrappers: unwrapping,
 * detection, and the wrapper's time/pid as fallbacks for inner lines. */

static const struct wrapper *wrapper_named(const char *name)
{
	for (const struct wrapper *const *w = wrapper_registry; *w; w++)
		if (!strcmp((*w)->name, name))
			return *w;
	return NULL;
}

struct unwrap_case {
	const char *wrapper;
	const char *line;
	bool ok;
	const char *inner;
	const char *ts; /* ISO ms or "(none)" */
	int32_t pid;
};

static const struct unwrap_case unwrap_cases[] = {
	{ "journald", "2026-11-26T15:02:33+0000 host app[1234]: message", true, "message", "2026-11-26T15:02:33.000Z", 1234 },
	{ "journald", "2026-11-26T15:02:33.123456+0000 web-1 uvicorn[99]: INFO:     127.0.0.1:1 - \"GET / HTTP/1.1\" 200 OK", true,
	  "INFO:     127.0.0.1:1 - \"GET / HTTP/1.1\" 200 OK", "2026-11-26T15:02:33.123Z", 99 },
	{ "journald", "2026-11-26T17:02:33+02:00 host kernel: eth0: link up", true, "eth0: link up", "2026-11-26T15:02:33.000Z", 0 },
	{ "journald", "2026-11-26T15:02:33+0000 host app[1234]:", true, "", "2026-11-26T15:02:33.000Z", 1234 },
	/* journalctl's banners are not the application's: an empty line */
	{ "journald", "-- Boot 0c5e2b4a6f3c4b0e9d9f1f0a1b2c3d4e --", true, "", "(none)", 0 },
	{ "journald", "2026-11-26 15:02:33,123 - app - INFO - not journald", false, NULL, NULL, 0 },
	{ "journald", "2024-01-01T12:00:00.123+00:00  INFO 12345 --- [main] c.e.Demo  : Started", false, NULL, NULL, 0 },
	{ "docker", "{\"log\":\"INFO:     127.0.0.1:1 - \\\"GET / HTTP/1.1\\\" 200 OK\\n\",\"stream\":\"stdout\",\"time\":\"2026-11-26T15:02:33.123456789Z\"}", true,
	  "INFO:     127.0.0.1:1 - \"GET / HTTP/1.1\" 200 OK", "2026-11-26T15:02:33.123Z", 0 },
	{ "docker", "{\"log\":\"crlf\\r\\n\",\"stream\":\"stderr\",\"time\":\"2026-11-26T15:02:33Z\"}", true, "crlf", "2026-11-26T15:02:33.000Z", 0 },
	{ "docker", "{\"log\":\"no time\\n\",\"stream\":\"stderr\"}", true, "no time", "(none)", 0 },
	{ "docker", "{\"log\":\"cut", false, NULL, NULL, 0 },
	{ "docker", "{\"timestamp\":\"2026-11-26 14:46:30.456 UTC\",\"user\":\"postgres\"}", false, NULL, NULL, 0 },
	{ "docker", "{\"log\":42}", false, NULL, NULL, 0 },
};

Test(wrappers, unwrap_table)
{
	for (size_t i = 0; i < sizeof(unwrap_cases) / sizeof(unwrap_cases[0]); i++) {
		const struct unwrap_case *c = &unwrap_cases[i];
		const struct wrapper *w = wrapper_named(c->wrapper);
		struct strbuf out = STRBUF_INIT;
		struct line ln;
		memset(&ln, 0, sizeof(ln));
		ln.s = c->line;
		ln.len = strlen(c->line);
		ln.no = 1;
		log_usec ts = 12345;
		int32_t pid = -7;
		bool ok;
		cr_assert_not_null(w, "wrapper %s not registered", c->wrapper);
		ok = w->unwrap(&ln, &out, &ts, &pid);
		cr_expect_eq(ok, c->ok, "%s: %s", c->wrapper, c->line);
		if (ok && c->ok) {
			char iso[32] = "(none)";
			if (ts != LOG_USEC_NONE)
				logtime_format_iso(ts, iso);
			cr_expect_str_eq(out.buf, c->inner, "inner of %s", c->line);
			cr_expect_str_eq(iso, c->ts, "time of %s", c->line);
			cr_expect_eq(pid, c->pid, "pid of %s", c->line);
		}
		strbuf_release(&out);
	}
}

struct run {
	struct timeline tl;
	struct source *src;
	char *path;
};

static void sink_append(void *data, const struct event *ev)
{
	timeline_append(data, ev);
}

static void run_text(struct run *r, const char *text, size_t len)
{
	struct parse_opts opts;
	uint32_t idx;
	struct event_sink sink = { sink_append, NULL };
	r->path = test_write_temp(text, len, ".log");
	cr_assert_not_null(r->path);
	parse_opts_init(&opts);
	opts.quiet = true;
	timeline_init(&r->tl);
	idx = timeline_add_source(&r->tl, r->path);
	sink.data = &r->tl;
	cr_assert_eq(parse_input(r->path, &opts, timeline_source(&r->tl, idx), idx, sink), 0);
	r->src = timeline_source(&r->tl, idx);
	parse_opts_release(&opts);
}

static void run_done(struct run *r)
{
	unlink(r->path);
	free(r->path);
	timeline_release(&r->tl);
}

/* uvicorn's access lines have no time: journald's stands in, with its pid */
Test(wrappers, journald_time_and_pid_are_fallbacks)
{
	static const char text[] =
		"-- Logs begin at Thu 2026-11-26 15:00:00 UTC. --\n"
		"2026-11-26T15:02:33+0000 host uvicorn[1234]: INFO:     127.0.0.1:1 - \"GET /a?x=1 HTTP/1.1\" 200 OK\n"
		"2026-11-26T15:02:34.250000+00:00 host uvicorn[1234]: INFO:     127.0.0.1:2 - \"GET /b HTTP/1.1\" 500 Internal Server Error\n"
		"2026-11-26T15:02:35+0000 host gunicorn[77]: 127.0.0.1 - - [26/Nov/2026:15:02:35 +0000] \"GET /c HTTP/1.1\" 200 2 \"-\" \"curl\" D=500000\n"
		"2026-11-26T15:02:36+0000 host uvicorn[1234]: 2026-11-26 15:02:30,000 - uvicorn.access - INFO - 127.0.0.1:39244 - \"GET /d HTTP/1.1\" 200\n";
	struct run r = { 0 };
	run_text(&r, text, sizeof(text) - 1);
	cr_expect_str_eq(r.src->format, "journald+uvicorn-access");
	cr_assert_eq(r.tl.nr, 4);
	cr_expect_eq(r.tl.ev[0].ts, logtime_from_civil(2026, 11, 26, 15, 2, 33, 0));
	cr_expect_eq(r.tl.ev[0].pid, 1234);
	cr_expect_not(r.tl.ev[0].flags & EVENT_F_TS_INFERRED);
	cr_expect_eq(r.tl.ev[1].ts, logtime_from_civil(2026, 11, 26, 15, 2, 34, 250000));
	/* the inner line's own time wins (end + 0.5 s - duration here) */
	cr_expect_eq(r.tl.ev[2].ts, logtime_from_civil(2026, 11, 26, 15, 2, 35, 0));
	cr_expect_eq(r.tl.ev[2].pid, 77);
	cr_expect_eq(r.tl.ev[3].ts, logtime_from_civil(2026, 11, 26, 15, 2, 30, 0));
	/* journalctl's banner is read as an empty line and dropped */
	cr_expect_eq(r.src->unparsed, 0);
	cr_expect_eq(r.src->lines, 5);
	run_done(&r);
}

Test(wrappers, docker_json_file)
{
	static const char text[] =
		"{\"log\":\"INFO:     127.0.0.1:1 - \\\"GET / HTTP/1.1\\\" 200 OK\\n\",\"stream\":\"stdout\",\"time\":\"2026-11-26T15:02:33.123456789Z\"}\n"
		"{\"log\":\"INFO:     127.0.0.1:1 - \\\"GET /x\\u0000y HTTP/1.1\\\" 200 OK\\n\",\"stream\":\"stdout\",\"time\":\"2026-11-26T15:02:34.123456789Z\"}\n"
		"{\"log\":\"INFO:     127.0.0.1:1 - \\\"POST /login?next=%2F HTTP/1.1\\\" 401 Unauthorized\\r\\n\",\"stream\":\"stdout\",\"time\":\"2026-11-26T15:02:35.5Z\"}\n";
	struct run r = { 0 };
	run_text(&r, text, sizeof(text) - 1);
	cr_expect_str_eq(r.src->format, "docker+uvicorn-access");
	cr_assert_eq(r.tl.nr, 2);
	cr_expect_eq(r.tl.ev[0].ts, logtime_from_civil(2026, 11, 26, 15, 2, 33, 123456));
	cr_expect_str_eq(r.tl.ev[1].text, "/login");
	cr_expect_eq(r.tl.ev[1].u.http.status, 401);
	cr_expect_eq(r.tl.ev[1].ts, logtime_from_civil(2026, 11, 26, 15, 2, 35, 500000));
	/* a decoded NUL is binary junk, counted, not parsed */
	cr_expect_eq(r.src->by_reason[UNPARSED_BINARY], 1);
	run_done(&r);
}

/* Only wrapped files are unwrapped: a plain access log is left alone. */
Test(wrappers, plain_file_is_not_wrapped)
{
	static const char text[] =
		"INFO:     127.0.0.1:53438 - \"GET /fast?q=1 HTTP/1.1\" 200 OK\n";
	struct run r = { 0 };
	run_text(&r, text, sizeof(text) - 1);
	cr_expect_str_eq(r.src->format, "uvicorn-access");
	run_done(&r);
}
