/* The publisher thread (see publisher.h). */
#include "gateway/publisher.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/result.h"

enum publisher_state { PUBLISHER_IDLE, PUBLISHER_BUSY, PUBLISHER_DONE };

struct publisher {
    struct journal *journal;
    int timeout_ms;
    int wake_fd;
    pthread_t thread;
    bool started;         /* the loop's view: started, result not collected */
    pthread_mutex_t lock;
    pthread_cond_t changed;
    /* Under lock. */
    enum publisher_state state;
    bool stopping;
    const void *data;
    size_t size;
    char msg_id[JOURNAL_MSG_ID_SIZE_MAX + 1];
    struct publisher_result result;
};

static void *publisher_main(void *context)
{
    struct publisher *publisher = context;
    pthread_mutex_lock(&publisher->lock);
    for (;;) {
        while (publisher->state != PUBLISHER_BUSY && !publisher->stopping)
            pthread_cond_wait(&publisher->changed, &publisher->lock);
        if (publisher->state != PUBLISHER_BUSY)
            break; /* stopping, and nothing under way */
        pthread_mutex_unlock(&publisher->lock);
        /* Only this thread touches data, msg_id and result while BUSY. */
        struct publisher_result *result = &publisher->result;
        memset(result, 0, sizeof *result);
        result->rv = journal_publish(publisher->journal, publisher->data, publisher->size,
                                     publisher->msg_id, publisher->timeout_ms,
                                     &result->stream_seq, &result->duplicate);
        if (result->rv != 0)
            snprintf(result->error, sizeof result->error, "%s",
                     journal_publish_error(publisher->journal));
        pthread_mutex_lock(&publisher->lock);
        publisher->state = PUBLISHER_DONE;
        pthread_cond_broadcast(&publisher->changed);
        uint64_t one = 1;
        if (write(publisher->wake_fd, &one, sizeof one) < 0) {
            /* EAGAIN: the counter is at its maximum, so it is readable. */
        }
    }
    pthread_mutex_unlock(&publisher->lock);
    return NULL;
}

int publisher_open(struct publisher **out, struct journal *journal, int timeout_ms)
{
    assert(timeout_ms > 0);
    struct publisher *publisher = calloc(1, sizeof *publisher);
    if (publisher == NULL)
        return ERR_NOMEM;
    publisher->journal = journal;
    publisher->timeout_ms = timeout_ms;
    publisher->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (publisher->wake_fd < 0) {
        free(publisher);
        return ERR_IO;
    }
    if (pthread_mutex_init(&publisher->lock, NULL) != 0 ||
        pthread_cond_init(&publisher->changed, NULL) != 0 ||
        pthread_create(&publisher->thread, NULL, publisher_main, publisher) != 0) {
        close(publisher->wake_fd);
        free(publisher);
        return ERR_IO;
    }
    *out = publisher;
    return 0;
}

int publisher_wake_fd(const struct publisher *publisher)
{
    return publisher->wake_fd;
}

bool publisher_idle(const struct publisher *publisher)
{
    return !publisher->started; /* only the loop's thread touches it */
}

void publisher_start(struct publisher *publisher, const void *data, size_t size,
                     const char *msg_id)
{
    assert(publisher_idle(publisher));
    assert(strlen(msg_id) <= JOURNAL_MSG_ID_SIZE_MAX);
    pthread_mutex_lock(&publisher->lock);
    publisher->data = data;
    publisher->size = size;
    snprintf(publisher->msg_id, sizeof publisher->msg_id, "%s", msg_id);
    publisher->state = PUBLISHER_BUSY;
    pthread_cond_broadcast(&publisher->changed);
    pthread_mutex_unlock(&publisher->lock);
    publisher->started = true;
}

bool publisher_poll(struct publisher *publisher, struct publisher_result *result)
{
    uint64_t count = 0;
    if (read(publisher->wake_fd, &count, sizeof count) < 0) {
        /* EAGAIN: nothing signalled; the state says the same. */
    }
    pthread_mutex_lock(&publisher->lock);
    bool done = publisher->state == PUBLISHER_DONE;
    if (done) {
        *result = publisher->result;
        publisher->state = PUBLISHER_IDLE;
    }
    pthread_mutex_unlock(&publisher->lock);
    if (done)
        publisher->started = false;
    return done;
}

void publisher_close(struct publisher *publisher)
{
    if (publisher == NULL)
        return;
    pthread_mutex_lock(&publisher->lock);
    publisher->stopping = true;
    pthread_cond_broadcast(&publisher->changed);
    pthread_mutex_unlock(&publisher->lock);
    pthread_join(publisher->thread, NULL);
    pthread_cond_destroy(&publisher->changed);
    pthread_mutex_destroy(&publisher->lock);
    close(publisher->wake_fd);
    free(publisher);
}
