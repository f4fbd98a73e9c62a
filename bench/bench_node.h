/* What `nodown bench cluster` (bench_cluster.c) shares with `nodown bench
 * node` (bench_node.c): the member sessions, the bootstrap, the load. */
#ifndef NODOWN_BENCH_BENCH_NODE_H
#define NODOWN_BENCH_BENCH_NODE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "nodown/client.h"

#define NODE_CLIENTS_MAX 64u
#define NODE_SAMPLES_MAX (1u << 20) /* latency samples per client */

/* One member's session. */
struct node_client {
    const char *nodes;
    uint32_t account_id;
    char secret[32];
    double seconds;
    double rate_per_s;  /* 0: as fast as it can */
    struct nodown_client *session;
    uint64_t sent;
    uint64_t acked;
    uint64_t errors;
    bool done;
    uint64_t sent_ns[1024]; /* by client_seq, for the latency */
    uint32_t *latency_us; /* one per acknowledged command */
    uint64_t latency_count;
};

/* What a load run measured. */
struct node_load {
    uint64_t acked;
    double orders_per_s;
    uint32_t p50_us, p99_us, p999_us, max_us;
    uint64_t errors;
};

/* As the house through nodes: logic version 2, a tree, a member per
 * client (account and secret set in clients[i]), cash, an instrument, the
 * day. Returns 0 or -1 with errmsg. */
int node_bootstrap(const char *nodes, struct node_client *clients, uint32_t count,
                   char *errmsg, size_t size);

/* count clients (latency_us allocated) for seconds at rate_per_s each (0:
 * flat out), every client on nodes unless node_load_spread gave lists. */
void node_load_run(struct node_client *clients, uint32_t count, const char *nodes,
                   double seconds, double rate_per_s, struct node_load *load);
void node_load_spread(const char *const *lists);

/* CPU time (user + system) a process has used, in microseconds, from
 * /proc; 0 when it cannot be read. */
uint64_t node_cpu_us(pid_t pid);

#endif
