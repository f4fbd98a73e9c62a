/* `nodown upgrade`: this file turns the options into calls of
 * src/ops/upgrade.h. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "ops/upgrade.h"

static void upgrade_usage(FILE *out)
{
    fprintf(out,
            "usage: nodown upgrade (--data DIR | --dir CLUSTER) --binary NEW [--json]\n"
            "                      [--timeout-s N]\n"
            "  Replaces running nodes by the build NEW without their clients waiting:\n"
            "  NEW starts beside each node, catches up, and takes its ports, sessions\n"
            "  and embedded NATS server; the two states' digests are compared at the\n"
            "  sequence of the hand-over. A failure stops the upgrade with the old\n"
            "  process of that node serving on (docs/upgrades.md).\n"
            "  --data DIR     the node serving DIR on this host (one node, the\n"
            "                 embedded default included)\n"
            "  --dir CLUSTER  every node of the local cluster (nodown cluster up), one\n"
            "                 at a time, its disaster-recovery node last; after each,\n"
            "                 every node's digest at one sequence (nodown verify)\n"
            "  --timeout-s N  how long one node's new process may take to catch up and\n"
            "                 take over (default %d)\n"
            "  --json         the steps as one JSON object: each node's hand-over time\n"
            "                 (how long its clients waited), sequence and digest\n"
            "  A progress line per step goes to stderr.\n",
            UPGRADE_TIMEOUT_MS_DEFAULT / 1000);
}

int upgrade_main(int argc, char **argv)
{
    static struct upgrade upgrade;
    const char *data = NULL, *dir = NULL;
    for (int i = 0; i < argc; i++) {
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "--help") == 0) {
            upgrade_usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "--json") == 0) {
            upgrade.json = true;
            continue;
        } else if (value == NULL) {
            upgrade_usage(stderr);
            return 2;
        } else if (strcmp(argv[i], "--data") == 0) {
            data = value;
        } else if (strcmp(argv[i], "--dir") == 0) {
            dir = value;
        } else if (strcmp(argv[i], "--binary") == 0) {
            upgrade.binary = value;
        } else if (strcmp(argv[i], "--timeout-s") == 0 && atoi(value) > 0) {
            upgrade.timeout_ms = atoi(value) * 1000;
        } else {
            upgrade_usage(stderr);
            return 2;
        }
        i++;
    }
    if (upgrade.binary == NULL || (data == NULL) == (dir == NULL)) {
        upgrade_usage(stderr);
        return 2;
    }
    char errmsg[512];
    if (upgrade_binary_check(&upgrade, errmsg, sizeof errmsg) != 0) {
        fprintf(stderr, "nodown upgrade: %s\n", errmsg);
        return 1;
    }
    int rv = 0;
    if (dir != NULL) {
        rv = upgrade_cluster(&upgrade, dir);
    } else {
        upgrade.step_count = 1;
        rv = upgrade_node(&upgrade, data, data, &upgrade.steps[0]) == 0 ? 0 : 1;
        upgrade.total_ms = upgrade.steps[0].took_ms;
        if (rv != 0)
            fprintf(stderr, "nodown upgrade: %s\n", upgrade.steps[0].error);
    }
    upgrade_report(&upgrade);
    return rv;
}
