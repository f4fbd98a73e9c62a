/* `nodown bench core`: the matching core alone, one thread, no I/O.
 *
 * Every operation is a full engine_apply(): session lookup, authorization,
 * risk checks, matching, trades, events to a sink. Two workloads:
 *
 *   liquibook  the order stream of Liquibook's perf test
 *              (test/perf/pt_order_book.cpp): alternating buy and sell
 *              limit orders, buys at 1880 + rand() % 10, sells at
 *              1884 + rand() % 10, quantity (rand() % 10 + 1) * 100, one
 *              instrument; about half of them rest, so the book grows.
 *   mix        exchange-core's benchmark mix: 82 % move (price replace),
 *              9 % GTC, 6 % cancel, 3 % IOC, about 1000 resting orders
 *              over about 750 price levels, 1000 accounts.
 *
 * Back of the envelope: a cache-resident apply is a session probe, an
 * account walk of five levels, a ladder bit scan and a few stores; ~60-100
 * ns, so 10-15 M operations per second on one core.
 *
 * Timing: commands go through engine_apply_batch() 63 at a time, as a
 * node applies one stream message; the 64th of each batch is applied alone
 * under the clock for the latency percentiles, and the run's clock is read
 * every 16 batches, so no clock call sits on the measured path.
 * docs/benchmarks.md has the figures and how to reproduce them.
 */
#include "bench/bench.h"
#include "bench/bench_commands.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "core/engine.h"

#define BENCH_MEMBERS 1000u
#define LATENCY_BUCKETS 65536u /* 1 ns each; slower samples land in the last */
#define MIX_LIVE_TARGET 1000u
/* Each side spans 800 ticks; 500 orders a side over them occupy about
 * 800 * (1 - e^(-500/800)) = 372 levels, about 750 in all. */
#define MIX_HALF_RANGE 800
#define MIX_MID_TICKS 10000

struct bench {
    struct engine engine;
    struct event_sink sink;
    uint64_t seq[BENCH_MEMBERS + 8];
    uint32_t members[BENCH_MEMBERS];
    uint32_t operator_id;
    uint64_t rng;
    uint64_t time_ns;
    uint64_t ops;
    uint64_t events;
    uint64_t trades;
    uint32_t *latency_counts;
    uint64_t samples;
    /* mix: the live orders the generator knows of */
    uint64_t *live_ids;
    uint32_t *live_owners;
    uint32_t live_count;
    uint64_t done_ids[64]; /* orders done in the last command */
    uint32_t done_count;
    bool rested;           /* the last command left an order resting */
    uint64_t run_ns;       /* the timed part of the workload */
    uint64_t stream_bytes; /* the pre-generated stream, inside peak RSS */
    uint64_t rejects;
};

static uint64_t bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint32_t bench_rand(struct bench *bench)
{
    /* xorshift64*: the stream only needs to be fixed for a seed. */
    bench->rng ^= bench->rng >> 12;
    bench->rng ^= bench->rng << 25;
    bench->rng ^= bench->rng >> 27;
    return (uint32_t)((bench->rng * 0x2545F4914F6CDD1DULL) >> 33);
}

static void bench_emit(void *context, const struct event *event)
{
    struct bench *bench = context;
    bench->events++;
    if (event->type == EVENT_TRADE)
        bench->trades++;
    if (event->type == EVENT_ORDER_DONE && bench->done_count < 64)
        bench->done_ids[bench->done_count++] = event->id;
    if (event->type == EVENT_ORDER_ACCEPTED)
        bench->rested = true;
}

/* Each sender is one client (id 1) numbering its commands 1, 2, 3 ... */
static void bench_number(struct bench *bench, struct command *command)
{
    uint32_t sender = command->sender_account_id;
    command->client_id = 1;
    command->client_seq = ++bench->seq[sender < BENCH_MEMBERS + 8 ? sender : 0];
}

static struct outcome bench_apply(struct bench *bench, struct command *command)
{
    struct outcome outcome;
    bench_number(bench, command);
    bench->time_ns += 1000;
    bench->done_count = 0;
    bench->rested = false;
    int rv = engine_apply(&bench->engine, bench->time_ns, command, &bench->sink, &outcome);
    bench->rejects += outcome.result != RESULT_OK;
    if (rv != 0) {
        fprintf(stderr, "bench: engine_apply: %s\n", err_text(rv));
        exit(1);
    }
    return outcome;
}

