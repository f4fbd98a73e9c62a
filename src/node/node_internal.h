/* The running node's state, shared by the modules of src/node/ (node.h
 * says which does what); nothing outside src/node/ includes it. */
#ifndef NODOWN_NODE_NODE_INTERNAL_H
#define NODOWN_NODE_NODE_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "gateway/gateway.h"
#include "gateway/http_admin.h"
#include "gateway/metrics.h"
#include "lib/clock.h"
#include "lib/dir_lock.h"
#include "live/live_server.h"
#include "live/live_watch.h"
#include "node/node.h"
#include "node/takeover.h"
#include "page/cluster_view.h"
#include "history/archive.h"
#include "history/export.h"
#include "replica/audit.h"
#include "replica/feed.h"
#include "replica/journal.h"
#include "replica/nats_supervisor.h"
#include "replica/node_registry.h"
#include "replica/replica.h"

#define NODE_STATUS_SIZE 8192u

struct node {
    struct node_config config;
    struct takeover_giver giver; /* DIR/handover.sock: a new process takes over */
    struct takeover_node handover; /* what the giver passes on */
    bool handed_over;            /* the sessions and sockets are another process's now */
    uint64_t lock_wanted_until_ms; /* took over: the directory's lock is taken by then */
    struct dir_lock lock; /* of config.data_dir, held for the node's life */
    struct nats_supervisor nats;
    bool embedded;
    struct journal *journal;
    struct replica replica;
    struct gateway *gateway;
    struct http_admin *admin;
    struct live_watch live_watch; /* the live feed's records (live/live_watch.h) */
    struct live_server *live;     /* --feed, or NULL */
    uint32_t live_tries;          /* took over: tries left to listen (node_live_chores) */
    struct cluster_view cluster; /* the peers' status, for /cluster (page/cluster_view.h) */
    struct node_metrics metrics;
    struct http_admin_text status;
    char status_buffer[NODE_STATUS_SIZE];
    pthread_mutex_t snapshot_mutex; /* the admin thread reads the newest file */
    char snapshot_path[REPLICA_PATH_MAX + 64];
    uint64_t snapshot_seq;
    char token[80];
    /* The state's digest, as of digest_seq (see node_digest). */
    char digest_text[33];
    uint64_t digest_seq;
    bool digest_done;
    uint64_t chores_seq; /* applied_seq at the previous chores */
    uint64_t joined_ms;  /* when a --join snapshot came, or 0 */
    bool dr_waiting;     /* following the DR site's mirror until it is promoted */
    char dr_api[96];     /* "$JS.<dr_of>.API" */
    /* The journal audit (replica/audit.h): run when the stream's leader
     * changes; a difference stops the node (fatal). */
    struct journal_config journal_config; /* the stream followed */
    struct audit audit;
    struct node_registry *registry; /* or NULL: none (a DR site, or it failed) */
    char registry_error[256];       /* why there is none, with --nats */
    int registry_replicas;          /* 0: no registry wanted (a DR site's node) */
    uint64_t registry_retry_ms;     /* a failed announce is tried again then */
    uint32_t registry_tries;        /* failed announces since the last success */
    char stream_leader[64];
    char audit_last[160]; /* the last audit's outcome, for /status */
    uint64_t audit_retry_ms; /* an incomplete audit is tried again then (0: none) */
    uint32_t audit_retries;
    char fatal[512];
    /* Why this node stopped applying (a logic version its build cannot
     * run, replica.stopped_seq), or "": it keeps serving queries. */
    char stopped[512];
    /* What the replica applied, for the archive and the export
     * (consumers.c); feed.count == 0: neither runs. */
    struct feed feed;
    struct archive *archive;
    struct feed_consumer archive_consumer;
    bool consumers_started;
    uint64_t archive_events_said; /* archive_events_total so far */
    struct export *export;        /* --export-pg, or NULL */
    struct feed_consumer export_consumer;
    uint64_t export_events_said;  /* export_events_total so far */
    /* /verify?at=SEQ (node_verify_cb, node_verify_step), under lock. */
    struct {
        pthread_mutex_t lock;
        uint64_t requested;  /* the sequence asked for, 0: none */
        uint64_t applied;    /* the loop's applied_seq, for the HTTP thread */
        uint64_t done_at;    /* the last sequence verified, 0: none */
        char digest[33];
        char check[160];     /* "ok", or the first invariant broken */
    } verify;
};

/* The monotonic clock in the unsigned milliseconds the node counts in. */
static inline uint64_t node_now_ms(void)
{
    return (uint64_t)clock_now_ms();
}

/* consumers.c: the archive and the export, fed by the replica.
 * node_consumers_open runs before the replica opens (*floor: the snapshot
 * to open at or below); a taker (serve --take-over) opens nothing until
 * node_consumers_take_over, at DONE, and starts them once it holds the
 * directory's lock (node_consumers_start). */
int node_consumers_open(struct node *node, uint64_t *floor, char *errmsg, size_t size);
int node_consumers_start(struct node *node, char *errmsg, size_t size);
int node_consumers_take_over(struct node *node, char *errmsg, size_t size);
void node_consumers_chores(struct node *node);
/* /status's "archive" and "export" members, each followed by a comma. */
void node_consumers_status(struct node *node, char *json, size_t size);
void node_consumers_close(struct node *node);

/* A message made safe inside a JSON string of /status or /verify: quotes,
 * backslashes and control characters become ' (status.c). */
void node_json_safe(char *text);

/* Whether SIGINT or SIGTERM asked the node to stop (node.c). */
bool node_stopping(void);

#endif
