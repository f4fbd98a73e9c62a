/* Tests of the client library (include/nodown/client.h) against fake
 * servers.
 *
 * There is no gateway in these tests: each fake server is a thread with a
 * listening socket on 127.0.0.1 (port chosen by the kernel) that speaks the
 * native protocol from src/codec/frame.h. It answers HELLO with WELCOME,
 * LOGON with LOGON_OK (or an ERROR when told to refuse), and each COMMAND
 * with an OUTCOME whose id is the client_seq; it records the client_seq of
 * every command it reads. Told to, it drops the connection on reading its
 * n-th command without answering it, stays silent, or pings first. The
 * tests read a server's record only after stopping (joining) its thread.
 * Every wait is bounded: the whole binary runs in a few seconds.
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <unistd.h>

#include "client/net.h"
#include "codec/frame.h"
#include "core/result.h"
#include "nodown/client.h"
#include "test.h"

#define FAKE_SEQS_MAX 64u
#define FAKE_READ_TIMEOUT_MS 3000
#define FAKE_SECRET "s3cret"
#define FAKE_ACCOUNT 1234u
#define FAKE_CLIENT_ID 0xC1C2C3C4C5C6C7C8u

struct fake_server {
    int listen_fd;
    uint16_t port;
    uint32_t tag; /* OUTCOME stream_seq = tag * 1000 + client_seq */
    /* Behaviour, set before fake_start(). */
    uint64_t last_client_seq; /* in LOGON_OK; resends at or below it are duplicates */
    uint32_t drop_after;      /* drop on reading the n-th command (once); 0: never */
    uint16_t refuse_code;     /* answer LOGON (or HELLO for a version error) with it */
    bool silent;              /* read commands, never answer */
    const char *read_only;    /* answer every command with ERROR 8 and this text */
    bool ping_first;          /* a PING, and wait for its PONG, before each OUTCOME */
    uint16_t window;          /* speak version 2 and announce it; 0: version 1 */
    /* What it saw. */
    uint64_t seqs[FAKE_SEQS_MAX];
    uint32_t seq_count;
    uint64_t hello_client_id;
    uint32_t logon_account_id;
    char logon_secret[FRAME_SECRET_SIZE_MAX + 1];
    uint32_t sender_mismatch_count; /* commands not stamped with the session's ids */
    uint32_t connection_count;
    uint32_t pong_count;
    uint32_t query_count;
    bool dropped;
    atomic_int stop;
    pthread_t thread;
    /* One connection's read buffer and frames. */
    uint8_t rx[FRAME_BUFFER_SIZE];
    size_t rx_size;
    struct frame frame;
    uint8_t tx[FRAME_BUFFER_SIZE];
};

/* ---- The fake server. ---- */

static int fake_send(struct fake_server *server, int fd)
{
    size_t length = 0;
    if (frame_encode(&server->frame, server->tx, sizeof server->tx, &length) != 0)
        return -1;
    size_t sent = 0;
    while (sent < length) {
        ssize_t rv = send(fd, server->tx + sent, length - sent, MSG_NOSIGNAL);
        if (rv < 0 && errno == EINTR)
            continue;
        if (rv <= 0)
            return -1;
        sent += (size_t)rv;
    }
    return 0;
}

/* Reads the next frame into server->frame. Returns 0, or -1 on EOF, error,
 * timeout or a malformed frame. */
static int fake_receive(struct fake_server *server, int fd)
{
    for (;;) {
        size_t consumed = 0;
        int rv = frame_decode(server->rx, server->rx_size, &server->frame, &consumed);
        if (rv == 0) {
            memmove(server->rx, server->rx + consumed, server->rx_size - consumed);
            server->rx_size -= consumed;
            return 0;
        }
        if (rv != ERR_DECODE_NEED_MORE)
            return -1;
        struct pollfd pollfd = {fd, POLLIN, 0};
        if (poll(&pollfd, 1, FAKE_READ_TIMEOUT_MS) <= 0)
            return -1;
        ssize_t got = recv(fd, server->rx + server->rx_size, sizeof server->rx - server->rx_size,
                           0);
        if (got <= 0)
            return -1;
        server->rx_size += (size_t)got;
    }
}

/* HELLO -> WELCOME, LOGON -> LOGON_OK (or the refusal). Returns 0 when the
 * session is open. */
