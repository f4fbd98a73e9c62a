/* The embedded default's NATS server: one nats-server child process, with
 * JetStream, bound to loopback, its store inside nodown's data directory
 * (docs/journal.md). `nodown serve` without --nats starts one, polls it
 * from its loop and stops it on shutdown; with --nats it never uses this.
 *
 *   (none) --nats_supervisor_start--> RUNNING --nats_supervisor_stop--> STOPPED
 *                                      |    ^
 *          child exits (kill -9, crash)|    | nats_supervisor_poll: report,
 *                                      v    | restart with the same config
 *                                     DEAD -+ and store, wait until up
 *
 * Files, all under DIR/nats/:
 *   nats.conf    written at each start: listen 127.0.0.1:<port>, a server
 *                name unique to this start, JetStream with store_dir
 *                DIR/nats (nats-server keeps its files in
 *                DIR/nats/jetstream) and sync_interval (always, by
 *                default), no monitoring, no cluster
 *   nats.log     the child's stdout and stderr, appended
 *   nats.pid     the child's pid while it runs
 *
 * The supervisor never signals any process but the child it forked (by
 * the pid fork returned, and only while it has not reaped it). The child
 * asks the kernel for SIGTERM when the thread that forked it dies
 * (PR_SET_PDEATHSIG), so a node killed with -9 does not leave a server
 * running on its store; call start and poll from the thread that lives as
 * long as the process (the main thread). A previous server still shutting
 * down on the same store (its pid in nats.pid, its command line naming
 * our nats.conf) is waited for, never killed.
 *
 * The caller must not set SIGCHLD to SIG_IGN (children would be reaped by
 * the kernel, and poll could not see the exit status).
 */
#ifndef NODOWN_REPLICA_NATS_SUPERVISOR_H
#define NODOWN_REPLICA_NATS_SUPERVISOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "replica/durability.h"

/* The nats-server Debian's package installs (2.10.27 from Debian 13, by
 * tools/deps.sh), and the environment variable that names another one
 * instead (for tests, or a server installed elsewhere). */
#define NATS_SUPERVISOR_SERVER_PATH "/usr/sbin/nats-server"
#define NATS_SUPERVISOR_SERVER_ENV "NODOWN_NATS_SERVER"
/* How long `nats-server --version` may take to print its version. */
#define NATS_SUPERVISOR_VERSION_TIMEOUT_MS 5000
/* The longest data directory path accepted (DIR/nats/nats.conf must fit). */
#define NATS_SUPERVISOR_PATH_SIZE 1024u
/* How long start and a restart wait for the server to accept clients. */
#define NATS_SUPERVISOR_READY_TIMEOUT_MS 10000
/* How long stop waits after SIGTERM before it sends SIGKILL. */
#define NATS_SUPERVISOR_STOP_TIMEOUT_MS 10000

struct nats_supervisor {
    pid_t pid;                      /* the running child, or 0 */
    uint16_t port;                  /* the client port on 127.0.0.1 */
    struct durability durability;   /* the jetstream block's sync_interval */
    char url[64];                   /* "nats://127.0.0.1:<port>" */
    char server_name[64];           /* "nodown-<node pid>-<port>", checked in INFO */
    uint32_t restart_count;         /* restarts by nats_supervisor_poll */
    int last_exit_status;           /* waitpid status of the last exit, or -1 */
    char server_path[NATS_SUPERVISOR_PATH_SIZE]; /* the nats-server binary run */
    char dir[NATS_SUPERVISOR_PATH_SIZE];         /* DIR/nats */
    char config_path[NATS_SUPERVISOR_PATH_SIZE]; /* DIR/nats/nats.conf */
    char log_path[NATS_SUPERVISOR_PATH_SIZE];    /* DIR/nats/nats.log */
    char pid_path[NATS_SUPERVISOR_PATH_SIZE];    /* DIR/nats/nats.pid */
    char last_error[256];           /* why the last restart failed, or "" */
    /* Adopted from a node that handed over (nats_supervisor_adopt): the
     * server is the child of a keeper process, reached through
     * keeper_fd; pid is the server's, for reports only. */
    bool adopted;
    int keeper_fd;
};

