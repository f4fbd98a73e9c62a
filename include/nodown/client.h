/* The nodown C client library: send commands to a nodown cluster over the
 * native protocol, with failover and exactly-once resend.
 *
 * Link build/libnodown-client.a and -lcrypto; compile with nodown's
 * include/ and src/ on the include path (this header uses struct command
 * of src/core/command.h, and struct frame_query of src/codec/frame.h).
 *
 *   struct nodown_client *client;
 *   char errmsg[256];
 *   if (nodown_client_open(&client, "10.0.0.1:7400,10.0.0.2:7400", 42, 1234, "secret",
 *                          NULL, errmsg, sizeof errmsg) != 0)
 *       die(errmsg);
 *   struct command order = {.type = COMMAND_ORDER_PLACE, ...};
 *   uint64_t client_seq;
 *   nodown_client_send(client, &order, &client_seq);
 *   struct nodown_outcome outcome;
 *   nodown_client_wait(client, &outcome, 1000);
 *   nodown_client_close(client);
 *
 * EXACTLY-ONCE. Every command is sent under (account, client_id,
 * client_seq), the session the state machine keeps. The library numbers
 * commands 1, 2, 3, ... after the session's last applied client_seq, which
 * the node tells it at logon, and keeps each command until its outcome has
 * been returned by nodown_client_wait(). When a connection breaks (end of
 * file, a socket error, an ERROR frame, a malformed frame, or no word from
 * a node that owes outcomes for response_timeout_ms), it connects to the
 * next node of the list, logs on again and resends every command still
 * without an outcome, with the same client_seq. A command the old node had
 * already applied is not applied again: the state machine answers it with
 * its first outcome (duplicate = 1). Nothing is lost, nothing is doubled.
 *
 * Use one client_id per process (or per thread with its own client), and
 * never two live clients with the same (account, client_id): their
 * sequence numbers would collide.
 *
 * The library is blocking, single-threaded per client (no locks, no
 * threads of its own) and never raises SIGPIPE. Every call returns 0 or a
 * negative ERR_* of src/core/result.h; nodown_client_errmsg() says more.
 */
#ifndef NODOWN_CLIENT_H
#define NODOWN_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "codec/frame.h"
#include "core/command.h"
#include "core/limits.h"
#include "core/result.h"

/* Commands sent and not yet returned by nodown_client_wait(), at most.
 * The state machine remembers the outcomes of a session's last
 * session_window() commands only: 8 under logic version 1, 32 from
 * version 2. A resend of an older command, already applied, would be
 * answered REJECT_SEQUENCE_STALE, and its real outcome would be lost to
 * the client. So the library keeps no more in flight than the window the
 * node announced at logon (protocol version 2; 8 with version 1), which
 * nodown_client_window() tells, and every resend after a failover finds
 * its first outcome. */
#define NODOWN_CLIENT_INFLIGHT_MAX SESSION_OUTCOMES_MAX

/* Nodes in the list given to nodown_client_open(). */
#define NODOWN_CLIENT_NODES_MAX 16u

/* Every field 0 means "the default" (nodown_client_options_default). */
struct nodown_client_options {
    int connect_timeout_ms;  /* one TCP connect; default 1000 */
    int io_timeout_ms;       /* a handshake reply, or one frame's write; 5000 */
    int response_timeout_ms; /* silence of a node that owes outcomes; 5000 */
    int failover_rounds_max; /* passes over the whole node list; 3 */
    int backoff_initial_ms;  /* pause after a failed pass, doubled; 50 */
    int backoff_max_ms;      /* the longest pause; 1000 */
    /* While the library waits (wait, query, poll), a PING to the node
     * when nothing was sent for this long; 3000, under the node's
     * heartbeat (10000 by default): a quiet client is never cut. */
    int ping_interval_ms;
    uint16_t version_min;    /* protocol versions offered; 1..1 */
    uint16_t version_max;
};

/* What a command did: the first outcome the state machine gave it. */
struct nodown_outcome {
    uint64_t client_seq;
    uint16_t result;       /* enum result_code: RESULT_OK or a REJECT_* */
    uint16_t command_type;
    uint8_t duplicate;     /* 1: answered a resend (after a failover) */
    uint64_t id;           /* the new or affected object */
    int64_t value;         /* depends on the command */
    uint64_t stream_seq;   /* the stream message that applied it */
    /* An accepted ORDER_REPLACE's first answer, from a node speaking
     * protocol version 3: the quantity this replace filled (value is the
     * order's total filled). -1 otherwise: another command, a resend's
     * answer, or an older node. */
    int64_t replace_filled;
};

struct nodown_client;

void nodown_client_options_default(struct nodown_client_options *options);

/* Connects to the first node of nodes ("host:port,host:port", "[::1]:7400"
 * for IPv6) that answers, says HELLO and logs on as account_id with secret
 * (a NUL-terminated string of at most FRAME_SECRET_SIZE_MAX bytes), then
 * fails over like any broken connection: round robin, at most
 * failover_rounds_max passes over the list, with a backoff between passes.
 * options may be NULL. Returns 0 with *client set, or
 *   ERR_USAGE    a bad node list, secret or option;
 *   ERR_NOMEM    no memory for the client;
 *   ERR_REFUSED  a node refused the logon (the last error a node gave);
 *   ERR_VERSION  no node speaks a version in [version_min, version_max];
 *   ERR_IO       no node could be reached or completed the handshake.
 * errmsg (may be NULL) gets a sentence naming the node and the failure. */
