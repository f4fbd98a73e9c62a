/* A node's sides of a hand-over (see takeover.h). */
#include "node/takeover.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/engine.h"
#include "lib/clock.h"

/* How often an idle giver looks for a taker. */
#define TAKEOVER_ACCEPT_POLL_MS 10

static struct handover_message message; /* one hand-over at a time, on the loop's thread */

static void giver_log(const char *format, const char *detail)
{
    fprintf(stderr, "nodown: hand-over: ");
    fprintf(stderr, format, detail);
    fputc('\n', stderr);
    fflush(stderr);
}

int takeover_give_open(struct takeover_giver *giver, const char *dir, char *errmsg,
                       size_t errmsg_size)
{
    memset(giver, 0, sizeof *giver);
    giver->conn_fd = -1;
    giver->keeper_end = -1;
    snprintf(giver->dir, sizeof giver->dir, "%s", dir);
    giver->listen_fd = handover_listen(dir, errmsg, errmsg_size);
    return giver->listen_fd >= 0 ? 0 : -1;
}

void takeover_give_close(struct takeover_giver *giver)
{
    if (giver->conn_fd >= 0)
        close(giver->conn_fd);
    if (giver->listen_fd >= 0) {
        close(giver->listen_fd);
        handover_unlink(giver->dir); /* a node stopped leaves no socket to try */
    }
    if (giver->keeper_end >= 0)
        close(giver->keeper_end);
    giver->conn_fd = giver->listen_fd = giver->keeper_end = -1;
}

/* Back to listening; the gateway reads and accepts again. */
static void giver_reset(struct takeover_giver *giver, const struct takeover_node *node,
                        const char *why)
{
    giver_log("abandoned, serving on: %s", why);
    if (giver->phase == TAKEOVER_GIVE_DRAINING)
        gateway_drain(node->gateway, false);
    if (giver->conn_fd >= 0)
        close(giver->conn_fd);
    if (giver->keeper_end >= 0)
        close(giver->keeper_end);
    giver->conn_fd = giver->keeper_end = -1;
    giver->phase = TAKEOVER_GIVE_IDLE;
}

static void giver_info(const struct takeover_node *node)
{
    memset(&message, 0, offsetof(struct handover_message, data));
    message.type = HANDOVER_INFO;
    message.applied_seq = node->replica->applied_seq;
    message.node_id = node->node_id;
    snprintf(message.release, sizeof message.release, "%s", node->release);
    if (node->nats != NULL) {
        snprintf(message.nats_url, sizeof message.nats_url, "%s", node->nats->url);
        message.nats_pid = (uint32_t)node->nats->pid;
    }
    snprintf(message.admin_token, sizeof message.admin_token, "%s", node->admin_token);
    message.fds[message.fd_count++] = STDOUT_FILENO; /* the taker writes where this did */
    message.fds[message.fd_count++] = STDERR_FILENO;
    for (int i = 0; i < node->argc && message.argc < HANDOVER_ARGS_MAX; i++)
        snprintf(message.argv[message.argc++], sizeof message.argv[0], "%s", node->argv[i]);
}

/* A process connected: it says HELLO at once, or goes. */
static void giver_accept(struct takeover_giver *giver)
{
    int fd = handover_accept(giver->listen_fd);
    if (fd < 0)
        return;
    giver->conn_fd = fd;
    giver->hello_since_ms = clock_now_ms();
    giver->phase = TAKEOVER_GIVE_HELLO;
}

