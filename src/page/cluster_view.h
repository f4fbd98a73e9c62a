/* What the operator's page shows: this node's status and its peers', as
 * this node sees them (docs/page.md).
 *
 * A thread asks each peer named by `serve --peers` for its /status, with
 * the peer's operator token, every CLUSTER_VIEW_POLL_MS; a peer that does
 * not answer whole within CLUSTER_VIEW_TIMEOUT_MS is down until it
 * answers again. GET /cluster (http_admin.h) renders
 *
 *   {"v":1,"now_ms":UNIX_MS,"poll_ms":500,"self":STATUS,
 *    "peers":[{"address":"HOST:PORT","up":true,"age_ms":N,"status":STATUS},
 *             {"address":"HOST:PORT","up":false,"age_ms":N,"error":"..."}]}
 *
 * where STATUS is a node's /status as it gave it (a JSON object), and
 * age_ms how long ago that answer (or the failure) came. Nothing here
 * touches the node's state: the node's own status comes from self_cb.
 */
#ifndef NODOWN_PAGE_CLUSTER_VIEW_H
#define NODOWN_PAGE_CLUSTER_VIEW_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CLUSTER_VIEW_FORMAT_VERSION 1u
#define CLUSTER_VIEW_PEERS_MAX 16u
#define CLUSTER_VIEW_POLL_MS 500u
#define CLUSTER_VIEW_TIMEOUT_MS 800u
/* A peer's /status larger than this is refused (a node's is ~3 KiB). */
#define CLUSTER_VIEW_STATUS_MAX (12u * 1024u)
#define CLUSTER_VIEW_TOKEN_MAX 256u

/* Same shape as http_admin_render_cb: writes at most size bytes, sets
 * *length, returns 0 or a negative error. */
typedef int (*cluster_view_render_fn)(void *context, char *buffer, size_t size,
                                      size_t *length);

struct cluster_view_peer {
    char host[64];
    uint16_t port;
    char token_file[512]; /* "" : this node's own token */
    pthread_mutex_t mutex; /* guards what follows */
    bool up;
    bool answered;         /* once at least */
    uint64_t at_ms;        /* monotonic time of the last answer or failure */
    char error[160];
    size_t length;
    char status[CLUSTER_VIEW_STATUS_MAX];
};

struct cluster_view {
    cluster_view_render_fn self_cb;
    void *self_context;
    char token[CLUSTER_VIEW_TOKEN_MAX + 1];
    uint32_t peer_count;
    struct cluster_view_peer *peers; /* peer_count */
    pthread_t thread;
    bool running;
    atomic_bool stopping;
};

/* Parses peers, "HOST:PORT[@TOKENFILE],..." (NULL or "": none), and starts
 * the polling thread. Returns 0, or ERR_USAGE with a sentence (a bad
 * entry, too many), ERR_NOMEM or ERR_IO. */
int cluster_view_start(struct cluster_view *view, const char *peers, const char *token,
                       cluster_view_render_fn self_cb, void *self_context, char *errmsg,
                       size_t errmsg_size);
void cluster_view_stop(struct cluster_view *view);

/* The /cluster text (an http_admin_render_cb; context is the view). */
int cluster_view_render(void *context, char *buffer, size_t size, size_t *length);

#endif
