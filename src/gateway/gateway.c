/* The gateway's sessions, batches and outcomes (see gateway.h). */
#include "gateway/gateway.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "codec/frame.h"
#include "core/account.h"
#include "core/session.h"
#include "gateway/logon_check.h"
#include "gateway/logon_throttle.h"
#include "gateway/publisher.h"
#include "gateway/query.h"
#include "lib/clock.h"
#include "lib/hash.h"
#include "gateway/gateway_internal.h"
#include "lib/index_table.h"
#include "lib/secret.h"

/* Non-blocking and closed on exec, in POSIX terms. */
static int gateway_fd_setup(int fd)
{
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0 ||
        fcntl(fd, F_SETFD, FD_CLOEXEC) != 0)
        return -1;
    return 0;
}

int gateway_socket(const struct gateway_listen_spec *spec, int *fd_out, uint16_t *port_out,
                   char *errmsg, size_t errmsg_size)
{
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons(spec->port)};
    *fd_out = -1;
    if (spec->later) /* given later, a hand-over */
        return 0;
    if (spec->inherited > 0) { /* bound and listening already: a hand-over */
        socklen_t size = sizeof address;
        int fd = spec->inherited;
        if (gateway_fd_setup(fd) != 0 ||
            getsockname(fd, (struct sockaddr *)&address, &size) != 0) {
            snprintf(errmsg, errmsg_size, "the listening socket handed over: %s",
                     strerror(errno));
            return ERR_IO;
        }
        *fd_out = fd;
        *port_out = ntohs(address.sin_port);
        return 0;
    }
    if (inet_pton(AF_INET, spec->host, &address.sin_addr) != 1) {
        snprintf(errmsg, errmsg_size, "listen address %s is not an IPv4 address", spec->host);
        return ERR_USAGE;
    }
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int on = 1;
    socklen_t size = sizeof address;
    if (fd < 0 || gateway_fd_setup(fd) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) != 0 ||
        bind(fd, (struct sockaddr *)&address, sizeof address) != 0 ||
        listen(fd, GATEWAY_LISTEN_BACKLOG) != 0 ||
        getsockname(fd, (struct sockaddr *)&address, &size) != 0) {
        snprintf(errmsg, errmsg_size, "listen on %s:%u: %s", spec->host, spec->port,
                 strerror(errno));
        if (fd >= 0)
            close(fd);
        return ERR_IO;
    }
    *fd_out = fd;
    *port_out = ntohs(address.sin_port);
    return 0;
}

static int gateway_listen(struct gateway *gateway, const struct gateway_config *config,
                          char *errmsg, size_t errmsg_size)
{
    struct gateway_listen_spec spec = {.host = config->listen_host,
                                       .port = config->listen_port,
                                       .later = config->listen_later,
                                       .inherited = config->listen_fd_inherited};
    return gateway_socket(&spec, &gateway->listen_fd, &gateway->port, errmsg, errmsg_size);
}

static void gateway_free(struct gateway *gateway)
{
    index_table_free(&gateway->by_client);
    free(gateway->sessions);
    free(gateway->polls);
    free(gateway->poll_slots);
    free(gateway->hot);
    free(gateway->hot_listed);
    for (uint32_t i = 0; i < gateway->outboxes_kept; i++)
        free(gateway->outboxes[i]);
    free(gateway);
}

/* The connection limits and deadlines of config, or their defaults. */
static int gateway_limits_set(struct gateway *gateway, const struct gateway_config *config,
                              char *errmsg, size_t errmsg_size)
{
    gateway->connections_max =
        config->connections_max != 0 ? config->connections_max : GATEWAY_CONNECTIONS_MAX_DEFAULT;
    gateway->per_address_max = config->connections_per_address_max != 0
                                   ? config->connections_per_address_max
                                   : GATEWAY_CONNECTIONS_PER_ADDRESS_DEFAULT;
    gateway->handshake_timeout_ms = config->handshake_timeout_ms > 0
                                        ? config->handshake_timeout_ms
                                        : GATEWAY_HANDSHAKE_TIMEOUT_MS_DEFAULT;
    gateway->frame_timeout_ms = config->frame_timeout_ms > 0 ? config->frame_timeout_ms
                                                             : GATEWAY_FRAME_TIMEOUT_MS_DEFAULT;
    gateway->heartbeat_ms =
        config->heartbeat_ms > 0 ? config->heartbeat_ms : GATEWAY_HEARTBEAT_MS_DEFAULT;
    if (gateway->connections_max > GATEWAY_CONNECTIONS_MAX_MOST) {
        snprintf(errmsg, errmsg_size, "connections: %u is more than the most, %u",
                 gateway->connections_max, GATEWAY_CONNECTIONS_MAX_MOST);
        return ERR_USAGE;
    }
    if (gateway->per_address_max > gateway->connections_max)
        gateway->per_address_max = gateway->connections_max;
    return 0;
}

/* The session table and what is sized by it. */
static int gateway_tables_alloc(struct gateway *gateway)
{
    uint32_t max = gateway->connections_max;
    gateway->sessions = calloc(max, sizeof gateway->sessions[0]);
    gateway->polls = calloc(GATEWAY_POLLS_FIXED + max, sizeof gateway->polls[0]);
    gateway->poll_slots = calloc(GATEWAY_POLLS_FIXED + max, sizeof gateway->poll_slots[0]);
    gateway->hot = calloc(max, sizeof gateway->hot[0]);
    gateway->hot_listed = calloc(max, sizeof gateway->hot_listed[0]);
    if (gateway->sessions == NULL || gateway->polls == NULL || gateway->poll_slots == NULL ||
        gateway->hot == NULL || gateway->hot_listed == NULL ||
        index_table_init(&gateway->by_client, max) != 0)
        return ERR_NOMEM;
    for (uint32_t i = 0; i < max; i++)
        gateway->sessions[i].fd = -1;
    return 0;
}

int gateway_open(struct gateway **out, const struct gateway_config *config,
                 struct replica *replica, struct journal *journal, char *errmsg,
                 size_t errmsg_size)
{
    struct gateway *gateway = calloc(1, sizeof *gateway);
    if (gateway == NULL)
        return ERR_NOMEM;
    int limits_rv = gateway_limits_set(gateway, config, errmsg, errmsg_size);
    if (limits_rv == 0 && (limits_rv = gateway_tables_alloc(gateway)) != 0)
        snprintf(errmsg, errmsg_size, "gateway: no memory for %u connections",
                 gateway->connections_max);
    if (limits_rv != 0) {
        gateway_free(gateway);
        return limits_rv;
    }
    gateway->replica = replica;
    gateway->journal = journal;
    gateway->node_id = config->node_id;
    gateway->metrics = config->metrics;
    gateway->audit = config->audit;
    logon_throttle_init(&gateway->throttle);
    if (secret_salt_generate(gateway->dummy_salt) != 0) {
        snprintf(errmsg, errmsg_size, "gateway: no random source for the dummy salt");
        index_table_free(&gateway->by_client);
        free(gateway);
        return ERR_IO;
    }
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    gateway->run_id = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
    uint32_t in_flight = config->batches_in_flight_max != 0 ? config->batches_in_flight_max
                                                            : GATEWAY_BATCHES_IN_FLIGHT;
    if (in_flight > PUBLISHER_SLOTS_MAX) {
        snprintf(errmsg, errmsg_size, "batches in flight: %u is more than the most, %u",
                 in_flight, PUBLISHER_SLOTS_MAX);
        gateway_free(gateway);
        return ERR_USAGE;
    }
    int rv = gateway_listen(gateway, config, errmsg, errmsg_size);
    gateway->fix_listen_fd = -1;
    if (rv == 0 && (rv = fix_gateway_open(gateway, config, errmsg, errmsg_size)) != 0)
        close(gateway->listen_fd);
    if (rv == 0 && (rv = replica_decode_ahead(replica, journal)) != 0) {
        snprintf(errmsg, errmsg_size, "gateway: no memory to decode ahead");
        close(gateway->listen_fd);
    }
    if (rv == 0) {
        rv = publisher_open(&gateway->publisher, journal, in_flight, BATCH_SIZE_MAX,
                            GATEWAY_PUBLISH_TIMEOUT_MS);
        if (rv == 0 && (rv = logon_check_open(&gateway->logon_check)) != 0)
            publisher_close(gateway->publisher);
        if (rv != 0) {
            snprintf(errmsg, errmsg_size, "gateway: cannot start its threads");
            close(gateway->listen_fd);
        }
    }
    if (rv != 0) {
        gateway_free(gateway);
        return rv;
    }
    *out = gateway;
    return 0;
}

uint16_t gateway_port(const struct gateway *gateway)
{
    return gateway->port;
}

uint16_t gateway_fix_port(const struct gateway *gateway)
{
    return gateway->fix_listen_fd >= 0 ? gateway->fix_port : 0;
}

int gateway_fix_listen_fd(const struct gateway *gateway)
{
    return gateway->fix_listen_fd;
}

