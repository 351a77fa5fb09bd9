#include "analysis/audit_trend.h"
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "core/error.h"
#include "core/json.h"
#include "core/logtime.h"
#include "core/banned.h"

int audit_hist_bucket(int64_t usec)
{
	double ms = (double)usec / 1000.0;
	double b;
	if (ms <= 1.0)
		return 0;
	/* bucket b holds (10^((b-1)/20), 10^(b/20)] ms */
	b = ceil(AUDIT_HIST_PER_DECADE * log10(ms) - 1e-9);
	if (b < 1)
		b = 1;
	if (b > AUDIT_HIST_BUCKETS - 1)
		b = AUDIT_HIST_BUCKETS - 1;
	return (int)b;
}

double audit_hist_upper_s(int bucket)
{
	if (bucket >= AUDIT_HIST_BUCKETS - 1)
		return INFINITY;
	return pow(10.0, (double)bucket / AUDIT_HIST_PER_DECADE) / 1000.0;
}

void audit_trend_init(struct audit_trend *t)
{
	memset(t, 0, sizeof(*t));
}

void audit_trend_release(struct audit_trend *t)
{
	free(t->v);
	memset(t, 0, sizeof(*t));
}

struct audit_trend_day *audit_trend_day(struct audit_trend *t, int64_t day)
{
	size_t i = t->nr;
	while (i > 0 && t->v[i - 1].day > day)
		i--;
	if (i > 0 && t->v[i - 1].day == day)
		return &t->v[i - 1];
	ALLOC_GROW(t->v, t->nr + 1, t->alloc);
	memmove(&t->v[i + 1], &t->v[i], (t->nr - i) * sizeof(*t->v));
	t->nr++;
	memset(&t->v[i], 0, sizeof(t->v[i]));
	t->v[i].day = day;
	t->v[i].peak_out = -1;
	t->v[i].peak_usage_pct = -1;
	return &t->v[i];
}

double audit_trend_hold_p95(const struct audit_trend_day *d)
{
	int64_t total = 0, cum = 0;
	for (int b = 0; b < AUDIT_HIST_BUCKETS; b++)
		total += d->hist[b];
	if (!total)
		return NAN;
	for (int b = 0; b < AUDIT_HIST_BUCKETS; b++) {
		cum += d->hist[b];
		/* first bucket holding the 95th percentile (cum >= 0.95 total) */
		if (cum * 100 >= total * 95)
			return audit_hist_upper_s(b);
	}
	BUG("histogram percentile ran off the end");
}

static void day_text(int64_t day, char out[16])
{
	int64_t y;
	unsigned m, d;
	civil_from_days(day, &y, &m, &d);
	snprintf(out, 16, "%04" PRId64 "-%02u-%02u", y, m, d);
}

static void num_or_dash(char *out, size_t n, double v, int decimals)
{
	if (isnan(v) || v < 0)
		snprintf(out, n, "-");
	else if (isinf(v))
		snprintf(out, n, "inf");
	else
		format_num(out, n, v, decimals);
}

void audit_trend_write_table(const struct audit_trend *t, bool md, struct strbuf *out)
{
	static const char *const head[] = { "day", "runs", "hosts", "lines", "timeouts",
					    "hold p95 s", "peak usage %", "peak out",
					    "5xx", "requests", "too many clients", "warnings",
					    "criticals" };
	enum { NCOL = 13 };
	static const int width[NCOL] = { 10, 5, 5, 10, 8, 10, 12, 8, 7, 9, 16, 8, 9 };
	char cell[NCOL][48];

	if (md) {
		strbuf_addstr(out, "|");
		for (int c = 0; c < NCOL; c++)
			strbuf_addf(out, " %s |", head[c]);
		strbuf_addstr(out, "\n|");
		for (int c = 0; c < NCOL; c++)
			strbuf_addstr(out, c ? " ---: |" : " --- |");
		strbuf_addch(out, '\n');
	} else {
		for (int c = 0; c < NCOL; c++)
			strbuf_addf(out, c ? "  %*s" : "%-*s", width[c], head[c]);
		strbuf_addch(out, '\n');
	}
	for (size_t i = 0; i < t->nr; i++) {
		const struct audit_trend_day *d = &t->v[i];
		day_text(d->day, cell[0]);
		snprintf(cell[1], 48, "%" PRId64, d->runs);
		snprintf(cell[2], 48, "%" PRId64, d->hosts);
		snprintf(cell[3], 48, "%" PRId64, d->lines);
		snprintf(cell[4], 48, "%" PRId64, d->timeouts);
		num_or_dash(cell[5], 48, audit_trend_hold_p95(d), 3);
		num_or_dash(cell[6], 48, d->peak_usage_pct, 1);
		if (d->peak_out < 0)
			snprintf(cell[7], 48, "-");
		else
			snprintf(cell[7], 48, "%" PRId32, d->peak_out);
		snprintf(cell[8], 48, "%" PRId64, d->http_5xx);
		snprintf(cell[9], 48, "%" PRId64, d->requests);
		snprintf(cell[10], 48, "%" PRId64, d->too_many_clients);
		snprintf(cell[11], 48, "%" PRId64, d->findings_warning);
		snprintf(cell[12], 48, "%" PRId64, d->findings_critical);
		if (md) {
			strbuf_addstr(out, "|");
			for (int c = 0; c < NCOL; c++)
				strbuf_addf(out, " %s |", cell[c]);
		} else {
			for (int c = 0; c < NCOL; c++)
				strbuf_addf(out, c ? "  %*s" : "%-*s", width[c], cell[c]);
		}
		strbuf_addch(out, '\n');
	}
	if (!t->nr)
		strbuf_addstr(out, md ? "\nNo stored audit runs in the period.\n"
				      : "(no stored audit runs in the period)\n");
}

