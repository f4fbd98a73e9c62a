/* `nodown simulate`: a small market driven through a running node, for
 * `make run` and for trying nodown by hand. It logs on as the house, builds
 * a hierarchy (a super, two masters, two agents each, three members per
 * agent) with position taking, an equity and a football match, then lets
 * members trade and bet, agents change their manual PT and the house move
 * the odds, through the native protocol like any client, until the time
 * is up or Ctrl-C. A line a second tells what happened.
 *
 * It is meant to run for hours with few rejects: every member buys and
 * sells; a member whose holding or cash runs out is topped up by the house
 * (the reject that told is counted); a member keeps at most
 * SIMULATE_RESTING_MAX day orders resting and cancels its oldest one, if
 * still live, beyond; and the match's market is settled and a new one
 * opened every SIMULATE_MARKET_BETS bets, so open bets never pile up. Its
 * client ids are fixed (the house 1000, agents 100 + i, members 200 + i),
 * so runs after runs reuse the house's session rather than open new ones.
 */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/engine.h"
#include "lib/secret.h"
#include "nodown/client.h"

#define SIMULATE_AGENTS 4u
#define SIMULATE_MEMBERS 12u
#define SIMULATE_DAY_TRIES 4000u /* dates tried for a new day: earlier runs took some */
#define SIMULATE_RESTING_MAX 8u    /* day orders a member keeps resting */
#define SIMULATE_MARKET_BETS 2000u /* bets on one market before it is settled */
#define SIMULATE_HOUSE_CLIENT_ID 1000u
#define SIMULATE_HOLDING 100000    /* shares granted at set-up and at each top-up */
#define SIMULATE_CASH_MINOR 1000000000 /* cash deposited at set-up and at each top-up */

struct simulation {
    struct nodown_client *house;
    struct nodown_client *members[SIMULATE_MEMBERS];
    struct nodown_client *agents[SIMULATE_AGENTS];
    uint32_t member_ids[SIMULATE_MEMBERS];
    uint32_t agent_ids[SIMULATE_AGENTS];
    uint32_t instrument_id;
    uint32_t event_id;
    uint32_t market_id;
    uint32_t market_bets; /* bets on market_id so far */
    uint64_t resting[SIMULATE_MEMBERS][SIMULATE_RESTING_MAX]; /* a ring of order ids */
    uint32_t resting_next[SIMULATE_MEMBERS];
    uint64_t rng;
    uint64_t orders, filled, bets, pt_changes, odds_moves, top_ups, settled, rejects;
    uint64_t stream_seq;
    bool acting;       /* set-up done: rejects now say why */
    bool reject_told[RESULT_CODE_COUNT];
};

static volatile sig_atomic_t simulate_stopping;

static void simulate_on_signal(int signal_number)
{
    (void)signal_number;
    simulate_stopping = 1;
}

static uint32_t simulate_rand(struct simulation *sim, uint32_t bound)
{
    sim->rng ^= sim->rng << 13;
    sim->rng ^= sim->rng >> 7;
    sim->rng ^= sim->rng << 17;
    return (uint32_t)(sim->rng % bound);
}

/* Sends one command and waits for its outcome. */
static int simulate_do(struct simulation *sim, struct nodown_client *client,
                       struct command *command, struct nodown_outcome *outcome)
{
    uint64_t client_seq = 0;
    int rv = nodown_client_send(client, command, &client_seq);
    if (rv == 0)
        rv = nodown_client_wait(client, outcome, 10000);
    if (rv != 0) {
        fprintf(stderr, "nodown simulate: %s: %s\n",
                command_type_name((enum command_type)command->type),
                nodown_client_errmsg(client));
        return rv;
    }
    sim->stream_seq = outcome->stream_seq;
    sim->rejects += outcome->result != RESULT_OK;
    /* The first reject of each result says why, once (the set-up's are
     * expected: an earlier run's state). */
    if (sim->acting && outcome->result != RESULT_OK && outcome->result < RESULT_CODE_COUNT &&
        !sim->reject_told[outcome->result]) {
        sim->reject_told[outcome->result] = true;
        fprintf(stderr, "simulate: %s rejected: %s (more of them are counted, not shown)\n",
                command_type_name((enum command_type)command->type),
                result_text(outcome->result));
    }
    return 0;
}