void gateway_metrics_sync(const struct gateway *gateway)
{
    struct node_metrics *m = gateway->metrics;
    if (m == NULL)
        return;
    const struct gateway_stats *stats = &gateway->stats;
    struct metrics_counter *counters[] = {
        &m->clients_disconnected_slow_total,       &m->connections_refused_per_address_total,
        &m->connections_refused_full_total,        &m->connections_timed_out_handshake_total,
        &m->connections_timed_out_frame_total,     &m->connections_timed_out_heartbeat_total,
    };
    uint64_t totals[] = {
        stats->sessions_closed_slow, stats->refused_per_address, stats->refused_full,
        stats->closed_handshake,     stats->closed_frame,        stats->closed_heartbeat,
    };
    for (size_t i = 0; i < sizeof totals / sizeof totals[0]; i++)
        metrics_counter_add(counters[i], totals[i] - metrics_counter_get(counters[i]));
    metrics_gauge_set(&m->sessions_connected, (int64_t)stats->connections_open);
    metrics_gauge_set(&m->batches_in_flight_max, (int64_t)stats->batches_in_flight_max);
}

const struct gateway_stats *gateway_stats(const struct gateway *gateway)
{
    return &gateway->stats;
}

/* ---- Sessions. ---- */

/* ---- Logged-on sessions by (account, client id). ---- */

struct client_key {
    uint32_t account_id;
    uint64_t client_id;
};

static bool client_match(const void *context, uint32_t slot, const void *key)
{
    const struct gateway *gateway = context;
    const struct client_key *wanted = key;
    return gateway->sessions[slot].account_id == wanted->account_id &&
           gateway->sessions[slot].client_id == wanted->client_id;
}

static uint64_t client_slot_hash(const void *context, uint32_t slot)
{
    const struct gateway *gateway = context;
    return hash_pair64(gateway->sessions[slot].account_id, gateway->sessions[slot].client_id);
}

static uint32_t client_find_at(const struct gateway *gateway, uint32_t account_id,
                               uint64_t client_id)
{
    struct client_key key = {account_id, client_id};
    return index_table_find(&gateway->by_client, hash_pair64(account_id, client_id),
                            client_match, gateway, &key);
}

void session_close(struct gateway *gateway, struct gateway_session *session)
{
    if (session->fix != NULL)
        fix_conn_end(gateway, session);
    if (session->state == SESSION_READY || session->state == SESSION_CLOSING) {
        uint32_t at = client_find_at(gateway, session->account_id, session->client_id);
        if (at != INDEX_NONE && &gateway->sessions[gateway->by_client.entries[at]] == session)
            index_table_remove_at(&gateway->by_client, at, client_slot_hash, gateway);
    }
    if (session->fd >= 0) {
        close(session->fd);
        assert(gateway->stats.connections_open > 0);
        gateway->stats.connections_open--;
    }
    session->fd = -1;
    while (gateway->session_end > 0 && gateway->sessions[gateway->session_end - 1].fd < 0)
        gateway->session_end--;
    if (session->out != NULL && gateway->outboxes_kept < GATEWAY_OUTBOX_CACHE)
        gateway->outboxes[gateway->outboxes_kept++] = session->out;
    else
        free(session->out);
    session->out = NULL;
    session->in_size = 0;
    session->out_size = 0;
}

/* Whether the session's input must wait: its newest command is in a
 * batch still in flight. Reading on could put its next command into a
 * batch that reaches the stream first (docs/journal.md, "Pipelined group
 * commit"). */
bool session_waits(const struct gateway *gateway, const struct gateway_session *session)
{
    return session->batch_last != 0 &&
           publisher_batch_in_flight(gateway->publisher, session->batch_last);
}

/* Puts the session's slot in the hot list, so that every turn of the loop
 * polls, processes and writes it until the next full pass. */
void gateway_hot_add(struct gateway *gateway, const struct gateway_session *session)
{
    uint32_t slot = (uint32_t)(session - gateway->sessions);
    assert(slot < gateway->connections_max);
    if (gateway->hot_listed[slot])
        return;
    assert(gateway->hot_count < gateway->connections_max);
    gateway->hot_listed[slot] = 1;
    gateway->hot[gateway->hot_count++] = slot;
}

/* Queues a frame; a session that cannot take it is too slow and closed. */
/* Whether the session's outbox takes size more bytes; one that cannot is
 * too slow: what it has is flushed, then it is closed. */
static bool session_room(struct gateway *gateway, struct gateway_session *session, size_t size)
{
    if (session->fd < 0 || session->state == SESSION_CLOSING)
        return false;
    if (GATEWAY_OUTBOX_MAX - session->out_size >= size)
        return true;
    gateway->stats.sessions_closed_slow++;
    session->state = SESSION_CLOSING;
    gateway_hot_add(gateway, session);
    return false;
}

static void session_send(struct gateway *gateway, struct gateway_session *session,
                         const struct frame *frame)
{
    size_t length = 0;
    if (!session_room(gateway, session, FRAME_BUFFER_SIZE))
        return;
    int rv = frame_encode(frame, session->out + session->out_size,
                          GATEWAY_OUTBOX_MAX - session->out_size, &length);
    assert(rv == 0);
    (void)rv;
    session->out_size += length;
    gateway_hot_add(gateway, session);
}

void session_send_bytes(struct gateway *gateway, struct gateway_session *session,
                        const void *bytes, size_t size)
{
    if (!session_room(gateway, session, size))
        return;
    memcpy(session->out + session->out_size, bytes, size);
    session->out_size += size;
    gateway_hot_add(gateway, session);
}

static void session_error(struct gateway *gateway, struct gateway_session *session,
                          uint16_t code, const char *text)
{
    if (session->fix != NULL) {
        fix_logout(gateway, session,
                   code == FRAME_ERROR_LOGON_FAILED ? "logon failed: wrong account or secret"
                                                    : text); /* and closing */
        return;
    }
    struct frame frame;
    frame_error_set(&frame, code, text);
    session_send(gateway, session, &frame); /* hot now */
    session->state = SESSION_CLOSING;
}

static void session_write(struct gateway *gateway, struct gateway_session *session)
{
    while (session->out_size > 0) {
        ssize_t sent = send(session->fd, session->out, session->out_size, MSG_NOSIGNAL);
        if (sent < 0 && errno == EINTR)
            continue;
        if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (sent <= 0) {
            session_close(gateway, session);
            return;
        }
        memmove(session->out, session->out + sent, session->out_size - (size_t)sent);
        session->out_size -= (size_t)sent;
    }
}

/* A refused or timed-out connection: counted, and remembered for the
 * next line of the log (gateway_refusals_log), at most one a second. */
static void gateway_refusal_note(struct gateway *gateway, uint64_t *counter, const char *what,
                                 uint32_t address)
{
    (*counter)++;
    gateway->refusals_unlogged++;
    char text[INET_ADDRSTRLEN] = "?";
    inet_ntop(AF_INET, &address, text, sizeof text);
    snprintf(gateway->refusal_last, sizeof gateway->refusal_last, "%s from %s", what, text);
}

static void gateway_refusals_log(struct gateway *gateway, int64_t now_ms)
{
    if (gateway->refusals_unlogged == 0 || now_ms - gateway->refusals_logged_ms < 1000)
        return;
    fprintf(stderr,
            "nodown: %" PRIu64 " client connections refused or timed out since the last "
            "line (the latest: %s); totals: %" PRIu64 " over the per-address limit, %" PRIu64
            " over the total, %" PRIu64 " handshake, %" PRIu64 " frame, %" PRIu64
            " heartbeat timeouts\n",
            gateway->refusals_unlogged, gateway->refusal_last, gateway->stats.refused_per_address,
            gateway->stats.refused_full, gateway->stats.closed_handshake,
            gateway->stats.closed_frame, gateway->stats.closed_heartbeat);
    gateway->refusals_unlogged = 0;
    gateway->refusals_logged_ms = now_ms;
}

/* Connections open from address (a linear walk: at most connections_max,
 * once per accept). */
static uint32_t gateway_address_count(const struct gateway *gateway, uint32_t address)
{
    uint32_t count = 0;
    for (uint32_t i = 0; i < gateway->session_end; i++)
        count += gateway->sessions[i].fd >= 0 && gateway->sessions[i].address == address;
    return count;
}

/* Beyond a limit: an ERROR 6 naming it, if the socket takes it at once,
 * then closed. */
static void gateway_refuse(struct gateway *gateway, int fd, uint32_t address, bool full)
{
    char text[200];
    char name[INET_ADDRSTRLEN] = "?";
    inet_ntop(AF_INET, &address, name, sizeof name);
    if (full)
        snprintf(text, sizeof text, "this node has its most connections open (%u): try "
                 "another node or later", gateway->connections_max);
    else
        snprintf(text, sizeof text, "too many connections from %s (at most %u per address)",
                 name, gateway->per_address_max);
    struct frame frame;
    frame_error_set(&frame, FRAME_ERROR_OVERLOADED, text);
    uint8_t buffer[FRAME_HEADER_SIZE + 4 + sizeof text];
    size_t length = 0;
    if (frame_encode(&frame, buffer, sizeof buffer, &length) == 0)
        (void)send(fd, buffer, length, MSG_NOSIGNAL | MSG_DONTWAIT); /* best effort */
    close(fd);
    if (full)
        gateway_refusal_note(gateway, &gateway->stats.refused_full, "over the total limit",
                             address);
    else
        gateway_refusal_note(gateway, &gateway->stats.refused_per_address,
                             "over the per-address limit", address);
}

