/* The drill's business (`nodown drill`, ops/drill.h): a tree of accounts
 * under the house, a steady load of orders and bets from its members, and
 * its agents and masters changing PT and credit while the cluster is
 * upgraded under them.
 *
 *   house ── super ──┬── master 0 ──┬── agent 0 ── members
 *                    │              └── agent 1 ── members
 *                    └── master 1 ── ...
 *
 * Each member is one client on a thread of its own, paced at a rate, that
 * appends a line per acknowledged command to its log in the format of
 * `e2e_node load` (test/e2e/e2e_node.c), so that `e2e_node check` proves
 * every acknowledged command applied exactly once, and keeps the wall-clock
 * time of every acknowledgement for the gaps the drill reports. One more
 * thread logs on as each master and agent and changes its children's PT
 * and credit every DRILL_CHURN_INTERVAL_MS (a master its agents', an
 * agent its members' credit: docs/authorization.md, class DOWNLINE).
 *
 * Stopping the load stops sending and waits for every command in flight,
 * so that each one sent is acknowledged: a command applied but never
 * acknowledged would be an error to the checker. */
#ifndef NODOWN_OPS_DRILL_LOAD_H
#define NODOWN_OPS_DRILL_LOAD_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nodown/client.h"

/* `e2e_node check` reads at most 16 logs (E2E_LOGS_MAX), one a member. */
#define DRILL_MEMBERS_MAX 16u
#define DRILL_MASTERS_MAX 4u
#define DRILL_AGENTS_MAX 8u
#define DRILL_NODES_TEXT_SIZE (NODOWN_CLIENT_NODES_MAX * 24u)
#define DRILL_PATH_SIZE 640u
/* A change of PT or credit by one of the levels, in turn. */
#define DRILL_CHURN_INTERVAL_MS 400
/* How long stopping waits for the commands in flight. */
#define DRILL_DRAIN_MS 60000
/* How long one set-up command may wait for its outcome, failovers included. */
#define DRILL_COMMAND_WAIT_MS 30000

struct drill_member {
    struct drill_load *load;
    uint32_t index;
    uint32_t account_id;
    uint64_t client_id;
    char nodes[DRILL_NODES_TEXT_SIZE]; /* the node list, starting at its own node */
    char log_path[DRILL_PATH_SIZE];
    pthread_t thread;
    bool started;
    uint64_t rng;
    /* Counted by its thread, read once it has been joined. */
    uint64_t sent;
    uint64_t acknowledged;
    uint64_t orders_ok, orders_rejected;
    uint64_t bets_ok, bets_rejected;
    uint64_t others_ok, others_rejected; /* cancels */
    uint64_t resends; /* acknowledged as resends after a failover */
    uint64_t unfinished; /* still in flight when the drain gave up */
    uint32_t connections;
    uint32_t errors;
    char error[256];
    uint64_t order_ids[8]; /* its last orders, for the cancels */
    uint64_t order_count;
    uint64_t last_stream_seq;
    /* The wall-clock ms of each acknowledgement, in order. */
    int64_t *ack_ms;
    uint64_t ack_capacity;
    atomic_uint_fast64_t ack_count; /* the main thread watches the warm-up */
};

struct drill_churn_stats {
    uint64_t pt_ok, pt_rejected;
    uint64_t credit_ok, credit_rejected;
    uint64_t failed; /* no answer in time */
};

struct drill_load {
    /* Given. */
    char nodes[DRILL_NODES_TEXT_SIZE]; /* every primary node, in order */
    uint32_t node_count;
    const char *house_secret;
    const char *level_secret;  /* the masters' and agents' */
    const char *member_secret;
    const char *log_dir;
    uint32_t master_count, agents_per_master, members_per_agent;
    uint32_t rate;      /* commands per second and member */
    int seconds_max;    /* the load stops by itself after this */
    uint64_t seed;
    /* The tree (drill_tree_build). */
    uint32_t super_id;
    uint32_t master_ids[DRILL_MASTERS_MAX];
    uint32_t agent_ids[DRILL_AGENTS_MAX];
    uint32_t instrument_id, market_id;
    uint32_t member_count;
    struct drill_member members[DRILL_MEMBERS_MAX];
    /* The running load. */
    atomic_bool stop;
    atomic_bool churn_stop;
    pthread_t churn_thread;
    bool churn_started;
    struct drill_churn_stats churn;
};

/* A house's session through load->nodes, for the set-up and the operator's
 * commands. Returns 0, or -1 with errmsg. */
int drill_house_open(const struct drill_load *load, struct nodown_client **client,
                     uint64_t client_id, char *errmsg, size_t size);

/* Sends one command and waits for its outcome through failovers. Returns 0
 * with *outcome (any result), or -1 when no answer came (errmsg). */
int drill_send(struct nodown_client *client, const struct command *command,
               struct nodown_outcome *outcome, char *errmsg, size_t size);

/* As the house: the tree, its secrets, cash and holdings, PT, an
 * instrument, a 1X2 market and a trading day. Returns 0, or -1 (said in
 * errmsg). */
int drill_tree_build(struct drill_load *load, char *errmsg, size_t size);

/* Starts a thread per member and the churn thread. Returns 0 or -1. */
int drill_load_start(struct drill_load *load, char *errmsg, size_t size);

/* The fewest acknowledgements any member has had so far. */
uint64_t drill_load_acked_min(struct drill_load *load);

/* The highest stream sequence a member was answered with (after stop). */
uint64_t drill_load_last_seq(const struct drill_load *load);

/* Stops the churn, then the members: no more sending, every command in
 * flight waited for (DRILL_DRAIN_MS at most), the threads joined. */
void drill_load_stop(struct drill_load *load);

/* The longest time any member waited between two acknowledgements within
 * [from_ms, to_ms] (wall clock), the window's edges counting as
 * acknowledgements; *member gets that member's index. After stop. */
int64_t drill_load_gap_ms(const struct drill_load *load, int64_t from_ms, int64_t to_ms,
                          uint32_t *member);

/* Commission from logic version 3, set down the tree: the house gives the
 * super and the masters their rates, each master its agents' through its
 * own logon, each agent its members'. *set and *rejected count them.
 * Returns 0 when every one was answered. */
int drill_commission_set(const struct drill_load *load, uint64_t *set, uint64_t *rejected,
                         char *errmsg, size_t size);

/* Frees what drill_load_start allocated. */
void drill_load_free(struct drill_load *load);

#endif