static void bench_setup_ok(struct bench *bench, struct command *command)
{
    struct outcome outcome = bench_apply(bench, command);
    if (outcome.result != RESULT_OK) {
        fprintf(stderr, "bench: set-up %s: %s\n", command_type_name(command->type),
                result_text(outcome.result));
        exit(1);
    }
}

/* One operator, one line super -> master -> agent, and BENCH_MEMBERS
 * members with cash and holdings no workload can exhaust. */
static void bench_setup(struct bench *bench, int64_t reference_ticks, uint16_t band_bp)
{
    struct command c = bench_command(COMMAND_ACCOUNT_CREATE, 0);
    c.u.account_create.kind = ACCOUNT_KIND_OPERATOR;
    bench->operator_id = (uint32_t)bench_apply(bench, &c).id;
    uint32_t parent = 0;
    for (uint8_t kind = ACCOUNT_KIND_SUPER; kind <= ACCOUNT_KIND_MEMBER; kind++) {
        uint32_t count = kind == ACCOUNT_KIND_MEMBER ? BENCH_MEMBERS : 1;
        for (uint32_t i = 0; i < count; i++) {
            c = bench_command(COMMAND_ACCOUNT_CREATE, bench->operator_id);
            c.u.account_create.parent_id = parent;
            c.u.account_create.kind = kind;
            uint32_t id = (uint32_t)bench_apply(bench, &c).id;
            if (kind == ACCOUNT_KIND_MEMBER)
                bench->members[i] = id;
            else
                parent = id;
        }
    }
    c = bench_command(COMMAND_INSTRUMENT_CREATE, bench->operator_id);
    memcpy(c.u.instrument_create.symbol, "BENCH", 5);
    c.u.instrument_create.tick_size_minor = 1;
    c.u.instrument_create.lot_size = 1;
    c.u.instrument_create.reference_price_ticks = reference_ticks;
    c.u.instrument_create.band_bp = band_bp;
    bench_setup_ok(bench, &c);
    for (uint32_t i = 0; i < BENCH_MEMBERS; i++) {
        c = bench_command(COMMAND_CASH_DEPOSIT, bench->operator_id);
        c.u.cash.account_id = bench->members[i];
        c.u.cash.amount_minor = (int64_t)1 << 50;
        bench_setup_ok(bench, &c);
        c = bench_command(COMMAND_POSITION_GRANT, bench->operator_id);
        c.u.position_grant.account_id = bench->members[i];
        c.u.position_grant.quantity = QUANTITY_MAX;
        bench_setup_ok(bench, &c);
    }
    c = bench_command(COMMAND_DAY_START, bench->operator_id);
    c.u.day.trading_date = 20260105;
    bench_setup_ok(bench, &c);
}

/* One stream message's worth: BENCH_BATCH - 1 commands through
 * engine_apply_batch(), and the last alone under the clock, so that the
 * latency samples are single commands with nothing fetched ahead. */
#define BENCH_BATCH 64u

static void bench_batch(struct bench *bench, struct command *commands, uint32_t count)
{
    static struct outcome outcomes[BENCH_BATCH];
    assert(count >= 1 && count <= BENCH_BATCH);
    for (uint32_t i = 0; i < count; i++)
        bench_number(bench, &commands[i]);
    uint32_t applied = 0;
    bench->time_ns += 1000;
    if (engine_apply_batch(&bench->engine, bench->time_ns, commands, count - 1, &bench->sink,
                           outcomes, &applied) != 0) {
        fprintf(stderr, "bench: a batch stopped after %u commands\n", applied);
        exit(1);
    }
    bench->ops += count - 1;
    uint64_t start_ns = bench_now_ns();
    if (engine_apply(&bench->engine, bench->time_ns, &commands[count - 1], &bench->sink,
                     &outcomes[count - 1]) != 0)
        exit(1);
    uint64_t took_ns = bench_now_ns() - start_ns;
    for (uint32_t i = 0; i < count; i++)
        bench->rejects += outcomes[i].result != RESULT_OK;
    bench->latency_counts[took_ns < LATENCY_BUCKETS ? took_ns : LATENCY_BUCKETS - 1]++;
    bench->samples++;
    bench->ops++;
}

static uint64_t bench_percentile_ns(const struct bench *bench, uint64_t per_million)
{
    uint64_t rank = (bench->samples * per_million + 999999) / 1000000;
    uint64_t seen = 0;
    for (uint32_t i = 0; i < LATENCY_BUCKETS; i++) {
        seen += bench->latency_counts[i];
        if (seen >= rank && seen > 0)
            return i;
    }
    return LATENCY_BUCKETS - 1;
}

