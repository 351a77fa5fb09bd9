#include <criterion/criterion.h>
#include <dirent.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "core/timeline.h"
#include "core/strvec.h"
#include "parsers/parse.h"
#include "replay/sim.h"
#include "replay/workload.h"
#include "tests/testutil.h"

/*
 * The acceptance test of the replay (issue 4), against the real captures
 * in fixtures/incident/{before,after} and their ground truth (truth.json,
 * written from SQLAlchemy's own pool events, not from the logs):
 *
 * 1. the before logs replayed under their own recorded settings reproduce
 *    the real timeout count within 10 % and the real peak checked out
 *    within 2;
 * 2. the before workload replayed under the fix (the after run's pool
 *    settings, sub-workers and commit-per-group, batch size the middle of
 *    the fix's range) predicts the after run's timeouts within 10 %, or
 *    within 2 where the real count is that small;
 * 3. the after logs under their own settings reproduce its timeouts and
 *    peak the same way.
 * The measured errors are printed (and recorded in docs/replay.md).
 */

struct truth {
	int64_t timeouts, peak;
	int32_t size, ovf, workers, bmin, bmax;
	double timeout_s;
	bool per_group;
};

static bool load_truth(const char *dir, struct truth *t)
{
	char path[4096];
	json_error_t err;
	json_t *root, *pool, *set;
	snprintf(path, sizeof(path), "%s/truth/truth.json", dir);
	root = json_load_file(path, 0, &err);
	if (!root)
		return false;
	pool = json_object_get(root, "pool");
	set = json_object_get(root, "settings");
	t->timeouts = json_integer_value(json_object_get(pool, "timeouts"));
	t->peak = json_integer_value(json_object_get(pool, "peak_checked_out"));
	t->size = (int32_t)json_integer_value(json_object_get(set, "pool_size"));
	t->ovf = (int32_t)json_integer_value(json_object_get(set, "max_overflow"));
	t->timeout_s = json_number_value(json_object_get(set, "pool_timeout_s"));
	t->workers = (int32_t)json_integer_value(json_object_get(set, "batch_workers"));
	t->bmin = (int32_t)json_integer_value(json_object_get(set, "batch_size_min"));
	t->bmax = (int32_t)json_integer_value(json_object_get(set, "batch_size_max"));
	t->per_group = json_is_true(json_object_get(set, "commit_per_group"));
	json_decref(root);
	return true;
}

/* Every log of the capture folder, as `poolscope replay DIR` reads it. */
static void load_workload(const char *dir, struct workload *wl)
{
	struct strvec paths = STRVEC_INIT;
	struct parse_opts opts;
	struct timeline tl;
	DIR *d = opendir(dir);
	struct dirent *de;
	cr_assert(d, "no fixture folder %s", dir);
	while ((de = readdir(d))) {
		char p[4096];
		struct stat st;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		if (de->d_name[0] != '.' && !stat(p, &st) && S_ISREG(st.st_mode))
			strvec_push(&paths, p);
	}
	closedir(d);
	strvec_sort(&paths);
	parse_opts_init(&opts);
	opts.quiet = true;
	timeline_init(&tl);
	cr_assert_eq(parse_into_timeline((const char *const *)paths.v, paths.nr, &opts, &tl), 0);
	workload_init(wl);
	workload_extract(wl, &tl);
	timeline_release(&tl);
	parse_opts_release(&opts);
	strvec_clear(&paths);
}

static void run(const struct workload *wl, const struct wl_transform *t, int32_t size,
		int32_t ovf, double timeout_s, struct sim_result *r)
{
	struct workload tw;
	struct sim_config c;
	workload_init(&tw);
	cr_assert_eq(workload_transform(&tw, wl, t), 0);
	sim_config_init(&c);
	c.pool.pool_size = size;
	c.pool.max_overflow = ovf;
	c.pool.timeout_usec = (int64_t)llround(timeout_s * 1e6);
	sim_run(&tw, &c, (struct sim_sink){ NULL, NULL }, r);
	workload_release(&tw);
}

static bool timeouts_close(int64_t predicted, int64_t real)
{
	int64_t err = llabs(predicted - real);
	return err <= 2 || (double)err <= 0.10 * (double)real;
}

