/* Benchmarks linked into the nodown binary (`nodown bench ...`). Each
 * prints one JSON object with --json; figures, never pass/fail. */
#ifndef NODOWN_BENCH_BENCH_H
#define NODOWN_BENCH_BENCH_H

/* argv holds the arguments after "bench core". Returns an exit code. */
int bench_core_main(int argc, char **argv);

/* The arguments after "bench node". */
int bench_node_main(int argc, char **argv);
int bench_live_main(int argc, char **argv);

/* The arguments after "bench cluster". */
int bench_cluster_main(int argc, char **argv);

/* The arguments after "bench activation": ACTIVATE_LOGIC 3's migration. */
int bench_activation_main(int argc, char **argv);

/* The arguments after "bench history": the archive writer and the
 * questions of `nodown history`. */
int bench_history_main(int argc, char **argv);

/* The arguments after "bench backup": backup MB/s, pauses, restore time. */
int bench_backup_main(int argc, char **argv);

/* The arguments after "bench fix": the FIX 4.4 acceptor's orders/s and
 * acknowledgement latency (bench_fix.c). */
int bench_fix_main(int argc, char **argv);

#endif
