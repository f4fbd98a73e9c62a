/* The HTTP admin interface on libmicrohttpd (see http_admin.h for the
 * routes and the threading contract, docs/admin.md for operators).
 *
 * libmicrohttpd calls admin_handle for a request once its headers are in,
 * with *request_state NULL, and again for each piece of a body and once at
 * the end. This module answers every request on that first call, before
 * any body is read: a refused upload is never received, and a GET's body
 * is ignored. libmicrohttpd then closes the connection after the answer
 * rather than read a body it may still be owed, so every answer carries
 * "Connection: close": one request per connection, no keep-alive, and no
 * idle client holding one of the few connection slots.
 *
 * Each request goes through the same three gates, in this order:
 *
 *   token (401) --> method GET (405) --> route (404) --> status | metrics | snapshot
 *
 * so that nothing, not even whether a path exists, is told to a caller
 * without the token.
 *
 * libmicrohttpd runs with MHD_USE_INTERNAL_POLLING_THREAD and no thread
 * pool: one thread serves every connection, so the scratch buffer that
 * status and metrics are rendered into is used by one request at a time.
 *
 * The request deadline. libmicrohttpd's own timeout counts idle time
 * only, so a client sending a header byte a second would hold its place
 * for ever. Each connection gets a clock when it starts (admin_notify,
 * on libmicrohttpd's thread), stopped when its request is whole
 * (admin_handle); a watchdog thread shuts down, every 100 ms, the sockets
 * whose clock ran past request_timeout_ms, and libmicrohttpd then sees
 * the end of the connection and closes it. libmicrohttpd tells us a
 * connection closed before it closes the socket, and both sides hold
 * clocks_mutex, so the watchdog never shuts down a descriptor that has
 * been closed and reused.
 */
#include "gateway/http_admin.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/result.h"
#include "lib/clock.h"

/* One connection's request deadline (see the top). */
struct admin_clock {
    bool used;
    bool answered; /* the request was whole: no deadline any more */
    int fd;
    int64_t start_ms;
};

struct http_admin {
    struct MHD_Daemon *daemon;
    uint16_t port;
    /* The token, zero-padded to the maximum so that it is compared over
     * the same bytes whatever its size. */
    unsigned char token[HTTP_ADMIN_TOKEN_SIZE_MAX];
    size_t token_size;
    http_admin_render_cb status_cb;
    void *status_context;
    http_admin_render_cb metrics_cb;
    void *metrics_context;
    http_admin_snapshot_path_cb snapshot_path_cb;
    void *snapshot_context;
    http_admin_verify_cb verify_cb;
    void *verify_context;
    http_admin_render_cb cluster_cb;
    void *cluster_context;
    const struct http_admin_asset *assets;
    uint32_t asset_count;
    /* Status and metrics are rendered here (HTTP thread only). */
    char *body;
    /* Request deadlines: a clock per connection, the watchdog's thread. */
    pthread_mutex_t clocks_mutex;
    struct admin_clock *clocks; /* clock_count: the connection limit */
    uint32_t clock_count;
    uint32_t request_timeout_ms;
    uint64_t requests_cut;      /* by the watchdog, since start */
    int64_t cut_logged_ms;
    uint64_t cut_unlogged;
    pthread_t watchdog;
    bool watchdog_running;
    atomic_bool stopping;
    /* Until start returns, libmicrohttpd's messages are kept here for
     * errmsg; afterwards they go to stderr. */
    atomic_bool started;
    char start_log[256];
    /* libmicrohttpd's messages after start, at most
     * HTTP_ADMIN_LOG_LINES_PER_S a second (its thread only). */
    int64_t log_second_ms;
    uint32_t log_lines;
    uint64_t log_dropped;
};

static void admin_errmsg(char *errmsg, size_t errmsg_size, const char *format, ...)
{
    if (errmsg == NULL || errmsg_size == 0)
        return;
    va_list args;
    va_start(args, format);
    vsnprintf(errmsg, errmsg_size, format, args);
    va_end(args);
}

