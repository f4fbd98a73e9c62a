/* What the rehearsal's files share (rehearse.c: the source and the
 * flow; rehearse_replays.c: the replays run as child processes;
 * rehearse_diff.c: the outcomes compared and the report). */
#ifndef NODOWN_OPS_REHEARSE_INTERNAL_H
#define NODOWN_OPS_REHEARSE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "ops/rehearse.h"

/* Differences kept: groups, and sequences shown per group. */
#define REHEARSE_GROUPS_MAX 64u
#define REHEARSE_GROUP_SEQS_MAX 5u
/* How long one replay, or the old node catching up, may take. */
#define REHEARSE_REPLAY_TIMEOUT_MS 900000
#define REHEARSE_SERVE_TIMEOUT_MS 120000

/* One replay's result, from its JSON (or the old node's /status). */
struct rehearse_replay {
    const char *name;           /* "old", "new", "activated" */
    const char *binary;
    bool by_serve;              /* a build without `replay`: its serve */
    bool ok;
    char error[256];
    char release[32];
    uint64_t first_seq;
    uint64_t last_seq;
    uint64_t messages;
    uint64_t commands;
    uint64_t stopped_seq;
    double commands_per_s;
    uint32_t logic_start;
    uint32_t logic_end;
    uint32_t checkpoint_count;
    uint64_t *checkpoint_seqs;
    char (*checkpoint_digests)[33];
    uint32_t activation_version; /* 0: none */
    uint64_t activation_seq;
    char activation_result[48];
    double migration_us;
};

struct rehearse_group {
    char command[32];
    char before[48];
    char after[48];
    char fields[32];            /* "result", or what else differs */
    uint64_t count;
    uint64_t seqs[REHEARSE_GROUP_SEQS_MAX];
};

struct rehearse {
    const struct rehearse_config *config;
    char work[REHEARSE_PATH_MAX];
    char snapshot[REHEARSE_PATH_MAX + 64]; /* "" when none: the empty state */
    char stream[REHEARSE_PATH_MAX + 16];
    char store_dir[REHEARSE_PATH_MAX + 16]; /* a copy of DIR/nats, or "" */
    char self[REHEARSE_PATH_MAX];           /* this binary */
    uint64_t snapshot_seq;
    uint64_t first_seq;
    uint64_t last_seq;
    uint64_t messages;
    struct rehearse_replay old;
    struct rehearse_replay new;
    struct rehearse_replay activated;
    bool compared;              /* old and new compared */
    bool equal;
    uint32_t checkpoints_equal;
    uint64_t divergence_seq;    /* 0: none */
    uint64_t difference_count;
    uint32_t group_count;
    uint64_t groups_dropped;    /* differences past REHEARSE_GROUPS_MAX groups */
    struct rehearse_group groups[REHEARSE_GROUPS_MAX];
};

/* rehearse_replays.c */
int rehearse_replay_run(struct rehearse *rehearse, struct rehearse_replay *replay,
                        const char *const *extra, const char *outcomes);
int rehearse_old_by_serve(struct rehearse *rehearse, struct rehearse_replay *replay);
bool rehearse_has_replay(const char *binary);
void rehearse_replay_free(struct rehearse_replay *replay);
int rehearse_spawn_wait(const char *const *argv, const char *out_path, int timeout_ms);

/* rehearse_diff.c */
int rehearse_diff(struct rehearse *rehearse, const char *before_path, const char *after_path);
void rehearse_report(const struct rehearse *rehearse);

#endif