static int fake_handshake(struct fake_server *server, int fd)
{
    if (fake_receive(server, fd) != 0 || server->frame.type != FRAME_HELLO)
        return -1;
    server->hello_client_id = server->frame.u.hello.client_id;
    if (server->refuse_code == FRAME_ERROR_VERSION) {
        frame_error_set(&server->frame, FRAME_ERROR_VERSION, "only version 7");
        fake_send(server, fd);
        return -1;
    }
    server->frame.type = FRAME_WELCOME;
    server->frame.u.welcome =
        (struct frame_welcome){server->window == 0 ? 1 : 2, server->tag, 555};
    if (fake_send(server, fd) != 0 || fake_receive(server, fd) != 0 ||
        server->frame.type != FRAME_LOGON)
        return -1;
    struct frame_logon *logon = &server->frame.u.logon;
    server->logon_account_id = logon->account_id;
    memcpy(server->logon_secret, logon->secret, logon->secret_size);
    server->logon_secret[logon->secret_size] = '\0';
    if (server->refuse_code != 0) {
        frame_error_set(&server->frame, server->refuse_code, "bad secret");
        fake_send(server, fd);
        return -1;
    }
    uint32_t account_id = logon->account_id;
    server->frame.type = FRAME_LOGON_OK;
    server->frame.u.logon_ok =
        (struct frame_logon_ok){account_id, server->last_client_seq, server->window};
    return fake_send(server, fd);
}

/* Sends a PING and reads until its PONG. */
static int fake_ping(struct fake_server *server, int fd, uint64_t nonce)
{
    server->frame.type = FRAME_PING;
    server->frame.u.ping.nonce = nonce;
    if (fake_send(server, fd) != 0 || fake_receive(server, fd) != 0)
        return -1;
    if (server->frame.type != FRAME_PONG || server->frame.u.ping.nonce != nonce)
        return -1;
    server->pong_count++;
    return 0;
}

static int fake_outcome(struct fake_server *server, int fd, const struct command *command)
{
    uint64_t seq = command->client_seq;
    uint16_t type = command->type;
    if (server->ping_first && fake_ping(server, fd, seq * 7) != 0)
        return -1;
    server->frame.type = FRAME_OUTCOME;
    server->frame.u.outcome = (struct frame_outcome){seq, RESULT_OK, type,
                                                     seq <= server->last_client_seq, seq, -7,
                                                     server->tag * 1000 + seq, 0, 0};
    return fake_send(server, fd);
}

static int fake_query_result(struct fake_server *server, int fd)
{
    struct frame_query query = server->frame.u.query;
    server->query_count++;
    memset(&server->frame, 0, sizeof server->frame);
    server->frame.type = FRAME_QUERY_RESULT;
    struct frame_query_result *result = &server->frame.u.query_result;
    result->request_id = query.request_id;
    result->query_type = query.query_type;
    if (query.query_type != QUERY_ACCOUNT) {
        result->result = REJECT_NOT_AUTHORIZED;
        return fake_send(server, fd);
    }
    result->u.account.account_id = query.u.account.account_id;
    result->u.account.balance_minor = 12345;
    return fake_send(server, fd);
}

/* Closes our side for writing, and reads until the client hangs up. */
static void fake_drop(struct fake_server *server, int fd)
{
    server->dropped = true;
    shutdown(fd, SHUT_WR);
    while (fake_receive(server, fd) == 0)
        continue;
}

static void fake_serve(struct fake_server *server, int fd)
{
    server->rx_size = 0;
    if (fake_handshake(server, fd) != 0)
        return;
    while (fake_receive(server, fd) == 0) {
        if (server->frame.type == FRAME_QUERY) {
            if (fake_query_result(server, fd) != 0)
                return;
            continue;
        }
        if (server->frame.type != FRAME_COMMAND)
            return;
        const struct command *command = &server->frame.u.command;
        if (command->sender_account_id != server->logon_account_id ||
            command->client_id != server->hello_client_id)
            server->sender_mismatch_count++;
        if (server->seq_count < FAKE_SEQS_MAX)
            server->seqs[server->seq_count++] = command->client_seq;
        if (server->drop_after != 0 && !server->dropped &&
            server->seq_count == server->drop_after) {
            fake_drop(server, fd);
            return;
        }
        if (server->read_only != NULL) {
            frame_error_set(&server->frame, FRAME_ERROR_READ_ONLY, server->read_only);
            fake_send(server, fd);
            return; /* an ERROR is a server's last word */
        }
        struct command copy = *command;
        if (!server->silent && fake_outcome(server, fd, &copy) != 0)
            return;
    }
}

