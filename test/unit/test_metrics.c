/* Tests of a node's metrics (src/gateway/metrics.h): the exact Prometheus
 * text for a set of values, written out by hand here (help texts and all),
 * so a renamed metric, a changed help, a missing line or a wrong bucket
 * fails; inclusive bucket bounds and the +Inf bucket; the capacity error;
 * and renders racing with one writer thread, which must always show
 * le="+Inf" equal to _count and counters that never go down; and renders
 * that see one instant: a writer's group of updates whole or not at all.
 */
#include <pthread.h>
#include <stdatomic.h>

#include "core/result.h"
#include "gateway/metrics.h"
#include "test.h"

static void metrics_set_example(struct node_metrics *m)
{
    metrics_init(m);
    metrics_counter_add(&m->commands_applied_total, 1000);
    metrics_counter_add(&m->commands_applied_total, 234);
    metrics_counter_add(&m->orders_total, 1000);
    metrics_counter_add(&m->batches_applied_total, 3);
    metrics_histogram_observe(&m->apply_latency_us, 1);
    metrics_histogram_observe(&m->apply_latency_us, 7);
    metrics_histogram_observe(&m->apply_latency_us, 15000);
    metrics_histogram_observe(&m->batch_commands, 1);
    metrics_histogram_observe(&m->batch_commands, 3);
    metrics_histogram_observe(&m->batch_commands, 1230);
    metrics_histogram_observe(&m->publish_latency_us, 700);
    metrics_histogram_observe(&m->publish_latency_us, 30000);
    metrics_gauge_raise(&m->batches_in_flight_max, 3);
    metrics_gauge_set(&m->stream_lag, 7);
    metrics_gauge_set(&m->applied_seq, 3);
    metrics_gauge_raise(&m->snapshot_pause_us_max, 100);
    metrics_gauge_raise(&m->snapshot_pause_us_max, 250);
    metrics_gauge_raise(&m->snapshot_pause_us_max, 200);
    metrics_gauge_set(&m->snapshot_bytes, 65536);
    metrics_counter_add(&m->nats_restarts_total, 1);
    metrics_gauge_set(&m->state_sessions, 94);
    metrics_gauge_set(&m->state_sessions_max, 65536);
    metrics_gauge_set(&m->sessions_connected, 2);
}

