/* `nodown demo`: one trading day of a brokerage and a sportsbook, run
 * through the state machine and printed as it goes, in one process: a
 * hierarchy with position taking, an equity and a football match, orders
 * and bets from several members, settlement, balances, exposures, odds in
 * every format and the digest.
 * `make run` runs the real thing: a node and `nodown simulate`.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/engine.h"
#include "core/odds.h"

struct demo {
    struct engine engine;
    uint64_t seq;
    uint64_t time_ns;
    const char *names[64];
};

static void demo_event(void *context, const struct event *event)
{
    const struct demo *demo = context;
    const char *who = event->account_id < 64 && demo->names[event->account_id] != NULL
                          ? demo->names[event->account_id]
                          : "?";
    if (event->type == EVENT_TRADE)
        printf("    trade: %s %s %" PRId64 " @ %" PRId64 ".%02" PRId64 " from %s\n", who,
               event->u.trade.taker_side == SIDE_BUY ? "buys" : "sells",
               event->u.trade.quantity, event->u.trade.price_ticks / 100,
               event->u.trade.price_ticks % 100, demo->names[event->u.trade.maker_account_id]);
    else if (event->type == EVENT_BET_SETTLED)
        printf("    bet %" PRIu64 " of %s settled: %+" PRId64 ".%02" PRId64 "\n", event->id,
               who, event->u.bet.payout_minor / 100,
               (event->u.bet.payout_minor < 0 ? -1 : 1) * event->u.bet.payout_minor % 100);
}

static struct outcome demo_apply(struct demo *demo, struct command *command, const char *what)
{
    struct outcome outcome;
    struct event_sink sink = {.emit_cb = demo_event, .context = demo};
    command->client_id = 1;
    command->client_seq = ++demo->seq;
    demo->time_ns += 1000000;
    if (engine_apply(&demo->engine, demo->time_ns, command, &sink, &outcome) != 0) {
        fprintf(stderr, "demo: %s stopped the engine\n",
                what != NULL ? what : command_type_name((enum command_type)command->type));
        exit(1);
    }
    if (what != NULL)
        printf("  %-52s %s\n", what, outcome.result == RESULT_OK ? "ok"
                                                               : result_text(outcome.result));
    else if (outcome.result != RESULT_OK)
        printf("  %s rejected: %s\n", command_type_name((enum command_type)command->type),
               result_text(outcome.result));
    return outcome;
}

static struct command demo_command(enum command_type type, uint32_t sender)
{
    struct command command;
    memset(&command, 0, sizeof command);
    command.type = (uint16_t)type;
    command.sender_account_id = sender;
    return command;
}

static uint32_t demo_account(struct demo *demo, uint32_t sender, uint32_t parent,
                             enum account_kind kind, int64_t credit_minor, const char *name)
{
    struct command c = demo_command(COMMAND_ACCOUNT_CREATE, sender);
    c.u.account_create.parent_id = parent;
    c.u.account_create.kind = (uint8_t)kind;
    c.u.account_create.credit_limit_minor = credit_minor;
    uint32_t id = (uint32_t)demo_apply(demo, &c, NULL).id;
    demo->names[id] = name;
    return id;
}

static void demo_pt(struct demo *demo, uint32_t sender, uint32_t account, uint16_t share_bp,
                    uint16_t max_bp)
{
    for (uint8_t type = 0; type < MARKET_TYPE_COUNT; type++) {
        struct command c = demo_command(COMMAND_PT_SET, sender);
        c.u.pt_set.account_id = account;
        c.u.pt_set.market_type = type;
        c.u.pt_set.share_bp = share_bp;
        c.u.pt_set.max_bp = max_bp;
        demo_apply(demo, &c, NULL);
    }
}

static void demo_money(char *text, size_t size, int64_t minor)
{
    int64_t whole = minor / 100;
    int64_t cents = minor % 100;
    snprintf(text, size, "%s%" PRId64 ".%02" PRId64, minor < 0 && whole == 0 ? "-" : "",
             whole, cents < 0 ? -cents : cents);
}

/* Ids of the demo's accounts and markets. */
struct demo_ids {
    uint32_t ops, super, master, agent_a, agent_b, members[4], acme;
    uint32_t match, market_1x2, market_ah, market_ou;
};