static void gateway_session_start(struct gateway *gateway, uint32_t slot, int fd, uint8_t *out,
                                  uint32_t address)
{
    int on = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    struct gateway_session *session = &gateway->sessions[slot];
    memset(session, 0, offsetof(struct gateway_session, in));
    session->fd = fd;
    session->out = out;
    session->address = address;
    session->accepted_ms = clock_now_ms();
    session->input_ms = session->accepted_ms;
    if (slot >= gateway->session_end)
        gateway->session_end = slot + 1;
    session->state = SESSION_HELLO;
    session->generation = ++gateway->generations;
    gateway->stats.sessions_accepted++;
    gateway->stats.connections_open++;
}

/* Takes every waiting connection, within the limits: per source address
 * and in total (gateway.h); one beyond them is closed at once. */
static void gateway_accept(struct gateway *gateway, int listen_fd, bool fix)
{
    for (uint32_t accepted = 0; accepted < gateway->connections_max + 64u; accepted++) {
        struct sockaddr_in peer;
        socklen_t peer_size = sizeof peer;
        int fd = accept(listen_fd, (struct sockaddr *)&peer, &peer_size);
        if (fd < 0)
            return; /* EAGAIN: nothing more to accept; other errors: retried next turn */
        uint32_t address = peer.sin_family == AF_INET ? peer.sin_addr.s_addr : 0;
        if (gateway_fd_setup(fd) != 0) {
            close(fd);
            continue;
        }
        if (gateway->stats.connections_open >= gateway->connections_max) {
            gateway_refuse(gateway, fd, address, true);
            continue;
        }
        if (gateway_address_count(gateway, address) >= gateway->per_address_max) {
            gateway_refuse(gateway, fd, address, false);
            continue;
        }
        uint32_t slot = 0;
        while (slot < gateway->connections_max && gateway->sessions[slot].fd >= 0)
            slot++;
        assert(slot < gateway->connections_max); /* connections_open counts them */
        uint8_t *out = gateway->outboxes_kept > 0 ? gateway->outboxes[--gateway->outboxes_kept]
                                                  : malloc(GATEWAY_OUTBOX_MAX);
        if (out == NULL) {
            close(fd); /* no memory: the client tries another node */
            continue;
        }
        gateway_session_start(gateway, slot, fd, out, address);
        if (fix && fix_conn_start(gateway, &gateway->sessions[slot]) != 0) {
            session_close(gateway, &gateway->sessions[slot]);
            continue;
        }
        gateway->cold_count++; /* a new one is cold: the loop must not sleep long */
    }
}

/* ---- Logons: checked off the loop, fairly, throttled (logon_throttle.h). ---- */

/* The client's IPv4 address (host order), or 0 if the socket cannot say. */
static uint32_t session_source(const struct gateway_session *session)
{
    struct sockaddr_in peer;
    socklen_t size = sizeof peer;
    if (getpeername(session->fd, (struct sockaddr *)&peer, &size) != 0 ||
        peer.sin_family != AF_INET)
        return 0;
    return ntohl(peer.sin_addr.s_addr);
}

/* Counts a failed logon in /metrics. */
static void logon_failure_count(struct gateway *gateway, enum logon_failure failure)
{
    if (gateway->metrics == NULL)
        return;
    struct metrics_counter *counters[LOGON_FAILURE_COUNT] = {
#define LOGON_FAILURE_COUNTER(name, metric, text) \
    [name] = &gateway->metrics->logons_failed_##metric##_total,
        LOGON_FAILURES(LOGON_FAILURE_COUNTER)
#undef LOGON_FAILURE_COUNTER
    };
    metrics_write_begin(gateway->metrics);
    metrics_counter_add(counters[failure], 1);
    metrics_write_end(gateway->metrics);
}

/* One log line per source and second at most (logon_throttle_report). */
static void logon_failures_log(void *context, uint32_t source,
                               const uint32_t counts[LOGON_FAILURE_COUNT])
{
    (void)context;
    char text[512];
    size_t used = 0;
    for (uint32_t i = 0; i < LOGON_FAILURE_COUNT && used < sizeof text; i++) {
        if (counts[i] > 0)
            used += (size_t)snprintf(text + used, sizeof text - used, "%s%u %s",
                                     used > 0 ? ", " : "", counts[i],
                                     logon_failure_text((enum logon_failure)i));
    }
    struct in_addr address = {.s_addr = htonl(source)};
    char name[INET_ADDRSTRLEN] = "?";
    inet_ntop(AF_INET, &address, name, sizeof name);
    fprintf(stderr, "nodown: failed logons from %s: %s\n", name, text);
}

/* LOGON: the secret goes to the logon checker with the account's salt and
 * hash, or with a dummy salt if the account does not exist or has no
 * secret (the same work and the same answer as a wrong secret, so a
 * logon tells nobody which accounts exist), at the throttle's turn; the
 * session waits (SESSION_CHECKING) for its answer without reading
 * further frames. A source with its share of the checker in use is
 * refused at once. */
void gateway_logon(struct gateway *gateway, struct gateway_session *session,
                   const struct frame_logon *logon)
{
    const struct engine *engine = &gateway->replica->engine;
    uint32_t id = logon->account_id;
    int64_t now_ms = clock_now_ms();
    static struct logon_job job; /* the loop runs on one thread */
    memset(&job, 0, sizeof job);
    job.slot = (uint32_t)(session - gateway->sessions);
    job.generation = session->generation;
    job.source = session_source(session);
    job.account_id = id;
    job.unknown = id >= engine->account_count || !engine->accounts[id].has_secret;
    job.not_before_ms = logon_throttle_admit(&gateway->throttle, job.source, id, now_ms);
    job.secret_size = logon->secret_size;
    memcpy(job.secret, logon->secret, logon->secret_size);
    memcpy(job.salt, job.unknown ? gateway->dummy_salt : engine->secrets[id].salt,
           sizeof job.salt);
    if (!job.unknown)
        memcpy(job.hash, engine->secrets[id].hash, sizeof job.hash);
    enum logon_check_submitted submitted = logon_check_submit(gateway->logon_check, &job);
    OPENSSL_cleanse(job.secret, sizeof job.secret);
    if (submitted != LOGON_CHECK_QUEUED) {
        enum logon_failure failure = submitted == LOGON_CHECK_FULL
                                         ? LOGON_FAILURE_CHECKER_FULL
                                         : LOGON_FAILURE_SOURCE_BUSY;
        logon_throttle_refused(&gateway->throttle, job.source, failure, now_ms);
        logon_failure_count(gateway, failure);
        session_error(gateway, session, FRAME_ERROR_OVERLOADED,
                      submitted == LOGON_CHECK_FULL
                          ? "too many logons at once: try again or another node"
                          : "too many logons at once from this address: try again later");
        return;
    }
    logon_throttle_reserve(&gateway->throttle, job.source, id, job.not_before_ms);
    session->account_id = id;
    session->state = SESSION_CHECKING;
}

/* The checker said the secret was right. */
static void gateway_logon_finish(struct gateway *gateway, struct gateway_session *session)
{
    const struct engine *engine = &gateway->replica->engine;
    uint32_t id = session->account_id;
    /* A client that failed over and came back may still have its old
     * session here: the new logon supersedes it. */
    uint32_t at = client_find_at(gateway, id, session->client_id);
    if (at != INDEX_NONE) {
        struct gateway_session *old = &gateway->sessions[gateway->by_client.entries[at]];
        index_table_remove_at(&gateway->by_client, at, client_slot_hash, gateway);
        /* Its batch may still be in flight: the new session waits for it
         * as the old one would have (no later command overtakes it). */
        session->batch_last = old->batch_last;
        old->state = SESSION_LOGON; /* out of the index: close it quietly */
        session_close(gateway, old);
    }
    session->state = SESSION_READY;
    gateway_hot_add(gateway, session);
    index_table_insert(&gateway->by_client, hash_pair64(id, session->client_id),
                       (uint32_t)(session - gateway->sessions));
    if (session->fix != NULL) {
        fix_logon_done(gateway, session);
        return;
    }
    struct frame frame = {.type = FRAME_LOGON_OK};
    frame.u.logon_ok.account_id = id;
    /* A session the state no longer has (evicted, or new) goes on above
     * its account's horizon: anything at or below it is refused (logic
     * version 3, docs/protocol.md "Session bounds"; 0 before). */
    uint32_t slot = session_find(engine, id, session->client_id);
    frame.u.logon_ok.last_client_seq =
        slot != INDEX_NONE ? engine->sessions[slot].last_seq
                           : engine->accounts[id].session_horizon_seq;
    if (session->version >= 2)
        frame.u.logon_ok.session_window = (uint16_t)session_window(engine->logic_version);
    session_send(gateway, session, &frame);
}

