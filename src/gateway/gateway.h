/* The gateway: client sessions on the native protocol, commands collected
 * into batches and published to the stream, outcomes sent back when this
 * node's replica has applied them.
 *
 * One thread runs it, one gateway_step() at a time, with two helpers
 * (logon_check.h checks secrets, client addresses in turn; publisher.h
 * publishes batches). Failed logons are paced per address and per
 * (address, account) by logon_throttle.h, answered late, counted in the
 * metrics and logged a line a second per address at most:
 *
 *   accept --> HELLO/WELCOME --> LOGON --(logon checker)--> LOGON_OK -->
 *              COMMAND ... --> close
 *              [gateway_logon, gateway_logon_finish]   [gateway_command]
 *
 *   commands of every session --> pending batch --(a publisher slot idle)-->
 *   publisher slot's thread: journal_publish (msg id unique to this run)
 *                                                           [gateway_flush]
 *   (pipelined group commit: up to batches_in_flight_max batches are
 *   published at once; while all are in flight the next one grows, up to
 *   GATEWAY_BATCH_COMMANDS, and sessions are not read until one ends. A
 *   session whose newest command is in a batch in flight is not read
 *   until that batch is stored or failed, so a session's commands reach
 *   the stream in order whatever happens to the batches: docs/journal.md)
 *
 *   journal_read --> replica_apply --> outcome of (account, client_id)
 *   --> the session of that account and client id on this node, if any
 *                                                    [gateway_deliver]
 *
 * An outcome goes to whichever node the client is connected to when the
 * command applies, so a client that failed over and resent gets its
 * answers from the node it is on now (the state machine answers a resend
 * with its first outcome). Every queue is bounded: a session whose unsent
 * output passes GATEWAY_OUTBOX_MAX is told it is too slow and closed.
 */
#ifndef NODOWN_GATEWAY_GATEWAY_H
#define NODOWN_GATEWAY_GATEWAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec/frame.h"
#include "gateway/metrics.h"
#include "gateway/publisher.h"
#include "replica/audit.h"
#include "replica/journal.h"
#include "replica/replica.h"

/* Connections on the client port: in total and from one source address.
 * One more is closed at once, with an ERROR 6 naming the limit, logged
 * (a line a second at most) and counted in /metrics. Each costs a file
 * descriptor and its session's buffers (FRAME_BUFFER_SIZE in, outbox
 * allocated at accept), so the total stays well under the process's file
 * limit (node/start.c raises it and checks). A connection that has not
 * logged on within the handshake deadline is closed, so idle ones from
 * anywhere hold a place for that long only. */
#define GATEWAY_CONNECTIONS_MAX_DEFAULT 4096u
#define GATEWAY_CONNECTIONS_MAX_MOST 65536u
#define GATEWAY_CONNECTIONS_PER_ADDRESS_DEFAULT 128u
/* Connections the kernel completes while the loop is busy elsewhere (a
 * chore, a digest): a burst beyond it waits a second for the client's SYN
 * to be sent again. The kernel caps it at net.core.somaxconn. */
#define GATEWAY_LISTEN_BACKLOG 1024
/* Deadlines (docs/protocol.md, "Deadlines"): HELLO and LOGON answered
 * (LOGON_OK sent) within the handshake deadline of the accept; each frame
 * whole within the frame deadline of its first byte; a logged-on session
 * silent for the heartbeat interval is sent a PING, and closed when a
 * further interval passes without a byte from it. */
#define GATEWAY_HANDSHAKE_TIMEOUT_MS_DEFAULT 5000
#define GATEWAY_FRAME_TIMEOUT_MS_DEFAULT 5000
#define GATEWAY_HEARTBEAT_MS_DEFAULT 10000
/* Connections not logged on yet are polled this often at least, not at
 * every turn of the loop (gateway_poll_set), without waiting; with more
 * than GATEWAY_COLD_PER_MS * GATEWAY_COLD_POLL_MS of them, every
 * cold_count / GATEWAY_COLD_PER_MS ms, so that their polling costs the
 * loop about one per cent whatever their number. */
