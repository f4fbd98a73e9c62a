/* `nodown bench cluster`: a local cluster measured from outside.
 *
 * `nodown cluster up` with 3 nats-servers (the stream R3) and N nodes
 * (default 3) in a fresh directory; N x 5 sessions spread over the nodes
 * (session i starts at node i mod N), driven as in `bench node`. Six
 * phases, each bounded in time and announced on stderr:
 *
 *   1 full       S seconds flat out: orders acknowledged per second, ack
 *                latency (send to outcome) p50 / p99;
 *   2 half       S seconds at half that rate: p50 / p99 / max, and the
 *                longest time with no ack at all (the baseline for 3, 5);
 *   3 step-down  half load for S seconds, `nodown cluster step-down` at S/2;
 *   4 join       `cluster up --nodes N+1` adds a node, which joins from
 *                node 0's latest snapshot, under half load (runs of S
 *                seconds until it serves, JOIN_LOAD_S at most). Its log
 *                says the snapshot's sequence S0 and size, the fetch's
 *                time, the sequence S1 it caught up to (the stream's last
 *                when it began reading) and the time since the snapshot
 *                came. catchup_bytes = the snapshot's bytes + the payload
 *                bytes of messages S0+1 .. S1 (read back from the stream
 *                afterwards); catchup_seconds = the fetch + the catch-up;
 *   5 kill -9    half load for S + KILL_AFTER_S seconds, kill -9 at S/2 of
 *                the nats-server leading the stream (stream info names it,
 *                DIR/cluster.txt gives its pid); the surviving servers' logs
 *                say when one of them took over; `cluster up` brings the
 *                killed one back after the run (before the kill: the join
 *                is measured on a whole cluster, not one whose restarted
 *                server is still catching up);
 *   6 verify     `cluster up --nodes 7` at rest (the new nodes join), then
 *                `nodown verify --dir` timed at rest and under half load.
 *
 * The failover gap of 3 and 5 is the longest time in which no session got
 * any outcome: a watcher thread sums the sessions' ack counters every
 * millisecond and keeps the longest interval between two increases (the
 * time before the first ack and after the last is no gap; but when no ack
 * came after the kill before the run ended, the gap runs from the last
 * ack to the end, a lower bound, and kill_acks_resumed says false). The
 * counters are plain integers written by the client threads: the watcher
 * reads them with relaxed atomic loads (aligned 64-bit words: a read sees
 * an old or a new value, never a torn one), which is all a figure needs.
 *
 * The cluster is stopped and its directory removed, unless --keep, or a
 * phase went wrong (a node that did not catch up, verify failing, errors):
 * then it stays, logs included, and the report says where. One JSON
 * object with --json.
 */
#include "bench/bench.h"

#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench/bench_node.h"
#include "ops/cluster.h"
#include "lib/clock.h"
#include "replica/journal.h"

#define CLUSTER_BENCH_SESSIONS_PER_NODE 5u /* default; --sessions-per-node */
#define CLUSTER_BENCH_NODES_MAX 8u     /* --nodes: 5 sessions each, NODE_CLIENTS_MAX at most */
#define CLUSTER_BENCH_VERIFY_NODES 7u  /* issue 4: verify_seconds for 7 nodes */
#define CLUSTER_BENCH_KILL_AFTER_S 25.0 /* load after the kill: the election (4-20 s here) */
#define CLUSTER_BENCH_JOIN_WAIT_MS 60000   /* a new node serving clients, within */
#define CLUSTER_BENCH_JOIN_LOAD_S 60       /* half load while a node joins, at most */
#define CLUSTER_BENCH_READ_MS 20000        /* reading back what a joiner consumed */
#define CLUSTER_BENCH_SNAPSHOT_MB "16"     /* the nodes' --snapshot-mb: node 0 has one */

_Static_assert(CLUSTER_BENCH_NODES_MAX * CLUSTER_BENCH_SESSIONS_PER_NODE <= NODE_CLIENTS_MAX,
               "every session a client of bench_node.c");
_Static_assert(CLUSTER_BENCH_NODES_MAX + 1 <= CLUSTER_NODES_MAX, "room for a joiner");

/* What the phases measured, beyond the loads' own figures. */
struct cluster_results {
    struct node_load full, half, moved, killed, joining, verifying;
    double gap_half_ms, gap_step_down_ms, gap_kill_ms, gap_join_ms;
    char step_down_line[160];
    char killed_name[16];      /* nats-I, the stream's leader when killed */
    char leader_after[64];     /* the stream's leader after the kill */
    int64_t leader_after_ms;   /* from the kill to its first log line; -1: none */
    int64_t kill_ns;           /* when it was killed (during the kill phase only) */
    int64_t kill_wall_us;      /* the same on the wall clock */
    bool acks_after_kill;      /* an ack came after the kill within the run */
    double kill_resume_ms;     /* from the kill to the ack that ended the longest gap */
    bool restarted;            /* the killed server back by cluster up */
    uint64_t snapshot_seq, snapshot_bytes, caught_up_seq;
    uint64_t stream_bytes, stream_messages;
    double catchup_seconds, join_wall_seconds;
    bool joined, caught_up_under_load;
    bool join_done;            /* set by the joiner's thread (atomic) */
    uint32_t verify_nodes;
    double verify_rest_seconds, verify_load_seconds;
    bool verify_rest_ok, verify_load_ok;
    /* CPU per acknowledged order at full load, microseconds: each
     * nats-server, each node, and this process (the clients). */
    double cpu_us_nats[CLUSTER_NATS_MAX];
    double cpu_us_nodes[CLUSTER_NODES_MAX];
    double cpu_us_clients;
};

