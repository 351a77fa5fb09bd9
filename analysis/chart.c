#include "analysis/chart.h"
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "core/cleanup.h"
#include "core/error.h"
#include "core/banned.h"

void chart_init(struct chart *c, const char *name)
{
	size_t n = strlen(name);
	memset(c, 0, sizeof(*c));
	if (!n || n >= sizeof(c->name) || strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789-") != n)
		BUG("bad chart name '%s'", name);
	memcpy(c->name, name, n + 1);
	c->xmin = c->xmax = c->ymin = c->ymax = NAN;
	c->width = 1000;
	c->height = 560;
}

void chart_release(struct chart *c)
{
	for (size_t b = 0; b < c->nblocks; b++) {
		struct chart_block *k = &c->blocks[b];
		if (k->labels)
			for (size_t r = 0; r < k->nrows; r++)
				free(k->labels[r]);
		free(k->labels);
		free(k->v);
	}
	free(c->spans);
	memset(c, 0, sizeof(*c));
}

size_t chart_block_add(struct chart *c, const char *name, size_t ncols, const char *const *cols)
{
	struct chart_block *k;
	if (c->nblocks == CHART_MAX_BLOCKS || ncols > CHART_MAX_COLS || !ncols)
		BUG("chart %s: too many blocks or columns", c->name);
	k = &c->blocks[c->nblocks];
	memset(k, 0, sizeof(*k));
	snprintf(k->name, sizeof(k->name), "%s", name);
	k->ncols = ncols;
	for (size_t i = 0; i < ncols; i++)
		k->cols[i] = cols[i];
	return c->nblocks++;
}

void chart_row(struct chart *c, size_t block, const double *v, const char *label)
{
	struct chart_block *k = &c->blocks[block];
	ALLOC_GROW(k->v, (k->nrows + 1) * k->ncols, k->valloc);
	memcpy(k->v + k->nrows * k->ncols, v, k->ncols * sizeof(*v));
	if (label || k->labels) {
		size_t old = k->lalloc;
		ALLOC_GROW(k->labels, k->nrows + 1, k->lalloc);
		for (size_t i = old; i < k->lalloc; i++)
			k->labels[i] = NULL;
		k->labels[k->nrows] = label ? xstrdup(label) : NULL;
	}
	k->nrows++;
}

struct chart_series *chart_series_add(struct chart *c, size_t block, int xcol, int ycol,
				      enum chart_style style, const char *title, const char *color)
{
	struct chart_series *s;
	if (c->nseries == CHART_MAX_SERIES)
		BUG("chart %s: too many series", c->name);
	s = &c->series[c->nseries++];
	memset(s, 0, sizeof(*s));
	s->block = block;
	s->xcol = xcol;
	s->ycol = ycol;
	s->style = style;
	snprintf(s->title, sizeof(s->title), "%s", title ? title : "");
	s->color = color;
	s->width = 2;
	s->point = 7;
	return s;
}

void chart_span_add(struct chart *c, double x1, double x2, const char *color)
{
	ALLOC_GROW(c->spans, c->nspans + 1, c->spans_alloc);
	c->spans[c->nspans].x1 = x1;
	c->spans[c->nspans].x2 = x2;
	c->spans[c->nspans].color = color;
	c->nspans++;
}

void chart_hline_add(struct chart *c, double y, const char *title, const char *color, int dash)
{
	if (c->nhlines == CHART_MAX_HLINES)
		BUG("chart %s: too many limit lines", c->name);
	struct chart_hline *h = &c->hlines[c->nhlines++];
	h->y = y;
	snprintf(h->title, sizeof(h->title), "%s", title ? title : "");
	h->color = color;
	h->dash = dash;
}

void gp_quote(struct strbuf *o, const char *s)
{
	/* In a gnuplot single-quoted string nothing is special except the
	 * quote itself, written twice.  Newlines would end the command. */
	strbuf_addch(o, '\'');
	for (; s && *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '\'')
			strbuf_addstr(o, "''");
		else if (ch < 0x20 || ch == 0x7f)
			strbuf_addch(o, ' ');
		else
			strbuf_addch(o, (char)ch);
	}
	strbuf_addch(o, '\'');
}

/* A label in a data file: one double-quoted field.  Quotes, comment and
 * escape characters are replaced, so the field cannot end early or turn
 * into a comment; gnuplot reads data, it never evaluates it. */
