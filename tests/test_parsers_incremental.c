#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>
#include "core/error.h"
#include "core/strbuf.h"
#include "core/timeline.h"
#include "parsers/incremental.h"
#include "parsers/parse.h"
#include "parsers/stream.h"
#include "tests/testutil.h"

/*
 * Incremental reading across appends and every kind of rotation, with exact
 * line counts: each round is one audit run (lock, load, plan, read, update,
 * save), and the lines it read are checked against what was written since.
 */

static char dir[256];

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/poolscope-inc-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}

static const char *P(const char *name)
{
	static char buf[4][512];
	static int k;
	k = (k + 1) % 4;
	snprintf(buf[k], sizeof(buf[k]), "%s/%s", dir, name);
	return buf[k];
}

/* Append n numbered lines "<tag> line <i>" (plus a filler so heads differ). */
static void append_lines(const char *name, const char *tag, int n)
{
	FILE *f = fopen(P(name), "a");
	cr_assert_not_null(f);
	for (int i = 1; i <= n; i++)
		fprintf(f, "2025-10-20 14:%02d:%02d,000 - %s line %d - some filler text here\n", i / 60 % 60,
			i % 60, tag, i);
	fclose(f);
}

static void append_raw(const char *name, const char *text)
{
	FILE *f = fopen(P(name), "a");
	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
}

#define SH(...)                                                        \
	do {                                                           \
		char cmd_[1200];                                       \
		snprintf(cmd_, sizeof(cmd_), __VA_ARGS__);             \
		cr_assert_eq(system(cmd_), 0, "%s", cmd_);             \
	} while (0)

static void gzip_file(const char *from, const char *to)
{
	SH("gzip -c '%s' > '%s'", P(from), P(to));
	cr_assert_eq(unlink(P(from)), 0);
}

struct round {
	uint64_t lines;      /* physical lines read in the run */
	size_t nsegments;
	size_t warnings;
	size_t infos;
	char first_excerpt[128];
	uint64_t first_line;
	char whys[256];      /* "rotated:app.log.1 continue:app.log" */
};

/* The audit's reading (inc_plan_stream(), an event stream) against
 * inc_plan_read() into a timeline, from the same state: the same segments
 * read to the same ends, the same events in the same order. */
static void same_as_stream(const struct inc_state *st, const char *const *inputs, size_t n,
			   const struct parse_opts *opts, const struct inc_plan *read, const struct timeline *tl)
{
	struct inc_plan plan;
	struct timeline sources;
	struct event_stream *es;
	struct event_sink none = { NULL, NULL };
	struct event ev;
	size_t k = 0;
	inc_plan_init(&plan);
	timeline_init(&sources);
	cr_assert_eq(inc_plan_make(&plan, st, inputs, n), 0);
	cr_assert_eq(inc_plan_stream(&plan, opts, &sources, none, &es), 0);
	cr_assert_eq(plan.nseg, read->nseg);
	for (size_t i = 0; i < plan.nseg; i++) {
		cr_assert(plan.seg[i].read && !plan.seg[i].failed);
		cr_assert_eq(plan.seg[i].end_offset, read->seg[i].end_offset);
		cr_assert_eq(plan.seg[i].end_line, read->seg[i].end_line);
		cr_assert_eq(sources.src[plan.seg[i].src_index].lines, tl->src[read->seg[i].src_index].lines);
	}
	while (event_stream_next(es, &ev) > 0) {
		cr_assert_lt(k, tl->nr);
		cr_assert_eq(ev.ts, tl->ev[k].ts, "event %zu", k);
		cr_assert_eq(ev.line, tl->ev[k].line, "event %zu", k);
		cr_assert_eq(ev.kind, tl->ev[k].kind, "event %zu", k);
		k++;
	}
	cr_assert_eq(k, tl->nr);
	event_stream_free(es);
	timeline_release(&sources);
	inc_plan_release(&plan);
}

/* One audit run over the given inputs (names inside dir). */
static struct round run_round(const char *const *names, size_t n)
{
	struct inc_state st;
	struct inc_plan plan;
	struct timeline tl;
	struct parse_opts opts;
	struct round r;
	const char *inputs[8];
	struct strbuf whys = STRBUF_INIT;

