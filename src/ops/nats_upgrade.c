/* Replacing a local cluster's nats-servers one at a time (nats_upgrade.h
 * says the steps). What it watches:
 *
 *   - the streams' leaders and copies: JetStream's STREAM.INFO, which the
 *     stream's leader answers (cluster.leader, cluster.replicas[] with
 *     current, offline and lag), asked over a NATS connection of its own
 *     to the servers other than the one being replaced. The connection is
 *     made with libnats directly, not journal_open: it must reach servers
 *     of any version (the drill starts on Debian 12's 2.9.10, which the
 *     journal refuses) and never makes a stream;
 *   - the JetStream meta group's leader and each server's health: the
 *     monitoring port (/jsz, /healthz).
 *
 * Why the order (a) step-down, (b) lame duck: a stream leader that stops
 * makes its followers wait for its election timeout before they elect
 * another; one that steps down hands over at once, and the new leader is
 * found within a few hundred ms (docs/cluster.md, "Planned moves"). The
 * lame duck then closes the server's client connections only after its
 * grace period, while every stream is already led elsewhere: a node whose
 * connection closes reconnects to another server and resends its
 * unacknowledged publish with the same message id.
 */
#define _DEFAULT_SOURCE /* realpath */
#include "ops/nats_upgrade.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <nats/nats.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/result.h"
#include "gateway/admin_http.h"
#include "lib/clock.h"
#include "replica/journal.h"
#include "replica/nats_supervisor.h"
#include "replica/nats_version.h"

/* The streams whose leaders are moved off a server before it stops:
 * nodown's stream and the node registry's bucket (node_registry.c); a
 * stream that does not exist (a release without the registry) is
 * skipped. The DR site's mirror lives on the DR site's one server. */
static const char *const nats_upgrade_streams[] = {JOURNAL_STREAM, "KV_NODOWN_nodes"};
#define NATS_UPGRADE_STREAMS 2u
#define NATS_UPGRADE_API_MS 2000     /* one JetStream API request */
#define NATS_UPGRADE_POLL_MS 5       /* between two looks at a leader */
#define NATS_UPGRADE_STOP_MS 10000   /* SIGTERM, then SIGKILL */
#define NATS_UPGRADE_HEALTHY_MS 10000 /* the cluster must be healthy within, at first */
#define NATS_UPGRADE_REPLY_SIZE 8192u

struct nats_upgrade_stream {
    bool exists;
    char leader[64];
    uint32_t replica_count;     /* the followers, as the leader sees them */
    struct {
        char name[64];
        bool current;
        bool offline;
        uint64_t lag;
    } replicas[JOURNAL_PEERS_MAX];
};

struct nats_upgrade {
    char dir[PATH_MAX];
    struct cluster_layout layout;
    natsConnection *connection; /* to every server but the one replaced */
    char *errmsg;
    size_t errmsg_size;
};

/* ---- The servers. ---- */

static const struct cluster_process *nats_upgrade_server(const struct nats_upgrade *upgrade,
                                                         uint32_t index)
{
    return index == CLUSTER_NATS_DR ? &upgrade->layout.dr_nats : &upgrade->layout.nats[index];
}

static void nats_upgrade_name(uint32_t index, char *name, size_t size)
{
    if (index == CLUSTER_NATS_DR)
        snprintf(name, size, "dr-nats");
    else
        snprintf(name, size, "nats-%u", index);
}

/* The binary server index runs now: its process's, else the one recorded,
 * else the default. */
static void nats_upgrade_binary_of(const struct nats_upgrade *upgrade, uint32_t index,
                                   char *binary, size_t size)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/exe", (int)nats_upgrade_server(upgrade, index)->pid);
    ssize_t length = readlink(path, binary, size - 1);
    if (length > 0 && strstr(binary, " (deleted)") == NULL) {
        binary[length] = '\0';
        return;
    }
    const char *recorded = index == CLUSTER_NATS_DR ? upgrade->layout.dr_nats_binary
                                                    : upgrade->layout.nats_binary[index];
    snprintf(binary, size, "%s", recorded[0] ? recorded : nats_supervisor_server_path());
}

