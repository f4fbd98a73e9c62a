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
#include "lib/clock.h"

/* Jobs go todo -> (the thread) -> done. todo is a set of slots, taken
 * lowest round first (logon_check.h); done is a ring, in the order
 * checked. A job is in one of them or being checked, and all of them
 * together hold at most LOGON_CHECK_QUEUE. */
struct logon_queued {
    bool used;
    uint64_t round;
    uint64_t order; /* ties within a round: the older first */
    struct logon_job job;
};

struct logon_ring {
    uint32_t head;
    uint32_t count;
    struct logon_job jobs[LOGON_CHECK_QUEUE];
};

/* A source whose logon failed, and when. */
struct logon_suspect {
    uint32_t source;
    int64_t failed_ms; /* 0: the slot is free */
};

struct logon_check {
    pthread_t thread;
    int wake_fd;
    pthread_mutex_t lock;
    pthread_cond_t changed; /* on CLOCK_MONOTONIC, as clock_now_ms() */
    /* Under lock. */
    bool stopping;
    uint32_t in_hand; /* taken from todo, not yet in done */
    uint32_t in_hand_source;
    uint64_t round;   /* the round of the job checked last */
    uint64_t submitted;
    uint32_t todo_count;
    struct logon_queued todo[LOGON_CHECK_QUEUE];
    struct logon_ring done;
    struct logon_suspect suspects[LOGON_CHECK_SUSPECTS];
    int64_t suspect_next_ms; /* a suspect's job is not checked before it */
};

#define LOGON_CHECK_SUSPECT_GAP_MS (1000 / LOGON_CHECK_SUSPECT_PER_S)

/* The slot that remembers source. */
static uint32_t suspect_index(uint32_t source)
{
    uint32_t hash = source * 2654435761u; /* Knuth's multiplicative hash */
    return (hash >> 16) % LOGON_CHECK_SUSPECTS;
}

static bool suspect_is(const struct logon_check *check, uint32_t source, int64_t now_ms)
{
    const struct logon_suspect *slot = &check->suspects[suspect_index(source)];
    return slot->failed_ms != 0 && slot->source == source &&
           now_ms - slot->failed_ms < LOGON_CHECK_SUSPECT_MS;
}

/* A check ended: a failure makes its source a suspect, a success clears
 * it. Called with the lock held. */
static void suspect_note(struct logon_check *check, uint32_t source, bool ok, int64_t now_ms)
{
    struct logon_suspect *slot = &check->suspects[suspect_index(source)];
    if (!ok)
        *slot = (struct logon_suspect){.source = source, .failed_ms = now_ms};
    else if (slot->source == source)
        slot->failed_ms = 0;
}

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

/* The todo slot to check next: due, lowest round, oldest; -1 if none is
 * due, with *wake_ms the earliest time one will be (INT64_MAX: none). */
static int32_t todo_pick(const struct logon_check *check, int64_t now_ms, int64_t *wake_ms)
{
    int32_t best = -1;
    *wake_ms = INT64_MAX;
    for (uint32_t i = 0; i < LOGON_CHECK_QUEUE; i++) {
        const struct logon_queued *queued = &check->todo[i];
        if (!queued->used)
            continue;
        int64_t due_ms = queued->job.not_before_ms;
        if (due_ms <= now_ms && check->suspect_next_ms > now_ms &&
            suspect_is(check, queued->job.source, now_ms))
            due_ms = check->suspect_next_ms; /* the suspects' budget is spent */
        if (due_ms > now_ms) {
            if (due_ms < *wake_ms)
                *wake_ms = due_ms;
            continue;
        }
        const struct logon_queued *other = best < 0 ? NULL : &check->todo[best];
        if (other == NULL || queued->round < other->round ||
            (queued->round == other->round && queued->order < other->order))
            best = (int32_t)i;
    }
    assert(best < 0 || check->todo[best].used);
    return best;
}

/* Takes the next due job into *job, or waits for one (or for stopping).
 * Returns whether *job holds one. Called and returns with lock held. */
