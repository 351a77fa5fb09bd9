#include <string.h>
#include "cli/cli.h"

/* NEEDSWORK: placeholder until the analyze command lands; refuses clearly. */
int cmd_analyze(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "--help"))
		return cli_usage("usage: poolscope analyze ... (not built yet)\n", true, NULL);
	return error("'poolscope analyze' is not built yet"), EXIT_OPERATIONAL;
}
