/* Exactly-once sessions: per (account, client_id), the last client_seq
 * applied and the outcomes of its last session_window() commands. Sessions
 * live as long as the state; the table is bounded by limits.sessions_max.
 */
#ifndef NODOWN_CORE_SESSION_H
#define NODOWN_CORE_SESSION_H

#include <stdint.h>

#include "core/state.h"

/* The commands a session's outcomes are remembered for under a logic
 * version (limits.h): 8, then 32 from version 2. */
uint32_t session_window(uint32_t logic_version);

uint32_t session_find(const struct engine *engine, uint32_t account_id, uint64_t client_id);

/* Creates an empty session; the caller checked that one is free. */
uint32_t session_create(struct engine *engine, uint32_t account_id, uint64_t client_id);

#endif
