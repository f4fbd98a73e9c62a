/* Blocking TCP with deadlines (see net.h). */
#include "client/net.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/result.h"

int64_t net_now_ms(void)
{
    struct timespec now;
    int rv = clock_gettime(CLOCK_MONOTONIC, &now);
    assert(rv == 0); /* CLOCK_MONOTONIC always exists on Linux */
    (void)rv;
    return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

int64_t net_deadline_ms(int timeout_ms)
{
    return timeout_ms < 0 ? NET_DEADLINE_NONE : net_now_ms() + timeout_ms;
}

void net_sleep_ms(int duration_ms)
{
    assert(duration_ms >= 0);
    struct timespec left = {duration_ms / 1000, (long)(duration_ms % 1000) * 1000000};
    while (nanosleep(&left, &left) != 0 && errno == EINTR)
        continue;
}

/* Waits for events on fd until deadline_ms. Returns 0 when ready,
 * ERR_TIMEOUT or ERR_IO. */
static int net_poll(int fd, short events, int64_t deadline_ms)
{
    for (;;) {
        int timeout_ms = -1;
        if (deadline_ms != NET_DEADLINE_NONE) {
            int64_t left_ms = deadline_ms - net_now_ms();
            if (left_ms <= 0)
                return ERR_TIMEOUT;
            timeout_ms = left_ms > 60000 ? 60000 : (int)left_ms;
        }
        struct pollfd pollfd = {fd, events, 0};
        int rv = poll(&pollfd, 1, timeout_ms);
        if (rv > 0)
            return 0; /* ready, or an error the next call will report */
        if (rv < 0 && errno != EINTR)
            return ERR_IO;
    }
}

/* One address: a non-blocking connect, then a poll for its end. */
static int net_connect_one(const struct addrinfo *address, int timeout_ms)
{
    int fd = socket(address->ai_family, address->ai_socktype, address->ai_protocol);
    if (fd < 0)
        return ERR_IO;
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0 ||
        fcntl(fd, F_SETFD, FD_CLOEXEC) != 0)
        goto fail;
    if (connect(fd, address->ai_addr, address->ai_addrlen) != 0) {
        if (errno != EINPROGRESS && errno != EINTR)
            goto fail;
        int rv = net_poll(fd, POLLOUT, net_deadline_ms(timeout_ms));
        if (rv != 0) {
            errno = rv == ERR_TIMEOUT ? ETIMEDOUT : errno;
            goto fail;
        }
        int error = 0;
        socklen_t size = sizeof error;
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size) != 0)
            goto fail;
        if (error != 0) {
            errno = error;
            goto fail;
        }
    }
    int one = 1;
    /* Frames are small and each is awaited: Nagle would only add delay. */
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0)
        goto fail;
    return fd;
fail:;
    int saved = errno;
    close(fd);
    errno = saved;
    return ERR_IO;
}

int net_connect(const char *host, const char *port, int timeout_ms, char *errmsg,
                size_t errmsg_size)
{
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    struct addrinfo *addresses = NULL;
    int rv = getaddrinfo(host, port, &hints, &addresses);
    if (rv != 0) {
        snprintf(errmsg, errmsg_size, "%s:%s: %s", host, port, gai_strerror(rv));
        return ERR_IO;
    }
    int fd = ERR_IO;
    errno = 0;
    for (const struct addrinfo *at = addresses; at != NULL && fd < 0; at = at->ai_next)
        fd = net_connect_one(at, timeout_ms);
    if (fd < 0)
        snprintf(errmsg, errmsg_size, "%s:%s: connect: %s", host, port, strerror(errno));
    freeaddrinfo(addresses);
    return fd;
}

int net_send_all(int fd, const void *data, size_t size, int64_t deadline_ms)
{
    const uint8_t *bytes = data;
    size_t sent = 0;
    while (sent < size) {
        ssize_t rv = send(fd, bytes + sent, size - sent, MSG_NOSIGNAL);
        if (rv > 0) {
            sent += (size_t)rv;
            continue;
        }
        if (rv < 0 && errno == EINTR)
            continue;
        if (rv < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            int waited = net_poll(fd, POLLOUT, deadline_ms);
            if (waited != 0)
                return waited;
            continue;
        }
        return ERR_IO;
    }
    assert(sent == size);
    return 0;
}

int net_receive(int fd, void *buffer, size_t capacity, int64_t deadline_ms, size_t *received)
{
    assert(capacity > 0);
    *received = 0;
    for (;;) {
        ssize_t rv = recv(fd, buffer, capacity, 0);
        if (rv > 0) {
            *received = (size_t)rv;
            return 0;
        }
        if (rv == 0) {
            errno = 0; /* the peer closed */
            return ERR_IO;
        }
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return ERR_IO;
        int waited = net_poll(fd, POLLIN, deadline_ms);
        if (waited != 0)
            return waited;
    }
}
