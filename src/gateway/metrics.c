/* A node's metrics and their Prometheus text rendering (see metrics.h for
 * the threading contract, docs/admin.md for each metric's meaning).
 *
 * The text format 0.0.4, for one counter and one histogram:
 *
 *     # HELP nodown_orders_total Orders and bets placed ...
 *     # TYPE nodown_orders_total counter
 *     nodown_orders_total 42
 *     # HELP nodown_batch_commands Commands in each applied batch.
 *     # TYPE nodown_batch_commands histogram
 *     nodown_batch_commands_bucket{le="1"} 3
 *     ...
 *     nodown_batch_commands_bucket{le="+Inf"} 9
 *     nodown_batch_commands_sum 812
 *     nodown_batch_commands_count 9
 *
 * Histogram buckets are cumulative on the wire (each counts every
 * observation <= its bound) but stored one count per bucket, so that an
 * observation is one relaxed store, not one per bucket above it.
 */
#include "gateway/metrics.h"

#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/result.h"

static const uint64_t apply_latency_bounds_us[METRICS_APPLY_LATENCY_BOUND_COUNT] = {
    1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000,
};

/* A publish waits for the server (and its disk): 50 us to 1 s. */
static const uint64_t publish_latency_bounds_us[METRICS_PUBLISH_LATENCY_BOUND_COUNT] = {
    50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000, 200000, 1000000,
};

static const uint64_t batch_commands_bounds[METRICS_BATCH_COMMANDS_BOUND_COUNT] = {
    1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096,
};

_Static_assert(METRICS_APPLY_LATENCY_BOUND_COUNT <= METRICS_BOUNDS_MAX, "latency bounds fit");
_Static_assert(METRICS_PUBLISH_LATENCY_BOUND_COUNT <= METRICS_BOUNDS_MAX, "publish bounds fit");
_Static_assert(METRICS_BATCH_COMMANDS_BOUND_COUNT <= METRICS_BOUNDS_MAX, "batch bounds fit");

static void histogram_check(const struct metrics_histogram *histogram)
{
    assert(histogram->bounds != NULL);
    assert(histogram->bound_count >= 1);
    assert(histogram->bound_count <= METRICS_BOUNDS_MAX);
    for (uint32_t i = 1; i < histogram->bound_count; i++)
        assert(histogram->bounds[i - 1] < histogram->bounds[i]);
}

static void histogram_init(struct metrics_histogram *histogram, const uint64_t *bounds,
                           uint32_t bound_count)
{
    histogram->bounds = bounds;
    histogram->bound_count = bound_count;
    for (uint32_t i = 0; i <= METRICS_BOUNDS_MAX; i++)
        atomic_init(&histogram->bucket_counts[i], 0);
    atomic_init(&histogram->sum, 0);
    histogram_check(histogram);
}

static void counter_init(struct metrics_counter *counter)
{
    atomic_init(&counter->value, 0);
}

static void gauge_init(struct metrics_gauge *gauge)
{
    atomic_init(&gauge->value, 0);
}

void metrics_init(struct node_metrics *metrics)
{
    assert(metrics != NULL);
    memset(metrics, 0, sizeof(*metrics));
    /* Each counter and gauge is zeroed; the histograms get their bounds
     * next, and any histogram added to NODE_METRICS without bounds trips
     * histogram_check (a NULL bounds pointer) below. */
#define METRICS_INIT_counter(name) counter_init(&metrics->name);
#define METRICS_INIT_gauge(name) gauge_init(&metrics->name);
#define METRICS_INIT_histogram(name) (void)0;
#define METRICS_INIT(kind, name, help) METRICS_INIT_##kind(name)
    NODE_METRICS(METRICS_INIT)
#undef METRICS_INIT
#undef METRICS_INIT_counter
#undef METRICS_INIT_gauge
#undef METRICS_INIT_histogram
    pthread_mutex_init(&metrics->lock, NULL);
    histogram_init(&metrics->apply_latency_us, apply_latency_bounds_us,
                   METRICS_APPLY_LATENCY_BOUND_COUNT);
    histogram_init(&metrics->batch_commands, batch_commands_bounds,
                   METRICS_BATCH_COMMANDS_BOUND_COUNT);
    histogram_init(&metrics->publish_latency_us, publish_latency_bounds_us,
                   METRICS_PUBLISH_LATENCY_BOUND_COUNT);
#define METRICS_CHECK_counter(name)
#define METRICS_CHECK_gauge(name)
#define METRICS_CHECK_histogram(name) histogram_check(&metrics->name);
#define METRICS_CHECK(kind, name, help) METRICS_CHECK_##kind(name)
    NODE_METRICS(METRICS_CHECK)
#undef METRICS_CHECK
#undef METRICS_CHECK_counter
#undef METRICS_CHECK_gauge
#undef METRICS_CHECK_histogram
}

