/* `nodown bench activation`: the pause of ACTIVATE_LOGIC 3's migration.
 *
 * Issue 11 asks that the activation's migration pause stay under 10 ms
 * with 1 M resting orders and 100 000 open bets. The state is built in
 * one engine at logic 2: an agent tree (2 supers, 10 masters, 100 agents
 * with auto PT at every level) and --members members, each trading one of
 * the instruments (both sides, nothing crossing, so every order rests) and
 * betting on 1X2 markets; then it is encoded as a snapshot, and each
 * repetition decodes it into a fresh engine, as a restarted node would
 * hold it, and times one engine_apply() of ACTIVATE_LOGIC 3 from the
 * house, clock_gettime(CLOCK_MONOTONIC) on either side (clock_now_ns).
 *
 * Back of the envelope: the 2 -> 3 migration (engine.c,
 * engine_activate_logic) touches no order and no bet. It gives every
 * session its place in the least-recently-used order (session_logic_3:
 * a walk of the table's list, a sort of the session slots by key, and a
 * relink of both lists) and sets every account's commission rates to 0
 * (one memset of 8 bytes an account). So its cost follows the sessions,
 * here one a member and one a parent that sent commands: about 10 000
 * slots, each a 1 KiB session whose first cache line is read and written
 * a few times, plus an O(n log n) sort with a comparator that reads two
 * sessions: a few hundred microseconds, and ~10x that at the default
 * table of 65 536 sessions.
 *
 * Also timed once each: snapshot_encode() of the state at logic 2 and at
 * logic 3 (format 1 and format 2). docs/benchmarks.md has the figures.
 */
#include "bench/bench.h"
#include "bench/bench_commands.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/engine.h"
#include "core/snapshot.h"
#include "lib/clock.h" /* clock_now_ns: CLOCK_MONOTONIC */

#define ACTIVATION_SUPERS 2u
#define ACTIVATION_MASTERS 10u /* 5 a super */
#define ACTIVATION_AGENTS 100u /* 10 a master */
#define ACTIVATION_INSTRUMENTS 64u
#define ACTIVATION_MARKETS 500u
#define ACTIVATION_REFERENCE_TICKS 10000
#define ACTIVATION_REPEAT_MAX 101u

struct activation_options {
    uint32_t orders;
    uint32_t bets;
    uint32_t members;
    uint32_t repeat;
    bool json;
};

struct activation_bench {
    struct engine engine;
    uint64_t time_ns;
    uint64_t *seq; /* per account: its one client's last client_seq */
    uint32_t operator_id;
    uint32_t *members;
    uint32_t member_count;
};

/* Applies one command of the set-up; a reject there is a bug of the
 * bench, since every command is built to be accepted. */
static struct outcome activation_apply(struct activation_bench *bench, struct command *command)
{
    struct outcome outcome;
    command->client_id = 1;
    command->client_seq = ++bench->seq[command->sender_account_id];
    bench->time_ns += 1000;
    int rv = engine_apply(&bench->engine, bench->time_ns, command, NULL, &outcome);
    if (rv != 0 || outcome.result != RESULT_OK) {
        fprintf(stderr, "nodown bench activation: set-up %s: %s\n",
                command_type_name(command->type),
                rv != 0 ? err_text(rv) : result_text(outcome.result));
        exit(1);
    }
    return outcome;
}

static uint32_t activation_account(struct activation_bench *bench, uint32_t parent_id,
                                   uint8_t kind)
{
    struct command c = bench_command(COMMAND_ACCOUNT_CREATE, 0);
    c.u.account_create.parent_id = parent_id;
    c.u.account_create.kind = kind;
    return (uint32_t)activation_apply(bench, &c).id;
}

