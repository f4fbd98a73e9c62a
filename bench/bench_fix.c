/* `nodown bench fix`: the FIX 4.4 acceptor measured from outside.
 *
 * A real `nodown serve --fix 127.0.0.1:0` child (the embedded default, as
 * `nodown bench node` starts it) is set up through the native protocol
 * (node_bootstrap: a member per session, with cash and holdings), then the
 * project's own FIX load driver logs N sessions on to its FIX port and
 * pipelines NewOrderSingles over all of them from one thread (poll):
 * buys and sells at the same price, one in two IOC, so that they cross.
 * An order counts as acknowledged at the first ExecutionReport naming its
 * ClOrdID; its latency runs from the write of its message to the read of
 * that report. One JSON object with orders_per_s, ack_p50_us, ack_p99_us.
 *
 * When build/test/qf_load (QuickFIX initiators, test/qf/) exists, it is run
 * against the same node for the same time (quickfix_orders_per_s...), and
 * with --ordermatch PATH against QuickFIX's ordermatch example too.
 * Every loop is bounded in count and time.
 */
#include "bench/bench.h"
#include "bench/bench_node.h"
#include "gateway/admin_http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fix/fix_msg.h"
#include "lib/clock.h"

#define FIXB_SESSIONS_MAX 64u
#define FIXB_WINDOW 32u          /* orders in flight per session */
#define FIXB_RING 4096u          /* ClOrdIDs remembered per session, > window */
#define FIXB_BUFFER (256u * 1024u)
#define FIXB_LOGON_MS 10000      /* every session logged on within it */
#define FIXB_LOGON_WAVE 8u       /* logons outstanding at once */
#define FIXB_DRAIN_MS 5000       /* after the run, reports still owed */
#define FIXB_SAMPLES_MAX (1u << 21)

struct fixb_session {
    int fd;
    uint32_t account_id;
    const char *secret;
    char sender[16];
    uint64_t seq_out;
    uint64_t orders;     /* sent; ClOrdID of the next */
    uint64_t acked;
    uint64_t rejected;
    uint32_t inflight;
    bool logged_on;
    bool dead;
    uint64_t sent_ns[FIXB_RING];
    uint8_t pending[FIXB_RING];
    size_t in_size;
    size_t out_size;
    char in[FIXB_BUFFER];
    char out[FIXB_BUFFER];
};

struct fixb_run {
    struct fixb_session *sessions;
    uint32_t count;
    uint16_t port;
    double seconds;
    uint32_t *samples;
    uint64_t sample_count;
    uint64_t errors;
    char last_error[256];
};

struct fixb_child {
    pid_t pid;
    char dir[64];
    char nodes[64];
    uint16_t admin_port;
    uint16_t fix_port;
};

static void fixb_error(struct fixb_run *run, const char *what)
{
    run->errors++;
    snprintf(run->last_error, sizeof run->last_error, "%s", what);
}

static void fixb_header(struct fixb_session *s, struct fix_writer *w, const char *type)
{
    char now[FIX_TIME_SIZE];
    fix_write_begin(w, s->out + s->out_size, sizeof s->out - s->out_size, type);
    fix_write_str(w, 49, s->sender);
    fix_write_str(w, 56, "NODOWN");
    fix_write_u64(w, 34, s->seq_out++);
    fix_time(clock_now_ms(), now);
    fix_write_str(w, 52, now);
}

/* The message w built moved to the end of the output. */
static bool fixb_queue(struct fixb_session *s, struct fix_writer *w)
{
    size_t size = 0;
    const char *m = fix_write_end(w, &size);
    if (m == NULL)
        return false;
    memmove(s->out + s->out_size, m, size);
    s->out_size += size;
    return true;
}

static void fixb_flush(struct fixb_run *run, struct fixb_session *s)
{
    size_t done = 0;
    while (done < s->out_size) {
        ssize_t n = send(s->fd, s->out + done, s->out_size - done, MSG_NOSIGNAL);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n <= 0) {
            s->dead = true;
            fixb_error(run, "a FIX session's socket broke while writing");
            break;
        }
        done += (size_t)n;
    }
    memmove(s->out, s->out + done, s->out_size - done);
    s->out_size -= done;
}

static int fixb_connect(uint16_t port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int on = 1;
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on) != 0 ||
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

