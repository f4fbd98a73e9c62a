/* `nodown export --pg URL --data DIR --nats URL | --from NODE_DIR`: the
 * PostgreSQL export as a process of its own (docs/export.md).
 *
 * It is a node that follows the stream and serves no one: `nodown serve`
 * with the export as its one consumer (src/node/consumers.c), its own
 * data directory for its snapshots, its client port on a loopback port
 * the kernel picks (it takes no commands from anyone: nobody is told the
 * port, and it never sets the house secret), and its own admin interface
 * with /status and /metrics (export_seq, export_lag). So a restart, a
 * kill -9, a hand-over (`nodown upgrade --data DIR`) and an activation
 * are a node's, and the export resumes from the position it stored in
 * PostgreSQL. This file only turns the options into serve's.
 */
#include "cli/export.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

#define EXPORT_ARGS_MAX 24 /* 7 options with a value, --export-only */

static void export_usage(FILE *out)
{
    fprintf(out,
            "usage: nodown export --pg URL --data DIR (--nats URL,... | --from NODE_DIR)\n"
            "                     [--http HOST:PORT] [--node-id N] [--snapshot-mb N]\n"
            "  Exports orders, trades, bets, settlements, balances and account changes\n"
            "  to PostgreSQL, exactly once: the tables and the last stream sequence\n"
            "  stored go in one transaction, and a restart goes on from there\n"
            "  (docs/export.md has every table).\n"
            "  --pg URL     the database: a libpq URI or connection string\n"
            "               (postgresql:///nodown?host=/run/postgresql)\n"
            "  --data DIR   this exporter's own directory: its snapshots, its lock\n"
            "  --nats URL   the NATS servers of the stream to follow\n"
            "  --from NODE_DIR  follow the embedded nats-server of the node whose data\n"
            "               directory this is (its port is in NODE_DIR/nats/port)\n"
            "  --http HOST:PORT  its admin interface: /status, /metrics (default\n"
            "               127.0.0.1:7490)\n"
            "  --node-id N  its number in the node registry (default 90)\n"
            "  --snapshot-mb N  a snapshot after this much applied log (default 64)\n"
            "  It is a node that takes no commands: `nodown upgrade --data DIR` hands\n"
            "  it over to a new build like any node.\n");
}

/* NODE_DIR/nats/port as nats://127.0.0.1:PORT. */
static int export_nats_from(const char *node_dir, char *url, size_t size)
{
    char path[600];
    snprintf(path, sizeof path, "%s/nats/port", node_dir);
    FILE *file = fopen(path, "r");
    unsigned port = 0;
    bool read = file != NULL && fscanf(file, "%u", &port) == 1 && port > 0 && port <= 65535;
    if (file != NULL)
        fclose(file);
    if (!read) {
        fprintf(stderr, "nodown export: --from %s: cannot read the port of its embedded "
                "nats-server from %s (is it a node's data directory, started without "
                "--nats?)\n", node_dir, path);
        return -1;
    }
    snprintf(url, size, "nats://127.0.0.1:%u", port);
    return 0;
}

struct export_options {
    const char *pg, *data, *nats, *from, *http, *node_id, *snapshot_mb;
};

static int export_parse(int argc, char **argv, struct export_options *options)
{
    memset(options, 0, sizeof *options);
    options->http = "127.0.0.1:7490";
    options->node_id = "90";
    for (int i = 0; i < argc; i += 2) {
        const char *names[] = {"--pg", "--data", "--nats", "--from", "--http", "--node-id",
                               "--snapshot-mb"};
        const char **values[] = {&options->pg, &options->data, &options->nats, &options->from,
                                 &options->http, &options->node_id, &options->snapshot_mb};
        size_t which = 0;
        while (which < 7 && strcmp(argv[i], names[which]) != 0)
            which++;
        if (which == 7 || i + 1 >= argc) {
            fprintf(stderr, "nodown export: %s '%s'\n",
                    which == 7 ? "bad option" : "this option needs a value:", argv[i]);
            return -1;
        }
        *values[which] = argv[i + 1];
    }
    if (options->pg == NULL || options->data == NULL ||
        (options->nats == NULL) == (options->from == NULL)) {
        fprintf(stderr, "nodown export: give --pg URL, --data DIR, and one of --nats URL "
                "or --from NODE_DIR\n");
        return -1;
    }
    return 0;
}

int export_main(int argc, char **argv)
{
    if (argc > 0 && (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0)) {
        export_usage(stdout);
        return 0;
    }
    struct export_options options;
    if (export_parse(argc, argv, &options) != 0) {
        export_usage(stderr);
        return 2;
    }
    static char nats[128];
    if (options.from != NULL && export_nats_from(options.from, nats, sizeof nats) != 0)
        return 1;
    static char *args[EXPORT_ARGS_MAX];
    int count = 0;
    const char *pairs[][2] = {{"--data", options.data},
                              {"--nats", options.nats != NULL ? options.nats : nats},
                              {"--listen", "127.0.0.1:0"}, {"--http", options.http},
                              {"--node-id", options.node_id}, {"--export-pg", options.pg},
                              {"--snapshot-mb", options.snapshot_mb}};
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        if (pairs[i][1] == NULL)
            continue;
        args[count++] = (char *)pairs[i][0];
        args[count++] = (char *)pairs[i][1];
    }
    args[count++] = "--export-only";
    /* The house secret is the node's to set, never the exporter's. */
    unsetenv("NODOWN_HOUSE_SECRET");
    return serve_main(count, args);
}