static const char example_text[] =
    "# HELP nodown_commands_applied_total Commands applied to the state machine by this node,"
    " accepted or rejected.\n"
    "# TYPE nodown_commands_applied_total counter\n"
    "nodown_commands_applied_total 1234\n"
    "# HELP nodown_orders_total Orders and bets placed (order place and bet place commands)"
    " applied by this node.\n"
    "# TYPE nodown_orders_total counter\n"
    "nodown_orders_total 1000\n"
    "# HELP nodown_batches_applied_total Batches (stream messages) applied by this node.\n"
    "# TYPE nodown_batches_applied_total counter\n"
    "nodown_batches_applied_total 3\n"
    "# HELP nodown_apply_latency_us Time to apply one batch to the state machine, in"
    " microseconds.\n"
    "# TYPE nodown_apply_latency_us histogram\n"
    "nodown_apply_latency_us_bucket{le=\"1\"} 1\n"
    "nodown_apply_latency_us_bucket{le=\"2\"} 1\n"
    "nodown_apply_latency_us_bucket{le=\"5\"} 1\n"
    "nodown_apply_latency_us_bucket{le=\"10\"} 2\n"
    "nodown_apply_latency_us_bucket{le=\"20\"} 2\n"
    "nodown_apply_latency_us_bucket{le=\"50\"} 2\n"
    "nodown_apply_latency_us_bucket{le=\"100\"} 2\n"
    "nodown_apply_latency_us_bucket{le=\"200\"} 2\n"
    "nodown_apply_latency_us_bucket{le=\"500\"} 2\n"
    "nodown_apply_latency_us_bucket{le=\"1000\"} 2\n"
    "nodown_apply_latency_us_bucket{le=\"2000\"} 2\n"
    "nodown_apply_latency_us_bucket{le=\"5000\"} 2\n"
    "nodown_apply_latency_us_bucket{le=\"10000\"} 2\n"
    "nodown_apply_latency_us_bucket{le=\"+Inf\"} 3\n"
    "nodown_apply_latency_us_sum 15008\n"
    "nodown_apply_latency_us_count 3\n"
    "# HELP nodown_batch_commands Commands in each applied batch.\n"
    "# TYPE nodown_batch_commands histogram\n"
    "nodown_batch_commands_bucket{le=\"1\"} 1\n"
    "nodown_batch_commands_bucket{le=\"2\"} 1\n"
    "nodown_batch_commands_bucket{le=\"4\"} 2\n"
    "nodown_batch_commands_bucket{le=\"8\"} 2\n"
    "nodown_batch_commands_bucket{le=\"16\"} 2\n"
    "nodown_batch_commands_bucket{le=\"32\"} 2\n"
    "nodown_batch_commands_bucket{le=\"64\"} 2\n"
    "nodown_batch_commands_bucket{le=\"128\"} 2\n"
    "nodown_batch_commands_bucket{le=\"256\"} 2\n"
    "nodown_batch_commands_bucket{le=\"512\"} 2\n"
    "nodown_batch_commands_bucket{le=\"1024\"} 2\n"
    "nodown_batch_commands_bucket{le=\"2048\"} 3\n"
    "nodown_batch_commands_bucket{le=\"4096\"} 3\n"
    "nodown_batch_commands_bucket{le=\"+Inf\"} 3\n"
    "nodown_batch_commands_sum 1234\n"
    "nodown_batch_commands_count 3\n"
    "# HELP nodown_publish_latency_us Time from handing a batch to the publisher to the"
    " stream's acknowledgement, in microseconds (a disk sync included with durability"
    " always).\n"
    "# TYPE nodown_publish_latency_us histogram\n"
    "nodown_publish_latency_us_bucket{le=\"50\"} 0\n"
    "nodown_publish_latency_us_bucket{le=\"100\"} 0\n"
    "nodown_publish_latency_us_bucket{le=\"200\"} 0\n"
    "nodown_publish_latency_us_bucket{le=\"500\"} 0\n"
    "nodown_publish_latency_us_bucket{le=\"1000\"} 1\n"
    "nodown_publish_latency_us_bucket{le=\"2000\"} 1\n"
    "nodown_publish_latency_us_bucket{le=\"5000\"} 1\n"
    "nodown_publish_latency_us_bucket{le=\"10000\"} 1\n"
    "nodown_publish_latency_us_bucket{le=\"20000\"} 1\n"
    "nodown_publish_latency_us_bucket{le=\"50000\"} 2\n"
    "nodown_publish_latency_us_bucket{le=\"100000\"} 2\n"
    "nodown_publish_latency_us_bucket{le=\"200000\"} 2\n"
    "nodown_publish_latency_us_bucket{le=\"1000000\"} 2\n"
    "nodown_publish_latency_us_bucket{le=\"+Inf\"} 2\n"
    "nodown_publish_latency_us_sum 30700\n"
    "nodown_publish_latency_us_count 2\n"
    "# HELP nodown_stream_lag Stream messages not yet applied: the stream's last sequence"
    " minus the applied one.\n"
    "# TYPE nodown_stream_lag gauge\n"
    "nodown_stream_lag 7\n"
    "# HELP nodown_applied_seq Stream sequence of the last batch applied by this node.\n"
    "# TYPE nodown_applied_seq gauge\n"
    "nodown_applied_seq 3\n"
    "# HELP nodown_snapshot_pause_us_max Longest pause of the apply loop to take a snapshot"
    " since start, in microseconds.\n"
    "# TYPE nodown_snapshot_pause_us_max gauge\n"
    "nodown_snapshot_pause_us_max 250\n"
    "# HELP nodown_snapshot_bytes Size of the latest snapshot written, in bytes.\n"
    "# TYPE nodown_snapshot_bytes gauge\n"
    "nodown_snapshot_bytes 65536\n"
    "# HELP nodown_nats_restarts_total Times this node restarted the nats-server it"
    " supervises.\n"
    "# TYPE nodown_nats_restarts_total counter\n"
    "nodown_nats_restarts_total 1\n"
    "# HELP nodown_batches_in_flight_max Most batches this node's gateway had being"
    " published at once since start.\n"
    "# TYPE nodown_batches_in_flight_max gauge\n"
    "nodown_batches_in_flight_max 3\n"
    "# HELP nodown_sessions_connected Client sessions connected to this node's gateway.\n"
    "# TYPE nodown_sessions_connected gauge\n"
    "nodown_sessions_connected 2\n"
    "# HELP nodown_clients_disconnected_slow_total Client sessions disconnected because they"
    " did not read their replies fast enough.\n"
    "# TYPE nodown_clients_disconnected_slow_total counter\n"
    "nodown_clients_disconnected_slow_total 0\n"
    "# HELP nodown_logons_failed_wrong_secret_total Logons refused because the secret was"
    " wrong.\n"
    "# TYPE nodown_logons_failed_wrong_secret_total counter\n"
    "nodown_logons_failed_wrong_secret_total 0\n"
    "# HELP nodown_logons_failed_unknown_account_total Logons refused because the account does"
    " not exist or has no secret.\n"
    "# TYPE nodown_logons_failed_unknown_account_total counter\n"
    "nodown_logons_failed_unknown_account_total 0\n"
    "# HELP nodown_logons_failed_source_busy_total Logons refused unchecked: their address had"
    " its share of the logon checker.\n"
    "# TYPE nodown_logons_failed_source_busy_total counter\n"
    "nodown_logons_failed_source_busy_total 0\n"
    "# HELP nodown_logons_failed_checker_full_total Logons refused unchecked: the logon"
    " checker's queue was full.\n"
    "# TYPE nodown_logons_failed_checker_full_total counter\n"
    "nodown_logons_failed_checker_full_total 0\n"
    "# HELP nodown_connections_refused_per_address_total Client connections closed at once:"
    " their source address had its most open.\n"
    "# TYPE nodown_connections_refused_per_address_total counter\n"
    "nodown_connections_refused_per_address_total 0\n"
    "# HELP nodown_connections_refused_full_total Client connections closed at once: the node"
    " had its most connections open.\n"
    "# TYPE nodown_connections_refused_full_total counter\n"
    "nodown_connections_refused_full_total 0\n"
    "# HELP nodown_connections_timed_out_handshake_total Client connections closed for not"
    " logging on within the handshake deadline.\n"
    "# TYPE nodown_connections_timed_out_handshake_total counter\n"
    "nodown_connections_timed_out_handshake_total 0\n"
    "# HELP nodown_connections_timed_out_frame_total Client connections closed for a frame not"
    " whole within the frame deadline.\n"
    "# TYPE nodown_connections_timed_out_frame_total counter\n"
    "nodown_connections_timed_out_frame_total 0\n"
    "# HELP nodown_connections_timed_out_heartbeat_total Logged-on client connections closed"
    " for not answering a heartbeat PING.\n"
    "# TYPE nodown_connections_timed_out_heartbeat_total counter\n"
    "nodown_connections_timed_out_heartbeat_total 0\n"
    "# HELP nodown_state_sessions Exactly-once sessions, one per (account, client id), the"
    " state holds.\n"
    "# TYPE nodown_state_sessions gauge\n"
    "nodown_state_sessions 94\n"
    "# HELP nodown_state_sessions_max Sessions the state's table holds at most.\n"
    "# TYPE nodown_state_sessions_max gauge\n"
    "nodown_state_sessions_max 65536\n"
    "# HELP nodown_archive_seq Stream sequence of the last message the history archive"
    " stored.\n"
    "# TYPE nodown_archive_seq gauge\n"
    "nodown_archive_seq 0\n"
    "# HELP nodown_archive_lag Stream messages applied by this node and not yet stored by its"
    " history archive.\n"
    "# TYPE nodown_archive_lag gauge\n"
    "nodown_archive_lag 0\n"
    "# HELP nodown_archive_events_total Events the history archive stored since start.\n"
    "# TYPE nodown_archive_events_total counter\n"
    "nodown_archive_events_total 0\n"
    "# HELP nodown_export_seq Stream sequence of the last message the PostgreSQL export"
    " committed.\n"
    "# TYPE nodown_export_seq gauge\n"
    "nodown_export_seq 0\n"
    "# HELP nodown_export_lag Stream messages applied by this node and not yet committed by"
    " its PostgreSQL export.\n"
    "# TYPE nodown_export_lag gauge\n"
    "nodown_export_lag 0\n"
    "# HELP nodown_export_events_total Events the PostgreSQL export committed since start.\n"
    "# TYPE nodown_export_events_total counter\n"
    "nodown_export_events_total 0\n"
    "# HELP nodown_feed_stall_us Time the apply loop waited for the archive or the export to"
    " make room since start, in microseconds.\n"
    "# TYPE nodown_feed_stall_us gauge\n"
    "nodown_feed_stall_us 0\n";

