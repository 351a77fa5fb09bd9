#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/cli.h"
#include "core/event.h"
#include "core/json.h"
#include "core/strbuf.h"
#include "core/banned.h"

static const char usage[] =
	"usage: poolscope parse [--format NAME] [--tz ZONE] [-o FILE] [--summary] FILE...\n"
	"\n"
	"Read logs and write their events as JSON Lines, one event per line, in the\n"
	"order of the inputs (use `analyze` for a merged, sorted view).  Each object\n"
	"has ts (ISO 8601 UTC, ms), kind, src, line, pid where known, and the kind's\n"
	"own fields.  Unparsed lines are counted by reason; the first few of each\n"
	"file are shown on stderr.\n"
	"\n"
	"Options:\n"
	"  -o, --output FILE  write the events to FILE (atomically) instead of stdout\n"
	"  --summary          end with one {\"summary\": ...} object per input: lines,\n"
	"                     events, unparsed lines by reason\n"
	"  -q, --quiet        do not list unparsed lines on stderr\n"
	"  -h, --help         show this help\n"
	CLI_INPUT_USAGE
	"\n"
	"Example:\n"
	"  poolscope parse fixtures/incident/before/app.log | grep pool_timeout\n";

struct stream_out {
	FILE *fp;
	struct strbuf buf;
	struct strbuf src_json; /* the "src" value of the current source, in JSON */
	const struct source *src;
};

static void emit_jsonl(void *data, const struct event *ev)
{
	struct stream_out *so = data;
	event_to_json_src(ev, so->src_json.buf, so->src_json.len, &so->buf);
	strbuf_addch(&so->buf, '\n');
	if (so->buf.len >= 1 << 16) {
		fwrite(so->buf.buf, 1, so->buf.len, so->fp);
		strbuf_reset(&so->buf);
	}
}

static void write_summary(struct strbuf *sb, const struct source *src)
{
	struct jw w;
	jw_init(&w, sb, false);
	jw_obj_begin(&w);
	jw_key(&w, "summary");
	jw_obj_begin(&w);
	jw_kstr(&w, "src", src->path);
	jw_kstr(&w, "format", src->format);
	jw_kint(&w, "lines", (int64_t)src->lines);
	jw_kint(&w, "bytes", (int64_t)src->bytes);
	jw_kint(&w, "records", (int64_t)src->records);
	jw_kint(&w, "events", (int64_t)src->events);
	jw_kint(&w, "unparsed", (int64_t)src->unparsed);
	jw_key(&w, "unparsed_by_reason");
	jw_obj_begin(&w);
	for (int r = 1; r < UNPARSED__COUNT; r++)
		if (src->by_reason[r])
			jw_kint(&w, unparsed_reason_name(r), (int64_t)src->by_reason[r]);
	jw_obj_end(&w);
	if (src->read_error)
		jw_kstr(&w, "read_error", src->read_error);
	jw_obj_end(&w);
	jw_obj_end(&w);
	strbuf_addch(sb, '\n');
}

int cmd_parse(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "summary", no_argument, NULL, 's' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		CLI_INPUT_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	struct parse_opts opts;
	const char *output = NULL;
	bool summary = false;
	struct strvec inputs = STRVEC_INIT;
	struct out_file of;
	struct stream_out so;
	int c, ret = EXIT_OK;

	parse_opts_init(&opts);
	optind = 0;
	while ((c = getopt_long(argc, argv, "+o:qh", longopts, NULL)) != -1) {
		int r = cli_input_option(&opts, c, optarg);
		if (r < 0) {
			cli_input_release(&opts);
			return EXIT_USAGE;
		}
		if (r > 0)
			continue;
		switch (c) {
		case 'o': output = optarg; break;
		case 's': summary = true; break;
		case 'q': opts.quiet = true; break;
		case 'h':
			cli_input_release(&opts);
			return cli_usage(usage, true, NULL);
		default:
			cli_input_release(&opts);
			return cli_usage(usage, false, NULL);
		}
	}
	if (optind >= argc) {
		cli_input_release(&opts);
		return cli_usage(usage, false, "no input files (use - for standard input)");
	}
	if (cli_expand_inputs(argv + optind, argc - optind, &inputs) < 0) {
		cli_input_release(&opts);
		return EXIT_OPERATIONAL;
	}
	if (out_open(&of, output) < 0) {
		strvec_clear(&inputs);
		cli_input_release(&opts);
		return EXIT_OPERATIONAL;
	}
	so.fp = of.fp;
	strbuf_init(&so.buf, 1 << 17);
	strbuf_init(&so.src_json, 0);
	for (size_t i = 0; i < inputs.nr; i++) {
		struct source src;
		struct event_sink sink = { emit_jsonl, &so };
		source_init(&src, inputs.v[i]);
		so.src = &src;
		event_json_src(&so.src_json, src.path);
		if (parse_input(inputs.v[i], &opts, &src, (uint32_t)i, sink) < 0)
			ret = EXIT_OPERATIONAL;
		if (summary)
			write_summary(&so.buf, &src);
		if (!opts.quiet)
			parse_report_unparsed(&src);
		if (!src.format && src.lines && !opts.quiet)
			warning("%s: no known log format recognised (see `poolscope help formats`)",
				src.path);
		source_release(&src);
	}
	fwrite(so.buf.buf, 1, so.buf.len, so.fp);
	strbuf_release(&so.buf);
	strbuf_release(&so.src_json);
	/* keep what was parsed even if an input failed part-way */
	if (out_commit(&of) < 0)
		ret = EXIT_OPERATIONAL;
	strvec_clear(&inputs);
	cli_input_release(&opts);
	return ret;
}
