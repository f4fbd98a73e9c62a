/* The replica: stream messages applied exactly once, in order, and
 * snapshots written by a forked child (see replica.h). */
#include "replica/replica.h"

#include "replica/feed.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#define XXH_STATIC_LINKING_ONLY /* the streaming state type (xxhash.h) */
#include <xxhash.h>

#include "core/snapshot.h"
#include "lib/bytes.h"
#include "lib/clock.h"
#include "lib/mem.h"
#include "replica/feed.h"

/* A batch decoded ahead: batch_decode's result and what it gave. */
struct replica_batch {
    int rv;
    uint64_t time_ns;
    uint32_t count;
    struct command *commands; /* BATCH_COMMANDS_MAX */
};

/* The batches, free or in use; shared with libnats' delivery thread. */
struct replica_pool {
    pthread_mutex_t lock;
    pthread_cond_t freed;
    uint32_t free_count;
    struct replica_batch *free[REPLICA_DECODE_AHEAD];
    struct replica_batch batches[REPLICA_DECODE_AHEAD];
};

/* The apply's events go to the order query and to the feed. */
static void replica_feed_event(void *context, const struct event *event)
{
    struct replica *replica = context;
    orders_done_note(&replica->orders_done, event);
    feed_event(replica->feed, event);
}

static void replica_tapped_event(void *context, const struct event *event)
{
    struct replica *replica = context;
    if (replica->feed != NULL)
        replica_feed_event(replica, event);
    else
        orders_done_note(&replica->orders_done, event);
    replica->event_tap(replica->event_tap_context, event);
}

static void replica_feed_command_begin(void *context, uint32_t index)
{
    struct replica *replica = context;
    feed_command_begin(replica->feed, index);
}

/* Applies count decoded commands (decode_rv: the decoding's result) as the
 * message at stream_seq. */
static int replica_apply_decoded(struct replica *replica, uint64_t stream_seq,
                                 uint64_t timestamp_ns, size_t size, int decode_rv,
                                 struct command *commands, uint32_t count,
                                 replica_outcome_cb outcome_cb, void *context)
{
    if (stream_seq <= replica->applied_seq)
        return REPLICA_REPEAT;
    if (stream_seq != replica->applied_seq + 1)
        return ERR_REPLICA_GAP;
    if (replica->stopped_seq != 0)
        return ERR_LOGIC_UNSUPPORTED; /* stopped: never past it */
    if (timestamp_ns > replica->time_ns)
        replica->time_ns = timestamp_ns;
    if (decode_rv != 0) {
        replica->malformed_batches++;
        count = 0;
    }
    uint32_t applied = 0;
    struct feed *feed = replica->feed;
    struct event_sink sink = {.emit_cb = orders_done_note, .context = &replica->orders_done};
    if (feed != NULL) {
        feed_batch_begin(feed, &replica->engine, stream_seq, replica->time_ns, count,
                         replica->engine.logic_version);
        sink = (struct event_sink){.emit_cb = replica_feed_event, .context = replica,
                                   .command_cb = replica_feed_command_begin};
    }
    if (replica->event_tap != NULL) {
        sink.emit_cb = replica_tapped_event;
        sink.context = replica;
    }
    int rv = engine_apply_batch(&replica->engine, replica->time_ns, commands, count, &sink,
                                replica->outcomes, &applied);
    for (uint32_t i = 0; i < applied; i++) {
        uint16_t type = commands[i].type;
        replica->orders_applied += type == COMMAND_ORDER_PLACE || type == COMMAND_BET_PLACE;
        if (feed != NULL)
            feed_command(feed, i, &commands[i], &replica->outcomes[i],
                         replica->engine.logic_version);
        if (outcome_cb != NULL)
            outcome_cb(context, stream_seq, &commands[i], &replica->outcomes[i]);
    }
    replica->commands_applied += applied;
    if (feed != NULL && rv == 0)
        feed_batch_end(feed, &replica->engine);
    if (rv != 0) {
        /* ERR_LOGIC_UNSUPPORTED: the node stops here, for good in this run. */
        assert(rv == ERR_LOGIC_UNSUPPORTED && applied < count);
        assert(commands[applied].type == COMMAND_ACTIVATE_LOGIC);
        replica->stopped_seq = stream_seq;
        replica->stopped_version = commands[applied].u.activate_logic.logic_version;
        return rv;
    }
    replica->batches_applied++;
    replica->applied_seq = stream_seq;
    replica->bytes_since_snapshot += size;
    return 0;
}