static int write_file(const char *dir, const char *name, const struct strbuf *sb)
{
	struct strbuf path = STRBUF_INIT, tmp = STRBUF_INIT;
	int fd, ret = 0;
	size_t off = 0;

	strbuf_addf(&path, "%s/%s", dir, name);
	strbuf_addf(&tmp, "%s.tmp.%ld", path.buf, (long)getpid());
	fd = open(tmp.buf, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		ret = error("cannot write '%s': %s", path.buf, strerror(errno));
		goto out;
	}
	while (off < sb->len) {
		ssize_t n = write(fd, sb->buf + off, sb->len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = error("cannot write '%s': %s", path.buf, strerror(errno));
			break;
		}
		off += (size_t)n;
	}
	if (close(fd) < 0 && !ret)
		ret = error("cannot write '%s': %s", path.buf, strerror(errno));
	if (!ret && rename(tmp.buf, path.buf) < 0)
		ret = error("cannot rename '%s' to '%s': %s", tmp.buf, path.buf, strerror(errno));
	if (ret)
		unlink(tmp.buf);
out:
	strbuf_release(&path);
	strbuf_release(&tmp);
	return ret;
}

struct chart {
	const char *name;
	const char *title;
	const char *ylabel;
	const char *style;    /* gnuplot "with ..." */
	const char *extra;    /* extra fixed gnuplot lines, or "" */
};

static const struct chart charts[] = {
	{ "trend_timeouts", "Pool checkout timeouts per day", "timeouts",
	  "boxes fill solid 0.6 lc rgb '#c0392b'", "set yrange [0:*]\nset boxwidth 0.8 relative\n" },
	{ "trend_hold_p95", "Connection hold p95 per day (histogram upper edge)", "seconds",
	  "linespoints pt 7 lc rgb '#2471a3'", "set yrange [0:*]\n" },
	{ "trend_peak_usage", "Peak pool usage per day", "% of pool_size + max_overflow",
	  "linespoints pt 7 lc rgb '#d68910'",
	  "set yrange [0:110]\nset arrow from graph 0, first 80 to graph 1, first 80 nohead dt 2 lc rgb '#888888'\n" },
};
#define NCHARTS (sizeof(charts) / sizeof(charts[0]))

static double chart_value(const struct audit_trend_day *d, size_t which)
{
	switch (which) {
	case 0: return (double)d->timeouts;
	case 1: return audit_trend_hold_p95(d);
	default: return d->peak_usage_pct < 0 ? NAN : d->peak_usage_pct;
	}
}

static void chart_data(const struct audit_trend *t, size_t which, struct strbuf *out)
{
	char day[16], num[48];
	strbuf_addf(out, "# day\t%s\n", charts[which].ylabel);
	for (size_t i = 0; i < t->nr; i++) {
		const struct audit_trend_day *d = &t->v[i];
		double v = chart_value(d, which);
		day_text(d->day, day);
		/* gnuplot skips NaN points: days without the figure */
		if (isnan(v) || isinf(v))
			snprintf(num, sizeof(num), "NaN");
		else
			format_num(num, sizeof(num), v, 6);
		strbuf_addf(out, "%s\t%s\n", day, num);
	}
}

