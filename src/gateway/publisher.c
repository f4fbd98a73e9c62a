/* The publisher's threads and slots (see publisher.h). */
#include "gateway/publisher.h"

#include <assert.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/result.h"
#include "lib/clock.h"

enum publisher_state { PUBLISHER_IDLE, PUBLISHER_BUSY, PUBLISHER_DONE };

struct publisher_slot {
    struct publisher *publisher;
    uint32_t index;
    pthread_t thread;
    bool thread_started;
    pthread_cond_t changed;
    uint8_t *buffer;
    /* The loop's view, touched by the loop's thread only. */
    bool started;         /* started, result not collected */
    uint64_t batch;       /* the number of the batch started */
    /* Under the publisher's lock. */
    enum publisher_state state;
    size_t size;
    uint64_t start_ns;
    char msg_id[JOURNAL_MSG_ID_SIZE_MAX + 1];
    struct publisher_result result;
};

struct publisher {
    struct journal *journal;
    int timeout_ms;
    int wake_fd;
    publisher_publish_fn publish;
    void *publish_context;
    uint32_t slot_count;
    uint32_t in_flight;   /* the loop's count of started slots */
    pthread_mutex_t lock;
    bool stopping;        /* under lock */
    struct publisher_slot slots[PUBLISHER_SLOTS_MAX];
};

static int publisher_journal_publish(void *context, struct journal *journal, const void *data,
                                     size_t size, const char *msg_id, int timeout_ms,
                                     uint64_t *stream_seq, bool *duplicate)
{
    (void)context;
    return journal_publish(journal, data, size, msg_id, timeout_ms, stream_seq, duplicate);
}

/* One slot's thread: publishes its buffer each time the loop starts it. */
static void *publisher_slot_main(void *context)
{
    struct publisher_slot *slot = context;
    struct publisher *publisher = slot->publisher;
    pthread_mutex_lock(&publisher->lock);
    for (;;) {
        while (slot->state != PUBLISHER_BUSY && !publisher->stopping)
            pthread_cond_wait(&slot->changed, &publisher->lock);
        if (slot->state != PUBLISHER_BUSY)
            break; /* stopping, and nothing under way */
        pthread_mutex_unlock(&publisher->lock);
        /* Only this thread touches the buffer, msg_id and result while BUSY. */
        struct publisher_result *result = &slot->result;
        uint64_t batch = result->batch;
        uint64_t start_ns = slot->start_ns;
        memset(result, 0, sizeof *result);
        result->slot = slot->index;
        result->batch = batch;
        result->rv = publisher->publish(publisher->publish_context, publisher->journal,
                                        slot->buffer, slot->size, slot->msg_id,
                                        publisher->timeout_ms, &result->stream_seq,
                                        &result->duplicate);
        if (result->rv != 0)
            snprintf(result->error, sizeof result->error, "%s",
                     journal_publish_error(publisher->journal));
        result->took_us = (clock_now_ns() - start_ns) / 1000u;
        pthread_mutex_lock(&publisher->lock);
        slot->state = PUBLISHER_DONE;
        uint64_t one = 1;
        if (write(publisher->wake_fd, &one, sizeof one) < 0) {
            /* EAGAIN: the counter is at its maximum, so it is readable. */
        }
    }
    pthread_mutex_unlock(&publisher->lock);
    return NULL;
}

static int publisher_slots_open(struct publisher *publisher, size_t buffer_size)
{
    for (uint32_t i = 0; i < publisher->slot_count; i++) {
        struct publisher_slot *slot = &publisher->slots[i];
        slot->publisher = publisher;
        slot->index = i;
        slot->buffer = malloc(buffer_size);
        if (slot->buffer == NULL)
            return ERR_NOMEM;
        if (pthread_cond_init(&slot->changed, NULL) != 0)
            return ERR_IO;
        if (pthread_create(&slot->thread, NULL, publisher_slot_main, slot) != 0) {
            pthread_cond_destroy(&slot->changed);
            return ERR_IO;
        }
        slot->thread_started = true;
    }
    return 0;
}

