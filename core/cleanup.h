#ifndef POOLSCOPE_CLEANUP_H
#define POOLSCOPE_CLEANUP_H
/*
 * Temporary files to remove if the program is interrupted (SIGINT, SIGTERM,
 * SIGHUP, SIGPIPE), so that Ctrl-C never leaves a half-written "x.tmp.123"
 * beside the real output.  This is the one piece of process-wide mutable
 * state outside main(): a signal handler has nowhere else to look.
 *
 * Paths are copied into a fixed table (no allocation in the handler); at
 * most CLEANUP_MAX are registered at once, more are refused (returns -1; the
 * file is then merely not cleaned up on a signal).
 */
#define CLEANUP_MAX 64
void cleanup_install_handlers(void);
int cleanup_register(const char *path);
void cleanup_unregister(const char *path);
/*
 * A temporary folder (a report being written under its temp name): on a
 * signal its entries are removed, then the folder.  Only plain files are
 * expected inside (no recursion).  At most CLEANUP_MAX_DIRS at once;
 * returns -1 if the table is full or the path too long.
 */
#define CLEANUP_MAX_DIRS 4
int cleanup_register_dir(const char *path);
void cleanup_unregister_dir(const char *path);
/*
 * A child process writing into a registered file or folder (gnuplot drawing
 * a report's charts): on a signal it is killed and reaped before anything is
 * removed, or it could create a file after the folder was emptied.  One at a
 * time.  cleanup_fork() forks with the handled signals blocked, so a signal
 * cannot land between the fork and the parent's note of the pid; in the
 * child the signals are back at their defaults and unblocked.  Returns
 * fork()'s value.  cleanup_child_done() forgets the child once reaped.
 */
#include <sys/types.h>
pid_t cleanup_fork(void);
void cleanup_child_done(void);
#endif
