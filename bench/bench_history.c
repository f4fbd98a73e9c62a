/* `nodown bench history`: the archive writer's events/s, and the time of
 * each `nodown history` question on the day it wrote.
 *
 * A synthetic day (history_day.h) is applied through a replica with the
 * feed and the archive attached, as a node does with --archive: the
 * apply on this thread, the writer on its own. Timed from the first
 * trading command to the moment the archive has stored the day's last
 * message (its DAY_END seals the file): events stored / that time. The
 * same day applied with no feed gives the apply's own rate beside it, so
 * the ratio says whether the writer or the apply bounds the pair. Then
 * each question of `nodown history` is asked of the sealed file
 * (history_query.h), a few times each, and the median kept. */
#include "bench/bench.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench/bench_backup.h"
#include "bench/bench_export.h"
#include "bench/history_day.h"
#include "core/result.h"
#include "history/archive.h"
#include "history/history_query.h"
#include "lib/clock.h"

#define BENCH_HISTORY_CHUNK 100000u

struct bench_history_options {
    const char *pg_url;   /* the export's figures too, into this database */
    double export_seconds;
    uint64_t events;
    uint64_t seed;
    bool json;
    bool keep;
    bool backup; /* the backup's figures too (bench backup's, default on) */
};

struct bench_history_result {
    uint64_t events;
    uint64_t rows;
    uint64_t commands;
    uint64_t rejects;
    uint64_t last_seq;
    uint64_t member, agent, order, bet; /* the ids the questions ask of */
    double archive_seconds;
    double writer_cpu_seconds; /* the writer thread's own CPU time */
    double apply_seconds;
    uint64_t file_bytes;
};

static int bench_history_fail(const char *what, const char *why)
{
    fprintf(stderr, "nodown bench history: %s: %s\n", what, why);
    return 1;
}

/* The day through a replica in dir, with the archive when archive is set.
 * Trades until the feed handed on events_min events (or, without the
 * archive, the same number of commands as commands_run). */
static int bench_history_day(const char *dir, bool archive_on, const struct bench_history_options
                             *options, uint64_t *commands_run, struct bench_history_result *result)
{
    char errmsg[512];
    struct limits limits;
    limits_default(&limits);
    static struct replica replica;
    static struct feed feed;
    static struct feed_consumer consumer;
    struct archive *archive = NULL;
    uint64_t position = 0;
    if (replica_open(&replica, dir, &limits, errmsg, sizeof errmsg) != 0)
        return bench_history_fail(dir, errmsg);
    if (archive_on) {
        if (feed_init(&feed, &limits) != 0 ||
            archive_open(&archive, dir, &position, errmsg, sizeof errmsg) != 0 ||
            feed_consumer_init(&consumer, "archive", position) != 0)
            return bench_history_fail("archive", errmsg);
        feed_add(&feed, &consumer);
        replica.feed = &feed;
        if (archive_start(archive, &consumer, errmsg, sizeof errmsg) != 0)
            return bench_history_fail("archive", errmsg);
    }
    static struct history_day day;
    if (history_day_open(&day, &replica, options->seed) != 0)
        return bench_history_fail("set-up", "the day's set-up was refused");
    uint64_t start_ns = clock_now_ns();
    struct archive_stats stats = {0};
    for (uint64_t run = 0;; run += BENCH_HISTORY_CHUNK) {
        if (archive_on) {
            archive_stats_get(archive, &stats);
            if (stats.events + feed_consumer_lag(&consumer) * 2 >= options->events)
                break;
        } else if (run >= *commands_run) {
            break;
        }
        if (history_day_trade(&day, BENCH_HISTORY_CHUNK) != 0)
            return bench_history_fail("trading", "a message did not apply");
    }
    if (history_day_end(&day) != 0)
        return bench_history_fail("day end", "a message did not apply");
    result->last_seq = replica.applied_seq;
    result->member = day.members[123];
    result->agent = day.agents[3];
    result->order = day.last_order_id / 2;
    result->bet = day.last_bet_id / 2;
    if (archive_on) {
        while (atomic_load(&consumer.committed_seq) < replica.applied_seq &&
               (archive_stats_get(archive, &stats), stats.error[0] == '\0'))
            clock_sleep_ms(1);
        if (stats.error[0] != '\0')
            return bench_history_fail("archive", stats.error);
        result->archive_seconds = (double)(clock_now_ns() - start_ns) / 1e9;
        archive_stats_get(archive, &stats);
        result->events = stats.events;
        result->rows = stats.rows;
        result->writer_cpu_seconds = (double)stats.cpu_ns / 1e9;
        result->commands = day.commands;
        result->rejects = day.rejects;
        *commands_run = day.commands;
        archive_close(archive, 10000);
        feed_consumer_free(&consumer);
        replica.feed = NULL;
        feed_free(&feed);
    } else {
        result->apply_seconds = (double)(clock_now_ns() - start_ns) / 1e9;
    }
    history_day_close(&day);
    replica_close(&replica);
    return 0;
}