#define GATEWAY_COLD_POLL_MS 5
#define GATEWAY_COLD_PER_MS 64u
/* Deadlines are checked this often, so they hold to within it. */
#define GATEWAY_DEADLINE_CHECK_MS 100
#define GATEWAY_OUTBOX_MAX (256u * 1024u) /* unsent bytes a client may owe */
#define GATEWAY_OUTBOX_CACHE 64u /* outboxes kept for new connections: 16 MiB at most */
#define GATEWAY_BATCH_COMMANDS 1024u      /* commands in one batch at most */
#define GATEWAY_READ_MESSAGES_MAX 256u    /* stream messages applied per step */
/* Batches published at once by default (gateway_config), at most
 * PUBLISHER_SLOTS_MAX: with durability "always" each publish waits for a
 * disk sync, and the server syncs batches that arrive together at once,
 * so the busier the node, the more commands each sync covers. */
#define GATEWAY_BATCHES_IN_FLIGHT 4u
/* A batch goes out beside others already in flight once it holds this
 * many commands, or once its first command has waited this long; with
 * none in flight it goes out at once (gateway_flush_wait_ms). */
#define GATEWAY_PIPELINE_COMMANDS_MIN 256u
#define GATEWAY_PIPELINE_WAIT_MS 2
/* A publish that is not stored within this time fails, and the sessions
 * are told to resend, which they do with the same client_seq (to this
 * node or another). The loop goes on meanwhile: answering queries,
 * applying, restarting a supervised nats-server that died. */
#define GATEWAY_PUBLISH_TIMEOUT_MS 1000
/* A query for a stream sequence this node has not applied waits this long
 * at most, then is answered with the state there is (docs/protocol.md). */
#define GATEWAY_QUERY_WAIT_MS FRAME_QUERY_WAIT_MS
/* polls[]: the listening socket; the stream's, the publisher's and the
 * logon checker's eventfds; the FIX acceptor's listening socket (-1: off). */
#define GATEWAY_POLLS_FIXED 5u

/* The ERROR 8 (FRAME_ERROR_READ_ONLY) text sent to every session when a
 * batch was not stored, from the journal's reason (journal_publish_error):
 * cut to size - 1 bytes (FRAME_TEXT_SIZE_MAX + 1 holds it all). */
void gateway_refusal_text(char *text, size_t size, const char *journal_error);

struct gateway_config {
    const char *listen_host; /* "127.0.0.1" */
    uint16_t listen_port;    /* 0: any free port (gateway_port tells) */
    uint32_t node_id;
    struct node_metrics *metrics; /* each applied batch's size and time; may be NULL */
    struct audit *audit;          /* remembers each applied message; may be NULL */
    uint32_t batches_in_flight_max; /* 0: GATEWAY_BATCHES_IN_FLIGHT */
    uint32_t connections_max;       /* 0: GATEWAY_CONNECTIONS_MAX_DEFAULT */
    uint32_t connections_per_address_max; /* 0: GATEWAY_CONNECTIONS_PER_ADDRESS_DEFAULT */
    int handshake_timeout_ms;       /* 0: GATEWAY_HANDSHAKE_TIMEOUT_MS_DEFAULT */
    int frame_timeout_ms;           /* 0: GATEWAY_FRAME_TIMEOUT_MS_DEFAULT */
    int heartbeat_ms;               /* 0: GATEWAY_HEARTBEAT_MS_DEFAULT */
    int listen_fd_inherited;        /* > 0: a socket bound and listening already, handed
                                     * over by the process before (listen_host/port unused) */
    bool listen_later;              /* no socket until gateway_listen_take (a hand-over) */
    /* The FIX 4.4 acceptor (docs/fix.md): off unless fix_on. */
    bool fix_on;
    const char *fix_host;           /* "127.0.0.1" */
    uint16_t fix_port;              /* 0: any free port (gateway_fix_port tells) */
    int fix_listen_fd_inherited;    /* > 0: handed over by the process before */
    const char *fix_state_path;     /* the sessions' sequence numbers; NULL: memory only */
};

