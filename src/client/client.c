/* The client library (see include/nodown/client.h, docs/protocol.md).
 *
 * One connection at a time, to one node of the list. Commands wait in
 * client->inflight, in client_seq order, from nodown_client_send() until
 * nodown_client_wait() returns their outcome; an outcome that arrives is
 * stored in its entry ("answered") until then. The connection's life:
 *
 *   DISCONNECTED --client_failover--> (each node, round robin:
 *        ^                              net_connect, client_handshake:
 *        |                              HELLO/WELCOME, LOGON/LOGON_OK,
 *        |                              client_resend: every unanswered
 *        |                              command, same client_seq)
 *        |                                       |
 *        +---client_disconnect <-- broken <-- CONNECTED --client_pump-->
 *            (EOF, socket error, ERROR frame,     OUTCOME: entry answered
 *             malformed or unexpected frame,      PING: PONG
 *             silence past response_timeout_ms)   QUERY_RESULT: kept
 *
 * A node is "silent" when it owes something (an unanswered command or a
 * query) and has sent no frame for response_timeout_ms since the later of
 * its last frame and the moment it began to owe. Failover makes at most
 * failover_rounds_max passes over the list, pausing between passes
 * (backoff_initial_ms, doubled up to backoff_max_ms), and one call of
 * wait or query fails over at most that many times over the list, so
 * every call ends.
 */
#include "nodown/client.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "client/net.h"
#include "codec/command_codec.h"

/* Room for a node's ERROR text whole (FRAME_TEXT_SIZE_MAX: a refusal
 * names its cause, docs/cluster.md) behind the node's name and the code. */
#define CLIENT_ERRMSG_SIZE (FRAME_TEXT_SIZE_MAX + 256u)
#define CLIENT_HOST_SIZE 256u
#define CLIENT_PORT_SIZE 8u

/* Our frames: HELLO, LOGON (the largest, 5 + 6 + 256), COMMAND, QUERY,
 * PONG. Commands are queued in client->tx and leave together (one system
 * call for a window of them) at the next wait, query or flush: room for a
 * whole window of commands and one frame of any other kind. */
#define CLIENT_FRAME_MAX 512u
#define CLIENT_TX_SIZE                                                                      \
    ((FRAME_HEADER_SIZE + COMMAND_ENCODED_SIZE_MAX) * NODOWN_CLIENT_INFLIGHT_MAX +         \
     CLIENT_FRAME_MAX)
_Static_assert(FRAME_HEADER_SIZE + 6 + FRAME_SECRET_SIZE_MAX <= CLIENT_FRAME_MAX, "LOGON fits");
_Static_assert(FRAME_HEADER_SIZE + COMMAND_ENCODED_SIZE_MAX <= CLIENT_FRAME_MAX, "COMMAND fits");

struct client_node {
    char host[CLIENT_HOST_SIZE];
    char port[CLIENT_PORT_SIZE];
};

struct client_inflight {
    struct command command;
    bool answered;
    struct nodown_outcome outcome;
};

struct nodown_client {
    struct client_node nodes[NODOWN_CLIENT_NODES_MAX];
    uint32_t node_count;
    int node_index;     /* connected to, or -1 */
    uint32_t next_node; /* where the next failover starts */
    uint32_t connection_count;
    uint64_t client_id;
    uint32_t account_id;
    uint16_t secret_size;
    uint8_t secret[FRAME_SECRET_SIZE_MAX];
    struct nodown_client_options options;

    int fd; /* -1 when disconnected */
    uint16_t version;
    uint32_t node_id;
    int64_t owed_since_ms; /* see "silent" at the top */
    int64_t sent_ms;       /* the last write to the node: PING after ping_interval_ms */
    uint64_t ping_nonce;

    uint64_t last_seq;
    uint32_t window; /* commands in flight allowed: the node's session window */
    uint64_t last_stream_seq; /* the highest stream_seq of an outcome returned */
    struct client_inflight inflight[NODOWN_CLIENT_INFLIGHT_MAX];
    uint32_t inflight_count;

    bool query_pending; /* sent (or to resend), no result yet */
    bool query_done;
    uint64_t request_id_last;
    struct frame_query query;
    struct frame_query_result query_result;

