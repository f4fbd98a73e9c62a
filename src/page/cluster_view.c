/* The peers' /status, polled for the operator's page (see cluster_view.h). */
#include "page/cluster_view.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/result.h"

#define VIEW_REQUEST_SIZE 512u
#define VIEW_RESPONSE_MAX (CLUSTER_VIEW_STATUS_MAX + 2048u) /* headers beside the body */

static uint64_t view_now_ms(clockid_t clock)
{
    struct timespec now;
    clock_gettime(clock, &now);
    return (uint64_t)now.tv_sec * 1000u + (uint64_t)now.tv_nsec / 1000000u;
}

/* ---- One GET /status, within a deadline. ---- */

static int view_connect(const char *host, uint16_t port, uint64_t deadline_ms, char *why,
                        size_t why_size)
{
    char service[8];
    snprintf(service, sizeof service, "%u", port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *found = NULL;
    if (getaddrinfo(host, service, &hints, &found) != 0 || found == NULL) {
        snprintf(why, why_size, "cannot resolve %s", host);
        return -1;
    }
    int fd = socket(found->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int rv = fd < 0 ? -1 : connect(fd, found->ai_addr, found->ai_addrlen);
    freeaddrinfo(found);
    if (fd >= 0 && rv != 0 && errno == EINPROGRESS) {
        uint64_t now = view_now_ms(CLOCK_MONOTONIC);
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        int error = 0;
        socklen_t length = sizeof error;
        if (now < deadline_ms && poll(&p, 1, (int)(deadline_ms - now)) == 1 &&
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) == 0 && error == 0)
            rv = 0;
        else
            errno = error != 0 ? error : ETIMEDOUT;
    }
    if (rv != 0) {
        snprintf(why, why_size, "cannot connect: %s", strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

/* Reads until the peer closes (every answer closes its connection) or
 * the deadline; returns the bytes read or -1 with why. */
static long view_read_all(int fd, char *buffer, size_t size, uint64_t deadline_ms, char *why,
                          size_t why_size)
{
    size_t used = 0;
    for (;;) {
        uint64_t now = view_now_ms(CLOCK_MONOTONIC);
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (now >= deadline_ms || poll(&p, 1, (int)(deadline_ms - now)) != 1) {
            snprintf(why, why_size, "no whole answer within %u ms", CLUSTER_VIEW_TIMEOUT_MS);
            return -1;
        }
        if (used == size) {
            snprintf(why, why_size, "answer larger than %zu bytes", size);
            return -1;
        }
        ssize_t n = read(fd, buffer + used, size - used);
        if (n == 0)
            return (long)used;
        if (n < 0 && errno != EINTR && errno != EAGAIN) {
            snprintf(why, why_size, "read: %s", strerror(errno));
            return -1;
        }
        used += n > 0 ? (size_t)n : 0;
    }
}

/* GET /status of one peer: the body (a JSON object) into body, or -1
 * with why. response is scratch of VIEW_RESPONSE_MAX bytes. */
static long view_get_status(const struct cluster_view_peer *peer, const char *token,
                            char *response, char *body, size_t body_size, char *why,
                            size_t why_size)
{
    uint64_t deadline = view_now_ms(CLOCK_MONOTONIC) + CLUSTER_VIEW_TIMEOUT_MS;
    int fd = view_connect(peer->host, peer->port, deadline, why, why_size);
    if (fd < 0)
        return -1;
    char request[VIEW_REQUEST_SIZE + CLUSTER_VIEW_TOKEN_MAX];
    int length = snprintf(request, sizeof request,
                          "GET /status HTTP/1.1\r\nHost: %s:%u\r\nAuthorization: Bearer %s\r\n"
                          "Connection: close\r\n\r\n",
                          peer->host, peer->port, token);
    long got = -1;
    if (length > 0 && (size_t)length < sizeof request &&
        send(fd, request, (size_t)length, MSG_NOSIGNAL) == length)
        got = view_read_all(fd, response, VIEW_RESPONSE_MAX - 1, deadline, why, why_size);
    else
        snprintf(why, why_size, "cannot send the request");
    close(fd);
    if (got < 0)
        return -1;
    response[got] = '\0';
    const char *start = strstr(response, "\r\n\r\n");
    if (strncmp(response, "HTTP/1.1 200 ", 13) != 0 || start == NULL) {
        snprintf(why, why_size, "answered %.40s", strncmp(response, "HTTP/1.1 401", 12) == 0
                                                      ? "401: the token is not this peer's"
                                                      : response);
        for (char *c = why; *c != '\0'; c++)
            *c = *c == '\r' || *c == '\n' || *c == '"' || *c == '\\' ? ' ' : *c;
        return -1;
    }
    start += 4;
    size_t n = (size_t)(response + got - start);
    while (n > 0 && (start[n - 1] == '\n' || start[n - 1] == ' '))
        n--;
    if (n < 2 || start[0] != '{' || start[n - 1] != '}' || n > body_size) {
        snprintf(why, why_size, "its status is not a JSON object");
        return -1;
    }
    memcpy(body, start, n);
    return (long)n;
}

/* ---- Polling. ---- */

/* The token to show peer: its file's first line, else this node's own. */
static void view_peer_token(const struct cluster_view *view, const struct cluster_view_peer *peer,
                            char *token, size_t size)
{
    snprintf(token, size, "%s", view->token);
    if (peer->token_file[0] == '\0')
        return;
    FILE *file = fopen(peer->token_file, "r");
    if (file == NULL)
        return;
    if (fgets(token, (int)size, file) == NULL)
        snprintf(token, size, "%s", view->token);
    fclose(file);
    token[strcspn(token, "\r\n")] = '\0';
}

static void view_poll_peer(struct cluster_view *view, struct cluster_view_peer *peer,
                           char *response, char *body)
{
    char token[CLUSTER_VIEW_TOKEN_MAX + 2], why[sizeof peer->error];
    view_peer_token(view, peer, token, sizeof token);
    long n = view_get_status(peer, token, response, body, CLUSTER_VIEW_STATUS_MAX, why,
                             sizeof why);
    pthread_mutex_lock(&peer->mutex);
    peer->answered = true;
    peer->at_ms = view_now_ms(CLOCK_MONOTONIC);
    peer->up = n >= 0;
    if (n >= 0) {
        memcpy(peer->status, body, (size_t)n);
        peer->length = (size_t)n;
    } else {
        snprintf(peer->error, sizeof peer->error, "%s", why);
    }
    pthread_mutex_unlock(&peer->mutex);
}

static void *view_main(void *argument)
{
    struct cluster_view *view = argument;
    char *response = malloc(VIEW_RESPONSE_MAX);
    char *body = malloc(CLUSTER_VIEW_STATUS_MAX);
    while (response != NULL && body != NULL && !atomic_load(&view->stopping)) {
        uint64_t next = view_now_ms(CLOCK_MONOTONIC) + CLUSTER_VIEW_POLL_MS;
        for (uint32_t i = 0; i < view->peer_count && !atomic_load(&view->stopping); i++)
            view_poll_peer(view, &view->peers[i], response, body);
        while (!atomic_load(&view->stopping) && view_now_ms(CLOCK_MONOTONIC) < next) {
            struct timespec slice = {0, 20 * 1000 * 1000};
            nanosleep(&slice, NULL);
        }
    }
    free(response);
    free(body);
    return NULL;
}

/* ---- Start, stop, render. ---- */

static int view_parse_peer(struct cluster_view_peer *peer, const char *entry, size_t length,
                           char *errmsg, size_t errmsg_size)
{
    char text[700];
    if (length == 0 || length >= sizeof text) {
        snprintf(errmsg, errmsg_size, "--peers: an empty or too long entry");
        return ERR_USAGE;
    }
    memcpy(text, entry, length);
    text[length] = '\0';
    char *at = strchr(text, '@');
    if (at != NULL) {
        *at = '\0';
        if (strlen(at + 1) >= sizeof peer->token_file) {
            snprintf(errmsg, errmsg_size, "--peers: a token file's path is too long");
            return ERR_USAGE;
        }
        memcpy(peer->token_file, at + 1, strlen(at + 1) + 1);
    }
    char *colon = strrchr(text, ':');
    char *end = NULL;
    unsigned long port = colon != NULL ? strtoul(colon + 1, &end, 10) : 0;
    if (colon == NULL || colon == text || end == NULL || *end != '\0' || port == 0 ||
        port > 65535 || (size_t)(colon - text) >= sizeof peer->host) {
        snprintf(errmsg, errmsg_size, "--peers: \"%s\" is not HOST:PORT[@TOKENFILE]", text);
        return ERR_USAGE;
    }
    *colon = '\0';
    memcpy(peer->host, text, (size_t)(colon - text) + 1); /* fits: checked above */
    peer->port = (uint16_t)port;
    return 0;
}

static int view_parse(struct cluster_view *view, const char *peers, char *errmsg,
                      size_t errmsg_size)
{
    for (const char *entry = peers; entry != NULL && *entry != '\0';) {
        const char *comma = strchr(entry, ',');
        size_t length = comma != NULL ? (size_t)(comma - entry) : strlen(entry);
        if (view->peer_count == CLUSTER_VIEW_PEERS_MAX) {
            snprintf(errmsg, errmsg_size, "--peers: more than %u peers", CLUSTER_VIEW_PEERS_MAX);
            return ERR_USAGE;
        }
        struct cluster_view_peer *peer = &view->peers[view->peer_count];
        int rv = view_parse_peer(peer, entry, length, errmsg, errmsg_size);
        if (rv != 0)
            return rv;
        pthread_mutex_init(&peer->mutex, NULL);
        view->peer_count++;
        entry = comma != NULL ? comma + 1 : NULL;
    }
    return 0;
}

int cluster_view_start(struct cluster_view *view, const char *peers, const char *token,
                       cluster_view_render_fn self_cb, void *self_context, char *errmsg,
                       size_t errmsg_size)
{
    memset(view, 0, sizeof *view);
    atomic_init(&view->stopping, false);
    view->self_cb = self_cb;
    view->self_context = self_context;
    snprintf(view->token, sizeof view->token, "%s", token != NULL ? token : "");
    view->peers = calloc(CLUSTER_VIEW_PEERS_MAX, sizeof view->peers[0]);
    if (view->peers == NULL) {
        snprintf(errmsg, errmsg_size, "cluster view: out of memory");
        return ERR_NOMEM;
    }
    int rv = view_parse(view, peers, errmsg, errmsg_size);
    if (rv == 0 && view->peer_count > 0) {
        if (pthread_create(&view->thread, NULL, view_main, view) != 0) {
            snprintf(errmsg, errmsg_size, "cluster view: cannot start its thread");
            rv = ERR_IO;
        } else {
            view->running = true;
        }
    }
    if (rv != 0)
        cluster_view_stop(view);
    return rv;
}

void cluster_view_stop(struct cluster_view *view)
{
    atomic_store(&view->stopping, true);
    if (view->running)
        pthread_join(view->thread, NULL);
    view->running = false;
    for (uint32_t i = 0; i < view->peer_count; i++)
        pthread_mutex_destroy(&view->peers[i].mutex);
    view->peer_count = 0;
    free(view->peers);
    view->peers = NULL;
}

/* Appends the formatted text; false once it does not fit. */
static bool view_append(char *buffer, size_t size, size_t *used, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    int n = *used < size ? vsnprintf(buffer + *used, size - *used, format, args) : -1;
    va_end(args);
    if (n < 0 || (size_t)n >= size - *used)
        return false;
    *used += (size_t)n;
    return true;
}

static bool view_render_peer(struct cluster_view_peer *peer, char *buffer, size_t size,
                             size_t *used, uint64_t now)
{
    pthread_mutex_lock(&peer->mutex);
    uint64_t age = peer->answered && now > peer->at_ms ? now - peer->at_ms : 0;
    bool ok = view_append(buffer, size, used, "{\"address\":\"%s:%u\",\"up\":%s,\"age_ms\":%llu",
                          peer->host, peer->port, peer->up ? "true" : "false",
                          (unsigned long long)age);
    if (ok && peer->up)
        ok = view_append(buffer, size, used, ",\"status\":%.*s}", (int)peer->length,
                         peer->status);
    else if (ok)
        ok = view_append(buffer, size, used, ",\"error\":\"%s\"}",
                         peer->answered ? peer->error : "not asked yet");
    pthread_mutex_unlock(&peer->mutex);
    return ok;
}

int cluster_view_render(void *context, char *buffer, size_t size, size_t *length)
{
    struct cluster_view *view = context;
    size_t used = 0;
    bool ok = view_append(buffer, size, &used, "{\"v\":%u,\"now_ms\":%llu,\"poll_ms\":%u,\"self\":",
                          CLUSTER_VIEW_FORMAT_VERSION,
                          (unsigned long long)view_now_ms(CLOCK_REALTIME), CLUSTER_VIEW_POLL_MS);
    size_t self_length = 0;
    if (!ok || view->self_cb(view->self_context, buffer + used, size - used, &self_length) != 0)
        return ERR_CAPACITY;
    used += self_length;
    while (used > 0 && (buffer[used - 1] == '\n' || buffer[used - 1] == ' '))
        used--;
    ok = view_append(buffer, size, &used, ",\"peers\":[");
    uint64_t now = view_now_ms(CLOCK_MONOTONIC);
    for (uint32_t i = 0; ok && i < view->peer_count; i++)
        ok = (i == 0 || view_append(buffer, size, &used, ",")) &&
             view_render_peer(&view->peers[i], buffer, size, &used, now);
    ok = ok && view_append(buffer, size, &used, "]}\n");
    if (!ok)
        return ERR_CAPACITY;
    *length = used;
    return 0;
}