/* Whether server index runs and its monitoring port says it is healthy
 * (/healthz: JetStream on, caught up with the meta group and its own
 * copies, as the server itself sees it). */
static bool nats_upgrade_server_healthy(const struct nats_upgrade *upgrade, uint32_t index)
{
    const struct cluster_process *server = nats_upgrade_server(upgrade, index);
    char body[512] = "";
    return cluster_process_running(upgrade->dir, server->pid) &&
           admin_http_get(server->ports[2], "/healthz", NULL, body, sizeof body) == 0 &&
           strstr(body, "\"ok\"") != NULL;
}

/* The JetStream meta group's leader as server `from` sees it ("" if none
 * or it does not answer). */
static void nats_upgrade_meta_leader(const struct nats_upgrade *upgrade, uint32_t from,
                                     char *leader, size_t size)
{
    char body[4096] = "";
    leader[0] = '\0';
    if (admin_http_get(upgrade->layout.nats[from].ports[2], "/jsz", NULL, body,
                       sizeof body) == 0)
        admin_json_field(body, "leader", leader, size); /* meta_cluster's comes first */
}

/* ---- JetStream requests. ---- */

static int nats_upgrade_connect(struct nats_upgrade *upgrade, uint32_t except)
{
    char urls[CLUSTER_NATS_MAX][40];
    const char *servers[CLUSTER_NATS_MAX];
    int count = 0;
    for (uint32_t i = 0; i < upgrade->layout.nats_count; i++) {
        if (i == except && upgrade->layout.nats_count > 1)
            continue;
        snprintf(urls[count], sizeof urls[count], "nats://127.0.0.1:%u",
                 upgrade->layout.nats[i].ports[0]);
        servers[count] = urls[count];
        count++;
    }
    natsOptions *options = NULL;
    natsStatus s = natsOptions_Create(&options);
    if (s == NATS_OK)
        s = natsOptions_SetServers(options, servers, count);
    if (s == NATS_OK)
        s = natsOptions_SetName(options, "nodown nats-upgrade");
    if (s == NATS_OK)
        s = natsOptions_SetMaxReconnect(options, -1);
    if (s == NATS_OK)
        s = natsOptions_SetReconnectWait(options, 50);
    if (s == NATS_OK)
        s = natsOptions_SetTimeout(options, NATS_UPGRADE_API_MS);
    if (s == NATS_OK)
        s = natsConnection_Connect(&upgrade->connection, options);
    natsOptions_Destroy(options);
    if (s != NATS_OK) {
        snprintf(upgrade->errmsg, upgrade->errmsg_size, "cannot connect to the other "
                 "nats-servers: %s", natsStatus_GetText(s));
        upgrade->connection = NULL;
        return ERR_IO;
    }
    return 0;
}

static void nats_upgrade_disconnect(struct nats_upgrade *upgrade)
{
    natsConnection_Destroy(upgrade->connection);
    upgrade->connection = NULL;
}

/* A JetStream API request; reply holds the answer (NUL-terminated). */
static int nats_upgrade_request(struct nats_upgrade *upgrade, const char *subject,
                                char *reply, size_t size)
{
    natsMsg *message = NULL;
    natsStatus s = natsConnection_RequestString(&message, upgrade->connection, subject, "",
                                                NATS_UPGRADE_API_MS);
    if (s != NATS_OK) {
        snprintf(reply, size, "%s", natsStatus_GetText(s));
        return ERR_IO;
    }
    snprintf(reply, size, "%.*s", natsMsg_GetDataLength(message), natsMsg_GetData(message));
    natsMsg_Destroy(message);
    return 0;
}

/* The string value of "key" at *cursor, moving past it; false if none
 * before end. */
static bool nats_upgrade_json_string(const char **cursor, const char *end, const char *key,
                                     char *out, size_t size)
{
    char pattern[48];
    snprintf(pattern, sizeof pattern, "\"%s\":\"", key);
    const char *at = strstr(*cursor, pattern);
    if (at == NULL || at >= end)
        return false;
    at += strlen(pattern);
    size_t length = strcspn(at, "\"");
    snprintf(out, size, "%.*s", (int)length, at);
    *cursor = at + length;
    return true;
}