int replica_apply(struct replica *replica, uint64_t stream_seq, uint64_t timestamp_ns,
                  const void *data, size_t size, replica_outcome_cb outcome_cb, void *context)
{
    if (stream_seq <= replica->applied_seq)
        return REPLICA_REPEAT;
    if (stream_seq != replica->applied_seq + 1)
        return ERR_REPLICA_GAP;
    uint64_t batch_time_ns = 0;
    uint32_t count = 0;
    int rv = batch_decode(data, size, &batch_time_ns, replica->commands, BATCH_COMMANDS_MAX,
                          &count);
    return replica_apply_decoded(replica, stream_seq, timestamp_ns, size, rv, replica->commands,
                                 count, outcome_cb, context);
}

/* ---- Decoding ahead. ---- */

/* libnats' delivery thread: a free batch (waiting for one), decoded. */
static void *replica_prepare(void *context, const void *data, size_t size)
{
    struct replica_pool *pool = context;
    pthread_mutex_lock(&pool->lock);
    while (pool->free_count == 0)
        pthread_cond_wait(&pool->freed, &pool->lock);
    struct replica_batch *batch = pool->free[--pool->free_count];
    pthread_mutex_unlock(&pool->lock);
    batch->rv = batch_decode(data, size, &batch->time_ns, batch->commands, BATCH_COMMANDS_MAX,
                             &batch->count);
    return batch;
}

static void replica_release(void *context, void *prepared)
{
    struct replica_pool *pool = context;
    pthread_mutex_lock(&pool->lock);
    assert(pool->free_count < REPLICA_DECODE_AHEAD);
    pool->free[pool->free_count++] = prepared;
    pthread_cond_signal(&pool->freed);
    pthread_mutex_unlock(&pool->lock);
}

static void replica_pool_free(struct replica_pool *pool)
{
    if (pool == NULL)
        return;
    for (uint32_t i = 0; i < REPLICA_DECODE_AHEAD; i++)
        mem_free(pool->batches[i].commands);
    pthread_cond_destroy(&pool->freed);
    pthread_mutex_destroy(&pool->lock);
    free(pool);
}

int replica_decode_ahead(struct replica *replica, struct journal *journal)
{
    assert(replica->pool == NULL);
    struct replica_pool *pool = calloc(1, sizeof *pool);
    if (pool == NULL)
        return ERR_NOMEM;
    pthread_mutex_init(&pool->lock, NULL);
    pthread_cond_init(&pool->freed, NULL);
    bool ok = true;
    for (uint32_t i = 0; i < REPLICA_DECODE_AHEAD; i++) {
        pool->batches[i].commands =
            mem_array_alloc(BATCH_COMMANDS_MAX, sizeof *pool->batches[i].commands);
        ok = ok && pool->batches[i].commands != NULL;
        pool->free[pool->free_count++] = &pool->batches[i];
    }
    if (!ok) {
        replica_pool_free(pool);
        return ERR_NOMEM;
    }
    replica->pool = pool;
    journal_set_prepare(journal, replica_prepare, replica_release, pool);
    return 0;
}

int replica_apply_message(struct replica *replica, struct journal *journal, uint64_t stream_seq,
                          uint64_t timestamp_ns, const void *data, size_t size,
                          replica_outcome_cb outcome_cb, void *context)
{
    struct replica_batch *batch = journal_prepared(journal);
    if (batch == NULL)
        return replica_apply(replica, stream_seq, timestamp_ns, data, size, outcome_cb, context);
    return replica_apply_decoded(replica, stream_seq, timestamp_ns, size, batch->rv,
                                 batch->commands, batch->count, outcome_cb, context);
}

