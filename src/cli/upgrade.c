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
            "usage: nodown upgrade (--data DIR | --dir CLUSTER) [--binary NEW]\n"
            "                      [--nats-binary PATH] [--activate N]\n"
            "                      [--house-secret-file FILE] [--timeout-s N] [--json]\n"
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
            "  --nats-binary PATH  first the cluster's NATS servers, one at a time\n"
            "                 (nodown cluster upgrade-nats)\n"
            "  --activate N   at the end, ACTIVATE_LOGIC N as the house; published only\n"
            "                 once every node says it runs N, else refused naming the\n"
            "                 first node that cannot\n"
            "  --house-secret-file FILE  the house's secret for --activate (default\n"
            "                 CLUSTER/house.secret, or $NODOWN_HOUSE_SECRET)\n"
            "  --timeout-s N  how long one node's new process may take to catch up and\n"
            "                 take over (default %d)\n"
            "  --json         the steps as one JSON object: each node's hand-over time\n"
            "                 (how long its clients waited), sequence and digest\n"
            "  A progress line per step goes to stderr.\n",
            UPGRADE_TIMEOUT_MS_DEFAULT / 1000);
}

/* The house's secret: the file given, CLUSTER/house.secret, or
 * $NODOWN_HOUSE_SECRET. Returns 0, or -1 (said). */
static int upgrade_secret_read(const char *file, const char *dir, char *secret, size_t size)
{
    char path[1024];
    if (file == NULL && dir != NULL) {
        snprintf(path, sizeof path, "%s/house.secret", dir);
        file = path;
    }
    const char *env = getenv("NODOWN_HOUSE_SECRET");
    FILE *in = file != NULL ? fopen(file, "r") : NULL;
    if (in != NULL) {
        bool read = fgets(secret, (int)size, in) != NULL;
        fclose(in);
        secret[strcspn(secret, "\n")] = '\0';
        if (read)
            return 0;
    } else if (file == NULL && env != NULL) {
        snprintf(secret, size, "%s", env);
        return 0;
    }
    fprintf(stderr, "nodown upgrade: --activate needs the house's secret: give "
            "--house-secret-file FILE or set $NODOWN_HOUSE_SECRET%s%s\n",
            file != NULL ? "; cannot read " : "", file != NULL ? file : "");
    return -1;
}

/* One node (--data): replaced if a binary is given, then the activation
 * through its own client port. */
static int upgrade_one(struct upgrade *upgrade, const char *data)
{
    int rv = 0;
    if (upgrade->binary != NULL) {
        upgrade->step_count = 1;
        rv = upgrade_node(upgrade, data, data, &upgrade->steps[0]) == 0 ? 0 : 1;
        upgrade->total_ms = upgrade->steps[0].took_ms;
        if (rv != 0)
            fprintf(stderr, "nodown upgrade: %s\n", upgrade->steps[0].error);
    }
    if (rv == 0 && upgrade->activate != 0) {
        char nodes[64];
        if (upgrade_node_listen(data, nodes, sizeof nodes) != 0) {
            fprintf(stderr, "nodown upgrade: no node serves %s\n", data);
            return 1;
        }
        rv = upgrade_activate(upgrade, nodes) == 0 ? 0 : 1;
    }
    return rv;
}

int upgrade_main(int argc, char **argv)
{
    static struct upgrade upgrade;
    const char *data = NULL, *dir = NULL, *secret_file = NULL;
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
        } else if (strcmp(argv[i], "--nats-binary") == 0) {
            upgrade.nats_binary = value;
        } else if (strcmp(argv[i], "--activate") == 0 && atoi(value) > 0) {
            upgrade.activate = (uint32_t)atoi(value);
        } else if (strcmp(argv[i], "--house-secret-file") == 0) {
            secret_file = value;
        } else if (strcmp(argv[i], "--timeout-s") == 0 && atoi(value) > 0) {
            upgrade.timeout_ms = atoi(value) * 1000;
        } else {
            upgrade_usage(stderr);
            return 2;
        }
        i++;
    }
    bool nothing = upgrade.binary == NULL && upgrade.nats_binary == NULL && upgrade.activate == 0;
    if (nothing || (data == NULL) == (dir == NULL) || (data != NULL && upgrade.nats_binary)) {
        upgrade_usage(stderr);
        return 2;
    }
    char errmsg[512];
    if (upgrade.binary != NULL && upgrade_binary_check(&upgrade, errmsg, sizeof errmsg) != 0) {
        fprintf(stderr, "nodown upgrade: %s\n", errmsg);
        return 1;
    }
    static char secret[256];
    if (upgrade.activate != 0 &&
        upgrade_secret_read(secret_file, dir, secret, sizeof secret) != 0)
        return 2;
    upgrade.house_secret = secret;
    int rv = 0;
    if (dir != NULL) {
        rv = upgrade_cluster(&upgrade, dir);
    } else {
        rv = upgrade_one(&upgrade, data);
    }
    upgrade_report(&upgrade);
    return rv;
}
