/* The archive writer: its files, its thread and its transactions
 * (archive.h); archive_rows.c writes the rows. */
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "core/limits.h"
#include "core/result.h"
#include "history/archive_internal.h"
#include "lib/clock.h"
#include "lib/mem.h"

#define ARCHIVE_READ_RECORDS 4096u
#define ARCHIVE_GAP_WAIT_MS 5000u
#define ARCHIVE_BUSY_MS 10000

static void archive_error(struct archive *archive, const char *what, const char *why)
{
    pthread_mutex_lock(&archive->error_lock);
    snprintf(archive->error, sizeof archive->error, "%s: %.200s", what, why);
    pthread_mutex_unlock(&archive->error_lock);
    fprintf(stderr, "nodown: archive: %s: %s\n", what, why);
}

static void archive_path(const struct archive *archive, const char *name, char *path,
                         size_t size)
{
    snprintf(path, size, "%s/%s", archive->dir, name);
}

/* ---- Files. ---- */

/* Opens path for writing with the archive's settings, creating the tables
 * in a new file. */
static int archive_db_open(struct archive *archive, char *errmsg, size_t errmsg_size)
{
    char path[600];
    archive_path(archive, ARCHIVE_CURRENT, path, sizeof path);
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(path, &archive->db, flags, NULL) != SQLITE_OK) {
        snprintf(errmsg, errmsg_size, "%s: %s", path, sqlite3_errmsg(archive->db));
        sqlite3_close(archive->db);
        archive->db = NULL;
        return ERR_IO;
    }
    sqlite3_busy_timeout(archive->db, ARCHIVE_BUSY_MS);
    /* Large pages: the blobs of a message or a key fit in one, and SQLite
     * writes fewer, larger pages (a new file only: the size is fixed at
     * its creation). */
    int rv = archive_exec(archive->db, "PRAGMA page_size=65536;"
                          "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                          "PRAGMA cache_size=-131072; PRAGMA temp_store=MEMORY;",
                          errmsg, errmsg_size);
    if (rv == 0 && archive_meta_get(archive->db, "format_version", 0) == 0)
        rv = archive_schema_create(archive->db, errmsg, errmsg_size);
    int64_t version = archive_meta_get(archive->db, "format_version", 0);
    if (rv == 0 && (version < 1 || version > ARCHIVE_FORMAT_VERSION)) {
        snprintf(errmsg, errmsg_size, "%s: archive format %" PRId64 ", this build writes %u",
                 path, version, ARCHIVE_FORMAT_VERSION);
        rv = ERR_VERSION;
    }
    if (rv == 0)
        rv = archive_statements_prepare(archive, errmsg, errmsg_size);
    if (rv == 0 && archive_days_load(archive) != 0) {
        snprintf(errmsg, errmsg_size, "%s: account_day: %s", path, sqlite3_errmsg(archive->db));
        rv = ERR_IO;
    }
    if (rv != 0) {
        archive_statements_finalize(archive);
        sqlite3_close(archive->db);
        archive->db = NULL;
        return rv;
    }
    uint64_t stored = (uint64_t)archive_meta_get(archive->db, "last_seq", 0);
    if (stored > archive->position)
        archive->position = stored;
    archive->file_started = archive_meta_get(archive->db, "first_seq", 0) != 0;
    archive->trading_date = (uint32_t)archive_meta_get(archive->db, "trading_date", 0);
    memset(archive->account_seen, 0, archive->accounts_max);
    return 0;
}

static void archive_db_close(struct archive *archive)
{
    archive_statements_finalize(archive);
    sqlite3_close(archive->db);
    archive->db = NULL;
}

int archive_file_checksum(const char *path, char hex[33])
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ERR_IO;
    XXH3_state_t *state = XXH3_createState();
    XXH3_128bits_reset(state);
    uint8_t buffer[65536];
    ssize_t got;
    while ((got = read(fd, buffer, sizeof buffer)) > 0)
        XXH3_128bits_update(state, buffer, (size_t)got);
    XXH128_hash_t hash = XXH3_128bits_digest(state);
    XXH3_freeState(state);
    close(fd);
    if (got < 0)
        return ERR_IO;
    snprintf(hex, 33, "%016" PRIx64 "%016" PRIx64, (uint64_t)hash.high64, (uint64_t)hash.low64);
    return 0;
}

/* A sealed current.db becomes day-YYYYMMDD.db, read-only, checksummed.
 * Each step can be redone: a crash in between is finished at open. */
