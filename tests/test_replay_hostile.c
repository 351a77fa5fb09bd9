/*
 * Hostile and odd workload files (replay/workload.c): what a hand-edited or
 * damaged TSV, or a log with hostile endpoint names, does to the reader, the
 * writer and the simulator.  Findings of fuzz/fuzz_workload.c are kept here
 * as regression tests (the fuzzer's UBSan is clang's, which also flags what
 * gcc's does not, e.g. NULL + 0: fuzz/seeds/workload/ keeps those inputs).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "replay/sim.h"
#include "replay/workload.h"
#include "tests/testutil.h"

static int read_text(struct workload *wl, const char *text)
{
	char *path = test_write_temp(text, strlen(text), ".tsv");
	int rc;
	cr_assert_not_null(path);
	rc = workload_read(wl, path);
	unlink(path);
	free(path);
	return rc;
}

/* fuzz_workload: a batch without hold rows left wl->holds NULL and the
 * sort computed NULL + 0 (undefined behaviour) */
Test(hostile_workload, batch_without_holds)
{
	struct workload wl;
	struct sim_config cfg;
	struct sim_result res;
	workload_init(&wl);
	cr_assert_eq(read_text(&wl, "#poolscope-workload 1\n"
				    "batch\t2025-10-20T14:00:00.050Z\t11\t0\tbatch\tvitals\t-\t2.5\t1\t2\t10\t"
				    "batch_lines\tcommit=group\n"
				    "batch\t2025-10-20T14:00:00.000Z\t11\t0\tbatch\tlab\t-\t-\t2\t1\t-\t"
				    "user\tcommit=once\n"),
		     0);
	cr_assert_eq(wl.nbatch, 2);
	cr_assert_eq(wl.nholds, 0);
	cr_assert_eq(wl.batch[0].nholds, 0);
	cr_assert_eq(workload_batch_conn_time(&wl, &wl.batch[0]), 0);
	sim_config_init(&cfg);
	memset(&res, 0, sizeof(res));
	cr_assert_eq(sim_run(&wl, &cfg, (struct sim_sink){ NULL, NULL }, &res), 0);
	cr_assert_eq(res.batches, 2);
	sim_result_release(&res);
	workload_release(&wl);
}

/* Names from logs may hold tabs, newlines and anything else: the file must
 * keep one row per request, and read back to what it wrote. */
Test(hostile_workload, hostile_names_keep_rows)
{
	static const char *const names[] = {
		"GET /a\tb", "GET /x\ny\r\nz", "$(touch /tmp/poolscope-pwned)", "<script>alert(1)</script>",
		"'; DROP TABLE t; --", "\x1b[31mred\xc2\x9b" "2J", "-", "#comment", "type",
	};
	struct workload wl, back;
	char *buf = NULL;
	size_t len = 0;
	FILE *fp;
	char *path;
	size_t rows = 0;
	workload_init(&wl);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct wl_request *r = workload_add_request(&wl);
		r->t = INT64_C(1760968800000000) + (int64_t)i * 1000;
		r->hold = 1000;
		r->name = workload_name(&wl, names[i], strlen(names[i]));
		r->evidence = WL_EV_USER;
	}
	fp = open_memstream(&buf, &len);
	cr_assert_eq(workload_write(&wl, fp), 0);
	fclose(fp);
	for (char *p = buf; (p = strstr(p, "\nrequest\t")); p++)
		rows++;
	cr_assert_eq(rows, sizeof(names) / sizeof(names[0]), "one row per request:\n%s", buf);
	path = test_write_temp(buf, len, ".tsv");
	workload_init(&back);
	cr_assert_eq(workload_read(&back, path), 0, "the written file reads back:\n%s", buf);
	cr_assert_eq(back.nreq, wl.nreq);
	for (size_t i = 0; i < back.nreq; i++)
		cr_assert_null(strpbrk(workload_name_str(&back, back.req[i].name), "\t\n\r"));
	unlink(path);
	free(path);
	free(buf);
	workload_release(&back);
	workload_release(&wl);
}

/* fuzz_workload: an empty time field passed logtime_parse()'s "whole field
 * read" check with 0 of 0 bytes and left the arrival uninitialised (the
 * request then had a garbage time, written back as year -14077) */
Test(hostile_workload, empty_time_is_an_error)
{
	static const char *const files[] = {
		"#poolscope-workload 1\nrequest\t\t11\t1\tapi\t-\t1\t-\t-\t-\t-\ttimeout\t-\n",
		"#poolscope-workload 1\nbatch\t\t11\t0\tbatch\tvitals\t-\t-\t1\t1\t-\tuser\tcommit=once\n",
	};
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		struct workload wl;
		workload_init(&wl);
		cr_assert_eq(read_text(&wl, files[i]), -1, "file %zu: an empty time was accepted", i);
		workload_release(&wl);
	}
}

/* A line far longer than any row (2 MiB of endpoint name) is refused with its
 * line number instead of being read whole; the reader never holds more than
 * its cap of it.  A NUL byte inside a row is refused too (a C string would
 * silently end at it). */
Test(hostile_workload, long_line_and_nul_are_errors)
{
	static const char head[] = "#poolscope-workload 1\nrequest\t2025-10-20T14:00:00.000Z\t11\t1\tapi\tGET /";
	static const char tail[] = "\t0.05\t-\t-\t-\t-\tuser\t-\n";
	size_t big = 2u << 20, n = 0;
	char *text = malloc(sizeof(head) + big + sizeof(tail));
	struct workload wl;
	cr_assert_not_null(text);
	memcpy(text, head, sizeof(head) - 1);
	n = sizeof(head) - 1;
	memset(text + n, 'x', big);
	n += big;
	memcpy(text + n, tail, sizeof(tail));
	workload_init(&wl);
	cr_assert_eq(read_text(&wl, text), -1, "a 2 MiB line was accepted");
	cr_assert_eq(wl.nreq, 0);
	workload_release(&wl);

	/* the same row, short, reads; with a NUL in the endpoint it does not */
	n = sizeof(head) - 1;
	memcpy(text + n, tail, sizeof(tail));
	workload_init(&wl);
	cr_assert_eq(read_text(&wl, text), 0, "the short row was refused");
	cr_assert_eq(wl.nreq, 1);
	workload_release(&wl);
	{
		char *path;
		text[n - 2] = '\0';
		path = test_write_temp(text, n + sizeof(tail) - 1, ".tsv");
		cr_assert_not_null(path);
		workload_init(&wl);
		cr_assert_eq(workload_read(&wl, path), -1, "a NUL byte was accepted");
		workload_release(&wl);
		unlink(path);
		free(path);
	}
	free(text);
}
