/* Exactly-once sessions: per (account, client_id), the last client_seq
 * applied and the outcomes of the last SESSION_OUTCOMES commands. Sessions
 * live as long as the state; the table is bounded by limits.sessions_max.
 */
#ifndef NODOWN_CORE_SESSION_H
#define NODOWN_CORE_SESSION_H

#include <stdint.h>

#include "core/state.h"

uint32_t session_find(const struct engine *engine, uint32_t account_id, uint64_t client_id);

/* Creates an empty session; the caller checked that one is free. */
uint32_t session_create(struct engine *engine, uint32_t account_id, uint64_t client_id);

#endif