/* The followers of a STREAM.INFO answer's "replicas":[{...},...]. */
static void nats_upgrade_replicas(const char *json, struct nats_upgrade_stream *stream)
{
    const char *at = strstr(json, "\"replicas\":[");
    const char *end = at != NULL ? strchr(at, ']') : NULL;
    while (at != NULL && end != NULL && stream->replica_count < JOURNAL_PEERS_MAX) {
        uint32_t i = stream->replica_count;
        if (!nats_upgrade_json_string(&at, end, "name", stream->replicas[i].name,
                                      sizeof stream->replicas[i].name))
            break;
        const char *next = strstr(at, "\"name\":\"");
        const char *object_end = next != NULL && next < end ? next : end;
        const char *current = strstr(at, "\"current\":true");
        const char *offline = strstr(at, "\"offline\":true");
        const char *lag = strstr(at, "\"lag\":");
        stream->replicas[i].current = current != NULL && current < object_end;
        stream->replicas[i].offline = offline != NULL && offline < object_end;
        stream->replicas[i].lag = lag != NULL && lag < object_end ? strtoull(lag + 6, NULL, 10)
                                                                   : 0;
        stream->replica_count++;
    }
}

/* STREAM.INFO of name: 0 (exists false when there is no such stream), or
 * ERR_IO when nobody answers. */
static int nats_upgrade_stream_info(struct nats_upgrade *upgrade, const char *name,
                                    struct nats_upgrade_stream *stream)
{
    static char reply[NATS_UPGRADE_REPLY_SIZE];
    char subject[128];
    memset(stream, 0, sizeof *stream);
    snprintf(subject, sizeof subject, "$JS.API.STREAM.INFO.%s", name);
    if (nats_upgrade_request(upgrade, subject, reply, sizeof reply) != 0)
        return ERR_IO;
    if (strstr(reply, "\"error\"") != NULL)
        return strstr(reply, "10059") != NULL ? 0 : ERR_IO; /* 10059: stream not found */
    stream->exists = true;
    const char *cluster = strstr(reply, "\"cluster\":{");
    const char *end = reply + strlen(reply);
    if (cluster != NULL)
        nats_upgrade_json_string(&cluster, end, "leader", stream->leader, sizeof stream->leader);
    if (cluster != NULL)
        nats_upgrade_replicas(cluster, stream);
    return 0;
}

/* Whether server `name` holds a current copy of the stream: it leads it,
 * or the leader sees it current and online. */
static bool nats_upgrade_copy_current(const struct nats_upgrade_stream *stream,
                                      const char *name, uint64_t *lag)
{
    *lag = 0;
    if (strcmp(stream->leader, name) == 0)
        return true;
    for (uint32_t i = 0; i < stream->replica_count; i++) {
        if (strcmp(stream->replicas[i].name, name) == 0) {
            *lag = stream->replicas[i].lag;
            return stream->replicas[i].current && !stream->replicas[i].offline;
        }
    }
    return stream->leader[0] != '\0'; /* no copy there (R1, or fewer copies than servers) */
}

/* Whether server index is back: healthy, and every stream's copy on it
 * current. why says what is missing. */
static bool nats_upgrade_back(struct nats_upgrade *upgrade, uint32_t index, char *why,
                              size_t size)
{
    char name[16];
    nats_upgrade_name(index, name, sizeof name);
    if (!nats_upgrade_server_healthy(upgrade, index)) {
        snprintf(why, size, "%s: /healthz not ok", name);
        return false;
    }
    for (uint32_t s = 0; index != CLUSTER_NATS_DR && s < NATS_UPGRADE_STREAMS; s++) {
        struct nats_upgrade_stream stream;
        uint64_t lag = 0;
        if (nats_upgrade_stream_info(upgrade, nats_upgrade_streams[s], &stream) != 0) {
            snprintf(why, size, "stream %s: no answer", nats_upgrade_streams[s]);
            return false;
        }
        if (stream.exists && !nats_upgrade_copy_current(&stream, name, &lag)) {
            snprintf(why, size, "stream %s: the copy on %s is not current (lag %" PRIu64 ")",
                     nats_upgrade_streams[s], name, lag);
            return false;
        }
    }
    return true;
}

/* ---- The steps. ---- */

