/* `nodown bench export` (bench_export.h).
 *
 * The flow: two members under an agent trade one instrument; each message
 * holds 1024 orders, buys from one member and sells from the other at one
 * price, GTC, one unit each, so every sell trades with the buy before it:
 * per pair, ORDER_ACCEPTED (buy), ORDER_ACCEPTED, TRADE and two
 * ORDER_DONE (sell) about, and each message moves a few balances.
 *
 * Back of the envelope: a row is ~100 bytes of COPY text; PostgreSQL
 * parses and inserts a narrow row with one btree key in ~2-3 us on one
 * core, and writes ~150 bytes of WAL for it; the writer thread formats it
 * in ~0.2 us. With the apply loop and PostgreSQL sharing two cores,
 * 250-400 k rows/s is the ceiling to expect, a little less in events/s.
 *
 * Full load: the replica applies as fast as it can and the feed's ring
 * makes it wait for the export, so the rate is the export's. Half load:
 * messages are paced at half that rate of events, and every 5 ms the lag
 * is sampled: how long the oldest applied message not yet committed has
 * waited (0 when all are).
 */
#include "bench/bench_export.h"

#include <inttypes.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/command_codec.h"
#include "core/limits.h"
#include "history/export.h"
#include "lib/clock.h"
#include "replica/feed.h"
#include "replica/replica.h"

#define BENCH_EXPORT_ORDERS 1024u
#define BENCH_EXPORT_TIMES (1u << 20) /* apply times of messages, a ring */
#define BENCH_EXPORT_SAMPLES 100000u
#define BENCH_EXPORT_DRAIN_MS 60000

struct bench_export_run {
    char dir[64];
    struct replica replica;
    struct feed feed;
    struct feed_consumer consumer;
    struct export *export;
    uint64_t seq;
    uint64_t client_seq[2];
    uint64_t *apply_ns; /* BENCH_EXPORT_TIMES, by seq */
};

static int bench_export_drop(const char *url, char *errmsg, size_t size)
{
    PGconn *conn = PQconnectdb(url);
    PQclear(PQexec(conn, "SET client_min_messages = warning"));
    PGresult *result = PQexec(conn, "DROP TABLE IF EXISTS export_position, messages, orders, "
                              "trades, bets, settlements, balances, account_changes, "
                              "commissions");
    int rv = PQresultStatus(result) == PGRES_COMMAND_OK ? 0 : -1;
    if (rv != 0)
        snprintf(errmsg, size, "%s: cannot drop the export's tables: %s", url,
                 PQerrorMessage(conn));
    PQclear(result);
    PQfinish(conn);
    return rv;
}

static int bench_export_apply(struct bench_export_run *run, struct command *batch, uint32_t n)
{
    static uint8_t buffer[BATCH_SIZE_MAX];
    size_t length = 0;
    int rv = batch_encode(0, batch, n, buffer, sizeof buffer, &length);
    uint64_t seq = ++run->seq;
    run->apply_ns[seq % BENCH_EXPORT_TIMES] = clock_now_ns();
    return rv != 0 ? rv : replica_apply(&run->replica, seq, seq * 1000, buffer, length, NULL,
                                        NULL);
}

/* A super, master, agent and two members (4, 5), cash, holdings, an
 * instrument and the day, from the house. */
static int bench_export_setup(struct bench_export_run *run)
{
    static struct command batch[16];
    uint32_t n = 0;
    for (uint8_t kind = ACCOUNT_KIND_SUPER; kind <= ACCOUNT_KIND_MEMBER; kind++, n++) {
        batch[n] = (struct command){.type = COMMAND_ACCOUNT_CREATE};
        batch[n].u.account_create.parent_id = n;
        batch[n].u.account_create.kind = kind;
    }
    batch[n] = (struct command){.type = COMMAND_ACCOUNT_CREATE};
    batch[n].u.account_create.parent_id = 3;
    batch[n++].u.account_create.kind = ACCOUNT_KIND_MEMBER;
    batch[n] = (struct command){.type = COMMAND_INSTRUMENT_CREATE};
    memcpy(batch[n].u.instrument_create.symbol, "EXPT", 4);
    batch[n].u.instrument_create.tick_size_minor = 1;
    batch[n].u.instrument_create.lot_size = 1;
    batch[n].u.instrument_create.reference_price_ticks = 10000;
    batch[n++].u.instrument_create.band_bp = 1000;
    for (uint32_t member = 4; member <= 5; member++) {
        batch[n] = (struct command){.type = COMMAND_CASH_DEPOSIT};
        batch[n].u.cash.account_id = member;
        batch[n++].u.cash.amount_minor = (int64_t)1 << 50;
    }
    batch[n] = (struct command){.type = COMMAND_POSITION_GRANT};
    batch[n].u.position_grant.account_id = 5;
    batch[n++].u.position_grant.quantity = (int64_t)1 << 40;
    batch[n] = (struct command){.type = COMMAND_DAY_START};
    batch[n++].u.day.trading_date = 20261206;
    for (uint32_t k = 0; k < n; k++)
        batch[k].client_seq = k + 1;
    return bench_export_apply(run, batch, n);
}