int publisher_open(struct publisher **out, struct journal *journal, uint32_t slot_count,
                   size_t buffer_size, int timeout_ms)
{
    assert(timeout_ms > 0);
    assert(slot_count >= 1 && slot_count <= PUBLISHER_SLOTS_MAX);
    assert(buffer_size > 0);
    struct publisher *publisher = calloc(1, sizeof *publisher);
    if (publisher == NULL)
        return ERR_NOMEM;
    publisher->journal = journal;
    publisher->timeout_ms = timeout_ms;
    publisher->publish = publisher_journal_publish;
    publisher->slot_count = slot_count;
    publisher->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (publisher->wake_fd < 0 || pthread_mutex_init(&publisher->lock, NULL) != 0) {
        if (publisher->wake_fd >= 0)
            close(publisher->wake_fd);
        free(publisher);
        return ERR_IO;
    }
    int rv = publisher_slots_open(publisher, buffer_size);
    if (rv != 0) {
        publisher_close(publisher);
        return rv;
    }
    *out = publisher;
    return 0;
}

void publisher_set_publish(struct publisher *publisher, publisher_publish_fn fn, void *context)
{
    assert(publisher->in_flight == 0);
    publisher->publish = fn != NULL ? fn : publisher_journal_publish;
    publisher->publish_context = context;
}

int publisher_wake_fd(const struct publisher *publisher)
{
    return publisher->wake_fd;
}

uint32_t publisher_idle_slot(const struct publisher *publisher)
{
    for (uint32_t i = 0; i < publisher->slot_count; i++) {
        if (!publisher->slots[i].started)
            return i;
    }
    return PUBLISHER_NONE;
}

uint8_t *publisher_buffer(struct publisher *publisher, uint32_t slot)
{
    assert(slot < publisher->slot_count);
    return publisher->slots[slot].buffer;
}

uint32_t publisher_in_flight(const struct publisher *publisher)
{
    return publisher->in_flight;
}

bool publisher_batch_in_flight(const struct publisher *publisher, uint64_t batch)
{
    for (uint32_t i = 0; i < publisher->slot_count; i++) {
        if (publisher->slots[i].started && publisher->slots[i].batch == batch)
            return true;
    }
    return false;
}

void publisher_start(struct publisher *publisher, uint32_t index, size_t size,
                     const char *msg_id, uint64_t batch)
{
    assert(index < publisher->slot_count);
    struct publisher_slot *slot = &publisher->slots[index];
    assert(!slot->started);
    assert(strlen(msg_id) <= JOURNAL_MSG_ID_SIZE_MAX);
    pthread_mutex_lock(&publisher->lock);
    assert(slot->state == PUBLISHER_IDLE);
    slot->size = size;
    slot->start_ns = clock_now_ns();
    snprintf(slot->msg_id, sizeof slot->msg_id, "%s", msg_id);
    slot->result.batch = batch;
    slot->state = PUBLISHER_BUSY;
    pthread_cond_signal(&slot->changed);
    pthread_mutex_unlock(&publisher->lock);
    slot->started = true;
    slot->batch = batch;
    publisher->in_flight++;
}

bool publisher_poll(struct publisher *publisher, struct publisher_result *result)
{
    if (publisher->in_flight == 0)
        return false;
    uint64_t count = 0;
    if (read(publisher->wake_fd, &count, sizeof count) < 0) {
        /* EAGAIN: nothing signalled; the states say the same. */
    }
    struct publisher_slot *done = NULL;
    pthread_mutex_lock(&publisher->lock);
    for (uint32_t i = 0; i < publisher->slot_count && done == NULL; i++) {
        if (publisher->slots[i].state == PUBLISHER_DONE)
            done = &publisher->slots[i];
    }
    if (done != NULL) {
        *result = done->result;
        done->state = PUBLISHER_IDLE;
    }
    pthread_mutex_unlock(&publisher->lock);
    if (done == NULL)
        return false;
    done->started = false;
    publisher->in_flight--;
    return true;
}

void publisher_close(struct publisher *publisher)
{
    if (publisher == NULL)
        return;
    pthread_mutex_lock(&publisher->lock);
    publisher->stopping = true;
    for (uint32_t i = 0; i < publisher->slot_count; i++) {
        if (publisher->slots[i].thread_started)
            pthread_cond_signal(&publisher->slots[i].changed);
    }
    pthread_mutex_unlock(&publisher->lock);
    for (uint32_t i = 0; i < publisher->slot_count; i++) {
        struct publisher_slot *slot = &publisher->slots[i];
        if (slot->thread_started) {
            pthread_join(slot->thread, NULL);
            pthread_cond_destroy(&slot->changed);
        }
        free(slot->buffer);
    }
    pthread_mutex_destroy(&publisher->lock);
    close(publisher->wake_fd);
    free(publisher);
}
