/* Tests of the HTTP admin interface (src/gateway/http_admin.h) over real
 * HTTP on 127.0.0.1: the server listens on a port the kernel picks, and a
 * small socket client below sends raw requests and parses the replies, so
 * the checks do not depend on any client's output format. One test also
 * fetches the snapshot with /usr/bin/curl, a real client we did not write.
 *
 * Checked: 401 without a token, with a wrong one, a prefix of it or a
 * longer one, another scheme; exact bodies and content types of /status
 * and /metrics; /snapshot/latest byte for byte (a 300 KB file) with its
 * X-Nodown-Stream-Seq; 404, 405, 500 from a failing callback; the
 * connection limit and the idle timeout; a request with oversized headers;
 * and start refusing non-loopback hosts, bad tokens and a port in use.
 *
 * Every connection is to 127.0.0.1 and every wait has a deadline, so the
 * binary ends in a few seconds even when the server misbehaves.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/result.h"
#include "gateway/http_admin.h"
#include "gateway/metrics.h"
#include "test.h"

#define TOKEN "s3cret-operator-token-0123456789"
#define SNAPSHOT_SIZE (300u * 1024u + 17u)
#define SNAPSHOT_SEQ UINT64_C(123456789012)
#define REPLY_SIZE_MAX (1024u * 1024u)
#define WAIT_MS 5000

static const char status_json[] = "{\"node_id\":7,\"applied_seq\":42,\"nats\":\"connected\"}";

struct reply {
    char *bytes; /* the whole reply, NUL-terminated */
    size_t size;
    int status;  /* 0 when no status line came back */
    char *headers; /* after the status line, NUL-terminated */
    char *body;
    size_t body_size;
};

static char reply_storage[REPLY_SIZE_MAX];
static struct reply reply = { .bytes = reply_storage };
static char value[256];

/* ---- The node's side: callbacks and their data. ---- */

struct node {
    int status_error; /* returned by status_cb when not 0 */
    struct node_metrics metrics;
    char snapshot_path[256]; /* "" until a snapshot exists */
    uint64_t snapshot_seq;
};

static int status_cb(void *context, char *buffer, size_t size, size_t *length)
{
    struct node *node = context;
    if (node->status_error != 0)
        return node->status_error;
    if (size < sizeof(status_json) - 1)
        return ERR_CAPACITY;
    memcpy(buffer, status_json, sizeof(status_json) - 1);
    *length = sizeof(status_json) - 1;
    return 0;
}

static int snapshot_path_cb(void *context, char *path, size_t size, uint64_t *stream_seq)
{
    struct node *node = context;
    if (strlen(node->snapshot_path) >= size)
        return ERR_CAPACITY;
    strcpy(path, node->snapshot_path);
    *stream_seq = node->snapshot_seq;
    return 0;
}

static struct http_admin_config config_for(struct node *node)
{
    struct http_admin_config config = {
        .host = "127.0.0.1",
        .port = 0,
        .token = TOKEN,
        .status_cb = status_cb,
        .status_context = node,
        .metrics_cb = metrics_render_cb,
        .metrics_context = &node->metrics,
        .snapshot_path_cb = snapshot_path_cb,
        .snapshot_context = node,
    };
    return config;
}

/* ---- A server shared by most tests, stopped and cleaned up at exit. ---- */

static struct node shared_node;
static struct http_admin *shared_admin;
static char temp_dir[64];
static unsigned char *snapshot_bytes;

static void shared_cleanup(void)
{
    http_admin_stop(shared_admin);
    shared_admin = NULL;
    if (shared_node.snapshot_path[0] != '\0')
        unlink(shared_node.snapshot_path);
    if (temp_dir[0] != '\0')
        rmdir(temp_dir);
    free(snapshot_bytes);
}