static struct node_metrics metrics;
static char text[METRICS_RENDER_SIZE_MAX];

TEST(render_exact_text)
{
    metrics_set_example(&metrics);
    size_t length = 12345;
    CHECK_EQ_I64(metrics_render(&metrics, text, sizeof(text), &length), 0);
    CHECK_EQ_I64(length, strlen(example_text));
    CHECK_EQ_I64(strlen(text), length);
    CHECK_STR(text, example_text);
    /* The callback form renders the same bytes. */
    static char again[METRICS_RENDER_SIZE_MAX];
    size_t again_length = 0;
    CHECK_EQ_I64(metrics_render_cb(&metrics, again, sizeof(again), &again_length), 0);
    CHECK_EQ_I64(again_length, length);
    CHECK(memcmp(again, text, length) == 0);
}

TEST(render_zero_and_negative)
{
    metrics_init(&metrics);
    metrics_gauge_set(&metrics.stream_lag, -5);
    size_t length = 0;
    CHECK_EQ_I64(metrics_render(&metrics, text, sizeof(text), &length), 0);
    CHECK(strstr(text, "\nnodown_stream_lag -5\n") != NULL);
    CHECK(strstr(text, "\nnodown_commands_applied_total 0\n") != NULL);
    CHECK(strstr(text, "\nnodown_apply_latency_us_bucket{le=\"+Inf\"} 0\n") != NULL);
    CHECK(strstr(text, "\nnodown_apply_latency_us_sum 0\n") != NULL);
    CHECK(strstr(text, "\nnodown_apply_latency_us_count 0\n") != NULL);
    /* Twenty-five metrics: a HELP line and a TYPE line each. */
    int help_count = 0;
    int type_count = 0;
    for (const char *p = text; (p = strstr(p, "# HELP ")) != NULL; p++)
        help_count++;
    for (const char *p = text; (p = strstr(p, "# TYPE ")) != NULL; p++)
        type_count++;
    CHECK_EQ_I64(help_count, 32);
    CHECK_EQ_I64(type_count, 32);
    CHECK_EQ_I64(text[length - 1], '\n');
}

