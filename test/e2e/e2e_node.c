/* The driver of the real-process fault tests (test/cli/faults.sh). It is a
 * client of running `nodown serve` nodes through the C client library
 * (include/nodown/client.h), acting as the house's tooling (bootstrap) and
 * as members under load, and it checks what the stream holds by replaying
 * it into a replica of its own (check). The script kills nodes and
 * nats-servers around it.
 *
 *   e2e_node free-port
 *       prints a free loopback TCP port (bound to port 0, then released)
 *   e2e_node bootstrap --nodes LIST --house-secret S [--members K]
 *                      [--member-secret S] [--logic N]
 *       as the house (account 0): logic version N if given (sessions of
 *       32 commands in flight from 2), a super, a master, an agent, K members
 *       with the secret, cash and a position, an instrument, a 1X2 market,
 *       a started day. Prints "member ID" per member, "instrument ID",
 *       "market ID", and "stream_seq S",
 *       the stream message that applied its last command.
 *   e2e_node load --nodes LIST --account A --secret S --client-id C --count N
 *                 --log FILE [--instrument I] [--market M] [--seconds T]
 *       sends N commands (orders alternately buying and selling around the
 *       reference so that members trade, with a cancel, a replace and,
 *       given a market, a bet in every ten), keeping up to NODOWN_CLIENT_INFLIGHT_MAX in flight,
 *       and appends one line per ACKNOWLEDGED command to FILE:
 *         account client_id client_seq result command_type id value
 *         duplicate stream_seq unix_ms unix_ns
 *       (the last two: the wall-clock time the acknowledgement was in hand)
 *       It rides out dead nodes: the library fails over along LIST and
 *       resends, and load keeps calling it until T seconds (default 60)
 *       have passed. Exit 0 when all N were acknowledged.
 *   e2e_node check --nats URL[,URL...] [--replicas N] --log FILE [--log FILE ...]
 *                  [--verbose] [--lost-above SEQ]
 *       reads the whole stream from NATS into a fresh replica and, for each
 *       (account, client_id) of the logs, counts how often each client_seq
 *       was applied for the first time (not answered as a resend). It
 *       holds when every acknowledged command was applied exactly once,
 *       with the outcome its client was given, every client_seq from 1 up
 *       was acknowledged once, and nothing was applied that its client did
 *       not acknowledge. Prints "digest D applied_seq S" of the replayed
 *       state for the script to compare with the nodes' /status. With
 *       --verbose, a line for each command the stream holds more than once.
 *       --lost-above SEQ (a promoted DR site's stream, whose last sequence
 *       at the promotion was SEQ): an acknowledged command absent from the
 *       stream is counted as lost in the disaster, not an error, when it
 *       was acknowledged above SEQ.
 *   e2e_node dump --nats URL --out FILE
 *       writes every message of the stream, 1 to its last sequence, to FILE
 *       as records of u64 stream_seq, u64 timestamp_ns (the stored time
 *       the replica applies it at), u32 size, then its size bytes, all
 *       little-endian: the stream fixtures of test/fixtures/.
 *
 * Exit status: 0 ok, 1 a failed run or check, 2 bad usage.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "codec/command_codec.h"
#include "lib/clock.h"
#include "lib/secret.h"
#include "nodown/client.h"
#include "replica/journal.h"
#include "replica/replica.h"

#define E2E_LOGS_MAX 16u
/* How long the checker waits for a cluster to answer: 2.10's servers on a
 * loaded 2-core machine have taken over 30 s to elect after a partition
 * healed or at a start. */
#define E2E_CHECK_WAIT_MS 60000
#define E2E_MEMBERS_MAX 64u
#define E2E_HOUSE_CLIENT_ID 7u
#define E2E_REFERENCE_TICKS 1000
#define E2E_CASH_MINOR 1000000000000LL /* 10 000 000 000.00 per member */
#define E2E_POSITION_UNITS 100000000LL
#define E2E_ERRORS_SHOWN 10u
#define E2E_ORDER_IDS 16u /* orders remembered for cancel and replace */

/* The 1X2 market's odds (home, draw, away), which the load bets at. */
static const int32_t e2e_odds_milli[SELECTIONS_MAX] = {2500, 3200, 2800};

struct e2e_args {
    const char *nodes;
    const char *nats;
    const char *house_secret;
    const char *member_secret;
    const char *secret;
    const char *logs[E2E_LOGS_MAX];
    uint32_t log_count;
    uint32_t account_id;
    uint64_t client_id;
    uint64_t count;
    uint32_t members;
    uint32_t logic_version; /* bootstrap: activate it first (0: stay at 1) */
    int replicas;           /* check: the stream's copies (default 1) */
    uint32_t instrument_id;
    uint32_t market_id; /* INDEX_NONE: the load places no bets */
    int seconds;
    uint64_t rate; /* load: commands sent per second at most (0: no limit) */
    bool verbose;
    uint64_t lost_above; /* check: a promoted DR site's last sequence (0: none) */
    const char *out;     /* dump: the file */
};

