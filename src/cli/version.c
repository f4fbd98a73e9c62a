/* `nodown version [--json]`: this build's release, the logic versions it
 * runs and the format versions it reads and writes. The table is
 * src/replica/versions.c's; this only prints it. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "replica/versions.h"

int version_main(int argc, char **argv)
{
    bool json = argc == 1 && strcmp(argv[0], "--json") == 0;
    if (argc > 0 && !json) {
        bool help = strcmp(argv[0], "--help") == 0;
        fprintf(help ? stdout : stderr,
                "usage: nodown version [--json]\n"
                "  Prints this build's release, the logic versions it runs and, for each\n"
                "  format, the versions it reads and writes (docs/upgrades.md). --json:\n"
                "  one JSON object, the \"build\" of every node's /status.\n");
        return help ? 0 : 2;
    }
    char text[VERSIONS_TEXT_SIZE];
    size_t length = json ? versions_json(text, sizeof text) : versions_text(text, sizeof text);
    if (length == 0) {
        fprintf(stderr, "nodown version: the table is over %u bytes\n", VERSIONS_TEXT_SIZE);
        return 1;
    }
    printf("%s%s", text, json ? "\n" : "");
    return 0;
}