struct cluster_bench {
    char self[512];
    char dir[64];
    uint32_t nodes;
    uint32_t sessions;
    uint32_t sessions_per_node;
    double seconds;
    double rate_per_s; /* each session's at half load */
    bool json;
    bool keep;
    char snapshot_mb[16];
    struct node_client *clients;
    char urls[3 * 32];       /* the nats-servers' client URLs */
    struct journal *journal; /* the bench's own: stream info, reading back */
    char listen[CLUSTER_NODES_MAX][32];
    char lists[NODE_CLIENTS_MAX][CLUSTER_NODES_MAX * 24];
    const char *list_pointers[NODE_CLIENTS_MAX];
    struct cluster_results results;
};

static void cluster_bench_progress(const char *phase, const char *what)
{
    fprintf(stderr, "nodown bench cluster: %s: %s\n", phase, what);
}

static void cluster_bench_sleep_s(double seconds)
{
    clock_sleep_ms((int64_t)(seconds * 1000));
}

/* `nodown cluster WHAT --dir DIR`; the first line of its output in line.
 * Returns 0 when it exited 0. */
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
    if (line != NULL)
        line[strcspn(line, "\n")] = '\0';
    return pclose(out) == 0 ? 0 : -1;
}

/* `cluster up` to count nodes (starting whatever is not running). */
static int cluster_bench_up(const struct cluster_bench *bench, uint32_t count, char *line,
                            size_t size)
{
    char up[96];
    snprintf(up, sizeof up, "up --nats-servers 3 --nodes %u --snapshot-mb %s", count,
             bench->snapshot_mb);
    return cluster_bench_command(bench, up, line, size);
}

/* The servers' URLs and the nodes' client ports from the cluster's
 * layout, and each session's list (over the first bench->nodes nodes). */
static int cluster_bench_layout(struct cluster_bench *bench)
{
    struct cluster_layout layout;
    if (cluster_layout_load(bench->dir, &layout) != 0 || layout.node_count != bench->nodes)
        return -1;
    for (uint32_t i = 0; i < layout.node_count; i++)
        snprintf(bench->listen[i], sizeof bench->listen[i], "127.0.0.1:%u",
                 layout.nodes[i].ports[0]);
    size_t urls_used = 0;
    for (uint32_t i = 0; i < layout.nats_count && urls_used < sizeof bench->urls; i++)
        urls_used += (size_t)snprintf(bench->urls + urls_used, sizeof bench->urls - urls_used,
                                      "%snats://127.0.0.1:%u", i > 0 ? "," : "",
                                      layout.nats[i].ports[0]);
    for (uint32_t i = 0; i < bench->sessions; i++) {
        size_t used = 0;
        for (uint32_t k = 0; k < bench->nodes; k++)
            used += (size_t)snprintf(bench->lists[i] + used, sizeof bench->lists[i] - used,
                                     "%s%s", k > 0 ? "," : "",
                                     bench->listen[(i + k) % bench->nodes]);
        bench->list_pointers[i] = bench->lists[i];
    }
    return 0;
}

/* The pid of nats-INDEX from DIR/cluster.txt, if it runs with the
 * cluster's directory on its command line (a pid can be reused); or 0. */
static pid_t cluster_bench_nats_pid(const struct cluster_bench *bench, unsigned index)
{
    struct cluster_layout layout;
    if (cluster_layout_load(bench->dir, &layout) != 0 || index >= layout.nats_count)
        return 0;
    pid_t pid = layout.nats[index].pid;
    return cluster_process_running(bench->dir, pid) ? pid : 0;
}

/* ---- The no-ack watcher. ---- */

struct cluster_watch {
    const struct node_client *clients;
    uint32_t count;
    int stop;            /* set by the main thread (atomic) */
    int64_t gap_ns_max;  /* the longest between two increases */
    int64_t gap_end_ns;  /* when it ended */
    int64_t last_ack_ns; /* the last increase seen; 0: none */
    int64_t stop_ns;     /* when it stopped */
};

static void *cluster_bench_watch(void *context)
{
    struct cluster_watch *watch = context;
    uint64_t last_total = 0;
    while (!__atomic_load_n(&watch->stop, __ATOMIC_ACQUIRE)) {
        uint64_t total = 0;
        for (uint32_t i = 0; i < watch->count; i++)
            total += __atomic_load_n(&watch->clients[i].acked, __ATOMIC_RELAXED);
        int64_t now_ns = (int64_t)clock_now_ns();
        if (total > last_total) {
            if (watch->last_ack_ns != 0 && now_ns - watch->last_ack_ns > watch->gap_ns_max) {
                watch->gap_ns_max = now_ns - watch->last_ack_ns;
                watch->gap_end_ns = now_ns;
            }
            watch->last_ack_ns = now_ns;
        }
        last_total = total;
        clock_sleep_ms(1);
    }
    watch->stop_ns = (int64_t)clock_now_ns();
    return NULL;
}

/* A load run at rate_per_s a session (0: flat out) for seconds, with
 * side (when not NULL) on a thread of its own beside it. *gap_ms: the
 * longest time without any ack between two acks; and, when the kill
 * phase's server was killed after the last ack (none came back before the
 * run ended), the time from that ack to the end, a lower bound. */