static int write_snapshot_file(void)
{
    strcpy(temp_dir, "/tmp/nodown-http-admin-XXXXXX");
    if (mkdtemp(temp_dir) == NULL) {
        temp_dir[0] = '\0';
        return -1;
    }
    snapshot_bytes = malloc(SNAPSHOT_SIZE);
    if (snapshot_bytes == NULL)
        return -1;
    uint64_t state = 0x9e3779b97f4a7c15u;
    for (size_t i = 0; i < SNAPSHOT_SIZE; i++) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        snapshot_bytes[i] = (unsigned char)(state >> 24);
    }
    snprintf(shared_node.snapshot_path, sizeof(shared_node.snapshot_path),
             "%s/snapshot-000123.bin", temp_dir);
    FILE *file = fopen(shared_node.snapshot_path, "wb");
    if (file == NULL)
        return -1;
    size_t written = fwrite(snapshot_bytes, 1, SNAPSHOT_SIZE, file);
    return fclose(file) == 0 && written == SNAPSHOT_SIZE ? 0 : -1;
}

/* Returns the shared server's port, starting it on first use; 0 if that
 * failed. */
static uint16_t shared_port(void)
{
    if (shared_admin != NULL)
        return http_admin_port(shared_admin);
    atexit(shared_cleanup);
    metrics_init(&shared_node.metrics);
    metrics_counter_add(&shared_node.metrics.orders_total, 77);
    metrics_histogram_observe(&shared_node.metrics.apply_latency_us, 12);
    shared_node.snapshot_seq = SNAPSHOT_SEQ;
    if (write_snapshot_file() != 0)
        return 0;
    struct http_admin_config config = config_for(&shared_node);
    char errmsg[256] = "";
    if (http_admin_start(&shared_admin, &config, errmsg, sizeof(errmsg)) != 0) {
        fprintf(stderr, "  start: %s\n", errmsg);
        return 0;
    }
    return http_admin_port(shared_admin);
}

/* ---- A minimal HTTP client. ---- */


static int64_t now_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