static struct command simulate_command(enum command_type type)
{
    struct command command;
    memset(&command, 0, sizeof command);
    command.type = (uint16_t)type;
    return command;
}

/* As the house: a new account; returns its id, or INDEX_NONE. */
static uint32_t simulate_account(struct simulation *sim, uint32_t parent, uint8_t kind,
                                 int64_t credit_minor, const char *secret)
{
    struct nodown_outcome outcome;
    struct command c = simulate_command(COMMAND_ACCOUNT_CREATE);
    c.u.account_create.parent_id = parent;
    c.u.account_create.kind = kind;
    c.u.account_create.credit_limit_minor = credit_minor;
    if (simulate_do(sim, sim->house, &c, &outcome) != 0 || outcome.result != RESULT_OK)
        return INDEX_NONE;
    uint32_t id = (uint32_t)outcome.id;
    if (secret != NULL) {
        c = simulate_command(COMMAND_ACCOUNT_SET_SECRET);
        c.u.account_set_secret.account_id = id;
        if (secret_salt_generate(c.u.account_set_secret.salt) != 0 ||
            secret_hash(secret, strlen(secret), c.u.account_set_secret.salt,
                        c.u.account_set_secret.hash) != 0 ||
            simulate_do(sim, sim->house, &c, &outcome) != 0)
            return INDEX_NONE;
    }
    return id;
}

static int simulate_house(struct simulation *sim, enum command_type type, uint32_t account,
                          int64_t amount)
{
    struct nodown_outcome outcome;
    struct command c = simulate_command(type);
    if (type == COMMAND_CASH_DEPOSIT) {
        c.u.cash.account_id = account;
        c.u.cash.amount_minor = amount;
    } else if (type == COMMAND_POSITION_GRANT) {
        c.u.position_grant.account_id = account;
        c.u.position_grant.instrument_id = sim->instrument_id;
        c.u.position_grant.quantity = amount;
    }
    return simulate_do(sim, sim->house, &c, &outcome);
}

static int simulate_pt(struct simulation *sim, uint32_t account, uint16_t share_bp,
                       uint16_t max_bp)
{
    for (uint8_t type = 0; type < MARKET_TYPE_COUNT; type++) {
        struct nodown_outcome outcome;
        struct command c = simulate_command(COMMAND_PT_SET);
        c.u.pt_set.account_id = account;
        c.u.pt_set.market_type = type;
        c.u.pt_set.share_bp = share_bp;
        c.u.pt_set.max_bp = max_bp;
        if (simulate_do(sim, sim->house, &c, &outcome) != 0)
            return -1;
    }
    return 0;
}

static uint32_t simulate_create(struct simulation *sim, enum command_type type)
{
    struct nodown_outcome outcome;
    struct command c = simulate_command(type);
    if (type == COMMAND_INSTRUMENT_CREATE) {
        memcpy(c.u.instrument_create.symbol, "ACME", 4);
        c.u.instrument_create.tick_size_minor = 1;
        c.u.instrument_create.lot_size = 100;
        c.u.instrument_create.reference_price_ticks = 1500;
        c.u.instrument_create.band_bp = 1000;
        c.u.instrument_create.fee_maker_bp = 5;
        c.u.instrument_create.fee_taker_bp = 10;
    } else if (type == COMMAND_MARKET_CREATE) {
        c.u.market_create.sport_event_id = sim->event_id;
        c.u.market_create.market_type = MARKET_TYPE_1X2;
        c.u.market_create.odds_milli[0] = 2150;
        c.u.market_create.odds_milli[1] = 3300;
        c.u.market_create.odds_milli[2] = 3500;
        c.u.market_create.odds_count = 3;
        c.u.market_create.stake_min_minor = 100;
        c.u.market_create.stake_max_minor = 100000;
    }
    if (simulate_do(sim, sim->house, &c, &outcome) != 0 || outcome.result != RESULT_OK)
        return INDEX_NONE;
    return (uint32_t)outcome.id;
}