static void cluster_bench_load(struct cluster_bench *bench, double seconds, double rate_per_s,
                               void *(*side)(void *), struct node_load *load, double *gap_ms)
{
    for (uint32_t i = 0; i < bench->sessions; i++)
        bench->clients[i].acked = 0; /* before the watcher starts: it sees only increases */
    struct cluster_watch watch = {bench->clients, bench->sessions, 0, 0, 0, 0, 0};
    pthread_t watcher, sider;
    pthread_create(&watcher, NULL, cluster_bench_watch, &watch);
    if (side != NULL)
        pthread_create(&sider, NULL, side, bench);
    node_load_run(bench->clients, bench->sessions, NULL, seconds, rate_per_s, load);
    __atomic_store_n(&watch.stop, 1, __ATOMIC_RELEASE);
    pthread_join(watcher, NULL);
    if (side != NULL)
        pthread_join(sider, NULL);
    int64_t kill_ns = bench->results.kill_ns;
    if (kill_ns != 0) {
        bench->results.acks_after_kill = watch.last_ack_ns > kill_ns;
        bench->results.kill_resume_ms =
            watch.gap_end_ns > kill_ns ? (double)(watch.gap_end_ns - kill_ns) / 1e6 : -1;
    }
    if (kill_ns != 0 && watch.last_ack_ns != 0 && watch.last_ack_ns < kill_ns &&
        watch.stop_ns - watch.last_ack_ns > watch.gap_ns_max)
        watch.gap_ns_max = watch.stop_ns - watch.last_ack_ns;
    if (gap_ms != NULL)
        *gap_ms = (double)watch.gap_ns_max / 1e6;
}

/* ---- Beside a load run. ---- */

static void *cluster_bench_step_down(void *context)
{
    struct cluster_bench *bench = context;
    cluster_bench_sleep_s(bench->seconds / 2);
    cluster_bench_command(bench, "step-down", bench->results.step_down_line,
                          sizeof bench->results.step_down_line);
    return NULL;
}

/* At S/2: kill -9 of the server leading the stream (as stream info says). */
static void *cluster_bench_kill(void *context)
{
    struct cluster_bench *bench = context;
    struct cluster_results *results = &bench->results;
    struct journal_stream_info info;
    cluster_bench_sleep_s(bench->seconds / 2);
    unsigned index = 0;
    if (bench->journal == NULL || journal_stream_info(bench->journal, &info) != 0 ||
        sscanf(info.leader, "nats-%u", &index) != 1)
        return NULL;
    pid_t pid = cluster_bench_nats_pid(bench, index);
    if (pid <= 0 || kill(pid, SIGKILL) != 0)
        return NULL;
    struct timespec wall;
    clock_gettime(CLOCK_REALTIME, &wall);
    results->kill_ns = (int64_t)clock_now_ns();
    results->kill_wall_us = (int64_t)wall.tv_sec * 1000000 + wall.tv_nsec / 1000;
    snprintf(results->killed_name, sizeof results->killed_name, "nats-%u", index);
    return NULL;
}

/* The first "new stream leader" line another server logged after the
 * kill: the election as the servers saw it. Their logs' clock is the wall
 * clock in local time, to the microsecond (stream info, polled instead,
 * answers late while the bench's own connection fails over). */
static void cluster_bench_election(struct cluster_bench *bench)
{
    struct cluster_results *r = &bench->results;
    r->leader_after_ms = -1;
    for (unsigned i = 0; i < 3; i++) {
        char path[128], line[512];
        snprintf(path, sizeof path, "%s/nats-%u/log", bench->dir, i);
        FILE *log = fopen(path, "r");
        while (log != NULL && fgets(line, sizeof line, log) != NULL) {
            struct tm when = {0};
            int year = 0, month = 0, micro = 0;
            const char *at = strchr(line, ']');
            if (strstr(line, "new stream leader for '$G > NODOWN'") == NULL || at == NULL ||
                sscanf(at + 1, " %d/%d/%d %d:%d:%d.%d", &year, &month, &when.tm_mday,
                       &when.tm_hour, &when.tm_min, &when.tm_sec, &micro) != 7)
                continue;
            when.tm_year = year - 1900;
            when.tm_mon = month - 1;
            when.tm_isdst = -1;
            int64_t after_us = (int64_t)mktime(&when) * 1000000 + micro - r->kill_wall_us;
            bool first = r->leader_after_ms < 0 || after_us / 1000 < r->leader_after_ms;
            if (after_us > 0 && first) {
                r->leader_after_ms = after_us / 1000;
                snprintf(r->leader_after, sizeof r->leader_after, "nats-%u", i);
            }
        }
        if (log != NULL)
            fclose(log);
    }
}

/* Waits for node-INDEX's log to say it serves clients, reading its join
 * lines (node/join.c, node/node.c) on the way. Returns 0 when it serves
 * in time. */
