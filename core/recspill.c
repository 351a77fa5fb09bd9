#include "core/recspill.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "core/atomicfile.h"
#include "core/error.h"
#include "core/banned.h"

void recspill_init(struct recspill *s, size_t size, size_t mem_max)
{
	memset(s, 0, sizeof(*s));
	s->size = size;
	s->mem_max = mem_max ? mem_max : 65536;
}

void recspill_release(struct recspill *s)
{
	free(s->buf);
	if (s->f)
		fclose(s->f);
	memset(s, 0, sizeof(*s));
}

static int open_file(struct recspill *s)
{
	s->f = tmpfile_unnamed("records");
	return s->f ? 0 : -1;
}

/* Writes buf to the file (creating it) and empties it.  Marks the spill
 * failed on error; a failed spill drops what it is given. */
static void flush_buf(struct recspill *s)
{
	if (!s->failed && !s->f && open_file(s) < 0)
		s->failed = true;
	if (!s->failed && fwrite(s->buf, s->size, s->nbuf, s->f) != s->nbuf) {
		error("cannot write a temporary file: %s", strerror(errno));
		s->failed = true;
	}
	s->nbuf = 0;
}

void recspill_add(struct recspill *s, const void *rec)
{
	if (!s->buf)
		s->buf = xmalloc(s->mem_max * s->size);
	if (s->nbuf == s->mem_max)
		flush_buf(s);
	memcpy(s->buf + s->nbuf * s->size, rec, s->size);
	s->nbuf++;
	s->nr++;
}

int recspill_rewind(struct recspill *s)
{
	if (s->f && s->nbuf)
		flush_buf(s); /* everything in the file: buf becomes the read buffer */
	if (s->failed)
		return -1;
	if (s->f) {
		if (fflush(s->f) == EOF || fseek(s->f, 0, SEEK_SET) < 0) {
			s->failed = true;
			return error("cannot read back a temporary file: %s", strerror(errno));
		}
		s->rnbuf = 0;
	} else {
		s->rnbuf = s->nbuf;
	}
	s->rpos = 0;
	s->rbuf = 0;
	return 0;
}

const void *recspill_next(struct recspill *s)
{
	if (s->rpos >= s->nr || s->failed)
		return NULL;
	if (s->rbuf == s->rnbuf) {
		uint64_t left = s->nr - s->rpos;
		size_t want = left < s->mem_max ? (size_t)left : s->mem_max;
		if (!s->f || fread(s->buf, s->size, want, s->f) != want) {
			error("cannot read back a temporary file%s%s", s->f ? ": " : "",
			      s->f ? strerror(errno) : "");
			s->failed = true;
			return NULL;
		}
		s->rbuf = 0;
		s->rnbuf = want;
	}
	s->rpos++;
	return s->buf + s->rbuf++ * s->size;
}
