/* A backup's files (backup_store.h): zstd streaming in and out, each side
 * hashed with XXH3 as it passes, the checks against the manifest, and the
 * replay of a backup through this build's replica, exactly as a node
 * applies the stream (replica_apply: the stored time made monotonic).
 */
#include "ops/backup_store.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>
#include <zstd.h>

#include "core/result.h"
#include "lib/clock.h"
#include "ops/stream_copy.h"
#include "core/snapshot.h"
#include "replica/replica.h"

#define STORE_CHUNK_SIZE (1u << 20)

uint64_t backup_unix_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return (uint64_t)now.tv_sec * 1000u + (uint64_t)now.tv_nsec / 1000000u;
}

int backup_sync_path(const char *path)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    int rv = fsync(fd);
    close(fd);
    return rv == 0 ? 0 : -1;
}

/* The buffers and hashes of one pass through zstd. */
struct store_pass {
    FILE *in;
    FILE *out;
    uint8_t *in_buffer;
    uint8_t *out_buffer;
    size_t out_size;
    XXH3_state_t *in_hash;
    XXH3_state_t *out_hash;
    uint64_t in_bytes;
    uint64_t out_bytes;
};

static int store_pass_open(struct store_pass *pass, const char *from, const char *to,
                           size_t out_size, char *errmsg, size_t size)
{
    memset(pass, 0, sizeof *pass);
    pass->in = fopen(from, "rb");
    if (pass->in == NULL) {
        snprintf(errmsg, size, "%s: %s", from, strerror(errno));
        return ERR_IO;
    }
    pass->out = fopen(to, "wb");
    if (pass->out == NULL) {
        snprintf(errmsg, size, "%s: %s", to, strerror(errno));
        return ERR_IO;
    }
    pass->out_size = out_size;
    pass->in_buffer = malloc(STORE_CHUNK_SIZE);
    pass->out_buffer = malloc(out_size);
    pass->in_hash = XXH3_createState();
    pass->out_hash = XXH3_createState();
    if (pass->in_buffer == NULL || pass->out_buffer == NULL || pass->in_hash == NULL ||
        pass->out_hash == NULL) {
        snprintf(errmsg, size, "%s: out of memory for its buffers", from);
        return ERR_NOMEM;
    }
    XXH3_64bits_reset(pass->in_hash);
    XXH3_64bits_reset(pass->out_hash);
    return 0;
}

/* Closes both files (the output synced when ok). Returns rv, or ERR_IO
 * when the output could not be written out. */
static int store_pass_close(struct store_pass *pass, int rv, const char *to, char *errmsg,
                            size_t size)
{
    if (pass->out != NULL) {
        bool failed = fflush(pass->out) != 0 || (rv == 0 && fsync(fileno(pass->out)) != 0);
        failed = fclose(pass->out) != 0 || failed;
        if (failed && rv == 0) {
            snprintf(errmsg, size, "%s: %s", to, strerror(errno));
            rv = ERR_IO;
        }
    }
    if (pass->in != NULL)
        fclose(pass->in);
    free(pass->in_buffer);
    free(pass->out_buffer);
    XXH3_freeState(pass->in_hash);
    XXH3_freeState(pass->out_hash);
    return rv;
}

static int store_write(struct store_pass *pass, size_t length)
{
    XXH3_64bits_update(pass->out_hash, pass->out_buffer, length);
    pass->out_bytes += length;
    return fwrite(pass->out_buffer, 1, length, pass->out) == length ? 0 : ERR_IO;
}