static int connect_loopback(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in address = { .sin_family = AF_INET, .sin_port = htons(port) };
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&address, sizeof(address)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Waits up to timeout_ms for the peer to close fd (after any bytes);
 * returns 1 if it did, 0 on timeout. */
static int wait_closed(int fd, int timeout_ms)
{
    int64_t deadline = now_ms() + timeout_ms;
    char scratch[4096];
    for (;;) {
        int64_t left = deadline - now_ms();
        if (left <= 0)
            return 0;
        struct pollfd poll_fd = { .fd = fd, .events = POLLIN };
        if (poll(&poll_fd, 1, (int)left) <= 0)
            continue;
        ssize_t got = recv(fd, scratch, sizeof(scratch), 0);
        if (got == 0 || (got < 0 && errno == ECONNRESET))
            return 1;
    }
}

static int send_all(int fd, const char *data, size_t size)
{
    while (size > 0) {
        ssize_t sent = send(fd, data, size, MSG_NOSIGNAL);
        if (sent <= 0)
            return -1;
        data += sent;
        size -= (size_t)sent;
    }
    return 0;
}

/* Reads until the server closes (every request says Connection: close)
 * or the deadline. */
static size_t receive_all(int fd, char *buffer, size_t size)
{
    size_t used = 0;
    int64_t deadline = now_ms() + WAIT_MS;
    while (used + 1 < size) {
        int64_t left = deadline - now_ms();
        if (left <= 0)
            break;
        struct pollfd poll_fd = { .fd = fd, .events = POLLIN };
        if (poll(&poll_fd, 1, (int)left) <= 0)
            continue;
        ssize_t got = recv(fd, buffer + used, size - 1 - used, 0);
        if (got <= 0)
            break;
        used += (size_t)got;
    }
    buffer[used] = '\0';
    return used;
}

static void reply_parse(struct reply *reply)
{
    reply->status = 0;
    reply->headers = NULL;
    reply->body = NULL;
    reply->body_size = 0;
    if (sscanf(reply->bytes, "HTTP/1.1 %d ", &reply->status) != 1)
        reply->status = 0;
    char *end = strstr(reply->bytes, "\r\n\r\n");
    char *line_end = strstr(reply->bytes, "\r\n");
    if (end == NULL || line_end == NULL)
        return;
    end[2] = '\0'; /* headers end in one "\r\n" now */
    reply->headers = line_end + 2;
    reply->body = end + 4;
    reply->body_size = reply->size - (size_t)(reply->body - reply->bytes);
}

/* Sends request as it is and reads the whole reply; returns 0 or -1. */
static int http_exchange(uint16_t port, const char *request, size_t request_size,
                         struct reply *reply)
{
    reply->bytes[0] = '\0';
    reply->size = 0;
    reply->status = 0;
    reply->headers = NULL;
    reply->body = NULL;
    reply->body_size = 0;
    int fd = connect_loopback(port);
    if (fd < 0)
        return -1;
    if (send_all(fd, request, request_size) != 0) {
        close(fd);
        return -1;
    }
    reply->size = receive_all(fd, reply->bytes, REPLY_SIZE_MAX);
    close(fd);
    reply_parse(reply);
    return 0;
}

/* method path with an Authorization header when authorization is not
 * NULL, then extra header lines, then body. */
static int http_request(uint16_t port, const char *method, const char *path,
                        const char *authorization, const char *body, struct reply *reply)
{
    char request[2048];
    int length = snprintf(request, sizeof(request),
                          "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                          "%s%s%s"
                          "Content-Length: %zu\r\n\r\n%s",
                          method, path, authorization != NULL ? "Authorization: " : "",
                          authorization != NULL ? authorization : "",
                          authorization != NULL ? "\r\n" : "", strlen(body), body);
    if (length < 0 || (size_t)length >= sizeof(request))
        return -1;
    return http_exchange(port, request, (size_t)length, reply);
}

static int http_get(uint16_t port, const char *path, struct reply *reply)
{
    return http_request(port, "GET", path, "Bearer " TOKEN, "", reply);
}

/* The value of header name (case-insensitive), copied into value; "" if
 * absent. */
static const char *reply_header(const struct reply *reply, const char *name, char *value,
                                size_t size)
{
    value[0] = '\0';
    size_t name_size = strlen(name);
    for (const char *line = reply->headers; line != NULL && *line != '\0';) {
        const char *line_end = strstr(line, "\r\n");
        if (line_end == NULL)
            break;
        if ((size_t)(line_end - line) > name_size && strncasecmp(line, name, name_size) == 0 &&
            line[name_size] == ':') {
            const char *start = line + name_size + 1;
            while (*start == ' ')
                start++;
            size_t value_size = (size_t)(line_end - start);
            if (value_size >= size)
                value_size = size - 1;
            memcpy(value, start, value_size);
            value[value_size] = '\0';
            break;
        }
        line = line_end + 2;
    }
    return value;
}

/* ---- Tests. ---- */

static const char body_unauthorized[] =
    "{\"error\":\"unauthorized\",\"message\":\"missing or wrong bearer token\"}\n";

TEST(token_required)
{
    uint16_t port = shared_port();
    CHECK(port != 0);
    const char *wrong[] = {
        NULL,                                       /* no header */
        "Bearer",                                   /* no token */
        "Bearer ",                                  /* empty token */
        "Bearer s3cret-operator-token-012345678",   /* a prefix */
        "Bearer s3cret-operator-token-0123456789x", /* longer */
        "Bearer S3cret-operator-token-0123456789",  /* one byte off */
        "Basic " TOKEN,                             /* another scheme */
        TOKEN,                                      /* no scheme */
    };
    const char *paths[] = { "/status", "/metrics", "/snapshot/latest", "/nothing" };
    for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++) {
        const char *path = paths[i % 4];
        CHECK_EQ_I64(http_request(port, "GET", path, wrong[i], "", &reply), 0);
        CHECK_EQ_I64(reply.status, 401);
        CHECK_STR(reply_header(&reply, "Content-Type", value, sizeof(value)),
                  "application/json");
        CHECK_STR(reply_header(&reply, "WWW-Authenticate", value, sizeof(value)),
                  "Bearer realm=\"nodown\"");
        CHECK_EQ_I64(reply.body_size, strlen(body_unauthorized));
        CHECK_STR(reply.body, body_unauthorized);
    }
    /* Not even the method is judged before the token. */
    CHECK_EQ_I64(http_request(port, "POST", "/status", NULL, "x=1", &reply), 0);
    CHECK_EQ_I64(reply.status, 401);
    /* The scheme is case-insensitive, the token is not. */
    CHECK_EQ_I64(http_request(port, "GET", "/status", "bearer " TOKEN, "", &reply), 0);
    CHECK_EQ_I64(reply.status, 200);
}

