/* `nodown version`: what this build reads, writes and runs. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "core/snapshot.h"
#include "core/state.h"

int version_main(int argc, char **argv)
{
    if (argc > 0 && strcmp(argv[0], "--help") == 0) {
        printf("usage: nodown version\n  Prints the logic and format versions of this build.\n");
        return 0;
    }
    printf("nodown: logic versions %u..%u, snapshot format %u\n", LOGIC_VERSION_MIN,
           LOGIC_VERSION_MAX, SNAPSHOT_FORMAT_VERSION);
    return 0;
}