    char errmsg[CLIENT_ERRMSG_SIZE];
    struct frame frame; /* the frame being decoded or encoded */
    size_t tx_size;     /* queued bytes not yet written */
    uint8_t tx[CLIENT_TX_SIZE];
    size_t rx_start;
    size_t rx_end;
    uint8_t rx[FRAME_BUFFER_SIZE];
};

static void client_errmsg_set(struct nodown_client *client, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    vsnprintf(client->errmsg, sizeof client->errmsg, format, args);
    va_end(args);
}

static const struct client_node *client_node_at(const struct nodown_client *client, int index)
{
    assert(index >= 0 && (uint32_t)index < client->node_count);
    return &client->nodes[index];
}

/* ---- Setup: options and the node list. ---- */

void nodown_client_options_default(struct nodown_client_options *options)
{
    memset(options, 0, sizeof *options);
    options->connect_timeout_ms = 1000;
    options->io_timeout_ms = 5000;
    options->response_timeout_ms = 5000;
    options->failover_rounds_max = 3;
    options->backoff_initial_ms = 50;
    options->backoff_max_ms = 1000;
    options->ping_interval_ms = 3000;
    options->version_min = FRAME_PROTOCOL_VERSION_MIN;
    options->version_max = FRAME_PROTOCOL_VERSION;
}

/* Copies options, with defaults for the zero fields. */
static int client_options_set(struct nodown_client *client,
                              const struct nodown_client_options *given)
{
    struct nodown_client_options *options = &client->options;
    nodown_client_options_default(options);
    if (given == NULL)
        return 0;
    int *fields[] = {&options->connect_timeout_ms, &options->io_timeout_ms,
                     &options->response_timeout_ms, &options->failover_rounds_max,
                     &options->backoff_initial_ms, &options->backoff_max_ms,
                     &options->ping_interval_ms};
    const int values[] = {given->connect_timeout_ms, given->io_timeout_ms,
                          given->response_timeout_ms, given->failover_rounds_max,
                          given->backoff_initial_ms, given->backoff_max_ms,
                          given->ping_interval_ms};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        if (values[i] < 0)
            return ERR_USAGE;
        if (values[i] > 0)
            *fields[i] = values[i];
    }
    if (given->version_min != 0 || given->version_max != 0) {
        options->version_min = given->version_min;
        options->version_max = given->version_max;
    }
    if (options->version_min == 0 || options->version_min > options->version_max)
        return ERR_USAGE;
    return 0;
}

/* One "host:port" or "[v6 address]:port" of length size. */
static int client_node_parse(struct client_node *node, const char *text, size_t size)
{
    const char *colon = NULL;
    for (size_t i = 0; i < size; i++)
        if (text[i] == ':')
            colon = text + i;
    if (colon == NULL)
        return ERR_USAGE;
    const char *host = text;
    size_t host_size = (size_t)(colon - text);
    if (host_size >= 2 && host[0] == '[' && host[host_size - 1] == ']') {
        host++;
        host_size -= 2;
    }
    size_t port_size = (size_t)(text + size - (colon + 1));
    if (host_size == 0 || host_size >= CLIENT_HOST_SIZE || port_size == 0 || port_size > 5)
        return ERR_USAGE;
    long port = 0;
    for (size_t i = 0; i < port_size; i++) {
        if (colon[1 + i] < '0' || colon[1 + i] > '9')
            return ERR_USAGE;
        port = port * 10 + (colon[1 + i] - '0');
    }
    if (port < 1 || port > 65535)
        return ERR_USAGE;
    memcpy(node->host, host, host_size);
    node->host[host_size] = '\0';
    memcpy(node->port, colon + 1, port_size);
    node->port[port_size] = '\0';
    return 0;
}

static int client_nodes_parse(struct nodown_client *client, const char *nodes)
{
    client->node_count = 0;
    const char *at = nodes;
    for (;;) {
        const char *comma = strchr(at, ',');
        size_t size = comma == NULL ? strlen(at) : (size_t)(comma - at);
        if (client->node_count == NODOWN_CLIENT_NODES_MAX)
            return ERR_USAGE;
        if (client_node_parse(&client->nodes[client->node_count], at, size) != 0)
            return ERR_USAGE;
        client->node_count++;
        if (comma == NULL)
            return 0;
        at = comma + 1;
    }
}

