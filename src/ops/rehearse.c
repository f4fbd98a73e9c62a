/* `nodown rehearse` (rehearse.h): the source read into the work
 * directory, the three replays, old and new compared, the outcomes
 * compared, the report.
 *
 * The work directory (a temporary one, removed at the end, or --work):
 *   snapshot-<seq>.ndsf    the node's newest snapshot (none: the empty state)
 *   nats/                  a copy of an embedded node's store, read by a
 *                          private nats-server (never the live one)
 *   stream.ndsc            the messages after the snapshot (stream_copy.h)
 *   replay-NAME.json(.err) each replay's output
 *   NAME.outcomes          the outcomes of new and activated
 */
#include "ops/rehearse_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gateway/admin_http.h"
#include "ops/stream_copy.h"
#include "replica/nats_supervisor.h"
#include "replica/replica.h"

#define REHEARSE_SNAPSHOTS_LISTED 64u

/* The node's newest snapshot, copied into the work directory. */
static int rehearse_snapshot_from_dir(struct rehearse *rehearse, char *errmsg, size_t size)
{
    char dir[REHEARSE_PATH_MAX + 16], source[REHEARSE_PATH_MAX + 64];
    snprintf(dir, sizeof dir, "%s/snapshots", rehearse->config->from_dir);
    uint64_t seqs[REHEARSE_SNAPSHOTS_LISTED];
    if (replica_snapshot_list(dir, seqs, REHEARSE_SNAPSHOTS_LISTED) == 0)
        return 0; /* none: the empty state, the stream from 1 */
    rehearse->snapshot_seq = seqs[0];
    replica_snapshot_path(dir, seqs[0], "", source, sizeof source);
    replica_snapshot_path(rehearse->work, seqs[0], "", rehearse->snapshot,
                          sizeof rehearse->snapshot);
    const char *cp[] = {"/bin/cp", source, rehearse->snapshot, NULL};
    if (rehearse_spawn_wait(cp, NULL, 60000) != 0) {
        snprintf(errmsg, size, "cannot copy %.300s", source);
        return ERR_IO;
    }
    return 0;
}

/* A running node's latest snapshot, from its admin interface. */
static int rehearse_snapshot_from_node(struct rehearse *rehearse, char *errmsg, size_t size)
{
    char file[REHEARSE_PATH_MAX + 32];
    snprintf(file, sizeof file, "%s/download.ndsf", rehearse->work);
    uint64_t bytes = 0;
    if (admin_http_download(rehearse->config->from_port, "/snapshot/latest",
                            rehearse->config->from_token, file, &rehearse->snapshot_seq,
                            &bytes) != 0) {
        snprintf(errmsg, size, "no snapshot from the node at 127.0.0.1:%u",
                 rehearse->config->from_port);
        return ERR_IO;
    }
    replica_snapshot_path(rehearse->work, rehearse->snapshot_seq, "", rehearse->snapshot,
                          sizeof rehearse->snapshot);
    return rename(file, rehearse->snapshot) == 0 ? 0 : ERR_IO;
}

/* The stream after the snapshot, into stream.ndsc: from a private
 * nats-server on a copy of DIR/nats's store, or from --nats read-only. */
