/* The drill's tree, load and churn (see drill_load.h). */
#include "ops/drill_load.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/clock.h"
#include "lib/secret.h"

#define DRILL_REFERENCE_TICKS 1000
#define DRILL_TRADING_DATE 20260102u
/* Credit limits, minor units: each level within its parent's (logic 3
 * also bounds the total a parent gives its children). */
#define DRILL_CREDIT_SUPER 10000000000000LL
#define DRILL_CREDIT_MASTER 100000000000LL
#define DRILL_CREDIT_AGENT 1000000000LL
#define DRILL_CREDIT_MEMBER 100000000LL
#define DRILL_CASH_MEMBER 1000000000000LL
#define DRILL_HOLDING_MEMBER 100000000LL
/* Commission rates from logic 3 (bp of the stake), down the tree. */
#define DRILL_COMMISSION_SUPER_BP 100u
#define DRILL_COMMISSION_MASTER_BP 80u
#define DRILL_COMMISSION_AGENT_BP 60u
#define DRILL_COMMISSION_MEMBER_BP 30u
/* Client ids: a member's is DRILL_CLIENT_MEMBER + its index. */
#define DRILL_CLIENT_HOUSE 1u
#define DRILL_CLIENT_MEMBER 1000u
#define DRILL_CLIENT_CHURN 2000u
#define DRILL_CLIENT_COMMISSION 3000u
#define DRILL_LEVELS_MAX (DRILL_MASTERS_MAX + DRILL_AGENTS_MAX)

/* The 1X2 market's odds (home, draw, away), which the members bet at. */
static const int32_t drill_odds_milli[SELECTIONS_MAX] = {2400, 3300, 2900};

/* xorshift64*: the load's choices, reproducible from the seed. */
static uint64_t drill_rng(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 2685821657736338717ull;
}

static struct command drill_command(enum command_type type)
{
    struct command command;
    memset(&command, 0, sizeof command);
    command.type = (uint16_t)type;
    return command;
}

/* Logs on as account through nodes, trying again for up to
 * DRILL_COMMAND_WAIT_MS (a node may be restarting). */
static int drill_logon(const char *nodes, uint32_t account_id, const char *secret,
                       uint64_t client_id, struct nodown_client **client, char *errmsg,
                       size_t size)
{
    int64_t deadline_ms = clock_now_ms() + DRILL_COMMAND_WAIT_MS;
    for (;;) {
        int rv = nodown_client_open(client, nodes, client_id, account_id, secret, NULL, errmsg,
                                    size);
        if (rv == 0)
            return 0;
        if (rv == ERR_USAGE || clock_now_ms() >= deadline_ms)
            return -1;
        clock_sleep_ms(200);
    }
}

int drill_house_open(const struct drill_load *load, struct nodown_client **client,
                     uint64_t client_id, char *errmsg, size_t size)
{
    return drill_logon(load->nodes, 0, load->house_secret, client_id, client, errmsg, size);
}

int drill_send(struct nodown_client *client, const struct command *command,
               struct nodown_outcome *outcome, char *errmsg, size_t size)
{
    uint64_t client_seq = 0;
    int rv = nodown_client_send(client, command, &client_seq);
    if (rv == ERR_CAPACITY || rv == ERR_USAGE) {
        snprintf(errmsg, size, "%s: %s", command_type_name(command->type), err_text(rv));
        return -1;
    }
    int64_t deadline_ms = clock_now_ms() + DRILL_COMMAND_WAIT_MS;
    do {
        rv = nodown_client_wait(client, outcome, 1000);
    } while (rv != 0 && rv != ERR_USAGE && clock_now_ms() < deadline_ms);
    if (rv != 0) {
        snprintf(errmsg, size, "%s: no answer: %s (%s)", command_type_name(command->type),
                 err_text(rv), nodown_client_errmsg(client));
        return -1;
    }
    return 0;
}

/* ---- The tree, as the house. ---- */