/* (a) Moves stream's leader off server `name`; *ms is how long it took,
 * -1 when it did not lead it. */
static int nats_upgrade_step_down(struct nats_upgrade *upgrade, const char *stream_name,
                                  const char *name, int64_t *ms, char *after, size_t size)
{
    struct nats_upgrade_stream stream;
    *ms = -1;
    if (nats_upgrade_stream_info(upgrade, stream_name, &stream) != 0 || !stream.exists ||
        strcmp(stream.leader, name) != 0) {
        snprintf(after, size, "%s", stream.leader);
        return 0;
    }
    int64_t start_ms = clock_now_ms();
    char subject[128], reply[512];
    snprintf(subject, sizeof subject, "$JS.API.STREAM.LEADER.STEPDOWN.%s", stream_name);
    for (int tries = 0; tries < NATS_UPGRADE_STEP_DOWN_TRIES; tries++) {
        if (nats_upgrade_request(upgrade, subject, reply, sizeof reply) != 0 ||
            strstr(reply, "\"success\":true") == NULL) {
            /* 503, "JetStream system temporarily unavailable": the meta
             * group is between leaders (seen by `nodown drill` just after
             * a server of a 2.9.10 cluster came back on 2.10.27): asked
             * again, for NATS_UPGRADE_LEADER_MS at most. */
            if (strstr(reply, "\"code\":503") != NULL &&
                clock_now_ms() - start_ms < NATS_UPGRADE_LEADER_MS) {
                clock_sleep_ms(250);
                tries--;
                continue;
            }
            snprintf(upgrade->errmsg, upgrade->errmsg_size, "stream %s: the step-down of its "
                     "leader %s was refused: %.200s", stream_name, name, reply);
            return ERR_IO;
        }
        int64_t deadline_ms = clock_now_ms() + NATS_UPGRADE_LEADER_MS;
        do {
            clock_sleep_ms(NATS_UPGRADE_POLL_MS);
            if (nats_upgrade_stream_info(upgrade, stream_name, &stream) != 0)
                stream.leader[0] = '\0';
        } while ((stream.leader[0] == '\0' || strcmp(stream.leader, name) == 0) &&
                 clock_now_ms() < deadline_ms);
        if (stream.leader[0] != '\0' && strcmp(stream.leader, name) != 0) {
            *ms = clock_now_ms() - start_ms;
            snprintf(after, size, "%s", stream.leader);
            fprintf(stderr, "nats-upgrade: %s: stream %s leader %s -> %s in %" PRId64 " ms\n",
                    name, stream_name, name, stream.leader, *ms);
            return 0;
        }
    }
    snprintf(upgrade->errmsg, upgrade->errmsg_size, "stream %s: %s still leads it after %d "
             "step-downs", stream_name, name, NATS_UPGRADE_STEP_DOWN_TRIES);
    return ERR_IO;
}

/* Waits until pid has exited, up to timeout_ms; true if it has. */
static bool nats_upgrade_wait_exit(const struct nats_upgrade *upgrade, pid_t pid,
                                   int64_t timeout_ms)
{
    int64_t deadline_ms = clock_now_ms() + timeout_ms;
    while (cluster_process_running(upgrade->dir, pid) && clock_now_ms() < deadline_ms) {
        waitpid(pid, NULL, WNOHANG); /* reaped if it is a child of ours */
        clock_sleep_ms(10);
    }
    return !cluster_process_running(upgrade->dir, pid);
}

/* SIGTERM, then SIGKILL: what `cluster down` does. Returns 1 or 2 (the
 * signal that ended it), 0 if it was not running. */
static int nats_upgrade_stop(const struct nats_upgrade *upgrade, pid_t pid)
{
    if (!cluster_process_running(upgrade->dir, pid))
        return 0;
    kill(pid, SIGTERM);
    if (nats_upgrade_wait_exit(upgrade, pid, NATS_UPGRADE_STOP_MS))
        return 1;
    kill(pid, SIGKILL);
    nats_upgrade_wait_exit(upgrade, pid, NATS_UPGRADE_STOP_MS);
    return 2;
}

/* (b) and (c): lame duck, the meta group's leadership seen elsewhere, the
 * exit. */
