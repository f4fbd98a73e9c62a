/* `nodown bench node`: a whole node, measured from outside.
 *
 *   orders   a real `nodown serve` child on the embedded default, at
 *            logic version 2; N sessions (default 16), each a member logged
 *            on through the C client library with up to its window (32)
 *            of commands in flight, driven by at most 4 threads, send
 *            orders for S seconds: acknowledged orders per second, the
 *            time from send to outcome, and the CPU per order of the node,
 *            its NATS server and the clients, at full load and then at
 *            half of the full rate;
 *   replay   batches published straight to the node's stream, then a
 *            fresh replica reads the whole stream from sequence 1:
 *            commands applied per second, NATS read included;
 *   snapshot in a fresh process, a replica holding RESTING orders forks a
 *            snapshot writer three times: the longest pause of the loop
 *            (the fork).
 * One JSON object with --json. Every loop is bounded in count and time.
 */
#include "bench/bench.h"
#include "bench/bench_hostile.h"
#include "bench/bench_node.h"
#include "gateway/admin_http.h"

#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/engine.h"
#include "lib/clock.h"
#include "lib/secret.h"
#include "nodown/client.h"
#include "replica/durability.h"
#include "replica/journal.h"
#include "gateway/gateway.h"
#include "replica/replica.h"

#define NODE_SELF "/proc/self/exe" /* this binary, for the node it starts */
#define NODE_THREADS_MAX 4u   /* client threads: sessions are shared among them */
#define NODE_POLL_MAX_MS 1000u
#define NODE_DRAIN_MAX_MS 10000u /* after the run, outcomes still owed */
#define NODE_SNAPSHOT_ROUNDS 3u  /* snapshots forked; the longest pause counts */

struct node_child {
    pid_t pid;
    char dir[64];
    char nodes[64];     /* host:port of the gateway */
    char nats_url[64];
    uint16_t admin_port;
};

/* A thread drives clients first .. first + count - 1 (see node_thread_main). */
struct node_thread {
    pthread_t thread;
    struct node_client *clients;
    uint32_t count;
};

/* Starts `nodown serve` and reads its ready line for the ports. */
static int node_start(struct node_child *node, const char *self, uint32_t batches_in_flight,
                      const char *durability, char *errmsg, size_t size)
{
    char in_flight[16];
    snprintf(in_flight, sizeof in_flight, "%u", batches_in_flight);
    snprintf(node->dir, sizeof node->dir, "/tmp/nodown-bench-node-XXXXXX");
    if (mkdtemp(node->dir) == NULL)
        return -1;
    int pipe_fds[2];
    if (pipe(pipe_fds) != 0)
        return -1;
    node->pid = fork();
    if (node->pid == 0) {
        dup2(pipe_fds[1], STDOUT_FILENO);
        close(pipe_fds[0]);
        setenv("NODOWN_HOUSE_SECRET", "bench-house-secret", 1);
        execl(self, self, "serve", "--data", node->dir, "--listen", "127.0.0.1:0", "--http",
              "127.0.0.1:0", "--batches-in-flight", in_flight, "--durability", durability,
              (char *)NULL);
        _exit(127);
    }
    close(pipe_fds[1]);
    FILE *out = fdopen(pipe_fds[0], "r");
    char line[512] = "";
    bool ready = out != NULL && fgets(line, sizeof line, out) != NULL;
    if (out != NULL)
        fclose(out); /* the node's later lines go nowhere: it prints only at stop */
    unsigned port = 0;
    const char *at = strstr(line, "clients on 127.0.0.1:");
    const char *nats = strstr(line, "NATS ");
    if (!ready || at == NULL || sscanf(at, "clients on 127.0.0.1:%u", &port) != 1 ||
        nats == NULL) {
        snprintf(errmsg, size, "the node did not start: %s", line);
        return -1;
    }
    snprintf(node->nodes, sizeof node->nodes, "127.0.0.1:%u", port);
    const char *admin = strstr(line, "admin on http://127.0.0.1:");
    unsigned admin_port = 0;
    if (admin != NULL && sscanf(admin, "admin on http://127.0.0.1:%u", &admin_port) == 1)
        node->admin_port = (uint16_t)admin_port;
    snprintf(node->nats_url, sizeof node->nats_url, "%s", nats + 5);
    node->nats_url[strcspn(node->nats_url, ",\n")] = '\0';
    return 0;
}

/* A gauge of the node's /metrics (its value), or -1 when it cannot be read. */
static long long node_metric(const struct node_child *node, const char *name)
{
    static char body[64 * 1024];
    char token[300], path[128], line[128];
    snprintf(path, sizeof path, "%s/admin.token", node->dir);
    admin_token_read(path, token, sizeof token);
    if (node->admin_port == 0 ||
        admin_http_get(node->admin_port, "/metrics", token, body, sizeof body) != 0)
        return -1;
    snprintf(line, sizeof line, "\n%s ", name);
    const char *at = strstr(body, line);
    return at == NULL ? -1 : strtoll(at + strlen(line), NULL, 10);
}