/* Feeds the whole input through the compressor. */
static int store_compress_all(struct store_pass *pass, ZSTD_CCtx *cctx)
{
    bool last = false;
    while (!last) {
        size_t got = fread(pass->in_buffer, 1, STORE_CHUNK_SIZE, pass->in);
        if (ferror(pass->in))
            return ERR_IO;
        last = got < STORE_CHUNK_SIZE;
        XXH3_64bits_update(pass->in_hash, pass->in_buffer, got);
        pass->in_bytes += got;
        ZSTD_inBuffer input = {pass->in_buffer, got, 0};
        ZSTD_EndDirective mode = last ? ZSTD_e_end : ZSTD_e_continue;
        bool done = false;
        while (!done) {
            ZSTD_outBuffer output = {pass->out_buffer, pass->out_size, 0};
            size_t left = ZSTD_compressStream2(cctx, &output, &input, mode);
            if (ZSTD_isError(left) || store_write(pass, output.pos) != 0)
                return ERR_IO;
            done = last ? left == 0 : input.pos == input.size;
        }
    }
    return 0;
}

int backup_file_compress(const char *raw_path, const char *zst_path,
                         struct backup_manifest_file *entry, char *errmsg, size_t size)
{
    struct store_pass pass;
    int rv = store_pass_open(&pass, raw_path, zst_path, ZSTD_CStreamOutSize(), errmsg, size);
    ZSTD_CCtx *cctx = rv == 0 ? ZSTD_createCCtx() : NULL;
    if (rv == 0 && cctx == NULL)
        rv = ERR_NOMEM;
    if (rv == 0) {
        ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, BACKUP_ZSTD_LEVEL);
        ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1);
        rv = store_compress_all(&pass, cctx);
        if (rv != 0)
            snprintf(errmsg, size, "compressing %s into %s: %s", raw_path, zst_path,
                     strerror(errno));
    }
    ZSTD_freeCCtx(cctx);
    entry->raw_size_bytes = pass.in_bytes;
    entry->raw_xxh3 = pass.in_hash != NULL ? XXH3_64bits_digest(pass.in_hash) : 0;
    entry->size_bytes = pass.out_bytes;
    entry->xxh3 = pass.out_hash != NULL ? XXH3_64bits_digest(pass.out_hash) : 0;
    return store_pass_close(&pass, rv, zst_path, errmsg, size);
}

/* Feeds the whole input through the decompressor; a frame cut short is
 * an error. */
static int store_decompress_all(struct store_pass *pass, ZSTD_DCtx *dctx)
{
    size_t left = 1;
    for (;;) {
        size_t got = fread(pass->in_buffer, 1, STORE_CHUNK_SIZE, pass->in);
        if (ferror(pass->in))
            return ERR_IO;
        if (got == 0)
            return left == 0 ? 0 : ERR_DECODE_MALFORMED;
        ZSTD_inBuffer input = {pass->in_buffer, got, 0};
        while (input.pos < input.size) {
            ZSTD_outBuffer output = {pass->out_buffer, pass->out_size, 0};
            left = ZSTD_decompressStream(dctx, &output, &input);
            if (ZSTD_isError(left))
                return ERR_DECODE_MALFORMED;
            if (store_write(pass, output.pos) != 0)
                return ERR_IO;
        }
    }
}

int backup_file_decompress(const char *zst_path, const char *raw_path,
                           const struct backup_manifest_file *entry, char *errmsg, size_t size)
{
    struct store_pass pass;
    int rv = store_pass_open(&pass, zst_path, raw_path, ZSTD_DStreamOutSize(), errmsg, size);
    ZSTD_DCtx *dctx = rv == 0 ? ZSTD_createDCtx() : NULL;
    if (rv == 0 && dctx == NULL)
        rv = ERR_NOMEM;
    if (rv == 0) {
        rv = store_decompress_all(&pass, dctx);
        if (rv != 0)
            snprintf(errmsg, size, "%s: %s", zst_path,
                     rv == ERR_IO ? strerror(errno) : "not whole zstd data (damaged)");
    }
    ZSTD_freeDCtx(dctx);
    if (rv == 0 && (pass.out_bytes != entry->raw_size_bytes ||
                    XXH3_64bits_digest(pass.out_hash) != entry->raw_xxh3)) {
        snprintf(errmsg, size, "%s: decompressed, %" PRIu64 " bytes do not match the manifest's "
                 "%" PRIu64 " bytes and checksum", zst_path, pass.out_bytes,
                 entry->raw_size_bytes);
        rv = ERR_CHECKSUM;
    }
    return store_pass_close(&pass, rv, raw_path, errmsg, size);
}