static int archive_seal_finish(struct archive *archive, uint32_t date, char *errmsg,
                               size_t errmsg_size)
{
    char current[600], name[64], final[600], sum[640], temporary[660];
    archive_path(archive, ARCHIVE_CURRENT, current, sizeof current);
    snprintf(name, sizeof name, "day-%08u.db", date);
    archive_path(archive, name, final, sizeof final);
    for (uint32_t n = 2; access(final, F_OK) == 0 && n < 100; n++) {
        snprintf(name, sizeof name, "day-%08u-%u.db", date, n); /* a date ended twice */
        archive_path(archive, name, final, sizeof final);
    }
    if (rename(current, final) != 0) {
        snprintf(errmsg, errmsg_size, "%s: %s", final, strerror(errno));
        return ERR_IO;
    }
    chmod(final, 0444);
    char hex[33];
    snprintf(sum, sizeof sum, "%s.xxh3", final);
    snprintf(temporary, sizeof temporary, "%s.new", sum);
    FILE *file = archive_file_checksum(final, hex) == 0 ? fopen(temporary, "w") : NULL;
    bool written = file != NULL && fprintf(file, "%s  %s\n", hex, name) > 0;
    if (file != NULL && (fflush(file) != 0 || fsync(fileno(file)) != 0))
        written = false;
    if (file != NULL)
        fclose(file);
    if (!written || rename(temporary, sum) != 0) {
        snprintf(errmsg, errmsg_size, "%s: cannot write its checksum", final);
        return ERR_IO;
    }
    int dir_fd = open(archive->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd >= 0) {
        fsync(dir_fd);
        close(dir_fd);
    }
    atomic_fetch_add(&archive->days_sealed, 1);
    return 0;
}

/* The open day's file, made one file (no WAL beside it), closed, sealed. */
static int archive_seal(struct archive *archive, char *errmsg, size_t errmsg_size)
{
    uint32_t date = archive->trading_date;
    archive_statements_finalize(archive);
    archive_exec(archive->db, "PRAGMA wal_checkpoint(TRUNCATE); PRAGMA journal_mode=DELETE;",
                 errmsg, errmsg_size);
    sqlite3_close(archive->db);
    archive->db = NULL;
    return archive_seal_finish(archive, date, errmsg, errmsg_size);
}

/* The newest sealed day's last_seq (0: none). */
static uint64_t archive_sealed_position(const char *dir)
{
    DIR *handle = opendir(dir);
    if (handle == NULL)
        return 0;
    char newest[256] = "";
    struct dirent *entry;
    while ((entry = readdir(handle)) != NULL) {
        size_t length = strlen(entry->d_name);
        if (strncmp(entry->d_name, "day-", 4) == 0 && length > 3 &&
            strcmp(entry->d_name + length - 3, ".db") == 0 && strcmp(entry->d_name, newest) > 0)
            snprintf(newest, sizeof newest, "%s", entry->d_name);
    }
    closedir(handle);
    if (newest[0] == '\0')
        return 0;
    char path[800];
    snprintf(path, sizeof path, "%s/%s", dir, newest);
    sqlite3 *db = NULL;
    uint64_t position = 0;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK)
        position = (uint64_t)archive_meta_get(db, "last_seq", 0);
    sqlite3_close(db);
    return position;
}

int archive_position_read(const char *data_dir, uint64_t *position, char *errmsg,
                          size_t errmsg_size)
{
    char dir[600], path[700];
    snprintf(dir, sizeof dir, "%s/%s", data_dir, ARCHIVE_DIR);
    snprintf(path, sizeof path, "%s/%s", dir, ARCHIVE_CURRENT);
    *position = archive_sealed_position(dir);
    if (access(path, F_OK) != 0)
        return 0;
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        snprintf(errmsg, errmsg_size, "%s: %s", path, sqlite3_errmsg(db));
        sqlite3_close(db);
        return ERR_IO;
    }
    sqlite3_busy_timeout(db, ARCHIVE_BUSY_MS);
    uint64_t last = (uint64_t)archive_meta_get(db, "last_seq", 0);
    sqlite3_close(db);
    if (last > *position)
        *position = last;
    return 0;
}

int archive_open(struct archive **out, const char *data_dir, uint64_t *position, char *errmsg,
                 size_t errmsg_size)
{
    struct archive *archive = mem_array_alloc(1, sizeof *archive);
    struct limits limits;
    limits_default(&limits);
    if (archive == NULL)
        return ERR_NOMEM;
    memset(archive, 0, sizeof *archive);
    pthread_mutex_init(&archive->error_lock, NULL);
    archive->accounts_max = limits.accounts_max;
    archive->account_seen = mem_array_alloc(limits.accounts_max, 1);
    archive->days = mem_array_alloc(limits.accounts_max, sizeof *archive->days);
    archive->dirty = mem_array_alloc(limits.accounts_max, sizeof *archive->dirty);
    archive->packer = archive_packer_new();
    *out = archive;
    if (archive->account_seen == NULL || archive->days == NULL ||
        archive->dirty == NULL || archive->packer == NULL)
        return ERR_NOMEM;
    snprintf(archive->dir, sizeof archive->dir, "%s/%s", data_dir, ARCHIVE_DIR);
    if (mkdir(archive->dir, 0755) != 0 && errno != EEXIST) {
        snprintf(errmsg, errmsg_size, "%s: %s", archive->dir, strerror(errno));
        return ERR_IO;
    }
    archive->position = archive_sealed_position(archive->dir);
    char current[600];
    archive_path(archive, ARCHIVE_CURRENT, current, sizeof current);
    int rv = 0;
    if (access(current, F_OK) == 0) {
        rv = archive_db_open(archive, errmsg, errmsg_size);
        if (rv == 0 && archive_meta_get(archive->db, "sealed", 0) == 1)
            rv = archive_seal(archive, errmsg, errmsg_size); /* a crash before the rename */
    }
    *position = archive->position;
    return rv;
}