/* Zeroes memory that held the token; volatile so it is not optimized
 * away before free. */
static void admin_wipe(void *memory, size_t size)
{
    volatile unsigned char *bytes = memory;
    for (size_t i = 0; i < size; i++)
        bytes[i] = 0;
}

/* libmicrohttpd's messages (bind failures, the connection limit, broken
 * clients). Nothing here is fatal to the node, so stderr is enough once
 * started, a few lines a second at most: someone opening and dripping
 * connections must not fill the log (the lines dropped are counted in the
 * next one). During start the message becomes part of errmsg. */
static void admin_log(void *context, const char *format, va_list args)
{
    struct http_admin *admin = context;
    if (!atomic_load(&admin->started)) {
        vsnprintf(admin->start_log, sizeof(admin->start_log), format, args);
        /* libmicrohttpd ends its messages with a newline; errmsg does not. */
        size_t length = strlen(admin->start_log);
        if (length > 0 && admin->start_log[length - 1] == '\n')
            admin->start_log[length - 1] = '\0';
        return;
    }
    int64_t now_ms = clock_now_ms();
    if (now_ms - admin->log_second_ms >= 1000) {
        admin->log_second_ms = now_ms;
        admin->log_lines = 0;
    }
    if (admin->log_lines >= HTTP_ADMIN_LOG_LINES_PER_S) {
        admin->log_dropped++;
        return;
    }
    admin->log_lines++;
    char line[512];
    vsnprintf(line, sizeof(line), format, args);
    size_t length = strlen(line);
    if (length > 0 && line[length - 1] == '\n')
        line[length - 1] = '\0';
    if (admin->log_dropped > 0)
        fprintf(stderr, "nodown http admin: %s (and %" PRIu64 " messages not shown before)\n",
                line, admin->log_dropped);
    else
        fprintf(stderr, "nodown http admin: %s\n", line);
    admin->log_dropped = 0;
}

/* ---- The token. ---- */

/* A token is 16..256 visible ASCII bytes (no space, no control). */
static int admin_token_valid(const char *token)
{
    if (token == NULL)
        return 0;
    size_t size = strlen(token);
    if (size < HTTP_ADMIN_TOKEN_SIZE_MIN || size > HTTP_ADMIN_TOKEN_SIZE_MAX)
        return 0;
    for (size_t i = 0; i < size; i++) {
        if (token[i] < 0x21 || token[i] > 0x7e)
            return 0;
    }
    return 1;
}

/* Compares over all HTTP_ADMIN_TOKEN_SIZE_MAX bytes whatever matches, so
 * the time taken tells nothing about the token or how much of it was
 * right. Only the presented size, which the caller already knows, can
 * cut it short. */
static int admin_token_matches(const struct http_admin *admin, const char *presented,
                               size_t presented_size)
{
    assert(admin->token_size >= HTTP_ADMIN_TOKEN_SIZE_MIN);
    assert(admin->token_size <= HTTP_ADMIN_TOKEN_SIZE_MAX);
    if (presented_size > HTTP_ADMIN_TOKEN_SIZE_MAX)
        return 0;
    unsigned char padded[HTTP_ADMIN_TOKEN_SIZE_MAX] = { 0 };
    memcpy(padded, presented, presented_size);
    volatile unsigned char difference = 0;
    for (size_t i = 0; i < HTTP_ADMIN_TOKEN_SIZE_MAX; i++)
        difference |= (unsigned char)(padded[i] ^ admin->token[i]);
    /* A token holds no NUL, so equal padded bytes and equal sizes mean
     * equal tokens. */
    difference |= (unsigned char)(presented_size != admin->token_size);
    return difference == 0;
}

/* "Authorization: Bearer <token>"; the scheme is case-insensitive
 * (RFC 7235 section 2.1), the token is not. */
static int admin_authorized(const struct http_admin *admin, struct MHD_Connection *connection)
{
    const char *value = MHD_lookup_connection_value(connection, MHD_HEADER_KIND,
                                                    MHD_HTTP_HEADER_AUTHORIZATION);
    if (value == NULL || strncasecmp(value, "Bearer ", 7) != 0)
        return 0;
    const char *presented = value + 7;
    while (*presented == ' ')
        presented++;
    return admin_token_matches(admin, presented, strlen(presented));
}