static void *fake_main(void *context)
{
    struct fake_server *server = context;
    while (!atomic_load(&server->stop)) {
        struct pollfd pollfd = {server->listen_fd, POLLIN, 0};
        if (poll(&pollfd, 1, 20) <= 0)
            continue;
        int fd = accept(server->listen_fd, NULL, NULL);
        if (fd < 0)
            continue;
        server->connection_count++;
        fake_serve(server, fd);
        close(fd);
    }
    return NULL;
}

/* A listening socket on 127.0.0.1, port chosen by the kernel. */
static int listen_loopback(uint16_t *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in address;
    memset(&address, 0, sizeof address);
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t size = sizeof address;
    if (bind(fd, (struct sockaddr *)&address, sizeof address) != 0 || listen(fd, 8) != 0 ||
        getsockname(fd, (struct sockaddr *)&address, &size) != 0) {
        close(fd);
        return -1;
    }
    *port = ntohs(address.sin_port);
    return fd;
}

/* A loopback port with nothing listening (bound, then closed). */
static uint16_t closed_port(void)
{
    uint16_t port = 0;
    int fd = listen_loopback(&port);
    if (fd >= 0)
        close(fd);
    return port;
}

static struct fake_server *fake_new(uint32_t tag)
{
    struct fake_server *server = calloc(1, sizeof *server);
    if (server == NULL)
        abort();
    server->tag = tag;
    server->listen_fd = listen_loopback(&server->port);
    if (server->listen_fd < 0)
        abort();
    return server;
}

static void fake_start(struct fake_server *server)
{
    atomic_store(&server->stop, 0);
    if (pthread_create(&server->thread, NULL, fake_main, server) != 0)
        abort();
}

/* Stops the thread (its record is then safe to read); the struct stays
 * until fake_free. */
static void fake_stop(struct fake_server *server)
{
    if (atomic_exchange(&server->stop, 1) == 0)
        pthread_join(server->thread, NULL);
}

static void fake_free(struct fake_server *server)
{
    fake_stop(server);
    close(server->listen_fd);
    free(server);
}

/* ---- Helpers. ---- */

static void fast_options(struct nodown_client_options *options)
{
    nodown_client_options_default(options);
    options->connect_timeout_ms = 500;
    options->io_timeout_ms = 2000;
    options->response_timeout_ms = 3000;
    options->failover_rounds_max = 2;
    options->backoff_initial_ms = 10;
    options->backoff_max_ms = 20;
}

static int open_client(struct nodown_client **client, const char *nodes,
                       const struct nodown_client_options *options)
{
    char errmsg[256];
    int rv = nodown_client_open(client, nodes, FAKE_CLIENT_ID, FAKE_ACCOUNT, FAKE_SECRET,
                                options, errmsg, sizeof errmsg);
    if (rv != 0)
        fprintf(stderr, "  open %s: %s\n", nodes, errmsg);
    return rv;
}

static struct command order_command(int64_t quantity)
{
    struct command command;
    memset(&command, 0, sizeof command);
    command.type = COMMAND_ORDER_PLACE;
    command.sender_account_id = 999; /* the library stamps its own */
    command.client_id = 5;
    command.u.order_place.instrument_id = 1;
    command.u.order_place.price_ticks = 100;
    command.u.order_place.quantity = quantity;
    return command;
}

/* ---- Tests. ---- */