/* Its HELLO, without waiting on the loop: INFO back. */
static void giver_hello(struct takeover_giver *giver, const struct takeover_node *node)
{
    char errmsg[256];
    struct pollfd entry = {.fd = giver->conn_fd, .events = POLLIN};
    if (poll(&entry, 1, 0) <= 0) {
        if (clock_now_ms() - giver->hello_since_ms > HANDOVER_WAIT_MS)
            giver_reset(giver, node, "a process connected and said nothing");
        return;
    }
    if (handover_recv(giver->conn_fd, &message, 0, errmsg, sizeof errmsg) != 0 ||
        message.type != HANDOVER_HELLO) {
        handover_close_fds(&message);
        giver_reset(giver, node, "a process connected and did not say HELLO");
        return;
    }
    fprintf(stderr, "nodown: hand-over: process %u (release %s) takes over; serving until it "
            "has caught up\n", message.pid, message.release);
    if (node->argc > (int)HANDOVER_ARGS_MAX) {
        handover_abort(giver->conn_fd, "the node's command line has too many options to hand "
                       "over");
        giver_reset(giver, node, "too many options to hand over");
        return;
    }
    giver_info(node);
    if (handover_send(giver->conn_fd, &message, errmsg, sizeof errmsg) != 0) {
        giver_reset(giver, node, errmsg);
        return;
    }
    giver->phase = TAKEOVER_GIVE_WAITING;
}

/* The taker said READY, or went away. */
static void giver_wait(struct takeover_giver *giver, const struct takeover_node *node)
{
    char errmsg[256];
    struct pollfd entry = {.fd = giver->conn_fd, .events = POLLIN};
    if (poll(&entry, 1, 0) <= 0)
        return;
    if (handover_recv(giver->conn_fd, &message, 0, errmsg, sizeof errmsg) != 0) {
        giver_reset(giver, node, errmsg);
        return;
    }
    if (message.type != HANDOVER_READY) {
        handover_close_fds(&message);
        giver_reset(giver, node, message.type == HANDOVER_ABORT ? message.text
                                                                 : "an unexpected message");
        return;
    }
    fprintf(stderr, "nodown: hand-over: the new process applied up to %" PRIu64 "; draining\n",
            message.applied_seq);
    giver->ready_seq = message.applied_seq;
    gateway_drain(node->gateway, true);
    giver->drain_since_ms = clock_now_ms();
    giver->phase = TAKEOVER_GIVE_DRAINING;
}

static void state_digest(const struct replica *replica, char text[40])
{
    struct digest digest;
    engine_digest(&replica->engine, &digest);
    digest_format(&digest, text);
}

/* Drained: the sockets, each session, the digest; DONE back. Returns 1
 * once the taker has them all, 0 after a failure (logged; the sessions
 * are still this node's, the taker wrote nothing to them, so it serves
 * on with them). */
static int giver_transfer(struct takeover_giver *giver, const struct takeover_node *node)
{
    char errmsg[256];
    int node_end = -1;
    bool adopted = node->nats != NULL && node->nats->adopted;
    if (adopted) {
        node_end = node->nats->keeper_fd; /* passed on: the keeper stays */
    } else if (node->nats != NULL &&
               nats_supervisor_keeper_pair(node->nats, &node_end, &giver->keeper_end, errmsg,
                                           sizeof errmsg) != 0) {
        handover_abort(giver->conn_fd, errmsg);
        giver_reset(giver, node, errmsg);
        return 0;
    }
    uint32_t count = 0;
    struct gateway_session_export session;
    for (uint32_t at = 0; (at = gateway_export(node->gateway, at, &session)) != UINT32_MAX;)
        count++;
    uint64_t seq = node->replica->applied_seq; /* no turn of the loop until it ends */
    memset(&message, 0, offsetof(struct handover_message, data));
    message.type = HANDOVER_TAKE;
    message.applied_seq = seq;
    message.session_count = count;
    message.fds[message.fd_count++] = gateway_listen_fd(node->gateway);
    if (node->admin != NULL)
        message.fds[message.fd_count++] = http_admin_listen_fd(node->admin);
    if (node_end >= 0)
        message.fds[message.fd_count++] = node_end;
    if (gateway_fix_listen_fd(node->gateway) >= 0) /* the FIX acceptor's, last */
        message.fds[message.fd_count++] = gateway_fix_listen_fd(node->gateway);
    int rv = handover_send(giver->conn_fd, &message, errmsg, sizeof errmsg);
    if (node_end >= 0 && !adopted)
        close(node_end); /* the taker has its copy */
    for (uint32_t at = 0; rv == 0 && (at = gateway_export(node->gateway, at, &session)) !=
                                         UINT32_MAX;)
        rv = handover_send_session(giver->conn_fd, &session, &message, errmsg, sizeof errmsg);
    if (rv == 0) { /* while the taker applies up to seq and takes the sessions */
        memset(&message, 0, offsetof(struct handover_message, data));
        message.type = HANDOVER_DIGEST;
        message.applied_seq = seq;
        state_digest(node->replica, message.digest);
        rv = handover_send(giver->conn_fd, &message, errmsg, sizeof errmsg);
    }
    if (rv == 0 && handover_recv(giver->conn_fd, &message,
                                 HANDOVER_WAIT_MS + TAKEOVER_APPLY_MAX_MS, errmsg,
                                 sizeof errmsg) == 0 &&
        message.type == HANDOVER_DONE) {
        gateway_detach(node->gateway);
        fprintf(stderr, "nodown: hand-over: done at stream sequence %" PRIu64 ", %u sessions "
                "passed on; this process stops\n", seq, count);
        fflush(stderr);
        return 1;
    }
    if (rv == 0 && message.type == HANDOVER_ABORT)
        snprintf(errmsg, sizeof errmsg, "%s", message.text);
    else if (rv == 0 && message.type != HANDOVER_DONE)
        snprintf(errmsg, sizeof errmsg, "no DONE from the new process");
    handover_close_fds(&message);
    giver_reset(giver, node, errmsg);
    return 0;
}

