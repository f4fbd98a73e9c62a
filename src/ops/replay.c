/* `nodown replay` (replay.h): a snapshot and a stream copy through this
 * build's state machine, one command at a time, exactly as a replica
 * applies them (replica_apply: the message's stored time made monotonic,
 * a batch that does not decode applied as no command), with what a
 * rehearsal compares written out as it goes. */
#include "ops/replay.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "codec/command_codec.h"
#include "lib/clock.h"
#include "lib/mem.h"
#include "ops/stream_copy.h"
#include "replica/replica.h"
#include "replica/versions.h"

struct replay {
    const struct replay_config *config;
    struct replica replica; /* the snapshot's loader and the state */
    FILE *out;
    FILE *outcomes;
    uint32_t event_count;   /* of the command being applied */
    uint64_t snapshot_seq;
    uint64_t first_seq;
    uint64_t messages;
    uint64_t commands;
    uint64_t malformed;
    uint64_t apply_ns;      /* decoding and applying, not the digests */
    uint32_t logic_start;
    uint32_t activate_version;
    bool activation_done;
    uint64_t activation_seq;
    uint16_t activation_result;
    uint64_t migration_ns;
    uint64_t stopped_seq;
    uint32_t checkpoint_count;
};

static void replay_event_count(void *context, const struct event *event)
{
    struct replay *replay = context;
    (void)event;
    replay->event_count++;
}

/* The sequence a snapshot file says it holds (its header). */
static int replay_snapshot_seq(const char *path, uint64_t *seq)
{
    uint8_t header[16];
    FILE *file = fopen(path, "rb");
    size_t got = file != NULL ? fread(header, 1, sizeof header, file) : 0;
    if (file != NULL)
        fclose(file);
    if (got != sizeof header)
        return ERR_IO;
    *seq = 0;
    for (int i = 0; i < 8; i++)
        *seq |= (uint64_t)header[8 + i] << (8 * i);
    return 0;
}

/* path made absolute, for a link from another directory. */
static int replay_absolute(const char *path, char *out, size_t size)
{
    char cwd[PATH_MAX];
    if (path[0] == '/')
        return snprintf(out, size, "%s", path) < (int)size ? 0 : -1;
    if (getcwd(cwd, sizeof cwd) == NULL)
        return -1;
    return snprintf(out, size, "%s/%s", cwd, path) < (int)size ? 0 : -1;
}

/* Loads the snapshot (or the empty state) through replica_open, from a
 * private directory holding only a link to the file. */
static int replay_load(struct replay *replay, char *errmsg, size_t errmsg_size)
{
    const char *path = replay->config->snapshot_path;
    char dir[] = "/tmp/nodown-replay-XXXXXX";
    char snapshots[sizeof dir + 16];
    char link[REPLICA_PATH_MAX + 64] = "";
    char target[PATH_MAX];
    uint64_t seq = 0;
    if (path != NULL && (replay_snapshot_seq(path, &seq) != 0 ||
                         replay_absolute(path, target, sizeof target) != 0)) {
        snprintf(errmsg, errmsg_size, "%s: cannot read it", path);
        return ERR_IO;
    }
    if (mkdtemp(dir) == NULL) {
        snprintf(errmsg, errmsg_size, "%s: %s", dir, strerror(errno));
        return ERR_IO;
    }
    snprintf(snapshots, sizeof snapshots, "%s/snapshots", dir);
    int rv = 0;
    if (path != NULL) {
        replica_snapshot_path(snapshots, seq, "", link, sizeof link);
        rv = mkdir(snapshots, 0755) == 0 && symlink(target, link) == 0 ? 0 : ERR_IO;
    }
    struct limits limits;
    limits_default(&limits);
    if (rv == 0)
        rv = replica_open(&replay->replica, dir, &limits, errmsg, errmsg_size);
    if (link[0] != '\0')
        unlink(link);
    rmdir(snapshots);
    rmdir(dir);
    if (rv == 0 && replay->replica.applied_seq != seq) {
        snprintf(errmsg, errmsg_size, "%s: the snapshot does not load in this build", path);
        rv = ERR_DECODE_MALFORMED;
    }
    replay->snapshot_seq = seq;
    return rv;
}