struct drill_setup {
    struct nodown_client *client;
    char *errmsg;
    size_t size;
    uint64_t last_id; /* the last outcome's id */
};

/* Sends one set-up command, which must pass. */
static int drill_ok(struct drill_setup *setup, const struct command *command)
{
    struct nodown_outcome outcome;
    if (drill_send(setup->client, command, &outcome, setup->errmsg, setup->size) != 0)
        return -1;
    if (outcome.result != RESULT_OK) {
        snprintf(setup->errmsg, setup->size, "%s: %s", command_type_name(command->type),
                 result_name(outcome.result));
        return -1;
    }
    setup->last_id = outcome.id;
    return 0;
}

static int drill_secret_set(struct drill_setup *setup, uint32_t account_id, const char *secret)
{
    struct command command = drill_command(COMMAND_ACCOUNT_SET_SECRET);
    command.u.account_set_secret.account_id = account_id;
    if (secret_salt_generate(command.u.account_set_secret.salt) != 0 ||
        secret_hash(secret, strlen(secret), command.u.account_set_secret.salt,
                    command.u.account_set_secret.hash) != 0) {
        snprintf(setup->errmsg, setup->size, "cannot hash a secret");
        return -1;
    }
    return drill_ok(setup, &command);
}

/* An account under parent with its credit, and with a secret given; a
 * level (not a member) also gets its auto PT on 1X2 markets. */
static int drill_account(struct drill_setup *setup, uint32_t parent_id, enum account_kind kind,
                         int64_t credit_minor, const char *secret, uint32_t *id)
{
    struct command command = drill_command(COMMAND_ACCOUNT_CREATE);
    command.u.account_create.parent_id = parent_id;
    command.u.account_create.kind = (uint8_t)kind;
    command.u.account_create.credit_limit_minor = credit_minor;
    if (drill_ok(setup, &command) != 0)
        return -1;
    *id = (uint32_t)setup->last_id;
    if (secret != NULL && drill_secret_set(setup, *id, secret) != 0)
        return -1;
    if (kind == ACCOUNT_KIND_MEMBER)
        return 0;
    /* super 10 % (up to 90 %), masters 15 % (80 %), agents 20 % (60 %) */
    command = drill_command(COMMAND_PT_SET);
    command.u.pt_set.account_id = *id;
    command.u.pt_set.market_type = MARKET_TYPE_1X2;
    command.u.pt_set.share_bp = kind == ACCOUNT_KIND_SUPER ? 1000 :
                                kind == ACCOUNT_KIND_MASTER ? 1500 : 2000;
    command.u.pt_set.max_bp = kind == ACCOUNT_KIND_SUPER ? 9000 :
                              kind == ACCOUNT_KIND_MASTER ? 8000 : 6000;
    return drill_ok(setup, &command);
}

/* A member: its secret, cash to buy and bet, holdings to sell. */
static int drill_member_create(struct drill_setup *setup, const struct drill_load *load,
                               uint32_t agent_id, uint32_t *id)
{
    if (drill_account(setup, agent_id, ACCOUNT_KIND_MEMBER, DRILL_CREDIT_MEMBER,
                      load->member_secret, id) != 0)
        return -1;
    struct command command = drill_command(COMMAND_CASH_DEPOSIT);
    command.u.cash.account_id = *id;
    command.u.cash.amount_minor = DRILL_CASH_MEMBER;
    if (drill_ok(setup, &command) != 0)
        return -1;
    command = drill_command(COMMAND_POSITION_GRANT);
    command.u.position_grant.account_id = *id;
    command.u.position_grant.instrument_id = load->instrument_id;
    command.u.position_grant.quantity = DRILL_HOLDING_MEMBER;
    return drill_ok(setup, &command);
}