static void e2e_usage(void)
{
    fprintf(stderr,
            "usage: e2e_node free-port\n"
            "       e2e_node bootstrap --nodes LIST --house-secret S [--members K]"
            " [--member-secret S] [--logic N]\n"
            "       e2e_node load --nodes LIST --account A --secret S --client-id C"
            " --count N --log FILE\n"
            "                     [--instrument I] [--market M] [--seconds T] [--rate N]\n"
            "       e2e_node check --nats URL[,URL...] [--replicas N] --log FILE"
            " [--log FILE ...] [--verbose]\n"
            "                      [--lost-above SEQ]\n"
            "       e2e_node dump --nats URL --out FILE\n");
}

static int e2e_parse(int argc, char **argv, struct e2e_args *args)
{
    *args = (struct e2e_args){.member_secret = "member secret", .members = 2, .seconds = 60,
                              .market_id = INDEX_NONE};
    for (int i = 0; i < argc; i += 2) {
        const char *name = argv[i];
        if (strcmp(name, "--verbose") == 0) {
            args->verbose = true;
            i--;
            continue;
        }
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (value == NULL) {
            fprintf(stderr, "e2e_node: %s needs a value\n", name);
            return -1;
        }
        if (strcmp(name, "--nodes") == 0)
            args->nodes = value;
        else if (strcmp(name, "--nats") == 0)
            args->nats = value;
        else if (strcmp(name, "--house-secret") == 0)
            args->house_secret = value;
        else if (strcmp(name, "--member-secret") == 0)
            args->member_secret = value;
        else if (strcmp(name, "--secret") == 0)
            args->secret = value;
        else if (strcmp(name, "--log") == 0 && args->log_count < E2E_LOGS_MAX)
            args->logs[args->log_count++] = value;
        else if (strcmp(name, "--account") == 0)
            args->account_id = (uint32_t)strtoul(value, NULL, 10);
        else if (strcmp(name, "--client-id") == 0)
            args->client_id = strtoull(value, NULL, 10);
        else if (strcmp(name, "--count") == 0)
            args->count = strtoull(value, NULL, 10);
        else if (strcmp(name, "--members") == 0)
            args->members = (uint32_t)strtoul(value, NULL, 10);
        else if (strcmp(name, "--logic") == 0)
            args->logic_version = (uint32_t)strtoul(value, NULL, 10);
        else if (strcmp(name, "--replicas") == 0)
            args->replicas = atoi(value);
        else if (strcmp(name, "--instrument") == 0)
            args->instrument_id = (uint32_t)strtoul(value, NULL, 10);
        else if (strcmp(name, "--market") == 0)
            args->market_id = (uint32_t)strtoul(value, NULL, 10);
        else if (strcmp(name, "--seconds") == 0)
            args->seconds = atoi(value);
        else if (strcmp(name, "--rate") == 0)
            args->rate = strtoull(value, NULL, 10);
        else if (strcmp(name, "--out") == 0)
            args->out = value;
        else if (strcmp(name, "--lost-above") == 0)
            args->lost_above = strtoull(value, NULL, 10);
        else {
            fprintf(stderr, "e2e_node: bad option '%s'\n", name);
            return -1;
        }
    }
    return 0;
}

/* ---- free-port ---- */

static int e2e_free_port(void)
{
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = 0};
    inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
    socklen_t size = sizeof address;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&address, sizeof address) != 0 ||
        getsockname(fd, (struct sockaddr *)&address, &size) != 0) {
        fprintf(stderr, "e2e_node: free-port: %s\n", strerror(errno));
        if (fd >= 0)
            close(fd);
        return 1;
    }
    printf("%u\n", ntohs(address.sin_port));
    close(fd);
    return 0;
}

/* ---- bootstrap ---- */

static struct command e2e_command(enum command_type type)
{
    struct command command;
    memset(&command, 0, sizeof command);
    command.type = (uint16_t)type;
    return command;
}

/* Sends one command and waits for its outcome (into *result, if not
 * NULL); set-up steps must pass. */
static int e2e_ok(struct nodown_client *client, const struct command *command,
                  struct nodown_outcome *result)
{
    uint64_t client_seq = 0;
    struct nodown_outcome outcome;
    int rv = nodown_client_send(client, command, &client_seq);
    if (rv == 0 || rv == ERR_IO)
        rv = nodown_client_wait(client, &outcome, 10000);
    if (rv != 0) {
        fprintf(stderr, "e2e_node: %s: %s (%s)\n", command_type_name(command->type),
                err_text(rv), nodown_client_errmsg(client));
        return -1;
    }
    if (outcome.result != RESULT_OK) {
        fprintf(stderr, "e2e_node: %s: %s\n", command_type_name(command->type),
                result_name(outcome.result));
        return -1;
    }
    if (result != NULL)
        *result = outcome;
    return 0;
}

static int e2e_account(struct nodown_client *client, uint32_t parent_id, enum account_kind kind,
                       uint32_t *id)
{
    struct command command = e2e_command(COMMAND_ACCOUNT_CREATE);
    command.u.account_create.parent_id = parent_id;
    command.u.account_create.kind = (uint8_t)kind;
    command.u.account_create.credit_limit_minor = 100000000; /* 1 000 000.00 */
    struct nodown_outcome outcome = {0};
    int rv = e2e_ok(client, &command, &outcome);
    *id = (uint32_t)outcome.id;
    return rv;
}