/* ---- Responses. ---- */

static enum MHD_Result admin_queue(struct MHD_Connection *connection, unsigned int status,
                                   struct MHD_Response *response)
{
    if (response == NULL)
        return MHD_NO; /* libmicrohttpd could not allocate: drop the connection */
    enum MHD_Result result = MHD_add_response_header(response, "Cache-Control", "no-store");
    if (result == MHD_YES)
        result = MHD_queue_response(connection, status, response);
    MHD_destroy_response(response);
    return result;
}

static struct MHD_Response *admin_response_text(const char *text, size_t length,
                                                const char *content_type)
{
    struct MHD_Response *response =
        MHD_create_response_from_buffer(length, (void *)text, MHD_RESPMEM_MUST_COPY);
    if (response == NULL)
        return NULL;
    if (MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, content_type) != MHD_YES) {
        MHD_destroy_response(response);
        return NULL;
    }
    return response;
}

/* {"error":"<code>","message":"<message>"} and a newline. Both strings
 * are this module's own (or err_text's) and need no JSON escaping. */
static enum MHD_Result admin_reply_error(struct MHD_Connection *connection, unsigned int status,
                                         const char *code, const char *message)
{
    assert(strpbrk(code, "\"\\") == NULL);
    assert(strpbrk(message, "\"\\") == NULL);
    char body[256];
    int length = snprintf(body, sizeof(body), "{\"error\":\"%s\",\"message\":\"%s\"}\n", code,
                          message);
    assert(length > 0 && (size_t)length < sizeof(body));
    struct MHD_Response *response =
        admin_response_text(body, (size_t)length, "application/json");
    if (response != NULL && status == MHD_HTTP_UNAUTHORIZED &&
        MHD_add_response_header(response, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                                "Bearer realm=\"nodown\"") != MHD_YES) {
        MHD_destroy_response(response);
        response = NULL;
    }
    if (response != NULL && status == MHD_HTTP_METHOD_NOT_ALLOWED &&
        MHD_add_response_header(response, MHD_HTTP_HEADER_ALLOW, "GET") != MHD_YES) {
        MHD_destroy_response(response);
        response = NULL;
    }
    return admin_queue(connection, status, response);
}

/* GET /status and GET /metrics: the node's text, rendered by its
 * callback into the scratch buffer, copied into the response. */
static enum MHD_Result admin_reply_render(struct http_admin *admin,
                                          struct MHD_Connection *connection,
                                          http_admin_render_cb render_cb, void *context,
                                          const char *content_type)
{
    size_t length = 0;
    int rv = render_cb(context, admin->body, HTTP_ADMIN_BODY_SIZE_MAX, &length);
    if (rv != 0)
        return admin_reply_error(connection, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal",
                                 err_text(rv));
    /* The callback is the node's own code: writing past size is a bug. */
    assert(length <= HTTP_ADMIN_BODY_SIZE_MAX);
    struct MHD_Response *response = admin_response_text(admin->body, length, content_type);
    return admin_queue(connection, MHD_HTTP_OK, response);
}

/* A static asset, or NULL when url names none. */
static const struct http_admin_asset *admin_asset(const struct http_admin *admin, const char *url)
{
    for (uint32_t i = 0; i < admin->asset_count; i++)
        if (strcmp(url, admin->assets[i].path) == 0)
            return &admin->assets[i];
    return NULL;
}

static enum MHD_Result admin_reply_asset(struct MHD_Connection *connection,
                                         const struct http_admin_asset *asset)
{
    struct MHD_Response *response = admin_response_text((const char *)asset->data,
                                                        asset->length, asset->content_type);
    if (response != NULL &&
        (MHD_add_response_header(response, "Content-Security-Policy", HTTP_ADMIN_ASSET_CSP) !=
             MHD_YES ||
         MHD_add_response_header(response, "X-Content-Type-Options", "nosniff") != MHD_YES)) {
        MHD_destroy_response(response);
        response = NULL;
    }
    return admin_queue(connection, MHD_HTTP_OK, response);
}