/* One message of the flow: buys from member 4, sells from member 5. */
static int bench_export_message(struct bench_export_run *run)
{
    static struct command batch[BENCH_EXPORT_ORDERS];
    for (uint32_t k = 0; k < BENCH_EXPORT_ORDERS; k++) {
        uint32_t side = k % 2;
        batch[k] = (struct command){.type = COMMAND_ORDER_PLACE, .sender_account_id = 4 + side,
                                    .client_id = 1, .client_seq = ++run->client_seq[side]};
        batch[k].u.order_place.side = (uint8_t)side;
        batch[k].u.order_place.time_in_force = TIF_GTC;
        batch[k].u.order_place.price_ticks = 10000;
        batch[k].u.order_place.quantity = 1;
        batch[k].u.order_place.client_order_id = run->client_seq[side];
    }
    return bench_export_apply(run, batch, BENCH_EXPORT_ORDERS);
}

static int bench_export_open(struct bench_export_run *run, const char *url, char *errmsg,
                             size_t size)
{
    memset(run, 0, sizeof *run);
    snprintf(run->dir, sizeof run->dir, "/tmp/nodown-bench-export-XXXXXX");
    struct limits limits;
    limits_default(&limits);
    run->apply_ns = calloc(BENCH_EXPORT_TIMES, sizeof *run->apply_ns);
    uint64_t position = 0;
    if (run->apply_ns == NULL || mkdtemp(run->dir) == NULL ||
        bench_export_drop(url, errmsg, size) != 0 ||
        replica_open(&run->replica, run->dir, &limits, errmsg, size) != 0 ||
        feed_init(&run->feed, &limits) != 0 ||
        export_open(&run->export, url, 0, &position, errmsg, size) != 0 ||
        feed_consumer_init(&run->consumer, "export", position) != 0 ||
        export_start(run->export, &run->consumer, errmsg, size) != 0)
        return -1;
    feed_add(&run->feed, &run->consumer);
    run->replica.feed = &run->feed;
    return bench_export_setup(run);
}

static void bench_export_close(struct bench_export_run *run)
{
    export_close(run->export, BENCH_EXPORT_DRAIN_MS);
    if (run->consumer.records != NULL)
        feed_consumer_free(&run->consumer);
    if (run->feed.touched != NULL)
        feed_free(&run->feed);
    if (run->replica.commands != NULL)
        replica_close(&run->replica);
    free(run->apply_ns);
    char command[128];
    snprintf(command, sizeof command, "rm -rf '%s'", run->dir);
    if (run->dir[0] != '\0' && system(command) != 0)
        fprintf(stderr, "bench export: could not remove %s\n", run->dir);
}

/* Waits until the export committed every message applied. */
static int bench_export_drain(struct bench_export_run *run)
{
    int64_t start_ms = clock_now_ms();
    while (atomic_load(&run->consumer.committed_seq) < run->seq) {
        if (clock_now_ms() - start_ms > BENCH_EXPORT_DRAIN_MS)
            return -1;
        clock_sleep_ms(1);
    }
    return 0;
}