	memset(&r, 0, sizeof(r));
	for (size_t i = 0; i < n; i++)
		inputs[i] = xstrdup(P(names[i]));
	parse_opts_init(&opts);
	opts.quiet = true;
	inc_state_init(&st, P("audit.state"));
	cr_assert_eq(inc_state_lock(&st, 0), 0);
	cr_assert_eq(inc_state_load(&st), 0);
	inc_plan_init(&plan);
	cr_assert_eq(inc_plan_make(&plan, &st, inputs, n), 0);
	timeline_init(&tl);
	cr_assert_eq(inc_plan_read(&plan, &opts, &tl), 0);
	for (size_t i = 0; i < plan.nseg; i++) {
		const struct inc_segment *s = &plan.seg[i];
		const struct source *src = &tl.src[s->src_index];
		const char *base = strrchr(s->path, '/');
		r.lines += src->lines;
		if (src->lines && !r.first_line) {
			/* the first line read, straight from the file at the resume point */
			FILE *f = fopen(s->path, "rb");
			size_t got = 0;
			cr_assert_not_null(f);
			if (!s->gz && fseek(f, (long)s->start.offset, SEEK_SET) == 0)
				got = fread(r.first_excerpt, 1, sizeof(r.first_excerpt) - 1, f);
			r.first_excerpt[got] = '\0';
			r.first_excerpt[strcspn(r.first_excerpt, "\r\n")] = '\0';
			fclose(f);
			r.first_line = s->start.first_line;
			cr_assert_eq(src->end_line, s->start.first_line + src->lines - 1);
		}
		strbuf_addf(&whys, "%s%s:%s", whys.len ? " " : "", inc_why_name(s->why),
			    base ? base + 1 : s->path);
	}
	snprintf(r.whys, sizeof(r.whys), "%s", whys.buf);
	r.nsegments = plan.nseg;
	for (size_t i = 0; i < plan.nnotes; i++) {
		if (plan.notes[i].warning)
			r.warnings++;
		else
			r.infos++;
	}
	same_as_stream(&st, inputs, n, &opts, &plan, &tl);
	inc_state_update(&st, &plan, 1760969000);
	cr_assert_eq(inc_state_save(&st, 1760969000), 0);
	inc_plan_release(&plan);
	timeline_release(&tl);
	inc_state_release(&st);
	parse_opts_release(&opts);
	strbuf_release(&whys);
	for (size_t i = 0; i < n; i++)
		free((char *)inputs[i]);
	return r;
}

static struct round run1(void)
{
	static const char *const names[] = { "app.log" };
	return run_round(names, 1);
}

TestSuite(incremental, .init = setup, .fini = teardown);

Test(incremental, appends_read_once_and_partial_line_waits)
{
	struct round r;
	append_lines("app.log", "a", 10);
	r = run1();
	cr_assert_eq(r.lines, 10);
	cr_assert_str_eq(r.whys, "new:app.log");
	append_lines("app.log", "b", 5);
	r = run1();
	cr_assert_eq(r.lines, 5);
	cr_assert_str_eq(r.whys, "continue:app.log");
	cr_assert_eq(r.first_line, 11);
	r = run1();
	cr_assert_eq(r.lines, 0);
	/* a line still being written is not consumed... */
	append_raw("app.log", "half a li");
	r = run1();
	cr_assert_eq(r.lines, 0);
	/* ...until its newline arrives; then it is read whole, once */
	append_raw("app.log", "ne\r\nnext\n");
	r = run1();
	cr_assert_eq(r.lines, 2);
	cr_assert_eq(r.first_line, 16);
	cr_assert_str_eq(r.first_excerpt, "half a line");
	cr_assert_eq(r.warnings, 0);
}

Test(incremental, truncation_reads_from_line_one_and_warns_without_copy)
{
	struct round r;
	append_lines("app.log", "a", 10);
	cr_assert_eq(run1().lines, 10);
	cr_assert_eq(truncate(P("app.log"), 0), 0);
	append_lines("app.log", "t", 3);
	r = run1();
	cr_assert_eq(r.lines, 3);
	cr_assert_str_eq(r.whys, "restart:app.log");
	cr_assert_eq(r.warnings, 1, "a truncation without a copy may have lost lines");
	cr_assert_eq(run1().lines, 0);
}

Test(incremental, copytruncate_reads_the_copy_tail_then_the_file)
{
	struct round r;
	append_lines("app.log", "a", 10);
	cr_assert_eq(run1().lines, 10);
	append_lines("app.log", "b", 5);
	SH("cp '%s' '%s'", P("app.log"), P("app.log.1"));
	cr_assert_eq(truncate(P("app.log"), 0), 0);
	append_lines("app.log", "c", 3);
	r = run1();
	cr_assert_eq(r.lines, 8);
	cr_assert_eq(r.warnings, 0);
	cr_assert_str_eq(r.whys, "rotated:app.log.1 restart:app.log");
	cr_assert_eq(run1().lines, 0);
}

