/* Logons from a chosen loopback source address, as an attacker or a user
 * sends them: raw native-protocol frames (HELLO then LOGON, sent at once
 * without waiting for WELCOME) over sockets bound to a source such as
 * "127.0.0.2". For the tests of the logon guard (test_logon_guard.c) and
 * for a hostile benchmark's wrong-logon flood.
 *
 *   logon_open(source, port, account, secret, client_id)  one logon sent
 *   logon_answer(fd, timeout_ms, &frame)    its answer (WELCOME skipped)
 *   logon_try(...)                          both, timed, closed
 *   logon_flood_open / logon_flood_close    many at once, answers counted
 *
 * Header-only: the bench (bench/) and the tests (test/) each include it.
 */
#ifndef NODOWN_BENCH_LOGON_FLOOD_H
#define NODOWN_BENCH_LOGON_FLOOD_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "codec/frame.h"
#include "core/result.h"
#include "lib/clock.h"

/* A socket from source to 127.0.0.1:port with HELLO and LOGON sent; -1 if
 * it cannot connect or send. Blocking, closed on exec. */
static inline int logon_open(const char *source, uint16_t port, uint32_t account_id,
                             const char *secret, uint64_t client_id)
{
    struct sockaddr_in from = {.sin_family = AF_INET};
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(port)};
    if (inet_pton(AF_INET, source, &from.sin_addr) != 1 ||
        inet_pton(AF_INET, "127.0.0.1", &to.sin_addr) != 1)
        return -1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (bind(fd, (struct sockaddr *)&from, sizeof from) != 0 ||
        connect(fd, (struct sockaddr *)&to, sizeof to) != 0) {
        close(fd);
        return -1;
    }
    uint8_t buffer[2 * FRAME_BUFFER_SIZE];
    size_t used = 0;
    size_t length = 0;
    struct frame frame = {.type = FRAME_HELLO};
    frame.u.hello.version_min = 1;
    frame.u.hello.version_max = FRAME_PROTOCOL_VERSION;
    frame.u.hello.client_id = client_id;
    int rv = frame_encode(&frame, buffer, sizeof buffer, &length);
    used += length;
    memset(&frame, 0, sizeof frame);
    frame.type = FRAME_LOGON;
    frame.u.logon.account_id = account_id;
    size_t secret_size = strlen(secret);
    frame.u.logon.secret_size = (uint16_t)(secret_size < FRAME_SECRET_SIZE_MAX
                                               ? secret_size
                                               : FRAME_SECRET_SIZE_MAX);
    memcpy(frame.u.logon.secret, secret, frame.u.logon.secret_size);
    if (rv == 0)
        rv = frame_encode(&frame, buffer + used, sizeof buffer - used, &length);
    used += length;
    if (rv != 0 || send(fd, buffer, used, MSG_NOSIGNAL) != (ssize_t)used) {
        close(fd);
        return -1;
    }
    return fd;
}

/* The first frame after WELCOME (LOGON_OK or an ERROR) into *frame, read
 * a byte at a time so that nothing after it is taken; 0, or -1 when the
 * connection ends or timeout_ms passes first. */
static inline int logon_answer(int fd, int timeout_ms, struct frame *frame)
{
    uint8_t buffer[FRAME_BUFFER_SIZE];
    size_t size = 0;
    int64_t deadline_ms = clock_now_ms() + timeout_ms;
    for (uint32_t bytes = 0; bytes < 2 * FRAME_BUFFER_SIZE; bytes++) {
        size_t consumed = 0;
        int rv = frame_decode(buffer, size, frame, &consumed);
        if (rv == 0 && frame->type != FRAME_WELCOME)
            return 0;
        if (rv == 0) {
            size = 0;
            continue;
        }
        if (rv != ERR_DECODE_NEED_MORE || size == sizeof buffer)
            return -1;
        int64_t left_ms = deadline_ms - clock_now_ms();
        struct pollfd readable = {.fd = fd, .events = POLLIN};
        if (left_ms <= 0 || poll(&readable, 1, (int)left_ms) != 1)
            return -1;
        if (recv(fd, buffer + size, 1, 0) != 1)
            return -1;
        size++;
    }
    return -1;
}

/* One logon from source, answered and closed: its answer in *frame and
 * its time in *took_us. Returns 0, or -1 with no answer. */
static inline int logon_try(const char *source, uint16_t port, uint32_t account_id,
                            const char *secret, uint64_t client_id, int timeout_ms,
                            struct frame *frame, uint64_t *took_us)
{
    uint64_t start_ns = clock_now_ns();
    int fd = logon_open(source, port, account_id, secret, client_id);
    if (fd < 0)
        return -1;
    int rv = logon_answer(fd, timeout_ms, frame);
    *took_us = (clock_now_ns() - start_ns) / 1000u;
    close(fd);
    return rv;
}