struct gateway_stats {
    uint64_t sessions_accepted;
    uint64_t sessions_closed_slow;
    uint64_t commands_received;
    uint64_t commands_refused;      /* before publishing (gateway_set_logic_gate) */
    uint64_t batches_published;
    uint64_t publish_failures;
    uint64_t outcomes_sent;
    uint64_t batches_in_flight_max; /* the most seen at once */
    uint64_t connections_open;      /* now */
    uint64_t refused_per_address;   /* over connections_per_address_max */
    uint64_t refused_full;          /* over connections_max */
    uint64_t closed_handshake;      /* no LOGON_OK within the handshake deadline */
    uint64_t closed_frame;          /* a frame not whole within the frame deadline */
    uint64_t closed_heartbeat;      /* silent through a heartbeat and its PING */
    uint64_t pings_sent;
};

struct gateway;

/* Listens and binds the gateway to a replica and a journal it does not
 * own. Returns 0 or ERR_IO / ERR_NOMEM with errmsg. */
int gateway_open(struct gateway **out, const struct gateway_config *config,
                 struct replica *replica, struct journal *journal, char *errmsg,
                 size_t errmsg_size);
uint16_t gateway_port(const struct gateway *gateway);
/* The FIX acceptor's port, 0 when off; its listening socket, -1 when off. */
uint16_t gateway_fix_port(const struct gateway *gateway);
int gateway_fix_listen_fd(const struct gateway *gateway);
/* Whether the gateway was opened with the FIX acceptor on (listening or,
 * in a hand-over, waiting for the socket). */
bool gateway_fix_wanted(const struct gateway *gateway);
/* The FIX listening socket handed over, for a gateway opened with
 * listen_later and fix_on. Returns 0, or ERR_IO with errmsg. */
int gateway_fix_listen_take(struct gateway *gateway, int fd, char *errmsg, size_t errmsg_size);
const struct gateway_stats *gateway_stats(const struct gateway *gateway);

/* Brings the config's metrics up to the gateway's counts (connections
 * refused and timed out, slow clients, connections open, batches in
 * flight). Call it between metrics_write_begin and metrics_write_end, so
 * that a render sees it with the caller's other figures; nothing without
 * metrics. */
void gateway_metrics_sync(const struct gateway *gateway);

/* One turn of the loop: waits up to timeout_ms for sockets, reads and
 * writes what is ready, publishes a due batch, applies what the stream
 * has, and sends outcomes. Returns 0, or the error that must stop the
 * node (ERR_IO from the stream), or ERR_LOGIC_UNSUPPORTED once, when the
 * replica meets a logic version it cannot run: from then on nothing more
 * is applied (replica.stopped_seq) and the caller should refuse commands
 * (gateway_set_read_only) while queries go on being answered. */
int gateway_step(struct gateway *gateway, int timeout_ms, char *errmsg, size_t errmsg_size);

/* Applies nothing past stream sequence seq until called again (0: no
 * limit): a node verifying its state at seq stops there for the time it
 * takes (node/verify_at.c). */
void gateway_pause_at(struct gateway *gateway, uint64_t seq);

/* Refuses every command from now on with ERROR 8 (FRAME_ERROR_READ_ONLY)
 * and reason (cut to FRAME_TEXT_SIZE_MAX bytes), queries still answered:
 * a node at a disaster-recovery site before its promotion. NULL or ""
 * accepts commands again. */
void gateway_set_read_only(struct gateway *gateway, const char *reason);