/* A parent gives a child auto PT share_bp on every market type. */
static void activation_pt(struct activation_bench *bench, uint32_t parent_id, uint32_t child_id,
                          uint16_t share_bp)
{
    for (uint8_t type = 0; type < MARKET_TYPE_COUNT; type++) {
        struct command c = bench_command(COMMAND_PT_SET, parent_id);
        c.u.pt_set.account_id = child_id;
        c.u.pt_set.market_type = type;
        c.u.pt_set.share_bp = share_bp;
        c.u.pt_set.max_bp = 5000;
        activation_apply(bench, &c);
    }
}

/* House -> 2 supers -> 10 masters -> 100 agents -> members, with PT
 * 20 % / 30 % / 25 % down the line, the house keeping the rest. */
static void activation_tree(struct activation_bench *bench)
{
    uint32_t supers[ACTIVATION_SUPERS];
    uint32_t masters[ACTIVATION_MASTERS];
    uint32_t agents[ACTIVATION_AGENTS];
    bench->operator_id = activation_account(bench, 0, ACCOUNT_KIND_OPERATOR);
    for (uint32_t i = 0; i < ACTIVATION_SUPERS; i++) {
        supers[i] = activation_account(bench, 0, ACCOUNT_KIND_SUPER);
        activation_pt(bench, 0, supers[i], 2000);
    }
    for (uint32_t i = 0; i < ACTIVATION_MASTERS; i++) {
        uint32_t parent = supers[i % ACTIVATION_SUPERS];
        masters[i] = activation_account(bench, parent, ACCOUNT_KIND_MASTER);
        activation_pt(bench, parent, masters[i], 3000);
    }
    for (uint32_t i = 0; i < ACTIVATION_AGENTS; i++) {
        uint32_t parent = masters[i % ACTIVATION_MASTERS];
        agents[i] = activation_account(bench, parent, ACCOUNT_KIND_AGENT);
        activation_pt(bench, parent, agents[i], 2500);
    }
    for (uint32_t i = 0; i < bench->member_count; i++) {
        uint32_t id = activation_account(bench, agents[i % ACTIVATION_AGENTS],
                                         ACCOUNT_KIND_MEMBER);
        bench->members[i] = id;
        struct command c = bench_command(COMMAND_CASH_DEPOSIT, bench->operator_id);
        c.u.cash.account_id = id;
        c.u.cash.amount_minor = (int64_t)1 << 40;
        activation_apply(bench, &c);
        c = bench_command(COMMAND_POSITION_GRANT, bench->operator_id);
        c.u.position_grant.account_id = id;
        c.u.position_grant.instrument_id = i % ACTIVATION_INSTRUMENTS;
        c.u.position_grant.quantity = (int64_t)1 << 24;
        activation_apply(bench, &c);
    }
}

/* Instruments (created before the members' grants need them), the day
 * that opens them, events and 1X2 markets. */
static void activation_venues(struct activation_bench *bench)
{
    for (uint32_t i = 0; i < ACTIVATION_INSTRUMENTS; i++) {
        struct command c = bench_instrument(i, ACTIVATION_REFERENCE_TICKS, 0);
        activation_apply(bench, &c);
    }
    struct command day = bench_command(COMMAND_DAY_START, 0);
    day.u.day.trading_date = 20270104;
    activation_apply(bench, &day);
    for (uint32_t i = 0; i < ACTIVATION_MARKETS; i++) {
        if (i % 5 == 0) {
            struct command e = bench_sport_event(i);
            activation_apply(bench, &e);
        }
        struct command m = bench_market_1x2(i);
        activation_apply(bench, &m);
    }
}

/* Order i: member i % members, on its instrument, bids below the
 * reference and asks above it, so nothing crosses and all of it rests. */