static void demo_hierarchy(struct demo *demo, struct demo_ids *ids)
{
    printf("\n== hierarchy: house > super > master > two agents > four members\n");
    demo->names[0] = "house";
    ids->ops = demo_account(demo, 0, 0, ACCOUNT_KIND_OPERATOR, 0, "ops");
    ids->super = demo_account(demo, ids->ops, 0, ACCOUNT_KIND_SUPER, 100000000, "super");
    ids->master = demo_account(demo, ids->super, ids->super, ACCOUNT_KIND_MASTER, 50000000,
                               "master");
    ids->agent_a = demo_account(demo, ids->master, ids->master, ACCOUNT_KIND_AGENT, 20000000,
                                "agent-a");
    ids->agent_b = demo_account(demo, ids->master, ids->master, ACCOUNT_KIND_AGENT, 20000000,
                                "agent-b");
    static const char *const member_names[4] = {"ann", "bob", "cho", "dev"};
    for (uint32_t i = 0; i < 4; i++) {
        uint32_t agent = i < 2 ? ids->agent_a : ids->agent_b;
        ids->members[i] = demo_account(demo, agent, agent, ACCOUNT_KIND_MEMBER, 500000,
                                       member_names[i]);
    }
    printf("  position taking: super 10%% (max 90%%), master 20%% (max 80%%),"
           " agents 30%% (max 50%%)\n");
    demo_pt(demo, ids->ops, ids->super, 1000, 9000);
    demo_pt(demo, ids->super, ids->master, 2000, 8000);
    demo_pt(demo, ids->master, ids->agent_a, 3000, 5000);
    demo_pt(demo, ids->master, ids->agent_b, 3000, 5000);
    for (uint32_t i = 0; i < 4; i++) {
        struct command c = demo_command(COMMAND_CASH_DEPOSIT, ids->ops);
        c.u.cash.account_id = ids->members[i];
        c.u.cash.amount_minor = 2000000;
        demo_apply(demo, &c, NULL);
    }
    printf("  each member deposits 20000.00 and has 5000.00 of credit\n");
}

static struct outcome demo_order(struct demo *demo, uint32_t member, uint32_t instrument,
                                 enum side side, int64_t price_ticks, int64_t quantity,
                                 enum time_in_force tif, const char *what)
{
    struct command c = demo_command(COMMAND_ORDER_PLACE, member);
    c.u.order_place.instrument_id = instrument;
    c.u.order_place.side = (uint8_t)side;
    c.u.order_place.time_in_force = (uint8_t)tif;
    c.u.order_place.price_ticks = price_ticks;
    c.u.order_place.quantity = quantity;
    return demo_apply(demo, &c, what);
}