static int cluster_bench_join_wait(struct cluster_bench *bench, uint32_t index, bool record)
{
    struct cluster_results *results = &bench->results;
    char path[128], line[512];
    snprintf(path, sizeof path, "%s/node-%u/log", bench->dir, index);
    int64_t deadline_ms = clock_now_ms() + CLUSTER_BENCH_JOIN_WAIT_MS;
    while (clock_now_ms() < deadline_ms) {
        FILE *log = fopen(path, "r");
        bool serving = false;
        uint64_t fetch_ms = 0, after_ms = 0;
        while (log != NULL && fgets(line, sizeof line, log) != NULL) {
            const char *at = strstr(line, "snapshot at stream sequence ");
            if (at != NULL && record)
                sscanf(at, "snapshot at stream sequence %" SCNu64 ", %" SCNu64 " bytes in %"
                       SCNu64 " ms", &results->snapshot_seq, &results->snapshot_bytes,
                       &fetch_ms);
            at = strstr(line, "caught up to stream sequence ");
            if (at != NULL && record)
                sscanf(at, "caught up to stream sequence %" SCNu64 " in %" SCNu64 " ms",
                       &results->caught_up_seq, &after_ms);
            serving = serving || strstr(line, "serving clients on") != NULL;
        }
        if (log != NULL)
            fclose(log);
        if (serving) {
            if (record)
                results->catchup_seconds = (double)(fetch_ms + after_ms) / 1000;
            return 0;
        }
        clock_sleep_ms(10);
    }
    return -1;
}

/* After 250 ms of load: `cluster up --nodes N+1`, then until the new node
 * serves (it has caught up). */
static void *cluster_bench_join(void *context)
{
    struct cluster_bench *bench = context;
    struct cluster_results *results = &bench->results;
    clock_sleep_ms(250);
    int64_t start_ms = clock_now_ms();
    results->joined = cluster_bench_up(bench, bench->nodes + 1, NULL, 0) == 0 &&
                      cluster_bench_join_wait(bench, bench->nodes, true) == 0;
    results->join_wall_seconds = (double)(clock_now_ms() - start_ms) / 1000;
    struct journal_stream_info info;
    /* No snapshot at node 0 yet: the node read the stream from its
     * beginning and says nothing of it; the stream's end as it serves (at
     * most a few messages past where it caught up) and the wall time. */
    if (results->joined && results->snapshot_bytes == 0 &&
        journal_stream_info(bench->journal, &info) == 0) {
        results->caught_up_seq = info.last_seq;
        results->catchup_seconds = results->join_wall_seconds;
    }
    __atomic_store_n(&results->join_done, true, __ATOMIC_RELEASE);
    return NULL;
}

/* `nodown verify --dir DIR`, its report in DIR/verify-NAME.txt; returns
 * the seconds it took, *ok when it exited 0. */
static double cluster_bench_verify_run(const struct cluster_bench *bench, const char *name,
                                       bool *ok)
{
    char command[800];
    snprintf(command, sizeof command, "'%s' verify --dir '%s' >'%s/verify-%s.txt' 2>&1",
             bench->self, bench->dir, bench->dir, name);
    int64_t start_ms = clock_now_ms();
    *ok = system(command) == 0;
    return (double)(clock_now_ms() - start_ms) / 1000;
}

static void *cluster_bench_verify(void *context)
{
    struct cluster_bench *bench = context;
    clock_sleep_ms(250);
    bench->results.verify_load_seconds =
        cluster_bench_verify_run(bench, "load", &bench->results.verify_load_ok);
    return NULL;
}

/* ---- What a joiner consumed. ---- */

/* The bench's own connection to the stream (as the nodes open it). */
static int cluster_bench_journal_open(struct cluster_bench *bench, char *errmsg, size_t size)
{
    struct journal_config config = journal_config_stream(bench->urls, 3);
    return journal_open(&bench->journal, &config, errmsg, size);
}

struct cluster_read {
    uint64_t last_seq;
    uint64_t bytes;
    uint64_t messages;
};

static int cluster_bench_read_message(void *context, uint64_t stream_seq, uint64_t timestamp_ns,
                                      const void *data, size_t size)
{
    struct cluster_read *read = context;
    (void)timestamp_ns;
    (void)data;
    if (stream_seq > read->last_seq)
        return 1; /* past what the joiner had caught up to: done */
    read->bytes += size;
    read->messages++;
    return 0;
}

/* The payload bytes of the stream's messages after the joiner's snapshot
 * up to the sequence it caught up to: what it read after the copy. */
static void cluster_bench_stream_bytes(struct cluster_bench *bench)
{
    struct cluster_results *results = &bench->results;
    struct cluster_read read = {results->caught_up_seq, 0, 0};
    uint64_t next = results->snapshot_seq + 1;
    int64_t deadline_ms = clock_now_ms() + CLUSTER_BENCH_READ_MS;
    while (next <= read.last_seq && clock_now_ms() < deadline_ms) {
        if (journal_read(bench->journal, next, 4096, 2000, cluster_bench_read_message, &read,
                         &next) != 0)
            break;
    }
    results->stream_bytes = read.bytes;
    results->stream_messages = read.messages;
    if (read.last_seq > results->snapshot_seq &&
        read.messages < read.last_seq - results->snapshot_seq)
        fprintf(stderr, "nodown bench cluster: read back %" PRIu64 " of the %" PRIu64
                " messages the joiner consumed: catchup_stream_bytes is short\n", read.messages,
                read.last_seq - results->snapshot_seq);
    /* Its reader would go on taking the stream's messages through the
     * phases after: a connection without one instead. */
    char errmsg[256];
    journal_close(bench->journal);
    bench->journal = NULL;
    if (cluster_bench_journal_open(bench, errmsg, sizeof errmsg) != 0)
        fprintf(stderr, "nodown bench cluster: %s (no kill -9 without stream info)\n", errmsg);
}