int takeover_give_poll(struct takeover_giver *giver, const struct takeover_node *node)
{
    if (giver->listen_fd < 0)
        return 0;
    switch (giver->phase) {
    case TAKEOVER_GIVE_IDLE: {
        int64_t now_ms = clock_now_ms();
        if (now_ms - giver->polled_ms < TAKEOVER_ACCEPT_POLL_MS)
            return 0;
        giver->polled_ms = now_ms;
        giver_accept(giver);
        return 0;
    }
    case TAKEOVER_GIVE_HELLO:
        giver_hello(giver, node);
        return 0;
    case TAKEOVER_GIVE_WAITING:
        giver_wait(giver, node);
        return 0;
    case TAKEOVER_GIVE_DRAINING:
        /* Drained, and at least where the taker is: it applies up to this
         * node's sequence, never back (a node behind the stream catches
         * up first, applying on while it drains). */
        if (gateway_drained(node->gateway) && node->replica->applied_seq >= giver->ready_seq)
            return giver_transfer(giver, node);
        if (clock_now_ms() - giver->drain_since_ms > TAKEOVER_DRAIN_MAX_MS) {
            handover_abort(giver->conn_fd, "the old node could not drain (its batches not "
                           "stored and applied, or the stream up to the new process's "
                           "sequence applied) in time");
            giver_reset(giver, node, "not drained in time");
        }
        return 0;
    }
    return 0;
}

void takeover_give_exit(struct takeover_giver *giver, const struct takeover_node *node)
{
    if (giver->conn_fd >= 0)
        close(giver->conn_fd);
    if (giver->listen_fd >= 0)
        close(giver->listen_fd); /* the taker binds DIR/handover.sock anew */
    giver->conn_fd = giver->listen_fd = -1;
    if (node->nats == NULL || node->nats->adopted || giver->keeper_end < 0)
        return;
    nats_supervisor_keep_exec(node->nats, giver->keeper_end);
    fprintf(stderr, "nodown: hand-over: could not become the nats-server's keeper (%s); the "
            "server stops with this process\n", strerror(errno));
}

/* ---- The taker. ---- */

