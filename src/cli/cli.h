/* Subcommands of the nodown binary; each takes the arguments after its
 * name and returns the process exit code. */
#ifndef NODOWN_CLI_CLI_H
#define NODOWN_CLI_CLI_H

int demo_main(int argc, char **argv);
int version_main(int argc, char **argv);
int serve_main(int argc, char **argv);
int upgrade_main(int argc, char **argv);
int client_main(int argc, char **argv);
int simulate_main(int argc, char **argv);
int cluster_main(int argc, char **argv);
/* `nodown cluster upgrade-nats`, `nodown upgrade --nats-binary` (nats_upgrade_cli.c). */
int nats_upgrade_main(int argc, char **argv);
int verify_main(int argc, char **argv);
int promote_main(int argc, char **argv);
/* `nodown drill` (drill.c): the acceptance test, ops/drill.h. */
int drill_main(int argc, char **argv);
int history_main(int argc, char **argv);
/* `nodown backup [verify]` and `nodown restore` (backup.c): ops/backup.h, ops/restore.h. */
int backup_main(int argc, char **argv);
int restore_main(int argc, char **argv);

#endif