/* ---- Frames on the connection. ---- */

static void client_disconnect(struct nodown_client *client)
{
    if (client->fd >= 0)
        close(client->fd); /* nothing to do about a failing close */
    client->fd = -1;
    client->node_index = -1;
    client->rx_start = 0;
    client->rx_end = 0;
    client->tx_size = 0; /* what was queued is resent after the next logon */
}

/* Writes what is queued. Returns 0 or ERR_IO. */
static int client_flush(struct nodown_client *client)
{
    assert(client->fd >= 0);
    if (client->tx_size == 0)
        return 0;
    int64_t deadline_ms = net_deadline_ms(client->options.io_timeout_ms);
    int rv = net_send_all(client->fd, client->tx, client->tx_size, deadline_ms);
    client->tx_size = 0;
    client->sent_ms = net_now_ms();
    if (rv != 0) {
        const struct client_node *node = client_node_at(client, client->node_index);
        client_errmsg_set(client, "node %s:%s: send: %s", node->host, node->port,
                          rv == ERR_TIMEOUT ? "timed out" : strerror(errno));
        return ERR_IO;
    }
    return 0;
}

/* Encodes client->frame behind what is queued, writing the queue first if
 * the frame might not fit. Returns 0 or ERR_IO. */
static int client_frame_queue(struct nodown_client *client)
{
    assert(client->fd >= 0);
    if (sizeof client->tx - client->tx_size < CLIENT_FRAME_MAX && client_flush(client) != 0)
        return ERR_IO;
    size_t length = 0;
    int rv = frame_encode(&client->frame, client->tx + client->tx_size,
                          sizeof client->tx - client->tx_size, &length);
    assert(rv == 0); /* our frames were checked when they were made */
    (void)rv;
    client->tx_size += length;
    return 0;
}

/* Queues client->frame and writes the queue. Returns 0 or ERR_IO. */
static int client_frame_send(struct nodown_client *client)
{
    return client_frame_queue(client) == 0 ? client_flush(client) : ERR_IO;
}

/* Reads the next frame into client->frame before deadline_ms. Returns 0,
 * ERR_TIMEOUT (the connection is still good), ERR_IO or
 * ERR_DECODE_MALFORMED. */
static int client_frame_receive(struct nodown_client *client, int64_t deadline_ms)
{
    const struct client_node *node = client_node_at(client, client->node_index);
    for (;;) {
        size_t consumed = 0;
        int rv = frame_decode(client->rx + client->rx_start, client->rx_end - client->rx_start,
                              &client->frame, &consumed);
        if (rv == 0) {
            client->rx_start += consumed;
            assert(client->rx_start <= client->rx_end);
            return 0;
        }
        if (rv != ERR_DECODE_NEED_MORE) {
            client_errmsg_set(client, "node %s:%s: malformed frame", node->host, node->port);
            return ERR_DECODE_MALFORMED;
        }
        /* A frame is at most FRAME_BUFFER_SIZE: after moving the partial
         * frame to the front there is room for the rest of it. */
        memmove(client->rx, client->rx + client->rx_start, client->rx_end - client->rx_start);
        client->rx_end -= client->rx_start;
        client->rx_start = 0;
        assert(client->rx_end < sizeof client->rx);
        size_t received = 0;
        rv = net_receive(client->fd, client->rx + client->rx_end,
                         sizeof client->rx - client->rx_end, deadline_ms, &received);
        if (rv == ERR_TIMEOUT)
            return ERR_TIMEOUT;
        if (rv != 0) {
            client_errmsg_set(client, "node %s:%s: %s", node->host, node->port,
                              errno == 0 ? "connection closed" : strerror(errno));
            return ERR_IO;
        }
        client->rx_end += received;
    }
}

/* An ERROR frame from the node: its text in errmsg, and the error it
 * means for us. */
