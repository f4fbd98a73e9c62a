/* `nodown backup`, `nodown backup verify` and `nodown restore`: options
 * read into the configurations of ops/backup.h and ops/restore.h. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/result.h"
#include "gateway/admin_http.h"
#include "ops/backup.h"
#include "ops/cluster.h"
#include "ops/restore.h"

static void backup_usage(FILE *out)
{
    fprintf(out,
            "usage: nodown backup --node DIR|--node PORT --token FILE --nats URLS|--dir CLUSTER\n"
            "                     --to BACKUP [--json]\n"
            "       nodown backup verify BACKUP [--work DIR] [--json]\n"
            "\n"
            "Takes a backup of a running node without pausing it: its newest snapshot and\n"
            "the stream after it to a sequence where the node tells its digest, replayed\n"
            "here to check that digest, compressed (zstd) and listed with checksums in\n"
            "BACKUP/MANIFEST. BACKUP must not exist; it appears only once complete\n"
            "(docs/backup.md).\n"
            "\n"
            "  --node DIR     a running node's data directory (its serve.args name its\n"
            "                 admin port, token and NATS servers)\n"
            "  --node PORT    a node's admin port on 127.0.0.1, with --token FILE (its\n"
            "                 operator token's file) and --nats URL,... (its servers)\n"
            "  --dir CLUSTER  a local cluster (`nodown cluster`): its node 0\n"
            "  --to BACKUP    the new backup directory\n"
            "  --json         one JSON object on stdout: sequences, digests, sizes, MB/s,\n"
            "                 and the node's longest snapshot pause and batch apply\n"
            "\n"
            "verify: checks every file against the manifest (naming each damaged or\n"
            "missing one), then replays the backup in a scratch directory (under --work,\n"
            "default /tmp) and checks the digest and every invariant at its end. Exit 0\n"
            "only if all is good.\n");
}

/* One option of `nodown backup`; returns 0, or -1 when it is not valid. */
static int backup_option(struct backup_config *config, const char *name, const char *value)
{
    if (value == NULL)
        return -1;
    char *end = NULL;
    if (strcmp(name, "--node") == 0 && access(value, F_OK) == 0) {
        config->node_dir = value;
    } else if (strcmp(name, "--node") == 0) {
        const char *colon = strrchr(value, ':');
        unsigned long port = strtoul(colon != NULL ? colon + 1 : value, &end, 10);
        if (*end != '\0' || port == 0 || port > 65535)
            return -1;
        config->admin_port = (uint16_t)port;
    } else if (strcmp(name, "--token") == 0) {
        admin_token_read(value, config->token, sizeof config->token);
        return config->token[0] != '\0' ? 0 : -1;
    } else if (strcmp(name, "--nats") == 0) {
        config->nats_urls = value;
    } else if (strcmp(name, "--dir") == 0) {
        config->cluster_dir = value;
    } else if (strcmp(name, "--to") == 0) {
        config->to = value;
    } else {
        return -1;
    }
    return 0;
}

static int backup_verify_main(int argc, char **argv)
{
    const char *dir = NULL, *work = NULL;
    bool json = false, ok = true;
    for (int i = 0; i < argc && ok; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            backup_usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else if (strcmp(argv[i], "--work") == 0 && i + 1 < argc) {
            work = argv[++i];
        } else if (argv[i][0] != '-' && dir == NULL) {
            dir = argv[i];
        } else {
            ok = false;
        }
    }
    if (!ok || dir == NULL) {
        backup_usage(stderr);
        return 2;
    }
    return backup_verify(dir, work, json);
}

int backup_main(int argc, char **argv)
{
    if (argc >= 1 && strcmp(argv[0], "verify") == 0)
        return backup_verify_main(argc - 1, argv + 1);
    static struct backup_config config;
    bool ok = true;
    for (int i = 0; i < argc && ok; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            backup_usage(stdout);
            return 0;
        }
        if (strcmp(argv[i], "--json") == 0)
            config.json = true;
        else
            ok = backup_option(&config, argv[i], i + 1 < argc ? argv[i + 1] : NULL) == 0 && ++i;
    }
    int sources = (config.node_dir != NULL) + (config.admin_port != 0) +
                  (config.cluster_dir != NULL);
    if (!ok || sources != 1 || config.to == NULL) {
        backup_usage(stderr);
        return 2;
    }
    static struct backup_result result;
    char errmsg[1024];
    int rv = backup_run(&config, &result, errmsg, sizeof errmsg);
    if (rv != 0) {
        fprintf(stderr, "nodown backup: %s (%s)\n", errmsg, err_text(rv));
        return rv == ERR_USAGE ? 2 : 1;
    }
    backup_report(&result, config.json);
    return 0;
}