static void demo_equity(struct demo *demo, struct demo_ids *ids)
{
    printf("\n== brokerage: ACME, tick 0.01, lot 100, reference 15.00, band +-10%%,"
           " fees 5 bp maker / 10 bp taker\n");
    struct command c = demo_command(COMMAND_INSTRUMENT_CREATE, ids->ops);
    memcpy(c.u.instrument_create.symbol, "ACME", 4);
    c.u.instrument_create.tick_size_minor = 1;
    c.u.instrument_create.lot_size = 100;
    c.u.instrument_create.reference_price_ticks = 1500;
    c.u.instrument_create.band_bp = 1000;
    c.u.instrument_create.fee_maker_bp = 5;
    c.u.instrument_create.fee_taker_bp = 10;
    ids->acme = (uint32_t)demo_apply(demo, &c, NULL).id;
    for (uint32_t i = 2; i < 4; i++) {
        c = demo_command(COMMAND_POSITION_GRANT, ids->ops);
        c.u.position_grant.account_id = ids->members[i];
        c.u.position_grant.instrument_id = ids->acme;
        c.u.position_grant.quantity = 1000;
        demo_apply(demo, &c, NULL);
    }
    c = demo_command(COMMAND_DAY_START, ids->ops);
    c.u.day.trading_date = 20261123;
    demo_apply(demo, &c, "start of day 2026-11-23");
    uint32_t *m = ids->members;
    demo_order(demo, m[2], ids->acme, SIDE_SELL, 1510, 500, TIF_DAY, "cho sells 500 @ 15.10");
    demo_order(demo, m[3], ids->acme, SIDE_SELL, 1505, 300, TIF_GTC, "dev sells 300 @ 15.05 GTC");
    demo_order(demo, m[0], ids->acme, SIDE_BUY, 1510, 400, TIF_DAY, "ann buys 400 @ 15.10");
    demo_order(demo, m[1], ids->acme, SIDE_BUY, 1495, 200, TIF_DAY, "bob bids 200 @ 14.95");
    demo_order(demo, m[1], ids->acme, SIDE_BUY, 1520, 1000, TIF_IOC,
               "bob buys 1000 @ 15.20 IOC (rest cancelled)");
    demo_order(demo, m[0], ids->acme, SIDE_BUY, 1700, 100, TIF_DAY,
               "ann bids 17.00 (outside band)");
    demo_order(demo, m[0], ids->acme, SIDE_BUY, 1500, 150, TIF_DAY, "ann bids 150 (not a lot)");
    struct depth_level bids[5];
    uint32_t count = engine_book_depth(&demo->engine, ids->acme, SIDE_BUY, bids, 5);
    for (uint32_t i = 0; i < count; i++)
        printf("  book: bid %" PRId64 " @ %" PRId64 ".%02" PRId64 "\n", bids[i].quantity,
               bids[i].price_ticks / 100, bids[i].price_ticks % 100);
}

static uint32_t demo_market(struct demo *demo, uint32_t ops, uint32_t match, uint8_t type,
                            int32_t line_quarters, int32_t a, int32_t b, int32_t c)
{
    struct command m = demo_command(COMMAND_MARKET_CREATE, ops);
    m.u.market_create.sport_event_id = match;
    m.u.market_create.market_type = type;
    m.u.market_create.line_quarters = line_quarters;
    m.u.market_create.odds_milli[0] = a;
    m.u.market_create.odds_milli[1] = b;
    m.u.market_create.odds_milli[2] = c;
    m.u.market_create.odds_count = type == MARKET_TYPE_1X2 ? 3 : 2;
    m.u.market_create.stake_min_minor = 1000;
    m.u.market_create.stake_max_minor = 1000000;
    return (uint32_t)demo_apply(demo, &m, NULL).id;
}

static struct outcome demo_bet(struct demo *demo, uint32_t member, uint32_t market,
                               uint8_t selection, int32_t seen_milli, int64_t stake_minor,
                               uint8_t accept_better, const char *what)
{
    struct command c = demo_command(COMMAND_BET_PLACE, member);
    c.u.bet_place.market_id = market;
    c.u.bet_place.selection = selection;
    c.u.bet_place.odds_milli = seen_milli;
    c.u.bet_place.stake_minor = stake_minor;
    c.u.bet_place.accept_better_odds = accept_better;
    return demo_apply(demo, &c, what);
}

static void demo_odds_table(const struct demo *demo, uint32_t market, const char *const *names)
{
    const struct market *m = &demo->engine.markets[market];
    printf("  %-10s", "");
    for (uint32_t f = 0; f < ODDS_FORMAT_COUNT; f++)
        printf(" %11s", odds_format_name((enum odds_format)f));
    printf("\n");
    for (uint8_t s = 0; s < m->selection_count; s++) {
        printf("  %-10s", names[s]);
        for (uint32_t f = 0; f < ODDS_FORMAT_COUNT; f++) {
            struct odds_display display;
            char text[ODDS_TEXT_SIZE_MAX];
            if (odds_display_from_milli((enum odds_format)f, m->odds_milli[s], &display) != 0 ||
                odds_display_format(&display, text, sizeof text) != 0)
                snprintf(text, sizeof text, "?");
            printf(" %11s", text);
        }
        printf("\n");
    }
}

