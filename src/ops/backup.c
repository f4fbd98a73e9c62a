/* `nodown backup` (backup.h): the node's snapshot and the stream after it,
 * replayed, compressed and listed in a manifest, in a directory renamed
 * into place once complete.
 *
 *   resolve the node --> /metrics, /status --> GET /snapshot/latest (S)
 *     --> pick E and the node's digest at E (backup_end_pick)
 *     --> the stream S+1..E from NATS (stream_copy_from_nats)
 *     --> replay: digest at E == the node's, engine_check ok
 *     --> zstd each file, MANIFEST, sync, rename TO.partial-PID -> TO
 *     --> /metrics again: the pauses while it ran
 */
#include "ops/backup.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/result.h"
#include "gateway/admin_http.h"
#include "lib/clock.h"
#include "ops/backup_store.h"
#include "ops/cluster.h"
#include "ops/stream_copy.h"

#define BACKUP_BODY_SIZE (256u * 1024u)
#define BACKUP_BUCKETS_MAX 32u
#define BACKUP_ARGS_MAX 256u

/* The node a backup reads: its admin interface and its stream. */
struct backup_source {
    uint16_t port;
    char token[272];
    char urls[1024];
    char text[BACKUP_MANIFEST_SOURCE_SIZE];
};

/* What /metrics says that the backup reports. */
struct backup_metrics {
    int64_t pause_us_max;
    uint32_t bucket_count;
    int64_t bucket_le[BACKUP_BUCKETS_MAX]; /* -1: +Inf */
    uint64_t bucket_count_le[BACKUP_BUCKETS_MAX];
};

/* Where the work goes: TO.partial-PID, renamed to TO at the end. */
struct backup_work {
    const struct backup_config *config;
    struct backup_result *result;
    struct backup_source source;
    char partial[BACKUP_PATH_MAX];
    char snapshot[BACKUP_PATH_MAX + 32]; /* raw files, removed once compressed */
    char stream[BACKUP_PATH_MAX + 32];
    uint64_t applied_seq;                /* the node's, at the start */
};

/* ---- The source. ---- */

/* The value after name in a NUL-separated argument vector, or NULL. */
static const char *backup_arg(const char *args, size_t length, const char *name)
{
    for (size_t at = 0; at < length; at += strlen(args + at) + 1) {
        size_t next = at + strlen(args + at) + 1;
        if (strcmp(args + at, name) == 0 && next < length)
            return args + next;
    }
    return NULL;
}

/* The NATS URL of an embedded node's nats-server, from DIR/nats/nats.conf. */
static int backup_embedded_url(const char *dir, char *url, size_t size)
{
    char path[BACKUP_PATH_MAX + 32], line[256];
    snprintf(path, sizeof path, "%s/nats/nats.conf", dir);
    FILE *file = fopen(path, "r");
    unsigned port = 0;
    while (file != NULL && port == 0 && fgets(line, sizeof line, file) != NULL)
        if (sscanf(line, " listen: \"127.0.0.1:%u\"", &port) != 1)
            port = 0;
    if (file != NULL)
        fclose(file);
    snprintf(url, size, "nats://127.0.0.1:%u", port);
    return port > 0 && port <= 65535 ? 0 : -1;
}

/* A running node's data directory: DIR/serve.args names its admin
 * address, its token (else DIR/admin.token) and its NATS servers (else
 * its embedded server's, DIR/nats/nats.conf). */
