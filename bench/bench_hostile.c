/* The attackers of `nodown bench node --hostile` (see bench_hostile.h).
 *
 * One process, one poll loop, every socket non-blocking. Three kinds of
 * slot: IDLE connects to the client port and never sends a byte; LOGON
 * sends HELLO and a LOGON with a wrong secret and waits for the answer
 * (2 s at most); DRIP connects to the admin port and sends one byte of an
 * HTTP request a second, never ending it. A slot the node closes is
 * opened again after HOSTILE_RECONNECT_MS, so the pressure holds. */
#include "bench/bench_hostile.h"
#include "bench/bench_node.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "codec/frame.h"
#include "lib/clock.h"

#define HOSTILE_RECONNECT_MS 100
#define HOSTILE_LOGON_WAIT_MS 2000
#define HOSTILE_DRIP_EVERY_MS 1000
#define HOSTILE_IDLE_SOURCES 100u  /* 127.0.0.2 .. 127.0.0.101 */
#define HOSTILE_LOGON_SOURCES 20u  /* 127.0.1.1 .. 127.0.1.20 */
#define HOSTILE_LOGON_SLOTS 1024u  /* wrong logons waiting for an answer at once */
#define HOSTILE_DRIPS_MAX 256u

enum hostile_kind { HOSTILE_IDLE, HOSTILE_LOGON, HOSTILE_DRIP };

struct hostile_slot {
    int fd;              /* -1: closed */
    uint8_t kind;        /* enum hostile_kind */
    uint32_t index;      /* within its kind: picks the source address */
    int64_t due_ms;      /* IDLE/DRIP closed: reopen; DRIP: next byte; LOGON: give up */
    uint32_t sent;       /* DRIP: bytes of the request sent */
};

struct hostile_loop {
    const struct hostile_options *options;
    struct hostile_slot slots[HOSTILE_SOCKETS_MAX];
    struct pollfd fds[HOSTILE_SOCKETS_MAX];
    uint32_t poll_slot[HOSTILE_SOCKETS_MAX]; /* fds[i] belongs to slots[poll_slot[i]] */
    uint32_t slot_count;
    uint32_t logon_first; /* slots[logon_first ..] are LOGON slots */
    uint64_t logon_seq;
    struct hostile_stats stats;
};

static volatile sig_atomic_t hostile_stopping;

static void hostile_on_term(int signal_number)
{
    (void)signal_number;
    hostile_stopping = 1;
}

/* A non-blocking connection from source to 127.0.0.1:port, or -1. */
static int hostile_connect(uint32_t source, uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in from = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(source)};
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (bind(fd, (struct sockaddr *)&from, sizeof from) != 0 ||
        (connect(fd, (struct sockaddr *)&to, sizeof to) != 0 && errno != EINPROGRESS)) {
        close(fd);
        return -1;
    }
    return fd;
}

static uint32_t hostile_source(const struct hostile_slot *slot)
{
    switch (slot->kind) {
    case HOSTILE_IDLE:
        return 0x7f000002u + slot->index % HOSTILE_IDLE_SOURCES;
    case HOSTILE_LOGON:
        return 0x7f000101u + slot->index % HOSTILE_LOGON_SOURCES;
    default:
        return 0x7f000201u + slot->index % HOSTILE_DRIPS_MAX;
    }
}

/* HELLO and a LOGON with a wrong secret, to a real account or a made-up one. */
static int hostile_logon_send(struct hostile_loop *loop, int fd)
{
    uint8_t buffer[2 * FRAME_BUFFER_SIZE];
    size_t hello_size = 0, logon_size = 0;
    struct frame frame = {.type = FRAME_HELLO};
    frame.u.hello = (struct frame_hello){.version_min = 1, .version_max = 2,
                                         .client_id = 900000 + loop->logon_seq};
    if (frame_encode(&frame, buffer, FRAME_BUFFER_SIZE, &hello_size) != 0)
        return -1;
    frame = (struct frame){.type = FRAME_LOGON};
    bool real = loop->logon_seq % 2 == 0;
    frame.u.logon.account_id = real ? loop->options->account_id
                                    : 0x7000000u + (uint32_t)loop->logon_seq;
    int size = snprintf((char *)frame.u.logon.secret, sizeof frame.u.logon.secret,
                        "wrong guess %llu", (unsigned long long)loop->logon_seq);
    frame.u.logon.secret_size = (uint16_t)size;
    if (frame_encode(&frame, buffer + hello_size, FRAME_BUFFER_SIZE, &logon_size) != 0)
        return -1;
    loop->logon_seq++;
    /* A fresh loopback connection takes a few hundred bytes at once. */
    ssize_t sent = send(fd, buffer, hello_size + logon_size, MSG_NOSIGNAL);
    return sent == (ssize_t)(hello_size + logon_size) ? 0 : -1;
}