/* ---- Transactions. ---- */

static int archive_begin(struct archive *archive)
{
    char errmsg[256];
    if (archive->db == NULL) {
        int rv = archive_db_open(archive, errmsg, sizeof errmsg);
        if (rv != 0) {
            archive_error(archive, "open", errmsg);
            return rv;
        }
    }
    int rv = archive_exec(archive->db, "BEGIN IMMEDIATE", errmsg, sizeof errmsg);
    if (rv != 0) {
        archive_error(archive, "begin", errmsg);
        return rv;
    }
    /* Read inside the transaction: another writer of this directory (the
     * old process of a hand-over) may have stored more. */
    uint64_t stored = (uint64_t)archive_meta_get(archive->db, "last_seq", 0);
    if (stored > archive->position)
        archive->position = stored;
    archive->in_transaction = true;
    archive->txn_rows = 0;
    archive->txn_started_ms = clock_now_ms();
    return 0;
}

static int archive_commit(struct archive *archive)
{
    char errmsg[256];
    int rv = archive_keys_flush(archive);
    if (rv == 0)
        rv = archive_days_flush(archive);
    if (rv == 0)
        rv = archive_meta_set(archive, "last_seq", (int64_t)archive->position);
    if (rv == 0)
        rv = archive_meta_set(archive, "trading_date", archive->trading_date);
    if (rv == 0 && archive->seal_after)
        rv = archive_meta_set(archive, "sealed", 1);
    if (rv == 0)
        rv = archive_exec(archive->db, "COMMIT", errmsg, sizeof errmsg);
    archive->in_transaction = false;
    if (rv != 0) {
        char why[256];
        pthread_mutex_lock(&archive->error_lock);
        snprintf(why, sizeof why, "%s", archive->error);
        pthread_mutex_unlock(&archive->error_lock);
        archive_exec(archive->db, "ROLLBACK", errmsg, sizeof errmsg);
        archive_error(archive, "commit", why);
        return rv;
    }
    atomic_fetch_add(&archive->commits, 1);
    feed_consumer_committed(archive->consumer, archive->position);
    if (archive->seal_after) {
        archive->seal_after = false;
        rv = archive_seal(archive, errmsg, sizeof errmsg);
        if (rv != 0)
            archive_error(archive, "seal", errmsg);
    }
    return rv;
}

/* A message starts: in this transaction, or skipped when stored already. */
static int archive_batch_start(struct archive *archive, const struct feed_record *record)
{
    if (!archive->in_transaction) {
        int rv = archive_begin(archive);
        if (rv != 0)
            return rv;
    }
    archive->skipping = record->stream_seq <= archive->position;
    if (archive->skipping)
        return 0;
    if (archive->position != 0 && record->stream_seq != archive->position + 1) {
        /* Messages this writer never got (docs/history.md, "Gaps"). */
        char sql[128];
        snprintf(sql, sizeof sql, "INSERT INTO gaps VALUES(%" PRIu64 ",%" PRIu64 ")",
                 archive->position + 1, record->stream_seq - 1);
        char errmsg[256];
        archive_exec(archive->db, sql, errmsg, sizeof errmsg);
        atomic_fetch_add(&archive->gaps, 1);
        fprintf(stderr, "nodown: archive: messages %" PRIu64 "..%" PRIu64 " were never "
                "handed to it; recorded as a gap\n", archive->position + 1,
                record->stream_seq - 1);
    }
    if (!archive->file_started) { /* the open file's first message */
        archive_meta_set(archive, "first_seq", (int64_t)record->stream_seq);
        archive->file_started = true;
    }
    archive->batch_seq = record->stream_seq;
    archive->batch_time_ns = record->time_ns;
    archive->batch_commands = record->u.batch.command_count;
    archive->batch_events = 0;
    for (int blob = 0; blob < 4; blob++)
        archive->batch_start[blob] = archive->blobs[blob].used;
    return 0;
}