TEST(gauge_raise_keeps_the_largest)
{
    metrics_init(&metrics);
    metrics_gauge_raise(&metrics.snapshot_pause_us_max, 40);
    CHECK_EQ_I64(metrics_gauge_get(&metrics.snapshot_pause_us_max), 40);
    metrics_gauge_raise(&metrics.snapshot_pause_us_max, 39);
    CHECK_EQ_I64(metrics_gauge_get(&metrics.snapshot_pause_us_max), 40);
    metrics_gauge_raise(&metrics.snapshot_pause_us_max, 41);
    CHECK_EQ_I64(metrics_gauge_get(&metrics.snapshot_pause_us_max), 41);
    metrics_gauge_set(&metrics.snapshot_pause_us_max, 3);
    CHECK_EQ_I64(metrics_gauge_get(&metrics.snapshot_pause_us_max), 3);
}

TEST(histogram_bounds_are_inclusive)
{
    metrics_init(&metrics);
    struct metrics_histogram *h = &metrics.apply_latency_us;
    CHECK_EQ_I64(h->bound_count, 13);
    /* 0 and 1 -> le 1; 2 -> le 2; 3 and 5 -> le 5; 10000 -> le 10000;
     * 10001 and UINT64_MAX / 2 -> +Inf. */
    const uint64_t values[] = { 0, 1, 2, 3, 5, 10000, 10001, UINT64_MAX / 2 };
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++)
        metrics_histogram_observe(h, values[i]);
    CHECK_EQ_I64(metrics_histogram_bucket_get(h, 0), 2);
    CHECK_EQ_I64(metrics_histogram_bucket_get(h, 1), 1);
    CHECK_EQ_I64(metrics_histogram_bucket_get(h, 2), 2);
    for (uint32_t i = 3; i < 12; i++)
        CHECK_EQ_I64(metrics_histogram_bucket_get(h, i), 0);
    CHECK_EQ_I64(metrics_histogram_bucket_get(h, 12), 1);
    CHECK_EQ_I64(metrics_histogram_bucket_get(h, 13), 2);
    CHECK(metrics_histogram_sum_get(h) == UINT64_MAX / 2 + 20012);
    size_t length = 0;
    CHECK_EQ_I64(metrics_render(&metrics, text, sizeof(text), &length), 0);
    CHECK(strstr(text, "\nnodown_apply_latency_us_bucket{le=\"1\"} 2\n") != NULL);
    CHECK(strstr(text, "\nnodown_apply_latency_us_bucket{le=\"2\"} 3\n") != NULL);
    CHECK(strstr(text, "\nnodown_apply_latency_us_bucket{le=\"5\"} 5\n") != NULL);
    CHECK(strstr(text, "\nnodown_apply_latency_us_bucket{le=\"5000\"} 5\n") != NULL);
    CHECK(strstr(text, "\nnodown_apply_latency_us_bucket{le=\"10000\"} 6\n") != NULL);
    CHECK(strstr(text, "\nnodown_apply_latency_us_bucket{le=\"+Inf\"} 8\n") != NULL);
    CHECK(strstr(text, "\nnodown_apply_latency_us_sum 9223372036854795819\n") != NULL);
    CHECK(strstr(text, "\nnodown_apply_latency_us_count 8\n") != NULL);
}

