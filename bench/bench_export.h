/* `nodown bench export`: the PostgreSQL export's throughput and lag,
 * measured in one process: a replica on a temporary directory applies a
 * synthetic order flow, its feed hands each message to the export, and
 * the export commits into the database at pg_url (whose export tables it
 * drops first). `nodown bench history` may call it too. */
#ifndef NODOWN_BENCH_BENCH_EXPORT_H
#define NODOWN_BENCH_BENCH_EXPORT_H

#include <stddef.h>
#include <stdint.h>

struct bench_export_figures {
    uint64_t events;          /* events committed at full load */
    uint64_t rows;            /* rows committed at full load (events' and others) */
    uint64_t messages;
    double seconds;           /* from the first apply to the last commit */
    double events_per_s;
    double rows_per_s;
    double half_events_per_s; /* the pace of the half-load run */
    double lag_ms_p50;        /* half load: how long the newest applied message */
    double lag_ms_p99;        /* waited for its commit, sampled every 5 ms */
    double lag_ms_max;
    uint64_t lag_messages_max;
};

/* Runs both phases, seconds each. Returns 0, or -1 with errmsg. */
int bench_export_measure(const char *pg_url, double seconds, struct bench_export_figures *out,
                         char *errmsg, size_t errmsg_size);

/* The arguments after "bench export". */
int bench_export_main(int argc, char **argv);

#endif
