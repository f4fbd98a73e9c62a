/* The checker of test/cli/durability.sh: from strace's record of a
 * nats-server and the acknowledgements its clients saw, it proves that no
 * client had an acknowledgement before the server had synced the batch
 * that holds it (or finds the ones that came first).
 *
 *   e2e_sync_check --trace FILE --log FILE [--log FILE ...]
 *
 * The trace is taken with
 *     strace -f --seccomp-bpf --timestamps=unix,ns --syscall-times=ns -y -xx
 *            -s 1048576 -e trace=write,pwrite64,fsync,fdatasync
 * so each line has the thread, the wall-clock time strace saw the call
 * enter, the call with every byte spelled \xNN (the path behind each
 * descriptor too, from -y), its result and how long it took. A call that
 * another thread's call interrupted is printed in two lines
 * ("<unfinished ...>", then "<... name resumed>"). The logs are
 * e2e_node load's: one line per acknowledged command, whose 9th field is
 * the stream sequence of the batch that held it and whose 11th is the
 * wall-clock nanosecond at which the client had the acknowledgement.
 *
 * From a stream sequence to a write. nats-server keeps the stream in block
 * files, .../streams/NODOWN/msgs/<n>.blk, and appends to them with pwrite64.
 * Each message is one record: a 22-byte header (the record's length, whose
 * top bit flags headers; the stream sequence, whose top bit marks a
 * tombstone; the time; the subject's length; little endian), the subject,
 * headers and payload, and an 8-byte hash. The checker rebuilds each block
 * file from the writes in the trace and reads the records back, so each
 * stream sequence maps to the one write that completed its record,
 * whatever the sizes of the writes (with sync_interval: always it is one
 * record per write). A write anywhere but the file's end, a write(2)
 * (whose offset the trace does not show), data cut short by -s, a short
 * write, a malformed record, a sequence written twice or an acknowledged
 * one in no write is an error: the mapping is exact or the check fails.
 *
 * From a write to a sync. The write is synced by an fsync or fdatasync of
 * the same file (by path: any descriptor of it) that returned 0, which
 * strace saw enter no earlier than it saw the write return. The sync's
 * return is its entry time plus its duration. An acknowledgement holds
 * when some such sync of its batch's write returned before the client's
 * time; otherwise it is a violation.
 *
 * Why these times can be compared. strace reads the clock while the traced
 * thread is stopped: at a call's entry, before the kernel runs it, and at
 * its exit, after the kernel is done; the thread goes on only once strace
 * lets it. So a sync that entered after the write returned started with
 * the data already written, and the sync's return time comes before
 * anything the server did next, such as sending the publish's
 * acknowledgement, on which the node answers its client. The client reads
 * CLOCK_REALTIME, as strace does, on the same machine, after the answer
 * came. Exit: 0 all hold, 1 violations, 2 bad usage or input.
 */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SYNC_PATH_PART "/streams/NODOWN/msgs/" /* the journal's stream (journal.md) */
#define SYNC_PATH_SUFFIX ".blk"
#define SYNC_FILES_MAX 64u   /* block files in one trace: 8 MB each */
#define SYNC_THREADS_MAX 256u /* threads with a call unfinished at once */
#define SYNC_LOGS_MAX 16u
#define SYNC_SEQUENCES_MAX (1u << 22) /* a test's stream is far shorter */
#define SYNC_SHOWN_MAX 10u   /* errors and violations printed in full */
#define SYNC_RECORD_HEADER 22u
#define SYNC_RECORD_HASH 8u
#define SYNC_RECORD_MAX (32u << 20) /* larger is corrupt, as nats-server reads it */
#define SYNC_HEADERS_BIT 0x80000000u
#define SYNC_TOMBSTONE_BIT 0x8000000000000000u

struct sync_call_times {
    int64_t entry_ns;
    int64_t return_ns;
};

/* One block file, rebuilt from its writes. */
struct sync_file {
    char *path;
    uint64_t end_offset; /* where the next append goes */
    uint8_t *tail;       /* what follows the last whole record */
    size_t tail_size;
    size_t tail_capacity;
    struct sync_call_times *syncs; /* sorted by entry once the trace is read */
    int64_t *return_min;           /* [i]: the earliest return of syncs[i..] */
    size_t sync_count;
    size_t sync_capacity;
    bool broken; /* a malformed record: nothing after it can be read */
};