static void nats_upgrade_lame_duck(struct nats_upgrade *upgrade, uint32_t index,
                                   struct nats_upgrade_step *step)
{
    const struct cluster_process *server = nats_upgrade_server(upgrade, index);
    char leader[64];
    uint32_t other = index == 0 ? 1 : 0;
    bool meta = index != CLUSTER_NATS_DR && upgrade->layout.nats_count > 1;
    if (meta)
        nats_upgrade_meta_leader(upgrade, other, leader, sizeof leader);
    meta = meta && strcmp(leader, step->name) == 0;
    int64_t start_ms = clock_now_ms();
    kill(server->pid, SIGUSR2); /* nats-server --signal ldm=PID */
    fprintf(stderr, "nats-upgrade: %s: lame duck mode (pid %d)%s\n", step->name,
            (int)server->pid, meta ? ", it leads the JetStream meta group" : "");
    while (meta && clock_now_ms() - start_ms < NATS_UPGRADE_LEADER_MS) {
        nats_upgrade_meta_leader(upgrade, other, leader, sizeof leader);
        if (leader[0] != '\0' && strcmp(leader, step->name) != 0) {
            step->meta_move_ms = clock_now_ms() - start_ms;
            fprintf(stderr, "nats-upgrade: %s: JetStream meta leader %s -> %s in %" PRId64
                    " ms\n", step->name, step->name, leader, step->meta_move_ms);
            break;
        }
        clock_sleep_ms(NATS_UPGRADE_POLL_MS);
    }
    if (!nats_upgrade_wait_exit(upgrade, server->pid,
                                NATS_UPGRADE_EXIT_MS - (clock_now_ms() - start_ms)))
        step->forced = nats_upgrade_stop(upgrade, server->pid);
    step->exit_ms = clock_now_ms() - start_ms;
    fprintf(stderr, "nats-upgrade: %s: exited %" PRId64 " ms after the signal%s\n", step->name,
            step->exit_ms, step->forced == 0 ? "" : step->forced == 1 ? " (SIGTERM needed)"
                                                                      : " (SIGKILL needed)");
}

/* Whether pid, a child of this process, has exited (and is reaped): only
 * waitpid says so for sure, its command line being this process's until
 * it calls execve. */
static bool nats_upgrade_child_exited(pid_t pid)
{
    int status = 0;
    return waitpid(pid, &status, WNOHANG) == pid || (kill(pid, 0) != 0 && errno == ESRCH);
}

/* (d) and (e): server index started on binary, until it is back or
 * NATS_UPGRADE_BACK_MS. Returns 0, or ERR_IO with why. */
static int nats_upgrade_start(struct nats_upgrade *upgrade, uint32_t index, const char *binary,
                              struct nats_upgrade_step *step, char *why, size_t size)
{
    pid_t pid = 0;
    int64_t start_ms = clock_now_ms();
    if (cluster_nats_restart_on(upgrade->dir, index, binary, &pid) != 0 ||
        cluster_layout_load(upgrade->dir, &upgrade->layout) != 0) {
        snprintf(why, size, "cannot start %s or record it in cluster.txt", binary);
        return ERR_IO;
    }
    step->new_pid = pid;
    const struct cluster_process *server = nats_upgrade_server(upgrade, index);
    char url[40], errmsg[256];
    snprintf(url, sizeof url, "nats://127.0.0.1:%u", server->ports[0]);
    int64_t deadline_ms = start_ms + NATS_UPGRADE_BACK_MS;
    while (nats_version_probe(url, 200, step->new_version, sizeof step->new_version, errmsg,
                              sizeof errmsg) != 0) {
        if (nats_upgrade_child_exited(pid) || clock_now_ms() >= deadline_ms) {
            snprintf(why, size, "%s on %s exited or did not listen (see its log)", step->name,
                     binary);
            return ERR_IO;
        }
        clock_sleep_ms(20);
    }
    step->start_ms = clock_now_ms() - start_ms;
    int64_t listening_ms = clock_now_ms();
    while (!nats_upgrade_back(upgrade, index, why, size)) {
        if (nats_upgrade_child_exited(pid) || clock_now_ms() >= deadline_ms)
            return ERR_IO;
        clock_sleep_ms(20);
    }
    step->current_ms = clock_now_ms() - listening_ms;
    fprintf(stderr, "nats-upgrade: %s: %s (pid %d) listening in %" PRId64 " ms, healthy and "
            "current %" PRId64 " ms later\n", step->name, step->new_version, (int)pid,
            step->start_ms, step->current_ms);
    return 0;
}

