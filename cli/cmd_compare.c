#include <string.h>
#include "cli/cli.h"

/* NEEDSWORK: placeholder until the compare command lands; refuses clearly. */
int cmd_compare(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "--help"))
		return cli_usage("usage: poolscope compare ... (not built yet)\n", true, NULL);
	return error("'poolscope compare' is not built yet"), EXIT_OPERATIONAL;
}