static int backup_source_dir(const char *dir, struct backup_source *source, char *errmsg,
                             size_t size)
{
    static char args[16384];
    char path[BACKUP_PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/serve.args", dir);
    FILE *file = fopen(path, "rb");
    size_t length = file != NULL ? fread(args, 1, sizeof args - 1, file) : 0;
    if (file != NULL)
        fclose(file);
    args[length] = '\0';
    if (length < 2 || strcmp(args, "1") != 0) {
        snprintf(errmsg, size, "%s: not readable or not format 1: is a node serving %s?", path,
                 dir);
        return ERR_USAGE;
    }
    const char *http = backup_arg(args, length, "--http");
    const char *colon = http != NULL ? strrchr(http, ':') : NULL;
    source->port = colon != NULL ? (uint16_t)atoi(colon + 1) : 7480;
    const char *token = backup_arg(args, length, "--token");
    snprintf(path, sizeof path, "%s/admin.token", dir);
    if (source->token[0] == '\0' && token != NULL)
        snprintf(source->token, sizeof source->token, "%s", token);
    else if (source->token[0] == '\0')
        admin_token_read(path, source->token, sizeof source->token);
    const char *nats = backup_arg(args, length, "--nats");
    if (nats != NULL)
        snprintf(source->urls, sizeof source->urls, "%s", nats);
    else if (backup_embedded_url(dir, source->urls, sizeof source->urls) != 0) {
        snprintf(errmsg, size, "%s/nats/nats.conf: no listen address (not an embedded node?)",
                 dir);
        return ERR_USAGE;
    }
    snprintf(source->text, sizeof source->text, "node at 127.0.0.1:%u (data %.60s)",
             source->port, dir);
    return 0;
}

/* A local cluster: its node 0, and every server. */
static int backup_source_cluster(const char *dir, struct backup_source *source, char *errmsg,
                                 size_t size)
{
    static struct cluster_layout layout;
    if (cluster_layout_load(dir, &layout) != 0 || layout.node_count == 0) {
        snprintf(errmsg, size, "%s: no local cluster with a node there (cluster.txt)", dir);
        return ERR_USAGE;
    }
    char path[BACKUP_PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/node-0/admin.token", dir);
    if (source->token[0] == '\0')
        admin_token_read(path, source->token, sizeof source->token);
    source->port = layout.nodes[0].ports[1];
    size_t used = 0;
    for (uint32_t i = 0; i < layout.nats_count && used < sizeof source->urls; i++)
        used += (size_t)snprintf(source->urls + used, sizeof source->urls - used,
                                 "%snats://127.0.0.1:%u", i > 0 ? "," : "",
                                 layout.nats[i].ports[0]);
    snprintf(source->text, sizeof source->text, "cluster %.60s, node-0 at 127.0.0.1:%u", dir,
             source->port);
    return 0;
}

static int backup_source_resolve(const struct backup_config *config,
                                 struct backup_source *source, char *errmsg, size_t size)
{
    memset(source, 0, sizeof *source);
    snprintf(source->token, sizeof source->token, "%s", config->token);
    int rv = 0;
    if (config->node_dir != NULL)
        rv = backup_source_dir(config->node_dir, source, errmsg, size);
    else if (config->cluster_dir != NULL)
        rv = backup_source_cluster(config->cluster_dir, source, errmsg, size);
    else {
        source->port = config->admin_port;
        snprintf(source->text, sizeof source->text, "node at 127.0.0.1:%u", source->port);
    }
    if (rv == 0 && config->nats_urls != NULL)
        snprintf(source->urls, sizeof source->urls, "%s", config->nats_urls);
    if (rv == 0 && (source->urls[0] == '\0' || source->token[0] == '\0')) {
        snprintf(errmsg, size, "the node's %s is not known: give it (--nats, --token)",
                 source->urls[0] == '\0' ? "NATS address" : "operator token");
        rv = ERR_USAGE;
    }
    return rv;
}

/* ---- What the node says. ---- */

/* /metrics: the longest snapshot pause, and the apply-time histogram. */
static int backup_metrics_read(const struct backup_source *source, struct backup_metrics *out)
{
    static char body[BACKUP_BODY_SIZE];
    memset(out, 0, sizeof *out);
    out->pause_us_max = -1;
    if (admin_http_get(source->port, "/metrics", source->token, body, sizeof body) != 0)
        return -1;
    for (char *line = strtok(body, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        long long value = 0;
        unsigned long long count = 0;
        char le[32];
        if (sscanf(line, "nodown_snapshot_pause_us_max %lld", &value) == 1)
            out->pause_us_max = value;
        else if (out->bucket_count < BACKUP_BUCKETS_MAX &&
                 sscanf(line, "nodown_apply_latency_us_bucket{le=\"%31[^\"]\"} %llu", le,
                        &count) == 2) {
            out->bucket_le[out->bucket_count] = strcmp(le, "+Inf") == 0 ? -1 : atoll(le);
            out->bucket_count_le[out->bucket_count++] = count;
        }
    }
    return 0;
}

/* The smallest bound under which every batch applied between before and
 * after fits: the longest apply while the backup ran (-1: none applied,
 * INT64_MAX: over the last finite bound). */
static int64_t backup_apply_max(const struct backup_metrics *before,
                                const struct backup_metrics *after, uint64_t *batches)
{
    *batches = 0;
    if (before->bucket_count != after->bucket_count || after->bucket_count == 0)
        return -1;
    uint32_t last = after->bucket_count - 1;
    *batches = after->bucket_count_le[last] - before->bucket_count_le[last];
    if (*batches == 0)
        return -1;
    for (uint32_t i = 0; i < after->bucket_count; i++)
        if (after->bucket_count_le[i] - before->bucket_count_le[i] == *batches)
            return after->bucket_le[i] >= 0 ? after->bucket_le[i] : INT64_MAX;
    return INT64_MAX;
}

/* /status's field key as a number; 0 when absent. */
static uint64_t backup_status_u64(const char *status, const char *key)
{
    char value[32];
    admin_json_field(status, key, value, sizeof value);
    return strtoull(value, NULL, 10);
}

static int backup_status(const struct backup_source *source, char *body, size_t size)
{
    return admin_http_get(source->port, "/status", source->token, body, size);
}

/* The end sequence and the node's digest there: the node's own /status
 * digest when it is at or after the snapshot (an idle node has it within
 * a second), else /verify?at= a few messages ahead of it, waited for. */
static int backup_end_pick(struct backup_work *work, uint64_t snapshot_seq, char *errmsg,
                           size_t size)
{
    static char body[8192];
    struct backup_manifest *m = &work->result->manifest;
    int64_t start_ms = clock_now_ms(), deadline_ms = start_ms + BACKUP_NODE_DIGEST_WAIT_MS;
    uint64_t asked = 0, ahead = BACKUP_VERIFY_AHEAD;
    char path[64], state[32] = "";
    while (clock_now_ms() < deadline_ms) {
        if (backup_status(&work->source, body, sizeof body) != 0) {
            snprintf(errmsg, size, "the node at 127.0.0.1:%u stopped answering /status",
                     work->source.port);
            return ERR_IO;
        }
        uint64_t digest_seq = backup_status_u64(body, "digest_seq");
        work->applied_seq = backup_status_u64(body, "applied_seq");
        admin_json_field(body, "digest", m->node_digest, sizeof m->node_digest);
        /* Its own digest only when it is current (an idle node): under load
         * it lags, and the backup would end long before the node. */
        if (digest_seq >= snapshot_seq && digest_seq + BACKUP_VERIFY_AHEAD >= work->applied_seq &&
            strlen(m->node_digest) == 32) {
            m->end_seq = digest_seq;
            break;
        }
        m->node_digest[0] = '\0';
        if (asked > 0) {
            snprintf(path, sizeof path, "/verify?at=%" PRIu64, asked);
            admin_http_get(work->source.port, path, work->source.token, body, sizeof body);
            admin_json_field(body, "state", state, sizeof state);
            admin_json_field(body, "digest", m->node_digest, sizeof m->node_digest);
            if (strcmp(state, "done") == 0 && strlen(m->node_digest) == 32) {
                m->end_seq = asked;
                break;
            }
            m->node_digest[0] = '\0';
        }
        if (asked == 0 || strcmp(state, "past") == 0) {
            /* Passed before it was asked: ask further ahead each time. */
            ahead = asked == 0 ? BACKUP_VERIFY_AHEAD : ahead * 2;
            if (ahead > BACKUP_VERIFY_AHEAD_MAX)
                ahead = BACKUP_VERIFY_AHEAD_MAX;
            asked = (work->applied_seq > snapshot_seq ? work->applied_seq : snapshot_seq) + ahead;
            snprintf(path, sizeof path, "/verify?at=%" PRIu64, asked);
            admin_http_get(work->source.port, path, work->source.token, body, sizeof body);
        }
        clock_sleep_ms(100);
    }
    work->result->digest_wait_ms = (uint64_t)(clock_now_ms() - start_ms);
    if (m->node_digest[0] == '\0') {
        m->end_seq = work->applied_seq > snapshot_seq ? work->applied_seq : snapshot_seq;
        fprintf(stderr, "nodown backup: the node did not tell its digest within %d ms; the "
                "backup ends at its applied sequence %" PRIu64 ", checked by replay only\n",
                BACKUP_NODE_DIGEST_WAIT_MS, m->end_seq);
    }
    return 0;
}

/* ---- The backup. ---- */

/* GET /snapshot/latest into the work directory: S, or 0 when the node has
 * written none yet (the backup then starts from the empty state). */
static int backup_snapshot_fetch(struct backup_work *work, char *errmsg, size_t size)
{
    static char body[8192];
    struct backup_manifest *m = &work->result->manifest;
    uint64_t bytes = 0, start_ms = (uint64_t)clock_now_ms();
    snprintf(work->snapshot, sizeof work->snapshot, "%s/snapshot.ndsf", work->partial);
    if (admin_http_download(work->source.port, "/snapshot/latest", work->source.token,
                            work->snapshot, &m->snapshot_seq, &bytes) != 0) {
        unlink(work->snapshot);
        if (backup_status(&work->source, body, sizeof body) != 0 ||
            backup_status_u64(body, "snapshot_seq") != 0) {
            snprintf(errmsg, size, "GET /snapshot/latest from 127.0.0.1:%u failed (token, or "
                     "the node stopped?)", work->source.port);
            return ERR_IO;
        }
        m->snapshot_seq = 0; /* none written yet */
    }
    work->result->snapshot_ms = (uint64_t)clock_now_ms() - start_ms;
    fprintf(stderr, "nodown backup: snapshot at stream sequence %" PRIu64 ", %" PRIu64
            " bytes in %" PRIu64 " ms\n", m->snapshot_seq, bytes, work->result->snapshot_ms);
    return 0;
}

/* The stream from S + 1 to E, with its stored sequences and times. */
static int backup_stream_fetch(struct backup_work *work, char *errmsg, size_t size)
{
    struct backup_manifest *m = &work->result->manifest;
    struct stream_copy_summary summary;
    uint64_t start_ms = (uint64_t)clock_now_ms();
    snprintf(work->stream, sizeof work->stream, "%s/stream.ndsc", work->partial);
    fprintf(stderr, "nodown backup: reading the stream from %" PRIu64 " to %" PRIu64 " (%" PRIu64
            " messages) from %s\n", m->snapshot_seq + 1, m->end_seq,
            m->end_seq - m->snapshot_seq, work->source.urls);
    int rv = 0;
    if (m->end_seq > m->snapshot_seq) {
        rv = stream_copy_from_nats(work->source.urls, m->snapshot_seq + 1, m->end_seq,
                                   work->stream, &summary, errmsg, size);
    } else { /* nothing after the snapshot: an empty copy, its header only */
        const uint8_t header[8] = {'N', 'D', 'S', 'C', STREAM_COPY_VERSION, 0, 0, 0};
        FILE *file = fopen(work->stream, "wb");
        bool ok = file != NULL && fwrite(header, 1, sizeof header, file) == sizeof header;
        if ((file == NULL || fclose(file) != 0 || !ok) && (rv = ERR_IO) != 0)
            snprintf(errmsg, size, "%s: %s", work->stream, strerror(errno));
    }
    if (rv == 0 && m->end_seq > m->snapshot_seq &&
        (summary.first_seq != m->snapshot_seq + 1 || summary.last_seq != m->end_seq ||
         summary.messages != m->end_seq - m->snapshot_seq)) {
        snprintf(errmsg, size, "the stream holds %" PRIu64 " to %" PRIu64 ", not %" PRIu64
                 " to %" PRIu64 " (trimmed below the node's snapshot?)", summary.first_seq,
                 summary.last_seq, m->snapshot_seq + 1, m->end_seq);
        rv = ERR_NOT_FOUND;
    }
    m->messages = m->end_seq - m->snapshot_seq;
    work->result->stream_ms = (uint64_t)clock_now_ms() - start_ms;
    return rv;
}

/* The backup replayed by this build: its digest at E must be the node's. */
static int backup_replay_check(struct backup_work *work, char *errmsg, size_t size)
{
    struct backup_manifest *m = &work->result->manifest;
    struct backup_replay_result replay;
    char scratch[BACKUP_PATH_MAX + 32], snapshot_copy[BACKUP_PATH_MAX + 64];
    uint64_t start_ms = (uint64_t)clock_now_ms();
    snprintf(scratch, sizeof scratch, "%s/replay", work->partial);
    snprintf(snapshot_copy, sizeof snapshot_copy, "%s/replay-snapshot.ndsf", work->partial);
    int rv = 0;
    if (m->snapshot_seq > 0 && link(work->snapshot, snapshot_copy) != 0) {
        snprintf(errmsg, size, "%s: %s", snapshot_copy, strerror(errno));
        return ERR_IO;
    }
    rv = backup_replay(m->snapshot_seq > 0 ? snapshot_copy : NULL, work->stream, m->end_seq,
                       scratch, false, &replay, errmsg, size);
    backup_scratch_remove(scratch);
    work->result->replay_ms = (uint64_t)clock_now_ms() - start_ms;
    if (rv != 0)
        return rv;
    memcpy(m->digest, replay.digest, sizeof m->digest);
    m->logic_version = replay.logic_version;
    m->snapshot_format = replay.snapshot_format;
    if (strcmp(replay.check, "ok") != 0) {
        snprintf(errmsg, size, "the backup's state at %" PRIu64 " breaks an invariant: %s",
                 m->end_seq, replay.check);
        return ERR_INVARIANT;
    }
    if (m->node_digest[0] != '\0' && strcmp(m->node_digest, m->digest) != 0) {
        snprintf(errmsg, size, "DIGESTS DIFFER at stream sequence %" PRIu64 ": the node's %s, "
                 "the backup's replay %s; no backup kept", m->end_seq, m->node_digest,
                 m->digest);
        return ERR_CHECKSUM;
    }
    return 0;
}

/* Compresses one raw file into the backup as name, then removes it. */
static int backup_compress_one(struct backup_work *work, const char *raw, const char *name,
                               char *errmsg, size_t size)
{
    struct backup_manifest *m = &work->result->manifest;
    struct backup_manifest_file *entry = &m->files[m->file_count];
    char path[BACKUP_PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/%s", work->partial, name);
    int rv = backup_file_compress(raw, path, entry, errmsg, size);
    if (rv != 0)
        return rv;
    snprintf(entry->name, sizeof entry->name, "%s", name);
    m->file_count++;
    work->result->raw_bytes += entry->raw_size_bytes;
    work->result->stored_bytes += entry->size_bytes;
    unlink(raw);
    return 0;
}

/* MANIFEST written and synced, then the directory renamed into place. */
static int backup_seal(struct backup_work *work, char *errmsg, size_t size)
{
    char text[BACKUP_MANIFEST_SIZE_MAX], path[BACKUP_PATH_MAX + 16];
    size_t length = 0;
    int rv = backup_manifest_format(&work->result->manifest, text, sizeof text, &length);
    snprintf(path, sizeof path, "%s/" BACKUP_MANIFEST_NAME, work->partial);
    FILE *file = rv == 0 ? fopen(path, "wb") : NULL;
    bool ok = file != NULL && fwrite(text, 1, length, file) == length && fflush(file) == 0 &&
              fsync(fileno(file)) == 0;
    ok = file != NULL && fclose(file) == 0 && ok;
    if (!ok || backup_sync_path(work->partial) != 0 ||
        rename(work->partial, work->config->to) != 0) {
        snprintf(errmsg, size, "%s: %s", rv != 0 ? "manifest" : path, strerror(errno));
        return ERR_IO;
    }
    char parent[BACKUP_PATH_MAX];
    snprintf(parent, sizeof parent, "%s", work->config->to);
    char *slash = strrchr(parent, '/');
    if (slash != NULL && slash != parent)
        *slash = '\0';
    else
        snprintf(parent, sizeof parent, "%s", slash == parent ? "/" : ".");
    backup_sync_path(parent); /* the rename made durable; best effort */
    return 0;
}

/* The steps between the directory's creation and its seal. */
static int backup_steps(struct backup_work *work, char *errmsg, size_t size)
{
    struct backup_manifest *m = &work->result->manifest;
    static char body[8192];
    if (backup_status(&work->source, body, sizeof body) != 0) {
        snprintf(errmsg, size, "GET /status from 127.0.0.1:%u failed: is the node up, and its "
                 "token right?", work->source.port);
        return ERR_IO;
    }
    m->node_id = (uint32_t)backup_status_u64(body, "node_id");
    int rv = backup_snapshot_fetch(work, errmsg, size);
    if (rv == 0)
        rv = backup_end_pick(work, m->snapshot_seq, errmsg, size);
    if (rv == 0)
        rv = backup_stream_fetch(work, errmsg, size);
    if (rv == 0) {
        fprintf(stderr, "nodown backup: replaying %" PRIu64 " messages to check the digest at "
                "%" PRIu64 "\n", m->messages, m->end_seq);
        rv = backup_replay_check(work, errmsg, size);
    }
    uint64_t start_ms = (uint64_t)clock_now_ms();
    if (rv == 0 && m->snapshot_seq > 0)
        rv = backup_compress_one(work, work->snapshot, BACKUP_SNAPSHOT_FILE, errmsg, size);
    if (rv == 0)
        rv = backup_compress_one(work, work->stream, BACKUP_STREAM_FILE, errmsg, size);
    work->result->compress_ms = (uint64_t)clock_now_ms() - start_ms;
    return rv;
}

int backup_run(const struct backup_config *config, struct backup_result *result, char *errmsg,
               size_t errmsg_size)
{
    memset(result, 0, sizeof *result);
    static struct backup_work work;
    memset(&work, 0, sizeof work);
    work.config = config;
    work.result = result;
    struct stat status;
    if (stat(config->to, &status) == 0 || errno != ENOENT) {
        snprintf(errmsg, errmsg_size, "%s exists: a backup goes to a new directory", config->to);
        return ERR_USAGE;
    }
    int rv = backup_source_resolve(config, &work.source, errmsg, errmsg_size);
    if (rv != 0)
        return rv;
    snprintf(work.partial, sizeof work.partial, "%s.partial-%ld", config->to, (long)getpid());
    if (mkdir(work.partial, 0755) != 0) {
        snprintf(errmsg, errmsg_size, "%s: %s", work.partial, strerror(errno));
        return ERR_IO;
    }
    uint64_t start_ms = (uint64_t)clock_now_ms();
    struct backup_metrics before, after;
    backup_metrics_read(&work.source, &before);
    struct backup_manifest *m = &result->manifest;
    m->version = BACKUP_MANIFEST_VERSION;
    snprintf(m->source, sizeof m->source, "%s", work.source.text);
    m->created_unix_ms = backup_unix_ms();
    rv = backup_steps(&work, errmsg, errmsg_size);
    backup_metrics_read(&work.source, &after);
    result->pause_us_max_before = before.pause_us_max;
    result->pause_us_max_after = after.pause_us_max;
    result->apply_us_max_le = backup_apply_max(&before, &after, &result->batches_during);
    result->total_ms = (uint64_t)clock_now_ms() - start_ms;
    if (rv == 0)
        rv = backup_seal(&work, errmsg, errmsg_size);
    if (rv != 0)
        backup_scratch_remove(work.partial); /* never a half-written backup */
    return rv;
}

void backup_report(const struct backup_result *r, bool json)
{
    const struct backup_manifest *m = &r->manifest;
    double mb_per_s = r->total_ms > 0 ? (double)r->raw_bytes / 1e6 / ((double)r->total_ms / 1e3)
                                      : 0.0;
    printf(json ? "{\"snapshot_seq\":%" PRIu64 ",\"end_seq\":%" PRIu64 ",\"messages\":%" PRIu64
                  ",\"digest\":\"%s\",\"node_digest\":\"%s\",\"logic_version\":%u,"
                : "backup: snapshot at %" PRIu64 ", stream to %" PRIu64 " (%" PRIu64
                  " messages), digest %s (the node's: %s), logic version %u\n",
           m->snapshot_seq, m->end_seq, m->messages, m->digest,
           m->node_digest[0] != '\0' ? m->node_digest : (json ? "" : "not told"),
           m->logic_version);
    printf(json ? "\"raw_bytes\":%" PRIu64 ",\"stored_bytes\":%" PRIu64 ",\"total_ms\":%" PRIu64
                  ",\"mb_per_s\":%.1f,\"snapshot_ms\":%" PRIu64 ",\"stream_ms\":%" PRIu64
                  ",\"replay_ms\":%" PRIu64 ",\"compress_ms\":%" PRIu64
                  ",\"digest_wait_ms\":%" PRIu64 ","
                : "backup: %" PRIu64 " bytes stored as %" PRIu64 " in %" PRIu64
                  " ms (%.1f MB/s): snapshot %" PRIu64 " ms, stream %" PRIu64 " ms, replay %"
                  PRIu64 " ms, compression %" PRIu64 " ms, waiting for the digest %" PRIu64
                  " ms\n",
           r->raw_bytes, r->stored_bytes, r->total_ms, mb_per_s, r->snapshot_ms, r->stream_ms,
           r->replay_ms, r->compress_ms, r->digest_wait_ms);
    printf(json ? "\"node_snapshot_pause_us_max_before\":%" PRId64
                  ",\"node_snapshot_pause_us_max_after\":%" PRId64
                  ",\"node_apply_us_max_le\":%" PRId64 ",\"node_batches_during\":%" PRIu64 "}\n"
                : "node: longest snapshot pause %" PRId64 " us before, %" PRId64
                  " us after; longest batch apply while it ran <= %" PRId64 " us (%" PRIu64
                  " batches)\n",
           r->pause_us_max_before, r->pause_us_max_after, r->apply_us_max_le,
           r->batches_during);
}

/* ---- `nodown backup verify`. ---- */

static void backup_verify_print(const char *dir, const struct backup_manifest *m,
                                uint32_t problems, const struct backup_replay_result *replay,
                                const char *error, bool json)
{
    if (json) {
        char text[512];
        snprintf(text, sizeof text, "%s", error);
        for (char *c = text; *c != '\0'; c++)
            *c = *c == '"' || *c == '\\' ? '\'' : *c; /* a JSON string as it is */
        error = text;
        printf("{\"backup\":\"%s\",\"ok\":%s,\"damaged_files\":%u,\"end_seq\":%" PRIu64
               ",\"digest\":\"%s\",\"replay_digest\":\"%s\",\"check\":\"%s\",\"error\":\"%s\"}\n",
               dir, problems == 0 && error[0] == '\0' ? "true" : "false", problems, m->end_seq,
               m->digest, replay->digest, replay->check, error);
        return;
    }
    if (problems > 0)
        printf("backup %s: %u file(s) damaged or missing (named above); not replayed\n", dir,
               problems);
    else if (error[0] != '\0')
        printf("backup %s: BAD: %s\n", dir, error);
    else
        printf("backup %s: ok: %u files match the manifest; replayed to %" PRIu64 " in %.1f s "
               "(%" PRIu64 " commands): digest %s as recorded, invariants %s\n", dir,
               m->file_count, m->end_seq, (double)replay->apply_ns / 1e9, replay->commands,
               replay->digest, replay->check);
}

int backup_verify(const char *dir, const char *work_dir, bool json)
{
    static struct backup_manifest manifest;
    struct backup_replay_result replay;
    memset(&replay, 0, sizeof replay);
    char error[512] = "", scratch[BACKUP_PATH_MAX];
    uint32_t problems = backup_check_files(dir, &manifest, stderr);
    if (problems == 0) {
        snprintf(scratch, sizeof scratch, "%s/nodown-verify-XXXXXX",
                 work_dir != NULL ? work_dir : "/tmp");
        if (mkdtemp(scratch) == NULL) {
            snprintf(error, sizeof error, "%.300s: %s", scratch, strerror(errno));
        } else {
            fprintf(stderr, "nodown backup verify: files ok; replaying %" PRIu64
                    " messages after the snapshot at %" PRIu64 "\n", manifest.messages,
                    manifest.snapshot_seq);
            if (backup_replay_dir(dir, &manifest, scratch, false, &replay, error,
                                  sizeof error) == 0 && strcmp(replay.check, "ok") != 0)
                snprintf(error, sizeof error, "invariant broken at %" PRIu64 ": %s",
                         manifest.end_seq, replay.check);
            char snapshot[BACKUP_PATH_MAX + 32];
            snprintf(snapshot, sizeof snapshot, "%s/snapshot.ndsf", scratch);
            unlink(snapshot);
            backup_scratch_remove(scratch);
        }
    }
    if (error[0] != '\0')
        fprintf(stderr, "nodown backup verify: %s\n", error);
    backup_verify_print(dir, &manifest, problems, &replay, error, json);
    return problems == 0 && error[0] == '\0' ? 0 : 1;
}