static void node_stop(struct node_child *node)
{
    if (node->pid > 0) {
        kill(node->pid, SIGTERM);
        waitpid(node->pid, NULL, 0);
    }
    char command[128];
    snprintf(command, sizeof command, "rm -rf '%s'", node->dir);
    if (system(command) != 0)
        fprintf(stderr, "bench node: could not remove %s\n", node->dir);
}

/* As the house: logic version 2; a super, master, agent and one member
 * per client with a secret and cash; an instrument; the day. */
int node_bootstrap(const char *nodes, struct node_client *clients, uint32_t count,
                   char *errmsg, size_t size)
{
    struct nodown_client *house = NULL;
    if (nodown_client_open(&house, nodes, 1, 0, "bench-house-secret", NULL, errmsg, size) != 0)
        return -1;
    struct command c;
    struct nodown_outcome outcome;
    uint64_t seq;
    uint32_t parent = 0;
    int rv = 0;
#define NODE_DO(setup)                                                                    \
    do {                                                                                  \
        memset(&c, 0, sizeof c);                                                          \
        setup;                                                                            \
        if (rv == 0 && (nodown_client_send(house, &c, &seq) != 0 ||                       \
                        nodown_client_wait(house, &outcome, 10000) != 0 ||                \
                        outcome.result != RESULT_OK))                                     \
            rv = -1;                                                                      \
    } while (0)
    /* Logic version 2: sessions of 32 commands in flight. */
    NODE_DO((c.type = COMMAND_ACTIVATE_LOGIC, c.u.activate_logic.logic_version = 2));
    for (uint8_t kind = ACCOUNT_KIND_SUPER; kind <= ACCOUNT_KIND_AGENT; kind++) {
        NODE_DO((c.type = COMMAND_ACCOUNT_CREATE, c.u.account_create.parent_id = parent,
                 c.u.account_create.kind = kind));
        parent = (uint32_t)outcome.id;
    }
    NODE_DO((c.type = COMMAND_INSTRUMENT_CREATE, memcpy(c.u.instrument_create.symbol, "NODE", 4),
             c.u.instrument_create.tick_size_minor = 1, c.u.instrument_create.lot_size = 1,
             c.u.instrument_create.reference_price_ticks = 10000,
             c.u.instrument_create.band_bp = 1000));
    NODE_DO((c.type = COMMAND_DAY_START, c.u.day.trading_date = 20261123));
    for (uint32_t i = 0; i < count && rv == 0; i++) {
        NODE_DO((c.type = COMMAND_ACCOUNT_CREATE, c.u.account_create.parent_id = parent,
                 c.u.account_create.kind = ACCOUNT_KIND_MEMBER));
        clients[i].account_id = (uint32_t)outcome.id;
        snprintf(clients[i].secret, sizeof clients[i].secret, "bench-member-%u", i);
        NODE_DO((c.type = COMMAND_ACCOUNT_SET_SECRET,
                 c.u.account_set_secret.account_id = clients[i].account_id,
                 secret_salt_generate(c.u.account_set_secret.salt),
                 secret_hash(clients[i].secret, strlen(clients[i].secret),
                             c.u.account_set_secret.salt, c.u.account_set_secret.hash)));
        NODE_DO((c.type = COMMAND_CASH_DEPOSIT, c.u.cash.account_id = clients[i].account_id,
                 c.u.cash.amount_minor = (int64_t)1 << 50));
        NODE_DO((c.type = COMMAND_POSITION_GRANT,
                 c.u.position_grant.account_id = clients[i].account_id,
                 c.u.position_grant.quantity = QUANTITY_MAX));
    }
#undef NODE_DO
    nodown_client_close(house);
    return rv;
}

/* The clients: orders that rest and never trade (buys below, sells above
 * the reference; IOC every other one, so the book stays bounded), sent as
 * a trading gateway would: a window of up to the session's window leaves
 * in one write, and every outcome already arrived is taken before the
 * window is filled again. At a rate, or as fast as it can. A few threads
 * drive all the sessions through poll() (nodown_client_fd), as a program
 * with many sessions would, so that the figures are the node's and not
 * the scheduling of one thread per session on two cores. */
static bool node_client_may_send(const struct node_client *client, uint64_t start_ns,
                                 uint64_t end_ns)
{
    uint64_t now_ns = clock_now_ns();
    return now_ns < end_ns &&
           nodown_client_inflight_count(client->session) <
               nodown_client_window(client->session) &&
           (client->rate_per_s <= 0 ||
            (double)client->sent < (double)(now_ns - start_ns) / 1e9 * client->rate_per_s);
}