static void dat_label(struct strbuf *o, const char *s)
{
	size_t n = 0, len = s ? strlen(s) : 0;
	strbuf_addch(o, '"');
	for (; s && *s && n < 48; s++, n++) {
		unsigned char ch = (unsigned char)*s;
		size_t skip, k = utf8_printable(s, len - n, &skip);
		if (k > 1 || !k) {
			/* invalid UTF-8 would make the SVG ill-formed XML (no
			 * browser shows it) and C1 controls are terminal escapes:
			 * a blank; a valid character is copied whole */
			if (!k || n + k > 48)
				strbuf_addch(o, ' ');
			else
				strbuf_add(o, s, k);
			k = k ? k : skip;
			s += k - 1;
			n += k - 1;
			continue;
		}
		if (ch == '"')
			strbuf_addch(o, '\'');
		else if (ch == '#' || ch == '\\')
			strbuf_addch(o, '_');
		else if (ch < 0x20 || ch == 0x7f)
			strbuf_addch(o, ' ');
		else
			strbuf_addch(o, (char)ch);
	}
	strbuf_addch(o, '"');
}

static void dat_num(struct strbuf *o, double v)
{
	if (isnan(v) || isinf(v))
		strbuf_addstr(o, "NaN");
	else if (v == floor(v) && fabs(v) < 1e15)
		strbuf_addf(o, "%.0f", v);
	else
		strbuf_addf(o, "%.6g", v);
}

static void gp_num(struct strbuf *o, double v)
{
	strbuf_addf(o, "%.6g", v);
}

static const char *dash_spec(int dash)
{
	switch (dash) {
	case 2: return " dt 2";
	case 3: return " dt 3";
	default: return "";
	}
}

void chart_write(const struct chart *c, struct strbuf *dat, struct strbuf *gp)
{
	/* data: one block per index, separated by two blank lines */
	strbuf_addf(dat, "# poolscope chart data: %s (plotted by %s.gp)\n", c->name, c->name);
	for (size_t b = 0; b < c->nblocks; b++) {
		const struct chart_block *k = &c->blocks[b];
		if (b)
			strbuf_addstr(dat, "\n\n");
		strbuf_addf(dat, "# index %zu: %s\n#", b, k->name);
		for (size_t i = 0; i < k->ncols; i++)
			strbuf_addf(dat, " %s", k->cols[i]);
		if (k->labels)
			strbuf_addstr(dat, " label");
		strbuf_addch(dat, '\n');
		if (!k->nrows) {
			/* gnuplot rejects an empty index: one row of missing values */
			for (size_t i = 0; i < k->ncols; i++)
				strbuf_addstr(dat, i ? " NaN" : "NaN");
			if (k->labels)
				strbuf_addstr(dat, " \"\"");
			strbuf_addch(dat, '\n');
		}
		for (size_t r = 0; r < k->nrows; r++) {
			for (size_t i = 0; i < k->ncols; i++) {
				if (i)
					strbuf_addch(dat, ' ');
				dat_num(dat, k->v[r * k->ncols + i]);
			}
			if (k->labels) {
				strbuf_addch(dat, ' ');
				dat_label(dat, k->labels[r]);
			}
			strbuf_addch(dat, '\n');
		}
	}

	strbuf_addf(gp, "# poolscope chart: %s\n", c->name);
	strbuf_addstr(gp, "# Render: gnuplot ");
	strbuf_addf(gp, "%s.gp (PNG) or gnuplot -e \"term='svg'\" %s.gp (SVG),\n", c->name, c->name);
	strbuf_addf(gp, "# in the folder that holds %s.dat.  Restyle freely.\n", c->name);
	strbuf_addstr(gp, "if (!exists(\"term\")) term = 'png'\n");
	strbuf_addf(gp, "if (term eq 'svg') {\n"
			"  set terminal svg size %d,%d dynamic font 'Sans,12' background rgb 'white'\n"
			"  set output '%s.svg'\n"
			"} else {\n"
			"  set terminal pngcairo size %d,%d font 'Sans,11' background rgb 'white'\n"
			"  set output '%s.png'\n"
			"}\n",
		    c->width, c->height, c->name, c->width, c->height, c->name);
	strbuf_addstr(gp, "set encoding utf8\nset title ");
	gp_quote(gp, c->title);
	strbuf_addstr(gp, " noenhanced\nset xlabel ");
	gp_quote(gp, c->xlabel);
	strbuf_addstr(gp, " noenhanced\nset ylabel ");
	gp_quote(gp, c->ylabel);
	strbuf_addstr(gp, " noenhanced\n"
			  "set grid xtics ytics lc rgb '#dddddd'\n"
			  "set border 3\nset tics nomirror out\n"
			  "set key at screen 0.5, screen 0.01 center bottom horizontal maxrows 3 noenhanced box lc rgb '#bbbbbb'\n"
			  "set bmargin 7\n"
			  "set datafile missing 'NaN'\n");
	if (c->logx)
		strbuf_addstr(gp, "set logscale x 10\nset format x '%g'\n");
	strbuf_addstr(gp, "set xrange [");
	if (!isnan(c->xmin))
		gp_num(gp, c->xmin);
	strbuf_addstr(gp, ":");
	if (!isnan(c->xmax))
		gp_num(gp, c->xmax);
	strbuf_addstr(gp, "]\nset yrange [");
	if (!isnan(c->ymin))
		gp_num(gp, c->ymin);
	strbuf_addstr(gp, ":");
	if (!isnan(c->ymax))
		gp_num(gp, c->ymax);
	strbuf_addstr(gp, "]\n");
	for (size_t i = 0; i < c->nspans; i++) {
		strbuf_addf(gp, "set object %zu rectangle from first ", i + 1);
		gp_num(gp, c->spans[i].x1);
		strbuf_addstr(gp, ", graph 0 to first ");
		gp_num(gp, c->spans[i].x2);
		strbuf_addf(gp, ", graph 1 behind fillcolor rgb '%s' fillstyle solid noborder\n",
			    c->spans[i].color);
	}
	if (c->note[0]) {
		strbuf_addstr(gp, "set label 1 ");
		gp_quote(gp, c->note);
		strbuf_addstr(gp, " at graph 0.5, graph 0.5 center noenhanced font 'Sans,14' tc rgb '#666666'\n");
	}
	strbuf_addstr(gp, "plot \\\n");
	{
		size_t n = 0;
		for (size_t i = 0; i < c->nseries; i++) {
			const struct chart_series *s = &c->series[i];
			if (n++)
				strbuf_addstr(gp, ", \\\n");
			strbuf_addf(gp, "  '%s.dat' index %zu using %d:%d", c->name, s->block, s->xcol, s->ycol);
			if (s->style == CHART_LABELS)
				strbuf_addf(gp, ":%d with labels noenhanced left offset 0.3,0.6 tc rgb '%s' font 'Sans,9'",
					    s->label_col, s->color);
			else if (s->style == CHART_STEPS)
				strbuf_addf(gp, " with steps lw %g lc rgb '%s'%s", s->width, s->color, dash_spec(s->dash));
			else if (s->style == CHART_LINES)
				strbuf_addf(gp, " with lines lw %g lc rgb '%s'%s", s->width, s->color, dash_spec(s->dash));
			else if (s->style == CHART_LINESPOINTS)
				strbuf_addf(gp, " with linespoints lw %g pt %d ps 0.6 lc rgb '%s'%s", s->width,
					    s->point, s->color, dash_spec(s->dash));
			else if (s->style == CHART_IMPULSES)
				strbuf_addf(gp, " with impulses lw %g lc rgb '%s'%s", s->width, s->color, dash_spec(s->dash));
			else
				strbuf_addf(gp, " with points pt %d ps 1.2 lc rgb '%s'", s->point, s->color);
			if (s->title[0]) {
				strbuf_addstr(gp, " title ");
				gp_quote(gp, s->title);
			} else {
				strbuf_addstr(gp, " notitle");
			}
		}
		for (size_t i = 0; i < c->nhlines; i++) {
			const struct chart_hline *h = &c->hlines[i];
			if (n++)
				strbuf_addstr(gp, ", \\\n");
			strbuf_addstr(gp, "  ");
			gp_num(gp, h->y);
			strbuf_addf(gp, " with lines lw 1.5 lc rgb '%s'%s title ", h->color, dash_spec(h->dash));
			gp_quote(gp, h->title);
		}
		if (!n)
			strbuf_addstr(gp, "  NaN notitle");
	}
	strbuf_addstr(gp, "\n");
}

