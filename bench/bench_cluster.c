/* `nodown bench cluster`: a local cluster measured from outside.
 *
 * `nodown cluster up` with 3 nats-servers (the stream R3) and N nodes
 * (default 3) in a fresh directory; N x 5 sessions spread over the nodes
 * (session i starts at node i mod N), driven as in `bench node`: orders
 * acknowledged per second and ack latency at full load and at half load;
 * then, at half load again, `nodown cluster step-down` halfway through:
 * the longest ack of that run against the longest of the plain half load
 * is what a planned move of the stream leader costs the clients. The
 * cluster is stopped and its directory removed. One JSON object with
 * --json. Every loop is bounded in count and time.
 */
#include "bench/bench.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench/bench_node.h"

#define CLUSTER_BENCH_SESSIONS_PER_NODE 5u
#define CLUSTER_BENCH_NODES_MAX 8u

struct cluster_bench {
    char self[512];
    char dir[64];
    uint32_t nodes;
    double seconds;
    bool json;
    char listen[CLUSTER_BENCH_NODES_MAX][32];
    char lists[NODE_CLIENTS_MAX][CLUSTER_BENCH_NODES_MAX * 24];
    const char *list_pointers[NODE_CLIENTS_MAX];
    char step_down_line[160];
};

static int cluster_bench_command(const struct cluster_bench *bench, const char *what,
                                 char *line, size_t size)
{
    char command[800];
    snprintf(command, sizeof command, "'%s' cluster %s --dir '%s' 2>&1", bench->self, what,
             bench->dir);
    FILE *out = popen(command, "r");
    if (out == NULL)
        return -1;
    char text[512];
    if (line != NULL)
        line[0] = '\0';
    while (fgets(text, sizeof text, out) != NULL) {
        if (line != NULL && line[0] == '\0')
            snprintf(line, size, "%s", text);
    }
    return pclose(out) == 0 ? 0 : -1;
}

/* The nodes' client ports from DIR/cluster.txt, and each session's list. */
static int cluster_bench_layout(struct cluster_bench *bench, uint32_t sessions)
{
    char path[128], line[256];
    snprintf(path, sizeof path, "%s/cluster.txt", bench->dir);
    FILE *file = fopen(path, "r");
    uint32_t found = 0;
    while (file != NULL && fgets(line, sizeof line, file) != NULL) {
        unsigned index = 0, listen = 0, http = 0;
        int pid = 0;
        if (sscanf(line, "node %u %d %u %u", &index, &pid, &listen, &http) == 4 &&
            index < CLUSTER_BENCH_NODES_MAX) {
            snprintf(bench->listen[index], sizeof bench->listen[index], "127.0.0.1:%u", listen);
            found++;
        }
    }
    if (file != NULL)
        fclose(file);
    if (found != bench->nodes)
        return -1;
    for (uint32_t i = 0; i < sessions; i++) {
        size_t used = 0;
        for (uint32_t k = 0; k < bench->nodes; k++)
            used += (size_t)snprintf(bench->lists[i] + used, sizeof bench->lists[i] - used,
                                     "%s%s", k > 0 ? "," : "",
                                     bench->listen[(i + k) % bench->nodes]);
        bench->list_pointers[i] = bench->lists[i];
    }
    return 0;
}

static void *cluster_bench_step_down(void *context)
{
    struct cluster_bench *bench = context;
    struct timespec half = {(time_t)(bench->seconds / 2),
                            (long)((bench->seconds / 2 - (double)(time_t)(bench->seconds / 2)) *
                                   1e9)};
    nanosleep(&half, NULL);
    cluster_bench_command(bench, "step-down", bench->step_down_line,
                          sizeof bench->step_down_line);
    bench->step_down_line[strcspn(bench->step_down_line, "\n")] = '\0';
    return NULL;
}

static int cluster_bench_parse(int argc, char **argv, struct cluster_bench *bench)
{
    bench->nodes = 3;
    bench->seconds = 3;
    for (int i = 0; i < argc; i++) {
        const char *value = i + 1 < argc ? argv[i + 1] : "";
        if (strcmp(argv[i], "--json") == 0)
            bench->json = true;
        else if (strcmp(argv[i], "--nodes") == 0 && ++i < argc)
            bench->nodes = (uint32_t)strtoul(value, NULL, 10);
        else if (strcmp(argv[i], "--seconds") == 0 && ++i < argc)
            bench->seconds = strtod(value, NULL);
        else
            return -1;
    }
    return bench->nodes >= 1 && bench->nodes <= CLUSTER_BENCH_NODES_MAX &&
                   bench->nodes * CLUSTER_BENCH_SESSIONS_PER_NODE <= NODE_CLIENTS_MAX &&
                   bench->seconds > 0 && bench->seconds <= 60
               ? 0
               : -1;
}

