/* The PostgreSQL export's rows (src/history/export_rows.c), without a
 * server: each record's COPY text, written out by hand from
 * docs/export.md's tables. test/cli/export.sh runs the whole export
 * against a real PostgreSQL 15. */
#include <stdlib.h>
#include <string.h>

#include "history/export_internal.h"
#include "test.h"

static struct export *rows_new(uint32_t schema_version)
{
    struct export *export = calloc(1, sizeof *export);
    for (int t = 0; t < EXPORT_TABLE_COUNT; t++) {
        export->tables[t].size = 4096;
        export->tables[t].data = malloc(4096);
    }
    export->schema_version = schema_version;
    export->in_message = true;
    export->batch_seq = 42;
    return export;
}

static void rows_free(struct export *export)
{
    for (int t = 0; t < EXPORT_TABLE_COUNT; t++)
        free(export->tables[t].data);
    free(export);
}

/* The table's text so far, as a C string. */
static const char *rows_text(struct export *export, enum export_table table)
{
    static char text[4096];
    memcpy(text, export->tables[table].data, export->tables[table].used);
    text[export->tables[table].used] = '\0';
    return text;
}

/* A record of message 42, kind, for command index. */
static struct feed_record rows_record(uint16_t kind, uint16_t index)
{
    struct feed_record record;
    memset(&record, 0, sizeof record);
    record.stream_seq = 42;
    record.kind = kind;
    record.index = index;
    return record;
}

static struct feed_record event_record(uint16_t type, uint16_t index)
{
    struct feed_record record = rows_record(FEED_EVENT, index);
    record.u.event.type = type;
    return record;
}

TEST(an_order_and_a_trade_are_rows_numbered_in_their_message)
{
    struct export *export = rows_new(1);
    struct feed_record record = event_record(EVENT_ORDER_DONE, 3);
    record.u.event.code = DONE_CANCELLED;
    record.u.event.account_id = 7;
    record.u.event.id = 1001;
    record.u.event.u.order.instrument_id = 2;
    record.u.event.u.order.side = SIDE_SELL;
    record.u.event.u.order.price_ticks = -5;
    record.u.event.u.order.quantity_filled = 4;
    record.u.event.u.order.client_order_id = UINT64_MAX;
    CHECK_EQ_I64(export_record(export, &record), 0);
    record = event_record(EVENT_TRADE, 4);
    record.u.event.account_id = 8;
    record.u.event.id = 1002;
    record.u.event.u.trade.instrument_id = 2;
    record.u.event.u.trade.maker_account_id = 7;
    record.u.event.u.trade.taker_side = SIDE_BUY;
    record.u.event.u.trade.maker_order_id = 1000;
    record.u.event.u.trade.price_ticks = 10000;
    record.u.event.u.trade.quantity = 3;
    record.u.event.u.trade.taker_fee_minor = INT64_MIN;
    CHECK_EQ_I64(export_record(export, &record), 0);
    /* seq n cmd event code order account instrument side price open filled client */
    CHECK_STR(rows_text(export, EXPORT_ORDERS), "42\t0\t3\t3\t1\t1001\t7\t2\t1\t-5\t0\t4\t-1\n");
    /* seq n cmd instrument taker_order taker taker_side maker_order maker price qty fees */
    CHECK_STR(rows_text(export, EXPORT_TRADES),
              "42\t1\t4\t2\t1002\t8\t0\t1000\t7\t10000\t3\t0\t-9223372036854775808\n");
    CHECK_EQ_I64(export->batch_events, 2);
    CHECK_EQ_I64(export->txn_rows, 2);
    rows_free(export);
}

TEST(a_commission_has_no_row_before_schema_2_but_counts_as_an_event)
{
    struct export *export = rows_new(1);
    struct feed_record record = event_record(EVENT_COMMISSION, 0);
    record.u.event.id = 9;
    CHECK_EQ_I64(export_record(export, &record), 0);
    CHECK_EQ_I64((int64_t)export->tables[EXPORT_COMMISSIONS].used, 0);
    CHECK_EQ_I64(export->batch_events, 1);
    export->schema_version = 2;
    record.u.event.account_id = 5;
    record.u.event.code = BET_RESULT_WIN;
    record.u.event.u.commission.market_id = 3;
    record.u.event.u.commission.turnover_minor = 1000;
    record.u.event.u.commission.earned_minor[3] = 10;
    record.u.event.u.commission.paid_minor[3] = 10;
    CHECK_EQ_I64(export_record(export, &record), 0);
    CHECK_STR(rows_text(export, EXPORT_COMMISSIONS),
              "42\t1\t0\t9\t5\t3\t1\t1000\t0\t0\t0\t10\t0\t0\t0\t10\n");
    rows_free(export);
}

