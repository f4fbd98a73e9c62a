/* `nodown bench backup` (bench_backup.h): how fast a backup of a large
 * state is taken, what it costs the node, and how fast it restores.
 *
 *   state    a `nodown serve` child (embedded default, a snapshot every 2 MB
 *            of log); RESTING orders that never trade published straight
 *            to its stream in batches of 1000, applied, a snapshot written
 *   backup   CLIENTS members send orders at RATE each for the load's time
 *            while `backup_run` takes the backup from the node's data
 *            directory: end-to-end MB/s (snapshot and stream, uncompressed,
 *            over the whole run: download, stream read, replay, zstd), the
 *            node's longest snapshot pause and longest batch apply meanwhile
 *   restore  `restore_run --data` into a new directory: the seconds to
 *            check, replay into a snapshot at E and make the NATS store
 *
 * Back of the envelope first: a default node's state is mostly empty
 * pools; a snapshot of 1 M resting orders is about 40 MB (38 bytes each);
 * zstd level 3 compresses several hundred MB/s and the replay of the
 * stream after the snapshot runs at millions of commands/s, so the backup
 * should run at 50-200 MB/s on this VM, bounded by the download, the
 * replay's engine start and fsync.
 */
#include "bench/bench_backup.h"

#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/bench.h"
#include "bench/bench_node.h"
#include "codec/command_codec.h"
#include "core/result.h"
#include "gateway/admin_http.h"
#include "lib/clock.h"
#include "ops/backup.h"
#include "ops/restore.h"
#include "replica/journal.h"

#define BACKUP_BENCH_BATCH 1000u
#define BACKUP_BENCH_LOAD_S 12.0
#define BACKUP_BENCH_WAIT_MS 60000

struct backup_bench {
    const struct bench_backup_options *options;
    struct bench_backup_figures *figures;
    char dir[256];        /* everything under it */
    char node_dir[300];
    char nodes[64];
    char nats_url[64];
    uint16_t admin_port;
    pid_t pid;
    struct node_client clients[NODE_CLIENTS_MAX];
    struct node_load load;
};

/* `nodown serve` from this binary; its ready line gives the ports. */
static int backup_bench_node_start(struct backup_bench *b, char *errmsg, size_t size)
{
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    b->pid = fork();
    if (b->pid == 0) {
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]);
        setenv("NODOWN_HOUSE_SECRET", "bench-house-secret", 1);
        execl("/proc/self/exe", "nodown", "serve", "--data", b->node_dir, "--listen",
              "127.0.0.1:0", "--http", "127.0.0.1:0", "--snapshot-mb", "2", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    FILE *out = fdopen(fds[0], "r");
    char line[512] = "";
    bool ready = out != NULL && fgets(line, sizeof line, out) != NULL;
    if (out != NULL)
        fclose(out);
    unsigned port = 0, admin = 0;
    const char *at = strstr(line, "clients on 127.0.0.1:");
    const char *http = strstr(line, "admin on http://127.0.0.1:");
    const char *nats = strstr(line, "NATS ");
    if (!ready || at == NULL || http == NULL || nats == NULL ||
        sscanf(at, "clients on 127.0.0.1:%u", &port) != 1 ||
        sscanf(http, "admin on http://127.0.0.1:%u", &admin) != 1) {
        snprintf(errmsg, size, "the node did not start: %s", line);
        return -1;
    }
    snprintf(b->nodes, sizeof b->nodes, "127.0.0.1:%u", port);
    b->admin_port = (uint16_t)admin;
    snprintf(b->nats_url, sizeof b->nats_url, "%s", nats + 5);
    b->nats_url[strcspn(b->nats_url, ",\n")] = '\0';
    return 0;
}

/* RESTING orders that never trade (buys below, sells above the
 * reference), published straight to the stream; returns the last seq. */