/* Where the record of one stream sequence was written. */
struct sync_written {
    uint32_t file_number; /* index + 1; 0: not written */
    bool acknowledged;
    int64_t return_ns; /* of the write that completed the record */
};

/* A call printed "<unfinished ...>", waiting for its second line. */
struct sync_pending {
    long thread;
    int64_t entry_ns;
    char *text; /* from the name to the marker */
};

struct sync_check {
    struct sync_file files[SYNC_FILES_MAX];
    uint32_t file_count;
    struct sync_written *written; /* by stream sequence */
    size_t written_capacity;
    struct sync_pending pending[SYNC_THREADS_MAX];
    uint32_t pending_count;
    uint64_t write_count;
    uint64_t record_count;
    uint64_t sync_count;
    uint64_t acknowledged_count;
    uint64_t batch_count;
    uint64_t violation_count;
    int64_t *margins_ns; /* of the acknowledgements that hold */
    size_t margin_count;
    size_t margin_capacity;
    uint64_t errors;
};

static void *sync_grow(void *array, size_t *capacity, size_t needed, size_t size)
{
    if (needed <= *capacity)
        return array;
    size_t count = needed * 2 + 16;
    uint8_t *grown = realloc(array, count * size);
    if (grown == NULL) {
        fprintf(stderr, "e2e_sync_check: out of memory\n");
        exit(2);
    }
    memset(grown + *capacity * size, 0, (count - *capacity) * size);
    *capacity = count;
    return grown;
}

/* An error in the input: counted, and the first few printed in full. */
#define SYNC_ERROR(check, ...)                                    \
    do {                                                          \
        if ((check)->errors++ < SYNC_SHOWN_MAX) {                 \
            fprintf(stderr, "e2e_sync_check: ");                  \
            fprintf(stderr, __VA_ARGS__);                         \
            fprintf(stderr, "\n");                                \
        }                                                         \
    } while (0)

static uint64_t sync_le(const uint8_t *bytes, unsigned size)
{
    uint64_t value = 0;
    for (unsigned i = size; i > 0; i--)
        value = value << 8 | bytes[i - 1];
    return value;
}

/* Decodes strace's \xNN bytes from text up to the stop character; returns
 * the byte count and sets *end to the stop, or returns -1. */
static long sync_unhex(const char *text, char stop, uint8_t *out, const char **end)
{
    static const char digits[] = "0123456789abcdef";
    long size = 0;
    while (*text != stop) {
        const char *high = text[0] == '\\' && text[1] == 'x' && text[2] != '\0'
                               ? strchr(digits, text[2]) : NULL;
        const char *low = high != NULL && text[3] != '\0' ? strchr(digits, text[3]) : NULL;
        if (low == NULL)
            return -1;
        if (out != NULL)
            out[size] = (uint8_t)((high - digits) << 4 | (low - digits));
        size++;
        text += 4;
    }
    *end = text;
    return size;
}

/* The path behind a call's first argument, "7<\x2f...>" (strace's -y):
 * the block file's index, or -1 for any other file. */
static int sync_file_of(struct sync_check *check, const char *args)
{
    while (*args >= '0' && *args <= '9')
        args++;
    const char *end = NULL;
    char path[4096];
    long size = *args == '<' ? sync_unhex(args + 1, '>', NULL, &end) : -1;
    if (size < 0 || size >= (long)sizeof path)
        return -1;
    sync_unhex(args + 1, '>', (uint8_t *)path, &end);
    path[size] = '\0';
    size_t suffix = strlen(SYNC_PATH_SUFFIX);
    if (strstr(path, SYNC_PATH_PART) == NULL || (size_t)size < suffix ||
        strcmp(path + size - suffix, SYNC_PATH_SUFFIX) != 0)
        return -1;
    for (uint32_t i = 0; i < check->file_count; i++) {
        if (strcmp(check->files[i].path, path) == 0)
            return (int)i;
    }
    if (check->file_count == SYNC_FILES_MAX) {
        SYNC_ERROR(check, "more than %u block files", SYNC_FILES_MAX);
        return -1;
    }
    check->files[check->file_count].path = strdup(path);
    return (int)check->file_count++;
}

