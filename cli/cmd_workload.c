#include <string.h>
#include "cli/cli.h"

/* NEEDSWORK: placeholder until the workload command lands; refuses clearly. */
int cmd_workload(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "--help"))
		return cli_usage("usage: poolscope workload ... (not built yet)\n", true, NULL);
	return error("'poolscope workload' is not built yet"), EXIT_OPERATIONAL;
}
