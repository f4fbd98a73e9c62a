/* `nodown drill`: the acceptance test of the whole design, as a command
 * (docs/upgrades.md, "The drill"; DESIGN.md §5).
 *
 * A local cluster on the first releases (NATS servers of Debian 12's
 * nats-server 2.9.10, nodes of release 0.1.0, a DR site), a tree of
 * masters, agents and members under a steady load of orders and bets
 * while masters and agents change PT and credit (ops/drill_load.h); then,
 * under that load:
 *
 *   steady      a window of plain load, for comparison
 *   nats        `nodown upgrade --nats-binary NEW` (each server a step)
 *   node        `nodown upgrade --binary THIS` (each node a step, the DR
 *               node's last)
 *   rehearsal   `nodown rehearse` of the drill's history, to logic 3
 *   activation  ACTIVATE_LOGIC 3, as the house
 *   commission  COMMISSION_SET down the tree, masters and agents for
 *               their own children
 *   logic 3     a little more load; then the load stops, the market is
 *               settled (commission paid)
 *
 * and the figures: orders and bets acknowledged, lost and duplicated
 * (`e2e_node check` replays the stream against every member's log), the
 * longest acknowledgement gap any member saw in each step's wall-clock
 * window, every node's digest at one sequence (`nodown verify`), and the
 * upgrade's wall time. Each cluster operation is this binary run as a
 * child (cluster, upgrade, rehearse, verify), whose output the drill
 * reads; the load runs on threads of the drill itself.
 *
 * When Debian 12's server or release 0.1.0 cannot be had (no archive, a
 * clone without the release's commit), one line says so and the drill
 * falls back: the servers start on the installed nats-server, and the
 * nodes on this build with --logic-max 2, each "upgraded" by a restart
 * without it. The JSON says which. */
#ifndef NODOWN_OPS_DRILL_H
#define NODOWN_OPS_DRILL_H

#include <stdbool.h>
#include <stdint.h>

struct drill_options {
    const char *dir;  /* the drill's directory; NULL: a new one under /tmp */
    bool short_form;  /* 3 servers, 3 nodes and a DR node, 4 members: `make test` */
    uint64_t seed;    /* the load's and the churn's choices */
    bool json;
};

/* Runs the drill and prints its report (one JSON object with json).
 * Returns the exit code: 0 when nothing acknowledged was lost or
 * duplicated, every node's digest was equal and every step ran; 1
 * otherwise; 2 when it could not start. */
int drill_run(const struct drill_options *options);

#endif