static bool todo_take(struct logon_check *check, struct logon_job *job)
{
    int64_t wake_ms = INT64_MAX;
    int32_t at = todo_pick(check, clock_now_ms(), &wake_ms);
    if (at < 0) {
        if (wake_ms == INT64_MAX) {
            pthread_cond_wait(&check->changed, &check->lock);
        } else {
            struct timespec deadline = clock_timespec_ms(wake_ms);
            pthread_cond_timedwait(&check->changed, &check->lock, &deadline);
        }
        return false;
    }
    struct logon_queued *queued = &check->todo[at];
    int64_t now_ms = clock_now_ms();
    if (suspect_is(check, queued->job.source, now_ms)) {
        int64_t floor_ms = now_ms - LOGON_CHECK_SUSPECT_BURST * LOGON_CHECK_SUSPECT_GAP_MS;
        int64_t base_ms = check->suspect_next_ms > floor_ms ? check->suspect_next_ms : floor_ms;
        check->suspect_next_ms = base_ms + LOGON_CHECK_SUSPECT_GAP_MS;
    }
    *job = queued->job;
    check->round = queued->round;
    check->in_hand_source = job->source;
    OPENSSL_cleanse(queued, sizeof *queued);
    check->todo_count--;
    return true;
}

static void *logon_check_main(void *context)
{
    struct logon_check *check = context;
    struct logon_job job;
    pthread_mutex_lock(&check->lock);
    while (!check->stopping) {
        if (!todo_take(check, &job))
            continue;
        check->in_hand++;
        pthread_mutex_unlock(&check->lock);
        /* An unknown account costs the same derivation as a known one. */
        bool right = secret_verify(job.secret, job.secret_size, job.salt, job.hash);
        job.ok = right && !job.unknown;
        OPENSSL_cleanse(job.secret, sizeof job.secret);
        pthread_mutex_lock(&check->lock);
        suspect_note(check, job.source, right, clock_now_ms());
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

static int logon_check_sync_init(struct logon_check *check)
{
    pthread_condattr_t attributes;
    if (pthread_condattr_init(&attributes) != 0)
        return ERR_IO;
    int rv = pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC) != 0 ||
                     pthread_mutex_init(&check->lock, NULL) != 0 ||
                     pthread_cond_init(&check->changed, &attributes) != 0
                 ? ERR_IO
                 : 0;
    pthread_condattr_destroy(&attributes);
    return rv;
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
    if (logon_check_sync_init(check) != 0 ||
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

/* The round a new job of source gets, and how many its source holds. */
static uint64_t todo_round(const struct logon_check *check, uint32_t source, uint32_t *held)
{
    uint64_t round = check->round;
    *held = check->in_hand > 0 && check->in_hand_source == source ? 1 : 0;
    for (uint32_t i = 0; i < LOGON_CHECK_QUEUE; i++) {
        const struct logon_queued *queued = &check->todo[i];
        if (!queued->used || queued->job.source != source)
            continue;
        (*held)++;
        if (queued->round + 1 > round)
            round = queued->round + 1;
    }
    return round;
}

enum logon_check_submitted logon_check_submit(struct logon_check *check,
                                              const struct logon_job *job)
{
    enum logon_check_submitted submitted = LOGON_CHECK_QUEUED;
    uint32_t held = 0;
    pthread_mutex_lock(&check->lock);
    uint64_t round = todo_round(check, job->source, &held);
    /* Room for it in done too, whatever the loop has not taken yet. */
    if (check->todo_count + check->in_hand + check->done.count >= LOGON_CHECK_QUEUE)
        submitted = LOGON_CHECK_FULL;
    else if (held >= LOGON_CHECK_SOURCE_MAX)
        submitted = LOGON_CHECK_SOURCE_FULL;
    for (uint32_t i = 0; submitted == LOGON_CHECK_QUEUED && i < LOGON_CHECK_QUEUE; i++) {
        struct logon_queued *queued = &check->todo[i];
        if (queued->used)
            continue;
        *queued = (struct logon_queued){.used = true, .round = round,
                                        .order = ++check->submitted, .job = *job};
        check->todo_count++;
        pthread_cond_signal(&check->changed);
        break;
    }
    pthread_mutex_unlock(&check->lock);
    return submitted;
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
    OPENSSL_cleanse(check->todo, sizeof check->todo);
    pthread_cond_destroy(&check->changed);
    pthread_mutex_destroy(&check->lock);
    close(check->wake_fd);
    free(check);
}