static void node_order_make(struct command *c, uint64_t sent)
{
    memset(c, 0, sizeof *c);
    c->type = COMMAND_ORDER_PLACE;
    c->u.order_place.side = (uint8_t)(sent % 2);
    c->u.order_place.time_in_force = sent % 4 < 2 ? TIF_IOC : TIF_DAY;
    c->u.order_place.price_ticks =
        sent % 2 == 0 ? 9500 - (int64_t)(sent % 97) : 10500 + (int64_t)(sent % 97);
    c->u.order_place.quantity = 1;
}

/* Sends what is due and writes it. Returns nanoseconds until the next
 * order is due (at a rate), or UINT64_MAX. */
static uint64_t node_client_send(struct node_client *client, uint64_t start_ns,
                                 uint64_t end_ns)
{
    bool queued = false;
    while (node_client_may_send(client, start_ns, end_ns)) {
        struct command c;
        uint64_t client_seq = 0;
        node_order_make(&c, client->sent);
        if (nodown_client_send(client->session, &c, &client_seq) != 0) {
            client->errors++;
            client->done = true;
            return UINT64_MAX;
        }
        client->sent_ns[client_seq % 1024] = clock_now_ns();
        client->sent++;
        queued = true;
    }
    if (queued && nodown_client_flush(client->session) != 0) {
        client->errors++;
        client->done = true;
    }
    /* Flat out, or a full window: nothing to send until an outcome. */
    if (client->rate_per_s <= 0 || nodown_client_inflight_count(client->session) >=
                                       nodown_client_window(client->session))
        return UINT64_MAX;
    uint64_t due_ns = start_ns + (uint64_t)((double)(client->sent + 1) / client->rate_per_s * 1e9);
    uint64_t now_ns = clock_now_ns();
    return due_ns > now_ns ? due_ns - now_ns : 0;
}

/* Takes every outcome already arrived. */
static void node_client_receive(struct node_client *client)
{
    struct nodown_outcome outcome;
    while (nodown_client_inflight_count(client->session) > 0) {
        int rv = nodown_client_wait(client->session, &outcome, 0);
        if (rv == ERR_TIMEOUT)
            return;
        if (rv != 0) {
            client->errors++;
            client->done = true;
            return;
        }
        uint64_t took_us = (clock_now_ns() - client->sent_ns[outcome.client_seq % 1024]) / 1000;
        if (client->latency_count < NODE_SAMPLES_MAX)
            client->latency_us[client->latency_count++] = (uint32_t)took_us;
        client->acked += outcome.result == RESULT_OK;
        client->errors += outcome.result != RESULT_OK;
    }
}

static void *node_thread_main(void *context)
{
    struct node_thread *thread = context;
    struct pollfd polls[NODE_CLIENTS_MAX];
    uint32_t owners[NODE_CLIENTS_MAX];
    char errmsg[256];
    for (uint32_t i = 0; i < thread->count; i++) {
        struct node_client *client = &thread->clients[i];
        client->done = nodown_client_open(&client->session, client->nodes, 7,
                                          client->account_id, client->secret, NULL, errmsg,
                                          sizeof errmsg) != 0;
        client->errors += client->done;
    }
    uint64_t start_ns = clock_now_ns();
    uint64_t end_ns = start_ns + (uint64_t)(thread->clients[0].seconds * 1e9);
    for (;;) {
        uint64_t wait_ns = NODE_POLL_MAX_MS * 1000000u;
        nfds_t count = 0;
        for (uint32_t i = 0; i < thread->count; i++) {
            struct node_client *client = &thread->clients[i];
            if (client->done)
                continue;
            uint64_t due_ns = node_client_send(client, start_ns, end_ns);
            wait_ns = due_ns < wait_ns ? due_ns : wait_ns;
            if (nodown_client_inflight_count(client->session) == 0) {
                client->done = clock_now_ns() >= end_ns;
                continue;
            }
            owners[count] = i;
            polls[count++] = (struct pollfd){nodown_client_fd(client->session), POLLIN, 0};
        }
        if ((count == 0 && clock_now_ns() >= end_ns) ||
            clock_now_ns() >= end_ns + NODE_DRAIN_MAX_MS * 1000000u)
            break; /* every outcome in, or the node stopped answering */
        int ready = poll(polls, count, (int)(wait_ns / 1000000u) + (wait_ns % 1000000u != 0));
        for (nfds_t k = 0; ready > 0 && k < count; k++) {
            /* fd -1 (between connections): its wait fails over. */
            if (polls[k].revents != 0 || polls[k].fd < 0)
                node_client_receive(&thread->clients[owners[k]]);
        }
    }
    for (uint32_t i = 0; i < thread->count; i++)
        nodown_client_close(thread->clients[i].session);
    return NULL;
}

static int node_compare_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a;
    uint32_t y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* CPU time (user + system) of a process, in microseconds, from /proc. */
