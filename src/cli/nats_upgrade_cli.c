/* `nodown cluster upgrade-nats --dir DIR --binary PATH [--json]` (and
 * `nodown upgrade --dir DIR --nats-binary PATH`, which hands its arguments
 * here): the options of nats_upgrade_run (src/ops/nats_upgrade.h). */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "ops/nats_upgrade.h"

static void nats_upgrade_usage(FILE *out)
{
    fprintf(out,
            "usage: nodown cluster upgrade-nats --dir DIR --binary PATH [--json]\n"
            "  replaces the local cluster's nats-servers with PATH (2.10 or newer), one at\n"
            "  a time: the streams' leaders moved off it, lame duck mode, its exit, a\n"
            "  start on PATH with the same configuration and store, and a wait until\n"
            "  it is healthy and its copies current before the next; a progress line\n"
            "  per step on stderr, --json the durations of each on stdout. Refuses when\n"
            "  PATH does not run or the cluster is not healthy; a server that does not\n"
            "  come back on PATH is started again on its old binary, and it stops.\n"
            "  (--nats-binary is --binary.)\n");
}

int nats_upgrade_main(int argc, char **argv)
{
    const char *dir = NULL, *binary = NULL;
    bool json = false, ok = true;
    for (int i = 0; i < argc && ok; i++) {
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            nats_upgrade_usage(stdout);
            return 0;
        }
        if (strcmp(argv[i], "--json") == 0)
            json = true;
        else if (strcmp(argv[i], "--dir") == 0 && value != NULL)
            dir = argv[++i];
        else if ((strcmp(argv[i], "--binary") == 0 || strcmp(argv[i], "--nats-binary") == 0) &&
                 value != NULL)
            binary = argv[++i];
        else
            ok = false;
    }
    if (!ok || dir == NULL || binary == NULL) {
        nats_upgrade_usage(stderr);
        return 2;
    }
    static struct nats_upgrade_report report;
    char errmsg[1024] = "";
    int rv = nats_upgrade_run(dir, binary, &report, errmsg, sizeof errmsg);
    if (json)
        nats_upgrade_report_json(&report, stdout);
    if (rv != 0) {
        fprintf(stderr, "nodown nats-upgrade: %s\n", errmsg);
        return 1;
    }
    if (!json)
        printf("%u nats-servers replaced with %s (%s) in %lld ms\n", report.step_count,
               report.binary, report.version, (long long)report.total_ms);
    return 0;
}