static struct feed_record command_record(uint16_t type, uint16_t index)
{
    struct feed_record record = rows_record(FEED_COMMAND, index);
    record.u.command.command.type = type;
    record.u.command.outcome.result = RESULT_OK;
    return record;
}

TEST(account_changes_are_ok_commands_with_nulls_where_nothing_applies)
{
    struct export *export = rows_new(1);
    struct feed_record record = command_record(COMMAND_CASH_DEPOSIT, 0);
    record.u.command.command.u.cash.account_id = 4;
    record.u.command.command.u.cash.amount_minor = 500;
    CHECK_EQ_I64(export_record(export, &record), 0);
    record.u.command.outcome.duplicate = 1; /* a resend: nothing changed again */
    CHECK_EQ_I64(export_record(export, &record), 0);
    record = command_record(COMMAND_ORDER_PLACE, 1); /* not an account change */
    CHECK_EQ_I64(export_record(export, &record), 0);
    record = command_record(COMMAND_ACCOUNT_CREATE, 2);
    record.u.command.command.u.account_create.parent_id = 3;
    record.u.command.command.u.account_create.kind = ACCOUNT_KIND_MEMBER;
    record.u.command.outcome.id = 12;
    CHECK_EQ_I64(export_record(export, &record), 0);
    record = command_record(COMMAND_CASH_WITHDRAW, 3);
    record.u.command.outcome.result = RESULT_OK + 1; /* rejected: no row */
    CHECK_EQ_I64(export_record(export, &record), 0);
    /* seq cmd type sender account parent kind status amount instrument qty mtype share max */
    CHECK_STR(rows_text(export, EXPORT_ACCOUNT_CHANGES),
              "42\t0\t6\t0\t4\t\\N\t\\N\t\\N\t500\t\\N\t\\N\t\\N\t\\N\t\\N\n"
              "42\t2\t1\t0\t12\t3\t4\t\\N\t0\t\\N\t\\N\t\\N\t\\N\t\\N\n");
    rows_free(export);
}

TEST(logic_3_activated_splits_the_rows_between_the_schemas)
{
    struct export *export = rows_new(1);
    struct feed_record record = command_record(COMMAND_CASH_DEPOSIT, 0);
    record.u.command.command.u.cash.account_id = 4;
    CHECK_EQ_I64(export_record(export, &record), 0);
    size_t before = export->tables[EXPORT_ACCOUNT_CHANGES].used;
    record = command_record(COMMAND_ACTIVATE_LOGIC, 1);
    record.u.command.command.u.activate_logic.logic_version = 3;
    CHECK_EQ_I64(export_record(export, &record), 0);
    CHECK(export->migrate);
    CHECK_EQ_I64((int64_t)export->migrate_seq, 42);
    CHECK_EQ_I64(export->schema_version, 2);
    CHECK_EQ_I64((int64_t)export->migrate_offset[EXPORT_ACCOUNT_CHANGES], (int64_t)before);
    record = command_record(COMMAND_COMMISSION_SET, 2);
    record.u.command.command.u.commission_set.account_id = 1;
    record.u.command.command.u.commission_set.rate_bp = 80;
    CHECK_EQ_I64(export_record(export, &record), 0);
    CHECK_STR(rows_text(export, EXPORT_ACCOUNT_CHANGES) + before,
              "42\t2\t26\t0\t1\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t0\t\\N\t\\N\t80\n");
    CHECK(strstr(export_copy_sql(EXPORT_ACCOUNT_CHANGES, 2), "rate_bp") != NULL);
    CHECK(strstr(export_copy_sql(EXPORT_ACCOUNT_CHANGES, 1), "rate_bp") == NULL);
    rows_free(export);
}

TEST(a_balance_and_a_message_row)
{
    struct export *export = rows_new(1);
    struct feed_record record = rows_record(FEED_BALANCE, FEED_INDEX_NONE);
    record.u.balance = (struct feed_balance){.account_id = 4, .parent_id = 3,
                                             .kind = ACCOUNT_KIND_MEMBER, .status = 1,
                                             .balance_minor = -20, .credit_limit_minor = 100,
                                             .reserved_minor = 7, .stake_open_minor = 8};
    CHECK_EQ_I64(export_record(export, &record), 0);
    CHECK_STR(rows_text(export, EXPORT_BALANCES), "42\t4\t3\t4\t1\t-20\t100\t7\t8\n");
    export->batch_time_ns = 1765000000123456789ull;
    export->batch_commands = 3;
    export->batch_events = 2;
    CHECK_EQ_I64(export_message_row(export, 3), 0);
    CHECK_STR(rows_text(export, EXPORT_MESSAGES), "42\t1765000000123456789\t3\t2\t3\n");
    rows_free(export);
}

TEST_MAIN()