/* CPU used so far by each nats-server, each node and this process, in
 * that order (cluster.txt's pids; 0 for one that does not run). */
static void cluster_bench_cpu(const struct cluster_bench *bench, uint64_t *cpu_us)
{
    struct cluster_layout layout;
    memset(cpu_us, 0, (CLUSTER_NATS_MAX + CLUSTER_NODES_MAX + 1) * sizeof *cpu_us);
    if (cluster_layout_load(bench->dir, &layout) == 0) {
        for (uint32_t i = 0; i < layout.nats_count; i++)
            cpu_us[i] = node_cpu_us(layout.nats[i].pid);
        for (uint32_t i = 0; i < layout.node_count; i++)
            cpu_us[CLUSTER_NATS_MAX + i] = node_cpu_us(layout.nodes[i].pid);
    }
    cpu_us[CLUSTER_NATS_MAX + CLUSTER_NODES_MAX] = node_cpu_us(getpid());
}

/* The full load's CPU per acknowledged order, from the samples before it. */
static void cluster_bench_cpu_per_order(struct cluster_bench *bench, const uint64_t *before)
{
    struct cluster_results *r = &bench->results;
    uint64_t after[CLUSTER_NATS_MAX + CLUSTER_NODES_MAX + 1];
    cluster_bench_cpu(bench, after);
    double orders = r->full.acked > 0 ? (double)r->full.acked : 1;
    for (uint32_t i = 0; i < CLUSTER_NATS_MAX + CLUSTER_NODES_MAX + 1; i++) {
        double us = after[i] >= before[i] ? (double)(after[i] - before[i]) / orders : 0;
        if (i < CLUSTER_NATS_MAX)
            r->cpu_us_nats[i] = us;
        else if (i < CLUSTER_NATS_MAX + CLUSTER_NODES_MAX)
            r->cpu_us_nodes[i - CLUSTER_NATS_MAX] = us;
        else
            r->cpu_us_clients = us;
    }
}

/* ---- The phases. ---- */

/* Phase 5: kill -9 of the stream leader's server under half load. */
static void cluster_bench_phase_kill(struct cluster_bench *bench)
{
    struct cluster_results *r = &bench->results;
    cluster_bench_load(bench, bench->seconds + CLUSTER_BENCH_KILL_AFTER_S, bench->rate_per_s,
                       cluster_bench_kill, &r->killed, &r->gap_kill_ms);
    if (r->killed_name[0] == '\0') {
        r->gap_kill_ms = -1; /* nothing was killed: no figure */
        r->kill_resume_ms = -1;
    }
    r->kill_ns = 0;
    cluster_bench_election(bench); /* before the killed server is back and logs */
    r->restarted = cluster_bench_up(bench, bench->nodes + 1, NULL, 0) == 0;
}

/* Phase 4: half load, in runs of S seconds until the joiner has caught up
 * (at most CLUSTER_BENCH_JOIN_LOAD_S of them), so that it catches up
 * under load however long it takes; the joiner's thread runs beside. */
static void cluster_bench_phase_join(struct cluster_bench *bench)
{
    struct cluster_results *r = &bench->results;
    pthread_t joiner;
    pthread_create(&joiner, NULL, cluster_bench_join, bench);
    int64_t deadline_ms = clock_now_ms() + CLUSTER_BENCH_JOIN_LOAD_S * 1000;
    bool done = false;
    while (!done && clock_now_ms() < deadline_ms) {
        struct node_load load;
        double gap_ms = 0;
        cluster_bench_load(bench, bench->seconds, bench->rate_per_s, NULL, &load, &gap_ms);
        r->joining.max_us = load.max_us > r->joining.max_us ? load.max_us : r->joining.max_us;
        r->joining.errors += load.errors;
        r->gap_join_ms = gap_ms > r->gap_join_ms ? gap_ms : r->gap_join_ms;
        done = __atomic_load_n(&r->join_done, __ATOMIC_ACQUIRE);
    }
    r->caught_up_under_load = done && r->joined;
    pthread_join(joiner, NULL);
    cluster_bench_stream_bytes(bench);
}

/* Phase 6: up to 7 nodes at rest (each new one joins), then verify timed
 * at rest and under half load. */
static void cluster_bench_phase_verify(struct cluster_bench *bench)
{
    struct cluster_results *r = &bench->results;
    bool up = cluster_bench_up(bench, r->verify_nodes, NULL, 0) == 0;
    for (uint32_t i = bench->nodes + 1; up && i < r->verify_nodes; i++)
        up = cluster_bench_join_wait(bench, i, false) == 0;
    r->verify_rest_seconds = cluster_bench_verify_run(bench, "rest", &r->verify_rest_ok);
    r->verify_rest_ok = r->verify_rest_ok && up;
    cluster_bench_load(bench, bench->seconds, bench->rate_per_s, cluster_bench_verify,
                       &r->verifying, NULL);
}

