/* Answers to the QUERY frames of the native protocol (docs/protocol.md,
 * "Queries"): what a logged-on account may read of the state, read from
 * this node's replica.
 *
 * gateway_query_answer() is pure: it reads the engine and fills a
 * QUERY_RESULT, with no I/O and no change to the state, so a test can
 * check every answer against a fixture engine and the gateway can call it
 * the moment a QUERY arrives. Who may read what:
 *
 *   account, positions, exposure   engine_may_read(reader, account): the
 *                                  account itself, a proper ancestor, or
 *                                  an operator (docs/authorization.md)
 *   order                          engine_may_read(reader, the order's
 *                                  owner); an order no longer open is
 *                                  answered from done, the orders this
 *                                  node saw finish (orders_done.h), with
 *                                  query_order.done set
 *   book, odds                     any account: they are market data, the
 *                                  prices every member trades at
 *
 * The reader must exist (REJECT_SENDER_UNKNOWN otherwise); its status is
 * not consulted, as for engine_may_read: a suspended member still reads
 * its own balance. Under logic versions 1 and 2 the object is looked up
 * before the reader's rights, as for commands (auth.c): an unknown id is
 * REJECT_ACCOUNT_UNKNOWN, REJECT_ORDER_UNKNOWN, REJECT_INSTRUMENT_UNKNOWN
 * or REJECT_MARKET_UNKNOWN, a known one the reader may not read is
 * REJECT_NOT_AUTHORIZED. From logic version 3 (LOGIC_VERSION_HIDDEN_TARGETS)
 * a reader is told nothing about accounts and orders it may not read: an
 * account unknown or not its to read is REJECT_NOT_AUTHORIZED (an operator
 * is still told REJECT_ACCOUNT_UNKNOWN), an order unknown or not its to
 * read REJECT_ORDER_UNKNOWN. Instruments and markets are public.
 */
#ifndef NODOWN_GATEWAY_QUERY_H
#define NODOWN_GATEWAY_QUERY_H

#include <stdint.h>

#include "codec/frame.h"
#include "core/engine.h"
#include "replica/orders_done.h"

/* Answers query for reader_account_id (the session's logged-on account).
 * Sets every field of *result that frame_encode() writes (the rest of the
 * struct is zeroed): request_id and query_type are the query's, result is
 * RESULT_OK with the rows, or a REJECT_* with no rows. Returns 0, or
 * ERR_USAGE for a query frame_decode() would have refused (unknown type,
 * level_count outside 1..QUERY_LEVELS_MAX, odds_format unknown): then
 * *result is a REJECT_COMMAND_UNKNOWN that frame_encode() still accepts
 * when query_type is known, and the gateway should treat the frame as
 * malformed. done may be NULL: then finished orders are unknown. */
int gateway_query_answer(const struct engine *engine, const struct orders_done *done,
                         uint32_t reader_account_id, const struct frame_query *query,
                         struct frame_query_result *result);

#endif