static bool fixb_logon(struct fixb_session *s)
{
    struct fix_writer w;
    fixb_header(s, &w, "A");
    fix_write_u64(&w, 98, 0);
    fix_write_u64(&w, 108, 30);
    fix_write_str(&w, 141, "Y");
    fix_write_u64(&w, 553, s->account_id);
    fix_write_str(&w, 554, s->secret);
    return fixb_queue(s, &w);
}

/* One NewOrderSingle: sessions of even index buy, odd ones sell, all at
 * 10000 ticks, every other order IOC. */
static bool fixb_order(struct fixb_session *s, uint32_t index)
{
    struct fix_writer w;
    char now[FIX_TIME_SIZE];
    fixb_header(s, &w, "D");
    fix_write_u64(&w, 11, s->orders);
    fix_write_u64(&w, 55, 0);
    fix_write_str(&w, 54, index % 2 == 0 ? "1" : "2");
    fix_write_u64(&w, 38, 1);
    fix_write_str(&w, 40, "2");
    fix_write_u64(&w, 44, 10000);
    fix_write_str(&w, 59, s->orders % 2 == 0 ? "3" : "0");
    fix_time(clock_now_ms(), now);
    fix_write_str(&w, 60, now);
    if (!fixb_queue(s, &w))
        return false;
    s->sent_ns[s->orders % FIXB_RING] = clock_now_ns();
    s->pending[s->orders % FIXB_RING] = 1;
    s->orders++;
    s->inflight++;
    return true;
}

static void fixb_report(struct fixb_run *run, struct fixb_session *s, const struct fix_msg *m)
{
    uint64_t id = 0;
    bool present = false;
    if (!fix_get_u64(m, 11, &id, &present) || id >= s->orders || s->orders - id > FIXB_RING ||
        !s->pending[id % FIXB_RING])
        return; /* a later report of an order acknowledged already, a fill */
    s->pending[id % FIXB_RING] = 0;
    s->inflight--;
    s->acked++;
    size_t length = 0;
    const char *status = fix_get(m, 39, &length);
    if (status != NULL && length == 1 && status[0] == '8') {
        s->rejected++;
        char text[128];
        fix_get_text(m, 58, text, sizeof text);
        if (s->rejected == 1)
            fprintf(stderr, "bench fix: an order was rejected: %s\n", text);
    }
    if (run->sample_count < FIXB_SAMPLES_MAX)
        run->samples[run->sample_count++] =
            (uint32_t)((clock_now_ns() - s->sent_ns[id % FIXB_RING]) / 1000u);
}

static void fixb_message(struct fixb_run *run, struct fixb_session *s, const struct fix_msg *m)
{
    size_t length = 0;
    const char *type = fix_get(m, 35, &length);
    char text[200];
    if (length == 1 && type[0] == '8') {
        fixb_report(run, s, m);
    } else if (length == 1 && type[0] == 'A') {
        s->logged_on = true;
    } else if (length == 1 && type[0] == '1') { /* TestRequest: a Heartbeat with its id */
        struct fix_writer w;
        fix_get_text(m, 112, text, sizeof text);
        fixb_header(s, &w, "0");
        fix_write_str(&w, 112, text);
        fixb_queue(s, &w);
    } else if (length == 1 && (type[0] == '5' || type[0] == '3')) {
        char what[256];
        fix_get_text(m, 58, text, sizeof text);
        snprintf(what, sizeof what, "%s from the acceptor: %s",
                 type[0] == '5' ? "Logout" : "Reject", text);
        fixb_error(run, what);
        s->dead = type[0] == '5';
    }
}

static void fixb_read(struct fixb_run *run, struct fixb_session *s)
{
    ssize_t n = recv(s->fd, s->in + s->in_size, sizeof s->in - s->in_size, 0);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
        s->dead = true;
        fixb_error(run, "the acceptor closed a FIX session");
        return;
    }
    if (n > 0)
        s->in_size += (size_t)n;
    size_t at = 0;
    while (at < s->in_size) {
        size_t size = 0;
        const char *why = NULL;
        enum fix_frame_result f = fix_frame(s->in + at, s->in_size - at, &size, &why);
        if (f == FIX_FRAME_NEED_MORE)
            break;
        struct fix_msg m;
        enum fix_reject_reason reason;
        uint32_t ref = 0;
        if (f == FIX_FRAME_BAD ||
            fix_parse(s->in + at, size, &m, &reason, &ref, &why) != FIX_PARSE_OK) {
            s->dead = true;
            fixb_error(run, "the acceptor sent a message the driver cannot read");
            return;
        }
        fixb_message(run, s, &m);
        at += size;
    }
    memmove(s->in, s->in + at, s->in_size - at);
    s->in_size -= at;
}