static int client_error_frame(struct nodown_client *client)
{
    const struct frame_error *error = &client->frame.u.error;
    const struct client_node *node = client_node_at(client, client->node_index);
    client_errmsg_set(client, "node %s:%s: %s (%u): %s", node->host, node->port,
                      frame_error_text(error->code), error->code, error->text);
    if (error->code == FRAME_ERROR_LOGON_FAILED)
        return ERR_REFUSED;
    if (error->code == FRAME_ERROR_VERSION)
        return ERR_VERSION;
    return ERR_IO;
}

static int client_pong_send(struct nodown_client *client)
{
    assert(client->frame.type == FRAME_PING);
    client->frame.type = FRAME_PONG; /* the same nonce */
    return client_frame_send(client);
}

/* ---- The handshake. ---- */

/* Waits for the reply of a handshake step, answering PINGs meanwhile. */
static int client_reply_receive(struct nodown_client *client, uint8_t expected)
{
    const struct client_node *node = client_node_at(client, client->node_index);
    int64_t deadline_ms = net_deadline_ms(client->options.io_timeout_ms);
    for (;;) {
        int rv = client_frame_receive(client, deadline_ms);
        if (rv == ERR_TIMEOUT) {
            client_errmsg_set(client, "node %s:%s: no %s within %d ms", node->host, node->port,
                              frame_type_name(expected), client->options.io_timeout_ms);
            return ERR_IO;
        }
        if (rv != 0)
            return ERR_IO;
        uint8_t type = client->frame.type;
        if (type == expected)
            return 0;
        if (type == FRAME_ERROR)
            return client_error_frame(client);
        if (type == FRAME_PING) {
            if (client_pong_send(client) != 0)
                return ERR_IO;
            continue;
        }
        if (type != FRAME_PONG) {
            client_errmsg_set(client, "node %s:%s: %s instead of %s", node->host, node->port,
                              frame_type_name(type), frame_type_name(expected));
            return ERR_IO;
        }
    }
}

/* HELLO/WELCOME then LOGON/LOGON_OK on a fresh connection. */
static int client_handshake(struct nodown_client *client)
{
    const struct client_node *node = client_node_at(client, client->node_index);
    struct frame *frame = &client->frame;
    frame->type = FRAME_HELLO;
    frame->u.hello = (struct frame_hello){client->options.version_min,
                                          client->options.version_max, client->client_id};
    int rv = client_frame_send(client);
    if (rv == 0)
        rv = client_reply_receive(client, FRAME_WELCOME);
    if (rv != 0)
        return rv;
    client->version = frame->u.welcome.version;
    client->node_id = frame->u.welcome.node_id;
    if (client->version < client->options.version_min ||
        client->version > client->options.version_max) {
        client_errmsg_set(client, "node %s:%s: chose protocol version %u, outside %u..%u",
                          node->host, node->port, client->version, client->options.version_min,
                          client->options.version_max);
        return ERR_VERSION;
    }
    frame->type = FRAME_LOGON;
    frame->u.logon.account_id = client->account_id;
    frame->u.logon.secret_size = client->secret_size;
    memcpy(frame->u.logon.secret, client->secret, client->secret_size);
    rv = client_frame_send(client);
    OPENSSL_cleanse(frame->u.logon.secret, client->secret_size);
    if (rv == 0)
        rv = client_reply_receive(client, FRAME_LOGON_OK);
    if (rv != 0)
        return rv;
    if (frame->u.logon_ok.account_id != client->account_id) {
        client_errmsg_set(client, "node %s:%s: logged on as account %u, not %u", node->host,
                          node->port, frame->u.logon_ok.account_id, client->account_id);
        return ERR_IO;
    }
    /* Number new commands after the session's last one, wherever it was
     * sent from. */
    if (frame->u.logon_ok.last_client_seq > client->last_seq)
        client->last_seq = frame->u.logon_ok.last_client_seq;
    /* Version 1 says nothing: the window of logic version 1. Windows only
     * widen from one logic version to the next, so keeping the widest one
     * a node has told is safe even on a node that has not applied the
     * widening yet: the commands are applied after it, in stream order. */
    uint32_t window = frame->u.logon_ok.session_window == 0 ? SESSION_WINDOW_V1
                                                             : frame->u.logon_ok.session_window;
    if (window > NODOWN_CLIENT_INFLIGHT_MAX)
        window = NODOWN_CLIENT_INFLIGHT_MAX;
    if (window > client->window)
        client->window = window;
    return 0;
}