static uint64_t backup_bench_publish(struct backup_bench *b, char *errmsg, size_t size)
{
    struct journal *journal = NULL;
    struct journal_config config = journal_config_stream(b->nats_url, 1);
    if (journal_open(&journal, &config, errmsg, size) != 0)
        return 0;
    static struct command batch[BACKUP_BENCH_BATCH];
    static uint8_t buffer[BATCH_SIZE_MAX];
    uint64_t seq = 0;
    for (uint32_t sent = 0; sent < b->options->resting; sent += BACKUP_BENCH_BATCH) {
        for (uint32_t k = 0; k < BACKUP_BENCH_BATCH; k++) {
            struct command *c = &batch[k];
            memset(c, 0, sizeof *c);
            c->type = COMMAND_ORDER_PLACE;
            c->sender_account_id = b->clients[k % 2].account_id;
            c->client_id = 98;
            c->client_seq = sent / 2 + k / 2 + 1;
            c->u.order_place.side = (uint8_t)(k % 2);
            c->u.order_place.time_in_force = TIF_GTC;
            c->u.order_place.price_ticks = k % 2 == 0 ? 9001 + (k / 2) % 800
                                                     : 10200 + (k / 2) % 800;
            c->u.order_place.quantity = 1;
        }
        size_t length = 0;
        bool duplicate = false;
        char msg_id[48];
        snprintf(msg_id, sizeof msg_id, "bench-backup-%u", sent);
        if (batch_encode(0, batch, BACKUP_BENCH_BATCH, buffer, sizeof buffer, &length) != 0 ||
            journal_publish(journal, buffer, length, msg_id, 5000, &seq, &duplicate) != 0) {
            snprintf(errmsg, size, "publishing the resting orders: %s", journal_error(journal));
            seq = 0;
            break;
        }
    }
    journal_close(journal);
    return seq;
}

/* Until the node has applied last and written a snapshot holding at least
 * half of it (one every 2 MB of log: the rest is the stream after it). */
static int backup_bench_settle(struct backup_bench *b, uint64_t last, char *errmsg, size_t size)
{
    static char body[8192];
    char token[300], path[400], field[32];
    snprintf(path, sizeof path, "%s/admin.token", b->node_dir);
    admin_token_read(path, token, sizeof token);
    int64_t deadline_ms = clock_now_ms() + BACKUP_BENCH_WAIT_MS;
    while (clock_now_ms() < deadline_ms) {
        if (admin_http_get(b->admin_port, "/status", token, body, sizeof body) == 0) {
            admin_json_field(body, "snapshot_seq", field, sizeof field);
            uint64_t snapshot_seq = strtoull(field, NULL, 10);
            admin_json_field(body, "applied_seq", field, sizeof field);
            if (strtoull(field, NULL, 10) >= last && snapshot_seq >= last / 2)
                return 0;
        }
        clock_sleep_ms(200);
    }
    snprintf(errmsg, size, "the node did not apply %" PRIu64 " and snapshot within %d ms", last,
             BACKUP_BENCH_WAIT_MS);
    return -1;
}

static void *backup_bench_load_main(void *context)
{
    struct backup_bench *b = context;
    node_load_run(b->clients, b->options->clients, b->nodes, BACKUP_BENCH_LOAD_S,
                  b->options->rate_per_s, &b->load);
    return NULL;
}