/* One record; returns 1 when a message ended (a point to commit at). */
static int archive_take(struct archive *archive, const struct feed_record *record)
{
    if (record->kind == FEED_BATCH)
        return archive_batch_start(archive, record);
    if (!archive->in_transaction)
        return 0; /* the rest of a message whose start failed */
    if (record->kind != FEED_BATCH_END) {
        if (archive->skipping)
            return 0;
        return archive_record(archive, record);
    }
    if (archive->skipping) {
        archive->skipping = false;
        return 1;
    }
    int rv = archive_batch_finish(archive);
    archive->position = record->stream_seq;
    if (rv == 0 && archive->seal_after)
        rv = archive_commit(archive);
    return rv == 0 ? 1 : rv;
}

static bool archive_commit_due(const struct archive *archive)
{
    return archive->in_transaction &&
           (archive->txn_rows >= ARCHIVE_TXN_ROWS_MAX ||
            clock_now_ms() - archive->txn_started_ms >= ARCHIVE_TXN_MS);
}

static void *archive_thread(void *context)
{
    struct archive *archive = context;
    struct feed_record *records = mem_array_alloc(ARCHIVE_READ_RECORDS, sizeof *records);
    bool at_boundary = true;
    bool failed = records == NULL;
    while (!failed) {
        uint32_t count = feed_consumer_read(archive->consumer, records, ARCHIVE_READ_RECORDS, 20);
        for (uint32_t i = 0; i < count && !failed; i++) {
            int rv = archive_take(archive, &records[i]);
            failed = rv < 0;
            at_boundary = rv == 1 || (rv == 0 && at_boundary && records[i].kind != FEED_BATCH);
            if (rv == 1 && archive_commit_due(archive))
                failed = archive_commit(archive) != 0;
        }
        if (count == 0 && at_boundary && archive->in_transaction)
            failed = archive_commit(archive) != 0;
        struct timespec cpu;
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu);
        atomic_store(&archive->cpu_ns, (uint64_t)cpu.tv_sec * 1000000000u + (uint64_t)cpu.tv_nsec);
        if (count == 0 && atomic_load(&archive->stop) != 0 && !archive->in_transaction)
            break;
    }
    if (failed && archive->in_transaction) {
        char errmsg[64];
        archive_exec(archive->db, "ROLLBACK", errmsg, sizeof errmsg);
        archive->in_transaction = false;
    }
    mem_free(records);
    return NULL;
}

int archive_start(struct archive *archive, struct feed_consumer *consumer, char *errmsg,
                  size_t errmsg_size)
{
    archive->consumer = consumer;
    if (pthread_create(&archive->thread, NULL, archive_thread, archive) != 0) {
        snprintf(errmsg, errmsg_size, "cannot start the archive's thread");
        return ERR_NOMEM;
    }
    archive->thread_started = true;
    return 0;
}

void archive_close(struct archive *archive, uint32_t wait_ms)
{
    if (archive == NULL)
        return;
    if (archive->thread_started) {
        uint64_t start_ms = (uint64_t)clock_now_ms();
        while (feed_consumer_lag(archive->consumer) > 0 &&
               (uint64_t)clock_now_ms() - start_ms < wait_ms && archive->error[0] == '\0')
            clock_sleep_ms(5);
        atomic_store(&archive->stop, 1);
        pthread_join(archive->thread, NULL);
    }
    if (archive->db != NULL)
        archive_db_close(archive);
    pthread_mutex_destroy(&archive->error_lock);
    mem_free(archive->account_seen);
    free(archive->keys);
    free(archive->keys_scratch);
    mem_free(archive->days);
    mem_free(archive->dirty);
    for (int blob = 0; blob < 4; blob++) {
        archive_buffer_free(&archive->blobs[blob]);
        archive_buffer_free(&archive->packed[blob]);
    }
    archive_buffer_free(&archive->posting);
    archive_packer_free(archive->packer);
    mem_free(archive);
}

void archive_stats_get(struct archive *archive, struct archive_stats *stats)
{
    memset(stats, 0, sizeof *stats);
    if (archive == NULL)
        return;
    stats->position = archive->consumer != NULL ? atomic_load(&archive->consumer->committed_seq)
                                                : archive->position;
    stats->rows = atomic_load(&archive->rows);
    stats->events = atomic_load(&archive->events);
    stats->commits = atomic_load(&archive->commits);
    stats->days_sealed = atomic_load(&archive->days_sealed);
    stats->gaps = atomic_load(&archive->gaps);
    stats->cpu_ns = atomic_load(&archive->cpu_ns);
    pthread_mutex_lock(&archive->error_lock);
    snprintf(stats->error, sizeof stats->error, "%s", archive->error);
    pthread_mutex_unlock(&archive->error_lock);
}