/* ---- Checks before publishing. ----
 *
 * A command is published only if no node of the stream would have to
 * stop at it: ACTIVATE_LOGIC of a version some node cannot run
 * (docs/upgrades.md), a command of a logic version not active yet
 * (COMMISSION_SET before 3), and an account id older builds crash on. A refused
 * command gets an OUTCOME with stream_seq 0 and is never published, so
 * the state machine never sees its client_seq (the next one may follow
 * it: sequences may skip). */

/* The registry is read only for an operator's activation: anyone else's
 * is rejected by the state machine before its version counts, and must not
 * make the loop wait on NATS. */
static int gateway_check_activation(struct gateway *gateway, const struct gateway_session *session,
                                    const struct command *command, uint64_t *id)
{
    const struct engine *engine = &gateway->replica->engine;
    uint32_t version = command->u.activate_logic.logic_version;
    uint32_t node_id = gateway->node_id;
    char why[512];
    bool able = version <= engine->logic_version_max;
    bool by_operator = session->account_id < engine->account_count &&
                    account_is_operator(&engine->accounts[session->account_id]);
    if (!able)
        snprintf(why, sizeof why, "node %u runs logic versions %u..%u", gateway->node_id,
                 LOGIC_VERSION_MIN, engine->logic_version_max);
    else if (gateway->logic_gate != NULL && by_operator)
        able = gateway->logic_gate(gateway->logic_gate_context, version, &node_id, why,
                                   sizeof why);
    if (able)
        return RESULT_OK;
    fprintf(stderr, "nodown: ACTIVATE_LOGIC %u refused, not published: %s\n", version, why);
    *id = node_id;
    return REJECT_LOGIC_NOT_EVERYWHERE;
}

static int gateway_command_check(struct gateway *gateway, const struct gateway_session *session,
                                 const struct command *command, uint64_t *id)
{
    if (command->type == COMMAND_ACTIVATE_LOGIC)
        return gateway_check_activation(gateway, session, command, id);
    /* A command type of a logic version not active yet is one that nodes
     * on older builds cannot even decode (docs/formats.md): once this
     * node has applied the activation, every node that applies the
     * stream has too. id: the version it needs. */
    if (command->type == COMMAND_COMMISSION_SET &&
        gateway->replica->engine.logic_version < LOGIC_VERSION_COMMISSION) {
        *id = LOGIC_VERSION_COMMISSION;
        return REJECT_LOGIC_NOT_ACTIVE;
    }
    /* Builds before issue 14 stop (an assertion, or a read past the
     * accounts) at an account id of UINT32_MAX: never publish one. */
    bool names_account = command_names_account(command->type);
    if (!names_account || command_account_id(command) != INDEX_NONE)
        return RESULT_OK;
    /* Answered as the state machine would: from logic version 3 an
     * account the sender may not see, known or not, is "not authorized"
     * unless the sender is an operator (auth.c). */
    const struct engine *engine = &gateway->replica->engine;
    bool by_operator = session->account_id < engine->account_count &&
                       account_is_operator(&engine->accounts[session->account_id]);
    if (engine->logic_version >= LOGIC_VERSION_HIDDEN_TARGETS && !by_operator)
        return REJECT_NOT_AUTHORIZED;
    return REJECT_ACCOUNT_UNKNOWN;
}

/* A command refused before publishing: its outcome, at once. */
static void gateway_command_refuse(struct gateway *gateway, struct gateway_session *session,
                                   const struct command *command, int result, uint64_t id)
{
    assert(result != RESULT_OK);
    gateway->stats.commands_refused++;
    if (session->fix != NULL) {
        struct outcome outcome = {.result = (uint16_t)result, .command_type = command->type,
                                  .id = id};
        fix_outcome(gateway, session, command, &outcome);
        return;
    }
    struct frame frame = {.type = FRAME_OUTCOME};
    frame.u.outcome.client_seq = command->client_seq;
    frame.u.outcome.result = (uint16_t)result;
    frame.u.outcome.command_type = command->type;
    frame.u.outcome.id = id;
    frame.u.outcome.stream_seq = 0; /* never published */
    session_send(gateway, session, &frame);
}

void gateway_set_logic_gate(struct gateway *gateway, gateway_logic_gate_fn gate, void *context)
{
    assert(gateway != NULL);
    gateway->logic_gate = gate;
    gateway->logic_gate_context = context;
}

void gateway_command(struct gateway *gateway, struct gateway_session *session,
                     const struct command *command)
{
    assert(gateway->pending_count < GATEWAY_BATCH_COMMANDS); /* see session_process */
    uint64_t refused_id = 0;
    int result = gateway_command_check(gateway, session, command, &refused_id);
    if (result != RESULT_OK) {
        gateway_command_refuse(gateway, session, command, result, refused_id);
        return;
    }
    if (gateway->pending_count == 0)
        gateway->pending_since_ms = clock_now_ms();
    struct command *pending = &gateway->pending[gateway->pending_count++];
    *pending = *command;
    /* Never trust the client with who it is. */
    pending->sender_account_id = session->account_id;
    pending->client_id = session->client_id;
    session->batch_last = gateway->batch_counter + 1; /* the pending batch's number */
    gateway->stats.commands_received++;
}

/* Answered from this node's state, as of what it has applied (which a
 * version 2 client is told). */
static void gateway_query_reply(struct gateway *gateway, struct gateway_session *session,
                                const struct frame_query *query)
{
    static struct frame result; /* large; the gateway runs on one thread */
    memset(&result, 0, sizeof result);
    result.type = FRAME_QUERY_RESULT;
    struct frame_query_result *answer = &result.u.query_result;
    if (gateway_query_answer(&gateway->replica->engine, &gateway->replica->orders_done,
                             session->account_id, query, answer) != 0) {
        session_error(gateway, session, FRAME_ERROR_MALFORMED, "malformed query");
        return;
    }
    if (session->version < 3 && answer->query_type == QUERY_ORDER &&
        answer->result == RESULT_OK && answer->u.order.done != 0) {
        /* Before version 3 a finished order cannot be told: unknown. */
        memset(&answer->u, 0, sizeof answer->u);
        answer->result = REJECT_ORDER_UNKNOWN;
    }
    if (session->version >= 2)
        result.u.query_result.applied_seq = gateway->replica->applied_seq;
    session_send(gateway, session, &result);
}

/* Queries waiting for a sequence: answered once it is applied, or after
 * GATEWAY_QUERY_WAIT_MS with the state there is (its applied_seq tells
 * the client that it is older than asked). */
static void gateway_queries_due(struct gateway *gateway)
{
    int64_t now_ms = -1;
    for (uint32_t k = 0; k < gateway->hot_count; k++) { /* a querying session is READY */
        struct gateway_session *session = &gateway->sessions[gateway->hot[k]];
        if (session->fd < 0 || !session->query_waiting)
            continue;
        if (session->query.min_seq > gateway->replica->applied_seq) {
            now_ms = now_ms < 0 ? clock_now_ms() : now_ms;
            if (now_ms - session->query_since_ms < GATEWAY_QUERY_WAIT_MS)
                continue;
        }
        session->query_waiting = false;
        if (session->state == SESSION_READY)
            gateway_query_reply(gateway, session, &session->query);
    }
}

static void gateway_frame(struct gateway *gateway, struct gateway_session *session,
                          const struct frame *frame)
{
    if (frame->type == FRAME_HELLO && session->state == SESSION_HELLO) {
        const struct frame_hello *hello = &frame->u.hello;
        if (hello->version_min > FRAME_PROTOCOL_VERSION ||
            hello->version_max < FRAME_PROTOCOL_VERSION_MIN) {
            session_error(gateway, session, FRAME_ERROR_VERSION,
                          "protocol versions 1 to 3 only");
            return;
        }
        /* The highest both speak. */
        session->version = (uint16_t)(hello->version_max < FRAME_PROTOCOL_VERSION
                                          ? hello->version_max
                                          : FRAME_PROTOCOL_VERSION);
        session->client_id = hello->client_id;
        session->state = SESSION_LOGON;
        struct frame welcome = {.type = FRAME_WELCOME};
        welcome.u.welcome.version = session->version;
        welcome.u.welcome.node_id = gateway->node_id;
        welcome.u.welcome.applied_seq = gateway->replica->applied_seq;
        session_send(gateway, session, &welcome);
    } else if (frame->type == FRAME_LOGON && session->state == SESSION_LOGON) {
        gateway_logon(gateway, session, &frame->u.logon);
    } else if (frame->type == FRAME_COMMAND && session->state == SESSION_READY &&
               gateway->read_only[0] != '\0') {
        session_error(gateway, session, FRAME_ERROR_READ_ONLY, gateway->read_only);
    } else if (frame->type == FRAME_COMMAND && session->state == SESSION_READY) {
        gateway_command(gateway, session, &frame->u.command);
    } else if (frame->type == FRAME_QUERY && session->state == SESSION_READY) {
        /* Read your writes: a query for a sequence not applied yet waits
         * (one per session: the client asks one at a time). */
        if (frame->u.query.min_seq > gateway->replica->applied_seq) {
            session->query = frame->u.query;
            session->query_waiting = true;
            session->query_since_ms = clock_now_ms();
        } else {
            gateway_query_reply(gateway, session, &frame->u.query);
        }
    } else if (frame->type == FRAME_PING) {
        struct frame pong = *frame;
        pong.type = FRAME_PONG;
        session_send(gateway, session, &pong);
    } else if (session->state != SESSION_READY) {
        session_error(gateway, session, FRAME_ERROR_NOT_LOGGED_ON, "hello and logon first");
    } else {
        session_error(gateway, session, FRAME_ERROR_MALFORMED, "unexpected frame");
    }
}