static void cluster_bench_phases(struct cluster_bench *bench)
{
    struct cluster_results *r = &bench->results;
    char what[1024];
    snprintf(what, sizeof what, "%u sessions flat out for %.1f s", bench->sessions,
             bench->seconds);
    cluster_bench_progress("1/6 full load", what);
    uint64_t cpu_before[CLUSTER_NATS_MAX + CLUSTER_NODES_MAX + 1];
    cluster_bench_cpu(bench, cpu_before);
    cluster_bench_load(bench, bench->seconds, 0, NULL, &r->full, NULL);
    cluster_bench_cpu_per_order(bench, cpu_before);
    bench->rate_per_s = r->full.orders_per_s / 2 / bench->sessions;
    snprintf(what, sizeof what, "%.0f orders/s at full load; now %.0f/s for %.1f s",
             r->full.orders_per_s, r->full.orders_per_s / 2, bench->seconds);
    cluster_bench_progress("2/6 half load", what);
    cluster_bench_load(bench, bench->seconds, bench->rate_per_s, NULL, &r->half, &r->gap_half_ms);
    cluster_bench_progress("3/6 step-down", "half load, cluster step-down halfway");
    cluster_bench_load(bench, bench->seconds, bench->rate_per_s, cluster_bench_step_down,
                       &r->moved, &r->gap_step_down_ms);
    snprintf(what, sizeof what, "%s; now half load until node-%u has joined and caught up",
             r->step_down_line, bench->nodes);
    cluster_bench_progress("4/6 join", what);
    cluster_bench_phase_join(bench);
    snprintf(what, sizeof what, "node-%u %s in %.1f s; now half load for %.1f s, kill -9 of "
             "the stream leader's server at %.1f s", bench->nodes,
             r->joined ? "caught up" : "DID NOT CATCH UP", r->catchup_seconds,
             bench->seconds + CLUSTER_BENCH_KILL_AFTER_S, bench->seconds / 2);
    cluster_bench_progress("5/6 kill -9", what);
    cluster_bench_phase_kill(bench);
    r->verify_nodes = bench->nodes + 1 > CLUSTER_BENCH_VERIFY_NODES ? bench->nodes + 1
                                                                     : CLUSTER_BENCH_VERIFY_NODES;
    snprintf(what, sizeof what, "%s killed, %s leads after %" PRId64 " ms, %s; now up to %u "
             "nodes, nodown verify at rest and under half load", r->killed_name,
             r->leader_after, r->leader_after_ms, r->restarted ? "back" : "NOT BACK",
             r->verify_nodes);
    cluster_bench_progress("6/6 verify", what);
    cluster_bench_phase_verify(bench);
}

/* ---- The report. ---- */

/* One field: ,"name":value in JSON (in quotes when quoted), else a line. */
static void cluster_bench_field(const struct cluster_bench *bench, const char *name, bool quoted,
                                const char *format, ...)
{
    char value[256];
    va_list args;
    va_start(args, format);
    vsnprintf(value, sizeof value, format, args);
    va_end(args);
    for (char *c = value; quoted && *c != '\0'; c++)
        *c = *c == '"' || *c == '\\' || (unsigned char)*c < 0x20 ? '\'' : *c; /* JSON-safe */
    if (bench->json)
        printf(",\"%s\":%s%s%s", name, quoted ? "\"" : "", value, quoted ? "\"" : "");
    else
        printf("%-28s %s\n", name, value);
}

static uint64_t cluster_bench_errors(const struct cluster_results *r)
{
    return r->full.errors + r->half.errors + r->moved.errors + r->killed.errors +
           r->joining.errors + r->verifying.errors;
}

static void cluster_bench_report_loads(const struct cluster_bench *bench)
{
    const struct cluster_results *r = &bench->results;
    const struct cluster_bench *b = bench;
    printf(b->json ? "{\"nats_servers\":3" : "%-28s 3\n", "nats_servers");
    cluster_bench_field(b, "nodes", false, "%u", b->nodes);
    cluster_bench_field(b, "clients", false, "%u", b->sessions);
    cluster_bench_field(b, "seconds", false, "%.1f", b->seconds);
    cluster_bench_field(b, "snapshot_mb", false, "%s", b->snapshot_mb);
    cluster_bench_field(b, "orders_per_s", false, "%.0f", r->full.orders_per_s);
    cluster_bench_field(b, "ack_p50_us", false, "%u", r->full.p50_us);
    cluster_bench_field(b, "ack_p99_us", false, "%u", r->full.p99_us);
    char nats[128] = "", nodes[256] = "";
    for (uint32_t i = 0; i < 3; i++)
        snprintf(nats + strlen(nats), sizeof nats - strlen(nats), "%s%.2f", i ? "," : "",
                 r->cpu_us_nats[i]);
    for (uint32_t i = 0; i < b->nodes && i < CLUSTER_NODES_MAX; i++)
        snprintf(nodes + strlen(nodes), sizeof nodes - strlen(nodes), "%s%.2f", i ? "," : "",
                 r->cpu_us_nodes[i]);
    cluster_bench_field(b, "cpu_us_per_order_nats", false, b->json ? "[%s]" : "%s", nats);
    cluster_bench_field(b, "cpu_us_per_order_nodes", false, b->json ? "[%s]" : "%s", nodes);
    cluster_bench_field(b, "cpu_us_per_order_clients", false, "%.2f", r->cpu_us_clients);
    cluster_bench_field(b, "half_load_orders_per_s", false, "%.0f", r->half.orders_per_s);
    cluster_bench_field(b, "half_ack_p50_us", false, "%u", r->half.p50_us);
    cluster_bench_field(b, "half_ack_p99_us", false, "%u", r->half.p99_us);
    cluster_bench_field(b, "half_ack_max_us", false, "%u", r->half.max_us);
    cluster_bench_field(b, "half_no_ack_ms_max", false, "%.1f", r->gap_half_ms);
    cluster_bench_field(b, "step_down_ack_max_us", false, "%u", r->moved.max_us);
    cluster_bench_field(b, "step_down", true, "%s", r->step_down_line);
    cluster_bench_field(b, "failover_gap_ms_step_down", false, "%.1f", r->gap_step_down_ms);
    cluster_bench_field(b, "kill_ack_max_us", false, "%u", r->killed.max_us);
    cluster_bench_field(b, "kill_leader", true, "%s", r->killed_name);
    cluster_bench_field(b, "kill_new_leader", true, "%s", r->leader_after);
    cluster_bench_field(b, "kill_new_leader_ms", false, "%" PRId64, r->leader_after_ms);
    cluster_bench_field(b, "kill_server_back", false, "%s", r->restarted ? "true" : "false");
    cluster_bench_field(b, "kill_acks_resumed", false, "%s",
                        r->acks_after_kill ? "true" : "false");
    cluster_bench_field(b, "failover_gap_ms_kill", false, "%.1f", r->gap_kill_ms);
    cluster_bench_field(b, "kill_to_resume_ms", false, "%.1f", r->kill_resume_ms);
    double max = r->gap_kill_ms > r->gap_step_down_ms ? r->gap_kill_ms : r->gap_step_down_ms;
    cluster_bench_field(b, "failover_gap_ms_max", false, "%.1f", max);
}