TEST(batch_histogram_powers_of_two)
{
    metrics_init(&metrics);
    struct metrics_histogram *h = &metrics.batch_commands;
    CHECK_EQ_I64(h->bound_count, 13);
    CHECK_EQ_I64(h->bounds[0], 1);
    CHECK_EQ_I64(h->bounds[12], 4096);
    metrics_histogram_observe(h, 4096);
    metrics_histogram_observe(h, 4097);
    metrics_histogram_observe(h, 65);
    CHECK_EQ_I64(metrics_histogram_bucket_get(h, 12), 1);
    CHECK_EQ_I64(metrics_histogram_bucket_get(h, 13), 1);
    CHECK_EQ_I64(metrics_histogram_bucket_get(h, 7), 1); /* le 128 */
    size_t length = 0;
    CHECK_EQ_I64(metrics_render(&metrics, text, sizeof(text), &length), 0);
    CHECK(strstr(text, "\nnodown_batch_commands_bucket{le=\"64\"} 0\n") != NULL);
    CHECK(strstr(text, "\nnodown_batch_commands_bucket{le=\"128\"} 1\n") != NULL);
    CHECK(strstr(text, "\nnodown_batch_commands_bucket{le=\"4096\"} 2\n") != NULL);
    CHECK(strstr(text, "\nnodown_batch_commands_bucket{le=\"+Inf\"} 3\n") != NULL);
    CHECK(strstr(text, "\nnodown_batch_commands_sum 8258\n") != NULL);
    CHECK(strstr(text, "\nnodown_batch_commands_count 3\n") != NULL);
}