int takeover_take_begin(struct takeover_taker *taker, const char *dir, const char *release,
                        char *errmsg, size_t errmsg_size)
{
    memset(taker, 0, offsetof(struct takeover_taker, info));
    taker->fd = handover_connect(dir, errmsg, errmsg_size);
    if (taker->fd < 0)
        return -1;
    memset(&message, 0, offsetof(struct handover_message, data));
    message.type = HANDOVER_HELLO;
    message.pid = (uint32_t)getpid();
    snprintf(message.release, sizeof message.release, "%s", release);
    if (handover_send(taker->fd, &message, errmsg, errmsg_size) != 0 ||
        handover_recv(taker->fd, &taker->info, HANDOVER_WAIT_MS, errmsg, errmsg_size) != 0)
        return -1;
    if (taker->info.type != HANDOVER_INFO) {
        snprintf(errmsg, errmsg_size, "the serving node would not hand over: %s",
                 taker->info.type == HANDOVER_ABORT ? taker->info.text : "an unexpected answer");
        handover_close_fds(&taker->info);
        return -1;
    }
    return 0;
}

void takeover_take_close(struct takeover_taker *taker)
{
    if (taker->fd >= 0)
        close(taker->fd);
    taker->fd = -1;
    handover_close_fds(&taker->info);
}

void takeover_take_output(struct takeover_taker *taker)
{
    if (taker->info.fd_count == 2) {
        fflush(stdout);
        fflush(stderr);
        dup2(taker->info.fds[0], STDOUT_FILENO);
        dup2(taker->info.fds[1], STDERR_FILENO);
    }
    handover_close_fds(&taker->info);
}

static int taker_fail(struct takeover_taker *taker, const char *errmsg)
{
    handover_abort(taker->fd, errmsg);
    return -1;
}

/* Steps the gateway until the replica has applied seq, and no further:
 * the state there is compared with the giver's. */
static int taker_apply_to(const struct takeover_node *node, uint64_t seq, char *errmsg,
                          size_t errmsg_size)
{
    int64_t deadline_ms = clock_now_ms() + TAKEOVER_APPLY_MAX_MS;
    gateway_pause_at(node->gateway, seq);
    while (node->replica->applied_seq < seq) {
        if (gateway_step(node->gateway, 5, errmsg, errmsg_size) != 0)
            return -1;
        if (clock_now_ms() > deadline_ms) {
            snprintf(errmsg, errmsg_size, "applied up to %" PRIu64 " only, of the old node's %"
                     PRIu64 ", in %d ms", node->replica->applied_seq, seq,
                     TAKEOVER_APPLY_MAX_MS);
            return -1;
        }
    }
    if (node->replica->applied_seq != seq) {
        snprintf(errmsg, errmsg_size, "this process applied up to %" PRIu64 ", past the old "
                 "node's %" PRIu64 ": the states cannot be compared", node->replica->applied_seq,
                 seq);
        return -1;
    }
    return 0;
}

/* Receives count sessions and adopts each; one the gateway cannot take
 * is closed here (its client logs on again), counted in *refused. */
static int taker_sessions(struct takeover_taker *taker, const struct takeover_node *node,
                          uint32_t count, uint32_t *refused, char *errmsg, size_t errmsg_size)
{
    static uint8_t out[GATEWAY_OUTBOX_MAX];
    for (uint32_t i = 0; i < count; i++) {
        if (handover_recv_session(taker->fd, &message, out, errmsg, errmsg_size) != 0)
            return -1;
        char why[256];
        if (gateway_adopt(node->gateway, &message.session, why, sizeof why) != 0) {
            close(message.session.fd); /* the old node's copy keeps it */
            if ((*refused)++ == 0)
                fprintf(stderr, "nodown: hand-over: a session not taken: %s\n", why);
        }
    }
    return 0;
}

