/* `nodown verify`: are all replicas one state? (src/ops/verify.h). This
 * file reads the options; exit 2 on bad usage. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "ops/verify.h"

static void verify_usage(FILE *out)
{
    fprintf(out,
            "usage: nodown verify [--dir DIR] [--node PORT:TOKENFILE]... [--timeout S]\n"
            "                     [--json]\n"
            "  Asks every node (those of the local cluster in DIR, and each --node:\n"
            "  an admin port on 127.0.0.1 and the file holding its token) for its\n"
            "  state's digest and invariant check at one stream sequence, and\n"
            "  compares them. Exit 0: all agree and hold their invariants; 1: a node\n"
            "  diverges, breaks an invariant or does not answer (named in the report).\n"
            "  --timeout  seconds to wait for every node (default 30)\n");
}

int verify_main(int argc, char **argv)
{
    static struct verify verify;
    memset(&verify, 0, sizeof verify);
    verify.timeout_ms = 30000;
    for (int i = 0; i < argc; i++) {
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        int rv = 0;
        if (strcmp(argv[i], "--help") == 0) {
            verify_usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "--json") == 0) {
            verify.json = true;
        } else if (strcmp(argv[i], "--dir") == 0 && value != NULL) {
            rv = verify_add_cluster(&verify, argv[++i]);
        } else if (strcmp(argv[i], "--node") == 0 && value != NULL) {
            rv = verify_add_node(&verify, argv[++i]);
        } else if (strcmp(argv[i], "--timeout") == 0 && value != NULL) {
            verify.timeout_ms = atoi(argv[++i]) * 1000;
        } else {
            rv = -1;
        }
        if (rv != 0) {
            verify_usage(stderr);
            return 2;
        }
    }
    if (verify.count == 0 || verify.timeout_ms <= 0) {
        verify_usage(stderr);
        return 2;
    }
    return verify_run(&verify);
}