static void cluster_bench_report_rest(const struct cluster_bench *bench, bool kept)
{
    const struct cluster_results *r = &bench->results;
    const struct cluster_bench *b = bench;
    uint64_t bytes = r->snapshot_bytes + r->stream_bytes;
    cluster_bench_field(b, "catchup_from_snapshot", false, "%s",
                        r->snapshot_bytes > 0 ? "true" : "false");
    cluster_bench_field(b, "catchup_snapshot_seq", false, "%" PRIu64, r->snapshot_seq);
    cluster_bench_field(b, "catchup_seq", false, "%" PRIu64, r->caught_up_seq);
    cluster_bench_field(b, "catchup_snapshot_bytes", false, "%" PRIu64, r->snapshot_bytes);
    cluster_bench_field(b, "catchup_stream_messages", false, "%" PRIu64, r->stream_messages);
    cluster_bench_field(b, "catchup_stream_bytes", false, "%" PRIu64, r->stream_bytes);
    cluster_bench_field(b, "catchup_bytes", false, "%" PRIu64, bytes);
    cluster_bench_field(b, "catchup_seconds", false, "%.3f", r->catchup_seconds);
    cluster_bench_field(b, "catchup_bytes_per_s", false, "%.0f",
                        r->catchup_seconds > 0 ? (double)bytes / r->catchup_seconds : 0);
    cluster_bench_field(b, "catchup_under_load", false, "%s",
                        r->caught_up_under_load ? "true" : "false");
    cluster_bench_field(b, "join_wall_seconds", false, "%.3f", r->join_wall_seconds);
    cluster_bench_field(b, "join_ack_max_us", false, "%u", r->joining.max_us);
    cluster_bench_field(b, "join_no_ack_ms_max", false, "%.1f", r->gap_join_ms);
    cluster_bench_field(b, "verify_nodes", false, "%u", r->verify_nodes);
    cluster_bench_field(b, "verify_seconds", false, "%.3f", r->verify_rest_seconds);
    cluster_bench_field(b, "verify_ok", false, "%s", r->verify_rest_ok ? "true" : "false");
    cluster_bench_field(b, "verify_seconds_under_load", false, "%.3f", r->verify_load_seconds);
    cluster_bench_field(b, "verify_under_load_ok", false, "%s",
                        r->verify_load_ok ? "true" : "false");
    cluster_bench_field(b, "verify_load_orders_per_s", false, "%.0f",
                        r->verifying.orders_per_s);
    cluster_bench_field(b, "errors", false, "%" PRIu64, cluster_bench_errors(r));
    cluster_bench_field(b, "kept_dir", true, "%s", kept ? b->dir : "");
    printf(b->json ? "}\n" : "");
}

/* ---- The command. ---- */

static void cluster_bench_usage(FILE *out)
{
    fprintf(out,
            "usage: nodown bench cluster [--nodes N] [--seconds S] [--snapshot-mb M] [--keep]\n"
            "                            [--sessions-per-node K] [--json]\n"
            "  3 NATS servers (R3) and N nodes (default 3) by nodown cluster up, K\n"
            "  sessions a node (default 5; N x K at most 64), six phases, each\n"
            "  announced on stderr:\n"
            "  1 full load for S seconds (default 3): orders/s, ack p50/p99;\n"
            "  2 half load for S seconds: ack p50/p99/max, longest time without an ack;\n"
            "  3 half load, a stream leader step-down at S/2: the longest time\n"
            "    without an ack (failover_gap_ms_step_down);\n"
            "  4 half load until node N has joined from node 0's latest snapshot and\n"
            "    caught up (runs of S seconds, 60 s at most):\n"
            "    bytes copied and read from the stream, seconds to catch up;\n"
            "  5 half load for S + 25 s, kill -9 of the stream leader's nats-server\n"
            "    at S/2 (failover_gap_ms_kill); the server is brought back after;\n"
            "  6 up to 7 nodes, nodown verify timed at rest and under half load.\n"
            "  The nodes snapshot every M MB of log (default " CLUSTER_BENCH_SNAPSHOT_MB ").\n"
            "  The cluster's directory is removed unless --keep or something went\n"
            "  wrong. About 80 s with S = 3.\n");
}