uint64_t node_cpu_us(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *file = fopen(path, "r");
    if (file == NULL)
        return 0;
    char line[1024] = "";
    char *got = fgets(line, sizeof line, file);
    fclose(file);
    const char *after = got == NULL ? NULL : strrchr(line, ')'); /* the name may hold spaces */
    unsigned long user = 0, system_ = 0;
    if (after == NULL ||
        sscanf(after, ") %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &user,
               &system_) != 2)
        return 0;
    return (uint64_t)(user + system_) * 1000000u / (uint64_t)sysconf(_SC_CLK_TCK);
}

/* The node's children (its nats-server), summed. */
static uint64_t node_children_cpu_us(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)pid, (int)pid);
    FILE *file = fopen(path, "r");
    uint64_t total = 0;
    int child = 0;
    while (file != NULL && fscanf(file, "%d", &child) == 1)
        total += node_cpu_us(child);
    if (file != NULL)
        fclose(file);
    return total;
}

/* CPU used by the node, its NATS server and this process (the clients). */
struct node_cpu {
    uint64_t node_us, nats_us, clients_us;
};

static void node_cpu_sample(pid_t node_pid, struct node_cpu *cpu)
{
    cpu->node_us = node_cpu_us(node_pid);
    cpu->nats_us = node_children_cpu_us(node_pid);
    cpu->clients_us = node_cpu_us(getpid());
}


/* count clients for seconds, each at rate_per_s (0: flat out). */
/* nodes: every client's list; or, when nodes_by_client is set, client i
 * takes nodes_by_client[i] (a cluster: clients spread over its nodes). */
static const char *const *nodes_by_client;

void node_load_run(struct node_client *clients, uint32_t count, const char *nodes,
                   double seconds, double rate_per_s, struct node_load *load)
{
    uint64_t start_ns = clock_now_ns();
    for (uint32_t i = 0; i < count; i++) {
        clients[i].nodes = nodes_by_client != NULL ? nodes_by_client[i] : nodes;
        clients[i].seconds = seconds;
        clients[i].rate_per_s = rate_per_s;
        clients[i].sent = clients[i].acked = clients[i].errors = clients[i].latency_count = 0;
        clients[i].session = NULL;
    }
    /* Clients dealt out to the threads in turn: thread t gets a run of them. */
    struct node_thread threads[NODE_THREADS_MAX];
    uint32_t thread_count = count < NODE_THREADS_MAX ? count : NODE_THREADS_MAX;
    for (uint32_t t = 0, first = 0; t < thread_count; t++) {
        uint32_t share = count / thread_count + (t < count % thread_count);
        threads[t] = (struct node_thread){.clients = clients + first, .count = share};
        pthread_create(&threads[t].thread, NULL, node_thread_main, &threads[t]);
        first += share;
    }
    for (uint32_t t = 0; t < thread_count; t++)
        pthread_join(threads[t].thread, NULL);
    uint64_t acked = 0, samples = 0;
    memset(load, 0, sizeof *load);
    for (uint32_t i = 0; i < count; i++) {
        acked += clients[i].acked;
        load->errors += clients[i].errors;
        samples += clients[i].latency_count;
    }
    load->acked = acked;
    load->orders_per_s = (double)acked / ((double)(clock_now_ns() - start_ns) / 1e9);
    uint32_t *all = malloc((samples + 1) * sizeof *all);
    uint64_t n = 0;
    for (uint32_t i = 0; all != NULL && i < count; i++) {
        memcpy(all + n, clients[i].latency_us, clients[i].latency_count * sizeof *all);
        n += clients[i].latency_count;
    }
    if (all != NULL && n > 0) {
        qsort(all, n, sizeof *all, node_compare_u32);
        load->p50_us = all[n * 50 / 100];
        load->p99_us = all[n * 99 / 100];
        load->p999_us = all[n * 999 / 1000];
        load->max_us = all[n - 1];
    }
    free(all);
}

void node_load_spread(const char *const *lists)
{
    nodes_by_client = lists;
}

/* Publishes commands_total orders straight to the stream, in batches of
 * 1000, from two of the members (buys and sells at one price: they trade),
 * then times a fresh replica reading the whole stream from sequence 1. */
struct replay_reader {
    struct replica *replica;
    struct journal *journal;
};

static int replay_message(void *context, uint64_t stream_seq, uint64_t timestamp_ns,
                          const void *data, size_t size)
{
    struct replay_reader *reader = context;
    int rv = replica_apply_message(reader->replica, reader->journal, stream_seq, timestamp_ns,
                                   data, size, NULL, NULL);
    return rv == REPLICA_REPEAT ? 0 : rv;
}

