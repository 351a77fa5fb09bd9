#include "tests/testutil.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "core/error.h"

static char pathbuf[4096];

const char *test_path(const char *rel)
{
	const char *root = getenv("POOLSCOPE_SRC");
	snprintf(pathbuf, sizeof(pathbuf), "%s/%s", root ? root : ".", rel);
	return pathbuf;
}

const char *test_bin(void)
{
	return getenv("POOLSCOPE_BIN");
}

const char *test_shared_path(const char *rel)
{
	const char *root = getenv("POOLSCOPE_SRC");
	struct stat st;
	snprintf(pathbuf, sizeof(pathbuf), "%s/../shared/%s", root ? root : ".", rel);
	if (stat(pathbuf, &st) < 0)
		return NULL;
	return pathbuf;
}

int test_read_file(const char *path, struct strbuf *sb)
{
	FILE *f = fopen(path, "rb");
	char buf[65536];
	size_t n;
	if (!f)
		return -1;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		strbuf_add(sb, buf, n);
	fclose(f);
	return 0;
}

char *test_write_temp(const char *text, size_t len, const char *suffix)
{
	char tmpl[256];
	int fd;
	snprintf(tmpl, sizeof(tmpl), "/tmp/poolscope-test-XXXXXX%s", suffix ? suffix : "");
	fd = mkstemps(tmpl, suffix ? (int)strlen(suffix) : 0);
	if (fd < 0)
		return NULL;
	if (write(fd, text, len) != (ssize_t)len) {
		close(fd);
		return NULL;
	}
	close(fd);
	return xstrdup(tmpl);
}

int test_run(const char *cmd, struct strbuf *out)
{
	FILE *p = popen(cmd, "r");
	char buf[65536];
	size_t n;
	int st;
	if (!p)
		return -1;
	while ((n = fread(buf, 1, sizeof(buf), p)) > 0)
		if (out)
			strbuf_add(out, buf, n);
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

void test_capture_start(struct test_capture *c, const char *tmpdir)
{
	const char *old = getenv("TMPDIR");
	c->old_tmpdir = old ? strdup(old) : NULL;
	snprintf(c->path, sizeof(c->path), "/tmp/poolscope-test-err.XXXXXX");
	c->fd = mkstemp(c->path);
	if (c->fd < 0)
		abort();
	c->saved = dup(2);
	fflush(stderr);
	dup2(c->fd, 2);
	setenv("TMPDIR", tmpdir, 1);
}

char *test_capture_end(struct test_capture *c)
{
	struct stat st;
	char *text;
	fflush(stderr);
	dup2(c->saved, 2);
	close(c->saved);
	if (c->old_tmpdir)
		setenv("TMPDIR", c->old_tmpdir, 1);
	else
		unsetenv("TMPDIR");
	free(c->old_tmpdir);
	if (fstat(c->fd, &st) < 0)
		abort();
	text = calloc(1, (size_t)st.st_size + 1);
	if (!text || pread(c->fd, text, (size_t)st.st_size, 0) != st.st_size)
		abort();
	close(c->fd);
	unlink(c->path);
	return text;
}

size_t test_count_lines(const char *text)
{
	size_t n = 0;
	for (const char *p = text; *p; p++)
		n += *p == '\n';
	return n;
}
