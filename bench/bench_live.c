/* `nodown bench live`: the live feed (docs/live.md) to many subscribers.
 *
 * Starts its own node with --feed, connects N WebSocket subscribers (one
 * libwebsockets client context on one thread) to its instrument, then
 * drives orders at a fixed rate with the bench's member sessions
 * (bench_node.h) and counts what the subscribers receive: feed updates
 * (book and trade messages) per second in all, and the latency from the
 * stream message's stored time (when its acknowledgement goes out) to a
 * subscriber's receipt of the book update it caused, p50 and p99, on the
 * machine's one clock. One JSON object on stdout with --json. */
#include <inttypes.h>
#include <libwebsockets.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench/bench.h"
#include "bench/bench_node.h"

#define LIVE_BENCH_SUBSCRIBERS_DEFAULT 1000u
#define LIVE_BENCH_SUBSCRIBERS_MAX 4000u
#define LIVE_BENCH_CLIENTS 4u
#define LIVE_BENCH_SAMPLES (1u << 22)

struct live_bench {
    uint32_t subscribers;
    double seconds;
    double rate_per_s; /* orders a second in all */
    uint16_t port;
    struct lws_context *_Atomic context; /* the subscribers', while they run */
    atomic_uint connected;
    atomic_bool stopping;
    atomic_bool counting;
    uint64_t books, trades;
    uint32_t *latency_us;
    uint64_t latency_count;
};

static uint64_t bench_wall_ns(void)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

static void live_bench_sleep_ms(long ms)
{
    struct timespec pause = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&pause, NULL);
}

static void live_bench_receive(struct live_bench *b, const char *text, size_t length)
{
    if (!atomic_load(&b->counting) || length < 20)
        return;
    if (strstr(text, "\"type\":\"trade\"") != NULL) {
        b->trades++;
        return;
    }
    const char *at = strstr(text, "\"time_ns\":");
    if (strstr(text, "\"type\":\"book\"") == NULL || at == NULL)
        return;
    b->books++;
    uint64_t stored = strtoull(at + 10, NULL, 10), now = bench_wall_ns();
    if (stored > 0 && now > stored && b->latency_count < LIVE_BENCH_SAMPLES)
        b->latency_us[b->latency_count++] = (uint32_t)((now - stored) / 1000u);
}

static int live_bench_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
                               void *in, size_t length)
{
    struct lws_context *context = lws_get_context(wsi);
    struct live_bench *b = context != NULL ? lws_context_user(context) : NULL;
    (void)user;
    static const char subscribe[] = "{\"op\":\"subscribe\",\"instruments\":[0],\"depth\":10}";
    unsigned char out[LWS_PRE + sizeof subscribe];
    char text[4096];
    switch (reason) {
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        atomic_fetch_add(&b->connected, 1);
        lws_callback_on_writable(wsi);
        return 0;
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        memcpy(out + LWS_PRE, subscribe, sizeof subscribe - 1);
        return lws_write(wsi, out + LWS_PRE, sizeof subscribe - 1, LWS_WRITE_TEXT) < 0 ? -1 : 0;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        length = length < sizeof text - 1 ? length : sizeof text - 1;
        memcpy(text, in, length);
        text[length] = '\0';
        live_bench_receive(b, text, length);
        return 0;
    default:
        return 0;
    }
}