Test(incremental, rename_rotation_reads_tail_then_new_file_and_late_writes)
{
	struct round r;
	append_lines("app.log", "a", 10);
	cr_assert_eq(run1().lines, 10);
	append_lines("app.log", "b", 5);
	cr_assert_eq(rename(P("app.log"), P("app.log.1")), 0);
	append_lines("app.log", "c", 3);
	r = run1();
	cr_assert_eq(r.lines, 8);
	cr_assert_str_eq(r.whys, "rotated:app.log.1 restart:app.log");
	cr_assert_eq(r.first_line, 11, "the tail continues the old line numbers");
	cr_assert_eq(r.warnings, 0);
	cr_assert_eq(run1().lines, 0);
	/* the writer had not reopened its log yet: late lines in the rotated file */
	append_lines("app.log.1", "late", 2);
	append_lines("app.log", "d", 1);
	cr_assert_eq(run1().lines, 3);
	cr_assert_eq(run1().lines, 0);
}

Test(incremental, gzip_rotation_skips_what_was_read)
{
	struct round r;
	append_lines("app.log", "a", 10);
	cr_assert_eq(run1().lines, 10);
	append_lines("app.log", "b", 5);
	cr_assert_eq(rename(P("app.log"), P("app.log.1")), 0);
	gzip_file("app.log.1", "app.log.1.gz");
	append_lines("app.log", "c", 3);
	r = run1();
	cr_assert_eq(r.lines, 8);
	cr_assert_str_eq(r.whys, "rotated:app.log.1.gz restart:app.log");
	cr_assert_eq(r.warnings, 0);
	/* an unchanged .gz is not read again */
	r = run1();
	cr_assert_eq(r.lines, 0);
	cr_assert_str_eq(r.whys, "continue:app.log");
	/* next rotation: .1.gz -> .2.gz, app.log -> .1 -> .1.gz */
	append_lines("app.log", "d", 4);
	cr_assert_eq(rename(P("app.log.1.gz"), P("app.log.2.gz")), 0);
	cr_assert_eq(rename(P("app.log"), P("app.log.1")), 0);
	gzip_file("app.log.1", "app.log.1.gz");
	append_lines("app.log", "e", 6);
	r = run1();
	cr_assert_eq(r.lines, 10);
	cr_assert_eq(r.warnings, 0);
	cr_assert_eq(run1().lines, 0);
}

Test(incremental, delaycompress_rotation)
{
	/* logrotate compress+delaycompress: app.log.1 stays plain for a cycle */
	append_lines("app.log", "a", 10);
	cr_assert_eq(run1().lines, 10);
	append_lines("app.log", "b", 2);
	cr_assert_eq(rename(P("app.log"), P("app.log.1")), 0);
	append_lines("app.log", "c", 3);
	cr_assert_eq(run1().lines, 5);
	append_lines("app.log", "d", 4);
	gzip_file("app.log.1", "app.log.2.gz");
	cr_assert_eq(rename(P("app.log"), P("app.log.1")), 0);
	append_lines("app.log", "e", 1);
	cr_assert_eq(run1().lines, 5);
	cr_assert_eq(run1().lines, 0);
}

Test(incremental, rotated_twice_between_runs_reads_the_middle_file)
{
	struct round r;
	append_lines("app.log", "a", 10);
	cr_assert_eq(run1().lines, 10);
	append_lines("app.log", "b", 2);
	cr_assert_eq(rename(P("app.log"), P("app.log.1")), 0);
	append_lines("app.log", "c", 4);
	cr_assert_eq(rename(P("app.log.1"), P("app.log.2")), 0);
	cr_assert_eq(rename(P("app.log"), P("app.log.1")), 0);
	append_lines("app.log", "d", 3);
	r = run1();
	cr_assert_eq(r.lines, 9);
	cr_assert_eq(r.warnings, 0);
	cr_assert_eq(run1().lines, 0);
}

