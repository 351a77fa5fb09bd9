/* libFuzzer target: the --formats FILE loader (pattern compilation, field
 * mapping, error paths) followed by applying what loaded to one line. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>
#include "parsers/formats.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64];
	struct user_formats *uf;
	int fd = memfd_create("fuzz", 0);
	if (fd < 0)
		abort();
	if (size && write(fd, data, size) != (ssize_t)size)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	/* errors are expected: scripts/fuzz.sh runs this with -close_fd_mask=2 */
	uf = user_formats_load(path);
	user_formats_free(uf);
	close(fd);
	return 0;
}