static uint32_t client_unanswered_count(const struct nodown_client *client)
{
    uint32_t count = 0;
    for (uint32_t i = 0; i < client->inflight_count; i++)
        count += client->inflight[i].answered ? 0 : 1;
    return count;
}

/* Whether the node owes us a frame: an outcome or a query result. */
static bool client_owed(const struct nodown_client *client)
{
    return client_unanswered_count(client) > 0 || (client->query_pending && !client->query_done);
}

/* After a logon: every command without an outcome, in client_seq order and
 * with its client_seq, then the pending query. */
static int client_resend(struct nodown_client *client)
{
    for (uint32_t i = 0; i < client->inflight_count; i++) {
        if (client->inflight[i].answered)
            continue;
        client->frame.type = FRAME_COMMAND;
        client->frame.u.command = client->inflight[i].command;
        if (client_frame_queue(client) != 0)
            return ERR_IO;
    }
    if (client->query_pending && !client->query_done) {
        client->frame.type = FRAME_QUERY;
        client->frame.u.query = client->query;
        if (client->version < 2)
            client->frame.u.query.min_seq = 0; /* version 1 has no such field */
        if (client_frame_queue(client) != 0)
            return ERR_IO;
    }
    if (client_flush(client) != 0)
        return ERR_IO;
    client->owed_since_ms = net_now_ms();
    return 0;
}

/* Connects to node index, logs on and resends. */
static int client_connect(struct nodown_client *client, uint32_t index)
{
    assert(client->fd < 0);
    const struct client_node *node = &client->nodes[index];
    char reason[CLIENT_ERRMSG_SIZE];
    int fd = net_connect(node->host, node->port, client->options.connect_timeout_ms, reason,
                         sizeof reason);
    if (fd < 0) {
        client_errmsg_set(client, "node %s", reason);
        return ERR_IO;
    }
    client->fd = fd;
    client->node_index = (int)index;
    client->rx_start = 0;
    client->rx_end = 0;
    int rv = client_handshake(client);
    if (rv == 0)
        rv = client_resend(client);
    if (rv != 0) {
        client_disconnect(client);
        return rv;
    }
    client->next_node = (index + 1) % client->node_count;
    client->connection_count++;
    return 0;
}

/* Tries the nodes round robin from next_node, failover_rounds_max passes
 * with a backoff between passes. Returns 0 when connected, or the most
 * telling failure: a refused logon, else no common version, else ERR_IO. */
static int client_failover(struct nodown_client *client)
{
    client_disconnect(client);
    int result = ERR_IO;
    char refusal[CLIENT_ERRMSG_SIZE] = "";
    int backoff_ms = client->options.backoff_initial_ms;
    for (int round = 0; round < client->options.failover_rounds_max; round++) {
        if (round > 0) {
            net_sleep_ms(backoff_ms);
            backoff_ms = backoff_ms > client->options.backoff_max_ms / 2
                             ? client->options.backoff_max_ms
                             : backoff_ms * 2;
        }
        for (uint32_t k = 0; k < client->node_count; k++) {
            int rv = client_connect(client, (client->next_node + k) % client->node_count);
            if (rv == 0)
                return 0;
            if (rv == ERR_REFUSED) {
                result = ERR_REFUSED;
                memcpy(refusal, client->errmsg, sizeof refusal);
            } else if (rv == ERR_VERSION && result != ERR_REFUSED) {
                result = ERR_VERSION;
            }
        }
    }
    if (result == ERR_REFUSED)
        memcpy(client->errmsg, refusal, sizeof refusal);
    assert(client->fd < 0);
    return result;
}

/* ---- Reading what the node sends. ---- */