static int64_t nats_upgrade_unix_ms(void)
{
    struct timeval now;
    gettimeofday(&now, NULL);
    return (int64_t)now.tv_sec * 1000 + now.tv_usec / 1000;
}

/* One server: (a) to (e); on a failure to come back, the old binary
 * again. */
static int nats_upgrade_one(struct nats_upgrade *upgrade, uint32_t index, const char *binary,
                            struct nats_upgrade_report *report)
{
    struct nats_upgrade_step *step = &report->steps[report->step_count++];
    *step = (struct nats_upgrade_step){.step_down_ms = -1, .kv_step_down_ms = -1,
                                       .meta_move_ms = -1, .old_pid = 0};
    nats_upgrade_name(index, step->name, sizeof step->name);
    step->started_unix_ms = nats_upgrade_unix_ms();
    int64_t start_ms = clock_now_ms();
    const struct cluster_process *server = nats_upgrade_server(upgrade, index);
    step->old_pid = server->pid;
    char url[40], errmsg[256], old_binary[CLUSTER_PATH_MAX], why[256] = "";
    snprintf(url, sizeof url, "nats://127.0.0.1:%u", server->ports[0]);
    nats_version_probe(url, 1000, step->old_version, sizeof step->old_version, errmsg,
                       sizeof errmsg);
    nats_upgrade_binary_of(upgrade, index, old_binary, sizeof old_binary);
    int rv = nats_upgrade_connect(upgrade, index);
    for (uint32_t s = 0; rv == 0 && index != CLUSTER_NATS_DR && s < NATS_UPGRADE_STREAMS; s++)
        rv = nats_upgrade_step_down(upgrade, nats_upgrade_streams[s], step->name,
                                    s == 0 ? &step->step_down_ms : &step->kv_step_down_ms,
                                    step->stream_leader_after, sizeof step->stream_leader_after);
    if (rv != 0) {
        nats_upgrade_disconnect(upgrade);
        return rv; /* nothing stopped yet */
    }
    nats_upgrade_lame_duck(upgrade, index, step);
    rv = nats_upgrade_start(upgrade, index, binary, step, why, sizeof why);
    if (rv != 0) {
        fprintf(stderr, "nats-upgrade: %s: not back on %s: %s; back to %s\n", step->name,
                binary, why, old_binary);
        nats_upgrade_stop(upgrade, nats_upgrade_server(upgrade, index)->pid);
        report->rolled_back = 1;
        char old_why[256] = "";
        int old_rv = nats_upgrade_start(upgrade, index, old_binary, step, old_why,
                                        sizeof old_why);
        snprintf(upgrade->errmsg, upgrade->errmsg_size, "%s did not come back on %s (%s); "
                 "restarted on %s: %s; the upgrade stops here", step->name, binary, why,
                 old_binary, old_rv == 0 ? "back and current" : old_why);
    }
    nats_upgrade_disconnect(upgrade);
    step->total_ms = clock_now_ms() - start_ms;
    step->ended_unix_ms = nats_upgrade_unix_ms();
    return rv;
}

/* Before anything: every server healthy, every stream led, every copy
 * current, within NATS_UPGRADE_HEALTHY_MS (a cluster just started says
 * so a moment after `cluster up`). */