/* ---- Snapshot files. ---- */

void replica_snapshot_path(const char *dir, uint64_t stream_seq, const char *prefix, char *path,
                           size_t size)
{
    snprintf(path, size, "%s/%ssnapshot-%020" PRIu64 ".ndsf", dir, prefix, stream_seq);
}

static void replica_file_path(const struct replica *replica, uint64_t stream_seq,
                              const char *prefix, char *path, size_t size)
{
    replica_snapshot_path(replica->dir, stream_seq, prefix, path, size);
}

struct file_sink {
    int fd;
    XXH3_state_t hash;
};

static int file_sink_flush(void *context, const uint8_t *data, size_t size)
{
    struct file_sink *sink = context;
    XXH3_64bits_update(&sink->hash, data, size);
    while (size > 0) {
        ssize_t written = write(sink->fd, data, size);
        if (written < 0 && errno == EINTR)
            continue;
        if (written <= 0)
            return ERR_IO;
        data += written;
        size -= (size_t)written;
    }
    return 0;
}

static int replica_write_all(int fd, const void *data, size_t size, off_t offset)
{
    const uint8_t *bytes = data;
    while (size > 0) {
        ssize_t written = pwrite(fd, bytes, size, offset);
        if (written < 0 && errno == EINTR)
            continue;
        if (written <= 0)
            return ERR_IO;
        bytes += written;
        size -= (size_t)written;
        offset += written;
    }
    return 0;
}

/* The file: our header, the engine snapshot's header, then its body
 * streamed through the checksum; both headers are written last, in place. */
static int replica_file_fill(const struct replica *replica, int fd)
{
    const off_t body_offset = REPLICA_FILE_HEADER_SIZE + SNAPSHOT_HEADER_SIZE;
    if (lseek(fd, body_offset, SEEK_SET) != body_offset)
        return ERR_IO;
    struct byte_writer writer;
    struct file_sink sink = {.fd = fd};
    XXH3_64bits_reset(&sink.hash);
    byte_writer_init(&writer, file_sink_flush, &sink);
    snapshot_encode_body(&replica->engine, &writer);
    int rv = byte_writer_finish(&writer);
    if (rv != 0)
        return rv;
    uint8_t headers[REPLICA_FILE_HEADER_SIZE + SNAPSHOT_HEADER_SIZE];
    struct byte_buffer buffer = {headers, REPLICA_FILE_HEADER_SIZE, 0};
    byte_writer_init(&writer, byte_buffer_flush, &buffer);
    byte_put_u32(&writer, REPLICA_FILE_MAGIC);
    byte_put_u32(&writer, REPLICA_FILE_VERSION);
    byte_put_u64(&writer, replica->applied_seq);
    byte_put_u64(&writer, replica->time_ns);
    rv = byte_writer_finish(&writer);
    assert(rv == 0 && buffer.length == REPLICA_FILE_HEADER_SIZE - 8);
    uint64_t header_check = XXH3_64bits(headers, buffer.length);
    byte_writer_init(&writer, byte_buffer_flush, &buffer);
    byte_put_u64(&writer, header_check);
    rv = byte_writer_finish(&writer);
    assert(rv == 0 && buffer.length == REPLICA_FILE_HEADER_SIZE);
    snapshot_header_encode(headers + REPLICA_FILE_HEADER_SIZE, replica->engine.logic_version,
                           (uint64_t)lseek(fd, 0, SEEK_END) - (uint64_t)body_offset,
                           XXH3_64bits_digest(&sink.hash));
    return replica_write_all(fd, headers, sizeof headers, 0);
}

/* Writes temporary, syncs it, renames it to final, syncs the directory.
 * Only system calls and our own code: it runs in a forked child of a
 * process with other threads, where a lock (malloc, stdio) could be held
 * forever by a thread that does not exist in the child. */