/* Polls every live session once; reads what came and writes what waits. */
static void fixb_poll(struct fixb_run *run, int timeout_ms)
{
    struct pollfd polls[FIXB_SESSIONS_MAX];
    for (uint32_t i = 0; i < run->count; i++) {
        struct fixb_session *s = &run->sessions[i];
        polls[i] = (struct pollfd){.fd = s->dead ? -1 : s->fd,
                                   .events = (short)(POLLIN | (s->out_size > 0 ? POLLOUT : 0))};
    }
    if (poll(polls, run->count, timeout_ms) <= 0)
        return;
    for (uint32_t i = 0; i < run->count; i++) {
        struct fixb_session *s = &run->sessions[i];
        if (!s->dead && (polls[i].revents & (POLLIN | POLLHUP | POLLERR)))
            fixb_read(run, s);
        if (!s->dead && s->out_size > 0)
            fixb_flush(run, s);
    }
}

static uint32_t fixb_live(const struct fixb_run *run, bool logged_on)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < run->count; i++)
        n += !run->sessions[i].dead && (!logged_on || run->sessions[i].logged_on);
    return n;
}

/* Connects and logs every session on, FIXB_LOGON_WAVE at a time: the
 * native logon checker takes 16 at once from one address
 * (LOGON_CHECK_SOURCE_MAX) and refuses more. Returns 0 or -1
 * (run->last_error). */
static int fixb_open(struct fixb_run *run, uint32_t total)
{
    int64_t deadline = clock_now_ms() + FIXB_LOGON_MS;
    for (uint32_t first = 0; first < total; first += FIXB_LOGON_WAVE) {
        uint32_t end = first + FIXB_LOGON_WAVE < total ? first + FIXB_LOGON_WAVE : total;
        for (uint32_t i = first; i < end; i++) {
            struct fixb_session *s = &run->sessions[i];
            s->fd = fixb_connect(run->port);
            s->seq_out = 1;
            snprintf(s->sender, sizeof s->sender, "BENCH%u", i);
            if (s->fd < 0 || !fixb_logon(s)) {
                fixb_error(run, "could not connect to the FIX port");
                return -1;
            }
            fixb_flush(run, s);
        }
        uint32_t opened = end;
        run->count = opened; /* fixb_poll and fixb_live see the opened ones */
        while (fixb_live(run, true) < opened && fixb_live(run, false) == opened &&
               clock_now_ms() < deadline)
            fixb_poll(run, 50);
        if (fixb_live(run, true) < opened) {
            if (run->last_error[0] == '\0')
                fixb_error(run, "FIX sessions not logged on within 10 s");
            return -1;
        }
    }
    return 0;
}

/* The load: windows filled as reports come, for run->seconds, then the
 * reports still owed, for FIXB_DRAIN_MS at most. Returns the seconds. */
static double fixb_load(struct fixb_run *run)
{
    uint64_t start_ns = clock_now_ns();
    uint64_t end_ns = start_ns + (uint64_t)(run->seconds * 1e9);
    uint64_t drain_ns = end_ns + (uint64_t)FIXB_DRAIN_MS * 1000000u;
    for (;;) {
        uint64_t now = clock_now_ns();
        bool owed = false;
        for (uint32_t i = 0; i < run->count; i++) {
            struct fixb_session *s = &run->sessions[i];
            while (!s->dead && now < end_ns && s->inflight < FIXB_WINDOW &&
                   s->out_size + FIX_MSG_SIZE_MAX < sizeof s->out && fixb_order(s, i))
                ;
            owed = owed || (!s->dead && s->inflight > 0);
            if (!s->dead && s->out_size > 0)
                fixb_flush(run, s);
        }
        if ((now >= end_ns && !owed) || now >= drain_ns || fixb_live(run, false) == 0)
            break;
        fixb_poll(run, 10);
    }
    return (double)(clock_now_ns() - start_ns) / 1e9;
}

