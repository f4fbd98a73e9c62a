/* Tests of the FIX acceptor's pure parts: order messages to commands and
 * outcomes to reports (src/fix/fix_app.h), and the sessions' sequence
 * numbers on disk (src/fix/fix_store.h). */
#include <stdio.h>
#include <unistd.h>

#include "core/result.h"
#include "fix/fix_app.h"
#include "fix/fix_store.h"
#include "test.h"

/* Writes a message of type with the given body fields and parses it. */
static void make(struct fix_msg *msg, char *buf, size_t capacity, const char *type,
                 const char *const *fields)
{
    struct fix_writer w;
    fix_write_begin(&w, buf, capacity, type);
    fix_write_str(&w, 49, "C1");
    fix_write_str(&w, 56, "NODOWN");
    fix_write_u64(&w, 34, 7);
    fix_write_str(&w, 52, "20260101-00:00:00.000");
    for (size_t i = 0; fields[i] != NULL; i += 2)
        fix_write_str(&w, (uint32_t)atoi(fields[i]), fields[i + 1]);
    size_t size = 0;
    const char *m = fix_write_end(&w, &size);
    enum fix_reject_reason reason;
    uint32_t ref = 0;
    const char *why = NULL;
    int rv = fix_parse(m, size, msg, &reason, &ref, &why);
    if (rv != FIX_PARSE_OK)
        fprintf(stderr, "  parse: %s\n", why);
}

/* The value of tag in a written report, or "" when absent. */
static const char *report_get(const char *report, size_t size, uint32_t tag)
{
    static char out[128];
    struct fix_msg msg;
    enum fix_reject_reason reason;
    uint32_t ref = 0;
    const char *why = NULL;
    out[0] = '\0';
    if (fix_parse(report, size, &msg, &reason, &ref, &why) == FIX_PARSE_OK)
        fix_get_text(&msg, tag, out, sizeof out);
    return out;
}

static const char *report(char *buf, size_t capacity, const struct fix_request *req,
                          const struct outcome *outcome, const struct fix_fill *fill,
                          size_t *size)
{
    struct fix_writer w;
    fix_write_begin(&w, buf, capacity, fix_report_type(req, outcome));
    fix_write_str(&w, 49, "NODOWN");
    fix_write_str(&w, 56, "C1");
    fix_write_u64(&w, 34, 3);
    fix_write_str(&w, 52, "20260101-00:00:00.000");
    fix_report_write(&w, req, outcome, fill, 99, NULL);
    return fix_write_end(&w, size);
}

TEST(new_order_to_command)
{
    char buf[1024];
    struct fix_msg msg;
    const char *const fields[] = {"11", "A-1", "55", "3", "54", "2", "38", "15",
                                  "40", "2", "44", "1234", "59", "3", NULL};
    make(&msg, buf, sizeof buf, "D", fields);
    struct fix_request req;
    uint32_t tag = 0;
    const char *why = NULL;
    CHECK_EQ_I64(fix_request_read(&msg, 'D', &req, &tag, &why), FIX_REQUEST_OK);
    req.seq = 7;
    struct command c;
    fix_request_command(&req, &c);
    CHECK_EQ_I64(c.type, COMMAND_ORDER_PLACE);
    CHECK_EQ_I64(c.client_seq, 7);
    CHECK_EQ_I64(c.u.order_place.instrument_id, 3);
    CHECK_EQ_I64(c.u.order_place.side, SIDE_SELL);
    CHECK_EQ_I64(c.u.order_place.order_type, ORDER_TYPE_LIMIT);
    CHECK_EQ_I64(c.u.order_place.time_in_force, TIF_IOC);
    CHECK_EQ_I64(c.u.order_place.price_ticks, 1234);
    CHECK_EQ_I64(c.u.order_place.quantity, 15);
    CHECK_STR(req.clordid, "A-1");
}

TEST(refusals_and_missing_tags)
{
    char buf[1024];
    struct fix_msg msg;
    struct fix_request req;
    uint32_t tag = 0;
    const char *why = NULL;
    const char *const no_qty[] = {"11", "A", "55", "3", "54", "1", "40", "2", "44", "5", NULL};
    make(&msg, buf, sizeof buf, "D", no_qty);
    CHECK_EQ_I64(fix_request_read(&msg, 'D', &req, &tag, &why), FIX_REQUEST_SESSION_REJECT);
    CHECK_EQ_I64(tag, 38);
    const char *const gtd[] = {"11", "A", "55", "3", "54", "1", "38", "1",
                               "40", "2", "44", "5", "59", "6", NULL};
    make(&msg, buf, sizeof buf, "D", gtd);
    CHECK_EQ_I64(fix_request_read(&msg, 'D', &req, &tag, &why), FIX_REQUEST_REFUSED);
    CHECK_EQ_I64(tag, 59);
    const char *const frac[] = {"11", "A", "55", "3", "54", "1", "38", "1",
                                "40", "2", "44", "5.5", NULL};
    make(&msg, buf, sizeof buf, "D", frac);
    CHECK_EQ_I64(fix_request_read(&msg, 'D', &req, &tag, &why), FIX_REQUEST_REFUSED);
    CHECK_EQ_I64(tag, 44);
    const char *const market[] = {"11", "M", "55", "3", "54", "1", "38", "4", "40", "1", NULL};
    make(&msg, buf, sizeof buf, "D", market);
    CHECK_EQ_I64(fix_request_read(&msg, 'D', &req, &tag, &why), FIX_REQUEST_OK);
    CHECK_EQ_I64(req.order_type, ORDER_TYPE_MARKET);
    const char *const cancel[] = {"11", "C", "41", "A", "55", "3", "54", "1", NULL};
    make(&msg, buf, sizeof buf, "F", cancel);
    CHECK_EQ_I64(fix_request_read(&msg, 'F', &req, &tag, &why), FIX_REQUEST_OK);
    CHECK_EQ_I64(req.order_id, 0); /* by OrigClOrdID: the session finds it */
    CHECK_STR(req.orig_clordid, "A");
    const char *const by_id[] = {"11", "C", "37", "42", "55", "3", "54", "1", NULL};
    make(&msg, buf, sizeof buf, "F", by_id);
    CHECK_EQ_I64(fix_request_read(&msg, 'F', &req, &tag, &why), FIX_REQUEST_OK);
    CHECK_EQ_I64(req.order_id, 42);
}