Test(incremental, history_before_the_first_run_is_not_read)
{
	struct round r;
	append_lines("app.log.2", "old2", 7);
	gzip_file("app.log.2", "app.log.2.gz");
	append_lines("app.log.1", "old1", 20);
	append_lines("app.log", "a", 10);
	append_lines("app.log.bak", "x", 10); /* not a rotated name */
	r = run1();
	cr_assert_eq(r.lines, 10);
	cr_assert_str_eq(r.whys, "new:app.log");
	/* rotate with compression: the old history is recognised, not re-read */
	append_lines("app.log", "b", 2);
	cr_assert_eq(rename(P("app.log.2.gz"), P("app.log.3.gz")), 0);
	gzip_file("app.log.1", "app.log.2.gz");
	cr_assert_eq(rename(P("app.log"), P("app.log.1")), 0);
	append_lines("app.log", "c", 5);
	r = run1();
	cr_assert_eq(r.lines, 7);
	cr_assert_eq(r.warnings, 0);
	cr_assert_eq(run1().lines, 0);
}

Test(incremental, replaced_file_without_predecessor_warns)
{
	struct round r;
	append_lines("app.log", "a", 10);
	cr_assert_eq(run1().lines, 10);
	cr_assert_eq(unlink(P("app.log")), 0);
	append_lines("app.log", "new", 4);
	r = run1();
	cr_assert_eq(r.lines, 4);
	cr_assert_str_eq(r.whys, "restart:app.log");
	cr_assert_eq(r.warnings, 1);
}

Test(incremental, dateext_rotation_and_two_inputs)
{
	static const char *const two[] = { "app.log", "pg.log" };
	append_lines("app.log", "a", 10);
	append_lines("pg.log", "p", 6);
	cr_assert_eq(run_round(two, 2).lines, 16);
	append_lines("app.log", "b", 1);
	append_lines("pg.log", "q", 2);
	cr_assert_eq(rename(P("app.log"), P("app.log-20251020")), 0);
	gzip_file("app.log-20251020", "app.log-20251020.gz");
	append_lines("app.log", "c", 3);
	cr_assert_eq(run_round(two, 2).lines, 6);
	/* auditing only one of them keeps the other's state */
	append_lines("pg.log", "r", 1);
	append_lines("app.log", "d", 1);
	cr_assert_eq(run1().lines, 1);
	cr_assert_eq(run_round(two, 2).lines, 1);
}

Test(incremental, explicit_rotated_input_is_not_read_twice)
{
	static const char *const both[] = { "app.log", "app.log.1" };
	append_lines("app.log.1", "o", 3);
	append_lines("app.log", "a", 10);
	cr_assert_eq(run_round(both, 2).lines, 13);
	append_lines("app.log", "b", 2);
	cr_assert_eq(rename(P("app.log.1"), P("app.log.2")), 0);
	cr_assert_eq(rename(P("app.log"), P("app.log.1")), 0);
	append_lines("app.log", "c", 1);
	cr_assert_eq(run_round(both, 2).lines, 3);
	cr_assert_eq(run_round(both, 2).lines, 0);
}

Test(incremental, leftover_temp_file_of_a_killed_run_is_harmless)
{
	FILE *f;
	struct inc_state st;
	append_lines("app.log", "a", 10);
	cr_assert_eq(run1().lines, 10);
	f = fopen(P("audit.state.tmp.99999"), "w");
	cr_assert_not_null(f);
	fputs("poolscope-audit-state\t1\nlive\t1\t2\t0", f); /* cut mid-write */
	fclose(f);
	append_lines("app.log", "b", 2);
	cr_assert_eq(run1().lines, 2);
	cr_assert_eq(access(P("audit.state.tmp.99999"), F_OK), -1, "stale temp removed under the lock");
	inc_state_init(&st, P("audit.state"));
	cr_assert_eq(inc_state_load(&st), 0);
	cr_assert_eq(st.nr, 1);
	cr_assert_eq(st.v[0].line, 12);
	inc_state_release(&st);
}

/* A child saves the state in a loop; kill -9 lands at random points of the
 * write.  Whatever moment it dies, the state file parses and is one of the
 * versions written. */
