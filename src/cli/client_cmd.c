/* `nodown client`: one command or query sent to a nodown cluster from the
 * shell, through the C client library (include/nodown/client.h), with its
 * answer printed as one line of text or one JSON object (docs/client.md).
 *
 *   nodown client [--nodes HOST:PORT,...] --account ID [--secret S]
 *                 [--client-id N] [--json] [--timeout-ms N] [--at-least SEQ]
 *                 <command> [options]
 *
 * Every command type of the core has a subcommand, and `query <type>` reads
 * the state. The words are checked before any connection is made: a bad
 * word or value exits 2 without touching the cluster. Then the client logs
 * on, sends the one command and waits for its outcome: 0 when the state
 * machine applied it, 1 when it rejected it (the reason is printed), 3
 * when no answer came (no node reachable, logon refused, timeout).
 *
 * Sequence numbers: the library numbers a session's commands from the
 * LOGON_OK's last applied client_seq + 1, so successive invocations with
 * the same (account, client id) never reuse a sequence and need no state
 * on disk. Two invocations must not run at once with the same client id
 * (give each its own --client-id). If a node that lags behind the stream
 * logs the client on, it reports an older last sequence and the new
 * command's sequence is one the stream already holds: the state machine
 * answers with that earlier command's outcome (duplicate), and this
 * command reports it and exits 3 rather than claim a success.
 */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "codec/frame.h"
#include "core/account.h" /* account_kind_allowed, to say what a parent takes */
#include "core/command.h"
#include "core/odds.h"
#include "core/result.h"
#include "core/state.h" /* ORDER_FLAG_*, as the QUERY_RESULT of an order carries them */
#include "lib/secret.h"
#include "nodown/client.h"

enum client_exit {
    CLIENT_EXIT_OK = 0,
    CLIENT_EXIT_REJECTED = 1,
    CLIENT_EXIT_USAGE = 2,
    CLIENT_EXIT_NO_ANSWER = 3,
};

#define CLIENT_NODES_DEFAULT "127.0.0.1:7400"
#define CLIENT_TIMEOUT_MS_DEFAULT 10000
#define CLIENT_OPTIONS_MAX 8
#define CLIENT_ERRMSG_SIZE 512u
#define CLIENT_BOOK_DEPTH_DEFAULT 10
/* Pages of positions one query reads: every instrument there can be. */
#define CLIENT_POSITION_PAGES_MAX (INSTRUMENTS_CAP / QUERY_POSITIONS_MAX + 1)

/* ---- Words for enums, indexed by value. ---- */

static const char *const kind_words[] = {"house", "super", "master", "agent", "member",
                                         "operator"};
static const char *const status_words[] = {"active", "suspended", "closed"};
static const char *const side_words[] = {"buy", "sell"};
static const char *const order_type_words[] = {"limit", "market"};
static const char *const tif_words[] = {"day", "gtc", "ioc", "fok"};
static const char *const phase_words[] = {"closed", "pre-open", "open", "halted", "day-closed"};
static const char *const market_type_words[] = {"1x2", "handicap", "over-under"};
static const char *const market_status_words[] = {"open", "suspended", "settled"};
/* enum done_reason: how an order finished. */
static const char *const done_words[] = {"filled", "cancelled", "expired",
                                         "ioc remainder cancelled", "self-trade cancelled",
                                         "cancelled outside the band"};
static const char *const bet_result_words[] = {"lose", "win", "void", "half-win", "half-lose"};
static const char *const odds_format_words[] = {"decimal",    "hongkong", "malay",
                                                "indonesian", "american", "fractional"};

#define WORDS(array) (array), (int)(sizeof(array) / sizeof((array)[0]))

static const char *word_of(const char *const *words, int count, unsigned value)
{
    return value < (unsigned)count ? words[value] : "unknown";
}

/* ---- Subcommands: their options, parsed values and typed getters. ---- */

struct client_option {
    const char *name; /* without the leading "--" */
    const char *meta; /* the value's placeholder; NULL for a flag */
    bool required;
    const char *help;
};

struct client_args;
typedef void (*client_build_cb)(struct client_args *args, struct command *command);
typedef void (*client_query_cb)(struct client_args *args, struct frame_query *query);

struct client_spec {
    const char *name;         /* "order", or "account" under "query" */
    uint16_t command_type;    /* COMMAND_NONE for a query */
    uint16_t query_type;      /* QUERY_NONE for a command */
    const char *summary;
    const char *id_label;     /* what the outcome's id is */
    const char *value_label;  /* what its value is; NULL: not shown */
    client_build_cb build;
    client_query_cb build_query;
    struct client_option options[CLIENT_OPTIONS_MAX]; /* ends at a NULL name */
};

struct client_args {
    const struct client_spec *spec;
    const char *values[CLIENT_OPTIONS_MAX]; /* NULL: not given; "" a flag given */
    uint32_t self_id;                       /* the account logged on */
    char errmsg[CLIENT_ERRMSG_SIZE];        /* the first bad value */
};

static int option_index(const struct client_spec *spec, const char *name)
{
    for (int i = 0; i < CLIENT_OPTIONS_MAX && spec->options[i].name != NULL; i++) {
        if (strcmp(spec->options[i].name, name) == 0)
            return i;
    }
    return -1;
}

/* The text given for an option of the spec (a getter naming an option its
 * spec lacks is a bug here, not bad input). */
static const char *arg_text(const struct client_args *args, const char *name)
{
    int index = option_index(args->spec, name);
    assert(index >= 0);
    return args->values[index];
}

static void arg_fail(struct client_args *args, const char *name, const char *value,
                     const char *why)
{
    if (args->errmsg[0] != '\0')
        return; /* the first error is the one to fix first */
    if (value == NULL)
        snprintf(args->errmsg, sizeof args->errmsg, "--%s: %s", name, why);
    else
        snprintf(args->errmsg, sizeof args->errmsg, "--%s '%s': %s", name, value, why);
}

/* Whole decimal numbers only: an optional minus, then digits. */
static int parse_i64(const char *text, int64_t *value)
{
    const char *digits = text[0] == '-' ? text + 1 : text;
    if (digits[0] < '0' || digits[0] > '9')
        return -1;
    char *end = NULL;
    errno = 0;
    long long parsed = strtoll(text, &end, 10);
    if (*end != '\0')
        return -1;
    if (errno == ERANGE)
        return -2; /* digits, but beyond int64_t */
    if (errno != 0)
        return -1;
    *value = parsed;
    return 0;
}

static int parse_u64(const char *text, uint64_t *value)
{
    if (text[0] < '0' || text[0] > '9')
        return -1;
    char *end = NULL;
    errno = 0;
    unsigned long long parsed = strtoull(text, &end, 10);
    if (errno != 0 || *end != '\0')
        return -1;
    *value = parsed;
    return 0;
}

/* A decimal with at most `decimals` digits after the point, scaled:
 * "2.15" with 3 decimals is 2150, "-0.5" with 2 is -50. */
static int parse_fixed(const char *text, int decimals, int64_t *value)
{
    bool negative = text[0] == '-';
    const char *p = negative || text[0] == '+' ? text + 1 : text;
    int64_t scaled = 0;
    int whole_digits = 0;
    for (; *p >= '0' && *p <= '9'; p++, whole_digits++) {
        if (scaled > INT64_MAX / 100000)
            return -1;
        scaled = scaled * 10 + (*p - '0');
    }
    int fraction_digits = 0;
    if (*p == '.') {
        for (p++; *p >= '0' && *p <= '9' && fraction_digits < decimals; p++, fraction_digits++)
            scaled = scaled * 10 + (*p - '0');
        if (fraction_digits == 0)
            return -1;
    }
    if (*p != '\0' || whole_digits == 0)
        return -1;
    for (; fraction_digits < decimals; fraction_digits++)
        scaled *= 10;
    *value = negative ? -scaled : scaled;
    return 0;
}

static int64_t arg_int(struct client_args *args, const char *name, int64_t min, int64_t max,
                       int64_t fallback)
{
    const char *text = arg_text(args, name);
    int64_t value = fallback;
    if (text == NULL)
        return fallback;
    int parsed = parse_i64(text, &value);
    if (parsed == -2 || (parsed == 0 && value > max)) {
        char why[96];
        snprintf(why, sizeof why, "too large: at most %" PRId64, max);
        arg_fail(args, name, text, why);
        return fallback;
    }
    if (parsed != 0) {
        arg_fail(args, name, text, "not a whole number");
        return fallback;
    }
    if (value < min || value > max) {
        char why[96];
        snprintf(why, sizeof why, "out of range %" PRId64 "..%" PRId64, min, max);
        arg_fail(args, name, text, why);
        return fallback;
    }
    return value;
}

static uint32_t arg_u32(struct client_args *args, const char *name, uint32_t fallback)
{
    return (uint32_t)arg_int(args, name, 0, UINT32_MAX, fallback);
}

static uint16_t arg_u16(struct client_args *args, const char *name, uint16_t fallback)
{
    return (uint16_t)arg_int(args, name, 0, UINT16_MAX, fallback);
}

static uint64_t arg_u64(struct client_args *args, const char *name, uint64_t fallback)
{
    const char *text = arg_text(args, name);
    uint64_t value = fallback;
    if (text != NULL && parse_u64(text, &value) != 0) {
        arg_fail(args, name, text, "not a whole number from 0");
        return fallback;
    }
    return value;
}

static bool arg_flag(const struct client_args *args, const char *name)
{
    return arg_text(args, name) != NULL;
}

static int word_index(const char *const *words, int count, const char *text)
{
    for (int i = 0; i < count; i++) {
        if (strcmp(words[i], text) == 0)
            return i;
    }
    return -1;
}