static uint64_t bench_stream_bytes;

/* The Liquibook stream, generated before the clock starts, as Liquibook's
 * own test does: glibc rand() from srand(3), price then quantity. */
static uint32_t *liquibook_stream(uint32_t count)
{
    uint32_t *stream = malloc((size_t)count * sizeof *stream);
    if (stream == NULL)
        return NULL;
    bench_stream_bytes = (uint64_t)count * sizeof *stream;
    srand(3);
    for (uint32_t i = 0; i < count; i++) {
        uint32_t price = (uint32_t)(rand() % 10) + ((i % 2) == 0 ? 1880 : 1884);
        uint32_t quantity = (uint32_t)(rand() % 10 + 1) * 100;
        stream[i] = price << 16 | quantity;
    }
    return stream;
}

static int bench_liquibook(struct bench *bench, uint64_t duration_ns, uint32_t count)
{
    uint32_t *stream = liquibook_stream(count);
    if (stream == NULL)
        return -1;
    bench->stream_bytes = bench_stream_bytes;
    static struct command batch[BENCH_BATCH];
    uint64_t start_ns = bench_now_ns();
    uint32_t i = 0;
    while (i + BENCH_BATCH <= count) {
        for (uint32_t b = 0; b < 16; b++) {
            for (uint32_t k = 0; k < BENCH_BATCH; k++, i++) {
                /* Even members buy, odd members sell: nobody meets itself. */
                struct command *c = &batch[k];
                *c = bench_command(COMMAND_ORDER_PLACE, bench->members[i % BENCH_MEMBERS]);
                c->u.order_place.side = (i % 2) == 0 ? SIDE_BUY : SIDE_SELL;
                c->u.order_place.time_in_force = TIF_GTC;
                c->u.order_place.price_ticks = stream[i] >> 16;
                c->u.order_place.quantity = stream[i] & 0xffff;
            }
            bench_batch(bench, batch, BENCH_BATCH);
            if (i + BENCH_BATCH > count)
                break;
        }
        if (bench_now_ns() - start_ns >= duration_ns)
            break;
    }
    bench->run_ns = bench_now_ns() - start_ns;
    free(stream);
    return 0;
}

/* ---- mix: the generator's view of the live orders. ---- */

static bool live_match(const void *context, uint32_t slot, const void *key)
{
    const struct bench *bench = context;
    return bench->live_ids[slot] == *(const uint64_t *)key;
}

static uint64_t live_hash(const void *context, uint32_t slot)
{
    const struct bench *bench = context;
    return bench->live_ids[slot]; /* ids are sequential */
}

static void live_add(struct bench *bench, struct index_table *table, uint64_t order_id,
                     uint32_t owner)
{
    uint32_t slot = bench->live_count++;
    bench->live_ids[slot] = order_id;
    bench->live_owners[slot] = owner;
    index_table_insert(table, order_id, slot);
}

/* Removes by swapping the last live order into the hole. */
static void live_remove(struct bench *bench, struct index_table *table, uint64_t order_id)
{
    uint32_t at = index_table_find(table, order_id, live_match, bench,
                                   &order_id);
    if (at == INDEX_NONE)
        return; /* an IOC or a taker that never rested */
    uint32_t slot = table->entries[at];
    index_table_remove_at(table, at, live_hash, bench);
    uint32_t last = --bench->live_count;
    if (slot == last)
        return;
    uint64_t moved_id = bench->live_ids[last];
    uint32_t moved_at = index_table_find(table, moved_id, live_match,
                                         bench, &moved_id);
    bench->live_ids[slot] = moved_id;
    bench->live_owners[slot] = bench->live_owners[last];
    table->entries[moved_at] = slot;
}

/* A passive price on side, or one crossing the middle now and then. */
static int64_t mix_price(struct bench *bench, uint8_t side, uint32_t cross_per_100)
{
    int64_t offset = bench_rand(bench) % 100 < cross_per_100
                         ? -(int64_t)(bench_rand(bench) % 4)
                         : 1 + (int64_t)(bench_rand(bench) % MIX_HALF_RANGE);
    return side == SIDE_BUY ? MIX_MID_TICKS - offset : MIX_MID_TICKS + offset;
}

/* A mix command as the generating pass recorded it, replayed timed. */
struct mix_record {
    uint64_t order_id; /* replace and cancel */
    int32_t price_ticks;
    uint32_t sender;
    uint16_t quantity;
    uint8_t type;
    uint8_t time_in_force;
};