static int e2e_instrument(struct nodown_client *client, uint32_t *id)
{
    struct command command = e2e_command(COMMAND_INSTRUMENT_CREATE);
    memcpy(command.u.instrument_create.symbol, "E2E", 3);
    command.u.instrument_create.tick_size_minor = 1;
    command.u.instrument_create.lot_size = 1;
    command.u.instrument_create.reference_price_ticks = E2E_REFERENCE_TICKS;
    command.u.instrument_create.band_bp = 1000;
    struct nodown_outcome outcome = {0};
    int rv = e2e_ok(client, &command, &outcome);
    *id = (uint32_t)outcome.id;
    return rv;
}

/* A sport event and its 1X2 market at e2e_odds_milli. */
static int e2e_market(struct nodown_client *client, uint32_t *id)
{
    struct command command = e2e_command(COMMAND_SPORT_EVENT_CREATE);
    command.u.sport_event_create.external_ref = 1;
    struct nodown_outcome outcome = {0};
    if (e2e_ok(client, &command, &outcome) != 0)
        return -1;
    command = e2e_command(COMMAND_MARKET_CREATE);
    command.u.market_create.sport_event_id = (uint32_t)outcome.id;
    command.u.market_create.market_type = MARKET_TYPE_1X2;
    memcpy(command.u.market_create.odds_milli, e2e_odds_milli, sizeof e2e_odds_milli);
    command.u.market_create.stake_min_minor = 100;
    command.u.market_create.stake_max_minor = 100000000;
    int rv = e2e_ok(client, &command, &outcome);
    *id = (uint32_t)outcome.id;
    return rv;
}

/* A member under the agent: its secret, cash to buy, a position to sell. */
static int e2e_member(struct nodown_client *client, uint32_t agent_id, uint32_t instrument_id,
                      const char *secret, uint32_t *id)
{
    if (e2e_account(client, agent_id, ACCOUNT_KIND_MEMBER, id) != 0)
        return -1;
    struct command command = e2e_command(COMMAND_ACCOUNT_SET_SECRET);
    command.u.account_set_secret.account_id = *id;
    if (secret_salt_generate(command.u.account_set_secret.salt) != 0 ||
        secret_hash(secret, strlen(secret), command.u.account_set_secret.salt,
                    command.u.account_set_secret.hash) != 0 ||
        e2e_ok(client, &command, NULL) != 0)
        return -1;
    command = e2e_command(COMMAND_CASH_DEPOSIT);
    command.u.cash.account_id = *id;
    command.u.cash.amount_minor = E2E_CASH_MINOR;
    if (e2e_ok(client, &command, NULL) != 0)
        return -1;
    command = e2e_command(COMMAND_POSITION_GRANT);
    command.u.position_grant.account_id = *id;
    command.u.position_grant.instrument_id = instrument_id;
    command.u.position_grant.quantity = E2E_POSITION_UNITS;
    return e2e_ok(client, &command, NULL);
}

static int e2e_bootstrap_run(struct nodown_client *client, const struct e2e_args *args)
{
    uint32_t super_id = 0;
    uint32_t master_id = 0;
    uint32_t agent_id = 0;
    uint32_t instrument_id = 0;
    uint32_t market_id = 0;
    uint32_t member_ids[E2E_MEMBERS_MAX];
    struct nodown_outcome outcome;
    if (args->logic_version > 1) {
        struct command activate = e2e_command(COMMAND_ACTIVATE_LOGIC);
        activate.u.activate_logic.logic_version = args->logic_version;
        if (e2e_ok(client, &activate, &outcome) != 0)
            return 1;
    }
    if (e2e_account(client, 0, ACCOUNT_KIND_SUPER, &super_id) != 0 ||
        e2e_account(client, super_id, ACCOUNT_KIND_MASTER, &master_id) != 0 ||
        e2e_account(client, master_id, ACCOUNT_KIND_AGENT, &agent_id) != 0 ||
        e2e_instrument(client, &instrument_id) != 0 || e2e_market(client, &market_id) != 0)
        return 1;
    for (uint32_t i = 0; i < args->members; i++) {
        if (e2e_member(client, agent_id, instrument_id, args->member_secret,
                       &member_ids[i]) != 0)
            return 1;
    }
    struct command day = e2e_command(COMMAND_DAY_START);
    day.u.day.trading_date = 20260102;
    if (e2e_ok(client, &day, &outcome) != 0)
        return 1;
    for (uint32_t i = 0; i < args->members; i++)
        printf("member %u\n", member_ids[i]);
    printf("instrument %u\n", instrument_id);
    printf("market %u\n", market_id);
    printf("stream_seq %" PRIu64 "\n", outcome.stream_seq); /* the last one it needed */
    return 0;
}

static int e2e_bootstrap(const struct e2e_args *args)
{
    if (args->nodes == NULL || args->house_secret == NULL || args->members == 0 ||
        args->members > E2E_MEMBERS_MAX) {
        e2e_usage();
        return 2;
    }
    struct nodown_client *client = NULL;
    char errmsg[256];
    int rv = nodown_client_open(&client, args->nodes, E2E_HOUSE_CLIENT_ID, 0,
                                args->house_secret, NULL, errmsg, sizeof errmsg);
    if (rv != 0) {
        fprintf(stderr, "e2e_node: bootstrap: %s: %s\n", err_text(rv), errmsg);
        return 1;
    }
    int status = e2e_bootstrap_run(client, args);
    nodown_client_close(client);
    return status;
}