Test(incremental, state_survives_kill_9_during_writes)
{
	struct inc_state st;
	inc_state_init(&st, P("kill.state"));
	for (int i = 0; i < 300; i++) {
		struct inc_entry e;
		char path[64];
		memset(&e, 0, sizeof(e));
		snprintf(path, sizeof(path), "/var/log/app-%d.log", i);
		e.path = path;
		e.offset = 1000;
		e.line = 7;
		e.head_len = 16;
		ALLOC_GROW(st.v, st.nr + 1, st.alloc);
		st.v[st.nr] = e;
		st.v[st.nr].path = xstrdup(path);
		st.nr++;
	}
	cr_assert_eq(inc_state_save(&st, 1), 0);
	for (int round = 0; round < 20; round++) {
		pid_t pid = fork();
		cr_assert_neq(pid, -1);
		if (pid == 0) {
			for (int64_t k = 2;; k++) {
				for (size_t i = 0; i < st.nr; i++)
					st.v[i].line = (uint64_t)k;
				inc_state_save(&st, k);
			}
		}
		usleep(1000 + (useconds_t)(rand() % 20000));
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		{
			struct inc_state back;
			inc_state_init(&back, P("kill.state"));
			cr_assert_eq(inc_state_load(&back), 0, "state corrupt after kill -9 (round %d)", round);
			cr_assert_eq(back.nr, 300);
			for (size_t i = 1; i < back.nr; i++)
				cr_assert_eq(back.v[i].line, back.v[0].line, "mixed versions");
			cr_assert_eq((int64_t)back.v[0].line, back.last_run == 1 ? 7 : back.last_run);
			inc_state_release(&back);
		}
	}
	inc_state_release(&st);
}

Test(incremental, second_audit_is_refused_while_the_lock_is_held)
{
	struct inc_state a, b;
	inc_state_init(&a, P("audit.state"));
	inc_state_init(&b, P("audit.state"));
	cr_assert_eq(inc_state_lock(&a, 0), 0);
	cr_assert_eq(inc_state_lock(&b, 0), -1);
	cr_assert_eq(inc_state_lock(&b, 150), -1, "waits, then gives up");
	inc_state_release(&a);
	cr_assert_eq(inc_state_lock(&b, 0), 0);
	inc_state_release(&b);
}

Test(incremental, state_round_trips_hostile_paths)
{
	struct inc_state st, back;
	const char *hostile = "/tmp/we\tird\nna\\me\r.log";
	struct inc_entry e;
	memset(&e, 0, sizeof(e));
	inc_state_init(&st, P("h.state"));
	e.kind = INC_ROTATED;
	e.path = xstrdup(hostile);
	e.origin = xstrdup("/tmp/o\\t");
	e.dev = 2049;
	e.ino = UINT64_C(1) << 40;
	e.gz = true;
	e.head_len = 256;
	e.head_hash = UINT64_C(0xfedcba9876543210);
	e.offset = UINT64_C(5000000000);
	e.line = 123456789;
	e.mtime_ns = INT64_C(1760969000123456789);
	ALLOC_GROW(st.v, 1, st.alloc);
	st.v[st.nr++] = e;
	cr_assert_eq(inc_state_save(&st, 42), 0);
	inc_state_init(&back, P("h.state"));
	cr_assert_eq(inc_state_load(&back), 0);
	cr_assert_eq(back.nr, 1);
	cr_assert_eq(back.last_run, 42);
	cr_assert_str_eq(back.v[0].path, hostile);
	cr_assert_str_eq(back.v[0].origin, "/tmp/o\\t");
	cr_assert_eq(back.v[0].kind, INC_ROTATED);
	cr_assert_eq(back.v[0].ino, e.ino);
	cr_assert(back.v[0].gz);
	cr_assert_eq(back.v[0].head_hash, e.head_hash);
	cr_assert_eq(back.v[0].offset, e.offset);
	cr_assert_eq(back.v[0].line, e.line);
	cr_assert_eq(back.v[0].mtime_ns, e.mtime_ns);
	inc_state_release(&back);
	inc_state_release(&st);
}