TEST(reports)
{
    char buf[1024];
    size_t size = 0;
    struct fix_request req = {.seq = 7, .kind = 'D', .side = SIDE_BUY,
                              .order_type = ORDER_TYPE_LIMIT, .time_in_force = TIF_DAY,
                              .instrument_id = 3, .price_ticks = 100, .quantity = 10};
    snprintf(req.clordid, sizeof req.clordid, "A-1");
    struct outcome ok = {.result = RESULT_OK, .command_type = COMMAND_ORDER_PLACE, .id = 55};
    const char *r = report(buf, sizeof buf, &req, &ok, NULL, &size);
    CHECK(r != NULL);
    CHECK_STR(report_get(r, size, 35), "8");
    CHECK_STR(report_get(r, size, 150), "0");
    CHECK_STR(report_get(r, size, 39), "0");
    CHECK_STR(report_get(r, size, 37), "55");
    CHECK_STR(report_get(r, size, 151), "10");
    struct fix_fill fill = {.cum = 4, .notional = 4 * 98, .last_qty = 4, .last_px = 98};
    r = report(buf, sizeof buf, &req, &ok, &fill, &size);
    CHECK_STR(report_get(r, size, 150), "F");
    CHECK_STR(report_get(r, size, 39), "1");
    CHECK_STR(report_get(r, size, 14), "4");
    CHECK_STR(report_get(r, size, 151), "6");
    CHECK_STR(report_get(r, size, 31), "98");
    req.time_in_force = TIF_IOC; /* the rest is cancelled */
    r = report(buf, sizeof buf, &req, &ok, &fill, &size);
    CHECK_STR(report_get(r, size, 39), "4");
    CHECK_STR(report_get(r, size, 151), "0");
    struct outcome no = {.result = REJECT_FUNDS_INSUFFICIENT, .command_type = COMMAND_ORDER_PLACE};
    r = report(buf, sizeof buf, &req, &no, NULL, &size);
    CHECK_STR(report_get(r, size, 150), "8");
    CHECK_STR(report_get(r, size, 39), "8");
    CHECK(strstr(report_get(r, size, 58), "REJECT_FUNDS_INSUFFICIENT") != NULL);
    req.kind = 'F';
    no.result = REJECT_ORDER_UNKNOWN;
    r = report(buf, sizeof buf, &req, &no, NULL, &size);
    CHECK_STR(report_get(r, size, 35), "9");
    CHECK_STR(report_get(r, size, 102), "1");
    CHECK_STR(report_get(r, size, 434), "1");
}

TEST(store_round_trip)
{
    char path[] = "/tmp/nodown-test-fix-store-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    unlink(path);
    static struct fix_store store, again;
    char errmsg[256];
    CHECK_EQ_I64(fix_store_open(&store, path, errmsg, sizeof errmsg), 0);
    uint32_t a = fix_store_get(&store, 4, "CLI1");
    store.entries[a].next_in = 17;
    store.entries[a].next_out = 21;
    store.entries[a].epoch = 2;
    fix_store_get(&store, 5, "CLI1");
    CHECK_EQ_I64(fix_store_save(&store, errmsg, sizeof errmsg), 0);
    CHECK_EQ_I64(fix_store_open(&again, path, errmsg, sizeof errmsg), 0);
    CHECK_EQ_I64(again.count, 2);
    uint32_t b = fix_store_find(&again, 4, "CLI1");
    CHECK(b != FIX_STORE_NONE);
    CHECK_EQ_I64(again.entries[b].next_in, 17);
    CHECK_EQ_I64(again.entries[b].next_out, 21);
    CHECK_EQ_I64(again.entries[b].epoch, 2);
    CHECK(fix_store_find(&again, 6, "CLI1") == FIX_STORE_NONE);
    CHECK(fix_client_id("CLI1", 1) != fix_client_id("CLI1", 2));
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    fputs("nodown-fix-sessions 9\n", f);
    fclose(f);
    CHECK_EQ_I64(fix_store_open(&again, path, errmsg, sizeof errmsg), ERR_VERSION);
    unlink(path);
}

TEST_MAIN()