TEST(status_exact)
{
    uint16_t port = shared_port();
    CHECK(port != 0);
    CHECK_EQ_I64(http_get(port, "/status", &reply), 0);
    CHECK_EQ_I64(reply.status, 200);
    CHECK_STR(reply_header(&reply, "Content-Type", value, sizeof(value)), "application/json");
    CHECK_STR(reply_header(&reply, "Content-Length", value, sizeof(value)), "49");
    CHECK_STR(reply_header(&reply, "Cache-Control", value, sizeof(value)), "no-store");
    CHECK_EQ_I64(reply.body_size, strlen(status_json));
    CHECK_STR(reply.body, status_json);
    /* Asked for keep-alive, the server still closes: one request per
     * connection. */
    const char keep_alive[] = "GET /status HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer "
                              TOKEN "\r\n\r\n";
    int64_t start_ms = now_ms();
    CHECK_EQ_I64(http_exchange(port, keep_alive, sizeof(keep_alive) - 1, &reply), 0);
    CHECK(now_ms() - start_ms < WAIT_MS / 2);
    CHECK_EQ_I64(reply.status, 200);
    CHECK_STR(reply_header(&reply, "Connection", value, sizeof(value)), "close");
    CHECK_STR(reply.body, status_json);
    /* A query string does not change the route. */
    CHECK_EQ_I64(http_get(port, "/status?verbose=1", &reply), 0);
    CHECK_EQ_I64(reply.status, 200);
    CHECK_STR(reply.body, status_json);
}

TEST(metrics_exact)
{
    uint16_t port = shared_port();
    CHECK(port != 0);
    static char expected[METRICS_RENDER_SIZE_MAX];
    size_t expected_length = 0;
    CHECK_EQ_I64(metrics_render(&shared_node.metrics, expected, sizeof(expected),
                                &expected_length), 0);
    CHECK(strstr(expected, "\nnodown_orders_total 77\n") != NULL);
    CHECK(strstr(expected, "\nnodown_apply_latency_us_bucket{le=\"10\"} 0\n") != NULL);
    CHECK(strstr(expected, "\nnodown_apply_latency_us_bucket{le=\"20\"} 1\n") != NULL);
    CHECK_EQ_I64(http_get(port, "/metrics", &reply), 0);
    CHECK_EQ_I64(reply.status, 200);
    CHECK_STR(reply_header(&reply, "Content-Type", value, sizeof(value)),
              "text/plain; version=0.0.4");
    CHECK_EQ_I64(reply.body_size, expected_length);
    CHECK_STR(reply.body, expected);
}

TEST(snapshot_streams_the_file)
{
    uint16_t port = shared_port();
    CHECK(port != 0);
    CHECK_EQ_I64(http_get(port, "/snapshot/latest", &reply), 0);
    CHECK_EQ_I64(reply.status, 200);
    CHECK_STR(reply_header(&reply, "Content-Type", value, sizeof(value)),
              "application/octet-stream");
    CHECK_STR(reply_header(&reply, "X-Nodown-Stream-Seq", value, sizeof(value)),
              "123456789012");
    CHECK_STR(reply_header(&reply, "Content-Length", value, sizeof(value)), "307217");
    CHECK_EQ_I64(reply.body_size, SNAPSHOT_SIZE);
    CHECK(memcmp(reply.body, snapshot_bytes, SNAPSHOT_SIZE) == 0);
}

