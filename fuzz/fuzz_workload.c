/*
 * libFuzzer target: the workload-file reader (replay/workload.h), then what
 * a `replay FILE.tsv` does with what it read.
 *
 * Checks: a file that reads is written back by workload_write() to a text
 * that reads again and writes identically (the TSV round-trips after one
 * normalisation); the identity and a re-cutting transform run; the
 * simulator runs the workload under a small pool to the end.  Seeds are
 * `poolscope workload` outputs of the incident captures (scripts/fuzz.sh)
 * and fuzz/seeds/workload/.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "replay/sim.h"
#include "replay/workload.h"

#define CHECK(c)                                                                     \
	do {                                                                         \
		if (!(c)) {                                                          \
			fprintf(stderr, "fuzz_workload: check failed: %s (line %d)\n", \
				#c, __LINE__);                                       \
			abort();                                                     \
		}                                                                    \
	} while (0)

static int memfd_path(const void *data, size_t size, char *path, size_t pathsz)
{
	int fd = memfd_create("fuzz", 0);
	CHECK(fd >= 0);
	CHECK(!size || write(fd, data, size) == (ssize_t)size);
	snprintf(path, pathsz, "/proc/self/fd/%d", fd);
	return fd;
}

/* workload_write() into a malloc'd string */
static char *write_text(const struct workload *wl, size_t *len)
{
	char *buf = NULL;
	FILE *fp = open_memstream(&buf, len);
	CHECK(fp);
	CHECK(workload_write(wl, fp) == 0);
	CHECK(fclose(fp) == 0);
	return buf;
}

/* Keep the simulation small: the fuzzer is after parsing bugs and broken
 * invariants, not after a 10^7-request day that a 200-byte file can ask
 * for through --scale-load-like figures. */
static bool small_enough(const struct workload *wl)
{
	return wl->nreq <= 2000 && wl->nholds <= 2000 && wl->nbatch <= 200;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct workload wl, again;
	char path[64];
	int fd = memfd_path(data, size, path, sizeof(path));
	char *text1, *text2;
	size_t len1, len2;

	workload_init(&wl);
	/* errors are expected: scripts/fuzz.sh runs this with -close_fd_mask=2 */
	if (workload_read(&wl, path) < 0) {
		workload_release(&wl);
		close(fd);
		return 0;
	}
	close(fd);

	/* round trip: read(write(wl)) writes the same text */
	text1 = write_text(&wl, &len1);
	fd = memfd_path(text1, len1, path, sizeof(path));
	workload_init(&again);
	CHECK(workload_read(&again, path) == 0);
	close(fd);
	text2 = write_text(&again, &len2);
	if (len1 != len2 || memcmp(text1, text2, len1)) {
		fprintf(stderr, "fuzz_workload: round trip differs:\n--- first\n%.*s--- second\n%.*s",
			(int)len1, text1, (int)len2, text2);
		abort();
	}
	free(text1);
	free(text2);
	workload_release(&again);

	if (small_enough(&wl)) {
		struct wl_transform t;
		struct workload cut;
		struct sim_config cfg;
		struct sim_result res;
		sim_config_init(&cfg);
		cfg.pool.pool_size = 2;
		cfg.pool.max_overflow = 1;
		cfg.max_connections = 3;
		cfg.stats_every_usec = 0;
		memset(&res, 0, sizeof(res));
		CHECK(sim_run(&wl, &cfg, (struct sim_sink){ NULL, NULL }, &res) == 0);
		CHECK(res.checkouts + res.timeouts + res.refusals >= res.requests - res.requests_failed);
		sim_result_release(&res);

		wl_transform_init(&t);
		t.batch_size = 3;
		t.batch_concurrency = 2;
		t.seed = 1;
		workload_init(&cut);
		if (workload_transform(&cut, &wl, &t) == 0 && small_enough(&cut)) {
			memset(&res, 0, sizeof(res));
			CHECK(sim_run(&cut, &cfg, (struct sim_sink){ NULL, NULL }, &res) == 0);
			sim_result_release(&res);
		}
		workload_release(&cut);
	}
	workload_release(&wl);
	return 0;
}