/* One of words (its index), or fallback when not given. */
static uint8_t arg_word(struct client_args *args, const char *name, const char *const *words,
                        int count, uint8_t fallback)
{
    const char *text = arg_text(args, name);
    if (text == NULL)
        return fallback;
    int index = word_index(words, count, text);
    if (index < 0) {
        char why[160] = "not one of ";
        for (int i = 0; i < count; i++) {
            strncat(why, words[i], sizeof why - strlen(why) - 1);
            if (i + 1 < count)
                strncat(why, "|", sizeof why - strlen(why) - 1);
        }
        arg_fail(args, name, text, why);
        return fallback;
    }
    return (uint8_t)index;
}

/* Decimal odds ("2.15", "1.905") to thousandths. */
static int32_t odds_parse(struct client_args *args, const char *name, const char *text)
{
    int64_t milli = 0;
    if (parse_fixed(text, 3, &milli) != 0 || milli < ODDS_MILLI_MIN || milli > ODDS_MILLI_MAX) {
        arg_fail(args, name, text, "decimal odds from 1.001 to 1000 (at most 3 decimals)");
        return 0;
    }
    return (int32_t)milli;
}

/* A comma-separated list of up to SELECTIONS_MAX words; returns how many,
 * each copied into items (of SELECTIONS_MAX rows of 24 bytes). */
static uint32_t arg_list(struct client_args *args, const char *name,
                         char items[SELECTIONS_MAX][24])
{
    const char *text = arg_text(args, name);
    if (text == NULL)
        return 0;
    uint32_t count = 0;
    for (const char *p = text;; count++) {
        size_t size = strcspn(p, ",");
        if (count == SELECTIONS_MAX || size == 0 || size >= 24) {
            arg_fail(args, name, text, "a list of 1 to 3 items separated by commas");
            return 0;
        }
        memcpy(items[count], p, size);
        items[count][size] = '\0';
        if (p[size] == '\0')
            return count + 1;
        p += size + 1;
    }
}

/* Returns how many odds were given. */
static uint8_t arg_odds_list(struct client_args *args, const char *name,
                             int32_t odds_milli[SELECTIONS_MAX])
{
    char items[SELECTIONS_MAX][24];
    uint32_t count = arg_list(args, name, items);
    for (uint32_t i = 0; i < count; i++)
        odds_milli[i] = odds_parse(args, name, items[i]);
    return (uint8_t)count;
}

/* One price or result per selection, no more and no fewer: a missing
 * result would settle as a loss, a surplus price would be dropped. */
static void arg_selection_count(struct client_args *args, const char *name, uint8_t given,
                                uint8_t market_type)
{
    uint8_t expected = market_type == MARKET_TYPE_1X2 ? 3 : 2;
    if (given == 0 || given == expected)
        return;
    char why[96];
    snprintf(why, sizeof why, "%u given, a %s market needs %u (one per selection)", given,
             market_type_words[market_type < MARKET_TYPE_COUNT ? market_type : 0], expected);
    arg_fail(args, name, arg_text(args, name), why);
}

/* ---- Building the commands. ---- */

#define AMOUNT_ARG(args, name) arg_int((args), (name), INT64_MIN, INT64_MAX, 0)

static void build_account_create(struct client_args *args, struct command *c)
{
    c->u.account_create.parent_id = arg_u32(args, "parent", 0);
    c->u.account_create.kind = arg_word(args, "kind", WORDS(kind_words), 0);
    c->u.account_create.credit_limit_minor = AMOUNT_ARG(args, "credit");
}

static void build_account_status(struct client_args *args, struct command *c)
{
    c->u.account_set_status.account_id = arg_u32(args, "account", 0);
    c->u.account_set_status.status = arg_word(args, "status", WORDS(status_words), 0);
}

static void build_account_credit(struct client_args *args, struct command *c)
{
    c->u.account_set_credit.account_id = arg_u32(args, "account", 0);
    c->u.account_set_credit.credit_limit_minor = AMOUNT_ARG(args, "credit");
}

/* A limit left out keeps its value: it is built as LIMIT_KEEP here, and
 * limits_fill() reads the account's current limits before sending. */
#define LIMIT_KEEP (-1)
#define LIMIT_ARG(args, name) arg_int((args), (name), 0, INT64_MAX, LIMIT_KEEP)

static void build_account_limits(struct client_args *args, struct command *c)
{
    c->u.account_set_limits.account_id = arg_u32(args, "account", 0);
    c->u.account_set_limits.order_quantity_max = LIMIT_ARG(args, "quantity-max");
    c->u.account_set_limits.order_notional_max_minor = LIMIT_ARG(args, "notional-max");
    c->u.account_set_limits.bet_stake_max_minor = LIMIT_ARG(args, "stake-max");
    c->u.account_set_limits.exposure_limit_minor = LIMIT_ARG(args, "exposure-limit");
}

/* The secret is hashed here, with a fresh salt: it never leaves this
 * process, and the state keeps only salt and hash. So a short one is
 * refused here, before anything is sent: no node ever sees its length. */
static void build_account_secret(struct client_args *args, struct command *c)
{
    c->u.account_set_secret.account_id = arg_u32(args, "account", 0);
    const char *secret = arg_text(args, "secret");
    size_t size = strlen(secret);
    char why[128];
    if (!secret_size_ok(size, SECRET_SIZE_MIN_DEFAULT, why, sizeof why) ||
        size > FRAME_SECRET_SIZE_MAX) {
        arg_fail(args, "secret", NULL, why[0] != '\0' ? why : "a secret is at most 256 bytes");
        return;
    }
    if (secret_salt_generate(c->u.account_set_secret.salt) != 0 ||
        secret_hash(secret, size, c->u.account_set_secret.salt,
                    c->u.account_set_secret.hash) != 0)
        arg_fail(args, "secret", NULL, "could not hash it (no random source or OpenSSL)");
}

static void build_cash(struct client_args *args, struct command *c)
{
    c->u.cash.account_id = arg_u32(args, "account", 0);
    c->u.cash.amount_minor = AMOUNT_ARG(args, "amount");
}

static void build_position_grant(struct client_args *args, struct command *c)
{
    c->u.position_grant.account_id = arg_u32(args, "account", 0);
    c->u.position_grant.instrument_id = arg_u32(args, "instrument", 0);
    c->u.position_grant.quantity = AMOUNT_ARG(args, "quantity");
}

static void build_pt_set(struct client_args *args, struct command *c)
{
    c->u.pt_set.account_id = arg_u32(args, "account", 0);
    c->u.pt_set.market_type = arg_word(args, "market-type", WORDS(market_type_words), 0);
    c->u.pt_set.share_bp = arg_u16(args, "share", 0);
    c->u.pt_set.max_bp = arg_u16(args, "max", 0);
}

static void build_commission_set(struct client_args *args, struct command *c)
{
    c->u.commission_set.account_id = arg_u32(args, "account", 0);
    c->u.commission_set.market_type =
        arg_word(args, "market-type", WORDS(market_type_words), 0);
    c->u.commission_set.rate_bp = arg_u16(args, "rate", 0);
}

static void build_pt_override(struct client_args *args, struct command *c)
{
    c->u.pt_override.sport_event_id = arg_u32(args, "event", 0);
    c->u.pt_override.market_id = arg_u32(args, "market", INDEX_NONE);
    bool remove = arg_flag(args, "remove");
    if (remove == (arg_text(args, "share") != NULL)) {
        arg_fail(args, "share", NULL, "give either --share BP or --remove");
        return;
    }
    c->u.pt_override.share_bp = remove ? PT_SHARE_NONE
                                       : (uint16_t)arg_int(args, "share", 0, BP_ONE, 0);
}

static void build_instrument_create(struct client_args *args, struct command *c)
{
    struct command_instrument_create *create = &c->u.instrument_create;
    const char *symbol = arg_text(args, "symbol");
    if (symbol[0] == '\0' || strlen(symbol) > SYMBOL_SIZE)
        arg_fail(args, "symbol", symbol, "a symbol is 1 to 8 characters");
    else
        memcpy(create->symbol, symbol, strlen(symbol));
    create->tick_size_minor = AMOUNT_ARG(args, "tick-size");
    create->lot_size = AMOUNT_ARG(args, "lot-size");
    create->reference_price_ticks = AMOUNT_ARG(args, "reference");
    create->band_bp = arg_u16(args, "band-bp", 0);
    create->fee_maker_bp = arg_u16(args, "fee-maker-bp", 0);
    create->fee_taker_bp = arg_u16(args, "fee-taker-bp", 0);
}

static void build_instrument_phase(struct client_args *args, struct command *c)
{
    c->u.instrument_set_phase.instrument_id = arg_u32(args, "instrument", 0);
    c->u.instrument_set_phase.phase = arg_word(args, "phase", WORDS(phase_words), 0);
}

static void build_instrument_reference(struct client_args *args, struct command *c)
{
    c->u.instrument_set_reference.instrument_id = arg_u32(args, "instrument", 0);
    c->u.instrument_set_reference.reference_price_ticks = AMOUNT_ARG(args, "price");
}

static void build_order(struct client_args *args, struct command *c)
{
    c->u.order_place.instrument_id = arg_u32(args, "instrument", 0);
    c->u.order_place.side = arg_word(args, "side", WORDS(side_words), 0);
    c->u.order_place.order_type = arg_word(args, "type", WORDS(order_type_words),
                                           ORDER_TYPE_LIMIT);
    bool market = c->u.order_place.order_type == ORDER_TYPE_MARKET;
    /* A market order never rests, so day and gtc are refused for it: its
     * default is ioc (fill what the book has, cancel the rest). */
    c->u.order_place.time_in_force = arg_word(args, "tif", WORDS(tif_words),
                                              market ? TIF_IOC : TIF_DAY);
    uint8_t tif = c->u.order_place.time_in_force;
    if (market && tif != TIF_IOC && tif != TIF_FOK)
        arg_fail(args, "tif", arg_text(args, "tif"), "a market order is ioc or fok");
    if (!market && arg_text(args, "price") == NULL)
        arg_fail(args, "price", NULL, "a limit order needs --price TICKS");
    c->u.order_place.price_ticks = AMOUNT_ARG(args, "price");
    c->u.order_place.quantity = AMOUNT_ARG(args, "quantity");
    c->u.order_place.client_order_id = arg_u64(args, "client-order-id", 0);
}

