/* `nodown drill`: this file turns the options into a call of
 * src/ops/drill.h. */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "ops/drill.h"

static void drill_usage(FILE *out)
{
    fprintf(out,
            "usage: nodown drill [--dir DIR] [--short] [--seed N] [--json]\n"
            "  The acceptance test of the design (docs/upgrades.md, \"The drill\"): a\n"
            "  local cluster of 3 NATS servers on nats-server 2.9.10, 7 nodes and a DR\n"
            "  node on release 0.1.0, under a steady load of orders and bets from the\n"
            "  members of several agents and masters, who change PT and credit; then\n"
            "  the servers are upgraded to the installed nats-server, the nodes to this\n"
            "  build, the history rehearsed, ACTIVATE_LOGIC 3 published, and the agents\n"
            "  set commissions. It reports the orders and bets acknowledged, lost and\n"
            "  duplicated, the longest acknowledgement gap in each step, every node's\n"
            "  digest, and the upgrade's wall time. Needs build/test/e2e_node beside\n"
            "  this binary; the old releases come from tools/nats_release.sh and\n"
            "  tools/release_build.sh, and when either cannot be had one line says so\n"
            "  and the drill falls back (the servers on the installed nats-server, the\n"
            "  nodes on this build with --logic-max 2, restarted without it).\n"
            "  --dir DIR  the drill's directory (kept); default a new one under /tmp,\n"
            "             removed when the drill passes\n"
            "  --short    3 servers, 3 nodes and a DR node, 4 members: a minute or two\n"
            "  --seed N   the load's and the churn's choices (default: the clock)\n"
            "  --json     the report as one JSON object\n"
            "  Progress goes to stderr. Exit 0: nothing acknowledged lost or\n"
            "  duplicated, every node's digest equal, every step done; 1 otherwise;\n"
            "  2 when it cannot start.\n");
}

int drill_main(int argc, char **argv)
{
    struct drill_options options = {0};
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    options.seed = (uint64_t)now.tv_sec * 1000003u + (uint64_t)now.tv_nsec / 1000u;
    for (int i = 0; i < argc; i++) {
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            drill_usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "--short") == 0) {
            options.short_form = true;
        } else if (strcmp(argv[i], "--json") == 0) {
            options.json = true;
        } else if (strcmp(argv[i], "--dir") == 0 && value != NULL) {
            options.dir = value;
            i++;
        } else if (strcmp(argv[i], "--seed") == 0 && value != NULL) {
            char *end = NULL;
            options.seed = strtoull(value, &end, 10);
            if (end == value || *end != '\0') {
                drill_usage(stderr);
                return 2;
            }
            i++;
        } else {
            drill_usage(stderr);
            return 2;
        }
    }
    return drill_run(&options);
}