/* GET /snapshot/latest: streams the file from one open descriptor, so a
 * snapshot renamed over it meanwhile does not mix two files. */
static enum MHD_Result admin_reply_snapshot(struct http_admin *admin,
                                            struct MHD_Connection *connection)
{
    char path[PATH_MAX];
    uint64_t stream_seq = 0;
    path[0] = '\0';
    int rv = admin->snapshot_path_cb(admin->snapshot_context, path, sizeof(path), &stream_seq);
    if (rv != 0)
        return admin_reply_error(connection, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal",
                                 err_text(rv));
    assert(memchr(path, '\0', sizeof(path)) != NULL);
    if (path[0] == '\0')
        return admin_reply_error(connection, MHD_HTTP_NOT_FOUND, "no_snapshot",
                                 "this node has no snapshot yet");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat status;
    if (fd < 0 || fstat(fd, &status) != 0 || !S_ISREG(status.st_mode)) {
        char reason[128] = "not a readable regular file";
        if (fd < 0 && strerror_r(errno, reason, sizeof(reason)) != 0)
            snprintf(reason, sizeof(reason), "error %d", errno);
        /* The node goes on; the operator reads why the peer got a 500. */
        fprintf(stderr, "nodown http admin: snapshot %s: %s\n", path, reason);
        if (fd >= 0)
            close(fd);
        return admin_reply_error(connection, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal",
                                 "snapshot file unreadable");
    }
    /* From here on the response owns fd and closes it. */
    struct MHD_Response *response = MHD_create_response_from_fd64((uint64_t)status.st_size, fd);
    if (response == NULL) {
        close(fd);
        return MHD_NO;
    }
    char seq_text[24];
    snprintf(seq_text, sizeof(seq_text), "%" PRIu64, stream_seq);
    if (MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE,
                                "application/octet-stream") != MHD_YES ||
        MHD_add_response_header(response, "X-Nodown-Stream-Seq", seq_text) != MHD_YES) {
        MHD_destroy_response(response);
        return MHD_NO;
    }
    return admin_queue(connection, MHD_HTTP_OK, response);
}

/* GET /verify?at=SEQ */
static enum MHD_Result admin_reply_verify(struct http_admin *admin,
                                          struct MHD_Connection *connection)
{
    const char *at_text = MHD_lookup_connection_value(connection, MHD_GET_ARGUMENT_KIND, "at");
    char *end = NULL;
    errno = 0;
    unsigned long long at = at_text != NULL ? strtoull(at_text, &end, 10) : 0;
    if (at_text == NULL || end == at_text || *end != '\0' || errno != 0 || at == 0)
        return admin_reply_error(connection, MHD_HTTP_BAD_REQUEST, "bad_request",
                                 "verify needs at=<stream sequence>, 1 or more");
    size_t length = 0;
    int rv = admin->verify_cb(admin->verify_context, (uint64_t)at, admin->body,
                              HTTP_ADMIN_BODY_SIZE_MAX, &length);
    if (rv != 0)
        return admin_reply_error(connection, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal",
                                 err_text(rv));
    assert(length <= HTTP_ADMIN_BODY_SIZE_MAX);
    struct MHD_Response *response =
        admin_response_text(admin->body, length, "application/json");
    return admin_queue(connection, MHD_HTTP_OK, response);
}

/* ---- Request deadlines (see the top). ---- */

