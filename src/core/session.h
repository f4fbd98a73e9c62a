/* Exactly-once sessions: per (account, client_id), the last client_seq
 * applied and the outcomes of its last session_window() commands.
 *
 * Before logic version 3 a session lives as long as the state and the
 * table, limits.sessions_max, is refused to new ones once full. From logic
 * version 3 (LOGIC_VERSION_SESSION_BOUNDS) sessions are bounded
 * (docs/protocol.md, Session bounds):
 *   - an account holds at most limits.sessions_per_account_max: opening
 *     one more evicts its least recently used;
 *   - a full table evicts the least recently used session of any account;
 *   - DAY_END frees the sessions unused for limits.session_idle_days
 *     trading days;
 *   - an account remembers the highest last_seq of its sessions that went
 *     (its horizon); a command of the account with no session and a
 *     client_seq at or below the horizon is refused, never applied.
 * "Least recently used" is by stream order: each use stamps the session
 * with engine->session_clock, never a clock or an address.
 */
#ifndef NODOWN_CORE_SESSION_H
#define NODOWN_CORE_SESSION_H

#include <stdint.h>

#include "core/command.h"
#include "core/state.h"

/* The commands a session's outcomes are remembered for under a logic
 * version (limits.h): 8, then 32 from version 2. */
uint32_t session_window(uint32_t logic_version);

uint32_t session_find(const struct engine *engine, uint32_t account_id, uint64_t client_id);

/* Adds an empty session, least recently used of all, with no eviction:
 * the caller checked that a slot is free. For the snapshot decoder and
 * session_open(). */
uint32_t session_insert(struct engine *engine, uint32_t account_id, uint64_t client_id);

/* Opens a session for a command that was applied. From logic version 3 it
 * first evicts what the bounds ask for; before, the caller checked that
 * the table has room. The new session is the most recently used. */
uint32_t session_open(struct engine *engine, uint32_t account_id, uint64_t client_id);

/* A command of the session is being applied (logic version 3: it becomes
 * the most recently used; before, nothing). */
void session_touch(struct engine *engine, uint32_t slot);

/* Remembers the outcome of client_seq, above the session's last one. */
void session_remember(struct engine *engine, uint32_t slot, uint64_t client_seq,
                      const struct outcome *outcome);

/* A resend: its first outcome, or a stale reject once it left the ring. */
void session_replay(const struct session *session, uint64_t client_seq,
                    struct outcome *outcome);

/* DAY_END from logic version 3: frees the sessions unused for
 * limits.session_idle_days trading days. Returns how many. */
uint32_t session_day_end(struct engine *engine);

/* The move to logic version 3: every session gets a place in the
 * least-recently-used order, by (account_id, client_id). */
void session_logic_3(struct engine *engine);

/* Rebuilds both lists from the sessions' last_used stamps (ties by key):
 * after a snapshot is decoded. */
void session_relink(struct engine *engine);

/* Checks the lists against the sessions; returns 0 or a reason. */
const char *session_check(const struct engine *engine);

#endif
