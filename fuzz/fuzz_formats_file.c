/* libFuzzer target: the --formats FILE loader (pattern compilation, field
 * mapping, error paths) and, when it loads, its rules applied to a log.
 *
 * Input: the formats file, then optionally a NUL byte and a log that is
 * parsed with the loaded rules (format detected as usual), so named-group
 * extraction, ts_format layouts and field conversion run on fuzzed text.
 * The seeds (scripts/fuzz.sh) are fixtures/formats/example.formats + NUL +
 * example.log and the hand-written fuzz/seeds/formats/ files. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "core/timeline.h"
#include "parsers/formats.h"
#include "parsers/parse.h"

static int memfd_path(const uint8_t *data, size_t size, char *path, size_t pathsz)
{
	int fd = memfd_create("fuzz", 0);
	if (fd < 0)
		abort();
	if (size && write(fd, data, size) != (ssize_t)size)
		abort();
	snprintf(path, pathsz, "/proc/self/fd/%d", fd);
	return fd;
}

static void sink_emit(void *data, const struct event *ev)
{
	struct strbuf *json = data;
	strbuf_reset(json);
	event_to_json(ev, "fuzz", json);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64], logpath[64];
	struct user_formats *uf;
	const uint8_t *nul = memchr(data, '\0', size);
	size_t fsize = nul ? (size_t)(nul - data) : size;
	int fd = memfd_path(data, fsize, path, sizeof(path));

	/* errors are expected: scripts/fuzz.sh runs this with -close_fd_mask=2 */
	uf = user_formats_load(path);
	close(fd);
	if (uf && nul) {
		struct parse_opts opts;
		struct timeline tl;
		struct strbuf json = STRBUF_INIT;
		uint32_t idx;
		int lfd = memfd_path(nul + 1, size - fsize - 1, logpath, sizeof(logpath));
		parse_opts_init(&opts);
		opts.quiet = true;
		opts.max_line = 4096;
		opts.user = uf;
		timeline_init(&tl);
		idx = timeline_add_source(&tl, logpath);
		parse_input(logpath, &opts, timeline_source(&tl, idx), idx,
			    (struct event_sink){ sink_emit, &json });
		timeline_release(&tl);
		strbuf_release(&json);
		parse_opts_release(&opts);
		close(lfd);
	}
	user_formats_free(uf);
	return 0;
}