static void demo_sportsbook(struct demo *demo, struct demo_ids *ids)
{
    printf("\n== sportsbook: Arsenal v Chelsea, 1X2, Asian handicap home -0.25,"
           " over/under 2.5\n");
    struct command c = demo_command(COMMAND_SPORT_EVENT_CREATE, ids->ops);
    c.u.sport_event_create.external_ref = 4242;
    ids->match = (uint32_t)demo_apply(demo, &c, NULL).id;
    ids->market_1x2 = demo_market(demo, ids->ops, ids->match, MARKET_TYPE_1X2, 0, 2150, 3300,
                                  3500);
    ids->market_ah = demo_market(demo, ids->ops, ids->match, MARKET_TYPE_HANDICAP, -1, 1950,
                                 1900, 0);
    ids->market_ou = demo_market(demo, ids->ops, ids->match, MARKET_TYPE_OVER_UNDER, 10, 1850,
                                 2000, 0);
    static const char *const names_1x2[3] = {"home", "draw", "away"};
    static const char *const names_ah[2] = {"home -0.25", "away +0.25"};
    demo_odds_table(demo, ids->market_1x2, names_1x2);
    demo_odds_table(demo, ids->market_ah, names_ah);
    c = demo_command(COMMAND_PT_OVERRIDE, ids->agent_a);
    c.u.pt_override.sport_event_id = ids->match;
    c.u.pt_override.market_id = ids->market_1x2;
    c.u.pt_override.share_bp = 4500;
    demo_apply(demo, &c, "agent-a takes 45% of the 1X2 by hand (manual PT)");
    uint32_t *m = ids->members;
    demo_bet(demo, m[0], ids->market_1x2, 0, 2150, 10000, 0, "ann bets 100.00 on home @ 2.15");
    demo_bet(demo, m[1], ids->market_1x2, 1, 3300, 5000, 0, "bob bets 50.00 on draw @ 3.30");
    c = demo_command(COMMAND_MARKET_SET_ODDS, ids->ops);
    c.u.market_set_odds.market_id = ids->market_1x2;
    c.u.market_set_odds.odds_milli[0] = 2050;
    c.u.market_set_odds.odds_milli[1] = 3400;
    c.u.market_set_odds.odds_milli[2] = 3600;
    c.u.market_set_odds.odds_count = 3;
    demo_apply(demo, &c, "the house moves the 1X2 odds: 2.05 / 3.40 / 3.60");
    demo_bet(demo, m[0], ids->market_1x2, 0, 2150, 10000, 0, "ann bets again at the old 2.15");
    demo_bet(demo, m[1], ids->market_1x2, 2, 3500, 5000, 1,
             "bob bets 50.00 on away, saw 3.50, accepts better");
    demo_bet(demo, m[2], ids->market_ah, 1, 1900, 20000, 0, "cho bets 200.00 on away +0.25");
    demo_bet(demo, m[3], ids->market_ou, 0, 1850, 8000, 0, "dev bets 80.00 on over 2.5");
    demo_bet(demo, m[3], ids->market_ou, 0, 1850, 9000000, 0, "dev bets 90000.00 (over limit)");
    printf("  exposure (worst loss) on the 1X2:");
    const uint32_t levels[4] = {ids->agent_a, ids->agent_b, ids->master, ids->super};
    for (uint32_t i = 0; i < 4; i++) {
        char text[32];
        demo_money(text, sizeof text,
                   engine_exposure_minor(&demo->engine, levels[i], ids->market_1x2));
        printf(" %s %s", demo->names[levels[i]], text);
    }
    char text[32];
    demo_money(text, sizeof text, engine_exposure_minor(&demo->engine, 0, ids->market_1x2));
    printf(" house %s\n", text);
}

