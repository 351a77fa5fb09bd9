#ifndef POOLSCOPE_READER_H
#define POOLSCOPE_READER_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/strbuf.h"
/*
 * Physical-line reader over a file, a gzip file (detected by its magic
 * bytes, not its name; concatenated members are read in turn) or standard
 * input ("-").  Reading is separate from parsing: the reader only splits
 * lines, strips "\r\n" to "", and caps line length.
 *
 * A line longer than max_line is delivered cut to max_line bytes with
 * LINE_F_TOO_LONG set; the rest of it is skipped.  The final line may lack
 * a newline (LINE_F_NO_EOL).
 */
#define LINE_F_TOO_LONG 0x1u
#define LINE_F_NO_EOL   0x2u
#define LINE_F_NUL      0x4u /* the line holds NUL bytes */

struct line {
	const char *s;   /* borrowed: valid until the next reader_next() */
	size_t len;
	uint64_t no;     /* 1-based physical line number */
	uint64_t off;    /* uncompressed offset of the line's first byte */
	unsigned flags;
};

struct reader;

/* Open path ("-" = stdin).  Returns NULL after error() if it cannot be opened. */
struct reader *reader_open(const char *path, size_t max_line);
/* Start reading from byte offset (of the uncompressed stream) `offset`, with
 * line numbers continuing at first_line.  For plain files it seeks; for gzip
 * it decompresses and discards.  Returns 0 or -1 after error(). */
int reader_seek(struct reader *r, uint64_t offset, uint64_t first_line);
/*
 * Next line: 1 and *out filled, 0 at end of input, -1 on a read error (the
 * error text is in reader_error(); lines before it were delivered).
 */
int reader_next(struct reader *r, struct line *out);
const char *reader_error(const struct reader *r);
bool reader_is_gzip(const struct reader *r);
/* Uncompressed bytes consumed so far (through the end of the last line). */
uint64_t reader_offset(const struct reader *r);
void reader_close(struct reader *r);
#endif