/* ---- Updates: one writer, so a relaxed load and store (see metrics.h). ---- */

void metrics_write_begin(struct node_metrics *metrics)
{
    int rv = pthread_mutex_lock(&metrics->lock);
    assert(rv == 0);
    (void)rv;
}

void metrics_write_end(struct node_metrics *metrics)
{
    int rv = pthread_mutex_unlock(&metrics->lock);
    assert(rv == 0);
    (void)rv;
}

void metrics_counter_add(struct metrics_counter *counter, uint64_t amount)
{
    uint64_t value = atomic_load_explicit(&counter->value, memory_order_relaxed);
    atomic_store_explicit(&counter->value, value + amount, memory_order_relaxed);
}

void metrics_gauge_set(struct metrics_gauge *gauge, int64_t value)
{
    atomic_store_explicit(&gauge->value, value, memory_order_relaxed);
}

void metrics_gauge_raise(struct metrics_gauge *gauge, int64_t value)
{
    if (value > atomic_load_explicit(&gauge->value, memory_order_relaxed))
        atomic_store_explicit(&gauge->value, value, memory_order_relaxed);
}

void metrics_histogram_observe(struct metrics_histogram *histogram, uint64_t value)
{
    assert(histogram->bound_count >= 1);
    assert(histogram->bound_count <= METRICS_BOUNDS_MAX);
    /* At most 16 bounds: a linear scan is as fast as a binary search. */
    uint32_t bucket_index = 0;
    while (bucket_index < histogram->bound_count && value > histogram->bounds[bucket_index])
        bucket_index++;
    _Atomic uint64_t *bucket = &histogram->bucket_counts[bucket_index];
    atomic_store_explicit(bucket, atomic_load_explicit(bucket, memory_order_relaxed) + 1,
                          memory_order_relaxed);
    uint64_t sum = atomic_load_explicit(&histogram->sum, memory_order_relaxed);
    atomic_store_explicit(&histogram->sum, sum + value, memory_order_relaxed);
}

/* ---- Reads, from any thread. ---- */

uint64_t metrics_counter_get(const struct metrics_counter *counter)
{
    return atomic_load_explicit(&counter->value, memory_order_relaxed);
}

int64_t metrics_gauge_get(const struct metrics_gauge *gauge)
{
    return atomic_load_explicit(&gauge->value, memory_order_relaxed);
}

uint64_t metrics_histogram_bucket_get(const struct metrics_histogram *histogram,
                                      uint32_t bucket_index)
{
    assert(bucket_index <= histogram->bound_count);
    return atomic_load_explicit(&histogram->bucket_counts[bucket_index], memory_order_relaxed);
}

uint64_t metrics_histogram_sum_get(const struct metrics_histogram *histogram)
{
    return atomic_load_explicit(&histogram->sum, memory_order_relaxed);
}

/* ---- Rendering. ---- */

/* Appends to a fixed buffer; once something does not fit, every later
 * append is dropped and full stays set. */
struct render {
    char *buffer;
    size_t size;
    size_t used;
    int full;
};

static void render_printf(struct render *render, const char *format, ...)
{
    assert(render->used <= render->size);
    if (render->full)
        return;
    va_list args;
    va_start(args, format);
    size_t room = render->size - render->used;
    int written = vsnprintf(render->buffer + render->used, room, format, args);
    va_end(args);
    assert(written >= 0);
    /* vsnprintf needs room for the NUL too: written == room is too small. */
    if ((size_t)written >= room) {
        render->full = 1;
        return;
    }
    render->used += (size_t)written;
}