/* The backup, with the clients trading meanwhile. */
static int backup_bench_backup(struct backup_bench *b, char *errmsg, size_t size)
{
    static struct backup_config config;
    static struct backup_result result;
    static char to[400];
    snprintf(to, sizeof to, "%s/backup", b->dir);
    /* By port, token and URL: its serve.args say port 0 (picked at start). */
    config = (struct backup_config){.admin_port = b->admin_port, .nats_urls = b->nats_url,
                                    .to = to};
    char path[400];
    snprintf(path, sizeof path, "%s/admin.token", b->node_dir);
    admin_token_read(path, config.token, sizeof config.token);
    pthread_t load;
    bool loading = b->options->clients > 0 &&
                   pthread_create(&load, NULL, backup_bench_load_main, b) == 0;
    if (loading)
        clock_sleep_ms(1000); /* the sessions logged on and sending */
    int rv = backup_run(&config, &result, errmsg, size);
    if (loading)
        pthread_join(load, NULL);
    struct bench_backup_figures *f = b->figures;
    const struct backup_manifest_file *snapshot =
        backup_manifest_file_find(&result.manifest, "snapshot.ndsf.zst");
    f->snapshot_bytes = snapshot != NULL ? snapshot->raw_size_bytes : 0;
    f->raw_bytes = result.raw_bytes;
    f->stored_bytes = result.stored_bytes;
    f->backup_s = (double)result.total_ms / 1e3;
    f->backup_mb_per_s = result.total_ms > 0 ? (double)result.raw_bytes / 1e3 /
                                                   (double)result.total_ms : 0;
    f->messages = result.manifest.messages;
    f->node_snapshot_pause_us_max_before = result.pause_us_max_before;
    f->node_snapshot_pause_us_max = result.pause_us_max_after;
    f->digest_wait_ms = result.digest_wait_ms;
    f->replay_ms = result.replay_ms;
    f->node_apply_us_max_le = result.apply_us_max_le;
    f->node_batches_during = result.batches_during;
    f->orders_acked_during = b->load.acked;
    memcpy(f->digest, result.manifest.digest, sizeof f->digest);
    return rv == 0 ? 0 : -1;
}

static int backup_bench_restore(struct backup_bench *b, char *errmsg, size_t size)
{
    static struct restore_config config;
    static char from[400], data[400];
    snprintf(from, sizeof from, "%s/backup", b->dir);
    snprintf(data, sizeof data, "%s/restored", b->dir);
    config = (struct restore_config){.from = from, .data_dir = data, .work_dir = b->dir};
    struct restore_result result;
    uint64_t start_ns = clock_now_ns();
    int rv = restore_run(&config, &result, errmsg, size);
    b->figures->restore_s = (double)(clock_now_ns() - start_ns) / 1e9;
    return rv == 0 ? 0 : -1;
}

static void backup_bench_stop(struct backup_bench *b)
{
    if (b->pid > 0) {
        kill(b->pid, SIGTERM);
        waitpid(b->pid, NULL, 0);
    }
    for (uint32_t i = 0; i < NODE_CLIENTS_MAX; i++)
        free(b->clients[i].latency_us);
    char command[400];
    snprintf(command, sizeof command, "rm -rf '%s'", b->dir);
    if (system(command) != 0)
        fprintf(stderr, "bench backup: could not remove %s\n", b->dir);
}

int bench_backup_run(const struct bench_backup_options *options,
                     struct bench_backup_figures *figures, char *errmsg, size_t size)
{
    static struct backup_bench b;
    memset(&b, 0, sizeof b);
    memset(figures, 0, sizeof *figures);
    b.options = options;
    b.figures = figures;
    snprintf(b.dir, sizeof b.dir, "%s/nodown-bench-backup-XXXXXX",
             options->work_dir != NULL ? options->work_dir : "/tmp");
    if (mkdtemp(b.dir) == NULL || options->clients > NODE_CLIENTS_MAX) {
        snprintf(errmsg, size, "%s: cannot make it, or too many clients", b.dir);
        return -1;
    }
    snprintf(b.node_dir, sizeof b.node_dir, "%s/node", b.dir);
    uint32_t members = options->clients > 2 ? options->clients : 2;
    for (uint32_t i = 0; i < members; i++)
        b.clients[i].latency_us = calloc(NODE_SAMPLES_MAX, sizeof *b.clients[i].latency_us);
    int rv = backup_bench_node_start(&b, errmsg, size);
    if (rv == 0)
        rv = node_bootstrap(b.nodes, b.clients, members, errmsg, size);
    uint64_t last = rv == 0 ? backup_bench_publish(&b, errmsg, size) : 0;
    figures->resting = options->resting;
    rv = last > 0 ? backup_bench_settle(&b, last, errmsg, size) : -1;
    if (rv == 0)
        rv = backup_bench_backup(&b, errmsg, size);
    if (rv == 0)
        rv = backup_bench_restore(&b, errmsg, size);
    backup_bench_stop(&b);
    return rv;
}