int backup_manifest_read(const char *dir, struct backup_manifest *manifest, char *errmsg,
                         size_t size)
{
    char path[BACKUP_PATH_MAX + 16], text[BACKUP_MANIFEST_SIZE_MAX + 1], why[256];
    snprintf(path, sizeof path, "%s/" BACKUP_MANIFEST_NAME, dir);
    FILE *file = fopen(path, "rb");
    if (file == NULL) {
        snprintf(errmsg, size, BACKUP_MANIFEST_NAME ": %s (%s is not a whole backup)",
                 strerror(errno), dir);
        return ERR_IO;
    }
    size_t length = fread(text, 1, sizeof text, file);
    fclose(file);
    int rv = backup_manifest_parse(text, length, manifest, why, sizeof why);
    if (rv != 0)
        snprintf(errmsg, size, BACKUP_MANIFEST_NAME ": %s (%s)", why, err_text(rv));
    return rv;
}

/* One stored file against its entry: its size, then its XXH3. */
static bool store_file_ok(const char *dir, const struct backup_manifest_file *entry,
                          FILE *report)
{
    char path[BACKUP_PATH_MAX + 80];
    snprintf(path, sizeof path, "%s/%s", dir, entry->name);
    FILE *file = fopen(path, "rb");
    if (file == NULL) {
        fprintf(report, "%s: missing (%s)\n", entry->name, strerror(errno));
        return false;
    }
    static uint8_t buffer[STORE_CHUNK_SIZE];
    XXH3_state_t *hash = XXH3_createState();
    assert(hash != NULL);
    XXH3_64bits_reset(hash);
    uint64_t bytes = 0;
    size_t got;
    while ((got = fread(buffer, 1, sizeof buffer, file)) > 0) {
        XXH3_64bits_update(hash, buffer, got);
        bytes += got;
    }
    bool read_ok = !ferror(file);
    fclose(file);
    uint64_t sum = XXH3_64bits_digest(hash);
    XXH3_freeState(hash);
    if (!read_ok)
        fprintf(report, "%s: cannot be read (%s)\n", entry->name, strerror(errno));
    else if (bytes != entry->size_bytes)
        fprintf(report, "%s: %" PRIu64 " bytes, the manifest says %" PRIu64 " (truncated or "
                "grown)\n", entry->name, bytes, entry->size_bytes);
    else if (sum != entry->xxh3)
        fprintf(report, "%s: damaged (its XXH3 is %016" PRIx64 ", the manifest says %016" PRIx64
                ")\n", entry->name, sum, entry->xxh3);
    return read_ok && bytes == entry->size_bytes && sum == entry->xxh3;
}

uint32_t backup_check_files(const char *dir, struct backup_manifest *manifest, FILE *report)
{
    char errmsg[512];
    if (backup_manifest_read(dir, manifest, errmsg, sizeof errmsg) != 0) {
        fprintf(report, "%s\n", errmsg);
        return 1;
    }
    uint32_t problems = 0;
    if (manifest->snapshot_seq > 0 &&
        backup_manifest_file_find(manifest, BACKUP_SNAPSHOT_FILE) == NULL) {
        fprintf(report, BACKUP_SNAPSHOT_FILE ": not in the manifest, which needs it\n");
        problems++;
    }
    if (backup_manifest_file_find(manifest, BACKUP_STREAM_FILE) == NULL) {
        fprintf(report, BACKUP_STREAM_FILE ": not in the manifest, which needs it\n");
        problems++;
    }
    for (uint32_t i = 0; i < manifest->file_count; i++)
        problems += store_file_ok(dir, &manifest->files[i], report) ? 0 : 1;
    return problems;
}

/* ---- The replay. ---- */

/* The replica opened on work_dir, with the snapshot moved into its place
 * first, at the sequence it must load at. */
