/* A local cluster (`nodown cluster`): N nats-servers in one JetStream
 * cluster and M nodes following it on loopback ports, started, watched,
 * stepped down, trimmed and stopped from this machine. Its layout is kept
 * in DIR/cluster.txt (cluster.c says more). */
#ifndef NODOWN_OPS_CLUSTER_H
#define NODOWN_OPS_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "replica/durability.h"

/* A local cluster's layout (`nodown cluster up`): its processes and
 * their ports, as DIR/cluster.txt records them. */
#define CLUSTER_NATS_MAX 5u
#define CLUSTER_NODES_MAX 16u
#define CLUSTER_PATH_MAX 512u
/* What cluster_run returns for an action it does not know, or one
 * without the option it needs: the command's usage is due. */
#define CLUSTER_USAGE 2

struct cluster_process {
    pid_t pid;
    uint16_t ports[4]; /* nats: client, route, monitor, leafnode; node: listen, http */
};

/* cluster.txt's format: 1 has no version line; 2 (written only when a
 * server runs a binary of its own, after `nodown upgrade --nats-binary`)
 * starts with "layout 2" and adds "nats_binary I PATH" lines. A build
 * refuses a layout newer than it knows. */
#define CLUSTER_LAYOUT_VERSION 2u
/* The index of the DR site's server in cluster_nats_restart_on. */
#define CLUSTER_NATS_DR CLUSTER_NATS_MAX
/* For tests and the drill only: set to 1, `cluster up` starts the servers
 * on a nats-server older than 2.10 ($NODOWN_NATS_SERVER: Debian 12's
 * 2.9.10, tools/nats_release.sh) instead of refusing it, and waits for
 * the servers' JetStream leader instead of making the stream (the nodes
 * make it). Only nodes that do not check the version run on it: those of
 * release 0.1.0, named by CLUSTER_NODE_BINARY_ENV. */
#define CLUSTER_NATS_OLD_ENV "NODOWN_CLUSTER_NATS_OLD"
/* The binary the nodes run instead of this one (tests and the drill). */
#define CLUSTER_NODE_BINARY_ENV "NODOWN_CLUSTER_NODE_BINARY"

struct cluster_layout {
    uint32_t nats_count;
    uint32_t node_count;
    struct cluster_process nats[CLUSTER_NATS_MAX];   /* nats-I: DIR/nats-I */
    struct cluster_process nodes[CLUSTER_NODES_MAX]; /* node-I: DIR/node-I */
    bool dr;                          /* a disaster-recovery site: */
    struct cluster_process dr_nats;   /* its server (client, -, monitor): DIR/dr-nats */
    struct cluster_process dr_node;   /* its node (--dr-of): DIR/dr-node */
    /* The binary each server runs when it is not the default one (a
     * replacement's, cluster_nats_restart_on), else "": nats-I, dr-nats. */
    char nats_binary[CLUSTER_NATS_MAX][CLUSTER_PATH_MAX];
    char dr_nats_binary[CLUSTER_PATH_MAX];
};

/* What `nodown cluster ACTION` was told. */
struct cluster_options {
    const char *dir;
    const char *self;       /* this binary, which the nodes run */
    const char *house;      /* the house's secret, or NULL: DIR/house.secret */
    char snapshot_mb[16];   /* the nodes' --snapshot-mb; "": their default */
    struct durability durability; /* the servers' sync_interval (up) */
    uint32_t nats_count;    /* up: servers */
    uint32_t node_count;    /* up: nodes */
    int nats_index;         /* step-down, restart: nats-I, or -1 */
    int node;               /* forget: node N, or -1 */
    bool json;              /* status */
    bool dr;                /* up: a disaster-recovery site too */
};

/* Runs action (up, status, down, step-down, restart, trim, nodes,
 * forget) on the local cluster in options->dir. Returns the process exit
 * code, or CLUSTER_USAGE. */
int cluster_run(const char *action, const struct cluster_options *options);

/* Reads the layout of the local cluster in dir. Returns 0, or -1 when dir
 * holds none. */
int cluster_layout_load(const char *dir, struct cluster_layout *layout);

/* Whether pid runs and belongs to the local cluster in dir: its command
 * line names dir (a pid can be reused). */
bool cluster_process_running(const char *dir, pid_t pid);

/* Records that node index (CLUSTER_NODES_MAX: the DR site's node) now
 * runs as pid (a new process took it over). Returns 0 or -1. */
int cluster_node_pid_set(const char *dir, uint32_t index, pid_t pid);

/* Starts server INDEX of the local cluster in dir (nats-INDEX, or the DR
 * site's with CLUSTER_NATS_DR) on binary, with the configuration it has
 * (DIR/nats-I/nats.conf, not rewritten) and its store, and records its
 * pid and binary in cluster.txt (from then on `cluster up` restarts it on
 * that binary). The caller stopped the one before. Returns 0 with *pid,
 * or -1. */
int cluster_nats_restart_on(const char *dir, uint32_t index, const char *binary, pid_t *pid);

/* The NATS URL of the DR site of the local cluster in dir (cluster up
 * --dr). Returns 0, or -1 when there is none. */
int cluster_dr_url(const char *dir, char *url, size_t size);

#endif
