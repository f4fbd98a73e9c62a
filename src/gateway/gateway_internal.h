/* What gateway.c and gateway_fix.c (the FIX 4.4 acceptor on its own port,
 * docs/fix.md) share: the session and gateway records and the few session
 * functions the acceptor calls. Nothing else includes it. */
#ifndef NODOWN_GATEWAY_GATEWAY_INTERNAL_H
#define NODOWN_GATEWAY_GATEWAY_INTERNAL_H

#include <poll.h>

#include "gateway/gateway.h"
#include "gateway/logon_throttle.h"
#include "lib/index_table.h"
#include "lib/secret.h"

struct fix_conn;
struct fix_gateway;
struct logon_check;

/* SESSION_CHECKING: LOGON received, its secret with the logon checker,
 * or found wrong and its answer held back by the throttle until
 * logon_answer_ms (gateway_logons_due). */
enum gateway_session_state {
    SESSION_HELLO,
    SESSION_LOGON,
    SESSION_CHECKING,
    SESSION_READY,
    SESSION_CLOSING
};

struct gateway_session {
    int fd;                /* -1: the slot is free */
    uint8_t state;
    uint16_t version;      /* the protocol version chosen at HELLO */
    uint32_t generation;   /* tells this connection from the slot's later ones */
    bool query_waiting;    /* a QUERY whose min_seq this node has not applied yet */
    int64_t query_since_ms;
    uint32_t address;      /* the peer's IPv4 address, network order */
    int64_t accepted_ms;   /* the handshake deadline runs from here */
    int64_t frame_since_ms; /* the first byte of an incomplete frame came; 0: none */
    int64_t input_ms;      /* the last byte read, or the last time input was not read */
    int64_t ping_sent_ms;  /* a heartbeat PING unanswered since; 0: none */
    struct frame_query query;
    uint64_t client_id;
    uint32_t account_id;
    int64_t logon_answer_ms; /* a failed logon's answer is due (0: none) */
    uint64_t batch_last;   /* the batch holding its newest command (0: none yet); while
                            * it is in flight the session's input waits (gateway.h) */
    size_t in_size;
    size_t out_size;
    uint8_t in[FRAME_BUFFER_SIZE];
    uint8_t *out;          /* GATEWAY_OUTBOX_MAX bytes */
    struct fix_conn *fix;  /* a FIX session's state (gateway_fix.c); NULL: native */
};

