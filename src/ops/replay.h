/* `nodown replay`: a snapshot and a copy of the stream after it
 * (stream_copy.h) applied by this build, with digests at checkpoints, the
 * speed, and optionally ACTIVATE_LOGIC N inserted before the commands of
 * one message, as the house would have published it. This is what
 * `nodown rehearse` runs of each build it compares, so its output is a
 * contract between builds (docs/upgrades.md, "Rehearsal"): one JSON object
 * on stdout, each checkpoint on its own line, and each command's outcome
 * on one line of an outcomes file:
 *
 *   nodown-outcomes 1
 *   SEQ INDEX COMMAND RESULT ID VALUE EVENTS
 *
 * (INDEX the command's place in its message, COMMAND and RESULT their
 * names, EVENTS how many events it emitted). The inserted activation is
 * not among them: the JSON's "activation" says what it did.
 */
#ifndef NODOWN_OPS_REPLAY_H
#define NODOWN_OPS_REPLAY_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define REPLAY_OUTCOMES_FORMAT 1u
#define REPLAY_CHECKPOINT_EVERY_DEFAULT 1000u
/* activate_version asking for this build's highest logic version. */
#define REPLAY_ACTIVATE_MAX UINT32_MAX
/* The session the inserted activation comes from: the house's, a client
 * id no gateway hands out ("rehearse" in ASCII). */
#define REPLAY_CLIENT_ID 0x7265686561727365ull

struct replay_config {
    const char *snapshot_path;  /* NULL: start from the empty state */
    const char *stream_path;    /* a stream copy */
    const char *outcomes_path;  /* NULL: none written */
    uint32_t activate_version;  /* 0: none */
    uint64_t activate_at;       /* before this message (0: the first) */
    uint64_t checkpoint_every;  /* a digest at every multiple of it */
    uint64_t every_from;        /* and at every message from it (0: none) */
    uint64_t until;             /* the last message applied (0: the copy's end) */
};

/* Runs the replay and prints its JSON on out. Returns 0, or an error
 * with errmsg (a snapshot that does not load, a gap in the copy, an
 * activation this build cannot run). A message of the stream that
 * activates a version this build cannot run ends the replay there, as a
 * node would stop: "stopped_seq" says where, and it is not an error. */
int replay_run(const struct replay_config *config, FILE *out, char *errmsg, size_t errmsg_size);

#endif