static int nats_upgrade_check_healthy(struct nats_upgrade *upgrade)
{
    char why[256] = "";
    bool connected = nats_upgrade_connect(upgrade, UINT32_MAX) == 0, healthy = false;
    int64_t deadline_ms = clock_now_ms() + NATS_UPGRADE_HEALTHY_MS;
    while (connected && !healthy && clock_now_ms() < deadline_ms) {
        healthy = true;
        for (uint32_t i = 0; healthy && i < upgrade->layout.nats_count; i++)
            healthy = nats_upgrade_back(upgrade, i, why, sizeof why);
        if (healthy && upgrade->layout.dr)
            healthy = nats_upgrade_back(upgrade, CLUSTER_NATS_DR, why, sizeof why);
        if (!healthy)
            clock_sleep_ms(100);
    }
    nats_upgrade_disconnect(upgrade);
    if (!healthy)
        snprintf(upgrade->errmsg, upgrade->errmsg_size, "the cluster is not healthy, nothing "
                 "replaced: %s", why[0] ? why : "the servers do not answer");
    return healthy ? 0 : ERR_REFUSED;
}

int nats_upgrade_run(const char *cluster_dir, const char *binary,
                     struct nats_upgrade_report *report, char *errmsg, size_t errmsg_size)
{
    assert(cluster_dir != NULL && binary != NULL && report != NULL);
    static struct nats_upgrade upgrade;
    memset(&upgrade, 0, sizeof upgrade);
    memset(report, 0, sizeof *report);
    upgrade.errmsg = errmsg;
    upgrade.errmsg_size = errmsg_size;
    int64_t start_ms = clock_now_ms();
    if (realpath(cluster_dir, upgrade.dir) == NULL ||
        cluster_layout_load(upgrade.dir, &upgrade.layout) != 0) {
        snprintf(errmsg, errmsg_size, "no cluster in %s (cluster.txt)", cluster_dir);
        return ERR_USAGE;
    }
    /* The binary must run and be one nodown runs on: asked before anything. */
    if (realpath(binary, report->binary) == NULL ||
        nats_supervisor_version_check(report->binary, errmsg, errmsg_size) != 0) {
        if (errno == ENOENT)
            snprintf(errmsg, errmsg_size, "%s: no such file", binary);
        return ERR_USAGE;
    }
    int rv = nats_upgrade_check_healthy(&upgrade);
    fprintf(stderr, "nats-upgrade: %u servers%s to %s\n", upgrade.layout.nats_count,
            upgrade.layout.dr ? " and the DR site's" : "", report->binary);
    for (uint32_t i = 0; rv == 0 && i < upgrade.layout.nats_count; i++)
        rv = nats_upgrade_one(&upgrade, i, report->binary, report);
    if (rv == 0 && upgrade.layout.dr)
        rv = nats_upgrade_one(&upgrade, CLUSTER_NATS_DR, report->binary, report);
    if (report->step_count > 0)
        snprintf(report->version, sizeof report->version, "%s",
                 report->steps[report->step_count - 1].new_version);
    report->total_ms = clock_now_ms() - start_ms;
    return rv;
}

void nats_upgrade_report_json(const struct nats_upgrade_report *report, FILE *out)
{
    fprintf(out, "{\"binary\":\"%s\",\"version\":\"%s\",\"total_ms\":%" PRId64
            ",\"rolled_back\":%s,\"servers\":[", report->binary, report->version,
            report->total_ms, report->rolled_back ? "true" : "false");
    for (uint32_t i = 0; i < report->step_count; i++) {
        const struct nats_upgrade_step *s = &report->steps[i];
        fprintf(out, "%s{\"name\":\"%s\",\"old_pid\":%d,\"new_pid\":%d,\"old_version\":\"%s\","
                "\"new_version\":\"%s\",\"step_down_ms\":%" PRId64 ",\"kv_step_down_ms\":%"
                PRId64 ",\"stream_leader_after\":\"%s\",\"meta_move_ms\":%" PRId64
                ",\"exit_ms\":%" PRId64 ",\"forced\":%d,\"start_ms\":%" PRId64
                ",\"current_ms\":%" PRId64 ",\"total_ms\":%" PRId64 ",\"started_unix_ms\":%"
                PRId64 ",\"ended_unix_ms\":%" PRId64 "}", i > 0 ? "," : "", s->name,
                (int)s->old_pid, (int)s->new_pid, s->old_version, s->new_version,
                s->step_down_ms, s->kv_step_down_ms, s->stream_leader_after, s->meta_move_ms,
                s->exit_ms, s->forced, s->start_ms, s->current_ms, s->total_ms,
                s->started_unix_ms, s->ended_unix_ms);
    }
    fprintf(out, "]}\n");
}