static struct command mix_command(const struct mix_record *record)
{
    struct command c = bench_command(record->type, record->sender);
    if (record->type == COMMAND_ORDER_REPLACE) {
        c.u.order_replace.order_id = record->order_id;
        c.u.order_replace.price_ticks = record->price_ticks;
        c.u.order_replace.quantity = record->quantity;
    } else if (record->type == COMMAND_ORDER_CANCEL) {
        c.u.order_cancel.order_id = record->order_id;
    } else {
        c.u.order_place.side = (uint8_t)(record->sender % 2);
        c.u.order_place.time_in_force = record->time_in_force;
        c.u.order_place.price_ticks = record->price_ticks;
        c.u.order_place.quantity = record->quantity;
    }
    return c;
}

/* Draws the next mix command against the generator's view of the book. */
static struct mix_record mix_draw(struct bench *bench)
{
    uint32_t roll = bench_rand(bench) % 100;
    bool have = bench->live_count > 0;
    /* Fills and IOCs drain the book a little faster than the mix refills
     * it: steer it back to about MIX_LIVE_TARGET orders. */
    if (roll >= 82 && roll < 91 && bench->live_count > MIX_LIVE_TARGET * 11 / 10)
        roll = 91; /* too many live orders: cancel instead of adding */
    if (roll >= 91 && roll < 97 && bench->live_count < MIX_LIVE_TARGET)
        roll = 82; /* too few: add instead of cancelling */
    struct mix_record record;
    memset(&record, 0, sizeof record);
    uint32_t live = have ? bench_rand(bench) % bench->live_count : 0;
    if (roll < 82 && have) {
        record.type = COMMAND_ORDER_REPLACE;
        record.sender = bench->live_owners[live];
        record.order_id = bench->live_ids[live];
        record.price_ticks = (int32_t)mix_price(bench, record.sender % 2, 5);
        record.quantity = (uint16_t)(1 + bench_rand(bench) % 100);
    } else if (roll < 97 && roll >= 91 && have) {
        record.type = COMMAND_ORDER_CANCEL;
        record.sender = bench->live_owners[live];
        record.order_id = bench->live_ids[live];
    } else {
        /* Members with an even id buy, odd ones sell, as in a real book
         * where a member mostly works one side. */
        bool ioc = roll >= 97;
        record.type = COMMAND_ORDER_PLACE;
        record.sender = bench->members[bench_rand(bench) % BENCH_MEMBERS];
        record.time_in_force = ioc ? TIF_IOC : TIF_GTC;
        record.price_ticks = (int32_t)mix_price(bench, record.sender % 2, ioc ? 100 : 2);
        record.quantity = (uint16_t)(1 + bench_rand(bench) % 100);
    }
    return record;
}

/* The generating pass: draws, applies and records count commands, the
 * first ones until the book holds MIX_LIVE_TARGET orders (*warm_up). */
static int mix_generate(struct bench *bench, struct mix_record *records, uint32_t count,
                        uint32_t *warm_up)
{
    struct index_table table;
    uint32_t capacity = MIX_LIVE_TARGET * 4;
    bench->live_ids = malloc(capacity * sizeof *bench->live_ids);
    bench->live_owners = malloc(capacity * sizeof *bench->live_owners);
    if (!bench->live_ids || !bench->live_owners || index_table_init(&table, capacity) != 0)
        return -1;
    *warm_up = count;
    for (uint32_t i = 0; i < count; i++) {
        if (*warm_up == count && bench->live_count >= MIX_LIVE_TARGET)
            *warm_up = i;
        records[i] = mix_draw(bench);
        struct command c = mix_command(&records[i]);
        struct outcome outcome = bench_apply(bench, &c);
        for (uint32_t k = 0; k < bench->done_count; k++)
            live_remove(bench, &table, bench->done_ids[k]);
        if (c.type == COMMAND_ORDER_PLACE && outcome.result == RESULT_OK && bench->rested)
            live_add(bench, &table, outcome.id, c.sender_account_id);
    }
    index_table_free(&table);
    free(bench->live_ids);
    free(bench->live_owners);
    return 0;
}

/* The timed pass: a fresh engine applies the recorded warm-up, then the
 * rest of the records under the clock until they or the time run out. */
