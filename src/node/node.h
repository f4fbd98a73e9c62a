/* One running node (`nodown serve`). Without nats_urls it starts and
 * supervises a local nats-server (the embedded default); with them it
 * joins that NATS cluster and never starts one. Then it follows the
 * stream into its replica, serves clients through the gateway, writes
 * snapshots every snapshot_bytes of applied log, and answers the HTTP
 * admin interface, until SIGINT or SIGTERM stops it cleanly.
 *
 *   start: [supervisor] -> journal -> replica (newest snapshot) -> gateway
 *          -> admin; then the loop: gateway_step, and every 100 ms the
 *          supervisor's health, status and metrics, snapshots.
 *
 * The node's parts, in src/node/: node.c the loop and its chores,
 * start.c start-up and shut-down, status.c /status, the digest and the
 * newest snapshot, verify_at.c /verify?at=SEQ, journal_audit.c the
 * journal audit on a leader change, join.c --join, announce.c the node
 * registry and the gate of ACTIVATE_LOGIC, dr.c a DR site's promotion.
 */
#ifndef NODOWN_NODE_NODE_H
#define NODOWN_NODE_NODE_H

#include <stdbool.h>
#include <stdint.h>

#include "replica/durability.h"

struct takeover_taker;

/* What `nodown serve` was told: its options, or their defaults
 * (src/cli/serve.c). */
struct node_config {
    const char *data_dir;
    const char *nats_urls;   /* NULL: the embedded default */
    char listen_host[64];
    uint16_t listen_port;
    char http_host[64];
    uint16_t http_port;
    bool feed;               /* --feed HOST:PORT: the live WebSocket feed (docs/live.md) */
    char feed_host[64];
    uint16_t feed_port;      /* 0: a free port (/status "feed_port" tells) */
    bool fix_on;             /* --fix HOST:PORT: the FIX 4.4 acceptor (docs/fix.md) */
    char fix_host[64];
    uint16_t fix_port;
    const char *token;
    uint32_t node_id;
    uint64_t snapshot_bytes; /* snapshot after this much applied log */
    int replicas;            /* the stream's, when this node creates it */
    const char *join;        /* PORT:TOKENFILE of a peer's admin, or NULL */
    const char *peers;       /* --peers HOST:PORT[@TOKENFILE],...: the other nodes'
                              * admin interfaces, for the operator's page, or NULL */
    const char *dr_of;       /* the primary's JetStream domain: a DR site's node */
    uint32_t batches_in_flight; /* batches published at once */
    uint32_t logic_max;         /* --logic-max, or 0: the build's LOGIC_VERSION_MAX */
    struct durability durability; /* the embedded server's disk sync */
    bool durability_given;
    uint32_t secret_size_min; /* a new secret this node sets: at least this long */
    /* The client port's limits and deadlines (gateway.h); 0: the default. */
    uint32_t connections_max;
    uint32_t connections_per_address_max;
    int handshake_timeout_ms;
    int frame_timeout_ms;
    int heartbeat_ms;
    bool archive;            /* --archive: the history archive, DIR/history */
    const char *export_pg;   /* --export-pg URL: the PostgreSQL export, or NULL */
    bool export_only;        /* --export-only: every command refused (nodown export) */
    /* The options as given, for a new process taking over (takeover.h). */
    int argc;
    char **argv;
    /* `serve --take-over`: the node serving data_dir hands over to this
     * one once it has caught up (docs/upgrades.md, "Hand-over"). */
    struct takeover_taker *taker;
};

/* `serve --take-over --data DIR`: asks the node serving DIR for its
 * options (HELLO, INFO). Returns the taker (static) with them in
 * info.argv[0..info.argc), or NULL with errmsg. */
struct takeover_taker *node_take_over_begin(const char *data_dir, char *errmsg,
                                            size_t errmsg_size);
const char *node_take_over_token(const struct takeover_taker *taker);
void node_take_over_args(const struct takeover_taker *taker, int *argc, char ***argv);

/* Runs the node until SIGINT or SIGTERM. Returns the process exit code:
 * 0 after a clean stop, 1 when it could not start or had to stop. */
int node_run(const struct node_config *config);

#endif