/* The instrument, the sport event and its 1X2 market. */
static int drill_markets(struct drill_setup *setup, struct drill_load *load)
{
    struct command command = drill_command(COMMAND_INSTRUMENT_CREATE);
    memcpy(command.u.instrument_create.symbol, "DRILL", 5);
    command.u.instrument_create.tick_size_minor = 1;
    command.u.instrument_create.lot_size = 1;
    command.u.instrument_create.reference_price_ticks = DRILL_REFERENCE_TICKS;
    command.u.instrument_create.band_bp = 1000;
    if (drill_ok(setup, &command) != 0)
        return -1;
    load->instrument_id = (uint32_t)setup->last_id;
    command = drill_command(COMMAND_SPORT_EVENT_CREATE);
    command.u.sport_event_create.external_ref = load->seed;
    if (drill_ok(setup, &command) != 0)
        return -1;
    command = drill_command(COMMAND_MARKET_CREATE);
    command.u.market_create.sport_event_id = (uint32_t)setup->last_id;
    command.u.market_create.market_type = MARKET_TYPE_1X2;
    memcpy(command.u.market_create.odds_milli, drill_odds_milli, sizeof drill_odds_milli);
    command.u.market_create.stake_min_minor = 100;
    command.u.market_create.stake_max_minor = 100000000;
    if (drill_ok(setup, &command) != 0)
        return -1;
    load->market_id = (uint32_t)setup->last_id;
    return 0;
}

static int drill_tree_levels(struct drill_setup *setup, struct drill_load *load)
{
    if (drill_account(setup, 0, ACCOUNT_KIND_SUPER, DRILL_CREDIT_SUPER, NULL,
                      &load->super_id) != 0)
        return -1;
    for (uint32_t m = 0; m < load->master_count; m++) {
        if (drill_account(setup, load->super_id, ACCOUNT_KIND_MASTER, DRILL_CREDIT_MASTER,
                          load->level_secret, &load->master_ids[m]) != 0)
            return -1;
        for (uint32_t a = 0; a < load->agents_per_master; a++) {
            uint32_t index = m * load->agents_per_master + a;
            if (drill_account(setup, load->master_ids[m], ACCOUNT_KIND_AGENT,
                              DRILL_CREDIT_AGENT, load->level_secret,
                              &load->agent_ids[index]) != 0)
                return -1;
        }
    }
    return 0;
}

int drill_tree_build(struct drill_load *load, char *errmsg, size_t size)
{
    uint32_t agent_count = load->master_count * load->agents_per_master;
    load->member_count = agent_count * load->members_per_agent;
    if (load->master_count == 0 || load->master_count > DRILL_MASTERS_MAX ||
        agent_count > DRILL_AGENTS_MAX || load->member_count == 0 ||
        load->member_count > DRILL_MEMBERS_MAX) {
        snprintf(errmsg, size, "a tree of %u masters, %u agents and %u members is out of "
                 "bounds", load->master_count, agent_count, load->member_count);
        return -1;
    }
    struct drill_setup setup = {.errmsg = errmsg, .size = size};
    if (drill_house_open(load, &setup.client, DRILL_CLIENT_HOUSE, errmsg, size) != 0)
        return -1;
    int rv = drill_markets(&setup, load) == 0 && drill_tree_levels(&setup, load) == 0 ? 0 : -1;
    for (uint32_t k = 0; rv == 0 && k < load->member_count; k++) {
        struct drill_member *member = &load->members[k];
        member->index = k;
        rv = drill_member_create(&setup, load, load->agent_ids[k / load->members_per_agent],
                                 &member->account_id);
    }
    struct command day = drill_command(COMMAND_DAY_START);
    day.u.day.trading_date = DRILL_TRADING_DATE;
    if (rv == 0)
        rv = drill_ok(&setup, &day);
    nodown_client_close(setup.client);
    return rv;
}

/* ---- A member under load. ---- */

/* Its next command: 60 % limit orders around the reference, buying or
 * selling, so that members trade; 30 % bets on the market; 10 % cancels
 * of its newest order (a reject when it has filled meanwhile: fine,
 * every node answers it alike). */