static void client_outcome_store(struct nodown_client *client,
                                 const struct frame_outcome *outcome)
{
    for (uint32_t i = 0; i < client->inflight_count; i++) {
        struct client_inflight *entry = &client->inflight[i];
        if (entry->command.client_seq != outcome->client_seq || entry->answered)
            continue;
        entry->answered = true;
        entry->outcome = (struct nodown_outcome){outcome->client_seq, outcome->result,
                                                 outcome->command_type, outcome->duplicate,
                                                 outcome->id, outcome->value,
                                                 outcome->stream_seq, -1};
        if (outcome->has_replace_filled)
            entry->outcome.replace_filled = outcome->replace_filled;
        return;
    }
    /* Not in flight: a second answer to a command already answered, which
     * a node may send after a resend. The first one counts. */
}

/* Takes the answered entry of lowest client_seq out of the queue. */
static bool client_outcome_pop(struct nodown_client *client, struct nodown_outcome *outcome)
{
    for (uint32_t i = 0; i < client->inflight_count; i++) {
        if (!client->inflight[i].answered)
            continue;
        *outcome = client->inflight[i].outcome;
        if (outcome->stream_seq > client->last_stream_seq)
            client->last_stream_seq = outcome->stream_seq;
        memmove(&client->inflight[i], &client->inflight[i + 1],
                (client->inflight_count - i - 1) * sizeof client->inflight[0]);
        client->inflight_count--;
        return true;
    }
    return false;
}

/* Acts on the frame just received. Returns 0, or the error of a broken
 * connection. */
static int client_dispatch(struct nodown_client *client)
{
    const struct frame *frame = &client->frame;
    const struct client_node *node = client_node_at(client, client->node_index);
    switch (frame->type) {
    case FRAME_OUTCOME:
        /* The session was evicted (logic version 3): new commands go on
         * above the account's horizon, as after a logon. */
        if (frame->u.outcome.result == REJECT_SESSION_EVICTED && frame->u.outcome.value > 0 &&
            (uint64_t)frame->u.outcome.value > client->last_seq)
            client->last_seq = (uint64_t)frame->u.outcome.value;
        client_outcome_store(client, &frame->u.outcome);
        return 0;
    case FRAME_PING:
        return client_pong_send(client);
    case FRAME_PONG:
        return 0;
    case FRAME_QUERY_RESULT:
        /* A result for an older query (one that timed out) is dropped. */
        if (client->query_pending && !client->query_done &&
            frame->u.query_result.request_id == client->query.request_id) {
            client->query_result = frame->u.query_result;
            client->query_done = true;
        }
        return 0;
    case FRAME_ERROR:
        return client_error_frame(client);
    default:
        client_errmsg_set(client, "node %s:%s: unexpected %s", node->host, node->port,
                          frame_type_name(frame->type));
        return ERR_DECODE_MALFORMED;
    }
}

/* When a node that owes us something has been silent too long: a query
 * for a stream sequence it has not applied may wait FRAME_QUERY_WAIT_MS
 * there before its answer, so such a query gets that much more. */
static int64_t client_silent_at_ms(const struct nodown_client *client)
{
    if (!client_owed(client))
        return NET_DEADLINE_NONE;
    int64_t allowed_ms = client->options.response_timeout_ms;
    if (client->query_pending && !client->query_done && client->query.min_seq != 0)
        allowed_ms += FRAME_QUERY_WAIT_MS;
    return client->owed_since_ms + allowed_ms;
}

/* Reads and handles one frame before deadline_ms, sending a PING when
 * nothing was sent for ping_interval_ms. Returns 0, ERR_TIMEOUT (the
 * connection is good, nothing came), or a broken connection's error
 * (silence past response_timeout_ms among them). A PONG is not an answer
 * to what the node owes: a node that answers PINGs but never applies is
 * still silent. */