/* ---- load ---- */

struct e2e_load {
    const struct e2e_args *args;
    struct nodown_client *client;
    FILE *log;
    uint64_t sent;
    uint64_t acknowledged;
    uint64_t duplicates;
    uint64_t rejects;
    uint64_t order_ids[E2E_ORDER_IDS]; /* of the last orders placed, a ring */
    uint64_t order_count;
    uint32_t errors;
    int64_t start_ms;
};

/* Command number index: mostly limit GTC orders of 1..9 units at
 * 998..1002 ticks, buying on even numbers and selling on odd ones, so the
 * members' orders cross; the 6th of every ten is a bet on the market (if
 * one was given), the 8th cancels the newest order placed, and the 10th
 * replaces the oldest of the last E2E_ORDER_IDS (a reject when it has
 * filled meanwhile: fine, every node answers it the same way). */
static struct command e2e_load_command(const struct e2e_load *load, uint64_t index)
{
    if (index % 10 == 5 && load->args->market_id != INDEX_NONE) {
        struct command bet = e2e_command(COMMAND_BET_PLACE);
        bet.u.bet_place.market_id = load->args->market_id;
        bet.u.bet_place.selection = (uint8_t)(index / 10 % SELECTIONS_MAX);
        bet.u.bet_place.accept_better_odds = 1;
        bet.u.bet_place.odds_milli = e2e_odds_milli[bet.u.bet_place.selection];
        bet.u.bet_place.stake_minor = 1000 + (int64_t)(index % 7) * 100;
        return bet;
    }
    if (index % 10 == 7 && load->order_count > 0) {
        struct command cancel = e2e_command(COMMAND_ORDER_CANCEL);
        cancel.u.order_cancel.order_id = load->order_ids[(load->order_count - 1) %
                                                         E2E_ORDER_IDS];
        return cancel;
    }
    if (index % 10 == 9 && load->order_count >= E2E_ORDER_IDS) {
        struct command replace = e2e_command(COMMAND_ORDER_REPLACE);
        replace.u.order_replace.order_id = load->order_ids[load->order_count % E2E_ORDER_IDS];
        replace.u.order_replace.price_ticks = E2E_REFERENCE_TICKS - 1 + (int64_t)(index % 3);
        replace.u.order_replace.quantity = 3;
        return replace;
    }
    struct command order = e2e_command(COMMAND_ORDER_PLACE);
    order.u.order_place.instrument_id = load->args->instrument_id;
    order.u.order_place.side = (uint8_t)(index % 2 == 0 ? SIDE_BUY : SIDE_SELL);
    order.u.order_place.order_type = ORDER_TYPE_LIMIT;
    order.u.order_place.time_in_force = TIF_GTC;
    order.u.order_place.price_ticks = E2E_REFERENCE_TICKS - 2 + (int64_t)(index * 7 % 5);
    order.u.order_place.quantity = 1 + (int64_t)(index % 9);
    order.u.order_place.client_order_id = index + 1;
    return order;
}

static void e2e_load_record(struct e2e_load *load, const struct nodown_outcome *outcome)
{
    /* Wall clock, taken once the outcome is in hand: the scripts compare it
     * with `date`, and durability.sh with strace's times of nats-server's
     * writes and syncs (the same CLOCK_REALTIME), in nanoseconds. */
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    int64_t now_ns = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
    fprintf(load->log,
            "%u %" PRIu64 " %" PRIu64 " %u %u %" PRIu64 " %" PRId64 " %u %" PRIu64 " %" PRId64
            " %" PRId64 "\n", load->args->account_id, load->args->client_id, outcome->client_seq,
            outcome->result, outcome->command_type, outcome->id, outcome->value,
            outcome->duplicate, outcome->stream_seq, now_ns / 1000000, now_ns);
    fflush(load->log);
    load->acknowledged++;
    load->duplicates += outcome->duplicate;
    load->rejects += outcome->result != RESULT_OK;
    if (outcome->command_type == COMMAND_ORDER_PLACE && outcome->result == RESULT_OK)
        load->order_ids[load->order_count++ % E2E_ORDER_IDS] = outcome->id;
}

static void e2e_load_error(struct e2e_load *load, const char *what, int rv)
{
    /* A node down is expected here: say so a few times, then quietly retry. */
    if (load->errors++ < E2E_ERRORS_SHOWN)
        fprintf(stderr, "e2e_node: load %" PRIu64 ": %s: %s (%s)\n", load->args->client_id,
                what, err_text(rv), nodown_client_errmsg(load->client));
}

/* How many commands may have been sent by now: --rate paces the load so
 * that a test can be sure it is still running when something happens. */
static uint64_t e2e_load_allowed(const struct e2e_load *load)
{
    if (load->args->rate == 0)
        return load->args->count;
    uint64_t allowed = load->args->rate * (uint64_t)(clock_now_ms() - load->start_ms) / 1000 + 1;
    return allowed < load->args->count ? allowed : load->args->count;
}