static int run_gnuplot(const char *dir, const char *name, const char *gnuplot, bool svg)
{
	char script[64];
	pid_t pid;
	int st;
	snprintf(script, sizeof(script), "%s.gp", name);
	fflush(NULL);
	pid = cleanup_fork();
	if (pid < 0)
		return error("cannot start gnuplot: %s", strerror(errno));
	if (!pid) {
		int devnull = open("/dev/null", O_RDWR);
		if (devnull >= 0) {
			dup2(devnull, 0);
			dup2(devnull, 1);
		}
		if (chdir(dir) < 0)
			_exit(126);
		if (svg)
			execlp(gnuplot, gnuplot, "-e", "term='svg'", script, (char *)NULL);
		else
			execlp(gnuplot, gnuplot, script, (char *)NULL);
		_exit(errno == ENOENT ? 127 : 126);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR) {
			cleanup_child_done();
			return error("cannot wait for gnuplot: %s", strerror(errno));
		}
	cleanup_child_done();
	if (WIFEXITED(st) && WEXITSTATUS(st) == 127)
		return 1;
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		return error("gnuplot failed on %s/%s (%s)", dir, script, svg ? "svg" : "png");
	return 0;
}

int chart_render(const char *dir, const char *name, const char *gnuplot)
{
	int r = run_gnuplot(dir, name, gnuplot, false);
	if (r)
		return r;
	return run_gnuplot(dir, name, gnuplot, true);
}