static int replica_file_write(const struct replica *replica, const char *temporary,
                              const char *final)
{
    int fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return ERR_IO;
    int rv = replica_file_fill(replica, fd);
    if (rv == 0 && fsync(fd) != 0)
        rv = ERR_IO;
    close(fd);
    if (rv == 0 && rename(temporary, final) != 0)
        rv = ERR_IO;
    if (rv != 0) {
        unlink(temporary);
        return rv;
    }
    int dir_fd = open(replica->dir, O_RDONLY);
    if (dir_fd >= 0) {
        fsync(dir_fd); /* the rename itself is durable once the directory is */
        close(dir_fd);
    }
    return 0;
}

int replica_snapshot_write(const struct replica *replica, char *errmsg, size_t errmsg_size)
{
    if (replica->stopped_seq != 0) {
        snprintf(errmsg, errmsg_size, "no snapshot: the replica stopped applying in the "
                 "middle of stream sequence %" PRIu64, replica->stopped_seq);
        return ERR_LOGIC_UNSUPPORTED;
    }
    char temporary[REPLICA_PATH_MAX + 64];
    char final[REPLICA_PATH_MAX + 64];
    replica_file_path(replica, replica->applied_seq, ".", temporary, sizeof temporary);
    replica_file_path(replica, replica->applied_seq, "", final, sizeof final);
    int rv = replica_file_write(replica, temporary, final);
    if (rv != 0)
        snprintf(errmsg, errmsg_size, "snapshot %s: %s", final, strerror(errno));
    return rv;
}

uint32_t replica_snapshot_list(const char *path, uint64_t *seqs, uint32_t max)
{
    DIR *dir = opendir(path);
    if (dir == NULL)
        return 0;
    uint32_t count = 0;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
        uint64_t seq = 0;
        char tail[8];
        if (sscanf(entry->d_name, "snapshot-%20" SCNu64 ".%5s", &seq, tail) != 2 ||
            strcmp(tail, "ndsf") != 0)
            continue;
        if (count < max) {
            seqs[count++] = seq;
            continue;
        }
        uint32_t smallest = 0; /* full: keep the newest max */
        for (uint32_t i = 1; i < count; i++)
            smallest = seqs[i] < seqs[smallest] ? i : smallest;
        if (seq > seqs[smallest])
            seqs[smallest] = seq;
    }
    for (uint32_t i = 1; i < count; i++) { /* newest first */
        for (uint32_t at = i; at > 0 && seqs[at - 1] < seqs[at]; at--) {
            uint64_t swap = seqs[at - 1];
            seqs[at - 1] = seqs[at];
            seqs[at] = swap;
        }
    }
    closedir(dir);
    return count;
}

static int replica_read_file(const char *path, uint8_t **data, size_t *size)
{
    int fd = open(path, O_RDONLY);
    struct stat status;
    if (fd < 0 || fstat(fd, &status) != 0) {
        if (fd >= 0)
            close(fd);
        return ERR_IO;
    }
    *size = (size_t)status.st_size;
    *data = malloc(*size + 1);
    size_t done = 0;
    while (*data != NULL && done < *size) {
        ssize_t got = read(fd, *data + done, *size - done);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        done += (size_t)got;
    }
    close(fd);
    if (*data == NULL || done != *size) {
        free(*data);
        *data = NULL;
        return ERR_IO;
    }
    return 0;
}

/* Loads one snapshot file into a fresh engine; on error the engine must
 * be freed and made fresh again by the caller. */