/* Fills the window, then takes one outcome; returns 0 to go on. */
static int e2e_load_step(struct e2e_load *load)
{
    uint64_t allowed = e2e_load_allowed(load);
    while (load->sent < allowed &&
           nodown_client_inflight_count(load->client) < nodown_client_window(load->client)) {
        struct command command = e2e_load_command(load, load->sent);
        uint64_t client_seq = 0;
        int rv = nodown_client_send(load->client, &command, &client_seq);
        if (rv == ERR_CAPACITY || rv == ERR_USAGE)
            return rv;
        load->sent++; /* sent, or queued for the next failover */
        if (rv != 0)
            e2e_load_error(load, "send", rv);
    }
    if (nodown_client_inflight_count(load->client) == 0) { /* paced: nothing out yet */
        nanosleep(&(struct timespec){.tv_nsec = 1000000}, NULL);
        return 0;
    }
    struct nodown_outcome outcome;
    int rv = nodown_client_wait(load->client, &outcome, load->args->rate ? 10 : 1000);
    if (rv == 0)
        e2e_load_record(load, &outcome);
    else if (rv != ERR_TIMEOUT)
        e2e_load_error(load, "wait", rv);
    return rv == ERR_USAGE ? rv : 0;
}

static int e2e_load_open(struct e2e_load *load, int64_t deadline_ms)
{
    char errmsg[256] = "";
    int rv = ERR_IO;
    while (rv != 0 && clock_now_ms() < deadline_ms) {
        rv = nodown_client_open(&load->client, load->args->nodes, load->args->client_id,
                                load->args->account_id, load->args->secret, NULL, errmsg,
                                sizeof errmsg);
        if (rv != 0)
            nanosleep(&(struct timespec){.tv_nsec = 100000000}, NULL);
    }
    if (rv != 0)
        fprintf(stderr, "e2e_node: load: %s: %s\n", err_text(rv), errmsg);
    return rv;
}

static int e2e_load(const struct e2e_args *args)
{
    if (args->nodes == NULL || args->secret == NULL || args->client_id == 0 ||
        args->count == 0 || args->log_count != 1) {
        e2e_usage();
        return 2;
    }
    struct e2e_load load = {.args = args};
    load.log = fopen(args->logs[0], "a");
    if (load.log == NULL) {
        fprintf(stderr, "e2e_node: %s: %s\n", args->logs[0], strerror(errno));
        return 1;
    }
    int64_t start_ms = clock_now_ms();
    int64_t deadline_ms = start_ms + (int64_t)args->seconds * 1000;
    load.start_ms = start_ms;
    int rv = e2e_load_open(&load, deadline_ms);
    while (rv == 0 && load.acknowledged < args->count && clock_now_ms() < deadline_ms)
        rv = e2e_load_step(&load);
    uint32_t connections = load.client ? nodown_client_connection_count(load.client) : 0;
    printf("load %" PRIu64 ": %" PRIu64 " of %" PRIu64 " acknowledged in %" PRId64
           " ms, %u connections, %" PRIu64 " answered as resends, %" PRIu64 " rejects\n",
           args->client_id, load.acknowledged, args->count, clock_now_ms() - start_ms,
           connections, load.duplicates, load.rejects);
    nodown_client_close(load.client);
    fclose(load.log);
    return rv == 0 && load.acknowledged == args->count ? 0 : 1;
}

/* ---- check ---- */

struct e2e_record {
    uint32_t acknowledged_count;
    uint32_t first_count;  /* applied for the first time (not a resend) */
    uint32_t resend_count; /* answered as a resend (or stale) in the stream */
    uint64_t resend_stream_seq; /* of the last one */
    struct nodown_outcome acknowledged;
    struct nodown_outcome first;
};

struct e2e_client {
    uint32_t account_id;
    uint64_t client_id;
    struct e2e_record *records; /* by client_seq */
    uint64_t record_count;
};

struct e2e_check {
    bool verbose;
    uint64_t lost_above; /* acknowledged above it and absent: lost, not an error */
    uint64_t lost_count;
    struct e2e_client clients[E2E_LOGS_MAX];
    uint32_t client_count;
    struct replica replica;
    uint64_t stale_count;
    uint64_t errors;
};

static struct e2e_record *e2e_record_at(struct e2e_check *check, uint32_t account_id,
                                        uint64_t client_id, uint64_t client_seq, bool add)
{
    struct e2e_client *client = NULL;
    for (uint32_t i = 0; i < check->client_count && client == NULL; i++) {
        if (check->clients[i].account_id == account_id &&
            check->clients[i].client_id == client_id)
            client = &check->clients[i];
    }
    if (client == NULL && (!add || check->client_count == E2E_LOGS_MAX))
        return NULL;
    if (client == NULL) {
        client = &check->clients[check->client_count++];
        *client = (struct e2e_client){.account_id = account_id, .client_id = client_id};
    }
    if (client_seq >= client->record_count) {
        uint64_t count = client_seq * 2 + 16;
        struct e2e_record *records = realloc(client->records, count * sizeof *records);
        if (records == NULL)
            abort();
        memset(records + client->record_count, 0,
               (count - client->record_count) * sizeof *records);
        client->records = records;
        client->record_count = count;
    }
    return &client->records[client_seq];
}