/* The next date after yyyymmdd, with months of 28 days: dates only have
 * to be valid and rising. */
static uint32_t simulate_date_next(uint32_t date)
{
    uint32_t year = date / 10000, month = date / 100 % 100, day = date % 100;
    if (++day > 28) {
        day = 1;
        if (++month > 12) {
            month = 1;
            year++;
        }
    }
    return year * 10000 + month * 100 + day;
}

/* A new trading day, so that what setup created (an instrument opens at
 * the start of a day) trades. On a node kept from an earlier run, dates
 * are tried from 20261123 on: the open day is ended when its date comes,
 * and the first date after the state's starts the new one. */
static int simulate_day(struct simulation *sim)
{
    uint32_t date = 20261123;
    for (uint32_t tries = 0; tries < SIMULATE_DAY_TRIES; tries++) {
        struct nodown_outcome outcome;
        struct command start = simulate_command(COMMAND_DAY_START);
        start.u.day.trading_date = date;
        if (simulate_do(sim, sim->house, &start, &outcome) != 0)
            return -1;
        if (outcome.result == RESULT_OK)
            return 0;
        if (outcome.result == REJECT_DAY_STATE) { /* a day is open: end it, if it is this one */
            struct command end = simulate_command(COMMAND_DAY_END);
            end.u.day.trading_date = date;
            if (simulate_do(sim, sim->house, &end, &outcome) != 0)
                return -1;
        }
        date = simulate_date_next(date);
    }
    fprintf(stderr, "nodown simulate: no trading date free after %u tries\n",
            SIMULATE_DAY_TRIES);
    return -1;
}

/* The hierarchy, the markets, cash and holdings; logs members and agents
 * on with their own connections. */
static int simulate_setup(struct simulation *sim, const char *nodes)
{
    char errmsg[256];
    uint32_t super = simulate_account(sim, 0, ACCOUNT_KIND_SUPER, 100000000, NULL);
    if (super == INDEX_NONE || simulate_pt(sim, super, 1000, 9000) != 0)
        return -1;
    sim->instrument_id = simulate_create(sim, COMMAND_INSTRUMENT_CREATE);
    sim->event_id = simulate_create(sim, COMMAND_SPORT_EVENT_CREATE);
    sim->market_id = simulate_create(sim, COMMAND_MARKET_CREATE);
    if (sim->instrument_id == INDEX_NONE || sim->market_id == INDEX_NONE ||
        simulate_day(sim) != 0)
        return -1;
    uint32_t members = 0;
    for (uint32_t m = 0; m < 2; m++) {
        uint32_t master = simulate_account(sim, super, ACCOUNT_KIND_MASTER, 50000000, NULL);
        if (master == INDEX_NONE || simulate_pt(sim, master, 2000, 8000) != 0)
            return -1;
        for (uint32_t a = 0; a < 2; a++) {
            uint32_t index = m * 2 + a;
            char secret[32];
            snprintf(secret, sizeof secret, "agent-secret-%u", index);
            uint32_t agent = simulate_account(sim, master, ACCOUNT_KIND_AGENT, 20000000, secret);
            if (agent == INDEX_NONE || simulate_pt(sim, agent, 3000, 5000) != 0 ||
                nodown_client_open(&sim->agents[index], nodes, 100 + index, agent, secret, NULL,
                                   errmsg, sizeof errmsg) != 0)
                return -1;
            sim->agent_ids[index] = agent;
            for (uint32_t k = 0; k < 3; k++, members++) {
                snprintf(secret, sizeof secret, "member-secret-%u", members);
                uint32_t id = simulate_account(sim, agent, ACCOUNT_KIND_MEMBER, 500000, secret);
                if (id == INDEX_NONE ||
                    simulate_house(sim, COMMAND_CASH_DEPOSIT, id, SIMULATE_CASH_MINOR) != 0 ||
                    simulate_house(sim, COMMAND_POSITION_GRANT, id, SIMULATE_HOLDING) != 0 ||
                    nodown_client_open(&sim->members[members], nodes, 200 + members, id,
                                       secret, NULL, errmsg, sizeof errmsg) != 0)
                    return -1;
                sim->member_ids[members] = id;
            }
        }
    }
    return 0;
}