static int store_replica_open(struct replica *replica, const char *snapshot_path,
                              const char *work_dir, uint64_t *snapshot_seq, char *errmsg,
                              size_t size)
{
    char snapshots[BACKUP_PATH_MAX + 16], path[BACKUP_PATH_MAX + 64];
    snprintf(snapshots, sizeof snapshots, "%s/snapshots", work_dir);
    if ((mkdir(work_dir, 0755) != 0 && errno != EEXIST) ||
        (mkdir(snapshots, 0755) != 0 && errno != EEXIST)) {
        snprintf(errmsg, size, "%s: %s", snapshots, strerror(errno));
        return ERR_IO;
    }
    *snapshot_seq = 0;
    if (snapshot_path != NULL) {
        uint8_t header[16];
        FILE *file = fopen(snapshot_path, "rb");
        size_t got = file != NULL ? fread(header, 1, sizeof header, file) : 0;
        if (file != NULL)
            fclose(file);
        for (int i = 0; got == sizeof header && i < 8; i++)
            *snapshot_seq |= (uint64_t)header[8 + i] << (8 * i);
        replica_snapshot_path(snapshots, *snapshot_seq, "", path, sizeof path);
        if (got != sizeof header || rename(snapshot_path, path) != 0) {
            snprintf(errmsg, size, "%s: cannot read its header or move it", snapshot_path);
            return ERR_IO;
        }
    }
    struct limits limits;
    limits_default(&limits);
    int rv = replica_open(replica, work_dir, &limits, errmsg, size);
    if (rv == 0 && replica->applied_seq != *snapshot_seq) {
        snprintf(errmsg, size, "the snapshot at %" PRIu64 " does not load in this build",
                 *snapshot_seq);
        replica_close(replica);
        rv = ERR_DECODE_MALFORMED;
    }
    return rv;
}

/* Every message of the copy applied, each the next one. */
static int store_apply_all(struct replica *replica, const char *stream_path, char *errmsg,
                           size_t size)
{
    struct stream_copy_reader reader;
    int rv = stream_copy_open(&reader, stream_path, errmsg, size);
    uint64_t seq = 0, timestamp_ns = 0, last_progress_ms = (uint64_t)clock_now_ms();
    const uint8_t *data = NULL;
    size_t length = 0;
    while (rv == 0 && (rv = stream_copy_next(&reader, &seq, &timestamp_ns, &data, &length)) == 1) {
        if (seq != replica->applied_seq + 1) {
            snprintf(errmsg, size, "stream copy: message %" PRIu64 " after %" PRIu64 " (a gap)",
                     seq, replica->applied_seq);
            rv = ERR_REPLICA_GAP;
            break;
        }
        rv = replica_apply(replica, seq, timestamp_ns, data, length, NULL, NULL);
        if (rv != 0)
            snprintf(errmsg, size, "stream copy: message %" PRIu64 ": %s", seq, err_text(rv));
        if ((uint64_t)clock_now_ms() - last_progress_ms >= 1000) {
            last_progress_ms = (uint64_t)clock_now_ms();
            fprintf(stderr, "nodown: replaying the backup: at stream sequence %" PRIu64 "\n", seq);
        }
    }
    if (rv == ERR_DECODE_MALFORMED)
        snprintf(errmsg, size, "%s: a record is cut short or too large", stream_path);
    if (reader.file != NULL)
        stream_copy_close(&reader);
    return rv;
}