static void demo_settle(struct demo *demo, uint32_t ops, uint32_t market, uint8_t a, uint8_t b,
                        uint8_t c, const char *what)
{
    struct command s = demo_command(COMMAND_MARKET_SETTLE, ops);
    s.u.market_settle.market_id = market;
    s.u.market_settle.results[0] = a;
    s.u.market_settle.results[1] = b;
    s.u.market_settle.results[2] = c;
    s.u.market_settle.result_count = demo->engine.markets[market].selection_count;
    demo_apply(demo, &s, what);
}

static void demo_close(struct demo *demo, struct demo_ids *ids)
{
    printf("\n== full time 1-1\n");
    demo_settle(demo, ids->ops, ids->market_1x2, BET_RESULT_LOSE, BET_RESULT_WIN,
                BET_RESULT_LOSE, "settle 1X2: draw");
    demo_settle(demo, ids->ops, ids->market_ah, BET_RESULT_HALF_LOSE, BET_RESULT_HALF_WIN, 0,
                "settle handicap -0.25 on a draw: half lose / half win");
    demo_settle(demo, ids->ops, ids->market_ou, BET_RESULT_LOSE, BET_RESULT_WIN, 0,
                "settle over/under 2.5 on 2 goals: under");
    printf("\n== end of day\n");
    struct command c = demo_command(COMMAND_DAY_END, ids->ops);
    c.u.day.trading_date = 20261123;
    demo_apply(demo, &c, "end of day: day orders expire, statements");
    printf("\n  %-8s %-8s %14s %14s %10s\n", "account", "kind", "balance", "available",
           "ACME");
    for (uint32_t id = 0; id < demo->engine.account_count; id++) {
        const struct account *account = &demo->engine.accounts[id];
        char balance[32];
        char available[32];
        demo_money(balance, sizeof balance, account->balance_minor);
        demo_money(available, sizeof available, engine_available_minor(&demo->engine, id));
        printf("  %-8s %-8s %14s %14s %10" PRId64 "\n", demo->names[id],
               account_kind_name((enum account_kind)account->kind), balance, available,
               engine_position(&demo->engine, id, ids->acme));
    }
}

int demo_main(int argc, char **argv)
{
    if (argc > 0) {
        printf("usage: nodown demo\n"
               "  Runs one trading day of a brokerage and a sportsbook through the\n"
               "  deterministic core and prints what happens, then the state digest.\n");
        return strcmp(argv[0], "--help") == 0 ? 0 : 2;
    }
    struct demo *demo = calloc(1, sizeof *demo);
    struct limits limits;
    limits_default(&limits);
    limits.orders_max = 1u << 16;
    if (demo == NULL || engine_init(&demo->engine, &limits) != 0) {
        fprintf(stderr, "demo: out of memory\n");
        return 1;
    }
    struct demo_ids ids;
    memset(&ids, 0, sizeof ids);
    printf("nodown demo: a brokerage and a sportsbook, one trading day, in the core alone\n");
    demo_hierarchy(demo, &ids);
    demo_equity(demo, &ids);
    demo_sportsbook(demo, &ids);
    demo_close(demo, &ids);
    char errmsg[256];
    int rv = engine_check(&demo->engine, errmsg, sizeof errmsg);
    struct digest digest;
    char text[33];
    engine_digest(&demo->engine, &digest);
    digest_format(&digest, text);
    printf("\n  invariants: %s\n  state digest: %s\n", rv == 0 ? "hold" : errmsg, text);
    printf("\nThe same on a running node: `make run` (a node and a market simulator) prints\n"
           "a ready-to-paste `nodown client` line that logs on as the house.\n");
    engine_free(&demo->engine);
    free(demo);
    return rv == 0 ? 0 : 1;
}
