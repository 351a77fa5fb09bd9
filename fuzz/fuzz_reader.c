/*
 * libFuzzer target: the line reader alone (parsers/reader.c), checked
 * against a model of what it must deliver.
 *
 * Input: one control byte, then the payload.  Control bits:
 *   0x01  gzip the payload ourselves (a valid stream of arbitrary text)
 *   0x02  ... as two concatenated gzip members (split at byte 1 of the rest)
 *   0x04  ... and cut the compressed stream short (truncated download)
 *   0x08  after the first pass, reader_seek() to a line start and read again
 *   0x30  max_line: 16, 64, 4096 or 1 MiB
 *   0x40  repeat the payload past the reader's buffer (256 KB + max_line),
 *         so lines straddle refills (small inputs are read in one go)
 * Without 0x01 the payload is written as it is, so gzip seeds and their
 * mutations reach zlib's error paths too (only the invariants are checked
 * there, since the expected lines are unknown).
 *
 * The model (what reader.h promises): lines split at '\n', a trailing '\r'
 * removed; a line longer than max_line (max_line bytes may be followed by
 * the newline, wherever the reader's refills fall) delivered cut to max_line with
 * LINE_F_TOO_LONG and its tail skipped; a last line without newline with
 * LINE_F_NO_EOL; line numbers from 1; struct line.off the offset of the
 * line's first byte; reader_offset() the end of what was delivered.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>
#include "core/strbuf.h"
#include "parsers/reader.h"

#define CHECK(c)                                                                  \
	do {                                                                      \
		if (!(c)) {                                                       \
			fprintf(stderr, "fuzz_reader: check failed: %s (line %d)\n", \
				#c, __LINE__);                                    \
			abort();                                                  \
		}                                                                 \
	} while (0)

struct mline {
	size_t off, len;
	unsigned flags;
	size_t next; /* offset after the line (and its skipped tail) */
};

/* Split d[0..n) as the reader must; returns the number of lines. */
static size_t model_split(const uint8_t *d, size_t n, size_t max_line, struct mline *out)
{
	size_t pos = 0, k = 0;
	while (pos < n) {
		const uint8_t *nl = memchr(d + pos, '\n', n - pos);
		struct mline *m = &out[k++];
		m->off = pos;
		m->flags = 0;
		if (nl && (size_t)(nl - (d + pos)) <= max_line) {
			m->len = (size_t)(nl - (d + pos));
			pos = (size_t)(nl - d) + 1;
		} else if (n - pos > max_line) {
			m->len = max_line;
			m->flags = LINE_F_TOO_LONG;
			pos = nl ? (size_t)(nl - d) + 1 : n;
		} else {
			m->len = n - pos;
			m->flags = LINE_F_NO_EOL;
			pos = n;
		}
		if (m->len && d[m->off + m->len - 1] == '\r')
			m->len--;
		if (memchr(d + m->off, '\0', m->len))
			m->flags |= LINE_F_NUL;
		m->next = pos;
	}
	return k;
}

static void gzip_append(struct strbuf *out, const uint8_t *d, size_t n)
{
	z_stream z;
	uint8_t buf[16384];
	int ret;
	memset(&z, 0, sizeof(z));
	if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		abort();
	z.next_in = (Bytef *)d;
	z.avail_in = (uInt)n;
	do {
		z.next_out = buf;
		z.avail_out = sizeof(buf);
		ret = deflate(&z, Z_FINISH);
		strbuf_add(out, buf, sizeof(buf) - z.avail_out);
	} while (ret == Z_OK);
	CHECK(ret == Z_STREAM_END);
	deflateEnd(&z);
}

/* Read r to the end checking every line against the model from line index
 * `first`; returns reader_next()'s final status.  With `exact` false (a
 * truncated stream) the lines must be a prefix of the model's, the last one
 * possibly cut. */
