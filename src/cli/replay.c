/* `nodown replay`: a snapshot and a stream copy through this build
 * (src/ops/replay.h). This file reads the options; exit 2 on bad usage. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/rehearse.h"
#include "core/result.h"
#include "ops/replay.h"

static void replay_usage(FILE *out)
{
    fprintf(out,
            "usage: nodown replay --stream FILE [--snapshot FILE] [--activate N|max]\n"
            "                     [--at SEQ] [--checkpoint-every K] [--every-from SEQ]\n"
            "                     [--until SEQ] [--outcomes FILE] --json\n"
            "  Applies a snapshot file (none: the empty state) and the messages of a\n"
            "  stream copy after it (made by nodown rehearse) with this build's logic,\n"
            "  and prints one JSON object: the digest at every K-th sequence (default\n"
            "  %u) and at the end, commands/s, and with --activate the migration's\n"
            "  time of ACTIVATE_LOGIC N inserted before message SEQ (default: the\n"
            "  first). --outcomes writes each command's outcome, one line each.\n"
            "  Exit 0: replayed; 1: it could not be (said on stderr).\n",
            REPLAY_CHECKPOINT_EVERY_DEFAULT);
}

/* A sequence option's value: digits only. */
static int replay_number(const char *text, uint64_t *out)
{
    char *end = NULL;
    if (text == NULL || text[0] < '0' || text[0] > '9')
        return -1;
    *out = strtoull(text, &end, 10);
    return *end == '\0' ? 0 : -1;
}

static int replay_option(struct replay_config *config, const char *name, const char *value)
{
    uint64_t number = 0;
    if (value == NULL)
        return -1;
    if (strcmp(name, "--stream") == 0)
        config->stream_path = value;
    else if (strcmp(name, "--snapshot") == 0)
        config->snapshot_path = strcmp(value, "none") == 0 ? NULL : value;
    else if (strcmp(name, "--outcomes") == 0)
        config->outcomes_path = value;
    else if (strcmp(name, "--activate") == 0 && strcmp(value, "max") == 0)
        config->activate_version = REPLAY_ACTIVATE_MAX;
    else if (replay_number(value, &number) != 0)
        return -1;
    else if (strcmp(name, "--activate") == 0 && number > 0 && number < UINT32_MAX)
        config->activate_version = (uint32_t)number;
    else if (strcmp(name, "--at") == 0)
        config->activate_at = number;
    else if (strcmp(name, "--checkpoint-every") == 0)
        config->checkpoint_every = number;
    else if (strcmp(name, "--every-from") == 0)
        config->every_from = number;
    else if (strcmp(name, "--until") == 0)
        config->until = number;
    else
        return -1;
    return 0;
}

int replay_main(int argc, char **argv)
{
    struct replay_config config;
    memset(&config, 0, sizeof config);
    config.checkpoint_every = REPLAY_CHECKPOINT_EVERY_DEFAULT;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0) {
            replay_usage(stdout);
            return 0;
        }
        if (strcmp(argv[i], "--json") == 0)
            continue; /* the only output there is */
        if (replay_option(&config, argv[i], i + 1 < argc ? argv[i + 1] : NULL) != 0) {
            replay_usage(stderr);
            return 2;
        }
        i++;
    }
    if (config.stream_path == NULL) {
        replay_usage(stderr);
        return 2;
    }
    char errmsg[512] = "";
    int rv = replay_run(&config, stdout, errmsg, sizeof errmsg);
    if (rv != 0) {
        fprintf(stderr, "nodown replay: %s: %s\n", err_text(rv), errmsg);
        return 1;
    }
    return 0;
}