static void build_cancel(struct client_args *args, struct command *c)
{
    c->u.order_cancel.order_id = arg_u64(args, "order", 0);
}

static void build_replace(struct client_args *args, struct command *c)
{
    c->u.order_replace.order_id = arg_u64(args, "order", 0);
    c->u.order_replace.price_ticks = AMOUNT_ARG(args, "price");
    c->u.order_replace.quantity = AMOUNT_ARG(args, "quantity");
}

static void build_event_create(struct client_args *args, struct command *c)
{
    c->u.sport_event_create.external_ref = arg_u64(args, "ref", 0);
}

static void build_market_create(struct client_args *args, struct command *c)
{
    struct command_market_create *create = &c->u.market_create;
    create->sport_event_id = arg_u32(args, "event", 0);
    create->market_type = arg_word(args, "type", WORDS(market_type_words), 0);
    const char *line = arg_text(args, "line");
    int64_t hundredths = 0;
    if (line != NULL && (parse_fixed(line, 2, &hundredths) != 0 || hundredths % 25 != 0 ||
                         hundredths > 100000 || hundredths < -100000))
        arg_fail(args, "line", line, "goals in quarters: -0.5, 2.25, 3 (at most 1000)");
    create->line_quarters = (int32_t)(hundredths / 25);
    create->odds_count = arg_odds_list(args, "odds", create->odds_milli);
    arg_selection_count(args, "odds", create->odds_count, create->market_type);
    create->stake_min_minor = AMOUNT_ARG(args, "stake-min");
    create->stake_max_minor = AMOUNT_ARG(args, "stake-max");
}

static void build_market_odds(struct client_args *args, struct command *c)
{
    c->u.market_set_odds.market_id = arg_u32(args, "market", 0);
    c->u.market_set_odds.odds_count = arg_odds_list(args, "odds", c->u.market_set_odds.odds_milli);
}

static void build_market_status(struct client_args *args, struct command *c)
{
    c->u.market_set_status.market_id = arg_u32(args, "market", 0);
    c->u.market_set_status.status = arg_word(args, "status", WORDS(market_status_words), 0);
}

static void build_market_settle(struct client_args *args, struct command *c)
{
    c->u.market_settle.market_id = arg_u32(args, "market", 0);
    char items[SELECTIONS_MAX][24];
    uint32_t count = arg_list(args, "results", items);
    for (uint32_t i = 0; i < count; i++) {
        int index = word_index(WORDS(bet_result_words), items[i]);
        if (index < 0)
            arg_fail(args, "results", items[i], "not one of win|lose|void|half-win|half-lose");
        c->u.market_settle.results[i] = (uint8_t)(index < 0 ? 0 : index);
    }
    c->u.market_settle.result_count = (uint8_t)count;
}

static void build_bet(struct client_args *args, struct command *c)
{
    c->u.bet_place.market_id = arg_u32(args, "market", 0);
    c->u.bet_place.selection = (uint8_t)arg_int(args, "selection", 0, UINT8_MAX, 0);
    c->u.bet_place.odds_milli = odds_parse(args, "odds", arg_text(args, "odds"));
    c->u.bet_place.stake_minor = AMOUNT_ARG(args, "stake");
    c->u.bet_place.accept_better_odds = arg_flag(args, "accept-better") ? 1 : 0;
}

static void build_day(struct client_args *args, struct command *c)
{
    c->u.day.trading_date = (uint32_t)arg_int(args, "date", 0, 99991231, 0);
}

static void build_activate_logic(struct client_args *args, struct command *c)
{
    c->u.activate_logic.logic_version = arg_u32(args, "version", 0);
}

/* ---- Building the queries. ---- */

static void query_account_build(struct client_args *args, struct frame_query *q)
{
    q->u.account.account_id = arg_u32(args, "account", args->self_id);
}

static void query_positions_build(struct client_args *args, struct frame_query *q)
{
    q->u.positions.account_id = arg_u32(args, "account", args->self_id);
    q->u.positions.instrument_id_from = arg_u32(args, "from", 0);
}

static void query_order_build(struct client_args *args, struct frame_query *q)
{
    q->u.order.order_id = arg_u64(args, "order", 0);
}

static void query_book_build(struct client_args *args, struct frame_query *q)
{
    q->u.book.instrument_id = arg_u32(args, "instrument", 0);
    q->u.book.level_count = (uint16_t)arg_int(args, "depth", 1, QUERY_LEVELS_MAX,
                                              CLIENT_BOOK_DEPTH_DEFAULT);
}

static void query_exposure_build(struct client_args *args, struct frame_query *q)
{
    q->u.exposure.account_id = arg_u32(args, "account", args->self_id);
    q->u.exposure.market_id = arg_u32(args, "market", 0);
}

/* The names a bettor knows a format by: the full ones of the protocol
 * (odds_format_words) and these short ones. */
static const struct {
    const char *name;
    enum odds_format format;
} odds_format_aliases[] = {
    {"dec", ODDS_FORMAT_DECIMAL},       {"eu", ODDS_FORMAT_DECIMAL},
    {"hk", ODDS_FORMAT_HONG_KONG},      {"my", ODDS_FORMAT_MALAY},
    {"indo", ODDS_FORMAT_INDONESIAN},   {"id", ODDS_FORMAT_INDONESIAN},
    {"us", ODDS_FORMAT_AMERICAN},       {"moneyline", ODDS_FORMAT_AMERICAN},
    {"frac", ODDS_FORMAT_FRACTIONAL},   {"uk", ODDS_FORMAT_FRACTIONAL},
};
#define ODDS_FORMAT_HELP "decimal (dec), hongkong (hk), malay, indonesian (indo), american" \
                         " (us), fractional (frac)"

/* A format by its full name or a short one; -1 when it is neither. */
static int odds_format_find(const char *text)
{
    for (size_t i = 0; i < sizeof odds_format_aliases / sizeof odds_format_aliases[0]; i++) {
        if (strcmp(odds_format_aliases[i].name, text) == 0)
            return (int)odds_format_aliases[i].format;
    }
    return word_index(WORDS(odds_format_words), text);
}

static void query_odds_build(struct client_args *args, struct frame_query *q)
{
    q->u.odds.market_id = arg_u32(args, "market", 0);
    const char *text = arg_text(args, "format");
    int format = text == NULL ? ODDS_FORMAT_DECIMAL : odds_format_find(text);
    if (format < 0)
        arg_fail(args, "format", text, "not one of " ODDS_FORMAT_HELP);
    q->u.odds.odds_format = (uint8_t)(format < 0 ? ODDS_FORMAT_DECIMAL : format);
    if (arg_flag(args, "ladder") && format != ODDS_FORMAT_FRACTIONAL)
        arg_fail(args, "ladder", NULL, "the ladder is for fractional odds (--format frac)");
}

/* ---- The table of subcommands. ---- */

#define REQ true
#define OPT false
#define ACCOUNT_OPTION(help) {"account", "ID", REQ, help}