TEST(logon_send_wait)
{
    struct fake_server *server = fake_new(1);
    server->last_client_seq = 41;
    fake_start(server);
    char nodes[64];
    snprintf(nodes, sizeof nodes, "127.0.0.1:%u", server->port);
    struct nodown_client_options options;
    fast_options(&options);
    struct nodown_client *client = NULL;
    CHECK_EQ_I64(open_client(&client, nodes, &options), 0);
    CHECK_EQ_I64(nodown_client_last_seq(client), 41);
    CHECK_EQ_I64(nodown_client_node_index(client), 0);
    CHECK_EQ_I64(nodown_client_connection_count(client), 1);
    for (uint64_t i = 0; i < 3; i++) {
        struct command command = order_command(10 + (int64_t)i);
        uint64_t seq = 0;
        CHECK_EQ_I64(nodown_client_send(client, &command, &seq), 0);
        CHECK_EQ_I64(seq, 42 + i);
    }
    CHECK_EQ_I64(nodown_client_inflight_count(client), 3);
    for (uint64_t i = 0; i < 3; i++) {
        struct nodown_outcome outcome;
        CHECK_EQ_I64(nodown_client_wait(client, &outcome, 2000), 0);
        CHECK_EQ_I64(outcome.client_seq, 42 + i);
        CHECK_EQ_I64(outcome.result, RESULT_OK);
        CHECK_EQ_I64(outcome.command_type, COMMAND_ORDER_PLACE);
        CHECK_EQ_I64(outcome.duplicate, 0);
        CHECK_EQ_I64(outcome.id, 42 + i);
        CHECK_EQ_I64(outcome.value, -7);
        CHECK_EQ_I64(outcome.stream_seq, 1042 + i);
    }
    CHECK_EQ_I64(nodown_client_inflight_count(client), 0);
    struct nodown_outcome outcome;
    CHECK_EQ_I64(nodown_client_wait(client, &outcome, 10), ERR_USAGE);
    nodown_client_close(client);
    fake_stop(server);
    CHECK_EQ_I64(server->hello_client_id, (int64_t)FAKE_CLIENT_ID);
    CHECK_EQ_I64(server->logon_account_id, FAKE_ACCOUNT);
    CHECK_STR(server->logon_secret, FAKE_SECRET);
    CHECK_EQ_I64(server->seq_count, 3);
    CHECK(server->seqs[0] == 42 && server->seqs[1] == 43 && server->seqs[2] == 44);
    CHECK_EQ_I64(server->sender_mismatch_count, 0);
    CHECK_EQ_I64(server->connection_count, 1);
    fake_free(server);
}

/* The brief's scenario: the first node reads 3 of 5 commands, answers the
 * first two and drops the connection; the client must resend exactly 3, 4
 * and 5 to the second node, under the same client_seq. */
TEST(failover_resends_unacknowledged)
{
    struct fake_server *first = fake_new(1);
    struct fake_server *second = fake_new(2);
    first->drop_after = 3;
    second->last_client_seq = 3; /* say the first node's 3 was applied */
    fake_start(first);
    fake_start(second);
    char nodes[64];
    snprintf(nodes, sizeof nodes, "127.0.0.1:%u,127.0.0.1:%u", first->port, second->port);
    struct nodown_client_options options;
    fast_options(&options);
    struct nodown_client *client = NULL;
    CHECK_EQ_I64(open_client(&client, nodes, &options), 0);
    for (uint64_t i = 1; i <= 5; i++) {
        struct command command = order_command((int64_t)i);
        uint64_t seq = 0;
        CHECK_EQ_I64(nodown_client_send(client, &command, &seq), 0);
        CHECK_EQ_I64(seq, i);
    }
    /* Outcomes 1 and 2 from the first node, 3 (a duplicate: applied
     * before) to 5 from the second. */
    static const uint64_t streams[6] = {0, 1001, 1002, 2003, 2004, 2005};
    for (uint64_t i = 1; i <= 5; i++) {
        struct nodown_outcome outcome;
        int rv = nodown_client_wait(client, &outcome, 5000);
        if (rv != 0)
            fprintf(stderr, "  wait %" PRIu64 ": %s\n", i, nodown_client_errmsg(client));
        CHECK_EQ_I64(rv, 0);
        CHECK_EQ_I64(outcome.client_seq, i);
        CHECK_EQ_I64(outcome.stream_seq, streams[i]);
        CHECK_EQ_I64(outcome.duplicate, i == 3);
    }
    CHECK_EQ_I64(nodown_client_node_index(client), 1);
    CHECK_EQ_I64(nodown_client_connection_count(client), 2);
    /* New commands go on from 6, to the second node. */
    struct command command = order_command(6);
    uint64_t seq = 0;
    CHECK_EQ_I64(nodown_client_send(client, &command, &seq), 0);
    CHECK_EQ_I64(seq, 6);
    struct nodown_outcome outcome;
    CHECK_EQ_I64(nodown_client_wait(client, &outcome, 2000), 0);
    CHECK_EQ_I64(outcome.stream_seq, 2006);
    nodown_client_close(client);
    fake_stop(first);
    fake_stop(second);
    CHECK_EQ_I64(first->seq_count, 3);
    CHECK(first->seqs[0] == 1 && first->seqs[1] == 2 && first->seqs[2] == 3);
    CHECK_EQ_I64(second->seq_count, 4);
    CHECK(second->seqs[0] == 3 && second->seqs[1] == 4 && second->seqs[2] == 5);
    CHECK_EQ_I64(second->seqs[3], 6);
    CHECK_EQ_I64(first->sender_mismatch_count + second->sender_mismatch_count, 0);
    CHECK_EQ_I64(first->connection_count, 1);
    CHECK_EQ_I64(second->connection_count, 1);
    fake_free(first);
    fake_free(second);
}