static struct command drill_member_command(struct drill_member *member)
{
    const struct drill_load *load = member->load;
    uint64_t r = drill_rng(&member->rng);
    uint32_t kind = (uint32_t)(r % 10);
    if (kind < 3) {
        struct command bet = drill_command(COMMAND_BET_PLACE);
        bet.u.bet_place.market_id = load->market_id;
        bet.u.bet_place.selection = (uint8_t)((r >> 8) % SELECTIONS_MAX);
        bet.u.bet_place.accept_better_odds = 1;
        bet.u.bet_place.odds_milli = drill_odds_milli[bet.u.bet_place.selection];
        bet.u.bet_place.stake_minor = 1000 + (int64_t)((r >> 16) % 50) * 100;
        return bet;
    }
    if (kind == 3 && member->order_count > 0) {
        struct command cancel = drill_command(COMMAND_ORDER_CANCEL);
        cancel.u.order_cancel.order_id = member->order_ids[(member->order_count - 1) % 8];
        return cancel;
    }
    struct command order = drill_command(COMMAND_ORDER_PLACE);
    order.u.order_place.instrument_id = load->instrument_id;
    order.u.order_place.side = (uint8_t)((r >> 8) & 1 ? SIDE_SELL : SIDE_BUY);
    order.u.order_place.order_type = ORDER_TYPE_LIMIT;
    order.u.order_place.time_in_force = TIF_GTC;
    order.u.order_place.price_ticks = DRILL_REFERENCE_TICKS - 2 + (int64_t)((r >> 16) % 5);
    order.u.order_place.quantity = 1 + (int64_t)((r >> 24) % 5);
    order.u.order_place.client_order_id = member->sent + 1;
    return order;
}

/* One acknowledgement: its line in the log (e2e_node load's format),
 * its time, and the counts. */
static void drill_member_record(struct drill_member *member, FILE *log,
                                const struct nodown_outcome *outcome)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    int64_t now_ns = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
    if (log != NULL) {
        fprintf(log, "%u %" PRIu64 " %" PRIu64 " %u %u %" PRIu64 " %" PRId64 " %u %" PRIu64
                " %" PRId64 " %" PRId64 "\n", member->account_id, member->client_id,
                outcome->client_seq, outcome->result, outcome->command_type, outcome->id,
                outcome->value, outcome->duplicate, outcome->stream_seq, now_ns / 1000000,
                now_ns);
        fflush(log);
    }
    uint64_t count = atomic_load(&member->ack_count);
    if (count < member->ack_capacity) /* sent <= capacity: always */
        member->ack_ms[count] = now_ns / 1000000;
    atomic_store(&member->ack_count, count + 1);
    member->acknowledged++;
    member->resends += outcome->duplicate;
    if (outcome->stream_seq > member->last_stream_seq)
        member->last_stream_seq = outcome->stream_seq;
    bool ok = outcome->result == RESULT_OK;
    if (outcome->command_type == COMMAND_ORDER_PLACE) {
        *(ok ? &member->orders_ok : &member->orders_rejected) += 1;
        if (ok)
            member->order_ids[member->order_count++ % 8] = outcome->id;
    } else if (outcome->command_type == COMMAND_BET_PLACE) {
        *(ok ? &member->bets_ok : &member->bets_rejected) += 1;
    } else {
        *(ok ? &member->others_ok : &member->others_rejected) += 1;
    }
}

static void drill_member_error(struct drill_member *member, struct nodown_client *client,
                               const char *what, int rv)
{
    /* A node restarting is expected: the library fails over; kept: the first. */
    if (member->errors++ == 0)
        snprintf(member->error, sizeof member->error, "%s: %s (%s)", what, err_text(rv),
                 nodown_client_errmsg(client));
}

/* Sends what the pace allows and the window holds, then takes one
 * outcome if one comes within 10 ms. */