TEST(snapshot_with_curl)
{
    uint16_t port = shared_port();
    CHECK(port != 0);
    char out_path[128];
    snprintf(out_path, sizeof(out_path), "%s/fetched.bin", temp_dir);
    char command[512];
    snprintf(command, sizeof(command),
             "/usr/bin/curl --silent --show-error --noproxy '*' --max-time 5 "
             "--header 'Authorization: Bearer %s' --output %s "
             "--write-out '%%{http_code} %%{content_type}' http://127.0.0.1:%u/snapshot/latest",
             TOKEN, out_path, (unsigned int)port);
    FILE *pipe = popen(command, "r");
    CHECK(pipe != NULL);
    char output[128] = "";
    size_t got = fread(output, 1, sizeof(output) - 1, pipe);
    output[got] = '\0';
    int status = pclose(pipe);
    struct stat file_status;
    int stat_rv = stat(out_path, &file_status);
    FILE *file = fopen(out_path, "rb");
    unlink(out_path);
    CHECK_EQ_I64(status, 0);
    CHECK_STR(output, "200 application/octet-stream");
    CHECK_EQ_I64(stat_rv, 0);
    CHECK_EQ_I64(file_status.st_size, SNAPSHOT_SIZE);
    CHECK(file != NULL);
    size_t read = fread(reply.bytes, 1, REPLY_SIZE_MAX, file);
    fclose(file);
    CHECK_EQ_I64(read, SNAPSHOT_SIZE);
    CHECK(memcmp(reply.bytes, snapshot_bytes, SNAPSHOT_SIZE) == 0);
}

TEST(not_found_and_method_not_allowed)
{
    uint16_t port = shared_port();
    CHECK(port != 0);
    const char *paths[] = { "/", "/statusx", "/snapshot", "/snapshot/latest/x", "/METRICS" };
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        CHECK_EQ_I64(http_get(port, paths[i], &reply), 0);
        CHECK_EQ_I64(reply.status, 404);
        CHECK_STR(reply_header(&reply, "Content-Type", value, sizeof(value)),
                  "application/json");
        CHECK_STR(reply.body, "{\"error\":\"not_found\",\"message\":\"no such path\"}\n");
    }
    const char *methods[] = { "POST", "PUT", "DELETE", "HEAD", "OPTIONS" };
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
        const char *body = strcmp(methods[i], "HEAD") == 0 ? "" : "{\"ignored\":true}";
        CHECK_EQ_I64(http_request(port, methods[i], "/status", "Bearer " TOKEN, body, &reply),
                     0);
        CHECK_EQ_I64(reply.status, 405);
        CHECK_STR(reply_header(&reply, "Allow", value, sizeof(value)), "GET");
        if (strcmp(methods[i], "HEAD") != 0)
            CHECK_STR(reply.body, "{\"error\":\"method_not_allowed\",\"message\":\"only GET is "
                                  "served\"}\n");
    }
    /* The server still answers after all that. */
    CHECK_EQ_I64(http_get(port, "/status", &reply), 0);
    CHECK_EQ_I64(reply.status, 200);
}

TEST(callback_failures)
{
    uint16_t port = shared_port();
    CHECK(port != 0);
    shared_node.status_error = ERR_IO;
    int rv = http_get(port, "/status", &reply);
    shared_node.status_error = 0;
    CHECK_EQ_I64(rv, 0);
    CHECK_EQ_I64(reply.status, 500);
    CHECK_STR(reply.body, "{\"error\":\"internal\",\"message\":\"input/output error\"}\n");
    /* No snapshot yet: 404 with its own code. */
    char saved[sizeof(shared_node.snapshot_path)];
    strcpy(saved, shared_node.snapshot_path);
    shared_node.snapshot_path[0] = '\0';
    rv = http_get(port, "/snapshot/latest", &reply);
    strcpy(shared_node.snapshot_path, saved);
    CHECK_EQ_I64(rv, 0);
    CHECK_EQ_I64(reply.status, 404);
    CHECK_STR(reply.body, "{\"error\":\"no_snapshot\",\"message\":\"this node has no snapshot "
                          "yet\"}\n");
    /* A snapshot named but gone: 500, and nothing of it sent. */
    snprintf(shared_node.snapshot_path, sizeof(shared_node.snapshot_path), "%s/gone.bin",
             temp_dir);
    rv = http_get(port, "/snapshot/latest", &reply);
    strcpy(shared_node.snapshot_path, saved);
    CHECK_EQ_I64(rv, 0);
    CHECK_EQ_I64(reply.status, 500);
    CHECK_STR(reply.body, "{\"error\":\"internal\",\"message\":\"snapshot file unreadable\"}\n");
}