/* The same break while a query waits: outcomes 1 and 2 arrive during the
 * query and are kept, not resent; the query is resent to the second node
 * along with commands 3 to 5. */
TEST(failover_during_query_keeps_answered)
{
    struct fake_server *first = fake_new(1);
    struct fake_server *second = fake_new(2);
    first->drop_after = 3;
    fake_start(first);
    fake_start(second);
    char nodes[64];
    snprintf(nodes, sizeof nodes, "127.0.0.1:%u,127.0.0.1:%u", first->port, second->port);
    struct nodown_client_options options;
    fast_options(&options);
    struct nodown_client *client = NULL;
    CHECK_EQ_I64(open_client(&client, nodes, &options), 0);
    struct command command = order_command(1);
    uint64_t seq = 0;
    for (int i = 0; i < 5; i++)
        CHECK_EQ_I64(nodown_client_send(client, &command, &seq), 0);
    struct frame_query query;
    memset(&query, 0, sizeof query);
    query.query_type = QUERY_ACCOUNT;
    query.u.account.account_id = 9;
    struct frame_query_result result;
    CHECK_EQ_I64(nodown_client_query(client, &query, &result, 5000), 0);
    CHECK_EQ_I64(result.u.account.account_id, 9);
    CHECK_EQ_I64(nodown_client_node_index(client), 1);
    for (uint64_t i = 1; i <= 5; i++) {
        struct nodown_outcome outcome;
        CHECK_EQ_I64(nodown_client_wait(client, &outcome, 2000), 0);
        CHECK_EQ_I64(outcome.client_seq, i);
        CHECK_EQ_I64(outcome.stream_seq, (i <= 2 ? 1000 : 2000) + i);
    }
    nodown_client_close(client);
    fake_stop(first);
    fake_stop(second);
    CHECK_EQ_I64(first->query_count, 0);
    CHECK_EQ_I64(second->query_count, 1);
    CHECK_EQ_I64(second->seq_count, 3);
    CHECK(second->seqs[0] == 3 && second->seqs[1] == 4 && second->seqs[2] == 5);
    fake_free(first);
    fake_free(second);
}

TEST(first_node_unreachable)
{
    struct fake_server *server = fake_new(3);
    fake_start(server);
    char nodes[64];
    snprintf(nodes, sizeof nodes, "127.0.0.1:%u,127.0.0.1:%u", closed_port(), server->port);
    struct nodown_client_options options;
    fast_options(&options);
    struct nodown_client *client = NULL;
    CHECK_EQ_I64(open_client(&client, nodes, &options), 0);
    CHECK_EQ_I64(nodown_client_node_index(client), 1);
    nodown_client_close(client);
    fake_free(server);
}

/* A node that owes outcomes and says nothing for response_timeout_ms is
 * given up for the next one. */