static void drill_member_step(struct drill_member *member, struct nodown_client *client,
                              FILE *log, int64_t start_ms)
{
    const struct drill_load *load = member->load;
    uint64_t allowed = (uint64_t)load->rate * (uint64_t)(clock_now_ms() - start_ms) / 1000 + 1;
    if (allowed > member->ack_capacity)
        allowed = member->ack_capacity;
    while (member->sent < allowed &&
           nodown_client_inflight_count(client) < nodown_client_window(client)) {
        struct command command = drill_member_command(member);
        uint64_t client_seq = 0;
        int rv = nodown_client_send(client, &command, &client_seq);
        if (rv == ERR_CAPACITY || rv == ERR_USAGE)
            break;
        member->sent++; /* sent, or kept for the next failover */
        if (rv != 0)
            drill_member_error(member, client, "send", rv);
    }
    if (nodown_client_inflight_count(client) == 0) {
        clock_sleep_ms(1);
        return;
    }
    struct nodown_outcome outcome;
    int rv = nodown_client_wait(client, &outcome, 10);
    if (rv == 0)
        drill_member_record(member, log, &outcome);
    else if (rv != ERR_TIMEOUT)
        drill_member_error(member, client, "wait", rv);
}

static void *drill_member_main(void *argument)
{
    struct drill_member *member = argument;
    struct drill_load *load = member->load;
    FILE *log = fopen(member->log_path, "ae");
    if (log == NULL)
        snprintf(member->error, sizeof member->error, "%.150s: %s", member->log_path,
                 strerror(errno));
    struct nodown_client *client = NULL;
    char errmsg[256];
    int64_t start_ms = clock_now_ms();
    int64_t deadline_ms = start_ms + (int64_t)load->seconds_max * 1000;
    if (log == NULL || drill_logon(member->nodes, member->account_id, load->member_secret,
                                   member->client_id, &client, errmsg, sizeof errmsg) != 0) {
        if (log != NULL)
            snprintf(member->error, sizeof member->error, "logon: %.200s", errmsg);
        member->errors++;
        if (log != NULL)
            fclose(log);
        return NULL;
    }
    while (!atomic_load(&load->stop) && clock_now_ms() < deadline_ms)
        drill_member_step(member, client, log, start_ms);
    /* Drain: every command sent gets its acknowledgement. */
    int64_t drain_ms = clock_now_ms() + DRILL_DRAIN_MS;
    while (nodown_client_inflight_count(client) > 0 && clock_now_ms() < drain_ms) {
        struct nodown_outcome outcome;
        int rv = nodown_client_wait(client, &outcome, 200);
        if (rv == 0)
            drill_member_record(member, log, &outcome);
        else if (rv != ERR_TIMEOUT)
            drill_member_error(member, client, "drain", rv);
    }
    member->unfinished = nodown_client_inflight_count(client);
    member->connections = nodown_client_connection_count(client);
    nodown_client_close(client);
    fclose(log);
    return NULL;
}

/* ---- The churn: masters and agents change their children's PT and credit. ---- */

struct drill_churn {
    struct drill_load *load;
    struct nodown_client *clients[DRILL_LEVELS_MAX]; /* masters, then agents */
    uint32_t level_count;
};

/* Level l's k-th change (l < masters: a master, else an agent): a
 * master alternates its agent's PT (share 20 % or 30 %, ceiling 60 % or
 * 50 %) and credit, an agent its member's credit. */