/* The nats-server to run: $NODOWN_NATS_SERVER when set, else
 * NATS_SUPERVISOR_SERVER_PATH. */
const char *nats_supervisor_server_path(void);

/* Runs `path --version` and refuses a server older than 2.10.0
 * (nats_version_check). Returns 0, or ERR_VERSION (too old, or no
 * version printed) / ERR_IO (cannot run it) with a message that says how
 * to install the right one. */
int nats_supervisor_version_check(const char *path, char *errmsg, size_t errmsg_size);

/* Checks the server's version (nats_supervisor_version_check), writes
 * DIR/nats/nats.conf (its jetstream block's sync_interval from
 * durability: always, or the interval), starts nats-server on it and
 * waits until it accepts clients with JetStream on (at most
 * NATS_SUPERVISOR_READY_TIMEOUT_MS). port 0 picks a free loopback port.
 * Returns 0, or ERR_VERSION / ERR_IO / ERR_USAGE with a message in errmsg;
 * on error no child is left running. */
int nats_supervisor_start(struct nats_supervisor *supervisor, const char *data_dir,
                          uint16_t port, struct durability durability, char *errmsg,
                          size_t errmsg_size);

/* Non-blocking health check. If the child has exited, reports it on stderr,
 * counts it (restart_count, last_exit_status), starts it again on the same
 * config and store and waits until it is up (the only case where poll
 * blocks, at most NATS_SUPERVISOR_READY_TIMEOUT_MS). Returns 0 when the
 * server runs, whether or not it was restarted; ERR_IO if the restart
 * failed, with the reason in last_error and on stderr (the next poll
 * tries again). */
int nats_supervisor_poll(struct nats_supervisor *supervisor);

/* SIGTERM, wait up to NATS_SUPERVISOR_STOP_TIMEOUT_MS, then SIGKILL; reaps
 * the child, removes nats.pid and fsyncs every file of the store
 * (nats-server 2.10, like 2.9, closes its files unsynced on its way out).
 * nats-server exits with status 1 on SIGTERM after a clean shutdown. Safe
 * to call twice, or after a failed start. */
void nats_supervisor_stop(struct nats_supervisor *supervisor);

/* ---- A hand-over of the embedded server (docs/upgrades.md) ----
 *
 * The server is the child of the node that started it and is told to
 * stop when that node dies (PR_SET_PDEATHSIG). A node handing over to a
 * new process on the same data directory keeps it running:
 *
 *   old node: nats_supervisor_keeper_pair() -> gives the node end to the
 *   new process (with the server's URL and pid); once the new process has
 *   taken over, nats_supervisor_keep_exec() turns the old process into
 *   the keeper (an exec of this binary's `nats-keeper`: the server stays
 *   its child, the old node's memory is gone).
 *   new node: nats_supervisor_adopt() -> polls and stops the server
 *   through the keeper: a byte 'S' asks it to stop the server; the keeper
 *   answers by closing its end once the server has exited and the store
 *   is synced. The keeper also stops the server when the new node's end
 *   closes (the node died), and closes its own end when the server exits
 *   (nats_supervisor_poll then starts one of its own). */
int nats_supervisor_keeper_pair(struct nats_supervisor *supervisor, int *node_end,
                                int *keeper_end, char *errmsg, size_t errmsg_size);
/* Execs `self nats-keeper ...` in place of this process; returns only on
 * failure (the server then stops with this process, as before). Close
 * every other descriptor first or mark it close-on-exec. */
void nats_supervisor_keep_exec(const struct nats_supervisor *supervisor, int keeper_end);
/* The body of `nodown nats-keeper PID FD PIDFILE STORE`: returns the
 * process's exit status. */
int nats_supervisor_keeper_main(int argc, char **argv);
int nats_supervisor_adopt(struct nats_supervisor *supervisor, const char *data_dir,
                          const char *url, pid_t pid, int keeper_fd,
                          struct durability durability, char *errmsg, size_t errmsg_size);

#endif