/* Answers of a flood, by kind. */
struct logon_flood_counts {
    uint32_t opened;
    uint32_t logged_on;  /* LOGON_OK: the secret was right after all */
    uint32_t failed;     /* ERROR 4: logon failed */
    uint32_t overloaded; /* ERROR 10 or another error: refused unchecked */
    uint32_t unanswered; /* closed or silent until the timeout */
};

/* Opens up to count connections from source, each a logon to account_id
 * with a wrong secret, sent at once; fds[i] is each socket or -1. */
static inline void logon_flood_open(const char *source, uint16_t port, uint32_t account_id,
                                    uint32_t count, int *fds, struct logon_flood_counts *counts)
{
    memset(counts, 0, sizeof *counts);
    for (uint32_t i = 0; i < count; i++) {
        fds[i] = logon_open(source, port, account_id, "a wrong guess", 1000000u + i);
        counts->opened += fds[i] >= 0;
    }
}

/* Room for WELCOME and an ERROR with its text, per flood connection. */
#define LOGON_FLOOD_ANSWER_SIZE 2048u

/* The answer after WELCOME in what buffer holds: 1 with it in *frame, 0
 * when more is needed, -1 when it is malformed or too long. */
static inline int logon_flood_parse(const uint8_t *buffer, size_t size, struct frame *frame)
{
    size_t at = 0;
    for (int frames = 0; frames < 4; frames++) {
        size_t consumed = 0;
        int rv = frame_decode(buffer + at, size - at, frame, &consumed);
        if (rv == ERR_DECODE_NEED_MORE)
            return size < LOGON_FLOOD_ANSWER_SIZE ? 0 : -1;
        if (rv != 0)
            return -1;
        at += consumed;
        if (frame->type != FRAME_WELCOME)
            return 1;
    }
    return -1;
}

static inline void logon_flood_count(struct logon_flood_counts *counts, int parsed,
                                     const struct frame *frame)
{
    if (parsed != 1)
        counts->unanswered++;
    else if (frame->type == FRAME_LOGON_OK)
        counts->logged_on++;
    else if (frame->type == FRAME_ERROR && frame->u.error.code == FRAME_ERROR_LOGON_FAILED)
        counts->failed++;
    else
        counts->overloaded++;
}

/* Reads the flood connections' answers as they come, all at once (a
 * throttled one may be answered seconds after a refused one), for
 * timeout_ms at most; counts each and closes it. Those not answered by
 * then count as unanswered. Returns -1 if it has no memory, else 0. */
static inline int logon_flood_close(int *fds, uint32_t count, int timeout_ms,
                                    struct logon_flood_counts *counts)
{
    uint8_t (*buffers)[LOGON_FLOOD_ANSWER_SIZE] = calloc(count, LOGON_FLOOD_ANSWER_SIZE);
    size_t *sizes = calloc(count, sizeof *sizes);
    struct pollfd *polls = calloc(count, sizeof *polls);
    uint32_t *owners = calloc(count, sizeof *owners);
    struct frame *frame = malloc(sizeof *frame); /* large: query results */
    int rv = buffers && sizes && polls && owners && frame ? 0 : -1;
    int64_t deadline_ms = clock_now_ms() + timeout_ms;
    for (int round = 0; rv == 0 && round < 100000; round++) {
        nfds_t waiting = 0;
        for (uint32_t i = 0; i < count; i++) {
            if (fds[i] >= 0) {
                owners[waiting] = i;
                polls[waiting++] = (struct pollfd){.fd = fds[i], .events = POLLIN};
            }
        }
        int64_t left_ms = deadline_ms - clock_now_ms();
        if (waiting == 0 || left_ms <= 0)
            break;
        if (poll(polls, waiting, left_ms < 100 ? (int)left_ms : 100) < 0)
            break;
        for (nfds_t k = 0; k < waiting; k++) {
            uint32_t i = owners[k];
            if (polls[k].revents == 0)
                continue;
            ssize_t got = recv(fds[i], buffers[i] + sizes[i], LOGON_FLOOD_ANSWER_SIZE - sizes[i],
                               MSG_DONTWAIT);
            int parsed = got > 0 ? logon_flood_parse(buffers[i], sizes[i] += (size_t)got, frame)
                                 : -1;
            if (parsed == 0)
                continue;
            logon_flood_count(counts, parsed, frame);
            close(fds[i]);
            fds[i] = -1;
        }
    }
    for (uint32_t i = 0; i < count; i++) {
        if (fds[i] >= 0) {
            counts->unanswered++;
            close(fds[i]);
            fds[i] = -1;
        }
    }
    free(buffers);
    free(sizes);
    free(polls);
    free(owners);
    free(frame);
    return rv;
}

#endif