static struct command drill_churn_command(const struct drill_load *load, uint32_t level,
                                          uint64_t round, uint64_t pick)
{
    bool high = round / 2 % 2 == 0;
    if (level < load->master_count) {
        uint32_t agent = level * load->agents_per_master +
                         (uint32_t)(pick % load->agents_per_master);
        if (round % 2 == 0) {
            struct command pt = drill_command(COMMAND_PT_SET);
            pt.u.pt_set.account_id = load->agent_ids[agent];
            pt.u.pt_set.market_type = MARKET_TYPE_1X2;
            pt.u.pt_set.share_bp = high ? 3000 : 2000;
            pt.u.pt_set.max_bp = high ? 6000 : 5000;
            return pt;
        }
        struct command credit = drill_command(COMMAND_ACCOUNT_SET_CREDIT);
        credit.u.account_set_credit.account_id = load->agent_ids[agent];
        credit.u.account_set_credit.credit_limit_minor = high ? DRILL_CREDIT_AGENT
                                                              : DRILL_CREDIT_AGENT * 4 / 5;
        return credit;
    }
    uint32_t agent = level - load->master_count;
    uint32_t member = agent * load->members_per_agent +
                      (uint32_t)(pick % load->members_per_agent);
    struct command credit = drill_command(COMMAND_ACCOUNT_SET_CREDIT);
    credit.u.account_set_credit.account_id = load->members[member].account_id;
    credit.u.account_set_credit.credit_limit_minor = high ? DRILL_CREDIT_MEMBER
                                                          : DRILL_CREDIT_MEMBER / 2;
    return credit;
}

static void drill_churn_step(struct drill_churn *churn, uint64_t k, uint64_t *rng)
{
    struct drill_load *load = churn->load;
    uint32_t level = (uint32_t)(k % churn->level_count);
    if (churn->clients[level] == NULL)
        return;
    struct command command = drill_churn_command(load, level, k / churn->level_count,
                                                 drill_rng(rng));
    struct nodown_outcome outcome;
    char errmsg[256];
    if (drill_send(churn->clients[level], &command, &outcome, errmsg, sizeof errmsg) != 0) {
        load->churn.failed++;
        return;
    }
    bool ok = outcome.result == RESULT_OK;
    if (command.type == COMMAND_PT_SET)
        *(ok ? &load->churn.pt_ok : &load->churn.pt_rejected) += 1;
    else
        *(ok ? &load->churn.credit_ok : &load->churn.credit_rejected) += 1;
}

static void *drill_churn_main(void *argument)
{
    static struct drill_churn churn;
    churn.load = argument;
    struct drill_load *load = churn.load;
    uint32_t agent_count = load->master_count * load->agents_per_master;
    churn.level_count = load->master_count + agent_count;
    char errmsg[256];
    for (uint32_t l = 0; l < churn.level_count; l++) {
        uint32_t account = l < load->master_count ? load->master_ids[l]
                                                  : load->agent_ids[l - load->master_count];
        if (drill_logon(load->nodes, account, load->level_secret, DRILL_CLIENT_CHURN + l,
                        &churn.clients[l], errmsg, sizeof errmsg) != 0) {
            churn.clients[l] = NULL;
            load->churn.failed++;
        }
    }
    uint64_t rng = load->seed ^ 0x9e3779b97f4a7c15ull;
    for (uint64_t k = 0; !atomic_load(&load->churn_stop); k++) {
        for (int slept = 0; slept < DRILL_CHURN_INTERVAL_MS && !atomic_load(&load->churn_stop);
             slept += 50)
            clock_sleep_ms(50);
        if (!atomic_load(&load->churn_stop))
            drill_churn_step(&churn, k, &rng);
    }
    for (uint32_t l = 0; l < churn.level_count; l++)
        if (churn.clients[l] != NULL)
            nodown_client_close(churn.clients[l]);
    return NULL;
}

/* ---- Starting, watching and stopping. ---- */

/* Member k's node list: every node, starting at node k mod N, so that the
 * sessions spread over the nodes. */