/* A member's live day order beyond its SIMULATE_RESTING_MAX newest is
 * cancelled; one that filled since is left alone (asked first, so that the
 * cancel is not a reject). */
static int simulate_rest(struct simulation *sim, uint32_t member, uint64_t order_id)
{
    uint32_t slot = sim->resting_next[member]++ % SIMULATE_RESTING_MAX;
    uint64_t oldest = sim->resting[member][slot];
    sim->resting[member][slot] = order_id + 1; /* 0: an empty slot */
    if (oldest == 0)
        return 0;
    struct frame_query query;
    struct frame_query_result result;
    memset(&query, 0, sizeof query);
    query.query_type = QUERY_ORDER;
    query.u.order.order_id = oldest - 1;
    query.min_seq = sim->stream_seq;
    int rv = nodown_client_query(sim->members[member], &query, &result, 10000);
    /* A finished order is answered too (protocol version 3): only an open
     * one is cancelled. */
    if (rv != 0 || result.result != RESULT_OK || result.u.order.done != 0)
        return rv;
    struct nodown_outcome outcome;
    struct command cancel = simulate_command(COMMAND_ORDER_CANCEL);
    cancel.u.order_cancel.order_id = oldest - 1;
    return simulate_do(sim, sim->members[member], &cancel, &outcome);
}

/* A member's order: buys and sells alike, around the reference price; a
 * sell the holding cannot cover, or a buy the cash cannot, is topped up. */
static int simulate_order(struct simulation *sim, uint32_t member)
{
    struct nodown_outcome outcome;
    struct command c = simulate_command(COMMAND_ORDER_PLACE);
    c.u.order_place.instrument_id = sim->instrument_id;
    c.u.order_place.side = (uint8_t)simulate_rand(sim, 2);
    /* Half are IOC, so the book stays a book and not a pile. */
    c.u.order_place.time_in_force = simulate_rand(sim, 2) == 0 ? TIF_IOC : TIF_DAY;
    int64_t offset = (int64_t)simulate_rand(sim, 16) - 5;
    c.u.order_place.price_ticks =
        c.u.order_place.side == SIDE_BUY ? 1500 - offset : 1500 + offset;
    c.u.order_place.quantity = 100 * (1 + simulate_rand(sim, 5));
    int rv = simulate_do(sim, sim->members[member], &c, &outcome);
    sim->orders++;
    if (rv != 0)
        return rv;
    if (outcome.result == REJECT_POSITION_INSUFFICIENT) {
        sim->top_ups++;
        return simulate_house(sim, COMMAND_POSITION_GRANT, sim->member_ids[member],
                              SIMULATE_HOLDING);
    }
    if (outcome.result == REJECT_FUNDS_INSUFFICIENT) {
        sim->top_ups++;
        return simulate_house(sim, COMMAND_CASH_DEPOSIT, sim->member_ids[member],
                              SIMULATE_CASH_MINOR);
    }
    if (outcome.result != RESULT_OK)
        return 0;
    sim->filled += (uint64_t)outcome.value;
    if (c.u.order_place.time_in_force == TIF_DAY && outcome.value < c.u.order_place.quantity)
        return simulate_rest(sim, member, outcome.id);
    return 0;
}

