/* Subcommands of the nodown binary; each takes the arguments after its
 * name and returns the process exit code. */
#ifndef NODOWN_CLI_CLI_H
#define NODOWN_CLI_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

int demo_main(int argc, char **argv);
int version_main(int argc, char **argv);
int serve_main(int argc, char **argv);
int client_main(int argc, char **argv);
int simulate_main(int argc, char **argv);
int cluster_main(int argc, char **argv);
int verify_main(int argc, char **argv);
int promote_main(int argc, char **argv);

/* A local cluster's layout (`nodown cluster up`, src/cli/cluster.c): its
 * processes and their ports, as DIR/cluster.txt records them. */
#define CLUSTER_NATS_MAX 5u
#define CLUSTER_NODES_MAX 16u

struct cluster_process {
    pid_t pid;
    uint16_t ports[4]; /* nats: client, route, monitor, leafnode; node: listen, http */
};

struct cluster_layout {
    uint32_t nats_count;
    uint32_t node_count;
    struct cluster_process nats[CLUSTER_NATS_MAX];   /* nats-I: DIR/nats-I */
    struct cluster_process nodes[CLUSTER_NODES_MAX]; /* node-I: DIR/node-I */
    bool dr;                          /* a disaster-recovery site: */
    struct cluster_process dr_nats;   /* its server (client, -, monitor): DIR/dr-nats */
    struct cluster_process dr_node;   /* its node (--dr-of): DIR/dr-node */
};

/* Reads the layout of the local cluster in dir. Returns 0, or -1 when dir
 * holds none. */
int cluster_layout_load(const char *dir, struct cluster_layout *layout);

/* Whether pid runs and belongs to the local cluster in dir: its command
 * line names dir (a pid can be reused). */
bool cluster_process_running(const char *dir, pid_t pid);

/* The NATS URL of the DR site of the local cluster in dir (cluster up
 * --dr). Returns 0, or -1 when there is none. */
int cluster_dr_url(const char *dir, char *url, size_t size);

#endif
