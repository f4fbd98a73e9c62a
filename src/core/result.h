/* Errors and rejects, each from one X-macro.
 *
 * An error (negative ERR_*) means the caller must not go on as if nothing
 * happened: a decoder met malformed bytes, a node met a logic version it
 * cannot run. A reject (positive REJECT_*) is a business result: the
 * command was valid input, was ordered by the log, and the state machine
 * said no, with one name per reason. RESULT_OK is 0.
 */
#ifndef NODOWN_CORE_RESULT_H
#define NODOWN_CORE_RESULT_H

#define ERRORS(X)                                                              \
    X(ERR_NOMEM, -1, "out of memory at init")                                  \
    X(ERR_LIMITS, -2, "limits out of range")                                   \
    X(ERR_LOGIC_UNSUPPORTED, -3, "logic version not supported by this build")  \
    X(ERR_DECODE_NEED_MORE, -4, "need more bytes")                             \
    X(ERR_DECODE_MALFORMED, -5, "malformed")                                   \
    X(ERR_VERSION, -6, "unsupported format version")                           \
    X(ERR_CHECKSUM, -7, "checksum mismatch")                                   \
    X(ERR_INVARIANT, -8, "invariant violated")                                 \
    X(ERR_CAPACITY, -9, "state does not fit the configured limits")            \
    X(ERR_IO, -10, "input/output error")                                       \
    X(ERR_USAGE, -11, "bad usage")                                             \
    X(ERR_REPLICA_GAP, -12, "stream sequence is not the next one")             \
    X(ERR_TIMEOUT, -13, "timed out")                                           \
    X(ERR_REFUSED, -14, "refused by the peer")                                 \
    X(ERR_NOT_FOUND, -15, "not found")