TEST(silent_node_fails_over)
{
    struct fake_server *first = fake_new(1);
    struct fake_server *second = fake_new(2);
    first->silent = true;
    fake_start(first);
    fake_start(second);
    char nodes[64];
    snprintf(nodes, sizeof nodes, "127.0.0.1:%u,127.0.0.1:%u", first->port, second->port);
    struct nodown_client_options options;
    fast_options(&options);
    options.response_timeout_ms = 200;
    struct nodown_client *client = NULL;
    CHECK_EQ_I64(open_client(&client, nodes, &options), 0);
    struct command command = order_command(1);
    uint64_t seq = 0;
    CHECK_EQ_I64(nodown_client_send(client, &command, &seq), 0);
    /* Shorter than the silence: a plain timeout, the command stays. */
    struct nodown_outcome outcome;
    CHECK_EQ_I64(nodown_client_wait(client, &outcome, 50), ERR_TIMEOUT);
    CHECK_EQ_I64(nodown_client_inflight_count(client), 1);
    CHECK_EQ_I64(nodown_client_node_index(client), 0);
    int64_t start_ms = net_now_ms();
    CHECK_EQ_I64(nodown_client_wait(client, &outcome, 3000), 0);
    int64_t took_ms = net_now_ms() - start_ms;
    CHECK(took_ms < 2000);
    /* The time it waited: 200 ms, or a little more on a slow machine. */
    const char *silence = strstr(nodown_client_errmsg(client), "no answer for ");
    CHECK(silence != NULL);
    CHECK(silence != NULL && atol(silence + strlen("no answer for ")) >= 200);
    CHECK_EQ_I64(outcome.client_seq, 1);
    CHECK_EQ_I64(outcome.stream_seq, 2001);
    CHECK_EQ_I64(nodown_client_node_index(client), 1);
    nodown_client_close(client);
    fake_stop(first);
    fake_stop(second);
    CHECK_EQ_I64(first->seq_count, 1);
    CHECK_EQ_I64(second->seq_count, 1);
    CHECK_EQ_I64(second->seqs[0], 1);
    fake_free(first);
    fake_free(second);
}

/* A node on the minority side of a partition answers every command with
 * ERROR 8 and the journal's reason. With that node alone, wait fails over
 * to it and resends (rounds x nodes times), then gives up with ERR_IO and
 * the node's text whole, however long; the command stays in flight. */
TEST(read_only_node_gives_its_reason)
{
    static char text[FRAME_TEXT_SIZE_MAX + 1];
    int length = snprintf(text, sizeof text, "this node could not store commands (");
    while (length < 900)
        text[length++] = 'x';
    snprintf(text + length, sizeof text - (size_t)length, "): the end of the reason");
    struct fake_server *server = fake_new(1);
    server->read_only = text;
    fake_start(server);
    char nodes[64];
    snprintf(nodes, sizeof nodes, "127.0.0.1:%u", server->port);
    struct nodown_client_options options;
    fast_options(&options);
    struct nodown_client *client = NULL;
    CHECK_EQ_I64(open_client(&client, nodes, &options), 0);
    struct command command = order_command(1);
    uint64_t seq = 0;
    CHECK_EQ_I64(nodown_client_send(client, &command, &seq), 0);
    struct nodown_outcome outcome;
    int64_t start_ms = net_now_ms();
    CHECK_EQ_I64(nodown_client_wait(client, &outcome, 10000), ERR_IO);
    CHECK(net_now_ms() - start_ms < 5000);
    const char *errmsg = nodown_client_errmsg(client);
    CHECK(strstr(errmsg, ": read-only node (8): this node could not store commands (") != NULL);
    CHECK(strstr(errmsg, "): the end of the reason") != NULL);
    CHECK_EQ_I64(nodown_client_inflight_count(client), 1);
    CHECK_EQ_I64(nodown_client_connection_count(client), 3); /* the first, 2 failovers */
    nodown_client_close(client);
    fake_stop(server);
    CHECK_EQ_I64(server->seq_count, 3); /* sent once, resent twice, same client_seq */
    CHECK_EQ_I64(server->seqs[0], 1);
    CHECK_EQ_I64(server->seqs[2], 1);
    fake_free(server);
}

