/* The feed: rings of applied records, one per consumer (feed.h). */
#include "replica/feed.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/account.h"
#include "core/result.h"
#include "core/state.h"
#include "lib/clock.h"
#include "lib/mem.h"
#include "lib/sort.h"

_Static_assert((FEED_RING_RECORDS & (FEED_RING_RECORDS - 1)) == 0, "a power of two");

static void feed_sleep_us(long microseconds)
{
    struct timespec pause = {.tv_sec = 0, .tv_nsec = microseconds * 1000L};
    nanosleep(&pause, NULL);
}

int feed_consumer_init(struct feed_consumer *consumer, const char *name, uint64_t position)
{
    memset(consumer, 0, sizeof *consumer);
    snprintf(consumer->name, sizeof consumer->name, "%s", name);
    consumer->records = mem_array_alloc(FEED_RING_RECORDS, sizeof *consumer->records);
    if (consumer->records == NULL)
        return ERR_NOMEM;
    consumer->resume_after = position;
    atomic_store(&consumer->committed_seq, position);
    atomic_store(&consumer->offered_seq, position);
    return 0;
}

void feed_consumer_free(struct feed_consumer *consumer)
{
    mem_free(consumer->records);
    consumer->records = NULL;
}

uint32_t feed_consumer_read(struct feed_consumer *consumer, struct feed_record *out, uint32_t max,
                            uint32_t wait_ms)
{
    uint64_t tail = atomic_load_explicit(&consumer->tail, memory_order_relaxed);
    uint64_t head = atomic_load_explicit(&consumer->head, memory_order_acquire);
    for (uint32_t waited_ms = 0; head == tail && waited_ms < wait_ms; waited_ms++) {
        feed_sleep_us(1000);
        head = atomic_load_explicit(&consumer->head, memory_order_acquire);
    }
    uint32_t count = 0;
    while (count < max && tail + count < head) {
        out[count] = consumer->records[(tail + count) & (FEED_RING_RECORDS - 1)];
        count++;
    }
    atomic_store_explicit(&consumer->tail, tail + count, memory_order_release);
    return count;
}

void feed_consumer_committed(struct feed_consumer *consumer, uint64_t stream_seq)
{
    assert(stream_seq >= atomic_load(&consumer->committed_seq));
    atomic_store(&consumer->committed_seq, stream_seq);
}

uint64_t feed_consumer_lag(const struct feed_consumer *consumer)
{
    uint64_t offered = atomic_load(&consumer->offered_seq);
    uint64_t committed = atomic_load(&consumer->committed_seq);
    return offered > committed ? offered - committed : 0;
}

int feed_init(struct feed *feed, const struct limits *limits)
{
    memset(feed, 0, sizeof *feed);
    feed->accounts_max = limits->accounts_max;
    feed->touched = mem_array_alloc(limits->accounts_max, sizeof *feed->touched);
    feed->touched_mark = mem_array_alloc(limits->accounts_max, sizeof *feed->touched_mark);
    if (feed->touched == NULL || feed->touched_mark == NULL)
        return ERR_NOMEM;
    memset(feed->touched_mark, 0, limits->accounts_max * sizeof *feed->touched_mark);
    return 0;
}

void feed_free(struct feed *feed)
{
    mem_free(feed->touched);
    mem_free(feed->touched_mark);
    memset(feed, 0, sizeof *feed);
}

void feed_add(struct feed *feed, struct feed_consumer *consumer)
{
    assert(feed->count < FEED_CONSUMERS_MAX);
    feed->consumers[feed->count++] = consumer;
}

uint64_t feed_floor_seq(const struct feed *feed)
{
    uint64_t floor = UINT64_MAX;
    for (uint32_t i = 0; i < feed->count; i++) {
        uint64_t committed = atomic_load(&feed->consumers[i]->committed_seq);
        if (committed < floor)
            floor = committed;
    }
    return floor;
}

/* The apply loop: one record into one ring, waiting while it is full. */
static void feed_push(struct feed_consumer *consumer, const struct feed_record *record)
{
    if (record->stream_seq <= consumer->resume_after)
        return;
    uint64_t head = atomic_load_explicit(&consumer->head, memory_order_relaxed);
    if (head - atomic_load_explicit(&consumer->tail, memory_order_acquire) >= FEED_RING_RECORDS) {
        uint64_t start_ns = clock_now_ns();
        while (head - atomic_load_explicit(&consumer->tail, memory_order_acquire) >=
               FEED_RING_RECORDS)
            feed_sleep_us(50);
        atomic_fetch_add(&consumer->stall_ns, clock_now_ns() - start_ns);
    }
    consumer->records[head & (FEED_RING_RECORDS - 1)] = *record;
    atomic_store_explicit(&consumer->head, head + 1, memory_order_release);
}

static void feed_push_all(struct feed *feed, const struct feed_record *record)
{
    for (uint32_t i = 0; i < feed->count; i++)
        feed_push(feed->consumers[i], record);
}

static void feed_record_start(const struct feed *feed, struct feed_record *record, uint16_t kind,
                              uint16_t index)
{
    record->stream_seq = feed->stream_seq;
    record->time_ns = feed->time_ns;
    record->kind = kind;
    record->index = index;
    record->logic_version = 0;
}