static int cluster_bench_parse(int argc, char **argv, struct cluster_bench *bench)
{
    bench->nodes = 3;
    bench->seconds = 3;
    bench->sessions_per_node = CLUSTER_BENCH_SESSIONS_PER_NODE;
    snprintf(bench->snapshot_mb, sizeof bench->snapshot_mb, "%s", CLUSTER_BENCH_SNAPSHOT_MB);
    for (int i = 0; i < argc; i++) {
        const char *value = i + 1 < argc ? argv[i + 1] : "";
        if (strcmp(argv[i], "--json") == 0)
            bench->json = true;
        else if (strcmp(argv[i], "--keep") == 0)
            bench->keep = true;
        else if (strcmp(argv[i], "--nodes") == 0 && ++i < argc)
            bench->nodes = (uint32_t)strtoul(value, NULL, 10);
        else if (strcmp(argv[i], "--seconds") == 0 && ++i < argc)
            bench->seconds = strtod(value, NULL);
        else if (strcmp(argv[i], "--sessions-per-node") == 0 && ++i < argc)
            bench->sessions_per_node = (uint32_t)strtoul(value, NULL, 10);
        else if (strcmp(argv[i], "--snapshot-mb") == 0 && ++i < argc &&
                 strtod(value, NULL) > 0 && strspn(value, "0123456789.") == strlen(value))
            snprintf(bench->snapshot_mb, sizeof bench->snapshot_mb, "%.15s", value);
        else
            return -1;
    }
    return bench->nodes >= 1 && bench->nodes <= CLUSTER_BENCH_NODES_MAX &&
                   bench->sessions_per_node >= 1 &&
                   bench->nodes * bench->sessions_per_node <= NODE_CLIENTS_MAX &&
                   bench->seconds > 0 && bench->seconds <= 60
               ? 0
               : -1;
}

/* Up, the layout, the bench's own connection to the stream, the members. */
static int cluster_bench_start(struct cluster_bench *bench, char *errmsg, size_t size)
{
    cluster_bench_progress("0/6 cluster up", bench->dir);
    if (cluster_bench_up(bench, bench->nodes, errmsg, size) != 0 ||
        cluster_bench_layout(bench) != 0)
        return -1;
    if (cluster_bench_journal_open(bench, errmsg, size) != 0)
        return -1;
    return node_bootstrap(bench->lists[0], bench->clients, bench->sessions, errmsg, size);
}

/* Down; the directory removed unless it is to be kept. */
static void cluster_bench_finish(struct cluster_bench *bench, bool kept)
{
    if (bench->journal != NULL)
        journal_close(bench->journal);
    cluster_bench_command(bench, "down", NULL, 0);
    char command[128];
    snprintf(command, sizeof command, "rm -rf '%s'", bench->dir);
    if (kept)
        fprintf(stderr, "nodown bench cluster: the cluster's directory, logs included, is "
                "kept in %s\n", bench->dir);
    else if (system(command) != 0)
        fprintf(stderr, "nodown bench cluster: could not remove %s\n", bench->dir);
}

int bench_cluster_main(int argc, char **argv)
{
    static struct cluster_bench bench;
    if (argc > 0 && strcmp(argv[0], "--help") == 0) {
        cluster_bench_usage(stdout);
        return 0;
    }
    ssize_t size = readlink("/proc/self/exe", bench.self, sizeof bench.self - 1);
    snprintf(bench.dir, sizeof bench.dir, "/tmp/nodown-bench-cluster-XXXXXX");
    if (cluster_bench_parse(argc, argv, &bench) != 0 || size <= 0 || mkdtemp(bench.dir) == NULL) {
        cluster_bench_usage(stderr);
        return 2;
    }
    bench.self[size] = '\0';
    bench.sessions = bench.nodes * bench.sessions_per_node;
    static struct node_client clients[NODE_CLIENTS_MAX];
    bench.clients = clients;
    for (uint32_t i = 0; i < bench.sessions; i++)
        clients[i].latency_us = malloc(NODE_SAMPLES_MAX * sizeof(uint32_t));
    char errmsg[512] = "";
    setenv("NODOWN_HOUSE_SECRET", "bench-house-secret", 1);
    int rv = cluster_bench_start(&bench, errmsg, sizeof errmsg);
    const struct cluster_results *r = &bench.results;
    bool kept = bench.keep || rv != 0;
    if (rv == 0) {
        node_load_spread(bench.list_pointers);
        cluster_bench_phases(&bench);
        node_load_spread(NULL);
        kept = kept || !r->restarted || !r->joined || !r->verify_rest_ok || !r->verify_load_ok ||
               cluster_bench_errors(r) > 0;
        cluster_bench_report_loads(&bench);
        cluster_bench_report_rest(&bench, kept);
    } else {
        fprintf(stderr, "nodown bench cluster: %s\n", errmsg[0] ? errmsg : "cluster up failed");
    }
    cluster_bench_finish(&bench, kept);
    for (uint32_t i = 0; i < bench.sessions; i++)
        free(clients[i].latency_us);
    return rv == 0 ? 0 : 1;
}
