/* The gateway end to end, in one process with a real nats-server: the
 * supervisor starts it, the journal holds the stream, the replica applies
 * it, and a client thread speaks the native protocol over loopback with
 * raw frames. Checked: logon with the account's secret, orders placed and
 * answered with their stream sequence, a resend answered with its first
 * outcome and not applied twice, a bad secret and a malformed frame
 * refused without harm to other sessions, and a replica that replays the
 * stream from the start ends with the same digest. */
#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "codec/frame.h"
#include "fixture.h"
#include "gateway/gateway.h"
#include "lib/clock.h"
#include "lib/secret.h"
#include "replica/nats_supervisor.h"
#include "test.h"
#include "test_dir.h"
#include "test_gateway_node.h"


struct client_run {
    uint16_t port;
    int failures;
    char failure[256];
    uint64_t stream_seqs[3];
    atomic_int done;
};

/* A connection to the node from source (a loopback address as text, or
 * NULL: the kernel's choice, 127.0.0.1). */
static int client_connect_from(uint16_t port, const char *source)
{
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct timeval timeout = {.tv_sec = 5};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    struct sockaddr_in local = {.sin_family = AF_INET};
    if (source != NULL && (inet_pton(AF_INET, source, &local.sin_addr) != 1 ||
                           bind(fd, (struct sockaddr *)&local, sizeof local) != 0)) {
        close(fd);
        return -1;
    }
    if (connect(fd, (struct sockaddr *)&address, sizeof address) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int client_connect(uint16_t port)
{
    return client_connect_from(port, NULL);
}

static int client_send(int fd, const struct frame *frame)
{
    uint8_t buffer[FRAME_BUFFER_SIZE];
    size_t length = 0;
    if (frame_encode(frame, buffer, sizeof buffer, &length) != 0)
        return -1;
    return send(fd, buffer, length, MSG_NOSIGNAL) == (ssize_t)length ? 0 : -1;
}

/* Reads one whole frame (blocking, with the socket's timeout). */
static int client_receive(int fd, struct frame *frame)
{
    uint8_t buffer[FRAME_BUFFER_SIZE];
    size_t size = 0;
    for (;;) {
        size_t consumed = 0;
        int rv = frame_decode(buffer, size, frame, &consumed);
        if (rv == 0)
            return 0;
        if (rv != ERR_DECODE_NEED_MORE)
            return -1;
        ssize_t got = recv(fd, buffer + size, 1, 0); /* one byte: no frame is split */
        if (got <= 0)
            return -1;
        size += (size_t)got;
    }
}

static int client_logon_as(struct client_run *run, int fd, uint32_t account_id,
                           uint64_t client_id, const char *secret)
{
    struct frame frame = {.type = FRAME_HELLO};
    frame.u.hello.version_min = 1;
    frame.u.hello.version_max = 1;
    frame.u.hello.client_id = client_id;
    EXPECT(run, client_send(fd, &frame) == 0);
    EXPECT(run, client_receive(fd, &frame) == 0 && frame.type == FRAME_WELCOME);
    memset(&frame, 0, sizeof frame);
    frame.type = FRAME_LOGON;
    frame.u.logon.account_id = account_id;
    frame.u.logon.secret_size = (uint16_t)strlen(secret);
    memcpy(frame.u.logon.secret, secret, strlen(secret));
    EXPECT(run, client_send(fd, &frame) == 0);
    EXPECT(run, client_receive(fd, &frame) == 0);
    return frame.type == FRAME_LOGON_OK ? 0 : (int)frame.u.error.code;
}

static int client_logon(struct client_run *run, int fd, uint64_t client_id, const char *secret)
{
    return client_logon_as(run, fd, MEMBER_ID, client_id, secret);
}

static struct frame order_frame(uint64_t client_seq, int64_t price_ticks)
{
    struct frame frame = {.type = FRAME_COMMAND};
    frame.u.command = fixture_command(COMMAND_ORDER_PLACE, 0);
    frame.u.command.client_seq = client_seq;
    frame.u.command.u.order_place.side = SIDE_BUY;
    frame.u.command.u.order_place.time_in_force = TIF_GTC;
    frame.u.command.u.order_place.price_ticks = price_ticks;
    frame.u.command.u.order_place.quantity = 10;
    return frame;
}

/* The client's whole script; returns 0 when every expectation held. */
static int client_script(struct client_run *run)
{
    /* A wrong secret is refused with an error, and the socket closed. */
    int bad = client_connect(run->port);
    EXPECT(run, bad >= 0);
    EXPECT(run, client_logon(run, bad, 7, "wrong") == FRAME_ERROR_LOGON_FAILED);
    close(bad);
    /* Garbage on another session gets an error and harms nobody. */
    int junk = client_connect(run->port);
    EXPECT(run, junk >= 0);
    const uint8_t garbage[16] = {0xff, 0xff, 0xff, 0x7f, 1, 2, 3};
    EXPECT(run, send(junk, garbage, sizeof garbage, MSG_NOSIGNAL) == sizeof garbage);
    struct frame frame;
    EXPECT(run, client_receive(junk, &frame) == 0 && frame.type == FRAME_ERROR);
    close(junk);

    int fd = client_connect(run->port);
    EXPECT(run, fd >= 0);
    EXPECT(run, client_logon(run, fd, 42, member_secret) == 0);
    for (uint64_t seq = 1; seq <= 3; seq++) {
        struct frame order = order_frame(seq, 990 + (int64_t)seq);
        EXPECT(run, client_send(fd, &order) == 0);
    }
    for (uint64_t seq = 1; seq <= 3; seq++) {
        EXPECT(run, client_receive(fd, &frame) == 0 && frame.type == FRAME_OUTCOME);
        EXPECT(run, frame.u.outcome.client_seq == seq);
        EXPECT(run, frame.u.outcome.result == RESULT_OK);
        EXPECT(run, frame.u.outcome.duplicate == 0);
        EXPECT(run, frame.u.outcome.stream_seq > 1);
        run->stream_seqs[seq - 1] = frame.u.outcome.stream_seq;
    }
    /* The same command again: its first outcome, marked as a resend. */
    struct frame again = order_frame(2, 992);
    EXPECT(run, client_send(fd, &again) == 0);
    EXPECT(run, client_receive(fd, &frame) == 0 && frame.type == FRAME_OUTCOME);
    EXPECT(run, frame.u.outcome.client_seq == 2 && frame.u.outcome.duplicate == 1);
    close(fd);
    return 0;
}

static void *client_main(void *context)
{
    struct client_run *run = context;
    client_script(run);
    atomic_store(&run->done, 1);
    return NULL;
}

static int replay_message(void *context, uint64_t stream_seq, uint64_t timestamp_ns,
                          const void *data, size_t size)
{
    return replica_apply(context, stream_seq, timestamp_ns, data, size, NULL, NULL);
}

/* A fresh replica (in the node's directory/replay) that reads the stream
 * up to to_seq, in 100 reads at most. Returns 0, or an error (the replica
 * then is closed). */
static int replay_stream(struct node *node, struct replica *replay, uint64_t to_seq)
{
    char errmsg[256];
    struct limits limits;
    fixture_limits(&limits);
    char replay_dir[80];
    snprintf(replay_dir, sizeof replay_dir, "%s/replay", node->dir);
    int rv = replica_open(replay, replay_dir, &limits, errmsg, sizeof errmsg);
    if (rv != 0)
        return rv;
    uint64_t next_seq = 1;
    for (int i = 0; rv == 0 && replay->applied_seq < to_seq && i < 100; i++)
        rv = journal_read(node->journal, replay->applied_seq + 1, 1000, 1000, replay_message,
                          replay, &next_seq);
    if (rv != 0)
        replica_close(replay);
    return rv;
}

TEST(client_round_trip_and_replay)
{
    struct node node;
    char errmsg[512] = "";
    /* The accounts exist for a logon once this node has applied them. */
    int ok = node_ready(&node, errmsg, sizeof errmsg);
    struct client_run run = {.port = ok ? gateway_port(node.gateway) : 0};
    pthread_t thread;
    ok = ok && pthread_create(&thread, NULL, client_main, &run) == 0;
    int served = ok ? node_serve(&node, &run.done) : -1;
    if (ok)
        pthread_join(thread, NULL);
    if (run.failures != 0)
        fprintf(stderr, "  client: %s\n", run.failure);
    /* A replica that replays the whole stream ends where the node is. */
    struct replica replay;
    int replayed = ok ? replay_stream(&node, &replay, node.replica.applied_seq) : -1;
    struct digest a;
    struct digest b;
    if (replayed == 0) {
        engine_digest(&node.replica.engine, &a);
        engine_digest(&replay.engine, &b);
    }
    uint32_t orders = ok ? pool_used(&node.replica.engine.order_pool) : 0;
    if (replayed == 0)
        replica_close(&replay);
    node_stop(&node);
    CHECK(ok);
    CHECK_EQ_I64(served, 0);
    CHECK_EQ_I64(run.failures, 0);
    CHECK_EQ_I64(replayed, 0);
    CHECK(a.high == b.high && a.low == b.low);
    CHECK_EQ_I64(orders, 3); /* three orders rest; the resend added none */
}

/* ---- A batch the journal does not store: ERROR 8 for its sessions only. ---- */

struct cut_run {
    uint16_t port;
    int failures;
    char failure[256];
    atomic_int cut;  /* the client asks for the nats-server to be stopped */
    atomic_int done;
    char text[FRAME_TEXT_SIZE_MAX + 1];
};

/* Session A sends an order once the server is gone: it gets ERROR 8 with
 * the journal's reason. Session B, logged on with nothing to publish, is
 * left open: its query is answered. */
static int cut_script(struct cut_run *run)
{
    struct client_run logons = {.port = run->port};
    int a = client_connect(run->port);
    int b = client_connect(run->port);
    EXPECT(run, a >= 0 && b >= 0);
    EXPECT(run, client_logon(&logons, a, 50, member_secret) == 0);
    EXPECT(run, client_logon(&logons, b, 51, member_secret) == 0);
    atomic_store(&run->cut, 1);
    while (atomic_load(&run->cut) != 2)
        nanosleep(&(struct timespec){.tv_nsec = 5000000}, NULL);
    struct frame frame = order_frame(1, 995);
    EXPECT(run, client_send(a, &frame) == 0);
    EXPECT(run, client_receive(a, &frame) == 0 && frame.type == FRAME_ERROR);
    EXPECT(run, frame.u.error.code == FRAME_ERROR_READ_ONLY);
    snprintf(run->text, sizeof run->text, "%s", frame.u.error.text);
    memset(&frame, 0, sizeof frame);
    frame.type = FRAME_QUERY;
    frame.u.query.query_type = QUERY_ACCOUNT;
    frame.u.query.request_id = 9;
    frame.u.query.u.account.account_id = MEMBER_ID;
    EXPECT(run, client_send(b, &frame) == 0);
    EXPECT(run, client_receive(b, &frame) == 0 && frame.type == FRAME_QUERY_RESULT);
    EXPECT(run, frame.u.query_result.request_id == 9);
    close(a);
    close(b);
    return 0;
}

static void *cut_main(void *context)
{
    struct cut_run *run = context;
    cut_script(run);
    atomic_store(&run->done, 1);
    return NULL;
}

TEST(unstored_batch_refused_with_its_reason)
{
    struct node node;
    char errmsg[512] = "";
    int ok = node_ready(&node, errmsg, sizeof errmsg);
    struct cut_run run = {.port = ok ? gateway_port(node.gateway) : 0};
    pthread_t thread;
    ok = ok && pthread_create(&thread, NULL, cut_main, &run) == 0;
    uint64_t deadline = (uint64_t)clock_now_ms() + 20000;
    while (ok && !atomic_load(&run.done) && (uint64_t)clock_now_ms() < deadline) {
        if (atomic_load(&run.cut) == 1) {
            nats_supervisor_stop(&node.nats); /* the journal can store nothing now */
            atomic_store(&run.cut, 2);
        }
        gateway_step(node.gateway, 5, errmsg, sizeof errmsg); /* reading fails: no server */
    }
    bool done = atomic_load(&run.done);
    if (ok)
        pthread_join(thread, NULL);
    if (run.failures != 0)
        fprintf(stderr, "  client: %s\n", run.failure);
    node_stop(&node);
    CHECK(ok);
    CHECK(done);
    CHECK_EQ_I64(run.failures, 0);
    CHECK(strstr(run.text, "this node could not store commands in the journal within 1000 ms "
                           "(journal: ") != NULL);
    CHECK(strstr(run.text, "cut off from the others (a network partition)") != NULL);
    CHECK(strstr(run.text, "resend them with the same client_seq") != NULL);
}

TEST(refusal_text)
{
    char text[FRAME_TEXT_SIZE_MAX + 1];
    gateway_refusal_text(text, sizeof text, "journal: publishing x to NODOWN (attempt 5): Timeout");
    CHECK_STR(text, "this node could not store commands in the journal within 1000 ms (journal: "
                    "publishing x to NODOWN (attempt 5): Timeout): its NATS server may be cut off "
                    "from the others (a network partition) or the stream has no leader; the "
                    "outcome of the commands in flight is unknown: resend them with the same "
                    "client_seq, to this node or another");
    gateway_refusal_text(text, sizeof text, "");
    CHECK(strstr(text, "within 1000 ms (no reason): ") != NULL);
    /* The journal's text is cut at 512 bytes: the whole fits in a frame. */
    static char long_error[2048];
    memset(long_error, 'x', sizeof long_error - 1);
    gateway_refusal_text(text, sizeof text, long_error);
    CHECK(strlen(text) < FRAME_TEXT_SIZE_MAX);
    CHECK(strstr(text, "to this node or another") != NULL);
    char small[16];
    gateway_refusal_text(small, sizeof small, "anything");
    CHECK_STR(small, "this node could");
}

/* ---- Pipelined batches: a failed one never lets a session's later
 * command take effect first. ---- */

/* The fault: the first batch published once armed is held for
 * PIPE_HOLD_MS, then stored for real, and reported failed, as a publish
 * whose acknowledgement was lost and whose last attempt landed late.
 * Every other batch is published at once. */
#define PIPE_HOLD_MS 400
#define PIPE_A 60u /* client ids */
#define PIPE_B 61u

struct pipe_fault {
    atomic_int armed; /* 1: hold the next batch; 2: held one taken */
};

static int pipe_publish(void *context, struct journal *journal, const void *data, size_t size,
                        const char *msg_id, int timeout_ms, uint64_t *stream_seq,
                        bool *duplicate)
{
    struct pipe_fault *fault = context;
    int expected = 1;
    if (!atomic_compare_exchange_strong(&fault->armed, &expected, 2))
        return journal_publish(journal, data, size, msg_id, timeout_ms, stream_seq, duplicate);
    nanosleep(&(struct timespec){.tv_nsec = PIPE_HOLD_MS * 1000000L}, NULL);
    int rv = journal_publish(journal, data, size, msg_id, timeout_ms, stream_seq, duplicate);
    return rv == 0 ? ERR_IO : rv;
}

struct pipe_run {
    uint16_t port;
    struct pipe_fault *fault;
    int failures;
    char failure[256];
    int64_t b_ack_ms;   /* from A's first send to B's outcome */
    atomic_int done;
};

/* A sends order 1 (its batch is held), then order 2; B sends an order
 * meanwhile and is answered before A's batch ends (pipelining). A gets
 * ERROR 8 for the failed batch (perhaps after order 1's outcome, as the
 * batch landed late), never an answer to order 2, which was never
 * published. A logs on again and resends both: both take effect once. */
static int pipe_script(struct pipe_run *run)
{
    struct client_run logons = {.port = run->port};
    int a = client_connect(run->port);
    int b = client_connect(run->port);
    EXPECT(run, a >= 0 && b >= 0);
    EXPECT(run, client_logon(&logons, a, PIPE_A, member_secret) == 0);
    EXPECT(run, client_logon(&logons, b, PIPE_B, member_secret) == 0);
    atomic_store(&run->fault->armed, 1);
    int64_t start_ms = clock_now_ms();
    struct frame frame = order_frame(1, 995);
    EXPECT(run, client_send(a, &frame) == 0);
    nanosleep(&(struct timespec){.tv_nsec = 50000000}, NULL); /* A's batch is out */
    frame = order_frame(2, 996);
    EXPECT(run, client_send(a, &frame) == 0);
    frame = order_frame(1, 997);
    EXPECT(run, client_send(b, &frame) == 0);
    EXPECT(run, client_receive(b, &frame) == 0 && frame.type == FRAME_OUTCOME);
    EXPECT(run, frame.u.outcome.result == RESULT_OK);
    run->b_ack_ms = clock_now_ms() - start_ms;
    /* The held batch was stored after all, so order 1's outcome may come
     * before the failure is known; order 2's never does. */
    for (int frames = 0; frames < 2; frames++) {
        EXPECT(run, client_receive(a, &frame) == 0);
        if (frame.type != FRAME_OUTCOME)
            break;
        EXPECT(run, frame.u.outcome.client_seq == 1);
    }
    EXPECT(run, frame.type == FRAME_ERROR && frame.u.error.code == FRAME_ERROR_READ_ONLY);
    close(a);
    a = client_connect(run->port);
    EXPECT(run, a >= 0 && client_logon(&logons, a, PIPE_A, member_secret) == 0);
    for (uint64_t seq = 1; seq <= 2; seq++) {
        frame = order_frame(seq, 994 + (int64_t)seq);
        EXPECT(run, client_send(a, &frame) == 0);
    }
    for (uint64_t seq = 1; seq <= 2; seq++) {
        EXPECT(run, client_receive(a, &frame) == 0 && frame.type == FRAME_OUTCOME);
        EXPECT(run, frame.u.outcome.client_seq == seq && frame.u.outcome.result == RESULT_OK);
    }
    close(a);
    close(b);
    return 0;
}

static void *pipe_main(void *context)
{
    struct pipe_run *run = context;
    pipe_script(run);
    atomic_store(&run->done, 1);
    return NULL;
}

/* What a replay of the stream decided for client A: each command's
 * first outcome in stream order. */
struct pipe_replay {
    struct replica replica;
    uint64_t a_seqs[8];
    uint32_t a_count;
    uint32_t stale;
};

static void pipe_outcome(void *context, uint64_t stream_seq, const struct command *command,
                         const struct outcome *outcome)
{
    (void)stream_seq;
    struct pipe_replay *replay = context;
    if (outcome->result == REJECT_SEQUENCE_STALE)
        replay->stale++;
    if (command->client_id == PIPE_A && !outcome->duplicate && replay->a_count < 8)
        replay->a_seqs[replay->a_count++] = command->client_seq;
}

static int pipe_replay_message(void *context, uint64_t stream_seq, uint64_t timestamp_ns,
                               const void *data, size_t size)
{
    struct pipe_replay *replay = context;
    return replica_apply(&replay->replica, stream_seq, timestamp_ns, data, size, pipe_outcome,
                         replay);
}

TEST(pipelined_failure_keeps_session_order)
{
    struct node node;
    char errmsg[512] = "";
    int ok = node_ready(&node, errmsg, sizeof errmsg);
    static struct pipe_fault fault;
    if (ok)
        gateway_set_publish(node.gateway, pipe_publish, &fault);
    struct pipe_run run = {.port = ok ? gateway_port(node.gateway) : 0, .fault = &fault};
    pthread_t thread;
    ok = ok && pthread_create(&thread, NULL, pipe_main, &run) == 0;
    int served = ok ? node_serve(&node, &run.done) : -1;
    if (ok)
        pthread_join(thread, NULL);
    if (run.failures != 0)
        fprintf(stderr, "  client: %s\n", run.failure);
    /* The held batch landed after the others: let the node apply it. */
    uint64_t last = 0;
    uint64_t deadline = (uint64_t)clock_now_ms() + 5000;
    while (ok && (uint64_t)clock_now_ms() < deadline &&
           (journal_last_seq(node.journal, &last) != 0 || node.replica.applied_seq < last))
        gateway_step(node.gateway, 5, errmsg, sizeof errmsg);
    static struct pipe_replay replay;
    struct limits limits;
    fixture_limits(&limits);
    char replay_dir[80];
    snprintf(replay_dir, sizeof replay_dir, "%s/replay", node.dir);
    int replayed = ok ? replica_open(&replay.replica, replay_dir, &limits, errmsg,
                                     sizeof errmsg) : -1;
    uint64_t next_seq = 1;
    while (replayed == 0 && replay.replica.applied_seq < last)
        replayed = journal_read(node.journal, replay.replica.applied_seq + 1, 1000, 1000,
                                pipe_replay_message, &replay, &next_seq);
    if (replayed == 0)
        replica_close(&replay.replica);
    node_stop(&node);
    CHECK(ok);
    CHECK_EQ_I64(served, 0);
    CHECK_EQ_I64(run.failures, 0);
    CHECK(atomic_load(&fault.armed) == 2);
    CHECK(run.b_ack_ms < PIPE_HOLD_MS); /* B did not wait for A's batch */
    CHECK_EQ_I64(replayed, 0);
    CHECK_EQ_I64(replay.stale, 0);
    CHECK_EQ_I64(replay.a_count, 2); /* each of A's orders took effect once, in order */
    CHECK_EQ_I64(replay.a_seqs[0], 1);
    CHECK_EQ_I64(replay.a_seqs[1], 2);
}

/* ---- Logic versions a node cannot run. ----
 *
 * The node runs versions up to LOGIC_VERSION_MAX - 1 here
 * (engine_logic_version_max_set), as a build one version behind would. A
 * member asking it for LOGIC_VERSION_MAX is refused before publishing;
 * one asking for a version the node runs is published (the state machine
 * refuses it) without the registry being read.
 * The same activation published straight to the stream (a build that
 * skipped the check) stops the replica inside that message: the order
 * before it is applied, the one after it is not, nothing more is applied,
 * gateway_step goes on without an error and queries are still answered;
 * a replica that can run the version applies the same stream to its end. */

struct gate_run {
    struct client_run client; /* port, failures, done */
    struct frame activation_outcome;
    struct frame order_outcome;
    struct frame member_outcome; /* a member's activation of a version the node runs */
    struct frame commission_outcome; /* COMMISSION_SET before logic 3: never published */
    int gate_calls;              /* the registry is never asked for a member's */
};

static bool gate_count(void *context, uint32_t version, uint32_t *node_id, char *why,
                       size_t why_size)
{
    (void)version;
    (void)why_size;
    ((struct gate_run *)context)->gate_calls++;
    *node_id = 99;
    why[0] = '\0';
    return false;
}

static int gate_script(struct gate_run *gate)
{
    struct client_run *run = &gate->client;
    int fd = client_connect(run->port);
    EXPECT(run, fd >= 0);
    EXPECT(run, client_logon(run, fd, 31, member_secret) == 0);
    struct frame frame = {.type = FRAME_COMMAND};
    frame.u.command = fixture_command(COMMAND_ACTIVATE_LOGIC, 0);
    frame.u.command.client_seq = 1;
    frame.u.command.u.activate_logic.logic_version = LOGIC_VERSION_MAX;
    EXPECT(run, client_send(fd, &frame) == 0);
    EXPECT(run, client_receive(fd, &gate->activation_outcome) == 0);
    struct frame order = order_frame(2, 995);
    EXPECT(run, client_send(fd, &order) == 0);
    EXPECT(run, client_receive(fd, &gate->order_outcome) == 0);
    frame.u.command.client_seq = 3;
    frame.u.command.u.activate_logic.logic_version = LOGIC_VERSION_MAX - 1;
    EXPECT(run, client_send(fd, &frame) == 0);
    EXPECT(run, client_receive(fd, &gate->member_outcome) == 0);
    struct frame commission = {.type = FRAME_COMMAND};
    commission.u.command = fixture_command(COMMAND_COMMISSION_SET, 0);
    commission.u.command.client_seq = 4;
    commission.u.command.u.commission_set.rate_bp = 10;
    EXPECT(run, client_send(fd, &commission) == 0);
    EXPECT(run, client_receive(fd, &gate->commission_outcome) == 0);
    close(fd);
    return 0;
}

/* A client script on its own thread; client->done is set when it ends. */
struct script_thread {
    int (*script)(void *context);
    void *context;
    struct client_run *client;
};

static void *script_main(void *argument)
{
    struct script_thread *thread = argument;
    thread->script(thread->context);
    atomic_store(&thread->client->done, 1);
    return NULL;
}

/* Runs script against the node (serving it meanwhile); returns what
 * node_serve() did, or -1 when the thread did not start. */
static int script_run(struct node *node, struct script_thread *script)
{
    pthread_t thread;
    script->client->port = gateway_port(node->gateway);
    if (pthread_create(&thread, NULL, script_main, script) != 0)
        return -1;
    int served = node_serve(node, &script->client->done);
    pthread_join(thread, NULL);
    if (script->client->failures != 0)
        fprintf(stderr, "  client: %s\n", script->client->failure);
    return served;
}

static int gate_script_cb(void *context)
{
    return gate_script(context);
}

/* Order, ACTIVATE_LOGIC version from the house, order: one message. */
static int publish_activation(struct journal *journal, uint32_t version)
{
    struct command c[3];
    c[0] = order_frame(1, 980).u.command;
    c[0].sender_account_id = MEMBER_ID;
    c[0].client_id = 77;
    c[1] = fixture_command(COMMAND_ACTIVATE_LOGIC, 0);
    c[1].client_id = 78;
    c[1].client_seq = 1;
    c[1].u.activate_logic.logic_version = version;
    c[2] = c[0];
    c[2].client_seq = 2;
    static uint8_t buffer[BATCH_SIZE_MAX];
    size_t length = 0;
    uint64_t seq = 0;
    bool duplicate = false;
    if (batch_encode(0, c, 3, buffer, sizeof buffer, &length) != 0)
        return -1;
    return journal_publish(journal, buffer, length, "activation", 5000, &seq, &duplicate);
}

TEST(unsupported_logic_refused_then_stops_applying_only)
{
    struct node node;
    char errmsg[512] = "";
    int ok = node_ready(&node, errmsg, sizeof errmsg);
    ok = ok && engine_logic_version_max_set(&node.replica.engine, LOGIC_VERSION_MAX - 1) == 0;
    static struct gate_run run;
    if (ok)
        gateway_set_logic_gate(node.gateway, gate_count, &run);
    static struct script_thread script = {gate_script_cb, &run, &run.client};
    int served = ok ? script_run(&node, &script) : -1;
    uint64_t before = node.replica.applied_seq; /* bootstrap, order, activation: 3 */
    ok = ok && publish_activation(node.journal, LOGIC_VERSION_MAX) == 0;
    int stops = 0, errors = 0;
    uint64_t deadline = (uint64_t)clock_now_ms() + 10000;
    while (ok && (uint64_t)clock_now_ms() < deadline && node.replica.stopped_seq == 0) {
        int rv = gateway_step(node.gateway, 5, errmsg, sizeof errmsg);
        stops += rv == ERR_LOGIC_UNSUPPORTED;
        errors += rv != 0 && rv != ERR_LOGIC_UNSUPPORTED;
    }
    for (int i = 0; ok && i < 50; i++) { /* stays stopped, and quiet */
        int rv = gateway_step(node.gateway, 5, errmsg, sizeof errmsg);
        stops += rv == ERR_LOGIC_UNSUPPORTED;
        errors += rv != 0 && rv != ERR_LOGIC_UNSUPPORTED;
    }
    uint32_t orders = ok ? pool_used(&node.replica.engine.order_pool) : 0;
    /* A build that runs the version applies the whole stream. */
    struct replica replay;
    int replayed = ok ? replay_stream(&node, &replay, before + 1) : -1;
    uint32_t replay_version = replayed == 0 ? replay.engine.logic_version : 0;
    uint32_t replay_orders = replayed == 0 ? pool_used(&replay.engine.order_pool) : 0;
    if (replayed == 0)
        replica_close(&replay);
    uint64_t stopped_seq = node.replica.stopped_seq;
    uint64_t applied_seq = node.replica.applied_seq;
    node_stop(&node);
    CHECK(ok);
    CHECK_EQ_I64(served, 0);
    CHECK_EQ_I64(run.client.failures, 0);
    CHECK_EQ_I64(run.activation_outcome.type, FRAME_OUTCOME);
    CHECK_EQ_I64(run.activation_outcome.u.outcome.result, REJECT_LOGIC_NOT_EVERYWHERE);
    CHECK_EQ_I64(run.activation_outcome.u.outcome.stream_seq, 0); /* never published */
    CHECK_EQ_I64(run.activation_outcome.u.outcome.id, 1);         /* the node that cannot */
    CHECK_EQ_I64(run.order_outcome.type, FRAME_OUTCOME);
    CHECK_EQ_I64(run.order_outcome.u.outcome.result, RESULT_OK);
    CHECK_EQ_I64(run.order_outcome.u.outcome.stream_seq, 2);
    CHECK_EQ_I64(run.member_outcome.type, FRAME_OUTCOME);
    CHECK_EQ_I64(run.member_outcome.u.outcome.result, REJECT_NOT_AUTHORIZED);
    CHECK_EQ_I64(run.member_outcome.u.outcome.stream_seq, 3);
    CHECK_EQ_I64(run.commission_outcome.u.outcome.result, REJECT_LOGIC_NOT_ACTIVE);
    CHECK_EQ_I64(run.commission_outcome.u.outcome.stream_seq, 0);
    CHECK_EQ_I64(run.commission_outcome.u.outcome.id, LOGIC_VERSION_COMMISSION);
    CHECK_EQ_I64(run.gate_calls, 0);
    CHECK_EQ_I64(before, 3);
    CHECK_EQ_I64(stops, 1);
    CHECK_EQ_I64(errors, 0);
    CHECK_EQ_I64(stopped_seq, 4);
    CHECK_EQ_I64(applied_seq, 3);
    CHECK_EQ_I64(orders, 2); /* the client's and the one before the activation */
    CHECK_EQ_I64(replayed, 0);
    CHECK_EQ_I64(replay_version, LOGIC_VERSION_MAX);
    CHECK_EQ_I64(replay_orders, 3);
}

/* ---- Sequences of frames on one connection, fields extreme. ----
 *
 * Seeded: 60 connections, each logged on (as the house or a member) or
 * not, each sending up to 24 frames of any type in any order, commands of
 * every type with fields set to extreme values (0, -1, the ends of 8 to
 * 64 bits, ids past every table), activations of versions nobody runs
 * among them. The node must take all of it without stopping: every
 * gateway_step() returns 0, the state's invariants hold, and the node
 * still answers a HELLO afterwards. STORM_SEED=S replays a run. */

struct storm_run {
    struct client_run client;
    uint64_t rng;
    uint32_t frames_sent;
    uint32_t logons;
};

static uint64_t storm_next(struct storm_run *storm)
{
    storm->rng ^= storm->rng << 13;
    storm->rng ^= storm->rng >> 7;
    storm->rng ^= storm->rng << 17;
    return storm->rng;
}

static void storm_extreme(struct storm_run *storm, void *body, size_t size)
{
    static const uint64_t values[] = {
        0, 1, UINT64_MAX, (uint64_t)INT64_MIN, (uint64_t)INT64_MAX, INT32_MAX,
        (uint64_t)(int64_t)INT32_MIN, UINT32_MAX, UINT16_MAX, UINT8_MAX, 16, 1000000,
    };
    for (uint32_t m = 0; m < 1 + storm_next(storm) % 3; m++) {
        size_t width = (size_t)1 << (storm_next(storm) % 4);
        size_t offset = (storm_next(storm) % (size / width)) * width;
        uint64_t value = values[storm_next(storm) % (sizeof values / sizeof values[0])];
        memcpy((uint8_t *)body + offset, &value, width);
    }
}

static struct frame storm_frame(struct storm_run *storm)
{
    struct frame frame;
    memset(&frame, 0, sizeof frame);
    uint32_t roll = (uint32_t)(storm_next(storm) % 100);
    frame.type = roll < 60 ? FRAME_COMMAND : (uint8_t)(1 + storm_next(storm) % 12);
    if (frame.type == FRAME_COMMAND) {
        frame.u.command = fixture_command(1 + storm_next(storm) % (COMMAND_TYPE_COUNT - 1), 0);
        frame.u.command.client_seq = 1 + storm_next(storm) % 64;
        storm_extreme(storm, &frame.u.command.u, sizeof frame.u.command.u);
    } else if (frame.type == FRAME_QUERY) {
        frame.u.query.query_type = (uint16_t)(storm_next(storm) % 8);
        storm_extreme(storm, &frame.u.query.u, sizeof frame.u.query.u);
        frame.u.query.min_seq = storm_next(storm) % 4 ? 0 : storm_next(storm) % 8;
    } else if (frame.type == FRAME_HELLO) {
        frame.u.hello.version_min = (uint16_t)(storm_next(storm) % 3);
        frame.u.hello.version_max = (uint16_t)(frame.u.hello.version_min + storm_next(storm) % 3);
    } else if (frame.type == FRAME_LOGON) {
        frame.u.logon.account_id = (uint32_t)(storm_next(storm) % 8);
        frame.u.logon.secret_size = (uint16_t)(storm_next(storm) % 4);
    }
    return frame;
}

/* Reads what the node sent, without waiting long; false once it closed. */
static bool storm_drain(int fd)
{
    uint8_t buffer[4096];
    for (int i = 0; i < 64; i++) {
        ssize_t got = recv(fd, buffer, sizeof buffer, MSG_DONTWAIT);
        if (got == 0)
            return false;
        if (got < 0)
            return true;
    }
    return true;
}

static int storm_script(struct storm_run *storm)
{
    struct client_run *run = &storm->client;
    for (int connection = 0; connection < 60; connection++) {
        /* Each from an address of its own: a logon that fails (a command
         * before may have set another secret) must not throttle the next
         * ones (logon_throttle.h), which would outlast the test. */
        char source[32];
        snprintf(source, sizeof source, "127.0.1.%u", 1u + (unsigned)connection % 250u);
        int fd = client_connect_from(run->port, source);
        EXPECT(run, fd >= 0);
        uint32_t how = (uint32_t)(storm_next(storm) % 3); /* house, member, none */
        /* A logon may fail: a command before may have set another secret. */
        if (how < 2 && client_logon_as(run, fd, how == 0 ? 0 : MEMBER_ID,
                                       100 + (uint64_t)connection, member_secret) != 0) {
            close(fd);
            continue;
        }
        storm->logons += how < 2;
        uint32_t frames = 1 + (uint32_t)(storm_next(storm) % 24);
        for (uint32_t i = 0; i < frames; i++) {
            struct frame frame = storm_frame(storm);
            if (client_send(fd, &frame) != 0)
                continue; /* does not encode, or the node closed: next one */
            storm->frames_sent++;
            if (!storm_drain(fd))
                break;
        }
        nanosleep(&(struct timespec){.tv_nsec = 20000000}, NULL);
        storm_drain(fd);
        close(fd);
    }
    /* The node still answers (the accounts may be anything by now). */
    int fd = client_connect(run->port);
    EXPECT(run, fd >= 0);
    struct frame frame = {.type = FRAME_HELLO};
    frame.u.hello.version_min = 1;
    frame.u.hello.version_max = 2;
    frame.u.hello.client_id = 9;
    EXPECT(run, client_send(fd, &frame) == 0);
    EXPECT(run, client_receive(fd, &frame) == 0 && frame.type == FRAME_WELCOME);
    close(fd);
    return 0;
}

static int storm_script_cb(void *context)
{
    return storm_script(context);
}

TEST(frame_sequences_never_stop_the_node)
{
    struct node node;
    char errmsg[512] = "";
    int ok = node_ready(&node, errmsg, sizeof errmsg);
    static struct storm_run storm;
    const char *seed = getenv("STORM_SEED");
    uint64_t storm_seed = seed != NULL ? strtoull(seed, NULL, 10) : (uint64_t)time(NULL);
    storm.rng = storm_seed * 0x9E3779B97F4A7C15ULL + 1;
    fprintf(stderr, "  storm seed: STORM_SEED=%" PRIu64 "\n", storm_seed);
    static struct script_thread script = {storm_script_cb, &storm, &storm.client};
    int served = ok ? script_run(&node, &script) : -1;
    char check[160] = "";
    int checked = ok ? engine_check(&node.replica.engine, check, sizeof check) : -1;
    if (checked != 0)
        fprintf(stderr, "  check: %s\n", check);
    uint64_t applied = node.replica.commands_applied;
    bool stopped = node.replica.stopped_seq != 0;
    node_stop(&node);
    CHECK(ok && served == 0);
    CHECK_EQ_I64(storm.client.failures, 0);
    CHECK(storm.frames_sent > 200);
    CHECK(storm.logons > 5);
    CHECK(applied > 50); /* the commands reached the state machine */
    CHECK_EQ_I64(checked, 0);
    CHECK(!stopped);
}

TEST_MAIN()