/* Reads the whole records at the start of the file's tail: each one's
 * sequence was written by the write that returned at return_ns. */
static void sync_records_take(struct sync_check *check, uint32_t file_index, int64_t return_ns)
{
    struct sync_file *file = &check->files[file_index];
    size_t used = 0;
    while (!file->broken && file->tail_size - used >= SYNC_RECORD_HEADER) {
        const uint8_t *record = file->tail + used;
        uint32_t size = (uint32_t)sync_le(record, 4) & ~SYNC_HEADERS_BIT;
        uint64_t sequence = sync_le(record + 4, 8);
        uint32_t subject_size = (uint32_t)sync_le(record + 20, 2);
        if (size > SYNC_RECORD_MAX ||
            size < SYNC_RECORD_HEADER + subject_size + SYNC_RECORD_HASH) {
            SYNC_ERROR(check, "%s: a malformed record at offset %" PRIu64, file->path,
                       file->end_offset - (file->tail_size - used));
            file->broken = true;
            break;
        }
        if (file->tail_size - used < size)
            break; /* the rest comes with a later write */
        used += size;
        check->record_count++;
        if (sequence & SYNC_TOMBSTONE_BIT)
            continue; /* marks a deleted message: none is stored */
        if (sequence >= SYNC_SEQUENCES_MAX) {
            SYNC_ERROR(check, "%s: stream sequence %" PRIu64 " is beyond this check's %u",
                       file->path, sequence, SYNC_SEQUENCES_MAX);
            continue;
        }
        check->written = sync_grow(check->written, &check->written_capacity, sequence + 1,
                                   sizeof *check->written);
        struct sync_written *written = &check->written[sequence];
        if (written->file_number != 0) {
            SYNC_ERROR(check, "stream sequence %" PRIu64 " written twice", sequence);
            continue;
        }
        written->file_number = file_index + 1;
        written->return_ns = return_ns;
    }
    assert(used <= file->tail_size);
    if (used > 0) {
        memmove(file->tail, file->tail + used, file->tail_size - used);
        file->tail_size -= used;
    }
}

/* pwrite64(fd<path>, "\x..", count, offset) = result */
static void sync_pwrite(struct sync_check *check, int file_index, const char *args,
                        long long result, int64_t return_ns)
{
    struct sync_file *file = &check->files[file_index];
    const char *data = strchr(args, '"');
    const char *end = NULL;
    long size = data != NULL ? sync_unhex(data + 1, '"', NULL, &end) : -1;
    unsigned long long count = 0;
    unsigned long long offset = 0;
    if (size < 0 || sscanf(end, "\", %llu, %llu", &count, &offset) != 2) {
        SYNC_ERROR(check, "%s: a write cut short by strace (-s) or not understood",
                   file->path);
        return;
    }
    if (result != (long long)count || (unsigned long long)size != count) {
        SYNC_ERROR(check, "%s: a write of %llu bytes at %llu returned %lld", file->path, count,
                   offset, result);
        return;
    }
    if (offset != file->end_offset) {
        SYNC_ERROR(check, "%s: a write at offset %llu, not at the end (%" PRIu64 ")",
                   file->path, offset, file->end_offset);
        return;
    }
    file->tail = sync_grow(file->tail, &file->tail_capacity, file->tail_size + count, 1);
    sync_unhex(data + 1, '"', file->tail + file->tail_size, &end);
    file->tail_size += count;
    file->end_offset += count;
    check->write_count++;
    sync_records_take(check, (uint32_t)file_index, return_ns);
}

/* "SECONDS.NNNNNNNNN" (strace's ns precision, nine digits) in ns. */
static bool sync_time_ns(const char *text, int64_t *ns)
{
    unsigned long long seconds = 0;
    unsigned long long fraction = 0;
    int dot = 0;
    int end = 0;
    if (sscanf(text, "%llu%n.%llu%n", &seconds, &dot, &fraction, &end) != 2 || end - dot != 10)
        return false;
    *ns = (int64_t)(seconds * 1000000000u + fraction);
    return true;
}

