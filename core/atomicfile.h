#ifndef POOLSCOPE_ATOMICFILE_H
#define POOLSCOPE_ATOMICFILE_H
#include <stddef.h>
#include <stdio.h>
/*
 * Write a whole file so that it is complete or absent: the bytes go to
 * "PATH.tmp.PID" (registered with core/cleanup.h, so Ctrl-C removes it),
 * are flushed to disk, and the temp file is renamed over PATH.  For the
 * small side files of a run (charts' .dat and .gp, trend pages) that are
 * built in memory; streamed outputs use the CLI's out_open/out_commit.
 * Returns 0, or -1 after error() naming PATH (the temp file is removed).
 */
int file_write_atomic(const char *path, const void *buf, size_t len);
/*
 * A scratch file with no name: created in $TMPDIR (default /tmp) as
 * "poolscope-STEM.XXXXXX", registered for cleanup until it is unlinked a
 * moment later, and opened "w+" (it goes away with the process).  Returns
 * the stream, or NULL after error() naming the folder.
 */
FILE *tmpfile_unnamed(const char *stem);
#endif
