#ifndef POOLSCOPE_CHART_H
#define POOLSCOPE_CHART_H
#include <stdbool.h>
#include <stddef.h>
#include "core/strbuf.h"
/*
 * Charts in three steps (STYLE.md "Output"):
 *   1. analysis fills a struct chart (data blocks, series, spans, limits);
 *   2. chart_write() emits NAME.dat and NAME.gp, deterministically;
 *   3. chart_render() runs gnuplot on NAME.gp (fork/exec, no shell) for the
 *      PNG and the SVG.
 * Every string written into the .gp script is ours (titles, labels) and is
 * still quoted with gp_quote().  Text from logs (batch names) goes only into
 * the .dat file, as a sanitized data column plotted `with labels`
 * (noenhanced): gnuplot never evaluates data.
 */

enum chart_style {
	CHART_STEPS,
	CHART_LINES,
	CHART_POINTS,
	CHART_LINESPOINTS,
	CHART_IMPULSES,
	CHART_LABELS,   /* ycol is the y, label_col the string column */
};

#define CHART_MAX_COLS 8
struct chart_block {
	char name[32];                  /* ours: the comment above the block */
	size_t ncols;
	const char *cols[CHART_MAX_COLS];/* static column names */
	double *v;                      /* owned: nrows * ncols, NAN = missing */
	char **labels;                  /* owned: one string per row, or NULL */
	size_t nrows, valloc, lalloc;
};

struct chart_series {
	size_t block;
	int xcol, ycol;                 /* 1-based columns of the block */
	int label_col;                  /* CHART_LABELS: 1-based column after the numbers */
	enum chart_style style;
	char title[64];                 /* ours (copied); empty = no key entry */
	const char *color;              /* "#rrggbb" */
	int dash;                       /* 0 solid, 2 dashed, 3 dotted */
	double width;
	int point;                      /* point type for points */
};

struct chart_span {                     /* a shaded x range (a batch window) */
	double x1, x2;
	const char *color;              /* "#aarrggbb" with transparency */
};

struct chart_hline {                    /* a horizontal limit line */
	double y;
	char title[64];                 /* ours (copied) */
	const char *color;
	int dash;
};

#define CHART_MAX_BLOCKS 12
#define CHART_MAX_SERIES 16
#define CHART_MAX_HLINES 6
struct chart {
	char name[32];                  /* file stem: [a-z0-9-] only */
	char title[160], xlabel[80], ylabel[80];
	char note[160];                 /* ours: shown in the plot when not empty */
	bool logx;
	double xmin, xmax, ymin, ymax;  /* NAN = automatic */
	int width, height;              /* pixels (PNG), also the SVG size */
	struct chart_block blocks[CHART_MAX_BLOCKS];
	size_t nblocks;
	struct chart_series series[CHART_MAX_SERIES];
	size_t nseries;
	struct chart_span *spans;       /* owned */
	size_t nspans, spans_alloc;
	struct chart_hline hlines[CHART_MAX_HLINES];
	size_t nhlines;
};

/* A chart with no data; name must be [a-z0-9-]+ (BUG otherwise). */
void chart_init(struct chart *c, const char *name);
void chart_release(struct chart *c);
/* Add a block with the given columns (static names); returns its index. */
size_t chart_block_add(struct chart *c, const char *name, size_t ncols, const char *const *cols);
/* Append a row of ncols values (and a label, copied, or NULL). */
void chart_row(struct chart *c, size_t block, const double *v, const char *label);
struct chart_series *chart_series_add(struct chart *c, size_t block, int xcol, int ycol,
				      enum chart_style style, const char *title, const char *color);
void chart_span_add(struct chart *c, double x1, double x2, const char *color);
void chart_hline_add(struct chart *c, double y, const char *title, const char *color, int dash);

/* Quote s as a gnuplot single-quoted string ('' doubles a quote; control
 * characters become spaces). */
void gp_quote(struct strbuf *o, const char *s);

/* Write the data file and the script.  The script selects the terminal from
 * the variable `term` ('png' default, or 'svg'): run it as
 *   gnuplot NAME.gp               -> NAME.png
 *   gnuplot -e "term='svg'" NAME.gp  -> NAME.svg
 * in the folder that holds NAME.dat. */
void chart_write(const struct chart *c, struct strbuf *dat, struct strbuf *gp);

/*
 * Render NAME.png and NAME.svg from NAME.gp in folder dir with the gnuplot
 * executable `gnuplot` (a name looked up in PATH, or a path).  No shell is
 * involved.  Returns 0; 1 if gnuplot is not installed (nothing rendered);
 * -1 after error() if it ran and failed (its stderr is passed on).
 */
int chart_render(const char *dir, const char *name, const char *gnuplot);
#endif