static void mix_replay(struct bench *bench, const struct mix_record *records, uint32_t count,
                       uint32_t warm_up, uint64_t duration_ns)
{
    for (uint32_t i = 0; i < warm_up; i++) {
        struct command c = mix_command(&records[i]);
        bench_apply(bench, &c);
    }
    bench->ops = bench->samples = bench->events = bench->trades = bench->rejects = 0;
    static struct command batch[BENCH_BATCH];
    uint64_t start_ns = bench_now_ns();
    uint32_t i = warm_up;
    while (i + BENCH_BATCH <= count) {
        for (uint32_t b = 0; b < 16 && i + BENCH_BATCH <= count; b++) {
            for (uint32_t k = 0; k < BENCH_BATCH; k++, i++)
                batch[k] = mix_command(&records[i]);
            bench_batch(bench, batch, BENCH_BATCH);
        }
        if (bench_now_ns() - start_ns >= duration_ns)
            break;
    }
    bench->run_ns = bench_now_ns() - start_ns;
}

static uint32_t bench_price_levels(const struct engine *engine)
{
    static struct depth_level levels[LADDER_LEVELS];
    return engine_book_depth(engine, 0, SIDE_BUY, levels, LADDER_LEVELS) +
           engine_book_depth(engine, 0, SIDE_SELL, levels, LADDER_LEVELS);
}

static void bench_report(const struct bench *bench, const char *workload, double seconds,
                         bool json)
{
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    const struct engine *engine = &bench->engine;
    uint32_t resting = pool_used(&engine->order_pool);
    /* What each order slot costs: the order, its share of the id index,
     * its entry in the pool's free stack. */
    double bytes_per_order = sizeof(struct order) +
        (double)(engine->order_index.mask + 1) * sizeof(uint32_t) / engine->limits.orders_max +
        sizeof(uint32_t);
    const char *format = json
        ? "{\"workload\":\"%s\",\"ops\":%" PRIu64 ",\"seconds\":%.3f,\"ops_per_s\":%.0f,"
          "\"p50_ns\":%" PRIu64 ",\"p99_ns\":%" PRIu64 ",\"p999_ns\":%" PRIu64 ","
          "\"resting_orders\":%u,\"bytes_per_resting_order\":%.1f,\"peak_rss_bytes\":%ld,"
          "\"price_levels\":%u,\"trades\":%" PRIu64 ",\"events\":%" PRIu64 ","
          "\"rejects\":%" PRIu64 ",\"latency_samples\":%" PRIu64 ",\"stream_bytes\":%" PRIu64
          "}\n"
        : "workload %s: %" PRIu64 " ops in %.3f s = %.0f ops/s; latency p50 %" PRIu64
          " ns, p99 %" PRIu64 " ns, p99.9 %" PRIu64 " ns; %u resting orders, %.1f bytes"
          " each; peak RSS %ld bytes; %u price levels; %" PRIu64 " trades, %" PRIu64
          " events, %" PRIu64 " rejects, %" PRIu64 " latency samples; the generated stream"
          " took %" PRIu64 " bytes of the RSS\n";
    printf(format, workload, bench->ops, seconds, bench->ops / seconds,
           bench_percentile_ns(bench, 500000), bench_percentile_ns(bench, 990000),
           bench_percentile_ns(bench, 999000), resting, bytes_per_order,
           usage.ru_maxrss * 1024L, bench_price_levels(engine), bench->trades, bench->events,
           bench->rejects, bench->samples, bench->stream_bytes);
}

/* Liquibook's stream leaves about half its orders resting: 2^25 order
 * slots hold a few seconds of it; the run stops early when they are full. */
#define LIQUIBOOK_ORDERS (1u << 25)

/* A fresh engine with the benchmark's accounts and one instrument. */
static int bench_open(struct bench *bench, const struct limits *limits, int64_t reference_ticks)
{
    memset(bench->seq, 0, sizeof bench->seq);
    bench->time_ns = 0;
    if (engine_init(&bench->engine, limits) != 0)
        return -1;
    bench_setup(bench, reference_ticks, 1000);
    bench->ops = bench->samples = bench->events = bench->trades = bench->rejects = 0;
    return 0;
}

/* The mix stream runs twice: drawn and recorded against one engine, then
 * replayed under the clock by a fresh one, so that the timed loop holds
 * the engine's work and not the generator's (as exchange-core's benchmark
 * generates its commands ahead). About 16 M records a second of run. */