/* ACTIVATE_LOGIC from the house, applied before message seq's commands. */
static int replay_activate(struct replay *replay, uint64_t seq, char *errmsg, size_t errmsg_size)
{
    struct command command;
    memset(&command, 0, sizeof command);
    command.type = COMMAND_ACTIVATE_LOGIC;
    command.sender_account_id = 0;
    command.client_id = REPLAY_CLIENT_ID;
    command.client_seq = 1;
    command.u.activate_logic.logic_version = replay->activate_version;
    struct outcome outcome;
    uint64_t start_ns = clock_now_ns();
    int rv = engine_apply(&replay->replica.engine, replay->replica.time_ns, &command, NULL,
                          &outcome);
    replay->migration_ns = clock_now_ns() - start_ns;
    replay->activation_done = true;
    replay->activation_seq = seq;
    if (rv != 0) {
        snprintf(errmsg, errmsg_size, "ACTIVATE_LOGIC %u at %" PRIu64 ": %s",
                 replay->activate_version, seq, err_text(rv));
        return rv;
    }
    replay->activation_result = outcome.result;
    return 0;
}

/* Applies one message; 1 when it stops the replay (a version this build
 * cannot run), as it stops a replica. */
static int replay_message(struct replay *replay, uint64_t seq, uint64_t timestamp_ns,
                          const uint8_t *data, size_t size, char *errmsg, size_t errmsg_size)
{
    struct replica *replica = &replay->replica;
    assert(seq == replica->applied_seq + 1);
    if (timestamp_ns > replica->time_ns)
        replica->time_ns = timestamp_ns;
    if (replay->activate_version != 0 && !replay->activation_done &&
        seq >= replay->config->activate_at) {
        int rv = replay_activate(replay, seq, errmsg, errmsg_size);
        if (rv != 0)
            return rv;
    }
    uint64_t batch_time_ns = 0;
    uint32_t count = 0;
    if (batch_decode(data, size, &batch_time_ns, replica->commands, BATCH_COMMANDS_MAX,
                     &count) != 0) {
        replay->malformed++;
        count = 0;
    }
    struct event_sink sink = {.emit_cb = replay_event_count, .context = replay};
    for (uint32_t i = 0; i < count; i++) {
        struct outcome outcome;
        replay->event_count = 0;
        if (engine_apply(&replica->engine, replica->time_ns, &replica->commands[i], &sink,
                         &outcome) == ERR_LOGIC_UNSUPPORTED) {
            replay->stopped_seq = seq;
            return 1;
        }
        replay->commands++;
        if (replay->outcomes != NULL)
            fprintf(replay->outcomes, "%" PRIu64 " %u %s %s %" PRIu64 " %" PRId64 " %u\n", seq,
                    i, command_type_name(replica->commands[i].type), result_name(outcome.result),
                    outcome.id, outcome.value, replay->event_count);
    }
    replica->applied_seq = seq;
    replay->messages++;
    return 0;
}

static void replay_checkpoint(struct replay *replay, uint64_t seq)
{
    struct digest digest;
    char text[33];
    engine_digest(&replay->replica.engine, &digest);
    digest_format(&digest, text);
    fprintf(replay->out, "%s\n{\"seq\":%" PRIu64 ",\"digest\":\"%s\"}",
            replay->checkpoint_count > 0 ? "," : "", seq, text);
    replay->checkpoint_count++;
}

static bool replay_is_checkpoint(const struct replay *replay, uint64_t seq)
{
    const struct replay_config *config = replay->config;
    return (config->checkpoint_every != 0 && seq % config->checkpoint_every == 0) ||
           (config->every_from != 0 && seq >= config->every_from);
}

/* Every message of the copy after the snapshot, to until. */
static int replay_stream(struct replay *replay, struct stream_copy_reader *reader, char *errmsg,
                         size_t errmsg_size)
{
    uint64_t seq = 0;
    uint64_t timestamp_ns = 0;
    const uint8_t *data = NULL;
    size_t size = 0;
    int rv;
    while ((rv = stream_copy_next(reader, &seq, &timestamp_ns, &data, &size)) == 1) {
        if (seq <= replay->replica.applied_seq)
            continue; /* in the snapshot already */
        if (replay->config->until != 0 && seq > replay->config->until)
            break;
        if (seq != replay->replica.applied_seq + 1) {
            snprintf(errmsg, errmsg_size, "the stream copy lacks message %" PRIu64,
                     replay->replica.applied_seq + 1);
            return ERR_REPLICA_GAP;
        }
        if (replay->messages == 0)
            replay->first_seq = seq;
        uint64_t start_ns = clock_now_ns();
        rv = replay_message(replay, seq, timestamp_ns, data, size, errmsg, errmsg_size);
        replay->apply_ns += clock_now_ns() - start_ns;
        if (rv != 0)
            return rv == 1 ? 0 : rv;
        if (replay_is_checkpoint(replay, seq))
            replay_checkpoint(replay, seq);
    }
    if (rv < 0)
        snprintf(errmsg, errmsg_size, "the stream copy is cut short after %" PRIu64, seq);
    return rv < 0 ? rv : 0;
}

