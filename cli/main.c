#include <stdio.h>
#include <string.h>
#include "cli/cli.h"
#include "core/cleanup.h"
#include "parsers/format.h"
#include "parsers/formats.h"
#include "core/banned.h"

/* The command table (after git.c): one row per subcommand, in help order. */
const struct command commands[] = {
	{ "parse", cmd_parse, "read logs into one JSON Lines event stream" },
	{ "analyze", cmd_analyze, "reconstruct what the pool did: timeouts, holds, incidents" },
	{ "compare", cmd_compare, "before/after table and the fix's success criteria" },
	{ "report", cmd_report, "HTML, Markdown and JSON report with gnuplot charts" },
	{ "workload", cmd_workload, "extract the recorded request and batch workload" },
	{ "replay", cmd_replay, "re-drive the workload against the pool model (or --live)" },
	{ "sweep", cmd_sweep, "search for the smallest pool settings with no timeouts" },
	{ "audit", cmd_audit, "incremental nightly audit with thresholds (for cron)" },
	{ NULL, NULL, NULL }
};

static const char main_usage[] =
	"usage: poolscope [--version] [--help] COMMAND [ARGS...]\n"
	"\n"
	"Review database-connection-pool incidents from the logs a service left:\n"
	"application logs (SQLAlchemy timeouts, pool stats, pool debug), access logs\n"
	"(uvicorn, gunicorn, nginx) and PostgreSQL logs.\n"
	"\n"
	"Commands:\n";

static const char exit_usage[] =
	"\n"
	"Exit status: 0 success; 1 findings (audit threshold breached, compare shows a\n"
	"regression); 2 operational error (unreadable input, database gone); 64 usage\n"
	"error.\n"
	"\n"
	"`poolscope COMMAND --help` describes a command; `poolscope help formats` lists\n"
	"the log formats understood.\n";

static void print_main_usage(FILE *fp)
{
	fputs(main_usage, fp);
	for (const struct command *c = commands; c->name; c++)
		fprintf(fp, "  %-10s %s\n", c->name, c->summary);
	fputs(exit_usage, fp);
}

static int help_formats(void)
{
	printf("Log formats (detected per file from its first lines; --format NAME forces one):\n\n");
	for (const struct format *const *f = format_registry; *f; f++)
		printf("  %-16s %s\n", (*f)->name, (*f)->description);
	printf("\nLine wrappers (removed before the format is read):\n\n");
	for (const struct wrapper *const *w = wrapper_registry; *w; w++)
		printf("  %s\n", (*w)->name);
	return EXIT_OK;
}

static const struct command *find_command(const char *name)
{
	for (const struct command *c = commands; c->name; c++)
		if (!strcmp(c->name, name))
			return c;
	return NULL;
}

int main(int argc, char **argv)
{
	const struct command *c;
	cleanup_install_handlers();
	if (argc < 2) {
		print_main_usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
		printf("poolscope %s\n", POOLSCOPE_VERSION);
		return EXIT_OK;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		print_main_usage(stdout);
		return EXIT_OK;
	}
	if (!strcmp(argv[1], "help")) {
		if (argc < 3) {
			print_main_usage(stdout);
			return EXIT_OK;
		}
		if (!strcmp(argv[2], "formats"))
			return help_formats();
		if (!strcmp(argv[2], "formats-file")) {
			fputs(user_formats_help, stdout);
			return EXIT_OK;
		}
		c = find_command(argv[2]);
		if (!c) {
			fprintf(stderr, "error: no command or topic '%s'\n", argv[2]);
			return EXIT_USAGE;
		}
		{
			char *args[] = { argv[2], (char *)"--help", NULL };
			return c->fn(2, args);
		}
	}
	c = find_command(argv[1]);
	if (!c) {
		fprintf(stderr, "error: '%s' is not a poolscope command\n\n", argv[1]);
		print_main_usage(stderr);
		return EXIT_USAGE;
	}
	return c->fn(argc - 1, argv + 1);
}