static void drill_member_nodes(const struct drill_load *load, uint32_t k, char *out,
                               size_t size)
{
    char copy[DRILL_NODES_TEXT_SIZE];
    const char *parts[NODOWN_CLIENT_NODES_MAX];
    uint32_t count = 0;
    snprintf(copy, sizeof copy, "%s", load->nodes);
    for (char *save = NULL, *part = strtok_r(copy, ",", &save);
         part != NULL && count < NODOWN_CLIENT_NODES_MAX; part = strtok_r(NULL, ",", &save))
        parts[count++] = part;
    size_t used = 0;
    out[0] = '\0';
    for (uint32_t i = 0; i < count && used < size; i++)
        used += (size_t)snprintf(out + used, size - used, "%s%s", i > 0 ? "," : "",
                                 parts[(k + i) % count]);
}

int drill_load_start(struct drill_load *load, char *errmsg, size_t size)
{
    atomic_store(&load->stop, false);
    atomic_store(&load->churn_stop, false);
    for (uint32_t k = 0; k < load->member_count; k++) {
        struct drill_member *member = &load->members[k];
        member->load = load;
        member->client_id = DRILL_CLIENT_MEMBER + k;
        member->rng = (load->seed + 1) * 0x9e3779b97f4a7c15ull + k + 1;
        drill_member_nodes(load, k, member->nodes, sizeof member->nodes);
        snprintf(member->log_path, sizeof member->log_path, "%s/member-%u.log", load->log_dir,
                 k);
        member->ack_capacity = (uint64_t)load->rate * (uint64_t)load->seconds_max + 64;
        member->ack_ms = calloc(member->ack_capacity, sizeof *member->ack_ms);
        atomic_store(&member->ack_count, 0);
        if (member->ack_ms == NULL ||
            pthread_create(&member->thread, NULL, drill_member_main, member) != 0) {
            snprintf(errmsg, size, "cannot start member %u's load", k);
            drill_load_stop(load);
            return -1;
        }
        member->started = true;
    }
    if (pthread_create(&load->churn_thread, NULL, drill_churn_main, load) != 0) {
        snprintf(errmsg, size, "cannot start the churn");
        drill_load_stop(load);
        return -1;
    }
    load->churn_started = true;
    return 0;
}

uint64_t drill_load_acked_min(struct drill_load *load)
{
    uint64_t least = UINT64_MAX;
    for (uint32_t k = 0; k < load->member_count; k++) {
        uint64_t count = atomic_load(&load->members[k].ack_count);
        if (count < least)
            least = count;
    }
    return load->member_count > 0 ? least : 0;
}

uint64_t drill_load_last_seq(const struct drill_load *load)
{
    uint64_t last = 0;
    for (uint32_t k = 0; k < load->member_count; k++)
        if (load->members[k].last_stream_seq > last)
            last = load->members[k].last_stream_seq;
    return last;
}

void drill_load_stop(struct drill_load *load)
{
    atomic_store(&load->churn_stop, true);
    if (load->churn_started)
        pthread_join(load->churn_thread, NULL);
    load->churn_started = false;
    atomic_store(&load->stop, true);
    for (uint32_t k = 0; k < load->member_count; k++) {
        if (load->members[k].started)
            pthread_join(load->members[k].thread, NULL);
        load->members[k].started = false;
    }
}

int64_t drill_load_gap_ms(const struct drill_load *load, int64_t from_ms, int64_t to_ms,
                          uint32_t *member)
{
    int64_t longest = 0;
    *member = 0;
    for (uint32_t k = 0; k < load->member_count; k++) {
        const struct drill_member *m = &load->members[k];
        uint64_t count = atomic_load(&m->ack_count);
        if (count > m->ack_capacity)
            count = m->ack_capacity;
        int64_t last = from_ms;
        for (uint64_t i = 0; i < count; i++) {
            int64_t at = m->ack_ms[i];
            if (at < from_ms || at > to_ms)
                continue;
            if (at - last > longest)
                longest = at - last, *member = k;
            last = at;
        }
        if (to_ms - last > longest)
            longest = to_ms - last, *member = k;
    }
    return longest;
}

/* ---- Commission, from logic version 3. ---- */