static int check_lines(struct reader *r, const uint8_t *d, const struct mline *m, size_t nm,
		       size_t first, size_t max_line, int exact)
{
	struct line ln;
	size_t i = first;
	int st;
	while ((st = reader_next(r, &ln)) > 0) {
		CHECK(ln.len <= max_line);
		CHECK(ln.s[ln.len] == '\0');
		CHECK(i < nm);
		CHECK(ln.no == i + 1);
		CHECK(ln.off == m[i].off);
		/* where a truncated stream ends, the last line may be shorter
		 * (NO_EOL) or flagged otherwise than in the full text: only its
		 * prefix is checked */
		if (exact || (ln.flags & (LINE_F_NO_EOL | LINE_F_TOO_LONG)) == 0) {
			CHECK(ln.len == m[i].len);
			CHECK(ln.flags == m[i].flags);
			CHECK(reader_offset(r) == m[i].next || (m[i].flags & LINE_F_TOO_LONG));
		} else {
			CHECK(ln.len <= m[i].len || (m[i].flags & LINE_F_TOO_LONG));
		}
		CHECK(!memcmp(ln.s, d + m[i].off, ln.len));
		i++;
	}
	if (exact) {
		CHECK(st == 0);
		CHECK(i == nm);
		CHECK(reader_offset(r) == (nm ? m[nm - 1].next : 0));
	}
	return st;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t max_lines[] = { 16, 64, 4096, 1 << 20 };
	struct strbuf file = STRBUF_INIT, big = STRBUF_INIT;
	struct mline *model;
	struct reader *r;
	struct line ln;
	char path[64];
	size_t nm, max_line;
	uint8_t ctl;
	int fd, exact;

	if (!size)
		return 0;
	ctl = data[0];
	data++;
	size--;
	max_line = max_lines[(ctl >> 4) & 3];
	if ((ctl & 0x40) && size) {
		while (big.len < 256 * 1024 + max_line + 16 * 1024)
			strbuf_add(&big, data, size);
		data = (const uint8_t *)big.buf;
		size = big.len;
	}
	if (ctl & 0x01) {
		size_t split = (ctl & 0x02) && size ? data[0] % (size + 1) : size;
		gzip_append(&file, data, split);
		if (split < size)
			gzip_append(&file, data + split, size - split);
		if ((ctl & 0x04) && file.len > 2) {
			/* cut 1..64 bytes off the end, keeping the 2-byte magic (with
			 * less the file is plain text, not a damaged gzip) */
			size_t cut = 1 + (size ? data[size / 2] : 0) % 64;
			strbuf_setlen(&file, cut < file.len - 2 ? file.len - cut : 2);
		}
	} else {
		strbuf_add(&file, data, size);
	}
	exact = !(ctl & 0x04) && ((ctl & 0x01) || size < 2 || data[0] != 0x1f || data[1] != 0x8b);

	fd = memfd_create("fuzz", 0);
	CHECK(fd >= 0);
	CHECK(!file.len || write(fd, file.buf, file.len) == (ssize_t)file.len);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	nm = 1;
	for (const uint8_t *p = data; (p = memchr(p, '\n', size - (size_t)(p - data))); p++)
		nm++;
	model = malloc(nm * sizeof(*model));
	nm = model_split(data, size, max_line, model);

	r = reader_open(path, max_line);
	CHECK(r);
	CHECK(reader_is_gzip(r) == (file.len >= 2 && (uint8_t)file.buf[0] == 0x1f &&
				    (uint8_t)file.buf[1] == 0x8b));
	if (exact || (ctl & 0x01)) {
		int st = check_lines(r, data, model, nm, 0, max_line, exact);
		if (!exact)
			CHECK(st == 0 || (st < 0 && reader_error(r)));
		if (exact && (ctl & 0x08) && nm) {
			/* resume at a line start, as incremental reading does */
			size_t k = data[size - 1] % nm;
			CHECK(reader_seek(r, model[k].off, k + 1) == 0);
			check_lines(r, data, model, nm, k, max_line, 1);
		}
	} else {
		/* arbitrary bytes, maybe a damaged gzip: only the invariants */
		uint64_t no = 0;
		int st;
		while ((st = reader_next(r, &ln)) > 0) {
			CHECK(ln.len <= max_line);
			CHECK(ln.no == ++no);
			CHECK(ln.s[ln.len] == '\0');
		}
		CHECK(st == 0 || (st < 0 && reader_error(r)));
	}
	reader_close(r);
	close(fd);
	free(model);
	strbuf_release(&file);
	strbuf_release(&big);
	return 0;
}
