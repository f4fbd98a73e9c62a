/* FIX 4.4 orders to commands and outcomes to reports (fix_app.h). */
#include "fix/fix_app.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "core/result.h"

static enum fix_request_result fix_missing(uint32_t *tag, const char **why, uint32_t t)
{
    *tag = t;
    *why = "required tag missing or not a whole number";
    return FIX_REQUEST_SESSION_REJECT;
}

static enum fix_request_result fix_refuse(uint32_t *tag, const char **why, uint32_t t,
                                          const char *text)
{
    *tag = t;
    *why = text;
    return FIX_REQUEST_REFUSED;
}

/* One character of a value (0 when absent or longer). */
static char fix_char(const struct fix_msg *msg, uint32_t tag)
{
    size_t length = 0;
    const char *v = fix_get(msg, tag, &length);
    return v != NULL && length == 1 ? v[0] : 0;
}

static enum fix_request_result fix_read_side_type(const struct fix_msg *msg,
                                                  struct fix_request *req, uint32_t *tag,
                                                  const char **why)
{
    char side = fix_char(msg, 54);
    if (side == 0)
        return fix_missing(tag, why, 54);
    if (side != '1' && side != '2')
        return fix_refuse(tag, why, 54, "Side(54): 1 buy or 2 sell only");
    req->side = side == '1' ? SIDE_BUY : SIDE_SELL;
    if (req->kind == 'F')
        return FIX_REQUEST_OK;
    char type = fix_char(msg, 40);
    if (type == 0)
        return fix_missing(tag, why, 40);
    if (type != '1' && type != '2')
        return fix_refuse(tag, why, 40, "OrdType(40): 1 market or 2 limit only");
    req->order_type = type == '1' ? ORDER_TYPE_MARKET : ORDER_TYPE_LIMIT;
    size_t length = 0;
    const char *tif = fix_get(msg, 59, &length);
    char t = tif == NULL ? '0' : length == 1 ? tif[0] : 'x';
    const char *tifs = "0134";
    const char *at = strchr(tifs, t);
    if (t == 0 || at == NULL)
        return fix_refuse(tag, why, 59, "TimeInForce(59): 0 Day, 1 GTC, 3 IOC, 4 FOK only");
    static const uint8_t map[] = {TIF_DAY, TIF_GTC, TIF_IOC, TIF_FOK};
    req->time_in_force = map[at - tifs];
    return FIX_REQUEST_OK;
}

static enum fix_request_result fix_read_numbers(const struct fix_msg *msg,
                                                struct fix_request *req, uint32_t *tag,
                                                const char **why)
{
    uint64_t value = 0;
    bool present = false;
    if (!fix_get_u64(msg, 55, &value, &present))
        return present ? fix_refuse(tag, why, 55, "Symbol(55) must be an instrument id")
                       : fix_missing(tag, why, 55);
    if (value >= UINT32_MAX)
        return fix_refuse(tag, why, 55, "Symbol(55) must be an instrument id");
    req->instrument_id = (uint32_t)value;
    if (req->kind == 'F')
        return FIX_REQUEST_OK;
    if (!fix_get_u64(msg, 38, &value, &present))
        return present ? fix_refuse(tag, why, 38, "OrderQty(38) must be a whole number")
                       : fix_missing(tag, why, 38);
    req->quantity = (int64_t)value;
    if (req->order_type == ORDER_TYPE_MARKET && fix_get(msg, 44, NULL) == NULL)
        return FIX_REQUEST_OK;
    if (!fix_get_u64(msg, 44, &value, &present))
        return present ? fix_refuse(tag, why, 44, "Price(44) must be a whole number of ticks")
                       : fix_missing(tag, why, 44);
    req->price_ticks = (int64_t)value;
    return FIX_REQUEST_OK;
}

enum fix_request_result fix_request_read(const struct fix_msg *msg, char kind,
                                         struct fix_request *req, uint32_t *tag,
                                         const char **why)
{
    assert(kind == 'D' || kind == 'F' || kind == 'G');
    memset(req, 0, sizeof *req);
    req->kind = kind;
    if (!fix_get_text(msg, 11, req->clordid, sizeof req->clordid))
        return fix_missing(tag, why, 11);
    enum fix_request_result rv = fix_read_side_type(msg, req, tag, why);
    if (rv == FIX_REQUEST_OK)
        rv = fix_read_numbers(msg, req, tag, why);
    if (rv != FIX_REQUEST_OK || kind == 'D')
        return rv;
    fix_get_text(msg, 41, req->orig_clordid, sizeof req->orig_clordid);
    uint64_t id = 0;
    bool present = false;
    if (fix_get_u64(msg, 37, &id, &present))
        req->order_id = id;
    else if (present)
        return fix_refuse(tag, why, 37, "OrderID(37) must be nodown's order id");
    if (!present && req->orig_clordid[0] == '\0')
        return fix_missing(tag, why, 41);
    return FIX_REQUEST_OK;
}

void fix_request_command(const struct fix_request *req, struct command *command)
{
    memset(command, 0, sizeof *command);
    command->client_seq = req->seq;
    if (req->kind == 'D') {
        command->type = COMMAND_ORDER_PLACE;
        command->u.order_place.instrument_id = req->instrument_id;
        command->u.order_place.side = req->side;
        command->u.order_place.order_type = req->order_type;
        command->u.order_place.time_in_force = req->time_in_force;
        command->u.order_place.price_ticks = req->price_ticks;
        command->u.order_place.quantity = req->quantity;
        command->u.order_place.client_order_id = req->seq;
    } else if (req->kind == 'F') {
        command->type = COMMAND_ORDER_CANCEL;
        command->u.order_cancel.order_id = req->order_id;
    } else {
        command->type = COMMAND_ORDER_REPLACE;
        command->u.order_replace.order_id = req->order_id;
        command->u.order_replace.price_ticks = req->price_ticks;
        command->u.order_replace.quantity = req->quantity;
    }
}