static void activation_orders(struct activation_bench *bench, uint32_t count)
{
    for (uint32_t i = 0; i < count; i++) {
        uint32_t member_index = i % bench->member_count;
        uint8_t side = (uint8_t)(i / bench->member_count % 2);
        int64_t offset = 1 + (int64_t)((i * 7u) % 900u);
        struct command c = bench_command(COMMAND_ORDER_PLACE, bench->members[member_index]);
        c.u.order_place.instrument_id = member_index % ACTIVATION_INSTRUMENTS;
        c.u.order_place.side = side;
        c.u.order_place.order_type = ORDER_TYPE_LIMIT;
        c.u.order_place.time_in_force = TIF_GTC;
        c.u.order_place.price_ticks = ACTIVATION_REFERENCE_TICKS + (side ? offset : -offset);
        c.u.order_place.quantity = 1 + i % 10;
        c.u.order_place.client_order_id = i + 1;
        activation_apply(bench, &c);
    }
}

static void activation_bets(struct activation_bench *bench, uint32_t count)
{
    static const int32_t odds_milli[3] = {2100, 3300, 3600};
    for (uint32_t i = 0; i < count; i++) {
        struct command c = bench_command(COMMAND_BET_PLACE,
                                              bench->members[i % bench->member_count]);
        c.u.bet_place.market_id = i % ACTIVATION_MARKETS;
        c.u.bet_place.selection = (uint8_t)(i / ACTIVATION_MARKETS % 3);
        c.u.bet_place.odds_milli = odds_milli[c.u.bet_place.selection];
        c.u.bet_place.stake_minor = 100 + i % 900;
        activation_apply(bench, &c);
    }
}

static void activation_limits(const struct activation_options *options, struct limits *limits)
{
    limits_default(limits);
    uint32_t accounts = 2 + ACTIVATION_SUPERS + ACTIVATION_MASTERS + ACTIVATION_AGENTS +
                        options->members;
    if (limits->accounts_max < accounts + 16)
        limits->accounts_max = accounts + 16;
    if (limits->sessions_max < accounts + 16)
        limits->sessions_max = accounts + 16;
    if (limits->orders_max < options->orders + 1024)
        limits->orders_max = options->orders + 1024;
    if (limits->bets_max < options->bets + 16)
        limits->bets_max = options->bets + 16;
    if (limits->positions_max < options->members + 16)
        limits->positions_max = options->members + 16;
}

static struct command activation_logic(uint32_t version, uint64_t client_seq)
{
    struct command c = bench_command(COMMAND_ACTIVATE_LOGIC, 0);
    c.u.activate_logic.logic_version = version;
    c.client_id = 1;
    c.client_seq = client_seq;
    return c;
}

/* Builds the state at logic 2 and returns it encoded as a snapshot. */
static uint8_t *activation_build(struct activation_bench *bench,
                                 const struct activation_options *options, size_t *size)
{
    struct command c = activation_logic(2, 0);
    activation_apply(bench, &c);
    activation_venues(bench);
    activation_tree(bench);
    activation_orders(bench, options->orders);
    activation_bets(bench, options->bets);
    *size = snapshot_size(&bench->engine);
    uint8_t *buffer = malloc(*size);
    size_t length = 0;
    if (buffer == NULL || snapshot_encode(&bench->engine, buffer, *size, &length) != 0) {
        fprintf(stderr, "nodown bench activation: cannot encode the state\n");
        exit(1);
    }
    *size = length;
    return buffer;
}

static int compare_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a;
    uint64_t y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

struct activation_figures {
    uint64_t migration_ns[ACTIVATION_REPEAT_MAX];
    uint64_t encode_ns[2]; /* at logic 2, at logic 3 */
    size_t snapshot_bytes[2];
    uint64_t build_ns;
    uint32_t sessions;
    uint32_t accounts;
};

/* Times snapshot_encode() of the engine's state into a new buffer. */
static void activation_encode_time(const struct engine *engine, uint64_t *ns, size_t *bytes)
{
    size_t size = snapshot_size(engine);
    uint8_t *buffer = malloc(size);
    size_t length = 0;
    uint64_t start_ns = clock_now_ns();
    if (buffer == NULL || snapshot_encode(engine, buffer, size, &length) != 0) {
        fprintf(stderr, "nodown bench activation: cannot encode the state\n");
        exit(1);
    }
    *ns = clock_now_ns() - start_ns;
    *bytes = length;
    free(buffer);
}