static int fixb_compare_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* Starts `nodown serve --fix 127.0.0.1:0`, its ports from the ready line
 * and the FIX port from /status. Returns 0 or -1 with errmsg. */
static int fixb_start(struct fixb_child *node, char *errmsg, size_t size)
{
    snprintf(node->dir, sizeof node->dir, "/tmp/nodown-bench-fix-XXXXXX");
    int pipe_fds[2];
    if (mkdtemp(node->dir) == NULL || pipe(pipe_fds) != 0)
        return -1;
    node->pid = fork();
    if (node->pid == 0) {
        dup2(pipe_fds[1], STDOUT_FILENO);
        close(pipe_fds[0]);
        setenv("NODOWN_HOUSE_SECRET", "bench-house-secret", 1);
        execl("/proc/self/exe", "nodown", "serve", "--data", node->dir, "--listen",
              "127.0.0.1:0", "--http", "127.0.0.1:0", "--fix", "127.0.0.1:0", (char *)NULL);
        _exit(127);
    }
    close(pipe_fds[1]);
    FILE *out = fdopen(pipe_fds[0], "r");
    char line[512] = "";
    bool ready = out != NULL && fgets(line, sizeof line, out) != NULL;
    if (out != NULL)
        fclose(out);
    unsigned port = 0, admin = 0;
    const char *at = strstr(line, "clients on 127.0.0.1:");
    const char *http = strstr(line, "admin on http://127.0.0.1:");
    if (!ready || at == NULL || sscanf(at, "clients on 127.0.0.1:%u", &port) != 1 ||
        http == NULL || sscanf(http, "admin on http://127.0.0.1:%u", &admin) != 1) {
        snprintf(errmsg, size, "the node did not start: %s", line);
        return -1;
    }
    snprintf(node->nodes, sizeof node->nodes, "127.0.0.1:%u", port);
    node->admin_port = (uint16_t)admin;
    static char body[64 * 1024];
    char token[300], path[128];
    snprintf(path, sizeof path, "%s/admin.token", node->dir);
    admin_token_read(path, token, sizeof token);
    const char *fix = NULL;
    unsigned fix_port = 0;
    if (admin_http_get(node->admin_port, "/status", token, body, sizeof body) != 0 ||
        (fix = strstr(body, "\"fix_port\":")) == NULL ||
        sscanf(fix, "\"fix_port\":%u", &fix_port) != 1 || fix_port == 0) {
        snprintf(errmsg, size, "the node's /status names no FIX port");
        return -1;
    }
    node->fix_port = (uint16_t)fix_port;
    return 0;
}

static void fixb_stop(struct fixb_child *node)
{
    if (node->pid > 0) {
        kill(node->pid, SIGTERM);
        waitpid(node->pid, NULL, 0);
    }
    char command[128];
    snprintf(command, sizeof command, "rm -rf '%s'", node->dir);
    if (system(command) != 0)
        fprintf(stderr, "bench fix: could not remove %s\n", node->dir);
}

/* One figure of qf_load's JSON line, or -1. */
static double fixb_json_number(const char *line, const char *name)
{
    char key[64];
    snprintf(key, sizeof key, "\"%s\":", name);
    const char *at = strstr(line, key);
    return at == NULL ? -1 : strtod(at + strlen(key), NULL);
}

/* Runs build/test/qf_load (test/fix/qf_load.cpp) against 127.0.0.1:port
 * with its other arguments in more, and returns its JSON line in out, ""
 * when it is absent or failed. */
static void fixb_qf_load(uint16_t port, uint32_t sessions, double seconds, const char *more,
                         char *out, size_t size)
{
    out[0] = '\0';
    if (access("build/test/qf_load", X_OK) != 0)
        return;
    char command[1024];
    snprintf(command, sizeof command,
             "build/test/qf_load --host 127.0.0.1 --port %u --sessions %u --seconds %.1f "
             "--json %s",
             port, sessions, seconds, more);
    FILE *p = popen(command, "r");
    if (p == NULL)
        return;
    char line[1024];
    while (fgets(line, sizeof line, p) != NULL)
        if (strstr(line, "orders_per_s") != NULL)
            snprintf(out, size, "%s", line);
    if (pclose(p) != 0)
        out[0] = '\0';
}

