/*
 * libFuzzer target: one log format's parser (FUZZ_FORMAT, or detection when
 * it is empty) driven through the real parse driver, from bytes to JSON.
 * The input goes through a memfd so the reader, record assembly, the
 * format and the fallbacks all run exactly as on a file.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "core/error.h"
#include "core/timeline.h"
#include "parsers/format.h"
#include "parsers/parse.h"

#ifndef FUZZ_FORMAT
#define FUZZ_FORMAT ""
#endif

struct fuzz_sink {
	struct strbuf json;
	struct timeline *tl;
};

static void sink_emit(void *data, const struct event *ev)
{
	struct fuzz_sink *fs = data;
	strbuf_reset(&fs->json);
	event_to_json(ev, "fuzz", &fs->json);
	timeline_append(fs->tl, ev);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct parse_opts opts;
	static int ready;
	struct timeline tl;
	struct fuzz_sink fs;
	char path[64];
	int fd;
	uint32_t idx;

	if (!ready) {
		parse_opts_init(&opts);
		opts.quiet = true;
		opts.max_line = 4096; /* exercise the too-long path with small inputs */
		if (FUZZ_FORMAT[0]) {
			if (!format_find(FUZZ_FORMAT)) {
				fprintf(stderr, "fuzz: unknown format '%s'\n", FUZZ_FORMAT);
				abort();
			}
			opts.format = FUZZ_FORMAT;
		}
		ready = 1;
	}
	fd = memfd_create("fuzz", 0);
	if (fd < 0)
		abort();
	if (size && write(fd, data, size) != (ssize_t)size)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	timeline_init(&tl);
	strbuf_init(&fs.json, 0);
	fs.tl = &tl;
	idx = timeline_add_source(&tl, path);
	parse_input(path, &opts, timeline_source(&tl, idx), idx,
		    (struct event_sink){ sink_emit, &fs });
	timeline_sort(&tl);
	strbuf_release(&fs.json);
	timeline_release(&tl);
	close(fd);
	return 0;
}
