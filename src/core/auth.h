/* Authorization: may the sender of a command do it to its target?
 * Every rule of DESIGN.md "Who may do what" lives in auth.c, in one table
 * by command type, so the matrix test reads against one place.
 */
#ifndef NODOWN_CORE_AUTH_H
#define NODOWN_CORE_AUTH_H

#include "core/state.h"

/* RESULT_OK, or the reject: sender unknown or inactive, target unknown,
 * not authorized. For a cancel or replace, *order_slot gets the order's
 * slot (else INDEX_NONE), so the command need not look it up again. */
int auth_check(const struct engine *engine, const struct command *command,
               uint32_t *order_slot);

#endif