/* Handles every whole frame of the session's input while the pending
 * batch has room; what is left waits (input_held) until it has. */
static void session_process(struct gateway *gateway, struct gateway_session *session)
{
    if (session->fix != NULL) {
        fix_process(gateway, session);
        return;
    }
    size_t at = 0;
    bool partial = false; /* stopped at an incomplete frame */
    while (session->fd >= 0 && session->state != SESSION_CLOSING &&
           session->state != SESSION_CHECKING && !session_waits(gateway, session) &&
           !gateway->draining) {
        if (gateway->pending_count == GATEWAY_BATCH_COMMANDS) {
            gateway->input_held = true;
            gateway_hot_add(gateway, session); /* gateway_process_held visits it */
            break;
        }
        static struct frame frame; /* large; the gateway runs on one thread */
        size_t consumed = 0;
        int rv = frame_decode(session->in + at, session->in_size - at, &frame, &consumed);
        if (rv == ERR_DECODE_NEED_MORE) {
            partial = session->in_size > at;
            break;
        }
        if (rv != 0) {
            session_error(gateway, session, FRAME_ERROR_MALFORMED, "malformed frame");
            break;
        }
        at += consumed;
        gateway_frame(gateway, session, &frame);
    }
    if (session->fd < 0)
        return; /* closed: its buffers are gone */
    memmove(session->in, session->in + at, session->in_size - at);
    session->in_size -= at;
    /* The frame deadline runs from the first byte of the frame the input
     * stops in (whole frames left waiting are not the client's doing). */
    if (!partial)
        session->frame_since_ms = 0;
    else if (at > 0 || session->frame_since_ms == 0)
        session->frame_since_ms = clock_now_ms();
}

/* Reads what the socket has and handles the whole frames in it. */
static void session_read(struct gateway *gateway, struct gateway_session *session)
{
    ssize_t got = recv(session->fd, session->in + session->in_size,
                       sizeof session->in - session->in_size, 0);
    if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    if (got <= 0) {
        session_close(gateway, session);
        return;
    }
    session->in_size += (size_t)got;
    session->input_ms = clock_now_ms();
    session->ping_sent_ms = 0;
    session_process(gateway, session);
}

/* Input left waiting while the batch was full, now that it has room. */
static void gateway_process_held(struct gateway *gateway)
{
    gateway->input_held = false;
    /* A session held is in the hot list (session_process put it there);
     * one the loop lists meanwhile is visited too. */
    for (uint32_t k = 0; k < gateway->hot_count; k++) {
        struct gateway_session *session = &gateway->sessions[gateway->hot[k]];
        if (session->fd >= 0 && session->in_size > 0)
            session_process(gateway, session);
    }
}

/* ---- Batches out, outcomes back. ---- */

/* How long the pending batch should wait before it goes out beside the
 * batches in flight (0: now). Another batch is worth a disk sync of its
 * own when it holds GATEWAY_PIPELINE_COMMANDS_MIN commands or its first
 * has waited GATEWAY_PIPELINE_WAIT_MS: many small ones would cost the
 * server a sync and the stream a message each for few commands, while a
 * slow publish (a cluster's round trips, a disk that lags) must not hold
 * the others back for long (gateway.h). */
static int gateway_flush_wait_ms(const struct gateway *gateway)
{
    if (gateway->pending_count == 0 || publisher_in_flight(gateway->publisher) == 0 ||
        gateway->pending_count >= GATEWAY_PIPELINE_COMMANDS_MIN)
        return 0;
    int64_t waited = clock_now_ms() - gateway->pending_since_ms;
    return waited >= GATEWAY_PIPELINE_WAIT_MS ? 0 : (int)(GATEWAY_PIPELINE_WAIT_MS - waited);
}

/* Hands the pending batch to an idle slot of the publisher, if there is
 * one; otherwise the batch keeps growing until a publish under way ends.
 * From here on its sessions' input waits until it is stored or failed. */
static void gateway_flush(struct gateway *gateway)
{
    if (gateway->pending_count == 0)
        return;
    if (gateway_flush_wait_ms(gateway) > 0)
        return;
    uint32_t slot = publisher_idle_slot(gateway->publisher);
    if (slot == PUBLISHER_NONE)
        return;
    size_t length = 0;
    int rv = batch_encode(0, gateway->pending, gateway->pending_count,
                          publisher_buffer(gateway->publisher, slot), BATCH_SIZE_MAX, &length);
    assert(rv == 0); /* commands came through the frame decoder */
    (void)rv;
    char msg_id[64];
    uint64_t batch = ++gateway->batch_counter;
    snprintf(msg_id, sizeof msg_id, "n%u-%" PRIu64 "-%" PRIu64, gateway->node_id,
             gateway->run_id, batch);
    publisher_start(gateway->publisher, slot, length, msg_id, batch);
    gateway->pending_count = 0;
    uint32_t in_flight = publisher_in_flight(gateway->publisher);
    if (in_flight > gateway->stats.batches_in_flight_max)
        gateway->stats.batches_in_flight_max = in_flight;
}

/* The text of the ERROR 8 that sessions get when a batch was not stored:
 * for the person reading it at the end of a client's error message. What
 * the journal said comes first-hand (no responders, a timeout, a refusal),
 * then the likely cause and what to do. A node on the minority side of a
 * partition (its NATS server cut off from the stream's leader and from a
 * majority of the stream's servers) says this for every batch until the
 * partition heals; docs/cluster.md. */
void gateway_refusal_text(char *text, size_t size, const char *journal_error)
{
    assert(size > 0);
    assert(journal_error != NULL);
    snprintf(text, size,
             "this node could not store commands in the journal within %d ms (%.512s): its "
             "NATS server may be cut off from the others (a network partition) or the stream "
             "has no leader; the outcome of the commands in flight is unknown: resend them with "
             "the same client_seq, to this node or another",
             GATEWAY_PUBLISH_TIMEOUT_MS, journal_error[0] != '\0' ? journal_error : "no reason");
    assert(strlen(text) < size);
}

/* Collects the publishes that ended. A failed one's batch may or may not
 * be stored (an attempt may still land): its sessions are told to resend
 * with the same client_seq, which the state machine applies once. Only
 * they are: no other batch, in flight or pending, holds a command of
 * theirs (session_waits), and a session whose newest command is elsewhere
 * stays (on the minority side of a partition, queries are still
 * answered). A batch that ended frees its sessions' input, which the
 * next turn reads (input_held). */
static void gateway_publish_check(struct gateway *gateway)
{
    struct publisher_result result;
    while (publisher_poll(gateway->publisher, &result)) {
        gateway->input_held = true;
        if (gateway->metrics != NULL) {
            metrics_write_begin(gateway->metrics);
            metrics_histogram_observe(&gateway->metrics->publish_latency_us, result.took_us);
            metrics_write_end(gateway->metrics);
        }
        if (result.rv == 0) {
            gateway->stats.batches_published++;
            if (result.stream_seq > gateway->stored_seq_max)
                gateway->stored_seq_max = result.stream_seq;
            continue;
        }
        gateway->stats.publish_failures++;
        fprintf(stderr, "nodown: commands not stored, sessions told to resend: %s\n",
                result.error);
        static char text[FRAME_TEXT_SIZE_MAX + 1]; /* the loop runs on one thread */
        gateway_refusal_text(text, sizeof text, result.error);
        for (uint32_t i = 0; i < gateway->session_end; i++) {
            struct gateway_session *session = &gateway->sessions[i];
            if (session->fd >= 0 && session->state == SESSION_READY &&
                session->batch_last == result.batch)
                session_error(gateway, session, FRAME_ERROR_READ_ONLY, text);
        }
    }
}