#define REJECTS(X)                                                             \
    X(RESULT_OK, 0, "ok")                                                      \
    X(REJECT_COMMAND_UNKNOWN, 1, "unknown command type")                       \
    X(REJECT_SEQUENCE_ZERO, 2, "client sequence must start at 1")              \
    X(REJECT_SEQUENCE_STALE, 3, "client sequence already used, outcome gone")  \
    X(REJECT_SESSIONS_FULL, 4, "too many client sessions")                     \
    X(REJECT_SENDER_UNKNOWN, 5, "sending account does not exist")              \
    X(REJECT_SENDER_INACTIVE, 6, "sending account or its parent inactive")     \
    X(REJECT_NOT_AUTHORIZED, 7, "not authorized for this account or command")  \
    X(REJECT_ACCOUNT_UNKNOWN, 8, "account does not exist")                     \
    X(REJECT_ACCOUNT_KIND, 9, "account kind not allowed here")                 \
    X(REJECT_ACCOUNTS_FULL, 10, "too many accounts")                           \
    X(REJECT_ACCOUNT_CLOSED, 11, "account is closed")                          \
    X(REJECT_STATUS_INVALID, 12, "invalid status")                             \
    X(REJECT_AMOUNT_INVALID, 13, "amount out of range")                        \
    X(REJECT_CREDIT_ABOVE_PARENT, 14, "credit limit above the parent's")       \
    X(REJECT_FUNDS_INSUFFICIENT, 15, "insufficient funds or credit")           \
    X(REJECT_SHARE_INVALID, 16, "position-taking share out of range")          \
    X(REJECT_SHARE_ABOVE_MAX, 17, "share above the maximum the parent allows") \
    X(REJECT_MARKET_TYPE_INVALID, 18, "invalid market type")                   \
    X(REJECT_OVERRIDES_FULL, 19, "too many position-taking overrides")         \
    X(REJECT_INSTRUMENT_UNKNOWN, 20, "instrument does not exist")              \
    X(REJECT_INSTRUMENTS_FULL, 21, "too many instruments")                     \
    X(REJECT_INSTRUMENT_INVALID, 22, "instrument parameters invalid")          \
    X(REJECT_PHASE_INVALID, 23, "invalid phase or transition")                 \
    X(REJECT_PHASE_CLOSED, 24, "instrument not open for this order")           \
    X(REJECT_SIDE_INVALID, 25, "invalid side")                                 \
    X(REJECT_ORDER_TYPE_INVALID, 26, "invalid order type or time in force")    \
    X(REJECT_PRICE_OFF_TICK, 27, "price is not a positive tick count")         \
    X(REJECT_PRICE_OUTSIDE_BAND, 28, "price outside the day's band")           \
    X(REJECT_QUANTITY_ZERO, 29, "quantity is zero or out of range")            \
    X(REJECT_QUANTITY_LOT, 30, "quantity is not a whole number of lots")       \
    X(REJECT_QUANTITY_ABOVE_MAX, 31, "quantity above the account maximum")     \
    X(REJECT_NOTIONAL_ABOVE_MAX, 32, "notional above the account maximum")     \
    X(REJECT_POSITION_INSUFFICIENT, 33, "position insufficient for the sell")  \
    X(REJECT_ORDERS_FULL, 34, "too many open orders")                          \
    X(REJECT_POSITIONS_FULL, 35, "too many positions")                         \
    X(REJECT_ORDER_UNKNOWN, 36, "order does not exist or is done")             \
    X(REJECT_FOK_UNFILLABLE, 37, "fill-or-kill order cannot fill whole")       \
    X(REJECT_MARKET_NO_LIQUIDITY, 38, "market order met an empty book")        \
    X(REJECT_REPLACE_INVALID, 39, "replace changes nothing or is invalid")     \
    X(REJECT_EVENT_UNKNOWN, 40, "sport event does not exist")                  \
    X(REJECT_EVENTS_FULL, 41, "too many sport events")                         \
    X(REJECT_MARKET_UNKNOWN, 42, "market does not exist")                      \
    X(REJECT_MARKETS_FULL, 43, "too many markets")                             \
    X(REJECT_MARKET_INVALID, 44, "market parameters invalid")                  \
    X(REJECT_MARKET_NOT_OPEN, 45, "market suspended or settled")               \
    X(REJECT_MARKET_SETTLED, 46, "market already settled")                     \
    X(REJECT_SELECTION_INVALID, 47, "selection does not exist")                \
    X(REJECT_ODDS_INVALID, 48, "odds out of range")                            \
    X(REJECT_ODDS_CHANGED, 49, "odds changed")                                 \
    X(REJECT_STAKE_LIMIT, 50, "stake outside the limits")                      \
    X(REJECT_EXPOSURE_LIMIT, 51, "a position-taking level's exposure limit")   \
    X(REJECT_BETS_FULL, 52, "too many open bets")                              \
    X(REJECT_EXPOSURES_FULL, 53, "too many exposure entries")                  \
    X(REJECT_RESULT_INVALID, 54, "invalid settlement result")                  \
    X(REJECT_DATE_INVALID, 55, "trading date invalid or not after current")    \
    X(REJECT_DAY_STATE, 56, "wrong daily-cycle state for this command")        \
    X(REJECT_LOGIC_VERSION, 57, "logic version not after the active one")     \
    X(REJECT_ACCOUNT_NOT_EMPTY, 58, "account still holds money, orders or bets")     \
    X(REJECT_LOGIC_NOT_EVERYWHERE, 59, "a node of the stream cannot run that logic version") \
    X(REJECT_SELECTION_COUNT, 60, "not one price or result per selection of the market") \
    X(REJECT_CREDIT_ABOVE_PARENT_TOTAL, 61, "children's credit in total above the parent's") \
    X(REJECT_SESSION_EVICTED, 62, "session evicted: log on again, go on above its sequence") \
    X(REJECT_SECRET_CHANGE_REQUIRED, 63, "set your own secret first: another account set this one")\
    X(REJECT_COMMISSION_INVALID, 64, "commission rate above 10 % of the stake")        \
    X(REJECT_COMMISSION_ABOVE_PARENT, 65, "commission rate above the parent's own")    \
    X(REJECT_LOGIC_NOT_ACTIVE, 66, "command needs a logic version not active yet")

enum error_code {
#define ERROR_ENUM(name, value, text) name = value,
    ERRORS(ERROR_ENUM)
#undef ERROR_ENUM
};

enum result_code {
#define REJECT_ENUM(name, value, text) name = value,
    REJECTS(REJECT_ENUM)
#undef REJECT_ENUM
    RESULT_CODE_COUNT
};

const char *err_text(int error_code);
const char *err_name(int error_code);
const char *result_text(int result_code);
const char *result_name(int result_code);

#endif