static int bench_export_full(const char *url, double seconds, struct bench_export_figures *out,
                             char *errmsg, size_t size)
{
    static struct bench_export_run run;
    int rv = bench_export_open(&run, url, errmsg, size);
    if (rv == 0)
        rv = bench_export_drain(&run);
    struct export_stats before, after;
    export_stats_get(run.export, &before);
    uint64_t first_seq = run.seq + 1;
    uint64_t start_ns = clock_now_ns();
    while (rv == 0 && (double)(clock_now_ns() - start_ns) < seconds * 1e9)
        rv = bench_export_message(&run);
    if (rv == 0 && bench_export_drain(&run) != 0) {
        snprintf(errmsg, size, "the export did not catch up within %d ms",
                 BENCH_EXPORT_DRAIN_MS);
        rv = -1;
    }
    out->seconds = (double)(clock_now_ns() - start_ns) / 1e9;
    export_stats_get(run.export, &after);
    out->events = after.events - before.events;
    out->rows = after.rows - before.rows;
    out->messages = run.seq - first_seq + 1;
    out->events_per_s = (double)out->events / out->seconds;
    out->rows_per_s = (double)out->rows / out->seconds;
    bench_export_close(&run);
    return rv;
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The oldest applied message not committed yet: how long it has waited. */
static double bench_export_lag_ms(struct bench_export_run *run, uint64_t *messages)
{
    uint64_t committed = atomic_load(&run->consumer.committed_seq);
    *messages = run->seq > committed ? run->seq - committed : 0;
    if (*messages == 0)
        return 0;
    return (double)(clock_now_ns() - run->apply_ns[(committed + 1) % BENCH_EXPORT_TIMES]) / 1e6;
}

/* Messages paced at half the full rate of events; the lag sampled. */
static int bench_export_half(const char *url, double seconds, struct bench_export_figures *out,
                             char *errmsg, size_t size)
{
    static struct bench_export_run run;
    static double samples[BENCH_EXPORT_SAMPLES];
    uint32_t count = 0;
    int rv = bench_export_open(&run, url, errmsg, size);
    if (rv == 0)
        rv = bench_export_drain(&run);
    double events_per_message = (double)out->events / (double)out->messages;
    out->half_events_per_s = out->events_per_s / 2;
    double interval_ns = events_per_message / out->half_events_per_s * 1e9;
    uint64_t start_ns = clock_now_ns();
    uint64_t sent = 0;
    uint64_t sample_ns = start_ns;
    while (rv == 0 && (double)(clock_now_ns() - start_ns) < seconds * 1e9) {
        uint64_t now_ns = clock_now_ns();
        if ((double)(now_ns - start_ns) >= (double)sent * interval_ns) {
            rv = bench_export_message(&run);
            sent++;
        }
        if (now_ns >= sample_ns && count < BENCH_EXPORT_SAMPLES) {
            uint64_t messages = 0;
            samples[count++] = bench_export_lag_ms(&run, &messages);
            if (messages > out->lag_messages_max)
                out->lag_messages_max = messages;
            sample_ns = now_ns + 5000000;
        }
        clock_sleep_ms(1); /* no spinning: PostgreSQL needs the cores */
    }
    if (rv == 0)
        rv = bench_export_drain(&run);
    qsort(samples, count, sizeof samples[0], compare_double);
    if (count > 0) {
        out->lag_ms_p50 = samples[count / 2];
        out->lag_ms_p99 = samples[count * 99 / 100];
        out->lag_ms_max = samples[count - 1];
    }
    bench_export_close(&run);
    return rv;
}

int bench_export_measure(const char *pg_url, double seconds, struct bench_export_figures *out,
                         char *errmsg, size_t errmsg_size)
{
    memset(out, 0, sizeof *out);
    int rv = bench_export_full(pg_url, seconds, out, errmsg, errmsg_size);
    if (rv == 0 && out->events > 0)
        rv = bench_export_half(pg_url, seconds, out, errmsg, errmsg_size);
    return rv;
}

static void bench_export_usage(FILE *out)
{
    fprintf(out,
            "usage: nodown bench export --pg URL [--seconds N] [--json]\n"
            "  The PostgreSQL export's events/s into the database at URL (its export\n"
            "  tables are dropped first: give a database of its own), from a replica\n"
            "  applying a flow of orders that trade, for N seconds (default 5); then\n"
            "  its lag at half that rate for N seconds. bench/pg/with_pg.sh export starts\n"
            "  a throw-away PostgreSQL 15 and runs it.\n");
}

int bench_export_main(int argc, char **argv)
{
    const char *url = NULL;
    double seconds = 5;
    bool json = false;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            bench_export_usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else if (strcmp(argv[i], "--pg") == 0 && i + 1 < argc) {
            url = argv[++i];
        } else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
            seconds = strtod(argv[++i], NULL);
        } else {
            fprintf(stderr, "nodown bench export: bad option '%s'\n", argv[i]);
            bench_export_usage(stderr);
            return 2;
        }
    }
    if (url == NULL || seconds <= 0 || seconds > 600) {
        fprintf(stderr, "nodown bench export: give --pg URL (and --seconds from 0 to 600)\n");
        return 2;
    }
    struct bench_export_figures f;
    char errmsg[512] = "";
    if (bench_export_measure(url, seconds, &f, errmsg, sizeof errmsg) != 0) {
        fprintf(stderr, "nodown bench export: %s\n", errmsg);
        return 1;
    }
    if (json)
        printf("{\"bench\":\"export\",\"seconds\":%.2f,\"messages\":%" PRIu64 ",\"events\":%"
               PRIu64 ",\"rows\":%" PRIu64 ",\"events_per_s\":%.0f,\"rows_per_s\":%.0f,"
               "\"half_load\":{\"events_per_s\":%.0f,\"lag_ms\":{\"p50\":%.1f,\"p99\":%.1f,"
               "\"max\":%.1f},\"lag_messages_max\":%" PRIu64 "}}\n", f.seconds, f.messages,
               f.events, f.rows, f.events_per_s, f.rows_per_s, f.half_events_per_s,
               f.lag_ms_p50, f.lag_ms_p99, f.lag_ms_max, f.lag_messages_max);
    else
        printf("export: %.0f events/s (%.0f rows/s) over %.1f s; at half load (%.0f events/s) "
               "lag p50 %.1f ms, p99 %.1f ms, max %.1f ms\n", f.events_per_s, f.rows_per_s,
               f.seconds, f.half_events_per_s, f.lag_ms_p50, f.lag_ms_p99, f.lag_ms_max);
    return 0;
}