/* Settles the match's market (one selection wins) and opens a new one. */
static int simulate_market_renew(struct simulation *sim)
{
    struct nodown_outcome outcome;
    struct command c = simulate_command(COMMAND_MARKET_SETTLE);
    c.u.market_settle.market_id = sim->market_id;
    uint32_t winner = simulate_rand(sim, 3);
    for (uint32_t s = 0; s < 3; s++)
        c.u.market_settle.results[s] = s == winner ? BET_RESULT_WIN : BET_RESULT_LOSE;
    if (simulate_do(sim, sim->house, &c, &outcome) != 0)
        return -1;
    uint32_t market = simulate_create(sim, COMMAND_MARKET_CREATE);
    if (market == INDEX_NONE)
        return -1;
    sim->market_id = market;
    sim->market_bets = 0;
    sim->settled++;
    return 0;
}

static int simulate_bet(struct simulation *sim, uint32_t member)
{
    struct nodown_outcome outcome;
    struct command c = simulate_command(COMMAND_BET_PLACE);
    c.u.bet_place.market_id = sim->market_id;
    c.u.bet_place.selection = (uint8_t)simulate_rand(sim, 3);
    c.u.bet_place.odds_milli = 1001; /* any odds: the member accepts better ones */
    c.u.bet_place.accept_better_odds = 1;
    c.u.bet_place.stake_minor = 100 * (1 + simulate_rand(sim, 50));
    sim->bets++;
    if (simulate_do(sim, sim->members[member], &c, &outcome) != 0)
        return -1;
    if (outcome.result == REJECT_FUNDS_INSUFFICIENT) {
        sim->top_ups++;
        return simulate_house(sim, COMMAND_CASH_DEPOSIT, sim->member_ids[member],
                              SIMULATE_CASH_MINOR);
    }
    if (++sim->market_bets >= SIMULATE_MARKET_BETS)
        return simulate_market_renew(sim);
    return 0;
}

/* One random act: a member's order (most), a member's bet, an agent's
 * manual PT, or the house moving the odds. */
static int simulate_act(struct simulation *sim)
{
    struct nodown_outcome outcome;
    uint32_t roll = simulate_rand(sim, 100);
    uint32_t member = simulate_rand(sim, SIMULATE_MEMBERS);
    struct command c;
    if (roll < 70)
        return simulate_order(sim, member);
    if (roll < 90)
        return simulate_bet(sim, member);
    if (roll < 95) {
        uint32_t agent = simulate_rand(sim, SIMULATE_AGENTS);
        c = simulate_command(COMMAND_PT_OVERRIDE);
        c.u.pt_override.sport_event_id = sim->event_id;
        c.u.pt_override.market_id = sim->market_id;
        c.u.pt_override.share_bp = (uint16_t)(1000 * simulate_rand(sim, 6));
        sim->pt_changes++;
        return simulate_do(sim, sim->agents[agent], &c, &outcome);
    }
    c = simulate_command(COMMAND_MARKET_SET_ODDS);
    c.u.market_set_odds.market_id = sim->market_id;
    for (uint32_t s = 0; s < 3; s++)
        c.u.market_set_odds.odds_milli[s] = (int32_t)(1800 + simulate_rand(sim, 2200));
    c.u.market_set_odds.odds_count = 3;
    sim->odds_moves++;
    return simulate_do(sim, sim->house, &c, &outcome);
}

static void simulate_close(struct simulation *sim)
{
    for (uint32_t i = 0; i < SIMULATE_MEMBERS; i++)
        if (sim->members[i] != NULL)
            nodown_client_close(sim->members[i]);
    for (uint32_t i = 0; i < SIMULATE_AGENTS; i++)
        if (sim->agents[i] != NULL)
            nodown_client_close(sim->agents[i]);
    if (sim->house != NULL)
        nodown_client_close(sim->house);
}