static int rehearse_stream(struct rehearse *rehearse, char *errmsg, size_t size)
{
    const struct rehearse_config *config = rehearse->config;
    snprintf(rehearse->stream, sizeof rehearse->stream, "%s/stream.ndsc", rehearse->work);
    struct stream_copy_summary summary;
    uint64_t from = rehearse->snapshot_seq + 1;
    if (config->nats_urls != NULL) {
        int rv = stream_copy_from_nats(config->nats_urls, from, config->until, rehearse->stream,
                                       &summary, errmsg, size);
        rehearse->first_seq = summary.first_seq;
        rehearse->last_seq = summary.last_seq;
        rehearse->messages = summary.messages;
        return rv;
    }
    char store[REHEARSE_PATH_MAX + 32];
    snprintf(store, sizeof store, "%s/nats/jetstream", config->from_dir);
    snprintf(rehearse->store_dir, sizeof rehearse->store_dir, "%s/nats", rehearse->work);
    const char *cp[] = {"/bin/cp", "-a", store, rehearse->store_dir, NULL};
    if (mkdir(rehearse->store_dir, 0755) != 0 || rehearse_spawn_wait(cp, NULL, 600000) != 0) {
        snprintf(errmsg, size, "cannot copy %.300s (an embedded node's store)", store);
        return ERR_IO;
    }
    static struct nats_supervisor supervisor;
    struct durability durability = {0};
    int rv = nats_supervisor_start(&supervisor, rehearse->work, 0, durability, errmsg, size);
    if (rv != 0)
        return rv;
    rv = stream_copy_from_nats(supervisor.url, from, config->until, rehearse->stream, &summary,
                               errmsg, size);
    nats_supervisor_stop(&supervisor);
    rehearse->first_seq = summary.first_seq;
    rehearse->last_seq = summary.last_seq;
    rehearse->messages = summary.messages;
    return rv;
}

/* The first sequence where old and new part, between two checkpoints:
 * both replayed again with a digest at every message from lo + 1 to hi. */
static void rehearse_bisect(struct rehearse *rehearse, uint64_t lo, uint64_t hi)
{
    rehearse->divergence_seq = hi;
    if (rehearse->old.by_serve || hi <= lo + 1)
        return;
    char from[24], until[24];
    snprintf(from, sizeof from, "%" PRIu64, lo + 1);
    snprintf(until, sizeof until, "%" PRIu64, hi);
    const char *extra[] = {"--checkpoint-every", "0", "--every-from", from, "--until", until,
                           NULL};
    struct rehearse_replay old = {.name = "old-bisect", .binary = rehearse->old.binary};
    struct rehearse_replay new = {.name = "new-bisect", .binary = rehearse->new.binary};
    if (rehearse_replay_run(rehearse, &old, extra, NULL) == 0 &&
        rehearse_replay_run(rehearse, &new, extra, NULL) == 0) {
        for (uint32_t i = 0; i < old.checkpoint_count && i < new.checkpoint_count; i++) {
            if (strcmp(old.checkpoint_digests[i], new.checkpoint_digests[i]) != 0) {
                rehearse->divergence_seq = old.checkpoint_seqs[i];
                break;
            }
        }
    }
    rehearse_replay_free(&old);
    rehearse_replay_free(&new);
}

/* Old against new at every checkpoint both have. */
static void rehearse_compare(struct rehearse *rehearse)
{
    const struct rehearse_replay *old = &rehearse->old, *new = &rehearse->new;
    if (!old->ok || !new->ok)
        return;
    uint64_t lo = rehearse->snapshot_seq;
    uint32_t i = 0, k = 0;
    rehearse->equal = true;
    while (i < old->checkpoint_count && k < new->checkpoint_count) {
        uint64_t seq = old->checkpoint_seqs[i];
        if (seq < new->checkpoint_seqs[k]) {
            i++;
        } else if (seq > new->checkpoint_seqs[k]) {
            k++;
        } else if (strcmp(old->checkpoint_digests[i++], new->checkpoint_digests[k++]) == 0) {
            rehearse->checkpoints_equal++;
            lo = seq;
        } else {
            rehearse->equal = false;
            rehearse_bisect(rehearse, lo, seq);
            break;
        }
    }
    rehearse->compared = rehearse->checkpoints_equal > 0 || !rehearse->equal;
    if (rehearse->compared && old->stopped_seq != new->stopped_seq)
        rehearse->equal = false;
}

static int rehearse_source(struct rehearse *rehearse, char *errmsg, size_t size)
{
    int rv = rehearse->config->from_dir != NULL
                 ? rehearse_snapshot_from_dir(rehearse, errmsg, size)
                 : rehearse_snapshot_from_node(rehearse, errmsg, size);
    if (rv == 0)
        rv = rehearse_stream(rehearse, errmsg, size);
    if (rv == 0 && rehearse->messages == 0) {
        snprintf(errmsg, size, "no message after the snapshot (%" PRIu64 ") to replay",
                 rehearse->snapshot_seq);
        rv = ERR_NOT_FOUND;
    }
    return rv;
}

