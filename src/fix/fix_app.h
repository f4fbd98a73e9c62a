/* FIX 4.4 application messages to nodown's commands and back, no I/O
 * (docs/fix.md, "Orders"): NewOrderSingle(D), OrderCancelRequest(F) and
 * OrderCancelReplaceRequest(G) to ORDER_PLACE, ORDER_CANCEL and
 * ORDER_REPLACE; an outcome to ExecutionReport(8) or OrderCancelReject(9).
 */
#ifndef NODOWN_FIX_FIX_APP_H
#define NODOWN_FIX_FIX_APP_H

#include <stdint.h>

#include "core/command.h"
#include "fix/fix_msg.h"

/* What an order message asked, kept until its outcome comes back. */
struct fix_request {
    uint64_t seq;  /* its MsgSeqNum, the command's client_seq; 0: a free place */
    char kind;     /* 'D', 'F' or 'G' */
    uint8_t side;  /* enum side */
    uint8_t order_type;
    uint8_t time_in_force;
    uint32_t instrument_id;
    int64_t price_ticks;
    int64_t quantity;
    uint64_t order_id; /* F, G: the order named */
    char clordid[FIX_ID_SIZE_MAX];
    char orig_clordid[FIX_ID_SIZE_MAX];
};

enum fix_request_result {
    FIX_REQUEST_OK = 0,
    FIX_REQUEST_SESSION_REJECT = 1, /* a required tag missing or malformed: Reject(3) */
    FIX_REQUEST_REFUSED = 2         /* well formed, not something nodown does: say why */
};

/* Reads D, F or G. *tag and *why say what is wrong. F and G name the
 * order by OrderID(37), or else leave order_id 0 for the caller to find
 * by OrigClOrdID(41). */
enum fix_request_result fix_request_read(const struct fix_msg *msg, char kind,
                                         struct fix_request *req, uint32_t *tag,
                                         const char **why);

/* The command of a request (client_id and sender are the gateway's). */
void fix_request_command(const struct fix_request *req, struct command *command);

/* What the trades of an order came to, from the apply's events. */
struct fix_fill {
    int64_t cum;      /* filled so far */
    int64_t notional; /* sum of quantity * price of those fills */
    int64_t last_qty; /* the fill this report tells; 0: none */
    int64_t last_px;
};

/* The body of the answer to req (after the header the caller wrote):
 * an ExecutionReport, or an OrderCancelReject for a cancel or replace that
 * was refused. fill: the order's trades (NULL: the outcome's filled
 * quantity at req's price). exec_id must be unique. text: a refusal's
 * reason when the outcome has none (NULL: the outcome's). */
const char *fix_report_type(const struct fix_request *req, const struct outcome *outcome);
void fix_report_write(struct fix_writer *w, const struct fix_request *req,
                      const struct outcome *outcome, const struct fix_fill *fill,
                      uint64_t exec_id, const char *text);

#endif