static double node_replay(const struct node_child *node, const struct node_client *clients,
                          uint64_t commands_total, uint64_t *applied)
{
    char errmsg[256];
    struct journal *journal = NULL;
    struct journal_config config = journal_config_stream(node->nats_url, 1);
    if (journal_open(&journal, &config, errmsg, sizeof errmsg) != 0)
        return -1;
    static struct command batch[1000];
    static uint8_t buffer[BATCH_SIZE_MAX];
    for (uint64_t sent = 0; sent < commands_total; sent += 1000) {
        for (uint32_t k = 0; k < 1000; k++) {
            struct command *c = &batch[k];
            memset(c, 0, sizeof *c);
            c->type = COMMAND_ORDER_PLACE;
            c->sender_account_id = clients[k % 2].account_id;
            c->client_id = 99;
            c->client_seq = sent / 2 + k / 2 + 1;
            c->u.order_place.side = (uint8_t)(k % 2);
            c->u.order_place.time_in_force = TIF_GTC;
            c->u.order_place.price_ticks = 10000;
            c->u.order_place.quantity = 1;
        }
        size_t length = 0;
        uint64_t seq = 0;
        bool duplicate = false;
        char msg_id[48];
        snprintf(msg_id, sizeof msg_id, "bench-replay-%" PRIu64, sent);
        if (batch_encode(0, batch, 1000, buffer, sizeof buffer, &length) != 0 ||
            journal_publish(journal, buffer, length, msg_id, 5000, &seq, &duplicate) != 0)
            break;
    }
    uint64_t last_seq = 0;
    journal_last_seq(journal, &last_seq);
    struct replica *replica = calloc(1, sizeof *replica);
    struct limits limits;
    limits_default(&limits);
    char dir[128];
    snprintf(dir, sizeof dir, "%s/replay", node->dir);
    double rate = -1;
    bool opened = replica != NULL && replica_open(replica, dir, &limits, errmsg,
                                                  sizeof errmsg) == 0;
    /* As a node reads: decoded ahead on the delivery thread. */
    if (opened && replica_decode_ahead(replica, journal) == 0) {
        struct replay_reader reader = {replica, journal};
        uint64_t start_ns = clock_now_ns();
        uint64_t next = 1;
        while (replica->applied_seq < last_seq &&
               journal_read(journal, replica->applied_seq + 1, 4096, 2000, replay_message,
                            &reader, &next) == 0)
            continue;
        double took = (double)(clock_now_ns() - start_ns) / 1e9;
        *applied = replica->commands_applied;
        rate = (double)replica->commands_applied / took;
    }
    journal_close(journal); /* before the replica: it decodes into its batches */
    if (opened)
        replica_close(replica);
    free(replica);
    return rate;
}

/* A replica holding resting orders (fed locally, no NATS) forks a snapshot
 * writer; returns the longest pause in microseconds. */
static double node_snapshot_pause(uint32_t resting, uint64_t *bytes)
{
    char errmsg[256];
    struct limits limits;
    limits_default(&limits);
    if (limits.orders_max < resting + 4096)
        limits.orders_max = resting + 4096;
    struct replica *replica = calloc(1, sizeof *replica);
    char dir[64];
    snprintf(dir, sizeof dir, "/tmp/nodown-bench-snapshot-XXXXXX");
    if (replica == NULL || mkdtemp(dir) == NULL ||
        replica_open(replica, dir, &limits, errmsg, sizeof errmsg) != 0)
        return -1;
    static struct command batch[BATCH_COMMANDS_MAX];
    static uint8_t buffer[BATCH_SIZE_MAX];
    /* Set-up: a super, master, agent and member (4), cash, an instrument,
     * the day; each command from the house with the next client_seq. */
    uint32_t n = 0;
    for (uint8_t kind = ACCOUNT_KIND_SUPER; kind <= ACCOUNT_KIND_MEMBER; kind++, n++) {
        batch[n] = (struct command){.type = COMMAND_ACCOUNT_CREATE};
        batch[n].u.account_create.parent_id = n;
        batch[n].u.account_create.kind = kind;
    }
    batch[n] = (struct command){.type = COMMAND_CASH_DEPOSIT};
    batch[n].u.cash.account_id = 4;
    batch[n++].u.cash.amount_minor = (int64_t)1 << 50;
    batch[n] = (struct command){.type = COMMAND_INSTRUMENT_CREATE};
    memcpy(batch[n].u.instrument_create.symbol, "SNAP", 4);
    batch[n].u.instrument_create.tick_size_minor = 1;
    batch[n].u.instrument_create.lot_size = 1;
    batch[n].u.instrument_create.reference_price_ticks = 10000;
    batch[n++].u.instrument_create.band_bp = 1000;
    batch[n] = (struct command){.type = COMMAND_DAY_START};
    batch[n++].u.day.trading_date = 20261123;
    for (uint32_t k = 0; k < n; k++)
        batch[k].client_seq = k + 1;
    size_t length = 0;
    uint64_t seq = 1;
    int rv = batch_encode(0, batch, n, buffer, sizeof buffer, &length);
    if (rv == 0)
        rv = replica_apply(replica, seq++, 1, buffer, length, NULL, NULL);
    for (uint32_t placed = 0; rv == 0 && placed < resting; placed += BATCH_COMMANDS_MAX) {
        for (uint32_t k = 0; k < BATCH_COMMANDS_MAX; k++) {
            batch[k] = (struct command){.type = COMMAND_ORDER_PLACE, .sender_account_id = 4,
                                        .client_id = 2, .client_seq = placed + k + 1u};
            batch[k].u.order_place.side = SIDE_BUY;
            batch[k].u.order_place.time_in_force = TIF_GTC;
            batch[k].u.order_place.price_ticks = 9000 + (placed + k) % 1000;
            batch[k].u.order_place.quantity = 1;
        }
        rv = batch_encode(0, batch, BATCH_COMMANDS_MAX, buffer, sizeof buffer, &length);
        if (rv == 0)
            rv = replica_apply(replica, seq++, 1, buffer, length, NULL, NULL);
    }
    double pause_us = -1;
    for (uint32_t round = 0; rv == 0 && round < NODE_SNAPSHOT_ROUNDS; round++) {
        if (replica_snapshot_start(replica, errmsg, sizeof errmsg) != 0 ||
            replica_snapshot_poll(replica, true, errmsg, sizeof errmsg) != 1)
            rv = -1;
        replica->applied_seq++; /* the next snapshot gets a file name of its own */
    }
    if (rv == 0)
        pause_us = (double)replica->snapshot_pause_ns_max / 1000.0;
    *bytes = pool_used(&replica->engine.order_pool);
    replica_close(replica);
    free(replica);
    char command[128];
    snprintf(command, sizeof command, "rm -rf '%s'", dir);
    if (system(command) != 0)
        fprintf(stderr, "bench node: could not remove %s\n", dir);
    return pause_us;
}