/* ---- The questions. ---- */

static int bench_history_count(void *context, const struct history_row *row)
{
    (void)row;
    (*(uint64_t *)context)++;
    return 0;
}

struct bench_question {
    const char *name;
    enum history_question question;
    uint64_t id;
    double ms;       /* median of BENCH_HISTORY_ASKS */
    uint64_t rows;
};

#define BENCH_HISTORY_ASKS 5

static int bench_history_double_compare(const void *left, const void *right)
{
    double a = *(const double *)left, b = *(const double *)right;
    return (a > b) - (a < b);
}

static int bench_history_ask(const char *dir, struct bench_question *question)
{
    char history_dir[600], errmsg[512];
    snprintf(history_dir, sizeof history_dir, "%s/" ARCHIVE_DIR, dir);
    struct history_question_args args = {.question = question->question, .id = question->id};
    double ms[BENCH_HISTORY_ASKS];
    for (int i = 0; i < BENCH_HISTORY_ASKS; i++) {
        uint64_t counted = 0, rows = 0;
        uint64_t start_ns = clock_now_ns();
        if (history_ask(history_dir, &args, bench_history_count, &counted, &rows, errmsg,
                        sizeof errmsg) != 0)
            return bench_history_fail(question->name, errmsg);
        ms[i] = (double)(clock_now_ns() - start_ns) / 1e6;
        question->rows = rows;
    }
    qsort(ms, BENCH_HISTORY_ASKS, sizeof ms[0], bench_history_double_compare);
    question->ms = ms[BENCH_HISTORY_ASKS / 2];
    return 0;
}

static int bench_history_questions(const char *dir, struct bench_question *questions,
                                   uint32_t *count, const struct bench_history_result *day)
{
    const struct bench_question list[] = {
        {"statement_member", HISTORY_STATEMENT, day->member, 0, 0},
        {"order_life", HISTORY_ORDER, day->order, 0, 0},
        {"bet_life", HISTORY_BET, day->bet, 0, 0},
        {"instrument_trades", HISTORY_TRADES, 7, 0, 0},
        {"agent_downline", HISTORY_DOWNLINE, day->agent, 0, 0},
        {"at_seq", HISTORY_AT, day->last_seq / 2, 0, 0},
        {"market", HISTORY_MARKET, 3, 0, 0},
    };
    *count = (uint32_t)(sizeof list / sizeof list[0]);
    for (uint32_t i = 0; i < *count; i++) {
        questions[i] = list[i];
        if (bench_history_ask(dir, &questions[i]) != 0)
            return 1;
    }
    return 0;
}

/* ---- The command. ---- */

static void bench_history_usage(FILE *out)
{
    fprintf(out,
            "usage: nodown bench history [--events N] [--seed N] [--keep] [--json]\n"
            "                            [--pg URL [--export-seconds N]] [--no-backup]\n"
            "  Writes a synthetic trading day of at least N events (default 10 000 000)\n"
            "  through a replica into the history archive, then asks each question of\n"
            "  `nodown history` of the day's file. Prints events/s written, the apply's\n"
            "  own rate on the same day, and each question's median time (ms).\n"
            "  --keep leaves the directory (it is named on stderr). With --pg, also the\n"
            "  PostgreSQL export's events/s and lag at half load (bench export's, for\n"
            "  --export-seconds each; bench/pg/with_pg.sh history starts a server).\n"
            "  Then bench backup's figures (500 000 resting orders, 4 members trading\n"
            "  during the backup): MB/s, the longest apply, restore seconds; --no-backup\n"
            "  leaves them out.\n");
}