/* libmicrohttpd's word that a connection started or closed (its thread). */
static void admin_notify(void *context, struct MHD_Connection *connection,
                         void **socket_context, enum MHD_ConnectionNotificationCode code)
{
    struct http_admin *admin = context;
    pthread_mutex_lock(&admin->clocks_mutex);
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *info =
            MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
        for (uint32_t i = 0; info != NULL && i < admin->clock_count; i++) {
            struct admin_clock *clock = &admin->clocks[i];
            if (clock->used)
                continue;
            *clock = (struct admin_clock){.used = true, .fd = info->connect_fd,
                                          .start_ms = clock_now_ms()};
            *socket_context = clock;
            break;
        }
    } else if (code == MHD_CONNECTION_NOTIFY_CLOSED && *socket_context != NULL) {
        struct admin_clock *clock = *socket_context;
        assert(clock->used);
        clock->used = false;
        *socket_context = NULL;
    }
    pthread_mutex_unlock(&admin->clocks_mutex);
}

/* The request of connection is whole: its clock stops. */
static void admin_clock_stop(struct http_admin *admin, struct MHD_Connection *connection)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(connection, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    if (info == NULL || info->socket_context == NULL)
        return;
    pthread_mutex_lock(&admin->clocks_mutex);
    ((struct admin_clock *)info->socket_context)->answered = true;
    pthread_mutex_unlock(&admin->clocks_mutex);
}

/* Shuts down the connections whose request is late; logs them at most
 * once a second. */
static void admin_clocks_check(struct http_admin *admin)
{
    int64_t now_ms = clock_now_ms();
    pthread_mutex_lock(&admin->clocks_mutex);
    for (uint32_t i = 0; i < admin->clock_count; i++) {
        struct admin_clock *clock = &admin->clocks[i];
        if (!clock->used || clock->answered ||
            now_ms - clock->start_ms < (int64_t)admin->request_timeout_ms)
            continue;
        (void)shutdown(clock->fd, SHUT_RDWR); /* libmicrohttpd closes it */
        clock->answered = true;
        admin->requests_cut++;
        admin->cut_unlogged++;
    }
    pthread_mutex_unlock(&admin->clocks_mutex);
    if (admin->cut_unlogged > 0 && now_ms - admin->cut_logged_ms >= 1000) {
        fprintf(stderr, "nodown http admin: %" PRIu64 " connections closed for a request not "
                "whole within %u ms (%" PRIu64 " since start)\n", admin->cut_unlogged,
                admin->request_timeout_ms, admin->requests_cut);
        admin->cut_unlogged = 0;
        admin->cut_logged_ms = now_ms;
    }
}

/* The clocks, one per connection libmicrohttpd may hold, before it
 * starts. */
static int admin_clocks_init(struct http_admin *admin, const struct http_admin_config *config)
{
    admin->clock_count = config->connection_limit != 0 ? config->connection_limit
                                                       : HTTP_ADMIN_CONNECTION_LIMIT_DEFAULT;
    admin->request_timeout_ms = config->request_timeout_ms != 0
                                    ? config->request_timeout_ms
                                    : HTTP_ADMIN_REQUEST_TIMEOUT_MS_DEFAULT;
    atomic_init(&admin->stopping, false);
    admin->clocks = calloc(admin->clock_count, sizeof admin->clocks[0]);
    if (admin->clocks == NULL)
        return ERR_NOMEM;
    if (pthread_mutex_init(&admin->clocks_mutex, NULL) != 0) {
        free(admin->clocks);
        admin->clocks = NULL;
        return ERR_NOMEM;
    }
    return 0;
}

static void *admin_watchdog_main(void *context)
{
    struct http_admin *admin = context;
    while (!atomic_load(&admin->stopping)) {
        clock_sleep_ms(100);
        admin_clocks_check(admin);
    }
    return NULL;
}