static void restore_usage(FILE *out)
{
    fprintf(out,
            "usage: nodown restore BACKUP --data DIR [--work DIR] [--json]\n"
            "       nodown restore BACKUP --cluster DIR [--nats-servers N] [--nodes N]\n"
            "                      [--house-secret S] [--work DIR] [--json]\n"
            "\n"
            "Builds a new node or local cluster holding the backup's state at its end\n"
            "sequence E, with a stream that goes on at E + 1 (docs/backup.md). The backup\n"
            "is checked file by file first and replayed by this build into a snapshot at E\n"
            "(under --work, default /tmp); a damaged backup writes nothing. The target must\n"
            "be new or an empty directory.\n"
            "\n"
            "  --data DIR      a single node on the embedded default: DIR gets the snapshot\n"
            "                  and an embedded nats-server store; then run\n"
            "                  'nodown serve --data DIR'\n"
            "  --cluster DIR   a local cluster as 'nodown cluster up' makes, started:\n"
            "                  N servers (default 3) with the stream on min(N, 3), and N\n"
            "                  nodes (default 3), each from the snapshot at E\n"
            "  --house-secret  the cluster's house.secret file text (the state keeps the\n"
            "                  backup's own house secret either way)\n"
            "  --json          one JSON object on stdout\n");
}

static int restore_option(struct restore_config *config, const char *name, const char *value)
{
    if (value == NULL)
        return -1;
    if (strcmp(name, "--data") == 0)
        config->data_dir = value;
    else if (strcmp(name, "--cluster") == 0)
        config->cluster_dir = value;
    else if (strcmp(name, "--work") == 0)
        config->work_dir = value;
    else if (strcmp(name, "--house-secret") == 0)
        config->house = value;
    else if (strcmp(name, "--nats-servers") == 0)
        return sscanf(value, "%u", &config->nats_count) == 1 && config->nats_count >= 1 &&
                       config->nats_count <= CLUSTER_NATS_MAX ? 0 : -1;
    else if (strcmp(name, "--nodes") == 0)
        return sscanf(value, "%u", &config->node_count) == 1 && config->node_count >= 1 &&
                       config->node_count <= CLUSTER_NODES_MAX ? 0 : -1;
    else
        return -1;
    return 0;
}

int restore_main(int argc, char **argv)
{
    static struct restore_config config = {.nats_count = 3, .node_count = 3};
    static char self[1024];
    bool ok = true;
    config.house = getenv("NODOWN_HOUSE_SECRET");
    for (int i = 0; i < argc && ok; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            restore_usage(stdout);
            return 0;
        }
        if (strcmp(argv[i], "--json") == 0)
            config.json = true;
        else if (argv[i][0] != '-' && config.from == NULL)
            config.from = argv[i];
        else
            ok = restore_option(&config, argv[i], i + 1 < argc ? argv[i + 1] : NULL) == 0 && ++i;
    }
    ssize_t size = readlink("/proc/self/exe", self, sizeof self - 1);
    self[size > 0 ? size : 0] = '\0';
    config.self = self;
    if (!ok || config.from == NULL || (config.data_dir == NULL) == (config.cluster_dir == NULL)) {
        restore_usage(stderr);
        return 2;
    }
    struct restore_result result;
    char errmsg[1024];
    int rv = restore_run(&config, &result, errmsg, sizeof errmsg);
    if (rv != 0) {
        fprintf(stderr, "nodown restore: %s (%s)\n", errmsg, err_text(rv));
        return rv == ERR_USAGE ? 2 : 1;
    }
    const char *target = config.data_dir != NULL ? config.data_dir : config.cluster_dir;
    printf(config.json ? "{\"target\":\"%s\",\"end_seq\":%llu,\"digest\":\"%s\","
                         "\"replay_ms\":%llu,\"total_ms\":%llu}\n"
                       : "restored %s: the state at stream sequence %llu (digest %s); replay "
                         "%llu ms, %llu ms in all\n",
           target, (unsigned long long)result.end_seq, result.digest,
           (unsigned long long)result.replay_ms, (unsigned long long)result.total_ms);
    return 0;
}