static int bench_history_parse(int argc, char **argv, struct bench_history_options *options)
{
    *options = (struct bench_history_options){.events = 10000000, .seed = 1,
                                              .export_seconds = 5, .backup = true};
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            options->json = true;
        else if (strcmp(argv[i], "--keep") == 0)
            options->keep = true;
        else if (strcmp(argv[i], "--no-backup") == 0)
            options->backup = false;
        else if (strcmp(argv[i], "--events") == 0 && i + 1 < argc)
            options->events = strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc)
            options->seed = strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--pg") == 0 && i + 1 < argc)
            options->pg_url = argv[++i];
        else if (strcmp(argv[i], "--export-seconds") == 0 && i + 1 < argc)
            options->export_seconds = strtod(argv[++i], NULL);
        else {
            bench_history_usage(strcmp(argv[i], "--help") == 0 ? stdout : stderr);
            return strcmp(argv[i], "--help") == 0 ? 0 : 2;
        }
    }
    return options->events > 0 ? -1 : 2;
}

/* The export's figures as a JSON value. */
static void bench_history_export_json(const struct bench_history_options *options,
                                      const struct bench_export_figures *figures)
{
    if (options->pg_url == NULL) {
        printf("null");
        return;
    }
    printf("{\"events_per_s\":%.0f,\"rows_per_s\":%.0f,\"half_load_events_per_s\":%.0f,"
           "\"lag_ms_p50\":%.1f,\"lag_ms_p99\":%.1f,\"lag_ms_max\":%.1f}",
           figures->events_per_s, figures->rows_per_s, figures->half_events_per_s,
           figures->lag_ms_p50, figures->lag_ms_p99, figures->lag_ms_max);
}

static void bench_history_backup_json(const struct bench_history_options *options,
                                      const struct bench_backup_figures *f)
{
    if (!options->backup) {
        printf("null");
        return;
    }
    printf("{\"resting\":%" PRIu64 ",\"raw_bytes\":%" PRIu64 ",\"stored_bytes\":%" PRIu64
           ",\"backup_s\":%.3f,\"backup_mb_per_s\":%.1f,\"apply_us_max_le\":%" PRId64
           ",\"snapshot_pause_us_max\":%" PRId64 ",\"restore_s\":%.3f}",
           f->resting, f->raw_bytes, f->stored_bytes, f->backup_s, f->backup_mb_per_s,
           f->node_apply_us_max_le, f->node_snapshot_pause_us_max, f->restore_s);
}

static void bench_history_print(const struct bench_history_options *options,
                                const struct bench_history_result *archived,
                                const struct bench_history_result *applied,
                                const struct bench_question *questions, uint32_t count,
                                const struct bench_export_figures *exported,
                                const struct bench_backup_figures *backed_up)
{
    double events_per_s = (double)archived->events / archived->archive_seconds;
    double apply_events_per_s = (double)archived->events / applied->apply_seconds;
    if (!options->json) {
        printf("archive: %" PRIu64 " events (%" PRIu64 " rows, %" PRIu64 " commands) in %.2f s:"
               " %.0f events/s (writer CPU %.2f s: %.0f events per CPU second); the apply"
               " alone %.2f s (%.0f events/s); file %.1f MB\n",
               archived->events, archived->rows, archived->commands, archived->archive_seconds,
               events_per_s, archived->writer_cpu_seconds,
               (double)archived->events / archived->writer_cpu_seconds, applied->apply_seconds,
               apply_events_per_s, (double)archived->file_bytes / 1e6);
        for (uint32_t i = 0; i < count; i++)
            printf("  %-18s %8.2f ms  %" PRIu64 " rows\n", questions[i].name, questions[i].ms,
                   questions[i].rows);
        if (options->pg_url != NULL)
            printf("export: %.0f events/s; at half load (%.0f events/s) lag p50 %.1f ms, p99"
                   " %.1f ms\n", exported->events_per_s, exported->half_events_per_s,
                   exported->lag_ms_p50, exported->lag_ms_p99);
        if (options->backup)
            printf("backup: %.1f MB/s (%.2f s), longest apply during it <= %" PRId64 " us;"
                   " restore %.2f s\n", backed_up->backup_mb_per_s, backed_up->backup_s,
                   backed_up->node_apply_us_max_le, backed_up->restore_s);
        return;
    }
    printf("{\"bench\":\"history\",\"events\":%" PRIu64 ",\"rows\":%" PRIu64
           ",\"commands\":%" PRIu64 ",\"rejects\":%" PRIu64 ",\"messages\":%" PRIu64
           ",\"archive_seconds\":%.3f,\"archive_events_per_s\":%.0f,\"archive_rows_per_s\":%.0f"
           ",\"writer_cpu_seconds\":%.3f,\"writer_events_per_cpu_s\":%.0f"
           ",\"apply_alone_seconds\":%.3f,\"apply_alone_events_per_s\":%.0f,"
           "\"file_bytes\":%" PRIu64 ",\"queries_ms\":{",
           archived->events, archived->rows, archived->commands, archived->rejects,
           archived->last_seq, archived->archive_seconds, events_per_s,
           (double)archived->rows / archived->archive_seconds, archived->writer_cpu_seconds,
           (double)archived->events / archived->writer_cpu_seconds, applied->apply_seconds,
           apply_events_per_s, archived->file_bytes);
    for (uint32_t i = 0; i < count; i++)
        printf("%s\"%s\":{\"ms\":%.2f,\"rows\":%" PRIu64 ",\"id\":%" PRIu64 "}", i ? "," : "",
               questions[i].name, questions[i].ms, questions[i].rows, questions[i].id);
    printf("},\"export\":");
    bench_history_export_json(options, exported);
    printf(",\"backup\":");
    bench_history_backup_json(options, backed_up);
    printf("}\n");
}