struct fixb_options {
    double seconds;
    uint32_t sessions;
    bool json;
    const char *ordermatch; /* QuickFIX's example, or NULL */
};

static int fixb_parse(int argc, char **argv, struct fixb_options *o)
{
    *o = (struct fixb_options){.seconds = 5, .sessions = 32};
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            o->json = true;
        else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
            o->seconds = strtod(argv[++i], NULL);
        else if (strcmp(argv[i], "--ordermatch") == 0 && i + 1 < argc)
            o->ordermatch = argv[++i];
        else if (strcmp(argv[i], "--sessions") == 0 && i + 1 < argc)
            o->sessions = (uint32_t)strtoul(argv[++i], NULL, 10);
        else
            return -1;
    }
    if (o->seconds <= 0 || o->seconds > 600 || o->sessions < 2 ||
        o->sessions > FIXB_SESSIONS_MAX)
        return -1;
    return 0;
}

static void fixb_print(const struct fixb_options *o, const struct fixb_run *run, double seconds,
                       const char *qf, const char *om)
{
    uint64_t acked = 0, rejected = 0;
    for (uint32_t i = 0; i < run->count; i++) {
        acked += run->sessions[i].acked;
        rejected += run->sessions[i].rejected;
    }
    uint32_t p50 = 0, p99 = 0;
    if (run->sample_count > 0) {
        qsort(run->samples, run->sample_count, sizeof run->samples[0], fixb_compare_u32);
        p50 = run->samples[run->sample_count * 50 / 100];
        p99 = run->samples[run->sample_count * 99 / 100];
    }
    printf("{\"bench\":\"fix\",\"sessions\":%u,\"window\":%u,\"seconds\":%.2f,"
           "\"acked\":%" PRIu64 ",\"rejected\":%" PRIu64 ",\"orders_per_s\":%.0f,"
           "\"ack_p50_us\":%u,\"ack_p99_us\":%u,\"errors\":%" PRIu64,
           o->sessions, FIXB_WINDOW, seconds, acked, rejected, (double)acked / seconds, p50, p99,
           run->errors);
    if (qf[0] != '\0')
        printf(",\"quickfix_orders_per_s\":%.0f,\"quickfix_ack_p50_us\":%.0f,"
               "\"quickfix_ack_p99_us\":%.0f",
               fixb_json_number(qf, "orders_per_s"), fixb_json_number(qf, "ack_p50_us"),
               fixb_json_number(qf, "ack_p99_us"));
    if (om[0] != '\0') {
        double qf_rate = fixb_json_number(qf, "orders_per_s");
        double om_rate = fixb_json_number(om, "orders_per_s");
        printf(",\"ordermatch_orders_per_s\":%.0f,\"ordermatch_ack_p50_us\":%.0f,"
               "\"ordermatch_ack_p99_us\":%.0f,\"quickfix_to_ordermatch\":%.2f",
               om_rate, fixb_json_number(om, "ack_p50_us"), fixb_json_number(om, "ack_p99_us"),
               qf[0] != '\0' && om_rate > 0 ? qf_rate / om_rate : 0);
    }
    printf("}\n");
    if (run->errors > 0)
        fprintf(stderr, "bench fix: %" PRIu64 " errors, the last: %s\n", run->errors,
                run->last_error);
}

/* The QuickFIX initiators' run, with the last member's secret in a file. */
static void fixb_quickfix(const struct fixb_child *node, const struct node_client *member,
                          const struct fixb_options *o, char *qf, size_t size)
{
    char secret_file[128];
    snprintf(secret_file, sizeof secret_file, "%s/qf.secret", node->dir);
    FILE *f = fopen(secret_file, "w");
    qf[0] = '\0';
    if (f == NULL)
        return;
    fprintf(f, "%s\n", member->secret);
    fclose(f);
    char more[300];
    snprintf(more, sizeof more, "--account %u --secret-file '%s' --instrument 0 --price 10000",
             member->account_id, secret_file);
    fixb_qf_load(node->fix_port, o->sessions, o->seconds, more, qf, size);
}

/* A free TCP port of 127.0.0.1 (0 when none was found). */
static uint16_t fixb_free_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t size = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    uint16_t port = 0;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &size) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

