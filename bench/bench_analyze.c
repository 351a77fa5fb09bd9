/*
 * bench_analyze: where `analyze` spends its time and memory, by phase:
 * parse into a timeline (parsers + sort), analysis_run, the JSON writer.
 * Prints wall seconds, MB/s of input and peak RSS after each phase.
 *
 *   bench_analyze FILE...        (e.g. the output of bench/genlogs)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "analysis/analyze.h"
#include "core/json.h"
#include "parsers/parse.h"
#include "core/banned.h"

static long status_kb(const char *key)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long v = -1;
	size_t n = strlen(key);
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, n))
			v = strtol(line + n, NULL, 10);
	fclose(f);
	return v;
}

static void report(const char *phase, mono_usec t0, double mb)
{
	double s = (double)(mono_now() - t0) / 1e6;
	printf("%-22s %8.2f s %8.0f MB/s   rss %6ld MB   peak %6ld MB\n", phase, s, s > 0 ? mb / s : 0,
	       status_kb("VmRSS:") / 1024, status_kb("VmHWM:") / 1024);
}

int main(int argc, char **argv)
{
	struct parse_opts po;
	struct analysis_opts ao;
	struct timeline tl;
	struct analysis a;
	struct strbuf out = STRBUF_INIT;
	struct jw w;
	double mb = 0;
	mono_usec t0, t;
	if (argc < 2) {
		fprintf(stderr, "usage: bench_analyze FILE...\n");
		return 64;
	}
	for (int i = 1; i < argc; i++) {
		struct stat st;
		if (!stat(argv[i], &st))
			mb += (double)st.st_size / 1048576.0;
	}
	parse_opts_init(&po);
	po.quiet = true;
	analysis_opts_init(&ao);
	timeline_init(&tl);
	t0 = t = mono_now();
	parse_into_timeline((const char *const *)argv + 1, (size_t)argc - 1, &po, &tl);
	printf("input %.0f MB, %zu events (%zu bytes each in the timeline)\n", mb, tl.nr, sizeof(struct event));
	report("parse + timeline", t, mb);
	t = mono_now();
	analysis_run(&tl, &ao, &a);
	report("analysis_run", t, mb);
	t = mono_now();
	jw_init(&w, &out, true);
	analysis_write_json(&a, &w);
	report("json writer", t, mb);
	report("total", t0, mb);
	printf("holds %zu, requests %zu, batches %zu, buckets %zu, incidents %zu\n", a.holds.nr, a.http.requests,
	       a.nbatches, a.nbuckets, a.nincidents);
	strbuf_release(&out);
	analysis_release(&a);
	timeline_release(&tl);
	parse_opts_release(&po);
	return 0;
}