TEST(oversized_headers_refused)
{
    uint16_t port = shared_port();
    CHECK(port != 0);
    size_t size = 2 * HTTP_ADMIN_REQUEST_MEMORY_SIZE;
    char *request = malloc(size + 256);
    CHECK(request != NULL);
    int length = snprintf(request, 256, "GET /status HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                        "Authorization: Bearer " TOKEN "\r\nX-Padding: ");
    memset(request + length, 'a', size);
    memcpy(request + length + size, "\r\n\r\n", 4);
    int rv = http_exchange(port, request, (size_t)length + size + 4, &reply);
    free(request);
    /* The server may reset before the request is fully sent: either way
     * no 200 comes back. */
    CHECK(rv == 0 || rv == -1);
    CHECK(reply.status != 200);
    CHECK(reply.status == 0 || reply.status == 431 || reply.status == 413);
    CHECK_EQ_I64(http_get(port, "/status", &reply), 0);
    CHECK_EQ_I64(reply.status, 200);
}

/* A third connection over a limit of two waits unserved in the kernel's
 * backlog (libmicrohttpd stops accepting at the limit) until the two idle
 * ones are closed by the one-second timeout; then it is served. */
TEST(connection_limit_and_timeout)
{
    struct node node;
    memset(&node, 0, sizeof(node));
    metrics_init(&node.metrics);
    struct http_admin_config config = config_for(&node);
    config.connection_limit = 2;
    config.connection_timeout_s = 1;
    struct http_admin *admin = NULL;
    char errmsg[256] = "";
    CHECK_EQ_I64(http_admin_start(&admin, &config, errmsg, sizeof(errmsg)), 0);
    uint16_t port = http_admin_port(admin);
    int64_t start_ms = now_ms();
    int fds[3] = { connect_loopback(port), connect_loopback(port), -1 };
    /* Let the server accept both before the third arrives. */
    struct timespec pause = { .tv_sec = 0, .tv_nsec = 100 * 1000 * 1000 };
    nanosleep(&pause, NULL);
    fds[2] = connect_loopback(port);
    const char request[] = "GET /status HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer "
                           TOKEN "\r\nConnection: close\r\n\r\n";
    int sent = fds[2] >= 0 && send_all(fds[2], request, sizeof(request) - 1) == 0;
    struct pollfd poll_fd = { .fd = fds[2], .events = POLLIN };
    int early = fds[2] >= 0 ? poll(&poll_fd, 1, 400) : -1;
    /* The two idle ones are closed after about a second without a byte. */
    int first_closed = fds[0] >= 0 && wait_closed(fds[0], 4000);
    int second_closed = fds[1] >= 0 && wait_closed(fds[1], 4000);
    int64_t idle_ms = now_ms() - start_ms;
    size_t size = fds[2] >= 0 ? receive_all(fds[2], reply.bytes, REPLY_SIZE_MAX) : 0;
    for (int i = 0; i < 3; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    http_admin_stop(admin);
    CHECK(sent);
    CHECK_EQ_I64(early, 0); /* nothing came back while the limit was reached */
    CHECK_EQ_I64(first_closed, 1);
    CHECK_EQ_I64(second_closed, 1);
    CHECK(idle_ms >= 900);
    CHECK(idle_ms < 4000);
    reply.size = size;
    reply_parse(&reply);
    CHECK_EQ_I64(reply.status, 200);
    CHECK_STR(reply.body, status_json);
}

static int start_error(const char *host, const char *token, char *errmsg, size_t size)
{
    struct node node;
    memset(&node, 0, sizeof(node));
    struct http_admin_config config = config_for(&node);
    config.host = host;
    config.token = token;
    struct http_admin *admin = (struct http_admin *)&node; /* must be reset to NULL */
    errmsg[0] = '\0';
    int rv = http_admin_start(&admin, &config, errmsg, size);
    if (rv == 0 && admin != NULL)
        http_admin_stop(admin);
    else if (admin != NULL)
        return 1; /* a failed start must leave *out NULL */
    return rv;
}

TEST(start_refuses_bad_config)
{
    char errmsg[256];
    const char *hosts[] = { "0.0.0.0", "192.0.2.1", "::", "2001:db8::1", "::ffff:192.0.2.1" };
    for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
        CHECK_EQ_I64(start_error(hosts[i], TOKEN, errmsg, sizeof(errmsg)), ERR_USAGE);
        CHECK(strstr(errmsg, "is not loopback") != NULL);
        CHECK(strstr(errmsg, hosts[i]) != NULL);
    }
    CHECK_EQ_I64(start_error("admin.example", TOKEN, errmsg, sizeof(errmsg)), ERR_USAGE);
    CHECK_STR(errmsg, "http admin: host 'admin.example' is not an IP address");
    const char *tokens[] = { NULL, "", "fifteen-chars-x", "has a space in the token ok",
                             "tab\tin-the-token-0123456", "caf\xc3\xa9-not-ascii-0123456" };
    for (size_t i = 0; i < sizeof(tokens) / sizeof(tokens[0]); i++) {
        CHECK_EQ_I64(start_error("127.0.0.1", tokens[i], errmsg, sizeof(errmsg)), ERR_USAGE);
        CHECK_STR(errmsg, "http admin: the operator token must be 16 to 256 visible ASCII "
                          "characters");
    }
    CHECK_EQ_I64(strlen("sixteen-chars-xx"), 16);
    CHECK_EQ_I64(start_error("127.0.0.1", "sixteen-chars-xx", errmsg, sizeof(errmsg)), 0);
    char long_token[258];
    memset(long_token, 'k', 257);
    long_token[257] = '\0';
    CHECK_EQ_I64(start_error("127.0.0.1", long_token, errmsg, sizeof(errmsg)), ERR_USAGE);
    long_token[256] = '\0';
    CHECK_EQ_I64(start_error("127.0.0.1", long_token, errmsg, sizeof(errmsg)), 0);
}

TEST(start_reports_port_in_use)
{
    uint16_t port = shared_port();
    CHECK(port != 0);
    struct node node;
    memset(&node, 0, sizeof(node));
    struct http_admin_config config = config_for(&node);
    config.host = "localhost"; /* 127.0.0.1, not resolved */
    config.port = port;
    struct http_admin *admin = NULL;
    char errmsg[256] = "";
    int rv = http_admin_start(&admin, &config, errmsg, sizeof(errmsg));
    if (admin != NULL)
        http_admin_stop(admin);
    CHECK_EQ_I64(rv, ERR_IO);
    CHECK(admin == NULL);
    char expected[64];
    snprintf(expected, sizeof(expected), "http admin: cannot listen on localhost port %u: ",
             (unsigned int)port);
    CHECK(strncmp(errmsg, expected, strlen(expected)) == 0);
    CHECK(strstr(errmsg, "Address already in use") != NULL);
}

TEST(published_text)
{
    char storage[8];
    struct http_admin_text text;
    CHECK_EQ_I64(http_admin_text_init(&text, storage, sizeof(storage)), 0);
    char out[16];
    size_t length = 99;
    CHECK_EQ_I64(http_admin_text_read(&text, out, sizeof(out), &length), 0);
    CHECK_EQ_I64(length, 0);
    CHECK_EQ_I64(http_admin_text_publish(&text, "{\"a\":1}", 7), 0);
    CHECK_EQ_I64(http_admin_text_publish(&text, "{\"a\":100}", 9), ERR_CAPACITY);
    CHECK_EQ_I64(http_admin_text_read(&text, out, sizeof(out), &length), 0);
    CHECK_EQ_I64(length, 7);
    CHECK(memcmp(out, "{\"a\":1}", 7) == 0);
    CHECK_EQ_I64(http_admin_text_read(&text, out, 6, &length), ERR_CAPACITY);
    CHECK_EQ_I64(length, 0);
    http_admin_text_destroy(&text);
}

TEST(stop_null_is_allowed)
{
    http_admin_stop(NULL);
}

TEST_MAIN()