static int client_pump(struct nodown_client *client, int64_t deadline_ms)
{
    int64_t silent_at_ms = client_silent_at_ms(client);
    int64_t ping_at_ms = client->sent_ms + client->options.ping_interval_ms;
    int64_t until_ms = silent_at_ms < deadline_ms ? silent_at_ms : deadline_ms;
    int rv = client_frame_receive(client, ping_at_ms < until_ms ? ping_at_ms : until_ms);
    if (rv == ERR_TIMEOUT) {
        int64_t now_ms = net_now_ms();
        if (silent_at_ms != NET_DEADLINE_NONE && now_ms >= silent_at_ms) {
            const struct client_node *node = client_node_at(client, client->node_index);
            client_errmsg_set(client, "node %s:%s: no answer for %" PRId64 " ms", node->host,
                              node->port, now_ms - client->owed_since_ms);
            return ERR_IO;
        }
        if (now_ms < ping_at_ms)
            return now_ms >= deadline_ms ? ERR_TIMEOUT : 0;
        client->frame.type = FRAME_PING;
        client->frame.u.ping.nonce = ++client->ping_nonce;
        return client_frame_send(client);
    }
    if (rv != 0)
        return rv;
    if (client->frame.type != FRAME_PONG && client->frame.type != FRAME_PING)
        client->owed_since_ms = net_now_ms();
    return client_dispatch(client);
}

/* One step of a wait: fail over when disconnected, else read one frame.
 * Returns 0 to go on, or what ends the wait. */
static int client_step(struct nodown_client *client, int64_t deadline_ms, int *failovers_left)
{
    if (client->fd < 0) {
        if (*failovers_left == 0)
            return ERR_IO; /* errmsg says why the last connection ended */
        (*failovers_left)--;
        return client_failover(client);
    }
    int rv = client_pump(client, deadline_ms);
    if (rv == ERR_TIMEOUT)
        return ERR_TIMEOUT;
    if (rv != 0)
        client_disconnect(client); /* the next step fails over */
    return 0;
}

static int client_failovers_max(const struct nodown_client *client)
{
    return client->options.failover_rounds_max * (int)client->node_count;
}

/* ---- The API. ---- */

static int client_setup(struct nodown_client *client, const char *nodes, uint64_t client_id,
                        uint32_t account_id, const char *secret,
                        const struct nodown_client_options *options)
{
    if (client_options_set(client, options) != 0) {
        client_errmsg_set(client, "bad options");
        return ERR_USAGE;
    }
    if (nodes == NULL || client_nodes_parse(client, nodes) != 0) {
        client_errmsg_set(client, "bad node list \"%s\" (host:port,host:port)",
                          nodes == NULL ? "" : nodes);
        return ERR_USAGE;
    }
    size_t secret_size = secret == NULL ? 0 : strlen(secret);
    if (secret == NULL || secret_size > FRAME_SECRET_SIZE_MAX) {
        client_errmsg_set(client, "the secret must be a string of at most %u bytes",
                          FRAME_SECRET_SIZE_MAX);
        return ERR_USAGE;
    }
    memcpy(client->secret, secret, secret_size);
    client->secret_size = (uint16_t)secret_size;
    client->client_id = client_id;
    client->account_id = account_id;
    return 0;
}

int nodown_client_open(struct nodown_client **client_out, const char *nodes, uint64_t client_id,
                       uint32_t account_id, const char *secret,
                       const struct nodown_client_options *options, char *errmsg,
                       size_t errmsg_size)
{
    *client_out = NULL;
    struct nodown_client *client = calloc(1, sizeof *client);
    if (client == NULL) {
        if (errmsg != NULL && errmsg_size > 0)
            snprintf(errmsg, errmsg_size, "no memory for a client");
        return ERR_NOMEM;
    }
    client->fd = -1;
    client->node_index = -1;
    client->window = SESSION_WINDOW_V1;
    int rv = client_setup(client, nodes, client_id, account_id, secret, options);
    if (rv == 0)
        rv = client_failover(client);
    if (rv != 0) {
        if (errmsg != NULL && errmsg_size > 0)
            snprintf(errmsg, errmsg_size, "%s", client->errmsg);
        nodown_client_close(client);
        return rv;
    }
    assert(client->fd >= 0);
    *client_out = client;
    return 0;
}

void nodown_client_close(struct nodown_client *client)
{
    if (client == NULL)
        return;
    client_disconnect(client);
    OPENSSL_cleanse(client->secret, sizeof client->secret);
    free(client);
}