static void gateway_outcome(void *context, uint64_t stream_seq, const struct command *command,
                            const struct outcome *outcome)
{
    struct gateway *gateway = context;
    uint32_t at = client_find_at(gateway, command->sender_account_id, command->client_id);
    if (at != INDEX_NONE) {
        struct gateway_session *session = &gateway->sessions[gateway->by_client.entries[at]];
        if (session->fix != NULL) {
            fix_outcome(gateway, session, command, outcome);
            gateway->stats.outcomes_sent++;
            return;
        }
        struct frame frame = {.type = FRAME_OUTCOME};
        frame.u.outcome.client_seq = command->client_seq;
        frame.u.outcome.result = outcome->result;
        frame.u.outcome.command_type = outcome->command_type;
        frame.u.outcome.duplicate = outcome->duplicate;
        frame.u.outcome.id = outcome->id;
        frame.u.outcome.value = outcome->value;
        frame.u.outcome.stream_seq = stream_seq;
        if (session->version >= 3 && outcome->command_type == COMMAND_ORDER_REPLACE &&
            outcome->result == RESULT_OK && !outcome->duplicate) {
            frame.u.outcome.has_replace_filled = 1;
            frame.u.outcome.replace_filled = outcome->replace_filled;
        }
        session_send(gateway, session, &frame);
        gateway->stats.outcomes_sent++;
    }
}

static int gateway_message(void *context, uint64_t stream_seq, uint64_t timestamp_ns,
                           const void *data, size_t size)
{
    struct gateway *gateway = context;
    uint64_t start_ns = clock_now_ns();
    uint64_t commands_before = gateway->replica->commands_applied;
    int rv = replica_apply_message(gateway->replica, gateway->journal, stream_seq, timestamp_ns,
                                   data, size, gateway_outcome, gateway);
    if (rv == 0 && gateway->audit != NULL)
        audit_note(gateway->audit, stream_seq, data, size);
    if (rv == 0 && gateway->metrics != NULL) {
        /* Applying and answering the batch's sessions, as one; the batch's
         * histograms and counters move together (one instant, metrics.h). */
        struct node_metrics *m = gateway->metrics;
        const struct replica *r = gateway->replica;
        metrics_write_begin(m);
        metrics_histogram_observe(&m->apply_latency_us, (clock_now_ns() - start_ns) / 1000u);
        metrics_histogram_observe(&m->batch_commands, r->commands_applied - commands_before);
        metrics_counter_add(&m->batches_applied_total,
                            r->batches_applied - metrics_counter_get(&m->batches_applied_total));
        metrics_counter_add(&m->commands_applied_total, r->commands_applied -
                            metrics_counter_get(&m->commands_applied_total));
        metrics_counter_add(&m->orders_total,
                            r->orders_applied - metrics_counter_get(&m->orders_total));
        metrics_gauge_set(&m->applied_seq, (int64_t)r->applied_seq);
        metrics_write_end(m);
    }
    return rv == REPLICA_REPEAT ? 0 : rv;
}

/* ---- Deadlines. ---- */

/* Whether sessions are read this turn (see gateway_poll_set). */
static bool gateway_may_read(const struct gateway *gateway)
{
    return !gateway->draining && gateway->pending_count < GATEWAY_BATCH_COMMANDS &&
           publisher_idle_slot(gateway->publisher) != PUBLISHER_NONE;
}


/* Ends a connection that missed a deadline: an ERROR saying which, sent
 * if the socket takes it now (the peer may be reading nothing), then
 * closed. */
static void session_expire(struct gateway *gateway, struct gateway_session *session,
                           uint16_t code, uint64_t *counter, const char *what, int limit_ms)
{
    char text[160];
    snprintf(text, sizeof text, "%s within %d ms", what, limit_ms);
    session->out_size = 0; /* the ERROR first, whatever was owed */
    session_error(gateway, session, code, text);
    session_write(gateway, session);
    if (session->fd >= 0)
        session_close(gateway, session);
    gateway_refusal_note(gateway, counter, what, session->address);
}

/* Heartbeat of a logged-on session: a PING after heartbeat_ms of silence,
 * closed after heartbeat_ms more. Time its input is not read (its batch
 * in flight, the loop's input held) is not silence. */
static void session_heartbeat(struct gateway *gateway, struct gateway_session *session,
                              int64_t now_ms, bool may_read)
{
    if (!may_read || session_waits(gateway, session)) {
        session->input_ms = now_ms;
        return;
    }
    if (session->ping_sent_ms != 0 && now_ms - session->ping_sent_ms >= gateway->heartbeat_ms) {
        session_expire(gateway, session, FRAME_ERROR_OVERLOADED, &gateway->stats.closed_heartbeat,
                       "no answer to a PING", gateway->heartbeat_ms);
        return;
    }
    if (session->ping_sent_ms == 0 && now_ms - session->input_ms >= gateway->heartbeat_ms) {
        struct frame ping = {.type = FRAME_PING};
        ping.u.ping.nonce = (uint64_t)now_ms;
        session_send(gateway, session, &ping);
        session->ping_sent_ms = now_ms;
        gateway->stats.pings_sent++;
    }
}

/* Every GATEWAY_DEADLINE_CHECK_MS: handshakes, frames and heartbeats due
 * (gateway.h), and the log line about refusals. */
static void gateway_deadlines(struct gateway *gateway, bool may_read)
{
    int64_t now_ms = clock_now_ms();
    if (now_ms - gateway->deadlines_checked_ms < GATEWAY_DEADLINE_CHECK_MS)
        return;
    gateway->deadlines_checked_ms = now_ms;
    for (uint32_t i = 0; i < gateway->session_end; i++) {
        struct gateway_session *session = &gateway->sessions[i];
        if (session->fd < 0)
            continue;
        bool ready = session->state == SESSION_READY;
        bool closing = session->state == SESSION_CLOSING;
        if (!ready && !closing && now_ms - session->accepted_ms >= gateway->handshake_timeout_ms)
            session_expire(gateway, session, FRAME_ERROR_NOT_LOGGED_ON,
                           &gateway->stats.closed_handshake, "HELLO and LOGON not done",
                           gateway->handshake_timeout_ms);
        else if (!closing && session->frame_since_ms != 0 &&
                 now_ms - session->frame_since_ms >= gateway->frame_timeout_ms)
            session_expire(gateway, session, FRAME_ERROR_MALFORMED, &gateway->stats.closed_frame,
                           "a frame not whole", gateway->frame_timeout_ms);
        else if (ready && session->fix != NULL)
            fix_heartbeat(gateway, session, now_ms);
        else if (ready)
            session_heartbeat(gateway, session, now_ms, may_read);
        else if (closing && now_ms - session->input_ms >= gateway->heartbeat_ms)
            session_close(gateway, session); /* its last words unread for that long */
    }
    gateway_refusals_log(gateway, now_ms);
    if (gateway->fix != NULL)
        fix_deadlines(gateway, now_ms);
}

/* Polls the listening socket, the stream's and the publisher's eventfds
 * and every session; sessions with output also wait for room to write.
 * Sessions are read only while the publisher is idle and the pending
 * batch has room: what arrives while a batch is being published would
 * wait for the next publish anyway, and reading it all when that publish
 * ends takes one recv per session instead of a wake-up per arrival (a
 * client that sends one command at a time would otherwise wake the loop
 * for each).
 *
 * Connections not logged on yet ("cold": HELLO, LOGON, being checked,
 * nothing to write) are polled only when cold is set, at most every
 * GATEWAY_COLD_POLL_MS while the node is busy: poll costs about 75 ns a
 * descriptor, so 1 500 idle connections held by someone would otherwise
 * add 0.1 ms to every turn of the loop. Returns how many entries polls
 * holds. */
static bool session_cold(const struct gateway_session *session)
{
    return session->state != SESSION_READY && session->state != SESSION_CLOSING &&
           session->out_size == 0;
}

/* The poll entry of a session, or false when it has none this turn. */
static bool gateway_poll_entry(struct gateway *gateway, struct gateway_session *session,
                               short read_events, struct pollfd *entry)
{
    if (session->fd < 0)
        return false;
    if (session->state == SESSION_CLOSING && session->out_size == 0) {
        session_close(gateway, session);
        return false;
    }
    /* A session being checked reads nothing until it is answered (a
     * hang-up is reported anyway). */
    bool reads = session->state != SESSION_CLOSING && session->state != SESSION_CHECKING &&
                 !session_waits(gateway, session);
    short events = reads ? read_events : 0;
    if (session->out_size > 0)
        events |= POLLOUT;
    *entry = (struct pollfd){.fd = session->fd, .events = events};
    return true;
}

/* How often the connections not logged on are polled (gateway.h). */
static int gateway_cold_poll_ms(const struct gateway *gateway)
{
    uint32_t ms = gateway->cold_count / GATEWAY_COLD_PER_MS;
    return ms > GATEWAY_COLD_POLL_MS ? (int)ms : GATEWAY_COLD_POLL_MS;
}

/* The full pass (cold) visits every slot and lists the sessions that are
 * not cold again; the other turns visit the hot list only, so that the
 * work of a turn is in proportion to the sessions at work, not to the
 * connections open. */