int backup_replay(const char *snapshot_path, const char *stream_path, uint64_t end_seq,
                  const char *work_dir, bool write_snapshot, struct backup_replay_result *result,
                  char *errmsg, size_t size)
{
    memset(result, 0, sizeof *result);
    static struct replica replica;
    uint64_t snapshot_seq = 0;
    int rv = store_replica_open(&replica, snapshot_path, work_dir, &snapshot_seq, errmsg, size);
    if (rv != 0)
        return rv;
    uint64_t start_ns = clock_now_ns();
    rv = store_apply_all(&replica, stream_path, errmsg, size);
    result->apply_ns = clock_now_ns() - start_ns;
    if (rv == 0 && replica.applied_seq != end_seq) {
        snprintf(errmsg, size, "the backup ends at %" PRIu64 ", not at its end_seq %" PRIu64,
                 replica.applied_seq, end_seq);
        rv = ERR_DECODE_MALFORMED;
    }
    if (rv == 0) {
        struct digest digest;
        engine_digest(&replica.engine, &digest);
        digest_format(&digest, result->digest);
        if (engine_check(&replica.engine, result->check, sizeof result->check) == 0)
            snprintf(result->check, sizeof result->check, "ok");
        result->end_seq = replica.applied_seq;
        result->commands = replica.commands_applied;
        result->logic_version = replica.engine.logic_version;
        result->snapshot_format = snapshot_format_written(replica.engine.logic_version);
    }
    if (rv == 0 && write_snapshot)
        rv = replica_snapshot_write(&replica, errmsg, size);
    replica_close(&replica);
    return rv;
}

int backup_replay_dir(const char *dir, const struct backup_manifest *manifest,
                      const char *work_dir, bool write_snapshot,
                      struct backup_replay_result *result, char *errmsg, size_t size)
{
    char zst[BACKUP_PATH_MAX + 32], snapshot[BACKUP_PATH_MAX + 32], stream[BACKUP_PATH_MAX + 32];
    if (mkdir(work_dir, 0700) != 0 && errno != EEXIST) {
        snprintf(errmsg, size, "%s: %s", work_dir, strerror(errno));
        return ERR_IO;
    }
    const struct backup_manifest_file *entry = NULL;
    snprintf(snapshot, sizeof snapshot, "%s/snapshot.ndsf", work_dir);
    snprintf(stream, sizeof stream, "%s/stream.ndsc", work_dir);
    if (manifest->snapshot_seq > 0) {
        entry = backup_manifest_file_find(manifest, BACKUP_SNAPSHOT_FILE);
        assert(entry != NULL); /* backup_check_files said so */
        snprintf(zst, sizeof zst, "%s/" BACKUP_SNAPSHOT_FILE, dir);
        int rv = backup_file_decompress(zst, snapshot, entry, errmsg, size);
        if (rv != 0)
            return rv;
    }
    entry = backup_manifest_file_find(manifest, BACKUP_STREAM_FILE);
    assert(entry != NULL);
    snprintf(zst, sizeof zst, "%s/" BACKUP_STREAM_FILE, dir);
    int rv = backup_file_decompress(zst, stream, entry, errmsg, size);
    if (rv == 0)
        rv = backup_replay(manifest->snapshot_seq > 0 ? snapshot : NULL, stream,
                           manifest->end_seq, work_dir, write_snapshot, result, errmsg, size);
    unlink(stream);
    if (rv == 0 && strcmp(result->digest, manifest->digest) != 0) {
        snprintf(errmsg, size, "the replay's digest at %" PRIu64 " is %s, the manifest's %s",
                 result->end_seq, result->digest, manifest->digest);
        rv = ERR_CHECKSUM;
    }
    if (rv == 0 && manifest->node_digest[0] != '\0' &&
        strcmp(result->digest, manifest->node_digest) != 0) {
        snprintf(errmsg, size, "the replay's digest at %" PRIu64 " is %s, the node's was %s",
                 result->end_seq, result->digest, manifest->node_digest);
        rv = ERR_CHECKSUM;
    }
    return rv;
}

/* Removes the files in dir (not recursing further), then dir. */
static void store_remove_flat(const char *dir)
{
    DIR *handle = opendir(dir);
    struct dirent *entry;
    char path[BACKUP_PATH_MAX + 300];
    while (handle != NULL && (entry = readdir(handle)) != NULL) {
        if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, entry->d_name);
        unlink(path);
    }
    if (handle != NULL)
        closedir(handle);
    rmdir(dir);
}

void backup_scratch_remove(const char *dir)
{
    char snapshots[BACKUP_PATH_MAX + 16];
    snprintf(snapshots, sizeof snapshots, "%s/snapshots", dir);
    store_remove_flat(snapshots);
    store_remove_flat(dir);
}