static void chart_script(const struct audit_trend *t, size_t which, struct strbuf *out)
{
	const struct chart *c = &charts[which];
	bool has_data = false;
	for (size_t i = 0; i < t->nr; i++)
		if (isfinite(chart_value(&t->v[i], which)))
			has_data = true;
	/* fixed text only: figures live in the .dat file, never in the script */
	strbuf_addf(out,
		    "# %s: rendered by `poolscope audit --trend`; edit and run `gnuplot %s.gp`\n"
		    "set datafile separator '\\t'\n"
		    "set datafile missing 'NaN'\n"
		    "set title '%s'\n"
		    "set ylabel '%s'\n"
		    "set grid ytics\n"
		    "set key off\n",
		    c->name, c->name, c->title, c->ylabel);
	if (has_data) {
		/* ranges from the data itself, half a day of margin each side, so
		 * one day or an all-zero series is still a range */
		strbuf_addf(out,
			    "stats '%s.dat' using (strptime('%%Y-%%m-%%d', strcol(1))) nooutput name 'X'\n"
			    "stats '%s.dat' using 2 nooutput name 'Y'\n"
			    "set xdata time\n"
			    "set timefmt '%%Y-%%m-%%d'\n"
			    "set format x '%%m-%%d'\n"
			    "set xrange [X_min - 43200 : X_max + 43200]\n"
			    "set xtics 86400 * (X_max - X_min > 20 * 86400 ? 7 : 1)\n",
			    c->name, c->name);
	}
	/* after stats: stats itself obeys the ranges set here */
	strbuf_addstr(out, c->extra);
	if (has_data)
		strbuf_addstr(out, "if (Y_max <= 0) set yrange [0:1]\n");
	if (!has_data) {
		/* gnuplot refuses to plot nothing: draw an empty frame that says so */
		strbuf_addf(out,
			    "unset xtics\n"
			    "set label 1 'no data in the period' at graph 0.5, graph 0.5 center\n"
			    "set terminal pngcairo size 900,400\n"
			    "set output '%s.png'\n"
			    "plot [0:1] [0:1] NaN notitle\n"
			    "set terminal svg size 900,400 dynamic\n"
			    "set output '%s.svg'\n"
			    "replot\n"
			    "unset output\n",
			    c->name, c->name);
		return;
	}
	strbuf_addf(out,
		    "set terminal pngcairo size 900,400\n"
		    "set output '%s.png'\n"
		    "plot '%s.dat' using 1:2 with %s\n"
		    "set terminal svg size 900,400 dynamic\n"
		    "set output '%s.svg'\n"
		    "replot\n"
		    "unset output\n",
		    c->name, c->name, c->style, c->name);
}

int audit_trend_write_files(const struct audit_trend *t, const char *dir)
{
	struct strbuf sb = STRBUF_INIT, name = STRBUF_INIT;
	int ret = 0;

	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		ret = error("cannot create folder '%s': %s", dir, strerror(errno));
		goto out;
	}
	strbuf_addstr(&sb, "# poolscope audit trend\n\n");
	audit_trend_write_table(t, true, &sb);
	strbuf_addch(&sb, '\n');
	for (size_t i = 0; i < NCHARTS; i++)
		strbuf_addf(&sb, "![%s](%s.svg)\n\n", charts[i].title, charts[i].name);
	if (write_file(dir, "trend.md", &sb) < 0) {
		ret = -1;
		goto out;
	}
	for (size_t i = 0; i < NCHARTS && !ret; i++) {
		strbuf_reset(&sb);
		chart_data(t, i, &sb);
		strbuf_reset(&name);
		strbuf_addf(&name, "%s.dat", charts[i].name);
		if (write_file(dir, name.buf, &sb) < 0) {
			ret = -1;
			break;
		}
		strbuf_reset(&sb);
		chart_script(t, i, &sb);
		strbuf_reset(&name);
		strbuf_addf(&name, "%s.gp", charts[i].name);
		ret = write_file(dir, name.buf, &sb);
	}
out:
	strbuf_release(&sb);
	strbuf_release(&name);
	return ret;
}

static int run_gnuplot(const char *dir, const char *script)
{
	pid_t pid;
	int status, errfd;
	char errpath[] = "/tmp/poolscope-gnuplot-XXXXXX";
	char msg[1024];
	ssize_t n;

	/* gnuplot's stderr is kept aside: range warnings on a one-day trend
	 * are noise, but its words matter when it fails */
	errfd = mkstemp(errpath);
	if (errfd < 0)
		return error("cannot create a temporary file: %s", strerror(errno));
	unlink(errpath);
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		close(errfd);
		return error("cannot start gnuplot: %s", strerror(errno));
	}
	if (pid == 0) {
		/* argv only, no shell: file names never pass through sh */
		char *const argv[] = { (char *)"gnuplot", (char *)script, NULL };
		int devnull = open("/dev/null", O_WRONLY);
		if (devnull >= 0)
			dup2(devnull, 1);
		dup2(errfd, 2);
		if (chdir(dir) < 0)
			_exit(126);
		execvp("gnuplot", argv);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			close(errfd);
			return error("cannot wait for gnuplot: %s", strerror(errno));
		}
	n = pread(errfd, msg, sizeof(msg) - 1, 0);
	close(errfd);
	msg[n > 0 ? n : 0] = '\0';
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
		return error("gnuplot not found: install it (Debian: gnuplot-nox); the .gp and "
			     ".dat files are in '%s'", dir);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		if (*msg)
			fputs(msg, stderr);
		return error("gnuplot failed on '%s/%s' (exit %d)", dir, script,
			     WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	}
	return 0;
}

int audit_trend_render(const char *dir)
{
	struct strbuf gp = STRBUF_INIT;
	int ret = 0;
	for (size_t i = 0; i < NCHARTS && !ret; i++) {
		strbuf_reset(&gp);
		strbuf_addf(&gp, "%s.gp", charts[i].name);
		ret = run_gnuplot(dir, gp.buf);
	}
	strbuf_release(&gp);
	return ret;
}
