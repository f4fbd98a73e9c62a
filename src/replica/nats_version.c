/* The nats-server versions nodown runs on (see nats_version.h). */
#include "replica/nats_version.h"

#include <assert.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/result.h"
#include "lib/clock.h"

/* The INFO line read by a probe: a cluster's lists of URLs make it long,
 * but the version comes early in it. */
#define NATS_VERSION_INFO_SIZE 4096u
/* The port a URL without one means (nats-server's default). */
#define NATS_VERSION_PORT_DEFAULT "4222"

/* Reads "N." or "N" (the last number) at *text into *out; false if no
 * digits, or too many. */
static bool number_read(const char **text, unsigned *out, bool dot)
{
    const char *c = *text;
    unsigned value = 0;
    size_t digits = 0;
    for (; *c >= '0' && *c <= '9' && digits < 6; c++, digits++)
        value = value * 10u + (unsigned)(*c - '0');
    if (digits == 0 || (*c >= '0' && *c <= '9') || (dot && *c != '.'))
        return false;
    *out = value;
    *text = dot ? c + 1 : c;
    return true;
}

int nats_version_check(const char *version, const char *server, char *errmsg,
                       size_t errmsg_size)
{
    assert(version != NULL && server != NULL);
    const char *c = version[0] == 'v' ? version + 1 : version;
    unsigned major = 0, minor = 0, patch = 0;
    bool read = number_read(&c, &major, true) && number_read(&c, &minor, true) &&
                number_read(&c, &patch, false);
    if (!read) {
        snprintf(errmsg, errmsg_size, "cannot read the version of nats-server %.200s "
                 "(\"%.40s\"); nodown needs %u.%u.0 or newer: " NATS_VERSION_INSTALL,
                 server, version, NATS_VERSION_MAJOR_MIN, NATS_VERSION_MINOR_MIN);
        return ERR_VERSION;
    }
    bool new_enough = major > NATS_VERSION_MAJOR_MIN ||
                      (major == NATS_VERSION_MAJOR_MIN && minor >= NATS_VERSION_MINOR_MIN);
    if (!new_enough) {
        snprintf(errmsg, errmsg_size, "nats-server %.200s is version %u.%u.%u, older than "
                 "%u.%u.0, which nodown needs (a sync before each acknowledgement, and "
                 "replicated duplicates numbered alike on every server): "
                 NATS_VERSION_INSTALL, server, major, minor, patch, NATS_VERSION_MAJOR_MIN,
                 NATS_VERSION_MINOR_MIN);
        return ERR_VERSION;
    }
    return 0;
}

int nats_version_info(const char *line, char *version, size_t version_size)
{
    assert(line != NULL && version != NULL && version_size > 0);
    static const char field[] = "\"version\":\"";
    const char *start = strncmp(line, "INFO ", 5) == 0 ? strstr(line, field) : NULL;
    if (start == NULL)
        return ERR_DECODE_MALFORMED;
    start += sizeof field - 1;
    const char *end = strchr(start, '"');
    if (end == NULL || (size_t)(end - start) >= version_size)
        return ERR_DECODE_MALFORMED;
    memcpy(version, start, (size_t)(end - start));
    version[end - start] = '\0';
    return 0;
}

/* Host and port of "scheme://user:pass@host:port" ("[v6]:port" too). */
static int url_split(const char *url, char *host, size_t host_size, char *port,
                     size_t port_size)
{
    const char *start = strstr(url, "://");
    start = start != NULL ? start + 3 : url;
    const char *at = strchr(start, '@');
    start = at != NULL ? at + 1 : start;
    const char *colon = strrchr(start, ':');
    const char *bracket = strrchr(start, ']');
    if (colon != NULL && bracket != NULL && colon < bracket)
        colon = NULL; /* "[::1]": the colons are the address's */
    size_t host_length = colon != NULL ? (size_t)(colon - start) : strlen(start);
    if (host_length > 1 && start[0] == '[' && start[host_length - 1] == ']') {
        start++;
        host_length -= 2;
    }
    const char *port_text = colon != NULL ? colon + 1 : NATS_VERSION_PORT_DEFAULT;
    if (host_length == 0 || host_length >= host_size || strlen(port_text) >= port_size)
        return ERR_USAGE;
    memcpy(host, start, host_length);
    host[host_length] = '\0';
    snprintf(port, port_size, "%s", port_text);
    return 0;
}

/* Connects to host:port within timeout_ms; a socket, or -1 with errno. */
static int socket_connect(const char *host, const char *port, int timeout_ms)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *found = NULL;
    if (getaddrinfo(host, port, &hints, &found) != 0 || found == NULL) {
        errno = EHOSTUNREACH;
        return -1;
    }
    int fd = socket(found->ai_family, found->ai_socktype | SOCK_NONBLOCK, 0);
    int rv = fd >= 0 ? connect(fd, found->ai_addr, found->ai_addrlen) : -1;
    freeaddrinfo(found);
    if (rv != 0 && fd >= 0 && errno == EINPROGRESS) {
        struct pollfd pfd = {.fd = fd, .events = POLLOUT};
        int error = 0;
        socklen_t size = sizeof error;
        if (poll(&pfd, 1, timeout_ms) == 1 &&
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size) == 0 && error == 0)
            rv = 0;
        else
            errno = error != 0 ? error : ETIMEDOUT;
    }
    if (rv != 0 && fd >= 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        fd = -1;
    }
    return fd;
}

size_t nats_line_read(int fd, char *line, size_t line_size, int timeout_ms)
{
    assert(line_size > 0);
    size_t size = 0;
    int64_t deadline_ms = clock_now_ms() + timeout_ms;
    while (size < line_size - 1 && memchr(line, '\n', size) == NULL) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int64_t left_ms = deadline_ms - clock_now_ms();
        if (left_ms <= 0 || poll(&pfd, 1, (int)left_ms) <= 0)
            break;
        ssize_t n = read(fd, line + size, line_size - 1 - size);
        if (n <= 0)
            break;
        size += (size_t)n;
    }
    line[size] = '\0';
    return size;
}

int nats_info_read(const char *url, int timeout_ms, char *line, size_t line_size, char *errmsg,
                   size_t errmsg_size)
{
    assert(url != NULL && timeout_ms > 0 && line_size > 0);
    line[0] = '\0';
    char host[256], port[16];
    if (url_split(url, host, sizeof host, port, sizeof port) != 0) {
        snprintf(errmsg, errmsg_size, "nats-server %.200s: cannot read its host and port", url);
        return ERR_IO;
    }
    int fd = socket_connect(host, port, timeout_ms);
    if (fd < 0) {
        snprintf(errmsg, errmsg_size, "nats-server %.200s: %s", url, strerror(errno));
        return ERR_IO;
    }
    nats_line_read(fd, line, line_size, timeout_ms);
    close(fd);
    return 0;
}

int nats_version_probe(const char *url, int timeout_ms, char *version, size_t version_size,
                       char *errmsg, size_t errmsg_size)
{
    char line[NATS_VERSION_INFO_SIZE];
    int rv = nats_info_read(url, timeout_ms, line, sizeof line, errmsg, errmsg_size);
    if (rv == 0 && nats_version_info(line, version, version_size) != 0) {
        snprintf(errmsg, errmsg_size, "nats-server %.200s: no version in its INFO line "
                 "(\"%.60s\")", url, line);
        rv = ERR_IO;
    }
    return rv;
}