/* COMMISSION_SET of account's 1X2 rate through client; a gateway whose
 * node has not applied the activation yet answers REJECT_LOGIC_NOT_ACTIVE
 * without publishing: asked again (5 s at most). */
static int drill_commission_one(struct nodown_client *client, uint32_t account_id,
                                uint16_t rate_bp, uint64_t *set, uint64_t *rejected,
                                char *errmsg, size_t size)
{
    struct command command = drill_command(COMMAND_COMMISSION_SET);
    command.u.commission_set.account_id = account_id;
    command.u.commission_set.market_type = MARKET_TYPE_1X2;
    command.u.commission_set.rate_bp = rate_bp;
    struct nodown_outcome outcome;
    for (int attempt = 0; attempt < 50; attempt++) {
        if (drill_send(client, &command, &outcome, errmsg, size) != 0)
            return -1;
        if (outcome.result != REJECT_LOGIC_NOT_ACTIVE)
            break;
        clock_sleep_ms(100);
    }
    *(outcome.result == RESULT_OK ? set : rejected) += 1;
    if (outcome.result != RESULT_OK)
        snprintf(errmsg, size, "COMMISSION_SET of account %u: %s", account_id,
                 result_name(outcome.result));
    return 0;
}

/* Level account (a master or an agent) sets the rate of each child. */
static int drill_commission_level(const struct drill_load *load, uint32_t account_id,
                                  uint64_t client_id, const uint32_t *children,
                                  uint32_t child_count, uint16_t rate_bp, uint64_t *set,
                                  uint64_t *rejected, char *errmsg, size_t size)
{
    struct nodown_client *client = NULL;
    if (drill_logon(load->nodes, account_id, load->level_secret, client_id, &client, errmsg,
                    size) != 0)
        return -1;
    int rv = 0;
    for (uint32_t i = 0; rv == 0 && i < child_count; i++)
        rv = drill_commission_one(client, children[i], rate_bp, set, rejected, errmsg, size);
    nodown_client_close(client);
    return rv;
}

int drill_commission_set(const struct drill_load *load, uint64_t *set, uint64_t *rejected,
                         char *errmsg, size_t size)
{
    struct nodown_client *house = NULL;
    if (drill_house_open(load, &house, DRILL_CLIENT_COMMISSION, errmsg, size) != 0)
        return -1;
    int rv = drill_commission_one(house, load->super_id, DRILL_COMMISSION_SUPER_BP, set,
                                  rejected, errmsg, size);
    for (uint32_t m = 0; rv == 0 && m < load->master_count; m++)
        rv = drill_commission_one(house, load->master_ids[m], DRILL_COMMISSION_MASTER_BP, set,
                                  rejected, errmsg, size);
    nodown_client_close(house);
    uint32_t per = load->agents_per_master;
    for (uint32_t m = 0; rv == 0 && m < load->master_count; m++)
        rv = drill_commission_level(load, load->master_ids[m], DRILL_CLIENT_COMMISSION + 1 + m,
                                    &load->agent_ids[m * per], per, DRILL_COMMISSION_AGENT_BP,
                                    set, rejected, errmsg, size);
    for (uint32_t a = 0; rv == 0 && a < load->master_count * per; a++) {
        uint32_t children[DRILL_MEMBERS_MAX];
        for (uint32_t i = 0; i < load->members_per_agent; i++)
            children[i] = load->members[a * load->members_per_agent + i].account_id;
        rv = drill_commission_level(load, load->agent_ids[a],
                                    DRILL_CLIENT_COMMISSION + 1 + DRILL_MASTERS_MAX + a,
                                    children, load->members_per_agent,
                                    DRILL_COMMISSION_MEMBER_BP, set, rejected, errmsg, size);
    }
    return rv;
}

void drill_load_free(struct drill_load *load)
{
    for (uint32_t k = 0; k < load->member_count; k++) {
        free(load->members[k].ack_ms);
        load->members[k].ack_ms = NULL;
    }
}