static const struct client_spec command_specs[] = {
    {"account-create", COMMAND_ACCOUNT_CREATE, 0, "create an account under a parent",
     "account", NULL, build_account_create, NULL,
     {{"parent", "ID", REQ, "the parent account"},
      {"kind", "KIND", REQ, "super|master|agent|member|operator"},
      {"credit", "MINOR", OPT, "credit limit in minor units (default 0)"}}},
    {"account-status", COMMAND_ACCOUNT_SET_STATUS, 0, "suspend, resume or close an account",
     "account", NULL, build_account_status, NULL,
     {ACCOUNT_OPTION("the account"), {"status", "STATUS", REQ, "active|suspended|closed"}}},
    {"account-credit", COMMAND_ACCOUNT_SET_CREDIT, 0, "set an account's credit limit",
     "account", "credit", build_account_credit, NULL,
     {ACCOUNT_OPTION("the account"), {"credit", "MINOR", REQ, "credit limit, minor units"}}},
    {"account-limits", COMMAND_ACCOUNT_SET_LIMITS, 0,
     "change an account's limits (those left out keep their values; 0 is no limit)",
     "account", NULL, build_account_limits, NULL,
     {ACCOUNT_OPTION("the account"),
      {"quantity-max", "N", OPT, "largest order quantity (0: no limit)"},
      {"notional-max", "MINOR", OPT, "largest order notional (0: no limit)"},
      {"stake-max", "MINOR", OPT, "largest bet stake (0: no limit)"},
      {"exposure-limit", "MINOR", OPT, "a PT level's worst loss per market (0: no limit)"}}},
    {"account-secret", COMMAND_ACCOUNT_SET_SECRET, 0,
     "set an account's logon secret (sent as a salted hash)", "account", NULL,
     build_account_secret, NULL,
     {ACCOUNT_OPTION("the account"), {"secret", "SECRET", REQ, "the new secret"}}},
    {"deposit", COMMAND_CASH_DEPOSIT, 0, "add cash to an account", "account", "balance",
     build_cash, NULL,
     {ACCOUNT_OPTION("the account"), {"amount", "MINOR", REQ, "amount in minor units"}}},
    {"withdraw", COMMAND_CASH_WITHDRAW, 0, "take cash from an account", "account", "balance",
     build_cash, NULL,
     {ACCOUNT_OPTION("the account"), {"amount", "MINOR", REQ, "amount in minor units"}}},
    {"position-grant", COMMAND_POSITION_GRANT, 0,
     "give an account holdings (negative: return them to the house)", "account", "position",
     build_position_grant, NULL,
     {ACCOUNT_OPTION("the account"), {"instrument", "ID", REQ, "the instrument"},
      {"quantity", "N", REQ, "units to add (may be negative)"}}},
    {"pt-set", COMMAND_PT_SET, 0, "set a downline account's auto position taking", "account",
     "share_bp", build_pt_set, NULL,
     {ACCOUNT_OPTION("the account (super, master or agent)"),
      {"market-type", "TYPE", REQ, "1x2|handicap|over-under"},
      {"share", "BP", REQ, "its auto share, basis points (10000 = 100 %)"},
      {"max", "BP", REQ, "the ceiling of its manual overrides, basis points"}}},
    {"pt-override", COMMAND_PT_OVERRIDE, 0,
     "set or remove your own share on an event or a market", "event", "share_bp",
     build_pt_override, NULL,
     {{"event", "ID", REQ, "the sport event"},
      {"market", "ID", OPT, "one market of it (default: the whole event)"},
      {"share", "BP", OPT, "your share, basis points"},
      {"remove", NULL, OPT, "remove the override instead"}}},
    {"instrument-create", COMMAND_INSTRUMENT_CREATE, 0, "list an instrument", "instrument", NULL,
     build_instrument_create, NULL,
     {{"symbol", "SYMBOL", REQ, "1 to 8 characters"},
      {"tick-size", "MINOR", REQ, "minor units per price tick"},
      {"lot-size", "N", REQ, "units per lot"},
      {"reference", "TICKS", REQ, "reference price (the band's centre)"},
      {"band-bp", "BP", REQ, "price band, +- basis points of the reference"},
      {"fee-maker-bp", "BP", OPT, "maker fee (default 0)"},
      {"fee-taker-bp", "BP", OPT, "taker fee (default 0)"}}},
    {"instrument-phase", COMMAND_INSTRUMENT_SET_PHASE, 0, "open, halt or close an instrument",
     "instrument", "phase", build_instrument_phase, NULL,
     {{"instrument", "ID", REQ, "the instrument"},
      {"phase", "PHASE", REQ, "closed|pre-open|open|halted|day-closed"}}},
    {"instrument-reference", COMMAND_INSTRUMENT_SET_REFERENCE, 0,
     "set an instrument's reference price", "instrument", "reference",
     build_instrument_reference, NULL,
     {{"instrument", "ID", REQ, "the instrument"},
      {"price", "TICKS", REQ, "the new reference price"}}},
    {"order", COMMAND_ORDER_PLACE, 0, "place an order (members)", "order", "filled",
     build_order, NULL,
     {{"instrument", "ID", REQ, "the instrument"}, {"side", "SIDE", REQ, "buy|sell"},
      {"type", "TYPE", OPT, "limit|market (default limit)"},
      {"tif", "TIF", OPT, "day|gtc|ioc|fok (default day; a market order: ioc|fok, default ioc)"},
      {"price", "TICKS", OPT, "limit price (required for limit orders)"},
      {"quantity", "N", REQ, "units"},
      {"client-order-id", "N", OPT, "your own reference, kept with the order"}}},
    {"cancel", COMMAND_ORDER_CANCEL, 0, "cancel an open order", "order", "cancelled",
     build_cancel, NULL, {{"order", "ID", REQ, "the order"}}},
    {"replace", COMMAND_ORDER_REPLACE, 0, "change an open order's price and quantity", "order",
     "filled", build_replace, NULL,
     {{"order", "ID", REQ, "the order"}, {"price", "TICKS", REQ, "the new price"},
      {"quantity", "N", REQ, "the new open quantity"}}},
    {"event-create", COMMAND_SPORT_EVENT_CREATE, 0, "create a sport event", "event", NULL,
     build_event_create, NULL, {{"ref", "N", OPT, "an external reference (default 0)"}}},
    {"market-create", COMMAND_MARKET_CREATE, 0, "open a fixed-odds market on an event",
     "market", NULL, build_market_create, NULL,
     {{"event", "ID", REQ, "the sport event"},
      {"type", "TYPE", REQ, "1x2|handicap|over-under"},
      {"line", "GOALS", OPT, "handicap or total in goals, by quarters (default 0)"},
      {"odds", "A,B[,C]", REQ, "decimal odds per selection (three for 1x2)"},
      {"stake-min", "MINOR", REQ, "smallest stake"},
      {"stake-max", "MINOR", REQ, "largest stake"}}},
    {"market-odds", COMMAND_MARKET_SET_ODDS, 0, "change a market's odds", "market", NULL,
     build_market_odds, NULL,
     {{"market", "ID", REQ, "the market"},
      {"odds", "A,B[,C]", REQ, "decimal odds per selection"}}},
    {"market-status", COMMAND_MARKET_SET_STATUS, 0, "suspend or reopen a market", "market",
     "status", build_market_status, NULL,
     {{"market", "ID", REQ, "the market"}, {"status", "STATUS", REQ, "open|suspended"}}},
    {"market-settle", COMMAND_MARKET_SETTLE, 0, "settle a market's bets", "market", "bets",
     build_market_settle, NULL,
     {{"market", "ID", REQ, "the market"},
      {"results", "R,R[,R]", REQ, "per selection: win|lose|void|half-win|half-lose"}}},
    {"bet", COMMAND_BET_PLACE, 0, "place a bet (members)", "bet", "odds", build_bet, NULL,
     {{"market", "ID", REQ, "the market"},
      {"selection", "N", REQ, "0 home/over, 1 draw (1x2) or away/under, 2 away (1x2)"},
      {"odds", "ODDS", REQ, "the decimal odds you saw"},
      {"stake", "MINOR", REQ, "the stake"},
      {"accept-better", NULL, OPT, "take better odds if they moved up"}}},
    {"day-start", COMMAND_DAY_START, 0, "start a trading day", "date", NULL, build_day, NULL,
     {{"date", "YYYYMMDD", REQ, "the new trading date, after the last"}}},
    {"day-end", COMMAND_DAY_END, 0, "end the trading day", "date", NULL, build_day, NULL,
     {{"date", "YYYYMMDD", REQ, "the current trading date"}}},
    {"activate-logic", COMMAND_ACTIVATE_LOGIC, 0, "switch the cluster to a logic version",
     "version", NULL, build_activate_logic, NULL,
     {{"version", "N", REQ, "the logic version"}}},
    {"commission-set", COMMAND_COMMISSION_SET, 0,
     "give a downline account a commission rate on turnover (logic 3)", "account", "rate_bp",
     build_commission_set, NULL,
     {ACCOUNT_OPTION("the account (super, master, agent or member)"),
      {"market-type", "TYPE", REQ, "1x2|handicap|over-under"},
      {"rate", "BP", REQ, "basis points of the stake, at most its parent's (1000 = 10 %)"}}},
};

static const struct client_spec query_specs[] = {
    {"account", 0, QUERY_ACCOUNT, "balances, limits and PT of an account", NULL, NULL, NULL,
     query_account_build, {{"account", "ID", OPT, "the account (default: yours)"}}},
    {"positions", 0, QUERY_POSITIONS, "an account's holdings", NULL, NULL, NULL,
     query_positions_build,
     {{"account", "ID", OPT, "the account (default: yours)"},
      {"from", "ID", OPT, "first instrument (default 0)"}}},
    {"order", 0, QUERY_ORDER, "one open order", NULL, NULL, NULL, query_order_build,
     {{"order", "ID", REQ, "the order"}}},
    {"book", 0, QUERY_BOOK, "an instrument's book, best levels first", NULL, NULL, NULL,
     query_book_build,
     {{"instrument", "ID", REQ, "the instrument"},
      {"depth", "N", OPT, "levels per side, 1..64 (default 10)"}}},
    {"exposure", 0, QUERY_EXPOSURE, "a PT level's exposure on a market", NULL, NULL, NULL,
     query_exposure_build,
     {{"account", "ID", OPT, "the PT level (default: yours)"},
      {"market", "ID", REQ, "the market"}}},
    {"odds", 0, QUERY_ODDS, "a market's odds in a format", NULL, NULL, NULL, query_odds_build,
     {{"market", "ID", REQ, "the market"},
      {"format", "FORMAT", OPT, ODDS_FORMAT_HELP "; default decimal"},
      {"ladder", NULL, OPT, "fractional odds on the traditional ladder (10/11, 5/6), at or"
                            " below the price, instead of exact"}}},
};

#define SPEC_COUNT(array) (sizeof(array) / sizeof((array)[0]))

static const struct client_spec *spec_find(const struct client_spec *specs, size_t count,
                                           const char *name)
{
    for (size_t i = 0; i < count; i++) {
        if (strcmp(specs[i].name, name) == 0)
            return &specs[i];
    }
    return NULL;
}

/* ---- Usage. ---- */