TEST(render_capacity)
{
    metrics_set_example(&metrics);
    size_t needed = strlen(example_text);
    size_t length = 99;
    /* The text and its NUL fit exactly. */
    CHECK_EQ_I64(metrics_render(&metrics, text, needed + 1, &length), 0);
    CHECK_EQ_I64(length, needed);
    CHECK_STR(text, example_text);
    /* No room for the NUL, or less: an error, an empty text, length 0. */
    const size_t sizes[] = { needed, needed - 1, 100, 1 };
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        length = 99;
        memset(text, 'x', sizeof(text));
        CHECK_EQ_I64(metrics_render(&metrics, text, sizes[i], &length), ERR_CAPACITY);
        CHECK_EQ_I64(length, 0);
        CHECK_EQ_I64(text[0], '\0');
        CHECK_EQ_I64(text[sizes[i]], 'x'); /* nothing written past size */
    }
    length = 99;
    CHECK_EQ_I64(metrics_render(&metrics, text, 0, &length), ERR_CAPACITY);
    CHECK_EQ_I64(length, 0);
}

TEST(render_size_max_holds_the_widest_values)
{
    metrics_init(&metrics);
#define WIDEST_counter(name) metrics_counter_add(&metrics.name, UINT64_MAX);
#define WIDEST_gauge(name) metrics_gauge_set(&metrics.name, INT64_MIN);
#define WIDEST_histogram(name)                                                   \
    for (uint32_t i = 0; i <= metrics.name.bound_count; i++)                     \
        atomic_store(&metrics.name.bucket_counts[i], UINT64_MAX / 16);           \
    atomic_store(&metrics.name.sum, UINT64_MAX);
#define WIDEST(kind, name, help) WIDEST_##kind(name)
    NODE_METRICS(WIDEST)
#undef WIDEST
    size_t length = 0;
    CHECK_EQ_I64(metrics_render(&metrics, text, METRICS_RENDER_SIZE_MAX, &length), 0);
    CHECK(length < METRICS_RENDER_SIZE_MAX);
    CHECK(strstr(text, "\nnodown_stream_lag -9223372036854775808\n") != NULL);
    CHECK(strstr(text, "\nnodown_orders_total 18446744073709551615\n") != NULL);
}

/* ---- One writer, renders racing with it. ---- */

#define RACE_OBSERVATIONS 200000u

static atomic_int writer_done;

static void *race_writer(void *context)
{
    struct node_metrics *m = context;
    for (uint32_t i = 0; i < RACE_OBSERVATIONS; i++) {
        metrics_histogram_observe(&m->batch_commands, i % 5000);
        metrics_counter_add(&m->commands_applied_total, i % 5000);
        metrics_counter_add(&m->batches_applied_total, 1);
        metrics_gauge_set(&m->applied_seq, (int64_t)i + 1);
    }
    atomic_store(&writer_done, 1);
    return NULL;
}

static uint64_t value_after(const char *text_, const char *prefix)
{
    const char *p = strstr(text_, prefix);
    if (p == NULL)
        return UINT64_MAX;
    return strtoull(p + strlen(prefix), NULL, 10);
}

/* Fresh metrics and a writer thread running body on them. */
static int writer_start(pthread_t *writer, void *(*body)(void *))
{
    metrics_init(&metrics);
    atomic_store(&writer_done, 0);
    return pthread_create(writer, NULL, body, &metrics);
}