static void render_header(struct render *render, const char *name, const char *help,
                          const char *type)
{
    /* 0.0.4 escapes backslash and newline in help text; ours has neither. */
    assert(strchr(help, '\\') == NULL);
    assert(strchr(help, '\n') == NULL);
    render_printf(render, "# HELP nodown_%s %s\n# TYPE nodown_%s %s\n", name, help, name, type);
}

static void render_counter(struct render *render, const char *name, const char *help,
                           const struct metrics_counter *counter)
{
    render_header(render, name, help, "counter");
    render_printf(render, "nodown_%s %" PRIu64 "\n", name, metrics_counter_get(counter));
}

static void render_gauge(struct render *render, const char *name, const char *help,
                         const struct metrics_gauge *gauge)
{
    render_header(render, name, help, "gauge");
    render_printf(render, "nodown_%s %" PRId64 "\n", name, metrics_gauge_get(gauge));
}

static void render_histogram(struct render *render, const char *name, const char *help,
                             const struct metrics_histogram *histogram)
{
    histogram_check(histogram);
    render_header(render, name, help, "histogram");
    uint64_t cumulative = 0;
    for (uint32_t i = 0; i < histogram->bound_count; i++) {
        cumulative += metrics_histogram_bucket_get(histogram, i);
        render_printf(render, "nodown_%s_bucket{le=\"%" PRIu64 "\"} %" PRIu64 "\n", name,
                      histogram->bounds[i], cumulative);
    }
    cumulative += metrics_histogram_bucket_get(histogram, histogram->bound_count);
    render_printf(render, "nodown_%s_bucket{le=\"+Inf\"} %" PRIu64 "\n", name, cumulative);
    render_printf(render, "nodown_%s_sum %" PRIu64 "\n", name,
                  metrics_histogram_sum_get(histogram));
    render_printf(render, "nodown_%s_count %" PRIu64 "\n", name, cumulative);
}

static void copy_counter(struct metrics_counter *to, const struct metrics_counter *from)
{
    atomic_init(&to->value, metrics_counter_get(from));
}

static void copy_gauge(struct metrics_gauge *to, const struct metrics_gauge *from)
{
    atomic_init(&to->value, metrics_gauge_get(from));
}

static void copy_histogram(struct metrics_histogram *to, const struct metrics_histogram *from)
{
    to->bounds = from->bounds;
    to->bound_count = from->bound_count;
    for (uint32_t i = 0; i <= METRICS_BOUNDS_MAX; i++)
        atomic_init(&to->bucket_counts[i], i <= from->bound_count
                                               ? metrics_histogram_bucket_get(from, i) : 0);
    atomic_init(&to->sum, metrics_histogram_sum_get(from));
}

/* Every value at one instant: between two of the writer's groups. */
static void metrics_copy(const struct node_metrics *metrics, struct node_metrics *copy)
{
    pthread_mutex_t *lock = (pthread_mutex_t *)&metrics->lock; /* a read, but it locks */
    int rv = pthread_mutex_lock(lock);
    assert(rv == 0);
#define METRICS_COPY(kind, name, help) copy_##kind(&copy->name, &metrics->name);
    NODE_METRICS(METRICS_COPY)
#undef METRICS_COPY
    rv = pthread_mutex_unlock(lock);
    assert(rv == 0);
    (void)rv;
}

int metrics_render(const struct node_metrics *metrics, char *buffer, size_t size,
                   size_t *length)
{
    assert(metrics != NULL);
    assert(length != NULL);
    *length = 0;
    if (buffer == NULL || size == 0)
        return ERR_CAPACITY;
    struct node_metrics copy;
    metrics_copy(metrics, &copy);
    struct render render = { .buffer = buffer, .size = size, .used = 0, .full = 0 };
#define METRICS_RENDER(kind, name, help) render_##kind(&render, #name, help, &copy.name);
    NODE_METRICS(METRICS_RENDER)
#undef METRICS_RENDER
    if (render.full) {
        buffer[0] = '\0';
        return ERR_CAPACITY;
    }
    assert(render.used < size);
    assert(buffer[render.used] == '\0');
    *length = render.used;
    return 0;
}

int metrics_render_cb(void *context, char *buffer, size_t size, size_t *length)
{
    return metrics_render((const struct node_metrics *)context, buffer, size, length);
}
