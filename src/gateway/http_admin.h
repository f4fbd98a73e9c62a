/* The HTTP admin interface of a node, on libmicrohttpd (docs/admin.md).
 *
 *   GET /status           200 application/json, from status_cb
 *   GET /metrics          200 text/plain; version=0.0.4, from metrics_cb
 *   GET /snapshot/latest  200 application/octet-stream, the file that
 *                         snapshot_path_cb names, with X-Nodown-Stream-Seq
 *   GET /verify?at=SEQ    200 application/json, from verify_cb (when set):
 *                         asks for the state's digest and invariant check
 *                         at stream sequence SEQ, and says how far it is
 *   GET /cluster          200 application/json, from cluster_cb (when set):
 *                         every node's status as this node sees it (the
 *                         operator's page, src/page/)
 *   GET <asset path>      the config's static assets (the operator's page),
 *                         the only answers given without the token: they
 *                         hold no data, only the page that asks for it
 *
 * Every other request must carry "Authorization: Bearer <operator token>"
 * (compared in constant time), or it gets 401 whatever its path. Any
 * method but GET gets 405, any other path 404; every error body is JSON,
 * {"error":"<code>","message":"<text>"}. A request body is never read,
 * and every answer closes its connection (no keep-alive).
 *
 * It binds to loopback by default and refuses any other address unless
 * allow_non_loopback is set: the token travels in clear text.
 *
 * Threads. libmicrohttpd runs one internal thread that accepts, reads and
 * answers every connection (no thread per connection, no pool), so the
 * callbacks are called on that thread, one at a time, while the node's
 * loop keeps running. The node must hand them consistent data: a callback
 * must not read the engine or any state the loop changes without a lock.
 * Two ways that work:
 *
 * - the loop renders the text itself when it is consistent (status after
 *   a batch, say) and publishes it to a `struct http_admin_text` below,
 *   whose http_admin_text_read is then the callback: a memcpy under a mutex
 *   on each side;
 * - the callback reads values that are safe to read from another thread,
 *   as metrics_render_cb (gateway/metrics.h) does with relaxed atomics.
 *
 * Bounds: at most connection_limit connections at once, and
 * per_address_limit from one source address (more are closed on accept),
 * each closed after connection_timeout_s idle seconds or when its request
 * is not whole request_timeout_ms after it opened, at most
 * HTTP_ADMIN_REQUEST_MEMORY_SIZE of request headers per connection, and
 * bodies of at most HTTP_ADMIN_BODY_SIZE_MAX from status and metrics.
 */
#ifndef NODOWN_GATEWAY_HTTP_ADMIN_H
#define NODOWN_GATEWAY_HTTP_ADMIN_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The operator token: 16..256 bytes, sent as a bearer token. */
#define HTTP_ADMIN_TOKEN_SIZE_MIN 16u
#define HTTP_ADMIN_TOKEN_SIZE_MAX 256u
/* The largest status or metrics text a callback may produce. */
#define HTTP_ADMIN_BODY_SIZE_MAX (256u * 1024u)
/* Request line and headers of one connection must fit in this. */
#define HTTP_ADMIN_REQUEST_MEMORY_SIZE (32u * 1024u)
/* Defaults for a zero in the config: connections at once, from one
 * source address, seconds idle, and milliseconds for a whole request
 * (line and headers) from the connection's start. A client that drips a
 * request a byte at a time is never idle, so the request deadline is what
 * frees its place; the per-address limit keeps a few sources from taking
 * every place meanwhile (docs/admin.md). */
#define HTTP_ADMIN_CONNECTION_LIMIT_DEFAULT 256u
#define HTTP_ADMIN_PER_ADDRESS_LIMIT_DEFAULT 8u
#define HTTP_ADMIN_CONNECTION_TIMEOUT_S_DEFAULT 10u
#define HTTP_ADMIN_REQUEST_TIMEOUT_MS_DEFAULT 5000u
#define HTTP_ADMIN_HOST_DEFAULT "127.0.0.1"
/* libmicrohttpd's messages logged a second at most (more are counted). */
#define HTTP_ADMIN_LOG_LINES_PER_S 5u

/* Writes a text (JSON for status, Prometheus text for metrics) of at most
 * size bytes into buffer, sets *length, returns 0 or a negative ERR_*
 * (answered as 500). No NUL is needed. Called on the HTTP thread. */
typedef int (*http_admin_render_cb)(void *context, char *buffer, size_t size, size_t *length);

/* Writes the path of the latest snapshot file (NUL-terminated, at most
 * size bytes with the NUL) and the stream sequence it holds the state
 * after; returns 0 or a negative ERR_* (answered as 500). An empty path
 * means there is no snapshot yet (answered as 404). The file is opened
 * once per request and streamed from that open file, so the node must
 * replace a snapshot by writing a new file and renaming it, never rewrite
 * one in place. Called on the HTTP thread. */
