/* The trading state machine: the one public interface of src/core.
 *
 * engine_apply() is a pure function of (state, time, command): the same
 * commands at the same times give the same outcomes, events and digest on
 * every replica and every build. The engine reads no clock, draws no random
 * number, uses no floating point, iterates nothing in address order, and
 * allocates nothing after engine_init().
 *
 *   engine_init --> [apply]* --> engine_digest / engine_check
 *        |                   \--> snapshot_encode --> snapshot_decode
 *        +--> engine_free            (into a fresh engine_init'd engine)
 */
#ifndef NODOWN_CORE_ENGINE_H
#define NODOWN_CORE_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "core/command.h"
#include "core/event.h"
#include "core/limits.h"
#include "core/result.h"
#include "core/state.h"

/* Allocates every pool from limits and creates the house (account 0, an
 * operator). Returns 0, ERR_LIMITS or ERR_NOMEM. */
int engine_init(struct engine *engine, const struct limits *limits);
void engine_free(struct engine *engine);

/* Lowers the highest logic version this run applies below the build's
 * LOGIC_VERSION_MAX: the node then behaves as a build that stops at the
 * next version would (serve --logic-max; tests and rehearsals of a mixed
 * cluster). Not part of the state: it decides only whether the replica
 * stops. Returns 0, or ERR_LOGIC_UNSUPPORTED when version is outside
 * LOGIC_VERSION_MIN..LOGIC_VERSION_MAX or below the active version. */
int engine_logic_version_max_set(struct engine *engine, uint32_t version);

/* Applies one command at stream time timestamp_ns (made monotonic inside).
 * Events go to sink (may be NULL); outcome gets the result the client is
 * told. Returns 0, or ERR_LOGIC_UNSUPPORTED when the command activates a
 * logic version this build cannot run: then nothing was changed and the
 * replica must stop applying. */
int engine_apply(struct engine *engine, uint64_t timestamp_ns, const struct command *command,
                 const struct event_sink *sink, struct outcome *outcome);

/* Applies count commands of one batch (one stream message) at the same
 * stream time, in order, exactly as engine_apply() one by one would, with
 * outcomes[i] for commands[i]; only faster, because while one command runs
 * the memory the next ones need is fetched. Returns 0, or the error of the
 * command that stopped it, with *applied_count telling how many went in. */
int engine_apply_batch(struct engine *engine, uint64_t timestamp_ns,
                       const struct command *commands, uint32_t count,
                       const struct event_sink *sink, struct outcome *outcomes,
                       uint32_t *applied_count);

/* 128-bit digest of the canonical encoding of the whole state. */
struct digest {
    uint64_t high;
    uint64_t low;
};
void engine_digest(const struct engine *engine, struct digest *digest);
void digest_format(const struct digest *digest, char text[33]);

/* Checks every invariant (docs/invariants.md). Returns 0, or ERR_INVARIANT
 * with the first violation described in errmsg. */
int engine_check(const struct engine *engine, char *errmsg, size_t errmsg_size);

/* May reader see target's account, positions and exposure? Self, an
 * ancestor, or an operator. */
int engine_may_read(const struct engine *engine, uint32_t reader_id, uint32_t target_id);

/* What a member may still commit: balance + credit - reserves - stakes. */
int64_t engine_available_minor(const struct engine *engine, uint32_t account_id);

/* The worst loss of a PT level on a market if one selection wins. */
int64_t engine_exposure_minor(const struct engine *engine, uint32_t account_id,
                              uint32_t market_id);

/* Book depth: up to level_count best levels of one side, best first.
 * Returns how many were written. */
struct depth_level {
    int64_t price_ticks;
    int64_t quantity;
};
uint32_t engine_book_depth(const struct engine *engine, uint32_t instrument_id, enum side side,
                           struct depth_level *levels, uint32_t level_count);

/* Position of account in instrument (0 when none). */
int64_t engine_position(const struct engine *engine, uint32_t account_id,
                        uint32_t instrument_id);

#endif