Test(incremental, malformed_state_names_file_and_line)
{
	static const struct {
		const char *text;
		const char *why;
	} cases[] = {
		{ "", "empty" },
		{ "something else\n", ":1: not a poolscope audit state" },
		{ "poolscope-audit-state\t1\nrun\tx\n", ":2: bad run time" },
		{ "poolscope-audit-state\t1\nlive\t1\t2\n", ":2: too few fields" },
		{ "poolscope-audit-state\t1\nlive\t1\t2\t0\t0\t0\t0\tzz\t0\t0\t0\t/a\t\n", ":2: bad number" },
		{ "poolscope-audit-state\t1\nodd\t1\t2\t0\t0\t0\t0\t0\t0\t0\t0\t/a\t\n", ":2: unknown entry kind" },
		{ "poolscope-audit-state\t1\nlive\t1\t2\t0\t0\t0\t0\t0\t0\t0\t0\t/a\\q\t\n", ":2: bad path" },
		{ "poolscope-audit-state\t1\nlive\t1\t2\t0\t0\t0\t0\t0\t0\t0\t0\t/a\t", ":2: last line incomplete" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct inc_state st;
		char errfile[300];
		struct strbuf err = STRBUF_INIT;
		int saved, fd;
		FILE *f = fopen(P("bad.state"), "w");
		cr_assert_not_null(f);
		fputs(cases[i].text, f);
		fclose(f);
		snprintf(errfile, sizeof(errfile), "%s/err.txt", dir);
		fflush(stderr);
		saved = dup(2);
		fd = open(errfile, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		dup2(fd, 2);
		close(fd);
		inc_state_init(&st, P("bad.state"));
		cr_assert_eq(inc_state_load(&st), -1, "case %zu accepted", i);
		cr_assert_eq(st.nr, 0);
		inc_state_release(&st);
		fflush(stderr);
		dup2(saved, 2);
		close(saved);
		cr_assert_eq(test_read_file(errfile, &err), 0);
		cr_assert(strstr(err.buf, cases[i].why), "case %zu: '%s' lacks '%s'", i, err.buf,
			  cases[i].why);
		cr_assert(strstr(err.buf, "bad.state"), "names the file: %s", err.buf);
		strbuf_release(&err);
	}
}

/* parse_input_at() itself: resume offsets are exact across CRLF, cut lines
 * and a held partial line. */
static void count_sink(void *data, const struct event *ev)
{
	(void)ev;
	(*(int *)data)++;
}

Test(incremental, parse_input_at_resume_points)
{
	struct parse_opts opts;
	struct source src;
	struct parse_start at = PARSE_START_INIT;
	int n = 0;
	struct event_sink sink = { count_sink, &n };
	struct strbuf text = STRBUF_INIT;
	char *path;

	strbuf_addstr(&text, "one\r\ntwo\n");
	for (int i = 0; i < 300; i++)
		strbuf_addch(&text, 'x'); /* cut at max_line 256 */
	strbuf_addstr(&text, "\nthree\npart");
	path = test_write_temp(text.buf, text.len, ".log");
	cr_assert_not_null(path);
	parse_opts_init(&opts);
	opts.quiet = true;
	opts.max_line = 256;
	at.hold_partial = true;
	source_init(&src, path);
	cr_assert_eq(parse_input_at(path, &opts, &at, &src, 0, sink), 0);
	cr_assert_eq(src.lines, 4);
	cr_assert_eq(src.end_line, 4);
	cr_assert_eq(src.end_offset, text.len - 4, "stops before 'part'");
	source_release(&src);

	/* resume just after "two" */
	at.offset = 9;
	at.first_line = 3;
	source_init(&src, path);
	cr_assert_eq(parse_input_at(path, &opts, &at, &src, 0, sink), 0);
	cr_assert_eq(src.lines, 2);
	cr_assert_eq(src.start_offset, 9);
	cr_assert_eq(src.end_line, 4);
	cr_assert_eq(src.samples[0].line, 3);
	source_release(&src);

	/* without hold_partial the last line is taken */
	at.hold_partial = false;
	source_init(&src, path);
	cr_assert_eq(parse_input_at(path, &opts, &at, &src, 0, sink), 0);
	cr_assert_eq(src.lines, 3);
	cr_assert_eq(src.end_offset, text.len);
	cr_assert_eq(src.end_line, 5);
	source_release(&src);
	unlink(path);
	free(path);

	/* a cut line at the very end still moves end_line with end_offset */
	strbuf_reset(&text);
	strbuf_addstr(&text, "one\n");
	for (int i = 0; i < 300; i++)
		strbuf_addch(&text, 'y');
	strbuf_addch(&text, '\n');
	path = test_write_temp(text.buf, text.len, ".log");
	at.offset = 0;
	at.first_line = 1;
	at.hold_partial = true;
	source_init(&src, path);
	cr_assert_eq(parse_input_at(path, &opts, &at, &src, 0, sink), 0);
	cr_assert_eq(src.lines, 2);
	cr_assert_eq(src.end_line, 2);
	cr_assert_eq(src.end_offset, text.len);
	source_release(&src);
	unlink(path);
	free(path);
	strbuf_release(&text);
	parse_opts_release(&opts);
}