static enum MHD_Result admin_handle(void *context, struct MHD_Connection *connection,
                                    const char *url, const char *method, const char *version,
                                    const char *upload_data, size_t *upload_data_size,
                                    void **request_state)
{
    struct http_admin *admin = context;
    (void)version;
    (void)upload_data;
    if (*request_state != NULL) {
        /* Already answered on the first call: drop any body bytes. */
        *upload_data_size = 0;
        return MHD_YES;
    }
    *request_state = admin;
    admin_clock_stop(admin, connection);
    const struct http_admin_asset *asset = admin_asset(admin, url);
    if (asset != NULL && strcmp(method, MHD_HTTP_METHOD_GET) == 0)
        return admin_reply_asset(connection, asset);
    if (!admin_authorized(admin, connection))
        return admin_reply_error(connection, MHD_HTTP_UNAUTHORIZED, "unauthorized",
                                 "missing or wrong bearer token");
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0)
        return admin_reply_error(connection, MHD_HTTP_METHOD_NOT_ALLOWED, "method_not_allowed",
                                 "only GET is served");
    if (strcmp(url, "/status") == 0)
        return admin_reply_render(admin, connection, admin->status_cb, admin->status_context,
                                  "application/json");
    if (strcmp(url, "/metrics") == 0)
        return admin_reply_render(admin, connection, admin->metrics_cb, admin->metrics_context,
                                  "text/plain; version=0.0.4");
    if (strcmp(url, "/snapshot/latest") == 0)
        return admin_reply_snapshot(admin, connection);
    if (strcmp(url, "/verify") == 0 && admin->verify_cb != NULL)
        return admin_reply_verify(admin, connection);
    if (strcmp(url, "/cluster") == 0 && admin->cluster_cb != NULL)
        return admin_reply_render(admin, connection, admin->cluster_cb, admin->cluster_context,
                                  "application/json");
    return admin_reply_error(connection, MHD_HTTP_NOT_FOUND, "not_found", "no such path");
}

/* ---- Start and stop. ---- */

static int admin_address_loopback(const struct sockaddr_storage *address)
{
    if (address->ss_family == AF_INET) {
        const struct sockaddr_in *ipv4 = (const struct sockaddr_in *)address;
        return (ntohl(ipv4->sin_addr.s_addr) >> 24) == 127;
    }
    assert(address->ss_family == AF_INET6);
    const struct sockaddr_in6 *ipv6 = (const struct sockaddr_in6 *)address;
    if (IN6_IS_ADDR_LOOPBACK(&ipv6->sin6_addr))
        return 1;
    /* ::ffff:127.x.y.z is IPv4 loopback too. */
    return IN6_IS_ADDR_V4MAPPED(&ipv6->sin6_addr) && ipv6->sin6_addr.s6_addr[12] == 127;
}

/* Parses host (a literal, never resolved: no DNS at start-up, and no
 * surprise about which address a name meant) into address. */
static int admin_address_parse(const struct http_admin_config *config,
                               struct sockaddr_storage *address, char *errmsg,
                               size_t errmsg_size)
{
    const char *host = config->host != NULL ? config->host : HTTP_ADMIN_HOST_DEFAULT;
    if (strcmp(host, "localhost") == 0)
        host = "127.0.0.1";
    memset(address, 0, sizeof(*address));
    struct sockaddr_in *ipv4 = (struct sockaddr_in *)address;
    struct sockaddr_in6 *ipv6 = (struct sockaddr_in6 *)address;
    if (inet_pton(AF_INET, host, &ipv4->sin_addr) == 1) {
        ipv4->sin_family = AF_INET;
        ipv4->sin_port = htons(config->port);
    } else if (inet_pton(AF_INET6, host, &ipv6->sin6_addr) == 1) {
        ipv6->sin6_family = AF_INET6;
        ipv6->sin6_port = htons(config->port);
    } else {
        admin_errmsg(errmsg, errmsg_size, "http admin: host '%s' is not an IP address", host);
        return ERR_USAGE;
    }
    if (!config->allow_non_loopback && !admin_address_loopback(address)) {
        admin_errmsg(errmsg, errmsg_size,
                     "http admin: host %s is not loopback; the operator token would cross "
                     "the network in clear text (allow it explicitly to bind there)", host);
        return ERR_USAGE;
    }
    return 0;
}