static void backup_bench_usage(FILE *out)
{
    fprintf(out,
            "usage: nodown bench backup [--resting N] [--clients N] [--rate R] [--json]\n"
            "  a node (embedded default) holding N resting orders (default 500000) is\n"
            "  backed up while N members (default 4, at most %u) each send R orders/s\n"
            "  (default 1000) for %.0f s, then restored: backup MB/s, the node's longest\n"
            "  snapshot pause and batch apply during the backup, restore seconds\n",
            NODE_CLIENTS_MAX, BACKUP_BENCH_LOAD_S);
}

static void backup_bench_print(const struct bench_backup_figures *f, bool json)
{
    printf(json ? "{\"bench\":\"backup\",\"resting\":%" PRIu64 ",\"snapshot_bytes\":%" PRIu64
                  ",\"raw_bytes\":%" PRIu64 ",\"stored_bytes\":%" PRIu64 ",\"messages\":%" PRIu64
                  ",\"backup_s\":%.3f,\"backup_mb_per_s\":%.1f,"
                : "resting %" PRIu64 ", snapshot %" PRIu64 " bytes, backup %" PRIu64
                  " bytes stored as %" PRIu64 " (%" PRIu64 " messages after the snapshot) in "
                  "%.3f s: %.1f MB/s\n",
           f->resting, f->snapshot_bytes, f->raw_bytes, f->stored_bytes, f->messages,
           f->backup_s, f->backup_mb_per_s);
    printf(json ? "\"digest_wait_ms\":%" PRIu64 ",\"replay_ms\":%" PRIu64
                  ",\"node_snapshot_pause_us_max_before\":%" PRId64 ","
                : "of which waiting for the node's digest %" PRIu64 " ms, replay %" PRIu64
                  " ms; node's longest snapshot pause before it %" PRId64 " us; ",
           f->digest_wait_ms, f->replay_ms, f->node_snapshot_pause_us_max_before);
    printf(json ? "\"node_snapshot_pause_us_max\":%" PRId64 ",\"node_apply_us_max_le\":%" PRId64
                  ",\"node_batches_during\":%" PRIu64 ",\"orders_acked_during\":%" PRIu64
                  ",\"restore_s\":%.3f,\"digest\":\"%s\"}\n"
                : "after it %" PRId64 " us, longest batch apply during "
                  "the backup <= %" PRId64 " us (%" PRIu64 " batches, %" PRIu64
                  " orders acknowledged); restore %.3f s; digest %s\n",
           f->node_snapshot_pause_us_max, f->node_apply_us_max_le, f->node_batches_during,
           f->orders_acked_during, f->restore_s, f->digest);
}

int bench_backup_main(int argc, char **argv)
{
    struct bench_backup_options options = {.resting = 500000, .clients = 4,
                                           .rate_per_s = 1000};
    bool json = false, ok = true;
    for (int i = 0; i < argc && ok; i++) {
        const char *value = i + 1 < argc ? argv[i + 1] : "";
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            backup_bench_usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else if (strcmp(argv[i], "--resting") == 0 && ++i) {
            ok = sscanf(value, "%u", &options.resting) == 1 && options.resting >= 1000;
        } else if (strcmp(argv[i], "--clients") == 0 && ++i) {
            ok = sscanf(value, "%u", &options.clients) == 1 && options.clients <= NODE_CLIENTS_MAX;
        } else if (strcmp(argv[i], "--rate") == 0 && ++i) {
            ok = sscanf(value, "%lf", &options.rate_per_s) == 1 && options.rate_per_s > 0;
        } else {
            ok = false;
        }
    }
    if (!ok) {
        backup_bench_usage(stderr);
        return 2;
    }
    static struct bench_backup_figures figures;
    char errmsg[1024];
    if (bench_backup_run(&options, &figures, errmsg, sizeof errmsg) != 0) {
        fprintf(stderr, "nodown bench backup: %s\n", errmsg);
        return 1;
    }
    backup_bench_print(&figures, json);
    return 0;
}