static int bench_mix(struct bench *bench, const struct limits *limits, uint64_t duration_ns,
                     uint32_t ops_max)
{
    uint64_t wanted = duration_ns / 1000000000u * 16000000u + 16000000u;
    if (ops_max != 0 && ops_max < wanted)
        wanted = ops_max + (uint64_t)MIX_LIVE_TARGET * 64; /* and the warm-up */
    uint32_t count = wanted > (1u << 27) ? 1u << 27 : (uint32_t)wanted;
    struct mix_record *records = malloc((size_t)count * sizeof *records);
    bench->stream_bytes = (uint64_t)count * sizeof *records;
    uint32_t warm_up = 0;
    if (records == NULL || mix_generate(bench, records, count, &warm_up) != 0)
        return -1;
    engine_free(&bench->engine);
    if (bench_open(bench, limits, MIX_MID_TICKS) != 0)
        return -1;
    if (ops_max != 0 && count - warm_up > ops_max)
        count = warm_up + ops_max;
    mix_replay(bench, records, count, warm_up, duration_ns);
    free(records);
    return 0;
}

static int bench_core_run(bool liquibook, double seconds, uint32_t ops_max, bool json)
{
    struct bench *bench = calloc(1, sizeof *bench);
    struct limits limits;
    limits_default(&limits);
    limits.accounts_max = BENCH_MEMBERS + 8;
    limits.positions_max = 4 * BENCH_MEMBERS;
    limits.sessions_max = 2 * BENCH_MEMBERS;
    limits.orders_max = liquibook ? LIQUIBOOK_ORDERS : 8 * MIX_LIVE_TARGET;
    if (bench == NULL)
        return 1;
    bench->latency_counts = calloc(LATENCY_BUCKETS, sizeof *bench->latency_counts);
    bench->rng = 0x9E3779B97F4A7C15ULL;
    bench->sink.emit_cb = bench_emit;
    bench->sink.context = bench;
    uint64_t duration_ns = (uint64_t)(seconds * 1e9);
    int rv = bench->latency_counts == NULL ||
             bench_open(bench, &limits, liquibook ? 1887 : MIX_MID_TICKS) != 0;
    if (rv == 0)
        rv = liquibook ? bench_liquibook(bench, duration_ns,
                                         ops_max != 0 && ops_max < LIQUIBOOK_ORDERS - 1024
                                             ? ops_max
                                             : LIQUIBOOK_ORDERS - 1024)
                       : bench_mix(bench, &limits, duration_ns, ops_max);
    if (rv != 0) {
        fprintf(stderr, "nodown bench core: out of memory\n");
        return 1;
    }
    bench_report(bench, liquibook ? "liquibook" : "mix", (double)bench->run_ns / 1e9, json);
    engine_free(&bench->engine);
    free(bench->latency_counts);
    free(bench);
    return 0;
}

static void bench_core_usage(FILE *out)
{
    fprintf(out,
            "usage: nodown bench core [--workload liquibook|mix] [--seconds S] [--json]\n"
            "  Applies a generated order stream to the state machine alone (one thread,\n"
            "  no I/O) and prints throughput, sampled latency percentiles and memory.\n"
            "  --workload  liquibook: Liquibook's perf-test stream (default)\n"
            "              mix: exchange-core's 82%% move, 9%% GTC, 6%% cancel, 3%% IOC\n"
            "  --seconds   how long to run (default 3, at most 60)\n"
            "  --ops       stop after this many operations, if sooner (default: none)\n"
            "  --json      one JSON object on stdout\n");
}

int bench_core_main(int argc, char **argv)
{
    const char *workload = "liquibook";
    double seconds = 3;
    uint32_t ops_max = 0;
    bool json = false;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else if (strcmp(argv[i], "--help") == 0) {
            bench_core_usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "--workload") == 0 && i + 1 < argc) {
            workload = argv[++i];
        } else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
            seconds = strtod(argv[++i], NULL);
        } else if (strcmp(argv[i], "--ops") == 0 && i + 1 < argc) {
            ops_max = (uint32_t)strtoul(argv[++i], NULL, 10);
        } else {
            fprintf(stderr, "nodown bench core: unknown option '%s'\n", argv[i]);
            bench_core_usage(stderr);
            return 2;
        }
    }
    bool liquibook = strcmp(workload, "liquibook") == 0;
    if ((!liquibook && strcmp(workload, "mix") != 0) || !(seconds > 0 && seconds <= 60)) {
        fprintf(stderr, "nodown bench core: --workload is liquibook or mix, --seconds 0..60\n");
        return 2;
    }
    return bench_core_run(liquibook, seconds, ops_max, json);
}