static void cluster_bench_report(const struct cluster_bench *bench, uint32_t sessions,
                                 const struct node_load *full, const struct node_load *half,
                                 const struct node_load *moved)
{
    printf(bench->json
               ? "{\"nats_servers\":3,\"nodes\":%u,\"clients\":%u,\"orders_per_s\":%.0f,"
                 "\"ack_p50_us\":%u,\"ack_p99_us\":%u,\"half_load_orders_per_s\":%.0f,"
                 "\"half_ack_p50_us\":%u,\"half_ack_p99_us\":%u,\"half_ack_max_us\":%u,"
                 "\"step_down_ack_max_us\":%u,\"step_down\":\"%s\",\"errors\":%" PRIu64 "}\n"
               : "3 NATS servers, %u nodes, %u sessions: %.0f orders/s acknowledged, p50 %u us"
                 " p99 %u us; half load %.0f/s: p50 %u us p99 %u us max %u us; with a step-down"
                 " halfway: max %u us (%s); %" PRIu64 " errors\n",
           bench->nodes, sessions, full->orders_per_s, full->p50_us, full->p99_us,
           half->orders_per_s, half->p50_us, half->p99_us, half->max_us, moved->max_us,
           bench->step_down_line, full->errors + half->errors + moved->errors);
}

int bench_cluster_main(int argc, char **argv)
{
    static struct cluster_bench bench;
    if (argc > 0 && strcmp(argv[0], "--help") == 0) {
        printf("usage: nodown bench cluster [--nodes N] [--seconds S] [--json]\n"
               "  3 NATS servers (R3) and N nodes (default 3) by nodown cluster up,\n"
               "  5 sessions a node: orders/s and ack latency at full and half load,\n"
               "  and the longest ack with a stream leader step-down halfway.\n");
        return 0;
    }
    ssize_t size = readlink("/proc/self/exe", bench.self, sizeof bench.self - 1);
    snprintf(bench.dir, sizeof bench.dir, "/tmp/nodown-bench-cluster-XXXXXX");
    if (cluster_bench_parse(argc, argv, &bench) != 0 || size <= 0 || mkdtemp(bench.dir) == NULL) {
        fprintf(stderr, "usage: nodown bench cluster [--nodes N] [--seconds S] [--json]\n");
        return 2;
    }
    bench.self[size] = '\0';
    uint32_t sessions = bench.nodes * CLUSTER_BENCH_SESSIONS_PER_NODE;
    static struct node_client clients[NODE_CLIENTS_MAX];
    for (uint32_t i = 0; i < sessions; i++)
        clients[i].latency_us = malloc(NODE_SAMPLES_MAX * sizeof(uint32_t));
    char up[64], errmsg[512] = "";
    snprintf(up, sizeof up, "up --nats-servers 3 --nodes %u", bench.nodes);
    setenv("NODOWN_HOUSE_SECRET", "bench-house", 1);
    int rv = cluster_bench_command(&bench, up, errmsg, sizeof errmsg);
    if (rv == 0 && (rv = cluster_bench_layout(&bench, sessions)) == 0)
        rv = node_bootstrap(bench.lists[0], clients, sessions, errmsg, sizeof errmsg);
    struct node_load full = {0}, half = {0}, moved = {0};
    if (rv == 0) {
        node_load_spread(bench.list_pointers);
        node_load_run(clients, sessions, NULL, bench.seconds, 0, &full);
        double rate = full.orders_per_s / 2 / sessions;
        node_load_run(clients, sessions, NULL, bench.seconds, rate, &half);
        pthread_t mover;
        pthread_create(&mover, NULL, cluster_bench_step_down, &bench);
        node_load_run(clients, sessions, NULL, bench.seconds, rate, &moved);
        pthread_join(mover, NULL);
        node_load_spread(NULL);
        cluster_bench_report(&bench, sessions, &full, &half, &moved);
    } else {
        fprintf(stderr, "nodown bench cluster: %s\n", errmsg[0] ? errmsg : "cluster up failed");
    }
    cluster_bench_command(&bench, "down", NULL, 0);
    char command[128];
    snprintf(command, sizeof command, "rm -rf '%s'", bench.dir);
    if (system(command) != 0)
        fprintf(stderr, "nodown bench cluster: could not remove %s\n", bench.dir);
    for (uint32_t i = 0; i < sessions; i++)
        free(clients[i].latency_us);
    return rv == 0 ? 0 : 1;
}