/* One repetition: a fresh engine from the snapshot, ACTIVATE_LOGIC 3
 * timed alone. The first one also times the encodes. */
static void activation_once(const struct limits *limits, const uint8_t *snapshot, size_t size,
                            uint64_t client_seq, uint32_t repetition,
                            struct activation_figures *figures)
{
    struct engine engine;
    char errmsg[256];
    if (engine_init(&engine, limits) != 0 ||
        snapshot_decode(&engine, snapshot, size, errmsg, sizeof errmsg) != 0) {
        fprintf(stderr, "nodown bench activation: cannot restore the state\n");
        exit(1);
    }
    if (repetition == 0)
        activation_encode_time(&engine, &figures->encode_ns[0], &figures->snapshot_bytes[0]);
    struct command c = activation_logic(3, client_seq);
    struct outcome outcome;
    uint64_t start_ns = clock_now_ns();
    int rv = engine_apply(&engine, engine.now_ns + 1000, &c, NULL, &outcome);
    figures->migration_ns[repetition] = clock_now_ns() - start_ns;
    if (rv != 0 || outcome.result != RESULT_OK || engine.logic_version != 3) {
        fprintf(stderr, "nodown bench activation: ACTIVATE_LOGIC 3 was not applied\n");
        exit(1);
    }
    if (repetition == 0) {
        activation_encode_time(&engine, &figures->encode_ns[1], &figures->snapshot_bytes[1]);
        figures->sessions = engine.session_count;
        figures->accounts = engine.account_count;
        char check[256];
        if (engine_check(&engine, check, sizeof check) != 0) {
            fprintf(stderr, "nodown bench activation: after the migration: %s\n", check);
            exit(1);
        }
    }
    engine_free(&engine);
}

static void activation_print(const struct activation_options *options,
                             struct activation_figures *figures)
{
    uint64_t ns[ACTIVATION_REPEAT_MAX];
    memcpy(ns, figures->migration_ns, options->repeat * sizeof ns[0]);
    qsort(ns, options->repeat, sizeof ns[0], compare_u64);
    double min_us = (double)ns[0] / 1e3;
    double median_us = (double)ns[options->repeat / 2] / 1e3;
    double max_us = (double)ns[options->repeat - 1] / 1e3;
    if (!options->json) {
        printf("ACTIVATE_LOGIC 3 over %u resting orders, %u open bets, %u accounts, "
               "%u sessions: migration min %.1f us, median %.1f us, max %.1f us "
               "(%u repetitions)\n",
               options->orders, options->bets, figures->accounts, figures->sessions, min_us,
               median_us, max_us, options->repeat);
        printf("snapshot encode: logic 2 %.1f ms (%zu bytes), logic 3 %.1f ms (%zu bytes)\n",
               (double)figures->encode_ns[0] / 1e6, figures->snapshot_bytes[0],
               (double)figures->encode_ns[1] / 1e6, figures->snapshot_bytes[1]);
        return;
    }
    printf("{\"bench\":\"activation\",\"orders\":%u,\"bets\":%u,\"accounts\":%u,"
           "\"members\":%u,\"sessions\":%u,\"instruments\":%u,\"markets\":%u,"
           "\"repetitions\":%u,\"migration_us\":{\"min\":%.1f,\"median\":%.1f,\"max\":%.1f},"
           "\"snapshot_encode_ms\":{\"logic2\":%.1f,\"logic3\":%.1f},"
           "\"snapshot_bytes\":{\"logic2\":%zu,\"logic3\":%zu},\"build_s\":%.2f,"
           "\"migration_us_each\":[",
           options->orders, options->bets, figures->accounts, options->members,
           figures->sessions, ACTIVATION_INSTRUMENTS, ACTIVATION_MARKETS, options->repeat,
           min_us, median_us, max_us, (double)figures->encode_ns[0] / 1e6,
           (double)figures->encode_ns[1] / 1e6, figures->snapshot_bytes[0],
           figures->snapshot_bytes[1], (double)figures->build_ns / 1e9);
    for (uint32_t r = 0; r < options->repeat; r++)
        printf("%s%.1f", r == 0 ? "" : ",", (double)figures->migration_ns[r] / 1e3);
    printf("]}\n");
}