/* The snapshot pause is measured in a process of its own, as lean as a
 * node: forked from this one, it would also copy the page tables of the
 * load phase's buffers and threads. Runs `nodown bench node --snapshot-only`. */
static double node_snapshot_pause_fresh(uint32_t resting, uint64_t *orders)
{
    char self[512];
    ssize_t size = readlink("/proc/self/exe", self, sizeof self - 1);
    if (size <= 0)
        return -1;
    self[size] = '\0';
    char command[640];
    snprintf(command, sizeof command, "'%s' bench node --snapshot-only --resting %u", self,
             resting);
    FILE *child = popen(command, "r");
    double pause_us = -1;
    if (child == NULL)
        return -1;
    if (fscanf(child, "%lf %" SCNu64, &pause_us, orders) != 2)
        pause_us = -1;
    return pclose(child) == 0 ? pause_us : -1;
}

struct node_options {
    bool snapshot_only;
    uint32_t clients;
    double seconds;
    uint64_t replay_commands;
    uint32_t resting;
    bool json;
    uint32_t in_flight;
    const char *durability;
    bool hostile;
};

static int node_parse(int argc, char **argv, struct node_options *o)
{
    char errmsg[256];
    *o = (struct node_options){false, 16, 3, 10000000, 1000000, false,
                               1 /* serve's embedded default */, "always", false};
    for (int i = 0; i < argc; i++) {
        const char *value = i + 1 < argc ? argv[i + 1] : "";
        if (strcmp(argv[i], "--hostile") == 0) {
            o->hostile = true;
            continue;
        }
        if (strcmp(argv[i], "--json") == 0 || strcmp(argv[i], "--snapshot-only") == 0) {
            *(argv[i][2] == 'j' ? &o->json : &o->snapshot_only) = true;
            continue;
        }
        if (strcmp(argv[i], "--clients") == 0)
            o->clients = (uint32_t)strtoul(value, NULL, 10);
        else if (strcmp(argv[i], "--seconds") == 0)
            o->seconds = strtod(value, NULL);
        else if (strcmp(argv[i], "--replay-commands") == 0)
            o->replay_commands = strtoull(value, NULL, 10);
        else if (strcmp(argv[i], "--durability") == 0)
            o->durability = value;
        else if (strcmp(argv[i], "--batches-in-flight") == 0)
            o->in_flight = (uint32_t)strtoul(value, NULL, 10);
        else if (strcmp(argv[i], "--resting") == 0)
            o->resting = (uint32_t)strtoul(value, NULL, 10);
        else
            return -1;
        i++;
    }
    bool ok = o->clients >= 2 && o->clients <= NODE_CLIENTS_MAX && o->seconds > 0 &&
              o->seconds <= 60 && o->replay_commands >= 1000 &&
              o->replay_commands <= 100000000 && o->resting <= (1u << 24) &&
              o->in_flight >= 1 && o->in_flight <= PUBLISHER_SLOTS_MAX &&
              durability_parse(o->durability, &(struct durability){0}, errmsg, sizeof errmsg) == 0;
    return ok ? 0 : -1;
}

