#ifndef POOLSCOPE_TESTUTIL_H
#define POOLSCOPE_TESTUTIL_H
#include <stddef.h>
#include "core/strbuf.h"
/* Helpers for the Criterion suites.  Paths are resolved against the source
 * tree (POOLSCOPE_SRC, set by ctest; defaults to the current directory). */

/* "<src>/<rel>" into a static buffer (valid until the next call). */
const char *test_path(const char *rel);
/* The poolscope binary (POOLSCOPE_BIN), or NULL if unknown. */
const char *test_bin(void);
/* /work/shared/reference-style sibling folder "../shared/<rel>" of the source
 * tree, or NULL if it does not exist. */
const char *test_shared_path(const char *rel);
/* Read a whole file into sb; returns 0 or -1. */
int test_read_file(const char *path, struct strbuf *sb);
/* Write text to a fresh temp file; returns its malloc'd path. */
char *test_write_temp(const char *text, size_t len, const char *suffix);
/* Run a shell command, capturing stdout into out (if not NULL); returns the
 * exit status (or -1). */
int test_run(const char *cmd, struct strbuf *out);
/* Between test_capture_start() and test_capture_end(), stderr goes to a
 * temp file and TMPDIR is tmpdir (a folder that need not exist);
 * test_capture_end() puts both back and returns what was printed
 * (malloc'd).  Aborts if the capture itself fails. */
struct test_capture {
	int fd, saved;
	char path[64];
	char *old_tmpdir;
};
void test_capture_start(struct test_capture *c, const char *tmpdir);
char *test_capture_end(struct test_capture *c);
/* Lines (newlines) in text. */
size_t test_count_lines(const char *text);
#endif
