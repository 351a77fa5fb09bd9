#include <string.h>
#include "cli/cli.h"

/* NEEDSWORK: placeholder until the report command lands; refuses clearly. */
int cmd_report(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "--help"))
		return cli_usage("usage: poolscope report ... (not built yet)\n", true, NULL);
	return error("'poolscope report' is not built yet"), EXIT_OPERATIONAL;
}