static int replica_load(struct replica *replica, uint64_t seq, char *errmsg, size_t errmsg_size)
{
    char path[REPLICA_PATH_MAX + 64];
    replica_file_path(replica, seq, "", path, sizeof path);
    uint8_t *data = NULL;
    size_t size = 0;
    int rv = replica_read_file(path, &data, &size);
    if (rv != 0) {
        snprintf(errmsg, errmsg_size, "%s: cannot read it", path);
        return rv;
    }
    struct byte_reader reader;
    byte_reader_init(&reader, data, size);
    uint32_t magic = byte_get_u32(&reader);
    uint32_t version = byte_get_u32(&reader);
    uint64_t file_seq = byte_get_u64(&reader);
    uint64_t time_ns = byte_get_u64(&reader);
    /* Version 2 checks the header; version 1 (no check) is still read. */
    size_t header_size = version == 1 ? REPLICA_FILE_HEADER_SIZE_V1 : REPLICA_FILE_HEADER_SIZE;
    uint64_t header_check = version == 1 ? 0 : byte_get_u64(&reader);
    char reason[256] = "";
    if (reader.error != 0 || magic != REPLICA_FILE_MAGIC)
        rv = ERR_DECODE_MALFORMED;
    else if (version != 1 && version != REPLICA_FILE_VERSION)
        rv = ERR_VERSION;
    else if (version != 1 && header_check != XXH3_64bits(data, REPLICA_FILE_HEADER_SIZE - 8))
        rv = ERR_CHECKSUM;
    else if (file_seq != seq)
        rv = ERR_DECODE_MALFORMED;
    else
        rv = snapshot_decode(&replica->engine, data + header_size, size - header_size, reason,
                             sizeof reason);
    free(data);
    if (rv != 0) {
        snprintf(errmsg, errmsg_size, "%.300s: %s%s%.200s", path, err_text(rv),
                 reason[0] ? ": " : "",
                 reason);
        return rv;
    }
    replica->applied_seq = seq;
    replica->snapshot_seq = seq;
    replica->time_ns = time_ns;
    return 0;
}

#define REPLICA_LIST_MAX 64u

static int replica_engine_fresh(struct replica *replica, const struct limits *limits)
{
    engine_free(&replica->engine);
    return engine_init(&replica->engine, limits);
}

int replica_open(struct replica *replica, const char *data_dir, const struct limits *limits,
                 char *errmsg, size_t errmsg_size)
{
    return replica_open_at_most(replica, data_dir, limits, UINT64_MAX, false, errmsg,
                                errmsg_size);
}

int replica_open_at_most(struct replica *replica, const char *data_dir,
                         const struct limits *limits, uint64_t seq_max, bool empty_ok,
                         char *errmsg, size_t errmsg_size)
{
    memset(replica, 0, sizeof *replica);
    replica->keep_seq = seq_max;
    int length = snprintf(replica->dir, sizeof replica->dir, "%s/snapshots", data_dir);
    if (length < 0 || (size_t)length >= sizeof replica->dir) {
        snprintf(errmsg, errmsg_size, "data directory path too long: %s", data_dir);
        return ERR_USAGE;
    }
    if ((mkdir(data_dir, 0755) != 0 && errno != EEXIST) ||
        (mkdir(replica->dir, 0755) != 0 && errno != EEXIST)) {
        snprintf(errmsg, errmsg_size, "%s: %s", replica->dir, strerror(errno));
        return ERR_IO;
    }
    replica->commands = mem_array_alloc(BATCH_COMMANDS_MAX, sizeof *replica->commands);
    replica->outcomes = mem_array_alloc(BATCH_COMMANDS_MAX, sizeof *replica->outcomes);
    int rv = engine_init(&replica->engine, limits);
    if (rv == 0)
        rv = orders_done_init(&replica->orders_done);
    if (rv != 0 || replica->commands == NULL || replica->outcomes == NULL) {
        snprintf(errmsg, errmsg_size, "out of memory for the state");
        return rv != 0 ? rv : ERR_NOMEM;
    }
    uint64_t seqs[REPLICA_LIST_MAX];
    uint32_t count = replica_snapshot_list(replica->dir, seqs, REPLICA_LIST_MAX);
    /* The newest at or below seq_max; else none (empty_ok: the stream
     * holds every message from 1), or else the oldest (the consumers then
     * start past their position: docs/history.md). */
    uint32_t first = 0;
    while (first < count && seqs[first] > seq_max)
        first++;
    if (first == count && empty_ok)
        return 0;
    if (first == count && count > 0)
        first = count - 1;
    for (uint32_t i = first; i < count; i++) {
        char reason[REPLICA_PATH_MAX + 300];
        if (replica_load(replica, seqs[i], reason, sizeof reason) == 0)
            return 0;
        /* Said on stderr, by name, and the one before is tried. */
        fprintf(stderr, "nodown: snapshot unusable, trying an older one: %s\n", reason);
        rv = replica_engine_fresh(replica, limits);
        if (rv != 0) {
            snprintf(errmsg, errmsg_size, "out of memory for the state");
            return rv;
        }
    }
    return 0; /* no snapshot: start empty, consume from sequence 1 */
}