/* QuickFIX's ordermatch example at path, driven by qf_load the same way
 * (FIX 4.2, which is all the example takes: bench/fix/ordermatch.sh), its
 * stdin a pipe held open (it spins at end of file). */
static void fixb_ordermatch(const char *path, const char *dir, const struct fixb_options *o,
                            char *out, size_t size)
{
    char config[160], command[600];
    uint16_t port = fixb_free_port();
    snprintf(config, sizeof config, "%s/ordermatch.cfg", dir);
    snprintf(command, sizeof command,
             "bash bench/fix/ordermatch.sh --config %u %u '%s/ordermatch-store' > '%s'", port,
             o->sessions, dir, config);
    out[0] = '\0';
    int in[2];
    if (port == 0 || system(command) != 0 || pipe(in) != 0) {
        fprintf(stderr, "bench fix: could not set ordermatch up (bench/fix/ordermatch.sh)\n");
        return;
    }
    pid_t pid = fork();
    if (pid == 0) {
        dup2(in[0], STDIN_FILENO);
        close(in[1]);
        int null = open("/dev/null", O_WRONLY);
        dup2(null, STDOUT_FILENO);
        execl(path, path, config, (char *)NULL);
        _exit(127);
    }
    close(in[0]);
    clock_sleep_ms(1000); /* its acceptor up */
    fixb_qf_load(port, o->sessions, o->seconds,
                 "--account 0 --secret-file /dev/null --no-auth --target-comp ORDERMATCH "
                 "--begin-string FIX.4.2",
                 out, size);
    if (pid > 0) {
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
    }
    close(in[1]);
}

int bench_fix_main(int argc, char **argv)
{
    struct fixb_options o;
    bool help = argc > 0 && strcmp(argv[0], "--help") == 0;
    if (help || fixb_parse(argc, argv, &o) != 0) {
        fprintf(help ? stdout : stderr,
                "usage: nodown bench fix [--json] [--seconds S (5)] "
                "[--sessions N (32, 2..%u)]\n"
                "       [--ordermatch PATH (QuickFIX's example, for comparison)]\n"
                "  Starts its own node with --fix and measures orders acknowledged by\n"
                "  ExecutionReport per second and their latency with the project's own\n"
                "  FIX driver, then with QuickFIX initiators (build/test/qf_load) when\n"
                "  built, and against ordermatch with --ordermatch (docs/benchmarks.md).\n",
                FIXB_SESSIONS_MAX);
        return help ? 0 : 2;
    }
    static struct node_client members[FIXB_SESSIONS_MAX + 1];
    struct fixb_run run = {.count = 0, .seconds = o.seconds};
    run.sessions = calloc(o.sessions, sizeof *run.sessions);
    run.samples = malloc(FIXB_SAMPLES_MAX * sizeof *run.samples);
    struct fixb_child node = {0};
    char errmsg[512] = "";
    int rv = 1;
    if (run.sessions != NULL && run.samples != NULL &&
        fixb_start(&node, errmsg, sizeof errmsg) == 0 &&
        node_bootstrap(node.nodes, members, o.sessions + 1, errmsg, sizeof errmsg) == 0) {
        run.port = node.fix_port;
        for (uint32_t i = 0; i < o.sessions; i++) {
            run.sessions[i].account_id = members[i].account_id;
            run.sessions[i].secret = members[i].secret;
        }
        if (fixb_open(&run, o.sessions) == 0) {
            double seconds = fixb_load(&run);
            char qf[1024], om[1024] = "";
            fixb_quickfix(&node, &members[o.sessions], &o, qf, sizeof qf);
            if (o.ordermatch != NULL)
                fixb_ordermatch(o.ordermatch, node.dir, &o, om, sizeof om);
            fixb_print(&o, &run, seconds, qf, om);
            rv = 0;
        } else {
            snprintf(errmsg, sizeof errmsg, "%s", run.last_error);
        }
    }
    if (rv != 0)
        fprintf(stderr, "bench fix: %s\n", errmsg[0] != '\0' ? errmsg : "out of memory");
    for (uint32_t i = 0; run.sessions != NULL && i < o.sessions; i++)
        if (run.sessions[i].fd > 0)
            close(run.sessions[i].fd);
    if (node.pid > 0)
        fixb_stop(&node);
    free(run.sessions);
    free(run.samples);
    return rv;
}
