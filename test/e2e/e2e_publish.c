/* A raw publisher for test/cli/rehearse.sh: one stream message holding
 * one COMMISSION_SET, published straight to the stream as a build without
 * the gateway's gate would have (docs/upgrades.md: a gateway does not
 * publish it before logic 3), so that a history at logic 1 holds one.
 *
 *   e2e_publish --nats URL --sender A --client-id C --account ID --rate-bp N
 *
 * Prints "stream_seq S". Exit 0 published, 1 not, 2 bad usage. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/command_codec.h"
#include "core/result.h"
#include "lib/clock.h"
#include "replica/journal.h"

int main(int argc, char **argv)
{
    const char *urls = NULL;
    struct command command;
    memset(&command, 0, sizeof command);
    command.type = COMMAND_COMMISSION_SET;
    command.client_seq = 1;
    for (int i = 1; i + 1 < argc; i += 2) {
        unsigned long long value = strtoull(argv[i + 1], NULL, 10);
        if (strcmp(argv[i], "--nats") == 0)
            urls = argv[i + 1];
        else if (strcmp(argv[i], "--sender") == 0)
            command.sender_account_id = (uint32_t)value;
        else if (strcmp(argv[i], "--client-id") == 0)
            command.client_id = value;
        else if (strcmp(argv[i], "--account") == 0)
            command.u.commission_set.account_id = (uint32_t)value;
        else if (strcmp(argv[i], "--rate-bp") == 0)
            command.u.commission_set.rate_bp = (uint16_t)value;
    }
    if (urls == NULL || command.client_id == 0) {
        fprintf(stderr, "usage: e2e_publish --nats URL --sender A --client-id C --account ID "
                        "--rate-bp N\n");
        return 2;
    }
    static uint8_t buffer[BATCH_SIZE_MAX];
    size_t length = 0;
    char errmsg[512] = "";
    struct journal *journal = NULL;
    struct journal_config config = journal_config_stream(urls, 1);
    config.must_exist = true;
    int rv = batch_encode((uint64_t)clock_now_ns(), &command, 1, buffer, sizeof buffer, &length);
    if (rv == 0)
        rv = journal_open(&journal, &config, errmsg, sizeof errmsg);
    char id[64];
    snprintf(id, sizeof id, "e2e-publish-%" PRIu64, command.client_id);
    uint64_t seq = 0;
    bool duplicate = false;
    if (rv == 0)
        rv = journal_publish(journal, buffer, length, id, 5000, &seq, &duplicate);
    if (journal != NULL)
        journal_close(journal);
    if (rv != 0) {
        fprintf(stderr, "e2e_publish: %s %s\n", err_text(rv), errmsg);
        return 1;
    }
    printf("stream_seq %" PRIu64 "\n", seq);
    return 0;
}