static void usage_client(FILE *out)
{
    fprintf(out,
            "usage: nodown client [--nodes HOST:PORT,...] --account ID [--secret S]\n"
            "                     [--client-id N] [--json] [--timeout-ms N] [--at-least SEQ]\n"
            "                     <command> [options]\n"
            "  Sends one command (or query) to a nodown cluster and prints its answer.\n"
            "  --nodes       nodes to try in turn (default $NODOWN_NODES, else %s)\n"
            "  --account     the account to log on as\n"
            "  --secret      its secret (default $NODOWN_SECRET)\n"
            "  --client-id   the session's client id (default 1); give concurrent\n"
            "                invocations of one account different ids\n"
            "  --json        print one JSON object instead of a line of text\n"
            "  --timeout-ms  how long to wait for the answer (default %d)\n"
            "  --at-least    a query answers once the node has applied stream\n"
            "                sequence SEQ (an outcome's, to read your own writes), and\n"
            "                says on stderr which sequence it reflects\n"
            "  Exit: 0 done, 1 rejected (the reason is printed), 2 bad usage, 3 no answer.\n"
            "  Amounts are integer minor units, prices integer ticks, odds decimal.\n\n"
            "commands:\n",
            CLIENT_NODES_DEFAULT, CLIENT_TIMEOUT_MS_DEFAULT);
    for (size_t i = 0; i < SPEC_COUNT(command_specs); i++)
        fprintf(out, "  %-22s %s\n", command_specs[i].name, command_specs[i].summary);
    for (size_t i = 0; i < SPEC_COUNT(query_specs); i++)
        fprintf(out, "  query %-16s %s\n", query_specs[i].name, query_specs[i].summary);
    fprintf(out, "\nRun 'nodown client <command> --help' for a command's options.\n");
}

static void usage_spec(FILE *out, const struct client_spec *spec)
{
    int column = fprintf(out, "usage: nodown client [global options] %s%s",
                         spec->query_type ? "query " : "", spec->name);
    for (int i = 0; i < CLIENT_OPTIONS_MAX && spec->options[i].name != NULL; i++) {
        const struct client_option *o = &spec->options[i];
        char word[64];
        int size = snprintf(word, sizeof word, "%s--%s%s%s%s", o->required ? "" : "[", o->name,
                            o->meta ? " " : "", o->meta ? o->meta : "", o->required ? "" : "]");
        if (column + 1 + size > 79)
            column = fprintf(out, "\n      ") - 1; /* a continuation, indented */
        column += fprintf(out, " %s", word);
    }
    fprintf(out, "\n  %s.\n", spec->summary);
    for (int i = 0; i < CLIENT_OPTIONS_MAX && spec->options[i].name != NULL; i++)
        fprintf(out, "  --%-16s %s\n", spec->options[i].name, spec->options[i].help);
}

/* ---- Parsing the command line. ---- */

struct client_globals {
    const char *nodes;
    const char *secret;
    uint32_t account_id;
    bool account_given;
    uint64_t client_id;
    bool json;
    int timeout_ms;
    uint64_t min_seq; /* --at-least: queries read at this stream sequence or later */
    bool odds_ladder; /* query odds --ladder: fractional odds on the traditional ladder */
};

/* Reads the subcommand's options into args. Returns -1 after printing
 * the error, 1 after printing --help, 0 when all is read. */
static int parse_options(int argc, char **argv, struct client_args *args)
{
    const struct client_spec *spec = args->spec;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage_spec(stdout, spec);
            return 1;
        }
        int index = strncmp(argv[i], "--", 2) == 0 ? option_index(spec, argv[i] + 2) : -1;
        if (index < 0) {
            snprintf(args->errmsg, sizeof args->errmsg, "unknown option '%s'", argv[i]);
            return -1;
        }
        if (args->values[index] != NULL) {
            snprintf(args->errmsg, sizeof args->errmsg, "%s given twice", argv[i]);
            return -1;
        }
        if (spec->options[index].meta == NULL) {
            args->values[index] = "";
            continue;
        }
        if (i + 1 == argc) {
            snprintf(args->errmsg, sizeof args->errmsg, "%s needs a value (%s)", argv[i],
                     spec->options[index].meta);
            return -1;
        }
        args->values[index] = argv[++i];
    }
    for (int i = 0; i < CLIENT_OPTIONS_MAX && spec->options[i].name != NULL; i++) {
        if (spec->options[i].required && args->values[i] == NULL) {
            snprintf(args->errmsg, sizeof args->errmsg, "--%s %s is required",
                     spec->options[i].name, spec->options[i].meta);
            return -1;
        }
    }
    return 0;
}

static int parse_global_value(struct client_globals *g, const char *name, const char *value,
                              char *errmsg, size_t errmsg_size)
{
    uint64_t number = 0;
    bool numeric = strcmp(name, "--nodes") != 0 && strcmp(name, "--secret") != 0;
    if (numeric && parse_u64(value, &number) != 0) {
        snprintf(errmsg, errmsg_size, "%s '%s' is not a whole number", name, value);
        return -1;
    }
    if (strcmp(name, "--nodes") == 0) {
        g->nodes = value;
    } else if (strcmp(name, "--secret") == 0) {
        g->secret = value;
    } else if (strcmp(name, "--account") == 0 && number < INDEX_NONE) {
        g->account_id = (uint32_t)number;
        g->account_given = true;
    } else if (strcmp(name, "--client-id") == 0) {
        g->client_id = number;
    } else if (strcmp(name, "--timeout-ms") == 0 && number >= 1 && number <= 3600000) {
        g->timeout_ms = (int)number;
    } else if (strcmp(name, "--at-least") == 0 && number >= 1) {
        g->min_seq = number;
    } else {
        snprintf(errmsg, errmsg_size, "%s '%s' is out of range", name, value);
        return -1;
    }
    return 0;
}

/* Reads the global options; *next is the index of the command word.
 * Returns -1 on an error (in errmsg), 1 for --help, 0 otherwise. */
static int parse_globals(int argc, char **argv, struct client_globals *g, int *next,
                         char *errmsg, size_t errmsg_size)
{
    g->nodes = getenv("NODOWN_NODES") ? getenv("NODOWN_NODES") : CLIENT_NODES_DEFAULT;
    g->secret = getenv("NODOWN_SECRET");
    g->client_id = 1;
    g->timeout_ms = CLIENT_TIMEOUT_MS_DEFAULT;
    int i = 0;
    for (; i < argc && strncmp(argv[i], "-", 1) == 0; i++) {
        const char *name = argv[i];
        if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0)
            return 1;
        if (strcmp(name, "--json") == 0) {
            g->json = true;
            continue;
        }
        bool known = strcmp(name, "--nodes") == 0 || strcmp(name, "--secret") == 0 ||
                     strcmp(name, "--account") == 0 || strcmp(name, "--client-id") == 0 ||
                     strcmp(name, "--timeout-ms") == 0 || strcmp(name, "--at-least") == 0;
        if (!known) {
            snprintf(errmsg, errmsg_size, "unknown option '%s'", name);
            return -1;
        }
        if (i + 1 == argc) {
            snprintf(errmsg, errmsg_size, "%s needs a value", name);
            return -1;
        }
        if (parse_global_value(g, name, argv[i + 1], errmsg, errmsg_size) != 0)
            return -1;
        i++;
    }
    *next = i;
    return 0;
}

/* ---- Printing answers. ---- */

static void print_odds_milli(char *text, size_t size, int64_t odds_milli)
{
    snprintf(text, size, "%" PRId64 ".%03" PRId64, odds_milli / 1000, odds_milli % 1000);
}

/* ", filled 5", ", odds 2.150", ", phase halted": the outcome's value as
 * the command means it. */
static void print_value(char *text, size_t size, const char *label,
                        const struct nodown_outcome *o)
{
    char word[32];
    unsigned small = o->value >= 0 && o->value < 256 ? (unsigned)o->value : 256;
    if (o->command_type == COMMAND_BET_PLACE)
        print_odds_milli(word, sizeof word, o->value);
    else if (o->command_type == COMMAND_INSTRUMENT_SET_PHASE)
        snprintf(word, sizeof word, "%s", word_of(WORDS(phase_words), small));
    else if (o->command_type == COMMAND_MARKET_SET_STATUS)
        snprintf(word, sizeof word, "%s", word_of(WORDS(market_status_words), small));
    else if (o->command_type == COMMAND_ORDER_REPLACE && o->replace_filled >= 0)
        snprintf(word, sizeof word, "%" PRId64 " (%" PRId64 " in all)", o->replace_filled,
                 o->value);
    else
        snprintf(word, sizeof word, "%" PRId64, o->value);
    snprintf(text, size, ", %s %s", label, word);
}

/* A command type by the name this CLI gives it ("market-settle",
 * "order"), as --json prints it. */
static const char *client_command_name(uint16_t command_type)
{
    for (size_t i = 0; i < SPEC_COUNT(command_specs); i++) {
        if (command_specs[i].command_type == command_type)
            return command_specs[i].name;
    }
    return command_type_name((enum command_type)command_type);
}

static int print_outcome(const struct client_spec *spec, const struct nodown_outcome *o,
                         const char *detail, bool json)
{
    const char *name = client_command_name(o->command_type);
    if (json) {
        char replace[48] = "";
        if (o->replace_filled >= 0)
            snprintf(replace, sizeof replace, ",\"replace_filled\":%" PRId64, o->replace_filled);
        printf("{\"command\":\"%s\",\"result\":\"%s\",\"result_code\":%u,\"text\":\"%s\","
               "\"id\":%" PRIu64 ",\"value\":%" PRId64 "%s,\"duplicate\":%s,"
               "\"client_seq\":%" PRIu64 ",\"stream_seq\":%" PRIu64 "%s%s%s}\n",
               name, result_name(o->result), o->result, result_text(o->result), o->id,
               o->value, replace, o->duplicate ? "true" : "false", o->client_seq,
               o->stream_seq, detail[0] ? ",\"detail\":\"" : "", detail,
               detail[0] ? "\"" : "");
    } else if (o->result == REJECT_LOGIC_NOT_EVERYWHERE && o->id != UINT32_MAX) {
        fprintf(stderr, "nodown client: %s rejected, not published: node %" PRIu64 " cannot "
                "run that logic version (the answering node's log names every one) (%s)\n",
                spec->name, o->id, result_name(o->result));
    } else if (o->result != RESULT_OK) {
        fprintf(stderr, "nodown client: %s rejected: %s (%s)%s%s\n", spec->name,
                result_text(o->result), result_name(o->result), detail[0] ? ": " : "", detail);
    } else {
        char value[64] = "";
        if (spec->value_label != NULL)
            print_value(value, sizeof value, spec->value_label, o);
        printf("%s: ok, %s %" PRIu64 "%s (client_seq %" PRIu64 ", stream_seq %" PRIu64 ")\n",
               spec->name, spec->id_label, o->id, value, o->client_seq, o->stream_seq);
    }
    return o->result == RESULT_OK ? CLIENT_EXIT_OK : CLIENT_EXIT_REJECTED;
}