const char *fix_report_type(const struct fix_request *req, const struct outcome *outcome)
{
    return req->kind != 'D' && outcome->result != RESULT_OK ? "9" : "8";
}

/* OrdRejReason(103) of a reject. */
static int fix_rej_reason(int result)
{
    switch (result) {
    case REJECT_INSTRUMENT_UNKNOWN: return 1;
    case REJECT_PHASE_CLOSED: return 2;
    case REJECT_QUANTITY_ABOVE_MAX:
    case REJECT_NOTIONAL_ABOVE_MAX: return 3;
    case REJECT_ORDER_UNKNOWN: return 5;
    case REJECT_PRICE_OFF_TICK:
    case REJECT_PRICE_OUTSIDE_BAND: return 16;
    case REJECT_ORDER_TYPE_INVALID: return 11;
    default: return 99;
    }
}

static void fix_reason_text(struct fix_writer *w, const struct outcome *outcome,
                            const char *text)
{
    char buf[160];
    if (text != NULL)
        snprintf(buf, sizeof buf, "%s", text);
    else
        snprintf(buf, sizeof buf, "%s: %s", result_name(outcome->result),
                 result_text(outcome->result));
    fix_write_str(w, 58, buf);
}

static void fix_cancel_reject(struct fix_writer *w, const struct fix_request *req,
                              const struct outcome *outcome, const char *text)
{
    fix_write_u64(w, 37, req->order_id != 0 ? req->order_id : outcome->id);
    fix_write_str(w, 11, req->clordid);
    fix_write_str(w, 41, req->orig_clordid[0] != '\0' ? req->orig_clordid : "NONE");
    fix_write_str(w, 39, "8");
    fix_write_str(w, 434, req->kind == 'F' ? "1" : "2");
    fix_write_str(w, 102, outcome->result == REJECT_ORDER_UNKNOWN ? "1" : "99");
    fix_reason_text(w, outcome, text);
}

/* ExecType(150), OrdStatus(39), CumQty(14) and LeavesQty(151) of a
 * successful outcome. */
static void fix_exec_state(const struct fix_request *req, const struct outcome *outcome,
                           const struct fix_fill *fill, char *exec_type, char *status,
                           int64_t *cum, int64_t *leaves)
{
    *cum = 0;
    *leaves = 0;
    if (req->kind == 'F') {
        *cum = fill != NULL ? fill->cum : 0;
        *exec_type = '4';
        *status = '4';
        return;
    }
    if (req->kind == 'G') {
        *cum = (int64_t)outcome->replace_filled;
        *leaves = req->quantity - *cum > 0 ? req->quantity - *cum : 0;
        *exec_type = '5';
        *status = *leaves == 0 ? '2' : *cum > 0 ? '1' : '0';
        return;
    }
    *cum = fill != NULL ? fill->cum : outcome->value;
    bool rests = req->order_type == ORDER_TYPE_LIMIT &&
                 (req->time_in_force == TIF_DAY || req->time_in_force == TIF_GTC);
    *leaves = rests ? req->quantity - *cum : 0;
    *exec_type = *cum > 0 ? 'F' : rests ? '0' : '4';
    *status = *cum == req->quantity ? '2' : !rests ? '4' : *cum > 0 ? '1' : '0';
}

void fix_report_write(struct fix_writer *w, const struct fix_request *req,
                      const struct outcome *outcome, const struct fix_fill *fill,
                      uint64_t exec_id, const char *text)
{
    if (req->kind != 'D' && outcome->result != RESULT_OK) {
        fix_cancel_reject(w, req, outcome, text);
        return;
    }
    bool ok = outcome->result == RESULT_OK && text == NULL;
    char exec_type = '8', status = '8';
    int64_t cum = 0, leaves = 0;
    if (ok)
        fix_exec_state(req, outcome, fill, &exec_type, &status, &cum, &leaves);
    fix_write_u64(w, 37, outcome->id);
    fix_write_str(w, 11, req->clordid);
    if (req->kind != 'D' && req->orig_clordid[0] != '\0')
        fix_write_str(w, 41, req->orig_clordid);
    fix_write_u64(w, 17, exec_id);
    fix_write_mem(w, 150, &exec_type, 1);
    fix_write_mem(w, 39, &status, 1);
    fix_write_u64(w, 55, req->instrument_id);
    fix_write_str(w, 54, req->side == SIDE_BUY ? "1" : "2");
    if (req->kind != 'F')
        fix_write_i64(w, 38, req->quantity);
    fix_write_i64(w, 151, leaves);
    fix_write_i64(w, 14, cum);
    int64_t px = req->order_type == ORDER_TYPE_LIMIT && cum > 0 ? req->price_ticks : 0;
    int64_t last_qty = cum, last_px = px;
    if (fill != NULL && fill->cum > 0) {
        px = fill->notional / fill->cum; /* whole ticks: the fraction is dropped */
        last_qty = fill->last_qty;
        last_px = fill->last_px;
    }
    fix_write_i64(w, 6, px);
    if (exec_type == 'F') {
        fix_write_i64(w, 32, last_qty);
        fix_write_i64(w, 31, last_px);
    }
    if (!ok) {
        fix_write_u64(w, 103, (uint64_t)fix_rej_reason(outcome->result));
        fix_reason_text(w, outcome, text);
    }
}
