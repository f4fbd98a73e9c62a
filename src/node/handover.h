/* Hand-over: a node's sessions and sockets passed to a new process on the
 * same host, so that a binary is replaced without its clients waiting
 * (docs/upgrades.md, "Hand-over").
 *
 * The old node listens on DIR/HANDOVER_SOCKET_NAME (a Unix socket of
 * packets, mode 0600, its peer checked to be the same user). The new
 * process, started with `nodown serve --take-over --data DIR`:
 *
 *   new                                 old (serving all along)
 *   HELLO (its pid, release)  ------>
 *                             <------  INFO (applied sequence, node id,
 *                                      the embedded NATS server's URL and
 *                                      pid, the old command line, the
 *                                      admin token; its stdout and stderr)
 *   loads a snapshot, follows the stream, catches up
 *   READY (applied sequence)  ------>  drains: reads and accepts nothing,
 *                                      its batches stored and applied, their
 *                                      outcomes queued
 *                             <------  TAKE (applied sequence X, sessions;
 *                                      the listening sockets, and the
 *                                      embedded server's keeper)
 *   applies up to X
 *                             <------  SESSION (state, socket) [OUT ...]
 *                                      for each session
 *   its digest at X, adopts    <------  DIGEST (its digest at X)
 *   each session; the digests
 *   equal: DONE               ------>  forgets its sessions, exits
 *
 * Either side may send ABORT with a reason instead, or go away, and the
 * old node serves on with everything it had: the taker writes nothing to
 * a session before DONE, so the sessions are still the old node's.
 *
 * Every message starts with HANDOVER_FORMAT (u16) and its type (u16);
 * integers little-endian. A reader refuses another format at once. */
#ifndef NODOWN_NODE_HANDOVER_H
#define NODOWN_NODE_HANDOVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "gateway/gateway.h"

#define HANDOVER_FORMAT 1u
#define HANDOVER_SOCKET_NAME "handover.sock"
/* A message's bytes at most: a session's unread input fits whole. */
#define HANDOVER_MESSAGE_MAX (FRAME_BUFFER_SIZE + 256u)
/* Unsent output goes in OUT messages of this many bytes at most. */
#define HANDOVER_OUT_CHUNK 65536u
#define HANDOVER_FDS_MAX 4u
#define HANDOVER_ARGS_MAX 64u
#define HANDOVER_TEXT_MAX 256u
/* How long a side waits for the other's next message in a step. */
#define HANDOVER_WAIT_MS 5000

enum handover_type {
    HANDOVER_HELLO = 1,
    HANDOVER_INFO = 2,
    HANDOVER_READY = 3,
    HANDOVER_TAKE = 4,
    HANDOVER_SESSION = 5,
    HANDOVER_OUT = 6,
    HANDOVER_DONE = 7,
    HANDOVER_ABORT = 8,
    HANDOVER_DIGEST = 9,
    HANDOVER_TYPE_COUNT
};

/* The descriptors TAKE carries, in this order; -1 when there is none. */
enum handover_socket {
    HANDOVER_CLIENT_LISTEN = 0,
    HANDOVER_ADMIN_LISTEN = 1,
    HANDOVER_NATS_KEEPER = 2, /* the embedded server's keeper (nats_supervisor.h) */
    HANDOVER_SOCKETS = 3
};

struct handover_message {
    uint16_t type;
    /* HELLO, INFO */
    uint32_t pid;
    char release[HANDOVER_TEXT_MAX];
    uint64_t applied_seq;                 /* INFO, READY, TAKE */
    uint32_t node_id;                     /* INFO */
    char nats_url[HANDOVER_TEXT_MAX];     /* INFO: the embedded server's, or "" */
    char admin_token[HANDOVER_TEXT_MAX];  /* INFO: the operator token of its admin port */
    uint32_t nats_pid;                    /* INFO: 0 unless embedded */
    uint32_t argc;                        /* INFO: the old node's serve options */
    char argv[HANDOVER_ARGS_MAX][HANDOVER_TEXT_MAX];
    uint32_t session_count;               /* TAKE */
    struct gateway_session_export session; /* SESSION (in points into data) */
    char text[HANDOVER_TEXT_MAX];         /* ABORT */
    char digest[40];                      /* DIGEST: the state's at applied_seq */
    int fds[HANDOVER_FDS_MAX];            /* received: this process's now */
    uint32_t fd_count;
    size_t data_size;                     /* OUT: the chunk; SESSION: the input */
    uint8_t data[HANDOVER_MESSAGE_MAX];   /* last: not cleared between messages */
};

/* The old node: binds DIR/handover.sock (a stale one left by a node
 * killed is replaced; a live one means another node serves DIR: the dir
 * lock says so first). Non-blocking, close-on-exec. Returns the socket,
 * or -1 with errmsg. */
int handover_listen(const char *dir, char *errmsg, size_t errmsg_size);
/* Takes a waiting connection from a process of this user: its socket
 * (blocking, close-on-exec), or -1 (none waiting, or refused). */
int handover_accept(int listen_fd);
void handover_unlink(const char *dir);

/* The new process: connects to DIR/handover.sock. Returns the socket,
 * or -1 with errmsg (no node serves DIR, or it cannot hand over). */
int handover_connect(const char *dir, char *errmsg, size_t errmsg_size);

/* Sends message (of its type; fds[0..fd_count) go with it). Returns 0
 * or -1 with errmsg. */
int handover_send(int fd, const struct handover_message *message, char *errmsg,
                  size_t errmsg_size);
/* Sends an ABORT saying why; errors ignored (the peer may be gone). */
void handover_abort(int fd, const char *why);
/* Waits up to timeout_ms for the next message (-1: forever) and decodes
 * it. Returns 0; -1 with errmsg (the peer went away, a timeout, another
 * format, a malformed message). An ABORT is returned as a message. */
int handover_recv(int fd, struct handover_message *message, int timeout_ms, char *errmsg,
                  size_t errmsg_size);
/* Closes the descriptors a received message carried. */
void handover_close_fds(struct handover_message *message);

/* Sends one session: SESSION with its socket, then its unsent output in
 * OUT chunks. */
int handover_send_session(int fd, const struct gateway_session_export *session,
                          struct handover_message *scratch, char *errmsg, size_t errmsg_size);
/* Receives one session into *message (its output gathered into out,
 * GATEWAY_OUTBOX_MAX bytes; message->session.out points there). */
int handover_recv_session(int fd, struct handover_message *message, uint8_t *out,
                          char *errmsg, size_t errmsg_size);

#endif