Test(validation, before_under_its_own_settings)
{
	char dir[4096];
	struct truth t;
	struct workload wl;
	struct wl_transform tr;
	struct sim_result r;
	snprintf(dir, sizeof(dir), "%s", test_path("fixtures/incident/before"));
	cr_assert(load_truth(dir, &t), "fixtures/incident/before/truth/truth.json missing");
	load_workload(dir, &wl);
	/* the settings come from the logs, as `replay` without --pool does */
	cr_assert_eq(wl.rec_pool_size, t.size);
	cr_assert_eq(wl.rec_max_overflow, t.ovf);
	cr_assert_eq(wl.rec_timeout_usec, (int64_t)llround(t.timeout_s * 1e6));
	wl_transform_init(&tr);
	run(&wl, &tr, wl.rec_pool_size, wl.rec_max_overflow, (double)wl.rec_timeout_usec / 1e6, &r);
	fprintf(stderr, "validation before/own: timeouts %llu (real %lld, error %+.1f %%), "
			"peak %d (real %lld)\n",
		(unsigned long long)r.timeouts, (long long)t.timeouts,
		100.0 * ((double)r.timeouts - (double)t.timeouts) / (double)t.timeouts,
		r.peak_checked_out, (long long)t.peak);
	cr_assert((double)llabs((int64_t)r.timeouts - t.timeouts) <= 0.10 * (double)t.timeouts,
		  "timeouts %llu vs real %lld", (unsigned long long)r.timeouts, (long long)t.timeouts);
	cr_assert_leq(llabs(r.peak_checked_out - t.peak), 2, "peak %d vs real %lld",
		      r.peak_checked_out, (long long)t.peak);
	sim_result_release(&r);
	workload_release(&wl);
}

Test(validation, before_under_the_fix_predicts_after)
{
	char bdir[4096], adir[4096];
	struct truth before, after;
	struct workload wl;
	struct wl_transform tr;
	struct sim_result r;
	snprintf(bdir, sizeof(bdir), "%s", test_path("fixtures/incident/before"));
	snprintf(adir, sizeof(adir), "%s", test_path("fixtures/incident/after"));
	cr_assert(load_truth(bdir, &before));
	cr_assert(load_truth(adir, &after));
	load_workload(bdir, &wl);
	wl_transform_init(&tr);
	tr.batch_size = (after.bmin + after.bmax) / 2;
	tr.batch_concurrency = after.workers;
	tr.commit = after.per_group ? WL_COMMIT_GROUP : WL_COMMIT_ONCE;
	run(&wl, &tr, after.size, after.ovf, after.timeout_s, &r);
	fprintf(stderr, "validation before->fix: timeouts %llu (after run: %lld), peak %d (after "
			"run: %lld)\n",
		(unsigned long long)r.timeouts, (long long)after.timeouts, r.peak_checked_out,
		(long long)after.peak);
	cr_assert(timeouts_close((int64_t)r.timeouts, after.timeouts),
		  "predicted %llu vs real %lld", (unsigned long long)r.timeouts,
		  (long long)after.timeouts);
	sim_result_release(&r);
	/* and the same workload without the fix still fails: the test can fail */
	wl_transform_init(&tr);
	run(&wl, &tr, before.size, before.ovf, before.timeout_s, &r);
	cr_assert_gt(r.timeouts, 100);
	sim_result_release(&r);
	workload_release(&wl);
}

Test(validation, after_under_its_own_settings)
{
	char dir[4096];
	struct truth t;
	struct workload wl;
	struct wl_transform tr;
	struct sim_result r;
	snprintf(dir, sizeof(dir), "%s", test_path("fixtures/incident/after"));
	cr_assert(load_truth(dir, &t));
	load_workload(dir, &wl);
	wl_transform_init(&tr);
	run(&wl, &tr, t.size, t.ovf, t.timeout_s, &r);
	fprintf(stderr, "validation after/own: timeouts %llu (real %lld), peak %d (real %lld)\n",
		(unsigned long long)r.timeouts, (long long)t.timeouts, r.peak_checked_out,
		(long long)t.peak);
	cr_assert(timeouts_close((int64_t)r.timeouts, t.timeouts));
	cr_assert_leq(llabs(r.peak_checked_out - t.peak), 2);
	sim_result_release(&r);
	workload_release(&wl);
}