TEST(refused_logon_and_version)
{
    struct fake_server *server = fake_new(1);
    server->refuse_code = FRAME_ERROR_LOGON_FAILED;
    fake_start(server);
    char nodes[64];
    snprintf(nodes, sizeof nodes, "127.0.0.1:%u", server->port);
    struct nodown_client_options options;
    fast_options(&options);
    static char sentinel;
    struct nodown_client *client = (struct nodown_client *)(void *)&sentinel;
    char errmsg[256] = "";
    CHECK_EQ_I64(nodown_client_open(&client, nodes, 1, 2, "wrong", &options, errmsg,
                                    sizeof errmsg),
                 ERR_REFUSED);
    CHECK(client == NULL);
    CHECK(strstr(errmsg, "logon failed (4): bad secret") != NULL);
    fake_stop(server);
    CHECK_EQ_I64(server->connection_count, 2); /* two rounds over one node */
    server->refuse_code = FRAME_ERROR_VERSION;
    fake_start(server);
    CHECK_EQ_I64(nodown_client_open(&client, nodes, 1, 2, "x", &options, errmsg, sizeof errmsg),
                 ERR_VERSION);
    CHECK(strstr(errmsg, "only version 7") != NULL);
    fake_free(server);
}

TEST(nothing_reachable)
{
    char nodes[64];
    snprintf(nodes, sizeof nodes, "127.0.0.1:%u,127.0.0.1:%u", closed_port(), closed_port());
    struct nodown_client_options options;
    fast_options(&options);
    struct nodown_client *client = NULL;
    char errmsg[256] = "";
    CHECK_EQ_I64(nodown_client_open(&client, nodes, 1, 2, "x", &options, errmsg, sizeof errmsg),
                 ERR_IO);
    CHECK(strstr(errmsg, "connect") != NULL);
    CHECK(client == NULL);
}

TEST(bad_arguments)
{
    /* The last list has 17 nodes, one more than NODOWN_CLIENT_NODES_MAX. */
    const char *lists[] = {"", "nocolon", "host:", ":7", "host:0", "host:65536", "host:12a",
                           "127.0.0.1:7,",
                           ("a:1,b:2,c:3,d:4,e:5,f:6,g:7,h:8,i:9,j:10,k:11,l:12,"
                            "m:13,n:14,o:15,p:16,q:17")};
    char errmsg[256];
    struct nodown_client *client = NULL;
    for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++)
        CHECK_EQ_I64(nodown_client_open(&client, lists[i], 1, 2, "x", NULL, errmsg,
                                        sizeof errmsg),
                     ERR_USAGE);
    CHECK(strstr(errmsg, "bad node list") != NULL);
    static char long_secret[FRAME_SECRET_SIZE_MAX + 2];
    memset(long_secret, 's', FRAME_SECRET_SIZE_MAX + 1);
    CHECK_EQ_I64(nodown_client_open(&client, "127.0.0.1:9", 1, 2, long_secret, NULL, errmsg,
                                    sizeof errmsg),
                 ERR_USAGE);
    struct nodown_client_options options;
    nodown_client_options_default(&options);
    options.version_min = 2;
    options.version_max = 1;
    CHECK_EQ_I64(nodown_client_open(&client, "127.0.0.1:9", 1, 2, "x", &options, errmsg,
                                    sizeof errmsg),
                 ERR_USAGE);
    /* Brackets (as around an IPv6 address) parse: the failure is the
     * connect. The tests touch no address but 127.0.0.1. */
    fast_options(&options);
    options.failover_rounds_max = 1;
    char bracketed[64];
    snprintf(bracketed, sizeof bracketed, "[127.0.0.1]:%u", closed_port());
    int rv = nodown_client_open(&client, bracketed, 1, 2, "x", &options, errmsg, sizeof errmsg);
    CHECK_EQ_I64(rv, ERR_IO);
    CHECK(strstr(errmsg, "node 127.0.0.1:") != NULL);
    CHECK(strstr(errmsg, "Connection refused") != NULL);
}

/* The window a node announced (none with protocol version 1: 8) bounds
 * the commands in flight. */