static nfds_t gateway_poll_set(struct gateway *gateway, uint32_t *slots, bool cold)
{
    nfds_t count = 0;
    gateway->polls[count++] = (struct pollfd){.fd = gateway->listen_fd, .events = POLLIN};
    gateway->polls[count++] =
        (struct pollfd){.fd = journal_wake_fd(gateway->journal), .events = POLLIN};
    gateway->polls[count++] =
        (struct pollfd){.fd = publisher_wake_fd(gateway->publisher), .events = POLLIN};
    gateway->polls[count++] =
        (struct pollfd){.fd = logon_check_wake_fd(gateway->logon_check), .events = POLLIN};
    gateway->polls[count++] = (struct pollfd){.fd = gateway->fix_listen_fd, .events = POLLIN};
    assert(count == GATEWAY_POLLS_FIXED);
    short read_events = gateway_may_read(gateway) ? POLLIN : 0;
    /* Many connections not logged on: new ones are taken in with them, at
     * the full pass, not one wake-up of the loop each. */
    if ((!cold && gateway->cold_count > GATEWAY_COLD_PER_MS * GATEWAY_COLD_POLL_MS) ||
        gateway->draining) {
        gateway->polls[0].events = 0;
        gateway->polls[4].events = 0;
    }
    if (!cold) {
        gateway->cold_skipped = gateway->cold_count > 0;
        for (uint32_t k = 0; k < gateway->hot_count; k++) {
            uint32_t i = gateway->hot[k];
            struct gateway_session *session = &gateway->sessions[i];
            if (session_cold(session)) {
                gateway->cold_skipped = true; /* a WELCOME written: its LOGON comes */
                continue;
            }
            if (!gateway_poll_entry(gateway, session, read_events, &gateway->polls[count]))
                continue;
            slots[count++] = i;
        }
        return count;
    }
    for (uint32_t k = 0; k < gateway->hot_count; k++)
        gateway->hot_listed[gateway->hot[k]] = 0;
    gateway->hot_count = 0;
    gateway->cold_count = 0;
    for (uint32_t i = 0; i < gateway->session_end; i++) {
        struct gateway_session *session = &gateway->sessions[i];
        if (!gateway_poll_entry(gateway, session, read_events, &gateway->polls[count]))
            continue;
        if (session_cold(session))
            gateway->cold_count++;
        else
            gateway_hot_add(gateway, session);
        slots[count++] = i;
    }
    return count;
}

/* Applies what the stream has brought (outcomes go to the sessions). */
static int gateway_apply(struct gateway *gateway, char *errmsg, size_t errmsg_size)
{
    uint64_t applied = gateway->replica->applied_seq;
    uint64_t max = GATEWAY_READ_MESSAGES_MAX;
    if (gateway->replica->stopped_seq != 0)
        return 0; /* said once; it stays stopped (replica.h) */
    if (gateway->pause_at != 0)
        max = gateway->pause_at <= applied ? 0 : gateway->pause_at - applied < max
                                                     ? gateway->pause_at - applied
                                                     : max;
    if (max == 0)
        return 0;
    uint64_t next_seq = 0;
    int rv = journal_read(gateway->journal, applied + 1, (uint32_t)max, 0, gateway_message,
                          gateway, &next_seq);
    if (rv == ERR_LOGIC_UNSUPPORTED)
        snprintf(errmsg, errmsg_size, "stopped applying at stream sequence %" PRIu64 ": it "
                 "activates logic version %u and this build runs %u..%u; restart the node on "
                 "a build that runs it", gateway->replica->stopped_seq,
                 gateway->replica->stopped_version, LOGIC_VERSION_MIN,
                 gateway->replica->engine.logic_version_max);
    else if (rv != 0)
        snprintf(errmsg, errmsg_size, "%s", journal_error(gateway->journal));
    return rv;
}

/* A failed logon: counted, and answered when the throttle says (now, or
 * later by gateway_logons_due). Counted even if its session has gone: a
 * guesser gains nothing by hanging up. */
static void gateway_logon_failed(struct gateway *gateway, const struct logon_job *job,
                                 struct gateway_session *session)
{
    enum logon_failure failure =
        job->unknown ? LOGON_FAILURE_UNKNOWN_ACCOUNT : LOGON_FAILURE_WRONG_SECRET;
    int64_t now_ms = clock_now_ms();
    int64_t answer_ms =
        logon_throttle_failed(&gateway->throttle, job->source, job->account_id, failure, now_ms);
    logon_failure_count(gateway, failure);
    if (session == NULL)
        return;
    if (answer_ms <= now_ms) {
        session_error(gateway, session, FRAME_ERROR_LOGON_FAILED, "logon failed");
        return;
    }
    session->logon_answer_ms = answer_ms;
    if (gateway->logons_delayed == 0 || answer_ms < gateway->logon_due_ms)
        gateway->logon_due_ms = answer_ms;
    gateway->logons_delayed++;
}

/* Finishes the logons the checker has answered, for sessions still
 * waiting (a session may have closed, and its slot been reused, since). */
static void gateway_logons_answered(struct gateway *gateway)
{
    struct logon_job job;
    while (logon_check_take(gateway->logon_check, &job)) {
        struct gateway_session *session = &gateway->sessions[job.slot];
        if (session->fd < 0 || session->generation != job.generation ||
            session->state != SESSION_CHECKING)
            session = NULL;
        if (!job.ok) {
            gateway_logon_failed(gateway, &job, session);
            continue;
        }
        logon_throttle_succeeded(&gateway->throttle, job.source, job.account_id, clock_now_ms());
        if (session == NULL)
            continue;
        gateway_logon_finish(gateway, session);
        session_process(gateway, session); /* what it sent meanwhile */
    }
}

/* Sends the failed logons' answers that are due, and logs the failures
 * (a line a second per source at most). */
static void gateway_logons_due(struct gateway *gateway)
{
    int64_t now_ms = clock_now_ms();
    logon_throttle_report(&gateway->throttle, now_ms, logon_failures_log, NULL);
    if (gateway->logons_delayed == 0 || now_ms < gateway->logon_due_ms)
        return;
    uint32_t delayed = 0;
    int64_t due_ms = INT64_MAX;
    for (uint32_t i = 0; i < gateway->session_end; i++) {
        struct gateway_session *session = &gateway->sessions[i];
        if (session->fd < 0 || session->state != SESSION_CHECKING ||
            session->logon_answer_ms == 0)
            continue;
        if (session->logon_answer_ms <= now_ms) {
            session->logon_answer_ms = 0;
            session_error(gateway, session, FRAME_ERROR_LOGON_FAILED, "logon failed");
            continue;
        }
        delayed++;
        if (session->logon_answer_ms < due_ms)
            due_ms = session->logon_answer_ms;
    }
    gateway->logons_delayed = delayed;
    gateway->logon_due_ms = due_ms;
}

int gateway_step(struct gateway *gateway, int timeout_ms, char *errmsg, size_t errmsg_size)
{
    uint32_t *slots = gateway->poll_slots;
    gateway_publish_check(gateway);
    if (gateway->input_held && gateway->pending_count < GATEWAY_BATCH_COMMANDS)
        gateway_process_held(gateway);
    gateway_flush(gateway);
    int64_t now_ms = clock_now_ms();
    int cold_ms = gateway_cold_poll_ms(gateway);
    bool cold = now_ms - gateway->cold_polled_ms >= cold_ms;
    if (cold)
        gateway->cold_polled_ms = now_ms;
    gateway->cold_skipped = false;
    nfds_t count = gateway_poll_set(gateway, slots, cold);
    if (gateway->cold_skipped && (timeout_ms < 0 || timeout_ms > cold_ms))
        timeout_ms = cold_ms; /* the cold ones wait no longer */
    /* A poll of every connection does not wait: waiting would hang the
     * loop on each one's wait queue (the kernel's cost per descriptor
     * doubles); the next turn, over the hot ones, may. */
    if (cold)
        timeout_ms = 0;
    /* Work at hand: do not sleep on the sockets. */
    bool held = gateway->input_held && gateway->pending_count < GATEWAY_BATCH_COMMANDS;
    bool paused = (gateway->pause_at != 0 && gateway->replica->applied_seq >= gateway->pause_at) ||
                  gateway->replica->stopped_seq != 0;
    if (held || (!paused && journal_read_pending(gateway->journal)))
        timeout_ms = 0;
    int flush_wait_ms = gateway->pending_count > 0 &&
                                publisher_idle_slot(gateway->publisher) != PUBLISHER_NONE
                            ? gateway_flush_wait_ms(gateway)
                            : 0;
    if (flush_wait_ms > 0 && flush_wait_ms < timeout_ms)
        timeout_ms = flush_wait_ms;
    if (gateway->logons_delayed > 0) {
        int64_t due_ms = gateway->logon_due_ms - clock_now_ms();
        if (due_ms < 0)
            due_ms = 0;
        if (timeout_ms < 0 || due_ms < timeout_ms)
            timeout_ms = (int)due_ms;
    }
    int ready = poll(gateway->polls, count, timeout_ms);
    for (nfds_t i = GATEWAY_POLLS_FIXED; ready > 0 && i < count; i++) {
        struct gateway_session *session = &gateway->sessions[slots[i]];
        if (gateway->polls[i].revents & (POLLIN | POLLHUP | POLLERR))
            session_read(gateway, session);
        if (session->fd >= 0 && (gateway->polls[i].revents & POLLOUT))
            session_write(gateway, session);
    }
    if (ready > 0 && (gateway->polls[0].revents & POLLIN))
        gateway_accept(gateway, gateway->listen_fd, false);
    if (ready > 0 && (gateway->polls[4].revents & POLLIN))
        gateway_accept(gateway, gateway->fix_listen_fd, true);
    gateway_logons_answered(gateway);
    gateway_logons_due(gateway);
    /* Group commit: what came in goes out now if no publish is under way. */
    gateway_publish_check(gateway);
    gateway_flush(gateway);
    int rv = gateway_apply(gateway, errmsg, errmsg_size);
    if (rv != 0)
        return rv;
    gateway_queries_due(gateway);
    gateway_deadlines(gateway, gateway_may_read(gateway));
    /* What this turn queued: a session given output is in the hot list. */
    for (uint32_t k = 0; k < gateway->hot_count; k++) {
        struct gateway_session *session = &gateway->sessions[gateway->hot[k]];
        if (session->fd >= 0 && session->out_size > 0)
            session_write(gateway, session);
    }
    return 0;
}