void replica_close(struct replica *replica)
{
    char errmsg[256];
    if (replica->snapshot_pid > 0)
        replica_snapshot_poll(replica, true, errmsg, sizeof errmsg);
    engine_free(&replica->engine);
    replica_pool_free(replica->pool); /* its journal was closed first */
    replica->pool = NULL;
    orders_done_free(&replica->orders_done);
    mem_free(replica->commands);
    mem_free(replica->outcomes);
    replica->commands = NULL;
    replica->outcomes = NULL;
}

/* Removes all but the newest REPLICA_SNAPSHOTS_KEPT snapshot files and
 * the newest at or below keep_seq. */
static void replica_prune(const struct replica *replica)
{
    uint64_t seqs[REPLICA_LIST_MAX];
    uint32_t count = replica_snapshot_list(replica->dir, seqs, REPLICA_LIST_MAX);
    uint32_t kept_below = UINT32_MAX;
    for (uint32_t i = 0; i < count && kept_below == UINT32_MAX; i++)
        if (seqs[i] <= replica->keep_seq)
            kept_below = i;
    for (uint32_t i = REPLICA_SNAPSHOTS_KEPT; i < count; i++) {
        if (i == kept_below)
            continue;
        char path[REPLICA_PATH_MAX + 64];
        replica_file_path(replica, seqs[i], "", path, sizeof path);
        unlink(path); /* best effort: an old file left behind is only space */
    }
}

int replica_snapshot_start(struct replica *replica, char *errmsg, size_t errmsg_size)
{
    if (replica->stopped_seq != 0) {
        snprintf(errmsg, errmsg_size, "no snapshot: the replica stopped applying in the "
                 "middle of stream sequence %" PRIu64, replica->stopped_seq);
        return ERR_LOGIC_UNSUPPORTED;
    }
    if (replica->snapshot_pid > 0) {
        snprintf(errmsg, errmsg_size, "a snapshot is still being written");
        return ERR_USAGE;
    }
    char temporary[REPLICA_PATH_MAX + 64];
    char final[REPLICA_PATH_MAX + 64];
    replica_file_path(replica, replica->applied_seq, ".", temporary, sizeof temporary);
    replica_file_path(replica, replica->applied_seq, "", final, sizeof final);
    fflush(NULL);
    uint64_t start_ns = clock_now_ns();
    pid_t pid = fork();
    uint64_t pause_ns = clock_now_ns() - start_ns;
    if (pid < 0) {
        snprintf(errmsg, errmsg_size, "fork for a snapshot: %s", strerror(errno));
        return ERR_IO;
    }
    if (pid == 0) /* the child: the state as of the fork, copy-on-write */
        _exit(replica_file_write(replica, temporary, final) == 0 ? 0 : 1);
    if (pause_ns > replica->snapshot_pause_ns_max)
        replica->snapshot_pause_ns_max = pause_ns;
    replica->snapshot_pid = pid;
    replica->snapshot_pid_seq = replica->applied_seq;
    replica->bytes_since_snapshot = 0;
    return 0;
}

int replica_snapshot_poll(struct replica *replica, bool wait, char *errmsg, size_t errmsg_size)
{
    if (replica->snapshot_pid <= 0)
        return 0;
    int status = 0;
    pid_t done = waitpid(replica->snapshot_pid, &status, wait ? 0 : WNOHANG);
    if (done == 0)
        return 0;
    replica->snapshot_pid = 0;
    if (done < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        snprintf(errmsg, errmsg_size, "writing the snapshot at sequence %" PRIu64 " failed",
                 replica->snapshot_pid_seq);
        return ERR_IO;
    }
    replica->snapshot_seq = replica->snapshot_pid_seq;
    replica_prune(replica);
    return 1;
}
