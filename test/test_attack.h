/* An attacker's connections, for the tests (and the hostile benchmark)
 * that check a node stays usable while someone holds its ports: idle TCP
 * connections to the client port and HTTP requests dripped a byte at a
 * time into the admin port, each from source addresses of 127.0.0.0/8
 * other than 127.0.0.1 (every one of them is loopback on Linux), so that
 * a node's per-address limits see several attackers and the legitimate
 * client on 127.0.0.1 apart.
 *
 * Source number i is 127.0.0.2 + i (127.0.0.2, 127.0.0.3, ... 127.0.1.1,
 * ...). Every call is bounded in time: connects give up after 5 s. */
#ifndef NODOWN_TEST_ATTACK_H
#define NODOWN_TEST_ATTACK_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

/* Linux's: bind() picks no port, connect() does (for the whole 4-tuple),
 * so that thousands of connections from one source do not make each bind
 * search the ports in use. */
#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

/* The source address of number index, in network order. */
static inline uint32_t attack_source(uint32_t index)
{
    return htonl(0x7f000002u + index);
}

/* A TCP connection from source (network order; 0: the kernel's choice) to
 * 127.0.0.1:port, blocking for 5 s at most. Returns the socket or -1. */
static inline int attack_connect(uint32_t source, uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct timeval timeout = {.tv_sec = 5};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    int on = 1;
    setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &on, sizeof on);
    struct sockaddr_in from = {.sin_family = AF_INET, .sin_addr.s_addr = source};
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(port)};
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if ((source != 0 && bind(fd, (struct sockaddr *)&from, sizeof from) != 0) ||
        connect(fd, (struct sockaddr *)&to, sizeof to) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Opens count connections to port that never send a byte, per_source
 * from each source address from number first_source on. fds[i] is -1
 * where a connect failed. Returns how many opened. */
static inline uint32_t attack_idle_open(int *fds, uint32_t count, uint16_t port,
                                        uint32_t first_source, uint32_t per_source)
{
    uint32_t opened = 0;
    for (uint32_t i = 0; i < count; i++) {
        fds[i] = attack_connect(attack_source(first_source + i / per_source), port);
        opened += fds[i] >= 0;
    }
    return opened;
}

/* The request the drippers send, one byte at a time; its headers never
 * end within the test. */
static const char attack_drip_text[] =
    "GET /status HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding-0: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n"
    "X-Padding-1: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n"
    "X-Padding-2: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n";

/* Sends the next byte of attack_drip_text on each open connection
 * (sent[i] counts them); a connection the server closed becomes -1.
 * Returns how many are still open. */
static inline uint32_t attack_drip_step(int *fds, uint32_t *sent, uint32_t count)
{
    uint32_t open = 0;
    for (uint32_t i = 0; i < count; i++) {
        if (fds[i] < 0)
            continue;
        size_t at = sent[i] % (sizeof attack_drip_text - 1);
        if (send(fds[i], attack_drip_text + at, 1, MSG_NOSIGNAL | MSG_DONTWAIT) != 1 &&
            errno != EAGAIN) {
            close(fds[i]);
            fds[i] = -1;
            continue;
        }
        sent[i]++;
        open++;
    }
    return open;
}

/* Whether the server has closed fd: reads what it sent (an ERROR, say)
 * without waiting, until end of file, a reset, or nothing more. */
static inline int attack_is_closed(int fd)
{
    char buffer[4096];
    for (int reads = 0; reads < 64; reads++) {
        ssize_t got = recv(fd, buffer, sizeof buffer, MSG_DONTWAIT);
        if (got == 0)
            return 1;
        if (got < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : 1;
    }
    return 0;
}

/* How many of fds the server has closed; those are closed here and set
 * to -1 (and counted in *closed_total when given). */
static inline uint32_t attack_reap(int *fds, uint32_t count, uint32_t *closed_total)
{
    uint32_t closed = 0;
    for (uint32_t i = 0; i < count; i++) {
        if (fds[i] >= 0 && attack_is_closed(fds[i])) {
            close(fds[i]);
            fds[i] = -1;
            closed++;
        }
    }
    if (closed_total != NULL)
        *closed_total += closed;
    return closed;
}

static inline void attack_close_all(int *fds, uint32_t count)
{
    for (uint32_t i = 0; i < count; i++) {
        if (fds[i] >= 0)
            close(fds[i]);
        fds[i] = -1;
    }
}

/* GET path from 127.0.0.1:port with the bearer token; the answer (cut to
 * size - 1, NUL-terminated) in text. Returns the HTTP status, or -1. */
static inline int attack_http_get(uint16_t port, const char *path, const char *token,
                                  char *text, size_t size)
{
    int fd = attack_connect(0, port);
    if (fd < 0)
        return -1;
    char request[512];
    int length = snprintf(request, sizeof request,
                          "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
                          "Connection: close\r\n\r\n", path, token);
    size_t got_total = 0;
    if (length > 0 && send(fd, request, (size_t)length, MSG_NOSIGNAL) == length) {
        for (int reads = 0; reads < 4096 && got_total + 1 < size; reads++) {
            ssize_t got = recv(fd, text + got_total, size - 1 - got_total, 0);
            if (got <= 0)
                break;
            got_total += (size_t)got;
        }
    }
    close(fd);
    text[got_total] = '\0';
    int status = -1;
    if (sscanf(text, "HTTP/1.%*d %d", &status) != 1)
        return -1;
    return status;
}

#endif