static int simulate_run(struct simulation *sim, double seconds)
{
    time_t start = time(NULL);
    time_t last = start;
    while (!simulate_stopping && (seconds <= 0 || difftime(time(NULL), start) < seconds)) {
        if (simulate_act(sim) != 0)
            return 1;
        if (time(NULL) != last) {
            last = time(NULL);
            printf("simulate: %" PRIu64 " orders (%" PRIu64 " filled), %" PRIu64 " bets, %"
                   PRIu64 " PT changes, %" PRIu64 " odds moves, %" PRIu64
                   " rejects; stream at %" PRIu64 "; %" PRIu64 " top-ups, %" PRIu64
                   " markets settled\n", sim->orders, sim->filled, sim->bets, sim->pt_changes,
                   sim->odds_moves, sim->rejects, sim->stream_seq, sim->top_ups, sim->settled);
            fflush(stdout);
        }
    }
    return 0;
}

int simulate_main(int argc, char **argv)
{
    const char *nodes = "127.0.0.1:7400";
    const char *secret = getenv("NODOWN_HOUSE_SECRET");
    double seconds = 0;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0) {
            printf("usage: nodown simulate [--nodes HOST:PORT,...] [--house-secret S]\n"
                   "                       [--seconds N]\n"
                   "  Drives a small market through running nodes: members trade and bet,\n"
                   "  agents change their PT, the house moves odds. Logs on as the house\n"
                   "  with --house-secret or $NODOWN_HOUSE_SECRET. Runs until Ctrl-C, or\n"
                   "  for N seconds. Members are topped up with cash and holdings when they\n"
                   "  run out, so it runs for hours. Its client ids are fixed (the house\n"
                   "  1000, agents 100 + i, members 200 + i): run one at a time per cluster.\n");
            return 0;
        } else if (strcmp(argv[i], "--nodes") == 0 && i + 1 < argc) {
            nodes = argv[++i];
        } else if (strcmp(argv[i], "--house-secret") == 0 && i + 1 < argc) {
            secret = argv[++i];
        } else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
            seconds = strtod(argv[++i], NULL);
        } else {
            fprintf(stderr, "nodown simulate: bad option '%s' (see --help)\n", argv[i]);
            return 2;
        }
    }
    if (secret == NULL) {
        fprintf(stderr, "nodown simulate: give --house-secret or $NODOWN_HOUSE_SECRET\n");
        return 2;
    }
    signal(SIGINT, simulate_on_signal);
    signal(SIGTERM, simulate_on_signal);
    static struct simulation sim;
    sim.rng = 0x9E3779B97F4A7C15ULL ^ (uint64_t)getpid();
    char errmsg[256];
    if (nodown_client_open(&sim.house, nodes, SIMULATE_HOUSE_CLIENT_ID, 0, secret, NULL,
                           errmsg, sizeof errmsg) != 0) {
        fprintf(stderr, "nodown simulate: logon as the house: %s\n", errmsg);
        return 1;
    }
    printf("simulate: the house's session, client id %u, goes on after client_seq %" PRIu64
           "\n", SIMULATE_HOUSE_CLIENT_ID, nodown_client_last_seq(sim.house));
    int rv = 1;
    if (simulate_setup(&sim, nodes) == 0) {
        printf("simulate: set up; log on as one of its members, or its agent:\n"
               "  nodown client --nodes %s --account %u --secret member-secret-0 query account\n"
               "  nodown client --nodes %s --account %u --secret agent-secret-0 query account\n",
               nodes, sim.member_ids[0], nodes, sim.agent_ids[0]);
        fflush(stdout);
        sim.acting = true;
        rv = simulate_run(&sim, seconds);
    }
    if (rv != 0)
        fprintf(stderr, "nodown simulate: stopped by an error\n");
    else
        printf("simulate: done: %" PRIu64 " orders, %" PRIu64 " bets, stream at %" PRIu64 "\n",
               sim.orders, sim.bets, sim.stream_seq);
    simulate_close(&sim);
    return rv;
}