int nodown_client_open(struct nodown_client **client, const char *nodes, uint64_t client_id,
                       uint32_t account_id, const char *secret,
                       const struct nodown_client_options *options, char *errmsg,
                       size_t errmsg_size);

/* Closes the connection and frees the client. Commands still in flight are
 * not waited for: they may or may not have been applied, and a new client
 * with the same client_id learns which by resending them. */
void nodown_client_close(struct nodown_client *client);

/* Queues one command, setting its sender_account_id and client_id to the
 * client's and client_seq to the next one (also stored in *client_seq).
 * Queued commands leave together, in one write, at the next
 * nodown_client_wait(), nodown_client_query() or nodown_client_flush(), or
 * when the queue is full: send a window of commands, then wait.
 * Returns
 *   0             queued (or, if the connection broke, kept in flight and
 *                 resent on a new one);
 *   ERR_CAPACITY  nodown_client_window() commands are in flight: call
 *                 nodown_client_wait() first; nothing was sent;
 *   ERR_USAGE     a command type the codec does not know; nothing sent;
 *   ERR_IO, ERR_REFUSED, ERR_VERSION  the connection broke and failover
 *                 found no node: the command IS queued with *client_seq,
 *                 and the next call to nodown_client_wait() tries the
 *                 nodes again and resends it. */
int nodown_client_send(struct nodown_client *client, const struct command *command,
                       uint64_t *client_seq);

/* Writes the queued commands now, for a caller that will not wait soon.
 * Returns 0, or, when the connection broke and failover found no node,
 * ERR_IO, ERR_REFUSED or ERR_VERSION (the commands stay in flight). */
int nodown_client_flush(struct nodown_client *client);

/* The socket of the connection, or -1 while there is none, for a program
 * that drives many clients from one thread: poll() it for POLLIN, then
 * call nodown_client_wait() with timeout 0 until it returns ERR_TIMEOUT.
 * Only poll it: reading or writing it would corrupt the protocol. It
 * changes at a failover, so ask again after every call. */
int nodown_client_fd(const struct nodown_client *client);

/* The highest stream sequence among the outcomes nodown_client_wait()
 * has returned: set a query's min_seq to it to read your own writes on
 * whatever node answers (protocol version 2). */
uint64_t nodown_client_last_stream_seq(const struct nodown_client *client);

/* Commands this client may have in flight: the widest session window a
 * node announced at logon (8 before any did). */
uint32_t nodown_client_window(const struct nodown_client *client);

/* Writes the queued commands, then waits up to timeout_ms (-1: no limit)
 * for the next outcome of a command in flight, and forgets that command. Answers PINGs while it waits, and
 * fails over when the connection breaks. Returns
 *   0            *outcome is set;
 *   ERR_TIMEOUT  no outcome within timeout_ms (the commands stay in
 *                flight: call again);
 *   ERR_USAGE    no command is in flight;
 *   ERR_IO, ERR_REFUSED, ERR_VERSION  failover found no node (the
 *                commands stay in flight: a later call tries again). */
int nodown_client_wait(struct nodown_client *client, struct nodown_outcome *outcome,
                       int timeout_ms);

/* Sends a query (its request_id is set by the library) and waits up to
 * timeout_ms for its result. Outcomes that arrive meanwhile are kept for
 * nodown_client_wait(). A query is resent after a failover. With
 * query->min_seq set (protocol version 2; dropped on version 1), the node
 * answers once it has applied that stream sequence (at most
 * GATEWAY_QUERY_WAIT_MS later, then with what it has: the result's
 * applied_seq, the sequence the answer reflects, says which). Returns 0 with
 * *result set (check result->result: a REJECT_* when the account may not
 * read it or the object does not exist), ERR_USAGE for a query the codec
 * refuses, ERR_TIMEOUT, or a failover's error. */
int nodown_client_query(struct nodown_client *client, const struct frame_query *query,
                        struct frame_query_result *result, int timeout_ms);

/* Keeps the connection of a client with nothing to send alive, for up to
 * timeout_ms: answers the node's PINGs, sends its own after
 * ping_interval_ms of quiet, and keeps outcomes and results that arrive
 * for nodown_client_wait(). A program that waits on nodown_client_fd()
 * calls it when the socket is readable and nothing is in flight, and at
 * least every ping_interval_ms; a node cuts a logged-on client that
 * answers nothing for twice its heartbeat (docs/protocol.md, Deadlines),
 * and the library then reconnects at the next call. Returns
 *   0            an outcome is ready for nodown_client_wait();
 *   ERR_TIMEOUT  timeout_ms passed, the connection good;
 *   ERR_IO, ERR_REFUSED, ERR_VERSION  the connection broke and failover
 *                found no node. */
int nodown_client_poll(struct nodown_client *client, int timeout_ms);

/* Commands sent and not yet returned by nodown_client_wait(). */
uint32_t nodown_client_inflight_count(const struct nodown_client *client);

/* The last client_seq assigned (or the session's, right after logon). */
uint64_t nodown_client_last_seq(const struct nodown_client *client);

/* The node connected to now: its index in the list given to
 * nodown_client_open(), or -1 while disconnected. */
int nodown_client_node_index(const struct nodown_client *client);

/* Connections made so far, the first included: 1 + failovers. */
uint32_t nodown_client_connection_count(const struct nodown_client *client);

/* The last error, as a sentence naming the node ("" if none). An ERROR
 * frame's text is in it whole: a node that cannot store commands (ERROR 8,
 * a partition's minority side) says why. */
const char *nodown_client_errmsg(const struct nodown_client *client);

#endif