struct gateway {
    int listen_fd;
    uint16_t port;
    int fix_listen_fd;     /* the FIX acceptor's (-1: off) */
    uint16_t fix_port;
    struct fix_gateway *fix; /* its sessions' stored sequence numbers; NULL: off */
    uint32_t node_id;
    uint64_t run_id;       /* tells this run's message ids from a restart's */
    uint64_t batch_counter;
    struct replica *replica;
    struct journal *journal;
    struct publisher *publisher;
    struct logon_check *logon_check;
    struct logon_throttle throttle;
    uint8_t dummy_salt[SECRET_SALT_SIZE]; /* what a logon to no account is checked with */
    uint32_t logons_delayed; /* sessions whose failed logon is answered later, at most */
    int64_t logon_due_ms;    /* the earliest of those answers */
    uint64_t pause_at;     /* apply nothing past it; 0: no limit */
    uint32_t generations;  /* connections accepted, for gateway_session.generation */
    struct node_metrics *metrics; /* or NULL */
    struct audit *audit;          /* or NULL */
    bool input_held;       /* a session's input waits for room in pending */
    bool draining;         /* a hand-over: read and accept nothing (gateway_drain) */
    uint64_t stored_seq_max; /* the highest stream sequence a batch of ours got */
    char read_only[FRAME_TEXT_SIZE_MAX + 1]; /* why commands are refused; "": they are not */
    uint32_t connections_max;
    uint32_t per_address_max;
    int handshake_timeout_ms;
    int frame_timeout_ms;
    int heartbeat_ms;
    int64_t deadlines_checked_ms;
    int64_t cold_polled_ms;     /* connections not logged on were last polled */
    bool cold_skipped;          /* this turn's poll left some of them out */
    int64_t refusals_logged_ms; /* the last line about refused connections */
    uint64_t refusals_unlogged; /* refused or timed out since that line */
    char refusal_last[160];     /* the latest refusal, for that line */
    gateway_logic_gate_fn logic_gate; /* or NULL: this node's build decides */
    void *logic_gate_context;
    struct gateway_session *sessions; /* connections_max of them */
    uint32_t session_end;  /* slots at and above it are free: loops stop here */
    struct index_table by_client; /* logged-on sessions by (account, client id) */
    struct command pending[GATEWAY_BATCH_COMMANDS];
    uint32_t pending_count;
    int64_t pending_since_ms; /* when the pending batch got its first command */
    struct gateway_stats stats;
    struct pollfd *polls;  /* GATEWAY_POLLS_FIXED + connections_max */
    uint32_t *poll_slots;  /* the session of each entry of polls */
    /* The hot list: the slots a turn of the loop visits between two full
     * passes (gateway_poll_set). Each slot is listed once at most. */
    uint32_t *hot;
    uint8_t *hot_listed;  /* by slot: in the hot list */
    uint32_t hot_count;
    uint32_t cold_count;  /* sessions left to the full pass, at most */
    /* Outboxes of closed sessions kept for the next ones: an outbox is
     * GATEWAY_OUTBOX_MAX bytes, which malloc maps and unmaps each time, so
     * a flood of short connections would cost the loop a map, an unmap
     * and page faults each. */
    uint8_t *outboxes[GATEWAY_OUTBOX_CACHE];
    uint32_t outboxes_kept;
};

/* gateway.c */
struct gateway_listen_spec {
    const char *host;
    uint16_t port;  /* 0: any free port */
    bool later;     /* none yet: a hand-over gives it */
    int inherited;  /* > 0: bound and listening already */
};
/* A listening socket as spec says (*fd_out -1 when later). Returns 0, or
 * ERR_USAGE / ERR_IO with errmsg. */
int gateway_socket(const struct gateway_listen_spec *spec, int *fd_out, uint16_t *port_out,
                   char *errmsg, size_t errmsg_size);
void gateway_hot_add(struct gateway *gateway, const struct gateway_session *session);
void session_close(struct gateway *gateway, struct gateway_session *session);
/* Queues bytes; a session that cannot take them is too slow and closed. */
void session_send_bytes(struct gateway *gateway, struct gateway_session *session,
                        const void *bytes, size_t size);
void gateway_logon(struct gateway *gateway, struct gateway_session *session,
                   const struct frame_logon *logon);
void gateway_command(struct gateway *gateway, struct gateway_session *session,
                     const struct command *command);
bool session_waits(const struct gateway *gateway, const struct gateway_session *session);

/* gateway_fix.c: the FIX side of each hook */
int fix_gateway_open(struct gateway *gateway, const struct gateway_config *config,
                     char *errmsg, size_t errmsg_size);
void fix_gateway_close(struct gateway *gateway);
int fix_conn_start(struct gateway *gateway, struct gateway_session *session);
void fix_conn_end(struct gateway *gateway, struct gateway_session *session);
void fix_process(struct gateway *gateway, struct gateway_session *session);
void fix_logon_done(struct gateway *gateway, struct gateway_session *session);
void fix_logout(struct gateway *gateway, struct gateway_session *session, const char *text);
void fix_outcome(struct gateway *gateway, struct gateway_session *session,
                 const struct command *command, const struct outcome *outcome);
void fix_heartbeat(struct gateway *gateway, struct gateway_session *session, int64_t now_ms);
void fix_deadlines(struct gateway *gateway, int64_t now_ms);

#endif
