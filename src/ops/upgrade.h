/* `nodown upgrade`: replaces running nodes by a new binary, one at a
 * time, without their clients waiting (docs/upgrades.md).
 *
 * Each node is replaced in place: `NEW serve --take-over --data DIR`
 * starts beside it, catches up and takes its sockets and sessions
 * (node/takeover.h); the old process then stops (or, on the embedded
 * default, stays as its nats-server's keeper). The hand-over itself
 * compares the two states' digests at the sequence it happens at; on a
 * cluster, `nodown verify` then asks every node for its digest at one
 * sequence before the next node is replaced. Any failure stops the
 * upgrade with the old process of that node serving on.
 *
 * A node of a build before hand-over (release 0.1.0) has no hand-over
 * socket: it is stopped and the new binary started with its command line,
 * environment and output (its clients fail over to another node or wait);
 * if the new one does not serve, the old build is started again. */
#ifndef NODOWN_OPS_UPGRADE_H
#define NODOWN_OPS_UPGRADE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* How long a new process may take to catch up and take over, by default:
 * it loads a snapshot and applies the stream after it. */
#define UPGRADE_TIMEOUT_MS_DEFAULT 300000

struct upgrade_step {
    char name[64];       /* "node-0", "dr-node", or the data directory */
    char dir[512];
    pid_t old_pid;       /* 0 when not known */
    pid_t pid;           /* the new process */
    uint64_t seq;        /* the stream sequence of the hand-over */
    uint32_t sessions;   /* handed over */
    uint64_t handover_ms; /* from READY to DONE: the clients' wait */
    uint64_t took_ms;    /* from the new process's start to DONE */
    uint64_t verify_ms;  /* the digests compared (a cluster), 0: not asked */
    char digest[40];
    bool restarted;      /* the old build could not hand over: stopped, then started */
    bool ok;
    char error[512];
};

struct upgrade {
    const char *binary;       /* the new build, or NULL: the nodes stay */
    const char *nats_binary;  /* the NATS servers' new binary first, or NULL */
    uint32_t activate;        /* ACTIVATE_LOGIC this version at the end; 0: none */
    const char *house_secret; /* for the activation, as the house */
    char release[64];         /* its release, from `binary version --json` */
    int timeout_ms;           /* per node; 0: UPGRADE_TIMEOUT_MS_DEFAULT */
    bool json;
    struct upgrade_step steps[24];
    uint32_t step_count;
    uint64_t total_ms;
    /* The NATS servers' replacement (ops/nats_upgrade.h), when asked. */
    bool nats_done;
    struct nats_upgrade_report *nats;
    /* The activation: its outcome. */
    bool activate_sent;
    uint16_t activate_result;  /* enum result_code; 0 and activate_seq 0: not sent */
    uint64_t activate_seq;
    uint64_t activate_id;      /* REJECT_LOGIC_NOT_EVERYWHERE: the node that cannot */
    uint64_t activate_ms;
};

/* Checks that binary runs and says its release (into upgrade->release).
 * Returns 0, or -1 with errmsg. */
int upgrade_binary_check(struct upgrade *upgrade, char *errmsg, size_t errmsg_size);

/* Replaces the node serving data_dir on this host (one step). Returns 0,
 * or -1 with step->error: the old node serves on. */
int upgrade_node(struct upgrade *upgrade, const char *name, const char *data_dir,
                 struct upgrade_step *step);

/* The client address of the node serving data_dir (its --listen), as a
 * client's node list. Returns 0, or -1 when no node serves it. */
int upgrade_node_listen(const char *data_dir, char *nodes, size_t size);

/* Publishes ACTIVATE_LOGIC upgrade->activate as the house through nodes
 * (a client's node list). The gateway publishes it only when every node
 * of the stream runs that version (its gate), else the outcome names the
 * first node that cannot. Returns 0 when applied, -1 otherwise (said). */
int upgrade_activate(struct upgrade *upgrade, const char *nodes);

/* The local cluster in dir: its NATS servers first (nats_binary), then
 * every node, then its DR site's node, with `nodown verify` over all of
 * them after each node, then the activation. Returns the exit code. */
int upgrade_cluster(struct upgrade *upgrade, const char *dir);

/* Prints the steps: a line each, or one JSON object with json. */
void upgrade_report(const struct upgrade *upgrade);

#endif