static void hostile_close(struct hostile_loop *loop, struct hostile_slot *slot, int64_t now_ms,
                          bool by_node)
{
    if (slot->fd < 0)
        return;
    close(slot->fd);
    slot->fd = -1;
    slot->due_ms = now_ms + HOSTILE_RECONNECT_MS;
    loop->stats.closed_by_node += by_node;
}

static void hostile_open(struct hostile_loop *loop, struct hostile_slot *slot, int64_t now_ms)
{
    uint16_t port = slot->kind == HOSTILE_DRIP ? loop->options->admin_port
                                               : loop->options->client_port;
    slot->fd = hostile_connect(hostile_source(slot), port);
    if (slot->fd < 0) {
        slot->due_ms = now_ms + HOSTILE_RECONNECT_MS;
        return;
    }
    loop->stats.connects++;
    slot->sent = 0;
    slot->due_ms = slot->kind == HOSTILE_LOGON ? now_ms + HOSTILE_LOGON_WAIT_MS : now_ms;
}

/* One byte of a request that never ends. */
static void hostile_drip(struct hostile_loop *loop, struct hostile_slot *slot, int64_t now_ms)
{
    static const char request[] = "GET /status HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Drip: ";
    char byte = slot->sent < sizeof request - 1 ? request[slot->sent] : 'a';
    if (send(slot->fd, &byte, 1, MSG_NOSIGNAL) != 1 && errno != EAGAIN) {
        hostile_close(loop, slot, now_ms, true);
        return;
    }
    slot->sent++;
    slot->due_ms = now_ms + HOSTILE_DRIP_EVERY_MS;
}

/* Starts the wrong logons due by now, in free LOGON slots. */
static void hostile_logons_start(struct hostile_loop *loop, int64_t start_ms, int64_t now_ms)
{
    uint64_t due = (uint64_t)(now_ms - start_ms) * loop->options->logons_per_s / 1000;
    for (uint32_t i = loop->logon_first; i < loop->slot_count && loop->stats.logons_tried < due;
         i++) {
        struct hostile_slot *slot = &loop->slots[i];
        if (slot->fd >= 0)
            continue;
        slot->index = (uint32_t)loop->stats.logons_tried;
        loop->stats.logons_tried++;
        hostile_open(loop, slot, now_ms);
        if (slot->fd >= 0 && hostile_logon_send(loop, slot->fd) != 0)
            hostile_close(loop, slot, now_ms, true);
    }
}

/* Timers: reopen closed IDLE and DRIP slots, drip, give up on logons. */
static void hostile_timers(struct hostile_loop *loop, int64_t now_ms)
{
    uint32_t idle_open = 0;
    for (uint32_t i = 0; i < loop->slot_count; i++) {
        struct hostile_slot *slot = &loop->slots[i];
        if (slot->kind == HOSTILE_LOGON) {
            if (slot->fd >= 0 && now_ms >= slot->due_ms)
                hostile_close(loop, slot, now_ms, false);
            continue;
        }
        if (slot->fd < 0 && now_ms >= slot->due_ms)
            hostile_open(loop, slot, now_ms);
        else if (slot->fd >= 0 && slot->kind == HOSTILE_DRIP && now_ms >= slot->due_ms)
            hostile_drip(loop, slot, now_ms);
        idle_open += slot->kind == HOSTILE_IDLE && slot->fd >= 0;
    }
    if (idle_open < loop->stats.idle_held_min)
        loop->stats.idle_held_min = idle_open;
    if (idle_open > loop->stats.idle_held_max)
        loop->stats.idle_held_max = idle_open;
}

/* Whatever the node sends ends the slot: an answer to a logon, an ERROR,
 * or the close itself. */