static int admin_config_check(const struct http_admin_config *config, char *errmsg,
                              size_t errmsg_size)
{
    if (!admin_token_valid(config->token)) {
        admin_errmsg(errmsg, errmsg_size,
                     "http admin: the operator token must be %u to %u visible ASCII characters",
                     HTTP_ADMIN_TOKEN_SIZE_MIN, HTTP_ADMIN_TOKEN_SIZE_MAX);
        return ERR_USAGE;
    }
    if (config->status_cb == NULL || config->metrics_cb == NULL ||
        config->snapshot_path_cb == NULL) {
        admin_errmsg(errmsg, errmsg_size, "http admin: a callback is missing");
        return ERR_USAGE;
    }
    return 0;
}

static int admin_daemon_start(struct http_admin *admin, const struct http_admin_config *config,
                              struct sockaddr_storage *address)
{
    /* MHD_USE_ITC: the polling thread is woken by a pipe of its own, not by
     * a shutdown() of the listening socket, which a process that took the
     * socket over would lose with it (http_admin_release). */
    unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG |
                         MHD_USE_ITC;
    if (address->ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    unsigned int connection_limit = config->connection_limit != 0
                                        ? config->connection_limit
                                        : HTTP_ADMIN_CONNECTION_LIMIT_DEFAULT;
    unsigned int per_address_limit = config->per_address_limit != 0
                                         ? config->per_address_limit
                                         : HTTP_ADMIN_PER_ADDRESS_LIMIT_DEFAULT;
    unsigned int timeout_s = config->connection_timeout_s != 0
                                 ? config->connection_timeout_s
                                 : HTTP_ADMIN_CONNECTION_TIMEOUT_S_DEFAULT;
    /* The port argument is ignored with MHD_OPTION_SOCK_ADDR but named in
     * libmicrohttpd's messages. */
    /* A socket handed over by the process before (a hand-over) is used as
     * it is, bound and listening. */
    struct MHD_OptionItem where[] = {
        config->listen_fd_inherited > 0
            ? (struct MHD_OptionItem){MHD_OPTION_LISTEN_SOCKET, config->listen_fd_inherited,
                                      NULL}
            : (struct MHD_OptionItem){MHD_OPTION_SOCK_ADDR, 0, address},
        {MHD_OPTION_END, 0, NULL},
    };
    admin->daemon = MHD_start_daemon(
        flags, config->port, NULL, NULL, admin_handle, admin,
        MHD_OPTION_EXTERNAL_LOGGER, admin_log, admin,
        MHD_OPTION_ARRAY, where,
        MHD_OPTION_CONNECTION_LIMIT, connection_limit,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_address_limit,
        MHD_OPTION_CONNECTION_TIMEOUT, timeout_s,
        MHD_OPTION_NOTIFY_CONNECTION, admin_notify, admin,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTP_ADMIN_REQUEST_MEMORY_SIZE,
        MHD_OPTION_END);
    if (admin->daemon == NULL)
        return ERR_IO;
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(admin->daemon,
                                                           MHD_DAEMON_INFO_BIND_PORT);
    if (info == NULL || info->port == 0)
        return ERR_IO;
    admin->port = info->port;
    return 0;
}

int http_admin_start(struct http_admin **out, const struct http_admin_config *config,
                     char *errmsg, size_t errmsg_size)
{
    assert(out != NULL);
    assert(config != NULL);
    *out = NULL;
    struct sockaddr_storage address;
    int rv = admin_config_check(config, errmsg, errmsg_size);
    if (rv == 0)
        rv = admin_address_parse(config, &address, errmsg, errmsg_size);
    if (rv != 0)
        return rv;
    struct http_admin *admin = calloc(1, sizeof(*admin));
    char *body = malloc(HTTP_ADMIN_BODY_SIZE_MAX);
    if (admin == NULL || body == NULL) {
        free(admin);
        free(body);
        admin_errmsg(errmsg, errmsg_size, "http admin: out of memory");
        return ERR_NOMEM;
    }
    admin->body = body;
    admin->token_size = strlen(config->token);
    memcpy(admin->token, config->token, admin->token_size);
    admin->status_cb = config->status_cb;
    admin->status_context = config->status_context;
    admin->metrics_cb = config->metrics_cb;
    admin->metrics_context = config->metrics_context;
    admin->snapshot_path_cb = config->snapshot_path_cb;
    admin->snapshot_context = config->snapshot_context;
    admin->verify_cb = config->verify_cb;
    admin->verify_context = config->verify_context;
    admin->cluster_cb = config->cluster_cb;
    admin->cluster_context = config->cluster_context;
    admin->assets = config->assets;
    admin->asset_count = config->asset_count;
    atomic_init(&admin->started, false);
    rv = admin_clocks_init(admin, config);
    if (rv == 0)
        rv = admin_daemon_start(admin, config, &address);
    if (rv == 0 && pthread_create(&admin->watchdog, NULL, admin_watchdog_main, admin) != 0)
        rv = ERR_IO;
    admin->watchdog_running = rv == 0;
    if (rv != 0) {
        admin_errmsg(errmsg, errmsg_size, "http admin: cannot listen on %s port %u: %s",
                     config->host != NULL ? config->host : HTTP_ADMIN_HOST_DEFAULT,
                     (unsigned int)config->port,
                     admin->start_log[0] != '\0' ? admin->start_log : "libmicrohttpd failed");
        http_admin_stop(admin);
        return rv;
    }
    atomic_store(&admin->started, true);
    *out = admin;
    return 0;
}

int http_admin_listen_fd(const struct http_admin *admin)
{
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(admin->daemon,
                                                           MHD_DAEMON_INFO_LISTEN_FD);
    return info != NULL ? info->listen_fd : -1;
}

uint16_t http_admin_port(const struct http_admin *admin)
{
    assert(admin != NULL);
    assert(admin->port != 0);
    return admin->port;
}

void http_admin_release(struct http_admin *admin)
{
    if (admin == NULL || admin->daemon == NULL)
        return;
    MHD_socket fd = MHD_quiesce_daemon(admin->daemon);
    if (fd != MHD_INVALID_SOCKET)
        close(fd); /* ours now: closed, not shut down */
}

void http_admin_stop(struct http_admin *admin)
{
    if (admin == NULL)
        return;
    atomic_store(&admin->stopping, true);
    if (admin->watchdog_running)
        pthread_join(admin->watchdog, NULL);
    if (admin->daemon != NULL)
        MHD_stop_daemon(admin->daemon); /* its last notifications use the clocks */
    if (admin->clocks != NULL) {
        pthread_mutex_destroy(&admin->clocks_mutex);
        free(admin->clocks);
    }
    admin_wipe(admin->token, sizeof(admin->token));
    free(admin->body);
    free(admin);
}

/* ---- A text published by the loop, read by the HTTP thread. ---- */

int http_admin_text_init(struct http_admin_text *text, char *buffer, size_t size)
{
    assert(text != NULL);
    assert(buffer != NULL || size == 0);
    text->buffer = buffer;
    text->size = size;
    text->length = 0;
    if (pthread_mutex_init(&text->mutex, NULL) != 0)
        return ERR_IO;
    return 0;
}

void http_admin_text_destroy(struct http_admin_text *text)
{
    int rv = pthread_mutex_destroy(&text->mutex);
    assert(rv == 0); /* only fails on a locked mutex: a bug of ours */
    (void)rv;
}

int http_admin_text_publish(struct http_admin_text *text, const char *data, size_t length)
{
    if (length > text->size)
        return ERR_CAPACITY;
    pthread_mutex_lock(&text->mutex);
    if (length > 0)
        memcpy(text->buffer, data, length);
    text->length = length;
    pthread_mutex_unlock(&text->mutex);
    return 0;
}

int http_admin_text_read(void *context, char *buffer, size_t size, size_t *length)
{
    struct http_admin_text *text = context;
    int rv = 0;
    *length = 0;
    pthread_mutex_lock(&text->mutex);
    assert(text->length <= text->size);
    if (text->length > size) {
        rv = ERR_CAPACITY;
    } else {
        if (text->length > 0)
            memcpy(buffer, text->buffer, text->length);
        *length = text->length;
    }
    pthread_mutex_unlock(&text->mutex);
    return rv;
}