static void e2e_check_error(struct e2e_check *check, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

static void e2e_check_error(struct e2e_check *check, const char *format, ...)
{
    if (check->errors++ < E2E_ERRORS_SHOWN) {
        va_list list;
        va_start(list, format);
        fprintf(stderr, "check: ");
        vfprintf(stderr, format, list);
        fprintf(stderr, "\n");
        va_end(list);
    }
}

static int e2e_check_read_log(struct e2e_check *check, const char *path)
{
    FILE *file = fopen(path, "r");
    if (file == NULL) {
        fprintf(stderr, "check: %s: %s\n", path, strerror(errno));
        return -1;
    }
    char line[256];
    uint32_t line_number = 0;
    while (fgets(line, sizeof line, file) != NULL) {
        line_number++;
        unsigned account = 0, result = 0, type = 0, duplicate = 0;
        uint64_t client_id = 0;
        struct nodown_outcome outcome;
        if (sscanf(line, "%u %" SCNu64 " %" SCNu64 " %u %u %" SCNu64 " %" SCNd64 " %u %" SCNu64,
                   &account, &client_id, &outcome.client_seq, &result, &type, &outcome.id,
                   &outcome.value, &duplicate, &outcome.stream_seq) != 9) {
            e2e_check_error(check, "%s:%u: not a log line", path, line_number);
            continue;
        }
        outcome.result = (uint16_t)result;
        outcome.command_type = (uint16_t)type;
        outcome.duplicate = (uint8_t)duplicate;
        struct e2e_record *record =
            e2e_record_at(check, account, client_id, outcome.client_seq, true);
        if (record == NULL) {
            e2e_check_error(check, "%s: more than %u clients", path, E2E_LOGS_MAX);
            break;
        }
        if (record->acknowledged_count++ == 0)
            record->acknowledged = outcome;
    }
    fclose(file);
    return 0;
}

static void e2e_check_outcome(void *context, uint64_t stream_seq, const struct command *command,
                              const struct outcome *outcome)
{
    struct e2e_check *check = context;
    struct e2e_record *record = e2e_record_at(check, command->sender_account_id,
                                              command->client_id, command->client_seq, false);
    if (record == NULL)
        return; /* not a client of the logs (the bootstrap, the house secret) */
    /* A stale reject is a resend too: it comes only at or below the
     * session's last sequence, and its first outcome has left the ring. */
    if (outcome->duplicate || outcome->result == REJECT_SEQUENCE_STALE) {
        record->resend_count++;
        record->resend_stream_seq = stream_seq;
        check->stale_count += outcome->result == REJECT_SEQUENCE_STALE;
        return;
    }
    if (record->first_count++ == 0)
        record->first = (struct nodown_outcome){command->client_seq, outcome->result,
                                                outcome->command_type, 0, outcome->id,
                                                outcome->value, stream_seq, -1};
}

static int e2e_check_message(void *context, uint64_t stream_seq, uint64_t timestamp_ns,
                             const void *data, size_t size)
{
    struct e2e_check *check = context;
    int rv = replica_apply(&check->replica, stream_seq, timestamp_ns, data, size,
                           e2e_check_outcome, check);
    return rv == REPLICA_REPEAT ? 0 : rv;
}

/* Every message of the stream, from 1 to its last sequence now. The last
 * sequence is asked again once it is reached: a server just back from a
 * partition may answer from a copy that is behind (the stream is then
 * longer than it said, and what was read shows it). */
static int e2e_check_replay(struct e2e_check *check, struct journal *journal)
{
    uint64_t last_seq = 0;
    uint64_t next_seq = 1;
    int64_t deadline_ms = clock_now_ms() + E2E_CHECK_WAIT_MS;
    while (clock_now_ms() < deadline_ms) {
        if (journal_last_seq(journal, &last_seq) != 0) {
            fprintf(stderr, "check: stream info: %s\n", journal_error(journal));
            clock_sleep_ms(100);
            continue;
        }
        if (check->replica.applied_seq == last_seq)
            return 0;
        if (check->replica.applied_seq > last_seq) { /* an answer from behind */
            clock_sleep_ms(100);
            continue;
        }
        int rv = journal_read(journal, check->replica.applied_seq + 1, 4096, 1000,
                              e2e_check_message, check, &next_seq);
        if (rv == ERR_IO) {
            /* A cluster just disturbed (a server restarted, leaders being
             * elected) may time out a consumer's creation: say so, retry. */
            fprintf(stderr, "check: reading the stream at %" PRIu64 ": %s; again\n",
                    check->replica.applied_seq + 1, journal_error(journal));
            continue;
        }
        if (rv != 0) {
            fprintf(stderr, "check: reading the stream at %" PRIu64 ": %s\n",
                    check->replica.applied_seq + 1, err_text(rv));
            return -1;
        }
    }
    fprintf(stderr, "check: read the stream to %" PRIu64 " (its last sequence, as last told: %"
            PRIu64 ") in %d s\n", check->replica.applied_seq, last_seq,
            E2E_CHECK_WAIT_MS / 1000);
    return -1;
}

static bool e2e_outcome_same(const struct nodown_outcome *a, const struct nodown_outcome *b)
{
    return a->result == b->result && a->command_type == b->command_type && a->id == b->id &&
           a->value == b->value;
}

/* One client_seq of one client: acknowledged once, applied once, alike. */
static void e2e_check_record(struct e2e_check *check, const struct e2e_client *client,
                             uint64_t client_seq, uint64_t acknowledged_max)
{
    const struct e2e_record *record = &client->records[client_seq];
    const char *who = "";
    char name[64];
    snprintf(name, sizeof name, "account %u client %" PRIu64 " seq %" PRIu64,
             client->account_id, client->client_id, client_seq);
    if (record->acknowledged_count > 1)
        who = "acknowledged more than once in the log";
    else if (record->first_count > 1)
        who = "APPLIED MORE THAN ONCE";
    else if (record->acknowledged_count == 0 && record->first_count == 0 &&
             client_seq <= acknowledged_max)
        who = "missing from the log (never acknowledged) and not in the stream";
    else if (record->acknowledged_count == 1 && record->first_count == 0 &&
             check->lost_above > 0 && record->acknowledged.stream_seq > check->lost_above)
        check->lost_count++; /* acknowledged by the old primary after what the DR site holds */
    else if (record->acknowledged_count == 1 && record->first_count == 0)
        who = "acknowledged but NOT APPLIED (lost)";
    else if (record->acknowledged_count == 0 && record->first_count == 1)
        who = "applied but never acknowledged";
    else if (record->acknowledged_count == 1 &&
             !e2e_outcome_same(&record->acknowledged, &record->first))
        who = "acknowledged with an outcome other than the one applied";
    else if (record->acknowledged_count == 1 && !record->acknowledged.duplicate &&
             record->acknowledged.stream_seq != record->first.stream_seq)
        who = "acknowledged as applied at another stream sequence";
    else if (record->acknowledged_count == 1 && record->acknowledged.duplicate &&
             (record->resend_count == 0 ||
              record->acknowledged.stream_seq <= record->first.stream_seq))
        who = "acknowledged as a resend the stream does not hold";
    if (check->verbose && record->resend_count > 0)
        printf("resend: %s first applied at %" PRIu64 ", resent %u times, the last at %" PRIu64
               ", acknowledged%s at %" PRIu64 "\n",
               name, record->first.stream_seq, record->resend_count,
               record->resend_stream_seq, record->acknowledged.duplicate ? " as a resend" : "",
               record->acknowledged.stream_seq);
    if (who[0] != '\0')
        e2e_check_error(check, "%s: %s (first applied %u times, at %" PRIu64
                        "; acknowledged at %" PRIu64 ")",
                        name, who, record->first_count, record->first.stream_seq,
                        record->acknowledged.stream_seq);
}

/* Checks every record; prints the summary. */
static void e2e_check_records(struct e2e_check *check)
{
    uint64_t acknowledged = 0;
    uint64_t resends = 0;
    uint64_t duplicates = 0;
    for (uint32_t i = 0; i < check->client_count; i++) {
        const struct e2e_client *client = &check->clients[i];
        uint64_t acknowledged_max = 0;
        for (uint64_t seq = 1; seq < client->record_count; seq++) {
            if (client->records[seq].acknowledged_count > 0)
                acknowledged_max = seq;
        }
        for (uint64_t seq = 1; seq < client->record_count; seq++) {
            e2e_check_record(check, client, seq, acknowledged_max);
            acknowledged += client->records[seq].acknowledged_count;
            resends += client->records[seq].resend_count;
            duplicates += client->records[seq].acknowledged_count > 0 &&
                          client->records[seq].acknowledged.duplicate;
        }
        if (client->record_count > 0 && client->records[0].first_count +
                                                client->records[0].acknowledged_count > 0)
            e2e_check_error(check, "client %" PRIu64 ": a client_seq 0", client->client_id);
    }
    printf("check: %" PRIu64 " acknowledged commands of %u clients; %" PRIu64
           " acknowledged as resends; %" PRIu64 " resends in the stream (%" PRIu64
           " stale); %" PRIu64 " errors\n",
           acknowledged, check->client_count, duplicates, resends, check->stale_count,
           check->errors);
    if (check->lost_above > 0)
        printf("check: %" PRIu64 " acknowledged commands lost, all acknowledged above sequence %"
               PRIu64 " (the DR site's last when promoted)\n", check->lost_count,
               check->lost_above);
}

static int e2e_check_state(struct e2e_check *check, struct journal *journal)
{
    char dir[] = "/tmp/nodown-e2e-check-XXXXXX";
    char errmsg[512] = "";
    if (mkdtemp(dir) == NULL) {
        fprintf(stderr, "check: mkdtemp: %s\n", strerror(errno));
        return -1;
    }
    struct limits limits;
    limits_default(&limits); /* the same as `nodown serve` */
    int rv = replica_open(&check->replica, dir, &limits, errmsg, sizeof errmsg);
    if (rv != 0)
        fprintf(stderr, "check: replica: %s\n", errmsg);
    if (rv == 0 && (rv = e2e_check_replay(check, journal)) == 0) {
        e2e_check_records(check);
        if (engine_check(&check->replica.engine, errmsg, sizeof errmsg) != 0)
            e2e_check_error(check, "invariant: %s", errmsg);
        if (check->replica.malformed_batches != 0)
            e2e_check_error(check, "%" PRIu64 " malformed batches in the stream",
                            check->replica.malformed_batches);
        struct digest digest;
        char text[33];
        engine_digest(&check->replica.engine, &digest);
        digest_format(&digest, text);
        printf("digest %s applied_seq %" PRIu64 "\n", text, check->replica.applied_seq);
    }
    if (check->replica.commands != NULL)
        replica_close(&check->replica);
    char snapshots[sizeof dir + 16];
    snprintf(snapshots, sizeof snapshots, "%s/snapshots", dir);
    if (rmdir(snapshots) != 0 || rmdir(dir) != 0)
        fprintf(stderr, "check: could not remove %s\n", dir);
    return rv;
}

static int e2e_check(const struct e2e_args *args)
{
    if (args->nats == NULL || args->log_count == 0) {
        e2e_usage();
        return 2;
    }
    static struct e2e_check check;
    check.verbose = args->verbose;
    check.lost_above = args->lost_above;
    for (uint32_t i = 0; i < args->log_count; i++) {
        if (e2e_check_read_log(&check, args->logs[i]) != 0)
            return 1;
    }
    struct journal *journal = NULL;
    struct journal_config config =
        journal_config_stream(args->nats, args->replicas > 0 ? args->replicas : 1);
    char errmsg[512] = "";
    int64_t deadline_ms = clock_now_ms() + E2E_CHECK_WAIT_MS;
    while (journal_open(&journal, &config, errmsg, sizeof errmsg) != 0) {
        fprintf(stderr, "check: %s\n", errmsg); /* a cluster electing leaders: again */
        if (clock_now_ms() >= deadline_ms)
            return 1;
        nanosleep(&(struct timespec){.tv_nsec = 200000000}, NULL);
    }
    int rv = e2e_check_state(&check, journal);
    journal_close(journal);
    for (uint32_t i = 0; i < check.client_count; i++)
        free(check.clients[i].records);
    return rv == 0 && check.errors == 0 ? 0 : 1;
}

/* ---- dump ---- */

struct e2e_dump {
    FILE *file;
    uint64_t written;
};

static int e2e_dump_message(void *context, uint64_t stream_seq, uint64_t timestamp_ns,
                            const void *data, size_t size)
{
    struct e2e_dump *dump = context;
    uint8_t head[20];
    for (int i = 0; i < 8; i++) {
        head[i] = (uint8_t)(stream_seq >> (8 * i));
        head[8 + i] = (uint8_t)(timestamp_ns >> (8 * i));
    }
    for (int i = 0; i < 4; i++)
        head[16 + i] = (uint8_t)((uint32_t)size >> (8 * i));
    if (fwrite(head, 1, sizeof head, dump->file) != sizeof head ||
        fwrite(data, 1, size, dump->file) != size)
        return ERR_IO;
    dump->written = stream_seq;
    return 0;
}

static int e2e_dump(const struct e2e_args *args)
{
    if (args->nats == NULL || args->out == NULL) {
        e2e_usage();
        return 2;
    }
    struct journal *journal = NULL;
    struct journal_config config = journal_config_stream(args->nats, 1);
    char errmsg[512] = "";
    if (journal_open(&journal, &config, errmsg, sizeof errmsg) != 0) {
        fprintf(stderr, "dump: %s\n", errmsg);
        return 1;
    }
    struct e2e_dump dump = {fopen(args->out, "wb"), 0};
    uint64_t last_seq = 0;
    uint64_t next_seq = 1;
    int rv = dump.file == NULL ? ERR_IO : journal_last_seq(journal, &last_seq);
    int64_t deadline_ms = clock_now_ms() + E2E_CHECK_WAIT_MS;
    while (rv == 0 && dump.written < last_seq && clock_now_ms() < deadline_ms)
        rv = journal_read(journal, dump.written + 1, 4096, 1000, e2e_dump_message, &dump,
                          &next_seq);
    journal_close(journal);
    if (dump.file != NULL && fclose(dump.file) != 0)
        rv = ERR_IO;
    if (rv != 0 || dump.written != last_seq) {
        fprintf(stderr, "dump: %s: %s after %" PRIu64 " of %" PRIu64 " messages\n", args->out,
                err_text(rv), dump.written, last_seq);
        return 1;
    }
    printf("dumped %" PRIu64 " messages to %s\n", last_seq, args->out);
    return 0;
}

int main(int argc, char **argv)
{
    struct e2e_args args;
    if (argc < 2 || e2e_parse(argc - 2, argv + 2, &args) != 0) {
        e2e_usage();
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (strcmp(argv[1], "free-port") == 0)
        return e2e_free_port();
    if (strcmp(argv[1], "bootstrap") == 0)
        return e2e_bootstrap(&args);
    if (strcmp(argv[1], "load") == 0)
        return e2e_load(&args);
    if (strcmp(argv[1], "check") == 0)
        return e2e_check(&args);
    if (strcmp(argv[1], "dump") == 0)
        return e2e_dump(&args);
    e2e_usage();
    return 2;
}