static void inflight_bounded_by(uint16_t announced, uint32_t expected)
{
    struct fake_server *server = fake_new(1);
    server->window = announced;
    fake_start(server);
    char nodes[64];
    snprintf(nodes, sizeof nodes, "127.0.0.1:%u", server->port);
    struct nodown_client_options options;
    fast_options(&options);
    struct nodown_client *client = NULL;
    CHECK_EQ_I64(open_client(&client, nodes, &options), 0);
    CHECK_EQ_I64(nodown_client_window(client), expected);
    struct command command = order_command(1);
    uint64_t seq = 0;
    for (uint32_t i = 0; i < expected; i++)
        CHECK_EQ_I64(nodown_client_send(client, &command, &seq), 0);
    CHECK_EQ_I64(seq, expected);
    seq = 77;
    CHECK_EQ_I64(nodown_client_send(client, &command, &seq), ERR_CAPACITY);
    CHECK_EQ_I64(seq, 77);
    struct nodown_outcome outcome;
    CHECK_EQ_I64(nodown_client_wait(client, &outcome, 2000), 0);
    CHECK_EQ_I64(outcome.client_seq, 1);
    CHECK_EQ_I64(nodown_client_send(client, &command, &seq), 0);
    CHECK_EQ_I64(seq, expected + 1);
    command.type = COMMAND_TYPE_COUNT;
    CHECK_EQ_I64(nodown_client_send(client, &command, &seq), ERR_USAGE);
    for (uint32_t i = 0; i < expected; i++) {
        CHECK_EQ_I64(nodown_client_wait(client, &outcome, 2000), 0);
        CHECK_EQ_I64(outcome.client_seq, 2 + i);
    }
    nodown_client_close(client);
    fake_free(server);
}

TEST(inflight_is_bounded)
{
    inflight_bounded_by(0, SESSION_WINDOW_V1);
    inflight_bounded_by(SESSION_WINDOW_V2, SESSION_WINDOW_V2);
}

TEST(pings_are_answered)
{
    struct fake_server *server = fake_new(1);
    server->ping_first = true;
    fake_start(server);
    char nodes[64];
    snprintf(nodes, sizeof nodes, "127.0.0.1:%u", server->port);
    struct nodown_client_options options;
    fast_options(&options);
    struct nodown_client *client = NULL;
    CHECK_EQ_I64(open_client(&client, nodes, &options), 0);
    struct command command = order_command(1);
    uint64_t seq = 0;
    struct nodown_outcome outcome;
    for (int i = 0; i < 2; i++) {
        CHECK_EQ_I64(nodown_client_send(client, &command, &seq), 0);
        CHECK_EQ_I64(nodown_client_wait(client, &outcome, 2000), 0);
        CHECK_EQ_I64(outcome.client_seq, seq);
    }
    nodown_client_close(client);
    fake_stop(server);
    CHECK_EQ_I64(server->pong_count, 2);
    CHECK_EQ_I64(server->connection_count, 1);
    fake_free(server);
}

/* A query's result comes back; an outcome that arrives first is kept for
 * the next wait. */
TEST(query_keeps_outcomes)
{
    struct fake_server *server = fake_new(1);
    fake_start(server);
    char nodes[64];
    snprintf(nodes, sizeof nodes, "127.0.0.1:%u", server->port);
    struct nodown_client_options options;
    fast_options(&options);
    struct nodown_client *client = NULL;
    CHECK_EQ_I64(open_client(&client, nodes, &options), 0);
    struct command command = order_command(1);
    uint64_t seq = 0;
    CHECK_EQ_I64(nodown_client_send(client, &command, &seq), 0);
    struct frame_query query;
    memset(&query, 0, sizeof query);
    query.query_type = QUERY_ACCOUNT;
    query.u.account.account_id = 77;
    struct frame_query_result result;
    CHECK_EQ_I64(nodown_client_query(client, &query, &result, 2000), 0);
    CHECK_EQ_I64(result.request_id, 1);
    CHECK_EQ_I64(result.result, RESULT_OK);
    CHECK_EQ_I64(result.u.account.account_id, 77);
    CHECK_EQ_I64(result.u.account.balance_minor, 12345);
    query.query_type = QUERY_ORDER;
    CHECK_EQ_I64(nodown_client_query(client, &query, &result, 2000), 0);
    CHECK_EQ_I64(result.request_id, 2);
    CHECK_EQ_I64(result.result, REJECT_NOT_AUTHORIZED);
    query.query_type = QUERY_TYPE_COUNT;
    CHECK_EQ_I64(nodown_client_query(client, &query, &result, 2000), ERR_USAGE);
    struct nodown_outcome outcome;
    CHECK_EQ_I64(nodown_client_wait(client, &outcome, 0), 0);
    CHECK_EQ_I64(outcome.client_seq, 1);
    nodown_client_close(client);
    fake_stop(server);
    CHECK_EQ_I64(server->query_count, 2);
    fake_free(server);
}

TEST_MAIN()