static const struct lws_protocols live_bench_protocols[] = {
    {"nodown-live", live_bench_callback, 0, 8192, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static void *live_bench_thread(void *argument)
{
    struct live_bench *b = argument;
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = live_bench_protocols;
    info.user = b;
    info.fd_limit_per_thread = b->subscribers + 64u;
    lws_set_log_level(LLL_ERR, NULL);
    struct lws_context *context = lws_create_context(&info);
    if (context == NULL)
        return NULL;
    atomic_store(&b->context, context);
    for (uint32_t i = 0; i < b->subscribers; i++) {
        struct lws_client_connect_info c;
        memset(&c, 0, sizeof c);
        c.context = context;
        c.address = "127.0.0.1";
        c.port = b->port;
        c.path = "/";
        c.host = "127.0.0.1";
        c.origin = "127.0.0.1";
        c.protocol = live_bench_protocols[0].name;
        lws_client_connect_via_info(&c);
        lws_service(context, 0);
    }
    while (!atomic_load(&b->stopping))
        lws_service(context, 0);
    lws_context_destroy(context);
    return NULL;
}

/* The node: `nodown serve --feed`, its feed and client ports from its lines. */
static pid_t live_bench_node(char *dir, char *nodes, size_t nodes_size, uint16_t *feed_port)
{
    int fds[2];
    if (mkdtemp(dir) == NULL || pipe(fds) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]);
        setenv("NODOWN_HOUSE_SECRET", "bench-house-secret", 1);
        execl("/proc/self/exe", "nodown", "serve", "--data", dir, "--listen", "127.0.0.1:0",
              "--http", "127.0.0.1:0", "--feed", "127.0.0.1:0", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    FILE *out = fdopen(fds[0], "r");
    char line[512];
    unsigned port = 0, feed = 0;
    while (out != NULL && fgets(line, sizeof line, out) != NULL) {
        const char *at = strstr(line, "live feed on ws://127.0.0.1:");
        if (at != NULL)
            sscanf(at, "live feed on ws://127.0.0.1:%u", &feed);
        at = strstr(line, "clients on 127.0.0.1:");
        if (at != NULL && sscanf(at, "clients on 127.0.0.1:%u", &port) == 1)
            break;
    }
    if (out != NULL)
        fclose(out);
    snprintf(nodes, nodes_size, "127.0.0.1:%u", port);
    *feed_port = (uint16_t)feed;
    return port != 0 && feed != 0 ? pid : -pid;
}

static int live_bench_compare(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static int live_bench_parse(int argc, char **argv, struct live_bench *b, bool *json)
{
    b->subscribers = LIVE_BENCH_SUBSCRIBERS_DEFAULT;
    b->seconds = 5;
    b->rate_per_s = 4000;
    for (int i = 0; i < argc; i++) {
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "--json") == 0)
            *json = true;
        else if (strcmp(argv[i], "--subscribers") == 0 && value != NULL && ++i)
            b->subscribers = (uint32_t)strtoul(value, NULL, 10);
        else if (strcmp(argv[i], "--seconds") == 0 && value != NULL && ++i)
            b->seconds = strtod(value, NULL);
        else if (strcmp(argv[i], "--rate") == 0 && value != NULL && ++i)
            b->rate_per_s = strtod(value, NULL);
        else
            return -1;
    }
    bool ok = b->subscribers >= 1 && b->subscribers <= LIVE_BENCH_SUBSCRIBERS_MAX &&
              b->seconds > 0 && b->seconds <= 600 && b->rate_per_s > 0;
    return ok ? 0 : -1;
}

static void live_bench_print(const struct live_bench *b, const struct node_load *load,
                             double seconds, bool json)
{
    qsort(b->latency_us, b->latency_count, sizeof b->latency_us[0], live_bench_compare);
    uint32_t p50 = b->latency_count ? b->latency_us[b->latency_count / 2] : 0;
    uint32_t p99 = b->latency_count ? b->latency_us[b->latency_count * 99 / 100] : 0;
    double updates = (double)(b->books + b->trades) / seconds;
    if (json)
        printf("{\"bench\":\"live\",\"subscribers\":%u,\"connected\":%u,\"seconds\":%.1f,"
               "\"orders_per_s\":%.0f,\"updates_per_s\":%.0f,\"book_updates\":%" PRIu64
               ",\"trade_updates\":%" PRIu64 ",\"feed_latency_p50_us\":%u,"
               "\"feed_latency_p99_us\":%u,\"ack_p50_us\":%u,\"ack_p99_us\":%u}\n",
               b->subscribers, atomic_load(&b->connected), seconds, load->orders_per_s,
               updates, b->books, b->trades, p50, p99, load->p50_us, load->p99_us);
    else
        printf("live feed: %u subscribers, %.0f orders/s: %.0f updates/s delivered, "
               "acknowledgement to update p50 %u us, p99 %u us\n",
               atomic_load(&b->connected), load->orders_per_s, updates, p50, p99);
}

int bench_live_main(int argc, char **argv)
{
    static struct live_bench b;
    bool json = false;
    if (argc > 0 && strcmp(argv[0], "--help") == 0) {
        printf("usage: nodown bench live [--subscribers N] [--seconds S] [--rate R] [--json]\n"
               "  Starts its own node with --feed, N WebSocket subscribers to its\n"
               "  instrument (default 1000), and R orders a second (default 4000) for S\n"
               "  seconds (default 5): feed updates delivered per second and the\n"
               "  latency from a message's acknowledgement to its book update.\n");
        return 0;
    }
    if (live_bench_parse(argc, argv, &b, &json) != 0) {
        fprintf(stderr, "nodown bench live: bad options (--help)\n");
        return 2;
    }
    struct rlimit limit;
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
        limit.rlim_cur = limit.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &limit);
    }
    b.latency_us = malloc(LIVE_BENCH_SAMPLES * sizeof b.latency_us[0]);
    static struct node_client clients[LIVE_BENCH_CLIENTS];
    char dir[64] = "/tmp/nodown-bench-live-XXXXXX", nodes[64], errmsg[512];
    pid_t pid = live_bench_node(dir, nodes, sizeof nodes, &b.port);
    int rv = b.latency_us != NULL && pid > 0 ? 0 : 1;
    for (uint32_t i = 0; rv == 0 && i < LIVE_BENCH_CLIENTS; i++)
        rv = (clients[i].latency_us = malloc(NODE_SAMPLES_MAX * sizeof(uint32_t))) ? 0 : 1;
    if (rv == 0 && node_bootstrap(nodes, clients, LIVE_BENCH_CLIENTS, errmsg, sizeof errmsg))
        rv = 1, fprintf(stderr, "nodown bench live: %s\n", errmsg);
    pthread_t thread;
    bool threaded = rv == 0 && pthread_create(&thread, NULL, live_bench_thread, &b) == 0;
    for (int i = 0; threaded && i < 300 && atomic_load(&b.connected) < b.subscribers; i++)
        live_bench_sleep_ms(100);
    if (threaded) {
        sleep(1); /* the snapshots out of the way */
        atomic_store(&b.counting, true);
        struct node_load load;
        uint64_t start = bench_wall_ns();
        node_load_run(clients, LIVE_BENCH_CLIENTS, nodes, b.seconds,
                      b.rate_per_s / LIVE_BENCH_CLIENTS, &load);
        live_bench_sleep_ms(300); /* the last updates in flight */
        atomic_store(&b.counting, false);
        double seconds = (double)(bench_wall_ns() - start) / 1e9;
        atomic_store(&b.stopping, true);
        struct lws_context *context = atomic_load(&b.context);
        if (context != NULL)
            lws_cancel_service(context);
        pthread_join(thread, NULL);
        live_bench_print(&b, &load, seconds, json);
    }
    if (pid != 0) {
        kill(pid < 0 ? -pid : pid, SIGTERM);
        waitpid(pid < 0 ? -pid : pid, NULL, 0);
    }
    char command[128];
    snprintf(command, sizeof command, "rm -rf '%s'", dir);
    if (system(command) != 0)
        fprintf(stderr, "nodown bench live: could not remove %s\n", dir);
    return threaded ? 0 : 1;
}
