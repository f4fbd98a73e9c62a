/* The live feed's WebSocket endpoint (docs/live.md): book depth, trades,
 * best bid and offer, and sportsbook odds in the format a client asks for,
 * every message carrying the stream sequence it reflects.
 *
 * One thread runs libwebsockets' loop. It reads the apply loop's records
 * (live_watch.h) and keeps, for each instrument and market, its state as
 * of the last message that changed it, and the newest trades in a bounded
 * history. A client's output is made when its socket can take more, from
 * that state: depth and odds a client has not been sent yet are sent once,
 * as they are now (conflation: a slow client skips states, never gets a
 * stale one), trades in order from its place in the history. A client so
 * slow that the history passed its place, or whose output waited longer
 * than LIVE_SLOW_MS while owed more, is closed with a reason (close code 1008).
 *
 * Memory is fixed at start: the states, the history, and per client its
 * subscriptions and one message buffer (the clients' number bounded).
 */
#ifndef NODOWN_LIVE_LIVE_SERVER_H
#define NODOWN_LIVE_LIVE_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/limits.h"
#include "live/live_watch.h"

#define LIVE_PROTOCOL_VERSION 1u
#define LIVE_CLIENTS_MAX_DEFAULT 2048u
#define LIVE_CLIENTS_PER_ADDRESS_DEFAULT 1100u
#define LIVE_SUBSCRIPTIONS_MAX 64u    /* instruments, and markets, per client */
#define LIVE_REQUEST_SIZE_MAX 4096u   /* a client's message */
#define LIVE_TRADE_HISTORY (1u << 16) /* trades kept for slow and returning clients */
#define LIVE_SLOW_MS 3000u          /* a client's socket taking nothing this long: cut */
#define LIVE_SOCKET_BUFFER (64u * 1024u) /* SO_SNDBUF of a client's socket */

struct live_config {
    const char *host; /* "127.0.0.1" */
    uint16_t port;    /* 0: any free port (live_server_port tells) */
    uint32_t node_id;
    uint32_t clients_max;             /* 0: LIVE_CLIENTS_MAX_DEFAULT */
    uint32_t slow_ms;                 /* 0: LIVE_SLOW_MS */
};

struct live_stats {
    uint64_t clients_open;
    uint64_t clients_accepted;
    uint64_t clients_refused;
    uint64_t clients_cut_slow;
    uint64_t messages_sent;
    uint64_t seq; /* the last stream message the feed has */
};

struct live_server;

/* Starts the thread and listens (the port shared with a process handing
 * over, SO_REUSEPORT). Returns 0, or ERR_IO / ERR_NOMEM with errmsg. */
int live_server_start(struct live_server **out, const struct live_config *config,
                      struct live_watch *watch, const struct limits *limits, char *errmsg,
                      size_t errmsg_size);
uint16_t live_server_port(const struct live_server *server);
void live_server_stats(struct live_server *server, struct live_stats *stats);
/* Wakes the thread: records are waiting (a live_watch's wake). */
void live_server_wake(void *server);
void live_server_stop(struct live_server *server);

#endif