static void rehearse_replays(struct rehearse *rehearse)
{
    const struct rehearse_config *config = rehearse->config;
    char outcomes[2][REHEARSE_PATH_MAX + 32], to[16], at[24];
    snprintf(outcomes[0], sizeof outcomes[0], "%s/new.outcomes", rehearse->work);
    snprintf(outcomes[1], sizeof outcomes[1], "%s/activated.outcomes", rehearse->work);
    if (config->to != 0)
        snprintf(to, sizeof to, "%u", config->to);
    else
        strcpy(to, "max");
    snprintf(at, sizeof at, "%" PRIu64, config->at != 0 ? config->at : rehearse->first_seq);
    const char *activate[] = {"--activate", to, "--at", at, NULL};
    if (rehearse_has_replay(rehearse->old.binary))
        rehearse_replay_run(rehearse, &rehearse->old, NULL, NULL);
    else
        rehearse_old_by_serve(rehearse, &rehearse->old);
    rehearse_replay_run(rehearse, &rehearse->new, NULL, outcomes[0]);
    rehearse_replay_run(rehearse, &rehearse->activated, activate, outcomes[1]);
    rehearse_compare(rehearse);
    if (rehearse->new.ok && rehearse->activated.ok &&
        rehearse_diff(rehearse, outcomes[0], outcomes[1]) != 0) {
        rehearse->activated.ok = false;
        snprintf(rehearse->activated.error, sizeof rehearse->activated.error,
                 "its outcomes do not line up with new's (%.150s)", outcomes[1]);
    }
}

static int rehearse_work(struct rehearse *rehearse, char *errmsg, size_t size)
{
    const char *dir = rehearse->config->work_dir;
    if (dir != NULL) {
        snprintf(rehearse->work, sizeof rehearse->work, "%s", dir);
        if (mkdir(dir, 0755) != 0) {
            snprintf(errmsg, size, "%.300s: %s (it must not exist yet)", dir, strerror(errno));
            return ERR_IO;
        }
        return 0;
    }
    snprintf(rehearse->work, sizeof rehearse->work, "/tmp/nodown-rehearse-XXXXXX");
    if (mkdtemp(rehearse->work) == NULL) {
        snprintf(errmsg, size, "%.200s: %s", rehearse->work, strerror(errno));
        return ERR_IO;
    }
    return 0;
}

int rehearse_run(const struct rehearse_config *config)
{
    static struct rehearse rehearse;
    memset(&rehearse, 0, sizeof rehearse);
    rehearse.config = config;
    ssize_t length = readlink("/proc/self/exe", rehearse.self, sizeof rehearse.self - 1);
    rehearse.self[length > 0 ? length : 0] = '\0';
    rehearse.old = (struct rehearse_replay){
        .name = "old", .binary = config->binary_old ? config->binary_old : rehearse.self};
    rehearse.new = (struct rehearse_replay){.name = "new", .binary = config->binary_new};
    rehearse.activated = (struct rehearse_replay){.name = "activated",
                                                  .binary = config->binary_new};
    char errmsg[512] = "";
    int rv = rehearse_work(&rehearse, errmsg, sizeof errmsg);
    if (rv == 0)
        rv = rehearse_source(&rehearse, errmsg, sizeof errmsg);
    if (rv == 0) {
        rehearse_replays(&rehearse);
        rehearse_report(&rehearse);
    } else {
        fprintf(stderr, "nodown rehearse: %s\n", errmsg);
    }
    if (config->work_dir == NULL && rehearse.work[0] != '\0') {
        const char *rm[] = {"/bin/rm", "-rf", rehearse.work, NULL};
        rehearse_spawn_wait(rm, NULL, 60000);
    }
    bool good = rehearse.old.ok && rehearse.new.ok && rehearse.activated.ok && rehearse.equal;
    rehearse_replay_free(&rehearse.old);
    rehearse_replay_free(&rehearse.new);
    rehearse_replay_free(&rehearse.activated);
    return rv != 0 ? 2 : good ? 0 : 1;
}
