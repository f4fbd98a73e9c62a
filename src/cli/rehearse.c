/* `nodown rehearse`: a node's history replayed by the old and the new
 * build before an upgrade (src/ops/rehearse.h). This file reads the
 * options; exit 2 on bad usage. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/rehearse.h"
#include "gateway/admin_http.h"
#include "ops/rehearse.h"
#include "ops/replay.h"

static void rehearse_usage(FILE *out)
{
    fprintf(out,
            "usage: nodown rehearse --from DIR|PORT:TOKENFILE --binary NEW [--old BINARY]\n"
            "                       [--nats URL,...] [--to N] [--at SEQ] [--until SEQ]\n"
            "                       [--checkpoint-every K] [--work DIR] [--json]\n"
            "  Replays a node's snapshot and the stream after it three ways: the old\n"
            "  binary (default this one), NEW at the same logic version (its digests\n"
            "  must equal old's at every K-th sequence, default %u, and at the end),\n"
            "  and NEW with ACTIVATE_LOGIC N (default NEW's highest) inserted before\n"
            "  message SEQ (default the first replayed); reports the migration's time,\n"
            "  commands/s, and every outcome that the activation changes, grouped.\n"
            "  --from DIR        a node's data directory: its newest snapshot, and its\n"
            "                    embedded stream read from a copy of DIR/nats by a\n"
            "                    private nats-server (or from --nats, read only)\n"
            "  --from PORT:FILE  a running node's admin port on 127.0.0.1 and its\n"
            "                    token's file: its /snapshot/latest, and the stream\n"
            "                    read only from --nats (required)\n"
            "  --work DIR        keep the copies and each replay's output there\n"
            "  Nothing is ever published. Exit 0: old and new agree; 1: they part,\n"
            "  or a replay failed (said in the report); 2: bad usage or no source.\n",
            REPLAY_CHECKPOINT_EVERY_DEFAULT);
}

/* PORT:TOKENFILE, as nodown verify's --node. */
static int rehearse_from_node(struct rehearse_config *config, const char *text)
{
    char *end = NULL;
    unsigned long port = strtoul(text, &end, 10);
    if (end == text || *end != ':' || port == 0 || port > 65535)
        return -1;
    admin_token_read(end + 1, config->from_token, sizeof config->from_token);
    config->from_port = (uint16_t)port;
    return config->from_token[0] != '\0' ? 0 : -1;
}

static int rehearse_option(struct rehearse_config *config, const char *name, const char *value)
{
    struct stat status;
    if (value == NULL)
        return -1;
    if (strcmp(name, "--from") == 0 && stat(value, &status) == 0 && S_ISDIR(status.st_mode))
        config->from_dir = value;
    else if (strcmp(name, "--from") == 0)
        return rehearse_from_node(config, value);
    else if (strcmp(name, "--binary") == 0)
        config->binary_new = value;
    else if (strcmp(name, "--old") == 0)
        config->binary_old = value;
    else if (strcmp(name, "--nats") == 0)
        config->nats_urls = value;
    else if (strcmp(name, "--work") == 0)
        config->work_dir = value;
    else if (value[0] < '0' || value[0] > '9')
        return -1;
    else if (strcmp(name, "--to") == 0)
        config->to = (uint32_t)strtoul(value, NULL, 10);
    else if (strcmp(name, "--at") == 0)
        config->at = strtoull(value, NULL, 10);
    else if (strcmp(name, "--until") == 0)
        config->until = strtoull(value, NULL, 10);
    else if (strcmp(name, "--checkpoint-every") == 0)
        config->checkpoint_every = strtoull(value, NULL, 10);
    else
        return -1;
    return 0;
}

int rehearse_main(int argc, char **argv)
{
    static struct rehearse_config config;
    memset(&config, 0, sizeof config);
    config.checkpoint_every = REPLAY_CHECKPOINT_EVERY_DEFAULT;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0) {
            rehearse_usage(stdout);
            return 0;
        }
        if (strcmp(argv[i], "--json") == 0) {
            config.json = true;
            continue;
        }
        if (rehearse_option(&config, argv[i], i + 1 < argc ? argv[i + 1] : NULL) != 0) {
            rehearse_usage(stderr);
            return 2;
        }
        i++;
    }
    bool from = config.from_dir != NULL || (config.from_port != 0 && config.nats_urls != NULL);
    if (!from || config.binary_new == NULL || config.checkpoint_every == 0) {
        rehearse_usage(stderr);
        return 2;
    }
    return rehearse_run(&config);
}