int bench_history_main(int argc, char **argv)
{
    struct bench_history_options options;
    int rv = bench_history_parse(argc, argv, &options);
    if (rv >= 0)
        return rv;
    char archived_dir[] = "/tmp/nodown-bench-history-XXXXXX";
    char applied_dir[] = "/tmp/nodown-bench-apply-XXXXXX";
    if (mkdtemp(archived_dir) == NULL || mkdtemp(applied_dir) == NULL)
        return bench_history_fail("/tmp", "cannot make a directory");
    fprintf(stderr, "bench history: writing a day of %" PRIu64 " events into %s\n",
            options.events, archived_dir);
    struct bench_history_result archived = {0}, applied = {0};
    uint64_t commands = 0;
    if (bench_history_day(archived_dir, true, &options, &commands, &archived) != 0)
        return 1;
    fprintf(stderr, "bench history: the same day without the archive\n");
    if (bench_history_day(applied_dir, false, &options, &commands, &applied) != 0)
        return 1;
    char path[700];
    snprintf(path, sizeof path, "%s/" ARCHIVE_DIR "/day-%08u.db", archived_dir,
             HISTORY_DAY_DATE);
    struct stat st;
    archived.file_bytes = stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
    struct bench_question questions[16];
    uint32_t count = 0;
    if (bench_history_questions(archived_dir, questions, &count, &archived) != 0)
        return 1;
    struct bench_export_figures exported = {0};
    if (options.pg_url != NULL) {
        char errmsg[512];
        fprintf(stderr, "bench history: the export into %s\n", options.pg_url);
        if (bench_export_measure(options.pg_url, options.export_seconds, &exported, errmsg,
                                 sizeof errmsg) != 0)
            return bench_history_fail("export", errmsg);
    }
    static struct bench_backup_figures backed_up;
    if (options.backup) {
        char errmsg[1024];
        struct bench_backup_options backup = {.resting = 500000, .clients = 4,
                                              .rate_per_s = 1000};
        fprintf(stderr, "bench history: a backup under load, and its restore\n");
        if (bench_backup_run(&backup, &backed_up, errmsg, sizeof errmsg) != 0)
            return bench_history_fail("backup", errmsg);
    }
    bench_history_print(&options, &archived, &applied, questions, count, &exported,
                        &backed_up);
    char command[200];
    snprintf(command, sizeof command, "rm -rf %s %s", applied_dir,
             options.keep ? "" : archived_dir);
    if (system(command) != 0)
        fprintf(stderr, "bench history: could not remove %s\n", archived_dir);
    if (options.keep)
        fprintf(stderr, "bench history: kept %s\n", archived_dir);
    return 0;
}