void feed_batch_begin(struct feed *feed, const struct engine *engine, uint64_t stream_seq,
                      uint64_t time_ns, uint32_t command_count, uint32_t logic_version)
{
    feed->engine = engine;
    feed->stream_seq = stream_seq;
    feed->time_ns = time_ns;
    feed->command_index = 0;
    feed->touched_count = 0;
    if (++feed->touched_epoch == 0) { /* wrapped: every mark is stale */
        memset(feed->touched_mark, 0, feed->accounts_max * sizeof *feed->touched_mark);
        feed->touched_epoch = 1;
    }
    struct feed_record record;
    feed_record_start(feed, &record, FEED_BATCH, FEED_INDEX_NONE);
    record.logic_version = logic_version;
    record.u.batch.command_count = command_count;
    feed_push_all(feed, &record);
}

static void feed_touch(struct feed *feed, uint32_t account_id)
{
    if (account_id >= feed->accounts_max || feed->touched_mark[account_id] == feed->touched_epoch)
        return;
    feed->touched_mark[account_id] = feed->touched_epoch;
    feed->touched[feed->touched_count++] = account_id;
}

void feed_command_begin(void *context, uint32_t index)
{
    struct feed *feed = context;
    feed->command_index = index;
}

/* The accounts whose figures a command's event may have moved: its
 * account, a trade's maker and the house (fees), and up the tree from a
 * bet (positions taken, settlement, commission). */
static void feed_touch_chain(struct feed *feed, const struct engine *engine, uint32_t id);

void feed_event(void *context, const struct event *event)
{
    struct feed *feed = context;
    struct feed_record record;
    feed_record_start(feed, &record, FEED_EVENT, (uint16_t)feed->command_index);
    record.logic_version = feed->engine->logic_version;
    record.u.event = *event;
    feed_push_all(feed, &record);
    switch (event->type) {
    case EVENT_TRADE:
        feed_touch(feed, event->account_id);
        feed_touch(feed, event->u.trade.maker_account_id);
        feed_touch(feed, ACCOUNT_HOUSE_ID);
        break;
    case EVENT_BET_ACCEPTED:
    case EVENT_BET_SETTLED:
    case EVENT_COMMISSION:
        feed_touch_chain(feed, feed->engine, event->account_id);
        break;
    default:
        feed_touch(feed, event->account_id);
        break;
    }
}

void feed_command(struct feed *feed, uint32_t index, const struct command *command,
                  const struct outcome *outcome, uint32_t logic_version)
{
    struct feed_record record;
    feed_record_start(feed, &record, FEED_COMMAND, (uint16_t)index);
    record.logic_version = logic_version;
    record.u.command.command = *command;
    record.u.command.outcome = *outcome;
    feed_push_all(feed, &record);
    feed_touch(feed, command->sender_account_id);
    if (outcome->result != RESULT_OK || outcome->duplicate)
        return;
    /* Cash, credit and accounts move a parent's figures too. */
    if (command_names_account(command->type))
        feed_touch_chain(feed, feed->engine, command_account_id(command));
    if (command->type == COMMAND_ACCOUNT_CREATE)
        feed_touch(feed, (uint32_t)outcome->id);
}

static int feed_compare_ids(const void *context, uint32_t a, uint32_t b)
{
    (void)context;
    return (a > b) - (a < b);
}

static void feed_touch_chain(struct feed *feed, const struct engine *engine, uint32_t id)
{
    for (uint32_t depth = 0; id < engine->account_count && depth < 8; depth++) {
        feed_touch(feed, id);
        uint32_t parent = engine->accounts[id].parent_id;
        if (parent == id)
            break;
        id = parent;
    }
}

static struct feed_balance feed_balance_of(const struct engine *engine, uint32_t id)
{
    const struct account *account = &engine->accounts[id];
    return (struct feed_balance){
        .account_id = id, .parent_id = account->parent_id, .kind = account->kind,
        .status = account->status, .balance_minor = account->balance_minor,
        .credit_limit_minor = account->credit_limit_minor,
        .reserved_minor = account->reserved_minor, .stake_open_minor = account->stake_open_minor};
}

void feed_batch_end(struct feed *feed, const struct engine *engine)
{
    sort_indexes(feed->touched, feed->touched_count, feed_compare_ids, NULL);
    struct feed_record record;
    for (uint32_t i = 0; i < feed->touched_count; i++) {
        uint32_t id = feed->touched[i];
        if (id >= engine->account_count)
            continue;
        feed_record_start(feed, &record, FEED_BALANCE, FEED_INDEX_NONE);
        record.u.balance = feed_balance_of(engine, id);
        feed_push_all(feed, &record);
    }
    feed_record_start(feed, &record, FEED_BATCH_END, FEED_INDEX_NONE);
    record.logic_version = engine->logic_version;
    feed_push_all(feed, &record);
    for (uint32_t i = 0; i < feed->count; i++)
        if (feed->stream_seq > feed->consumers[i]->resume_after)
            atomic_store(&feed->consumers[i]->offered_seq, feed->stream_seq);
}
