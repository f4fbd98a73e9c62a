/* Replacing the nats-servers of a local cluster (`nodown cluster
 * upgrade-nats`, and `nodown upgrade --nats-binary`): one server at a time,
 * the others keeping the stream's quorum, so that the nodes' clients go
 * on being answered (docs/upgrades.md, "NATS servers").
 *
 * For each server, in order nats-0, nats-1, ..., then the DR site's:
 *
 *   (a) step-down: for each stream it leads (NODOWN, the node registry's
 *       KV_NODOWN_nodes), $JS.API.STREAM.LEADER.STEPDOWN.<stream>, and wait
 *       until another server leads it
 *   (b) lame duck: SIGUSR2 (`nats-server --signal ldm=PID`): the server
 *       hands its Raft leaderships on (the JetStream meta group's too:
 *       asking for that needs the system account, which the local
 *       cluster's servers have no user of), stops taking clients, and
 *       closes its clients' connections one by one after its grace period
 *       (10 s by default): they reconnect to the others
 *   (c) wait for it to exit, at most NATS_UPGRADE_EXIT_MS, then SIGTERM
 *       and SIGKILL as `cluster down` does
 *   (d) start it again on the new binary, with its configuration and
 *       store (cluster_nats_restart_on records pid and binary)
 *   (e) wait until it is back: its /healthz says ok and, in the stream
 *       leader's STREAM.INFO, its copy of every stream is current
 *
 * It refuses before touching anything when the binary does not run
 * (`BINARY --version`, 2.10 or newer) or the cluster is not healthy (a
 * server down, a stream without a leader or with a copy behind). When a
 * server does not come back on the new binary within NATS_UPGRADE_BACK_MS,
 * it is stopped, started again on the binary it ran before, and the
 * upgrade stops there with an error.
 */
#ifndef NODOWN_OPS_NATS_UPGRADE_H
#define NODOWN_OPS_NATS_UPGRADE_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <sys/types.h>

#include "ops/cluster.h"

/* A lame duck's exit: its grace period (10 s) and up to a second per
 * client closed after it, with room. */
#define NATS_UPGRADE_EXIT_MS 60000
/* A leader that does not move within this (each step-down asked again,
 * up to NATS_UPGRADE_STEP_DOWN_TRIES times). */
#define NATS_UPGRADE_LEADER_MS 10000
#define NATS_UPGRADE_STEP_DOWN_TRIES 5
/* A restarted server must listen, say healthy and hold current copies
 * within this. */
#define NATS_UPGRADE_BACK_MS 60000
/* The servers replaced: the cluster's and the DR site's. */
#define NATS_UPGRADE_SERVERS_MAX (CLUSTER_NATS_MAX + 1u)
#define NATS_UPGRADE_VERSION_SIZE 32u

/* One server's replacement. Durations in ms; -1 for a step not needed
 * (a stream it did not lead). */
struct nats_upgrade_step {
    char name[16];              /* nats-I or dr-nats */
    pid_t old_pid;
    pid_t new_pid;
    char old_version[NATS_UPGRADE_VERSION_SIZE]; /* what it announced (INFO) */
    char new_version[NATS_UPGRADE_VERSION_SIZE];
    int64_t step_down_ms;       /* (a) NODOWN's leader moved off it */
    int64_t kv_step_down_ms;    /* (a) KV_NODOWN_nodes' leader moved off it */
    char stream_leader_after[64]; /* who leads NODOWN after (a) */
    int64_t meta_move_ms;       /* (b) the meta group's leadership, from the signal */
    int64_t exit_ms;            /* (b)-(c) signal to exit */
    int forced;                 /* (c) 0 exited, 1 SIGTERM needed, 2 SIGKILL */
    int64_t start_ms;           /* (d) started to listening */
    int64_t current_ms;         /* (e) listening to healthy and current */
    int64_t total_ms;
    int64_t started_unix_ms;    /* wall clock: the step's window */
    int64_t ended_unix_ms;
};

struct nats_upgrade_report {
    char binary[CLUSTER_PATH_MAX];
    char version[NATS_UPGRADE_VERSION_SIZE]; /* `BINARY --version` */
    uint32_t step_count;        /* servers replaced, or begun (the last failed) */
    struct nats_upgrade_step steps[NATS_UPGRADE_SERVERS_MAX];
    int64_t total_ms;
    int rolled_back;            /* a server was put back on its old binary */
};

/* Replaces every nats-server of the local cluster in cluster_dir with
 * binary, one at a time (above), a progress line per step on stderr.
 * Returns 0 with report filled in; else ERR_USAGE (no cluster, a binary
 * that does not run: nothing touched), ERR_REFUSED (the cluster is not
 * healthy: nothing touched) or ERR_IO (a step failed: the report says how
 * far it went), with a message in errmsg. */
int nats_upgrade_run(const char *cluster_dir, const char *binary,
                     struct nats_upgrade_report *report, char *errmsg, size_t errmsg_size);

/* The report as one JSON object, and a newline. */
void nats_upgrade_report_json(const struct nats_upgrade_report *report, FILE *out);

#endif
