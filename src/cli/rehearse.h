/* The rehearsal's two subcommands (docs/upgrades.md, "Rehearsal"): each
 * takes the arguments after its name and returns the exit code. */
#ifndef NODOWN_CLI_REHEARSE_H
#define NODOWN_CLI_REHEARSE_H

int replay_main(int argc, char **argv);
int rehearse_main(int argc, char **argv);

#endif
