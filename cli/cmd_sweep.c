#include <string.h>
#include "cli/cli.h"

/* NEEDSWORK: placeholder until the sweep command lands; refuses clearly. */
int cmd_sweep(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "--help"))
		return cli_usage("usage: poolscope sweep ... (not built yet)\n", true, NULL);
	return error("'poolscope sweep' is not built yet"), EXIT_OPERATIONAL;
}