/* --hostile: the same full load again while the attackers of
 * bench_hostile.h work from other source addresses. */
struct node_hostile {
    struct node_load load;
    struct hostile_stats stats;
    int rv;
};

static void node_hostile_run(const struct node_child *node, struct node_client *clients,
                             const struct node_options *o, struct node_hostile *result)
{
    memset(result, 0, sizeof *result);
    const char *port = strrchr(node->nodes, ':');
    struct hostile_options options = {
        .client_port = (uint16_t)(port != NULL ? atoi(port + 1) : 0),
        .admin_port = node->admin_port, .account_id = clients[0].account_id,
        .idle = HOSTILE_IDLE_DEFAULT, .logons_per_s = HOSTILE_LOGONS_PER_S_DEFAULT,
        .drips = HOSTILE_DRIPS_DEFAULT};
    struct hostile hostile;
    result->rv = -1;
    if (options.client_port == 0 || hostile_start(&options, &hostile) != 0)
        return;
    sleep(2); /* the idle connections opened, the drips under way */
    node_load_run(clients, o->clients, node->nodes, o->seconds, 0, &result->load);
    result->rv = hostile_stop(&hostile, &result->stats);
}

static void node_hostile_print(const struct node_hostile *h, const struct node_load *quiet,
                               bool json)
{
    const struct hostile_stats *s = &h->stats;
    double seconds = s->seconds > 0 ? s->seconds : 1;
    double ratio = quiet->orders_per_s > 0 ? h->load.orders_per_s / quiet->orders_per_s : 0;
    printf(json ? ",\"hostile_ok\":%s,\"hostile_orders_per_s\":%.0f,\"hostile_ratio\":%.2f,"
                  "\"hostile_ack_p50_us\":%u,\"hostile_ack_p99_us\":%u,"
                  "\"hostile_errors\":%" PRIu64 ","
                : "; hostile (%s): %.0f orders/s acknowledged, %.2f of quiet, ack p50 %u us"
                  " p99 %u us, %" PRIu64 " errors;",
           h->rv == 0 ? "true" : "false", h->load.orders_per_s, ratio, h->load.p50_us,
           h->load.p99_us, h->load.errors);
    printf(json ? "\"attackers_cpu_pct\":%.1f,\"attackers_idle_held_min\":%u,"
                  "\"attackers_idle_held_max\":%u,\"attackers_logons_per_s\":%.0f,"
                  "\"attackers_logons_answered\":%" PRIu64 ",\"attackers_connects\":%" PRIu64
                  ",\"attackers_closed_by_node\":%" PRIu64 ",\"attackers_drips\":%u"
                : " attackers: %.1f %% of a core, idle connections held %u..%u, %.0f wrong"
                  " logons/s (%" PRIu64 " answered), %" PRIu64 " connections opened, %" PRIu64
                  " closed by the node, %u dripping",
           (double)s->cpu_us / seconds / 1e4, s->idle_held_min, s->idle_held_max,
           (double)s->logons_tried / seconds, s->logons_answered, s->connects,
           s->closed_by_node, HOSTILE_DRIPS_DEFAULT);
}

/* --snapshot-only: the child process node_snapshot_pause_fresh starts. */
static int node_snapshot_only(uint32_t resting)
{
    uint64_t orders = 0;
    double pause_us = node_snapshot_pause(resting, &orders);
    printf("%.0f %" PRIu64 "\n", pause_us, orders);
    return pause_us < 0;
}

static int node_clients_alloc(struct node_client *clients, uint32_t count)
{
    for (uint32_t i = 0; i < count; i++) {
        clients[i].latency_us = malloc(NODE_SAMPLES_MAX * sizeof(uint32_t));
        if (clients[i].latency_us == NULL)
            return -1;
    }
    return 0;
}

static void node_clients_free(struct node_client *clients, uint32_t count)
{
    for (uint32_t i = 0; i < count; i++)
        free(clients[i].latency_us);
}

static void node_usage(FILE *out)
{
    fprintf(out, "usage: nodown bench node [--clients N] [--seconds S] [--replay-commands N]\n"
                 "                         [--resting N] [--batches-in-flight N]\n"
                 "                         [--durability always|interval:D] [--hostile]"
                 " [--json]\n"
                 "  Starts its own node (nodown serve, embedded NATS) and measures orders\n"
                 "  acknowledged per second and acknowledgement latency with N clients\n"
                 "  (default 16) at full and half load, replay speed over N commands\n"
                 "  (default 10 M) and the longest of three snapshot pauses with N\n"
                 "  resting orders (default 1 M), in a fresh process with the node's limits.\n"
                 "  --batches-in-flight and --durability (default always) are given to the\n"
                 "  node (nodown serve --help).\n"
                 "  --hostile: the full load again while, from 127.0.0.2 and up, %u idle\n"
                 "  connections are held, %u wrong logons a second are tried and %u HTTP\n"
                 "  connections drip a byte a second (reconnecting whatever is closed):\n"
                 "  orders/s, ack p50/p99, the ratio to the quiet run, the attackers' CPU.\n",
            HOSTILE_IDLE_DEFAULT, HOSTILE_LOGONS_PER_S_DEFAULT, HOSTILE_DRIPS_DEFAULT);
}