static void print_account(const struct query_account *a, bool json)
{
    if (json) {
        printf("{\"account_id\":%u,\"parent_id\":%u,\"kind\":\"%s\",\"status\":\"%s\","
               "\"balance_minor\":%" PRId64 ",\"credit_limit_minor\":%" PRId64
               ",\"reserved_minor\":%" PRId64 ",\"stake_open_minor\":%" PRId64
               ",\"available_minor\":%" PRId64 ",\"order_quantity_max\":%" PRId64
               ",\"order_notional_max_minor\":%" PRId64 ",\"bet_stake_max_minor\":%" PRId64
               ",\"exposure_limit_minor\":%" PRId64 ",\"day_fees_minor\":%" PRId64
               ",\"pt_share_bp\":[%u,%u,%u],\"pt_max_bp\":[%u,%u,%u]}\n",
               a->account_id, a->parent_id, word_of(WORDS(kind_words), a->kind),
               word_of(WORDS(status_words), a->status), a->balance_minor,
               a->credit_limit_minor, a->reserved_minor, a->stake_open_minor,
               a->available_minor, a->order_quantity_max, a->order_notional_max_minor,
               a->bet_stake_max_minor, a->exposure_limit_minor, a->day_fees_minor,
               a->pt_share_bp[0], a->pt_share_bp[1], a->pt_share_bp[2], a->pt_max_bp[0],
               a->pt_max_bp[1], a->pt_max_bp[2]);
        return;
    }
    printf("account %u: %s under %u, %s; balance %" PRId64 ", credit %" PRId64
           ", reserved %" PRId64 ", stakes %" PRId64 ", available %" PRId64
           ", day fees %" PRId64 "; limits quantity %" PRId64 " notional %" PRId64
           " stake %" PRId64 " exposure %" PRId64 "; pt 1x2 %u/%u handicap %u/%u"
           " over-under %u/%u bp\n",
           a->account_id, word_of(WORDS(kind_words), a->kind), a->parent_id,
           word_of(WORDS(status_words), a->status), a->balance_minor, a->credit_limit_minor,
           a->reserved_minor, a->stake_open_minor, a->available_minor, a->day_fees_minor,
           a->order_quantity_max, a->order_notional_max_minor, a->bet_stake_max_minor,
           a->exposure_limit_minor, a->pt_share_bp[0], a->pt_max_bp[0], a->pt_share_bp[1],
           a->pt_max_bp[1], a->pt_share_bp[2], a->pt_max_bp[2]);
}

static void print_positions(uint32_t account_id, const struct query_position *rows,
                            uint32_t count, bool json)
{
    printf(json ? "{\"account_id\":%u,\"positions\":[" : "account %u positions:", account_id);
    for (uint32_t i = 0; i < count; i++) {
        const struct query_position *p = &rows[i];
        if (json)
            printf("%s{\"instrument_id\":%u,\"quantity\":%" PRId64
                   ",\"quantity_reserved\":%" PRId64 "}",
                   i ? "," : "", p->instrument_id, p->quantity, p->quantity_reserved);
        else
            printf("%s instrument %u %" PRId64 " (%" PRId64 " reserved)", i ? "," : "",
                   p->instrument_id, p->quantity, p->quantity_reserved);
    }
    fputs(json ? "]}\n" : count ? "\n" : " none\n", stdout);
}

static void print_order(const struct query_order *o, bool json)
{
    const char *side = word_of(WORDS(side_words), o->side);
    const char *tif = (o->flags & ORDER_FLAG_GTC) ? "gtc" : "day";
    bool queued = (o->flags & ORDER_FLAG_QUEUED) != 0;
    if (o->done != 0) {
        const char *how = word_of(WORDS(done_words), o->done - 1u);
        if (json)
            printf("{\"order_id\":%" PRIu64 ",\"client_order_id\":%" PRIu64
                   ",\"account_id\":%u,\"instrument_id\":%u,\"side\":\"%s\",\"done\":\"%s\","
                   "\"price_ticks\":%" PRId64 ",\"quantity_open\":0,\"quantity_filled\":%" PRId64
                   "}\n",
                   o->order_id, o->client_order_id, o->account_id, o->instrument_id, side, how,
                   o->price_ticks, o->quantity_filled);
        else
            printf("order %" PRIu64 ": account %u %s at %" PRId64 " on instrument %u, %s,"
                   " filled %" PRId64 ", client order id %" PRIu64 "\n",
                   o->order_id, o->account_id, side, o->price_ticks, o->instrument_id, how,
                   o->quantity_filled, o->client_order_id);
        return;
    }
    if (json)
        printf("{\"order_id\":%" PRIu64 ",\"client_order_id\":%" PRIu64 ",\"account_id\":%u,"
               "\"instrument_id\":%u,\"side\":\"%s\",\"tif\":\"%s\",\"queued\":%s,"
               "\"price_ticks\":%" PRId64 ",\"quantity_open\":%" PRId64
               ",\"quantity_filled\":%" PRId64 "}\n",
               o->order_id, o->client_order_id, o->account_id, o->instrument_id, side, tif,
               queued ? "true" : "false", o->price_ticks, o->quantity_open, o->quantity_filled);
    else
        printf("order %" PRIu64 ": account %u %s %" PRId64 " at %" PRId64
               " on instrument %u, filled %" PRId64 ", %s%s, client order id %" PRIu64 "\n",
               o->order_id, o->account_id, side, o->quantity_open, o->price_ticks,
               o->instrument_id, o->quantity_filled, tif, queued ? ", queued" : "",
               o->client_order_id);
}

static void print_levels(const char *name, const struct query_level *levels, uint16_t count,
                         bool json)
{
    printf(json ? "\"%s\":[" : " %s", name);
    for (uint16_t i = 0; i < count; i++) {
        if (json)
            printf("%s{\"price_ticks\":%" PRId64 ",\"quantity\":%" PRId64 "}", i ? "," : "",
                   levels[i].price_ticks, levels[i].quantity);
        else
            printf(" %" PRId64 "x%" PRId64, levels[i].price_ticks, levels[i].quantity);
    }
    if (json)
        printf("]");
    else if (count == 0)
        printf(" none");
}

static void print_book(const struct query_book *b, bool json)
{
    const char *phase = word_of(WORDS(phase_words), b->phase);
    if (json)
        printf("{\"instrument_id\":%u,\"phase\":\"%s\",\"last_price_ticks\":%" PRId64 ",",
               b->instrument_id, phase, b->last_price_ticks);
    else
        printf("instrument %u %s, last %" PRId64 ":", b->instrument_id, phase,
               b->last_price_ticks);
    print_levels("bids", b->bids, b->bid_count, json);
    fputs(json ? "," : ";", stdout);
    print_levels("asks", b->asks, b->ask_count, json);
    fputs(json ? "}\n" : "\n", stdout);
}

static void print_exposure(const struct query_exposure *e, bool json)
{
    if (json)
        printf("{\"account_id\":%u,\"market_id\":%u,\"worst_minor\":%" PRId64
               ",\"selections\":[",
               e->account_id, e->market_id, e->worst_minor);
    else
        printf("account %u on market %u: worst %" PRId64 ";", e->account_id, e->market_id,
               e->worst_minor);
    for (uint32_t i = 0; i < e->selection_count && i < SELECTIONS_MAX; i++) {
        if (json)
            printf("%s{\"win_liability_minor\":%" PRId64 ",\"stake_in_minor\":%" PRId64 "}",
                   i ? "," : "", e->win_liability_minor[i], e->stake_in_minor[i]);
        else
            printf(" selection %u pays %" PRId64 " keeps %" PRId64 "%s", i,
                   e->win_liability_minor[i], e->stake_in_minor[i],
                   i + 1 < e->selection_count ? "," : "");
    }
    fputs(json ? "]}\n" : "\n", stdout);
}

/* A line in goals from quarters: -1 is "-0.25", 10 is "2.5", 8 is "2". */
static void print_line(char *text, size_t size, int32_t line_quarters)
{
    static const char *const quarter_words[] = {"", ".25", ".5", ".75"};
    int64_t quarters = line_quarters;
    int64_t magnitude = quarters < 0 ? -quarters : quarters;
    snprintf(text, size, "%s%" PRId64 "%s", quarters < 0 ? "-" : "", magnitude / 4,
             quarter_words[magnitude % 4]);
}

/* A 1x2 market has no line; a handicap's and a total's is shown in goals.
 * ladder: fractional odds on the traditional ladder, not exact. */