int nodown_client_send(struct nodown_client *client, const struct command *command,
                       uint64_t *client_seq)
{
    if (command_encoded_size(command->type) == 0)
        return ERR_USAGE;
    if (client->inflight_count >= client->window)
        return ERR_CAPACITY;
    if (!client_owed(client))
        client->owed_since_ms = net_now_ms();
    struct client_inflight *entry = &client->inflight[client->inflight_count++];
    memset(entry, 0, sizeof *entry);
    entry->command = *command;
    entry->command.sender_account_id = client->account_id;
    entry->command.client_id = client->client_id;
    entry->command.client_seq = ++client->last_seq;
    *client_seq = entry->command.client_seq;
    if (client->fd >= 0) {
        client->frame.type = FRAME_COMMAND;
        client->frame.u.command = entry->command;
        if (client_frame_queue(client) == 0)
            return 0;
    }
    /* Kept in flight either way: failover resends it with the others. */
    return client_failover(client);
}

int nodown_client_flush(struct nodown_client *client)
{
    if (client->fd >= 0 && client_flush(client) == 0)
        return 0;
    if (client_unanswered_count(client) == 0) {
        client_disconnect(client); /* nothing owed: the next send reconnects */
        return 0;
    }
    return client_failover(client);
}

int nodown_client_wait(struct nodown_client *client, struct nodown_outcome *outcome,
                       int timeout_ms)
{
    if (client->inflight_count == 0)
        return ERR_USAGE;
    int64_t deadline_ms = net_deadline_ms(timeout_ms);
    int failovers_left = client_failovers_max(client);
    if (client->fd >= 0 && client_flush(client) != 0)
        client_disconnect(client); /* the first step fails over and resends */
    for (;;) {
        if (client_outcome_pop(client, outcome))
            return 0;
        int rv = client_step(client, deadline_ms, &failovers_left);
        if (rv != 0)
            return rv;
    }
}

int nodown_client_query(struct nodown_client *client, const struct frame_query *query,
                        struct frame_query_result *result, int timeout_ms)
{
    client->frame.type = FRAME_QUERY;
    client->frame.u.query = *query;
    client->frame.u.query.request_id = client->request_id_last + 1;
    if (frame_encoded_size(&client->frame) == 0)
        return ERR_USAGE;
    client->request_id_last++;
    if (!client_owed(client))
        client->owed_since_ms = net_now_ms();
    client->query = client->frame.u.query;
    client->query_pending = true;
    if (client->fd >= 0 && client->version < 2)
        client->frame.u.query.min_seq = 0; /* version 1 has no such field */
    client->query_done = false;
    if (client->fd >= 0 && client_frame_send(client) != 0)
        client_disconnect(client); /* the first step fails over and resends */
    int64_t deadline_ms = net_deadline_ms(timeout_ms);
    int failovers_left = client_failovers_max(client);
    int rv = 0;
    while (rv == 0 && !client->query_done)
        rv = client_step(client, deadline_ms, &failovers_left);
    if (rv == 0)
        *result = client->query_result;
    client->query_pending = false;
    return rv;
}

int nodown_client_poll(struct nodown_client *client, int timeout_ms)
{
    int64_t deadline_ms = net_deadline_ms(timeout_ms);
    int failovers_left = client_failovers_max(client);
    if (client->fd >= 0 && client_flush(client) != 0)
        client_disconnect(client); /* the first step fails over and resends */
    for (;;) {
        for (uint32_t i = 0; i < client->inflight_count; i++)
            if (client->inflight[i].answered)
                return 0;
        int rv = client_step(client, deadline_ms, &failovers_left);
        if (rv != 0)
            return rv;
    }
}

uint32_t nodown_client_inflight_count(const struct nodown_client *client)
{
    return client->inflight_count;
}

int nodown_client_fd(const struct nodown_client *client)
{
    return client->fd;
}

uint64_t nodown_client_last_stream_seq(const struct nodown_client *client)
{
    return client->last_stream_seq;
}

uint32_t nodown_client_window(const struct nodown_client *client)
{
    return client->window;
}

uint64_t nodown_client_last_seq(const struct nodown_client *client)
{
    return client->last_seq;
}

int nodown_client_node_index(const struct nodown_client *client)
{
    return client->node_index;
}

uint32_t nodown_client_connection_count(const struct nodown_client *client)
{
    return client->connection_count;
}

const char *nodown_client_errmsg(const struct nodown_client *client)
{
    return client->errmsg;
}