int bench_node_main(int argc, char **argv)
{
    struct node_options o;
    if (argc > 0 && strcmp(argv[0], "--help") == 0) {
        node_usage(stdout);
        return 0;
    }
    if (node_parse(argc, argv, &o) != 0) {
        node_usage(stderr);
        return 2;
    }
    if (o.snapshot_only)
        return node_snapshot_only(o.resting);
    static struct node_client clients[NODE_CLIENTS_MAX];
    if (node_clients_alloc(clients, o.clients) != 0)
        return 1;
    struct node_child node = {0};
    char errmsg[512];
    if (node_start(&node, NODE_SELF, o.in_flight, o.durability, errmsg, sizeof errmsg) != 0 ||
        node_bootstrap(node.nodes, clients, o.clients, errmsg, sizeof errmsg) != 0) {
        fprintf(stderr, "nodown bench node: %s\n", errmsg);
        node_stop(&node);
        return 1;
    }
    struct node_load full, half;
    struct node_cpu cpu_before, cpu_after;
    node_cpu_sample(node.pid, &cpu_before);
    node_load_run(clients, o.clients, node.nodes, o.seconds, 0, &full);
    node_cpu_sample(node.pid, &cpu_after);
    double orders = full.acked > 0 ? (double)full.acked : 1;
    double cpu_us[3] = {(double)(cpu_after.node_us - cpu_before.node_us) / orders,
                        (double)(cpu_after.nats_us - cpu_before.nats_us) / orders,
                        (double)(cpu_after.clients_us - cpu_before.clients_us) / orders};
    node_load_run(clients, o.clients, node.nodes, o.seconds,
                  full.orders_per_s / 2 / o.clients, &half);
    long long in_flight_max = node_metric(&node, "nodown_batches_in_flight_max");
    struct node_hostile hostile;
    if (o.hostile)
        node_hostile_run(&node, clients, &o, &hostile);
    uint64_t replayed = 0;
    double replay_per_s = node_replay(&node, clients, o.replay_commands, &replayed);
    node_stop(&node);
    uint64_t resting = 0;
    double pause_us = node_snapshot_pause_fresh(o.resting, &resting);
    printf(o.json ? "{\"durability\":\"%s\",\"clients\":%u,\"orders_per_s\":%.0f,"
                    "\"ack_p50_us\":%u,\"ack_p99_us\":%u,"
                    "\"ack_p999_us\":%u,\"half_load_orders_per_s\":%.0f,"
                    "\"half_ack_p50_us\":%u,\"half_ack_p99_us\":%u,\"half_ack_p999_us\":%u,"
                    "\"errors\":%" PRIu64 ",\"batches_in_flight\":%u,"
                    "\"batches_in_flight_max\":%lld,"
                  : "durability %s, clients %u: %.0f orders/s acknowledged, ack p50 %u us"
                    " p99 %u us p99.9 %u us;"
                    " half load %.0f/s: p50 %u us p99 %u us p99.9 %u us; %" PRIu64 " errors;"
                    " batches in flight at most %u, seen %lld;",
           o.durability, o.clients, full.orders_per_s, full.p50_us, full.p99_us, full.p999_us,
           half.orders_per_s, half.p50_us, half.p99_us, half.p999_us, full.errors + half.errors,
           o.in_flight, in_flight_max);
    printf(o.json ? "\"cpu_us_per_order_node\":%.2f,\"cpu_us_per_order_nats\":%.2f,"
                    "\"cpu_us_per_order_clients\":%.2f,"
                  : " CPU per order: node %.2f us, NATS %.2f us, clients %.2f us;",
           cpu_us[0], cpu_us[1], cpu_us[2]);
    printf(o.json ? "\"replay_commands\":%" PRIu64 ",\"replay_commands_per_s\":%.0f,"
                    "\"snapshot_resting_orders\":%" PRIu64 ",\"snapshot_pause_us_max\":%.0f"
                  : " replay of %" PRIu64 " commands: %.0f/s; snapshot pause with %" PRIu64
                    " resting orders: %.0f us",
           replayed, replay_per_s, resting, pause_us);
    if (o.hostile)
        node_hostile_print(&hostile, &full, o.json);
    printf(o.json ? "}\n" : "\n");
    node_clients_free(clients, o.clients);
    return 0;
}