static void print_odds(const struct query_odds *o, bool json, bool ladder)
{
    const char *format = word_of(WORDS(odds_format_words), o->odds_format);
    const char *type = word_of(WORDS(market_type_words), o->market_type);
    const char *status = word_of(WORDS(market_status_words), o->status);
    char line[32] = "";
    if (o->market_type != MARKET_TYPE_1X2)
        print_line(line, sizeof line, o->line_quarters);
    if (json)
        printf("{\"market_id\":%u,\"type\":\"%s\",\"status\":\"%s\",\"format\":\"%s\","
               "%s%s%s\"ladder\":%s,\"prices\":[",
               o->market_id, type, status, format, line[0] ? "\"line\":" : "", line,
               line[0] ? "," : "", ladder ? "true" : "false");
    else
        printf("market %u %s %s%s%s, %s%s:", o->market_id, type, status,
               line[0] ? ", line " : "", line, format, ladder ? " (ladder)" : "");
    for (uint32_t i = 0; i < o->selection_count && i < SELECTIONS_MAX; i++) {
        const struct query_price *p = &o->prices[i];
        struct odds_display display = {(enum odds_format)o->odds_format, p->value,
                                       p->numerator, p->denominator};
        char text[ODDS_TEXT_SIZE_MAX];
        if ((ladder && odds_ladder_from_milli(p->odds_milli, &display) != 0) ||
            odds_display_format(&display, text, sizeof text) != 0)
            snprintf(text, sizeof text, "?");
        if (json)
            printf("%s{\"odds_milli\":%d,\"text\":\"%s\"}", i ? "," : "", p->odds_milli, text);
        else
            printf(" %s", text);
    }
    fputs(json ? "]}\n" : "\n", stdout);
}

/* ---- Talking to the cluster. ---- */

/* market-odds and market-settle name a market, not its type: ask for it,
 * and refuse at once a count that is not one per selection. A market the
 * query cannot see is left to the state machine to refuse. Returns 0 to
 * go on, or the exit code. */
static int selection_count_check(struct nodown_client *client, const struct client_spec *spec,
                                 const struct command *command, const struct client_globals *g)
{
    bool odds = command->type == COMMAND_MARKET_SET_ODDS;
    if (!odds && command->type != COMMAND_MARKET_SETTLE)
        return 0;
    static struct frame_query query;
    static struct frame_query_result result;
    memset(&query, 0, sizeof query);
    query.query_type = QUERY_ODDS;
    query.u.odds.market_id = odds ? command->u.market_set_odds.market_id
                                  : command->u.market_settle.market_id;
    query.u.odds.odds_format = ODDS_FORMAT_DECIMAL;
    if (nodown_client_query(client, &query, &result, g->timeout_ms) != 0 ||
        result.result != RESULT_OK || result.u.odds.market_type >= MARKET_TYPE_COUNT)
        return 0;
    uint8_t given = odds ? command->u.market_set_odds.odds_count
                         : command->u.market_settle.result_count;
    const struct query_odds *market = &result.u.odds;
    if (given == market->selection_count)
        return 0;
    char message[160];
    snprintf(message, sizeof message, "--%s: %u given, market %u is %s and needs %u (one per"
             " selection)", odds ? "odds" : "results", given, market->market_id,
             market_type_words[market->market_type], market->selection_count);
    fprintf(stderr, "nodown client %s: %s\n", spec->name, message);
    return CLIENT_EXIT_USAGE;
}

/* account-limits carries all four limits, and the state machine sets all
 * four: a limit not given on the command line is read from the account
 * first, so that only the limits given change. (A change made by someone
 * else between the read and this command is overwritten.) Returns 0 to go
 * on, or the exit code. */
static int limits_fill(struct nodown_client *client, const struct client_spec *spec,
                       struct command *command, const struct client_globals *g)
{
    struct command_account_limits *limits = &command->u.account_set_limits;
    if (command->type != COMMAND_ACCOUNT_SET_LIMITS)
        return 0;
    if (limits->order_quantity_max != LIMIT_KEEP &&
        limits->order_notional_max_minor != LIMIT_KEEP &&
        limits->bet_stake_max_minor != LIMIT_KEEP && limits->exposure_limit_minor != LIMIT_KEEP)
        return 0;
    static struct frame_query query;
    static struct frame_query_result result;
    memset(&query, 0, sizeof query);
    query.query_type = QUERY_ACCOUNT;
    query.u.account.account_id = limits->account_id;
    int rv = nodown_client_query(client, &query, &result, g->timeout_ms);
    if (rv != 0 || result.result != RESULT_OK) {
        fprintf(stderr, "nodown client: %s: cannot read account %u's limits to keep those not"
                " given (%s); give all four\n", spec->name, limits->account_id,
                rv != 0 ? err_text(rv) : result_name(result.result));
        return rv != 0 ? CLIENT_EXIT_NO_ANSWER : CLIENT_EXIT_REJECTED;
    }
    const struct query_account *now = &result.u.account;
    if (limits->order_quantity_max == LIMIT_KEEP)
        limits->order_quantity_max = now->order_quantity_max;
    if (limits->order_notional_max_minor == LIMIT_KEEP)
        limits->order_notional_max_minor = now->order_notional_max_minor;
    if (limits->bet_stake_max_minor == LIMIT_KEEP)
        limits->bet_stake_max_minor = now->bet_stake_max_minor;
    if (limits->exposure_limit_minor == LIMIT_KEEP)
        limits->exposure_limit_minor = now->exposure_limit_minor;
    return 0;
}

/* The amount a command carries that REJECT_AMOUNT_INVALID may be about,
 * and the most it may be; false for a command with several. */
static bool reject_amount(const struct command *command, int64_t *amount, int64_t *max)
{
    *max = AMOUNT_MAX_MINOR;
    switch (command->type) {
    case COMMAND_CASH_DEPOSIT:
    case COMMAND_CASH_WITHDRAW: *amount = command->u.cash.amount_minor; return true;
    case COMMAND_ACCOUNT_CREATE:
        *amount = command->u.account_create.credit_limit_minor;
        return true;
    case COMMAND_ACCOUNT_SET_CREDIT:
        *amount = command->u.account_set_credit.credit_limit_minor;
        return true;
    default: return false;
    }
}

/* The kinds of account a parent takes, asked of the node. */
static void reject_detail_kinds(struct nodown_client *client, uint32_t parent_id,
                                const struct client_globals *g, char *text, size_t size)
{
    static struct frame_query query;
    static struct frame_query_result result;
    memset(&query, 0, sizeof query);
    query.query_type = QUERY_ACCOUNT;
    query.u.account.account_id = parent_id;
    if (nodown_client_query(client, &query, &result, g->timeout_ms) != 0 ||
        result.result != RESULT_OK)
        return;
    uint8_t parent_kind = result.u.account.kind;
    int used = snprintf(text, size, "account %u is %s %s, which takes", parent_id,
                        parent_kind == ACCOUNT_KIND_AGENT ? "an" : "a",
                        word_of(WORDS(kind_words), parent_kind));
    const char *sep = " ";
    for (uint8_t kind = 0; kind < ACCOUNT_KIND_COUNT && used > 0 && (size_t)used < size; kind++) {
        if (!account_kind_allowed(parent_kind, kind))
            continue;
        used += snprintf(text + used, size - (size_t)used, "%s%s", sep, kind_words[kind]);
        sep = " or ";
    }
    if (sep[1] == '\0' && used > 0 && (size_t)used < size)
        snprintf(text + used, size - (size_t)used, " no accounts under it");
}

/* A reject said in words that help: what the state allows instead, read
 * with a query when the outcome alone cannot tell (docs/cli.md, "Rejects").
 * Leaves text empty when there is nothing to add. */
static void reject_detail(struct nodown_client *client, const struct command *command,
                          const struct nodown_outcome *o, const struct client_globals *g,
                          char *text, size_t size)
{
    static struct frame_query query;
    static struct frame_query_result result;
    text[0] = '\0';
    memset(&query, 0, sizeof query);
    query.min_seq = o->stream_seq; /* the state the reject was decided on, or later */
    int64_t amount = 0, max = 0;
    switch (o->result) {
    case REJECT_ACCOUNT_KIND:
        if (command->type == COMMAND_PT_SET) {
            snprintf(text, size, "account %u is not a position-taking level (only super, master"
                     " and agent accounts take positions)", command->u.pt_set.account_id);
        } else if (command->type == COMMAND_ACCOUNT_CREATE) {
            reject_detail_kinds(client, command->u.account_create.parent_id, g, text, size);
        } else if (command->type == COMMAND_COMMISSION_SET) {
            snprintf(text, size, "account %u is the house or an operator, which earn no"
                     " commission", command->u.commission_set.account_id);
        }
        return;
    case REJECT_COMMISSION_ABOVE_PARENT:
        snprintf(text, size, "at most %" PRId64 " bp: the parent's own rate", o->value);
        return;
    case REJECT_LOGIC_NOT_ACTIVE:
        snprintf(text, size, "it needs logic version %" PRIu64 " (activate-logic)", o->id);
        return;
    case REJECT_ODDS_CHANGED: {
        if (command->type != COMMAND_BET_PLACE)
            return;
        uint8_t selection = command->u.bet_place.selection;
        query.query_type = QUERY_ODDS;
        query.u.odds.market_id = command->u.bet_place.market_id;
        query.u.odds.odds_format = ODDS_FORMAT_DECIMAL;
        if (nodown_client_query(client, &query, &result, g->timeout_ms) != 0 ||
            result.result != RESULT_OK || selection >= result.u.odds.selection_count)
            return;
        char now[32];
        print_odds_milli(now, sizeof now, result.u.odds.prices[selection].odds_milli);
        snprintf(text, size, "selection %u is at %s now", selection, now);
        return;
    }
    case REJECT_DAY_STATE:
        snprintf(text, size, command->type == COMMAND_DAY_START
                                 ? "the trading day has already started (day-end it first)"
                                 : "the trading day has not started (day-start first)");
        return;
    case REJECT_DATE_INVALID:
        if (command->type == COMMAND_DAY_END && o->id != 0)
            snprintf(text, size, "the current trading date is %" PRIu64, o->id);
        else if (command->type == COMMAND_DAY_END)
            snprintf(text, size, "not the current trading date");
        else if (command->type == COMMAND_DAY_START && o->id != 0)
            snprintf(text, size, "a real date (yyyymmdd) after the current trading date %" PRIu64
                     " is needed", o->id);
        return;
    case REJECT_AMOUNT_INVALID:
        if (!reject_amount(command, &amount, &max))
            snprintf(text, size, "too large or below 0: see the limits in docs/trading.md");
        else if (amount > max)
            snprintf(text, size, "%" PRId64 " is too large: at most %" PRId64, amount, max);
        else if (command->type == COMMAND_CASH_DEPOSIT && amount > 0)
            snprintf(text, size, "too large: the balance would pass %" PRId64, max);
        else
            snprintf(text, size, "%" PRId64 " is too small: at least %d", amount,
                     command->type == COMMAND_CASH_DEPOSIT ||
                             command->type == COMMAND_CASH_WITHDRAW ? 1 : 0);
        return;
    default: return;
    }
}