void gateway_set_read_only(struct gateway *gateway, const char *reason)
{
    assert(gateway != NULL);
    snprintf(gateway->read_only, sizeof gateway->read_only, "%s", reason != NULL ? reason : "");
}

void gateway_pause_at(struct gateway *gateway, uint64_t seq)
{
    gateway->pause_at = seq;
}

void gateway_close(struct gateway *gateway)
{
    if (gateway == NULL)
        return;
    for (uint32_t i = 0; i < gateway->session_end; i++) {
        struct gateway_session *session = &gateway->sessions[i];
        if (session->fd < 0)
            continue;
        session_error(gateway, session, FRAME_ERROR_SHUTTING_DOWN, "the node is stopping");
        session_write(gateway, session); /* best effort: it is closing either way */
        session_close(gateway, session);
    }
    publisher_close(gateway->publisher); /* after a publish under way ends */
    logon_check_close(gateway->logon_check);
    if (gateway->listen_fd >= 0)
        close(gateway->listen_fd);
    fix_gateway_close(gateway);
    gateway_free(gateway);
}

void gateway_set_publish(struct gateway *gateway, publisher_publish_fn fn, void *context)
{
    publisher_set_publish(gateway->publisher, fn, context);
}

/* ---- Hand-over to another process (gateway.h). ---- */

void gateway_drain(struct gateway *gateway, bool drain)
{
    gateway->draining = drain;
    if (!drain) {
        gateway->input_held = true; /* what was read meanwhile is processed now */
        for (uint32_t i = 0; i < gateway->session_end; i++)
            if (gateway->sessions[i].fd >= 0 && gateway->sessions[i].in_size > 0)
                gateway_hot_add(gateway, &gateway->sessions[i]);
        return;
    }
    /* Answers that would wait go now: failed logons held back by the
     * throttle, and queries for a sequence not applied yet (answered with
     * the state there is, as at their deadline). */
    for (uint32_t i = 0; i < gateway->session_end; i++) {
        struct gateway_session *session = &gateway->sessions[i];
        if (session->fd < 0)
            continue;
        if (session->state == SESSION_CHECKING && session->logon_answer_ms != 0) {
            session->logon_answer_ms = 0;
            session_error(gateway, session, FRAME_ERROR_LOGON_FAILED, "logon failed");
        }
        if (session->query_waiting) {
            session->query_waiting = false;
            if (session->state == SESSION_READY)
                gateway_query_reply(gateway, session, &session->query);
        }
    }
    gateway->logons_delayed = 0;
}

bool gateway_drained(const struct gateway *gateway)
{
    if (!gateway->draining || gateway->pending_count > 0 ||
        publisher_in_flight(gateway->publisher) > 0 ||
        gateway->replica->applied_seq < gateway->stored_seq_max)
        return false;
    for (uint32_t i = 0; i < gateway->session_end; i++)
        if (gateway->sessions[i].fd >= 0 && gateway->sessions[i].state == SESSION_CHECKING)
            return false;
    return true;
}

int gateway_listen_fd(const struct gateway *gateway)
{
    return gateway->listen_fd;
}

int gateway_listen_take(struct gateway *gateway, int fd, char *errmsg, size_t errmsg_size)
{
    assert(gateway->listen_fd < 0);
    struct gateway_config config = {.listen_fd_inherited = fd};
    return gateway_listen(gateway, &config, errmsg, errmsg_size);
}

static uint8_t session_export_state(uint8_t state)
{
    switch (state) {
    case SESSION_HELLO: return GATEWAY_EXPORT_HELLO;
    case SESSION_LOGON: return GATEWAY_EXPORT_LOGON;
    case SESSION_READY: return GATEWAY_EXPORT_READY;
    default: return GATEWAY_EXPORT_CLOSING;
    }
}

uint32_t gateway_export(const struct gateway *gateway, uint32_t from,
                        struct gateway_session_export *out)
{
    assert(gateway_drained(gateway));
    for (uint32_t i = from; i < gateway->session_end; i++) {
        const struct gateway_session *session = &gateway->sessions[i];
        if (session->fd < 0 || session->fix != NULL) /* FIX sessions log on again */
            continue;
        *out = (struct gateway_session_export){
            .fd = session->fd,
            .state = session_export_state(session->state),
            .version = session->version,
            .address = session->address,
            .account_id = session->account_id,
            .client_id = session->client_id,
            .in_size = (uint32_t)session->in_size,
            .out_size = (uint32_t)session->out_size,
            .in = session->in,
            .out = session->out,
        };
        return i + 1;
    }
    return UINT32_MAX;
}

void gateway_detach(struct gateway *gateway)
{
    for (uint32_t i = 0; i < gateway->session_end; i++) {
        struct gateway_session *session = &gateway->sessions[i];
        if (session->fd < 0)
            continue;
        if (session->fix != NULL) { /* not handed over: told to log on again, then closed */
            fix_logout(gateway, session, "this node is replaced by a new process: log on again");
            session_write(gateway, session);
            session_close(gateway, session);
            continue;
        }
        session->out_size = 0; /* the new process sends it */
        session_close(gateway, session);
    }
    gateway->session_end = 0;
    gateway->hot_count = 0;
    memset(gateway->hot_listed, 0, gateway->connections_max);
    gateway->cold_count = 0;
}

int gateway_adopt(struct gateway *gateway, const struct gateway_session_export *export,
                  char *errmsg, size_t errmsg_size)
{
    if (export->in_size > FRAME_BUFFER_SIZE || export->out_size > GATEWAY_OUTBOX_MAX ||
        export->state > GATEWAY_EXPORT_CLOSING) {
        snprintf(errmsg, errmsg_size, "a session handed over does not fit: %u bytes in, %u "
                 "out, state %u", export->in_size, export->out_size, export->state);
        return ERR_DECODE_MALFORMED;
    }
    if (gateway->stats.connections_open >= gateway->connections_max) {
        snprintf(errmsg, errmsg_size, "more sessions handed over than --max-connections (%u)",
                 gateway->connections_max);
        return ERR_USAGE;
    }
    if (gateway_fd_setup(export->fd) != 0) {
        snprintf(errmsg, errmsg_size, "a session's socket handed over: %s", strerror(errno));
        return ERR_IO;
    }
    uint32_t slot = 0;
    while (slot < gateway->connections_max && gateway->sessions[slot].fd >= 0)
        slot++;
    assert(slot < gateway->connections_max);
    uint8_t *out = gateway->outboxes_kept > 0 ? gateway->outboxes[--gateway->outboxes_kept]
                                              : malloc(GATEWAY_OUTBOX_MAX);
    if (out == NULL) {
        snprintf(errmsg, errmsg_size, "no memory for a session handed over");
        return ERR_NOMEM;
    }
    gateway_session_start(gateway, slot, export->fd, out, export->address);
    struct gateway_session *session = &gateway->sessions[slot];
    static const uint8_t states[] = {SESSION_HELLO, SESSION_LOGON, SESSION_READY,
                                     SESSION_CLOSING};
    session->state = states[export->state];
    session->version = export->version;
    session->account_id = export->account_id;
    session->client_id = export->client_id;
    memcpy(session->in, export->in, export->in_size);
    session->in_size = export->in_size;
    memcpy(session->out, export->out, export->out_size);
    session->out_size = export->out_size;
    if (session->state == SESSION_READY) {
        uint32_t at = client_find_at(gateway, session->account_id, session->client_id);
        if (at != INDEX_NONE) { /* it logged on here meanwhile: that one stays */
            session->state = SESSION_CLOSING;
            session->out_size = 0;
        } else {
            index_table_insert(&gateway->by_client,
                               hash_pair64(session->account_id, session->client_id), slot);
        }
    }
    gateway_hot_add(gateway, session);
    gateway->input_held = true; /* its unread frames are processed next turn */
    return 0;
}