static void hostile_poll(struct hostile_loop *loop, int64_t now_ms)
{
    nfds_t count = 0;
    for (uint32_t i = 0; i < loop->slot_count; i++) {
        if (loop->slots[i].fd < 0)
            continue;
        loop->fds[count] = (struct pollfd){.fd = loop->slots[i].fd, .events = POLLIN};
        loop->poll_slot[count++] = i;
    }
    if (poll(loop->fds, count, 10) <= 0)
        return;
    for (nfds_t i = 0; i < count; i++) {
        if (loop->fds[i].revents == 0)
            continue;
        struct hostile_slot *slot = &loop->slots[loop->poll_slot[i]];
        loop->stats.logons_answered += slot->kind == HOSTILE_LOGON;
        hostile_close(loop, slot, now_ms, slot->kind != HOSTILE_LOGON);
    }
}

static void hostile_run(const struct hostile_options *options, int stats_fd)
{
    static struct hostile_loop loop;
    loop.options = options;
    uint32_t drips = options->drips < HOSTILE_DRIPS_MAX ? options->drips : HOSTILE_DRIPS_MAX;
    uint32_t idle = options->idle;
    if (idle + drips + HOSTILE_LOGON_SLOTS > HOSTILE_SOCKETS_MAX)
        idle = HOSTILE_SOCKETS_MAX - drips - HOSTILE_LOGON_SLOTS;
    for (uint32_t i = 0; i < idle + drips + HOSTILE_LOGON_SLOTS; i++) {
        uint8_t kind = i < idle ? HOSTILE_IDLE : i < idle + drips ? HOSTILE_DRIP : HOSTILE_LOGON;
        uint32_t index = kind == HOSTILE_IDLE ? i : kind == HOSTILE_DRIP ? i - idle : 0;
        loop.slots[i] = (struct hostile_slot){.fd = -1, .kind = kind, .index = index};
    }
    loop.slot_count = idle + drips + HOSTILE_LOGON_SLOTS;
    loop.logon_first = idle + drips;
    loop.stats.idle_held_min = UINT32_MAX;
    int64_t start_ms = clock_now_ms();
    while (!hostile_stopping) {
        int64_t now_ms = clock_now_ms();
        hostile_logons_start(&loop, start_ms, now_ms);
        uint32_t min = loop.stats.idle_held_min;
        hostile_timers(&loop, now_ms);
        if (now_ms - start_ms < 1000)
            loop.stats.idle_held_min = min; /* still opening */
        hostile_poll(&loop, now_ms);
    }
    loop.stats.seconds = (double)(clock_now_ms() - start_ms) / 1000;
    if (loop.stats.idle_held_min == UINT32_MAX)
        loop.stats.idle_held_min = 0;
    if (write(stats_fd, &loop.stats, sizeof loop.stats) != (ssize_t)sizeof loop.stats)
        _exit(1);
    _exit(0);
}

int hostile_start(const struct hostile_options *options, struct hostile *hostile)
{
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (pid == 0) {
        close(fds[0]);
        struct rlimit limit;
        if (getrlimit(RLIMIT_NOFILE, &limit) == 0) { /* HOSTILE_SOCKETS_MAX sockets */
            limit.rlim_cur = limit.rlim_max;
            setrlimit(RLIMIT_NOFILE, &limit);
        }
        signal(SIGTERM, hostile_on_term);
        hostile_run(options, fds[1]);
    }
    close(fds[1]);
    *hostile = (struct hostile){.pid = pid, .stats_fd = fds[0]};
    return 0;
}

int hostile_stop(struct hostile *hostile, struct hostile_stats *stats)
{
    memset(stats, 0, sizeof *stats);
    kill(hostile->pid, SIGTERM);
    ssize_t got = read(hostile->stats_fd, stats, sizeof *stats);
    close(hostile->stats_fd);
    /* Read before the wait: an exited child's /proc entry stays until then. */
    stats->cpu_us = node_cpu_us(hostile->pid);
    int status = 0;
    if (waitpid(hostile->pid, &status, 0) != hostile->pid)
        return -1;
    return got == (ssize_t)sizeof *stats && WIFEXITED(status) && WEXITSTATUS(status) == 0
               ? 0 : -1;
}