static void replay_print_head(const struct replay *replay)
{
    fprintf(replay->out,
            "{\"replay\":1,\"release\":\"%s\",\"commit\":\"%s\",\"logic\":{\"min\":%u,\"max\":%u}"
            ",\"snapshot_seq\":%" PRIu64 ",\"logic_start\":%u,\"checkpoints\":[",
            versions_release(), versions_commit(), LOGIC_VERSION_MIN,
            replay->replica.engine.logic_version_max, replay->snapshot_seq, replay->logic_start);
}

static void replay_print_tail(struct replay *replay)
{
    uint64_t applied = replay->replica.applied_seq;
    if (replay->stopped_seq == 0 && replay->messages > 0 && !replay_is_checkpoint(replay, applied))
        replay_checkpoint(replay, applied);
    double seconds = (double)replay->apply_ns / 1e9;
    fprintf(replay->out,
            "\n],\"first_seq\":%" PRIu64 ",\"last_seq\":%" PRIu64 ",\"messages\":%" PRIu64
            ",\"commands\":%" PRIu64 ",\"malformed\":%" PRIu64 ",\"apply_seconds\":%.6f"
            ",\"commands_per_s\":%.0f,\"logic_end\":%u,\"stopped_seq\":%" PRIu64,
            replay->first_seq, applied, replay->messages, replay->commands, replay->malformed,
            seconds, seconds > 0 ? (double)replay->commands / seconds : 0.0,
            replay->replica.engine.logic_version, replay->stopped_seq);
    if (replay->activation_done)
        fprintf(replay->out,
                ",\n\"activation\":{\"version\":%u,\"seq\":%" PRIu64 ",\"result\":\"%s\""
                ",\"migration_us\":%.1f}",
                replay->activate_version, replay->activation_seq,
                result_name(replay->activation_result), (double)replay->migration_ns / 1e3);
    fprintf(replay->out, "}\n");
}

static int replay_outcomes_open(struct replay *replay, char *errmsg, size_t errmsg_size)
{
    const char *path = replay->config->outcomes_path;
    if (path == NULL)
        return 0;
    replay->outcomes = fopen(path, "w");
    if (replay->outcomes == NULL) {
        snprintf(errmsg, errmsg_size, "%s: %s", path, strerror(errno));
        return ERR_IO;
    }
    fprintf(replay->outcomes, "nodown-outcomes %u\n", REPLAY_OUTCOMES_FORMAT);
    return 0;
}

int replay_run(const struct replay_config *config, FILE *out, char *errmsg, size_t errmsg_size)
{
    assert(config->stream_path != NULL);
    struct replay *replay = mem_array_alloc(1, sizeof *replay);
    if (replay == NULL)
        return ERR_NOMEM;
    memset(replay, 0, sizeof *replay);
    replay->config = config;
    replay->out = out;
    struct stream_copy_reader reader;
    int rv = stream_copy_open(&reader, config->stream_path, errmsg, errmsg_size);
    if (rv != 0) {
        mem_free(replay);
        return rv;
    }
    rv = replay_load(replay, errmsg, errmsg_size);
    bool loaded = rv == 0;
    uint32_t version = config->activate_version;
    replay->activate_version = version == REPLAY_ACTIVATE_MAX ? LOGIC_VERSION_MAX : version;
    replay->logic_start = replay->replica.engine.logic_version;
    if (rv == 0)
        rv = replay_outcomes_open(replay, errmsg, errmsg_size);
    if (rv == 0) {
        replay_print_head(replay);
        rv = replay_stream(replay, &reader, errmsg, errmsg_size);
        replay_print_tail(replay);
    }
    if (rv == 0 && version != 0 && !replay->activation_done) {
        snprintf(errmsg, errmsg_size, "no message at or after %" PRIu64 " to activate before",
                 config->activate_at);
        rv = ERR_USAGE;
    }
    if (replay->outcomes != NULL && fclose(replay->outcomes) != 0 && rv == 0)
        rv = ERR_IO;
    if (loaded)
        replica_close(&replay->replica);
    stream_copy_close(&reader);
    mem_free(replay);
    return rv;
}