static void activation_usage(FILE *out)
{
    fprintf(out,
            "usage: nodown bench activation [--orders N] [--bets N] [--members N]\n"
            "                               [--repeat N] [--json]\n"
            "  Builds a state at logic 2 (N resting orders, default 1 000 000; N open\n"
            "  bets with PT, default 100 000; --members members under 100 agents,\n"
            "  default 10 000) and times ACTIVATE_LOGIC 3's engine_apply() on --repeat\n"
            "  fresh copies (default 5, at most 101), and the snapshot's encode.\n");
}

static int activation_parse(int argc, char **argv, struct activation_options *options)
{
    *options = (struct activation_options){1000000u, 100000u, 10000u, 5u, false};
    for (int i = 0; i < argc; i++) {
        uint32_t *value = NULL;
        if (strcmp(argv[i], "--json") == 0) {
            options->json = true;
            continue;
        }
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            activation_usage(stdout);
            return 0;
        }
        if (strcmp(argv[i], "--orders") == 0)
            value = &options->orders;
        else if (strcmp(argv[i], "--bets") == 0)
            value = &options->bets;
        else if (strcmp(argv[i], "--members") == 0)
            value = &options->members;
        else if (strcmp(argv[i], "--repeat") == 0)
            value = &options->repeat;
        if (value == NULL || i + 1 >= argc) {
            fprintf(stderr, "nodown bench activation: unknown option '%s'\n", argv[i]);
            activation_usage(stderr);
            return 2;
        }
        *value = (uint32_t)strtoul(argv[++i], NULL, 10);
    }
    if (options->members == 0 || options->members > (1u << 22) || options->repeat == 0 ||
        options->repeat > ACTIVATION_REPEAT_MAX || options->orders > (1u << 25) ||
        options->bets > (1u << 25)) {
        fprintf(stderr, "nodown bench activation: --members 1..4194304, --repeat 1..%u, "
                        "--orders and --bets at most 33554432\n", ACTIVATION_REPEAT_MAX);
        return 2;
    }
    return 1;
}

int bench_activation_main(int argc, char **argv)
{
    struct activation_options options;
    int parsed = activation_parse(argc, argv, &options);
    if (parsed != 1)
        return parsed;
    struct limits limits;
    activation_limits(&options, &limits);
    struct activation_bench bench;
    memset(&bench, 0, sizeof bench);
    bench.member_count = options.members;
    bench.members = calloc(options.members, sizeof *bench.members);
    bench.seq = calloc(limits.accounts_max, sizeof *bench.seq);
    if (bench.members == NULL || bench.seq == NULL || engine_init(&bench.engine, &limits) != 0) {
        fprintf(stderr, "nodown bench activation: out of memory\n");
        return 1;
    }
    static struct activation_figures figures;
    uint64_t start_ns = clock_now_ns();
    size_t size = 0;
    uint8_t *snapshot = activation_build(&bench, &options, &size);
    figures.build_ns = clock_now_ns() - start_ns;
    uint64_t house_seq = bench.seq[0] + 1;
    engine_free(&bench.engine); /* one engine at a time in memory */
    for (uint32_t r = 0; r < options.repeat; r++)
        activation_once(&limits, snapshot, size, house_seq, r, &figures);
    activation_print(&options, &figures);
    free(snapshot);
    free(bench.members);
    free(bench.seq);
    return 0;
}
