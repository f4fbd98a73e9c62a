/* `nodown promote`: the disaster-recovery site becomes primary
 * (src/ops/promote.h). This file reads the options. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "ops/promote.h"

static void promote_usage(FILE *out)
{
    fprintf(out,
            "usage: nodown promote (--nats URL,... | --dir DIR) [--domain D] [--replicas N]\n"
            "                      [--wait SECONDS] [--force] [--json]\n"
            "  Makes the disaster-recovery site primary. Its servers (--nats, or the DR\n"
            "  site of the local cluster in DIR) hold NODOWN_DR, a mirror of the\n"
            "  primary's stream NODOWN in JetStream domain D (default primary); it is\n"
            "  copied into the site's own stream NODOWN (--replicas copies, default 1),\n"
            "  at the same sequences, and the site's nodes then take commands.\n"
            "  Prints the last sequence the site holds: what the primary acknowledged\n"
            "  after it is lost. Refused while the mirror still hears from the primary;\n"
            "  it waits up to --wait seconds (default 15) for it to fall silent.\n"
            "  --force promotes a site whose primary is still up: stop the primary's\n"
            "  writers first, since what it stores after the copy is not in the site's\n"
            "  stream. Run again after a failure, it goes on where the copy stopped.\n");
}

static int promote_parse(int argc, char **argv, struct promote_options *options)
{
    *options = (struct promote_options){.domain = "primary", .replicas = 1, .wait_s = 15};
    for (int i = 0; i < argc; i++) {
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "--force") == 0)
            options->force = true;
        else if (strcmp(argv[i], "--json") == 0)
            options->json = true;
        else if (strcmp(argv[i], "--nats") == 0 && value != NULL)
            options->nats = argv[++i];
        else if (strcmp(argv[i], "--dir") == 0 && value != NULL)
            options->dir = argv[++i];
        else if (strcmp(argv[i], "--domain") == 0 && value != NULL)
            options->domain = argv[++i];
        else if (strcmp(argv[i], "--replicas") == 0 && value != NULL)
            options->replicas = atoi(argv[++i]);
        else if (strcmp(argv[i], "--wait") == 0 && value != NULL)
            options->wait_s = atoi(argv[++i]);
        else {
            fprintf(stderr, "nodown promote: bad option '%s'\n", argv[i]);
            return -1;
        }
    }
    if ((options->nats == NULL) == (options->dir == NULL)) {
        fprintf(stderr, "nodown promote: give --nats or --dir (one of them)\n");
        return -1;
    }
    if (options->replicas < 1 || options->replicas > 5 || options->wait_s < 0) {
        fprintf(stderr, "nodown promote: --replicas 1..5, --wait 0 or more\n");
        return -1;
    }
    return 0;
}

int promote_main(int argc, char **argv)
{
    if (argc > 0 && strcmp(argv[0], "--help") == 0) {
        promote_usage(stdout);
        return 0;
    }
    struct promote_options options;
    if (promote_parse(argc, argv, &options) != 0) {
        promote_usage(stderr);
        return 2;
    }
    return promote_run(&options);
}