static int run_command(struct nodown_client *client, const struct client_spec *spec,
                       struct command *command, const struct client_globals *g)
{
    int exit_code = selection_count_check(client, spec, command, g);
    if (exit_code == 0)
        exit_code = limits_fill(client, spec, command, g);
    if (exit_code != 0)
        return exit_code;
    uint64_t client_seq = 0;
    struct nodown_outcome outcome;
    int rv = nodown_client_send(client, command, &client_seq);
    if (rv == 0 || rv == ERR_IO || rv == ERR_REFUSED || rv == ERR_VERSION)
        rv = nodown_client_wait(client, &outcome, g->timeout_ms);
    if (rv != 0) {
        fprintf(stderr, "nodown client: %s (client_seq %" PRIu64 ") has no outcome: %s%s%s;"
                " it may or may not have been applied\n", spec->name, client_seq,
                err_text(rv), nodown_client_errmsg(client)[0] ? ": " : "",
                nodown_client_errmsg(client));
        return CLIENT_EXIT_NO_ANSWER;
    }
    if (outcome.duplicate) {
        /* A lagging node numbered us after an older sequence: this is the
         * outcome of an earlier command, and ours was not applied. */
        fprintf(stderr, "nodown client: %s was not applied: the node answered with the outcome"
                " of an earlier command (client_seq %" PRIu64 ", %s); it lags behind the"
                " stream, run the command again\n", spec->name, outcome.client_seq,
                client_command_name(outcome.command_type));
        return CLIENT_EXIT_NO_ANSWER;
    }
    char detail[256] = "";
    if (outcome.result != RESULT_OK)
        reject_detail(client, command, &outcome, g, detail, sizeof detail);
    return print_outcome(spec, &outcome, detail, g->json);
}

static bool query_failed(const struct client_spec *spec, struct nodown_client *client, int rv,
                         const struct frame_query_result *result, bool json, int *exit_code)
{
    if (rv != 0) {
        fprintf(stderr, "nodown client: query %s has no answer: %s%s%s\n", spec->name,
                err_text(rv), nodown_client_errmsg(client)[0] ? ": " : "",
                nodown_client_errmsg(client));
        *exit_code = CLIENT_EXIT_NO_ANSWER;
        return true;
    }
    if (result->result == RESULT_OK)
        return false;
    if (json)
        printf("{\"query\":\"%s\",\"result\":\"%s\",\"result_code\":%u,\"text\":\"%s\"}\n",
               spec->name, result_name(result->result), result->result,
               result_text(result->result));
    else
        fprintf(stderr, "nodown client: query %s rejected: %s (%s)\n", spec->name,
                result_text(result->result), result_name(result->result));
    *exit_code = CLIENT_EXIT_REJECTED;
    return true;
}

/* Every page of an account's holdings, printed as one answer. */
static int run_positions(struct nodown_client *client, const struct client_spec *spec,
                         struct frame_query *query, const struct client_globals *g)
{
    static struct query_position rows[CLIENT_POSITION_PAGES_MAX * QUERY_POSITIONS_MAX];
    static struct frame_query_result result;
    uint32_t count = 0;
    int exit_code = CLIENT_EXIT_OK;
    for (uint32_t page = 0; page < CLIENT_POSITION_PAGES_MAX; page++) {
        int rv = nodown_client_query(client, query, &result, g->timeout_ms);
        if (query_failed(spec, client, rv, &result, g->json, &exit_code))
            return exit_code;
        const struct query_positions *p = &result.u.positions;
        memcpy(&rows[count], p->positions, p->count * sizeof p->positions[0]);
        count += p->count;
        if (!p->more || p->count == 0)
            break;
        query->u.positions.instrument_id_from = p->positions[p->count - 1].instrument_id + 1;
    }
    print_positions(query->u.positions.account_id, rows, count, g->json);
    return CLIENT_EXIT_OK;
}

static int run_query(struct nodown_client *client, const struct client_spec *spec,
                     struct frame_query *query, const struct client_globals *g)
{
    query->min_seq = g->min_seq;
    if (query->query_type == QUERY_POSITIONS)
        return run_positions(client, spec, query, g);
    static struct frame_query_result result;
    int exit_code = CLIENT_EXIT_OK;
    int rv = nodown_client_query(client, query, &result, g->timeout_ms);
    if (query_failed(spec, client, rv, &result, g->json, &exit_code))
        return exit_code;
    if (g->min_seq != 0)
        fprintf(stderr, "nodown client: as of stream sequence %" PRIu64 "\n",
                result.applied_seq);
    switch (query->query_type) {
    case QUERY_ACCOUNT: print_account(&result.u.account, g->json); break;
    case QUERY_ORDER: print_order(&result.u.order, g->json); break;
    case QUERY_BOOK: print_book(&result.u.book, g->json); break;
    case QUERY_EXPOSURE: print_exposure(&result.u.exposure, g->json); break;
    default:
        assert(query->query_type == QUERY_ODDS);
        print_odds(&result.u.odds, g->json, g->odds_ladder);
        break;
    }
    return CLIENT_EXIT_OK;
}

/* ---- main. ---- */

static int usage_error(const char *command, const char *message)
{
    fprintf(stderr, "nodown client%s%s: %s\n", command ? " " : "", command ? command : "",
            message);
    fprintf(stderr, "Run 'nodown client %s%s--help' for usage.\n", command ? command : "",
            command ? " " : "");
    return CLIENT_EXIT_USAGE;
}

/* Finds the subcommand at argv[0] (and the query type after "query").
 * Returns it and sets *used to the words it took, or NULL. */
static const struct client_spec *find_spec(int argc, char **argv, int *used)
{
    *used = 1;
    if (strcmp(argv[0], "query") != 0)
        return spec_find(command_specs, SPEC_COUNT(command_specs), argv[0]);
    if (argc < 2)
        return NULL;
    *used = 2;
    return spec_find(query_specs, SPEC_COUNT(query_specs), argv[1]);
}

static int client_connect_and_run(const struct client_globals *g,
                                  const struct client_spec *spec, struct command *command,
                                  struct frame_query *query)
{
    char errmsg[CLIENT_ERRMSG_SIZE];
    struct nodown_client *client = NULL;
    int rv = nodown_client_open(&client, g->nodes, g->client_id, g->account_id, g->secret, NULL,
                                errmsg, sizeof errmsg);
    if (rv == ERR_USAGE)
        return usage_error(NULL, errmsg);
    if (rv != 0) {
        fprintf(stderr, "nodown client: cannot log on as account %u at %s: %s (%s)\n",
                g->account_id, g->nodes, errmsg, err_text(rv));
        return CLIENT_EXIT_NO_ANSWER;
    }
    int exit_code = spec->query_type ? run_query(client, spec, query, g)
                                     : run_command(client, spec, command, g);
    nodown_client_close(client);
    return exit_code;
}

int client_main(int argc, char **argv)
{
    struct client_globals g;
    memset(&g, 0, sizeof g);
    char errmsg[CLIENT_ERRMSG_SIZE];
    int next = 0;
    int rv = parse_globals(argc, argv, &g, &next, errmsg, sizeof errmsg);
    if (rv == 1 || (rv == 0 && next < argc && strcmp(argv[next], "help") == 0)) {
        usage_client(stdout);
        return CLIENT_EXIT_OK;
    }
    if (rv != 0)
        return usage_error(NULL, errmsg);
    if (next == argc)
        return usage_error(NULL, "no command given");
    int used = 0;
    const struct client_spec *spec = find_spec(argc - next, argv + next, &used);
    if (spec == NULL && used == 1 && strcmp(argv[next], "query") == 0)
        return usage_error(NULL, "query needs a type: account|positions|order|book|exposure|odds");
    if (spec == NULL) {
        snprintf(errmsg, sizeof errmsg, "unknown command '%s%s%s'", argv[next],
                 used == 2 ? " " : "", used == 2 ? argv[next + 1] : "");
        return usage_error(NULL, errmsg);
    }
    static struct client_args args;
    memset(&args, 0, sizeof args);
    args.spec = spec;
    args.self_id = g.account_id;
    char name[64];
    snprintf(name, sizeof name, "%s%s", spec->query_type ? "query " : "", spec->name);
    rv = parse_options(argc - next - used, argv + next + used, &args);
    if (rv != 0)
        return rv == 1 ? CLIENT_EXIT_OK : usage_error(name, args.errmsg);
    struct command command;
    struct frame_query query;
    memset(&command, 0, sizeof command);
    memset(&query, 0, sizeof query);
    command.type = spec->command_type;
    query.query_type = spec->query_type;
    if (spec->query_type)
        spec->build_query(&args, &query);
    else
        spec->build(&args, &command);
    if (args.errmsg[0] != '\0')
        return usage_error(name, args.errmsg);
    g.odds_ladder = spec->query_type == QUERY_ODDS && arg_flag(&args, "ladder");
    if (!g.account_given)
        return usage_error(NULL, "--account ID is required (the account to log on as)");
    if (g.secret == NULL)
        return usage_error(NULL, "no secret: give --secret S or set $NODOWN_SECRET");
    return client_connect_and_run(&g, spec, &command, &query);
}