typedef int (*http_admin_snapshot_path_cb)(void *context, char *path, size_t size,
                                           uint64_t *stream_seq);

/* /verify?at=SEQ: writes the JSON answer for SEQ (a decimal stream
 * sequence, checked) like a render callback. Called on the HTTP thread. */
typedef int (*http_admin_verify_cb)(void *context, uint64_t at, char *buffer, size_t size,
                                    size_t *length);

/* A file served as it is, without the token (the operator's page): it
 * must hold no data of the node. */
struct http_admin_asset {
    const char *path;         /* "/ops" */
    const char *content_type; /* "text/html; charset=utf-8" */
    const unsigned char *data;
    size_t length;
};

/* The Content-Security-Policy of every asset: scripts and connections to
 * this node only, nothing inline but styles. */
#define HTTP_ADMIN_ASSET_CSP                                                                  \
    "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self' "         \
    "'unsafe-inline'; img-src 'self'; base-uri 'none'; form-action 'none'; "               \
    "frame-ancestors 'none'"

struct http_admin_config {
    const char *host;          /* an IPv4 or IPv6 literal, or "localhost";
                                  NULL is HTTP_ADMIN_HOST_DEFAULT */
    uint16_t port;             /* 0 picks a free port: see http_admin_port */
    bool allow_non_loopback;   /* must be set to bind anything but loopback */
    const char *token;         /* the operator token, copied */
    http_admin_render_cb status_cb;
    void *status_context;
    http_admin_render_cb metrics_cb;
    void *metrics_context;
    http_admin_snapshot_path_cb snapshot_path_cb;
    void *snapshot_context;
    http_admin_verify_cb verify_cb; /* NULL: /verify is 404 */
    void *verify_context;
    http_admin_render_cb cluster_cb; /* NULL: /cluster is 404 */
    void *cluster_context;
    const struct http_admin_asset *assets; /* asset_count of them, kept by the caller */
    uint32_t asset_count;
    uint32_t connection_limit;      /* 0 is the default */
    uint32_t connection_timeout_s;  /* 0 is the default */
    uint32_t per_address_limit;     /* 0 is the default */
    uint32_t request_timeout_ms;    /* 0 is the default */
    int listen_fd_inherited;        /* > 0: serve on this socket, bound and listening,
                                     * handed over by the process before (host, port unused) */
};

struct http_admin;

/* Validates config, binds and starts serving on libmicrohttpd's thread.
 * Returns 0 and *out, or ERR_USAGE (bad config: host not a literal, a
 * non-loopback host without allow_non_loopback, token size, a missing
 * callback), ERR_IO (cannot bind or start) or ERR_NOMEM, with a sentence
 * in errmsg. */
int http_admin_start(struct http_admin **out, const struct http_admin_config *config,
                     char *errmsg, size_t errmsg_size);

/* Its listening socket, to hand over (docs/upgrades.md), or -1. */
int http_admin_listen_fd(const struct http_admin *admin);

/* The port it listens on (the one chosen when config.port was 0). */
uint16_t http_admin_port(const struct http_admin *admin);

/* Stops accepting on the listening socket and closes this process's copy
 * of it without shutting it down: a process it was handed over to goes on
 * accepting on its own copy. Requests under way are still answered. */
void http_admin_release(struct http_admin *admin);

/* Stops serving (closing every connection; no callback runs after it
 * returns) and frees admin. NULL is allowed. */
void http_admin_stop(struct http_admin *admin);

/* ---- A text published by the node's loop, read by the HTTP thread. ---- */

/* The loop renders a text into its own scratch buffer with no lock held,
 * then http_admin_text_publish copies it here under the mutex; the HTTP
 * thread's http_admin_text_read copies it out under the same mutex. Each
 * side holds the lock for one memcpy, so the loop never waits long. The
 * buffer is the caller's and must outlive the text. */
struct http_admin_text {
    pthread_mutex_t mutex;
    char *buffer;
    size_t size;
    size_t length;
};

/* Returns 0 or ERR_IO (the mutex could not be made). Starts empty. */
int http_admin_text_init(struct http_admin_text *text, char *buffer, size_t size);
void http_admin_text_destroy(struct http_admin_text *text);
/* Replaces the text; ERR_CAPACITY (and the old text kept) if it does not
 * fit. */
int http_admin_text_publish(struct http_admin_text *text, const char *data, size_t length);
/* An http_admin_render_cb: context is a struct http_admin_text *. Copies
 * the latest text; ERR_CAPACITY if it does not fit in size. */
int http_admin_text_read(void *context, char *buffer, size_t size, size_t *length);

#endif
