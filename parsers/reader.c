#include "parsers/reader.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include "core/error.h"
#include "core/banned.h"

#define READ_CHUNK (256 * 1024)

struct reader {
	gzFile gz;
	int fd;
	bool gzip;
	bool eof;
	bool failed;
	char *path;
	char *err;
	char *buf;       /* READ_CHUNK + max_line + 1 bytes */
	size_t cap;      /* allocated size of buf */
	size_t start;    /* first unread byte */
	size_t end;      /* end of valid data */
	size_t max_line;
	uint64_t lineno;
	uint64_t offset; /* uncompressed offset of buf[start] */
	bool skipping;   /* inside the tail of an over-long line */
};

struct reader *reader_open(const char *path, size_t max_line)
{
	struct reader *r;
	int fd;
	unsigned char magic[2];
	ssize_t got;
	bool is_stdin = !strcmp(path, "-");

	fd = is_stdin ? dup(0) : open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		error("cannot open '%s': %s", path, strerror(errno));
		return NULL;
	}
	r = xcalloc(1, sizeof(*r));
	r->path = xstrdup(path);
	r->fd = fd;
	r->max_line = max_line ? max_line : 1 << 20;
	r->cap = READ_CHUNK + r->max_line + 1;
	r->buf = xmalloc(r->cap);
	if (!is_stdin) {
		got = pread(fd, magic, 2, 0);
		r->gzip = got == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
	}
	if (r->gzip || is_stdin) {
		/* zlib reads plain data transparently, so stdin may be either */
		r->gz = gzdopen(fd, "rb");
		if (!r->gz) {
			close(fd);
			free(r->buf);
			free(r->path);
			free(r);
			error("cannot read '%s': out of memory in zlib", path);
			return NULL;
		}
		gzbuffer(r->gz, 128 * 1024);
	}
	return r;
}

static void set_error(struct reader *r, const char *what)
{
	free(r->err);
	r->err = xmalloc(strlen(r->path) + strlen(what) + 64);
	snprintf(r->err, strlen(r->path) + strlen(what) + 64, "cannot read '%s': %s", r->path, what);
	r->failed = true;
	r->eof = true;
}

/* Refill: move the unread tail to the front and read more.  Returns bytes read. */
static size_t fill(struct reader *r)
{
	ssize_t n;
	if (r->eof)
		return 0;
	if (r->start) {
		memmove(r->buf, r->buf + r->start, r->end - r->start);
		r->end -= r->start;
		r->start = 0;
	}
	if (r->end >= r->cap - 1)
		return 0;
	if (r->gz) {
		int got = gzread(r->gz, r->buf + r->end, (unsigned)(r->cap - 1 - r->end));
		if (got < 0) {
			int zerr;
			const char *msg = gzerror(r->gz, &zerr);
			set_error(r, zerr == Z_BUF_ERROR ? "truncated gzip data (unexpected end of file)"
							 : msg);
			return 0;
		}
		if (got == 0) {
			int zerr;
			const char *msg = gzerror(r->gz, &zerr);
			if (zerr != Z_OK && zerr != Z_STREAM_END) {
				set_error(r, zerr == Z_BUF_ERROR ? "truncated gzip data (unexpected end of file)" : msg);
				return 0;
			}
			r->eof = true;
		}
		n = got;
	} else {
		do
			n = read(r->fd, r->buf + r->end, r->cap - 1 - r->end);
		while (n < 0 && errno == EINTR);
		if (n < 0) {
			set_error(r, strerror(errno));
			return 0;
		}
		if (n == 0)
			r->eof = true;
	}
	r->end += (size_t)n;
	return (size_t)n;
}

int reader_seek(struct reader *r, uint64_t offset, uint64_t first_line)
{
	r->start = r->end = 0;
	r->eof = false;
	r->skipping = false;
	if (!r->gz) {
		if (lseek(r->fd, (off_t)offset, SEEK_SET) < 0)
			return error("cannot seek in '%s': %s", r->path, strerror(errno));
	} else if (gzseek(r->gz, (z_off_t)offset, SEEK_SET) < 0) {
		return error("cannot seek to %llu in '%s'", (unsigned long long)offset, r->path);
	}
	r->offset = offset;
	r->lineno = first_line ? first_line - 1 : 0;
	return 0;
}

int reader_next(struct reader *r, struct line *out)
{
	for (;;) {
		char *nl = NULL;
		size_t avail = r->end - r->start;
		if (avail)
			nl = memchr(r->buf + r->start, '\n', avail);
		if (r->skipping) {
			/* discard the tail of an over-long line up to its newline */
			if (!nl) {
				r->offset += avail;
				r->start = r->end;
				if (!fill(r) && r->eof) {
					r->skipping = false;
					return r->failed ? -1 : 0;
				}
				continue;
			}
			r->offset += (size_t)(nl - (r->buf + r->start)) + 1;
			r->start = (size_t)(nl - r->buf) + 1;
			r->skipping = false;
			continue;
		}
		/* a line is too long only once max_line + 1 bytes without a
		 * newline are in: with exactly max_line, the next byte (maybe
		 * not read yet, past a refill) may be its newline */
		if (nl || avail > r->max_line || (r->eof && avail)) {
			size_t len;
			out->flags = 0;
			out->off = r->offset; /* after any skipped tail: where this line starts */
			if (nl && (size_t)(nl - (r->buf + r->start)) <= r->max_line) {
				len = (size_t)(nl - (r->buf + r->start));
				r->offset += len + 1;
			} else if (avail > r->max_line) {
				len = r->max_line;
				out->flags |= LINE_F_TOO_LONG;
				r->offset += len;
				r->skipping = true;
			} else {
				len = avail;
				out->flags |= LINE_F_NO_EOL;
				r->offset += len;
			}
			out->s = r->buf + r->start;
			r->start += len + (out->flags ? 0 : 1);
			if (len && out->s[len - 1] == '\r')
				len--;
			if (memchr(out->s, '\0', len))
				out->flags |= LINE_F_NUL;
			out->len = len;
			out->no = ++r->lineno;
			/* NUL-terminate for the parsers' convenience; the byte after the
			 * line is its newline, or spare room in buf */
			((char *)out->s)[len] = '\0';
			return 1;
		}
		if (r->eof)
			return r->failed ? -1 : 0;
		if (!fill(r) && r->eof && r->end == r->start)
			return r->failed ? -1 : 0;
	}
}

const char *reader_error(const struct reader *r)
{
	return r->err;
}

bool reader_is_gzip(const struct reader *r)
{
	return r->gzip;
}

uint64_t reader_offset(const struct reader *r)
{
	return r->offset;
}

void reader_close(struct reader *r)
{
	if (!r)
		return;
	if (r->gz)
		gzclose(r->gz); /* closes fd */
	else
		close(r->fd);
	free(r->buf);
	free(r->path);
	free(r->err);
	free(r);
}