/* One whole call, "name(arguments) = RESULT <DURATION>", which strace saw
 * enter at entry_ns. */
static void sync_call(struct sync_check *check, const char *call, int64_t entry_ns)
{
    bool write = strncmp(call, "write(", 6) == 0;
    bool pwrite = strncmp(call, "pwrite64(", 9) == 0;
    bool sync = strncmp(call, "fsync(", 6) == 0 || strncmp(call, "fdatasync(", 10) == 0;
    if (!write && !pwrite && !sync)
        return;
    const char *text = strchr(call, '(') + 1;
    int file_index = sync_file_of(check, text);
    if (file_index < 0)
        return;
    const char *equals = strstr(text, ") = ");
    for (const char *next = equals; next != NULL; next = strstr(next + 1, ") = "))
        equals = next;
    long long result = -1;
    const char *duration = equals != NULL ? strrchr(equals, '<') : NULL;
    int64_t duration_ns = 0;
    if (duration == NULL || sscanf(equals, ") = %lld", &result) != 1 ||
        !sync_time_ns(duration + 1, &duration_ns)) {
        SYNC_ERROR(check, "%s: a call without a result or duration (strace -T)",
                   check->files[file_index].path);
        return;
    }
    int64_t return_ns = entry_ns + duration_ns;
    if (write) {
        SYNC_ERROR(check, "%s: a write(2), whose offset the trace does not show",
                   check->files[file_index].path);
    } else if (pwrite) {
        sync_pwrite(check, file_index, text, result, return_ns);
    } else if (result == 0) {
        struct sync_file *file = &check->files[file_index];
        file->syncs = sync_grow(file->syncs, &file->sync_capacity, file->sync_count + 1,
                                sizeof *file->syncs);
        file->syncs[file->sync_count++] = (struct sync_call_times){entry_ns, return_ns};
        check->sync_count++;
    }
}

static struct sync_pending *sync_pending_of(struct sync_check *check, long thread)
{
    for (uint32_t i = 0; i < check->pending_count; i++) {
        if (check->pending[i].thread == thread)
            return &check->pending[i];
    }
    return NULL;
}

/* One line of the trace: "THREAD TIME CALL", where CALL is a whole call,
 * the first half of one ("... <unfinished ...>") or its second
 * ("<... name resumed>..."), or a signal or exit ("---", "+++"). */
static void sync_line(struct sync_check *check, char *line)
{
    static const char unfinished[] = " <unfinished ...>";
    long thread = 0;
    int64_t at_ns = 0;
    int time_at = 0;
    int call_at = 0;
    line[strcspn(line, "\n")] = '\0';
    if (sscanf(line, "%ld %n%*s %n", &thread, &time_at, &call_at) != 1 || call_at == 0 ||
        !sync_time_ns(line + time_at, &at_ns)) {
        SYNC_ERROR(check, "not a trace line: %.60s", line);
        return;
    }
    char *call = line + call_at;
    size_t size = strlen(call);
    struct sync_pending *pending = sync_pending_of(check, thread);
    if (strncmp(call, "<... ", 5) == 0) {
        char *rest = strstr(call, " resumed>");
        size_t name_size = rest != NULL ? (size_t)(rest - (call + 5)) : 0;
        if (pending == NULL || rest == NULL || strncmp(pending->text, call + 5, name_size) != 0 ||
            pending->text[name_size] != '(') {
            SYNC_ERROR(check, "thread %ld: a call resumed that never started", thread);
            return;
        }
        size_t first = strlen(pending->text);
        char *whole = malloc(first + strlen(rest) + 1);
        if (whole == NULL)
            exit(2);
        memcpy(whole, pending->text, first);
        strcpy(whole + first, rest + strlen(" resumed>"));
        sync_call(check, whole, pending->entry_ns);
        free(whole);
        free(pending->text);
        *pending = check->pending[--check->pending_count];
    } else if (size > strlen(unfinished) &&
               strcmp(call + size - strlen(unfinished), unfinished) == 0 &&
               strchr(call, '(') != NULL) {
        if (pending == NULL && check->pending_count == SYNC_THREADS_MAX) {
            SYNC_ERROR(check, "more than %u calls unfinished at once", SYNC_THREADS_MAX);
            return;
        }
        if (pending == NULL)
            pending = &check->pending[check->pending_count++];
        else
            free(pending->text); /* the thread's last call never came back (it died) */
        call[size - strlen(unfinished)] = '\0';
        *pending = (struct sync_pending){thread, at_ns, strdup(call)};
    } else if (strchr(call, '(') != NULL) {
        sync_call(check, call, at_ns); /* not a signal ("---") or an exit ("+++") */
    }
}

