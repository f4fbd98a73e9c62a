/* `nodown export`: the PostgreSQL export as a process of its own. */
#ifndef NODOWN_CLI_EXPORT_H
#define NODOWN_CLI_EXPORT_H

/* The arguments after "export". Returns the process exit code. */
int export_main(int argc, char **argv);

#endif
