/* The logon checker's thread (see logon_check.h). */
#include "gateway/logon_check.h"

#include <assert.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "core/result.h"

/* Jobs go todo -> (the thread) -> done; both rings hold at most
 * LOGON_CHECK_QUEUE, and a job is in one of them or being checked. */
struct logon_ring {
    uint32_t head;
    uint32_t count;
    struct logon_job jobs[LOGON_CHECK_QUEUE];
};

struct logon_check {
    pthread_t thread;
    int wake_fd;
    pthread_mutex_t lock;
    pthread_cond_t changed;
    /* Under lock. */
    bool stopping;
    uint32_t in_hand; /* taken from todo, not yet in done */
    struct logon_ring todo;
    struct logon_ring done;
};

static void ring_push(struct logon_ring *ring, const struct logon_job *job)
{
    assert(ring->count < LOGON_CHECK_QUEUE);
    ring->jobs[(ring->head + ring->count) % LOGON_CHECK_QUEUE] = *job;
    ring->count++;
}

static void ring_pop(struct logon_ring *ring, struct logon_job *job)
{
    assert(ring->count > 0);
    *job = ring->jobs[ring->head];
    OPENSSL_cleanse(ring->jobs[ring->head].secret, sizeof ring->jobs[ring->head].secret);
    ring->head = (ring->head + 1) % LOGON_CHECK_QUEUE;
    ring->count--;
}

static void *logon_check_main(void *context)
{
    struct logon_check *check = context;
    struct logon_job job;
    pthread_mutex_lock(&check->lock);
    for (;;) {
        while (check->todo.count == 0 && !check->stopping)
            pthread_cond_wait(&check->changed, &check->lock);
        if (check->stopping)
            break;
        ring_pop(&check->todo, &job);
        check->in_hand++;
        pthread_mutex_unlock(&check->lock);
        job.ok = secret_verify(job.secret, job.secret_size, job.salt, job.hash);
        OPENSSL_cleanse(job.secret, sizeof job.secret);
        pthread_mutex_lock(&check->lock);
        check->in_hand--;
        ring_push(&check->done, &job);
        uint64_t one = 1;
        if (write(check->wake_fd, &one, sizeof one) < 0) {
            /* EAGAIN: the counter is at its maximum, so it is readable. */
        }
    }
    pthread_mutex_unlock(&check->lock);
    OPENSSL_cleanse(&job, sizeof job);
    return NULL;
}

int logon_check_open(struct logon_check **out)
{
    struct logon_check *check = calloc(1, sizeof *check);
    if (check == NULL)
        return ERR_NOMEM;
    check->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (check->wake_fd < 0) {
        free(check);
        return ERR_IO;
    }
    if (pthread_mutex_init(&check->lock, NULL) != 0 ||
        pthread_cond_init(&check->changed, NULL) != 0 ||
        pthread_create(&check->thread, NULL, logon_check_main, check) != 0) {
        close(check->wake_fd);
        free(check);
        return ERR_IO;
    }
    *out = check;
    return 0;
}

int logon_check_wake_fd(const struct logon_check *check)
{
    return check->wake_fd;
}

bool logon_check_submit(struct logon_check *check, const struct logon_job *job)
{
    pthread_mutex_lock(&check->lock);
    /* Room for it in done too, whatever the loop has not taken yet. */
    bool room = check->todo.count + check->in_hand + check->done.count < LOGON_CHECK_QUEUE;
    if (room) {
        ring_push(&check->todo, job);
        pthread_cond_signal(&check->changed);
    }
    pthread_mutex_unlock(&check->lock);
    return room;
}

bool logon_check_take(struct logon_check *check, struct logon_job *job)
{
    uint64_t count = 0;
    pthread_mutex_lock(&check->lock);
    bool any = check->done.count > 0;
    if (any)
        ring_pop(&check->done, job);
    else if (read(check->wake_fd, &count, sizeof count) < 0) {
        /* EAGAIN: nothing signalled. A result pushed after this read
         * signals again, so poll() never sleeps on one. */
    }
    pthread_mutex_unlock(&check->lock);
    return any;
}

void logon_check_close(struct logon_check *check)
{
    if (check == NULL)
        return;
    pthread_mutex_lock(&check->lock);
    check->stopping = true;
    pthread_cond_broadcast(&check->changed);
    pthread_mutex_unlock(&check->lock);
    pthread_join(check->thread, NULL);
    OPENSSL_cleanse(&check->todo, sizeof check->todo);
    pthread_cond_destroy(&check->changed);
    pthread_mutex_destroy(&check->lock);
    close(check->wake_fd);
    free(check);
}