static int sync_times_compare(const void *a, const void *b)
{
    const struct sync_call_times *x = a;
    const struct sync_call_times *y = b;
    return (x->entry_ns > y->entry_ns) - (x->entry_ns < y->entry_ns);
}

/* Sorts each file's syncs by entry and notes, from each one on, the
 * earliest return: what a write that returned before that entry can get. */
static void sync_files_index(struct sync_check *check)
{
    for (uint32_t i = 0; i < check->file_count; i++) {
        struct sync_file *file = &check->files[i];
        if (file->sync_count > 0)
            qsort(file->syncs, file->sync_count, sizeof *file->syncs, sync_times_compare);
        file->return_min = calloc(file->sync_count + 1, sizeof *file->return_min);
        if (file->return_min == NULL)
            exit(2);
        file->return_min[file->sync_count] = INT64_MAX;
        for (size_t k = file->sync_count; k > 0; k--) {
            int64_t at = file->syncs[k - 1].return_ns;
            file->return_min[k - 1] = at < file->return_min[k] ? at : file->return_min[k];
        }
    }
}

/* The earliest return of a sync of the file that entered at or after
 * written_ns; INT64_MAX when there is none. */
static int64_t sync_first_return(const struct sync_file *file, int64_t written_ns)
{
    size_t low = 0;
    size_t high = file->sync_count;
    while (low < high) {
        size_t middle = low + (high - low) / 2;
        if (file->syncs[middle].entry_ns < written_ns)
            low = middle + 1;
        else
            high = middle;
    }
    assert(low <= file->sync_count);
    assert(low == file->sync_count || file->syncs[low].entry_ns >= written_ns);
    return file->return_min[low];
}

/* One acknowledgement: the client had the outcome of client_seq, held in
 * the batch at stream_seq, at acknowledged_ns. */
static void sync_acknowledgement(struct sync_check *check, uint64_t client_id,
                                 uint64_t client_seq, uint64_t stream_seq,
                                 int64_t acknowledged_ns)
{
    struct sync_written *written =
        stream_seq < check->written_capacity ? &check->written[stream_seq] : NULL;
    if (written == NULL || written->file_number == 0) {
        SYNC_ERROR(check, "client %" PRIu64 " seq %" PRIu64 ": stream sequence %" PRIu64
                   " is in no write to a block file", client_id, client_seq, stream_seq);
        return;
    }
    check->acknowledged_count++;
    check->batch_count += !written->acknowledged;
    written->acknowledged = true;
    assert(written->file_number <= check->file_count);
    const struct sync_file *file = &check->files[written->file_number - 1];
    int64_t synced_ns = sync_first_return(file, written->return_ns);
    if (synced_ns < acknowledged_ns) {
        check->margins_ns = sync_grow(check->margins_ns, &check->margin_capacity,
                                      check->margin_count + 1, sizeof *check->margins_ns);
        check->margins_ns[check->margin_count++] = acknowledged_ns - synced_ns;
        return;
    }
    if (check->violation_count++ >= SYNC_SHOWN_MAX)
        return;
    printf("violation: client %" PRIu64 " seq %" PRIu64 " (stream sequence %" PRIu64
           ") acknowledged %.3f ms after its write to %s returned, ",
           client_id, client_seq, stream_seq,
           (double)(acknowledged_ns - written->return_ns) / 1e6, file->path);
    if (synced_ns == INT64_MAX)
        printf("and no sync of that file entered after the write\n");
    else
        printf("%.3f ms before the first sync after the write returned\n",
               (double)(synced_ns - acknowledged_ns) / 1e6);
}

