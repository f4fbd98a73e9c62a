/* `nodown history`'s questions, answered from the archive's files alone
 * (archive.h): read-only connections, no running node needed, the open
 * day's file read beside its writer (WAL readers never block it).
 *
 * Every answer is a list of rows in stream order (sequence, the command's
 * index in its message, the command before its events, then the balances
 * the message left), each a command, an event or a balance; the files are
 * read in date order, the open day last. Each question finds its messages
 * through the postings table (history_keys.h) and decodes only those.
 * The downline's answer is one summary row per account and day. */
#ifndef NODOWN_HISTORY_HISTORY_QUERY_H
#define NODOWN_HISTORY_HISTORY_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/command.h"
#include "core/event.h"
#include "replica/feed.h"

enum history_question {
    HISTORY_STATEMENT = 0, /* an account: its commands, events, balances */
    HISTORY_ORDER,         /* an order's life: placed, traded, replaced, done */
    HISTORY_BET,           /* a bet's life: placed, settled, its commission */
    HISTORY_TRADES,        /* every trade of an instrument */
    HISTORY_DOWNLINE,      /* what an agent's (or master's...) downline did */
    HISTORY_AT,            /* everything a stream message changed */
    HISTORY_MARKET,        /* a sportsbook market: odds, bets, settlement */
    HISTORY_QUESTION_COUNT
};

enum history_row_kind {
    HISTORY_ROW_COMMAND = 0,
    HISTORY_ROW_EVENT = 1,
    HISTORY_ROW_BALANCE = 2,
    HISTORY_ROW_SUMMARY = 3, /* an account's figures over one day (downline) */
};

/* One account's figures over one day, as the archive keeps them. */
struct history_summary {
    uint32_t trading_date;
    uint32_t account_id;
    uint32_t parent_id;
    uint8_t kind;
    int64_t commands, orders, trades, traded_quantity, fees_minor, bets, stake_minor;
    int64_t payout_minor, balance_minor;
    uint64_t first_seq, last_seq;
};

/* One row: which of its parts holds it says kind. */
struct history_row {
    uint8_t kind;     /* enum history_row_kind */
    uint64_t seq;     /* the stream message */
    uint64_t time_ns; /* its stored time */
    uint32_t index;   /* the command's index in its message */
    uint32_t logic_version;
    struct command command; /* HISTORY_ROW_COMMAND, with its outcome */
    struct outcome outcome;
    struct event event;     /* HISTORY_ROW_EVENT */
    struct feed_balance balance; /* HISTORY_ROW_BALANCE */
    struct history_summary summary; /* HISTORY_ROW_SUMMARY */
};

struct history_question_args {
    enum history_question question;
    uint64_t id;         /* account, order, bet, instrument, market or seq */
    uint32_t from_date;  /* yyyymmdd, 0: from the first file */
    uint32_t to_date;    /* yyyymmdd, 0: to the open day */
    uint64_t limit;      /* rows at most, 0: all */
};

/* Called for each row; nonzero stops the answer. */
typedef int (*history_row_cb)(void *context, const struct history_row *row);

/* Answers args from the files in history_dir (DIR/history); *rows gets
 * how many rows were given. Returns 0, ERR_NOT_FOUND (no archive there),
 * ERR_VERSION (a file of a newer format) or ERR_IO, with errmsg. */
int history_ask(const char *history_dir, const struct history_question_args *args,
                history_row_cb row_cb, void *context, uint64_t *rows, char *errmsg,
                size_t errmsg_size);

const char *history_question_name(enum history_question question);

/* The market a command acts on, or INDEX_NONE. */
uint32_t history_command_market_id(const struct command *command, const struct outcome *outcome);
int history_question_from_name(const char *name, enum history_question *question);

/* One file's facts, for `nodown history files`. */
struct history_file_info {
    char name[64];
    uint32_t trading_date;
    uint64_t first_seq;
    uint64_t last_seq;
    uint32_t format_version;
    bool sealed;
    bool checksum_ok;    /* sealed: its .xxh3 matches; open: true */
    char checksum_error[128];
    uint64_t bytes;
};
typedef int (*history_file_cb)(void *context, const struct history_file_info *info);
int history_files(const char *history_dir, history_file_cb file_cb, void *context, char *errmsg,
                  size_t errmsg_size);

#endif