TEST(renders_race_one_writer)
{
    pthread_t writer;
    CHECK_EQ_I64(writer_start(&writer, race_writer), 0);
    uint64_t batches_before = 0;
    int renders = 0;
    int failed = 0;
    while (!atomic_load(&writer_done) || renders < 10) {
        size_t length = 0;
        if (metrics_render(&metrics, text, sizeof(text), &length) != 0) {
            failed = 1;
            break;
        }
        uint64_t infinity = value_after(text, "nodown_batch_commands_bucket{le=\"+Inf\"} ");
        uint64_t count = value_after(text, "nodown_batch_commands_count ");
        uint64_t batches = value_after(text, "nodown_batches_applied_total ");
        if (infinity != count || batches < batches_before || batches > RACE_OBSERVATIONS) {
            failed = 1;
            break;
        }
        batches_before = batches;
        renders++;
    }
    pthread_join(writer, NULL);
    CHECK_EQ_I64(failed, 0);
    CHECK_EQ_I64(metrics_counter_get(&metrics.batches_applied_total), RACE_OBSERVATIONS);
    CHECK_EQ_I64(metrics_gauge_get(&metrics.applied_seq), RACE_OBSERVATIONS);
    uint64_t total = 0;
    for (uint32_t i = 0; i <= metrics.batch_commands.bound_count; i++)
        total += metrics_histogram_bucket_get(&metrics.batch_commands, i);
    CHECK_EQ_I64(total, RACE_OBSERVATIONS);
}

/* ---- One instant: a group of updates is seen whole or not at all. ---- */

static void *group_writer(void *context)
{
    struct node_metrics *m = context;
    for (uint32_t i = 0; i < RACE_OBSERVATIONS; i++) {
        metrics_write_begin(m);
        metrics_histogram_observe(&m->apply_latency_us, i % 300);
        metrics_histogram_observe(&m->batch_commands, 3);
        metrics_counter_add(&m->batches_applied_total, 1);
        metrics_counter_add(&m->commands_applied_total, 3);
        metrics_gauge_set(&m->applied_seq, (int64_t)i + 1);
        metrics_write_end(m);
    }
    atomic_store(&writer_done, 1);
    return NULL;
}

TEST(renders_see_one_instant)
{
    pthread_t writer;
    CHECK_EQ_I64(writer_start(&writer, group_writer), 0);
    int renders = 0;
    char first_bad[256] = "";
    while (!atomic_load(&writer_done) || renders < 10) {
        size_t length = 0;
        if (metrics_render(&metrics, text, sizeof(text), &length) != 0)
            break;
        uint64_t batches = value_after(text, "\nnodown_batches_applied_total ");
        uint64_t commands = value_after(text, "\nnodown_commands_applied_total ");
        uint64_t seq = value_after(text, "\nnodown_applied_seq ");
        uint64_t latency_count = value_after(text, "\nnodown_apply_latency_us_count ");
        uint64_t batch_count = value_after(text, "\nnodown_batch_commands_count ");
        uint64_t batch_sum = value_after(text, "\nnodown_batch_commands_sum ");
        if (first_bad[0] == '\0' && (batches != seq || batches != latency_count ||
                                      batches != batch_count || commands != batch_sum ||
                                      commands != 3 * batches))
            snprintf(first_bad, sizeof first_bad, "render %d: batches %llu seq %llu counts %llu "
                     "%llu commands %llu sum %llu", renders, (unsigned long long)batches,
                     (unsigned long long)seq, (unsigned long long)latency_count,
                     (unsigned long long)batch_count, (unsigned long long)commands,
                     (unsigned long long)batch_sum);
        renders++;
    }
    pthread_join(writer, NULL);
    if (first_bad[0] != '\0')
        fprintf(stderr, "not one instant: %s\n", first_bad);
    CHECK(first_bad[0] == '\0');
    CHECK(renders >= 10);
}

TEST_MAIN()
