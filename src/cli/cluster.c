/* `nodown cluster up|status|down|...`: a local cluster (src/ops/cluster.h).
 * This file reads the command's options and runs the action. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "ops/cluster.h"
#include "replica/nats_supervisor.h"

static void cluster_usage(FILE *out)
{
    fprintf(out,
            "usage: nodown cluster up --dir DIR [--nats-servers N] [--nodes N] [--dr]\n"
            "                         [--house-secret S] [--snapshot-mb N]\n"
            "                         [--durability always|interval:DURATION]\n"
            "       nodown cluster status --dir DIR [--json]\n"
            "       nodown cluster down --dir DIR\n"
            "       nodown cluster step-down --dir DIR [--nats I]\n"
            "       nodown cluster restart --dir DIR --nats I\n"
            "       nodown cluster trim --dir DIR\n"
            "       nodown cluster nodes --dir DIR\n"
            "       nodown cluster forget --dir DIR --node N\n"
            "       nodown cluster upgrade-nats --dir DIR --binary PATH [--json]\n"
            "  up      starts N nats-servers in one JetStream cluster (default 3; the\n"
            "          stream keeps min(N, 3) copies) and N nodes on it (default 3), on\n"
            "          free loopback ports; on a directory already set up, starts again\n"
            "          whatever is not running, on the same ports and data, and adds\n"
            "          nodes up to --nodes: a new node joins from node 0's latest\n"
            "          snapshot; --snapshot-mb is the nodes' (kept for later ups);\n"
            "          --durability always|interval:DURATION is the servers' disk sync\n"
            "          (default always: no acknowledgement before the batch is on disk;\n"
            "          set at the first up and kept; docs/journal.md says what each\n"
            "          setting can lose)\n"
            "          --dr adds a disaster-recovery site: a NATS server of its own\n"
            "          (JetStream domain dr, a leafnode to the cluster) holding the\n"
            "          mirror NODOWN_DR of the stream, and a node following it\n"
            "          ('nodown promote --dir DIR' makes that site primary)\n"
            "  status  every server (JetStream meta leader), the stream (leader, each\n"
            "          copy's lag) and every node (applied sequence, lag, digest)\n"
            "  down    stops the nodes, then the servers; the data stays in DIR\n"
            "  step-down  moves the stream's leader to another server (off nats-I)\n"
            "  restart    a planned restart of nats-I: leader moved off it, a clean\n"
            "          stop, started again on its data\n"
            "  trim    removes the stream's messages that no node needs: those at or\n"
            "          below the oldest of the nodes' newest snapshots\n"
            "  nodes   the node registry: the logic versions each node said it runs\n"
            "          (ACTIVATE_LOGIC N is published only if every one runs N)\n"
            "  forget  removes node N's entry, once that node is gone for good\n"
            "  upgrade-nats  replaces the servers with PATH one at a time, under load\n"
            "          (docs/upgrades.md, \"NATS servers\"; upgrade-nats --help)\n"
            "  The house's secret is --house-secret, else $NODOWN_HOUSE_SECRET, else\n"
            "  made once and kept in DIR/house.secret. The servers run\n"
            "  $NODOWN_NATS_SERVER, else " NATS_SUPERVISOR_SERVER_PATH " (2.10 or newer).\n");
}

/* --durability: true when text is a setting; says why not on stderr. */
static bool cluster_durability_option(struct cluster_options *options, const char *text)
{
    char errmsg[256];
    if (durability_parse(text, &options->durability, errmsg, sizeof errmsg) == 0)
        return true;
    fprintf(stderr, "nodown cluster: %s\n", errmsg);
    return false;
}

/* --help (or -h) anywhere, or the word help: `cluster up --help` is help
 * too, on stdout, exit 0. */
static bool cluster_help_asked(int argc, char **argv)
{
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return true;
    }
    return strcmp(argv[0], "help") == 0;
}

int cluster_main(int argc, char **argv)
{
    if (argc < 1 || cluster_help_asked(argc, argv)) {
        cluster_usage(argc < 1 ? stderr : stdout);
        return argc < 1 ? 2 : 0;
    }
    if (strcmp(argv[0], "upgrade-nats") == 0)
        return nats_upgrade_main(argc - 1, argv + 1);
    static struct cluster_options options;
    options.house = getenv("NODOWN_HOUSE_SECRET");
    options.nats_count = 3;
    options.node_count = 3;
    options.nats_index = -1;
    options.node = -1;
    bool ok = true;
    for (int i = 1; i < argc && ok; i++) {
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "--json") == 0)
            options.json = true;
        else if (strcmp(argv[i], "--dr") == 0)
            options.dr = true;
        else if (strcmp(argv[i], "--dir") == 0 && value != NULL)
            options.dir = argv[++i];
        else if (strcmp(argv[i], "--nats-servers") == 0 && value != NULL)
            ok = sscanf(argv[++i], "%u", &options.nats_count) == 1;
        else if (strcmp(argv[i], "--nodes") == 0 && value != NULL)
            ok = sscanf(argv[++i], "%u", &options.node_count) == 1;
        else if (strcmp(argv[i], "--snapshot-mb") == 0 && value != NULL)
            ok = snprintf(options.snapshot_mb, sizeof options.snapshot_mb, "%s", argv[++i]) <
                     (int)sizeof options.snapshot_mb && strtod(options.snapshot_mb, NULL) > 0;
        else if (strcmp(argv[i], "--nats") == 0 && value != NULL)
            ok = sscanf(argv[++i], "%d", &options.nats_index) == 1 && options.nats_index >= 0;
        else if (strcmp(argv[i], "--node") == 0 && value != NULL)
            ok = sscanf(argv[++i], "%d", &options.node) == 1 && options.node >= 0;
        else if (strcmp(argv[i], "--durability") == 0 && value != NULL)
            ok = cluster_durability_option(&options, argv[++i]);
        else if (strcmp(argv[i], "--house-secret") == 0 && value != NULL)
            options.house = argv[++i];
        else
            ok = false;
    }
    ok = ok && options.dir != NULL && options.nats_count >= 1 &&
         options.nats_count <= CLUSTER_NATS_MAX && options.node_count >= 1 &&
         options.node_count <= CLUSTER_NODES_MAX;
    static char self[CLUSTER_PATH_MAX];
    ssize_t size = readlink("/proc/self/exe", self, sizeof self - 1);
    if (!ok || size <= 0) {
        cluster_usage(stderr);
        return 2;
    }
    self[size] = '\0';
    options.self = self;
    int rv = cluster_run(argv[0], &options);
    if (rv == CLUSTER_USAGE)
        cluster_usage(stderr);
    return rv;
}