/* One line of a load log: "account client_id client_seq result
 * command_type id value duplicate stream_seq unix_ms unix_ns". */
static void sync_log_line(struct sync_check *check, char *line)
{
    uint64_t client_id = 0;
    uint64_t client_seq = 0;
    uint64_t stream_seq = 0;
    int64_t acknowledged_ns = 0;
    if (sscanf(line, "%*s %" SCNu64 " %" SCNu64 " %*s %*s %*s %*s %*s %" SCNu64 " %*s %" SCNd64,
               &client_id, &client_seq, &stream_seq, &acknowledged_ns) != 4) {
        SYNC_ERROR(check, "not a load log line with its time in ns: %.60s", line);
        return;
    }
    sync_acknowledgement(check, client_id, client_seq, stream_seq, acknowledged_ns);
}

/* Gives each line of the file at path to line_take; the trace's lines can
 * be megabytes long (every byte written, four characters each). */
static int sync_lines_read(struct sync_check *check, const char *path,
                           void (*line_take)(struct sync_check *check, char *line))
{
    FILE *file = fopen(path, "r");
    if (file == NULL) {
        fprintf(stderr, "e2e_sync_check: %s: %s\n", path, strerror(errno));
        return -1;
    }
    char *line = NULL;
    size_t capacity = 0;
    while (getline(&line, &capacity, file) > 0)
        line_take(check, line);
    free(line);
    fclose(file);
    return 0;
}

static int sync_margins_compare(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a;
    int64_t y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* What the trace held, what was checked, and the verdict's numbers. */
static void sync_report(struct sync_check *check)
{
    printf("trace: %" PRIu64 " records in %" PRIu64 " writes, %" PRIu64
           " fsync/fdatasync, %u block file%s\n", check->record_count, check->write_count,
           check->sync_count, check->file_count, check->file_count == 1 ? "" : "s");
    printf("acknowledgements: %" PRIu64 " of %" PRIu64 " batches checked, %" PRIu64
           " before their batch's sync returned\n",
           check->acknowledged_count, check->batch_count, check->violation_count);
    if (check->margin_count > 0) {
        qsort(check->margins_ns, check->margin_count, sizeof *check->margins_ns,
              sync_margins_compare);
        printf("after the sync: %.3f ms at least, %.3f ms in the median\n",
               (double)check->margins_ns[0] / 1e6,
               (double)check->margins_ns[check->margin_count / 2] / 1e6);
    }
    printf("acknowledgements %" PRIu64 " violations %" PRIu64 " errors %" PRIu64 "\n",
           check->acknowledged_count, check->violation_count, check->errors);
}

int main(int argc, char **argv)
{
    const char *trace = NULL;
    const char *logs[SYNC_LOGS_MAX];
    uint32_t log_count = 0;
    bool usage = argc % 2 == 0;
    for (int i = 1; i + 1 < argc && !usage; i += 2) {
        if (strcmp(argv[i], "--trace") == 0)
            trace = argv[i + 1];
        else if (strcmp(argv[i], "--log") == 0 && log_count < SYNC_LOGS_MAX)
            logs[log_count++] = argv[i + 1];
        else
            usage = true;
    }
    if (usage || trace == NULL || log_count == 0) {
        fprintf(stderr, "usage: e2e_sync_check --trace FILE --log FILE [--log FILE ...]"
                        " (at most %u logs)\n", SYNC_LOGS_MAX);
        return 2;
    }
    static struct sync_check check;
    if (sync_lines_read(&check, trace, sync_line) != 0)
        return 2;
    for (uint32_t i = 0; i < check.file_count; i++) {
        if (check.files[i].tail_size != 0)
            SYNC_ERROR(&check, "%s: ends inside a record", check.files[i].path);
    }
    sync_files_index(&check);
    for (uint32_t i = 0; i < log_count; i++) {
        if (sync_lines_read(&check, logs[i], sync_log_line) != 0)
            return 2;
    }
    if (check.acknowledged_count == 0)
        SYNC_ERROR(&check, "no acknowledgement to check");
    sync_report(&check);
    if (check.errors != 0)
        return 2;
    return check.violation_count == 0 ? 0 : 1;
}