int takeover_take_finish(struct takeover_taker *taker, const struct takeover_node *node,
                         takeover_admin_start_fn admin_start, void *admin_context,
                         const char *data_dir, struct durability durability, char *errmsg,
                         size_t errmsg_size)
{
    bool embedded = taker->info.nats_url[0] != '\0';
    int64_t ready_ms = clock_now_ms();
    memset(&message, 0, offsetof(struct handover_message, data));
    message.type = HANDOVER_READY;
    message.applied_seq = node->replica->applied_seq;
    if (handover_send(taker->fd, &message, errmsg, errmsg_size) != 0 ||
        handover_recv(taker->fd, &message, TAKEOVER_DRAIN_MAX_MS + HANDOVER_WAIT_MS, errmsg,
                      errmsg_size) != 0)
        return taker_fail(taker, errmsg);
    bool fix = gateway_fix_wanted(node->gateway);
    uint32_t fds_expected = 2u + (embedded ? 1u : 0u) + (fix ? 1u : 0u);
    if (message.type != HANDOVER_TAKE || message.fd_count != fds_expected) {
        snprintf(errmsg, errmsg_size, "the old node did not hand over its sockets: %s",
                 message.type == HANDOVER_ABORT ? message.text : "an unexpected answer");
        handover_close_fds(&message);
        return taker_fail(taker, errmsg);
    }
    uint64_t seq = message.applied_seq;
    uint32_t count = message.session_count;
    int fds[HANDOVER_FDS_MAX];
    memcpy(fds, message.fds, sizeof fds);
    if (gateway_listen_take(node->gateway, fds[HANDOVER_CLIENT_LISTEN], errmsg, errmsg_size) !=
            0 ||
        admin_start(admin_context, fds[HANDOVER_ADMIN_LISTEN], errmsg, errmsg_size) != 0 ||
        (fix && gateway_fix_listen_take(node->gateway, fds[fds_expected - 1], errmsg,
                                        errmsg_size) != 0))
        return taker_fail(taker, errmsg);
    /* The embedded server's keeper is adopted only at DONE: a taker that
     * fails must not ask it to stop the old node's server. */
    int keeper_fd = embedded ? fds[HANDOVER_NATS_KEEPER] : -1;
    if (taker_apply_to(node, seq, errmsg, errmsg_size) != 0)
        return taker_fail(taker, errmsg);
    char digest[40];
    state_digest(node->replica, digest);
    uint32_t refused = 0;
    if (taker_sessions(taker, node, count, &refused, errmsg, errmsg_size) != 0) {
        gateway_detach(node->gateway);
        return taker_fail(taker, errmsg);
    }
    if (handover_recv(taker->fd, &message, HANDOVER_WAIT_MS, errmsg, errmsg_size) != 0 ||
        message.type != HANDOVER_DIGEST || message.applied_seq != seq ||
        strcmp(message.digest, digest) != 0) {
        if (message.type == HANDOVER_DIGEST)
            snprintf(errmsg, errmsg_size, "the states differ at stream sequence %" PRIu64
                     ": the old node's digest is %s, this build's %s", seq, message.digest,
                     digest);
        handover_close_fds(&message);
        gateway_detach(node->gateway); /* nothing was written to them */
        return taker_fail(taker, errmsg);
    }
    memset(&message, 0, offsetof(struct handover_message, data));
    message.type = HANDOVER_DONE;
    if (handover_send(taker->fd, &message, errmsg, errmsg_size) != 0) {
        gateway_detach(node->gateway);
        return -1;
    }
    if (embedded && nats_supervisor_adopt(node->nats, data_dir, taker->info.nats_url,
                                          (pid_t)taker->info.nats_pid, keeper_fd, durability,
                                          errmsg, errmsg_size) != 0) {
        /* Serving all the same, on the server it is connected to; without
         * a keeper it cannot restart or stop that server. */
        fprintf(stderr, "nodown: hand-over: the embedded server not adopted: %s\n", errmsg);
        close(keeper_fd);
    }
    gateway_pause_at(node->gateway, 0);
    /* One line for `nodown upgrade` (src/ops/upgrade.c reads it). */
    fprintf(stderr, "nodown: hand-over: took %u sessions at stream sequence %" PRIu64
            " in %" PRId64 " ms, digest %s equal to the old node's%s\n", count - refused, seq,
            clock_now_ms() - ready_ms, digest, refused > 0 ? " (some closed: see above)" : "");
    return 0;
}