/* The gate of ACTIVATE_LOGIC (docs/upgrades.md): returns true when every
 * node of the stream has said it can run logic version `version`;
 * otherwise false, with *node_id the first node that cannot (or
 * UINT32_MAX when none has said anything) and why, a line naming every
 * one that cannot. */
typedef bool (*gateway_logic_gate_fn)(void *context, uint32_t version, uint32_t *node_id,
                                      char *why, size_t why_size);

/* Every ACTIVATE_LOGIC is checked by gate before it is published; one it
 * refuses gets an OUTCOME of REJECT_LOGIC_NOT_EVERYWHERE, its id the node
 * that cannot, stream_seq 0 (never published), and a line on stderr.
 * Without a gate (NULL) this node's own build decides, as on a single
 * node. A version this node itself cannot run is refused either way. */
void gateway_set_logic_gate(struct gateway *gateway, gateway_logic_gate_fn gate, void *context);

/* For fault tests: publish batches through fn (publisher.h) instead of
 * journal_publish. Call before the first command arrives. */
void gateway_set_publish(struct gateway *gateway, publisher_publish_fn fn, void *context);

/* ---- Hand-over to another process (docs/upgrades.md, "Hand-over") ----
 *
 * The old process: gateway_drain(true) stops reading sessions and taking
 * connections; the loop goes on stepping, so that the pending batch is
 * published, the batches in flight are stored and applied and their
 * outcomes queued, logons with the checker are answered (failed ones
 * and waiting queries at once), until gateway_drained(). Then every
 * session is exported (gateway_export: its socket, protocol version,
 * logon, unread input and unsent output), the new process adopts them
 * (gateway_adopt) once it has applied what this one has, and this one
 * forgets them without a word (gateway_detach). gateway_drain(false)
 * resumes when the new process fails before it has them. */
enum gateway_export_state {
    GATEWAY_EXPORT_HELLO = 0,  /* connected, no HELLO yet */
    GATEWAY_EXPORT_LOGON = 1,  /* HELLO answered, no LOGON yet */
    GATEWAY_EXPORT_READY = 2,  /* logged on */
    GATEWAY_EXPORT_CLOSING = 3 /* its last words are being sent, then closed */
};

struct gateway_session_export {
    int fd;
    uint8_t state; /* enum gateway_export_state */
    uint16_t version;
    uint32_t address; /* IPv4, network order */
    uint32_t account_id;
    uint64_t client_id;
    uint32_t in_size;  /* at most FRAME_BUFFER_SIZE */
    uint32_t out_size; /* at most GATEWAY_OUTBOX_MAX */
    const uint8_t *in; /* read, not yet handled */
    const uint8_t *out; /* queued, not yet sent */
};

void gateway_drain(struct gateway *gateway, bool drain);
bool gateway_drained(const struct gateway *gateway);
int gateway_listen_fd(const struct gateway *gateway);
/* The listening socket handed over, for a gateway opened with
 * listen_later. Returns 0, or ERR_IO with errmsg. */
int gateway_listen_take(struct gateway *gateway, int fd, char *errmsg, size_t errmsg_size);
/* The first session at slot from or above: fills *out (pointers valid
 * until the next step or detach) and returns the slot to ask from next,
 * or UINT32_MAX when there is none. Only once drained. */
uint32_t gateway_export(const struct gateway *gateway, uint32_t from,
                        struct gateway_session_export *out);
/* Closes this process's sockets of every session, sending nothing. */
void gateway_detach(struct gateway *gateway);
/* Takes a session exported by another process (its fd now this
 * process's). Returns 0, or ERR_DECODE_MALFORMED / ERR_USAGE / ERR_IO / ERR_NOMEM
 * with errmsg; the caller closes the fd then. */
int gateway_adopt(struct gateway *gateway, const struct gateway_session_export *session,
                  char *errmsg, size_t errmsg_size);

/* Tells every session the node is stopping, closes them and the socket. */
void gateway_close(struct gateway *gateway);

#endif
