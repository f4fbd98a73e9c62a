/* `nodown restore` (restore.h): check, replay into a snapshot at E, then
 * write the target: a node's data directory with an embedded store, or a
 * local cluster.
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include "ops/restore.h"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/result.h"
#include "lib/clock.h"
#include "ops/backup_store.h"
#include "ops/cluster.h"
#include "replica/journal.h"
#include "replica/nats_supervisor.h"
#include "replica/replica.h"

int restore_stream_prepare(const char *urls, int replicas, uint64_t first_seq, char *errmsg,
                           size_t size)
{
    struct journal_config config = journal_config_stream(urls, replicas);
    struct journal *journal = NULL;
    int rv = journal_open(&journal, &config, errmsg, size);
    if (rv != 0)
        return rv;
    struct journal_stream_info info;
    uint64_t purged = 0;
    rv = journal_stream_info(journal, &info);
    if (rv == 0 && info.messages > 0) {
        snprintf(errmsg, size, "stream %s on %s already holds %" PRIu64 " messages: a restore "
                 "makes a new stream, never adds to one", JOURNAL_STREAM, urls, info.messages);
        rv = ERR_USAGE;
    } else if (rv == 0 && first_seq > 1 && info.last_seq + 1 != first_seq) {
        rv = journal_stream_purge_below(journal, first_seq, &purged);
        if (rv == 0)
            rv = journal_stream_info(journal, &info);
    }
    if (rv == ERR_IO)
        snprintf(errmsg, size, "%s", journal_error(journal));
    if (rv == 0 && (info.last_seq + 1 != first_seq || info.messages != 0)) {
        snprintf(errmsg, size, "stream %s: its next sequence is %" PRIu64 ", not %" PRIu64,
                 JOURNAL_STREAM, info.last_seq + 1, first_seq);
        rv = ERR_IO;
    }
    journal_close(journal);
    return rv;
}

/* The target is new or an empty directory. */
static int restore_target_check(const char *target, char *errmsg, size_t size)
{
    DIR *dir = opendir(target);
    if (dir == NULL && errno == ENOENT)
        return 0;
    struct dirent *entry;
    bool empty = dir != NULL;
    while (dir != NULL && (entry = readdir(dir)) != NULL)
        if (strcmp(entry->d_name, ".") != 0 && strcmp(entry->d_name, "..") != 0)
            empty = false;
    if (dir != NULL)
        closedir(dir);
    if (!empty) {
        snprintf(errmsg, size, "%s is not a new or empty directory: a restore never writes "
                 "over anything", target);
        return ERR_USAGE;
    }
    return 0;
}

/* Copies a file, synced. */
static int restore_copy(const char *from, const char *to, char *errmsg, size_t size)
{
    static char buffer[1u << 20];
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
    bool ok = in != NULL && out != NULL;
    size_t got;
    while (ok && (got = fread(buffer, 1, sizeof buffer, in)) > 0)
        ok = fwrite(buffer, 1, got, out) == got;
    ok = ok && !ferror(in) && fflush(out) == 0 && fsync(fileno(out)) == 0;
    if (in != NULL)
        fclose(in);
    if (out != NULL)
        ok = fclose(out) == 0 && ok;
    if (!ok)
        snprintf(errmsg, size, "copying %s to %s: %s", from, to, strerror(errno));
    return ok ? 0 : ERR_IO;
}

/* Places the snapshot at E in data_dir/snapshots. */
static int restore_snapshot_place(const char *snapshot, const char *data_dir, uint64_t end_seq,
                                  char *errmsg, size_t size)
{
    char dir[BACKUP_PATH_MAX + 16], path[BACKUP_PATH_MAX + 64];
    snprintf(dir, sizeof dir, "%s/snapshots", data_dir);
    if ((mkdir(data_dir, 0755) != 0 && errno != EEXIST) || mkdir(dir, 0755) != 0) {
        snprintf(errmsg, size, "%s: %s", dir, strerror(errno));
        return ERR_IO;
    }
    replica_snapshot_path(dir, end_seq, "", path, sizeof path);
    int rv = restore_copy(snapshot, path, errmsg, size);
    if (rv == 0 && backup_sync_path(dir) != 0)
        rv = ERR_IO;
    return rv;
}

static int restore_remove_one(const char *path, const struct stat *status, int flag,
                              struct FTW *walk)
{
    (void)status;
    (void)flag;
    (void)walk;
    remove(path);
    return 0;
}

