/* A node's two sides of a hand-over (the messages: handover.h; the whole
 * story: docs/upgrades.md, "Hand-over").
 *
 * The giver is the serving node: it listens on DIR/handover.sock all the
 * time, and its loop calls takeover_give_poll() each turn, which costs a
 * poll of one socket while nobody asks. The taker is a new process,
 * `nodown serve --take-over --data DIR`: takeover_take_begin() learns the
 * giver's options and NATS server, the caller opens its replica, journal
 * and gateway (listen_later) from them and catches up, then
 * takeover_take_finish() takes the sockets and sessions. */
#ifndef NODOWN_NODE_TAKEOVER_H
#define NODOWN_NODE_TAKEOVER_H

#include <stdbool.h>
#include <stdint.h>

#include "gateway/gateway.h"
#include "gateway/http_admin.h"
#include "node/handover.h"
#include "replica/nats_supervisor.h"
#include "replica/replica.h"

/* The longest a giver drains before it gives up and serves on: its
 * batches in flight must be stored and applied, which takes a disk sync
 * and a round trip (milliseconds); a NATS server that does not answer
 * makes it give up. */
#define TAKEOVER_DRAIN_MAX_MS 2000
/* The longest a taker waits to apply what the giver applied. */
#define TAKEOVER_APPLY_MAX_MS 5000

/* What a node has that a hand-over passes on. */
struct takeover_node {
    struct gateway *gateway;
    struct replica *replica;
    struct http_admin *admin;     /* or NULL */
    struct nats_supervisor *nats; /* the embedded server's, or NULL */
    uint32_t node_id;
    const char *release;          /* this build's */
    const char *admin_token;
    int argc;                     /* the node's serve options, as given */
    char **argv;
};

enum takeover_give_phase {
    TAKEOVER_GIVE_IDLE,     /* listening */
    TAKEOVER_GIVE_HELLO,    /* a process connected: its HELLO comes */
    TAKEOVER_GIVE_WAITING,  /* a taker catches up */
    TAKEOVER_GIVE_DRAINING, /* reading nothing until drained */
};

struct takeover_giver {
    int listen_fd;
    int conn_fd;
    enum takeover_give_phase phase;
    int64_t drain_since_ms;
    int64_t hello_since_ms;
    uint64_t ready_seq; /* the taker's applied sequence at READY: drained means at or past it */
    int64_t polled_ms;
    int keeper_end; /* the keeper's end while handing over the embedded server */
    char dir[1024];
};

/* Listens on DIR/handover.sock. Returns 0, or -1 with errmsg (the node
 * then serves without hand-over: a restart is its only upgrade). */
int takeover_give_open(struct takeover_giver *giver, const char *dir, char *errmsg,
                       size_t errmsg_size);
/* One turn: returns 0 to go on serving (a hand-over that failed is
 * logged and the node serves on), 1 once the sockets and sessions are the
 * taker's: the caller stops without a word to anyone (gateway_detach is
 * done) and then calls takeover_give_exit(). */
int takeover_give_poll(struct takeover_giver *giver, const struct takeover_node *node);
/* After the caller has closed what it holds: becomes the embedded
 * server's keeper (nats_supervisor_keep_exec) when there is one; returns
 * otherwise (the caller exits). */
void takeover_give_exit(struct takeover_giver *giver, const struct takeover_node *node);
void takeover_give_close(struct takeover_giver *giver);

struct takeover_taker {
    int fd;
    struct handover_message info; /* HANDOVER_INFO from the giver */
};

/* Connects to the giver of dir, says who it is, and waits for INFO.
 * Returns 0 or -1 with errmsg. */
int takeover_take_begin(struct takeover_taker *taker, const char *dir, const char *release,
                        char *errmsg, size_t errmsg_size);

/* What the taker does with the giver's admin socket: starts its admin
 * server on it (http_admin_config.listen_fd_inherited). Returns 0 or -1
 * with errmsg. */
typedef int (*takeover_admin_start_fn)(void *context, int listen_fd, char *errmsg,
                                       size_t errmsg_size);

/* Caught up: READY, then the sockets (the client port to gateway, the
 * admin port to admin_start, the embedded server to nats, adopted under
 * data_dir with durability), applies up to the giver's sequence by
 * stepping the gateway, adopts every session, and says DONE. Returns 0,
 * or -1 with errmsg after telling the giver to serve on (ABORT). */
int takeover_take_finish(struct takeover_taker *taker, const struct takeover_node *node,
                         takeover_admin_start_fn admin_start, void *admin_context,
                         const char *data_dir, struct durability durability, char *errmsg,
                         size_t errmsg_size);
/* After DONE: writes from now on where the giver wrote (its stdout and
 * stderr, passed in INFO), so a node's log goes on in one place. */
void takeover_take_output(struct takeover_taker *taker);
void takeover_take_close(struct takeover_taker *taker);

#endif
