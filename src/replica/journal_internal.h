/* What journal.c shares with journal_promote.c and node_registry.c, and
 * nobody else: the journal's fields (libnats types stay in these files). */
#ifndef NODOWN_REPLICA_JOURNAL_INTERNAL_H
#define NODOWN_REPLICA_JOURNAL_INTERNAL_H

#include <nats/nats.h>
#include <pthread.h>

#include "replica/journal.h"

/* Servers in config->urls, and the size of the string. */
#define JOURNAL_SERVERS_MAX 16
#define JOURNAL_URLS_SIZE 4096
#define JOURNAL_STREAM_NAME_SIZE 64
#define JOURNAL_SUBJECT_SIZE 256
/* libnats: wait between reconnect attempts, plus up to the jitter. */
#define JOURNAL_RECONNECT_WAIT_MS 50
#define JOURNAL_RECONNECT_JITTER_MS 50
/* Connect timeout per server at open. */
#define JOURNAL_CONNECT_TIMEOUT_MS 2000
/* A silent server (no RST, e.g. a partition) is dropped after
 * JOURNAL_PINGS_OUT_MAX unanswered pings, JOURNAL_PING_INTERVAL_MS apart. */
#define JOURNAL_PING_INTERVAL_MS 2000
#define JOURNAL_PINGS_OUT_MAX 3
/* JetStream API requests (stream info, consumer creation). */
#define JOURNAL_API_WAIT_MS 5000
/* Pause before resending after an error that came back at once (no
 * responders), so that a server restarting is not flooded. */
#define JOURNAL_PUBLISH_PAUSE_MS 20
/* The read subscription's local queue: the server's flow-control window
 * (32 MB in nats-server 2.9 and 2.10) plus room, and no count limit. */
#define JOURNAL_READ_PENDING_BYTES_MAX (128 * 1024 * 1024)
/* Messages (batches) queued between libnats' delivery thread and the
 * reader: a power of two. */
#define JOURNAL_RING_SIZE 4096u

struct journal {
    natsConnection *connection;
    jsCtx *js;
    uint64_t read_next_seq;     /* the stream sequence the reader expects next */
    uint64_t read_gap_seq;      /* a gap at this sequence survived a recreate */
    int64_t read_failing_since_ms; /* the read consumer cannot be made since; 0: it can */
    int64_t read_retry_ms;         /* and is tried again then */
    int wake_fd;                /* eventfd: bumped for each message queued */
    bool sync_ready;            /* lock and changed initialised */
    /* Shared with the delivery thread, under lock. */
    pthread_mutex_t lock;
    pthread_cond_t changed;     /* a message queued, one taken, or read_sub changed */
    natsSubscription *read_sub; /* the ordered consumer, or NULL */
    uint64_t subs_created;      /* read subscriptions made ... */
    uint64_t subs_completed;    /* ... and those whose delivery thread is done */
    uint32_t ring_head;
    uint32_t ring_count;
    natsMsg *ring[JOURNAL_RING_SIZE];
    void *ring_prepared[JOURNAL_RING_SIZE]; /* what prepare made of each */
    /* The prepare hook (journal_set_prepare), and the current message's. */
    journal_prepare_cb prepare;
    journal_release_cb release;
    void *prepare_context;
    void *current_prepared;
    bool mirror;                /* stream_name is a mirror: no publishing */
    char stream_name[JOURNAL_STREAM_NAME_SIZE];
    char subject[JOURNAL_SUBJECT_SIZE];
    char error[512];
    char publish_error[512];
};

/* The stream nodown makes from config (its mirror aside): subjects is
 * the array stream->Subjects points to. */
void journal_stream_config(jsStreamConfig *stream, const struct journal_config *config,
                           const char *subjects[1]);

/* A JetStream API request on subject, payload, answered within the API
 * wait; returns the answer (natsMsg_Destroy it) or NULL with "what: the
 * reason" in journal->error. */
natsMsg *journal_api(struct journal *journal, const char *what, const char *subject,
                     const char *payload);

/* Writes "what: libnats' status text (JetStream error N)" to out. */
void journal_nats_error(char *out, size_t out_size, const char *what, natsStatus status,
                        jsErrCode js_error);

#endif