/* Removes a directory this restore made and everything in it. */
static void restore_remove_tree(const char *dir)
{
    nftw(dir, restore_remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* A single node's data directory, built under TARGET.partial-PID: the
 * snapshot, and an embedded nats-server's store with the stream at E + 1
 * (the server started on it once, as the node will start it). */
static int restore_data_dir(const struct restore_config *config, const char *snapshot,
                            uint64_t end_seq, char *errmsg, size_t size)
{
    char partial[BACKUP_PATH_MAX];
    snprintf(partial, sizeof partial, "%s.partial-%ld", config->data_dir, (long)getpid());
    int rv = restore_snapshot_place(snapshot, partial, end_seq, errmsg, size);
    static struct nats_supervisor supervisor;
    struct durability durability = {0};
    if (rv == 0)
        rv = nats_supervisor_start(&supervisor, partial, 0, durability, errmsg, size);
    if (rv == 0) {
        rv = restore_stream_prepare(supervisor.url, 1, end_seq + 1, errmsg, size);
        nats_supervisor_stop(&supervisor);
    }
    if (rv == 0)
        rmdir(config->data_dir); /* empty, if it exists (checked): replaced by ours */
    if (rv == 0 && rename(partial, config->data_dir) != 0) {
        snprintf(errmsg, size, "renaming %s to %s: %s", partial, config->data_dir,
                 strerror(errno));
        rv = ERR_IO;
    }
    if (rv != 0) {
        fprintf(stderr, "nodown restore: removing %s (ours, unfinished)\n", partial);
        restore_remove_tree(partial);
    }
    return rv;
}

/* cluster_run("up") with its report on stderr: stdout is the restore's
 * own (its JSON). */
static int restore_cluster_up(const struct cluster_options *options)
{
    fflush(stdout);
    int saved = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3); /* not for the cluster's children */
    if (saved >= 0)
        dup2(STDERR_FILENO, STDOUT_FILENO);
    int rv = cluster_run("up", options);
    fflush(stdout);
    if (saved >= 0) {
        dup2(saved, STDOUT_FILENO);
        close(saved);
    }
    return rv;
}

/* A local cluster: its servers and empty stream at E + 1, then the nodes'
 * snapshots, then its nodes. */
static int restore_cluster(const struct restore_config *config, const char *snapshot,
                           uint64_t end_seq, char *errmsg, size_t size)
{
    struct cluster_options options = {.dir = config->cluster_dir, .self = config->self,
                                      .house = config->house, .nats_count = config->nats_count,
                                      .node_count = 0, .nats_index = -1, .node = -1};
    if (restore_cluster_up(&options) != 0) {
        snprintf(errmsg, size, "the cluster's servers did not start (see above); 'nodown "
                 "cluster down --dir %s' stops what did", config->cluster_dir);
        return ERR_IO;
    }
    static struct cluster_layout layout;
    char urls[1024] = "", node_dir[BACKUP_PATH_MAX + 32];
    cluster_layout_load(config->cluster_dir, &layout);
    size_t used = 0;
    for (uint32_t i = 0; i < layout.nats_count && used < sizeof urls; i++)
        used += (size_t)snprintf(urls + used, sizeof urls - used, "%snats://127.0.0.1:%u",
                                 i > 0 ? "," : "", layout.nats[i].ports[0]);
    int replicas = layout.nats_count < 3 ? (int)layout.nats_count : 3;
    int rv = restore_stream_prepare(urls, replicas, end_seq + 1, errmsg, size);
    for (uint32_t i = 0; rv == 0 && i < config->node_count; i++) {
        snprintf(node_dir, sizeof node_dir, "%s/node-%u", config->cluster_dir, i);
        rv = restore_snapshot_place(snapshot, node_dir, end_seq, errmsg, size);
    }
    options.node_count = config->node_count;
    if (rv == 0 && restore_cluster_up(&options) != 0) {
        snprintf(errmsg, size, "the cluster's nodes did not all start (see above)");
        rv = ERR_IO;
    }
    return rv;
}

int restore_run(const struct restore_config *config, struct restore_result *result,
                char *errmsg, size_t size)
{
    memset(result, 0, sizeof *result);
    uint64_t start_ms = (uint64_t)clock_now_ms();
    const char *target = config->data_dir != NULL ? config->data_dir : config->cluster_dir;
    int rv = restore_target_check(target, errmsg, size);
    if (rv != 0)
        return rv;
    static struct backup_manifest manifest;
    uint32_t problems = backup_check_files(config->from, &manifest, stderr);
    if (problems > 0) {
        snprintf(errmsg, size, "backup %s: %u file(s) damaged or missing (named above); "
                 "nothing written to %s", config->from, problems, target);
        return ERR_CHECKSUM;
    }
    char scratch[BACKUP_PATH_MAX], snapshots[BACKUP_PATH_MAX + 16], snapshot[BACKUP_PATH_MAX + 64];
    snprintf(scratch, sizeof scratch, "%s/nodown-restore-XXXXXX",
             config->work_dir != NULL ? config->work_dir : "/tmp");
    if (mkdtemp(scratch) == NULL) {
        snprintf(errmsg, size, "%s: %s", scratch, strerror(errno));
        return ERR_IO;
    }
    fprintf(stderr, "nodown restore: backup files ok; replaying %" PRIu64 " messages into a "
            "snapshot at %" PRIu64 "\n", manifest.messages, manifest.end_seq);
    struct backup_replay_result replay;
    rv = backup_replay_dir(config->from, &manifest, scratch, true, &replay, errmsg, size);
    result->replay_ms = (uint64_t)clock_now_ms() - start_ms;
    snprintf(snapshots, sizeof snapshots, "%s/snapshots", scratch);
    replica_snapshot_path(snapshots, manifest.end_seq, "", snapshot, sizeof snapshot);
    if (rv != 0)
        snprintf(errmsg + strlen(errmsg), size - strlen(errmsg), "; nothing written to %s",
                 target);
    else if (config->data_dir != NULL)
        rv = restore_data_dir(config, snapshot, manifest.end_seq, errmsg, size);
    else
        rv = restore_cluster(config, snapshot, manifest.end_seq, errmsg, size);
    char unpacked[BACKUP_PATH_MAX + 32];
    snprintf(unpacked, sizeof unpacked, "%s/snapshot.ndsf", scratch);
    unlink(unpacked);
    backup_scratch_remove(scratch);
    result->end_seq = manifest.end_seq;
    memcpy(result->digest, manifest.digest, sizeof result->digest);
    result->total_ms = (uint64_t)clock_now_ms() - start_ms;
    return rv;
}
